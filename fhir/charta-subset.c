/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-subset.c: the parts of a resource that _summary and _elements ask for.
 *
 * What is kept is decided member by member (see charta-subset.h), and the kept members are
 * written as JSON text straight from @resource's tree, which is then parsed back into the new
 * resource: the resource API makes resources from text, and the text is where number texts
 * ("1.50") survive, taken from charta_resource_get_number_text() as each number is written.
 * The text written is not canonical (members keep the source's order); the copy's canonical
 * output orders them.  Writing recurses once per nesting level, which the source's depth limit
 * bounds; the copy is parsed back with the deepest limit there is, so whatever limits the
 * source was read with, its subset parses.
 *
 * _summary=true walks kept values with their model type: a backbone object keeps its summary
 * and modifier members, a data type object all members but Attachment.data, and a member
 * found empty afterwards (an object or array with nothing left) is taken back out of the
 * text, so the copy never holds an empty object or array that the source did not.
 */
#define G_LOG_DOMAIN "charta-subset"

#include <string.h>

#include "charta-fhir-error.h"
#include "charta-json-private.h"
#include "charta-model.h"
#include "charta-subset.h"

typedef struct
{
  ChartaResource *resource;
  GString        *out;
  int             attachment_type;  /* "Attachment": its data is left out of summaries */
} Subset;

typedef enum
{
  KEEP_NONE,
  KEEP_SUMMARY,  /* kept, walked with its type (_summary=true) */
  KEEP_WHOLE,
} Keep;

/* --- writing JSON ---------------------------------------------------------------------------- */

static void write_whole (Subset   *s,
                         JsonNode *node);

static void
write_number (Subset   *s,
              JsonNode *node)
{
  const char *text = charta_resource_get_number_text (s->resource, node);

  if (text != NULL)
    charta_string_append (s->out, text);
  else if (json_node_get_value_type (node) == G_TYPE_INT64)
    g_string_append_printf (s->out, "%" G_GINT64_FORMAT, json_node_get_int (node));
  else
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

      /* Not from our parser (no recorded text): the shortest text that reads back the same. */
      charta_string_append (s->out, g_ascii_dtostr (buf, sizeof buf, json_node_get_double (node)));
    }
}

/* The members of @object in document order; *names and *nodes are newly allocated. */
static unsigned
object_members (JsonObject   *object,
                const char ***names,
                JsonNode   ***nodes)
{
  unsigned n = json_object_get_size (object);

  *names = g_new (const char *, MAX (n, 1));
  *nodes = g_new (JsonNode *, MAX (n, 1));
  return charta_json_object_members (object, *names, *nodes);
}

/* Opens member @name of an object: a comma unless it is the object's first. */
static void
write_member_name (Subset     *s,
                   gboolean    first,
                   const char *name)
{
  if (!first)
    g_string_append_c (s->out, ',');
  charta_json_append_string (s->out, name);
  g_string_append_c (s->out, ':');
}

/* @node as it is. */
static void
write_whole (Subset   *s,
             JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        g_autofree const char **names = NULL;
        g_autofree JsonNode **nodes = NULL;
        unsigned n = object_members (json_node_get_object (node), &names, &nodes);

        g_string_append_c (s->out, '{');
        for (unsigned i = 0; i < n; i++)
          {
            write_member_name (s, i == 0, names[i]);
            write_whole (s, nodes[i]);
          }
        g_string_append_c (s->out, '}');
      }
      break;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        unsigned n = json_array_get_length (array);

        g_string_append_c (s->out, '[');
        for (unsigned i = 0; i < n; i++)
          {
            if (i > 0)
              g_string_append_c (s->out, ',');
            write_whole (s, json_array_get_element (array, i));
          }
        g_string_append_c (s->out, ']');
      }
      break;

    case JSON_NODE_NULL:
      charta_string_append (s->out, "null");
      break;

    case JSON_NODE_VALUE:
    default:
      {
        GType type = json_node_get_value_type (node);

        if (type == G_TYPE_STRING)
          charta_json_append_string (s->out, json_node_get_string (node));
        else if (type == G_TYPE_BOOLEAN)
          charta_string_append (s->out, json_node_get_boolean (node) ? "true" : "false");
        else
          write_number (s, node);
      }
      break;
    }
}

/* --- the model ------------------------------------------------------------------------------- */

