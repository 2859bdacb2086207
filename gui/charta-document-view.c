/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-document-view.c: one scanned document and what can be done to it (see
 * charta-document-view.h).
 *
 * Reading a document: GET DocumentReference/ID first; then, all at once, the reads that the
 * header needs (the patient, the encounter, the Provenance of the version shown, the addenda,
 * the document an addendum appends) and the file.  The reads share one GCancellable, which
 * showing another document cancels; a callback whose read was cancelled touches nothing.  The
 * file has a GCancellable of its own, so that reading the record again after a change keeps
 * the file on screen when the attachment is the same one (same url and hash).
 *
 * A change (entered in error, addendum; the re-index is ChartaIndexDialog's) runs with a
 * third GCancellable, which disposing the view cancels.  While it runs the actions are off and
 * a spinner turns in the header.  What fails is said in a banner under the header, in plain
 * words: nothing was saved, and why.
 *
 * Every text comes from the records and is shown as it is (no markup).  Nothing is logged but
 * ids and version numbers.
 */
#define G_LOG_DOMAIN "charta-document-view"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "charta-application.h"
#include "charta-document-view.h"
#include "charta-fhir-text.h"
#include "charta-index-dialog.h"
#include "charta-json-text.h"
#include "charta-patient.h"

/* The most addenda listed. */
#define RELATED_COUNT 50
/* A document file in the cache folder older than this was left by an app that did not end
 * normally (two days: no document stays on screen that long). */
#define STALE_SECONDS (2 * 24 * 60 * 60)

struct _ChartaDocumentView
{
  AdwBin parent_instance;

  ChartaClient *client;
  char *reference;              /* "DocumentReference/7" */
  char *id;
  JsonNode *resource;           /* the version on screen */
  char *title;
  char *placement;              /* the patient, for a subtitle */
  GCancellable *cancellable;    /* the reads of the document on screen */
  unsigned n_pending;           /* those not yet returned */

  /* What the header shows, as the reads bring it. */
  char *patient_text;           /* "Miller, Emily Louise · 1942-10-28 · Female · MRN 04010586" */
  char *encounter_text;         /* "Encounter 2025-05-30 · Ambulatory" */
  char *change_text;            /* the last change, from its Provenance */
  char *in_error_reason;

  /* The file. */
  ChartaDocumentFile df;        /* in the viewer (its widgets: file_stack… below) */
  char *file_key;               /* which attachment it holds: its url and hash */

  /* A change being saved. */
  GCancellable *change_cancellable;
  gboolean busy;
  GtkFileChooserNative *chooser;

  GtkStack *stack;
  GtkSpinner *spinner;
  AdwStatusPage *error_page;
  GtkLabel *heading_label;
  GtkSpinner *busy_spinner;
  GtkLabel *placement_label;
  GtkLabel *details_label;
  GtkWidget *in_error_box;
  GtkLabel *in_error_label;
  GtkLabel *change_label;
  GtkFlowBox *relations_box;
  GtkRevealer *banner_revealer;
  GtkLabel *banner_label;
  GtkStack *file_stack;
  GtkSpinner *file_spinner;
  AdwStatusPage *file_error_page;
  ChartaDocumentViewer *viewer;
};

enum
{
  PROP_0,
  PROP_TITLE,
  PROP_LOADED,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SHOW_HISTORY,
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ChartaDocumentView, charta_document_view, ADW_TYPE_BIN)

static void load_document (ChartaDocumentView *self,
                           gboolean            quietly);

/* ---- the file of a document --------------------------------------------------------------- */

char *
charta_document_dup_cache_dir (void)
{
  return g_build_filename (g_get_user_cache_dir (), "charta", NULL);
}

typedef struct
{
  ChartaClient *client;
  char *url;            /* to download, or NULL */
  GBytes *data;         /* the inline content, or NULL */
  char *content_type;   /* the attachment's, or the server's once downloaded */
  GFile *file;
} Fetch;

static void
fetch_free (Fetch *fetch)
{
  g_clear_object (&fetch->client);
  g_free (fetch->url);
  g_clear_pointer (&fetch->data, g_bytes_unref);
  g_free (fetch->content_type);
  if (fetch->file != NULL)
    charta_document_discard (fetch->file);
  g_clear_object (&fetch->file);
  g_free (fetch);
}

/* Deletes the document files in @dir older than STALE_SECONDS: those that an app which did
 * not end normally left behind (a running app deletes its own). */
static void
sweep_stale (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = NULL;
      GStatBuf info;

      if (!g_str_has_prefix (name, "document-"))
        continue;
      path = g_build_filename (dir, name, NULL);
      if (g_stat (path, &info) == 0 && now - (gint64) info.st_mtime > STALE_SECONDS)
        g_unlink (path);
    }
}

/* On a worker thread: the cache folder, a new empty file in it, and the inline data. */
static void
fetch_prepare (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  Fetch *fetch = task_data;
  g_autofree char *dir = charta_document_dup_cache_dir ();
  g_autofree char *path = g_build_filename (dir, "document-XXXXXX", NULL);
  const guint8 *bytes = NULL;
  size_t left = 0;
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved),
                               "Could not make the folder “%s” for the document’s file: %s", dir,
                               g_strerror (saved));
      return;
    }
  sweep_stale (dir);
  fd = g_mkstemp_full (path, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved = errno;

      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved),
                               "Could not make a file in “%s” for the document: %s", dir,
                               g_strerror (saved));
      return;
    }
  if (fetch->data != NULL)
    bytes = g_bytes_get_data (fetch->data, &left);
  while (left > 0)
    {
      ssize_t written = write (fd, bytes, left);

      if (written < 0 && errno == EINTR)
        continue;
      if (written <= 0)
        {
          int saved = errno;

          close (fd);
          g_unlink (path);
          g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved),
                                   "Could not write the document to “%s”: %s", path,
                                   g_strerror (saved));
          return;
        }
      bytes += written;
      left -= (size_t) written;
    }
  close (fd);
  g_task_return_pointer (task, g_file_new_for_path (path), g_object_unref);
}

static void
fetch_downloaded (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Fetch *fetch = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *content_type = NULL;

  if (!charta_client_download_finish (CHARTA_CLIENT (source), result, &content_type, NULL,
                                      &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (content_type != NULL && *content_type != '\0')
    {
      g_free (fetch->content_type);
      fetch->content_type = g_steal_pointer (&content_type);
    }
  g_task_return_pointer (task, g_steal_pointer (&fetch->file), g_object_unref);
}

static void
fetch_prepared (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Fetch *fetch = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  GCancellable *cancellable;
  GFile *file;

  file = g_task_propagate_pointer (G_TASK (result), &error);
  if (file == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  fetch->file = file;
  if (g_task_return_error_if_cancelled (task))
    return;
  if (fetch->url == NULL)
    {
      g_task_return_pointer (task, g_steal_pointer (&fetch->file), g_object_unref);
      return;
    }
  cancellable = g_task_get_cancellable (task);
  charta_client_download_async (fetch->client, fetch->url, fetch->file, cancellable,
                                fetch_downloaded, g_steal_pointer (&task));
}

void
charta_document_fetch_async (ChartaClient        *client,
                             JsonObject          *attachment,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) prepare = NULL;
  const char *url = charta_json_get_string (attachment, "url");
  const char *data = charta_json_get_string (attachment, "data");
  Fetch *fetch;

  g_return_if_fail (CHARTA_IS_CLIENT (client));
  g_return_if_fail (attachment != NULL);

  task = g_task_new (client, cancellable, callback, user_data);
  g_task_set_source_tag (task, charta_document_fetch_async);
  fetch = g_new0 (Fetch, 1);
  fetch->client = g_object_ref (client);
  fetch->content_type = g_strdup (charta_json_get_string (attachment, "contentType"));
  g_task_set_task_data (task, fetch, (GDestroyNotify) fetch_free);

  if (url != NULL && *url != '\0')
    {
      g_autofree char *scheme = g_uri_parse_scheme (url);

      /* The server's own Binary ("Binary/7"), or an http(s) address; nothing else is fetched
       * (a file: or urn: address means nothing here, or worse). */
      if (scheme != NULL && g_ascii_strcasecmp (scheme, "http") != 0
          && g_ascii_strcasecmp (scheme, "https") != 0)
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                                   "The file is at “%s”, which Charta cannot fetch: only the "
                                   "server’s Binary resources and http(s) addresses", url);
          return;
        }
      fetch->url = g_strdup (url);
    }
  else if (data != NULL)
    {
      size_t length = 0;
      guchar *decoded = g_base64_decode (data, &length);

      fetch->data = g_bytes_new_take (decoded, length);
    }
  else
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               "The document has no file: its attachment has neither a url "
                               "nor data");
      return;
    }

  /* The preparing task borrows @fetch: the task it calls back holds it meanwhile. */
  prepare = g_task_new (NULL, cancellable, fetch_prepared, g_steal_pointer (&task));
  g_task_set_source_tag (prepare, fetch_prepare);
  g_task_set_task_data (prepare, fetch, NULL);
  g_task_run_in_thread (prepare, fetch_prepare);
}

