/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-window.c: the main window (see charta-window.h).
 *
 * Opening is a chain of async steps sharing one GCancellable: [start the local server] →
 * GET metadata → switch.  Only the last step replaces what the window had open: until then the
 * old client, server and pages stay as they were, so a failed open loses nothing.  A newer
 * open cancels the one in progress.
 */
#define G_LOG_DOMAIN "charta-window"

#include "charta-application.h"
#include "charta-chart-view.h"
#include "charta-fhir-text.h"
#include "charta-local-server.h"
#include "charta-patient-finder.h"
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
  ChartaLocalServer *opening_server;
  ChartaClient *opening_client;

  AdwToastOverlay *toast_overlay;
  GtkStack *main_stack;
  ChartaStartPage *start_page;
  AdwLeaflet *leaflet;
  AdwWindowTitle *store_title;
  AdwWindowTitle *chart_title;
  ChartaPatientFinder *finder;
  ChartaChartView *chart_view;
};

G_DEFINE_FINAL_TYPE (ChartaWindow, charta_window, ADW_TYPE_APPLICATION_WINDOW)

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
  AdwToast *toast;

  g_return_if_fail (CHARTA_IS_WINDOW (self));

  toast = adw_toast_new (message);
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

static void
finder_patient_selected (ChartaWindow *self,
                         const char   *patient_id)
{
  charta_chart_view_show_patient (self->chart_view, patient_id);
}

static void
finder_patient_activated (ChartaWindow *self,
                          const char   *patient_id)
{
  charta_chart_view_show_patient (self->chart_view, patient_id);
  adw_leaflet_set_visible_child_name (self->leaflet, "content");
}

static void
chart_title_changed (ChartaWindow *self)
{
  const char *title = charta_chart_view_get_title (self->chart_view);

  adw_window_title_set_title (self->chart_title, title != NULL ? title : "Chart");
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

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/charta/Desktop/charta-window.ui");
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, start_page);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, store_title);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, chart_title);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, finder);
  gtk_widget_class_bind_template_child (widget_class, ChartaWindow, chart_view);
  gtk_widget_class_bind_template_callback (widget_class, start_page_open);
  gtk_widget_class_bind_template_callback (widget_class, start_page_forget);
  gtk_widget_class_bind_template_callback (widget_class, finder_patient_selected);
  gtk_widget_class_bind_template_callback (widget_class, finder_patient_activated);
  gtk_widget_class_bind_template_callback (widget_class, chart_title_changed);

  gtk_widget_class_install_action (widget_class, "win.show-start", NULL, show_start_activated);
  gtk_widget_class_install_action (widget_class, "win.find", NULL, find_activated);
  gtk_widget_class_install_action (widget_class, "win.back", NULL, back_activated);
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
