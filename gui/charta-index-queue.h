/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-index-queue.h: ChartaIndexQueue, the scans waiting to be filed to a patient.
 *
 * The indexing queue is every current DocumentReference without a subject
 * (DocumentReference?subject:missing=true&status=current; R4 has no search parameter for
 * docStatus, so the missing subject is what says "unfiled"), the oldest first.  The list shows
 * each scan's file name, when it was received and its kind and size.  Choosing one shows its
 * pages (ChartaDocumentViewer, the first page first) beside the index form (ChartaIndexForm):
 * patient, encounter, document type and date, and an optional note.  File saves the placement
 * as a new version of the DocumentReference (PUT with If-Match, docStatus final, and an
 * X-Provenance naming the user, activity UPDATE, reason "Indexed to patient" and the note);
 * the scan then leaves the list, the next one is chosen, and "filed" is emitted.
 *
 * "n-documents" counts the scans waiting (-1 until known): read when the client is set (a
 * count only, _summary=count), and with each reading of the list and each filing, so that a
 * badge can show it before the queue is opened.  Reads are asynchronous; the file is
 * downloaded into the app's cache folder as the document view does, and deleted when another
 * scan is chosen.  Keys: the list and the form as usual, Alt+F files, F5 reads the queue
 * again.
 */
#pragma once

#include <adwaita.h>

#include "charta-client.h"
#include "charta-document-viewer.h"
#include "charta-index-form.h"

G_BEGIN_DECLS

/* The reason every filing's Provenance gives, before the user's note. */
#define CHARTA_INDEX_QUEUE_REASON "Indexed to patient"

#define CHARTA_TYPE_INDEX_QUEUE (charta_index_queue_get_type ())
G_DECLARE_FINAL_TYPE (ChartaIndexQueue, charta_index_queue, CHARTA, INDEX_QUEUE, AdwBin)

GtkWidget            *charta_index_queue_new             (void);

/* The server to read from; setting another empties the queue and counts it anew. */
void                  charta_index_queue_set_client      (ChartaIndexQueue *self,
                                                          ChartaClient     *client);

/* Reads the list (keeping the scan chosen, when it is still waiting). */
void                  charta_index_queue_reload          (ChartaIndexQueue *self);
/* Counts the scans waiting again, without reading the list. */
void                  charta_index_queue_refresh_count   (ChartaIndexQueue *self);

/* How many scans wait (-1: not known yet). */
int                   charta_index_queue_get_n_documents (ChartaIndexQueue *self);
/* Whether the list has been read (or failed).  Notified as "loaded". */
gboolean              charta_index_queue_is_loaded       (ChartaIndexQueue *self);
/* The scans listed, in order ("DocumentReference/7"…; newly allocated, NULL-terminated). */
char                **charta_index_queue_dup_references  (ChartaIndexQueue *self);

/* The scan chosen ("DocumentReference/7"), or NULL.  Notified as "selected". */
const char           *charta_index_queue_get_selected    (ChartaIndexQueue *self);
/* Chooses @reference; FALSE when it is not listed. */
gboolean              charta_index_queue_select          (ChartaIndexQueue *self,
                                                          const char       *reference);

/* Files the chosen scan as the File button does (nothing when the form is not complete). */
void                  charta_index_queue_file            (ChartaIndexQueue *self);
/* Whether a filing is being saved.  Notified as "busy". */
gboolean              charta_index_queue_is_busy         (ChartaIndexQueue *self);

ChartaDocumentViewer *charta_index_queue_get_viewer      (ChartaIndexQueue *self);
ChartaIndexForm      *charta_index_queue_get_form        (ChartaIndexQueue *self);

G_END_DECLS
