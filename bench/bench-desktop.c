/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * bench-desktop.c: how long Charta desktop takes to put a chart and a finder search on screen,
 * beside the same HTTP requests made bare.
 *
 *   ninja -C build bench/bench-desktop
 *   xvfb-run -a -s '-screen 0 1280x800x24' build/bench/bench-desktop [--runs N] [--dir DIR]
 *       [--keep] [--reuse] [--patients N] [--renderer NAME] [--show-requests] [CORPUS]
 *
 * Needs a display (DISPLAY; Xvfb as above does).  CORPUS defaults to $CHARTA_CORPUS, else
 * ../shared/corpus, else the one beside the source tree.  The programs are the build's
 * charta and charta-desktop ($CHARTA_BIN and $CHARTA_DESKTOP override them).  Every run of
 * the app is `charta-desktop --timings …` (see gui/charta-application.c) in a fresh process,
 * with the build's settings schema, settings in memory, no accessibility bus, no session bus
 * (so that each run is its own instance), GDK_BACKEND=x11 and GSK_RENDERER=cairo, the tests'
 * renderer (--renderer NAME sets another; "default" leaves GTK to choose, which under Xvfb
 * is OpenGL drawn by Mesa's software rasterizer).  Each figure is the median of --runs runs
 * (default 5) after one untimed warm-up run, with the smallest and the largest.
 *
 * 1. The chart.  The patient bundle of CORPUS/synthea with the most entries (ties: the larger
 *    file) is imported with `charta import --fast`, after the hospital and practitioner
 *    bundles it refers to, into a new store in a temporary folder in DIR (default: the
 *    temporary folder); then `charta-desktop --timings --patient ID STORE`.  Printed:
 *    chart-complete-ms (from the window being asked to open the store and the chart to the
 *    first frame painted after the chart is complete: the figure the target is about),
 *    chart-view-ms (the same end, from the chart view being given the patient, i.e. without
 *    opening the store), open-ms and startup-ms (process start to the first frame).
 *
 *    The ceiling, measured in the same run: the requests the app made for that chart (its
 *    paths read off one untimed run of the app through a small recording proxy of ours; which
 *    one waited for which answer read off the app's client log, see requests_from_log()),
 *    replayed with a SoupSession (libsoup's defaults, as the app's ChartaClient has them)
 *    against `charta serve` of the same store: each request sent as soon as the answer it
 *    waited for in the app is in, bodies read, not parsed ("+ parse": parsed with json-glib
 *    too, on this thread).  What the app cannot beat.  The same replay with 8 connections per
 *    host shows whether libsoup's limit of 2 per host costs anything.  --show-requests lists
 *    the requests (their paths hold ids, never names).
 *
 * 2. The finder.  A store of --patients synthetic Patients (default 100,000) in DIR,
 *    bench-desktop-patients.charta, made by this program through the library
 *    (charta_store_transaction() of 1,000 creates at a time, synchronous=NORMAL): family
 *    names drawn evenly from 1,000 made-up ones (about 100 patients each) and 30 rare ones (3
 *    each), one or two given names from a fixed list, birth dates evenly over 1930-2019
 *    (about 3 patients a day), an MRN each (identifier of type v2-0203 MR), and 2% copies of
 *    an earlier patient's names and birth date under a new MRN (possible duplicates).  The
 *    draw is seeded: the same store every time.  --keep leaves it, --reuse (which implies
 *    --keep) reuses the one left in DIR when it holds exactly --patients Patients.  Then, for
 *    each query, `charta-desktop --timings --search TEXT STORE`: search-complete-ms, from the
 *    search being started in the open finder to the first frame painted after its first page
 *    is listed (the finder has listed every patient, its first listing on opening, before;
 *    that is list-complete-ms).  The queries: the most frequent family name, a rare one, a
 *    given and family name, a birth date, a birth year and an MRN; only their kinds are
 *    printed, never the names.  Matches: the patients the finder listed and the Bundle.total
 *    the server gave ("-" when not given), beside the number this program expects from the
 *    data it made (a name word matches a family or given name that starts with it, ignoring
 *    case; a date the birth date or its year; an MRN its patient).
 *
 *    The ceiling: the finder's search URL (charta_patient_list_query_for_text(), as the
 *    finder makes it) fetched with a SoupSession from `charta serve` of the same store, and
 *    the same with the JSON parsed.
 *
 * Last, one line per target: the chart complete on screen within 500 ms of the request
 * (chart-complete-ms); every finder search within 200 ms on the --patients store
 * (search-complete-ms).  This is a benchmark, never a timed test: the machine is shared and
 * noisy.  The exit status is 1 when the app fails, gives no timings or lists other matches
 * than expected; 2 for a usage error (no display).  Nothing that names a patient is printed:
 * ids and numbers only.
 */
#define G_LOG_DOMAIN "charta-bench"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "charta-patient-list.h"
#include "charta-server.h"
#include "charta-store.h"

#define TARGET_CHART_MS 500.0
#define TARGET_SEARCH_MS 200.0
#define BATCH 1000                 /* creates per transaction when making the patients */
#define N_FAMILIES 1000            /* made-up common family names (prefix × suffix) */
#define N_RARE 30                  /* rare family names … */
#define RARE_EACH 3                /* … each this many patients */
#define DUPLICATE_PERCENT 2
#define WIDE_CONNECTIONS 8         /* the replay's second, wider session */
#define MRN_SYSTEM "urn:oid:2.16.840.1.113883.19.5.99999.2"
#define V2_0203 "http://terminology.hl7.org/CodeSystem/v2-0203"

static unsigned n_runs = 5;
static char *work_dir;
static gboolean keep_files;
static gboolean reuse_files;
static unsigned n_patients = 100000;
static char *renderer;
static gboolean show_requests;

/* ---- helpers ------------------------------------------------------------------------------ */

static int64_t
now_us (void)
{
  return g_get_monotonic_time ();
}

G_NORETURN static void
fail (const char   *what,
      const GError *error)
{
  fprintf (stderr, "bench-desktop: %s%s%s\n", what, error != NULL ? ": " : "",
           error != NULL ? error->message : "");
  exit (1);
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

typedef struct
{
  double median, min, max;
  unsigned n;
} Summary;

/* Median (the mean of the middle two for an even count), smallest and largest of @values. */
static Summary
summarize (GArray *values)
{
  g_autofree double *v = g_memdup2 (values->data, values->len * sizeof (double));
  Summary s = { -1, -1, -1, values->len };
  unsigned n = values->len;

  if (n == 0)
    return s;
  qsort (v, n, sizeof (double), compare_double);
  s.median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.min = v[0];
  s.max = v[n - 1];
  return s;
}

static void
remove_store (const char *path)
{
  static const char *suffixes[] = { "", "-wal", "-shm", "-journal" };

  for (unsigned i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *name = g_strconcat (path, suffixes[i], NULL);

      g_remove (name);
    }
}

/* A program of the build, or the one $@variable names. */
static const char *
program (const char *variable,
         const char *built)
{
  const char *path = g_getenv (variable);

  path = path != NULL && *path != '\0' ? path : built;
  if (!g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    {
      fprintf (stderr, "bench-desktop: %s is not there: build it (ninja -C BUILD) or set %s\n",
               path, variable);
      exit (1);
    }
  return path;
}

/* ---- the app ------------------------------------------------------------------------------ */

typedef struct
{
  GHashTable *values;   /* "chart-complete-ms" → double * */
  char *out;            /* its standard output (where GLib writes debug messages too) */
  char *err;            /* its standard error */
  double wall_ms;       /* spawn to exit */
} AppRun;

static void
app_run_clear (AppRun *run)
{
  g_clear_pointer (&run->values, g_hash_table_unref);
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

static const char *desktop_path;
static const char *schema_dir;

typedef struct
{
  gboolean done;
  char *out;
  char *err;
  GError *error;
} Communication;

static void
communicated (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Communication *c = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &c->out, &c->err,
                                        &c->error);
  c->done = TRUE;
}

/* Runs charta-desktop --timings with @args (after those) until it exits, its client logging
 * its requests when @log_requests; FALSE when it failed (its stderr in @run). */
static gboolean
run_app (const char * const *args,
         gboolean            log_requests,
         AppRun             *run)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) subprocess = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  Communication c = { 0 };
  int64_t t0;

  g_ptr_array_add (argv, (gpointer) desktop_path);
  g_ptr_array_add (argv, "--timings");
  for (; *args != NULL; args++)
    g_ptr_array_add (argv, (gpointer) *args);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "GSETTINGS_SCHEMA_DIR", schema_dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "GSETTINGS_BACKEND", "memory", TRUE);
  g_subprocess_launcher_setenv (launcher, "GTK_A11Y", "none", TRUE);
  g_subprocess_launcher_setenv (launcher, "NO_AT_BRIDGE", "1", TRUE);
  g_subprocess_launcher_setenv (launcher, "GDK_BACKEND", "x11", TRUE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                "unix:path=/nonexistent/charta-bench-bus", TRUE);
  if (log_requests)
    g_subprocess_launcher_setenv (launcher, "G_MESSAGES_DEBUG", "charta-client", TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "G_MESSAGES_DEBUG");
  if (g_strcmp0 (renderer, "default") == 0)
    g_subprocess_launcher_unsetenv (launcher, "GSK_RENDERER");
  else
    g_subprocess_launcher_setenv (launcher, "GSK_RENDERER", renderer, TRUE);

  t0 = now_us ();
  subprocess = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                             &error);
  if (subprocess == NULL)
    fail (desktop_path, error);
  g_subprocess_communicate_utf8_async (subprocess, NULL, NULL, communicated, &c);
  while (!c.done)
    g_main_context_iteration (NULL, TRUE);
  run->wall_ms = (now_us () - t0) / 1000.0;
  if (c.error != NULL)
    fail ("reading charta-desktop's output", c.error);
  run->err = g_steal_pointer (&c.err);
  run->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  run->out = c.out != NULL ? g_steal_pointer (&c.out) : g_strdup ("");
  lines = g_strsplit (run->out, "\n", -1);
  for (char **line = lines; *line != NULL; line++)
    {
      const char *space = strchr (*line, ' ');
      char *end = NULL;
      double value;

      if (space == NULL)
        continue;
      value = g_ascii_strtod (space + 1, &end);
      if (end == space + 1)
        continue;
      g_hash_table_insert (run->values, g_strndup (*line, space - *line),
                           g_memdup2 (&value, sizeof value));
    }
  return g_subprocess_get_if_exited (subprocess) && g_subprocess_get_exit_status (subprocess) == 0;
}

