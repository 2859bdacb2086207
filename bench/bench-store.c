/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * bench-store.c: importing the Synthea bundles into a ChartaStore, beside a bare SQLite ceiling.
 *
 *   ninja -C build bench/bench-store
 *   build/bench/bench-store [--runs N] [--limit BUNDLES] [--dir DIR] [--keep] [--jobs N]
 *                           [--only ceiling|store|store2] [CORPUS]
 *
 * CORPUS defaults to $CHARTA_CORPUS, else ../shared/corpus.  The bundles of CORPUS/synthea
 * (the hospital and practitioner bundles first, then the patient bundles by name; --limit
 * takes only the first BUNDLES of them) are read into memory untimed.  Then each figure is
 * measured --runs times (default 3) and its median printed:
 *
 *   store, 1 thread   a fresh store file in DIR (default: the temporary folder; it must be on a
 *                     real disk, since fsync is what synchronous=FULL pays for), default flags
 *                     (synchronous=FULL, every search-index row), one charta_store_transaction
 *                     per bundle: each bundle's bytes parsed with charta_resource_new_from_bytes,
 *                     every entry (a POST with a urn:uuid fullUrl) a CREATE with its fullUrl.
 *                     The rate counts the bundles' resources (not the Provenance the store adds)
 *                     over the whole import, parsing included, as `charta import` does; the
 *                     "without parsing the bundles" rate leaves that parsing out.
 *   store, N workers  the same import driven as `charta import` drives it: this thread parses
 *                     the bundles (keeping at most N parsed ones waiting, which bounds memory)
 *                     and N worker threads (--jobs, default 8, as `charta import`) each make
 *                     one blocking charta_store_transaction per bundle, so several bundles are
 *                     in flight and the store's writer commits the transactions it finds
 *                     queued together (group commit: each transaction is acknowledged only once
 *                     the commit holding it is durable; the writer's commit and batch counts
 *                     are printed, from charta_store_get_stats()).
 *   bare SQLite       the ceiling: the same resources' canonical JSON (made untimed) inserted as
 *                     rows of CREATE TABLE r(id INTEGER PRIMARY KEY, body BLOB) in a fresh WAL
 *                     file, in one transaction, with synchronous=FULL.
 *
 * Beside each rate, the CPU time the whole process used meanwhile (user + system, all threads)
 * per resource: on a shared machine it moves much less than the wall-clock rate.  Then where
 * it went: the store's writer thread (its busy wall-clock time and its CPU time), and the
 * importing threads' CPU time in parsing, in the store's transaction call (which prepares the
 * writes: validation, canonical bodies, index values; a large transaction also uses helper
 * threads, not counted there), in freeing the results and in freeing the parsed bundles.
 *
 * Peak RSS is VmHWM from /proc/self/status, reset before each measurement through
 * /proc/self/clear_refs (so it includes the corpus bytes held in memory: the baseline line
 * shows how much that is).  Bytes on disk per resource are the file plus its -wal after the
 * store (or the bare connection) was closed, divided by the bundles' resource count.
 *
 * The first store run also checks that the store holds exactly the bundles' resources per type.
 * This is a benchmark, never a timed test: the machine is shared and noisy, read medians.
 *
 * --only measures one figure (for profiling), --keep leaves the files in DIR.  Profiling a
 * subset (the build has no frame pointers, hence DWARF unwinding):
 *
 *   perf record --call-graph dwarf -F 999 build/bench/bench-store --runs 1 --limit 20 --only store
 *   perf report --children --comm charta-writer
 */
#define G_LOG_DOMAIN "charta-bench"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/resource.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "charta-malloc.h"
#include "charta-store.h"
#include "charta-store-private.h"  /* charta_store_get_stats(): group-commit figures */

#define TARGET_RATE 10000.0

typedef struct
{
  GPtrArray *bundles;    /* GBytes: each bundle file's bytes */
  GPtrArray *texts;      /* GBytes: each resource's canonical JSON, for the ceiling */
  GHashTable *counts;    /* resource type -> number of resources (GUINT_TO_POINTER) */
  size_t n_resources;
  size_t bytes;          /* bundle bytes */
} Corpus;

