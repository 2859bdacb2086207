/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-crash.c: an acknowledged write survives kill -9, and nothing half-written shows.
 *
 * Each round starts crash-writer ($CHARTA_CRASH_WRITER, see crash-writer.c) on the same store
 * file, lets it write for a random 50-800 ms (single creates, updates and deletes from several
 * threads plus multi-entry transactions, Synthea bundles among them), kills it with SIGKILL,
 * reads every line it printed (each one a write whose call had returned, so whose commit was
 * durable), and then opens the store itself, which makes SQLite recover from the torn WAL:
 *
 *   - every reported write is there: a vread of the reported version has the tag code the
 *     writer put in it, and the resource's newest version is at least that one (a later write
 *     may have committed without being reported: that is fine); a reported delete is a
 *     tombstone and the resource reads as gone;
 *   - every version the writer reported has exactly one Provenance, targeting that version;
 *   - every reported transaction is there whole, its references to urn:uuid fullUrls
 *     rewritten; and no transaction is partly there: for every transaction tag code found
 *     anywhere in the store's history, the number of resources carrying it equals the number
 *     of entries the code announces (reported or not);
 *   - charta_store_check() passes.
 *
 * The rounds share one store, so recovery happens again and again on a growing file; every
 * report of every round is checked again at the end, and `charta check` ($CHARTA_BIN) must
 * pass on the final file.  The rounds are driven by one GRand whose seed is printed: set
 * CHARTA_CRASH_SEED to replay a failure (the kill moments then differ only by scheduling), and
 * CHARTA_CRASH_ROUNDS to change the number of rounds (default 25).
 */
#define G_LOG_DOMAIN "charta-test-crash"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include "charta-test-store-util.h"

#define CRASH_TAG_SYSTEM "urn:charta:crash"
#define DEFAULT_ROUNDS 25
#define MIN_RUN_MS 50
#define MAX_RUN_MS 800

/* One reported single write: 'C'reate, 'U'pdate or 'D'elete. */
typedef struct
{
  char kind;
  char *type;
  char *id;
  int64_t version;
  char *code;      /* the tag code of that version; NULL for a delete */
} Write;

typedef struct
{
  char *type;
  char *id;
  int64_t version;
} Entry;

/* One reported transaction: its tag code and its entries in order. */
typedef struct
{
  char *code;
  GPtrArray *entries;  /* Entry */
} Transaction;

/* What the reports say about one resource, over every round. */
typedef struct
{
  char *type;
  char *id;
  int64_t max_version;      /* highest reported version */
  int64_t deleted_version;  /* the reported tombstone's version, or 0 */
} Expected;

typedef struct
{
  char *dir;
  char *store_path;
  const char *writer;
  GPtrArray *writes;        /* Write, every round */
  GPtrArray *transactions;  /* Transaction, every round */
  GHashTable *expected;     /* "Type/id" -> Expected */
} Crash;

static void
write_free (Write *write)
{
  g_free (write->type);
  g_free (write->id);
  g_free (write->code);
  g_free (write);
}

static void
entry_free (Entry *entry)
{
  g_free (entry->type);
  g_free (entry->id);
  g_free (entry);
}

static void
transaction_free (Transaction *transaction)
{
  g_free (transaction->code);
  g_ptr_array_unref (transaction->entries);
  g_free (transaction);
}

static void
expected_free (Expected *expected)
{
  g_free (expected->type);
  g_free (expected->id);
  g_free (expected);
}

/* "Type/id" or "Type/id/version" into its parts; FALSE when malformed. */
static gboolean
split_reference (const char  *text,
                 gboolean     with_version,
                 char       **type,
                 char       **id,
                 int64_t     *version)
{
  g_auto(GStrv) parts = g_strsplit (text, "/", -1);
  unsigned n = g_strv_length (parts);
  char *end = NULL;

  if (n != (with_version ? 3u : 2u) || *parts[0] == '\0' || *parts[1] == '\0')
    return FALSE;
  if (with_version)
    {
      *version = g_ascii_strtoll (parts[2], &end, 10);
      if (end == parts[2] || *end != '\0' || *version < 1)
        return FALSE;
    }
  *type = g_strdup (parts[0]);
  *id = g_strdup (parts[1]);
  return TRUE;
}

static int64_t
parse_version (const char *text)
{
  char *end = NULL;
  int64_t version = g_ascii_strtoll (text, &end, 10);

  if (end == text || *end != '\0' || version < 1)
    return -1;
  return version;
}

