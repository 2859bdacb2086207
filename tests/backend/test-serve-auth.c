/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-serve-auth.c: the FHIR endpoint's bearer token, black-box.
 *
 * Each test starts a ChartaServer on 127.0.0.1, port 0, over a new store, with or without a
 * token (and CORS for one origin), runs it on its own thread and main context, and drives it
 * over HTTP with a SoupSession from the test thread, or with a raw socket where what matters
 * is when the server answers.  What must come back is RFC 6750 and FHIR R4's security.html:
 * 401 with WWW-Authenticate: Bearer realm="charta" (error="invalid_token" for a wrong token)
 * and an OperationOutcome whose issue code is "login"; GET [base]/metadata and preflights need
 * no token; a server without one behaves as before.  Then `charta serve --token-file` (the
 * file's checks, the token served), and the desktop app's ChartaLocalServer (a fresh token of
 * 64 hex digits each start, required on its endpoint).
 */
#define G_LOG_DOMAIN "charta-test"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "charta-local-server.h"
#include "charta-server.h"
#include "charta-test-store-util.h"

/* A token of the b64token characters, 32 of them; and the ones a client might get wrong. */
#define TOKEN          "Tok3n-with.all_chars~+/0123456="
#define TOKEN_LONGER   TOKEN "="
#define TOKEN_SHORTER  "Tok3n-with.all_chars~+/0123456"
#define TOKEN_OTHER    "tok3n-with.all_chars~+/0123456="
#define ORIGIN         "https://app.example"

/* ---- fixture: a server on its own thread ---------------------------------------------------- */

typedef struct
{
  const char *token;     /* NULL: none required */
  gboolean    cors;      /* allow ORIGIN */
} Config;

typedef struct
{
  ChartaTestStore  st;
  ChartaServer    *server;
  GMainContext    *context;
  GMainLoop       *loop;
  GThread         *thread;
  char            *base;       /* "http://127.0.0.1:PORT/fhir" */
  SoupSession     *session;
} Fixture;

static gpointer
run_server (gpointer data)
{
  Fixture *f = data;

  g_main_context_push_thread_default (f->context);
  g_main_loop_run (f->loop);
  g_main_context_pop_thread_default (f->context);
  return NULL;
}

static gboolean
stop_server (gpointer data)
{
  Fixture *f = data;

  charta_server_stop (f->server);
  g_main_loop_quit (f->loop);
  return G_SOURCE_REMOVE;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  const Config *config = data;
  g_autoptr(GError) error = NULL;

  charta_test_store_set_up (&f->st, NULL);
  f->server = charta_server_new (f->st.store, "/fhir");
  if (config->token != NULL)
    charta_server_set_bearer_token (f->server, config->token);
  if (config->cors)
    charta_server_add_cors_origin (f->server, ORIGIN);
  g_assert_cmpint (charta_server_has_bearer_token (f->server), ==, config->token != NULL);
  f->context = g_main_context_new ();
  f->loop = g_main_loop_new (f->context, FALSE);
  g_main_context_push_thread_default (f->context);
  charta_server_listen (f->server, "127.0.0.1:0", &error);
  g_main_context_pop_thread_default (f->context);
  g_assert_no_error (error);
  f->base = charta_server_dup_base_url (f->server);
  f->thread = g_thread_new ("server", run_server, f);
  f->session = soup_session_new ();
  soup_session_set_timeout (f->session, 60);
}

typedef struct
{
  Fixture    *f;
  const char *token;
  int         done;   /* atomic */
} TokenChange;

static gboolean
set_token_in_server (gpointer data)
{
  TokenChange *change = data;

  charta_server_set_bearer_token (change->f->server, change->token);
  g_atomic_int_set (&change->done, 1);
  return G_SOURCE_REMOVE;
}

/* Sets the server's token on its own main context (where it must be set), and waits. */
static void
set_token (Fixture    *f,
           const char *token)
{
  TokenChange change = { f, token, 0 };

  g_main_context_invoke (f->context, set_token_in_server, &change);
  while (!g_atomic_int_get (&change.done))
    g_usleep (1000);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->session);
  g_main_context_invoke (f->context, stop_server, f);
  g_thread_join (f->thread);
  g_clear_object (&f->server);
  g_main_loop_unref (f->loop);
  g_main_context_unref (f->context);
  g_free (f->base);
  charta_test_store_tear_down (&f->st, NULL);
}

/* ---- HTTP helpers ------------------------------------------------------------------------- */

typedef struct
{
  unsigned     status;
  SoupMessage *msg;
  JsonNode    *json;   /* the body parsed, NULL when empty or no JSON */
} Response;

static void
response_free (Response *r)
{
  g_clear_object (&r->msg);
  g_clear_pointer (&r->json, json_node_unref);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Response, response_free)

