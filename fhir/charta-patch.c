/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-patch.c: JSON Patch (RFC 6902) and FHIRPath Patch (FHIR R4 fhirpatch.html).
 *
 * Both work on a private copy of the resource's JSON tree (json-glib nodes that are not
 * sealed), never on the resource, which is immutable and may be shared between threads.  The
 * copy keeps, in a table beside it, the text of every number it takes over from the resource
 * or from the patch, so that "1.50" stays "1.50": the finished tree is written as JSON text
 * with those texts and parsed back with charta_resource_new_from_data(), which makes the result
 * a normal sealed resource and checks it against the default limits like any body.  The table
 * holds a reference on each of its nodes, so a node removed by one operation can never be
 * mistaken for a new one made at the same address; its texts are borrowed from the resource
 * and the patch, which outlive the work.
 *
 * JSON Patch applies every operation to one copy, in order: the first that fails stops the
 * patch and the copy is dropped.  FHIRPath Patch evaluates each operation's path on the result
 * of the operations before it, so each operation copies the current resource, changes the copy
 * and parses it back into the next current resource.  The FHIRPath engine gives the location of
 * every item it selects (parent object, member, index) in the sealed tree it walked; the copy
 * records, for each object of that tree, its own copy, and for each copied object where it is
 * (its parent, member and index) and its R4 model type, worked out as it is copied.  That is
 * what an operation needs to find the element definition (cardinality, types, a choice's JSON
 * name) and to remove objects that a delete leaves empty, up to the root.
 *
 * Limits: the working tree is kept within the default depth (a value is not added where it
 * would nest deeper), so copying, comparing and writing it, which recurse once per level, stay
 * bounded; and what operations copy into it is counted against the default size limit, so a
 * JSON Patch that copies the document into itself again and again fails instead of doubling
 * it until memory runs out.
 */
#define G_LOG_DOMAIN "charta-patch"

#include <stdarg.h>
#include <string.h>

#include "charta-fhir-error.h"
#include "charta-fhirpath.h"
#include "charta-json-private.h"
#include "charta-model.h"
#include "charta-patch.h"

/* --- the working tree ------------------------------------------------------------------------ */

/* Where a copied object is, for FHIRPath Patch. */
typedef struct
{
  JsonNode *parent;  /* the copied object node holding it; NULL for the root */
  char     *member;  /* its member name in @parent */
  int       index;   /* its position in that member's array, -1 when the member is no array */
  int       type;    /* its R4 model type, -1 when the model does not know it */
} Place;

static void
place_free (gpointer data)
{
  Place *place = data;

  g_free (place->member);
  g_free (place);
}

typedef struct
{
  JsonNode   *root;           /* the working tree (owned) */
  GHashTable *texts;          /* JsonNode * of the tree (referenced) → const char *: its text */
  size_t      added;          /* bytes (estimated as JSON text) copied in by operations */
  GHashTable *copies;         /* FHIRPath Patch: object node of the source tree → its copy */
  GHashTable *places;         /* FHIRPath Patch: copied object node (referenced) → Place */
  gboolean    keep_identity;  /* a resource: resourceType and id must not change */
  const char *resource_type;  /* the resource's, when @keep_identity */
  const char *id;             /* the resource's id, NULL when it has none */
} Work;

static void
work_init (Work     *w,
           gboolean  locate)
{
  memset (w, 0, sizeof *w);
  w->texts = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) json_node_unref, NULL);
  if (locate)
    {
      w->copies = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) json_node_unref);
      w->places = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) json_node_unref,
                                         place_free);
    }
}

static void
work_clear (Work *w)
{
  g_clear_pointer (&w->places, g_hash_table_unref);
  g_clear_pointer (&w->copies, g_hash_table_unref);
  g_clear_pointer (&w->texts, g_hash_table_unref);
  g_clear_pointer (&w->root, json_node_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Work, work_clear)

/* Where the numbers of a tree being copied in have their texts. */
typedef struct
{
  ChartaResource *resource;  /* the numbers of this resource's tree, or */
  GHashTable     *numbers;   /* JsonNode * → const char *; or neither (no texts) */
} Source;

static const char *
source_number_text (const Source *source,
                    JsonNode     *node)
{
  if (source == NULL)
    return NULL;
  if (source->numbers != NULL)
    return g_hash_table_lookup (source->numbers, node);
  /* A plain integer's text is its value printed: only decimals need theirs. */
  if (source->resource != NULL && json_node_get_value_type (node) == G_TYPE_DOUBLE)
    return charta_resource_get_number_text (source->resource, node);
  return NULL;
}

static int
element_type_index (void)
{
  static gsize index = 0;  /* the type index + 1 */

  if (g_once_init_enter (&index))
    g_once_init_leave (&index, (gsize) charta_model_find_type ("Element") + 1);
  return (int) index - 1;
}

static int
parameter_type_index (void)
{
  static gsize index = 0;  /* the type index + 1 */

  if (g_once_init_enter (&index))
    g_once_init_leave (&index, (gsize) charta_model_find_type ("Parameters.parameter") + 1);
  return (int) index - 1;
}

static gboolean
is_resource_kind (int type)
{
  return type >= 0 && charta_model_get_type (type)->kind == CHARTA_TYPE_KIND_RESOURCE;
}

/* The model type of the value of member @name in an object of model type @type, -1 when the
 * model has none.  "_name" holds an Element: a primitive's id and extensions. */
static int
member_type (int         type,
             const char *name)
{
  const ChartaElementDef *def;
  int choice = -1;

  if (type < 0)
    return -1;
  if (name[0] == '_')
    return element_type_index ();
  def = charta_model_find_element (type, name, &choice);
  if (def == NULL)
    return -1;
  return choice >= 0 ? choice : charta_model_element_types[def->first_type].type;
}

static JsonNode *
new_object_node (JsonObject **object)
{
  JsonObject *o = json_object_new ();
  JsonNode *node = json_node_init_object (json_node_alloc (), o);

  json_object_unref (o);
  if (object != NULL)
    *object = o;
  return node;
}

static JsonNode *
new_array_node (JsonArray **array)
{
  JsonArray *a = json_array_new ();
  JsonNode *node = json_node_init_array (json_node_alloc (), a);

  json_array_unref (a);
  if (array != NULL)
    *array = a;
  return node;
}

/* A new, unsealed copy of @node whose numbers keep their texts from @source.  With @locate,
 * every object copied is recorded in @w->copies and @w->places, at member @member (index
 * @index) of @parent, of model type @type.  The caller has bounded @node's depth. */
static JsonNode *
copy_node (Work         *w,
           const Source *source,
           JsonNode     *node,
           gboolean      locate,
           JsonNode     *parent,
           const char   *member,
           int           index,
           int           type)
{
  JsonNode *copy;

  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        JsonObject *out;
        JsonObjectIter iter;
        const char *name;
        JsonNode *child;

        copy = new_object_node (&out);
        if (locate)
          {
            Place *place = g_new0 (Place, 1);

            /* Contained and Bundle entry resources: the element says "Resource", the object
             * says which. */
            if (is_resource_kind (type))
              {
                JsonNode *rt = json_object_get_member (object, "resourceType");

                if (rt != NULL && JSON_NODE_HOLDS_VALUE (rt)
                    && json_node_get_value_type (rt) == G_TYPE_STRING)
                  {
                    int t = charta_model_find_type (json_node_get_string (rt));

                    type = is_resource_kind (t) ? t : -1;
                  }
              }
            place->parent = parent;
            place->member = g_strdup (member);
            place->index = index;
            place->type = type;
            g_hash_table_insert (w->places, json_node_ref (copy), place);
            g_hash_table_insert (w->copies, node, json_node_ref (copy));
          }
        w->added += 2;
        json_object_iter_init_ordered (&iter, object);
        while (json_object_iter_next_ordered (&iter, &name, &child))
          {
            w->added += strlen (name) + 4;
            json_object_set_member (out, name,
                                    copy_node (w, source, child, locate, copy, name, -1,
                                               locate ? member_type (type, name) : -1));
          }
      }
      break;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        unsigned n = json_array_get_length (array);
        JsonArray *out;

        copy = new_array_node (&out);
        w->added += 2;
        /* The items of an array are at the array's place, each at its index. */
        for (unsigned i = 0; i < n; i++)
          json_array_add_element (out, copy_node (w, source, json_array_get_element (array, i),
                                                  locate, parent, member, (int) i, type));
      }
      break;

    case JSON_NODE_NULL:
      copy = json_node_new (JSON_NODE_NULL);
      w->added += 4;
      break;

    case JSON_NODE_VALUE:
    default:
      {
        GType value_type = json_node_get_value_type (node);
        const char *text;

        copy = json_node_alloc ();
        if (value_type == G_TYPE_STRING)
          {
            json_node_init_string (copy, json_node_get_string (node));
            w->added += strlen (json_node_get_string (node)) + 2;
            break;
          }
        if (value_type == G_TYPE_BOOLEAN)
          json_node_init_boolean (copy, json_node_get_boolean (node));
        else if (value_type == G_TYPE_INT64)
          json_node_init_int (copy, json_node_get_int (node));
        else
          json_node_init_double (copy, json_node_get_double (node));
        w->added += 8;
        text = value_type != G_TYPE_BOOLEAN ? source_number_text (source, node) : NULL;
        if (text != NULL)
          g_hash_table_insert (w->texts, json_node_ref (copy), (gpointer) text);
      }
      break;
    }
  return copy;
}

/* The nesting depth of @node (0 for a scalar, 1 for an object or array of scalars, …), or
 * @limit + 1 when that is deeper than @limit (then not walked further). */
static unsigned
node_depth (JsonNode *node,
            unsigned  limit)
{
  unsigned deepest = 0;

  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      JsonNode *child;

      if (limit == 0)
        return 1;
      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, NULL, &child))
        {
          unsigned d = node_depth (child, limit - 1);

          if (d > limit - 1)
            return limit + 1;
          deepest = MAX (deepest, d);
        }
      return deepest + 1;
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      if (limit == 0)
        return 1;
      for (unsigned i = 0; i < json_array_get_length (array); i++)
        {
          unsigned d = node_depth (json_array_get_element (array, i), limit - 1);

          if (d > limit - 1)
            return limit + 1;
          deepest = MAX (deepest, d);
        }
      return deepest + 1;
    }
  return 0;
}

