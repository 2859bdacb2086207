/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-index-queue.c: the scans waiting to be filed (see charta-index-queue.h).
 *
 * Each row of the list carries its DocumentReference as it was read (the row's "charta-document"
 * data) and its reference ("charta-reference").  Choosing a row fills the form from that
 * version and fetches the scan's file; a newer choice cancels the fetch of the last one.  The
 * list's reads share one GCancellable, the count another, the file a third and a filing a
 * fourth; disposing the queue cancels them all.  A callback whose read was cancelled touches
 * nothing.  Nothing is logged but ids and version numbers.
 */
#define G_LOG_DOMAIN "charta-index-queue"

#include <string.h>

#include "charta-application.h"
#include "charta-document-view.h"
#include "charta-fhir-text.h"
#include "charta-index-dialog.h"
#include "charta-index-queue.h"

/* The most scans listed at once, the oldest first. */
#define QUEUE_COUNT 100
#define QUEUE_SEARCH "DocumentReference?subject:missing=true&status=current"

struct _ChartaIndexQueue
{
  AdwBin parent_instance;

  ChartaClient *client;
  int n_documents;              /* -1: not known */
  gboolean loaded;
  char *selected;               /* "DocumentReference/7" */
  GCancellable *cancellable;    /* the list's read */
  GCancellable *count_cancellable;
  ChartaDocumentFile df;        /* the chosen scan's file in the viewer (file_stack… below) */
  GCancellable *file_save_cancellable;  /* a filing */
  gboolean busy;

  GtkStack *stack;
  GtkSpinner *spinner;
  AdwStatusPage *error_page;
  GtkLabel *queue_status;
  GtkListBox *queue_list;
  GtkStack *file_stack;
  GtkSpinner *file_spinner;
  AdwStatusPage *file_error_page;
  ChartaDocumentViewer *viewer;
  GtkWidget *form_box;
  GtkLabel *scan_title;
  GtkLabel *scan_details;
  GtkRevealer *banner_revealer;
  GtkLabel *banner_label;
  ChartaIndexForm *form;
  GtkLabel *missing_label;
  GtkSpinner *busy_spinner;
};

enum
{
  PROP_0,
  PROP_N_DOCUMENTS,
  PROP_LOADED,
  PROP_SELECTED,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  FILED,
  OPEN_DOCUMENT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ChartaIndexQueue, charta_index_queue, ADW_TYPE_BIN)

static void show_selected (ChartaIndexQueue *self);

/* ---- state -------------------------------------------------------------------------------- */

static void
set_n_documents (ChartaIndexQueue *self,
                 int               n)
{
  if (self->n_documents == n)
    return;
  self->n_documents = n;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_DOCUMENTS]);
}

static GtkListBoxRow *
selected_row (ChartaIndexQueue *self)
{
  return gtk_list_box_get_selected_row (self->queue_list);
}

static JsonNode *
selected_document (ChartaIndexQueue *self)
{
  GtkListBoxRow *row = selected_row (self);

  return row != NULL ? g_object_get_data (G_OBJECT (row), "charta-document") : NULL;
}

static void
show_banner (ChartaIndexQueue *self,
             const char       *text)
{
  gtk_label_set_text (self->banner_label, text != NULL ? text : "");
  gtk_revealer_set_reveal_child (self->banner_revealer, text != NULL);
}

static void
update_actions (ChartaIndexQueue *self)
{
  const char *missing = charta_index_form_get_missing (self->form);
  gboolean can_file = selected_document (self) != NULL && missing == NULL && !self->busy;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "queue.file", can_file);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "queue.open-document",
                                 self->selected != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "queue.refresh", self->client != NULL);
  if (selected_document (self) == NULL)
    missing = NULL;
  gtk_label_set_text (self->missing_label, missing != NULL ? missing : "");
}

static void
form_changed (ChartaIndexQueue *self)
{
  update_actions (self);
}

