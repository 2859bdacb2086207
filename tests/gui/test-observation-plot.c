/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-observation-plot.c: observation plots (charta-observation-plot.h).
 *
 * Three parts.  Grouping: Observations written out by hand below (a helper puts each one
 * together from its id, code, time and value members), grouped by
 * charta_plot_data_from_observations(), and every plot, line and point compared with what the
 * rules in the header give for them, worked out in the comments.  Drawing: plots drawn into
 * cairo image surfaces with a foreground and an accent of our own; the test finds the markers
 * as clusters of opaque accent pixels (the lines between markers are drawn translucent, so only
 * markers and the rings of points outside the reference range are opaque) and checks where
 * they are against the data.  The widget (only with a display; the test runs under Xvfb): its
 * accessible role, label and description, "point-activated" from the keys and from a click on
 * a marker found in the widget's own rendering, and its colours in light and dark styles.
 *
 * Times: the test runs with TZ=UTC, so a date without a time is midnight UTC and the expected
 * unix times below can be counted by hand: 2019-01-01 is 49 years after 1970-01-01 with 12
 * leap days (1972 … 2016) between, 49 × 365 + 12 = 17897 days = 1546300800 s.
 */
#define G_LOG_DOMAIN "charta-test"

#include <math.h>
#include <string.h>

#include <adwaita.h>

#include "charta-observation-plot.h"

#define DEADLINE_SECONDS 30

#define LOINC "http://loinc.org"
#define WEIGHT "{\"coding\":[{\"system\":\"" LOINC "\",\"code\":\"29463-7\"," \
               "\"display\":\"Body weight\"}],\"text\":\"Body Weight\"}"
#define BP "{\"coding\":[{\"system\":\"" LOINC "\",\"code\":\"85354-9\"," \
           "\"display\":\"Blood pressure panel\"}]}"
#define SYSTOLIC "{\"coding\":[{\"system\":\"" LOINC "\",\"code\":\"8480-6\"," \
                 "\"display\":\"Systolic blood pressure\"}]}"
#define DIASTOLIC "{\"coding\":[{\"system\":\"" LOINC "\",\"code\":\"8462-4\"," \
                  "\"display\":\"Diastolic blood pressure\"}]}"
#define KG(value) "\"valueQuantity\":{\"value\":" value ",\"unit\":\"kg\"," \
                  "\"system\":\"http://unitsofmeasure.org\",\"code\":\"kg\"}"
#define RANGE(low, high) "\"referenceRange\":[{\"low\":{\"value\":" low "}," \
                         "\"high\":{\"value\":" high "}}]"

static gboolean have_display;

/* ---- building Observations ---------------------------------------------------------------- */

/* An Observation's JSON text: @id, the code @code (a CodeableConcept's text), and @members
 * (more members, comma-separated, may be ""). */
static char *
observation (const char *id,
             const char *code,
             const char *members)
{
  return g_strdup_printf ("{\"resourceType\":\"Observation\",\"id\":\"%s\",\"status\":\"final\","
                          "\"code\":%s%s%s}", id, code, *members != '\0' ? "," : "", members);
}

/* A weight Observation of @value kg on @date. */
static char *
weight (const char *id,
        const char *date,
        const char *value)
{
  g_autofree char *members =
    g_strdup_printf ("\"effectiveDateTime\":\"%s\",\"valueQuantity\":{\"value\":%s,"
                     "\"unit\":\"kg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"kg\"}",
                     date, value);

  return observation (id, WEIGHT, members);
}

/* A blood pressure Observation with systolic and diastolic components. */
static char *
blood_pressure (const char *id,
                const char *date,
                int         systolic,
                int         diastolic)
{
  g_autofree char *members =
    g_strdup_printf ("\"effectiveDateTime\":\"%s\",\"component\":["
                     "{\"code\":" SYSTOLIC ",\"valueQuantity\":{\"value\":%d,"
                     "\"unit\":\"mm[Hg]\",\"code\":\"mm[Hg]\"},"
                     RANGE ("90", "130") "},"
                     "{\"code\":" DIASTOLIC ",\"valueQuantity\":{\"value\":%d,"
                     "\"unit\":\"mm[Hg]\",\"code\":\"mm[Hg]\"}},"
                     "{\"code\":{\"text\":\"Position\",\"coding\":[{\"code\":\"pos\"}]},"
                     "\"valueString\":\"sitting\"}]",
                     date, systolic, diastolic);

  return observation (id, BP, members);
}

/* The Observations (NULL-terminated, each taken) as a JsonArray. */
static JsonArray *
observations (char *first,
              ...)
{
  g_autoptr(GString) text = g_string_new ("[");
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  va_list args;

  va_start (args, first);
  for (char *item = first; item != NULL; item = va_arg (args, char *))
    {
      if (text->len > 1)
        g_string_append_c (text, ',');
      g_string_append (text, item);
      g_free (item);
    }
  va_end (args);
  g_string_append_c (text, ']');
  node = json_from_string (text->str, &error);
  g_assert_no_error (error);
  return json_array_ref (json_node_get_array (node));
}

static GPtrArray *
group (JsonArray *array)
{
  GPtrArray *plots = charta_plot_data_from_observations (array);

  json_array_unref (array);
  return plots;
}

static ChartaPlotData *
plot_at (GPtrArray *plots,
         unsigned   i)
{
  g_assert_cmpuint (i, <, plots->len);
  return g_ptr_array_index (plots, i);
}

static void
assert_point (ChartaPlotData *data,
              unsigned        line,
              unsigned        index,
              gint64          seconds,
              double          value,
              const char     *reference)
{
  const ChartaPlotPoint *point = charta_plot_data_get_point (data, line, index);

  g_assert_nonnull (point);
  g_assert_cmpint (point->time, ==, seconds * G_USEC_PER_SEC);
  g_assert_cmpfloat (point->value, ==, value);
  g_assert_cmpstr (point->reference, ==, reference);
}

/* ---- grouping ----------------------------------------------------------------------------- */

/* Weights in kg and in lb: two plots, the kg one first (3 points against 1).  w4's quantity
 * has the unit text "kg" and no code; the others' code is "kg": one unit (the code, else the
 * unit text, is what groups).  Points by time: w4 2018-01-10, w1 2019-01-10, w2 2020-01-10.
 *   2018-01-10: 2018-01-01 is 1546300800 - 365 × 86400 = 1514764800; + 9 days = 1515542400.
 *   2019-01-10: 1546300800 + 9 × 86400 = 1547078400.
 *   2020-01-10: 1546300800 + 365 × 86400 = 1577836800 (2020-01-01); + 9 days = 1578614400.
 *   2018-06-01 (w3): 1514764800 + (31+28+31+30+31) × 86400 = 1514764800 + 151 × 86400
 *   = 1527811200. */
