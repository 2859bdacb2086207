/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-resource.c: ChartaResource, its canonical JSON, and reading files and NDJSON.
 *
 * A top-level resource owns a ChartaJsonDocument (the sealed tree and the recorded number
 * texts, see charta-json-private.h); a nested one (a Bundle entry, a contained resource) holds
 * a reference on its parent and points into the same tree.  Everything is immutable after
 * construction except one lazily filled cache, the texts of plain integers handed out by
 * charta_resource_get_number_text(), which a mutex guards; so a resource may be shared across
 * threads.
 *
 * charta_resource_new_edited() makes the resource that parsing an edited canonical text would
 * give without parsing anything: a new tree only along the paths that the edits change (the
 * root, meta, the objects above a rewritten reference), every other subtree shared (sealed,
 * reference counted) with the source resource, which it keeps alive and whose recorded number
 * texts it reads.  Shared nodes keep their parent pointers into the source's tree.
 *
 * charta_resource_new_lazy() (for the store: its own canonical bodies) makes a resource that
 * knows its type, id and meta and parses its text only when something first asks for the
 * tree: every function that reads the tree goes through ensure_tree().
 *
 * Canonical JSON is written here, not by json-glib's generator, because numbers must keep the
 * text they were written with.  Members follow the R4 definition order of the object's type
 * (resourceType first; "_name" right after "name"); members the model does not know keep
 * their relative order after the known ones.  The writer recurses once per nesting level,
 * which the depth limit bounds.
 */
#define G_LOG_DOMAIN "charta-resource"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "charta-fhir-error.h"
#include "charta-json-private.h"
#include "charta-search-index-private.h"
#include "charta-model.h"
#include "charta-resource.h"
#include "charta-resource-private.h"

struct _ChartaResource
{
  gatomicrefcount     ref_count;
  ChartaResource     *parent;       /* nested: the resource whose tree this is in, else NULL */
  ChartaResource     *top;          /* the resource that owns the document (self if top-level) */
  ChartaJsonDocument  doc;          /* top-level only */
  size_t              length;       /* top-level only: bytes parsed, to size the output */
  JsonNode           *node;         /* this resource's object node */
  JsonObject         *object;
  int                 type;         /* model type index */
  const char         *resource_type;
  const char         *id;
  const char         *version_id;
  const char         *last_updated;
  GMutex              lock;         /* top-level only: guards int_texts */
  GHashTable         *int_texts;    /* JsonNode * → char *: plain integers' texts, on demand */
  ChartaResource     *source;       /* top-level only: for a resource made by
                                     * charta_resource_new_edited(), the resource whose tree
                                     * its unedited parts are shared with, else NULL */
  char               *lazy_data;    /* top-level only: for a resource made by
                                     * charta_resource_new_lazy(), its JSON, parsed into @doc
                                     * on first use (@lazy_ready) */
  gsize               lazy_ready;
  char               *lazy_names;   /* its type, id, versionId and lastUpdated */
};

G_DEFINE_BOXED_TYPE (ChartaResource, charta_resource, charta_resource_ref, charta_resource_unref)

/* --- construction ---------------------------------------------------------------------------- */

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

/* @str quoted for a message, cut after 64 characters. */
static char *
quote_for_message (const char *str)
{
  g_autoptr(GString) out = g_string_new (NULL);

  if (g_utf8_strlen (str, 65) > 64)
    {
      g_autofree char *head = g_utf8_substring (str, 0, 64);

      charta_json_append_string (out, head);
      g_string_insert (out, out->len - 1, "…");
    }
  else
    charta_json_append_string (out, str);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static const char *
get_string_member (JsonObject *object,
                   const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* Checks that @node is a resource and fills the fields that describe it. */
static gboolean
describe_resource (ChartaResource *self,
                   JsonNode       *node,
                   GError        **error)
{
  JsonNode *type_node, *meta;
  const char *type;
  int index;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_NOT_RESOURCE,
                   "the JSON value is %s, not an object: a FHIR resource is a JSON object with "
                   "a \"resourceType\"", describe_node_type (node));
      return FALSE;
    }
  self->node = node;
  self->object = json_node_get_object (node);

  type_node = json_object_get_member (self->object, "resourceType");
  if (type_node == NULL)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_NOT_RESOURCE,
                   "the object has no \"resourceType\": a FHIR resource must name its type "
                   "(\"resourceType\": \"Patient\")");
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_VALUE (type_node) || json_node_get_value_type (type_node) != G_TYPE_STRING)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_NOT_RESOURCE,
                   "\"resourceType\" is %s; it must be a string naming an R4 resource type",
                   describe_node_type (type_node));
      return FALSE;
    }
  type = json_node_get_string (type_node);
  index = charta_model_find_type (type);
  if (index < 0 || !charta_model_is_resource_type (type))
    {
      g_autofree char *quoted = quote_for_message (type);
      const ChartaTypeDef *def = charta_model_get_type (index);

      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_NOT_RESOURCE,
                   "resourceType %s is not an R4 resource type%s", quoted,
                   def == NULL ? ""
                   : def->kind != CHARTA_TYPE_KIND_RESOURCE ? " (it is a data type)"
                   : " (it is abstract)");
      return FALSE;
    }
  self->type = index;
  self->resource_type = type;
  self->id = get_string_member (self->object, "id");
  meta = json_object_get_member (self->object, "meta");
  if (meta != NULL && JSON_NODE_HOLDS_OBJECT (meta))
    {
      self->version_id = get_string_member (json_node_get_object (meta), "versionId");
      self->last_updated = get_string_member (json_node_get_object (meta), "lastUpdated");
    }
  return TRUE;
}

