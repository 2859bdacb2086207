/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-client.c: ChartaClient, the asynchronous FHIR REST client (see charta-client.h).
 *
 * One request is one GTask with two steps.  On the caller's context, SoupSession sends the
 * request and reads the whole answer (soup_session_send_and_read_async(): no thread, no
 * blocking).  Then the task moves to a worker thread (g_task_run_in_thread()) that parses the
 * body with json-glib and turns a failure status into a GError, taking the OperationOutcome's
 * diagnostics for the message; the callback runs back on the caller's context.  So the
 * caller's thread only ever copies bytes, and a 10 MB Bundle is parsed off the GTK thread.
 *
 * The SoupSession is made in the constructor and only used from that thread (libsoup 3 wants
 * that); the worker thread sees only the bytes, the status and copies of strings.
 *
 * The timeout is the client's own: a timer per request that cancels it (through a
 * GCancellable of the request's, which the caller's cancels too) when the server has not begun
 * to answer in time.  It runs from the moment the request goes out on a connection
 * ("starting"; again on a restart) to the answer's headers ("got-headers"): time spent queued
 * behind other requests to the same server (libsoup opens only a few connections per host) is
 * not the server's slowness.  The session's I/O timeout alone would not do: libsoup gives a
 * connection the timeout of the moment it was opened, so a kept-alive connection would keep
 * an old one.
 */
#define G_LOG_DOMAIN "charta-client"

#include <string.h>

#include <libsoup/soup.h>

#include "charta-client.h"
#include "charta-config.h"
#include "charta-json-text.h"

G_DEFINE_QUARK (charta-client-error-quark, charta_client_error)

#define FHIR_JSON "application/fhir+json"
#define DATA_OPERATION "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
#define ISO_LIFECYCLE  "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"

struct _ChartaClient
{
  GObject parent_instance;

  char *base_url;       /* without a trailing '/' */
  char *bearer_token;
  unsigned timeout;     /* seconds; 0: none */
  SoupSession *session;
};

enum
{
  PROP_0,
  PROP_BASE_URL,
  PROP_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ChartaClient, charta_client, G_TYPE_OBJECT)

/* ---- one request ------------------------------------------------------------------------ */

typedef struct
{
  char *method;       /* "GET", "PUT" */
  char *what;         /* for messages: "Patient/7" or "a search for Patient"; never a query */
  char *host;         /* for messages: "127.0.0.1:8080" */
  unsigned timeout;
  SoupMessage *message;
  GBytes *body;       /* the answer, once read */
  unsigned status;
  char *reason;       /* the status line's reason phrase */
  JsonNode *outcome;  /* on failure: the OperationOutcome the server sent, if any */
  gboolean want_number_texts;
  GHashTable *number_texts;  /* on success, when wanted: see charta_json_number_texts() */

  /* An upload (charta_client_upload_async()): the file's stream, its size and type. */
  GInputStream *upload;
  goffset upload_size;
  char *upload_type;
  /* A download (charta_client_download_async()): where the body goes, and what it was. */
  GFile *destination;
  GInputStream *answer;      /* the answer's body while it is copied */
  char *content_type;        /* the answer's Content-Type (no parameters) */
  goffset downloaded;

  /* While the request is sent (on the caller's thread only): */
  GCancellable *cancellable;     /* the send's: the caller's or the timer cancels it */
  GCancellable *caller;          /* the caller's, or NULL */
  gulong caller_handler;
  GSource *timer;                /* from sending to the answer's start; NULL: none running */
  gboolean timed_out;
} Request;

static void
stop_timer (Request *r)
{
  if (r->timer != NULL)
    {
      g_source_destroy (r->timer);
      g_clear_pointer (&r->timer, g_source_unref);
    }
}

/* The send is over (or never began): no timer, no link to the caller's cancellable. */
static void
request_stop_waiting (Request *r)
{
  if (r->message != NULL)
    g_signal_handlers_disconnect_by_data (r->message, r);
  stop_timer (r);
  if (r->caller != NULL && r->caller_handler != 0)
    g_cancellable_disconnect (r->caller, r->caller_handler);
  r->caller_handler = 0;
  g_clear_object (&r->caller);
  g_clear_object (&r->cancellable);
}

