/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * crash-writer.c: the child process that test-crash kills with SIGKILL at random moments.
 *
 *   crash-writer STORE SEED [LIE]
 *
 * Opens (creating if needed) STORE with the default flags (synchronous=FULL) and writes until
 * it is killed: several threads at once, so the store's writer thread always has a group
 * commit in flight.
 *
 *   single threads  creates, updates with the expected version, updates-as-create with a
 *                   client-chosen id, and deletes, of Patient and Observation resources that
 *                   the thread itself made in this run (so no other writer ever touches them)
 *   txn thread      small generated transactions: a Patient and 1-7 Observations whose subject
 *                   is the Patient's urn:uuid fullUrl
 *   bundle thread   a Synthea patient bundle from $CHARTA_CORPUS/synthea (one of the smaller
 *                   ones, chosen by SEED), posted again and again as one transaction; without
 *                   the corpus it makes large generated transactions instead
 *
 * Every resource written carries a meta.tag with system "urn:charta:crash" whose code marks
 * the write: "SEED.T.N" for single writes (thread T, its Nth write), "SEED.x.N:K" for every
 * entry of a transaction of K entries.  The parent finds half-written transactions by
 * counting, for each transaction code it sees in the store, the resources that carry it.
 *
 * Only after a call RETURNED success (the store returns once the commit is durable) does the
 * thread print one line to stdout and flush it:
 *
 *   C Type/id VERSION CODE          a create
 *   U Type/id VERSION CODE          an update (or an update-as-create)
 *   D Type/id VERSION               a delete (VERSION is the tombstone's)
 *   T CODE Type/id/VERSION …        a transaction, every entry in order
 *
 * LIE makes the writer lie once, so that test-crash can show its checks fail when they should:
 * "lost" reports a create that never happened (Patient/never-written), "content" reports the
 * first create with the wrong tag code, "half" tags the first create as one of a transaction of
 * 2 entries.  Each lie concerns thread 0's first write.
 *
 * SEED must be made of letters, digits, '-' and '.' (it goes into ids and tag codes).  Any
 * unexpected failure prints to stderr and exits with status 2, which the parent reports; after
 * 60 s ($CHARTA_CRASH_WRITER_SECONDS) without being killed the process stops on its own, prints
 * its writer's group-commit figures to stderr and exits with 0; on Linux it dies with its
 * parent.
 */
#define G_LOG_DOMAIN "charta-crash-writer"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <glib/gstdio.h>

#include "charta-store-private.h"  /* charta_store_get_stats() */
#include "charta-test-store-util.h"

#define CRASH_TAG_SYSTEM "urn:charta:crash"
#define N_SINGLE_THREADS 3
#define RUN_LIMIT_US (60 * G_USEC_PER_SEC)
#define BUNDLE_MAX_FILE_SIZE 300000

static ChartaStore *store;
static const char *seed;
static const char *lie;  /* NULL, or "lost", "content", "half" (see above) */
static int64_t deadline;
static GMutex output_lock;

static void
report (const char *line)
{
  g_mutex_lock (&output_lock);
  fputs (line, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
  g_mutex_unlock (&output_lock);
}

G_NORETURN static void
die (const char   *what,
     const GError *error)
{
  g_mutex_lock (&output_lock);
  fprintf (stderr, "crash-writer: %s: %s\n", what, error != NULL ? error->message : "failed");
  fflush (stderr);
  _exit (2);
}

static ChartaResource *
resource_from_text (const char *text)
{
  g_autoptr(GError) error = NULL;
  ChartaResource *resource = charta_resource_new_from_data (text, strlen (text), NULL, &error);

  if (resource == NULL)
    die ("generated resource does not parse", error);
  return resource;
}

static int64_t
version_of (ChartaResource *resource)
{
  const char *version = charta_resource_get_version_id (resource);

  if (version == NULL)
    die ("stored resource has no meta.versionId", NULL);
  return g_ascii_strtoll (version, NULL, 10);
}

/* The opening of a resource of @type tagged with @code, up to the comma after its meta; @id
 * NULL lets the store choose. */
static GString *
begin_tagged (const char *type,
              const char *id,
              const char *code)
{
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "{\"resourceType\":\"%s\",", type);
  if (id != NULL)
    g_string_append_printf (s, "\"id\":\"%s\",", id);
  g_string_append_printf (s, "\"meta\":{\"tag\":[{\"system\":\"" CRASH_TAG_SYSTEM "\","
                          "\"code\":\"%s\"}]},", code);
  return s;
}

/* A Patient (or an Observation) tagged with @code; @id NULL lets the store choose. */
static char *
make_patient (GRand      *rand,
              const char *id,
              const char *code)
{
  GString *s = begin_tagged ("Patient", id, code);

  g_string_append_printf (s, "\"active\":%s,"
                          "\"name\":[{\"family\":\"Crash\",\"given\":[\"Writer%u\"]}],"
                          "\"gender\":\"%s\",\"birthDate\":\"19%02u-%02u-%02u\"}",
                          g_rand_boolean (rand) ? "true" : "false",
                          g_rand_int_range (rand, 0, 1000),
                          g_rand_boolean (rand) ? "female" : "male",
                          g_rand_int_range (rand, 20, 100), g_rand_int_range (rand, 1, 13),
                          g_rand_int_range (rand, 1, 29));
  return g_string_free (s, FALSE);
}

static char *
make_observation (GRand      *rand,
                  const char *id,
                  const char *subject,
                  const char *code)
{
  GString *s = begin_tagged ("Observation", id, code);

  g_string_append (s, "\"status\":\"final\","
                   "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\","
                   "\"code\":\"8867-4\",\"display\":\"Heart rate\"}]},");
  if (subject != NULL)
    g_string_append_printf (s, "\"subject\":{\"reference\":\"%s\"},", subject);
  g_string_append_printf (s, "\"effectiveDateTime\":\"2020-%02u-%02uT%02u:%02u:00Z\","
                          "\"valueQuantity\":{\"value\":%u,\"unit\":\"/min\","
                          "\"system\":\"http://unitsofmeasure.org\",\"code\":\"/min\"}}",
                          g_rand_int_range (rand, 1, 13), g_rand_int_range (rand, 1, 29),
                          g_rand_int_range (rand, 0, 24), g_rand_int_range (rand, 0, 60),
                          g_rand_int_range (rand, 40, 180));
  return g_string_free (s, FALSE);
}

static char *
make_resource (GRand      *rand,
               const char *type,
               const char *id,
               const char *code)
{
  if (g_str_equal (type, "Patient"))
    return make_patient (rand, id, code);
  return make_observation (rand, id, NULL, code);
}

static GRand *
thread_rand (unsigned thread)
{
  return g_rand_new_with_seed (g_str_hash (seed) * 31u + thread);
}

/* ---- single writes ------------------------------------------------------------------------- */

typedef struct
{
  char *type;
  char *id;
  int64_t version;  /* the current version, as this thread last wrote it */
} Live;

static void
live_free (Live *live)
{
  g_free (live->type);
  g_free (live->id);
  g_free (live);
}

static ChartaChange *
maybe_change (GRand   *rand,
              unsigned thread)
{
  ChartaChange *change;
  g_autofree char *agent = NULL;

  if (g_rand_boolean (rand))
    return NULL;
  change = charta_change_new ();
  agent = g_strdup_printf ("crash-writer thread %u", thread);
  charta_change_set_agent (change, NULL, agent);
  charta_change_set_reason (change, NULL, NULL, "crash test");
  return change;
}

static gpointer
single_thread (gpointer data)
{
  unsigned thread = GPOINTER_TO_UINT (data);
  g_autoptr(GRand) rand = thread_rand (thread);
  g_autoptr(GPtrArray) live = g_ptr_array_new_with_free_func ((GDestroyNotify) live_free);

  for (unsigned n = 0; g_get_monotonic_time () < deadline; n++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ChartaChange) change = maybe_change (rand, thread);
      g_autofree char *code = g_strdup_printf ("%s.%u.%u", seed, thread, n);
      g_autofree char *line = NULL;
      int pick = g_rand_int_range (rand, 0, 100);
      gboolean lie_now = lie != NULL && thread == 0 && n == 0;

      if (lie_now && g_str_equal (lie, "half"))
        {
          g_free (code);
          code = g_strdup_printf ("%s.h%u.%u:2", seed, thread, n);
        }

      if (live->len == 0 || pick < 35)
        {
          const char *type = g_rand_boolean (rand) ? "Patient" : "Observation";
          g_autofree char *text = make_resource (rand, type, NULL, code);
          g_autoptr(ChartaResource) resource = resource_from_text (text);
          g_autoptr(ChartaResource) stored = charta_store_create (store, resource, change, &error);
          Live *item;

          if (stored == NULL)
            die ("create", error);
          item = g_new0 (Live, 1);
          item->type = g_strdup (type);
          item->id = g_strdup (charta_resource_get_id (stored));
          item->version = version_of (stored);
          g_ptr_array_add (live, item);
          line = g_strdup_printf ("C %s/%s %" G_GINT64_FORMAT " %s%s",
                                  item->type, item->id, item->version, code,
                                  lie_now && g_str_equal (lie, "content") ? "-lie" : "");
          if (lie_now && g_str_equal (lie, "lost"))
            {
              g_autofree char *lost = g_strdup_printf ("C Patient/never-written 1 %s.lost", seed);

              report (lost);
            }
        }
      else if (pick < 45)
        {
          /* Update-as-create: the client picks the id. */
          const char *type = g_rand_boolean (rand) ? "Patient" : "Observation";
          g_autofree char *id = g_strdup_printf ("crash-%s-%u-%u", seed, thread, n);
          g_autofree char *text = make_resource (rand, type, id, code);
          g_autoptr(ChartaResource) resource = resource_from_text (text);
          g_autoptr(ChartaResource) stored = NULL;
          gboolean created = FALSE;
          Live *item;

          stored = charta_store_update (store, resource, 0, change, &created, &error);
          if (stored == NULL)
            die ("update-as-create", error);
          if (!created || g_strcmp0 (charta_resource_get_id (stored), id) != 0)
            die ("update-as-create did not create the client's id", NULL);
          item = g_new0 (Live, 1);
          item->type = g_strdup (type);
          item->id = g_strdup (id);
          item->version = version_of (stored);
          g_ptr_array_add (live, item);
          line = g_strdup_printf ("U %s/%s %" G_GINT64_FORMAT " %s",
                                  item->type, item->id, item->version, code);
        }
      else if (pick < 85)
        {
          Live *item = g_ptr_array_index (live, g_rand_int_range (rand, 0, live->len));
          g_autofree char *text = make_resource (rand, item->type, item->id, code);
          g_autoptr(ChartaResource) resource = resource_from_text (text);
          g_autoptr(ChartaResource) stored = NULL;
          int64_t version;

          stored = charta_store_update (store, resource, item->version, change, NULL, &error);
          if (stored == NULL)
            die ("update", error);
          version = version_of (stored);
          if (version != item->version + 1)
            die ("update did not make the next version", NULL);
          item->version = version;
          line = g_strdup_printf ("U %s/%s %" G_GINT64_FORMAT " %s",
                                  item->type, item->id, item->version, code);
        }
      else
        {
          unsigned index = g_rand_int_range (rand, 0, live->len);
          Live *item = g_ptr_array_index (live, index);
          int64_t version;

          version = charta_store_delete (store, item->type, item->id, item->version, change,
                                         &error);
          if (version <= 0)
            die ("delete", error);
          line = g_strdup_printf ("D %s/%s %" G_GINT64_FORMAT, item->type, item->id, version);
          g_ptr_array_remove_index_fast (live, index);
        }
      report (line);
    }
  return NULL;
}