static ChartaResource *
parse_resource (const char              *data,
                size_t                   length,
                const ChartaParseLimits *limits,
                unsigned                 first_line,
                GError                 **error)
{
  ChartaResource *self = g_new0 (ChartaResource, 1);

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  self->top = self;
  self->length = length;
  if (!charta_json_parse (data, length, limits, first_line, &self->doc, error)
      || !describe_resource (self, self->doc.root, error))
    {
      charta_resource_unref (self);
      return NULL;
    }
  return self;
}

ChartaResource *
charta_resource_new_from_data (const char              *data,
                               size_t                   length,
                               const ChartaParseLimits *limits,
                               GError                 **error)
{
  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return parse_resource (data, length, limits, 1, error);
}

ChartaResource *
charta_resource_new_from_bytes (GBytes                  *bytes,
                                const ChartaParseLimits *limits,
                                GError                 **error)
{
  const char *data;
  size_t length;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (bytes, &length);
  return parse_resource (data != NULL ? data : "", length, limits, 1, error);
}

/* TRUE when @node is @ancestor or inside it. */
static gboolean
node_is_within (JsonNode *node,
                JsonNode *ancestor)
{
  for (; node != NULL; node = json_node_get_parent (node))
    if (node == ancestor)
      return TRUE;
  return FALSE;
}

/* Parses a lazy resource's text the first time its tree is needed (any thread; once). */
static inline void
ensure_tree (ChartaResource *self)
{
  ChartaResource *top = self->top;

  if (G_LIKELY (top->lazy_data == NULL))
    return;
  if (g_once_init_enter (&top->lazy_ready))
    {
      g_autoptr(GError) error = NULL;

      if (charta_json_parse (top->lazy_data, top->length, NULL, 1, &top->doc, &error)
          && JSON_NODE_HOLDS_OBJECT (top->doc.root))
        {
          top->node = top->doc.root;
          top->object = json_node_get_object (top->node);
        }
      else
        /* Names only: the parser's message may quote the body. */
        g_critical ("%s/%s: a body the store wrote does not parse", top->resource_type,
                    top->id != NULL ? top->id : "");
      g_once_init_leave (&top->lazy_ready, 1);
    }
}

ChartaResource *
charta_resource_new_lazy (char       *data,
                          size_t      length,
                          const char *resource_type,
                          const char *id,
                          const char *version_id,
                          const char *last_updated)
{
  const char *names[4] = { resource_type, id, version_id, last_updated };
  size_t lengths[4], total = 0, at = 0;
  ChartaResource *self;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (resource_type != NULL, NULL);

  self = g_new0 (ChartaResource, 1);
  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  self->top = self;
  self->lazy_data = data;
  self->length = length;
  self->type = charta_model_find_type (resource_type);
  /* The four names in one allocation. */
  for (unsigned i = 0; i < 4; i++)
    total += lengths[i] = names[i] != NULL ? strlen (names[i]) + 1 : 0;
  self->lazy_names = g_malloc (MAX (total, 1));
  for (unsigned i = 0; i < 4; i++)
    {
      const char **field[4] = { &self->resource_type, &self->id, &self->version_id,
                                &self->last_updated };

      if (names[i] == NULL)
        continue;
      memcpy (self->lazy_names + at, names[i], lengths[i]);
      *field[i] = self->lazy_names + at;
      at += lengths[i];
    }
  return self;
}

static gboolean node_is_in_tree (ChartaResource *self,
                                 JsonNode       *node);

