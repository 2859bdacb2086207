/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-window.c: the main window (see charta-window.h).
 *
 * Opening is a chain of async steps sharing one GCancellable: [start the local server] →
 * GET metadata → switch.  Only the last step replaces what the window had open: until then the
 * old client, server and pages stay as they were, so a failed open loses nothing.  A newer
 * open cancels the one in progress.
 *
 * Documents: a DocumentReference opened from the chart shows in the document view (the
 * content stack's "document" page), whose History comes back to it; the indexing queue is a
 * page of its own in the main stack, reached from the sidebar's queue button (its badge counts
 * the scans waiting) or Ctrl+I, and left with Back.  A filing or a change to a document is
 * toasted, and the chart and the count are read again.
 */
#define G_LOG_DOMAIN "charta-window"

#include <string.h>

#include "charta-application.h"
#include "charta-chart-view.h"
#include "charta-correction-dialog.h"
#include "charta-document-view.h"
#include "charta-fhir-text.h"
#include "charta-history-view.h"
#include "charta-index-queue.h"
#include "charta-local-server.h"
#include "charta-patient-finder.h"
#include "charta-resource-view.h"
#include "charta-start-page.h"
#include "charta-window.h"

struct _ChartaWindow
{
  AdwApplicationWindow parent_instance;

  /* What is open. */
  char *location;
  ChartaClient *client;
  ChartaLocalServer *local_server;   /* for a store file */

  /* What is being opened. */
  GCancellable *open_cancellable;
  char *opening_location;
  char *opening_patient_id;
  char *pending_search;              /* for the finder, once something is open */
  char *pending_resource;            /* to show once something is open */
  ChartaWindowShow pending_show;     /* what of it */
  ChartaLocalServer *opening_server;
  ChartaClient *opening_client;

  AdwToastOverlay *toast_overlay;
  GtkStack *main_stack;
  ChartaStartPage *start_page;
  AdwLeaflet *leaflet;
  AdwWindowTitle *store_title;
  AdwWindowTitle *chart_title;
  ChartaPatientFinder *finder;
  GtkButton *back_button;
  GtkStack *content_stack;           /* chart, resource, history */
  ChartaChartView *chart_view;
  ChartaResourceView *resource_view;
  ChartaHistoryView *history_view;
  ChartaDocumentView *document_view;
  ChartaIndexQueue *queue;
  GtkWidget *queue_button;
  GtkLabel *queue_badge;
  AdwWindowTitle *queue_title;
  const char *history_back;          /* the content page the history's Back returns to */

  gboolean edit_when_loaded;         /* open the correction dialog once the record is read */
};

G_DEFINE_FINAL_TYPE (ChartaWindow, charta_window, ADW_TYPE_APPLICATION_WINDOW)

static void chart_resource_activated (ChartaWindow *self,
                                      const char   *reference);
static void resource_show_history    (ChartaWindow *self);
static gboolean is_document          (const char   *reference);
static void document_show_history    (ChartaWindow *self);

static ChartaApplication *
get_app (ChartaWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  return CHARTA_IS_APPLICATION (app) ? CHARTA_APPLICATION (app) : NULL;
}

