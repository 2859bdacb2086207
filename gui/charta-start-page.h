/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-start-page.h: ChartaStartPage, where a session begins: open a store or a server.
 *
 * Three ways in: a store file (GtkFileChooserNative), a server's base URL typed into an entry,
 * or one of the recent locations.  Each emits open-location with a path or a URL; the window
 * does the opening and tells the page when it is busy or what went wrong.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CHARTA_TYPE_START_PAGE (charta_start_page_get_type ())
G_DECLARE_FINAL_TYPE (ChartaStartPage, charta_start_page, CHARTA, START_PAGE, AdwBin)

GtkWidget *charta_start_page_new        (void);

/* The recent locations to list, most recent first (NULL or empty: the list is hidden). */
void       charta_start_page_set_recent (ChartaStartPage    *self,
                                         const char * const *locations);
/* Puts @url into the server address row (after a failed open, for the user to correct). */
void       charta_start_page_set_url    (ChartaStartPage    *self,
                                         const char         *url);
/* While busy, a spinner shows and no file or recent location can be chosen. */
void       charta_start_page_set_busy   (ChartaStartPage    *self,
                                         gboolean            busy);
/* Shows why the last open failed (NULL: hides it). */
void       charta_start_page_set_error  (ChartaStartPage    *self,
                                         const char         *message);

/* Whether @location names a server (an http or https URL) rather than a store file. */
gboolean   charta_location_is_url       (const char         *location);

G_END_DECLS
