/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * bench-serve.c: the REST endpoint under load, beside a bare libsoup server.
 *
 *   ninja -C build bench/bench-serve
 *   build/bench/bench-serve [--dir DIR] [--keep] [--duration SECONDS] [--runs N]
 *                           [--clients N] [--fast] [CORPUS]
 *
 * CORPUS defaults to $CHARTA_CORPUS, else ../shared/corpus.  Needs wrk (Debian package wrk,
 * which tools/quickstart installs).
 *
 * 1. Ingest.  A new store in DIR (default: the temporary folder; durable, synchronous=FULL,
 *    unless --fast) is served by a ChartaServer on a thread of its own, on a free loopback
 *    port, and the bundles of CORPUS/synthea (the hospital and practitioner bundles first, then
 *    the patient bundles by name) are POSTed to the base URL as transactions by --clients
 *    concurrent connections (default 8) of a SoupSession, with Prefer: return=minimal as a bulk
 *    loader would (the response entries carry status, location and etag, not the resources).
 *    Every response must be 200 with a
 *    transaction-response Bundle of as many entries as the bundle had.  Printed: resources/s
 *    (the bundles' entries over the wall time from the first request to the last response).
 *
 * 2. Reads.  `GET [base]/Patient/[id]` of the first Patient, by wrk for --duration seconds
 *    (default 5), with 1 connection (1 thread) and with 32 connections (2 threads), --runs
 *    times each (default 3): the median requests/s and the p50 and p99 latency of the run with
 *    the median rate.  The ceiling, measured the same way in the same run: a minimal libsoup
 *    server of ours, on a thread of its own, that answers every request at once with the same
 *    bytes, Content-Type, ETag and Last-Modified as the endpoint's read.
 *
 * Last, one line per target: reads at 32 connections at least 70% of the ceiling's rate;
 * ingest at least 8,000 resources/s.  This is a benchmark, never a timed test: wrk, the
 * servers and this process share the machine's cores, and the machine is shared and noisy.
 */
#define G_LOG_DOMAIN "charta-bench"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "charta-server.h"
#include "charta-malloc.h"
#include "charta-store.h"

#define TARGET_READ_SHARE 0.70
#define TARGET_INGEST 8000.0

static char *work_dir;
static gboolean keep_files;
static gboolean fast;
static unsigned duration = 5;
static unsigned n_runs = 3;
static unsigned n_clients = 8;

static double
now_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

G_NORETURN static void
fail (const char   *what,
      const GError *error)
{
  fprintf (stderr, "bench-serve: %s: %s\n", what, error != NULL ? error->message : "failed");
  exit (1);
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* ---- the corpus ---------------------------------------------------------------------------- */

typedef struct
{
  GPtrArray *bundles;   /* GBytes */
  GArray *n_entries;    /* unsigned, per bundle */
  size_t n_resources;
} Corpus;

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  const char *x = *(const char *const *) a, *y = *(const char *const *) b;
  /* the shared bundles (hospital, practitioners) first: the patients' bundles refer to them */
  gboolean sx = g_str_has_prefix (x, "hospital") || g_str_has_prefix (x, "practitioner");
  gboolean sy = g_str_has_prefix (y, "hospital") || g_str_has_prefix (y, "practitioner");

  if (sx != sy)
    return sx ? -1 : 1;
  return strcmp (x, y);
}

static void
load_corpus (Corpus     *corpus,
             const char *root)
{
  g_autofree char *dir_path = g_build_filename (root, "synthea", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, &error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    fail (dir_path, error);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".json"))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  corpus->bundles = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  corpus->n_entries = g_array_new (FALSE, FALSE, sizeof (unsigned));
  corpus->n_resources = 0;
  for (unsigned i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir_path, g_ptr_array_index (names, i), NULL);
      g_autoptr(JsonParser) parser = json_parser_new ();
      char *text = NULL;
      size_t length = 0;
      unsigned n;
      JsonObject *bundle;

      if (!g_file_get_contents (path, &text, &length, &error))
        fail (path, error);
      if (!json_parser_load_from_data (parser, text, (gssize) length, &error))
        fail (path, error);
      bundle = json_node_get_object (json_parser_get_root (parser));
      n = json_array_get_length (json_object_get_array_member (bundle, "entry"));
      g_ptr_array_add (corpus->bundles, g_bytes_new_take (text, length));
      g_array_append_val (corpus->n_entries, n);
      corpus->n_resources += n;
    }
  if (corpus->bundles->len == 0)
    fail (dir_path, NULL);
}