static double
app_value (AppRun     *run,
           const char *name)
{
  double *value = g_hash_table_lookup (run->values, name);

  if (value == NULL)
    {
      fprintf (stderr, "bench-desktop: charta-desktop --timings printed no %s; its stderr:\n%s",
               name, run->err != NULL ? run->err : "");
      exit (1);
    }
  return *value;
}

/* Runs the app once untimed, then --runs times, appending each of @names' values (NULL-ended)
 * to the arrays of @figures (one GArray of double per name). */
static void
run_app_timed (const char * const *args,
               const char * const *names,
               GArray            **figures,
               AppRun             *last)
{
  for (unsigned i = 0; i <= n_runs; i++)
    {
      AppRun run = { 0 };

      if (!run_app (args, FALSE, &run))
        {
          fprintf (stderr, "bench-desktop: charta-desktop --timings failed; its stderr:\n%s",
                   run.err != NULL ? run.err : "");
          exit (1);
        }
      for (unsigned j = 0; i > 0 && names[j] != NULL; j++)
        {
          double value = app_value (&run, names[j]);

          g_array_append_val (figures[j], value);
        }
      app_run_clear (last);
      *last = run;
    }
}

static void
print_summary (const char *label,
               GArray     *values)
{
  Summary s = summarize (values);

  printf ("  %-36s %9.1f ms   (min %.1f, max %.1f)\n", label, s.median, s.min, s.max);
}

/* ---- charta serve ------------------------------------------------------------------------- */

typedef struct
{
  GSubprocess *process;
  char *base_url;       /* "http://127.0.0.1:PORT/fhir" */
  char *origin;         /* "http://127.0.0.1:PORT" */
} Serve;

static void
serve_start (Serve      *serve,
             const char *charta,
             const char *store_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GUri) uri = NULL;
  size_t length;

  serve->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                     | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error, charta,
                                     "serve", "--listen", "127.0.0.1:0", "--read-only",
                                     store_path, NULL);
  if (serve->process == NULL)
    fail ("charta serve", error);
  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (serve->process));
  serve->base_url = g_data_input_stream_read_line_utf8 (lines, &length, NULL, &error);
  if (serve->base_url == NULL)
    fail ("charta serve printed no base URL", error);
  uri = g_uri_parse (serve->base_url, G_URI_FLAGS_NONE, &error);
  if (uri == NULL)
    fail ("charta serve's base URL", error);
  serve->origin = g_strdup_printf ("http://%s:%d", g_uri_get_host (uri), g_uri_get_port (uri));
}

static void
serve_stop (Serve *serve)
{
  g_subprocess_send_signal (serve->process, SIGTERM);
  g_subprocess_wait (serve->process, NULL, NULL);
  g_clear_object (&serve->process);
  g_clear_pointer (&serve->base_url, g_free);
  g_clear_pointer (&serve->origin, g_free);
}

/* GET @url; the body (the status must be 200), with the time it took in *ms. */
static GBytes *
fetch (SoupSession *session,
       const char  *url,
       gboolean     parse,
       double      *ms)
{
  g_autoptr(SoupMessage) msg = soup_message_new (SOUP_METHOD_GET, url);
  g_autoptr(GError) error = NULL;
  GBytes *body;
  int64_t t0 = now_us ();

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept",
                                "application/fhir+json");
  body = soup_session_send_and_read (session, msg, NULL, &error);
  if (body == NULL || soup_message_get_status (msg) != SOUP_STATUS_OK)
    fail ("a GET of the ceiling", error);
  if (parse)
    {
      g_autoptr(JsonParser) parser = json_parser_new_immutable ();

      if (!json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                                       (gssize) g_bytes_get_size (body), &error))
        fail ("parsing an answer", error);
    }
  *ms = (now_us () - t0) / 1000.0;
  return body;
}

