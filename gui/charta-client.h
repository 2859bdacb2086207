/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-client.h: ChartaClient, the desktop app's asynchronous FHIR REST client.
 *
 * Everything the desktop app knows about a store it learns through a ChartaClient: GET of a
 * resource or a search URL, and a versioned PUT (If-Match) that carries an X-Provenance header
 * for corrections.  The client speaks plain FHIR R4 JSON over HTTP with a SoupSession, so it
 * works against Charta's endpoint (in-process or remote) and against other FHIR servers.
 *
 * Threads: a ChartaClient is used from the thread that made it, whose thread-default main
 * context must run (the GTK main thread in the app).  Nothing blocks that thread: the body is
 * read asynchronously and parsed on a worker thread, and the callback runs on the caller's
 * context with the parsed JSON.
 *
 * Errors are CHARTA_CLIENT_ERROR with a message a person can act on: the server is down or
 * too slow, a status with the OperationOutcome's diagnostics, an answer that is not JSON.
 * Cancellation is G_IO_ERROR_CANCELLED.  Logs name methods, resource types and statuses only:
 * never a body, never a query (search terms can name a patient).
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define CHARTA_CLIENT_ERROR (charta_client_error_quark ())

typedef enum
{
  CHARTA_CLIENT_ERROR_UNREACHABLE,  /* no connection: server down, wrong address or port */
  CHARTA_CLIENT_ERROR_TIMEOUT,      /* no answer within the client's timeout */
  CHARTA_CLIENT_ERROR_NETWORK,      /* the connection broke or TLS failed */
  CHARTA_CLIENT_ERROR_NOT_FOUND,    /* 404 or 410: no such resource (or deleted) */
  CHARTA_CLIENT_ERROR_CONFLICT,     /* 409 or 412: someone changed it first (If-Match) */
  CHARTA_CLIENT_ERROR_REFUSED,      /* another 4xx: the server would not do the request */
  CHARTA_CLIENT_ERROR_SERVER,       /* 5xx: the server failed */
  CHARTA_CLIENT_ERROR_MALFORMED,    /* the answer is not FHIR JSON (or not the expected kind) */
} ChartaClientError;

GQuark charta_client_error_quark (void);

#define CHARTA_CLIENT_DEFAULT_TIMEOUT 30u

#define CHARTA_TYPE_CLIENT (charta_client_get_type ())
G_DECLARE_FINAL_TYPE (ChartaClient, charta_client, CHARTA, CLIENT, GObject)

/* A client for the FHIR server whose base is @base_url ("http://127.0.0.1:8080/fhir"; a
 * trailing '/' is dropped). */
ChartaClient *charta_client_new              (const char          *base_url);

const char   *charta_client_get_base_url     (ChartaClient        *self);

/* How long a request may wait for its answer to begin, in seconds (0: no limit); default
 * CHARTA_CLIENT_DEFAULT_TIMEOUT.  Takes effect for the next request, on connections that are
 * open already too; past it the request fails with CHARTA_CLIENT_ERROR_TIMEOUT. */
void          charta_client_set_timeout      (ChartaClient        *self,
                                              unsigned             seconds);
unsigned      charta_client_get_timeout      (ChartaClient        *self);

/* Sent as "Authorization: Bearer @token" with every request (NULL: none). */
void          charta_client_set_bearer_token (ChartaClient        *self,
                                              const char          *token);
/* The token set above (NULL: none); for the client's own process only, never to be logged. */
const char   *charta_client_get_bearer_token (ChartaClient        *self);

/* The absolute URL of @path: @path itself when it is an http(s) URL (a Bundle's next link),
 * else @path after the base URL and a '/' ("Patient?name=x", "Patient/7"). */
char         *charta_client_dup_url          (ChartaClient        *self,
                                              const char          *path);

/* GET @path (see charta_client_dup_url()): the answer's JSON object (a resource, or a Bundle
 * for a search) on success. */
