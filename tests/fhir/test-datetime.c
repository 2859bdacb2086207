/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-datetime.c: the shared reader of FHIR date, dateTime, instant and time text.
 *
 * Every answer here was worked out by hand (the day counts checked with Python's
 * datetime.date subtraction and `date -u -d … +%s`): the calendar, the fields and precision
 * of each form, leap years, zones, fractions of 1 to 9 digits, the microsecond ranges search
 * indexing uses, and each message the validator shows, word for word.  The validator,
 * FHIRPath and search indexing are then checked to read dates through this module.
 */
#define G_LOG_DOMAIN "charta-test"

#include <string.h>

#include "charta-datetime-private.h"
#include "charta-fhirpath.h"
#include "charta-search-index-private.h"
#include "charta-test-util.h"
#include "charta-validate-private.h"

/* Microseconds per second and per day. */
#define US G_GINT64_CONSTANT (1000000)
#define DAY_US (G_GINT64_CONSTANT (86400) * US)

#define STRICT CHARTA_DATETIME_STRICT
#define PARTIAL CHARTA_DATETIME_PARTIAL

static const char *const kind_names[] = { "date", "dateTime", "instant", "time" };

/* Reads @text, which must be valid, and returns the fields. */
static ChartaDateTime
read_ok (const char          *text,
         ChartaDateTimeKind   kind,
         ChartaDateTimeFlags  flags)
{
  ChartaDateTime dt;
  const char *why;

  memset (&dt, 0x5a, sizeof dt);  /* nothing left over from before */
  why = charta_datetime_check (text, kind, flags, &dt);
  g_test_message ("%s as %s: %s", text, kind_names[kind], why != NULL ? why : "valid");
  g_assert_null (why);
  return dt;
}

static void
assert_range (const char *text,
              int64_t     want_low,
              int64_t     want_high)
{
  ChartaDateTime dt = read_ok (text, CHARTA_DATETIME_DATETIME, PARTIAL);
  int64_t low = 0, high = 0;

  g_test_message ("range of %s", text);
  charta_datetime_range (&dt, &low, &high);
  g_assert_cmpint (low, ==, want_low);
  g_assert_cmpint (high, ==, want_high);
}

/* ---------------------------------------------------------------------------------------- */

static void
test_calendar (void)
{
  int64_t expected;
  int y, m, d;

  /* Day counts from 1970-01-01:
   *   2000-03-01: 30 years of 365 days + 7 leap days (72 76 80 84 88 92 96) = 10,957 to
   *               2000-01-01, + 31 (January) + 29 (February 2000 is leap)   = 11,017
   *   2020-01-01: 10,957 + 20 × 365 + 5 leap days (00 04 08 12 16)           = 18,262
   *   0001-01-01: 1969 years back; 1969 × 365 + 477 leap days (1969/4 = 492, less 19
   *               centuries, plus the 4 divisible by 400)                     = −719,162
   *   9999-12-31: 2,932,896 (the last day FHIR can write) */
  g_assert_cmpint (charta_days_from_civil (1970, 1, 1), ==, 0);
  g_assert_cmpint (charta_days_from_civil (1969, 12, 31), ==, -1);
  g_assert_cmpint (charta_days_from_civil (2000, 3, 1), ==, 11017);
  g_assert_cmpint (charta_days_from_civil (2020, 1, 1), ==, 18262);
  g_assert_cmpint (charta_days_from_civil (1, 1, 1), ==, -719162);
  g_assert_cmpint (charta_days_from_civil (9999, 12, 31), ==, 2932896);

  charta_civil_from_days (11017, &y, &m, &d);
  g_assert_cmpint (y, ==, 2000);
  g_assert_cmpint (m, ==, 3);
  g_assert_cmpint (d, ==, 1);
  charta_civil_from_days (-1, &y, &m, &d);
  g_assert_cmpint (y, ==, 1969);
  g_assert_cmpint (m, ==, 12);
  g_assert_cmpint (d, ==, 31);

  /* Leap years: every 4th, not every 100th, but every 400th. */
  g_assert_cmpint (charta_days_in_month (2000, 2), ==, 29);
  g_assert_cmpint (charta_days_in_month (1900, 2), ==, 28);
  g_assert_cmpint (charta_days_in_month (2024, 2), ==, 29);
  g_assert_cmpint (charta_days_in_month (2023, 2), ==, 28);
  g_assert_cmpint (charta_days_in_month (2023, 1), ==, 31);
  g_assert_cmpint (charta_days_in_month (2023, 4), ==, 30);
  g_assert_cmpint (charta_days_in_month (2023, 12), ==, 31);

  /* Every day from 0001-01-01 to 9999-12-31 follows the one before, and comes back. */
  expected = -719162;
  for (int year = 1; year <= 9999; year++)
    for (int month = 1; month <= 12; month++)
      for (int day = 1; day <= charta_days_in_month (year, month); day++, expected++)
        {
          if (charta_days_from_civil (year, month, day) != expected)
            g_error ("%04d-%02d-%02d is not day %" G_GINT64_FORMAT, year, month, day, expected);
          charta_civil_from_days (expected, &y, &m, &d);
          if (y != year || m != month || d != day)
            g_error ("day %" G_GINT64_FORMAT " is %04d-%02d-%02d, not %04d-%02d-%02d", expected,
                     y, m, d, year, month, day);
        }
  /* 9999 years of 365 days + 2424 leap days (2499 − 99 + 24) */
  g_assert_cmpint (expected, ==, -719162 + 9999 * 365 + 2424);
}

