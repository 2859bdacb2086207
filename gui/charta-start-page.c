/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-start-page.c: open a store or a server (see charta-start-page.h).
 *
 * The recent list is rebuilt whenever it is set; each row keeps its location as object data.
 * The file chooser is a GtkFileChooserNative (GtkFileDialog is GTK 4.10), kept until it
 * answers.
 */
#define G_LOG_DOMAIN "charta-start-page"

#include <string.h>

#include "charta-start-page.h"

struct _ChartaStartPage
{
  AdwBin parent_instance;

  GtkFileChooserNative *chooser;   /* while open */

  GtkWidget *content_box;
  GtkWidget *open_file_button;
  AdwEntryRow *url_row;
  GtkWidget *busy_box;
  GtkSpinner *busy_spinner;
  GtkLabel *error_label;
  GtkWidget *recent_group;
  GtkListBox *recent_list;
};

enum
{
  OPEN_LOCATION,
  FORGET_LOCATION,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ChartaStartPage, charta_start_page, ADW_TYPE_BIN)

gboolean
charta_location_is_url (const char *location)
{
  return location != NULL
         && (g_ascii_strncasecmp (location, "http://", 7) == 0
             || g_ascii_strncasecmp (location, "https://", 8) == 0);
}

static void
emit_open (ChartaStartPage *self,
           const char      *location)
{
  charta_start_page_set_error (self, NULL);
  g_signal_emit (self, signals[OPEN_LOCATION], 0, location);
}

static void
chooser_response (GtkNativeDialog *chooser,
                  int              response,
                  ChartaStartPage *self)
{
  g_autoptr(GFile) file = NULL;
  g_autofree char *path = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  if (file != NULL)
    path = g_file_get_path (file);
  g_clear_object (&self->chooser);
  if (path != NULL)
    emit_open (self, path);
}

static void
open_file_clicked (ChartaStartPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autoptr(GtkFileFilter) stores = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new ("Open Store File",
                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_OPEN, "_Open",
                                               "_Cancel");
  gtk_file_filter_set_name (stores, "Charta stores");
  gtk_file_filter_add_pattern (stores, "*.charta");
  gtk_file_filter_set_name (all, "All files");
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), stores);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), all);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
url_applied (ChartaStartPage *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->url_row));
  g_autofree char *url = g_strstrip (g_strdup (text));

  if (*url == '\0')
    return;
  if (!charta_location_is_url (url))
    {
      charta_start_page_set_error (self, "A server address starts with http:// or https://, "
                                         "such as http://127.0.0.1:8080/fhir");
      return;
    }
  emit_open (self, url);
}

static void
recent_activated (ChartaStartPage *self,
                  GtkListBoxRow   *row)
{
  const char *location = g_object_get_data (G_OBJECT (row), "location");

  if (location != NULL)
    emit_open (self, location);
}

static void
forget_clicked (GtkButton       *button,
                ChartaStartPage *self)
{
  const char *location = g_object_get_data (G_OBJECT (button), "location");

  g_signal_emit (self, signals[FORGET_LOCATION], 0, location);
}

static GtkWidget *
recent_row (ChartaStartPage *self,
            const char      *location)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *icon;
  GtkWidget *forget = gtk_button_new_from_icon_name ("window-close-symbolic");
  g_autofree char *title = NULL;
  g_autofree char *label = NULL;

  if (charta_location_is_url (location))
    {
      g_autoptr(GUri) uri = g_uri_parse (location, G_URI_FLAGS_NONE, NULL);

      icon = gtk_image_new_from_icon_name ("network-server-symbolic");
      title = g_strdup (uri != NULL && g_uri_get_host (uri) != NULL ? g_uri_get_host (uri)
                                                                    : location);
    }
  else
    {
      icon = gtk_image_new_from_icon_name ("folder-documents-symbolic");
      title = g_path_get_basename (location);
    }
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), location);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  g_object_set_data_full (G_OBJECT (row), "location", g_strdup (location), g_free);

  label = g_strdup_printf ("Remove %s from the recent list", title);
  gtk_widget_set_valign (forget, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (forget, "Remove From Recent");
  gtk_accessible_update_property (GTK_ACCESSIBLE (forget), GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  -1);
  gtk_widget_add_css_class (forget, "flat");
  g_object_set_data_full (G_OBJECT (forget), "location", g_strdup (location), g_free);
  g_signal_connect (forget, "clicked", G_CALLBACK (forget_clicked), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), forget);
  return row;
}

