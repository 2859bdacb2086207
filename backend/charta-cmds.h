/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-cmds.h: the verbs of the `charta` command.
 *
 * Each verb lives in its own charta-cmd-<verb>.c and is entered with the arguments that follow
 * the verb (argv[0] is the verb itself).  It returns the process exit status: 0 success, 1 when
 * the input was found wanting (an invalid resource), 2 for a usage error.
 */
#pragma once

#include <glib.h>

#include "charta-config.h"

G_BEGIN_DECLS

#define CHARTA_EXIT_OK      0
#define CHARTA_EXIT_INVALID 1
#define CHARTA_EXIT_USAGE   2

int charta_cmd_validate (int    argc,
                         char **argv);
int charta_cmd_init     (int    argc,
                         char **argv);
int charta_cmd_import   (int    argc,
                         char **argv);
int charta_cmd_get      (int    argc,
                         char **argv);
int charta_cmd_history  (int    argc,
                         char **argv);
int charta_cmd_check    (int    argc,
                         char **argv);
int charta_cmd_demo     (int    argc,
                         char **argv);
int charta_cmd_search   (int    argc,
                         char **argv);
int charta_cmd_serve    (int    argc,
                         char **argv);
int charta_cmd_scan     (int    argc,
                         char **argv);

G_END_DECLS