/* --- writing --------------------------------------------------------------------------------- */

static void
write_node (GString    *out,
            GHashTable *texts,
            JsonNode   *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *child;
        gboolean first = TRUE;

        g_string_append_c (out, '{');
        json_object_iter_init_ordered (&iter, json_node_get_object (node));
        while (json_object_iter_next_ordered (&iter, &name, &child))
          {
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            charta_json_append_string (out, name);
            g_string_append_c (out, ':');
            write_node (out, texts, child);
          }
        g_string_append_c (out, '}');
      }
      break;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        g_string_append_c (out, '[');
        for (unsigned i = 0; i < json_array_get_length (array); i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            write_node (out, texts, json_array_get_element (array, i));
          }
        g_string_append_c (out, ']');
      }
      break;

    case JSON_NODE_NULL:
      charta_string_append (out, "null");
      break;

    case JSON_NODE_VALUE:
    default:
      {
        GType type = json_node_get_value_type (node);
        const char *text;
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        if (type == G_TYPE_STRING)
          charta_json_append_string (out, json_node_get_string (node));
        else if (type == G_TYPE_BOOLEAN)
          charta_string_append (out, json_node_get_boolean (node) ? "true" : "false");
        else if (texts != NULL && (text = g_hash_table_lookup (texts, node)) != NULL)
          charta_string_append (out, text);
        else if (type == G_TYPE_INT64)
          g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
        else
          /* No recorded text: the shortest text that reads back the same. */
          charta_string_append (out, g_ascii_dtostr (buf, sizeof buf, json_node_get_double (node)));
      }
      break;
    }
}

/* @text cut after @max characters (with "…"), newly allocated. */
static char *
shorten (const char *text,
         unsigned    max)
{
  if (g_utf8_strlen (text, (gssize) max * 4 + 4) <= max)
    return g_strdup (text);
  {
    g_autofree char *head = g_utf8_substring (text, 0, max);

    return g_strconcat (head, "…", NULL);
  }
}

/* @node as JSON for a message, cut after 64 characters. */
static char *
describe_value (Work     *w,
                JsonNode *node)
{
  g_autoptr(GString) out = g_string_new (NULL);

  write_node (out, w != NULL ? w->texts : NULL, node);
  return shorten (out->str, 64);
}

/* @str as a JSON string for a message, cut after 64 characters. */
static char *
quote (const char *str)
{
  g_autofree char *head = shorten (str, 64);
  g_autoptr(GString) out = g_string_new (NULL);

  charta_json_append_string (out, head);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static const char *
describe_node_type (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      return "an object";
    case JSON_NODE_ARRAY:
      return "an array";
    case JSON_NODE_NULL:
      return "null";
    case JSON_NODE_VALUE:
    default:
      {
        GType type = json_node_get_value_type (node);

        if (type == G_TYPE_STRING)
          return "a string";
        if (type == G_TYPE_BOOLEAN)
          return "a boolean";
        return "a number";
      }
    }
}

/* The resource this tree's text parses into, with the default limits. */
static ChartaResource *
work_finish (Work    *w,
             GError **error)
{
  g_autoptr(GString) out = g_string_sized_new (4096);

  write_node (out, w->texts, w->root);
  return charta_resource_new_from_data (out->str, out->len, NULL, error);
}

/* --- operations and their errors ------------------------------------------------------------- */

/* The operation being applied, for messages. */
typedef struct
{
  Work       *w;
  unsigned    index;  /* its position in the patch */
  const char *name;   /* "add", …; NULL while not known */
} Op;

/* "operation 3 (replace): path /name/5: " (@label and @where may be NULL). */
static char *
op_prefix (const Op   *op,
           const char *label,
           const char *where)
{
  g_autoptr(GString) s = g_string_new (NULL);

  g_string_append_printf (s, "operation %u", op->index);
  if (op->name != NULL)
    g_string_append_printf (s, " (%s)", op->name);
  if (label != NULL)
    {
      g_autofree char *shown = shorten (where, 200);

      g_string_append_printf (s, ": %s %s", label, shown);
    }
  g_string_append (s, ": ");
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void op_error (const Op        *op,
                      const char      *label,
                      const char      *where,
                      GError         **error,
                      ChartaFhirError  code,
                      const char      *format,
                      ...) G_GNUC_PRINTF (6, 7);

static void
op_error (const Op        *op,
          const char      *label,
          const char      *where,
          GError         **error,
          ChartaFhirError  code,
          const char      *format,
          ...)
{
  g_autofree char *prefix = op_prefix (op, label, where);
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, CHARTA_FHIR_ERROR, code, "%s%s", prefix, message);
}

static const char *
string_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* Checks, after an operation, that the tree still has the resource's resourceType and id. */
static gboolean
check_identity (const Op    *op,
                const char  *label,
                const char  *where,
                GError     **error)
{
  Work *w = op->w;
  JsonObject *root;
  JsonNode *id;
  const char *type;

  if (!w->keep_identity)
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (w->root))
    {
      op_error (op, label, where, error, CHARTA_FHIR_ERROR_INVALID,
                "the resource would become %s: a patch may not change the resourceType",
                describe_node_type (w->root));
      return FALSE;
    }
  root = json_node_get_object (w->root);
  type = string_member (root, "resourceType");
  if (g_strcmp0 (type, w->resource_type) != 0)
    {
      g_autofree char *now = type != NULL ? quote (type) : NULL;

      op_error (op, label, where, error, CHARTA_FHIR_ERROR_INVALID,
                "a patch may not change the resourceType (%s would %s%s)", w->resource_type,
                now != NULL ? "become " : "be removed", now != NULL ? now : "");
      return FALSE;
    }
  id = json_object_get_member (root, "id");
  if (id == NULL && w->id == NULL)
    return TRUE;
  if (id != NULL && w->id != NULL && JSON_NODE_HOLDS_VALUE (id)
      && json_node_get_value_type (id) == G_TYPE_STRING
      && strcmp (json_node_get_string (id), w->id) == 0)
    return TRUE;
  {
    g_autofree char *was = w->id != NULL ? quote (w->id) : NULL;
    g_autofree char *now = id != NULL ? describe_value (w, id) : NULL;

    if (was == NULL)
      op_error (op, label, where, error, CHARTA_FHIR_ERROR_INVALID,
                "a patch may not change the id (the resource has none; it would become %s)",
                now);
    else if (now == NULL)
      op_error (op, label, where, error, CHARTA_FHIR_ERROR_INVALID,
                "a patch may not change the id (%s would be removed)", was);
    else
      op_error (op, label, where, error, CHARTA_FHIR_ERROR_INVALID,
                "a patch may not change the id (%s would become %s)", was, now);
  }
  return FALSE;
}

/* Checks that @value may go @container_depth levels down and that the patch has not copied
 * more than the size limit into the document. */
