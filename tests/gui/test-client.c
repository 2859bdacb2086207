/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-client.c: ChartaClient, the desktop app's FHIR REST client, against real and fake
 * servers.
 *
 * Each test runs on the test thread's default main context, with the server on the same
 * context (ChartaServer does its store work on worker threads, so the context stays free), and
 * waits for the client's callback by iterating the context, up to a deadline.  The real server
 * is a ChartaServer over a new store in a temporary folder; the fake one is a bare SoupServer
 * whose handlers answer what a broken server would (truncated JSON, HTML, a 500, silence).
 * Expected answers come from what each test wrote into the store or made the fake server say.
 */
#define G_LOG_DOMAIN "charta-test"

#include <string.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "charta-client.h"
#include "charta-fhir-text.h"
#include "charta-server.h"
#include "charta-test-store-util.h"

/* No wait in these tests may last longer. */
#define DEADLINE_SECONDS 20

/* ---- waiting for a callback --------------------------------------------------------------- */

typedef struct
{
  gboolean done;
  JsonNode *node;
  JsonNode *outcome;
  GError *error;
  char *content_type;   /* a download's */
  goffset size;
} Answer;

static void
answer_clear (Answer *a)
{
  g_clear_pointer (&a->node, json_node_unref);
  g_clear_pointer (&a->outcome, json_node_unref);
  g_clear_error (&a->error);
  g_clear_pointer (&a->content_type, g_free);
  a->size = 0;
  a->done = FALSE;
}

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the default context until *done, failing the test after DEADLINE_SECONDS. */
static void
wait_until (gboolean *done)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_SECONDS * G_USEC_PER_SEC;
  guint tick = g_timeout_add (50, wake_up, NULL);

  while (!*done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  g_assert_true (*done);
}

static void
got_get (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Answer *a = user_data;

  a->node = charta_client_get_finish (CHARTA_CLIENT (source), result, &a->error);
  a->done = TRUE;
}

static void
got_put (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Answer *a = user_data;

  a->node = charta_client_put_finish (CHARTA_CLIENT (source), result, &a->outcome, &a->error);
  a->done = TRUE;
}

static void
got_post (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Answer *a = user_data;

  a->node = charta_client_post_finish (CHARTA_CLIENT (source), result, &a->outcome, &a->error);
  a->done = TRUE;
}

static void
got_upload (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Answer *a = user_data;

  a->node = charta_client_upload_finish (CHARTA_CLIENT (source), result, &a->error);
  a->done = TRUE;
}

static void
got_download (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Answer *a = user_data;
  gboolean ok;

  ok = charta_client_download_finish (CHARTA_CLIENT (source), result, &a->content_type,
                                      &a->size, &a->error);
  g_assert_true (ok == (a->error == NULL));
  a->done = TRUE;
}

static void
get (ChartaClient *client,
     const char   *path,
     Answer       *a)
{
  answer_clear (a);
  charta_client_get_async (client, path, NULL, got_get, a);
  wait_until (&a->done);
}

/* ---- fixture: a ChartaServer over a new store --------------------------------------------- */

typedef struct
{
  ChartaTestStore st;
  ChartaServer *server;
  ChartaClient *client;
  Answer answer;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *base = NULL;

  charta_test_store_set_up (&f->st, NULL);
  f->server = charta_server_new (f->st.store, "/fhir");
  charta_server_listen (f->server, "127.0.0.1:0", &error);
  g_assert_no_error (error);
  base = charta_server_dup_base_url (f->server);
  f->client = charta_client_new (base);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  answer_clear (&f->answer);
  g_clear_object (&f->client);
  charta_server_stop (f->server);
  g_clear_object (&f->server);
  charta_test_store_tear_down (&f->st, NULL);
}

/* meta.versionId of @resource. */
static const char *
version_of (JsonObject *resource)
{
  return charta_json_get_string (charta_json_get_object (resource, "meta"), "versionId");
}

/* agent[0].who.@member of a Provenance. */
static const char *
agent_who (JsonObject *provenance,
           const char *member)
{
  JsonObject *agent = charta_json_get_first (provenance, "agent");

  return charta_json_get_string (charta_json_get_object (agent, "who"), member);
}

