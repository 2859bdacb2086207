/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-patient-finder.h: ChartaPatientFinder, the search entry and the list of patients.
 *
 * What a user types becomes a FHIR Patient search (see charta_patient_list_query_for_text())
 * whose results fill a GtkListView page by page as they scroll, sorted so that possible
 * duplicates sit together and carry a tag.  Choosing a patient (a click, the arrow keys) emits
 * patient-selected; Enter or a double click emits patient-activated as well.  States the user
 * must see (searching, nothing found, the server failing) have their own pages; a footer says
 * how many patients are shown.
 */
#pragma once

#include <adwaita.h>

#include "charta-client.h"

G_BEGIN_DECLS

#define CHARTA_TYPE_PATIENT_FINDER (charta_patient_finder_get_type ())
G_DECLARE_FINAL_TYPE (ChartaPatientFinder, charta_patient_finder, CHARTA, PATIENT_FINDER, AdwBin)

GtkWidget    *charta_patient_finder_new          (void);

/* The server to search (NULL: none).  Setting one lists its patients (the empty search). */
ChartaClient *charta_patient_finder_get_client   (ChartaPatientFinder *self);
void          charta_patient_finder_set_client   (ChartaPatientFinder *self,
                                                  ChartaClient        *client);

/* Puts @text into the search entry and searches right away. */
void          charta_patient_finder_search       (ChartaPatientFinder *self,
                                                  const char          *text);
/* Selects Patient/@patient_id in the list when it is, or once it is, among the results (a
 * later search forgets it). */
void          charta_patient_finder_select       (ChartaPatientFinder *self,
                                                  const char          *patient_id);
/* The results of the current search (a ChartaPatientList), or NULL. */
GListModel   *charta_patient_finder_get_results  (ChartaPatientFinder *self);

void          charta_patient_finder_focus_search (ChartaPatientFinder *self);

G_END_DECLS