/* Sends @method @url with @body as FHIR JSON (NULL: none) and the headers that follow (name,
 * value, …, NULL) on @session; fails the test on a transport error. */
static Response *
send_va (SoupSession *session,
         const char  *method,
         const char  *url,
         const char  *body,
         va_list      args)
{
  Response *r = g_new0 (Response, 1);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;
  gsize length;
  const char *data;

  r->msg = soup_message_new (method, url);
  g_assert_nonnull (r->msg);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (r->msg, "application/fhir+json", bytes);
    }
  while ((name = va_arg (args, const char *)) != NULL)
    soup_message_headers_append (soup_message_get_request_headers (r->msg), name,
                                 va_arg (args, const char *));
  answer = soup_session_send_and_read (session, r->msg, NULL, &error);
  g_assert_no_error (error);
  r->status = soup_message_get_status (r->msg);
  data = g_bytes_get_data (answer, &length);
  if (length > 0)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (json_parser_load_from_data (parser, data, (gssize) length, NULL))
        r->json = json_node_ref (json_parser_get_root (parser));
    }
  return r;
}

/* @method [base]/@path (f's server) with @body and the headers that follow. */
static Response *
fetch (Fixture    *f,
       const char *method,
       const char *path,
       const char *body,
       ...)
{
  g_autofree char *url = g_strconcat (f->base, "/", path, NULL);
  va_list args;
  Response *r;

  va_start (args, body);
  r = send_va (f->session, method, url, body, args);
  va_end (args);
  return r;
}

/* @method @url on a new session. */
static Response *
fetch_url (const char *method,
           const char *url,
           const char *body,
           ...)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  va_list args;
  Response *r;

  va_start (args, body);
  r = send_va (session, method, url, body, args);
  va_end (args);
  return r;
}

static const char *
header (Response   *r,
        const char *name)
{
  return soup_message_headers_get_one (soup_message_get_response_headers (r->msg), name);
}

static JsonObject *
body_object (Response *r)
{
  g_assert_nonnull (r->json);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (r->json));
  return json_node_get_object (r->json);
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  if (object == NULL || !json_object_has_member (object, name))
    return NULL;
  return json_object_get_string_member (object, name);
}

/* @r is 401 as RFC 6750 says for a request without a token (@challenge
 * Bearer realm="charta") or with another one (the same, error="invalid_token"), with an
 * OperationOutcome of one issue, error, code "login", its diagnostics containing @text. */
static void
assert_unauthorized (Response   *r,
                     const char *challenge,
                     const char *text)
{
  JsonArray *issues;
  JsonObject *issue;

  g_assert_cmpuint (r->status, ==, 401);
  g_assert_cmpstr (header (r, "WWW-Authenticate"), ==, challenge);
  g_assert_true (g_str_has_prefix (header (r, "Content-Type"), "application/fhir+json"));
  g_assert_nonnull (header (r, "X-Request-Id"));
  g_assert_cmpstr (member_string (body_object (r), "resourceType"), ==, "OperationOutcome");
  issues = json_object_get_array_member (body_object (r), "issue");
  g_assert_cmpuint (json_array_get_length (issues), ==, 1);
  issue = json_array_get_object_element (issues, 0);
  g_assert_cmpstr (member_string (issue, "severity"), ==, "error");
  g_assert_cmpstr (member_string (issue, "code"), ==, "login");
  charta_test_assert_contains (member_string (issue, "diagnostics"), text);
}

#define NO_TOKEN      "Bearer realm=\"charta\""
#define INVALID_TOKEN "Bearer realm=\"charta\", error=\"invalid_token\""

static const char patient_json[] =
  "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"family\":\"Auth\"}]}";

/* The rest.security of a CapabilityStatement, NULL when there is none. */
static JsonObject *
capability_security (Response *r)
{
  JsonArray *rest;
  JsonObject *server;

  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (member_string (body_object (r), "resourceType"), ==, "CapabilityStatement");
  rest = json_object_get_array_member (body_object (r), "rest");
  server = json_array_get_object_element (rest, 0);
  if (!json_object_has_member (server, "security"))
    return NULL;
  return json_object_get_object_member (server, "security");
}

/* ---- tests: a server with a token --------------------------------------------------------- */

static const Config token_config = { .token = TOKEN };
static const Config token_cors_config = { .token = TOKEN, .cors = TRUE };
static const Config open_config = { .token = NULL };

/* No Authorization, or one of another scheme: 401 without an error code (RFC 6750 3.1), for
 * every kind of request; nothing is written. */
