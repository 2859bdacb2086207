/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-model.c: lookups over the generated FHIR R4 model tables.
 *
 * tools/gen-model.py emits every table already sorted for the lookups done here: types by
 * name, each type's JSON member names (choice names expanded), value sets by URL, each value
 * set's codes by (code, system), search parameters by (resource type, code) and compartments
 * by (compartment, resource type).  So every lookup is a binary search over constant data: no
 * initialisation, no locks, no allocation except the array list_search_params returns.
 */
#define G_LOG_DOMAIN "charta-model"

#include "charta-model.h"
#include "charta-model-private.h"

#include <string.h>

int
charta_model_find_type (const char *name)
{
  size_t lo = 0;
  size_t hi = charta_model_n_types;

  g_return_val_if_fail (name != NULL, -1);

  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      int cmp = strcmp (name, charta_model_types[mid].name);

      if (cmp == 0)
        return (int) mid;
      if (cmp < 0)
        hi = mid;
      else
        lo = mid + 1;
    }
  return -1;
}

const ChartaTypeDef *
charta_model_get_type (int index)
{
  if (index < 0 || (unsigned) index >= charta_model_n_types)
    return NULL;
  return &charta_model_types[index];
}

const ChartaTypeDef *
charta_model_lookup_type (const char *name)
{
  return charta_model_get_type (charta_model_find_type (name));
}

/* TRUE for the concrete resource types, the ones an instance's resourceType may name:
 * the abstract Resource and DomainResource are not. */
bool
charta_model_is_resource_type (const char *name)
{
  const ChartaTypeDef *def = charta_model_lookup_type (name);

  return def != NULL && def->kind == CHARTA_TYPE_KIND_RESOURCE && !def->is_abstract;
}

bool
charta_model_type_is_a (int type,
                        int ancestor)
{
  if (ancestor < 0 || (unsigned) ancestor >= charta_model_n_types)
    return false;
  while (type >= 0 && (unsigned) type < charta_model_n_types)
    {
      if (type == ancestor)
        return true;
      type = charta_model_types[type].base;
    }
  return false;
}

static const ChartaModelJsonName *
find_json_name (int         type,
                const char *json_name)
{
  const ChartaModelRange *range;
  size_t lo, hi;

  if (type < 0 || (unsigned) type >= charta_model_n_types || json_name == NULL)
    return NULL;

  range = &charta_model_type_json_names[type];
  lo = range->first;
  hi = (size_t) range->first + range->n;
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      int cmp = strcmp (json_name, charta_model_json_names[mid].name);

      if (cmp == 0)
        return &charta_model_json_names[mid];
      if (cmp < 0)
        hi = mid;
      else
        lo = mid + 1;
    }
  return NULL;
}

const ChartaElementDef *
charta_model_find_element (int         type,
                           const char *json_name,
                           int        *choice_type)
{
  const ChartaModelJsonName *entry = find_json_name (type, json_name);

  if (choice_type != NULL)
    *choice_type = -1;
  if (entry == NULL || entry->choice_type == CHARTA_MODEL_BARE_CHOICE)
    return NULL;
  if (choice_type != NULL && entry->choice_type >= 0)
    *choice_type = entry->choice_type;
  return &charta_model_elements[entry->element];
}

const ChartaElementDef *
charta_model_find_element_by_name (int         type,
                                   const char *name)
{
  const ChartaModelJsonName *entry = find_json_name (type, name);

  /* An expanded choice name ("valueQuantity") is not an element name. */
  if (entry == NULL || entry->choice_type >= 0)
    return NULL;
  return &charta_model_elements[entry->element];
}

const ChartaValueSetDef *
charta_model_lookup_value_set (const char *url)
{
  size_t lo = 0;
  size_t hi = charta_model_n_value_sets;
  const char *bar;
  size_t len;

  g_return_val_if_fail (url != NULL, NULL);

  /* A canonical may carry "|version"; the tables hold the bare URL. */
  bar = strchr (url, '|');
  len = bar != NULL ? (size_t) (bar - url) : strlen (url);

  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      const char *candidate = charta_model_value_sets[mid].url;
      int cmp = strncmp (url, candidate, len);

      if (cmp == 0 && candidate[len] != '\0')
        cmp = -1;
      if (cmp == 0)
        return &charta_model_value_sets[mid];
      if (cmp < 0)
        hi = mid;
      else
        lo = mid + 1;
    }
  return NULL;
}

/* Codes within a value set are sorted by (code, system).  A NULL @system matches any system:
 * elements of type code carry no system, and for a value set drawing on one system that is
 * the only reading; for several systems the code alone is what a code element can say. */
bool
charta_model_value_set_contains (const ChartaValueSetDef *vs,
                                 const char              *system,
                                 const char              *code)
{
  size_t lo, hi;

  g_return_val_if_fail (vs != NULL, false);

  if (code == NULL)
    return false;

  lo = vs->first_code;
  hi = (size_t) vs->first_code + vs->n_codes;
  /* The first entry whose code is >= @code. */
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;

      if (strcmp (charta_model_codes[mid].code, code) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }

  for (size_t i = lo;
       i < (size_t) vs->first_code + vs->n_codes && strcmp (charta_model_codes[i].code, code) == 0;
       i++)
    {
      const char *def_system = charta_model_codes[i].system;

      if (system == NULL || def_system == NULL || strcmp (system, def_system) == 0)
        return true;
    }
  return false;
}