static void
test_group_units (void)
{
  g_autoptr(GPtrArray) plots =
    group (observations (weight ("w1", "2019-01-10", "70"),
                         weight ("w2", "2020-01-10", "72.5"),
                         observation ("w3", WEIGHT, "\"effectiveDateTime\":\"2018-06-01\","
                                      "\"valueQuantity\":{\"value\":154,\"unit\":\"lb\","
                                      "\"system\":\"http://unitsofmeasure.org\","
                                      "\"code\":\"[lb_av]\"}"),
                         observation ("w4", WEIGHT, "\"effectiveDateTime\":\"2018-01-10\","
                                      "\"valueQuantity\":{\"value\":69,\"unit\":\"kg\"}"),
                         NULL));
  ChartaPlotData *kg, *lb;

  g_assert_cmpuint (plots->len, ==, 2);
  kg = plot_at (plots, 0);
  lb = plot_at (plots, 1);

  g_assert_cmpstr (charta_plot_data_get_code (kg), ==, LOINC "|29463-7");
  g_assert_cmpstr (charta_plot_data_get_title (kg), ==, "Body Weight");
  g_assert_cmpstr (charta_plot_data_get_unit (kg), ==, "kg");
  g_assert_cmpuint (charta_plot_data_get_n_lines (kg), ==, 1);
  g_assert_cmpstr (charta_plot_data_get_line_name (kg, 0), ==, "Body Weight");
  g_assert_cmpuint (charta_plot_data_get_n_values (kg), ==, 3);
  g_assert_cmpuint (charta_plot_data_get_n_points (kg, 0), ==, 3);
  assert_point (kg, 0, 0, 1515542400, 69, "Observation/w4");
  assert_point (kg, 0, 1, 1547078400, 70, "Observation/w1");
  assert_point (kg, 0, 2, 1578614400, 72.5, "Observation/w2");

  g_assert_cmpstr (charta_plot_data_get_code (lb), ==, LOINC "|29463-7");
  g_assert_cmpstr (charta_plot_data_get_unit (lb), ==, "lb");
  g_assert_cmpuint (charta_plot_data_get_n_values (lb), ==, 1);
  assert_point (lb, 0, 0, 1527811200, 154, "Observation/w3");
}

/* Two blood pressures, the later one first in the input: one plot (BP panel, mm[Hg]) with two
 * lines, systolic first (component 0), diastolic second (component 1), named by the
 * components' displays; the "Position" component has a string value: no line.  Points by
 * time: bp2 2019-01-15 before bp1 2019-03-04.
 *   2019-01-15: 1546300800 + 14 × 86400 = 1547510400.
 *   2019-03-04: 1551657600 (2019-03-01 is 1546300800 + 59 days = 1551398400; + 3 days).
 * The systolic component's own range (90–130) is no range for the plot: it has two lines. */
static void
test_group_components (void)
{
  g_autoptr(GPtrArray) plots =
    group (observations (blood_pressure ("bp1", "2019-03-04", 121, 79),
                         blood_pressure ("bp2", "2019-01-15", 135, 88),
                         NULL));
  ChartaPlotData *bp;
  double low = 0, high = 0;

  g_assert_cmpuint (plots->len, ==, 1);
  bp = plot_at (plots, 0);
  g_assert_cmpstr (charta_plot_data_get_code (bp), ==, LOINC "|85354-9");
  g_assert_cmpstr (charta_plot_data_get_title (bp), ==, "Blood pressure panel");
  g_assert_cmpstr (charta_plot_data_get_unit (bp), ==, "mm[Hg]");
  g_assert_cmpuint (charta_plot_data_get_n_lines (bp), ==, 2);
  g_assert_cmpuint (charta_plot_data_get_n_values (bp), ==, 4);
  g_assert_cmpstr (charta_plot_data_get_line_name (bp, 0), ==, "Systolic blood pressure");
  g_assert_cmpstr (charta_plot_data_get_line_name (bp, 1), ==, "Diastolic blood pressure");
  assert_point (bp, 0, 0, 1547510400, 135, "Observation/bp2");
  assert_point (bp, 0, 1, 1551657600, 121, "Observation/bp1");
  assert_point (bp, 1, 0, 1547510400, 88, "Observation/bp2");
  assert_point (bp, 1, 1, 1551657600, 79, "Observation/bp1");
  charta_plot_data_get_reference_range (bp, &low, &high);
  g_assert_true (isnan (low));
  g_assert_true (isnan (high));
}

/* Everything that is not a plottable point is left out: of the weights below only "ok" has a
 * number value, a time, an id and a code, and is neither entered in error nor cancelled, so
 * the result is one plot with one point. */
static void
test_group_skipped (void)
{
  g_autoptr(GPtrArray) plots = group (observations (
    observation ("eie", WEIGHT, "\"status\":\"entered-in-error\","
                 "\"effectiveDateTime\":\"2019-01-01\"," KG ("70")),
    observation ("cancelled", WEIGHT, "\"status\":\"cancelled\","
                 "\"effectiveDateTime\":\"2019-01-01\"," KG ("70")),
    observation ("string", WEIGHT, "\"effectiveDateTime\":\"2019-01-01\","
                 "\"valueString\":\"70 kg\""),
    observation ("text-number", WEIGHT, "\"effectiveDateTime\":\"2019-01-01\","
                 "\"valueQuantity\":{\"value\":\"70\",\"unit\":\"kg\"}"),
    observation ("comparator", WEIGHT, "\"effectiveDateTime\":\"2019-01-01\","
                 "\"valueQuantity\":{\"value\":70,\"comparator\":\"<\",\"unit\":\"kg\"}"),
    observation ("infinite", WEIGHT, "\"effectiveDateTime\":\"2019-01-01\"," KG ("1e400")),
    observation ("issued-only", WEIGHT, "\"issued\":\"2019-01-01T10:00:00Z\"," KG ("70")),
    observation ("period-end", WEIGHT, "\"effectivePeriod\":{\"end\":\"2019-01-01\"},"
                 KG ("70")),
    observation ("bad-date", WEIGHT, "\"effectiveDateTime\":\"2019-13-01\"," KG ("70")),
    observation ("no-coding", "{\"text\":\"Weight\"}",
                 "\"effectiveDateTime\":\"2019-01-01\"," KG ("70")),
    g_strdup ("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":" WEIGHT ","
              "\"effectiveDateTime\":\"2019-01-01\"," KG ("70") "}"),
    g_strdup ("{\"resourceType\":\"Condition\",\"id\":\"condition\",\"code\":" WEIGHT ","
              "\"effectiveDateTime\":\"2019-01-01\"," KG ("70") "}"),
    g_strdup ("\"not an object\""),
    observation ("ok", WEIGHT, "\"effectiveDateTime\":\"2019-02-01\"," KG ("71")),
    NULL));

  g_assert_cmpuint (plots->len, ==, 1);
  g_assert_cmpuint (charta_plot_data_get_n_values (plot_at (plots, 0)), ==, 1);
  /* 2019-02-01: 1546300800 + 31 × 86400 = 1548979200. */
  assert_point (plot_at (plots, 0), 0, 0, 1548979200, 71, "Observation/ok");
}

/* The time of each element and form (see the header comment for the days):
 *   "2019" → 2019-01-01 = 1546300800;  "2019-03" → 2019-03-01 = 1551398400;
 *   "2019-03-04" → 1551657600;
 *   effectivePeriod.start "2019-03-04T10:00:00+02:00" → 08:00 UTC = 1551657600 + 8 × 3600
 *   = 1551686400;
 *   effectiveInstant "2019-03-05T00:00:00.250Z" → 2019-03-05 = 1551744000 s and 250000 µs;
 *   both effectiveDateTime "2019-03-06" and effectivePeriod.start "2000-01-01": the first
 *   wins, 1551744000 + 86400 = 1551830400. */
