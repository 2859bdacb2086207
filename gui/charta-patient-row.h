/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-patient-row.h: ChartaPatientRow, one row of the patient finder's list.
 *
 * Shows a ChartaPatient: the name (family first), "birth date · sex · MRN" under it, and a
 * "Possible duplicate" tag while the patient is marked so.  The row's accessible label says
 * all of it in one sentence.  Rows are recycled by the GtkListView: set_patient() rebinds.
 */
#pragma once

#include <adwaita.h>

#include "charta-patient.h"

G_BEGIN_DECLS

#define CHARTA_TYPE_PATIENT_ROW (charta_patient_row_get_type ())
G_DECLARE_FINAL_TYPE (ChartaPatientRow, charta_patient_row, CHARTA, PATIENT_ROW, AdwBin)

GtkWidget     *charta_patient_row_new         (void);

ChartaPatient *charta_patient_row_get_patient (ChartaPatientRow *self);
void           charta_patient_row_set_patient (ChartaPatientRow *self,
                                               ChartaPatient    *patient);

G_END_DECLS
