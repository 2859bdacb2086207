/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-server-private.h: what the files of the REST endpoint share.
 *
 * A request is taken off the SoupServerMessage on the main context into a ChartaServerRequest
 * (method, path after the base, raw query, a copy of the headers, the body), handed to a worker
 * thread, answered there into the same struct (status, headers, body), and copied back onto the
 * message on the main context.  So the worker never touches the message, and libsoup objects
 * are used on the main context only (a SoupMessageHeaders copy is private to the request).
 *
 * charta-server.c: the object, HTTP, limits, routing, and the interactions on resources
 *                  (read, vread, create, update, patch, delete, search, history,
 *                  capabilities), Binary content streamed in and out.
 * charta-server-errors.c: GError → HTTP status and OperationOutcome issue code (one table).
 * charta-server-bundle.c: batch and transaction Bundles (POST [base]).
 * charta-server-ops.c: operations ($everything, $validate, $meta…).
 */
#pragma once

#include <libsoup/soup.h>

#include "charta-server.h"

G_BEGIN_DECLS

/* What Prefer: return= asks for in the response to a write. */
typedef enum
{
  CHARTA_RETURN_REPRESENTATION,  /* the default: the resource as stored */
  CHARTA_RETURN_MINIMAL,         /* no body */
  CHARTA_RETURN_OUTCOME,         /* an OperationOutcome about what was done */
} ChartaReturnPreference;

typedef struct _ChartaServerRequest ChartaServerRequest;

/* A raw Binary body being received (charta-server.c, "Binary content"). */
typedef struct _ChartaServerUpload ChartaServerUpload;

/* The default largest raw Binary body (POST/PUT Binary with a body other than a resource):
 * scans of up to 2 GB, and room. */
#define CHARTA_SERVER_DEFAULT_MAX_BINARY_SIZE (G_GUINT64_CONSTANT (4) << 30)

struct _ChartaServerRequest
{
  /* Set on the main context, read-only afterwards. */
  ChartaServer       *server;
  ChartaStore        *store;        /* the store the path resolved to */
  const char         *method;       /* interned by libsoup (SOUP_METHOD_GET…) */
  char               *path;         /* after the base and its '/': "Patient/7/_history" */
  char               *query;        /* the raw (percent-encoded) query, NULL when none */
  GHashTable         *params;       /* the query decoded: name → value (the last one given) */
  SoupMessageHeaders *headers;      /* a copy of the request's headers */
  GBytes             *body;         /* the request body (empty when none) */
  char               *base_url;     /* absolute: "http://127.0.0.1:8080/fhir" */
  char               *request_id;   /* X-Request-Id, echoed (or made up when absent) */
  size_t              max_body;     /* the body size limit when the request came */
  gboolean            nested;       /* an entry of a batch or transaction */

  /* Worked out on the worker. */
  gboolean            pretty;       /* _pretty=true */
  const char         *content_type; /* of a JSON response: application/fhir+json or
                                     * application/json */
  ChartaReturnPreference return_pref;
  gboolean            strict;       /* Prefer: handling=strict */

  ChartaServerUpload *upload;       /* POST/PUT Binary with raw content: its bytes (the body
                                     * is empty), NULL otherwise */

  /* The response, filled in by the worker. */
  unsigned            status;
  SoupMessageHeaders *response_headers;
  GBytes             *response_body;
  const char         *response_type;  /* Content-Type of @response_body */
  /* A streamed response (the content of a Binary) instead of @response_body: @response_prefix,
   * then what @response_stream gives (in base64 when @response_base64), then
   * @response_suffix, @response_length bytes in all; its headers (Content-Type…) are in
   * @response_headers. */
  GInputStream       *response_stream;
  GBytes             *response_prefix;
  GBytes             *response_suffix;
  gboolean            response_base64;
  goffset             response_length;
};

/* ---- charta-server.c: helpers for the handlers of every file ------------------------------ */

/* Answers @req by its method and path (after negotiation: _format, Prefer…). */
void     charta_server_route                    (ChartaServerRequest *req);
/* Frees what @req holds (not @req itself). */
void     charta_server_request_clear            (ChartaServerRequest *req);

/* Answers @status with @body (JSON: indented when _pretty asks; NULL for none). */
void     charta_server_request_respond_json     (ChartaServerRequest *req,
                                                 unsigned             status,
                                                 GBytes              *body);
/* Answers with the error's status (charta_server_error_status()) and an OperationOutcome. */
void     charta_server_request_respond_error    (ChartaServerRequest *req,
                                                 const GError        *error);
