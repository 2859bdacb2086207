/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-search-sqlite.c: the search compiler of the SQLite engine.
 *
 * The one place a ChartaSearchQuery becomes SQL.  Every value of the query is bound; the SQL
 * text is made only of fixed fragments, table and column names chosen here, and '?'s.
 *
 * Each clause compiles to two forms:
 *  - a condition on one resource row (`r`): EXISTS over that resource's index rows, found by
 *    their rowid range (a resource's rows are [rid << 20, (rid + 1) << 20), see 0001; NOT
 *    INDEXED keeps SQLite from reading the parameter's rows of the whole store through the
 *    value index instead), so a condition costs a few row reads whatever the store's size;
 *  - where it can, the set of resources it matches: a SELECT of rids through the value index
 *    of the clause's table (pid, value…), usable to drive the query.
 * Before the query runs, the set of each clause is counted up to DRIVER_PROBE rows; the
 * smallest, when below that, drives (`r.rid IN (set)`), the other clauses being checked on
 * each of its resources.  Equalities are counted first, ranges last, and counting stops at a
 * set small enough (DRIVER_GOOD) or when a count grows costly (an unbounded range: "too
 * large").  Two clauses that a composite parameter indexes together (code and value-quantity)
 * also offer the composite's rows as a set, and so do several clauses on a date parameter
 * that date_stat (0003) says has one row per resource; date_stat's widest range also bounds
 * `low` for conditions on `high` alone.  When no set is that selective, the resources of the
 * type are walked in rid order (resource_by_type, 0002) and checked one by one, which stops as
 * soon as a page is full: a condition that matches half the store finds its first page at
 * once.
 *
 * Pages: matches are ordered by the _sort keys, then by rid (the order of creation), and a
 * page's cursor holds the last match's keys and rid: the next page starts strictly after it,
 * so a write made meanwhile never shifts or repeats a later page (a new resource has a larger
 * rid).  A cursor carries a digest of the query's conditions and sort, and is refused for
 * another query.
 *
 * Chains and _has are evaluated inside out: the resources a link (or a _has) matches are
 * collected first (materialize(), a JSON array read back with json_each()), so that the SQL of
 * each level stays flat (nested, three links already overflowed SQLite's parser).
 *
 * Parameters answered from other parameters' rows (charta_search_param_get_sources()) read
 * those rows; _id and _lastUpdated read the resource and version tables; _text and _content
 * the fts table.  The planner is steered where it guessed wrong on large stores: one
 * "pid IN (…)" rather than ORs of them, no "0 OR" before OR lists (it hides them from the
 * indexes), CROSS JOIN where the order matters.  Every search runs under a time limit
 * (a progress handler), past which it stops with CHARTA_STORE_ERROR_TIMEOUT.
 */
#define G_LOG_DOMAIN "charta-search"

#include <math.h>
#include <string.h>

#include "charta-store-sqlite-private.h"

#define DRIVER_PROBE 5000
/* A probe may run PROBE_BUDGET × PROBE_STEP SQLite instructions (about what counting
 * DRIVER_PROBE rows through an index range takes) and PROBE_USEC µs. */
#define PROBE_STEP 100
#define PROBE_BUDGET 2000
#define PROBE_USEC 2000
/* A driving set this small is not worth probing the other clauses to beat. */
#define DRIVER_GOOD 1000
#define MAX_INCLUDE_ROUNDS 8
/* The most resources _include and _revinclude bring to one page (beyond, the rest are left
 * out: an iterated wildcard include can reach most of a store). */
#define MAX_INCLUDED 1000
#define CURSOR_VERSION "c1"
/* a cursor to the page before a match (its keys and rid): the matches just before it */
#define CURSOR_BACKWARD "p1"

/* --- SQL with bound values ------------------------------------------------------------------ */

typedef enum
{
  BIND_NULL,
  BIND_INT,
  BIND_REAL,
  BIND_TEXT,
  BIND_BLOB,
} BindKind;

typedef struct
{
  BindKind kind;
  int64_t i;
  double d;
  char *text;     /* TEXT and BLOB (owned) */
  size_t length;  /* BLOB */
} Bind;

typedef struct
{
  GString *text;
  GArray *binds;  /* Bind */
} Sql;

static void
bind_clear (gpointer data)
{
  Bind *b = data;

  g_free (b->text);
}

static void
sql_init (Sql *q)
{
  q->text = g_string_new (NULL);
  q->binds = g_array_new (FALSE, TRUE, sizeof (Bind));
  g_array_set_clear_func (q->binds, bind_clear);
}

static void
sql_clear (Sql *q)
{
  if (q->text != NULL)
    g_string_free (q->text, TRUE);
  if (q->binds != NULL)
    g_array_unref (q->binds);
  q->text = NULL;
  q->binds = NULL;
}

static void
sql_add (Sql        *q,
         const char *text)
{
  g_string_append (q->text, text);
}

static void
sql_text (Sql        *q,
          const char *value)
{
  Bind b = { value != NULL ? BIND_TEXT : BIND_NULL, 0, 0, g_strdup (value), 0 };

  g_string_append_c (q->text, '?');
  g_array_append_val (q->binds, b);
}

static void
sql_int (Sql     *q,
         int64_t  value)
{
  Bind b = { BIND_INT, value, 0, NULL, 0 };

  g_string_append_c (q->text, '?');
  g_array_append_val (q->binds, b);
}

static void
sql_real (Sql    *q,
          double  value)
{
  Bind b = { isnan (value) ? BIND_NULL : BIND_REAL, 0, value, NULL, 0 };

  g_string_append_c (q->text, '?');
  g_array_append_val (q->binds, b);
}

static void
sql_bind_copy (Sql        *q,
               const Bind *from)
{
  Bind b = *from;

  b.text = from->kind == BIND_BLOB ? g_memdup2 (from->text, from->length)
                                   : g_strdup (from->text);
  g_string_append_c (q->text, '?');
  g_array_append_val (q->binds, b);
}

/* Appends @from (its text and its values) to @q. */
static void
sql_append (Sql       *q,
            const Sql *from)
{
  g_string_append_len (q->text, from->text->str, from->text->len);
  for (unsigned i = 0; i < from->binds->len; i++)
    {
      Bind b = g_array_index (from->binds, Bind, i);

      b.text = b.kind == BIND_BLOB ? g_memdup2 (b.text, b.length) : g_strdup (b.text);
      g_array_append_val (q->binds, b);
    }
}

static sqlite3_stmt *
sql_prepare (ChartaDb    *db,
             const Sql   *q,
             GError     **error)
{
  sqlite3 *handle = charta_db_get_handle (db);
  sqlite3_stmt *stmt = NULL;
  int rc;

  /* the text only: values are bound, never printed (G_MESSAGES_DEBUG=charta-search shows it,
   * on standard output); not even formatted otherwise, on this hot path */
  if (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
    g_debug ("search SQL: %s", q->text->str);
  rc = sqlite3_prepare_v2 (handle, q->text->str, (int) q->text->len, &stmt, NULL);

  if (rc != SQLITE_OK)
    {
      g_debug ("search SQL that failed to prepare: %s", q->text->str);
      charta_db_set_error (error, db, rc, "preparing a search");
      return NULL;
    }
  for (unsigned i = 0; i < q->binds->len; i++)
    {
      const Bind *b = &g_array_index (q->binds, Bind, i);
      int index = (int) i + 1;

      switch (b->kind)
        {
        case BIND_NULL:
          sqlite3_bind_null (stmt, index);
          break;
        case BIND_INT:
          sqlite3_bind_int64 (stmt, index, b->i);
          break;
        case BIND_REAL:
          sqlite3_bind_double (stmt, index, b->d);
          break;
        case BIND_TEXT:
          sqlite3_bind_text (stmt, index, b->text, -1, SQLITE_TRANSIENT);
          break;
        case BIND_BLOB:
          sqlite3_bind_blob64 (stmt, index, b->text, b->length, SQLITE_TRANSIENT);
          break;
        }
    }
  return stmt;
}

/* --- the compiler --------------------------------------------------------------------------- */

typedef struct
{
  ChartaDb *db;
  const ChartaSearchQuery *query;
  unsigned next_alias;
  GHashTable *materialized;   /* (clause, ids?) → JSON array text (see materialize()) */
  unsigned n_matches;         /* the page's matches, before _include adds to it */
  const int64_t *deadline;    /* the search's (monotonic time) */
} Compiler;

static const char *
table_of (ChartaSearchType type)
{
  switch (type)
    {
    case CHARTA_SEARCH_TYPE_STRING: return "idx_string";
    case CHARTA_SEARCH_TYPE_TOKEN: return "idx_token";
    case CHARTA_SEARCH_TYPE_DATE: return "idx_date";
    case CHARTA_SEARCH_TYPE_NUMBER: return "idx_number";
    case CHARTA_SEARCH_TYPE_QUANTITY: return "idx_quantity";
    case CHARTA_SEARCH_TYPE_REFERENCE: return "idx_reference";
    case CHARTA_SEARCH_TYPE_URI: return "idx_uri";
    case CHARTA_SEARCH_TYPE_COMPOSITE: return "idx_composite";
    default: return NULL;
    }
}

static char *
new_alias (Compiler   *c,
           const char *stem)
{
  return g_strdup_printf ("%s%u", stem, ++c->next_alias);
}

/* "x.rowid >= (r.rid << 20) AND x.rowid < ((r.rid + 1) << 20)": @x's rows of resource @r. */
static void
rows_of (Sql        *q,
         const char *x,
         const char *r)
{
  g_string_append_printf (q->text, "%s.rowid >= (%s.rid << %d) AND %s.rowid < ((%s.rid + 1) << %d)",
                          x, r, CHARTA_DB_ROWS_SHIFT, x, r, CHARTA_DB_ROWS_SHIFT);
}

/* "(SELECT tid FROM rtype WHERE name = ?)" */
static void
tid_of (Sql        *q,
        const char *type)
{
  sql_add (q, "(SELECT tid FROM rtype WHERE name = ");
  sql_text (q, type);
  sql_add (q, ")");
}

/* @x.pid is one of (@type, @code)'s; for a search of the whole store (@type NULL or a base
 * type), any type's. */
static void
pid_of (Sql        *q,
        const char *x,
        const char *type,
        const char *code)
{
  g_string_append_printf (q->text, "%s.pid IN (SELECT pid FROM param WHERE ", x);
  if (type != NULL && strcmp (type, "Resource") != 0 && strcmp (type, "DomainResource") != 0)
    {
      sql_add (q, "type = ");
      sql_text (q, type);
      sql_add (q, " AND ");
    }
  sql_add (q, "code = ");
  sql_text (q, code);
  sql_add (q, ")");
}

/* The rows of @param's values among @x's: its own, or its sources' (with their type filter).
 * FALSE when the store keeps none (_id, _lastUpdated, special parameters). */
static gboolean
param_rows (Sql                        *q,
            const char                 *x,
            const char                 *type,
            const ChartaSearchParamDef *param)
{
  ChartaIndexSource sources[CHARTA_MAX_INDEX_SOURCES];
  unsigned n = charta_search_param_get_sources (param, sources);
  gboolean same_filter = TRUE;

  if (n == 0)
    return FALSE;
  for (unsigned i = 1; i < n; i++)
    same_filter &= g_strcmp0 (sources[i].target_type, sources[0].target_type) == 0;
  if (same_filter)
    {
      /* one "pid IN (…)" that the value indexes can use, and the filter beside it */
      g_string_append_printf (q->text, "%s.pid IN (SELECT pid FROM param WHERE ", x);
      if (type != NULL && strcmp (type, "Resource") != 0 && strcmp (type, "DomainResource") != 0)
        {
          sql_add (q, "type = ");
          sql_text (q, type);
          sql_add (q, " AND ");
        }
      sql_add (q, "code IN (");
      for (unsigned i = 0; i < n; i++)
        {
          if (i > 0)
            sql_add (q, ", ");
          sql_text (q, sources[i].param->code);
        }
      sql_add (q, "))");
      if (sources[0].target_type != NULL)
        {
          g_string_append_printf (q->text, " AND %s.type = ", x);
          sql_text (q, sources[0].target_type);
        }
      return TRUE;
    }
  sql_add (q, "(");
  for (unsigned i = 0; i < n; i++)
    {
      if (i > 0)
        sql_add (q, " OR ");
      sql_add (q, "(");
      pid_of (q, x, type, sources[i].param->code);
      if (sources[i].target_type != NULL)
        {
          g_string_append_printf (q->text, " AND %s.type = ", x);
          sql_text (q, sources[i].target_type);
        }
      sql_add (q, ")");
    }
  sql_add (q, ")");
  return TRUE;
}

/* A value of @text (NUL-terminated UTF-8) and everything that starts with it:
 * [@text, @text + "\xff") in binary order ("\xff" never occurs in UTF-8). */
static void
prefix_range (Sql        *q,
              const char *column,
              const char *text)
{
  g_autofree char *high = g_strconcat (text, "\xff", NULL);

  g_string_append_printf (q->text, "(%s >= ", column);
  sql_text (q, text);
  g_string_append_printf (q->text, " AND %s < ", column);
  sql_text (q, high);
  sql_add (q, ")");
}

/* Range comparisons of FHIR search (search.html, "prefixes"): the parameter's range [@pl, @ph]
 * against the resource's [lo, hi] (columns @lo and @hi). */
static void
range_cond_int (Sql                *q,
                const char         *lo,
                const char         *hi,
                ChartaSearchPrefix  prefix,
                int64_t             pl,
                int64_t             ph)
{
  switch (prefix)
    {
    case CHARTA_SEARCH_PREFIX_EQ:
      /* (lo <= hi: "lo <= ph" adds nothing but an upper bound for the index on lo) */
      g_string_append_printf (q->text, "(%s >= ", lo);
      sql_int (q, pl);
      g_string_append_printf (q->text, " AND %s <= ", lo);
      sql_int (q, ph);
      g_string_append_printf (q->text, " AND %s <= ", hi);
      sql_int (q, ph);
      sql_add (q, ")");
      break;
    case CHARTA_SEARCH_PREFIX_NE:
      g_string_append_printf (q->text, "(%s < ", lo);
      sql_int (q, pl);
      g_string_append_printf (q->text, " OR %s > ", hi);
      sql_int (q, ph);
      sql_add (q, ")");
      break;
    case CHARTA_SEARCH_PREFIX_GT:
      g_string_append_printf (q->text, "%s > ", hi);
      sql_int (q, ph);
      break;
    case CHARTA_SEARCH_PREFIX_LT:
      g_string_append_printf (q->text, "%s < ", lo);
      sql_int (q, pl);
      break;
    case CHARTA_SEARCH_PREFIX_GE:
      /* gt, or the parameter's range contains the resource's */
      g_string_append_printf (q->text, "(%s > ", hi);
      sql_int (q, ph);
      g_string_append_printf (q->text, " OR (%s >= ", lo);
      sql_int (q, pl);
      g_string_append_printf (q->text, " AND %s <= ", hi);
      sql_int (q, ph);
      sql_add (q, "))");
      break;
    case CHARTA_SEARCH_PREFIX_LE:
      g_string_append_printf (q->text, "(%s <= ", lo);
      sql_int (q, ph);
      g_string_append_printf (q->text, " AND (%s < ", lo);
      sql_int (q, pl);
      g_string_append_printf (q->text, " OR (%s >= ", lo);
      sql_int (q, pl);
      g_string_append_printf (q->text, " AND %s <= ", hi);
      sql_int (q, ph);
      sql_add (q, ")))");
      break;
    case CHARTA_SEARCH_PREFIX_SA:
      g_string_append_printf (q->text, "%s > ", lo);
      sql_int (q, ph);
      break;
    case CHARTA_SEARCH_PREFIX_EB:
      g_string_append_printf (q->text, "(%s < ", lo);
      sql_int (q, pl);
      g_string_append_printf (q->text, " AND %s < ", hi);
      sql_int (q, pl);
      sql_add (q, ")");
      break;
    case CHARTA_SEARCH_PREFIX_AP:
      {
        /* Approximately: the ranges overlap once the parameter's is widened by 10% of its
         * distance from now (at least a day). */
        int64_t now = g_get_real_time ();
        int64_t mid = pl / 2 + ph / 2;
        int64_t slack = (int64_t) (llabs (now - mid) / 10);

        slack = MAX (slack, G_GINT64_CONSTANT (86400000000));
        g_string_append_printf (q->text, "(%s <= ", lo);
        sql_int (q, ph > G_MAXINT64 - slack ? G_MAXINT64 : ph + slack);
        g_string_append_printf (q->text, " AND %s >= ", hi);
        sql_int (q, pl < G_MININT64 + slack ? G_MININT64 : pl - slack);
        sql_add (q, ")");
      }
      break;
    }
}

/* Number comparisons: the resource's value @col against the parameter's value @v, whose
 * precision gives [@pl, @ph) for eq and ne (search.html: "eq100" matches 99.5 ≤ x < 100.5). */
static void
number_cond (Sql                *q,
             const char         *col,
             ChartaSearchPrefix  prefix,
             double              v,
             double              pl,
             double              ph)
{
  const char *op = NULL;

  switch (prefix)
    {
    case CHARTA_SEARCH_PREFIX_EQ:
      /* (the value itself too: with 17 significant digits the range is below a double's
       * resolution and may come out empty) */
      g_string_append_printf (q->text, "((%s >= ", col);
      sql_real (q, pl);
      g_string_append_printf (q->text, " AND %s < ", col);
      sql_real (q, ph);
      g_string_append_printf (q->text, ") OR %s = ", col);
      sql_real (q, v);
      sql_add (q, ")");
      return;
    case CHARTA_SEARCH_PREFIX_NE:
      g_string_append_printf (q->text, "((%s < ", col);
      sql_real (q, pl);
      g_string_append_printf (q->text, " OR %s >= ", col);
      sql_real (q, ph);
      g_string_append_printf (q->text, ") AND %s != ", col);
      sql_real (q, v);
      sql_add (q, ")");
      return;
    case CHARTA_SEARCH_PREFIX_AP:
      {
        double slack = fabs (v) / 10;

        g_string_append_printf (q->text, "(%s >= ", col);
        sql_real (q, v - slack);
        g_string_append_printf (q->text, " AND %s <= ", col);
        sql_real (q, v + slack);
        sql_add (q, ")");
      }
      return;
    case CHARTA_SEARCH_PREFIX_GT:
    case CHARTA_SEARCH_PREFIX_SA:
      op = ">";
      break;
    case CHARTA_SEARCH_PREFIX_LT:
    case CHARTA_SEARCH_PREFIX_EB:
      op = "<";
      break;
    case CHARTA_SEARCH_PREFIX_GE:
      op = ">=";
      break;
    case CHARTA_SEARCH_PREFIX_LE:
      op = "<=";
      break;
    }
  g_string_append_printf (q->text, "%s %s ", col, op);
  sql_real (q, v);
}


/* --- terminology: value sets and code systems the store holds ----------------------------- */

typedef struct
{
  char *system;          /* NULL: any */
  char *code;            /* NULL: any code of @system */
  gboolean from_model;   /* from a value set of the R4 model */
} TermCode;

static void
term_code_free (TermCode *code)
{
  g_free (code->system);
  g_free (code->code);
  g_free (code);
}

static void
add_code (GPtrArray  *codes,
          const char *system,
          const char *code,
          gboolean    from_model)
{
  TermCode *t = g_new0 (TermCode, 1);

  t->system = g_strdup (system);
  t->code = g_strdup (code);
  t->from_model = from_model;
  g_ptr_array_add (codes, t);
}

/* The current @type (ValueSet, CodeSystem) of the store whose url is @url ("url|version" too),
 * parsed; NULL without error when there is none. */
static JsonNode *
load_by_url (ChartaDb    *db,
             const char  *type,
             const char  *url,
             GError     **error)
{
  g_autofree char *plain = NULL;
  g_autoptr(JsonParser) parser = NULL;
  const char *bar = strchr (url, '|');
  sqlite3_stmt *stmt;
  JsonNode *root = NULL;
  Sql q;
  int rc;

  if (bar != NULL)
    url = plain = g_strndup (url, (size_t) (bar - url));
  sql_init (&q);
  sql_add (&q, "SELECT v.body FROM idx_uri x JOIN resource r ON r.rid = x.rid"
               " JOIN version v ON v.rid = r.rid AND v.version = r.version"
               " WHERE r.deleted = 0 AND ");
  /* (CodeSystem's url is answered from its system parameter's rows) */
  if (!param_rows (&q, "x", type, charta_model_lookup_search_param (type, "url")))
    sql_add (&q, "0");
  sql_add (&q, " AND x.uri = ");
  sql_text (&q, url);
  sql_add (&q, " ORDER BY r.rid DESC LIMIT 1");
  stmt = sql_prepare (db, &q, error);
  sql_clear (&q);
  if (stmt == NULL)
    return NULL;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      parser = json_parser_new ();
      if (json_parser_load_from_data (parser, sqlite3_column_blob (stmt, 0),
                                      sqlite3_column_bytes (stmt, 0), NULL))
        root = json_node_copy (json_parser_get_root (parser));
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      charta_db_set_error (error, db, rc, "reading terminology");
      return NULL;
    }
  return root;
}

static const char *
str_member (JsonObject *o,
            const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
         ? json_node_get_string (n) : NULL;
}

static JsonArray *
array_member (JsonObject *o,
              const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

/* CodeSystem.concept trees: every code under @concepts (and the nested ones). */
static void
add_concepts (GPtrArray  *codes,
              const char *system,
              JsonArray  *concepts,
              unsigned    depth)
{
  for (unsigned i = 0; concepts != NULL && depth < 64 && i < json_array_get_length (concepts); i++)
    {
      JsonNode *node = json_array_get_element (concepts, i);
      JsonObject *concept;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      concept = json_node_get_object (node);
      if (str_member (concept, "code") != NULL)
        add_code (codes, system, str_member (concept, "code"), FALSE);
      add_concepts (codes, system, array_member (concept, "concept"), depth + 1);
    }
}

/* ValueSet.expansion.contains, nested. */
static void
add_contains (GPtrArray *codes,
              JsonArray *contains,
              unsigned   depth)
{
  for (unsigned i = 0; contains != NULL && depth < 64 && i < json_array_get_length (contains); i++)
    {
      JsonNode *node = json_array_get_element (contains, i);
      JsonObject *item;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      item = json_node_get_object (node);
      if (str_member (item, "code") != NULL)
        add_code (codes, str_member (item, "system"), str_member (item, "code"), FALSE);
      add_contains (codes, array_member (item, "contains"), depth + 1);
    }
}

static gboolean collect_value_set (Compiler                 *c,
                                   const ChartaSearchClause *clause,
                                   const char               *url,
                                   GPtrArray                *codes,
                                   unsigned                  depth,
                                   GError                  **error);

static gboolean
unsupported_value_set (const ChartaSearchClause  *clause,
                       const char                *url,
                       const char                *why,
                       GError                   **error)
{
  g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_UNSUPPORTED,
               "%s: the value set “%s” %s", clause->name, url, why);
  return FALSE;
}

/* The codes of the value set @url: the model's (required bindings of R4), or a ValueSet in the
 * store (its expansion, or its compose: listed concepts, whole code systems, other value sets;
 * filters are not supported). */
static gboolean
collect_value_set (Compiler                 *c,
                   const ChartaSearchClause *clause,
                   const char               *url,
                   GPtrArray                *codes,
                   unsigned                  depth,
                   GError                  **error)
{
  const ChartaValueSetDef *vs = charta_model_lookup_value_set (url);
  g_autoptr(JsonNode) root = NULL;
  JsonObject *o, *expansion, *compose;
  JsonArray *includes;

  if (depth > 8)
    return unsupported_value_set (clause, url, "includes value sets too deeply", error);
  if (vs != NULL)
    {
      for (uint32_t i = 0; i < vs->n_codes; i++)
        {
          const ChartaCodeDef *code = &charta_model_codes[vs->first_code + i];

          add_code (codes, code->system, code->code, TRUE);
        }
      return TRUE;
    }
  root = load_by_url (c->db, "ValueSet", url, error);
  if (root == NULL)
    {
      if (error != NULL && *error != NULL)
        return FALSE;
      return unsupported_value_set (clause, url, "is not known to this store", error);
    }
  o = json_node_get_object (root);
  expansion = json_object_get_member (o, "expansion") != NULL
              && JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "expansion"))
              ? json_object_get_object_member (o, "expansion") : NULL;
  if (expansion != NULL && array_member (expansion, "contains") != NULL)
    {
      add_contains (codes, array_member (expansion, "contains"), 0);
      return TRUE;
    }
  compose = json_object_get_member (o, "compose") != NULL
            && JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "compose"))
            ? json_object_get_object_member (o, "compose") : NULL;
  if (compose == NULL)
    return unsupported_value_set (clause, url, "has neither an expansion nor a compose", error);
  if (array_member (compose, "exclude") != NULL)
    return unsupported_value_set (clause, url, "excludes codes (not supported)", error);
  includes = array_member (compose, "include");
  for (unsigned i = 0; includes != NULL && i < json_array_get_length (includes); i++)
    {
      JsonNode *node = json_array_get_element (includes, i);
      JsonObject *include;
      const char *system;
      JsonArray *concepts, *value_sets;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      include = json_node_get_object (node);
      system = str_member (include, "system");
      concepts = array_member (include, "concept");
      value_sets = array_member (include, "valueSet");
      if (array_member (include, "filter") != NULL)
        return unsupported_value_set (clause, url, "selects codes by filter (not supported)",
                                      error);
      for (unsigned k = 0; value_sets != NULL && k < json_array_get_length (value_sets); k++)
        {
          JsonNode *vs_node = json_array_get_element (value_sets, k);

          if (JSON_NODE_HOLDS_VALUE (vs_node)
              && !collect_value_set (c, clause, json_node_get_string (vs_node), codes,
                                     depth + 1, error))
            return FALSE;
        }
      if (concepts != NULL)
        {
          for (unsigned k = 0; k < json_array_get_length (concepts); k++)
            {
              JsonNode *cn = json_array_get_element (concepts, k);

              if (JSON_NODE_HOLDS_OBJECT (cn)
                  && str_member (json_node_get_object (cn), "code") != NULL)
                add_code (codes, system, str_member (json_node_get_object (cn), "code"), FALSE);
            }
        }
      else if (system != NULL && value_sets == NULL)
        {
          /* a whole code system: its codes when the store has it, else any code of it */
          g_autoptr(JsonNode) cs = load_by_url (c->db, "CodeSystem", system, error);

          if (cs == NULL && error != NULL && *error != NULL)
            return FALSE;
          if (cs != NULL && array_member (json_node_get_object (cs), "concept") != NULL)
            add_concepts (codes, system, array_member (json_node_get_object (cs), "concept"), 0);
          else
            add_code (codes, system, NULL, FALSE);
        }
    }
  return TRUE;
}

