/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-document-view.h: ChartaDocumentView, one scanned document and what can be done to it.
 *
 * The header says what the document is and where it is filed: its type, the patient (name,
 * birth date, MRN; or "Unfiled: in the indexing queue"), the encounter, the document's date
 * and when it was received, its status and docStatus, the file's name and size, and the last
 * change (who, when, why, from the Provenance of the version shown).  A document entered in
 * error says so first, with its reason.  Addenda (documents that relatesTo "appends" this one)
 * are listed as buttons that open them; an addendum links back to the document it appends.
 *
 * Below, the file itself in a ChartaDocumentViewer.  The file (the attachment's url, a Binary
 * of the server, or its inline data) is downloaded into a temporary file in the app's cache
 * folder ($XDG_CACHE_HOME/charta), never on the GTK thread, with a spinner meanwhile; a
 * failure (no such Binary, no server) shows an error page with Try Again, and the rest of the
 * view keeps working.  The temporary file is deleted when another document is shown and when
 * the view goes.
 *
 * Actions (buttons with mnemonics; the "document." actions): History (emits "show-history"),
 * Re-index… (a ChartaIndexDialog), Entered in Error… (a reason is required; PUT with status
 * entered-in-error and a Provenance of activity NULLIFY), Add Addendum… (a file chosen with
 * a GtkFileChooserNative is uploaded as a Binary, then a DocumentReference of the same
 * patient, encounter and type that relatesTo "appends" this one is created, with the reason
 * in its Provenance), and the viewer's own Save a Copy.  Every change is a versioned PUT or a
 * POST with an X-Provenance naming the app's user; once it is saved the view reads the
 * document again and emits "changed" with a sentence for a toast.
 */
#pragma once

#include <adwaita.h>

#include "charta-client.h"
#include "charta-document-viewer.h"

G_BEGIN_DECLS

#define CHARTA_TYPE_DOCUMENT_VIEW (charta_document_view_get_type ())
G_DECLARE_FINAL_TYPE (ChartaDocumentView, charta_document_view, CHARTA, DOCUMENT_VIEW, AdwBin)

GtkWidget            *charta_document_view_new            (void);

/* The server to read from; setting another clears the view. */
void                  charta_document_view_set_client     (ChartaDocumentView *self,
                                                           ChartaClient       *client);

/* Reads and shows @reference ("DocumentReference/7"; NULL: nothing). */
void                  charta_document_view_show           (ChartaDocumentView *self,
                                                           const char         *reference);
/* Reads the document on screen again (its file only if that changed). */
void                  charta_document_view_reload         (ChartaDocumentView *self);

const char           *charta_document_view_get_reference  (ChartaDocumentView *self);
/* The version on screen (borrowed), or NULL until it has been read. */
JsonNode             *charta_document_view_get_resource   (ChartaDocumentView *self);
/* What the document is ("Patient Consent"), for a title; NULL until read. */
const char           *charta_document_view_get_title      (ChartaDocumentView *self);
/* Where it is filed ("Miller, Emily Louise", "Unfiled: in the indexing queue"); NULL until
 * read. */
const char           *charta_document_view_get_placement  (ChartaDocumentView *self);
/* Whether the document and what the header shows of it (patient, encounter, last change,
 * addenda) have been read, or have failed.  Notified as "loaded". */
gboolean              charta_document_view_is_loaded      (ChartaDocumentView *self);
/* Whether a change (re-index, entered in error, addendum) is being saved.  Notified as
 * "busy". */
gboolean              charta_document_view_is_busy        (ChartaDocumentView *self);

ChartaDocumentViewer *charta_document_view_get_viewer     (ChartaDocumentView *self);

/* Adds the file @file as an addendum, as if it had been chosen after "Add Addendum…": asks
 * for the reason, then uploads it. */
void                  charta_document_view_add_addendum_file (ChartaDocumentView *self,
                                                              GFile              *file);

/* ---- the file of a document --------------------------------------------------------------- */

/* The folder of the app's temporary document files: $XDG_CACHE_HOME/charta (newly
 * allocated). */
char                 *charta_document_dup_cache_dir       (void);

/* Downloads the content of @attachment (an Attachment: its url, "Binary/7" or an absolute URL
 * of the server, or its inline data) into a new file in charta_document_dup_cache_dir(),
 * streamed.  Success gives the file (the caller deletes it, see charta_document_discard())
 * and, in *content_type, the type the server sent, else the attachment's. */
void                  charta_document_fetch_async         (ChartaClient        *client,
                                                           JsonObject          *attachment,
                                                           GCancellable        *cancellable,
                                                           GAsyncReadyCallback  callback,
                                                           gpointer             user_data);
GFile                *charta_document_fetch_finish        (GAsyncResult        *result,
                                                           char               **content_type,
                                                           GError             **error);
/* Deletes @file in the background (NULL: nothing). */
void                  charta_document_discard             (GFile               *file);

/* A document's file shown in a viewer, for the widgets that show one (the document view, the
 * indexing queue): the owner's @stack has the pages "downloading" (with @spinner), "failed"
 * (@error_page, with the owner's Try Again) and "viewer" (@viewer).  Set up with
 * charta_document_file_init(). */
typedef struct
{
  GObject              *owner;       /* kept alive while a fetch runs */
  ChartaDocumentViewer *viewer;
  GtkStack             *stack;
  GtkSpinner           *spinner;
  AdwStatusPage        *error_page;
  const char           *noun;        /* "document", "scan": for the messages */
  const char           *when_gone;   /* said after "…is not on the server: it may have been
                                      * deleted." */
  /* Its state. */
  GCancellable         *cancellable; /* of the fetch running, if any */
  GFile                *file;        /* the temporary file the viewer shows */
  gboolean              failed;      /* the last fetch failed */
} ChartaDocumentFile;

/* Sets up @df for @owner's widgets and words (see ChartaDocumentFile). */
void                  charta_document_file_init           (ChartaDocumentFile   *df,
                                                           GObject              *owner,
                                                           ChartaDocumentViewer *viewer,
                                                           GtkStack             *stack,
                                                           GtkSpinner           *spinner,
                                                           AdwStatusPage        *error_page,
                                                           const char           *noun,
                                                           const char           *when_gone);
/* Downloads @attachment (charta_document_fetch_async()) with the "downloading" page shown,
 * then shows it in the viewer under @title (the file it replaces is deleted), or says on the
 * "failed" page what went wrong.  @what names the document in debug logs
 * ("DocumentReference/7"). */
void                  charta_document_file_fetch          (ChartaDocumentFile  *df,
                                                           ChartaClient        *client,
                                                           JsonObject          *attachment,
                                                           const char          *title,
                                                           const char          *what);
/* Stops a fetch, empties the viewer and deletes the file (@at_once: now, not in the
 * background, when the app may be ending). */
void                  charta_document_file_drop           (ChartaDocumentFile  *df,
                                                           gboolean             at_once);

/* The file's name, its kind and size ("consent.pdf · PDF, 1.2 MB"); NULL when @attachment
 * says nothing of them. */
char                 *charta_document_describe_file       (JsonObject          *attachment);
/* What a document is: its type in words, else its description, else "Document". */
char                 *charta_document_dup_title           (JsonObject          *document);

G_END_DECLS
