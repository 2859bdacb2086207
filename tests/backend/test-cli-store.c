/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-cli-store.c: `charta init`, `import`, `get`, `history` and `check` as a user runs them.
 *
 * Runs the built binary ($CHARTA_BIN) with GSubprocess on stores and inputs in a temporary
 * directory, and looks at the stores it leaves with the ChartaStore API (read-only, while no
 * charta process runs).  The Synthea case imports the whole corpus (the shared
 * hospital/practitioner bundles first, then the 100 patient bundles, all transactions), then
 * compares the counts per resource type with the bundles' own, scans every current body for a
 * left-over "urn:uuid:", and runs `charta check`.  The bad-input cases (malformed JSON, a
 * transaction whose 500th entry is invalid, a 1 GB file, a reference to a missing urn:uuid)
 * check the message names file, entry and element, the exit status is 1 (not a crash), and the
 * store is exactly as before: same counts per type, same history.
 */
#define G_LOG_DOMAIN "charta-test-cli-store"

#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "charta-store.h"
#include "charta-test-util.h"

typedef struct
{
  int status;      /* exit status, or -1 when the child did not exit normally */
  char *out;
  char *err;
} Result;

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Result, result_clear)

static const char *
charta_bin (void)
{
  const char *bin = g_getenv ("CHARTA_BIN");

  if (bin == NULL)
    g_error ("CHARTA_BIN is not set (meson test sets it)");
  return bin;
}

static void
run_charta_argv (Result     *r,
                 GPtrArray  *args)
{
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_insert (args, 0, (gpointer) charta_bin ());
  g_ptr_array_add (args, NULL);
  proc = g_subprocess_newv ((const char *const *) args->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  r->status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  /* `get` prints whole resources: their length only, so no body ends up in a log */
  if (g_strcmp0 (args->pdata[1], "get") == 0)
    g_test_message ("exit %d\nstdout: %zu bytes\nstderr:\n%.2000s", r->status, strlen (r->out),
                    r->err);
  else
    g_test_message ("exit %d\nstdout:\n%.2000s\nstderr:\n%.2000s", r->status, r->out, r->err);
}

/* Runs charta with the NULL-terminated arguments; fails the test if it cannot start. */
static void
run_charta (Result     *r,
            const char *first,
            ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  run_charta_argv (r, args);
}

static void
assert_contains (const char *haystack,
                 const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_test_message ("expected to find \"%s\"", needle);
  g_assert_nonnull (strstr (haystack, needle));
}

static unsigned
count_lines (const char *text)
{
  unsigned n = 0;

  for (const char *p = text; *p != '\0'; p++)
    n += *p == '\n';
  return n;
}

/* A temporary directory with a store path in it, removed by the fixture. */
typedef struct
{
  char *dir;
  char *store;
} Fixture;

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR)
              && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            remove_tree (child);
          else
            g_unlink (child);
        }
      g_dir_close (dir);
    }
  g_rmdir (path);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("charta-cli-store-XXXXXX", &error);
  g_assert_no_error (error);
  f->store = g_build_filename (f->dir, "store.charta", NULL);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->store);
}

