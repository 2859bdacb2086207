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

#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

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

/* Runs charta with the NULL-terminated arguments; fails the test if it cannot start. */
static void
run_charta (Result     *r,
            const char *first,
            ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  va_list ap;

  g_ptr_array_add (args, (gpointer) charta_bin ());
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);

  proc = g_subprocess_newv ((const char *const *) args->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  r->status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  g_test_message ("exit %d\nstdout:\n%s\nstderr:\n%s", r->status, r->out, r->err);
}

static void
assert_contains (const char *haystack,
                 const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_test_message ("expected to find \"%s\"", needle);
  g_assert_nonnull (strstr (haystack, needle));
}

/* A temporary directory, removed by the fixture. */
typedef struct
{
  char *dir;
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

          if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
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

  f->dir = g_dir_make_tmp ("charta-cli-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  remove_tree (f->dir);
  g_free (f->dir);
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

#define VALID_PATIENT \
  "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"active\":true,\"name\":[{\"family\":\"Chalmers\"}]," \
  "\"text\":{\"status\":\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">Peter</div>\"}}"

/* ---- cases ------------------------------------------------------------------------------------ */

static void
test_valid_file (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *path = write_file (f, "patient.json", VALID_PATIENT, -1);
  g_auto(Result) r = { 0 };

  run_charta (&r, "validate", path, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_contains (r.out, "1 files, 1 resources, 1 valid, 0 invalid");
}

static void
test_malformed_json (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *path = write_file (f, "bad.json",
                                      "{\"resourceType\": \"Patient\",\n \"id\": \"x\",\n \"active\": tru }\n", -1);
  g_autofree char *want = g_strconcat (path, ": line 3", NULL);
  g_auto(Result) r = { 0 };

  run_charta (&r, "validate", path, NULL);
  g_assert_cmpint (r.status, ==, 1);
  assert_contains (r.out, want);
  assert_contains (r.out, "1 files, 1 resources, 0 valid, 1 invalid");
}

/* In a subprocess of the test, so that RUSAGE_CHILDREN sees charta alone. */
static void
test_huge_file (Fixture       *f,
                gconstpointer  data)
{
  if (g_test_subprocess ())
    {
      const char *path = g_getenv ("CHARTA_TEST_HUGE");
      g_auto(Result) r = { 0 };
      struct rusage usage;
      gint64 start = g_get_monotonic_time (), elapsed;

      run_charta (&r, "validate", path, NULL);
      elapsed = g_get_monotonic_time () - start;
      g_assert_cmpint (getrusage (RUSAGE_CHILDREN, &usage), ==, 0);
      /* on stderr, which the parent passes through: stdout is the child's TAP */
      g_printerr ("# 1 GB file: peak RSS of charta %ld KiB, %" G_GINT64_FORMAT " ms\n",
                  usage.ru_maxrss, elapsed / 1000);
      g_assert_cmpint (r.status, ==, 1);
      assert_contains (r.out, path);
      assert_contains (r.out, "more than the limit");
      /* refused from its size: no gigabyte read, no gigabyte held */
      g_assert_cmpint (usage.ru_maxrss, <, 64 * 1024);
      g_assert_cmpint (elapsed, <, 10 * G_USEC_PER_SEC);
      return;
    }
  {
    g_autofree char *path = g_build_filename (f->dir, "huge.json", NULL);
    int fd = g_open (path, O_CREAT | O_WRONLY | O_TRUNC, 0600);

    g_assert_cmpint (fd, >=, 0);
    g_assert_cmpint (ftruncate (fd, (off_t) 1 << 30), ==, 0); /* sparse: no disk used */
    close (fd);
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
      g_auto(Result) r = { 0 };
      struct rusage usage;

      run_charta (&r, "validate", "--max-bytes", "100000", path, NULL);
      g_assert_cmpint (getrusage (RUSAGE_CHILDREN, &usage), ==, 0);
      g_printerr ("# 50 MB NDJSON line: peak RSS of charta %ld KiB\n", usage.ru_maxrss);
      g_assert_cmpint (r.status, ==, 1);
      assert_contains (r.out, ":2: line 2: the line is 50000000 bytes");
      assert_contains (r.out, "1 files, 3 resources, 2 valid, 1 invalid");
      g_assert_cmpint (usage.ru_maxrss, <, 64 * 1024);
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
  g_autofree char *path = NULL;
  g_auto(Result) r = { 0 };

  for (unsigned i = 0; i < 100000; i++)
    g_string_append_c (s, '[');
  for (unsigned i = 0; i < 100000; i++)
    g_string_append_c (s, ']');
  g_string_append_c (s, '}');
  path = write_file (f, "deep.json", s->str, s->len);

  run_charta (&r, "validate", path, NULL);
  g_assert_cmpint (r.status, ==, 1); /* not a crash */
  assert_contains (r.out, path);
  assert_contains (r.out, "nesting deeper than the limit");
}

static void
test_invalid_utf8 (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *path = write_file (f, "utf8.json",
                                      "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"\xff\xfe\"}]}", -1);
  g_auto(Result) r = { 0 };

  run_charta (&r, "validate", path, NULL);
  g_assert_cmpint (r.status, ==, 1);
  assert_contains (r.out, path);
  assert_contains (r.out, "UTF-8");
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
  g_auto(Result) r = { 0 };
  unsigned n_lines = 0;

  for (unsigned i = 0; i < G_N_ELEMENTS (wrong_values); i++)
    g_string_append_printf (s, "%s{\"url\":\"http://example.org/%u\",\"%s\":%s}", i > 0 ? "," : "",
                            i, wrong_values[i].member, wrong_values[i].value);
  /* xhtml */
  g_string_append (s, "],\"text\":{\"status\":\"generated\",\"div\":1}}");
  path = write_file (f, "types.json", s->str, s->len);

  run_charta (&r, "validate", path, NULL);
  g_assert_cmpint (r.status, ==, 1);
  for (unsigned i = 0; i < G_N_ELEMENTS (wrong_values); i++)
    {
      g_autofree char *want = g_strdup_printf ("%s: Patient.extension[%u].%s: ", path, i,
                                               wrong_values[i].member);
      assert_contains (r.out, want);
    }
  {
    g_autofree char *want = g_strdup_printf ("%s: Patient.text.div: 1 is not a string", path);
    assert_contains (r.out, want);
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
  g_autofree char *path = write_file (f, "patients.ndjson",
                                      VALID_PATIENT "\n"
                                      "{\"resourceType\":\"Patient\",\"birthDate\":\"1970-13-01\"}\n"
                                      "\n"
                                      VALID_PATIENT "\r\n"
                                      "{\"resourceType\":\"Patient\",\n", -1);
  g_autofree char *want2 = g_strconcat (path, ":2: Patient.birthDate: \"1970-13-01\" is not a valid date", NULL);
  g_autofree char *want5 = g_strconcat (path, ":5: ", NULL);
  g_auto(Result) r = { 0 };

  run_charta (&r, "validate", path, NULL);
  g_assert_cmpint (r.status, ==, 1);
  assert_contains (r.out, want2);
  assert_contains (r.out, want5);
  assert_contains (r.out, "1 files, 4 resources, 2 valid, 2 invalid");
}

static void
test_directory (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *a = write_file (f, "tree/a.json", VALID_PATIENT, -1);
  g_autofree char *b = write_file (f, "tree/sub/b.json",
                                   "{\"resourceType\":\"Patient\",\"gender\":\"boy\"}", -1);
  g_autofree char *c = write_file (f, "tree/sub/deeper/c.ndjson", VALID_PATIENT "\n" VALID_PATIENT "\n", -1);
  g_autofree char *d = write_file (f, "tree/sub/notes.txt", "not a resource", -1);
  g_autofree char *tree = g_build_filename (f->dir, "tree", NULL);
  g_autofree char *want = g_strconcat (b, ": Patient.gender: \"boy\"", NULL);
  g_auto(Result) r = { 0 };

  run_charta (&r, "validate", tree, NULL);
  g_assert_cmpint (r.status, ==, 1);
  assert_contains (r.out, want);
  g_assert_null (strstr (r.out, "notes.txt"));
  assert_contains (r.out, "3 files, 4 resources, 3 valid, 1 invalid");

  /* without the bad file, all valid */
  g_unlink (b);
  {
    g_auto(Result) r2 = { 0 };

    run_charta (&r2, "validate", tree, NULL);
    g_assert_cmpint (r2.status, ==, 0);
    assert_contains (r2.out, "2 files, 3 resources, 3 valid, 0 invalid");
  }
}

static void
test_bundle (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *path = write_file (f, "bundle.json",
                                      "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
                                      "{\"fullUrl\":\"urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7\","
                                      "\"resource\":" VALID_PATIENT "},"
                                      "{\"fullUrl\":\"urn:uuid:63fefa32-fcbb-4ff8-8a92-55ee120877b7\","
                                      "\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\","
                                      "\"code\":{\"text\":\"x\"},\"valueQuantity\":{\"value\":\"7\"}}}]}", -1);
  g_autofree char *want = g_strconcat (path, ": Bundle.entry[1].resource.valueQuantity.value: \"7\"", NULL);
  g_auto(Result) r = { 0 };

  run_charta (&r, "validate", path, NULL);
  g_assert_cmpint (r.status, ==, 1);
  assert_contains (r.out, want);
  assert_contains (r.out, "1 files, 1 resources, 0 valid, 1 invalid");
}

static void
test_missing_file (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "nonexistent.json", NULL);
  g_autofree char *good = write_file (f, "ok.json", VALID_PATIENT, -1);
  g_auto(Result) r = { 0 };

  run_charta (&r, "validate", path, good, NULL);
  g_assert_cmpint (r.status, ==, 1);
  assert_contains (r.out, path);
  assert_contains (r.out, "No such file");
  assert_contains (r.out, "2 files, 1 resources, 1 valid, 0 invalid");
}

static void
test_usage (Fixture       *f,
            gconstpointer  data)
{
  {
    g_auto(Result) r = { 0 };
    run_charta (&r, NULL);
    g_assert_cmpint (r.status, ==, 2);
    assert_contains (r.err, "Usage: charta");
  }
  {
    g_auto(Result) r = { 0 };
    run_charta (&r, "validate", NULL);
    g_assert_cmpint (r.status, ==, 2);
    assert_contains (r.err, "Usage: charta validate");
  }
  {
    g_auto(Result) r = { 0 };
    run_charta (&r, "validate", "--max-bytes", "nope", "x.json", NULL);
    g_assert_cmpint (r.status, ==, 2);
  }
  {
    g_auto(Result) r = { 0 };
    run_charta (&r, "frobnicate", NULL);
    g_assert_cmpint (r.status, ==, 2);
    assert_contains (r.err, "unknown command");
  }
  {
    g_auto(Result) r = { 0 };
    run_charta (&r, "--help", NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, "validate");
  }
  {
    g_auto(Result) r = { 0 };
    run_charta (&r, "validate", "--help", NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, "--max-bytes");
  }
  {
    g_auto(Result) r = { 0 };
    run_charta (&r, "--version", NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, "charta ");
  }
}

/* --max-bytes and --max-depth are honoured. */
static void
test_limits (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *path = write_file (f, "patient.json", VALID_PATIENT, -1);

  {
    g_auto(Result) r = { 0 };
    run_charta (&r, "validate", "--max-bytes", "50", path, NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.out, "more than the limit of 50 bytes");
  }
  {
    g_auto(Result) r = { 0 };
    run_charta (&r, "validate", "--max-depth", "2", path, NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_contains (r.out, "nesting deeper than the limit");
  }
}

/* Warnings (failed warning-level invariants) do not make a resource invalid; -w prints them. */
static void
test_warnings (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *path = write_file (f, "bare.json", "{\"resourceType\":\"Patient\",\"active\":true}", -1);
  g_autofree char *want = g_strconcat (path, ": warning: Patient: constraint dom-6 failed", NULL);

  {
    g_auto(Result) r = { 0 };
    run_charta (&r, "validate", path, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_null (strstr (r.out, "warning"));
    assert_contains (r.out, "1 files, 1 resources, 1 valid, 0 invalid");
  }
  {
    g_auto(Result) r = { 0 };
    run_charta (&r, "validate", "--warnings", path, NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, want);
  }
}

/* tests/data/valid: our own hand-written resources of each input kind (a resource, a
 * transaction Bundle with urn:uuid references, NDJSON), all valid. */
static void
test_valid_folder (Fixture       *f,
                   gconstpointer  data)
{
  g_auto(Result) r = { 0 };
  g_autofree char *dir = charta_test_data_path ("valid");

  run_charta (&r, "validate", dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_contains (r.out, "4 files, 6 resources, 6 valid, 0 invalid");
  g_assert_cmpstr (r.err, ==, "");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/charta/backend/cli-validate/" path, Fixture, NULL, fixture_set_up, func, \
              fixture_tear_down)
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
