/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-chart-view.h: ChartaChartView, a patient's chart.
 *
 * The header names the patient (name, birth date and age, sex, MRN); identifiers other than
 * the MRN are listed masked until the user reveals them.  Below it, four pages with a switcher
 * (and mnemonics: Alt+S, Alt+E, Alt+B, Alt+D): the summary lists the active problems, active
 * medications, allergies and immunizations as readable rows; the encounters are a timeline,
 * newest first, with a heading for each year; the observations page plots the vital signs and
 * results over time (ChartaObservationPlot, one per code and unit, with reference ranges) and
 * lists the most recent observations as a table (date, what, value with unit, status); the
 * documents page lists the patient's DocumentReferences.  Each list is read with its own FHIR
 * search, all at once, as soon as the Patient has been read.  "As Of…" shows the whole chart
 * as it was at a chosen instant (charta-chart-at.h).  Records entered in
 * error stay listed, struck through, with the reason their Provenance gives.  Activating a row
 * emits "resource-activated" with the reference of its resource ("Observation/obs-1").
 * Opening another patient cancels what is still being read for the last one.
 */
#pragma once

#include <adwaita.h>

#include "charta-client.h"

G_BEGIN_DECLS

#define CHARTA_TYPE_CHART_VIEW (charta_chart_view_get_type ())
G_DECLARE_FINAL_TYPE (ChartaChartView, charta_chart_view, CHARTA, CHART_VIEW, AdwBin)

GtkWidget    *charta_chart_view_new            (void);

/* The server to read from; setting another closes the chart. */
ChartaClient *charta_chart_view_get_client     (ChartaChartView *self);
void          charta_chart_view_set_client     (ChartaChartView *self,
                                                ChartaClient    *client);

/* Opens the chart of Patient/@patient_id (NULL: none).  Nothing happens when that chart is
 * open already, unless it failed. */
void          charta_chart_view_show_patient   (ChartaChartView *self,
                                                const char      *patient_id);
const char   *charta_chart_view_get_patient_id (ChartaChartView *self);

/* The open patient's name ("Emily Louise Miller"), for a title; NULL until it has been read. */
const char   *charta_chart_view_get_title      (ChartaChartView *self);

/* Reads the open chart again (after a correction), keeping it on screen meanwhile. */
void          charta_chart_view_reload         (ChartaChartView *self);

/* Shows the chart as it was at @at (NULL: as it is now), read from the server's history; a bar
 * above the pages says so and offers the way back.  Rows then open the versions shown. */
void          charta_chart_view_set_at         (ChartaChartView *self,
                                                GDateTime       *at);
GDateTime    *charta_chart_view_get_at         (ChartaChartView *self);

/* Whether the patient and every summary list have been read (or failed). */
gboolean      charta_chart_view_is_complete    (ChartaChartView *self);

G_END_DECLS