static gboolean
check_value_size (const Op    *op,
                  const char  *label,
                  const char  *where,
                  JsonNode    *value,
                  unsigned     container_depth,
                  GError     **error)
{
  unsigned limit = CHARTA_DEFAULT_MAX_DEPTH;

  if (container_depth > limit
      || node_depth (value, limit - container_depth) > limit - container_depth)
    {
      op_error (op, label, where, error, CHARTA_FHIR_ERROR_TOO_DEEP,
                "the value would nest deeper than %u levels", limit);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_added (const Op    *op,
             const char  *label,
             const char  *where,
             GError     **error)
{
  if (op->w->added <= CHARTA_DEFAULT_MAX_BYTES)
    return TRUE;
  op_error (op, label, where, error, CHARTA_FHIR_ERROR_TOO_LARGE,
            "the patch copies more than %u bytes into the document", CHARTA_DEFAULT_MAX_BYTES);
  return FALSE;
}

/* --- arrays ---------------------------------------------------------------------------------- */

/* json-glib 1.6 has no insertion into an array: the tail is taken off and put back. */
static void
array_insert (JsonArray *array,
              unsigned   index,
              JsonNode  *node)
{
  unsigned n = json_array_get_length (array);
  g_autoptr(GPtrArray) tail = g_ptr_array_new ();

  g_assert (index <= n);
  for (unsigned i = index; i < n; i++)
    g_ptr_array_add (tail, json_node_ref (json_array_get_element (array, i)));
  for (unsigned i = n; i > index; i--)
    json_array_remove_element (array, i - 1);
  json_array_add_element (array, node);
  for (unsigned i = 0; i < tail->len; i++)
    json_array_add_element (array, g_ptr_array_index (tail, i));
}

/* Takes element @index out of @array and returns it (a new reference). */
static JsonNode *
array_take (JsonArray *array,
            unsigned   index)
{
  JsonNode *node = json_node_ref (json_array_get_element (array, index));

  json_array_remove_element (array, index);
  return node;
}

/* --- JSON Patch ------------------------------------------------------------------------------ */

typedef struct
{
  const char *text;    /* as written */
  GPtrArray  *tokens;  /* char *, unescaped */
} Pointer;

static void
pointer_clear (Pointer *p)
{
  g_clear_pointer (&p->tokens, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Pointer, pointer_clear)

/* Reads the JSON Pointer @text (RFC 6901) into @p. */
static gboolean
pointer_parse (const Op    *op,
               const char  *label,
               const char  *text,
               Pointer     *p,
               GError     **error)
{
  const char *s = text + 1;

  p->text = text;
  p->tokens = g_ptr_array_new_with_free_func (g_free);
  if (*text == '\0')
    return TRUE;
  if (*text != '/')
    {
      op_error (op, label, text, error, CHARTA_FHIR_ERROR_INVALID,
                "a JSON Pointer starts with \"/\" (or is empty, for the whole document)");
      return FALSE;
    }
  for (;;)
    {
      g_autoptr(GString) token = g_string_new (NULL);

      while (*s != '\0' && *s != '/')
        {
          if (*s != '~')
            {
              g_string_append_c (token, *s++);
              continue;
            }
          if (s[1] != '0' && s[1] != '1')
            {
              op_error (op, label, text, error, CHARTA_FHIR_ERROR_INVALID,
                        "\"~\" must be followed by 0 or 1 (\"~0\" stands for '~', \"~1\" "
                        "for '/')");
              return FALSE;
            }
          g_string_append_c (token, s[1] == '0' ? '~' : '/');
          s += 2;
        }
      g_ptr_array_add (p->tokens, g_string_free (g_steal_pointer (&token), FALSE));
      if (*s == '\0')
        return TRUE;
      s++;
    }
}

/* The pointer to the first @n tokens of @p, for messages; "the document" for none. */
static char *
pointer_prefix (const Pointer *p,
                unsigned       n)
{
  g_autoptr(GString) s = g_string_new (NULL);

  if (n == 0)
    return g_strdup ("the document");
  for (unsigned i = 0; i < n; i++)
    {
      g_string_append_c (s, '/');
      for (const char *c = g_ptr_array_index (p->tokens, i); *c != '\0'; c++)
        if (*c == '~')
          g_string_append (s, "~0");
        else if (*c == '/')
          g_string_append (s, "~1");
        else
          g_string_append_c (s, *c);
    }
  return shorten (s->str, 200);
}

/* @token as an array index: decimal digits, no leading zero (RFC 6901 §4). */
static gboolean
parse_index (const char *token,
             unsigned   *index)
{
  guint64 value = 0;

  if (token[0] == '\0' || (token[0] == '0' && token[1] != '\0'))
    return FALSE;
  for (const char *c = token; *c != '\0'; c++)
    {
      if (!g_ascii_isdigit (*c))
        return FALSE;
      value = value * 10 + (guint64) (*c - '0');
      if (value > G_MAXINT)
        return FALSE;
    }
  *index = (unsigned) value;
  return TRUE;
}

/* The error for token @i of @p, which is not an index of the array it is applied to. */
static void
bad_index_error (const Op      *op,
                 const char    *label,
                 const Pointer *p,
                 unsigned       i,
                 GError       **error)
{
  g_autofree char *prefix = pointer_prefix (p, i);
  g_autofree char *token = quote (g_ptr_array_index (p->tokens, i));

  if (strcmp (g_ptr_array_index (p->tokens, i), "-") == 0)
    op_error (op, label, p->text, error, CHARTA_FHIR_ERROR_INVALID,
              "no such element (\"-\" stands for the end of the array %s, after its last "
              "element)", prefix);
  else
    op_error (op, label, p->text, error, CHARTA_FHIR_ERROR_INVALID,
              "%s is an array, and %s is not an index (0, or digits without a leading zero)",
              prefix, token);
}

/* The node that the first @n tokens of @p lead to, or NULL with @error set. */
static JsonNode *
pointer_resolve (const Op      *op,
                 const char    *label,
                 const Pointer *p,
                 unsigned       n,
                 GError       **error)
{
  JsonNode *node = op->w->root;

  for (unsigned i = 0; i < n; i++)
    {
      const char *token = g_ptr_array_index (p->tokens, i);

      if (JSON_NODE_HOLDS_OBJECT (node))
        {
          JsonNode *child = json_object_get_member (json_node_get_object (node), token);

          if (child == NULL)
            {
              g_autofree char *prefix = pointer_prefix (p, i);
              g_autofree char *quoted = quote (token);

              op_error (op, label, p->text, error, CHARTA_FHIR_ERROR_INVALID,
                        "no such element (%s has no member %s)", prefix, quoted);
              return NULL;
            }
          node = child;
        }
      else if (JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);
          unsigned index;

          if (!parse_index (token, &index))
            {
              bad_index_error (op, label, p, i, error);
              return NULL;
            }
          if (index >= json_array_get_length (array))
            {
              g_autofree char *prefix = pointer_prefix (p, i);

              op_error (op, label, p->text, error, CHARTA_FHIR_ERROR_INVALID,
                        "no such element (%s has %u element%s)", prefix,
                        json_array_get_length (array),
                        json_array_get_length (array) == 1 ? "" : "s");
              return NULL;
            }
          node = json_array_get_element (array, index);
        }
      else
        {
          g_autofree char *prefix = pointer_prefix (p, i);

          op_error (op, label, p->text, error, CHARTA_FHIR_ERROR_INVALID,
                    "no such element (%s is %s, which has no members)", prefix,
                    describe_node_type (node));
          return NULL;
        }
    }
  return node;
}

/* Adds @value (taken) at @p (RFC 6902 §4.1): sets an object member, inserts into an array. */
static gboolean
json_add (const Op       *op,
          const char     *label,
          const Pointer  *p,
          JsonNode       *value,
          GError        **error)
{
  Work *w = op->w;
  unsigned n = p->tokens->len;
  const char *last;
  JsonNode *container;

  if (n == 0)
    {
      json_node_unref (w->root);
      w->root = value;
      return TRUE;
    }
  container = pointer_resolve (op, label, p, n - 1, error);
  if (container == NULL)
    {
      json_node_unref (value);
      return FALSE;
    }
  last = g_ptr_array_index (p->tokens, n - 1);
  if (JSON_NODE_HOLDS_OBJECT (container))
    {
      JsonObject *object = json_node_get_object (container);

      if (json_object_has_member (object, last))
        json_object_remove_member (object, last);
      json_object_set_member (object, last, value);
      return TRUE;
    }
  if (JSON_NODE_HOLDS_ARRAY (container))
    {
      JsonArray *array = json_node_get_array (container);
      unsigned length = json_array_get_length (array);
      unsigned index;

      if (strcmp (last, "-") == 0)
        index = length;
      else if (!parse_index (last, &index))
        {
          bad_index_error (op, label, p, n - 1, error);
          json_node_unref (value);
          return FALSE;
        }
      else if (index > length)
        {
          g_autofree char *prefix = pointer_prefix (p, n - 1);

          op_error (op, label, p->text, error, CHARTA_FHIR_ERROR_INVALID,
                    "index %u is past the end of %s (it has %u element%s; \"-\" appends)",
                    index, prefix, length, length == 1 ? "" : "s");
          json_node_unref (value);
          return FALSE;
        }
      array_insert (array, index, value);
      return TRUE;
    }
  {
    g_autofree char *prefix = pointer_prefix (p, n - 1);

    op_error (op, label, p->text, error, CHARTA_FHIR_ERROR_INVALID,
              "no such element (%s is %s, which has no members)", prefix,
              describe_node_type (container));
  }
  json_node_unref (value);
  return FALSE;
}

/* Takes the value at @p out of the document (RFC 6902 §4.2) and returns it, or NULL. */
static JsonNode *
json_take (const Op       *op,
           const char     *label,
           const Pointer  *p,
           GError        **error)
{
  unsigned n = p->tokens->len;
  JsonNode *container;
  const char *last;

  if (n == 0)
    {
      op_error (op, label, p->text, error, CHARTA_FHIR_ERROR_INVALID,
                "the whole document cannot be removed");
      return NULL;
    }
  /* Resolving the whole pointer names what is missing; then the container is at hand. */
  if (pointer_resolve (op, label, p, n, error) == NULL)
    return NULL;
  container = pointer_resolve (op, label, p, n - 1, error);
  last = g_ptr_array_index (p->tokens, n - 1);
  if (JSON_NODE_HOLDS_OBJECT (container))
    {
      JsonObject *object = json_node_get_object (container);
      JsonNode *child = json_node_ref (json_object_get_member (object, last));

      json_object_remove_member (object, last);
      return child;
    }
  else
    {
      unsigned index = 0;

      g_assert (JSON_NODE_HOLDS_ARRAY (container) && parse_index (last, &index));
      return array_take (json_node_get_array (container), index);
    }
}

/* RFC 6902 §4.6: numbers by value, objects as unordered maps, arrays in order. */
static gboolean
values_equal (JsonNode *a,
              JsonNode *b)
{
  JsonNodeType type = json_node_get_node_type (a);

  if (type != json_node_get_node_type (b))
    return FALSE;
  switch (type)
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *oa = json_node_get_object (a), *ob = json_node_get_object (b);
        JsonObjectIter iter;
        const char *name;
        JsonNode *child;

        if (json_object_get_size (oa) != json_object_get_size (ob))
          return FALSE;
        json_object_iter_init (&iter, oa);
        while (json_object_iter_next (&iter, &name, &child))
          {
            JsonNode *other = json_object_get_member (ob, name);

            if (other == NULL || !values_equal (child, other))
              return FALSE;
          }
        return TRUE;
      }

    case JSON_NODE_ARRAY:
      {
        JsonArray *aa = json_node_get_array (a), *ab = json_node_get_array (b);
        unsigned n = json_array_get_length (aa);

        if (n != json_array_get_length (ab))
          return FALSE;
        for (unsigned i = 0; i < n; i++)
          if (!values_equal (json_array_get_element (aa, i), json_array_get_element (ab, i)))
            return FALSE;
        return TRUE;
      }

    case JSON_NODE_NULL:
      return TRUE;

    case JSON_NODE_VALUE:
    default:
      {
        GType ta = json_node_get_value_type (a), tb = json_node_get_value_type (b);
        gboolean na = ta == G_TYPE_INT64 || ta == G_TYPE_DOUBLE;
        gboolean nb = tb == G_TYPE_INT64 || tb == G_TYPE_DOUBLE;

        if (na && nb)
          {
            if (ta == G_TYPE_INT64 && tb == G_TYPE_INT64)
              return json_node_get_int (a) == json_node_get_int (b);
            return json_node_get_double (a) == json_node_get_double (b);
          }
        if (ta != tb)
          return FALSE;
        if (ta == G_TYPE_STRING)
          return strcmp (json_node_get_string (a), json_node_get_string (b)) == 0;
        return json_node_get_boolean (a) == json_node_get_boolean (b);
      }
    }
}

typedef enum
{
  JSON_OP_ADD,
  JSON_OP_REMOVE,
  JSON_OP_REPLACE,
  JSON_OP_MOVE,
  JSON_OP_COPY,
  JSON_OP_TEST,
} JsonOpKind;

static const char * const json_op_names[] = { "add", "remove", "replace", "move", "copy", "test" };

/* The string member @name of operation @o, required; NULL with @error set when missing. */
static const char *
op_string (const Op    *op,
           JsonObject  *o,
           const char  *name,
           GError     **error)
{
  JsonNode *node = json_object_get_member (o, name);

  if (node == NULL)
    {
      op_error (op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID, "has no \"%s\"", name);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      op_error (op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID, "\"%s\" is %s, not a string",
                name, describe_node_type (node));
      return NULL;
    }
  return json_node_get_string (node);
}