void
charta_start_page_set_recent (ChartaStartPage    *self,
                              const char * const *locations)
{
  GtkListBoxRow *row;
  unsigned n = 0;

  g_return_if_fail (CHARTA_IS_START_PAGE (self));

  while ((row = gtk_list_box_get_row_at_index (self->recent_list, 0)) != NULL)
    gtk_list_box_remove (self->recent_list, GTK_WIDGET (row));
  for (; locations != NULL && locations[n] != NULL; n++)
    gtk_list_box_append (self->recent_list, recent_row (self, locations[n]));
  gtk_widget_set_visible (self->recent_group, n > 0);
}

void
charta_start_page_set_url (ChartaStartPage *self,
                           const char      *url)
{
  g_return_if_fail (CHARTA_IS_START_PAGE (self));

  gtk_editable_set_text (GTK_EDITABLE (self->url_row), url != NULL ? url : "");
}

void
charta_start_page_set_busy (ChartaStartPage *self,
                            gboolean         busy)
{
  g_return_if_fail (CHARTA_IS_START_PAGE (self));

  gtk_widget_set_visible (self->busy_box, busy);
  gtk_spinner_set_spinning (self->busy_spinner, busy);
  /* The server row stays sensitive: it may have the focus, and GTK 4.8 warns when a focused
   * text turns insensitive.  Enter in it while busy starts the newer open instead. */
  gtk_widget_set_sensitive (self->open_file_button, !busy);
  gtk_widget_set_sensitive (self->recent_group, !busy);
  if (busy)
    charta_start_page_set_error (self, NULL);
}

void
charta_start_page_set_error (ChartaStartPage *self,
                             const char      *message)
{
  g_return_if_fail (CHARTA_IS_START_PAGE (self));

  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static void
charta_start_page_dispose (GObject *object)
{
  ChartaStartPage *self = CHARTA_START_PAGE (object);

  if (self->chooser != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->chooser, self);
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
      g_clear_object (&self->chooser);
    }

  G_OBJECT_CLASS (charta_start_page_parent_class)->dispose (object);
}

static void
charta_start_page_class_init (ChartaStartPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = charta_start_page_dispose;

  /* The user chose a store file (its absolute path) or a server (its base URL). */
  signals[OPEN_LOCATION] =
    g_signal_new ("open-location", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* The user asked to remove a location from the recent list. */
  signals[FORGET_LOCATION] =
    g_signal_new ("forget-location", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/charta/Desktop/charta-start-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ChartaStartPage, content_box);
  gtk_widget_class_bind_template_child (widget_class, ChartaStartPage, open_file_button);
  gtk_widget_class_bind_template_child (widget_class, ChartaStartPage, url_row);
  gtk_widget_class_bind_template_child (widget_class, ChartaStartPage, busy_box);
  gtk_widget_class_bind_template_child (widget_class, ChartaStartPage, busy_spinner);
  gtk_widget_class_bind_template_child (widget_class, ChartaStartPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaStartPage, recent_group);
  gtk_widget_class_bind_template_child (widget_class, ChartaStartPage, recent_list);
  gtk_widget_class_bind_template_callback (widget_class, open_file_clicked);
  gtk_widget_class_bind_template_callback (widget_class, url_applied);
  gtk_widget_class_bind_template_callback (widget_class, recent_activated);
}

static void
charta_start_page_init (ChartaStartPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
charta_start_page_new (void)
{
  return g_object_new (CHARTA_TYPE_START_PAGE, NULL);
}