static void
set_busy (ChartaIndexQueue *self,
          gboolean          busy)
{
  if (self->busy == busy)
    return;
  self->busy = busy;
  gtk_widget_set_visible (GTK_WIDGET (self->busy_spinner), busy);
  gtk_spinner_set_spinning (self->busy_spinner, busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->form), !busy);
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
update_status (ChartaIndexQueue *self,
               gboolean          more)
{
  unsigned n = 0;
  g_autofree char *text = NULL;

  while (gtk_list_box_get_row_at_index (self->queue_list, (int) n) != NULL)
    n++;
  if (more && self->n_documents > (int) n)
    text = g_strdup_printf ("The oldest %u of %d scans waiting", n, self->n_documents);
  else
    text = g_strdup_printf (n == 1 ? "%u scan waiting, oldest first"
                                   : "%u scans waiting, oldest first", n);
  gtk_label_set_text (self->queue_status, text);
}

/* ---- rows --------------------------------------------------------------------------------- */

/* What the list calls a scan: its file's name, else its description, else its id. */
static char *
scan_name (JsonObject *document)
{
  JsonObject *attachment = charta_json_get_object (charta_json_get_first (document, "content"),
                                                   "attachment");
  const char *title = charta_json_get_string (attachment, "title");

  if (title == NULL)
    title = charta_json_get_string (document, "description");
  if (title != NULL)
    return g_strdup (title);
  return g_strdup_printf ("Scan %s", charta_json_get_string (document, "id"));
}

/* "Received 2025-06-02 14:03 · PDF, 1.2 MB". */
static char *
scan_details (JsonObject *document)
{
  JsonObject *attachment = charta_json_get_object (charta_json_get_first (document, "content"),
                                                   "attachment");
  g_autofree char *received = charta_fhir_text_datetime (charta_json_get_string (document,
                                                                                 "date"));
  g_autoptr(JsonNode) copy = NULL;
  g_autofree char *file = NULL;
  GString *text = g_string_new (NULL);

  if (received != NULL)
    g_string_append_printf (text, "Received %s", received);
  /* The kind and size, without the name the row shows already. */
  if (attachment != NULL)
    {
      JsonObject *bare = json_object_new ();

      if (json_object_get_member (attachment, "contentType") != NULL)
        json_object_set_member (bare, "contentType",
                                json_node_copy (json_object_get_member (attachment,
                                                                        "contentType")));
      if (json_object_get_member (attachment, "size") != NULL)
        json_object_set_member (bare, "size",
                                json_node_copy (json_object_get_member (attachment, "size")));
      file = charta_document_describe_file (bare);
      json_object_unref (bare);
    }
  if (file != NULL)
    g_string_append_printf (text, "%s%s", text->len > 0 ? " · " : "", file);
  if (text->len == 0)
    g_string_append (text, "No date or file recorded");
  return g_string_free (text, FALSE);
}

static GtkWidget *
scan_row (JsonNode *node)
{
  JsonObject *document = json_node_get_object (node);
  g_autofree char *name = scan_name (document);
  g_autofree char *details = scan_details (document);
  g_autofree char *accessible = g_strdup_printf ("%s, %s", name, details);
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *title = gtk_label_new (name);
  GtkWidget *subtitle = gtk_label_new (details);

  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_xalign (GTK_LABEL (subtitle), 0);
  gtk_label_set_wrap (GTK_LABEL (subtitle), TRUE);
  gtk_widget_add_css_class (subtitle, "caption");
  gtk_widget_add_css_class (subtitle, "dim-label");
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), subtitle);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_widget_set_tooltip_text (row, accessible);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  accessible, -1);
  g_object_set_data_full (G_OBJECT (row), "charta-document", json_node_ref (node),
                          (GDestroyNotify) json_node_unref);
  g_object_set_data_full (G_OBJECT (row), "charta-reference",
                          g_strdup_printf ("DocumentReference/%s",
                                           charta_json_get_string (document, "id")), g_free);
  return row;
}

static void
clear_list (ChartaIndexQueue *self)
{
  GtkListBoxRow *row;

  while ((row = gtk_list_box_get_row_at_index (self->queue_list, 0)) != NULL)
    gtk_list_box_remove (self->queue_list, GTK_WIDGET (row));
}