static gboolean
json_apply_op (Work          *w,
               unsigned       index,
               JsonNode      *node,
               const Source  *source,
               GError       **error)
{
  Op op = { w, index, NULL };
  g_auto(Pointer) path = { 0 };
  g_auto(Pointer) from = { 0 };
  Source own = { NULL, w->texts };
  JsonObject *o;
  JsonNode *value = NULL, *target;
  const char *name, *path_text, *from_text = NULL;
  JsonOpKind kind;
  unsigned k;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      op_error (&op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID,
                "is %s, not an object with \"op\" and \"path\"", describe_node_type (node));
      return FALSE;
    }
  o = json_node_get_object (node);
  name = op_string (&op, o, "op", error);
  if (name == NULL)
    return FALSE;
  for (k = 0; k < G_N_ELEMENTS (json_op_names); k++)
    if (strcmp (name, json_op_names[k]) == 0)
      break;
  if (k == G_N_ELEMENTS (json_op_names))
    {
      g_autofree char *quoted = quote (name);

      op_error (&op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID,
                "unknown op %s (JSON Patch has add, remove, replace, move, copy and test)",
                quoted);
      return FALSE;
    }
  kind = (JsonOpKind) k;
  op.name = json_op_names[k];

  path_text = op_string (&op, o, "path", error);
  if (path_text == NULL)
    return FALSE;
  if (kind == JSON_OP_MOVE || kind == JSON_OP_COPY)
    {
      from_text = op_string (&op, o, "from", error);
      if (from_text == NULL)
        return FALSE;
    }
  if (kind == JSON_OP_ADD || kind == JSON_OP_REPLACE || kind == JSON_OP_TEST)
    {
      value = json_object_get_member (o, "value");
      if (value == NULL)
        {
          op_error (&op, "path", path_text, error, CHARTA_FHIR_ERROR_INVALID, "has no \"value\"");
          return FALSE;
        }
    }
  if (!pointer_parse (&op, "path", path_text, &path, error))
    return FALSE;
  if (from_text != NULL && !pointer_parse (&op, "from", from_text, &from, error))
    return FALSE;

  switch (kind)
    {
    case JSON_OP_ADD:
    case JSON_OP_REPLACE:
      if (!check_value_size (&op, "path", path_text, value, path.tokens->len, error))
        return FALSE;
      if (kind == JSON_OP_REPLACE && path.tokens->len > 0)
        {
          /* The target must exist (§4.3): taken out, the new value goes in its place. */
          target = json_take (&op, "path", &path, error);
          if (target == NULL)
            return FALSE;
          json_node_unref (target);
        }
      if (!json_add (&op, "path", &path, copy_node (w, source, value, FALSE, NULL, NULL, -1, -1),
                     error)
          || !check_added (&op, "path", path_text, error))
        return FALSE;
      break;

    case JSON_OP_REMOVE:
      target = json_take (&op, "path", &path, error);
      if (target == NULL)
        return FALSE;
      json_node_unref (target);
      break;

    case JSON_OP_MOVE:
      {
        gboolean into_itself = path.tokens->len > from.tokens->len;

        for (unsigned i = 0; into_itself && i < from.tokens->len; i++)
          into_itself = strcmp (g_ptr_array_index (path.tokens, i),
                                g_ptr_array_index (from.tokens, i)) == 0;
        if (into_itself)
          {
            op_error (&op, "path", path_text, error, CHARTA_FHIR_ERROR_INVALID,
                      "a value cannot be moved into itself (from %s)", from_text);
            return FALSE;
          }
        if (strcmp (path_text, from_text) == 0)
          {
            /* Moving a value to where it is changes nothing, but it must be there. */
            if (pointer_resolve (&op, "from", &from, from.tokens->len, error) == NULL)
              return FALSE;
            break;
          }
        target = json_take (&op, "from", &from, error);
        if (target == NULL)
          return FALSE;
        if (!check_value_size (&op, "path", path_text, target, path.tokens->len, error))
          {
            json_node_unref (target);
            return FALSE;
          }
        if (!json_add (&op, "path", &path, target, error))
          return FALSE;
      }
      break;

    case JSON_OP_COPY:
      target = pointer_resolve (&op, "from", &from, from.tokens->len, error);
      if (target == NULL
          || !check_value_size (&op, "path", path_text, target, path.tokens->len, error))
        return FALSE;
      if (!json_add (&op, "path", &path, copy_node (w, &own, target, FALSE, NULL, NULL, -1, -1),
                     error)
          || !check_added (&op, "path", path_text, error))
        return FALSE;
      break;

    case JSON_OP_TEST:
      target = pointer_resolve (&op, "path", &path, path.tokens->len, error);
      if (target == NULL)
        return FALSE;
      if (!values_equal (target, value))
        {
          g_autofree char *is = describe_value (w, target);
          g_autofree char *expected = describe_value (NULL, value);

          op_error (&op, "path", path_text, error, CHARTA_FHIR_ERROR_INVALID,
                    "test failed: the value is %s, not %s", is, expected);
          return FALSE;
        }
      break;

    default:
      g_assert_not_reached ();
    }
  return check_identity (&op, "path", path_text, error);
}

static gboolean
json_apply (Work          *w,
            JsonNode      *patch,
            const Source  *source,
            GError       **error)
{
  JsonArray *ops;

  if (!JSON_NODE_HOLDS_ARRAY (patch))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "a JSON Patch is an array of operations, not %s", describe_node_type (patch));
      return FALSE;
    }
  ops = json_node_get_array (patch);
  for (unsigned i = 0; i < json_array_get_length (ops); i++)
    if (!json_apply_op (w, i, json_array_get_element (ops, i), source, error))
      return FALSE;
  return TRUE;
}

/* Sets up @w with a copy of @resource's tree, checked against its type and id. */
static void
work_start (Work           *w,
            ChartaResource *resource,
            ChartaResource *current,
            gboolean        locate)
{
  Source from_current = { current, NULL };

  work_init (w, locate);
  w->root = copy_node (w, &from_current, charta_resource_get_root (current), locate, NULL, NULL,
                       -1, charta_model_find_type (charta_resource_get_resource_type (current)));
  w->added = 0;
  w->keep_identity = TRUE;
  w->resource_type = charta_resource_get_resource_type (resource);
  w->id = charta_resource_get_id (resource);
}

static ChartaResource *
apply_json (ChartaResource  *resource,
            JsonNode        *patch,
            const Source    *source,
            GError         **error)
{
  g_auto(Work) w = { 0 };
  ChartaResource *result;

  work_start (&w, resource, resource, FALSE);
  if (!json_apply (&w, patch, source, error))
    return NULL;
  result = work_finish (&w, error);
  if (result == NULL)
    g_prefix_error (error, "the patched resource: ");
  return result;
}

ChartaResource *
charta_patch_apply_json (ChartaResource  *resource,
                         JsonNode        *patch,
                         GError         **error)
{
  g_return_val_if_fail (resource != NULL, NULL);
  g_return_val_if_fail (patch != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (node_depth (patch, CHARTA_JSON_MAX_DEPTH_CEILING) > CHARTA_JSON_MAX_DEPTH_CEILING)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_DEEP,
                   "the JSON Patch nests deeper than %u levels", CHARTA_JSON_MAX_DEPTH_CEILING);
      return NULL;
    }
  return apply_json (resource, patch, NULL, error);
}

ChartaResource *
charta_patch_apply_json_data (ChartaResource  *resource,
                              const char      *data,
                              size_t           length,
                              GError         **error)
{
  ChartaJsonDocument doc = { 0 };
  ChartaResource *result;
  Source source = { NULL, NULL };

  g_return_val_if_fail (resource != NULL, NULL);
  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!charta_json_parse (data != NULL ? data : "", length, NULL, 1, &doc, error))
    {
      g_prefix_error (error, "JSON Patch: ");
      return NULL;
    }
  source.numbers = doc.numbers;
  result = apply_json (resource, doc.root, &source, error);
  charta_json_document_clear (&doc);
  return result;
}

JsonNode *
charta_patch_apply_json_node (JsonNode  *document,
                              JsonNode  *patch,
                              GError   **error)
{
  g_auto(Work) w = { 0 };

  g_return_val_if_fail (document != NULL, NULL);
  g_return_val_if_fail (patch != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (node_depth (document, CHARTA_DEFAULT_MAX_DEPTH) > CHARTA_DEFAULT_MAX_DEPTH)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_DEEP,
                   "the document nests deeper than %u levels", CHARTA_DEFAULT_MAX_DEPTH);
      return NULL;
    }
  if (node_depth (patch, CHARTA_JSON_MAX_DEPTH_CEILING) > CHARTA_JSON_MAX_DEPTH_CEILING)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_DEEP,
                   "the JSON Patch nests deeper than %u levels", CHARTA_JSON_MAX_DEPTH_CEILING);
      return NULL;
    }
  work_init (&w, FALSE);
  w.root = copy_node (&w, NULL, document, FALSE, NULL, NULL, -1, -1);
  w.added = 0;
  if (!json_apply (&w, patch, NULL, error))
    return NULL;
  return g_steal_pointer (&w.root);
}

/* --- lists of FHIR JSON ---------------------------------------------------------------------- */

/* A repeating element is an array, and a repeating primitive may have a parallel "_name" array
 * of its items' ids and extensions (null where an item has none; a value may be null where its
 * item has only an extension).  These keep the two parallel. */

static char *
ext_name (const char *member)
{
  return g_strconcat ("_", member, NULL);
}