/* ---- transactions ------------------------------------------------------------------------ */

static void
report_transaction (const char *code,
                    GPtrArray  *results)
{
  g_autoptr(GString) line = g_string_new ("T ");

  g_string_append (line, code);
  for (unsigned i = 0; i < results->len; i++)
    {
      ChartaOperationResult *result = g_ptr_array_index (results, i);

      g_string_append_printf (line, " %s/%s/%" G_GINT64_FORMAT,
                              result->type, result->id, result->version);
    }
  report (line->str);
}

/* Runs @operations (n of them) as one transaction tagged @code and reports it. */
static void
run_transaction (ChartaOperation *operations,
                 size_t           n,
                 const char      *code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;

  results = charta_store_transaction (store, operations, n, NULL, &error);
  if (results == NULL)
    die ("transaction", error);
  if (results->len != n)
    die ("transaction returned the wrong number of results", NULL);
  report_transaction (code, results);
}

/* A Patient and @n_observations Observations referring to it through its urn:uuid. */
static void
generated_transaction (GRand      *rand,
                       unsigned    n_observations,
                       const char *code)
{
  size_t n = n_observations + 1;
  g_autofree ChartaOperation *operations = g_new0 (ChartaOperation, n);
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) resources =
    g_ptr_array_new_with_free_func ((GDestroyNotify) charta_resource_unref);

  for (size_t i = 0; i < n; i++)
    {
      g_autofree char *uuid = g_uuid_string_random ();
      char *full_url = g_strconcat ("urn:uuid:", uuid, NULL);
      g_autofree char *text = NULL;
      ChartaResource *resource;

      g_ptr_array_add (keep, full_url);
      if (i == 0)
        text = make_patient (rand, NULL, code);
      else
        text = make_observation (rand, NULL, g_ptr_array_index (keep, 0), code);
      resource = resource_from_text (text);
      g_ptr_array_add (resources, resource);
      operations[i].method = CHARTA_METHOD_CREATE;
      operations[i].resource = resource;
      operations[i].full_url = full_url;
    }
  run_transaction (operations, n, code);
}

