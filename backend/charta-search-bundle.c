/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-search-bundle.c: a search result as a FHIR searchset Bundle.
 *
 * The Bundle is written as text around the resources' JSON, which is copied as stored (or as
 * _summary/_elements cut it): a page of results costs no parsing.  Links are made from the
 * query's own parameters (charta_search_query_to_string()), so that a client following `next`
 * asks the same question for the next page.
 */
#define G_LOG_DOMAIN "charta-search"

#include <string.h>

#include "charta-store.h"

static void
append_json_string (GString    *out,
                    const char *text)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);
  g_autofree char *quoted = NULL;

  json_node_set_string (node, text);
  quoted = json_to_string (node, FALSE);
  g_string_append (out, quoted);
}

/* "@base/@path?@params" (without @base when NULL, without '?' when @params is empty). */
static char *
link_url (const char *base,
          const char *path,
          const char *params,
          const char *cursor)
{
  GString *url = g_string_new (NULL);

  if (base != NULL)
    {
      g_string_append (url, base);
      if (url->len > 0 && url->str[url->len - 1] != '/')
        g_string_append_c (url, '/');
    }
  g_string_append (url, path);
  if ((params != NULL && *params != '\0') || cursor != NULL)
    g_string_append_c (url, '?');
  if (params != NULL)
    g_string_append (url, params);
  if (cursor != NULL)
    {
      g_autofree char *escaped = g_uri_escape_string (cursor, NULL, FALSE);

      if (params != NULL && *params != '\0')
        g_string_append_c (url, '&');
      g_string_append (url, "_cursor=");
      g_string_append (url, escaped);
    }
  return g_string_free (url, FALSE);
}

static void
append_link (GString    *out,
             gboolean   *first,
             const char *relation,
             const char *url)
{
  if (!*first)
    g_string_append_c (out, ',');
  *first = FALSE;
  g_string_append (out, "{\"relation\":");
  append_json_string (out, relation);
  g_string_append (out, ",\"url\":");
  append_json_string (out, url);
  g_string_append_c (out, '}');
}

/* The type and id of a resource's JSON, read from the resource (lazily parsed only if it
 * was not made knowing them). */
static void
append_full_url (GString          *out,
                 const char       *base,
                 ChartaResource   *resource)
{
  g_autofree char *url = NULL;

  if (charta_resource_get_id (resource) == NULL)
    return;
  url = g_strdup_printf ("%s%s%s/%s", base != NULL ? base : "",
                         base != NULL && *base != '\0' && !g_str_has_suffix (base, "/") ? "/"
                                                                                       : "",
                         charta_resource_get_resource_type (resource),
                         charta_resource_get_id (resource));
  g_string_append (out, "\"fullUrl\":");
  append_json_string (out, url);
  g_string_append_c (out, ',');
}

GBytes *
charta_search_result_to_bundle (const ChartaSearchResult *result,
                                const ChartaSearchQuery  *query,
                                const char               *base,
                                const char               *path)
{
  GString *out = g_string_sized_new (1024);
  g_autofree char *params = NULL;
  gboolean first = TRUE;

  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (query != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);

  params = charta_search_query_to_string (query);
  g_string_append (out, "{\"resourceType\":\"Bundle\",\"type\":\"searchset\"");
  if (result->total >= 0)
    g_string_append_printf (out, ",\"total\":%" G_GINT64_FORMAT, result->total);

  g_string_append (out, ",\"link\":[");
  {
    g_autofree char *self_url = link_url (base, path, params, query->cursor);

    append_link (out, &first, "self", self_url);
  }
  if (result->next_cursor != NULL)
    {
      g_autofree char *next_url = link_url (base, path, params, result->next_cursor);

      append_link (out, &first, "next", next_url);
    }
  if (result->prev_cursor != NULL)
    {
      g_autofree char *prev_url = link_url (base, path, params, result->prev_cursor);

      append_link (out, &first, "previous", prev_url);
    }
  g_string_append_c (out, ']');

  /* (no "entry" at all for a page without entries: FHIR JSON has no empty arrays) */
  if (result->entries->len == 0 && (query->unknown == NULL || query->unknown->len == 0))
    {
      g_string_append_c (out, '}');
      return g_string_free_to_bytes (out);
    }
  first = TRUE;
  g_string_append (out, ",\"entry\":[");
  for (unsigned i = 0; i < result->entries->len; i++)
    {
      const ChartaSearchEntry *entry = g_ptr_array_index (result->entries, i);
      gsize length;
      const char *json = g_bytes_get_data (entry->json, &length);

      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      g_string_append_c (out, '{');
      append_full_url (out, base, entry->resource);
      g_string_append (out, "\"resource\":");
      g_string_append_len (out, json, (gssize) length);
      g_string_append (out, ",\"search\":{\"mode\":");
      append_json_string (out, entry->mode == CHARTA_SEARCH_MODE_MATCH ? "match" : "include");
      g_string_append (out, "}}");
    }
  if (query->unknown != NULL && query->unknown->len > 0)
    {
      /* what was ignored, so that the client knows the result is wider than it asked */
      if (!first)
        g_string_append_c (out, ',');
      g_string_append (out, "{\"resource\":{\"resourceType\":\"OperationOutcome\",\"issue\":[");
      for (unsigned i = 0; i < query->unknown->len; i++)
        {
          g_autofree char *text = g_strdup_printf ("unknown search parameter “%s” ignored",
                                                   (const char *) g_ptr_array_index (
                                                     query->unknown, i));

          if (i > 0)
            g_string_append_c (out, ',');
          g_string_append (out, "{\"severity\":\"warning\",\"code\":\"not-supported\","
                                "\"diagnostics\":");
          append_json_string (out, text);
          g_string_append_c (out, '}');
        }
      g_string_append (out, "]},\"search\":{\"mode\":\"outcome\"}}");
    }
  g_string_append (out, "]}");
  return g_string_free_to_bytes (out);
}