static GPtrArray *
value_set_codes (Compiler                 *c,
                 const ChartaSearchClause *clause,
                 const char               *url,
                 GError                  **error)
{
  g_autoptr(GPtrArray) codes = g_ptr_array_new_with_free_func ((GDestroyNotify) term_code_free);

  if (!collect_value_set (c, clause, url, codes, 0, error))
    return NULL;
  return g_steal_pointer (&codes);
}

/* Finds @code among @concepts; fills @path with the concepts from the top down to it. */
static JsonObject *
find_concept (JsonArray  *concepts,
              const char *code,
              GPtrArray  *path,
              unsigned    depth)
{
  for (unsigned i = 0; concepts != NULL && depth < 64 && i < json_array_get_length (concepts); i++)
    {
      JsonNode *node = json_array_get_element (concepts, i);
      JsonObject *concept, *found;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      concept = json_node_get_object (node);
      g_ptr_array_add (path, concept);
      if (g_strcmp0 (str_member (concept, "code"), code) == 0)
        return concept;
      found = find_concept (array_member (concept, "concept"), code, path, depth + 1);
      if (found != NULL)
        return found;
      g_ptr_array_remove_index (path, path->len - 1);
    }
  return NULL;
}

/* :below (the code and every code under it) and :above (the code and those above it), from
 * the hierarchy of a CodeSystem in the store. */
static GPtrArray *
subsumed_codes (Compiler                 *c,
                const ChartaSearchClause *clause,
                const ChartaSearchValue  *v,
                GError                  **error)
{
  g_autoptr(GPtrArray) codes = g_ptr_array_new_with_free_func ((GDestroyNotify) term_code_free);
  g_autoptr(GPtrArray) path = g_ptr_array_new ();
  g_autoptr(JsonNode) cs = NULL;
  const char *which = clause->modifier == CHARTA_SEARCH_MODIFIER_ABOVE ? "above" : "below";
  JsonObject *concept;

  if (v->system == NULL || *v->system == '\0' || v->code == NULL)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "%s:%s: “%s” needs a system and a code (system|code)", clause->name, which,
                   v->text);
      return NULL;
    }
  cs = load_by_url (c->db, "CodeSystem", v->system, error);
  if (cs == NULL)
    {
      if (error == NULL || *error == NULL)
        g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_UNSUPPORTED,
                     "%s:%s: the code system “%s” is not in this store", clause->name, which,
                     v->system);
      return NULL;
    }
  concept = find_concept (array_member (json_node_get_object (cs), "concept"), v->code, path, 0);
  if (concept == NULL)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "%s:%s: the code system “%s” has no code “%s”", clause->name, which,
                   v->system, v->code);
      return NULL;
    }
  if (clause->modifier == CHARTA_SEARCH_MODIFIER_BELOW)
    {
      add_code (codes, v->system, v->code, FALSE);
      add_concepts (codes, v->system, array_member (concept, "concept"), 0);
    }
  else
    for (unsigned i = 0; i < path->len; i++)
      add_code (codes, v->system, str_member (g_ptr_array_index (path, i), "code"), FALSE);
  return g_steal_pointer (&codes);
}

