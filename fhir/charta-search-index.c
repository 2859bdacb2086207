/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-search-index.c: the values a resource is found by.
 *
 * For each search parameter of a resource's type, the parameter's FHIRPath (the part of its
 * expression for that base) is evaluated on the resource, and every item found becomes zero or
 * more ChartaIndexValues according to the parameter's search type and the item's FHIR type:
 *
 *   string     string-like primitives; HumanName gives family, each given, prefix, suffix and
 *              text; Address each line, city, district, state, postalCode, country and text;
 *              other complex types every string inside them.  Normalised form: case folded,
 *              NFKD, combining marks dropped.
 *   token      code/string/id/uri primitives (code = the value), boolean ("true"/"false"),
 *              Coding (system, code, display), CodeableConcept (a value per coding, plus one
 *              text-only value, code NULL and display = .text, when it has a text), Identifier
 *              (system, code = value, display = type.text, and identifier_type_* from each
 *              type coding), ContactPoint (system = ContactPoint.system, code = value).
 *   date       date, dateTime, instant; Period (open ends are INT64_MIN / INT64_MAX); Timing
 *              (one value spanning its events and repeat.boundsPeriod: only the outer limits
 *              count, as the R4 search page says).
 *   number     integer and decimal primitives, Quantity's value, Range (low..high).
 *   quantity   Quantity and its profiles (Age, Duration, …), Money (unit system
 *              urn:iso:std:iso:4217, code the currency), Range (bounds from low and high);
 *              a comparator opens the range on its side ("<5" is (-inf, 5]).
 *   reference  Reference (see charta_search_parse_reference; Reference.identifier goes into
 *              system/code of the same value; Reference.type fills ref_type when the reference
 *              does not give one; a Reference with only a display gives nothing), canonical
 *              (ref_url, and ref_version after '|'), uri and Attachment.url (ref_url,
 *              for Consent.source), and resources found by the expression
 *              (Bundle.entry[0].resource: type and id, when the type is one of the targets).
 *   uri        uri-like primitives: text = normalized = the value as written.
 *   composite  for each item of the composite's expression, each component expression is
 *              evaluated with that item as context, its values extracted by the component
 *              parameter's type, and the cartesian product of the components' values gives the
 *              composite values.  An item with a component without values gives nothing.
 *   special    nothing (near is geometry, _text/_content are full text, done by the store).
 *
 * Dates are inclusive microsecond ranges at the written precision; numbers carry the range
 * their written digits imply, computed from the text json-glib does not keep (so "1.50" and
 * "1.5" differ), exactly rounded where the digits allow it.  Identical values of one
 * parameter are kept once.
 *
 * Per resource type, the parameters with an expression and their compiled FHIRPaths
 * (components included) are gathered once, the first time that type is seen, and kept for
 * the life of the process; lookups after that take no lock.  Evaluating FHIRPath is most of
 * the cost, so two things keep evaluations down: a prefilter skips parameters whose expression
 * cannot find anything because the resource lacks the top-level elements it starts from (see
 * prefilter_init), and composite components evaluated on the same focus are computed once
 * per resource and shared between composites.
 */
#define G_LOG_DOMAIN "charta-search-index"

#include <math.h>
#include <string.h>

#include "charta-datetime-private.h"
#include "charta-fhir-error.h"
#include "charta-fhirpath.h"
#include "charta-search-index.h"
#include "charta-search-index-private.h"

/* ------------------------------------------------------------------------------------------ */
/* What an item is, for extraction purposes. */

typedef enum
{
  KIND_OTHER,          /* a complex type or backbone with no special rule */
  KIND_TEXT,           /* string, markdown, code, id and other string primitives */
  KIND_URI,            /* uri, url, oid, uuid */
  KIND_CANONICAL,
  KIND_BOOLEAN,
  KIND_DATE,           /* date, dateTime, instant */
  KIND_TIME,
  KIND_INTEGER,        /* integer, positiveInt, unsignedInt */
  KIND_DECIMAL,
  KIND_HUMAN_NAME,
  KIND_ADDRESS,
  KIND_CODING,
  KIND_CODEABLE_CONCEPT,
  KIND_IDENTIFIER,
  KIND_CONTACT_POINT,
  KIND_PERIOD,
  KIND_TIMING,
  KIND_QUANTITY,       /* Quantity, Age, Duration, Distance, Count, SimpleQuantity, MoneyQuantity */
  KIND_MONEY,
  KIND_RANGE,
  KIND_REFERENCE,
  KIND_ATTACHMENT,
  KIND_RESOURCE,
  KIND_COMPUTED_QUANTITY, /* a FHIRPath System.Quantity */
} ItemKind;

static const struct
{
  const char *name;
  ItemKind kind;
} kind_names[] = {
  { "string", KIND_TEXT },
  { "markdown", KIND_TEXT },
  { "code", KIND_TEXT },
  { "id", KIND_TEXT },
  { "uri", KIND_URI },
  { "url", KIND_URI },
  { "oid", KIND_URI },
  { "uuid", KIND_URI },
  { "canonical", KIND_CANONICAL },
  { "boolean", KIND_BOOLEAN },
  { "date", KIND_DATE },
  { "dateTime", KIND_DATE },
  { "instant", KIND_DATE },
  { "time", KIND_TIME },
  { "integer", KIND_INTEGER },
  { "positiveInt", KIND_INTEGER },
  { "unsignedInt", KIND_INTEGER },
  { "decimal", KIND_DECIMAL },
  { "HumanName", KIND_HUMAN_NAME },
  { "Address", KIND_ADDRESS },
  { "Coding", KIND_CODING },
  { "CodeableConcept", KIND_CODEABLE_CONCEPT },
  { "Identifier", KIND_IDENTIFIER },
  { "ContactPoint", KIND_CONTACT_POINT },
  { "Period", KIND_PERIOD },
  { "Timing", KIND_TIMING },
  { "Quantity", KIND_QUANTITY },
  { "Age", KIND_QUANTITY },
  { "Duration", KIND_QUANTITY },
  { "Distance", KIND_QUANTITY },
  { "Count", KIND_QUANTITY },
  { "SimpleQuantity", KIND_QUANTITY },
  { "MoneyQuantity", KIND_QUANTITY },
  { "Money", KIND_MONEY },
  { "Range", KIND_RANGE },
  { "Reference", KIND_REFERENCE },
  { "Attachment", KIND_ATTACHMENT },
};

/* ------------------------------------------------------------------------------------------ */
/* Per-type parameter cache. */

typedef struct
{
  const ChartaSearchParamDef *def;  /* the component's own SearchParameter (for its type) */
  ChartaFhirPath *expression;       /* borrowed from the FHIRPath cache */
} ComponentEntry;

#define MAX_COMPONENTS 8

typedef struct
{
  uint64_t all[MAX_COMPONENTS];
  unsigned n;
} PrefilterClause;

typedef struct
{
  const ChartaSearchParamDef *param;
  ChartaFhirPath *expression;       /* borrowed from the FHIRPath cache; NULL if it failed */
  char *compile_error;              /* why the expression (or a component's) did not compile */
  unsigned n_components;
  ComponentEntry components[MAX_COMPONENTS];
  /* Prefilter: the expression can only find something when one of the clauses holds, a
   * clause holding when the resource has, for each of its masks, one of the top-level
   * elements in that mask (bits of TypeEntry.member_bits).  No clauses: always evaluate. */
  unsigned n_clauses;
  PrefilterClause clauses[2];
  gboolean stored;                  /* charta_search_param_is_stored() */
} ParamEntry;

typedef struct
{
  ParamEntry *entries;
  size_t n_entries;
  GHashTable *member_bits;          /* JSON member name → uint64_t mask of prefilter bits,
                                     * NULL if none */
} TypeEntry;

static ItemKind *kind_of_type;        /* indexed by model type */
static TypeEntry **type_entries;      /* indexed by model type; built on first use */
static GMutex type_entries_lock;
static int prefilter_enabled = TRUE;

static gpointer
init_tables (gpointer data)
{
  unsigned n = charta_model_n_types;

  kind_of_type = g_new0 (ItemKind, n);
  for (unsigned i = 0; i < n; i++)
    {
      const ChartaTypeDef *def = &charta_model_types[i];

      kind_of_type[i] = KIND_OTHER;
      if (def->kind == CHARTA_TYPE_KIND_RESOURCE)
        kind_of_type[i] = KIND_RESOURCE;
      else if (def->kind == CHARTA_TYPE_KIND_PRIMITIVE)
        kind_of_type[i] = KIND_TEXT;
      for (unsigned k = 0; k < G_N_ELEMENTS (kind_names); k++)
        if (strcmp (def->name, kind_names[k].name) == 0)
          {
            kind_of_type[i] = kind_names[k].kind;
            break;
          }
    }

  type_entries = g_new0 (TypeEntry *, n);
  return NULL;
}

static void
ensure_tables (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, init_tables, NULL);
}