static GtkListBoxRow *
find_row (ChartaIndexQueue *self,
          const char       *reference,
          int              *index)
{
  GtkListBoxRow *row;

  for (int i = 0; (row = gtk_list_box_get_row_at_index (self->queue_list, i)) != NULL; i++)
    if (g_strcmp0 (g_object_get_data (G_OBJECT (row), "charta-reference"), reference) == 0)
      {
        if (index != NULL)
          *index = i;
        return row;
      }
  return NULL;
}

/* ---- the scan's file ---------------------------------------------------------------------- */

static void
drop_file (ChartaIndexQueue *self)
{
  charta_document_file_drop (&self->df, FALSE);
}

static void
fetch_file (ChartaIndexQueue *self)
{
  JsonNode *node = selected_document (self);
  JsonObject *document = node != NULL ? json_node_get_object (node) : NULL;
  JsonObject *attachment = charta_json_get_object (charta_json_get_first (document, "content"),
                                                   "attachment");
  g_autofree char *title = NULL;

  drop_file (self);
  if (attachment == NULL)
    {
      adw_status_page_set_description (self->file_error_page,
                                       "This scan has no file attached: only its record is "
                                       "kept.");
      gtk_stack_set_visible_child_name (self->file_stack, "failed");
      return;
    }
  title = scan_name (document);
  charta_document_file_fetch (&self->df, self->client, attachment, title, self->selected);
}

static void
file_retry_clicked (ChartaIndexQueue *self)
{
  if (selected_document (self) != NULL)
    fetch_file (self);
}

/* ---- choosing ----------------------------------------------------------------------------- */