static char *
write_file (Fixture    *f,
            const char *name,
            const char *contents,
            gssize      length)
{
  char *path = g_build_filename (f->dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  g_file_set_contents (path, contents, length, &error);
  g_assert_no_error (error);
  return path;
}

/* write_file() for a file whose path the test does not need. */
static void
put_file (Fixture    *f,
          const char *name,
          const char *contents,
          gssize      length)
{
  g_free (write_file (f, name, contents, length));
}

static ChartaStore *
open_store (const char *path)
{
  g_autoptr(GError) error = NULL;
  ChartaStore *store = charta_store_open (path, CHARTA_STORE_FLAGS_READ_ONLY, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

static int64_t
count_of (GHashTable *counts,
          const char *type)
{
  int64_t *n = g_hash_table_lookup (counts, type);

  return n != NULL ? *n : 0;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Everything observable of a store, as text: the counts per type and the whole history
 * (Type/id/version/method of every version), so that "unchanged" can be asserted. */
static char *
store_snapshot (const char *path)
{
  g_autoptr(ChartaStore) store = open_store (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) counts = NULL;
  g_autoptr(GPtrArray) types = g_ptr_array_new ();
  g_autoptr(GString) s = g_string_new (NULL);
  g_autofree char *cursor = NULL;
  ChartaHistoryOptions options = { .count = 500 };
  GHashTableIter iter;
  gpointer key;

  counts = charta_store_count_by_type (store, &error);
  g_assert_no_error (error);
  g_hash_table_iter_init (&iter, counts);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (types, key);
  g_ptr_array_sort (types, compare_strings);
  for (unsigned i = 0; i < types->len; i++)
    g_string_append_printf (s, "%s=%" G_GINT64_FORMAT "\n", (char *) types->pdata[i],
                            count_of (counts, types->pdata[i]));

  do
    {
      g_autoptr(GPtrArray) page = NULL;
      char *next = NULL;

      options.cursor = cursor;
      page = charta_store_history (store, NULL, NULL, &options, &next, &error);
      g_assert_no_error (error);
      g_free (cursor);
      cursor = next;
      for (unsigned i = 0; i < page->len; i++)
        {
          ChartaHistoryEntry *e = page->pdata[i];

          g_string_append_printf (s, "%s/%s/%" G_GINT64_FORMAT "/%d\n", e->type, e->id,
                                  e->version, (int) e->method);
        }
    }
  while (cursor != NULL);
  charta_store_close (store);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

#define PATIENT_WITH_ID \
  "{\"resourceType\":\"Patient\",\"id\":\"pat-1\",\"active\":true," \
  "\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Peter\"]}],\"birthDate\":\"1974-12-25\"}"
#define PATIENT_NO_ID \
  "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Windsor\"}]}"
#define OBSERVATION(subject, value) \
  "{\"resourceType\":\"Observation\",\"status\":\"final\"," \
  "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"29463-7\"}]}," \
  "\"subject\":{\"reference\":\"" subject "\"},\"valueQuantity\":{\"value\":" value "," \
  "\"unit\":\"kg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"kg\"}}"

/* Imports @json (written to @name) into the fixture's store; returns the exit status. */
static int
import_text (Fixture    *f,
             const char *name,
             const char *json,
             Result     *r)
{
  g_autofree char *path = write_file (f, name, json, -1);

  run_charta (r, "import", f->store, path, NULL);
  return r->status;
}

/* A small store to start from: pat-1 and an Observation of it. */
static void
seed_store (Fixture *f)
{
  g_auto(Result) r = { 0 };
  g_autofree char *p = write_file (f, "seed/patient.json", PATIENT_WITH_ID, -1);
  g_autofree char *o = write_file (f, "seed/obs.json", OBSERVATION ("Patient/pat-1", "72.5"),
                                   -1);

  run_charta (&r, "import", f->store, p, o, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_contains (r.out, "imported 2 resources (2 created, 0 updated) from 2 files");
}

/* ---- init -------------------------------------------------------------------------------- */

static void
test_init (Fixture       *f,
           gconstpointer  data)
{
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "init", f->store, NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, "created");
    g_assert_true (g_file_test (f->store, G_FILE_TEST_IS_REGULAR));
  }
  {
    g_autofree char *snapshot = store_snapshot (f->store);

    g_assert_cmpstr (snapshot, ==, ""); /* empty: no types, no versions */
  }
  {
    g_auto(Result) r = { 0 };

    /* again: a no-op */
    run_charta (&r, "init", f->store, NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, "already a Charta store");
  }
  {
    const char *text = "not a database, just some text\n";
    g_autofree char *path = write_file (f, "notes.txt", text, -1);
    g_autofree char *after = NULL;
    g_auto(Result) r = { 0 };

    run_charta (&r, "init", path, NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.err, path);
    assert_contains (r.err, "not a Charta store");
    g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
    g_assert_cmpstr (after, ==, text); /* untouched */
  }
  {
    g_autofree char *path = write_file (f, "empty.db", "", 0);
    g_auto(Result) r = { 0 };
    GStatBuf st;

    run_charta (&r, "init", path, NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.err, "not a Charta store");
    g_assert_cmpint (g_stat (path, &st), ==, 0);
    g_assert_cmpint (st.st_size, ==, 0);
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "init", f->dir, NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.err, "directory");
  }
  {
    g_autofree char *path = g_build_filename (f->dir, "no", "such", "dir", "s.charta", NULL);
    g_auto(Result) r = { 0 };

    run_charta (&r, "init", path, NULL);
    g_assert_cmpint (r.status, ==, 1);
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "init", NULL);
    g_assert_cmpint (r.status, ==, 2);
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "init", f->store, "extra", NULL);
    g_assert_cmpint (r.status, ==, 2);
  }
}

/* ---- import: resources, NDJSON, directories, collections --------------------------------- */

static void
test_import_resources (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(GHashTable) counts = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) patient = NULL;
  g_autofree char *ndjson_path = NULL;

  put_file (f, "in/a-patient.json", PATIENT_WITH_ID, -1);
  put_file (f, "in/b-patient.json", PATIENT_NO_ID, -1);
  put_file (f, "in/ignored.txt", "not FHIR", -1);
  put_file (f, "in/sub/deeper/obs.json", OBSERVATION ("Patient/pat-1", "80"), -1);
  put_file (f, "in/sub/lines.ndjson",
              PATIENT_NO_ID "\n"
              "\n"
              "{\"resourceType\":\"Patient\",\"birthDate\":\"yesterday\"}\n"
              "{\"resourceType\":\"Patient\", oops}\n"
              "{\"resourceType\":\"Patient\",\"id\":\"nd-4\",\"gender\":\"female\"}\n", -1);
  put_file (f, "in/sub/collection.json",
              "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
              "{\"resource\":{\"resourceType\":\"Practitioner\",\"id\":\"doc-1\","
              "\"name\":[{\"family\":\"Who\"}]}},"
              "{\"resource\":" OBSERVATION ("Patient/pat-1", "81") "}]}", -1);
  ndjson_path = g_build_filename (f->dir, "in", "sub", "lines.ndjson", NULL);

  {
    g_autofree char *in = g_build_filename (f->dir, "in", NULL);
    g_autofree char *want_line3 = g_strconcat (ndjson_path, ": line 3: Patient.birthDate", NULL);
    g_autofree char *want_line4 = g_strconcat (ndjson_path, ": line 4", NULL);
    g_auto(Result) r = { 0 };

    run_charta (&r, "import", "--agent", "Test Importer", "--reason", "initial load",
                f->store, in, NULL);
    g_assert_cmpint (r.status, ==, 1); /* two bad NDJSON lines */
    assert_contains (r.err, want_line3);
    assert_contains (r.err, "yesterday");
    assert_contains (r.err, want_line4);
    /* 2 patients + obs + 2 good NDJSON lines + 2 collection entries */
    assert_contains (r.out, "imported 7 resources (7 created, 0 updated) from 5 files");
    assert_contains (r.out, "; 2 errors");
    g_assert_cmpuint (count_lines (r.out), ==, 1); /* not a terminal: one summary line */
  }

  store = open_store (f->store);
  counts = charta_store_count_by_type (store, &error);
  g_assert_no_error (error);
  g_assert_cmpint (count_of (counts, "Patient"), ==, 4);
  g_assert_cmpint (count_of (counts, "Observation"), ==, 2);
  g_assert_cmpint (count_of (counts, "Practitioner"), ==, 1);
  /* ids are kept */
  patient = charta_store_read (store, "Patient", "pat-1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_version_id (patient), ==, "1");
  g_clear_pointer (&patient, charta_resource_unref);
  patient = charta_store_read (store, "Patient", "nd-4", &error);
  g_assert_no_error (error);
  g_clear_pointer (&patient, charta_resource_unref);
  patient = charta_store_read (store, "Practitioner", "doc-1", &error);
  g_assert_no_error (error);
  charta_store_close (store);

  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "history", f->store, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (count_lines (r.out), ==, 1);
    assert_contains (r.out, "v1");
    assert_contains (r.out, "create");
    assert_contains (r.out, "\"Test Importer\"");
    assert_contains (r.out, "initial load");
  }

  /* the same again: update-as-create of identical content makes no version */
  {
    g_autofree char *path = g_build_filename (f->dir, "in", "a-patient.json", NULL);
    g_auto(Result) r = { 0 };

    run_charta (&r, "import", f->store, path, NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, "0 created");
  }
  /* a changed pat-1: version 2 */
  {
    g_auto(Result) r = { 0 };

    import_text (f, "pat-1-v2.json",
                 "{\"resourceType\":\"Patient\",\"id\":\"pat-1\",\"active\":false}", &r);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, "imported 1 resources (0 created, 1 updated)");
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "history", f->store, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (count_lines (r.out), ==, 2);
    g_assert_true (g_str_has_prefix (r.out, "v2")); /* newest first */
    assert_contains (r.out, "update");
    assert_contains (r.out, "\"charta import\""); /* the default agent */
  }
}

