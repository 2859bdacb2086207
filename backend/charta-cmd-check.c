/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-cmd-check.c: `charta check [--counts] STORE`.
 *
 * Runs charta_store_check(): the engine's integrity check; every current version parses and
 * validates; every version (but those of Provenance and AuditEvent) has its Provenance; the
 * search-index rows of every current version equal a fresh extraction, and deleted or
 * superseded versions have none.  Prints each problem as "STORE: message", then a summary;
 * --counts also prints the number of current resources of each type.  The store is opened
 * read-only: check never changes it.
 *
 * Exit status: 0 only when the store is clean; 1 when any problem was found or the store
 * cannot be read; 2 for a usage error.
 */
#define G_LOG_DOMAIN "charta-cmd-check"

#include <stdio.h>
#include <string.h>

#include "charta-cmd-util.h"
#include "charta-cmds.h"

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* "STORE: [warning: ]line" for each line of @text (SQLite's integrity report has several). */
static void
print_lines (const char *path,
             const char *kind,
             const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (unsigned i = 0; lines[i] != NULL; i++)
    if (*lines[i] != '\0')
      printf ("%s: %s%s\n", path, kind, lines[i]);
}

int
charta_cmd_check (int    argc,
                  char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(ChartaOutcome) outcome = NULL;
  g_autoptr(GHashTable) counts = NULL;
  g_auto(GStrv) args = NULL;
  gboolean opt_counts = FALSE;
  gboolean clean;
  const char *path;
  unsigned n_issues, n_problems = 0;
  int64_t n_resources = 0;
  const GOptionEntry entries[] = {
    { "counts", 0, 0, G_OPTION_ARG_NONE, &opt_counts,
      "Print the number of current resources of each type", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL, "STORE" },
    { NULL },
  };

  g_set_prgname ("charta check");
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                "Verifies a store: the database's integrity, that every current "
                                "version parses and\nvalidates, that every version has its "
                                "Provenance, and that the search index matches\nthe resources.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "charta check: %s\nTry 'charta check --help'.\n", error->message);
      return CHARTA_EXIT_USAGE;
    }
  if (args == NULL || args[0] == NULL || args[1] != NULL)
    {
      fprintf (stderr, "charta check: expected one STORE\nUsage: charta check [--counts] STORE\n");
      return CHARTA_EXIT_USAGE;
    }
  path = args[0];

  store = charta_cmd_open_store (path, CHARTA_STORE_FLAGS_READ_ONLY, &error);
  if (store == NULL)
    {
      charta_cmd_print_error (path, error);
      return CHARTA_EXIT_INVALID;
    }

  outcome = charta_outcome_new ();
  clean = charta_store_check (store, outcome, &error);

  n_issues = charta_outcome_get_n_issues (outcome);
  for (unsigned i = 0; i < n_issues; i++)
    {
      const ChartaIssue *issue = charta_outcome_get_issue (outcome, i);

      if (issue->severity == CHARTA_ISSUE_ERROR || issue->severity == CHARTA_ISSUE_FATAL)
        {
          print_lines (path, "", issue->diagnostics);
          n_problems++;
        }
      else if (issue->severity == CHARTA_ISSUE_WARNING)
        print_lines (path, "warning: ", issue->diagnostics);
    }
  if (error != NULL)
    {
      fflush (stdout);
      charta_cmd_print_error (path, error);
      return CHARTA_EXIT_INVALID;
    }

  counts = charta_store_count_by_type (store, &error);
  if (counts != NULL)
    {
      g_autoptr(GPtrArray) types = g_ptr_array_new ();
      GHashTableIter iter;
      gpointer key, value;

      g_hash_table_iter_init (&iter, counts);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          g_ptr_array_add (types, key);
          n_resources += *(int64_t *) value;
        }
      g_ptr_array_sort (types, compare_strings);
      if (opt_counts)
        for (unsigned i = 0; i < types->len; i++)
          printf ("%s %" G_GINT64_FORMAT "\n", (char *) types->pdata[i],
                  *(int64_t *) g_hash_table_lookup (counts, types->pdata[i]));
    }
  else
    {
      fflush (stdout);
      charta_cmd_print_error (path, error);
      return CHARTA_EXIT_INVALID;
    }

  if (clean && n_problems == 0)
    {
      printf ("%s: OK, %" G_GINT64_FORMAT " current resources of %u types\n", path, n_resources,
              g_hash_table_size (counts));
      return CHARTA_EXIT_OK;
    }
  printf ("%s: %u problem%s found\n", path, MAX (n_problems, 1u), n_problems == 1 ? "" : "s");
  return CHARTA_EXIT_INVALID;
}
