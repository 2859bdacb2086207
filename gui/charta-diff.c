/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-diff.c: the field-level difference between two versions (see charta-diff.h).
 *
 * A recursive walk over both trees with the path so far in one GString, which each level
 * extends and truncates back.  Arrays are aligned with the textbook dynamic programme for the
 * longest common subsequence (a table of suffix lengths, then one walk from the front), on
 * deep equality; arrays too large for the table (more than MAX_LCS_CELLS pairs) are compared
 * item by item instead, which is still correct, only less tidy.
 */
#define G_LOG_DOMAIN "charta-diff"

#include <string.h>

#include "charta-diff.h"

/* The most item pairs an alignment table may hold (32 MB of unsigned). */
#define MAX_LCS_CELLS (8u * 1024 * 1024)

void
charta_diff_entry_free (ChartaDiffEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->path);
  g_free (entry->old_value);
  g_free (entry->new_value);
  g_free (entry);
}

/* ---- values ------------------------------------------------------------------------------- */

static gboolean
is_number (JsonNode *node)
{
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

static double
number_value (JsonNode *node)
{
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return (double) json_node_get_int (node);
  return json_node_get_double (node);
}

/* Whether @node is a leaf: a value, null, or an empty container. */
static gboolean
is_leaf (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return json_object_get_size (json_node_get_object (node)) == 0;
  if (JSON_NODE_HOLDS_ARRAY (node))
    return json_array_get_length (json_node_get_array (node)) == 0;
  return TRUE;
}

char *
charta_diff_value_text (JsonNode *node)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_val_if_fail (node != NULL, NULL);

  if (JSON_NODE_HOLDS_NULL (node))
    return g_strdup ("null");
  if (JSON_NODE_HOLDS_OBJECT (node))
    return is_leaf (node) ? g_strdup ("{}") : NULL;
  if (JSON_NODE_HOLDS_ARRAY (node))
    return is_leaf (node) ? g_strdup ("[]") : NULL;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return g_strdup (json_node_get_string (node));
    case G_TYPE_BOOLEAN:
      return g_strdup (json_node_get_boolean (node) ? "true" : "false");
    case G_TYPE_INT64:
      return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
    case G_TYPE_DOUBLE:
      /* The shortest text that reads back as the same double. */
      g_ascii_formatd (buffer, sizeof buffer, "%.15g", json_node_get_double (node));
      if (g_ascii_strtod (buffer, NULL) != json_node_get_double (node))
        g_ascii_formatd (buffer, sizeof buffer, "%.17g", json_node_get_double (node));
      return g_strdup (buffer);
    default:
      return g_strdup ("?");
    }
}

/* Deep equality: objects as unordered maps, arrays in order, numbers by value. */
static gboolean
nodes_equal (JsonNode *a,
             JsonNode *b)
{
  if (JSON_NODE_TYPE (a) != JSON_NODE_TYPE (b))
    return FALSE;
  switch (JSON_NODE_TYPE (a))
    {
    case JSON_NODE_NULL:
      return TRUE;
    case JSON_NODE_VALUE:
      if (is_number (a) && is_number (b))
        return number_value (a) == number_value (b);
      if (json_node_get_value_type (a) != json_node_get_value_type (b))
        return FALSE;
      if (json_node_get_value_type (a) == G_TYPE_STRING)
        return g_strcmp0 (json_node_get_string (a), json_node_get_string (b)) == 0;
      if (json_node_get_value_type (a) == G_TYPE_BOOLEAN)
        return json_node_get_boolean (a) == json_node_get_boolean (b);
      return FALSE;
    case JSON_NODE_ARRAY:
      {
        JsonArray *x = json_node_get_array (a);
        JsonArray *y = json_node_get_array (b);

        if (json_array_get_length (x) != json_array_get_length (y))
          return FALSE;
        for (unsigned i = 0; i < json_array_get_length (x); i++)
          if (!nodes_equal (json_array_get_element (x, i), json_array_get_element (y, i)))
            return FALSE;
        return TRUE;
      }
    case JSON_NODE_OBJECT:
      {
        JsonObject *x = json_node_get_object (a);
        JsonObject *y = json_node_get_object (b);
        JsonObjectIter iter;
        const char *member;
        JsonNode *node;

        if (json_object_get_size (x) != json_object_get_size (y))
          return FALSE;
        json_object_iter_init_ordered (&iter, x);
        while (json_object_iter_next_ordered (&iter, &member, &node))
          {
            JsonNode *other = json_object_get_member (y, member);

            if (other == NULL || !nodes_equal (node, other))
              return FALSE;
          }
        return TRUE;
      }
    default:
      return FALSE;
    }
}