static void
test_precision (void)
{
  ChartaDateTime dt;

  dt = read_ok ("2020", CHARTA_DATETIME_DATE, STRICT);
  g_assert_cmpint (dt.precision, ==, CHARTA_DATETIME_PREC_YEAR);
  g_assert_cmpint (dt.year, ==, 2020);
  g_assert_cmpint (dt.month, ==, 1);
  g_assert_cmpint (dt.day, ==, 1);
  g_assert_true (dt.has_date);
  g_assert_false (dt.has_time_part);
  g_assert_false (dt.has_tz);

  dt = read_ok ("2020-03", CHARTA_DATETIME_DATETIME, STRICT);
  g_assert_cmpint (dt.precision, ==, CHARTA_DATETIME_PREC_MONTH);
  g_assert_cmpint (dt.month, ==, 3);
  g_assert_cmpint (dt.day, ==, 1);

  dt = read_ok ("2020-03-15", CHARTA_DATETIME_DATE, STRICT);
  g_assert_cmpint (dt.precision, ==, CHARTA_DATETIME_PREC_DAY);
  g_assert_cmpint (dt.day, ==, 15);
  g_assert_cmpint (dt.hour, ==, 0);

  dt = read_ok ("2020-03-15T10:30:45Z", CHARTA_DATETIME_INSTANT, STRICT);
  g_assert_cmpint (dt.precision, ==, CHARTA_DATETIME_PREC_SECOND);
  g_assert_cmpint (dt.year, ==, 2020);
  g_assert_cmpint (dt.month, ==, 3);
  g_assert_cmpint (dt.day, ==, 15);
  g_assert_cmpint (dt.hour, ==, 10);
  g_assert_cmpint (dt.minute, ==, 30);
  g_assert_cmpint (dt.second, ==, 45);
  g_assert_cmpint (dt.frac_digits, ==, 0);
  g_assert_cmpint (dt.microsecond, ==, 0);
  g_assert_true (dt.has_time_part);
  g_assert_true (dt.has_tz);
  g_assert_true (dt.tz_is_z);
  g_assert_cmpint (dt.tz_minutes, ==, 0);

  /* FHIRPath's partial times: hours, minutes, no zone. */
  dt = read_ok ("2020-03-15T10", CHARTA_DATETIME_DATETIME, PARTIAL);
  g_assert_cmpint (dt.precision, ==, CHARTA_DATETIME_PREC_HOUR);
  g_assert_cmpint (dt.hour, ==, 10);
  g_assert_false (dt.has_tz);
  dt = read_ok ("2020-03-15T10:30", CHARTA_DATETIME_DATETIME, PARTIAL);
  g_assert_cmpint (dt.precision, ==, CHARTA_DATETIME_PREC_MINUTE);
  g_assert_cmpint (dt.minute, ==, 30);
  dt = read_ok ("2020-03-15T10:30:45", CHARTA_DATETIME_DATETIME, PARTIAL);
  g_assert_cmpint (dt.precision, ==, CHARTA_DATETIME_PREC_SECOND);
  g_assert_false (dt.has_tz);
  /* ... and a bare 'T' after a date of any precision: @2015T. */
  dt = read_ok ("2015T", CHARTA_DATETIME_DATETIME, PARTIAL);
  g_assert_cmpint (dt.precision, ==, CHARTA_DATETIME_PREC_YEAR);
  g_assert_true (dt.has_time_part);
  dt = read_ok ("2015-02T", CHARTA_DATETIME_DATETIME, PARTIAL);
  g_assert_cmpint (dt.precision, ==, CHARTA_DATETIME_PREC_MONTH);
  g_assert_true (dt.has_time_part);
  dt = read_ok ("2015-02-07T", CHARTA_DATETIME_DATETIME, PARTIAL);
  g_assert_cmpint (dt.precision, ==, CHARTA_DATETIME_PREC_DAY);
  g_assert_true (dt.has_time_part);
  /* ... and the year 0000. */
  dt = read_ok ("0000", CHARTA_DATETIME_DATE, PARTIAL);
  g_assert_cmpint (dt.year, ==, 0);

  /* Times. */
  dt = read_ok ("13:28:17", CHARTA_DATETIME_TIME, STRICT);
  g_assert_cmpint (dt.precision, ==, CHARTA_DATETIME_PREC_SECOND);
  g_assert_false (dt.has_date);
  g_assert_cmpint (dt.year, ==, 0);
  g_assert_cmpint (dt.hour, ==, 13);
  g_assert_cmpint (dt.minute, ==, 28);
  g_assert_cmpint (dt.second, ==, 17);
  dt = read_ok ("13", CHARTA_DATETIME_TIME, PARTIAL);
  g_assert_cmpint (dt.precision, ==, CHARTA_DATETIME_PREC_HOUR);
  g_assert_cmpint (dt.hour, ==, 13);
  dt = read_ok ("13:28", CHARTA_DATETIME_TIME, PARTIAL);
  g_assert_cmpint (dt.precision, ==, CHARTA_DATETIME_PREC_MINUTE);
  g_assert_cmpint (dt.minute, ==, 28);

  /* The edges of each field. */
  dt = read_ok ("0001-01-01T00:00:00Z", CHARTA_DATETIME_INSTANT, STRICT);
  g_assert_cmpint (dt.year, ==, 1);
  dt = read_ok ("9999-12-31T23:59:59Z", CHARTA_DATETIME_INSTANT, STRICT);
  g_assert_cmpint (dt.year, ==, 9999);
  g_assert_cmpint (dt.hour, ==, 23);
  g_assert_cmpint (dt.minute, ==, 59);
  dt = read_ok ("2016-12-31T23:59:60Z", CHARTA_DATETIME_INSTANT, STRICT);
  g_assert_cmpint (dt.second, ==, 60);  /* a leap second */
}

