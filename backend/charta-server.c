/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-server.c: ChartaServer, the FHIR R4 REST endpoint (see charta-server.h).
 *
 * The main context only accepts, parses and routes.  The server accepts its connections
 * itself and hands them to libsoup (see "connections" below).  For each message libsoup calls
 * two handlers: the early one, once the headers are read, applies the limits that do not need
 * the body (connections, URL length, header size, declared body size: refused at once, the
 * connection taken from libsoup to answer before the body) and counts a chunked body as it
 * arrives; the main one, once the body is read, decodes the path (libsoup leaves it encoded:
 * raw-paths), copies what the request needs into a ChartaServerRequest, pauses the message and
 * queues the request to the worker pool.  A worker answers it with the store's blocking API
 * into the same struct, compresses the body when the client allows, and queues it back to the
 * main context (one wake-up drains every response finished meanwhile); the main context
 * copies the response onto the message and unpauses it.  The message itself is only touched
 * on the main context, and its last reference is dropped there.
 *
 * What the main context does per request bounds the throughput of reads (one thread parses,
 * routes and writes every response), so it does little beyond what libsoup does itself: one
 * signal handler of its own per message (got-headers; the end of a request is heard from the
 * server's request-finished and request-aborted signals), no source made or descriptor added
 * per request (a connection's idle watch is made once, the hand-offs to and from the pool
 * once per server, and waking any of them up costs no system call while the main context is
 * busy), the X-Request-Id made from a counter, and the base URL of the last Host reused.
 * A response written from a worker's answer is corked (TCP_CORK) until its request ends, so
 * that its head and body, two writes of libsoup's, go out together.
 *
 * Routing follows http.html of FHIR R4 (paths after [base]):
 *
 *   (none)             GET search-system, POST batch/transaction
 *   metadata           GET capabilities
 *   _history           GET history-system
 *   _search            POST search-system (form body)
 *   $op                operations
 *   Type               GET search-type, POST create (If-None-Exist: conditional create),
 *                      PUT/PATCH/DELETE with criteria: conditional update/patch/delete
 *   Type/_search       POST (or GET) search-type
 *   Type/_history      GET history-type
 *   Type/$op           operations
 *   Type/id            GET read, PUT update, PATCH patch, DELETE delete
 *   Type/id/_history   GET history-instance
 *   Type/id/_history/n GET vread
 *   Type/id/$op        operations
 *   Comp/id/Type       GET compartment search
 *
 * and, for Binary (see "Binary content"): POST Binary and PUT Binary/id with a body that is no
 * resource take the content as it is, streamed; GET Binary/id (and Binary/id/_history/n)
 * answers the content as it is, streamed, unless the client asks for FHIR JSON.
 *
 * Access (a bearer token, when one is set): checked on the main context before anything else
 * of the request is looked at but its method and path (a preflight and GET [base]/metadata
 * need none); a request with a body is refused from the early handler, before the body is
 * read, like a request over a limit.  Only the token's SHA-256 digest is kept, and a presented
 * token is compared by its digest, over all 32 bytes whatever they hold: how long a refusal
 * takes says nothing of the token.
 *
 * Connections are counted and timed from their accept, and watched while idle (libsoup 3.2
 * does not notice a client closing a connection it waits on; see "connections" below).
 * Conditional interactions hold one lock across their search and their write
 * (charta_server_lock_conditional()).
 *
 * Invariants: every response to a request that reached a handler carries X-Request-Id; every
 * error body is an OperationOutcome, libsoup's own refusals after the request head too (a URL
 * of another scheme), except where libsoup answers before any handler or signal of the server
 * runs: a request line or headers it cannot parse (its own bare 400, or 501 for an unknown
 * Transfer-Encoding), a request head past its 64 KiB limit (the connection closed unanswered);
 * nothing logged holds a resource, a query, a body or a header value (methods and paths
 * escaped and cut by charta_server_dup_log_text(), types, ids and statuses), nor the bearer
 * token.
 */
#define G_LOG_DOMAIN "charta-server"
#define _GNU_SOURCE  /* POLLRDHUP */

#include <poll.h>
#include <string.h>
#include <sys/un.h>

#include <gio/gnetworking.h>
#include <glib/gstdio.h>

#include "charta-config.h"
#include "charta-datetime-private.h"
#include "charta-server-private.h"
#include "charta-store-private.h"

#define GZIP_MIN_SIZE      1024   /* smaller bodies go as they are */
#define MAX_PROVENANCE     (64u * 1024u)
#define MAX_REQUEST_ID     128
#define FHIR_JSON          "application/fhir+json"
#define PLAIN_JSON         "application/json"
#define JSON_PATCH         "application/json-patch+json"
#define CORS_ALLOW_HEADERS "Accept, Accept-Encoding, Authorization, Content-Type, If-Match, " \
                           "If-Modified-Since, If-None-Exist, If-None-Match, If-Range, Prefer, " \
                           "Range, X-Provenance, X-Request-Id, X-Security-Context"
#define CORS_EXPOSE_HEADERS "Accept-Ranges, Content-Location, Content-Range, ETag, " \
                            "Last-Modified, Location, WWW-Authenticate, X-Request-Id, " \
                            "X-Security-Context"
#define CORS_ALLOW_METHODS "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
#define AUTH_REALM         "Bearer realm=\"charta\""
#define TOKEN_DIGEST_SIZE  32     /* SHA-256 */
#define MAX_TOKEN_LENGTH   4096

typedef struct _ServerGuard ServerGuard;

struct _ChartaServer
{
  GObject       parent_instance;

  ChartaStore  *store;
  char         *base_path;        /* "" or "/fhir": leading '/', none trailing */
  SoupServer   *soup;
  GMainContext *context;          /* where @soup runs: the thread-default one at listen */
  GThreadPool  *pool;
  guint16       port;             /* of the first address listened on */
  char         *host;             /* of the first address, as a URL host ("127.0.0.1",
                                   * "[::1]") */

  size_t        max_body_size;
  guint64       max_binary_size;  /* of a raw Binary body (see "Binary content") */
  unsigned      max_url_length;
  unsigned      max_header_size;
  unsigned      max_connections;
  double        request_timeout;
  gboolean      read_only;
  GPtrArray    *cors_origins;     /* char * */
  gboolean      token_required;   /* a bearer token is set (written under @lock: the
                                   * CapabilityStatement reads it on a worker) */
  guint8        token_digest[TOKEN_DIGEST_SIZE];  /* its SHA-256; main context only */

  /* Main context only. */
  GPtrArray    *listeners;        /* Listener *: the listening sockets */
  GHashTable   *connections;      /* GSocketAddress * (remote) → Connection *: every one open */
  unsigned      n_admitted;       /* of @connections, those within the limit */
  GPtrArray    *refusals;         /* Refusal *: refused requests being answered and closed */
  GSource      *sweep;            /* closes idle connections */
  double        idle_timeout;
  GHashTable   *jobs;             /* SoupServerMessage * → Job *: being worked on */
  GHashTable   *uploads;          /* SoupServerMessage * → ChartaServerUpload *: raw Binary
                                   * bodies being received, until their handler runs */
  GHashTable   *downloads;        /* SoupServerMessage * → Download *: Binary content being
                                   * sent */
  GThreadPool  *stream_pool;      /* writes uploaded bytes and reads content to send (apart from
                                   * @pool, so that no upload holds up a request) */
  gboolean      stopped;
  unsigned      n_processors;     /* g_get_num_processors(), which reads sysfs each time */
  ServerGuard  *guard;            /* what messages' handlers hold of the server */
  guint64       request_id_prefix;  /* random: the X-Request-Ids made here (request_id_for()) */
  guint64       n_request_ids;      /* of them made so far */
  struct
  {
    char       *scheme;           /* of the last request's URL, with its Host… */
    char       *host;
    int         port;
    char       *base_path;        /* …and the base path… */
    char       *url;              /* …: the base URL it made (request_base_url()) */
  } last_base;

  GRecMutex     conditional;      /* held across the search and the write of a conditional
                                   * interaction (charta_server_lock_conditional()) */
  GMutex        lock;             /* guards @capabilities */
  GBytes       *capabilities;     /* the "rest" part of the CapabilityStatement, made once */
  unsigned      n_pending;        /* atomic */
  GAsyncQueue  *done;             /* Job *: worked on, for the main context to answer */
  GPtrArray    *reads;            /* Job *: reads of one main-loop iteration (main context) */
  GSource      *flush;            /* pushes @reads to the pool (main context; made at the
                                   * first listen, as @drain) */
  GSource      *drain;            /* runs drain_done() */
  int           drain_scheduled;  /* atomic: a job is in @done: drain_done() is to run */
  int           polling;          /* atomic: the main context may be about to wait in poll(),
                                   * so a worker that schedules a drain wakes it up */
};

enum
{
  PROP_0,
  PROP_STORE,
  PROP_BASE_PATH,
  PROP_MAX_BODY_SIZE,
  PROP_MAX_URL_LENGTH,
  PROP_MAX_HEADER_SIZE,
  PROP_MAX_CONNECTIONS,
  PROP_REQUEST_TIMEOUT,
  PROP_IDLE_TIMEOUT,
  PROP_READ_ONLY,
  PROP_MAX_BINARY_SIZE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ChartaServer, charta_server, G_TYPE_OBJECT)

/* What a handler on a message holds of the server (a GRcBox, released with the handler): the
 * server, NULL once it is disposed.  Cheaper than g_signal_connect_object() per message, which
 * adds a closure to the server's own list of them and takes it out again. */
struct _ServerGuard
{
  ChartaServer *server;  /* main context only */
  int           posted;  /* atomic: callbacks the stream pool queued on the main context and
                          * that have not run yet (see post_to_main()) */
};

/* A request on its way through a worker. */
typedef struct
{
  ChartaServerRequest  req;
  SoupServerMessage   *msg;         /* main context only */
  gboolean             finished;    /* the message ended (connection gone, server stopped):
                                     * the response is dropped (request_ended()) */
  void                *next;        /* Job *: the next of a batch of reads (see flush_reads()) */
} Job;

static void process_request (ChartaServerRequest *req);
static void connection_cork (ChartaServer      *self,
                             SoupServerMessage *msg);

/* Binary content (see "Binary content" below). */
typedef struct _Download Download;

/* Binary content being sent (see download_start()). */
struct _Download
{
  gatomicrefcount    ref_count;
  ServerGuard       *guard;
  GMainContext      *context;
  SoupServerMessage *msg;
  GInputStream      *stream;     /* the content, read on the stream pool (one read at a time) */
  gboolean           base64;     /* sent as base64 (FHIR JSON's data) */
  int                b64_state;  /* (the read's) */
  unsigned           b64_save;
  GBytes            *suffix;     /* sent after the content, NULL for none */

  /* Main context only. */
  unsigned           in_body;    /* pieces appended to the body, not yet written */
  gboolean           reading;
  gboolean           eof;        /* the last piece is appended */
  gboolean           ended;      /* the request ended */
};

static void upload_unref    (ChartaServerUpload  *up);
static void upload_end      (ChartaServer        *self,
                             ChartaServerUpload  *up);
static void download_unref  (Download            *dl);
static void download_start  (ChartaServer        *self,
                             SoupServerMessage   *msg,
                             ChartaServerRequest *req);
static void stream_task_run (gpointer             data,
                             gpointer             user_data);

/* ---- small helpers ------------------------------------------------------------------------ */

void
charta_server_append_json_string (GString    *out,
                                  const char *text)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);
  g_autofree char *quoted = NULL;

  json_node_set_string (node, text);
  quoted = json_to_string (node, FALSE);
  g_string_append (out, quoted);
}

gboolean
charta_server_is_valid_id (const char *id)
{
  size_t n = 0;

  if (id == NULL)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++, n++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
      return FALSE;
  return n >= 1 && n <= 64;
}

char *
charta_server_dup_log_text (const char *text,
                            size_t      max_length)
{
  GString *out = g_string_new (NULL);
  const char *end = text + strlen (text);
  const char *p = text;

  while (p < end && out->len < max_length)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      const char *next;

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          /* not UTF-8: the byte */
          g_string_append_printf (out, "\\x%02x", (guint8) *p);
          p++;
          continue;
        }
      next = g_utf8_next_char (p);
      if (c < 0x20 || c == 0x7f || c == '\\')
        g_string_append_printf (out, "\\x%02x", (unsigned) c);
      else if ((c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029
               || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
        g_string_append_printf (out, "\\u%04x", (unsigned) c);  /* line breaks, bidi marks */
      else
        g_string_append_len (out, p, next - p);
      p = next;
    }
  if (p < end)
    g_string_append (out, "…");
  return g_string_free (out, FALSE);
}

GRecMutexLocker *
charta_server_lock_conditional (ChartaServer *self)
{
  return self != NULL ? g_rec_mutex_locker_new (&self->conditional) : NULL;
}

char *
charta_server_format_etag (int64_t version)
{
  return g_strdup_printf ("W/\"%" G_GINT64_FORMAT "\"", version);
}

int64_t
charta_server_parse_etag (const char  *value,
                          GError     **error)
{
  g_autofree char *text = g_strstrip (g_strdup (value));
  const char *p = text;
  char *end = NULL;
  int64_t version;

  if (g_str_has_prefix (p, "W/"))
    p += 2;
  if (*p == '"')
    p++;
  version = g_ascii_strtoll (p, &end, 10);
  if (end == p || version <= 0 || (*end != '\0' && !(*end == '"' && end[1] == '\0')))
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "“%.40s” is not a version ETag (W/\"3\")", value);
      return 0;
    }
  return version;
}

GDateTime *
charta_server_stored_last_updated (GBytes *json)
{
  static const char key[] = "\"lastUpdated\":\"";
  gsize length;
  const char *data = g_bytes_get_data (json, &length);
  const char *at = data != NULL ? g_strstr_len (data, (gssize) MIN (length, 4096), key) : NULL;
  const char *end;
  g_autofree char *text = NULL;

  /* Canonical JSON: resourceType, id, then meta; a key cannot appear inside a string (its
   * quotes would be escaped), so the first match is the resource's own meta.lastUpdated. */
  if (at == NULL)
    return NULL;
  at += strlen (key);
  end = memchr (at, '"', length - (size_t) (at - data));
  if (end == NULL || end - at > 64)
    return NULL;
  text = g_strndup (at, (size_t) (end - at));
  return g_date_time_new_from_iso8601 (text, NULL);
}

static GDateTime *
parse_instant_text (const char *text)
{
  return text != NULL ? g_date_time_new_from_iso8601 (text, NULL) : NULL;
}

/* Writes @value as two digits at @out. */
static char *
put_two_digits (char *out,
                int   value)
{
  *out++ = (char) ('0' + value / 10);
  *out++ = (char) ('0' + value % 10);
  return out;
}

/* @when as an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT"), the text
 * soup_date_time_to_string (SOUP_DATE_HTTP) makes, written out by hand: a read answers one
 * (Last-Modified), and libsoup's formatting (g_date_time_format()) costs several times a read
 * of the store's row. */
static char *
http_date (GDateTime *when)
{
  static const char days[7][4] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
  static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                      "Sep", "Oct", "Nov", "Dec" };
  g_autoptr(GDateTime) utc = g_date_time_to_utc (when);
  int year, month, day;
  char *text, *out;

  g_date_time_get_ymd (utc, &year, &month, &day);
  if (year < 1000)  /* (GDateTime's years are 1 to 9999: the year has no leading zeros) */
    return g_strdup_printf ("%s, %02d %s %d %02d:%02d:%02d GMT",
                            days[g_date_time_get_day_of_week (utc) - 1], day,
                            months[month - 1], year, g_date_time_get_hour (utc),
                            g_date_time_get_minute (utc), g_date_time_get_second (utc));
  text = out = g_malloc (sizeof "Sun, 06 Nov 1994 08:49:37 GMT");
  memcpy (out, days[g_date_time_get_day_of_week (utc) - 1], 3);
  out += 3;
  *out++ = ',';
  *out++ = ' ';
  out = put_two_digits (out, day);
  *out++ = ' ';
  memcpy (out, months[month - 1], 3);
  out += 3;
  *out++ = ' ';
  out = put_two_digits (out, year / 100);
  out = put_two_digits (out, year % 100);
  *out++ = ' ';
  out = put_two_digits (out, g_date_time_get_hour (utc));
  *out++ = ':';
  out = put_two_digits (out, g_date_time_get_minute (utc));
  *out++ = ':';
  out = put_two_digits (out, g_date_time_get_second (utc));
  memcpy (out, " GMT", sizeof " GMT");
  return text;
}

/* The media type of a Content-Type or Accept item, lower-cased, without parameters. */
static char *
media_type (const char *value)
{
  const char *semi = strchr (value, ';');
  g_autofree char *type = semi != NULL ? g_strndup (value, (size_t) (semi - value))
                                       : g_strdup (value);

  return g_ascii_strdown (g_strstrip (type), -1);
}

static gboolean
is_json_media_type (const char *type)
{
  return strcmp (type, FHIR_JSON) == 0 || strcmp (type, PLAIN_JSON) == 0
         || strcmp (type, "application/json+fhir") == 0 || strcmp (type, "text/json") == 0;
}

static gboolean
is_xml_media_type (const char *type)
{
  return strcmp (type, "application/fhir+xml") == 0 || strcmp (type, "application/xml") == 0
         || strcmp (type, "application/xml+fhir") == 0 || strcmp (type, "text/xml") == 0
         || strcmp (type, "xml") == 0;
}

/* ---- the request's response --------------------------------------------------------------- */

void
charta_server_request_set_header (ChartaServerRequest *req,
                                  const char          *name,
                                  const char          *value)
{
  soup_message_headers_replace (req->response_headers, name, value);
}

const char *
charta_server_request_get_header (ChartaServerRequest *req,
                                  const char          *name)
{
  return soup_message_headers_get_list (req->headers, name);
}

void
charta_server_request_respond_json (ChartaServerRequest *req,
                                    unsigned             status,
                                    GBytes              *body)
{
  req->status = status;
  g_clear_pointer (&req->response_body, g_bytes_unref);
  req->response_type = NULL;
  if (body == NULL)
    return;
  if (req->pretty)
    {
      g_autoptr(ChartaResource) parsed = charta_resource_new_from_bytes (body, NULL, NULL);

      if (parsed != NULL)
        {
          req->response_body = charta_resource_to_bytes (parsed, TRUE);
          req->response_type = req->content_type;
          return;
        }
    }
  req->response_body = g_bytes_ref (body);
  req->response_type = req->content_type;
}

void
charta_server_request_respond_outcome (ChartaServerRequest *req,
                                       unsigned             status,
                                       ChartaOutcome       *outcome)
{
  char *json = charta_outcome_to_json (outcome, req->pretty);

  req->status = status;
  g_clear_pointer (&req->response_body, g_bytes_unref);
  req->response_body = g_bytes_new_take (json, strlen (json));
  req->response_type = req->content_type;
}

static void
respond_error_in (ChartaServerRequest      *req,
                  const GError             *error,
                  ChartaServerErrorContext  context)
{
  g_clear_pointer (&req->response_body, g_bytes_unref);
  req->response_body = charta_server_error_to_outcome (error, context, req->pretty,
                                                       &req->status);
  req->response_type = req->content_type;
  if (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
    {
      g_autofree char *method = charta_server_dup_log_text (req->method, 16);
      g_autofree char *path = charta_server_dup_log_text (req->path, 120);

      g_debug ("%s [base]/%s: %u (%s %d)", method, path, req->status,
               g_quark_to_string (error->domain), error->code);
    }
}

void
charta_server_request_respond_error (ChartaServerRequest *req,
                                     const GError        *error)
{
  respond_error_in (req, error, CHARTA_SERVER_CONTEXT_DEFAULT);
}

void
charta_server_request_respond_query_error (ChartaServerRequest *req,
                                           const GError        *error)
{
  respond_error_in (req, error, CHARTA_SERVER_CONTEXT_QUERY);
}

void
charta_server_request_respond_write_error (ChartaServerRequest *req,
                                           ChartaResource      *resource,
                                           const GError        *error)
{
  g_autoptr(ChartaOutcome) outcome = NULL;
  unsigned status = 0;

  outcome = charta_server_validation_outcome (resource, error, NULL, NULL, &status);
  if (outcome == NULL)
    {
      respond_error_in (req, error, CHARTA_SERVER_CONTEXT_DEFAULT);
      return;
    }
  charta_server_request_respond_outcome (req, status, outcome);
  if (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
    {
      g_autofree char *method = charta_server_dup_log_text (req->method, 16);
      g_autofree char *path = charta_server_dup_log_text (req->path, 120);

      g_debug ("%s [base]/%s: %u (%u problems)", method, path, status,
               charta_outcome_get_n_issues (outcome));
    }
}

/* A 405 naming the methods @path takes. */
static void
respond_method_not_allowed (ChartaServerRequest *req,
                            const char          *allow)
{
  g_autoptr(GError) error = g_error_new (CHARTA_SERVER_ERROR,
                                         CHARTA_SERVER_ERROR_METHOD_NOT_ALLOWED,
                                         "%s is not allowed on [base]/%s: it takes %s",
                                         req->method, req->path, allow);

  charta_server_request_set_header (req, "Allow", allow);
  charta_server_request_respond_error (req, error);
}

static void
respond_not_found (ChartaServerRequest *req,
                   const char          *what)
{
  g_autoptr(GError) error = g_error_new (CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_NOT_FOUND,
                                         "%s", what);

  charta_server_request_respond_error (req, error);
}

/* Location, ETag and Last-Modified of a stored version. */
static void
set_version_headers (ChartaServerRequest *req,
                     const char          *type,
                     const char          *id,
                     int64_t              version,
                     GDateTime           *last_updated,
                     gboolean             location)
{
  g_autofree char *etag = charta_server_format_etag (version);

  charta_server_request_set_header (req, "ETag", etag);
  if (last_updated != NULL)
    {
      g_autofree char *date = http_date (last_updated);

      charta_server_request_set_header (req, "Last-Modified", date);
    }
  if (location)
    {
      g_autofree char *url = g_strdup_printf ("%s/%s/%s/_history/%" G_GINT64_FORMAT,
                                              req->base_url, type, id, version);

      charta_server_request_set_header (req, "Location", url);
    }
}

/* ---- request headers ---------------------------------------------------------------------- */

static JsonObject *
member_object (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonObject *
first_object (JsonObject *object,
              const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  array = json_node_get_array (node);
  if (json_array_get_length (array) == 0)
    return NULL;
  node = json_array_get_element (array, 0);
  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gboolean
charta_server_request_get_change (ChartaServerRequest  *req,
                                  ChartaChange        **change,
                                  GError              **error)
{
  const char *header = soup_message_headers_get_one (req->headers, "X-Provenance");
  g_autoptr(ChartaResource) provenance = NULL;
  g_autoptr(ChartaChange) result = NULL;
  g_autoptr(GError) local_error = NULL;
  ChartaParseLimits limits = { MAX_PROVENANCE, 16 };
  JsonObject *root, *who, *reason, *coding, *activity;

  *change = NULL;
  if (header == NULL)
    return TRUE;
  provenance = charta_resource_new_from_data (header, strlen (header), &limits, &local_error);
  if (provenance == NULL)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "X-Provenance: not a Provenance resource in JSON: %s", local_error->message);
      return FALSE;
    }
  if (strcmp (charta_resource_get_resource_type (provenance), "Provenance") != 0)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "X-Provenance: expected a Provenance resource, got a %s",
                   charta_resource_get_resource_type (provenance));
      return FALSE;
    }

  root = charta_resource_get_object (provenance);
  result = charta_change_new ();
  who = member_object (first_object (root, "agent"), "who");
  if (member_string (who, "reference") != NULL || member_string (who, "display") != NULL)
    charta_change_set_agent (result, member_string (who, "reference"),
                             member_string (who, "display"));
  reason = first_object (root, "reason");
  coding = first_object (reason, "coding");
  if (member_string (coding, "code") != NULL || member_string (reason, "text") != NULL)
    charta_change_set_reason (result, member_string (coding, "system"),
                              member_string (coding, "code"), member_string (reason, "text"));
  activity = member_object (root, "activity");
  coding = first_object (activity, "coding");
  if (member_string (coding, "code") != NULL)
    charta_change_set_activity (result, member_string (coding, "system"),
                                member_string (coding, "code"));
  *change = g_steal_pointer (&result);
  return TRUE;
}

ChartaResource *
charta_server_request_parse_body (ChartaServerRequest  *req,
                                  GError              **error)
{
  const char *content_type = soup_message_headers_get_one (req->headers, "Content-Type");
  ChartaParseLimits limits = { req->max_body, 0 };

  /* FHIR R4 http.html: a client sends the Content-Type of the body it sends */
  if (content_type == NULL && g_bytes_get_size (req->body) > 0)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_UNSUPPORTED_MEDIA_TYPE,
                   "%s [base]/%.100s has a body without a Content-Type: a FHIR JSON "
                   "Content-Type is required (Content-Type: " FHIR_JSON ")", req->method,
                   req->path);
      return NULL;
    }
  if (content_type != NULL)
    {
      g_autofree char *type = media_type (content_type);

      if (is_xml_media_type (type))
        {
          g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_UNSUPPORTED_MEDIA_TYPE,
                       "Content-Type %s: this server reads FHIR JSON only, not XML; send "
                       "application/fhir+json", type);
          return NULL;
        }
      if (!is_json_media_type (type))
        {
          g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_UNSUPPORTED_MEDIA_TYPE,
                       "Content-Type “%.60s” is not read; send application/fhir+json", type);
          return NULL;
        }
    }
  if (g_bytes_get_size (req->body) == 0)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "%s [base]/%s needs a resource in the body", req->method, req->path);
      return NULL;
    }
  return charta_resource_new_from_bytes (req->body, &limits, error);
}

static gboolean is_form_body (ChartaServerRequest *req);

/* _format and _pretty of a search posted as a form (POST …/_search) are in its body
 * (search.html: the body holds the parameters the URL would): taken into @req->params, unless
 * the URL has them too. */
