/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-search-oracle.c: search against values that another FHIRPath engine extracted.
 *
 * tests/data/search-oracle-fixture.json (made by tools/fhirpath-js/gen-search-oracle.js with
 * fhirpath.js 5.2.0 over the r4-examples) holds thousands of (example, parameter, query)
 * cases across every parameter type: "match" is a query that must find the example, built from
 * a value fhirpath.js found in it; "no_match" one of the same parameter that must not.  Every
 * valid example is stored (with its own id), then each case is searched twice, narrowed to the
 * example (`&_id=…`: exactly it, or nothing), and, for one case in eight, over the whole type
 * (the example among all the pages of results), which makes the parameter's own condition the
 * one that drives the query.
 */
#define G_LOG_DOMAIN "charta-test"

#include <string.h>

#include "charta-test-store-util.h"

typedef struct
{
  ChartaTestStore store;
} Fixture;

/* Whether "Type?@text" finds @id (all pages), or with @narrow, finds exactly @id. */
static gboolean
finds (ChartaStore  *store,
       const char   *type,
       const char   *text,
       const char   *id,
       gboolean      narrow,
       char        **error_message)
{
  g_autofree char *cursor = NULL;
  g_autofree char *full = narrow ? g_strdup_printf ("%s&_id=%s", text, id) : g_strdup (text);
  gboolean found = FALSE;
  unsigned pages = 0;

  do
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ChartaSearchQuery) query = charta_search_query_parse (type, full, 0, &error);
      g_autoptr(ChartaSearchResult) result = NULL;

      if (query != NULL)
        {
          query->cursor = g_steal_pointer (&cursor);
          if (!narrow && query->count < 0)
            query->count = 1000;
          result = charta_store_search (store, query, &error);
        }
      if (result == NULL)
        {
          *error_message = g_strdup (error->message);
          return FALSE;
        }
      for (unsigned i = 0; i < result->entries->len; i++)
        {
          ChartaSearchEntry *entry = g_ptr_array_index (result->entries, i);

          if (entry->mode != CHARTA_SEARCH_MODE_MATCH)
            continue;
          if (g_strcmp0 (charta_resource_get_id (entry->resource), id) == 0)
            found = TRUE;
          else if (narrow)
            {
              *error_message = g_strdup_printf ("found %s too",
                                                charta_resource_get_id (entry->resource));
              return FALSE;
            }
        }
      cursor = g_strdup (result->next_cursor);
    }
  while (cursor != NULL && ++pages < 1000);
  return found;
}

static void
test_oracle (void)
{
  g_autofree char *fixture_path = g_build_filename (g_getenv ("CHARTA_TEST_DATA"),
                                                    "search-oracle-fixture.json", NULL);
  g_autofree char *dir = NULL;
  g_autoptr(GHashTable) invalid = NULL;
  g_autoptr(GPtrArray) names = charta_test_list_valid_examples (&dir, &invalid);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) stored = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  ChartaTestStore f;
  JsonArray *cases;
  unsigned n_match = 0, n_no_match = 0, n_wide = 0, n_failed = 0;
  unsigned by_type[CHARTA_SEARCH_TYPE_SPECIAL + 1] = { 0 };
  const char *type_names[] = { "number", "date", "string", "token", "reference", "composite",
                               "quantity", "uri", "special" };

  if (names == NULL)
    return;
  g_assert_true (json_parser_load_from_file (parser, fixture_path, &error));
  g_assert_no_error (error);
  cases = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                        "cases");
  g_assert_cmpuint (json_array_get_length (cases), >=, 1000);

  charta_test_store_set_up (&f, NULL);
  for (unsigned i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      g_autoptr(ChartaResource) resource = charta_test_load_resource (path);
      g_autoptr(ChartaResource) result = NULL;

      if (charta_resource_get_id (resource) == NULL)
        continue;
      result = charta_store_update (f.store, resource, 0, NULL, NULL, &error);
      g_assert_no_error (error);
      g_hash_table_add (stored, g_strdup (names->pdata[i]));
    }

  for (unsigned i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      const char *file = json_object_get_string_member (c, "file");
      const char *type = json_object_get_string_member (c, "type");
      const char *id = json_object_get_string_member (c, "id");
      const char *param = json_object_get_string_member (c, "param");
      const char *match = json_object_get_string_member (c, "match");
      const char *no_match = json_object_get_string_member (c, "no_match");
      const ChartaSearchParamDef *def = charta_model_lookup_search_param (type, param);
      g_autofree char *message = NULL;
      gboolean ok;

      g_assert_true (g_hash_table_contains (stored, file));
      g_assert_nonnull (def);
      by_type[def->type]++;

      ok = finds (f.store, type, match, id, TRUE, &message);
      n_match++;
      if (ok && i % 8 == 0)
        {
          ok = finds (f.store, type, match, id, FALSE, &message);
          n_wide++;
        }
      if (ok && message == NULL)
        {
          ok = !finds (f.store, type, no_match, id, TRUE, &message) && message == NULL;
          n_no_match++;
          if (!ok)
            message = message != NULL ? message : g_strdup ("the no_match query found it");
        }
      if (!ok)
        {
          g_autofree char *key = g_strdup_printf ("%s.%s", type, param);

          if (n_failed < 40)
            g_test_message ("%s %s?%s | %s: %s", file, type, match, no_match,
                            message != NULL ? message : "not found");
          g_hash_table_replace (failures, g_steal_pointer (&key), NULL);
          n_failed++;
        }
    }

  g_test_message ("%u cases: %u match queries (%u also over the whole type), %u no-match "
                  "queries; %u failed, over %u parameters", json_array_get_length (cases),
                  n_match, n_wide, n_no_match, n_failed, g_hash_table_size (failures));
  for (unsigned t = 0; t < G_N_ELEMENTS (by_type); t++)
    if (by_type[t] > 0)
      g_test_message ("  %-10s %u", type_names[t], by_type[t]);
  charta_test_store_tear_down (&f, NULL);
  g_assert_cmpuint (n_failed, ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/charta/backend/search-oracle/r4-examples", test_oracle);
  return g_test_run ();
}
