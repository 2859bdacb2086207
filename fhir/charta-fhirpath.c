/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-fhirpath.c: evaluating compiled FHIRPath over a resource's JSON tree.
 *
 * Collections are GArrays of ChartaFhirPathItem held by value; they come from a small pool per
 * evaluation, so a typical search-parameter expression allocates a handful of arrays and
 * nothing per item.  Items found in the resource borrow its JSON nodes; strings computed while
 * evaluating live in a GStringChunk freed with the evaluation, and only the final result is
 * copied out (with owned strings) into the GPtrArray the caller gets.
 *
 * Navigation follows the R4 model (charta-model.h): `value` on an Observation looks for each
 * JSON name of Observation.value[x] and gives an item of the type found (valueQuantity ->
 * Quantity); arrays flatten; a primitive's extension object ("_birthDate", parallel arrays
 * with nulls for repeating primitives) travels with it; elements of type Resource
 * (contained, Bundle.entry.resource) take their type from resourceType.  An identifier that is
 * not an element but names a type the item is (`Patient.name`, `Resource.id`) gives the item.
 * Each item found records where it is (the object holding it, the JSON member name, the array
 * index) for FHIRPath Patch; that costs three stores per item and no lookup.
 *
 * Documented simplifications (no terminology server, no network):
 *  - memberOf() returns empty;
 *  - resolve() finds "#id" in the root resource's contained list and "Type/id", absolute or
 *    versioned references (and fullUrl matches) among the entries when %resource is a Bundle;
 *    otherwise it returns an item with no content whose type is the resource type named in the
 *    reference (or in Reference.type), so `resolve() is Patient` and `where(resolve() is X)`
 *    work as search parameters use them;
 *  - conformsTo() is true for the resource's own (or base) type's core profile and the
 *    profiles in meta.profile, false for other core profiles, empty otherwise;
 *  - htmlChecks() is true when the narrative div is a string starting with "<div" (the
 *    content rules are left to the XHTML checks of validation);
 *  - a FHIR primitive also is its System type (`answer is Boolean` holds for answerBoolean),
 *    as in the HL7 validator and as invariant que-7 needs, where FHIRPath N1 keeps them apart;
 *  - `as` applied to a collection filters it, as R4 search expressions
 *    (`Observation.component.value as Quantity`) require;
 *  - quantity units are compared through a small table of UCUM and calendar units (see
 *    charta-fhirpath-values.c); no unit algebra in * and /.
 */
#define G_LOG_DOMAIN "charta-fhirpath"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "charta-fhir-error.h"
#include "charta-fhirpath-private.h"

typedef ChartaFhirPathItem Item;
typedef GArray Coll;

#define KIND_NONE (-1)

typedef struct
{
  Coll *this_coll;        /* $this, and the focus arguments are evaluated on */
  int64_t index;          /* $index */
  gboolean has_index;
  Coll *total;            /* $total (aggregate), or NULL */
} Frame;

#define POOL_SIZE 32

/* Spare collections, kept per thread between evaluations so that evaluating does not
 * allocate arrays again and again. */
typedef struct
{
  Coll *arrays[POOL_SIZE];
  unsigned n;
} Pool;

typedef struct
{
  ChartaFhirPath *expr;
  ChartaResource *resource;
  Item resource_item;     /* %resource, %rootResource */
  Item context_item;      /* %context */
  GStringChunk *strings;  /* computed strings; NULL until needed */
  Pool *pool;
  GError **error;
} Ctx;

/* A value of an item as FHIRPath's System types see it. */
typedef struct
{
  int kind;               /* ChartaFhirPathKind BOOLEAN…QUANTITY, or NODE for an object */
  gboolean boolean;
  int64_t integer;
  double decimal;
  const char *text;       /* STRING, DATE, DATETIME, TIME; DECIMAL/QUANTITY text or NULL */
  const char *unit;
  JsonNode *object;       /* NODE: the object (NULL for a resolved reference stub) */
  int type;
} Val;

static gboolean eval (Ctx *ctx, FpNode *node, Coll *focus, const Frame *frame, Coll *out);

/* --- model facts ------------------------------------------------------------------------- */

static FpModelInfo model_info;

static int8_t
primitive_kind (const char *name)
{
  static const struct { const char *name; int8_t kind; } map[] = {
    { "boolean", CHARTA_FHIRPATH_BOOLEAN },
    { "integer", CHARTA_FHIRPATH_INTEGER },
    { "integer64", CHARTA_FHIRPATH_INTEGER },
    { "positiveInt", CHARTA_FHIRPATH_INTEGER },
    { "unsignedInt", CHARTA_FHIRPATH_INTEGER },
    { "decimal", CHARTA_FHIRPATH_DECIMAL },
    { "date", CHARTA_FHIRPATH_DATE },
    { "dateTime", CHARTA_FHIRPATH_DATETIME },
    { "instant", CHARTA_FHIRPATH_DATETIME },
    { "time", CHARTA_FHIRPATH_TIME },
  };

  for (unsigned i = 0; i < G_N_ELEMENTS (map); i++)
    if (strcmp (map[i].name, name) == 0)
      return map[i].kind;
  return CHARTA_FHIRPATH_STRING;
}

const FpModelInfo *
fp_model_info (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      FpModelInfo *m = &model_info;

      m->quantity = charta_model_find_type ("Quantity");
      m->reference = charta_model_find_type ("Reference");
      m->extension = charta_model_find_type ("Extension");
      m->resource = charta_model_find_type ("Resource");
      m->domain_resource = charta_model_find_type ("DomainResource");
      m->element = charta_model_find_type ("Element");
      m->string = charta_model_find_type ("string");
      m->uri = charta_model_find_type ("uri");
      m->canonical = charta_model_find_type ("canonical");
      m->narrative = charta_model_find_type ("Narrative");
      m->coding = charta_model_find_type ("Coding");
      m->codeable_concept = charta_model_find_type ("CodeableConcept");
      m->system_kind = g_new (int8_t, MAX (charta_model_n_types, 1));
      for (unsigned i = 0; i < charta_model_n_types; i++)
        {
          const ChartaTypeDef *t = &charta_model_types[i];

          if (t->kind == CHARTA_TYPE_KIND_PRIMITIVE)
            m->system_kind[i] = primitive_kind (t->name);
          else if (m->quantity >= 0 && charta_model_type_is_a ((int) i, m->quantity))
            m->system_kind[i] = CHARTA_FHIRPATH_QUANTITY;
          else
            m->system_kind[i] = CHARTA_FHIRPATH_NODE;
        }
      g_once_init_leave (&once, 1);
    }
  return &model_info;
}

static inline int
type_system_kind (int type)
{
  if (type < 0)
    return KIND_NONE;
  return model_info.system_kind[type];
}

static inline gboolean
type_is_primitive (int type)
{
  int k = type_system_kind (type);

  return k != KIND_NONE && k != CHARTA_FHIRPATH_NODE && k != CHARTA_FHIRPATH_QUANTITY;
}

static GMutex nav_lock;
static GHashTable *nav_table; /* "type:name" -> FpNavInfo, never freed */

FpNavInfo *
fp_nav_info_lookup (int         type,
                    const char *name)
{
  g_autofree char *key = g_strdup_printf ("%d:%s", type, name);
  FpNavInfo *nav;
  const ChartaElementDef *element;
  unsigned n = 0;

  g_mutex_lock (&nav_lock);
  if (nav_table == NULL)
    nav_table = g_hash_table_new (g_str_hash, g_str_equal);
  nav = g_hash_table_lookup (nav_table, key);
  if (nav != NULL)
    {
      g_mutex_unlock (&nav_lock);
      return nav;
    }

  element = type >= 0 ? charta_model_find_element_by_name (type, name) : NULL;
  if (element != NULL)
    n = element->is_choice ? element->n_types : 1;
  nav = g_malloc0 (sizeof (FpNavInfo) + n * sizeof (FpNavAlt));
  nav->type = type;
  nav->element = element;
  nav->n_alts = n;
  for (unsigned i = 0; i < n; i++)
    {
      FpNavAlt *alt = &nav->alts[i];
      int t = charta_model_element_types[element->first_type + i].type;
      g_autofree char *ext = NULL;

      if (element->is_choice)
        {
          g_autofree char *json = g_strdup_printf ("%s%c%s", name,
                                                   g_ascii_toupper (charta_model_types[t].name[0]),
                                                   charta_model_types[t].name + 1);
          alt->json_name = g_intern_string (json);
        }
      else
        alt->json_name = g_intern_string (name);
      ext = g_strconcat ("_", alt->json_name, NULL);
      alt->ext_name = g_intern_string (ext);
      alt->type = t;
      alt->is_primitive = type_is_primitive (t);
      alt->is_resource = charta_model_types[t].kind == CHARTA_TYPE_KIND_RESOURCE;
    }
  if (element == NULL && type >= 0 && g_ascii_isupper (name[0]))
    {
      int named = charta_model_find_type (name);

      nav->type_matches = named >= 0 && charta_model_type_is_a (type, named);
    }
  g_hash_table_insert (nav_table, g_strdup (key), nav);
  g_mutex_unlock (&nav_lock);
  return nav;
}

static inline FpNavInfo *
nav_for (FpNode *member,
         int     type)
{
  unsigned slot = (unsigned) type % FP_NAV_CACHE;
  FpNavInfo *nav = g_atomic_pointer_get (&member->nav_cache[slot]);

  if (nav != NULL && nav->type == type)
    return nav;
  nav = fp_nav_info_lookup (type, member->name);
  g_atomic_pointer_set (&member->nav_cache[slot], nav);
  return nav;
}

/* --- collections and items ------------------------------------------------------------- */

static void
pool_free (gpointer data)
{
  Pool *pool = data;

  for (unsigned i = 0; i < pool->n; i++)
    g_array_unref (pool->arrays[i]);
  g_free (pool);
}

static GPrivate pool_key = G_PRIVATE_INIT (pool_free);

static Pool *
thread_pool (void)
{
  Pool *pool = g_private_get (&pool_key);

  if (pool == NULL)
    {
      pool = g_new0 (Pool, 1);
      g_private_set (&pool_key, pool);
    }
  return pool;
}

static Coll *
coll_get (Ctx *ctx)
{
  if (ctx->pool->n > 0)
    return ctx->pool->arrays[--ctx->pool->n];
  return g_array_sized_new (FALSE, FALSE, sizeof (Item), 8);
}

static void
coll_put (Ctx  *ctx,
          Coll *coll)
{
  if (coll == NULL)
    return;
  if (ctx->pool->n < POOL_SIZE && coll->len < 1024)
    {
      g_array_set_size (coll, 0);
      ctx->pool->arrays[ctx->pool->n++] = coll;
    }
  else
    g_array_unref (coll);
}

static inline Item *
item_at (Coll     *coll,
         unsigned  i)
{
  return &g_array_index (coll, Item, i);
}

static inline void
push_item (Coll       *out,
           const Item *item)
{
  g_array_append_vals (out, item, 1);
}

/* An item of the tree: member @member (element @index, or -1) of the object @parent. */
static inline void
push_node (Coll       *out,
           int         type,
           JsonNode   *node,
           JsonNode   *extension,
           JsonNode   *parent,
           const char *member,
           int         index)
{
  Item item = { 0 };

  item.kind = CHARTA_FHIRPATH_NODE;
  item.type = type;
  item.node = node;
  item.extension = extension;
  item.parent = parent;
  item.member = parent != NULL ? member : NULL;
  item.index = index;
  g_array_append_vals (out, &item, 1);
}

static inline void
push_boolean (Coll     *out,
              gboolean  value)
{
  Item item = { 0 };

  item.kind = CHARTA_FHIRPATH_BOOLEAN;
  item.type = -1;
  item.index = -1;
  item.boolean = value != FALSE;
  g_array_append_vals (out, &item, 1);
}

static inline void
push_integer (Coll    *out,
              int64_t  value)
{
  Item item = { 0 };

  item.kind = CHARTA_FHIRPATH_INTEGER;
  item.type = -1;
  item.index = -1;
  item.integer = value;
  item.decimal = (double) value;
  g_array_append_vals (out, &item, 1);
}

static inline void
push_decimal (Coll       *out,
              double      value,
              const char *text)
{
  Item item = { 0 };

  item.kind = CHARTA_FHIRPATH_DECIMAL;
  item.type = -1;
  item.index = -1;
  item.decimal = value;
  item.string = (char *) text;
  g_array_append_vals (out, &item, 1);
}

static inline void
push_string (Coll               *out,
             ChartaFhirPathKind  kind,
             const char         *text)
{
  Item item = { 0 };

  item.kind = kind;
  item.type = -1;
  item.index = -1;
  item.string = (char *) text;
  g_array_append_vals (out, &item, 1);
}

static inline void
push_quantity (Coll       *out,
               double      value,
               const char *text,
               const char *unit)
{
  Item item = { 0 };

  item.kind = CHARTA_FHIRPATH_QUANTITY;
  item.type = -1;
  item.index = -1;
  item.decimal = value;
  item.string = (char *) text;
  item.unit = (char *) unit;
  g_array_append_vals (out, &item, 1);
}

static const char *
ctx_strdup (Ctx        *ctx,
            const char *text)
{
  if (text == NULL)
    return NULL;
  if (ctx->strings == NULL)
    ctx->strings = g_string_chunk_new (512);
  return g_string_chunk_insert (ctx->strings, text);
}

static const char *
ctx_take (Ctx  *ctx,
          char *text)
{
  const char *copy = ctx_strdup (ctx, text);

  g_free (text);
  return copy;
}

static gboolean
eval_error (Ctx        *ctx,
            FpNode     *node,
            const char *fmt,
            ...) G_GNUC_PRINTF (3, 4);

static gboolean
eval_error (Ctx        *ctx,
            FpNode     *node,
            const char *fmt,
            ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  if (ctx->error == NULL || *ctx->error != NULL)
    return FALSE;
  va_start (args, fmt);
  msg = g_strdup_vprintf (fmt, args);
  va_end (args);
  g_set_error (ctx->error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_FHIRPATH_EVAL,
               "FHIRPath \"%s\" (offset %u): %s", ctx->expr->expression,
               node != NULL ? node->position : 0, msg);
  return FALSE;
}

/* --- values ------------------------------------------------------------------------------ */

static const char *
number_text (Ctx      *ctx,
             JsonNode *node)
{
  const char *text = ctx->resource != NULL ?
                     charta_resource_get_number_text (ctx->resource, node) : NULL;

  if (text == NULL)
    {
      if (json_node_get_value_type (node) == G_TYPE_INT64)
        text = ctx_take (ctx, g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node)));
      else
        text = ctx_take (ctx, fp_format_decimal (json_node_get_double (node)));
    }
  return text;
}

static double
json_number (JsonNode *node)
{
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return (double) json_node_get_int (node);
  return json_node_get_double (node);
}

/* Fills @v with @item's value; FALSE when the item has none (a primitive with only an
 * extension, a JSON null). */
