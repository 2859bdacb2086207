/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-search-sources.c: which stored index rows hold a search parameter's values.
 *
 * Some R4 search parameters find exactly what others of the same resource type find, put
 * together: Observation's combo-code is `Observation.code | Observation.component.code`, the
 * union of code and component-code; its patient is `Observation.subject.where(resolve() is
 * Patient)`, the subject references whose type is Patient.  A store keeps rows only for the
 * others and answers such a parameter from theirs (a fifth fewer rows for clinical data).
 *
 * The aliases are found from the expressions themselves, not listed by hand: a parameter P is
 * served by parameters Q1…Qn of its resource type and search type when the union terms of P's
 * expression are exactly the union terms of the Qs' (each term of a Q either as it is, or, for
 * a reference parameter, as `term.where(resolve() is Type)`, when the whole Q is taken with
 * that type filter).  Composites must also have the same components (expressions and types).
 * A term is compared as text, so only what is written the same way counts; the store's tests
 * check over every corpus example that the sources give exactly the values P's own expression
 * does.
 */
#define G_LOG_DOMAIN "charta-fhir"

#include <string.h>

#include "charta-search-index.h"

#define MAX_TERMS 16

typedef struct
{
  unsigned n_sources;
  ChartaIndexSource sources[CHARTA_MAX_INDEX_SOURCES];
} Alias;

static GHashTable *aliases;   /* ChartaSearchParamDef * → Alias * */

/* The top-level union terms of @expression (split on '|' outside parentheses and quotes,
 * trimmed, outer parentheses kept as written); 0 when there are too many. */
static unsigned
split_terms (const char *expression,
             char      **terms)
{
  unsigned n = 0, depth = 0;
  const char *start = expression;
  gboolean quoted = FALSE;

  for (const char *p = expression;; p++)
    {
      if (*p == '\0' || (*p == '|' && depth == 0 && !quoted))
        {
          if (n == MAX_TERMS)
            {
              for (unsigned i = 0; i < n; i++)
                g_free (terms[i]);
              return 0;
            }
          terms[n++] = g_strstrip (g_strndup (start, p - start));
          if (*p == '\0')
            break;
          start = p + 1;
          continue;
        }
      if (*p == '\\' && quoted && p[1] != '\0')
        p++;
      else if (*p == '\'')
        quoted = !quoted;
      else if (!quoted && *p == '(')
        depth++;
      else if (!quoted && *p == ')' && depth > 0)
        depth--;
    }
  return n;
}

static void
free_terms (char     **terms,
            unsigned   n)
{
  for (unsigned i = 0; i < n; i++)
    g_free (terms[i]);
}

/* "X.where(resolve() is Type)": X (newly allocated) and Type (the model's name), or NULL. */
static char *
split_type_filter (const char  *term,
                   const char **type)
{
  static const char marker[] = ".where(resolve() is ";
  const char *at = g_strrstr (term, marker);
  size_t length = strlen (term);
  g_autofree char *name = NULL;
  const ChartaTypeDef *def;

  if (at == NULL || length == 0 || term[length - 1] != ')')
    return NULL;
  name = g_strndup (at + strlen (marker), term + length - 1 - (at + strlen (marker)));
  def = charta_model_lookup_type (name);
  if (def == NULL || !charta_model_is_resource_type (name))
    return NULL;
  *type = def->name;
  return g_strndup (term, at - term);
}

static gboolean
same_components (const ChartaSearchParamDef *a,
                 const ChartaSearchParamDef *b)
{
  if (a->n_components != b->n_components || a->n_components == 0)
    return FALSE;
  for (unsigned c = 0; c < a->n_components; c++)
    {
      const ChartaSearchComponentDef *ca = &charta_model_search_components[a->first_component + c];
      const ChartaSearchComponentDef *cb = &charta_model_search_components[b->first_component + c];
      const ChartaSearchParamDef *da =
        charta_model_lookup_search_param_by_url (ca->definition, a->resource_type);
      const ChartaSearchParamDef *db =
        charta_model_lookup_search_param_by_url (cb->definition, b->resource_type);

      if (g_strcmp0 (ca->expression, cb->expression) != 0 || da == NULL || db == NULL
          || da->type != db->type)
        return FALSE;
    }
  return TRUE;
}

