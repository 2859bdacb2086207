/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-desktop-main.c: main() of charta-desktop, Charta's GTK 4 / libadwaita app.
 *
 * Usage: charta-desktop [STORE-FILE|URL] [--patient ID] [--search TEXT] (see
 * charta-application.h).
 */
#define G_LOG_DOMAIN "charta-desktop"

#include "charta-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(ChartaApplication) app = NULL;

  g_set_prgname ("charta-desktop");
  g_set_application_name ("Charta");
  app = charta_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