typedef struct
{
  double seconds;        /* the whole import */
  double cpu_seconds;    /* user + system time of the process (all threads) meanwhile */
  double parse_seconds;  /* of which parsing the bundles (summed over threads) */
  double peak_rss_mb;
  double disk_bytes;     /* file + -wal after close */
  double import_cpu[4];  /* importing threads' CPU seconds: parse, transaction, free results,
                          * free bundles */
  ChartaStoreStats stats; /* the store's writer: commits, requests, largest batch */
} Figure;

static char *work_dir;
static gboolean keep_files;
static const char *only;  /* NULL, "ceiling", "store" or "store2" */
static unsigned n_jobs = 8;  /* worker threads of the concurrent figure */

/* ---- helpers ----------------------------------------------------------------------------- */

/* User + system time of the whole process, in seconds. */
static double
cpu_time (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec
         + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static void
reset_peak_rss (void)
{
  FILE *file = fopen ("/proc/self/clear_refs", "w");

  if (file != NULL)
    {
      fputs ("5", file);
      fclose (file);
    }
}

/* A "Vm…" line of /proc/self/status, in MB (0 when unavailable). */
static double
status_mb (const char *field)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, field);
  if (line == NULL)
    return 0;
  return g_ascii_strtod (line + strlen (field) + 1, NULL) / 1024.0;
}

static double
file_size (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (double) st.st_size : 0;
}

static double
disk_usage (const char *path)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);

  return file_size (path) + file_size (wal);
}

static void
remove_files (const char *path)
{
  static const char *suffixes[] = { "", "-wal", "-shm", "-journal" };

  for (unsigned i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *name = g_strconcat (path, suffixes[i], NULL);
      g_remove (name);
    }
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median (double *values,
        int     n)
{
  qsort (values, n, sizeof (double), compare_double);
  return values[n / 2];
}

G_NORETURN static void
fail (const char   *what,
      const GError *error)
{
  fprintf (stderr, "bench-store: %s: %s\n", what, error != NULL ? error->message : "failed");
  exit (1);
}

/* ---- the corpus -------------------------------------------------------------------------- */

static ChartaResource *
parse_bundle (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  ChartaResource *bundle = charta_resource_new_from_bytes (bytes, NULL, &error);

  if (bundle == NULL)
    fail ("parsing a bundle", error);
  return bundle;
}

static JsonArray *
bundle_entries (ChartaResource *bundle)
{
  JsonObject *object = charta_resource_get_object (bundle);

  if (!json_object_has_member (object, "entry"))
    return NULL;
  return json_object_get_array_member (object, "entry");
}

static void
load_corpus (Corpus     *corpus,
             const char *corpus_dir,
             int         limit)
{
  g_autofree char *synthea = g_build_filename (corpus_dir, "synthea", NULL);
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) shared = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) patients = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  const char *name;

  dir = g_dir_open (synthea, 0, &error);
  if (dir == NULL)
    fail ("the corpus (set CHARTA_CORPUS)", error);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (!g_str_has_suffix (name, ".json"))
        continue;
      if (g_str_has_prefix (name, "hospital") || g_str_has_prefix (name, "practitioner"))
        g_ptr_array_add (shared, g_build_filename (synthea, name, NULL));
      else
        g_ptr_array_add (patients, g_build_filename (synthea, name, NULL));
    }
  g_ptr_array_sort (shared, (GCompareFunc) g_strcmp0);
  g_ptr_array_sort (patients, (GCompareFunc) g_strcmp0);
  g_ptr_array_extend_and_steal (shared, g_steal_pointer (&patients));

  for (unsigned i = 0; i < shared->len && (limit <= 0 || (int) i < limit); i++)
    {
      const char *path = g_ptr_array_index (shared, i);
      g_autoptr(ChartaResource) bundle = NULL;
      char *data = NULL;
      size_t length = 0;
      GBytes *bytes;
      JsonArray *entries;

      if (!g_file_get_contents (path, &data, &length, &error))
        fail (path, error);
      bytes = g_bytes_new_take (data, length);
      g_ptr_array_add (corpus->bundles, bytes);
      corpus->bytes += length;

      bundle = parse_bundle (bytes);
      entries = bundle_entries (bundle);
      for (unsigned j = 0; entries != NULL && j < json_array_get_length (entries); j++)
        {
          JsonObject *entry = json_array_get_object_element (entries, j);
          g_autoptr(ChartaResource) resource = NULL;
          const char *type;
          unsigned count;

          if (!json_object_has_member (entry, "resource"))
            continue;
          resource = charta_resource_new_nested (bundle, json_object_get_member (entry, "resource"),
                                                 &error);
          if (resource == NULL)
            fail (path, error);
          g_ptr_array_add (corpus->texts, charta_resource_to_bytes (resource, FALSE));
          type = g_intern_string (charta_resource_get_resource_type (resource));
          count = GPOINTER_TO_UINT (g_hash_table_lookup (corpus->counts, type));
          g_hash_table_insert (corpus->counts, (gpointer) type, GUINT_TO_POINTER (count + 1));
          corpus->n_resources++;
        }
    }
}