static gboolean
token_cond (Compiler                 *c,
            Sql                      *q,
            const char               *x,
            const ChartaSearchClause *clause,
            const ChartaSearchValue  *v,
            GError                  **error)
{
  g_autofree char *col_system = g_strdup_printf ("%s.system", x);
  g_autofree char *col_code = g_strdup_printf ("%s.code", x);

  switch (clause->modifier)
    {
    case CHARTA_SEARCH_MODIFIER_TEXT:
      g_string_append_printf (q->text, "charta_normalize (%s.display) GLOB ", x);
      {
        GString *pattern = g_string_new (NULL);

        for (const char *p = v->normalized != NULL ? v->normalized : ""; *p != '\0'; p++)
          {
            if (*p == '*' || *p == '?' || *p == '[')
              g_string_append_printf (pattern, "[%c]", *p);
            else
              g_string_append_c (pattern, *p);
          }
        g_string_append_c (pattern, '*');
        sql_text (q, pattern->str);
        g_string_free (pattern, TRUE);
      }
      return TRUE;
    case CHARTA_SEARCH_MODIFIER_OF_TYPE:
      g_string_append_printf (q->text, "(%s.type_system IS ", x);
      sql_text (q, v->type_system);
      g_string_append_printf (q->text, " AND %s.type_code = ", x);
      sql_text (q, v->type_code);
      g_string_append_printf (q->text, " AND %s.code = ", x);
      sql_text (q, v->code);
      sql_add (q, ")");
      return TRUE;
    case CHARTA_SEARCH_MODIFIER_IN:
    case CHARTA_SEARCH_MODIFIER_NOT_IN:
    case CHARTA_SEARCH_MODIFIER_ABOVE:
    case CHARTA_SEARCH_MODIFIER_BELOW:
      {
        g_autoptr(GPtrArray) codes = NULL;

        if (clause->modifier == CHARTA_SEARCH_MODIFIER_IN
            || clause->modifier == CHARTA_SEARCH_MODIFIER_NOT_IN)
          codes = value_set_codes (c, clause, v->text, error);
        else
          codes = subsumed_codes (c, clause, v, error);
        if (codes == NULL)
          return FALSE;
        if (codes->len == 0)
          {
            sql_add (q, "0");
            return TRUE;
          }
        /* (no "0 OR" first: it would hide the codes from the value index) */
        sql_add (q, "(");
        for (unsigned i = 0; i < codes->len; i++)
          {
            const TermCode *code = g_ptr_array_index (codes, i);

            sql_add (q, i > 0 ? " OR (" : "(");
            if (code->code != NULL)
              {
                g_string_append_printf (q->text, "%s = ", col_code);
                sql_text (q, code->code);
              }
            else
              sql_add (q, "1");
            if (code->system != NULL)
              {
                /* a code of the model's value sets may be stored without its system */
                if (code->code != NULL && code->from_model)
                  g_string_append_printf (q->text, " AND (%s IS NULL OR %s = ", col_system,
                                          col_system);
                else
                  g_string_append_printf (q->text, " AND (%s = ", col_system);
                sql_text (q, code->system);
                sql_add (q, ")");
              }
            sql_add (q, ")");
          }
        sql_add (q, ")");
      }
      return TRUE;
    default:
      break;
    }

  /* code, system|code, |code, system| */
  sql_add (q, "(");
  if (v->code != NULL)
    {
      g_string_append_printf (q->text, "%s = ", col_code);
      sql_text (q, v->code);
    }
  else
    sql_add (q, "1");
  if (v->system != NULL && *v->system == '\0')
    g_string_append_printf (q->text, " AND %s IS NULL", col_system);
  else if (v->system != NULL)
    {
      g_string_append_printf (q->text, " AND %s = ", col_system);
      sql_text (q, v->system);
    }
  sql_add (q, ")");
  return TRUE;
}

static void
reference_cond (Sql                      *q,
                const char               *x,
                const ChartaSearchClause *clause,
                const ChartaSearchValue  *v)
{
  const char *type = v->ref_type != NULL ? v->ref_type : clause->target_type;

  if (clause->modifier == CHARTA_SEARCH_MODIFIER_IDENTIFIER)
    {
      sql_add (q, "(");
      g_string_append_printf (q->text, "%s.value = ", x);
      sql_text (q, v->code);
      if (v->system != NULL && *v->system != '\0')
        {
          g_string_append_printf (q->text, " AND %s.system = ", x);
          sql_text (q, v->system);
        }
      else if (v->system != NULL)
        g_string_append_printf (q->text, " AND %s.system IS NULL", x);
      sql_add (q, ")");
      return;
    }
  sql_add (q, "(");
  if (v->ref_url != NULL)
    {
      /* an absolute url (or canonical) matches as written */
      g_string_append_printf (q->text, "%s.url = ", x);
      sql_text (q, v->ref_url);
      if (v->ref_version != NULL)
        {
          g_string_append_printf (q->text, " AND %s.version = ", x);
          sql_text (q, v->ref_version);
        }
    }
  else if (v->ref_id != NULL)
    {
      g_string_append_printf (q->text, "%s.id = ", x);
      sql_text (q, v->ref_id);
      if (type != NULL)
        {
          g_string_append_printf (q->text, " AND %s.type = ", x);
          sql_text (q, type);
        }
      if (v->ref_version != NULL)
        {
          g_string_append_printf (q->text, " AND %s.version = ", x);
          sql_text (q, v->ref_version);
        }
    }
  else
    sql_add (q, "0");
  sql_add (q, ")");
}

/* One component of a composite value against slot @k of @x (a, b, lo, hi). */
static gboolean
component_cond (Sql                      *q,
                const char               *x,
                unsigned                  k,
                ChartaSearchType          type,
                const ChartaSearchValue  *v)
{
  g_autofree char *a = g_strdup_printf ("%s.c%u_a", x, k + 1);
  g_autofree char *b = g_strdup_printf ("%s.c%u_b", x, k + 1);
  g_autofree char *lo = g_strdup_printf ("%s.c%u_lo", x, k + 1);
  g_autofree char *hi = g_strdup_printf ("%s.c%u_hi", x, k + 1);

  switch (type)
    {
    case CHARTA_SEARCH_TYPE_TOKEN:
      sql_add (q, "(");
      if (v->code != NULL)
        {
          g_string_append_printf (q->text, "%s = ", b);
          sql_text (q, v->code);
        }
      else
        sql_add (q, "1");
      if (v->system != NULL && *v->system == '\0')
        g_string_append_printf (q->text, " AND %s IS NULL", a);
      else if (v->system != NULL)
        {
          g_string_append_printf (q->text, " AND %s = ", a);
          sql_text (q, v->system);
        }
      sql_add (q, ")");
      return TRUE;
    case CHARTA_SEARCH_TYPE_STRING:
      prefix_range (q, a, v->normalized != NULL ? v->normalized : "");
      return TRUE;
    case CHARTA_SEARCH_TYPE_URI:
      g_string_append_printf (q->text, "%s = ", a);
      sql_text (q, v->text);
      return TRUE;
    case CHARTA_SEARCH_TYPE_REFERENCE:
      g_string_append_printf (q->text, "(%s = ", b);
      sql_text (q, v->ref_id);
      if (v->ref_type != NULL)
        {
          g_string_append_printf (q->text, " AND %s = ", a);
          sql_text (q, v->ref_type);
        }
      sql_add (q, ")");
      return TRUE;
    case CHARTA_SEARCH_TYPE_DATE:
      range_cond_int (q, lo, hi, v->prefix, v->date_low, v->date_high);
      return TRUE;
    case CHARTA_SEARCH_TYPE_NUMBER:
    case CHARTA_SEARCH_TYPE_QUANTITY:
      {
        /* The slot keeps the value in lo (and hi) */
        sql_add (q, "(");
        number_cond (q, lo, v->prefix, v->number, v->number_low, v->number_high);
        if (type == CHARTA_SEARCH_TYPE_QUANTITY && v->unit_code != NULL)
          {
            g_string_append_printf (q->text, " AND %s = ", b);
            sql_text (q, v->unit_code);
            if (v->unit_system != NULL)
              {
                g_string_append_printf (q->text, " AND %s = ", a);
                sql_text (q, v->unit_system);
              }
          }
        sql_add (q, ")");
      }
      return TRUE;
    default:
      return FALSE;
    }
}

/* The condition one value puts on a row @x of the clause's table. */
static gboolean
value_cond (Compiler                 *c,
            Sql                      *q,
            const char               *x,
            const ChartaSearchClause *clause,
            const ChartaSearchValue  *v,
            GError                  **error)
{
  const ChartaSearchParamDef *param = clause->param;
  g_autofree char *col = NULL;

  switch (param->type)
    {
    case CHARTA_SEARCH_TYPE_STRING:
      if (clause->modifier == CHARTA_SEARCH_MODIFIER_EXACT)
        {
          g_string_append_printf (q->text, "%s.text = ", x);
          sql_text (q, v->text);
        }
      else if (clause->modifier == CHARTA_SEARCH_MODIFIER_CONTAINS)
        {
          g_string_append_printf (q->text, "instr (%s.norm, ", x);
          sql_text (q, v->normalized != NULL ? v->normalized : "");
          sql_add (q, ") > 0");
        }
      else
        {
          col = g_strdup_printf ("%s.norm", x);
          prefix_range (q, col, v->normalized != NULL ? v->normalized : "");
        }
      return TRUE;
    case CHARTA_SEARCH_TYPE_TOKEN:
      return token_cond (c, q, x, clause, v, error);
    case CHARTA_SEARCH_TYPE_DATE:
      {
        g_autofree char *lo = g_strdup_printf ("%s.low", x);
        g_autofree char *hi = g_strdup_printf ("%s.high", x);

        range_cond_int (q, lo, hi, v->prefix, v->date_low, v->date_high);
      }
      return TRUE;
    case CHARTA_SEARCH_TYPE_NUMBER:
      col = g_strdup_printf ("%s.value", x);
      number_cond (q, col, v->prefix, v->number, v->number_low, v->number_high);
      return TRUE;
    case CHARTA_SEARCH_TYPE_QUANTITY:
      col = g_strdup_printf ("%s.value", x);
      sql_add (q, "(");
      number_cond (q, col, v->prefix, v->number, v->number_low, v->number_high);
      if (v->unit_code != NULL && v->unit_system != NULL)
        {
          g_string_append_printf (q->text, " AND %s.system = ", x);
          sql_text (q, v->unit_system);
          g_string_append_printf (q->text, " AND %s.code = ", x);
          sql_text (q, v->unit_code);
        }
      else if (v->unit_code != NULL)
        {
          g_string_append_printf (q->text, " AND (%s.code = ", x);
          sql_text (q, v->unit_code);
          g_string_append_printf (q->text, " OR %s.unit = ", x);
          sql_text (q, v->unit_code);
          sql_add (q, ")");
        }
      sql_add (q, ")");
      return TRUE;
    case CHARTA_SEARCH_TYPE_REFERENCE:
      reference_cond (q, x, clause, v);
      return TRUE;
    case CHARTA_SEARCH_TYPE_URI:
      if (clause->modifier == CHARTA_SEARCH_MODIFIER_BELOW)
        {
          col = g_strdup_printf ("%s.uri", x);
          prefix_range (q, col, v->text);
        }
      else if (clause->modifier == CHARTA_SEARCH_MODIFIER_ABOVE)
        {
          /* the stored uri is a prefix of the value */
          g_string_append_printf (q->text, "(%s.uri <= ", x);
          sql_text (q, v->text);
          g_string_append_printf (q->text, " AND substr (");
          sql_text (q, v->text);
          g_string_append_printf (q->text, ", 1, length (%s.uri)) = %s.uri)", x, x);
        }
      else if (clause->modifier == CHARTA_SEARCH_MODIFIER_CONTAINS)
        {
          g_string_append_printf (q->text, "instr (%s.uri, ", x);
          sql_text (q, v->text);
          sql_add (q, ") > 0");
        }
      else
        {
          g_string_append_printf (q->text, "%s.uri = ", x);
          sql_text (q, v->text);
        }
      return TRUE;
    case CHARTA_SEARCH_TYPE_COMPOSITE:
      sql_add (q, "(1");
      for (unsigned k = 0; v->components != NULL && k < v->components->len; k++)
        {
          const ChartaSearchComponentDef *comp =
            &charta_model_search_components[param->first_component + k];
          const ChartaSearchParamDef *def =
            charta_model_lookup_search_param_by_url (comp->definition, param->resource_type);

          if (k >= 3 || def == NULL)
            {
              g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_UNSUPPORTED,
                           "%s: composites of more than three components are not indexed",
                           clause->name);
              return FALSE;
            }
          sql_add (q, " AND ");
          if (!component_cond (q, x, k, def->type, g_ptr_array_index (v->components, k)))
            {
              g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_UNSUPPORTED,
                           "%s: its component %u cannot be searched", clause->name, k + 1);
              return FALSE;
            }
        }
      sql_add (q, ")");
      return TRUE;
    default:
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_UNSUPPORTED,
                   "%s: a parameter of this kind cannot be searched", clause->name);
      return FALSE;
    }
}

/* "(value 1 OR value 2 …)": a row @x of the clause's table matches one of its values. */
static gboolean
values_cond (Compiler                 *c,
             Sql                      *q,
             const char               *x,
             const ChartaSearchClause *clause,
             GError                  **error)
{
  sql_add (q, "(");
  for (unsigned i = 0; i < clause->values->len; i++)
    {
      if (i > 0)
        sql_add (q, " OR ");
      if (!value_cond (c, q, x, clause, g_ptr_array_index (clause->values, i), error))
        return FALSE;
    }
  sql_add (q, ")");
  return TRUE;
}

/* --- date statistics (0003) ------------------------------------------------------------------ */

/* date_stat's bounds on the rows of @clause's parameter: the most rows a resource has, the
 * widest range (both 0 when it has no rows). */
static gboolean
date_stat (Compiler                 *c,
           const ChartaSearchClause *clause,
           int64_t                  *max_rows,
           int64_t                  *max_span)
{
  sqlite3_stmt *stmt;
  gboolean ok = FALSE;
  Sql q;

  *max_rows = G_MAXINT64;
  *max_span = G_MAXINT64;
  sql_init (&q);
  sql_add (&q, "SELECT ifnull (max (d.max_rows), 0), ifnull (max (d.max_span), 0)"
               " FROM date_stat d WHERE ");
  if (param_rows (&q, "d", clause->resource_type, clause->param)
      && (stmt = sql_prepare (c->db, &q, NULL)) != NULL)
    {
      if (sqlite3_step (stmt) == SQLITE_ROW)
        {
          *max_rows = sqlite3_column_int64 (stmt, 0);
          *max_span = sqlite3_column_int64 (stmt, 1);
          ok = TRUE;
        }
      sqlite3_finalize (stmt);
    }
  sql_clear (&q);
  return ok;
}

static int64_t
saturating_sub (int64_t a,
                int64_t b)
{
  return (b > 0 && a < G_MININT64 + b) ? G_MININT64 : a - b;
}

/* A lower bound on `low` that every row matching @v has, given the rows' widest range
 * @max_span: a condition on `high` alone ("gt2018": high > 2018) then also reads as a range of
 * the value index (pid, low, high).  FALSE when the prefix bounds nothing from below. */
static gboolean
date_low_bound (const ChartaSearchValue *v,
                int64_t                  max_span,
                int64_t                 *bound)
{
  /* (the largest span stands for any wider one: a period open at its start) */
  if (max_span == G_MAXINT64
      && (v->prefix == CHARTA_SEARCH_PREFIX_GT || v->prefix == CHARTA_SEARCH_PREFIX_GE))
    return FALSE;
  switch (v->prefix)
    {
    case CHARTA_SEARCH_PREFIX_EQ:
      *bound = v->date_low;
      return TRUE;
    case CHARTA_SEARCH_PREFIX_SA:
      *bound = v->date_high;
      return TRUE;
    case CHARTA_SEARCH_PREFIX_GT:
      /* high > ph and low >= high - span */
      *bound = saturating_sub (v->date_high, max_span);
      return TRUE;
    case CHARTA_SEARCH_PREFIX_GE:
      /* high > ph, or low >= pl: either way high >= pl */
      *bound = saturating_sub (v->date_low, max_span);
      return TRUE;
    default:
      return FALSE;
    }
}

/* The lower bound on `low` of the rows that match @clause (any of its values). */
static gboolean
clause_low_bound (const ChartaSearchClause *clause,
                  int64_t                   max_span,
                  int64_t                  *bound)
{
  *bound = G_MAXINT64;
  for (unsigned i = 0; i < clause->values->len; i++)
    {
      int64_t b;

      if (!date_low_bound (g_ptr_array_index (clause->values, i), max_span, &b))
        return FALSE;
      *bound = MIN (*bound, b);
    }
  return clause->values->len > 0;
}

/* The rows of @clause's parameter in its table @x that match one of its values (any value for
 * @any_value: :missing). */
