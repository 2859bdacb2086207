/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-observation-plot.c: numeric observations as line plots (see
 * charta-observation-plot.h).
 *
 * Grouping reads each Observation once into points, keyed by plot (code and unit) and line
 * (the component's code, "" for the Observation's own value), then sorts.  Which Observation
 * gives a plot its title and unit, a line its name and the plot its reference range is decided
 * by time, then by reference, never by input order, so the same Observations in any order give
 * the same plots.  A component's own referenceRange serves only a plot with that one line (the
 * systolic range is no band for the diastolic line).
 *
 * Drawing and hit testing share one Layout, computed from the data, the size and the font:
 * text is measured with a PangoContext of the default cairo font map (not with the target
 * cairo_t), so the widget finds a point where the drawing put it.  Every coordinate that
 * reaches cairo is checked to be finite.
 */
#define G_LOG_DOMAIN "charta-observation-plot"

#include <math.h>
#include <string.h>

#include <pango/pangocairo.h>

#include "charta-fhir-text.h"
#include "charta-observation-plot.h"

/* Below this size a plot is not drawn at all. */
#define MIN_WIDTH 100
#define MIN_HEIGHT 60
/* Nor when the area inside the axes would be smaller than this. */
#define MIN_AREA_WIDTH 40
#define MIN_AREA_HEIGHT 30
/* Values beyond this magnitude are taken for mistakes, not plotted. */
#define MAX_MAGNITUDE 1e100
#define MARKER_RADIUS 4.0
#define RING_RADIUS 7.5
#define HIGHLIGHT_RADIUS 11.0
#define DEFAULT_FONT "Sans 9"
#define DAY_USEC (G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC)

/* ---- the data ----------------------------------------------------------------------------- */

typedef struct
{
  ChartaPlotPoint point;    /* first: charta_plot_data_get_point() hands out its address */
  double low;               /* this point's reference range; NaN where missing */
  double high;
  gboolean component_range; /* the range is a component's own */
} Point;

typedef struct
{
  char *key;                /* the component's system|code; "" for an Observation's own value */
  char *name;
  int order;                /* the least index of the component in its Observations; -1 for
                             * an Observation's own value */
  GArray *points;           /* Point, sorted once grouping is done */
  gint64 named_time;        /* the time and reference of the point that gave the name */
  char *named_reference;
} Line;

struct _ChartaPlotData
{
  gatomicrefcount ref_count;
  char *code;
  char *unit_key;           /* the Quantity's code, else its unit: what groups points */
  char *title;
  char *unit;
  GPtrArray *lines;         /* Line */
  double low;
  double high;
  unsigned n_values;
  gint64 titled_time;       /* the time and reference of the point that gave title and unit */
  char *titled_reference;
};

G_DEFINE_BOXED_TYPE (ChartaPlotData, charta_plot_data, charta_plot_data_ref,
                     charta_plot_data_unref)

static void
point_clear (gpointer data)
{
  Point *point = data;

  g_free (point->point.reference);
}

static void
line_free (gpointer data)
{
  Line *line = data;

  g_free (line->key);
  g_free (line->name);
  g_free (line->named_reference);
  g_array_unref (line->points);
  g_free (line);
}

ChartaPlotData *
charta_plot_data_ref (ChartaPlotData *data)
{
  g_return_val_if_fail (data != NULL, NULL);

  g_atomic_ref_count_inc (&data->ref_count);
  return data;
}

void
charta_plot_data_unref (ChartaPlotData *data)
{
  g_return_if_fail (data != NULL);

  if (!g_atomic_ref_count_dec (&data->ref_count))
    return;
  g_free (data->code);
  g_free (data->unit_key);
  g_free (data->title);
  g_free (data->unit);
  g_free (data->titled_reference);
  g_ptr_array_unref (data->lines);
  g_free (data);
}

const char *
charta_plot_data_get_code (ChartaPlotData *data)
{
  g_return_val_if_fail (data != NULL, NULL);

  return data->code;
}

const char *
charta_plot_data_get_title (ChartaPlotData *data)
{
  g_return_val_if_fail (data != NULL, NULL);

  return data->title;
}

const char *
charta_plot_data_get_unit (ChartaPlotData *data)
{
  g_return_val_if_fail (data != NULL, NULL);

  return data->unit;
}

void
charta_plot_data_get_reference_range (ChartaPlotData *data,
                                      double         *low,
                                      double         *high)
{
  g_return_if_fail (data != NULL);

  if (low != NULL)
    *low = data->low;
  if (high != NULL)
    *high = data->high;
}

gboolean
charta_plot_data_is_out_of_range (ChartaPlotData *data,
                                  double          value)
{
  g_return_val_if_fail (data != NULL, FALSE);

  return (isfinite (data->low) && value < data->low)
         || (isfinite (data->high) && value > data->high);
}

unsigned
charta_plot_data_get_n_lines (ChartaPlotData *data)
{
  g_return_val_if_fail (data != NULL, 0);

  return data->lines->len;
}

static Line *
get_line (ChartaPlotData *data,
          unsigned        line)
{
  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (line < data->lines->len, NULL);

  return g_ptr_array_index (data->lines, line);
}

const char *
charta_plot_data_get_line_name (ChartaPlotData *data,
                                unsigned        line)
{
  Line *l = get_line (data, line);

  return l != NULL ? l->name : NULL;
}

unsigned
charta_plot_data_get_n_points (ChartaPlotData *data,
                               unsigned        line)
{
  Line *l = get_line (data, line);

  return l != NULL ? l->points->len : 0;
}

const ChartaPlotPoint *
charta_plot_data_get_point (ChartaPlotData *data,
                            unsigned        line,
                            unsigned        index)
{
  Line *l = get_line (data, line);

  if (l == NULL)
    return NULL;
  g_return_val_if_fail (index < l->points->len, NULL);
  return &g_array_index (l->points, Point, index).point;
}

unsigned
charta_plot_data_get_n_values (ChartaPlotData *data)
{
  g_return_val_if_fail (data != NULL, 0);

  return data->n_values;
}

/* ---- reading Observations ----------------------------------------------------------------- */

/* Whether (@time, @reference) comes after (@latest_time, @latest_reference): later, or at the
 * same time with a greater reference (a tie broken the same way whatever the input order). */
static gboolean
is_later (gint64      time,
          const char *reference,
          gint64      latest_time,
          const char *latest_reference)
{
  if (latest_reference == NULL || time != latest_time)
    return latest_reference == NULL || time > latest_time;
  return strcmp (reference, latest_reference) > 0;
}

/* Digits at @text, exactly @n of them, as a number; -1 when they are not. */
static int
read_digits (const char *text,
             int         n)
{
  int value = 0;

  for (int i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit (text[i]))
        return -1;
      value = value * 10 + (text[i] - '0');
    }
  return value;
}

static gint64
to_usec (GDateTime *date_time)
{
  return g_date_time_to_unix (date_time) * G_USEC_PER_SEC
         + g_date_time_get_microsecond (date_time);
}

/* A FHIR date, dateTime or instant as unix µs: a partial date or a date without a time is its
 * start, midnight local time; a time without a zone is local time. */
static gboolean
parse_time (const char *text,
            gint64     *time)
{
  g_autoptr(GDateTime) date_time = NULL;
  size_t length;
  int year, month = 1, day = 1;

  if (text == NULL)
    return FALSE;
  length = strlen (text);
  year = length >= 4 ? read_digits (text, 4) : -1;
  if (year < 1)
    return FALSE;
  if (length > 4)
    {
      if (text[4] != '-' || length < 7 || (month = read_digits (text + 5, 2)) < 0)
        return FALSE;
      if (length > 7)
        {
          if (text[7] != '-' || length < 10 || (day = read_digits (text + 8, 2)) < 0)
            return FALSE;
          if (length > 10)
            {
              g_autoptr(GTimeZone) local = g_time_zone_new_local ();

              date_time = g_date_time_new_from_iso8601 (text, local);
              if (date_time == NULL)
                return FALSE;
              *time = to_usec (date_time);
              return TRUE;
            }
        }
    }
  date_time = g_date_time_new_local (year, month, day, 0, 0, 0);
  if (date_time == NULL)
    return FALSE;
  *time = to_usec (date_time);
  return TRUE;
}

