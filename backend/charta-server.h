/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-server.h: ChartaServer, the FHIR R4 REST endpoint over a ChartaStore (`charta serve`).
 *
 * A ChartaServer wraps a SoupServer (libsoup 3.2).  The main context only parses and routes:
 * every request that touches the store is paused, worked on by a pool of worker threads with
 * the store's blocking API, and unpaused on the main context with its response.  Reads stream
 * the stored JSON as it is (no parse); every error body is an OperationOutcome, its HTTP status
 * and issue code coming from one table (charta-server-errors.c).
 *
 * URLs: [base]/… where [base] is the base path given to charta_server_new() ("/fhir" by
 * default), so "http://127.0.0.1:8080/fhir/Patient/7".  The step that finds the store for a
 * path is kept apart so that [base]/<tenant>/… can later name one store per tenant.
 *
 * Limits protect the server from a client: a larger body is 413 (a declared one at once,
 * before the body, and the connection closed), a longer URL 414, larger headers 431, a
 * connection past the limit 503 (every connection counts from its accept, silent ones too), a
 * search running past the store's time limit 503; each is an OperationOutcome that says which
 * limit and what to do, and no other client notices.  (libsoup 3.2 reads the request line and
 * headers whole before anything can look at them: the URL and header limits apply once they
 * are read, so a hostile client can still make the server hold one oversized header block per
 * connection, bounded by the connection limit and the idle timeout; past libsoup's own 64 KiB
 * limit on it, libsoup closes the connection without an answer.)
 *
 * Access: by default every client that can connect is served (`charta serve` listens on
 * loopback unless told otherwise).  With a bearer token set, a request must carry it
 * ("Authorization: Bearer <token>", RFC 6750) except a CORS preflight (OPTIONS) and GET or HEAD
 * [base]/metadata: the CapabilityStatement stays readable, and says in rest.security that a
 * token is required.  Any other request without the token, or with another one, is answered
 * 401 with WWW-Authenticate: Bearer realm="charta" (error="invalid_token" for a wrong one) and
 * an OperationOutcome (issue code "login"), before its body is read.
 *
 * Threads: create, configure, listen and stop on one thread, whose thread-default main context
 * must run for the server to answer.
 */
#pragma once

#include <gio/gio.h>

#include "charta-store.h"

G_BEGIN_DECLS

#define CHARTA_SERVER_ERROR (charta_server_error_quark ())

/* What the endpoint itself refuses, before or around the store.  Each code has its HTTP
 * status (in brackets) and FHIR issue code in the table of charta-server-errors.c. */
typedef enum
{
  CHARTA_SERVER_ERROR_BAD_REQUEST,             /* [400] malformed request: header, parameter,
                                                * id, a body of the wrong type */
  CHARTA_SERVER_ERROR_NOT_FOUND,               /* [404] no such type, path or resource */
  CHARTA_SERVER_ERROR_METHOD_NOT_ALLOWED,      /* [405] the path does not take that method */
  CHARTA_SERVER_ERROR_NOT_ACCEPTABLE,          /* [406] a response format not served (XML) */
  CHARTA_SERVER_ERROR_CONFLICT,                /* [409] the request contradicts the store */
  CHARTA_SERVER_ERROR_PRECONDITION_FAILED,     /* [412] If-Match, or a conditional interaction
                                                * whose criteria match more than one */
  CHARTA_SERVER_ERROR_TOO_LARGE,               /* [413] the body is over the size limit */
  CHARTA_SERVER_ERROR_URI_TOO_LONG,            /* [414] the URL is over the length limit */
  CHARTA_SERVER_ERROR_UNSUPPORTED_MEDIA_TYPE,  /* [415] a body of a Content-Type not read */
  CHARTA_SERVER_ERROR_UNPROCESSABLE,           /* [422] a well-formed request the rules refuse */
  CHARTA_SERVER_ERROR_HEADERS_TOO_LARGE,       /* [431] the headers are over the size limit */
  CHARTA_SERVER_ERROR_INTERNAL,                /* [500] a bug or a broken invariant */
  CHARTA_SERVER_ERROR_NOT_IMPLEMENTED,         /* [501] an interaction this version lacks */
  CHARTA_SERVER_ERROR_UNAVAILABLE,             /* [503] over the connection limit, stopping */
  CHARTA_SERVER_ERROR_UNKNOWN_OPERATION,       /* [404] an operation FHIR R4 does not define
                                                * (there, or at that level): issue code
                                                * not-supported */
  CHARTA_SERVER_ERROR_UNAUTHORIZED,            /* [401] no bearer token, or not the server's
                                                * (see charta_server_set_bearer_token()):
                                                * issue code login */
} ChartaServerError;

GQuark charta_server_error_quark (void);

