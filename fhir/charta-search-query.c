/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-search-query.c: a FHIR R4 search request, parsed and typed.
 *
 * The query string is split on '&' into name=value pairs (at the first '='), each percent-decoded
 * with '+' for a space as in application/x-www-form-urlencoded; "%00", a '%' not followed by two
 * hex digits and bytes that are not UTF-8 once decoded are errors.  A pair's name decides what
 * it is: a result parameter (_count, _sort, _total, _summary, _elements, _include, _revinclude,
 * _cursor, _type), one this version refuses (_contained, _containedType, _filter, _query,
 * _graph: CHARTA_FHIR_ERROR_UNSUPPORTED), one left to the caller (_format, _pretty: dropped
 * here, not even kept in @pairs), _list, a reverse chain (_has:…), or a search parameter of the
 * model, with a modifier and perhaps a chain:
 *
 *   name[:modifier]                      a clause on name
 *   ref[:Type].rest                      a chain: a clause on ref whose @chain holds the clause
 *                                        for rest on Type (or, with no Type written, on each
 *                                        of ref's target types that has rest's parameter; a
 *                                        chain whose rest starts with _has needs the Type)
 *   _has:Type:ref:rest                   a reverse chain: @has is the clause for rest on Type
 *
 * rest is again any of these, so chains and _has nest (four levels of each at most).  A chain
 * with a Type written has modifier CHARTA_SEARCH_MODIFIER_TYPE and target_type Type; without
 * one, modifier NONE, target_type NULL, and each clause of @chain says its type.
 *
 * Values are split on unescaped ',' (OR); "\,", "\$", "\|" and "\\" stand for the character
 * (another '\' is kept as written).  Each value is then read for the parameter's type:
 *
 *   string     text and normalized (as the index normalises)
 *   token      [system|]code at the first unescaped '|'; :text gives text and normalized;
 *              :in and :not-in keep the ValueSet url in text; :of-type type-system|type-code|
 *              value, on a parameter whose code is "identifier" or whose expression ends in
 *              "identifier" (the Identifier ones in R4)
 *   reference  "Patient/7", "7" (ref_id only), "Patient/7/_history/2", an absolute url (see
 *              charta_search_parse_reference()), "url|version" for canonicals (ref_url,
 *              ref_version); :identifier reads a token into system and code; :[Type] must be
 *              one of the parameter's targets, and a typed value must be of that type
 *   date       [prefix]date → [date_low, date_high]
 *   number     [prefix]number → number, number_low, number_high
 *   quantity   [prefix]number[|system|code]; an empty system or code is NULL
 *   uri        text
 *   composite  components separated by unescaped '$', as many as the parameter has, each read
 *              for its component parameter's type (found by the component's definition url)
 *
 * Prefixes (eq ne gt lt ge le sa eb ap) are read on dates, numbers and quantities only: on
 * other types "gtx" is just a value.  :missing takes true or false, on every type.  text is
 * always the value as written (prefix included), with percent-encoding and '\' escapes undone.
 *
 * Which modifiers each type takes: string exact, contains; token text, not, above, below, in,
 * not-in, of-type; reference identifier and [Type]; uri above, below, contains; every type
 * missing; nothing else.  Location's near (type special) is CHARTA_FHIR_ERROR_UNSUPPORTED.
 *
 * A parameter the searched type does not have goes to @unknown (and stays in @pairs, so that a
 * paging link repeats the request as made, unless its name has a '=' that could not be told
 * from the value there), or is CHARTA_FHIR_ERROR_UNKNOWN_PARAMETER with
 * CHARTA_SEARCH_QUERY_STRICT.  _type on a search of one type is such a parameter.  Inside a chain or a _has it is always an error (INVALID): the
 * request is malformed.  A search of the whole store knows only the parameters of Resource
 * (_id, _lastUpdated, _tag, _profile, _security, _source, _content) and _type; its clauses have
 * resource type "Resource".
 *
 * Limits, against hostile requests: the query string at most 64 KiB, at most 100 parameters,
 * names and values at most 4 KiB once decoded (CHARTA_FHIR_ERROR_TOO_LARGE); chains and _has
 * four levels deep each (CHARTA_FHIR_ERROR_TOO_DEEP); and at most MAX_NODES clauses and values
 * in all, since a chain without a type fans out to every target type (TOO_LARGE).
 *
 * Every error message names the parameter as written (decoded) and, for a value, the value.
 */
#define G_LOG_DOMAIN "charta-search-query"

#include <limits.h>
#include <string.h>

#include "charta-fhir-error.h"
#include "charta-search-index-private.h"
#include "charta-search-query.h"

#define MAX_QUERY_LENGTH (64 * 1024)
#define MAX_PARAMS       100
#define MAX_VALUE_LENGTH (4 * 1024)
#define MAX_CHAIN_DEPTH  4
#define MAX_HAS_DEPTH    4
#define MAX_NODES        100000

/* Characters left as they are in charta_search_query_to_string(), besides the unreserved ones:
 * everything else ('&', '=', '+', '#', '%', '|', '\', spaces, non-ASCII) is percent-encoded. */
#define QUERY_CHARS_ALLOWED "!$'()*,/:;?@"

typedef struct
{
  const char *resource_type;  /* the searched type; NULL for the whole store */
  const char *clause_type;    /* the type top-level clauses apply to ("Resource" for the store) */
  ChartaSearchQueryFlags flags;
  const char *written;        /* the parameter being read, as written (decoded), for messages */
  unsigned n_nodes;           /* clauses and values made so far */
  unsigned seen;              /* result parameters met, as bits of ResultParam */
} Parser;

typedef enum
{
  RESULT_COUNT,
  RESULT_SORT,
  RESULT_TOTAL,
  RESULT_SUMMARY,
  RESULT_ELEMENTS,
  RESULT_CURSOR,
  RESULT_TYPE,
  RESULT_INCLUDE,     /* may repeat */
  RESULT_REVINCLUDE,  /* may repeat */
  N_RESULT_PARAMS
} ResultParam;

static const char *const result_param_names[N_RESULT_PARAMS] = {
  "_count", "_sort", "_total", "_summary", "_elements", "_cursor", "_type", "_include",
  "_revinclude",
};

static const char *const unsupported_params[] = {
  "_contained", "_containedType", "_filter", "_query", "_graph",
};

static const struct
{
  const char *name;
  ChartaSearchModifier modifier;
} modifier_names[] = {
  { "missing", CHARTA_SEARCH_MODIFIER_MISSING },
  { "exact", CHARTA_SEARCH_MODIFIER_EXACT },
  { "contains", CHARTA_SEARCH_MODIFIER_CONTAINS },
  { "text", CHARTA_SEARCH_MODIFIER_TEXT },
  { "not", CHARTA_SEARCH_MODIFIER_NOT },
  { "above", CHARTA_SEARCH_MODIFIER_ABOVE },
  { "below", CHARTA_SEARCH_MODIFIER_BELOW },
  { "in", CHARTA_SEARCH_MODIFIER_IN },
  { "not-in", CHARTA_SEARCH_MODIFIER_NOT_IN },
  { "of-type", CHARTA_SEARCH_MODIFIER_OF_TYPE },
  { "identifier", CHARTA_SEARCH_MODIFIER_IDENTIFIER },
};