/* ---- the recording proxy ------------------------------------------------------------------ */

typedef struct
{
  char *path;           /* "/fhir/Condition?patient=…", as the app asked */
  char *type;           /* its first path segment after the base: "Condition", "metadata" */
  int64_t arrived;      /* at the proxy */
  int64_t answered;     /* the proxy sent the answer */
  int parent;           /* the request whose answer it waited for, -1: none */
} Recorded;

static void
recorded_free (Recorded *r)
{
  g_free (r->path);
  g_free (r->type);
  g_free (r);
}

typedef struct
{
  SoupServer *server;
  SoupSession *upstream;
  const char *origin;   /* charta serve's */
  char *base_url;       /* the proxy's "http://127.0.0.1:PORT/fhir" */
  GPtrArray *recorded;  /* Recorded * in order of arrival */
} Proxy;

typedef struct
{
  Proxy *proxy;
  SoupServerMessage *msg;
  SoupMessage *forward;
  Recorded *recorded;
} Forward;

static void
forwarded (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Forward *f = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                              &error);
  const char *type = soup_message_headers_get_content_type (
    soup_message_get_response_headers (f->forward), NULL);

  if (body == NULL)
    soup_server_message_set_status (f->msg, SOUP_STATUS_BAD_GATEWAY, NULL);
  else
    {
      gsize length;
      const void *data = g_bytes_get_data (body, &length);

      soup_server_message_set_status (f->msg, soup_message_get_status (f->forward), NULL);
      soup_server_message_set_response (f->msg, type != NULL ? type : "application/fhir+json",
                                        SOUP_MEMORY_COPY, data, length);
    }
  soup_server_message_unpause (f->msg);
  f->recorded->answered = now_us ();
  g_object_unref (f->msg);
  g_object_unref (f->forward);
  g_free (f);
}

/* The resource type (or operation) a FHIR path asks for: its first segment after the base. */
static char *
path_type (const char *path)
{
  const char *start = path;
  size_t length;

  if (g_str_has_prefix (start, CHARTA_SERVER_DEFAULT_BASE_PATH "/"))
    start += strlen (CHARTA_SERVER_DEFAULT_BASE_PATH "/");
  length = strcspn (start, "/?");
  return g_strndup (start, length);
}

static void
proxy_handler (SoupServer        *server,
               SoupServerMessage *msg,
               const char        *unused_path,
               GHashTable        *query,
               gpointer           user_data)
{
  Proxy *proxy = user_data;
  GUri *uri = soup_server_message_get_uri (msg);
  const char *path = g_uri_get_path (uri);
  const char *query_text = g_uri_get_query (uri);
  g_autofree char *url = NULL;
  Recorded *r = g_new0 (Recorded, 1);
  Forward *f = g_new0 (Forward, 1);

  r->path = g_strconcat (path, query_text != NULL ? "?" : "", query_text, NULL);
  r->type = path_type (path);
  r->arrived = now_us ();
  r->parent = -1;
  g_ptr_array_add (proxy->recorded, r);

  url = g_strconcat (proxy->origin, r->path, NULL);
  f->proxy = proxy;
  f->msg = g_object_ref (msg);
  f->recorded = r;
  f->forward = soup_message_new (soup_server_message_get_method (msg), url);
  soup_message_headers_replace (soup_message_get_request_headers (f->forward), "Accept",
                                "application/fhir+json");
  soup_server_message_pause (msg);
  soup_session_send_and_read_async (proxy->upstream, f->forward, G_PRIORITY_DEFAULT, NULL,
                                    forwarded, f);
}