static void
test_no_token (Fixture       *f,
               gconstpointer  data)
{
  static const struct
  {
    const char *method;
    const char *path;
    const char *body;
  } requests[] = {
    { "GET", "Patient/p1", NULL },
    { "GET", "Patient?family=Auth", NULL },
    { "GET", "", NULL },
    { "GET", "_history", NULL },
    { "POST", "Patient", patient_json },
    { "PUT", "Patient/p1", patient_json },
    { "DELETE", "Patient/p1", NULL },
    { "POST", "", "{\"resourceType\":\"Bundle\",\"type\":\"batch\"}" },
    { "POST", "Patient/$validate", patient_json },
    /* not the CapabilityStatement: a write to it, and paths that only look like it */
    { "POST", "metadata", "{\"resourceType\":\"Parameters\"}" },
    { "GET", "metadata/x", NULL },
    { "GET", "Patient/metadata", NULL },
    /* what is not served at all is not told either: 401 before 404 and 400 */
    { "GET", "Foo/1", NULL },
    { "GET", "Patient/a%00b", NULL },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (requests); i++)
    {
      g_autoptr(Response) r = fetch (f, requests[i].method, requests[i].path, requests[i].body,
                                     NULL);

      g_test_message ("%s %s", requests[i].method, requests[i].path);
      assert_unauthorized (r, NO_TOKEN, "Authorization: Bearer");
    }
  /* another scheme, a token without one, the scheme without a token ("Bearer " arrives as
   * "Bearer": a header's value is trimmed) are no token */
  {
    g_autoptr(Response) basic = fetch (f, "GET", "Patient/p1", NULL, "Authorization",
                                       "Basic dXNlcjpwYXNz", NULL);
    g_autoptr(Response) bare = fetch (f, "GET", "Patient/p1", NULL, "Authorization", TOKEN,
                                      NULL);
    g_autoptr(Response) empty = fetch (f, "GET", "Patient/p1", NULL, "Authorization", "Bearer ",
                                       NULL);

    assert_unauthorized (basic, NO_TOKEN, "Authorization: Bearer");
    assert_unauthorized (bare, NO_TOKEN, "Authorization: Bearer");
    assert_unauthorized (empty, NO_TOKEN, "Authorization: Bearer");
  }
  /* outside the base too */
  {
    g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/elsewhere",
                                            charta_server_get_port (f->server));
    g_autoptr(Response) r = fetch_url ("GET", url, NULL, NULL);

    assert_unauthorized (r, NO_TOKEN, "Authorization: Bearer");
  }
  /* none of the writes happened */
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 0);
}

/* Another token, one that differs only in its last character, in length (one more, one fewer)
 * or in case, the token twice: 401 invalid_token; nothing written. */
static void
test_wrong_token (Fixture       *f,
                  gconstpointer  data)
{
  static const char *const values[] = {
    "Bearer not-the-token-at-all-0123456789",
    "Bearer Tok3n-with.all_chars~+/0123457=",
    "Bearer " TOKEN_LONGER,
    "Bearer " TOKEN_SHORTER,
    "Bearer " TOKEN_OTHER,
    "Bearer " TOKEN " " TOKEN,
    "Bearer " TOKEN "\t,",
  };

  for (size_t i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autoptr(Response) read = fetch (f, "GET", "Patient/p1", NULL, "Authorization", values[i],
                                        NULL);
      g_autoptr(Response) create = fetch (f, "POST", "Patient", patient_json, "Authorization",
                                          values[i], NULL);

      g_test_message ("Authorization: %s", values[i]);
      assert_unauthorized (read, INVALID_TOKEN, "access token");
      assert_unauthorized (create, INVALID_TOKEN, "access token");
    }
  /* two Authorization headers, the right one among them: no one token */
  {
    g_autoptr(Response) twice = fetch (f, "GET", "Patient/p1", NULL,
                                       "Authorization", "Bearer " TOKEN,
                                       "Authorization", "Bearer " TOKEN, NULL);

    assert_unauthorized (twice, INVALID_TOKEN, "access token");
  }
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 0);
}

/* The token: every interaction as without one (create 201, read, search, update, history,
 * delete 200); the scheme's name in any case, spaces around the token. */
