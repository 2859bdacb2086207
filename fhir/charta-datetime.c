/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-datetime.c: the one reader of FHIR date, dateTime, instant and time text.
 *
 * The validator, FHIRPath and search indexing all read dates here, asking for FHIR's strict
 * syntax or FHIRPath's partial one.  The reader makes one pass over the text and checks each
 * part as it reads it, in the order a person would fix them: the shape of a part before its
 * range, the date before the time, the time before the zone.  The first fault found is the one
 * reported, in the words the validator shows after the element path and value.  Nothing here
 * allocates, bar the message of a GError that a caller asks for: dates sit on the hot path of
 * validation and indexing.
 *
 * The calendar arithmetic (days from 1970-01-01 and back) is the era-based algorithm of
 * Howard Hinnant's "chrono-Compatible Low-Level Date Algorithms", exact for every year.
 */
#define G_LOG_DOMAIN "charta-datetime"

#include "charta-datetime-private.h"
#include "charta-fhir-error.h"

#define USEC_PER_SEC G_GINT64_CONSTANT (1000000)
#define USEC_PER_DAY (G_GINT64_CONSTANT (86400) * USEC_PER_SEC)

/* ------------------------------------------------------------------------------------------ */
/* The calendar.                                                                              */

int64_t
charta_days_from_civil (int64_t year,
                        int     month,
                        int     day)
{
  int64_t era;
  unsigned yoe, doy, doe;

  year -= month <= 2;
  era = (year >= 0 ? year : year - 399) / 400;
  yoe = (unsigned) (year - era * 400);
  doy = (153 * (unsigned) (month + (month > 2 ? -3 : 9)) + 2) / 5 + (unsigned) day - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t) doe - 719468;
}

void
charta_civil_from_days (int64_t  days,
                        int     *year,
                        int     *month,
                        int     *day)
{
  int64_t era;
  unsigned doe, yoe, doy, mp;
  int64_t y;

  days += 719468;
  era = (days >= 0 ? days : days - 146096) / 146097;
  doe = (unsigned) (days - era * 146097);
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = (int64_t) yoe + era * 400;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *day = (int) (doy - (153 * mp + 2) / 5 + 1);
  *month = (int) (mp < 10 ? mp + 3 : mp - 9);
  *year = (int) (y + (*month <= 2));
}

int
charta_days_in_month (int year,
                      int month)
{
  static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

  g_assert (month >= 1 && month <= 12);
  if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
    return 29;
  return days[month - 1];
}

/* ------------------------------------------------------------------------------------------ */
/* The reader.                                                                                */

static inline bool
is_digit (char c)
{
  return c >= '0' && c <= '9';
}

/* The number that two digits at @s make; the caller has checked that they are digits. */
static inline int
two_digits (const char *s)
{
  return (s[0] - '0') * 10 + (s[1] - '0');
}

/* hh:mm:ss(.s+)? at *@p (with @partial also hh and hh:mm); moves *@p past it.  Inlined into
 * both of its callers: a call costs a good part of the whole read. */
G_ALWAYS_INLINE static inline const char *
read_clock (const char     **p,
            bool             partial,
            ChartaDateTime  *dt)
{
  const char *s = *p;

  /* The shape first, then the ranges. */
  if (!(is_digit (s[0]) && is_digit (s[1])))
    return "the time must be hh:mm:ss";
  if (s[2] == ':' && is_digit (s[3]) && is_digit (s[4]))
    {
      if (s[5] == ':' && is_digit (s[6]) && is_digit (s[7]))
        dt->precision = CHARTA_DATETIME_PREC_SECOND;
      else if (!partial || s[5] == ':')
        return "the time must have seconds (hh:mm:ss)";
      else
        dt->precision = CHARTA_DATETIME_PREC_MINUTE;
    }
  else if (!partial || s[2] == ':')
    return "the time must be hh:mm:ss";
  else
    dt->precision = CHARTA_DATETIME_PREC_HOUR;

  dt->hour = two_digits (s);
  if (dt->hour > 23)
    return "the hour must be 00 to 23";
  s += 2;
  if (dt->precision >= CHARTA_DATETIME_PREC_MINUTE)
    {
      dt->minute = two_digits (s + 1);
      if (dt->minute > 59)
        return "the minutes must be 00 to 59";
      s += 3;
    }
  if (dt->precision == CHARTA_DATETIME_PREC_SECOND)
    {
      dt->second = two_digits (s + 1);
      if (dt->second > 60)
        return "the seconds must be 00 to 60";
      s += 3;
      if (*s == '.')
        {
          int scale = 100000;

          s++;
          if (!is_digit (*s))
            return "a decimal point must be followed by digits";
          do
            {
              /* Digits past the sixth are counted but not kept. */
              dt->microsecond += (*s - '0') * scale;
              scale /= 10;
              dt->frac_digits++;
              s++;
            }
          while (is_digit (*s));
        }
    }
  *p = s;
  return NULL;
}