GFile *
charta_document_fetch_finish (GAsyncResult  *result,
                              char         **content_type,
                              GError       **error)
{
  Fetch *fetch;
  GFile *file;

  g_return_val_if_fail (G_IS_TASK (result), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == charta_document_fetch_async,
                        NULL);

  fetch = g_task_get_task_data (G_TASK (result));
  file = g_task_propagate_pointer (G_TASK (result), error);
  if (content_type != NULL)
    *content_type = file != NULL ? g_strdup (fetch->content_type) : NULL;
  return file;
}

void
charta_document_discard (GFile *file)
{
  if (file == NULL)
    return;
  /* On a worker thread of GIO's; nothing waits for it. */
  g_file_delete_async (file, G_PRIORITY_LOW, NULL, NULL, NULL);
}

/* ---- a document's file in a viewer ------------------------------------------------------------ */

typedef struct
{
  GObject *owner;
  ChartaDocumentFile *df;
  GCancellable *cancellable;
  char *title;
  char *url;
  char *what;
} FileRead;

static void
file_read_free (FileRead *read)
{
  g_object_unref (read->owner);
  g_object_unref (read->cancellable);
  g_free (read->title);
  g_free (read->url);
  g_free (read->what);
  g_free (read);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FileRead, file_read_free)

static void
file_fetched (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(FileRead) read = user_data;
  ChartaDocumentFile *df = read->df;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = NULL;
  g_autofree char *content_type = NULL;

  file = charta_document_fetch_finish (result, &content_type, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    {
      charta_document_discard (file);
      return;
    }
  gtk_spinner_stop (df->spinner);
  if (file == NULL)
    {
      g_autofree char *text = NULL;
      g_autofree char *escaped = NULL;

      g_debug ("the file of %s could not be fetched (%s %d)", read->what,
               g_quark_to_string (error->domain), error->code);
      if (g_error_matches (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_NOT_FOUND))
        text = g_strdup_printf ("The %s’s file (%s) is not on the server: it may have been "
                                "deleted. %s", df->noun,
                                read->url != NULL ? read->url : "its Binary", df->when_gone);
      else
        text = g_strdup_printf ("The %s’s file could not be downloaded. %s", df->noun,
                                error->message);
      escaped = g_markup_escape_text (text, -1);
      adw_status_page_set_description (df->error_page, escaped);
      df->failed = TRUE;
      gtk_stack_set_visible_child_name (df->stack, "failed");
      return;
    }
  g_debug ("the file of %s is in the viewer", read->what);
  charta_document_viewer_load_file (df->viewer, file, content_type, read->title);
  /* The old file goes once the viewer has the new one. */
  charta_document_discard (df->file);
  g_set_object (&df->file, file);
  df->failed = FALSE;
  gtk_stack_set_visible_child_name (df->stack, "viewer");
}

void
charta_document_file_init (ChartaDocumentFile   *df,
                           GObject              *owner,
                           ChartaDocumentViewer *viewer,
                           GtkStack             *stack,
                           GtkSpinner           *spinner,
                           AdwStatusPage        *error_page,
                           const char           *noun,
                           const char           *when_gone)
{
  memset (df, 0, sizeof *df);
  df->owner = owner;
  df->viewer = viewer;
  df->stack = stack;
  df->spinner = spinner;
  df->error_page = error_page;
  df->noun = noun;
  df->when_gone = when_gone;
}

void
charta_document_file_fetch (ChartaDocumentFile *df,
                            ChartaClient       *client,
                            JsonObject         *attachment,
                            const char         *title,
                            const char         *what)
{
  FileRead *read;

  g_return_if_fail (df != NULL && G_IS_OBJECT (df->owner));
  g_return_if_fail (attachment != NULL);

  if (df->cancellable != NULL)
    g_cancellable_cancel (df->cancellable);
  g_clear_object (&df->cancellable);
  df->cancellable = g_cancellable_new ();
  read = g_new0 (FileRead, 1);
  read->owner = g_object_ref (df->owner);
  read->df = df;
  read->cancellable = g_object_ref (df->cancellable);
  read->title = g_strdup (title);
  read->url = g_strdup (charta_json_get_string (attachment, "url"));
  read->what = g_strdup (what);
  gtk_spinner_start (df->spinner);
  gtk_stack_set_visible_child_name (df->stack, "downloading");
  charta_document_fetch_async (client, attachment, df->cancellable, file_fetched, read);
}

void
charta_document_file_drop (ChartaDocumentFile *df,
                           gboolean            at_once)
{
  g_return_if_fail (df != NULL);

  if (df->cancellable != NULL)
    g_cancellable_cancel (df->cancellable);
  g_clear_object (&df->cancellable);
  if (df->viewer != NULL)
    charta_document_viewer_clear (df->viewer);
  if (at_once && df->file != NULL)
    g_file_delete (df->file, NULL, NULL);
  else
    charta_document_discard (df->file);
  g_clear_object (&df->file);
  df->failed = FALSE;
}

/* ---- words -------------------------------------------------------------------------------- */

char *
charta_document_describe_file (JsonObject *attachment)
{
  const char *title = charta_json_get_string (attachment, "title");
  const char *type = charta_json_get_string (attachment, "contentType");
  JsonNode *size = attachment != NULL ? json_object_get_member (attachment, "size") : NULL;
  g_autofree char *kind = NULL;
  g_autofree char *size_text = NULL;
  GString *text = g_string_new (title);

  if (type != NULL && g_str_has_prefix (type, "application/pdf"))
    kind = g_strdup ("PDF");
  else if (type != NULL && g_str_has_prefix (type, "image/"))
    {
      g_autofree char *sub = g_ascii_strup (type + strlen ("image/"), -1);
      char *semicolon = strchr (sub, ';');

      if (semicolon != NULL)
        *semicolon = '\0';
      kind = g_strdup_printf ("%s image", g_strcmp0 (sub, "JPEG") == 0 ? "JPEG" : sub);
    }
  else if (type != NULL)
    kind = g_strdup (type);
  if (size != NULL && JSON_NODE_HOLDS_VALUE (size)
      && json_node_get_value_type (size) == G_TYPE_INT64)
    size_text = g_format_size ((guint64) MAX (json_node_get_int (size), 0));

  if (kind != NULL || size_text != NULL)
    g_string_append_printf (text, "%s%s%s%s", text->len > 0 ? " · " : "",
                            kind != NULL ? kind : "",
                            kind != NULL && size_text != NULL ? ", " : "",
                            size_text != NULL ? size_text : "");
  if (text->len == 0)
    {
      g_string_free (text, TRUE);
      return NULL;
    }
  return g_string_free (text, FALSE);
}

char *
charta_document_dup_title (JsonObject *document)
{
  char *title = charta_fhir_text_concept (charta_json_get_object (document, "type"));

  if (title == NULL)
    title = g_strdup (charta_json_get_string (document, "description"));
  if (title == NULL)
    title = g_strdup ("Document");
  return title;
}

/* The id of @reference when it names a @type ("Patient/7" → "7"), relative or absolute,
 * without a version; else NULL. */
static char *
reference_id (JsonObject *reference,
              const char *type)
{
  const char *text = charta_json_get_string (reference, "reference");
  g_autofree char *prefix = g_strdup_printf ("%s/", type);
  const char *at;

  if (text == NULL)
    return NULL;
  at = g_str_has_prefix (text, prefix) ? text : strstr (text, prefix);
  if (at == NULL || (at != text && at[-1] != '/'))
    return NULL;
  at += strlen (prefix);
  if (*at == '\0' || strchr (at, '/') != NULL)
    return NULL;
  return g_strdup (at);
}

static JsonObject *
document_object (ChartaDocumentView *self)
{
  return self->resource != NULL ? json_node_get_object (self->resource) : NULL;
}

static JsonObject *
document_attachment (JsonObject *document)
{
  return charta_json_get_object (charta_json_get_first (document, "content"), "attachment");
}

static const char *
version_of (JsonObject *resource)
{
  return charta_json_get_string (charta_json_get_object (resource, "meta"), "versionId");
}

/* The user, as the Provenance of a change names them: from the app's settings, else the
 * system's real name. */
static void
dup_agent (GtkWidget  *widget,
           char      **reference,
           char      **display)
{
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkApplication *app = GTK_IS_WINDOW (root) ? gtk_window_get_application (GTK_WINDOW (root))
                                             : NULL;

  if (CHARTA_IS_APPLICATION (app))
    {
      *display = charta_application_dup_user_name (CHARTA_APPLICATION (app));
      *reference = charta_application_dup_user_reference (CHARTA_APPLICATION (app));
    }
  else
    {
      *display = g_strdup (g_get_real_name ());
      *reference = NULL;
    }
}

static GtkWindow *
parent_window (ChartaDocumentView *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  return GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL;
}

/* ---- the header --------------------------------------------------------------------------- */

static void
update_actions (ChartaDocumentView *self)
{
  JsonObject *document = document_object (self);
  gboolean in_error = document != NULL && charta_fhir_is_entered_in_error (document);
  gboolean can_change = document != NULL && !in_error && !self->busy;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "document.history", document != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "document.reindex", can_change);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "document.entered-in-error", can_change);
  /* An addendum belongs to a patient: not to a scan still in the queue. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "document.add-addendum",
                                 can_change && charta_json_get_object (document, "subject")
                                                 != NULL);
}

static void
add_part (GString    *text,
          const char *part)
{
  if (part == NULL || *part == '\0')
    return;
  if (text->len > 0)
    g_string_append (text, " · ");
  g_string_append (text, part);
}

static void
update_header (ChartaDocumentView *self)
{
  JsonObject *document = document_object (self);
  JsonObject *context = charta_json_get_object (document, "context");
  JsonObject *subject = charta_json_get_object (document, "subject");
  const char *doc_status = charta_json_get_string (document, "docStatus");
  const char *status = charta_json_get_string (document, "status");
  gboolean in_error = charta_fhir_is_entered_in_error (document);
  g_autofree char *dated = charta_fhir_text_date (
    charta_json_get_string (charta_json_get_object (context, "period"), "start"));
  g_autofree char *received = charta_fhir_text_datetime (charta_json_get_string (document,
                                                                                 "date"));
  g_autofree char *file = charta_document_describe_file (document_attachment (document));
  g_autofree char *doc_status_text = charta_fhir_text_code (doc_status);
  g_autofree char *status_text = charta_fhir_text_code (status);
  g_autoptr(GString) details = g_string_new (NULL);
  g_autofree char *placement = NULL;

  if (document == NULL)
    return;
  gtk_label_set_text (self->heading_label, self->title);
  if (in_error)
    gtk_widget_add_css_class (GTK_WIDGET (self->heading_label), "struck");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->heading_label), "struck");

  if (subject == NULL)
    placement = g_strdup ("Unfiled: in the indexing queue");
  else if (self->patient_text != NULL)
    placement = g_strdup (self->patient_text);
  else
    placement = charta_fhir_text_reference (subject);
  gtk_label_set_text (self->placement_label, placement != NULL ? placement : "");

  if (dated != NULL)
    {
      g_autofree char *part = g_strdup_printf ("Dated %s", dated);

      add_part (details, part);
    }
  add_part (details, self->encounter_text);
  if (received != NULL)
    {
      g_autofree char *part = g_strdup_printf ("Received %s", received);

      add_part (details, part);
    }
  if (status != NULL && g_strcmp0 (status, "current") != 0)
    add_part (details, status_text);
  add_part (details, doc_status_text);
  add_part (details, file);
  gtk_label_set_text (self->details_label, details->str);

  gtk_widget_set_visible (self->in_error_box, in_error);
  if (in_error)
    {
      g_autofree char *text = self->in_error_reason != NULL
                                ? g_strdup_printf ("Entered in error: %s", self->in_error_reason)
                                : g_strdup ("Entered in error");

      gtk_label_set_text (self->in_error_label, text);
    }
  gtk_label_set_text (self->change_label, self->change_text != NULL ? self->change_text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->change_label), self->change_text != NULL);
  update_actions (self);
}

static void
set_placement (ChartaDocumentView *self,
               const char         *placement)
{
  if (g_strcmp0 (self->placement, placement) == 0)
    return;
  g_free (self->placement);
  self->placement = g_strdup (placement);
  /* The window's title names the patient: "title" covers both. */
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