static void
test_right_token (Fixture       *f,
                  gconstpointer  data)
{
  const char *auth = "Bearer " TOKEN;
  g_autoptr(Response) created = NULL;
  g_autoptr(Response) read = NULL;
  g_autoptr(Response) search = NULL;
  g_autoptr(Response) updated = NULL;
  g_autoptr(Response) lower = NULL;
  g_autoptr(Response) spaced = NULL;
  g_autoptr(Response) history = NULL;
  g_autoptr(Response) deleted = NULL;
  g_autoptr(Response) validated = NULL;
  JsonArray *entries;

  created = fetch (f, "POST", "Patient",
                   "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Auth\"}]}",
                   "Authorization", auth, NULL);
  g_assert_cmpuint (created->status, ==, 201);
  g_assert_null (header (created, "WWW-Authenticate"));
  updated = fetch (f, "PUT", "Patient/p1", patient_json, "Authorization", auth, NULL);
  g_assert_cmpuint (updated->status, ==, 201);
  read = fetch (f, "GET", "Patient/p1", NULL, "Authorization", auth, NULL);
  g_assert_cmpuint (read->status, ==, 200);
  g_assert_cmpstr (member_string (body_object (read), "id"), ==, "p1");
  /* the search finds both: the created one and p1 */
  search = fetch (f, "GET", "Patient?family=Auth", NULL, "Authorization", auth, NULL);
  g_assert_cmpuint (search->status, ==, 200);
  entries = json_object_get_array_member (body_object (search), "entry");
  g_assert_cmpuint (json_array_get_length (entries), ==, 2);
  lower = fetch (f, "GET", "Patient/p1", NULL, "Authorization", "bearer " TOKEN, NULL);
  g_assert_cmpuint (lower->status, ==, 200);
  spaced = fetch (f, "GET", "Patient/p1", NULL, "Authorization", "Bearer   " TOKEN "  ", NULL);
  g_assert_cmpuint (spaced->status, ==, 200);
  history = fetch (f, "GET", "Patient/p1/_history", NULL, "Authorization", auth, NULL);
  g_assert_cmpuint (history->status, ==, 200);
  validated = fetch (f, "POST", "Patient/$validate", patient_json, "Authorization", auth, NULL);
  g_assert_cmpuint (validated->status, ==, 200);
  deleted = fetch (f, "DELETE", "Patient/p1", NULL, "Authorization", auth, NULL);
  g_assert_cmpuint (deleted->status, ==, 200);
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 1);
}

/* GET and HEAD [base]/metadata need no token (the trailing '/' and a query as the router takes
 * them), and say in rest.security that the rest does; a token, right or wrong, changes
 * nothing there. */
static void
test_metadata (Fixture       *f,
               gconstpointer  data)
{
  static const char *const paths[] = { "metadata", "metadata/", "metadata?_summary=true" };

  for (size_t i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr(Response) r = fetch (f, "GET", paths[i], NULL, NULL);
      JsonObject *security = capability_security (r);
      JsonArray *service;

      g_test_message ("%s", paths[i]);
      g_assert_nonnull (security);
      /* (security.description is no summary element: _summary=true leaves it out) */
      if (strstr (paths[i], "_summary") == NULL)
        {
          charta_test_assert_contains (member_string (security, "description"),
                                       "Authorization: Bearer");
          charta_test_assert_contains (member_string (security, "description"), "401");
        }
      else
        g_assert_null (member_string (security, "description"));
      service = json_object_get_array_member (security, "service");
      g_assert_cmpuint (json_array_get_length (service), ==, 1);
      charta_test_assert_contains (member_string (json_array_get_object_element (service, 0),
                                                  "text"), "Bearer");
    }
  {
    g_autoptr(Response) head = fetch (f, "HEAD", "metadata", NULL, NULL);
    g_autoptr(Response) wrong = fetch (f, "GET", "metadata", NULL, "Authorization",
                                       "Bearer " TOKEN_OTHER, NULL);
    g_autoptr(Response) right = fetch (f, "GET", "metadata", NULL, "Authorization",
                                       "Bearer " TOKEN, NULL);

    g_assert_cmpuint (head->status, ==, 200);
    g_assert_nonnull (capability_security (wrong));
    g_assert_nonnull (capability_security (right));
  }
}

/* CORS on: a preflight needs no token (a browser sends none with it) and lets the page send
 * Authorization; a refused request carries the CORS headers, so that the page can see the 401
 * and its WWW-Authenticate.  OPTIONS without an Origin is no 401 either. */
static void
test_preflight (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(Response) preflight = NULL;
  g_autoptr(Response) options = NULL;
  g_autoptr(Response) refused = NULL;
  g_autoptr(Response) allowed = NULL;

  preflight = fetch (f, "OPTIONS", "Patient", NULL, "Origin", ORIGIN,
                     "Access-Control-Request-Method", "POST",
                     "Access-Control-Request-Headers", "authorization, content-type", NULL);
  g_assert_cmpuint (preflight->status, ==, 204);
  g_assert_cmpstr (header (preflight, "Access-Control-Allow-Origin"), ==, ORIGIN);
  charta_test_assert_contains (header (preflight, "Access-Control-Allow-Headers"),
                               "Authorization");
  options = fetch (f, "OPTIONS", "Patient/p1", NULL, NULL);
  g_assert_cmpuint (options->status, ==, 204);

  refused = fetch (f, "GET", "Patient/p1", NULL, "Origin", ORIGIN, NULL);
  assert_unauthorized (refused, NO_TOKEN, "Authorization: Bearer");
  g_assert_cmpstr (header (refused, "Access-Control-Allow-Origin"), ==, ORIGIN);
  charta_test_assert_contains (header (refused, "Access-Control-Expose-Headers"),
                               "WWW-Authenticate");
  allowed = fetch (f, "GET", "Patient?family=x", NULL, "Origin", ORIGIN, "Authorization",
                   "Bearer " TOKEN, NULL);
  g_assert_cmpuint (allowed->status, ==, 200);
}