/* The same for the error of a write of @resource: when the store refused it as invalid, one
 * issue per problem, each naming its element (charta_server_validation_outcome()). */
void     charta_server_request_respond_write_error (ChartaServerRequest *req,
                                                    ChartaResource      *resource,
                                                    const GError        *error);
/* The same for an error in the search query or a conditional interaction's criteria. */
void     charta_server_request_respond_query_error (ChartaServerRequest *req,
                                                    const GError        *error);
/* Answers @status with @outcome as an OperationOutcome. */
void     charta_server_request_respond_outcome  (ChartaServerRequest *req,
                                                 unsigned             status,
                                                 ChartaOutcome       *outcome);
/* Sets (replaces) a response header. */
void     charta_server_request_set_header       (ChartaServerRequest *req,
                                                 const char          *name,
                                                 const char          *value);
/* A request header, NULL when absent (several of the same name: joined with ", "). */
const char *charta_server_request_get_header    (ChartaServerRequest *req,
                                                 const char          *name);

/* The ChartaChange of a write: the X-Provenance header (a Provenance resource as JSON) read
 * into agent, reason and activity; NULL without the header.  FALSE and @error
 * (CHARTA_SERVER_ERROR_BAD_REQUEST) when the header is not such a Provenance. */
gboolean charta_server_request_get_change       (ChartaServerRequest *req,
                                                 ChartaChange       **change,
                                                 GError             **error);

/* Parses the request body as a resource (Content-Type checked: 415 unless JSON), with the
 * server's limits.  NULL and @error on failure. */
ChartaResource *charta_server_request_parse_body (ChartaServerRequest *req,
                                                  GError             **error);

/* A patch (FHIR R4 http.html "patch"): a JSON Patch, as the text of an
 * application/json-patch+json body, or a FHIRPath Patch, a Parameters resource.  One of the
 * two is set. */
typedef struct
{
  GBytes         *json_patch;   /* the JSON Patch text */
  ChartaResource *parameters;   /* the FHIRPath Patch */
} ChartaServerPatch;

/* Frees what @patch holds (not @patch itself). */
void     charta_server_patch_clear              (ChartaServerPatch   *patch);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ChartaServerPatch, charta_server_patch_clear)

/* Reads the request body as a patch, by its Content-Type: application/json-patch+json is a
 * JSON Patch, FHIR JSON (or application/json) a FHIRPath Patch.  FALSE and @error:
 * CHARTA_SERVER_ERROR_UNSUPPORTED_MEDIA_TYPE for any other type (or none), BAD_REQUEST for no
 * body or a JSON body that is no Parameters resource, and the errors of reading a resource. */
gboolean charta_server_request_read_patch       (ChartaServerRequest *req,
                                                 ChartaServerPatch   *patch,
                                                 GError             **error);

/* @current with @patch applied (fhir/charta-patch.h), not yet validated: the store does that
 * as it writes.  NULL and @error when the patch fails: CHARTA_SERVER_ERROR_BAD_REQUEST for a
 * document that is no patch (not an array of operations, an op without its path, a malformed
 * JSON Pointer, a FHIRPath Patch operation without its parts…), UNPROCESSABLE for a patch that
 * cannot be applied to @current (no such element, a failed test, a value that does not fit, a
 * change of id); either way the message is the patch engine's, naming the operation, the path
 * and the value.  The engine's other errors (JSON syntax, FHIRPath syntax, limits) pass as
 * they are. */
ChartaResource *charta_server_apply_patch       (ChartaResource          *current,
                                                 const ChartaServerPatch *patch,
                                                 GError                 **error);

/* Appends @text as a JSON string (quoted, escaped). */
void     charta_server_append_json_string       (GString             *out,
                                                 const char          *text);

/* The matches of @criteria (the query of a conditional interaction, strict: an unknown
 * parameter is an error) on @type: *n_matches is 0, 1 or 2 (two or more), *id the first one's
 * id.  Criteria without any parameter are an error. */
gboolean charta_server_find_matches             (ChartaServerRequest *req,
                                                 const char          *type,
                                                 const char          *criteria,
                                                 unsigned            *n_matches,
                                                 char               **id,
                                                 GError             **error);

/* The raw query without its _cursor parameter ("" when nothing is left), for paging links. */
char    *charta_server_query_without_cursor     (const char          *query);
/* Appends a Bundle link {"relation":…,"url":"@base_url/@path?@params&_cursor=@cursor"}
 * (@cursor escaped; NULL for none). */