/* Fills @entry for @param; FALSE when the parameter has nothing to extract. */
static gboolean
param_entry_init (ParamEntry                 *entry,
                  const ChartaSearchParamDef *param)
{
  g_autoptr(GError) error = NULL;

  memset (entry, 0, sizeof *entry);
  entry->param = param;
  entry->stored = charta_search_param_is_stored (param);
  if (param->expression == NULL || param->type == CHARTA_SEARCH_TYPE_SPECIAL)
    return FALSE;

  entry->expression = charta_fhirpath_get_cached (param->expression, &error);
  if (entry->expression == NULL)
    {
      entry->compile_error = g_strdup (error->message);
      return TRUE;
    }

  if (param->type == CHARTA_SEARCH_TYPE_COMPOSITE)
    {
      if (param->n_components == 0 || param->n_components > MAX_COMPONENTS)
        {
          entry->compile_error = g_strdup_printf ("composite with %u components",
                                                  param->n_components);
          return TRUE;
        }
      for (unsigned c = 0; c < param->n_components; c++)
        {
          const ChartaSearchComponentDef *comp =
            &charta_model_search_components[param->first_component + c];
          ComponentEntry *ce = &entry->components[c];

          /* (a parameter with several bases has a row per base: the composite's) */
          ce->def = charta_model_lookup_search_param_by_url (comp->definition,
                                                              param->resource_type);
          if (ce->def == NULL)
            {
              entry->compile_error = g_strdup_printf ("component %s is not a known search "
                                                      "parameter", comp->definition);
              return TRUE;
            }
          if (ce->def->type == CHARTA_SEARCH_TYPE_COMPOSITE ||
              ce->def->type == CHARTA_SEARCH_TYPE_SPECIAL)
            {
              entry->compile_error = g_strdup_printf ("component %s has an unsupported type",
                                                      comp->definition);
              return TRUE;
            }
          ce->expression = charta_fhirpath_get_cached (comp->expression, &error);
          if (ce->expression == NULL)
            {
              entry->compile_error = g_strdup_printf ("component %s: %s", comp->expression,
                                                      error->message);
              return TRUE;
            }
        }
      entry->n_components = param->n_components;
    }
  return TRUE;
}

static void
param_entry_clear (ParamEntry *entry)
{
  g_clear_pointer (&entry->compile_error, g_free);
}

/* Prefiltering.  Most parameters of a type find nothing in a given resource: Observation has
 * 40-odd, and a vital sign uses a dozen.  When a parameter's expression is a union of paths
 * that each start by navigating a top-level element of the resource ("Observation.code",
 * "(Observation.value as Quantity)", "Observation.subject.where(resolve() is Patient)") and then
 * only navigate or filter, it can only find something when the resource has one of those
 * elements.  A choice element filtered to a type right away ("value as Quantity") only counts
 * the JSON names of that type and its subtypes (valueQuantity, valueAge…).  A composite over
 * the resource itself needs the elements of all its components at once.  The resource's
 * members are looked up once per resource, and such a parameter is skipped without evaluating
 * it when its elements are missing.  Expressions of any other shape (exists(), comparisons,
 * %variables…) are always evaluated.  The corpus test checks that extraction gives the same
 * values with and without the prefilter. */

/* Functions that give an empty collection for an empty input. */
static const char *const empty_preserving_functions[] = {
  "where", "as", "ofType", "first", "last", "tail", "skip", "take", "single", "resolve",
  "extension", "select", "distinct", "trace", "repeat", "descendants", "children",
};

static gboolean
is_ident_char (char c)
{
  return g_ascii_isalnum (c) || c == '_';
}

/* The index just past the ')' matching the '(' at @s[@open], or 0 when there is none. */
static size_t
skip_parens (const char *s,
             size_t      len,
             size_t      open)
{
  int depth = 0;

  for (size_t i = open; i < len; i++)
    {
      if (s[i] == '\'' || s[i] == '`')
        {
          char quote = s[i];

          for (i++; i < len && s[i] != quote; i++)
            if (s[i] == '\\')
              i++;
          if (i >= len)
            return 0;
        }
      else if (s[i] == '(')
        depth++;
      else if (s[i] == ')' && --depth == 0)
        return i + 1;
    }
  return 0;
}

/* Whether @s[@i..@len) only navigates and filters: ".member", ".fn(…)" for the functions above,
 * "[n]", " as Type", " is Type". */
static gboolean
valid_chain (const char *s,
             size_t      i,
             size_t      len)
{
  size_t start;

  while (i < len)
    {
      if (g_ascii_isspace (s[i]))
        i++;
      else if (s[i] == '.')
        {
          start = ++i;
          for (; i < len && is_ident_char (s[i]); i++)
            ;
          if (i == start)
            return FALSE;
          if (i < len && s[i] == '(')
            {
              gboolean allowed = FALSE;

              for (unsigned f = 0; f < G_N_ELEMENTS (empty_preserving_functions); f++)
                if (strlen (empty_preserving_functions[f]) == i - start &&
                    strncmp (s + start, empty_preserving_functions[f], i - start) == 0)
                  allowed = TRUE;
              if (!allowed || (i = skip_parens (s, len, i)) == 0)
                return FALSE;
            }
        }
      else if (s[i] == '[')
        {
          for (i++; i < len && g_ascii_isdigit (s[i]); i++)
            ;
          if (i >= len || s[i] != ']')
            return FALSE;
          i++;
        }
      else if ((strncmp (s + i, "as ", 3) == 0 || strncmp (s + i, "is ", 3) == 0) &&
               i > 0 && g_ascii_isspace (s[i - 1]))
        {
          for (i += 3; i < len && g_ascii_isspace (s[i]); i++)
            ;
          start = i;
          for (; i < len && (is_ident_char (s[i]) || s[i] == '.'); i++)
            ;
          if (i == start)
            return FALSE;
        }
      else
        return FALSE;
    }
  return TRUE;
}

static void
trim (const char **s,
      size_t      *len)
{
  while (*len > 0 && g_ascii_isspace ((*s)[0]))
    (*s)++, (*len)--;
  while (*len > 0 && g_ascii_isspace ((*s)[*len - 1]))
    (*len)--;
}

static gboolean
is_word (const char *s,
         size_t      len,
         const char *word)
{
  return word != NULL && strlen (word) == len && strncmp (s, word, len) == 0;
}

/* The element a path starts from: "Type.member…" when @type_a is given (the type may also be
 * @type_b), "member…" when it is NULL, possibly in parentheses ("(Observation.value as
 * CodeableConcept).text").  NULL when @s is not such a path. */
static char *
path_first_member (const char *s,
                   size_t      len,
                   const char *type_a,
                   const char *type_b,
                   char      **as_type)
{
  size_t i = 0, member_start, member_end;

  *as_type = NULL;
  trim (&s, &len);
  if (len > 0 && s[0] == '(')
    {
      size_t close = skip_parens (s, len, 0);
      char *member;

      if (close == 0)
        return NULL;
      member = path_first_member (s + 1, close - 2, type_a, type_b, as_type);
      if (member != NULL && !valid_chain (s, close, len))
        {
          g_clear_pointer (&member, g_free);
          g_clear_pointer (as_type, g_free);
        }
      return member;
    }

  if (type_a != NULL)
    {
      for (; i < len && is_ident_char (s[i]); i++)
        ;
      if (!is_word (s, i, type_a) && !is_word (s, i, type_b))
        return NULL;
      if (i >= len || s[i] != '.')
        return NULL;
      i++;
    }
  member_start = i;
  for (; i < len && is_ident_char (s[i]); i++)
    ;
  member_end = i;
  if (i == member_start || !g_ascii_isalpha (s[member_start]) || (i < len && s[i] == '('))
    return NULL;
  if (!valid_chain (s, i, len))
    return NULL;

  /* A type filter right after the member: ".as(T)", ".ofType(T)", " as T". */
  {
    const char *rest = s + member_end;
    size_t rest_len = len - member_end;
    size_t skip = 0;

    if (rest_len > 4 && strncmp (rest, ".as(", 4) == 0)
      skip = 4;
    else if (rest_len > 8 && strncmp (rest, ".ofType(", 8) == 0)
      skip = 8;
    else if (rest_len > 4 && strncmp (rest, " as ", 4) == 0)
      skip = 4;
    if (skip > 0)
      {
        size_t t = skip;

        while (t < rest_len && g_ascii_isspace (rest[t]))
          t++;
        if (rest_len - t > 5 && strncmp (rest + t, "FHIR.", 5) == 0)
          t += 5;
        skip = t;
        while (t < rest_len && is_ident_char (rest[t]))
          t++;
        if (t > skip)
          *as_type = g_strndup (rest + skip, t - skip);
      }
  }
  return g_strndup (s + member_start, member_end - member_start);
}

/* A prefilter bit: a top-level element, or one type of a choice element (as_type, a model
 * type index: "value.as(Quantity)" only needs valueQuantity, or valueAge…, its subtypes). */
typedef struct
{
  const ChartaElementDef *element;
  int as_type;                      /* -1: any */
} MemberKey;

/* A model type by name, ignoring case ("DateTime" is dateTime), -1 if none. */
static int
find_type_ci (const char *name)
{
  int t = charta_model_find_type (name);

  if (t >= 0)
    return t;
  for (unsigned i = 0; i < charta_model_n_types; i++)
    if (charta_model_types[i].kind != CHARTA_TYPE_KIND_BACKBONE &&
        g_ascii_strcasecmp (charta_model_types[i].name, name) == 0)
      return (int) i;
  return -1;
}

/* The element of @type called @name (no [x]), or NULL. */
static const ChartaElementDef *
type_element (int         type,
              const char *name)
{
  const ChartaTypeDef *def = &charta_model_types[type];

  for (unsigned i = 0; i < def->n_elements; i++)
    if (strcmp (charta_model_elements[def->first_element + i].name, name) == 0)
      return &charta_model_elements[def->first_element + i];
  return NULL;
}

/* For each alternative of @expr (split at top-level '|'): the bit of the top-level element it
 * starts from (with the type it filters to, if any), OR-ed into *@bits (new keys are added to
 * @keys).  An alternative that
 * is exactly @type_a or @type_b sets *@bare instead, when @bare is not NULL.  FALSE when some
 * alternative is neither. */