static void
request_free (gpointer data)
{
  Request *r = data;

  request_stop_waiting (r);
  g_free (r->method);
  g_free (r->what);
  g_free (r->host);
  g_clear_object (&r->message);
  g_clear_pointer (&r->body, g_bytes_unref);
  g_free (r->reason);
  g_clear_pointer (&r->outcome, json_node_unref);
  g_clear_pointer (&r->number_texts, g_hash_table_unref);
  g_clear_object (&r->upload);
  g_free (r->upload_type);
  g_clear_object (&r->destination);
  g_clear_object (&r->answer);
  g_free (r->content_type);
  g_free (r);
}

/* What a request is about, for messages and logs: the path up to the query, so that search
 * terms (which can name a patient) stay out ("Patient/7", "a search for Patient"). */
static char *
describe_path (ChartaClient *self,
               const char   *url)
{
  const char *path = url;
  const char *query;
  size_t base_length = strlen (self->base_url);

  if (strncmp (url, self->base_url, base_length) == 0 && url[base_length] == '/')
    path = url + base_length + 1;
  else if (strncmp (url, self->base_url, base_length) == 0 && url[base_length] == '\0')
    return g_strdup ("the server's base");
  query = strchr (path, '?');
  if (query != NULL)
    {
      g_autofree char *type = g_strndup (path, query - path);

      if (*type == '\0')
        return g_strdup ("a search");
      /* "metadata?_summary=true", "Patient/7/_history?_count=100": no search, no query. */
      if (!g_ascii_isupper (*type) || strchr (type, '/') != NULL)
        return g_steal_pointer (&type);
      return g_strdup_printf ("a search for %s", type);
    }
  return g_strdup (path);
}

/* The plain words for an HTTP failure status, as the start of a sentence. */
static const char *
status_words (unsigned status)
{
  switch (status)
    {
    case 400: return "The server found the request malformed";
    case 401: return "The server wants you to sign in";
    case 403: return "The server does not allow this";
    case 404: return "Not found";
    case 405: return "The server does not allow this here";
    case 406: return "The server cannot answer in FHIR JSON";
    case 408: return "The server gave up waiting for the request";
    case 409: return "The change conflicts with the record as it is now";
    case 410: return "Deleted";
    case 412: return "Someone else changed this record first";
    case 413: return "The request is too large for the server";
    case 414: return "The address is too long for the server";
    case 415: return "The server does not read this format";
    case 422: return "The server refused the content";
    case 429: return "The server is busy: too many requests";
    case 500: return "The server failed";
    case 501: return "The server cannot do this";
    case 502: return "A gateway between here and the server failed";
    case 503: return "The server is unavailable or overloaded";
    case 504: return "A gateway between here and the server timed out";
    default:
      if (status >= 500)
        return "The server failed";
      return "The server refused the request";
    }
}