void
charta_window_toast (ChartaWindow *self,
                     const char   *message)
{
  g_autofree char *escaped = NULL;
  AdwToast *toast;

  g_return_if_fail (CHARTA_IS_WINDOW (self));

  /* A toast's title is markup (libadwaita 1.2 has no way to turn that off); @message is text
   * and may name a record with a '&' in its title. */
  escaped = g_markup_escape_text (message, -1);
  toast = adw_toast_new (escaped);
  adw_toast_set_timeout (toast, 8);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* ---- recent locations --------------------------------------------------------------------- */

static void
recent_changed (ChartaWindow *self)
{
  ChartaApplication *app = get_app (self);
  g_auto(GStrv) recent = NULL;

  if (app == NULL)
    return;
  recent = charta_application_dup_recent (app);
  charta_start_page_set_recent (self->start_page, (const char * const *) recent);
}

static void
start_page_forget (ChartaWindow *self,
                   const char   *location)
{
  if (get_app (self) != NULL)
    charta_application_remove_recent (get_app (self), location);
}

/* ---- opening ------------------------------------------------------------------------------ */

static void
clear_opening (ChartaWindow *self)
{
  if (self->open_cancellable != NULL)
    g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  g_clear_pointer (&self->opening_location, g_free);
  g_clear_pointer (&self->opening_patient_id, g_free);
  g_clear_object (&self->opening_server);
  g_clear_object (&self->opening_client);
}

/* What the title bar says about the open location: a file's name, or a server's host. */
static char *
describe_location (const char *location)
{
  if (charta_location_is_url (location))
    {
      g_autoptr(GUri) uri = g_uri_parse (location, G_URI_FLAGS_NONE, NULL);

      if (uri != NULL && g_uri_get_port (uri) > 0)
        return g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri));
      if (uri != NULL)
        return g_strdup (g_uri_get_host (uri));
      return g_strdup (location);
    }
  return g_path_get_basename (location);
}

static void
open_failed (ChartaWindow *self,
             const char   *message)
{
  g_autofree char *where = describe_location (self->opening_location);
  g_autofree char *text = g_strdup_printf ("Could not open %s. %s", where, message);

  if (charta_location_is_url (self->opening_location))
    charta_start_page_set_url (self->start_page, self->opening_location);
  clear_opening (self);
  charta_start_page_set_busy (self->start_page, FALSE);
  charta_start_page_set_error (self->start_page, text);
  gtk_stack_set_visible_child_name (self->main_stack, "start");
}

static void
open_succeeded (ChartaWindow *self)
{
  g_autofree char *where = describe_location (self->opening_location);
  g_autofree char *patient_id = g_steal_pointer (&self->opening_patient_id);

  /* The old server stops only now, once the new one answers. */
  g_free (self->location);
  self->location = g_steal_pointer (&self->opening_location);
  g_clear_object (&self->local_server);
  self->local_server = g_steal_pointer (&self->opening_server);
  g_set_object (&self->client, self->opening_client);
  clear_opening (self);

  charta_chart_view_set_client (self->chart_view, self->client);
  charta_resource_view_set_client (self->resource_view, self->client);
  charta_history_view_set_client (self->history_view, self->client);
  charta_document_view_set_client (self->document_view, self->client);
  charta_index_queue_set_client (self->queue, self->client);
  gtk_stack_set_visible_child_name (self->content_stack, "chart");
  charta_patient_finder_set_client (self->finder, self->client);
  adw_window_title_set_subtitle (self->store_title, where);
  gtk_window_set_title (GTK_WINDOW (self), where);
  charta_start_page_set_busy (self->start_page, FALSE);
  charta_start_page_set_error (self->start_page, NULL);
  if (get_app (self) != NULL)
    charta_application_add_recent (get_app (self), self->location);

  gtk_stack_set_visible_child_name (self->main_stack, "browse");
  if (self->pending_search != NULL)
    {
      g_autofree char *text = g_steal_pointer (&self->pending_search);

      charta_patient_finder_search (self->finder, text);
    }
  if (patient_id != NULL)
    {
      charta_chart_view_show_patient (self->chart_view, patient_id);
      charta_patient_finder_select (self->finder, patient_id);
      adw_leaflet_set_visible_child_name (self->leaflet, "content");
    }
  else
    {
      adw_leaflet_set_visible_child_name (self->leaflet, "sidebar");
      charta_patient_finder_focus_search (self->finder);
    }
  if (self->pending_resource != NULL)
    {
      g_autofree char *reference = g_steal_pointer (&self->pending_resource);

      charta_window_show_resource (self, reference, self->pending_show);
    }
}

static void
metadata_read (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(ChartaWindow) self = user_data;
  g_autoptr(JsonNode) capability = NULL;
  g_autoptr(GError) error = NULL;

  capability = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || CHARTA_CLIENT (source) != self->opening_client)
    return;
  if (capability == NULL)
    {
      open_failed (self, error->message);
      return;
    }
  if (g_strcmp0 (charta_json_get_string (json_node_get_object (capability), "resourceType"),
                 "CapabilityStatement") != 0)
    {
      open_failed (self, "It answered [base]/metadata with something other than a "
                         "CapabilityStatement: is the address the FHIR base (often ending "
                         "in /fhir)?");
      return;
    }
  open_succeeded (self);
}