static gboolean
matching_rows (Compiler                 *c,
               Sql                      *q,
               const char               *x,
               const ChartaSearchClause *clause,
               gboolean                  any_value,
               GError                  **error)
{
  if (!param_rows (q, x, clause->resource_type, clause->param))
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_UNSUPPORTED,
                   "%s: this parameter cannot be searched", clause->name);
      return FALSE;
    }
  if (clause->target_type != NULL && clause->param->type == CHARTA_SEARCH_TYPE_REFERENCE)
    {
      g_string_append_printf (q->text, " AND %s.type = ", x);
      sql_text (q, clause->target_type);
    }
  if (any_value)
    return TRUE;
  sql_add (q, " AND ");
  return values_cond (c, q, x, clause, error);
}

static gboolean clause_cond (Compiler                 *c,
                             const ChartaSearchClause *clause,
                             const char               *r,
                             Sql                      *q,
                             GError                  **error);
static gboolean clause_set  (Compiler                 *c,
                             const ChartaSearchClause *clause,
                             Sql                      *q);

/* The most resources a chain link or a _has may match (their ids are collected first). */
#define MAX_MATERIALIZED 200000

/* The resources @clause matches (of its resource type), collected into a JSON array for
 * json_each(): their ids (@ids) or rids.  Chains and reverse chains are evaluated inside out
 * this way, so that the SQL of each level stays flat.  Computed once per query (cached in @c);
 * NULL with @error set when it fails or matches more than MAX_MATERIALIZED. */
static const char *
materialize (Compiler                 *c,
             const ChartaSearchClause *clause,
             gboolean                  ids,
             GError                  **error)
{
  gpointer key = GSIZE_TO_POINTER ((gsize) clause | (ids ? 1 : 0));
  GString *json;
  sqlite3_stmt *stmt;
  unsigned n = 0;
  Sql q, set;
  int rc;

  if (c->materialized == NULL)
    c->materialized = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  json = g_hash_table_lookup (c->materialized, key);
  if (json != NULL)
    return (const char *) json;

  sql_init (&q);
  sql_init (&set);
  sql_add (&q, ids ? "SELECT k.id FROM resource k WHERE " : "SELECT k.rid FROM resource k WHERE ");
  if (clause_set (c, clause, &set))
    {
      sql_add (&q, "k.rid IN (");
      sql_append (&q, &set);
      sql_add (&q, ")");
    }
  else
    {
      sql_add (&q, "k.deleted = 0 AND k.tid = ");
      tid_of (&q, clause->resource_type);
      sql_add (&q, " AND ");
      if (!clause_cond (c, clause, "k", &q, error))
        {
          sql_clear (&set);
          sql_clear (&q);
          return NULL;
        }
    }
  sql_clear (&set);
  stmt = sql_prepare (c->db, &q, error);
  sql_clear (&q);
  if (stmt == NULL)
    return NULL;
  json = g_string_new ("[");
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      if (++n > MAX_MATERIALIZED)
        break;
      if (n > 1)
        g_string_append_c (json, ',');
      if (ids)
        {
          /* ids are [A-Za-z0-9.-]: nothing to escape */
          g_string_append_c (json, '"');
          g_string_append (json, (const char *) sqlite3_column_text (stmt, 0));
          g_string_append_c (json, '"');
        }
      else
        g_string_append_printf (json, "%" G_GINT64_FORMAT,
                                (gint64) sqlite3_column_int64 (stmt, 0));
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      g_string_free (json, TRUE);
      charta_db_set_error (error, c->db, rc, "searching a chain");
      return NULL;
    }
  if (n > MAX_MATERIALIZED)
    {
      g_string_free (json, TRUE);
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_UNSUPPORTED,
                   "%s: more than %d %s resources match inside this chain or _has; narrow it",
                   clause->name, MAX_MATERIALIZED, clause->resource_type);
      return NULL;
    }
  g_string_append_c (json, ']');
  g_hash_table_insert (c->materialized, key, json->str);
  return g_string_free (json, FALSE);
}

/* " AND (x.type = T AND x.id IN (ids of T that the link matches) OR …)": the targets of a
 * chain through @clause, for the reference rows @x. */
static gboolean
chain_targets (Compiler                 *c,
               const ChartaSearchClause *clause,
               const char               *x,
               Sql                      *q,
               GError                  **error)
{
  gboolean several = clause->chain->len > 1;

  /* (no OR around a single link: it would hide the id from the value index) */
  sql_add (q, several ? " AND (" : " AND ");
  for (unsigned i = 0; i < clause->chain->len; i++)
    {
      const ChartaSearchClause *link = g_ptr_array_index (clause->chain, i);
      const char *ids = materialize (c, link, TRUE, error);

      if (ids == NULL)
        return FALSE;
      g_string_append_printf (q->text, "%s(%s.type = ", i > 0 ? " OR " : "", x);
      sql_text (q, link->resource_type);
      g_string_append_printf (q->text, " AND %s.id IN (SELECT value FROM json_each (", x);
      sql_text (q, ids);
      sql_add (q, ")))");
    }
  if (several)
    sql_add (q, ")");
  return TRUE;
}

static gboolean
is_code (const ChartaSearchClause *clause,
         const char               *code)
{
  return clause->param != NULL && strcmp (clause->param->code, code) == 0
         && (strcmp (clause->param->resource_type, "Resource") == 0);
}

/* _lastUpdated on version row @v. */
static void
last_updated_cond (Sql                      *q,
                   const char               *v,
                   const ChartaSearchClause *clause)
{
  g_autofree char *col = g_strdup_printf ("%s.last_updated", v);

  sql_add (q, "(");
  for (unsigned i = 0; i < clause->values->len; i++)
    {
      const ChartaSearchValue *value = g_ptr_array_index (clause->values, i);

      if (i > 0)
        sql_add (q, " OR ");
      range_cond_int (q, col, col, value->prefix, value->date_low, value->date_high);
    }
  sql_add (q, ")");
}

static gboolean
missing_value (const ChartaSearchClause *clause)
{
  const ChartaSearchValue *v = g_ptr_array_index (clause->values, 0);

  return v->missing;
}

/* The FTS5 query of a _text or _content clause: each value's words as prefixes, all of them
 * (AND), the values ORed; each word a quoted string, so that nothing in a value is FTS5
 * syntax.  NULL when no value has a word. */
static char *
fts_query (const ChartaSearchClause *clause)
{
  gboolean narrative = strcmp (clause->param->code, "_text") == 0;
  GString *q = g_string_new (NULL);
  unsigned n_values = 0;

  for (unsigned i = 0; i < clause->values->len; i++)
    {
      const ChartaSearchValue *v = g_ptr_array_index (clause->values, i);
      GString *words = g_string_new (NULL);
      unsigned n_words = 0;
      const char *p = v->text != NULL ? v->text : "";

      while (*p != '\0')
        {
          const char *start;

          while (*p != '\0' && !g_unichar_isalnum (g_utf8_get_char (p)))
            p = g_utf8_next_char (p);
          start = p;
          while (*p != '\0' && g_unichar_isalnum (g_utf8_get_char (p)))
            p = g_utf8_next_char (p);
          if (p > start)
            {
              g_string_append (words, n_words++ > 0 ? " AND \"" : "\"");
              g_string_append_len (words, start, p - start);
              g_string_append (words, "\"*");
            }
        }
      if (n_words > 0)
        {
          g_string_append (q, n_values++ > 0 ? " OR (" : "(");
          g_string_append (q, words->str);
          g_string_append_c (q, ')');
        }
      g_string_free (words, TRUE);
    }
  if (n_values == 0)
    {
      g_string_free (q, TRUE);
      return NULL;
    }
  if (narrative)
    {
      g_string_prepend (q, "narrative : (");
      g_string_append_c (q, ')');
    }
  return g_string_free (q, FALSE);
}

static gboolean
is_full_text (const ChartaSearchClause *clause)
{
  return clause->param != NULL && clause->param->expression == NULL
         && (strcmp (clause->param->code, "_text") == 0
             || strcmp (clause->param->code, "_content") == 0);
}

/* The condition @clause puts on resource row @r. */
static gboolean
clause_cond (Compiler                 *c,
             const ChartaSearchClause *clause,
             const char               *r,
             Sql                      *q,
             GError                  **error)
{
  g_autofree char *x = NULL;

  if (clause->has != NULL)
    {
      const char *rids = materialize (c, clause->has, FALSE, error);

      if (rids == NULL)
        return FALSE;
      x = new_alias (c, "x");
      g_string_append_printf (q->text, "EXISTS (SELECT 1 FROM idx_reference %s WHERE ", x);
      if (!param_rows (q, x, clause->has_type, clause->has_reference))
        sql_add (q, "0");
      g_string_append_printf (q->text, " AND %s.id = %s.id AND %s.type = ", x, r, x);
      sql_text (q, clause->resource_type);
      g_string_append_printf (q->text, " AND %s.rid IN (SELECT value FROM json_each (", x);
      sql_text (q, rids);
      sql_add (q, ")))");
      return TRUE;
    }
  if (g_strcmp0 (clause->name, "_list") == 0)
    {
      g_autofree char *l = new_alias (c, "l");

      x = new_alias (c, "x");
      sql_add (q, "(0");
      for (unsigned i = 0; i < clause->values->len; i++)
        {
          const ChartaSearchValue *v = g_ptr_array_index (clause->values, i);

          g_string_append_printf (q->text, " OR EXISTS (SELECT 1 FROM resource %s CROSS JOIN"
                                  " idx_reference %s NOT INDEXED ON ", l, x);
          rows_of (q, x, l);
          g_string_append_printf (q->text, " WHERE %s.tid = ", l);
          tid_of (q, "List");
          g_string_append_printf (q->text, " AND %s.id = ", l);
          sql_text (q, v->text);
          g_string_append_printf (q->text, " AND %s.deleted = 0 AND ", l);
          pid_of (q, x, "List", "item");
          g_string_append_printf (q->text, " AND %s.id = %s.id AND %s.type = (SELECT name FROM"
                                  " rtype WHERE tid = %s.tid))", x, r, x, r);
        }
      sql_add (q, ")");
      return TRUE;
    }
  if (clause->param == NULL)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_UNSUPPORTED,
                   "%s: this parameter cannot be searched", clause->name);
      return FALSE;
    }

  /* _id and _lastUpdated: the store's own columns */
  if (is_code (clause, "_id"))
    {
      if (clause->modifier == CHARTA_SEARCH_MODIFIER_MISSING)
        {
          sql_add (q, missing_value (clause) ? "0" : "1");
          return TRUE;
        }
      g_string_append_printf (q->text, "%s%s.id IN (",
                              clause->modifier == CHARTA_SEARCH_MODIFIER_NOT ? "NOT " : "", r);
      for (unsigned i = 0; i < clause->values->len; i++)
        {
          const ChartaSearchValue *v = g_ptr_array_index (clause->values, i);

          if (i > 0)
            sql_add (q, ", ");
          sql_text (q, v->code != NULL ? v->code : v->text);
        }
      sql_add (q, ")");
      return TRUE;
    }
  if (is_code (clause, "_lastUpdated"))
    {
      g_autofree char *v = new_alias (c, "v");

      if (clause->modifier == CHARTA_SEARCH_MODIFIER_MISSING)
        {
          sql_add (q, missing_value (clause) ? "0" : "1");
          return TRUE;
        }
      g_string_append_printf (q->text, "EXISTS (SELECT 1 FROM version %s WHERE %s.rid = %s.rid"
                              " AND %s.version = %s.version AND ", v, v, r, v, r);
      last_updated_cond (q, v, clause);
      sql_add (q, ")");
      return TRUE;
    }
  if (is_full_text (clause))
    {
      g_autofree char *match = fts_query (clause);

      if (clause->modifier == CHARTA_SEARCH_MODIFIER_MISSING)
        {
          sql_add (q, missing_value (clause) ? "0" : "1");
          return TRUE;
        }
      if (match == NULL)
        {
          sql_add (q, "0");
          return TRUE;
        }
      g_string_append_printf (q->text, "%s.rid IN (SELECT rowid FROM fts WHERE fts MATCH ", r);
      sql_text (q, match);
      sql_add (q, ")");
      return TRUE;
    }
  if (clause->param->type == CHARTA_SEARCH_TYPE_SPECIAL || clause->param->expression == NULL)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_UNSUPPORTED,
                   "%s: this version of Charta does not search it (no index)", clause->name);
      return FALSE;
    }

  x = new_alias (c, "x");
  if (clause->chain != NULL)
    {
      /* a reference of @param to one of the resources the links match (materialized: nested
       * SQL would soon be too deep for SQLite's parser) */
      g_string_append_printf (q->text, "EXISTS (SELECT 1 FROM idx_reference %s NOT INDEXED WHERE ", x);
      rows_of (q, x, r);
      sql_add (q, " AND ");
      if (!param_rows (q, x, clause->resource_type, clause->param)
          || !chain_targets (c, clause, x, q, error))
        return FALSE;
      sql_add (q, ")");
      return TRUE;
    }

  switch (clause->modifier)
    {
    case CHARTA_SEARCH_MODIFIER_MISSING:
      g_string_append_printf (q->text, "%sEXISTS (SELECT 1 FROM %s %s NOT INDEXED WHERE ",
                              missing_value (clause) ? "NOT " : "",
                              table_of (clause->param->type), x);
      rows_of (q, x, r);
      sql_add (q, " AND ");
      if (!matching_rows (c, q, x, clause, TRUE, error))
        return FALSE;
      sql_add (q, ")");
      return TRUE;
    case CHARTA_SEARCH_MODIFIER_NOT:
    case CHARTA_SEARCH_MODIFIER_NOT_IN:
      {
        /* :not matches resources without a matching value, those without any too */
        ChartaSearchClause positive = *clause;

        positive.modifier = clause->modifier == CHARTA_SEARCH_MODIFIER_NOT
                            ? CHARTA_SEARCH_MODIFIER_NONE : CHARTA_SEARCH_MODIFIER_IN;
        g_string_append_printf (q->text, "NOT EXISTS (SELECT 1 FROM %s %s NOT INDEXED WHERE ",
                                table_of (clause->param->type), x);
        rows_of (q, x, r);
        sql_add (q, " AND ");
        if (!matching_rows (c, q, x, &positive, FALSE, error))
          return FALSE;
        sql_add (q, ")");
      }
      return TRUE;
    default:
      g_string_append_printf (q->text, "EXISTS (SELECT 1 FROM %s %s NOT INDEXED WHERE ",
                              table_of (clause->param->type), x);
      rows_of (q, x, r);
      sql_add (q, " AND ");
      if (!matching_rows (c, q, x, clause, FALSE, error))
        return FALSE;
      sql_add (q, ")");
      return TRUE;
    }
}

/* The set of rids @clause matches, through a value index; FALSE (and nothing written) when
 * the clause has no such set (:missing, :not, …): it is then only a condition. */