static void
test_group_dates (void)
{
  g_autoptr(GPtrArray) plots = group (observations (
    observation ("year", WEIGHT, "\"effectiveDateTime\":\"2019\"," KG ("1")),
    observation ("month", WEIGHT, "\"effectiveDateTime\":\"2019-03\"," KG ("2")),
    observation ("day", WEIGHT, "\"effectiveDateTime\":\"2019-03-04\"," KG ("3")),
    observation ("period", WEIGHT, "\"effectivePeriod\":{\"start\":\"2019-03-04T10:00:00+02:00\","
                 "\"end\":\"2019-03-04T11:00:00+02:00\"}," KG ("4")),
    observation ("instant", WEIGHT, "\"effectiveInstant\":\"2019-03-05T00:00:00.250Z\","
                 KG ("5")),
    observation ("both", WEIGHT, "\"effectiveDateTime\":\"2019-03-06\","
                 "\"effectivePeriod\":{\"start\":\"2000-01-01\"}," KG ("6")),
    NULL));
  ChartaPlotData *data = plot_at (plots, 0);

  g_assert_cmpuint (plots->len, ==, 1);
  g_assert_cmpuint (charta_plot_data_get_n_points (data, 0), ==, 6);
  assert_point (data, 0, 0, 1546300800, 1, "Observation/year");
  assert_point (data, 0, 1, 1551398400, 2, "Observation/month");
  assert_point (data, 0, 2, 1551657600, 3, "Observation/day");
  assert_point (data, 0, 3, 1551686400, 4, "Observation/period");
  g_assert_cmpint (charta_plot_data_get_point (data, 0, 4)->time, ==,
                   G_GINT64_CONSTANT (1551744000) * G_USEC_PER_SEC + 250000);
  assert_point (data, 0, 5, 1551830400, 6, "Observation/both");
}

/* Plot order: most points first, then title.  Heart rate and Zinc have 2 points each,
 * Albumin and Body Weight 1 each: Heart rate, Zinc (2; "H" < "Z"), then Albumin, Body Weight
 * (1; "A" < "B"), whatever the input order. */
static void
test_group_order (void)
{
#define CODE(code, text) "{\"coding\":[{\"system\":\"" LOINC "\",\"code\":\"" code "\"}]," \
                         "\"text\":\"" text "\"}"
#define AT(date) "\"effectiveDateTime\":\"" date "\","
  g_autoptr(GPtrArray) plots = group (observations (
    observation ("albumin", CODE ("1751-7", "Albumin"), AT ("2020-01-01") KG ("1")),
    observation ("zinc-1", CODE ("5763-8", "Zinc"), AT ("2020-01-01") KG ("1")),
    observation ("weight", WEIGHT, AT ("2020-01-01") KG ("1")),
    observation ("heart-1", CODE ("8867-4", "Heart rate"), AT ("2020-01-01") KG ("1")),
    observation ("zinc-2", CODE ("5763-8", "Zinc"), AT ("2020-01-02") KG ("1")),
    observation ("heart-2", CODE ("8867-4", "Heart rate"), AT ("2020-01-02") KG ("1")),
    NULL));
#undef CODE
#undef AT

  g_assert_cmpuint (plots->len, ==, 4);
  g_assert_cmpstr (charta_plot_data_get_title (plot_at (plots, 0)), ==, "Heart rate");
  g_assert_cmpstr (charta_plot_data_get_title (plot_at (plots, 1)), ==, "Zinc");
  g_assert_cmpstr (charta_plot_data_get_title (plot_at (plots, 2)), ==, "Albumin");
  g_assert_cmpstr (charta_plot_data_get_title (plot_at (plots, 3)), ==, "Body Weight");
}

/* The reference range is the latest point's that has one: r2021 (55–95) is later than r2020
 * (40–80, given after it) and r2019 (50–90); r2022 has none.  With a high bound only, the
 * low one is NaN; out of range is below low or above high. */
static void
test_group_reference_range (void)
{
  g_autoptr(GPtrArray) plots = group (observations (
    observation ("r2019", WEIGHT, "\"effectiveDateTime\":\"2019-06-01\"," KG ("70") ","
                 RANGE ("50", "90")),
    observation ("r2021", WEIGHT, "\"effectiveDateTime\":\"2021-06-01\"," KG ("70") ","
                 RANGE ("55", "95")),
    observation ("r2020", WEIGHT, "\"effectiveDateTime\":\"2020-06-01\"," KG ("70") ","
                 RANGE ("40", "80")),
    observation ("r2022", WEIGHT, "\"effectiveDateTime\":\"2022-06-01\"," KG ("70")),
    observation ("g", "{\"coding\":[{\"code\":\"glucose\"}]}",
                 "\"effectiveDateTime\":\"2022-06-01\",\"valueQuantity\":{\"value\":5},"
                 "\"referenceRange\":[{\"high\":{\"value\":6.1}}]"),
    NULL));
  ChartaPlotData *weights = plot_at (plots, 0);
  ChartaPlotData *glucose = plot_at (plots, 1);
  double low = 0, high = 0;

  g_assert_cmpuint (plots->len, ==, 2);
  charta_plot_data_get_reference_range (weights, &low, &high);
  g_assert_cmpfloat (low, ==, 55);
  g_assert_cmpfloat (high, ==, 95);
  g_assert_true (charta_plot_data_is_out_of_range (weights, 54.9));
  g_assert_false (charta_plot_data_is_out_of_range (weights, 55));
  g_assert_false (charta_plot_data_is_out_of_range (weights, 95));
  g_assert_true (charta_plot_data_is_out_of_range (weights, 95.1));

  /* No coding system: "|glucose"; no unit: "". */
  g_assert_cmpstr (charta_plot_data_get_code (glucose), ==, "|glucose");
  g_assert_cmpstr (charta_plot_data_get_unit (glucose), ==, "");
  charta_plot_data_get_reference_range (glucose, &low, &high);
  g_assert_true (isnan (low));
  g_assert_cmpfloat (high, ==, 6.1);
  g_assert_false (charta_plot_data_is_out_of_range (glucose, -100));
  g_assert_true (charta_plot_data_is_out_of_range (glucose, 6.2));
}

/* ---- words -------------------------------------------------------------------------------- */

static GPtrArray *
body_weights (void)
{
  return group (observations (
    observation ("w1", WEIGHT, "\"effectiveDateTime\":\"2010-05-03\"," KG ("70.2") ","
                 RANGE ("50", "90")),
    observation ("w2", WEIGHT, "\"effectiveDateTime\":\"2013-05-03\"," KG ("75.2") ","
                 RANGE ("50", "90")),
    observation ("w3", WEIGHT, "\"effectiveDateTime\":\"2016-05-03\"," KG ("93.5") ","
                 RANGE ("50", "90")),
    observation ("w4", WEIGHT, "\"effectiveDateTime\":\"2020-03-03T09:30:00Z\"," KG ("80.1")
                 "," RANGE ("50", "90")),
    NULL));
}

/* The weights: 4 values, years 2010 to 2020, the latest 80.1 kg on 3 Mar 2020, range 50–90,
 * and 93.5 above 90: one outside.  Blood pressure: both lines' latest are bp1's.  One value:
 * no "latest". */