/* @object's member @name as an array, NULL when absent or not an array. */
static JsonArray *
get_array (JsonObject *object,
           const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static JsonArray *
ensure_array (JsonObject *object,
              const char *name)
{
  JsonArray *array = get_array (object, name);

  if (array == NULL)
    json_object_set_member (object, name, new_array_node (&array));
  return array;
}

static unsigned
list_length (JsonObject *object,
             const char *member)
{
  g_autofree char *ext = ext_name (member);
  JsonArray *values = get_array (object, member);
  JsonArray *exts = get_array (object, ext);

  return MAX (values != NULL ? json_array_get_length (values) : 0,
              exts != NULL ? json_array_get_length (exts) : 0);
}

static void
array_pad (JsonArray *array,
           unsigned   length)
{
  while (json_array_get_length (array) < length)
    json_array_add_null_element (array);
}

/* Inserts an item at @index of list @member: @value and @ext (taken; NULL for null). */
static void
list_insert (JsonObject *object,
             const char *member,
             unsigned    index,
             JsonNode   *value,
             JsonNode   *ext)
{
  g_autofree char *ext_member = ext_name (member);
  unsigned length = list_length (object, member);
  JsonArray *values = ensure_array (object, member);
  JsonArray *exts = get_array (object, ext_member);

  array_pad (values, length);
  array_insert (values, index, value != NULL ? value : json_node_new (JSON_NODE_NULL));
  if (exts == NULL && ext != NULL)
    exts = ensure_array (object, ext_member);
  if (exts != NULL)
    {
      array_pad (exts, length);
      array_insert (exts, index, ext != NULL ? ext : json_node_new (JSON_NODE_NULL));
    }
}

/* Takes item @index of list @member out; *value and *ext receive its parts (NULL when absent). */
static void
list_take (JsonObject  *object,
           const char  *member,
           unsigned     index,
           JsonNode   **value,
           JsonNode   **ext)
{
  g_autofree char *ext_member = ext_name (member);
  unsigned length = list_length (object, member);
  JsonArray *values = get_array (object, member);
  JsonArray *exts = get_array (object, ext_member);

  *value = NULL;
  *ext = NULL;
  if (values != NULL)
    {
      array_pad (values, length);
      *value = array_take (values, index);
    }
  if (exts != NULL)
    {
      array_pad (exts, length);
      *ext = array_take (exts, index);
    }
  if (*value != NULL && JSON_NODE_HOLDS_NULL (*value))
    g_clear_pointer (value, json_node_unref);
  if (*ext != NULL && JSON_NODE_HOLDS_NULL (*ext))
    g_clear_pointer (ext, json_node_unref);
}

static gboolean
all_null (JsonArray *array)
{
  for (unsigned i = 0; i < json_array_get_length (array); i++)
    if (!JSON_NODE_HOLDS_NULL (json_array_get_element (array, i)))
      return FALSE;
  return TRUE;
}

/* Removes list @member's arrays that hold nothing (empty, or nulls only). */
static void
list_tidy (JsonObject *object,
           const char *member)
{
  g_autofree char *ext_member = ext_name (member);
  JsonArray *values = get_array (object, member);
  JsonArray *exts = get_array (object, ext_member);

  if (values != NULL && all_null (values))
    json_object_remove_member (object, member);
  if (exts != NULL && all_null (exts))
    json_object_remove_member (object, ext_member);
}

/* Removes member @member and its "_member" twin. */
static void
remove_single (JsonObject *object,
               const char *member)
{
  g_autofree char *ext_member = ext_name (member);

  if (json_object_has_member (object, member))
    json_object_remove_member (object, member);
  if (json_object_has_member (object, ext_member))
    json_object_remove_member (object, ext_member);
}

static void
set_single (JsonObject *object,
            const char *member,
            JsonNode   *value,
            JsonNode   *ext)
{
  remove_single (object, member);
  if (value != NULL)
    json_object_set_member (object, member, value);
  if (ext != NULL)
    {
      g_autofree char *ext_member = ext_name (member);

      json_object_set_member (object, ext_member, ext);
    }
}

/* Removes, from @node up towards the root, every object that has become empty. */
static void
prune (Work     *w,
       JsonNode *node)
{
  while (node != NULL && node != w->root
         && json_object_get_size (json_node_get_object (node)) == 0)
    {
      Place *place = g_hash_table_lookup (w->places, node);
      JsonObject *holder;

      g_assert (place != NULL && place->parent != NULL);
      holder = json_node_get_object (place->parent);
      if (place->index < 0)
        json_object_remove_member (holder, place->member);
      else if (place->member[0] == '_')
        {
          /* An item's empty "_name" entry becomes null: the values keep their places. */
          JsonArray *exts = get_array (holder, place->member);

          json_node_unref (array_take (exts, (unsigned) place->index));
          array_insert (exts, (unsigned) place->index, json_node_new (JSON_NODE_NULL));
          list_tidy (holder, place->member + 1);
        }
      else
        {
          JsonNode *value, *ext;

          list_take (holder, place->member, (unsigned) place->index, &value, &ext);
          g_clear_pointer (&value, json_node_unref);
          g_clear_pointer (&ext, json_node_unref);
          list_tidy (holder, place->member);
        }
      node = place->parent;
    }
}

/* --- FHIRPath Patch -------------------------------------------------------------------------- */

typedef enum
{
  FP_ADD,
  FP_INSERT,
  FP_DELETE,
  FP_REPLACE,
  FP_MOVE,
} FpKind;

static const char * const fp_names[] = { "add", "insert", "delete", "replace", "move" };

enum
{
  PART_TYPE = 1 << 0,
  PART_PATH = 1 << 1,
  PART_NAME = 1 << 2,
  PART_VALUE = 1 << 3,
  PART_INDEX = 1 << 4,
  PART_SOURCE = 1 << 5,
  PART_DESTINATION = 1 << 6,
};

static const char * const part_names[] = {
  "type", "path", "name", "value", "index", "source", "destination",
};

/* The parts each type takes, all required. */
static const unsigned fp_parts[] = {
  [FP_ADD] = PART_TYPE | PART_PATH | PART_NAME | PART_VALUE,
  [FP_INSERT] = PART_TYPE | PART_PATH | PART_INDEX | PART_VALUE,
  [FP_DELETE] = PART_TYPE | PART_PATH,
  [FP_REPLACE] = PART_TYPE | PART_PATH | PART_VALUE,
  [FP_MOVE] = PART_TYPE | PART_PATH | PART_SOURCE | PART_DESTINATION,
};

typedef struct
{
  unsigned    index;        /* the parameter's position */
  FpKind      kind;
  const char *path;
  const char *name;
  JsonObject *value;        /* the "value" part (borrowed from the Parameters) */
  int         at;           /* insert's index */
  int         source;
  int         destination;
} FpOp;

/* Reads one operation parameter. */
static gboolean
fp_parse_op (JsonNode  *node,
             unsigned   index,
             FpOp      *fp,
             GError   **error)
{
  Op op = { NULL, index, NULL };
  JsonObject *parameter;
  JsonArray *parts;
  const char *name;
  unsigned seen = 0;
  int kind = -1;

  memset (fp, 0, sizeof *fp);
  fp->index = index;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      op_error (&op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID, "is %s, not an object",
                describe_node_type (node));
      return FALSE;
    }
  parameter = json_node_get_object (node);
  name = string_member (parameter, "name");
  if (g_strcmp0 (name, "operation") != 0)
    {
      g_autofree char *quoted = name != NULL ? quote (name) : g_strdup ("nothing");

      op_error (&op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID,
                "the parameter is called %s: a FHIRPath Patch has only parameters called "
                "\"operation\"", quoted);
      return FALSE;
    }
  parts = get_array (parameter, "part");
  if (parts == NULL)
    {
      op_error (&op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID,
                "has no parts (type, path, …)");
      return FALSE;
    }

  for (unsigned i = 0; i < json_array_get_length (parts); i++)
    {
      JsonNode *part_node = json_array_get_element (parts, i);
      JsonObject *part;
      const char *part_name;
      unsigned k;

      if (!JSON_NODE_HOLDS_OBJECT (part_node)
          || (part_name = string_member (json_node_get_object (part_node), "name")) == NULL)
        {
          op_error (&op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID,
                    "part %u has no name", i);
          return FALSE;
        }
      part = json_node_get_object (part_node);
      for (k = 0; k < G_N_ELEMENTS (part_names); k++)
        if (strcmp (part_name, part_names[k]) == 0)
          break;
      if (k == G_N_ELEMENTS (part_names))
        {
          g_autofree char *quoted = quote (part_name);

          op_error (&op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID,
                    "unknown part %s (a FHIRPath Patch operation has type, path, name, value, "
                    "index, source and destination)", quoted);
          return FALSE;
        }
      if (seen & (1u << k))
        {
          op_error (&op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID,
                    "the part \"%s\" is given twice", part_name);
          return FALSE;
        }
      seen |= 1u << k;

      switch (1u << k)
        {
        case PART_TYPE:
          {
            const char *code = string_member (part, "valueCode");

            if (code == NULL)
              code = string_member (part, "valueString");
            if (code == NULL)
              {
                op_error (&op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID,
                          "the part \"type\" has no valueCode");
                return FALSE;
              }
            for (unsigned t = 0; t < G_N_ELEMENTS (fp_names); t++)
              if (strcmp (code, fp_names[t]) == 0)
                kind = (int) t;
            if (kind < 0)
              {
                g_autofree char *quoted = quote (code);

                op_error (&op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID,
                          "unknown type %s (FHIRPath Patch has add, insert, delete, replace "
                          "and move)", quoted);
                return FALSE;
              }
          }
          break;

        case PART_PATH:
        case PART_NAME:
          {
            const char *text = string_member (part, "valueString");

            if (text == NULL)
              {
                op_error (&op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID,
                          "the part \"%s\" has no valueString", part_name);
                return FALSE;
              }
            if (1u << k == PART_PATH)
              fp->path = text;
            else
              fp->name = text;
          }
          break;

        case PART_VALUE:
          fp->value = part;
          break;

        default:
          {
            JsonNode *v = json_object_get_member (part, "valueInteger");
            int64_t number;

            if (v == NULL || !JSON_NODE_HOLDS_VALUE (v)
                || json_node_get_value_type (v) != G_TYPE_INT64
                || (number = json_node_get_int (v)) < 0 || number > G_MAXINT)
              {
                g_autofree char *shown = v != NULL ? describe_value (NULL, v) : NULL;

                op_error (&op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID,
                          "the part \"%s\" needs a valueInteger from 0%s%s", part_name,
                          shown != NULL ? "; it is " : "", shown != NULL ? shown : "");
                return FALSE;
              }
            if (1u << k == PART_INDEX)
              fp->at = (int) number;
            else if (1u << k == PART_SOURCE)
              fp->source = (int) number;
            else
              fp->destination = (int) number;
          }
          break;
        }
    }

  if (kind < 0)
    {
      op_error (&op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID, "has no part \"type\"");
      return FALSE;
    }
  fp->kind = (FpKind) kind;
  op.name = fp_names[kind];
  for (unsigned k = 0; k < G_N_ELEMENTS (part_names); k++)
    {
      unsigned bit = 1u << k;

      if ((fp_parts[kind] & bit) && !(seen & bit))
        {
          op_error (&op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID, "has no part \"%s\"",
                    part_names[k]);
          return FALSE;
        }
      if (!(fp_parts[kind] & bit) && (seen & bit))
        {
          op_error (&op, NULL, NULL, error, CHARTA_FHIR_ERROR_INVALID,
                    "the part \"%s\" is not one that %s takes", part_names[k], fp_names[kind]);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
fp_parse (ChartaResource  *parameters,
          GArray          *ops,
          GError         **error)
{
  JsonNode *list;

  if (strcmp (charta_resource_get_resource_type (parameters), "Parameters") != 0)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "a FHIRPath Patch is a Parameters resource, not a %s",
                   charta_resource_get_resource_type (parameters));
      return FALSE;
    }
  list = json_object_get_member (charta_resource_get_object (parameters), "parameter");
  if (list == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (list))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "Parameters.parameter is %s, not an array", describe_node_type (list));
      return FALSE;
    }
  for (unsigned i = 0; i < json_array_get_length (json_node_get_array (list)); i++)
    {
      FpOp fp;

      if (!fp_parse_op (json_array_get_element (json_node_get_array (list), i), i, &fp, error))
        return FALSE;
      g_array_append_val (ops, fp);
    }
  return TRUE;
}

