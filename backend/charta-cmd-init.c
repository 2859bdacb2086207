/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-cmd-init.c: `charta init STORE`.
 *
 * Creates an empty store file (schema at the current version).  When STORE already exists and
 * is a Charta store, nothing happens but bringing its schema up to date, and the exit status is
 * 0, so scripts may run init unconditionally; when it exists and is something else (any other
 * file, an empty file, a directory), it is left untouched and the exit status is 1.
 */
#define G_LOG_DOMAIN "charta-cmd-init"

#include <stdio.h>

#include <glib/gstdio.h>

#include "charta-cmd-util.h"
#include "charta-cmds.h"

int
charta_cmd_init (int    argc,
                 char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_auto(GStrv) args = NULL;
  const char *path;
  gboolean existed;
  GStatBuf st;
  const GOptionEntry entries[] = {
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL, "STORE" },
    { NULL },
  };

  g_set_prgname ("charta init");
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                "Creates an empty Charta store file.  An existing Charta store is "
                                "left as it is.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "charta init: %s\nTry 'charta init --help'.\n", error->message);
      return CHARTA_EXIT_USAGE;
    }
  if (args == NULL || args[0] == NULL || args[1] != NULL)
    {
      fprintf (stderr, "charta init: expected one STORE\nUsage: charta init STORE\n");
      return CHARTA_EXIT_USAGE;
    }
  path = args[0];

  existed = g_stat (path, &st) == 0;
  if (existed && S_ISREG (st.st_mode) && st.st_size == 0)
    {
      /* SQLite would take an empty file for an empty database and write a schema into it */
      fprintf (stderr, "%s: exists and is not a Charta store (an empty file)\n", path);
      return CHARTA_EXIT_INVALID;
    }

  store = charta_cmd_open_store (path, existed ? CHARTA_STORE_FLAGS_NONE
                                               : CHARTA_STORE_FLAGS_CREATE, &error);
  if (store == NULL)
    {
      if (existed && g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT))
        fprintf (stderr, "%s: exists and is not a Charta store (%s)\n", path, error->message);
      else
        charta_cmd_print_error (path, error);
      return CHARTA_EXIT_INVALID;
    }
  charta_store_close (store);

  if (existed)
    printf ("%s is already a Charta store\n", path);
  else
    printf ("created %s\n", path);
  return CHARTA_EXIT_OK;
}