/* ---- the walk ----------------------------------------------------------------------------- */

typedef struct
{
  GPtrArray *entries;
  GString *path;
} Diff;

static void
add_entry (Diff           *diff,
           ChartaDiffKind  kind,
           JsonNode       *old_node,
           JsonNode       *new_node)
{
  ChartaDiffEntry *entry = g_new0 (ChartaDiffEntry, 1);

  entry->kind = kind;
  entry->path = g_strdup (diff->path->str);
  entry->old_value = old_node != NULL ? charta_diff_value_text (old_node) : NULL;
  entry->new_value = new_node != NULL ? charta_diff_value_text (new_node) : NULL;
  g_ptr_array_add (diff->entries, entry);
}

static void
push_member (Diff       *diff,
             const char *member)
{
  if (diff->path->len > 0)
    g_string_append_c (diff->path, '.');
  g_string_append (diff->path, member);
}

static void
push_index (Diff     *diff,
            unsigned  index)
{
  g_string_append_printf (diff->path, "[%u]", index);
}

/* Whether @member of the object at the path so far is one that every version has its own of:
 * meta.versionId and meta.lastUpdated of the root. */
static gboolean
is_ignored (Diff       *diff,
            const char *member)
{
  return strcmp (diff->path->str, "meta") == 0
         && (strcmp (member, "versionId") == 0 || strcmp (member, "lastUpdated") == 0);
}

/* Every leaf of @node, as added (@added) or removed. */
static void
all_leaves (Diff     *diff,
            JsonNode *node,
            gboolean  added)
{
  size_t length = diff->path->len;

  if (is_leaf (node))
    {
      add_entry (diff, added ? CHARTA_DIFF_ADDED : CHARTA_DIFF_REMOVED, added ? NULL : node,
                 added ? node : NULL);
      return;
    }
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      const char *member;
      JsonNode *child;

      json_object_iter_init_ordered (&iter, json_node_get_object (node));
      while (json_object_iter_next_ordered (&iter, &member, &child))
        {
          if (is_ignored (diff, member))
            continue;
          push_member (diff, member);
          all_leaves (diff, child, added);
          g_string_truncate (diff->path, length);
        }
      return;
    }
  for (unsigned i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
    {
      push_index (diff, i);
      all_leaves (diff, json_array_get_element (json_node_get_array (node), i), added);
      g_string_truncate (diff->path, length);
    }
}

static void compare (Diff     *diff,
                     JsonNode *old_node,
                     JsonNode *new_node);

static void
compare_objects (Diff       *diff,
                 JsonObject *old_object,
                 JsonObject *new_object)
{
  size_t length = diff->path->len;
  JsonObjectIter iter;
  const char *member;
  JsonNode *node;

  json_object_iter_init_ordered (&iter, old_object);
  while (json_object_iter_next_ordered (&iter, &member, &node))
    {
      JsonNode *other = json_object_get_member (new_object, member);

      if (is_ignored (diff, member))
        continue;
      push_member (diff, member);
      if (other == NULL)
        all_leaves (diff, node, FALSE);
      else
        compare (diff, node, other);
      g_string_truncate (diff->path, length);
    }

  json_object_iter_init_ordered (&iter, new_object);
  while (json_object_iter_next_ordered (&iter, &member, &node))
    {
      if (json_object_has_member (old_object, member) || is_ignored (diff, member))
        continue;
      push_member (diff, member);
      all_leaves (diff, node, TRUE);
      g_string_truncate (diff->path, length);
    }
}

/* The items old[oi..oe) and new[ni..ne) between two anchors: paired in order, the rest added
 * or removed. */