static void
show_banner (ChartaDocumentView *self,
             const char         *text)
{
  gtk_label_set_text (self->banner_label, text != NULL ? text : "");
  gtk_revealer_set_reveal_child (self->banner_revealer, text != NULL);
}

static void
banner_close_clicked (ChartaDocumentView *self)
{
  show_banner (self, NULL);
}

static void
set_busy (ChartaDocumentView *self,
          gboolean            busy)
{
  if (self->busy == busy)
    return;
  self->busy = busy;
  gtk_widget_set_visible (GTK_WIDGET (self->busy_spinner), busy);
  gtk_spinner_set_spinning (self->busy_spinner, busy);
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct
{
  ChartaDocumentView *self;
  GCancellable *cancellable;   /* the document's, when the read began */
  char *reference;             /* for a related document: the one read */
  char *relation;              /* and what it is to this one */
} ViewRead;

static ViewRead *
view_read_new (ChartaDocumentView *self)
{
  ViewRead *read = g_new0 (ViewRead, 1);

  read->self = g_object_ref (self);
  read->cancellable = g_object_ref (self->cancellable);
  return read;
}

static void
view_read_free (ViewRead *read)
{
  g_object_unref (read->self);
  g_object_unref (read->cancellable);
  g_free (read->reference);
  g_free (read->relation);
  g_free (read);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViewRead, view_read_free)

static void
read_done (ChartaDocumentView *self)
{
  g_assert (self->n_pending > 0);
  self->n_pending--;
  if (self->n_pending == 0)
    {
      g_debug ("DocumentReference/%s read", self->id);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
    }
}

static void
patient_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(ViewRead) read = user_data;
  ChartaDocumentView *self = read->self;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaPatient) patient = NULL;

  node = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  if (node != NULL)
    patient = charta_patient_new_from_json (json_node_get_object (node));
  if (patient != NULL)
    {
      g_autofree char *details = charta_patient_dup_details (patient);

      g_free (self->patient_text);
      self->patient_text = g_strdup_printf ("%s · %s", charta_patient_get_name (patient),
                                            details);
      set_placement (self, charta_patient_get_name (patient));
    }
  else
    g_debug ("the patient of DocumentReference/%s could not be read", self->id);
  update_header (self);
  read_done (self);
}