static void
show_selected (ChartaIndexQueue *self)
{
  GtkListBoxRow *row = selected_row (self);
  JsonNode *node = selected_document (self);
  const char *reference = row != NULL ? g_object_get_data (G_OBJECT (row), "charta-reference")
                                      : NULL;
  g_autofree char *name = NULL;
  g_autofree char *details = NULL;

  if (g_strcmp0 (reference, self->selected) == 0 && node != NULL)
    return;
  g_free (self->selected);
  self->selected = g_strdup (reference);
  show_banner (self, NULL);
  if (node == NULL)
    {
      drop_file (self);
      charta_index_form_fill (self->form, NULL);
      gtk_label_set_text (self->scan_title, "");
      gtk_label_set_text (self->scan_details, "");
      update_actions (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
      return;
    }
  g_debug ("chose %s", reference);
  name = scan_name (json_node_get_object (node));
  details = scan_details (json_node_get_object (node));
  gtk_label_set_text (self->scan_title, name);
  gtk_label_set_text (self->scan_details, details);
  charta_index_form_fill (self->form, json_node_get_object (node));
  fetch_file (self);
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
}

static void
row_selected (ChartaIndexQueue *self,
              GtkListBoxRow    *row)
{
  show_selected (self);
}

gboolean
charta_index_queue_select (ChartaIndexQueue *self,
                           const char       *reference)
{
  GtkListBoxRow *row;

  g_return_val_if_fail (CHARTA_IS_INDEX_QUEUE (self), FALSE);

  row = reference != NULL ? find_row (self, reference, NULL) : NULL;
  if (row == NULL)
    return FALSE;
  gtk_list_box_select_row (self->queue_list, row);
  show_selected (self);
  return TRUE;
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct
{
  ChartaIndexQueue *self;
  GCancellable *cancellable;
} QueueRead;

static QueueRead *
queue_read_new (ChartaIndexQueue *self,
                GCancellable     *cancellable)
{
  QueueRead *read = g_new0 (QueueRead, 1);

  read->self = g_object_ref (self);
  read->cancellable = g_object_ref (cancellable);
  return read;
}

static void
queue_read_free (QueueRead *read)
{
  g_object_unref (read->self);
  g_object_unref (read->cancellable);
  g_free (read);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QueueRead, queue_read_free)

static gboolean
bundle_has_next (JsonObject *bundle)
{
  JsonArray *links = charta_json_get_array (bundle, "link");

  for (unsigned i = 0; links != NULL && i < json_array_get_length (links); i++)
    {
      JsonNode *node = json_array_get_element (links, i);

      if (JSON_NODE_HOLDS_OBJECT (node)
          && g_strcmp0 (charta_json_get_string (json_node_get_object (node), "relation"),
                        "next") == 0)
        return TRUE;
    }
  return FALSE;
}

/* Bundle.total, or -1. */
static int
bundle_total (JsonObject *bundle)
{
  JsonNode *total = json_object_get_member (bundle, "total");

  if (total == NULL || !JSON_NODE_HOLDS_VALUE (total)
      || json_node_get_value_type (total) != G_TYPE_INT64)
    return -1;
  return (int) CLAMP (json_node_get_int (total), 0, G_MAXINT);
}

static void
count_read (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(QueueRead) read = user_data;
  g_autoptr(JsonNode) bundle = NULL;
  g_autoptr(GError) error = NULL;

  bundle = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  if (bundle == NULL)
    {
      g_debug ("the queue could not be counted (%s %d)", g_quark_to_string (error->domain),
               error->code);
      return;
    }
  set_n_documents (read->self, bundle_total (json_node_get_object (bundle)));
}

void
charta_index_queue_refresh_count (ChartaIndexQueue *self)
{
  g_return_if_fail (CHARTA_IS_INDEX_QUEUE (self));

  if (self->count_cancellable != NULL)
    g_cancellable_cancel (self->count_cancellable);
  g_clear_object (&self->count_cancellable);
  if (self->client == NULL)
    return;
  self->count_cancellable = g_cancellable_new ();
  charta_client_get_async (self->client, QUEUE_SEARCH "&_summary=count",
                           self->count_cancellable, count_read,
                           queue_read_new (self, self->count_cancellable));
}

static void
set_loaded (ChartaIndexQueue *self,
            gboolean          loaded)
{
  if (self->loaded == loaded)
    return;
  self->loaded = loaded;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
}

static void
list_read (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(QueueRead) read = user_data;
  ChartaIndexQueue *self = read->self;
  g_autoptr(JsonNode) bundle = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  JsonArray *entries;
  GtkListBoxRow *row;
  int total;

  bundle = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  gtk_spinner_stop (self->spinner);
  if (bundle == NULL)
    {
      g_autofree char *escaped = g_markup_escape_text (error->message, -1);

      adw_status_page_set_description (self->error_page, escaped);
      gtk_stack_set_visible_child_name (self->stack, "error");
      set_loaded (self, TRUE);
      return;
    }
  object = json_node_get_object (bundle);
  /* The rows change under the selection: what is chosen is worked out after. */
  g_signal_handlers_block_by_func (self->queue_list, row_selected, self);
  clear_list (self);
  entries = charta_json_get_array (object, "entry");
  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonNode *resource = entry != NULL ? json_object_get_member (entry, "resource") : NULL;
      const char *mode = charta_json_get_string (charta_json_get_object (entry, "search"),
                                                 "mode");

      if (resource == NULL || !JSON_NODE_HOLDS_OBJECT (resource)
          || (mode != NULL && g_strcmp0 (mode, "match") != 0)
          || charta_json_get_string (json_node_get_object (resource), "id") == NULL)
        continue;
      gtk_list_box_append (self->queue_list, scan_row (resource));
    }
  g_signal_handlers_unblock_by_func (self->queue_list, row_selected, self);

  total = bundle_total (object);
  row = gtk_list_box_get_row_at_index (self->queue_list, 0);
  if (total < 0)
    {
      total = 0;
      while (gtk_list_box_get_row_at_index (self->queue_list, total) != NULL)
        total++;
    }
  set_n_documents (self, total);
  update_status (self, bundle_has_next (object));
  g_debug ("the queue holds %d scans", total);
  if (row == NULL)
    {
      g_clear_pointer (&self->selected, g_free);
      gtk_list_box_unselect_all (self->queue_list);
      show_selected (self);
      gtk_stack_set_visible_child_name (self->stack, "done");
      set_loaded (self, TRUE);
      return;
    }
  gtk_stack_set_visible_child_name (self->stack, "queue");
  /* The scan chosen before (read again: it may have changed), else the oldest. */
  if (self->selected != NULL && find_row (self, self->selected, NULL) != NULL)
    row = find_row (self, self->selected, NULL);
  g_clear_pointer (&self->selected, g_free);
  gtk_list_box_select_row (self->queue_list, row);
  show_selected (self);
  set_loaded (self, TRUE);
}

void
charta_index_queue_reload (ChartaIndexQueue *self)
{
  g_return_if_fail (CHARTA_IS_INDEX_QUEUE (self));

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->client == NULL)
    {
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }
  self->cancellable = g_cancellable_new ();
  set_loaded (self, FALSE);
  /* The list stays on screen while it is read again. */
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->stack), "queue") != 0)
    {
      gtk_spinner_start (self->spinner);
      gtk_stack_set_visible_child_name (self->stack, "loading");
    }
  charta_client_get_async (self->client,
                           QUEUE_SEARCH "&_sort=date&_count=" G_STRINGIFY (QUEUE_COUNT),
                           self->cancellable, list_read,
                           queue_read_new (self, self->cancellable));
}

