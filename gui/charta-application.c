/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-application.c: Charta desktop's application object (see charta-application.h).
 *
 * The command line is handled in the primary instance (G_APPLICATION_HANDLES_COMMAND_LINE):
 * a relative store path is resolved against the invoking shell's folder, a URL is kept as it
 * is, and a new window opens it.  Accelerators and the about window live here.
 */
#define G_LOG_DOMAIN "charta-application"

#include <string.h>

#include "charta-application.h"
#include "charta-config.h"
#include "charta-start-page.h"
#include "charta-window.h"

struct _ChartaApplication
{
  AdwApplication parent_instance;

  GSettings *settings;   /* NULL when the schema is not installed */
  char **recent;         /* the recent list without settings */
};

enum
{
  RECENT_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ChartaApplication, charta_application, ADW_TYPE_APPLICATION)

/* ---- recent locations --------------------------------------------------------------------- */

char **
charta_application_dup_recent (ChartaApplication *self)
{
  g_return_val_if_fail (CHARTA_IS_APPLICATION (self), NULL);

  if (self->settings != NULL)
    return g_settings_get_strv (self->settings, "recent-locations");
  return g_strdupv (self->recent);
}

static void
set_recent (ChartaApplication  *self,
            const char * const *locations)
{
  if (self->settings != NULL)
    g_settings_set_strv (self->settings, "recent-locations", locations);
  else
    {
      g_strfreev (self->recent);
      self->recent = g_strdupv ((char **) locations);
      g_signal_emit (self, signals[RECENT_CHANGED], 0);
    }
}

void
charta_application_add_recent (ChartaApplication *self,
                               const char        *location)
{
  g_auto(GStrv) old = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) locations = NULL;
  unsigned n = 1;

  g_return_if_fail (CHARTA_IS_APPLICATION (self));
  g_return_if_fail (location != NULL);

  old = charta_application_dup_recent (self);
  g_strv_builder_add (builder, location);
  for (char **l = old; *l != NULL && n < CHARTA_MAX_RECENT; l++)
    if (g_strcmp0 (*l, location) != 0)
      {
        g_strv_builder_add (builder, *l);
        n++;
      }
  locations = g_strv_builder_end (builder);
  set_recent (self, (const char * const *) locations);
}

void
charta_application_remove_recent (ChartaApplication *self,
                                  const char        *location)
{
  g_auto(GStrv) old = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) locations = NULL;

  g_return_if_fail (CHARTA_IS_APPLICATION (self));
  g_return_if_fail (location != NULL);

  old = charta_application_dup_recent (self);
  for (char **l = old; *l != NULL; l++)
    if (g_strcmp0 (*l, location) != 0)
      g_strv_builder_add (builder, *l);
  locations = g_strv_builder_end (builder);
  set_recent (self, (const char * const *) locations);
}

static void
settings_changed (ChartaApplication *self)
{
  g_signal_emit (self, signals[RECENT_CHANGED], 0);
}

GSettings *
charta_application_get_settings (ChartaApplication *self)
{
  g_return_val_if_fail (CHARTA_IS_APPLICATION (self), NULL);

  return self->settings;
}

/* ---- the user ---------------------------------------------------------------------------- */

/* Whether the settings have @key (a schema installed by an older version may not). */
static gboolean
has_key (ChartaApplication *self,
         const char        *key)
{
  g_autoptr(GSettingsSchema) schema = NULL;

  if (self->settings == NULL)
    return FALSE;
  g_object_get (self->settings, "settings-schema", &schema, NULL);
  return g_settings_schema_has_key (schema, key);
}

char *
charta_application_dup_user_name (ChartaApplication *self)
{
  g_autofree char *name = NULL;
  const char *real_name = g_get_real_name ();

  g_return_val_if_fail (CHARTA_IS_APPLICATION (self), NULL);

  if (has_key (self, "user-name"))
    name = g_strstrip (g_settings_get_string (self->settings, "user-name"));
  if (name != NULL && *name != '\0')
    return g_steal_pointer (&name);
  /* GLib says "Unknown" when the system has no real name. */
  if (real_name != NULL && *real_name != '\0' && g_strcmp0 (real_name, "Unknown") != 0)
    return g_strdup (real_name);
  return g_strdup (g_get_user_name ());
}