const char *
charta_datetime_check (const char          *text,
                       ChartaDateTimeKind   kind,
                       ChartaDateTimeFlags  flags,
                       ChartaDateTime      *out)
{
  const bool partial = (flags & CHARTA_DATETIME_PARTIAL) != 0;
  const char *s = text;
  const char *why;

  g_return_val_if_fail (text != NULL, "there is no text");
  g_return_val_if_fail (out != NULL, "there is no place for the result");
  g_return_val_if_fail (!(partial && kind == CHARTA_DATETIME_INSTANT),
                        "an instant has no partial form");

  *out = (ChartaDateTime) { .month = 1, .day = 1 };

  if (kind == CHARTA_DATETIME_TIME)
    {
      why = read_clock (&s, partial, out);
      if (why != NULL)
        return why;
      if (*s != '\0')
        return "unexpected characters after the time";
      return NULL;
    }

  /* The date, as far as it goes.  With @partial a 'T' may follow any part of it. */
  out->has_date = true;
  if (!(is_digit (s[0]) && is_digit (s[1]) && is_digit (s[2]) && is_digit (s[3])))
    return "it must start with a four-digit year";
  out->year = two_digits (s) * 100 + two_digits (s + 2);
  if (out->year == 0 && !partial)
    return "there is no year 0000";
  out->precision = CHARTA_DATETIME_PREC_YEAR;
  s += 4;
  if (*s == '\0')
    return kind == CHARTA_DATETIME_INSTANT ? "an instant needs a full date, time and time zone"
                                           : NULL;
  if (!(partial && *s == 'T'))
    {
      if (*s != '-' || !is_digit (s[1]) || !is_digit (s[2]))
        return "the year must be followed by -MM";
      out->month = two_digits (s + 1);
      if (out->month < 1 || out->month > 12)
        return "the month must be 01 to 12";
      out->precision = CHARTA_DATETIME_PREC_MONTH;
      s += 3;
      if (*s == '\0')
        return kind == CHARTA_DATETIME_INSTANT ? "an instant needs a full date, time and time zone"
                                               : NULL;
      if (!(partial && *s == 'T'))
        {
          if (*s != '-' || !is_digit (s[1]) || !is_digit (s[2]))
            return "the month must be followed by -DD";
          out->day = two_digits (s + 1);
          if (out->day < 1 || out->day > charta_days_in_month (out->year, out->month))
            return "there is no such day in that month";
          out->precision = CHARTA_DATETIME_PREC_DAY;
          s += 3;
          if (*s == '\0')
            return kind == CHARTA_DATETIME_INSTANT ? "an instant needs a time and a time zone"
                                                   : NULL;
        }
    }

  /* Something follows the date: a time. */
  if (kind == CHARTA_DATETIME_DATE)
    return "a date has no time part";
  if (*s != 'T')
    return "the date must be followed by T and a time";
  s++;
  out->has_time_part = true;
  if (partial && *s == '\0')
    return NULL;  /* FHIRPath's @2015T, @2015-02-07T */
  if (out->precision != CHARTA_DATETIME_PREC_DAY)
    return "a time must follow a full date (YYYY-MM-DD)";
  why = read_clock (&s, partial, out);
  if (why != NULL)
    return why;

  /* The zone. */
  if (*s == 'Z')
    {
      out->has_tz = true;
      out->tz_is_z = true;
      s++;
    }
  else if (*s == '+' || *s == '-')
    {
      int hours, minutes;

      if (!(is_digit (s[1]) && is_digit (s[2]) && s[3] == ':' && is_digit (s[4])
            && is_digit (s[5])))
        return "the time zone must be Z or +hh:mm or -hh:mm";
      hours = two_digits (s + 1);
      minutes = two_digits (s + 4);
      if (hours > 14 || minutes > 59 || (hours == 14 && minutes != 0 && !partial))
        return "the time zone offset must be within -14:00 to +14:00";
      out->has_tz = true;
      out->tz_minutes = (s[0] == '-' ? -1 : 1) * (hours * 60 + minutes);
      s += 6;
    }
  else if (*s == '\0')
    return partial ? NULL : "a time needs a time zone (Z or +hh:mm)";
  else
    return "unexpected characters after the time";
  if (*s != '\0')
    return "unexpected characters after the time zone";
  return NULL;
}

gboolean
charta_datetime_parse (const char           *text,
                       ChartaDateTimeKind    kind,
                       ChartaDateTimeFlags   flags,
                       ChartaDateTime       *out,
                       GError              **error)
{
  static const char *const kind_names[] = { "date", "dateTime", "instant", "time" };
  const char *why = charta_datetime_check (text, kind, flags, out);

  if (why == NULL)
    return TRUE;
  g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
               "\"%s\" is not a valid %s: %s", text != NULL ? text : "(null)",
               (unsigned) kind < G_N_ELEMENTS (kind_names) ? kind_names[kind] : "date", why);
  return FALSE;
}

void
charta_datetime_range (const ChartaDateTime *dt,
                       int64_t              *low,
                       int64_t              *high)
{
  int64_t start, span;

  g_return_if_fail (dt != NULL && dt->has_date);
  g_return_if_fail (low != NULL && high != NULL);

  start = charta_days_from_civil (dt->year, dt->month, dt->day) * USEC_PER_DAY
          + ((int64_t) dt->hour * 3600 + (int64_t) dt->minute * 60 + dt->second
             - (int64_t) dt->tz_minutes * 60) * USEC_PER_SEC
          + dt->microsecond;
  switch (dt->precision)
    {
    case CHARTA_DATETIME_PREC_YEAR:
      span = (charta_days_in_month (dt->year, 2) == 29 ? 366 : 365) * USEC_PER_DAY;
      break;
    case CHARTA_DATETIME_PREC_MONTH:
      span = charta_days_in_month (dt->year, dt->month) * USEC_PER_DAY;
      break;
    case CHARTA_DATETIME_PREC_DAY:
      span = USEC_PER_DAY;
      break;
    case CHARTA_DATETIME_PREC_HOUR:
      span = 3600 * USEC_PER_SEC;
      break;
    case CHARTA_DATETIME_PREC_MINUTE:
      span = 60 * USEC_PER_SEC;
      break;
    case CHARTA_DATETIME_PREC_SECOND:
    default:
      /* Each digit of the fraction narrows the second tenfold, down to a microsecond. */
      span = USEC_PER_SEC;
      for (int i = 0; i < dt->frac_digits && i < 6; i++)
        span /= 10;
      break;
    }
  *low = start;
  *high = start + span - 1;
}
