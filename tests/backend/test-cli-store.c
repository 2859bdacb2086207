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

#include <string.h>

#include <glib/gstdio.h>

#include "charta-test-store-util.h"

typedef ChartaTestDir Fixture;   /* a temporary folder, and a path for a store in it */

/* write_file() for a file whose path the test does not need. */
static void
put_file (Fixture    *f,
          const char *name,
          const char *contents,
          gssize      length)
{
  g_free (charta_test_write_file (f->dir, name, contents, length));
}

static ChartaStore *
open_store (const char *path)
{
  return charta_test_store_open (path, CHARTA_STORE_FLAGS_READ_ONLY);
}

static void
append_version (ChartaHistoryEntry *e,
                gpointer            user_data)
{
  g_string_append_printf (user_data, "%s/%s/%" G_GINT64_FORMAT "/%d\n", e->type, e->id,
                          e->version, (int) e->method);
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
  GHashTableIter iter;
  gpointer key;

  counts = charta_store_count_by_type (store, &error);
  g_assert_no_error (error);
  g_hash_table_iter_init (&iter, counts);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (types, key);
  g_ptr_array_sort (types, charta_test_compare_strings);
  for (unsigned i = 0; i < types->len; i++)
    g_string_append_printf (s, "%s=%" G_GINT64_FORMAT "\n", (char *) types->pdata[i],
                            charta_test_count_of (counts, types->pdata[i]));
  charta_test_store_foreach_version (store, 500, append_version, s);
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
import_text (Fixture       *f,
             const char    *name,
             const char    *json,
             ChartaTestRun *r)
{
  g_autofree char *path = charta_test_write_file (f->dir, name, json, -1);

  charta_test_run_charta (r, "import", f->store_path, path, NULL);
  return r->status;
}

/* Imports @json (@length bytes, -1: up to the nul; written to @name) into the fixture's store,
 * which must refuse it: exit status 1, the file's path followed by @detail on stderr (unless
 * @detail is NULL), and the store exactly as before. */
static void
import_refused (Fixture       *f,
                const char    *name,
                const char    *json,
                gssize         length,
                const char    *detail,
                ChartaTestRun *r)
{
  g_autofree char *before = store_snapshot (f->store_path);
  g_autofree char *path = charta_test_write_file (f->dir, name, json, length);
  g_autofree char *after = NULL;

  charta_test_run_charta (r, "import", f->store_path, path, NULL);
  g_assert_cmpint (r->status, ==, 1);
  if (detail != NULL)
    {
      g_autofree char *want = g_strconcat (path, detail, NULL);

      charta_test_assert_contains (r->err, want);
    }
  after = store_snapshot (f->store_path);
  g_assert_cmpstr (before, ==, after);
}

/* A small store to start from: pat-1 and an Observation of it. */
static void
seed_store (Fixture *f)
{
  g_auto(ChartaTestRun) r = { 0 };
  g_autofree char *p = charta_test_write_file (f->dir, "seed/patient.json", PATIENT_WITH_ID, -1);
  g_autofree char *o = charta_test_write_file (f->dir, "seed/obs.json",
                                               OBSERVATION ("Patient/pat-1", "72.5"), -1);

  charta_test_run_charta (&r, "import", f->store_path, p, o, NULL);
  g_assert_cmpint (r.status, ==, 0);
  charta_test_assert_contains (r.out, "imported 2 resources (2 created, 0 updated) from 2 files");
}

/* ---- init -------------------------------------------------------------------------------- */

static void
test_init (Fixture       *f,
           gconstpointer  data)
{
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "init", f->store_path, NULL);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, "created");
    g_assert_true (g_file_test (f->store_path, G_FILE_TEST_IS_REGULAR));
  }
  {
    g_autofree char *snapshot = store_snapshot (f->store_path);

    g_assert_cmpstr (snapshot, ==, ""); /* empty: no types, no versions */
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    /* again: a no-op */
    charta_test_run_charta (&r, "init", f->store_path, NULL);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, "already a Charta store");
  }
  {
    const char *text = "not a database, just some text\n";
    g_autofree char *path = charta_test_write_file (f->dir, "notes.txt", text, -1);
    g_autofree char *after = NULL;
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "init", path, NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, path);
    charta_test_assert_contains (r.err, "not a Charta store");
    g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
    g_assert_cmpstr (after, ==, text); /* untouched */
  }
  {
    g_autofree char *path = charta_test_write_file (f->dir, "empty.db", "", 0);
    g_auto(ChartaTestRun) r = { 0 };
    GStatBuf st;

    charta_test_run_charta (&r, "init", path, NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, "not a Charta store");
    g_assert_cmpint (g_stat (path, &st), ==, 0);
    g_assert_cmpint (st.st_size, ==, 0);
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "init", f->dir, NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, "directory");
  }
  {
    g_autofree char *path = g_build_filename (f->dir, "no", "such", "dir", "s.charta", NULL);
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "init", path, NULL);
    g_assert_cmpint (r.status, ==, 1);
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "init", NULL);
    g_assert_cmpint (r.status, ==, 2);
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "init", f->store_path, "extra", NULL);
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
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "import", "--agent", "Test Importer", "--reason", "initial load",
                            f->store_path, in, NULL);
    g_assert_cmpint (r.status, ==, 1); /* two bad NDJSON lines */
    charta_test_assert_contains (r.err, want_line3);
    charta_test_assert_contains (r.err, "yesterday");
    charta_test_assert_contains (r.err, want_line4);
    /* 2 patients + obs + 2 good NDJSON lines + 2 collection entries */
    charta_test_assert_contains (r.out, "imported 7 resources (7 created, 0 updated) from 5 files");
    charta_test_assert_contains (r.out, "; 2 errors");
    /* not a terminal: one summary line */
    g_assert_cmpuint (charta_test_count_lines (r.out), ==, 1);
  }

  store = open_store (f->store_path);
  counts = charta_store_count_by_type (store, &error);
  g_assert_no_error (error);
  g_assert_cmpint (charta_test_count_of (counts, "Patient"), ==, 4);
  g_assert_cmpint (charta_test_count_of (counts, "Observation"), ==, 2);
  g_assert_cmpint (charta_test_count_of (counts, "Practitioner"), ==, 1);
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
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "history", f->store_path, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (charta_test_count_lines (r.out), ==, 1);
    charta_test_assert_contains (r.out, "v1");
    charta_test_assert_contains (r.out, "create");
    charta_test_assert_contains (r.out, "\"Test Importer\"");
    charta_test_assert_contains (r.out, "initial load");
  }

  /* the same again: update-as-create of identical content makes no version */
  {
    g_autofree char *path = g_build_filename (f->dir, "in", "a-patient.json", NULL);
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "import", f->store_path, path, NULL);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, "0 created");
  }
  /* a changed pat-1: version 2 */
  {
    g_auto(ChartaTestRun) r = { 0 };

    import_text (f, "pat-1-v2.json",
                 "{\"resourceType\":\"Patient\",\"id\":\"pat-1\",\"active\":false}", &r);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, "imported 1 resources (0 created, 1 updated)");
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "history", f->store_path, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (charta_test_count_lines (r.out), ==, 2);
    g_assert_true (g_str_has_prefix (r.out, "v2")); /* newest first */
    charta_test_assert_contains (r.out, "update");
    charta_test_assert_contains (r.out, "\"charta import\""); /* the default agent */
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
  g_auto(ChartaTestRun) r = { 0 };
  g_autofree char *path = NULL;

  for (unsigned i = 0; i < 600; i++)
    g_string_append_printf (lines, "{\"resourceType\":\"Patient\",\"id\":\"order-%u\","
                            "\"name\":[{\"family\":\"v%u\"}]}\n", i % 3, i);
  path = charta_test_write_file (f->dir, "order.ndjson", lines->str, lines->len);
  charta_test_run_charta (&r, "import", "--jobs", "16", f->store_path, path, NULL);
  g_assert_cmpint (r.status, ==, 0);
  charta_test_assert_contains (r.out, "imported 600 resources (3 created, 597 updated)");

  store = open_store (f->store_path);
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

          charta_test_assert_contains (json, want);
        }
    }
}