/* The element that member @name of an object of @type gives a value of ("_name" the same as
 * "name"), NULL when the model has none; *value_type receives the value's type (for a choice,
 * the one its name says), or -1. */
static const ChartaElementDef *
lookup_member (int         type,
               const char *name,
               int        *value_type)
{
  const char *base = name[0] == '_' ? name + 1 : name;
  const ChartaElementDef *element;
  int choice_type = -1;

  *value_type = -1;
  element = charta_model_find_element (type, base, &choice_type);
  if (element == NULL)
    return NULL;
  if (choice_type >= 0)
    *value_type = choice_type;
  else if (element->n_types == 1)
    *value_type = charta_model_element_types[element->first_type].type;
  return element;
}

/* --- _summary=true --------------------------------------------------------------------------- */

/* Writes what _summary=true keeps of @node, a value of @type (-1: unknown), and returns FALSE
 * (having written nothing) when that is nothing: an object or array left empty. */
static gboolean
write_summary (Subset   *s,
               JsonNode *node,
               int       type)
{
  const ChartaTypeDef *def = charta_model_get_type (type);
  gsize start = s->out->len;
  gboolean any = FALSE;

  /* Primitives, resources (Bundle.entry.resource) and what the model does not know: whole. */
  if (def == NULL || def->kind == CHARTA_TYPE_KIND_PRIMITIVE
      || def->kind == CHARTA_TYPE_KIND_RESOURCE || JSON_NODE_HOLDS_VALUE (node)
      || JSON_NODE_HOLDS_NULL (node))
    {
      write_whole (s, node);
      return TRUE;
    }

  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      unsigned n = json_array_get_length (array);

      g_string_append_c (s->out, '[');
      for (unsigned i = 0; i < n; i++)
        {
          gsize mark = s->out->len;

          if (any)
            g_string_append_c (s->out, ',');
          if (write_summary (s, json_array_get_element (array, i), type))
            any = TRUE;
          else
            g_string_truncate (s->out, mark);
        }
      g_string_append_c (s->out, ']');
    }
  else
    {
      g_autofree const char **names = NULL;
      g_autofree JsonNode **nodes = NULL;
      unsigned n = object_members (json_node_get_object (node), &names, &nodes);
      gboolean backbone = def->kind == CHARTA_TYPE_KIND_BACKBONE;

      g_string_append_c (s->out, '{');
      for (unsigned i = 0; i < n; i++)
        {
          int value_type;
          const ChartaElementDef *element = lookup_member (type, names[i], &value_type);
          gsize mark = s->out->len;

          if (backbone)
            {
              /* A backbone's own children: the summary ones and the modifiers. */
              if (element == NULL || !(element->is_summary || element->is_modifier))
                continue;
            }
          else if (type == s->attachment_type && element != NULL
                   && strcmp (element->name, "data") == 0)
            continue;   /* "Other than Attachment.data, all data type properties" */

          write_member_name (s, !any, names[i]);
          if (write_summary (s, nodes[i], value_type))
            any = TRUE;
          else
            g_string_truncate (s->out, mark);
        }
      g_string_append_c (s->out, '}');
    }

  if (!any)
    g_string_truncate (s->out, start);
  return any;
}

/* --- top level ------------------------------------------------------------------------------- */

static gboolean
is_named (GPtrArray              *named,
          const ChartaElementDef *element)
{
  for (unsigned i = 0; i < named->len; i++)
    if (named->pdata[i] == element)
      return TRUE;
  return FALSE;
}

/* The elements of @type that @elements names (by element name, "value", or a choice's JSON
 * name, "valueQuantity"); names that are none are left out. */
static GPtrArray *
resolve_elements (int                 type,
                  const char * const *elements)
{
  GPtrArray *named = g_ptr_array_new ();

  for (size_t i = 0; elements[i] != NULL; i++)
    {
      const ChartaElementDef *element = charta_model_find_element_by_name (type, elements[i]);

      if (element == NULL)
        element = charta_model_find_element (type, elements[i], NULL);
      if (element != NULL && !is_named (named, element))
        g_ptr_array_add (named, (gpointer) element);
      else if (element == NULL)
        g_debug ("_elements: %s has no element “%s”; ignored",
                 charta_model_get_type (type)->name, elements[i]);
    }
  return named;
}