ChartaResource *
charta_resource_new_nested (ChartaResource  *parent,
                            JsonNode        *node,
                            GError         **error)
{
  ChartaResource *self;

  g_return_val_if_fail (parent != NULL, NULL);
  g_return_val_if_fail (node != NULL, NULL);
  ensure_tree (parent);
  g_return_val_if_fail (node_is_in_tree (parent, node), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_new0 (ChartaResource, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->parent = charta_resource_ref (parent);
  self->top = parent->top;
  if (!describe_resource (self, node, error))
    {
      charta_resource_unref (self);
      return NULL;
    }
  return self;
}

ChartaResource *
charta_resource_ref (ChartaResource *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
charta_resource_unref (ChartaResource *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  if (self->parent != NULL)
    charta_resource_unref (self->parent);
  else
    {
      charta_json_document_clear (&self->doc);
      g_clear_pointer (&self->int_texts, g_hash_table_unref);
      g_clear_pointer (&self->source, charta_resource_unref);
      g_free (self->lazy_data);
      g_free (self->lazy_names);
      g_mutex_clear (&self->lock);
    }
  g_free (self);
}

/* --- accessors ------------------------------------------------------------------------------- */

const char *
charta_resource_get_resource_type (ChartaResource *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->resource_type;
}

const char *
charta_resource_get_id (ChartaResource *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->id;
}

const char *
charta_resource_get_version_id (ChartaResource *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->version_id;
}

const char *
charta_resource_get_last_updated (ChartaResource *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->last_updated;
}

JsonNode *
charta_resource_get_root (ChartaResource *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  ensure_tree (self);
  return self->node;
}

JsonObject *
charta_resource_get_object (ChartaResource *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  ensure_tree (self);
  return self->object;
}

/* The text recorded for number @node when it was parsed: in this resource's document, or for
 * an edited resource in its source's (the node is shared with it). */
static inline const char *
recorded_number_text (ChartaResource *self,
                      JsonNode       *node)
{
  for (ChartaResource *top = self->top; top != NULL;
       top = top->source != NULL ? top->source->top : NULL)
    {
      GHashTable *numbers = top->doc.numbers;
      const char *text = numbers != NULL ? g_hash_table_lookup (numbers, node) : NULL;

      if (text != NULL)
        return text;
    }
  return NULL;
}

/* TRUE when @node is in @self's tree (for an edited resource: its own nodes, or its source's,
 * where its shared nodes have their parents). */
static gboolean
node_is_in_tree (ChartaResource *self,
                 JsonNode       *node)
{
  for (; self != NULL; self = self->top->source)
    if (node_is_within (node, self->node))
      return TRUE;
  return FALSE;
}

const char *
charta_resource_get_number_text (ChartaResource *self,
                                 JsonNode       *node)
{
  ChartaResource *top;
  const char *text;
  GType type;

  g_return_val_if_fail (self != NULL, NULL);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  type = json_node_get_value_type (node);
  if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
    return NULL;
  ensure_tree (self);
  if (!node_is_in_tree (self, node))
    return NULL;

  text = recorded_number_text (self, node);
  if (text != NULL || type == G_TYPE_DOUBLE)
    return text;

  /* A plain integer: its text is its value printed, made once and kept. */
  top = self->top;
  g_mutex_lock (&top->lock);
  if (top->int_texts == NULL)
    top->int_texts = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  text = g_hash_table_lookup (top->int_texts, node);
  if (text == NULL)
    {
      char *made = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));

      g_hash_table_insert (top->int_texts, node, made);
      text = made;
    }
  g_mutex_unlock (&top->lock);
  return text;
}

/* --- canonical JSON -------------------------------------------------------------------------- */

typedef struct
{
  GString                   *out;
  ChartaResource            *resource;
  gboolean                   pretty;
  int                        element_type;    /* "Element", the type of "_name" objects */
  int                        reference_type;  /* "Reference" */
  const ChartaResourceEdits *edits;           /* NULL for plain canonical output */
  JsonObject                *edit_root;       /* the object whose id and meta @edits set */
  JsonObject                *edit_meta;       /* its meta object, NULL when it has none */
  gboolean                   build;           /* also build the edited tree (see
                                               * charta_resource_new_edited()) */
  GString                   *content;         /* edits->content, NULL when not asked */
  unsigned                   naming;          /* inside members whose strings name things */
} Writer;

typedef enum
{
  MEMBER_NODE,        /* write the member's node */
  MEMBER_STRING,      /* write @string instead (an edited id, versionId, reference…) */
  MEMBER_NEW_META,    /* write a new meta object holding the edited versionId/lastUpdated */
} MemberKind;

typedef struct
{
  const char *name;
  JsonNode   *node;
  int         type;   /* model type of the value (of each element for an array), or -1 */
  unsigned    order;  /* sort key: definition order, G_MAXUINT for unknown members */
  unsigned    seq;    /* position in the original object */
  MemberKind  kind;
  const char *string; /* MEMBER_STRING: the value to write */
} Member;

static JsonNode *write_node (Writer   *w,
                             JsonNode *node,
                             int       type,
                             unsigned  indent);

static inline void
write_newline (Writer   *w,
               unsigned  indent)
{
  g_string_append_c (w->out, '\n');
  for (unsigned i = 0; i < indent; i++)
    charta_string_append (w->out, "  ");
}

static void
write_number (Writer   *w,
              JsonNode *node)
{
  const char *text = recorded_number_text (w->resource, node);

  if (text != NULL)
    charta_string_append (w->out, text);
  else if (json_node_get_value_type (node) == G_TYPE_INT64)
    g_string_append_printf (w->out, "%" G_GINT64_FORMAT, json_node_get_int (node));
  else
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

      /* Not from our parser (no recorded text): the shortest text that reads back the same. */
      charta_string_append (w->out,
                            g_ascii_dtostr (buf, sizeof buf, json_node_get_double (node)));
    }
}