static ChartaClientError
status_code (unsigned status)
{
  if (status == 404 || status == 410)
    return CHARTA_CLIENT_ERROR_NOT_FOUND;
  if (status == 409 || status == 412)
    return CHARTA_CLIENT_ERROR_CONFLICT;
  if (status >= 500)
    return CHARTA_CLIENT_ERROR_SERVER;
  return CHARTA_CLIENT_ERROR_REFUSED;
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

/* The diagnostics of every issue of an OperationOutcome (details.text when an issue has
 * none), joined with "; ", or NULL when there are none. */
static char *
outcome_text (JsonNode *outcome)
{
  JsonObject *root;
  JsonNode *issues;
  g_autoptr(GString) text = NULL;

  if (outcome == NULL || !JSON_NODE_HOLDS_OBJECT (outcome))
    return NULL;
  root = json_node_get_object (outcome);
  if (g_strcmp0 (member_string (root, "resourceType"), "OperationOutcome") != 0)
    return NULL;
  issues = json_object_get_member (root, "issue");
  if (issues == NULL || !JSON_NODE_HOLDS_ARRAY (issues))
    return NULL;

  text = g_string_new (NULL);
  for (unsigned i = 0; i < json_array_get_length (json_node_get_array (issues)); i++)
    {
      JsonNode *issue = json_array_get_element (json_node_get_array (issues), i);
      const char *words = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (issue))
        continue;
      words = member_string (json_node_get_object (issue), "diagnostics");
      if (words == NULL)
        {
          JsonNode *details = json_object_get_member (json_node_get_object (issue), "details");

          if (details != NULL && JSON_NODE_HOLDS_OBJECT (details))
            words = member_string (json_node_get_object (details), "text");
        }
      if (words == NULL || *words == '\0')
        continue;
      if (text->len > 0)
        g_string_append (text, "; ");
      g_string_append (text, words);
    }
  if (text->len == 0)
    return NULL;
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* On a worker thread: the body parsed, or the error that the status or the body makes. */
static void
parse_in_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  Request *r = task_data;
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  const char *data;
  size_t size;
  gboolean parsed;
  JsonNode *root;

  data = g_bytes_get_data (r->body, &size);
  parsed = size > 0 && json_parser_load_from_data (parser, data, (gssize) size, &local_error);
  root = parsed ? json_parser_get_root (parser) : NULL;

  if (!SOUP_STATUS_IS_SUCCESSFUL (r->status))
    {
      g_autofree char *diagnostics = NULL;

      if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
        {
          diagnostics = outcome_text (root);
          if (g_strcmp0 (member_string (json_node_get_object (root), "resourceType"),
                         "OperationOutcome") == 0)
            r->outcome = json_node_ref (root);
        }
      if (diagnostics != NULL)
        g_task_return_new_error (task, CHARTA_CLIENT_ERROR, status_code (r->status),
                                 "%s: %s (HTTP %u, %s %s)", status_words (r->status),
                                 diagnostics, r->status, r->method, r->what);
      else
        g_task_return_new_error (task, CHARTA_CLIENT_ERROR, status_code (r->status),
                                 "%s (HTTP %u %s, %s %s)", status_words (r->status), r->status,
                                 r->reason != NULL ? r->reason : "", r->method, r->what);
      return;
    }

  /* The parser's own words ("<data>:1:52: Parse error: …") are for nobody: they quote the
   * body, and a person cannot act on them. */
  if (size == 0)
    {
      g_task_return_new_error (task, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED,
                               "The server at %s answered %s %s with an empty body, where "
                               "FHIR JSON was expected", r->host, r->method, r->what);
      return;
    }
  if (!parsed)
    {
      g_task_return_new_error (task, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED,
                               "The answer of the server at %s to %s %s is not FHIR JSON: it "
                               "is not JSON at all (cut short or garbled)", r->host, r->method,
                               r->what);
      return;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root)
      || member_string (json_node_get_object (root), "resourceType") == NULL)
    {
      g_task_return_new_error (task, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED,
                               "The answer of the server at %s to %s %s is not FHIR JSON: it "
                               "is JSON, but not a FHIR resource (it has no resourceType)",
                               r->host, r->method, r->what);
      return;
    }
  if (r->want_number_texts)
    r->number_texts = charta_json_number_texts (data, (gssize) size);
  g_task_return_pointer (task, json_node_ref (root), (GDestroyNotify) json_node_unref);
}

/* A transport failure in plain words. */
static void
return_transport_error (GTask   *task,
                        Request *r,
                        GError  *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_error (task, g_error_copy (error));
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    g_task_return_new_error (task, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_TIMEOUT,
                             "The server at %s did not answer %s %s within %u seconds: it may "
                             "be overloaded, or the network is slow", r->host, r->method,
                             r->what, r->timeout);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    g_task_return_new_error (task, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_UNREACHABLE,
                             "Cannot reach the server at %s: it is not answering (nothing "
                             "there accepts a connection). Is it running, and is the address "
                             "right?", r->host);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE)
           || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    g_task_return_new_error (task, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_UNREACHABLE,
                             "Cannot reach the server at %s: the network has no way to it. Is "
                             "this computer online, and is the address right?", r->host);
  else if (error->domain == G_RESOLVER_ERROR)
    g_task_return_new_error (task, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_UNREACHABLE,
                             "Cannot reach the server at %s: that name could not be looked up. "
                             "Is the address right, and is this computer online?", r->host);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)
           || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE)
           || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
    g_task_return_new_error (task, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_NETWORK,
                             "The server at %s closed the connection during %s %s, before it "
                             "had answered: it may have stopped", r->host, r->method, r->what);
  else
    g_task_return_new_error (task, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_NETWORK,
                             "The connection to the server at %s failed during %s %s (%s)",
                             r->host, r->method, r->what, error->message);
}

static void
send_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *r = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  r->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  request_stop_waiting (r);
  if (r->body == NULL && r->timed_out
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* Our timer cancelled it, not the caller. */
      g_clear_error (&error);
      g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out");
    }
  if (r->body == NULL)
    {
      g_debug ("%s %s: %s", r->method, r->what, error->message);
      return_transport_error (task, r, error);
      return;
    }
  r->status = soup_message_get_status (r->message);
  r->reason = g_strdup (soup_message_get_reason_phrase (r->message));
  g_debug ("%s %s: %u, %zu bytes", r->method, r->what, r->status, g_bytes_get_size (r->body));
  g_clear_object (&r->message);
  g_task_run_in_thread (task, parse_in_thread);
}