static void
test_description (void)
{
  g_autoptr(GPtrArray) weights = body_weights ();
  g_autoptr(GPtrArray) bp = group (observations (blood_pressure ("bp1", "2019-03-04", 121, 79),
                                                 blood_pressure ("bp2", "2019-01-15", 135, 88),
                                                 NULL));
  g_autoptr(GPtrArray) one = group (observations (weight ("w", "2021-12-24", "3.25"), NULL));
  g_autofree char *weights_text = charta_plot_data_dup_description (plot_at (weights, 0));
  g_autofree char *bp_text = charta_plot_data_dup_description (plot_at (bp, 0));
  g_autofree char *one_text = charta_plot_data_dup_description (plot_at (one, 0));

  g_assert_cmpstr (weights_text, ==,
                   "Body Weight in kg: 4 values from 2010 to 2020; latest 80.1 kg on 3 Mar 2020; "
                   "reference range 50–90; 1 value outside it");
  g_assert_cmpstr (bp_text, ==,
                   "Blood pressure panel in mm[Hg]: 2 lines, 4 values in 2019; latest Systolic "
                   "blood pressure 121 mm[Hg] on 4 Mar 2019, Diastolic blood pressure 79 mm[Hg] "
                   "on 4 Mar 2019");
  g_assert_cmpstr (one_text, ==, "Body Weight in kg: 1 value, 3.25 kg on 24 Dec 2021");
}

/* A point in words: w3 (index 2) is above 90; bp2's diastolic (line 1, index 0) names its
 * line. */
static void
test_point_text (void)
{
  g_autoptr(GPtrArray) weights = body_weights ();
  g_autoptr(GPtrArray) bp = group (observations (blood_pressure ("bp1", "2019-03-04", 121, 79),
                                                 blood_pressure ("bp2", "2019-01-15", 135, 88),
                                                 NULL));
  g_autofree char *outside = charta_plot_data_dup_point_text (plot_at (weights, 0), 0, 2);
  g_autofree char *inside = charta_plot_data_dup_point_text (plot_at (weights, 0), 0, 0);
  g_autofree char *diastolic = charta_plot_data_dup_point_text (plot_at (bp, 0), 1, 0);

  g_assert_cmpstr (outside, ==, "93.5 kg on 3 May 2016, outside the reference range");
  g_assert_cmpstr (inside, ==, "70.2 kg on 3 May 2010");
  g_assert_cmpstr (diastolic, ==, "Diastolic blood pressure 88 mm[Hg] on 15 Jan 2019");
}

/* ---- drawing ------------------------------------------------------------------------------ */

static const GdkRGBA test_foreground = { 0.1, 0.1, 0.1, 1 };
static const GdkRGBA test_accent = { 0.2, 0.4, 0.8, 1 };

typedef struct
{
  double x;                 /* the centroid */
  double y;
  unsigned n;               /* pixels */
} Cluster;

static cairo_surface_t *
draw (ChartaPlotData *data,
      int             width,
      int             height)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);

  charta_plot_data_draw (data, cr, width, height, &test_foreground, &test_accent);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  return surface;
}

static guint32
pixel (cairo_surface_t *surface,
       int              x,
       int              y)
{
  unsigned char *row = cairo_image_surface_get_data (surface)
                       + (size_t) y * cairo_image_surface_get_stride (surface);

  return ((guint32 *) row)[x];
}

/* Whether the pixel is opaque and of @color (premultiplied ARGB32: opaque means as is). */
static gboolean
is_color (guint32        argb,
          const GdkRGBA *color)
{
  int r = (argb >> 16) & 0xff, g = (argb >> 8) & 0xff, b = argb & 0xff;

  return (argb >> 24) == 0xff && ABS (r - (int) round (color->red * 255)) <= 3
         && ABS (g - (int) round (color->green * 255)) <= 3
         && ABS (b - (int) round (color->blue * 255)) <= 3;
}

/* The 4-connected clusters of opaque @color pixels, sorted by x: the markers.  Clusters of
 * fewer than MARKER_PIXELS are left out: the ring round a point outside the reference range
 * is opaque only in short arcs (a 2-pixel-wide circle covers few pixels whole), while a marker
 * (a disc of radius 4, or the legend's of 3.5) has 30 or more. */
#define MARKER_PIXELS 15

static GArray *
find_clusters (cairo_surface_t *surface,
               const GdkRGBA   *color)
{
  int width = cairo_image_surface_get_width (surface);
  int height = cairo_image_surface_get_height (surface);
  g_autofree gboolean *seen = g_new0 (gboolean, (size_t) width * height);
  g_autoptr(GArray) stack = g_array_new (FALSE, FALSE, sizeof (int));
  GArray *clusters = g_array_new (FALSE, FALSE, sizeof (Cluster));

  for (int start = 0; start < width * height; start++)
    {
      Cluster cluster = { 0, 0, 0 };

      if (seen[start] || !is_color (pixel (surface, start % width, start / width), color))
        continue;
      seen[start] = TRUE;
      g_array_append_val (stack, start);
      while (stack->len > 0)
        {
          int at = g_array_index (stack, int, stack->len - 1);
          int x = at % width, y = at / width, next;
          int neighbours[4][2] = { { x - 1, y }, { x + 1, y }, { x, y - 1 }, { x, y + 1 } };

          g_array_set_size (stack, stack->len - 1);
          cluster.x += x + 0.5;
          cluster.y += y + 0.5;
          cluster.n++;
          for (int i = 0; i < 4; i++)
            {
              int nx = neighbours[i][0], ny = neighbours[i][1];

              if (nx < 0 || ny < 0 || nx >= width || ny >= height || seen[ny * width + nx]
                  || !is_color (pixel (surface, nx, ny), color))
                continue;
              next = ny * width + nx;
              seen[next] = TRUE;
              g_array_append_val (stack, next);
            }
        }
      if (cluster.n < MARKER_PIXELS)
        continue;
      cluster.x /= cluster.n;
      cluster.y /= cluster.n;
      g_array_append_val (clusters, cluster);
    }
  for (unsigned i = 1; i < clusters->len; i++)
    for (unsigned j = i; j > 0 && g_array_index (clusters, Cluster, j).x
                                  < g_array_index (clusters, Cluster, j - 1).x; j--)
      {
        Cluster swap = g_array_index (clusters, Cluster, j);

        g_array_index (clusters, Cluster, j) = g_array_index (clusters, Cluster, j - 1);
        g_array_index (clusters, Cluster, j - 1) = swap;
      }
  return clusters;
}

/* Opaque @color pixels at a distance from @from_x, @from_y between @inner and @outer. */
static unsigned
count_color_around (cairo_surface_t *surface,
                    const GdkRGBA   *color,
                    double           from_x,
                    double           from_y,
                    double           inner,
                    double           outer)
{
  unsigned n = 0;

  for (int y = 0; y < cairo_image_surface_get_height (surface); y++)
    for (int x = 0; x < cairo_image_surface_get_width (surface); x++)
      {
        double distance = hypot (x + 0.5 - from_x, y + 0.5 - from_y);

        if (distance >= inner && distance <= outer && is_color (pixel (surface, x, y), color))
          n++;
      }
  return n;
}

static unsigned
count_painted (cairo_surface_t *surface)
{
  unsigned n = 0;

  for (int y = 0; y < cairo_image_surface_get_height (surface); y++)
    for (int x = 0; x < cairo_image_surface_get_width (surface); x++)
      if (pixel (surface, x, y) != 0)
        n++;
  return n;
}

/* Three points: 10 on 2010-01-01, 20 on 2011-01-01, 10 on 2013-01-01 (given out of order).
 * Time runs left to right: the gaps between markers are 365 and 731 days, so the second gap
 * is about twice the first (2.003; it would be 0.5 with time reversed).  Higher is higher:
 * the middle marker (20) is above the others (10, at one height; y grows downwards).  The
 * markers are where get_point_position() says. */