static void
proxy_start (Proxy      *proxy,
             const char *origin)
{
  g_autoptr(GError) error = NULL;
  GSList *uris;

  proxy->origin = origin;
  proxy->recorded = g_ptr_array_new_with_free_func ((GDestroyNotify) recorded_free);
  proxy->upstream = g_object_new (SOUP_TYPE_SESSION, "max-conns", 64,
                                  "max-conns-per-host", 32, NULL);
  proxy->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (proxy->server, NULL, proxy_handler, proxy, NULL);
  if (!soup_server_listen_local (proxy->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    fail ("the recording proxy", error);
  uris = soup_server_get_uris (proxy->server);
  proxy->base_url = g_strdup_printf ("http://127.0.0.1:%d" CHARTA_SERVER_DEFAULT_BASE_PATH,
                                     g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

static void
proxy_stop (Proxy *proxy)
{
  soup_server_disconnect (proxy->server);
  g_clear_object (&proxy->server);
  g_clear_object (&proxy->upstream);
  g_clear_pointer (&proxy->base_url, g_free);
}

/* The type a request of the app's client log is for: "Patient/ID" → Patient, "a search for
 * Condition" → Condition (/metadata is "a search for metadata"). */
static char *
logged_type (const char *what)
{
  if (g_str_has_prefix (what, "a search for "))
    return g_strdup (what + strlen ("a search for "));
  return g_strndup (what, strcspn (what, "/"));
}

typedef struct
{
  char *what;
  char *type;
  gboolean answered;
  int parent;
} Sent;

static void
sent_free (Sent *sent)
{
  g_free (sent->what);
  g_free (sent->type);
  g_free (sent);
}

/* The requests of the app's window, in the order the app sent them, each with the one whose
 * answer it waited for, from the app's client log (@log: its stdout with
 * G_MESSAGES_DEBUG=charta-client: "GET WHAT" when a request is sent, "GET WHAT: …" when its
 * answer is in, in the order the main thread saw them) and the paths @proxy saw.  A request
 * waited for the latest answer before it was sent of a request of the same type (a follow-up
 * search: a section's entered-in-error ones), else for the latest answer before it (the
 * Patient before the sections, /metadata before both).  The --timings check of the location
 * (the requests before the last /metadata) is left out.  Arrival at the proxy cannot tell
 * this: the app's session sends 2 requests at a time to a host, the others wait in its queue.
 * Sets *depth to the longest chain of waits. */
static GPtrArray *
requests_from_log (const char *log,
                   Proxy      *proxy,
                   unsigned   *depth)
{
  g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func ((GDestroyNotify) sent_free);
  g_autoptr(GArray) answered = g_array_new (FALSE, FALSE, sizeof (unsigned));
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto(GStrv) lines = g_strsplit (log, "\n", -1);
  GPtrArray *requests = g_ptr_array_new_with_free_func ((GDestroyNotify) recorded_free);
  g_autofree unsigned *depths = NULL;
  g_autofree int *kept = NULL;
  unsigned first = 0;

  for (char **line = lines; *line != NULL; line++)
    {
      const char *rest = strstr (*line, "charta-client-DEBUG: ");
      const char *colon;

      if (rest == NULL || (rest = strstr (rest + strlen ("charta-client-DEBUG: "), ": GET "))
                          == NULL)
        continue;
      rest += strlen (": GET ");
      colon = strstr (rest, ": ");
      if (colon == NULL)
        {
          Sent *s = g_new0 (Sent, 1);
          int latest = -1, latest_same = -1;

          s->what = g_strdup (rest);
          s->type = logged_type (rest);
          for (unsigned i = 0; i < answered->len; i++)
            {
              unsigned j = g_array_index (answered, unsigned, i);

              latest = (int) j;
              if (strcmp (((Sent *) g_ptr_array_index (sent, j))->type, s->type) == 0)
                latest_same = (int) j;
            }
          s->parent = latest_same >= 0 ? latest_same : latest;
          g_ptr_array_add (sent, s);
          continue;
        }
      for (unsigned j = 0; j < sent->len; j++)
        {
          Sent *s = g_ptr_array_index (sent, j);

          if (!s->answered && strlen (s->what) == (size_t) (colon - rest)
              && strncmp (s->what, rest, colon - rest) == 0)
            {
              s->answered = TRUE;
              g_array_append_val (answered, j);
              break;
            }
        }
    }

  for (unsigned j = 0; j < sent->len; j++)
    if (strcmp (((Sent *) g_ptr_array_index (sent, j))->type, "metadata") == 0)
      first = j;
  if (sent->len != proxy->recorded->len)
    {
      fprintf (stderr, "bench-desktop: the app logged %u requests, the proxy saw %u\n",
               sent->len, proxy->recorded->len);
      exit (1);
    }

  /* The n-th request of a type the app sent is the n-th of that type the proxy saw. */
  kept = g_new0 (int, sent->len);
  depths = g_new0 (unsigned, sent->len);
  *depth = 0;
  for (unsigned j = 0; j < sent->len; j++)
    {
      Sent *s = g_ptr_array_index (sent, j);
      unsigned occurrence = GPOINTER_TO_UINT (g_hash_table_lookup (seen, s->type));
      Recorded *match = NULL;
      Recorded *r;

      g_hash_table_replace (seen, g_strdup (s->type), GUINT_TO_POINTER (occurrence + 1));
      kept[j] = -1;
      for (unsigned i = 0, n = 0; match == NULL && i < proxy->recorded->len; i++)
        {
          Recorded *p = g_ptr_array_index (proxy->recorded, i);

          if (strcmp (p->type, s->type) == 0 && n++ == occurrence)
            match = p;
        }
      if (match == NULL)
        {
          fprintf (stderr, "bench-desktop: the proxy saw no request for %s like the app's "
                           "request %u\n", s->type, j);
          exit (1);
        }
      if (j < first)
        continue;
      r = g_new0 (Recorded, 1);
      r->path = g_strdup (match->path);
      r->type = g_strdup (match->type);
      r->parent = s->parent >= (int) first ? kept[s->parent] : -1;
      kept[j] = (int) requests->len;
      depths[j] = r->parent >= 0 ? depths[s->parent] + 1 : 1;
      *depth = MAX (*depth, depths[j]);
      g_ptr_array_add (requests, r);
    }
  return requests;
}

/* ---- the replay --------------------------------------------------------------------------- */

typedef struct
{
  GPtrArray *recorded;
  SoupSession *session;
  const char *origin;
  gboolean parse;
  int64_t *answered;    /* per request */
  unsigned pending;
} Replay;

typedef struct
{
  Replay *replay;
  unsigned index;
  SoupMessage *msg;
} ReplayRequest;

static void replay_send (Replay   *replay,
                         unsigned  index);

static void
replayed (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  ReplayRequest *request = user_data;
  Replay *replay = request->replay;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                              &error);

  if (body == NULL)
    fail ("a replayed request", error);
  if (replay->parse)
    {
      g_autoptr(JsonParser) parser = json_parser_new_immutable ();

      if (!json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                                       (gssize) g_bytes_get_size (body), &error))
        fail ("parsing a replayed answer", error);
    }
  replay->answered[request->index] = now_us ();
  replay->pending--;
  for (unsigned i = 0; i < replay->recorded->len; i++)
    if (((Recorded *) g_ptr_array_index (replay->recorded, i))->parent == (int) request->index)
      replay_send (replay, i);
  g_object_unref (request->msg);
  g_free (request);
}

static void
replay_send (Replay   *replay,
             unsigned  index)
{
  Recorded *r = g_ptr_array_index (replay->recorded, index);
  g_autofree char *url = g_strconcat (replay->origin, r->path, NULL);
  ReplayRequest *request = g_new0 (ReplayRequest, 1);

  request->replay = replay;
  request->index = index;
  request->msg = soup_message_new (SOUP_METHOD_GET, url);
  soup_message_headers_replace (soup_message_get_request_headers (request->msg), "Accept",
                                "application/fhir+json");
  replay->pending++;
  soup_session_send_and_read_async (replay->session, request->msg, G_PRIORITY_DEFAULT, NULL,
                                    replayed, request);
}

/* Replays @recorded once: *all_ms from the first request to the last answer, *after_ms from
 * the answer to /metadata to the last answer (-1 when /metadata was not asked). */
static void
replay_once (GPtrArray   *recorded,
             SoupSession *session,
             const char  *origin,
             gboolean     parse,
             double      *all_ms,
             double      *after_ms)
{
  g_autofree int64_t *answered = g_new0 (int64_t, recorded->len);
  Replay replay = { recorded, session, origin, parse, answered, 0 };
  int64_t t0 = now_us (), last = t0, metadata = -1;

  for (unsigned i = 0; i < recorded->len; i++)
    if (((Recorded *) g_ptr_array_index (recorded, i))->parent < 0)
      replay_send (&replay, i);
  while (replay.pending > 0)
    g_main_context_iteration (NULL, TRUE);
  for (unsigned i = 0; i < recorded->len; i++)
    {
      last = MAX (last, answered[i]);
      if (strcmp (((Recorded *) g_ptr_array_index (recorded, i))->type, "metadata") == 0)
        metadata = answered[i];
    }
  *all_ms = (last - t0) / 1000.0;
  *after_ms = metadata >= 0 ? (last - metadata) / 1000.0 : -1;
}

/* One warm-up and --runs replays; their medians. */
static void
replay (GPtrArray   *recorded,
        SoupSession *session,
        const char  *origin,
        gboolean     parse,
        Summary     *all,
        Summary     *after)
{
  g_autoptr(GArray) all_ms = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) after_ms = g_array_new (FALSE, FALSE, sizeof (double));

  for (unsigned i = 0; i <= n_runs; i++)
    {
      double a, b;

      replay_once (recorded, session, origin, parse, &a, &b);
      if (i == 0)
        continue;
      g_array_append_val (all_ms, a);
      g_array_append_val (after_ms, b);
    }
  *all = summarize (all_ms);
  *after = summarize (after_ms);
}

/* ---- the chart ---------------------------------------------------------------------------- */

/* The patient bundle of @synthea with the most entries (ties: the larger file): its path and
 * entries. */
static char *
largest_bundle (const char *synthea,
                unsigned   *n_entries,
                unsigned   *n_bundles)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (synthea, 0, &error);
  g_autofree char *best = NULL;
  size_t best_size = 0;
  const char *name;

  if (dir == NULL)
    fail ("the corpus (set CHARTA_CORPUS)", error);
  *n_entries = 0;
  *n_bundles = 0;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autoptr(JsonParser) parser = json_parser_new_immutable ();
      g_autofree char *text = NULL;
      size_t length;
      JsonNode *root;
      JsonNode *entries;
      unsigned n;

      if (!g_str_has_suffix (name, ".json") || g_str_has_prefix (name, "hospital")
          || g_str_has_prefix (name, "practitioner"))
        continue;
      path = g_build_filename (synthea, name, NULL);
      if (!g_file_get_contents (path, &text, &length, &error)
          || !json_parser_load_from_data (parser, text, (gssize) length, &error))
        fail (path, error);
      root = json_parser_get_root (parser);
      entries = JSON_NODE_HOLDS_OBJECT (root)
                ? json_object_get_member (json_node_get_object (root), "entry") : NULL;
      n = entries != NULL && JSON_NODE_HOLDS_ARRAY (entries)
          ? json_array_get_length (json_node_get_array (entries)) : 0;
      (*n_bundles)++;
      if (n > *n_entries || (n == *n_entries && length > best_size))
        {
          *n_entries = n;
          best_size = length;
          g_free (best);
          best = g_steal_pointer (&path);
        }
    }
  if (best == NULL)
    fail ("no patient bundle in the corpus's synthea folder", NULL);
  return g_steal_pointer (&best);
}