/* Reads from @conn until the end of the response head ("\r\n\r\n"), at most 10 s; fails the
 * test when none comes. */
static char *
read_head (GSocketConnection *conn)
{
  GSocket *socket = g_socket_connection_get_socket (conn);
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  GString *head = g_string_new (NULL);

  g_socket_set_timeout (socket, 10);
  while (strstr (head->str, "\r\n\r\n") == NULL)
    {
      g_autoptr(GError) error = NULL;
      char buffer[512];
      gssize n = g_input_stream_read (in, buffer, sizeof buffer, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (head, buffer, n);
    }
  return g_string_free (head, FALSE);
}

/* Sends @head on a new connection to f's server; the response head that comes back. */
static char *
raw_exchange (Fixture    *f,
              const char *head)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GError) error = NULL;
  GOutputStream *out;

  conn = g_socket_client_connect_to_host (client, "127.0.0.1",
                                          charta_server_get_port (f->server), NULL, &error);
  g_assert_no_error (error);
  out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  g_output_stream_write_all (out, head, strlen (head), NULL, NULL, &error);
  g_assert_no_error (error);
  return read_head (conn);
}

/* A request with a body but no token is answered at once, before the body: the client here
 * sends the head of a 1 MB POST and no body, and gets its 401 within the read timeout (a
 * server waiting for the body would send nothing).  With Expect: 100-continue, the 401 comes
 * instead of 100 Continue. */
static void
test_refused_before_body (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *declared = NULL;
  g_autofree char *expecting = NULL;

  declared = raw_exchange (f, "POST /fhir/Patient HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Content-Type: application/fhir+json\r\n"
                              "Content-Length: 1000000\r\n\r\n");
  g_assert_true (g_str_has_prefix (declared, "HTTP/1.1 401 "));
  charta_test_assert_contains (declared, "WWW-Authenticate: " NO_TOKEN);
  expecting = raw_exchange (f, "PUT /fhir/Patient/p1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Content-Type: application/fhir+json\r\n"
                               "Authorization: Bearer " TOKEN_SHORTER "\r\n"
                               "Expect: 100-continue\r\nContent-Length: 70\r\n\r\n");
  g_assert_true (g_str_has_prefix (expecting, "HTTP/1.1 401 "));
  charta_test_assert_contains (expecting, "WWW-Authenticate: " INVALID_TOKEN);
}

typedef struct
{
  GMutex     lock;
  GPtrArray *messages;
} LogCapture;

static void
capture_log (const char     *domain,
             GLogLevelFlags  level,
             const char     *message,
             gpointer        user_data)
{
  LogCapture *capture = user_data;

  g_mutex_lock (&capture->lock);
  g_ptr_array_add (capture->messages, g_strdup (message));
  g_mutex_unlock (&capture->lock);
}

/* With debug messages on, neither the token nor a wrong one reaches the log. */
static void
test_token_not_logged (Fixture       *f,
                       gconstpointer  data)
{
  static const char *const domains[] = { "charta-server", "charta-store", "libsoup" };
  gboolean debug = g_log_get_debug_enabled ();
  LogCapture capture = { 0 };
  guint handlers[G_N_ELEMENTS (domains)];
  unsigned n_server = 0;

  g_mutex_init (&capture.lock);
  capture.messages = g_ptr_array_new_with_free_func (g_free);
  g_log_set_debug_enabled (TRUE);
  for (size_t i = 0; i < G_N_ELEMENTS (domains); i++)
    handlers[i] = g_log_set_handler (domains[i], G_LOG_LEVEL_MASK, capture_log, &capture);
  {
    g_autoptr(Response) right = fetch (f, "POST", "Patient", patient_json, "Authorization",
                                       "Bearer " TOKEN, NULL);
    g_autoptr(Response) wrong = fetch (f, "GET", "Patient/p1", NULL, "Authorization",
                                       "Bearer " TOKEN_OTHER, NULL);
    g_autoptr(Response) none = fetch (f, "GET", "Patient/p1", NULL, NULL);

    g_assert_cmpuint (right->status, ==, 201);
    g_assert_cmpuint (wrong->status, ==, 401);
    g_assert_cmpuint (none->status, ==, 401);
  }
  /* set while logging: "a bearer token is required", not the token */
  set_token (f, TOKEN_LONGER);
  set_token (f, TOKEN);
  for (size_t i = 0; i < G_N_ELEMENTS (domains); i++)
    g_log_remove_handler (domains[i], handlers[i]);
  g_log_set_debug_enabled (debug);

  for (unsigned i = 0; i < capture.messages->len; i++)
    {
      const char *message = g_ptr_array_index (capture.messages, i);

      g_test_message ("logged: %s", message);
      /* (the three tokens share their first 20 characters) */
      g_assert_null (strstr (message, "Tok3n-with.all_char"));
      g_assert_null (strstr (message, "tok3n-with.all_char"));
      n_server++;
    }
  /* the server did log (the requests, the 401s): the check above looked at something */
  g_assert_cmpuint (n_server, >=, 3);
  g_ptr_array_unref (capture.messages);
  g_mutex_clear (&capture.lock);
}