/* Writes a Patient with @id and @family into the store; returns its version. */
static int64_t
put_patient (Fixture    *f,
             const char *id,
             const char *family)
{
  g_autofree char *json = g_strdup_printf ("{\"resourceType\":\"Patient\",\"id\":\"%s\","
                                           "\"name\":[{\"family\":\"%s\",\"given\":[\"Ada\"]}],"
                                           "\"birthDate\":\"1950-01-02\"}", id, family);
  g_autoptr(ChartaResource) resource = charta_test_parse (json);
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(GError) error = NULL;

  stored = charta_store_update (f->st.store, resource, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  return g_ascii_strtoll (version_of (charta_resource_get_object (stored)), NULL, 10);
}

/* ---- against the real server -------------------------------------------------------------- */

static void
test_get_resource (Fixture       *f,
                   gconstpointer  data)
{
  JsonObject *patient;

  put_patient (f, "p1", "Lovelace");
  get (f->client, "Patient/p1", &f->answer);
  g_assert_no_error (f->answer.error);
  g_assert_nonnull (f->answer.node);
  patient = json_node_get_object (f->answer.node);
  g_assert_cmpstr (charta_json_get_string (patient, "resourceType"), ==, "Patient");
  g_assert_cmpstr (charta_json_get_string (patient, "id"), ==, "p1");
  g_assert_cmpstr (charta_json_get_string (charta_json_get_first (patient, "name"), "family"), ==,
                   "Lovelace");
}

/* A search gives the Bundle; two patients written, one matching the family name. */
static void
test_get_search (Fixture       *f,
                 gconstpointer  data)
{
  JsonObject *bundle;
  JsonArray *entries;

  put_patient (f, "p1", "Lovelace");
  put_patient (f, "p2", "Babbage");
  get (f->client, "Patient?family=Babbage", &f->answer);
  g_assert_no_error (f->answer.error);
  bundle = json_node_get_object (f->answer.node);
  g_assert_cmpstr (charta_json_get_string (bundle, "resourceType"), ==, "Bundle");
  entries = charta_json_get_array (bundle, "entry");
  g_assert_nonnull (entries);
  g_assert_cmpuint (json_array_get_length (entries), ==, 1);
  g_assert_cmpstr (charta_json_get_string (charta_json_get_object (
                     json_node_get_object (json_array_get_element (entries, 0)), "resource"),
                     "id"), ==, "p2");
}

/* 404: the error names the status and carries the server's diagnostics ("Patient/nope does
 * not exist", the endpoint's words for a missing resource). */
static void
test_not_found (Fixture       *f,
                gconstpointer  data)
{
  get (f->client, "Patient/nope", &f->answer);
  g_assert_null (f->answer.node);
  g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_NOT_FOUND);
  charta_test_assert_contains (f->answer.error->message, "Not found");
  charta_test_assert_contains (f->answer.error->message, "Patient/nope does not exist");
  charta_test_assert_contains (f->answer.error->message, "HTTP 404");
}

/* The PUT carries If-Match and X-Provenance: the new version is 2 and its Provenance has the
 * agent, activity and reason we sent.  The same PUT again with the old version is a conflict
 * with the server's OperationOutcome. */