/* ---- filing ------------------------------------------------------------------------------- */

typedef struct
{
  ChartaIndexQueue *self;
  GCancellable *cancellable;
  char *reference;
  char *name;           /* the scan's, for the message */
  char *patient_id;
  char *patient_name;
} Filing;

static void
filing_free (Filing *filing)
{
  g_object_unref (filing->self);
  g_object_unref (filing->cancellable);
  g_free (filing->reference);
  g_free (filing->name);
  g_free (filing->patient_id);
  g_free (filing->patient_name);
  g_free (filing);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Filing, filing_free)

/* The user, as the Provenance names them (see charta-application.h). */
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

static void
reread_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(Filing) filing = user_data;
  ChartaIndexQueue *self = filing->self;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  GtkListBoxRow *row;

  node = charta_client_get_resource_finish (CHARTA_CLIENT (source), result, NULL, &error);
  if (g_cancellable_is_cancelled (filing->cancellable))
    return;
  set_busy (self, FALSE);
  row = find_row (self, filing->reference, NULL);
  if (node == NULL || row == NULL)
    return;
  /* The form keeps what was chosen; the next filing asks for this version. */
  g_object_set_data_full (G_OBJECT (row), "charta-document", json_node_ref (node),
                          (GDestroyNotify) json_node_unref);
  if (charta_json_get_object (json_node_get_object (node), "subject") != NULL)
    show_banner (self, "Someone else filed this scan while you were indexing it, so nothing "
                       "was saved: read the queue again (F5) to see what is still waiting.");
  update_actions (self);
}

