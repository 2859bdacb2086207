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

/* ---- FHIR XML ------------------------------------------------------------------------------- */

/* The converter is driven by the R4 model: element names, cardinality (arrays), primitive
 * types (JSON numbers and booleans), primitive ids and extensions ("_name", parallel arrays for
 * repeating primitives, value arrays of nulls left out) and the XHTML narrative (written back
 * as text: '&' and '<' escaped, and '"' in attributes).  It fails the test on any element or
 * attribute the model does not know. */

void
charta_test_xml_free (ChartaTestXml *n)
{
  if (n == NULL)
    return;
  g_free (n->name);
  g_strfreev (n->attr_names);
  g_strfreev (n->attr_values);
  g_free (n->text);
  if (n->children != NULL)
    g_ptr_array_unref (n->children);
  g_free (n);
}

const char *
charta_test_xml_attr (const ChartaTestXml *n,
                      const char          *name)
{
  for (unsigned i = 0; n->attr_names[i] != NULL; i++)
    if (strcmp (n->attr_names[i], name) == 0)
      return n->attr_values[i];
  return NULL;
}

ChartaTestXml *
charta_test_xml_child (const ChartaTestXml *n,
                       const char          *name)
{
  for (unsigned i = 0; i < n->children->len; i++)
    {
      ChartaTestXml *c = g_ptr_array_index (n->children, i);

      if (c->name != NULL && strcmp (c->name, name) == 0)
        return c;
    }
  return NULL;
}

ChartaTestXml *
charta_test_xml_first_element (const ChartaTestXml *n)
{
  for (unsigned i = 0; i < n->children->len; i++)
    {
      ChartaTestXml *c = g_ptr_array_index (n->children, i);

      if (c->name != NULL)
        return c;
    }
  g_error ("FHIR XML: <%s> has no child element", n->name);
}

ChartaTestXml *
charta_test_xml_need_child (const ChartaTestXml *n,
                            const char          *name)
{
  ChartaTestXml *c = charta_test_xml_child (n, name);

  if (c == NULL)
    g_error ("FHIR XML: <%s> has no <%s>", n->name != NULL ? n->name : "document", name);
  return c;
}

static void
xml_start (GMarkupParseContext *context,
           const char          *element,
           const char         **names,
           const char         **values,
           gpointer             user_data,
           GError             **error)
{
  GPtrArray *stack = user_data;
  ChartaTestXml *parent = g_ptr_array_index (stack, stack->len - 1);
  ChartaTestXml *n = g_new0 (ChartaTestXml, 1);

  n->name = g_strdup (element);
  n->attr_names = g_strdupv ((char **) names);
  n->attr_values = g_strdupv ((char **) values);
  n->children = g_ptr_array_new_with_free_func ((GDestroyNotify) charta_test_xml_free);
  g_ptr_array_add (parent->children, n);
  g_ptr_array_add (stack, n);
}

static void
xml_end (GMarkupParseContext *context,
         const char          *element,
         gpointer             user_data,
         GError             **error)
{
  GPtrArray *stack = user_data;

  g_ptr_array_set_size (stack, stack->len - 1);
}

static void
xml_text (GMarkupParseContext *context,
          const char          *text,
          gsize                len,
          gpointer             user_data,
          GError             **error)
{
  GPtrArray *stack = user_data;
  ChartaTestXml *parent = g_ptr_array_index (stack, stack->len - 1);
  ChartaTestXml *n = g_new0 (ChartaTestXml, 1);

  n->text = g_strndup (text, len);
  g_ptr_array_add (parent->children, n);
}

ChartaTestXml *
charta_test_xml_parse (const char *xml)
{
  GMarkupParser parser = { xml_start, xml_end, xml_text, NULL, NULL };
  g_autoptr(GPtrArray) stack = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  ChartaTestXml *doc = g_new0 (ChartaTestXml, 1);
  GMarkupParseContext *context;

  doc->children = g_ptr_array_new_with_free_func ((GDestroyNotify) charta_test_xml_free);
  g_ptr_array_add (stack, doc);
  context = g_markup_parse_context_new (&parser, 0, stack, NULL);
  g_assert_true (g_markup_parse_context_parse (context, xml, -1, &error));
  g_assert_no_error (error);
  g_assert_true (g_markup_parse_context_end_parse (context, &error));
  g_assert_no_error (error);
  g_markup_parse_context_free (context);
  g_assert_cmpuint (stack->len, ==, 1);
  return doc;
}

