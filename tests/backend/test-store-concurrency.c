/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-store-concurrency.c: ChartaStore under many threads.
 *
 * - Conflicting updates: 8 threads each make 500 successful read-modify-write updates, with
 *   expected versions, of one resource; no update is lost (the final version is 8 × 500 + 1)
 *   and every failed attempt failed with CHARTA_STORE_ERROR_CONFLICT.
 * - Readers during writes see whole versions only: the content of each version names the
 *   version it was written as, and every read (current, vread, bytes) must agree with itself.
 * - Group commit: concurrent writers share commits (requests per commit > 1).
 */
#define G_LOG_DOMAIN "charta-test-store-concurrency"

#include <string.h>

#include "charta-store-private.h"
#include "charta-test-store-util.h"

#define N_THREADS 8
#define N_UPDATES 500

typedef ChartaTestStore Fixture;   /* a new store in a temporary folder */

/* A Patient whose content names @marker twice (family and given must agree). */
static ChartaResource *
marked_patient (const char *id,
                const char *marker)
{
  g_autofree char *json = g_strdup_printf (
    "{\"resourceType\":\"Patient\",\"id\":\"%s\",\"name\":[{\"family\":\"F%s\","
    "\"given\":[\"G%s\"]}]}", id, marker, marker);

  return charta_test_parse (json);
}

static const char *
family_of (ChartaResource *resource)
{
  JsonObject *object = charta_resource_get_object (resource);
  JsonArray *names = json_object_get_array_member (object, "name");

  return json_object_get_string_member (json_array_get_object_element (names, 0), "family");
}

static const char *
given_of (ChartaResource *resource)
{
  JsonObject *object = charta_resource_get_object (resource);
  JsonArray *names = json_object_get_array_member (object, "name");
  JsonObject *name = json_array_get_object_element (names, 0);

  return json_array_get_string_element (json_object_get_array_member (name, "given"), 0);
}

/* ---- conflicting updates ---------------------------------------------------------------- */

typedef struct
{
  ChartaStore *store;
  const char  *id;
  unsigned     thread;
  unsigned     successes;
  unsigned     conflicts;
  unsigned     other_errors;
} Worker;

static gpointer
update_worker (gpointer data)
{
  Worker *w = data;

  while (w->successes < N_UPDATES)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ChartaResource) current = charta_store_read (w->store, "Patient", w->id, &error);
      g_autoptr(ChartaResource) next = NULL;
      g_autoptr(ChartaResource) stored = NULL;
      g_autofree char *marker = NULL;
      int64_t version;

      if (current == NULL)
        {
          w->other_errors++;
          continue;
        }
      version = g_ascii_strtoll (charta_resource_get_version_id (current), NULL, 10);
      marker = g_strdup_printf ("%u-%u", w->thread, w->successes);
      next = marked_patient (w->id, marker);
      stored = charta_store_update (w->store, next, version, NULL, NULL, &error);
      if (stored != NULL)
        {
          g_autofree char *expected = g_strdup_printf ("%" G_GINT64_FORMAT, version + 1);

          /* Our write is exactly the next version. */
          if (g_strcmp0 (charta_resource_get_version_id (stored), expected) != 0)
            w->other_errors++;
          w->successes++;
        }
      else if (g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CONFLICT))
        w->conflicts++;
      else
        {
          g_printerr ("unexpected error: %s\n", error->message);
          w->other_errors++;
          if (w->other_errors > 10)
            break;
        }
    }
  return NULL;
}