char *
charta_application_dup_user_reference (ChartaApplication *self)
{
  g_autofree char *reference = NULL;

  g_return_val_if_fail (CHARTA_IS_APPLICATION (self), NULL);

  if (!has_key (self, "user-reference"))
    return NULL;
  reference = g_strstrip (g_settings_get_string (self->settings, "user-reference"));
  return *reference != '\0' ? g_steal_pointer (&reference) : NULL;
}

/* ---- actions ------------------------------------------------------------------------------ */

static void
about_activated (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  GtkApplication *app = user_data;
  static const char *developers[] = { "The Charta developers", NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (app),
                        "application-name", "Charta",
                        "application-icon", CHARTA_APPLICATION_ID,
                        "version", CHARTA_VERSION,
                        "developer-name", "The Charta developers",
                        "developers", developers,
                        "comments", "Find patients, read their charts and correct records the "
                                    "way health information management requires. Speaks "
                                    "FHIR R4.",
                        "license-type", GTK_LICENSE_LGPL_2_1,
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
quit_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  GtkApplication *app = user_data;
  GList *windows = gtk_application_get_windows (app);

  /* Closing each window lets it save its size and stop its server. */
  while (windows != NULL)
    {
      GList *next = windows->next;

      gtk_window_close (windows->data);
      windows = next;
    }
}

static const GActionEntry app_actions[] = {
  { .name = "about", .activate = about_activated },
  { .name = "quit", .activate = quit_activated },
};

/* ---- GApplication ------------------------------------------------------------------------- */

static void
charta_application_startup (GApplication *application)
{
  GtkApplication *app = GTK_APPLICATION (application);
  static const char *quit[] = { "<Control>q", NULL };
  static const char *find[] = { "<Control>f", NULL };
  static const char *start[] = { "<Control>o", NULL };
  static const char *back[] = { "<Alt>Left", NULL };
  static const char *close[] = { "<Control>w", NULL };

  G_APPLICATION_CLASS (charta_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions),
                                   app);
  gtk_application_set_accels_for_action (app, "app.quit", quit);
  gtk_application_set_accels_for_action (app, "win.find", find);
  gtk_application_set_accels_for_action (app, "win.show-start", start);
  gtk_application_set_accels_for_action (app, "win.back", back);
  gtk_application_set_accels_for_action (app, "window.close", close);
}

static void
charta_application_activate (GApplication *application)
{
  ChartaWindow *window = charta_window_new (GTK_APPLICATION (application));

  gtk_window_present (GTK_WINDOW (window));
}