/* What becomes of top-level member @name (not resourceType or meta) of a resource of @type;
 * *value_type receives its value's type. */
static Keep
decide (int                  type,
        const char          *name,
        ChartaSearchSummary  summary,
        GPtrArray           *named,
        int                 *value_type)
{
  const ChartaElementDef *element = lookup_member (type, name, value_type);

  if (element == NULL)
    return summary == CHARTA_SEARCH_SUMMARY_DATA ? KEEP_WHOLE : KEEP_NONE;
  if (strcmp (element->name, "id") == 0 || strcmp (element->name, "meta") == 0)
    return KEEP_WHOLE;

  if (named != NULL
      && (is_named (named, element) || element->min >= 1 || element->is_modifier))
    return KEEP_WHOLE;

  switch (summary)
    {
    case CHARTA_SEARCH_SUMMARY_TRUE:
      if (element->is_summary || element->is_modifier || element->min >= 1)
        return KEEP_SUMMARY;
      break;
    case CHARTA_SEARCH_SUMMARY_TEXT:
      if (strcmp (element->name, "text") == 0 || element->min >= 1)
        return KEEP_WHOLE;
      break;
    case CHARTA_SEARCH_SUMMARY_DATA:
      if (strcmp (element->name, "text") != 0)
        return KEEP_WHOLE;
      break;
    case CHARTA_SEARCH_SUMMARY_FALSE:
    case CHARTA_SEARCH_SUMMARY_COUNT:
    default:
      break;
    }
  return KEEP_NONE;
}

static gboolean
string_member_is (JsonObject *object,
                  const char *name,
                  const char *value)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_STRING
         && strcmp (json_node_get_string (node), value) == 0;
}

static void
write_subsetted_tag (Subset *s)
{
  charta_string_append (s->out,
                        "{\"system\":\"" CHARTA_SUBSETTED_SYSTEM "\","
                        "\"code\":\"" CHARTA_SUBSETTED_CODE "\","
                        "\"display\":\"" CHARTA_SUBSETTED_DISPLAY "\"}");
}

/* meta.tag: the tags there are (@tags, NULL for none) and SUBSETTED unless one of them is. */
static void
write_tags (Subset    *s,
            JsonArray *tags)
{
  unsigned n = tags != NULL ? json_array_get_length (tags) : 0;
  gboolean present = FALSE;

  g_string_append_c (s->out, '[');
  for (unsigned i = 0; i < n; i++)
    {
      JsonNode *tag = json_array_get_element (tags, i);

      if (i > 0)
        g_string_append_c (s->out, ',');
      write_whole (s, tag);
      if (JSON_NODE_HOLDS_OBJECT (tag)
          && string_member_is (json_node_get_object (tag), "system", CHARTA_SUBSETTED_SYSTEM)
          && string_member_is (json_node_get_object (tag), "code", CHARTA_SUBSETTED_CODE))
        present = TRUE;
    }
  if (!present)
    {
      if (n > 0)
        g_string_append_c (s->out, ',');
      write_subsetted_tag (s);
    }
  g_string_append_c (s->out, ']');
}

/* The meta member: @meta (NULL when the resource has none) with the tag. */
static void
write_meta (Subset     *s,
            gboolean    first,
            JsonObject *meta)
{
  gboolean has_tag = FALSE;

  write_member_name (s, first, "meta");
  g_string_append_c (s->out, '{');
  if (meta != NULL)
    {
      g_autofree const char **names = NULL;
      g_autofree JsonNode **nodes = NULL;
      unsigned n = object_members (meta, &names, &nodes);

      for (unsigned i = 0; i < n; i++)
        {
          write_member_name (s, i == 0, names[i]);
          if (strcmp (names[i], "tag") == 0)
            {
              write_tags (s, json_node_get_array (nodes[i]));
              has_tag = TRUE;
            }
          else
            write_whole (s, nodes[i]);
        }
      if (!has_tag)
        write_member_name (s, n == 0, "tag");
    }
  else
    write_member_name (s, TRUE, "tag");
  if (!has_tag)
    write_tags (s, NULL);
  g_string_append_c (s->out, '}');
}

static const char *
node_kind (JsonNode *node)
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
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        return "a string";
      if (json_node_get_value_type (node) == G_TYPE_BOOLEAN)
        return "a boolean";
      return "a number";
    }
}

