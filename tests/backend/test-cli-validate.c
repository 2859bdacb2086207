/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-cli-validate.c: `charta validate` as a user runs it.
 *
 * Runs the built binary ($CHARTA_BIN) with GSubprocess on files written to a temporary
 * directory: valid and invalid resources, bad input (malformed JSON, a 1 GB file, nesting
 * 100,000 deep, invalid UTF-8, a wrong type in every primitive), NDJSON, directories and
 * Bundles.  Checks the exit status, that each problem is printed with its file and element
 * path (or NDJSON line), and that bad input neither crashes the command nor makes it use much
 * memory (peak RSS of the child, from getrusage (RUSAGE_CHILDREN) in a subprocess of its own).
 */
#define G_LOG_DOMAIN "charta-test-cli-validate"

#include <string.h>

#include <glib/gstdio.h>

#include "charta-test-util.h"

typedef ChartaTestDir Fixture;   /* a temporary folder */

/* Validates @contents, written to @name: exit status 1, and on stdout the file's path followed
 * by @detail (NULL: the path alone) and, anywhere, @text. */
static void
assert_invalid (Fixture    *f,
                const char *name,
                const char *contents,
                gssize      length,
                const char *detail,
                const char *text)
{
  g_autofree char *path = charta_test_write_file (f->dir, name, contents, length);
  g_autofree char *want = g_strconcat (path, detail, NULL);
  g_auto(ChartaTestRun) r = { 0 };

  charta_test_run_charta (&r, "validate", path, NULL);
  g_assert_cmpint (r.status, ==, 1); /* not a crash */
  charta_test_assert_contains (r.out, want);
  charta_test_assert_contains (r.out, text);
}

#define VALID_PATIENT \
  "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"active\":true,\"name\":[{\"family\":\"Chalmers\"}]," \
  "\"text\":{\"status\":\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">Peter</div>\"}}"

/* ---- cases ------------------------------------------------------------------------------------ */

static void
test_valid_file (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *path = charta_test_write_file (f->dir, "patient.json", VALID_PATIENT, -1);
  g_auto(ChartaTestRun) r = { 0 };

  charta_test_run_charta (&r, "validate", path, NULL);
  g_assert_cmpint (r.status, ==, 0);
  charta_test_assert_contains (r.out, "1 files, 1 resources, 1 valid, 0 invalid");
}

static void
test_malformed_json (Fixture       *f,
                     gconstpointer  data)
{
  assert_invalid (f, "bad.json",
                  "{\"resourceType\": \"Patient\",\n \"id\": \"x\",\n \"active\": tru }\n", -1,
                  ": line 3", "1 files, 1 resources, 0 valid, 1 invalid");
}

/* In a subprocess of the test, so that RUSAGE_CHILDREN sees charta alone. */
static void
test_huge_file (Fixture       *f,
                gconstpointer  data)
{
  if (g_test_subprocess ())
    {
      const char *path = g_getenv ("CHARTA_TEST_HUGE");
      g_auto(ChartaTestRun) r = { 0 };
      long peak_rss;

      charta_test_run_charta (&r, "validate", path, NULL);
      peak_rss = charta_test_children_peak_rss ();
      /* on stderr, which the parent passes through: stdout is the child's TAP */
      g_printerr ("# 1 GB file: peak RSS of charta %ld KiB, %" G_GINT64_FORMAT " ms\n",
                  peak_rss, r.elapsed / 1000);
      g_assert_cmpint (r.status, ==, 1);
      charta_test_assert_contains (r.out, path);
      charta_test_assert_contains (r.out, "more than the limit");
      /* refused from its size: no gigabyte read, no gigabyte held */
      g_assert_cmpint (peak_rss, <, 64 * 1024);
      g_assert_cmpint (r.elapsed, <, 10 * G_USEC_PER_SEC);
      return;
    }
  {
    /* sparse: no disk used */
    g_autofree char *path = charta_test_write_sparse_file (f->dir, "huge.json", NULL,
                                                           (gint64) 1 << 30);

    g_setenv ("CHARTA_TEST_HUGE", path, TRUE);
    g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
  }
}