static gboolean
clause_set (Compiler                 *c,
            const ChartaSearchClause *clause,
            Sql                      *q)
{
  g_autofree char *x = NULL;
  g_autoptr(GError) error = NULL;
  Sql part;
  gboolean ok;

  if (clause->has != NULL)
    {
      const char *rids = materialize (c, clause->has, FALSE, &error);

      if (rids == NULL)
        return FALSE;
      /* the references of those resources (their rows by rowid range), to this type */
      x = new_alias (c, "s");
      g_string_append_printf (q->text, "SELECT k.rid FROM json_each (");
      sql_text (q, rids);
      /* (CROSS JOIN keeps this order: SQLite would rather scan the reference rows) */
      g_string_append_printf (q->text, ") j CROSS JOIN idx_reference %s NOT INDEXED ON %s.rowid"
                              " >= (j.value << %d) AND %s.rowid < ((j.value + 1) << %d)"
                              " CROSS JOIN resource k ON k.tid = ", x, x, CHARTA_DB_ROWS_SHIFT,
                              x, CHARTA_DB_ROWS_SHIFT);
      tid_of (q, clause->resource_type);
      g_string_append_printf (q->text, " AND k.id = %s.id WHERE k.deleted = 0 AND ", x);
      if (!param_rows (q, x, clause->has_type, clause->has_reference))
        sql_add (q, "0");
      g_string_append_printf (q->text, " AND %s.type = ", x);
      sql_text (q, clause->resource_type);
      return TRUE;
    }
  if (clause->param == NULL)
    return FALSE;
  if (is_code (clause, "_id"))
    {
      if (clause->modifier != CHARTA_SEARCH_MODIFIER_NONE)
        return FALSE;
      sql_add (q, "SELECT rid FROM resource WHERE id IN (");
      for (unsigned i = 0; i < clause->values->len; i++)
        {
          const ChartaSearchValue *v = g_ptr_array_index (clause->values, i);

          if (i > 0)
            sql_add (q, ", ");
          sql_text (q, v->code != NULL ? v->code : v->text);
        }
      sql_add (q, ")");
      if (c->query->resource_type != NULL)
        {
          sql_add (q, " AND tid = ");
          tid_of (q, c->query->resource_type);
        }
      return TRUE;
    }
  if (is_code (clause, "_lastUpdated"))
    return FALSE;
  if (is_full_text (clause))
    {
      g_autofree char *match = NULL;

      if (clause->modifier != CHARTA_SEARCH_MODIFIER_NONE
          || (match = fts_query (clause)) == NULL)
        return FALSE;
      sql_add (q, "SELECT rowid FROM fts WHERE fts MATCH ");
      sql_text (q, match);
      return TRUE;
    }
  if (clause->param->expression == NULL || table_of (clause->param->type) == NULL)
    return FALSE;
  switch (clause->modifier)
    {
    case CHARTA_SEARCH_MODIFIER_MISSING:
    case CHARTA_SEARCH_MODIFIER_NOT:
    case CHARTA_SEARCH_MODIFIER_NOT_IN:
    case CHARTA_SEARCH_MODIFIER_TEXT:
    case CHARTA_SEARCH_MODIFIER_CONTAINS:
      return FALSE;
    default:
      break;
    }

  x = new_alias (c, "s");
  sql_init (&part);
  if (clause->chain != NULL)
    {
      /* The rows of the reference that point to a resource the links match. */
      g_string_append_printf (part.text, "SELECT %s.rowid >> %d FROM idx_reference %s WHERE ", x,
                              CHARTA_DB_ROWS_SHIFT, x);
      ok = param_rows (&part, x, clause->resource_type, clause->param)
           && chain_targets (c, clause, x, &part, &error);
    }
  else
    {
      /* rowid >> 20 is the rid, read from the value index alone */
      int64_t max_rows, max_span, bound;

      g_string_append_printf (part.text, "SELECT %s.rowid >> %d FROM %s %s WHERE ", x,
                              CHARTA_DB_ROWS_SHIFT, table_of (clause->param->type), x);
      ok = matching_rows (c, &part, x, clause, FALSE, &error);
      if (ok && clause->param->type == CHARTA_SEARCH_TYPE_DATE
          && date_stat (c, clause, &max_rows, &max_span)
          && clause_low_bound (clause, max_span, &bound))
        {
          g_string_append_printf (part.text, " AND %s.low >= ", x);
          sql_int (&part, bound);
        }
    }
  if (ok)
    sql_append (q, &part);
  sql_clear (&part);
  return ok;
}

/* --- sorting -------------------------------------------------------------------------------- */

/* The sort key expression of @sort on resource @r ("" when it has none). */
static void
sort_key (Compiler               *c,
          const ChartaSearchSort *sort,
          const char             *r,
          Sql                    *q)
{
  const ChartaSearchParamDef *param = sort->param;
  g_autofree char *x = new_alias (c, "k");
  const char *agg = sort->descending ? "max" : "min";
  const char *col = NULL;

  if (strcmp (param->code, "_id") == 0)
    {
      g_string_append_printf (q->text, "%s.id", r);
      return;
    }
  if (strcmp (param->code, "_lastUpdated") == 0)
    {
      g_string_append_printf (q->text, "(SELECT %s.last_updated FROM version %s WHERE %s.rid ="
                              " %s.rid AND %s.version = %s.version)", x, x, x, r, x, r);
      return;
    }
  switch (param->type)
    {
    case CHARTA_SEARCH_TYPE_STRING: col = "norm"; break;
    case CHARTA_SEARCH_TYPE_TOKEN: col = "code"; break;
    case CHARTA_SEARCH_TYPE_DATE: col = sort->descending ? "high" : "low"; break;
    case CHARTA_SEARCH_TYPE_NUMBER: col = "value"; break;
    case CHARTA_SEARCH_TYPE_QUANTITY: col = "value"; break;
    case CHARTA_SEARCH_TYPE_REFERENCE: col = "type || '/' || id"; break;
    case CHARTA_SEARCH_TYPE_URI: col = "uri"; break;
    default: break;
    }
  if (col == NULL)
    {
      sql_add (q, "NULL");
      return;
    }
  if (strchr (col, '|') != NULL)
    g_string_append_printf (q->text, "(SELECT %s (%s.type || '/' || %s.id) FROM %s %s NOT INDEXED WHERE ",
                            agg, x, x, table_of (param->type), x);
  else
    g_string_append_printf (q->text, "(SELECT %s (%s.%s) FROM %s %s NOT INDEXED WHERE ", agg, x, col,
                            table_of (param->type), x);
  rows_of (q, x, r);
  sql_add (q, " AND ");
  if (!param_rows (q, x, c->query->resource_type, param))
    sql_add (q, "0");
  sql_add (q, ")");
}

/* --- cursors -------------------------------------------------------------------------------- */

/* What a cursor must match: the conditions and the order of the query. */
static char *
query_digest (const ChartaSearchQuery *query)
{
  g_autoptr(GString) s = g_string_new (query->resource_type);

  for (unsigned i = 0; query->pairs != NULL && i < query->pairs->len; i++)
    {
      const char *pair = g_ptr_array_index (query->pairs, i);

      /* _count and _total may change from page to page */
      if (g_str_has_prefix (pair, "_count=") || g_str_has_prefix (pair, "_total="))
        continue;
      g_string_append_c (s, '&');
      g_string_append (s, pair);
    }
  if (query->compartment_type != NULL)
    g_string_append_printf (s, "@%s/%s", query->compartment_type, query->compartment_id);
  return g_compute_checksum_for_string (G_CHECKSUM_SHA1, s->str, -1);
}

/* A cursor: "c1." then base64url of a JSON array [digest, rid, key…] (a key is null, a
 * number, a string, or {"b": hex} for a blob). */
static char *
cursor_encode (const ChartaSearchQuery *query,
               sqlite3_stmt            *stmt,
               int                      first_key,
               unsigned                 n_keys,
               int64_t                  rid,
               gboolean                 backward)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *digest = query_digest (query);
  g_autofree char *json = NULL;
  g_autofree char *b64 = NULL;

  json_builder_begin_array (b);
  json_builder_add_string_value (b, digest);
  json_builder_add_int_value (b, rid);
  for (unsigned k = 0; k < n_keys; k++)
    {
      int col = first_key + (int) k;

      switch (sqlite3_column_type (stmt, col))
        {
        case SQLITE_INTEGER:
          json_builder_add_int_value (b, sqlite3_column_int64 (stmt, col));
          break;
        case SQLITE_FLOAT:
          json_builder_add_double_value (b, sqlite3_column_double (stmt, col));
          break;
        case SQLITE_TEXT:
          json_builder_add_string_value (b, (const char *) sqlite3_column_text (stmt, col));
          break;
        case SQLITE_BLOB:
          {
            const guchar *data = sqlite3_column_blob (stmt, col);
            int n = sqlite3_column_bytes (stmt, col);
            GString *hex = g_string_new (NULL);

            for (int i = 0; i < n; i++)
              g_string_append_printf (hex, "%02x", data[i]);
            json_builder_begin_object (b);
            json_builder_set_member_name (b, "b");
            json_builder_add_string_value (b, hex->str);
            json_builder_end_object (b);
            g_string_free (hex, TRUE);
          }
          break;
        default:
          json_builder_add_null_value (b);
          break;
        }
    }
  json_builder_end_array (b);
  root = json_builder_get_root (b);
  json = json_to_string (root, FALSE);
  b64 = g_base64_encode ((const guchar *) json, strlen (json));
  for (char *p = b64; *p != '\0'; p++)
    {
      if (*p == '+')
        *p = '-';
      else if (*p == '/')
        *p = '_';
    }
  g_strchomp (b64);
  {
    char *end = b64 + strlen (b64);

    while (end > b64 && end[-1] == '=')
      *--end = '\0';
  }
  return g_strconcat (backward ? CURSOR_BACKWARD "." : CURSOR_VERSION ".", b64, NULL);
}

static gboolean
invalid_cursor (GError     **error,
                const char  *why)
{
  g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
               "_cursor: not a page of this search (%s)", why);
  return FALSE;
}

/* Reads @text into @rid and @keys (Bind values); FALSE with @error set when it is not a
 * cursor of @query with @n_keys keys. */
static gboolean
cursor_decode (const ChartaSearchQuery *query,
               const char              *text,
               unsigned                 n_keys,
               int64_t                 *rid,
               GArray                  *keys,
               gboolean                *backward,
               GError                 **error)
{
  g_autofree char *b64 = NULL;
  g_autofree guchar *json = NULL;
  g_autofree char *digest = query_digest (query);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *array;
  gsize length = 0;

  *backward = g_str_has_prefix (text, CURSOR_BACKWARD ".");
  if ((!*backward && !g_str_has_prefix (text, CURSOR_VERSION ".")) || strlen (text) > 16384)
    return invalid_cursor (error, "unknown form");
  /* (both prefixes are two characters and a dot) */
  b64 = g_strdup (text + strlen (CURSOR_VERSION "."));
  for (char *p = b64; *p != '\0'; p++)
    {
      if (*p == '-')
        *p = '+';
      else if (*p == '_')
        *p = '/';
      else if (!g_ascii_isalnum (*p))
        return invalid_cursor (error, "not base64");
    }
  {
    GString *padded = g_string_new (b64);

    while (padded->len % 4 != 0)
      g_string_append_c (padded, '=');
    g_free (b64);
    b64 = g_string_free (padded, FALSE);
  }
  json = g_base64_decode (b64, &length);
  if (json == NULL || length == 0 || !g_utf8_validate ((const char *) json, (gssize) length, NULL)
      || !json_parser_load_from_data (parser, (const char *) json, (gssize) length, NULL))
    return invalid_cursor (error, "unreadable");
  if (!JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
    return invalid_cursor (error, "unreadable");
  array = json_node_get_array (json_parser_get_root (parser));
  if (json_array_get_length (array) != 2 + n_keys
      || json_node_get_value_type (json_array_get_element (array, 0)) != G_TYPE_STRING
      || g_strcmp0 (json_array_get_string_element (array, 0), digest) != 0)
    return invalid_cursor (error, "it was made for another query");
  if (json_node_get_value_type (json_array_get_element (array, 1)) != G_TYPE_INT64)
    return invalid_cursor (error, "unreadable");
  *rid = json_array_get_int_element (array, 1);
  for (unsigned k = 0; k < n_keys; k++)
    {
      JsonNode *node = json_array_get_element (array, 2 + k);
      Bind bind = { BIND_NULL, 0, 0, NULL, 0 };

      if (JSON_NODE_HOLDS_NULL (node))
        bind.kind = BIND_NULL;
      else if (JSON_NODE_HOLDS_OBJECT (node))
        {
          const char *hex = json_object_get_string_member_with_default (
            json_node_get_object (node), "b", NULL);
          size_t hn = hex != NULL ? strlen (hex) : 1;

          if (hex == NULL || hn % 2 != 0)
            return invalid_cursor (error, "unreadable");
          bind.kind = BIND_BLOB;
          bind.length = hn / 2;
          bind.text = g_malloc (bind.length + 1);
          for (size_t i = 0; i < bind.length; i++)
            {
              int hi = g_ascii_xdigit_value (hex[2 * i]);
              int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

              if (hi < 0 || lo < 0)
                {
                  g_free (bind.text);
                  return invalid_cursor (error, "unreadable");
                }
              bind.text[i] = (char) (hi * 16 + lo);
            }
        }
      else if (json_node_get_value_type (node) == G_TYPE_INT64)
        {
          bind.kind = BIND_INT;
          bind.i = json_node_get_int (node);
        }
      else if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
        {
          bind.kind = BIND_REAL;
          bind.d = json_node_get_double (node);
        }
      else if (json_node_get_value_type (node) == G_TYPE_STRING)
        {
          bind.kind = BIND_TEXT;
          bind.text = g_strdup (json_node_get_string (node));
        }
      else
        return invalid_cursor (error, "unreadable");
      g_array_append_val (keys, bind);
    }
  return TRUE;
}

/* --- running -------------------------------------------------------------------------------- */

void
charta_db_search_page_clear (ChartaDbSearchPage *page)
{
  g_clear_pointer (&page->rows, g_ptr_array_unref);
  g_clear_pointer (&page->next_cursor, g_free);
  g_clear_pointer (&page->prev_cursor, g_free);
}

static void
search_row_free (ChartaDbSearchRow *row)
{
  g_free (row->type);
  g_free (row->id);
  g_clear_pointer (&row->body, g_bytes_unref);
  g_free (row);
}

/* The progress handler of a probe: past its budget of SQLite instructions (counted in steps
 * of PROBE_STEP) or of time, or past the search's deadline, it stops the probe. */
typedef struct
{
  const int64_t *deadline;
  int64_t end;
  unsigned steps;
} Probe;

static int
probe_progress (void *data)
{
  Probe *probe = data;
  int64_t now = g_get_monotonic_time ();

  return ++probe->steps > PROBE_BUDGET || now > probe->end || now > *probe->deadline;
}

static int past_deadline (void *data);

/* How many resources @set holds, counted up to DRIVER_PROBE (that many meaning "too many to
 * drive").  Counting stops early when it costs more than a well-indexed count would: a set
 * whose condition no index bounds (high > x on an index ordered by low) is read far and
 * sparsely, and is reported as too large rather than scanned. */
static gboolean
probe_set (Compiler    *c,
           const Sql   *set,
           int64_t     *n,
           GError     **error)
{
  sqlite3 *handle = charta_db_get_handle (c->db);
  Probe probe = { c->deadline, g_get_monotonic_time () + PROBE_USEC, 0 };
  Sql q;
  sqlite3_stmt *stmt;
  int rc;

  sql_init (&q);
  sql_add (&q, "SELECT count(*) FROM (");
  sql_append (&q, set);
  g_string_append_printf (q.text, " LIMIT %d)", DRIVER_PROBE);
  stmt = sql_prepare (c->db, &q, error);
  sql_clear (&q);
  if (stmt == NULL)
    return FALSE;
  sqlite3_progress_handler (handle, PROBE_STEP, probe_progress, &probe);
  rc = sqlite3_step (stmt);
  sqlite3_progress_handler (handle, 1000, past_deadline, (void *) c->deadline);
  if (rc == SQLITE_ROW)
    *n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  if (rc == SQLITE_INTERRUPT && g_get_monotonic_time () <= *c->deadline)
    {
      *n = DRIVER_PROBE;
      return TRUE;
    }
  if (rc != SQLITE_ROW)
    return charta_db_set_error (error, c->db, rc, "estimating a search condition");
  return TRUE;
}

/* The compartment's reference parameters of the searched type, as the stored parameters
 * whose rows hold them (a reference to the compartment's type is asked for anyway, so the
 * sources' own type filters add nothing): "code IN (…)" for the param table.  Whether the
 * compartment's own type is a member ({def}) is told in @itself.  FALSE with @error set when
 * the type is not in the compartment. */
static gboolean
compartment_codes (Compiler    *c,
                   Sql         *codes,
                   gboolean    *itself,
                   GError     **error)
{
  const ChartaSearchQuery *query = c->query;
  const ChartaCompartmentDef *def;
  g_auto(GStrv) params = NULL;
  unsigned n = 0;

  def = charta_model_lookup_compartment (query->compartment_type, query->resource_type);
  if (def == NULL)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "%s is not in the %s compartment", query->resource_type,
                   query->compartment_type);
      return FALSE;
    }
  params = g_strsplit (def->params, "|", -1);
  *itself = FALSE;
  sql_add (codes, "code IN (");
  for (unsigned i = 0; params[i] != NULL; i++)
    {
      const ChartaSearchParamDef *param;
      ChartaIndexSource sources[CHARTA_MAX_INDEX_SOURCES];
      unsigned n_sources;

      if (strcmp (params[i], "{def}") == 0)
        {
          *itself = TRUE;
          continue;
        }
      param = charta_model_lookup_search_param (query->resource_type, params[i]);
      if (param == NULL || param->type != CHARTA_SEARCH_TYPE_REFERENCE)
        continue;
      n_sources = charta_search_param_get_sources (param, sources);
      for (unsigned k = 0; k < n_sources; k++)
        {
          if (n++ > 0)
            sql_add (codes, ", ");
          sql_text (codes, sources[k].param->code);
        }
    }
  if (n == 0)
    sql_add (codes, "NULL");
  sql_add (codes, ")");
  return TRUE;
}