void          charta_client_get_async        (ChartaClient        *self,
                                              const char          *path,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
JsonNode     *charta_client_get_finish       (ChartaClient        *self,
                                              GAsyncResult        *result,
                                              GError             **error);

/* GET @path, a single resource, as charta_client_get_async() does; also gives, in
 * *number_texts (when not NULL), the text of every number of the answer by element path (see
 * charta_json_number_texts()), for charta_client_put_async() to write back what nobody
 * changed exactly as it was. */
void          charta_client_get_resource_async  (ChartaClient        *self,
                                                 const char          *path,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
JsonNode     *charta_client_get_resource_finish (ChartaClient        *self,
                                                 GAsyncResult        *result,
                                                 GHashTable         **number_texts,
                                                 GError             **error);

/* PUT @resource (a JSON object) to @path ("Observation/7"), with "If-Match: W/\"@version_id\""
 * when @version_id is not NULL (the server refuses it with 412, CHARTA_CLIENT_ERROR_CONFLICT,
 * when the resource has a newer version) and "X-Provenance: @provenance" (a Provenance
 * resource, see charta_client_new_provenance(); NULL: none).  The body is written with
 * charta_json_write() and @number_texts (NULL: none), so that decimals keep their digits.
 * Success gives the resource as stored (Prefer: return=representation).  On failure,
 * *outcome (when @outcome is not NULL) is the server's OperationOutcome, or NULL when it sent
 * none. */
void          charta_client_put_async        (ChartaClient        *self,
                                              const char          *path,
                                              JsonNode            *resource,
                                              GHashTable          *number_texts,
                                              const char          *version_id,
                                              JsonNode            *provenance,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
JsonNode     *charta_client_put_finish       (ChartaClient        *self,
                                              GAsyncResult        *result,
                                              JsonNode           **outcome,
                                              GError             **error);

/* POST @resource (a JSON object) to @path ("DocumentReference"): a create, with
 * "X-Provenance: @provenance" (NULL: none).  Success gives the resource as stored; failure
 * *outcome as charta_client_put_finish(). */
void          charta_client_post_async       (ChartaClient        *self,
                                              const char          *path,
                                              JsonNode            *resource,
                                              JsonNode            *provenance,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
JsonNode     *charta_client_post_finish      (ChartaClient        *self,
                                              GAsyncResult        *result,
                                              JsonNode           **outcome,
                                              GError             **error);

/* POST the bytes of @file as they are (a scan: "Binary"), with Content-Type @content_type
 * (NULL: application/octet-stream) and X-Provenance @provenance (NULL: none): streamed from
 * the file, never held whole in memory.  The timeout runs from the end of the body.  Success
 * gives the resource the server made (the Binary, without its data). */
void          charta_client_upload_async     (ChartaClient        *self,
                                              const char          *path,
                                              GFile               *file,
                                              const char          *content_type,
                                              JsonNode            *provenance,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
JsonNode     *charta_client_upload_finish    (ChartaClient        *self,
                                              GAsyncResult        *result,
                                              GError             **error);

/* GET @path ("Binary/7") as raw bytes (Accept: any type) into @destination (replaced),
 * streamed.  Success gives the answer's Content-Type (without parameters) and the bytes
 * saved; a failure status is an error as for the other requests, and a file that cannot be
 * written is a G_IO_ERROR naming it. */
void          charta_client_download_async   (ChartaClient        *self,
                                              const char          *path,
                                              GFile               *destination,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
gboolean      charta_client_download_finish  (ChartaClient        *self,
                                              GAsyncResult        *result,
                                              char               **content_type,
                                              goffset             *size,
                                              GError             **error);

/* The code system of a Provenance activity code: v3-DataOperation for CREATE, UPDATE, DELETE,
 * NULLIFY and APPEND (http://terminology.hl7.org/CodeSystem/v3-DataOperation), else the ISO
 * 21089 lifecycle ("amend", "originate"…; http://terminology.hl7.org/CodeSystem/iso-21089-
 * lifecycle), as the server's ChartaChange reads them. */
const char   *charta_client_activity_system  (const char          *activity_code);

/* A Provenance resource for an X-Provenance header: agent.who (@agent_reference such as
 * "Practitioner/7", and/or @agent_display; both NULL: no agent), activity (@activity_code, in
 * the system charta_client_activity_system() names, e.g. "UPDATE" or "amend"; or NULL) and
 * reason (@reason_text, or NULL).  Its target and recorded time are the server's to fill. */
JsonNode     *charta_client_new_provenance   (const char          *agent_reference,
                                              const char          *agent_display,
                                              const char          *activity_code,
                                              const char          *reason_text);

G_END_DECLS