static const struct
{
  char name[3];
  ChartaSearchPrefix prefix;
} prefix_names[] = {
  { "eq", CHARTA_SEARCH_PREFIX_EQ },
  { "ne", CHARTA_SEARCH_PREFIX_NE },
  { "gt", CHARTA_SEARCH_PREFIX_GT },
  { "lt", CHARTA_SEARCH_PREFIX_LT },
  { "ge", CHARTA_SEARCH_PREFIX_GE },
  { "le", CHARTA_SEARCH_PREFIX_LE },
  { "sa", CHARTA_SEARCH_PREFIX_SA },
  { "eb", CHARTA_SEARCH_PREFIX_EB },
  { "ap", CHARTA_SEARCH_PREFIX_AP },
};

static const char *const search_type_names[] = {
  [CHARTA_SEARCH_TYPE_NUMBER] = "number",
  [CHARTA_SEARCH_TYPE_DATE] = "date",
  [CHARTA_SEARCH_TYPE_STRING] = "string",
  [CHARTA_SEARCH_TYPE_TOKEN] = "token",
  [CHARTA_SEARCH_TYPE_REFERENCE] = "reference",
  [CHARTA_SEARCH_TYPE_COMPOSITE] = "composite",
  [CHARTA_SEARCH_TYPE_QUANTITY] = "quantity",
  [CHARTA_SEARCH_TYPE_URI] = "uri",
  [CHARTA_SEARCH_TYPE_SPECIAL] = "special",
};

static const char *
search_type_name (ChartaSearchType type)
{
  if ((unsigned) type < G_N_ELEMENTS (search_type_names) && search_type_names[type] != NULL)
    return search_type_names[type];
  return "unknown";
}

/* ------------------------------------------------------------------------------------------ */
/* Memory. */

static void
search_value_free (ChartaSearchValue *value)
{
  if (value == NULL)
    return;
  g_free (value->text);
  g_free (value->normalized);
  g_free (value->system);
  g_free (value->code);
  g_free (value->type_system);
  g_free (value->type_code);
  g_free (value->unit_system);
  g_free (value->unit_code);
  g_free (value->ref_type);
  g_free (value->ref_id);
  g_free (value->ref_version);
  g_free (value->ref_url);
  g_clear_pointer (&value->components, g_ptr_array_unref);
  g_free (value);
}

static void
search_clause_free (ChartaSearchClause *clause)
{
  if (clause == NULL)
    return;
  g_free (clause->name);
  g_free (clause->resource_type);
  g_free (clause->target_type);
  g_clear_pointer (&clause->values, g_ptr_array_unref);
  g_clear_pointer (&clause->chain, g_ptr_array_unref);
  g_free (clause->has_type);
  search_clause_free (clause->has);
  g_free (clause);
}

static void
search_sort_free (ChartaSearchSort *sort)
{
  g_free (sort->name);
  g_free (sort);
}

static void
search_include_free (ChartaSearchInclude *include)
{
  g_free (include->source_type);
  g_free (include->target_type);
  g_free (include);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaSearchValue, search_value_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaSearchClause, search_clause_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaSearchInclude, search_include_free)

void
charta_search_query_free (ChartaSearchQuery *query)
{
  if (query == NULL)
    return;
  g_free (query->resource_type);
  g_clear_pointer (&query->types, g_ptr_array_unref);
  g_clear_pointer (&query->clauses, g_ptr_array_unref);
  g_free (query->compartment_type);
  g_free (query->compartment_id);
  g_free (query->cursor);
  g_clear_pointer (&query->sort, g_ptr_array_unref);
  g_clear_pointer (&query->elements, g_ptr_array_unref);
  g_clear_pointer (&query->includes, g_ptr_array_unref);
  g_clear_pointer (&query->unknown, g_ptr_array_unref);
  g_clear_pointer (&query->pairs, g_ptr_array_unref);
  g_free (query);
}

/* Counts one more clause or value against MAX_NODES. */
static gboolean
take_node (Parser  *p,
           GError **error)
{
  if (++p->n_nodes > MAX_NODES)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_LARGE,
                   "%s: the search expands to more than %u conditions", p->written, MAX_NODES);
      return FALSE;
    }
  return TRUE;
}

static ChartaSearchValue *
value_new (Parser  *p,
           GError **error)
{
  ChartaSearchValue *value;

  if (!take_node (p, error))
    return NULL;
  value = g_new0 (ChartaSearchValue, 1);
  value->prefix = CHARTA_SEARCH_PREFIX_EQ;
  return value;
}

static ChartaSearchClause *
clause_new (Parser                     *p,
            const char                 *name,
            size_t                      name_len,
            const ChartaSearchParamDef *param,
            const char                 *resource_type,
            GError                    **error)
{
  ChartaSearchClause *clause;

  if (!take_node (p, error))
    return NULL;
  clause = g_new0 (ChartaSearchClause, 1);
  clause->name = g_strndup (name, name_len);
  clause->param = param;
  clause->resource_type = g_strdup (resource_type);
  clause->values = g_ptr_array_new_with_free_func ((GDestroyNotify) search_value_free);
  return clause;
}

/* ------------------------------------------------------------------------------------------ */
/* Text. */

