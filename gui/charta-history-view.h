/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-history-view.h: ChartaHistoryView, every version of a resource and what changed.
 *
 * Lists the versions of a resource newest first (GET [type]/[id]/_history), each with when,
 * who, the activity and the reason of its Provenance: the Provenance whose target names that
 * exact version ("[type]/[id]/_history/[n]"), found with Provenance?target=[type]/[id].  Below,
 * the field-level difference (charta-diff.h) between two versions chosen in two drop-downs,
 * the newest and the one before it at first: element paths with the old and new values side by
 * side, additions and removals marked in words and colour.  Activating a version compares it
 * with the one before it.
 *
 * Reading is asynchronous (both searches at once, following their next links); showing
 * another resource cancels what is still being read.
 */
#pragma once

#include <adwaita.h>

#include "charta-client.h"

G_BEGIN_DECLS

#define CHARTA_TYPE_HISTORY_VIEW (charta_history_view_get_type ())
G_DECLARE_FINAL_TYPE (ChartaHistoryView, charta_history_view, CHARTA, HISTORY_VIEW, AdwBin)

GtkWidget  *charta_history_view_new           (void);

/* The server to read from; setting another clears the view. */
void        charta_history_view_set_client    (ChartaHistoryView *self,
                                               ChartaClient      *client);

/* Reads and shows the history of @reference ("Observation/obs-1"), whose readable name is
 * @title ("Body weight"; NULL: the reference). */
void        charta_history_view_show          (ChartaHistoryView *self,
                                               const char        *reference,
                                               const char        *title);
const char *charta_history_view_get_reference (ChartaHistoryView *self);

/* How many versions are listed (0 until read). */
unsigned    charta_history_view_get_n_versions (ChartaHistoryView *self);

/* Compares version @old_version with @new_version (versionIds, "1", "2"); FALSE when either is
 * not listed. */
gboolean    charta_history_view_compare       (ChartaHistoryView *self,
                                               const char        *old_version,
                                               const char        *new_version);

/* Whether the versions and their Provenance have been read (or failed). */
gboolean    charta_history_view_is_loaded     (ChartaHistoryView *self);

G_END_DECLS