/* ---- importing into the store ------------------------------------------------------------ */

typedef struct
{
  ChartaStore *store;
  Corpus *corpus;
  GAsyncQueue *parsed;   /* Parsed *, for the workers (NULL: 1 thread) */
  GMutex lock;
  GCond cond;            /* signalled when a worker takes a parsed bundle */
  unsigned queued;       /* under lock: parsed bundles no worker has taken yet */
  unsigned max_queued;
  double parse_seconds;  /* under lock */
  double cpu[4];         /* under lock: CPU seconds of the importing threads in parsing, the
                          * store's transaction, freeing its results, freeing the bundle */
} Import;

/* One bundle, parsed and turned into a transaction's operations. */
typedef struct
{
  ChartaResource *bundle;
  GPtrArray *resources;  /* the entries' resources, which the operations borrow */
  GArray *operations;    /* ChartaOperation */
} Parsed;

static ChartaMethod
entry_method (JsonObject *entry)
{
  JsonObject *request;
  const char *method;

  if (!json_object_has_member (entry, "request"))
    return CHARTA_METHOD_CREATE;
  request = json_object_get_object_member (entry, "request");
  method = json_object_get_string_member_with_default (request, "method", "POST");
  if (g_str_equal (method, "PUT"))
    return CHARTA_METHOD_UPDATE;
  if (g_str_equal (method, "DELETE"))
    return CHARTA_METHOD_DELETE;
  return CHARTA_METHOD_CREATE;
}

/* CPU time of the calling thread, in seconds. */
static double
thread_cpu_time (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
add_cpu (Import *import,
         int     part,
         double  seconds)
{
  g_mutex_lock (&import->lock);
  import->cpu[part] += seconds;
  g_mutex_unlock (&import->lock);
}

/* Parses a bundle and makes its operations: each entry with a resource a CREATE (or what its
 * request says) with its fullUrl. */
static Parsed *
parse_for_import (Import *import,
                  GBytes *bytes)
{
  int64_t start = g_get_monotonic_time ();
  double cpu0 = thread_cpu_time ();
  Parsed *parsed = g_new0 (Parsed, 1);
  g_autoptr(GError) error = NULL;
  JsonArray *entries;

  parsed->bundle = parse_bundle (bytes);
  parsed->resources = g_ptr_array_new_with_free_func ((GDestroyNotify) charta_resource_unref);
  parsed->operations = g_array_new (FALSE, TRUE, sizeof (ChartaOperation));
  entries = bundle_entries (parsed->bundle);
  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);
      ChartaOperation operation = { 0, };
      ChartaResource *resource;

      if (!json_object_has_member (entry, "resource"))
        continue;
      resource = charta_resource_new_nested (parsed->bundle,
                                             json_object_get_member (entry, "resource"), &error);
      if (resource == NULL)
        fail ("a bundle entry", error);
      g_ptr_array_add (parsed->resources, resource);
      operation.method = entry_method (entry);
      operation.resource = resource;
      operation.full_url = json_object_get_string_member_with_default (entry, "fullUrl", NULL);
      g_array_append_val (parsed->operations, operation);
    }
  g_mutex_lock (&import->lock);
  import->parse_seconds += (g_get_monotonic_time () - start) / 1e6;
  import->cpu[0] += thread_cpu_time () - cpu0;
  g_mutex_unlock (&import->lock);
  return parsed;
}