static void
test_put_provenance (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  g_autoptr(ChartaResource) recorded = NULL;
  JsonObject *prov;
  JsonObject *activity;
  int64_t version = put_patient (f, "p1", "Lovelace");

  g_assert_cmpint (version, ==, 1);
  body = json_from_string ("{\"resourceType\":\"Patient\",\"id\":\"p1\","
                           "\"name\":[{\"family\":\"Byron\",\"given\":[\"Ada\"]}],"
                           "\"birthDate\":\"1950-01-02\"}", NULL);
  provenance = charta_client_new_provenance ("Practitioner/clerk-1", "Pat Clerk", "UPDATE",
                                             "transcription error");

  charta_client_put_async (f->client, "Patient/p1", body, NULL, "1", provenance, NULL, got_put,
                           &f->answer);
  wait_until (&f->answer.done);
  g_assert_no_error (f->answer.error);
  g_assert_null (f->answer.outcome);
  g_assert_cmpstr (version_of (json_node_get_object (f->answer.node)), ==, "2");

  recorded = charta_test_store_provenance_of (f->st.store, "Patient", "p1", 2);
  prov = charta_resource_get_object (recorded);
  g_assert_cmpstr (agent_who (prov, "display"), ==, "Pat Clerk");
  g_assert_cmpstr (agent_who (prov, "reference"), ==, "Practitioner/clerk-1");
  g_assert_cmpstr (charta_json_get_string (charta_json_get_first (prov, "reason"), "text"), ==,
                   "transcription error");
  activity = charta_json_get_object (prov, "activity");
  g_assert_cmpstr (charta_json_get_string (charta_json_get_first (activity, "coding"), "code"), ==,
                   "UPDATE");

  answer_clear (&f->answer);
  charta_client_put_async (f->client, "Patient/p1", body, NULL, "1", provenance, NULL, got_put,
                           &f->answer);
  wait_until (&f->answer.done);
  g_assert_null (f->answer.node);
  g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_CONFLICT);
  charta_test_assert_contains (f->answer.error->message, "changed this record first");
  g_assert_nonnull (f->answer.outcome);
  g_assert_cmpstr (charta_json_get_string (json_node_get_object (f->answer.outcome),
                                           "resourceType"), ==, "OperationOutcome");
}

/* POST makes a new resource, and its X-Provenance is what the store records for it. */
static void
test_post_provenance (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  g_autoptr(ChartaResource) recorded = NULL;
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *made;
  const char *id;

  put_patient (f, "p1", "Lovelace");
  body = json_from_string ("{\"resourceType\":\"DocumentReference\",\"status\":\"current\","
                           "\"subject\":{\"reference\":\"Patient/p1\"},"
                           "\"content\":[{\"attachment\":{\"contentType\":\"text/plain\","
                           "\"data\":\"aGVsbG8=\"}}]}", NULL);
  provenance = charta_client_new_provenance (NULL, "Pat Clerk", "CREATE", "addendum");

  charta_client_post_async (f->client, "DocumentReference", body, provenance, NULL, got_post,
                            &f->answer);
  wait_until (&f->answer.done);
  g_assert_no_error (f->answer.error);
  made = json_node_get_object (f->answer.node);
  g_assert_cmpstr (charta_json_get_string (made, "resourceType"), ==, "DocumentReference");
  id = charta_json_get_string (made, "id");
  g_assert_nonnull (id);
  g_assert_cmpstr (version_of (made), ==, "1");

  stored = charta_store_read (f->st.store, "DocumentReference", id, &error);
  g_assert_no_error (error);
  recorded = charta_test_store_provenance_of (f->st.store, "DocumentReference", id, 1);
  g_assert_cmpstr (agent_who (charta_resource_get_object (recorded), "display"), ==,
                   "Pat Clerk");
  g_assert_cmpstr (charta_json_get_string (charta_json_get_first (
                     charta_resource_get_object (recorded), "reason"), "text"), ==, "addendum");

  /* a refused create gives the server's OperationOutcome */
  answer_clear (&f->answer);
  g_clear_pointer (&body, json_node_unref);
  body = json_from_string ("{\"resourceType\":\"DocumentReference\",\"status\":\"lost\"}",
                           NULL);
  charta_client_post_async (f->client, "DocumentReference", body, NULL, NULL, got_post,
                            &f->answer);
  wait_until (&f->answer.done);
  g_assert_null (f->answer.node);
  g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_REFUSED);
  g_assert_nonnull (f->answer.outcome);
}