static gboolean
request_timed_out (gpointer data)
{
  Request *r = data;

  g_debug ("%s %s: no answer within %u seconds", r->method, r->what, r->timeout);
  r->timed_out = TRUE;
  g_clear_pointer (&r->timer, g_source_unref);
  g_cancellable_cancel (r->cancellable);
  return G_SOURCE_REMOVE;
}

/* The request goes out on a connection (again, when libsoup restarts it): the server has
 * r->timeout seconds from now to begin its answer. */
static void
message_starting (SoupMessage *message,
                  Request     *r)
{
  g_debug ("%s %s: sending", r->method, r->what);
  stop_timer (r);
  r->timer = g_timeout_source_new (r->timeout * 1000);
  g_source_set_callback (r->timer, request_timed_out, r, NULL);
  g_source_set_static_name (r->timer, "[charta] request timeout");
  g_source_attach (r->timer, g_main_context_get_thread_default ());
}

/* The answer begins: from here on it is a matter of reading it (the session's I/O timeout). */
static void
got_headers (SoupMessage *message,
             Request     *r)
{
  stop_timer (r);
}

static void
caller_cancelled (GCancellable *caller,
                  GCancellable *ours)
{
  g_cancellable_cancel (ours);
}

/* A request's task and its message, headers set, not yet sent; NULL (the task returned an
 * error) when @path makes no http(s) URL. */
static GTask *
request_new (ChartaClient        *self,
             const char          *method,
             const char          *path,
             const char          *version_id,
             JsonNode            *provenance,
             GCancellable        *cancellable,
             gpointer             source_tag,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *url = charta_client_dup_url (self, path);
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) error = NULL;
  SoupMessageHeaders *headers;
  Request *r;

  g_task_set_source_tag (task, source_tag);
  r = g_new0 (Request, 1);
  r->want_number_texts = source_tag == charta_client_get_resource_async;
  r->method = g_strdup (method);
  r->what = describe_path (self, url);
  r->timeout = self->timeout;
  g_task_set_task_data (task, r, request_free);

  uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, &error);
  if (uri == NULL || (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0
                      && g_strcmp0 (g_uri_get_scheme (uri), "https") != 0))
    {
      g_task_return_new_error (task, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_UNREACHABLE,
                               "“%s” is not an http or https address%s%s", self->base_url,
                               error != NULL ? ": " : "", error != NULL ? error->message : "");
      return NULL;
    }
  if (g_uri_get_port (uri) > 0)
    r->host = g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri));
  else
    r->host = g_strdup (g_uri_get_host (uri));

  r->message = soup_message_new_from_uri (method, uri);
  headers = soup_message_get_request_headers (r->message);
  soup_message_headers_replace (headers, "Accept", FHIR_JSON);
  if (self->bearer_token != NULL)
    {
      g_autofree char *value = g_strdup_printf ("Bearer %s", self->bearer_token);

      soup_message_headers_replace (headers, "Authorization", value);
    }
  if (version_id != NULL)
    {
      g_autofree char *etag = g_strdup_printf ("W/\"%s\"", version_id);

      soup_message_headers_replace (headers, "If-Match", etag);
    }
  if (provenance != NULL)
    {
      g_autofree char *text = charta_json_write (provenance, NULL);

      soup_message_headers_replace (headers, "X-Provenance", text);
    }
  return g_steal_pointer (&task);
}

static void download_sent (GObject      *source,
                           GAsyncResult *result,
                           gpointer      user_data);

/* Sends the request of @task (taken): its answer read whole and parsed, or, for a download,
 * copied to the destination. */