static int
charta_application_command_line (GApplication            *application,
                                 GApplicationCommandLine *command_line)
{
  GVariantDict *options = g_application_command_line_get_options_dict (command_line);
  g_autofree const char **remaining = NULL;
  const char *patient_id = NULL;
  const char *search = NULL;
  const char *resource = NULL;
  const char *show = NULL;
  ChartaWindowShow show_what = CHARTA_WINDOW_SHOW_DETAILS;
  g_autofree char *location = NULL;
  ChartaWindow *window;

  g_variant_dict_lookup (options, G_OPTION_REMAINING, "^a&ay", &remaining);
  g_variant_dict_lookup (options, "patient", "&s", &patient_id);
  g_variant_dict_lookup (options, "search", "&s", &search);
  g_variant_dict_lookup (options, "resource", "&s", &resource);
  g_variant_dict_lookup (options, "show", "&s", &show);

  if (remaining != NULL && remaining[0] != NULL && remaining[1] != NULL)
    {
      g_application_command_line_printerr (command_line,
                                           "charta-desktop: one store file or server URL at "
                                           "a time (got “%s” and “%s”)\n",
                                           remaining[0], remaining[1]);
      return 2;
    }
  if (remaining != NULL && remaining[0] != NULL)
    {
      if (charta_location_is_url (remaining[0]))
        location = g_strdup (remaining[0]);
      else
        {
          g_autoptr(GFile) file =
            g_application_command_line_create_file_for_arg (command_line, remaining[0]);

          location = g_file_get_path (file);
        }
    }
  if ((patient_id != NULL || search != NULL || resource != NULL) && location == NULL)
    {
      g_application_command_line_printerr (command_line,
                                           "charta-desktop: --%s needs a store file or a "
                                           "server URL to open\n",
                                           patient_id != NULL ? "patient"
                                           : search != NULL ? "search" : "resource");
      return 2;
    }
  if (resource != NULL && (strchr (resource, '/') == NULL || resource[0] == '/'
                           || g_str_has_suffix (resource, "/")))
    {
      g_application_command_line_printerr (command_line,
                                           "charta-desktop: --resource wants TYPE/ID, such "
                                           "as Observation/obs-1 (got “%s”)\n", resource);
      return 2;
    }
  if (show != NULL)
    {
      if (resource == NULL)
        {
          g_application_command_line_printerr (command_line,
                                               "charta-desktop: --show needs --resource\n");
          return 2;
        }
      if (g_strcmp0 (show, "history") == 0)
        show_what = CHARTA_WINDOW_SHOW_HISTORY;
      else if (g_strcmp0 (show, "correction") == 0)
        show_what = CHARTA_WINDOW_SHOW_CORRECTION;
      else if (g_strcmp0 (show, "details") != 0)
        {
          g_application_command_line_printerr (command_line,
                                               "charta-desktop: --show wants details, history "
                                               "or correction (got “%s”)\n", show);
          return 2;
        }
    }

  window = charta_window_new (GTK_APPLICATION (application));
  gtk_window_present (GTK_WINDOW (window));
  if (search != NULL)
    charta_window_search (window, search);
  if (resource != NULL)
    charta_window_show_resource (window, resource, show_what);
  if (location != NULL)
    charta_window_open (window, location, patient_id);
  return 0;
}

static void
charta_application_dispose (GObject *object)
{
  ChartaApplication *self = CHARTA_APPLICATION (object);

  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (charta_application_parent_class)->dispose (object);
}

static void
charta_application_finalize (GObject *object)
{
  ChartaApplication *self = CHARTA_APPLICATION (object);

  g_strfreev (self->recent);

  G_OBJECT_CLASS (charta_application_parent_class)->finalize (object);
}

static void
charta_application_class_init (ChartaApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = charta_application_dispose;
  object_class->finalize = charta_application_finalize;
  app_class->startup = charta_application_startup;
  app_class->activate = charta_application_activate;
  app_class->command_line = charta_application_command_line;

  /* The recent list changed. */
  signals[RECENT_CHANGED] =
    g_signal_new ("recent-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
charta_application_init (ChartaApplication *self)
{
  static const GOptionEntry entries[] = {
    { "patient", 'p', 0, G_OPTION_ARG_STRING, NULL,
      "Open the chart of the patient with this id", "ID" },
    { "search", 's', 0, G_OPTION_ARG_STRING, NULL,
      "Search the patients for this name, birth date or MRN", "TEXT" },
    { "resource", 'r', 0, G_OPTION_ARG_STRING, NULL,
      "Open this record beside the chart", "TYPE/ID" },
    { "show", 0, 0, G_OPTION_ARG_STRING, NULL,
      "What to show of the record: details (the default), history or correction",
      "details|history|correction" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, NULL, NULL,
      "[STORE-FILE|URL]" },
    { NULL },
  };
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), "[STORE-FILE|URL]");
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            "Browse and correct FHIR health records: a Charta "
                                            "store file on this computer, or a FHIR server.");

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, CHARTA_APPLICATION_ID, TRUE);
  if (schema != NULL)
    {
      self->settings = g_settings_new_full (schema, NULL, NULL);
      g_signal_connect_swapped (self->settings, "changed::recent-locations",
                                G_CALLBACK (settings_changed), self);
    }
  else
    {
      g_message ("The settings schema %s is not installed: recent stores are remembered for "
                 "this session only (run through `meson devenv` to use the build's)",
                 CHARTA_APPLICATION_ID);
      self->recent = g_new0 (char *, 1);
    }
}

ChartaApplication *
charta_application_new (void)
{
  return g_object_new (CHARTA_TYPE_APPLICATION,
                       "application-id", CHARTA_APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_COMMAND_LINE,
                       "resource-base-path", "/org/charta/Desktop",
                       NULL);
}
