/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-cmd-search.c: `charta search [--pretty|--compact] [--strict] STORE 'Type?query'`.
 *
 * Runs a FHIR search on a store and prints the searchset Bundle, as the REST endpoint would
 * answer GET [base]/Type?query: total, the self and next links (relative URLs: run the next
 * link's query to get the next page), the matching resources and what _include/_revinclude
 * bring.  The request may be a type search ("Observation?code=http://loinc.org|8480-6"), a
 * compartment search ("Patient/7/Observation?…") or a search of the whole store
 * ("?_type=Patient,Practitioner&_lastUpdated=gt2024"); the query is written as in a URL
 * (percent-encoded; a shell needs it quoted).  Unknown parameters are ignored and named in an
 * OperationOutcome entry, or are an error with --strict.
 *
 * Exit status: 0 printed; 1 for a query the store cannot answer or a store that cannot be
 * opened; 2 for a usage error or a malformed query (the message names the parameter).
 */
#define G_LOG_DOMAIN "charta-cmd-search"

#include <stdio.h>
#include <string.h>

#include "charta-cmd-util.h"
#include "charta-cmds.h"

/* Splits "Type?query", "Patient/7/Observation?query" or "?query" into its parts. */
static gboolean
split_request (const char  *request,
               char       **type,
               char       **compartment_type,
               char       **compartment_id,
               char       **query,
               GError     **error)
{
  const char *mark = strchr (request, '?');
  g_autofree char *path = mark != NULL ? g_strndup (request, (size_t) (mark - request))
                                       : g_strdup (request);
  g_auto(GStrv) parts = NULL;
  unsigned n;

  *query = g_strdup (mark != NULL ? mark + 1 : "");
  *type = *compartment_type = *compartment_id = NULL;
  while (g_str_has_prefix (path, "/"))
    memmove (path, path + 1, strlen (path));
  if (*path == '\0')
    return TRUE;
  parts = g_strsplit (path, "/", -1);
  n = g_strv_length (parts);
  if (n != 1 && n != 3)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "“%s” is not Type?query, Compartment/id/Type?query or ?query", request);
      return FALSE;
    }
  for (unsigned i = 0; i < n; i += 2)
    if (!charta_model_is_resource_type (parts[i]))
      {
        g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                     "“%s” is not an R4 resource type", parts[i]);
        return FALSE;
      }
  if (n == 1)
    *type = g_strdup (parts[0]);
  else
    {
      *compartment_type = g_strdup (parts[0]);
      *compartment_id = g_strdup (parts[1]);
      *type = g_strdup (parts[2]);
    }
  return TRUE;
}

int
charta_cmd_search (int    argc,
                   char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(ChartaSearchQuery) query = NULL;
  g_autoptr(ChartaSearchResult) result = NULL;
  g_autoptr(GBytes) bundle = NULL;
  g_auto(GStrv) args = NULL;
  g_autofree char *type = NULL;
  g_autofree char *compartment_type = NULL;
  g_autofree char *compartment_id = NULL;
  g_autofree char *text = NULL;
  g_autofree char *path = NULL;
  gboolean opt_pretty = FALSE, opt_compact = FALSE, opt_strict = FALSE, pretty;
  const char *data;
  gsize length;
  const GOptionEntry entries[] = {
    { "pretty", 'p', 0, G_OPTION_ARG_NONE, &opt_pretty, "Indent the JSON", NULL },
    { "compact", 'c', 0, G_OPTION_ARG_NONE, &opt_compact, "Print the JSON on one line", NULL },
    { "strict", 's', 0, G_OPTION_ARG_NONE, &opt_strict,
      "Refuse unknown parameters (as Prefer: handling=strict)", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &args, NULL, "STORE 'Type?query'" },
    { NULL },
  };

  g_set_prgname ("charta search");
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                "Searches a store as GET [base]/Type?query would, and prints the "
                                "searchset Bundle.\nExamples:\n"
                                "  charta search clinic.charta 'Patient?name=smith&birthdate=ge1970'\n"
                                "  charta search clinic.charta 'Patient/7/Observation?code=http://loinc.org|8480-6&_sort=-date'\n"
                                "  charta search clinic.charta '?_type=Patient&_lastUpdated=gt2024-01-01'");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "charta search: %s\nTry 'charta search --help'.\n", error->message);
      return CHARTA_EXIT_USAGE;
    }
  if (args == NULL || g_strv_length (args) != 2)
    {
      fprintf (stderr, "charta search: expected STORE and 'Type?query'\n"
                       "Usage: charta search [--pretty|--compact] [--strict] STORE 'Type?query'\n");
      return CHARTA_EXIT_USAGE;
    }
  if (opt_pretty && opt_compact)
    {
      fprintf (stderr, "charta search: --pretty and --compact exclude each other\n");
      return CHARTA_EXIT_USAGE;
    }
  pretty = opt_pretty || (!opt_compact && charta_cmd_stdout_is_tty ());

  if (!split_request (args[1], &type, &compartment_type, &compartment_id, &text, &error))
    {
      fprintf (stderr, "charta search: %s\n", error->message);
      return CHARTA_EXIT_USAGE;
    }
  query = charta_search_query_parse (type, text,
                                     opt_strict ? CHARTA_SEARCH_QUERY_STRICT
                                                : CHARTA_SEARCH_QUERY_DEFAULT,
                                     &error);
  if (query == NULL)
    {
      fprintf (stderr, "charta search: %s\n", error->message);
      return CHARTA_EXIT_USAGE;
    }
  query->compartment_type = g_strdup (compartment_type);
  query->compartment_id = g_strdup (compartment_id);

  store = charta_cmd_open_store (args[0], CHARTA_STORE_FLAGS_READ_ONLY, &error);
  if (store == NULL)
    {
      charta_cmd_print_error (args[0], error);
      return CHARTA_EXIT_INVALID;
    }
  result = charta_store_search (store, query, &error);
  if (result == NULL)
    {
      fprintf (stderr, "charta search: %s\n", error->message);
      return CHARTA_EXIT_INVALID;
    }

  if (compartment_type != NULL)
    path = g_strdup_printf ("%s/%s/%s", compartment_type, compartment_id, type);
  else
    path = g_strdup (type != NULL ? type : "");
  bundle = charta_search_result_to_bundle (result, query, NULL, path);
  data = g_bytes_get_data (bundle, &length);
  if (pretty)
    {
      g_autoptr(ChartaResource) parsed = charta_resource_new_from_bytes (bundle, NULL, &error);
      g_autofree char *json = NULL;
      size_t json_length = 0;

      if (parsed == NULL)
        {
          fprintf (stderr, "charta search: the Bundle does not parse: %s\n", error->message);
          return CHARTA_EXIT_INVALID;
        }
      json = charta_resource_to_json (parsed, TRUE, &json_length);
      fwrite (json, 1, json_length, stdout);
    }
  else
    fwrite (data, 1, length, stdout);
  fputc ('\n', stdout);
  return CHARTA_EXIT_OK;
}
