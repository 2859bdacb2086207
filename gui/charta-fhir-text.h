/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-fhir-text.h: FHIR R4 JSON as words for people.
 *
 * The desktop app shows labels, never raw JSON: a HumanName as "Emily Louise Miller", a
 * CodeableConcept as its text or its first coding's display, a gender code as "Female", a
 * dateTime as its date.  Every function reads a json-glib tree as the client parsed it, takes
 * NULL for a missing element, and never fails: what it cannot read gives NULL, and the caller
 * decides what to show instead.  Nothing here logs.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The member @name of @object (may be NULL) if it has that JSON kind, else NULL. */
const char *charta_json_get_string      (JsonObject *object,
                                         const char *name);
JsonObject *charta_json_get_object      (JsonObject *object,
                                         const char *name);
JsonArray  *charta_json_get_array       (JsonObject *object,
                                         const char *name);
/* The first element of the array @name, if it is an object. */
JsonObject *charta_json_get_first       (JsonObject *object,
                                         const char *name);

/* The name a patient goes by: the "official" HumanName, else the "usual", else the first;
 * "Emily Louise Miller", or "Miller, Emily Louise" when @family_first (for sorted lists).  A
 * name with only a text gives the text.  NULL when the resource has no name. */
char       *charta_fhir_text_patient_name (JsonObject *resource,
                                           gboolean    family_first);

/* A key that two registrations of the same person share: the chosen name's family and given
 * names and the birth date, case-folded and with accents kept ("miller|emily louise|1942-10-28").
 * NULL when the family name or the birth date is missing (no key, no duplicate). */
char       *charta_fhir_patient_match_key (JsonObject *resource);

/* A CodeableConcept in words: its text, else the first coding's display, else its code. */
char       *charta_fhir_text_concept      (JsonObject *concept);

/* "Female", "Male", "Other", "Unknown" for the AdministrativeGender codes; NULL otherwise. */
const char *charta_fhir_text_gender       (const char *code);

/* The medical record number: the identifier typed MR (v2-0203), or whose type text is "MRN";
 * NULL when there is none. */
JsonObject *charta_fhir_find_mrn          (JsonObject *resource);

/* What kind of identifier @identifier is: its type's text or display, else its system, else
 * "Identifier". */
char       *charta_fhir_text_identifier_kind (JsonObject *identifier);

/* The date part of a FHIR date or dateTime ("2021-03-30" from "2021-03-30T10:00:00Z"), or NULL
 * when @value does not start with a year. */
char       *charta_fhir_text_date         (const char *value);

/* Whole years from the FHIR date @birth_date to @today ("YYYY-MM-DD"); -1 when either is not a
 * full date or @today is earlier. */
int         charta_fhir_age               (const char *birth_date,
                                           const char *today);

/* The text of a status code for people: "entered-in-error" → "Entered in error". */
char       *charta_fhir_text_code         (const char *code);

/* A dateTime or instant for people: its date, and its time to the minute when it has one
 * ("2025-06-19 12:55" from "2025-06-19T12:55:00-04:00"; the time as written, in the zone it was
 * written in).  NULL when @value does not start with a year. */
char       *charta_fhir_text_datetime     (const char *value);

/* A Quantity: "87 mg/dL", "< 5 mmol/L" (comparator, value, then unit, else code).  NULL when it
 * has no value. */
char       *charta_fhir_text_quantity     (JsonObject *quantity);

/* A Reference: its display, else its reference, else its identifier's value. */
char       *charta_fhir_text_reference    (JsonObject *reference);

/* The value[x] of @object (an Observation or one of its components) in words: a Quantity as
 * above, a CodeableConcept, a string, boolean, integer, Range, Ratio, Period or dateTime; for an
 * Observation without one, its components ("117/76 mm[Hg]" for two quantities with one unit,
 * else "Systolic 117 mm[Hg], Diastolic 76 mm[Hg]").  NULL when there is none. */
char       *charta_fhir_text_value        (JsonObject *object);

/* Any element for people, whatever its type: a primitive as written (true/false for a
 * boolean), a complex type by the function above that fits its members (CodeableConcept,
 * Coding, Quantity, Reference, Period, Range, HumanName, Address, Identifier, ContactPoint,
 * Annotation), anything else as "member: value" pairs; the items of an array joined with "; ".
 * NULL for null or an empty element. */
char       *charta_fhir_text_element      (JsonNode   *node);

/* An element's name as a label: "effectiveDateTime" → "Effective", "verificationStatus" →
 * "Verification status" (words split at capitals; a choice element's type suffix dropped). */
char       *charta_fhir_text_label        (const char *name);

/* Whether @resource is marked entered-in-error: its status, or the first coding of its
 * verificationStatus, is "entered-in-error". */
gboolean    charta_fhir_is_entered_in_error (JsonObject *resource);

/* The reason of a Provenance in words: the text of its first reason, else that reason's
 * first coding's display or code.  NULL when it gives none. */
char       *charta_fhir_text_provenance_reason (JsonObject *provenance);

/* Who a Provenance names: the first agent's who (display, else reference).  NULL when none. */
char       *charta_fhir_text_provenance_agent  (JsonObject *provenance);

/* Whether @provenance targets version @version_id of @type/@id: one of its targets' references
 * is "@type/@id/_history/@version_id" (relative, or absolute ending with "/" and that). */
gboolean    charta_fhir_provenance_targets (JsonObject *provenance,
                                            const char *type,
                                            const char *id,
                                            const char *version_id);

/* The activity of a change for people, from its code (v3 DataOperation or ISO 21089
 * lifecycle, as the correction dialog sends them): "amend" → "Correction", "APPEND" →
 * "Addendum", "NULLIFY" → "Entered in error"; another code as its display, else as its code.
 * NULL for NULL. */
char       *charta_fhir_text_activity      (const char *code,
                                            const char *display);

/* What a resource is about, as its title: a Patient's or Practitioner's name, else the text of
 * its code (or medication, vaccine, type), else its name, else "Type id". */
char       *charta_fhir_text_resource_title (JsonObject *resource);

/* The words of an XHTML narrative (Narrative.div) without its tags, with the character entities
 * that XHTML allows unescaped and runs of white space made one space. */
char       *charta_fhir_text_narrative      (const char *div);

G_END_DECLS