/* The number of entries a transaction code announces ("SEED.xT.N:K" -> K), or 0 when the
 * code is not a transaction's. */
static unsigned
transaction_size (const char *code)
{
  const char *colon = strrchr (code, ':');

  if (colon == NULL)
    return 0;
  return (unsigned) g_ascii_strtoull (colon + 1, NULL, 10);
}

static Expected *
expect (Crash      *crash,
        const char *type,
        const char *id)
{
  g_autofree char *key = g_strdup_printf ("%s/%s", type, id);
  Expected *expected = g_hash_table_lookup (crash->expected, key);

  if (expected == NULL)
    {
      expected = g_new0 (Expected, 1);
      expected->type = g_strdup (type);
      expected->id = g_strdup (id);
      g_hash_table_insert (crash->expected, g_steal_pointer (&key), expected);
    }
  return expected;
}

/* Parses the writer's output.  Only complete lines count: the writer flushes each line after
 * its write returned, but the kill may land in the middle of writing a long one. */
static void
parse_output (Crash      *crash,
              const char *output,
              unsigned   *n_writes,
              unsigned   *n_transactions,
              gboolean   *truncated)
{
  const char *start = output;
  const char *newline;

  *n_writes = *n_transactions = 0;
  *truncated = FALSE;
  while ((newline = strchr (start, '\n')) != NULL)
    {
      g_autofree char *line = g_strndup (start, newline - start);
      g_auto(GStrv) fields = g_strsplit (line, " ", -1);
      unsigned n = g_strv_length (fields);

      start = newline + 1;
      if (n >= 3 && (g_str_equal (fields[0], "C") || g_str_equal (fields[0], "U")
                     || g_str_equal (fields[0], "D")))
        {
          Write *write = g_new0 (Write, 1);
          Expected *expected;

          write->kind = fields[0][0];
          if (!split_reference (fields[1], FALSE, &write->type, &write->id, NULL))
            g_error ("malformed reference in writer line '%s'", line);
          write->version = parse_version (fields[2]);
          if (write->version < 1 || n != (write->kind == 'D' ? 3u : 4u))
            g_error ("malformed writer line '%s'", line);
          if (write->kind != 'D')
            write->code = g_strdup (fields[3]);
          expected = expect (crash, write->type, write->id);
          expected->max_version = MAX (expected->max_version, write->version);
          if (write->kind == 'D')
            expected->deleted_version = write->version;
          g_ptr_array_add (crash->writes, write);
          (*n_writes)++;
        }
      else if (n >= 3 && g_str_equal (fields[0], "T"))
        {
          Transaction *transaction = g_new0 (Transaction, 1);

          transaction->code = g_strdup (fields[1]);
          transaction->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
          for (unsigned i = 2; i < n; i++)
            {
              Entry *entry = g_new0 (Entry, 1);

              if (!split_reference (fields[i], TRUE, &entry->type, &entry->id, &entry->version))
                g_error ("malformed entry '%s' in a writer's transaction line", fields[i]);
              g_ptr_array_add (transaction->entries, entry);
            }
          g_ptr_array_add (crash->transactions, transaction);
          (*n_transactions)++;
        }
      else
        g_error ("unexpected writer line '%s'", line);
    }
  *truncated = *start != '\0';
}

/* The code of our tag in @resource's meta.tag, or NULL. */
static const char *
crash_tag (ChartaResource *resource)
{
  JsonObject *object = charta_resource_get_object (resource);
  JsonNode *meta;
  JsonNode *tags;

  meta = json_object_get_member (object, "meta");
  if (meta == NULL || !JSON_NODE_HOLDS_OBJECT (meta))
    return NULL;
  tags = json_object_get_member (json_node_get_object (meta), "tag");
  if (tags == NULL || !JSON_NODE_HOLDS_ARRAY (tags))
    return NULL;
  for (unsigned i = 0; i < json_array_get_length (json_node_get_array (tags)); i++)
    {
      JsonNode *tag = json_array_get_element (json_node_get_array (tags), i);
      JsonObject *coding;

      if (!JSON_NODE_HOLDS_OBJECT (tag))
        continue;
      coding = json_node_get_object (tag);
      if (g_strcmp0 (json_object_get_string_member_with_default (coding, "system", NULL),
                     CRASH_TAG_SYSTEM) == 0)
        return json_object_get_string_member_with_default (coding, "code", NULL);
    }
  return NULL;
}

static gboolean
gets_provenance (const char *type)
{
  return !g_str_equal (type, "Provenance") && !g_str_equal (type, "AuditEvent");
}