static gpointer
transaction_thread (gpointer data)
{
  unsigned thread = GPOINTER_TO_UINT (data);
  g_autoptr(GRand) rand = thread_rand (thread);

  for (unsigned n = 0; g_get_monotonic_time () < deadline; n++)
    {
      unsigned n_observations = g_rand_int_range (rand, 1, 8);
      g_autofree char *code = g_strdup_printf ("%s.x%u.%u:%u", seed, thread, n,
                                               n_observations + 1);

      generated_transaction (rand, n_observations, code);
    }
  return NULL;
}

/* A Synthea bundle (mutable json-glib tree): its entries' resources get our tag. */
static JsonNode *
load_bundle (GRand *rand)
{
  const char *corpus = g_getenv ("CHARTA_CORPUS");
  g_autofree char *synthea = NULL;
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  const char *name;

  if (corpus == NULL || *corpus == '\0')
    corpus = g_getenv ("CHARTA_CORPUS_DEFAULT");
  synthea = g_build_filename (corpus != NULL ? corpus : "../shared/corpus", "synthea", NULL);
  dir = g_dir_open (synthea, 0, NULL);
  if (dir == NULL)
    return NULL;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *candidate = g_build_filename (synthea, name, NULL);
      GStatBuf st;

      /* Patient bundles only (the hospital and practitioner ones are not about a patient). */
      if (!charta_test_is_synthea_patient (name))
        continue;
      if (g_stat (candidate, &st) == 0 && st.st_size <= BUNDLE_MAX_FILE_SIZE)
        g_ptr_array_add (names, g_steal_pointer (&candidate));
    }
  if (names->len == 0)
    return NULL;
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  path = g_strdup (g_ptr_array_index (names, g_rand_int_range (rand, 0, names->len)));
  if (!json_parser_load_from_file (parser, path, &error))
    die ("reading the Synthea bundle", error);
  return json_node_copy (json_parser_get_root (parser));
}