static void
take_form_params (ChartaServerRequest *req)
{
  static const char *const names[] = { "_format", "_pretty", NULL };
  g_autoptr(GHashTable) form = NULL;
  g_autofree char *text = NULL;
  gsize length;
  const char *data;

  if (req->method != SOUP_METHOD_POST || !is_form_body (req))
    return;
  data = g_bytes_get_data (req->body, &length);
  if (data == NULL || length == 0)
    return;
  text = g_strndup (data, length);
  form = soup_form_decode (text);
  for (unsigned i = 0; names[i] != NULL; i++)
    {
      const char *value = g_hash_table_lookup (form, names[i]);

      if (value != NULL && !g_hash_table_contains (req->params, names[i]))
        g_hash_table_insert (req->params, g_strdup (names[i]), g_strdup (value));
    }
}

/* _format, _pretty, Accept and Prefer.  FALSE (406) when the client takes no JSON. */
static gboolean
negotiate (ChartaServerRequest  *req,
           GError              **error)
{
  const char *format = g_hash_table_lookup (req->params, "_format");
  const char *pretty = g_hash_table_lookup (req->params, "_pretty");
  const char *accept = soup_message_headers_get_list (req->headers, "Accept");
  const char *prefer = soup_message_headers_get_list (req->headers, "Prefer");

  req->content_type = FHIR_JSON;
  req->pretty = pretty != NULL && strcmp (pretty, "true") == 0;

  if (prefer != NULL)
    {
      g_auto(GStrv) items = g_strsplit_set (prefer, ",;", -1);

      for (char **item = items; *item != NULL; item++)
        {
          g_autofree char *text = g_ascii_strdown (g_strstrip (*item), -1);

          if (strcmp (text, "return=minimal") == 0)
            req->return_pref = CHARTA_RETURN_MINIMAL;
          else if (strcmp (text, "return=representation") == 0)
            req->return_pref = CHARTA_RETURN_REPRESENTATION;
          else if (strcmp (text, "return=operationoutcome") == 0)
            req->return_pref = CHARTA_RETURN_OUTCOME;
          else if (strcmp (text, "handling=strict") == 0)
            req->strict = TRUE;
          else if (strcmp (text, "handling=lenient") == 0)
            req->strict = FALSE;
        }
    }

  if (format != NULL)
    {
      /* A '+' in the query reads as a space once decoded: "application/fhir+json". */
      g_autofree char *text = g_strdelimit (media_type (format), " ", '+');

      if (strcmp (text, "json") == 0 || strcmp (text, FHIR_JSON) == 0
          || strcmp (text, "application/json+fhir") == 0)
        return TRUE;
      if (strcmp (text, PLAIN_JSON) == 0 || strcmp (text, "text/json") == 0)
        {
          req->content_type = PLAIN_JSON;
          return TRUE;
        }
      if (is_xml_media_type (text))
        g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_NOT_ACCEPTABLE,
                     "_format=%s: this server does not serve XML; ask for JSON (_format=json)",
                     text);
      else
        g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_NOT_ACCEPTABLE,
                     "_format=%.60s is not served; ask for JSON (_format=json)", text);
      return FALSE;
    }

  if (accept != NULL && *accept != '\0')
    {
      GSList *unacceptable = NULL;
      GSList *acceptable = soup_header_parse_quality_list (accept, &unacceptable);
      gboolean found = FALSE, xml = FALSE;

      for (GSList *l = acceptable; l != NULL && !found; l = l->next)
        {
          g_autofree char *type = media_type (l->data);

          if (strcmp (type, PLAIN_JSON) == 0 || strcmp (type, "text/json") == 0)
            {
              req->content_type = PLAIN_JSON;
              found = TRUE;
            }
          else if (is_json_media_type (type) || strcmp (type, "*/*") == 0
                   || strcmp (type, "application/*") == 0)
            found = TRUE;
          else if (is_xml_media_type (type))
            xml = TRUE;
        }
      soup_header_free_list (acceptable);
      soup_header_free_list (unacceptable);
      if (!found)
        {
          if (xml)
            g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_NOT_ACCEPTABLE,
                         "Accept: this server does not serve XML; accept "
                         "application/fhir+json");
          else
            g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_NOT_ACCEPTABLE,
                         "Accept: none of the types accepted is served; accept "
                         "application/fhir+json");
          return FALSE;
        }
    }
  return TRUE;
}

/* gzip when the client takes it and the body is worth it. */
static gboolean
accepts_gzip (ChartaServerRequest *req)
{
  const char *header = soup_message_headers_get_list (req->headers, "Accept-Encoding");
  GSList *unacceptable = NULL;
  GSList *acceptable;
  gboolean gzip = FALSE;

  if (header == NULL)
    return FALSE;
  acceptable = soup_header_parse_quality_list (header, &unacceptable);
  for (GSList *l = acceptable; l != NULL; l = l->next)
    if (g_ascii_strcasecmp (l->data, "gzip") == 0 || g_ascii_strcasecmp (l->data, "x-gzip") == 0
        || strcmp (l->data, "*") == 0)
      gzip = TRUE;
  for (GSList *l = unacceptable; l != NULL; l = l->next)
    if (g_ascii_strcasecmp (l->data, "gzip") == 0)
      gzip = FALSE;
  soup_header_free_list (acceptable);
  soup_header_free_list (unacceptable);
  return gzip;
}

static GBytes *
gzip_bytes (GBytes *bytes)
{
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP,
                                                                 6);
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) out = g_converter_output_stream_new (memory,
                                                                G_CONVERTER (compressor));
  gsize length;
  const void *data = g_bytes_get_data (bytes, &length);

  if (!g_output_stream_write_all (out, data, length, NULL, NULL, NULL)
      || !g_output_stream_close (out, NULL, NULL))
    return NULL;
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
}

/* CORS response headers for a request from @origin (none when it is not allowed). */
static gboolean
cors_allows (ChartaServer *self,
             const char   *origin)
{
  if (origin == NULL)
    return FALSE;
  for (unsigned i = 0; i < self->cors_origins->len; i++)
    {
      const char *allowed = g_ptr_array_index (self->cors_origins, i);

      if (strcmp (allowed, "*") == 0 || strcmp (allowed, origin) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
add_cors_headers (ChartaServer       *self,
                  SoupMessageHeaders *request,
                  SoupMessageHeaders *response)
{
  const char *origin = soup_message_headers_get_one (request, "Origin");

  if (!cors_allows (self, origin))
    return;
  soup_message_headers_replace (response, "Access-Control-Allow-Origin", origin);
  soup_message_headers_append (response, "Vary", "Origin");
  soup_message_headers_replace (response, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
}

/* What the worker does after the handler: compression and Vary.  (CORS headers are added on
 * the main context, where the list of origins is kept.) */
static void
finish_response (ChartaServerRequest *req)
{
  if (req->response_body != NULL && g_bytes_get_size (req->response_body) >= GZIP_MIN_SIZE)
    {
      soup_message_headers_append (req->response_headers, "Vary", "Accept-Encoding");
      if (accepts_gzip (req))
        {
          GBytes *compressed = gzip_bytes (req->response_body);

          if (compressed != NULL)
            {
              g_bytes_unref (req->response_body);
              req->response_body = compressed;
              soup_message_headers_replace (req->response_headers, "Content-Encoding", "gzip");
            }
        }
    }
}

/* ---- jobs ----------------------------------------------------------------------------------- */

void
charta_server_request_clear (ChartaServerRequest *req)
{
  g_clear_object (&req->server);
  g_clear_object (&req->store);
  g_clear_pointer (&req->path, g_free);
  g_clear_pointer (&req->query, g_free);
  g_clear_pointer (&req->params, g_hash_table_unref);
  g_clear_pointer (&req->headers, soup_message_headers_unref);
  g_clear_pointer (&req->body, g_bytes_unref);
  g_clear_pointer (&req->base_url, g_free);
  g_clear_pointer (&req->request_id, g_free);
  g_clear_pointer (&req->response_headers, soup_message_headers_unref);
  g_clear_pointer (&req->response_body, g_bytes_unref);
  g_clear_pointer (&req->upload, upload_unref);
  g_clear_object (&req->response_stream);
  g_clear_pointer (&req->response_prefix, g_bytes_unref);
  g_clear_pointer (&req->response_suffix, g_bytes_unref);
}

static void
job_free (Job *job)
{
  g_clear_object (&job->msg);
  charta_server_request_clear (&job->req);
  g_free (job);
}

static void
copy_header (const char *name,
             const char *value,
             gpointer    user_data)
{
  soup_message_headers_append (user_data, name, value);
}

/* A new X-Request-Id: a UUID (RFC 9562 version 8, its own layout) of the server's random
 * 64-bit prefix and a count of the ids made, so unique for the server (and, the prefixes
 * being random, for the process) and cheap to make, unlike a random UUID per request.  It
 * names a request in logs, and is no secret (main context). */
static char *
new_request_id (ChartaServer *self)
{
  static const char hex[] = "0123456789abcdef";
  guint64 count = self->n_request_ids++ & G_GUINT64_CONSTANT (0x3fffffffffffffff);
  guint8 bytes[16];
  char *id = g_malloc (37);
  char *out = id;

  for (unsigned i = 0; i < 8; i++)
    {
      bytes[i] = (guint8) (self->request_id_prefix >> (56 - 8 * i));
      bytes[8 + i] = (guint8) (count >> (56 - 8 * i));
    }
  bytes[6] = (guint8) (0x80 | (bytes[6] & 0x0f));  /* the version, 8 */
  bytes[8] = (guint8) (0x80 | (bytes[8] & 0x3f));  /* the variant, 10 */
  for (unsigned i = 0; i < 16; i++)
    {
      if (i == 4 || i == 6 || i == 8 || i == 10)
        *out++ = '-';
      *out++ = hex[bytes[i] >> 4];
      *out++ = hex[bytes[i] & 0x0f];
    }
  *out = '\0';
  return id;
}

/* The X-Request-Id to echo: the client's when it is a plain token, else a new one. */
static char *
request_id_for (ChartaServer       *self,
                SoupMessageHeaders *headers)
{
  const char *id = soup_message_headers_get_one (headers, "X-Request-Id");
  size_t n = 0;

  if (id != NULL)
    {
      for (const char *p = id; *p != '\0'; p++, n++)
        if (!g_ascii_isalnum (*p) && strchr ("-._:", *p) == NULL)
          break;
      if (n > 0 && n <= MAX_REQUEST_ID && id[n] == '\0')
        return g_strdup (id);
    }
  return new_request_id (self);
}

/* Writes @req's response onto @msg (main context). */
static void
apply_response (SoupServerMessage   *msg,
                ChartaServerRequest *req)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  SoupMessageBody *body = soup_server_message_get_response_body (msg);

  soup_server_message_set_status (msg, req->status, NULL);
  soup_message_headers_foreach (req->response_headers, copy_header, headers);
  soup_message_headers_replace (headers, "X-Request-Id", req->request_id);
  add_cors_headers (req->server, soup_server_message_get_request_headers (msg), headers);
  if (req->response_stream != NULL)
    {
      /* Binary content: its head now, its body as it is read (HEAD: none) */
      soup_message_headers_set_content_length (headers, req->response_length);
      if (soup_server_message_get_method (msg) != SOUP_METHOD_HEAD)
        download_start (req->server, msg, req);
      return;
    }
  if (req->response_body != NULL && req->status != SOUP_STATUS_NO_CONTENT
      && req->status != SOUP_STATUS_NOT_MODIFIED)
    {
      const char *media = req->response_type != NULL ? req->response_type : FHIR_JSON;
      g_autofree char *other = NULL;
      const char *type;

      if (strcmp (media, FHIR_JSON) == 0)
        type = FHIR_JSON "; charset=utf-8";
      else if (strcmp (media, PLAIN_JSON) == 0)
        type = PLAIN_JSON "; charset=utf-8";
      else
        type = other = g_strdup_printf ("%s; charset=utf-8", media);
      soup_message_headers_replace (headers, "Content-Type", type);
      soup_message_headers_set_content_length (headers,
                                               (goffset) g_bytes_get_size (req->response_body));
      soup_message_body_truncate (body);
      soup_message_body_append_bytes (body, req->response_body);
    }
  else if (req->status != SOUP_STATUS_NO_CONTENT && req->status != SOUP_STATUS_NOT_MODIFIED)
    soup_message_headers_set_content_length (headers, 0);
}

static gboolean
job_complete (gpointer data)
{
  Job *job = data;
  ChartaServer *self = job->req.server;

  if (!job->finished)
    {
      gboolean streamed = job->req.response_stream != NULL;

      apply_response (job->msg, &job->req);
      /* (a streamed body goes out as it comes: not held back) */
      if (!streamed)
        connection_cork (self, job->msg);
      soup_server_message_unpause (job->msg);
    }
  g_hash_table_remove (self->jobs, job->msg);
  g_atomic_int_dec_and_test (&self->n_pending);
  job_free (job);
  return G_SOURCE_REMOVE;
}

/* The main context answers every job the workers have finished, in one wake-up: under load
 * one drain serves many responses, where a wake-up per response (g_main_context_invoke() for
 * each) would cost two thread switches per request. */
static gboolean
drain_done (gpointer data)
{
  ChartaServer *self = data;
  Job *job;

  /* (cleared first: a job queued from now on schedules another drain) */
  g_atomic_int_set (&self->drain_scheduled, 0);
  while ((job = g_async_queue_try_pop (self->done)) != NULL)
    job_complete (job);
  return G_SOURCE_CONTINUE;
}

/* A job, or a batch of reads chained by @next. */
static void
worker_run (gpointer data,
            gpointer user_data)
{
  Job *next;

  for (Job *job = data; job != NULL; job = next)
    {
      ChartaServer *self = job->req.server;

      next = job->next;
      process_request (&job->req);
      finish_response (&job->req);
      g_async_queue_push (self->done, job);
      /* (a wake-up costs a write to the context's eventfd: only when the main context may be
       * waiting; else it sees @drain_scheduled before it waits, see hand_off_prepare()) */
      if (g_atomic_int_compare_and_exchange (&self->drain_scheduled, 0, 1)
          && g_atomic_int_get (&self->polling))
        g_main_context_wakeup (self->context);
    }
}

/* The reads that came in one main-loop iteration go to the pool as a few batches, one per
 * READS_PER_BATCH reads (rounded up) and at most one per processor: a wake-up of a worker per
 * batch rather than per request (a wake-up costs the main context about what a read costs a
 * worker).  Only reads of one resource (or version) are batched, whose time is bounded: a
 * search or a write goes alone, so that it never holds up another request. */
#define READS_PER_BATCH 4

static gboolean
flush_reads (gpointer data)
{
  ChartaServer *self = data;
  unsigned n = self->reads->len;
  unsigned n_batches = MIN ((n + READS_PER_BATCH - 1) / READS_PER_BATCH, self->n_processors);

  for (unsigned b = 0; b < n_batches; b++)
    {
      Job *head = NULL;
      Job **tail = &head;

      for (unsigned i = b; i < n; i += n_batches)
        {
          Job *job = g_ptr_array_index (self->reads, i);

          job->next = NULL;
          *tail = job;
          tail = (Job **) &job->next;
        }
      g_thread_pool_push (self->pool, head, NULL);
    }
  g_ptr_array_set_size (self->reads, 0);
  return G_SOURCE_CONTINUE;
}

/* The two sources that hand requests to the pool and take the answers back, made once: each
 * is ready when it has something to do, which the main context looks at in every iteration
 * (prepare and check), so that making one ready costs no system call: not a source per
 * wake-up (g_main_context_invoke()), nor a ready time (g_source_set_ready_time(), which writes
 * to the context's eventfd every time).  A worker wakes the main context up only when it may
 * be waiting in poll() (@polling, set in the drain's prepare before it looks at
 * @drain_scheduled: either it sees the drain scheduled, or the worker sees it polling). */
typedef struct
{
  GSource       source;
  ChartaServer *server;
  gboolean      drain;    /* the drain, else the flush */
} HandOff;

static gboolean
hand_off_ready (HandOff *hand_off)
{
  ChartaServer *self = hand_off->server;

  return hand_off->drain ? g_atomic_int_get (&self->drain_scheduled) != 0
                         : self->reads->len > 0;
}

static gboolean
hand_off_prepare (GSource *source,
                  int     *timeout)
{
  HandOff *hand_off = (HandOff *) source;

  *timeout = -1;
  if (hand_off_ready (hand_off))
    return TRUE;
  if (!hand_off->drain)
    return FALSE;
  /* (set, then looked at again: a job queued meanwhile is seen here, or its worker sees
   * @polling set) */
  g_atomic_int_set (&hand_off->server->polling, 1);
  return hand_off_ready (hand_off);
}

static gboolean
hand_off_check (GSource *source)
{
  HandOff *hand_off = (HandOff *) source;

  if (hand_off->drain)
    g_atomic_int_set (&hand_off->server->polling, 0);
  return hand_off_ready (hand_off);
}

static gboolean
hand_off_dispatch (GSource     *source,
                   GSourceFunc  callback,
                   gpointer     user_data)
{
  HandOff *hand_off = (HandOff *) source;

  if (hand_off->drain)
    g_atomic_int_set (&hand_off->server->polling, 0);
  return callback (user_data);
}

static GSourceFuncs hand_off_funcs = { hand_off_prepare, hand_off_check, hand_off_dispatch,
                                       NULL, NULL, NULL };

static GSource *
hand_off_new (ChartaServer *self,
              gboolean      drain)
{
  GSource *source = g_source_new (&hand_off_funcs, sizeof (HandOff));
  HandOff *hand_off = (HandOff *) source;

  hand_off->server = self;
  hand_off->drain = drain;
  g_source_set_name (source, drain ? "charta-server drain" : "charta-server flush");
  g_source_set_callback (source, drain ? drain_done : flush_reads, self, NULL);
  g_source_attach (source, self->context);
  return source;
}

/* "Type/id" or "Type/id/_history/n" with no query: a read of one stored resource. */
static gboolean
is_simple_read (const char *method,
                const char *path,
                const char *query)
{
  unsigned slashes = 0;

  if (method != SOUP_METHOD_GET || query != NULL || path == NULL)
    return FALSE;
  for (const char *p = path; *p != '\0'; p++)
    if (*p == '/')
      slashes++;
    else if (*p == '$')
      return FALSE;
  return slashes == 1 || (slashes == 3 && strstr (path, "/_history/") != NULL);
}

static void
queue_job (ChartaServer *self,
           Job          *job)
{
  /* (alone, when nothing else is in progress: no batch to wait for) */
  if (!is_simple_read (job->req.method, job->req.path, job->req.query)
      || g_atomic_int_get (&self->n_pending) <= 1)
    {
      g_thread_pool_push (self->pool, job, NULL);
      return;
    }
  /* (@flush has the priority of the sockets' sources: it runs in the iteration that
   * dispatches them, or the next, never starved by them) */
  g_ptr_array_add (self->reads, job);
}

/* ---- limits and answers made on the main context ------------------------------------------ */

/* Answers @msg now with @error's status and OperationOutcome; with @close, closes the
 * connection after (what the client sent past a limit is not worth keeping it for). */
static void
respond_now (ChartaServer      *self,
             SoupServerMessage *msg,
             const GError      *error,
             gboolean           close)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autoptr(GBytes) outcome = NULL;
  g_autofree char *request_id = request_id_for (self, request);
  g_autofree char *method = NULL;
  unsigned status = 500;
  gsize length;
  const char *data;

  outcome = charta_server_error_to_outcome (error, CHARTA_SERVER_CONTEXT_DEFAULT, FALSE, &status);
  data = g_bytes_get_data (outcome, &length);
  soup_server_message_set_response (msg, FHIR_JSON "; charset=utf-8", SOUP_MEMORY_COPY, data,
                                    length);
  soup_server_message_set_status (msg, status, NULL);
  soup_message_headers_set_content_length (headers, (goffset) length);
  if (close)
    soup_message_headers_replace (headers, "Connection", "close");
  soup_message_headers_replace (headers, "X-Request-Id", request_id);
  add_cors_headers (self, request, headers);
  method = charta_server_dup_log_text (soup_server_message_get_method (msg) != NULL
                                       ? soup_server_message_get_method (msg) : "?", 16);
  g_debug ("%s: %u before the body (%s %d)", method, status, g_quark_to_string (error->domain),
           error->code);
}

/* The error code of a status that libsoup set itself, refusing a request before the server's
 * handlers saw it. */
static ChartaServerError
error_code_for_status (unsigned status)
{
  switch (status)
    {
    case SOUP_STATUS_NOT_FOUND:
      return CHARTA_SERVER_ERROR_NOT_FOUND;
    case SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE:
      return CHARTA_SERVER_ERROR_TOO_LARGE;
    case SOUP_STATUS_REQUEST_URI_TOO_LONG:
      return CHARTA_SERVER_ERROR_URI_TOO_LONG;
    case 431:
      return CHARTA_SERVER_ERROR_HEADERS_TOO_LARGE;
    case SOUP_STATUS_NOT_IMPLEMENTED:
      return CHARTA_SERVER_ERROR_NOT_IMPLEMENTED;
    case SOUP_STATUS_SERVICE_UNAVAILABLE:
      return CHARTA_SERVER_ERROR_UNAVAILABLE;
    default:
      return status >= 500 ? CHARTA_SERVER_ERROR_INTERNAL : CHARTA_SERVER_ERROR_BAD_REQUEST;
    }
}

/* libsoup refused @msg itself once its head was read (a request line whose URL is not http):
 * its answer gets an OperationOutcome too, with libsoup's status. */
static void
describe_refusal (ChartaServer      *self,
                  SoupServerMessage *msg)
{
  unsigned status = soup_server_message_get_status (msg);
  g_autoptr(GError) error = NULL;

  error = g_error_new (CHARTA_SERVER_ERROR, error_code_for_status (status),
                       "the request cannot be served as it was sent (%u %s): check its request "
                       "line (an http URL or a path) and its headers", status,
                       soup_status_get_phrase (status));
  respond_now (self, msg, error, TRUE);
  soup_server_message_set_status (msg, status, NULL);
}

/* ---- connections ---------------------------------------------------------------------------
 *
 * The server accepts its connections itself (a non-blocking listening GSocket per address) and
 * hands each to libsoup with soup_server_accept_iostream().  So every connection is known from
 * the moment it is accepted: counted against the limit, and closed once it has been idle for
 * the idle timeout, idle meaning that no request is in progress on it (a request is in
 * progress from its complete head to its answer): a connection that never sent a byte, or
 * sends its request head too slowly, is closed like one that made its requests and then went
 * quiet.  A connection past the limit is handed to libsoup all the same, marked: its first
 * request is answered 503 and the connection closed (past the limit and MAX_REFUSED more, it
 * is closed at once, unanswered: the server protects itself).
 *
 * libsoup 3.2 keeps a connection alive between requests only while the SoupServer has a
 * listener of its own (request_finished() checks for one), so it is given one that nobody can
 * reach: a Unix socket bound in a private temporary directory, unlinked at once.
 *
 * libsoup 3.2 never notices that a client closed a kept-alive connection on which it waits for
 * the next request: the socket would stay open (CLOSE-WAIT) until the server stops.  So while
 * a connection is idle and nothing has come it is watched here: when the client closes it, it
 * is closed here.  A connection closed here (so, or by the idle timeout) is taken from libsoup
 * through the message waiting on it when libsoup has announced one (request-started: at the
 * accept, and once the first bytes of a later request come), which frees libsoup's part of it;
 * of a kept-alive connection closed between requests, libsoup keeps its objects until the
 * server stops (about 2 KiB each).  Connections are keyed by the remote address object handed
 * to libsoup, which libsoup gives back as the remote address of the connection's messages; the
 * GSocket is followed with a weak reference, libsoup owning the connection.
 *
 * A request refused before its body (too large, a Content-Length that is none, past the
 * connection limit…) is answered at once: libsoup 3.2 would read the whole declared body
 * before writing any answer.  The connection is taken from libsoup
 * (soup_server_message_steal_connection()), the answer written here, the sending side shut,
 * and what the client still sends read and dropped for a moment, so that the close does not
 * reset the connection before the client has read the answer; then the socket is closed.
 */

#define LISTEN_BACKLOG   256
#define MAX_ACCEPTS      64         /* per wake-up of a listening socket */
#define MAX_REFUSED      64         /* connections past the limit kept to be answered 503 */
#define REFUSAL_SECONDS  3          /* a refused request's answer and the drain after it */
#define REFUSAL_READS    64         /* reads of what a refused client sends, per wake-up */

typedef struct
{
  ChartaServer      *server;      /* unowned: the server forgets its connections first */
  GSocket           *socket;      /* weak (socket_gone()): libsoup owns the connection */
  GSocketAddress    *remote;      /* the key: the remote address libsoup gives its messages */
  GSource           *watch;       /* while idle and nothing came: wakes on data or a close
                                   * (a Watch, made once: see connection_watch()) */
  SoupServerMessage *waiting;     /* weak: libsoup's message waiting for a request head */
  unsigned           n_active;    /* requests in progress */
  int64_t            idle_since;  /* monotonic µs: accepted, or the last request ended */
  gboolean           over_limit;  /* accepted past the limit: its request is answered 503 */
  gboolean           taken;       /* taken from libsoup: answered and closed by a Refusal */
  gboolean           corked;      /* TCP_CORK set while a response is written */
} Connection;

/* A listening socket of ours. */
typedef struct
{
  ChartaServer *server;   /* unowned: the server closes its listeners when it stops */
  GSocket      *socket;
  GSource      *source;   /* wakes when a connection waits to be accepted */
  GSource      *pause;    /* after a failed accept (out of descriptors): a moment's rest */
} Listener;

/* A refused request's connection, taken from libsoup: its answer is written, then what the
 * client still sends is dropped until it closes (or REFUSAL_SECONDS pass). */
typedef struct
{
  ChartaServer *server;   /* unowned: the server ends its refusals when it stops */
  GIOStream    *stream;   /* libsoup's stream of the connection: the socket stays open */
  GSocket      *socket;
  GBytes       *answer;   /* the whole response */
  size_t        written;
  gboolean      shut;     /* the answer is sent and the sending side shut */
  int64_t       deadline; /* monotonic µs */
  GSource      *source;
} Refusal;

static void
connection_free (gpointer data)
{
  Connection *conn = data;

  if (conn->watch != NULL)
    {
      g_source_destroy (conn->watch);
      g_source_unref (conn->watch);
    }
  if (conn->waiting != NULL)
    g_object_remove_weak_pointer (G_OBJECT (conn->waiting), (gpointer *) &conn->waiting);
  if (!conn->over_limit)
    conn->server->n_admitted--;
  g_object_unref (conn->remote);
  g_free (conn);
}

static void
socket_gone (gpointer  data,
             GObject  *where_the_object_was)
{
  Connection *conn = data;
  ChartaServer *self = conn->server;

  conn->socket = NULL;
  g_hash_table_remove (self->connections, conn->remote);
  g_debug ("connection gone: %u open", g_hash_table_size (self->connections));
}

/* Stops tracking @conn (the socket lives on in libsoup) and frees it. */
static void
connection_forget (ChartaServer *self,
                   Connection   *conn)
{
  if (conn->socket != NULL)
    g_object_weak_unref (G_OBJECT (conn->socket), socket_gone, conn);
  g_hash_table_remove (self->connections, conn->remote);
}

/* Closes @conn (idle) and forgets it.  Taken from libsoup through the message that waits on it
 * (one libsoup announced: the first of a connection, or one whose head has begun), libsoup lets
 * go of what it holds for the connection; otherwise (a kept-alive connection, whose next
 * message libsoup 3.2 announces only once bytes of it come) the socket is closed, and libsoup
 * keeps its part until the server stops. */
static void
connection_close (ChartaServer *self,
                  Connection   *conn)
{
  g_autoptr(GSocket) socket = conn->socket != NULL ? g_object_ref (conn->socket) : NULL;
  g_autoptr(SoupServerMessage) waiting = conn->waiting != NULL ? g_object_ref (conn->waiting)
                                                               : NULL;
  g_autoptr(GIOStream) stream = NULL;

  connection_forget (self, conn);
  if (waiting != NULL && socket != NULL && !g_socket_is_closed (socket))
    stream = soup_server_message_steal_connection (waiting);
  if (stream != NULL)
    g_io_stream_close (stream, NULL, NULL);
  if (socket != NULL && !g_socket_is_closed (socket))
    g_socket_close (socket, NULL);
  g_debug ("connection closed%s: %u open", stream != NULL ? " (taken from libsoup)" : "",
           g_hash_table_size (self->connections));
}

/* The idle watch of a connection: a source made once, with the socket's descriptor, which
 * asks for the events of a close or of data only while the connection is idle (@pollfd.events
 * is 0 while a request is in progress, which GLib reads afresh in every iteration): a request
 * neither makes nor destroys a source, nor adds or removes a descriptor, each of which would
 * cost GLib a write to its eventfd.  (poll() reports a hang-up or an error whatever was asked
 * for: the descriptor is taken out of the source, rarely, when one comes while a request is in
 * progress, and put back once it ends.)  On Linux it asks for POLLRDHUP too, which tells data
 * arriving (the next request) from the client's close without a look at the socket. */
#ifdef POLLRDHUP
#define WATCH_EVENTS ((gushort) (G_IO_IN | G_IO_HUP | G_IO_ERR | POLLRDHUP))
#define WATCH_CLOSED ((gushort) (G_IO_HUP | G_IO_ERR | G_IO_NVAL | POLLRDHUP))
#else
#define WATCH_EVENTS ((gushort) (G_IO_IN | G_IO_HUP | G_IO_ERR))
#define WATCH_CLOSED ((gushort) (G_IO_IN | G_IO_HUP | G_IO_ERR | G_IO_NVAL))
#endif

typedef struct
{
  GSource     source;
  GPollFD     pollfd;
  gboolean    polled;     /* @pollfd is in the source */
} Watch;

static gboolean
watch_check (GSource *source)
{
  return ((Watch *) source)->pollfd.revents != 0;
}

static gboolean
watch_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs watch_funcs = { NULL, watch_check, watch_dispatch, NULL, NULL, NULL };

static void
connection_unwatch (Connection *conn)
{
  if (conn->watch != NULL)
    ((Watch *) conn->watch)->pollfd.events = 0;
}

static gboolean
connection_readable (gpointer user_data)
{
  Connection *conn = user_data;
  Watch *watch = (Watch *) conn->watch;
  gushort revents = watch->pollfd.revents;
  g_autoptr(GError) error = NULL;
  char byte;
  GInputVector vector = { &byte, 1 };
  int flags = G_SOCKET_MSG_PEEK;
  gssize n;

  watch->pollfd.revents = 0;
  if (watch->pollfd.events == 0 || conn->taken)
    {
      /* a request is in progress (or the connection was taken from libsoup): a hang-up or an
       * error is libsoup's to see, and is not polled for again until the request ends */
      if (watch->polled && (revents & (G_IO_HUP | G_IO_ERR | G_IO_NVAL)) != 0)
        {
          g_source_remove_poll (conn->watch, &watch->pollfd);
          watch->polled = FALSE;
        }
      return G_SOURCE_CONTINUE;
    }
  if (conn->socket == NULL || g_socket_is_closed (conn->socket))
    {
      connection_close (conn->server, conn);  /* (closed by libsoup) */
      return G_SOURCE_REMOVE;
    }
  if ((revents & WATCH_CLOSED) == 0)
    {
      connection_unwatch (conn);  /* a request is coming: libsoup reads it */
      return G_SOURCE_CONTINUE;
    }
  n = g_socket_receive_message (conn->socket, NULL, &vector, 1, NULL, NULL, &flags, NULL,
                                &error);
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return G_SOURCE_CONTINUE;
  if (n > 0)
    {
      connection_unwatch (conn);  /* a request is coming (the client may have closed after) */
      return G_SOURCE_CONTINUE;
    }
  connection_close (conn->server, conn);  /* closed by the client (0), or broken */
  return G_SOURCE_REMOVE;
}

/* Watches @conn, idle, for the client closing it. */
static void
connection_watch (Connection *conn)
{
  Watch *watch;

  if (conn->socket == NULL || g_socket_is_closed (conn->socket))
    return;
  if (conn->watch == NULL)
    {
      conn->watch = g_source_new (&watch_funcs, sizeof (Watch));
      watch = (Watch *) conn->watch;
      watch->pollfd.fd = g_socket_get_fd (conn->socket);
      g_source_set_callback (conn->watch, connection_readable, conn, NULL);
      g_source_attach (conn->watch, conn->server->context);
    }
  watch = (Watch *) conn->watch;
  watch->pollfd.events = WATCH_EVENTS;
  if (!watch->polled)
    {
      g_source_add_poll (conn->watch, &watch->pollfd);
      watch->polled = TRUE;
    }
}

/* The connection of @msg; NULL when it is not tracked (any more). */
static Connection *
connection_of (ChartaServer      *self,
               SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);

  return remote != NULL && self->connections != NULL
         ? g_hash_table_lookup (self->connections, remote) : NULL;
}

/* A response is about to be written on @msg's connection (it is unpaused): the socket holds
 * what libsoup writes of it (the head, then the body: two writes) until the request ends
 * (connection_uncork(), from request_ended()), so that a small response goes out in one
 * segment rather than one for the head and one for the body: one pass through the network
 * stack, and one wake-up of the client, instead of two.  The bytes sent are the same. */
static void
connection_cork (ChartaServer      *self,
                 SoupServerMessage *msg)
{
#ifdef TCP_CORK
  Connection *conn = connection_of (self, msg);

  if (conn == NULL || conn->taken || conn->corked || conn->socket == NULL
      || g_socket_is_closed (conn->socket))
    return;
  conn->corked = g_socket_set_option (conn->socket, IPPROTO_TCP, TCP_CORK, TRUE, NULL);
#endif
}

/* The request on @conn ended: what the socket holds goes out now. */
static void
connection_uncork (Connection *conn)
{
#ifdef TCP_CORK
  if (!conn->corked)
    return;
  conn->corked = FALSE;
  if (conn->socket != NULL && !g_socket_is_closed (conn->socket))
    g_socket_set_option (conn->socket, IPPROTO_TCP, TCP_CORK, FALSE, NULL);
#endif
}

/* A new connection from a listening socket: tracked, then handed to libsoup. */
static void
connection_accepted (ChartaServer *self,
                     GSocket      *socket)
{
  g_autoptr(GSocketConnection) stream = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autoptr(GError) error = NULL;
  unsigned n_open = g_hash_table_size (self->connections);
  gboolean over = self->max_connections > 0 && self->n_admitted >= self->max_connections;
  Connection *conn;

  if (self->stopped || (over && n_open >= self->max_connections + MAX_REFUSED))
    {
      g_debug ("connection refused unanswered: %u open", n_open);
      g_socket_close (socket, NULL);
      return;
    }
  local = g_socket_get_local_address (socket, NULL);
  remote = g_socket_get_remote_address (socket, NULL);
  if (local == NULL || remote == NULL)
    {
      g_socket_close (socket, NULL);  /* gone already */
      return;
    }
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
  stream = g_socket_connection_factory_create_connection (socket);

  conn = g_new0 (Connection, 1);
  conn->server = self;
  conn->socket = socket;
  conn->remote = g_object_ref (remote);
  conn->idle_since = g_get_monotonic_time ();
  conn->over_limit = over;
  if (!over)
    self->n_admitted++;
  g_hash_table_insert (self->connections, conn->remote, conn);
  g_object_weak_ref (G_OBJECT (socket), socket_gone, conn);
  connection_watch (conn);
  g_debug ("connection opened%s: %u open", over ? " past the limit" : "",
           g_hash_table_size (self->connections));

  if (!soup_server_accept_iostream (self->soup, G_IO_STREAM (stream), local, remote, &error))
    {
      g_debug ("connection not taken by libsoup: %s", error->message);
      connection_close (self, conn);
    }
}

static gboolean listener_ready (GSocket      *socket,
                                GIOCondition  condition,
                                gpointer      user_data);

static void
listener_start (Listener *listener)
{
  listener->source = g_socket_create_source (listener->socket, G_IO_IN, NULL);
  g_source_set_callback (listener->source, G_SOURCE_FUNC (listener_ready), listener, NULL);
  g_source_attach (listener->source, listener->server->context);
}

static gboolean
listener_resume (gpointer user_data)
{
  Listener *listener = user_data;

  g_clear_pointer (&listener->pause, g_source_unref);
  listener_start (listener);
  return G_SOURCE_REMOVE;
}

static gboolean
listener_ready (GSocket      *socket,
                GIOCondition  condition,
                gpointer      user_data)
{
  Listener *listener = user_data;

  for (unsigned i = 0; i < MAX_ACCEPTS; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocket) client = g_socket_accept (socket, NULL, &error);

      if (client != NULL)
        {
          connection_accepted (listener->server, client);
          continue;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      /* out of descriptors, most likely: the waiting connection would wake this up again at
       * once, so accepting rests for a moment */
      g_debug ("accept failed: %s", error->message);
      g_clear_pointer (&listener->source, g_source_unref);
      listener->pause = g_timeout_source_new (100);
      g_source_set_callback (listener->pause, listener_resume, listener, NULL);
      g_source_attach (listener->pause, listener->server->context);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
listener_free (gpointer data)
{
  Listener *listener = data;

  if (listener->source != NULL)
    {
      g_source_destroy (listener->source);
      g_source_unref (listener->source);
    }
  if (listener->pause != NULL)
    {
      g_source_destroy (listener->pause);
      g_source_unref (listener->pause);
    }
  g_socket_close (listener->socket, NULL);
  g_object_unref (listener->socket);
  g_free (listener);
}

/* libsoup keeps connections alive only while it has a listener (see above): one that nobody
 * can reach.  Without it (no temporary directory), every connection closes after a request. */
static void
give_soup_a_listener (ChartaServer *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("charta-serve-XXXXXX", &error);
  g_autofree char *path = dir != NULL ? g_build_filename (dir, "unreachable", NULL) : NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  struct sockaddr_un native = { .sun_family = AF_UNIX };
  gboolean ok = FALSE;

  if (path != NULL && strlen (path) < sizeof native.sun_path)
    {
      memcpy (native.sun_path, path, strlen (path) + 1);
      address = g_socket_address_new_from_native (&native, sizeof native);
      socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                             G_SOCKET_PROTOCOL_DEFAULT, &error);
      ok = socket != NULL && g_socket_bind (socket, address, FALSE, &error)
           && g_socket_listen (socket, &error)
           && soup_server_listen_socket (self->soup, socket, 0, &error);
    }
  if (path != NULL)
    g_unlink (path);
  if (dir != NULL)
    g_rmdir (dir);
  if (!ok)
    g_message ("connections will not be kept alive: no listener for libsoup (%s)",
               error != NULL ? error->message : "the temporary path is too long");
}

/* ---- refused requests, answered at once ---------------------------------------------------- */

static void refusal_step (Refusal *refusal);

static void
refusal_free (gpointer data)
{
  Refusal *refusal = data;

  if (refusal->source != NULL)
    {
      g_source_destroy (refusal->source);
      g_source_unref (refusal->source);
    }
  if (!g_socket_is_closed (refusal->socket))
    g_socket_close (refusal->socket, NULL);
  g_bytes_unref (refusal->answer);
  g_object_unref (refusal->socket);
  g_object_unref (refusal->stream);
  g_free (refusal);
}

static gboolean
refusal_ready (GSocket      *socket,
               GIOCondition  condition,
               gpointer      user_data)
{
  Refusal *refusal = user_data;

  g_clear_pointer (&refusal->source, g_source_unref);
  refusal_step (refusal);
  return G_SOURCE_REMOVE;
}

/* Writes what it can of the answer, then drops what the client sends; waits when the socket
 * would block, ends at the client's close, an error or the deadline. */
static void
refusal_step (Refusal *refusal)
{
  gsize length;
  const char *data = g_bytes_get_data (refusal->answer, &length);
  GIOCondition wait_for = G_IO_IN;
  char buffer[16 * 1024];

  if (g_get_monotonic_time () >= refusal->deadline)
    goto end;
  while (refusal->written < length)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send_with_blocking (refusal->socket, data + refusal->written,
                                              length - refusal->written, FALSE, NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          wait_for = G_IO_OUT;
          goto wait;
        }
      if (n < 0)
        goto end;
      refusal->written += (size_t) n;
    }
  if (!refusal->shut)
    {
      g_socket_shutdown (refusal->socket, FALSE, TRUE, NULL);
      refusal->shut = TRUE;
    }
  for (unsigned i = 0; i < REFUSAL_READS; i++)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_receive_with_blocking (refusal->socket, buffer, sizeof buffer, FALSE,
                                                 NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        goto wait;
      if (n <= 0)
        goto end;  /* the client closed (or reset) its side */
    }

wait:
  refusal->source = g_socket_create_source (refusal->socket, wait_for | G_IO_HUP | G_IO_ERR,
                                            NULL);
  g_source_set_ready_time (refusal->source, refusal->deadline);
  g_source_set_callback (refusal->source, G_SOURCE_FUNC (refusal_ready), refusal, NULL);
  g_source_attach (refusal->source, refusal->server->context);
  return;

end:
  g_ptr_array_remove_fast (refusal->server->refusals, refusal);
}

/* The response on @msg (status, headers, body) as bytes on the wire. */
static GBytes *
serialize_response (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_response_body (msg));
  unsigned status = soup_server_message_get_status (msg);
  GString *out = g_string_new (NULL);
  SoupMessageHeadersIter iter;
  const char *name, *value;

  g_string_append_printf (out, "HTTP/1.%c %u %s\r\n",
                          soup_server_message_get_http_version (msg) == SOUP_HTTP_1_0 ? '0' : '1',
                          status, soup_status_get_phrase (status));
  if (soup_message_headers_get_one (headers, "Date") == NULL)
    {
      g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
      g_autofree char *date = soup_date_time_to_string (now, SOUP_DATE_HTTP);

      soup_message_headers_replace (headers, "Date", date);
    }
  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    g_string_append_printf (out, "%s: %s\r\n", name, value);
  g_string_append (out, "\r\n");
  if (soup_server_message_get_method (msg) != SOUP_METHOD_HEAD)
    g_string_append_len (out, g_bytes_get_data (body, NULL), (gssize) g_bytes_get_size (body));
  return g_string_free_to_bytes (out);
}