static void
request_send (ChartaClient *self,
              GTask        *task)
{
  Request *r = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  r->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      r->caller = g_object_ref (cancellable);
      r->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled),
                                                 g_object_ref (r->cancellable), g_object_unref);
    }
  if (r->timeout > 0)
    {
      /* Disconnected when the send is over (request_stop_waiting()).  An upload's time runs
       * from when its body is sent: sending 1 GB is not the server being slow. */
      g_signal_connect (r->message, r->upload != NULL ? "wrote-body" : "starting",
                        G_CALLBACK (message_starting), r);
      g_signal_connect (r->message, "got-headers", G_CALLBACK (got_headers), r);
    }

  g_debug ("%s %s", r->method, r->what);
  if (r->destination != NULL)
    soup_session_send_async (self->session, r->message, G_PRIORITY_DEFAULT, r->cancellable,
                             download_sent, task);
  else
    soup_session_send_and_read_async (self->session, r->message, G_PRIORITY_DEFAULT,
                                      r->cancellable, send_done, task);
}

static void
send_request (ChartaClient        *self,
              const char          *method,
              const char          *path,
              GBytes              *body,
              const char          *version_id,
              JsonNode            *provenance,
              GCancellable        *cancellable,
              gpointer             source_tag,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  GTask *task = request_new (self, method, path, version_id, provenance, cancellable,
                             source_tag, callback, user_data);
  Request *r;

  if (task == NULL)
    return;
  r = g_task_get_task_data (task);
  if (body != NULL)
    {
      soup_message_set_request_body_from_bytes (r->message, FHIR_JSON, body);
      soup_message_headers_replace (soup_message_get_request_headers (r->message), "Prefer",
                                    "return=representation");
    }
  request_send (self, task);
}

/* ---- downloads ---------------------------------------------------------------------------- */

/* The most of a failed download's answer that is read for its OperationOutcome. */
#define ERROR_BODY_MAX (256 * 1024)

static void
download_error_read (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *r = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  r->body = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (r->body == NULL)
    r->body = g_bytes_new (NULL, 0);
  /* parse_in_thread() turns the status (and an OperationOutcome, if any) into the error */
  g_task_run_in_thread (task, parse_in_thread);
}

static void
download_copied (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *r = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gssize copied;

  copied = g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, &error);
  request_stop_waiting (r);
  if (copied < 0)
    {
      if (error->domain == G_IO_ERROR && error->code != G_IO_ERROR_CANCELLED
          && error->code != G_IO_ERROR_TIMED_OUT && error->code != G_IO_ERROR_CONNECTION_CLOSED
          && error->code != G_IO_ERROR_PARTIAL_INPUT && error->code != G_IO_ERROR_BROKEN_PIPE)
        {
          g_autofree char *name = g_file_get_parse_name (r->destination);

          g_task_return_new_error (task, G_IO_ERROR, error->code,
                                   "Could not save %s to “%s”: %s", r->what, name,
                                   error->message);
          return;
        }
      g_debug ("%s %s: %s", r->method, r->what, error->message);
      return_transport_error (task, r, error);
      return;
    }
  r->downloaded = copied;
  g_debug ("%s %s: %u, %" G_GOFFSET_FORMAT " bytes saved", r->method, r->what, r->status,
           r->downloaded);
  g_task_return_boolean (task, TRUE);
}

static void
download_opened (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *r = g_task_get_task_data (task);
  g_autoptr(GFileOutputStream) output = NULL;
  g_autoptr(GError) error = NULL;

  output = g_file_replace_finish (G_FILE (source), result, &error);
  if (output == NULL)
    {
      g_autofree char *name = g_file_get_parse_name (r->destination);

      request_stop_waiting (r);
      g_task_return_new_error (task, G_IO_ERROR, error->code, "Could not save %s to “%s”: %s",
                               r->what, name, error->message);
      return;
    }
  g_output_stream_splice_async (G_OUTPUT_STREAM (output), r->answer,
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE
                                  | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                G_PRIORITY_DEFAULT, r->cancellable, download_copied,
                                g_steal_pointer (&task));
}

static void
download_sent (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *r = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  const char *type;

  r->answer = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (r->answer == NULL && r->timed_out
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_error (&error);
      g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out");
    }
  if (r->answer == NULL)
    {
      request_stop_waiting (r);
      g_debug ("%s %s: %s", r->method, r->what, error->message);
      return_transport_error (task, r, error);
      return;
    }
  r->status = soup_message_get_status (r->message);
  r->reason = g_strdup (soup_message_get_reason_phrase (r->message));
  if (!SOUP_STATUS_IS_SUCCESSFUL (r->status))
    {
      request_stop_waiting (r);
      g_debug ("%s %s: %u", r->method, r->what, r->status);
      GCancellable *cancellable = g_task_get_cancellable (task);

      g_input_stream_read_bytes_async (r->answer, ERROR_BODY_MAX, G_PRIORITY_DEFAULT,
                                       cancellable, download_error_read,
                                       g_steal_pointer (&task));
      return;
    }
  type = soup_message_headers_get_content_type (soup_message_get_response_headers (r->message),
                                                NULL);
  r->content_type = g_strdup (type != NULL ? type : "application/octet-stream");
  g_file_replace_async (r->destination, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                        G_PRIORITY_DEFAULT, r->cancellable, download_opened,
                        g_steal_pointer (&task));
}