static int
hex_digit (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* @s[0, @len) form-decoded ('+' is a space, %XX a byte), or NULL when an escape is broken,
 * decodes to NUL, or the result is not UTF-8. */
static char *
form_decode (const char *s,
             size_t      len)
{
  g_autofree char *out = g_malloc (len + 1);
  size_t n = 0;

  for (size_t i = 0; i < len; i++)
    {
      if (s[i] == '+')
        out[n++] = ' ';
      else if (s[i] == '%')
        {
          int hi, lo;

          if (i + 2 >= len)
            return NULL;
          hi = hex_digit (s[i + 1]);
          lo = hex_digit (s[i + 2]);
          if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return NULL;
          out[n++] = (char) (hi * 16 + lo);
          i += 2;
        }
      else
        out[n++] = s[i];
    }
  out[n] = '\0';
  if (!g_utf8_validate (out, (gssize) n, NULL))
    return NULL;
  return g_steal_pointer (&out);
}

/* Raw request text made fit for a message: valid UTF-8, at most 64 characters. */
static char *
describe_raw (const char *s,
              size_t      len)
{
  g_autofree char *valid = g_utf8_make_valid (s, (gssize) len);

  if (g_utf8_strlen (valid, -1) > 64)
    {
      g_autofree char *head = g_utf8_substring (valid, 0, 64);

      return g_strconcat (head, "…", NULL);
    }
  return g_steal_pointer (&valid);
}

/* @s[0, @len) with the escapes "\,", "\$", "\|" and "\\" undone. */
static char *
unescape_n (const char *s,
            size_t      len)
{
  char *out = g_malloc (len + 1);
  size_t n = 0;

  for (size_t i = 0; i < len; i++)
    {
      if (s[i] == '\\' && i + 1 < len &&
          (s[i + 1] == ',' || s[i + 1] == '$' || s[i + 1] == '|' || s[i + 1] == '\\'))
        i++;
      out[n++] = s[i];
    }
  out[n] = '\0';
  return out;
}

static char *
unescape (const char *s)
{
  return unescape_n (s, strlen (s));
}

/* @s split at each unescaped @sep, into at most @max_pieces pieces (the last one keeps the
 * rest; 0 for no limit), each still escaped. */
static GPtrArray *
split_unescaped (const char *s,
                 char        sep,
                 unsigned    max_pieces)
{
  GPtrArray *pieces = g_ptr_array_new_with_free_func (g_free);
  const char *start = s;
  const char *p = s;

  while (*p != '\0')
    {
      if (*p == '\\' && p[1] != '\0')
        {
          p += 2;
          continue;
        }
      if (*p == sep && (max_pieces == 0 || pieces->len + 1 < max_pieces))
        {
          g_ptr_array_add (pieces, g_strndup (start, (size_t) (p - start)));
          start = p + 1;
        }
      p++;
    }
  g_ptr_array_add (pieces, g_strndup (start, (size_t) (p - start)));
  return pieces;
}

/* Whether @type is one of the '|'-separated @targets (NULL: any). */
static gboolean
targets_contain (const char *targets,
                 const char *type)
{
  size_t len = strlen (type);

  if (targets == NULL)
    return TRUE;
  for (const char *p = targets; p != NULL && *p != '\0';)
    {
      const char *bar = strchr (p, '|');
      size_t n = bar != NULL ? (size_t) (bar - p) : strlen (p);

      if (n == len && memcmp (p, type, len) == 0)
        return TRUE;
      p = bar != NULL ? bar + 1 : NULL;
    }
  return FALSE;
}

static gboolean
is_unsupported_param (const char *code,
                      size_t      len)
{
  for (size_t i = 0; i < G_N_ELEMENTS (unsupported_params); i++)
    if (strlen (unsupported_params[i]) == len && memcmp (unsupported_params[i], code, len) == 0)
      return TRUE;
  return FALSE;
}


/* ------------------------------------------------------------------------------------------ */
/* Values. */

static gboolean
is_identifier_param (const ChartaSearchParamDef *def)
{
  return strcmp (def->code, "identifier") == 0 ||
         (def->expression != NULL && g_str_has_suffix (def->expression, "identifier"));
}

/* Reads @modifier_text (NULL: none) for @def into *modifier and, for a reference's :[Type],
 * *target_type. */
static gboolean
resolve_modifier (Parser                      *p,
                  const ChartaSearchParamDef  *def,
                  const char                  *modifier_text,
                  ChartaSearchModifier        *modifier,
                  char                       **target_type,
                  GError                     **error)
{
  gboolean known = FALSE;
  gboolean allowed = FALSE;

  *modifier = CHARTA_SEARCH_MODIFIER_NONE;
  if (modifier_text == NULL)
    return TRUE;

  for (size_t i = 0; i < G_N_ELEMENTS (modifier_names); i++)
    if (strcmp (modifier_text, modifier_names[i].name) == 0)
      {
        *modifier = modifier_names[i].modifier;
        known = TRUE;
        break;
      }

  if (!known && charta_model_is_resource_type (modifier_text))
    {
      if (def->type != CHARTA_SEARCH_TYPE_REFERENCE)
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "%s: the modifier “:%s” (a resource type) applies to reference "
                       "parameters only; “%s” is a %s parameter", p->written, modifier_text,
                       def->code, search_type_name (def->type));
          return FALSE;
        }
      if (!targets_contain (def->targets, modifier_text))
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "%s: “%s” cannot refer to %s resources (only to %s)", p->written, def->code,
                       modifier_text, def->targets);
          return FALSE;
        }
      *modifier = CHARTA_SEARCH_MODIFIER_TYPE;
      *target_type = g_strdup (modifier_text);
      return TRUE;
    }
  if (!known)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: “:%s” is not a search modifier", p->written, modifier_text);
      return FALSE;
    }

  switch (*modifier)
    {
    case CHARTA_SEARCH_MODIFIER_MISSING:
      allowed = TRUE;
      break;
    case CHARTA_SEARCH_MODIFIER_EXACT:
      allowed = def->type == CHARTA_SEARCH_TYPE_STRING;
      break;
    case CHARTA_SEARCH_MODIFIER_CONTAINS:
      allowed = def->type == CHARTA_SEARCH_TYPE_STRING || def->type == CHARTA_SEARCH_TYPE_URI;
      break;
    case CHARTA_SEARCH_MODIFIER_ABOVE:
    case CHARTA_SEARCH_MODIFIER_BELOW:
      allowed = def->type == CHARTA_SEARCH_TYPE_TOKEN || def->type == CHARTA_SEARCH_TYPE_URI;
      break;
    case CHARTA_SEARCH_MODIFIER_TEXT:
    case CHARTA_SEARCH_MODIFIER_NOT:
    case CHARTA_SEARCH_MODIFIER_IN:
    case CHARTA_SEARCH_MODIFIER_NOT_IN:
      allowed = def->type == CHARTA_SEARCH_TYPE_TOKEN;
      break;
    case CHARTA_SEARCH_MODIFIER_OF_TYPE:
      allowed = def->type == CHARTA_SEARCH_TYPE_TOKEN && is_identifier_param (def);
      if (def->type == CHARTA_SEARCH_TYPE_TOKEN && !allowed)
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "%s: the modifier “:of-type” applies to Identifier parameters only, "
                       "and “%s” is not one", p->written, def->code);
          return FALSE;
        }
      break;
    case CHARTA_SEARCH_MODIFIER_IDENTIFIER:
      allowed = def->type == CHARTA_SEARCH_TYPE_REFERENCE;
      break;
    case CHARTA_SEARCH_MODIFIER_NONE:
    case CHARTA_SEARCH_MODIFIER_TYPE:
    default:
      allowed = FALSE;
      break;
    }
  if (!allowed)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: the modifier “:%s” does not apply to “%s”, a %s parameter", p->written,
                   modifier_text, def->code, search_type_name (def->type));
      return FALSE;
    }
  return TRUE;
}

/* The prefix @raw starts with (EQ when none) and what follows it; only dates, numbers and
 * quantities call this, so on other types "gtx" stays a value. */
static const char *
take_prefix (const char         *raw,
             ChartaSearchPrefix *prefix)
{
  *prefix = CHARTA_SEARCH_PREFIX_EQ;
  if (raw[0] == '\0' || raw[1] == '\0' || raw[2] == '\0')
    return raw;
  for (size_t i = 0; i < G_N_ELEMENTS (prefix_names); i++)
    if (raw[0] == prefix_names[i].name[0] && raw[1] == prefix_names[i].name[1])
      {
        *prefix = prefix_names[i].prefix;
        return raw + 2;
      }
  return raw;
}

/* Splits a token at the first unescaped '|' into system and code (see the header). */
static void
read_token (const char        *raw,
            ChartaSearchValue *value)
{
  g_autoptr(GPtrArray) parts = split_unescaped (raw, '|', 2);

  if (parts->len == 1)
    {
      value->code = unescape (parts->pdata[0]);
      return;
    }
  value->system = unescape (parts->pdata[0]);
  if (*(const char *) parts->pdata[1] != '\0')
    value->code = unescape (parts->pdata[1]);
}