/* Whether libsoup would read a body of @msg before it could answer it. */
static gboolean
body_to_come (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  /* with Expect: 100-continue, libsoup answers a refusal instead of the 100 Continue, and
   * reads no body */
  if ((soup_message_headers_get_expectations (headers) & SOUP_EXPECTATION_CONTINUE) != 0)
    return FALSE;
  switch (soup_message_headers_get_encoding (headers))
    {
    case SOUP_ENCODING_CONTENT_LENGTH:
      return soup_message_headers_get_content_length (headers) != 0;
    case SOUP_ENCODING_CHUNKED:
    case SOUP_ENCODING_EOF:
    case SOUP_ENCODING_BYTERANGES:
      return TRUE;
    case SOUP_ENCODING_UNRECOGNIZED:
    case SOUP_ENCODING_NONE:
    default:
      return FALSE;
    }
}

/* Answers @msg with @error before its body: now, and the connection closed after. */
static void
refuse (ChartaServer      *self,
        SoupServerMessage *msg,
        Connection        *conn,
        const GError      *error)
{
  Refusal *refusal;
  GIOStream *stream;
  GBytes *answer;

  /* The body, if any, is not read. */
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  soup_message_body_truncate (soup_server_message_get_request_body (msg));
  respond_now (self, msg, error, TRUE);
  if (conn == NULL || conn->taken || conn->socket == NULL || !body_to_come (msg))
    return;  /* libsoup writes the answer, and closes the connection after */

  answer = serialize_response (msg);
  stream = soup_server_message_steal_connection (msg);
  if (stream == NULL)
    {
      g_bytes_unref (answer);
      return;
    }
  conn->taken = TRUE;
  conn->n_active = 0;
  connection_unwatch (conn);
  if (conn->waiting != NULL)
    {
      g_object_remove_weak_pointer (G_OBJECT (conn->waiting), (gpointer *) &conn->waiting);
      conn->waiting = NULL;
    }
  refusal = g_new0 (Refusal, 1);
  refusal->server = self;
  refusal->stream = stream;
  refusal->socket = g_object_ref (conn->socket);
  refusal->answer = answer;
  refusal->deadline = g_get_monotonic_time () + REFUSAL_SECONDS * G_USEC_PER_SEC;
  g_ptr_array_add (self->refusals, refusal);
  refusal_step (refusal);
}

/* ---- the stages of a request ----------------------------------------------------------------- */

/* A request ended (SoupServer::request-finished and ::request-aborted, which libsoup emits
 * right after the message's own SoupServerMessage::finished, for every message that got its
 * head): a response still being worked on is dropped; when it was the last request of its
 * connection, the connection is idle. */
static void
request_ended (SoupServer        *soup,
               SoupServerMessage *msg,
               gpointer           user_data)
{
  ChartaServer *self = user_data;
  Job *job = self->jobs != NULL ? g_hash_table_lookup (self->jobs, msg) : NULL;
  Connection *conn = connection_of (self, msg);
  ChartaServerUpload *up = self->uploads != NULL ? g_hash_table_lookup (self->uploads, msg)
                                                 : NULL;
  Download *dl = self->downloads != NULL ? g_hash_table_lookup (self->downloads, msg) : NULL;

  if (job != NULL)
    job->finished = TRUE;
  if (up != NULL)
    {
      upload_end (self, up);
      g_hash_table_remove (self->uploads, msg);
    }
  if (dl != NULL)
    {
      dl->ended = TRUE;
      g_hash_table_remove (self->downloads, msg);
    }
  if (conn != NULL)
    connection_uncork (conn);
  if (conn == NULL || conn->taken || conn->n_active == 0 || --conn->n_active > 0)
    return;
  conn->idle_since = g_get_monotonic_time ();
  connection_watch (conn);
}

static void
guard_release (gpointer  data,
               GClosure *closure)
{
  g_rc_box_release (data);
}

/* The head of a request was read (after libsoup's own checks and the early handler). */
static void
request_got_headers (SoupServerMessage *msg,
                     gpointer           user_data)
{
  ServerGuard *guard = user_data;
  ChartaServer *self = guard->server;
  Connection *conn = self != NULL ? connection_of (self, msg) : NULL;

  if (conn == NULL || conn->taken)
    return;
  if (conn->waiting == msg)
    {
      g_object_remove_weak_pointer (G_OBJECT (msg), (gpointer *) &conn->waiting);
      conn->waiting = NULL;
    }
  if (soup_server_message_get_status (msg) != 0
      && soup_server_message_get_response_body (msg)->length == 0)
    describe_refusal (self, msg);
  conn->n_active++;
  connection_unwatch (conn);
}

/* libsoup starts reading a request on a connection: at its accept, and on a connection kept
 * alive once the first bytes of its next request come. */
static void
request_started (SoupServer        *soup,
                 SoupServerMessage *msg,
                 gpointer           user_data)
{
  ChartaServer *self = user_data;
  Connection *conn = connection_of (self, msg);

  g_signal_connect_data (msg, "got-headers", G_CALLBACK (request_got_headers),
                         g_rc_box_acquire (self->guard), guard_release, 0);
  if (conn == NULL || conn->taken)
    return;
  if (conn->waiting != NULL)
    g_object_remove_weak_pointer (G_OBJECT (conn->waiting), (gpointer *) &conn->waiting);
  conn->waiting = msg;
  g_object_add_weak_pointer (G_OBJECT (msg), (gpointer *) &conn->waiting);
}

/* Closes the connections idle for longer than the idle timeout. */
static gboolean
sweep_connections (gpointer user_data)
{
  ChartaServer *self = user_data;
  int64_t now = g_get_monotonic_time ();
  int64_t limit = (int64_t) (self->idle_timeout * G_USEC_PER_SEC);
  g_autoptr(GPtrArray) idle = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  if (self->idle_timeout <= 0)
    return G_SOURCE_CONTINUE;
  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Connection *conn = value;

      if (!conn->taken && conn->n_active == 0 && now - conn->idle_since > limit)
        g_ptr_array_add (idle, conn);
    }
  for (unsigned i = 0; i < idle->len; i++)
    connection_close (self, g_ptr_array_index (idle, i));
  return G_SOURCE_CONTINUE;
}

static void
add_header_size (const char *name,
                 const char *value,
                 gpointer    user_data)
{
  size_t *size = user_data;

  *size += strlen (name) + strlen (value) + 4;  /* ": " and CRLF */
}

/* Content-Length: one value, a number of bytes (libsoup reads "-1" or a number past 2^64 as
 * some length, and waits for that many bytes). */
static gboolean
check_content_length (SoupMessageHeaders  *headers,
                      guint64              max_body,
                      GError             **error)
{
  const char *list = soup_message_headers_get_list (headers, "Content-Length");
  g_autofree char *text = NULL;
  guint64 length = 0;

  if (list == NULL)
    return TRUE;
  if (soup_message_headers_get_list (headers, "Transfer-Encoding") != NULL)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "the request has both Content-Length and Transfer-Encoding: send one");
      return FALSE;
    }
  text = g_strstrip (g_strdup (list));
  if (strchr (text, ',') != NULL)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "Content-Length is given more than once");
      return FALSE;
    }
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p))
      {
        g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                     "Content-Length “%.40s” is not a number of bytes", text);
        return FALSE;
      }
  if (*text == '\0')
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "Content-Length is empty: give the number of bytes of the body");
      return FALSE;
    }
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT64, &length, NULL))
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_TOO_LARGE,
                   "Content-Length %.40s is more than the %" G_GUINT64_FORMAT " bytes allowed",
                   text, max_body);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_request_size (ChartaServer       *self,
                    SoupServerMessage  *msg,
                    guint64             max_body,
                    const char         *what,
                    GError            **error)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  GUri *uri = soup_server_message_get_uri (msg);
  const char *query = g_uri_get_query (uri);
  size_t url_length = strlen (g_uri_get_path (uri)) + (query != NULL ? strlen (query) + 1 : 0);
  size_t header_size = 0;

  if (self->max_url_length > 0 && url_length > self->max_url_length)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_URI_TOO_LONG,
                   "the URL is %zu bytes long, more than the %u allowed: send a long search "
                   "as POST [base]/[type]/_search with the parameters in the body", url_length,
                   self->max_url_length);
      return FALSE;
    }
  soup_message_headers_foreach (headers, add_header_size, &header_size);
  if (self->max_header_size > 0 && header_size > self->max_header_size)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_HEADERS_TOO_LARGE,
                   "the request headers are %zu bytes, more than the %u allowed", header_size,
                   self->max_header_size);
      return FALSE;
    }
  if (!check_content_length (headers, max_body, error))
    return FALSE;
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
      && (guint64) soup_message_headers_get_content_length (headers) > max_body)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_TOO_LARGE,
                   "the %s is %" G_GINT64_FORMAT " bytes, more than the %" G_GUINT64_FORMAT
                   " allowed", what, (gint64) soup_message_headers_get_content_length (headers),
                   max_body);
      return FALSE;
    }
  return TRUE;
}

/* A body without Content-Length (chunked): counted as it comes, refused once over. */
static void
got_chunk (SoupServerMessage *msg,
           GBytes            *chunk,
           gpointer           user_data)
{
  ChartaServer *self = user_data;
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr(GError) error = NULL;

  if (soup_server_message_get_status (msg) != 0
      || (guint64) body->length <= self->max_body_size)
    return;
  g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_TOO_LARGE,
               "the body is more than the %zu bytes allowed", self->max_body_size);
  refuse (self, msg, connection_of (self, msg), error);
}

