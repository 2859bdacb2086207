/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-fhirpath-values.c: the FHIRPath value types that need more than a C scalar: dates,
 * date-times and times with their precision, calendar arithmetic, and quantity units.
 *
 * Dates keep the precision they were written with (@2015 is a year, not 2015-01-01), because
 * FHIRPath comparisons depend on it: @2018-03 < @2018-03-01 is empty, not false.  Comparisons
 * bring both sides to UTC only when both carry a time zone.  Reading the text and the calendar
 * arithmetic are charta-datetime.c's, shared with validation and search indexing.
 *
 * Units: a small table of UCUM units (mass, length, time, volume) and the calendar duration
 * keywords, enough to compare 4 'g' with 4000 'mg' and 7 days with 1 week.  Any other unit is
 * only comparable with itself.  Calendar years and months are not the UCUM 'a' and 'mo'
 * (FHIRPath §"Time-valued quantities"), so they are kept apart.
 */
#define G_LOG_DOMAIN "charta-fhirpath"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "charta-datetime-private.h"
#include "charta-fhirpath-private.h"

/* FHIRPath's literal syntax is the shared reader's PARTIAL form: hh and hh:mm times, no zone
 * needed, a bare trailing 'T' on a dateTime, and a time may open with 'T'. */
gboolean
fp_datetime_parse (const char         *text,
                   ChartaFhirPathKind  kind,
                   FpDateTime         *dt)
{
  ChartaDateTime v;
  ChartaDateTimeKind want;

  if (kind == CHARTA_FHIRPATH_TIME)
    {
      want = CHARTA_DATETIME_TIME;
      if (*text == 'T')
        text++;
    }
  else
    want = kind == CHARTA_FHIRPATH_DATE ? CHARTA_DATETIME_DATE : CHARTA_DATETIME_DATETIME;

  if (charta_datetime_check (text, want, CHARTA_DATETIME_PARTIAL, &v) != NULL)
    {
      *dt = (FpDateTime) { .month = 1, .day = 1 };
      return FALSE;
    }
  *dt = (FpDateTime) {
    .year = v.year, .month = v.month, .day = v.day,
    .hour = v.hour, .minute = v.minute, .second = v.second,
    .millis = v.microsecond / 1000,
    .frac_digits = v.frac_digits,
    .tz_minutes = v.tz_minutes,
    .has_tz = v.has_tz,
    .tz_is_z = v.tz_is_z,
    .has_date = v.has_date,
    .has_time_part = v.has_time_part,
    .precision = (FpPrecision) v.precision,
  };
  return TRUE;
}

char *
fp_datetime_format (const FpDateTime *dt)
{
  GString *s = g_string_sized_new (32);

  if (dt->has_date)
    {
      g_string_append_printf (s, "%04d", dt->year);
      if (dt->precision >= FP_PREC_MONTH)
        g_string_append_printf (s, "-%02d", dt->month);
      if (dt->precision >= FP_PREC_DAY)
        g_string_append_printf (s, "-%02d", dt->day);
      if (dt->precision >= FP_PREC_HOUR)
        g_string_append_c (s, 'T');
    }
  if (dt->precision >= FP_PREC_HOUR)
    g_string_append_printf (s, "%02d", dt->hour);
  if (dt->precision >= FP_PREC_MINUTE)
    g_string_append_printf (s, ":%02d", dt->minute);
  if (dt->precision >= FP_PREC_SECOND)
    {
      g_string_append_printf (s, ":%02d", dt->second);
      if (dt->frac_digits > 0)
        g_string_append_printf (s, ".%03d", dt->millis);
    }
  if (dt->has_date && dt->precision >= FP_PREC_HOUR && dt->has_tz)
    {
      if (dt->tz_is_z)
        g_string_append_c (s, 'Z');
      else
        {
          int m = abs (dt->tz_minutes);

          g_string_append_printf (s, "%c%02d:%02d", dt->tz_minutes < 0 ? '-' : '+',
                                  m / 60, m % 60);
        }
    }
  return g_string_free (s, FALSE);
}

static int64_t
epoch_ms (const FpDateTime *dt)
{
  int64_t days = charta_days_from_civil (dt->year, dt->month, dt->day);

  return ((days * 24 + dt->hour) * 60 + dt->minute) * 60000 + dt->second * 1000 + dt->millis;
}