static void
test_cancelled (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  g_cancellable_cancel (cancellable);
  charta_client_get_async (f->client, "metadata", cancellable, got_get, &f->answer);
  wait_until (&f->answer.done);
  g_assert_null (f->answer.node);
  g_assert_error (f->answer.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* ---- no server ---------------------------------------------------------------------------- */

/* A port that was free a moment ago and that nothing listens on. */
static guint16
closed_port (void)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (socket, NULL);
  return port;
}

static void
test_server_down (void)
{
  guint16 port = closed_port ();
  g_autofree char *base = g_strdup_printf ("http://127.0.0.1:%u/fhir", port);
  g_autofree char *where = g_strdup_printf ("127.0.0.1:%u", port);
  g_autoptr(ChartaClient) client = charta_client_new (base);
  Answer a = { 0 };

  get (client, "Patient?name=Secretname", &a);
  g_assert_null (a.node);
  g_assert_error (a.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_UNREACHABLE);
  charta_test_assert_contains (a.error->message, "Cannot reach the server at");
  charta_test_assert_contains (a.error->message, where);
  g_assert_null (strstr (a.error->message, "Secretname"));
  answer_clear (&a);
}

/* ---- a fake server ------------------------------------------------------------------------ */

typedef struct
{
  SoupServer *server;
  ChartaClient *client;
  GPtrArray *paused;   /* SoupServerMessage: requests left unanswered */
  Answer answer;
  char *uploaded_type; /* what POST /fhir/Binary received: its Content-Type and body digest */
  char *uploaded_sha256;
  goffset uploaded_size;
} Fake;

/* The bytes /fhir/Binary/raw answers: 300 KB, not all alike. */
static GBytes *
raw_bytes (void)
{
  size_t size = 300 * 1024;
  guint8 *data = g_malloc (size);

  for (size_t i = 0; i < size; i++)
    data[i] = (guint8) ((i * 7919u) >> 3);
  return g_bytes_new_take (data, size);
}

/* What the fake server answers, by path. */
static void
fake_handler (SoupServer        *server,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  Fake *fake = user_data;
  static const char outcome[] =
    "{\"resourceType\":\"OperationOutcome\",\"issue\":["
    "{\"severity\":\"error\",\"code\":\"invalid\","
    "\"diagnostics\":\"Patient.birthDate: not a date\"},"
    "{\"severity\":\"error\",\"code\":\"invalid\","
    "\"details\":{\"text\":\"Patient.gender: unknown code\"}}]}";

  if (strcmp (path, "/fhir/truncated") == 0)
    {
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "application/fhir+json", SOUP_MEMORY_STATIC,
                                        "{\"resourceType\":\"Patient\",\"id\":", 32);
    }
  else if (strcmp (path, "/fhir/array") == 0)
    {
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, "[1,2]", 5);
    }
  else if (strcmp (path, "/fhir/empty") == 0)
    soup_server_message_set_status (msg, 200, NULL);
  else if (strcmp (path, "/fhir/html500") == 0)
    {
      soup_server_message_set_status (msg, 500, NULL);
      soup_server_message_set_response (msg, "text/html", SOUP_MEMORY_STATIC,
                                        "<html><body>Oops</body></html>", 30);
    }
  else if (strcmp (path, "/fhir/invalid") == 0)
    {
      soup_server_message_set_status (msg, 422, NULL);
      soup_server_message_set_response (msg, "application/fhir+json", SOUP_MEMORY_STATIC,
                                        outcome, strlen (outcome));
    }
  else if (strcmp (path, "/fhir/Binary/raw") == 0)
    {
      g_autoptr(GBytes) bytes = raw_bytes ();

      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "image/png", SOUP_MEMORY_COPY,
                                        g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
    }
  else if (strcmp (path, "/fhir/Binary/gone") == 0)
    {
      soup_server_message_set_status (msg, 410, NULL);
      soup_server_message_set_response (msg, "application/fhir+json", SOUP_MEMORY_STATIC,
                                        outcome, strlen (outcome));
    }
  else if (strcmp (path, "/fhir/Binary") == 0
           && strcmp (soup_server_message_get_method (msg), "POST") == 0)
    {
      SoupMessageBody *body = soup_server_message_get_request_body (msg);
      g_autoptr(GBytes) bytes = soup_message_body_flatten (body);
      static const char made[] = "{\"resourceType\":\"Binary\",\"id\":\"b1\","
                                 "\"contentType\":\"application/pdf\"}";

      g_free (fake->uploaded_type);
      g_free (fake->uploaded_sha256);
      fake->uploaded_type = g_strdup (soup_message_headers_get_content_type (
                                        soup_server_message_get_request_headers (msg), NULL));
      fake->uploaded_sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
      fake->uploaded_size = (goffset) g_bytes_get_size (bytes);
      soup_server_message_set_status (msg, 201, NULL);
      soup_server_message_set_response (msg, "application/fhir+json", SOUP_MEMORY_STATIC, made,
                                        strlen (made));
    }
  else if (strcmp (path, "/fhir/silent") == 0)
    {
      g_ptr_array_add (fake->paused, g_object_ref (msg));
      soup_server_message_pause (msg);
    }
  else
    soup_server_message_set_status (msg, 404, NULL);
}