/* Writes a parsed bundle as one transaction, then frees it all. */
static void
store_parsed (Import *import,
              Parsed *parsed)
{
  double cpu0 = thread_cpu_time (), cpu1, cpu2;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  results = charta_store_transaction (import->store,
                                      (ChartaOperation *) parsed->operations->data,
                                      parsed->operations->len, NULL, &error);
  if (results == NULL)
    fail ("a bundle's transaction", error);
  cpu1 = thread_cpu_time ();
  g_clear_pointer (&results, g_ptr_array_unref);
  cpu2 = thread_cpu_time ();
  g_ptr_array_unref (parsed->resources);
  g_array_unref (parsed->operations);
  charta_resource_unref (parsed->bundle);
  g_free (parsed);
  add_cpu (import, 1, cpu1 - cpu0);
  add_cpu (import, 2, cpu2 - cpu1);
  add_cpu (import, 3, thread_cpu_time () - cpu2);
}

static gpointer
worker_thread (gpointer data)
{
  Import *import = data;
  Parsed *parsed;

  while ((parsed = g_async_queue_pop (import->parsed)) != (Parsed *) import)
    {
      g_mutex_lock (&import->lock);
      import->queued--;
      g_cond_signal (&import->cond);
      g_mutex_unlock (&import->lock);
      store_parsed (import, parsed);
    }
  return NULL;
}

/* The import: with no workers, this thread parses and writes each bundle in turn; else it
 * parses and the workers write, as `charta import` does (it keeps at most as many parsed
 * bundles waiting as there are workers, which bounds memory). */
static void
run_import (Import   *import,
            unsigned  n_workers)
{
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  GPtrArray *bundles = import->corpus->bundles;

  if (n_workers == 0)
    {
      for (unsigned i = 0; i < bundles->len; i++)
        store_parsed (import, parse_for_import (import, g_ptr_array_index (bundles, i)));
      return;
    }
  import->parsed = g_async_queue_new ();
  import->max_queued = n_workers;
  for (unsigned i = 0; i < n_workers; i++)
    g_ptr_array_add (threads, g_thread_new ("import", worker_thread, import));
  for (unsigned i = 0; i < bundles->len; i++)
    {
      Parsed *parsed = parse_for_import (import, g_ptr_array_index (bundles, i));

      g_mutex_lock (&import->lock);
      while (import->queued >= import->max_queued)
        g_cond_wait (&import->cond, &import->lock);
      import->queued++;
      g_mutex_unlock (&import->lock);
      g_async_queue_push (import->parsed, parsed);
    }
  for (unsigned i = 0; i < n_workers; i++)
    g_async_queue_push (import->parsed, import);  /* the stop mark */
  for (unsigned i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));
  g_async_queue_unref (import->parsed);
}

/* Every type's count in the store equals the bundles' count. */
static void
check_counts (const char *path,
              Corpus     *corpus)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaStore) store = charta_store_open (path, CHARTA_STORE_FLAGS_READ_ONLY, &error);
  g_autoptr(GHashTable) counts = NULL;
  GHashTableIter iter;
  gpointer key, value;

  if (store == NULL)
    fail ("reopening the store", error);
  counts = charta_store_count_by_type (store, &error);
  if (counts == NULL)
    fail ("counting the store", error);
  g_hash_table_iter_init (&iter, corpus->counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      int64_t *stored = g_hash_table_lookup (counts, key);

      if (stored == NULL || *stored != (int64_t) GPOINTER_TO_UINT (value))
        {
          fprintf (stderr, "bench-store: the store has %" G_GINT64_FORMAT " %s, the bundles %u\n",
                   stored != NULL ? *stored : 0, (const char *) key, GPOINTER_TO_UINT (value));
          exit (1);
        }
    }
  charta_store_close (store);
}

