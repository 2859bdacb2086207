/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-index-dialog.h: ChartaIndexDialog, re-indexing a document filed in the wrong place.
 *
 * A modal window with the index form (ChartaIndexForm) filled in from the document as it is
 * filed now, and a reason that is required ("Filed to the wrong patient").  "Re-index" can be
 * pressed once the form is complete and the placement differs from the current one; it saves a
 * new version of the DocumentReference (PUT with "If-Match" of the version shown and an
 * "X-Provenance" naming the user, activity UPDATE, and the reason), so the old placement stays
 * in the document's history.  On success the dialog emits "saved" with the version stored, and
 * closes.  When someone else saved a newer version first (412), it says so and offers to read
 * that version: the form keeps what the user chose, and the next save asks for the new
 * version.  Other failures are said in plain words and leave the form as it was.  Escape and
 * Cancel close it without saving.
 */
#pragma once

#include <adwaita.h>

#include "charta-client.h"

G_BEGIN_DECLS

/* The activity of a filing or a re-index in its Provenance (v3 DataOperation): the document's
 * record is updated, nothing in it is corrected. */
#define CHARTA_INDEX_ACTIVITY "UPDATE"

#define CHARTA_TYPE_INDEX_DIALOG (charta_index_dialog_get_type ())
G_DECLARE_FINAL_TYPE (ChartaIndexDialog, charta_index_dialog, CHARTA, INDEX_DIALOG, AdwWindow)

/* A dialog, modal for @parent, that re-indexes @document (a DocumentReference as read)
 * through @client; the Provenance names @agent_reference (may be NULL) and @agent_display. */
ChartaIndexDialog *charta_index_dialog_new       (GtkWindow         *parent,
                                                  ChartaClient      *client,
                                                  JsonNode          *document,
                                                  const char        *agent_reference,
                                                  const char        *agent_display);

/* The dialog's form. */
GtkWidget         *charta_index_dialog_get_form  (ChartaIndexDialog *self);
/* Saves, as the Re-index button does (nothing when it cannot be pressed). */
void               charta_index_dialog_save      (ChartaIndexDialog *self);
/* Whether the Re-index button can be pressed. */
gboolean           charta_index_dialog_can_save  (ChartaIndexDialog *self);
/* Whether a save or a reload is under way. */
gboolean           charta_index_dialog_is_busy   (ChartaIndexDialog *self);

G_END_DECLS
