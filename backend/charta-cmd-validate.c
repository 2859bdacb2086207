/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-cmd-validate.c: `charta validate [--max-bytes N] [--max-depth N] FILE|DIR…`.
 *
 * Checks resources (.json, one resource or a Bundle whose entries are validated as nested
 * resources), NDJSON files (.ndjson, one resource per line) and directories (recursively, their
 * .json and .ndjson files, in name order; symbolic links to directories are not followed).
 * Every problem is printed on standard output as "FILE: PATH: message" ("FILE:LINE: …" in
 * NDJSON), then a summary line "N files, N resources, N valid, N invalid".
 *
 * Memory stays bounded whatever the input: a .json file larger than --max-bytes is refused
 * from its size before any byte is read (charta_resource_read_file()), and NDJSON is streamed
 * in chunks, a line at a time, a line longer than --max-bytes being skipped without being held
 * (charta_resource_parse_ndjson_file()).
 *
 * Exit status: 0 when every resource is valid, 1 when anything is invalid or unreadable, 2 for
 * a usage error.
 */
#define G_LOG_DOMAIN "charta-cmd-validate"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "charta-cmds.h"
#include "charta-fhir.h"

/* The deepest nesting --max-depth may allow: deeper JSON than this is no resource, and the
 * parser and the validator recurse once per level. */
#define MAX_DEPTH 1000

typedef struct
{
  ChartaParseLimits limits;
  gboolean warnings;       /* print warning-severity issues too */
  unsigned n_files;
  unsigned n_resources;
  unsigned n_valid;
  unsigned n_invalid;
  unsigned n_unreadable;   /* files that could not be read at all */
} Run;

/* Prints the issues of @outcome, each prefixed with @where ("FILE" or "FILE:LINE"). */
static void
print_outcome (Run           *run,
               const char    *where,
               ChartaOutcome *outcome)
{
  unsigned n = charta_outcome_get_n_issues (outcome);

  for (unsigned i = 0; i < n; i++)
    {
      const ChartaIssue *issue = charta_outcome_get_issue (outcome, i);

      if (issue->severity == CHARTA_ISSUE_ERROR || issue->severity == CHARTA_ISSUE_FATAL)
        g_print ("%s: %s\n", where, issue->diagnostics);
      else if (run->warnings && issue->severity == CHARTA_ISSUE_WARNING)
        g_print ("%s: warning: %s\n", where, issue->diagnostics);
    }
}

/* Validates one parsed resource and counts it. */
static void
check_resource (Run            *run,
                const char     *where,
                ChartaResource *resource)
{
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();

  run->n_resources++;
  if (charta_validate_resource (resource, outcome))
    run->n_valid++;
  else
    run->n_invalid++;
  print_outcome (run, where, outcome);
}

static void
count_parse_failure (Run          *run,
                     const char   *where,
                     const GError *error)
{
  run->n_resources++;
  run->n_invalid++;
  g_print ("%s: %s\n", where, error->message);
}

static void
validate_json_file (Run        *run,
                    const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(ChartaResource) resource = NULL;

  /* refuses a file over the limit from its size, before reading it */
  bytes = charta_resource_read_file (path, &run->limits, &error);
  if (bytes == NULL)
    {
      /* the message names the file */
      if (g_error_matches (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_LARGE))
        {
          run->n_resources++;
          run->n_invalid++;
          g_print ("%s (see --max-bytes)\n", error->message);
        }
      else
        {
          run->n_unreadable++;
          g_print ("%s\n", error->message);
        }
      return;
    }
  resource = charta_resource_new_from_bytes (bytes, &run->limits, &error);
  if (resource == NULL)
    {
      count_parse_failure (run, path, error);
      return;
    }
  check_resource (run, path, resource);
}

typedef struct
{
  Run *run;
  const char *path;
} NdjsonState;

static gboolean
ndjson_line (unsigned        line,
             ChartaResource *resource,
             const GError   *error,
             gpointer        user_data)
{
  NdjsonState *state = user_data;
  g_autofree char *where = g_strdup_printf ("%s:%u", state->path, line);

  if (resource == NULL)
    count_parse_failure (state->run, where, error);
  else
    check_resource (state->run, where, resource);
  return TRUE;
}

/* Streams the file: memory stays bounded by the longest line accepted. */
static void
validate_ndjson_file (Run        *run,
                      const char *path)
{
  g_autoptr(GError) error = NULL;
  NdjsonState state = { run, path };

  if (!charta_resource_parse_ndjson_file (path, &run->limits, ndjson_line, &state, &error)
      && error != NULL)
    {
      run->n_unreadable++;
      g_print ("%s\n", error->message);
    }
}