/* The state of one operation. */
typedef struct
{
  Op              op;
  const FpOp     *fp;
  ChartaResource *current;     /* what the path is evaluated on */
  ChartaResource *parameters;  /* where values come from */
} Fp;

static void fp_error (const Fp        *f,
                      GError         **error,
                      const char      *format,
                      ...) G_GNUC_PRINTF (3, 4);

static void
fp_error (const Fp    *f,
          GError     **error,
          const char  *format,
          ...)
{
  g_autofree char *prefix = op_prefix (&f->op, "path", f->fp->path);
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID, "%s%s", prefix, message);
}

/* Evaluates @expression on the current resource. */
static GPtrArray *
fp_select (const Fp    *f,
           const char  *expression,
           GError     **error)
{
  g_autoptr(ChartaFhirPath) path = NULL;
  g_autoptr(GError) local_error = NULL;
  GPtrArray *items = NULL;

  /* Not the process-wide cache: paths come from requests, and the cache keeps what it gets. */
  path = charta_fhirpath_compile (expression, &local_error);
  if (path != NULL)
    items = charta_fhirpath_evaluate (path, f->current, NULL, &local_error);
  if (path == NULL || items == NULL)
    {
      g_autofree char *prefix = op_prefix (&f->op, "path", expression);

      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s", prefix);
      return NULL;
    }
  return items;
}

/* "selects 3 elements", "selects nothing" */
static char *
describe_selection (unsigned n)
{
  if (n == 0)
    return g_strdup ("selects nothing");
  return g_strdup_printf ("selects %u elements", n);
}

/* Where @item is in the working copy. */
typedef struct
{
  JsonNode   *holder;       /* the copied object holding it; NULL for the resource itself */
  const char *member;
  int         index;
  int         holder_type;
} Loc;

static gboolean
fp_locate (const Fp                  *f,
           const ChartaFhirPathItem  *item,
           Loc                       *loc,
           GError                   **error)
{
  Work *w = f->op.w;
  Place *place;

  loc->holder = NULL;
  loc->member = NULL;
  loc->index = -1;
  loc->holder_type = -1;
  if (item->kind != CHARTA_FHIRPATH_NODE)
    {
      fp_error (f, error, "selects a computed value, not an element of the resource");
      return FALSE;
    }
  if (item->parent == NULL)
    {
      if (item->node == charta_resource_get_root (f->current))
        return TRUE;
      fp_error (f, error, "selects something that is not an element of the resource");
      return FALSE;
    }
  loc->holder = g_hash_table_lookup (w->copies, item->parent);
  if (loc->holder == NULL)
    {
      fp_error (f, error, "selects something that is not an element of the resource");
      return FALSE;
    }
  place = g_hash_table_lookup (w->places, loc->holder);
  loc->member = item->member;
  loc->index = item->index;
  loc->holder_type = place->type;
  return TRUE;
}

/* The type's name, for messages ("Patient", "HumanName"). */
static const char *
type_name (int type)
{
  return type >= 0 ? charta_model_get_type (type)->name : "an element the model does not know";
}

/* The object that an add to @item adds to, and its model type: the item's object, or for a
 * primitive its "_name" object (made when missing). */
static JsonObject *
fp_container (const Fp                  *f,
              const ChartaFhirPathItem  *item,
              int                       *type,
              GError                   **error)
{
  Work *w = f->op.w;
  g_autofree char *ext_member = NULL;
  JsonObject *holder;
  Loc loc;

  if (item->kind == CHARTA_FHIRPATH_NODE && item->node != NULL
      && JSON_NODE_HOLDS_OBJECT (item->node))
    {
      JsonNode *copy = g_hash_table_lookup (w->copies, item->node);
      Place *place;

      if (copy == NULL)
        {
          fp_error (f, error, "selects something that is not an element of the resource");
          return NULL;
        }
      place = g_hash_table_lookup (w->places, copy);
      *type = item->type >= 0 ? item->type : place->type;
      return json_node_get_object (copy);
    }
  if (!fp_locate (f, item, &loc, error))
    return NULL;
  if (loc.holder == NULL)
    {
      fp_error (f, error, "selects something that is not an element of the resource");
      return NULL;
    }
  if (item->node != NULL && !JSON_NODE_HOLDS_VALUE (item->node))
    {
      fp_error (f, error, "selects %s, to which nothing can be added",
                describe_node_type (item->node));
      return NULL;
    }
  /* A primitive: its id and extensions are in its "_name" object. */
  *type = element_type_index ();
  holder = json_node_get_object (loc.holder);
  ext_member = ext_name (loc.member);
  if (loc.index >= 0)
    {
      unsigned length = list_length (holder, loc.member);
      JsonArray *exts = ensure_array (holder, ext_member);
      JsonNode *entry;

      array_pad (exts, length);
      entry = json_array_get_element (exts, (unsigned) loc.index);
      if (!JSON_NODE_HOLDS_OBJECT (entry))
        {
          json_node_unref (array_take (exts, (unsigned) loc.index));
          entry = new_object_node (NULL);
          array_insert (exts, (unsigned) loc.index, entry);
        }
      return json_node_get_object (entry);
    }
  else
    {
      JsonNode *entry = json_object_get_member (holder, ext_member);

      if (entry == NULL || !JSON_NODE_HOLDS_OBJECT (entry))
        {
          entry = new_object_node (NULL);
          set_single (holder, ext_member, NULL, NULL);
          json_object_set_member (holder, ext_member, entry);
        }
      return json_node_get_object (entry);
    }
}

/* The element @name of @type: by its name ("deceased") or by a choice's JSON name
 * ("deceasedBoolean", then *choice is that type), NULL when there is none. */
static const ChartaElementDef *
find_element (int         type,
              const char *name,
              int        *choice)
{
  const ChartaElementDef *def;

  *choice = -1;
  if (type < 0 || name[0] == '_' || strcmp (name, "resourceType") == 0)
    return NULL;
  def = charta_model_find_element_by_name (type, name);
  if (def != NULL)
    return def;
  return charta_model_find_element (type, name, choice);
}

/* The JSON member name of element @def holding a value of @type. */
static char *
member_name (const ChartaElementDef *def,
             int                     type)
{
  const char *name;

  if (!def->is_choice)
    return g_strdup (def->name);
  name = charta_model_get_type (type)->name;
  return g_strdup_printf ("%s%c%s", def->name, g_ascii_toupper (name[0]), name + 1);
}

/* How a primitive is written in JSON: 0 string, 1 boolean, 2 number. */
static int
json_form (int type)
{
  const char *name = charta_model_get_type (type)->name;

  if (strcmp (name, "boolean") == 0)
    return 1;
  if (strcmp (name, "integer") == 0 || strcmp (name, "decimal") == 0
      || strcmp (name, "positiveInt") == 0 || strcmp (name, "unsignedInt") == 0)
    return 2;
  return 0;
}

static gboolean
is_primitive (int type)
{
  return type >= 0 && charta_model_get_type (type)->kind == CHARTA_TYPE_KIND_PRIMITIVE;
}

/* The type as which element @def takes a value of type @vt (for a choice, the one that names
 * its member), or -1 when it does not fit. */
static int
fit_type (const ChartaElementDef *def,
          int                     vt)
{
  int t;

  for (unsigned i = 0; i < def->n_types; i++)
    if (charta_model_element_types[def->first_type + i].type == vt)
      return vt;
  for (unsigned i = 0; i < def->n_types; i++)
    {
      t = charta_model_element_types[def->first_type + i].type;
      if (charta_model_type_is_a (vt, t))
        return t;
    }
  if (def->is_choice || def->n_types != 1)
    return -1;
  t = charta_model_element_types[def->first_type].type;
  if (charta_model_type_is_a (t, vt))
    return t;
  if (is_primitive (t) && is_primitive (vt) && json_form (t) == json_form (vt))
    return t;
  return -1;
}

/* "Patient.birthDate (date)", "Observation.value[x] (Quantity, CodeableConcept, …)" */
static char *
describe_element (const ChartaElementDef *def)
{
  g_autoptr(GString) s = g_string_new (def->path);

  g_string_append (s, " (");
  for (unsigned i = 0; i < def->n_types; i++)
    {
      if (i == 8)
        {
          g_string_append (s, ", …");
          break;
        }
      if (i > 0)
        g_string_append (s, ", ");
      g_string_append (s, type_name (charta_model_element_types[def->first_type + i].type));
    }
  g_string_append_c (s, ')');
  return g_string_free (g_steal_pointer (&s), FALSE);
}