static Figure
run_store (Corpus  *corpus,
           unsigned n_workers,
           gboolean check)
{
  g_autofree char *path = g_build_filename (work_dir, "bench-store.charta", NULL);
  g_autoptr(GError) error = NULL;
  Import import = { 0, };
  Figure figure = { 0, };
  int64_t start;
  double cpu_start;

  import.corpus = corpus;
  g_mutex_init (&import.lock);
  g_cond_init (&import.cond);
  remove_files (path);
  reset_peak_rss ();
  cpu_start = cpu_time ();
  start = g_get_monotonic_time ();
  import.store = charta_store_open (path, CHARTA_STORE_FLAGS_CREATE, &error);
  if (import.store == NULL)
    fail (path, error);
  run_import (&import, n_workers);
  charta_store_get_stats (import.store, &figure.stats);
  charta_store_close (import.store);
  figure.seconds = (g_get_monotonic_time () - start) / 1e6;
  figure.cpu_seconds = cpu_time () - cpu_start;
  figure.parse_seconds = import.parse_seconds;
  memcpy (figure.import_cpu, import.cpu, sizeof figure.import_cpu);
  figure.peak_rss_mb = status_mb ("VmHWM:");
  g_object_unref (import.store);
  figure.disk_bytes = disk_usage (path);
  g_mutex_clear (&import.lock);
  g_cond_clear (&import.cond);

  if (check)
    check_counts (path, corpus);
  if (!keep_files)
    remove_files (path);
  return figure;
}

/* ---- the bare SQLite ceiling ---------------------------------------------------------------- */

static void
sqlite_exec (sqlite3    *db,
             const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    {
      fprintf (stderr, "bench-store: sqlite: %s: %s\n", sql, message);
      exit (1);
    }
}

static Figure
run_ceiling (Corpus *corpus)
{
  g_autofree char *path = g_build_filename (work_dir, "bench-ceiling.sqlite", NULL);
  Figure figure = { 0, };
  sqlite3 *db = NULL;
  sqlite3_stmt *insert = NULL;
  int64_t start;
  double cpu_start;

  remove_files (path);
  reset_peak_rss ();
  cpu_start = cpu_time ();
  start = g_get_monotonic_time ();
  if (sqlite3_open (path, &db) != SQLITE_OK)
    {
      fprintf (stderr, "bench-store: %s: %s\n", path, sqlite3_errmsg (db));
      exit (1);
    }
  sqlite_exec (db, "PRAGMA journal_mode=WAL");
  sqlite_exec (db, "PRAGMA synchronous=FULL");
  sqlite_exec (db, "CREATE TABLE r(id INTEGER PRIMARY KEY, body BLOB)");
  sqlite_exec (db, "BEGIN");
  if (sqlite3_prepare_v2 (db, "INSERT INTO r(body) VALUES (?)", -1, &insert, NULL) != SQLITE_OK)
    {
      fprintf (stderr, "bench-store: sqlite: %s\n", sqlite3_errmsg (db));
      exit (1);
    }
  for (unsigned i = 0; i < corpus->texts->len; i++)
    {
      size_t size;
      const void *data = g_bytes_get_data (g_ptr_array_index (corpus->texts, i), &size);

      sqlite3_bind_blob (insert, 1, data, (int) size, SQLITE_STATIC);
      if (sqlite3_step (insert) != SQLITE_DONE)
        {
          fprintf (stderr, "bench-store: sqlite: %s\n", sqlite3_errmsg (db));
          exit (1);
        }
      sqlite3_reset (insert);
    }
  sqlite3_finalize (insert);
  sqlite_exec (db, "COMMIT");
  sqlite3_close (db);
  figure.seconds = (g_get_monotonic_time () - start) / 1e6;
  figure.cpu_seconds = cpu_time () - cpu_start;
  figure.peak_rss_mb = status_mb ("VmHWM:");
  figure.disk_bytes = disk_usage (path);
  if (!keep_files)
    remove_files (path);
  return figure;
}

/* ---- main ------------------------------------------------------------------------------------ */