static gboolean
expression_members (int         type,
                    const char *expr,
                    const char *type_a,
                    const char *type_b,
                    GArray     *keys,
                    uint64_t   *bits,
                    gboolean   *bare)
{
  size_t len = strlen (expr);
  size_t start = 0;
  int depth = 0;

  *bits = 0;
  if (bare != NULL)
    *bare = FALSE;
  if (strchr (expr, '%') != NULL)
    return FALSE;
  for (size_t i = 0; i <= len; i++)
    {
      if (i < len && (expr[i] == '\'' || expr[i] == '`'))
        {
          char quote = expr[i];

          for (i++; i < len && expr[i] != quote; i++)
            if (expr[i] == '\\')
              i++;
          if (i >= len)
            return FALSE;
        }
      else if (i < len && expr[i] == '(')
        depth++;
      else if (i < len && expr[i] == ')')
        depth--;
      else if (i == len || (expr[i] == '|' && depth == 0))
        {
          const char *alt = expr + start;
          size_t alt_len = i - start;
          g_autofree char *member = NULL;
          g_autofree char *as_type = NULL;
          const ChartaElementDef *element;
          MemberKey key;
          guint bit;

          trim (&alt, &alt_len);
          start = i + 1;
          if (bare != NULL && (is_word (alt, alt_len, type_a) || is_word (alt, alt_len, type_b)))
            {
              *bare = TRUE;
              continue;
            }
          member = path_first_member (alt, alt_len, type_a, type_b, &as_type);
          if (member == NULL || (element = type_element (type, member)) == NULL)
            return FALSE;
          key.element = element;
          key.as_type = -1;
          if (as_type != NULL && element->is_choice)
            key.as_type = find_type_ci (as_type);
          for (bit = 0; bit < keys->len; bit++)
            {
              const MemberKey *k = &g_array_index (keys, MemberKey, bit);

              if (k->element == key.element && k->as_type == key.as_type)
                break;
            }
          if (bit == keys->len)
            {
              if (keys->len >= 64)
                return FALSE;
              g_array_append_val (keys, key);
            }
          *bits |= G_GUINT64_CONSTANT (1) << bit;
        }
    }
  return TRUE;
}

/* Sets @entry's clauses: when it can only find something if the resource has certain
 * top-level elements, which.  A composite whose expression includes the resource itself
 * ("Observation", "Observation | Observation.component") needs, for that alternative, every
 * component's elements at once (code AND valueQuantity). */
static void
prefilter_init (ParamEntry *entry,
                int         type,
                GArray     *keys)
{
  const ChartaSearchParamDef *param = entry->param;
  const char *type_name = charta_model_types[type].name;
  gboolean composite = param->type == CHARTA_SEARCH_TYPE_COMPOSITE;
  gboolean bare = FALSE;
  uint64_t bits;
  PrefilterClause *clause;

  entry->n_clauses = 0;
  if (!expression_members (type, param->expression, type_name, param->resource_type,
                           keys, &bits, composite ? &bare : NULL))
    return;
  if (bits != 0)
    {
      clause = &entry->clauses[entry->n_clauses++];
      clause->n = 1;
      clause->all[0] = bits;
    }
  if (bare)
    {
      clause = &entry->clauses[entry->n_clauses++];
      clause->n = 0;
      for (unsigned c = 0; c < param->n_components; c++)
        {
          const ChartaSearchComponentDef *comp =
            &charta_model_search_components[param->first_component + c];
          uint64_t comp_bits;

          if (expression_members (type, comp->expression, NULL, NULL, keys, &comp_bits, NULL) &&
              comp_bits != 0)
            clause->all[clause->n++] = comp_bits;
        }
      if (clause->n == 0)
        {
          /* Nothing required of the resource itself: always evaluate. */
          entry->n_clauses = 0;
          return;
        }
    }
}

static inline gboolean
prefilter_may_match (const ParamEntry *entry,
                     uint64_t          present)
{
  if (entry->n_clauses == 0)
    return TRUE;
  for (unsigned k = 0; k < entry->n_clauses; k++)
    {
      const PrefilterClause *clause = &entry->clauses[k];
      gboolean all = TRUE;

      for (unsigned m = 0; m < clause->n && all; m++)
        all = (clause->all[m] & present) != 0;
      if (all)
        return TRUE;
    }
  return FALSE;
}

static void
add_name_bit (GHashTable *names,
              const char *name,
              uint64_t    bit)
{
  uint64_t *mask = g_hash_table_lookup (names, name);

  if (mask == NULL)
    {
      mask = g_new0 (uint64_t, 1);
      g_hash_table_insert (names, g_strdup (name), mask);
    }
  *mask |= bit;
}

/* Maps the JSON names that @key covers ("value", "valueQuantity", "_valueString", …) to
 * @bit. */
static void
add_member_names (GHashTable      *names,
                  const MemberKey *key,
                  unsigned         bit_index)
{
  const ChartaElementDef *element = key->element;
  uint64_t bit = G_GUINT64_CONSTANT (1) << bit_index;

  if (!element->is_choice)
    {
      g_autofree char *ext = g_strconcat ("_", element->name, NULL);

      add_name_bit (names, element->name, bit);
      add_name_bit (names, ext, bit);
      return;
    }
  for (unsigned t = 0; t < element->n_types; t++)
    {
      int choice = charta_model_element_types[element->first_type + t].type;
      const char *type_name = charta_model_types[choice].name;
      g_autofree char *json = NULL;
      g_autofree char *ext = NULL;

      if (key->as_type >= 0 && !charta_model_type_is_a (choice, key->as_type))
        continue;
      json = g_strdup_printf ("%s%c%s", element->name, g_ascii_toupper (type_name[0]),
                              type_name + 1);
      ext = g_strconcat ("_", json, NULL);
      add_name_bit (names, json, bit);
      add_name_bit (names, ext, bit);
    }
}

/* The bits of the prefiltered elements that @resource has. */
static uint64_t
present_members (const TypeEntry *te,
                 ChartaResource  *resource)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;
  uint64_t bits = 0;

  if (te->member_bits == NULL)
    return 0;
  json_object_iter_init (&iter, charta_resource_get_object (resource));
  while (json_object_iter_next (&iter, &name, &member))
    {
      const uint64_t *mask = g_hash_table_lookup (te->member_bits, name);

      if (mask != NULL)
        bits |= *mask;
    }
  return bits;
}

void
charta_search_index_set_prefilter (gboolean enabled)
{
  g_atomic_int_set (&prefilter_enabled, enabled);
}

static const TypeEntry *
get_type_entry (int type)
{
  TypeEntry *te;

  ensure_tables ();
  te = g_atomic_pointer_get (&type_entries[type]);
  if (te != NULL)
    return te;

  g_mutex_lock (&type_entries_lock);
  te = type_entries[type];
  if (te == NULL)
    {
      g_autofree const ChartaSearchParamDef **params = NULL;
      size_t n_params = 0;

      g_autoptr(GArray) keys = g_array_new (FALSE, FALSE, sizeof (MemberKey));

      te = g_new0 (TypeEntry, 1);
      params = charta_model_list_search_params (charta_model_types[type].name, &n_params);
      te->entries = g_new0 (ParamEntry, n_params + 1);
      for (size_t i = 0; params != NULL && i < n_params; i++)
        {
          ParamEntry *entry = &te->entries[te->n_entries];

          if (!param_entry_init (entry, params[i]))
            continue;
          te->n_entries++;
          if (entry->expression != NULL && entry->compile_error == NULL)
            prefilter_init (entry, type, keys);
        }
      if (keys->len > 0)
        {
          te->member_bits = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
          for (unsigned b = 0; b < keys->len; b++)
            add_member_names (te->member_bits, &g_array_index (keys, MemberKey, b), b);
        }
      g_atomic_pointer_set (&type_entries[type], te);
    }
  g_mutex_unlock (&type_entries_lock);
  return te;
}

/* ------------------------------------------------------------------------------------------ */
/* Index values. */

void
charta_index_value_free (ChartaIndexValue *value)
{
  if (value == NULL)
    return;
  g_free (value->normalized);
  g_free (value->text);
  g_free (value->system);
  g_free (value->code);
  g_free (value->display);
  g_free (value->unit_system);
  g_free (value->unit_code);
  g_free (value->unit);
  g_free (value->ref_type);
  g_free (value->ref_id);
  g_free (value->ref_version);
  g_free (value->ref_url);
  g_free (value->identifier_type_system);
  g_free (value->identifier_type_code);
  if (value->components != NULL)
    g_ptr_array_unref (value->components);
  g_free (value);
}

static ChartaIndexValue *
index_value_copy (const ChartaIndexValue *src)
{
  ChartaIndexValue *v = g_new (ChartaIndexValue, 1);

  *v = *src;
  v->normalized = g_strdup (src->normalized);
  v->text = g_strdup (src->text);
  v->system = g_strdup (src->system);
  v->code = g_strdup (src->code);
  v->display = g_strdup (src->display);
  v->unit_system = g_strdup (src->unit_system);
  v->unit_code = g_strdup (src->unit_code);
  v->unit = g_strdup (src->unit);
  v->ref_type = g_strdup (src->ref_type);
  v->ref_id = g_strdup (src->ref_id);
  v->ref_version = g_strdup (src->ref_version);
  v->ref_url = g_strdup (src->ref_url);
  v->identifier_type_system = g_strdup (src->identifier_type_system);
  v->identifier_type_code = g_strdup (src->identifier_type_code);
  if (src->components != NULL)
    {
      v->components = g_ptr_array_new_full (src->components->len,
                                            (GDestroyNotify) charta_index_value_free);
      for (unsigned i = 0; i < src->components->len; i++)
        g_ptr_array_add (v->components, index_value_copy (src->components->pdata[i]));
    }
  return v;
}

static gboolean index_value_equal (gconstpointer pa,
                                   gconstpointer pb);

gboolean
charta_index_value_equal (const ChartaIndexValue *a,
                          const ChartaIndexValue *b)
{
  return index_value_equal (a, b);
}

