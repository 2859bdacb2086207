/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-outcome.h: a list of issues, and the OperationOutcome resource made from it.
 *
 * Validation appends every problem it finds to a ChartaOutcome (it does not stop at the
 * first); errors from any layer are turned into issues with charta_outcome_add_error().  The
 * server will answer with charta_outcome_to_json().
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum
{
  CHARTA_ISSUE_FATAL,
  CHARTA_ISSUE_ERROR,
  CHARTA_ISSUE_WARNING,
  CHARTA_ISSUE_INFORMATION,
} ChartaIssueSeverity;

typedef struct
{
  ChartaIssueSeverity severity;
  char *code;        /* FHIR issue-type code: "structure", "required", "value", "invariant",
                      * "code-invalid", "invalid", "too-costly", "not-supported", "exception" */
  char *expression;  /* element path ("Patient.birthDate", "Bundle.entry[2].resource"), or NULL */
  char *diagnostics; /* the message for a person: names the element and the value */
} ChartaIssue;

#define CHARTA_TYPE_OUTCOME (charta_outcome_get_type ())

typedef struct _ChartaOutcome ChartaOutcome;

GType          charta_outcome_get_type      (void) G_GNUC_CONST;
ChartaOutcome *charta_outcome_new           (void);
ChartaOutcome *charta_outcome_ref           (ChartaOutcome       *self);
void           charta_outcome_unref         (ChartaOutcome       *self);

void           charta_outcome_add           (ChartaOutcome       *self,
                                             ChartaIssueSeverity  severity,
                                             const char          *code,
                                             const char          *expression,
                                             const char          *format,
                                             ...) G_GNUC_PRINTF (5, 6);
/* Adds @error as an issue, mapping its domain and code to an issue type. */
void           charta_outcome_add_error     (ChartaOutcome       *self,
                                             const GError        *error);
unsigned       charta_outcome_get_n_issues  (ChartaOutcome       *self);
const ChartaIssue *charta_outcome_get_issue (ChartaOutcome       *self,
                                             unsigned             index);
/* Number of issues of severity error or fatal. */
unsigned       charta_outcome_count_errors  (ChartaOutcome       *self);
gboolean       charta_outcome_has_errors    (ChartaOutcome       *self);
/* The OperationOutcome resource (compact JSON unless @pretty). */
char          *charta_outcome_to_json       (ChartaOutcome       *self,
                                             gboolean             pretty);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaOutcome, charta_outcome_unref)

G_END_DECLS