/* The model type of member @name of an object of @type, and its place in the canonical order. */
static void
classify_member (Writer     *w,
                 int         type,
                 Member     *member)
{
  const ChartaTypeDef *def = charta_model_get_type (type);
  const ChartaElementDef *element;
  const char *name = member->name;
  gboolean underscore = FALSE;
  int choice_type = -1;

  member->type = -1;
  member->order = G_MAXUINT;
  if (def == NULL)
    return;
  if (def->kind == CHARTA_TYPE_KIND_RESOURCE && strcmp (name, "resourceType") == 0)
    {
      member->order = 0;
      return;
    }
  if (name[0] == '_' && name[1] != '\0')
    {
      underscore = TRUE;
      name++;
    }
  element = charta_model_find_element (type, name, &choice_type);
  if (element == NULL)
    return;

  member->order = 2 + 2 * (unsigned) (element - &charta_model_elements[def->first_element])
                  + (underscore ? 1 : 0);
  if (underscore)
    member->type = w->element_type;
  else if (choice_type >= 0)
    member->type = choice_type;
  else if (element->n_types == 1)
    member->type = charta_model_element_types[element->first_type].type;
}

static void
sort_members (Member   *members,
              unsigned  n)
{
  /* Insertion sort: objects are small and often nearly in order already; stable by seq. */
  for (unsigned i = 1; i < n; i++)
    {
      Member m = members[i];
      unsigned j = i;

      while (j > 0 && (members[j - 1].order > m.order
                       || (members[j - 1].order == m.order && members[j - 1].seq > m.seq)))
        {
          members[j] = members[j - 1];
          j--;
        }
      members[j] = m;
    }
}

/* Edits of the object being written: @name is set to the string @value, replacing the member
 * of that name or added when there is none. */
static void
edit_member (Writer     *w,
             int         type,
             Member     *members,
             unsigned   *n,
             const char *name,
             const char *value)
{
  for (unsigned i = 0; i < *n; i++)
    if (strcmp (members[i].name, name) == 0)
      {
        members[i].kind = MEMBER_STRING;
        members[i].string = value;
        return;
      }
  members[*n].name = name;
  members[*n].node = NULL;
  members[*n].seq = *n;
  members[*n].kind = MEMBER_STRING;
  members[*n].string = value;
  classify_member (w, type, &members[*n]);
  (*n)++;
}

static JsonNode *write_object (Writer     *w,
                               JsonObject *object,
                               int         type,
                               unsigned    indent);

/* A new string node (building edited trees). */
static JsonNode *
new_string_node (const char *value)
{
  JsonNode *node = json_node_alloc ();

  json_node_init_string (node, value);
  return node;
}

/* A new object or array node holding @object or @array (taken), the parent of @children
 * (new nodes of the edited tree; the shared ones keep their parents). */
static JsonNode *
new_container_node (JsonObject *object,
                    JsonArray  *array,
                    JsonNode  **children,
                    unsigned    n)
{
  JsonNode *node = json_node_alloc ();

  if (object != NULL)
    {
      json_node_init (node, JSON_NODE_OBJECT);
      json_node_take_object (node, object);
    }
  else
    {
      json_node_init (node, JSON_NODE_ARRAY);
      json_node_take_array (node, array);
    }
  for (unsigned i = 0; i < n; i++)
    if (children[i] != NULL)
      json_node_set_parent (children[i], node);
  return node;
}

/* The meta object that edits create when the resource has none; when building, returns its
 * node. */
static JsonNode *
write_new_meta (Writer   *w,
                unsigned  indent)
{
  const char *names[2] = { "versionId", "lastUpdated" };
  const char *values[2] = { w->edits->version_id, w->edits->last_updated };
  JsonNode *children[2] = { NULL, NULL };
  JsonObject *object = NULL;
  gboolean first = TRUE;

  g_string_append_c (w->out, '{');
  for (unsigned i = 0; i < 2; i++)
    {
      if (values[i] == NULL)
        continue;
      if (!first)
        g_string_append_c (w->out, ',');
      first = FALSE;
      if (w->pretty)
        write_newline (w, indent + 1);
      charta_json_append_string (w->out, names[i]);
      charta_string_append (w->out, w->pretty ? ": " : ":");
      charta_json_append_string (w->out, values[i]);
      if (w->build)
        {
          if (object == NULL)
            object = json_object_new ();
          children[i] = new_string_node (values[i]);
          json_object_set_member (object, names[i], children[i]);
        }
    }
  if (w->pretty)
    write_newline (w, indent);
  g_string_append_c (w->out, '}');
  if (!w->build)
    return NULL;
  return new_container_node (object != NULL ? object : json_object_new (), NULL, children, 2);
}

/* Fills @members with @object's members (classified, references rewritten), in input order
 * when @ordered, else in the hash table's; returns how many. */