static void
filed (GObject      *source,
       GAsyncResult *result,
       gpointer      user_data)
{
  g_autoptr(Filing) filing = user_data;
  ChartaIndexQueue *self = filing->self;
  g_autoptr(JsonNode) stored = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  GtkListBoxRow *row;
  GtkListBoxRow *next;
  int index = 0;

  stored = charta_client_put_finish (CHARTA_CLIENT (source), result, NULL, &error);
  if (g_cancellable_is_cancelled (filing->cancellable))
    return;
  if (stored == NULL)
    {
      g_autofree char *text = NULL;

      g_debug ("filing %s failed (%s %d)", filing->reference, g_quark_to_string (error->domain),
               error->code);
      if (g_error_matches (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_CONFLICT))
        {
          g_autofree char *escaped = NULL;
          g_autofree char *path = NULL;
          const char *slash = strchr (filing->reference, '/');
          GCancellable *cancellable = filing->cancellable;

          show_banner (self, "Someone else changed this scan after it was read, so nothing was "
                             "saved. It has been read again: check the form, then file it "
                             "again.");
          g_assert (slash != NULL);
          escaped = g_uri_escape_string (slash + 1, NULL, FALSE);
          path = g_strdup_printf ("DocumentReference/%s", escaped);
          charta_client_get_resource_async (self->client, path, cancellable, reread_done,
                                            g_steal_pointer (&filing));
          return;
        }
      set_busy (self, FALSE);
      text = g_strdup_printf ("Nothing was saved: %s", error->message);
      show_banner (self, text);
      return;
    }

  set_busy (self, FALSE);
  g_debug ("filed %s as version %s", filing->reference,
           charta_json_get_string (charta_json_get_object (json_node_get_object (stored),
                                                           "meta"), "versionId"));
  message = g_strdup_printf ("Filed “%s” to %s (version %s)", filing->name,
                             filing->patient_name != NULL ? filing->patient_name
                                                          : filing->patient_id,
                             charta_json_get_string (
                               charta_json_get_object (json_node_get_object (stored), "meta"),
                               "versionId"));

  /* The row goes; the next one (or the one before, at the end) is chosen. */
  row = find_row (self, filing->reference, &index);
  if (row != NULL)
    {
      g_signal_handlers_block_by_func (self->queue_list, row_selected, self);
      gtk_list_box_remove (self->queue_list, GTK_WIDGET (row));
      g_signal_handlers_unblock_by_func (self->queue_list, row_selected, self);
    }
  next = gtk_list_box_get_row_at_index (self->queue_list, index);
  if (next == NULL && index > 0)
    next = gtk_list_box_get_row_at_index (self->queue_list, index - 1);
  if (self->n_documents > 0)
    set_n_documents (self, self->n_documents - 1);
  update_status (self, FALSE);
  g_clear_pointer (&self->selected, g_free);
  if (next != NULL)
    gtk_list_box_select_row (self->queue_list, next);
  else
    gtk_list_box_unselect_all (self->queue_list);
  show_selected (self);
  if (next == NULL)
    gtk_stack_set_visible_child_name (self->stack, "done");
  g_signal_emit (self, signals[FILED], 0, message, filing->patient_id);
  if (next != NULL)
    charta_index_form_focus (self->form);
}

void
charta_index_queue_file (ChartaIndexQueue *self)
{
  JsonNode *document;
  g_autoptr(JsonNode) edited = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  g_autofree char *note = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *agent_reference = NULL;
  g_autofree char *agent_display = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *path = NULL;
  const char *version_id;
  Filing *filing;

  g_return_if_fail (CHARTA_IS_INDEX_QUEUE (self));

  document = selected_document (self);
  if (document == NULL || self->busy || !charta_index_form_is_complete (self->form)
      || self->client == NULL)
    return;
  note = charta_index_form_dup_reason (self->form);
  reason = note != NULL ? g_strdup_printf ("%s: %s", CHARTA_INDEX_QUEUE_REASON, note)
                        : g_strdup (CHARTA_INDEX_QUEUE_REASON);
  edited = charta_index_form_apply (self->form, document);
  dup_agent (GTK_WIDGET (self), &agent_reference, &agent_display);
  provenance = charta_client_new_provenance (agent_reference, agent_display,
                                             CHARTA_INDEX_ACTIVITY, reason);
  version_id = charta_json_get_string (charta_json_get_object (json_node_get_object (document),
                                                               "meta"), "versionId");
  escaped = g_uri_escape_string (charta_json_get_string (json_node_get_object (document), "id"),
                                 NULL, FALSE);
  path = g_strdup_printf ("DocumentReference/%s", escaped);

  if (self->file_save_cancellable != NULL)
    g_cancellable_cancel (self->file_save_cancellable);
  g_clear_object (&self->file_save_cancellable);
  self->file_save_cancellable = g_cancellable_new ();
  filing = g_new0 (Filing, 1);
  filing->self = g_object_ref (self);
  filing->cancellable = g_object_ref (self->file_save_cancellable);
  filing->reference = g_strdup (self->selected);
  filing->name = scan_name (json_node_get_object (document));
  filing->patient_id = g_strdup (charta_index_form_get_patient_id (self->form));
  filing->patient_name = g_strdup (charta_index_form_get_patient_name (self->form));
  show_banner (self, NULL);
  set_busy (self, TRUE);
  g_debug ("filing %s (version %s) to Patient/%s", filing->reference, version_id,
           filing->patient_id);
  charta_client_put_async (self->client, path, edited, NULL, version_id, provenance,
                           self->file_save_cancellable, filed, filing);
}