/* When @observation was measured (see the header for the elements read). */
static gboolean
observation_time (JsonObject *observation,
                  gint64     *time)
{
  const char *text = charta_json_get_string (observation, "effectiveDateTime");

  if (text == NULL)
    text = charta_json_get_string (charta_json_get_object (observation, "effectivePeriod"),
                                   "start");
  if (text == NULL)
    text = charta_json_get_string (observation, "effectiveInstant");
  return parse_time (text, time);
}

/* The member @name of @object as a plottable number: a finite JSON number of sane size. */
static gboolean
get_number (JsonObject *object,
            const char *name,
            double     *value)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      *value = (double) json_node_get_int (node);
      break;
    case G_TYPE_DOUBLE:
      *value = json_node_get_double (node);
      break;
    default:
      return FALSE;
    }
  return isfinite (*value) && fabs (*value) <= MAX_MAGNITUDE;
}

/* "system|code" of the first coding of the CodeableConcept @concept; NULL without a code. */
static char *
concept_key (JsonObject *concept)
{
  JsonObject *coding = charta_json_get_first (concept, "coding");
  const char *code = charta_json_get_string (coding, "code");
  const char *system = charta_json_get_string (coding, "system");

  if (code == NULL)
    return NULL;
  return g_strdup_printf ("%s|%s", system != NULL ? system : "", code);
}

/* The low and high values of the first referenceRange of @object; NaN where missing. */
static gboolean
read_range (JsonObject *object,
            double     *low,
            double     *high)
{
  JsonObject *range = charta_json_get_first (object, "referenceRange");

  if (!get_number (charta_json_get_object (range, "low"), "value", low))
    *low = NAN;
  if (!get_number (charta_json_get_object (range, "high"), "value", high))
    *high = NAN;
  return isfinite (*low) || isfinite (*high);
}

/* What one Observation says about all of its points. */
typedef struct
{
  char *code;
  char *title;
  char *reference;
  gint64 time;
} Source;

static void
source_clear (Source *source)
{
  g_free (source->code);
  g_free (source->title);
  g_free (source->reference);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Source, source_clear)

static ChartaPlotData *
plot_new (const char *code,
          const char *unit_key)
{
  ChartaPlotData *data = g_new0 (ChartaPlotData, 1);

  g_atomic_ref_count_init (&data->ref_count);
  data->code = g_strdup (code);
  data->unit_key = g_strdup (unit_key);
  data->lines = g_ptr_array_new_with_free_func (line_free);
  data->low = NAN;
  data->high = NAN;
  return data;
}

/* Adds the point of @quantity (the valueQuantity of the Observation or of its component
 * @component_index, -1 for its own) to its plot and line.  Leaves out what is not a plottable
 * number. */
static void
add_point (GHashTable   *plots,
           const Source *source,
           JsonObject   *quantity,
           const char   *line_key,
           const char   *line_name,
           int           component_index,
           double        low,
           double        high)
{
  const char *unit = charta_json_get_string (quantity, "unit");
  const char *unit_code = charta_json_get_string (quantity, "code");
  const char *unit_key = unit_code != NULL ? unit_code : unit != NULL ? unit : "";
  g_autofree char *plot_key = NULL;
  ChartaPlotData *data;
  Line *line = NULL;
  Point point;
  double value;

  if (!get_number (quantity, "value", &value)
      || charta_json_get_string (quantity, "comparator") != NULL)
    return;

  plot_key = g_strdup_printf ("%s\n%s", source->code, unit_key);
  data = g_hash_table_lookup (plots, plot_key);
  if (data == NULL)
    {
      data = plot_new (source->code, unit_key);
      g_hash_table_insert (plots, g_steal_pointer (&plot_key), data);
    }
  if (is_later (source->time, source->reference, data->titled_time, data->titled_reference))
    {
      g_free (data->title);
      data->title = g_strdup (source->title);
      g_free (data->unit);
      data->unit = g_strdup (unit != NULL ? unit : unit_key);
      g_free (data->titled_reference);
      data->titled_reference = g_strdup (source->reference);
      data->titled_time = source->time;
    }

  for (unsigned i = 0; i < data->lines->len && line == NULL; i++)
    if (strcmp (((Line *) g_ptr_array_index (data->lines, i))->key, line_key) == 0)
      line = g_ptr_array_index (data->lines, i);
  if (line == NULL)
    {
      line = g_new0 (Line, 1);
      line->key = g_strdup (line_key);
      line->order = component_index;
      line->points = g_array_new (FALSE, FALSE, sizeof (Point));
      g_array_set_clear_func (line->points, point_clear);
      g_ptr_array_add (data->lines, line);
    }
  line->order = MIN (line->order, component_index);
  if (is_later (source->time, source->reference, line->named_time, line->named_reference))
    {
      g_free (line->name);
      line->name = g_strdup (line_name);
      g_free (line->named_reference);
      line->named_reference = g_strdup (source->reference);
      line->named_time = source->time;
    }

  point.point.time = source->time;
  point.point.value = value;
  point.point.reference = g_strdup (source->reference);
  point.low = low;
  point.high = high;
  point.component_range = component_index >= 0;
  g_array_append_val (line->points, point);
  data->n_values++;
}

static void
add_observation (GHashTable *plots,
                 JsonObject *observation)
{
  g_auto(Source) source = { 0 };
  JsonArray *components = charta_json_get_array (observation, "component");
  JsonObject *code = charta_json_get_object (observation, "code");
  const char *id = charta_json_get_string (observation, "id");
  double low, high;

  if (g_strcmp0 (charta_json_get_string (observation, "resourceType"), "Observation") != 0
      || id == NULL || charta_fhir_is_entered_in_error (observation)
      || g_strcmp0 (charta_json_get_string (observation, "status"), "cancelled") == 0
      || !observation_time (observation, &source.time)
      || (source.code = concept_key (code)) == NULL)
    return;
  source.reference = g_strdup_printf ("Observation/%s", id);
  source.title = charta_fhir_text_concept (code);

  read_range (observation, &low, &high);
  if (charta_json_get_object (observation, "valueQuantity") != NULL)
    add_point (plots, &source, charta_json_get_object (observation, "valueQuantity"), "",
               source.title, -1, low, high);

  for (unsigned i = 0; components != NULL && i < json_array_get_length (components); i++)
    {
      JsonNode *node = json_array_get_element (components, i);
      JsonObject *component = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonObject *component_code = charta_json_get_object (component, "code");
      g_autofree char *key = concept_key (component_code);
      g_autofree char *name = NULL;
      double component_low, component_high;

      if (key == NULL || charta_json_get_object (component, "valueQuantity") == NULL)
        continue;
      name = charta_fhir_text_concept (component_code);
      read_range (component, &component_low, &component_high);
      add_point (plots, &source, charta_json_get_object (component, "valueQuantity"), key,
                 name, (int) i, component_low, component_high);
    }
}

static int
compare_points (gconstpointer a,
                gconstpointer b)
{
  const Point *first = a;
  const Point *second = b;

  if (first->point.time != second->point.time)
    return first->point.time < second->point.time ? -1 : 1;
  return strcmp (first->point.reference, second->point.reference);
}

static int
compare_lines (gconstpointer a,
               gconstpointer b)
{
  const Line *first = *(Line *const *) a;
  const Line *second = *(Line *const *) b;

  if (first->order != second->order)
    return first->order < second->order ? -1 : 1;
  return strcmp (first->key, second->key);
}

static int
compare_plots (gconstpointer a,
               gconstpointer b)
{
  const ChartaPlotData *first = *(ChartaPlotData *const *) a;
  const ChartaPlotData *second = *(ChartaPlotData *const *) b;
  int order;

  if (first->n_values != second->n_values)
    return first->n_values > second->n_values ? -1 : 1;
  if ((order = g_strcmp0 (first->title, second->title)) != 0)
    return order;
  if ((order = g_strcmp0 (first->unit, second->unit)) != 0)
    return order;
  return strcmp (first->code, second->code);
}