static gboolean
index_value_equal (gconstpointer pa,
                   gconstpointer pb)
{
  const ChartaIndexValue *a = pa;
  const ChartaIndexValue *b = pb;

  if (a->type != b->type || a->param != b->param ||
      a->date_low != b->date_low || a->date_high != b->date_high ||
      memcmp (&a->number, &b->number, sizeof a->number) != 0 ||
      memcmp (&a->number_low, &b->number_low, sizeof a->number_low) != 0 ||
      memcmp (&a->number_high, &b->number_high, sizeof a->number_high) != 0)
    return FALSE;
  if (g_strcmp0 (a->normalized, b->normalized) != 0 ||
      g_strcmp0 (a->text, b->text) != 0 ||
      g_strcmp0 (a->system, b->system) != 0 ||
      g_strcmp0 (a->code, b->code) != 0 ||
      g_strcmp0 (a->display, b->display) != 0 ||
      g_strcmp0 (a->unit_system, b->unit_system) != 0 ||
      g_strcmp0 (a->unit_code, b->unit_code) != 0 ||
      g_strcmp0 (a->unit, b->unit) != 0 ||
      g_strcmp0 (a->ref_type, b->ref_type) != 0 ||
      g_strcmp0 (a->ref_id, b->ref_id) != 0 ||
      g_strcmp0 (a->ref_version, b->ref_version) != 0 ||
      g_strcmp0 (a->ref_url, b->ref_url) != 0 ||
      g_strcmp0 (a->identifier_type_system, b->identifier_type_system) != 0 ||
      g_strcmp0 (a->identifier_type_code, b->identifier_type_code) != 0)
    return FALSE;
  if ((a->components == NULL) != (b->components == NULL))
    return FALSE;
  if (a->components != NULL)
    {
      if (a->components->len != b->components->len)
        return FALSE;
      for (unsigned i = 0; i < a->components->len; i++)
        if (!index_value_equal (a->components->pdata[i], b->components->pdata[i]))
          return FALSE;
    }
  return TRUE;
}

static inline guint
hash_str (guint h,
          const char *s)
{
  return h * 31 + (s != NULL ? g_str_hash (s) : 7);
}

static guint
index_value_hash (gconstpointer p)
{
  const ChartaIndexValue *v = p;
  guint h = v->type;

  h = hash_str (h, v->normalized);
  h = hash_str (h, v->text);
  h = hash_str (h, v->system);
  h = hash_str (h, v->code);
  h = hash_str (h, v->display);
  h = hash_str (h, v->unit_code);
  h = hash_str (h, v->ref_type);
  h = hash_str (h, v->ref_id);
  h = hash_str (h, v->ref_url);
  h = h * 31 + (guint) (v->date_low ^ (v->date_low >> 32));
  h = h * 31 + (guint) (v->date_high ^ (v->date_high >> 32));
  h = h * 31 + (guint) (v->number * 1000.0);
  if (v->components != NULL)
    for (unsigned i = 0; i < v->components->len; i++)
      h = h * 31 + index_value_hash (v->components->pdata[i]);
  return h;
}

/* ------------------------------------------------------------------------------------------ */
/* Normalisation helpers. */

char *
charta_search_normalize_string (const char *text,
                                gssize      length)
{
  g_autofree char *folded = NULL;
  char *decomposed;
  char *w;
  size_t len;
  size_t i;

  g_return_val_if_fail (text != NULL, NULL);

  len = length < 0 ? strlen (text) : (size_t) length;
  for (i = 0; i < len; i++)
    if ((unsigned char) text[i] >= 0x80)
      break;
  if (i == len)
    {
      char *r = g_malloc (len + 1);

      for (i = 0; i < len; i++)
        r[i] = g_ascii_tolower (text[i]);
      r[len] = '\0';
      return r;
    }

  folded = g_utf8_casefold (text, (gssize) len);
  decomposed = g_utf8_normalize (folded, -1, G_NORMALIZE_NFKD);
  if (decomposed == NULL)
    return g_steal_pointer (&folded);

  w = decomposed;
  for (const char *p = decomposed; *p != '\0';)
    {
      gunichar c = g_utf8_get_char (p);
      const char *next = g_utf8_next_char (p);
      GUnicodeType t = g_unichar_type (c);

      if (t != G_UNICODE_NON_SPACING_MARK && t != G_UNICODE_SPACING_MARK &&
          t != G_UNICODE_ENCLOSING_MARK)
        {
          memmove (w, p, (size_t) (next - p));
          w += next - p;
        }
      p = next;
    }
  *w = '\0';
  return decomposed;
}

/* The shared reader in its PARTIAL form (FHIRPath literals' syntax), less a bare trailing 'T'. */
gboolean
charta_search_date_range (const char *text,
                          int64_t    *low,
                          int64_t    *high)
{
  ChartaDateTime dt;

  g_return_val_if_fail (text != NULL, FALSE);

  if (*text == '@')
    text++;
  if (charta_datetime_check (text, CHARTA_DATETIME_DATETIME, CHARTA_DATETIME_PARTIAL, &dt) != NULL)
    return FALSE;
  if (dt.has_time_part && dt.precision < CHARTA_DATETIME_PREC_HOUR)
    return FALSE;
  charta_datetime_range (&dt, low, high);
  return TRUE;
}