static void
test_leap_years (void)
{
  ChartaDateTime dt;

  dt = read_ok ("2000-02-29", CHARTA_DATETIME_DATE, STRICT);  /* divisible by 400 */
  g_assert_cmpint (dt.day, ==, 29);
  dt = read_ok ("2024-02-29", CHARTA_DATETIME_DATE, STRICT);  /* divisible by 4 */
  g_assert_cmpint (dt.day, ==, 29);
  dt = read_ok ("2024-02-29T12:00:00+01:00", CHARTA_DATETIME_DATETIME, STRICT);
  g_assert_cmpint (dt.day, ==, 29);
  /* by 100 but not 400; and not by 4 */
  g_assert_cmpstr (charta_datetime_check ("1900-02-29", CHARTA_DATETIME_DATE, STRICT, &dt), ==,
                   "there is no such day in that month");
  g_assert_cmpstr (charta_datetime_check ("2023-02-29", CHARTA_DATETIME_DATE, STRICT, &dt), ==,
                   "there is no such day in that month");
  g_assert_cmpstr (charta_datetime_check ("1900-02-29", CHARTA_DATETIME_DATETIME, PARTIAL, &dt),
                   ==, "there is no such day in that month");
  dt = read_ok ("1900-02-28", CHARTA_DATETIME_DATE, STRICT);
  g_assert_cmpint (dt.day, ==, 28);
}