static gboolean
read_date (Parser            *p,
           const char        *raw,
           ChartaSearchValue *value,
           GError           **error)
{
  const char *rest = take_prefix (raw, &value->prefix);
  g_autofree char *text = unescape (rest);

  if (text[0] == '@' || !charta_search_date_range (text, &value->date_low, &value->date_high))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: “%s” is not a valid date", p->written, value->text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_number (Parser            *p,
             const char        *raw,
             ChartaSearchValue *value,
             GError           **error)
{
  const char *rest = take_prefix (raw, &value->prefix);
  g_autofree char *text = unescape (rest);

  if (!charta_search_number_range (text, &value->number, &value->number_low,
                                   &value->number_high))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: “%s” is not a valid number", p->written, value->text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_quantity (Parser            *p,
               const char        *raw,
               ChartaSearchValue *value,
               GError           **error)
{
  const char *rest = take_prefix (raw, &value->prefix);
  g_autoptr(GPtrArray) parts = split_unescaped (rest, '|', 3);
  g_autofree char *number = NULL;

  if (parts->len == 2)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: “%s” is not a valid quantity (number, number|system|code or "
                   "number||code)", p->written, value->text);
      return FALSE;
    }
  number = unescape (parts->pdata[0]);
  if (!charta_search_number_range (number, &value->number, &value->number_low,
                                   &value->number_high))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: “%s” is not a valid quantity: “%s” is not a number", p->written,
                   value->text, number);
      return FALSE;
    }
  if (parts->len == 3)
    {
      if (*(const char *) parts->pdata[1] != '\0')
        value->unit_system = unescape (parts->pdata[1]);
      if (*(const char *) parts->pdata[2] != '\0')
        value->unit_code = unescape (parts->pdata[2]);
    }
  return TRUE;
}

static gboolean
read_reference (Parser               *p,
                const char           *raw,
                const char           *target_type,
                ChartaSearchValue    *value,
                GError              **error)
{
  g_autoptr(GPtrArray) parts = split_unescaped (raw, '|', 2);
  ChartaIndexValue ref = { 0 };

  if (parts->len == 2)
    {
      /* A canonical with its version. */
      value->ref_url = unescape (parts->pdata[0]);
      value->ref_version = unescape (parts->pdata[1]);
      if (value->ref_url[0] == '\0' || value->ref_version[0] == '\0')
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "%s: “%s” is not a valid reference (url|version)", p->written,
                       value->text);
          return FALSE;
        }
      return TRUE;
    }

  if (strchr (value->text, '/') == NULL && strchr (value->text, ':') == NULL &&
      value->text[0] != '#')
    {
      value->ref_id = g_strdup (value->text);
      return TRUE;
    }

  charta_search_parse_reference (value->text, &ref);
  value->ref_type = g_steal_pointer (&ref.ref_type);
  value->ref_id = g_steal_pointer (&ref.ref_id);
  value->ref_version = g_steal_pointer (&ref.ref_version);
  value->ref_url = g_steal_pointer (&ref.ref_url);
  if (target_type != NULL && value->ref_type != NULL && strcmp (value->ref_type, target_type) != 0)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: “%s” is not a %s reference", p->written, value->text, target_type);
      return FALSE;
    }
  return TRUE;
}

static ChartaSearchValue *parse_value (Parser                     *p,
                                       const ChartaSearchParamDef *def,
                                       ChartaSearchModifier        modifier,
                                       const char                 *target_type,
                                       const char                 *raw,
                                       GError                    **error);

static gboolean
read_composite (Parser                     *p,
                const ChartaSearchParamDef *def,
                const char                 *raw,
                ChartaSearchValue          *value,
                GError                    **error)
{
  g_autoptr(GPtrArray) parts = split_unescaped (raw, '$', 0);

  if (def->n_components == 0 || parts->len != def->n_components)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: “%s” has %u component%s; “%s” takes %u, separated by “$”", p->written,
                   value->text, parts->len, parts->len == 1 ? "" : "s", def->code,
                   def->n_components);
      return FALSE;
    }

  value->components = g_ptr_array_new_with_free_func ((GDestroyNotify) search_value_free);
  for (unsigned i = 0; i < parts->len; i++)
    {
      const ChartaSearchComponentDef *comp =
        &charta_model_search_components[def->first_component + i];
      const ChartaSearchParamDef *comp_def = charta_model_lookup_search_param_by_url (comp->definition,
                                                                def->resource_type);
      ChartaSearchValue *component;

      if (comp_def == NULL || comp_def->type == CHARTA_SEARCH_TYPE_COMPOSITE ||
          comp_def->type == CHARTA_SEARCH_TYPE_SPECIAL)
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_UNSUPPORTED,
                       "%s: component %u of “%s” (%s) is not supported", p->written, i + 1,
                       def->code, comp->definition);
          return FALSE;
        }
      component = parse_value (p, comp_def, CHARTA_SEARCH_MODIFIER_NONE, NULL, parts->pdata[i],
                               error);
      if (component == NULL)
        {
          /* Say which component of which value. */
          if (error != NULL && *error != NULL)
            {
              char *message = g_strdup_printf ("%s (component %u of “%s”)", (*error)->message,
                                               i + 1, value->text);

              g_free ((*error)->message);
              (*error)->message = message;
            }
          return FALSE;
        }
      g_ptr_array_add (value->components, component);
    }
  return TRUE;
}

/* One value (between unescaped commas, still escaped) of @def with @modifier. */
static ChartaSearchValue *
parse_value (Parser                     *p,
             const ChartaSearchParamDef *def,
             ChartaSearchModifier        modifier,
             const char                 *target_type,
             const char                 *raw,
             GError                    **error)
{
  g_autoptr(ChartaSearchValue) value = NULL;
  gboolean ok = TRUE;

  if (*raw == '\0')
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: empty value", p->written);
      return NULL;
    }
  value = value_new (p, error);
  if (value == NULL)
    return NULL;
  value->text = unescape (raw);

  if (modifier == CHARTA_SEARCH_MODIFIER_MISSING)
    {
      if (strcmp (value->text, "true") == 0)
        value->missing = TRUE;
      else if (strcmp (value->text, "false") != 0)
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "%s: “%s” is neither true nor false", p->written, value->text);
          return NULL;
        }
      return g_steal_pointer (&value);
    }

  switch (def->type)
    {
    case CHARTA_SEARCH_TYPE_STRING:
      value->normalized = charta_search_normalize_string (value->text, -1);
      break;

    case CHARTA_SEARCH_TYPE_TOKEN:
      if (modifier == CHARTA_SEARCH_MODIFIER_TEXT)
        value->normalized = charta_search_normalize_string (value->text, -1);
      else if (modifier == CHARTA_SEARCH_MODIFIER_IN || modifier == CHARTA_SEARCH_MODIFIER_NOT_IN)
        ;  /* the ValueSet is in @text */
      else if (modifier == CHARTA_SEARCH_MODIFIER_OF_TYPE)
        {
          g_autoptr(GPtrArray) parts = split_unescaped (raw, '|', 3);

          if (parts->len != 3 || *(const char *) parts->pdata[1] == '\0' ||
              *(const char *) parts->pdata[2] == '\0')
            {
              g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                           "%s: “%s” is not of the form type-system|type-code|value",
                           p->written, value->text);
              return NULL;
            }
          value->type_system = unescape (parts->pdata[0]);
          value->type_code = unescape (parts->pdata[1]);
          value->code = unescape (parts->pdata[2]);
        }
      else
        read_token (raw, value);
      break;

    case CHARTA_SEARCH_TYPE_REFERENCE:
      if (modifier == CHARTA_SEARCH_MODIFIER_IDENTIFIER)
        read_token (raw, value);
      else
        ok = read_reference (p, raw, target_type, value, error);
      break;

    case CHARTA_SEARCH_TYPE_DATE:
      ok = read_date (p, raw, value, error);
      break;

    case CHARTA_SEARCH_TYPE_NUMBER:
      ok = read_number (p, raw, value, error);
      break;

    case CHARTA_SEARCH_TYPE_QUANTITY:
      ok = read_quantity (p, raw, value, error);
      break;

    case CHARTA_SEARCH_TYPE_URI:
      break;

    case CHARTA_SEARCH_TYPE_COMPOSITE:
      ok = read_composite (p, def, raw, value, error);
      break;

    case CHARTA_SEARCH_TYPE_SPECIAL:
    default:
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_UNSUPPORTED,
                   "%s: “%s” is a %s parameter, which this version does not support",
                   p->written, def->code, search_type_name (def->type));
      return NULL;
    }
  if (!ok)
    return NULL;
  return g_steal_pointer (&value);
}

