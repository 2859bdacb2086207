/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-cmd-get.c: `charta get [--pretty|--compact] STORE Type/id[/_history/N]`.
 *
 * Prints a resource's current version, or the given version, as stored: compact canonical
 * JSON, or indented when standard output is a terminal (--pretty and --compact force either).
 * The current version in compact form is written from the stored bytes without parsing them.
 *
 * Exit status: 0 printed; 1 when the resource or version does not exist, was deleted ("Patient/7
 * was deleted (version 3)"), or the store cannot be opened; 2 for a usage error (including a
 * malformed Type/id).
 */
#define G_LOG_DOMAIN "charta-cmd-get"

#include <stdio.h>

#include "charta-cmd-util.h"
#include "charta-cmds.h"

/* The version of @type/@id's tombstone (its newest version), or 0 when unknown. */
static int64_t
deleted_version (ChartaStore *store,
                 const char  *type,
                 const char  *id)
{
  ChartaHistoryOptions options = { .count = 1 };
  g_autoptr(GPtrArray) entries = NULL;
  ChartaHistoryEntry *entry;

  entries = charta_store_history (store, type, id, &options, NULL, NULL);
  if (entries == NULL || entries->len == 0)
    return 0;
  entry = entries->pdata[0];
  return entry->method == CHARTA_METHOD_DELETE ? entry->version : 0;
}

static void
write_out (const char *data,
           size_t      length)
{
  fwrite (data, 1, length, stdout);
  if (length == 0 || data[length - 1] != '\n')
    fputc ('\n', stdout);
}

int
charta_cmd_get (int    argc,
                char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  g_auto(GStrv) args = NULL;
  g_autofree char *type = NULL;
  g_autofree char *id = NULL;
  g_autofree char *json = NULL;
  gboolean opt_pretty = FALSE, opt_compact = FALSE, pretty;
  int64_t version = 0;
  size_t length = 0;
  const GOptionEntry entries[] = {
    { "pretty", 'p', 0, G_OPTION_ARG_NONE, &opt_pretty, "Indent the JSON", NULL },
    { "compact", 'c', 0, G_OPTION_ARG_NONE, &opt_compact, "Print the JSON on one line", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL,
      "STORE Type/id[/_history/N]" },
    { NULL },
  };

  g_set_prgname ("charta get");
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                "Prints a resource from a store: its current version, or version N "
                                "with /_history/N.\nIndented on a terminal, compact otherwise.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "charta get: %s\nTry 'charta get --help'.\n", error->message);
      return CHARTA_EXIT_USAGE;
    }
  if (args == NULL || g_strv_length (args) != 2)
    {
      fprintf (stderr, "charta get: expected STORE and Type/id\n"
                       "Usage: charta get [--pretty|--compact] STORE Type/id[/_history/N]\n");
      return CHARTA_EXIT_USAGE;
    }
  if (opt_pretty && opt_compact)
    {
      fprintf (stderr, "charta get: --pretty and --compact exclude each other\n");
      return CHARTA_EXIT_USAGE;
    }
  if (!charta_cmd_parse_reference (args[1], FALSE, &type, &id, &version, &error))
    {
      fprintf (stderr, "charta get: %s\n", error->message);
      return CHARTA_EXIT_USAGE;
    }
  pretty = opt_pretty || (!opt_compact && charta_cmd_stdout_is_tty ());

  store = charta_cmd_open_store (args[0], CHARTA_STORE_FLAGS_READ_ONLY, &error);
  if (store == NULL)
    {
      charta_cmd_print_error (args[0], error);
      return CHARTA_EXIT_INVALID;
    }

  if (version == 0 && !pretty)
    {
      g_autoptr(GBytes) bytes = charta_store_read_bytes (store, type, id, NULL, &error);

      if (bytes != NULL)
        {
          gsize size = 0;
          const char *data = g_bytes_get_data (bytes, &size);

          write_out (data, size);
          return CHARTA_EXIT_OK;
        }
    }
  else if (version == 0)
    resource = charta_store_read (store, type, id, &error);
  else
    resource = charta_store_vread (store, type, id, version, &error);

  if (resource == NULL)
    {
      if (g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_GONE))
        {
          int64_t deleted = version > 0 ? version : deleted_version (store, type, id);

          if (version > 0)
            fprintf (stderr, "%s/%s/_history/%" G_GINT64_FORMAT " is the deletion of %s/%s\n",
                     type, id, version, type, id);
          else if (deleted > 0)
            fprintf (stderr, "%s/%s was deleted (version %" G_GINT64_FORMAT ")\n", type, id,
                     deleted);
          else
            fprintf (stderr, "%s/%s was deleted\n", type, id);
        }
      else if (g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND))
        {
          if (version > 0)
            fprintf (stderr, "%s/%s/_history/%" G_GINT64_FORMAT ": not found\n", type, id,
                     version);
          else
            fprintf (stderr, "%s/%s: not found\n", type, id);
        }
      else
        charta_cmd_print_error (args[0], error);
      return CHARTA_EXIT_INVALID;
    }

  json = charta_resource_to_json (resource, pretty, &length);
  write_out (json, length);
  return CHARTA_EXIT_OK;
}