static void
test_zones (void)
{
  ChartaDateTime dt;

  dt = read_ok ("2020-01-01T00:00:00+14:00", CHARTA_DATETIME_INSTANT, STRICT);
  g_assert_true (dt.has_tz);
  g_assert_false (dt.tz_is_z);
  g_assert_cmpint (dt.tz_minutes, ==, 14 * 60);
  dt = read_ok ("2020-01-01T00:00:00-12:00", CHARTA_DATETIME_DATETIME, STRICT);
  g_assert_cmpint (dt.tz_minutes, ==, -12 * 60);
  dt = read_ok ("2020-01-01T00:00:00-14:00", CHARTA_DATETIME_DATETIME, STRICT);
  g_assert_cmpint (dt.tz_minutes, ==, -14 * 60);
  dt = read_ok ("2020-01-01T00:00:00+05:45", CHARTA_DATETIME_DATETIME, STRICT);
  g_assert_cmpint (dt.tz_minutes, ==, 5 * 60 + 45);
  dt = read_ok ("2020-01-01T00:00:00-03:30", CHARTA_DATETIME_DATETIME, STRICT);
  g_assert_cmpint (dt.tz_minutes, ==, -(3 * 60 + 30));
  dt = read_ok ("2020-01-01T00:00:00-00:00", CHARTA_DATETIME_DATETIME, STRICT);
  g_assert_true (dt.has_tz);
  g_assert_false (dt.tz_is_z);
  g_assert_cmpint (dt.tz_minutes, ==, 0);

  /* FHIRPath's reading lets +14 take any minutes (as it always has); FHIR's does not. */
  g_assert_cmpstr (charta_datetime_check ("2020-01-01T00:00:00+14:30", CHARTA_DATETIME_DATETIME,
                                          STRICT, &dt), ==,
                   "the time zone offset must be within -14:00 to +14:00");
  dt = read_ok ("2020-01-01T00:00:00+14:30", CHARTA_DATETIME_DATETIME, PARTIAL);
  g_assert_cmpint (dt.tz_minutes, ==, 14 * 60 + 30);
  /* ... but not +15, in either. */
  g_assert_cmpstr (charta_datetime_check ("2020-01-01T00:00:00+15:00", CHARTA_DATETIME_DATETIME,
                                          PARTIAL, &dt), ==,
                   "the time zone offset must be within -14:00 to +14:00");
  /* A zone may follow a partial time. */
  dt = read_ok ("2020-01-01T10Z", CHARTA_DATETIME_DATETIME, PARTIAL);
  g_assert_cmpint (dt.precision, ==, CHARTA_DATETIME_PREC_HOUR);
  g_assert_true (dt.tz_is_z);
}

static void
test_fractions (void)
{
  static const struct
  {
    const char *text;
    int digits;
    int microsecond;
    int64_t span;     /* how many microseconds the value covers */
  } cases[] = {
    { "2020-01-01T00:00:00.1Z", 1, 100000, 100000 },
    { "2020-01-01T00:00:00.12Z", 2, 120000, 10000 },
    { "2020-01-01T00:00:00.123Z", 3, 123000, 1000 },
    { "2020-01-01T00:00:00.1234Z", 4, 123400, 100 },
    { "2020-01-01T00:00:00.12345Z", 5, 123450, 10 },
    { "2020-01-01T00:00:00.123456Z", 6, 123456, 1 },
    { "2020-01-01T00:00:00.1234567Z", 7, 123456, 1 },     /* the 7th digit is dropped ... */
    { "2020-01-01T00:00:00.12345678Z", 8, 123456, 1 },
    { "2020-01-01T00:00:00.999999999Z", 9, 999999, 1 },   /* ... not rounded up */
    { "2020-01-01T00:00:00.000000001Z", 9, 0, 1 },
    { "2020-01-01T00:00:00.0Z", 1, 0, 100000 },
  };
  /* 2020-01-01T00:00:00Z = 18,262 days = 1,577,836,800 s */
  const int64_t base = G_GINT64_CONSTANT (1577836800) * US;

  for (unsigned i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      ChartaDateTime dt = read_ok (cases[i].text, CHARTA_DATETIME_INSTANT, STRICT);
      int64_t low = 0, high = 0;

      g_assert_cmpint (dt.precision, ==, CHARTA_DATETIME_PREC_SECOND);
      g_assert_cmpint (dt.frac_digits, ==, cases[i].digits);
      g_assert_cmpint (dt.microsecond, ==, cases[i].microsecond);
      charta_datetime_range (&dt, &low, &high);
      g_assert_cmpint (low, ==, base + cases[i].microsecond);
      g_assert_cmpint (high, ==, base + cases[i].microsecond + cases[i].span - 1);
    }

  /* A time's fraction. */
  {
    ChartaDateTime dt = read_ok ("13:28:17.5", CHARTA_DATETIME_TIME, STRICT);

    g_assert_cmpint (dt.frac_digits, ==, 1);
    g_assert_cmpint (dt.microsecond, ==, 500000);
  }
}