/* The token can be changed and removed; the CapabilityStatement follows. */
static void
test_token_change (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(Response) old = NULL;
  g_autoptr(Response) now = NULL;
  g_autoptr(Response) open = NULL;
  g_autoptr(Response) metadata = NULL;

  set_token (f, TOKEN_LONGER);
  old = fetch (f, "GET", "Patient?family=x", NULL, "Authorization", "Bearer " TOKEN, NULL);
  assert_unauthorized (old, INVALID_TOKEN, "access token");
  now = fetch (f, "GET", "Patient?family=x", NULL, "Authorization", "Bearer " TOKEN_LONGER,
               NULL);
  g_assert_cmpuint (now->status, ==, 200);
  set_token (f, NULL);
  g_assert_false (charta_server_has_bearer_token (f->server));
  open = fetch (f, "GET", "Patient?family=x", NULL, NULL);
  g_assert_cmpuint (open->status, ==, 200);
  metadata = fetch (f, "GET", "metadata", NULL, NULL);
  g_assert_null (capability_security (metadata));
}

/* ---- tests: a server without a token ------------------------------------------------------ */

/* As before: every request served, an Authorization header (any) ignored, no rest.security,
 * no WWW-Authenticate. */
static void
test_no_token_required (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(Response) created = NULL;
  g_autoptr(Response) read = NULL;
  g_autoptr(Response) with_header = NULL;
  g_autoptr(Response) search = NULL;
  g_autoptr(Response) metadata = NULL;
  g_autoptr(Response) missing = NULL;

  created = fetch (f, "PUT", "Patient/p1", patient_json, NULL);
  g_assert_cmpuint (created->status, ==, 201);
  read = fetch (f, "GET", "Patient/p1", NULL, NULL);
  g_assert_cmpuint (read->status, ==, 200);
  with_header = fetch (f, "GET", "Patient/p1", NULL, "Authorization", "Bearer whatever", NULL);
  g_assert_cmpuint (with_header->status, ==, 200);
  search = fetch (f, "GET", "Patient?family=Auth", NULL, NULL);
  g_assert_cmpuint (search->status, ==, 200);
  metadata = fetch (f, "GET", "metadata", NULL, NULL);
  g_assert_null (capability_security (metadata));
  missing = fetch (f, "GET", "Patient/none", NULL, NULL);
  g_assert_cmpuint (missing->status, ==, 404);
  g_assert_null (header (missing, "WWW-Authenticate"));
}

/* ---- the token's form ----------------------------------------------------------------------- */

static void
test_token_form (void)
{
  static const char *const valid[] = {
    "a", TOKEN, "abc==", "A-Z.a_z~0+9/", "0123456789abcdef0123456789abcdef",
  };
  static const char *const invalid[] = {
    "", "=", "==abc", "ab=c", "a b", "a\tb", "a,b", "a\"b", "a;b", "é", "tok\n", " tok",
  };
  g_autofree char *longest = g_strnfill (4096, 'a');
  g_autofree char *too_long = g_strnfill (4097, 'a');

  for (size_t i = 0; i < G_N_ELEMENTS (valid); i++)
    g_assert_true (charta_server_is_valid_bearer_token (valid[i]));
  for (size_t i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_test_message ("invalid: \"%s\"", invalid[i]);
      g_assert_false (charta_server_is_valid_bearer_token (invalid[i]));
    }
  g_assert_false (charta_server_is_valid_bearer_token (NULL));
  g_assert_true (charta_server_is_valid_bearer_token (longest));
  g_assert_false (charta_server_is_valid_bearer_token (too_long));
}

/* ---- `charta serve --token-file` ---------------------------------------------------------- */