/* A huge NDJSON file is streamed: memory stays bounded by one line. */
static void
test_huge_ndjson (Fixture       *f,
                  gconstpointer  data)
{
  if (g_test_subprocess ())
    {
      const char *path = g_getenv ("CHARTA_TEST_NDJSON");
      g_auto(ChartaTestRun) r = { 0 };
      long peak_rss;

      charta_test_run_charta (&r, "validate", "--max-bytes", "100000", path, NULL);
      peak_rss = charta_test_children_peak_rss ();
      g_printerr ("# 50 MB NDJSON line: peak RSS of charta %ld KiB\n", peak_rss);
      g_assert_cmpint (r.status, ==, 1);
      charta_test_assert_contains (r.out, ":2: line 2: the line is 50000000 bytes");
      charta_test_assert_contains (r.out, "1 files, 3 resources, 2 valid, 1 invalid");
      g_assert_cmpint (peak_rss, <, 64 * 1024);
      return;
    }
  {
    g_autofree char *path = g_build_filename (f->dir, "big.ndjson", NULL);
    g_autoptr(GString) s = g_string_new (VALID_PATIENT "\n");
    g_autoptr(GError) error = NULL;

    g_string_append_len (s, "\"", 1);
    for (unsigned i = 0; i < 50000000 - 2; i++)
      g_string_append_c (s, 'x');
    g_string_append (s, "\"\n" VALID_PATIENT "\n");
    g_file_set_contents (path, s->str, s->len, &error);
    g_assert_no_error (error);
    g_setenv ("CHARTA_TEST_NDJSON", path, TRUE);
    g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
  }
}

static void
test_deep_nesting (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GString) s = g_string_new ("{\"resourceType\":\"Patient\",\"extension\":");

  for (unsigned i = 0; i < 100000; i++)
    g_string_append_c (s, '[');
  for (unsigned i = 0; i < 100000; i++)
    g_string_append_c (s, ']');
  g_string_append_c (s, '}');
  assert_invalid (f, "deep.json", s->str, s->len, NULL, "nesting deeper than the limit");
}

static void
test_invalid_utf8 (Fixture       *f,
                   gconstpointer  data)
{
  assert_invalid (f, "utf8.json",
                  "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"\xff\xfe\"}]}", -1,
                  NULL, "UTF-8");
}

/* Every primitive type, each with a value of the wrong JSON type: one error each. */
static const struct
{
  const char *member;  /* extension value[x] name */
  const char *value;   /* JSON of the wrong type */
} wrong_values[] = {
  { "valueBoolean", "\"true\"" },
  { "valueInteger", "\"1\"" },
  { "valueString", "5" },
  { "valueDecimal", "\"1.5\"" },
  { "valueUri", "true" },
  { "valueUrl", "3" },
  { "valueCanonical", "7" },
  { "valueBase64Binary", "12" },
  { "valueInstant", "2020" },
  { "valueDate", "19700101" },
  { "valueDateTime", "false" },
  { "valueTime", "1200" },
  { "valueCode", "1" },
  { "valueOid", "5" },
  { "valueId", "6" },
  { "valueMarkdown", "[\"a\"]" },
  { "valueUnsignedInt", "\"1\"" },
  { "valuePositiveInt", "{\"value\":1}" },
  { "valueUuid", "1" },
};

static void
test_wrong_types (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GString) s = g_string_new ("{\"resourceType\":\"Patient\",\"extension\":[");
  g_autofree char *path = NULL;
  g_auto(ChartaTestRun) r = { 0 };
  unsigned n_lines = 0;

  for (unsigned i = 0; i < G_N_ELEMENTS (wrong_values); i++)
    g_string_append_printf (s, "%s{\"url\":\"http://example.org/%u\",\"%s\":%s}", i > 0 ? "," : "",
                            i, wrong_values[i].member, wrong_values[i].value);
  /* xhtml */
  g_string_append (s, "],\"text\":{\"status\":\"generated\",\"div\":1}}");
  path = charta_test_write_file (f->dir, "types.json", s->str, s->len);

  charta_test_run_charta (&r, "validate", path, NULL);
  g_assert_cmpint (r.status, ==, 1);
  for (unsigned i = 0; i < G_N_ELEMENTS (wrong_values); i++)
    {
      g_autofree char *want = g_strdup_printf ("%s: Patient.extension[%u].%s: ", path, i,
                                               wrong_values[i].member);
      charta_test_assert_contains (r.out, want);
    }
  {
    g_autofree char *want = g_strdup_printf ("%s: Patient.text.div: 1 is not a string", path);
    charta_test_assert_contains (r.out, want);
  }
  for (const char *p = r.out; (p = strchr (p, '\n')) != NULL; p++)
    n_lines++;
  /* one line per wrong value, and the summary */
  g_assert_cmpuint (n_lines, ==, G_N_ELEMENTS (wrong_values) + 2);
}