/* Fills @clause->values from the comma-separated @raw_value. */
static gboolean
parse_values (Parser             *p,
              ChartaSearchClause *clause,
              const char         *raw_value,
              GError            **error)
{
  g_autoptr(GPtrArray) pieces = split_unescaped (raw_value, ',', 0);

  for (unsigned i = 0; i < pieces->len; i++)
    {
      ChartaSearchValue *value = parse_value (p, clause->param, clause->modifier,
                                              clause->target_type, pieces->pdata[i], error);

      if (value == NULL)
        return FALSE;
      g_ptr_array_add (clause->values, value);
    }
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Clauses, chains and _has. */

static ChartaSearchClause *parse_clause (Parser      *p,
                                         const char  *resource_type,
                                         const char  *spec,
                                         const char  *raw_value,
                                         unsigned     chain_depth,
                                         unsigned     has_depth,
                                         gboolean    *unknown,
                                         GError     **error);

/* _has:Type:ref:rest on @resource_type. */
static ChartaSearchClause *
parse_has (Parser      *p,
           const char  *resource_type,
           const char  *spec,
           const char  *raw_value,
           unsigned     chain_depth,
           unsigned     has_depth,
           GError     **error)
{
  g_autoptr(ChartaSearchClause) clause = NULL;
  g_autofree char *has_type = NULL;
  g_autofree char *ref_code = NULL;
  const ChartaSearchParamDef *ref;
  const char *type_start, *type_end, *ref_start, *ref_end;

  if (!g_str_has_prefix (spec, "_has:"))
    goto malformed;
  type_start = spec + 5;
  type_end = strchr (type_start, ':');
  if (type_end == NULL || type_end == type_start)
    goto malformed;
  ref_start = type_end + 1;
  ref_end = strchr (ref_start, ':');
  if (ref_end == NULL || ref_end == ref_start || ref_end[1] == '\0')
    goto malformed;

  if (has_depth + 1 > MAX_HAS_DEPTH)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_DEEP,
                   "%s: _has nests more than %u levels deep", p->written, MAX_HAS_DEPTH);
      return NULL;
    }

  has_type = g_strndup (type_start, (size_t) (type_end - type_start));
  ref_code = g_strndup (ref_start, (size_t) (ref_end - ref_start));
  if (!charta_model_is_resource_type (has_type))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: “%s” is not a resource type", p->written, has_type);
      return NULL;
    }
  ref = charta_model_lookup_search_param (has_type, ref_code);
  if (ref == NULL)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: %s has no search parameter “%s”", p->written, has_type, ref_code);
      return NULL;
    }
  if (ref->type != CHARTA_SEARCH_TYPE_REFERENCE)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: %s’s “%s” is a %s parameter, not a reference", p->written, has_type,
                   ref_code, search_type_name (ref->type));
      return NULL;
    }
  if (strcmp (resource_type, "Resource") != 0 && !targets_contain (ref->targets, resource_type))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: %s’s “%s” cannot refer to %s resources (only to %s)", p->written, has_type,
                   ref_code, resource_type, ref->targets);
      return NULL;
    }

  clause = clause_new (p, "_has", 4, NULL, resource_type, error);
  if (clause == NULL)
    return NULL;
  clause->has_type = g_steal_pointer (&has_type);
  clause->has_reference = ref;
  clause->has = parse_clause (p, clause->has_type, ref_end + 1, raw_value, chain_depth,
                              has_depth + 1, NULL, error);
  if (clause->has == NULL)
    return NULL;
  return g_steal_pointer (&clause);

malformed:
  g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
               "%s: a reverse chain reads _has:Type:reference-parameter:search-parameter",
               p->written);
  return NULL;
}

/* The chain @rest (after the '.') from @clause, a reference parameter on @clause's type. */
static gboolean
parse_chain (Parser              *p,
             ChartaSearchClause  *clause,
             const char          *rest,
             const char          *raw_value,
             unsigned             chain_depth,
             unsigned             has_depth,
             GError             **error)
{
  const ChartaSearchParamDef *def = clause->param;
  size_t code_len = strcspn (rest, ":.");
  g_autofree char *code = g_strndup (rest, code_len);
  g_auto(GStrv) targets = NULL;

  if (chain_depth + 1 > MAX_CHAIN_DEPTH)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_DEEP,
                   "%s: the chain is more than %u levels deep", p->written, MAX_CHAIN_DEPTH);
      return FALSE;
    }
  if (def->type != CHARTA_SEARCH_TYPE_REFERENCE)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: “%s” is a %s parameter, not a reference: it cannot be chained",
                   p->written, def->code, search_type_name (def->type));
      return FALSE;
    }

  clause->chain = g_ptr_array_new_with_free_func ((GDestroyNotify) search_clause_free);
  if (clause->target_type != NULL)
    {
      ChartaSearchClause *sub = parse_clause (p, clause->target_type, rest, raw_value,
                                              chain_depth + 1, has_depth, NULL, error);

      if (sub == NULL)
        return FALSE;
      g_ptr_array_add (clause->chain, sub);
      return TRUE;
    }

  /* No type written: each target type that has the chained parameter. */
  if (def->targets != NULL)
    targets = g_strsplit (def->targets, "|", -1);
  else
    {
      GPtrArray *all = g_ptr_array_new ();

      for (unsigned i = 0; i < charta_model_n_types; i++)
        if (charta_model_types[i].kind == CHARTA_TYPE_KIND_RESOURCE &&
            !charta_model_types[i].is_abstract)
          g_ptr_array_add (all, g_strdup (charta_model_types[i].name));
      g_ptr_array_add (all, NULL);
      targets = (GStrv) g_ptr_array_free (all, FALSE);
    }
  for (size_t i = 0; targets[i] != NULL; i++)
    {
      ChartaSearchClause *sub;

      if (code_len == 0 || !charta_model_is_resource_type (targets[i]) ||
          charta_model_lookup_search_param (targets[i], code) == NULL)
        continue;
      sub = parse_clause (p, targets[i], rest, raw_value, chain_depth + 1, has_depth, NULL,
                          error);
      if (sub == NULL)
        return FALSE;
      g_ptr_array_add (clause->chain, sub);
    }
  if (clause->chain->len == 0)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: none of the types “%s” refers to (%s) has a search parameter “%s”",
                   p->written, def->code, def->targets != NULL ? def->targets : "any", code);
      return FALSE;
    }
  return TRUE;
}