/* The compartment condition on @r. */
static gboolean
compartment_cond (Compiler    *c,
                  const char  *r,
                  Sql         *q,
                  GError     **error)
{
  const ChartaSearchQuery *query = c->query;
  g_autofree char *x = new_alias (c, "m");
  gboolean itself;
  Sql codes;

  sql_init (&codes);
  if (!compartment_codes (c, &codes, &itself, error))
    {
      sql_clear (&codes);
      return FALSE;
    }
  sql_add (q, "(");
  if (itself)
    {
      g_string_append_printf (q->text, "%s.id = ", r);
      sql_text (q, query->compartment_id);
      sql_add (q, " OR ");
    }
  g_string_append_printf (q->text, "EXISTS (SELECT 1 FROM idx_reference %s NOT INDEXED WHERE ",
                          x);
  rows_of (q, x, r);
  g_string_append_printf (q->text, " AND %s.pid IN (SELECT pid FROM param WHERE type = ", x);
  sql_text (q, query->resource_type);
  sql_add (q, " AND ");
  sql_append (q, &codes);
  g_string_append_printf (q->text, ") AND %s.type = ", x);
  sql_text (q, query->compartment_type);
  g_string_append_printf (q->text, " AND %s.id = ", x);
  sql_text (q, query->compartment_id);
  sql_add (q, "))");
  sql_clear (&codes);
  return TRUE;
}

/* The compartment's members as a set (through the reference index). */
static void
compartment_set (Compiler *c,
                 Sql      *q)
{
  const ChartaSearchQuery *query = c->query;
  g_autofree char *x = new_alias (c, "m");
  gboolean itself = FALSE;
  Sql codes;

  sql_init (&codes);
  if (!compartment_codes (c, &codes, &itself, NULL))
    {
      /* (compartment_cond() has reported it) */
      sql_add (q, "SELECT NULL WHERE 0");
      sql_clear (&codes);
      return;
    }
  g_string_append_printf (q->text, "SELECT %s.rowid >> %d FROM idx_reference %s WHERE %s.pid IN"
                          " (SELECT pid FROM param WHERE type = ", x, CHARTA_DB_ROWS_SHIFT, x, x);
  sql_text (q, query->resource_type);
  sql_add (q, " AND ");
  sql_append (q, &codes);
  g_string_append_printf (q->text, ") AND %s.id = ", x);
  sql_text (q, query->compartment_id);
  g_string_append_printf (q->text, " AND %s.type = ", x);
  sql_text (q, query->compartment_type);
  if (itself)
    {
      sql_add (q, " UNION SELECT rid FROM resource WHERE id = ");
      sql_text (q, query->compartment_id);
      sql_add (q, " AND tid = ");
      tid_of (q, query->resource_type);
    }
  sql_clear (&codes);
}

/* The WHERE conditions every match meets (type, conditions, compartment) on `r`, and the
 * driving set when one is selective.  The driving clause's own condition is left out: its set
 * holds exactly the resources it matches (and the SQL stays shallow enough for SQLite's
 * parser with deep chains). */
/* A clause with one plain value: no modifier, chain, _has or OR. */
static gboolean
plain_clause (const ChartaSearchClause *clause)
{
  return clause->param != NULL && clause->has == NULL && clause->chain == NULL
         && clause->modifier == CHARTA_SEARCH_MODIFIER_NONE && clause->values->len == 1
         && clause->param->expression != NULL;
}

/* Two clauses that a composite parameter of their type indexes together.  Observation's code
 * and value-quantity are the components of code-value-quantity, whose expression is the
 * Observation itself: a resource that matches both clauses has a code-value-quantity row with
 * both values (a row per combination, see charta-search-index.c).  The composite's rows with
 * both values are then a set that holds every match, read through one index (pid, code,
 * system, value): a driver when neither clause alone is selective.  Both clauses stay
 * conditions, so the set only has to hold the matches; the slots are compared as the clauses
 * compare their own rows (a quantity with a unit is left out: its own rows also match the
 * unit's display text). */
static gboolean
pair_set (Compiler                 *c,
          const ChartaSearchClause *a,
          const ChartaSearchClause *b,
          Sql                      *q)
{
  const char *type = a->resource_type;
  g_autofree const ChartaSearchParamDef **params = NULL;
  size_t n_params = 0;

  if (!plain_clause (a) || !plain_clause (b) || g_strcmp0 (type, b->resource_type) != 0
      || a->param == b->param)
    return FALSE;
  if (a->param->type != CHARTA_SEARCH_TYPE_TOKEN)
    {
      const ChartaSearchClause *t = a;

      a = b;
      b = t;
      if (a->param->type != CHARTA_SEARCH_TYPE_TOKEN)
        return FALSE;
    }
  switch (b->param->type)
    {
    case CHARTA_SEARCH_TYPE_TOKEN:
    case CHARTA_SEARCH_TYPE_DATE:
    case CHARTA_SEARCH_TYPE_NUMBER:
      break;
    case CHARTA_SEARCH_TYPE_QUANTITY:
      if (((const ChartaSearchValue *) g_ptr_array_index (b->values, 0))->unit_code != NULL)
        return FALSE;
      break;
    default:
      return FALSE;
    }

  params = charta_model_list_search_params (type, &n_params);
  for (size_t i = 0; i < n_params; i++)
    {
      const ChartaSearchParamDef *p = params[i];
      const ChartaSearchComponentDef *comp;
      const ChartaSearchClause *first, *second;
      g_autofree char *x = NULL;

      if (p->type != CHARTA_SEARCH_TYPE_COMPOSITE || p->n_components != 2
          || g_strcmp0 (p->expression, type) != 0)
        continue;
      comp = &charta_model_search_components[p->first_component];
      if (charta_model_lookup_search_param_by_url (comp[0].definition, type) == a->param
          && charta_model_lookup_search_param_by_url (comp[1].definition, type) == b->param)
        first = a, second = b;
      else if (charta_model_lookup_search_param_by_url (comp[0].definition, type) == b->param
               && charta_model_lookup_search_param_by_url (comp[1].definition, type) == a->param)
        first = b, second = a;
      else
        continue;

      x = new_alias (c, "s");
      g_string_append_printf (q->text, "SELECT %s.rowid >> %d FROM idx_composite %s WHERE ", x,
                              CHARTA_DB_ROWS_SHIFT, x);
      if (!param_rows (q, x, type, p))
        return FALSE;
      sql_add (q, " AND ");
      component_cond (q, x, 0, first->param->type, g_ptr_array_index (first->values, 0));
      sql_add (q, " AND ");
      component_cond (q, x, 1, second->param->type, g_ptr_array_index (second->values, 0));
      return TRUE;
    }
  return FALSE;
}

static gboolean
plain_date (const ChartaSearchClause *clause)
{
  return clause->param != NULL && clause->param->type == CHARTA_SEARCH_TYPE_DATE
         && clause->param->expression != NULL && clause->modifier == CHARTA_SEARCH_MODIFIER_NONE
         && clause->chain == NULL && clause->has == NULL && clause->values->len > 0;
}

/* Clause @i and the later clauses on the same date parameter ("date=ge2018&date=lt2019"), when
 * date_stat says that the parameter has at most one row per resource: a resource matches them
 * all exactly when that row does, so their conditions together select one range of rows of the
 * value index, bounded below by the highest of their bounds on `low`.  A driver candidate that
 * is exactly those clauses' matches: *covers gets their bits (indexes below 64). */
static gboolean
same_row_set (Compiler *c,
              unsigned  i,
              Sql      *q,
              guint64  *covers)
{
  const GPtrArray *clauses = c->query->clauses;
  const ChartaSearchClause *first = g_ptr_array_index (clauses, i);
  g_autofree char *x = NULL;
  int64_t max_rows, max_span, bound = G_MININT64, b;
  unsigned n_same = 0;

  if (!plain_date (first))
    return FALSE;
  for (unsigned j = 0; j < i; j++)
    {
      const ChartaSearchClause *other = g_ptr_array_index (clauses, j);

      /* (made once, for the first clause of the parameter) */
      if (plain_date (other) && other->param == first->param
          && g_strcmp0 (other->resource_type, first->resource_type) == 0)
        return FALSE;
    }
  for (unsigned j = i + 1; j < clauses->len; j++)
    {
      const ChartaSearchClause *other = g_ptr_array_index (clauses, j);

      if (plain_date (other) && other->param == first->param
          && g_strcmp0 (other->resource_type, first->resource_type) == 0)
        n_same++;
    }
  if (n_same == 0 || !date_stat (c, first, &max_rows, &max_span) || max_rows > 1)
    return FALSE;

  x = new_alias (c, "s");
  g_string_append_printf (q->text, "SELECT %s.rowid >> %d FROM idx_date %s WHERE ", x,
                          CHARTA_DB_ROWS_SHIFT, x);
  if (!matching_rows (c, q, x, first, FALSE, NULL))
    return FALSE;
  *covers = i < 64 ? G_GUINT64_CONSTANT (1) << i : 0;
  if (clause_low_bound (first, max_span, &b))
    bound = MAX (bound, b);
  for (unsigned j = i + 1; j < clauses->len; j++)
    {
      const ChartaSearchClause *other = g_ptr_array_index (clauses, j);

      if (!plain_date (other) || other->param != first->param
          || g_strcmp0 (other->resource_type, first->resource_type) != 0)
        continue;
      sql_add (q, " AND ");
      if (!values_cond (c, q, x, other, NULL))
        return FALSE;
      if (j < 64)
        *covers |= G_GUINT64_CONSTANT (1) << j;
      else
        *covers = 0;   /* (only all of them or none) */
      if (clause_low_bound (other, max_span, &b))
        bound = MAX (bound, b);
    }
  if (bound > G_MININT64)
    {
      g_string_append_printf (q->text, " AND %s.low >= ", x);
      sql_int (q, bound);
    }
  return TRUE;
}

/* The order in which driver candidates are probed: sets read through an equality on an index
 * first (the likeliest to be small, and cheap to count), ranges last. */
static int
probe_rank (const ChartaSearchClause *clause)
{
  if (clause == NULL || clause->has != NULL || clause->chain != NULL || clause->param == NULL)
    return 1;
  switch (clause->param->type)
    {
    case CHARTA_SEARCH_TYPE_DATE:
    case CHARTA_SEARCH_TYPE_NUMBER:
    case CHARTA_SEARCH_TYPE_QUANTITY:
      return 2;
    default:
      return is_full_text (clause) ? 2 : 1;
    }
}

typedef struct
{
  Sql set;
  int clause;       /* the clause it replaces, -1 for a pair's set (both clauses stay) */
  int rank;
  guint64 covers;   /* the clauses (bits by index) it is exactly the matches of, which then
                     * need no condition of their own when it drives */
} Candidate;

static int
candidate_compare (gconstpointer a,
                   gconstpointer b)
{
  const Candidate *x = a, *y = b;

  return x->rank != y->rank ? x->rank - y->rank : x->clause - y->clause;
}

/* The filter of the query's matches (on resource r) into @where: the smallest selective set
 * drives, the other clauses are conditions.  When that set is by itself exactly the matches
 * (it stands for every clause, and it is read from the value indexes, which hold rows of
 * current resources of the clause's type only), its SQL is also copied to @exact (left empty
 * otherwise), and *@one_row tells whether it has one row per resource. */
static gboolean
build_filter (Compiler  *c,
              Sql       *where,
              Sql       *exact,
              gboolean  *one_row,
              GError   **error)
{
  const ChartaSearchQuery *query = c->query;
  unsigned n = query->clauses->len + (query->compartment_type != NULL ? 1 : 0);
  g_autofree Sql *conds = g_new0 (Sql, MAX (n, 1));
  g_autoptr(GArray) candidates = g_array_new (FALSE, TRUE, sizeof (Candidate));
  Sql *best = NULL;
  int64_t best_n = DRIVER_PROBE;
  int best_index = -1;
  guint64 best_covers = 0;
  gboolean ok = TRUE;

  for (unsigned i = 0; ok && i < n; i++)
    {
      const ChartaSearchClause *clause = i < query->clauses->len
                                         ? g_ptr_array_index (query->clauses, i) : NULL;
      Candidate k = { { NULL, NULL }, (int) i, probe_rank (clause), 0 };
      gboolean has_set;

      sql_init (&conds[i]);
      if (clause != NULL)
        ok = clause_cond (c, clause, "r", &conds[i], error);
      else
        ok = compartment_cond (c, "r", &conds[i], error);
      if (!ok)
        break;
      sql_init (&k.set);
      if (clause != NULL)
        has_set = clause_set (c, clause, &k.set);
      else
        {
          compartment_set (c, &k.set);
          has_set = TRUE;
        }
      if (has_set)
        g_array_append_val (candidates, k);
      else
        sql_clear (&k.set);
      for (unsigned j = 0; clause != NULL && j < i; j++)
        {
          Candidate pair = { { NULL, NULL }, -1, 1, 0 };

          sql_init (&pair.set);
          if (pair_set (c, g_ptr_array_index (query->clauses, j), clause, &pair.set))
            g_array_append_val (candidates, pair);
          else
            sql_clear (&pair.set);
        }
    }

  /* Several clauses on a date parameter that has one row per resource: one range, which
   * holds exactly the resources that match them all. */
  for (unsigned i = 0; ok && i < query->clauses->len; i++)
    {
      Candidate k = { { NULL, NULL }, -1, 2, 0 };

      sql_init (&k.set);
      if (same_row_set (c, i, &k.set, &k.covers))
        g_array_append_val (candidates, k);
      else
        sql_clear (&k.set);
    }

  /* The smallest set drives; probing stops at one small enough. */
  g_array_sort (candidates, candidate_compare);
  for (unsigned i = 0; ok && i < candidates->len && best_n > DRIVER_GOOD; i++)
    {
      Candidate *k = &g_array_index (candidates, Candidate, i);
      int64_t count = 0;

      ok = probe_set (c, &k->set, &count, error);
      if (ok && count < best_n)
        {
          best = &k->set;
          best_n = count;
          best_index = k->clause;
          best_covers = k->covers;
        }
    }

  if (ok)
    {
      /* With a driving set, the type is only checked ('+' keeps SQLite from walking the
       * type's index instead); without, the type's resources are walked in rid order. */
      sql_add (where, "r.deleted = 0");
      if (query->resource_type != NULL)
        {
          sql_add (where, best != NULL ? " AND +r.tid = " : " AND r.tid = ");
          tid_of (where, query->resource_type);
        }
      else if (query->types != NULL && query->types->len > 0)
        {
          sql_add (where, " AND r.tid IN (SELECT tid FROM rtype WHERE name IN (");
          for (unsigned i = 0; i < query->types->len; i++)
            {
              if (i > 0)
                sql_add (where, ", ");
              sql_text (where, g_ptr_array_index (query->types, i));
            }
          sql_add (where, "))");
        }
      for (unsigned i = 0; i < n; i++)
        if ((int) i != best_index && (i >= 64 || (best_covers & (G_GUINT64_CONSTANT (1) << i)) == 0))
          {
            sql_add (where, " AND ");
            sql_append (where, &conds[i]);
          }
      if (best != NULL)
        {
          sql_add (where, " AND r.rid IN (");
          sql_append (where, best);
          sql_add (where, ")");
        }
      if (best != NULL && query->resource_type != NULL && query->compartment_type == NULL
          && n <= 64)
        {
          const ChartaSearchClause *clause = best_index >= 0
                                             ? g_ptr_array_index (query->clauses, best_index)
                                             : NULL;
          guint64 all = n == 64 ? G_MAXUINT64 : (G_GUINT64_CONSTANT (1) << n) - 1;
          gboolean covered = best_covers == all || (n == 1 && best_index == 0);
          /* (_id's set reads the resource table, deleted ones too; the full-text table and
           * _has are not value indexes) */
          gboolean indexed = best_covers != 0
                             || (clause != NULL && clause->has == NULL && clause->param != NULL
                                 && !is_code (clause, "_id") && !is_full_text (clause)
                                 && g_strcmp0 (clause->resource_type,
                                               query->resource_type) == 0);

          /* (a same-row set's clauses are of one type: the first covered one's) */
          for (unsigned i = 0; best_covers != 0 && i < query->clauses->len && i < 64; i++)
            if ((best_covers & (G_GUINT64_CONSTANT (1) << i)) != 0)
              {
                const ChartaSearchClause *covered_clause = g_ptr_array_index (query->clauses, i);

                indexed = indexed && g_strcmp0 (covered_clause->resource_type,
                                                query->resource_type) == 0;
              }

          if (covered && indexed)
            {
              sql_append (exact, best);
              *one_row = best_covers != 0;
            }
        }
    }
  for (unsigned i = 0; i < n; i++)
    sql_clear (&conds[i]);
  for (unsigned i = 0; i < candidates->len; i++)
    sql_clear (&g_array_index (candidates, Candidate, i).set);
  return ok;
}