/* Writes @contents to @name in @dir with @mode; its path. */
static char *
write_token_file (const char *dir,
                  const char *name,
                  const char *contents,
                  int         mode)
{
  char *path = charta_test_write_file (dir, name, contents, -1);

  g_assert_cmpint (g_chmod (path, mode), ==, 0);
  return path;
}

/* Starts `charta serve --listen 127.0.0.1:0 --token-file @token_file @store` (stdin: a pipe
 * when @in is not NULL, which gets @in and is closed); the base URL it prints. */
static GSubprocess *
spawn_serve (const char  *token_file,
             const char  *store,
             const char  *in,
             char       **base)
{
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE;

  if (in != NULL)
    flags |= G_SUBPROCESS_FLAGS_STDIN_PIPE;
  child = g_subprocess_new (flags, &error, charta_test_charta_bin (), "serve", "--listen",
                            "127.0.0.1:0", "--token-file", token_file, store, NULL);
  g_assert_no_error (error);
  if (in != NULL)
    {
      GOutputStream *stdin_pipe = g_subprocess_get_stdin_pipe (child);

      g_output_stream_write_all (stdin_pipe, in, strlen (in), NULL, NULL, &error);
      g_assert_no_error (error);
      g_output_stream_close (stdin_pipe, NULL, &error);
      g_assert_no_error (error);
    }
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child));
  *base = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*base);
  g_assert_true (g_str_has_prefix (*base, "http://127.0.0.1:"));
  return g_steal_pointer (&child);
}

/* SIGTERM: exit 0; what it wrote on standard error. */
static char *
stop_serve (GSubprocess *child)
{
  GInputStream *err = g_subprocess_get_stderr_pipe (child);
  g_autoptr(GError) error = NULL;
  char buffer[8192];
  gsize n = 0;

  g_subprocess_send_signal (child, SIGTERM);
  g_subprocess_wait (child, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (child));
  g_assert_cmpint (g_subprocess_get_exit_status (child), ==, 0);
  g_input_stream_read_all (err, buffer, sizeof buffer - 1, &n, NULL, &error);
  g_assert_no_error (error);
  buffer[n] = '\0';
  return g_strdup (buffer);
}

/* A served token: 401 without it, 200 with it; metadata open; the token in no output. */
static void
assert_serves_token (const char *base,
                     const char *token)
{
  g_autofree char *patient = g_strconcat (base, "/Patient?family=x", NULL);
  g_autofree char *metadata = g_strconcat (base, "/metadata", NULL);
  g_autofree char *auth = g_strconcat ("Bearer ", token, NULL);
  g_autoptr(Response) none = fetch_url ("GET", patient, NULL, NULL);
  g_autoptr(Response) right = fetch_url ("GET", patient, NULL, "Authorization", auth, NULL);
  g_autoptr(Response) capabilities = fetch_url ("GET", metadata, NULL, NULL);

  assert_unauthorized (none, NO_TOKEN, "Authorization: Bearer");
  g_assert_cmpuint (right->status, ==, 200);
  g_assert_nonnull (capability_security (capabilities));
}