static void
test_draw_orientation (void)
{
  g_autoptr(GPtrArray) plots = group (observations (
    weight ("c", "2013-01-01", "10"), weight ("a", "2010-01-01", "10"),
    weight ("b", "2011-01-01", "20"), NULL));
  ChartaPlotData *data = plot_at (plots, 0);
  cairo_surface_t *surface = draw (data, 400, 240);
  g_autoptr(GArray) clusters = find_clusters (surface, &test_accent);
  Cluster *c;
  double gap1, gap2;

  g_assert_cmpuint (clusters->len, ==, 3);
  c = (Cluster *) clusters->data;
  gap1 = c[1].x - c[0].x;
  gap2 = c[2].x - c[1].x;
  g_assert_cmpfloat (gap1, >, 20);
  g_assert_cmpfloat (fabs (gap2 / gap1 - 2.0), <, 0.1);
  g_assert_cmpfloat (c[1].y, <, c[0].y - 20);
  g_assert_cmpfloat (fabs (c[0].y - c[2].y), <=, 1);
  /* Each marker is a disc of radius 4: about π × 4² ≈ 50 opaque pixels, less its rim. */
  for (unsigned i = 0; i < 3; i++)
    {
      double x, y;

      g_assert_cmpuint (c[i].n, >=, 25);
      g_assert_cmpuint (c[i].n, <=, 60);
      g_assert_true (charta_plot_data_get_point_position (data, 400, 240, NULL, 0, i, &x, &y));
      g_assert_cmpfloat (fabs (x - c[i].x), <=, 1);
      g_assert_cmpfloat (fabs (y - c[i].y), <=, 1);
    }
  cairo_surface_destroy (surface);
}

/* Range 40–60; 30 (below), 50 (inside) and 80 (above).  The two outside get a ring of
 * radius 7.5 (opaque accent 6–9 px from the centre); the one inside has nothing there.  The
 * band: right under the middle point, at 43 (inside the range), the foreground shows faintly;
 * at 37 (below it) nothing is drawn.  The value-to-y scale comes from the markers at 50 and 80
 * (linear: y(v) = y50 + (v − 50) × (y80 − y50) / 30). */
static void
test_draw_out_of_range (void)
{
  g_autoptr(GPtrArray) plots = group (observations (
    observation ("low", WEIGHT, "\"effectiveDateTime\":\"2019-01-01\"," KG ("30") ","
                 RANGE ("40", "60")),
    observation ("mid", WEIGHT, "\"effectiveDateTime\":\"2020-01-01\"," KG ("50") ","
                 RANGE ("40", "60")),
    observation ("high", WEIGHT, "\"effectiveDateTime\":\"2021-01-01\"," KG ("80") ","
                 RANGE ("40", "60")),
    NULL));
  ChartaPlotData *data = plot_at (plots, 0);
  cairo_surface_t *surface = draw (data, 400, 240);
  double x[3], y[3], per_unit;
  guint32 inside, outside;

  for (unsigned i = 0; i < 3; i++)
    {
      g_assert_true (charta_plot_data_get_point_position (data, 400, 240, NULL, 0, i, &x[i],
                                                          &y[i]));
      g_assert_cmpuint (count_color_around (surface, &test_accent, x[i], y[i], 0, 2.5), >=, 9);
    }
  g_assert_cmpuint (count_color_around (surface, &test_accent, x[0], y[0], 6, 9), >=, 12);
  g_assert_cmpuint (count_color_around (surface, &test_accent, x[1], y[1], 6, 9), ==, 0);
  g_assert_cmpuint (count_color_around (surface, &test_accent, x[2], y[2], 6, 9), >=, 12);

  per_unit = (y[2] - y[1]) / 30;
  g_assert_cmpfloat (per_unit, <, -1);
  inside = pixel (surface, (int) x[1], (int) (y[1] + (43 - 50) * per_unit));
  outside = pixel (surface, (int) x[1], (int) (y[1] + (37 - 50) * per_unit));
  g_assert_cmpuint (inside >> 24, >=, 5);
  g_assert_cmpuint (inside >> 24, <=, 60);
  g_assert_cmpuint (outside, ==, 0);
  cairo_surface_destroy (surface);
}

/* One point: one marker, in the middle (the time axis spans a day either side of it; an
 * all-equal value range is padded by 10 % either way), so within the middle third both ways.
 * Three equal values: three markers at one height, also in the middle third. */
static void
test_draw_degenerate (void)
{
  g_autoptr(GPtrArray) one = group (observations (weight ("one", "2020-02-02", "61"), NULL));
  g_autoptr(GPtrArray) equal = group (observations (
    weight ("e1", "2020-01-01", "5"), weight ("e2", "2020-06-01", "5"),
    weight ("e3", "2021-01-01", "5"), NULL));
  g_autoptr(GPtrArray) zero = group (observations (weight ("z", "2020-01-01", "0"), NULL));
  cairo_surface_t *surface = draw (plot_at (one, 0), 300, 180);
  g_autoptr(GArray) clusters = find_clusters (surface, &test_accent);
  g_autoptr(GArray) equal_clusters = NULL;
  g_autoptr(GArray) zero_clusters = NULL;

  g_assert_cmpuint (clusters->len, ==, 1);
  g_assert_cmpfloat (g_array_index (clusters, Cluster, 0).x, >, 100);
  g_assert_cmpfloat (g_array_index (clusters, Cluster, 0).x, <, 200);
  g_assert_cmpfloat (g_array_index (clusters, Cluster, 0).y, >, 60);
  g_assert_cmpfloat (g_array_index (clusters, Cluster, 0).y, <, 120);
  cairo_surface_destroy (surface);

  surface = draw (plot_at (equal, 0), 300, 180);
  equal_clusters = find_clusters (surface, &test_accent);
  g_assert_cmpuint (equal_clusters->len, ==, 3);
  for (unsigned i = 0; i < 3; i++)
    {
      g_assert_cmpfloat (fabs (g_array_index (equal_clusters, Cluster, i).y
                               - g_array_index (equal_clusters, Cluster, 0).y), <=, 1);
      g_assert_cmpfloat (g_array_index (equal_clusters, Cluster, i).y, >, 60);
      g_assert_cmpfloat (g_array_index (equal_clusters, Cluster, i).y, <, 120);
    }
  cairo_surface_destroy (surface);

  /* A single 0: the scale stays positive (0 to 2), so the point sits at the bottom, below the
   * middle of the 180-pixel surface. */
  surface = draw (plot_at (zero, 0), 300, 180);
  zero_clusters = find_clusters (surface, &test_accent);
  g_assert_cmpuint (zero_clusters->len, ==, 1);
  g_assert_cmpfloat (g_array_index (zero_clusters, Cluster, 0).y, >, 120);
  g_assert_cmpfloat (g_array_index (zero_clusters, Cluster, 0).y, <, 180);
  cairo_surface_destroy (surface);
}

/* Values close together for their size are not blown up to the plot's height: 168.6 and
 * 169.0 cm (a height measured twice) span at least 16.9 (a tenth of 169), so the two markers
 * lie less than a sixth of the 180-pixel surface apart vertically, while 10 and 20 kg (a
 * real change) lie more than a third apart. */
