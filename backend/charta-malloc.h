/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-malloc.h: run the process with GLib's slice allocator handed to malloc.
 *
 * json-glib allocates every JsonNode, JsonObject and JsonArray, and GLib every GHashTable and
 * GList, from GSlice.  In GLib 2.74 (Debian 12) GSlice is still the magazine allocator, which
 * on an import (bundles parsed on one thread, checked and written on others, then freed) costs
 * about a quarter of all the CPU time: bench-store measures 214 µs of CPU per resource with it
 * and 152 µs with G_SLICE=always-malloc, which hands the same blocks to glibc's malloc.  GLib
 * 2.76 and later do that always (GSlice was made a wrapper of malloc).
 *
 * GLib reads G_SLICE once, when it first allocates, which is before main() (its constructor
 * makes the quark table), so setting it in main() is too late: a process that wants it runs
 * itself again, once, with the variable set.  A G_SLICE the user set is left alone, and when
 * the process cannot run itself again it carries on as it is.
 */
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <glib.h>

static inline void
charta_reexec_with_malloc (char **argv)
{
#ifdef __linux__
  if (g_getenv ("G_SLICE") != NULL || argv == NULL || argv[0] == NULL)
    return;
  if (setenv ("G_SLICE", "always-malloc", 1) != 0)
    return;
  execv ("/proc/self/exe", argv);
  /* (not run again: on as before, without the variable, so children are not confused) */
  unsetenv ("G_SLICE");
#endif
}