/* Sets our tag's code on @resource (a JSON object), adding meta, meta.tag or the tag. */
static void
set_tag (JsonObject *resource,
         const char *code)
{
  JsonObject *meta;
  JsonArray *tags;
  JsonObject *tag;

  if (!json_object_has_member (resource, "meta"))
    json_object_set_object_member (resource, "meta", json_object_new ());
  meta = json_object_get_object_member (resource, "meta");
  if (!json_object_has_member (meta, "tag"))
    json_object_set_array_member (meta, "tag", json_array_new ());
  tags = json_object_get_array_member (meta, "tag");
  for (unsigned i = 0; i < json_array_get_length (tags); i++)
    {
      tag = json_array_get_object_element (tags, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (tag, "system", NULL),
                     CRASH_TAG_SYSTEM) == 0)
        {
          json_object_set_string_member (tag, "code", code);
          return;
        }
    }
  tag = json_object_new ();
  json_object_set_string_member (tag, "system", CRASH_TAG_SYSTEM);
  json_object_set_string_member (tag, "code", code);
  json_array_add_object_element (tags, tag);
}

static void
bundle_transaction (JsonNode   *bundle,
                    const char *code)
{
  JsonArray *entries = json_object_get_array_member (json_node_get_object (bundle), "entry");
  size_t n = json_array_get_length (entries);
  g_autofree ChartaOperation *operations = g_new0 (ChartaOperation, n);
  g_autoptr(GPtrArray) resources =
    g_ptr_array_new_with_free_func ((GDestroyNotify) charta_resource_unref);

  for (size_t i = 0; i < n; i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);
      JsonNode *node = json_object_get_member (entry, "resource");
      g_autofree char *text = NULL;
      ChartaResource *resource;

      set_tag (json_node_get_object (node), code);
      text = json_to_string (node, FALSE);
      resource = resource_from_text (text);
      g_ptr_array_add (resources, resource);
      operations[i].method = CHARTA_METHOD_CREATE;
      operations[i].resource = resource;
      operations[i].full_url = json_object_get_string_member_with_default (entry, "fullUrl",
                                                                           NULL);
    }
  run_transaction (operations, n, code);
}