/* ---- Binary content: raw bodies in, content out ---------------------------------------------
 *
 * POST [base]/Binary and PUT [base]/Binary/[id] with a body that is no resource (any
 * Content-Type but FHIR JSON or FHIR XML) upload the content of a Binary as it is (FHIR R4
 * http.html, "Binary Resources"): Content-Type becomes Binary.contentType, X-Security-Context
 * Binary.securityContext.  The body is never held whole: the early handler sees such an upload,
 * applies the Binary limit (max-binary-size, not max-body-size) and stops libsoup accumulating
 * the body; each piece libsoup reads (got-chunk) is queued for a drain on the stream pool, which
 * writes it through a ChartaContentWriter (hashing, then the store's writer thread, a batch of
 * chunks at a time).  When more than UPLOAD_HIGH_WATER bytes wait, the message is paused:
 * libsoup stops reading the socket, and TCP slows the client down, until the drain has brought
 * them under UPLOAD_LOW_WATER.  Once the whole body is in, the handler queues the request as any
 * other; its worker waits for the drain, ends the content and writes the Binary's version
 * (charta_store_put_binary()).  A body over the limit is refused with 413 at once (a declared
 * one before any byte is read, a chunked one as soon as it goes over), and one whose request
 * ends before it does (the client left) has what was written dropped: nothing is stored.
 *
 * GET (and HEAD) [base]/Binary/[id] and its versions answer the content as it is, with the
 * Binary's contentType, Range requests included, or the Binary as FHIR JSON with the content as
 * base64 `data` when the client asks for FHIR JSON.  Either way the body is streamed: the worker
 * opens the content (charta_store_open_binary()) and makes the headers; on the main context the
 * response body is not accumulated, and pieces of DOWNLOAD_PIECE bytes, read (and encoded) on
 * the stream pool, are appended as libsoup writes them, DOWNLOAD_AHEAD of them at most waiting.
 * A transfer holds a few MiB whatever its size.
 */

#define UPLOAD_HIGH_WATER (8 * 1024 * 1024)
#define UPLOAD_LOW_WATER  (2 * 1024 * 1024)
#define DOWNLOAD_PIECE    (1024 * 1024)
#define DOWNLOAD_AHEAD    2

static char *decode_path (const char  *path,
                          GError     **error);
static ChartaStore *resolve_store (ChartaServer  *self,
                                   const char    *path,
                                   char         **base,
                                   char         **rest);

/* Work for the stream pool. */
typedef struct
{
  GFunc    func;
  gpointer data;
} StreamTask;

static void
stream_task_run (gpointer data,
                 gpointer user_data)
{
  StreamTask *task = data;

  task->func (task->data, NULL);
  g_free (task);
}

/* A callback queued on the main context by the stream pool: counted, so that the server's stop
 * can run those still queued (they hold what they were given). */
typedef struct
{
  ServerGuard    *guard;
  GSourceFunc     func;
  gpointer        data;
  GDestroyNotify  destroy;
} Posted;

static gboolean
posted_run (gpointer data)
{
  Posted *posted = data;

  return posted->func (posted->data);
}

static void
posted_free (gpointer data)
{
  Posted *posted = data;

  if (posted->destroy != NULL)
    posted->destroy (posted->data);
  g_atomic_int_dec_and_test (&posted->guard->posted);
  g_rc_box_release (posted->guard);
  g_free (posted);
}

static void
post_to_main (ServerGuard    *guard,
              GMainContext   *context,
              GSourceFunc     func,
              gpointer        data,
              GDestroyNotify  destroy)
{
  Posted *posted = g_new (Posted, 1);

  posted->guard = g_rc_box_acquire (guard);
  posted->func = func;
  posted->data = data;
  posted->destroy = destroy;
  g_atomic_int_inc (&guard->posted);
  g_main_context_invoke_full (context, G_PRIORITY_DEFAULT, posted_run, posted, posted_free);
}

static void
stream_push (ChartaServer *self,
             GFunc         func,
             gpointer      data)
{
  StreamTask *task = g_new (StreamTask, 1);

  task->func = func;
  task->data = data;
  g_thread_pool_push (self->stream_pool, task, NULL);
}

struct _ChartaServerUpload
{
  gatomicrefcount      ref_count;
  ServerGuard         *guard;        /* the server (NULL once disposed) */
  ChartaStore         *store;
  GMainContext        *context;      /* the server's, where the message is resumed */

  /* Main context only. */
  SoupServerMessage   *msg;          /* until the body is in, or the request ends */
  guint64              limit;        /* max-binary-size when the request came */
  guint64              received;
  gboolean             pressure;     /* paused for the drain to catch up */

  GMutex               lock;         /* guards what follows */
  GCond                cond;         /* signalled when a drain ends */
  GQueue               chunks;       /* GBytes *: received, not yet written */
  size_t               queued;       /* their bytes */
  gboolean             draining;     /* a drain is queued or running */
  gboolean             resume;       /* the message waits for @queued to come down */
  gboolean             ended;        /* the request ended before its body: drop the content */
  gboolean             taken;        /* the request's worker has @writer */
  ChartaContentWriter *writer;       /* the drain's, then the worker's; NULL before any byte */
  GError              *error;        /* the writer's first failure */
};

static ChartaServerUpload *
upload_ref (ChartaServerUpload *up)
{
  g_atomic_ref_count_inc (&up->ref_count);
  return up;
}

static void
upload_unref (ChartaServerUpload *up)
{
  if (up == NULL || !g_atomic_ref_count_dec (&up->ref_count))
    return;
  /* (by then a drain or the worker has ended or dropped the content) */
  g_assert (up->writer == NULL);
  g_queue_clear_full (&up->chunks, (GDestroyNotify) g_bytes_unref);
  g_clear_object (&up->msg);
  g_clear_object (&up->store);
  g_main_context_unref (up->context);
  g_rc_box_release (up->guard);
  g_clear_error (&up->error);
  g_mutex_clear (&up->lock);
  g_cond_clear (&up->cond);
  g_free (up);
}

static void
upload_closure_unref (gpointer  data,
                      GClosure *closure)
{
  upload_unref (data);
}

/* FHIR XML: a resource in the body, which this server does not read (415). */
static gboolean
is_fhir_xml_media_type (const char *type)
{
  return strcmp (type, "application/fhir+xml") == 0
         || strcmp (type, "application/xml+fhir") == 0;
}

/* Whether @msg uploads the content of a Binary: POST [base]/Binary or PUT [base]/Binary/[id]
 * with a Content-Type that is no FHIR JSON or XML.  @path: as libsoup gives it. */
static gboolean
is_binary_upload (ChartaServer      *self,
                  SoupServerMessage *msg,
                  const char        *path)
{
  const char *method = soup_server_message_get_method (msg);
  const char *content_type = soup_message_headers_get_one (
    soup_server_message_get_request_headers (msg), "Content-Type");
  g_autoptr(ChartaStore) store = NULL;
  g_autofree char *type = NULL;
  g_autofree char *decoded = NULL;
  g_autofree char *base = NULL;
  g_autofree char *rest = NULL;
  size_t n;

  if ((method != SOUP_METHOD_POST && method != SOUP_METHOD_PUT) || content_type == NULL)
    return FALSE;
  type = media_type (content_type);
  if (is_json_media_type (type) || is_fhir_xml_media_type (type))
    return FALSE;
  decoded = decode_path (path, NULL);
  if (decoded == NULL)
    return FALSE;
  store = resolve_store (self, decoded, &base, &rest);
  if (store == NULL)
    return FALSE;
  n = strlen (rest);
  while (n > 0 && rest[n - 1] == '/')
    rest[--n] = '\0';
  if (method == SOUP_METHOD_POST)
    return strcmp (rest, "Binary") == 0;
  return g_str_has_prefix (rest, "Binary/") && charta_server_is_valid_id (rest + 7);
}

static gboolean upload_resume (gpointer data);

/* The bytes @up holds for the writer go to it.  (Stream pool.) */
static void
upload_drain (gpointer data,
              gpointer user_data)
{
  ChartaServerUpload *up = data;

  for (;;)
    {
      ChartaContentWriter *dropped = NULL;
      gboolean resume = FALSE;
      GBytes *chunk;

      g_mutex_lock (&up->lock);
      if (up->ended && !up->taken)
        {
          g_queue_clear_full (&up->chunks, (GDestroyNotify) g_bytes_unref);
          up->queued = 0;
          dropped = g_steal_pointer (&up->writer);
        }
      chunk = g_queue_pop_head (&up->chunks);
      if (chunk == NULL)
        {
          up->draining = FALSE;
          g_cond_broadcast (&up->cond);
          g_mutex_unlock (&up->lock);
          if (dropped != NULL)
            {
              g_debug ("a Binary upload ended before its body: what came is dropped");
              charta_content_writer_abort (dropped);
            }
          break;
        }
      up->queued -= g_bytes_get_size (chunk);
      if (up->resume && up->queued <= UPLOAD_LOW_WATER)
        {
          up->resume = FALSE;
          resume = TRUE;
        }
      if (up->writer == NULL && up->error == NULL)
        up->writer = charta_store_content_begin (up->store, &up->error);
      g_mutex_unlock (&up->lock);

      if (resume)
        post_to_main (up->guard, up->context, upload_resume, upload_ref (up),
                      (GDestroyNotify) upload_unref);
      /* (the writer is this drain's alone while it runs: no lock needed) */
      if (up->error == NULL)
        {
          gsize size;
          const void *bytes = g_bytes_get_data (chunk, &size);
          GError *error = NULL;

          if (!charta_content_writer_write (up->writer, bytes, size, &error))
            {
              g_mutex_lock (&up->lock);
              up->error = error;
              g_mutex_unlock (&up->lock);
            }
        }
      g_bytes_unref (chunk);
    }
  upload_unref (up);
}

/* The drain has caught up: libsoup may read on.  (Main context.) */
static gboolean
upload_resume (gpointer data)
{
  ChartaServerUpload *up = data;

  if (up->msg != NULL && up->pressure)
    {
      up->pressure = FALSE;
      soup_server_message_unpause (up->msg);
    }
  return G_SOURCE_REMOVE;
}

/* The request ended before its body was in (the client left, it was refused, the server
 * stops): what came is dropped, on the stream pool.  (Main context.) */
static void
upload_end (ChartaServer       *self,
            ChartaServerUpload *up)
{
  gboolean start;

  g_mutex_lock (&up->lock);
  up->ended = TRUE;
  start = !up->draining && !up->taken && (up->writer != NULL || up->chunks.length > 0);
  if (start)
    up->draining = TRUE;
  g_mutex_unlock (&up->lock);
  g_clear_object (&up->msg);
  up->pressure = FALSE;
  if (start)
    stream_push (self, upload_drain, upload_ref (up));
}

static void
upload_got_chunk (SoupServerMessage *msg,
                  GBytes            *chunk,
                  gpointer           user_data)
{
  ChartaServerUpload *up = user_data;
  ChartaServer *self = up->guard->server;
  gsize size = g_bytes_get_size (chunk);
  gboolean start, pause;

  if (self == NULL || up->msg == NULL)
    return;
  up->received += size;
  if (up->received > up->limit)
    {
      g_autoptr(GError) error = g_error_new (CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_TOO_LARGE,
                                             "the Binary content is more than the %"
                                             G_GUINT64_FORMAT " bytes allowed", up->limit);

      upload_ref (up);
      upload_end (self, up);
      g_hash_table_remove (self->uploads, msg);
      refuse (self, msg, connection_of (self, msg), error);
      upload_unref (up);
      return;
    }
  g_mutex_lock (&up->lock);
  g_queue_push_tail (&up->chunks, g_bytes_ref (chunk));
  up->queued += size;
  start = !up->draining;
  up->draining = TRUE;
  pause = up->queued >= UPLOAD_HIGH_WATER && !up->resume;
  if (pause)
    up->resume = TRUE;
  g_mutex_unlock (&up->lock);
  if (pause)
    {
      up->pressure = TRUE;
      soup_server_message_pause (msg);
    }
  if (start)
    stream_push (self, upload_drain, upload_ref (up));
}

/* @msg is a Binary upload: its body goes to the content store as it comes.  (Early handler.) */
static void
upload_start (ChartaServer      *self,
              SoupServerMessage *msg)
{
  ChartaServerUpload *up = g_new0 (ChartaServerUpload, 1);

  g_atomic_ref_count_init (&up->ref_count);
  up->guard = g_rc_box_acquire (self->guard);
  up->store = g_object_ref (self->store);
  up->context = g_main_context_ref (self->context);
  up->msg = g_object_ref (msg);
  up->limit = self->max_binary_size;
  g_mutex_init (&up->lock);
  g_cond_init (&up->cond);
  g_queue_init (&up->chunks);
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  g_signal_connect_data (msg, "got-chunk", G_CALLBACK (upload_got_chunk), upload_ref (up),
                         upload_closure_unref, 0);
  g_hash_table_insert (self->uploads, msg, up);
}

/* Waits for the drain to write what came; then the writer is the caller's (NULL when no byte
 * came), or FALSE and @error when it failed.  (A worker.) */
static gboolean
upload_take_writer (ChartaServerUpload   *up,
                    ChartaContentWriter **writer,
                    GError              **error)
{
  g_mutex_lock (&up->lock);
  while (up->draining)
    g_cond_wait (&up->cond, &up->lock);
  up->taken = TRUE;
  *writer = g_steal_pointer (&up->writer);
  if (up->error != NULL)
    g_propagate_error (error, g_error_copy (up->error));
  g_mutex_unlock (&up->lock);
  if (error != NULL && *error != NULL)
    {
      charta_content_writer_abort (g_steal_pointer (writer));
      return FALSE;
    }
  return TRUE;
}

/* An upload the request will not store (refused by its headers): what came is dropped.
 * (A worker.) */
static void
upload_discard (ChartaServerUpload *up)
{
  ChartaContentWriter *writer = NULL;

  if (upload_take_writer (up, &writer, NULL))
    charta_content_writer_abort (writer);
}

/* ---- sending content ---- */


typedef struct
{
  Download *download;
  GBytes   *bytes;
  gboolean  eof;
  GError   *error;
} DownloadPiece;

static Download *
download_ref (Download *dl)
{
  g_atomic_ref_count_inc (&dl->ref_count);
  return dl;
}

static void
download_unref (Download *dl)
{
  if (dl == NULL || !g_atomic_ref_count_dec (&dl->ref_count))
    return;
  g_clear_object (&dl->stream);
  g_clear_object (&dl->msg);
  g_clear_pointer (&dl->suffix, g_bytes_unref);
  g_main_context_unref (dl->context);
  g_rc_box_release (dl->guard);
  g_free (dl);
}

static void
download_closure_unref (gpointer  data,
                        GClosure *closure)
{
  download_unref (data);
}

static void
download_piece_free (gpointer data)
{
  DownloadPiece *piece = data;

  download_unref (piece->download);
  g_clear_pointer (&piece->bytes, g_bytes_unref);
  g_clear_error (&piece->error);
  g_free (piece);
}

static gboolean download_got (gpointer data);

/* The next piece of the content.  (Stream pool.) */
static void
download_read (gpointer data,
               gpointer user_data)
{
  Download *dl = data;
  DownloadPiece *piece = g_new0 (DownloadPiece, 1);
  guint8 *buffer = g_malloc (DOWNLOAD_PIECE);
  gsize n = 0;

  piece->download = dl;
  if (!g_input_stream_read_all (dl->stream, buffer, DOWNLOAD_PIECE, &n, NULL, &piece->error))
    g_free (buffer);
  else
    {
      gsize suffix = dl->suffix != NULL ? g_bytes_get_size (dl->suffix) : 0;

      piece->eof = n < DOWNLOAD_PIECE;
      if (dl->base64)
        {
          guint8 *out = g_malloc (n / 3 * 4 + 16 + suffix);
          gsize length = g_base64_encode_step (buffer, n, FALSE, (char *) out, &dl->b64_state,
                                               (int *) &dl->b64_save);

          if (piece->eof)
            length += g_base64_encode_close (FALSE, (char *) out + length, &dl->b64_state,
                                             (int *) &dl->b64_save);
          g_free (buffer);
          buffer = out;
          n = length;
        }
      else if (piece->eof && suffix > 0)
        buffer = g_realloc (buffer, n + suffix);
      if (piece->eof && suffix > 0)
        {
          memcpy (buffer + n, g_bytes_get_data (dl->suffix, NULL), suffix);
          n += suffix;
        }
      piece->bytes = g_bytes_new_take (buffer, n);
    }
  post_to_main (dl->guard, dl->context, download_got, piece, download_piece_free);
}

/* Reads on when fewer than DOWNLOAD_AHEAD pieces wait for libsoup.  (Main context.) */
static void
download_next (Download *dl)
{
  ChartaServer *self = dl->guard->server;

  if (self == NULL || self->stream_pool == NULL || dl->ended || dl->eof || dl->reading
      || dl->in_body >= DOWNLOAD_AHEAD)
    return;
  dl->reading = TRUE;
  stream_push (self, download_read, download_ref (dl));
}

static gboolean
download_got (gpointer data)
{
  DownloadPiece *piece = data;
  Download *dl = piece->download;
  SoupMessageBody *body;

  dl->reading = FALSE;
  if (dl->ended)
    return G_SOURCE_REMOVE;
  body = soup_server_message_get_response_body (dl->msg);
  if (piece->error != NULL)
    {
      g_autoptr(GIOStream) stream = NULL;

      /* The head is sent: the status cannot say it any more.  The connection is closed, so the
       * client sees a body shorter than its Content-Length. */
      g_warning ("reading a Binary's content to send it failed: %s", piece->error->message);
      dl->ended = TRUE;
      stream = soup_server_message_steal_connection (dl->msg);
      if (stream != NULL)
        g_io_stream_close (stream, NULL, NULL);
      return G_SOURCE_REMOVE;
    }
  if (g_bytes_get_size (piece->bytes) > 0)
    {
      soup_message_body_append_bytes (body, piece->bytes);
      dl->in_body++;
    }
  if (piece->eof)
    {
      dl->eof = TRUE;
      soup_message_body_complete (body);
    }
  soup_server_message_unpause (dl->msg);
  download_next (dl);
  return G_SOURCE_REMOVE;
}

static void
download_wrote_chunk (SoupServerMessage *msg,
                      gpointer           user_data)
{
  Download *dl = user_data;

  if (dl->in_body > 0)
    dl->in_body--;
  download_next (dl);
}

/* Sends @req's streamed response on @msg, whose head apply_response() made.  (Main context.) */
static void
download_start (ChartaServer        *self,
                SoupServerMessage   *msg,
                ChartaServerRequest *req)
{
  SoupMessageBody *body = soup_server_message_get_response_body (msg);
  Download *dl = g_new0 (Download, 1);

  g_atomic_ref_count_init (&dl->ref_count);
  dl->guard = g_rc_box_acquire (self->guard);
  dl->context = g_main_context_ref (self->context);
  dl->msg = g_object_ref (msg);
  dl->stream = g_steal_pointer (&req->response_stream);
  dl->base64 = req->response_base64;
  dl->suffix = g_steal_pointer (&req->response_suffix);
  soup_message_body_set_accumulate (body, FALSE);
  soup_message_body_truncate (body);
  if (req->response_prefix != NULL && g_bytes_get_size (req->response_prefix) > 0)
    {
      soup_message_body_append_bytes (body, req->response_prefix);
      dl->in_body++;
    }
  g_signal_connect_data (msg, "wrote-chunk", G_CALLBACK (download_wrote_chunk),
                         download_ref (dl), download_closure_unref, 0);
  g_hash_table_insert (self->downloads, msg, dl);
  download_next (dl);
}

char *
charta_server_binary_id_of_url (const char *url,
                                const char *base_url)
{
  const char *rest = NULL;
  size_t n;

  if (url == NULL)
    return NULL;
  if (g_str_has_prefix (url, "Binary/"))
    rest = url + strlen ("Binary/");
  else if (base_url != NULL && g_str_has_prefix (url, base_url)
           && g_str_has_prefix (url + strlen (base_url), "/Binary/"))
    rest = url + strlen (base_url) + strlen ("/Binary/");
  if (rest == NULL)
    return NULL;
  n = strcspn (rest, "/?#");
  if (rest[n] != '\0' && !g_str_has_prefix (rest + n, "/_history/"))
    return NULL;
  {
    g_autofree char *id = g_strndup (rest, n);

    return charta_server_is_valid_id (id) ? g_steal_pointer (&id) : NULL;
  }
}

/* ---- access ------------------------------------------------------------------------------- */

static char *decode_path (const char  *path,
                          GError     **error);

static void
token_digest (const char *token,
              size_t      length,
              guint8      digest[TOKEN_DIGEST_SIZE])
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize size = TOKEN_DIGEST_SIZE;

  g_checksum_update (checksum, (const guchar *) token, (gssize) length);
  g_checksum_get_digest (checksum, digest, &size);
  g_assert (size == TOKEN_DIGEST_SIZE);
}

/* Whether @msg asks for what needs no token: a preflight (OPTIONS), or the
 * CapabilityStatement (GET or HEAD [base]/metadata, routed as charta_server_route() does).
 * @path: as libsoup gives it, percent-encoded. */
static gboolean
is_open_request (ChartaServer      *self,
                 SoupServerMessage *msg,
                 const char        *path)
{
  const char *method = soup_server_message_get_method (msg);
  size_t n = strlen (self->base_path);
  g_autofree char *decoded = NULL;
  const char *rest;
  size_t length;

  if (method == SOUP_METHOD_OPTIONS)
    return TRUE;
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
    return FALSE;
  decoded = decode_path (path, NULL);
  if (decoded == NULL || strncmp (decoded, self->base_path, n) != 0
      || (decoded[n] != '\0' && decoded[n] != '/'))
    return FALSE;
  rest = decoded + n;
  while (*rest == '/')
    rest++;
  length = strlen (rest);
  while (length > 0 && rest[length - 1] == '/')
    length--;
  return length == strlen ("metadata") && strncmp (rest, "metadata", length) == 0;
}

/* Whether @msg may be served: no token is required, it needs none, or it carries the token.
 * Else FALSE, @error (CHARTA_SERVER_ERROR_UNAUTHORIZED) and the response's WWW-Authenticate
 * header set (RFC 6750: no error code when no token came, invalid_token for another one). */
static gboolean
check_access (ChartaServer       *self,
              SoupServerMessage  *msg,
              const char         *path,
              GError            **error)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);
  static const char scheme[] = "Bearer ";
  guint8 digest[TOKEN_DIGEST_SIZE];
  volatile guint8 difference = 0;
  const char *authorization;
  const char *token;
  size_t length;

  if (!self->token_required || is_open_request (self, msg, path))
    return TRUE;
  /* (several Authorization headers come joined with ", ": they match no token) */
  authorization = soup_message_headers_get_list (request, "Authorization");
  if (authorization == NULL
      || g_ascii_strncasecmp (authorization, scheme, strlen (scheme)) != 0)
    {
      soup_message_headers_replace (response, "WWW-Authenticate", AUTH_REALM);
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_UNAUTHORIZED,
                   "this server needs an access token: send it as “Authorization: Bearer "
                   "<token>” (whoever runs the server has it)");
      return FALSE;
    }
  token = authorization + strlen (scheme);
  while (*token == ' ' || *token == '\t')
    token++;
  length = strlen (token);
  while (length > 0 && (token[length - 1] == ' ' || token[length - 1] == '\t'))
    length--;

  /* Every byte of the digests compared, whatever they hold. */
  token_digest (token, length, digest);
  for (size_t i = 0; i < TOKEN_DIGEST_SIZE; i++)
    difference |= digest[i] ^ self->token_digest[i];
  if (difference == 0)
    return TRUE;
  soup_message_headers_replace (response, "WWW-Authenticate",
                                AUTH_REALM ", error=\"invalid_token\"");
  g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_UNAUTHORIZED,
               "the access token is not this server's: send the one it was given, as "
               "“Authorization: Bearer <token>”");
  return FALSE;
}

/* Whether a body is to come with @msg, or it asks leave to send one (Expect: 100-continue). */
static gboolean
declares_body (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  return body_to_come (msg)
         || (soup_message_headers_get_expectations (headers) & SOUP_EXPECTATION_CONTINUE) != 0;
}

static void
early_handler (SoupServer        *soup,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  ChartaServer *self = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  Connection *conn = connection_of (self, msg);
  g_autoptr(GError) error = NULL;
  gboolean upload;

  if (self->stopped)
    g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_UNAVAILABLE,
                 "the server is stopping");
  else if (conn != NULL && conn->over_limit)
    g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_UNAVAILABLE,
                 "the server has %u connections open, its limit: retry later, or reuse a "
                 "connection", self->max_connections);
  upload = error == NULL && is_binary_upload (self, msg, path);
  if (error != NULL
      || !check_request_size (self, msg, upload ? self->max_binary_size : self->max_body_size,
                              upload ? "Binary content" : "body", &error))
    {
      refuse (self, msg, conn, error);
      return;
    }
  /* Without the token, a body is not worth reading (one without a body is answered by the
   * handler, and the connection kept). */
  if (declares_body (msg) && !check_access (self, msg, path, &error))
    {
      refuse (self, msg, conn, error);
      return;
    }
  if (upload)
    {
      upload_start (self, msg);
      return;
    }
  /* (a body of unknown length: chunked) */
  if (soup_message_headers_get_encoding (headers) != SOUP_ENCODING_CONTENT_LENGTH
      && soup_message_headers_get_encoding (headers) != SOUP_ENCODING_NONE)
    g_signal_connect_object (msg, "got-chunk", G_CALLBACK (got_chunk), self, 0);
}

/* ---- routing to a store ------------------------------------------------------------------- */

/* The one place that maps a request path to a store.  Today one store serves everything
 * under the base path; for multi-tenant serving, [base]/<tenant>/… will look <tenant> up here,
 * answer its store and put "/<tenant>" into *base.  Sets *rest to the path after the base
 * (without its leading '/').  NULL when the path is outside the base. */
static ChartaStore *
resolve_store (ChartaServer  *self,
               const char    *path,
               char         **base,
               char         **rest)
{
  size_t n = strlen (self->base_path);

  if (strncmp (path, self->base_path, n) != 0 || (path[n] != '\0' && path[n] != '/'))
    return NULL;
  path += n;
  while (*path == '/')
    path++;
  *base = g_strdup (self->base_path);
  *rest = g_strdup (path);
  return g_object_ref (self->store);
}

static void
clear_last_base (ChartaServer *self)
{
  g_clear_pointer (&self->last_base.scheme, g_free);
  g_clear_pointer (&self->last_base.host, g_free);
  g_clear_pointer (&self->last_base.base_path, g_free);
  g_clear_pointer (&self->last_base.url, g_free);
}