static void
file_activated (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  charta_index_queue_file (CHARTA_INDEX_QUEUE (widget));
}

static void
refresh_activated (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  charta_index_queue_reload (CHARTA_INDEX_QUEUE (widget));
}

static void
open_document_activated (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  ChartaIndexQueue *self = CHARTA_INDEX_QUEUE (widget);

  if (self->selected != NULL)
    g_signal_emit (self, signals[OPEN_DOCUMENT], 0, self->selected);
}

/* ---- the object --------------------------------------------------------------------------- */

static void
charta_index_queue_dispose (GObject *object)
{
  ChartaIndexQueue *self = CHARTA_INDEX_QUEUE (object);
  GCancellable **cancellables[] = {
    &self->cancellable, &self->count_cancellable, &self->file_save_cancellable,
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cancellables); i++)
    {
      if (*cancellables[i] != NULL)
        g_cancellable_cancel (*cancellables[i]);
      g_clear_object (cancellables[i]);
    }
  /* At once, not in the background: the app may be ending.  (The template's pointers
   * outlive their widgets: once is enough.) */
  charta_document_file_drop (&self->df, TRUE);
  self->df.viewer = NULL;
  self->viewer = NULL;
  g_clear_object (&self->client);
  /* Nothing of the queue is touched while its widgets go. */
  if (self->queue_list != NULL)
    g_signal_handlers_disconnect_by_data (self->queue_list, self);
  if (self->form != NULL)
    g_signal_handlers_disconnect_by_data (self->form, self);

  G_OBJECT_CLASS (charta_index_queue_parent_class)->dispose (object);
}

static void
charta_index_queue_finalize (GObject *object)
{
  ChartaIndexQueue *self = CHARTA_INDEX_QUEUE (object);

  g_free (self->selected);

  G_OBJECT_CLASS (charta_index_queue_parent_class)->finalize (object);
}

static void
charta_index_queue_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  ChartaIndexQueue *self = CHARTA_INDEX_QUEUE (object);

  switch (prop_id)
    {
    case PROP_N_DOCUMENTS:
      g_value_set_int (value, self->n_documents);
      break;
    case PROP_LOADED:
      g_value_set_boolean (value, self->loaded);
      break;
    case PROP_SELECTED:
      g_value_set_string (value, self->selected);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_index_queue_class_init (ChartaIndexQueueClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = charta_index_queue_dispose;
  object_class->finalize = charta_index_queue_finalize;
  object_class->get_property = charta_index_queue_get_property;

  properties[PROP_N_DOCUMENTS] =
    g_param_spec_int ("n-documents", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADED] =
    g_param_spec_boolean ("loaded", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED] =
    g_param_spec_string ("selected", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A scan was filed: a sentence for a toast, and the id of the patient it went to. */
  signals[FILED] =
    g_signal_new ("filed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
  /* The chosen scan is to be opened in the document view: its reference. */
  signals[OPEN_DOCUMENT] =
    g_signal_new ("open-document", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

  g_type_ensure (CHARTA_TYPE_DOCUMENT_VIEWER);
  g_type_ensure (CHARTA_TYPE_INDEX_FORM);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/charta/Desktop/charta-index-queue.ui");
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, stack);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, spinner);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, error_page);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, queue_status);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, queue_list);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, file_stack);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, file_spinner);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, file_error_page);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, viewer);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, form_box);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, scan_title);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, scan_details);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, banner_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, form);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, missing_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaIndexQueue, busy_spinner);
  gtk_widget_class_bind_template_callback (widget_class, row_selected);
  gtk_widget_class_bind_template_callback (widget_class, form_changed);
  gtk_widget_class_bind_template_callback (widget_class, file_retry_clicked);

  gtk_widget_class_install_action (widget_class, "queue.file", NULL, file_activated);
  gtk_widget_class_install_action (widget_class, "queue.refresh", NULL, refresh_activated);
  gtk_widget_class_install_action (widget_class, "queue.open-document", NULL,
                                   open_document_activated);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "queue.refresh", NULL);
}