/* The hospital and practitioner bundles of @synthea, by name. */
static GPtrArray *
shared_bundles (const char *synthea)
{
  g_autoptr(GDir) dir = g_dir_open (synthea, 0, NULL);
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".json")
        && (g_str_has_prefix (name, "hospital") || g_str_has_prefix (name, "practitioner")))
      g_ptr_array_add (paths, g_build_filename (synthea, name, NULL));
  g_ptr_array_sort (paths, (GCompareFunc) g_strcmp0);
  return paths;
}

/* The id of the one Patient in the store at @path. */
static char *
only_patient_id (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaStore) store = charta_store_open (path, CHARTA_STORE_FLAGS_READ_ONLY, &error);
  g_autoptr(ChartaSearchQuery) query = NULL;
  g_autoptr(ChartaSearchResult) result = NULL;
  g_autoptr(ChartaResource) patient = NULL;
  ChartaSearchEntry *entry;
  char *id;

  if (store == NULL)
    fail (path, error);
  query = charta_search_query_parse ("Patient", "_count=2", CHARTA_SEARCH_QUERY_DEFAULT, &error);
  result = query != NULL ? charta_store_search (store, query, &error) : NULL;
  if (result == NULL)
    fail ("searching the chart's store", error);
  if (result->entries->len != 1)
    fail ("the chart's store does not hold exactly one Patient", NULL);
  entry = g_ptr_array_index (result->entries, 0);
  patient = charta_resource_new_from_bytes (entry->json, NULL, &error);
  if (patient == NULL)
    fail ("the chart's Patient", error);
  id = g_strdup (charta_resource_get_id (patient));
  charta_store_close (store);
  return id;
}