static int
compare_pair (const char *a1,
              const char *a2,
              const char *b1,
              const char *b2)
{
  int cmp = strcmp (a1, b1);

  if (cmp != 0 || a2 == NULL)
    return cmp;
  return strcmp (a2, b2);
}

/* The first search-parameter row at or after (@resource_type, @code); @code NULL means the
 * first row of @resource_type. */
static size_t
search_param_lower_bound (const char *resource_type,
                          const char *code)
{
  size_t lo = 0;
  size_t hi = charta_model_n_search_params;

  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      const ChartaSearchParamDef *row = &charta_model_search_params[mid];

      if (compare_pair (row->resource_type, code != NULL ? row->code : NULL,
                        resource_type, code) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

static const ChartaSearchParamDef *
search_param_exact (const char *resource_type,
                    const char *code)
{
  size_t i = search_param_lower_bound (resource_type, code);

  if (i < charta_model_n_search_params
      && strcmp (charta_model_search_params[i].resource_type, resource_type) == 0
      && strcmp (charta_model_search_params[i].code, code) == 0)
    return &charta_model_search_params[i];
  return NULL;
}

const ChartaSearchParamDef **
charta_model_list_search_params (const char *resource_type,
                                 size_t     *n_params)
{
  GPtrArray *list;
  int type;

  g_return_val_if_fail (resource_type != NULL, NULL);

  list = g_ptr_array_new ();
  type = charta_model_find_type (resource_type);
  /* Resource's parameters first, then DomainResource's, then the type's own. */
  if (type >= 0)
    {
      int chain[16];
      int depth = 0;

      for (int t = type; t >= 0 && depth < (int) G_N_ELEMENTS (chain); t = charta_model_types[t].base)
        chain[depth++] = t;
      while (depth-- > 0)
        {
          const char *name = charta_model_types[chain[depth]].name;

          for (size_t i = search_param_lower_bound (name, NULL);
               i < charta_model_n_search_params
               && strcmp (charta_model_search_params[i].resource_type, name) == 0;
               i++)
            g_ptr_array_add (list, (gpointer) &charta_model_search_params[i]);
        }
    }
  if (n_params != NULL)
    *n_params = list->len;
  g_ptr_array_add (list, NULL);
  return (const ChartaSearchParamDef **) g_ptr_array_free (list, FALSE);
}

const ChartaSearchParamDef *
charta_model_lookup_search_param (const char *resource_type,
                                  const char *code)
{
  const ChartaSearchParamDef *row;
  int type;

  g_return_val_if_fail (resource_type != NULL, NULL);
  g_return_val_if_fail (code != NULL, NULL);

  row = search_param_exact (resource_type, code);
  if (row != NULL)
    return row;

  type = charta_model_find_type (resource_type);
  if (type < 0)
    return NULL;
  for (int t = charta_model_types[type].base; t >= 0; t = charta_model_types[t].base)
    {
      row = search_param_exact (charta_model_types[t].name, code);
      if (row != NULL)
        return row;
    }
  return NULL;
}

static gpointer
index_search_param_urls (gpointer data)
{
  GHashTable *table = g_hash_table_new (g_str_hash, g_str_equal);

  for (unsigned i = 0; i < charta_model_n_search_params; i++)
    {
      const ChartaSearchParamDef *def = &charta_model_search_params[i];

      if (def->url != NULL && !g_hash_table_contains (table, def->url))
        g_hash_table_insert (table, (gpointer) def->url, (gpointer) def);
    }
  return table;
}

const ChartaSearchParamDef *
charta_model_lookup_search_param_by_url (const char *url,
                                         const char *resource_type)
{
  static GOnce once = G_ONCE_INIT;
  const ChartaSearchParamDef *first, *own;

  g_return_val_if_fail (url != NULL, NULL);

  first = g_hash_table_lookup (g_once (&once, index_search_param_urls, NULL), url);
  if (first == NULL || resource_type == NULL)
    return first;
  own = charta_model_lookup_search_param (resource_type, first->code);
  return own != NULL && g_strcmp0 (own->url, url) == 0 ? own : first;
}

const ChartaCompartmentDef *
charta_model_lookup_compartment (const char *compartment,
                                 const char *resource_type)
{
  size_t lo = 0;
  size_t hi = charta_model_n_compartments;

  g_return_val_if_fail (compartment != NULL, NULL);
  g_return_val_if_fail (resource_type != NULL, NULL);

  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      const ChartaCompartmentDef *row = &charta_model_compartments[mid];
      int cmp = compare_pair (compartment, resource_type, row->compartment, row->resource_type);

      if (cmp == 0)
        return row;
      if (cmp < 0)
        hi = mid;
      else
        lo = mid + 1;
    }
  return NULL;
}
