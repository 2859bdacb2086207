/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-test-util.c: helpers shared by the tests (see charta-test-util.h).
 *
 * Every helper fails the test (an assertion, or g_error() where a path must be named) rather
 * than return an error: a test has nothing better to do with one.
 */
#define G_LOG_DOMAIN "charta-test"

#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "charta-test-util.h"

/* ---- the corpus ------------------------------------------------------------------------------ */

const char *
charta_test_corpus_dir (void)
{
  static char *dir = NULL;
  const char *env = g_getenv ("CHARTA_CORPUS");
  const char *fallback = g_getenv ("CHARTA_CORPUS_DEFAULT");

  /* CHARTA_CORPUS wins; meson test sets CHARTA_CORPUS_DEFAULT to ../shared/corpus beside the
   * source tree, whatever folder the tests run in. */
  if (dir == NULL)
    {
      if (env != NULL && *env != '\0')
        dir = g_strdup (env);
      else if (fallback != NULL && *fallback != '\0')
        dir = g_strdup (fallback);
      else
        dir = g_build_filename ("..", "shared", "corpus", NULL);
    }

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *msg = g_strdup_printf ("corpus not found at %s (set CHARTA_CORPUS)", dir);
      g_test_skip (msg);
      return NULL;
    }
  return dir;
}

char *
charta_test_corpus_path (const char *relative)
{
  const char *dir = charta_test_corpus_dir ();

  if (dir == NULL)
    return NULL;
  return g_build_filename (dir, relative, NULL);
}

char *
charta_test_data_path (const char *relative)
{
  const char *dir = g_getenv ("CHARTA_TEST_DATA");

  if (dir == NULL)
    dir = "tests/data";
  return g_build_filename (dir, relative, NULL);
}

GHashTable *
charta_test_read_known_invalid (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "KNOWN-INVALID.txt", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  GHashTable *known = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  lines = g_strsplit (text, "\n", -1);
  for (unsigned i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      char *space;

      if (*line == '\0' || *line == '#')
        continue;
      space = strpbrk (line, " \t");
      g_assert_nonnull (space);
      *space = '\0';
      g_hash_table_insert (known, g_strdup (line), g_strdup (g_strstrip (space + 1)));
    }
  return known;
}

GPtrArray *
charta_test_list_json_files (const char *dir,
                             GHashTable *except)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) d = g_dir_open (dir, 0, &error);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_no_error (error);
  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".json")
        && (except == NULL || !g_hash_table_contains (except, name)))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, charta_test_compare_strings);
  return names;
}

GPtrArray *
charta_test_list_valid_examples (char       **dir,
                                 GHashTable **known_invalid)
{
  g_autoptr(GHashTable) known = NULL;
  GPtrArray *names;

  *dir = charta_test_corpus_path ("r4-examples");
  if (*dir == NULL)
    return NULL;
  known = charta_test_read_known_invalid (*dir);
  names = charta_test_list_json_files (*dir, known);
  if (known_invalid != NULL)
    *known_invalid = g_steal_pointer (&known);
  return names;
}

gboolean
charta_test_is_synthea_patient (const char *name)
{
  return g_str_has_suffix (name, ".json") && !g_str_has_prefix (name, "hospital")
         && !g_str_has_prefix (name, "practitioner");
}

/* ---- resources and JSON ---------------------------------------------------------------------- */

ChartaResource *
charta_test_load_resource (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  size_t length = 0;
  ChartaResource *resource;

  if (!g_file_get_contents (path, &data, &length, &error))
    g_error ("%s: %s", path, error->message);
  resource = charta_resource_new_from_data (data, length, NULL, &error);
  if (resource == NULL)
    g_error ("%s: %s", path, error->message);
  return resource;
}

