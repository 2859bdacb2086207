/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-progress.h: the progress bar of long-running `charta` verbs (import).
 *
 * On a terminal the bar is one line on the given stream, redrawn in place with "\r" at most
 * ten times a second: files done of the total, resources written, the rate, and an estimate of
 * the time left (from the bytes done of the total bytes).  When the stream is not a terminal
 * nothing is drawn at all; the caller prints its own summary at the end.
 *
 * Any thread may call any function: a mutex keeps the counters and the drawing consistent.
 * Messages (errors) printed while the bar is shown go through charta_progress_print(), which
 * clears the bar line first so the message stands on its own line; the bar comes back at the
 * next redraw.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ChartaProgress ChartaProgress;

/* @enabled: draw the bar on @stream (pass isatty (fileno (stream))). */
ChartaProgress *charta_progress_new          (FILE           *stream,
                                              gboolean        enabled);
void            charta_progress_free         (ChartaProgress *self);

gboolean        charta_progress_is_enabled   (ChartaProgress *self);

/* The work to do: number of files and their total size in bytes. */
void            charta_progress_set_total    (ChartaProgress *self,
                                              uint64_t        files,
                                              uint64_t        bytes);
/* Counts work done (any argument may be 0) and redraws when the last draw is 100 ms old. */
void            charta_progress_add          (ChartaProgress *self,
                                              uint64_t        files,
                                              uint64_t        bytes,
                                              uint64_t        resources);
/* Prints @line (a newline is added) on the stream, clearing the bar first. */
void            charta_progress_print        (ChartaProgress *self,
                                              const char     *line);
/* Draws the final state and ends the bar's line (nothing when not enabled). */
void            charta_progress_finish       (ChartaProgress *self);
/* Seconds since charta_progress_new(). */
double          charta_progress_get_elapsed  (ChartaProgress *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaProgress, charta_progress_free)

G_END_DECLS
