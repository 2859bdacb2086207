/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-resource-view.h: ChartaResourceView, one resource in readable labels.
 *
 * Shows the current version of a resource ("Observation/obs-1") as labelled values, never raw
 * JSON: the common types (Observation, Condition, MedicationRequest, AllergyIntolerance,
 * Immunization, Patient) with their elements in the order a reader expects, and every other
 * element under "Other details" by a generic reading.  The JSON as the server sent it is one
 * toggle away ("Raw JSON").  The last change is shown from the Provenance of the version on
 * screen (when, who, activity, reason); a record entered in error says so first, with its
 * reason.  The "History" button emits "show-history"; "Edit…" emits "edit" (only for the types
 * that the correction dialog has a form for, see charta_correction_dialog_can_edit()).
 *
 * Reading is asynchronous; showing another resource cancels what is still being read.
 */
#pragma once

#include <adwaita.h>

#include "charta-client.h"

G_BEGIN_DECLS

#define CHARTA_TYPE_RESOURCE_VIEW (charta_resource_view_get_type ())
G_DECLARE_FINAL_TYPE (ChartaResourceView, charta_resource_view, CHARTA, RESOURCE_VIEW, AdwBin)

GtkWidget    *charta_resource_view_new           (void);

/* The server to read from; setting another clears the view. */
void          charta_resource_view_set_client    (ChartaResourceView *self,
                                                  ChartaClient       *client);

/* Reads and shows @reference ("Observation/obs-1"; NULL: nothing). */
void          charta_resource_view_show          (ChartaResourceView *self,
                                                  const char         *reference);
/* Reads the resource on screen again. */
void          charta_resource_view_reload        (ChartaResourceView *self);

const char   *charta_resource_view_get_reference (ChartaResourceView *self);
/* The version on screen (borrowed), or NULL until it has been read. */
JsonNode     *charta_resource_view_get_resource  (ChartaResourceView *self);
/* The texts of the numbers of the version on screen, as the server wrote them (borrowed; see
 * charta_client_get_resource_async()), or NULL until it has been read. */
GHashTable   *charta_resource_view_get_number_texts (ChartaResourceView *self);
/* What the resource is ("Body weight", "Sigrid Øvergaard"), for a title; NULL until read. */
const char   *charta_resource_view_get_title     (ChartaResourceView *self);
/* Whether the resource and the Provenance of its version have been read (or failed). */
gboolean      charta_resource_view_is_loaded     (ChartaResourceView *self);

G_END_DECLS