static void
test_conflicting_updates (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) first = marked_patient ("contested", "start");
  g_autoptr(ChartaResource) created = NULL;
  g_autoptr(ChartaResource) final = NULL;
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  g_autoptr(GPtrArray) provenance = NULL;
  Worker workers[N_THREADS];
  GThread *threads[N_THREADS];
  unsigned successes = 0, conflicts = 0;
  ChartaHistoryOptions options = { .count = 10000 };
  g_autoptr(GPtrArray) history = NULL;
  ChartaStoreStats stats;

  created = charta_store_update (f->store, first, 0, NULL, NULL, &error);
  g_assert_no_error (error);

  for (unsigned i = 0; i < N_THREADS; i++)
    {
      workers[i] = (Worker) { f->store, "contested", i, 0, 0, 0 };
      threads[i] = g_thread_new ("updater", update_worker, &workers[i]);
    }
  for (unsigned i = 0; i < N_THREADS; i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpuint (workers[i].other_errors, ==, 0);
      g_assert_cmpuint (workers[i].successes, ==, N_UPDATES);
      successes += workers[i].successes;
      conflicts += workers[i].conflicts;
    }
  g_test_message ("%u successful updates, %u conflicts", successes, conflicts);
  g_assert_cmpuint (successes, ==, N_THREADS * N_UPDATES);
  /* Eight threads racing on one resource do collide. */
  g_assert_cmpuint (conflicts, >, 0);

  final = charta_store_read (f->store, "Patient", "contested", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_ascii_strtoll (charta_resource_get_version_id (final), NULL, 10), ==,
                   successes + 1);
  history = charta_store_history (f->store, "Patient", "contested", &options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (history->len, ==, successes + 1);
  for (unsigned i = 0; i < history->len; i++)
    g_assert_cmpint (((ChartaHistoryEntry *) g_ptr_array_index (history, i))->version, ==,
                     successes + 1 - i);
  provenance = charta_store_list_provenance (f->store, "Patient", "contested", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (provenance->len, ==, successes + 1);

  charta_store_get_stats (f->store, &stats);
  g_test_message ("%u write requests in %u commits (%.2f per commit, at most %u)",
                  stats.n_requests, stats.n_commits,
                  (double) stats.n_requests / MAX (stats.n_commits, 1), stats.max_batch);
  g_assert_cmpuint (stats.n_requests, ==, successes + conflicts + 1);

  g_assert_true (charta_store_check (f->store, outcome, &error));
  g_assert_no_error (error);
}

/* ---- readers see whole versions ------------------------------------------------------------ */

typedef struct
{
  ChartaStore *store;
  gint        *stop;
  unsigned     reads;
  unsigned     torn;
} Reader;

static gpointer
read_worker (gpointer data)
{
  Reader *r = data;

  while (!g_atomic_int_get (r->stop))
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ChartaResource) current = charta_store_read (r->store, "Patient", "watched",
                                                             &error);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(ChartaResource) from_bytes = NULL;
      g_autoptr(ChartaResource) older = NULL;
      g_autofree char *family = NULL;
      const char *vid;
      int64_t version = 0, bytes_version = 0;

      if (current == NULL)
        {
          r->torn++;
          continue;
        }
      vid = charta_resource_get_version_id (current);
      version = g_ascii_strtoll (vid, NULL, 10);
      /* The content of version v names v. */
      family = g_strconcat ("F", vid, NULL);
      if (g_strcmp0 (family_of (current), family) != 0 || strcmp (given_of (current) + 1, vid) != 0)
        r->torn++;

      bytes = charta_store_read_bytes (r->store, "Patient", "watched", &bytes_version, &error);
      if (bytes == NULL || bytes_version < version)
        r->torn++;
      else
        {
          g_autofree char *expected = g_strdup_printf ("%" G_GINT64_FORMAT, bytes_version);

          from_bytes = charta_resource_new_from_bytes (bytes, NULL, &error);
          if (from_bytes == NULL
              || g_strcmp0 (charta_resource_get_version_id (from_bytes), expected) != 0)
            r->torn++;
        }
      if (version > 1)
        {
          g_autofree char *previous = g_strdup_printf ("F%" G_GINT64_FORMAT, version - 1);

          older = charta_store_vread (r->store, "Patient", "watched", version - 1, &error);
          if (older == NULL || g_strcmp0 (family_of (older), previous) != 0)
            r->torn++;
        }
      r->reads++;
    }
  return NULL;
}