/* @text escaped as little as XML allows, as FHIR narratives are written: '&' and '<', and '"'
 * in an attribute ('>' and quotes in text stay as they are). */
static void
xml_escape (GString    *out,
            const char *text,
            gboolean    attribute)
{
  for (const char *p = text; *p != '\0'; p++)
    if (*p == '&')
      g_string_append (out, "&amp;");
    else if (*p == '<')
      g_string_append (out, "&lt;");
    else if (*p == '"' && attribute)
      g_string_append (out, "&quot;");
    else
      g_string_append_c (out, *p);
}

/* XHTML (Narrative.div) back to its text, as FHIR JSON holds it. */
static void
xml_serialize (const ChartaTestXml *n,
               GString     *out)
{
  if (n->name == NULL)
    {
      xml_escape (out, n->text, FALSE);
      return;
    }
  g_string_append_printf (out, "<%s", n->name);
  for (unsigned i = 0; n->attr_names[i] != NULL; i++)
    {
      g_string_append_printf (out, " %s=\"", n->attr_names[i]);
      xml_escape (out, n->attr_values[i], TRUE);
      g_string_append_c (out, '"');
    }
  g_string_append_c (out, '>');
  for (unsigned i = 0; i < n->children->len; i++)
    xml_serialize (g_ptr_array_index (n->children, i), out);
  g_string_append_printf (out, "</%s>", n->name);
}

static gboolean
is_blank (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isspace (*p))
      return FALSE;
  return TRUE;
}

static JsonObject *xml_to_json_object (const ChartaTestXml *el,
                                       int                  type);

/* The JSON value of a FHIR XML primitive's value attribute (NULL when it has none). */
static JsonNode *
xml_primitive_value (const ChartaTestXml *el,
                     int                  type)
{
  const char *tname = charta_model_get_type (type)->name;
  const char *value = charta_test_xml_attr (el, "value");
  JsonNode *node;

  if (strcmp (tname, "xhtml") == 0)
    {
      g_autoptr(GString) text = g_string_new (NULL);

      xml_serialize (el, text);
      return json_node_init_string (json_node_alloc (), text->str);
    }
  if (value == NULL)
    return NULL;
  node = json_node_alloc ();
  if (strcmp (tname, "boolean") == 0)
    {
      g_assert_true (strcmp (value, "true") == 0 || strcmp (value, "false") == 0);
      return json_node_init_boolean (node, strcmp (value, "true") == 0);
    }
  if (strcmp (tname, "integer") == 0 || strcmp (tname, "positiveInt") == 0 ||
      strcmp (tname, "unsignedInt") == 0)
    return json_node_init_int (node, g_ascii_strtoll (value, NULL, 10));
  if (strcmp (tname, "decimal") == 0)
    return json_node_init_double (node, g_ascii_strtod (value, NULL));
  return json_node_init_string (node, value);
}

/* A FHIR XML primitive's "_name" object (id attribute, extension children), or NULL. */
static JsonNode *
xml_primitive_extension (const ChartaTestXml *el)
{
  const char *id = charta_test_xml_attr (el, "id");
  JsonObject *obj;
  gboolean has_ext = charta_test_xml_child (el, "extension") != NULL;

  if (id == NULL && !has_ext)
    return NULL;
  /* An Element's members (id, extension) are what the _name object holds. */
  obj = xml_to_json_object (el, charta_model_find_type ("Element"));
  return json_node_init_object (json_node_alloc (), obj);
}

static void
json_add_to_array (JsonObject *obj,
                   const char *name,
                   JsonNode   *value)
{
  JsonArray *arr = json_object_has_member (obj, name) ?
                   json_object_get_array_member (obj, name) : NULL;

  if (arr == NULL)
    {
      arr = json_array_new ();
      json_object_set_array_member (obj, name, arr);
    }
  json_array_add_element (arr, value != NULL ? value : json_node_new (JSON_NODE_NULL));
}