static void
connect_client (ChartaWindow *self,
                const char   *base_url)
{
  self->opening_client = charta_client_new (base_url);
  /* A store file's own endpoint: the token it made for us. */
  if (self->opening_server != NULL)
    charta_client_set_bearer_token (self->opening_client,
                                    charta_local_server_get_token (self->opening_server));
  /* _summary=true: the CapabilityStatement without its long lists, where the server can. */
  charta_client_get_async (self->opening_client, "metadata?_summary=true",
                           self->open_cancellable, metadata_read, g_object_ref (self));
}

static void
local_server_started (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(ChartaWindow) self = user_data;
  g_autoptr(ChartaLocalServer) server = NULL;
  g_autoptr(GError) error = NULL;

  server = charta_local_server_start_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (server == NULL)
    {
      open_failed (self, error->message);
      return;
    }
  if (g_strcmp0 (charta_local_server_get_path (server), self->opening_location) != 0)
    return;
  self->opening_server = g_steal_pointer (&server);
  connect_client (self, charta_local_server_get_base_url (self->opening_server));
}

void
charta_window_open (ChartaWindow *self,
                    const char   *location,
                    const char   *patient_id)
{
  g_return_if_fail (CHARTA_IS_WINDOW (self));
  g_return_if_fail (location != NULL);

  clear_opening (self);
  self->open_cancellable = g_cancellable_new ();
  self->opening_location = g_strdup (location);
  self->opening_patient_id = g_strdup (patient_id);
  gtk_stack_set_visible_child_name (self->main_stack, "start");
  charta_start_page_set_busy (self->start_page, TRUE);

  if (charta_location_is_url (location))
    connect_client (self, location);
  else
    charta_local_server_start_async (location, self->open_cancellable, local_server_started,
                                     g_object_ref (self));
}

static void
start_page_open (ChartaWindow *self,
                 const char   *location)
{
  charta_window_open (self, location, NULL);
}

void
charta_window_search (ChartaWindow *self,
                      const char   *text)
{
  g_return_if_fail (CHARTA_IS_WINDOW (self));

  if (self->client != NULL && self->open_cancellable == NULL)
    {
      charta_patient_finder_search (self->finder, text);
      return;
    }
  g_free (self->pending_search);
  self->pending_search = g_strdup (text);
}

void
charta_window_show_resource (ChartaWindow     *self,
                             const char       *reference,
                             ChartaWindowShow  show)
{
  g_return_if_fail (CHARTA_IS_WINDOW (self));
  g_return_if_fail (reference != NULL);

  if (self->client == NULL || self->open_cancellable != NULL)
    {
      g_free (self->pending_resource);
      self->pending_resource = g_strdup (reference);
      self->pending_show = show;
      return;
    }
  chart_resource_activated (self, reference);
  /* A document opens in the document view, which has no correction form of its own. */
  if (is_document (reference))
    {
      if (show == CHARTA_WINDOW_SHOW_HISTORY)
        document_show_history (self);
      return;
    }
  switch (show)
    {
    case CHARTA_WINDOW_SHOW_DETAILS:
      break;
    case CHARTA_WINDOW_SHOW_HISTORY:
      resource_show_history (self);
      break;
    case CHARTA_WINDOW_SHOW_CORRECTION:
      self->edit_when_loaded = TRUE;
      break;
    }
}

const char *
charta_window_get_location (ChartaWindow *self)
{
  g_return_val_if_fail (CHARTA_IS_WINDOW (self), NULL);

  return self->location;
}

ChartaClient *
charta_window_get_client (ChartaWindow *self)
{
  g_return_val_if_fail (CHARTA_IS_WINDOW (self), NULL);

  return self->client;
}

/* ---- browsing ----------------------------------------------------------------------------- */