static unsigned
collect_members (Writer     *w,
                 JsonObject *object,
                 int         type,
                 gboolean    is_reference,
                 gboolean    ordered,
                 Member     *members)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  unsigned i = 0;

  if (ordered)
    json_object_iter_init_ordered (&iter, object);
  else
    json_object_iter_init (&iter, object);
  while (ordered ? json_object_iter_next_ordered (&iter, &name, &node)
                 : json_object_iter_next (&iter, &name, &node))
    {
      members[i].name = name;
      members[i].node = node;
      members[i].seq = i;
      members[i].kind = MEMBER_NODE;
      members[i].string = NULL;
      classify_member (w, type, &members[i]);
      if (is_reference && strcmp (name, "reference") == 0 && JSON_NODE_HOLDS_VALUE (node)
          && json_node_get_value_type (node) == G_TYPE_STRING)
        {
          const char *replacement = w->edits->rewrite_reference (json_node_get_string (node),
                                                                 w->edits->user_data);

          if (replacement != NULL)
            {
              members[i].kind = MEMBER_STRING;
              members[i].string = replacement;
            }
        }
      i++;
    }
  g_assert (i == json_object_get_size (object));
  return i;
}

/* Writes @object; when building, returns its node in the edited tree if anything in it changed
 * (NULL when it is shared unchanged). */
static JsonNode *
write_object (Writer     *w,
              JsonObject *object,
              int         type,
              unsigned    indent)
{
  const ChartaTypeDef *def = charta_model_get_type (type);
  unsigned n = json_object_get_size (object);
  Member stack_members[16];
  g_autofree Member *heap_members = NULL;
  Member *members = stack_members;
  unsigned i = 0;
  gboolean is_root = w->edits != NULL && object == w->edit_root;
  gboolean is_meta = w->edits != NULL && object == w->edit_meta;
  gboolean is_reference = w->edits != NULL && w->edits->rewrite_reference != NULL
                          && type == w->reference_type && type >= 0;
  JsonNode *stack_children[18];
  g_autofree JsonNode **heap_children = NULL;
  JsonNode **children = NULL;
  JsonObject *edited;
  gboolean changed = FALSE;

  if (n == 0 && !is_meta)
    {
      charta_string_append (w->out, "{}");
      return NULL;
    }

  /* An element typed Resource (contained, Bundle.entry.resource, …) holds some resource: its
   * own resourceType says which. */
  if (def != NULL && def->kind == CHARTA_TYPE_KIND_RESOURCE)
    {
      const char *own = get_string_member (object, "resourceType");

      type = own != NULL ? charta_model_find_type (own) : -1;
      def = charta_model_get_type (type);
      if (def == NULL || def->kind != CHARTA_TYPE_KIND_RESOURCE)
        type = -1;
    }

  /* Edits may add two members. */
  if (n + 2 > G_N_ELEMENTS (stack_members))
    members = heap_members = g_new (Member, n + 2);
  /* json-glib's ordered iteration looks every member up again by name; the hash table's own
   * order costs nothing, and sorting by definition order makes it irrelevant, unless a member
   * has no place in the definition (unknown ones keep their input order) or two share one (a
   * name given twice as a choice): then the members are read again in input order. */
  for (gboolean ordered = FALSE;; ordered = TRUE)
    {
      gboolean ambiguous = FALSE;

      n = collect_members (w, object, type, is_reference, ordered, members);
      if (is_root)
        {
          if (w->edits->id != NULL)
            edit_member (w, type, members, &n, "id", w->edits->id);
          if (w->edit_meta == NULL
              && (w->edits->version_id != NULL || w->edits->last_updated != NULL))
            {
              members[n].name = "meta";
              members[n].node = NULL;
              members[n].seq = n;
              members[n].kind = MEMBER_NEW_META;
              members[n].string = NULL;
              classify_member (w, type, &members[n]);
              n++;
            }
        }
      else if (is_meta)
        {
          if (w->edits->version_id != NULL)
            edit_member (w, type, members, &n, "versionId", w->edits->version_id);
          if (w->edits->last_updated != NULL)
            edit_member (w, type, members, &n, "lastUpdated", w->edits->last_updated);
          if (n == 0)
            {
              charta_string_append (w->out, "{}");
              return NULL;
            }
        }
      sort_members (members, n);
      for (i = 0; i < n && !ordered && !ambiguous; i++)
        ambiguous = members[i].order == G_MAXUINT
                    || (i > 0 && members[i].order == members[i - 1].order);
      if (!ambiguous)
        break;
    }
  if (w->build)
    children = n <= G_N_ELEMENTS (stack_children) ? stack_children
                                                 : (heap_children = g_new (JsonNode *, n));
  g_string_append_c (w->out, '{');
  for (i = 0; i < n; i++)
    {
      JsonNode *child = NULL;

      if (i > 0)
        g_string_append_c (w->out, ',');
      if (w->pretty)
        write_newline (w, indent + 1);
      charta_json_append_string (w->out, members[i].name);
      charta_string_append (w->out, w->pretty ? ": " : ":");
      switch (members[i].kind)
        {
        case MEMBER_STRING:
          charta_json_append_string (w->out, members[i].string);
          if (w->build)
            child = new_string_node (members[i].string);
          break;
        case MEMBER_NEW_META:
          child = write_new_meta (w, indent + 1);
          break;
        case MEMBER_NODE:
        default:
          {
            gboolean naming = w->content != NULL
                              && charta_search_text_is_naming_member (members[i].name);

            w->naming += naming;
            child = write_node (w, members[i].node, members[i].type, indent + 1);
            w->naming -= naming;
          }
          break;
        }
      if (children != NULL)
        children[i] = child;
      changed |= child != NULL;
    }
  if (w->pretty)
    write_newline (w, indent);
  g_string_append_c (w->out, '}');

  if (!changed)
    return NULL;
  /* Something inside changed: a new object, members in canonical order as parsing the text
   * would give, the unchanged ones shared. */
  edited = json_object_new ();
  for (i = 0; i < n; i++)
    json_object_set_member (edited, members[i].name,
                            children[i] != NULL ? children[i] : json_node_ref (members[i].node));
  return new_container_node (edited, NULL, children, n);
}