typedef struct
{
  JsonNode *value;  /* NULL for a primitive that has only an extension */
  JsonNode *ext;    /* the "_name" object, or NULL */
  int       type;   /* the type the element takes it as */
} Value;

static void
value_clear (Value *v)
{
  g_clear_pointer (&v->value, json_node_unref);
  g_clear_pointer (&v->ext, json_node_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Value, value_clear)

/* Puts @v (its nodes taken) into @object as element @def: appended when it repeats, else set;
 * fails when a single element is there already. */
static gboolean
put_value (const Fp                *f,
           JsonObject              *object,
           int                      type,
           const ChartaElementDef  *def,
           Value                   *v,
           const char              *label,
           GError                 **error)
{
  g_autofree char *member = member_name (def, v->type);

  if (def->max != 1)
    {
      g_autofree char *ext_member = ext_name (member);
      JsonNode *values = json_object_get_member (object, member);
      JsonNode *exts = json_object_get_member (object, ext_member);

      if ((values != NULL && !JSON_NODE_HOLDS_ARRAY (values))
          || (exts != NULL && !JSON_NODE_HOLDS_ARRAY (exts)))
        {
          fp_error (f, error, "%s: %s is a repeating element, but it is not an array",
                    label, member);
          return FALSE;
        }
      list_insert (object, member, list_length (object, member),
                   g_steal_pointer (&v->value), g_steal_pointer (&v->ext));
      return TRUE;
    }
  {
    JsonObjectIter iter;
    const char *name;

    json_object_iter_init (&iter, object);
    while (json_object_iter_next (&iter, &name, NULL))
      {
        int choice;

        if (find_element (type, name[0] == '_' ? name + 1 : name, &choice) == def)
          {
            fp_error (f, error, "%s: %s already has %s, which does not repeat (replace "
                      "changes it)", label, type_name (type), name[0] == '_' ? name + 1 : name);
            return FALSE;
          }
      }
  }
  set_single (object, member, g_steal_pointer (&v->value), g_steal_pointer (&v->ext));
  return TRUE;
}

/* The value that part @part gives element @def (of an object of @holder_type); @forced is the
 * type a choice's JSON name asked for, or -1.  @label names the part for messages. */
static gboolean
fp_value (const Fp                *f,
          JsonObject              *part,
          const ChartaElementDef  *def,
          int                      forced,
          const char              *label,
          unsigned                 depth,
          Value                   *out,
          GError                 **error)
{
  Work *w = f->op.w;
  Source from_parameters = { f->parameters, NULL };
  JsonNode *value = NULL, *ext = NULL, *resource = NULL, *parts = NULL;
  const char *value_member = NULL, *ext_member = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  unsigned count;
  int vt = -1, t;

  out->value = NULL;
  out->ext = NULL;
  out->type = -1;
  json_object_iter_init_ordered (&iter, part);
  while (json_object_iter_next_ordered (&iter, &name, &node))
    {
      if (strcmp (name, "name") == 0 || strcmp (name, "id") == 0
          || strcmp (name, "extension") == 0 || strcmp (name, "modifierExtension") == 0)
        continue;
      if (strcmp (name, "resource") == 0)
        resource = node;
      else if (strcmp (name, "part") == 0)
        parts = node;
      else if (g_str_has_prefix (name, "value"))
        {
          value = node;
          value_member = name;
        }
      else if (g_str_has_prefix (name, "_value"))
        {
          ext = node;
          ext_member = name;
        }
      else
        {
          g_autofree char *quoted = quote (name);

          fp_error (f, error, "%s: a Parameters part has no member %s", label, quoted);
          return FALSE;
        }
    }
  count = (value != NULL || ext != NULL) + (resource != NULL) + (parts != NULL);
  if (count != 1)
    {
      fp_error (f, error, "%s: %s", label,
                count == 0 ? "the part has no value (value[x], resource or parts)"
                : "the part has more than one value (value[x], resource, parts)");
      return FALSE;
    }

  if (value != NULL || ext != NULL)
    {
      const char *vname = value_member != NULL ? value_member : ext_member + 1;
      int choice = -1;

      if (value_member != NULL && ext_member != NULL && strcmp (value_member, ext_member + 1) != 0)
        {
          fp_error (f, error, "%s: %s and %s are values of two types", label, value_member,
                    ext_member);
          return FALSE;
        }
      if (charta_model_find_element (parameter_type_index (), vname, &choice) == NULL
          || choice < 0)
        {
          g_autofree char *quoted = quote (vname);

          fp_error (f, error, "%s: %s is not a value[x] of a Parameters part", label, quoted);
          return FALSE;
        }
      vt = choice;
      if ((is_primitive (vt) && value != NULL && !JSON_NODE_HOLDS_VALUE (value))
          || (!is_primitive (vt) && (value == NULL || !JSON_NODE_HOLDS_OBJECT (value)))
          || (ext != NULL && (!is_primitive (vt) || !JSON_NODE_HOLDS_OBJECT (ext))))
        {
          fp_error (f, error, "%s: %s is %s, not a %s", label, vname,
                    describe_node_type (value != NULL ? value : ext), type_name (vt));
          return FALSE;
        }
    }
  else if (resource != NULL)
    {
      const char *rt = JSON_NODE_HOLDS_OBJECT (resource)
                       ? string_member (json_node_get_object (resource), "resourceType") : NULL;

      vt = rt != NULL ? charta_model_find_type (rt) : -1;
      if (!is_resource_kind (vt))
        {
          fp_error (f, error, "%s: the part's resource is not a resource (it has no known "
                    "resourceType)", label);
          return FALSE;
        }
    }

  if (vt >= 0)
    {
      t = fit_type (def, vt);
      if (t < 0 || (forced >= 0 && t != forced))
        {
          g_autofree char *element = describe_element (def);

          fp_error (f, error, "%s: a %s value does not fit %s%s%s", label, type_name (vt),
                    element, forced >= 0 ? ", named as " : "",
                    forced >= 0 ? type_name (forced) : "");
          return FALSE;
        }
      out->type = t;
      if (value != NULL)
        out->value = copy_node (w, &from_parameters, value, FALSE, NULL, NULL, -1, -1);
      else if (resource != NULL)
        out->value = copy_node (w, &from_parameters, resource, FALSE, NULL, NULL, -1, -1);
      if (ext != NULL)
        out->ext = copy_node (w, &from_parameters, ext, FALSE, NULL, NULL, -1, -1);
      return TRUE;
    }

  /* Parts: a complex or backbone value, built child by child. */
  t = def->n_types == 1 ? charta_model_element_types[def->first_type].type : -1;
  if (t < 0 || is_primitive (t) || is_resource_kind (t) || !JSON_NODE_HOLDS_ARRAY (parts)
      || (forced >= 0 && forced != t))
    {
      g_autofree char *element = describe_element (def);

      fp_error (f, error, "%s: parts give the value of an element of one complex type; %s "
                "takes a value[x]%s", label, element, is_resource_kind (t) ? " or resource" : "");
      return FALSE;
    }
  if (depth >= CHARTA_DEFAULT_MAX_DEPTH)
    {
      op_error (&f->op, "path", f->fp->path, error, CHARTA_FHIR_ERROR_TOO_DEEP,
                "%s: the parts nest deeper than %u levels", label, CHARTA_DEFAULT_MAX_DEPTH);
      return FALSE;
    }
  {
    JsonArray *array = json_node_get_array (parts);
    JsonObject *object;
    g_autoptr(JsonNode) built = new_object_node (&object);

    for (unsigned i = 0; i < json_array_get_length (array); i++)
      {
        JsonNode *sub = json_array_get_element (array, i);
        const char *sub_name = JSON_NODE_HOLDS_OBJECT (sub)
                               ? string_member (json_node_get_object (sub), "name") : NULL;
        g_autofree char *sub_label = NULL;
        g_auto(Value) v = { 0 };
        const ChartaElementDef *sub_def;
        int sub_forced;

        if (sub_name == NULL)
          {
            fp_error (f, error, "%s: part %u has no name", label, i);
            return FALSE;
          }
        sub_label = g_strdup_printf ("%s.%s", label, sub_name);
        sub_def = find_element (t, sub_name, &sub_forced);
        if (sub_def == NULL)
          {
            g_autofree char *quoted = quote (sub_name);

            fp_error (f, error, "%s: %s has no element %s", label, type_name (t), quoted);
            return FALSE;
          }
        if (!fp_value (f, json_node_get_object (sub), sub_def, sub_forced, sub_label, depth + 1,
                       &v, error)
            || !put_value (f, object, t, sub_def, &v, sub_label, error))
          return FALSE;
      }
    if (json_object_get_size (object) == 0)
      {
        fp_error (f, error, "%s: the parts give no value", label);
        return FALSE;
      }
    out->value = g_steal_pointer (&built);
    out->type = t;
  }
  return TRUE;
}

/* The list that @items are (every item of one repeating element): its holder, member and
 * element definition. */
static gboolean
fp_list (const Fp                *f,
         GPtrArray               *items,
         JsonObject             **holder,
         const char             **member,
         const ChartaElementDef **def,
         GError                 **error)
{
  Loc first = { 0 }, loc = { 0 };
  unsigned length;
  int choice;

  for (unsigned i = 0; i < items->len; i++)
    {
      if (!fp_locate (f, g_ptr_array_index (items, i), i == 0 ? &first : &loc, error))
        return FALSE;
      if (i == 0)
        loc = first;
      if (loc.holder == NULL || loc.index < 0 || loc.holder != first.holder
          || strcmp (loc.member, first.member) != 0)
        {
          fp_error (f, error, "selects something that is not the items of one list");
          return FALSE;
        }
    }
  *holder = json_node_get_object (first.holder);
  *member = first.member;
  length = list_length (*holder, first.member);
  if (items->len != length)
    {
      fp_error (f, error, "selects %u of the %u items of %s: %s works on the whole list",
                items->len, length, first.member, f->op.name);
      return FALSE;
    }
  *def = find_element (first.holder_type, first.member, &choice);
  if (*def == NULL || (*def)->max == 1)
    {
      fp_error (f, error, "%s is not a repeating element of %s", first.member,
                type_name (first.holder_type));
      return FALSE;
    }
  return TRUE;
}

/* For an insert into an empty list: "Patient.identifier" gives the list's container
 * ("Patient") and its name. */
static gboolean
split_last_step (const char  *path,
                 char       **container,
                 const char **name)
{
  const char *dot = strrchr (path, '.');

  if (dot == NULL || dot == path || dot[1] == '\0'
      || !(g_ascii_isalpha (dot[1]) || dot[1] == '_'))
    return FALSE;
  for (const char *c = dot + 1; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c) && *c != '_')
      return FALSE;
  *container = g_strndup (path, (gsize) (dot - path));
  *name = dot + 1;
  return TRUE;
}