/* Writes of one Type/id keep their input order, however many writes are in flight: version
 * N of each resource is its Nth line. */
static void
test_import_order (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GString) lines = g_string_new (NULL);
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Result) r = { 0 };
  g_autofree char *path = NULL;

  for (unsigned i = 0; i < 600; i++)
    g_string_append_printf (lines, "{\"resourceType\":\"Patient\",\"id\":\"order-%u\","
                            "\"name\":[{\"family\":\"v%u\"}]}\n", i % 3, i);
  path = write_file (f, "order.ndjson", lines->str, lines->len);
  run_charta (&r, "import", "--jobs", "16", f->store, path, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_contains (r.out, "imported 600 resources (3 created, 597 updated)");

  store = open_store (f->store);
  for (unsigned k = 0; k < 3; k++)
    {
      g_autofree char *id = g_strdup_printf ("order-%u", k);
      g_autoptr(GPtrArray) versions = NULL;
      ChartaHistoryOptions options = { .count = 1000 };

      versions = charta_store_history (store, "Patient", id, &options, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (versions->len, ==, 200);
      for (unsigned v = 0; v < versions->len; v++)
        {
          ChartaHistoryEntry *e = versions->pdata[v];
          g_autofree char *json = charta_resource_to_json (e->resource, FALSE, NULL);
          g_autofree char *want = g_strdup_printf ("\"family\":\"v%" G_GINT64_FORMAT "\"",
                                                   3 * (e->version - 1) + k);

          assert_contains (json, want);
        }
    }
}

static void
test_import_usage (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *p = write_file (f, "p.json", PATIENT_WITH_ID, -1);
  const char *cases[][4] = {
    { "import", NULL },
    { "import", "only-a-store", NULL },
    { "import", "--jobs", "0", NULL },
    { "import", "--max-bytes", "-5", NULL },
    { "import", "--no-such-option", NULL },
  };

  for (unsigned i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GPtrArray) args = g_ptr_array_new ();
      g_auto(Result) r = { 0 };

      for (unsigned j = 0; j < 4 && cases[i][j] != NULL; j++)
        g_ptr_array_add (args, (gpointer) cases[i][j]);
      if (i >= 2)
        {
          g_ptr_array_add (args, f->store);
          g_ptr_array_add (args, p);
        }
      run_charta_argv (&r, args);
      g_assert_cmpint (r.status, ==, 2);
    }
  /* a missing input is an error of the run, not of usage */
  {
    g_autofree char *missing = g_build_filename (f->dir, "missing.json", NULL);
    g_auto(Result) r = { 0 };

    run_charta (&r, "import", f->store, missing, p, NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.err, missing);
    assert_contains (r.out, "imported 1 resources");
  }
}

/* ---- import: transactions and batches ---------------------------------------------------- */