static void
test_import_usage (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *p = charta_test_write_file (f->dir, "p.json", PATIENT_WITH_ID, -1);
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
      g_auto(ChartaTestRun) r = { 0 };

      for (unsigned j = 0; j < 4 && cases[i][j] != NULL; j++)
        g_ptr_array_add (args, (gpointer) cases[i][j]);
      if (i >= 2)
        {
          g_ptr_array_add (args, f->store_path);
          g_ptr_array_add (args, p);
        }
      charta_test_run_charta_argv (&r, args);
      g_assert_cmpint (r.status, ==, 2);
    }
  /* a missing input is an error of the run, not of usage */
  {
    g_autofree char *missing = g_build_filename (f->dir, "missing.json", NULL);
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "import", f->store_path, missing, p, NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, missing);
    charta_test_assert_contains (r.out, "imported 1 resources");
  }
}

/* ---- import: transactions and batches ---------------------------------------------------- */

static void
test_import_transaction (Fixture       *f,
                         gconstpointer  data)
{
  /* Transactions refused whole, the store left as it was, with what stderr must say. */
  static const struct
  {
    const char *name;
    const char *json;
    const char *messages[5];   /* NULL-terminated */
  } refused[] = {
    /* ifMatch: a stale version is a conflict, and the transaction changes nothing */
    { "tx-stale.json",
      "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
      "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"new-one\"},"
      "\"request\":{\"method\":\"PUT\",\"url\":\"Patient/new-one\"}},"
      "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"tx-pat\",\"active\":true},"
      "\"request\":{\"method\":\"PUT\",\"url\":\"Patient/tx-pat\","
      "\"ifMatch\":\"W/\\\"7\\\"\"}}]}",
      { "tx-stale.json", "nothing of it was imported" } },
    /* entries that cannot be read: named, and nothing reaches the store */
    { "tx-bad-requests.json",
      "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
      "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"a\"},"
      "\"request\":{\"method\":\"PUT\",\"url\":\"Patient/b\"}},"
      "{\"request\":{\"method\":\"GET\",\"url\":\"Patient/a\"}},"
      "{\"resource\":{\"resourceType\":\"Patient\"},"
      "\"request\":{\"method\":\"POST\",\"url\":\"Patient\","
      "\"ifNoneExist\":\"identifier=x\"}},"
      "{\"resource\":{\"resourceType\":\"Patient\"}}]}",
      { "tx-bad-requests.json: entry 0: Patient.id: \"a\"",
        "tx-bad-requests.json: entry 1: request.method: GET",
        "tx-bad-requests.json: entry 2: request.ifNoneExist",
        "tx-bad-requests.json: entry 3: request: missing" } },
  };
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(GHashTable) counts = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) obs = NULL;
  g_autofree char *json = NULL;

  seed_store (f);
  {
    g_auto(ChartaTestRun) r = { 0 };

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
    charta_test_assert_contains (r.out, "imported 2 resources (2 created, 0 updated, 1 deleted)");
  }

  store = open_store (f->store_path);
  counts = charta_store_count_by_type (store, &error);
  g_assert_no_error (error);
  /* pat-1 deleted, tx-pat created */
  g_assert_cmpint (charta_test_count_of (counts, "Patient"), ==, 1);
  g_assert_cmpint (charta_test_count_of (counts, "Observation"), ==, 2);
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
  charta_test_assert_contains (json, "\"reference\":\"Patient/tx-pat\"");
  charta_test_assert_contains (json, "90.25"); /* decimals as written */
  g_assert_null (strstr (json, "urn:uuid:"));
  charta_store_close (store);

  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "get", f->store_path, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, "Patient/pat-1 was deleted (version 2)");
  }
  for (unsigned i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_auto(ChartaTestRun) r = { 0 };

      import_refused (f, refused[i].name, refused[i].json, -1, NULL, &r);
      for (const char *const *m = refused[i].messages; *m != NULL; m++)
        charta_test_assert_contains (r.err, *m);
    }
}