/* Writes @node; when building, returns its node in the edited tree if anything in it changed
 * (NULL when it is shared unchanged). */
static JsonNode *
write_node (Writer   *w,
            JsonNode *node,
            int       type,
            unsigned  indent)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      return write_object (w, json_node_get_object (node), type, indent);

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        unsigned n = json_array_get_length (array);
        JsonNode *stack_children[16];
        g_autofree JsonNode **heap_children = NULL;
        JsonNode **children = NULL;
        JsonArray *edited;
        gboolean changed = FALSE;

        if (n == 0)
          {
            charta_string_append (w->out, "[]");
            break;
          }
        if (w->build)
          children = n <= G_N_ELEMENTS (stack_children) ? stack_children
                                                       : (heap_children = g_new (JsonNode *, n));
        g_string_append_c (w->out, '[');
        for (unsigned i = 0; i < n; i++)
          {
            JsonNode *child;

            if (i > 0)
              g_string_append_c (w->out, ',');
            if (w->pretty)
              write_newline (w, indent + 1);
            child = write_node (w, json_array_get_element (array, i), type, indent + 1);
            if (children != NULL)
              children[i] = child;
            changed |= child != NULL;
          }
        if (w->pretty)
          write_newline (w, indent);
        g_string_append_c (w->out, ']');
        if (!changed)
          break;
        edited = json_array_sized_new (n);
        for (unsigned i = 0; i < n; i++)
          json_array_add_element (edited, children[i] != NULL
                                          ? children[i]
                                          : json_node_ref (json_array_get_element (array, i)));
        return new_container_node (NULL, edited, children, n);
      }

    case JSON_NODE_NULL:
      charta_string_append (w->out, "null");
      break;

    case JSON_NODE_VALUE:
      {
        GType value_type = json_node_get_value_type (node);

        if (value_type == G_TYPE_STRING)
          {
            charta_json_append_string (w->out, json_node_get_string (node));
            if (w->content != NULL && w->naming == 0)
              {
                if (w->content->len > 0)
                  g_string_append_c (w->content, ' ');
                charta_string_append (w->content, json_node_get_string (node));
              }
          }
        else if (value_type == G_TYPE_BOOLEAN)
          charta_string_append (w->out, json_node_get_boolean (node) ? "true" : "false");
        else
          write_number (w, node);
      }
      break;

    default:
      g_assert_not_reached ();
    }
  return NULL;
}

static int
element_type_index (void)
{
  static int index = -2;
  int value = g_atomic_int_get (&index);

  if (value == -2)
    {
      value = charta_model_find_type ("Element");
      g_atomic_int_set (&index, value);
    }
  return value;
}

static int
reference_type_index (void)
{
  static int index = -2;
  int value = g_atomic_int_get (&index);

  if (value == -2)
    {
      value = charta_model_find_type ("Reference");
      g_atomic_int_set (&index, value);
    }
  return value;
}

/* The canonical text of @self, with @edits when not NULL; with @built, also the edited tree
 * (its root, a new node: edits always change the root). */
static GString *
write_canonical (ChartaResource            *self,
                 gboolean                   pretty,
                 const ChartaResourceEdits *edits,
                 JsonNode                 **built)
{
  JsonNode *root;
  Writer w;

  ensure_tree (self);
  w.out = g_string_sized_new (self->parent == NULL ? self->length + self->length / 8 + 256
                                                   : 1024);
  w.resource = self;
  w.pretty = pretty;
  w.element_type = element_type_index ();
  w.reference_type = reference_type_index ();
  w.edits = edits;
  w.edit_root = NULL;
  w.edit_meta = NULL;
  w.build = built != NULL;
  w.content = edits != NULL ? edits->content : NULL;
  w.naming = 0;
  if (edits != NULL)
    {
      JsonNode *meta = json_object_get_member (self->object, "meta");

      w.edit_root = self->object;
      if (meta != NULL && JSON_NODE_HOLDS_OBJECT (meta))
        w.edit_meta = json_node_get_object (meta);
    }
  root = write_node (&w, self->node, self->type, 0);
  if (built != NULL)
    *built = root != NULL ? root : json_node_ref (self->node);
  else
    g_assert (root == NULL);
  return w.out;
}

