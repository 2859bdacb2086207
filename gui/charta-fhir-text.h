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

G_END_DECLS