static void
test_import_batch (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(GHashTable) counts = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(ChartaTestRun) r = { 0 };
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
  charta_test_assert_contains (r.err, want);
  charta_test_assert_contains (r.err, "heavy");
  charta_test_assert_contains (r.out, "imported 2 resources (2 created, 0 updated)");
  charta_test_assert_contains (r.out, "; 1 errors");

  store = open_store (f->store_path);
  counts = charta_store_count_by_type (store, &error);
  g_assert_no_error (error);
  g_assert_cmpint (charta_test_count_of (counts, "Patient"), ==, 1);
  g_assert_cmpint (charta_test_count_of (counts, "Observation"), ==, 1);
}

/* ---- import: bad input --------------------------------------------------------------------- */

static void
test_bad_malformed (Fixture       *f,
                    gconstpointer  data)
{
  g_auto(ChartaTestRun) r = { 0 };

  seed_store (f);
  import_refused (f, "bad.json",
                  "{\"resourceType\": \"Bundle\",\n \"type\": \"transaction\",\n"
                  " \"entry\": [ {\"resource\": tru } ]\n}\n", -1, ": line 3", &r);
  charta_test_assert_contains (r.out, "imported 0 resources");
  charta_test_assert_contains (r.out, "; 1 errors");
}

/* A transaction of 600 entries (a Patient and its Observations), the 500th invalid. */
static void
test_bad_500th_entry (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GString) bundle = g_string_new ("{\"resourceType\":\"Bundle\","
                                            "\"type\":\"transaction\",\"entry\":[");
  g_auto(ChartaTestRun) r = { 0 };

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
  import_refused (f, "bundle.json", bundle->str, bundle->len,
                  ": entry 499: Observation.valueQuantity.value: \"x\"", &r);
  charta_test_assert_contains (r.err, "nothing of it was imported (600 entries)");
  /* only the bad entry is named */
  g_assert_null (strstr (r.err, "entry 498"));
  g_assert_null (strstr (r.err, "entry 500"));
  charta_test_assert_contains (r.out, "imported 0 resources");
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
      g_auto(ChartaTestRun) r = { 0 };
      long peak_rss;

      charta_test_run_charta (&r, "import", store, path, NULL);
      peak_rss = charta_test_children_peak_rss ();
      g_printerr ("# 1 GB file: peak RSS of charta import %ld KiB, %" G_GINT64_FORMAT " ms\n",
                  peak_rss, r.elapsed / 1000);
      g_assert_cmpint (r.status, ==, 1);
      charta_test_assert_contains (r.err, path);
      charta_test_assert_contains (r.err, "more than the limit");
      /* refused from its size: no gigabyte read, no gigabyte held */
      g_assert_cmpint (peak_rss, <, 96 * 1024);
      g_assert_cmpint (r.elapsed, <, 20 * G_USEC_PER_SEC);
      return;
    }
  {
    g_autofree char *path = NULL;
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;

    seed_store (f);
    before = store_snapshot (f->store_path);
    /* sparse: no disk used */
    path = charta_test_write_sparse_file (f->dir, "huge.json", NULL, (gint64) 1 << 30);
    g_setenv ("CHARTA_TEST_HUGE", path, TRUE);
    g_setenv ("CHARTA_TEST_STORE", f->store_path, TRUE);
    g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
    after = store_snapshot (f->store_path);
    g_assert_cmpstr (before, ==, after);
  }
}

