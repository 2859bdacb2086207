/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-server-errors.c: from a GError to an HTTP status and an OperationOutcome.
 *
 * One table says, for every error domain and code that can reach the endpoint, which HTTP
 * status answers it and which FHIR issue-type code (http://hl7.org/fhir/issue-type) names it,
 * following http.html of FHIR R4: 400 for a request that cannot be read, 404 for what does not
 * exist, 410 for what was deleted, 412 for a failed precondition, 422 for a resource the rules
 * refuse, 5xx for the server's own trouble.  A second column gives the status when the error
 * came from a search query or a conditional interaction's criteria: then what is wrong is the
 * URL, which is 400 even where the same error about a body would be 422.  Errors that no row
 * names are 500 "exception" (and logged, without the message, which may quote a value).
 *
 * The diagnostics of the issue is the error's message, which names the element and value but
 * never holds a whole resource.
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

GBytes *
charta_server_error_to_outcome (const GError             *error,
                                ChartaServerErrorContext  context,
                                gboolean                  pretty,
                                unsigned                 *status)
{
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  const char *issue_code = NULL;
  ChartaIssueSeverity severity = CHARTA_ISSUE_ERROR;
  unsigned code;
  char *json;

  g_return_val_if_fail (error != NULL, NULL);

  code = charta_server_error_status (error, context, &issue_code, &severity);
  charta_outcome_add (outcome, severity, issue_code, NULL, "%s", error->message);
  json = charta_outcome_to_json (outcome, pretty);
  if (status != NULL)
    *status = code;
  return g_bytes_new_take (json, strlen (json));
}