/* The median rate of a figure's runs, 0 when it was not measured. */
static double
figure_rate (Corpus *corpus,
             Figure *figures,
             int     runs)
{
  g_autofree double *rates = g_new (double, runs);

  if (figures[0].seconds <= 0)
    return 0;
  for (int r = 0; r < runs; r++)
    rates[r] = corpus->n_resources / figures[r].seconds;
  return median (rates, runs);
}

static void
print_figure (const char *label,
              Corpus     *corpus,
              Figure     *figures,
              int         runs,
              double      ceiling_rate,
              gboolean    with_parse)
{
  g_autofree double *rate = g_new (double, runs);
  g_autofree double *store_rate = g_new (double, runs);
  g_autofree double *rss = g_new (double, runs);
  g_autofree double *disk = g_new (double, runs);
  g_autofree double *cpu = g_new (double, runs);
  double median_rate, min_rate = G_MAXDOUBLE, max_rate = 0;

  for (int r = 0; r < runs; r++)
    {
      rate[r] = corpus->n_resources / figures[r].seconds;
      store_rate[r] = corpus->n_resources
                      / MAX (figures[r].seconds - figures[r].parse_seconds, 1e-9);
      rss[r] = figures[r].peak_rss_mb;
      disk[r] = figures[r].disk_bytes;
      cpu[r] = figures[r].cpu_seconds * 1e6 / corpus->n_resources;
      min_rate = MIN (min_rate, rate[r]);
      max_rate = MAX (max_rate, rate[r]);
    }
  median_rate = median (rate, runs);
  printf ("  %-18s %8.0f resources/s (min %.0f, max %.0f)", label, median_rate, min_rate, max_rate);
  if (ceiling_rate > 0)
    printf ("  %.2fx ceiling", median_rate / ceiling_rate);
  printf ("\n");
  if (with_parse)
    printf ("  %-18s %8.0f resources/s without parsing the bundles\n", "",
            median (store_rate, runs));
  printf ("  %-18s %8.0f µs of CPU per resource (all threads; steadier than the rate on a busy "
          "machine)\n", "", median (cpu, runs));
  printf ("  %-18s peak RSS %.0f MB, on disk %.0f bytes/resource (%.1f MB)\n", "",
          median (rss, runs), median (disk, runs) / corpus->n_resources, median (disk, runs) / 1e6);
  if (figures[0].stats.n_requests > 0)
    {
      g_autofree double *busy = g_new (double, runs);
      g_autofree double *writer_cpu = g_new (double, runs);

      for (int r = 0; r < runs; r++)
        {
          busy[r] = figures[r].stats.busy_usec / (double) corpus->n_resources;
          writer_cpu[r] = figures[r].stats.cpu_usec / (double) corpus->n_resources;
        }
      printf ("  %-18s the writer thread: busy %.0f µs per resource (wall clock), of which "
              "%.0f µs CPU\n", "", median (busy, runs), median (writer_cpu, runs));
      {
        double parts[4][15];

        for (int k = 0; k < 4; k++)
          for (int r = 0; r < runs; r++)
            parts[k][r] = figures[r].import_cpu[k] * 1e6 / corpus->n_resources;
        printf ("  %-18s importing threads' CPU per resource: parsing %.0f µs, transaction %.0f µs"
                " (its helper threads not counted), freeing results %.0f µs, freeing bundles "
                "%.0f µs\n", "", median (parts[0], runs), median (parts[1], runs),
                median (parts[2], runs), median (parts[3], runs));
      }
      printf ("  %-18s group commit (first run): %u transactions in %u commits, at most %u in "
              "one\n", "", figures[0].stats.n_requests, figures[0].stats.n_commits,
              figures[0].stats.max_batch);
    }
}