static void
encounter_read (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(ViewRead) read = user_data;
  ChartaDocumentView *self = read->self;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;

  node = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  if (node != NULL)
    {
      JsonObject *encounter = json_node_get_object (node);
      JsonObject *class = charta_json_get_object (encounter, "class");
      g_autofree char *start = charta_fhir_text_date (
        charta_json_get_string (charta_json_get_object (encounter, "period"), "start"));
      const char *class_text = charta_json_get_string (class, "display");
      g_autofree char *class_words = NULL;

      if (class_text == NULL)
        class_text = charta_json_get_string (class, "code");
      class_words = charta_fhir_text_code (class_text);
      g_free (self->encounter_text);
      self->encounter_text = g_strdup_printf ("Encounter %s%s%s",
                                              start != NULL ? start : "(no date)",
                                              class_words != NULL ? " · " : "",
                                              class_words != NULL ? class_words : "");
    }
  update_header (self);
  read_done (self);
}

static void
provenance_read (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(ViewRead) read = user_data;
  ChartaDocumentView *self = read->self;
  g_autoptr(JsonNode) bundle = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *document = document_object (self);
  const char *version_id = version_of (document);
  JsonArray *entries;

  bundle = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  g_clear_pointer (&self->change_text, g_free);
  g_clear_pointer (&self->in_error_reason, g_free);
  entries = bundle != NULL ? charta_json_get_array (json_node_get_object (bundle), "entry")
                           : NULL;
  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonObject *provenance = JSON_NODE_HOLDS_OBJECT (node)
                                 ? charta_json_get_object (json_node_get_object (node),
                                                           "resource")
                                 : NULL;
      JsonObject *coding = NULL;
      g_autofree char *when = NULL;
      g_autofree char *who = NULL;
      g_autofree char *why = NULL;
      g_autofree char *activity = NULL;
      g_autoptr(GString) text = NULL;

      if (provenance == NULL || version_id == NULL
          || !charta_fhir_provenance_targets (provenance, "DocumentReference", self->id,
                                              version_id))
        continue;
      coding = charta_json_get_first (charta_json_get_object (provenance, "activity"),
                                      "coding");
      when = charta_fhir_text_datetime (charta_json_get_string (provenance, "recorded"));
      who = charta_fhir_text_provenance_agent (provenance);
      why = charta_fhir_text_provenance_reason (provenance);
      activity = charta_fhir_text_activity (charta_json_get_string (coding, "code"),
                                            charta_json_get_string (coding, "display"));
      text = g_string_new (NULL);
      g_string_append_printf (text, "Version %s", version_id);
      if (activity != NULL)
        g_string_append_printf (text, " · %s", activity);
      if (when != NULL)
        g_string_append_printf (text, " %s", when);
      if (who != NULL)
        g_string_append_printf (text, " by %s", who);
      if (why != NULL)
        g_string_append_printf (text, " · Reason: %s", why);
      self->change_text = g_string_free (g_steal_pointer (&text), FALSE);
      self->in_error_reason = g_steal_pointer (&why);
      break;
    }
  if (bundle == NULL)
    self->change_text = g_strdup_printf ("Version %s · who changed it last and why could not "
                                         "be read", version_id != NULL ? version_id : "?");
  update_header (self);
  read_done (self);
}

static void
related_clicked (GtkButton          *button,
                 ChartaDocumentView *self)
{
  const char *reference = g_object_get_data (G_OBJECT (button), "charta-reference");

  if (reference != NULL)
    charta_document_view_show (self, reference);
}

/* A button in the relations box that opens @reference. */
static void
add_related (ChartaDocumentView *self,
             const char         *label,
             const char         *reference,
             gboolean            in_error)
{
  GtkWidget *button = gtk_button_new_with_label (label);
  GtkWidget *child = gtk_button_get_child (GTK_BUTTON (button));
  g_autofree char *tooltip = g_strdup_printf ("Open %s%s", label,
                                              in_error ? " (entered in error)" : "");

  if (GTK_IS_LABEL (child))
    gtk_label_set_ellipsize (GTK_LABEL (child), PANGO_ELLIPSIZE_END);
  if (in_error)
    gtk_widget_add_css_class (button, "struck");
  gtk_widget_set_tooltip_text (button, tooltip);
  g_object_set_data_full (G_OBJECT (button), "charta-reference", g_strdup (reference), g_free);
  g_signal_connect (button, "clicked", G_CALLBACK (related_clicked), self);
  gtk_flow_box_append (self->relations_box, button);
  gtk_widget_set_visible (GTK_WIDGET (self->relations_box), TRUE);
}

static void
clear_related (ChartaDocumentView *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->relations_box))) != NULL)
    gtk_flow_box_remove (self->relations_box, child);
  gtk_widget_set_visible (GTK_WIDGET (self->relations_box), FALSE);
}

/* "Addendum of 2025-06-03 (addendum.pdf)". */
static char *
related_label (const char *relation,
               JsonObject *document)
{
  g_autofree char *date = charta_fhir_text_date (charta_json_get_string (document, "date"));
  const char *file = charta_json_get_string (document_attachment (document), "title");
  g_autofree char *title = charta_document_dup_title (document);
  GString *text = g_string_new (relation);

  g_string_append_printf (text, " %s", title);
  if (date != NULL)
    g_string_append_printf (text, " of %s", date);
  if (file != NULL)
    g_string_append_printf (text, " (%s)", file);
  return g_string_free (text, FALSE);
}

static void
addenda_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(ViewRead) read = user_data;
  ChartaDocumentView *self = read->self;
  g_autoptr(JsonNode) bundle = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *entries;

  bundle = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  if (bundle == NULL)
    g_debug ("the addenda of DocumentReference/%s could not be read", self->id);
  entries = bundle != NULL ? charta_json_get_array (json_node_get_object (bundle), "entry")
                           : NULL;
  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonObject *related = JSON_NODE_HOLDS_OBJECT (node)
                              ? charta_json_get_object (json_node_get_object (node), "resource")
                              : NULL;
      JsonArray *relations = charta_json_get_array (related, "relatesTo");
      const char *id = charta_json_get_string (related, "id");
      const char *words = NULL;
      g_autofree char *reference = NULL;
      g_autofree char *label = NULL;

      if (id == NULL)
        continue;
      /* What it is to this document: its relatesTo that names this one. */
      for (unsigned r = 0; relations != NULL && r < json_array_get_length (relations); r++)
        {
          JsonNode *relation_node = json_array_get_element (relations, r);
          JsonObject *relation = JSON_NODE_HOLDS_OBJECT (relation_node)
                                   ? json_node_get_object (relation_node) : NULL;
          g_autofree char *target = reference_id (charta_json_get_object (relation, "target"),
                                                  "DocumentReference");
          const char *code = charta_json_get_string (relation, "code");

          if (g_strcmp0 (target, self->id) != 0)
            continue;
          words = g_strcmp0 (code, "appends") == 0 ? "Addendum:"
                  : g_strcmp0 (code, "replaces") == 0 ? "Replaced by"
                  : g_strcmp0 (code, "transforms") == 0 ? "Transformed into"
                  : g_strcmp0 (code, "signs") == 0 ? "Signature:" : "Related:";
          break;
        }
      if (words == NULL)
        continue;
      reference = g_strdup_printf ("DocumentReference/%s", id);
      label = related_label (words, related);
      add_related (self, label, reference, charta_fhir_is_entered_in_error (related));
    }
  read_done (self);
}