/* The absolute URL of @base_path for @msg's Host ("http://127.0.0.1:8080/fhir").  Request
 * after request it is the same: the last one is kept (main context). */
static char *
request_base_url (ChartaServer      *self,
                  SoupServerMessage *msg,
                  const char        *base_path)
{
  GUri *uri = soup_server_message_get_uri (msg);
  const char *scheme = g_uri_get_scheme (uri);
  const char *host = g_uri_get_host (uri);
  int port = g_uri_get_port (uri);

  if (self->last_base.url == NULL || port != self->last_base.port
      || g_strcmp0 (host, self->last_base.host) != 0
      || g_strcmp0 (scheme, self->last_base.scheme) != 0
      || strcmp (base_path, self->last_base.base_path) != 0)
    {
      clear_last_base (self);
      self->last_base.scheme = g_strdup (scheme);
      self->last_base.host = g_strdup (host);
      self->last_base.port = port;
      self->last_base.base_path = g_strdup (base_path);
      self->last_base.url = g_uri_join (G_URI_FLAGS_NONE, scheme, NULL, host, port, base_path,
                                        NULL, NULL);
    }
  return g_strdup (self->last_base.url);
}

static void
answer_preflight (ChartaServer      *self,
                  SoupServerMessage *msg)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  const char *origin = soup_message_headers_get_one (request, "Origin");
  g_autofree char *request_id = request_id_for (self, request);

  soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
  soup_message_headers_replace (headers, "X-Request-Id", request_id);
  soup_message_headers_replace (headers, "Allow", CORS_ALLOW_METHODS);
  if (!cors_allows (self, origin))
    return;
  soup_message_headers_replace (headers, "Access-Control-Allow-Origin", origin);
  soup_message_headers_append (headers, "Vary", "Origin");
  soup_message_headers_replace (headers, "Access-Control-Allow-Methods", CORS_ALLOW_METHODS);
  soup_message_headers_replace (headers, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
  soup_message_headers_replace (headers, "Access-Control-Max-Age", "600");
}

static void
copy_param (gpointer key,
            gpointer value,
            gpointer user_data)
{
  g_hash_table_insert (user_data, g_strdup (key), g_strdup (value));
}

/* The path of a request as libsoup gives it (percent-encoded: the SoupServer has raw-paths),
 * decoded; NULL and @error when it holds an encoded NUL or a malformed escape, is no UTF-8 once
 * decoded, or has a "." or ".." segment that decoding makes ("..%2f"; libsoup has already
 * resolved those written as such, RFC 3986). */
static char *
decode_path (const char  *path,
             GError     **error)
{
  /* (without an escape, decoding changes nothing) */
  g_autofree char *decoded = strchr (path, '%') != NULL ? g_uri_unescape_string (path, NULL)
                                                        : g_strdup (path);

  if (decoded == NULL)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "the path holds an encoded NUL (%%00) or a malformed %%-escape");
      return NULL;
    }
  if (!g_utf8_validate (decoded, -1, NULL))
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "the path is not UTF-8 once decoded");
      return NULL;
    }
  if (strstr (decoded, "/../") != NULL || g_str_has_suffix (decoded, "/..")
      || strstr (decoded, "/./") != NULL || g_str_has_suffix (decoded, "/."))
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "the path has a “.” or “..” segment once decoded: FHIR paths have none");
      return NULL;
    }
  return g_steal_pointer (&decoded);
}

static void
handler (SoupServer        *soup,
         SoupServerMessage *msg,
         const char        *path,
         GHashTable        *query,
         gpointer           user_data)
{
  ChartaServer *self = user_data;
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *decoded = NULL;
  g_autofree char *base = NULL;
  g_autofree char *rest = NULL;
  Job *job;

  if (self->stopped)
    {
      g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_UNAVAILABLE,
                   "the server is stopping");
      respond_now (self, msg, error, TRUE);
      return;
    }
  if (soup_server_message_get_method (msg) == SOUP_METHOD_OPTIONS)
    {
      /* a CORS preflight, or a client asking what is allowed: no store work, no token */
      answer_preflight (self, msg);
      return;
    }
  if (!check_access (self, msg, path, &error))
    {
      respond_now (self, msg, error, FALSE);
      return;
    }
  decoded = decode_path (path, &error);
  if (decoded == NULL)
    {
      respond_now (self, msg, error, FALSE);
      return;
    }
  store = resolve_store (self, decoded, &base, &rest);
  if (store == NULL)
    {
      g_autofree char *shown = charta_server_dup_log_text (decoded, 200);

      g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_NOT_FOUND,
                   "nothing is served at %s: the FHIR base is %s/", shown,
                   *self->base_path != '\0' ? self->base_path : "");
      respond_now (self, msg, error, FALSE);
      return;
    }

  job = g_new0 (Job, 1);
  job->msg = g_object_ref (msg);
  job->req.server = g_object_ref (self);
  job->req.store = g_steal_pointer (&store);
  job->req.method = soup_server_message_get_method (msg);
  job->req.path = g_steal_pointer (&rest);
  job->req.query = g_strdup (g_uri_get_query (soup_server_message_get_uri (msg)));
  job->req.params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (query != NULL)
    g_hash_table_foreach (query, copy_param, job->req.params);
  job->req.headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  soup_message_headers_foreach (request, copy_header, job->req.headers);
  job->req.upload = g_hash_table_lookup (self->uploads, msg);
  if (job->req.upload != NULL)
    {
      /* the body is in (with the drain): the message is the job's from now on */
      g_hash_table_steal (self->uploads, msg);
      g_clear_object (&job->req.upload->msg);
      job->req.body = g_bytes_new (NULL, 0);
    }
  else
    job->req.body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  job->req.base_url = request_base_url (self, msg, base);
  if (job->req.method != SOUP_METHOD_GET && job->req.method != SOUP_METHOD_HEAD)
    charta_store_add_base_url (job->req.store, job->req.base_url);
  job->req.request_id = request_id_for (self, request);
  job->req.max_body = self->max_body_size;
  job->req.response_headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  job->req.status = SOUP_STATUS_INTERNAL_SERVER_ERROR;

  soup_server_message_pause (msg);
  g_hash_table_insert (self->jobs, msg, job);
  g_atomic_int_inc (&self->n_pending);
  queue_job (self, job);
}

/* ---- the CapabilityStatement ---------------------------------------------------------------- */

static const char *
search_type_name (ChartaSearchType type)
{
  switch (type)
    {
    case CHARTA_SEARCH_TYPE_NUMBER:
      return "number";
    case CHARTA_SEARCH_TYPE_DATE:
      return "date";
    case CHARTA_SEARCH_TYPE_STRING:
      return "string";
    case CHARTA_SEARCH_TYPE_TOKEN:
      return "token";
    case CHARTA_SEARCH_TYPE_REFERENCE:
      return "reference";
    case CHARTA_SEARCH_TYPE_COMPOSITE:
      return "composite";
    case CHARTA_SEARCH_TYPE_QUANTITY:
      return "quantity";
    case CHARTA_SEARCH_TYPE_URI:
      return "uri";
    case CHARTA_SEARCH_TYPE_SPECIAL:
    default:
      return "special";
    }
}

/* Whether the search parser and the store answer @param (charta-search-query.c refuses
 * parameters of type special, and those named below). */
static gboolean
search_param_is_served (const ChartaSearchParamDef *param)
{
  static const char *const refused[] = { "_query", "_filter", "_contained", "_containedType",
                                         "_graph", "_has", NULL };

  if (param->type == CHARTA_SEARCH_TYPE_SPECIAL)
    return FALSE;
  return !g_strv_contains (refused, param->code);
}

static void
append_search_param (GString                    *out,
                     const ChartaSearchParamDef *param,
                     gboolean                    first)
{
  if (!first)
    g_string_append_c (out, ',');
  g_string_append (out, "{\"name\":");
  charta_server_append_json_string (out, param->code);
  if (param->url != NULL)
    {
      g_string_append (out, ",\"definition\":");
      charta_server_append_json_string (out, param->url);
    }
  g_string_append_printf (out, ",\"type\":\"%s\"}", search_type_name (param->type));
}

static void
append_code_list (GString    *out,
                  const char *member,
                  GPtrArray  *codes)
{
  if (codes->len == 0)
    return;
  g_string_append_printf (out, ",\"%s\":[", member);
  for (unsigned i = 0; i < codes->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      charta_server_append_json_string (out, g_ptr_array_index (codes, i));
    }
  g_string_append_c (out, ']');
}

/* Whether @targets ('|'-separated, NULL for any) names @type. */
static gboolean
targets_name (const char *targets,
              const char *type)
{
  size_t n = strlen (type);

  if (targets == NULL)
    return FALSE;
  for (const char *p = targets; p != NULL && *p != '\0';)
    {
      const char *bar = strchr (p, '|');
      size_t len = bar != NULL ? (size_t) (bar - p) : strlen (p);

      if (len == n && strncmp (p, type, n) == 0)
        return TRUE;
      p = bar != NULL ? bar + 1 : NULL;
    }
  return FALSE;
}

static void
append_resource (GString    *out,
                 const char *type,
                 gboolean    read_only)
{
  static const char *const read_codes[] = { "read", "vread", "history-instance", "history-type",
                                            "search-type", NULL };
  static const char *const write_codes[] = { "read", "vread", "update", "patch", "delete",
                                             "history-instance", "history-type", "create",
                                             "search-type", NULL };
  const char *const *codes = read_only ? read_codes : write_codes;
  g_autofree const ChartaSearchParamDef **params = NULL;
  g_autoptr(GPtrArray) includes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) revincludes = g_ptr_array_new_with_free_func (g_free);
  const ChartaTypeDef *def = charta_model_lookup_type (type);
  size_t n_params = 0;
  gboolean first = TRUE;

  g_string_append (out, "{\"type\":");
  charta_server_append_json_string (out, type);
  if (def != NULL && def->url != NULL)
    {
      g_string_append (out, ",\"profile\":");
      charta_server_append_json_string (out, def->url);
    }
  if (strcmp (type, "Binary") == 0)
    g_string_append (out, read_only
                          ? ",\"documentation\":\"GET [base]/Binary/[id] (and its versions) "
                            "answers the content as it is, with its contentType, streamed; "
                            "Range requests (one range; several are answered 200 with the "
                            "whole content), ETag, If-None-Match.  Asked for FHIR JSON (Accept "
                            "or _format) it answers the Binary with the content in data, as "
                            "base64.  Search, history and batches give Binary without data.\""
                          : ",\"documentation\":\"POST [base]/Binary and PUT "
                            "[base]/Binary/[id] take the content as it is: any Content-Type but "
                            "FHIR JSON (a Binary resource, whose data is taken out) or FHIR XML; "
                            "X-Security-Context names Binary.securityContext.  The content is "
                            "stored once per SHA-256 however many Binaries hold it.  GET "
                            "[base]/Binary/[id] (and its versions) answers the content as it is, "
                            "with its contentType, streamed; Range requests (one range; several "
                            "are answered 200 with the whole content), ETag, If-None-Match.  "
                            "Asked for FHIR JSON (Accept or _format) it answers the Binary with "
                            "the content in data, as base64.  Search, history and batches give "
                            "Binary without data; a Binary written as JSON without data keeps "
                            "its content.  An Attachment whose url names a Binary of this "
                            "server (or that has data) gets its size and hash (SHA-1) filled "
                            "in; a size or hash that disagrees is refused.\"");
  g_string_append (out, ",\"interaction\":[");
  for (unsigned i = 0; codes[i] != NULL; i++)
    g_string_append_printf (out, "%s{\"code\":\"%s\"}", i > 0 ? "," : "", codes[i]);
  g_string_append (out, "],\"versioning\":\"versioned-update\",\"readHistory\":true");
  if (!read_only)
    g_string_append (out, ",\"updateCreate\":true,\"conditionalCreate\":true,"
                          "\"conditionalUpdate\":true,\"conditionalDelete\":\"single\"");
  g_string_append (out, ",\"conditionalRead\":\"full-support\"");

  params = charta_model_list_search_params (type, &n_params);
  g_ptr_array_add (includes, g_strdup ("*"));
  for (size_t i = 0; i < n_params; i++)
    if (params[i]->type == CHARTA_SEARCH_TYPE_REFERENCE)
      g_ptr_array_add (includes, g_strdup_printf ("%s:%s", type, params[i]->code));
  for (unsigned i = 0; i < charta_model_n_search_params; i++)
    {
      const ChartaSearchParamDef *p = &charta_model_search_params[i];

      if (p->type == CHARTA_SEARCH_TYPE_REFERENCE && targets_name (p->targets, type)
          && charta_model_is_resource_type (p->resource_type))
        g_ptr_array_add (revincludes, g_strdup_printf ("%s:%s", p->resource_type, p->code));
    }
  append_code_list (out, "searchInclude", includes);
  append_code_list (out, "searchRevInclude", revincludes);

  g_string_append (out, ",\"searchParam\":[");
  for (size_t i = 0; i < n_params; i++)
    if (search_param_is_served (params[i]))
      {
        append_search_param (out, params[i], first);
        first = FALSE;
      }
  g_string_append_c (out, ']');
  if (strcmp (type, "Patient") == 0)
    g_string_append (out, ",\"operation\":[{\"name\":\"everything\",\"definition\":"
                          "\"http://hl7.org/fhir/OperationDefinition/Patient-everything\","
                          "\"documentation\":\"The patient, its compartment, what they "
                          "reference, and the Binary resources its DocumentReferences point at "
                          "(as JSON without data: GET [base]/Binary/[id] for the content).\"}]");
  g_string_append_c (out, '}');
}

/* The "rest" array: everything the model and this version serve; made once. */
static GBytes *
make_capabilities_rest (gboolean read_only,
                        gboolean token_required)
{
  static const char *const system_params[] = { "_id", "_lastUpdated", "_tag", "_profile",
                                                "_security", "_source", "_content", NULL };
  GString *out = g_string_sized_new (1024 * 1024);
  gboolean first = TRUE;

  g_string_append (out, "[{\"mode\":\"server\",\"documentation\":\"Charta: a versioned FHIR R4 "
                        "store; every write is a new version with its Provenance (send "
                        "X-Provenance to name the agent and reason)\",");
  if (token_required)
    g_string_append (out, "\"security\":{\"service\":[{\"text\":\"Bearer token (RFC 6750)\"}],"
                          "\"description\":\"Every request but GET [base]/metadata and CORS "
                          "preflights (OPTIONS) must carry the server's access token, as "
                          "Authorization: Bearer <token>; without it the answer is 401. The "
                          "token is given out of band (charta serve --token-file, or the "
                          "desktop app that runs the server).\"},");
  g_string_append (out, "\"resource\":[");
  for (unsigned i = 0; i < charta_model_n_types; i++)
    {
      const ChartaTypeDef *def = &charta_model_types[i];

      if (def->kind != CHARTA_TYPE_KIND_RESOURCE || def->is_abstract)
        continue;
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      append_resource (out, def->name, read_only);
    }
  g_string_append (out, "],\"interaction\":[");
  if (!read_only)
    g_string_append (out, "{\"code\":\"transaction\"},");
  g_string_append (out, "{\"code\":\"batch\"},{\"code\":\"search-system\"},"
                        "{\"code\":\"history-system\"}");
  g_string_append (out, "],\"searchParam\":[");
  first = TRUE;
  for (unsigned i = 0; system_params[i] != NULL; i++)
    {
      const ChartaSearchParamDef *param = charta_model_lookup_search_param ("Resource",
                                                                            system_params[i]);

      if (param == NULL)
        continue;
      append_search_param (out, param, first);
      first = FALSE;
    }
  g_string_append_printf (out, "%s{\"name\":\"_type\",\"type\":\"token\"}]",
                          first ? "" : ",");
  /* the operations on every type (charta-server-ops.c) */
  g_string_append (out, ",\"operation\":["
                        "{\"name\":\"validate\",\"definition\":"
                        "\"http://hl7.org/fhir/OperationDefinition/Resource-validate\"},"
                        "{\"name\":\"meta\",\"definition\":"
                        "\"http://hl7.org/fhir/OperationDefinition/Resource-meta\"}");
  if (!read_only)
    g_string_append (out, ",{\"name\":\"meta-add\",\"definition\":"
                          "\"http://hl7.org/fhir/OperationDefinition/Resource-meta-add\"},"
                          "{\"name\":\"meta-delete\",\"definition\":"
                          "\"http://hl7.org/fhir/OperationDefinition/Resource-meta-delete\"}");
  g_string_append (out, "]}]");
  return g_string_free_to_bytes (out);
}

static GBytes *read_subset (ChartaServerRequest *req,
                            const char          *type,
                            GBytes              *json);

static void
do_capabilities (ChartaServerRequest *req)
{
  ChartaServer *self = req->server;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format_iso8601 (now);
  g_autoptr(GBytes) rest = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) subset = NULL;
  GString *out = g_string_new (NULL);
  gsize length;
  const char *data;

  g_mutex_lock (&self->lock);
  if (self->capabilities == NULL)
    self->capabilities = make_capabilities_rest (self->read_only, self->token_required);
  rest = g_bytes_ref (self->capabilities);
  g_mutex_unlock (&self->lock);

  g_string_append (out, "{\"resourceType\":\"CapabilityStatement\",\"status\":\"active\","
                        "\"date\":");
  charta_server_append_json_string (out, date);
  g_string_append (out, ",\"publisher\":\"Charta\",\"kind\":\"instance\","
                        "\"software\":{\"name\":\"Charta\",\"version\":");
  charta_server_append_json_string (out, CHARTA_VERSION);
  g_string_append (out, "},\"implementation\":{\"description\":\"Charta FHIR R4 endpoint\","
                        "\"url\":");
  charta_server_append_json_string (out, req->base_url);
  g_string_append (out, "},\"fhirVersion\":\"4.0.1\",\"format\":[\"application/fhir+json\","
                        "\"json\",\"application/json\"],\"rest\":");
  data = g_bytes_get_data (rest, &length);
  g_string_append_len (out, data, (gssize) length);
  g_string_append_c (out, '}');
  body = g_string_free_to_bytes (out);
  /* _summary=true (what a client checks first: 0.7 MB less) and _elements, as on a read */
  subset = read_subset (req, "CapabilityStatement", body);
  if (subset == NULL)
    return;
  charta_server_request_respond_json (req, SOUP_STATUS_OK, subset);
}

/* ---- read and vread ----------------------------------------------------------------------- */

/* Whether the If-None-Match list names @version (or is "*"). */
static gboolean
etag_list_matches (const char *list,
                   int64_t     version)
{
  g_auto(GStrv) items = g_strsplit (list, ",", -1);

  for (char **item = items; *item != NULL; item++)
    {
      g_autofree char *text = g_strstrip (g_strdup (*item));

      if (strcmp (text, "*") == 0 || charta_server_parse_etag (text, NULL) == version)
        return TRUE;
    }
  return FALSE;
}

/* 304 when the client's copy is current (If-None-Match, else If-Modified-Since). */
static gboolean
not_modified (ChartaServerRequest *req,
              int64_t              version,
              GDateTime           *last_updated)
{
  const char *none_match = soup_message_headers_get_list (req->headers, "If-None-Match");
  const char *since = soup_message_headers_get_one (req->headers, "If-Modified-Since");

  if (none_match != NULL)
    return etag_list_matches (none_match, version);
  if (since != NULL && last_updated != NULL)
    {
      g_autoptr(GDateTime) when = soup_date_time_new_from_http_string (since);

      /* HTTP dates have whole seconds: compare at that precision */
      return when != NULL && g_date_time_to_unix (last_updated) <= g_date_time_to_unix (when);
    }
  return FALSE;
}

/* The raw "_summary=…&_elements=…" of the query, "" when neither is there. */
static char *
subset_params (const char *query)
{
  g_auto(GStrv) parts = g_strsplit (query != NULL ? query : "", "&", -1);
  GString *out = g_string_new (NULL);

  for (char **part = parts; *part != NULL; part++)
    if (g_str_has_prefix (*part, "_summary=") || g_str_has_prefix (*part, "_elements="))
      {
        if (out->len > 0)
          g_string_append_c (out, '&');
        g_string_append (out, *part);
      }
  return g_string_free (out, FALSE);
}

/* _summary and _elements on a read: the subset of @json (or @json itself); NULL, with the
 * response made, on error. */
static GBytes *
read_subset (ChartaServerRequest *req,
             const char          *type,
             GBytes              *json)
{
  g_autofree char *params = NULL;
  g_autoptr(ChartaSearchQuery) query = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  g_autoptr(ChartaResource) subset = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) error = NULL;

  if (req->query == NULL)
    return g_bytes_ref (json);  /* (the common read: nothing to look for) */
  params = subset_params (req->query);
  if (*params == '\0')
    return g_bytes_ref (json);
  /* The search parser reads _summary and _elements for a read as for a search. */
  query = charta_search_query_parse (type, params, CHARTA_SEARCH_QUERY_DEFAULT, &error);
  if (query == NULL)
    {
      charta_server_request_respond_query_error (req, error);
      return NULL;
    }
  if (query->summary == CHARTA_SEARCH_SUMMARY_FALSE && query->elements == NULL)
    return g_bytes_ref (json);
  resource = charta_resource_new_from_bytes (json, NULL, &error);
  if (resource != NULL && query->elements != NULL)
    {
      names = g_ptr_array_new ();
      for (unsigned i = 0; i < query->elements->len; i++)
        g_ptr_array_add (names, g_ptr_array_index (query->elements, i));
      g_ptr_array_add (names, NULL);
    }
  if (resource != NULL)
    subset = charta_resource_subset (resource,
                                     query->summary == CHARTA_SEARCH_SUMMARY_COUNT
                                     ? CHARTA_SEARCH_SUMMARY_TRUE : query->summary,
                                     names != NULL ? (const char *const *) names->pdata : NULL,
                                     &error);
  if (subset == NULL)
    {
      charta_server_request_respond_error (req, error);
      return NULL;
    }
  return charta_resource_to_bytes (subset, FALSE);
}

static void
do_read (ChartaServerRequest *req,
         const char          *type,
         const char          *id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) json = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GDateTime) last_updated = NULL;
  int64_t version = 0;

  json = charta_store_read_bytes (req->store, type, id, &version, &error);
  if (json == NULL)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  last_updated = charta_server_stored_last_updated (json);
  set_version_headers (req, type, id, version, last_updated, FALSE);
  if (not_modified (req, version, last_updated))
    {
      req->status = SOUP_STATUS_NOT_MODIFIED;
      return;
    }
  body = read_subset (req, type, json);
  if (body != NULL)
    charta_server_request_respond_json (req, SOUP_STATUS_OK, body);
}

static void
do_vread (ChartaServerRequest *req,
          const char          *type,
          const char          *id,
          const char          *version_text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  g_autoptr(GBytes) json = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GDateTime) last_updated = NULL;
  char *end = NULL;
  int64_t version = g_ascii_strtoll (version_text, &end, 10);

  if (end == version_text || *end != '\0' || version <= 0)
    {
      g_autofree char *what = g_strdup_printf ("%s/%s has no version “%.40s”: versions are "
                                               "1, 2, 3…", type, id, version_text);

      respond_not_found (req, what);
      return;
    }
  resource = charta_store_vread (req->store, type, id, version, &error);
  if (resource == NULL)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  /* TODO(store): a vread_bytes would stream the stored body without this parse + write. */
  json = charta_resource_to_bytes (resource, FALSE);
  last_updated = parse_instant_text (charta_resource_get_last_updated (resource));
  set_version_headers (req, type, id, version, last_updated, FALSE);
  if (not_modified (req, version, last_updated))
    {
      req->status = SOUP_STATUS_NOT_MODIFIED;
      return;
    }
  body = read_subset (req, type, json);
  if (body != NULL)
    charta_server_request_respond_json (req, SOUP_STATUS_OK, body);
}

/* ---- writes ------------------------------------------------------------------------------- */

static gboolean
check_writable (ChartaServerRequest *req)
{
  g_autoptr(GError) error = NULL;

  if (!req->server->read_only)
    return TRUE;
  g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_METHOD_NOT_ALLOWED,
               "this server is read-only: %s is not allowed", req->method);
  charta_server_request_set_header (req, "Allow", "GET, HEAD, OPTIONS");
  charta_server_request_respond_error (req, error);
  return FALSE;
}

/* The response to a write that stored @resource (or kept it, when nothing changed). */
static void
respond_written (ChartaServerRequest *req,
                 ChartaResource      *resource,
                 unsigned             status,
                 const char          *what)
{
  const char *type = charta_resource_get_resource_type (resource);
  const char *id = charta_resource_get_id (resource);
  const char *version_text = charta_resource_get_version_id (resource);
  int64_t version = version_text != NULL ? g_ascii_strtoll (version_text, NULL, 10) : 0;
  g_autoptr(GDateTime) last_updated =
    parse_instant_text (charta_resource_get_last_updated (resource));

  set_version_headers (req, type, id, version, last_updated, TRUE);
  switch (req->return_pref)
    {
    case CHARTA_RETURN_MINIMAL:
      charta_server_request_respond_json (req, status, NULL);
      break;

    case CHARTA_RETURN_OUTCOME:
      {
        g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();

        charta_outcome_add (outcome, CHARTA_ISSUE_INFORMATION, "informational", NULL,
                            "%s %s/%s: version %" G_GINT64_FORMAT, what, type, id, version);
        charta_server_request_respond_outcome (req, status, outcome);
      }
      break;

    case CHARTA_RETURN_REPRESENTATION:
    default:
      {
        /* (a write's result holds its stored text: no parse, no writing) */
        g_autoptr(GBytes) json = charta_resource_to_bytes (resource, FALSE);

        charta_server_request_respond_json (req, status, json);
      }
      break;
    }
}