ChartaResource *
charta_test_parse (const char *json)
{
  g_autoptr(GError) error = NULL;
  ChartaResource *resource = charta_resource_new_from_data (json, strlen (json), NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (resource);
  return resource;
}

static gboolean
numbers_equal (JsonNode *a,
               JsonNode *b)
{
  GType ta = json_node_get_value_type (a);
  GType tb = json_node_get_value_type (b);

  if (ta == G_TYPE_INT64 && tb == G_TYPE_INT64)
    return json_node_get_int (a) == json_node_get_int (b);
  return json_node_get_double (a) == json_node_get_double (b);
}

static gboolean
is_number (JsonNode *node)
{
  GType t = json_node_get_value_type (node);

  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

static gboolean
json_equal_at (JsonNode               *a,
               JsonNode               *b,
               ChartaTestNumbersEqual  numbers,
               GString                *path,
               char                  **where)
{
  JsonNodeType type = json_node_get_node_type (a);

  if (type != json_node_get_node_type (b))
    goto differ;

  switch (type)
    {
    case JSON_NODE_NULL:
      return TRUE;

    case JSON_NODE_VALUE:
      if (is_number (a) && is_number (b))
        {
          if (!numbers (a, b))
            goto differ;
          return TRUE;
        }
      if (json_node_get_value_type (a) != json_node_get_value_type (b))
        goto differ;
      if (json_node_get_value_type (a) == G_TYPE_BOOLEAN)
        {
          if (json_node_get_boolean (a) != json_node_get_boolean (b))
            goto differ;
          return TRUE;
        }
      if (g_strcmp0 (json_node_get_string (a), json_node_get_string (b)) != 0)
        goto differ;
      return TRUE;

    case JSON_NODE_ARRAY:
      {
        JsonArray *xa = json_node_get_array (a);
        JsonArray *xb = json_node_get_array (b);
        unsigned n = json_array_get_length (xa);

        if (n != json_array_get_length (xb))
          goto differ;
        for (unsigned i = 0; i < n; i++)
          {
            size_t len = path->len;
            g_string_append_printf (path, "[%u]", i);
            if (!json_equal_at (json_array_get_element (xa, i), json_array_get_element (xb, i),
                                numbers, path, where))
              return FALSE;
            g_string_truncate (path, len);
          }
        return TRUE;
      }

    case JSON_NODE_OBJECT:
      {
        JsonObject *oa = json_node_get_object (a);
        JsonObject *ob = json_node_get_object (b);
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        if (json_object_get_size (oa) != json_object_get_size (ob))
          goto differ;
        json_object_iter_init (&iter, oa);
        while (json_object_iter_next (&iter, &name, &member))
          {
            JsonNode *other = json_object_get_member (ob, name);
            size_t len = path->len;

            g_string_append_printf (path, ".%s", name);
            if (other == NULL)
              goto differ;
            if (!json_equal_at (member, other, numbers, path, where))
              return FALSE;
            g_string_truncate (path, len);
          }
        return TRUE;
      }
    }

differ:
  if (where != NULL)
    *where = g_strdup (path->len > 0 ? path->str : "$");
  return FALSE;
}

gboolean
charta_test_json_equal_full (JsonNode               *a,
                             JsonNode               *b,
                             ChartaTestNumbersEqual  numbers,
                             char                  **where)
{
  g_autoptr(GString) path = g_string_new ("");

  if (where != NULL)
    *where = NULL;
  return json_equal_at (a, b, numbers, path, where);
}

gboolean
charta_test_json_equal (JsonNode  *a,
                        JsonNode  *b,
                        char     **where)
{
  return charta_test_json_equal_full (a, b, numbers_equal, where);
}

/* ---- temporary folders ----------------------------------------------------------------------- */

char *
charta_test_make_tmp_dir (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *program = g_path_get_basename (g_get_prgname () != NULL ? g_get_prgname ()
                                                                          : "test");
  g_autofree char *template = g_strdup_printf ("charta-%s-XXXXXX", program);
  char *dir = g_dir_make_tmp (template, &error);

  g_assert_no_error (error);
  g_assert_nonnull (dir);
  return dir;
}

void
charta_test_remove_tree (const char *path)
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
            charta_test_remove_tree (child);
          else
            g_unlink (child);
        }
      g_dir_close (dir);
    }
  g_remove (path);
}

void
charta_test_dir_set_up (ChartaTestDir *f,
                        gconstpointer  data)
{
  f->dir = charta_test_make_tmp_dir ();
  f->store_path = g_build_filename (f->dir, "store.charta", NULL);
}

void
charta_test_dir_tear_down (ChartaTestDir *f,
                           gconstpointer  data)
{
  charta_test_remove_tree (f->dir);
  g_clear_pointer (&f->dir, g_free);
  g_clear_pointer (&f->store_path, g_free);
}

char *
charta_test_write_file (const char *dir,
                        const char *name,
                        const char *contents,
                        gssize      length)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  g_file_set_contents (path, contents, length, &error);
  g_assert_no_error (error);
  return path;
}

char *
charta_test_write_sparse_file (const char *dir,
                               const char *name,
                               const char *head,
                               gint64      size)
{
  char *path = charta_test_write_file (dir, name, head != NULL ? head : "", -1);

  g_assert_cmpint (truncate (path, (off_t) size), ==, 0);
  return path;
}

/* ---- running charta -------------------------------------------------------------------------- */

void
charta_test_run_clear (ChartaTestRun *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

const char *
charta_test_charta_bin (void)
{
  const char *bin = g_getenv ("CHARTA_BIN");

  if (bin == NULL)
    g_error ("CHARTA_BIN is not set (meson test sets it)");
  return bin;
}

void
charta_test_run_charta_argv (ChartaTestRun *r,
                             GPtrArray     *args)
{
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  g_ptr_array_insert (args, 0, (gpointer) charta_test_charta_bin ());
  g_ptr_array_add (args, NULL);
  proc = g_subprocess_newv ((const char *const *) args->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  r->status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  r->elapsed = g_get_monotonic_time () - start;
  /* `get` prints whole resources: their length only, so no body ends up in a log */
  if (g_strcmp0 (args->pdata[1], "get") == 0)
    g_test_message ("exit %d\nstdout: %zu bytes\nstderr:\n%.2000s", r->status, strlen (r->out),
                    r->err);
  else
    g_test_message ("exit %d\nstdout:\n%.2000s\nstderr:\n%.2000s", r->status, r->out, r->err);
}

void
charta_test_run_charta (ChartaTestRun *r,
                        ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  va_start (ap, r);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  charta_test_run_charta_argv (r, args);
}

long
charta_test_children_peak_rss (void)
{
  struct rusage usage;

  g_assert_cmpint (getrusage (RUSAGE_CHILDREN, &usage), ==, 0);
  return usage.ru_maxrss;
}

/* ---- text ------------------------------------------------------------------------------------ */

void
charta_test_assert_contains_at (const char *domain,
                                const char *file,
                                int         line,
                                const char *func,
                                const char *haystack,
                                const char *needle)
{
  if (strstr (haystack, needle) != NULL)
    return;
  g_test_message ("expected to find \"%s\"", needle);
  /* what g_assert_nonnull (strstr (haystack, needle)) says, where the test called us */
  g_assertion_message (domain, file, line, func, "'strstr (haystack, needle)' should not be NULL");
}

int
charta_test_compare_strings (gconstpointer a,
                             gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

unsigned
charta_test_count_lines (const char *text)
{
  unsigned n = 0;

  for (const char *p = text; *p != '\0'; p++)
    n += *p == '\n';
  return n;
}