/* Opens the chart of @patient_id; a record of another patient beside it closes. */
static void
show_chart (ChartaWindow *self,
            const char   *patient_id)
{
  if (g_strcmp0 (charta_chart_view_get_patient_id (self->chart_view), patient_id) != 0)
    gtk_stack_set_visible_child_name (self->content_stack, "chart");
  charta_chart_view_show_patient (self->chart_view, patient_id);
}

static void
finder_patient_selected (ChartaWindow *self,
                         const char   *patient_id)
{
  show_chart (self, patient_id);
}

static void
finder_patient_activated (ChartaWindow *self,
                          const char   *patient_id)
{
  show_chart (self, patient_id);
  adw_leaflet_set_visible_child_name (self->leaflet, "content");
}

/* The content's header bar follows its page: the chart names the patient; a record names
 * itself above the patient's name.  The back button shows when there is somewhere to go back
 * to: the chart from a record, the list from the chart in a folded window. */
static void
content_page_changed (ChartaWindow *self)
{
  const char *page = gtk_stack_get_visible_child_name (self->content_stack);
  const char *patient = charta_chart_view_get_title (self->chart_view);
  gboolean folded = adw_leaflet_get_folded (self->leaflet);
  const char *back = NULL;

  if (g_strcmp0 (page, "resource") == 0)
    {
      const char *title = charta_resource_view_get_title (self->resource_view);

      adw_window_title_set_title (self->chart_title, title != NULL ? title : "Record");
      adw_window_title_set_subtitle (self->chart_title,
                                     g_strcmp0 (title, patient) != 0 ? patient : NULL);
      back = "Back to the chart";
    }
  else if (g_strcmp0 (page, "document") == 0)
    {
      const char *title = charta_document_view_get_title (self->document_view);

      adw_window_title_set_title (self->chart_title, title != NULL ? title : "Document");
      adw_window_title_set_subtitle (self->chart_title,
                                     charta_document_view_get_placement (self->document_view));
      back = "Back to the chart";
    }
  else if (g_strcmp0 (page, "history") == 0)
    {
      const char *title = g_strcmp0 (self->history_back, "document") == 0
                            ? charta_document_view_get_title (self->document_view)
                            : charta_resource_view_get_title (self->resource_view);
      g_autofree char *subtitle = title != NULL && patient != NULL
                                  && g_strcmp0 (title, patient) != 0
                                    ? g_strdup_printf ("%s · %s", title, patient) : NULL;

      adw_window_title_set_title (self->chart_title, "History");
      adw_window_title_set_subtitle (self->chart_title, subtitle != NULL ? subtitle : title);
      back = g_strcmp0 (self->history_back, "document") == 0 ? "Back to the document"
                                                             : "Back to the record";
    }
  else
    {
      adw_window_title_set_title (self->chart_title, patient != NULL ? patient : "Chart");
      adw_window_title_set_subtitle (self->chart_title, NULL);
      if (folded)
        back = "Back to the patient list";
    }
  gtk_widget_set_visible (GTK_WIDGET (self->back_button), back != NULL);
  if (back != NULL)
    {
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->back_button), back);
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->back_button),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, back, -1);
    }
}

static void
chart_title_changed (ChartaWindow *self)
{
  content_page_changed (self);
}

/* Whether @reference is a DocumentReference's current version ("DocumentReference/7"). */
static gboolean
is_document (const char *reference)
{
  return g_str_has_prefix (reference, "DocumentReference/")
         && strchr (reference + strlen ("DocumentReference/"), '/') == NULL;
}

static void
show_document (ChartaWindow *self,
               const char   *reference)
{
  self->edit_when_loaded = FALSE;
  charta_document_view_show (self->document_view, reference);
  gtk_stack_set_visible_child_name (self->main_stack, "browse");
  gtk_stack_set_visible_child_name (self->content_stack, "document");
  adw_leaflet_set_visible_child_name (self->leaflet, "content");
}