int
main (int    argc,
      char **argv)
{
  int runs = 3;
  int limit = 0;
  const char *corpus_dir = NULL;
  Corpus corpus = { 0, };
  g_autofree Figure *single = NULL;
  g_autofree Figure *dual = NULL;
  g_autofree char *workers_label = NULL;
  double workers_rate;
  g_autofree Figure *ceiling = NULL;
  double ceiling_rate, single_rate;
  double baseline_rss;

  /* as the `charta` command runs: GSlice handed to malloc (see charta-malloc.h) */
  charta_reexec_with_malloc (argv);

  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--runs") && i + 1 < argc)
        runs = atoi (argv[++i]);
      else if (g_str_equal (argv[i], "--limit") && i + 1 < argc)
        limit = atoi (argv[++i]);
      else if (g_str_equal (argv[i], "--dir") && i + 1 < argc)
        work_dir = g_strdup (argv[++i]);
      else if (g_str_equal (argv[i], "--jobs") && i + 1 < argc)
        {
          int jobs = atoi (argv[++i]);

          n_jobs = CLAMP (jobs, 1, 64);
        }
      else if (g_str_equal (argv[i], "--keep"))
        keep_files = TRUE;
      else if (g_str_equal (argv[i], "--only") && i + 1 < argc)
        only = argv[++i];
      else if (argv[i][0] == '-')
        {
          fprintf (stderr, "Usage: bench-store [--runs N] [--limit BUNDLES] [--dir DIR] [--keep] "
                   "[--jobs N] [--only ceiling|store|store2] [CORPUS]\n");
          return 2;
        }
      else
        corpus_dir = argv[i];
    }
  runs = CLAMP (runs, 1, 15);
  if (corpus_dir == NULL)
    corpus_dir = g_getenv ("CHARTA_CORPUS");
  if (corpus_dir == NULL)
    corpus_dir = "../shared/corpus";
  if (work_dir == NULL)
    work_dir = g_strdup (g_get_tmp_dir ());

  corpus.bundles = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  corpus.texts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  corpus.counts = g_hash_table_new (g_str_hash, g_str_equal);
  load_corpus (&corpus, corpus_dir, limit);
  baseline_rss = status_mb ("VmRSS:");

  printf ("bench-store: %zu resources in %u bundles (%.1f MB of JSON), %d runs, files in %s\n",
          corpus.n_resources, corpus.bundles->len, corpus.bytes / 1e6, runs, work_dir);
  printf ("  synchronous=FULL, all search-index rows, one transaction per bundle; "
          "baseline RSS with the corpus loaded: %.0f MB; G_SLICE=%s\n", baseline_rss,
          g_getenv ("G_SLICE") != NULL ? g_getenv ("G_SLICE") : "(unset)");

  single = g_new0 (Figure, runs);
  dual = g_new0 (Figure, runs);
  ceiling = g_new0 (Figure, runs);
  for (int r = 0; r < runs; r++)
    {
      if (only == NULL || g_str_equal (only, "ceiling"))
        ceiling[r] = run_ceiling (&corpus);
      if (only == NULL || g_str_equal (only, "store"))
        single[r] = run_store (&corpus, 0, r == 0);
      if (only == NULL || g_str_equal (only, "store2"))
        dual[r] = run_store (&corpus, n_jobs, r == 0);
    }

  ceiling_rate = figure_rate (&corpus, ceiling, runs);
  single_rate = figure_rate (&corpus, single, runs);
  if (ceiling_rate > 0)
    print_figure ("bare SQLite", &corpus, ceiling, runs, 0, FALSE);
  if (single_rate > 0)
    print_figure ("store, 1 thread", &corpus, single, runs, ceiling_rate, TRUE);
  workers_rate = figure_rate (&corpus, dual, runs);
  workers_label = g_strdup_printf ("store, %u worker%s", n_jobs, n_jobs == 1 ? "" : "s");
  if (workers_rate > 0)
    print_figure (workers_label, &corpus, dual, runs, ceiling_rate, FALSE);
  if (single_rate > 0 || workers_rate > 0)
    printf ("  target %.0f resources/s (parsing included; the better of the figures above, "
            "medians): %s\n", TARGET_RATE,
            MAX (single_rate, workers_rate) >= TARGET_RATE ? "met" : "NOT met");

  g_ptr_array_unref (corpus.bundles);
  g_ptr_array_unref (corpus.texts);
  g_hash_table_unref (corpus.counts);
  g_free (work_dir);
  return 0;
}