/* ---- uploads ------------------------------------------------------------------------------ */

static void
upload_opened (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  Request *r = g_task_get_task_data (task);
  ChartaClient *self = g_task_get_source_object (task);
  g_autoptr(GFileInputStream) input = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_file_get_parse_name (G_FILE (source));

  input = g_file_read_finish (G_FILE (source), result, &error);
  if (input != NULL)
    info = g_file_input_stream_query_info (input, G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL,
                                           &error);
  if (info == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, error->code, "Could not read “%s”: %s", name,
                               error->message);
      g_object_unref (task);
      return;
    }
  r->upload = G_INPUT_STREAM (g_steal_pointer (&input));
  r->upload_size = g_file_info_get_size (info);
  soup_message_set_request_body (r->message, r->upload_type, r->upload, r->upload_size);
  soup_message_headers_replace (soup_message_get_request_headers (r->message), "Prefer",
                                "return=representation");
  request_send (self, task);
}

/* ---- the object --------------------------------------------------------------------------- */

static void
charta_client_finalize (GObject *object)
{
  ChartaClient *self = CHARTA_CLIENT (object);

  g_clear_object (&self->session);
  g_free (self->base_url);
  g_free (self->bearer_token);

  G_OBJECT_CLASS (charta_client_parent_class)->finalize (object);
}