static void
test_cli_token_file (void)
{
  /* 64 hex digits, with a newline and spaces around it (trimmed) */
  static const char token[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  ChartaTestDir dir;
  g_auto(ChartaTestRun) init = { 0 };
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GSubprocess) piped = NULL;
  g_autofree char *good = NULL;
  g_autofree char *base = NULL;
  g_autofree char *piped_base = NULL;
  g_autofree char *err = NULL;
  g_autofree char *piped_err = NULL;
  g_autofree char *padded = g_strdup_printf ("  %s \n", token);

  charta_test_dir_set_up (&dir, NULL);
  charta_test_run_charta (&init, "init", dir.store_path, NULL);
  g_assert_cmpint (init.status, ==, 0);

  good = write_token_file (dir.dir, "token", padded, 0600);
  child = spawn_serve (good, dir.store_path, NULL, &base);
  assert_serves_token (base, token);
  err = stop_serve (child);
  charta_test_assert_contains (err, "token");
  g_assert_null (strstr (err, token));

  /* a pipe, as --token-file <(printf %s "$TOKEN") gives: read to its end */
  piped = spawn_serve ("/dev/stdin", dir.store_path, token, &piped_base);
  assert_serves_token (piped_base, token);
  piped_err = stop_serve (piped);
  g_assert_null (strstr (piped_err, token));

  /* files that are refused (exit 1), each error naming the file and what to do */
  {
    static const struct
    {
      const char *name;
      const char *contents;   /* NULL: no file */
      int mode;
      const char *says;
    } cases[] = {
      { "readable", token, 0644, "chmod 600" },
      { "group-readable", token, 0640, "chmod 600" },
      { "writable", token, 0622, "chmod 600" },
      { "empty", "", 0600, "empty" },
      { "blank", " \n\t\n", 0600, "empty" },
      { "short", "0123456789abcde\n", 0600, "fewer than the 16" },
      { "spaced", "0123456789 abcdef0123456789\n", 0600, "not one token" },
      { "two-lines", "0123456789abcdef\n0123456789abcdef\n", 0600, "not one token" },
      { "missing", NULL, 0, "No such file" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_auto(ChartaTestRun) run = { 0 };
        g_autofree char *path = cases[i].contents != NULL
                                ? write_token_file (dir.dir, cases[i].name, cases[i].contents,
                                                    cases[i].mode)
                                : g_build_filename (dir.dir, cases[i].name, NULL);

        g_test_message ("token file %s", cases[i].name);
        charta_test_run_charta (&run, "serve", "--listen", "127.0.0.1:0", "--token-file", path,
                                dir.store_path, NULL);
        g_assert_cmpint (run.status, ==, 1);
        charta_test_assert_contains (run.err, path);
        charta_test_assert_contains (run.err, cases[i].says);
        g_assert_null (strstr (run.err, token));
      }
  }
  /* a NUL byte in it */
  {
    g_auto(ChartaTestRun) run = { 0 };
    g_autofree char *path = charta_test_write_file (dir.dir, "nul", "0123456789abcdef\0xyz",
                                                    20);

    g_assert_cmpint (g_chmod (path, 0600), ==, 0);
    charta_test_run_charta (&run, "serve", "--listen", "127.0.0.1:0", "--token-file", path,
                            dir.store_path, NULL);
    g_assert_cmpint (run.status, ==, 1);
    charta_test_assert_contains (run.err, "NUL");
  }
  charta_test_dir_tear_down (&dir, NULL);
}

/* ---- the desktop app's ChartaLocalServer ------------------------------------------------ */

static void
local_server_started (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  ChartaLocalServer **server = user_data;
  g_autoptr(GError) error = NULL;

  *server = charta_local_server_start_finish (result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*server);
}

static ChartaLocalServer *
start_local_server (const char *path)
{
  ChartaLocalServer *server = NULL;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  charta_local_server_start_async (path, NULL, local_server_started, &server);
  while (server == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (server);
  return server;
}

/* Each start makes a new token of 64 lowercase hex digits (256 bits), which its endpoint
 * requires. */
static void
test_local_server (void)
{
  ChartaTestDir dir;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(ChartaLocalServer) first = NULL;
  g_autoptr(ChartaLocalServer) second = NULL;
  const char *token;

  charta_test_dir_set_up (&dir, NULL);
  store = charta_test_store_open (dir.store_path, CHARTA_STORE_FLAGS_CREATE);
  charta_store_close (store);
  g_clear_object (&store);

  first = start_local_server (dir.store_path);
  token = charta_local_server_get_token (first);
  g_assert_nonnull (token);
  g_assert_cmpuint (strlen (token), ==, 64);
  for (const char *p = token; *p != '\0'; p++)
    g_assert_true (g_ascii_isdigit (*p) || (*p >= 'a' && *p <= 'f'));
  assert_serves_token (charta_local_server_get_base_url (first), token);
  charta_local_server_stop (first);

  second = start_local_server (dir.store_path);
  g_assert_cmpstr (charta_local_server_get_token (second), !=, token);
  assert_serves_token (charta_local_server_get_base_url (second),
                       charta_local_server_get_token (second));
  charta_local_server_stop (second);
  charta_test_dir_tear_down (&dir, NULL);
}

/* ---- main --------------------------------------------------------------------------------- */

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, config, func) \
  g_test_add ("/charta/backend/serve-auth/" path, Fixture, config, fixture_set_up, func, \
              fixture_tear_down)

  ADD ("no-token", &token_config, test_no_token);
  ADD ("wrong-token", &token_config, test_wrong_token);
  ADD ("right-token", &token_config, test_right_token);
  ADD ("metadata", &token_config, test_metadata);
  ADD ("preflight", &token_cors_config, test_preflight);
  ADD ("refused-before-body", &token_config, test_refused_before_body);
  ADD ("token-not-logged", &token_config, test_token_not_logged);
  ADD ("token-change", &token_config, test_token_change);
  ADD ("no-token-required", &open_config, test_no_token_required);
  g_test_add_func ("/charta/backend/serve-auth/token-form", test_token_form);
  g_test_add_func ("/charta/backend/serve-auth/cli-token-file", test_cli_token_file);
  g_test_add_func ("/charta/backend/serve-auth/local-server", test_local_server);

#undef ADD

  return g_test_run ();
}