static void
test_bad_missing_urn (Fixture       *f,
                      gconstpointer  data)
{
  g_auto(ChartaTestRun) r = { 0 };

  seed_store (f);
  import_refused (f, "dangling.json",
                  "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
                  "{\"fullUrl\":\"urn:uuid:5f0e7a3c-0000-4000-8000-000000000001\","
                  "\"resource\":" PATIENT_NO_ID ","
                  "\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},"
                  "{\"fullUrl\":\"urn:uuid:5f0e7a3c-0000-4000-8000-000000000002\","
                  "\"resource\":" OBSERVATION ("urn:uuid:5f0e7a3c-0000-4000-8000-00000000dead",
                                               "70") ","
                  "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}]}", -1,
                  ": entry 1: Observation.subject.reference: "
                  "urn:uuid:5f0e7a3c-0000-4000-8000-00000000dead", &r);
  charta_test_assert_contains (r.err, "nothing of it was imported");
}

/* Garbage of every kind in one run: each named, the good file still imported, no crash. */
static void
test_bad_mixed (Fixture       *f,
                gconstpointer  data)
{
  g_auto(ChartaTestRun) r = { 0 };
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

  charta_test_run_charta (&r, "import", "--max-bytes", "1000000", f->store_path, in, NULL);
  g_assert_cmpint (r.status, ==, 1);
  charta_test_assert_contains (r.err, "1-not-json.json: ");
  charta_test_assert_contains (r.err, "2-array.json: ");
  charta_test_assert_contains (r.err, "3-unknown-type.json: ");
  charta_test_assert_contains (r.err, "4-bundle-no-type.json: Bundle.type: missing");
  charta_test_assert_contains (r.err, "5-deep.json: ");
  charta_test_assert_contains (r.err, "6-utf8.ndjson: line 1");
  charta_test_assert_contains (r.err, "7-entry-not-object.json: entry 0: ");
  charta_test_assert_contains (r.out, "imported 1 resources (1 created, 0 updated) from 8 files");
  charta_test_assert_contains (r.out, "; 7 errors");
}