/* FHIR XML element @el of model type @type (complex, backbone or resource) as a JSON object:
 * elements by the model's names, cardinality (arrays) and primitive types.  Fails the test on
 * anything the model does not know. */
static JsonObject *
xml_to_json_object (const ChartaTestXml *el,
                    int                  type)
{
  JsonObject *obj = json_object_new ();
  const ChartaTypeDef *td = charta_model_get_type (type);
  g_autoptr(GPtrArray) ext_arrays = g_ptr_array_new ();

  g_assert_nonnull (td);
  if (td->kind == CHARTA_TYPE_KIND_RESOURCE)
    json_object_set_string_member (obj, "resourceType", el->name);
  for (unsigned i = 0; el->attr_names[i] != NULL; i++)
    {
      const char *a = el->attr_names[i];

      if (strcmp (a, "xmlns") == 0 || g_str_has_prefix (a, "xmlns:"))
        continue;
      if (strcmp (a, "value") == 0 && td->kind == CHARTA_TYPE_KIND_COMPLEX &&
          strcmp (td->name, "Element") == 0)
        continue; /* a primitive's value, read by the caller */
      if (strcmp (a, "id") != 0 && strcmp (a, "url") != 0)
        g_test_fail_printf ("FHIR XML: attribute %s on %s is not FHIR XML", a, el->name);
      json_object_set_string_member (obj, a, el->attr_values[i]);
    }
  for (unsigned i = 0; i < el->children->len; i++)
    {
      const ChartaTestXml *c = g_ptr_array_index (el->children, i);
      const ChartaElementDef *def;
      int choice = -1, t;
      gboolean repeats;
      const ChartaTypeDef *ctd;

      if (c->name == NULL)
        {
          g_assert_true (is_blank (c->text));
          continue;
        }
      def = charta_model_find_element (type, c->name, &choice);
      if (def == NULL)
        {
          g_test_fail_printf ("FHIR XML: %s has no element %s", td->name, c->name);
          continue;
        }
      t = choice >= 0 ? choice : charta_model_element_types[def->first_type].type;
      ctd = charta_model_get_type (t);
      repeats = def->max != 1;
      if (ctd->kind == CHARTA_TYPE_KIND_PRIMITIVE)
        {
          JsonNode *value = xml_primitive_value (c, t);
          JsonNode *ext = xml_primitive_extension (c);
          g_autofree char *ext_name = g_strconcat ("_", c->name, NULL);

          g_assert_true (value != NULL || ext != NULL);
          if (repeats)
            {
              json_add_to_array (obj, c->name, value);
              json_add_to_array (obj, ext_name, ext);
              if (!g_ptr_array_find_with_equal_func (ext_arrays, c->name, g_str_equal, NULL))
                g_ptr_array_add (ext_arrays, (char *) c->name);
            }
          else
            {
              if (value != NULL)
                json_object_set_member (obj, c->name, value);
              if (ext != NULL)
                json_object_set_member (obj, ext_name, ext);
            }
        }
      else
        {
          JsonNode *child;

          if (ctd->kind == CHARTA_TYPE_KIND_RESOURCE)
            {
              /* <contained><Patient>…</Patient></contained> */
              const ChartaTestXml *r = charta_test_xml_first_element (c);
              int rt = charta_model_find_type (r->name);

              g_assert_cmpint (rt, >=, 0);
              child = json_node_init_object (json_node_alloc (), xml_to_json_object (r, rt));
            }
          else
            child = json_node_init_object (json_node_alloc (), xml_to_json_object (c, t));
          if (repeats)
            json_add_to_array (obj, c->name, child);
          else
            json_object_set_member (obj, c->name, child);
        }
    }
  /* Parallel "_name" arrays that hold only nulls are left out; so are value arrays that do. */
  for (unsigned i = 0; i < ext_arrays->len; i++)
    {
      const char *name = g_ptr_array_index (ext_arrays, i);
      g_autofree char *ext_name = g_strconcat ("_", name, NULL);
      JsonArray *exts = json_object_get_array_member (obj, ext_name);
      JsonArray *values = json_object_get_array_member (obj, name);
      gboolean any_ext = FALSE, any_value = FALSE;

      for (unsigned k = 0; k < json_array_get_length (exts); k++)
        any_ext |= !JSON_NODE_HOLDS_NULL (json_array_get_element (exts, k));
      for (unsigned k = 0; k < json_array_get_length (values); k++)
        any_value |= !JSON_NODE_HOLDS_NULL (json_array_get_element (values, k));
      if (!any_ext)
        json_object_remove_member (obj, ext_name);
      if (!any_value)
        json_object_remove_member (obj, name);
    }
  return obj;
}