static void
test_import_transaction (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(GHashTable) counts = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) obs = NULL;
  g_autofree char *json = NULL;

  seed_store (f);
  {
    g_auto(Result) r = { 0 };

    /* POST with urn:uuid, PUT with a client id referenced through its urn:uuid, DELETE */
    import_text (f, "tx.json",
                 "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
                 "{\"fullUrl\":\"urn:uuid:0c2a8f6e-0000-4000-8000-000000000001\","
                 "\"resource\":" OBSERVATION ("urn:uuid:0c2a8f6e-0000-4000-8000-000000000002",
                                              "90.25") ","
                 "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}},"
                 "{\"fullUrl\":\"urn:uuid:0c2a8f6e-0000-4000-8000-000000000002\","
                 "\"resource\":{\"resourceType\":\"Patient\",\"id\":\"tx-pat\"},"
                 "\"request\":{\"method\":\"PUT\",\"url\":\"Patient/tx-pat\"}},"
                 "{\"request\":{\"method\":\"DELETE\",\"url\":\"Patient/pat-1\"}}]}", &r);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, "imported 2 resources (2 created, 0 updated, 1 deleted)");
  }

  store = open_store (f->store);
  counts = charta_store_count_by_type (store, &error);
  g_assert_no_error (error);
  g_assert_cmpint (count_of (counts, "Patient"), ==, 1); /* pat-1 deleted, tx-pat created */
  g_assert_cmpint (count_of (counts, "Observation"), ==, 2);
  {
    g_autoptr(GPtrArray) page = NULL;
    ChartaHistoryOptions options = { .count = 10 };

    page = charta_store_history (store, "Observation", NULL, &options, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (page->len, ==, 2);
    /* the newest Observation is the transaction's: its subject now names tx-pat */
    obs = charta_resource_ref (((ChartaHistoryEntry *) page->pdata[0])->resource);
  }
  json = charta_resource_to_json (obs, FALSE, NULL);
  assert_contains (json, "\"reference\":\"Patient/tx-pat\"");
  assert_contains (json, "90.25"); /* decimals as written */
  g_assert_null (strstr (json, "urn:uuid:"));
  charta_store_close (store);

  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "get", f->store, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.err, "Patient/pat-1 was deleted (version 2)");
  }
  {
    g_auto(Result) r = { 0 };

    /* ifMatch: a stale version is a conflict, and the transaction changes nothing */
    g_autofree char *before = store_snapshot (f->store);
    g_autofree char *after = NULL;

    import_text (f, "tx-stale.json",
                 "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
                 "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"new-one\"},"
                 "\"request\":{\"method\":\"PUT\",\"url\":\"Patient/new-one\"}},"
                 "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"tx-pat\",\"active\":true},"
                 "\"request\":{\"method\":\"PUT\",\"url\":\"Patient/tx-pat\","
                 "\"ifMatch\":\"W/\\\"7\\\"\"}}]}", &r);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.err, "tx-stale.json");
    assert_contains (r.err, "nothing of it was imported");
    after = store_snapshot (f->store);
    g_assert_cmpstr (before, ==, after);
  }
  {
    g_auto(Result) r = { 0 };
    g_autofree char *before = store_snapshot (f->store);
    g_autofree char *after = NULL;

    /* entries that cannot be read: named, and nothing reaches the store */
    import_text (f, "tx-bad-requests.json",
                 "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
                 "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"a\"},"
                 "\"request\":{\"method\":\"PUT\",\"url\":\"Patient/b\"}},"
                 "{\"request\":{\"method\":\"GET\",\"url\":\"Patient/a\"}},"
                 "{\"resource\":{\"resourceType\":\"Patient\"},"
                 "\"request\":{\"method\":\"POST\",\"url\":\"Patient\","
                 "\"ifNoneExist\":\"identifier=x\"}},"
                 "{\"resource\":{\"resourceType\":\"Patient\"}}]}", &r);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.err, "tx-bad-requests.json: entry 0: Patient.id: \"a\"");
    assert_contains (r.err, "tx-bad-requests.json: entry 1: request.method: GET");
    assert_contains (r.err, "tx-bad-requests.json: entry 2: request.ifNoneExist");
    assert_contains (r.err, "tx-bad-requests.json: entry 3: request: missing");
    after = store_snapshot (f->store);
    g_assert_cmpstr (before, ==, after);
  }
}

static void
test_import_batch (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(GHashTable) counts = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Result) r = { 0 };
  g_autofree char *path = NULL;
  g_autofree char *want = NULL;

  import_text (f, "batch.json",
               "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":["
               "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"b1\"},"
               "\"request\":{\"method\":\"PUT\",\"url\":\"Patient/b1\"}},"
               "{\"resource\":" OBSERVATION ("Patient/b1", "\"heavy\"") ","
               "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}},"
               "{\"resource\":" OBSERVATION ("Patient/b1", "60") ","
               "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}]}", &r);
  path = g_build_filename (f->dir, "batch.json", NULL);
  want = g_strconcat (path, ": entry 1: Observation.valueQuantity.value", NULL);
  g_assert_cmpint (r.status, ==, 1);
  assert_contains (r.err, want);
  assert_contains (r.err, "heavy");
  assert_contains (r.out, "imported 2 resources (2 created, 0 updated)");
  assert_contains (r.out, "; 1 errors");

  store = open_store (f->store);
  counts = charta_store_count_by_type (store, &error);
  g_assert_no_error (error);
  g_assert_cmpint (count_of (counts, "Patient"), ==, 1);
  g_assert_cmpint (count_of (counts, "Observation"), ==, 1);
}

/* ---- import: bad input --------------------------------------------------------------------- */

static void
test_bad_malformed (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *path = NULL;
  g_autofree char *want = NULL;
  g_auto(Result) r = { 0 };

  seed_store (f);
  before = store_snapshot (f->store);
  path = write_file (f, "bad.json",
                     "{\"resourceType\": \"Bundle\",\n \"type\": \"transaction\",\n"
                     " \"entry\": [ {\"resource\": tru } ]\n}\n", -1);
  want = g_strconcat (path, ": line 3", NULL);
  run_charta (&r, "import", f->store, path, NULL);
  g_assert_cmpint (r.status, ==, 1);
  assert_contains (r.err, want);
  assert_contains (r.out, "imported 0 resources");
  assert_contains (r.out, "; 1 errors");
  after = store_snapshot (f->store);
  g_assert_cmpstr (before, ==, after);
}

/* A transaction of 600 entries (a Patient and its Observations), the 500th invalid. */
static void
test_bad_500th_entry (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GString) bundle = g_string_new ("{\"resourceType\":\"Bundle\","
                                            "\"type\":\"transaction\",\"entry\":[");
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *path = NULL;
  g_autofree char *want = NULL;
  g_auto(Result) r = { 0 };

  g_string_append (bundle,
                   "{\"fullUrl\":\"urn:uuid:9d1c3c1e-0000-4000-8000-000000000000\","
                   "\"resource\":" PATIENT_NO_ID ","
                   "\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}}");
  for (unsigned i = 1; i < 600; i++)
    g_string_append_printf (bundle,
                            ",{\"fullUrl\":\"urn:uuid:9d1c3c1e-0000-4000-8000-%012u\","
                            "\"resource\":%s,"
                            "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}",
                            i,
                            i == 499
                              ? OBSERVATION ("urn:uuid:9d1c3c1e-0000-4000-8000-000000000000",
                                             "\"x\"")
                              : OBSERVATION ("urn:uuid:9d1c3c1e-0000-4000-8000-000000000000",
                                             "70.0"));
  g_string_append (bundle, "]}");

  seed_store (f);
  before = store_snapshot (f->store);
  path = write_file (f, "bundle.json", bundle->str, bundle->len);
  want = g_strconcat (path, ": entry 499: Observation.valueQuantity.value: \"x\"", NULL);
  run_charta (&r, "import", f->store, path, NULL);
  g_assert_cmpint (r.status, ==, 1);
  assert_contains (r.err, want);
  assert_contains (r.err, "nothing of it was imported (600 entries)");
  /* only the bad entry is named */
  g_assert_null (strstr (r.err, "entry 498"));
  g_assert_null (strstr (r.err, "entry 500"));
  assert_contains (r.out, "imported 0 resources");
  after = store_snapshot (f->store);
  g_assert_cmpstr (before, ==, after);
}