static gboolean
has_term (char       **terms,
          unsigned     n,
          const char  *term)
{
  for (unsigned i = 0; i < n; i++)
    if (strcmp (terms[i], term) == 0)
      return TRUE;
  return FALSE;
}

/* Whether every term of @q occurs in @p's terms (with the type filter @type appended when it
 * is not NULL). */
static gboolean
covers (char       **q_terms,
        unsigned     n_q,
        char       **p_terms,
        unsigned     n_p,
        const char  *type)
{
  for (unsigned i = 0; i < n_q; i++)
    {
      g_autofree char *term = type != NULL
                              ? g_strdup_printf ("%s.where(resolve() is %s)", q_terms[i], type)
                              : g_strdup (q_terms[i]);

      if (!has_term (p_terms, n_p, term))
        return FALSE;
    }
  return TRUE;
}

/* Whether @type is among the '|'-separated @targets (NULL: any). */
static gboolean
targets_include (const char *targets,
                 const char *type)
{
  g_auto(GStrv) names = NULL;

  if (targets == NULL)
    return TRUE;
  names = g_strsplit (targets, "|", -1);
  return g_strv_contains ((const char * const *) names, type);
}

static gboolean
can_serve (const ChartaSearchParamDef *p,
           const ChartaSearchParamDef *q)
{
  if (q == p || q->type != p->type || q->expression == NULL
      || strcmp (q->resource_type, p->resource_type) != 0)
    return FALSE;
  if (p->type == CHARTA_SEARCH_TYPE_COMPOSITE && !same_components (p, q))
    return FALSE;
  return TRUE;
}

/* The sources of @p among the parameters of its resource type [first, end), when it has
 * some; NULL otherwise. */
static Alias *
find_alias (const ChartaSearchParamDef *p,
            unsigned                    first,
            unsigned                    end)
{
  char *p_terms[MAX_TERMS];
  unsigned n_p = split_terms (p->expression, p_terms);
  gboolean covered[MAX_TERMS] = { FALSE };
  Alias alias = { 0 };
  gboolean ok = n_p > 0;

  for (unsigned t = 0; ok && t < n_p; t++)
    {
      if (covered[t])
        continue;
      for (unsigned i = first; i < end && !covered[t]; i++)
        {
          const ChartaSearchParamDef *q = &charta_model_search_params[i];
          char *q_terms[MAX_TERMS];
          unsigned n_q;
          g_autofree char *base = NULL;
          const char *type = NULL;

          if (!can_serve (p, q))
            continue;
          n_q = split_terms (q->expression, q_terms);
          /* The same terms: the one written first keeps its rows. */
          if (n_q == 0 || (n_q == n_p && q > p && covers (q_terms, n_q, p_terms, n_p, NULL)))
            {
              free_terms (q_terms, n_q);
              continue;
            }
          if (has_term (q_terms, n_q, p_terms[t]))
            type = NULL;
          else if (p->type == CHARTA_SEARCH_TYPE_REFERENCE
                   && (base = split_type_filter (p_terms[t], &type)) != NULL
                   && has_term (q_terms, n_q, base))
            ;
          else
            {
              free_terms (q_terms, n_q);
              continue;
            }
          /* A reference parameter keeps only references to its targets: the same targets,
           * or the filter's type among both's. */
          if (p->type == CHARTA_SEARCH_TYPE_REFERENCE
              && (type == NULL ? g_strcmp0 (p->targets, q->targets) != 0
                               : !targets_include (p->targets, type)
                                 || !targets_include (q->targets, type)))
            {
              free_terms (q_terms, n_q);
              continue;
            }
          if (covers (q_terms, n_q, p_terms, n_p, type)
              && alias.n_sources < CHARTA_MAX_INDEX_SOURCES)
            {
              alias.sources[alias.n_sources].param = q;
              alias.sources[alias.n_sources].target_type = type;
              alias.n_sources++;
              for (unsigned k = 0; k < n_q; k++)
                for (unsigned j = 0; j < n_p; j++)
                  {
                    g_autofree char *term = type != NULL
                      ? g_strdup_printf ("%s.where(resolve() is %s)", q_terms[k], type)
                      : g_strdup (q_terms[k]);

                    if (strcmp (p_terms[j], term) == 0)
                      covered[j] = TRUE;
                  }
            }
          free_terms (q_terms, n_q);
        }
      ok = covered[t];
    }
  free_terms (p_terms, n_p);
  if (!ok || alias.n_sources == 0)
    return NULL;
  return g_memdup2 (&alias, sizeof alias);
}