static gboolean
fp_add (const Fp   *f,
        GPtrArray  *items,
        GError    **error)
{
  g_auto(Value) v = { 0 };
  const ChartaElementDef *def;
  JsonObject *container;
  int type = -1, forced;

  if (items->len != 1)
    {
      g_autofree char *selection = describe_selection (items->len);
      g_autofree char *quoted = quote (f->fp->name);

      fp_error (f, error, "%s: add needs the one element to add %s to", selection, quoted);
      return FALSE;
    }
  container = fp_container (f, g_ptr_array_index (items, 0), &type, error);
  if (container == NULL)
    return FALSE;
  def = find_element (type, f->fp->name, &forced);
  if (def == NULL)
    {
      g_autofree char *quoted = quote (f->fp->name);

      fp_error (f, error, "%s has no element %s", type_name (type), quoted);
      return FALSE;
    }
  return fp_value (f, f->fp->value, def, forced, "value", 0, &v, error)
         && put_value (f, container, type, def, &v, "value", error);
}

static gboolean
fp_insert (const Fp   *f,
           GPtrArray  *items,
           GError    **error)
{
  g_auto(Value) v = { 0 };
  const ChartaElementDef *def;
  JsonObject *holder;
  const char *member;
  unsigned length;

  if (items->len == 0)
    {
      g_autofree char *container_path = NULL;
      g_autoptr(GPtrArray) containers = NULL;
      const char *name;
      int type = -1, forced;

      /* An empty list: found through what holds it. */
      if (!split_last_step (f->fp->path, &container_path, &name))
        {
          fp_error (f, error, "selects nothing, so there is no list to insert into");
          return FALSE;
        }
      containers = fp_select (f, container_path, error);
      if (containers == NULL)
        return FALSE;
      if (containers->len != 1)
        {
          fp_error (f, error, "selects nothing, and %s %s elements, so there is no one list to "
                    "insert into", container_path, containers->len == 0 ? "selects no" : "several");
          return FALSE;
        }
      holder = fp_container (f, g_ptr_array_index (containers, 0), &type, error);
      if (holder == NULL)
        return FALSE;
      def = find_element (type, name, &forced);
      if (def == NULL || def->max == 1 || forced >= 0)
        {
          g_autofree char *quoted = quote (name);

          fp_error (f, error, "%s is not a repeating element of %s", quoted, type_name (type));
          return FALSE;
        }
      member = def->name;
    }
  else if (!fp_list (f, items, &holder, &member, &def, error))
    return FALSE;

  length = list_length (holder, member);
  if ((unsigned) f->fp->at > length)
    {
      fp_error (f, error, "index %d is out of range: the list has %u item%s (0 to %u)",
                f->fp->at, length, length == 1 ? "" : "s", length);
      return FALSE;
    }
  if (!fp_value (f, f->fp->value, def, -1, "value", 0, &v, error))
    return FALSE;
  list_insert (holder, member, (unsigned) f->fp->at, g_steal_pointer (&v.value),
               g_steal_pointer (&v.ext));
  return TRUE;
}

static gboolean
fp_delete (const Fp   *f,
           GPtrArray  *items,
           GError    **error)
{
  JsonObject *holder;
  Loc loc;

  /* Deleting what is not there changes nothing (fhirpatch.html). */
  if (items->len == 0)
    return TRUE;
  if (items->len > 1)
    {
      fp_error (f, error, "selects %u elements: delete removes one", items->len);
      return FALSE;
    }
  if (!fp_locate (f, g_ptr_array_index (items, 0), &loc, error))
    return FALSE;
  if (loc.holder == NULL)
    {
      fp_error (f, error, "selects the resource itself, which a patch cannot delete");
      return FALSE;
    }
  holder = json_node_get_object (loc.holder);
  if (loc.index >= 0)
    {
      JsonNode *value, *ext;

      list_take (holder, loc.member, (unsigned) loc.index, &value, &ext);
      g_clear_pointer (&value, json_node_unref);
      g_clear_pointer (&ext, json_node_unref);
      list_tidy (holder, loc.member);
    }
  else
    remove_single (holder, loc.member);
  prune (f->op.w, loc.holder);
  return TRUE;
}

static gboolean
fp_replace (const Fp   *f,
            GPtrArray  *items,
            GError    **error)
{
  g_auto(Value) v = { 0 };
  const ChartaElementDef *def;
  JsonObject *holder;
  Loc loc;
  int choice;

  if (items->len != 1)
    {
      g_autofree char *selection = describe_selection (items->len);

      fp_error (f, error, "%s: replace needs exactly one", selection);
      return FALSE;
    }
  if (!fp_locate (f, g_ptr_array_index (items, 0), &loc, error))
    return FALSE;
  if (loc.holder == NULL)
    {
      fp_error (f, error, "selects the resource itself: replace changes its elements");
      return FALSE;
    }
  def = charta_model_find_element (loc.holder_type, loc.member, &choice);
  if (def == NULL)
    {
      g_autofree char *quoted = quote (loc.member);

      fp_error (f, error, "%s is not an element of %s", quoted, type_name (loc.holder_type));
      return FALSE;
    }
  if (!fp_value (f, f->fp->value, def, -1, "value", 0, &v, error))
    return FALSE;
  holder = json_node_get_object (loc.holder);
  if (loc.index >= 0)
    {
      JsonNode *value, *ext;

      list_take (holder, loc.member, (unsigned) loc.index, &value, &ext);
      g_clear_pointer (&value, json_node_unref);
      g_clear_pointer (&ext, json_node_unref);
      list_insert (holder, loc.member, (unsigned) loc.index, g_steal_pointer (&v.value),
                   g_steal_pointer (&v.ext));
      list_tidy (holder, loc.member);
    }
  else
    {
      g_autofree char *member = member_name (def, v.type);

      remove_single (holder, loc.member);
      set_single (holder, member, g_steal_pointer (&v.value), g_steal_pointer (&v.ext));
    }
  return TRUE;
}

static gboolean
fp_move (const Fp   *f,
         GPtrArray  *items,
         GError    **error)
{
  const ChartaElementDef *def;
  JsonObject *holder;
  const char *member;
  JsonNode *value, *ext;
  unsigned length;

  if (items->len == 0)
    {
      fp_error (f, error, "selects nothing: move needs a list");
      return FALSE;
    }
  if (!fp_list (f, items, &holder, &member, &def, error))
    return FALSE;
  length = list_length (holder, member);
  if ((unsigned) f->fp->source >= length || (unsigned) f->fp->destination >= length)
    {
      gboolean source_bad = (unsigned) f->fp->source >= length;

      fp_error (f, error, "%s %d is out of range: the list has %u item%s (0 to %u)",
                source_bad ? "source" : "destination",
                source_bad ? f->fp->source : f->fp->destination, length,
                length == 1 ? "" : "s", length - 1);
      return FALSE;
    }
  list_take (holder, member, (unsigned) f->fp->source, &value, &ext);
  list_insert (holder, member, (unsigned) f->fp->destination, value, ext);
  list_tidy (holder, member);
  return TRUE;
}

/* Applies operation @fp (NULL: none, a plain copy) to a copy of @current. */
static ChartaResource *
fp_step (ChartaResource  *resource,
         ChartaResource  *parameters,
         ChartaResource  *current,
         const FpOp      *fp,
         GError         **error)
{
  g_auto(Work) w = { 0 };
  g_autoptr(GPtrArray) items = NULL;
  Fp f = { { &w, 0, NULL }, fp, current, parameters };
  ChartaResource *next;
  gboolean ok = TRUE;

  if (fp != NULL)
    {
      f.op.index = fp->index;
      f.op.name = fp_names[fp->kind];
      items = fp_select (&f, fp->path, error);
      if (items == NULL)
        return NULL;
    }
  work_start (&w, resource, current, TRUE);
  if (fp != NULL)
    {
      switch (fp->kind)
        {
        case FP_ADD:
          ok = fp_add (&f, items, error);
          break;
        case FP_INSERT:
          ok = fp_insert (&f, items, error);
          break;
        case FP_DELETE:
          ok = fp_delete (&f, items, error);
          break;
        case FP_REPLACE:
          ok = fp_replace (&f, items, error);
          break;
        case FP_MOVE:
          ok = fp_move (&f, items, error);
          break;
        default:
          g_assert_not_reached ();
        }
      if (!ok || !check_identity (&f.op, "path", fp->path, error))
        return NULL;
    }
  next = work_finish (&w, error);
  if (next == NULL)
    {
      g_autofree char *prefix = fp != NULL ? op_prefix (&f.op, NULL, NULL) : NULL;

      g_prefix_error (error, "%s%s", prefix != NULL ? prefix : "",
                      prefix != NULL ? "the result: " : "the patched resource: ");
    }
  return next;
}

ChartaResource *
charta_patch_apply_fhirpath (ChartaResource  *resource,
                             ChartaResource  *parameters,
                             GError         **error)
{
  g_autoptr(GArray) ops = NULL;
  g_autoptr(ChartaResource) current = NULL;

  g_return_val_if_fail (resource != NULL, NULL);
  g_return_val_if_fail (parameters != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* The whole patch is read first: a malformed operation fails it before any is applied. */
  ops = g_array_new (FALSE, TRUE, sizeof (FpOp));
  if (!fp_parse (parameters, ops, error))
    return NULL;
  current = charta_resource_ref (resource);
  for (unsigned i = 0; i < MAX (ops->len, 1u); i++)
    {
      ChartaResource *next = fp_step (resource, parameters, current,
                                      ops->len > 0 ? &g_array_index (ops, FpOp, i) : NULL,
                                      error);

      if (next == NULL)
        return NULL;
      charta_resource_unref (current);
      current = next;
    }
  return g_steal_pointer (&current);
}
