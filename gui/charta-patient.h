/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-patient.h: ChartaPatient, one patient of the finder's results.
 *
 * The few things a results row shows, read once from a Patient resource: id, name (family
 * first, as the list is sorted), birth date, sex and MRN, and whether the patient looks like a
 * duplicate registration of a neighbour in the list (set by ChartaPatientList).  The resource
 * itself is not kept: the chart reads it again.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define CHARTA_TYPE_PATIENT (charta_patient_get_type ())
G_DECLARE_FINAL_TYPE (ChartaPatient, charta_patient, CHARTA, PATIENT, GObject)

/* NULL when @resource is not a Patient with an id. */
ChartaPatient *charta_patient_new_from_json       (JsonObject    *resource);

const char    *charta_patient_get_id              (ChartaPatient *self);
/* "Miller, Emily Louise"; "Unnamed patient" when the resource has no name. */
const char    *charta_patient_get_name            (ChartaPatient *self);
/* The birth date as written ("1942-10-28"), or NULL. */
const char    *charta_patient_get_birth_date      (ChartaPatient *self);
/* "Female", or NULL. */
const char    *charta_patient_get_sex             (ChartaPatient *self);
const char    *charta_patient_get_mrn             (ChartaPatient *self);
/* See charta_fhir_patient_match_key(); NULL when the name or birth date is missing. */
const char    *charta_patient_get_match_key       (ChartaPatient *self);
/* "1942-10-28 · Female · MRN 04010586": what the row shows under the name. */
char          *charta_patient_dup_details         (ChartaPatient *self);

gboolean       charta_patient_get_possible_duplicate (ChartaPatient *self);
void           charta_patient_set_possible_duplicate (ChartaPatient *self,
                                                      gboolean       possible_duplicate);

G_END_DECLS
