/* SPDX-License-Identifier: LGPL-2.1-or-later
 * charta-cmd-get.c: placeholder until its owner writes it. */
#include <stdio.h>

#include "charta-cmds.h"

int
charta_cmd_get (int    argc,
               char **argv)
{
  fprintf (stderr, "charta get: not built yet\n");
  return CHARTA_EXIT_USAGE;
}