static gboolean
get_val (Ctx        *ctx,
         const Item *item,
         Val        *v)
{
  memset (v, 0, sizeof *v);
  v->type = item->type;
  if (item->kind != CHARTA_FHIRPATH_NODE)
    {
      v->kind = item->kind;
      v->boolean = item->boolean;
      v->integer = item->integer;
      v->decimal = item->decimal;
      v->text = item->string;
      v->unit = item->unit;
      return TRUE;
    }

  if (item->node == NULL)
    {
      int k = type_system_kind (item->type);

      if (k == CHARTA_FHIRPATH_NODE || k == CHARTA_FHIRPATH_QUANTITY)
        {
          v->kind = CHARTA_FHIRPATH_NODE;
          return TRUE;
        }
      return FALSE;
    }

  switch (json_node_get_node_type (item->node))
    {
    case JSON_NODE_VALUE:
      {
        GType vt = json_node_get_value_type (item->node);
        int k = type_system_kind (item->type);

        if (vt == G_TYPE_BOOLEAN)
          {
            v->kind = CHARTA_FHIRPATH_BOOLEAN;
            v->boolean = json_node_get_boolean (item->node);
          }
        else if (vt == G_TYPE_INT64 && k != CHARTA_FHIRPATH_DECIMAL)
          {
            v->kind = CHARTA_FHIRPATH_INTEGER;
            v->integer = json_node_get_int (item->node);
            v->decimal = (double) v->integer;
          }
        else if (vt == G_TYPE_INT64 || vt == G_TYPE_DOUBLE)
          {
            v->kind = CHARTA_FHIRPATH_DECIMAL;
            v->decimal = json_number (item->node);
            v->text = number_text (ctx, item->node);
          }
        else if (vt == G_TYPE_STRING)
          {
            v->text = json_node_get_string (item->node);
            if (k == CHARTA_FHIRPATH_DATE || k == CHARTA_FHIRPATH_DATETIME ||
                k == CHARTA_FHIRPATH_TIME)
              v->kind = k;
            else
              v->kind = CHARTA_FHIRPATH_STRING;
          }
        else
          return FALSE;
        return TRUE;
      }

    case JSON_NODE_OBJECT:
      v->kind = CHARTA_FHIRPATH_NODE;
      v->object = item->node;
      if (type_system_kind (item->type) == CHARTA_FHIRPATH_QUANTITY)
        {
          JsonObject *obj = json_node_get_object (item->node);
          JsonNode *value = json_object_get_member (obj, "value");
          JsonNode *code = json_object_get_member (obj, "code");
          JsonNode *unit = json_object_get_member (obj, "unit");

          /* A quantity with a comparator (">60") is not a System.Quantity value: it stays
           * an element, compared as a whole. */
          if (value != NULL && JSON_NODE_HOLDS_VALUE (value) &&
              (json_node_get_value_type (value) == G_TYPE_INT64 ||
               json_node_get_value_type (value) == G_TYPE_DOUBLE) &&
              !json_object_has_member (obj, "comparator"))
            {
              v->kind = CHARTA_FHIRPATH_QUANTITY;
              v->decimal = json_number (value);
              v->text = number_text (ctx, value);
              if (code != NULL && JSON_NODE_HOLDS_VALUE (code) &&
                  json_node_get_value_type (code) == G_TYPE_STRING)
                v->unit = json_node_get_string (code);
              else if (unit != NULL && JSON_NODE_HOLDS_VALUE (unit) &&
                       json_node_get_value_type (unit) == G_TYPE_STRING)
                v->unit = json_node_get_string (unit);
              else
                v->unit = "1";
            }
        }
      return TRUE;

    default:
      return FALSE;
    }
}

static inline gboolean
is_number_kind (int kind)
{
  return kind == CHARTA_FHIRPATH_INTEGER || kind == CHARTA_FHIRPATH_DECIMAL;
}

static inline gboolean
is_date_kind (int kind)
{
  return kind == CHARTA_FHIRPATH_DATE || kind == CHARTA_FHIRPATH_DATETIME ||
         kind == CHARTA_FHIRPATH_TIME;
}

static gboolean
decimals_equal (double a,
                double b)
{
  double scale = MAX (1.0, MAX (fabs (a), fabs (b)));

  return fabs (a - b) <= 1e-12 * scale;
}

static double
round_to (double value,
          int    places)
{
  double f = pow (10, places);

  return round (value * f) / f;
}

/* A value's text as toString() gives it; NULL for objects. */
static const char *
val_to_string (Ctx       *ctx,
               const Val *v)
{
  switch (v->kind)
    {
    case CHARTA_FHIRPATH_BOOLEAN:
      return v->boolean ? "true" : "false";
    case CHARTA_FHIRPATH_INTEGER:
      return ctx_take (ctx, g_strdup_printf ("%" G_GINT64_FORMAT, v->integer));
    case CHARTA_FHIRPATH_DECIMAL:
      return v->text != NULL ? v->text : ctx_take (ctx, fp_format_decimal (v->decimal));
    case CHARTA_FHIRPATH_STRING:
    case CHARTA_FHIRPATH_DATE:
    case CHARTA_FHIRPATH_DATETIME:
    case CHARTA_FHIRPATH_TIME:
      return v->text;
    case CHARTA_FHIRPATH_QUANTITY:
      {
        g_autofree char *num = v->text != NULL ? g_strdup (v->text) :
                               fp_format_decimal (v->decimal);

        if (fp_calendar_unit_normalize (v->unit) != NULL)
          return ctx_take (ctx, g_strdup_printf ("%s %s", num, v->unit));
        return ctx_take (ctx, g_strdup_printf ("%s '%s'", num, v->unit));
      }
    default:
      return NULL;
    }
}

static gboolean
parse_val_date (const Val  *v,
                FpDateTime *dt)
{
  return fp_datetime_parse (v->text, v->kind == CHARTA_FHIRPATH_TIME ? CHARTA_FHIRPATH_TIME :
                            CHARTA_FHIRPATH_DATETIME, dt);
}

/* Quantity comparison: sets *cmp; FALSE when the units are not comparable. */
static gboolean
quantity_compare (const Val *a,
                  const Val *b,
                  int       *cmp)
{
  double fa, fb;
  const char *da, *db;
  double x, y;

  fp_unit_canonical (a->unit, &fa, &da);
  fp_unit_canonical (b->unit, &fb, &db);
  if (strcmp (da, db) != 0)
    return FALSE;
  x = a->decimal * fa;
  y = b->decimal * fb;
  *cmp = decimals_equal (x, y) ? 0 : x < y ? -1 : 1;
  return TRUE;
}

static gboolean json_equal (JsonNode *a, JsonNode *b);

static gboolean
json_equal (JsonNode *a,
            JsonNode *b)
{
  JsonNodeType t = json_node_get_node_type (a);

  if (t != json_node_get_node_type (b))
    return FALSE;
  switch (t)
    {
    case JSON_NODE_NULL:
      return TRUE;
    case JSON_NODE_VALUE:
      {
        GType ta = json_node_get_value_type (a);
        GType tb = json_node_get_value_type (b);

        if ((ta == G_TYPE_INT64 || ta == G_TYPE_DOUBLE) &&
            (tb == G_TYPE_INT64 || tb == G_TYPE_DOUBLE))
          return json_number (a) == json_number (b);
        if (ta != tb)
          return FALSE;
        if (ta == G_TYPE_BOOLEAN)
          return json_node_get_boolean (a) == json_node_get_boolean (b);
        return g_strcmp0 (json_node_get_string (a), json_node_get_string (b)) == 0;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *xa = json_node_get_array (a);
        JsonArray *xb = json_node_get_array (b);
        unsigned n = json_array_get_length (xa);

        if (n != json_array_get_length (xb))
          return FALSE;
        for (unsigned i = 0; i < n; i++)
          if (!json_equal (json_array_get_element (xa, i), json_array_get_element (xb, i)))
            return FALSE;
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
          return FALSE;
        json_object_iter_init (&iter, oa);
        while (json_object_iter_next (&iter, &name, &member))
          {
            JsonNode *other = json_object_get_member (ob, name);

            if (other == NULL || !json_equal (member, other))
              return FALSE;
          }
        return TRUE;
      }
    default:
      return FALSE;
    }
}

/* Equality of two values: 1 true, 0 false, -1 undetermined (empty). */
static int
vals_equal (const Val *a,
            const Val *b)
{
  if (is_number_kind (a->kind) && is_number_kind (b->kind))
    {
      if (a->kind == CHARTA_FHIRPATH_INTEGER && b->kind == CHARTA_FHIRPATH_INTEGER)
        return a->integer == b->integer;
      return decimals_equal (a->decimal, b->decimal);
    }
  if (is_date_kind (a->kind) && is_date_kind (b->kind))
    {
      FpDateTime x, y;
      int c;

      if (!parse_val_date (a, &x) || !parse_val_date (b, &y))
        return g_strcmp0 (a->text, b->text) == 0;
      c = fp_datetime_compare (&x, &y);
      return c == 2 ? -1 : c == 0;
    }
  if (a->kind != b->kind)
    return 0;
  switch (a->kind)
    {
    case CHARTA_FHIRPATH_BOOLEAN:
      return a->boolean == b->boolean;
    case CHARTA_FHIRPATH_STRING:
      return g_strcmp0 (a->text, b->text) == 0;
    case CHARTA_FHIRPATH_QUANTITY:
      {
        int c;

        if (!quantity_compare (a, b, &c))
          return -1;
        return c == 0;
      }
    case CHARTA_FHIRPATH_NODE:
      if (a->object == NULL || b->object == NULL)
        return a->object == b->object && a->type == b->type;
      return json_equal (a->object, b->object);
    default:
      return 0;
    }
}

static int
items_equal (Ctx        *ctx,
             const Item *a,
             const Item *b)
{
  Val x, y;

  if (a->kind == CHARTA_FHIRPATH_NODE && b->kind == CHARTA_FHIRPATH_NODE &&
      a->node == b->node && a->node != NULL && a->extension == b->extension)
    return 1;
  if (!get_val (ctx, a, &x))
    {
      /* Two value-less primitives are the same item when they share their extension. */
      if (!get_val (ctx, b, &y))
        return a->extension != NULL && a->extension == b->extension ? 1 : -1;
      return -1;
    }
  if (!get_val (ctx, b, &y))
    return -1;
  return vals_equal (&x, &y);
}

/* Whitespace-normalised, case-insensitive string comparison (equivalence). */
static gboolean
strings_equivalent (const char *a,
                    const char *b)
{
  for (;;)
    {
      while (g_ascii_isspace (*a) && (a[1] == '\0' || g_ascii_isspace (a[1])))
        a++;
      while (g_ascii_isspace (*b) && (b[1] == '\0' || g_ascii_isspace (b[1])))
        b++;
      if (*a == '\0' || *b == '\0')
        return *a == *b;
      if (g_ascii_isspace (*a) && g_ascii_isspace (*b))
        {
          a++;
          b++;
          continue;
        }
      if (g_ascii_tolower (*a) != g_ascii_tolower (*b))
        return FALSE;
      a++;
      b++;
    }
}

static gboolean
vals_equivalent (const Val *a,
                 const Val *b)
{
  if (is_number_kind (a->kind) && is_number_kind (b->kind))
    {
      int pa = a->kind == CHARTA_FHIRPATH_INTEGER ? 0 : fp_decimal_places (a->text);
      int pb = b->kind == CHARTA_FHIRPATH_INTEGER ? 0 : fp_decimal_places (b->text);
      int places = MIN (pa, pb);

      return decimals_equal (round_to (a->decimal, places), round_to (b->decimal, places));
    }
  if (is_date_kind (a->kind) && is_date_kind (b->kind))
    {
      FpDateTime x, y;

      if (!parse_val_date (a, &x) || !parse_val_date (b, &y))
        return g_strcmp0 (a->text, b->text) == 0;
      return fp_datetime_compare (&x, &y) == 0;
    }
  if (a->kind != b->kind)
    return FALSE;
  switch (a->kind)
    {
    case CHARTA_FHIRPATH_BOOLEAN:
      return a->boolean == b->boolean;
    case CHARTA_FHIRPATH_STRING:
      return strings_equivalent (a->text, b->text);
    case CHARTA_FHIRPATH_QUANTITY:
      {
        double fa, fb;
        const char *da, *db;
        int places;

        fp_unit_canonical (a->unit, &fa, &da);
        fp_unit_canonical (b->unit, &fb, &db);
        if (strcmp (da, db) != 0)
          return FALSE;
        places = MIN (fp_decimal_places (a->text), fp_decimal_places (b->text));
        return decimals_equal (round_to (a->decimal, places),
                               round_to (b->decimal * fb / fa, places));
      }
    case CHARTA_FHIRPATH_NODE:
      if (a->object == NULL || b->object == NULL)
        return a->object == b->object && a->type == b->type;
      return json_equal (a->object, b->object);
    default:
      return FALSE;
    }
}

static gboolean
items_equivalent (Ctx        *ctx,
                  const Item *a,
                  const Item *b)
{
  Val x, y;
  gboolean hx = get_val (ctx, a, &x);
  gboolean hy = get_val (ctx, b, &y);

  if (!hx || !hy)
    return hx == hy;
  return vals_equivalent (&x, &y);
}

static gboolean
coll_contains (Ctx        *ctx,
               Coll       *coll,
               const Item *item)
{
  for (unsigned i = 0; i < coll->len; i++)
    if (items_equal (ctx, item_at (coll, i), item) == 1)
      return TRUE;
  return FALSE;
}

/* Appends the items of @src not already in @out (from @from on). */
static void
append_distinct (Ctx  *ctx,
                 Coll *out,
                 Coll *src)
{
  for (unsigned i = 0; i < src->len; i++)
    {
      Item *it = item_at (src, i);

      if (!coll_contains (ctx, out, it))
        push_item (out, it);
    }
}

/* Boolean view of a collection: -1 empty, 0 false, 1 true; FALSE on error (several items). */
static gboolean
coll_to_bool (Ctx    *ctx,
              FpNode *node,
              Coll   *coll,
              int    *out)
{
  Val v;

  if (coll->len == 0)
    {
      *out = -1;
      return TRUE;
    }
  if (coll->len > 1)
    return eval_error (ctx, node, "a single boolean was expected, found %u items", coll->len);
  if (!get_val (ctx, item_at (coll, 0), &v))
    {
      *out = -1;
      return TRUE;
    }
  /* Singleton evaluation: a single non-boolean item counts as true. */
  *out = v.kind == CHARTA_FHIRPATH_BOOLEAN ? v.boolean : 1;
  return TRUE;
}

/* The single item of @coll as a value: FALSE with *has = FALSE when empty, error when
 * several items. */
static gboolean
single_val (Ctx        *ctx,
            FpNode     *node,
            Coll       *coll,
            Val        *v,
            gboolean   *has)
{
  *has = FALSE;
  if (coll->len == 0)
    return TRUE;
  if (coll->len > 1)
    return eval_error (ctx, node, "a single item was expected, found %u", coll->len);
  *has = get_val (ctx, item_at (coll, 0), v);
  return TRUE;
}

/* --- type tests -------------------------------------------------------------------------- */