/* ---- get ----------------------------------------------------------------------------------- */

static void
test_get (Fixture       *f,
          gconstpointer  data)
{
  seed_store (f);
  {
    g_auto(ChartaTestRun) r = { 0 };

    import_text (f, "v2.json", "{\"resourceType\":\"Patient\",\"id\":\"pat-1\",\"active\":false,"
                 "\"name\":[{\"family\":\"Chalmers\"}]}", &r);
    g_assert_cmpint (r.status, ==, 0);
  }
  {
    g_auto(ChartaTestRun) r = { 0 };
    g_autoptr(ChartaResource) got = NULL;
    g_autoptr(GError) error = NULL;

    /* not a terminal: compact, one line */
    charta_test_run_charta (&r, "get", f->store_path, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (charta_test_count_lines (r.out), ==, 1);
    got = charta_resource_new_from_data (r.out, strlen (r.out), NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (charta_resource_get_id (got), ==, "pat-1");
    g_assert_cmpstr (charta_resource_get_version_id (got), ==, "2");
    g_assert_nonnull (charta_resource_get_last_updated (got));
  }
  {
    g_auto(ChartaTestRun) r = { 0 };
    g_auto(ChartaTestRun) c = { 0 };
    g_autoptr(ChartaResource) a = NULL;
    g_autoptr(ChartaResource) b = NULL;

    charta_test_run_charta (&r, "get", "--pretty", f->store_path, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (charta_test_count_lines (r.out), >, 5);
    charta_test_assert_contains (r.out, "\n  \"id\": \"pat-1\"");
    charta_test_run_charta (&c, "get", "--compact", f->store_path, "Patient/pat-1", NULL);
    g_assert_cmpint (c.status, ==, 0);
    g_assert_cmpuint (charta_test_count_lines (c.out), ==, 1);
    a = charta_resource_new_from_data (r.out, strlen (r.out), NULL, NULL);
    b = charta_resource_new_from_data (c.out, strlen (c.out), NULL, NULL);
    g_assert_nonnull (a);
    g_assert_nonnull (b);
    g_assert_true (charta_test_json_equal (charta_resource_get_root (a),
                                           charta_resource_get_root (b), NULL));
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "get", f->store_path, "Patient/pat-1/_history/1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, "\"versionId\":\"1\"");
    charta_test_assert_contains (r.out, "\"birthDate\":\"1974-12-25\""); /* version 1 had it */
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "get", f->store_path, "Patient/pat-1/_history/9", NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, "Patient/pat-1/_history/9: not found");
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "get", f->store_path, "Patient/nobody", NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, "Patient/nobody: not found");
    g_assert_cmpstr (r.out, ==, "");
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    /* delete it through a transaction, then get */
    import_text (f, "del.json", "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
                 "{\"request\":{\"method\":\"DELETE\",\"url\":\"Patient/pat-1\"}}]}", &r);
    g_assert_cmpint (r.status, ==, 0);
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "get", f->store_path, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, "Patient/pat-1 was deleted (version 3)");
    g_assert_cmpstr (r.out, ==, "");
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    /* older versions stay readable */
    charta_test_run_charta (&r, "get", f->store_path, "Patient/pat-1/_history/2", NULL);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, "\"active\":false");
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "get", f->store_path, "Patient/pat-1/_history/3", NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, "deletion");
  }

  /* usage errors: 2, before the store is even opened */
  {
    const char *bad[] = { "Patient", "Patient/", "/pat-1", "Patient/pat 1", "Spaceship/1",
                          "Patient/pat-1/_history/0", "Patient/pat-1/_history/x",
                          "Patient/pat-1/history/1", "Patient/a/b",
                          "Patient/0123456789012345678901234567890123456789012345678901234567890123456789" };

    for (unsigned i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_auto(ChartaTestRun) r = { 0 };

        charta_test_run_charta (&r, "get", f->store_path, bad[i], NULL);
        g_assert_cmpint (r.status, ==, 2);
        g_assert_cmpstr (r.out, ==, "");
      }
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "get", f->store_path, NULL);
    g_assert_cmpint (r.status, ==, 2);
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "get", "--pretty", "--compact", f->store_path, "Patient/pat-1",
                            NULL);
    g_assert_cmpint (r.status, ==, 2);
  }
  {
    g_autofree char *missing = g_build_filename (f->dir, "missing.charta", NULL);
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "get", missing, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, missing);
    charta_test_assert_contains (r.err, "no such file");
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
    g_auto(ChartaTestRun) r = { 0 };
    g_autofree char *path = charta_test_write_file (f->dir, "v2.json",
                                                    "{\"resourceType\":\"Patient\","
                                                    "\"id\":\"pat-1\",\"active\":false}", -1);

    charta_test_run_charta (&r, "import", "--agent", "Dr. Amend", "--reason", "wrong status",
                            f->store_path, path, NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  {
    g_auto(ChartaTestRun) r = { 0 };
    g_auto(GStrv) lines = NULL;

    charta_test_run_charta (&r, "history", f->store_path, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    lines = g_strsplit (r.out, "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 3); /* two lines and the empty tail */
    g_assert_true (g_str_has_prefix (lines[0], "v2  "));
    charta_test_assert_contains (lines[0], "  update  ");
    charta_test_assert_contains (lines[0], "agent \"Dr. Amend\"");
    charta_test_assert_contains (lines[0], "activity UPDATE");
    charta_test_assert_contains (lines[0], "reason \"wrong status\"");
    g_assert_true (g_str_has_prefix (lines[1], "v1  "));
    charta_test_assert_contains (lines[1], "  create  ");
    charta_test_assert_contains (lines[1], "agent \"charta import\"");
    charta_test_assert_contains (lines[1], "activity CREATE");
    g_assert_null (strstr (lines[1], "reason"));
    g_assert_null (strstr (r.out, "no provenance"));
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "history", "--limit", "1", f->store_path, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (charta_test_count_lines (r.out), ==, 1);
    g_assert_true (g_str_has_prefix (r.out, "v2  "));
  }
  {
    g_auto(ChartaTestRun) r = { 0 };
    g_autoptr(ChartaResource) bundle = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
    JsonArray *entries;
    JsonObject *first, *request, *response;

    charta_test_run_charta (&r, "history", "--json", f->store_path, "Patient/pat-1", NULL);
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
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "history", "--json", "--pretty", f->store_path, "Patient/pat-1",
                            NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (charta_test_count_lines (r.out), >, 10);
    charta_test_assert_contains (r.out, "\"type\": \"history\"");
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    /* type history: the Patient's two versions, each line naming the resource */
    charta_test_run_charta (&r, "history", f->store_path, "Patient", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpuint (charta_test_count_lines (r.out), ==, 2);
    g_assert_true (g_str_has_prefix (r.out, "Patient/pat-1  v2  "));
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    /* the whole store: the Patient's two versions and the Observation, at least */
    charta_test_run_charta (&r, "history", f->store_path, NULL);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, "Patient/pat-1  v2  ");
    charta_test_assert_contains (r.out, "Patient/pat-1  v1  ");
    charta_test_assert_contains (r.out, "Observation/");
    g_assert_cmpuint (charta_test_count_lines (r.out), >=, 3);
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    /* nothing since a day far in the future */
    charta_test_run_charta (&r, "history", "--since", "2999-01-01", f->store_path, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_cmpstr (r.out, ==, "");
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "history", f->store_path, "Patient/nobody", NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, "Patient/nobody: not found");
  }
  {
    const char *bad[][2] = { { "Spaceship", NULL }, { "Patient/a b", NULL },
                             { "Patient/pat-1/_history/1", NULL }, { "--since", "someday" },
                             { "--limit", "-1" } };

    for (unsigned i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(GPtrArray) args = g_ptr_array_new ();
        g_auto(ChartaTestRun) r = { 0 };

        g_ptr_array_add (args, "history");
        if (bad[i][1] != NULL)
          {
            g_ptr_array_add (args, (gpointer) bad[i][0]);
            g_ptr_array_add (args, (gpointer) bad[i][1]);
            g_ptr_array_add (args, f->store_path);
          }
        else
          {
            g_ptr_array_add (args, f->store_path);
            g_ptr_array_add (args, (gpointer) bad[i][0]);
          }
        charta_test_run_charta_argv (&r, args);
        g_assert_cmpint (r.status, ==, 2);
      }
  }
  {
    g_autofree char *missing = g_build_filename (f->dir, "missing.charta", NULL);
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "history", missing, "Patient/pat-1", NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, "no such file");
  }
}

/* ---- check --------------------------------------------------------------------------------- */

static void
test_check (Fixture       *f,
            gconstpointer  data)
{
  seed_store (f);
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "check", f->store_path, NULL);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, ": OK, ");
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "check", "--counts", f->store_path, NULL);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, "Observation 1\n");
    charta_test_assert_contains (r.out, "Patient 1\n");
  }
  {
    g_autofree char *missing = g_build_filename (f->dir, "missing.charta", NULL);
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "check", missing, NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, "no such file");
  }
  {
    g_autofree char *path = charta_test_write_file (f->dir, "text.charta",
                                                    "just text, no store\n", -1);
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "check", path, NULL);
    g_assert_cmpint (r.status, ==, 1); /* exit 1, not a crash */
    charta_test_assert_contains (r.err, path);
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "check", NULL);
    g_assert_cmpint (r.status, ==, 2);
  }
  {
    /* a damaged copy: garbage over the middle of the file */
    g_autofree char *contents = NULL;
    g_autofree char *copy = NULL;
    g_auto(ChartaTestRun) r = { 0 };
    gsize length = 0;

    g_assert_true (g_file_get_contents (f->store_path, &contents, &length, NULL));
    g_assert_cmpuint (length, >, 8192);
    for (gsize i = length / 2; i < length / 2 + 4096 && i < length; i++)
      contents[i] = (char) (i * 37 + 11);
    copy = charta_test_write_file (f->dir, "damaged.charta", contents, length);
    charta_test_run_charta (&r, "check", copy, NULL);
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

typedef struct
{
  ChartaStore *store;
  unsigned n_scanned;
} Scan;

/* Every version is current and created, and its body holds no urn:uuid. */
static void
scan_version (ChartaHistoryEntry *e,
              gpointer            user_data)
{
  Scan *scan = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  gsize size = 0;
  const char *data;

  g_assert_cmpint (e->method, ==, CHARTA_METHOD_CREATE);
  body = charta_store_read_bytes (scan->store, e->type, e->id, NULL, &error);
  g_assert_no_error (error);
  data = g_bytes_get_data (body, &size);
  if (g_strstr_len (data, size, "urn:uuid:") != NULL)
    g_test_message ("%s/%s still holds a urn:uuid", e->type, e->id);
  g_assert_null (g_strstr_len (data, size, "urn:uuid:"));
  scan->n_scanned++;
}

static void
test_synthea (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *dir = charta_test_corpus_path ("synthea");
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GPtrArray) args = NULL;
  g_autoptr(GHashTable) expected = NULL;
  g_autoptr(GHashTable) counts = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  gpointer key, value;
  unsigned n_expected = 0;
  double seconds;

  if (dir == NULL)
    return;

  /* the bundles' own counts per resource type */
  names = charta_test_list_json_files (dir, NULL);
  files = g_ptr_array_new_with_free_func (g_free);
  expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (unsigned i = 0; i < names->len; i++)
    g_ptr_array_add (files, g_build_filename (dir, names->pdata[i], NULL));
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
  g_ptr_array_add (args, f->store_path);
  for (unsigned i = 0; i < files->len; i++)
    g_ptr_array_add (args, files->pdata[i]);
  {
    g_auto(ChartaTestRun) r = { 0 };
    g_autofree char *want = g_strdup_printf ("imported %u resources (%u created, 0 updated) "
                                             "from 102 files", n_expected, n_expected);
    gint64 start = g_get_monotonic_time ();
    const char *in;

    charta_test_run_charta_argv (&r, args);
    seconds = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
    g_printerr ("# Synthea through `charta import`: %u resources in %.1f s (%.0f resources/s)\n",
                n_expected, seconds, n_expected / seconds);
    if (r.status != 0)
      g_printerr ("# %.2000s\n", r.err);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, want);
    charta_test_assert_contains (r.out, "; 0 errors");
    g_assert_cmpstr (r.err, ==, "");
    in = strstr (r.out, " s (");
    g_assert_nonnull (in);
  }

  /* counts per type equal the bundles' */
  store = open_store (f->store_path);
  counts = charta_store_count_by_type (store, &error);
  g_assert_no_error (error);
  g_hash_table_iter_init (&iter, expected);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_test_message ("%s: expected %" G_GINT64_FORMAT ", stored %" G_GINT64_FORMAT,
                      (char *) key, *(int64_t *) value, charta_test_count_of (counts, key));
      g_assert_cmpint (charta_test_count_of (counts, key), ==, *(int64_t *) value);
    }
  /* and nothing else but the store's own Provenance */
  g_hash_table_iter_init (&iter, counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!g_hash_table_contains (expected, key))
      g_assert_cmpstr (key, ==, "Provenance");

  /* no urn:uuid left in any current body: every version is current after a first import */
  {
    Scan scan = { store, 0 };

    charta_test_store_foreach_version (store, 1000, scan_version, &scan);
    g_assert_cmpuint (scan.n_scanned, >=, n_expected);
  }
  charta_store_close (store);

  {
    g_auto(ChartaTestRun) r = { 0 };
    gint64 start = g_get_monotonic_time ();

    charta_test_run_charta (&r, "check", f->store_path, NULL);
    g_printerr ("# charta check of the Synthea store: %.1f s\n",
                (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, ": OK, ");
  }
  {
    /* a sample through `charta get`: the first Patient's stored JSON */
    g_auto(ChartaTestRun) h = { 0 };
    g_auto(ChartaTestRun) r = { 0 };
    g_autofree char *ref = NULL;
    const char *start;

    charta_test_run_charta (&h, "history", "--limit", "1", f->store_path, "Patient", NULL);
    g_assert_cmpint (h.status, ==, 0);
    start = h.out;
    g_assert_true (g_str_has_prefix (start, "Patient/"));
    ref = g_strndup (start, strcspn (start, " "));
    charta_test_run_charta (&r, "get", f->store_path, ref, NULL);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, "\"resourceType\":\"Patient\"");
    g_assert_null (strstr (r.out, "urn:uuid:"));
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/charta/backend/cli-store/" path, Fixture, NULL, charta_test_dir_set_up, func, \
              charta_test_dir_tear_down)
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