static void
test_readers_see_whole_versions (Fixture       *f,
                                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) first = marked_patient ("watched", "1");
  g_autoptr(ChartaResource) created = NULL;
  Reader readers[4];
  GThread *threads[4];
  gint stop = 0;
  unsigned total_reads = 0;

  created = charta_store_update (f->store, first, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  for (unsigned i = 0; i < G_N_ELEMENTS (readers); i++)
    {
      readers[i] = (Reader) { f->store, &stop, 0, 0 };
      threads[i] = g_thread_new ("reader", read_worker, &readers[i]);
    }
  for (int64_t v = 1; v < 300; v++)
    {
      g_autofree char *marker = g_strdup_printf ("%" G_GINT64_FORMAT, v + 1);
      g_autoptr(ChartaResource) next = marked_patient ("watched", marker);
      g_autoptr(ChartaResource) stored = charta_store_update (f->store, next, v, NULL, NULL,
                                                              &error);

      g_assert_no_error (error);
      g_assert_nonnull (stored);
    }
  g_atomic_int_set (&stop, 1);
  for (unsigned i = 0; i < G_N_ELEMENTS (readers); i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpuint (readers[i].torn, ==, 0);
      total_reads += readers[i].reads;
    }
  g_test_message ("%u consistent reads during 299 updates", total_reads);
  g_assert_cmpuint (total_reads, >, 0);
}

/* ---- group commit ------------------------------------------------------------------------------ */

typedef struct
{
  ChartaStore *store;
  unsigned     created;
} Creator;

static gpointer
create_worker (gpointer data)
{
  Creator *c = data;

  for (unsigned i = 0; i < 100; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *json = g_strdup_printf ("{\"resourceType\":\"Observation\",\"status\":\"final\","
                                               "\"code\":{\"text\":\"count %u\"},"
                                               "\"valueInteger\":%u}", i, i);
      g_autoptr(ChartaResource) input = charta_test_parse (json);
      g_autoptr(ChartaResource) stored = charta_store_create (c->store, input, NULL, &error);

      if (stored != NULL)
        c->created++;
    }
  return NULL;
}

static void
test_group_commit (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) counts = NULL;
  Creator creators[N_THREADS];
  GThread *threads[N_THREADS];
  ChartaStoreStats stats;
  gint64 start = g_get_monotonic_time ();
  double seconds;

  for (unsigned i = 0; i < N_THREADS; i++)
    {
      creators[i] = (Creator) { f->store, 0 };
      threads[i] = g_thread_new ("creator", create_worker, &creators[i]);
    }
  for (unsigned i = 0; i < N_THREADS; i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpuint (creators[i].created, ==, 100);
    }
  seconds = (g_get_monotonic_time () - start) / 1e6;
  charta_store_get_stats (f->store, &stats);
  g_test_message ("%u creates from %u threads in %.2f s (%.0f/s): %u commits, %.2f requests "
                  "per commit on average, at most %u", stats.n_requests, N_THREADS, seconds,
                  stats.n_requests / seconds, stats.n_commits,
                  (double) stats.n_requests / MAX (stats.n_commits, 1), stats.max_batch);
  g_assert_cmpuint (stats.n_requests, ==, N_THREADS * 100);
  /* Group commit: fewer commits than requests. */
  g_assert_cmpuint (stats.n_commits, <, stats.n_requests);
  g_assert_cmpuint (stats.max_batch, >, 1);

  counts = charta_store_count_by_type (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpint (*(int64_t *) g_hash_table_lookup (counts, "Observation"), ==,
                   N_THREADS * 100);
  g_assert_cmpint (*(int64_t *) g_hash_table_lookup (counts, "Provenance"), ==,
                   N_THREADS * 100);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/charta/backend/store-concurrency/conflicting-updates", Fixture, NULL,
              charta_test_store_set_up, test_conflicting_updates, charta_test_store_tear_down);
  g_test_add ("/charta/backend/store-concurrency/readers-see-whole-versions", Fixture, NULL,
              charta_test_store_set_up, test_readers_see_whole_versions,
              charta_test_store_tear_down);
  g_test_add ("/charta/backend/store-concurrency/group-commit", Fixture, NULL,
              charta_test_store_set_up, test_group_commit, charta_test_store_tear_down);
  return g_test_run ();
}