/* Exactly one Provenance targets Type/id/_history/version (none for Provenance itself). */
static void
assert_provenance (ChartaStore *store,
                   const char  *type,
                   const char  *id,
                   int64_t      version)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) provenance = NULL;
  g_autofree char *target = g_strdup_printf ("%s/%s/_history/%" G_GINT64_FORMAT,
                                             type, id, version);
  ChartaResource *resource;
  JsonArray *targets;
  gboolean found = FALSE;

  provenance = charta_store_list_provenance (store, type, id, version, &error);
  g_assert_no_error (error);
  g_assert_nonnull (provenance);
  if (!gets_provenance (type))
    {
      g_assert_cmpuint (provenance->len, ==, 0);
      return;
    }
  if (provenance->len != 1)
    g_error ("%s has %u Provenance resources, expected 1", target, provenance->len);
  resource = g_ptr_array_index (provenance, 0);
  g_assert_cmpstr (charta_resource_get_resource_type (resource), ==, "Provenance");
  targets = json_object_get_array_member (charta_resource_get_object (resource), "target");
  g_assert_nonnull (targets);
  for (unsigned i = 0; i < json_array_get_length (targets); i++)
    {
      JsonObject *reference = json_array_get_object_element (targets, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (reference, "reference", NULL),
                     target) == 0)
        found = TRUE;
    }
  if (!found)
    g_error ("the Provenance of %s does not target it", target);
}

/* The newest version of a resource, tombstones included. */
static int64_t
newest_version (ChartaStore *store,
                const char  *type,
                const char  *id)
{
  ChartaHistoryOptions options = { 0, 0, 1, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autofree char *cursor = NULL;

  history = charta_store_history (store, type, id, &options, &cursor, &error);
  g_assert_no_error (error);
  g_assert_nonnull (history);
  g_assert_cmpuint (history->len, >=, 1);
  return ((ChartaHistoryEntry *) g_ptr_array_index (history, 0))->version;
}

static void
verify_write (ChartaStore *store,
              Write       *write)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  g_autofree char *version = g_strdup_printf ("%" G_GINT64_FORMAT, write->version);

  resource = charta_store_vread (store, write->type, write->id, write->version, &error);
  if (write->kind == 'D')
    {
      if (!g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_GONE))
        g_error ("reported delete %s/%s/_history/%s is not a tombstone (%s)", write->type,
                 write->id, version, error != NULL ? error->message : "it reads");
    }
  else
    {
      if (resource == NULL)
        g_error ("reported write %s/%s/_history/%s is missing: %s", write->type, write->id,
                 version, error->message);
      g_assert_cmpstr (charta_resource_get_resource_type (resource), ==, write->type);
      g_assert_cmpstr (charta_resource_get_id (resource), ==, write->id);
      g_assert_cmpstr (charta_resource_get_version_id (resource), ==, version);
      if (g_strcmp0 (crash_tag (resource), write->code) != 0)
        g_error ("%s/%s/_history/%s holds write %s, the writer reported %s", write->type,
                 write->id, version, crash_tag (resource), write->code);
    }
  assert_provenance (store, write->type, write->id, write->version);
}

static void
verify_expected (ChartaStore *store,
                 Expected    *expected)
{
  int64_t newest = newest_version (store, expected->type, expected->id);

  if (newest < expected->max_version)
    g_error ("%s/%s is at version %" G_GINT64_FORMAT ", the writer reported %" G_GINT64_FORMAT,
             expected->type, expected->id, newest, expected->max_version);
  if (expected->deleted_version > 0)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ChartaResource) resource = NULL;

      /* Nothing writes to a resource after its reported delete. */
      g_assert_cmpint (newest, ==, expected->deleted_version);
      resource = charta_store_read (store, expected->type, expected->id, &error);
      g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_GONE);
      g_assert_null (resource);
    }
}