static void
test_ndjson (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *path = charta_test_write_file (f->dir, "patients.ndjson",
                                                  VALID_PATIENT "\n"
                                                  "{\"resourceType\":\"Patient\","
                                                  "\"birthDate\":\"1970-13-01\"}\n"
                                                  "\n"
                                                  VALID_PATIENT "\r\n"
                                                  "{\"resourceType\":\"Patient\",\n", -1);
  g_autofree char *want2 = g_strconcat (path, ":2: Patient.birthDate: \"1970-13-01\" is not a valid date", NULL);
  g_autofree char *want5 = g_strconcat (path, ":5: ", NULL);
  g_auto(ChartaTestRun) r = { 0 };

  charta_test_run_charta (&r, "validate", path, NULL);
  g_assert_cmpint (r.status, ==, 1);
  charta_test_assert_contains (r.out, want2);
  charta_test_assert_contains (r.out, want5);
  charta_test_assert_contains (r.out, "1 files, 4 resources, 2 valid, 2 invalid");
}

static void
test_directory (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *a = charta_test_write_file (f->dir, "tree/a.json", VALID_PATIENT, -1);
  g_autofree char *b = charta_test_write_file (f->dir, "tree/sub/b.json",
                                               "{\"resourceType\":\"Patient\","
                                               "\"gender\":\"boy\"}", -1);
  g_autofree char *c = charta_test_write_file (f->dir, "tree/sub/deeper/c.ndjson",
                                               VALID_PATIENT "\n" VALID_PATIENT "\n", -1);
  g_autofree char *d = charta_test_write_file (f->dir, "tree/sub/notes.txt", "not a resource", -1);
  g_autofree char *tree = g_build_filename (f->dir, "tree", NULL);
  g_autofree char *want = g_strconcat (b, ": Patient.gender: \"boy\"", NULL);
  g_auto(ChartaTestRun) r = { 0 };

  charta_test_run_charta (&r, "validate", tree, NULL);
  g_assert_cmpint (r.status, ==, 1);
  charta_test_assert_contains (r.out, want);
  g_assert_null (strstr (r.out, "notes.txt"));
  charta_test_assert_contains (r.out, "3 files, 4 resources, 3 valid, 1 invalid");

  /* without the bad file, all valid */
  g_unlink (b);
  {
    g_auto(ChartaTestRun) r2 = { 0 };

    charta_test_run_charta (&r2, "validate", tree, NULL);
    g_assert_cmpint (r2.status, ==, 0);
    charta_test_assert_contains (r2.out, "2 files, 3 resources, 3 valid, 0 invalid");
  }
}

static void
test_bundle (Fixture       *f,
             gconstpointer  data)
{
  assert_invalid (f, "bundle.json",
                  "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
                  "{\"fullUrl\":\"urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7\","
                  "\"resource\":" VALID_PATIENT "},"
                  "{\"fullUrl\":\"urn:uuid:63fefa32-fcbb-4ff8-8a92-55ee120877b7\","
                  "\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\","
                  "\"code\":{\"text\":\"x\"},\"valueQuantity\":{\"value\":\"7\"}}}]}", -1,
                  ": Bundle.entry[1].resource.valueQuantity.value: \"7\"",
                  "1 files, 1 resources, 0 valid, 1 invalid");
}

static void
test_missing_file (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "nonexistent.json", NULL);
  g_autofree char *good = charta_test_write_file (f->dir, "ok.json", VALID_PATIENT, -1);
  g_auto(ChartaTestRun) r = { 0 };

  charta_test_run_charta (&r, "validate", path, good, NULL);
  g_assert_cmpint (r.status, ==, 1);
  charta_test_assert_contains (r.out, path);
  charta_test_assert_contains (r.out, "No such file");
  charta_test_assert_contains (r.out, "2 files, 1 resources, 1 valid, 0 invalid");
}