static void
test_ranges (void)
{
  /* A year: 2020-01-01 is day 18,262 (1,577,836,800 s); 2020 is leap, so 2021-01-01 is day
   * 18,262 + 366 = 18,628 = 1,609,459,200 s, and the year ends one microsecond before. */
  assert_range ("2020", G_GINT64_CONSTANT (1577836800000000), G_GINT64_CONSTANT (1609459199999999));
  /* 1969: day −365 (= −31,536,000 s) to the microsecond before the epoch. */
  assert_range ("1969", G_GINT64_CONSTANT (-31536000) * US, -1);
  /* A month: 2020-02-01 is day 18,262 + 31 = 18,293 (1,580,515,200 s); 29 days later is
   * 2020-03-01, day 18,322 (1,583,020,800 s). */
  assert_range ("2020-02", G_GINT64_CONSTANT (1580515200) * US,
                G_GINT64_CONSTANT (1583020800) * US - 1);
  /* December ends the year: 2020-12-01 is 31 days before 2021-01-01 = day 18,597. */
  assert_range ("2020-12", G_GINT64_CONSTANT (18597) * DAY_US, G_GINT64_CONSTANT (18628) * DAY_US - 1);
  /* A day: 2024-02-29 = day 19,782 = 1,709,164,800 s. */
  assert_range ("2024-02-29", G_GINT64_CONSTANT (1709164800) * US,
                G_GINT64_CONSTANT (1709164800) * US + DAY_US - 1);
  /* An hour and a minute, in UTC: 2020-03-15T10:00Z = (18,262 + 31 + 29 + 14) days = 18,336
   * days = 1,584,230,400 s, + 36,000 s = 1,584,266,400 s. */
  assert_range ("2020-03-15T10Z", G_GINT64_CONSTANT (1584266400) * US,
                G_GINT64_CONSTANT (1584266400 + 3600) * US - 1);
  assert_range ("2020-03-15T10:30+02:00", G_GINT64_CONSTANT (1584261000) * US,
                G_GINT64_CONSTANT (1584261000 + 60) * US - 1);
  /* A second, no zone read as UTC. */
  assert_range ("2020-03-15T08:30:00", G_GINT64_CONSTANT (1584261000) * US,
                G_GINT64_CONSTANT (1584261000) * US + US - 1);
  /* Zones at the ends: 2020-01-01T00:00:00+14:00 is 14 hours before midnight UTC
   * (1,577,836,800 − 50,400 = 1,577,786,400 s); −12:00 is 12 hours after (+ 43,200 s). */
  assert_range ("2020-01-01T00:00:00+14:00", G_GINT64_CONSTANT (1577786400) * US,
                G_GINT64_CONSTANT (1577786400) * US + US - 1);
  assert_range ("2020-01-01T00:00:00-12:00", G_GINT64_CONSTANT (1577880000) * US,
                G_GINT64_CONSTANT (1577880000) * US + US - 1);
  /* A zone carries the day over the epoch: 1969-12-31T23:59:59.5-01:00 is
   * 1970-01-01T00:59:59.5Z = 3,599.5 s, and one digit of fraction covers a tenth of a second. */
  assert_range ("1969-12-31T23:59:59.5-01:00", G_GINT64_CONSTANT (3599500000),
                G_GINT64_CONSTANT (3599599999));
  /* A leap second is the first second of the next day: 2017-01-01 = day 17,167 =
   * 1,483,228,800 s. */
  assert_range ("2016-12-31T23:59:60Z", G_GINT64_CONSTANT (1483228800) * US,
                G_GINT64_CONSTANT (1483228800) * US + US - 1);
  /* The year 0000 (FHIRPath's reading only) is a leap year before 0001-01-01, day −719,162:
   * it starts 366 days earlier, on day −719,528. */
  assert_range ("0000", G_GINT64_CONSTANT (-719528) * DAY_US, G_GINT64_CONSTANT (-719162) * DAY_US - 1);
  /* A bare 'T' does not narrow the date. */
  assert_range ("2020T", G_GINT64_CONSTANT (1577836800000000), G_GINT64_CONSTANT (1609459199999999));
}

/* ---------------------------------------------------------------------------------------- */
/* What is wrong, word for word.                                                             */

typedef struct
{
  ChartaDateTimeKind kind;
  ChartaDateTimeFlags flags;
  const char *text;
  const char *why;      /* NULL when valid */
} Case;