static double
bench_chart (const char *charta,
             const char *corpus_dir,
             const char *tmp_dir)
{
  g_autofree char *synthea = g_build_filename (corpus_dir, "synthea", NULL);
  g_autofree char *store_path = g_build_filename (tmp_dir, "chart.charta", NULL);
  g_autoptr(GPtrArray) import_argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) shared = shared_bundles (synthea);
  g_autofree char *bundle = NULL;
  g_autofree char *patient_id = NULL;
  g_autofree char *import_err = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(SoupSession) wide = NULL;
  GArray *figures[4];
  static const char *names[] = { "chart-complete-ms", "chart-view-ms", "open-ms",
                                 "startup-ms", NULL };
  AppRun last = { 0 };
  Summary complete, view, all, after, all_parse, after_parse, all_wide, after_wide;
  g_autoptr(GPtrArray) requests = NULL;
  Proxy proxy = { 0 };
  Serve serve = { 0 };
  unsigned n_entries, n_bundles, depth, per_host = 0;
  int status = 0;

  bundle = largest_bundle (synthea, &n_entries, &n_bundles);
  g_ptr_array_add (import_argv, g_strdup (charta));
  g_ptr_array_add (import_argv, g_strdup ("import"));
  g_ptr_array_add (import_argv, g_strdup ("--fast"));
  g_ptr_array_add (import_argv, g_strdup (store_path));
  for (unsigned i = 0; i < shared->len; i++)
    g_ptr_array_add (import_argv, g_strdup (g_ptr_array_index (shared, i)));
  g_ptr_array_add (import_argv, g_strdup (bundle));
  g_ptr_array_add (import_argv, NULL);
  if (!g_spawn_sync (NULL, (char **) import_argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                     NULL, NULL, &import_err, &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    {
      fprintf (stderr, "%s", import_err != NULL ? import_err : "");
      fail ("charta import", error);
    }
  patient_id = only_patient_id (store_path);

  printf ("chart: the largest of %u patient bundles in CORPUS/synthea, %u resources, imported "
          "with `charta import` (with %u shared bundles) as Patient/%s\n", n_bundles,
          n_entries, shared->len, patient_id);

  for (unsigned i = 0; i < G_N_ELEMENTS (figures); i++)
    figures[i] = g_array_new (FALSE, FALSE, sizeof (double));
  {
    const char *args[] = { "--patient", patient_id, store_path, NULL };

    run_app_timed (args, names, figures, &last);
  }
  app_run_clear (&last);
  print_summary ("chart-complete-ms (the target's)", figures[0]);
  print_summary ("chart-view-ms (without the open)", figures[1]);
  print_summary ("open-ms", figures[2]);
  print_summary ("startup-ms", figures[3]);
  complete = summarize (figures[0]);
  view = summarize (figures[1]);

  /* The ceiling: what the app asked, replayed bare. */
  serve_start (&serve, charta, store_path);
  proxy_start (&proxy, serve.origin);
  {
    const char *args[] = { "--patient", patient_id, proxy.base_url, NULL };
    AppRun run = { 0 };

    if (!run_app (args, TRUE, &run))
      {
        fprintf (stderr, "bench-desktop: charta-desktop through the proxy failed:\n%s", run.err);
        exit (1);
      }
    requests = requests_from_log (run.out, &proxy, &depth);
    app_run_clear (&run);
  }
  proxy_stop (&proxy);
  session = soup_session_new ();
  g_object_get (session, "max-conns-per-host", &per_host, NULL);
  wide = g_object_new (SOUP_TYPE_SESSION, "max-conns-per-host", WIDE_CONNECTIONS, NULL);
  replay (requests, session, serve.origin, FALSE, &all, &after);
  replay (requests, session, serve.origin, TRUE, &all_parse, &after_parse);
  replay (requests, wide, serve.origin, FALSE, &all_wide, &after_wide);
  serve_stop (&serve);

  printf ("  ceiling: the app's %u requests (%u rounds: each waits for an answer) replayed with "
          "a SoupSession against `charta serve`, %u connections per host:\n",
          requests->len, depth, per_host);
  if (show_requests)
    for (unsigned i = 0; i < requests->len; i++)
      {
        Recorded *r = g_ptr_array_index (requests, i);

        printf ("    %2u  after %2d  %s\n", i, r->parent, r->path);
      }
  printf ("  %-36s %9.1f ms   (+ parse %.1f; with %u connections per host %.1f)\n",
          "all the requests", all.median, all_parse.median, WIDE_CONNECTIONS, all_wide.median);
  printf ("  %-36s %9.1f ms   (+ parse %.1f; with %u connections per host %.1f)\n",
          "after /metadata (cf. chart-view-ms)", after.median, after_parse.median,
          WIDE_CONNECTIONS, after_wide.median);
  printf ("  the app / the ceiling: chart-complete-ms %.1f× all the requests; chart-view-ms "
          "%.1f× after /metadata\n", complete.median / all.median, view.median / after.median);

  g_ptr_array_unref (proxy.recorded);
  for (unsigned i = 0; i < G_N_ELEMENTS (figures); i++)
    g_array_unref (figures[i]);
  remove_store (store_path);
  return complete.median;
}

/* ---- the patients ------------------------------------------------------------------------- */

static const char *family_prefixes[] = {
  "Ash", "Bel", "Bram", "Cal", "Dun", "El", "Fair", "Gar", "Hal", "Har", "Kel", "Lang", "Mar",
  "Mor", "Nor", "Oak", "Pem", "Quin", "Rad", "Ros", "Shel", "Stan", "Thorn", "Wal", "Wes",
  "Win", "Yar", "Ald", "Bur", "Cor", "Dal", "Fen", "Gil", "Hol", "Kin", "Lin", "Mil", "Pres",
  "Sut", "Whit",
};

static const char *family_suffixes[] = {
  "ford", "wood", "ton", "ley", "by", "field", "more", "well", "worth", "ridge", "stone",
  "brook", "croft", "dale", "ham", "hurst", "land", "mere", "combe", "thorpe", "wick", "bury",
  "shaw", "low", "den",
};

static const char *rare_families[N_RARE] = {
  "Quillfeather", "Zabrodski", "Vantongeren", "Oyelaran", "Przybylak", "Thistlewaite",
  "Kowalczuk", "Etxeberria", "Nakagawara", "Szczepanik", "Abernethy", "Ulyanova", "Ijsselmuiden",
  "Jaramillo", "Fitzwarren", "Grzelak", "Halvorsrud", "Iwanaga", "Lindqvist", "Mbatha",
  "Nørgaard", "Okonkwo", "Petrakis", "Rautenbach", "Sandoval", "Tarkowski", "Uchenna",
  "Villalobos", "Wojcieszak", "Xenakis",
};

static const char *female_given[] = {
  "Mary", "Anna", "Grace", "Helen", "Ruth", "Clara", "Ida", "Edith", "Lena", "Olive", "Nora",
  "Vera", "Iris", "Judith", "Agnes", "Esther", "Lucy", "Sofia", "Eva", "Amara", "Priya",
  "Yuki", "Fatima", "Ingrid", "Chiara",
};

static const char *male_given[] = {
  "John", "Peter", "Paul", "Hugo", "Otto", "Felix", "Ivan", "Omar", "Raj", "Kenji", "Tomas",
  "Emil", "Oscar", "Victor", "Arthur", "Walter", "Bruno", "Dmitri", "Ahmed", "Kofi", "Lars",
  "Mateo", "Nikolai", "Samuel", "Theo",
};

typedef struct
{
  char *family;
  const char *given[2];  /* given[1] may be NULL */
  gboolean female;
  char birth_date[11];
  char mrn[12];
} Synthetic;

typedef struct
{
  Synthetic *patients;
  unsigned n;
  GPtrArray *families;   /* char *: every family name made up */
} Population;

/* The seeded draw: the same patients every time. */
static void
population_make (Population *population,
                 unsigned    n)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240601);
  g_autoptr(GDate) first = g_date_new_dmy (1, G_DATE_JANUARY, 1930);
  g_autoptr(GDate) last = g_date_new_dmy (31, G_DATE_DECEMBER, 2019);
  unsigned n_days = g_date_days_between (first, last) + 1;
  unsigned next_rare = 0;

  population->n = n;
  population->patients = g_new0 (Synthetic, n);
  population->families = g_ptr_array_new_with_free_func (g_free);
  for (unsigned i = 0; i < G_N_ELEMENTS (family_prefixes); i++)
    for (unsigned j = 0; j < G_N_ELEMENTS (family_suffixes); j++)
      g_ptr_array_add (population->families,
                       g_strconcat (family_prefixes[i], family_suffixes[j], NULL));
  g_assert (population->families->len == N_FAMILIES);
  for (unsigned i = 0; i < N_RARE; i++)
    g_ptr_array_add (population->families, g_strdup (rare_families[i]));

  for (unsigned i = 0; i < n; i++)
    {
      Synthetic *p = &population->patients[i];
      GDate date;

      g_snprintf (p->mrn, sizeof p->mrn, "M%07u", i + 1);
      if (i > 0 && g_rand_int_range (rand, 0, 100) < DUPLICATE_PERCENT)
        {
          const Synthetic *original = &population->patients[g_rand_int_range (rand, 0, i)];

          p->family = original->family;
          p->given[0] = original->given[0];
          p->given[1] = original->given[1];
          p->female = original->female;
          memcpy (p->birth_date, original->birth_date, sizeof p->birth_date);
          continue;
        }
      /* The rare names go to evenly spaced patients, RARE_EACH each. */
      if (next_rare < N_RARE * RARE_EACH && i % (n / (N_RARE * RARE_EACH + 1) + 1) == 7)
        p->family = g_ptr_array_index (population->families, N_FAMILIES + next_rare++ % N_RARE);
      else
        p->family = g_ptr_array_index (population->families,
                                       g_rand_int_range (rand, 0, N_FAMILIES));
      p->female = g_rand_boolean (rand);
      for (unsigned k = 0; k < 2; k++)
        {
          const char **names = p->female ? female_given : male_given;
          unsigned n_names = p->female ? G_N_ELEMENTS (female_given)
                                       : G_N_ELEMENTS (male_given);

          if (k == 1 && g_rand_boolean (rand))
            break;
          p->given[k] = names[g_rand_int_range (rand, 0, n_names)];
        }
      date = *first;
      g_date_add_days (&date, g_rand_int_range (rand, 0, n_days));
      g_snprintf (p->birth_date, sizeof p->birth_date, "%04u-%02u-%02u",
                  g_date_get_year (&date), g_date_get_month (&date), g_date_get_day (&date));
    }
}

static void
population_clear (Population *population)
{
  g_free (population->patients);
  g_ptr_array_unref (population->families);
}