/* In a subprocess of the test, so that RUSAGE_CHILDREN sees charta alone. */
static void
test_bad_huge_file (Fixture       *f,
                    gconstpointer  data)
{
  if (g_test_subprocess ())
    {
      const char *path = g_getenv ("CHARTA_TEST_HUGE");
      const char *store = g_getenv ("CHARTA_TEST_STORE");
      g_auto(Result) r = { 0 };
      struct rusage usage;
      gint64 start = g_get_monotonic_time (), elapsed;

      run_charta (&r, "import", store, path, NULL);
      elapsed = g_get_monotonic_time () - start;
      g_assert_cmpint (getrusage (RUSAGE_CHILDREN, &usage), ==, 0);
      g_printerr ("# 1 GB file: peak RSS of charta import %ld KiB, %" G_GINT64_FORMAT " ms\n",
                  usage.ru_maxrss, elapsed / 1000);
      g_assert_cmpint (r.status, ==, 1);
      assert_contains (r.err, path);
      assert_contains (r.err, "more than the limit");
      /* refused from its size: no gigabyte read, no gigabyte held */
      g_assert_cmpint (usage.ru_maxrss, <, 96 * 1024);
      g_assert_cmpint (elapsed, <, 20 * G_USEC_PER_SEC);
      return;
    }
  {
    g_autofree char *path = g_build_filename (f->dir, "huge.json", NULL);
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    int fd;

    seed_store (f);
    before = store_snapshot (f->store);
    fd = g_open (path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    g_assert_cmpint (fd, >=, 0);
    g_assert_cmpint (ftruncate (fd, (off_t) 1 << 30), ==, 0); /* sparse: no disk used */
    close (fd);
    g_setenv ("CHARTA_TEST_HUGE", path, TRUE);
    g_setenv ("CHARTA_TEST_STORE", f->store, TRUE);
    g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
    after = store_snapshot (f->store);
    g_assert_cmpstr (before, ==, after);
  }
}

static void
test_bad_missing_urn (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *path = NULL;
  g_autofree char *want = NULL;
  g_auto(Result) r = { 0 };

  seed_store (f);
  before = store_snapshot (f->store);
  path = write_file (f, "dangling.json",
                     "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
                     "{\"fullUrl\":\"urn:uuid:5f0e7a3c-0000-4000-8000-000000000001\","
                     "\"resource\":" PATIENT_NO_ID ","
                     "\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},"
                     "{\"fullUrl\":\"urn:uuid:5f0e7a3c-0000-4000-8000-000000000002\","
                     "\"resource\":" OBSERVATION ("urn:uuid:5f0e7a3c-0000-4000-8000-00000000dead",
                                                  "70") ","
                     "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}]}", -1);
  want = g_strconcat (path, ": entry 1: Observation.subject.reference: "
                      "urn:uuid:5f0e7a3c-0000-4000-8000-00000000dead", NULL);
  run_charta (&r, "import", f->store, path, NULL);
  g_assert_cmpint (r.status, ==, 1);
  assert_contains (r.err, want);
  assert_contains (r.err, "nothing of it was imported");
  after = store_snapshot (f->store);
  g_assert_cmpstr (before, ==, after);
}

/* Garbage of every kind in one run: each named, the good file still imported, no crash. */
static void
test_bad_mixed (Fixture       *f,
                gconstpointer  data)
{
  g_auto(Result) r = { 0 };
  g_autofree char *in = NULL;

  put_file (f, "in/1-not-json.json", "\x01\x02garbage", -1);
  put_file (f, "in/2-array.json", "[1,2,3]", -1);
  put_file (f, "in/3-unknown-type.json", "{\"resourceType\":\"Spaceship\"}", -1);
  put_file (f, "in/4-bundle-no-type.json", "{\"resourceType\":\"Bundle\"}", -1);
  put_file (f, "in/5-deep.json", "{\"resourceType\":\"Patient\",\"extension\":"
              "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
              "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
              "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
              "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", -1);
  put_file (f, "in/6-utf8.ndjson", "{\"resourceType\":\"Patient\",\"gender\":\"\xff\"}\n", -1);
  put_file (f, "in/7-entry-not-object.json",
              "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[3]}", -1);
  put_file (f, "in/8-good.json", PATIENT_WITH_ID, -1);
  in = g_build_filename (f->dir, "in", NULL);

  run_charta (&r, "import", "--max-bytes", "1000000", f->store, in, NULL);
  g_assert_cmpint (r.status, ==, 1);
  assert_contains (r.err, "1-not-json.json: ");
  assert_contains (r.err, "2-array.json: ");
  assert_contains (r.err, "3-unknown-type.json: ");
  assert_contains (r.err, "4-bundle-no-type.json: Bundle.type: missing");
  assert_contains (r.err, "5-deep.json: ");
  assert_contains (r.err, "6-utf8.ndjson: line 1");
  assert_contains (r.err, "7-entry-not-object.json: entry 0: ");
  assert_contains (r.out, "imported 1 resources (1 created, 0 updated) from 8 files");
  assert_contains (r.out, "; 7 errors");
}

/* ---- get ----------------------------------------------------------------------------------- */

static void
test_get (Fixture       *f,
          gconstpointer  data)
{
  seed_store (f);
  {
    g_auto(Result) r = { 0 };

    import_text (f, "v2.json", "{\"resourceType\":\"Patient\",\"id\":\"pat-1\",\"active\":false,"
                 "\"name\":[{\"family\":\"Chalmers\"}]}", &r);
    g_assert_cmpint (r.status, ==, 0);
  }
  {
    g_auto(Result) r = { 0 };
    g_autoptr(ChartaResource) got = NULL;
    g_autoptr(GError) error = NULL;

    /* not a terminal: compact, one line */
    run_charta (&r, "get", f->store, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (count_lines (r.out), ==, 1);
    got = charta_resource_new_from_data (r.out, strlen (r.out), NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (charta_resource_get_id (got), ==, "pat-1");
    g_assert_cmpstr (charta_resource_get_version_id (got), ==, "2");
    g_assert_nonnull (charta_resource_get_last_updated (got));
  }
  {
    g_auto(Result) r = { 0 };
    g_auto(Result) c = { 0 };
    g_autoptr(ChartaResource) a = NULL;
    g_autoptr(ChartaResource) b = NULL;

    run_charta (&r, "get", "--pretty", f->store, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (count_lines (r.out), >, 5);
    assert_contains (r.out, "\n  \"id\": \"pat-1\"");
    run_charta (&c, "get", "--compact", f->store, "Patient/pat-1", NULL);
    g_assert_cmpint (c.status, ==, 0);
    g_assert_cmpuint (count_lines (c.out), ==, 1);
    a = charta_resource_new_from_data (r.out, strlen (r.out), NULL, NULL);
    b = charta_resource_new_from_data (c.out, strlen (c.out), NULL, NULL);
    g_assert_nonnull (a);
    g_assert_nonnull (b);
    g_assert_true (charta_test_json_equal (charta_resource_get_root (a),
                                           charta_resource_get_root (b), NULL));
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "get", f->store, "Patient/pat-1/_history/1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, "\"versionId\":\"1\"");
    assert_contains (r.out, "\"birthDate\":\"1974-12-25\""); /* version 1 had it */
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "get", f->store, "Patient/pat-1/_history/9", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.err, "Patient/pat-1/_history/9: not found");
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "get", f->store, "Patient/nobody", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.err, "Patient/nobody: not found");
    g_assert_cmpstr (r.out, ==, "");
  }
  {
    g_auto(Result) r = { 0 };

    /* delete it through a transaction, then get */
    import_text (f, "del.json", "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
                 "{\"request\":{\"method\":\"DELETE\",\"url\":\"Patient/pat-1\"}}]}", &r);
    g_assert_cmpint (r.status, ==, 0);
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "get", f->store, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.err, "Patient/pat-1 was deleted (version 3)");
    g_assert_cmpstr (r.out, ==, "");
  }
  {
    g_auto(Result) r = { 0 };

    /* older versions stay readable */
    run_charta (&r, "get", f->store, "Patient/pat-1/_history/2", NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, "\"active\":false");
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "get", f->store, "Patient/pat-1/_history/3", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.err, "deletion");
  }

  /* usage errors: 2, before the store is even opened */
  {
    const char *bad[] = { "Patient", "Patient/", "/pat-1", "Patient/pat 1", "Spaceship/1",
                          "Patient/pat-1/_history/0", "Patient/pat-1/_history/x",
                          "Patient/pat-1/history/1", "Patient/a/b",
                          "Patient/0123456789012345678901234567890123456789012345678901234567890123456789" };

    for (unsigned i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_auto(Result) r = { 0 };

        run_charta (&r, "get", f->store, bad[i], NULL);
        g_assert_cmpint (r.status, ==, 2);
        g_assert_cmpstr (r.out, ==, "");
      }
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "get", f->store, NULL);
    g_assert_cmpint (r.status, ==, 2);
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "get", "--pretty", "--compact", f->store, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 2);
  }
  {
    g_autofree char *missing = g_build_filename (f->dir, "missing.charta", NULL);
    g_auto(Result) r = { 0 };

    run_charta (&r, "get", missing, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.err, missing);
    assert_contains (r.err, "no such file");
    g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS)); /* not created */
  }
}