/* Sorts the lines and points of @data and picks its reference range. */
static void
finish_plot (ChartaPlotData *data)
{
  const Point *latest = NULL;

  g_ptr_array_sort (data->lines, compare_lines);
  for (unsigned i = 0; i < data->lines->len; i++)
    {
      Line *line = g_ptr_array_index (data->lines, i);

      g_array_sort (line->points, compare_points);
      if (line->name == NULL)
        line->name = g_strdup (data->title != NULL ? data->title : "");
      for (unsigned j = 0; j < line->points->len; j++)
        {
          const Point *point = &g_array_index (line->points, Point, j);

          if (!isfinite (point->low) && !isfinite (point->high))
            continue;
          if (point->component_range && data->lines->len > 1)
            continue;
          if (latest == NULL || is_later (point->point.time, point->point.reference,
                                          latest->point.time, latest->point.reference))
            latest = point;
        }
    }
  if (data->title == NULL)
    data->title = g_strdup (data->code);
  if (latest != NULL)
    {
      data->low = latest->low;
      data->high = latest->high;
    }
}

GPtrArray *
charta_plot_data_from_observations (JsonArray *observations)
{
  g_autoptr(GHashTable) plots = NULL;
  GPtrArray *result;
  GHashTableIter iter;
  gpointer value;

  result = g_ptr_array_new_with_free_func ((GDestroyNotify) charta_plot_data_unref);
  g_return_val_if_fail (observations != NULL, result);

  plots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (unsigned i = 0; i < json_array_get_length (observations); i++)
    {
      JsonNode *node = json_array_get_element (observations, i);

      if (JSON_NODE_HOLDS_OBJECT (node))
        add_observation (plots, json_node_get_object (node));
    }

  g_hash_table_iter_init (&iter, plots);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      finish_plot (value);
      g_ptr_array_add (result, value);
    }
  g_ptr_array_sort (result, compare_plots);
  return result;
}

/* ---- words -------------------------------------------------------------------------------- */

/* The shortest text of @value that reads back as the same double ("80.1"). */
static char *
value_text (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (buffer, sizeof buffer, "%.15g", value + 0.0);
  if (g_ascii_strtod (buffer, NULL) != value)
    g_ascii_formatd (buffer, sizeof buffer, "%.17g", value);
  return g_strdup (buffer);
}

/* "80.1 kg", or "7.4" without a unit. */
static char *
quantity_text (ChartaPlotData *data,
               double          value)
{
  g_autofree char *number = value_text (value);

  if (*data->unit == '\0')
    return g_steal_pointer (&number);
  return g_strdup_printf ("%s %s", number, data->unit);
}

/* Local time of @time (unix µs); NULL outside the years GDateTime knows. */
static GDateTime *
local_time (gint64 time)
{
  gint64 seconds = time / G_USEC_PER_SEC;

  if (time % G_USEC_PER_SEC < 0)
    seconds--;
  return g_date_time_new_from_unix_local (seconds);
}

/* @time formatted with @format in local time; "?" when it cannot be. */
static char *
time_text (gint64      time,
           const char *format)
{
  g_autoptr(GDateTime) date_time = local_time (time);
  char *text = date_time != NULL ? g_date_time_format (date_time, format) : NULL;

  return text != NULL ? text : g_strdup ("?");
}