static const double powers_of_ten[] = {
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* @m × 10^@k, correctly rounded when |m| < 2^53 and |k| <= 22. */
static double
scale_exact (int64_t m,
             int     k)
{
  if (k >= 0)
    return (double) m * powers_of_ten[k];
  return (double) m / powers_of_ten[-k];
}

gboolean
charta_search_number_range (const char *text,
                            double     *number,
                            double     *low,
                            double     *high)
{
  const char *p = text;
  gboolean negative = FALSE;
  gboolean exact = TRUE;
  int64_t mantissa = 0;
  int scale = 0;
  int exponent = 0;
  int k;

  g_return_val_if_fail (text != NULL, FALSE);

  if (*p == '-')
    {
      negative = TRUE;
      p++;
    }
  else if (*p == '+')
    p++;
  if (*p < '0' || *p > '9')
    return FALSE;
  for (; *p >= '0' && *p <= '9'; p++)
    {
      if (mantissa < G_GINT64_CONSTANT (100000000000000))
        mantissa = mantissa * 10 + (*p - '0');
      else
        exact = FALSE;
    }
  if (*p == '.')
    {
      p++;
      if (*p < '0' || *p > '9')
        return FALSE;
      for (; *p >= '0' && *p <= '9'; p++, scale++)
        {
          if (mantissa < G_GINT64_CONSTANT (100000000000000))
            mantissa = mantissa * 10 + (*p - '0');
          else
            exact = FALSE;
        }
    }
  if (*p == 'e' || *p == 'E')
    {
      gboolean exp_negative = FALSE;

      p++;
      if (*p == '-' || *p == '+')
        exp_negative = *p++ == '-';
      if (*p < '0' || *p > '9')
        return FALSE;
      for (; *p >= '0' && *p <= '9'; p++)
        if (exponent < 10000)
          exponent = exponent * 10 + (*p - '0');
      if (exp_negative)
        exponent = -exponent;
    }
  if (*p != '\0')
    return FALSE;

  *number = g_ascii_strtod (text, NULL);
  if (negative)
    mantissa = -mantissa;
  /* value = mantissa × 10^k; half a unit of the last digit is 5 × 10^(k-1). */
  k = exponent - scale;
  if (exact && k - 1 >= -22 && k - 1 <= 22)
    {
      *low = scale_exact (mantissa * 10 - 5, k - 1);
      *high = scale_exact (mantissa * 10 + 5, k - 1);
    }
  else
    {
      double half = 0.5 * pow (10.0, k);

      *low = *number - half;
      *high = *number + half;
    }
  return TRUE;
}

static gboolean
is_valid_id (const char *s,
             size_t      len)
{
  if (len == 0 || len > 64)
    return FALSE;
  for (size_t i = 0; i < len; i++)
    if (!g_ascii_isalnum (s[i]) && s[i] != '-' && s[i] != '.')
      return FALSE;
  return TRUE;
}

static gboolean
is_resource_type_n (const char *s,
                    size_t      len)
{
  char buf[64];

  if (len == 0 || len >= sizeof buf || !g_ascii_isupper (s[0]))
    return FALSE;
  memcpy (buf, s, len);
  buf[len] = '\0';
  return charta_model_is_resource_type (buf);
}

/*
 * The forms of Reference.reference:
 *   "Patient/7"                        ref_type Patient, ref_id 7
 *   "Patient/7/_history/2"             … and ref_version 2
 *   "http://x/fhir/Patient/7[/_history/2]"
 *                                      ref_url the whole, and type, id (version) from the tail
 *                                      when it has that shape
 *   "#p1" (contained), "urn:uuid:…", "urn:oid:…", and anything else
 *                                      ref_url as written, nothing else
 */
gboolean
charta_search_parse_reference (const char       *reference,
                               ChartaIndexValue *value)
{
  const char *seg[4] = { NULL, NULL, NULL, NULL };
  size_t seg_len[4] = { 0, 0, 0, 0 };
  const char *end;
  const char *p;
  unsigned n_seg = 0;
  gboolean absolute;
  gboolean versioned;
  gboolean ok;
  const char *type, *id, *version = NULL;
  size_t type_len, id_len, version_len = 0;

  if (reference == NULL || *reference == '\0')
    return FALSE;

  if (reference[0] == '#' || g_str_has_prefix (reference, "urn:"))
    {
      value->ref_url = g_strdup (reference);
      return TRUE;
    }

  absolute = strstr (reference, "://") != NULL;

  /* The last four '/'-separated segments, last first. */
  end = reference + strlen (reference);
  p = end;
  while (n_seg < 4)
    {
      const char *s = p;

      while (s > reference && s[-1] != '/')
        s--;
      seg[n_seg] = s;
      seg_len[n_seg] = (size_t) (p - s);
      n_seg++;
      if (s == reference)
        break;
      p = s - 1;
    }

  versioned = n_seg == 4 && seg_len[1] == 8 && memcmp (seg[1], "_history", 8) == 0;
  if (versioned)
    {
      version = seg[0];
      version_len = seg_len[0];
      type = seg[3];
      type_len = seg_len[3];
      id = seg[2];
      id_len = seg_len[2];
    }
  else
    {
      type = seg[1];
      type_len = seg_len[1];
      id = seg[0];
      id_len = seg_len[0];
    }

  ok = type != NULL && is_resource_type_n (type, type_len) && is_valid_id (id, id_len) &&
       (!versioned || is_valid_id (version, version_len));
  /* A relative reference must be exactly Type/id[/_history/vid]. */
  if (ok && !absolute && type != reference)
    ok = FALSE;

  if (absolute || !ok)
    value->ref_url = g_strdup (reference);
  if (ok)
    {
      value->ref_type = g_strndup (type, type_len);
      value->ref_id = g_strndup (id, id_len);
      if (versioned)
        value->ref_version = g_strndup (version, version_len);
    }
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Extraction. */

typedef struct
{
  ChartaResource *resource;
  const ChartaSearchParamDef *param;
  ChartaSearchType type;
  GPtrArray *out;
  unsigned start;         /* first value of this parameter in @out */
  GHashTable *seen;       /* when many values: the parameter's values, for deduplication */
} Extractor;

#define DEDUPE_LINEAR_MAX 16

static ChartaIndexValue *
value_new (Extractor *x)
{
  ChartaIndexValue *v = g_new0 (ChartaIndexValue, 1);

  v->param = x->param;
  v->type = x->type;
  return v;
}

/* Adds @v to the parameter's values unless it is already there (then frees it). */
static void
emit (Extractor        *x,
      ChartaIndexValue *v)
{
  unsigned n = x->out->len - x->start;

  if (x->seen != NULL)
    {
      if (g_hash_table_contains (x->seen, v))
        {
          charta_index_value_free (v);
          return;
        }
      g_hash_table_add (x->seen, v);
      g_ptr_array_add (x->out, v);
      return;
    }

  for (unsigned i = x->start; i < x->out->len; i++)
    if (index_value_equal (x->out->pdata[i], v))
      {
        charta_index_value_free (v);
        return;
      }
  g_ptr_array_add (x->out, v);

  if (n + 1 > DEDUPE_LINEAR_MAX)
    {
      x->seen = g_hash_table_new (index_value_hash, index_value_equal);
      for (unsigned i = x->start; i < x->out->len; i++)
        g_hash_table_add (x->seen, x->out->pdata[i]);
    }
}

static inline JsonObject *
node_object (JsonNode *node)
{
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    return json_node_get_object (node);
  return NULL;
}

static inline const char *
node_string (JsonNode *node)
{
  if (node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  return NULL;
}

static inline const char *
member_string (JsonObject *o,
               const char *name)
{
  return node_string (json_object_get_member (o, name));
}

static inline JsonObject *
member_object (JsonObject *o,
               const char *name)
{
  return node_object (json_object_get_member (o, name));
}

static inline JsonArray *
member_array (JsonObject *o,
              const char *name)
{
  JsonNode *node = json_object_get_member (o, name);

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    return json_node_get_array (node);
  return NULL;
}

static inline char *
dup_nonempty (const char *s)
{
  return s != NULL && *s != '\0' ? g_strdup (s) : NULL;
}

#define NUMBER_BUF_SIZE G_ASCII_DTOSTR_BUF_SIZE

/* The text of a JSON number as written (the resource keeps it), else formatted into @buf. */
static const char *
number_text (Extractor *x,
             JsonNode  *node,
             char      *buf)
{
  const char *text = charta_resource_get_number_text (x->resource, node);

  if (text != NULL)
    return text;
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    g_snprintf (buf, NUMBER_BUF_SIZE, "%" G_GINT64_FORMAT, json_node_get_int (node));
  else
    g_ascii_dtostr (buf, NUMBER_BUF_SIZE, json_node_get_double (node));
  return buf;
}

/* The text of a primitive JSON value (strings as they are, booleans "true"/"false", numbers
 * as written), or NULL. */
static const char *
primitive_node_text (Extractor *x,
                     JsonNode  *node,
                     char      *buf)
{
  GType t;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  t = json_node_get_value_type (node);
  if (t == G_TYPE_STRING)
    return json_node_get_string (node);
  if (t == G_TYPE_BOOLEAN)
    return json_node_get_boolean (node) ? "true" : "false";
  if (t == G_TYPE_INT64 || t == G_TYPE_DOUBLE)
    return number_text (x, node, buf);
  return NULL;
}

static ItemKind
item_kind (const ChartaFhirPathItem *item)
{
  switch (item->kind)
    {
    case CHARTA_FHIRPATH_NODE:
      if (item->type < 0 || (unsigned) item->type >= charta_model_n_types)
        return KIND_OTHER;
      return kind_of_type[item->type];
    case CHARTA_FHIRPATH_BOOLEAN:
      return KIND_BOOLEAN;
    case CHARTA_FHIRPATH_INTEGER:
      return KIND_INTEGER;
    case CHARTA_FHIRPATH_DECIMAL:
      return KIND_DECIMAL;
    case CHARTA_FHIRPATH_STRING:
      return KIND_TEXT;
    case CHARTA_FHIRPATH_DATE:
    case CHARTA_FHIRPATH_DATETIME:
      return KIND_DATE;
    case CHARTA_FHIRPATH_TIME:
      return KIND_TIME;
    case CHARTA_FHIRPATH_QUANTITY:
      return KIND_COMPUTED_QUANTITY;
    default:
      return KIND_OTHER;
    }
}

/* The text of a primitive item, NULL when it has none (an extension-only primitive). */
static const char *
item_text (Extractor                *x,
           const ChartaFhirPathItem *item,
           char                     *buf)
{
  switch (item->kind)
    {
    case CHARTA_FHIRPATH_NODE:
      return primitive_node_text (x, item->node, buf);
    case CHARTA_FHIRPATH_BOOLEAN:
      return item->boolean ? "true" : "false";
    case CHARTA_FHIRPATH_INTEGER:
      g_snprintf (buf, NUMBER_BUF_SIZE, "%" G_GINT64_FORMAT, item->integer);
      return buf;
    case CHARTA_FHIRPATH_DECIMAL:
      if (item->string != NULL)
        return item->string;
      g_ascii_dtostr (buf, NUMBER_BUF_SIZE, item->decimal);
      return buf;
    case CHARTA_FHIRPATH_STRING:
    case CHARTA_FHIRPATH_DATE:
    case CHARTA_FHIRPATH_DATETIME:
    case CHARTA_FHIRPATH_TIME:
    case CHARTA_FHIRPATH_QUANTITY:
    default:
      return item->string;
    }
}

/* --- string --- */

static void
add_string (Extractor  *x,
            const char *text)
{
  ChartaIndexValue *v;

  if (text == NULL || *text == '\0')
    return;
  v = value_new (x);
  v->text = g_strdup (text);
  v->normalized = charta_search_normalize_string (text, -1);
  emit (x, v);
}

static void
add_string_member (Extractor  *x,
                   JsonObject *o,
                   const char *name)
{
  add_string (x, member_string (o, name));
}

static void
add_string_array_member (Extractor  *x,
                         JsonObject *o,
                         const char *name)
{
  JsonArray *a = member_array (o, name);

  if (a == NULL)
    return;
  for (unsigned i = 0, n = json_array_get_length (a); i < n; i++)
    add_string (x, node_string (json_array_get_element (a, i)));
}

/* Every string inside @node, skipping extensions, element ids and "_x" siblings. */
static void
add_all_strings (Extractor *x,
                 JsonNode  *node,
                 unsigned   depth)
{
  if (node == NULL || depth > 32)
    return;
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, &name, &member))
          {
            if (name[0] == '_' || strcmp (name, "extension") == 0 ||
                strcmp (name, "modifierExtension") == 0 || strcmp (name, "id") == 0 ||
                strcmp (name, "resourceType") == 0)
              continue;
            add_all_strings (x, member, depth + 1);
          }
      }
      break;
    case JSON_NODE_ARRAY:
      {
        JsonArray *a = json_node_get_array (node);

        for (unsigned i = 0, n = json_array_get_length (a); i < n; i++)
          add_all_strings (x, json_array_get_element (a, i), depth + 1);
      }
      break;
    case JSON_NODE_VALUE:
      add_string (x, node_string (node));
      break;
    case JSON_NODE_NULL:
    default:
      break;
    }
}

static void
extract_string (Extractor                *x,
                const ChartaFhirPathItem *item,
                ItemKind                  kind)
{
  char buf[NUMBER_BUF_SIZE];
  JsonObject *o;

  switch (kind)
    {
    case KIND_HUMAN_NAME:
      if ((o = node_object (item->node)) == NULL)
        return;
      add_string_member (x, o, "family");
      add_string_array_member (x, o, "given");
      add_string_array_member (x, o, "prefix");
      add_string_array_member (x, o, "suffix");
      add_string_member (x, o, "text");
      break;
    case KIND_ADDRESS:
      if ((o = node_object (item->node)) == NULL)
        return;
      add_string_array_member (x, o, "line");
      add_string_member (x, o, "city");
      add_string_member (x, o, "district");
      add_string_member (x, o, "state");
      add_string_member (x, o, "postalCode");
      add_string_member (x, o, "country");
      add_string_member (x, o, "text");
      break;
    case KIND_TEXT:
    case KIND_URI:
    case KIND_CANONICAL:
    case KIND_DATE:
    case KIND_TIME:
    case KIND_INTEGER:
    case KIND_DECIMAL:
      add_string (x, item_text (x, item, buf));
      break;
    case KIND_BOOLEAN:
    case KIND_COMPUTED_QUANTITY:
    case KIND_RESOURCE:
      break;
    default:
      if (item->kind == CHARTA_FHIRPATH_NODE)
        add_all_strings (x, item->node, 0);
      break;
    }
}

/* --- token --- */

static void
add_token (Extractor  *x,
           const char *system,
           const char *code,
           const char *display)
{
  ChartaIndexValue *v;

  if ((system == NULL || *system == '\0') && (code == NULL || *code == '\0') &&
      (display == NULL || *display == '\0'))
    return;
  v = value_new (x);
  v->system = dup_nonempty (system);
  v->code = dup_nonempty (code);
  v->display = dup_nonempty (display);
  emit (x, v);
}