static void
compare_run (Diff      *diff,
             JsonArray *old_array,
             unsigned   oi,
             unsigned   oe,
             JsonArray *new_array,
             unsigned   ni,
             unsigned   ne)
{
  size_t length = diff->path->len;

  while (oi < oe || ni < ne)
    {
      if (oi < oe && ni < ne)
        {
          push_index (diff, ni);
          compare (diff, json_array_get_element (old_array, oi),
                   json_array_get_element (new_array, ni));
          oi++;
          ni++;
        }
      else if (oi < oe)
        {
          push_index (diff, oi);
          all_leaves (diff, json_array_get_element (old_array, oi), FALSE);
          oi++;
        }
      else
        {
          push_index (diff, ni);
          all_leaves (diff, json_array_get_element (new_array, ni), TRUE);
          ni++;
        }
      g_string_truncate (diff->path, length);
    }
}

static void
compare_arrays (Diff      *diff,
                JsonArray *old_array,
                JsonArray *new_array)
{
  unsigned n = json_array_get_length (old_array);
  unsigned m = json_array_get_length (new_array);
  g_autofree unsigned *table = NULL;
  unsigned oi = 0, ni = 0;          /* the walk */
  unsigned run_o = 0, run_n = 0;    /* where the run since the last anchor began */

  if ((size_t) (n + 1) * (m + 1) > MAX_LCS_CELLS)
    {
      compare_run (diff, old_array, 0, n, new_array, 0, m);
      return;
    }

  /* table[i * (m + 1) + j]: the length of the longest common subsequence of old[i..] and
   * new[j..]. */
  table = g_new0 (unsigned, (size_t) (n + 1) * (m + 1));
  for (unsigned i = n; i-- > 0;)
    for (unsigned j = m; j-- > 0;)
      {
        unsigned *cell = &table[(size_t) i * (m + 1) + j];

        if (nodes_equal (json_array_get_element (old_array, i),
                         json_array_get_element (new_array, j)))
          *cell = table[(size_t) (i + 1) * (m + 1) + j + 1] + 1;
        else
          *cell = MAX (table[(size_t) (i + 1) * (m + 1) + j],
                       table[(size_t) i * (m + 1) + j + 1]);
      }

  while (oi < n && ni < m)
    {
      unsigned here = table[(size_t) oi * (m + 1) + ni];

      if (nodes_equal (json_array_get_element (old_array, oi),
                       json_array_get_element (new_array, ni))
          && here == table[(size_t) (oi + 1) * (m + 1) + ni + 1] + 1)
        {
          /* An anchor: the run before it, then nothing for the anchor itself. */
          compare_run (diff, old_array, run_o, oi, new_array, run_n, ni);
          oi++;
          ni++;
          run_o = oi;
          run_n = ni;
        }
      else if (table[(size_t) (oi + 1) * (m + 1) + ni] >= table[(size_t) oi * (m + 1) + ni + 1])
        oi++;
      else
        ni++;
    }
  compare_run (diff, old_array, run_o, n, new_array, run_n, m);
}

static void
compare (Diff     *diff,
         JsonNode *old_node,
         JsonNode *new_node)
{
  if (JSON_NODE_HOLDS_OBJECT (old_node) && JSON_NODE_HOLDS_OBJECT (new_node)
      && !(is_leaf (old_node) && is_leaf (new_node)))
    {
      compare_objects (diff, json_node_get_object (old_node), json_node_get_object (new_node));
      return;
    }
  if (JSON_NODE_HOLDS_ARRAY (old_node) && JSON_NODE_HOLDS_ARRAY (new_node)
      && !(is_leaf (old_node) && is_leaf (new_node)))
    {
      compare_arrays (diff, json_node_get_array (old_node), json_node_get_array (new_node));
      return;
    }
  if (is_leaf (old_node) && is_leaf (new_node))
    {
      if (!nodes_equal (old_node, new_node))
        add_entry (diff, CHARTA_DIFF_CHANGED, old_node, new_node);
      return;
    }
  /* Different kinds: the old leaves go, the new ones come. */
  all_leaves (diff, old_node, FALSE);
  all_leaves (diff, new_node, TRUE);
}

GPtrArray *
charta_diff_compute (JsonNode *old_tree,
                     JsonNode *new_tree)
{
  Diff diff;
  g_autoptr(JsonNode) empty = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (empty, json_object_new ());
  diff.entries = g_ptr_array_new_with_free_func ((GDestroyNotify) charta_diff_entry_free);
  diff.path = g_string_new (NULL);
  /* A missing version compares as an empty object: all leaves of the other one. */
  compare (&diff, old_tree != NULL ? old_tree : empty, new_tree != NULL ? new_tree : empty);
  g_string_free (diff.path, TRUE);
  return diff.entries;
}