ChartaResource *
charta_test_xml_to_resource (const ChartaTestXml *el)
{
  int type = charta_model_find_type (el->name);
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *json = NULL;

  g_assert_cmpint (type, >=, 0);
  node = json_node_init_object (json_node_alloc (), xml_to_json_object (el, type));
  json = json_to_string (node, FALSE);
  return charta_test_parse (json);
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

/* ---- what a store fills in --------------------------------------------------------------- */

static unsigned
strip_filled_in (JsonNode   *sent,
                 JsonNode   *got,
                 const char *path,
                 GString    *problems)
{
  unsigned n = 0;

  if (JSON_NODE_HOLDS_OBJECT (sent) && JSON_NODE_HOLDS_OBJECT (got))
    {
      JsonObject *s = json_node_get_object (sent);
      JsonObject *g = json_node_get_object (got);
      JsonNode *data_node = json_object_get_member (s, "data");
      const char *data = data_node != NULL && JSON_NODE_HOLDS_VALUE (data_node)
                         && json_node_get_value_type (data_node) == G_TYPE_STRING
                         ? json_node_get_string (data_node) : NULL;
      g_autoptr(GList) members = json_object_get_members (s);
      static const char *const filled[] = { "size", "hash" };

      for (GList *l = members; l != NULL; l = l->next)
        if (json_object_has_member (g, l->data))
          {
            g_autofree char *at = g_strdup_printf ("%s.%s", path, (const char *) l->data);

            n += strip_filled_in (json_object_get_member (s, l->data),
                                  json_object_get_member (g, l->data), at, problems);
          }
      for (size_t i = 0; i < G_N_ELEMENTS (filled); i++)
        {
          const char *name = filled[i];

          if (json_object_has_member (s, name) || !json_object_has_member (g, name)
              || (data == NULL && !json_object_has_member (s, "url")))
            continue;
          if (data != NULL)
            {
              gsize length = 0;
              g_autofree guchar *bytes = g_base64_decode (data, &length);
              g_autoptr(GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
              guint8 digest[20];
              gsize digest_length = sizeof digest;
              g_autofree char *hash = NULL;
              JsonNode *value = json_object_get_member (g, name);

              g_checksum_update (sha1, bytes, length);
              g_checksum_get_digest (sha1, digest, &digest_length);
              hash = g_base64_encode (digest, digest_length);
              if (strcmp (name, "size") == 0
                  && (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_INT64
                      || json_node_get_int (value) != (gint64) length))
                g_string_append_printf (problems, "%s.size is not the data's %zu bytes; ", path,
                                        (size_t) length);
              if (strcmp (name, "hash") == 0
                  && (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING
                      || strcmp (json_node_get_string (value), hash) != 0))
                g_string_append_printf (problems, "%s.hash is not the data's SHA-1 %s; ", path,
                                        hash);
            }
          json_object_remove_member (g, name);
          n++;
        }
    }
  else if (JSON_NODE_HOLDS_ARRAY (sent) && JSON_NODE_HOLDS_ARRAY (got))
    {
      JsonArray *s = json_node_get_array (sent);
      JsonArray *g = json_node_get_array (got);

      for (unsigned i = 0; i < MIN (json_array_get_length (s), json_array_get_length (g)); i++)
        {
          g_autofree char *at = g_strdup_printf ("%s[%u]", path, i);

          n += strip_filled_in (json_array_get_element (s, i), json_array_get_element (g, i), at,
                                problems);
        }
    }
  return n;
}

unsigned
charta_test_strip_filled_in (JsonNode *sent,
                             JsonNode *got,
                             GString  *problems)
{
  return strip_filled_in (sent, got, "$", problems);
}