void     charta_server_append_link              (GString             *out,
                                                 const char          *relation,
                                                 const char          *base_url,
                                                 const char          *path,
                                                 const char          *params,
                                                 const char          *cursor);

/* @text as it may go to a log: control characters, '\', line and bidirectional marks and
 * bytes that are no UTF-8 escaped ("\x0a", "\u202e"), at most @max_length bytes of it ("…"
 * when cut).  For paths and methods from a request: what a client sends never reaches a log
 * as it is. */
char    *charta_server_dup_log_text             (const char          *text,
                                                 size_t               max_length);

/* Conditional interactions (create with If-None-Exist; update, patch and delete with
 * criteria; a transaction with conditional entries) search, then write: they hold this lock
 * across both, so that two of them cannot both find nothing and both create.  It is
 * recursive; g_autoptr(GRecMutexLocker) releases it.  NULL (nothing to hold) without a
 * server. */
GRecMutexLocker *charta_server_lock_conditional (ChartaServer        *self);

/* The largest raw Binary body (see CHARTA_SERVER_DEFAULT_MAX_BINARY_SIZE; also the server's
 * "max-binary-size" property); 0 means the default. */
void     charta_server_set_max_binary_size      (ChartaServer        *self,
                                                 guint64              bytes);
guint64  charta_server_get_max_binary_size      (ChartaServer        *self);

/* The Binary that an Attachment.url names, "Binary/id" relative or absolute under
 * @base_url: its id (newly allocated), NULL when it names none. */
char    *charta_server_binary_id_of_url         (const char          *url,
                                                 const char          *base_url);

/* Whether @id is a FHIR id: [A-Za-z0-9-.]{1,64}. */
gboolean charta_server_is_valid_id              (const char          *id);

/* W/"@version" */
char    *charta_server_format_etag              (int64_t              version);
/* The version in an ETag or If-Match value (W/"3", "3"); 0 and @error when it is none. */
int64_t  charta_server_parse_etag               (const char          *value,
                                                 GError             **error);
/* meta.lastUpdated of a stored body, without parsing it (canonical JSON puts the resource's
 * own meta before any nested one); NULL when it has none. */
GDateTime *charta_server_stored_last_updated    (GBytes              *json);

/* ---- charta-server-errors.c --------------------------------------------------------------- */

typedef enum
{
  CHARTA_SERVER_CONTEXT_DEFAULT,  /* the request's resource or interaction */
  CHARTA_SERVER_CONTEXT_QUERY,    /* a search query, or the criteria of a conditional
                                   * interaction: what is wrong is the URL, so 400 */
} ChartaServerErrorContext;

/* The HTTP status, FHIR issue code and severity of @error. */
unsigned charta_server_error_status             (const GError             *error,
                                                 ChartaServerErrorContext  context,
                                                 const char              **issue_code,
                                                 ChartaIssueSeverity      *severity);
/* An OperationOutcome with one issue for @error (JSON bytes; indented when @pretty). */
GBytes  *charta_server_error_to_outcome         (const GError             *error,
                                                 ChartaServerErrorContext  context,
                                                 gboolean                  pretty,
                                                 unsigned                 *status);
/* When @error is the refusal of @resource as invalid (the store's, or fhir/'s): an outcome
 * with one issue per error the validator finds in @resource, each with the element's path as
 * its expression ("Observation.valueQuantity.value", "Patient.name[0].given[1]") and the
 * status (*status) and issue code of @error's row.  @within (NULL: none) is where @resource
 * sits in the request ("Bundle.entry[2].resource"): it stands for the type name at the start
 * of each expression; @prefix (NULL: none) goes before each diagnostics.  NULL when @error is
 * no such refusal (another error, or one the validator's errors do not account for): answer
 * @error as it is then.  Costs a validation: for the error path only. */
ChartaOutcome *charta_server_validation_outcome (ChartaResource          *resource,
                                                 const GError            *error,
                                                 const char              *within,
                                                 const char              *prefix,
                                                 unsigned                *status);

/* ---- charta-server-bundle.c --------------------------------------------------------------- */

/* POST [base] with a batch or transaction Bundle. */
void     charta_server_handle_bundle            (ChartaServerRequest *req);

/* ---- charta-server-ops.c ------------------------------------------------------------------ */

/* [base]/$op, [base]/Type/$op, [base]/Type/id/$op (@type and @id NULL as the level). */
void     charta_server_handle_operation         (ChartaServerRequest *req,
                                                 const char          *type,
                                                 const char          *id,
                                                 const char          *operation);

G_END_DECLS
