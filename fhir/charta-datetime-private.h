/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-datetime-private.h: reading FHIR date, dateTime, instant and time text, and the
 * calendar arithmetic behind it.
 *
 * One parser serves the validator (which wants to know exactly what is wrong with a value),
 * FHIRPath (whose literals may stop at the hour or minute and need no time zone) and search
 * indexing (which wants the range of instants a value covers).  It reads the text once, checks
 * it as it goes and fills a ChartaDateTime; it never allocates unless asked for a GError.
 *
 * Dates are proleptic Gregorian, years 0001 to 9999 (0000 too with CHARTA_DATETIME_PARTIAL);
 * a leap second (ss = 60) is accepted, as FHIR's regular expressions accept it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

G_BEGIN_DECLS

/* What the text must be. */
typedef enum
{
  CHARTA_DATETIME_DATE,      /* YYYY, YYYY-MM or YYYY-MM-DD */
  CHARTA_DATETIME_DATETIME,  /* a date, or YYYY-MM-DDThh:mm:ss(.s+) and a zone (Z, +hh:mm, -hh:mm) */
  CHARTA_DATETIME_INSTANT,   /* YYYY-MM-DDThh:mm:ss(.s+) and a zone */
  CHARTA_DATETIME_TIME,      /* hh:mm:ss(.s+), no zone */
} ChartaDateTimeKind;

typedef enum
{
  CHARTA_DATETIME_STRICT = 0,        /* FHIR's own syntax, as the validator enforces it */
  /* FHIRPath's syntax (and what search accepts): year 0000; a time of hh or hh:mm; no zone
   * needed; a zone of +14:mm for any mm; and, for DATETIME, a date of any precision followed
   * by a bare 'T' ("2015T").  Not with CHARTA_DATETIME_INSTANT. */
  CHARTA_DATETIME_PARTIAL = 1 << 0,
} ChartaDateTimeFlags;

/* How much of the value was written.  The same numbers as FHIRPath's FpPrecision. */
typedef enum
{
  CHARTA_DATETIME_PREC_YEAR = 1,
  CHARTA_DATETIME_PREC_MONTH,
  CHARTA_DATETIME_PREC_DAY,
  CHARTA_DATETIME_PREC_HOUR,
  CHARTA_DATETIME_PREC_MINUTE,
  CHARTA_DATETIME_PREC_SECOND,  /* seconds, with or without a fraction (see frac_digits) */
} ChartaDateTimePrecision;

/* A parsed value.  What the text leaves out is 0, except month and day, which are 1. */
typedef struct
{
  int year;             /* 0 for a time */
  int month, day;
  int hour, minute, second;
  int microsecond;      /* the fraction's first six digits, as microseconds (never rounded up) */
  int frac_digits;      /* how many digits follow the seconds' point, all of them (0: no point) */
  int tz_minutes;       /* the zone's offset east of UTC, in minutes; 0 without a zone */
  ChartaDateTimePrecision precision;
  bool has_date;        /* false for a time */
  bool has_time_part;   /* a 'T' follows the date (with PARTIAL it may be all there is) */
  bool has_tz;          /* a zone was written */
  bool tz_is_z;         /* ... and it was "Z" */
} ChartaDateTime;

/* Reads @text as a @kind.  Returns NULL and fills @out when it is one; otherwise a static
 * string that says what is wrong ("the month must be 01 to 12"), the words the validator
 * reports after the element path and value; @out is then unspecified. */
const char *charta_datetime_check    (const char             *text,
                                      ChartaDateTimeKind      kind,
                                      ChartaDateTimeFlags     flags,
                                      ChartaDateTime         *out);

/* The same, as a GError in CHARTA_FHIR_ERROR_INVALID whose message quotes @text and gives
 * the reason: "\"1970-13\" is not a valid date: the month must be 01 to 12". */
gboolean    charta_datetime_parse    (const char             *text,
                                      ChartaDateTimeKind      kind,
                                      ChartaDateTimeFlags     flags,
                                      ChartaDateTime         *out,
                                      GError                **error);

/* The inclusive range of instants, in microseconds since 1970-01-01T00:00:00Z, that @dt covers
 * at its precision: a year is the whole year, ".5" a tenth of a second, ".123456789" one
 * microsecond (digits past the sixth are dropped).  No zone reads as UTC.  @dt must have a
 * date. */
void        charta_datetime_range    (const ChartaDateTime   *dt,
                                      int64_t                *low,
                                      int64_t                *high);

/* Days from 1970-01-01 to @year-@month-@day (proleptic Gregorian; negative before 1970).
 * @month is 1 to 12. */
int64_t     charta_days_from_civil   (int64_t                 year,
                                      int                     month,
                                      int                     day);
/* The inverse: the date @days days after 1970-01-01. */
void        charta_civil_from_days   (int64_t                 days,
                                      int                    *year,
                                      int                    *month,
                                      int                    *day);
/* 28 to 31; @month is 1 to 12. */
int         charta_days_in_month     (int                     year,
                                      int                     month);

G_END_DECLS