static gboolean
count_matches (ChartaDb   *db,
               const Sql  *where,
               int64_t    *total,
               GError    **error)
{
  Sql q;
  sqlite3_stmt *stmt;
  int rc;

  sql_init (&q);
  sql_add (&q, "SELECT count(*) FROM resource r WHERE ");
  sql_append (&q, where);
  stmt = sql_prepare (db, &q, error);
  sql_clear (&q);
  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *total = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW)
    return charta_db_set_error (error, db, rc, "counting search results");
  return TRUE;
}

static ChartaDbSearchRow *
row_from_stmt (sqlite3_stmt *stmt,
               gboolean      included)
{
  ChartaDbSearchRow *row = g_new0 (ChartaDbSearchRow, 1);

  row->rid = sqlite3_column_int64 (stmt, 0);
  row->type = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  row->id = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
  row->version = sqlite3_column_int64 (stmt, 3);
  row->last_updated = sqlite3_column_int64 (stmt, 4);
  row->body = g_bytes_new (sqlite3_column_blob (stmt, 5), (gsize) sqlite3_column_bytes (stmt, 5));
  row->included = included;
  return row;
}

#define ROW_COLUMNS "r.rid, t.name, r.id, r.version, v.last_updated, v.body"
#define ROW_JOINS " JOIN rtype t ON t.tid = r.tid" \
                  " JOIN version v ON v.rid = r.rid AND v.version = r.version"

/* Adds the resources @sql (selecting ROW_COLUMNS) finds to @page, but those in @seen. */
static gboolean
collect (Compiler            *c,
         const Sql           *sql,
         ChartaDbSearchPage  *page,
         GHashTable          *seen,
         GArray              *added,
         GError             **error)
{
  ChartaDb *db = c->db;
  sqlite3_stmt *stmt = sql_prepare (db, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      int64_t rid = sqlite3_column_int64 (stmt, 0);

      if (g_hash_table_size (seen) >= c->n_matches + MAX_INCLUDED)
        break;
      if (g_hash_table_contains (seen, &rid))
        continue;
      g_hash_table_add (seen, g_memdup2 (&rid, sizeof rid));
      g_ptr_array_add (page->rows, row_from_stmt (stmt, TRUE));
      g_array_append_val (added, rid);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return charta_db_set_error (error, db, rc, "reading included resources");
  return TRUE;
}

/* "(1, 2, 3)" of @rids. */
static void
rid_list (Sql          *q,
          const GArray *rids)
{
  sql_add (q, "(");
  for (unsigned i = 0; i < rids->len; i++)
    {
      if (i > 0)
        sql_add (q, ", ");
      sql_int (q, g_array_index (rids, int64_t, i));
    }
  sql_add (q, ")");
}

/* The codes of the reference parameters (of any type) that may point to a resource of the
 * types of @from (rids of @page's rows); a set of borrowed strings. */
static GHashTable *
codes_targeting (ChartaDbSearchPage *page,
                 const GArray       *from)
{
  g_autoptr(GHashTable) rids = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GHashTable) types = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTable *codes = g_hash_table_new (g_str_hash, g_str_equal);

  for (unsigned i = 0; i < from->len; i++)
    g_hash_table_add (rids, &g_array_index (from, int64_t, i));
  for (unsigned i = 0; i < page->rows->len; i++)
    {
      ChartaDbSearchRow *row = g_ptr_array_index (page->rows, i);

      if (g_hash_table_contains (rids, &row->rid))
        g_hash_table_add (types, row->type);
    }
  for (unsigned i = 0; i < charta_model_n_search_params; i++)
    {
      const ChartaSearchParamDef *param = &charta_model_search_params[i];
      ChartaIndexSource sources[CHARTA_MAX_INDEX_SOURCES];
      GHashTableIter iter;
      gpointer type;
      gboolean targets = param->targets == NULL;
      unsigned n;

      if (param->type != CHARTA_SEARCH_TYPE_REFERENCE)
        continue;
      g_hash_table_iter_init (&iter, types);
      while (!targets && g_hash_table_iter_next (&iter, &type, NULL))
        {
          g_auto(GStrv) names = g_strsplit (param->targets, "|", -1);

          targets = g_strv_contains ((const char * const *) names, type);
        }
      if (!targets)
        continue;
      /* the rows are the stored parameters' */
      n = charta_search_param_get_sources (param, sources);
      for (unsigned k = 0; k < n; k++)
        g_hash_table_add (codes, (gpointer) sources[k].param->code);
    }
  return codes;
}

/* One round of _include / _revinclude over the resources @from (rids, all of @page). */
static gboolean
include_round (Compiler            *c,
               ChartaDbSearchPage  *page,
               GHashTable          *seen,
               const GArray        *from,
               gboolean             iterate_only,
               GArray              *added,
               GError             **error)
{
  const ChartaSearchQuery *query = c->query;

  for (unsigned i = 0; query->includes != NULL && i < query->includes->len; i++)
    {
      const ChartaSearchInclude *inc = g_ptr_array_index (query->includes, i);
      g_autofree char *x = new_alias (c, "i");
      Sql q;
      gboolean ok;

      if (iterate_only && !inc->iterate)
        continue;
      if (g_hash_table_size (seen) >= c->n_matches + MAX_INCLUDED)
        break;
      sql_init (&q);
      if (!inc->reverse)
        {
          /* the resources that the reference rows of @from point to */
          /* (each source's rows by their rowid range: an index on pid would read the
           * parameter's rows of the whole store) */
          g_string_append_printf (q.text, "SELECT " ROW_COLUMNS " FROM idx_reference %s"
                                  " NOT INDEXED"
                                  " JOIN rtype t ON t.name = %s.type"
                                  " JOIN resource r ON r.tid = t.tid AND r.id = %s.id"
                                  " JOIN version v ON v.rid = r.rid AND v.version = r.version"
                                  " WHERE r.deleted = 0 AND (", x, x, x);
          for (unsigned k = 0; k < from->len; k++)
            {
              int64_t rid = g_array_index (from, int64_t, k);

              /* (no "0 OR" first: SQLite would no longer see the ranges) */
              g_string_append_printf (q.text, "%s(%s.rowid >= ", k > 0 ? " OR " : "", x);
              sql_int (&q, rid << CHARTA_DB_ROWS_SHIFT);
              g_string_append_printf (q.text, " AND %s.rowid < ", x);
              sql_int (&q, (rid + 1) << CHARTA_DB_ROWS_SHIFT);
              sql_add (&q, ")");
            }
          sql_add (&q, ")");
          if (inc->param != NULL)
            {
              sql_add (&q, " AND ");
              if (!param_rows (&q, x, strcmp (inc->source_type, "*") == 0 ? NULL
                                      : inc->source_type, inc->param))
                sql_add (&q, "0");
            }
          else
            {
              /* *: every reference parameter of the source's type */
              g_string_append_printf (q.text, " AND %s.pid IN (SELECT pid FROM param)", x);
            }
          if (inc->target_type != NULL)
            {
              g_string_append_printf (q.text, " AND %s.type = ", x);
              sql_text (&q, inc->target_type);
            }
        }
      else
        {
          /* the resources whose reference rows point to one of @from */
          g_autofree char *f = new_alias (c, "f");
          g_autofree char *ft = new_alias (c, "ft");

          /* (CROSS JOIN keeps this order: from the sources, by rid, to the rows that name
           * them through the value index (pid, id, type)) */
          g_string_append_printf (q.text, "SELECT " ROW_COLUMNS " FROM resource %s"
                                  " CROSS JOIN rtype %s ON %s.tid = %s.tid"
                                  " CROSS JOIN idx_reference %s ON %s.id = %s.id"
                                  " AND %s.type = %s.name"
                                  " CROSS JOIN resource r ON r.rid = %s.rid" ROW_JOINS
                                  " WHERE r.deleted = 0 AND %s.rid IN ",
                                  f, ft, ft, f, x, x, f, x, ft, x, f);
          rid_list (&q, from);
          if (inc->param != NULL)
            {
              sql_add (&q, " AND ");
              if (!param_rows (&q, x, inc->source_type, inc->param))
                sql_add (&q, "0");
            }
          else
            {
              /* every reference parameter that may point to the types of @from: still a pid
               * list, so the value index serves it (a few dozen, not every pid) */
              g_autoptr(GHashTable) codes = codes_targeting (page, from);
              GHashTableIter iter;
              gpointer code;
              gboolean first = TRUE;

              g_string_append_printf (q.text, " AND %s.pid IN (SELECT pid FROM param WHERE ", x);
              if (strcmp (inc->source_type, "*") != 0)
                {
                  sql_add (&q, "type = ");
                  sql_text (&q, inc->source_type);
                  sql_add (&q, " AND ");
                }
              sql_add (&q, "code IN (");
              g_hash_table_iter_init (&iter, codes);
              while (g_hash_table_iter_next (&iter, &code, NULL))
                {
                  if (!first)
                    sql_add (&q, ", ");
                  first = FALSE;
                  sql_text (&q, code);
                }
              if (first)
                sql_add (&q, "NULL");
              sql_add (&q, "))");
            }
          if (strcmp (inc->source_type, "*") != 0)
            {
              sql_add (&q, " AND t.name = ");
              sql_text (&q, inc->source_type);
            }
          if (inc->target_type != NULL)
            {
              g_string_append_printf (q.text, " AND %s.name = ", ft);
              sql_text (&q, inc->target_type);
            }
        }
      ok = collect (c, &q, page, seen, added, error);
      sql_clear (&q);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

static gboolean
run_includes (Compiler            *c,
              ChartaDbSearchPage  *page,
              GError             **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GArray) from = g_array_new (FALSE, FALSE, sizeof (int64_t));

  if (c->query->includes == NULL || c->query->includes->len == 0 || page->rows->len == 0)
    return TRUE;
  c->n_matches = page->rows->len;
  for (unsigned i = 0; i < page->rows->len; i++)
    {
      ChartaDbSearchRow *row = g_ptr_array_index (page->rows, i);

      g_hash_table_add (seen, g_memdup2 (&row->rid, sizeof row->rid));
      g_array_append_val (from, row->rid);
    }
  for (unsigned round = 0; round < MAX_INCLUDE_ROUNDS && from->len > 0; round++)
    {
      g_autoptr(GArray) added = g_array_new (FALSE, FALSE, sizeof (int64_t));

      if (g_hash_table_size (seen) >= c->n_matches + MAX_INCLUDED)
        break;
      if (!include_round (c, page, seen, from, round > 0, added, error))
        return FALSE;
      g_array_set_size (from, 0);
      g_array_append_vals (from, added->data, added->len);
    }
  return TRUE;
}

/* The page query over the rids a page was found to hold (@rids: a JSON array, in page order,
 * one more than the page when there is a next one): their rows, in the cursor's direction. */
static void
page_by_rids (Sql        *q,
              const char *rids,
              gboolean    backward)
{
  sql_add (q, "SELECT " ROW_COLUMNS " FROM resource r" ROW_JOINS " WHERE r.rid IN"
              " (SELECT value FROM json_each (");
  sql_text (q, rids);
  sql_add (q, ")) AND r.deleted = 0");
  sql_add (q, backward ? " ORDER BY r.rid DESC" : " ORDER BY r.rid ASC");
}

/* The most targets a chain's page is merged from (each costs one index seek). */
#define MERGE_MAX_TARGETS 200

static int
compare_rids_up (gconstpointer a,
                 gconstpointer b)
{
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

  return x < y ? -1 : x > y;
}

static int
compare_rids_down (gconstpointer a,
                   gconstpointer b)
{
  return compare_rids_up (b, a);
}

/* The page query of a chain that is the query's only condition, unsorted
 * (Observation?subject:Patient.name=x).  The reference rows pointing to each target the link
 * matched are one range of the value index, in rowid (so rid) order: the first count + 1
 * resources of each range (after the cursor) are read, and the page is the first count + 1 of
 * them all, read by rid, where the general query would collect every match and sort it: the
 * cost grows with the targets (one seek each), not with the matches.  The same matches, order
 * and cursors as the general query.  *used FALSE: the query is not of that kind, or has too
 * many targets. */
static gboolean
merge_page_sql (Compiler  *c,
                int64_t    cursor_rid,
                gboolean   backward,
                unsigned   count,
                Sql       *q,
                gboolean  *used,
                GError   **error)
{
  const ChartaSearchQuery *query = c->query;
  const ChartaSearchClause *clause;
  const ChartaSearchClause *link;
  ChartaIndexSource sources[CHARTA_MAX_INDEX_SOURCES];
  g_auto(GStrv) ids = NULL;
  g_autoptr(GString) rids = NULL;
  g_autoptr(GArray) found = NULL;
  const char *json;
  unsigned n_ids, n_rids = 0;
  int id_index;
  int64_t pid;
  sqlite3_stmt *stmt;
  Sql arms;
  int rc;

  *used = FALSE;
  if ((query->sort != NULL && query->sort->len > 0) || query->clauses->len != 1
      || query->compartment_type != NULL || query->resource_type == NULL || count == 0
      || query->total == CHARTA_SEARCH_TOTAL_ACCURATE
      || query->total == CHARTA_SEARCH_TOTAL_ESTIMATE
      || query->summary == CHARTA_SEARCH_SUMMARY_COUNT)
    return TRUE;
  clause = g_ptr_array_index (query->clauses, 0);
  if (clause->chain == NULL || clause->chain->len != 1 || clause->has != NULL
      || clause->param == NULL || clause->values->len > 0
      || g_strcmp0 (clause->resource_type, query->resource_type) != 0
      || charta_search_param_get_sources (clause->param, sources) != 1)
    return TRUE;
  link = g_ptr_array_index (clause->chain, 0);

  /* the link's ids: ["a","b"…], ids being [A-Za-z0-9.-] */
  json = materialize (c, link, TRUE, error);
  if (json == NULL)
    return FALSE;
  if (strlen (json) <= 2)
    return TRUE;
  {
    g_autofree char *inner = g_strndup (json + 1, strlen (json) - 2);

    ids = g_strsplit (inner, ",", -1);
  }
  n_ids = g_strv_length (ids);
  if (n_ids > MERGE_MAX_TARGETS)
    return TRUE;

  /* the parameter's pid, looked up once ("pid IN (…)" would not keep the rowid order) */
  sql_init (&arms);
  sql_add (&arms, "SELECT pid FROM param WHERE type = ");
  sql_text (&arms, query->resource_type);
  sql_add (&arms, " AND code = ");
  sql_text (&arms, sources[0].param->code);
  stmt = sql_prepare (c->db, &arms, error);
  sql_clear (&arms);
  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  pid = rc == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : -1;
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return charta_db_set_error (error, c->db, rc, "searching a chain");
  if (pid < 0)
    return TRUE;

  /* One statement, run for each target: its first count + 1 resources after the cursor, in
   * rid order; the page's are the first count + 1 of all of them together. */
  sql_init (&arms);
  sql_add (&arms, "SELECT x.rowid FROM idx_reference x WHERE x.pid = ");
  sql_int (&arms, pid);
  sql_add (&arms, " AND x.type = ");
  sql_text (&arms, link->resource_type);
  if (sources[0].target_type != NULL)
    {
      sql_add (&arms, " AND x.type = ");
      sql_text (&arms, sources[0].target_type);
    }
  if (query->cursor != NULL)
    {
      /* strictly after (before) the cursor's resource: rowids of rid are [rid << 20, …) */
      sql_add (&arms, backward ? " AND x.rowid < " : " AND x.rowid >= ");
      sql_int (&arms, (backward ? cursor_rid : cursor_rid + 1) << CHARTA_DB_ROWS_SHIFT);
    }
  sql_add (&arms, " AND x.id = ?");
  sql_add (&arms, backward ? " ORDER BY x.rowid DESC" : " ORDER BY x.rowid ASC");
  id_index = (int) arms.binds->len + 1;
  stmt = sql_prepare (c->db, &arms, error);
  sql_clear (&arms);
  if (stmt == NULL)
    return FALSE;
  found = g_array_new (FALSE, FALSE, sizeof (int64_t));
  for (unsigned i = 0; i < n_ids; i++)
    {
      size_t length = strlen (ids[i]);
      int64_t previous = -1;
      unsigned n_target = 0;

      if (length < 2 || ids[i][0] != '"' || ids[i][length - 1] != '"')
        {
          sqlite3_finalize (stmt);
          return TRUE;
        }
      sqlite3_reset (stmt);
      sqlite3_bind_text (stmt, id_index, ids[i] + 1, (int) length - 2, SQLITE_STATIC);
      while (n_target <= count && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          int64_t rid = sqlite3_column_int64 (stmt, 0) >> CHARTA_DB_ROWS_SHIFT;

          /* (a resource's rows for one target come together) */
          if (rid == previous)
            continue;
          previous = rid;
          g_array_append_val (found, rid);
          n_target++;
        }
      if (n_target <= count && rc != SQLITE_DONE)
        {
          sqlite3_finalize (stmt);
          return charta_db_set_error (error, c->db, rc, "searching a chain");
        }
    }
  sqlite3_finalize (stmt);
  g_array_sort (found, backward ? compare_rids_down : compare_rids_up);
  rids = g_string_new ("[");
  for (unsigned i = 0; i < found->len && n_rids <= count; i++)
    {
      int64_t rid = g_array_index (found, int64_t, i);

      /* (a resource that points to several targets is found once per target) */
      if (i > 0 && rid == g_array_index (found, int64_t, i - 1))
        continue;
      g_string_append_printf (rids, "%s%" G_GINT64_FORMAT, n_rids > 0 ? "," : "", (gint64) rid);
      n_rids++;
    }
  g_string_append_c (rids, ']');

  /* the page (and one more, to know there is a next one), in the cursor's direction */
  page_by_rids (q, rids->str, backward);
  *used = TRUE;
  return TRUE;
}

/* The page query when the driving set is exactly the matches (build_filter()'s @exact) and
 * nothing is sorted: the set's first count + 1 resources after the cursor, in rid order, are
 * taken from it with a sort that keeps only them (SQLite's LIMIT on ORDER BY), where the
 * general query puts every match in a temporary index first; then read by rid.  A resource
 * with several rows (@one_row FALSE) is met once per row, together: when that leaves fewer
 * than count + 1 resources from a full read, the read is made again, longer. */
static gboolean
driven_page_sql (Compiler  *c,
                 const Sql *exact,
                 gboolean   one_row,
                 int64_t    cursor_rid,
                 gboolean   backward,
                 unsigned   count,
                 Sql       *q,
                 GError   **error)
{
  const ChartaSearchQuery *query = c->query;
  g_autoptr(GString) rids = NULL;
  unsigned limit = one_row ? count + 1 : 2 * (count + 1);

  for (;;)
    {
      Sql read;
      sqlite3_stmt *stmt;
      unsigned n_rows = 0, n_rids = 0;
      int64_t previous = -1;
      int rc;

      sql_init (&read);
      sql_add (&read, "WITH d (rid) AS (");
      sql_append (&read, exact);
      sql_add (&read, ") SELECT rid FROM d");
      if (query->cursor != NULL)
        {
          sql_add (&read, backward ? " WHERE rid < " : " WHERE rid > ");
          sql_int (&read, cursor_rid);
        }
      g_string_append_printf (read.text, " ORDER BY rid %s LIMIT %u",
                              backward ? "DESC" : "ASC", limit);
      stmt = sql_prepare (c->db, &read, error);
      sql_clear (&read);
      if (stmt == NULL)
        return FALSE;
      if (rids != NULL)
        g_string_free (g_steal_pointer (&rids), TRUE);
      rids = g_string_new ("[");
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          int64_t rid = sqlite3_column_int64 (stmt, 0);

          n_rows++;
          if (rid == previous || n_rids > count)
            continue;
          previous = rid;
          g_string_append_printf (rids, "%s%" G_GINT64_FORMAT, n_rids > 0 ? "," : "",
                                  (gint64) rid);
          n_rids++;
        }
      sqlite3_finalize (stmt);
      if (rc != SQLITE_DONE)
        return charta_db_set_error (error, c->db, rc, "searching");
      /* enough, or all there is */
      if (n_rids > count || n_rows < limit)
        break;
      limit *= 4;
    }
  g_string_append_c (rids, ']');

  page_by_rids (q, rids->str, backward);
  return TRUE;
}