static void
fake_set_up (Fake          *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoslist(GUri) uris = NULL;
  g_autofree char *base = NULL;

  f->paused = g_ptr_array_new_with_free_func (g_object_unref);
  f->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (f->server, NULL, fake_handler, f, NULL);
  soup_server_listen_local (f->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (f->server);
  g_assert_nonnull (uris);
  base = g_strdup_printf ("http://127.0.0.1:%d/fhir", g_uri_get_port (uris->data));
  f->client = charta_client_new (base);
}

static void
fake_tear_down (Fake          *f,
                gconstpointer  data)
{
  answer_clear (&f->answer);
  g_clear_object (&f->client);
  for (unsigned i = 0; i < f->paused->len; i++)
    {
      SoupServerMessage *msg = g_ptr_array_index (f->paused, i);

      soup_server_message_set_status (msg, 503, NULL);
      soup_server_message_unpause (msg);
    }
  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
  g_ptr_array_unref (f->paused);
  g_free (f->uploaded_type);
  g_free (f->uploaded_sha256);
}

/* A download lands in the file byte for byte, with the answer's type; a failure status is the
 * same error as for any request (and leaves no content); an unwritable place is named. */
static void
test_download (Fake          *f,
               gconstpointer  data)
{
  g_autofree char *dir = g_dir_make_tmp ("charta-download-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "scan.bin", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFile) nowhere = g_file_new_build_filename (dir, "no-such-dir", "scan.bin", NULL);
  g_autoptr(GBytes) expected = raw_bytes ();
  g_autofree char *saved = NULL;
  size_t saved_size = 0;
  g_autoptr(GError) error = NULL;

  charta_client_download_async (f->client, "Binary/raw", file, NULL, got_download, &f->answer);
  wait_until (&f->answer.done);
  g_assert_no_error (f->answer.error);
  g_assert_cmpstr (f->answer.content_type, ==, "image/png");
  g_assert_cmpint (f->answer.size, ==, g_bytes_get_size (expected));
  g_file_get_contents (path, &saved, &saved_size, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (saved, saved_size, g_bytes_get_data (expected, NULL),
                   g_bytes_get_size (expected));

  answer_clear (&f->answer);
  charta_client_download_async (f->client, "Binary/gone", file, NULL, got_download, &f->answer);
  wait_until (&f->answer.done);
  g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_NOT_FOUND);
  charta_test_assert_contains (f->answer.error->message, "Patient.birthDate: not a date");
  g_assert_null (f->answer.content_type);

  answer_clear (&f->answer);
  charta_client_download_async (f->client, "Binary/raw", nowhere, NULL, got_download,
                                &f->answer);
  wait_until (&f->answer.done);
  g_assert_nonnull (f->answer.error);
  g_assert_true (f->answer.error->domain == G_IO_ERROR);
  charta_test_assert_contains (f->answer.error->message, "no-such-dir");

  g_unlink (path);
  g_rmdir (dir);
}

/* An upload sends the file's bytes as they are, with the type given, and gives the server's
 * resource; a file that cannot be read is named and nothing is sent. */
static void
test_upload (Fake          *f,
             gconstpointer  data)
{
  g_autofree char *dir = g_dir_make_tmp ("charta-upload-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "scan.pdf", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFile) missing = g_file_new_build_filename (dir, "missing.pdf", NULL);
  g_autoptr(GBytes) bytes = raw_bytes ();
  g_autofree char *sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);

  charta_client_upload_async (f->client, "Binary", file, "application/pdf", NULL, NULL,
                              got_upload, &f->answer);
  wait_until (&f->answer.done);
  g_assert_no_error (f->answer.error);
  g_assert_cmpstr (charta_json_get_string (json_node_get_object (f->answer.node), "id"), ==,
                   "b1");
  g_assert_cmpstr (f->uploaded_type, ==, "application/pdf");
  g_assert_cmpint (f->uploaded_size, ==, g_bytes_get_size (bytes));
  g_assert_cmpstr (f->uploaded_sha256, ==, sha256);

  answer_clear (&f->answer);
  g_clear_pointer (&f->uploaded_sha256, g_free);
  charta_client_upload_async (f->client, "Binary", missing, "application/pdf", NULL, NULL,
                              got_upload, &f->answer);
  wait_until (&f->answer.done);
  g_assert_null (f->answer.node);
  g_assert_error (f->answer.error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  charta_test_assert_contains (f->answer.error->message, "missing.pdf");
  g_assert_null (f->uploaded_sha256);

  g_unlink (path);
  g_rmdir (dir);
}

static void
test_truncated_json (Fake          *f,
                     gconstpointer  data)
{
  get (f->client, "truncated", &f->answer);
  g_assert_null (f->answer.node);
  g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED);
  charta_test_assert_contains (f->answer.error->message, "is not JSON");
  charta_test_assert_contains (f->answer.error->message, "GET truncated");
}

static void
test_not_a_resource (Fake          *f,
                     gconstpointer  data)
{
  get (f->client, "array", &f->answer);
  g_assert_null (f->answer.node);
  g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED);
  charta_test_assert_contains (f->answer.error->message, "not a FHIR resource");

  get (f->client, "empty", &f->answer);
  g_assert_null (f->answer.node);
  g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED);
  charta_test_assert_contains (f->answer.error->message, "empty body");
}