static void
test_draw_small_changes (void)
{
  g_autoptr(GPtrArray) close = group (observations (weight ("h1", "2020-01-01", "168.6"),
                                                    weight ("h2", "2021-01-01", "169.0"),
                                                    NULL));
  g_autoptr(GPtrArray) apart = group (observations (weight ("w1", "2020-01-01", "10"),
                                                    weight ("w2", "2021-01-01", "20"), NULL));
  cairo_surface_t *surface = draw (plot_at (close, 0), 300, 180);
  g_autoptr(GArray) clusters = find_clusters (surface, &test_accent);
  g_autoptr(GArray) apart_clusters = NULL;

  g_assert_cmpuint (clusters->len, ==, 2);
  g_assert_cmpfloat (fabs (g_array_index (clusters, Cluster, 0).y
                           - g_array_index (clusters, Cluster, 1).y), <, 180.0 / 6);
  cairo_surface_destroy (surface);

  surface = draw (plot_at (apart, 0), 300, 180);
  apart_clusters = find_clusters (surface, &test_accent);
  g_assert_cmpuint (apart_clusters->len, ==, 2);
  g_assert_cmpfloat (fabs (g_array_index (apart_clusters, Cluster, 0).y
                           - g_array_index (apart_clusters, Cluster, 1).y), >, 180.0 / 3);
  cairo_surface_destroy (surface);
}

/* Sizes too small for a plot draw nothing (and fail nothing); the widget's minimum size,
 * 240 × 140, draws the marker. */
static void
test_draw_tiny (void)
{
  static const int sizes[][2] = {
    { 0, 0 }, { 1, 1 }, { 10, 10 }, { 99, 200 }, { 400, 59 }, { 100, 60 },
  };
  g_autoptr(GPtrArray) plots = group (observations (weight ("a", "2019-01-01", "10"),
                                                    weight ("b", "2020-01-01", "20"), NULL));
  cairo_surface_t *surface;
  g_autoptr(GArray) clusters = NULL;

  for (size_t i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      /* cairo makes no 0 × 0 surface data; 1 × 1 stands for it with a 0 × 0 drawing. */
      cairo_surface_t *target = cairo_image_surface_create (CAIRO_FORMAT_ARGB32,
                                                            MAX (sizes[i][0], 1),
                                                            MAX (sizes[i][1], 1));
      cairo_t *cr = cairo_create (target);

      charta_plot_data_draw (plot_at (plots, 0), cr, sizes[i][0], sizes[i][1],
                             &test_foreground, &test_accent);
      g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
      cairo_destroy (cr);
      cairo_surface_flush (target);
      /* 100 × 60 is enough for the size check, not for the area inside the axes. */
      g_assert_cmpuint (count_painted (target), ==, 0);
      g_assert_false (charta_plot_data_get_point_position (plot_at (plots, 0), sizes[i][0],
                                                           sizes[i][1], NULL, 0, 0, NULL,
                                                           NULL));
      cairo_surface_destroy (target);
    }

  surface = draw (plot_at (plots, 0), 240, 140);
  clusters = find_clusters (surface, &test_accent);
  g_assert_cmpuint (clusters->len, ==, 2);
  cairo_surface_destroy (surface);
}

/* Huge spans: years 1 to 9999 and values from −10¹² to 10¹²; small differences on a huge
 * scale: 1000000 and 1000000.001 (apart in the 13th digit).  Every marker is
 * drawn, inside the surface, and cairo reports no error (a NaN would put the context in an
 * error state or a marker nowhere). */
static void
test_draw_huge (void)
{
  g_autoptr(GPtrArray) huge = group (observations (
    weight ("first", "0001-01-01", "-1e12"), weight ("middle", "5000-06-15", "0.001"),
    weight ("last", "9999-12-31", "1e12"), NULL));
  g_autoptr(GPtrArray) close = group (observations (
    weight ("a", "2020-01-01", "1000000"), weight ("b", "2020-01-02", "1000000.001"), NULL));
  cairo_surface_t *surface = draw (plot_at (huge, 0), 400, 240);
  g_autoptr(GArray) clusters = find_clusters (surface, &test_accent);
  g_autoptr(GArray) close_clusters = NULL;
  Cluster *c = (Cluster *) clusters->data;

  g_assert_cmpuint (clusters->len, ==, 3);
  g_assert_cmpfloat (c[0].y, >, c[1].y);
  g_assert_cmpfloat (c[1].y, >, c[2].y);
  for (unsigned i = 0; i < 3; i++)
    g_assert_cmpuint (c[i].n, >=, 25);
  cairo_surface_destroy (surface);

  surface = draw (plot_at (close, 0), 400, 240);
  close_clusters = find_clusters (surface, &test_accent);
  /* A difference of 10⁻⁹ of the values' size is no change to see: the scale spans at least a
   * tenth of the values (100,000 here), so both markers sit at one height. */
  g_assert_cmpuint (close_clusters->len, ==, 2);
  g_assert_cmpfloat (fabs (g_array_index (close_clusters, Cluster, 0).y
                           - g_array_index (close_clusters, Cluster, 1).y), <=, 1);
  cairo_surface_destroy (surface);
}

/* Blood pressure: two lines, the first (systolic, higher) in the accent, the second in the
 * foreground; a legend adds one accent marker in the header row (above every point). */
static void
test_draw_lines (void)
{
  g_autoptr(GPtrArray) bp = group (observations (blood_pressure ("bp1", "2019-03-04", 121, 79),
                                                 blood_pressure ("bp2", "2019-01-15", 135, 88),
                                                 blood_pressure ("bp3", "2019-05-20", 118, 76),
                                                 NULL));
  ChartaPlotData *data = plot_at (bp, 0);
  cairo_surface_t *surface = draw (data, 400, 240);
  g_autoptr(GArray) clusters = find_clusters (surface, &test_accent);
  double top = G_MAXDOUBLE;
  unsigned in_header = 0;
  double y_systolic, y_diastolic;

  /* 3 systolic markers and the legend's. */
  g_assert_cmpuint (clusters->len, ==, 4);
  for (unsigned i = 0; i < 3; i++)
    {
      double y;

      g_assert_true (charta_plot_data_get_point_position (data, 400, 240, NULL, 0, i, NULL, &y));
      top = MIN (top, y);
    }
  for (unsigned i = 0; i < clusters->len; i++)
    if (g_array_index (clusters, Cluster, i).y < top - 8)
      in_header++;
  g_assert_cmpuint (in_header, ==, 1);

  /* Systolic above diastolic, at bp1 (index 1 of each line). */
  g_assert_true (charta_plot_data_get_point_position (data, 400, 240, NULL, 0, 1, NULL,
                                                      &y_systolic));
  g_assert_true (charta_plot_data_get_point_position (data, 400, 240, NULL, 1, 1, NULL,
                                                      &y_diastolic));
  g_assert_cmpfloat (y_systolic, <, y_diastolic);
  g_assert_cmpuint (count_color_around (surface, &test_foreground, 0, 0, 0, 1000), >, 0);
  cairo_surface_destroy (surface);
}

/* find_point(): the marker nearest the point asked, within the distance. */
static void
test_find_point (void)
{
  g_autoptr(GPtrArray) plots = group (observations (weight ("a", "2019-01-01", "10"),
                                                    weight ("b", "2020-01-01", "20"), NULL));
  ChartaPlotData *data = plot_at (plots, 0);
  double x, y;
  unsigned line = 9, index = 9;

  g_assert_true (charta_plot_data_get_point_position (data, 300, 200, NULL, 0, 1, &x, &y));
  g_assert_true (charta_plot_data_find_point (data, 300, 200, NULL, x + 3, y - 3, 10, &line,
                                              &index));
  g_assert_cmpuint (line, ==, 0);
  g_assert_cmpuint (index, ==, 1);
  g_assert_false (charta_plot_data_find_point (data, 300, 200, NULL, x + 30, y + 30, 10, NULL,
                                               NULL));
}

/* ---- the widget --------------------------------------------------------------------------- */