char *
charta_plot_data_dup_description (ChartaPlotData *data)
{
  g_autoptr(GString) text = NULL;
  g_autofree char *first_year = NULL;
  g_autofree char *last_year = NULL;
  gint64 first = G_MAXINT64, last = G_MININT64;
  unsigned n_outside = 0;

  g_return_val_if_fail (data != NULL, NULL);

  text = g_string_new (data->title);
  if (*data->unit != '\0')
    g_string_append_printf (text, " in %s", data->unit);
  g_string_append (text, ": ");
  for (unsigned i = 0; i < data->lines->len; i++)
    {
      GArray *points = ((Line *) g_ptr_array_index (data->lines, i))->points;

      first = MIN (first, g_array_index (points, Point, 0).point.time);
      last = MAX (last, g_array_index (points, Point, points->len - 1).point.time);
      for (unsigned j = 0; j < points->len; j++)
        if (charta_plot_data_is_out_of_range (data, g_array_index (points, Point, j).point.value))
          n_outside++;
    }
  if (data->lines->len > 1)
    g_string_append_printf (text, "%u lines, ", data->lines->len);
  first_year = time_text (first, "%Y");
  last_year = time_text (last, "%Y");
  if (data->n_values == 1)
    g_string_append (text, "1 value");
  else if (strcmp (first_year, last_year) == 0)
    g_string_append_printf (text, "%u values in %s", data->n_values, first_year);
  else
    g_string_append_printf (text, "%u values from %s to %s", data->n_values, first_year,
                            last_year);

  g_string_append (text, data->n_values == 1 ? ", " : "; latest ");
  for (unsigned i = 0; i < data->lines->len; i++)
    {
      Line *line = g_ptr_array_index (data->lines, i);
      const Point *point = &g_array_index (line->points, Point, line->points->len - 1);
      g_autofree char *quantity = quantity_text (data, point->point.value);
      g_autofree char *date = time_text (point->point.time, "%-d %b %Y");

      if (i > 0)
        g_string_append (text, ", ");
      if (data->lines->len > 1)
        g_string_append_printf (text, "%s ", line->name);
      g_string_append_printf (text, "%s on %s", quantity, date);
    }

  if (isfinite (data->low) || isfinite (data->high))
    {
      g_autofree char *low = isfinite (data->low) ? value_text (data->low) : NULL;
      g_autofree char *high = isfinite (data->high) ? value_text (data->high) : NULL;

      if (low != NULL && high != NULL)
        g_string_append_printf (text, "; reference range %s–%s", low, high);
      else if (low != NULL)
        g_string_append_printf (text, "; reference range at least %s", low);
      else
        g_string_append_printf (text, "; reference range at most %s", high);
      if (n_outside > 0)
        g_string_append_printf (text, "; %u %s outside it", n_outside,
                                n_outside == 1 ? "value" : "values");
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

char *
charta_plot_data_dup_point_text (ChartaPlotData *data,
                                 unsigned        line,
                                 unsigned        index)
{
  const ChartaPlotPoint *point = charta_plot_data_get_point (data, line, index);
  g_autofree char *quantity = NULL;
  g_autofree char *date = NULL;

  if (point == NULL)
    return NULL;
  quantity = quantity_text (data, point->value);
  date = time_text (point->time, "%-d %b %Y");
  return g_strdup_printf ("%s%s%s on %s%s",
                          data->lines->len > 1 ? charta_plot_data_get_line_name (data, line) : "",
                          data->lines->len > 1 ? " " : "", quantity, date,
                          charta_plot_data_is_out_of_range (data, point->value)
                          ? ", outside the reference range" : "");
}

/* ---- layout ------------------------------------------------------------------------------- */

typedef struct
{
  double position;          /* pixels: y for a value tick, x for a time tick */
  char *text;
} Tick;

typedef struct
{
  PangoFontDescription *font;
  double text_height;
  double left;              /* the plot area, in pixels */
  double top;
  double right;
  double bottom;
  gint64 t0;                /* the times at left and right; t1 > t0 */
  gint64 t1;
  double v0;                /* the values at bottom and top; v1 > v0 */
  double v1;
  GArray *value_ticks;      /* Tick */
  GArray *time_ticks;       /* Tick */
} Layout;

static void
tick_clear (gpointer data)
{
  g_free (((Tick *) data)->text);
}

static void
layout_clear (Layout *layout)
{
  g_clear_pointer (&layout->font, pango_font_description_free);
  g_clear_pointer (&layout->value_ticks, g_array_unref);
  g_clear_pointer (&layout->time_ticks, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Layout, layout_clear)

static void
add_tick (GArray *ticks,
          double  position,
          char   *text)
{
  Tick tick = { position, text };

  g_array_append_val (ticks, tick);
}

/* The size of @text in @font, in pixels, as measured by @context. */
static void
measure_text (PangoContext               *context,
              const PangoFontDescription *font,
              const char                 *text,
              double                     *width,
              double                     *height)
{
  g_autoptr(PangoLayout) layout = pango_layout_new (context);
  int w, h;

  pango_layout_set_font_description (layout, font);
  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &w, &h);
  if (width != NULL)
    *width = w;
  if (height != NULL)
    *height = h;
}

static double
x_of (const Layout *layout,
      gint64        time)
{
  return layout->left
         + (double) (time - layout->t0) / (double) (layout->t1 - layout->t0)
           * (layout->right - layout->left);
}

static double
y_of (const Layout *layout,
      double        value)
{
  return layout->bottom
         - (value - layout->v0) / (layout->v1 - layout->v0) * (layout->bottom - layout->top);
}

/* A tick value as text with as many decimals as @step needs. */
static char *
tick_text (double value,
           double step,
           double magnitude)
{
  int decimals = step >= 1 ? 0 : (int) ceil (-log10 (step) - 1e-9);

  if (magnitude >= 1e7 || step < 1e-6)
    return g_strdup_printf ("%.3g", value + 0.0);
  return g_strdup_printf ("%.*f", CLAMP (decimals, 0, 6), value + 0.0);
}

/* The values at the bottom and top of the area, and the ticks between, for about @target
 * ticks. */
static gboolean
value_scale (ChartaPlotData *data,
             Layout         *layout,
             int             target)
{
  double low = G_MAXDOUBLE, high = -G_MAXDOUBLE;
  double step, magnitude, normal, first, last;
  int n;

  for (unsigned i = 0; i < data->lines->len; i++)
    {
      GArray *points = ((Line *) g_ptr_array_index (data->lines, i))->points;

      for (unsigned j = 0; j < points->len; j++)
        {
          low = MIN (low, g_array_index (points, Point, j).point.value);
          high = MAX (high, g_array_index (points, Point, j).point.value);
        }
    }
  if (isfinite (data->low))
    low = MIN (low, data->low), high = MAX (high, data->low);
  if (isfinite (data->high))
    low = MIN (low, data->high), high = MAX (high, data->high);
  /* At least a tenth of the values' size from bottom to top: a height of 168.6 to 169.0 cm
   * is one height measured seven times, not a curve. */
  if (high >= low)
    {
      double size = MAX (fabs (low), fabs (high));
      double min_span = size == 0 ? 2 : size * 0.1;

      if (high - low < min_span)
        {
          double middle = low / 2 + high / 2;
          gboolean positive = low >= 0;

          low = middle - min_span / 2;
          high = middle + min_span / 2;
          /* Positive values keep a positive scale. */
          if (positive && low < 0)
            {
              high -= low;
              low = 0;
            }
        }
    }
  if (!(high > low))
    {
      low -= 1;
      high += 1;
    }
  if (!isfinite (high - low))
    return FALSE;

  step = (high - low) / MAX (target, 1);
  magnitude = pow (10, floor (log10 (step)));
  normal = step / magnitude;
  step = (normal <= 1 ? 1 : normal <= 2 ? 2 : normal <= 5 ? 5 : 10) * magnitude;
  first = floor (low / step) * step;
  last = ceil (high / step) * step;
  if (!isfinite (step) || step <= 0 || !isfinite (first) || !isfinite (last) || !(last > first))
    return FALSE;
  layout->v0 = first;
  layout->v1 = last;
  n = (int) round ((last - first) / step);
  for (int i = 0; i <= n && i <= 50; i++)
    add_tick (layout->value_ticks, first + i * step,
              tick_text (first + i * step, step, MAX (fabs (first), fabs (last))));
  return TRUE;
}

typedef enum
{
  TIME_YEARS,
  TIME_MONTHS,
  TIME_DAYS
} TimeUnit;

/* The first moment of @year-@month-@day, local time, as unix µs; FALSE outside GDateTime's
 * years. */
static gboolean
start_of_day (int     year,
              int     month,
              int     day,
              gint64 *time)
{
  g_autoptr(GDateTime) date_time = NULL;

  if (year < 1 || year > 9999)
    return FALSE;
  date_time = g_date_time_new_local (year, month, day, 0, 0, 0);
  if (date_time == NULL)
    return FALSE;
  *time = to_usec (date_time);
  return TRUE;
}

/* Time ticks on whole years, months or days, as many as fit side by side. */
static void
time_scale (Layout       *layout,
            PangoContext *context)
{
  static const int year_steps[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000 };
  static const int month_steps[] = { 1, 2, 3, 6, 12 };
  static const int day_steps[] = { 1, 2, 7, 14, 28 };
  g_autoptr(GDateTime) start = NULL;
  g_autoptr(GDateTime) end = NULL;
  gint64 lowest = G_MININT64, highest = G_MAXINT64;
  gint64 span = layout->t1 - layout->t0;
  TimeUnit unit = span >= 3 * 365 * DAY_USEC ? TIME_YEARS
                  : span >= 90 * DAY_USEC ? TIME_MONTHS : TIME_DAYS;
  const char *format = unit == TIME_YEARS ? "%Y" : unit == TIME_MONTHS ? "%b %Y" : "%-d %b";
  const int *steps = unit == TIME_YEARS ? year_steps : unit == TIME_MONTHS ? month_steps
                                                                           : day_steps;
  size_t n_steps = unit == TIME_YEARS ? G_N_ELEMENTS (year_steps)
                   : unit == TIME_MONTHS ? G_N_ELEMENTS (month_steps) : G_N_ELEMENTS (day_steps);
  g_autofree char *sample = NULL;
  double sample_width, end_width;
  gint64 first, last, count, step = 1;
  int max_labels;

  /* Labels only within the years GDateTime knows (a day inside them, whatever the zone). */
  if (!start_of_day (1, 1, 2, &lowest) || !start_of_day (9999, 12, 30, &highest))
    return;
  start = local_time (CLAMP (layout->t0, lowest, highest));
  end = local_time (CLAMP (layout->t1, lowest, highest));
  if (start == NULL || end == NULL)
    return;
  /* The widest of the first and the last label stands for all. */
  sample = g_date_time_format (start, format);
  measure_text (context, layout->font, sample != NULL ? sample : "0000", &sample_width, NULL);
  g_free (sample);
  sample = g_date_time_format (end, format);
  measure_text (context, layout->font, sample != NULL ? sample : "0000", &end_width, NULL);
  sample_width = MAX (sample_width, end_width);
  max_labels = MAX (1, (int) ((layout->right - layout->left) / (sample_width + 16)));

  /* Years, months or days counted from the start of the era (GDate's Julian days). */
  if (unit == TIME_YEARS)
    {
      first = g_date_time_get_year (start);
      last = g_date_time_get_year (end);
    }
  else if (unit == TIME_MONTHS)
    {
      first = g_date_time_get_year (start) * 12 + g_date_time_get_month (start) - 1;
      last = g_date_time_get_year (end) * 12 + g_date_time_get_month (end) - 1;
    }
  else
    {
      g_autoptr(GDate) first_day = g_date_new_dmy (g_date_time_get_day_of_month (start),
                                                   g_date_time_get_month (start),
                                                   g_date_time_get_year (start));
      g_autoptr(GDate) last_day = g_date_new_dmy (g_date_time_get_day_of_month (end),
                                                  g_date_time_get_month (end),
                                                  g_date_time_get_year (end));

      first = g_date_get_julian (first_day);
      last = g_date_get_julian (last_day);
    }
  count = last - first + 1;
  for (size_t i = 0; i < n_steps; i++)
    {
      step = steps[i];
      if (count / step <= max_labels)
        break;
    }

  for (gint64 n = (first + step - 1) / step * step; n <= last; n += step)
    {
      g_autoptr(GDateTime) date_time = NULL;
      gint64 time;
      gboolean ok;

      if (unit == TIME_YEARS)
        ok = start_of_day ((int) n, 1, 1, &time);
      else if (unit == TIME_MONTHS)
        ok = start_of_day ((int) (n / 12), (int) (n % 12) + 1, 1, &time);
      else
        {
          g_autoptr(GDate) day = g_date_new_julian ((guint32) n);

          ok = start_of_day (g_date_get_year (day), g_date_get_month (day),
                             g_date_get_day (day), &time);
        }
      if (!ok || time < layout->t0 || time > layout->t1)
        continue;
      date_time = local_time (time);
      add_tick (layout->time_ticks, x_of (layout, time),
                date_time != NULL ? g_date_time_format (date_time, format) : NULL);
    }
}

/* The layout of @data at @width × @height, text measured with @context (see
 * compute_layout()). */
static gboolean
compute_layout_with (ChartaPlotData *data,
                     int             width,
                     int             height,
                     PangoContext   *context,
                     Layout         *layout)
{
  gint64 first = G_MAXINT64, last = G_MININT64;
  double label_width = 0;

  measure_text (context, layout->font, "0123456789", NULL, &layout->text_height);

  /* Rows: a header (unit, legend), the area, the time labels. */
  layout->top = layout->text_height + 10;
  layout->bottom = height - layout->text_height - 8;
  if (!value_scale (data, layout,
                    CLAMP ((int) ((layout->bottom - layout->top) / (layout->text_height * 2.5)),
                           2, 8)))
    return FALSE;
  for (unsigned i = 0; i < layout->value_ticks->len; i++)
    {
      double w;

      measure_text (context, layout->font, g_array_index (layout->value_ticks, Tick, i).text, &w,
                    NULL);
      label_width = MAX (label_width, w);
    }
  layout->left = label_width + 10;
  layout->right = width - 12;
  if (layout->right - layout->left < MIN_AREA_WIDTH
      || layout->bottom - layout->top < MIN_AREA_HEIGHT)
    return FALSE;
  for (unsigned i = 0; i < layout->value_ticks->len; i++)
    {
      Tick *tick = &g_array_index (layout->value_ticks, Tick, i);

      tick->position = y_of (layout, tick->position);
    }

  for (unsigned i = 0; i < data->lines->len; i++)
    {
      GArray *points = ((Line *) g_ptr_array_index (data->lines, i))->points;

      first = MIN (first, g_array_index (points, Point, 0).point.time);
      last = MAX (last, g_array_index (points, Point, points->len - 1).point.time);
    }
  if (last - first < 2 * DAY_USEC)
    {
      gint64 middle = first + (last - first) / 2;

      layout->t0 = middle - DAY_USEC;
      layout->t1 = middle + DAY_USEC;
    }
  else
    {
      layout->t0 = first - (last - first) / 25;
      layout->t1 = last + (last - first) / 25;
    }
  time_scale (layout, context);
  return TRUE;
}

/* The layout of @data at @width × @height with labels in @font; FALSE when nothing is to be
 * drawn. */
static gboolean
compute_layout (ChartaPlotData             *data,
                int                         width,
                int                         height,
                const PangoFontDescription *font,
                Layout                     *layout)
{
  PangoContext *context;
  gboolean ok;

  memset (layout, 0, sizeof *layout);
  layout->value_ticks = g_array_new (FALSE, FALSE, sizeof (Tick));
  g_array_set_clear_func (layout->value_ticks, tick_clear);
  layout->time_ticks = g_array_new (FALSE, FALSE, sizeof (Tick));
  g_array_set_clear_func (layout->time_ticks, tick_clear);
  layout->font = font != NULL ? pango_font_description_copy (font)
                              : pango_font_description_from_string (DEFAULT_FONT);
  if (data == NULL || data->n_values == 0 || width < MIN_WIDTH || height < MIN_HEIGHT)
    return FALSE;

  context = pango_font_map_create_context (pango_cairo_font_map_get_default ());
  ok = compute_layout_with (data, width, height, context, layout);
  g_object_unref (context);
  return ok;
}

/* Where @point's marker goes; FALSE when that is not a finite position. */
static gboolean
point_position (const Layout          *layout,
                const ChartaPlotPoint *point,
                double                *x,
                double                *y)
{
  *x = x_of (layout, point->time);
  *y = y_of (layout, point->value);
  return isfinite (*x) && isfinite (*y);
}

gboolean
charta_plot_data_get_point_position (ChartaPlotData             *data,
                                     int                         width,
                                     int                         height,
                                     const PangoFontDescription *font,
                                     unsigned                    line,
                                     unsigned                    index,
                                     double                     *x,
                                     double                     *y)
{
  g_auto(Layout) layout = { 0 };
  double px, py;

  g_return_val_if_fail (data != NULL, FALSE);

  if (line >= data->lines->len || index >= charta_plot_data_get_n_points (data, line)
      || !compute_layout (data, width, height, font, &layout)
      || !point_position (&layout, charta_plot_data_get_point (data, line, index), &px, &py))
    return FALSE;
  if (x != NULL)
    *x = px;
  if (y != NULL)
    *y = py;
  return TRUE;
}

gboolean
charta_plot_data_find_point (ChartaPlotData             *data,
                             int                         width,
                             int                         height,
                             const PangoFontDescription *font,
                             double                      x,
                             double                      y,
                             double                      max_distance,
                             unsigned                   *line,
                             unsigned                   *index)
{
  g_auto(Layout) layout = { 0 };
  double best = max_distance * max_distance;
  gboolean found = FALSE;

  g_return_val_if_fail (data != NULL, FALSE);

  if (!compute_layout (data, width, height, font, &layout))
    return FALSE;
  for (unsigned i = 0; i < data->lines->len; i++)
    for (unsigned j = 0; j < charta_plot_data_get_n_points (data, i); j++)
      {
        double px, py, distance;

        if (!point_position (&layout, charta_plot_data_get_point (data, i, j), &px, &py))
          continue;
        distance = (px - x) * (px - x) + (py - y) * (py - y);
        if (distance <= best)
          {
            best = distance;
            found = TRUE;
            if (line != NULL)
              *line = i;
            if (index != NULL)
              *index = j;
          }
      }
  return found;
}

/* ---- drawing ------------------------------------------------------------------------------ */

/* Where the unit over the value axis ends. */
static double
unit_end (ChartaPlotData *data,
          const Layout   *layout)
{
  PangoContext *context = pango_font_map_create_context (pango_cairo_font_map_get_default ());
  double width;

  measure_text (context, layout->font, data->unit, &width, NULL);
  g_object_unref (context);
  return 2 + width + 12;
}

static void
set_color (cairo_t       *cr,
           const GdkRGBA *color,
           double         alpha)
{
  cairo_set_source_rgba (cr, color->red, color->green, color->blue, color->alpha * alpha);
}

/* Text at (@x, @y), its top left corner, in @font. */
static void
show_text (cairo_t                    *cr,
           const PangoFontDescription *font,
           const char                 *text,
           double                      x,
           double                      y)
{
  g_autoptr(PangoLayout) layout = NULL;

  if (text == NULL || !isfinite (x) || !isfinite (y))
    return;
  layout = pango_cairo_create_layout (cr);
  pango_layout_set_font_description (layout, font);
  pango_layout_set_text (layout, text, -1);
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
}

/* The look of line @line: the accent or the foreground, a shape, solid or dashed. */
static const GdkRGBA *
line_color (unsigned       line,
            const GdkRGBA *foreground,
            const GdkRGBA *accent)
{
  return line % 2 == 0 ? accent : foreground;
}

static gboolean
line_dashed (unsigned line)
{
  return line % 4 == 1 || line % 4 == 2;
}

/* A marker of line @line's shape (circle, square, triangle, diamond) at (@x, @y), filled. */
static void
draw_marker (cairo_t *cr,
             unsigned line,
             double   x,
             double   y,
             double   radius)
{
  switch (line % 4)
    {
    case 0:
      cairo_new_sub_path (cr);
      cairo_arc (cr, x, y, radius, 0, 2 * G_PI);
      break;
    case 1:
      cairo_rectangle (cr, x - radius * 0.9, y - radius * 0.9, radius * 1.8, radius * 1.8);
      break;
    case 2:
      cairo_move_to (cr, x, y - radius * 1.2);
      cairo_line_to (cr, x + radius * 1.1, y + radius * 0.8);
      cairo_line_to (cr, x - radius * 1.1, y + radius * 0.8);
      cairo_close_path (cr);
      break;
    default:
      cairo_move_to (cr, x, y - radius * 1.3);
      cairo_line_to (cr, x + radius * 1.3, y);
      cairo_line_to (cr, x, y + radius * 1.3);
      cairo_line_to (cr, x - radius * 1.3, y);
      cairo_close_path (cr);
    }
  cairo_fill (cr);
}

static void
draw_axes (ChartaPlotData *data,
           cairo_t        *cr,
           const Layout   *layout,
           int             width,
           const GdkRGBA  *foreground)
{
  cairo_set_line_width (cr, 1);
  for (unsigned i = 0; i < layout->value_ticks->len; i++)
    {
      const Tick *tick = &g_array_index (layout->value_ticks, Tick, i);
      double y = round (tick->position) + 0.5;
      g_autoptr(PangoLayout) text = pango_cairo_create_layout (cr);
      int w, h;

      set_color (cr, foreground, 0.12);
      cairo_move_to (cr, layout->left, y);
      cairo_line_to (cr, layout->right, y);
      cairo_stroke (cr);

      pango_layout_set_font_description (text, layout->font);
      pango_layout_set_text (text, tick->text, -1);
      pango_layout_get_pixel_size (text, &w, &h);
      set_color (cr, foreground, 0.75);
      cairo_move_to (cr, layout->left - 6 - w, tick->position - h / 2.0);
      pango_cairo_show_layout (cr, text);
    }

  for (unsigned i = 0; i < layout->time_ticks->len; i++)
    {
      const Tick *tick = &g_array_index (layout->time_ticks, Tick, i);
      double x = round (tick->position) + 0.5;
      g_autoptr(PangoLayout) text = pango_cairo_create_layout (cr);
      int w, h;

      set_color (cr, foreground, 0.5);
      cairo_move_to (cr, x, layout->bottom);
      cairo_line_to (cr, x, layout->bottom + 4);
      cairo_stroke (cr);
      if (tick->text == NULL)
        continue;
      pango_layout_set_font_description (text, layout->font);
      pango_layout_set_text (text, tick->text, -1);
      pango_layout_get_pixel_size (text, &w, &h);
      set_color (cr, foreground, 0.75);
      cairo_move_to (cr, CLAMP (tick->position - w / 2.0, 0, MAX (0, width - w)),
                     layout->bottom + 5);
      pango_cairo_show_layout (cr, text);
    }

  set_color (cr, foreground, 0.5);
  cairo_move_to (cr, round (layout->left) + 0.5, layout->top);
  cairo_line_to (cr, round (layout->left) + 0.5, round (layout->bottom) + 0.5);
  cairo_line_to (cr, layout->right, round (layout->bottom) + 0.5);
  cairo_stroke (cr);

  /* The unit, over the value axis. */
  set_color (cr, foreground, 0.75);
  show_text (cr, layout->font, data->unit, 2, 2);
}

static void
draw_range (ChartaPlotData *data,
            cairo_t        *cr,
            const Layout   *layout,
            const GdkRGBA  *foreground)
{
  static const double dash[] = { 4, 3 };
  double top = isfinite (data->high) ? y_of (layout, data->high) : layout->top;
  double bottom = isfinite (data->low) ? y_of (layout, data->low) : layout->bottom;

  if (!isfinite (data->low) && !isfinite (data->high))
    return;
  top = CLAMP (top, layout->top, layout->bottom);
  bottom = CLAMP (bottom, layout->top, layout->bottom);
  set_color (cr, foreground, 0.08);
  cairo_rectangle (cr, layout->left, top, layout->right - layout->left, bottom - top);
  cairo_fill (cr);

  cairo_save (cr);
  cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
  cairo_set_line_width (cr, 1);
  set_color (cr, foreground, 0.3);
  if (isfinite (data->high))
    {
      cairo_move_to (cr, layout->left, round (top) + 0.5);
      cairo_line_to (cr, layout->right, round (top) + 0.5);
    }
  if (isfinite (data->low))
    {
      cairo_move_to (cr, layout->left, round (bottom) + 0.5);
      cairo_line_to (cr, layout->right, round (bottom) + 0.5);
    }
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
draw_line (ChartaPlotData *data,
           cairo_t        *cr,
           const Layout   *layout,
           unsigned        line,
           const GdkRGBA  *color)
{
  static const double dash[] = { 6, 4 };
  unsigned n = charta_plot_data_get_n_points (data, line);
  gboolean started = FALSE;

  cairo_save (cr);
  if (line_dashed (line))
    cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
  cairo_set_line_width (cr, 2);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  set_color (cr, color, 0.6);
  for (unsigned i = 0; i < n; i++)
    {
      double x, y;

      if (!point_position (layout, charta_plot_data_get_point (data, line, i), &x, &y))
        continue;
      if (started)
        cairo_line_to (cr, x, y);
      else
        cairo_move_to (cr, x, y);
      started = TRUE;
    }
  cairo_stroke (cr);
  cairo_restore (cr);

  set_color (cr, color, 1);
  cairo_set_line_width (cr, 2);
  for (unsigned i = 0; i < n; i++)
    {
      const ChartaPlotPoint *point = charta_plot_data_get_point (data, line, i);
      double x, y;

      if (!point_position (layout, point, &x, &y))
        continue;
      draw_marker (cr, line, x, y, MARKER_RADIUS);
      if (charta_plot_data_is_out_of_range (data, point->value))
        {
          cairo_new_sub_path (cr);
          cairo_arc (cr, x, y, RING_RADIUS, 0, 2 * G_PI);
          cairo_stroke (cr);
        }
    }
}

/* The line names, right-aligned in the header row, each after a sample of its line, between
 * @min_x (the unit's end) and the right edge of the area: names that do not fit whole share
 * the room, ellipsized; when that leaves too little, the legend is left out (the tooltips
 * still name the lines). */
static void
draw_legend (ChartaPlotData *data,
             cairo_t        *cr,
             const Layout   *layout,
             double          min_x,
             const GdkRGBA  *foreground,
             const GdkRGBA  *accent)
{
  static const double dash[] = { 6, 4 };
  /* A sample of the line before each name, and room between entries. */
  const double sample = 28, gap = 14;
  unsigned n = data->lines->len;
  double room = layout->right - min_x - n * sample - (n - 1) * gap;
  double needed = 0, most = G_MAXDOUBLE;
  double x = layout->right;
  double y = 2 + layout->text_height / 2;
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_object_unref);

  for (unsigned i = 0; i < n; i++)
    {
      PangoLayout *text = pango_cairo_create_layout (cr);
      int w;

      pango_layout_set_font_description (text, layout->font);
      pango_layout_set_text (text, charta_plot_data_get_line_name (data, i), -1);
      pango_layout_get_pixel_size (text, &w, NULL);
      needed += w;
      g_ptr_array_add (texts, text);
    }
  if (needed > room)
    {
      most = room / n;
      if (most < 24)
        return;
      for (unsigned i = 0; i < n; i++)
        {
          pango_layout_set_width (g_ptr_array_index (texts, i), (int) (most * PANGO_SCALE));
          pango_layout_set_ellipsize (g_ptr_array_index (texts, i), PANGO_ELLIPSIZE_END);
        }
    }

  for (unsigned i = n; i-- > 0;)
    {
      const GdkRGBA *color = line_color (i, foreground, accent);
      PangoLayout *text = g_ptr_array_index (texts, i);
      int w;

      pango_layout_get_pixel_size (text, &w, NULL);
      x -= w;
      set_color (cr, foreground, 0.75);
      cairo_move_to (cr, x, 2);
      pango_cairo_show_layout (cr, text);

      x -= sample;
      cairo_save (cr);
      if (line_dashed (i))
        cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
      cairo_set_line_width (cr, 2);
      set_color (cr, color, 0.6);
      cairo_move_to (cr, x, y);
      cairo_line_to (cr, x + sample - 6, y);
      cairo_stroke (cr);
      cairo_restore (cr);
      set_color (cr, color, 1);
      draw_marker (cr, i, x + (sample - 6) / 2, y, MARKER_RADIUS - 0.5);
      x -= gap;
    }
}

void
charta_plot_data_draw_full (ChartaPlotData             *data,
                            cairo_t                    *cr,
                            int                         width,
                            int                         height,
                            const GdkRGBA              *foreground,
                            const GdkRGBA              *accent,
                            const PangoFontDescription *font,
                            int                         highlight_line,
                            int                         highlight_index)
{
  g_auto(Layout) layout = { 0 };

  g_return_if_fail (data != NULL);
  g_return_if_fail (cr != NULL);
  g_return_if_fail (foreground != NULL && accent != NULL);

  if (!compute_layout (data, width, height, font, &layout))
    return;

  cairo_save (cr);
  draw_range (data, cr, &layout, foreground);
  draw_axes (data, cr, &layout, width, foreground);
  if (data->lines->len > 1)
    draw_legend (data, cr, &layout, unit_end (data, &layout), foreground, accent);
  for (unsigned i = data->lines->len; i-- > 0;)
    draw_line (data, cr, &layout, i, line_color (i, foreground, accent));

  if (highlight_line >= 0 && (unsigned) highlight_line < data->lines->len && highlight_index >= 0
      && (unsigned) highlight_index < charta_plot_data_get_n_points (data, highlight_line))
    {
      double x, y;

      if (point_position (&layout, charta_plot_data_get_point (data, highlight_line,
                                                               highlight_index), &x, &y))
        {
          set_color (cr, foreground, 0.25);
          cairo_set_line_width (cr, 1);
          cairo_move_to (cr, round (x) + 0.5, layout.top);
          cairo_line_to (cr, round (x) + 0.5, layout.bottom);
          cairo_stroke (cr);
          set_color (cr, foreground, 0.9);
          cairo_set_line_width (cr, 2);
          cairo_new_sub_path (cr);
          cairo_arc (cr, x, y, HIGHLIGHT_RADIUS, 0, 2 * G_PI);
          cairo_stroke (cr);
        }
    }
  cairo_restore (cr);
}

void
charta_plot_data_draw (ChartaPlotData *data,
                       cairo_t        *cr,
                       int             width,
                       int             height,
                       const GdkRGBA  *foreground,
                       const GdkRGBA  *accent)
{
  charta_plot_data_draw_full (data, cr, width, height, foreground, accent, NULL, -1, -1);
}

/* ---- the widget --------------------------------------------------------------------------- */

/* How close a click must come to a marker to hit it, and the pointer to highlight it. */
#define HIT_DISTANCE 12.0

struct _ChartaObservationPlot
{
  GtkWidget parent_instance;

  ChartaPlotData *data;
  int current_line;         /* the point the keyboard moves and activates; -1: none yet */
  unsigned current_index;
  int hover_line;           /* the point under the pointer; -1: none */
  unsigned hover_index;
};

enum
{
  PROP_0,
  PROP_DATA,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  POINT_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ChartaObservationPlot, charta_observation_plot, GTK_TYPE_WIDGET)

/* The widget's font, a little smaller, in the size the default cairo font map's 96 dpi
 * measures (the widget's own context may have another resolution: large text). */
static PangoFontDescription *
label_font (ChartaObservationPlot *self)
{
  PangoContext *context = gtk_widget_get_pango_context (GTK_WIDGET (self));
  const PangoFontDescription *widget_font = pango_context_get_font_description (context);
  PangoFontDescription *font = widget_font != NULL ? pango_font_description_copy (widget_font)
                                                   : pango_font_description_from_string (
                                                       DEFAULT_FONT);
  double resolution = pango_cairo_context_get_resolution (context);
  double scale = 0.85 * (resolution > 0 ? resolution / 96.0 : 1.0);
  int size = pango_font_description_get_size (font);

  if (size <= 0)
    pango_font_description_set_size (font, 9 * PANGO_SCALE);
  else if (pango_font_description_get_size_is_absolute (font))
    pango_font_description_set_absolute_size (font, CLAMP (size * scale, 6 * PANGO_SCALE,
                                                           48 * PANGO_SCALE));
  else
    pango_font_description_set_size (font, (int) CLAMP (size * scale, 6 * PANGO_SCALE,
                                                        48 * PANGO_SCALE));
  return font;
}

static void
update_accessible (ChartaObservationPlot *self)
{
  g_autofree char *description = NULL;

  if (self->data == NULL)
    {
      gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      "Plot", -1);
      gtk_accessible_reset_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
      return;
    }
  description = charta_plot_data_dup_description (self->data);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  charta_plot_data_get_title (self->data),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description,
                                  -1);
}