static gpointer
init_aliases (gpointer data)
{
  GHashTable *table = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  unsigned n = charta_model_n_search_params;
  unsigned first = 0;

  /* The rows are grouped by resource type. */
  while (first < n)
    {
      const char *type = charta_model_search_params[first].resource_type;
      unsigned end = first;

      while (end < n && strcmp (charta_model_search_params[end].resource_type, type) == 0)
        end++;
      if (strcmp (type, "Resource") != 0 && strcmp (type, "DomainResource") != 0)
        for (unsigned i = first; i < end; i++)
          {
            const ChartaSearchParamDef *p = &charta_model_search_params[i];
            Alias *alias;

            if (p->expression == NULL || p->type == CHARTA_SEARCH_TYPE_SPECIAL)
              continue;
            alias = find_alias (p, first, end);
            if (alias != NULL)
              g_hash_table_insert (table, (gpointer) p, alias);
          }
      first = end;
    }

  /* A source must keep its own rows: drop the aliases that lean on another alias. */
  {
    GHashTableIter iter;
    gpointer key, value;
    g_autoptr(GPtrArray) dropped = g_ptr_array_new ();

    g_hash_table_iter_init (&iter, table);
    while (g_hash_table_iter_next (&iter, &key, &value))
      {
        Alias *alias = value;

        for (unsigned i = 0; i < alias->n_sources; i++)
          if (g_hash_table_contains (table, alias->sources[i].param))
            {
              g_ptr_array_add (dropped, key);
              break;
            }
      }
    for (unsigned i = 0; i < dropped->len; i++)
      g_hash_table_remove (table, g_ptr_array_index (dropped, i));
  }
  aliases = table;
  return NULL;
}

static GHashTable *
get_aliases (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, init_aliases, NULL);
  return aliases;
}

unsigned
charta_search_param_get_sources (const ChartaSearchParamDef  *param,
                                 ChartaIndexSource           *sources)
{
  Alias *alias;

  g_return_val_if_fail (param != NULL, 0);
  g_return_val_if_fail (sources != NULL, 0);

  /* The resource's id and the version's time: columns of the store's own tables. */
  if (strcmp (param->resource_type, "Resource") == 0
      && (strcmp (param->code, "_id") == 0 || strcmp (param->code, "_lastUpdated") == 0))
    return 0;
  alias = g_hash_table_lookup (get_aliases (), param);
  if (alias != NULL)
    {
      memcpy (sources, alias->sources, alias->n_sources * sizeof *sources);
      return alias->n_sources;
    }
  if (param->expression == NULL || param->type == CHARTA_SEARCH_TYPE_SPECIAL)
    return 0;
  sources[0].param = param;
  sources[0].target_type = NULL;
  return 1;
}

gboolean
charta_search_param_is_stored (const ChartaSearchParamDef *param)
{
  ChartaIndexSource sources[CHARTA_MAX_INDEX_SOURCES];

  g_return_val_if_fail (param != NULL, FALSE);

  return charta_search_param_get_sources (param, sources) == 1 && sources[0].param == param;
}