typedef gboolean (*Condition) (gpointer data);

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
wait_for (Condition   condition,
          gpointer    data,
          const char *what)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_SECONDS * G_USEC_PER_SEC;
  guint tick = g_timeout_add (20, wake_up, NULL);
  gboolean met;

  while (!(met = condition (data)) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  if (!met)
    g_error ("gave up waiting for %s", what);
}

static gboolean
is_drawable (gpointer data)
{
  return gtk_widget_get_mapped (data) && gtk_widget_get_width (data) > 0;
}

static gboolean
has_focus (gpointer data)
{
  return gtk_widget_has_focus (data);
}

typedef struct
{
  GtkWidget *window;
  GtkWidget *plot;
  GPtrArray *plots;
  char *activated;          /* the last "point-activated" reference */
  unsigned n_activated;
} Fixture;

static void
point_activated (ChartaObservationPlot *plot,
                 const char            *reference,
                 Fixture               *fixture)
{
  g_free (fixture->activated);
  fixture->activated = g_strdup (reference);
  fixture->n_activated++;
}

/* A window showing the plot of the body weights (see body_weights()). */
static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  fixture->plots = body_weights ();
  fixture->plot = charta_observation_plot_new (plot_at (fixture->plots, 0));
  g_signal_connect (fixture->plot, "point-activated", G_CALLBACK (point_activated), fixture);
  fixture->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (fixture->window), 420, 260);
  gtk_window_set_child (GTK_WINDOW (fixture->window), fixture->plot);
  gtk_window_present (GTK_WINDOW (fixture->window));
  wait_for (is_drawable, fixture->plot, "the plot to be shown");
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  if (fixture->window != NULL)
    gtk_window_destroy (GTK_WINDOW (fixture->window));
  g_clear_pointer (&fixture->plots, g_ptr_array_unref);
  g_free (fixture->activated);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* The role is an image, the label the title, the description the plot in words (as
 * test_description() worked it out). */
static void
test_widget_accessible (Fixture       *fixture,
                        gconstpointer  user_data)
{
  g_autofree char *label = NULL;
  g_autofree char *description = NULL;
  g_autoptr(GtkWidget) empty = NULL;

  if (!have_display)
    return;
  gtk_test_accessible_assert_role (fixture->plot, GTK_ACCESSIBLE_ROLE_IMG);
  label = gtk_test_accessible_check_property (GTK_ACCESSIBLE (fixture->plot),
                                              GTK_ACCESSIBLE_PROPERTY_LABEL, "Body Weight");
  g_assert_null (label);
  description = gtk_test_accessible_check_property (
    GTK_ACCESSIBLE (fixture->plot), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
    "Body Weight in kg: 4 values from 2010 to 2020; latest 80.1 kg on 3 Mar 2020; "
    "reference range 50–90; 1 value outside it");
  g_assert_null (description);
  g_assert_true (gtk_widget_get_focusable (fixture->plot));

  /* Without data: the label says what it is, there is no description. */
  empty = g_object_ref_sink (charta_observation_plot_new (NULL));
  g_assert_null (charta_observation_plot_get_data (CHARTA_OBSERVATION_PLOT (empty)));
  g_assert_false (gtk_test_accessible_has_property (GTK_ACCESSIBLE (empty),
                                                    GTK_ACCESSIBLE_PROPERTY_DESCRIPTION));
}

static GtkEventController *
key_controller (GtkWidget *widget)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (unsigned i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_EVENT_CONTROLLER_KEY (controller))
        return controller;
    }
  g_error ("the plot has no key controller");
  return NULL;
}

static gboolean
press (GtkWidget *widget,
       guint      keyval)
{
  gboolean handled = FALSE;

  g_signal_emit_by_name (key_controller (widget), "key-pressed", keyval, 0, (GdkModifierType) 0,
                         &handled);
  return handled;
}

/* The keys move the highlight through the points in time order (w1, w2, w3, w4) and Enter or
 * Space activates the highlighted one: at first the latest (w4); Left → w3; Home → w1; Right
 * → w2; End, then Right at the end → still w4.  Up and Down have no other line to go to. */
static void
test_widget_keyboard (Fixture       *fixture,
                      gconstpointer  user_data)
{
  if (!have_display)
    return;
  gtk_widget_grab_focus (fixture->plot);
  wait_for (has_focus, fixture->plot, "the plot to have the focus");

  g_assert_true (press (fixture->plot, GDK_KEY_Return));
  g_assert_cmpstr (fixture->activated, ==, "Observation/w4");
  g_assert_true (press (fixture->plot, GDK_KEY_Left));
  g_assert_true (press (fixture->plot, GDK_KEY_Return));
  g_assert_cmpstr (fixture->activated, ==, "Observation/w3");
  g_assert_true (press (fixture->plot, GDK_KEY_Home));
  g_assert_true (press (fixture->plot, GDK_KEY_KP_Enter));
  g_assert_cmpstr (fixture->activated, ==, "Observation/w1");
  g_assert_true (press (fixture->plot, GDK_KEY_Right));
  g_assert_true (press (fixture->plot, GDK_KEY_space));
  g_assert_cmpstr (fixture->activated, ==, "Observation/w2");
  g_assert_true (press (fixture->plot, GDK_KEY_End));
  g_assert_true (press (fixture->plot, GDK_KEY_Right));
  g_assert_true (press (fixture->plot, GDK_KEY_Return));
  g_assert_cmpstr (fixture->activated, ==, "Observation/w4");
  g_assert_false (press (fixture->plot, GDK_KEY_Down));
  g_assert_false (press (fixture->plot, GDK_KEY_a));
  g_assert_cmpuint (fixture->n_activated, ==, 5);
  /* Drawn with the highlight (the snapshot runs with the focus on it). */
  gtk_widget_queue_draw (fixture->plot);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* A blood pressure plot: Down moves to the diastolic line, Down again has nowhere to go, Up
 * goes back. */
static void
test_widget_lines (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autoptr(GPtrArray) bp = NULL;

  if (!have_display)
    return;
  bp = group (observations (blood_pressure ("bp1", "2019-03-04", 121, 79),
                            blood_pressure ("bp2", "2019-01-15", 135, 88), NULL));
  charta_observation_plot_set_data (CHARTA_OBSERVATION_PLOT (fixture->plot), plot_at (bp, 0));
  g_assert_true (charta_observation_plot_get_data (CHARTA_OBSERVATION_PLOT (fixture->plot))
                 == plot_at (bp, 0));
  gtk_widget_grab_focus (fixture->plot);
  g_assert_false (press (fixture->plot, GDK_KEY_Up));
  g_assert_true (press (fixture->plot, GDK_KEY_Down));
  g_assert_false (press (fixture->plot, GDK_KEY_Down));
  g_assert_true (press (fixture->plot, GDK_KEY_Up));
  g_assert_true (press (fixture->plot, GDK_KEY_Home));
  g_assert_true (press (fixture->plot, GDK_KEY_Return));
  g_assert_cmpstr (fixture->activated, ==, "Observation/bp2");
}

/* The widget as drawn, into an image surface the widget's size. */
static cairo_surface_t *
render_widget (GtkWidget *widget)
{
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  gsk_render_node_draw (node, cr);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  return surface;
}

static GdkRGBA
style_accent (GtkWidget *widget)
{
  GdkRGBA accent;

  if (!gtk_style_context_lookup_color (gtk_widget_get_style_context (widget), "accent_color",
                                       &accent))
    gdk_rgba_parse (&accent, "#3584e4");
  return accent;
}

/* A click on the marker of the earliest point (the leftmost accent marker in the widget's
 * rendering) activates w1; a click far from every marker activates nothing. */
static void
test_widget_click (Fixture       *fixture,
                   gconstpointer  user_data)
{
  cairo_surface_t *surface;
  g_autoptr(GArray) clusters = NULL;
  GtkEventController *click = NULL;
  g_autoptr(GListModel) controllers = NULL;
  GdkRGBA accent;

  if (!have_display)
    return;
  accent = style_accent (fixture->plot);
  surface = render_widget (fixture->plot);
  clusters = find_clusters (surface, &accent);
  cairo_surface_destroy (surface);
  g_assert_cmpuint (clusters->len, ==, 4);

  controllers = gtk_widget_observe_controllers (fixture->plot);
  for (unsigned i = 0; i < g_list_model_get_n_items (controllers) && click == NULL; i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_GESTURE_CLICK (controller))
        click = controller;
    }
  g_assert_nonnull (click);
  g_signal_emit_by_name (click, "released", 1, g_array_index (clusters, Cluster, 0).x + 2,
                         g_array_index (clusters, Cluster, 0).y - 1);
  g_assert_cmpstr (fixture->activated, ==, "Observation/w1");
  g_signal_emit_by_name (click, "released", 1, 2.0, 2.0);
  g_assert_cmpuint (fixture->n_activated, ==, 1);
}

