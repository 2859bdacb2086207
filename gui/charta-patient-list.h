/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-patient-list.h: ChartaPatientList, a patient search as a lazily loaded GListModel.
 *
 * The model holds the pages of a Patient search that have been read so far, as
 * ChartaPatient items.  It starts with the first page; whenever a view asks for an item near
 * the end of what is loaded, it reads the next page through the searchset Bundle's "next"
 * link.  So a search over 100,000 patients reads only what the user scrolls to, and the list
 * grows as they scroll.  One page is read at a time.
 *
 * Possible duplicates: every loaded item whose match key (see charta_fhir_patient_match_key():
 * family and given names and birth date) equals another loaded item's is marked
 * possible-duplicate, whichever pages they came on.  The finder sorts its searches by family
 * name, given names and birth date, so that such a pair sits together.
 */
#pragma once

#include <gio/gio.h>

#include "charta-client.h"
#include "charta-patient.h"

G_BEGIN_DECLS

/* The page size the finder asks for. */
#define CHARTA_PATIENT_LIST_PAGE_SIZE 50

#define CHARTA_TYPE_PATIENT_LIST (charta_patient_list_get_type ())
G_DECLARE_FINAL_TYPE (ChartaPatientList, charta_patient_list, CHARTA, PATIENT_LIST, GObject)

/* The search path for what a user typed in the finder: each word that is a date (YYYY,
 * YYYY-MM or YYYY-MM-DD) becomes birthdate=, each word with a digit or a '|' (an MRN, or
 * system|value) identifier=, every other word name= (so "emily miller" needs both words);
 * nothing typed lists every patient.  Sorted by family, given, birthdate; @page_size a page
 * (0: CHARTA_PATIENT_LIST_PAGE_SIZE). */
char              *charta_patient_list_query_for_text (const char        *text,
                                                       unsigned           page_size);

/* A list over the results of @search_path ("Patient?name=miller&_sort=…"), whose first page
 * it starts reading. */
ChartaPatientList *charta_patient_list_new            (ChartaClient      *client,
                                                       const char        *search_path);

/* Reads the next page if there is one and none is being read. */
void               charta_patient_list_load_more      (ChartaPatientList *self);
/* After an error: forgets it and reads the page that failed again. */
void               charta_patient_list_retry          (ChartaPatientList *self);
/* Stops reading (the list keeps what it has). */
void               charta_patient_list_cancel         (ChartaPatientList *self);

gboolean           charta_patient_list_is_loading     (ChartaPatientList *self);
/* Whether the last page has been read. */
gboolean           charta_patient_list_is_complete    (ChartaPatientList *self);
/* How many patients match in all, when the server said (Bundle.total); -1 otherwise. */
int64_t            charta_patient_list_get_total      (ChartaPatientList *self);
/* The pages read so far. */
unsigned           charta_patient_list_get_n_pages    (ChartaPatientList *self);
/* How many of the loaded patients are marked possible-duplicate. */
unsigned           charta_patient_list_get_n_possible_duplicates (ChartaPatientList *self);
/* Why the last page could not be read (plain words), or NULL. */
const char        *charta_patient_list_get_error_message (ChartaPatientList *self);

G_END_DECLS
