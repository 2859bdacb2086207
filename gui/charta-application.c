/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-application.c: Charta desktop's application object (see charta-application.h).
 *
 * The command line is handled in the primary instance (G_APPLICATION_HANDLES_COMMAND_LINE):
 * a relative store path is resolved against the invoking shell's folder, a URL is kept as it
 * is, and a new window opens it.  Accelerators and the about window live here.
 *
 * --timings (for bench/bench-desktop.c): with a location and --patient and/or --search, the
 * window opens as usual and the command line prints, as "NAME VALUE" lines on the invoker's
 * standard output, how long each step took until it was on screen, then the window closes and
 * the invocation ends (status 0; 1 with a sentence on standard error when the location, the
 * chart or the search fails, or nothing is done after TIMINGS_LIMIT_SECONDS).  "On screen" is
 * the first frame the window's GdkFrameClock paints ("after-paint") once the step is done.
 * Clocks start at the request, not at process start:
 *
 *   startup-ms          process start (from /proc, to 10 ms) to the window's first frame
 *   open-ms             charta_window_open() to the finder having the location's client
 *   chart-complete-ms   charta_window_open() to the frame after the chart's "complete"
 *   chart-view-ms       the chart view being given the patient to that same frame
 *   list-complete-ms    charta_window_open() to the frame after the finder's first listing
 *   search-complete-ms  charta_window_search() to the frame after its first page is listed
 *   search-results N    patients listed then;  search-total N: Bundle.total (-1: not given)
 *
 * The location is tried first, untimed, the way the window opens it (a store file served by a
 * ChartaLocalServer, a URL's /metadata), so that an unusable one is an error rather than a
 * start page waiting for a person.  The search waits for the chart and for the finder's first
 * listing, so that each is timed alone.  The run is a nested main loop in the command-line
 * handler, whose return value is the exit status (after the main loop has run, GApplication
 * would report 0 whatever happened).  The chart view and the finder are found in the window's
 * widget tree by their types; a search is done once the first page of its ChartaPatientList
 * is in (or failed).  startup-ms is printed only when this process is the one invoked.
 */
#define G_LOG_DOMAIN "charta-application"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "charta-application.h"
#include "charta-chart-view.h"
#include "charta-config.h"
#include "charta-fhir-text.h"
#include "charta-local-server.h"
#include "charta-patient-finder.h"
#include "charta-patient-list.h"
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

/* ---- --timings ---------------------------------------------------------------------------- */

/* How long --timings waits for what it times before it gives up. */
#define TIMINGS_LIMIT_SECONDS 120

/* What the next frame will show, for --timings (bits). */
typedef enum
{
  PAINT_CHART   = 1 << 0,   /* the complete chart */
  PAINT_LISTING = 1 << 1,   /* the finder's first listing, on opening */
  PAINT_SEARCH  = 1 << 2,   /* the first page of the search */
} TimingsPaint;

/* One --timings run.  Times are g_get_monotonic_time() µs, 0 until they happen. */
typedef struct
{
  GApplicationCommandLine *command_line;
  ChartaWindow *window;
  ChartaChartView *chart_view;        /* the window's */
  ChartaPatientFinder *finder;        /* the window's */
  ChartaPatientList *results;         /* the finder's search being waited for */
  GdkFrameClock *frame_clock;         /* the window's */
  const char *location;
  const char *patient_id;             /* the chart to time, or NULL */
  const char *search;                 /* the search to time, or NULL */
  unsigned waiting_paint;             /* TimingsPaint: what the next frame shows */
  gboolean checking;                  /* the location is being tried */
  GCancellable *cancellable;          /* of that */
  guint limit_id;
  int status;                         /* the exit status; -1 while running */

  int64_t process_start;              /* -1 when unknown */
  int64_t first_paint;
  int64_t open_start;                 /* charta_window_open() */
  int64_t opened;                     /* the finder was given the location's client */
  int64_t chart_start;                /* the chart view was given the patient */
  int64_t chart_painted;
  int64_t listing_painted;
  int64_t search_start;               /* charta_window_search() */
  int64_t search_painted;
  unsigned n_results;                 /* listed by the search's first page */
  int64_t total;                      /* its Bundle.total, -1 when not given */
} Timings;

/* When this process started, on g_get_monotonic_time()'s clock, or -1 when unknown.  Linux
 * gives it in /proc/self/stat (field 22) in clock ticks since boot, so it is known to a tick. */
static int64_t
process_start_time (void)
{
  g_autofree char *stat = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after_name;
  struct timespec boot;
  long ticks = sysconf (_SC_CLK_TCK);
  uint64_t start;
  int64_t boot_us;

  if (ticks <= 0 || clock_gettime (CLOCK_BOOTTIME, &boot) != 0
      || !g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL))
    return -1;
  /* The command name before the fields may hold spaces and parentheses: skip to its last ')'. */
  after_name = strrchr (stat, ')');
  if (after_name == NULL)
    return -1;
  fields = g_strsplit (after_name + 1, " ", -1);
  /* fields[0] is the empty text before the first space, fields[1] field 3 (the state). */
  if (g_strv_length (fields) < 21)
    return -1;
  start = g_ascii_strtoull (fields[20], NULL, 10);
  boot_us = (int64_t) boot.tv_sec * G_USEC_PER_SEC + boot.tv_nsec / 1000;
  return g_get_monotonic_time () - (boot_us - (int64_t) (start * G_USEC_PER_SEC / ticks));
}