/* The clause for @spec (a parameter name with its modifier and chain, as written) on
 * @resource_type.  When the parameter is not one of @resource_type's and @unknown is not NULL,
 * sets *unknown and returns NULL without an error; with @unknown NULL, that is an error. */
static ChartaSearchClause *
parse_clause (Parser      *p,
              const char  *resource_type,
              const char  *spec,
              const char  *raw_value,
              unsigned     chain_depth,
              unsigned     has_depth,
              gboolean    *unknown,
              GError     **error)
{
  g_autoptr(ChartaSearchClause) clause = NULL;
  g_autofree char *code = NULL;
  g_autofree char *modifier_text = NULL;
  const ChartaSearchParamDef *def;
  const char *dot, *colon, *rest = NULL;
  size_t head_len;

  if (strcmp (spec, "_has") == 0 || g_str_has_prefix (spec, "_has:") ||
      g_str_has_prefix (spec, "_has."))
    return parse_has (p, resource_type, spec, raw_value, chain_depth, has_depth, error);

  dot = strchr (spec, '.');
  head_len = dot != NULL ? (size_t) (dot - spec) : strlen (spec);
  if (dot != NULL)
    rest = dot + 1;
  colon = memchr (spec, ':', head_len);
  code = g_strndup (spec, colon != NULL ? (size_t) (colon - spec) : head_len);
  if (colon != NULL)
    modifier_text = g_strndup (colon + 1, head_len - (size_t) (colon + 1 - spec));

  if (code[0] == '\0' || (rest != NULL && rest[0] == '\0'))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: a parameter name in it is empty", p->written);
      return NULL;
    }
  if (is_unsupported_param (code, strlen (code)))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_UNSUPPORTED,
                   "%s: this version of Charta does not support “%s”", p->written, code);
      return NULL;
    }

  def = charta_model_lookup_search_param (resource_type, code);
  if (def == NULL)
    {
      if (unknown != NULL)
        {
          *unknown = TRUE;
          return NULL;
        }
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: %s has no search parameter “%s”", p->written, resource_type, code);
      return NULL;
    }
  if (def->type == CHARTA_SEARCH_TYPE_SPECIAL)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_UNSUPPORTED,
                   "%s: “%s” is a special parameter, which this version of Charta does not "
                   "support", p->written, code);
      return NULL;
    }

  clause = clause_new (p, code, strlen (code), def, resource_type, error);
  if (clause == NULL)
    return NULL;

  if (rest != NULL)
    {
      if (modifier_text != NULL)
        {
          if (def->type == CHARTA_SEARCH_TYPE_REFERENCE &&
              !charta_model_is_resource_type (modifier_text))
            {
              g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                           "%s: a chain goes through a resource type (“%s:Type.”), not “:%s”",
                           p->written, code, modifier_text);
              return NULL;
            }
          if (def->type == CHARTA_SEARCH_TYPE_REFERENCE &&
              !resolve_modifier (p, def, modifier_text, &clause->modifier,
                                 &clause->target_type, error))
            return NULL;
        }
      if (!parse_chain (p, clause, rest, raw_value, chain_depth, has_depth, error))
        return NULL;
      return g_steal_pointer (&clause);
    }

  if (!resolve_modifier (p, def, modifier_text, &clause->modifier, &clause->target_type, error))
    return NULL;
  if (!parse_values (p, clause, raw_value, error))
    return NULL;
  return g_steal_pointer (&clause);
}

/* ------------------------------------------------------------------------------------------ */
/* Result parameters. */

static gboolean
parse_count (Parser            *p,
             ChartaSearchQuery *query,
             const char        *value,
             GError           **error)
{
  int64_t n = 0;

  for (const char *c = value; *c != '\0'; c++)
    {
      if (*c < '0' || *c > '9' || n > INT_MAX)
        {
          n = -1;
          break;
        }
      n = n * 10 + (*c - '0');
    }
  if (n < 0 || n > INT_MAX)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: “%s” is not a whole number from 0 to %d", p->written, value, INT_MAX);
      return FALSE;
    }
  query->count = (int) n;
  return TRUE;
}

static gboolean
parse_sort (Parser            *p,
            ChartaSearchQuery *query,
            const char        *value,
            GError           **error)
{
  g_auto(GStrv) items = g_strsplit (value, ",", -1);

  for (size_t i = 0; items[i] != NULL; i++)
    {
      const char *name = items[i];
      gboolean descending = FALSE;
      const ChartaSearchParamDef *def;
      ChartaSearchSort *sort;

      if (*name == '-')
        {
          descending = TRUE;
          name++;
        }
      if (*name == '\0')
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "%s: “%s” has an empty item", p->written, value);
          return FALSE;
        }
      def = charta_model_lookup_search_param (p->clause_type, name);
      if (def == NULL)
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "%s: %s has no search parameter “%s” to sort by", p->written,
                       p->clause_type, name);
          return FALSE;
        }
      sort = g_new0 (ChartaSearchSort, 1);
      sort->name = g_strdup (name);
      sort->param = def;
      sort->descending = descending;
      g_ptr_array_add (query->sort, sort);
    }
  return TRUE;
}

static gboolean
parse_total (Parser            *p,
             ChartaSearchQuery *query,
             const char        *value,
             GError           **error)
{
  if (strcmp (value, "none") == 0)
    query->total = CHARTA_SEARCH_TOTAL_NONE;
  else if (strcmp (value, "estimate") == 0)
    query->total = CHARTA_SEARCH_TOTAL_ESTIMATE;
  else if (strcmp (value, "accurate") == 0)
    query->total = CHARTA_SEARCH_TOTAL_ACCURATE;
  else
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: “%s” is not one of none, estimate, accurate", p->written, value);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_summary (Parser            *p,
               ChartaSearchQuery *query,
               const char        *value,
               GError           **error)
{
  static const struct
  {
    const char *name;
    ChartaSearchSummary summary;
  } names[] = {
    { "true", CHARTA_SEARCH_SUMMARY_TRUE },
    { "text", CHARTA_SEARCH_SUMMARY_TEXT },
    { "data", CHARTA_SEARCH_SUMMARY_DATA },
    { "count", CHARTA_SEARCH_SUMMARY_COUNT },
    { "false", CHARTA_SEARCH_SUMMARY_FALSE },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    if (strcmp (value, names[i].name) == 0)
      {
        query->summary = names[i].summary;
        return TRUE;
      }
  g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
               "%s: “%s” is not one of true, text, data, count, false", p->written, value);
  return FALSE;
}

/* _elements: top-level element names of the searched type, by element name ("value") or JSON
 * name ("valueQuantity"); any non-empty name for a search of the whole store. */