static void
chart_resource_activated (ChartaWindow *self,
                          const char   *reference)
{
  /* A document opens in the document view: its pages, and what can be done to it. */
  if (is_document (reference))
    {
      show_document (self, reference);
      return;
    }
  /* A record opened anew is only shown: a wish to correct the last one is gone with it. */
  self->edit_when_loaded = FALSE;
  charta_resource_view_show (self->resource_view, reference);
  gtk_stack_set_visible_child_name (self->content_stack, "resource");
  adw_leaflet_set_visible_child_name (self->leaflet, "content");
}

static void
resource_show_history (ChartaWindow *self)
{
  const char *reference = charta_resource_view_get_reference (self->resource_view);

  if (reference == NULL)
    return;
  self->history_back = "resource";
  charta_history_view_show (self->history_view, reference,
                            charta_resource_view_get_title (self->resource_view));
  gtk_stack_set_visible_child_name (self->content_stack, "history");
}

static void
document_show_history (ChartaWindow *self)
{
  const char *reference = charta_document_view_get_reference (self->document_view);

  if (reference == NULL)
    return;
  self->history_back = "document";
  charta_history_view_show (self->history_view, reference,
                            charta_document_view_get_title (self->document_view));
  gtk_stack_set_visible_child_name (self->content_stack, "history");
}

/* A document was re-indexed, marked entered in error or given an addendum. */
static void
document_changed (ChartaWindow *self,
                  const char   *message)
{
  charta_window_toast (self, message);
  charta_chart_view_reload (self->chart_view);
  charta_index_queue_refresh_count (self->queue);
}

/* ---- the indexing queue ------------------------------------------------------------------- */

static void
queue_count_changed (ChartaWindow *self)
{
  int n = charta_index_queue_get_n_documents (self->queue);
  g_autofree char *count = g_strdup_printf ("%d", n);
  g_autofree char *words = n < 0 ? g_strdup ("Indexing queue")
                           : n == 1 ? g_strdup ("Indexing queue, 1 scan waiting")
                           : g_strdup_printf ("Indexing queue, %d scans waiting", n);
  g_autofree char *tooltip = n < 0 ? g_strdup ("Indexing Queue (Ctrl+I)")
                             : g_strdup_printf ("Indexing Queue: %d waiting (Ctrl+I)", n);
  g_autofree char *subtitle = n < 0 ? NULL
                              : n == 1 ? g_strdup ("1 scan waiting")
                              : g_strdup_printf ("%d scans waiting", n);

  gtk_label_set_text (self->queue_badge, count);
  gtk_widget_set_visible (GTK_WIDGET (self->queue_badge), n > 0);
  gtk_widget_set_tooltip_text (self->queue_button, tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->queue_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, words, -1);
  adw_window_title_set_subtitle (self->queue_title, subtitle);
}

static void
queue_filed (ChartaWindow *self,
             const char   *message,
             const char   *patient_id)
{
  charta_window_toast (self, message);
  if (g_strcmp0 (charta_chart_view_get_patient_id (self->chart_view), patient_id) == 0)
    charta_chart_view_reload (self->chart_view);
}

static void
queue_open_document (ChartaWindow *self,
                     const char   *reference)
{
  show_document (self, reference);
}

static void
show_queue_activated (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  ChartaWindow *self = CHARTA_WINDOW (widget);

  if (self->client == NULL)
    return;
  gtk_stack_set_visible_child_name (self->main_stack, "queue");
  charta_index_queue_reload (self->queue);
  gtk_widget_child_focus (GTK_WIDGET (self->queue), GTK_DIR_TAB_FORWARD);
}

static void
correction_saved (ChartaWindow           *self,
                  JsonNode               *stored,
                  ChartaCorrectionDialog *dialog)
{
  JsonObject *object = json_node_get_object (stored);
  g_autofree char *title = charta_fhir_text_resource_title (object);
  g_autofree char *message = NULL;
  const char *version_id = charta_json_get_string (charta_json_get_object (object, "meta"),
                                                   "versionId");

  message = g_strdup_printf ("Saved version %s of %s", version_id != NULL ? version_id : "?",
                             title);
  charta_window_toast (self, message);
  /* Read again, not taken from the answer: the record's numbers as the server wrote them
   * come with a read (charta_client_get_resource_async()). */
  charta_resource_view_reload (self->resource_view);
  charta_chart_view_reload (self->chart_view);
}