/* Interrupts the search's statements once its time is up. */
static int
past_deadline (void *data)
{
  const int64_t *deadline = data;

  return g_get_monotonic_time () > *deadline;
}

gboolean
charta_db_search (ChartaDb                *db,
                  const ChartaSearchQuery *query,
                  unsigned                 count,
                  int64_t                  timeout_usec,
                  ChartaDbSearchPage      *page,
                  GError                 **error)
{
  int64_t deadline = timeout_usec > 0 ? g_get_monotonic_time () + timeout_usec : G_MAXINT64;
  Compiler c = { db, query, 0, NULL, 0, &deadline };
  Sql where, q;
  g_autoptr(GArray) cursor_keys = g_array_new (FALSE, TRUE, sizeof (Bind));
  unsigned n_sort = query->sort != NULL ? query->sort->len : 0;
  int64_t cursor_rid = 0;
  gboolean backward = FALSE;
  sqlite3_stmt *stmt;
  unsigned n_matches = 0;
  int rc;
  gboolean ok = TRUE;
  gboolean merged = FALSE;
  gboolean one_row = FALSE;
  Sql exact = { NULL, NULL };

  g_array_set_clear_func (cursor_keys, bind_clear);
  memset (page, 0, sizeof *page);
  page->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) search_row_free);
  page->total = -1;

  if (query->cursor != NULL
      && !cursor_decode (query, query->cursor, n_sort, &cursor_rid, cursor_keys, &backward,
                         error))
    return FALSE;

  /* One read transaction: the count, the page and its includes see one state. */
  if (sqlite3_exec (charta_db_get_handle (db), "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return charta_db_set_error (error, db, sqlite3_errcode (charta_db_get_handle (db)),
                                "starting a search");
  sqlite3_progress_handler (charta_db_get_handle (db), 1000, past_deadline, &deadline);

  sql_init (&where);
  sql_init (&q);
  if (!merge_page_sql (&c, cursor_rid, backward, count, &q, &merged, error))
    {
      ok = FALSE;
      goto out;
    }
  if (merged)
    goto page;
  sql_init (&exact);
  if (!build_filter (&c, &where, &exact, &one_row, error))
    {
      sql_clear (&exact);
      ok = FALSE;
      goto out;
    }

  /* (_count=0 asks for no resources: like _summary=count, the total is the answer) */
  if (query->total == CHARTA_SEARCH_TOTAL_ACCURATE || query->total == CHARTA_SEARCH_TOTAL_ESTIMATE
      || query->summary == CHARTA_SEARCH_SUMMARY_COUNT
      || (count == 0 && query->total != CHARTA_SEARCH_TOTAL_NONE))
    {
      if (!count_matches (db, &where, &page->total, error))
        {
          ok = FALSE;
          goto out;
        }
    }
  if (query->summary == CHARTA_SEARCH_SUMMARY_COUNT || count == 0)
    {
      sql_clear (&exact);
      goto out;
    }
  if (n_sort == 0 && exact.text->len > 0)
    {
      ok = driven_page_sql (&c, &exact, one_row, cursor_rid, backward, count, &q, error);
      sql_clear (&exact);
      if (!ok)
        goto out;
      goto page;
    }
  sql_clear (&exact);

  /* SELECT … FROM (SELECT r.rid AS rid, keys… FROM resource r WHERE filter) ORDER BY keys, rid */
  sql_add (&q, "SELECT " ROW_COLUMNS);
  for (unsigned k = 0; k < n_sort; k++)
    g_string_append_printf (q.text, ", m.k%u", k);
  sql_add (&q, " FROM (SELECT r.rid AS rid");
  for (unsigned k = 0; k < n_sort; k++)
    {
      const ChartaSearchSort *sort = g_ptr_array_index (query->sort, k);

      /* missing values last: a blob sorts after every text and number, -inf before */
      sql_add (&q, sort->descending ? ", ifnull (" : ", ifnull (");
      sort_key (&c, sort, "r", &q);
      g_string_append_printf (q.text, ", %s) AS k%u", sort->descending ? "-9e999" : "x'ff'", k);
    }
  sql_add (&q, " FROM resource r WHERE ");
  sql_append (&q, &where);
  sql_add (&q, ") m JOIN resource r ON r.rid = m.rid" ROW_JOINS);
  if (query->cursor != NULL)
    {
      /* strictly after the cursor's keys and rid (before them, for a backward cursor) */
      sql_add (&q, " WHERE (0");
      for (unsigned k = 0; k <= n_sort; k++)
        {
          sql_add (&q, " OR (1");
          for (unsigned j = 0; j < k; j++)
            {
              g_string_append_printf (q.text, " AND m.k%u = ", j);
              sql_bind_copy (&q, &g_array_index (cursor_keys, Bind, j));
            }
          if (k < n_sort)
            {
              const ChartaSearchSort *sort = g_ptr_array_index (query->sort, k);

              g_string_append_printf (q.text, " AND m.k%u %s ", k,
                                      sort->descending != backward ? "<" : ">");
              sql_bind_copy (&q, &g_array_index (cursor_keys, Bind, k));
            }
          else
            {
              sql_add (&q, backward ? " AND m.rid < " : " AND m.rid > ");
              sql_int (&q, cursor_rid);
            }
          sql_add (&q, ")");
        }
      sql_add (&q, ")");
    }
  sql_add (&q, " ORDER BY ");
  for (unsigned k = 0; k < n_sort; k++)
    {
      const ChartaSearchSort *sort = g_ptr_array_index (query->sort, k);

      g_string_append_printf (q.text, "m.k%u %s, ", k,
                              sort->descending != backward ? "DESC" : "ASC");
    }
  g_string_append_printf (q.text, "m.rid %s LIMIT %u", backward ? "DESC" : "ASC", count + 1);

page:
  stmt = sql_prepare (db, &q, error);
  if (stmt == NULL)
    {
      ok = FALSE;
      goto out;
    }
  {
    /* The cursors of the page's first and last match: the previous page ends before the
     * first, the next starts after the last.  A backward page's rows come last first. */
    g_autofree char *first = NULL;
    g_autofree char *last = NULL;

    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      {
        int64_t rid = sqlite3_column_int64 (stmt, 0);

        if (n_matches == count)
          break;
        g_ptr_array_add (page->rows, row_from_stmt (stmt, FALSE));
        n_matches++;
        if (n_matches == 1)
          {
            if (backward)
              last = cursor_encode (query, stmt, 6, n_sort, rid, FALSE);
            else
              first = cursor_encode (query, stmt, 6, n_sort, rid, TRUE);
          }
        if (n_matches == count)
          {
            g_free (backward ? first : last);
            if (backward)
              first = cursor_encode (query, stmt, 6, n_sort, rid, TRUE);
            else
              last = cursor_encode (query, stmt, 6, n_sort, rid, FALSE);
          }
      }
    sqlite3_finalize (stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      {
        ok = charta_db_set_error (error, db, rc, "searching");
        goto out;
      }
    if (backward)
      {
        /* in page order; a page before exists when a match was left over, and the page
         * after always does (the cursor's match, at least, unless it was deleted since; an
         * empty page before has neither) */
        for (unsigned i = 0, j = page->rows->len; i + 1 < j; i++, j--)
          {
            gpointer t = page->rows->pdata[i];

            page->rows->pdata[i] = page->rows->pdata[j - 1];
            page->rows->pdata[j - 1] = t;
          }
        if (rc == SQLITE_ROW && n_matches > 0)
          page->prev_cursor = g_steal_pointer (&first);
        if (n_matches > 0)
          page->next_cursor = g_steal_pointer (&last);
      }
    else
      {
        if (rc == SQLITE_ROW && n_matches > 0)
          page->next_cursor = g_steal_pointer (&last);
        /* a page reached by a cursor has matches before it */
        if (query->cursor != NULL && n_matches > 0)
          page->prev_cursor = g_steal_pointer (&first);
      }
  }
  if (page->next_cursor != NULL || query->cursor != NULL)
    ;
  else if (query->total == CHARTA_SEARCH_TOTAL_DEFAULT)
    page->total = n_matches;  /* everything fits in the first page */

  if (!run_includes (&c, page, error))
    ok = FALSE;

out:
  sqlite3_progress_handler (charta_db_get_handle (db), 0, NULL, NULL);
  if (!ok && g_get_monotonic_time () > deadline && error != NULL && *error != NULL
      && g_error_matches (*error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_IO))
    {
      /* the interruption: say what happened, not SQLite's "interrupted" */
      g_clear_error (error);
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_TIMEOUT,
                   "the search took longer than %.1f s and was stopped; narrow it",
                   timeout_usec / 1e6);
    }
  g_clear_pointer (&c.materialized, g_hash_table_unref);
  sql_clear (&where);
  sql_clear (&exact);
  sql_clear (&q);
  sqlite3_exec (charta_db_get_handle (db), "COMMIT", NULL, NULL, NULL);
  if (!ok)
    charta_db_search_page_clear (page);
  return ok;
}