static void
set_from_epoch_ms (FpDateTime *dt,
                   int64_t     ms)
{
  int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
  int64_t rest = ms - days * 86400000;

  charta_civil_from_days (days, &dt->year, &dt->month, &dt->day);
  dt->hour = (int) (rest / 3600000);
  dt->minute = (int) (rest / 60000 % 60);
  dt->second = (int) (rest / 1000 % 60);
  dt->millis = (int) (rest % 1000);
}

static void
to_utc (FpDateTime *dt)
{
  set_from_epoch_ms (dt, epoch_ms (dt) - (int64_t) dt->tz_minutes * 60000);
  dt->tz_minutes = 0;
}

static int
cmp_int (int a,
         int b)
{
  return a < b ? -1 : a > b ? 1 : 0;
}

int
fp_datetime_compare (const FpDateTime *a,
                     const FpDateTime *b)
{
  FpDateTime x = *a, y = *b;
  FpPrecision common;
  int c;

  if (a->has_date != b->has_date)
    return 3;
  if (x.precision >= FP_PREC_HOUR && y.precision >= FP_PREC_HOUR)
    {
      if (x.has_tz != y.has_tz)
        return 2;
      if (x.has_tz)
        {
          to_utc (&x);
          to_utc (&y);
        }
    }
  common = MIN (x.precision, y.precision);
  if (x.has_date)
    {
      if ((c = cmp_int (x.year, y.year)) != 0)
        return c;
      if (common >= FP_PREC_MONTH && (c = cmp_int (x.month, y.month)) != 0)
        return c;
      if (common >= FP_PREC_DAY && (c = cmp_int (x.day, y.day)) != 0)
        return c;
    }
  if (common >= FP_PREC_HOUR && (c = cmp_int (x.hour, y.hour)) != 0)
    return c;
  if (common >= FP_PREC_MINUTE && (c = cmp_int (x.minute, y.minute)) != 0)
    return c;
  if (common >= FP_PREC_SECOND &&
      (c = cmp_int (x.second * 1000 + x.millis, y.second * 1000 + y.millis)) != 0)
    return c;
  return x.precision == y.precision ? 0 : 2;
}

const char *
fp_calendar_unit_normalize (const char *unit)
{
  static const char *const words[] = {
    "year", "month", "week", "day", "hour", "minute", "second", "millisecond",
  };
  size_t len = strlen (unit);

  for (unsigned i = 0; i < G_N_ELEMENTS (words); i++)
    {
      size_t wl = strlen (words[i]);

      if (strncmp (unit, words[i], wl) == 0 &&
          (len == wl || (len == wl + 1 && unit[wl] == 's')))
        return words[i];
    }
  return NULL;
}

const char *
fp_calendar_unit_ucum (const char *unit)
{
  const char *word = fp_calendar_unit_normalize (unit);
  static const struct { const char *word, *ucum; } map[] = {
    { "year", "a" }, { "month", "mo" }, { "week", "wk" }, { "day", "d" }, { "hour", "h" },
    { "minute", "min" }, { "second", "s" }, { "millisecond", "ms" },
  };

  if (word == NULL)
    return NULL;
  for (unsigned i = 0; i < G_N_ELEMENTS (map); i++)
    if (strcmp (map[i].word, word) == 0)
      return map[i].ucum;
  return NULL;
}