static const Case cases[] = {
  /* the year */
  { CHARTA_DATETIME_DATE, STRICT, "", "it must start with a four-digit year" },
  { CHARTA_DATETIME_DATE, STRICT, "70-01-01", "it must start with a four-digit year" },
  { CHARTA_DATETIME_DATETIME, STRICT, "197", "it must start with a four-digit year" },
  { CHARTA_DATETIME_DATETIME, PARTIAL, "-2020", "it must start with a four-digit year" },
  { CHARTA_DATETIME_DATE, STRICT, "0000", "there is no year 0000" },
  { CHARTA_DATETIME_INSTANT, STRICT, "0000-01-01T00:00:00Z", "there is no year 0000" },
  { CHARTA_DATETIME_INSTANT, STRICT, "2020", "an instant needs a full date, time and time zone" },
  { CHARTA_DATETIME_INSTANT, STRICT, "2020-01", "an instant needs a full date, time and time zone" },
  { CHARTA_DATETIME_DATE, STRICT, "2020-1", "the year must be followed by -MM" },
  { CHARTA_DATETIME_DATE, STRICT, "2020/01", "the year must be followed by -MM" },
  { CHARTA_DATETIME_DATE, STRICT, "20201", "the year must be followed by -MM" },
  { CHARTA_DATETIME_DATETIME, STRICT, "2020T", "the year must be followed by -MM" },
  /* the month */
  { CHARTA_DATETIME_DATE, STRICT, "2020-13", "the month must be 01 to 12" },
  { CHARTA_DATETIME_DATE, STRICT, "2020-00", "the month must be 01 to 12" },
  { CHARTA_DATETIME_DATE, STRICT, "2020-12", NULL },
  { CHARTA_DATETIME_DATE, STRICT, "2020-01-1", "the month must be followed by -DD" },
  { CHARTA_DATETIME_DATETIME, STRICT, "2020-01T10:00:00Z", "the month must be followed by -DD" },
  /* the day */
  { CHARTA_DATETIME_DATE, STRICT, "2020-01-00", "there is no such day in that month" },
  { CHARTA_DATETIME_DATE, STRICT, "2020-01-32", "there is no such day in that month" },
  { CHARTA_DATETIME_DATE, STRICT, "2020-04-31", "there is no such day in that month" },
  { CHARTA_DATETIME_DATE, STRICT, "2020-01-31", NULL },
  { CHARTA_DATETIME_INSTANT, STRICT, "2020-01-01", "an instant needs a time and a time zone" },
  { CHARTA_DATETIME_DATE, STRICT, "2020-01-01T10:00:00Z", "a date has no time part" },
  { CHARTA_DATETIME_DATE, STRICT, "2020-01-01x", "a date has no time part" },
  { CHARTA_DATETIME_DATE, PARTIAL, "2020T", "a date has no time part" },
  { CHARTA_DATETIME_DATETIME, STRICT, "2020-01-01 10:00:00Z",
    "the date must be followed by T and a time" },
  { CHARTA_DATETIME_DATETIME, PARTIAL, "2020-01T10", "a time must follow a full date (YYYY-MM-DD)" },
  { CHARTA_DATETIME_DATETIME, PARTIAL, "2020T10:00", "a time must follow a full date (YYYY-MM-DD)" },
  /* the time */
  { CHARTA_DATETIME_DATETIME, STRICT, "2020-01-01T", "the time must be hh:mm:ss" },
  { CHARTA_DATETIME_DATETIME, STRICT, "2020-01-01T1:00:00Z", "the time must be hh:mm:ss" },
  { CHARTA_DATETIME_TIME, STRICT, "10", "the time must be hh:mm:ss" },
  { CHARTA_DATETIME_TIME, STRICT, "1000:00", "the time must be hh:mm:ss" },
  { CHARTA_DATETIME_TIME, PARTIAL, "10:", "the time must be hh:mm:ss" },
  { CHARTA_DATETIME_TIME, PARTIAL, "10:5", "the time must be hh:mm:ss" },
  { CHARTA_DATETIME_TIME, STRICT, "13:28", "the time must have seconds (hh:mm:ss)" },
  { CHARTA_DATETIME_INSTANT, STRICT, "2020-01-01T10:30Z", "the time must have seconds (hh:mm:ss)" },
  { CHARTA_DATETIME_TIME, PARTIAL, "10:30:", "the time must have seconds (hh:mm:ss)" },
  { CHARTA_DATETIME_TIME, STRICT, "24:00:00", "the hour must be 00 to 23" },
  { CHARTA_DATETIME_TIME, PARTIAL, "24", "the hour must be 00 to 23" },
  { CHARTA_DATETIME_INSTANT, STRICT, "2020-01-01T24:00:00Z", "the hour must be 00 to 23" },
  { CHARTA_DATETIME_TIME, STRICT, "23:59:59", NULL },
  { CHARTA_DATETIME_TIME, STRICT, "10:60:00", "the minutes must be 00 to 59" },
  { CHARTA_DATETIME_TIME, PARTIAL, "10:60", "the minutes must be 00 to 59" },
  { CHARTA_DATETIME_TIME, STRICT, "10:00:61", "the seconds must be 00 to 60" },
  { CHARTA_DATETIME_TIME, STRICT, "10:00:60", NULL },
  { CHARTA_DATETIME_TIME, STRICT, "10:00:00.", "a decimal point must be followed by digits" },
  { CHARTA_DATETIME_INSTANT, STRICT, "2020-01-01T10:00:00.Z",
    "a decimal point must be followed by digits" },
  /* the zone */
  { CHARTA_DATETIME_INSTANT, STRICT, "2020-01-01T10:00:00", "a time needs a time zone (Z or +hh:mm)" },
  { CHARTA_DATETIME_DATETIME, STRICT, "2015-02-07T13:28:17",
    "a time needs a time zone (Z or +hh:mm)" },
  { CHARTA_DATETIME_DATETIME, PARTIAL, "2015-02-07T13:28:17", NULL },
  { CHARTA_DATETIME_DATETIME, STRICT, "2020-01-01T10:00:00+0200",
    "the time zone must be Z or +hh:mm or -hh:mm" },
  { CHARTA_DATETIME_DATETIME, STRICT, "2020-01-01T10:00:00+02",
    "the time zone must be Z or +hh:mm or -hh:mm" },
  { CHARTA_DATETIME_DATETIME, PARTIAL, "2020-01-01T10:00:00-2:00",
    "the time zone must be Z or +hh:mm or -hh:mm" },
  { CHARTA_DATETIME_DATETIME, STRICT, "2020-01-01T10:00:00+15:00",
    "the time zone offset must be within -14:00 to +14:00" },
  { CHARTA_DATETIME_DATETIME, STRICT, "2020-01-01T10:00:00+14:01",
    "the time zone offset must be within -14:00 to +14:00" },
  { CHARTA_DATETIME_DATETIME, STRICT, "2020-01-01T10:00:00-14:30",
    "the time zone offset must be within -14:00 to +14:00" },
  { CHARTA_DATETIME_DATETIME, STRICT, "2020-01-01T10:00:00+10:60",
    "the time zone offset must be within -14:00 to +14:00" },
  { CHARTA_DATETIME_DATETIME, STRICT, "2020-01-01T10:00:00x", "unexpected characters after the time" },
  { CHARTA_DATETIME_DATETIME, PARTIAL, "2020-01-01T10x", "unexpected characters after the time" },
  { CHARTA_DATETIME_TIME, STRICT, "10:00:00Z", "unexpected characters after the time" },
  { CHARTA_DATETIME_TIME, PARTIAL, "10:00:00+01:00", "unexpected characters after the time" },
  { CHARTA_DATETIME_DATETIME, STRICT, "2020-01-01T10:00:00Z ",
    "unexpected characters after the time zone" },
  { CHARTA_DATETIME_DATETIME, STRICT, "2020-01-01T10:00:00+02:00:00",
    "unexpected characters after the time zone" },
};