static void
test_usage (Fixture       *f,
            gconstpointer  data)
{
  {
    g_auto(ChartaTestRun) r = { 0 };
    charta_test_run_charta (&r, NULL);
    g_assert_cmpint (r.status, ==, 2);
    charta_test_assert_contains (r.err, "Usage: charta");
  }
  {
    g_auto(ChartaTestRun) r = { 0 };
    charta_test_run_charta (&r, "validate", NULL);
    g_assert_cmpint (r.status, ==, 2);
    charta_test_assert_contains (r.err, "Usage: charta validate");
  }
  {
    g_auto(ChartaTestRun) r = { 0 };
    charta_test_run_charta (&r, "validate", "--max-bytes", "nope", "x.json", NULL);
    g_assert_cmpint (r.status, ==, 2);
  }
  {
    g_auto(ChartaTestRun) r = { 0 };
    charta_test_run_charta (&r, "frobnicate", NULL);
    g_assert_cmpint (r.status, ==, 2);
    charta_test_assert_contains (r.err, "unknown command");
  }
  {
    g_auto(ChartaTestRun) r = { 0 };
    charta_test_run_charta (&r, "--help", NULL);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, "validate");
  }
  {
    g_auto(ChartaTestRun) r = { 0 };
    charta_test_run_charta (&r, "validate", "--help", NULL);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, "--max-bytes");
  }
  {
    g_auto(ChartaTestRun) r = { 0 };
    charta_test_run_charta (&r, "--version", NULL);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, "charta ");
  }
}

/* --max-bytes and --max-depth are honoured. */
static void
test_limits (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *path = charta_test_write_file (f->dir, "patient.json", VALID_PATIENT, -1);

  {
    g_auto(ChartaTestRun) r = { 0 };
    charta_test_run_charta (&r, "validate", "--max-bytes", "50", path, NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.out, "more than the limit of 50 bytes");
  }
  {
    g_auto(ChartaTestRun) r = { 0 };
    charta_test_run_charta (&r, "validate", "--max-depth", "2", path, NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.out, "nesting deeper than the limit");
  }
}

/* Warnings (failed warning-level invariants) do not make a resource invalid; -w prints them. */
static void
test_warnings (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *path = charta_test_write_file (f->dir, "bare.json",
                                                  "{\"resourceType\":\"Patient\",\"active\":true}",
                                                  -1);
  g_autofree char *want = g_strconcat (path, ": warning: Patient: constraint dom-6 failed", NULL);

  {
    g_auto(ChartaTestRun) r = { 0 };
    charta_test_run_charta (&r, "validate", path, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_null (strstr (r.out, "warning"));
    charta_test_assert_contains (r.out, "1 files, 1 resources, 1 valid, 0 invalid");
  }
  {
    g_auto(ChartaTestRun) r = { 0 };
    charta_test_run_charta (&r, "validate", "--warnings", path, NULL);
    g_assert_cmpint (r.status, ==, 0);
    charta_test_assert_contains (r.out, want);
  }
}

/* tests/data/valid: our own hand-written resources of each input kind (a resource, a
 * transaction Bundle with urn:uuid references, NDJSON), all valid. */
static void
test_valid_folder (Fixture       *f,
                   gconstpointer  data)
{
  g_auto(ChartaTestRun) r = { 0 };
  g_autofree char *dir = charta_test_data_path ("valid");

  charta_test_run_charta (&r, "validate", dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  charta_test_assert_contains (r.out, "4 files, 6 resources, 6 valid, 0 invalid");
  g_assert_cmpstr (r.err, ==, "");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/charta/backend/cli-validate/" path, Fixture, NULL, charta_test_dir_set_up, \
              func, charta_test_dir_tear_down)
  ADD ("valid-file", test_valid_file);
  ADD ("valid-folder", test_valid_folder);
  ADD ("malformed-json", test_malformed_json);
  ADD ("huge-file", test_huge_file);
  ADD ("huge-ndjson", test_huge_ndjson);
  ADD ("deep-nesting", test_deep_nesting);
  ADD ("invalid-utf8", test_invalid_utf8);
  ADD ("wrong-types", test_wrong_types);
  ADD ("ndjson", test_ndjson);
  ADD ("directory", test_directory);
  ADD ("bundle", test_bundle);
  ADD ("missing-file", test_missing_file);
  ADD ("usage", test_usage);
  ADD ("limits", test_limits);
  ADD ("warnings", test_warnings);
#undef ADD

  return g_test_run ();
}