static void
verify_transaction (ChartaStore *store,
                    Transaction *transaction)
{
  g_assert_cmpuint (transaction->entries->len, ==, transaction_size (transaction->code));
  for (unsigned i = 0; i < transaction->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (transaction->entries, i);
      g_autoptr(GError) error = NULL;
      g_autoptr(ChartaResource) resource = NULL;
      g_autoptr(GBytes) body = NULL;
      int64_t current = 0;
      size_t size;
      const char *data;

      /* Transaction entries are creates that nothing touches later. */
      g_assert_cmpint (entry->version, ==, 1);
      resource = charta_store_vread (store, entry->type, entry->id, entry->version, &error);
      if (resource == NULL)
        g_error ("entry %u (%s/%s) of reported transaction %s is missing: %s", i, entry->type,
                 entry->id, transaction->code, error->message);
      if (g_strcmp0 (crash_tag (resource), transaction->code) != 0)
        g_error ("entry %u (%s/%s) of transaction %s holds %s", i, entry->type, entry->id,
                 transaction->code, crash_tag (resource));
      body = charta_store_read_bytes (store, entry->type, entry->id, &current, &error);
      g_assert_no_error (error);
      g_assert_cmpint (current, ==, 1);
      data = g_bytes_get_data (body, &size);
      if (g_strstr_len (data, size, "\"reference\":\"urn:uuid:") != NULL)
        g_error ("%s/%s of transaction %s still refers to a urn:uuid", entry->type, entry->id,
                 transaction->code);
      assert_provenance (store, entry->type, entry->id, entry->version);
    }
}

/* What verify_no_partial_transaction() gathers from the history. */
typedef struct
{
  GHashTable *members;   /* transaction tag code -> set of "Type/id" carrying it */
  unsigned n_versions;
} Members;

static void
gather_member (ChartaHistoryEntry *entry,
               gpointer            user_data)
{
  Members *m = user_data;
  const char *code;
  GHashTable *set;

  m->n_versions++;
  if (entry->resource == NULL)
    return;
  code = crash_tag (entry->resource);
  if (code == NULL || transaction_size (code) == 0)
    return;
  set = g_hash_table_lookup (m->members, code);
  if (set == NULL)
    {
      set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_insert (m->members, g_strdup (code), set);
    }
  g_hash_table_add (set, g_strdup_printf ("%s/%s", entry->type, entry->id));
}

/* Reads the whole store's history and counts, per transaction code, the resources that carry
 * it: each count must be the transaction's full size.  Returns the number of transactions. */
static unsigned
verify_no_partial_transaction (ChartaStore *store,
                               unsigned    *n_versions)
{
  g_autoptr(GHashTable) members =
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref);
  Members m = { members, 0 };
  GHashTableIter iter;
  gpointer key, value;

  charta_test_store_foreach_version (store, 1000, gather_member, &m);
  *n_versions = m.n_versions;
  g_hash_table_iter_init (&iter, members);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_hash_table_size (value) != transaction_size (key))
      g_error ("transaction %s is half there: %u of its %u entries are in the store",
               (const char *) key, g_hash_table_size (value), transaction_size (key));
  return g_hash_table_size (members);
}

static void
assert_check_passes (ChartaStore *store)
{
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  g_autoptr(GError) error = NULL;
  gboolean ok = charta_store_check (store, outcome, &error);

  if (!ok)
    {
      for (unsigned i = 0; i < MIN (charta_outcome_get_n_issues (outcome), 20u); i++)
        {
          const ChartaIssue *issue = charta_outcome_get_issue (outcome, i);

          g_test_message ("check: %s: %s", issue->expression != NULL ? issue->expression : "-",
                          issue->diagnostics);
        }
      g_error ("charta_store_check failed (%u issues)%s%s", charta_outcome_get_n_issues (outcome),
               error != NULL ? ": " : "", error != NULL ? error->message : "");
    }
  g_assert_no_error (error);
}

/* ---- running the writer ------------------------------------------------------------------ */

typedef struct
{
  GBytes *output;
  GError *error;
  gboolean done;
} Run;

static void
communicated (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Run *run = user_data;

  g_subprocess_communicate_finish (G_SUBPROCESS (object), result, &run->output, NULL,
                                   &run->error);
  run->done = TRUE;
}

static gboolean
kill_writer (gpointer user_data)
{
  GSubprocess *process = user_data;

  g_subprocess_force_exit (process);  /* SIGKILL */
  return G_SOURCE_REMOVE;
}

/* Runs the writer (told to @lie, or NULL) for @ms milliseconds, kills it, and returns
 * everything it printed. */