ChartaPlotData *
charta_observation_plot_get_data (ChartaObservationPlot *self)
{
  g_return_val_if_fail (CHARTA_IS_OBSERVATION_PLOT (self), NULL);

  return self->data;
}

void
charta_observation_plot_set_data (ChartaObservationPlot *self,
                                  ChartaPlotData        *data)
{
  g_return_if_fail (CHARTA_IS_OBSERVATION_PLOT (self));

  if (self->data == data)
    return;
  if (data != NULL)
    charta_plot_data_ref (data);
  g_clear_pointer (&self->data, charta_plot_data_unref);
  self->data = data;
  self->current_line = -1;
  self->current_index = 0;
  self->hover_line = -1;
  update_accessible (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATA]);
}

GtkWidget *
charta_observation_plot_new (ChartaPlotData *data)
{
  return g_object_new (CHARTA_TYPE_OBSERVATION_PLOT, "data", data, NULL);
}

/* Makes sure there is a current point: the latest of the first line. */
static gboolean
ensure_current (ChartaObservationPlot *self)
{
  if (self->data == NULL)
    return FALSE;
  if (self->current_line < 0)
    {
      self->current_line = 0;
      self->current_index = charta_plot_data_get_n_points (self->data, 0) - 1;
    }
  return TRUE;
}