gboolean
charta_server_find_matches (ChartaServerRequest  *req,
                            const char           *type,
                            const char           *criteria,
                            unsigned             *n_matches,
                            char                **id,
                            GError              **error)
{
  g_autoptr(ChartaSearchQuery) query = NULL;
  g_autoptr(ChartaSearchResult) result = NULL;

  *n_matches = 0;
  *id = NULL;
  /* Strict: a criterion ignored as unknown would widen the match to the wrong resource. */
  query = charta_search_query_parse (type, criteria, CHARTA_SEARCH_QUERY_STRICT, error);
  if (query == NULL)
    return FALSE;
  if (query->clauses->len == 0)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "the criteria “%.80s” select no %s in particular: give a search "
                   "parameter (identifier=…)", criteria, type);
      return FALSE;
    }
  query->count = 2;
  query->total = CHARTA_SEARCH_TOTAL_NONE;
  query->summary = CHARTA_SEARCH_SUMMARY_FALSE;
  result = charta_store_search (req->store, query, error);
  if (result == NULL)
    return FALSE;
  for (unsigned i = 0; i < result->entries->len; i++)
    {
      const ChartaSearchEntry *entry = g_ptr_array_index (result->entries, i);

      if (entry->mode != CHARTA_SEARCH_MODE_MATCH)
        continue;
      if (*n_matches == 0)
        *id = g_strdup (charta_resource_get_id (entry->resource));
      (*n_matches)++;
    }
  return TRUE;
}

static void
respond_multiple_matches (ChartaServerRequest *req,
                          const char          *type,
                          const char          *what)
{
  g_autoptr(GError) error = NULL;

  g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_PRECONDITION_FAILED,
               "the criteria of the conditional %s match more than one %s: make them "
               "select one", what, type);
  charta_server_request_respond_error (req, error);
}

static void
do_create (ChartaServerRequest *req,
           const char          *type)
{
  const char *if_none_exist = soup_message_headers_get_one (req->headers, "If-None-Exist");
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(ChartaChange) change = NULL;
  g_autoptr(GError) error = NULL;

  if (!check_writable (req))
    return;
  resource = charta_server_request_parse_body (req, &error);
  if (resource == NULL)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  if (strcmp (charta_resource_get_resource_type (resource), type) != 0)
    {
      g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "POST [base]/%s with a %s in the body: the types must be the same", type,
                   charta_resource_get_resource_type (resource));
      charta_server_request_respond_error (req, error);
      return;
    }
  if (!charta_server_request_get_change (req, &change, &error))
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  if (if_none_exist != NULL)
    {
      g_autofree char *id = NULL;
      unsigned n = 0;
      const char *criteria = if_none_exist;

      /* held until the create below */
      locker = charta_server_lock_conditional (req->server);

      /* Some clients send the whole "Type?criteria" */
      if (g_str_has_prefix (criteria, type) && criteria[strlen (type)] == '?')
        criteria += strlen (type) + 1;
      else if (criteria[0] == '?')
        criteria++;
      if (!charta_server_find_matches (req, type, criteria, &n, &id, &error))
        {
          charta_server_request_respond_query_error (req, error);
          return;
        }
      if (n > 1)
        {
          respond_multiple_matches (req, type, "create");
          return;
        }
      if (n == 1)
        {
          /* The resource exists: nothing is created, the client gets what is there. */
          g_autoptr(GBytes) json = NULL;
          g_autoptr(GDateTime) last_updated = NULL;
          int64_t version = 0;

          json = charta_store_read_bytes (req->store, type, id, &version, &error);
          if (json == NULL)
            {
              charta_server_request_respond_error (req, error);
              return;
            }
          last_updated = charta_server_stored_last_updated (json);
          set_version_headers (req, type, id, version, last_updated, TRUE);
          if (req->return_pref == CHARTA_RETURN_MINIMAL)
            charta_server_request_respond_json (req, SOUP_STATUS_OK, NULL);
          else if (req->return_pref == CHARTA_RETURN_OUTCOME)
            {
              g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();

              charta_outcome_add (outcome, CHARTA_ISSUE_INFORMATION, "duplicate", NULL,
                                  "%s/%s matches If-None-Exist: nothing was created", type,
                                  id);
              charta_server_request_respond_outcome (req, SOUP_STATUS_OK, outcome);
            }
          else
            charta_server_request_respond_json (req, SOUP_STATUS_OK, json);
          return;
        }
    }
  stored = charta_store_create (req->store, resource, change, &error);
  if (stored == NULL)
    {
      charta_server_request_respond_write_error (req, resource, error);
      return;
    }
  g_debug ("create %s/%s", type, charta_resource_get_id (stored));
  respond_written (req, stored, SOUP_STATUS_CREATED, "created");
}

/* Updates with @resource, whose id is @id (given it when it has none). */
static void
update_resource (ChartaServerRequest *req,
                 ChartaResource      *resource,
                 const char          *id,
                 int64_t              expected_version)
{
  g_autoptr(ChartaResource) with_id = NULL;
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(ChartaChange) change = NULL;
  g_autoptr(GError) error = NULL;
  gboolean created = FALSE;

  if (!charta_server_request_get_change (req, &change, &error))
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  if (charta_resource_get_id (resource) == NULL)
    {
      ChartaResourceEdits edits = { .id = id };

      with_id = charta_resource_new_edited (resource, &edits, NULL, NULL);
      resource = with_id;
    }
  stored = charta_store_update (req->store, resource, expected_version, change, &created,
                                &error);
  if (stored == NULL)
    {
      charta_server_request_respond_write_error (req, resource, error);
      return;
    }
  g_debug ("update %s/%s%s", charta_resource_get_resource_type (stored), id,
           created ? " (created)" : "");
  respond_written (req, stored, created ? SOUP_STATUS_CREATED : SOUP_STATUS_OK,
                   created ? "created" : "updated");
}

/* If-Match: the expected version, 0 when none; -1 (and the response made) when malformed. */
static int64_t
expected_version (ChartaServerRequest *req)
{
  const char *if_match = soup_message_headers_get_one (req->headers, "If-Match");
  g_autoptr(GError) error = NULL;
  int64_t version;

  if (if_match == NULL)
    return 0;
  version = charta_server_parse_etag (if_match, &error);
  if (version == 0)
    {
      charta_server_request_respond_error (req, error);
      return -1;
    }
  return version;
}

static void
do_update (ChartaServerRequest *req,
           const char          *type,
           const char          *id)
{
  g_autoptr(ChartaResource) resource = NULL;
  g_autoptr(GError) error = NULL;
  const char *body_id;
  int64_t expected;

  if (!check_writable (req))
    return;
  resource = charta_server_request_parse_body (req, &error);
  if (resource == NULL)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  body_id = charta_resource_get_id (resource);
  if (strcmp (charta_resource_get_resource_type (resource), type) != 0)
    g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                 "PUT [base]/%s/%s with a %s in the body: the types must be the same", type, id,
                 charta_resource_get_resource_type (resource));
  else if (body_id == NULL)
    g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                 "PUT [base]/%s/%s: the resource in the body has no id; it must be “%s”", type,
                 id, id);
  else if (strcmp (body_id, id) != 0)
    g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                 "PUT [base]/%s/%s: the resource in the body has id “%s”; it must be “%s”",
                 type, id, body_id, id);
  if (error != NULL)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  expected = expected_version (req);
  if (expected < 0)
    return;
  update_resource (req, resource, id, expected);
}

static void
do_conditional_update (ChartaServerRequest *req,
                       const char          *type)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(ChartaChange) change = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  const char *body_id;
  unsigned n = 0;
  int64_t expected;

  if (!check_writable (req))
    return;
  if (req->query == NULL || *req->query == '\0')
    {
      g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "PUT [base]/%s needs search criteria (PUT [base]/%s?identifier=…) or an id "
                   "(PUT [base]/%s/[id])", type, type, type);
      charta_server_request_respond_error (req, error);
      return;
    }
  resource = charta_server_request_parse_body (req, &error);
  if (resource == NULL)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  if (strcmp (charta_resource_get_resource_type (resource), type) != 0)
    {
      g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "PUT [base]/%s with a %s in the body: the types must be the same", type,
                   charta_resource_get_resource_type (resource));
      charta_server_request_respond_error (req, error);
      return;
    }
  expected = expected_version (req);
  if (expected < 0)
    return;
  locker = charta_server_lock_conditional (req->server);
  if (!charta_server_find_matches (req, type, req->query, &n, &id, &error))
    {
      charta_server_request_respond_query_error (req, error);
      return;
    }
  body_id = charta_resource_get_id (resource);
  if (n > 1)
    {
      respond_multiple_matches (req, type, "update");
      return;
    }
  if (n == 1)
    {
      if (body_id != NULL && strcmp (body_id, id) != 0)
        {
          g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                       "the criteria match %s/%s but the resource in the body has id “%s”",
                       type, id, body_id);
          charta_server_request_respond_error (req, error);
          return;
        }
      update_resource (req, resource, id, expected);
      return;
    }
  /* No match: an update-as-create with the body's id, else a create. */
  if (body_id != NULL)
    {
      update_resource (req, resource, body_id, expected);
      return;
    }
  if (!charta_server_request_get_change (req, &change, &error))
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  stored = charta_store_create (req->store, resource, change, &error);
  if (stored == NULL)
    {
      charta_server_request_respond_write_error (req, resource, error);
      return;
    }
  respond_written (req, stored, SOUP_STATUS_CREATED, "created");
}

static void
delete_resource (ChartaServerRequest *req,
                 const char          *type,
                 const char          *id,
                 int64_t              expected)
{
  g_autoptr(ChartaChange) change = NULL;
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  g_autoptr(GError) error = NULL;
  int64_t version;

  if (!charta_server_request_get_change (req, &change, &error))
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  version = charta_store_delete (req->store, type, id, expected, change, &error);
  if (version < 0)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  if (version == 0)
    {
      /* Nothing deleted: already deleted (success, FHIR's delete is idempotent) or never
       * there (404). */
      g_autoptr(GBytes) json = charta_store_read_bytes (req->store, type, id, NULL, &error);

      if (json != NULL || !g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_GONE))
        {
          g_autofree char *what = g_strdup_printf ("%s/%s does not exist", type, id);

          respond_not_found (req, what);
          return;
        }
      charta_outcome_add (outcome, CHARTA_ISSUE_INFORMATION, "informational", NULL,
                          "%s/%s was already deleted: nothing changed", type, id);
    }
  else
    {
      g_autofree char *etag = charta_server_format_etag (version);

      g_debug ("delete %s/%s", type, id);
      charta_server_request_set_header (req, "ETag", etag);
      charta_outcome_add (outcome, CHARTA_ISSUE_INFORMATION, "informational", NULL,
                          "deleted %s/%s: version %" G_GINT64_FORMAT " is the deletion", type,
                          id, version);
    }
  if (req->return_pref == CHARTA_RETURN_MINIMAL)
    req->status = SOUP_STATUS_NO_CONTENT;
  else
    charta_server_request_respond_outcome (req, SOUP_STATUS_OK, outcome);
}

static void
do_delete (ChartaServerRequest *req,
           const char          *type,
           const char          *id)
{
  int64_t expected;

  if (!check_writable (req))
    return;
  expected = expected_version (req);
  if (expected >= 0)
    delete_resource (req, type, id, expected);
}

static void
do_conditional_delete (ChartaServerRequest *req,
                       const char          *type)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  unsigned n = 0;
  int64_t expected;

  if (!check_writable (req))
    return;
  if (req->query == NULL || *req->query == '\0')
    {
      g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "DELETE [base]/%s needs search criteria (DELETE [base]/%s?identifier=…) or "
                   "an id (DELETE [base]/%s/[id])", type, type, type);
      charta_server_request_respond_error (req, error);
      return;
    }
  expected = expected_version (req);
  if (expected < 0)
    return;
  locker = charta_server_lock_conditional (req->server);
  if (!charta_server_find_matches (req, type, req->query, &n, &id, &error))
    {
      charta_server_request_respond_query_error (req, error);
      return;
    }
  if (n > 1)
    respond_multiple_matches (req, type, "delete");
  else if (n == 0)
    respond_not_found (req, "the criteria of the conditional delete match nothing");
  else
    delete_resource (req, type, id, expected);
}

/* ---- patch -------------------------------------------------------------------------------- */

void
charta_server_patch_clear (ChartaServerPatch *patch)
{
  g_clear_pointer (&patch->json_patch, g_bytes_unref);
  g_clear_pointer (&patch->parameters, charta_resource_unref);
}

gboolean
charta_server_request_read_patch (ChartaServerRequest  *req,
                                  ChartaServerPatch    *patch,
                                  GError              **error)
{
  const char *content_type = soup_message_headers_get_one (req->headers, "Content-Type");
  g_autofree char *type = content_type != NULL ? media_type (content_type) : NULL;
  g_autoptr(ChartaResource) parameters = NULL;

  if (g_bytes_get_size (req->body) == 0)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "PATCH [base]/%s needs a patch in the body: a JSON Patch (" JSON_PATCH ") "
                   "or a FHIRPath Patch (Parameters, " FHIR_JSON ")", req->path);
      return FALSE;
    }
  if (type == NULL)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_UNSUPPORTED_MEDIA_TYPE,
                   "PATCH [base]/%s without a Content-Type: send a JSON Patch as "
                   JSON_PATCH ", a FHIRPath Patch as " FHIR_JSON, req->path);
      return FALSE;
    }
  if (strcmp (type, JSON_PATCH) == 0)
    {
      patch->json_patch = g_bytes_ref (req->body);
      return TRUE;
    }
  if (!is_json_media_type (type))
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_UNSUPPORTED_MEDIA_TYPE,
                   "PATCH with Content-Type “%.60s” is not read: send a JSON Patch as "
                   JSON_PATCH ", a FHIRPath Patch (Parameters) as " FHIR_JSON, type);
      return FALSE;
    }
  parameters = charta_server_request_parse_body (req, error);
  if (parameters == NULL)
    return FALSE;
  if (strcmp (charta_resource_get_resource_type (parameters), "Parameters") != 0)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "PATCH [base]/%s with a %s: a FHIRPath Patch is a Parameters resource (a "
                   "JSON Patch goes as " JSON_PATCH ")", req->path,
                   charta_resource_get_resource_type (parameters));
      return FALSE;
    }
  patch->parameters = g_steal_pointer (&parameters);
  return TRUE;
}

/* Whether @text is a JSON Pointer (RFC 6901): empty, or '/' and tokens where '~' is followed
 * by 0 or 1. */
static gboolean
is_json_pointer (const char *text)
{
  if (text == NULL)
    return FALSE;
  if (*text != '\0' && *text != '/')
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (*p == '~' && p[1] != '0' && p[1] != '1')
      return FALSE;
  return TRUE;
}

/* The index of the first operation of the JSON Patch @patch that is no operation at all
 * (RFC 6902 §4: op, path, from for move and copy, value for add, replace and test), the
 * number of operations when all are well formed, and -1 when @patch is not an array. */
static int
first_malformed_json_op (JsonNode *patch)
{
  static const char *const ops[] = { "add", "remove", "replace", "move", "copy", "test", NULL };
  JsonArray *array;
  unsigned n;

  if (!JSON_NODE_HOLDS_ARRAY (patch))
    return -1;
  array = json_node_get_array (patch);
  n = json_array_get_length (array);
  for (unsigned i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      JsonObject *op = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *name = member_string (op, "op");
      const char *path = member_string (op, "path");

      if (name == NULL || !g_strv_contains (ops, name) || !is_json_pointer (path))
        return (int) i;
      if ((strcmp (name, "move") == 0 || strcmp (name, "copy") == 0)
          && !is_json_pointer (member_string (op, "from")))
        return (int) i;
      if ((strcmp (name, "add") == 0 || strcmp (name, "replace") == 0
           || strcmp (name, "test") == 0) && !json_object_has_member (op, "value"))
        return (int) i;
    }
  return (int) n;
}

/* Whether the JSON Patch @text, which the engine refused on @current, failed because it is not
 * a JSON Patch.  The engine applies the operations in order and stops at the first that fails:
 * that is the first malformed one exactly when every operation before it applies. */
static gboolean
json_patch_is_malformed (ChartaResource *current,
                         GBytes         *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonArray) prefix = NULL;
  g_autoptr(JsonNode) prefix_node = NULL;
  g_autoptr(ChartaResource) applied = NULL;
  gsize length;
  const char *data = g_bytes_get_data (text, &length);
  JsonNode *root;
  int bad;

  if (!json_parser_load_from_data (parser, data, (gssize) length, NULL))
    return FALSE;
  root = json_parser_get_root (parser);
  bad = root != NULL ? first_malformed_json_op (root) : -1;
  if (bad < 0)
    return TRUE;
  if ((unsigned) bad == json_array_get_length (json_node_get_array (root)))
    return FALSE;
  if (bad == 0)
    return TRUE;
  prefix = json_array_sized_new ((unsigned) bad);
  for (int i = 0; i < bad; i++)
    json_array_add_element (prefix, json_node_copy (json_array_get_element (
                                                      json_node_get_array (root), (unsigned) i)));
  prefix_node = json_node_new (JSON_NODE_ARRAY);
  json_node_set_array (prefix_node, prefix);
  applied = charta_patch_apply_json (current, prefix_node, NULL);
  return applied != NULL;
}

/* Whether the FHIRPath Patch @parameters is not one: the rules the engine reads every
 * operation by before it applies any (fhir/charta-patch.h), so that a patch it refused and
 * this finds malformed was refused for that. */
static gboolean
fhirpath_patch_is_malformed (ChartaResource *parameters)
{
  static const char *const types[] = { "add", "insert", "delete", "replace", "move", NULL };
  static const char *const parts[] = { "type", "path", "name", "value", "index", "source",
                                       "destination", NULL };
  /* the parts each type takes, all required: bits of @parts */
  static const unsigned takes[] = { 0x0f, 0x1b, 0x03, 0x0b, 0x63 };
  JsonNode *list = json_object_get_member (charta_resource_get_object (parameters),
                                           "parameter");
  JsonArray *array;

  if (list == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_ARRAY (list))
    return TRUE;
  array = json_node_get_array (list);
  for (unsigned i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      JsonObject *parameter = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonNode *parts_node = parameter != NULL ? json_object_get_member (parameter, "part")
                                               : NULL;
      JsonArray *part_list;
      unsigned seen = 0;
      int kind = -1;

      if (g_strcmp0 (member_string (parameter, "name"), "operation") != 0
          || parts_node == NULL || !JSON_NODE_HOLDS_ARRAY (parts_node))
        return TRUE;
      part_list = json_node_get_array (parts_node);
      for (unsigned j = 0; j < json_array_get_length (part_list); j++)
        {
          JsonNode *part_node = json_array_get_element (part_list, j);
          JsonObject *part = JSON_NODE_HOLDS_OBJECT (part_node)
                             ? json_node_get_object (part_node) : NULL;
          const char *name = member_string (part, "name");
          unsigned k;

          for (k = 0; name != NULL && parts[k] != NULL; k++)
            if (strcmp (name, parts[k]) == 0)
              break;
          if (name == NULL || parts[k] == NULL || (seen & (1u << k)) != 0)
            return TRUE;
          seen |= 1u << k;
          if (k == 0)
            {
              const char *code = member_string (part, "valueCode");

              if (code == NULL)
                code = member_string (part, "valueString");
              for (unsigned t = 0; code != NULL && types[t] != NULL; t++)
                if (strcmp (code, types[t]) == 0)
                  kind = (int) t;
              if (kind < 0)
                return TRUE;
            }
          else if (k == 1 || k == 2)
            {
              if (member_string (part, "valueString") == NULL)
                return TRUE;
            }
          else if (k >= 4)
            {
              JsonNode *v = json_object_get_member (part, "valueInteger");

              if (v == NULL || !JSON_NODE_HOLDS_VALUE (v)
                  || json_node_get_value_type (v) != G_TYPE_INT64
                  || json_node_get_int (v) < 0 || json_node_get_int (v) > G_MAXINT)
                return TRUE;
            }
        }
      if (kind < 0 || seen != takes[kind])
        return TRUE;
    }
  return FALSE;
}

ChartaResource *
charta_server_apply_patch (ChartaResource           *current,
                           const ChartaServerPatch  *patch,
                           GError                  **error)
{
  g_autoptr(ChartaResource) result = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean malformed;

  g_return_val_if_fail (current != NULL, NULL);
  g_return_val_if_fail ((patch->json_patch != NULL) != (patch->parameters != NULL), NULL);

  if (patch->json_patch != NULL)
    {
      gsize length;
      const char *data = g_bytes_get_data (patch->json_patch, &length);

      result = charta_patch_apply_json_data (current, data, length, &local_error);
    }
  else
    result = charta_patch_apply_fhirpath (current, patch->parameters, &local_error);
  if (result != NULL)
    return g_steal_pointer (&result);

  if (local_error->domain != CHARTA_FHIR_ERROR
      || (local_error->code != CHARTA_FHIR_ERROR_INVALID
          && local_error->code != CHARTA_FHIR_ERROR_FHIRPATH_EVAL))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  /* A path whose evaluation fails is the patch's trouble with this resource. */
  malformed = local_error->code == CHARTA_FHIR_ERROR_INVALID
              && (patch->json_patch != NULL
                  ? json_patch_is_malformed (current, patch->json_patch)
                  : fhirpath_patch_is_malformed (patch->parameters));
  g_set_error (error, CHARTA_SERVER_ERROR,
               malformed ? CHARTA_SERVER_ERROR_BAD_REQUEST : CHARTA_SERVER_ERROR_UNPROCESSABLE,
               "%s Patch: %s", patch->json_patch != NULL ? "JSON" : "FHIRPath",
               local_error->message);
  return NULL;
}

/* Patches @type/@id: reads it, applies @patch, and updates it conditionally on the version
 * read, so that a write in between fails the patch (412) rather than being lost. */
static void
patch_resource (ChartaServerRequest     *req,
                const char              *type,
                const char              *id,
                const ChartaServerPatch *patch,
                int64_t                  expected)
{
  g_autoptr(ChartaResource) current = NULL;
  g_autoptr(ChartaResource) patched = NULL;
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(ChartaChange) change = NULL;
  g_autoptr(GError) error = NULL;
  const char *version_text;
  int64_t version;

  if (!charta_server_request_get_change (req, &change, &error))
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  current = charta_store_read (req->store, type, id, &error);
  if (current == NULL)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  version_text = charta_resource_get_version_id (current);
  version = version_text != NULL ? g_ascii_strtoll (version_text, NULL, 10) : 0;
  if (expected > 0 && expected != version)
    {
      g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_PRECONDITION_FAILED,
                   "If-Match asks for version %" G_GINT64_FORMAT " of %s/%s, but the current "
                   "version is %" G_GINT64_FORMAT, expected, type, id, version);
      charta_server_request_respond_error (req, error);
      return;
    }
  patched = charta_server_apply_patch (current, patch, &error);
  if (patched == NULL)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  {
    /* one update, which history lists as the PATCH it was */
    ChartaOperation op = { 0 };
    g_autoptr(GPtrArray) results = NULL;

    op.method = CHARTA_METHOD_UPDATE;
    op.resource = patched;
    op.expected_version = version;
    op.patch = TRUE;
    results = charta_store_transaction (req->store, &op, 1, change, &error);
    if (results == NULL)
      {
        charta_server_request_respond_write_error (req, patched, error);
        return;
      }
    stored = charta_resource_ref (((ChartaOperationResult *) results->pdata[0])->resource);
  }
  g_debug ("patch %s/%s: version %s", type, id, charta_resource_get_version_id (stored));
  respond_written (req, stored, SOUP_STATUS_OK, "patched");
}

static void
do_patch (ChartaServerRequest *req,
          const char          *type,
          const char          *id)
{
  g_auto(ChartaServerPatch) patch = { NULL, NULL };
  g_autoptr(GError) error = NULL;
  int64_t expected;

  if (!check_writable (req))
    return;
  if (!charta_server_request_read_patch (req, &patch, &error))
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  expected = expected_version (req);
  if (expected >= 0)
    patch_resource (req, type, id, &patch, expected);
}

static void
do_conditional_patch (ChartaServerRequest *req,
                      const char          *type)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_auto(ChartaServerPatch) patch = { NULL, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  unsigned n = 0;
  int64_t expected;

  if (!check_writable (req))
    return;
  if (req->query == NULL || *req->query == '\0')
    {
      g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "PATCH [base]/%s needs search criteria (PATCH [base]/%s?identifier=…) or an "
                   "id (PATCH [base]/%s/[id])", type, type, type);
      charta_server_request_respond_error (req, error);
      return;
    }
  if (!charta_server_request_read_patch (req, &patch, &error))
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  expected = expected_version (req);
  if (expected < 0)
    return;
  locker = charta_server_lock_conditional (req->server);
  if (!charta_server_find_matches (req, type, req->query, &n, &id, &error))
    {
      charta_server_request_respond_query_error (req, error);
      return;
    }
  if (n > 1)
    respond_multiple_matches (req, type, "patch");
  else if (n == 0)
    respond_not_found (req, "the criteria of the conditional patch match nothing");
  else
    patch_resource (req, type, id, &patch, expected);
}

/* ---- search ------------------------------------------------------------------------------- */

static gboolean
is_form_body (ChartaServerRequest *req)
{
  const char *content_type = soup_message_headers_get_one (req->headers, "Content-Type");
  g_autofree char *type = content_type != NULL ? media_type (content_type) : NULL;

  return type != NULL && strcmp (type, "application/x-www-form-urlencoded") == 0;
}

static void
do_search (ChartaServerRequest *req,
           const char          *type,
           const char          *compartment_type,
           const char          *compartment_id)
{
  g_autoptr(ChartaSearchQuery) query = NULL;
  g_autoptr(ChartaSearchResult) result = NULL;
  g_autoptr(GBytes) bundle = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *path = NULL;

  if (req->method == SOUP_METHOD_POST)
    {
      gsize length;
      const char *data = g_bytes_get_data (req->body, &length);

      if (length > 0 && !is_form_body (req))
        {
          g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_UNSUPPORTED_MEDIA_TYPE,
                       "POST …/_search takes its parameters as "
                       "application/x-www-form-urlencoded");
          charta_server_request_respond_error (req, error);
          return;
        }
      text = g_strdup_printf ("%s%s%.*s", req->query != NULL ? req->query : "",
                              req->query != NULL && *req->query != '\0' && length > 0 ? "&" : "",
                              (int) length, data != NULL ? data : "");
    }
  else
    text = g_strdup (req->query);

  query = charta_search_query_parse (type, text,
                                     req->strict ? CHARTA_SEARCH_QUERY_STRICT
                                                 : CHARTA_SEARCH_QUERY_DEFAULT,
                                     &error);
  if (query == NULL)
    {
      charta_server_request_respond_query_error (req, error);
      return;
    }
  if (compartment_type != NULL)
    {
      query->compartment_type = g_strdup (compartment_type);
      query->compartment_id = g_strdup (compartment_id);
      path = g_strdup_printf ("%s/%s/%s", compartment_type, compartment_id, type);
    }
  else
    path = g_strdup (type != NULL ? type : "");

  result = charta_store_search (req->store, query, &error);
  if (result == NULL)
    {
      charta_server_request_respond_query_error (req, error);
      return;
    }
  bundle = charta_search_result_to_bundle (result, query, req->base_url, path);
  charta_server_request_respond_json (req, SOUP_STATUS_OK, bundle);
}