char *
charta_resource_to_json (ChartaResource *self,
                         gboolean        pretty,
                         size_t         *length)
{
  GString *out;

  g_return_val_if_fail (self != NULL, NULL);

  /* A lazy resource's text is canonical already: no parse, no writing. */
  if (!pretty && self->top == self && self->lazy_data != NULL)
    {
      if (length != NULL)
        *length = self->length;
      return g_strndup (self->lazy_data, self->length);
    }
  out = write_canonical (self, pretty, NULL, NULL);
  if (length != NULL)
    *length = out->len;
  return g_string_free (out, FALSE);
}

char *
charta_resource_to_json_edited (ChartaResource            *self,
                                const ChartaResourceEdits *edits,
                                size_t                    *length)
{
  GString *out;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (edits != NULL, NULL);

  out = write_canonical (self, FALSE, edits, NULL);
  if (length != NULL)
    *length = out->len;
  return g_string_free (out, FALSE);
}

ChartaResource *
charta_resource_new_edited (ChartaResource            *self,
                            const ChartaResourceEdits *edits,
                            char                     **json,
                            size_t                    *length)
{
  ChartaResource *edited;
  JsonNode *root = NULL;
  size_t out_length;
  GString *out;
  gboolean ok;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (edits != NULL, NULL);

  out = write_canonical (self, FALSE, edits, &root);
  out_length = out->len;
  if (length != NULL)
    *length = out_length;
  if (json != NULL)
    *json = g_string_free (out, FALSE);
  else
    g_string_free (out, TRUE);

  json_node_seal (root);
  edited = g_new0 (ChartaResource, 1);
  g_atomic_ref_count_init (&edited->ref_count);
  g_mutex_init (&edited->lock);
  edited->top = edited;
  edited->source = charta_resource_ref (self);
  edited->doc.root = root;
  edited->length = out_length;
  ok = describe_resource (edited, root, NULL);
  g_assert (ok);  /* the edits keep the source's resourceType */
  return edited;
}

GBytes *
charta_resource_to_bytes (ChartaResource *self,
                          gboolean        pretty)
{
  g_return_val_if_fail (self != NULL, NULL);

  /* A lazy resource's text is canonical already: no parse, no writing. */
  if (!pretty && self->top == self && self->lazy_data != NULL)
    return g_bytes_new (self->lazy_data, self->length);
  return g_string_free_to_bytes (write_canonical (self, pretty, NULL, NULL));
}

gboolean
charta_resource_patch_last_updated (ChartaResource *self,
                                    const char     *instant)
{
  size_t length;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (instant != NULL, FALSE);

  length = strlen (instant);
  if (self->top->lazy_data != NULL || self->last_updated == NULL
      || strlen (self->last_updated) != length)
    return FALSE;
  /* The string is the JSON node's own copy (json_node_init_string duplicates it), and
   * self->last_updated points at it: one write updates both. */
  memcpy ((char *) self->last_updated, instant, length);
  return TRUE;
}

/* --- files and NDJSON ------------------------------------------------------------------------ */

static gboolean
set_io_error (GError    **error,
              int         saved_errno,
              const char *path,
              const char *doing)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno), "%s: cannot %s: %s",
               path, doing, g_strerror (saved_errno));
  return FALSE;
}

/* "1.1 GB", with a plain space (g_format_size() puts a no-break space). */
static char *
format_size (guint64 size)
{
  g_autofree char *text = g_format_size (size);
  g_auto(GStrv) parts = g_strsplit (text, "\xc2\xa0", -1);

  return g_strjoinv (" ", parts);
}

static gboolean
set_too_large (GError    **error,
               const char *what,
               guint64     size,
               size_t      max_bytes,
               gboolean    at_least)
{
  g_autofree char *pretty_size = format_size (size);
  g_autofree char *pretty_max = format_size (max_bytes);

  g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_LARGE,
               "%s is %s%" G_GUINT64_FORMAT " bytes (%s), more than the limit of %" G_GSIZE_FORMAT
               " bytes (%s)", what, at_least ? "at least " : "", size, pretty_size, max_bytes,
               pretty_max);
  return FALSE;
}

GBytes *
charta_resource_read_file (const char              *path,
                           const ChartaParseLimits *limits,
                           GError                 **error)
{
  size_t max_bytes = charta_json_limit_bytes (limits);
  g_autofree char *what = NULL;
  g_autofree char *buffer = NULL;
  size_t size = 0, allocated;
  struct stat st;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      set_io_error (error, errno, path, "open");
      return NULL;
    }
  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      close (fd);
      set_io_error (error, saved_errno, path, "stat");
      return NULL;
    }
  if (S_ISDIR (st.st_mode))
    {
      close (fd);
      set_io_error (error, EISDIR, path, "read");
      return NULL;
    }
  what = g_strdup_printf ("%s: the file", path);
  if (S_ISREG (st.st_mode) && (guint64) st.st_size > max_bytes)
    {
      close (fd);
      set_too_large (error, what, st.st_size, max_bytes, FALSE);
      return NULL;
    }

  /* Regular files are read in one allocation of their size; pipes and the like grow the
   * buffer, never past the limit plus one byte (which shows they are too large). */
  allocated = S_ISREG (st.st_mode) ? (size_t) st.st_size + 1 : MIN (max_bytes + 1, 65536);
  buffer = g_malloc (allocated);
  for (;;)
    {
      ssize_t n;

      if (size == allocated)
        {
          if (allocated > max_bytes)
            break;
          allocated = MIN (allocated * 2, max_bytes + 1);
          buffer = g_realloc (buffer, allocated);
        }
      n = read (fd, buffer + size, allocated - size);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          close (fd);
          set_io_error (error, saved_errno, path, "read");
          return NULL;
        }
      if (n == 0)
        break;
      size += n;
    }
  close (fd);
  if (size > max_bytes)
    {
      set_too_large (error, what, size, max_bytes, TRUE);
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&buffer), size);
}