gboolean
fp_datetime_add (FpDateTime *dt,
                 double      value,
                 const char *unit)
{
  const char *word = fp_calendar_unit_normalize (unit);
  int64_t n = (int64_t) trunc (value);
  int64_t delta_ms;

  if (word == NULL)
    {
      static const struct { const char *ucum, *word; } map[] = {
        { "wk", "week" }, { "d", "day" }, { "h", "hour" }, { "min", "minute" },
        { "s", "second" }, { "ms", "millisecond" },
      };
      for (unsigned i = 0; i < G_N_ELEMENTS (map) && word == NULL; i++)
        if (strcmp (map[i].ucum, unit) == 0)
          word = map[i].word;
      if (word == NULL)
        return FALSE; /* 'a' and 'mo' are not calendar durations; other units are nonsense */
    }

  if (strcmp (word, "year") == 0 || strcmp (word, "month") == 0)
    {
      int64_t months;

      if (!dt->has_date)
        return FALSE;
      months = (int64_t) dt->year * 12 + (dt->month - 1) +
               (word[0] == 'y' ? n * 12 : n);
      if (dt->precision == FP_PREC_YEAR && word[0] == 'm')
        months = (int64_t) dt->year * 12 + (dt->month - 1) + (n / 12) * 12;
      dt->year = (int) (months >= 0 ? months / 12 : -((-months + 11) / 12));
      dt->month = (int) (months - (int64_t) dt->year * 12) + 1;
      if (dt->day > charta_days_in_month (dt->year, dt->month))
        dt->day = charta_days_in_month (dt->year, dt->month);
      return dt->year >= 1 && dt->year <= 9999;
    }

  if (strcmp (word, "week") == 0)
    delta_ms = n * 7 * 86400000;
  else if (strcmp (word, "day") == 0)
    delta_ms = n * 86400000;
  else if (strcmp (word, "hour") == 0)
    delta_ms = n * 3600000;
  else if (strcmp (word, "minute") == 0)
    delta_ms = n * 60000;
  else if (strcmp (word, "second") == 0)
    delta_ms = n * 1000;
  else
    delta_ms = n;

  if (!dt->has_date)
    {
      int64_t ms = ((int64_t) dt->hour * 3600 + dt->minute * 60 + dt->second) * 1000 +
                   dt->millis + delta_ms;

      ms %= 86400000;
      if (ms < 0)
        ms += 86400000;
      dt->hour = (int) (ms / 3600000);
      dt->minute = (int) (ms / 60000 % 60);
      dt->second = (int) (ms / 1000 % 60);
      dt->millis = (int) (ms % 1000);
      return TRUE;
    }
  if (dt->precision < FP_PREC_DAY)
    {
      /* A year or month precision date moves by whole months only. */
      return fp_datetime_add (dt, (double) (delta_ms / 86400000 / 30), "month");
    }
  if (dt->precision == FP_PREC_DAY)
    delta_ms = delta_ms / 86400000 * 86400000;
  set_from_epoch_ms (dt, epoch_ms (dt) + delta_ms);
  return dt->year >= 1 && dt->year <= 9999;
}

gboolean
fp_datetime_boundary (FpDateTime *dt,
                      int         digits,
                      gboolean    high)
{
  static const int date_digits[] = { 4, 6, 8, 10, 12, 14, 17 };
  static const int time_digits[] = { 2, 4, 6, 9 };
  FpPrecision target = 0;
  gboolean millis = FALSE;

  if (dt->has_date)
    {
      for (unsigned i = 0; i < G_N_ELEMENTS (date_digits); i++)
        if (date_digits[i] == digits)
          {
            target = i < 6 ? (FpPrecision) (FP_PREC_YEAR + i) : FP_PREC_SECOND;
            millis = i == 6;
          }
    }
  else
    {
      for (unsigned i = 0; i < G_N_ELEMENTS (time_digits); i++)
        if (time_digits[i] == digits)
          {
            target = i < 3 ? (FpPrecision) (FP_PREC_HOUR + i) : FP_PREC_SECOND;
            millis = i == 3;
          }
    }
  if (target == 0)
    return FALSE;

  /* An hour alone is not a FHIR time: it is read as hh:00 first. */
  if (dt->precision == FP_PREC_HOUR && target > FP_PREC_HOUR)
    {
      dt->minute = 0;
      dt->precision = FP_PREC_MINUTE;
    }
  if (dt->precision < FP_PREC_MONTH)
    dt->month = high ? 12 : 1;
  if (dt->precision < FP_PREC_DAY)
    dt->day = high ? charta_days_in_month (dt->year, dt->month) : 1;
  if (dt->precision < FP_PREC_HOUR)
    dt->hour = high ? 23 : 0;
  if (dt->precision < FP_PREC_MINUTE)
    dt->minute = high ? 59 : 0;
  if (dt->precision < FP_PREC_SECOND)
    dt->second = high ? 59 : 0;
  if (dt->precision < FP_PREC_SECOND || dt->frac_digits == 0)
    dt->millis = high ? 999 : 0;
  dt->precision = target;
  dt->frac_digits = millis ? 3 : 0;
  if (dt->has_date && target >= FP_PREC_HOUR)
    {
      dt->has_time_part = TRUE;
      if (!dt->has_tz)
        {
          /* The earliest and latest zones. */
          dt->has_tz = TRUE;
          dt->tz_is_z = FALSE;
          dt->tz_minutes = high ? -12 * 60 : 14 * 60;
        }
    }
  return TRUE;
}