static void
original_read (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(ViewRead) read = user_data;
  ChartaDocumentView *self = read->self;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *label = NULL;

  node = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  if (node != NULL)
    label = related_label (read->relation, json_node_get_object (node));
  else
    label = g_strdup_printf ("%s %s (could not be read)", read->relation, read->reference);
  add_related (self, label, read->reference,
               node != NULL && charta_fhir_is_entered_in_error (json_node_get_object (node)));
  read_done (self);
}

/* The documents this one relatesTo: each read for its title. */
static void
read_originals (ChartaDocumentView *self,
                JsonObject         *document)
{
  JsonArray *relations = charta_json_get_array (document, "relatesTo");

  for (unsigned i = 0; relations != NULL && i < json_array_get_length (relations); i++)
    {
      JsonNode *node = json_array_get_element (relations, i);
      JsonObject *relation = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      g_autofree char *target = reference_id (charta_json_get_object (relation, "target"),
                                              "DocumentReference");
      const char *code = charta_json_get_string (relation, "code");
      g_autofree char *escaped = NULL;
      g_autofree char *path = NULL;
      ViewRead *read;

      if (target == NULL)
        continue;
      read = view_read_new (self);
      read->reference = g_strdup_printf ("DocumentReference/%s", target);
      read->relation = g_strdup (g_strcmp0 (code, "appends") == 0 ? "Addendum to"
                                 : g_strcmp0 (code, "replaces") == 0 ? "Replaces"
                                 : g_strcmp0 (code, "transforms") == 0 ? "Transformed from"
                                 : g_strcmp0 (code, "signs") == 0 ? "Signs" : "Related to");
      escaped = g_uri_escape_string (target, NULL, FALSE);
      path = g_strdup_printf ("DocumentReference/%s", escaped);
      self->n_pending++;
      charta_client_get_async (self->client, path, self->cancellable, original_read, read);
    }
}

/* ---- the file ----------------------------------------------------------------------------- */

static char *
attachment_key (JsonObject *attachment)
{
  const char *url = charta_json_get_string (attachment, "url");
  const char *hash = charta_json_get_string (attachment, "hash");

  if (url == NULL)
    return NULL;
  return g_strdup_printf ("%s#%s", url, hash != NULL ? hash : "");
}

static void
drop_file (ChartaDocumentView *self)
{
  charta_document_file_drop (&self->df, FALSE);
  g_clear_pointer (&self->file_key, g_free);
}

static void
fetch_file (ChartaDocumentView *self,
            gboolean            again)
{
  JsonObject *document = document_object (self);
  JsonObject *attachment = document_attachment (document);
  g_autofree char *key = attachment_key (attachment);
  g_autofree char *what = NULL;
  const char *title;

  if (!again && key != NULL && g_strcmp0 (key, self->file_key) == 0 && self->df.file != NULL
      && !self->df.failed)
    return;
  g_free (self->file_key);
  self->file_key = g_steal_pointer (&key);
  if (attachment == NULL || (charta_json_get_string (attachment, "url") == NULL
                             && charta_json_get_string (attachment, "data") == NULL))
    {
      charta_document_file_drop (&self->df, FALSE);
      gtk_stack_set_visible_child_name (self->df.stack, "none");
      return;
    }
  title = charta_json_get_string (attachment, "title");
  what = g_strdup_printf ("DocumentReference/%s", self->id);
  charta_document_file_fetch (&self->df, self->client, attachment,
                              title != NULL ? title : self->title, what);
}

static void
file_retry_clicked (ChartaDocumentView *self)
{
  if (self->resource != NULL)
    fetch_file (self, TRUE);
}

/* ---- the document ------------------------------------------------------------------------- */