/* A 500 with an HTML page: no diagnostics, so the status and reason phrase speak. */
static void
test_server_error (Fake          *f,
                   gconstpointer  data)
{
  get (f->client, "html500", &f->answer);
  g_assert_null (f->answer.node);
  g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_SERVER);
  charta_test_assert_contains (f->answer.error->message, "The server failed");
  charta_test_assert_contains (f->answer.error->message, "HTTP 500 Internal Server Error");
  g_assert_null (strstr (f->answer.error->message, "Oops"));
}

/* Both issues' words, the diagnostics of one and details.text of the other, in order. */
static void
test_outcome_issues (Fake          *f,
                     gconstpointer  data)
{
  get (f->client, "invalid", &f->answer);
  g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_REFUSED);
  charta_test_assert_contains (f->answer.error->message,
                               "Patient.birthDate: not a date; Patient.gender: unknown code");
  charta_test_assert_contains (f->answer.error->message, "HTTP 422");
}

/* A server that never answers: the client gives up after its timeout (1 s here). */
static void
test_timeout (Fake          *f,
              gconstpointer  data)
{
  gint64 start = g_get_monotonic_time ();

  charta_client_set_timeout (f->client, 1);
  get (f->client, "silent", &f->answer);
  g_assert_null (f->answer.node);
  g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_TIMEOUT);
  charta_test_assert_contains (f->answer.error->message, "did not answer GET silent within 1 "
                                                         "seconds");
  g_assert_cmpint (g_get_monotonic_time () - start, >=, G_USEC_PER_SEC / 2);
  g_assert_cmpuint (f->paused->len, ==, 1);
}

/* ---- without a server --------------------------------------------------------------------- */

static void
test_urls (void)
{
  g_autoptr(ChartaClient) client = charta_client_new ("http://127.0.0.1:9/fhir/");
  g_autofree char *relative = charta_client_dup_url (client, "Patient?name=x");
  g_autofree char *slash = charta_client_dup_url (client, "/Patient/7");
  g_autofree char *absolute = charta_client_dup_url (client, "https://example.org/fhir/Patient");

  g_assert_cmpstr (charta_client_get_base_url (client), ==, "http://127.0.0.1:9/fhir");
  g_assert_cmpstr (relative, ==, "http://127.0.0.1:9/fhir/Patient?name=x");
  g_assert_cmpstr (slash, ==, "http://127.0.0.1:9/fhir/Patient/7");
  g_assert_cmpstr (absolute, ==, "https://example.org/fhir/Patient");
}