static void
resource_edit (ChartaWindow *self)
{
  JsonNode *resource = charta_resource_view_get_resource (self->resource_view);
  ChartaApplication *app = get_app (self);
  g_autofree char *name = NULL;
  g_autofree char *reference = NULL;
  ChartaCorrectionDialog *dialog;

  self->edit_when_loaded = FALSE;
  if (resource == NULL || self->client == NULL
      || !charta_correction_dialog_can_edit (charta_json_get_string (
                                               json_node_get_object (resource),
                                               "resourceType")))
    return;
  if (app != NULL)
    {
      name = charta_application_dup_user_name (app);
      reference = charta_application_dup_user_reference (app);
    }
  else
    name = g_strdup (g_get_real_name ());
  dialog = charta_correction_dialog_new (GTK_WINDOW (self), self->client, resource,
                                         charta_resource_view_get_number_texts (
                                           self->resource_view),
                                         reference, name);
  g_signal_connect_object (dialog, "saved", G_CALLBACK (correction_saved), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* The record asked for with CHARTA_WINDOW_SHOW_CORRECTION has been read, or has failed: the
 * dialog opens only for a record that was read, and the wish ends either way (the record's
 * page says why it could not be read; a later read of it, Try Again, only shows it). */
static void
resource_loaded (ChartaWindow *self)
{
  if (!self->edit_when_loaded || !charta_resource_view_is_loaded (self->resource_view))
    return;
  self->edit_when_loaded = FALSE;
  if (charta_resource_view_get_resource (self->resource_view) != NULL)
    resource_edit (self);
}

static void
show_start_activated (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  ChartaWindow *self = CHARTA_WINDOW (widget);

  charta_start_page_set_error (self->start_page, NULL);
  gtk_stack_set_visible_child_name (self->main_stack, "start");
}

static void
find_activated (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  ChartaWindow *self = CHARTA_WINDOW (widget);

  if (self->client == NULL)
    return;
  gtk_stack_set_visible_child_name (self->main_stack, "browse");
  adw_leaflet_set_visible_child_name (self->leaflet, "sidebar");
  charta_patient_finder_focus_search (self->finder);
}

static void
back_activated (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  ChartaWindow *self = CHARTA_WINDOW (widget);
  const char *page = gtk_stack_get_visible_child_name (self->content_stack);

  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "queue") == 0)
    gtk_stack_set_visible_child_name (self->main_stack, "browse");
  else if (gtk_widget_get_mapped (GTK_WIDGET (self->content_stack))
           && g_strcmp0 (page, "history") == 0)
    gtk_stack_set_visible_child_name (self->content_stack,
                                      self->history_back != NULL ? self->history_back
                                                                 : "resource");
  else if (gtk_widget_get_mapped (GTK_WIDGET (self->content_stack))
           && (g_strcmp0 (page, "resource") == 0 || g_strcmp0 (page, "document") == 0))
    gtk_stack_set_visible_child_name (self->content_stack, "chart");
  else
    adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

/* ---- the object --------------------------------------------------------------------------- */

static gboolean
charta_window_close_request (GtkWindow *window)
{
  ChartaWindow *self = CHARTA_WINDOW (window);
  ChartaApplication *app = get_app (self);
  GSettings *settings = app != NULL ? charta_application_get_settings (app) : NULL;

  if (settings != NULL)
    {
      int width, height;

      gtk_window_get_default_size (window, &width, &height);
      g_settings_set_int (settings, "window-width", width);
      g_settings_set_int (settings, "window-height", height);
      g_settings_set_boolean (settings, "window-maximized", gtk_window_is_maximized (window));
    }
  return GTK_WINDOW_CLASS (charta_window_parent_class)->close_request (window);
}

static void
charta_window_dispose (GObject *object)
{
  ChartaWindow *self = CHARTA_WINDOW (object);

  clear_opening (self);
  g_clear_object (&self->client);
  g_clear_object (&self->local_server);

  G_OBJECT_CLASS (charta_window_parent_class)->dispose (object);
}

static void
charta_window_finalize (GObject *object)
{
  ChartaWindow *self = CHARTA_WINDOW (object);

  g_free (self->location);
  g_free (self->pending_search);
  g_free (self->pending_resource);

  G_OBJECT_CLASS (charta_window_parent_class)->finalize (object);
}

static void
charta_window_class_init (ChartaWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = charta_window_dispose;
  object_class->finalize = charta_window_finalize;
  window_class->close_request = charta_window_close_request;

  g_type_ensure (CHARTA_TYPE_START_PAGE);
  g_type_ensure (CHARTA_TYPE_PATIENT_FINDER);
  g_type_ensure (CHARTA_TYPE_CHART_VIEW);
  g_type_ensure (CHARTA_TYPE_RESOURCE_VIEW);
  g_type_ensure (CHARTA_TYPE_HISTORY_VIEW);
  g_type_ensure (CHARTA_TYPE_DOCUMENT_VIEW);
  g_type_ensure (CHARTA_TYPE_INDEX_QUEUE);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/charta/Desktop/charta-window.ui");
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, start_page);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, store_title);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, chart_title);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, finder);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, back_button);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, chart_view);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, resource_view);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, history_view);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, document_view);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, queue);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, queue_button);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, queue_badge);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, queue_title);
  gtk_widget_class_bind_template_callback (widget_class, start_page_open);
  gtk_widget_class_bind_template_callback (widget_class, start_page_forget);
  gtk_widget_class_bind_template_callback (widget_class, finder_patient_selected);
  gtk_widget_class_bind_template_callback (widget_class, finder_patient_activated);
  gtk_widget_class_bind_template_callback (widget_class, chart_title_changed);
  gtk_widget_class_bind_template_callback (widget_class, content_page_changed);
  gtk_widget_class_bind_template_callback (widget_class, chart_resource_activated);
  gtk_widget_class_bind_template_callback (widget_class, resource_show_history);
  gtk_widget_class_bind_template_callback (widget_class, resource_edit);
  gtk_widget_class_bind_template_callback (widget_class, resource_loaded);
  gtk_widget_class_bind_template_callback (widget_class, document_show_history);
  gtk_widget_class_bind_template_callback (widget_class, document_changed);
  gtk_widget_class_bind_template_callback (widget_class, queue_count_changed);
  gtk_widget_class_bind_template_callback (widget_class, queue_filed);
  gtk_widget_class_bind_template_callback (widget_class, queue_open_document);

  gtk_widget_class_install_action (widget_class, "win.show-start", NULL, show_start_activated);
  gtk_widget_class_install_action (widget_class, "win.find", NULL, find_activated);
  gtk_widget_class_install_action (widget_class, "win.back", NULL, back_activated);
  gtk_widget_class_install_action (widget_class, "win.show-queue", NULL, show_queue_activated);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_i, GDK_CONTROL_MASK,
                                       "win.show-queue", NULL);
}

static void
charta_window_init (ChartaWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/* The saved size and the recent list, once the window has its application. */
static void
restore_state (ChartaWindow *self)
{
  ChartaApplication *app = get_app (self);
  GSettings *settings = app != NULL ? charta_application_get_settings (app) : NULL;

  if (settings != NULL)
    {
      gtk_window_set_default_size (GTK_WINDOW (self),
                                   g_settings_get_int (settings, "window-width"),
                                   g_settings_get_int (settings, "window-height"));
      if (g_settings_get_boolean (settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
    }
  else
    gtk_window_set_default_size (GTK_WINDOW (self), 1100, 720);

  if (app != NULL)
    g_signal_connect_object (app, "recent-changed", G_CALLBACK (recent_changed), self,
                             G_CONNECT_SWAPPED);
  recent_changed (self);
}

ChartaWindow *
charta_window_new (GtkApplication *application)
{
  ChartaWindow *self;

  g_return_val_if_fail (application == NULL || GTK_IS_APPLICATION (application), NULL);

  self = g_object_new (CHARTA_TYPE_WINDOW, "application", application, NULL);
  restore_state (self);
  return self;
}