static char *
patient_json (const Synthetic *p)
{
  g_autoptr(GString) given = g_string_new (NULL);

  g_string_append_printf (given, "\"%s\"", p->given[0]);
  if (p->given[1] != NULL)
    g_string_append_printf (given, ",\"%s\"", p->given[1]);
  return g_strdup_printf ("{\"resourceType\":\"Patient\","
                          "\"identifier\":[{\"type\":{\"coding\":[{\"system\":\"" V2_0203 "\","
                          "\"code\":\"MR\"}]},\"system\":\"" MRN_SYSTEM "\",\"value\":\"%s\"}],"
                          "\"name\":[{\"use\":\"official\",\"family\":\"%s\",\"given\":[%s]}],"
                          "\"gender\":\"%s\",\"birthDate\":\"%s\"}",
                          p->mrn, p->family, given->str, p->female ? "female" : "male",
                          p->birth_date);
}

static int64_t
count_patients (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaStore) store = charta_store_open (path, CHARTA_STORE_FLAGS_READ_ONLY, &error);
  g_autoptr(GHashTable) counts = NULL;
  int64_t *n;
  int64_t result;

  if (store == NULL)
    return -1;
  counts = charta_store_count_by_type (store, &error);
  n = counts != NULL ? g_hash_table_lookup (counts, "Patient") : NULL;
  result = n != NULL ? *n : -1;
  charta_store_close (store);
  return result;
}

static void
make_store (const char *path,
            Population *population)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaStore) store = NULL;
  int64_t t0 = now_us ();

  remove_store (path);
  store = charta_store_open (path, CHARTA_STORE_FLAGS_CREATE | CHARTA_STORE_FLAGS_FAST, &error);
  if (store == NULL)
    fail (path, error);
  for (unsigned start = 0; start < population->n; start += BATCH)
    {
      unsigned n = MIN (BATCH, population->n - start);
      g_autofree ChartaOperation *operations = g_new0 (ChartaOperation, n);
      g_autoptr(GPtrArray) resources =
        g_ptr_array_new_with_free_func ((GDestroyNotify) charta_resource_unref);
      g_autoptr(GPtrArray) results = NULL;

      for (unsigned i = 0; i < n; i++)
        {
          g_autofree char *json = patient_json (&population->patients[start + i]);
          ChartaResource *resource = charta_resource_new_from_data (json, strlen (json), NULL,
                                                                    &error);

          if (resource == NULL)
            fail ("a synthetic Patient", error);
          g_ptr_array_add (resources, resource);
          operations[i].method = CHARTA_METHOD_CREATE;
          operations[i].resource = resource;
        }
      results = charta_store_transaction (store, operations, n, NULL, &error);
      if (results == NULL)
        fail ("writing the synthetic Patients", error);
    }
  charta_store_close (store);
  printf ("finder: made %u Patients in %.1f s\n", population->n, (now_us () - t0) / 1e6);
}

/* How many of the patients the finder's search for @text should list (see the top). */
static unsigned
expected_matches (Population *population,
                  const char *text)
{
  g_auto(GStrv) words = g_strsplit (text, " ", -1);
  unsigned n = 0;

  for (unsigned i = 0; i < population->n; i++)
    {
      const Synthetic *p = &population->patients[i];
      gboolean all = TRUE;

      for (char **word = words; all && *word != NULL; word++)
        {
          size_t length = strlen (*word);

          if (g_ascii_isdigit (**word) && (length == 4 || length == 10))
            all = strncmp (p->birth_date, *word, length) == 0;
          else if (**word == 'M' && g_ascii_isdigit ((*word)[1]))
            all = strcmp (p->mrn, *word) == 0;
          else
            all = g_ascii_strncasecmp (p->family, *word, length) == 0
                  || g_ascii_strncasecmp (p->given[0], *word, length) == 0
                  || (p->given[1] != NULL && g_ascii_strncasecmp (p->given[1], *word, length) == 0);
        }
      n += all;
    }
  return n;
}

typedef struct
{
  const char *label;
  char *text;
} Query;

/* The queries: their kinds and texts (see the top). */
static GPtrArray *
make_queries (Population *population)
{
  GPtrArray *queries = g_ptr_array_new ();
  unsigned best = 0, best_n = 0;
  const Synthetic *p;
  Query *q;

  for (unsigned i = 0; i < N_FAMILIES; i++)
    {
      unsigned n = expected_matches (population, g_ptr_array_index (population->families, i));

      if (n > best_n)
        {
          best = i;
          best_n = n;
        }
    }
  q = g_new0 (Query, 1);
  q->label = "the most frequent family name";
  q->text = g_strdup (g_ptr_array_index (population->families, best));
  g_ptr_array_add (queries, q);

  q = g_new0 (Query, 1);
  q->label = "a rare family name";
  q->text = g_strdup (rare_families[0]);
  g_ptr_array_add (queries, q);

  p = &population->patients[population->n / 3];
  q = g_new0 (Query, 1);
  q->label = "a given and a family name";
  q->text = g_strdup_printf ("%s %s", p->given[0], p->family);
  g_ptr_array_add (queries, q);

  p = &population->patients[population->n / 2];
  q = g_new0 (Query, 1);
  q->label = "a birth date";
  q->text = g_strdup (p->birth_date);
  g_ptr_array_add (queries, q);

  q = g_new0 (Query, 1);
  q->label = "a birth year";
  q->text = g_strndup (p->birth_date, 4);
  g_ptr_array_add (queries, q);

  p = &population->patients[population->n * 2 / 3];
  q = g_new0 (Query, 1);
  q->label = "an MRN";
  q->text = g_strdup (p->mrn);
  g_ptr_array_add (queries, q);
  return queries;
}

/* GETs the finder's URL for @text --runs times after a warm-up: the median ms, in *parse_ms
 * with the JSON parsed too. */
static double
ceiling_search (SoupSession *session,
                const char  *base_url,
                const char  *text,
                double      *parse_ms)
{
  g_autofree char *query = charta_patient_list_query_for_text (text, 0);
  g_autofree char *url = g_strdup_printf ("%s/%s", base_url, query);
  g_autoptr(GArray) plain = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) parsed = g_array_new (FALSE, FALSE, sizeof (double));

  for (unsigned i = 0; i <= n_runs; i++)
    for (int parse = 0; parse < 2; parse++)
      {
        double ms;
        g_autoptr(GBytes) body = fetch (session, url, parse, &ms);

        if (i > 0)
          g_array_append_val (parse ? parsed : plain, ms);
      }
  *parse_ms = summarize (parsed).median;
  return summarize (plain).median;
}