static gboolean
parse_elements (Parser            *p,
                ChartaSearchQuery *query,
                const char        *value,
                GError           **error)
{
  g_auto(GStrv) items = g_strsplit (value, ",", -1);
  int type = p->resource_type != NULL ? charta_model_find_type (p->resource_type) : -1;

  query->elements = g_ptr_array_new_with_free_func (g_free);
  for (size_t i = 0; items[i] != NULL; i++)
    {
      if (items[i][0] == '\0')
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "%s: “%s” has an empty item", p->written, value);
          return FALSE;
        }
      if (type >= 0 && charta_model_find_element_by_name (type, items[i]) == NULL &&
          charta_model_find_element (type, items[i], NULL) == NULL)
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "%s: %s has no element “%s”", p->written, p->resource_type, items[i]);
          return FALSE;
        }
      g_ptr_array_add (query->elements, g_strdup (items[i]));
    }
  return TRUE;
}

static gboolean
parse_types (Parser            *p,
             ChartaSearchQuery *query,
             const char        *value,
             GError           **error)
{
  g_auto(GStrv) items = g_strsplit (value, ",", -1);

  query->types = g_ptr_array_new_with_free_func (g_free);
  for (size_t i = 0; items[i] != NULL; i++)
    {
      if (!charta_model_is_resource_type (items[i]))
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "%s: “%s” is not a resource type", p->written, items[i]);
          return FALSE;
        }
      g_ptr_array_add (query->types, g_strdup (items[i]));
    }
  return TRUE;
}

/* _include / _revinclude (@reverse) with @modifier_text (NULL, "iterate" or "recurse"). */
static gboolean
parse_include (Parser            *p,
               ChartaSearchQuery *query,
               gboolean           reverse,
               const char        *modifier_text,
               const char        *value,
               GError           **error)
{
  g_autoptr(ChartaSearchInclude) include = g_new0 (ChartaSearchInclude, 1);
  g_auto(GStrv) parts = NULL;
  const ChartaSearchParamDef *def;

  if (modifier_text != NULL && strcmp (modifier_text, "iterate") != 0 &&
      strcmp (modifier_text, "recurse") != 0)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: “:%s” is not a modifier of %s (:iterate is)", p->written, modifier_text,
                   reverse ? "_revinclude" : "_include");
      return FALSE;
    }
  include->reverse = reverse;
  include->iterate = modifier_text != NULL;

  if (strcmp (value, "*") == 0)
    {
      include->source_type = g_strdup ("*");
      g_ptr_array_add (query->includes, g_steal_pointer (&include));
      return TRUE;
    }

  parts = g_strsplit (value, ":", 4);
  if (g_strv_length (parts) < 2 || g_strv_length (parts) > 3)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: “%s” is not of the form Type:parameter[:TargetType] or *", p->written,
                   value);
      return FALSE;
    }
  if (!charta_model_is_resource_type (parts[0]))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: in “%s”, “%s” is not a resource type", p->written, value, parts[0]);
      return FALSE;
    }
  if (!reverse && !include->iterate && p->resource_type != NULL &&
      strcmp (parts[0], p->resource_type) != 0)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: “%s” does not start from %s, the type searched (use _include:iterate "
                   "to include from included resources)", p->written, value, p->resource_type);
      return FALSE;
    }
  def = charta_model_lookup_search_param (parts[0], parts[1]);
  if (def == NULL || def->type != CHARTA_SEARCH_TYPE_REFERENCE)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: in “%s”, %s has no reference search parameter “%s”", p->written, value,
                   parts[0], parts[1]);
      return FALSE;
    }
  if (parts[2] != NULL &&
      (!charta_model_is_resource_type (parts[2]) || !targets_contain (def->targets, parts[2])))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: in “%s”, %s’s “%s” cannot refer to “%s” resources", p->written, value,
                   parts[0], parts[1], parts[2]);
      return FALSE;
    }
  include->source_type = g_strdup (parts[0]);
  include->param = def;
  include->target_type = g_strdup (parts[2]);
  g_ptr_array_add (query->includes, g_steal_pointer (&include));
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Parameters. */

typedef enum
{
  PARAM_ERROR,
  PARAM_KEEP,    /* read; kept in @pairs */
  PARAM_DROP,    /* read or ignored, not kept in @pairs (_cursor, _format, _pretty) */
} ParamResult;

static ParamResult
parse_result_param (Parser            *p,
                    ChartaSearchQuery *query,
                    ResultParam        which,
                    const char        *name,
                    const char        *value,
                    GError           **error)
{
  const char *rest = name + strlen (result_param_names[which]);
  const char *modifier_text = NULL;
  gboolean ok;

  if (which == RESULT_INCLUDE || which == RESULT_REVINCLUDE)
    {
      if (*rest == ':')
        modifier_text = rest + 1;
      else if (*rest != '\0')
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "%s: %s takes no chain", name, result_param_names[which]);
          return PARAM_ERROR;
        }
    }
  else
    {
      if (*rest != '\0')
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "%s: %s takes no modifier or chain", name, result_param_names[which]);
          return PARAM_ERROR;
        }
      if (p->seen & (1u << which))
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "%s: given more than once", name);
          return PARAM_ERROR;
        }
      p->seen |= 1u << which;
    }

  switch (which)
    {
    case RESULT_COUNT:
      ok = parse_count (p, query, value, error);
      break;
    case RESULT_SORT:
      ok = parse_sort (p, query, value, error);
      break;
    case RESULT_TOTAL:
      ok = parse_total (p, query, value, error);
      break;
    case RESULT_SUMMARY:
      ok = parse_summary (p, query, value, error);
      break;
    case RESULT_ELEMENTS:
      ok = parse_elements (p, query, value, error);
      break;
    case RESULT_CURSOR:
      query->cursor = g_strdup (value);
      return PARAM_DROP;
    case RESULT_TYPE:
      ok = parse_types (p, query, value, error);
      break;
    case RESULT_INCLUDE:
    case RESULT_REVINCLUDE:
      ok = parse_include (p, query, which == RESULT_REVINCLUDE, modifier_text, value, error);
      break;
    case N_RESULT_PARAMS:
    default:
      g_assert_not_reached ();
    }
  return ok ? PARAM_KEEP : PARAM_ERROR;
}

static ParamResult
parse_list (Parser            *p,
            ChartaSearchQuery *query,
            const char        *name,
            const char        *value,
            GError           **error)
{
  g_autoptr(ChartaSearchClause) clause = NULL;
  g_autoptr(GPtrArray) pieces = NULL;

  if (strcmp (name, "_list") != 0)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: _list takes no modifier or chain", name);
      return PARAM_ERROR;
    }
  clause = clause_new (p, "_list", 5, NULL, p->clause_type, error);
  if (clause == NULL)
    return PARAM_ERROR;
  pieces = split_unescaped (value, ',', 0);
  for (unsigned i = 0; i < pieces->len; i++)
    {
      ChartaSearchValue *v;

      if (*(const char *) pieces->pdata[i] == '\0')
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "%s: “%s” has an empty List id", name, value);
          return PARAM_ERROR;
        }
      v = value_new (p, error);
      if (v == NULL)
        return PARAM_ERROR;
      v->text = unescape (pieces->pdata[i]);
      g_ptr_array_add (clause->values, v);
    }
  g_ptr_array_add (query->clauses, g_steal_pointer (&clause));
  return PARAM_KEEP;
}