static void
charta_index_queue_init (ChartaIndexQueue *self)
{
  self->n_documents = -1;
  gtk_widget_init_template (GTK_WIDGET (self));
  charta_document_file_init (&self->df, G_OBJECT (self), self->viewer, self->file_stack,
                             self->file_spinner, self->file_error_page, "scan",
                             "It can still be indexed.");
  update_actions (self);
}

GtkWidget *
charta_index_queue_new (void)
{
  return g_object_new (CHARTA_TYPE_INDEX_QUEUE, NULL);
}

void
charta_index_queue_set_client (ChartaIndexQueue *self,
                               ChartaClient     *client)
{
  g_return_if_fail (CHARTA_IS_INDEX_QUEUE (self));
  g_return_if_fail (client == NULL || CHARTA_IS_CLIENT (client));

  if (!g_set_object (&self->client, client))
    return;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->file_save_cancellable != NULL)
    g_cancellable_cancel (self->file_save_cancellable);
  set_busy (self, FALSE);
  g_signal_handlers_block_by_func (self->queue_list, row_selected, self);
  clear_list (self);
  g_signal_handlers_unblock_by_func (self->queue_list, row_selected, self);
  g_clear_pointer (&self->selected, g_free);
  show_selected (self);
  charta_index_form_set_client (self->form, client);
  set_loaded (self, FALSE);
  set_n_documents (self, -1);
  gtk_stack_set_visible_child_name (self->stack, "empty");
  charta_index_queue_refresh_count (self);
}

int
charta_index_queue_get_n_documents (ChartaIndexQueue *self)
{
  g_return_val_if_fail (CHARTA_IS_INDEX_QUEUE (self), -1);

  return self->n_documents;
}

gboolean
charta_index_queue_is_loaded (ChartaIndexQueue *self)
{
  g_return_val_if_fail (CHARTA_IS_INDEX_QUEUE (self), FALSE);

  return self->loaded;
}

char **
charta_index_queue_dup_references (ChartaIndexQueue *self)
{
  GPtrArray *references;
  GtkListBoxRow *row;

  g_return_val_if_fail (CHARTA_IS_INDEX_QUEUE (self), NULL);

  references = g_ptr_array_new ();
  for (int i = 0; (row = gtk_list_box_get_row_at_index (self->queue_list, i)) != NULL; i++)
    g_ptr_array_add (references, g_strdup (g_object_get_data (G_OBJECT (row),
                                                              "charta-reference")));
  g_ptr_array_add (references, NULL);
  return (char **) g_ptr_array_free (references, FALSE);
}

const char *
charta_index_queue_get_selected (ChartaIndexQueue *self)
{
  g_return_val_if_fail (CHARTA_IS_INDEX_QUEUE (self), NULL);

  return self->selected;
}

gboolean
charta_index_queue_is_busy (ChartaIndexQueue *self)
{
  g_return_val_if_fail (CHARTA_IS_INDEX_QUEUE (self), FALSE);

  return self->busy;
}

ChartaDocumentViewer *
charta_index_queue_get_viewer (ChartaIndexQueue *self)
{
  g_return_val_if_fail (CHARTA_IS_INDEX_QUEUE (self), NULL);

  return self->viewer;
}

ChartaIndexForm *
charta_index_queue_get_form (ChartaIndexQueue *self)
{
  g_return_val_if_fail (CHARTA_IS_INDEX_QUEUE (self), NULL);

  return self->form;
}