static void
activate_current (ChartaObservationPlot *self)
{
  g_autofree char *reference = NULL;

  if (!ensure_current (self))
    return;
  /* A copy: a handler may set other data, which frees this data's points. */
  reference = g_strdup (charta_plot_data_get_point (self->data, self->current_line,
                                                    self->current_index)->reference);
  g_signal_emit (self, signals[POINT_ACTIVATED], 0, reference);
}

/* The index of the point of @line nearest in time to @time. */
static unsigned
nearest_in_time (ChartaPlotData *data,
                 unsigned        line,
                 gint64          time)
{
  unsigned best = 0;

  for (unsigned i = 1; i < charta_plot_data_get_n_points (data, line); i++)
    {
      gint64 distance = charta_plot_data_get_point (data, line, i)->time - time;
      gint64 best_distance = charta_plot_data_get_point (data, line, best)->time - time;

      if (ABS (distance) < ABS (best_distance))
        best = i;
    }
  return best;
}

static gboolean
key_pressed (GtkEventControllerKey *controller,
             guint                  keyval,
             guint                  keycode,
             GdkModifierType        state,
             ChartaObservationPlot *self)
{
  unsigned n_lines, n_points;
  gint64 time;

  if (state & (GDK_CONTROL_MASK | GDK_ALT_MASK) || !ensure_current (self))
    return FALSE;
  n_lines = charta_plot_data_get_n_lines (self->data);
  n_points = charta_plot_data_get_n_points (self->data, self->current_line);
  time = charta_plot_data_get_point (self->data, self->current_line, self->current_index)->time;
  switch (keyval)
    {
    case GDK_KEY_Left:
    case GDK_KEY_KP_Left:
      if (self->current_index > 0)
        self->current_index--;
      break;
    case GDK_KEY_Right:
    case GDK_KEY_KP_Right:
      if (self->current_index + 1 < n_points)
        self->current_index++;
      break;
    case GDK_KEY_Home:
    case GDK_KEY_KP_Home:
      self->current_index = 0;
      break;
    case GDK_KEY_End:
    case GDK_KEY_KP_End:
      self->current_index = n_points - 1;
      break;
    case GDK_KEY_Up:
    case GDK_KEY_KP_Up:
    case GDK_KEY_Down:
    case GDK_KEY_KP_Down:
      {
        int line = self->current_line
                   + (keyval == GDK_KEY_Up || keyval == GDK_KEY_KP_Up ? -1 : 1);

        if (line < 0 || (unsigned) line >= n_lines)
          return FALSE;
        self->current_line = line;
        self->current_index = nearest_in_time (self->data, line, time);
        break;
      }
    case GDK_KEY_Return:
    case GDK_KEY_KP_Enter:
    case GDK_KEY_ISO_Enter:
    case GDK_KEY_space:
    case GDK_KEY_KP_Space:
      activate_current (self);
      return TRUE;
    default:
      return FALSE;
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
  gtk_widget_trigger_tooltip_query (GTK_WIDGET (self));
  return TRUE;
}

static gboolean
find_point (ChartaObservationPlot *self,
            double                 x,
            double                 y,
            double                 max_distance,
            unsigned              *line,
            unsigned              *index)
{
  g_autoptr(PangoFontDescription) font = NULL;

  if (self->data == NULL)
    return FALSE;
  font = label_font (self);
  return charta_plot_data_find_point (self->data, gtk_widget_get_width (GTK_WIDGET (self)),
                                      gtk_widget_get_height (GTK_WIDGET (self)), font, x, y,
                                      max_distance, line, index);
}

static void
click_pressed (GtkGestureClick       *gesture,
               int                    n_press,
               double                 x,
               double                 y,
               ChartaObservationPlot *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self));
}