static void
add_coding (Extractor  *x,
            JsonObject *coding)
{
  add_token (x, member_string (coding, "system"), member_string (coding, "code"),
             member_string (coding, "display"));
}

static void
add_identifier (Extractor  *x,
                JsonObject *identifier)
{
  const char *system = member_string (identifier, "system");
  const char *value = member_string (identifier, "value");
  JsonObject *type = member_object (identifier, "type");
  const char *type_text = type != NULL ? member_string (type, "text") : NULL;
  JsonArray *codings = type != NULL ? member_array (type, "coding") : NULL;
  gboolean typed = FALSE;

  if (system == NULL && value == NULL)
    return;
  for (unsigned i = 0, n = codings != NULL ? json_array_get_length (codings) : 0; i < n; i++)
    {
      JsonObject *coding = node_object (json_array_get_element (codings, i));
      const char *type_code = coding != NULL ? member_string (coding, "code") : NULL;
      ChartaIndexValue *v;

      if (type_code == NULL)
        continue;
      v = value_new (x);
      v->system = dup_nonempty (system);
      v->code = dup_nonempty (value);
      v->display = dup_nonempty (type_text);
      v->identifier_type_system = dup_nonempty (member_string (coding, "system"));
      v->identifier_type_code = g_strdup (type_code);
      emit (x, v);
      typed = TRUE;
    }
  if (!typed)
    add_token (x, system, value, type_text);
}

static void
extract_token (Extractor                *x,
               const ChartaFhirPathItem *item,
               ItemKind                  kind)
{
  char buf[NUMBER_BUF_SIZE];
  JsonObject *o;

  switch (kind)
    {
    case KIND_BOOLEAN:
    case KIND_TEXT:
    case KIND_URI:
    case KIND_CANONICAL:
    case KIND_INTEGER:
    case KIND_DECIMAL:
    case KIND_DATE:
    case KIND_TIME:
      add_token (x, NULL, item_text (x, item, buf), NULL);
      break;
    case KIND_CODING:
      if ((o = node_object (item->node)) != NULL)
        add_coding (x, o);
      break;
    case KIND_CODEABLE_CONCEPT:
      {
        JsonArray *codings;
        const char *text;

        if ((o = node_object (item->node)) == NULL)
          return;
        codings = member_array (o, "coding");
        for (unsigned i = 0, n = codings != NULL ? json_array_get_length (codings) : 0; i < n;
             i++)
          {
            JsonObject *coding = node_object (json_array_get_element (codings, i));

            if (coding != NULL)
              add_coding (x, coding);
          }
        text = member_string (o, "text");
        if (text != NULL && *text != '\0')
          add_token (x, NULL, NULL, text);
      }
      break;
    case KIND_IDENTIFIER:
      if ((o = node_object (item->node)) != NULL)
        add_identifier (x, o);
      break;
    case KIND_CONTACT_POINT:
      if ((o = node_object (item->node)) != NULL)
        {
          const char *value = member_string (o, "value");

          if (value != NULL)
            add_token (x, member_string (o, "system"), value, NULL);
        }
      break;
    default:
      break;
    }
}

/* --- date --- */

static void
add_date_range (Extractor *x,
                int64_t    low,
                int64_t    high)
{
  ChartaIndexValue *v = value_new (x);

  v->date_low = low;
  v->date_high = high;
  emit (x, v);
}

static gboolean
date_member (JsonObject *o,
             const char *name,
             int64_t    *low,
             int64_t    *high)
{
  const char *text = o != NULL ? member_string (o, name) : NULL;

  return text != NULL && charta_search_date_range (text, low, high);
}

static void
extract_date (Extractor                *x,
              const ChartaFhirPathItem *item,
              ItemKind                  kind)
{
  char buf[NUMBER_BUF_SIZE];
  int64_t low, high, l, h;
  JsonObject *o;

  switch (kind)
    {
    case KIND_DATE:
      {
        const char *text = item_text (x, item, buf);

        if (text != NULL && charta_search_date_range (text, &low, &high))
          add_date_range (x, low, high);
      }
      break;
    case KIND_PERIOD:
      {
        gboolean has_start, has_end;

        if ((o = node_object (item->node)) == NULL)
          return;
        has_start = date_member (o, "start", &low, &h);
        has_end = date_member (o, "end", &l, &high);
        if (!has_start && !has_end)
          return;
        add_date_range (x, has_start ? low : G_MININT64, has_end ? high : G_MAXINT64);
      }
      break;
    case KIND_TIMING:
      {
        JsonArray *events;
        JsonObject *repeat;
        gboolean any = FALSE;

        if ((o = node_object (item->node)) == NULL)
          return;
        low = G_MAXINT64;
        high = G_MININT64;
        events = member_array (o, "event");
        for (unsigned i = 0, n = events != NULL ? json_array_get_length (events) : 0; i < n; i++)
          {
            const char *text = node_string (json_array_get_element (events, i));

            if (text != NULL && charta_search_date_range (text, &l, &h))
              {
                low = MIN (low, l);
                high = MAX (high, h);
                any = TRUE;
              }
          }
        repeat = member_object (o, "repeat");
        if (repeat != NULL)
          {
            JsonObject *bounds = member_object (repeat, "boundsPeriod");

            if (bounds != NULL)
              {
                gboolean has_start = date_member (bounds, "start", &l, &h);
                gboolean has_end;

                low = MIN (low, has_start ? l : G_MININT64);
                has_end = date_member (bounds, "end", &l, &h);
                high = MAX (high, has_end ? h : G_MAXINT64);
                any = any || has_start || has_end;
              }
          }
        if (any)
          add_date_range (x, low, high);
      }
      break;
    default:
      break;
    }
}

/* --- number and quantity --- */

/* The value of a Quantity-like object's "value" member, and its range. */
static gboolean
object_number (Extractor  *x,
               JsonObject *o,
               double     *number,
               double     *low,
               double     *high)
{
  char buf[NUMBER_BUF_SIZE];
  JsonNode *node = json_object_get_member (o, "value");
  const char *text;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  if (json_node_get_value_type (node) != G_TYPE_INT64 &&
      json_node_get_value_type (node) != G_TYPE_DOUBLE)
    return FALSE;
  text = number_text (x, node, buf);
  return charta_search_number_range (text, number, low, high);
}

static void
quantity_units (ChartaIndexValue *v,
                JsonObject       *o)
{
  const char *code = member_string (o, "code");
  const char *unit = member_string (o, "unit");

  v->unit_system = dup_nonempty (member_string (o, "system"));
  v->unit_code = dup_nonempty (code != NULL ? code : unit);
  v->unit = dup_nonempty (unit);
}

/* Fills @v's number fields from a Quantity-like object, opening the range on the side a
 * comparator says. */
static gboolean
quantity_number (Extractor        *x,
                 JsonObject       *o,
                 ChartaIndexValue *v)
{
  const char *comparator;

  if (!object_number (x, o, &v->number, &v->number_low, &v->number_high))
    return FALSE;
  comparator = member_string (o, "comparator");
  if (comparator != NULL)
    {
      if (comparator[0] == '<')
        {
          v->number_low = -INFINITY;
          v->number_high = v->number;
        }
      else if (comparator[0] == '>')
        {
          v->number_low = v->number;
          v->number_high = INFINITY;
        }
    }
  return TRUE;
}

/* Fills @v from a Range: low.value's lower bound to high.value's upper bound, the number being
 * the low value (or the high one when there is no low).  Units from low, else high. */
static gboolean
range_number (Extractor        *x,
              JsonObject       *o,
              ChartaIndexValue *v,
              gboolean          units)
{
  JsonObject *lo = member_object (o, "low");
  JsonObject *hi = member_object (o, "high");
  double n1, l1, h1, n2, l2, h2;
  gboolean has_low = lo != NULL && object_number (x, lo, &n1, &l1, &h1);
  gboolean has_high = hi != NULL && object_number (x, hi, &n2, &l2, &h2);

  if (!has_low && !has_high)
    return FALSE;
  v->number = has_low ? n1 : n2;
  v->number_low = has_low ? l1 : -INFINITY;
  v->number_high = has_high ? h2 : INFINITY;
  if (units)
    quantity_units (v, has_low ? lo : hi);
  return TRUE;
}

static void
extract_number (Extractor                *x,
                const ChartaFhirPathItem *item,
                ItemKind                  kind,
                gboolean                  quantity)
{
  char buf[NUMBER_BUF_SIZE];
  ChartaIndexValue *v;
  JsonObject *o;

  switch (kind)
    {
    case KIND_INTEGER:
    case KIND_DECIMAL:
      {
        const char *text = item_text (x, item, buf);
        double n, l, h;

        if (text == NULL || !charta_search_number_range (text, &n, &l, &h))
          return;
        v = value_new (x);
        v->number = n;
        v->number_low = l;
        v->number_high = h;
        emit (x, v);
      }
      break;
    case KIND_COMPUTED_QUANTITY:
      {
        const char *text = item_text (x, item, buf);
        double n, l, h;

        if (text == NULL || !charta_search_number_range (text, &n, &l, &h))
          return;
        v = value_new (x);
        v->number = n;
        v->number_low = l;
        v->number_high = h;
        if (quantity)
          {
            v->unit_code = dup_nonempty (item->unit);
            v->unit = dup_nonempty (item->unit);
          }
        emit (x, v);
      }
      break;
    case KIND_QUANTITY:
    case KIND_MONEY:
      if ((o = node_object (item->node)) == NULL)
        return;
      v = value_new (x);
      if (!quantity_number (x, o, v))
        {
          charta_index_value_free (v);
          return;
        }
      if (quantity && kind == KIND_MONEY)
        {
          const char *currency = member_string (o, "currency");

          if (currency != NULL)
            {
              v->unit_system = g_strdup ("urn:iso:std:iso:4217");
              v->unit_code = g_strdup (currency);
            }
        }
      else if (quantity)
        quantity_units (v, o);
      emit (x, v);
      break;
    case KIND_RANGE:
      if ((o = node_object (item->node)) == NULL)
        return;
      v = value_new (x);
      if (!range_number (x, o, v, quantity))
        {
          charta_index_value_free (v);
          return;
        }
      emit (x, v);
      break;
    default:
      break;
    }
}

