/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-server-errors.c: from a GError to an HTTP status and an OperationOutcome.
 *
 * One table says, for every error domain and code that can reach the endpoint, which HTTP
 * status answers it and which FHIR issue-type code (http://hl7.org/fhir/issue-type) names it,
 * following http.html of FHIR R4: 400 for a request that cannot be read, 401 for one without
 * the access token (issue code "login"), 404 for what does not exist, 410 for what was
 * deleted, 412 for a failed precondition, 422 for a resource the rules refuse, 5xx for the
 * server's own trouble.  A second column gives the status when the error came from a search
 * query or a conditional interaction's criteria: then what is wrong is the URL, which is 400
 * even where the same error about a body would be 422.  Errors that no row names are 500
 * "exception" (and logged, without the message, which may quote a value).
 *
 * The diagnostics of the issue is the error's message, which names the element and value but
 * never holds a whole resource; its expression is the element path that a fhir/ error's
 * message starts with ("Patient.name[1]: …"), when it does.  A resource the store refuses as
 * invalid gets one issue per problem instead, each with its own expression
 * (charta_server_validation_outcome()).
 */
#define G_LOG_DOMAIN "charta-server"

#include <string.h>

#include "charta-server-private.h"

G_DEFINE_QUARK (charta-server-error-quark, charta_server_error)

typedef struct
{
  GQuark      (*domain) (void);
  int          code;
  unsigned     status;        /* for the request's resource or interaction */
  unsigned     query_status;  /* for a search query or conditional criteria (0: as @status) */
  const char  *issue_code;
  ChartaIssueSeverity severity;
} ErrorRow;

static const ErrorRow error_table[] = {
  /* the endpoint's own */
  { charta_server_error_quark, CHARTA_SERVER_ERROR_BAD_REQUEST, 400, 0, "invalid",
    CHARTA_ISSUE_ERROR },
  { charta_server_error_quark, CHARTA_SERVER_ERROR_NOT_FOUND, 404, 0, "not-found",
    CHARTA_ISSUE_ERROR },
  { charta_server_error_quark, CHARTA_SERVER_ERROR_METHOD_NOT_ALLOWED, 405, 0, "not-supported",
    CHARTA_ISSUE_ERROR },
  { charta_server_error_quark, CHARTA_SERVER_ERROR_NOT_ACCEPTABLE, 406, 0, "not-supported",
    CHARTA_ISSUE_ERROR },
  { charta_server_error_quark, CHARTA_SERVER_ERROR_CONFLICT, 409, 0, "conflict",
    CHARTA_ISSUE_ERROR },
  { charta_server_error_quark, CHARTA_SERVER_ERROR_PRECONDITION_FAILED, 412, 0, "conflict",
    CHARTA_ISSUE_ERROR },
  { charta_server_error_quark, CHARTA_SERVER_ERROR_TOO_LARGE, 413, 0, "too-costly",
    CHARTA_ISSUE_FATAL },
  { charta_server_error_quark, CHARTA_SERVER_ERROR_URI_TOO_LONG, 414, 0, "too-long",
    CHARTA_ISSUE_FATAL },
  { charta_server_error_quark, CHARTA_SERVER_ERROR_UNSUPPORTED_MEDIA_TYPE, 415, 0,
    "not-supported", CHARTA_ISSUE_FATAL },
  { charta_server_error_quark, CHARTA_SERVER_ERROR_UNPROCESSABLE, 422, 0, "processing",
    CHARTA_ISSUE_ERROR },
  { charta_server_error_quark, CHARTA_SERVER_ERROR_HEADERS_TOO_LARGE, 431, 0, "too-long",
    CHARTA_ISSUE_FATAL },
  { charta_server_error_quark, CHARTA_SERVER_ERROR_INTERNAL, 500, 0, "exception",
    CHARTA_ISSUE_FATAL },
  { charta_server_error_quark, CHARTA_SERVER_ERROR_NOT_IMPLEMENTED, 501, 0, "not-supported",
    CHARTA_ISSUE_ERROR },
  { charta_server_error_quark, CHARTA_SERVER_ERROR_UNAVAILABLE, 503, 0, "transient",
    CHARTA_ISSUE_FATAL },
  { charta_server_error_quark, CHARTA_SERVER_ERROR_UNKNOWN_OPERATION, 404, 0, "not-supported",
    CHARTA_ISSUE_ERROR },
  { charta_server_error_quark, CHARTA_SERVER_ERROR_UNAUTHORIZED, 401, 0, "login",
    CHARTA_ISSUE_ERROR },

  /* the store */
  { charta_store_error_quark, CHARTA_STORE_ERROR_NOT_FOUND, 404, 0, "not-found",
    CHARTA_ISSUE_ERROR },
  { charta_store_error_quark, CHARTA_STORE_ERROR_GONE, 410, 0, "deleted", CHARTA_ISSUE_ERROR },
  { charta_store_error_quark, CHARTA_STORE_ERROR_CONFLICT, 412, 0, "conflict",
    CHARTA_ISSUE_ERROR },
  { charta_store_error_quark, CHARTA_STORE_ERROR_INVALID, 422, 400, "invalid",
    CHARTA_ISSUE_ERROR },
  { charta_store_error_quark, CHARTA_STORE_ERROR_UNRESOLVED, 400, 0, "not-found",
    CHARTA_ISSUE_ERROR },
  { charta_store_error_quark, CHARTA_STORE_ERROR_READ_ONLY, 405, 0, "not-supported",
    CHARTA_ISSUE_ERROR },
  { charta_store_error_quark, CHARTA_STORE_ERROR_CORRUPT, 500, 0, "exception",
    CHARTA_ISSUE_FATAL },
  { charta_store_error_quark, CHARTA_STORE_ERROR_VERSION, 500, 0, "exception",
    CHARTA_ISSUE_FATAL },
  { charta_store_error_quark, CHARTA_STORE_ERROR_IO, 500, 0, "exception", CHARTA_ISSUE_FATAL },
  { charta_store_error_quark, CHARTA_STORE_ERROR_CLOSED, 503, 0, "transient",
    CHARTA_ISSUE_FATAL },
  { charta_store_error_quark, CHARTA_STORE_ERROR_UNSUPPORTED, 400, 0, "not-supported",
    CHARTA_ISSUE_ERROR },
  { charta_store_error_quark, CHARTA_STORE_ERROR_TIMEOUT, 503, 0, "too-costly",
    CHARTA_ISSUE_ERROR },

  /* fhir/: reading bodies and queries */
  { charta_fhir_error_quark, CHARTA_FHIR_ERROR_TOO_LARGE, 413, 400, "too-costly",
    CHARTA_ISSUE_FATAL },
  { charta_fhir_error_quark, CHARTA_FHIR_ERROR_TOO_DEEP, 400, 0, "structure",
    CHARTA_ISSUE_FATAL },
  { charta_fhir_error_quark, CHARTA_FHIR_ERROR_INVALID_UTF8, 400, 0, "structure",
    CHARTA_ISSUE_FATAL },
  { charta_fhir_error_quark, CHARTA_FHIR_ERROR_MALFORMED, 400, 0, "structure",
    CHARTA_ISSUE_FATAL },
  { charta_fhir_error_quark, CHARTA_FHIR_ERROR_DUPLICATE_KEY, 400, 0, "structure",
    CHARTA_ISSUE_FATAL },
  { charta_fhir_error_quark, CHARTA_FHIR_ERROR_NOT_RESOURCE, 400, 0, "structure",
    CHARTA_ISSUE_FATAL },
  { charta_fhir_error_quark, CHARTA_FHIR_ERROR_INVALID, 422, 400, "invalid",
    CHARTA_ISSUE_ERROR },
  { charta_fhir_error_quark, CHARTA_FHIR_ERROR_FHIRPATH_SYNTAX, 400, 0, "invalid",
    CHARTA_ISSUE_ERROR },
  { charta_fhir_error_quark, CHARTA_FHIR_ERROR_FHIRPATH_EVAL, 422, 400, "processing",
    CHARTA_ISSUE_ERROR },
  { charta_fhir_error_quark, CHARTA_FHIR_ERROR_UNSUPPORTED, 400, 0, "not-supported",
    CHARTA_ISSUE_ERROR },
  { charta_fhir_error_quark, CHARTA_FHIR_ERROR_UNKNOWN_PARAMETER, 400, 0, "not-supported",
    CHARTA_ISSUE_ERROR },
};

unsigned
charta_server_error_status (const GError             *error,
                            ChartaServerErrorContext  context,
                            const char              **issue_code,
                            ChartaIssueSeverity      *severity)
{
  g_return_val_if_fail (error != NULL, 500);

  for (size_t i = 0; i < G_N_ELEMENTS (error_table); i++)
    {
      const ErrorRow *row = &error_table[i];

      if (error->domain != row->domain () || error->code != row->code)
        continue;
      if (issue_code != NULL)
        *issue_code = row->issue_code;
      if (severity != NULL)
        *severity = row->severity;
      if (context == CHARTA_SERVER_CONTEXT_QUERY && row->query_status != 0)
        return row->query_status;
      return row->status;
    }

  /* Only the domain and code: the message may quote a value from the request. */
  g_warning ("no HTTP status for error %s %d: answering 500", g_quark_to_string (error->domain),
             error->code);
  if (issue_code != NULL)
    *issue_code = "exception";
  if (severity != NULL)
    *severity = CHARTA_ISSUE_FATAL;
  return 500;
}

/* The element path that @error's message names, as fhir/ reads it (charta_outcome_add_error():
 * only its own errors name one), or NULL. */
static char *
dup_expression (const GError *error)
{
  g_autoptr(ChartaOutcome) scratch = NULL;

  if (error->domain != CHARTA_FHIR_ERROR)
    return NULL;
  scratch = charta_outcome_new ();
  charta_outcome_add_error (scratch, error);
  return g_strdup (charta_outcome_get_issue (scratch, 0)->expression);
}

GBytes *
charta_server_error_to_outcome (const GError             *error,
                                ChartaServerErrorContext  context,
                                gboolean                  pretty,
                                unsigned                 *status)
{
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  g_autofree char *expression = NULL;
  const char *issue_code = NULL;
  ChartaIssueSeverity severity = CHARTA_ISSUE_ERROR;
  unsigned code;
  char *json;

  g_return_val_if_fail (error != NULL, NULL);

  code = charta_server_error_status (error, context, &issue_code, &severity);
  expression = dup_expression (error);
  charta_outcome_add (outcome, severity, issue_code, expression, "%s", error->message);
  json = charta_outcome_to_json (outcome, pretty);
  if (status != NULL)
    *status = code;
  return g_bytes_new_take (json, strlen (json));
}

ChartaOutcome *
charta_server_validation_outcome (ChartaResource *resource,
                                  const GError   *error,
                                  const char     *within,
                                  const char     *prefix,
                                  unsigned       *status)
{
  g_autoptr(ChartaOutcome) found = NULL;
  g_autoptr(ChartaOutcome) outcome = NULL;
  g_autoptr(GString) listed = NULL;
  const char *issue_code = NULL;
  ChartaIssueSeverity severity = CHARTA_ISSUE_ERROR;
  unsigned n;

  g_return_val_if_fail (error != NULL, NULL);
  g_return_val_if_fail (status != NULL, NULL);

  if (resource == NULL
      || (!g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID)
          && !g_error_matches (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID)))
    return NULL;
  found = charta_outcome_new ();
  if (charta_validate_resource (resource, found))
    return NULL;  /* refused for another reason: an id, a type */

  /* The refusal's message ends with charta_validate()'s, the errors one per line: when it does
   * not, the validator's errors are not what was refused (@resource is not what was written). */
  n = charta_outcome_get_n_issues (found);
  listed = g_string_new (NULL);
  for (unsigned i = 0; i < n; i++)
    {
      const ChartaIssue *issue = charta_outcome_get_issue (found, i);

      if (issue->severity != CHARTA_ISSUE_ERROR && issue->severity != CHARTA_ISSUE_FATAL)
        continue;
      if (listed->len > 0)
        g_string_append_c (listed, '\n');
      g_string_append (listed, issue->diagnostics);
    }
  if (!g_str_has_suffix (error->message, listed->str))
    return NULL;

  *status = charta_server_error_status (error, CHARTA_SERVER_CONTEXT_DEFAULT, &issue_code,
                                        &severity);
  outcome = charta_outcome_new ();
  for (unsigned i = 0; i < n; i++)
    {
      const ChartaIssue *issue = charta_outcome_get_issue (found, i);
      g_autofree char *expression = NULL;

      if (issue->severity != CHARTA_ISSUE_ERROR && issue->severity != CHARTA_ISSUE_FATAL)
        continue;
      if (within != NULL && issue->expression != NULL)
        expression = g_strconcat (within, issue->expression + strcspn (issue->expression, ".["),
                                  NULL);
      else
        expression = g_strdup (issue->expression);
      charta_outcome_add (outcome, severity, issue_code, expression, "%s%s",
                          prefix != NULL ? prefix : "", issue->diagnostics);
    }
  return g_steal_pointer (&outcome);
}