#define CHARTA_SERVER_DEFAULT_BASE_PATH       "/fhir"
#define CHARTA_SERVER_DEFAULT_MAX_BODY_SIZE   (64u * 1024u * 1024u)
#define CHARTA_SERVER_DEFAULT_MAX_URL_LENGTH  (8u * 1024u)
#define CHARTA_SERVER_DEFAULT_MAX_HEADER_SIZE (64u * 1024u)
#define CHARTA_SERVER_DEFAULT_MAX_CONNECTIONS 256u
#define CHARTA_SERVER_DEFAULT_WORKERS         8u
#define CHARTA_SERVER_DEFAULT_IDLE_TIMEOUT    60.0

#define CHARTA_TYPE_SERVER (charta_server_get_type ())
G_DECLARE_FINAL_TYPE (ChartaServer, charta_server, CHARTA, SERVER, GObject)

/* A server for @store under @base_path ("/fhir"; "" or "/" for the root; NULL for the
 * default).  It keeps a reference to @store and never closes it. */
ChartaServer *charta_server_new                  (ChartaStore  *store,
                                                  const char   *base_path);

ChartaStore  *charta_server_get_store            (ChartaServer *self);
/* The base path, normalised: "" for the root, else "/fhir" (a leading '/', none trailing). */
const char   *charta_server_get_base_path        (ChartaServer *self);

/* Starts listening on @address: "HOST:PORT", "[IPv6]:PORT", "HOST" (port 8080) or ":PORT" /
 * "PORT" (loopback).  HOST is an IP address or "localhost"; port 0 picks a free port.  May
 * be called more than once to listen on several addresses.  G_IO_ERROR on failure, with a
 * message naming the address. */
gboolean      charta_server_listen               (ChartaServer *self,
                                                  const char   *address,
                                                  GError      **error);
/* The port of the first address listened on, 0 before charta_server_listen(). */
guint16       charta_server_get_port             (ChartaServer *self);
/* "http://127.0.0.1:8080/fhir": the first address listened on and the base path; NULL
 * before charta_server_listen(). */
char         *charta_server_dup_base_url         (ChartaServer *self);

/* Stops listening and closes every connection; waits for the requests being worked on to
 * finish (their responses are dropped).  Also done on dispose.  The store stays open. */
void          charta_server_stop                 (ChartaServer *self);

/* Limits (see above).  Each takes effect for the next request.  0 means no limit, except for
 * the body size, where it means the default. */
void          charta_server_set_max_body_size    (ChartaServer *self,
                                                  size_t        bytes);
size_t        charta_server_get_max_body_size    (ChartaServer *self);
void          charta_server_set_max_url_length   (ChartaServer *self,
                                                  unsigned      length);
unsigned      charta_server_get_max_url_length   (ChartaServer *self);
void          charta_server_set_max_header_size  (ChartaServer *self,
                                                  unsigned      bytes);
unsigned      charta_server_get_max_header_size  (ChartaServer *self);
void          charta_server_set_max_connections  (ChartaServer *self,
                                                  unsigned      n);
unsigned      charta_server_get_max_connections  (ChartaServer *self);
/* A connection on which no request is in progress, and none has come for this long, is
 * closed (0: never): one that made requests and went quiet, one that never sent a byte, one
 * that sends its request head slower than that.  A request is in progress from its whole
 * head to its answer. */
void          charta_server_set_idle_timeout     (ChartaServer *self,
                                                  double        seconds);
double        charta_server_get_idle_timeout     (ChartaServer *self);
/* The longest a search may run (charta_store_set_search_timeout() on the store: it is the
 * store's setting, shared with its other users); past it the client gets 503. */
void          charta_server_set_request_timeout  (ChartaServer *self,
                                                  double        seconds);
double        charta_server_get_request_timeout  (ChartaServer *self);

/* A read-only server answers writes with 405 and lists only reads in its CapabilityStatement
 * (for a store opened with CHARTA_STORE_FLAGS_READ_ONLY). */
void          charta_server_set_read_only        (ChartaServer *self,
                                                  gboolean      read_only);
gboolean      charta_server_get_read_only        (ChartaServer *self);

/* CORS: browsers may call the endpoint from @origin ("https://app.example.org", or "*" for
 * any).  None by default, so that no web page a user visits can read a local store.  Main
 * context only. */
void          charta_server_add_cors_origin      (ChartaServer *self,
                                                  const char   *origin);

/* The bearer token every request must carry (see "Access" above); NULL: none, every client
 * is served (the default).  @token must pass charta_server_is_valid_bearer_token().  The
 * server keeps only its SHA-256 digest, compares digests in constant time, and never logs
 * either.  Takes effect for the next request.  Main context only. */
void          charta_server_set_bearer_token     (ChartaServer *self,
                                                  const char   *token);
/* Whether a bearer token is required. */
gboolean      charta_server_has_bearer_token     (ChartaServer *self);
/* Whether @token can be a bearer token: 1 to 4096 characters of RFC 6750's b64token (ASCII
 * letters, digits, '-', '.', '_', '~', '+', '/', then any '=' padding), the form a client
 * can send in an Authorization header as it is. */
gboolean      charta_server_is_valid_bearer_token (const char  *token);

/* How many requests are being worked on or waiting for a worker (for tests and figures). */
unsigned      charta_server_get_n_pending        (ChartaServer *self);

G_END_DECLS