static char *
run_writer (Crash      *crash,
            const char *seed,
            unsigned    ms,
            const char *lie)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GSource) timer = NULL;
  g_autoptr(GError) error = NULL;
  Run run = { NULL, NULL, FALSE };
  size_t size = 0;
  const char *data;
  char *output;

  g_main_context_push_thread_default (context);
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, crash->writer,
                              crash->store_path, seed, lie, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_async (process, NULL, NULL, communicated, &run);
  timer = g_timeout_source_new (ms);
  g_source_set_callback (timer, kill_writer, process, NULL);
  g_source_attach (timer, context);
  while (!run.done)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timer);
  g_main_context_pop_thread_default (context);

  g_assert_no_error (run.error);
  if (!g_subprocess_get_if_signaled (process))
    g_error ("crash-writer %s ended by itself before the kill, exit status %d (see its stderr)",
             seed, g_subprocess_get_exit_status (process));
  g_assert_cmpint (g_subprocess_get_term_sig (process), ==, SIGKILL);

  data = run.output != NULL ? g_bytes_get_data (run.output, &size) : NULL;
  output = g_strndup (data != NULL ? data : "", size);
  g_clear_pointer (&run.output, g_bytes_unref);
  return output;
}

static void
verify_all (Crash       *crash,
            ChartaStore *store,
            unsigned     first_write,
            unsigned     first_transaction)
{
  for (unsigned i = first_write; i < crash->writes->len; i++)
    verify_write (store, g_ptr_array_index (crash->writes, i));
  for (unsigned i = first_transaction; i < crash->transactions->len; i++)
    verify_transaction (store, g_ptr_array_index (crash->transactions, i));
}

static void
run_charta_check (const char *store_path)
{
  g_auto(ChartaTestRun) r = { 0 };

  charta_test_run_charta (&r, "check", store_path, NULL);
  if (r.status != 0)
    g_error ("charta check failed (exit status %d):\n%s%s", r.status, r.out, r.err);
}

/* Sets up @crash: a new store file in @dir (NULL: a new temporary folder).  FALSE (and the
 * test failed) when the writer is unknown. */
static gboolean
crash_init (Crash      *crash,
            const char *dir)
{
  g_autoptr(ChartaStore) store = NULL;

  memset (crash, 0, sizeof *crash);
  crash->writer = g_getenv ("CHARTA_CRASH_WRITER");
  if (crash->writer == NULL)
    {
      g_test_fail_printf ("CHARTA_CRASH_WRITER is not set (run through meson test)");
      return FALSE;
    }
  crash->dir = dir != NULL ? g_strdup (dir) : charta_test_make_tmp_dir ();
  crash->store_path = g_build_filename (crash->dir, "crash.charta", NULL);
  crash->writes = g_ptr_array_new_with_free_func ((GDestroyNotify) write_free);
  crash->transactions = g_ptr_array_new_with_free_func ((GDestroyNotify) transaction_free);
  crash->expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) expected_free);

  /* Create the store first, so that even a kill before the writer opened it leaves a store. */
  store = charta_test_store_open (crash->store_path, CHARTA_STORE_FLAGS_CREATE);
  charta_store_close (store);
  return TRUE;
}

static void
crash_clear (Crash *crash)
{
  charta_test_remove_tree (crash->dir);
  g_free (crash->store_path);
  g_free (crash->dir);
  g_ptr_array_unref (crash->writes);
  g_ptr_array_unref (crash->transactions);
  g_hash_table_unref (crash->expected);
}

typedef struct
{
  unsigned n_writes;
  unsigned n_transactions;
  gboolean truncated;
} RoundResult;

/* One round: run the writer (with @lie, see crash-writer.c, or NULL) for @ms, kill it, open
 * the store and check everything the writer reported this round, the expected state of every
 * resource reported so far, that no transaction is half there, and charta_store_check(). */
static RoundResult
crash_round (Crash      *crash,
             unsigned    round,
             const char *child_seed,
             unsigned    ms,
             const char *lie)
{
  unsigned first_write = crash->writes->len;
  unsigned first_transaction = crash->transactions->len;
  unsigned n_found, n_versions;
  g_autofree char *output = NULL;
  g_autoptr(ChartaStore) store = NULL;
  RoundResult result;
  GHashTableIter iter;
  gpointer value;

  output = run_writer (crash, child_seed, ms, lie);
  parse_output (crash, output, &result.n_writes, &result.n_transactions, &result.truncated);

  /* Opening recovers the store from whatever the kill left. */
  store = charta_test_store_open (crash->store_path, CHARTA_STORE_FLAGS_NONE);
  verify_all (crash, store, first_write, first_transaction);
  g_hash_table_iter_init (&iter, crash->expected);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    verify_expected (store, value);
  n_found = verify_no_partial_transaction (store, &n_versions);
  g_assert_cmpuint (n_found, >=, crash->transactions->len);
  assert_check_passes (store);
  charta_store_close (store);

  g_test_message ("round %u: writer %s killed after %u ms; %u writes and %u transactions "
                  "reported%s; store: %u versions, %u whole transactions",
                  round, child_seed, ms, result.n_writes, result.n_transactions,
                  result.truncated ? " (last line cut by the kill)" : "", n_versions, n_found);
  return result;
}