/* The first widget of @type under @widget (depth first, hidden ones too), or NULL. */
static GtkWidget *
find_descendant (GtkWidget *widget,
                 GType      type)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type))
        return child;
      found = find_descendant (child, type);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
timings_fail (Timings    *t,
              const char *format,
              ...) G_GNUC_PRINTF (2, 3);

static void
timings_fail (Timings    *t,
              const char *format,
              ...)
{
  g_autofree char *message = NULL;
  va_list args;

  if (t->status >= 0)
    return;
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_application_command_line_printerr (t->command_line, "charta-desktop: --timings: %s\n",
                                       message);
  t->status = 1;
}

static void
timings_print (Timings    *t,
               const char *name,
               int64_t     from,
               int64_t     to)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];

  if (from <= 0 || to == 0)
    return;
  /* Not printf's %f: a locale may write a decimal comma. */
  g_ascii_formatd (text, sizeof text, "%.1f", (double) (to - from) / 1000.0);
  g_application_command_line_print (t->command_line, "%s %s\n", name, text);
}

static void
wait_paint (Timings      *t,
            TimingsPaint  what)
{
  t->waiting_paint |= what;
  /* A step that changed nothing on screen still gets its frame. */
  gdk_frame_clock_request_phase (t->frame_clock, GDK_FRAME_CLOCK_PHASE_PAINT);
}

static void results_loading_changed (Timings *t);