static gboolean
is_blank (const char *data,
          size_t      length)
{
  for (size_t i = 0; i < length; i++)
    if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r')
      return FALSE;
  return TRUE;
}

static gboolean
ndjson_oversized_line (unsigned                 line,
                       guint64                  size,
                       size_t                   max_bytes,
                       ChartaNdjsonFunc         func,
                       gpointer                 user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *what = g_strdup_printf ("line %u: the line", line);

  set_too_large (&error, what, size, max_bytes, FALSE);
  return func (line, NULL, error, user_data);
}

/* One NDJSON line (without its '\n'): skipped when blank, else parsed and handed to @func. */
static gboolean
ndjson_line (const char              *data,
             size_t                   length,
             unsigned                 line,
             const ChartaParseLimits *limits,
             ChartaNdjsonFunc         func,
             gpointer                 user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = NULL;

  if (length > charta_json_limit_bytes (limits))
    return ndjson_oversized_line (line, length, charta_json_limit_bytes (limits), func,
                                  user_data);
  if (length > 0 && data[length - 1] == '\r')
    length--;
  if (is_blank (data, length))
    return TRUE;
  resource = parse_resource (data, length, limits, line, &error);
  return func (line, resource, error, user_data);
}

gboolean
charta_resource_parse_ndjson (const char              *data,
                              size_t                   length,
                              const ChartaParseLimits *limits,
                              ChartaNdjsonFunc         func,
                              gpointer                 user_data)
{
  const char *p = data, *end = data + length;
  unsigned line = 1;

  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);

  while (p < end)
    {
      const char *newline = memchr (p, '\n', end - p);
      const char *stop = newline != NULL ? newline : end;

      if (!ndjson_line (p, stop - p, line, limits, func, user_data))
        return FALSE;
      p = stop + 1;
      line++;
    }
  return TRUE;
}

gboolean
charta_resource_parse_ndjson_file (const char              *path,
                                   const ChartaParseLimits *limits,
                                   ChartaNdjsonFunc         func,
                                   gpointer                 user_data,
                                   GError                 **error)
{
  size_t max_bytes = charta_json_limit_bytes (limits);
  g_autoptr(GByteArray) pending = NULL;
  g_autofree guint8 *chunk = NULL;
  const size_t chunk_size = 256 * 1024;
  guint64 line_size = 0;  /* bytes of the current line so far, kept or not */
  unsigned line = 1;
  gboolean ok = TRUE;
  int fd;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return set_io_error (error, errno, path, "open");

  pending = g_byte_array_new ();
  chunk = g_malloc (chunk_size);
  while (ok)
    {
      ssize_t n = read (fd, chunk, chunk_size);
      const guint8 *p, *end;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          close (fd);
          return set_io_error (error, saved_errno, path, "read");
        }
      if (n == 0)
        break;

      p = chunk;
      end = chunk + n;
      while (ok && p < end)
        {
          const guint8 *newline = memchr (p, '\n', end - p);
          const guint8 *stop = newline != NULL ? newline : end;
          gboolean whole = newline != NULL;

          /* A line that would pass the limit stops being kept; only its size is counted. */
          if (line_size <= max_bytes && line_size + (stop - p) <= max_bytes)
            {
              if (whole && pending->len == 0)
                ok = ndjson_line ((const char *) p, stop - p, line, limits, func, user_data);
              else
                g_byte_array_append (pending, p, stop - p);
            }
          else
            g_byte_array_set_size (pending, 0);
          line_size += stop - p;

          if (whole)
            {
              if (line_size > max_bytes)
                ok = ndjson_oversized_line (line, line_size, max_bytes, func, user_data);
              else if (pending->len > 0)
                ok = ndjson_line ((const char *) pending->data, pending->len, line, limits, func,
                                  user_data);
              g_byte_array_set_size (pending, 0);
              line_size = 0;
              line++;
            }
          p = stop + (whole ? 1 : 0);
        }
    }
  close (fd);

  if (ok && line_size > 0)
    {
      if (line_size > max_bytes)
        ok = ndjson_oversized_line (line, line_size, max_bytes, func, user_data);
      else
        ok = ndjson_line ((const char *) pending->data, pending->len, line, limits, func,
                          user_data);
    }
  return ok;
}