/* ---- servers on threads of their own -------------------------------------------------------- */

typedef struct
{
  ChartaStore *store;       /* NULL: the ceiling server */
  GBytes *body;             /* the ceiling's answer */
  const char *etag;
  const char *last_modified;

  GMutex lock;
  GCond ready_cond;
  gboolean ready;
  char *base_url;           /* set once listening */
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
} ServerThread;

static void
ceiling_handler (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  ServerThread *st = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  gsize length;
  const void *data = g_bytes_get_data (st->body, &length);

  soup_message_headers_append (headers, "ETag", st->etag);
  soup_message_headers_append (headers, "Last-Modified", st->last_modified);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/fhir+json", SOUP_MEMORY_STATIC, data,
                                    length);
}

static gpointer
server_thread (gpointer data)
{
  ServerThread *st = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaServer) server = NULL;
  g_autoptr(SoupServer) ceiling = NULL;
  char *url = NULL;

  g_main_context_push_thread_default (st->context);
  if (st->store != NULL)
    {
      server = charta_server_new (st->store, "/fhir");
      if (!charta_server_listen (server, "127.0.0.1:0", &error))
        fail ("listening", error);
      url = charta_server_dup_base_url (server);
    }
  else
    {
      GSList *uris;

      ceiling = soup_server_new (NULL, NULL);
      soup_server_add_handler (ceiling, NULL, ceiling_handler, st, NULL);
      if (!soup_server_listen_local (ceiling, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
        fail ("listening (ceiling)", error);
      uris = soup_server_get_uris (ceiling);
      url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
      g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
    }

  g_mutex_lock (&st->lock);
  st->base_url = url;
  st->ready = TRUE;
  g_cond_signal (&st->ready_cond);
  g_mutex_unlock (&st->lock);

  g_main_loop_run (st->loop);
  if (server != NULL)
    charta_server_stop (server);
  if (ceiling != NULL)
    soup_server_disconnect (ceiling);
  g_main_context_pop_thread_default (st->context);
  return NULL;
}

static void
server_start (ServerThread *st)
{
  g_mutex_init (&st->lock);
  g_cond_init (&st->ready_cond);
  st->context = g_main_context_new ();
  st->loop = g_main_loop_new (st->context, FALSE);
  st->thread = g_thread_new ("bench-server", server_thread, st);
  g_mutex_lock (&st->lock);
  while (!st->ready)
    g_cond_wait (&st->ready_cond, &st->lock);
  g_mutex_unlock (&st->lock);
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
server_stop (ServerThread *st)
{
  g_main_context_invoke (st->context, quit_loop, st->loop);
  g_thread_join (st->thread);
  g_main_loop_unref (st->loop);
  g_main_context_unref (st->context);
  g_free (st->base_url);
  g_mutex_clear (&st->lock);
  g_cond_clear (&st->ready_cond);
}

/* ---- ingest ---------------------------------------------------------------------------------- */

typedef struct
{
  Corpus *corpus;
  SoupSession *session;
  const char *url;
  GMainLoop *loop;
  unsigned next;          /* the next bundle to post */
  unsigned in_flight;
  unsigned done;
  char *first_patient;    /* "Patient/<id>" from the first transaction-response naming one */
} Ingest;

static void post_next (Ingest *ingest);

typedef struct
{
  Ingest *ingest;
  unsigned index;
  SoupMessage *msg;
} Post;

static void
posted (GObject      *source,
        GAsyncResult *result,
        gpointer      data)
{
  Post *post = data;
  Ingest *ingest = post->ingest;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                              &error);
  g_autoptr(JsonParser) parser = json_parser_new ();
  guint status = soup_message_get_status (post->msg);
  unsigned expected = g_array_index (ingest->corpus->n_entries, unsigned, post->index);
  JsonObject *bundle;
  JsonArray *entries;

  if (body == NULL)
    fail ("posting a bundle", error);
  if (status != SOUP_STATUS_OK)
    {
      fprintf (stderr, "bench-serve: bundle %u: HTTP %u: %.*s\n", post->index, status,
               (int) MIN (g_bytes_get_size (body), 2000),
               (const char *) g_bytes_get_data (body, NULL));
      exit (1);
    }
  if (!json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                                   (gssize) g_bytes_get_size (body), &error))
    fail ("reading a transaction-response", error);
  bundle = json_node_get_object (json_parser_get_root (parser));
  entries = json_object_get_array_member (bundle, "entry");
  if (g_strcmp0 (json_object_get_string_member_with_default (bundle, "type", ""),
                 "transaction-response") != 0
      || entries == NULL || json_array_get_length (entries) != expected)
    {
      fprintf (stderr, "bench-serve: bundle %u: not a transaction-response of %u entries\n",
               post->index, expected);
      exit (1);
    }
  if (ingest->first_patient == NULL)
    for (unsigned i = 0; i < expected; i++)
      {
        JsonObject *response = json_object_get_object_member (
          json_array_get_object_element (entries, i), "response");
        const char *location = response != NULL
          ? json_object_get_string_member_with_default (response, "location", "") : "";

        if (g_str_has_prefix (location, "Patient/"))
          {
            const char *end = strstr (location + strlen ("Patient/"), "/");

            ingest->first_patient = end != NULL ? g_strndup (location, end - location)
                                                : g_strdup (location);
            break;
          }
      }

  g_object_unref (post->msg);
  g_free (post);
  ingest->in_flight--;
  ingest->done++;
  post_next (ingest);
  if (ingest->in_flight == 0)
    g_main_loop_quit (ingest->loop);
}

