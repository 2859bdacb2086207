/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-correction-dialog.h: ChartaCorrectionDialog, correcting a record the HIM way.
 *
 * A correction is never a silent overwrite.  The dialog asks for the kind of change and a
 * reason, both required before Save can be pressed, and offers a form for the common cases:
 * an Observation's value, unit and status; a Patient's name, birth date, sex and MRN; a
 * Condition's clinical status and onset; an AllergyIntolerance's clinical status, verification
 * and criticality; a MedicationRequest's status.  Any other record (but a Provenance, an
 * AuditEvent or a Binary) is edited as JSON in a ChartaJsonEditor, checked as it is typed.
 * "Entered in error" needs no form: it marks the record (its status; a Condition's or an
 * AllergyIntolerance's verificationStatus, whose clinicalStatus then goes, as FHIR's con-5
 * and ait-2 require), and the record stays in the chart, struck through.
 *
 * Save is a versioned update: PUT with "If-Match" of the version being edited and an
 * "X-Provenance" naming the user (agent), the kind of change (activity, see
 * charta_change_kind_get_activity()) and the reason, so the server records a new version and
 * its Provenance.  Only the fields the user changed are written into the record; a generated
 * narrative, which would no longer be true, is dropped; every number nobody changed keeps its
 * digits (charta-json-text.h).  On success the dialog emits "saved" with the version the
 * server stored, and closes.
 *
 * Nothing typed is lost.  When someone else saved a newer version first (412), the dialog says
 * so in plain words and offers "Reload and Reapply": their version is read, what they changed
 * is listed, fields the user left alone take their values, fields the user changed keep what
 * was typed, and the next Save asks for their version.  When the server refuses the content
 * (422), its OperationOutcome is shown next to the field that the expression (or its
 * diagnostics' element path) names, else above the form; in the JSON, at the element.  A network failure leaves the form as
 * it was.  Closing with unsaved entries asks first.
 */
#pragma once

#include <adwaita.h>

#include "charta-client.h"

G_BEGIN_DECLS

/* The kinds of change, and the Provenance activity each one is recorded as (the codes that
 * the server's ChartaChange knows: v3 DataOperation or ISO 21089 lifecycle). */
typedef enum
{
  CHARTA_CHANGE_KIND_NONE,              /* not chosen yet */
  CHARTA_CHANGE_KIND_CORRECTION,        /* amend (ISO 21089) */
  CHARTA_CHANGE_KIND_ADDENDUM,          /* APPEND (v3 DataOperation) */
  CHARTA_CHANGE_KIND_LATE_ENTRY,        /* originate (ISO 21089) */
  CHARTA_CHANGE_KIND_ENTERED_IN_ERROR,  /* NULLIFY (v3 DataOperation) */
  CHARTA_CHANGE_KIND_ADMINISTRATIVE,    /* UPDATE (v3 DataOperation) */
} ChartaChangeKind;

/* The activity code of @kind ("amend"); NULL for CHARTA_CHANGE_KIND_NONE. */
const char *charta_change_kind_get_activity (ChartaChangeKind kind);

#define CHARTA_TYPE_CORRECTION_DIALOG (charta_correction_dialog_get_type ())
G_DECLARE_FINAL_TYPE (ChartaCorrectionDialog, charta_correction_dialog, CHARTA,
                      CORRECTION_DIALOG, AdwWindow)

/* Whether the dialog has a form for resources of @type (Observation, Patient, Condition). */
gboolean                charta_correction_dialog_can_edit (const char *type);

/* A dialog, modal for @parent, that corrects @resource (the version shown to the user, as
 * read with charta_client_get_resource_async(); @number_texts, its numbers' texts, may be
 * NULL) through @client.  The Provenance of the change names @agent_reference (may be NULL)
 * and @agent_display. */
ChartaCorrectionDialog *charta_correction_dialog_new      (GtkWindow    *parent,
                                                           ChartaClient *client,
                                                           JsonNode     *resource,
                                                           GHashTable   *number_texts,
                                                           const char   *agent_reference,
                                                           const char   *agent_display);

/* The version being edited (borrowed): the one given, or the one "Reload and Reapply" read. */
JsonNode               *charta_correction_dialog_get_base (ChartaCorrectionDialog *self);
ChartaChangeKind        charta_correction_dialog_get_kind (ChartaCorrectionDialog *self);
/* Whether a save or a reload is under way. */
gboolean                charta_correction_dialog_is_busy  (ChartaCorrectionDialog *self);

G_END_DECLS