char *
fp_decimal_boundary (double   value,
                     int      places,
                     int      precision,
                     gboolean high)
{
  double half, v;

  if (value < 0)
    {
      g_autofree char *r = fp_decimal_boundary (-value, places, precision, !high);

      return g_strconcat ("-", r, NULL);
    }
  half = 0.5 * pow (10, -places);
  v = high ? value + half : value - half;
  if (precision < places + 1)
    {
      double scale = pow (10, precision);

      v = high ? ceil (v * scale - 1e-9) / scale : floor (v * scale + 1e-9) / scale;
    }
  return g_strdup_printf ("%.*f", precision, v);
}

gboolean
fp_unit_canonical (const char  *unit,
                   double      *factor,
                   const char **dimension)
{
  static const struct
  {
    const char *unit;
    double factor;
    const char *dimension;
  } units[] = {
    /* calendar durations: weeks and shorter are exact; years and months stand alone */
    { "year", 1, "year" }, { "month", 1, "month" }, { "week", 604800, "s" },
    { "day", 86400, "s" }, { "hour", 3600, "s" }, { "minute", 60, "s" }, { "second", 1, "s" },
    { "millisecond", 1e-3, "s" },
    /* UCUM time */
    { "a", 31557600, "s" }, { "mo", 2629800, "s" }, { "wk", 604800, "s" }, { "d", 86400, "s" },
    { "h", 3600, "s" }, { "min", 60, "s" }, { "s", 1, "s" }, { "ms", 1e-3, "s" },
    { "us", 1e-6, "s" }, { "ns", 1e-9, "s" },
    /* mass */
    { "kg", 1e3, "g" }, { "g", 1, "g" }, { "mg", 1e-3, "g" }, { "ug", 1e-6, "g" },
    { "ng", 1e-9, "g" }, { "pg", 1e-12, "g" }, { "[lb_av]", 453.59237, "g" },
    { "[oz_av]", 28.349523125, "g" }, { "[gr]", 0.06479891, "g" },
    /* length */
    { "km", 1e3, "m" }, { "m", 1, "m" }, { "dm", 0.1, "m" }, { "cm", 1e-2, "m" },
    { "mm", 1e-3, "m" }, { "um", 1e-6, "m" }, { "nm", 1e-9, "m" }, { "[in_i]", 0.0254, "m" },
    { "[ft_i]", 0.3048, "m" }, { "[yd_i]", 0.9144, "m" }, { "[mi_i]", 1609.344, "m" },
    /* volume */
    { "L", 1, "L" }, { "l", 1, "L" }, { "dL", 0.1, "L" }, { "cL", 1e-2, "L" },
    { "mL", 1e-3, "L" }, { "ml", 1e-3, "L" }, { "uL", 1e-6, "L" }, { "m3", 1e3, "L" },
    { "cm3", 1e-3, "L" },
    /* dimensionless */
    { "1", 1, "1" }, { "%", 1e-2, "1" },
  };
  const char *word = fp_calendar_unit_normalize (unit);

  if (word != NULL)
    unit = word;
  for (unsigned i = 0; i < G_N_ELEMENTS (units); i++)
    if (strcmp (units[i].unit, unit) == 0)
      {
        *factor = units[i].factor;
        *dimension = units[i].dimension;
        return TRUE;
      }
  /* Any other unit is only comparable with itself. */
  *factor = 1;
  *dimension = unit;
  return FALSE;
}

int
fp_decimal_places (const char *text)
{
  const char *dot;
  int n = 0;

  if (text == NULL)
    return 8;
  dot = strchr (text, '.');
  if (dot == NULL)
    return 0;
  for (const char *p = dot + 1; g_ascii_isdigit (*p); p++)
    n++;
  return n;
}

char *
fp_format_decimal (double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (value == 0)
    value = 0; /* no "-0" */
  g_ascii_formatd (buf, sizeof buf, "%.15g", value);
  return g_strdup (buf);
}
