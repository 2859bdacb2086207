/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-window.h: ChartaWindow, the main window.
 *
 * Two places: the start page (open a store file or a server) and, once one is open, the
 * patient finder beside the chart (an AdwLeaflet that folds into one column on a narrow
 * window).  The chart's side is a stack of three pages, each one step further in and one Back
 * (Alt+Left) away from the last: the chart, a record of it (ChartaResourceView, opened from any
 * of the chart's rows), and that record's history (ChartaHistoryView).  Correcting a record
 * opens a ChartaCorrectionDialog whose Provenance names the user from the app's settings; once
 * it is saved, the record and the chart are read again and a toast says which version was
 * saved.  Opening a store file starts the FHIR endpoint in-process on a loopback port (see
 * ChartaLocalServer); opening a server URL only checks that it answers /metadata.  Either way
 * the window then talks to it through one ChartaClient, which it hands to the finder and the
 * chart.  Failures to open show on the start page in plain words; the app stays usable.
 */
#pragma once

#include <adwaita.h>

#include "charta-client.h"

G_BEGIN_DECLS

#define CHARTA_TYPE_WINDOW (charta_window_get_type ())
G_DECLARE_FINAL_TYPE (ChartaWindow, charta_window, CHARTA, WINDOW, AdwApplicationWindow)

ChartaWindow *charta_window_new          (GtkApplication *application);

/* Opens @location: a store file's path or a server's http(s) base URL.  When it is open, the
 * chart of Patient/@patient_id opens too (NULL: none).  Asynchronous: the start page shows
 * progress, then the finder (or the error). */
void          charta_window_open         (ChartaWindow   *self,
                                          const char     *location,
                                          const char     *patient_id);

/* What charta_window_show_resource() shows of a record. */
typedef enum
{
  CHARTA_WINDOW_SHOW_DETAILS,     /* its details */
  CHARTA_WINDOW_SHOW_HISTORY,     /* its history, with the diff of its last change */
  CHARTA_WINDOW_SHOW_CORRECTION,  /* its details and the correction dialog */
} ChartaWindowShow;

/* Shows the record @reference ("Observation/obs-1") beside the chart, now or as soon as a
 * location is open. */
void          charta_window_show_resource (ChartaWindow     *self,
                                           const char       *reference,
                                           ChartaWindowShow  show);

/* Searches the finder for @text, now or as soon as a location is open. */
void          charta_window_search       (ChartaWindow   *self,
                                          const char     *text);

/* The location open now, or NULL. */
const char   *charta_window_get_location (ChartaWindow   *self);
/* The client of the open location, or NULL. */
ChartaClient *charta_window_get_client   (ChartaWindow   *self);

/* Shows @message in a toast. */
void          charta_window_toast        (ChartaWindow   *self,
                                          const char     *message);

G_END_DECLS
