/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-application.h: ChartaApplication, Charta desktop's application object.
 *
 * Application id org.charta.Desktop.  Command line: charta-desktop [STORE-FILE|URL]
 * [--patient ID] [--search TEXT] [--resource TYPE/ID [--show details|history|correction]];
 * each invocation opens a window (in the running instance, if there is one).
 *
 * Recent locations are kept in GSettings (schema org.charta.Desktop, key recent-locations):
 * the GNOME way, shared by all windows, and easy to reset.  When the schema is not installed
 * (running from the build folder outside `meson devenv`), they are kept for the session only.
 *
 * The user, as the Provenance of their corrections names them: the name from the settings
 * (key user-name), else the system's real name, else the login name; and a reference to their
 * own record (key user-reference), if they gave one.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CHARTA_APPLICATION_ID "org.charta.Desktop"
/* How many recent locations are remembered. */
#define CHARTA_MAX_RECENT     10

#define CHARTA_TYPE_APPLICATION (charta_application_get_type ())
G_DECLARE_FINAL_TYPE (ChartaApplication, charta_application, CHARTA, APPLICATION,
                      AdwApplication)

ChartaApplication *charta_application_new                (void);

/* The app's settings, or NULL when the schema is not installed. */
GSettings         *charta_application_get_settings       (ChartaApplication *self);

/* The recent locations, most recent first (newly allocated, never NULL). */
char             **charta_application_dup_recent         (ChartaApplication *self);
/* Puts @location first in the recent list (once), keeping CHARTA_MAX_RECENT. */
void               charta_application_add_recent         (ChartaApplication *self,
                                                          const char        *location);
void               charta_application_remove_recent      (ChartaApplication *self,
                                                          const char        *location);

/* The user's name for the records (never NULL), and their reference (NULL: none). */
char              *charta_application_dup_user_name      (ChartaApplication *self);
char              *charta_application_dup_user_reference (ChartaApplication *self);

G_END_DECLS