static void
charta_client_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  ChartaClient *self = CHARTA_CLIENT (object);

  switch (prop_id)
    {
    case PROP_BASE_URL:
      g_value_set_string (value, self->base_url);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint (value, self->timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_client_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  ChartaClient *self = CHARTA_CLIENT (object);

  switch (prop_id)
    {
    case PROP_BASE_URL:
      {
        const char *url = g_value_get_string (value);
        size_t length = url != NULL ? strlen (url) : 0;

        while (length > 0 && url[length - 1] == '/')
          length--;
        self->base_url = g_strndup (url != NULL ? url : "", length);
      }
      break;
    case PROP_TIMEOUT:
      charta_client_set_timeout (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_client_class_init (ChartaClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = charta_client_finalize;
  object_class->get_property = charta_client_get_property;
  object_class->set_property = charta_client_set_property;

  properties[PROP_BASE_URL] =
    g_param_spec_string ("base-url", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout", NULL, NULL, 0, G_MAXUINT, CHARTA_CLIENT_DEFAULT_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
charta_client_init (ChartaClient *self)
{
  self->timeout = CHARTA_CLIENT_DEFAULT_TIMEOUT;
  self->session = soup_session_new_with_options ("user-agent", "charta-desktop/" CHARTA_VERSION,
                                                 "timeout", self->timeout,
                                                 NULL);
}

ChartaClient *
charta_client_new (const char *base_url)
{
  g_return_val_if_fail (base_url != NULL, NULL);

  return g_object_new (CHARTA_TYPE_CLIENT, "base-url", base_url, NULL);
}

const char *
charta_client_get_base_url (ChartaClient *self)
{
  g_return_val_if_fail (CHARTA_IS_CLIENT (self), NULL);

  return self->base_url;
}

void
charta_client_set_timeout (ChartaClient *self,
                           unsigned      seconds)
{
  g_return_if_fail (CHARTA_IS_CLIENT (self));

  if (self->timeout == seconds)
    return;
  self->timeout = seconds;
  /* For the connections opened from now on: stalls while an answer is read. */
  soup_session_set_timeout (self->session, seconds);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT]);
}

unsigned
charta_client_get_timeout (ChartaClient *self)
{
  g_return_val_if_fail (CHARTA_IS_CLIENT (self), 0);

  return self->timeout;
}

void
charta_client_set_bearer_token (ChartaClient *self,
                                const char   *token)
{
  g_return_if_fail (CHARTA_IS_CLIENT (self));

  g_free (self->bearer_token);
  self->bearer_token = (token != NULL && *token != '\0') ? g_strdup (token) : NULL;
}

const char *
charta_client_get_bearer_token (ChartaClient *self)
{
  g_return_val_if_fail (CHARTA_IS_CLIENT (self), NULL);

  return self->bearer_token;
}

char *
charta_client_dup_url (ChartaClient *self,
                       const char   *path)
{
  g_return_val_if_fail (CHARTA_IS_CLIENT (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  if (g_str_has_prefix (path, "http://") || g_str_has_prefix (path, "https://"))
    return g_strdup (path);
  while (*path == '/')
    path++;
  return g_strconcat (self->base_url, "/", path, NULL);
}

void
charta_client_get_async (ChartaClient        *self,
                         const char          *path,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (CHARTA_IS_CLIENT (self));
  g_return_if_fail (path != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  send_request (self, "GET", path, NULL, NULL, NULL, cancellable, charta_client_get_async,
                callback, user_data);
}

JsonNode *
charta_client_get_finish (ChartaClient  *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (CHARTA_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == charta_client_get_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
charta_client_get_resource_async (ChartaClient        *self,
                                  const char          *path,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (CHARTA_IS_CLIENT (self));
  g_return_if_fail (path != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  send_request (self, "GET", path, NULL, NULL, NULL, cancellable,
                charta_client_get_resource_async, callback, user_data);
}

JsonNode *
charta_client_get_resource_finish (ChartaClient  *self,
                                   GAsyncResult  *result,
                                   GHashTable   **number_texts,
                                   GError       **error)
{
  Request *r;
  JsonNode *node;

  g_return_val_if_fail (CHARTA_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                          == charta_client_get_resource_async, NULL);

  r = g_task_get_task_data (G_TASK (result));
  node = g_task_propagate_pointer (G_TASK (result), error);
  if (number_texts != NULL)
    *number_texts = node != NULL && r->number_texts != NULL
                      ? g_hash_table_ref (r->number_texts) : NULL;
  return node;
}

void
charta_client_put_async (ChartaClient        *self,
                         const char          *path,
                         JsonNode            *resource,
                         GHashTable          *number_texts,
                         const char          *version_id,
                         JsonNode            *provenance,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GBytes) body = NULL;
  size_t length;
  char *text;

  g_return_if_fail (CHARTA_IS_CLIENT (self));
  g_return_if_fail (path != NULL);
  g_return_if_fail (resource != NULL && JSON_NODE_HOLDS_OBJECT (resource));
  g_return_if_fail (provenance == NULL || JSON_NODE_HOLDS_OBJECT (provenance));

  text = charta_json_write (resource, number_texts);
  length = strlen (text);
  body = g_bytes_new_take (text, length);
  send_request (self, "PUT", path, body, version_id, provenance, cancellable,
                charta_client_put_async, callback, user_data);
}

JsonNode *
charta_client_put_finish (ChartaClient  *self,
                          GAsyncResult  *result,
                          JsonNode     **outcome,
                          GError       **error)
{
  Request *r;

  g_return_val_if_fail (CHARTA_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == charta_client_put_async,
                        NULL);

  r = g_task_get_task_data (G_TASK (result));
  if (outcome != NULL)
    *outcome = (r->outcome != NULL && g_task_had_error (G_TASK (result)))
                 ? json_node_ref (r->outcome) : NULL;
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
charta_client_post_async (ChartaClient        *self,
                          const char          *path,
                          JsonNode            *resource,
                          JsonNode            *provenance,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GBytes) body = NULL;
  char *text;

  g_return_if_fail (CHARTA_IS_CLIENT (self));
  g_return_if_fail (path != NULL);
  g_return_if_fail (resource != NULL && JSON_NODE_HOLDS_OBJECT (resource));
  g_return_if_fail (provenance == NULL || JSON_NODE_HOLDS_OBJECT (provenance));

  text = charta_json_write (resource, NULL);
  body = g_bytes_new_take (text, strlen (text));
  send_request (self, "POST", path, body, NULL, provenance, cancellable,
                charta_client_post_async, callback, user_data);
}

JsonNode *
charta_client_post_finish (ChartaClient  *self,
                           GAsyncResult  *result,
                           JsonNode     **outcome,
                           GError       **error)
{
  Request *r;

  g_return_val_if_fail (CHARTA_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == charta_client_post_async,
                        NULL);

  r = g_task_get_task_data (G_TASK (result));
  if (outcome != NULL)
    *outcome = (r->outcome != NULL && g_task_had_error (G_TASK (result)))
                 ? json_node_ref (r->outcome) : NULL;
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
charta_client_upload_async (ChartaClient        *self,
                            const char          *path,
                            GFile               *file,
                            const char          *content_type,
                            JsonNode            *provenance,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task;
  Request *r;

  g_return_if_fail (CHARTA_IS_CLIENT (self));
  g_return_if_fail (path != NULL);
  g_return_if_fail (G_IS_FILE (file));
  g_return_if_fail (provenance == NULL || JSON_NODE_HOLDS_OBJECT (provenance));

  task = request_new (self, "POST", path, NULL, provenance, cancellable,
                      charta_client_upload_async, callback, user_data);
  if (task == NULL)
    return;
  r = g_task_get_task_data (task);
  r->upload_type = g_strdup (content_type != NULL ? content_type : "application/octet-stream");
  g_file_read_async (file, G_PRIORITY_DEFAULT, cancellable, upload_opened, task);
}

JsonNode *
charta_client_upload_finish (ChartaClient  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (CHARTA_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == charta_client_upload_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
charta_client_download_async (ChartaClient        *self,
                              const char          *path,
                              GFile               *destination,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GTask *task;
  Request *r;

  g_return_if_fail (CHARTA_IS_CLIENT (self));
  g_return_if_fail (path != NULL);
  g_return_if_fail (G_IS_FILE (destination));

  task = request_new (self, "GET", path, NULL, NULL, cancellable, charta_client_download_async,
                      callback, user_data);
  if (task == NULL)
    return;
  r = g_task_get_task_data (task);
  r->destination = g_object_ref (destination);
  /* the raw bytes, whatever they are (a FHIR server answers a Binary in its own type) */
  soup_message_headers_replace (soup_message_get_request_headers (r->message), "Accept", "*/*");
  request_send (self, task);
}

gboolean
charta_client_download_finish (ChartaClient  *self,
                               GAsyncResult  *result,
                               char         **content_type,
                               goffset       *size,
                               GError       **error)
{
  Request *r;
  gboolean ok;

  g_return_val_if_fail (CHARTA_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == charta_client_download_async,
                        FALSE);

  r = g_task_get_task_data (G_TASK (result));
  ok = g_task_propagate_boolean (G_TASK (result), error);
  if (content_type != NULL)
    *content_type = ok ? g_strdup (r->content_type) : NULL;
  if (size != NULL)
    *size = ok ? r->downloaded : 0;
  return ok;
}

const char *
charta_client_activity_system (const char *activity_code)
{
  static const char *const data_operation[] = {
    "CREATE", "UPDATE", "DELETE", "NULLIFY", "APPEND",
  };

  g_return_val_if_fail (activity_code != NULL, NULL);

  for (size_t i = 0; i < G_N_ELEMENTS (data_operation); i++)
    if (strcmp (activity_code, data_operation[i]) == 0)
      return DATA_OPERATION;
  return ISO_LIFECYCLE;
}

JsonNode *
charta_client_new_provenance (const char *agent_reference,
                              const char *agent_display,
                              const char *activity_code,
                              const char *reason_text)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "resourceType");
  json_builder_add_string_value (builder, "Provenance");

  if (agent_reference != NULL || agent_display != NULL)
    {
      json_builder_set_member_name (builder, "agent");
      json_builder_begin_array (builder);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "who");
      json_builder_begin_object (builder);
      if (agent_reference != NULL)
        {
          json_builder_set_member_name (builder, "reference");
          json_builder_add_string_value (builder, agent_reference);
        }
      if (agent_display != NULL)
        {
          json_builder_set_member_name (builder, "display");
          json_builder_add_string_value (builder, agent_display);
        }
      json_builder_end_object (builder);
      json_builder_end_object (builder);
      json_builder_end_array (builder);
    }

  if (activity_code != NULL)
    {
      json_builder_set_member_name (builder, "activity");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "coding");
      json_builder_begin_array (builder);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "system");
      json_builder_add_string_value (builder, charta_client_activity_system (activity_code));
      json_builder_set_member_name (builder, "code");
      json_builder_add_string_value (builder, activity_code);
      json_builder_end_object (builder);
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }

  if (reason_text != NULL)
    {
      json_builder_set_member_name (builder, "reason");
      json_builder_begin_array (builder);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "text");
      json_builder_add_string_value (builder, reason_text);
      json_builder_end_object (builder);
      json_builder_end_array (builder);
    }

  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}