static void
post_next (Ingest *ingest)
{
  while (ingest->in_flight < n_clients && ingest->next < ingest->corpus->bundles->len)
    {
      Post *post = g_new0 (Post, 1);

      post->ingest = ingest;
      post->index = ingest->next++;
      post->msg = soup_message_new (SOUP_METHOD_POST, ingest->url);
      soup_message_set_request_body_from_bytes (post->msg, "application/fhir+json",
                                                g_ptr_array_index (ingest->corpus->bundles,
                                                                   post->index));
      soup_message_headers_append (soup_message_get_request_headers (post->msg), "Accept",
                                   "application/fhir+json");
      /* as a bulk loader asks: the response entries without the resources */
      soup_message_headers_append (soup_message_get_request_headers (post->msg), "Prefer",
                                   "return=minimal");
      ingest->in_flight++;
      soup_session_send_and_read_async (ingest->session, post->msg, G_PRIORITY_DEFAULT, NULL,
                                        posted, post);
    }
}

/* ---- wrk ----------------------------------------------------------------------------------- */

typedef struct
{
  double rate;       /* requests/s */
  double p50, p99;   /* ms */
  double errors;     /* non-2xx/3xx responses and socket errors */
} WrkFigure;

/* "1.23ms", "456.00us", "1.01s" in ms */
static double
wrk_time (const char *text)
{
  char *end = NULL;
  double v = g_ascii_strtod (text, &end);

  if (end == NULL || end == text)
    return -1;
  if (g_str_has_prefix (end, "us"))
    return v / 1000;
  if (g_str_has_prefix (end, "ms"))
    return v;
  if (g_str_has_prefix (end, "s"))
    return v * 1000;
  if (g_str_has_prefix (end, "m"))
    return v * 60000;
  return -1;
}