static void validate_path (Run        *run,
                           const char *path,
                           gboolean    named);

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
validate_directory (Run        *run,
                    const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GDir *dir = g_dir_open (path, 0, &error);
  const char *name;

  if (dir == NULL)
    {
      run->n_unreadable++;
      g_print ("%s: cannot read: %s\n", path, error->message);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_dir_close (dir);
  g_ptr_array_sort (names, compare_names);

  for (unsigned i = 0; i < names->len; i++)
    {
      g_autofree char *child = g_build_filename (path, names->pdata[i], NULL);

      validate_path (run, child, FALSE);
    }
}

/* @named: given on the command line (any file name is taken; in a directory only .json and
 * .ndjson files are). */
static void
validate_path (Run        *run,
               const char *path,
               gboolean    named)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    {
      int saved = errno;

      run->n_files++;
      run->n_unreadable++;
      g_print ("%s: cannot read: %s\n", path, g_strerror (saved));
      return;
    }
  if (S_ISLNK (st.st_mode))
    {
      if (g_stat (path, &st) != 0)
        {
          int saved = errno;

          if (!named)
            return; /* a dangling link in a directory */
          run->n_files++;
          run->n_unreadable++;
          g_print ("%s: cannot read: %s\n", path, g_strerror (saved));
          return;
        }
      if (S_ISDIR (st.st_mode) && !named)
        return;
    }
  if (S_ISDIR (st.st_mode))
    {
      validate_directory (run, path);
      return;
    }
  if (!named && !g_str_has_suffix (path, ".json") && !g_str_has_suffix (path, ".ndjson"))
    return;
  if (!S_ISREG (st.st_mode))
    {
      run->n_files++;
      run->n_unreadable++;
      g_print ("%s: cannot read: not a regular file\n", path);
      return;
    }

  run->n_files++;
  if (g_str_has_suffix (path, ".ndjson"))
    validate_ndjson_file (run, path);
  else
    validate_json_file (run, path);
}

int
charta_cmd_validate (int    argc,
                     char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) files = NULL;
  gint64 opt_max_bytes = -1;
  int opt_max_depth = -1;
  gboolean opt_warnings = FALSE;
  Run run = { 0 };
  const GOptionEntry entries[] = {
    { "max-bytes", 0, 0, G_OPTION_ARG_INT64, &opt_max_bytes,
      "Refuse resources larger than N bytes (default 64 MiB)", "N" },
    { "max-depth", 0, 0, G_OPTION_ARG_INT, &opt_max_depth,
      "Refuse JSON nested deeper than N (default 128, at most 1000)", "N" },
    { "warnings", 'w', 0, G_OPTION_ARG_NONE, &opt_warnings,
      "Print warnings (failed warning-level invariants) too", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "FILE|DIR…" },
    { NULL },
  };

  g_set_prgname ("charta validate");
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                "Validates FHIR R4 resources (.json), Bundles and NDJSON files "
                                "(.ndjson), and directories\nof them recursively, against the R4 "
                                "model.  Prints every problem as FILE: PATH: message.");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_help_enabled (context, TRUE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("charta validate: %s\n", error->message);
      g_printerr ("Try 'charta validate --help'.\n");
      return CHARTA_EXIT_USAGE;
    }
  if (files == NULL || files[0] == NULL)
    {
      g_printerr ("charta validate: no FILE or DIR given\n");
      g_printerr ("Usage: charta validate [--max-bytes N] [--max-depth N] FILE|DIR…\n");
      return CHARTA_EXIT_USAGE;
    }
  if (opt_max_bytes == 0 || opt_max_bytes < -1)
    {
      g_printerr ("charta validate: --max-bytes must be positive\n");
      return CHARTA_EXIT_USAGE;
    }
  if (opt_max_depth == 0 || opt_max_depth < -1 || opt_max_depth > MAX_DEPTH)
    {
      g_printerr ("charta validate: --max-depth must be between 1 and %d\n", MAX_DEPTH);
      return CHARTA_EXIT_USAGE;
    }

  run.limits.max_bytes = opt_max_bytes > 0 ? (size_t) opt_max_bytes : 0;
  run.limits.max_depth = opt_max_depth > 0 ? (unsigned) opt_max_depth : 0;
  run.warnings = opt_warnings;

  for (unsigned i = 0; files[i] != NULL; i++)
    validate_path (&run, files[i], TRUE);

  g_print ("%u files, %u resources, %u valid, %u invalid\n", run.n_files, run.n_resources,
           run.n_valid, run.n_invalid);

  return (run.n_invalid == 0 && run.n_unreadable == 0) ? CHARTA_EXIT_OK : CHARTA_EXIT_INVALID;
}