static gboolean
bench_finder (const char *charta,
              double     *worst_search)
{
  g_autofree char *store_path = g_build_filename (work_dir, "bench-desktop-patients.charta",
                                                  NULL);
  g_autoptr(GPtrArray) queries = NULL;
  g_autoptr(GArray) listing = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(SoupSession) session = NULL;
  static const char *names[] = { "search-complete-ms", "list-complete-ms", "search-results",
                                 "search-total", NULL };
  Population population = { 0 };
  Serve serve = { 0 };
  gboolean ok = TRUE;
  double listing_ceiling, listing_parse;

  population_make (&population, n_patients);
  if (reuse_files && count_patients (store_path) == (int64_t) n_patients)
    printf ("finder: reusing %s (%u Patients)\n", store_path, n_patients);
  else
    make_store (store_path, &population);
  queries = make_queries (&population);

  serve_start (&serve, charta, store_path);
  session = soup_session_new ();
  printf ("  %-30s %15s %11s %11s %11s %9s %8s\n", "search (kind)", "matches/expected",
          "app median", "min", "max", "ceiling", "+ parse");
  for (unsigned i = 0; i < queries->len; i++)
    {
      Query *q = g_ptr_array_index (queries, i);
      const char *args[] = { "--search", q->text, store_path, NULL };
      GArray *figures[4];
      AppRun last = { 0 };
      unsigned expected = expected_matches (&population, q->text);
      unsigned listed;
      int64_t total;
      double ceiling, parse_ms;
      gboolean differ;
      g_autofree char *matches = NULL;
      Summary s;

      for (unsigned j = 0; j < G_N_ELEMENTS (figures); j++)
        figures[j] = g_array_new (FALSE, FALSE, sizeof (double));
      run_app_timed (args, names, figures, &last);
      listed = (unsigned) app_value (&last, "search-results");
      total = (int64_t) app_value (&last, "search-total");
      app_run_clear (&last);
      g_array_append_vals (listing, figures[1]->data, figures[1]->len);
      s = summarize (figures[0]);
      *worst_search = MAX (*worst_search, s.median);
      ceiling = ceiling_search (session, serve.base_url, q->text, &parse_ms);

      /* The finder lists the first page; the total, when given, must be all of them. */
      if (total >= 0)
        matches = g_strdup_printf ("%u of %" G_GINT64_FORMAT "/%u", listed, total, expected);
      else
        matches = g_strdup_printf ("%u of -/%u", listed, expected);
      differ = (total >= 0 && total != expected)
               || listed != MIN (expected, CHARTA_PATIENT_LIST_PAGE_SIZE);
      ok = ok && !differ;
      printf ("  %-30s %15s %8.1f ms %8.1f ms %8.1f ms %6.1f ms %5.1f ms%s\n", q->label, matches,
              s.median, s.min, s.max, ceiling, parse_ms, differ ? "   (matches differ!)" : "");
      for (unsigned j = 0; j < G_N_ELEMENTS (figures); j++)
        g_array_unref (figures[j]);
    }
  listing_ceiling = ceiling_search (session, serve.base_url, "", &listing_parse);
  {
    Summary s = summarize (listing);

    printf ("  %-30s %15s %8.1f ms %8.1f ms %8.1f ms %6.1f ms %5.1f ms\n",
            "(the first listing, on open)", "", s.median, s.min, s.max, listing_ceiling,
            listing_parse);
    printf ("  (the first listing is list-complete-ms, from opening the store: beside it the "
            "ceiling is the listing's GET alone)\n");
  }
  serve_stop (&serve);

  for (unsigned i = 0; i < queries->len; i++)
    {
      Query *q = g_ptr_array_index (queries, i);

      g_free (q->text);
      g_free (q);
    }
  population_clear (&population);
  if (!keep_files)
    remove_store (store_path);
  return ok;
}

/* ---- main --------------------------------------------------------------------------------- */

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *corpus_dir = NULL;
  g_autofree char *tmp_dir = NULL;
  g_autofree char *template = NULL;
  const char *charta;
  double chart_ms, worst_search = 0;
  gboolean matches_ok;
  GOptionEntry entries[] = {
    { "runs", 0, 0, G_OPTION_ARG_INT, &n_runs, "Timed runs of each figure (5)", "N" },
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &work_dir, "Where to make the stores", "DIR" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &keep_files, "Leave the patients' store in DIR", NULL },
    { "reuse", 0, 0, G_OPTION_ARG_NONE, &reuse_files,
      "Reuse the patients' store left in DIR (implies --keep)", NULL },
    { "patients", 0, 0, G_OPTION_ARG_INT, &n_patients, "Patients in the finder's store "
      "(100000)", "N" },
    { "renderer", 0, 0, G_OPTION_ARG_STRING, &renderer, "GSK_RENDERER for the app (cairo; "
      "default: GTK's choice)", "NAME" },
    { "show-requests", 0, 0, G_OPTION_ARG_NONE, &show_requests,
      "List the chart's requests (ids, no names)", NULL },
    { NULL },
  };

  options = g_option_context_new ("[CORPUS]");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      fprintf (stderr, "bench-desktop: %s\n", error->message);
      return 2;
    }
  if (n_runs == 0 || n_patients < 1000)
    {
      fprintf (stderr, "bench-desktop: --runs must be 1 or more, --patients 1000 or more\n");
      return 2;
    }
  if (g_getenv ("DISPLAY") == NULL || *g_getenv ("DISPLAY") == '\0')
    {
      fprintf (stderr, "bench-desktop: no DISPLAY: run it on a display, such as Xvfb's:\n"
                       "  xvfb-run -a -s '-screen 0 1280x800x24' %s\n", argv[0]);
      return 2;
    }
  keep_files = keep_files || reuse_files;
  if (renderer == NULL)
    renderer = g_strdup ("cairo");

  if (argc > 1)
    corpus_dir = g_strdup (argv[1]);
  else if (g_getenv ("CHARTA_CORPUS") != NULL)
    corpus_dir = g_strdup (g_getenv ("CHARTA_CORPUS"));
  else if (g_file_test ("../shared/corpus", G_FILE_TEST_IS_DIR))
    corpus_dir = g_strdup ("../shared/corpus");
  else
    corpus_dir = g_build_filename (BENCH_SOURCE_ROOT, "..", "shared", "corpus", NULL);
  if (work_dir == NULL)
    work_dir = g_strdup (g_get_tmp_dir ());
  charta = program ("CHARTA_BIN", BENCH_CHARTA_BIN);
  desktop_path = program ("CHARTA_DESKTOP", BENCH_CHARTA_DESKTOP);
  schema_dir = BENCH_SCHEMA_DIR;

  template = g_build_filename (work_dir, "bench-desktop-XXXXXX", NULL);
  tmp_dir = g_mkdtemp (g_steal_pointer (&template));
  if (tmp_dir == NULL)
    fail ("making a temporary folder in --dir", NULL);

  printf ("bench-desktop: charta-desktop --timings, GSK_RENDERER=%s, %u runs (+1 warm-up) a "
          "figure, medians\n\n", g_strcmp0 (renderer, "default") == 0 ? "(GTK's choice)"
                                                                      : renderer, n_runs);
  chart_ms = bench_chart (charta, corpus_dir, tmp_dir);
  printf ("\n");
  matches_ok = bench_finder (charta, &worst_search);
  g_rmdir (tmp_dir);

  printf ("\n  target: the chart complete on screen within %.0f ms of the request: %s (%.1f ms)\n",
          TARGET_CHART_MS, chart_ms <= TARGET_CHART_MS ? "met" : "NOT met", chart_ms);
  printf ("  target: every finder search within %.0f ms on %u patients: %s (slowest median "
          "%.1f ms)\n", TARGET_SEARCH_MS, n_patients,
          worst_search <= TARGET_SEARCH_MS ? "met" : "NOT met", worst_search);
  g_free (work_dir);
  g_free (renderer);
  return matches_ok ? 0 : 1;
}