static WrkFigure
run_wrk_once (const char *wrk,
              const char *url,
              unsigned    connections)
{
  g_autofree char *threads = g_strdup_printf ("-t%u", connections > 1 ? 2 : 1);
  g_autofree char *conns = g_strdup_printf ("-c%u", connections);
  g_autofree char *dur = g_strdup_printf ("-d%us", duration);
  const char *argv[] = { wrk, threads, conns, dur, "--latency", url, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  int status = 0;
  WrkFigure f = { -1, -1, -1, 0 };

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                     &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    fail ("running wrk", error);
  lines = g_strsplit (out, "\n", -1);
  for (unsigned i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *line = g_strstrip (g_strdup (lines[i]));

      if (g_str_has_prefix (line, "Requests/sec:"))
        f.rate = g_ascii_strtod (line + strlen ("Requests/sec:"), NULL);
      else if (g_str_has_prefix (line, "50%"))
        f.p50 = wrk_time (g_strstrip (line + 3));
      else if (g_str_has_prefix (line, "99%"))
        f.p99 = wrk_time (g_strstrip (line + 3));
      else if (g_str_has_prefix (line, "Non-2xx or 3xx responses:"))
        f.errors += g_ascii_strtod (line + strlen ("Non-2xx or 3xx responses:"), NULL);
      else if (g_str_has_prefix (line, "Socket errors:"))
        f.errors += 1;
    }
  if (f.rate < 0 || f.p50 < 0 || f.p99 < 0)
    {
      fprintf (stderr, "bench-serve: could not read wrk's output:\n%s\n", out);
      exit (1);
    }
  return f;
}

/* --runs runs: the one with the median rate. */
static WrkFigure
run_wrk (const char *wrk,
         const char *url,
         unsigned    connections)
{
  g_autofree WrkFigure *figures = g_new0 (WrkFigure, n_runs);
  g_autofree double *rates = g_new0 (double, n_runs);
  double median;

  for (unsigned i = 0; i < n_runs; i++)
    {
      figures[i] = run_wrk_once (wrk, url, connections);
      rates[i] = figures[i].rate;
    }
  qsort (rates, n_runs, sizeof (double), compare_double);
  median = rates[n_runs / 2];
  for (unsigned i = 0; i < n_runs; i++)
    if (figures[i].rate == median)
      return figures[i];
  return figures[0];
}

static void
print_wrk (const char      *label,
           const WrkFigure *f)
{
  printf ("  %-34s %10.0f req/s   p50 %7.3f ms   p99 %7.3f ms%s\n", label, f->rate, f->p50,
          f->p99, f->errors > 0 ? "   (errors!)" : "");
}

/* ---- main ---------------------------------------------------------------------------------- */

int
main (int    argc,
      char **argv)
{
  g_autofree char *corpus_root = NULL;
  g_autofree char *store_path = NULL;
  g_autofree char *wrk = g_find_program_in_path ("wrk");
  g_autofree char *read_url = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) read_body = NULL;
  ServerThread endpoint = { 0 }, ceiling = { 0 };
  Corpus corpus = { 0 };
  Ingest ingest = { 0 };
  WrkFigure read1, read32, ceil1, ceil32;
  double t0, ingest_seconds, ingest_rate;
  gboolean ok;
  GOptionEntry entries[] = {
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &work_dir, "Where to make the store", "DIR" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &keep_files, "Leave the store there", NULL },
    { "duration", 0, 0, G_OPTION_ARG_INT, &duration, "Seconds of each wrk run (5)", "S" },
    { "runs", 0, 0, G_OPTION_ARG_INT, &n_runs, "wrk runs per figure (3)", "N" },
    { "clients", 0, 0, G_OPTION_ARG_INT, &n_clients, "Concurrent ingest connections (8)",
      "N" },
    { "fast", 0, 0, G_OPTION_ARG_NONE, &fast, "synchronous=NORMAL instead of FULL", NULL },
    { NULL },
  };

  /* as the `charta` command runs: GSlice handed to malloc (see charta-malloc.h) */
  charta_reexec_with_malloc (argv);

  options = g_option_context_new ("[CORPUS]");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    fail ("options", error);
  if (duration == 0 || n_runs == 0 || n_clients == 0)
    fail ("options", NULL);
  if (wrk == NULL)
    {
      fprintf (stderr, "bench-serve: wrk is not installed (apt-get install wrk, or run "
                       "tools/quickstart test once)\n");
      return 1;
    }
  if (argc > 1)
    corpus_root = g_strdup (argv[1]);
  else if (g_getenv ("CHARTA_CORPUS") != NULL)
    corpus_root = g_strdup (g_getenv ("CHARTA_CORPUS"));
  else
    corpus_root = g_strdup ("../shared/corpus");
  if (work_dir == NULL)
    work_dir = g_strdup (g_get_tmp_dir ());

  load_corpus (&corpus, corpus_root);
  printf ("bench-serve: %zu resources in %u bundles; %u ingest connections; wrk %u × %u s; "
          "store in %s (%s); G_SLICE=%s\n", corpus.n_resources, corpus.bundles->len, n_clients,
          n_runs, duration, work_dir, fast ? "synchronous=NORMAL" : "synchronous=FULL",
          g_getenv ("G_SLICE") != NULL ? g_getenv ("G_SLICE") : "(unset)");

  store_path = g_build_filename (work_dir, "bench-serve.charta", NULL);
  for (const char *suffix = ""; suffix != NULL; suffix = *suffix == '\0' ? "-wal"
                                                        : strcmp (suffix, "-wal") == 0
                                                          ? "-shm" : NULL)
    {
      g_autofree char *p = g_strconcat (store_path, suffix, NULL);

      g_unlink (p);
    }
  store = charta_store_open (store_path,
                             CHARTA_STORE_FLAGS_CREATE | (fast ? CHARTA_STORE_FLAGS_FAST : 0),
                             &error);
  if (store == NULL)
    fail (store_path, error);

  endpoint.store = store;
  server_start (&endpoint);

  /* 1. ingest */
  session = g_object_new (SOUP_TYPE_SESSION, "max-conns", (int) n_clients + 4,
                          "max-conns-per-host", (int) n_clients, "timeout", 600, NULL);
  ingest.corpus = &corpus;
  ingest.session = session;
  ingest.url = endpoint.base_url;
  ingest.loop = g_main_loop_new (NULL, FALSE);
  t0 = now_seconds ();
  post_next (&ingest);
  g_main_loop_run (ingest.loop);
  ingest_seconds = now_seconds () - t0;
  ingest_rate = corpus.n_resources / ingest_seconds;
  g_main_loop_unref (ingest.loop);
  printf ("  ingest: %u transaction bundles, %zu resources in %.1f s: %.0f resources/s\n",
          ingest.done, corpus.n_resources, ingest_seconds, ingest_rate);
  if (ingest.first_patient == NULL)
    fail ("no Patient among the transaction-responses", NULL);

  /* 2. reads: the endpoint's answer, copied by the ceiling */
  read_url = g_strdup_printf ("%s/%s", endpoint.base_url, ingest.first_patient);
  msg = soup_message_new (SOUP_METHOD_GET, read_url);
  read_body = soup_session_send_and_read (session, msg, NULL, &error);
  if (read_body == NULL || soup_message_get_status (msg) != SOUP_STATUS_OK)
    fail (read_url, error);
  ceiling.body = read_body;
  ceiling.etag = soup_message_headers_get_one (soup_message_get_response_headers (msg), "ETag");
  ceiling.last_modified = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                        "Last-Modified");
  if (ceiling.etag == NULL || ceiling.last_modified == NULL)
    fail ("the read has no ETag or Last-Modified", NULL);
  server_start (&ceiling);
  printf ("  reads: GET [base]/%s (%zu bytes)\n", ingest.first_patient,
          g_bytes_get_size (read_body));

  {
    g_autofree char *ceiling_url = g_strdup_printf ("%s/fhir/%s", ceiling.base_url,
                                                    ingest.first_patient);

    read1 = run_wrk (wrk, read_url, 1);
    ceil1 = run_wrk (wrk, ceiling_url, 1);
    read32 = run_wrk (wrk, read_url, 32);
    ceil32 = run_wrk (wrk, ceiling_url, 32);
  }
  print_wrk ("endpoint, 1 connection", &read1);
  print_wrk ("ceiling (bare libsoup), 1 connection", &ceil1);
  print_wrk ("endpoint, 32 connections", &read32);
  print_wrk ("ceiling (bare libsoup), 32 connections", &ceil32);
  printf ("  share of the ceiling: %.0f%% at 1 connection, %.0f%% at 32\n",
          100 * read1.rate / ceil1.rate, 100 * read32.rate / ceil32.rate);

  ok = read32.rate >= TARGET_READ_SHARE * ceil32.rate;
  printf ("\n  target: reads at 32 connections ≥ %.0f%% of the ceiling: %s (%.0f%%)\n",
          100 * TARGET_READ_SHARE, ok ? "met" : "NOT met", 100 * read32.rate / ceil32.rate);
  printf ("  target: ingest ≥ %.0f resources/s over HTTP: %s (%.0f)\n", TARGET_INGEST,
          ingest_rate >= TARGET_INGEST ? "met" : "NOT met", ingest_rate);

  server_stop (&ceiling);
  server_stop (&endpoint);
  charta_store_close (store);
  if (!keep_files)
    for (const char *suffix = ""; suffix != NULL; suffix = *suffix == '\0' ? "-wal"
                                                          : strcmp (suffix, "-wal") == 0
                                                            ? "-shm" : NULL)
      {
        g_autofree char *p = g_strconcat (store_path, suffix, NULL);

        g_unlink (p);
      }
  g_free (ingest.first_patient);
  g_ptr_array_unref (corpus.bundles);
  g_array_unref (corpus.n_entries);
  g_free (work_dir);
  return read1.errors + read32.errors > 0 ? 1 : 0;
}