/* Greyish pixels drawn at least half opaque (text, axes): their lightest and darkest. */
static void
grey_range (cairo_surface_t *surface,
            double          *darkest,
            double          *lightest)
{
  *darkest = 1;
  *lightest = 0;
  for (int y = 0; y < cairo_image_surface_get_height (surface); y++)
    for (int x = 0; x < cairo_image_surface_get_width (surface); x++)
      {
        guint32 argb = pixel (surface, x, y);
        int a = argb >> 24, r = (argb >> 16) & 0xff, g = (argb >> 8) & 0xff, b = argb & 0xff;
        double level;

        if (a < 128 || ABS (r - g) > 8 || ABS (g - b) > 8)
          continue;
        level = (double) g / a;   /* un-premultiplied */
        *darkest = MIN (*darkest, level);
        *lightest = MAX (*lightest, level);
      }
}

/* Whether @data's style has a light foreground (dark style) or a dark one (light style). */
static gboolean
has_light_foreground (gpointer data)
{
  GdkRGBA color;

  gtk_style_context_get_color (gtk_widget_get_style_context (data), &color);
  return color.green > 0.5;
}

static gboolean
has_dark_foreground (gpointer data)
{
  return !has_light_foreground (data);
}

static gboolean
count_frame (GtkWidget     *widget,
             GdkFrameClock *clock,
             gpointer       data)
{
  (*(unsigned *) data)++;
  return G_SOURCE_CONTINUE;
}

static gboolean
two_frames (gpointer data)
{
  return *(unsigned *) data >= 2;
}

/* Waits until @widget has been through two more frames (the style applied and drawn). */
static void
wait_frames (GtkWidget *widget)
{
  unsigned frames = 0;
  guint id = gtk_widget_add_tick_callback (widget, count_frame, &frames, NULL);

  gtk_widget_queue_draw (widget);
  wait_for (two_frames, &frames, "two frames");
  gtk_widget_remove_tick_callback (widget, id);
}

/* The colours come from the style: in the light style the text and axes are dark, in the dark
 * style light (libadwaita's foregrounds: black at 80 %, white). */
static void
test_widget_dark (Fixture       *fixture,
                  gconstpointer  user_data)
{
  AdwStyleManager *manager;
  cairo_surface_t *surface;
  double darkest, lightest;

  if (!have_display)
    return;
  manager = adw_style_manager_get_default ();
  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_FORCE_LIGHT);
  wait_for (has_dark_foreground, fixture->plot, "the light style");
  wait_frames (fixture->plot);
  surface = render_widget (fixture->plot);
  grey_range (surface, &darkest, &lightest);
  cairo_surface_destroy (surface);
  g_assert_cmpfloat (darkest, <=, 0.1);
  g_assert_cmpfloat (lightest, <=, 0.3);

  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_FORCE_DARK);
  wait_for (has_light_foreground, fixture->plot, "the dark style");
  wait_frames (fixture->plot);
  surface = render_widget (fixture->plot);
  grey_range (surface, &darkest, &lightest);
  cairo_surface_destroy (surface);
  g_assert_cmpfloat (lightest, >=, 0.9);
  g_assert_cmpfloat (darkest, >=, 0.7);

  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_DEFAULT);
}

int
main (int   argc,
      char *argv[])
{
  /* Dates without a time are local midnight: UTC makes them countable by hand. */
  g_setenv ("TZ", "UTC", TRUE);
  /* GTK's test accessibility backend (no bus), whose properties gtk_test_accessible_*()
   * reads; the environment's GTK_A11Y=none would give the widgets no accessible context. */
  g_setenv ("GTK_A11Y", "test", TRUE);
  g_test_init (&argc, &argv, NULL);

  have_display = gtk_init_check ();
  if (have_display)
    adw_init ();

  g_test_add_func ("/charta/gui/observation-plot/group-units", test_group_units);
  g_test_add_func ("/charta/gui/observation-plot/group-components", test_group_components);
  g_test_add_func ("/charta/gui/observation-plot/group-skipped", test_group_skipped);
  g_test_add_func ("/charta/gui/observation-plot/group-dates", test_group_dates);
  g_test_add_func ("/charta/gui/observation-plot/group-order", test_group_order);
  g_test_add_func ("/charta/gui/observation-plot/group-reference-range",
                   test_group_reference_range);
  g_test_add_func ("/charta/gui/observation-plot/description", test_description);
  g_test_add_func ("/charta/gui/observation-plot/point-text", test_point_text);
  g_test_add_func ("/charta/gui/observation-plot/draw-orientation", test_draw_orientation);
  g_test_add_func ("/charta/gui/observation-plot/draw-out-of-range", test_draw_out_of_range);
  g_test_add_func ("/charta/gui/observation-plot/draw-degenerate", test_draw_degenerate);
  g_test_add_func ("/charta/gui/observation-plot/draw-small-changes", test_draw_small_changes);
  g_test_add_func ("/charta/gui/observation-plot/draw-tiny", test_draw_tiny);
  g_test_add_func ("/charta/gui/observation-plot/draw-huge", test_draw_huge);
  g_test_add_func ("/charta/gui/observation-plot/draw-lines", test_draw_lines);
  g_test_add_func ("/charta/gui/observation-plot/find-point", test_find_point);
  g_test_add ("/charta/gui/observation-plot/widget-accessible", Fixture, NULL, fixture_set_up,
              test_widget_accessible, fixture_tear_down);
  g_test_add ("/charta/gui/observation-plot/widget-keyboard", Fixture, NULL, fixture_set_up,
              test_widget_keyboard, fixture_tear_down);
  g_test_add ("/charta/gui/observation-plot/widget-lines", Fixture, NULL, fixture_set_up,
              test_widget_lines, fixture_tear_down);
  g_test_add ("/charta/gui/observation-plot/widget-click", Fixture, NULL, fixture_set_up,
              test_widget_click, fixture_tear_down);
  g_test_add ("/charta/gui/observation-plot/widget-dark", Fixture, NULL, fixture_set_up,
              test_widget_dark, fixture_tear_down);

  return g_test_run ();
}