static int
json_system_kind (JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return KIND_NONE;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_BOOLEAN: return CHARTA_FHIRPATH_BOOLEAN;
    case G_TYPE_INT64: return CHARTA_FHIRPATH_INTEGER;
    case G_TYPE_DOUBLE: return CHARTA_FHIRPATH_DECIMAL;
    default: return CHARTA_FHIRPATH_STRING;
    }
}

static gboolean
item_is_type (const Item       *item,
              const FpTypeSpec *spec)
{
  if (item->kind == CHARTA_FHIRPATH_NODE)
    {
      /* A FHIR primitive also is the System type it maps to (a boolean is a Boolean), as
       * the HL7 validator's engine has it and as R4 invariants need (que-7:
       * `answer is Boolean` on answerBoolean). */
      if (item->type >= 0 && spec->model_type < 0)
        return spec->system_kind >= 0 && type_is_primitive (item->type) &&
               type_system_kind (item->type) == spec->system_kind;
      if (item->type >= 0)
        return spec->model_type >= 0 && charta_model_type_is_a (item->type, spec->model_type);
      return spec->system_kind >= 0 && json_system_kind (item->node) == spec->system_kind;
    }
  return spec->system_kind >= 0 && (int) item->kind == spec->system_kind;
}

/* --- navigation -------------------------------------------------------------------------- */

static int
resource_type_of (JsonNode *node)
{
  JsonNode *rt;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return -1;
  rt = json_object_get_member (json_node_get_object (node), "resourceType");
  if (rt == NULL || !JSON_NODE_HOLDS_VALUE (rt) ||
      json_node_get_value_type (rt) != G_TYPE_STRING)
    return -1;
  return charta_model_find_type (json_node_get_string (rt));
}

static inline JsonNode *
null_to_nil (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_NULL (node) ? NULL : node;
}

/* Pushes the item(s) under one JSON member @member of @parent (value @value, primitive
 * extension @ext); @parent is NULL when the object is not in the resource tree. */
static void
push_member (Coll       *out,
             int         type,
             gboolean    is_resource,
             JsonNode   *value,
             JsonNode   *ext,
             JsonNode   *parent,
             const char *member)
{
  if (value != NULL && JSON_NODE_HOLDS_ARRAY (value))
    {
      JsonArray *values = json_node_get_array (value);
      JsonArray *exts = ext != NULL && JSON_NODE_HOLDS_ARRAY (ext) ? json_node_get_array (ext) :
                        NULL;
      unsigned n = json_array_get_length (values);
      unsigned n_ext = exts != NULL ? json_array_get_length (exts) : 0;

      for (unsigned i = 0; i < MAX (n, n_ext); i++)
        {
          JsonNode *v = i < n ? null_to_nil (json_array_get_element (values, i)) : NULL;
          JsonNode *e = i < n_ext ? null_to_nil (json_array_get_element (exts, i)) : NULL;

          if (v == NULL && e == NULL)
            continue;
          push_node (out, is_resource ? resource_type_of (v) : type, v, e, parent, member,
                     (int) i);
        }
      return;
    }
  if (value == NULL && ext != NULL && JSON_NODE_HOLDS_ARRAY (ext))
    {
      /* A repeating primitive with only extensions. */
      {
        JsonArray *exts = json_node_get_array (ext);

        for (unsigned i = 0; i < json_array_get_length (exts); i++)
          {
            JsonNode *e = null_to_nil (json_array_get_element (exts, i));

            if (e != NULL)
              push_node (out, type, NULL, e, parent, member, (int) i);
          }
      }
      return;
    }
  value = null_to_nil (value);
  ext = null_to_nil (ext);
  if (value == NULL && ext == NULL)
    return;
  push_node (out, is_resource ? resource_type_of (value) : type, value, ext, parent, member,
             -1);
}

/* The JSON object node that holds an item's children (the extension object for a
 * primitive), or NULL. */
static JsonNode *
item_object_node (const Item *item)
{
  JsonNode *node;

  if (item->kind != CHARTA_FHIRPATH_NODE)
    return NULL;
  node = type_is_primitive (item->type) ? item->extension : item->node;
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return node;
}

/* The parent for the children of @item (its object node @node): NULL when @item is not in the
 * resource tree.  Items of the tree either have a parent or are of a model type (the root, a
 * context the caller made); the only typeless items without one are type() results and what
 * is inside them. */
static inline JsonNode *
child_parent (const Item *item,
              JsonNode   *node)
{
  return item->parent != NULL || item->type >= 0 ? node : NULL;
}

static void
navigate (const Item *item,
          FpNode     *member,
          Coll       *out)
{
  JsonNode *obj_node;
  JsonObject *obj;
  FpNavInfo *nav;

  if (item->kind != CHARTA_FHIRPATH_NODE)
    return;
  obj_node = item_object_node (item);
  obj = obj_node != NULL ? json_node_get_object (obj_node) : NULL;

  if (item->type < 0)
    {
      JsonNode *v;

      if (obj == NULL)
        return;
      v = json_object_get_member (obj, member->name);
      if (v != NULL)
        push_member (out, -1, FALSE, v, NULL, child_parent (item, obj_node), member->name);
      return;
    }

  nav = nav_for (member, item->type);
  if (nav->element == NULL)
    {
      if (nav->type_matches)
        push_item (out, item);
      return;
    }
  if (obj == NULL)
    return;
  for (unsigned i = 0; i < nav->n_alts; i++)
    {
      const FpNavAlt *alt = &nav->alts[i];
      JsonNode *v = json_object_get_member (obj, alt->json_name);
      JsonNode *e = alt->is_primitive ? json_object_get_member (obj, alt->ext_name) : NULL;

      if (v == NULL && e == NULL)
        continue;
      push_member (out, alt->type, alt->is_resource, v, e, obj_node, alt->json_name);
    }
}

static void
push_children (const Item *item,
               Coll       *out)
{
  JsonNode *obj_node = item_object_node (item);
  JsonNode *parent;
  JsonObject *obj;
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  if (obj_node == NULL)
    return;
  obj = json_node_get_object (obj_node);
  parent = child_parent (item, obj_node);
  /* In document order, as the resource was written. */
  json_object_iter_init_ordered (&iter, obj);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    {
      const ChartaElementDef *element = NULL;
      int choice_type = -1;
      int type = -1;
      gboolean is_resource = FALSE;
      gboolean primitive = FALSE;
      const char *base = name;
      JsonNode *value = member, *ext = NULL;

      if (strcmp (name, "resourceType") == 0)
        continue;
      if (name[0] == '_')
        {
          base = name + 1;
          if (json_object_has_member (obj, base))
            continue; /* travels with its value */
          value = NULL;
          ext = member;
        }
      if (item->type >= 0)
        element = charta_model_find_element (item->type, base, &choice_type);
      if (element != NULL)
        {
          type = choice_type >= 0 ? choice_type :
                 charta_model_element_types[element->first_type].type;
          is_resource = charta_model_types[type].kind == CHARTA_TYPE_KIND_RESOURCE;
          primitive = type_is_primitive (type);
        }
      if (value != NULL && primitive)
        {
          char buf[256];

          if (strlen (name) + 2 <= sizeof buf)
            {
              buf[0] = '_';
              strcpy (buf + 1, name);
              ext = json_object_get_member (obj, buf);
            }
        }
      push_member (out, type, is_resource, value, ext, parent, base);
    }
}

/* --- evaluation helpers ------------------------------------------------------------------ */

static gboolean
eval_arg (Ctx         *ctx,
          FpNode      *arg,
          const Frame *frame,
          Coll        *out)
{
  return eval (ctx, arg, frame->this_coll, frame, out);
}

/* Evaluates @arg for item @i of @focus with $this = that item and $index = @i. */
static gboolean
eval_for_item (Ctx         *ctx,
               FpNode      *arg,
               Coll        *focus,
               unsigned     i,
               const Frame *frame,
               Coll        *one,
               Coll        *out)
{
  Frame f = { 0 };

  g_array_set_size (one, 0);
  push_item (one, item_at (focus, i));
  f.this_coll = one;
  f.index = i;
  f.has_index = TRUE;
  f.total = frame->total;
  return eval (ctx, arg, one, &f, out);
}

/* Evaluates an argument expected to give a single integer; *has FALSE when empty. */
static gboolean
arg_integer (Ctx         *ctx,
             FpNode      *node,
             unsigned     n,
             const Frame *frame,
             int64_t     *value,
             gboolean    *has)
{
  Coll *tmp = coll_get (ctx);
  Val v;
  gboolean ok = eval_arg (ctx, node->args[n], frame, tmp) &&
                single_val (ctx, node, tmp, &v, has);

  coll_put (ctx, tmp);
  if (!ok || !*has)
    return ok;
  if (v.kind != CHARTA_FHIRPATH_INTEGER)
    return eval_error (ctx, node, "an integer argument was expected");
  *value = v.integer;
  return TRUE;
}

/* Evaluates an argument expected to give a single string (or a primitive converted to one). */
static gboolean
arg_string (Ctx         *ctx,
            FpNode      *node,
            unsigned     n,
            const Frame *frame,
            const char **value)
{
  Coll *tmp = coll_get (ctx);
  Val v;
  gboolean has;
  gboolean ok = eval_arg (ctx, node->args[n], frame, tmp) &&
                single_val (ctx, node, tmp, &v, &has);

  *value = NULL;
  coll_put (ctx, tmp);
  if (!ok || !has)
    return ok;
  *value = val_to_string (ctx, &v);
  if (*value == NULL)
    return eval_error (ctx, node, "a string argument was expected");
  return TRUE;
}

/* The input string of a string function: NULL (and TRUE) when the focus is empty. */
static gboolean
input_string (Ctx         *ctx,
              FpNode      *node,
              Coll        *focus,
              const char **value)
{
  Val v;
  gboolean has;

  *value = NULL;
  if (!single_val (ctx, node, focus, &v, &has))
    return FALSE;
  if (!has)
    return TRUE;
  if (v.kind == CHARTA_FHIRPATH_NODE)
    return eval_error (ctx, node, "a string was expected, not an element");
  *value = val_to_string (ctx, &v);
  return TRUE;
}

/* --- conversions ------------------------------------------------------------------------- */