static void
test_provenance_json (void)
{
  g_autoptr(JsonNode) full = charta_client_new_provenance ("Practitioner/1", "A. Clerk", "UPDATE",
                                                           "late entry");
  g_autoptr(JsonNode) bare = charta_client_new_provenance (NULL, NULL, NULL, NULL);
  g_autofree char *full_text = json_to_string (full, FALSE);
  g_autofree char *bare_text = json_to_string (bare, FALSE);
  g_autoptr(JsonNode) amend = charta_client_new_provenance (NULL, NULL, "amend", "typo");
  g_autofree char *amend_text = json_to_string (amend, FALSE);

  g_assert_cmpstr (full_text, ==,
                   "{\"resourceType\":\"Provenance\","
                   "\"agent\":[{\"who\":{\"reference\":\"Practitioner/1\","
                   "\"display\":\"A. Clerk\"}}],"
                   "\"activity\":{\"coding\":[{\"system\":"
                   "\"http://terminology.hl7.org/CodeSystem/v3-DataOperation\","
                   "\"code\":\"UPDATE\"}]},"
                   "\"reason\":[{\"text\":\"late entry\"}]}");
  g_assert_cmpstr (bare_text, ==, "{\"resourceType\":\"Provenance\"}");

  /* ISO 21089 lifecycle codes get their own system, as the server's ChartaChange reads it. */
  g_assert_cmpstr (amend_text, ==,
                   "{\"resourceType\":\"Provenance\","
                   "\"activity\":{\"coding\":[{\"system\":"
                   "\"http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle\","
                   "\"code\":\"amend\"}]},"
                   "\"reason\":[{\"text\":\"typo\"}]}");
  g_assert_cmpstr (charta_client_activity_system ("NULLIFY"), ==,
                   "http://terminology.hl7.org/CodeSystem/v3-DataOperation");
  g_assert_cmpstr (charta_client_activity_system ("APPEND"), ==,
                   "http://terminology.hl7.org/CodeSystem/v3-DataOperation");
  g_assert_cmpstr (charta_client_activity_system ("originate"), ==,
                   "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/charta/gui/client/urls", test_urls);
  g_test_add_func ("/charta/gui/client/provenance-json", test_provenance_json);
  g_test_add ("/charta/gui/client/get-resource", Fixture, NULL, fixture_set_up,
              test_get_resource, fixture_tear_down);
  g_test_add ("/charta/gui/client/get-search", Fixture, NULL, fixture_set_up, test_get_search,
              fixture_tear_down);
  g_test_add ("/charta/gui/client/not-found", Fixture, NULL, fixture_set_up, test_not_found,
              fixture_tear_down);
  g_test_add ("/charta/gui/client/put-provenance", Fixture, NULL, fixture_set_up,
              test_put_provenance, fixture_tear_down);
  g_test_add ("/charta/gui/client/post-provenance", Fixture, NULL, fixture_set_up,
              test_post_provenance, fixture_tear_down);
  g_test_add ("/charta/gui/client/cancelled", Fixture, NULL, fixture_set_up, test_cancelled,
              fixture_tear_down);
  g_test_add ("/charta/gui/client/download", Fake, NULL, fake_set_up, test_download,
              fake_tear_down);
  g_test_add ("/charta/gui/client/upload", Fake, NULL, fake_set_up, test_upload,
              fake_tear_down);
  g_test_add_func ("/charta/gui/client/server-down", test_server_down);
  g_test_add ("/charta/gui/client/truncated-json", Fake, NULL, fake_set_up,
              test_truncated_json, fake_tear_down);
  g_test_add ("/charta/gui/client/not-a-resource", Fake, NULL, fake_set_up,
              test_not_a_resource, fake_tear_down);
  g_test_add ("/charta/gui/client/server-error", Fake, NULL, fake_set_up, test_server_error,
              fake_tear_down);
  g_test_add ("/charta/gui/client/outcome-issues", Fake, NULL, fake_set_up,
              test_outcome_issues, fake_tear_down);
  g_test_add ("/charta/gui/client/timeout", Fake, NULL, fake_set_up, test_timeout,
              fake_tear_down);

  return g_test_run ();
}