/* --- reference --- */

static void
add_canonical (Extractor  *x,
               const char *text,
               gboolean    split_version)
{
  ChartaIndexValue *v;
  const char *bar;

  if (text == NULL || *text == '\0')
    return;
  v = value_new (x);
  bar = split_version ? strchr (text, '|') : NULL;
  if (bar != NULL)
    {
      v->ref_url = g_strndup (text, (size_t) (bar - text));
      v->ref_version = dup_nonempty (bar + 1);
    }
  else
    v->ref_url = g_strdup (text);
  emit (x, v);
}

#define STRUCTURE_DEFINITION_PREFIX "http://hl7.org/fhir/StructureDefinition/"

static void
add_reference_object (Extractor  *x,
                      JsonObject *o)
{
  const char *reference = member_string (o, "reference");
  JsonObject *identifier = member_object (o, "identifier");
  const char *type = member_string (o, "type");
  ChartaIndexValue *v;

  if ((reference == NULL || *reference == '\0') && identifier == NULL)
    return;
  v = value_new (x);
  charta_search_parse_reference (reference, v);
  if (identifier != NULL)
    {
      v->system = dup_nonempty (member_string (identifier, "system"));
      v->code = dup_nonempty (member_string (identifier, "value"));
    }
  /* A local reference takes the type of the contained resource it names (as resolve() does),
   * so that a parameter narrowed to a type (patient: subject.where(resolve() is Patient)) can
   * be answered from the wider one's rows (charta_search_param_get_sources()). */
  if (v->ref_type == NULL && reference != NULL && reference[0] == '#' && reference[1] != '\0')
    {
      JsonArray *contained = member_array (charta_resource_get_object (x->resource),
                                           "contained");

      for (unsigned i = 0; contained != NULL && i < json_array_get_length (contained); i++)
        {
          JsonObject *r = node_object (json_array_get_element (contained, i));
          const char *id = r != NULL ? member_string (r, "id") : NULL;
          const char *rtype = r != NULL ? member_string (r, "resourceType") : NULL;

          if (g_strcmp0 (id, reference + 1) == 0)
            {
              if (rtype != NULL && charta_model_is_resource_type (rtype))
                v->ref_type = g_strdup (rtype);
              break;
            }
        }
    }
  if (v->ref_type == NULL && type != NULL)
    {
      if (g_str_has_prefix (type, STRUCTURE_DEFINITION_PREFIX))
        type += strlen (STRUCTURE_DEFINITION_PREFIX);
      if (charta_model_is_resource_type (type))
        v->ref_type = g_strdup (type);
    }
  if (v->ref_url == NULL && v->ref_type == NULL && v->system == NULL && v->code == NULL)
    {
      charta_index_value_free (v);
      return;
    }
  emit (x, v);
}

/* Whether '|'-separated @targets (NULL: any) names @type. */
static gboolean
targets_contain (const char *targets,
                 const char *type)
{
  size_t len = strlen (type);

  if (targets == NULL)
    return TRUE;
  for (const char *p = targets; p != NULL; p = strchr (p, '|'), p = p != NULL ? p + 1 : NULL)
    if (strncmp (p, type, len) == 0 && (p[len] == '|' || p[len] == '\0'))
      return TRUE;
  return FALSE;
}

static void
extract_reference (Extractor                *x,
                   const ChartaFhirPathItem *item,
                   ItemKind                  kind)
{
  char buf[NUMBER_BUF_SIZE];
  JsonObject *o;

  switch (kind)
    {
    case KIND_REFERENCE:
      if ((o = node_object (item->node)) != NULL)
        add_reference_object (x, o);
      break;
    case KIND_CANONICAL:
      add_canonical (x, item_text (x, item, buf), TRUE);
      break;
    case KIND_URI:
      add_canonical (x, item_text (x, item, buf), FALSE);
      break;
    case KIND_TEXT:
      {
        const char *text = item_text (x, item, buf);
        ChartaIndexValue *v;

        if (text == NULL || *text == '\0')
          return;
        v = value_new (x);
        charta_search_parse_reference (text, v);
        emit (x, v);
      }
      break;
    case KIND_ATTACHMENT:
      if ((o = node_object (item->node)) != NULL)
        add_canonical (x, member_string (o, "url"), FALSE);
      break;
    case KIND_RESOURCE:
      /* Bundle.entry[0].resource for Bundle's composition and message: only a resource of a
       * target type (Composition, MessageHeader) is what the parameter means. */
      if ((o = node_object (item->node)) != NULL)
        {
          const char *type = member_string (o, "resourceType");
          const char *id = member_string (o, "id");
          ChartaIndexValue *v;

          if (type == NULL || id == NULL || !targets_contain (x->param->targets, type))
            return;
          v = value_new (x);
          v->ref_type = g_strdup (type);
          v->ref_id = g_strdup (id);
          emit (x, v);
        }
      break;
    default:
      break;
    }
}

/* --- uri --- */

static void
extract_uri (Extractor                *x,
             const ChartaFhirPathItem *item,
             ItemKind                  kind)
{
  char buf[NUMBER_BUF_SIZE];
  const char *text;
  ChartaIndexValue *v;

  if (kind != KIND_URI && kind != KIND_CANONICAL && kind != KIND_TEXT)
    return;
  text = item_text (x, item, buf);
  if (text == NULL || *text == '\0')
    return;
  v = value_new (x);
  v->text = g_strdup (text);
  v->normalized = g_strdup (text);
  emit (x, v);
}

static void
extract_item (Extractor                *x,
              const ChartaFhirPathItem *item)
{
  ItemKind kind = item_kind (item);

  switch (x->type)
    {
    case CHARTA_SEARCH_TYPE_STRING:
      extract_string (x, item, kind);
      break;
    case CHARTA_SEARCH_TYPE_TOKEN:
      extract_token (x, item, kind);
      break;
    case CHARTA_SEARCH_TYPE_DATE:
      extract_date (x, item, kind);
      break;
    case CHARTA_SEARCH_TYPE_NUMBER:
      extract_number (x, item, kind, FALSE);
      break;
    case CHARTA_SEARCH_TYPE_QUANTITY:
      extract_number (x, item, kind, TRUE);
      break;
    case CHARTA_SEARCH_TYPE_REFERENCE:
      extract_reference (x, item, kind);
      break;
    case CHARTA_SEARCH_TYPE_URI:
      extract_uri (x, item, kind);
      break;
    default:
      break;
    }
}

/* --- composite --- */

/* One resource's extraction: which prefiltered members it has, and the component values
 * already computed (the composites of a type share components: Observation's code-value-*
 * and combo-code-value-* all take "code" on the same focus). */
typedef struct
{
  ChartaFhirPath *expression;
  ChartaSearchType type;
  JsonNode *context;
  GPtrArray *values;      /* ChartaIndexValue, param set to the first component def seen */
} MemoEntry;

typedef struct
{
  ChartaResource *resource;
  uint64_t present;
  GArray *memo;           /* MemoEntry, made on first use */
} Call;

static void
call_clear (Call *call)
{
  if (call->memo != NULL)
    {
      for (unsigned i = 0; i < call->memo->len; i++)
        g_ptr_array_unref (g_array_index (call->memo, MemoEntry, i).values);
      g_array_unref (call->memo);
    }
}

static void
set_eval_error (GError                    **error,
                GError                     *local,
                ChartaResource             *resource,
                const ChartaSearchParamDef *param,
                const char                 *expression)
{
  g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_FHIRPATH_EVAL,
               "%s: search parameter “%s” (%s): %s",
               charta_resource_get_resource_type (resource), param->code, expression,
               local != NULL ? local->message : "evaluation failed");
}

/* The values of component @ce with @item as focus (borrowed from the memo), or NULL with
 * @error set. */
static GPtrArray *
component_values (Call                     *call,
                  const ParamEntry         *entry,
                  const ComponentEntry     *ce,
                  const ChartaFhirPathItem *item,
                  GError                  **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GPtrArray) found = NULL;
  Extractor sub = { call->resource, ce->def, ce->def->type, NULL, 0, NULL };
  JsonNode *context = item->kind == CHARTA_FHIRPATH_NODE ? item->node : NULL;
  MemoEntry me;

  if (call->memo == NULL)
    call->memo = g_array_sized_new (FALSE, FALSE, sizeof (MemoEntry), 16);
  if (context != NULL)
    for (unsigned i = 0; i < call->memo->len; i++)
      {
        MemoEntry *m = &g_array_index (call->memo, MemoEntry, i);

        if (m->expression == ce->expression && m->type == ce->def->type &&
            m->context == context)
          return m->values;
      }

  found = charta_fhirpath_evaluate (ce->expression, call->resource, item, &local);
  if (found == NULL)
    {
      set_eval_error (error, local, call->resource, entry->param,
                      charta_fhirpath_get_expression (ce->expression));
      return NULL;
    }
  sub.out = g_ptr_array_new_with_free_func ((GDestroyNotify) charta_index_value_free);
  for (unsigned j = 0; j < found->len; j++)
    extract_item (&sub, found->pdata[j]);
  if (sub.seen != NULL)
    g_hash_table_destroy (sub.seen);

  /* Items without a node (computed values) are not remembered: they have no identity. */
  me.expression = ce->expression;
  me.type = ce->def->type;
  me.context = context;
  me.values = sub.out;
  if (context == NULL)
    me.expression = NULL;
  g_array_append_val (call->memo, me);
  return sub.out;
}