static void
document_read (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(ViewRead) read = user_data;
  ChartaDocumentView *self = read->self;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *document;
  JsonObject *context;
  g_autofree char *patient_id = NULL;
  g_autofree char *encounter_id = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *path = NULL;

  node = charta_client_get_resource_finish (CHARTA_CLIENT (source), result, NULL, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  gtk_spinner_stop (self->spinner);
  if (node != NULL
      && g_strcmp0 (charta_json_get_string (json_node_get_object (node), "resourceType"),
                    "DocumentReference") != 0)
    {
      g_clear_pointer (&node, json_node_unref);
      g_set_error (&error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED,
                   "The server answered with something other than a DocumentReference");
    }
  if (node == NULL)
    {
      g_autofree char *text = g_markup_escape_text (error->message, -1);

      g_clear_pointer (&self->resource, json_node_unref);
      adw_status_page_set_description (self->error_page, text);
      gtk_stack_set_visible_child_name (self->stack, "error");
      drop_file (self);
      update_actions (self);
      read_done (self);
      return;
    }

  g_clear_pointer (&self->resource, json_node_unref);
  self->resource = json_node_ref (node);
  document = json_node_get_object (node);
  context = charta_json_get_object (document, "context");
  g_debug ("DocumentReference/%s version %s", self->id, version_of (document));
  g_free (self->title);
  self->title = charta_document_dup_title (document);
  g_clear_pointer (&self->patient_text, g_free);
  g_clear_pointer (&self->encounter_text, g_free);
  g_clear_pointer (&self->change_text, g_free);
  g_clear_pointer (&self->in_error_reason, g_free);
  clear_related (self);

  patient_id = reference_id (charta_json_get_object (document, "subject"), "Patient");
  if (charta_json_get_object (document, "subject") == NULL)
    set_placement (self, "Unfiled: in the indexing queue");
  else
    {
      g_autofree char *display = charta_fhir_text_reference (
        charta_json_get_object (document, "subject"));

      set_placement (self, display);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
  update_header (self);
  gtk_stack_set_visible_child_name (self->stack, "document");
  fetch_file (self, FALSE);

  if (patient_id != NULL)
    {
      escaped = g_uri_escape_string (patient_id, NULL, FALSE);
      path = g_strdup_printf ("Patient/%s", escaped);
      self->n_pending++;
      charta_client_get_async (self->client, path, self->cancellable, patient_read,
                               view_read_new (self));
      g_clear_pointer (&escaped, g_free);
      g_clear_pointer (&path, g_free);
    }
  encounter_id = reference_id (charta_json_get_first (context, "encounter"), "Encounter");
  if (encounter_id != NULL)
    {
      escaped = g_uri_escape_string (encounter_id, NULL, FALSE);
      path = g_strdup_printf ("Encounter/%s", escaped);
      self->n_pending++;
      charta_client_get_async (self->client, path, self->cancellable, encounter_read,
                               view_read_new (self));
      g_clear_pointer (&escaped, g_free);
      g_clear_pointer (&path, g_free);
    }
  escaped = g_uri_escape_string (self->id, NULL, FALSE);
  path = g_strdup_printf ("Provenance?target=DocumentReference/%s&_count=100", escaped);
  self->n_pending++;
  charta_client_get_async (self->client, path, self->cancellable, provenance_read,
                           view_read_new (self));
  g_free (path);
  path = g_strdup_printf ("DocumentReference?relatesto=DocumentReference/%s&_sort=date"
                          "&_count=%u", escaped, RELATED_COUNT);
  self->n_pending++;
  charta_client_get_async (self->client, path, self->cancellable, addenda_read,
                           view_read_new (self));
  read_originals (self, document);
  read_done (self);
}

static void
cancel_reads (ChartaDocumentView *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->n_pending = 0;
}

/* Reads self->reference; @quietly (after a change) keeps what is on screen meanwhile. */
static void
load_document (ChartaDocumentView *self,
               gboolean            quietly)
{
  g_autofree char *escaped = NULL;
  g_autofree char *path = NULL;

  cancel_reads (self);
  if (self->reference == NULL || self->client == NULL)
    {
      g_clear_pointer (&self->resource, json_node_unref);
      drop_file (self);
      gtk_stack_set_visible_child_name (self->stack, "empty");
      update_actions (self);
      return;
    }
  self->cancellable = g_cancellable_new ();
  self->n_pending = 1;
  if (!quietly)
    {
      gtk_spinner_start (self->spinner);
      gtk_stack_set_visible_child_name (self->stack, "loading");
    }
  escaped = g_uri_escape_string (self->id, NULL, FALSE);
  path = g_strdup_printf ("DocumentReference/%s", escaped);
  charta_client_get_resource_async (self->client, path, self->cancellable, document_read,
                                    view_read_new (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
}

static void
retry_clicked (ChartaDocumentView *self)
{
  load_document (self, FALSE);
}

/* ---- changes ------------------------------------------------------------------------------ */

/* Ends a change: @stored (the version saved, or NULL) and @message for the toast. */
static void
change_saved (ChartaDocumentView *self,
              const char         *message)
{
  set_busy (self, FALSE);
  show_banner (self, NULL);
  g_signal_emit (self, signals[CHANGED], 0, message);
  load_document (self, TRUE);
}

static void
change_failed (ChartaDocumentView *self,
               const char         *what,
               GError             *error)
{
  g_autofree char *text = NULL;

  set_busy (self, FALSE);
  g_debug ("%s of DocumentReference/%s failed (%s %d)", what, self->id,
           g_quark_to_string (error->domain), error->code);
  if (g_error_matches (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_CONFLICT))
    {
      text = g_strdup_printf ("%s: someone else changed this document after it was read, so "
                              "nothing was saved. It has been read again: check it, then try "
                              "again.", what);
      load_document (self, TRUE);
    }
  else
    text = g_strdup_printf ("%s: nothing was saved. %s", what, error->message);
  show_banner (self, text);
}

typedef struct
{
  ChartaDocumentView *self;
  GCancellable *cancellable;
  char *title;          /* the document's, for messages */
  char *reason;
  GFile *file;          /* an addendum's file */
  char *content_type;   /* and its type */
} Change;

static Change *
change_new (ChartaDocumentView *self,
            const char         *reason)
{
  Change *change = g_new0 (Change, 1);

  if (self->change_cancellable != NULL)
    g_cancellable_cancel (self->change_cancellable);
  g_clear_object (&self->change_cancellable);
  self->change_cancellable = g_cancellable_new ();
  change->self = g_object_ref (self);
  change->cancellable = g_object_ref (self->change_cancellable);
  change->title = g_strdup (self->title);
  change->reason = g_strdup (reason);
  set_busy (self, TRUE);
  show_banner (self, NULL);
  return change;
}

static void
change_free (Change *change)
{
  g_object_unref (change->self);
  g_object_unref (change->cancellable);
  g_free (change->title);
  g_free (change->reason);
  g_clear_object (&change->file);
  g_free (change->content_type);
  g_free (change);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Change, change_free)

/* An AdwMessageDialog asking for a reason: its "reason_entry" must not be empty for
 * @response to be enabled. */
static void
reason_changed (GtkEditable      *entry,
                AdwMessageDialog *dialog)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (entry)));
  const char *response = g_object_get_data (G_OBJECT (dialog), "charta-response");

  adw_message_dialog_set_response_enabled (dialog, response, *text != '\0');
}

static AdwMessageDialog *
reason_dialog (ChartaDocumentView *self,
               const char         *heading,
               const char         *body,
               const char         *placeholder,
               const char         *response,
               const char         *response_label,
               AdwResponseAppearance appearance)
{
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (parent_window (self),
                                                                         heading, body));
  GtkWidget *entry = gtk_entry_new ();

  gtk_widget_set_name (entry, "reason_entry");
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), placeholder);
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Reason (required)", -1);
  adw_message_dialog_set_extra_child (dialog, entry);
  adw_message_dialog_add_responses (dialog, "cancel", "_Cancel", response, response_label,
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, response, appearance);
  adw_message_dialog_set_response_enabled (dialog, response, FALSE);
  adw_message_dialog_set_default_response (dialog, response);
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "charta-response", g_strdup (response), g_free);
  g_signal_connect (entry, "changed", G_CALLBACK (reason_changed), dialog);
  return dialog;
}

/* The reason typed in a reason_dialog(), stripped; NULL when empty. */
static char *
dialog_reason (AdwMessageDialog *dialog)
{
  GtkWidget *entry = adw_message_dialog_get_extra_child (dialog);
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (entry))));

  return *text != '\0' ? g_steal_pointer (&text) : NULL;
}

/* -- entered in error -- */

static void
in_error_saved (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(Change) change = user_data;
  ChartaDocumentView *self = change->self;
  g_autoptr(JsonNode) stored = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  stored = charta_client_put_finish (CHARTA_CLIENT (source), result, NULL, &error);
  if (g_cancellable_is_cancelled (change->cancellable))
    return;
  if (stored == NULL)
    {
      change_failed (self, "Marking it as entered in error", error);
      return;
    }
  g_debug ("DocumentReference/%s entered in error as version %s", self->id,
           version_of (json_node_get_object (stored)));
  message = g_strdup_printf ("Marked “%s” as entered in error (version %s)", change->title,
                             version_of (json_node_get_object (stored)));
  change_saved (self, message);
}

static void
in_error_response (AdwMessageDialog   *dialog,
                   const char         *response,
                   ChartaDocumentView *self)
{
  g_autofree char *reason = dialog_reason (dialog);
  g_autofree char *agent_reference = NULL;
  g_autofree char *agent_display = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *path = NULL;
  g_autoptr(JsonNode) edited = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  JsonObject *text;

  if (g_strcmp0 (response, "mark") != 0 || reason == NULL || self->resource == NULL
      || self->busy)
    return;
  edited = charta_json_copy (self->resource);
  json_object_set_string_member (json_node_get_object (edited), "status", "entered-in-error");
  text = charta_json_get_object (json_node_get_object (edited), "text");
  if (g_strcmp0 (charta_json_get_string (text, "status"), "generated") == 0)
    json_object_remove_member (json_node_get_object (edited), "text");
  dup_agent (GTK_WIDGET (self), &agent_reference, &agent_display);
  provenance = charta_client_new_provenance (agent_reference, agent_display, "NULLIFY", reason);
  escaped = g_uri_escape_string (self->id, NULL, FALSE);
  path = g_strdup_printf ("DocumentReference/%s", escaped);
  g_debug ("DocumentReference/%s: entered in error over version %s", self->id,
           version_of (document_object (self)));
  charta_client_put_async (self->client, path, edited, NULL,
                           version_of (document_object (self)), provenance,
                           self->change_cancellable, in_error_saved,
                           change_new (self, reason));
}