static void
test_sigkill_rounds (void)
{
  const char *seed_env = g_getenv ("CHARTA_CRASH_SEED");
  const char *rounds_env = g_getenv ("CHARTA_CRASH_ROUNDS");
  guint32 seed = seed_env != NULL ? (guint32) g_ascii_strtoull (seed_env, NULL, 0)
                                  : g_random_int ();
  unsigned rounds = rounds_env != NULL ? (unsigned) atoi (rounds_env) : DEFAULT_ROUNDS;
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  unsigned total_writes = 0, total_transactions = 0, rounds_truncated = 0;
  int64_t started = g_get_monotonic_time ();
  Crash crash;

  g_test_message ("seed %u (replay with CHARTA_CRASH_SEED=%u), %u rounds", seed, seed, rounds);
  if (!crash_init (&crash, NULL))
    return;

  for (unsigned round = 0; round < rounds; round++)
    {
      g_autofree char *child_seed = g_strdup_printf ("r%u-%08x", round, g_rand_int (rand));
      unsigned ms = g_rand_int_range (rand, MIN_RUN_MS, MAX_RUN_MS + 1);
      RoundResult result = crash_round (&crash, round, child_seed, ms, NULL);

      total_writes += result.n_writes;
      total_transactions += result.n_transactions;
      rounds_truncated += result.truncated;
    }

  /* The writer must really have been writing when it was killed. */
  g_assert_cmpuint (total_writes, >, rounds);
  g_assert_cmpuint (total_transactions, >, 0);

  /* Every report of every round, once more, on the final file. */
  {
    g_autoptr(ChartaStore) store = charta_test_store_open (crash.store_path,
                                                           CHARTA_STORE_FLAGS_NONE);

    verify_all (&crash, store, 0, 0);
    charta_store_close (store);
  }
  run_charta_check (crash.store_path);

  g_test_message ("%u rounds in %.1f s: %u writes and %u transactions reported and found; "
                  "%u kills cut a line short",
                  rounds, (g_get_monotonic_time () - started) / 1e6, total_writes,
                  total_transactions, rounds_truncated);
  crash_clear (&crash);
}

/* The checks above can fail: a writer told to lie (report a write it never made, report the
 * wrong content, or leave a transaction's tag on fewer resources than it announces) must make
 * a round fail, with the message that names the problem. */
typedef struct
{
  const char *lie;
  const char *message;  /* a g_test_trap_assert_stderr() pattern */
} Lie;

static const Lie lies[] = {
  { "lost", "*reported write Patient/never-written*is missing*" },
  { "content", "*holds write*the writer reported*" },
  { "half", "*transaction*is half there: 1 of its 2 entries*" },
};

static void
test_detects_lie (gconstpointer data)
{
  const Lie *lie = data;
  g_autofree char *dir = NULL;

  if (g_test_subprocess ())
    {
      Crash crash;
      g_autofree char *child_seed = g_strdup_printf ("lie-%s", lie->lie);

      /* The parent made the folder and removes it: this process dies on the lie. */
      if (!crash_init (&crash, g_getenv ("CHARTA_CRASH_LIE_DIR")))
        return;
      crash_round (&crash, 0, child_seed, MAX_RUN_MS, lie->lie);
      crash_clear (&crash);
      return;
    }
  if (g_getenv ("CHARTA_CRASH_WRITER") == NULL)
    {
      g_test_fail_printf ("CHARTA_CRASH_WRITER is not set (run through meson test)");
      return;
    }
  dir = charta_test_make_tmp_dir ();
  g_setenv ("CHARTA_CRASH_LIE_DIR", dir, TRUE);
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_unsetenv ("CHARTA_CRASH_LIE_DIR");
  charta_test_remove_tree (dir);

  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr (lie->message);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/charta/backend/crash/sigkill-rounds", test_sigkill_rounds);
  for (unsigned i = 0; i < G_N_ELEMENTS (lies); i++)
    {
      g_autofree char *path = g_strdup_printf ("/charta/backend/crash/detects-lie/%s",
                                               lies[i].lie);
      g_test_add_data_func (path, &lies[i], test_detects_lie);
    }
  return g_test_run ();
}