static gboolean
string_is_integer (const char *s,
                   int64_t    *out)
{
  char *end = NULL;
  const char *p = s;

  if (*p == '+' || *p == '-')
    p++;
  if (!g_ascii_isdigit (*p))
    return FALSE;
  for (; *p; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  *out = g_ascii_strtoll (s, &end, 10);
  return TRUE;
}

static gboolean
string_is_decimal (const char *s,
                   double     *out)
{
  const char *p = s;

  if (*p == '+' || *p == '-')
    p++;
  if (!g_ascii_isdigit (*p))
    return FALSE;
  while (g_ascii_isdigit (*p))
    p++;
  if (*p == '.')
    {
      p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      while (g_ascii_isdigit (*p))
        p++;
    }
  if (*p != '\0')
    return FALSE;
  *out = g_ascii_strtod (s, NULL);
  return TRUE;
}

/* Converts @v (single value) per @fn, pushing the result when convertible.  Returns whether
 * it was. */
static gboolean
convert (Ctx        *ctx,
         FpFunction  fn,
         const Val  *v,
         Coll       *out)
{
  switch (fn)
    {
    case FP_FN_TO_BOOLEAN:
      switch (v->kind)
        {
        case CHARTA_FHIRPATH_BOOLEAN:
          push_boolean (out, v->boolean);
          return TRUE;
        case CHARTA_FHIRPATH_INTEGER:
          if (v->integer != 0 && v->integer != 1)
            return FALSE;
          push_boolean (out, v->integer == 1);
          return TRUE;
        case CHARTA_FHIRPATH_DECIMAL:
          if (v->decimal != 0 && v->decimal != 1)
            return FALSE;
          push_boolean (out, v->decimal == 1);
          return TRUE;
        case CHARTA_FHIRPATH_STRING:
          {
            static const char *const yes[] = { "true", "t", "yes", "y", "1", "1.0" };
            static const char *const no[] = { "false", "f", "no", "n", "0", "0.0" };

            for (unsigned i = 0; i < G_N_ELEMENTS (yes); i++)
              if (g_ascii_strcasecmp (v->text, yes[i]) == 0)
                {
                  push_boolean (out, TRUE);
                  return TRUE;
                }
            for (unsigned i = 0; i < G_N_ELEMENTS (no); i++)
              if (g_ascii_strcasecmp (v->text, no[i]) == 0)
                {
                  push_boolean (out, FALSE);
                  return TRUE;
                }
            return FALSE;
          }
        default:
          return FALSE;
        }

    case FP_FN_TO_INTEGER:
      switch (v->kind)
        {
        case CHARTA_FHIRPATH_INTEGER:
          push_integer (out, v->integer);
          return TRUE;
        case CHARTA_FHIRPATH_BOOLEAN:
          push_integer (out, v->boolean ? 1 : 0);
          return TRUE;
        case CHARTA_FHIRPATH_STRING:
          {
            int64_t i;

            if (!string_is_integer (v->text, &i))
              return FALSE;
            push_integer (out, i);
            return TRUE;
          }
        default:
          return FALSE;
        }

    case FP_FN_TO_DECIMAL:
      switch (v->kind)
        {
        case CHARTA_FHIRPATH_INTEGER:
          push_decimal (out, (double) v->integer,
                        ctx_take (ctx, g_strdup_printf ("%" G_GINT64_FORMAT, v->integer)));
          return TRUE;
        case CHARTA_FHIRPATH_DECIMAL:
          push_decimal (out, v->decimal, v->text);
          return TRUE;
        case CHARTA_FHIRPATH_BOOLEAN:
          push_decimal (out, v->boolean ? 1.0 : 0.0, v->boolean ? "1.0" : "0.0");
          return TRUE;
        case CHARTA_FHIRPATH_STRING:
          {
            double d;

            if (!string_is_decimal (v->text, &d))
              return FALSE;
            push_decimal (out, d, v->text);
            return TRUE;
          }
        default:
          return FALSE;
        }

    case FP_FN_TO_STRING:
      {
        const char *s = val_to_string (ctx, v);

        if (s == NULL)
          return FALSE;
        push_string (out, CHARTA_FHIRPATH_STRING, s);
        return TRUE;
      }

    case FP_FN_TO_DATE:
    case FP_FN_TO_DATETIME:
    case FP_FN_TO_TIME:
      {
        ChartaFhirPathKind want = fn == FP_FN_TO_DATE ? CHARTA_FHIRPATH_DATE :
                                  fn == FP_FN_TO_DATETIME ? CHARTA_FHIRPATH_DATETIME :
                                  CHARTA_FHIRPATH_TIME;
        FpDateTime dt;

        if (v->kind != CHARTA_FHIRPATH_STRING && !is_date_kind (v->kind))
          return FALSE;
        if (want == CHARTA_FHIRPATH_TIME && v->kind != CHARTA_FHIRPATH_STRING &&
            v->kind != CHARTA_FHIRPATH_TIME)
          return FALSE;
        if (v->kind == CHARTA_FHIRPATH_TIME && want != CHARTA_FHIRPATH_TIME)
          return FALSE;
        if (!fp_datetime_parse (v->text, want == CHARTA_FHIRPATH_TIME ?
                                CHARTA_FHIRPATH_TIME : CHARTA_FHIRPATH_DATETIME, &dt))
          return FALSE;
        if (want == CHARTA_FHIRPATH_DATE)
          {
            if (dt.precision > FP_PREC_DAY)
              {
                dt.precision = FP_PREC_DAY;
                dt.has_tz = FALSE;
              }
            push_string (out, want, ctx_take (ctx, fp_datetime_format (&dt)));
          }
        else
          push_string (out, want, v->text);
        return TRUE;
      }

    case FP_FN_TO_QUANTITY:
      switch (v->kind)
        {
        case CHARTA_FHIRPATH_QUANTITY:
          push_quantity (out, v->decimal, v->text, v->unit);
          return TRUE;
        case CHARTA_FHIRPATH_INTEGER:
        case CHARTA_FHIRPATH_DECIMAL:
          push_quantity (out, v->decimal, v->kind == CHARTA_FHIRPATH_DECIMAL ? v->text : NULL,
                         "1");
          return TRUE;
        case CHARTA_FHIRPATH_BOOLEAN:
          push_quantity (out, v->boolean ? 1.0 : 0.0, v->boolean ? "1.0" : "0.0", "1");
          return TRUE;
        case CHARTA_FHIRPATH_STRING:
          {
            g_autofree char *copy = g_strdup (v->text);
            char *space = strchr (copy, ' ');
            const char *unit = "1";
            double d;

            if (space != NULL)
              {
                char *u = space + 1;
                size_t len;

                *space = '\0';
                while (*u == ' ')
                  u++;
                len = strlen (u);
                if (len >= 2 && u[0] == '\'' && u[len - 1] == '\'')
                  {
                    u[len - 1] = '\0';
                    unit = ctx_strdup (ctx, u + 1);
                  }
                else if (fp_calendar_unit_normalize (u) != NULL)
                  unit = ctx_strdup (ctx, u);
                else
                  return FALSE;
              }
            if (!string_is_decimal (copy, &d))
              return FALSE;
            push_quantity (out, d, ctx_strdup (ctx, copy), unit);
            return TRUE;
          }
        default:
          return FALSE;
        }

    default:
      g_assert_not_reached ();
    }
}

/* --- resolve() --------------------------------------------------------------------------- */

static JsonNode *
object_member (JsonNode   *node,
               const char *name)
{
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_object_get_member (json_node_get_object (node), name);
}

static const char *
string_member (JsonNode   *node,
               const char *name)
{
  JsonNode *m = object_member (node, name);

  if (m == NULL || !JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (m);
}

/* "Patient/1", "http://x/fhir/Patient/1/_history/2": the type and id segments. */
static int
reference_type (const char  *ref,
                const char **id_start,
                size_t      *id_len)
{
  g_auto(GStrv) parts = g_strsplit (ref, "/", -1);
  guint n = g_strv_length (parts);
  int t;

  if (n >= 4 && strcmp (parts[n - 2], "_history") == 0)
    n -= 2;
  if (n < 2)
    return -1;
  t = charta_model_find_type (parts[n - 2]);
  if (t < 0 || charta_model_types[t].kind != CHARTA_TYPE_KIND_RESOURCE ||
      charta_model_types[t].is_abstract)
    return -1;
  if (id_start != NULL)
    {
      /* find parts[n-1] in ref: the segment after the type */
      const char *p = ref;
      for (guint i = 0; i < n - 1; i++)
        p = strchr (p, '/') + 1;
      *id_start = p;
      *id_len = strlen (parts[n - 1]);
    }
  return t;
}

static void
resolve_one (Ctx        *ctx,
             const Item *item,
             Coll       *out)
{
  const char *ref = NULL;
  const char *declared_type = NULL;
  JsonNode *root = ctx->resource_item.node;
  int t;

  if (item->kind == CHARTA_FHIRPATH_NODE && item->node != NULL &&
      JSON_NODE_HOLDS_OBJECT (item->node))
    {
      ref = string_member (item->node, "reference");
      declared_type = string_member (item->node, "type");
    }
  else
    {
      Val v;

      if (get_val (ctx, item, &v) && v.kind == CHARTA_FHIRPATH_STRING)
        ref = v.text;
    }
  if (ref == NULL)
    return;

  if (ref[0] == '#')
    {
      JsonNode *contained;

      if (ref[1] == '\0')
        {
          push_item (out, &ctx->resource_item);
          return;
        }
      contained = object_member (root, "contained");
      if (contained != NULL && JSON_NODE_HOLDS_ARRAY (contained))
        {
          JsonArray *arr = json_node_get_array (contained);

          for (unsigned i = 0; i < json_array_get_length (arr); i++)
            {
              JsonNode *r = json_array_get_element (arr, i);

              if (g_strcmp0 (string_member (r, "id"), ref + 1) == 0)
                {
                  push_node (out, resource_type_of (r), r, NULL, root, "contained", (int) i);
                  return;
                }
            }
        }
      return;
    }

  /* Inside a Bundle: an entry whose fullUrl is the reference, or ends with it. */
  if (ctx->resource_item.type >= 0 &&
      strcmp (charta_model_types[ctx->resource_item.type].name, "Bundle") == 0)
    {
      JsonNode *entries = object_member (root, "entry");

      if (entries != NULL && JSON_NODE_HOLDS_ARRAY (entries))
        {
          JsonArray *arr = json_node_get_array (entries);
          size_t ref_len = strlen (ref);

          for (unsigned i = 0; i < json_array_get_length (arr); i++)
            {
              JsonNode *entry = json_array_get_element (arr, i);
              const char *full = string_member (entry, "fullUrl");
              JsonNode *resource = object_member (entry, "resource");
              size_t full_len;

              if (full == NULL || resource == NULL)
                continue;
              full_len = strlen (full);
              if (strcmp (full, ref) == 0 ||
                  (full_len > ref_len && full[full_len - ref_len - 1] == '/' &&
                   strcmp (full + full_len - ref_len, ref) == 0))
                {
                  push_node (out, resource_type_of (resource), resource, NULL, entry, "resource",
                             -1);
                  return;
                }
            }
        }
    }

  t = reference_type (ref, NULL, NULL);
  if (t < 0 && declared_type != NULL)
    {
      t = charta_model_find_type (declared_type);
      if (t >= 0 && (charta_model_types[t].kind != CHARTA_TYPE_KIND_RESOURCE ||
                     charta_model_types[t].is_abstract))
        t = -1;
    }
  if (t >= 0)
    push_node (out, t, NULL, NULL, NULL, NULL, -1);
}

/* --- type() ------------------------------------------------------------------------------ */

static GMutex type_info_lock;
static GHashTable *type_info_nodes; /* "Namespace.Name" -> JsonNode {namespace, name} */

static JsonNode *
type_info_node (const char *ns,
                const char *name)
{
  g_autofree char *key = g_strconcat (ns, ".", name, NULL);
  JsonNode *node;

  g_mutex_lock (&type_info_lock);
  if (type_info_nodes == NULL)
    type_info_nodes = g_hash_table_new (g_str_hash, g_str_equal);
  node = g_hash_table_lookup (type_info_nodes, key);
  if (node == NULL)
    {
      JsonObject *obj = json_object_new ();

      json_object_set_string_member (obj, "namespace", ns);
      json_object_set_string_member (obj, "name", name);
      node = json_node_init_object (json_node_alloc (), obj);
      json_object_unref (obj);
      json_node_seal (node);
      g_hash_table_insert (type_info_nodes, g_steal_pointer (&key), node);
    }
  g_mutex_unlock (&type_info_lock);
  return node;
}

static const char *const system_type_names[] = {
  [CHARTA_FHIRPATH_BOOLEAN] = "Boolean",
  [CHARTA_FHIRPATH_INTEGER] = "Integer",
  [CHARTA_FHIRPATH_DECIMAL] = "Decimal",
  [CHARTA_FHIRPATH_STRING] = "String",
  [CHARTA_FHIRPATH_DATE] = "Date",
  [CHARTA_FHIRPATH_DATETIME] = "DateTime",
  [CHARTA_FHIRPATH_TIME] = "Time",
  [CHARTA_FHIRPATH_QUANTITY] = "Quantity",
};

/* --- sort() ------------------------------------------------------------------------------ */

typedef struct
{
  Item item;
  unsigned position;
  Val *keys;       /* one per key; kind KIND_NONE when empty */
} SortEntry;

typedef struct
{
  unsigned n_keys;
  gboolean *descending;
} SortSpec;

static int
vals_order (const Val *a,
            const Val *b)
{
  if (is_number_kind (a->kind) && is_number_kind (b->kind))
    return a->decimal < b->decimal ? -1 : a->decimal > b->decimal ? 1 : 0;
  if (a->kind == CHARTA_FHIRPATH_STRING && b->kind == CHARTA_FHIRPATH_STRING)
    return strcmp (a->text, b->text);
  if (is_date_kind (a->kind) && is_date_kind (b->kind))
    {
      FpDateTime x, y;
      int c;

      if (parse_val_date (a, &x) && parse_val_date (b, &y) &&
          (c = fp_datetime_compare (&x, &y)) <= 1)
        return c;
      return g_strcmp0 (a->text, b->text);
    }
  if (a->kind == CHARTA_FHIRPATH_BOOLEAN && b->kind == CHARTA_FHIRPATH_BOOLEAN)
    return a->boolean - b->boolean;
  return 0;
}

static int
sort_compare (gconstpointer pa,
              gconstpointer pb,
              gpointer      user_data)
{
  const SortEntry *a = pa, *b = pb;
  const SortSpec *spec = user_data;

  for (unsigned k = 0; k < spec->n_keys; k++)
    {
      gboolean ea = a->keys[k].kind == KIND_NONE, eb = b->keys[k].kind == KIND_NONE;
      int c;

      /* Items without a key come first, whatever the direction. */
      if (ea || eb)
        {
          if (ea != eb)
            return ea ? -1 : 1;
          continue;
        }
      c = vals_order (&a->keys[k], &b->keys[k]);

      if (c != 0)
        return spec->descending[k] ? -c : c;
    }
  return a->position < b->position ? -1 : a->position > b->position;
}

/* --- functions --------------------------------------------------------------------------- */

static gboolean
matches_regex (Ctx         *ctx,
               FpNode      *node,
               const Frame *frame,
               unsigned     n,
               gboolean     full,
               GRegex     **regex_out)
{
  const char *pattern;
  GRegex *regex;
  g_autoptr(GError) local = NULL;
  FpNode *arg = node->args[n];
  gboolean cacheable = arg->kind == FP_NODE_LITERAL &&
                       arg->literal.kind == CHARTA_FHIRPATH_STRING && !full;

  *regex_out = NULL;
  if (cacheable)
    {
      regex = g_atomic_pointer_get (&node->regex);
      if (regex != NULL)
        {
          *regex_out = g_regex_ref (regex);
          return TRUE;
        }
    }
  if (!arg_string (ctx, node, n, frame, &pattern))
    return FALSE;
  if (pattern == NULL)
    return TRUE;
  {
    g_autofree char *anchored = full ? g_strdup_printf ("^(?:%s)$", pattern) : NULL;

    regex = g_regex_new (full ? anchored : pattern, G_REGEX_DOTALL | G_REGEX_OPTIMIZE, 0, &local);
  }
  if (regex == NULL)
    return eval_error (ctx, node, "invalid regular expression \"%s\": %s", pattern,
                       local->message);
  if (cacheable)
    {
      if (!g_atomic_pointer_compare_and_exchange (&node->regex, NULL, regex))
        {
          g_regex_unref (regex);
          regex = g_atomic_pointer_get (&node->regex);
        }
      *regex_out = g_regex_ref (regex);
      return TRUE;
    }
  *regex_out = regex;
  return TRUE;
}

static gboolean
string_function (Ctx         *ctx,
                 FpNode      *node,
                 Coll        *focus,
                 const Frame *frame,
                 Coll        *out)
{
  const char *s;

  if (!input_string (ctx, node, focus, &s))
    return FALSE;
  if (s == NULL)
    return TRUE;

  switch (node->function)
    {
    case FP_FN_INDEX_OF:
      {
        const char *sub, *found;

        if (!arg_string (ctx, node, 0, frame, &sub))
          return FALSE;
        if (sub == NULL)
          return TRUE;
        found = strstr (s, sub);
        push_integer (out, found == NULL ? -1 : g_utf8_pointer_to_offset (s, found));
        return TRUE;
      }

    case FP_FN_SUBSTRING:
      {
        int64_t start, length = -1;
        gboolean has;
        long n = g_utf8_strlen (s, -1);
        const char *from, *to;

        if (!arg_integer (ctx, node, 0, frame, &start, &has))
          return FALSE;
        if (!has || start < 0 || start >= n)
          return TRUE;
        if (node->n_args > 1)
          {
            if (!arg_integer (ctx, node, 1, frame, &length, &has))
              return FALSE;
            if (!has)
              length = -1;
            else if (length < 0)
              length = 0;
          }
        if (length < 0 || start + length > n)
          length = n - start;
        from = g_utf8_offset_to_pointer (s, start);
        to = g_utf8_offset_to_pointer (from, length);
        push_string (out, CHARTA_FHIRPATH_STRING,
                     ctx_take (ctx, g_strndup (from, to - from)));
        return TRUE;
      }

    case FP_FN_STARTS_WITH:
    case FP_FN_ENDS_WITH:
    case FP_FN_CONTAINS:
      {
        const char *sub;

        if (!arg_string (ctx, node, 0, frame, &sub))
          return FALSE;
        if (sub == NULL)
          return TRUE;
        if (node->function == FP_FN_STARTS_WITH)
          push_boolean (out, g_str_has_prefix (s, sub));
        else if (node->function == FP_FN_ENDS_WITH)
          push_boolean (out, g_str_has_suffix (s, sub));
        else
          push_boolean (out, strstr (s, sub) != NULL);
        return TRUE;
      }

    case FP_FN_UPPER:
      push_string (out, CHARTA_FHIRPATH_STRING, ctx_take (ctx, g_utf8_strup (s, -1)));
      return TRUE;

    case FP_FN_LOWER:
      push_string (out, CHARTA_FHIRPATH_STRING, ctx_take (ctx, g_utf8_strdown (s, -1)));
      return TRUE;

    case FP_FN_REPLACE:
      {
        const char *pattern, *subst;
        GString *r;

        if (!arg_string (ctx, node, 0, frame, &pattern) ||
            !arg_string (ctx, node, 1, frame, &subst))
          return FALSE;
        if (pattern == NULL || subst == NULL)
          return TRUE;
        r = g_string_new (NULL);
        if (*pattern == '\0')
          {
            g_string_append (r, subst);
            for (const char *p = s; *p; p = g_utf8_next_char (p))
              {
                g_string_append_len (r, p, g_utf8_next_char (p) - p);
                g_string_append (r, subst);
              }
          }
        else
          {
            size_t plen = strlen (pattern);
            const char *p = s, *hit;

            while ((hit = strstr (p, pattern)) != NULL)
              {
                g_string_append_len (r, p, hit - p);
                g_string_append (r, subst);
                p = hit + plen;
              }
            g_string_append (r, p);
          }
        push_string (out, CHARTA_FHIRPATH_STRING, ctx_take (ctx, g_string_free (r, FALSE)));
        return TRUE;
      }

    case FP_FN_MATCHES:
    case FP_FN_MATCHES_FULL:
      {
        g_autoptr(GRegex) regex = NULL;

        if (!matches_regex (ctx, node, frame, 0, node->function == FP_FN_MATCHES_FULL, &regex))
          return FALSE;
        if (regex == NULL)
          return TRUE;
        push_boolean (out, g_regex_match (regex, s, 0, NULL));
        return TRUE;
      }

    case FP_FN_REPLACE_MATCHES:
      {
        g_autoptr(GRegex) regex = NULL;
        const char *subst;
        g_autoptr(GString) repl = NULL;
        g_autoptr(GError) local = NULL;
        char *result;

        if (!matches_regex (ctx, node, frame, 0, FALSE, &regex) ||
            !arg_string (ctx, node, 1, frame, &subst))
          return FALSE;
        if (regex == NULL || subst == NULL)
          return TRUE;
        if (g_regex_get_pattern (regex)[0] == '\0')
          {
            push_string (out, CHARTA_FHIRPATH_STRING, s);
            return TRUE;
          }
        /* FHIRPath substitutions use $1; GRegex uses \1. */
        repl = g_string_new (NULL);
        for (const char *p = subst; *p; p++)
          {
            if (*p == '$' && g_ascii_isdigit (p[1]))
              g_string_append_c (repl, '\\');
            else if (*p == '\\')
              g_string_append_c (repl, '\\');
            g_string_append_c (repl, *p);
          }
        result = g_regex_replace (regex, s, -1, 0, repl->str, 0, &local);
        if (result == NULL)
          return eval_error (ctx, node, "replaceMatches(): %s", local->message);
        push_string (out, CHARTA_FHIRPATH_STRING, ctx_take (ctx, result));
        return TRUE;
      }

    case FP_FN_LENGTH:
      push_integer (out, g_utf8_strlen (s, -1));
      return TRUE;

    case FP_FN_TO_CHARS:
      for (const char *p = s; *p; p = g_utf8_next_char (p))
        push_string (out, CHARTA_FHIRPATH_STRING,
                     ctx_take (ctx, g_strndup (p, g_utf8_next_char (p) - p)));
      return TRUE;

    case FP_FN_TRIM:
      push_string (out, CHARTA_FHIRPATH_STRING, ctx_take (ctx, g_strstrip (g_strdup (s))));
      return TRUE;

    case FP_FN_SPLIT:
      {
        const char *sep;

        if (!arg_string (ctx, node, 0, frame, &sep))
          return FALSE;
        if (sep == NULL)
          return TRUE;
        if (*sep == '\0')
          {
            push_string (out, CHARTA_FHIRPATH_STRING, s);
            return TRUE;
          }
        {
          g_auto(GStrv) parts = g_strsplit (s, sep, -1);

          for (unsigned i = 0; parts[i] != NULL; i++)
            push_string (out, CHARTA_FHIRPATH_STRING, ctx_strdup (ctx, parts[i]));
        }
        return TRUE;
      }

    case FP_FN_ENCODE:
    case FP_FN_DECODE:
      {
        const char *format;

        if (!arg_string (ctx, node, 0, frame, &format))
          return FALSE;
        if (format == NULL)
          return TRUE;
        if (strcmp (format, "hex") == 0)
          {
            GString *r = g_string_new (NULL);

            if (node->function == FP_FN_ENCODE)
              for (const char *p = s; *p; p++)
                g_string_append_printf (r, "%02x", (unsigned char) *p);
            else
              {
                size_t len = strlen (s);

                if (len % 2 != 0)
                  {
                    g_string_free (r, TRUE);
                    return TRUE;
                  }
                for (size_t i = 0; i < len; i += 2)
                  {
                    int hi = g_ascii_xdigit_value (s[i]), lo = g_ascii_xdigit_value (s[i + 1]);

                    if (hi < 0 || lo < 0)
                      {
                        g_string_free (r, TRUE);
                        return TRUE;
                      }
                    g_string_append_c (r, (char) (hi * 16 + lo));
                  }
              }
            push_string (out, CHARTA_FHIRPATH_STRING, ctx_take (ctx, g_string_free (r, FALSE)));
            return TRUE;
          }
        if (strcmp (format, "base64") == 0 || strcmp (format, "urlbase64") == 0)
          {
            gboolean url = format[0] == 'u';
            char *r;

            if (node->function == FP_FN_ENCODE)
              {
                r = g_base64_encode ((const guchar *) s, strlen (s));
                if (url)
                  g_strdelimit (g_strdelimit (r, "+", '-'), "/", '_');
              }
            else
              {
                g_autofree char *in = g_strdup (s);
                g_autofree guchar *raw = NULL;
                gsize len;

                if (url)
                  g_strdelimit (g_strdelimit (in, "-", '+'), "_", '/');
                raw = g_base64_decode (in, &len);
                if (!g_utf8_validate ((const char *) raw, len, NULL))
                  return TRUE;
                r = g_strndup ((const char *) raw, len);
              }
            push_string (out, CHARTA_FHIRPATH_STRING, ctx_take (ctx, r));
            return TRUE;
          }
        return TRUE;
      }

    case FP_FN_ESCAPE:
    case FP_FN_UNESCAPE:
      {
        const char *format;
        GString *r;

        if (!arg_string (ctx, node, 0, frame, &format))
          return FALSE;
        if (format == NULL)
          return TRUE;
        r = g_string_new (NULL);
        if (strcmp (format, "html") == 0 && node->function == FP_FN_ESCAPE)
          {
            char *esc = g_markup_escape_text (s, -1);

            /* g_markup_escape_text writes &#39; and &quot; like HTML does */
            g_string_append (r, esc);
            g_free (esc);
          }
        else if (strcmp (format, "html") == 0)
          {
            static const struct { const char *ent, *ch; } ents[] = {
              { "&quot;", "\"" }, { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" },
              { "&#39;", "'" }, { "&apos;", "'" },
            };
            for (const char *p = s; *p;)
              {
                unsigned i;

                for (i = 0; i < G_N_ELEMENTS (ents); i++)
                  if (g_str_has_prefix (p, ents[i].ent))
                    break;
                if (i < G_N_ELEMENTS (ents))
                  {
                    g_string_append (r, ents[i].ch);
                    p += strlen (ents[i].ent);
                  }
                else
                  g_string_append_c (r, *p++);
              }
          }
        else if (strcmp (format, "json") == 0 && node->function == FP_FN_ESCAPE)
          {
            for (const char *p = s; *p; p++)
              {
                if (*p == '"' || *p == '\\')
                  g_string_append_c (r, '\\');
                g_string_append_c (r, *p);
              }
          }
        else if (strcmp (format, "json") == 0)
          {
            for (const char *p = s; *p; p++)
              {
                if (*p == '\\' && p[1] != '\0')
                  p++;
                g_string_append_c (r, *p);
              }
          }
        else
          {
            g_string_free (r, TRUE);
            return TRUE;
          }
        push_string (out, CHARTA_FHIRPATH_STRING, ctx_take (ctx, g_string_free (r, FALSE)));
        return TRUE;
      }

    default:
      g_assert_not_reached ();
    }
}

static gboolean
math_function (Ctx         *ctx,
               FpNode      *node,
               Coll        *focus,
               const Frame *frame,
               Coll        *out)
{
  Val v;
  gboolean has;
  double x, r;

  if (!single_val (ctx, node, focus, &v, &has))
    return FALSE;
  if (!has)
    return TRUE;
  if (v.kind == CHARTA_FHIRPATH_QUANTITY && node->function == FP_FN_ABS)
    {
      push_quantity (out, fabs (v.decimal),
                     v.text != NULL && v.text[0] == '-' ? v.text + 1 : v.text, v.unit);
      return TRUE;
    }
  if (!is_number_kind (v.kind))
    return eval_error (ctx, node, "a number was expected");
  x = v.decimal;

  switch (node->function)
    {
    case FP_FN_ABS:
      if (v.kind == CHARTA_FHIRPATH_INTEGER)
        push_integer (out, v.integer < 0 ? -v.integer : v.integer);
      else
        push_decimal (out, fabs (x), v.text != NULL && v.text[0] == '-' ? v.text + 1 : v.text);
      return TRUE;
    case FP_FN_CEILING:
      push_integer (out, (int64_t) ceil (x));
      return TRUE;
    case FP_FN_FLOOR:
      push_integer (out, (int64_t) floor (x));
      return TRUE;
    case FP_FN_TRUNCATE:
      push_integer (out, (int64_t) trunc (x));
      return TRUE;
    case FP_FN_EXP:
      r = exp (x);
      break;
    case FP_FN_LN:
      if (x <= 0)
        return TRUE;
      r = log (x);
      break;
    case FP_FN_SQRT:
      if (x < 0)
        return TRUE;
      r = sqrt (x);
      break;
    case FP_FN_LOG:
    case FP_FN_POWER:
      {
        Coll *tmp = coll_get (ctx);
        Val a;
        gboolean ok = eval_arg (ctx, node->args[0], frame, tmp) &&
                      single_val (ctx, node, tmp, &a, &has);

        coll_put (ctx, tmp);
        if (!ok)
          return FALSE;
        if (!has)
          return TRUE;
        if (!is_number_kind (a.kind))
          return eval_error (ctx, node, "a number argument was expected");
        if (node->function == FP_FN_LOG)
          {
            if (x <= 0 || a.decimal <= 0 || a.decimal == 1)
              return TRUE;
            r = log (x) / log (a.decimal);
          }
        else
          {
            r = pow (x, a.decimal);
            if (isnan (r) || isinf (r))
              return TRUE;
            if (v.kind == CHARTA_FHIRPATH_INTEGER && a.kind == CHARTA_FHIRPATH_INTEGER &&
                a.integer >= 0 && fabs (r) < 9.0e15)
              {
                push_integer (out, (int64_t) r);
                return TRUE;
              }
          }
        break;
      }
    case FP_FN_ROUND:
      {
        int64_t places = 0;

        if (node->n_args > 0 && !arg_integer (ctx, node, 0, frame, &places, &has))
          return FALSE;
        if (places < 0)
          return eval_error (ctx, node, "round() precision must not be negative");
        r = round_to (x, (int) places);
        push_decimal (out, r, ctx_take (ctx, g_strdup_printf ("%.*f", (int) places, r)));
        return TRUE;
      }
    default:
      g_assert_not_reached ();
    }
  if (isnan (r) || isinf (r))
    return TRUE;
  push_decimal (out, r, NULL);
  return TRUE;
}

static gboolean
bool_collection_function (Ctx    *ctx,
                          FpNode *node,
                          Coll   *focus,
                          Coll   *out)
{
  gboolean want = node->function == FP_FN_ALL_TRUE || node->function == FP_FN_ANY_TRUE;
  gboolean all = node->function == FP_FN_ALL_TRUE || node->function == FP_FN_ALL_FALSE;
  gboolean result = all;

  for (unsigned i = 0; i < focus->len; i++)
    {
      Val v;

      if (!get_val (ctx, item_at (focus, i), &v))
        continue;
      if (v.kind != CHARTA_FHIRPATH_BOOLEAN)
        return eval_error (ctx, node, "a collection of booleans was expected");
      if (all && v.boolean != want)
        result = FALSE;
      if (!all && v.boolean == want)
        result = TRUE;
    }
  push_boolean (out, result);
  return TRUE;
}

static gboolean
call_function (Ctx         *ctx,
               FpNode      *node,
               Coll        *focus,
               const Frame *frame,
               Coll        *out)
{
  gboolean ok = TRUE;

  switch (node->function)
    {
    case FP_FN_EMPTY:
      push_boolean (out, focus->len == 0);
      return TRUE;

    case FP_FN_EXISTS:
    case FP_FN_ALL:
    case FP_FN_WHERE:
      {
        Coll *one, *tmp;
        gboolean found = FALSE, all = TRUE;

        if (node->n_args == 0)
          {
            push_boolean (out, focus->len > 0);
            return TRUE;
          }
        one = coll_get (ctx);
        tmp = coll_get (ctx);
        for (unsigned i = 0; i < focus->len && ok; i++)
          {
            int b;

            g_array_set_size (tmp, 0);
            ok = eval_for_item (ctx, node->args[0], focus, i, frame, one, tmp) &&
                 coll_to_bool (ctx, node, tmp, &b);
            if (!ok)
              break;
            if (b == 1)
              {
                found = TRUE;
                if (node->function == FP_FN_WHERE)
                  push_item (out, item_at (focus, i));
                else if (node->function == FP_FN_EXISTS)
                  break;
              }
            else
              {
                all = FALSE;
                if (node->function == FP_FN_ALL)
                  break;
              }
          }
        coll_put (ctx, one);
        coll_put (ctx, tmp);
        if (ok && node->function == FP_FN_EXISTS)
          push_boolean (out, found);
        else if (ok && node->function == FP_FN_ALL)
          push_boolean (out, all);
        return ok;
      }

    case FP_FN_SELECT:
      {
        Coll *one = coll_get (ctx);

        for (unsigned i = 0; i < focus->len && ok; i++)
          ok = eval_for_item (ctx, node->args[0], focus, i, frame, one, out);
        coll_put (ctx, one);
        return ok;
      }

    case FP_FN_REPEAT:
      {
        Coll *one = coll_get (ctx);
        Coll *level = coll_get (ctx);
        Coll *next = coll_get (ctx);
        unsigned start = out->len;

        g_array_append_vals (level, focus->data, focus->len);
        while (ok && level->len > 0)
          {
            Coll *swap;

            g_array_set_size (next, 0);
            for (unsigned i = 0; i < level->len && ok; i++)
              {
                Coll *res = coll_get (ctx);

                ok = eval_for_item (ctx, node->args[0], level, i, frame, one, res);
                for (unsigned j = 0; ok && j < res->len; j++)
                  {
                    Item *it = item_at (res, j);
                    gboolean seen = FALSE;

                    for (unsigned k = start; k < out->len && !seen; k++)
                      seen = items_equal (ctx, item_at (out, k), it) == 1;
                    if (!seen)
                      {
                        push_item (out, it);
                        push_item (next, it);
                      }
                  }
                coll_put (ctx, res);
              }
            swap = level;
            level = next;
            next = swap;
          }
        coll_put (ctx, one);
        coll_put (ctx, level);
        coll_put (ctx, next);
        return ok;
      }

    case FP_FN_ALL_TRUE:
    case FP_FN_ANY_TRUE:
    case FP_FN_ALL_FALSE:
    case FP_FN_ANY_FALSE:
      return bool_collection_function (ctx, node, focus, out);

    case FP_FN_SUBSET_OF:
    case FP_FN_SUPERSET_OF:
      {
        Coll *other = coll_get (ctx);
        Coll *sub, *super;
        gboolean result = TRUE;

        ok = eval_arg (ctx, node->args[0], frame, other);
        sub = node->function == FP_FN_SUBSET_OF ? focus : other;
        super = node->function == FP_FN_SUBSET_OF ? other : focus;
        for (unsigned i = 0; ok && i < sub->len && result; i++)
          result = coll_contains (ctx, super, item_at (sub, i));
        if (ok)
          push_boolean (out, result);
        coll_put (ctx, other);
        return ok;
      }

    case FP_FN_COUNT:
      push_integer (out, focus->len);
      return TRUE;

    case FP_FN_DISTINCT:
    case FP_FN_IS_DISTINCT:
      {
        Coll *d = coll_get (ctx);

        append_distinct (ctx, d, focus);
        if (node->function == FP_FN_DISTINCT)
          g_array_append_vals (out, d->data, d->len);
        else
          push_boolean (out, d->len == focus->len);
        coll_put (ctx, d);
        return TRUE;
      }

    case FP_FN_OF_TYPE:
    case FP_FN_AS:
      for (unsigned i = 0; i < focus->len; i++)
        if (item_is_type (item_at (focus, i), &node->type_spec))
          push_item (out, item_at (focus, i));
      return TRUE;

    case FP_FN_IS:
      if (focus->len == 0)
        return TRUE;
      if (focus->len > 1)
        return eval_error (ctx, node, "is() needs a single item, found %u", focus->len);
      push_boolean (out, item_is_type (item_at (focus, 0), &node->type_spec));
      return TRUE;

    case FP_FN_SINGLE:
      if (focus->len > 1)
        return eval_error (ctx, node, "single() found %u items", focus->len);
      g_array_append_vals (out, focus->data, focus->len);
      return TRUE;

    case FP_FN_FIRST:
      if (focus->len > 0)
        push_item (out, item_at (focus, 0));
      return TRUE;

    case FP_FN_LAST:
      if (focus->len > 0)
        push_item (out, item_at (focus, focus->len - 1));
      return TRUE;

    case FP_FN_TAIL:
      if (focus->len > 1)
        g_array_append_vals (out, item_at (focus, 1), focus->len - 1);
      return TRUE;

    case FP_FN_SKIP:
    case FP_FN_TAKE:
      {
        int64_t n;
        gboolean has;

        if (!arg_integer (ctx, node, 0, frame, &n, &has))
          return FALSE;
        if (!has)
          return TRUE;
        if (n < 0)
          n = 0;
        if (node->function == FP_FN_SKIP)
          {
            if ((uint64_t) n < focus->len)
              g_array_append_vals (out, item_at (focus, (unsigned) n), focus->len - (unsigned) n);
          }
        else
          g_array_append_vals (out, focus->data, MIN ((uint64_t) n, focus->len));
        return TRUE;
      }

    case FP_FN_INTERSECT:
    case FP_FN_EXCLUDE:
      {
        Coll *other = coll_get (ctx);
        unsigned start = out->len;

        ok = eval_arg (ctx, node->args[0], frame, other);
        for (unsigned i = 0; ok && i < focus->len; i++)
          {
            Item *it = item_at (focus, i);
            gboolean in = coll_contains (ctx, other, it);

            if (node->function == FP_FN_EXCLUDE)
              {
                if (!in)
                  push_item (out, it);
              }
            else if (in)
              {
                gboolean seen = FALSE;

                for (unsigned k = start; k < out->len && !seen; k++)
                  seen = items_equal (ctx, item_at (out, k), it) == 1;
                if (!seen)
                  push_item (out, it);
              }
          }
        coll_put (ctx, other);
        return ok;
      }

    case FP_FN_UNION:
    case FP_FN_COMBINE:
      {
        Coll *other = coll_get (ctx);

        ok = eval_arg (ctx, node->args[0], frame, other);
        if (ok && node->function == FP_FN_COMBINE)
          {
            g_array_append_vals (out, focus->data, focus->len);
            g_array_append_vals (out, other->data, other->len);
          }
        else if (ok)
          {
            Coll *all = coll_get (ctx);

            append_distinct (ctx, all, focus);
            append_distinct (ctx, all, other);
            g_array_append_vals (out, all->data, all->len);
            coll_put (ctx, all);
          }
        coll_put (ctx, other);
        return ok;
      }

    case FP_FN_IIF:
      {
        Coll *cond = coll_get (ctx);
        Frame f = *frame;
        int b;

        if (focus->len > 1)
          {
            coll_put (ctx, cond);
            return eval_error (ctx, node, "iif() needs at most one input item, found %u",
                               focus->len);
          }
        /* Invoked on an input (`x.iif(…)`): the arguments see that input as $this, even
         * when it is empty; called plainly, they see the enclosing $this. */
        if (focus != frame->this_coll)
          f.this_coll = focus;
        ok = eval_arg (ctx, node->args[0], &f, cond) && coll_to_bool (ctx, node, cond, &b);
        coll_put (ctx, cond);
        if (!ok)
          return FALSE;
        if (b == 1)
          return eval_arg (ctx, node->args[1], &f, out);
        if (node->n_args > 2)
          return eval_arg (ctx, node->args[2], &f, out);
        return TRUE;
      }

    case FP_FN_TO_BOOLEAN:
    case FP_FN_TO_INTEGER:
    case FP_FN_TO_DECIMAL:
    case FP_FN_TO_STRING:
    case FP_FN_TO_DATE:
    case FP_FN_TO_DATETIME:
    case FP_FN_TO_TIME:
    case FP_FN_TO_QUANTITY:
    case FP_FN_CONVERTS_TO_BOOLEAN:
    case FP_FN_CONVERTS_TO_INTEGER:
    case FP_FN_CONVERTS_TO_DECIMAL:
    case FP_FN_CONVERTS_TO_STRING:
    case FP_FN_CONVERTS_TO_DATE:
    case FP_FN_CONVERTS_TO_DATETIME:
    case FP_FN_CONVERTS_TO_TIME:
    case FP_FN_CONVERTS_TO_QUANTITY:
      {
        static const FpFunction to[] = {
          [FP_FN_CONVERTS_TO_BOOLEAN] = FP_FN_TO_BOOLEAN,
          [FP_FN_CONVERTS_TO_INTEGER] = FP_FN_TO_INTEGER,
          [FP_FN_CONVERTS_TO_DECIMAL] = FP_FN_TO_DECIMAL,
          [FP_FN_CONVERTS_TO_STRING] = FP_FN_TO_STRING,
          [FP_FN_CONVERTS_TO_DATE] = FP_FN_TO_DATE,
          [FP_FN_CONVERTS_TO_DATETIME] = FP_FN_TO_DATETIME,
          [FP_FN_CONVERTS_TO_TIME] = FP_FN_TO_TIME,
          [FP_FN_CONVERTS_TO_QUANTITY] = FP_FN_TO_QUANTITY,
        };
        gboolean is_test = node->function < G_N_ELEMENTS (to) && to[node->function] != 0;
        FpFunction fn = is_test ? to[node->function] : node->function;
        Val v;
        gboolean has;

        if (!single_val (ctx, node, focus, &v, &has))
          return FALSE;
        if (!has)
          return TRUE;
        if (is_test)
          {
            Coll *tmp = coll_get (ctx);

            push_boolean (out, convert (ctx, fn, &v, tmp));
            coll_put (ctx, tmp);
          }
        else
          {
            unsigned before = out->len;

            convert (ctx, fn, &v, out);
            /* toQuantity(unit): only the same unit is supported. */
            if (fn == FP_FN_TO_QUANTITY && node->n_args > 0 && out->len > before)
              {
                const char *unit;

                if (!arg_string (ctx, node, 0, frame, &unit))
                  return FALSE;
                if (unit == NULL || strcmp (item_at (out, before)->unit, unit) != 0)
                  g_array_set_size (out, before);
              }
          }
        return TRUE;
      }

    case FP_FN_INDEX_OF:
    case FP_FN_SUBSTRING:
    case FP_FN_STARTS_WITH:
    case FP_FN_ENDS_WITH:
    case FP_FN_CONTAINS:
    case FP_FN_UPPER:
    case FP_FN_LOWER:
    case FP_FN_REPLACE:
    case FP_FN_MATCHES:
    case FP_FN_MATCHES_FULL:
    case FP_FN_REPLACE_MATCHES:
    case FP_FN_LENGTH:
    case FP_FN_TO_CHARS:
    case FP_FN_TRIM:
    case FP_FN_SPLIT:
    case FP_FN_ENCODE:
    case FP_FN_DECODE:
    case FP_FN_ESCAPE:
    case FP_FN_UNESCAPE:
      return string_function (ctx, node, focus, frame, out);

    case FP_FN_JOIN:
      {
        const char *sep = "";
        GString *r;

        if (node->n_args > 0 && !arg_string (ctx, node, 0, frame, &sep))
          return FALSE;
        if (sep == NULL)
          sep = "";
        r = g_string_new (NULL);
        for (unsigned i = 0; i < focus->len; i++)
          {
            Val v;
            const char *s;

            if (!get_val (ctx, item_at (focus, i), &v) || (s = val_to_string (ctx, &v)) == NULL)
              continue;
            if (i > 0)
              g_string_append (r, sep);
            g_string_append (r, s);
          }
        push_string (out, CHARTA_FHIRPATH_STRING, ctx_take (ctx, g_string_free (r, FALSE)));
        return TRUE;
      }

    case FP_FN_ABS:
    case FP_FN_CEILING:
    case FP_FN_EXP:
    case FP_FN_FLOOR:
    case FP_FN_LN:
    case FP_FN_LOG:
    case FP_FN_POWER:
    case FP_FN_ROUND:
    case FP_FN_SQRT:
    case FP_FN_TRUNCATE:
      return math_function (ctx, node, focus, frame, out);

    case FP_FN_CHILDREN:
      for (unsigned i = 0; i < focus->len; i++)
        push_children (item_at (focus, i), out);
      return TRUE;

    case FP_FN_DESCENDANTS:
      {
        unsigned start = out->len;

        for (unsigned i = 0; i < focus->len; i++)
          push_children (item_at (focus, i), out);
        for (unsigned i = start; i < out->len; i++)
          {
            Item it = *item_at (out, i);

            push_children (&it, out);
          }
        return TRUE;
      }

    case FP_FN_TRACE:
      g_debug ("trace (%s): %u item(s)", ctx->expr->expression, focus->len);
      g_array_append_vals (out, focus->data, focus->len);
      return TRUE;

    case FP_FN_NOW:
    case FP_FN_TODAY:
    case FP_FN_TIME_OF_DAY:
      {
        g_autoptr(GDateTime) now = g_date_time_new_now_local ();
        char *text;

        if (node->function == FP_FN_TODAY)
          text = g_date_time_format (now, "%Y-%m-%d");
        else
          {
            g_autofree char *base = g_date_time_format (now, node->function == FP_FN_NOW ?
                                                        "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S");
            g_autofree char *zone = g_date_time_format (now, "%:z");

            text = g_strdup_printf ("%s.%03d%s", base, g_date_time_get_microsecond (now) / 1000,
                                    node->function == FP_FN_NOW ? zone : "");
          }
        push_string (out, node->function == FP_FN_TODAY ? CHARTA_FHIRPATH_DATE :
                          node->function == FP_FN_NOW ? CHARTA_FHIRPATH_DATETIME :
                          CHARTA_FHIRPATH_TIME, ctx_take (ctx, text));
        return TRUE;
      }

    case FP_FN_NOT:
      {
        int b;

        if (!coll_to_bool (ctx, node, focus, &b))
          return FALSE;
        if (b >= 0)
          push_boolean (out, !b);
        return TRUE;
      }

    case FP_FN_AGGREGATE:
      {
        Coll *total = coll_get (ctx);
        Coll *one = coll_get (ctx);

        if (node->n_args > 1)
          ok = eval_arg (ctx, node->args[1], frame, total);
        for (unsigned i = 0; ok && i < focus->len; i++)
          {
            Frame f = { 0 };
            Coll *next = coll_get (ctx);

            g_array_set_size (one, 0);
            push_item (one, item_at (focus, i));
            f.this_coll = one;
            f.index = i;
            f.has_index = TRUE;
            f.total = total;
            ok = eval (ctx, node->args[0], one, &f, next);
            coll_put (ctx, total);
            total = next;
          }
        if (ok)
          g_array_append_vals (out, total->data, total->len);
        coll_put (ctx, total);
        coll_put (ctx, one);
        return ok;
      }

    case FP_FN_SORT:
      {
        unsigned n_keys = MAX (node->n_args, 1);
        g_autofree SortEntry *entries = g_new0 (SortEntry, focus->len);
        g_autofree Val *keys = g_new0 (Val, (size_t) focus->len * n_keys);
        g_autofree gboolean *descending = g_new0 (gboolean, n_keys);
        SortSpec spec = { n_keys, descending };
        Coll *one = coll_get (ctx);
        Coll *tmp = coll_get (ctx);

        for (unsigned k = 0; k < node->n_args; k++)
          descending[k] = node->args[k]->kind == FP_NODE_NEGATE;
        for (unsigned i = 0; ok && i < focus->len; i++)
          {
            entries[i].item = *item_at (focus, i);
            entries[i].position = i;
            entries[i].keys = &keys[(size_t) i * n_keys];
            for (unsigned k = 0; ok && k < n_keys; k++)
              {
                Val *kv = &entries[i].keys[k];

                kv->kind = KIND_NONE;
                if (node->n_args == 0)
                  {
                    if (!get_val (ctx, item_at (focus, i), kv))
                      kv->kind = KIND_NONE;
                    continue;
                  }
                g_array_set_size (tmp, 0);
                ok = eval_for_item (ctx, descending[k] ? node->args[k]->left : node->args[k],
                                    focus, i, frame, one, tmp);
                if (ok && tmp->len > 0 && !get_val (ctx, item_at (tmp, 0), kv))
                  kv->kind = KIND_NONE;
              }
          }
        if (ok)
          {
            g_qsort_with_data (entries, focus->len, sizeof (SortEntry), sort_compare, &spec);
            for (unsigned i = 0; i < focus->len; i++)
              push_item (out, &entries[i].item);
          }
        coll_put (ctx, one);
        coll_put (ctx, tmp);
        return ok;
      }

    case FP_FN_TYPE:
      for (unsigned i = 0; i < focus->len; i++)
        {
          const Item *it = item_at (focus, i);
          JsonNode *info;

          if (it->kind == CHARTA_FHIRPATH_NODE && it->type >= 0)
            info = type_info_node ("FHIR", charta_model_types[it->type].name);
          else if (it->kind == CHARTA_FHIRPATH_NODE)
            {
              int k = json_system_kind (it->node);

              if (k == KIND_NONE)
                continue;
              info = type_info_node ("System", system_type_names[k]);
            }
          else
            info = type_info_node ("System", system_type_names[it->kind]);
          push_node (out, -1, info, NULL, NULL, NULL, -1);
        }
      return TRUE;

    case FP_FN_EXTENSION:
      {
        const char *url;

        if (!arg_string (ctx, node, 0, frame, &url))
          return FALSE;
        if (url == NULL)
          return TRUE;
        for (unsigned i = 0; i < focus->len; i++)
          {
            const Item *it = item_at (focus, i);
            JsonNode *obj_node = item_object_node (it);
            JsonNode *parent;
            JsonObject *obj;
            JsonNode *exts;
            JsonArray *arr;

            if (obj_node == NULL)
              continue;
            obj = json_node_get_object (obj_node);
            parent = child_parent (it, obj_node);
            exts = json_object_get_member (obj, "extension");
            if (exts == NULL || !JSON_NODE_HOLDS_ARRAY (exts))
              continue;
            arr = json_node_get_array (exts);
            for (unsigned j = 0; j < json_array_get_length (arr); j++)
              {
                JsonNode *e = json_array_get_element (arr, j);

                if (g_strcmp0 (string_member (e, "url"), url) == 0)
                  push_node (out, model_info.extension, e, NULL, parent, "extension", (int) j);
              }
          }
        return TRUE;
      }

    case FP_FN_HAS_VALUE:
      {
        gboolean result = FALSE;

        if (focus->len == 1)
          {
            const Item *it = item_at (focus, 0);

            result = it->kind == CHARTA_FHIRPATH_NODE && type_is_primitive (it->type) &&
                     it->node != NULL && JSON_NODE_HOLDS_VALUE (it->node);
          }
        push_boolean (out, result);
        return TRUE;
      }

    case FP_FN_GET_VALUE:
      if (focus->len == 1)
        {
          const Item *it = item_at (focus, 0);
          Val v;

          if (it->kind == CHARTA_FHIRPATH_NODE && type_is_primitive (it->type) &&
              get_val (ctx, it, &v))
            {
              Item r = { 0 };

              r.kind = v.kind;
              r.type = -1;
              r.index = -1;
              r.boolean = v.boolean;
              r.integer = v.integer;
              r.decimal = v.decimal;
              r.string = (char *) v.text;
              push_item (out, &r);
            }
        }
      return TRUE;

    case FP_FN_RESOLVE:
      for (unsigned i = 0; i < focus->len; i++)
        resolve_one (ctx, item_at (focus, i), out);
      return TRUE;

    case FP_FN_MEMBER_OF:
      /* No terminology server: membership is unknown. */
      return TRUE;

    case FP_FN_CONFORMS_TO:
      {
        const char *url;
        static const char core[] = "http://hl7.org/fhir/StructureDefinition/";

        if (!arg_string (ctx, node, 0, frame, &url))
          return FALSE;
        if (url == NULL)
          return TRUE;
        for (unsigned i = 0; i < focus->len; i++)
          {
            const Item *it = item_at (focus, i);
            JsonNode *profiles;
            gboolean found = FALSE;

            if (it->kind != CHARTA_FHIRPATH_NODE || it->type < 0)
              continue;
            profiles = object_member (object_member (it->node, "meta"), "profile");
            if (profiles != NULL && JSON_NODE_HOLDS_ARRAY (profiles))
              {
                JsonArray *arr = json_node_get_array (profiles);

                for (unsigned j = 0; j < json_array_get_length (arr) && !found; j++)
                  {
                    JsonNode *p = json_array_get_element (arr, j);

                    found = JSON_NODE_HOLDS_VALUE (p) &&
                            json_node_get_value_type (p) == G_TYPE_STRING &&
                            strcmp (json_node_get_string (p), url) == 0;
                  }
              }
            if (found)
              push_boolean (out, TRUE);
            else if (g_str_has_prefix (url, core))
              {
                int t = charta_model_find_type (url + strlen (core));

                push_boolean (out, t >= 0 && charta_model_type_is_a (it->type, t));
              }
          }
        return TRUE;
      }

    case FP_FN_HTML_CHECKS:
      {
        Val v;
        gboolean has;

        if (!single_val (ctx, node, focus, &v, &has))
          return FALSE;
        if (has)
          push_boolean (out, v.kind == CHARTA_FHIRPATH_STRING &&
                             g_str_has_prefix (v.text, "<div"));
        return TRUE;
      }

    case FP_FN_PRECISION:
      {
        Val v;
        gboolean has;

        if (!single_val (ctx, node, focus, &v, &has))
          return FALSE;
        if (!has)
          return TRUE;
        if (v.kind == CHARTA_FHIRPATH_DECIMAL)
          push_integer (out, fp_decimal_places (v.text));
        else if (v.kind == CHARTA_FHIRPATH_INTEGER)
          push_integer (out, 0);
        else if (is_date_kind (v.kind))
          {
            FpDateTime dt;
            static const int date_digits[] = { 0, 4, 6, 8, 10, 12, 14 };
            static const int time_digits[] = { 0, 0, 0, 0, 2, 4, 6 };

            if (!parse_val_date (&v, &dt))
              return TRUE;
            if (dt.has_date)
              push_integer (out, date_digits[dt.precision] + (dt.frac_digits > 0 ? 3 : 0));
            else
              push_integer (out, time_digits[dt.precision] + (dt.frac_digits > 0 ? 3 : 0));
          }
        return TRUE;
      }

    case FP_FN_COMPARABLE:
      {
        Coll *other = coll_get (ctx);
        Val a, b;
        gboolean ha, hb;

        ok = eval_arg (ctx, node->args[0], frame, other) &&
             single_val (ctx, node, focus, &a, &ha) && single_val (ctx, node, other, &b, &hb);
        if (ok && ha && hb)
          {
            double fa, fb;
            const char *da, *db;

            if (a.kind != CHARTA_FHIRPATH_QUANTITY || b.kind != CHARTA_FHIRPATH_QUANTITY)
              ok = eval_error (ctx, node, "comparable() needs quantities");
            else
              {
                fp_unit_canonical (a.unit, &fa, &da);
                fp_unit_canonical (b.unit, &fb, &db);
                push_boolean (out, strcmp (da, db) == 0);
              }
          }
        coll_put (ctx, other);
        return ok;
      }

    case FP_FN_LOW_BOUNDARY:
    case FP_FN_HIGH_BOUNDARY:
      {
        gboolean high = node->function == FP_FN_HIGH_BOUNDARY;
        Val v;
        gboolean has;
        int64_t precision = -1;

        if (!single_val (ctx, node, focus, &v, &has))
          return FALSE;
        if (!has)
          return TRUE;
        if (node->n_args > 0)
          {
            gboolean has_precision;

            if (!arg_integer (ctx, node, 0, frame, &precision, &has_precision))
              return FALSE;
            if (!has_precision)
              return TRUE;
          }
        if (is_number_kind (v.kind) || v.kind == CHARTA_FHIRPATH_QUANTITY)
          {
            int places = v.kind == CHARTA_FHIRPATH_INTEGER ? 0 : fp_decimal_places (v.text);
            char *text;

            if (node->n_args == 0)
              precision = 8;
            if (precision < 0 || precision > 31)
              return TRUE;
            double value;

            text = fp_decimal_boundary (v.decimal, places, (int) precision, high);
            value = g_ascii_strtod (text, NULL);
            if (v.kind == CHARTA_FHIRPATH_QUANTITY)
              push_quantity (out, value, ctx_take (ctx, text), v.unit);
            else
              push_decimal (out, value, ctx_take (ctx, text));
            return TRUE;
          }
        if (is_date_kind (v.kind))
          {
            FpDateTime dt;
            int kind = v.kind;

            if (!parse_val_date (&v, &dt))
              return TRUE;
            if (node->n_args == 0)
              precision = !dt.has_date ? 9 : kind == CHARTA_FHIRPATH_DATE ? 8 : 17;
            if (!fp_datetime_boundary (&dt, (int) precision, high))
              return TRUE;
            if (kind == CHARTA_FHIRPATH_DATE && dt.precision > FP_PREC_DAY)
              kind = CHARTA_FHIRPATH_DATETIME;
            push_string (out, kind, ctx_take (ctx, fp_datetime_format (&dt)));
            return TRUE;
          }
        return eval_error (ctx, node, "%s() needs a number, a quantity or a date",
                           high ? "highBoundary" : "lowBoundary");
      }

    case FP_N_FUNCTIONS:
    default:
      break;
    }
  g_assert_not_reached ();
  return FALSE;
}

/* --- operators --------------------------------------------------------------------------- */

static gboolean
eval_compare (Ctx    *ctx,
              FpNode *node,
              Coll   *left,
              Coll   *right,
              Coll   *out)
{
  Val a, b;
  gboolean ha, hb;
  int c;

  if (!single_val (ctx, node, left, &a, &ha) || !single_val (ctx, node, right, &b, &hb))
    return FALSE;
  if (!ha || !hb)
    return TRUE;

  if (is_number_kind (a.kind) && is_number_kind (b.kind))
    {
      if (a.kind == CHARTA_FHIRPATH_INTEGER && b.kind == CHARTA_FHIRPATH_INTEGER)
        c = a.integer < b.integer ? -1 : a.integer > b.integer;
      else
        c = decimals_equal (a.decimal, b.decimal) ? 0 : a.decimal < b.decimal ? -1 : 1;
    }
  else if (a.kind == CHARTA_FHIRPATH_STRING && b.kind == CHARTA_FHIRPATH_STRING)
    {
      c = strcmp (a.text, b.text);
      c = c < 0 ? -1 : c > 0;
    }
  else if (is_date_kind (a.kind) && is_date_kind (b.kind))
    {
      FpDateTime x, y;

      if (!parse_val_date (&a, &x) || !parse_val_date (&b, &y))
        return TRUE;
      c = fp_datetime_compare (&x, &y);
      if (c == 2)
        return TRUE;
      if (c == 3)
        return eval_error (ctx, node, "cannot compare a time with a date");
    }
  else if (a.kind == CHARTA_FHIRPATH_QUANTITY && b.kind == CHARTA_FHIRPATH_QUANTITY)
    {
      if (!quantity_compare (&a, &b, &c))
        return TRUE;
    }
  else
    return eval_error (ctx, node, "cannot compare these values");

  switch (node->op)
    {
    case FP_OP_LT: push_boolean (out, c < 0); break;
    case FP_OP_GT: push_boolean (out, c > 0); break;
    case FP_OP_LE: push_boolean (out, c <= 0); break;
    case FP_OP_GE: push_boolean (out, c >= 0); break;
    default: g_assert_not_reached ();
    }
  return TRUE;
}

static gboolean
eval_arithmetic (Ctx    *ctx,
                 FpNode *node,
                 Coll   *left,
                 Coll   *right,
                 Coll   *out)
{
  Val a, b;
  gboolean ha, hb;

  if (!single_val (ctx, node, left, &a, &ha) || !single_val (ctx, node, right, &b, &hb))
    return FALSE;

  if (node->op == FP_OP_CONCAT)
    {
      const char *sa = ha ? val_to_string (ctx, &a) : "";
      const char *sb = hb ? val_to_string (ctx, &b) : "";

      if (sa == NULL || sb == NULL)
        return eval_error (ctx, node, "& needs strings");
      push_string (out, CHARTA_FHIRPATH_STRING, ctx_take (ctx, g_strconcat (sa, sb, NULL)));
      return TRUE;
    }
  if (!ha || !hb)
    return TRUE;

  /* Dates and times plus or minus a duration. */
  if (is_date_kind (a.kind) && (node->op == FP_OP_ADD || node->op == FP_OP_SUB))
    {
      FpDateTime dt;

      if (b.kind != CHARTA_FHIRPATH_QUANTITY)
        return eval_error (ctx, node, "only a time-valued quantity can be added to a date");
      if (!parse_val_date (&a, &dt))
        return TRUE;
      if (!fp_datetime_add (&dt, node->op == FP_OP_SUB ? -b.decimal : b.decimal, b.unit))
        return eval_error (ctx, node, "cannot add '%s' to a date or time", b.unit);
      push_string (out, a.kind, ctx_take (ctx, fp_datetime_format (&dt)));
      return TRUE;
    }

  if (a.kind == CHARTA_FHIRPATH_STRING && b.kind == CHARTA_FHIRPATH_STRING &&
      node->op == FP_OP_ADD)
    {
      push_string (out, CHARTA_FHIRPATH_STRING, ctx_take (ctx, g_strconcat (a.text, b.text, NULL)));
      return TRUE;
    }

  if (a.kind == CHARTA_FHIRPATH_QUANTITY || b.kind == CHARTA_FHIRPATH_QUANTITY)
    {
      double fa = 1, fb = 1;
      const char *da = "", *db = "";

      if (a.kind == CHARTA_FHIRPATH_QUANTITY && b.kind == CHARTA_FHIRPATH_QUANTITY)
        {
          fp_unit_canonical (a.unit, &fa, &da);
          fp_unit_canonical (b.unit, &fb, &db);
          if (strcmp (da, db) != 0)
            return TRUE;
          switch (node->op)
            {
            case FP_OP_ADD:
              push_quantity (out, a.decimal + b.decimal * fb / fa, NULL, a.unit);
              return TRUE;
            case FP_OP_SUB:
              push_quantity (out, a.decimal - b.decimal * fb / fa, NULL, a.unit);
              return TRUE;
            case FP_OP_DIV:
              if (b.decimal == 0)
                return TRUE;
              push_quantity (out, a.decimal * fa / (b.decimal * fb), NULL, "1");
              return TRUE;
            default:
              return TRUE; /* no unit algebra */
            }
        }
      if (a.kind == CHARTA_FHIRPATH_QUANTITY && is_number_kind (b.kind))
        {
          if (node->op == FP_OP_MUL)
            push_quantity (out, a.decimal * b.decimal, NULL, a.unit);
          else if (node->op == FP_OP_DIV && b.decimal != 0)
            push_quantity (out, a.decimal / b.decimal, NULL, a.unit);
          else if (node->op != FP_OP_DIV)
            return eval_error (ctx, node, "cannot combine a quantity and a number this way");
          return TRUE;
        }
      if (b.kind == CHARTA_FHIRPATH_QUANTITY && is_number_kind (a.kind) && node->op == FP_OP_MUL)
        {
          push_quantity (out, a.decimal * b.decimal, NULL, b.unit);
          return TRUE;
        }
      return eval_error (ctx, node, "cannot combine a quantity and a number this way");
    }

  if (!is_number_kind (a.kind) || !is_number_kind (b.kind))
    return eval_error (ctx, node, "arithmetic needs numbers");

  if (a.kind == CHARTA_FHIRPATH_INTEGER && b.kind == CHARTA_FHIRPATH_INTEGER &&
      node->op != FP_OP_DIV)
    {
      int64_t x = a.integer, y = b.integer, r;

      switch (node->op)
        {
        case FP_OP_ADD:
          if (__builtin_add_overflow (x, y, &r))
            return TRUE;
          break;
        case FP_OP_SUB:
          if (__builtin_sub_overflow (x, y, &r))
            return TRUE;
          break;
        case FP_OP_MUL:
          if (__builtin_mul_overflow (x, y, &r))
            return TRUE;
          break;
        case FP_OP_INTDIV:
          if (y == 0 || (x == INT64_MIN && y == -1))
            return TRUE;
          r = x / y;
          break;
        case FP_OP_MOD:
          if (y == 0 || (x == INT64_MIN && y == -1))
            return TRUE;
          r = x % y;
          break;
        default:
          g_assert_not_reached ();
        }
      push_integer (out, r);
      return TRUE;
    }

  {
    double x = a.decimal, y = b.decimal, r;

    switch (node->op)
      {
      case FP_OP_ADD: r = x + y; break;
      case FP_OP_SUB: r = x - y; break;
      case FP_OP_MUL: r = x * y; break;
      case FP_OP_DIV:
        if (y == 0)
          return TRUE;
        r = x / y;
        break;
      case FP_OP_INTDIV:
        if (y == 0)
          return TRUE;
        push_integer (out, (int64_t) trunc (x / y));
        return TRUE;
      case FP_OP_MOD:
        if (y == 0)
          return TRUE;
        r = fmod (x, y);
        break;
      default:
        g_assert_not_reached ();
      }
    if (isnan (r) || isinf (r))
      return TRUE;
    push_decimal (out, r, NULL);
    return TRUE;
  }
}

static gboolean
eval_binary (Ctx         *ctx,
             FpNode      *node,
             Coll        *focus,
             const Frame *frame,
             Coll        *out)
{
  Coll *left = coll_get (ctx);
  Coll *right = NULL;
  gboolean ok;

  ok = eval (ctx, node->left, focus, frame, left);
  if (!ok)
    goto done;

  /* Boolean operators short-circuit where the left side decides. */
  if (node->op == FP_OP_AND || node->op == FP_OP_OR || node->op == FP_OP_XOR ||
      node->op == FP_OP_IMPLIES)
    {
      int l, r;

      ok = coll_to_bool (ctx, node, left, &l);
      if (!ok)
        goto done;
      if ((node->op == FP_OP_AND && l == 0) || (node->op == FP_OP_OR && l == 1))
        {
          push_boolean (out, l);
          goto done;
        }
      if (node->op == FP_OP_IMPLIES && l == 0)
        {
          push_boolean (out, TRUE);
          goto done;
        }
      right = coll_get (ctx);
      ok = eval (ctx, node->right, focus, frame, right) && coll_to_bool (ctx, node, right, &r);
      if (!ok)
        goto done;
      switch (node->op)
        {
        case FP_OP_AND:
          if (r == 0)
            push_boolean (out, FALSE);
          else if (l == 1 && r == 1)
            push_boolean (out, TRUE);
          break;
        case FP_OP_OR:
          if (r == 1)
            push_boolean (out, TRUE);
          else if (l == 0 && r == 0)
            push_boolean (out, FALSE);
          break;
        case FP_OP_XOR:
          if (l >= 0 && r >= 0)
            push_boolean (out, l != r);
          break;
        case FP_OP_IMPLIES:
          if (r == 1)
            push_boolean (out, TRUE);
          else if (l == 1 && r == 0)
            push_boolean (out, FALSE);
          break;
        default:
          g_assert_not_reached ();
        }
      goto done;
    }

  right = coll_get (ctx);
  ok = eval (ctx, node->right, focus, frame, right);
  if (!ok)
    goto done;

  switch (node->op)
    {
    case FP_OP_UNION:
      {
        Coll *all = coll_get (ctx);

        append_distinct (ctx, all, left);
        append_distinct (ctx, all, right);
        g_array_append_vals (out, all->data, all->len);
        coll_put (ctx, all);
        break;
      }

    case FP_OP_EQ:
    case FP_OP_NE:
      {
        int result = 1;

        if (left->len == 0 || right->len == 0)
          break;
        if (left->len != right->len)
          result = 0;
        for (unsigned i = 0; i < left->len && result != 0; i++)
          {
            int e = items_equal (ctx, item_at (left, i), item_at (right, i));

            if (e == 0)
              result = 0;
            else if (e < 0)
              result = -1;
          }
        if (result >= 0)
          push_boolean (out, node->op == FP_OP_EQ ? result == 1 : result == 0);
        break;
      }

    case FP_OP_EQUIV:
    case FP_OP_NEQUIV:
      {
        gboolean result = left->len == right->len;

        if (result && left->len > 0)
          {
            g_autofree gboolean *used = g_new0 (gboolean, right->len);

            for (unsigned i = 0; i < left->len && result; i++)
              {
                gboolean found = FALSE;

                for (unsigned j = 0; j < right->len && !found; j++)
                  if (!used[j] && items_equivalent (ctx, item_at (left, i), item_at (right, j)))
                    found = used[j] = TRUE;
                result = found;
              }
          }
        push_boolean (out, node->op == FP_OP_EQUIV ? result : !result);
        break;
      }

    case FP_OP_LT:
    case FP_OP_GT:
    case FP_OP_LE:
    case FP_OP_GE:
      ok = eval_compare (ctx, node, left, right, out);
      break;

    case FP_OP_IN:
    case FP_OP_CONTAINS:
      {
        Coll *item = node->op == FP_OP_IN ? left : right;
        Coll *coll = node->op == FP_OP_IN ? right : left;

        if (item->len == 0)
          break;
        if (item->len > 1)
          {
            ok = eval_error (ctx, node, "%s needs a single item, found %u",
                             node->op == FP_OP_IN ? "in" : "contains", item->len);
            break;
          }
        push_boolean (out, coll_contains (ctx, coll, item_at (item, 0)));
        break;
      }

    default:
      ok = eval_arithmetic (ctx, node, left, right, out);
      break;
    }

done:
  coll_put (ctx, left);
  coll_put (ctx, right);
  return ok;
}

static gboolean
eval (Ctx         *ctx,
      FpNode      *node,
      Coll        *focus,
      const Frame *frame,
      Coll        *out)
{
  switch (node->kind)
    {
    case FP_NODE_EMPTY:
      return TRUE;

    case FP_NODE_LITERAL:
      push_item (out, &node->literal);
      return TRUE;

    case FP_NODE_MEMBER:
      for (unsigned i = 0; i < focus->len; i++)
        navigate (item_at (focus, i), node, out);
      return TRUE;

    case FP_NODE_FUNCTION:
      return call_function (ctx, node, focus, frame, out);

    case FP_NODE_THIS:
      g_array_append_vals (out, frame->this_coll->data, frame->this_coll->len);
      return TRUE;

    case FP_NODE_INDEX:
      if (frame->has_index)
        push_integer (out, frame->index);
      return TRUE;

    case FP_NODE_TOTAL:
      if (frame->total != NULL)
        g_array_append_vals (out, frame->total->data, frame->total->len);
      return TRUE;

    case FP_NODE_VARIABLE:
      switch (node->variable)
        {
        case FP_VAR_RESOURCE:
        case FP_VAR_ROOT_RESOURCE:
          push_item (out, &ctx->resource_item);
          break;
        case FP_VAR_CONTEXT:
          push_item (out, &ctx->context_item);
          break;
        }
      return TRUE;

    case FP_NODE_DOT:
      {
        Coll *tmp = coll_get (ctx);
        gboolean ok = eval (ctx, node->left, focus, frame, tmp) &&
                      eval (ctx, node->right, tmp, frame, out);

        coll_put (ctx, tmp);
        return ok;
      }

    case FP_NODE_INDEXER:
      {
        Coll *tmp = coll_get (ctx);
        Coll *index = coll_get (ctx);
        Val v;
        gboolean has;
        gboolean ok = eval (ctx, node->left, focus, frame, tmp) &&
                      eval (ctx, node->right, frame->this_coll, frame, index) &&
                      single_val (ctx, node, index, &v, &has);

        if (ok && has)
          {
            if (v.kind != CHARTA_FHIRPATH_INTEGER)
              ok = eval_error (ctx, node, "an index must be an integer");
            else if (v.integer >= 0 && (uint64_t) v.integer < tmp->len)
              push_item (out, item_at (tmp, (unsigned) v.integer));
          }
        coll_put (ctx, tmp);
        coll_put (ctx, index);
        return ok;
      }

    case FP_NODE_NEGATE:
    case FP_NODE_POSITIVE:
      {
        Coll *tmp = coll_get (ctx);
        Val v;
        gboolean has;
        gboolean ok = eval (ctx, node->left, focus, frame, tmp) &&
                      single_val (ctx, node, tmp, &v, &has);

        if (ok && has)
          {
            gboolean negate = node->kind == FP_NODE_NEGATE;
            const char *text = v.text;

            /* The negated text keeps the value's precision. */
            if (negate && text != NULL)
              text = text[0] == '-' ? text + 1 : ctx_take (ctx, g_strconcat ("-", text, NULL));
            if (v.kind == CHARTA_FHIRPATH_INTEGER)
              push_integer (out, negate ? -v.integer : v.integer);
            else if (v.kind == CHARTA_FHIRPATH_DECIMAL)
              push_decimal (out, negate ? -v.decimal : v.decimal, text);
            else if (v.kind == CHARTA_FHIRPATH_QUANTITY)
              push_quantity (out, negate ? -v.decimal : v.decimal, text, v.unit);
            else
              ok = eval_error (ctx, node, "unary %s needs a number", negate ? "-" : "+");
          }
        coll_put (ctx, tmp);
        return ok;
      }

    case FP_NODE_BINARY:
      return eval_binary (ctx, node, focus, frame, out);

    case FP_NODE_IS:
    case FP_NODE_AS:
      {
        Coll *tmp = coll_get (ctx);
        gboolean ok = eval (ctx, node->left, focus, frame, tmp);

        if (ok && node->kind == FP_NODE_IS && tmp->len > 1)
          ok = eval_error (ctx, node, "'is' needs a single item, found %u", tmp->len);
        else if (ok && node->kind == FP_NODE_IS && tmp->len == 1)
          push_boolean (out, item_is_type (item_at (tmp, 0), &node->type_spec));
        else if (ok && node->kind == FP_NODE_AS)
          for (unsigned i = 0; i < tmp->len; i++)
            if (item_is_type (item_at (tmp, i), &node->type_spec))
              push_item (out, item_at (tmp, i));
        coll_put (ctx, tmp);
        return ok;
      }
    }
  g_assert_not_reached ();
  return FALSE;
}

/* --- public API -------------------------------------------------------------------------- */

/* The model index of a resource type name; remembers the last one per thread, since the same
 * resource is usually evaluated many times in a row. */
static int
resource_type_index (const char *name)
{
  static _Thread_local int last = -1;
  int t = last;

  if (t >= 0 && strcmp (charta_model_types[t].name, name) == 0)
    return t;
  t = charta_model_find_type (name);
  last = t;
  return t;
}

void
charta_fhirpath_item_init_root (ChartaFhirPathItem *item,
                                ChartaResource     *resource)
{
  g_return_if_fail (item != NULL);
  g_return_if_fail (resource != NULL);

  fp_model_info ();
  memset (item, 0, sizeof *item);
  item->kind = CHARTA_FHIRPATH_NODE;
  item->type = resource_type_index (charta_resource_get_resource_type (resource));
  item->node = charta_resource_get_root (resource);
  item->index = -1;
}

void
charta_fhirpath_item_free (ChartaFhirPathItem *item)
{
  if (item == NULL)
    return;
  g_free (item->string);
  g_free (item->unit);
  g_free (item);
}

static ChartaFhirPathItem *
item_export (const Item *item)
{
  ChartaFhirPathItem *copy = g_new (ChartaFhirPathItem, 1);

  *copy = *item;
  if (item->kind == CHARTA_FHIRPATH_DECIMAL && item->string == NULL)
    copy->string = fp_format_decimal (item->decimal);
  else if (item->kind == CHARTA_FHIRPATH_QUANTITY && item->string == NULL)
    copy->string = fp_format_decimal (item->decimal);
  else
    copy->string = g_strdup (item->string);
  copy->unit = g_strdup (item->unit);
  return copy;
}

GPtrArray *
charta_fhirpath_evaluate (ChartaFhirPath            *self,
                          ChartaResource            *resource,
                          const ChartaFhirPathItem  *context,
                          GError                   **error)
{
  Ctx ctx = { 0 };
  Frame frame = { 0 };
  Coll *focus, *out;
  GPtrArray *result = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (resource != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  fp_model_info ();
  ctx.expr = self;
  ctx.resource = resource;
  ctx.error = error;
  ctx.pool = thread_pool ();
  charta_fhirpath_item_init_root (&ctx.resource_item, resource);
  ctx.context_item = context != NULL ? *context : ctx.resource_item;

  focus = coll_get (&ctx);
  out = coll_get (&ctx);
  push_item (focus, &ctx.context_item);
  frame.this_coll = focus;

  if (eval (&ctx, self->root, focus, &frame, out))
    {
      result = g_ptr_array_new_full (out->len, (GDestroyNotify) charta_fhirpath_item_free);
      for (unsigned i = 0; i < out->len; i++)
        g_ptr_array_add (result, item_export (item_at (out, i)));
    }

  coll_put (&ctx, focus);
  coll_put (&ctx, out);
  if (ctx.strings != NULL)
    g_string_chunk_free (ctx.strings);
  return result;
}

JsonNode *
charta_fhirpath_item_to_json (const ChartaFhirPathItem *item,
                              ChartaResource           *resource)
{
  JsonNode *node = json_node_alloc ();

  g_return_val_if_fail (item != NULL, NULL);

  switch (item->kind)
    {
    case CHARTA_FHIRPATH_NODE:
      if (item->node != NULL)
        {
          json_node_free (node);
          return json_node_copy (item->node);
        }
      if (item->type >= 0 && charta_model_types[item->type].kind == CHARTA_TYPE_KIND_RESOURCE)
        {
          JsonObject *obj = json_object_new ();

          json_object_set_string_member (obj, "resourceType", charta_model_types[item->type].name);
          json_node_init_object (node, obj);
          json_object_unref (obj);
          return node;
        }
      return json_node_init_null (node);
    case CHARTA_FHIRPATH_BOOLEAN:
      return json_node_init_boolean (node, item->boolean);
    case CHARTA_FHIRPATH_INTEGER:
      return json_node_init_int (node, item->integer);
    case CHARTA_FHIRPATH_DECIMAL:
      return json_node_init_double (node, item->string != NULL ?
                                          g_ascii_strtod (item->string, NULL) : item->decimal);
    case CHARTA_FHIRPATH_STRING:
    case CHARTA_FHIRPATH_DATE:
    case CHARTA_FHIRPATH_DATETIME:
    case CHARTA_FHIRPATH_TIME:
      return json_node_init_string (node, item->string);
    case CHARTA_FHIRPATH_QUANTITY:
      {
        JsonObject *obj = json_object_new ();

        json_object_set_double_member (obj, "value", item->string != NULL ?
                                       g_ascii_strtod (item->string, NULL) : item->decimal);
        json_object_set_string_member (obj, "unit", item->unit);
        json_node_init_object (node, obj);
        json_object_unref (obj);
        return node;
      }
    default:
      break;
    }
  (void) resource;
  return json_node_init_null (node);
}
