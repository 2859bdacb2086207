/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-index-form.h: ChartaIndexForm, where a scanned document is filed.
 *
 * The fields that place a DocumentReference in a chart: the patient (searched as the user
 * types, by name or MRN; each match shows name, birth date, sex and MRN, and matches that share
 * a name and birth date are marked as possible duplicates, so that the right person is
 * chosen), the encounter (that patient's encounters, newest first, or none), the document type
 * (common LOINC document codes of R4's c80-doc-typecodes value set) and the document's date
 * (YYYY-MM-DD, the day the paper was written or signed; not in the future).  Below them a
 * note, or, for a re-index, a reason that is required.
 *
 * The form only edits: charta_index_form_apply() writes its choices into a copy of the
 * document (subject, context.encounter, type, context.period.start, attachment.creation when
 * absent, docStatus final); the caller sends it.  Reads (the patient search, the encounters,
 * a prefilled patient) are asynchronous, each cancelled by the next and by disposing the form.
 * Every text comes from the records and is shown as it is (no markup); nothing is logged but
 * ids.
 */
#pragma once

#include <adwaita.h>

#include "charta-client.h"

G_BEGIN_DECLS

#define CHARTA_LOINC_SYSTEM "http://loinc.org"

/* The document types offered (LOINC, displays as in R4's c80-doc-typecodes), in the order
 * shown; the last entry is { NULL, NULL }. */
typedef struct
{
  const char *code;
  const char *display;
} ChartaDocumentType;

const ChartaDocumentType *charta_index_form_get_document_types (void);

#define CHARTA_TYPE_INDEX_FORM (charta_index_form_get_type ())
G_DECLARE_FINAL_TYPE (ChartaIndexForm, charta_index_form, CHARTA, INDEX_FORM, AdwBin)

GtkWidget  *charta_index_form_new              (void);

/* The server to search; setting another clears the form. */
void        charta_index_form_set_client       (ChartaIndexForm *self,
                                                ChartaClient    *client);

/* Whether the reason is required (a re-index) or an optional note (filing from the queue). */
void        charta_index_form_set_reason_required (ChartaIndexForm *self,
                                                   gboolean         required);

/* Fills the form from @document (a DocumentReference; NULL: empty): its patient (read for its
 * name), encounter, type and date.  What the user then changes is compared with this. */
void        charta_index_form_fill             (ChartaIndexForm *self,
                                                JsonObject      *document);

/* Whether everything needed is filled in and valid: a patient, a type, a date, and the
 * reason when it is required.  Notified as "complete". */
gboolean    charta_index_form_is_complete      (ChartaIndexForm *self);
/* Whether the placement chosen differs from the one filled in (patient, encounter, type or
 * date).  Notified with "complete". */
gboolean    charta_index_form_differs          (ChartaIndexForm *self);
/* What is not filled in yet, in words ("Choose the patient"), or NULL when complete. */
const char *charta_index_form_get_missing      (ChartaIndexForm *self);

/* The chosen patient's id, or NULL; and their name ("Emily Louise Miller"), or NULL. */
const char *charta_index_form_get_patient_id   (ChartaIndexForm *self);
const char *charta_index_form_get_patient_name (ChartaIndexForm *self);
/* The chosen encounter's id, or NULL for none. */
const char *charta_index_form_get_encounter_id (ChartaIndexForm *self);
/* The chosen type's LOINC code, or NULL. */
const char *charta_index_form_get_type_code    (ChartaIndexForm *self);
/* The reason or note typed, stripped; NULL when empty. */
char       *charta_index_form_dup_reason       (ChartaIndexForm *self);

/* A copy of @document with the form's placement written in (the form must be complete). */
JsonNode   *charta_index_form_apply            (ChartaIndexForm *self,
                                                JsonNode        *document);

/* Focuses the patient search (or the chosen patient's Change button). */
void        charta_index_form_focus            (ChartaIndexForm *self);

/* Whether a read (patient search, encounters) is under way. */
gboolean    charta_index_form_is_busy          (ChartaIndexForm *self);

G_END_DECLS