static gpointer
bundle_thread (gpointer data)
{
  unsigned thread = GPOINTER_TO_UINT (data);
  g_autoptr(GRand) rand = thread_rand (thread);
  g_autoptr(JsonNode) bundle = load_bundle (rand);
  size_t n_entries = 0;

  if (bundle != NULL)
    n_entries = json_array_get_length (json_object_get_array_member (json_node_get_object (bundle),
                                                                     "entry"));
  for (unsigned n = 0; g_get_monotonic_time () < deadline; n++)
    {
      g_autofree char *code = NULL;

      if (bundle != NULL)
        {
          code = g_strdup_printf ("%s.x%u.%u:%zu", seed, thread, n, n_entries);
          bundle_transaction (bundle, code);
        }
      else
        {
          unsigned n_observations = g_rand_int_range (rand, 50, 150);

          code = g_strdup_printf ("%s.x%u.%u:%u", seed, thread, n, n_observations + 1);
          generated_transaction (rand, n_observations, code);
        }
    }
  return NULL;
}

static gboolean
seed_is_valid (const char *text)
{
  if (*text == '\0' || strlen (text) > 32)
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
      return FALSE;
  return TRUE;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  const char *seconds;
  unsigned thread = 0;

#ifdef __linux__
  prctl (PR_SET_PDEATHSIG, SIGKILL);
#endif
  if (argc < 3 || argc > 4 || !seed_is_valid (argv[2]))
    {
      fprintf (stderr, "Usage: crash-writer STORE SEED [LIE] (SEED: letters, digits, '-', '.')\n");
      return 2;
    }
  seed = argv[2];
  lie = argc == 4 ? argv[3] : NULL;
  if (lie != NULL && !g_str_equal (lie, "lost") && !g_str_equal (lie, "content")
      && !g_str_equal (lie, "half"))
    {
      fprintf (stderr, "crash-writer: unknown LIE '%s' (lost, content or half)\n", lie);
      return 2;
    }
  seconds = g_getenv ("CHARTA_CRASH_WRITER_SECONDS");
  deadline = g_get_monotonic_time ()
             + (seconds != NULL ? g_ascii_strtoll (seconds, NULL, 10) * G_USEC_PER_SEC
                                : RUN_LIMIT_US);

  store = charta_store_open (argv[1], CHARTA_STORE_FLAGS_CREATE, &error);
  if (store == NULL)
    die ("opening the store", error);

  for (unsigned i = 0; i < N_SINGLE_THREADS; i++, thread++)
    g_ptr_array_add (threads, g_thread_new ("single", single_thread, GUINT_TO_POINTER (thread)));
  g_ptr_array_add (threads, g_thread_new ("txn", transaction_thread, GUINT_TO_POINTER (thread++)));
  g_ptr_array_add (threads, g_thread_new ("bundle", bundle_thread, GUINT_TO_POINTER (thread++)));

  for (unsigned i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));
  {
    ChartaStoreStats stats;

    charta_store_get_stats (store, &stats);
    fprintf (stderr, "crash-writer: %u write requests in %u commits, at most %u in one\n",
             stats.n_requests, stats.n_commits, stats.max_batch);
  }
  charta_store_close (store);
  g_object_unref (store);
  return 0;
}