static gboolean
extract_composite (Call             *call,
                   Extractor        *x,
                   const ParamEntry *entry,
                   GPtrArray        *items,
                   GError          **error)
{
  unsigned n = entry->n_components;

  for (unsigned i = 0; i < items->len; i++)
    {
      const ChartaFhirPathItem *item = items->pdata[i];
      GPtrArray *values[MAX_COMPONENTS] = { NULL };
      unsigned index[MAX_COMPONENTS] = { 0 };
      gboolean complete = TRUE;
      unsigned c;

      /* The last components (the values) are the selective ones: try them first, and stop at
       * the first that has nothing. */
      for (c = n; c > 0 && complete; c--)
        {
          values[c - 1] = component_values (call, entry, &entry->components[c - 1], item, error);
          if (values[c - 1] == NULL)
            return FALSE;
          complete = values[c - 1]->len > 0;
        }
      if (!complete)
        continue;

      for (;;)
        {
          ChartaIndexValue *v = value_new (x);

          v->components = g_ptr_array_new_full (n, (GDestroyNotify) charta_index_value_free);
          for (c = 0; c < n; c++)
            {
              ChartaIndexValue *copy = index_value_copy (values[c]->pdata[index[c]]);

              copy->param = entry->components[c].def;
              g_ptr_array_add (v->components, copy);
            }
          emit (x, v);

          /* Next combination (an odometer over the components' values). */
          for (c = n; c > 0; c--)
            {
              if (++index[c - 1] < values[c - 1]->len)
                break;
              index[c - 1] = 0;
            }
          if (c == 0)
            break;
        }
    }
  return TRUE;
}

static gboolean
extract_entry (Call             *call,
               const ParamEntry *entry,
               GPtrArray        *out,
               GError          **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GPtrArray) items = NULL;
  Extractor x = { call->resource, entry->param, entry->param->type, out, out->len, NULL };
  gboolean ok = TRUE;

  if (entry->compile_error != NULL)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_FHIRPATH_SYNTAX,
                   "%s: search parameter “%s” (%s): %s",
                   charta_resource_get_resource_type (call->resource), entry->param->code,
                   entry->param->expression, entry->compile_error);
      return FALSE;
    }

  items = charta_fhirpath_evaluate (entry->expression, call->resource, NULL, &local);
  if (items == NULL)
    {
      set_eval_error (error, local, call->resource, entry->param, entry->param->expression);
      return FALSE;
    }

  if (entry->param->type == CHARTA_SEARCH_TYPE_COMPOSITE)
    ok = extract_composite (call, &x, entry, items, error);
  else
    for (unsigned i = 0; i < items->len; i++)
      extract_item (&x, items->pdata[i]);

  if (x.seen != NULL)
    g_hash_table_destroy (x.seen);
  return ok;
}

static const TypeEntry *
resource_type_entry (ChartaResource *resource)
{
  int type = charta_model_find_type (charta_resource_get_resource_type (resource));

  if (type < 0)
    return NULL;
  return get_type_entry (type);
}

GPtrArray *
charta_search_index_extract_param (ChartaResource             *resource,
                                   const ChartaSearchParamDef *param,
                                   GError                    **error)
{
  g_autoptr(GPtrArray) out = NULL;
  const TypeEntry *te;
  Call call = { resource, 0, NULL };
  ParamEntry local;
  gboolean ok = TRUE;
  gboolean found = FALSE;

  g_return_val_if_fail (resource != NULL, NULL);
  g_return_val_if_fail (param != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  out = g_ptr_array_new_with_free_func ((GDestroyNotify) charta_index_value_free);
  te = resource_type_entry (resource);
  for (size_t i = 0; te != NULL && i < te->n_entries; i++)
    if (te->entries[i].param == param)
      {
        ok = extract_entry (&call, &te->entries[i], out, error);
        found = TRUE;
        break;
      }

  /* A parameter of another type, or one without an expression. */
  if (!found)
    {
      ensure_tables ();
      if (param_entry_init (&local, param))
        {
          ok = extract_entry (&call, &local, out, error);
          param_entry_clear (&local);
        }
    }
  call_clear (&call);
  if (!ok)
    return NULL;
  return g_steal_pointer (&out);
}

static GPtrArray *
extract_all (ChartaResource  *resource,
             gboolean         stored_only,
             GError         **error)
{
  g_autoptr(GPtrArray) out = NULL;
  const TypeEntry *te;
  Call call = { resource, 0, NULL };
  gboolean prefilter;
  gboolean ok = TRUE;

  out = g_ptr_array_new_full (64, (GDestroyNotify) charta_index_value_free);
  te = resource_type_entry (resource);
  if (te == NULL)
    return g_steal_pointer (&out);

  prefilter = g_atomic_int_get (&prefilter_enabled);
  if (prefilter)
    call.present = present_members (te, resource);
  for (size_t i = 0; ok && i < te->n_entries; i++)
    {
      const ParamEntry *entry = &te->entries[i];

      if (stored_only && !entry->stored)
        continue;
      if (prefilter && !prefilter_may_match (entry, call.present))
        continue;
      ok = extract_entry (&call, entry, out, error);
    }
  call_clear (&call);
  if (!ok)
    return NULL;
  return g_steal_pointer (&out);
}

GPtrArray *
charta_search_index_extract (ChartaResource  *resource,
                             GError         **error)
{
  g_return_val_if_fail (resource != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return extract_all (resource, FALSE, error);
}

GPtrArray *
charta_search_index_extract_stored (ChartaResource  *resource,
                                    GError         **error)
{
  g_return_val_if_fail (resource != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return extract_all (resource, TRUE, error);
}



/* ------------------------------------------------------------------------------------------ */
/* Full text. */

/* Appends the text of XHTML @div to @out: tags dropped (a space for each, so words do not run
 * together), the character references of the XHTML a narrative may use undone. */
static void
append_xhtml_text (GString    *out,
                   const char *div)
{
  static const struct { const char *name; const char *text; } entities[] = {
    { "amp;", "&" }, { "lt;", "<" }, { "gt;", ">" }, { "quot;", "\"" }, { "apos;", "'" },
    { "nbsp;", " " },
  };

  for (const char *p = div; *p != '\0'; p++)
    {
      if (*p == '<')
        {
          const char *end = strchr (p, '>');

          if (end == NULL)
            break;
          g_string_append_c (out, ' ');
          p = end;
          continue;
        }
      if (*p == '&')
        {
          gboolean done = FALSE;

          if (p[1] == '#')
            {
              gboolean hex = p[2] == 'x' || p[2] == 'X';
              const char *digits = p + (hex ? 3 : 2);
              char *end = NULL;
              guint64 code = g_ascii_strtoull (digits, &end, hex ? 16 : 10);

              if (end != digits && *end == ';' && code > 0 && code <= 0x10FFFF
                  && g_unichar_validate ((gunichar) code))
                {
                  g_string_append_unichar (out, (gunichar) code);
                  p = end;
                  done = TRUE;
                }
            }
          for (unsigned i = 0; !done && i < G_N_ELEMENTS (entities); i++)
            if (strncmp (p + 1, entities[i].name, strlen (entities[i].name)) == 0)
              {
                g_string_append (out, entities[i].text);
                p += strlen (entities[i].name);
                done = TRUE;
              }
          if (done)
            continue;
        }
      g_string_append_c (out, *p);
    }
}

gboolean
charta_search_text_is_naming_member (const char *name)
{
  switch (name[0])
    {
    case 'c': return strcmp (name, "contentType") == 0;
    case 'd': return strcmp (name, "div") == 0 || strcmp (name, "data") == 0;
    case 'f': return strcmp (name, "fullUrl") == 0;
    case 'h': return strcmp (name, "hash") == 0;
    case 'i': return strcmp (name, "id") == 0;
    case 'l': return strcmp (name, "lastUpdated") == 0;
    case 'p': return strcmp (name, "profile") == 0;
    case 'r': return strcmp (name, "reference") == 0 || strcmp (name, "resourceType") == 0;
    case 's': return strcmp (name, "system") == 0 || strcmp (name, "source") == 0;
    case 'u': return strcmp (name, "url") == 0;
    case 'v': return strcmp (name, "versionId") == 0;
    default: return FALSE;
    }
}

static void
append_content (GString  *out,
                JsonNode *node,
                unsigned  depth)
{
  if (depth > 64)
    return;
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, &name, &member))
          if (!charta_search_text_is_naming_member (name))
            append_content (out, member, depth + 1);
      }
      break;
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (unsigned i = 0; i < json_array_get_length (array); i++)
          append_content (out, json_array_get_element (array, i), depth + 1);
      }
      break;
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        {
          if (out->len > 0)
            g_string_append_c (out, ' ');
          g_string_append (out, json_node_get_string (node));
        }
      break;
    default:
      break;
    }
}

char *
charta_search_text_narrative (ChartaResource *resource)
{
  JsonObject *root = charta_resource_get_object (resource);
  JsonObject *text = root != NULL ? member_object (root, "text") : NULL;
  const char *div = text != NULL ? member_string (text, "div") : NULL;
  GString *n = g_string_new (NULL);

  if (div != NULL)
    append_xhtml_text (n, div);
  return g_string_free (n, FALSE);
}

void
charta_search_index_text (ChartaResource  *resource,
                          char           **narrative,
                          char           **content)
{
  JsonObject *root;
  JsonObject *text;
  const char *div;
  GString *n = g_string_new (NULL);
  GString *c = g_string_new (NULL);

  g_return_if_fail (resource != NULL);
  g_return_if_fail (narrative != NULL && content != NULL);

  root = charta_resource_get_object (resource);
  text = root != NULL ? member_object (root, "text") : NULL;
  div = text != NULL ? member_string (text, "div") : NULL;
  if (div != NULL)
    append_xhtml_text (n, div);
  if (root != NULL)
    append_content (c, charta_resource_get_root (resource), 0);
  *narrative = g_string_free (n, FALSE);
  *content = g_string_free (c, FALSE);
}
