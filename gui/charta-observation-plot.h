/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-observation-plot.h: a patient's numeric observations over time, as line plots.
 *
 * Two parts.  ChartaPlotData is plain data, no widget: charta_plot_data_from_observations()
 * groups Observations into plots, one per code (the system|code of the first coding of
 * Observation.code) and unit, each with one line per measured thing (an Observation's own
 * valueQuantity, or each of its components: blood pressure gives a systolic and a diastolic
 * line in one plot) and the reference range of the latest point that has one;
 * charta_plot_data_draw() draws a plot with cairo alone (axes, tick labels, the reference range
 * as a band, lines with markers, points outside the range as a ring round the marker, a
 * legend for more than one line).  ChartaObservationPlot is the widget that shows one plot,
 * with a tooltip per point, a keyboard-movable highlight, "point-activated" with the point's
 * Observation reference, and an accessible description in words.
 *
 * What is plotted: Observations that are not entered-in-error or cancelled, have an id, a
 * coded code and a time (effectiveDateTime, else effectivePeriod.start, else
 * effectiveInstant; "issued" is not used: it is when a result was released, not when it was
 * measured, and would put points at the wrong place on the time axis), with a valueQuantity
 * (or components with one) whose value is a finite JSON number without a comparator ("< 5" is
 * no point on a line).  Partial dates ("2019", "2019-03") and dates without a time stand for
 * their start, midnight in the local time zone; dates are shown in the local time zone.
 *
 * Invariants: a plot has at least one line, a line at least one point, points sorted by time
 * (then reference); no NaN or infinity reaches cairo; drawing into a size too small for a
 * readable plot draws nothing.
 */
#pragma once

#include <gtk/gtk.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* ---- the data ----------------------------------------------------------------------------- */

#define CHARTA_TYPE_PLOT_DATA (charta_plot_data_get_type ())

typedef struct _ChartaPlotData ChartaPlotData;

/* One point of a line. */
typedef struct
{
  gint64 time;        /* when it was measured: unix time in µs */
  double value;       /* finite */
  char *reference;    /* the Observation it comes from: "Observation/ID" */
} ChartaPlotPoint;

GType                  charta_plot_data_get_type     (void) G_GNUC_CONST;
ChartaPlotData        *charta_plot_data_ref          (ChartaPlotData *data);
void                   charta_plot_data_unref        (ChartaPlotData *data);

/* ChartaPlotData, one per plot (see above), ordered by number of points, most first, then
 * by title and unit (byte order).  @observations holds Observation JsonNodes in any order;
 * what cannot be plotted is left out.  Never NULL; empty when nothing can be plotted. */
GPtrArray             *charta_plot_data_from_observations (JsonArray *observations);

/* "http://loinc.org|29463-7"; the system part is empty when the coding has none. */
const char            *charta_plot_data_get_code     (ChartaPlotData *data);
/* The code's text, else its first coding's display, else its code (of the latest point). */
const char            *charta_plot_data_get_title    (ChartaPlotData *data);
/* The unit as shown ("kg", "mm[Hg]": the Quantity's unit, else its code); "" when none. */
const char            *charta_plot_data_get_unit     (ChartaPlotData *data);
/* The reference range: NaN where a bound is missing (both when there is none). */
void                   charta_plot_data_get_reference_range (ChartaPlotData *data,
                                                             double         *low,
                                                             double         *high);
/* Whether @value is outside the reference range (FALSE when there is none). */
gboolean               charta_plot_data_is_out_of_range (ChartaPlotData *data,
                                                         double          value);

unsigned               charta_plot_data_get_n_lines  (ChartaPlotData *data);
/* A line's name: the component's code in words, or the title for an Observation's own value.
 * Lines are ordered: the Observations' own values first, then the components in the order
 * they have in the Observations. */
const char            *charta_plot_data_get_line_name (ChartaPlotData *data,
                                                       unsigned        line);