static void
click_released (GtkGestureClick       *gesture,
                int                    n_press,
                double                 x,
                double                 y,
                ChartaObservationPlot *self)
{
  unsigned line, index;

  if (n_press != 1 || !find_point (self, x, y, HIT_DISTANCE, &line, &index))
    return;
  self->current_line = (int) line;
  self->current_index = index;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  activate_current (self);
}

static void
set_hover (ChartaObservationPlot *self,
           int                    line,
           unsigned               index)
{
  if (self->hover_line == line && (line < 0 || self->hover_index == index))
    return;
  self->hover_line = line;
  self->hover_index = index;
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), line >= 0 ? "pointer" : NULL);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
pointer_motion (GtkEventControllerMotion *controller,
                double                    x,
                double                    y,
                ChartaObservationPlot    *self)
{
  unsigned line, index;

  if (find_point (self, x, y, HIT_DISTANCE, &line, &index))
    set_hover (self, (int) line, index);
  else
    set_hover (self, -1, 0);
}

static void
pointer_leave (GtkEventControllerMotion *controller,
               ChartaObservationPlot    *self)
{
  set_hover (self, -1, 0);
}

static gboolean
charta_observation_plot_query_tooltip (GtkWidget  *widget,
                                       int         x,
                                       int         y,
                                       gboolean    keyboard_mode,
                                       GtkTooltip *tooltip)
{
  ChartaObservationPlot *self = CHARTA_OBSERVATION_PLOT (widget);
  g_autofree char *text = NULL;
  unsigned line, index;

  if (keyboard_mode)
    {
      if (!ensure_current (self))
        return FALSE;
      line = (unsigned) self->current_line;
      index = self->current_index;
    }
  else if (!find_point (self, x, y, G_MAXDOUBLE, &line, &index))
    return FALSE;
  text = charta_plot_data_dup_point_text (self->data, line, index);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
charta_observation_plot_snapshot (GtkWidget   *widget,
                                  GtkSnapshot *snapshot)
{
  ChartaObservationPlot *self = CHARTA_OBSERVATION_PLOT (widget);
  GtkStyleContext *style = gtk_widget_get_style_context (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_autoptr(PangoFontDescription) font = NULL;
  GdkRGBA foreground, accent;
  int highlight_line = -1;
  unsigned highlight_index = 0;
  cairo_t *cr;

  if (self->data == NULL || width <= 0 || height <= 0)
    return;
  gtk_style_context_get_color (style, &foreground);
  if (!gtk_style_context_lookup_color (style, "accent_color", &accent))
    gdk_rgba_parse (&accent, "#3584e4");
  if (gtk_widget_has_focus (widget) && ensure_current (self))
    {
      highlight_line = self->current_line;
      highlight_index = self->current_index;
    }
  else if (self->hover_line >= 0)
    {
      highlight_line = self->hover_line;
      highlight_index = self->hover_index;
    }

  font = label_font (self);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  charta_plot_data_draw_full (self->data, cr, width, height, &foreground, &accent, font,
                              highlight_line, (int) highlight_index);
  cairo_destroy (cr);
}

static void
charta_observation_plot_measure (GtkWidget      *widget,
                                 GtkOrientation  orientation,
                                 int             for_size,
                                 int            *minimum,
                                 int            *natural,
                                 int            *minimum_baseline,
                                 int            *natural_baseline)
{
  gboolean horizontal = orientation == GTK_ORIENTATION_HORIZONTAL;

  *minimum = horizontal ? 240 : 140;
  *natural = horizontal ? 360 : 200;
}

static void
charta_observation_plot_state_flags_changed (GtkWidget    *widget,
                                             GtkStateFlags previous)
{
  GtkStateFlags changed = previous ^ gtk_widget_get_state_flags (widget);

  GTK_WIDGET_CLASS (charta_observation_plot_parent_class)->state_flags_changed (widget, previous);
  if (changed & (GTK_STATE_FLAG_FOCUSED | GTK_STATE_FLAG_FOCUS_VISIBLE))
    gtk_widget_queue_draw (widget);
}

static void
charta_observation_plot_css_changed (GtkWidget         *widget,
                                     GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (charta_observation_plot_parent_class)->css_changed (widget, change);
  gtk_widget_queue_draw (widget);
}

static void
charta_observation_plot_finalize (GObject *object)
{
  ChartaObservationPlot *self = CHARTA_OBSERVATION_PLOT (object);

  g_clear_pointer (&self->data, charta_plot_data_unref);

  G_OBJECT_CLASS (charta_observation_plot_parent_class)->finalize (object);
}

static void
charta_observation_plot_get_property (GObject    *object,
                                      guint       prop_id,
                                      GValue     *value,
                                      GParamSpec *pspec)
{
  ChartaObservationPlot *self = CHARTA_OBSERVATION_PLOT (object);

  switch (prop_id)
    {
    case PROP_DATA:
      g_value_set_boxed (value, self->data);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_observation_plot_set_property (GObject      *object,
                                      guint         prop_id,
                                      const GValue *value,
                                      GParamSpec   *pspec)
{
  ChartaObservationPlot *self = CHARTA_OBSERVATION_PLOT (object);

  switch (prop_id)
    {
    case PROP_DATA:
      charta_observation_plot_set_data (self, g_value_get_boxed (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_observation_plot_class_init (ChartaObservationPlotClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = charta_observation_plot_finalize;
  object_class->get_property = charta_observation_plot_get_property;
  object_class->set_property = charta_observation_plot_set_property;
  widget_class->snapshot = charta_observation_plot_snapshot;
  widget_class->measure = charta_observation_plot_measure;
  widget_class->query_tooltip = charta_observation_plot_query_tooltip;
  widget_class->state_flags_changed = charta_observation_plot_state_flags_changed;
  widget_class->css_changed = charta_observation_plot_css_changed;

  properties[PROP_DATA] =
    g_param_spec_boxed ("data", NULL, NULL, CHARTA_TYPE_PLOT_DATA,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A point was activated (click, Enter): the reference of its Observation. */
  signals[POINT_ACTIVATED] =
    g_signal_new ("point-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

  gtk_widget_class_set_css_name (widget_class, "observation-plot");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
charta_observation_plot_init (ChartaObservationPlot *self)
{
  GtkEventController *key = gtk_event_controller_key_new ();
  GtkGesture *click = gtk_gesture_click_new ();
  GtkEventController *motion = gtk_event_controller_motion_new ();

  self->current_line = -1;
  self->hover_line = -1;
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);

  g_signal_connect (key, "key-pressed", G_CALLBACK (key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), key);
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_PRIMARY);
  g_signal_connect (click, "pressed", G_CALLBACK (click_pressed), self);
  g_signal_connect (click, "released", G_CALLBACK (click_released), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  g_signal_connect (motion, "motion", G_CALLBACK (pointer_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (pointer_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  update_accessible (self);
}