static void
test_messages (void)
{
  for (unsigned i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      ChartaDateTime dt;
      const char *why = charta_datetime_check (cases[i].text, cases[i].kind, cases[i].flags, &dt);

      g_test_message ("\"%s\" as %s%s: %s", cases[i].text, kind_names[cases[i].kind],
                      cases[i].flags == PARTIAL ? " (partial)" : "", why ? why : "valid");
      g_assert_cmpstr (why, ==, cases[i].why);
    }
}

static void
test_gerror (void)
{
  g_autoptr(GError) error = NULL;
  ChartaDateTime dt;

  g_assert_false (charta_datetime_parse ("1970-13", CHARTA_DATETIME_DATE, STRICT, &dt, &error));
  g_assert_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "\"1970-13\" is not a valid date: the month must be 01 to 12");
  g_clear_error (&error);

  g_assert_false (charta_datetime_parse ("2015-02-07", CHARTA_DATETIME_INSTANT, STRICT, &dt,
                                         &error));
  g_assert_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==,
                   "\"2015-02-07\" is not a valid instant: an instant needs a time and a time zone");
  g_clear_error (&error);

  g_assert_false (charta_datetime_parse ("24:00:00", CHARTA_DATETIME_TIME, STRICT, &dt, &error));
  g_assert_cmpstr (error->message, ==, "\"24:00:00\" is not a valid time: the hour must be 00 to 23");
  g_clear_error (&error);

  /* No error asked for, none given. */
  g_assert_false (charta_datetime_parse ("2015-02-07T13:28:17", CHARTA_DATETIME_DATETIME, STRICT,
                                         &dt, NULL));
  g_assert_true (charta_datetime_parse ("2015-02-07T13:28:17Z", CHARTA_DATETIME_DATETIME, STRICT,
                                        &dt, &error));
  g_assert_no_error (error);
  g_assert_cmpint (dt.second, ==, 17);
}