unsigned               charta_plot_data_get_n_points (ChartaPlotData *data,
                                                      unsigned        line);
const ChartaPlotPoint *charta_plot_data_get_point    (ChartaPlotData *data,
                                                      unsigned        line,
                                                      unsigned        index);
/* The points of all lines together. */
unsigned               charta_plot_data_get_n_values (ChartaPlotData *data);

/* The plot in words for a screen reader: "Body Weight in kg: 12 values from 2010 to 2020;
 * latest 80.1 kg on 3 Mar 2020; reference range 50–90" (with more than one line: the latest
 * of each, by name). */
char                  *charta_plot_data_dup_description (ChartaPlotData *data);
/* One point in words, for a tooltip: "80.1 kg on 3 Mar 2020", with the line's name first
 * when there is more than one line, and ", outside the reference range" when it is. */
char                  *charta_plot_data_dup_point_text (ChartaPlotData *data,
                                                        unsigned        line,
                                                        unsigned        index);

/* ---- drawing ------------------------------------------------------------------------------ */

/* Draws @data into the rectangle (0, 0, @width, @height) of @cr: @foreground for text, axes
 * and the reference band (at lower alpha), @accent for the first line; the labels in
 * "Sans 9".  Nothing is drawn when the size is too small for a readable plot.  @cr's state
 * is restored after. */
void                   charta_plot_data_draw         (ChartaPlotData *data,
                                                      cairo_t        *cr,
                                                      int             width,
                                                      int             height,
                                                      const GdkRGBA  *foreground,
                                                      const GdkRGBA  *accent);
/* The same, with the labels in @font (NULL: "Sans 9") and the point @highlight_index of line
 * @highlight_line (-1: none) highlighted. */
void                   charta_plot_data_draw_full    (ChartaPlotData             *data,
                                                      cairo_t                    *cr,
                                                      int                         width,
                                                      int                         height,
                                                      const GdkRGBA              *foreground,
                                                      const GdkRGBA              *accent,
                                                      const PangoFontDescription *font,
                                                      int                         highlight_line,
                                                      int                         highlight_index);
/* Where the drawing above (same size and @font) puts a point's marker; FALSE when nothing is
 * drawn at that size or there is no such point. */
gboolean               charta_plot_data_get_point_position (ChartaPlotData             *data,
                                                            int                         width,
                                                            int                         height,
                                                            const PangoFontDescription *font,
                                                            unsigned                    line,
                                                            unsigned                    index,
                                                            double                     *x,
                                                            double                     *y);
/* The point whose marker is nearest to (@x, @y), if it is at most @max_distance away; FALSE
 * when there is none. */
gboolean               charta_plot_data_find_point   (ChartaPlotData             *data,
                                                      int                         width,
                                                      int                         height,
                                                      const PangoFontDescription *font,
                                                      double                      x,
                                                      double                      y,
                                                      double                      max_distance,
                                                      unsigned                   *line,
                                                      unsigned                   *index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaPlotData, charta_plot_data_unref)

/* ---- the widget --------------------------------------------------------------------------- */

#define CHARTA_TYPE_OBSERVATION_PLOT (charta_observation_plot_get_type ())
G_DECLARE_FINAL_TYPE (ChartaObservationPlot, charta_observation_plot, CHARTA, OBSERVATION_PLOT,
                      GtkWidget)

/* A plot of @data (may be NULL: an empty widget until set_data()).  Focusable; Left/Right
 * (Home/End) move the highlight along a line, Up/Down to the other lines, Enter or Space
 * activates the highlighted point, as does a click on a point: "point-activated" with its
 * reference ("Observation/obs-1"). */
GtkWidget      *charta_observation_plot_new      (ChartaPlotData        *data);
ChartaPlotData *charta_observation_plot_get_data (ChartaObservationPlot *self);
void            charta_observation_plot_set_data (ChartaObservationPlot *self,
                                                  ChartaPlotData        *data);

G_END_DECLS