/* One decoded name=value pair. */
static ParamResult
parse_param (Parser            *p,
             ChartaSearchQuery *query,
             const char        *name,
             const char        *value,
             GError           **error)
{
  size_t code_len = strcspn (name, ":.");
  g_autoptr(ChartaSearchClause) clause = NULL;
  gboolean unknown = FALSE;

  p->written = name;

  if ((code_len == 7 && memcmp (name, "_format", 7) == 0) ||
      (code_len == 7 && memcmp (name, "_pretty", 7) == 0))
    return PARAM_DROP;

  if (value[0] == '\0')
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s: empty value", name);
      return PARAM_ERROR;
    }
  if (strlen (value) > MAX_VALUE_LENGTH)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_LARGE,
                   "%s: the value is %zu bytes long, more than the %d allowed", name,
                   strlen (value), MAX_VALUE_LENGTH);
      return PARAM_ERROR;
    }
  if (is_unsupported_param (name, code_len))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_UNSUPPORTED,
                   "%s: this version of Charta does not support “%.*s”", name, (int) code_len,
                   name);
      return PARAM_ERROR;
    }

  for (unsigned i = 0; i < N_RESULT_PARAMS; i++)
    if (strlen (result_param_names[i]) == code_len &&
        memcmp (result_param_names[i], name, code_len) == 0)
      {
        /* _type narrows a search of the whole store; a type has no such parameter. */
        if (i == RESULT_TYPE && p->resource_type != NULL)
          break;
        return parse_result_param (p, query, i, name, value, error);
      }

  if (code_len == 5 && memcmp (name, "_list", 5) == 0)
    return parse_list (p, query, name, value, error);

  clause = parse_clause (p, p->clause_type, name, value, 0, 0, &unknown, error);
  if (clause != NULL)
    {
      g_ptr_array_add (query->clauses, g_steal_pointer (&clause));
      return PARAM_KEEP;
    }
  if (!unknown)
    return PARAM_ERROR;

  if (p->flags & CHARTA_SEARCH_QUERY_STRICT)
    {
      if (name[code_len] != '\0')
        g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_UNKNOWN_PARAMETER,
                     "%s has no search parameter “%.*s” (in “%s”)", p->clause_type,
                     (int) code_len, name, name);
      else
        g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_UNKNOWN_PARAMETER,
                     "%s has no search parameter “%s”", p->clause_type, name);
      return PARAM_ERROR;
    }
  g_ptr_array_add (query->unknown, g_strdup (name));
  /* A name with '=' could not be told from its value in @pairs. */
  return strchr (name, '=') != NULL ? PARAM_DROP : PARAM_KEEP;
}

ChartaSearchQuery *
charta_search_query_parse (const char              *resource_type,
                           const char              *query_string,
                           ChartaSearchQueryFlags   flags,
                           GError                 **error)
{
  g_autoptr(ChartaSearchQuery) query = NULL;
  g_auto(GStrv) pieces = NULL;
  Parser parser = { 0 };
  unsigned n_params = 0;
  size_t length;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (resource_type != NULL && !charta_model_is_resource_type (resource_type))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "“%s” is not a resource type that can be searched", resource_type);
      return NULL;
    }
  if (query_string == NULL)
    query_string = "";
  length = strlen (query_string);
  if (length > MAX_QUERY_LENGTH)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_LARGE,
                   "the search query is %zu bytes long, more than the %d allowed", length,
                   MAX_QUERY_LENGTH);
      return NULL;
    }

  query = g_new0 (ChartaSearchQuery, 1);
  query->resource_type = g_strdup (resource_type);
  query->clauses = g_ptr_array_new_with_free_func ((GDestroyNotify) search_clause_free);
  query->count = -1;
  query->sort = g_ptr_array_new_with_free_func ((GDestroyNotify) search_sort_free);
  query->total = CHARTA_SEARCH_TOTAL_DEFAULT;
  query->summary = CHARTA_SEARCH_SUMMARY_FALSE;
  query->includes = g_ptr_array_new_with_free_func ((GDestroyNotify) search_include_free);
  query->unknown = g_ptr_array_new_with_free_func (g_free);
  query->pairs = g_ptr_array_new_with_free_func (g_free);

  parser.resource_type = resource_type;
  parser.clause_type = resource_type != NULL ? resource_type : "Resource";
  parser.flags = flags;

  pieces = g_strsplit (query_string, "&", -1);
  for (size_t i = 0; pieces[i] != NULL; i++)
    if (pieces[i][0] != '\0')
      n_params++;
  if (n_params > MAX_PARAMS)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_LARGE,
                   "the search has %u parameters, more than the %d allowed", n_params,
                   MAX_PARAMS);
      return NULL;
    }

  for (size_t i = 0; pieces[i] != NULL; i++)
    {
      const char *piece = pieces[i];
      const char *eq = strchr (piece, '=');
      size_t name_len = eq != NULL ? (size_t) (eq - piece) : strlen (piece);
      const char *raw_value = eq != NULL ? eq + 1 : "";
      g_autofree char *name = NULL;
      g_autofree char *value = NULL;
      ParamResult result;

      if (piece[0] == '\0')
        continue;
      if (name_len == 0)
        {
          g_autofree char *shown = describe_raw (piece, strlen (piece));

          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "“%s”: a search parameter without a name", shown);
          return NULL;
        }
      name = form_decode (piece, name_len);
      if (name == NULL)
        {
          g_autofree char *shown = describe_raw (piece, name_len);

          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "“%s”: the parameter name is not valid percent-encoded UTF-8", shown);
          return NULL;
        }
      if (strlen (name) > MAX_VALUE_LENGTH)
        {
          g_autofree char *shown = describe_raw (name, strlen (name));

          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_LARGE,
                       "“%s”: the parameter name is longer than the %d bytes allowed", shown,
                       MAX_VALUE_LENGTH);
          return NULL;
        }
      value = form_decode (raw_value, strlen (raw_value));
      if (value == NULL)
        {
          g_autofree char *shown = describe_raw (raw_value, strlen (raw_value));

          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "%s: the value “%s” is not valid percent-encoded UTF-8", name, shown);
          return NULL;
        }

      result = parse_param (&parser, query, name, value, error);
      if (result == PARAM_ERROR)
        return NULL;
      if (result == PARAM_KEEP)
        g_ptr_array_add (query->pairs, g_strconcat (name, "=", value, NULL));
    }
  return g_steal_pointer (&query);
}

char *
charta_search_query_to_string (const ChartaSearchQuery *query)
{
  GString *out;

  g_return_val_if_fail (query != NULL, NULL);

  out = g_string_new (NULL);
  for (unsigned i = 0; query->pairs != NULL && i < query->pairs->len; i++)
    {
      const char *pair = query->pairs->pdata[i];
      const char *eq = strchr (pair, '=');
      g_autofree char *name = eq != NULL ? g_strndup (pair, (size_t) (eq - pair))
                                         : g_strdup (pair);
      g_autofree char *name_escaped = g_uri_escape_string (name, QUERY_CHARS_ALLOWED, FALSE);
      g_autofree char *value_escaped = g_uri_escape_string (eq != NULL ? eq + 1 : "",
                                                            QUERY_CHARS_ALLOWED, FALSE);

      if (out->len > 0)
        g_string_append_c (out, '&');
      g_string_append (out, name_escaped);
      g_string_append_c (out, '=');
      g_string_append (out, value_escaped);
    }
  return g_string_free (out, FALSE);
}