/* The three readers of dates read them here. */
static void
test_users (void)
{
  int64_t low = 0, high = 0;

  /* The validator's reasons are this module's words. */
  for (unsigned i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *reason = NULL;
      gboolean ok;

      if (cases[i].flags != STRICT)
        continue;
      ok = charta_validate_check_primitive_string (kind_names[cases[i].kind], cases[i].text,
                                                   &reason);
      g_test_message ("validator: \"%s\" as %s: %s", cases[i].text, kind_names[cases[i].kind],
                      ok ? "valid" : reason);
      g_assert_cmpint (ok, ==, cases[i].why == NULL);
      g_assert_cmpstr (reason, ==, cases[i].why);
    }

  /* Search: PARTIAL, with or without '@', but a bare trailing 'T' is not a date. */
  g_assert_true (charta_search_date_range ("@2020", &low, &high));
  g_assert_cmpint (low, ==, G_GINT64_CONSTANT (1577836800000000));
  g_assert_cmpint (high, ==, G_GINT64_CONSTANT (1609459199999999));
  g_assert_true (charta_search_date_range ("2020-01-01T00:00:00+14:00", &low, &high));
  g_assert_cmpint (low, ==, G_GINT64_CONSTANT (1577786400) * US);
  g_assert_false (charta_search_date_range ("2015-02-07T", &low, &high));
  g_assert_false (charta_search_date_range ("2015T", &low, &high));
  g_assert_false (charta_search_date_range ("10:00:00", &low, &high));

  /* FHIRPath: partial literals and the calendar. */
  {
    g_autoptr(ChartaFhirPath) path = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(ChartaResource) resource = NULL;
    static const struct
    {
      const char *expression;
      gboolean want;
    } exprs[] = {
      { "@2015T.exists()", TRUE },
      { "@2024-02-29 = @2024-02-28 + 1 day", TRUE },
      { "@2000-02-29.exists()", TRUE },
      { "@2019-12-31T23:00:00-12:00 = @2020-01-01T01:00:00-10:00", TRUE },
      { "@2020-01-01T00:00:00+14:00 < @2019-12-31T11:00:00Z", TRUE },
      { "@T10:30 < @T10:31", TRUE },
    };

    static const char patient[] = "{\"resourceType\":\"Patient\"}";

    resource = charta_resource_new_from_data (patient, strlen (patient), NULL, &error);
    g_assert_no_error (error);
    for (unsigned i = 0; i < G_N_ELEMENTS (exprs); i++)
      {
        g_autoptr(GPtrArray) result = NULL;
        const ChartaFhirPathItem *item;

        g_test_message ("FHIRPath %s", exprs[i].expression);
        g_clear_pointer (&path, charta_fhirpath_unref);
        path = charta_fhirpath_compile (exprs[i].expression, &error);
        g_assert_no_error (error);
        result = charta_fhirpath_evaluate (path, resource, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (result->len, ==, 1);
        item = result->pdata[0];
        g_assert_cmpint (item->kind, ==, CHARTA_FHIRPATH_BOOLEAN);
        g_assert_cmpint (item->boolean, ==, exprs[i].want);
      }
    /* 1900 is not a leap year: no such literal. */
    g_clear_pointer (&path, charta_fhirpath_unref);
    path = charta_fhirpath_compile ("@1900-02-29", &error);
    g_assert_null (path);
    g_assert_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_FHIRPATH_SYNTAX);
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/charta/fhir/datetime/calendar", test_calendar);
  g_test_add_func ("/charta/fhir/datetime/precision", test_precision);
  g_test_add_func ("/charta/fhir/datetime/leap-years", test_leap_years);
  g_test_add_func ("/charta/fhir/datetime/zones", test_zones);
  g_test_add_func ("/charta/fhir/datetime/fractions", test_fractions);
  g_test_add_func ("/charta/fhir/datetime/ranges", test_ranges);
  g_test_add_func ("/charta/fhir/datetime/messages", test_messages);
  g_test_add_func ("/charta/fhir/datetime/gerror", test_gerror);
  g_test_add_func ("/charta/fhir/datetime/users", test_users);

  return g_test_run ();
}