/* Waits for the first page of the finder's current search. */
static void
watch_results (Timings *t)
{
  GListModel *results = charta_patient_finder_get_results (t->finder);

  if (t->results != NULL)
    g_signal_handlers_disconnect_by_data (t->results, t);
  g_clear_object (&t->results);
  if (results == NULL)
    {
      timings_fail (t, "the finder did not search");
      return;
    }
  t->results = g_object_ref (CHARTA_PATIENT_LIST (results));
  /* After the finder's own handlers, which were connected first. */
  g_signal_connect_swapped (t->results, "notify::loading", G_CALLBACK (results_loading_changed),
                            t);
  g_signal_connect_data (t->results, "items-changed", G_CALLBACK (results_loading_changed), t,
                         NULL, G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  results_loading_changed (t);
}

/* The search is done once its first page is in (or failed): the list view may ask for the next
 * page as soon as the first page's items are added, and that one is not timed. */
static void
results_loading_changed (Timings *t)
{
  const char *error_message = charta_patient_list_get_error_message (t->results);

  if (charta_patient_list_get_n_pages (t->results) == 0 && error_message == NULL)
    return;
  g_signal_handlers_disconnect_by_data (t->results, t);
  if (error_message != NULL)
    {
      timings_fail (t, "the %s failed: %s", t->search_start != 0 ? "search" : "first listing",
                    error_message);
      return;
    }
  if (t->search_start != 0)
    {
      t->n_results = g_list_model_get_n_items (G_LIST_MODEL (t->results));
      t->total = charta_patient_list_get_total (t->results);
      wait_paint (t, PAINT_SEARCH);
    }
  else
    wait_paint (t, PAINT_LISTING);
}

/* Moves on after each step: the search once the chart and the first listing are on screen;
 * the end once everything is. */
static void
timings_step (Timings *t)
{
  gboolean chart_done = t->patient_id == NULL || t->chart_painted != 0;

  if (t->status >= 0)
    return;
  if (t->search != NULL && t->search_start == 0 && t->listing_painted != 0 && chart_done)
    {
      t->search_start = g_get_monotonic_time ();
      charta_window_search (t->window, t->search);
      watch_results (t);
    }
  if (t->first_paint != 0 && chart_done && (t->search == NULL || t->search_painted != 0))
    t->status = 0;
}

static void
timings_after_paint (Timings       *t,
                     GdkFrameClock *frame_clock)
{
  int64_t now = g_get_monotonic_time ();
  unsigned painted = t->waiting_paint;

  t->waiting_paint = 0;
  if (t->first_paint == 0)
    t->first_paint = now;
  if (painted & PAINT_CHART)
    t->chart_painted = now;
  if (painted & PAINT_LISTING)
    t->listing_painted = now;
  if (painted & PAINT_SEARCH)
    t->search_painted = now;
  timings_step (t);
}

static void
timings_finder_client_changed (Timings *t)
{
  if (t->opened != 0 || charta_patient_finder_get_client (t->finder) == NULL)
    return;
  t->opened = g_get_monotonic_time ();
  /* Giving the finder its client started the listing of every patient. */
  if (t->search != NULL)
    watch_results (t);
}

static void
timings_chart_patient_changed (Timings *t)
{
  if (t->chart_start == 0 && t->patient_id != NULL
      && g_strcmp0 (charta_chart_view_get_patient_id (t->chart_view), t->patient_id) == 0)
    t->chart_start = g_get_monotonic_time ();
}

static void
timings_chart_complete_changed (Timings *t)
{
  if (t->chart_start == 0 || t->chart_painted != 0 || (t->waiting_paint & PAINT_CHART)
      || !charta_chart_view_is_complete (t->chart_view)
      || g_strcmp0 (charta_chart_view_get_patient_id (t->chart_view), t->patient_id) != 0)
    return;
  /* Complete without a title: the Patient could not be read (the window says why). */
  if (charta_chart_view_get_title (t->chart_view) == NULL)
    {
      timings_fail (t, "could not read Patient/%s from %s", t->patient_id, t->location);
      return;
    }
  wait_paint (t, PAINT_CHART);
}

static void
timings_window_destroyed (Timings *t)
{
  timings_fail (t, "the window was closed");
}

static gboolean
timings_limit_reached (gpointer data)
{
  Timings *t = data;

  t->limit_id = 0;
  timings_fail (t, "gave up after %d s (opened: %s; chart: %s; search: %s)",
                TIMINGS_LIMIT_SECONDS, t->opened != 0 ? "yes" : "no",
                t->patient_id == NULL ? "not asked" : t->chart_painted != 0 ? "shown" : "not yet",
                t->search == NULL ? "not asked" : t->search_painted != 0 ? "shown" : "not yet");
  return G_SOURCE_REMOVE;
}

/* The clock starts here. */
static void
timings_open (Timings *t)
{
  t->open_start = g_get_monotonic_time ();
  charta_window_open (t->window, t->location, t->patient_id);
}

static void
timings_server_checked (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  Timings *t = user_data;
  g_autoptr(ChartaLocalServer) server = NULL;
  g_autoptr(GError) error = NULL;

  t->checking = FALSE;
  server = charta_local_server_start_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (server == NULL)
    {
      timings_fail (t, "%s", error->message);
      return;
    }
  /* The window serves the store itself, timed. */
  charta_local_server_stop (server);
  timings_open (t);
}

static void
timings_metadata_checked (GObject      *source,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  Timings *t = user_data;
  g_autoptr(JsonNode) capability = NULL;
  g_autoptr(GError) error = NULL;

  t->checking = FALSE;
  capability = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (capability == NULL)
    timings_fail (t, "could not open %s: %s", t->location, error->message);
  else if (!JSON_NODE_HOLDS_OBJECT (capability)
           || g_strcmp0 (charta_json_get_string (json_node_get_object (capability),
                                                 "resourceType"),
                         "CapabilityStatement") != 0)
    timings_fail (t, "%s answered [base]/metadata with something other than a "
                     "CapabilityStatement", t->location);
  else
    timings_open (t);
}

/* Opens @location in @window and times what was asked (see the top of this file); the exit
 * status. */
static int
run_timings (GApplicationCommandLine *command_line,
             ChartaWindow            *window,
             const char              *location,
             const char              *patient_id,
             const char              *search)
{
  Timings t = {
    .command_line = command_line,
    .window = g_object_ref (window),
    .location = location,
    .patient_id = patient_id,
    .search = search,
    .status = -1,
    .total = -1,
    .process_start = process_start_time (),
  };
  g_autoptr(ChartaClient) check_client = NULL;

  t.chart_view = CHARTA_CHART_VIEW (find_descendant (GTK_WIDGET (window),
                                                     CHARTA_TYPE_CHART_VIEW));
  t.finder = CHARTA_PATIENT_FINDER (find_descendant (GTK_WIDGET (window),
                                                     CHARTA_TYPE_PATIENT_FINDER));
  g_assert (t.chart_view != NULL && t.finder != NULL);
  g_signal_connect_swapped (t.chart_view, "notify::patient-id",
                            G_CALLBACK (timings_chart_patient_changed), &t);
  g_signal_connect_swapped (t.chart_view, "notify::complete",
                            G_CALLBACK (timings_chart_complete_changed), &t);
  g_signal_connect_swapped (t.finder, "notify::client",
                            G_CALLBACK (timings_finder_client_changed), &t);
  g_signal_connect_swapped (window, "destroy", G_CALLBACK (timings_window_destroyed), &t);

  gtk_window_present (GTK_WINDOW (window));
  t.frame_clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));
  g_assert (t.frame_clock != NULL);
  g_object_ref (t.frame_clock);
  g_signal_connect_swapped (t.frame_clock, "after-paint", G_CALLBACK (timings_after_paint),
                            &t);
  t.limit_id = g_timeout_add_seconds (TIMINGS_LIMIT_SECONDS, timings_limit_reached, &t);

  t.cancellable = g_cancellable_new ();
  t.checking = TRUE;
  if (charta_location_is_url (location))
    {
      check_client = charta_client_new (location);
      charta_client_get_async (check_client, "metadata?_summary=true", t.cancellable,
                               timings_metadata_checked, &t);
    }
  else
    charta_local_server_start_async (location, t.cancellable, timings_server_checked, &t);

  while (t.status < 0)
    g_main_context_iteration (NULL, TRUE);

  /* Nothing may call back into @t once it is gone. */
  g_cancellable_cancel (t.cancellable);
  while (t.checking)
    g_main_context_iteration (NULL, TRUE);
  g_clear_handle_id (&t.limit_id, g_source_remove);
  g_signal_handlers_disconnect_by_data (t.chart_view, &t);
  g_signal_handlers_disconnect_by_data (t.finder, &t);
  g_signal_handlers_disconnect_by_data (window, &t);
  g_signal_handlers_disconnect_by_data (t.frame_clock, &t);
  if (t.results != NULL)
    g_signal_handlers_disconnect_by_data (t.results, &t);

  if (t.status == 0)
    {
      if (!g_application_command_line_get_is_remote (command_line))
        timings_print (&t, "startup-ms", t.process_start, t.first_paint);
      timings_print (&t, "open-ms", t.open_start, t.opened);
      timings_print (&t, "chart-complete-ms", t.open_start, t.chart_painted);
      timings_print (&t, "chart-view-ms", t.chart_start, t.chart_painted);
      timings_print (&t, "list-complete-ms", t.open_start, t.listing_painted);
      timings_print (&t, "search-complete-ms", t.search_start, t.search_painted);
      if (t.search != NULL)
        g_application_command_line_print (command_line,
                                          "search-results %u\nsearch-total %" G_GINT64_FORMAT
                                          "\n", t.n_results, t.total);
    }

  /* Destroyed, not closed: the window's size is not saved. */
  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&t.results);
  g_object_unref (t.frame_clock);
  g_object_unref (t.cancellable);
  g_object_unref (t.window);
  return t.status;
}

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
  gboolean timings = FALSE;
  g_autofree char *location = NULL;
  ChartaWindow *window;

  g_variant_dict_lookup (options, G_OPTION_REMAINING, "^a&ay", &remaining);
  g_variant_dict_lookup (options, "patient", "&s", &patient_id);
  g_variant_dict_lookup (options, "search", "&s", &search);
  g_variant_dict_lookup (options, "resource", "&s", &resource);
  g_variant_dict_lookup (options, "show", "&s", &show);
  g_variant_dict_lookup (options, "timings", "b", &timings);

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

  if (timings && ((patient_id == NULL && search == NULL) || resource != NULL))
    {
      g_application_command_line_printerr (command_line,
                                           "charta-desktop: --timings times --patient and "
                                           "--search (at least one, and no --resource)\n");
      return 2;
    }

  window = charta_window_new (GTK_APPLICATION (application));
  if (timings)
    return run_timings (command_line, window, location, patient_id, search);
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
    { "timings", 0, 0, G_OPTION_ARG_NONE, NULL,
      "With --patient and/or --search: print how many ms the chart and the search took to be "
      "on screen (chart-complete-ms, search-complete-ms, …), then quit", NULL },
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