/* ---- history ------------------------------------------------------------------------------ */

/* The range of instants (µs, inclusive) that the date or dateTime @text of the parameter
 * @name covers at its precision: "2026-11-22" is that whole day, "…T07:14:03Z" that second,
 * "…T07:14:03.123456Z" that microsecond (search.html, "date").  _since wants its start; _at
 * all of it (http.html#history: versions current at some point of the period).  @high may be
 * NULL. */
static gboolean
parse_history_instant (const char  *name,
                       const char  *text,
                       int64_t     *low,
                       int64_t     *high,
                       GError     **error)
{
  ChartaDateTime dt;
  g_autoptr(GError) local_error = NULL;
  int64_t end;

  if (!charta_datetime_parse (text, CHARTA_DATETIME_DATETIME, CHARTA_DATETIME_STRICT, &dt,
                              &local_error))
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST, "%s: %s", name,
                   local_error->message);
      return FALSE;
    }
  charta_datetime_range (&dt, low, &end);
  if (high != NULL)
    *high = end;
  return TRUE;
}

char *
charta_server_query_without_cursor (const char *query)
{
  g_auto(GStrv) parts = g_strsplit (query != NULL ? query : "", "&", -1);
  GString *out = g_string_new (NULL);

  for (char **part = parts; *part != NULL; part++)
    {
      if (**part == '\0' || g_str_has_prefix (*part, "_cursor=") || strcmp (*part, "_cursor") == 0)
        continue;
      if (out->len > 0)
        g_string_append_c (out, '&');
      g_string_append (out, *part);
    }
  return g_string_free (out, FALSE);
}

void
charta_server_append_link (GString    *out,
                           const char *relation,
                           const char *base_url,
                           const char *path,
                           const char *params,
                           const char *cursor)
{
  GString *url = g_string_new (base_url);

  g_string_append_printf (url, "/%s", path);
  if (*params != '\0' || cursor != NULL)
    g_string_append_c (url, '?');
  g_string_append (url, params);
  if (cursor != NULL)
    {
      g_autofree char *escaped = g_uri_escape_string (cursor, NULL, FALSE);

      g_string_append_printf (url, "%s_cursor=%s", *params != '\0' ? "&" : "", escaped);
    }
  g_string_append_printf (out, "{\"relation\":\"%s\",\"url\":", relation);
  charta_server_append_json_string (out, url->str);
  g_string_append_c (out, '}');
  g_string_free (url, TRUE);
}

static void
append_history_entry (GString            *out,
                      const char         *base_url,
                      ChartaHistoryEntry *entry)
{
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (entry->last_updated
                                                             / G_USEC_PER_SEC);
  g_autoptr(GDateTime) exact = g_date_time_add (when, entry->last_updated % G_USEC_PER_SEC);
  /* all six digits, as meta.lastUpdated: _at=lastModified is then that one microsecond */
  g_autofree char *instant = g_date_time_format (exact, "%Y-%m-%dT%H:%M:%S.%fZ");
  const char *method;

  /* types and ids are checked FHIR names: nothing in them needs escaping */
  g_string_append (out, "{\"fullUrl\":");
  {
    g_autofree char *url = g_strdup_printf ("%s/%s/%s", base_url, entry->type, entry->id);

    charta_server_append_json_string (out, url);
  }
  if (entry->resource != NULL)
    {
      /* TODO(store): the history entries' stored bytes would spare this write-out. */
      g_autofree char *json = charta_resource_to_json (entry->resource, FALSE, NULL);

      g_string_append_printf (out, ",\"resource\":%s", json);
    }
  /* The request is what was asked (a PUT that created the resource is a PUT of Type/id),
   * the response what it did. */
  method = charta_history_entry_get_http_method (entry);
  if (strcmp (method, "POST") == 0)
    g_string_append_printf (out, ",\"request\":{\"method\":\"POST\",\"url\":\"%s\"},",
                            entry->type);
  else
    g_string_append_printf (out, ",\"request\":{\"method\":\"%s\",\"url\":\"%s/%s\"},",
                            method, entry->type, entry->id);
  if (entry->method == CHARTA_METHOD_DELETE)
    g_string_append (out, "\"response\":{\"status\":\"204 No Content\",");
  else
    {
      g_string_append (out, entry->method == CHARTA_METHOD_CREATE
                            ? "\"response\":{\"status\":\"201 Created\","
                            : "\"response\":{\"status\":\"200 OK\",");
    }
  g_string_append_printf (out, "\"etag\":\"W/\\\"%" G_GINT64_FORMAT "\\\"\","
                          "\"lastModified\":\"%s\"}}", entry->version, instant);
}

static void
do_history (ChartaServerRequest *req,
            const char          *type,
            const char          *id)
{
  const char *since = g_hash_table_lookup (req->params, "_since");
  const char *at = g_hash_table_lookup (req->params, "_at");
  const char *count = g_hash_table_lookup (req->params, "_count");
  ChartaHistoryOptions options = { 0 };
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *next = NULL;
  g_autofree char *params = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GBytes) body = NULL;
  GString *out;

  if ((since != NULL && !parse_history_instant ("_since", since, &options.since, NULL, &error))
      || (at != NULL
          && !parse_history_instant ("_at", at, &options.at, &options.at_high, &error)))
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  if (count != NULL)
    {
      char *end = NULL;
      gint64 n = g_ascii_strtoll (count, &end, 10);

      if (end == count || *end != '\0' || n < 1)
        {
          g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                       "_count: “%.40s” is not a positive whole number", count);
          charta_server_request_respond_error (req, error);
          return;
        }
      options.count = (unsigned) MIN (n, G_MAXINT);
    }
  options.cursor = g_hash_table_lookup (req->params, "_cursor");

  entries = charta_store_history (req->store, type, id, &options, &next, &error);
  if (entries == NULL)
    {
      /* what is wrong is the URL (a cursor that is none): 400, as for a search */
      charta_server_request_respond_query_error (req, error);
      return;
    }

  if (id != NULL)
    path = g_strdup_printf ("%s/%s/_history", type, id);
  else if (type != NULL)
    path = g_strdup_printf ("%s/_history", type);
  else
    path = g_strdup ("_history");
  params = charta_server_query_without_cursor (req->query);

  out = g_string_sized_new (4096);
  g_string_append (out, "{\"resourceType\":\"Bundle\",\"type\":\"history\",\"link\":[");
  charta_server_append_link (out, "self", req->base_url, path, params, options.cursor);
  if (next != NULL)
    {
      g_string_append_c (out, ',');
      charta_server_append_link (out, "next", req->base_url, path, params, next);
    }
  g_string_append_c (out, ']');
  /* no entry: no array (FHIR JSON has no empty arrays) */
  for (unsigned i = 0; i < entries->len; i++)
    {
      g_string_append (out, i > 0 ? "," : ",\"entry\":[");
      append_history_entry (out, req->base_url, g_ptr_array_index (entries, i));
    }
  g_string_append (out, entries->len > 0 ? "]}" : "}");
  body = g_string_free_to_bytes (out);
  charta_server_request_respond_json (req, SOUP_STATUS_OK, body);
}

/* ---- Binary content: the worker's part ------------------------------------------------------- */

/* POST [base]/Binary (@id NULL) or PUT [base]/Binary/[id] with raw content: the content (its
 * bytes were written as they came, see "Binary content") ends, and the Binary's version is
 * written.  Whatever refuses the request first drops the content. */
static void
do_binary_upload (ChartaServerRequest *req,
                  const char          *id)
{
  ChartaServerUpload *up = req->upload;
  const char *content_type = soup_message_headers_get_one (req->headers, "Content-Type");
  const char *security = soup_message_headers_get_one (req->headers, "X-Security-Context");
  g_autoptr(ChartaChange) change = NULL;
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *type = NULL;
  g_autofree char *context = NULL;
  ChartaContentWriter *writer = NULL;
  ChartaContentInfo info;
  gboolean created = FALSE;
  int64_t expected;

  if (!check_writable (req))
    {
      upload_discard (up);
      return;
    }
  if (!charta_server_request_get_change (req, &change, &error))
    {
      upload_discard (up);
      charta_server_request_respond_error (req, error);
      return;
    }
  expected = expected_version (req);
  if (expected < 0)
    {
      upload_discard (up);
      return;
    }
  type = g_strstrip (g_strdup (content_type != NULL ? content_type : ""));
  if (security != NULL)
    {
      context = g_strstrip (g_strdup (security));
      if (*context == '\0')
        g_clear_pointer (&context, g_free);
    }
  if (!upload_take_writer (up, &writer, &error))
    {
      g_prefix_error (&error, "storing the Binary content failed: ");
      charta_server_request_respond_error (req, error);
      return;
    }
  if (writer == NULL)
    writer = charta_store_content_begin (req->store, &error);  /* (an empty body) */
  if (writer == NULL || !charta_content_writer_finish (writer, &info, &error))
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  /* (a write refused from here, If-Match…, leaves the content held by no Binary: the store
   * drops it later) */
  stored = charta_store_put_binary (req->store, id, type, context, info.sha256, expected, change,
                                    &created, &error);
  if (stored == NULL)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  g_debug ("upload Binary/%s: %" G_GINT64_FORMAT " bytes", charta_resource_get_id (stored),
           info.size);
  respond_written (req, stored, created ? SOUP_STATUS_CREATED : SOUP_STATUS_OK,
                   created ? "created" : "updated");
}

/* GET/HEAD Binary/[id] or Binary/[id]/_history/[n] outside a batch: *id and *version (NULL for
 * the current one), newly allocated. */
static gboolean
is_binary_read (ChartaServerRequest  *req,
                char                **id,
                char                **version)
{
  g_auto(GStrv) segments = NULL;
  unsigned n;

  if ((req->method != SOUP_METHOD_GET && req->method != SOUP_METHOD_HEAD) || req->nested
      || !g_str_has_prefix (req->path, "Binary/"))
    return FALSE;
  segments = g_strsplit (req->path, "/", -1);
  n = g_strv_length (segments);
  while (n > 0 && *segments[n - 1] == '\0')
    n--;
  if (!((n == 2 && charta_server_is_valid_id (segments[1]))
        || (n == 4 && charta_server_is_valid_id (segments[1])
            && strcmp (segments[2], "_history") == 0 && *segments[3] != '\0')))
    return FALSE;
  *id = g_strdup (segments[1]);
  *version = n == 4 ? g_strdup (segments[3]) : NULL;
  return TRUE;
}

/* Whether the client asks for the Binary as FHIR JSON (_format, or an Accept whose first type
 * served is JSON) rather than its content as it is (no Accept, any other type, * / *); FALSE
 * and @error (406) when it takes only what is not served (FHIR XML). */
static gboolean
binary_negotiate (ChartaServerRequest  *req,
                  gboolean             *json,
                  GError              **error)
{
  const char *format = g_hash_table_lookup (req->params, "_format");
  const char *accept = soup_message_headers_get_list (req->headers, "Accept");
  gboolean decided = FALSE, xml = FALSE;

  *json = format != NULL;
  req->content_type = FHIR_JSON;
  if (format == NULL && accept != NULL && *accept != '\0')
    {
      GSList *unacceptable = NULL;
      GSList *acceptable = soup_header_parse_quality_list (accept, &unacceptable);

      for (GSList *l = acceptable; l != NULL && !decided; l = l->next)
        {
          g_autofree char *type = media_type (l->data);

          if (is_json_media_type (type))
            *json = decided = TRUE;
          else if (is_fhir_xml_media_type (type))
            xml = TRUE;
          else
            decided = TRUE;
        }
      soup_header_free_list (acceptable);
      soup_header_free_list (unacceptable);
      if (!decided && xml)
        {
          g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_NOT_ACCEPTABLE,
                       "Accept: this server does not serve XML; accept application/fhir+json, "
                       "or the Binary's own content type");
          return FALSE;
        }
    }
  /* (JSON: _format, Accept, _pretty and Prefer as for any resource) */
  return !*json || negotiate (req, error);
}

typedef enum
{
  RANGE_NONE,           /* no Range, or one answered with the whole content */
  RANGE_ONE,
  RANGE_UNSATISFIABLE,
} RangeKind;

static gboolean
parse_offset (const char *text,
              size_t      length,
              int64_t    *value)
{
  g_autofree char *digits = g_strndup (text, length);
  guint64 n = 0;

  if (*digits == '\0' || strspn (digits, "0123456789") != length
      || !g_ascii_string_to_unsigned (digits, 10, 0, G_MAXINT64, &n, NULL))
    return FALSE;
  *value = (int64_t) n;
  return TRUE;
}

/* A Range header (RFC 9110 byte ranges: "bytes=a-b", "bytes=a-", "bytes=-n", or a list) on
 * content of @size bytes: RANGE_ONE and [*first, *last] for a single range; RANGE_NONE when
 * there is none, when it is malformed (ignored, as RFC 9110 has it) or when it lists several
 * (answered 200 with the whole content, which RFC 9110 allows); RANGE_UNSATISFIABLE when no
 * range of it is within the content. */
static RangeKind
parse_range (const char *header,
             int64_t     size,
             int64_t    *first,
             int64_t    *last)
{
  g_auto(GStrv) specs = NULL;
  unsigned n_specs = 0, n_satisfiable = 0;

  if (header == NULL)
    return RANGE_NONE;
  while (*header == ' ' || *header == '\t')
    header++;
  if (g_ascii_strncasecmp (header, "bytes=", 6) != 0)
    return RANGE_NONE;
  specs = g_strsplit (header + 6, ",", -1);
  for (char **spec = specs; *spec != NULL; spec++)
    {
      const char *text = g_strstrip (*spec);
      const char *dash = strchr (text, '-');
      int64_t a = 0, b = -1;

      if (*text == '\0')
        continue;  /* (an empty list element is allowed) */
      n_specs++;
      if (dash == NULL)
        return RANGE_NONE;
      if (dash == text)
        {
          /* the last b bytes */
          if (!parse_offset (dash + 1, strlen (dash + 1), &b))
            return RANGE_NONE;
          if (b == 0 || size == 0)
            continue;
          a = MAX (size - b, 0);
          b = size - 1;
        }
      else
        {
          if (!parse_offset (text, (size_t) (dash - text), &a)
              || (dash[1] != '\0' && !parse_offset (dash + 1, strlen (dash + 1), &b))
              || (b >= 0 && b < a))
            return RANGE_NONE;
          if (a >= size)
            continue;
          b = b < 0 ? size - 1 : MIN (b, size - 1);
        }
      n_satisfiable++;
      *first = a;
      *last = b;
    }
  if (n_specs == 0)
    return RANGE_NONE;
  if (n_satisfiable == 0)
    return RANGE_UNSATISFIABLE;
  return n_specs == 1 ? RANGE_ONE : RANGE_NONE;
}

/* The content of Binary @id (at version @version_text, NULL for the current one): as it is,
 * with its contentType (a Range answered 206), or as FHIR JSON with `data` (@json).  The body
 * is streamed (see "Binary content"). */
static void
do_binary_read (ChartaServerRequest *req,
                const char          *id,
                const char          *version_text,
                gboolean             json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(ChartaResource) binary = NULL;
  g_autoptr(GDateTime) last_updated = NULL;
  ChartaContentInfo info;
  JsonObject *root, *security;
  const char *content_type;
  int64_t version = 0;

  if (version_text != NULL)
    {
      char *end = NULL;

      version = g_ascii_strtoll (version_text, &end, 10);
      if (end == version_text || *end != '\0' || version <= 0)
        {
          g_autofree char *what = g_strdup_printf ("Binary/%s has no version “%.40s”: versions "
                                                   "are 1, 2, 3…", id, version_text);

          respond_not_found (req, what);
          return;
        }
    }
  /* (_summary, _elements: the resource as a read gives it, without its content) */
  if (json && (g_hash_table_contains (req->params, "_summary")
               || g_hash_table_contains (req->params, "_elements")))
    {
      if (version_text != NULL)
        do_vread (req, "Binary", id, version_text);
      else
        do_read (req, "Binary", id);
      return;
    }
  stream = charta_store_open_binary (req->store, id, version, 0, -1, &binary, &info, &error);
  if (stream == NULL)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  version = g_ascii_strtoll (charta_resource_get_version_id (binary), NULL, 10);
  last_updated = parse_instant_text (charta_resource_get_last_updated (binary));
  set_version_headers (req, "Binary", id, version, last_updated, FALSE);
  root = charta_resource_get_object (binary);
  security = json_object_has_member (root, "securityContext")
             ? json_object_get_object_member (root, "securityContext") : NULL;
  if (security != NULL && json_object_has_member (security, "reference"))
    charta_server_request_set_header (req, "X-Security-Context",
                                      json_object_get_string_member (security, "reference"));
  if (not_modified (req, version, last_updated))
    {
      req->status = SOUP_STATUS_NOT_MODIFIED;
      return;
    }

  if (json)
    {
      g_autoptr(GBytes) body = charta_resource_to_bytes (binary, FALSE);
      gsize length;
      const char *data = g_bytes_get_data (body, &length);
      g_autofree char *type = g_strdup_printf ("%s; charset=utf-8", req->content_type);
      GString *prefix;

      if (info.size == 0 || length < 2 || data[length - 1] != '}')
        {
          /* (no content: no data, which FHIR has non-empty) */
          charta_server_request_respond_json (req, SOUP_STATUS_OK, body);
          return;
        }
      prefix = g_string_sized_new (length + 16);
      g_string_append_len (prefix, data, (gssize) length - 1);
      g_string_append (prefix, ",\"data\":\"");
      req->status = SOUP_STATUS_OK;
      charta_server_request_set_header (req, "Content-Type", type);
      req->response_prefix = g_string_free_to_bytes (prefix);
      req->response_suffix = g_bytes_new_static ("\"}", 2);
      req->response_base64 = TRUE;
      req->response_length = (goffset) (g_bytes_get_size (req->response_prefix)
                                        + (gsize) (info.size + 2) / 3 * 4 + 2);
      req->response_stream = g_steal_pointer (&stream);
      return;
    }

  content_type = json_object_has_member (root, "contentType")
                 ? json_object_get_string_member (root, "contentType") : NULL;
  charta_server_request_set_header (req, "Content-Type",
                                    content_type != NULL ? content_type
                                                         : "application/octet-stream");
  charta_server_request_set_header (req, "Accept-Ranges", "bytes");
  req->status = SOUP_STATUS_OK;
  req->response_length = info.size;
  {
    const char *range = soup_message_headers_get_one (req->headers, "Range");
    const char *if_range = soup_message_headers_get_one (req->headers, "If-Range");
    int64_t first = 0, last = -1;
    RangeKind kind;

    /* If-Range: the range only if the client's copy is this one (by date: the store's ETags
     * are weak, which If-Range never matches) */
    if (range != NULL && if_range != NULL)
      {
        const char *modified = soup_message_headers_get_one (req->response_headers,
                                                             "Last-Modified");
        g_autofree char *given = g_strstrip (g_strdup (if_range));

        if (modified == NULL || strcmp (given, modified) != 0)
          range = NULL;
      }
    kind = parse_range (range, info.size, &first, &last);
    if (kind == RANGE_UNSATISFIABLE)
      {
        g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
        g_autofree char *unsatisfied = g_strdup_printf ("bytes */%" G_GINT64_FORMAT, info.size);

        charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "processing", NULL,
                            "Range: %.80s is outside the content of Binary/%s (%" G_GINT64_FORMAT
                            " bytes)", range, id, info.size);
        soup_message_headers_remove (req->response_headers, "Content-Type");
        charta_server_request_set_header (req, "Content-Range", unsatisfied);
        charta_server_request_respond_outcome (req, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE,
                                               outcome);
        return;
      }
    if (kind == RANGE_ONE)
      {
        g_clear_object (&stream);
        stream = charta_store_open_binary (req->store, id, version, first, last - first + 1, NULL,
                                           NULL, &error);
        if (stream == NULL)
          {
            charta_server_request_respond_error (req, error);
            return;
          }
        req->status = SOUP_STATUS_PARTIAL_CONTENT;
        req->response_length = last - first + 1;
        soup_message_headers_set_content_range (req->response_headers, first, last, info.size);
      }
  }
  req->response_stream = g_steal_pointer (&stream);
}

/* ---- routing ------------------------------------------------------------------------------ */

static gboolean
is_get (ChartaServerRequest *req)
{
  return req->method == SOUP_METHOD_GET || req->method == SOUP_METHOD_HEAD;
}

/* libsoup has no SOUP_METHOD_PATCH: the method is compared as text. */
static gboolean
is_patch (ChartaServerRequest *req)
{
  return strcmp (req->method, "PATCH") == 0;
}

static void
respond_unknown_type (ChartaServerRequest *req,
                      const char          *type)
{
  g_autofree char *what = g_strdup_printf ("“%.64s” is not a resource type of FHIR R4", type);

  respond_not_found (req, what);
}

/* Type/id/…: instance level. */
static void
route_instance (ChartaServerRequest *req,
                char               **segments,
                unsigned             n)
{
  const char *type = segments[0];
  const char *id = segments[1];

  if (!charta_server_is_valid_id (id))
    {
      g_autofree char *what = g_strdup_printf ("%s/%.80s: not a FHIR id (1 to 64 of "
                                               "A-Z a-z 0-9 - .)", type, id);

      respond_not_found (req, what);
      return;
    }
  if (n == 2)
    {
      if (is_get (req))
        do_read (req, type, id);
      else if (req->method == SOUP_METHOD_PUT)
        do_update (req, type, id);
      else if (req->method == SOUP_METHOD_DELETE)
        do_delete (req, type, id);
      else if (is_patch (req))
        do_patch (req, type, id);
      else
        respond_method_not_allowed (req, "GET, HEAD, PUT, PATCH, DELETE");
      return;
    }
  if (segments[2][0] == '$' && n == 3)
    {
      charta_server_handle_operation (req, type, id, segments[2] + 1);
      return;
    }
  if (strcmp (segments[2], "_history") == 0 && n <= 4)
    {
      if (!is_get (req))
        respond_method_not_allowed (req, "GET, HEAD");
      else if (n == 3)
        do_history (req, type, id);
      else
        do_vread (req, type, id, segments[3]);
      return;
    }
  if (n == 3 && charta_model_is_resource_type (segments[2]))
    {
      if (charta_model_lookup_compartment (type, type) == NULL)
        {
          g_autofree char *what = g_strdup_printf ("%s is not a compartment: compartments "
                                                   "are Patient, Encounter, RelatedPerson, "
                                                   "Practitioner and Device", type);

          respond_not_found (req, what);
        }
      else if (!is_get (req))
        respond_method_not_allowed (req, "GET, HEAD");
      else
        do_search (req, segments[2], type, id);
      return;
    }
  respond_not_found (req, "no such path: see [base]/metadata for what is served");
}

void
charta_server_route (ChartaServerRequest *req)
{
  g_auto(GStrv) segments = g_strsplit (req->path, "/", -1);
  unsigned n = g_strv_length (segments);
  const char *first;

  /* a trailing '/' adds nothing */
  while (n > 0 && *segments[n - 1] == '\0')
    {
      g_free (segments[n - 1]);
      segments[--n] = NULL;
    }
  for (unsigned i = 0; i < n; i++)
    if (*segments[i] == '\0')
      {
        respond_not_found (req, "no such path (an empty segment)");
        return;
      }

  if (n == 0)
    {
      if (is_get (req))
        do_search (req, NULL, NULL, NULL);
      else if (req->method == SOUP_METHOD_POST && req->nested)
        {
          g_autoptr(GError) error = NULL;

          g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                       "a batch or transaction cannot hold another one (POST [base])");
          charta_server_request_respond_error (req, error);
        }
      else if (req->method == SOUP_METHOD_POST)
        charta_server_handle_bundle (req);
      else
        respond_method_not_allowed (req, "GET, HEAD, POST");
      return;
    }
  first = segments[0];
  if (first[0] == '$')
    {
      if (n == 1)
        charta_server_handle_operation (req, NULL, NULL, first + 1);
      else
        respond_not_found (req, "no such path: an operation ends the path");
      return;
    }
  if (n == 1 && strcmp (first, "metadata") == 0)
    {
      if (is_get (req))
        do_capabilities (req);
      else
        respond_method_not_allowed (req, "GET, HEAD");
      return;
    }
  if (n == 1 && strcmp (first, "_history") == 0)
    {
      if (is_get (req))
        do_history (req, NULL, NULL);
      else
        respond_method_not_allowed (req, "GET, HEAD");
      return;
    }
  if (n == 1 && strcmp (first, "_search") == 0)
    {
      if (req->method == SOUP_METHOD_POST || is_get (req))
        do_search (req, NULL, NULL, NULL);
      else
        respond_method_not_allowed (req, "GET, HEAD, POST");
      return;
    }
  if (!charta_model_is_resource_type (first))
    {
      respond_unknown_type (req, first);
      return;
    }
  if (n == 1)
    {
      if (is_get (req))
        do_search (req, first, NULL, NULL);
      else if (req->method == SOUP_METHOD_POST)
        do_create (req, first);
      else if (req->method == SOUP_METHOD_PUT)
        do_conditional_update (req, first);
      else if (req->method == SOUP_METHOD_DELETE)
        do_conditional_delete (req, first);
      else if (is_patch (req))
        do_conditional_patch (req, first);
      else
        respond_method_not_allowed (req, "GET, HEAD, POST, PUT, PATCH, DELETE");
      return;
    }
  if (n == 2 && strcmp (segments[1], "_search") == 0)
    {
      if (req->method == SOUP_METHOD_POST || is_get (req))
        do_search (req, first, NULL, NULL);
      else
        respond_method_not_allowed (req, "GET, HEAD, POST");
      return;
    }
  if (n == 2 && strcmp (segments[1], "_history") == 0)
    {
      if (is_get (req))
        do_history (req, first, NULL);
      else
        respond_method_not_allowed (req, "GET, HEAD");
      return;
    }
  if (n == 2 && segments[1][0] == '$')
    {
      charta_server_handle_operation (req, first, NULL, segments[1] + 1);
      return;
    }
  if (n <= 4)
    {
      route_instance (req, segments, n);
      return;
    }
  respond_not_found (req, "no such path: see [base]/metadata for what is served");
}