static void
in_error_activated (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  ChartaDocumentView *self = CHARTA_DOCUMENT_VIEW (widget);
  g_autofree char *body = NULL;
  AdwMessageDialog *dialog;

  if (self->resource == NULL || self->busy)
    return;
  body = g_strdup_printf ("“%s” stays in the record, struck through, with your reason; its "
                          "file is kept. The change is kept in its history under your name.",
                          self->title);
  dialog = reason_dialog (self, "Mark as Entered in Error?", body,
                          "Why, such as “Scanned for the wrong patient”", "mark",
                          "_Mark Entered in Error", ADW_RESPONSE_DESTRUCTIVE);
  g_signal_connect_object (dialog, "response", G_CALLBACK (in_error_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* -- re-index -- */

static void
reindex_saved (ChartaDocumentView *self,
               JsonNode           *stored,
               ChartaIndexDialog  *dialog)
{
  JsonObject *object = json_node_get_object (stored);
  g_autofree char *placement = charta_fhir_text_reference (charta_json_get_object (object,
                                                                                   "subject"));
  g_autofree char *title = charta_document_dup_title (object);
  g_autofree char *message = NULL;

  message = g_strdup_printf ("Re-indexed “%s” to %s (version %s)", title,
                             placement != NULL ? placement : "its patient",
                             version_of (object));
  change_saved (self, message);
}

static void
reindex_activated (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  ChartaDocumentView *self = CHARTA_DOCUMENT_VIEW (widget);
  g_autofree char *agent_reference = NULL;
  g_autofree char *agent_display = NULL;
  ChartaIndexDialog *dialog;

  if (self->resource == NULL || self->busy || self->client == NULL)
    return;
  dup_agent (widget, &agent_reference, &agent_display);
  dialog = charta_index_dialog_new (parent_window (self), self->client, self->resource,
                                    agent_reference, agent_display);
  g_signal_connect_object (dialog, "saved", G_CALLBACK (reindex_saved), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* -- addendum -- */

static void
addendum_posted (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(Change) change = user_data;
  ChartaDocumentView *self = change->self;
  g_autoptr(JsonNode) stored = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  stored = charta_client_post_finish (CHARTA_CLIENT (source), result, NULL, &error);
  if (g_cancellable_is_cancelled (change->cancellable))
    return;
  if (stored == NULL)
    {
      change_failed (self, "Adding the addendum", error);
      return;
    }
  g_debug ("DocumentReference/%s appends DocumentReference/%s",
           charta_json_get_string (json_node_get_object (stored), "id"), self->id);
  message = g_strdup_printf ("Added an addendum to “%s”", change->title);
  change_saved (self, message);
}

/* The addendum's DocumentReference: the original's patient, encounter and type, the file
 * just stored as Binary/@binary_id. */
static JsonNode *
build_addendum (ChartaDocumentView *self,
                Change             *change,
                const char         *binary_id)
{
  JsonObject *original = document_object (self);
  JsonObject *context = charta_json_get_object (original, "context");
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *instant = g_date_time_format_iso8601 (now);
  g_autofree char *target = g_strdup_printf ("DocumentReference/%s", self->id);
  g_autofree char *url = g_strdup_printf ("Binary/%s", binary_id);
  g_autofree char *name = g_file_get_basename (change->file);
  g_autofree char *description = g_strdup_printf ("Addendum to %s", change->title);
  const char *members[] = { "subject", "type", "category", "custodian" };
  JsonNode *node;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "resourceType");
  json_builder_add_string_value (builder, "DocumentReference");
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, "current");
  json_builder_set_member_name (builder, "docStatus");
  json_builder_add_string_value (builder, "final");
  for (size_t i = 0; i < G_N_ELEMENTS (members); i++)
    {
      JsonNode *member = json_object_get_member (original, members[i]);

      if (member == NULL)
        continue;
      json_builder_set_member_name (builder, members[i]);
      json_builder_add_value (builder, charta_json_copy (member));
    }
  json_builder_set_member_name (builder, "date");
  json_builder_add_string_value (builder, instant);
  json_builder_set_member_name (builder, "description");
  json_builder_add_string_value (builder, description);
  json_builder_set_member_name (builder, "relatesTo");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, "appends");
  json_builder_set_member_name (builder, "target");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "reference");
  json_builder_add_string_value (builder, target);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "content");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "attachment");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "contentType");
  json_builder_add_string_value (builder, change->content_type);
  json_builder_set_member_name (builder, "url");
  json_builder_add_string_value (builder, url);
  json_builder_set_member_name (builder, "title");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "creation");
  json_builder_add_string_value (builder, instant);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  if (json_object_get_member (context, "encounter") != NULL)
    {
      json_builder_set_member_name (builder, "context");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "encounter");
      json_builder_add_value (builder,
                              charta_json_copy (json_object_get_member (context, "encounter")));
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  return node;
}

static void
addendum_uploaded (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(Change) change = user_data;
  ChartaDocumentView *self = change->self;
  g_autoptr(JsonNode) binary = NULL;
  g_autoptr(JsonNode) addendum = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *agent_reference = NULL;
  g_autofree char *agent_display = NULL;
  GCancellable *cancellable;
  const char *binary_id;

  binary = charta_client_upload_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (change->cancellable))
    return;
  if (binary == NULL)
    {
      change_failed (self, "Uploading the addendum’s file", error);
      return;
    }
  binary_id = charta_json_get_string (json_node_get_object (binary), "id");
  if (binary_id == NULL || self->resource == NULL)
    {
      g_autoptr(GError) malformed = g_error_new (CHARTA_CLIENT_ERROR,
                                                 CHARTA_CLIENT_ERROR_MALFORMED,
                                                 "The server did not say which Binary it made");

      change_failed (self, "Uploading the addendum’s file", malformed);
      return;
    }
  g_debug ("the addendum of DocumentReference/%s is Binary/%s", self->id, binary_id);
  addendum = build_addendum (self, change, binary_id);
  dup_agent (GTK_WIDGET (self), &agent_reference, &agent_display);
  provenance = charta_client_new_provenance (agent_reference, agent_display, "APPEND",
                                             change->reason);
  cancellable = change->cancellable;
  charta_client_post_async (self->client, "DocumentReference", addendum, provenance,
                            cancellable, addendum_posted, g_steal_pointer (&change));
}

static void
addendum_response (AdwMessageDialog   *dialog,
                   const char         *response,
                   ChartaDocumentView *self)
{
  g_autofree char *reason = dialog_reason (dialog);
  GFile *file = g_object_get_data (G_OBJECT (dialog), "charta-file");
  g_autofree char *agent_reference = NULL;
  g_autofree char *agent_display = NULL;
  g_autofree char *name = NULL;
  g_autofree char *guessed = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  Change *change;

  if (g_strcmp0 (response, "add") != 0 || reason == NULL || file == NULL
      || self->resource == NULL || self->busy)
    return;
  change = change_new (self, reason);
  change->file = g_object_ref (file);
  /* From the name only: the GTK thread reads nothing of the file. */
  name = g_file_get_basename (file);
  guessed = g_content_type_guess (name, NULL, 0, NULL);
  change->content_type = g_content_type_get_mime_type (guessed);
  if (change->content_type == NULL)
    change->content_type = g_strdup ("application/octet-stream");
  dup_agent (GTK_WIDGET (self), &agent_reference, &agent_display);
  provenance = charta_client_new_provenance (agent_reference, agent_display, "CREATE", reason);
  g_debug ("uploading an addendum to DocumentReference/%s", self->id);
  charta_client_upload_async (self->client, "Binary", file, change->content_type, provenance,
                              change->cancellable, addendum_uploaded, change);
}

