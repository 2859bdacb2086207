/* SPDX-License-Identifier: LGPL-2.1-or-later
 * charta-cmd-import.c: placeholder until its owner writes it. */
#include <stdio.h>

#include "charta-cmds.h"

int
charta_cmd_import (int    argc,
               char **argv)
{
  fprintf (stderr, "charta import: not built yet\n");
  return CHARTA_EXIT_USAGE;
}
