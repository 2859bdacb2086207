/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-test-util.c: helpers shared by the tests (see charta-test-util.h).
 */
#define G_LOG_DOMAIN "charta-test"

#include "charta-test-util.h"

const char *
charta_test_corpus_dir (void)
{
  static char *dir = NULL;
  const char *env = g_getenv ("CHARTA_CORPUS");

  if (dir == NULL)
    {
      if (env != NULL && *env != '\0')
        dir = g_strdup (env);
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
json_equal_at (JsonNode   *a,
               JsonNode   *b,
               GString    *path,
               char      **where)
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
          if (!numbers_equal (a, b))
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
                                path, where))
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
            if (!json_equal_at (member, other, path, where))
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
charta_test_json_equal (JsonNode  *a,
                        JsonNode  *b,
                        char     **where)
{
  g_autoptr(GString) path = g_string_new ("");

  if (where != NULL)
    *where = NULL;
  return json_equal_at (a, b, path, where);
}