void
charta_document_view_add_addendum_file (ChartaDocumentView *self,
                                        GFile              *file)
{
  g_autofree char *name = NULL;
  g_autofree char *body = NULL;
  const char *placement;
  AdwMessageDialog *dialog;

  g_return_if_fail (CHARTA_IS_DOCUMENT_VIEW (self));
  g_return_if_fail (G_IS_FILE (file));

  if (self->resource == NULL || self->busy)
    return;
  name = g_file_get_basename (file);
  placement = self->placement != NULL ? self->placement : "the same patient";
  body = g_strdup_printf ("“%s” is added as a new document of %s that appends “%s”, with the "
                          "same encounter and type. Its file is uploaded as it is.", name,
                          placement, self->title);
  dialog = reason_dialog (self, "Add an Addendum?", body,
                          "Why, such as “Signed page received late”", "add", "_Add Addendum",
                          ADW_RESPONSE_SUGGESTED);
  g_object_set_data_full (G_OBJECT (dialog), "charta-file", g_object_ref (file),
                          g_object_unref);
  g_signal_connect_object (dialog, "response", G_CALLBACK (addendum_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
chooser_response (GtkNativeDialog    *chooser,
                  int                 response,
                  ChartaDocumentView *self)
{
  g_autoptr(GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  g_clear_object (&self->chooser);
  if (file != NULL)
    charta_document_view_add_addendum_file (self, file);
}

static void
add_filter (GtkFileChooser *chooser,
            const char     *name,
            const char     *const *types)
{
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, name);
  for (unsigned i = 0; types[i] != NULL; i++)
    gtk_file_filter_add_mime_type (filter, types[i]);
  gtk_file_chooser_add_filter (chooser, filter);
}

static void
addendum_activated (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  ChartaDocumentView *self = CHARTA_DOCUMENT_VIEW (widget);
  static const char *const scans[] = {
    "application/pdf", "image/png", "image/jpeg", "image/tiff", NULL,
  };
  static const char *const any[] = { "application/octet-stream", NULL };

  if (self->resource == NULL || self->busy || self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new ("Choose the Addendum’s File",
                                               parent_window (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN, "_Choose",
                                               "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  add_filter (GTK_FILE_CHOOSER (self->chooser), "Scans (PDF, PNG, JPEG, TIFF)", scans);
  add_filter (GTK_FILE_CHOOSER (self->chooser), "All files", any);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (chooser_response), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* -- history -- */

static void
history_activated (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  ChartaDocumentView *self = CHARTA_DOCUMENT_VIEW (widget);

  if (self->resource != NULL)
    g_signal_emit (self, signals[SHOW_HISTORY], 0);
}

/* ---- the object --------------------------------------------------------------------------- */

static void
charta_document_view_dispose (GObject *object)
{
  ChartaDocumentView *self = CHARTA_DOCUMENT_VIEW (object);

  cancel_reads (self);
  if (self->change_cancellable != NULL)
    g_cancellable_cancel (self->change_cancellable);
  g_clear_object (&self->change_cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  /* At once, not in the background: the app may be ending.  (The template's pointers
   * outlive their widgets: once is enough.) */
  charta_document_file_drop (&self->df, TRUE);
  self->df.viewer = NULL;
  self->viewer = NULL;
  g_clear_object (&self->client);

  G_OBJECT_CLASS (charta_document_view_parent_class)->dispose (object);
}

static void
charta_document_view_finalize (GObject *object)
{
  ChartaDocumentView *self = CHARTA_DOCUMENT_VIEW (object);

  g_free (self->reference);
  g_free (self->id);
  g_clear_pointer (&self->resource, json_node_unref);
  g_free (self->title);
  g_free (self->placement);
  g_free (self->patient_text);
  g_free (self->encounter_text);
  g_free (self->change_text);
  g_free (self->in_error_reason);
  g_free (self->file_key);

  G_OBJECT_CLASS (charta_document_view_parent_class)->finalize (object);
}

static void
charta_document_view_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  ChartaDocumentView *self = CHARTA_DOCUMENT_VIEW (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_LOADED:
      g_value_set_boolean (value, charta_document_view_is_loaded (self));
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_document_view_class_init (ChartaDocumentViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = charta_document_view_dispose;
  object_class->finalize = charta_document_view_finalize;
  object_class->get_property = charta_document_view_get_property;

  /* What the document is, and (notified with it) where it is filed. */
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADED] =
    g_param_spec_boolean ("loaded", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* History was asked for. */
  signals[SHOW_HISTORY] =
    g_signal_new ("show-history", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
  /* A change was saved: a sentence that says what (for a toast). */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

  g_type_ensure (CHARTA_TYPE_DOCUMENT_VIEWER);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/charta/Desktop/charta-document-view.ui");
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, stack);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, spinner);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, error_page);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, heading_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, busy_spinner);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, placement_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, details_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, in_error_box);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, in_error_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, change_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, relations_box);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, banner_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, file_stack);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, file_spinner);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, file_error_page);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentView, viewer);
  gtk_widget_class_bind_template_callback (widget_class, retry_clicked);
  gtk_widget_class_bind_template_callback (widget_class, file_retry_clicked);
  gtk_widget_class_bind_template_callback (widget_class, banner_close_clicked);

  gtk_widget_class_install_action (widget_class, "document.history", NULL, history_activated);
  gtk_widget_class_install_action (widget_class, "document.reindex", NULL, reindex_activated);
  gtk_widget_class_install_action (widget_class, "document.entered-in-error", NULL,
                                   in_error_activated);
  gtk_widget_class_install_action (widget_class, "document.add-addendum", NULL,
                                   addendum_activated);
}

static void
charta_document_view_init (ChartaDocumentView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  charta_document_file_init (&self->df, G_OBJECT (self), self->viewer, self->file_stack,
                             self->file_spinner, self->file_error_page, "document",
                             "The document’s record is still here.");
  update_actions (self);
}

GtkWidget *
charta_document_view_new (void)
{
  return g_object_new (CHARTA_TYPE_DOCUMENT_VIEW, NULL);
}

void
charta_document_view_set_client (ChartaDocumentView *self,
                                 ChartaClient       *client)
{
  g_return_if_fail (CHARTA_IS_DOCUMENT_VIEW (self));
  g_return_if_fail (client == NULL || CHARTA_IS_CLIENT (client));

  if (!g_set_object (&self->client, client))
    return;
  charta_document_view_show (self, NULL);
}

void
charta_document_view_show (ChartaDocumentView *self,
                           const char         *reference)
{
  const char *slash;

  g_return_if_fail (CHARTA_IS_DOCUMENT_VIEW (self));

  g_clear_pointer (&self->reference, g_free);
  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->resource, json_node_unref);
  g_clear_pointer (&self->title, g_free);
  g_clear_pointer (&self->placement, g_free);
  show_banner (self, NULL);
  drop_file (self);
  slash = reference != NULL ? strchr (reference, '/') : NULL;
  if (slash != NULL && slash[1] != '\0')
    {
      self->reference = g_strdup (reference);
      self->id = g_strdup (slash + 1);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
  load_document (self, FALSE);
}

void
charta_document_view_reload (ChartaDocumentView *self)
{
  g_return_if_fail (CHARTA_IS_DOCUMENT_VIEW (self));

  load_document (self, self->resource != NULL);
}

const char *
charta_document_view_get_reference (ChartaDocumentView *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEW (self), NULL);

  return self->reference;
}

JsonNode *
charta_document_view_get_resource (ChartaDocumentView *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEW (self), NULL);

  return self->resource;
}

const char *
charta_document_view_get_title (ChartaDocumentView *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEW (self), NULL);

  return self->title;
}

const char *
charta_document_view_get_placement (ChartaDocumentView *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEW (self), NULL);

  return self->placement;
}

gboolean
charta_document_view_is_loaded (ChartaDocumentView *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEW (self), FALSE);

  return self->reference != NULL && self->cancellable != NULL && self->n_pending == 0;
}

gboolean
charta_document_view_is_busy (ChartaDocumentView *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEW (self), FALSE);

  return self->busy;
}

ChartaDocumentViewer *
charta_document_view_get_viewer (ChartaDocumentView *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEW (self), NULL);

  return self->viewer;
}
