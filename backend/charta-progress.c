/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-progress.c: the progress bar of long-running `charta` verbs (see charta-progress.h).
 *
 * The line is written whole with one fputs() and flushed, so a reader never sees half a bar;
 * "\033[K" clears what a longer previous line left behind.  The rate is the resources written
 * over the whole run so far, which is steadier than a windowed rate for imports that alternate
 * between large and small files.
 */
#define G_LOG_DOMAIN "charta-progress"

#include <string.h>

#include "charta-progress.h"

#define REDRAW_INTERVAL_US (G_USEC_PER_SEC / 10)
#define BAR_WIDTH          20

struct _ChartaProgress
{
  GMutex mutex;
  FILE *stream;
  gboolean enabled;
  gboolean shown;         /* the bar is on screen (the cursor is at the end of its line) */
  int64_t start_us;       /* monotonic time of charta_progress_new() */
  int64_t last_draw_us;   /* monotonic time of the last draw, 0 before the first */
  uint64_t total_files;
  uint64_t total_bytes;
  uint64_t files;
  uint64_t bytes;
  uint64_t resources;
};

ChartaProgress *
charta_progress_new (FILE     *stream,
                     gboolean  enabled)
{
  ChartaProgress *self = g_new0 (ChartaProgress, 1);

  g_mutex_init (&self->mutex);
  self->stream = stream;
  self->enabled = enabled;
  self->start_us = g_get_monotonic_time ();
  return self;
}

void
charta_progress_free (ChartaProgress *self)
{
  if (self == NULL)
    return;
  g_mutex_clear (&self->mutex);
  g_free (self);
}

gboolean
charta_progress_is_enabled (ChartaProgress *self)
{
  return self->enabled;
}

/* 12345 -> "12,345" into @buf. */
static void
format_count (char     *buf,
              size_t    size,
              uint64_t  n)
{
  char digits[32];
  size_t len, out = 0;

  g_snprintf (digits, sizeof digits, "%" G_GUINT64_FORMAT, n);
  len = strlen (digits);
  for (size_t i = 0; i < len && out + 1 < size; i++)
    {
      if (i > 0 && (len - i) % 3 == 0 && out + 2 < size)
        buf[out++] = ',';
      buf[out++] = digits[i];
    }
  buf[out] = '\0';
}

/* Seconds -> "0:42", "12:05" or "3:02:01". */
static void
format_duration (char   *buf,
                 size_t  size,
                 double  seconds)
{
  uint64_t s = seconds > 0 ? (uint64_t) (seconds + 0.5) : 0;

  if (s >= 3600)
    g_snprintf (buf, size, "%" G_GUINT64_FORMAT ":%02u:%02u", s / 3600,
                (unsigned) (s / 60 % 60), (unsigned) (s % 60));
  else
    g_snprintf (buf, size, "%u:%02u", (unsigned) (s / 60), (unsigned) (s % 60));
}

/* Called with the mutex held. */
static void
draw (ChartaProgress *self,
      int64_t         now)
{
  double elapsed = (double) (now - self->start_us) / G_USEC_PER_SEC;
  double fraction = 0;
  char bar[BAR_WIDTH + 1];
  char resources[32], rate[32], eta[32];
  char line[256];
  unsigned filled;

  if (self->total_bytes > 0)
    fraction = (double) self->bytes / (double) self->total_bytes;
  else if (self->total_files > 0)
    fraction = (double) self->files / (double) self->total_files;
  fraction = CLAMP (fraction, 0.0, 1.0);

  filled = (unsigned) (fraction * BAR_WIDTH + 0.5);
  for (unsigned i = 0; i < BAR_WIDTH; i++)
    bar[i] = i < filled ? '#' : '-';
  bar[BAR_WIDTH] = '\0';

  format_count (resources, sizeof resources, self->resources);
  format_count (rate, sizeof rate,
                elapsed > 0.05 ? (uint64_t) (self->resources / elapsed) : 0);
  if (fraction > 0.001 && fraction < 1.0 && elapsed > 0.5)
    format_duration (eta, sizeof eta, elapsed * (1.0 - fraction) / fraction);
  else if (fraction >= 1.0)
    format_duration (eta, sizeof eta, 0);
  else
    g_strlcpy (eta, "-:--", sizeof eta);

  g_snprintf (line, sizeof line,
              "\r[%s] %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " files  %s resources  "
              "%s/s  ETA %s\033[K",
              bar, self->files, self->total_files, resources, rate, eta);
  fputs (line, self->stream);
  fflush (self->stream);
  self->shown = TRUE;
  self->last_draw_us = now;
}

void
charta_progress_set_total (ChartaProgress *self,
                           uint64_t        files,
                           uint64_t        bytes)
{
  g_mutex_lock (&self->mutex);
  self->total_files = files;
  self->total_bytes = bytes;
  g_mutex_unlock (&self->mutex);
}

void
charta_progress_add (ChartaProgress *self,
                     uint64_t        files,
                     uint64_t        bytes,
                     uint64_t        resources)
{
  g_mutex_lock (&self->mutex);
  self->files += files;
  self->bytes += bytes;
  self->resources += resources;
  if (self->enabled)
    {
      int64_t now = g_get_monotonic_time ();

      if (self->last_draw_us == 0 || now - self->last_draw_us >= REDRAW_INTERVAL_US)
        draw (self, now);
    }
  g_mutex_unlock (&self->mutex);
}

void
charta_progress_print (ChartaProgress *self,
                       const char     *line)
{
  g_mutex_lock (&self->mutex);
  if (self->shown)
    {
      fputs ("\r\033[K", self->stream);
      self->shown = FALSE;
      /* redraw at the next count, however recent the last draw */
      self->last_draw_us = 0;
    }
  fputs (line, self->stream);
  fputc ('\n', self->stream);
  fflush (self->stream);
  g_mutex_unlock (&self->mutex);
}

void
charta_progress_finish (ChartaProgress *self)
{
  g_mutex_lock (&self->mutex);
  if (self->enabled)
    {
      draw (self, g_get_monotonic_time ());
      fputc ('\n', self->stream);
      fflush (self->stream);
      self->shown = FALSE;
    }
  g_mutex_unlock (&self->mutex);
}

double
charta_progress_get_elapsed (ChartaProgress *self)
{
  return (double) (g_get_monotonic_time () - self->start_us) / G_USEC_PER_SEC;
}