static void
process_request (ChartaServerRequest *req)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *binary_id = NULL;
  g_autofree char *binary_version = NULL;

  take_form_params (req);
  if (req->upload != NULL)
    {
      const char *slash = strchr (req->path, '/');

      /* (the content is stored whatever the client accepts: the answer is FHIR JSON) */
      if (!negotiate (req, &error))
        {
          g_clear_error (&error);
          req->content_type = FHIR_JSON;
        }
      if (slash != NULL && slash[1] != '\0')
        binary_id = g_strndup (slash + 1, strcspn (slash + 1, "/"));
      do_binary_upload (req, binary_id);
    }
  else if (is_binary_read (req, &binary_id, &binary_version))
    {
      gboolean json = FALSE;

      if (!binary_negotiate (req, &json, &error))
        charta_server_request_respond_error (req, error);
      else
        do_binary_read (req, binary_id, binary_version, json);
    }
  else if (!negotiate (req, &error))
    {
      /* the OperationOutcome goes as JSON all the same: it is all this server writes */
      charta_server_request_respond_error (req, error);
      return;
    }
  else
    charta_server_route (req);
  if (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
    {
      g_autofree char *method = charta_server_dup_log_text (req->method, 16);
      g_autofree char *path = charta_server_dup_log_text (req->path, 120);

      /* the path only: never the query or the body */
      g_debug ("%s [base]/%s: %u", method, path, req->status);
    }
}

/* ---- the object --------------------------------------------------------------------------- */

static char *
normalize_base_path (const char *base_path)
{
  g_autofree char *trimmed = NULL;
  size_t n;

  if (base_path == NULL)
    base_path = CHARTA_SERVER_DEFAULT_BASE_PATH;
  while (*base_path == '/')
    base_path++;
  trimmed = g_strdup (base_path);
  n = strlen (trimmed);
  while (n > 0 && trimmed[n - 1] == '/')
    trimmed[--n] = '\0';
  return n > 0 ? g_strconcat ("/", trimmed, NULL) : g_strdup ("");
}

static void
forget_socket (gpointer key,
               gpointer value,
               gpointer user_data)
{
  Connection *conn = value;

  if (conn->socket != NULL)
    g_object_weak_unref (G_OBJECT (conn->socket), socket_gone, conn);
  conn->socket = NULL;
}

static void
start_sweeping (ChartaServer *self)
{
  unsigned interval = 1000;

  if (self->sweep != NULL)
    g_source_destroy (self->sweep);
  g_clear_pointer (&self->sweep, g_source_unref);
  if (self->context == NULL || self->idle_timeout <= 0)
    return;
  interval = (unsigned) CLAMP (self->idle_timeout * 1000 / 4, 10, 1000);
  self->sweep = g_timeout_source_new (interval);
  g_source_set_callback (self->sweep, sweep_connections, self, NULL);
  g_source_attach (self->sweep, self->context);
}

void
charta_server_stop (ChartaServer *self)
{
  GHashTableIter iter;
  gpointer job;

  g_return_if_fail (CHARTA_IS_SERVER (self));

  if (self->stopped)
    return;
  self->stopped = TRUE;
  if (self->sweep != NULL)
    g_source_destroy (self->sweep);
  g_clear_pointer (&self->sweep, g_source_unref);
  g_ptr_array_set_size (self->listeners, 0);
  /* Responses still being worked on are dropped: their messages are not touched again. */
  g_hash_table_iter_init (&iter, self->jobs);
  while (g_hash_table_iter_next (&iter, NULL, &job))
    ((Job *) job)->finished = TRUE;
  g_ptr_array_set_size (self->refusals, 0);
  if (self->soup != NULL)
    soup_server_disconnect (self->soup);
  if (self->reads->len > 0)
    {
      /* the reads not yet handed out: to the pool, which finishes them (their answers are
       * dropped) */
      flush_reads (self);
    }
  /* Uploads whose body had not come: dropped; content being sent: no more of it. */
  {
    GHashTableIter streams;
    gpointer msg, value;

    g_hash_table_iter_init (&streams, self->uploads);
    while (g_hash_table_iter_next (&streams, &msg, &value))
      upload_end (self, value);
    g_hash_table_remove_all (self->uploads);
    g_hash_table_iter_init (&streams, self->downloads);
    while (g_hash_table_iter_next (&streams, &msg, &value))
      ((Download *) value)->ended = TRUE;
    g_hash_table_remove_all (self->downloads);
  }
  if (self->pool != NULL)
    {
      g_thread_pool_free (self->pool, FALSE, TRUE);
      self->pool = NULL;
    }
  /* (after the workers: a worker of an upload waits for its drain) */
  if (self->stream_pool != NULL)
    {
      g_thread_pool_free (self->stream_pool, FALSE, TRUE);
      self->stream_pool = NULL;
    }
  /* Each finished job queued its completion on the context: run them, which frees them (and
   * what the stream pool left for it: pieces read for requests that ended). */
  if (self->context != NULL)
    {
      while (g_hash_table_size (self->jobs) > 0 || g_atomic_int_get (&self->guard->posted) > 0)
        g_main_context_iteration (self->context, TRUE);
    }
}

static void
charta_server_dispose (GObject *object)
{
  ChartaServer *self = CHARTA_SERVER (object);

  charta_server_stop (self);
  if (self->guard != NULL)
    {
      self->guard->server = NULL;
      g_clear_pointer (&self->guard, g_rc_box_release);
    }
  if (self->connections != NULL)
    g_hash_table_foreach (self->connections, forget_socket, self);
  g_clear_pointer (&self->connections, g_hash_table_unref);
  g_clear_object (&self->soup);
  if (self->flush != NULL)
    g_source_destroy (self->flush);
  g_clear_pointer (&self->flush, g_source_unref);
  if (self->drain != NULL)
    g_source_destroy (self->drain);
  g_clear_pointer (&self->drain, g_source_unref);
  g_clear_pointer (&self->listeners, g_ptr_array_unref);
  g_clear_pointer (&self->refusals, g_ptr_array_unref);
  G_OBJECT_CLASS (charta_server_parent_class)->dispose (object);
}

static void
charta_server_finalize (GObject *object)
{
  ChartaServer *self = CHARTA_SERVER (object);

  g_clear_object (&self->store);
  g_free (self->base_path);
  g_free (self->host);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_ptr_array_unref (self->cors_origins);
  g_clear_pointer (&self->jobs, g_hash_table_unref);
  g_clear_pointer (&self->uploads, g_hash_table_unref);
  g_clear_pointer (&self->downloads, g_hash_table_unref);
  g_clear_pointer (&self->capabilities, g_bytes_unref);
  g_clear_pointer (&self->done, g_async_queue_unref);
  g_clear_pointer (&self->reads, g_ptr_array_unref);
  clear_last_base (self);
  g_mutex_clear (&self->lock);
  g_rec_mutex_clear (&self->conditional);
  G_OBJECT_CLASS (charta_server_parent_class)->finalize (object);
}

static void
charta_server_constructed (GObject *object)
{
  ChartaServer *self = CHARTA_SERVER (object);
  unsigned n_workers;

  G_OBJECT_CLASS (charta_server_parent_class)->constructed (object);

  g_assert (self->store != NULL);
  self->n_processors = MAX (g_get_num_processors (), 1);
  n_workers = CLAMP (2 * self->n_processors, CHARTA_SERVER_DEFAULT_WORKERS, 32);
  if (self->base_path == NULL)
    self->base_path = normalize_base_path (NULL);
  /* raw-paths: the handler decodes the path itself, so that a path libsoup would refuse (an
   * encoded NUL, an encoded "..") gets an OperationOutcome like any other */
  self->soup = soup_server_new ("server-header", "Charta/" CHARTA_VERSION " ", "raw-paths", TRUE,
                                NULL);
  soup_server_add_early_handler (self->soup, NULL, early_handler, self, NULL);
  soup_server_add_handler (self->soup, NULL, handler, self, NULL);
  /* "OPTIONS *" names no path: libsoup answers it only with a handler of its own */
  soup_server_add_early_handler (self->soup, "*", early_handler, self, NULL);
  soup_server_add_handler (self->soup, "*", handler, self, NULL);
  g_signal_connect_object (self->soup, "request-started", G_CALLBACK (request_started), self, 0);
  g_signal_connect_object (self->soup, "request-finished", G_CALLBACK (request_ended), self, 0);
  g_signal_connect_object (self->soup, "request-aborted", G_CALLBACK (request_ended), self, 0);
  self->done = g_async_queue_new ();
  self->reads = g_ptr_array_new ();
  self->pool = g_thread_pool_new (worker_run, self, (int) n_workers, FALSE, NULL);
  self->stream_pool = g_thread_pool_new (stream_task_run, NULL,
                                         (int) CLAMP (self->n_processors, 2, 8), FALSE, NULL);
}

static void
charta_server_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  ChartaServer *self = CHARTA_SERVER (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_BASE_PATH:
      g_value_set_string (value, self->base_path);
      break;
    case PROP_MAX_BODY_SIZE:
      g_value_set_uint64 (value, self->max_body_size);
      break;
    case PROP_MAX_URL_LENGTH:
      g_value_set_uint (value, self->max_url_length);
      break;
    case PROP_MAX_HEADER_SIZE:
      g_value_set_uint (value, self->max_header_size);
      break;
    case PROP_MAX_CONNECTIONS:
      g_value_set_uint (value, self->max_connections);
      break;
    case PROP_REQUEST_TIMEOUT:
      g_value_set_double (value, self->request_timeout);
      break;
    case PROP_IDLE_TIMEOUT:
      g_value_set_double (value, self->idle_timeout);
      break;
    case PROP_READ_ONLY:
      g_value_set_boolean (value, self->read_only);
      break;
    case PROP_MAX_BINARY_SIZE:
      g_value_set_uint64 (value, self->max_binary_size);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_server_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  ChartaServer *self = CHARTA_SERVER (object);

  switch (prop_id)
    {
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_BASE_PATH:
      self->base_path = normalize_base_path (g_value_get_string (value));
      break;
    case PROP_MAX_BODY_SIZE:
      charta_server_set_max_body_size (self, (size_t) g_value_get_uint64 (value));
      break;
    case PROP_MAX_URL_LENGTH:
      charta_server_set_max_url_length (self, g_value_get_uint (value));
      break;
    case PROP_MAX_HEADER_SIZE:
      charta_server_set_max_header_size (self, g_value_get_uint (value));
      break;
    case PROP_MAX_CONNECTIONS:
      charta_server_set_max_connections (self, g_value_get_uint (value));
      break;
    case PROP_REQUEST_TIMEOUT:
      charta_server_set_request_timeout (self, g_value_get_double (value));
      break;
    case PROP_IDLE_TIMEOUT:
      charta_server_set_idle_timeout (self, g_value_get_double (value));
      break;
    case PROP_READ_ONLY:
      charta_server_set_read_only (self, g_value_get_boolean (value));
      break;
    case PROP_MAX_BINARY_SIZE:
      charta_server_set_max_binary_size (self, g_value_get_uint64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_server_class_init (ChartaServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->constructed = charta_server_constructed;
  object_class->dispose = charta_server_dispose;
  object_class->finalize = charta_server_finalize;
  object_class->get_property = charta_server_get_property;
  object_class->set_property = charta_server_set_property;

  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, CHARTA_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BASE_PATH] =
    g_param_spec_string ("base-path", NULL, NULL, CHARTA_SERVER_DEFAULT_BASE_PATH,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAX_BODY_SIZE] =
    g_param_spec_uint64 ("max-body-size", NULL, NULL, 0, G_MAXUINT64,
                         CHARTA_SERVER_DEFAULT_MAX_BODY_SIZE, rw);
  properties[PROP_MAX_URL_LENGTH] =
    g_param_spec_uint ("max-url-length", NULL, NULL, 0, G_MAXUINT,
                       CHARTA_SERVER_DEFAULT_MAX_URL_LENGTH, rw);
  properties[PROP_MAX_HEADER_SIZE] =
    g_param_spec_uint ("max-header-size", NULL, NULL, 0, G_MAXUINT,
                       CHARTA_SERVER_DEFAULT_MAX_HEADER_SIZE, rw);
  properties[PROP_MAX_CONNECTIONS] =
    g_param_spec_uint ("max-connections", NULL, NULL, 0, G_MAXUINT,
                       CHARTA_SERVER_DEFAULT_MAX_CONNECTIONS, rw);
  properties[PROP_REQUEST_TIMEOUT] =
    g_param_spec_double ("request-timeout", NULL, NULL, 0, G_MAXDOUBLE, 5.0, rw);
  properties[PROP_IDLE_TIMEOUT] =
    g_param_spec_double ("idle-timeout", NULL, NULL, 0, G_MAXDOUBLE,
                         CHARTA_SERVER_DEFAULT_IDLE_TIMEOUT, rw);
  properties[PROP_READ_ONLY] =
    g_param_spec_boolean ("read-only", NULL, NULL, FALSE, rw);
  properties[PROP_MAX_BINARY_SIZE] =
    g_param_spec_uint64 ("max-binary-size", NULL, NULL, 0, G_MAXUINT64,
                         CHARTA_SERVER_DEFAULT_MAX_BINARY_SIZE, rw);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
charta_server_init (ChartaServer *self)
{
  g_mutex_init (&self->lock);
  g_rec_mutex_init (&self->conditional);
  self->listeners = g_ptr_array_new_with_free_func (listener_free);
  self->refusals = g_ptr_array_new_with_free_func (refusal_free);
  self->max_body_size = CHARTA_SERVER_DEFAULT_MAX_BODY_SIZE;
  self->max_binary_size = CHARTA_SERVER_DEFAULT_MAX_BINARY_SIZE;
  self->max_url_length = CHARTA_SERVER_DEFAULT_MAX_URL_LENGTH;
  self->max_header_size = CHARTA_SERVER_DEFAULT_MAX_HEADER_SIZE;
  self->max_connections = CHARTA_SERVER_DEFAULT_MAX_CONNECTIONS;
  self->request_timeout = 5.0;
  self->cors_origins = g_ptr_array_new_with_free_func (g_free);
  self->connections = g_hash_table_new_full (NULL, NULL, NULL, connection_free);
  self->idle_timeout = CHARTA_SERVER_DEFAULT_IDLE_TIMEOUT;
  self->jobs = g_hash_table_new (NULL, NULL);
  self->uploads = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) upload_unref);
  self->downloads = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) download_unref);
  self->guard = g_rc_box_new0 (ServerGuard);
  self->guard->server = self;
  self->request_id_prefix = (guint64) g_random_int () << 32 | g_random_int ();
}

ChartaServer *
charta_server_new (ChartaStore *store,
                   const char  *base_path)
{
  g_return_val_if_fail (CHARTA_IS_STORE (store), NULL);

  return g_object_new (CHARTA_TYPE_SERVER, "store", store,
                       "base-path", base_path != NULL ? base_path
                                                      : CHARTA_SERVER_DEFAULT_BASE_PATH,
                       NULL);
}

ChartaStore *
charta_server_get_store (ChartaServer *self)
{
  g_return_val_if_fail (CHARTA_IS_SERVER (self), NULL);

  return self->store;
}

const char *
charta_server_get_base_path (ChartaServer *self)
{
  g_return_val_if_fail (CHARTA_IS_SERVER (self), NULL);

  return self->base_path;
}

/* Reads @address into an IP address and a port. */
static GInetSocketAddress *
parse_listen_address (const char  *address,
                      GError     **error)
{
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) ip = NULL;
  const char *port_text = NULL;
  char *end = NULL;
  gint64 port = 8080;

  if (address[0] == '[')
    {
      const char *close = strchr (address, ']');

      if (close != NULL)
        {
          host = g_strndup (address + 1, (size_t) (close - address - 1));
          if (close[1] == ':')
            port_text = close + 2;
          else if (close[1] != '\0')
            host = (g_free (host), NULL);
        }
    }
  else
    {
      const char *colon = strrchr (address, ':');
      gboolean digits = *address != '\0';

      for (const char *p = address; *p != '\0'; p++)
        digits = digits && g_ascii_isdigit (*p);
      if (digits)
        {
          host = g_strdup ("127.0.0.1");
          port_text = address;
        }
      else if (colon != NULL && strchr (address, ':') == colon)
        {
          host = colon == address ? g_strdup ("127.0.0.1")
                                  : g_strndup (address, (size_t) (colon - address));
          port_text = colon + 1;
        }
      else
        host = g_strdup (address);
    }
  if (port_text != NULL)
    {
      port = g_ascii_strtoll (port_text, &end, 10);
      if (end == port_text || *end != '\0' || port < 0 || port > 65535)
        host = (g_free (host), NULL);
    }
  if (host != NULL)
    ip = strcmp (host, "localhost") == 0 ? g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4)
                                         : g_inet_address_new_from_string (host);
  if (ip == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not an address to listen on: give HOST:PORT with an IP address "
                   "or localhost (127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080)", address);
      return NULL;
    }
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (ip, (guint16) port));
}

gboolean
charta_server_listen (ChartaServer  *self,
                      const char    *address,
                      GError       **error)
{
  g_autoptr(GInetSocketAddress) where = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) local_error = NULL;
  GSocketFamily family;
  Listener *listener;

  g_return_val_if_fail (CHARTA_IS_SERVER (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (!self->stopped, FALSE);

  where = parse_listen_address (address, error);
  if (where == NULL)
    return FALSE;
  family = g_socket_address_get_family (G_SOCKET_ADDRESS (where));
  socket = g_socket_new (family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &local_error);
  if (socket != NULL)
    {
      if (family == G_SOCKET_FAMILY_IPV6)
        g_socket_set_option (socket, IPPROTO_IPV6, IPV6_V6ONLY, TRUE, NULL);
      g_socket_set_blocking (socket, FALSE);
      g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
    }
  if (socket == NULL || !g_socket_bind (socket, G_SOCKET_ADDRESS (where), TRUE, &local_error)
      || !g_socket_listen (socket, &local_error)
      || (bound = g_socket_get_local_address (socket, &local_error)) == NULL)
    {
      g_set_error (error, local_error->domain, local_error->code, "cannot listen on %s: %s",
                   address, local_error->message);
      return FALSE;
    }
  if (self->context == NULL)
    {
      self->context = g_main_context_ref_thread_default ();
      self->flush = hand_off_new (self, FALSE);
      self->drain = hand_off_new (self, TRUE);
      start_sweeping (self);
      give_soup_a_listener (self);
    }
  listener = g_new0 (Listener, 1);
  listener->server = self;
  listener->socket = g_steal_pointer (&socket);
  g_ptr_array_add (self->listeners, listener);
  listener_start (listener);

  if (self->host == NULL)
    {
      /* the first address: its port (the one picked when 0 was asked) */
      GInetAddress *ip = g_inet_socket_address_get_address (where);
      g_autofree char *text = g_inet_address_to_string (ip);

      self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
      self->host = family == G_SOCKET_FAMILY_IPV6 ? g_strdup_printf ("[%s]", text)
                                                  : g_steal_pointer (&text);
    }
  return TRUE;
}

guint16
charta_server_get_port (ChartaServer *self)
{
  g_return_val_if_fail (CHARTA_IS_SERVER (self), 0);

  return self->port;
}

char *
charta_server_dup_base_url (ChartaServer *self)
{
  g_return_val_if_fail (CHARTA_IS_SERVER (self), NULL);

  if (self->host == NULL)
    return NULL;
  return g_strdup_printf ("http://%s:%u%s", self->host, self->port, self->base_path);
}

void
charta_server_set_max_body_size (ChartaServer *self,
                                 size_t        bytes)
{
  g_return_if_fail (CHARTA_IS_SERVER (self));

  if (bytes == 0)
    bytes = CHARTA_SERVER_DEFAULT_MAX_BODY_SIZE;
  if (self->max_body_size == bytes)
    return;
  self->max_body_size = bytes;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_BODY_SIZE]);
}

void
charta_server_set_max_binary_size (ChartaServer *self,
                                   guint64       bytes)
{
  g_return_if_fail (CHARTA_IS_SERVER (self));

  if (bytes == 0)
    bytes = CHARTA_SERVER_DEFAULT_MAX_BINARY_SIZE;
  if (self->max_binary_size == bytes)
    return;
  self->max_binary_size = bytes;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_BINARY_SIZE]);
}

guint64
charta_server_get_max_binary_size (ChartaServer *self)
{
  g_return_val_if_fail (CHARTA_IS_SERVER (self), 0);

  return self->max_binary_size;
}

size_t
charta_server_get_max_body_size (ChartaServer *self)
{
  g_return_val_if_fail (CHARTA_IS_SERVER (self), 0);

  return self->max_body_size;
}

void
charta_server_set_max_url_length (ChartaServer *self,
                                  unsigned      length)
{
  g_return_if_fail (CHARTA_IS_SERVER (self));

  if (self->max_url_length == length)
    return;
  self->max_url_length = length;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_URL_LENGTH]);
}

unsigned
charta_server_get_max_url_length (ChartaServer *self)
{
  g_return_val_if_fail (CHARTA_IS_SERVER (self), 0);

  return self->max_url_length;
}

void
charta_server_set_max_header_size (ChartaServer *self,
                                   unsigned      bytes)
{
  g_return_if_fail (CHARTA_IS_SERVER (self));

  if (self->max_header_size == bytes)
    return;
  self->max_header_size = bytes;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_HEADER_SIZE]);
}

unsigned
charta_server_get_max_header_size (ChartaServer *self)
{
  g_return_val_if_fail (CHARTA_IS_SERVER (self), 0);

  return self->max_header_size;
}

void
charta_server_set_max_connections (ChartaServer *self,
                                   unsigned      n)
{
  g_return_if_fail (CHARTA_IS_SERVER (self));

  if (self->max_connections == n)
    return;
  self->max_connections = n;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_CONNECTIONS]);
}

unsigned
charta_server_get_max_connections (ChartaServer *self)
{
  g_return_val_if_fail (CHARTA_IS_SERVER (self), 0);

  return self->max_connections;
}

void
charta_server_set_idle_timeout (ChartaServer *self,
                                double        seconds)
{
  g_return_if_fail (CHARTA_IS_SERVER (self));
  g_return_if_fail (seconds >= 0);

  if (self->idle_timeout == seconds)
    return;
  self->idle_timeout = seconds;
  start_sweeping (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDLE_TIMEOUT]);
}

double
charta_server_get_idle_timeout (ChartaServer *self)
{
  g_return_val_if_fail (CHARTA_IS_SERVER (self), 0);

  return self->idle_timeout;
}

void
charta_server_set_request_timeout (ChartaServer *self,
                                   double        seconds)
{
  g_return_if_fail (CHARTA_IS_SERVER (self));
  g_return_if_fail (seconds >= 0);

  charta_store_set_search_timeout (self->store, seconds);
  if (self->request_timeout == seconds)
    return;
  self->request_timeout = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REQUEST_TIMEOUT]);
}

double
charta_server_get_request_timeout (ChartaServer *self)
{
  g_return_val_if_fail (CHARTA_IS_SERVER (self), 0);

  return self->request_timeout;
}

void
charta_server_set_read_only (ChartaServer *self,
                             gboolean      read_only)
{
  g_return_if_fail (CHARTA_IS_SERVER (self));

  read_only = !!read_only;
  if (self->read_only == read_only)
    return;
  self->read_only = read_only;
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->capabilities, g_bytes_unref);
  g_mutex_unlock (&self->lock);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READ_ONLY]);
}

gboolean
charta_server_get_read_only (ChartaServer *self)
{
  g_return_val_if_fail (CHARTA_IS_SERVER (self), FALSE);

  return self->read_only;
}

void
charta_server_add_cors_origin (ChartaServer *self,
                               const char   *origin)
{
  g_return_if_fail (CHARTA_IS_SERVER (self));
  g_return_if_fail (origin != NULL);

  g_ptr_array_add (self->cors_origins, g_strdup (origin));
}

gboolean
charta_server_is_valid_bearer_token (const char *token)
{
  size_t n = 0;

  if (token == NULL)
    return FALSE;
  while (token[n] != '\0' && (g_ascii_isalnum (token[n]) || strchr ("-._~+/", token[n]) != NULL))
    n++;
  if (n == 0)
    return FALSE;
  while (token[n] == '=')
    n++;
  return token[n] == '\0' && n <= MAX_TOKEN_LENGTH;
}

void
charta_server_set_bearer_token (ChartaServer *self,
                                const char   *token)
{
  gboolean required = token != NULL;

  g_return_if_fail (CHARTA_IS_SERVER (self));
  g_return_if_fail (token == NULL || charta_server_is_valid_bearer_token (token));

  if (required)
    token_digest (token, strlen (token), self->token_digest);
  else
    memset (self->token_digest, 0, sizeof self->token_digest);
  g_mutex_lock (&self->lock);
  if (self->token_required != required)
    {
      self->token_required = required;
      g_clear_pointer (&self->capabilities, g_bytes_unref);
    }
  g_mutex_unlock (&self->lock);
  g_debug ("%s", required ? "a bearer token is required" : "no bearer token is required");
}

gboolean
charta_server_has_bearer_token (ChartaServer *self)
{
  g_return_val_if_fail (CHARTA_IS_SERVER (self), FALSE);

  return self->token_required;
}

unsigned
charta_server_get_n_pending (ChartaServer *self)
{
  g_return_val_if_fail (CHARTA_IS_SERVER (self), 0);

  return (unsigned) g_atomic_int_get (&self->n_pending);
}