/* The resource's meta object (NULL when it has none), or FALSE with @error set when meta or
 * meta.tag does not have the shape the tag needs. */
static gboolean
get_meta (ChartaResource  *resource,
          JsonObject     **meta,
          GError         **error)
{
  JsonNode *node = json_object_get_member (charta_resource_get_object (resource), "meta");
  JsonNode *tag;
  const char *id = charta_resource_get_id (resource);

  *meta = NULL;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s/%s: meta is %s, not an object: the tag " CHARTA_SUBSETTED_CODE
                   " cannot be added",
                   charta_resource_get_resource_type (resource), id != NULL ? id : "(no id)",
                   node_kind (node));
      return FALSE;
    }
  tag = json_object_get_member (json_node_get_object (node), "tag");
  if (tag != NULL && !JSON_NODE_HOLDS_ARRAY (tag))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s/%s: meta.tag is %s, not an array: the tag " CHARTA_SUBSETTED_CODE
                   " cannot be added",
                   charta_resource_get_resource_type (resource), id != NULL ? id : "(no id)",
                   node_kind (tag));
      return FALSE;
    }
  *meta = json_node_get_object (node);
  return TRUE;
}

ChartaResource *
charta_resource_subset (ChartaResource      *resource,
                        ChartaSearchSummary  summary,
                        const char * const  *elements,
                        GError             **error)
{
  g_autoptr(GPtrArray) named = NULL;
  g_autoptr(GString) out = NULL;
  g_autofree const char **names = NULL;
  g_autofree JsonNode **nodes = NULL;
  ChartaParseLimits limits = { 0 };
  ChartaResource *subset;
  JsonObject *meta;
  Subset s;
  gboolean first = TRUE;
  unsigned n;
  int type;

  g_return_val_if_fail (resource != NULL, NULL);
  g_return_val_if_fail (summary == CHARTA_SEARCH_SUMMARY_FALSE
                        || summary == CHARTA_SEARCH_SUMMARY_TRUE
                        || summary == CHARTA_SEARCH_SUMMARY_TEXT
                        || summary == CHARTA_SEARCH_SUMMARY_DATA, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (summary == CHARTA_SEARCH_SUMMARY_FALSE && elements == NULL)
    return charta_resource_ref (resource);

  /* A resource's type is always one the model knows: its constructors refuse any other. */
  type = charta_model_find_type (charta_resource_get_resource_type (resource));
  g_assert (type >= 0);

  if (!get_meta (resource, &meta, error))
    return NULL;
  if (elements != NULL)
    named = resolve_elements (type, elements);

  out = g_string_sized_new (1024);
  s.resource = resource;
  s.out = out;
  s.attachment_type = charta_model_find_type ("Attachment");
  g_assert (s.attachment_type >= 0);

  n = object_members (charta_resource_get_object (resource), &names, &nodes);
  g_string_append_c (out, '{');
  for (unsigned i = 0; i < n; i++)
    {
      gsize mark = out->len;
      int value_type = -1;
      Keep keep;

      if (strcmp (names[i], "resourceType") == 0)
        keep = KEEP_WHOLE;
      else if (strcmp (names[i], "meta") == 0)
        {
          write_meta (&s, first, meta);
          first = FALSE;
          continue;
        }
      else
        keep = decide (type, names[i], summary, named, &value_type);

      if (keep == KEEP_NONE)
        continue;
      write_member_name (&s, first, names[i]);
      if (keep == KEEP_WHOLE)
        write_whole (&s, nodes[i]);
      else if (!write_summary (&s, nodes[i], value_type))
        {
          g_string_truncate (out, mark);
          continue;
        }
      first = FALSE;
    }
  if (meta == NULL)
    write_meta (&s, first, NULL);
  g_string_append_c (out, '}');

  /* Text written from a parsed tree parses; only the size and depth limits could refuse it,
   * so they are set to let it through. */
  limits.max_bytes = MAX (out->len, 1);
  limits.max_depth = CHARTA_JSON_MAX_DEPTH_CEILING;
  subset = charta_resource_new_from_data (out->str, out->len, &limits, error);
  if (subset == NULL)
    g_prefix_error (error, "subset of %s/%s: ", charta_resource_get_resource_type (resource),
                    charta_resource_get_id (resource) != NULL
                      ? charta_resource_get_id (resource) : "(no id)");
  return subset;
}