/* ---- history ------------------------------------------------------------------------------- */

static void
test_history (Fixture       *f,
              gconstpointer  data)
{
  seed_store (f);
  {
    g_auto(Result) r = { 0 };
    g_autofree char *path = write_file (f, "v2.json",
                                        "{\"resourceType\":\"Patient\",\"id\":\"pat-1\","
                                        "\"active\":false}", -1);

    run_charta (&r, "import", "--agent", "Dr. Amend", "--reason", "wrong status", f->store, path,
                NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  {
    g_auto(Result) r = { 0 };
    g_auto(GStrv) lines = NULL;

    run_charta (&r, "history", f->store, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    lines = g_strsplit (r.out, "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 3); /* two lines and the empty tail */
    g_assert_true (g_str_has_prefix (lines[0], "v2  "));
    assert_contains (lines[0], "  update  ");
    assert_contains (lines[0], "agent \"Dr. Amend\"");
    assert_contains (lines[0], "activity UPDATE");
    assert_contains (lines[0], "reason \"wrong status\"");
    g_assert_true (g_str_has_prefix (lines[1], "v1  "));
    assert_contains (lines[1], "  create  ");
    assert_contains (lines[1], "agent \"charta import\"");
    assert_contains (lines[1], "activity CREATE");
    g_assert_null (strstr (lines[1], "reason"));
    g_assert_null (strstr (r.out, "no provenance"));
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "history", "--limit", "1", f->store, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (count_lines (r.out), ==, 1);
    g_assert_true (g_str_has_prefix (r.out, "v2  "));
  }
  {
    g_auto(Result) r = { 0 };
    g_autoptr(ChartaResource) bundle = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
    JsonArray *entries;
    JsonObject *first, *request, *response;

    run_charta (&r, "history", "--json", f->store, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    bundle = charta_resource_new_from_data (r.out, strlen (r.out), NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (charta_resource_get_resource_type (bundle), ==, "Bundle");
    g_assert_true (charta_validate_resource (bundle, outcome));
    g_assert_cmpstr (json_object_get_string_member (charta_resource_get_object (bundle), "type"),
                     ==, "history");
    entries = json_object_get_array_member (charta_resource_get_object (bundle), "entry");
    g_assert_cmpuint (json_array_get_length (entries), ==, 2);
    first = json_array_get_object_element (entries, 0);
    request = json_object_get_object_member (first, "request");
    response = json_object_get_object_member (first, "response");
    g_assert_cmpstr (json_object_get_string_member (request, "method"), ==, "PUT");
    g_assert_cmpstr (json_object_get_string_member (request, "url"), ==, "Patient/pat-1");
    g_assert_cmpstr (json_object_get_string_member (response, "etag"), ==, "W/\"2\"");
    g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (
                         json_object_get_object_member (first, "resource"), "meta"), "versionId"),
                     ==, "2");
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "history", "--json", "--pretty", f->store, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (count_lines (r.out), >, 10);
    assert_contains (r.out, "\"type\": \"history\"");
  }
  {
    g_auto(Result) r = { 0 };

    /* type history: the Patient's two versions, each line naming the resource */
    run_charta (&r, "history", f->store, "Patient", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (count_lines (r.out), ==, 2);
    g_assert_true (g_str_has_prefix (r.out, "Patient/pat-1  v2  "));
  }
  {
    g_auto(Result) r = { 0 };

    /* the whole store: the Patient's two versions and the Observation, at least */
    run_charta (&r, "history", f->store, NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, "Patient/pat-1  v2  ");
    assert_contains (r.out, "Patient/pat-1  v1  ");
    assert_contains (r.out, "Observation/");
    g_assert_cmpuint (count_lines (r.out), >=, 3);
  }
  {
    g_auto(Result) r = { 0 };

    /* nothing since a day far in the future */
    run_charta (&r, "history", "--since", "2999-01-01", f->store, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpstr (r.out, ==, "");
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "history", f->store, "Patient/nobody", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.err, "Patient/nobody: not found");
  }
  {
    const char *bad[][2] = { { "Spaceship", NULL }, { "Patient/a b", NULL },
                             { "Patient/pat-1/_history/1", NULL }, { "--since", "someday" },
                             { "--limit", "-1" } };

    for (unsigned i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(GPtrArray) args = g_ptr_array_new ();
        g_auto(Result) r = { 0 };

        g_ptr_array_add (args, "history");
        if (bad[i][1] != NULL)
          {
            g_ptr_array_add (args, (gpointer) bad[i][0]);
            g_ptr_array_add (args, (gpointer) bad[i][1]);
            g_ptr_array_add (args, f->store);
          }
        else
          {
            g_ptr_array_add (args, f->store);
            g_ptr_array_add (args, (gpointer) bad[i][0]);
          }
        run_charta_argv (&r, args);
        g_assert_cmpint (r.status, ==, 2);
      }
  }
  {
    g_autofree char *missing = g_build_filename (f->dir, "missing.charta", NULL);
    g_auto(Result) r = { 0 };

    run_charta (&r, "history", missing, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.err, "no such file");
  }
}

/* ---- check --------------------------------------------------------------------------------- */

static void
test_check (Fixture       *f,
            gconstpointer  data)
{
  seed_store (f);
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "check", f->store, NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, ": OK, ");
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "check", "--counts", f->store, NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, "Observation 1\n");
    assert_contains (r.out, "Patient 1\n");
  }
  {
    g_autofree char *missing = g_build_filename (f->dir, "missing.charta", NULL);
    g_auto(Result) r = { 0 };

    run_charta (&r, "check", missing, NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.err, "no such file");
  }
  {
    g_autofree char *path = write_file (f, "text.charta", "just text, no store\n", -1);
    g_auto(Result) r = { 0 };

    run_charta (&r, "check", path, NULL);
    g_assert_cmpint (r.status, ==, 1); /* exit 1, not a crash */
    assert_contains (r.err, path);
  }
  {
    g_auto(Result) r = { 0 };

    run_charta (&r, "check", NULL);
    g_assert_cmpint (r.status, ==, 2);
  }
  {
    /* a damaged copy: garbage over the middle of the file */
    g_autofree char *contents = NULL;
    g_autofree char *copy = NULL;
    g_auto(Result) r = { 0 };
    gsize length = 0;

    g_assert_true (g_file_get_contents (f->store, &contents, &length, NULL));
    g_assert_cmpuint (length, >, 8192);
    for (gsize i = length / 2; i < length / 2 + 4096 && i < length; i++)
      contents[i] = (char) (i * 37 + 11);
    copy = write_file (f, "damaged.charta", contents, length);
    run_charta (&r, "check", copy, NULL);
    g_assert_cmpint (r.status, ==, 1);
  }
}

/* ---- Synthea ------------------------------------------------------------------------------- */

static int
compare_synthea (gconstpointer a,
                 gconstpointer b)
{
  const char *x = *(const char *const *) a;
  const char *y = *(const char *const *) b;
  gboolean x_shared = strstr (x, "Information") != NULL;
  gboolean y_shared = strstr (y, "Information") != NULL;

  /* the shared hospital and practitioner bundles first */
  if (x_shared != y_shared)
    return x_shared ? -1 : 1;
  return strcmp (x, y);
}

static void
test_synthea (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *dir = charta_test_corpus_path ("synthea");
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GPtrArray) args = NULL;
  g_autoptr(GHashTable) expected = NULL;
  g_autoptr(GHashTable) counts = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *cursor = NULL;
  ChartaHistoryOptions options = { .count = 1000 };
  GHashTableIter iter;
  gpointer key, value;
  unsigned n_expected = 0, n_scanned = 0;
  GDir *d;
  const char *name;
  double seconds;

  if (dir == NULL)
    return;

  /* the bundles' own counts per resource type */
  files = g_ptr_array_new_with_free_func (g_free);
  expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".json"))
      g_ptr_array_add (files, g_build_filename (dir, name, NULL));
  g_dir_close (d);
  g_ptr_array_sort (files, compare_synthea);
  g_assert_cmpuint (files->len, ==, 102);
  g_assert_nonnull (strstr (files->pdata[0], "Information"));
  g_assert_nonnull (strstr (files->pdata[1], "Information"));
  for (unsigned i = 0; i < files->len; i++)
    {
      g_autoptr(ChartaResource) bundle = charta_test_load_resource (files->pdata[i]);
      JsonObject *root = charta_resource_get_object (bundle);
      JsonArray *entries = json_object_get_array_member (root, "entry");

      g_assert_cmpstr (json_object_get_string_member (root, "type"), ==, "transaction");
      for (unsigned j = 0; j < json_array_get_length (entries); j++)
        {
          JsonObject *entry = json_array_get_object_element (entries, j);
          JsonObject *resource = json_object_get_object_member (entry, "resource");
          const char *type = json_object_get_string_member (resource, "resourceType");
          int64_t *n = g_hash_table_lookup (expected, type);

          if (n == NULL)
            {
              n = g_new0 (int64_t, 1);
              g_hash_table_insert (expected, g_strdup (type), n);
            }
          (*n)++;
          n_expected++;
        }
    }
  g_assert_cmpuint (n_expected, >, 10000);

  /* import them all, in that order, through the command */
  args = g_ptr_array_new ();
  g_ptr_array_add (args, "import");
  g_ptr_array_add (args, f->store);
  for (unsigned i = 0; i < files->len; i++)
    g_ptr_array_add (args, files->pdata[i]);
  {
    g_auto(Result) r = { 0 };
    g_autofree char *want = g_strdup_printf ("imported %u resources (%u created, 0 updated) "
                                             "from 102 files", n_expected, n_expected);
    gint64 start = g_get_monotonic_time ();
    const char *in;

    run_charta_argv (&r, args);
    seconds = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
    g_printerr ("# Synthea through `charta import`: %u resources in %.1f s (%.0f resources/s)\n",
                n_expected, seconds, n_expected / seconds);
    if (r.status != 0)
      g_printerr ("# %.2000s\n", r.err);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, want);
    assert_contains (r.out, "; 0 errors");
    g_assert_cmpstr (r.err, ==, "");
    in = strstr (r.out, " s (");
    g_assert_nonnull (in);
  }

  /* counts per type equal the bundles' */
  store = open_store (f->store);
  counts = charta_store_count_by_type (store, &error);
  g_assert_no_error (error);
  g_hash_table_iter_init (&iter, expected);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_test_message ("%s: expected %" G_GINT64_FORMAT ", stored %" G_GINT64_FORMAT,
                      (char *) key, *(int64_t *) value, count_of (counts, key));
      g_assert_cmpint (count_of (counts, key), ==, *(int64_t *) value);
    }
  /* and nothing else but the store's own Provenance */
  g_hash_table_iter_init (&iter, counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!g_hash_table_contains (expected, key))
      g_assert_cmpstr (key, ==, "Provenance");

  /* no urn:uuid left in any current body: every version is current after a first import */
  do
    {
      g_autoptr(GPtrArray) page = NULL;
      char *next = NULL;

      options.cursor = cursor;
      page = charta_store_history (store, NULL, NULL, &options, &next, &error);
      g_assert_no_error (error);
      g_free (cursor);
      cursor = next;
      for (unsigned i = 0; i < page->len; i++)
        {
          ChartaHistoryEntry *e = page->pdata[i];
          g_autoptr(GBytes) body = NULL;
          gsize size = 0;
          const char *data_;

          g_assert_cmpint (e->method, ==, CHARTA_METHOD_CREATE);
          body = charta_store_read_bytes (store, e->type, e->id, NULL, &error);
          g_assert_no_error (error);
          data_ = g_bytes_get_data (body, &size);
          if (g_strstr_len (data_, size, "urn:uuid:") != NULL)
            g_test_message ("%s/%s still holds a urn:uuid", e->type, e->id);
          g_assert_null (g_strstr_len (data_, size, "urn:uuid:"));
          n_scanned++;
        }
    }
  while (cursor != NULL);
  g_assert_cmpuint (n_scanned, >=, n_expected);
  charta_store_close (store);

  {
    g_auto(Result) r = { 0 };
    gint64 start = g_get_monotonic_time ();

    run_charta (&r, "check", f->store, NULL);
    g_printerr ("# charta check of the Synthea store: %.1f s\n",
                (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, ": OK, ");
  }
  {
    /* a sample through `charta get`: the first Patient's stored JSON */
    g_auto(Result) h = { 0 };
    g_auto(Result) r = { 0 };
    g_autofree char *ref = NULL;
    const char *start;

    run_charta (&h, "history", "--limit", "1", f->store, "Patient", NULL);
    g_assert_cmpint (h.status, ==, 0);
    start = h.out;
    g_assert_true (g_str_has_prefix (start, "Patient/"));
    ref = g_strndup (start, strcspn (start, " "));
    run_charta (&r, "get", f->store, ref, NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, "\"resourceType\":\"Patient\"");
    g_assert_null (strstr (r.out, "urn:uuid:"));
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/charta/backend/cli-store/" path, Fixture, NULL, fixture_set_up, func, \
              fixture_tear_down)
  ADD ("init", test_init);
  ADD ("import/resources", test_import_resources);
  ADD ("import/order", test_import_order);
  ADD ("import/usage", test_import_usage);
  ADD ("import/transaction", test_import_transaction);
  ADD ("import/batch", test_import_batch);
  ADD ("import/bad/malformed", test_bad_malformed);
  ADD ("import/bad/500th-entry", test_bad_500th_entry);
  ADD ("import/bad/huge-file", test_bad_huge_file);
  ADD ("import/bad/missing-urn-uuid", test_bad_missing_urn);
  ADD ("import/bad/mixed", test_bad_mixed);
  ADD ("get", test_get);
  ADD ("history", test_history);
  ADD ("check", test_check);
  ADD ("import/synthea", test_synthea);
#undef ADD

  return g_test_run ();
}
