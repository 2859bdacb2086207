/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-serve.c: the FHIR REST endpoint, black-box.
 *
 * Each test starts a ChartaServer on 127.0.0.1, port 0, over a new store, runs it on its own
 * thread and main context, and drives it over HTTP with a SoupSession from the test thread,
 * asserting statuses, headers and bodies as http.html and search.html of FHIR R4 define them.
 * Expected answers are worked out by hand from the resources each test writes (see the
 * comments); where the store can say what a read must return, the test asks the store directly
 * and compares bytes.  One test runs the built `charta serve` and stops it with SIGTERM.
 */
#define G_LOG_DOMAIN "charta-test"

#include <signal.h>
#include <string.h>

#include <libsoup/soup.h>

#include "charta-server-private.h"
#include "charta-test-store-util.h"

/* ---- fixture: a server on its own thread ---------------------------------------------------- */

typedef struct
{
  size_t       max_body;
  unsigned     max_url;
  unsigned     max_header;
  unsigned     max_connections;
  double       timeout;         /* > 0: the search time limit */
  double       idle_timeout;    /* > 0: the idle connection time limit */
  const char  *cors_origin;
  gboolean     read_only;
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
  if (config != NULL)
    {
      if (config->max_body > 0)
        charta_server_set_max_body_size (f->server, config->max_body);
      if (config->max_url > 0)
        charta_server_set_max_url_length (f->server, config->max_url);
      if (config->max_header > 0)
        charta_server_set_max_header_size (f->server, config->max_header);
      if (config->max_connections > 0)
        charta_server_set_max_connections (f->server, config->max_connections);
      if (config->timeout > 0)
        charta_server_set_request_timeout (f->server, config->timeout);
      if (config->idle_timeout > 0)
        charta_server_set_idle_timeout (f->server, config->idle_timeout);
      if (config->cors_origin != NULL)
        charta_server_add_cors_origin (f->server, config->cors_origin);
      charta_server_set_read_only (f->server, config->read_only);
    }
  f->context = g_main_context_new ();
  f->loop = g_main_loop_new (f->context, FALSE);
  g_main_context_push_thread_default (f->context);
  charta_server_listen (f->server, "127.0.0.1:0", &error);
  g_main_context_pop_thread_default (f->context);
  g_assert_no_error (error);
  g_assert_cmpuint (charta_server_get_port (f->server), >, 0);
  f->base = charta_server_dup_base_url (f->server);
  f->thread = g_thread_new ("server", run_server, f);
  f->session = soup_session_new ();
  soup_session_set_timeout (f->session, 60);
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
  GBytes      *body;
  JsonNode    *json;   /* the body parsed, NULL when empty */
} Response;

static void
response_free (Response *r)
{
  g_clear_object (&r->msg);
  g_clear_pointer (&r->body, g_bytes_unref);
  g_clear_pointer (&r->json, json_node_unref);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Response, response_free)

static char *
url_for (Fixture    *f,
         const char *path)
{
  if (g_str_has_prefix (path, "http:"))
    return g_strdup (path);
  if (*path == '?' || *path == '\0')
    return g_strconcat (f->base, path, NULL);
  return g_strconcat (f->base, "/", path, NULL);
}

/* Sends @method @url with @body (NULL: none) and the headers that follow (name, value, …,
 * NULL) on @session; fails the test on a transport error. */
static Response *
send_va (SoupSession *session,
         const char  *method,
         const char  *url,
         const char  *content_type,
         const char  *body,
         va_list      args)
{
  Response *r = g_new0 (Response, 1);
  g_autoptr(GError) error = NULL;
  const char *name;
  gsize length;
  const char *data;

  r->msg = soup_message_new (method, url);
  g_assert_nonnull (r->msg);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (r->msg, content_type, bytes);
    }
  while ((name = va_arg (args, const char *)) != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (r->msg), name,
                                  va_arg (args, const char *));
  r->body = soup_session_send_and_read (session, r->msg, NULL, &error);
  g_assert_no_error (error);
  r->status = soup_message_get_status (r->msg);
  data = g_bytes_get_data (r->body, &length);
  if (length > 0)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (json_parser_load_from_data (parser, data, (gssize) length, NULL))
        r->json = json_node_ref (json_parser_get_root (parser));
    }
  return r;
}

static Response *
send_on (SoupSession *session,
         const char  *method,
         const char  *url,
         const char  *content_type,
         const char  *body,
         ...)
{
  va_list args;
  Response *r;

  va_start (args, body);
  r = send_va (session, method, url, content_type, body, args);
  va_end (args);
  return r;
}

/* @method [base]/@path with @body as FHIR JSON (NULL: none) and the headers that follow. */
static Response *
fetch (Fixture    *f,
       const char *method,
       const char *path,
       const char *body,
       ...)
{
  g_autofree char *url = url_for (f, path);
  va_list args;
  Response *r;

  va_start (args, body);
  r = send_va (f->session, method, url, "application/fhir+json", body, args);
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

static const char *
resource_type_of (Response *r)
{
  return member_string (body_object (r), "resourceType");
}

/* Fails unless @r is an OperationOutcome whose first issue has code @code and whose
 * diagnostics contain @text (NULL: any). */
static void
assert_outcome (Response   *r,
                const char *code,
                const char *text)
{
  JsonObject *issue;
  JsonArray *issues;

  g_assert_nonnull (r->json);
  g_assert_cmpstr (resource_type_of (r), ==, "OperationOutcome");
  g_assert_true (g_str_has_prefix (header (r, "Content-Type"), "application/fhir+json"));
  issues = json_object_get_array_member (body_object (r), "issue");
  g_assert_cmpuint (json_array_get_length (issues), >=, 1);
  issue = json_array_get_object_element (issues, 0);
  g_assert_cmpstr (member_string (issue, "code"), ==, code);
  if (text != NULL)
    charta_test_assert_contains (member_string (issue, "diagnostics"), text);
}

/* The entries of a Bundle body. */
static JsonArray *
bundle_entries (Response *r)
{
  JsonObject *bundle = body_object (r);

  g_assert_cmpstr (member_string (bundle, "resourceType"), ==, "Bundle");
  if (!json_object_has_member (bundle, "entry"))
    return NULL;
  return json_object_get_array_member (bundle, "entry");
}

/* "Type/id" of the entries whose search.mode is @mode (NULL: every entry), sorted, joined
 * with spaces. */
static char *
bundle_ids (Response   *r,
            const char *mode)
{
  JsonArray *entries = bundle_entries (r);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  GString *out = g_string_new (NULL);

  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);
      JsonObject *search = json_object_has_member (entry, "search")
                           ? json_object_get_object_member (entry, "search") : NULL;
      JsonObject *resource;

      if (mode != NULL && g_strcmp0 (member_string (search, "mode"), mode) != 0)
        continue;
      if (!json_object_has_member (entry, "resource"))
        {
          /* a deletion in a history Bundle: its request names it */
          JsonObject *request = json_object_get_object_member (entry, "request");

          g_ptr_array_add (ids, g_strdup (member_string (request, "url")));
          continue;
        }
      resource = json_object_get_object_member (entry, "resource");
      g_ptr_array_add (ids, g_strdup_printf ("%s/%s", member_string (resource, "resourceType"),
                                             member_string (resource, "id")));
    }
  g_ptr_array_sort (ids, charta_test_compare_strings);
  for (unsigned i = 0; i < ids->len; i++)
    g_string_append_printf (out, "%s%s", i > 0 ? " " : "", (char *) ids->pdata[i]);
  return g_string_free (out, FALSE);
}

/* The url of the Bundle link @relation, NULL when absent. */
static const char *
bundle_link (Response   *r,
             const char *relation)
{
  JsonObject *bundle = body_object (r);
  JsonArray *links;

  if (!json_object_has_member (bundle, "link"))
    return NULL;
  links = json_object_get_array_member (bundle, "link");
  for (unsigned i = 0; i < json_array_get_length (links); i++)
    {
      JsonObject *link = json_array_get_object_element (links, i);

      if (g_strcmp0 (member_string (link, "relation"), relation) == 0)
        return member_string (link, "url");
    }
  return NULL;
}

static gint64
bundle_total (Response *r)
{
  JsonObject *bundle = body_object (r);

  return json_object_has_member (bundle, "total") ? json_object_get_int_member (bundle, "total")
                                                  : -1;
}

/* The id in a Location header "…/Type/id/_history/n". */
static char *
location_id (const char *location)
{
  g_auto(GStrv) parts = NULL;
  unsigned n;

  g_assert_nonnull (location);
  parts = g_strsplit (location, "/", -1);
  n = g_strv_length (parts);
  g_assert_cmpuint (n, >=, 4);
  g_assert_cmpstr (parts[n - 2], ==, "_history");
  return g_strdup (parts[n - 3]);
}

/* Writes @json to the store directly (update-as-create with its own id). */
static void
put (Fixture    *f,
     const char *json)
{
  g_autoptr(ChartaResource) resource = charta_test_parse (json);
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(GError) error = NULL;

  stored = charta_store_update (f->st.store, resource, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (stored);
}

/* The current version of @type/@id as the store has it (0: none, or deleted). */
static int64_t
stored_version (Fixture    *f,
                const char *type,
                const char *id)
{
  g_autoptr(GBytes) json = NULL;
  int64_t version = 0;

  json = charta_store_read_bytes (f->st.store, type, id, &version, NULL);
  return json != NULL ? version : 0;
}

/* The current version of @type/@id, parsed; fails the test when there is none. */
static ChartaResource *
stored_resource (Fixture    *f,
                 const char *type,
                 const char *id)
{
  g_autoptr(GError) error = NULL;
  ChartaResource *resource = charta_store_read (f->st.store, type, id, &error);

  g_assert_no_error (error);
  return resource;
}

/* The string member @name of the stored @type/@id (NULL when absent). */
static char *
stored_string (Fixture    *f,
               const char *type,
               const char *id,
               const char *name)
{
  g_autoptr(ChartaResource) resource = stored_resource (f, type, id);

  return g_strdup (member_string (charta_resource_get_object (resource), name));
}

/* ---- tests: capabilities ------------------------------------------------------------------ */

static JsonObject *
find_rest_resource (JsonObject *capabilities,
                    const char *type)
{
  JsonObject *rest = json_array_get_object_element (json_object_get_array_member (capabilities,
                                                                                  "rest"), 0);
  JsonArray *resources = json_object_get_array_member (rest, "resource");

  for (unsigned i = 0; i < json_array_get_length (resources); i++)
    {
      JsonObject *resource = json_array_get_object_element (resources, i);

      if (g_strcmp0 (member_string (resource, "type"), type) == 0)
        return resource;
    }
  return NULL;
}

static gboolean
has_code (JsonArray  *array,
          const char *code)
{
  for (unsigned i = 0; array != NULL && i < json_array_get_length (array); i++)
    if (g_strcmp0 (member_string (json_array_get_object_element (array, i), "code"), code) == 0)
      return TRUE;
  return FALSE;
}

static void
test_metadata (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(Response) r = fetch (f, "GET", "metadata", NULL, NULL);
  g_autoptr(ChartaResource) parsed = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *capabilities, *rest, *patient, *birthdate = NULL;
  JsonArray *params;
  unsigned n_types = 0;

  g_assert_cmpuint (r->status, ==, 200);
  g_assert_true (g_str_has_prefix (header (r, "Content-Type"), "application/fhir+json"));
  capabilities = body_object (r);
  g_assert_cmpstr (member_string (capabilities, "resourceType"), ==, "CapabilityStatement");
  g_assert_cmpstr (member_string (capabilities, "fhirVersion"), ==, "4.0.1");
  g_assert_cmpstr (member_string (capabilities, "kind"), ==, "instance");
  g_assert_cmpstr (member_string (json_object_get_object_member (capabilities,
                                                                  "implementation"), "url"),
                   ==, f->base);

  /* Every concrete resource type of the model, each once. */
  for (unsigned i = 0; i < charta_model_n_types; i++)
    if (charta_model_types[i].kind == CHARTA_TYPE_KIND_RESOURCE
        && !charta_model_types[i].is_abstract)
      n_types++;
  g_assert_cmpuint (n_types, >, 140);
  rest = json_array_get_object_element (json_object_get_array_member (capabilities, "rest"), 0);
  g_assert_cmpstr (member_string (rest, "mode"), ==, "server");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (rest, "resource")), ==,
                    n_types);
  g_assert_null (find_rest_resource (capabilities, "DomainResource"));
  g_assert_true (has_code (json_object_get_array_member (rest, "interaction"), "search-system"));
  g_assert_true (has_code (json_object_get_array_member (rest, "interaction"), "history-system"));

  /* Patient: the interactions served, and birthdate among its search parameters as the
   * model defines it. */
  patient = find_rest_resource (capabilities, "Patient");
  g_assert_nonnull (patient);
  for (const char *const *code = (const char *const[]) { "read", "vread", "update", "patch",
                                                          "delete", "history-instance",
                                                          "history-type", "create",
                                                          "search-type", NULL };
       *code != NULL; code++)
    g_assert_true (has_code (json_object_get_array_member (patient, "interaction"), *code));
  /* patch on every type, as every other write */
  {
    JsonArray *resources = json_object_get_array_member (rest, "resource");
    unsigned n_patch = 0;

    for (unsigned i = 0; i < json_array_get_length (resources); i++)
      if (has_code (json_object_get_array_member (json_array_get_object_element (resources, i),
                                                  "interaction"), "patch"))
        n_patch++;
    g_assert_cmpuint (n_patch, ==, n_types);
  }
  g_assert_true (json_object_get_boolean_member (patient, "conditionalCreate"));
  params = json_object_get_array_member (patient, "searchParam");
  for (unsigned i = 0; i < json_array_get_length (params); i++)
    {
      JsonObject *param = json_array_get_object_element (params, i);

      if (g_strcmp0 (member_string (param, "name"), "birthdate") == 0)
        birthdate = param;
      /* near and the other special parameters are not served */
      g_assert_cmpstr (member_string (param, "type"), !=, "special");
    }
  g_assert_nonnull (birthdate);
  g_assert_cmpstr (member_string (birthdate, "type"), ==, "date");
  g_assert_cmpstr (member_string (birthdate, "definition"), ==,
                   charta_model_lookup_search_param ("Patient", "birthdate")->url);

  /* It is a valid R4 CapabilityStatement. */
  parsed = charta_resource_new_from_bytes (r->body, NULL, &error);
  g_assert_no_error (error);
  charta_validate (parsed, &error);
  g_assert_no_error (error);

  /* _summary=true: the summary elements only (every type still listed, no search parameters:
   * CapabilityStatement.rest.resource.searchParam is no summary element), tagged SUBSETTED;
   * _elements; a bad _summary is a 400 */
  {
    g_autoptr(Response) summary = fetch (f, "GET", "metadata?_summary=true", NULL, NULL);
    g_autoptr(Response) elements = fetch (f, "GET", "metadata?_elements=fhirVersion", NULL, NULL);
    g_autoptr(Response) bad = fetch (f, "GET", "metadata?_summary=most", NULL, NULL);
    JsonObject *small, *small_rest, *small_patient, *meta;

    g_assert_cmpuint (summary->status, ==, 200);
    small = body_object (summary);
    g_assert_cmpstr (member_string (small, "fhirVersion"), ==, "4.0.1");
    small_rest = json_array_get_object_element (json_object_get_array_member (small, "rest"), 0);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (small_rest,
                                                                            "resource")), ==,
                      n_types);
    small_patient = find_rest_resource (small, "Patient");
    g_assert_nonnull (small_patient);
    g_assert_false (json_object_has_member (small_patient, "searchParam"));
    meta = json_object_get_object_member (small, "meta");
    g_assert_cmpstr (member_string (json_array_get_object_element (
                       json_object_get_array_member (meta, "tag"), 0), "code"), ==, "SUBSETTED");
    g_assert_cmpuint (g_bytes_get_size (summary->body) * 10, <, g_bytes_get_size (r->body));

    g_assert_cmpuint (elements->status, ==, 200);
    g_assert_cmpstr (member_string (body_object (elements), "fhirVersion"), ==, "4.0.1");
    g_assert_false (json_object_has_member (body_object (elements), "rest"));
    g_assert_cmpuint (bad->status, ==, 400);
  }
}

static void
test_metadata_read_only (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(Response) r = fetch (f, "GET", "metadata", NULL, NULL);
  g_autoptr(Response) created = NULL;
  JsonObject *patient;

  g_assert_cmpuint (r->status, ==, 200);
  patient = find_rest_resource (body_object (r), "Patient");
  g_assert_true (has_code (json_object_get_array_member (patient, "interaction"), "read"));
  g_assert_false (has_code (json_object_get_array_member (patient, "interaction"), "create"));
  g_assert_false (has_code (json_object_get_array_member (patient, "interaction"), "delete"));
  g_assert_false (has_code (json_object_get_array_member (patient, "interaction"), "patch"));

  created = fetch (f, "POST", "Patient", "{\"resourceType\":\"Patient\"}", NULL);
  g_assert_cmpuint (created->status, ==, 405);
  assert_outcome (created, "not-supported", "read-only");
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 0);

  /* a patch is a write too, even of a resource that is there */
  {
    g_autofree char *url = NULL;
    g_autoptr(Response) patched = NULL;

    put (f, "{\"resourceType\":\"Patient\",\"id\":\"ro\"}");
    url = url_for (f, "Patient/ro");
    patched = send_on (f->session, "PATCH", url, "application/json-patch+json",
                       "[{\"op\":\"add\",\"path\":\"/active\",\"value\":true}]", NULL);
    g_assert_cmpuint (patched->status, ==, 405);
    assert_outcome (patched, "not-supported", "read-only");
    g_assert_cmpint (stored_version (f, "Patient", "ro"), ==, 1);
  }
}

/* ---- tests: CRUD -------------------------------------------------------------------------- */

static void
test_crud (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(Response) created = NULL;
  g_autoptr(Response) read = NULL;
  g_autoptr(Response) updated = NULL;
  g_autoptr(Response) v1 = NULL;
  g_autoptr(Response) deleted = NULL;
  g_autoptr(Response) gone = NULL;
  g_autoptr(Response) again = NULL;
  g_autoptr(GBytes) stored = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  g_autofree char *path = NULL;
  g_autofree char *body = NULL;
  g_autofree char *expected_location = NULL;
  JsonObject *meta;
  int64_t version = 0;

  /* create: 201, Location …/Patient/id/_history/1, ETag W/"1", the stored resource */
  created = fetch (f, "POST", "Patient",
                   "{\"resourceType\":\"Patient\",\"id\":\"ignored\","
                   "\"name\":[{\"family\":\"Chalmers\"}]}", NULL);
  g_assert_cmpuint (created->status, ==, 201);
  id = location_id (header (created, "Location"));
  g_assert_cmpstr (id, !=, "ignored");
  expected_location = g_strdup_printf ("%s/Patient/%s/_history/1", f->base, id);
  g_assert_cmpstr (header (created, "Location"), ==, expected_location);
  g_assert_cmpstr (header (created, "ETag"), ==, "W/\"1\"");
  g_assert_nonnull (header (created, "Last-Modified"));
  g_assert_nonnull (header (created, "X-Request-Id"));
  g_assert_cmpstr (member_string (body_object (created), "id"), ==, id);

  /* read: the stored body, byte for byte */
  path = g_strdup_printf ("Patient/%s", id);
  read = fetch (f, "GET", path, NULL, NULL);
  g_assert_cmpuint (read->status, ==, 200);
  g_assert_cmpstr (header (read, "ETag"), ==, "W/\"1\"");
  g_assert_cmpstr (header (read, "Last-Modified"), ==, header (created, "Last-Modified"));
  stored = charta_store_read_bytes (f->st.store, "Patient", id, &version, &error);
  g_assert_no_error (error);
  g_assert_cmpint (version, ==, 1);
  g_assert_true (g_bytes_equal (stored, read->body));

  /* update: 200, version 2 */
  body = g_strdup_printf ("{\"resourceType\":\"Patient\",\"id\":\"%s\","
                          "\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Peter\"]}]}", id);
  updated = fetch (f, "PUT", path, body, NULL);
  g_assert_cmpuint (updated->status, ==, 200);
  g_assert_cmpstr (header (updated, "ETag"), ==, "W/\"2\"");
  meta = json_object_get_object_member (body_object (updated), "meta");
  g_assert_cmpstr (member_string (meta, "versionId"), ==, "2");

  /* vread: version 1 still has no given name */
  {
    g_autofree char *v1_path = g_strdup_printf ("Patient/%s/_history/1", id);
    g_autofree char *v9_path = g_strdup_printf ("Patient/%s/_history/9", id);
    g_autofree char *bad_path = g_strdup_printf ("Patient/%s/_history/x", id);
    g_autoptr(Response) v9 = NULL;
    g_autoptr(Response) bad = NULL;
    JsonObject *name;

    v1 = fetch (f, "GET", v1_path, NULL, NULL);
    g_assert_cmpuint (v1->status, ==, 200);
    g_assert_cmpstr (header (v1, "ETag"), ==, "W/\"1\"");
    name = json_array_get_object_element (json_object_get_array_member (body_object (v1),
                                                                        "name"), 0);
    g_assert_false (json_object_has_member (name, "given"));
    v9 = fetch (f, "GET", v9_path, NULL, NULL);
    g_assert_cmpuint (v9->status, ==, 404);
    assert_outcome (v9, "not-found", NULL);
    bad = fetch (f, "GET", bad_path, NULL, NULL);
    g_assert_cmpuint (bad->status, ==, 404);
  }

  /* delete: 200 with an OperationOutcome, the tombstone is version 3; then 410 */
  deleted = fetch (f, "DELETE", path, NULL, NULL);
  g_assert_cmpuint (deleted->status, ==, 200);
  assert_outcome (deleted, "informational", id);
  g_assert_cmpstr (header (deleted, "ETag"), ==, "W/\"3\"");
  gone = fetch (f, "GET", path, NULL, NULL);
  g_assert_cmpuint (gone->status, ==, 410);
  assert_outcome (gone, "deleted", NULL);
  /* deleting again changes nothing and succeeds; Prefer: return=minimal gives 204 */
  again = fetch (f, "DELETE", path, NULL, "Prefer", "return=minimal", NULL);
  g_assert_cmpuint (again->status, ==, 204);
  g_assert_cmpuint (g_bytes_get_size (again->body), ==, 0);
}

static void
test_update_create (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(Response) created = NULL;
  g_autoptr(Response) same = NULL;
  g_autoptr(Response) read = NULL;
  const char *body = "{\"resourceType\":\"Patient\",\"id\":\"p7\",\"gender\":\"female\"}";

  /* PUT with a new id: update-as-create, 201 with the client's id */
  g_autofree char *location = g_strdup_printf ("%s/Patient/p7/_history/1", f->base);

  created = fetch (f, "PUT", "Patient/p7", body, NULL);
  g_assert_cmpuint (created->status, ==, 201);
  g_assert_cmpstr (header (created, "Location"), ==, location);
  /* the same content again: no new version, 200 with version 1 */
  same = fetch (f, "PUT", "Patient/p7", body, NULL);
  g_assert_cmpuint (same->status, ==, 200);
  g_assert_cmpstr (header (same, "ETag"), ==, "W/\"1\"");
  read = fetch (f, "GET", "Patient/p7", NULL, NULL);
  g_assert_cmpuint (read->status, ==, 200);
  g_assert_cmpstr (member_string (body_object (read), "gender"), ==, "female");
}

static void
test_errors (Fixture       *f,
             gconstpointer  data)
{
  struct
  {
    const char *method;
    const char *path;
    const char *content_type;
    const char *body;
    unsigned status;
    const char *code;
    const char *text;
  } cases[] = {
    /* unknown type, unknown id, a path that is no FHIR id */
    { "GET", "Foo/1", NULL, NULL, 404, "not-found", "Foo" },
    { "GET", "Patient/nope", NULL, NULL, 404, "not-found", "Patient/nope" },
    { "GET", "Patient/a_b", NULL, NULL, 404, "not-found", "not a FHIR id" },
    { "DELETE", "Patient/nope", NULL, NULL, 404, "not-found", NULL },
    /* bodies: not JSON (400), not a resource (400), invalid (422: gender has no code "x"),
     * a type that is not the URL's (400), no body (400) */
    { "POST", "Patient", "application/fhir+json", "{\"resourceType\":", 400, "structure",
      NULL },
    { "POST", "Patient", "application/fhir+json", "{\"a\":1}", 400, "structure", NULL },
    { "POST", "Patient", "application/fhir+json",
      "{\"resourceType\":\"Patient\",\"gender\":\"x\"}", 422, "invalid", "gender" },
    { "POST", "Patient", "application/fhir+json", "{\"resourceType\":\"Observation\"}", 400,
      "invalid", "Observation" },
    { "POST", "Patient", "application/fhir+json", "", 400, "invalid", "body" },
    /* update: no id, another id, another type */
    { "PUT", "Patient/p1", "application/fhir+json", "{\"resourceType\":\"Patient\"}", 400,
      "invalid", "no id" },
    { "PUT", "Patient/p1", "application/fhir+json",
      "{\"resourceType\":\"Patient\",\"id\":\"p2\"}", 400, "invalid", "p2" },
    { "PUT", "Patient/p1", "application/fhir+json",
      "{\"resourceType\":\"Group\",\"id\":\"p1\"}", 400, "invalid", "Group" },
    /* Content-Type: 415 */
    { "POST", "Patient", "text/plain", "{\"resourceType\":\"Patient\"}", 415, "not-supported",
      NULL },
    { "POST", "Patient", "application/fhir+xml", "<Patient/>", 415, "not-supported", "XML" },
    /* methods: 405 */
    { "POST", "metadata", "application/fhir+json", "{}", 405, "not-supported", NULL },
    { "PUT", "Patient/p1/_history", "application/fhir+json", "{}", 405, "not-supported", NULL },
    { "PATCH", "metadata", "application/json-patch+json", "[]", 405, "not-supported", NULL },
    { "PATCH", "Patient/p1", "text/plain", "[]", 415, "not-supported", NULL },
    /* a body without a Content-Type is not read (FHIR http.html: the client sends it) */
    { "POST", "Patient", NULL, "{\"resourceType\":\"Patient\"}", 415, "not-supported",
      "Content-Type" },
    { "PUT", "Patient/p1", NULL, "{\"resourceType\":\"Patient\",\"id\":\"p1\"}", 415,
      "not-supported", "Content-Type" },
    { "POST", "", NULL, "{\"resourceType\":\"Bundle\",\"type\":\"batch\"}", 415,
      "not-supported", "Content-Type" },
    { "PATCH", "Patient/p1", "application/json-patch+json", "[]", 404, "not-found", "p1" },
    /* a compartment that is none; an operation not served */
    { "GET", "Observation/o1/Patient", NULL, NULL, 404, "not-found", "compartment" },
    /* operations: one FHIR R4 does not define is unknown (404); one it defines there that
     * Charta lacks is 501 ($lastn: Observation, type level; $closure: system level) */
    { "GET", "Patient/p1/$nothing", NULL, NULL, 404, "not-supported", "$nothing" },
    { "GET", "$nothing", NULL, NULL, 404, "not-supported", "$nothing" },
    { "GET", "Patient/$lastn", NULL, NULL, 404, "not-supported", "$lastn" },
    { "GET", "Observation/o1/$lastn", NULL, NULL, 404, "not-supported", "$lastn" },
    { "GET", "Observation/$lastn", NULL, NULL, 501, "not-supported", "$lastn" },
    { "POST", "$closure", "application/fhir+json", "{\"resourceType\":\"Parameters\"}", 501,
      "not-supported", "$closure" },
    { "GET", "Patient/p1/$meta-add", NULL, NULL, 405, "not-supported", "meta-add" },
    { "GET", "Patient/$meta-add", NULL, NULL, 404, "not-supported", "$meta-add" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *url = url_for (f, cases[i].path);
      g_autoptr(Response) r = send_on (f->session, cases[i].method, url, cases[i].content_type,
                                       cases[i].body, NULL);

      g_test_message ("%s %s", cases[i].method, cases[i].path);
      g_assert_cmpuint (r->status, ==, cases[i].status);
      assert_outcome (r, cases[i].code, cases[i].text);
      if (cases[i].status == 405)
        g_assert_nonnull (header (r, "Allow"));
    }
  /* nothing was written */
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 0);

  /* outside the base: 404, still an OperationOutcome */
  {
    g_autofree char *root = g_strdup_printf ("http://127.0.0.1:%u/other",
                                             charta_server_get_port (f->server));
    g_autoptr(Response) r = send_on (f->session, "GET", root, NULL, NULL, NULL);

    g_assert_cmpuint (r->status, ==, 404);
    assert_outcome (r, "not-found", "/fhir");
  }
}

/* ---- tests: conditional interactions and preconditions ------------------------------------- */

#define MRN "http://example.org/mrn"

static void
test_conditional_create (Fixture       *f,
                         gconstpointer  data)
{
  const char *body = "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"" MRN "\","
                     "\"value\":\"100\"}]}";
  g_autoptr(Response) first = NULL;
  g_autoptr(Response) second = NULL;
  g_autoptr(Response) many = NULL;
  g_autoptr(Response) unknown = NULL;
  g_autofree char *id = NULL;

  /* none matches: created */
  first = fetch (f, "POST", "Patient", body, "If-None-Exist", "identifier=" MRN "|100", NULL);
  g_assert_cmpuint (first->status, ==, 201);
  id = location_id (header (first, "Location"));
  /* one matches: 200 with that one, nothing created */
  second = fetch (f, "POST", "Patient", body, "If-None-Exist", "identifier=" MRN "|100", NULL);
  g_assert_cmpuint (second->status, ==, 200);
  g_assert_cmpstr (member_string (body_object (second), "id"), ==, id);
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 1);

  /* two match (a second 100 written directly): 412 */
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"dup\",\"identifier\":[{\"system\":\"" MRN "\","
          "\"value\":\"100\"}]}");
  many = fetch (f, "POST", "Patient", body, "If-None-Exist", "identifier=" MRN "|100", NULL);
  g_assert_cmpuint (many->status, ==, 412);
  assert_outcome (many, "conflict", "more than one");
  /* an unknown parameter in the criteria is refused, never ignored */
  unknown = fetch (f, "POST", "Patient", body, "If-None-Exist", "foo=1", NULL);
  g_assert_cmpuint (unknown->status, ==, 400);
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 2);
}

/* Conditional creates of the same identifier from 8 threads at once, each on its own session,
 * released together, half of them as the one entry of a transaction (ifNoneExist): exactly one
 * creates (201), the 7 others find it (200, the same id). */
#define N_RACERS 8
#define RACE_PATIENT "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"" MRN "\"," \
                     "\"value\":\"race\"}]}"

typedef struct
{
  Fixture  *f;
  GMutex    lock;
  GCond     cond;
  unsigned  n_ready;
  gboolean  go;
  unsigned  status[N_RACERS];
  char     *id[N_RACERS];
} Race;

typedef struct
{
  Race     *race;
  unsigned  index;
} Racer;

static gpointer
race_create (gpointer data)
{
  Racer *racer = data;
  Race *race = racer->race;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = url_for (race->f, "Patient");
  g_autofree char *metadata = url_for (race->f, "metadata");
  g_autofree char *base = url_for (race->f, "");
  g_autoptr(Response) warm = NULL;
  g_autoptr(Response) r = NULL;

  /* a connection of its own first, so that the creates start together */
  warm = send_on (session, "GET", metadata, NULL, NULL, NULL);
  g_mutex_lock (&race->lock);
  race->n_ready++;
  g_cond_broadcast (&race->cond);
  while (!race->go)
    g_cond_wait (&race->cond, &race->lock);
  g_mutex_unlock (&race->lock);
  if (racer->index % 2 == 0)
    {
      r = send_on (session, "POST", url, "application/fhir+json", RACE_PATIENT,
                   "If-None-Exist", "identifier=" MRN "|race", NULL);
      race->status[racer->index] = r->status;
      if (r->json != NULL && r->status < 300)
        race->id[racer->index] = g_strdup (member_string (body_object (r), "id"));
    }
  else
    {
      JsonObject *entry, *response;
      const char *status;

      r = send_on (session, "POST", base, "application/fhir+json",
                   "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{"
                   "\"resource\":" RACE_PATIENT ",\"request\":{\"method\":\"POST\","
                   "\"url\":\"Patient\",\"ifNoneExist\":\"identifier=" MRN "|race\"}}]}", NULL);
      if (r->status != 200 || r->json == NULL)
        return NULL;
      /* the entry's response: "201 Created" or "200 OK", and where */
      entry = json_array_get_object_element (json_object_get_array_member (body_object (r),
                                                                           "entry"), 0);
      response = json_object_get_object_member (entry, "response");
      status = member_string (response, "status");
      race->status[racer->index] = status != NULL
                                   ? (unsigned) g_ascii_strtoull (status, NULL, 10) : 0;
      race->id[racer->index] = location_id (member_string (response, "location"));
    }
  return NULL;
}

static void
test_conditional_create_race (Fixture       *f,
                              gconstpointer  data)
{
  Race race = { f };
  Racer racers[N_RACERS];
  GThread *threads[N_RACERS];
  unsigned n_created = 0, n_found = 0;
  const char *created_id = NULL;

  g_mutex_init (&race.lock);
  g_cond_init (&race.cond);
  for (unsigned i = 0; i < N_RACERS; i++)
    {
      racers[i] = (Racer) { &race, i };
      threads[i] = g_thread_new ("racer", race_create, &racers[i]);
    }
  g_mutex_lock (&race.lock);
  while (race.n_ready < N_RACERS)
    g_cond_wait (&race.cond, &race.lock);
  race.go = TRUE;
  g_cond_broadcast (&race.cond);
  g_mutex_unlock (&race.lock);
  for (unsigned i = 0; i < N_RACERS; i++)
    g_thread_join (threads[i]);

  /* by hand: one 201, and N_RACERS - 1 answers 200 naming the one created */
  for (unsigned i = 0; i < N_RACERS; i++)
    if (race.status[i] == 201)
      {
        n_created++;
        created_id = race.id[i];
      }
  g_assert_cmpuint (n_created, ==, 1);
  g_assert_nonnull (created_id);
  for (unsigned i = 0; i < N_RACERS; i++)
    if (race.status[i] == 200)
      {
        g_assert_cmpstr (race.id[i], ==, created_id);
        n_found++;
      }
  g_assert_cmpuint (n_found, ==, N_RACERS - 1);
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 1);
  for (unsigned i = 0; i < N_RACERS; i++)
    g_free (race.id[i]);
  g_mutex_clear (&race.lock);
  g_cond_clear (&race.cond);
}

static void
test_conditional_update_delete (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(Response) one = NULL;
  g_autoptr(Response) none = NULL;
  g_autoptr(Response) many = NULL;
  g_autoptr(Response) wrong_id = NULL;
  g_autoptr(Response) del_none = NULL;
  g_autoptr(Response) del_many = NULL;
  g_autoptr(Response) del_one = NULL;
  g_autoptr(Response) gone = NULL;
  g_autoptr(Response) no_criteria = NULL;
  g_autofree char *created_id = NULL;

  /* a: MRN 1; b and c: MRN 2 */
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"a\",\"identifier\":[{\"system\":\"" MRN "\","
          "\"value\":\"1\"}]}");
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"b\",\"identifier\":[{\"system\":\"" MRN "\","
          "\"value\":\"2\"}]}");
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"c\",\"identifier\":[{\"system\":\"" MRN "\","
          "\"value\":\"2\"}]}");

  /* one match (a): updated, no id needed in the body */
  one = fetch (f, "PUT", "Patient?identifier=" MRN "%7C1",
               "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"" MRN "\","
               "\"value\":\"1\"}],\"gender\":\"male\"}", NULL);
  g_assert_cmpuint (one->status, ==, 200);
  g_assert_cmpstr (member_string (body_object (one), "id"), ==, "a");
  g_assert_cmpstr (header (one, "ETag"), ==, "W/\"2\"");
  /* a body id that is not the match's: 400 */
  wrong_id = fetch (f, "PUT", "Patient?identifier=" MRN "%7C1",
                    "{\"resourceType\":\"Patient\",\"id\":\"zz\"}", NULL);
  g_assert_cmpuint (wrong_id->status, ==, 400);
  /* no match, no id: created (201, a new id) */
  none = fetch (f, "PUT", "Patient?identifier=" MRN "%7C3",
                "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"" MRN "\","
                "\"value\":\"3\"}]}", NULL);
  g_assert_cmpuint (none->status, ==, 201);
  created_id = location_id (header (none, "Location"));
  g_assert_cmpstr (created_id, !=, "a");
  /* two matches (b, c): 412 */
  many = fetch (f, "PUT", "Patient?identifier=" MRN "%7C2", "{\"resourceType\":\"Patient\"}",
                NULL);
  g_assert_cmpuint (many->status, ==, 412);
  /* no criteria at all: 400 */
  no_criteria = fetch (f, "PUT", "Patient", "{\"resourceType\":\"Patient\"}", NULL);
  g_assert_cmpuint (no_criteria->status, ==, 400);
  /* a, b, c and the created one */
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 4);

  /* conditional delete: none 404, several 412, one deleted */
  del_none = fetch (f, "DELETE", "Patient?identifier=" MRN "%7C9", NULL, NULL);
  g_assert_cmpuint (del_none->status, ==, 404);
  del_many = fetch (f, "DELETE", "Patient?identifier=" MRN "%7C2", NULL, NULL);
  g_assert_cmpuint (del_many->status, ==, 412);
  del_one = fetch (f, "DELETE", "Patient?identifier=" MRN "%7C1", NULL, NULL);
  g_assert_cmpuint (del_one->status, ==, 200);
  gone = fetch (f, "GET", "Patient/a", NULL, NULL);
  g_assert_cmpuint (gone->status, ==, 410);
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 3);
}

static void
test_if_match (Fixture       *f,
               gconstpointer  data)
{
  const char *v2 = "{\"resourceType\":\"Patient\",\"id\":\"m\",\"gender\":\"male\"}";
  const char *v3 = "{\"resourceType\":\"Patient\",\"id\":\"m\",\"gender\":\"female\"}";
  g_autoptr(Response) stale = NULL;
  g_autoptr(Response) fresh = NULL;
  g_autoptr(Response) malformed = NULL;
  g_autoptr(Response) stale_delete = NULL;
  g_autoptr(Response) good_delete = NULL;

  put (f, "{\"resourceType\":\"Patient\",\"id\":\"m\"}");
  put (f, v2);
  /* current version 2: If-Match 1 fails, If-Match 2 makes version 3 */
  stale = fetch (f, "PUT", "Patient/m", v3, "If-Match", "W/\"1\"", NULL);
  g_assert_cmpuint (stale->status, ==, 412);
  assert_outcome (stale, "conflict", NULL);
  fresh = fetch (f, "PUT", "Patient/m", v3, "If-Match", "W/\"2\"", NULL);
  g_assert_cmpuint (fresh->status, ==, 200);
  g_assert_cmpstr (header (fresh, "ETag"), ==, "W/\"3\"");
  malformed = fetch (f, "PUT", "Patient/m", v3, "If-Match", "yesterday", NULL);
  g_assert_cmpuint (malformed->status, ==, 400);
  stale_delete = fetch (f, "DELETE", "Patient/m", NULL, "If-Match", "W/\"2\"", NULL);
  g_assert_cmpuint (stale_delete->status, ==, 412);
  good_delete = fetch (f, "DELETE", "Patient/m", NULL, "If-Match", "\"3\"", NULL);
  g_assert_cmpuint (good_delete->status, ==, 200);
  g_assert_cmpstr (header (good_delete, "ETag"), ==, "W/\"4\"");
}

static void
test_read_conditional (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(Response) read = NULL;
  g_autoptr(Response) same = NULL;
  g_autoptr(Response) other = NULL;
  g_autoptr(Response) since_same = NULL;
  g_autoptr(Response) since_before = NULL;
  g_autoptr(Response) vread = NULL;
  g_autoptr(GDateTime) last_modified = NULL;
  g_autoptr(GDateTime) day_before = NULL;
  g_autofree char *day_before_text = NULL;

  put (f, "{\"resourceType\":\"Patient\",\"id\":\"r\"}");
  read = fetch (f, "GET", "Patient/r", NULL, NULL);
  g_assert_cmpuint (read->status, ==, 200);

  /* the client's copy is version 1, current: 304 without a body */
  same = fetch (f, "GET", "Patient/r", NULL, "If-None-Match", "W/\"1\"", NULL);
  g_assert_cmpuint (same->status, ==, 304);
  g_assert_cmpuint (g_bytes_get_size (same->body), ==, 0);
  g_assert_cmpstr (header (same, "ETag"), ==, "W/\"1\"");
  other = fetch (f, "GET", "Patient/r", NULL, "If-None-Match", "W/\"7\"", NULL);
  g_assert_cmpuint (other->status, ==, 200);

  /* If-Modified-Since the Last-Modified given: 304; a day earlier: 200 */
  since_same = fetch (f, "GET", "Patient/r", NULL, "If-Modified-Since",
                      header (read, "Last-Modified"), NULL);
  g_assert_cmpuint (since_same->status, ==, 304);
  last_modified = soup_date_time_new_from_http_string (header (read, "Last-Modified"));
  g_assert_nonnull (last_modified);
  day_before = g_date_time_add_days (last_modified, -1);
  day_before_text = soup_date_time_to_string (day_before, SOUP_DATE_HTTP);
  since_before = fetch (f, "GET", "Patient/r", NULL, "If-Modified-Since", day_before_text, NULL);
  g_assert_cmpuint (since_before->status, ==, 200);

  vread = fetch (f, "GET", "Patient/r/_history/1", NULL, "If-None-Match", "W/\"1\"", NULL);
  g_assert_cmpuint (vread->status, ==, 304);
}

/* ---- tests: search ------------------------------------------------------------------------ */

static void
put_search_data (Fixture *f)
{
  /* s1 Smith 1970, s2 Smith 1980, s3 Jones 1970, s4 Smithers 1990, s5 Brown 2000;
   * o1, o2 of s1; o3 of s3. */
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"s1\",\"name\":[{\"family\":\"Smith\"}],"
          "\"birthDate\":\"1970-01-01\"}");
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"s2\",\"name\":[{\"family\":\"Smith\"}],"
          "\"birthDate\":\"1980-01-01\"}");
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"s3\",\"name\":[{\"family\":\"Jones\"}],"
          "\"birthDate\":\"1970-06-01\"}");
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"s4\",\"name\":[{\"family\":\"Smithers\"}],"
          "\"birthDate\":\"1990-01-01\"}");
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"s5\",\"name\":[{\"family\":\"Brown\"}],"
          "\"birthDate\":\"2000-01-01\"}");
  for (unsigned i = 1; i <= 3; i++)
    {
      g_autofree char *json =
        g_strdup_printf ("{\"resourceType\":\"Observation\",\"id\":\"o%u\",\"status\":\"final\","
                         "\"code\":{\"text\":\"x\"},\"subject\":{\"reference\":\"Patient/%s\"}}",
                         i, i < 3 ? "s1" : "s3");

      put (f, json);
    }
}

static void
test_search (Fixture       *f,
             gconstpointer  data)
{
  struct
  {
    const char *path;
    const char *ids;
  } cases[] = {
    /* family is a string search: a case-insensitive prefix, so Smith finds Smithers */
    { "Patient?family=smith", "Patient/s1 Patient/s2 Patient/s4" },
    { "Patient?family:exact=Smith", "Patient/s1 Patient/s2" },
    { "Patient?birthdate=1970", "Patient/s1 Patient/s3" },
    { "Patient?family=smith&birthdate=lt1985", "Patient/s1 Patient/s2" },
    /* the compartment of s1: its two observations */
    { "Patient/s1/Observation", "Observation/o1 Observation/o2" },
    /* the whole store, two types */
    { "?_type=Observation&_id=o3,s5", "Observation/o3" },
    { "?_id=o3,s5", "Observation/o3 Patient/s5" },
  };

  put_search_data (f);
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(Response) r = fetch (f, "GET", cases[i].path, NULL, NULL);
      g_autofree char *ids = NULL;

      g_test_message ("GET %s", cases[i].path);
      g_assert_cmpuint (r->status, ==, 200);
      ids = bundle_ids (r, "match");
      g_assert_cmpstr (ids, ==, cases[i].ids);
      g_assert_cmpstr (member_string (body_object (r), "type"), ==, "searchset");
      g_assert_true (g_str_has_prefix (bundle_link (r, "self"), f->base));
    }

  /* no match: a Bundle with total 0 and no entry (FHIR JSON has no empty arrays) */
  {
    g_autoptr(Response) r = fetch (f, "GET", "Patient?family=nobody&_total=accurate", NULL,
                                   NULL);

    g_assert_cmpuint (r->status, ==, 200);
    g_assert_cmpint (bundle_total (r), ==, 0);
    g_assert_null (bundle_entries (r));
  }

  /* _total=accurate: the three of family=smith */
  {
    g_autoptr(Response) r = fetch (f, "GET", "Patient?family=smith&_total=accurate", NULL, NULL);

    g_assert_cmpuint (r->status, ==, 200);
    g_assert_cmpint (bundle_total (r), ==, 3);
  }

  /* POST _search with a form body: the same answer as GET */
  {
    g_autofree char *url = url_for (f, "Patient/_search");
    g_autoptr(Response) r = send_on (f->session, "POST", url,
                                     "application/x-www-form-urlencoded",
                                     "family=smith&birthdate=lt1985", NULL);
    g_autofree char *ids = NULL;

    g_assert_cmpuint (r->status, ==, 200);
    ids = bundle_ids (r, "match");
    g_assert_cmpstr (ids, ==, "Patient/s1 Patient/s2");
  }
  /* the URL's parameters and the body's together */
  {
    g_autofree char *url = url_for (f, "Patient/_search?birthdate=lt1985");
    g_autoptr(Response) r = send_on (f->session, "POST", url,
                                     "application/x-www-form-urlencoded", "family=smith", NULL);
    g_autofree char *ids = NULL;

    g_assert_cmpuint (r->status, ==, 200);
    ids = bundle_ids (r, "match");
    g_assert_cmpstr (ids, ==, "Patient/s1 Patient/s2");
  }
  /* a body that is not a form: 415 */
  {
    g_autoptr(Response) r = fetch (f, "POST", "Patient/_search", "{\"family\":\"smith\"}", NULL);

    g_assert_cmpuint (r->status, ==, 415);
    assert_outcome (r, "not-supported", NULL);
  }
}

static void
test_search_paging (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *url = url_for (f, "Patient?_count=2");
  unsigned pages = 0;

  /* five patients, two a page: pages of 2, 2 and 1, each match seen once */
  put_search_data (f);
  while (url != NULL)
    {
      g_autoptr(Response) r = send_on (f->session, "GET", url, NULL, NULL, NULL);
      JsonArray *entries;
      const char *next;

      g_assert_cmpuint (r->status, ==, 200);
      entries = bundle_entries (r);
      pages++;
      g_assert_cmpuint (json_array_get_length (entries), ==, pages < 3 ? 2 : 1);
      for (unsigned i = 0; i < json_array_get_length (entries); i++)
        {
          JsonObject *resource =
            json_object_get_object_member (json_array_get_object_element (entries, i),
                                           "resource");

          g_assert_true (g_hash_table_add (seen, g_strdup (member_string (resource, "id"))));
        }
      next = bundle_link (r, "next");
      g_clear_pointer (&url, g_free);
      if (next != NULL)
        {
          /* absolute, on this server, carrying the query */
          g_assert_true (g_str_has_prefix (next, f->base));
          charta_test_assert_contains (next, "_count=2");
          charta_test_assert_contains (next, "_cursor=");
          url = g_strdup (next);
        }
      g_assert_cmpuint (pages, <=, 3);
    }
  g_assert_cmpuint (pages, ==, 3);
  g_assert_cmpuint (g_hash_table_size (seen), ==, 5);
}

static void
test_search_unknown (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(Response) lenient = NULL;
  g_autoptr(Response) strict = NULL;
  g_autoptr(Response) malformed = NULL;
  g_autoptr(Response) timeline = NULL;
  g_autofree char *ids = NULL;
  g_autofree char *outcome = NULL;

  put_search_data (f);
  /* an unknown parameter is ignored (so all five match) and named in an outcome entry */
  lenient = fetch (f, "GET", "Patient?colour=blue", NULL, NULL);
  g_assert_cmpuint (lenient->status, ==, 200);
  ids = bundle_ids (lenient, "match");
  g_assert_cmpstr (ids, ==, "Patient/s1 Patient/s2 Patient/s3 Patient/s4 Patient/s5");
  outcome = bundle_ids (lenient, "outcome");
  charta_test_assert_contains (outcome, "OperationOutcome/");
  {
    g_autofree char *text = g_strndup (g_bytes_get_data (lenient->body, NULL),
                                       g_bytes_get_size (lenient->body));

    charta_test_assert_contains (text, "colour");
  }
  /* Prefer: handling=strict makes it an error */
  strict = fetch (f, "GET", "Patient?colour=blue", NULL, "Prefer", "handling=strict", NULL);
  g_assert_cmpuint (strict->status, ==, 400);
  assert_outcome (strict, "not-supported", "colour");
  /* a malformed value: 400 naming the parameter */
  malformed = fetch (f, "GET", "Patient?birthdate=19xx", NULL, NULL);
  g_assert_cmpuint (malformed->status, ==, 400);
  assert_outcome (malformed, "invalid", "birthdate");
  /* an unsupported parameter type (near is special) */
  timeline = fetch (f, "GET", "Location?near=1", NULL, NULL);
  g_assert_cmpuint (timeline->status, ==, 400);
  assert_outcome (timeline, "not-supported", "near");
}

/* ---- tests: history ----------------------------------------------------------------------- */

static const char *
entry_method (JsonArray *entries,
              unsigned   i)
{
  JsonObject *entry = json_array_get_object_element (entries, i);

  return member_string (json_object_get_object_member (entry, "request"), "method");
}

static void
test_history (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(Response) instance = NULL;
  g_autoptr(Response) type = NULL;
  g_autoptr(Response) system = NULL;
  g_autoptr(Response) page = NULL;
  g_autoptr(Response) page2 = NULL;
  g_autoptr(Response) future = NULL;
  g_autoptr(Response) bad = NULL;
  g_autoptr(Response) unknown = NULL;
  g_autoptr(ChartaResource) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(Response) created = NULL;
  g_autoptr(Response) updated = NULL;
  g_autoptr(Response) deleted = NULL;
  JsonArray *entries;
  JsonObject *response;

  /* h: created, updated, deleted (through HTTP); g: created (directly) */
  created = fetch (f, "PUT", "Patient/h", "{\"resourceType\":\"Patient\",\"id\":\"h\"}", NULL);
  updated = fetch (f, "PUT", "Patient/h",
                   "{\"resourceType\":\"Patient\",\"id\":\"h\",\"active\":true}", NULL);
  deleted = fetch (f, "DELETE", "Patient/h", NULL, NULL);
  g_assert_cmpuint (deleted->status, ==, 200);
  put (f, "{\"resourceType\":\"Group\",\"id\":\"g\",\"type\":\"person\",\"actual\":true}");

  /* instance: newest first DELETE, PUT, PUT (an update-as-create is the PUT it was, with its
   * url; its response says it created) */
  instance = fetch (f, "GET", "Patient/h/_history", NULL, NULL);
  g_assert_cmpuint (instance->status, ==, 200);
  g_assert_cmpstr (member_string (body_object (instance), "type"), ==, "history");
  entries = bundle_entries (instance);
  g_assert_cmpuint (json_array_get_length (entries), ==, 3);
  g_assert_cmpstr (entry_method (entries, 0), ==, "DELETE");
  g_assert_cmpstr (entry_method (entries, 1), ==, "PUT");
  g_assert_cmpstr (entry_method (entries, 2), ==, "PUT");
  g_assert_cmpstr (member_string (json_object_get_object_member (
                     json_array_get_object_element (entries, 2), "request"), "url"), ==,
                   "Patient/h");
  g_assert_cmpstr (member_string (json_object_get_object_member (
                     json_array_get_object_element (entries, 2), "response"), "status"), ==,
                   "201 Created");
  g_assert_false (json_object_has_member (json_array_get_object_element (entries, 0),
                                          "resource"));
  response = json_object_get_object_member (json_array_get_object_element (entries, 1),
                                            "response");
  g_assert_cmpstr (member_string (response, "etag"), ==, "W/\"2\"");
  /* a valid R4 Bundle */
  parsed = charta_resource_new_from_bytes (instance->body, NULL, &error);
  g_assert_no_error (error);
  charta_validate (parsed, &error);
  g_assert_no_error (error);

  /* type: the three Patient versions; system: those and the Group (Provenance too) */
  type = fetch (f, "GET", "Patient/_history", NULL, NULL);
  g_assert_cmpuint (type->status, ==, 200);
  g_assert_cmpuint (json_array_get_length (bundle_entries (type)), ==, 3);
  system = fetch (f, "GET", "_history?_count=1000", NULL, NULL);
  g_assert_cmpuint (system->status, ==, 200);
  {
    g_autofree char *ids = bundle_ids (system, NULL);

    charta_test_assert_contains (ids, "Group/g");
    charta_test_assert_contains (ids, "Patient/h");
  }

  /* paging: one a page, next carries _count and _cursor */
  page = fetch (f, "GET", "Patient/h/_history?_count=1", NULL, NULL);
  g_assert_cmpuint (json_array_get_length (bundle_entries (page)), ==, 1);
  g_assert_cmpstr (entry_method (bundle_entries (page), 0), ==, "DELETE");
  g_assert_nonnull (bundle_link (page, "next"));
  charta_test_assert_contains (bundle_link (page, "next"), "_count=1");
  page2 = send_on (f->session, "GET", bundle_link (page, "next"), NULL, NULL, NULL);
  g_assert_cmpuint (page2->status, ==, 200);
  g_assert_cmpuint (json_array_get_length (bundle_entries (page2)), ==, 1);
  g_assert_cmpstr (entry_method (bundle_entries (page2), 0), ==, "PUT");

  /* _at the instant of version 1 (lastModified has all six digits: one microsecond): the
   * version current then, 1 alone */
  {
    JsonObject *v1 = json_object_get_object_member (json_array_get_object_element (entries, 2),
                                                    "response");
    g_autofree char *at = g_strdup_printf ("Patient/h/_history?_at=%s",
                                           member_string (v1, "lastModified"));
    g_autoptr(Response) then = fetch (f, "GET", at, NULL, NULL);

    g_assert_cmpuint (then->status, ==, 200);
    g_assert_cmpuint (json_array_get_length (bundle_entries (then)), ==, 1);
    g_assert_cmpstr (entry_method (bundle_entries (then), 0), ==, "PUT");
  }

  /* _since in the future: nothing (and no empty entry array) */
  future = fetch (f, "GET", "Patient/h/_history?_since=2999-01-01", NULL, NULL);
  g_assert_cmpuint (future->status, ==, 200);
  g_assert_null (bundle_entries (future));
  g_assert_nonnull (bundle_link (future, "self"));
  bad = fetch (f, "GET", "Patient/h/_history?_since=soon", NULL, NULL);
  g_assert_cmpuint (bad->status, ==, 400);
  assert_outcome (bad, "invalid", "_since");
  unknown = fetch (f, "GET", "Patient/nobody/_history", NULL, NULL);
  g_assert_cmpuint (unknown->status, ==, 404);

  /* a cursor that is none is a wrong URL: 400, as for a search (not 422) */
  {
    g_autoptr(Response) system_cursor = fetch (f, "GET", "_history?_cursor=%27garbage", NULL,
                                               NULL);
    g_autoptr(Response) type_cursor = fetch (f, "GET", "Patient/_history?_cursor=x1.AAAA", NULL,
                                             NULL);

    g_assert_cmpuint (system_cursor->status, ==, 400);
    assert_outcome (system_cursor, "invalid", "cursor");
    g_assert_cmpuint (type_cursor->status, ==, 400);
    assert_outcome (type_cursor, "invalid", "cursor");
  }
}

/* ---- tests: HTTP -------------------------------------------------------------------------- */

static void
test_formats (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(Response) xml = NULL;
  g_autoptr(Response) accept_xml = NULL;
  g_autoptr(Response) plain = NULL;
  g_autoptr(Response) format_plain = NULL;
  g_autoptr(Response) pretty = NULL;
  g_autoptr(Response) compact = NULL;
  g_autoptr(Response) summary = NULL;
  g_autoptr(Response) head = NULL;

  put (f, "{\"resourceType\":\"Patient\",\"id\":\"x\",\"name\":[{\"family\":\"Doe\"}],"
          "\"gender\":\"male\"}");
  xml = fetch (f, "GET", "Patient/x?_format=xml", NULL, NULL);
  g_assert_cmpuint (xml->status, ==, 406);
  assert_outcome (xml, "not-supported", "XML");
  accept_xml = fetch (f, "GET", "Patient/x", NULL, "Accept", "application/fhir+xml", NULL);
  g_assert_cmpuint (accept_xml->status, ==, 406);
  assert_outcome (accept_xml, "not-supported", "XML");

  plain = fetch (f, "GET", "Patient/x", NULL, "Accept", "application/json", NULL);
  g_assert_cmpuint (plain->status, ==, 200);
  g_assert_true (g_str_has_prefix (header (plain, "Content-Type"), "application/json"));
  format_plain = fetch (f, "GET", "Patient/x?_format=application/fhir%2Bjson", NULL,
                        "Accept", "application/fhir+xml", NULL);
  g_assert_cmpuint (format_plain->status, ==, 200);
  g_assert_true (g_str_has_prefix (header (format_plain, "Content-Type"),
                                   "application/fhir+json"));

  /* _pretty: indented, the same JSON */
  compact = fetch (f, "GET", "Patient/x", NULL, NULL);
  pretty = fetch (f, "GET", "Patient/x?_pretty=true", NULL, NULL);
  g_assert_cmpuint (pretty->status, ==, 200);
  g_assert_null (memchr (g_bytes_get_data (compact->body, NULL), '\n',
                         g_bytes_get_size (compact->body)));
  g_assert_nonnull (memchr (g_bytes_get_data (pretty->body, NULL), '\n',
                            g_bytes_get_size (pretty->body)));
  g_assert_true (charta_test_json_equal (compact->json, pretty->json, NULL));

  /* _elements on a read: only gender (and id, meta) stays */
  summary = fetch (f, "GET", "Patient/x?_elements=gender", NULL, NULL);
  g_assert_cmpuint (summary->status, ==, 200);
  g_assert_cmpstr (member_string (body_object (summary), "gender"), ==, "male");
  g_assert_false (json_object_has_member (body_object (summary), "name"));

  /* a search posted as a form: _format and _pretty in the body count as in the URL */
  {
    g_autofree char *url = url_for (f, "Patient/_search");
    g_autoptr(Response) form_xml = send_on (f->session, "POST", url,
                                            "application/x-www-form-urlencoded",
                                            "family=Doe&_format=xml", NULL);
    g_autoptr(Response) form_pretty = send_on (f->session, "POST", url,
                                               "application/x-www-form-urlencoded",
                                               "family=Doe&_pretty=true", NULL);

    g_assert_cmpuint (form_xml->status, ==, 406);
    assert_outcome (form_xml, "not-supported", "XML");
    g_assert_cmpuint (form_pretty->status, ==, 200);
    g_assert_cmpuint (json_array_get_length (bundle_entries (form_pretty)), ==, 1);
    g_assert_nonnull (memchr (g_bytes_get_data (form_pretty->body, NULL), '\n',
                              g_bytes_get_size (form_pretty->body)));
  }

  /* HEAD: the headers, no body */
  head = fetch (f, "HEAD", "Patient/x", NULL, NULL);
  g_assert_cmpuint (head->status, ==, 200);
  g_assert_cmpstr (header (head, "ETag"), ==, "W/\"1\"");
  g_assert_cmpuint (g_bytes_get_size (head->body), ==, 0);
}

static void
test_prefer (Fixture       *f,
             gconstpointer  data)
{
  const char *body = "{\"resourceType\":\"Patient\",\"gender\":\"other\"}";
  g_autoptr(Response) minimal = NULL;
  g_autoptr(Response) outcome = NULL;
  g_autoptr(Response) full = NULL;

  minimal = fetch (f, "POST", "Patient", body, "Prefer", "return=minimal", NULL);
  g_assert_cmpuint (minimal->status, ==, 201);
  g_assert_cmpuint (g_bytes_get_size (minimal->body), ==, 0);
  g_assert_nonnull (header (minimal, "Location"));
  outcome = fetch (f, "POST", "Patient", body, "Prefer", "return=OperationOutcome", NULL);
  g_assert_cmpuint (outcome->status, ==, 201);
  assert_outcome (outcome, "informational", "created");
  full = fetch (f, "POST", "Patient", body, "Prefer", "return=representation", NULL);
  g_assert_cmpuint (full->status, ==, 201);
  g_assert_cmpstr (resource_type_of (full), ==, "Patient");
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 3);
}

static GBytes *
gunzip (GBytes *bytes)
{
  g_autoptr(GZlibDecompressor) decompressor =
    g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr(GInputStream) memory = g_memory_input_stream_new_from_bytes (bytes);
  g_autoptr(GInputStream) in = g_converter_input_stream_new (memory,
                                                             G_CONVERTER (decompressor));
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr(GError) error = NULL;

  g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

static void
test_gzip (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(SoupSession) raw = soup_session_new ();
  g_autofree char *metadata = url_for (f, "metadata");
  g_autofree char *small = url_for (f, "Patient/z");
  g_autoptr(Response) plain = NULL;
  g_autoptr(Response) zipped = NULL;
  g_autoptr(Response) tiny = NULL;
  g_autoptr(Response) refused = NULL;
  g_autoptr(GBytes) unzipped = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  /* without the session's decoder, to see the bytes as sent */
  soup_session_remove_feature_by_type (raw, SOUP_TYPE_CONTENT_DECODER);
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"z\"}");

  plain = send_on (raw, "GET", metadata, NULL, NULL, NULL);
  g_assert_cmpuint (plain->status, ==, 200);
  g_assert_null (header (plain, "Content-Encoding"));
  zipped = send_on (raw, "GET", metadata, NULL, NULL, "Accept-Encoding", "gzip", NULL);
  g_assert_cmpuint (zipped->status, ==, 200);
  g_assert_cmpstr (header (zipped, "Content-Encoding"), ==, "gzip");
  charta_test_assert_contains (header (zipped, "Vary"), "Accept-Encoding");
  g_assert_cmpuint (g_bytes_get_size (zipped->body), <, g_bytes_get_size (plain->body) / 4);
  unzipped = gunzip (zipped->body);
  g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (unzipped, NULL),
                                             (gssize) g_bytes_get_size (unzipped), NULL));
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json_parser_get_root
                                                                          (parser)),
                                                  "resourceType"),
                   ==, "CapabilityStatement");
  /* gzip;q=0 refuses it */
  refused = send_on (raw, "GET", metadata, NULL, NULL, "Accept-Encoding", "gzip;q=0", NULL);
  g_assert_null (header (refused, "Content-Encoding"));
  /* a small body goes as it is */
  tiny = send_on (raw, "GET", small, NULL, NULL, "Accept-Encoding", "gzip", NULL);
  g_assert_cmpuint (tiny->status, ==, 200);
  g_assert_null (header (tiny, "Content-Encoding"));
}

static void
test_cors (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(Response) preflight = NULL;
  g_autoptr(Response) allowed = NULL;
  g_autoptr(Response) other = NULL;
  g_autoptr(Response) other_preflight = NULL;

  preflight = fetch (f, "OPTIONS", "Patient", NULL, "Origin", "https://app.example",
                     "Access-Control-Request-Method", "POST",
                     "Access-Control-Request-Headers", "content-type, x-provenance", NULL);
  g_assert_cmpuint (preflight->status, ==, 204);
  g_assert_cmpstr (header (preflight, "Access-Control-Allow-Origin"), ==,
                   "https://app.example");
  charta_test_assert_contains (header (preflight, "Access-Control-Allow-Methods"), "POST");
  charta_test_assert_contains (header (preflight, "Access-Control-Allow-Methods"), "PATCH");
  charta_test_assert_contains (header (preflight, "Access-Control-Allow-Headers"),
                               "X-Provenance");

  allowed = fetch (f, "GET", "metadata", NULL, "Origin", "https://app.example", NULL);
  g_assert_cmpuint (allowed->status, ==, 200);
  g_assert_cmpstr (header (allowed, "Access-Control-Allow-Origin"), ==, "https://app.example");
  charta_test_assert_contains (header (allowed, "Access-Control-Expose-Headers"), "ETag");

  /* OPTIONS without an Origin: what is allowed, and no CORS headers */
  {
    g_autoptr(Response) options = fetch (f, "OPTIONS", "Patient", NULL, NULL);

    g_assert_cmpuint (options->status, ==, 204);
    charta_test_assert_contains (header (options, "Allow"), "DELETE");
    g_assert_null (header (options, "Access-Control-Allow-Origin"));
  }

  /* an origin not configured gets nothing that would let a browser read the answer */
  other = fetch (f, "GET", "metadata", NULL, "Origin", "https://evil.example", NULL);
  g_assert_cmpuint (other->status, ==, 200);
  g_assert_null (header (other, "Access-Control-Allow-Origin"));
  other_preflight = fetch (f, "OPTIONS", "Patient", NULL, "Origin", "https://evil.example",
                           "Access-Control-Request-Method", "DELETE", NULL);
  g_assert_null (header (other_preflight, "Access-Control-Allow-Origin"));
}

static void
test_request_id (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(Response) given = NULL;
  g_autoptr(Response) made = NULL;
  g_autoptr(Response) made2 = NULL;
  g_autoptr(Response) hostile = NULL;
  g_autoptr(Response) error = NULL;

  given = fetch (f, "GET", "metadata", NULL, "X-Request-Id", "req-42.a", NULL);
  g_assert_cmpstr (header (given, "X-Request-Id"), ==, "req-42.a");
  /* errors carry it too */
  error = fetch (f, "GET", "Patient/none", NULL, "X-Request-Id", "req-43", NULL);
  g_assert_cmpuint (error->status, ==, 404);
  g_assert_cmpstr (header (error, "X-Request-Id"), ==, "req-43");
  /* none given, or one that is not a plain token: a new one each time */
  made = fetch (f, "GET", "metadata", NULL, NULL);
  made2 = fetch (f, "GET", "metadata", NULL, NULL);
  g_assert_nonnull (header (made, "X-Request-Id"));
  g_assert_cmpstr (header (made, "X-Request-Id"), !=, header (made2, "X-Request-Id"));
  hostile = fetch (f, "GET", "metadata", NULL, "X-Request-Id", "a b<script>", NULL);
  g_assert_cmpstr (header (hostile, "X-Request-Id"), !=, "a b<script>");
  g_assert_true (g_uuid_string_is_valid (header (hostile, "X-Request-Id")));
}

/* ---- tests: provenance -------------------------------------------------------------------- */

#define PROVENANCE_HEADER \
  "{\"resourceType\":\"Provenance\",\"target\":[{\"reference\":\"Patient/x\"}]," \
  "\"recorded\":\"2024-01-01T00:00:00Z\",\"agent\":[{\"who\":{\"reference\":" \
  "\"Practitioner/12\",\"display\":\"Dr Who\"}}],\"reason\":[{\"coding\":[{\"system\":" \
  "\"http://terminology.hl7.org/CodeSystem/v3-ActReason\",\"code\":\"TREAT\"}]," \
  "\"text\":\"chart correction\"}],\"activity\":{\"coding\":[{\"code\":\"amend\"}]}}"

static void
test_provenance (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(Response) created = NULL;
  g_autoptr(Response) search = NULL;
  g_autoptr(Response) bad = NULL;
  g_autoptr(ChartaResource) provenance = NULL;
  g_autofree char *id = NULL;
  g_autofree char *path = NULL;
  g_autofree char *ids = NULL;
  g_autofree char *target = NULL;
  JsonArray *entries;
  JsonObject *found = NULL;
  JsonObject *root, *who;

  created = fetch (f, "POST", "Patient", "{\"resourceType\":\"Patient\"}",
                   "X-Provenance", PROVENANCE_HEADER, NULL);
  g_assert_cmpuint (created->status, ==, 201);
  id = location_id (header (created, "Location"));

  /* the store's own Provenance of version 1 carries the header's agent, reason, activity */
  provenance = charta_test_store_provenance_of (f->st.store, "Patient", id, 1);
  root = charta_resource_get_object (provenance);
  who = json_object_get_object_member (json_array_get_object_element (
                                         json_object_get_array_member (root, "agent"), 0),
                                       "who");
  g_assert_cmpstr (member_string (who, "display"), ==, "Dr Who");
  g_assert_cmpstr (member_string (who, "reference"), ==, "Practitioner/12");
  target = g_strdup_printf ("Patient/%s/_history/1", id);
  g_assert_true (charta_test_provenance_targets (provenance, target));

  /* and a search finds it with _revinclude=Provenance:target */
  path = g_strdup_printf ("Patient?_id=%s&_revinclude=Provenance:target", id);
  search = fetch (f, "GET", path, NULL, NULL);
  g_assert_cmpuint (search->status, ==, 200);
  entries = bundle_entries (search);
  for (unsigned i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *resource =
        json_object_get_object_member (json_array_get_object_element (entries, i), "resource");

      if (g_strcmp0 (member_string (resource, "resourceType"), "Provenance") == 0)
        found = resource;
    }
  g_assert_nonnull (found);
  {
    JsonObject *reason = json_array_get_object_element (json_object_get_array_member (found,
                                                                                      "reason"),
                                                        0);
    JsonObject *activity = json_object_get_object_member (found, "activity");
    JsonObject *coding = json_array_get_object_element (
      json_object_get_array_member (activity, "coding"), 0);

    g_assert_cmpstr (member_string (reason, "text"), ==, "chart correction");
    g_assert_cmpstr (member_string (coding, "code"), ==, "amend");
  }

  /* a header that is not a Provenance: 400, nothing written */
  bad = fetch (f, "POST", "Patient", "{\"resourceType\":\"Patient\"}",
               "X-Provenance", "{\"resourceType\":\"Patient\"}", NULL);
  g_assert_cmpuint (bad->status, ==, 400);
  assert_outcome (bad, "invalid", "X-Provenance");
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 1);
  ids = bundle_ids (search, "match");
  g_free (path);
  path = g_strdup_printf ("Patient/%s", id);
  g_assert_cmpstr (ids, ==, path);
}

/* ---- tests: patch ------------------------------------------------------------------------- */

#define JSON_PATCH "application/json-patch+json"

/* PATCH [base]/@path with @body of type @content_type, and the headers that follow. */
static Response *
patch (Fixture    *f,
       const char *path,
       const char *content_type,
       const char *body,
       ...)
{
  g_autofree char *url = url_for (f, path);
  va_list args;
  Response *r;

  va_start (args, body);
  r = send_va (f->session, "PATCH", url, content_type, body, args);
  va_end (args);
  return r;
}

#define PJ_PATIENT \
  "{\"resourceType\":\"Patient\",\"id\":\"pj\",\"name\":[{\"family\":\"Chalmers\"}]," \
  "\"gender\":\"male\",\"birthDate\":\"1970-01-01\"}"

static void
test_patch_json (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(Response) r = NULL;
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(JsonNode) stored_node = NULL;
  g_autofree char *location = NULL;
  g_autofree char *gender = NULL;
  JsonObject *body, *name;

  put (f, PJ_PATIENT);

  /* two operations, one new version: birthDate replaced, a given name added to name[0] */
  r = patch (f, "Patient/pj", JSON_PATCH,
             "[{\"op\":\"replace\",\"path\":\"/birthDate\",\"value\":\"1971-02-03\"},"
             "{\"op\":\"add\",\"path\":\"/name/0/given\",\"value\":[\"Peter\"]}]", NULL);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (header (r, "ETag"), ==, "W/\"2\"");
  location = g_strdup_printf ("%s/Patient/pj/_history/2", f->base);
  g_assert_cmpstr (header (r, "Location"), ==, location);
  g_assert_nonnull (header (r, "Last-Modified"));
  body = body_object (r);
  g_assert_cmpstr (member_string (body, "birthDate"), ==, "1971-02-03");
  g_assert_cmpstr (member_string (json_object_get_object_member (body, "meta"), "versionId"), ==,
                   "2");
  name = json_array_get_object_element (json_object_get_array_member (body, "name"), 0);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (name, "given"),
                                                  0), ==, "Peter");
  g_assert_cmpstr (member_string (name, "family"), ==, "Chalmers");
  /* the response is what the store now holds */
  g_assert_cmpint (stored_version (f, "Patient", "pj"), ==, 2);
  stored = stored_resource (f, "Patient", "pj");
  stored_node = json_node_init_object (json_node_alloc (), charta_resource_get_object (stored));
  g_assert_true (charta_test_json_equal (stored_node, r->json, NULL));
  g_clear_pointer (&r, response_free);

  /* a failed test: 422 naming the operation, its path and the value; nothing written, the
   * replace after it not applied either */
  r = patch (f, "Patient/pj", JSON_PATCH,
             "[{\"op\":\"test\",\"path\":\"/gender\",\"value\":\"female\"},"
             "{\"op\":\"replace\",\"path\":\"/gender\",\"value\":\"female\"}]", NULL);
  g_assert_cmpuint (r->status, ==, 422);
  assert_outcome (r, "processing", "operation 0 (test)");
  assert_outcome (r, "processing", "/gender");
  assert_outcome (r, "processing", "female");
  g_assert_cmpint (stored_version (f, "Patient", "pj"), ==, 2);
  gender = stored_string (f, "Patient", "pj", "gender");
  g_assert_cmpstr (gender, ==, "male");
  g_clear_pointer (&r, response_free);

  /* operations that cannot be applied to this resource: 422 */
  {
    struct
    {
      const char *patch;
      const char *text;
    } cases[] = {
      /* name has one element: there is no /name/5 */
      { "[{\"op\":\"remove\",\"path\":\"/name/5\"}]", "/name/5" },
      /* a patch may not change the id */
      { "[{\"op\":\"replace\",\"path\":\"/id\",\"value\":\"other\"}]", "id" },
      /* the first applies, the second has nothing to move */
      { "[{\"op\":\"add\",\"path\":\"/active\",\"value\":true},"
        "{\"op\":\"move\",\"from\":\"/deceasedBoolean\",\"path\":\"/x\"}]", "operation 1" },
      /* the first fails to apply; the second is malformed (no path) but never reached: the
       * patch failed on this resource, so 422 */
      { "[{\"op\":\"remove\",\"path\":\"/telecom\"},{\"op\":\"remove\"}]", "/telecom" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr(Response) c = patch (f, "Patient/pj", JSON_PATCH, cases[i].patch, NULL);

        g_test_message ("unprocessable case %zu", i);
        g_assert_cmpuint (c->status, ==, 422);
        assert_outcome (c, "processing", cases[i].text);
      }
  }

  /* a result that does not validate (gender has no code "x"): 422 naming the element */
  r = patch (f, "Patient/pj", JSON_PATCH,
             "[{\"op\":\"replace\",\"path\":\"/gender\",\"value\":\"x\"}]", NULL);
  g_assert_cmpuint (r->status, ==, 422);
  assert_outcome (r, "invalid", "gender");
  g_clear_pointer (&r, response_free);

  /* documents that are no JSON Patch: 400 */
  {
    struct
    {
      const char *patch;
      const char *code;
    } cases[] = {
      { "[{\"op\":\"jump\",\"path\":\"/gender\"}]", "invalid" },          /* unknown op */
      { "{\"op\":\"remove\",\"path\":\"/gender\"}", "invalid" },          /* not an array */
      { "[{\"op\":\"remove\",\"path\":\"gender\"}]", "invalid" },         /* no leading '/' */
      { "[{\"op\":\"remove\",\"path\":\"/a~2b\"}]", "invalid" },          /* '~' then 2 */
      { "[{\"op\":\"add\",\"path\":\"/active\"}]", "invalid" },           /* add without value */
      { "[{\"path\":\"/active\",\"value\":true}]", "invalid" },           /* no op */
      /* the first would apply; the second is no operation */
      { "[{\"op\":\"add\",\"path\":\"/active\",\"value\":true},{\"op\":\"copy\","
        "\"path\":\"/x\"}]", "invalid" },
      { "[{\"op\":", "structure" },                                     /* not JSON */
    };

    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr(Response) c = patch (f, "Patient/pj", JSON_PATCH, cases[i].patch, NULL);

        g_test_message ("malformed case %zu", i);
        g_assert_cmpuint (c->status, ==, 400);
        assert_outcome (c, cases[i].code, NULL);
      }
  }
  /* none of these wrote anything */
  g_assert_cmpint (stored_version (f, "Patient", "pj"), ==, 2);

  /* a patch that changes nothing makes no version: 200 with version 2 */
  r = patch (f, "Patient/pj", JSON_PATCH,
             "[{\"op\":\"test\",\"path\":\"/gender\",\"value\":\"male\"}]", NULL);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (header (r, "ETag"), ==, "W/\"2\"");
  g_assert_cmpstr (member_string (body_object (r), "gender"), ==, "male");
  g_assert_cmpint (stored_version (f, "Patient", "pj"), ==, 2);
}

static void
test_patch_requests (Fixture       *f,
                     gconstpointer  data)
{
  const char *to_female = "[{\"op\":\"replace\",\"path\":\"/gender\",\"value\":\"female\"}]";
  const char *to_other = "[{\"op\":\"replace\",\"path\":\"/gender\",\"value\":\"other\"}]";
  g_autoptr(Response) r = NULL;
  g_autoptr(ChartaResource) provenance = NULL;
  g_autofree char *gender = NULL;
  JsonObject *root, *who, *coding;

  put (f, PJ_PATIENT);

  /* Content-Type: 415 for what is no patch type, and none with a body; 400 for no body and
   * for FHIR JSON that is no Parameters */
  {
    struct
    {
      const char *content_type;
      const char *body;
      unsigned status;
      const char *code;
    } cases[] = {
      { "text/plain", "[]", 415, "not-supported" },
      { "application/fhir+xml", "<Parameters/>", 415, "not-supported" },
      { "application/xml-patch+xml", "<diff/>", 415, "not-supported" },
      { NULL, "[]", 415, "not-supported" },
      { JSON_PATCH, NULL, 400, "invalid" },
      { "application/fhir+json", "[{\"op\":\"remove\",\"path\":\"/gender\"}]", 400,
        "structure" },
      { "application/fhir+json", PJ_PATIENT, 400, "invalid" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr(Response) c = patch (f, "Patient/pj", cases[i].content_type, cases[i].body,
                                       NULL);

        g_test_message ("content case %zu", i);
        g_assert_cmpuint (c->status, ==, cases[i].status);
        assert_outcome (c, cases[i].code, NULL);
      }
  }
  g_assert_cmpint (stored_version (f, "Patient", "pj"), ==, 1);

  /* If-Match: a stale version 412 (nothing written), the current one applies, a malformed
   * one 400 */
  r = patch (f, "Patient/pj", JSON_PATCH, to_female, "If-Match", "W/\"7\"", NULL);
  g_assert_cmpuint (r->status, ==, 412);
  assert_outcome (r, "conflict", "version 7");
  g_assert_cmpint (stored_version (f, "Patient", "pj"), ==, 1);
  g_clear_pointer (&r, response_free);
  r = patch (f, "Patient/pj", JSON_PATCH, to_female, "If-Match", "yesterday", NULL);
  g_assert_cmpuint (r->status, ==, 400);
  g_clear_pointer (&r, response_free);
  r = patch (f, "Patient/pj", JSON_PATCH, to_female, "If-Match", "W/\"1\"", NULL);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (header (r, "ETag"), ==, "W/\"2\"");
  gender = stored_string (f, "Patient", "pj", "gender");
  g_assert_cmpstr (gender, ==, "female");
  g_clear_pointer (&r, response_free);

  /* Prefer: minimal (no body), OperationOutcome */
  r = patch (f, "Patient/pj", JSON_PATCH, to_other, "Prefer", "return=minimal", NULL);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpuint (g_bytes_get_size (r->body), ==, 0);
  g_assert_cmpstr (header (r, "ETag"), ==, "W/\"3\"");
  g_clear_pointer (&r, response_free);
  r = patch (f, "Patient/pj", JSON_PATCH, to_female, "Prefer", "return=OperationOutcome",
             NULL);
  g_assert_cmpuint (r->status, ==, 200);
  assert_outcome (r, "informational", "patched Patient/pj: version 4");
  g_clear_pointer (&r, response_free);

  /* Provenance: the activity is UPDATE unless X-Provenance gives one; its agent is the
   * header's */
  provenance = charta_test_store_provenance_of (f->st.store, "Patient", "pj", 4);
  root = charta_resource_get_object (provenance);
  coding = json_array_get_object_element (
    json_object_get_array_member (json_object_get_object_member (root, "activity"), "coding"),
    0);
  g_assert_cmpstr (member_string (coding, "code"), ==, "UPDATE");
  g_clear_pointer (&provenance, charta_resource_unref);
  r = patch (f, "Patient/pj", JSON_PATCH, to_other, "X-Provenance", PROVENANCE_HEADER, NULL);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (header (r, "ETag"), ==, "W/\"5\"");
  provenance = charta_test_store_provenance_of (f->st.store, "Patient", "pj", 5);
  root = charta_resource_get_object (provenance);
  who = json_object_get_object_member (json_array_get_object_element (
                                         json_object_get_array_member (root, "agent"), 0),
                                       "who");
  g_assert_cmpstr (member_string (who, "display"), ==, "Dr Who");
  coding = json_array_get_object_element (
    json_object_get_array_member (json_object_get_object_member (root, "activity"), "coding"),
    0);
  g_assert_cmpstr (member_string (coding, "code"), ==, "amend");
  g_clear_pointer (&r, response_free);
  /* a bad X-Provenance: 400, nothing written */
  r = patch (f, "Patient/pj", JSON_PATCH, to_female, "X-Provenance", "{\"resourceType\":1}",
             NULL);
  g_assert_cmpuint (r->status, ==, 400);
  assert_outcome (r, "invalid", "X-Provenance");
  g_assert_cmpint (stored_version (f, "Patient", "pj"), ==, 5);
  g_clear_pointer (&r, response_free);

  /* unknown: 404; deleted: 410; a path that is not an id: 404 */
  r = patch (f, "Patient/nobody", JSON_PATCH, to_female, NULL);
  g_assert_cmpuint (r->status, ==, 404);
  assert_outcome (r, "not-found", NULL);
  g_clear_pointer (&r, response_free);
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"gone\"}");
  {
    g_autoptr(Response) deleted = fetch (f, "DELETE", "Patient/gone", NULL, NULL);

    g_assert_cmpuint (deleted->status, ==, 200);
  }
  r = patch (f, "Patient/gone", JSON_PATCH, to_female, NULL);
  g_assert_cmpuint (r->status, ==, 410);
  assert_outcome (r, "deleted", NULL);
  g_clear_pointer (&r, response_free);
  r = patch (f, "Patient/a_b", JSON_PATCH, to_female, NULL);
  g_assert_cmpuint (r->status, ==, 404);
  g_clear_pointer (&r, response_free);
  /* nowhere else: 405 with PATCH among what is allowed where it is */
  r = patch (f, "Patient/pj/_history/1", JSON_PATCH, to_female, NULL);
  g_assert_cmpuint (r->status, ==, 405);
  g_clear_pointer (&r, response_free);
  r = fetch (f, "POST", "Patient/pj", "{\"resourceType\":\"Patient\"}", NULL);
  g_assert_cmpuint (r->status, ==, 405);
  charta_test_assert_contains (header (r, "Allow"), "PATCH");
}

/* One FHIRPath Patch operation: type, path, and the parts in @rest (",{…}" each). */
#define FP_OP(type, path, rest) \
  "{\"name\":\"operation\",\"part\":[{\"name\":\"type\",\"valueCode\":\"" type "\"}," \
  "{\"name\":\"path\",\"valueString\":\"" path "\"}" rest "]}"
#define FP_PATCH(ops) "{\"resourceType\":\"Parameters\",\"parameter\":[" ops "]}"

static void
test_patch_fhirpath (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(Response) r = NULL;
  g_autoptr(ChartaResource) stored = NULL;
  JsonObject *root, *name;
  JsonArray *telecom;

  put (f, "{\"resourceType\":\"Patient\",\"id\":\"pf\",\"name\":[{\"family\":\"Smith\"}],"
          "\"gender\":\"male\",\"telecom\":[{\"system\":\"phone\",\"value\":\"555\"},"
          "{\"system\":\"email\",\"value\":\"a@example.org\"}]}");

  /* add birthDate, replace gender, delete the email, insert a given name: one version */
  r = patch (f, "Patient/pf", "application/fhir+json",
             FP_PATCH (FP_OP ("add", "Patient", ",{\"name\":\"name\",\"valueString\":"
                              "\"birthDate\"},{\"name\":\"value\",\"valueDate\":\"1980-05-06\"}")
                       ","
                       FP_OP ("replace", "Patient.gender", ",{\"name\":\"value\",\"valueCode\":"
                              "\"female\"}")
                       ","
                       FP_OP ("delete", "Patient.telecom.where(system = 'email')", "")
                       ","
                       FP_OP ("add", "Patient.name[0]", ",{\"name\":\"name\",\"valueString\":"
                              "\"given\"},{\"name\":\"value\",\"valueString\":\"Ann\"}")),
             NULL);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (header (r, "ETag"), ==, "W/\"2\"");
  g_clear_pointer (&r, response_free);
  stored = stored_resource (f, "Patient", "pf");
  root = charta_resource_get_object (stored);
  g_assert_cmpstr (member_string (root, "birthDate"), ==, "1980-05-06");
  g_assert_cmpstr (member_string (root, "gender"), ==, "female");
  /* the phone is left alone */
  telecom = json_object_get_array_member (root, "telecom");
  g_assert_cmpuint (json_array_get_length (telecom), ==, 1);
  g_assert_cmpstr (member_string (json_array_get_object_element (telecom, 0), "system"), ==,
                   "phone");
  name = json_array_get_object_element (json_object_get_array_member (root, "name"), 0);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (name, "given"),
                                                  0), ==, "Ann");
  g_clear_pointer (&stored, charta_resource_unref);

  /* all or nothing: the first would apply, the second selects nothing to replace: 422
   * naming operation 1 and its path; gender stays female, no version 3 */
  r = patch (f, "Patient/pf", "application/fhir+json",
             FP_PATCH (FP_OP ("replace", "Patient.gender", ",{\"name\":\"value\",\"valueCode\":"
                              "\"male\"}")
                       ","
                       FP_OP ("replace", "Patient.address", ",{\"name\":\"value\","
                              "\"valueAddress\":{\"city\":\"Leeds\"}}")),
             NULL);
  g_assert_cmpuint (r->status, ==, 422);
  assert_outcome (r, "processing", "operation 1 (replace)");
  assert_outcome (r, "processing", "Patient.address");
  g_assert_cmpint (stored_version (f, "Patient", "pf"), ==, 2);
  stored = stored_resource (f, "Patient", "pf");
  g_assert_cmpstr (member_string (charta_resource_get_object (stored), "gender"), ==, "female");
  g_clear_pointer (&r, response_free);

  /* a value of the wrong type for the element: 422 */
  r = patch (f, "Patient/pf", "application/fhir+json",
             FP_PATCH (FP_OP ("replace", "Patient.gender", ",{\"name\":\"value\","
                              "\"valueQuantity\":{\"value\":1}}")), NULL);
  g_assert_cmpuint (r->status, ==, 422);
  g_clear_pointer (&r, response_free);

  /* Parameters that are no FHIRPath Patch: 400 */
  {
    const char *cases[] = {
      /* a parameter not called operation */
      "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"op\",\"part\":[]}]}",
      /* an unknown type */
      FP_PATCH (FP_OP ("jump", "Patient.gender", "")),
      /* replace without its value */
      FP_PATCH (FP_OP ("replace", "Patient.gender", "")),
      /* delete with a value it does not take */
      FP_PATCH (FP_OP ("delete", "Patient.gender", ",{\"name\":\"value\",\"valueCode\":"
                       "\"male\"}")),
      /* an index that is no integer (the first operation is fine) */
      FP_PATCH (FP_OP ("delete", "Patient.gender", "") ","
                FP_OP ("insert", "Patient.name", ",{\"name\":\"index\",\"valueString\":\"0\"},"
                       "{\"name\":\"value\",\"valueHumanName\":{\"family\":\"X\"}}")),
      /* a path that does not parse */
      FP_PATCH (FP_OP ("delete", "Patient.name[", "")),
    };

    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr(Response) c = patch (f, "Patient/pf", "application/fhir+json", cases[i],
                                       NULL);

        g_test_message ("malformed case %zu", i);
        g_assert_cmpuint (c->status, ==, 400);
        assert_outcome (c, "invalid", NULL);
      }
  }
  g_assert_cmpint (stored_version (f, "Patient", "pf"), ==, 2);

  /* application/json takes a FHIRPath Patch too: delete the phone, the last telecom, so
   * telecom goes */
  r = patch (f, "Patient/pf", "application/json",
             FP_PATCH (FP_OP ("delete", "Patient.telecom[0]", "")), NULL);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (header (r, "ETag"), ==, "W/\"3\"");
  g_assert_false (json_object_has_member (body_object (r), "telecom"));
  g_assert_cmpstr (member_string (body_object (r), "gender"), ==, "female");
}

static void
test_patch_conditional (Fixture       *f,
                        gconstpointer  data)
{
  const char *active = "[{\"op\":\"add\",\"path\":\"/active\",\"value\":true}]";
  g_autoptr(Response) one = NULL;
  g_autoptr(Response) many = NULL;
  g_autoptr(Response) none = NULL;
  g_autoptr(Response) no_criteria = NULL;
  g_autoptr(Response) unknown = NULL;
  g_autoptr(Response) stale = NULL;

  /* a: MRN 1; b and c: MRN 2 */
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"a\",\"identifier\":[{\"system\":\"" MRN "\","
          "\"value\":\"1\"}]}");
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"b\",\"identifier\":[{\"system\":\"" MRN "\","
          "\"value\":\"2\"}]}");
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"c\",\"identifier\":[{\"system\":\"" MRN "\","
          "\"value\":\"2\"}]}");

  /* one match: a patched, version 2 */
  one = patch (f, "Patient?identifier=" MRN "%7C1", JSON_PATCH, active, NULL);
  g_assert_cmpuint (one->status, ==, 200);
  g_assert_cmpstr (member_string (body_object (one), "id"), ==, "a");
  g_assert_true (json_object_get_boolean_member (body_object (one), "active"));
  g_assert_cmpstr (header (one, "ETag"), ==, "W/\"2\"");
  /* two matches: 412; none: 404; no criteria or an unknown parameter: 400 */
  many = patch (f, "Patient?identifier=" MRN "%7C2", JSON_PATCH, active, NULL);
  g_assert_cmpuint (many->status, ==, 412);
  assert_outcome (many, "conflict", "more than one");
  none = patch (f, "Patient?identifier=" MRN "%7C9", JSON_PATCH, active, NULL);
  g_assert_cmpuint (none->status, ==, 404);
  assert_outcome (none, "not-found", "conditional patch");
  no_criteria = patch (f, "Patient", JSON_PATCH, active, NULL);
  g_assert_cmpuint (no_criteria->status, ==, 400);
  unknown = patch (f, "Patient?foo=1", JSON_PATCH, active, NULL);
  g_assert_cmpuint (unknown->status, ==, 400);
  /* If-Match with the criteria: a stale version fails */
  stale = patch (f, "Patient?identifier=" MRN "%7C1", JSON_PATCH,
                 "[{\"op\":\"remove\",\"path\":\"/active\"}]", "If-Match", "W/\"1\"", NULL);
  g_assert_cmpuint (stale->status, ==, 412);
  /* a at 2, b and c untouched */
  g_assert_cmpint (stored_version (f, "Patient", "a"), ==, 2);
  g_assert_cmpint (stored_version (f, "Patient", "b"), ==, 1);
  g_assert_cmpint (stored_version (f, "Patient", "c"), ==, 1);
}

/* Patches from several threads at once, each adding a name, over HTTP or in a transaction:
 * every patch that succeeds made its own version, and none was lost. */
typedef struct
{
  Fixture  *f;
  gboolean  transaction;
  unsigned  ok;
  unsigned  conflicts;
  unsigned  other;
} Patcher;

static gpointer
hammer_patches (gpointer data)
{
  Patcher *p = data;
  g_autoptr(SoupSession) session = soup_session_new ();
  const char *add = "[{\"op\":\"add\",\"path\":\"/name/-\",\"value\":{\"family\":\"Racer\"}}]";
  g_autofree char *data64 = g_base64_encode ((const guchar *) add, strlen (add));
  g_autofree char *bundle = g_strdup_printf ("{\"resourceType\":\"Bundle\",\"type\":"
                                             "\"transaction\",\"entry\":[{\"resource\":"
                                             "{\"resourceType\":\"Binary\",\"contentType\":"
                                             "\"" JSON_PATCH "\",\"data\":\"%s\"},\"request\":"
                                             "{\"method\":\"PATCH\",\"url\":\"Patient/race\"}}]}",
                                             data64);
  g_autofree char *url = url_for (p->f, p->transaction ? "" : "Patient/race");

  for (unsigned i = 0; i < 15; i++)
    {
      g_autoptr(Response) r = NULL;

      if (p->transaction)
        r = send_on (session, "POST", url, "application/fhir+json", bundle, NULL);
      else
        r = send_on (session, "PATCH", url, JSON_PATCH, add, NULL);
      if (r->status == 200)
        p->ok++;
      else if (r->status == 412 || r->status == 409)
        p->conflicts++;
      else
        p->other++;
    }
  return NULL;
}

static void
test_patch_concurrent (Fixture       *f,
                       gconstpointer  data)
{
  GThread *threads[4];
  Patcher patchers[G_N_ELEMENTS (threads)];
  unsigned ok = 0, conflicts = 0;
  g_autoptr(ChartaResource) stored = NULL;

  put (f, "{\"resourceType\":\"Patient\",\"id\":\"race\",\"name\":[{\"family\":\"Start\"}]}");
  /* two patch over HTTP, two in transactions */
  for (unsigned i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      patchers[i] = (Patcher) { f, i % 2 == 1, 0, 0, 0 };
      threads[i] = g_thread_new ("patcher", hammer_patches, &patchers[i]);
    }
  for (unsigned i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      g_thread_join (threads[i]);
      g_test_message ("%s: %u patched, %u conflicts",
                      patchers[i].transaction ? "transaction" : "PATCH", patchers[i].ok,
                      patchers[i].conflicts);
      g_assert_cmpuint (patchers[i].other, ==, 0);
      g_assert_cmpuint (patchers[i].ok + patchers[i].conflicts, ==, 15);
      ok += patchers[i].ok;
      conflicts += patchers[i].conflicts;
    }
  g_assert_cmpuint (ok, >, 0);
  /* version 1 and one version per success; the first name and one per success */
  g_assert_cmpint (stored_version (f, "Patient", "race"), ==, 1 + ok);
  stored = stored_resource (f, "Patient", "race");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                                             charta_resource_get_object (stored), "name")), ==,
                    1 + ok);
}

/* ---- tests: limits ------------------------------------------------------------------------ */

static const Config limits_config = {
  .max_body = 1024,
  .max_url = 300,
  .max_header = 2048,
};

static void
test_limit_body (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GString) big = g_string_new ("{\"resourceType\":\"Patient\",\"name\":[");
  g_autoptr(Response) r = NULL;
  g_autoptr(Response) after = NULL;
  g_autoptr(SoupMessage) chunked = NULL;
  g_autoptr(GBytes) chunked_body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = url_for (f, "Patient");

  /* 4 KiB against a 1 KiB limit: 413, whether the length is declared or chunked */
  for (unsigned i = 0; i < 100; i++)
    g_string_append_printf (big, "%s{\"family\":\"Family%04u\"}", i > 0 ? "," : "", i);
  g_string_append (big, "]}");
  g_assert_cmpuint (big->len, >, 2048);
  r = fetch (f, "POST", "Patient", big->str, NULL);
  g_assert_cmpuint (r->status, ==, 413);
  assert_outcome (r, "too-costly", "1024");

  {
    g_autoptr(GInputStream) stream =
      g_memory_input_stream_new_from_data (g_memdup2 (big->str, big->len), (gssize) big->len,
                                           g_free);

    chunked = soup_message_new ("POST", url);
    soup_message_set_request_body (chunked, "application/fhir+json", stream, -1);
    chunked_body = soup_session_send_and_read (f->session, chunked, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (soup_message_get_status (chunked), ==, 413);
    charta_test_assert_contains (g_bytes_get_data (chunked_body, NULL), "too-costly");
  }
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 0);

  /* the next client is served */
  after = fetch (f, "POST", "Patient", "{\"resourceType\":\"Patient\"}", NULL);
  g_assert_cmpuint (after->status, ==, 201);
}

static void
test_limit_url_headers (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GString) path = g_string_new ("Patient?family=");
  g_autoptr(GString) value = g_string_new (NULL);
  g_autoptr(Response) url = NULL;
  g_autoptr(Response) headers = NULL;
  g_autoptr(Response) fine = NULL;

  /* a URL of more than 300 bytes: 414 */
  for (unsigned i = 0; i < 40; i++)
    g_string_append (path, "abcdefghij");
  url = fetch (f, "GET", path->str, NULL, NULL);
  g_assert_cmpuint (url->status, ==, 414);
  assert_outcome (url, "too-long", "300");
  /* 3 KiB of headers against 2 KiB: 431 */
  for (unsigned i = 0; i < 300; i++)
    g_string_append (value, "0123456789");
  headers = fetch (f, "GET", "metadata", NULL, "X-Padding", value->str, NULL);
  g_assert_cmpuint (headers->status, ==, 431);
  assert_outcome (headers, "too-long", "2048");
  fine = fetch (f, "GET", "Patient?family=abc", NULL, NULL);
  g_assert_cmpuint (fine->status, ==, 200);
}

static const Config connections_config = {
  .max_connections = 1,
};

static void
test_limit_connections (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *url = url_for (f, "metadata");
  g_autoptr(SoupSession) second = soup_session_new ();
  g_autoptr(Response) first = NULL;
  g_autoptr(Response) refused = NULL;
  g_autoptr(Response) again = NULL;
  unsigned status = 0;

  /* the first session keeps its connection open (keep-alive); a second connection is one too
   * many: 503 */
  first = send_on (f->session, "GET", url, NULL, NULL, NULL);
  g_assert_cmpuint (first->status, ==, 200);
  refused = send_on (second, "GET", url, NULL, NULL, NULL);
  g_assert_cmpuint (refused->status, ==, 503);
  assert_outcome (refused, "transient", "connections");
  /* the first client is unaffected */
  again = send_on (f->session, "GET", url, NULL, NULL, NULL);
  g_assert_cmpuint (again->status, ==, 200);

  /* once the first closes its connection, the second gets in (the server notices the close
   * as soon as it reads it: a few tries) */
  g_clear_object (&f->session);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  for (unsigned i = 0; i < 100 && status != 200; i++)
    {
      g_autoptr(SoupSession) retry = soup_session_new ();
      g_autoptr(Response) r = send_on (retry, "GET", url, NULL, NULL, NULL);

      status = r->status;
      /* the sessions close their connections on this thread's main context */
      while (g_main_context_iteration (NULL, FALSE))
        ;
      if (status != 200)
        g_usleep (20000);
    }
  g_assert_cmpuint (status, ==, 200);
}

static const Config idle_config = {
  .max_connections = 1,
  .idle_timeout = 0.2,
};

static void
test_limit_idle (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *url = url_for (f, "metadata");
  g_autoptr(SoupSession) second = soup_session_new ();
  g_autoptr(Response) first = NULL;
  g_autoptr(Response) other = NULL;
  g_autoptr(Response) back = NULL;

  /* the first session's connection stays open, idle; past 0.2 s the server closes it, so the
   * second session gets the one connection allowed; then the first one reconnects once the
   * second's has gone idle too */
  g_assert_cmpuint (charta_server_get_idle_timeout (f->server), ==, 0.2);
  first = send_on (f->session, "GET", url, NULL, NULL, NULL);
  g_assert_cmpuint (first->status, ==, 200);
  g_usleep (700000);
  other = send_on (second, "GET", url, NULL, NULL, NULL);
  g_assert_cmpuint (other->status, ==, 200);
  g_usleep (700000);
  back = send_on (f->session, "GET", url, NULL, NULL, NULL);
  g_assert_cmpuint (back->status, ==, 200);
}

/* ---- raw connections: what no HTTP client library sends ------------------------------------ */

/* A connection of its own to the server, with a 5 s read timeout. */
static GSocketConnection *
raw_connect (Fixture *f)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  GSocketConnection *conn;

  conn = g_socket_client_connect_to_host (client, "127.0.0.1",
                                          charta_server_get_port (f->server), NULL, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (conn), 5);
  return conn;
}

/* What comes on @conn until the server closes it; NULL when nothing closes it in 5 s. */
static char *
raw_read_to_close (GSocketConnection *conn)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  g_autoptr(GError) error = NULL;
  GString *out = g_string_new (NULL);
  char buffer[4096];
  gssize n;

  while ((n = g_input_stream_read (in, buffer, sizeof buffer, NULL, &error)) > 0)
    g_string_append_len (out, buffer, n);
  if (n < 0)
    {
      g_test_message ("raw read: %s", error->message);
      g_string_free (out, TRUE);
      return NULL;
    }
  return g_string_free (out, FALSE);
}

/* Sends @request as it is on a connection of its own; what came back before the server closed
 * the connection (NULL when it did not within 5 s). */
static char *
raw_exchange (Fixture    *f,
              const char *request)
{
  g_autoptr(GSocketConnection) conn = raw_connect (f);
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), request,
                             strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  return raw_read_to_close (conn);
}

/* Fails unless @answer is a @status response that closes the connection, whose body is an
 * OperationOutcome with an issue of @code whose diagnostics hold @text. */
static void
assert_raw_outcome (const char *answer,
                    unsigned    status,
                    const char *code,
                    const char *text)
{
  g_autofree char *status_line = g_strdup_printf ("HTTP/1.1 %u ", status);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  const char *body;
  JsonObject *root, *issue;

  g_assert_nonnull (answer);
  g_assert_true (g_str_has_prefix (answer, status_line));
  charta_test_assert_contains (answer, "Content-Type: application/fhir+json");
  body = strstr (answer, "\r\n\r\n");
  g_assert_nonnull (body);
  json_parser_load_from_data (parser, body + 4, -1, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (member_string (root, "resourceType"), ==, "OperationOutcome");
  issue = json_array_get_object_element (json_object_get_array_member (root, "issue"), 0);
  g_assert_cmpstr (member_string (issue, "code"), ==, code);
  charta_test_assert_contains (member_string (issue, "diagnostics"), text);
}

/* Requests libsoup used to refuse itself with a bare 400, or to hold unanswered: each gets an
 * OperationOutcome, at once. */
static void
test_raw_requests (Fixture       *f,
                   gconstpointer  data)
{
  static const struct
  {
    const char *request;
    unsigned    status;
    const char *code;
    const char *text;
  } cases[] = {
    /* paths with ".." or NUL once decoded */
    { "GET /fhir/..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      400, "invalid", "“..”" },
    { "GET /fhir/Patient/p1%2f.. HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400,
      "invalid", "“..”" },
    { "GET /fhir/Patient/p1%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400,
      "invalid", "NUL" },
    { "GET /fhir/Patient/%FF HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400,
      "invalid", "UTF-8" },
    /* a URL of another scheme: libsoup's own 400, with an outcome */
    { "GET ftp://x/fhir/metadata HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400,
      "invalid", "request line" },
    /* declared bodies that never come: answered before them, and closed */
    { "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
      "Content-Length: 99999999999\r\n\r\n", 413, "too-costly", "99999999999" },
    { "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
      "Content-Length: -1\r\n\r\n", 400, "invalid", "Content-Length" },
    { "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
      "Content-Length: 18446744073709551616\r\n\r\n", 413, "too-costly",
      "18446744073709551616" },
    { "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
      "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, "invalid", "more than once" },
    { "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
      "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "invalid",
      "Transfer-Encoding" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gint64 start = g_get_monotonic_time ();
      g_autofree char *answer = raw_exchange (f, cases[i].request);

      g_test_message ("%.60s", cases[i].request);
      assert_raw_outcome (answer, cases[i].status, cases[i].code, cases[i].text);
      /* at once: no waiting for a body */
      g_assert_cmpint (g_get_monotonic_time () - start, <, 4 * G_USEC_PER_SEC);
    }

  /* OPTIONS * is answered (204, what is allowed), not left to libsoup's bare 404 */
  {
    g_autofree char *answer = raw_exchange (f, "OPTIONS * HTTP/1.1\r\nHost: x\r\n"
                                               "Connection: close\r\n\r\n");

    g_assert_nonnull (answer);
    g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 204 "));
    charta_test_assert_contains (answer, "Allow: ");
  }
}

/* A connection that never sends a byte counts against the limit (the server knows it from its
 * accept, not its first request): a client past it gets 503 until the silent one goes. */
static void
test_limit_connections_silent (Fixture       *f,
                               gconstpointer  data)
{
  g_autofree char *url = url_for (f, "metadata");
  g_autoptr(GSocketConnection) silent = raw_connect (f);
  g_autoptr(Response) refused = NULL;
  unsigned status = 0;

  /* (the silent connection is accepted before the request's: it is made first, and the
   * server accepts in order) */
  refused = send_on (f->session, "GET", url, NULL, NULL, NULL);
  g_assert_cmpuint (refused->status, ==, 503);
  assert_outcome (refused, "transient", "connections");
  g_assert_cmpstr (header (refused, "Connection"), ==, "close");

  g_io_stream_close (G_IO_STREAM (silent), NULL, NULL);
  for (unsigned i = 0; i < 100 && status != 200; i++)
    {
      g_autoptr(SoupSession) retry = soup_session_new ();
      g_autoptr(Response) r = send_on (retry, "GET", url, NULL, NULL, NULL);

      status = r->status;
      while (g_main_context_iteration (NULL, FALSE))
        ;
      if (status != 200)
        g_usleep (20000);
    }
  g_assert_cmpuint (status, ==, 200);
}

/* A connection that never sends a byte is closed past the idle timeout (0.2 s), and so frees
 * its place under the limit (1). */
static void
test_limit_idle_silent (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *url = url_for (f, "metadata");
  g_autoptr(GSocketConnection) silent = raw_connect (f);
  g_autofree char *left = NULL;
  g_autoptr(Response) after = NULL;
  gint64 start = g_get_monotonic_time ();

  /* the server closes it: the read ends (at once, nothing was sent), well before 5 s */
  left = raw_read_to_close (silent);
  g_assert_nonnull (left);
  g_assert_cmpstr (left, ==, "");
  g_assert_cmpint (g_get_monotonic_time () - start, >=, G_USEC_PER_SEC / 5);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
  after = send_on (f->session, "GET", url, NULL, NULL, NULL);
  g_assert_cmpuint (after->status, ==, 200);
}

/* ---- the log ------------------------------------------------------------------------------ */

/* charta_server_dup_log_text(): what is escaped, where it is cut (expected strings by hand). */
static void
test_log_text (void)
{
  static const struct
  {
    const char *text;
    size_t      max;
    const char *logged;
  } cases[] = {
    { "Patient/p1", 120, "Patient/p1" },
    { "a\r\nX-Injected: 1", 120, "a\\x0d\\x0aX-Injected: 1" },
    { "tab\there", 120, "tab\\x09here" },
    { "back\\slash", 120, "back\\x5cslash" },
    { "bad\xff\xfeutf8", 120, "bad\\xff\\xfeutf8" },
    { "cut\xc3", 120, "cut\\xc3" },                          /* a sequence cut short */
    { "\xc3\xa9t\xc3\xa9", 120, "\xc3\xa9t\xc3\xa9" },         /* été stays */
    { "rtl\xe2\x80\xae" "evil", 120, "rtl\\u202eevil" },        /* U+202E, a bidi override */
    { "line\xe2\x80\xa8sep", 120, "line\\u2028sep" },           /* U+2028 */
    { "c1\xc2\x85x", 120, "c1\\u0085x" },                       /* U+0085, next line */
    { "abcdefghij", 4, "abcd…" },
    { "\n\n\n", 5, "\\x0a\\x0a…" },  /* 4 bytes a byte: 8 >= 5 after two */
    { "", 10, "" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *logged = charta_server_dup_log_text (cases[i].text, cases[i].max);

      g_assert_cmpstr (logged, ==, cases[i].logged);
      g_assert_true (g_utf8_validate (logged, -1, NULL));
    }
}

typedef struct
{
  GMutex     lock;
  GPtrArray *messages;   /* char *: what the server logged */
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

/* What a client sends never reaches the log as it is: paths with line breaks, control
 * characters or bidi marks are escaped, queries and bodies are not logged at all. */
static void
test_log_injection (Fixture       *f,
                    gconstpointer  data)
{
  static const char *const paths[] = {
    "Patient/a%0D%0AX-Injected:%201",
    "Patient/a%0AFAKE%20LOG%20LINE/_history",
    "Foo%0D%0Abar",
    "Patient/p%E2%80%AE1",
    "Patient?family=secret-query%0D%0Ax",
  };
  LogCapture capture = { 0 };
  gboolean debug = g_log_get_debug_enabled ();
  guint handler, search_handler;
  unsigned n_server = 0;

  g_mutex_init (&capture.lock);
  capture.messages = g_ptr_array_new_with_free_func (g_free);
  g_log_set_debug_enabled (TRUE);
  handler = g_log_set_handler ("charta-server", G_LOG_LEVEL_MASK, capture_log, &capture);
  /* the search compiler logs its SQL: its text only, never a value of the query */
  search_handler = g_log_set_handler ("charta-search", G_LOG_LEVEL_MASK, capture_log, &capture);
  for (size_t i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr(Response) r = fetch (f, "GET", paths[i], NULL, NULL);

      g_assert_cmpuint (r->status, >=, 200);
    }
  {
    g_autoptr(Response) r = fetch (f, "POST", "Patient",
                                   "{\"resourceType\":\"Patient\",\"name\":[{\"family\":"
                                   "\"secret-body\"}],\"gender\":\"x\"}", NULL);

    g_assert_cmpuint (r->status, ==, 422);
  }
  g_log_remove_handler ("charta-server", handler);
  g_log_remove_handler ("charta-search", search_handler);
  g_log_set_debug_enabled (debug);

  /* (the server logs each request before answering it: everything is captured by now) */
  for (unsigned i = 0; i < capture.messages->len; i++)
    {
      const char *message = g_ptr_array_index (capture.messages, i);

      g_test_message ("logged: %s", message);
      g_assert_null (strchr (message, '\r'));
      g_assert_null (strchr (message, '\n'));
      g_assert_null (strstr (message, "\xe2\x80\xae"));
      g_assert_null (strstr (message, "secret-query"));
      g_assert_null (strstr (message, "secret-body"));
      g_assert_true (g_utf8_validate (message, -1, NULL));
      if (strstr (message, "[base]/") != NULL)
        n_server++;
    }
  /* the requests were logged (escaped), not left out */
  g_assert_cmpuint (n_server, >=, G_N_ELEMENTS (paths));
  {
    gboolean escaped = FALSE;

    for (unsigned i = 0; i < capture.messages->len; i++)
      escaped = escaped || strstr (g_ptr_array_index (capture.messages, i),
                                   "a\\x0d\\x0aX-Injected: 1") != NULL;
    g_assert_true (escaped);
  }
  g_ptr_array_unref (capture.messages);
  g_mutex_clear (&capture.lock);
}

static const Config timeout_config = {
  .timeout = 1e-6,
};

static void
test_limit_timeout (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(Response) slow = NULL;
  g_autoptr(Response) read = NULL;

  /* 200 patients; with a search time limit of 1 µs, a search that scans them all stops */
  for (unsigned i = 0; i < 200; i++)
    {
      g_autofree char *json = g_strdup_printf ("{\"resourceType\":\"Patient\",\"id\":\"t%u\","
                                               "\"name\":[{\"family\":\"Name%u\"}]}", i, i);

      put (f, json);
    }
  slow = fetch (f, "GET", "Patient?name:contains=zz&_total=accurate", NULL, NULL);
  g_assert_cmpuint (slow->status, ==, 503);
  assert_outcome (slow, "too-costly", NULL);
  /* reads are not searches: served */
  read = fetch (f, "GET", "Patient/t7", NULL, NULL);
  g_assert_cmpuint (read->status, ==, 200);
}

/* Many requests at once from several threads, each with its own session: all answered, each
 * with its own X-Request-Id. */
static gpointer
hammer (gpointer data)
{
  Fixture *f = data;
  g_autoptr(SoupSession) session = soup_session_new ();
  unsigned ok = 0;

  for (unsigned i = 0; i < 20; i++)
    {
      g_autofree char *id = g_strdup_printf ("h%u-%p", i, (void *) g_thread_self ());
      g_autofree char *url = url_for (f, i % 2 == 0 ? "Patient?family=smith" : "Patient/s1");
      g_autoptr(Response) r = send_on (session, "GET", url, NULL, NULL, "X-Request-Id", id, NULL);

      if (r->status == 200 && g_strcmp0 (header (r, "X-Request-Id"), id) == 0)
        ok++;
    }
  return GUINT_TO_POINTER (ok);
}

/* Writes from several threads at once: every create answered 201 with its own id. */
static gpointer
hammer_writes (gpointer data)
{
  Fixture *f = data;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = url_for (f, "Observation");
  unsigned ok = 0;

  for (unsigned i = 0; i < 10; i++)
    {
      g_autoptr(Response) r = send_on (session, "POST", url, "application/fhir+json",
                                       "{\"resourceType\":\"Observation\",\"status\":"
                                       "\"final\",\"code\":{\"text\":\"w\"}}", NULL);

      if (r->status == 201 && header (r, "Location") != NULL)
        ok++;
    }
  return GUINT_TO_POINTER (ok);
}

static void
test_concurrent (Fixture       *f,
                 gconstpointer  data)
{
  GThread *threads[8];
  GThread *writers[4];
  unsigned total = 0, written = 0;

  put_search_data (f);
  for (unsigned i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("client", hammer, f);
  for (unsigned i = 0; i < G_N_ELEMENTS (writers); i++)
    writers[i] = g_thread_new ("writer", hammer_writes, f);
  for (unsigned i = 0; i < G_N_ELEMENTS (threads); i++)
    total += GPOINTER_TO_UINT (g_thread_join (threads[i]));
  for (unsigned i = 0; i < G_N_ELEMENTS (writers); i++)
    written += GPOINTER_TO_UINT (g_thread_join (writers[i]));
  g_assert_cmpuint (total, ==, 8 * 20);
  g_assert_cmpuint (written, ==, 4 * 10);
  /* the three observations of the search data, and the forty written */
  g_assert_cmpint (charta_test_store_count (f->st.store, "Observation"), ==, 3 + 40);
}

/* ---- tests: batch and transaction ----------------------------------------------------------- */

/* The entry @i of a response Bundle: its response.status, and its resource's member @name of
 * @member ("subject" "reference"), NULL when absent. */
static const char *
entry_status (Response *r,
              unsigned  i)
{
  JsonObject *entry = json_array_get_object_element (bundle_entries (r), i);

  return member_string (json_object_get_object_member (entry, "response"), "status");
}

static JsonObject *
entry_resource (Response *r,
                unsigned  i)
{
  JsonObject *entry = json_array_get_object_element (bundle_entries (r), i);

  return json_object_has_member (entry, "resource")
         ? json_object_get_object_member (entry, "resource") : NULL;
}

static const char *
subject_of (JsonObject *resource)
{
  return member_string (json_object_get_object_member (resource, "subject"), "reference");
}

#define XSYS "http://example.org/x"

static const char transaction_body[] =
  "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
  /* 0: a conditional create, known by its urn */
  "{\"fullUrl\":\"urn:uuid:5f2b4c4e-0000-4000-8000-000000000001\","
  "\"resource\":{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"" XSYS "\","
  "\"value\":\"1\"}]},"
  "\"request\":{\"method\":\"POST\",\"url\":\"Patient\",\"ifNoneExist\":\"identifier="
  XSYS "|1\"}},"
  /* 1: an Observation of 0, by its urn */
  "{\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":"
  "\"t\"},\"subject\":{\"reference\":\"urn:uuid:5f2b4c4e-0000-4000-8000-000000000001\"}},"
  "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}},"
  /* 2: an Encounter of p0, by a conditional reference */
  "{\"resource\":{\"resourceType\":\"Encounter\",\"status\":\"finished\",\"class\":{\"code\":"
  "\"AMB\"},\"subject\":{\"reference\":\"Patient?identifier=" XSYS "|0\"}},"
  "\"request\":{\"method\":\"POST\",\"url\":\"Encounter\"}},"
  /* 3: an update-as-create */
  "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p9\",\"active\":true},"
  "\"request\":{\"method\":\"PUT\",\"url\":\"Patient/p9\"}},"
  /* 4: a delete */
  "{\"request\":{\"method\":\"DELETE\",\"url\":\"Patient/old\"}},"
  /* 5: a read, after the writes */
  "{\"request\":{\"method\":\"GET\",\"url\":\"Patient/p9\"}}"
  "]}";

static void
test_transaction (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(Response) first = NULL;
  g_autoptr(Response) second = NULL;
  g_autoptr(ChartaResource) provenance = NULL;
  g_autoptr(ChartaResource) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *patient_ref = NULL;
  g_autofree char *observation_version = NULL;
  const char *patient_id;

  put (f, "{\"resourceType\":\"Patient\",\"id\":\"p0\",\"identifier\":[{\"system\":\"" XSYS "\","
          "\"value\":\"0\"}]}");
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"old\"}");

  first = fetch (f, "POST", "", transaction_body, "X-Provenance", PROVENANCE_HEADER, NULL);
  g_assert_cmpuint (first->status, ==, 200);
  g_assert_cmpstr (member_string (body_object (first), "type"), ==, "transaction-response");
  /* one response entry per request entry, in order */
  g_assert_cmpuint (json_array_get_length (bundle_entries (first)), ==, 6);
  g_assert_cmpstr (entry_status (first, 0), ==, "201 Created");
  g_assert_cmpstr (entry_status (first, 1), ==, "201 Created");
  g_assert_cmpstr (entry_status (first, 2), ==, "201 Created");
  g_assert_cmpstr (entry_status (first, 3), ==, "201 Created");
  g_assert_cmpstr (entry_status (first, 4), ==, "204 No Content");
  g_assert_cmpstr (entry_status (first, 5), ==, "200 OK");
  /* the urn became the new Patient's id; the conditional reference p0 */
  patient_id = member_string (entry_resource (first, 0), "id");
  patient_ref = g_strdup_printf ("Patient/%s", patient_id);
  g_assert_cmpstr (subject_of (entry_resource (first, 1)), ==, patient_ref);
  g_assert_cmpstr (subject_of (entry_resource (first, 2)), ==, "Patient/p0");
  /* the read saw the write made before it */
  g_assert_cmpstr (member_string (entry_resource (first, 5), "id"), ==, "p9");
  /* p0, the new one, p9; old is gone */
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 3);
  g_assert_cmpint (charta_test_store_count (f->st.store, "Observation"), ==, 1);
  /* one event: one Provenance, with the header's agent, targets the Patient and the
   * Observation alike */
  provenance = charta_test_store_provenance_of (f->st.store, "Patient", patient_id, 1);
  observation_version = g_strdup_printf ("Observation/%s/_history/1",
                                         member_string (entry_resource (first, 1), "id"));
  g_assert_true (charta_test_provenance_targets (provenance, observation_version));
  /* a valid R4 Bundle */
  parsed = charta_resource_new_from_bytes (first->body, NULL, &error);
  g_assert_no_error (error);
  charta_validate (parsed, &error);
  g_assert_no_error (error);

  /* again: the conditional create matches (200, same id, nothing new), the urn points at the
   * match; old is already gone, p9 unchanged */
  second = fetch (f, "POST", "", transaction_body, NULL);
  g_assert_cmpuint (second->status, ==, 200);
  g_assert_cmpstr (entry_status (second, 0), ==, "200 OK");
  g_assert_cmpstr (member_string (entry_resource (second, 0), "id"), ==, patient_id);
  g_assert_cmpstr (subject_of (entry_resource (second, 1)), ==, patient_ref);
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 3);
  g_assert_cmpint (charta_test_store_count (f->st.store, "Observation"), ==, 2);
}

static void
test_transaction_fails (Fixture       *f,
                        gconstpointer  data)
{
  struct
  {
    const char *entries;
    unsigned status;
    const char *code;
    const char *text;
  } cases[] = {
    /* the second entry does not validate: 422 naming it, the first not written either */
    { "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"a\"},\"request\":{\"method\":\"PUT\","
      "\"url\":\"Patient/a\"}},"
      "{\"resource\":{\"resourceType\":\"Patient\",\"gender\":\"x\"},\"request\":{\"method\":"
      "\"POST\",\"url\":\"Patient\"}}", 422, "invalid", "Bundle.entry[1]" },
    /* the same resource twice */
    { "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"a\"},\"request\":{\"method\":\"PUT\","
      "\"url\":\"Patient/a\"}},"
      "{\"request\":{\"method\":\"DELETE\",\"url\":\"Patient/a\"}}", 400, "invalid", "once" },
    /* a conditional reference that matches nothing */
    { "{\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":"
      "\"t\"},\"subject\":{\"reference\":\"Patient?identifier=nobody\"}},\"request\":"
      "{\"method\":\"POST\",\"url\":\"Observation\"}}", 404, "not-found", "nobody" },
    /* a urn:uuid no entry defines */
    { "{\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":"
      "\"t\"},\"subject\":{\"reference\":\"urn:uuid:5f2b4c4e-0000-4000-8000-00000000dead\"}},"
      "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}", 400, "not-found", "urn" },
    /* an entry without request */
    { "{\"resource\":{\"resourceType\":\"Patient\"}}", 400, "invalid", "Bundle.entry[0]" },
    /* a stale ifMatch */
    { "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"e\"},\"request\":{\"method\":\"PUT\","
      "\"url\":\"Patient/e\",\"ifMatch\":\"W/\\\"7\\\"\"}}", 412, "conflict", NULL },
  };

  put (f, "{\"resourceType\":\"Patient\",\"id\":\"e\"}");
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"resourceType\":\"Bundle\",\"type\":"
                                               "\"transaction\",\"entry\":[%s]}",
                                               cases[i].entries);
      g_autoptr(Response) r = fetch (f, "POST", "", body, NULL);

      g_test_message ("case %zu", i);
      g_assert_cmpuint (r->status, ==, cases[i].status);
      assert_outcome (r, cases[i].code, cases[i].text);
    }
  /* nothing of any of them was written: e alone, at version 1 */
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 1);
  g_assert_cmpint (charta_test_store_count (f->st.store, "Observation"), ==, 0);
  {
    g_autoptr(Response) e = fetch (f, "GET", "Patient/e", NULL, NULL);

    g_assert_cmpstr (header (e, "ETag"), ==, "W/\"1\"");
  }
}

static void
test_batch (Fixture       *f,
            gconstpointer  data)
{
  const char *body =
    "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":["
    /* 0: fine */
    "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"b1\"},\"request\":{\"method\":\"PUT\","
    "\"url\":\"Patient/b1\"}},"
    /* 1: invalid */
    "{\"resource\":{\"resourceType\":\"Patient\",\"gender\":\"x\"},\"request\":{\"method\":"
    "\"POST\",\"url\":\"Patient\"}},"
    /* 2: a read of nothing */
    "{\"request\":{\"method\":\"GET\",\"url\":\"Patient/nobody\"}},"
    /* 3: a delete */
    "{\"request\":{\"method\":\"DELETE\",\"url\":\"Patient/gone\"}},"
    /* 4: no request */
    "{\"resource\":{\"resourceType\":\"Patient\"}},"
    /* 5: a nested batch */
    "{\"resource\":{\"resourceType\":\"Bundle\",\"type\":\"batch\"},\"request\":{\"method\":"
    "\"POST\",\"url\":\"\"}},"
    /* 6: a search, by absolute url */
    "{\"request\":{\"method\":\"GET\",\"url\":\"";
  g_autofree char *text = g_strconcat (body, f->base, "/Patient?_id=b1\"}}]}", NULL);
  g_autoptr(Response) r = NULL;
  JsonObject *outcome;

  put (f, "{\"resourceType\":\"Patient\",\"id\":\"gone\"}");
  r = fetch (f, "POST", "", text, NULL);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (member_string (body_object (r), "type"), ==, "batch-response");
  g_assert_cmpuint (json_array_get_length (bundle_entries (r)), ==, 7);
  g_assert_cmpstr (entry_status (r, 0), ==, "201 Created");
  g_assert_cmpstr (entry_status (r, 1), ==, "422 Unprocessable Entity");
  g_assert_cmpstr (entry_status (r, 2), ==, "404 Not Found");
  g_assert_cmpstr (entry_status (r, 3), ==, "200 OK");
  g_assert_cmpstr (entry_status (r, 4), ==, "400 Bad Request");
  g_assert_cmpstr (entry_status (r, 5), ==, "400 Bad Request");
  g_assert_cmpstr (entry_status (r, 6), ==, "200 OK");
  /* a failed entry carries its OperationOutcome */
  outcome = json_object_get_object_member (
    json_object_get_object_member (json_array_get_object_element (bundle_entries (r), 1),
                                   "response"), "outcome");
  g_assert_cmpstr (member_string (outcome, "resourceType"), ==, "OperationOutcome");
  g_assert_cmpstr (member_string (entry_resource (r, 6), "resourceType"), ==, "Bundle");
  /* b1 written despite the others; gone deleted */
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 1);
  {
    g_autoptr(Response) b1 = fetch (f, "GET", "Patient/b1", NULL, NULL);
    g_autoptr(Response) gone = fetch (f, "GET", "Patient/gone", NULL, NULL);

    g_assert_cmpuint (b1->status, ==, 200);
    g_assert_cmpuint (gone->status, ==, 410);
  }
}

static void
test_bundle_errors (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(Response) patient = fetch (f, "POST", "", "{\"resourceType\":\"Patient\"}", NULL);
  g_autoptr(Response) collection =
    fetch (f, "POST", "", "{\"resourceType\":\"Bundle\",\"type\":\"collection\"}", NULL);
  g_autoptr(Response) empty =
    fetch (f, "POST", "", "{\"resourceType\":\"Bundle\",\"type\":\"transaction\"}", NULL);
  g_autoptr(Response) metadata = fetch (f, "GET", "metadata", NULL, NULL);
  JsonObject *rest;

  g_assert_cmpuint (patient->status, ==, 400);
  assert_outcome (patient, "invalid", "batch or transaction");
  g_assert_cmpuint (collection->status, ==, 400);
  assert_outcome (collection, "invalid", "collection");
  /* an empty transaction is a transaction of nothing */
  g_assert_cmpuint (empty->status, ==, 200);
  g_assert_cmpstr (member_string (body_object (empty), "type"), ==, "transaction-response");
  g_assert_null (bundle_entries (empty));
  /* and the CapabilityStatement says both are served */
  rest = json_array_get_object_element (json_object_get_array_member (body_object (metadata),
                                                                      "rest"), 0);
  g_assert_true (has_code (json_object_get_array_member (rest, "interaction"), "transaction"));
  g_assert_true (has_code (json_object_get_array_member (rest, "interaction"), "batch"));
}

/* A Bundle entry that patches @url with the JSON Patch @json_patch, as a Binary (base64). */
static char *
json_patch_entry (const char *url,
                  const char *json_patch,
                  const char *content_type,
                  const char *extra_request)
{
  g_autofree char *data = g_base64_encode ((const guchar *) json_patch, strlen (json_patch));

  return g_strdup_printf ("{\"resource\":{\"resourceType\":\"Binary\",\"contentType\":\"%s\","
                          "\"data\":\"%s\"},\"request\":{\"method\":\"PATCH\",\"url\":\"%s\"%s}}",
                          content_type, data, url, extra_request != NULL ? extra_request : "");
}

static char *
bundle_of (const char *type,
           const char *entries)
{
  return g_strdup_printf ("{\"resourceType\":\"Bundle\",\"type\":\"%s\",\"entry\":[%s]}", type,
                          entries);
}

#define PT_P1 "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"gender\":\"male\"}"
#define PT_P2 "{\"resourceType\":\"Patient\",\"id\":\"p2\",\"active\":true,\"identifier\":" \
  "[{\"system\":\"" MRN "\",\"value\":\"22\"}]}"
#define TO_FEMALE "[{\"op\":\"replace\",\"path\":\"/gender\",\"value\":\"female\"}]"
#define P2_INACTIVE \
  "{\"resource\":" FP_PATCH (FP_OP ("replace", "Patient.active", ",{\"name\":\"value\"," \
                                    "\"valueBoolean\":false}")) "," \
  "\"request\":{\"method\":\"PATCH\",\"url\":\"Patient?identifier=" MRN "|22\"}}"

static void
test_patch_transaction (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *p1_entry = json_patch_entry ("Patient/p1", TO_FEMALE, JSON_PATCH, NULL);
  g_autofree char *entries = NULL;
  g_autofree char *body = NULL;
  g_autofree char *gender = NULL;
  g_autoptr(Response) r = NULL;
  g_autoptr(ChartaResource) p2 = NULL;
  JsonObject *response;

  put (f, PT_P1);
  put (f, PT_P2);

  /* p1 by JSON Patch (a Binary), p2 by FHIRPath Patch found by its identifier, and an
   * Observation created beside them: one transaction */
  entries = g_strconcat (p1_entry, ",", P2_INACTIVE, ","
                         "{\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\","
                         "\"code\":{\"text\":\"t\"},\"subject\":{\"reference\":\"Patient/p1\"}},"
                         "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}}", NULL);
  body = bundle_of ("transaction", entries);
  r = fetch (f, "POST", "", body, "X-Provenance", PROVENANCE_HEADER, NULL);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (member_string (body_object (r), "type"), ==, "transaction-response");
  g_assert_cmpstr (entry_status (r, 0), ==, "200 OK");
  g_assert_cmpstr (entry_status (r, 1), ==, "200 OK");
  g_assert_cmpstr (entry_status (r, 2), ==, "201 Created");
  response = json_object_get_object_member (json_array_get_object_element (bundle_entries (r),
                                                                           0), "response");
  g_assert_cmpstr (member_string (response, "etag"), ==, "W/\"2\"");
  g_assert_cmpstr (member_string (response, "location"), ==, "Patient/p1/_history/2");
  g_assert_cmpstr (member_string (entry_resource (r, 0), "gender"), ==, "female");
  g_assert_cmpint (stored_version (f, "Patient", "p1"), ==, 2);
  g_assert_cmpint (stored_version (f, "Patient", "p2"), ==, 2);
  gender = stored_string (f, "Patient", "p1", "gender");
  g_assert_cmpstr (gender, ==, "female");
  p2 = stored_resource (f, "Patient", "p2");
  g_assert_false (json_object_get_boolean_member (charta_resource_get_object (p2), "active"));
  g_assert_cmpint (charta_test_store_count (f->st.store, "Observation"), ==, 1);
  g_clear_pointer (&r, response_free);

  /* all or nothing: whichever entry fails, p1 and p2 stay at version 2 and no Observation is
   * added */
  {
    g_autofree char *good = json_patch_entry ("Patient/p1",
                                              "[{\"op\":\"replace\",\"path\":\"/gender\","
                                              "\"value\":\"other\"}]", JSON_PATCH, NULL);
    g_autofree char *failed_test = json_patch_entry ("Patient/p2",
                                                     "[{\"op\":\"test\",\"path\":\"/active\","
                                                     "\"value\":true}]", JSON_PATCH, NULL);
    g_autofree char *invalid = json_patch_entry ("Patient/p2",
                                                 "[{\"op\":\"add\",\"path\":\"/gender\","
                                                 "\"value\":\"x\"}]", JSON_PATCH, NULL);
    g_autofree char *stale = json_patch_entry ("Patient/p2",
                                               "[{\"op\":\"remove\",\"path\":\"/active\"}]",
                                               JSON_PATCH, ",\"ifMatch\":\"W/\\\"1\\\"\"");
    g_autofree char *malformed = json_patch_entry ("Patient/p2", "[{\"op\":\"remove\"}]",
                                                   JSON_PATCH, NULL);
    g_autofree char *plain = json_patch_entry ("Patient/p2", "[]", "text/plain", NULL);
    g_autofree char *missing = json_patch_entry ("Patient/nobody", "[]", JSON_PATCH, NULL);
    const char *observation = "{\"resource\":{\"resourceType\":\"Observation\",\"status\":"
                              "\"final\",\"code\":{\"text\":\"t\"}},\"request\":{\"method\":"
                              "\"POST\",\"url\":\"Observation\"}}";
    const char *invalid_create = "{\"resource\":{\"resourceType\":\"Patient\",\"gender\":"
                                 "\"x\"},\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}}";
    const char *patient_body = "{\"resource\":{\"resourceType\":\"Patient\"},\"request\":"
                               "{\"method\":\"PATCH\",\"url\":\"Patient/p2\"}}";
    struct
    {
      const char *failing;
      unsigned status;
      const char *code;
      const char *text;
    } cases[] = {
      /* the JSON Patch's test fails: 422 naming entry 2 and the operation */
      { failed_test, 422, "processing", "operation 0 (test)" },
      /* the patched p2 does not validate */
      { invalid, 422, "invalid", "gender" },
      /* p2 is at version 2, not 1 */
      { stale, 412, "conflict", "version 1" },
      /* no JSON Patch; no patch type; no resource to patch; a Patient is no patch */
      { malformed, 400, "invalid", "operation 0" },
      { plain, 415, "not-supported", "text/plain" },
      { missing, 404, "not-found", NULL },
      { patient_body, 400, "invalid", "Binary" },
      /* the patches are fine; a create beside them is not */
      { invalid_create, 422, "invalid", "gender" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autofree char *list = g_strconcat (good, ",", observation, ",", cases[i].failing,
                                             NULL);
        g_autofree char *text = bundle_of ("transaction", list);
        g_autoptr(Response) c = fetch (f, "POST", "", text, NULL);

        g_test_message ("failing case %zu", i);
        g_assert_cmpuint (c->status, ==, cases[i].status);
        assert_outcome (c, cases[i].code, "Bundle.entry[2]");
        if (cases[i].text != NULL)
          assert_outcome (c, cases[i].code, cases[i].text);
      }
  }
  g_assert_cmpint (stored_version (f, "Patient", "p1"), ==, 2);
  g_assert_cmpint (stored_version (f, "Patient", "p2"), ==, 2);
  g_assert_cmpint (charta_test_store_count (f->st.store, "Observation"), ==, 1);

  /* a patch and a delete of the same resource: 400, a transaction changes it once */
  {
    g_autofree char *list = g_strconcat (p1_entry, ",{\"request\":{\"method\":\"DELETE\","
                                         "\"url\":\"Patient/p1\"}}", NULL);
    g_autofree char *text = bundle_of ("transaction", list);
    g_autoptr(Response) c = fetch (f, "POST", "", text, NULL);

    g_assert_cmpuint (c->status, ==, 400);
    assert_outcome (c, "invalid", "once");
  }
  g_assert_cmpint (stored_version (f, "Patient", "p1"), ==, 2);
}

static void
test_patch_batch (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *p1_entry = json_patch_entry ("Patient/p1", TO_FEMALE, JSON_PATCH, NULL);
  /* runs after p1_entry (same rank, Bundle order): p1 is no longer male */
  g_autofree char *p1_test = json_patch_entry ("Patient/p1",
                                               "[{\"op\":\"test\",\"path\":\"/gender\","
                                               "\"value\":\"male\"}]", JSON_PATCH, NULL);
  g_autofree char *missing = json_patch_entry ("Patient/nobody", TO_FEMALE, JSON_PATCH, NULL);
  g_autofree char *plain = json_patch_entry ("Patient/p1", TO_FEMALE, "text/plain", NULL);
  g_autofree char *entries = g_strconcat (p1_entry, ",", P2_INACTIVE, ",", missing, ",",
                                          p1_test, ",", plain, NULL);
  g_autofree char *body = bundle_of ("batch", entries);
  g_autofree char *gender = NULL;
  g_autoptr(Response) r = NULL;
  g_autoptr(ChartaResource) p2 = NULL;
  JsonObject *response;

  put (f, PT_P1);
  put (f, PT_P2);
  r = fetch (f, "POST", "", body, NULL);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (member_string (body_object (r), "type"), ==, "batch-response");
  g_assert_cmpstr (entry_status (r, 0), ==, "200 OK");
  g_assert_cmpstr (entry_status (r, 1), ==, "200 OK");
  g_assert_cmpstr (entry_status (r, 2), ==, "404 Not Found");
  g_assert_cmpstr (entry_status (r, 3), ==, "422 Unprocessable Entity");
  g_assert_cmpstr (entry_status (r, 4), ==, "415 Unsupported Media Type");
  response = json_object_get_object_member (json_array_get_object_element (bundle_entries (r),
                                                                           0), "response");
  g_assert_cmpstr (member_string (response, "etag"), ==, "W/\"2\"");
  g_assert_cmpstr (member_string (entry_resource (r, 0), "gender"), ==, "female");
  /* the failed test's outcome says which operation */
  response = json_object_get_object_member (json_array_get_object_element (bundle_entries (r),
                                                                           3), "response");
  charta_test_assert_contains (
    member_string (json_array_get_object_element (
                     json_object_get_array_member (json_object_get_object_member (response,
                                                                                  "outcome"),
                                                   "issue"), 0), "diagnostics"),
    "operation 0 (test)");
  /* the two that succeeded were written, the others changed nothing */
  g_assert_cmpint (stored_version (f, "Patient", "p1"), ==, 2);
  g_assert_cmpint (stored_version (f, "Patient", "p2"), ==, 2);
  gender = stored_string (f, "Patient", "p1", "gender");
  g_assert_cmpstr (gender, ==, "female");
  p2 = stored_resource (f, "Patient", "p2");
  g_assert_false (json_object_get_boolean_member (charta_resource_get_object (p2), "active"));
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 2);
}

/* ---- tests: operations --------------------------------------------------------------------- */

static void
put_everything_data (Fixture *f)
{
  /* p1 with five observations, one a year 2020…2024 (o2022 performed by pr1), an encounter in
   * 2021; p2 with one observation. */
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"p1\"}");
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"p2\"}");
  put (f, "{\"resourceType\":\"Practitioner\",\"id\":\"pr1\"}");
  for (unsigned year = 2020; year <= 2024; year++)
    {
      g_autofree char *json =
        g_strdup_printf ("{\"resourceType\":\"Observation\",\"id\":\"o%u\",\"status\":\"final\","
                         "\"code\":{\"text\":\"x\"},\"subject\":{\"reference\":\"Patient/p1\"},"
                         "\"effectiveDateTime\":\"%u-06-01\"%s}", year, year,
                         year == 2022 ? ",\"performer\":[{\"reference\":\"Practitioner/pr1\"}]"
                                      : "");

      put (f, json);
    }
  put (f, "{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":\"finished\","
          "\"class\":{\"code\":\"AMB\"},\"subject\":{\"reference\":\"Patient/p1\"},"
          "\"period\":{\"start\":\"2021-03-01\",\"end\":\"2021-03-02\"}}");
  put (f, "{\"resourceType\":\"Observation\",\"id\":\"q1\",\"status\":\"final\","
          "\"code\":{\"text\":\"x\"},\"subject\":{\"reference\":\"Patient/p2\"}}");
}

/* Every resource of every page of @path, following next links: "Type/id" sorted, joined. */
static char *
everything_ids (Fixture    *f,
                const char *path,
                unsigned    max_matches_per_page,
                unsigned   *n_pages)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  g_autofree char *url = url_for (f, path);
  GHashTableIter iter;
  gpointer key;
  GString *out = g_string_new (NULL);

  *n_pages = 0;
  while (url != NULL && *n_pages < 50)
    {
      g_autoptr(Response) r = send_on (f->session, "GET", url, NULL, NULL, NULL);
      JsonArray *entries;
      unsigned matches = 0;

      g_assert_cmpuint (r->status, ==, 200);
      (*n_pages)++;
      entries = bundle_entries (r);
      for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
        {
          JsonObject *entry = json_array_get_object_element (entries, i);
          JsonObject *resource = json_object_get_object_member (entry, "resource");
          JsonObject *search = json_object_get_object_member (entry, "search");

          if (g_strcmp0 (member_string (search, "mode"), "match") == 0)
            matches++;
          g_hash_table_add (seen, g_strdup_printf ("%s/%s",
                                                   member_string (resource, "resourceType"),
                                                   member_string (resource, "id")));
        }
      g_assert_cmpuint (matches, <=, max_matches_per_page);
      g_clear_pointer (&url, g_free);
      if (bundle_link (r, "next") != NULL)
        url = g_strdup (bundle_link (r, "next"));
    }
  g_hash_table_iter_init (&iter, seen);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (ids, key);
  g_ptr_array_sort (ids, charta_test_compare_strings);
  for (unsigned i = 0; i < ids->len; i++)
    g_string_append_printf (out, "%s%s", i > 0 ? " " : "", (char *) ids->pdata[i]);
  return g_string_free (out, FALSE);
}

static void
test_everything (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(ChartaResource) provenance = NULL;
  g_autofree char *all = NULL;
  g_autofree char *dated = NULL;
  struct
  {
    const char *path;
    unsigned page;
    const char *ids;
  } cases[] = {
    { "Patient/p1/$everything", 1000, NULL },
    /* pages of two matches: the same, over four pages at least (8 matches) */
    { "Patient/p1/$everything?_count=2", 2, NULL },
    { "Patient/p1/$everything?_count=1", 1, NULL },
    /* care dates 2022–2023: the observations of those years (pr1 with o2022); the encounter
     * (2021) is out; Provenance has no date parameter: in */
    { "Patient/p1/$everything?start=2022-01-01&end=2023-12-31", 1000, NULL },
    { "Patient/p1/$everything?_type=Encounter", 1000, "Encounter/e1 Patient/p1" },
    /* nothing changed after 2999 */
    { "Patient/p1/$everything?_since=2999-01-01", 1000, "Patient/p1" },
  };

  put_everything_data (f);
  /* all of p1: itself, its encounter and observations, pr1 that o2022 references, and the
   * Provenance of p1's write (which targets p1: in its compartment); never p2 or q1 */
  provenance = charta_test_store_provenance_of (f->st.store, "Patient", "p1", 1);
  all = g_strdup_printf ("Encounter/e1 Observation/o2020 Observation/o2021 Observation/o2022 "
                         "Observation/o2023 Observation/o2024 Patient/p1 Practitioner/pr1 "
                         "Provenance/%s", charta_resource_get_id (provenance));
  dated = g_strdup_printf ("Observation/o2022 Observation/o2023 Patient/p1 Practitioner/pr1 "
                           "Provenance/%s", charta_resource_get_id (provenance));
  cases[0].ids = cases[1].ids = cases[2].ids = all;
  cases[3].ids = dated;
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      unsigned pages = 0;
      g_autofree char *ids = NULL;

      g_test_message ("GET %s", cases[i].path);
      ids = everything_ids (f, cases[i].path, cases[i].page, &pages);
      g_assert_cmpstr (ids, ==, cases[i].ids);
      if (cases[i].page == 1)
        g_assert_cmpuint (pages, >=, 8);
      else if (cases[i].page == 2)
        g_assert_cmpuint (pages, >=, 4);
    }

  {
    g_autoptr(Response) unknown = fetch (f, "GET", "Patient/nobody/$everything", NULL, NULL);
    g_autoptr(Response) bad_type = fetch (f, "GET", "Patient/p1/$everything?_type=Foo", NULL,
                                          NULL);
    g_autoptr(Response) bad_date = fetch (f, "GET", "Patient/p1/$everything?start=soon", NULL,
                                          NULL);
    g_autoptr(Response) not_patient = fetch (f, "GET", "Observation/o2020/$everything", NULL,
                                             NULL);
    g_autoptr(Response) encounter = fetch (f, "GET", "Encounter/e1/$everything", NULL, NULL);

    g_assert_cmpuint (unknown->status, ==, 404);
    g_assert_cmpuint (bad_type->status, ==, 400);
    assert_outcome (bad_type, "invalid", "Foo");
    g_assert_cmpuint (bad_date->status, ==, 400);
    assert_outcome (bad_date, "invalid", "start");
    /* FHIR R4 has no Observation/[id]/$everything: unknown (404); it has
     * Encounter/[id]/$everything, which Charta lacks (501) */
    g_assert_cmpuint (not_patient->status, ==, 404);
    assert_outcome (not_patient, "not-supported", "$everything");
    g_assert_cmpuint (encounter->status, ==, 501);
    assert_outcome (encounter, "not-supported", "$everything");
  }
}

/* Whether the OperationOutcome @r has an issue of @severity (NULL: any) and @code (NULL:
 * any). */
static gboolean
outcome_has (Response   *r,
             const char *severity,
             const char *code)
{
  JsonArray *issues;

  g_assert_cmpstr (resource_type_of (r), ==, "OperationOutcome");
  issues = json_object_get_array_member (body_object (r), "issue");
  for (unsigned i = 0; i < json_array_get_length (issues); i++)
    {
      JsonObject *issue = json_array_get_object_element (issues, i);

      if ((severity == NULL || g_strcmp0 (member_string (issue, "severity"), severity) == 0)
          && (code == NULL || g_strcmp0 (member_string (issue, "code"), code) == 0))
        return TRUE;
    }
  return FALSE;
}

static void
test_validate (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(Response) valid = NULL;
  g_autoptr(Response) invalid = NULL;
  g_autoptr(Response) wrapped = NULL;
  g_autoptr(Response) stored = NULL;
  g_autoptr(Response) deletable = NULL;
  g_autoptr(Response) missing = NULL;
  g_autoptr(Response) get = NULL;
  JsonArray *issues;

  put (f, "{\"resourceType\":\"Patient\",\"id\":\"v1\"}");
  /* valid (dom-6 may warn that it has no narrative): no error, and it says so */
  valid = fetch (f, "POST", "Patient/$validate", "{\"resourceType\":\"Patient\"}", NULL);
  g_assert_cmpuint (valid->status, ==, 200);
  g_assert_true (outcome_has (valid, "information", "informational"));
  g_assert_false (outcome_has (valid, "error", NULL));

  /* the operation succeeds; the outcome says what is wrong */
  invalid = fetch (f, "POST", "Patient/$validate",
                   "{\"resourceType\":\"Patient\",\"gender\":\"x\"}", NULL);
  g_assert_cmpuint (invalid->status, ==, 200);
  g_assert_false (outcome_has (invalid, "information", "informational"));
  issues = json_object_get_array_member (body_object (invalid), "issue");
  g_assert_cmpstr (member_string (json_array_get_object_element (issues, 0), "severity"), ==,
                   "error");
  charta_test_assert_contains (member_string (json_array_get_object_element (issues, 0),
                                              "diagnostics"), "gender");

  /* Parameters: mode update without an id */
  wrapped = fetch (f, "POST", "Patient/$validate",
                   "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"resource\","
                   "\"resource\":{\"resourceType\":\"Patient\"}},{\"name\":\"mode\","
                   "\"valueCode\":\"update\"}]}", NULL);
  g_assert_cmpuint (wrapped->status, ==, 200);
  g_assert_true (outcome_has (wrapped, "error", "required"));

  /* instance level without a body: the stored version */
  stored = fetch (f, "POST", "Patient/v1/$validate", NULL, NULL);
  g_assert_cmpuint (stored->status, ==, 200);
  g_assert_true (outcome_has (stored, "information", "informational"));
  g_assert_false (outcome_has (stored, "error", NULL));
  deletable = fetch (f, "POST", "Patient/v1/$validate",
                     "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"mode\","
                     "\"valueCode\":\"delete\"}]}", NULL);
  g_assert_cmpuint (deletable->status, ==, 200);
  assert_outcome (deletable, "informational", "deleted");
  missing = fetch (f, "POST", "Patient/none/$validate", NULL, NULL);
  g_assert_cmpuint (missing->status, ==, 404);
  get = fetch (f, "GET", "Patient/$validate", NULL, NULL);
  g_assert_cmpuint (get->status, ==, 405);
  /* nothing was written */
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 1);
}

/* The codes of the return Meta's @member ("tag", "security") or its profiles, sorted. */
static char *
meta_codes (Response   *r,
            const char *member)
{
  JsonObject *parameters = body_object (r);
  g_autoptr(GPtrArray) codes = g_ptr_array_new ();
  GString *out = g_string_new (NULL);
  JsonObject *meta;
  JsonArray *array;

  g_assert_cmpstr (member_string (parameters, "resourceType"), ==, "Parameters");
  if (!json_object_has_member (parameters, "parameter"))
    return g_string_free (out, FALSE);
  meta = json_object_get_object_member (
    json_array_get_object_element (json_object_get_array_member (parameters, "parameter"), 0),
    "valueMeta");
  if (!json_object_has_member (meta, member))
    return g_string_free (out, FALSE);
  array = json_object_get_array_member (meta, member);
  for (unsigned i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      g_ptr_array_add (codes, (gpointer) (JSON_NODE_HOLDS_OBJECT (node)
                                          ? member_string (json_node_get_object (node), "code")
                                          : json_node_get_string (node)));
    }
  g_ptr_array_sort (codes, charta_test_compare_strings);
  for (unsigned i = 0; i < codes->len; i++)
    g_string_append_printf (out, "%s%s", i > 0 ? " " : "", (char *) codes->pdata[i]);
  return g_string_free (out, FALSE);
}

#define TAGS "http://example.org/tags"

static void
test_meta (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(Response) one = NULL;
  g_autoptr(Response) type = NULL;
  g_autoptr(Response) system = NULL;
  g_autoptr(Response) added = NULL;
  g_autoptr(Response) again = NULL;
  g_autoptr(Response) removed = NULL;
  g_autoptr(Response) decimal = NULL;
  g_autoptr(Response) bad = NULL;
  g_autoptr(Response) read = NULL;
  g_autofree char *codes = NULL;
  const char *add_t3 = "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"meta\","
                       "\"valueMeta\":{\"tag\":[{\"system\":\"" TAGS "\",\"code\":\"t3\"}]}}]}";

  /* p1: tag t1 and a profile; p2: tag t2 and security R; o1: tag t9, a decimal 1.50 */
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"meta\":{\"profile\":["
          "\"http://example.org/StructureDefinition/p\"],\"tag\":[{\"system\":\"" TAGS "\","
          "\"code\":\"t1\"}]}}");
  put (f, "{\"resourceType\":\"Patient\",\"id\":\"p2\",\"meta\":{\"security\":[{\"system\":"
          "\"http://terminology.hl7.org/CodeSystem/v3-Confidentiality\",\"code\":\"R\"}],"
          "\"tag\":[{\"system\":\"" TAGS "\",\"code\":\"t2\"}]}}");
  put (f, "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"meta\":{\"tag\":[{\"system\":\""
          TAGS "\",\"code\":\"t9\"}]},\"status\":\"final\",\"code\":{\"text\":\"x\"},"
          "\"valueQuantity\":{\"value\":1.50}}");

  one = fetch (f, "GET", "Patient/p1/$meta", NULL, NULL);
  g_assert_cmpuint (one->status, ==, 200);
  codes = meta_codes (one, "tag");
  g_assert_cmpstr (codes, ==, "t1");
  g_clear_pointer (&codes, g_free);
  codes = meta_codes (one, "profile");
  g_assert_cmpstr (codes, ==, "http://example.org/StructureDefinition/p");
  g_clear_pointer (&codes, g_free);
  type = fetch (f, "GET", "Patient/$meta", NULL, NULL);
  codes = meta_codes (type, "tag");
  g_assert_cmpstr (codes, ==, "t1 t2");
  g_clear_pointer (&codes, g_free);
  codes = meta_codes (type, "security");
  g_assert_cmpstr (codes, ==, "R");
  g_clear_pointer (&codes, g_free);
  system = fetch (f, "GET", "$meta", NULL, NULL);
  codes = meta_codes (system, "tag");
  g_assert_cmpstr (codes, ==, "t1 t2 t9");
  g_clear_pointer (&codes, g_free);

  /* $meta-add: t3 joins t1, as version 2; adding it again changes nothing */
  added = fetch (f, "POST", "Patient/p1/$meta-add", add_t3, NULL);
  g_assert_cmpuint (added->status, ==, 200);
  codes = meta_codes (added, "tag");
  g_assert_cmpstr (codes, ==, "t1 t3");
  g_clear_pointer (&codes, g_free);
  g_assert_cmpstr (header (added, "ETag"), ==, "W/\"2\"");
  again = fetch (f, "POST", "Patient/p1/$meta-add", add_t3, NULL);
  g_assert_cmpstr (header (again, "ETag"), ==, "W/\"2\"");
  /* $meta-delete: t1 goes, the profile stays */
  removed = fetch (f, "POST", "Patient/p1/$meta-delete",
                   "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"meta\","
                   "\"valueMeta\":{\"tag\":[{\"system\":\"" TAGS "\",\"code\":\"t1\"}]}}]}",
                   NULL);
  g_assert_cmpuint (removed->status, ==, 200);
  codes = meta_codes (removed, "tag");
  g_assert_cmpstr (codes, ==, "t3");
  g_clear_pointer (&codes, g_free);
  codes = meta_codes (removed, "profile");
  g_assert_cmpstr (codes, ==, "http://example.org/StructureDefinition/p");
  g_clear_pointer (&codes, g_free);
  read = fetch (f, "GET", "Patient/p1", NULL, NULL);
  g_assert_cmpstr (header (read, "ETag"), ==, "W/\"3\"");

  /* the rest of the body is kept as written: 1.50 stays 1.50 */
  decimal = fetch (f, "POST", "Observation/o1/$meta-add", add_t3, NULL);
  g_assert_cmpuint (decimal->status, ==, 200);
  {
    g_autoptr(GBytes) json = charta_store_read_bytes (f->st.store, "Observation", "o1", NULL,
                                                      NULL);
    g_autofree char *text = g_strndup (g_bytes_get_data (json, NULL), g_bytes_get_size (json));

    charta_test_assert_contains (text, "\"value\":1.50");
    charta_test_assert_contains (text, "\"t3\"");
  }

  bad = fetch (f, "POST", "Patient/p1/$meta-add", "{\"resourceType\":\"Patient\"}", NULL);
  g_assert_cmpuint (bad->status, ==, 400);
  assert_outcome (bad, "invalid", "Parameters");
}

/* ---- `charta serve` ------------------------------------------------------------------------ */

static void
test_cli (void)
{
  ChartaTestDir dir;
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(Response) metadata = NULL;
  g_autoptr(Response) created = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autofree char *base = NULL;
  g_autofree char *url = NULL;
  g_autofree char *err = NULL;
  g_auto(ChartaTestRun) init = { 0 };
  g_auto(ChartaTestRun) missing = { 0 };
  g_auto(ChartaTestRun) bad_listen = { 0 };
  g_auto(ChartaTestRun) usage = { 0 };
  GInputStream *err_stream;

  charta_test_dir_set_up (&dir, NULL);
  charta_test_run_charta (&init, "init", dir.store_path, NULL);
  g_assert_cmpint (init.status, ==, 0);

  child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error, charta_test_charta_bin (), "serve", "--listen",
                            "127.0.0.1:0", "--base", "/r4/", dir.store_path, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child));
  base = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (base);
  /* loopback, the port picked, the base path normalised */
  g_assert_true (g_str_has_prefix (base, "http://127.0.0.1:"));
  g_assert_true (g_str_has_suffix (base, "/r4"));

  url = g_strconcat (base, "/metadata", NULL);
  metadata = send_on (session, "GET", url, NULL, NULL, NULL);
  g_assert_cmpuint (metadata->status, ==, 200);
  g_assert_cmpstr (resource_type_of (metadata), ==, "CapabilityStatement");
  g_free (url);
  url = g_strconcat (base, "/Patient", NULL);
  created = send_on (session, "POST", url, "application/fhir+json",
                     "{\"resourceType\":\"Patient\",\"id\":\"q\"}", NULL);
  g_assert_cmpuint (created->status, ==, 201);
  g_clear_object (&session);

  /* SIGTERM: a clean stop, exit 0, the write kept */
  g_subprocess_send_signal (child, SIGTERM);
  g_subprocess_wait (child, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (child));
  g_assert_cmpint (g_subprocess_get_exit_status (child), ==, 0);
  err_stream = g_subprocess_get_stderr_pipe (child);
  {
    char buffer[4096];
    gsize n = 0;

    g_input_stream_read_all (err_stream, buffer, sizeof buffer - 1, &n, NULL, &error);
    g_assert_no_error (error);
    buffer[n] = '\0';
    err = g_strdup (buffer);
  }
  charta_test_assert_contains (err, "stopping");
  store = charta_test_store_open (dir.store_path, CHARTA_STORE_FLAGS_READ_ONLY);
  g_assert_cmpint (charta_test_store_count (store, "Patient"), ==, 1);
  g_clear_object (&store);

  /* SIGINT stops it the same way */
  {
    g_autoptr(GSubprocess) again = NULL;
    g_autoptr(GDataInputStream) again_out = NULL;
    g_autofree char *line = NULL;

    again = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                              &error, charta_test_charta_bin (), "serve", "--listen", "0",
                              dir.store_path, NULL);
    g_assert_no_error (error);
    again_out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (again));
    line = g_data_input_stream_read_line (again_out, NULL, NULL, &error);
    g_assert_no_error (error);
    /* "0" alone: a free port on the loopback, the default base */
    g_assert_true (g_str_has_prefix (line, "http://127.0.0.1:"));
    g_assert_true (g_str_has_suffix (line, "/fhir"));
    g_subprocess_send_signal (again, SIGINT);
    g_subprocess_wait (again, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (g_subprocess_get_if_exited (again));
    g_assert_cmpint (g_subprocess_get_exit_status (again), ==, 0);
  }

  /* failures: no such store (1), an address that is none (1), no store named (2) */
  {
    g_autofree char *nowhere = g_build_filename (dir.dir, "none.charta", NULL);

    charta_test_run_charta (&missing, "serve", "--listen", "127.0.0.1:0", nowhere, NULL);
    g_assert_cmpint (missing.status, ==, 1);
    charta_test_assert_contains (missing.err, "none.charta");
  }
  charta_test_run_charta (&bad_listen, "serve", "--listen", "nowhere:x", dir.store_path, NULL);
  g_assert_cmpint (bad_listen.status, ==, 1);
  charta_test_assert_contains (bad_listen.err, "nowhere:x");
  charta_test_run_charta (&usage, "serve", NULL);
  g_assert_cmpint (usage.status, ==, 2);

  charta_test_dir_tear_down (&dir, NULL);
}

/* ---- main --------------------------------------------------------------------------------- */

static const Config read_only_config = { .read_only = TRUE };
static const Config cors_config = { .cors_origin = "https://app.example" };

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, config, func) \
  g_test_add ("/charta/backend/serve/" path, Fixture, config, fixture_set_up, func, \
              fixture_tear_down)

  ADD ("metadata", NULL, test_metadata);
  ADD ("metadata-read-only", &read_only_config, test_metadata_read_only);
  ADD ("crud", NULL, test_crud);
  ADD ("update-create", NULL, test_update_create);
  ADD ("errors", NULL, test_errors);
  ADD ("conditional-create", NULL, test_conditional_create);
  ADD ("conditional-create-race", NULL, test_conditional_create_race);
  ADD ("conditional-update-delete", NULL, test_conditional_update_delete);
  ADD ("if-match", NULL, test_if_match);
  ADD ("read-conditional", NULL, test_read_conditional);
  ADD ("search", NULL, test_search);
  ADD ("search-paging", NULL, test_search_paging);
  ADD ("search-unknown", NULL, test_search_unknown);
  ADD ("history", NULL, test_history);
  ADD ("formats", NULL, test_formats);
  ADD ("prefer", NULL, test_prefer);
  ADD ("gzip", NULL, test_gzip);
  ADD ("cors", &cors_config, test_cors);
  ADD ("request-id", NULL, test_request_id);
  ADD ("provenance", NULL, test_provenance);
  ADD ("limit-body", &limits_config, test_limit_body);
  ADD ("limit-url-headers", &limits_config, test_limit_url_headers);
  ADD ("limit-connections", &connections_config, test_limit_connections);
  ADD ("limit-idle", &idle_config, test_limit_idle);
  ADD ("limit-connections-silent", &connections_config, test_limit_connections_silent);
  ADD ("limit-idle-silent", &idle_config, test_limit_idle_silent);
  ADD ("raw-requests", NULL, test_raw_requests);
  ADD ("limit-timeout", &timeout_config, test_limit_timeout);
  ADD ("concurrent", NULL, test_concurrent);
  ADD ("transaction", NULL, test_transaction);
  ADD ("transaction-fails", NULL, test_transaction_fails);
  ADD ("batch", NULL, test_batch);
  ADD ("bundle-errors", NULL, test_bundle_errors);
  ADD ("patch-json", NULL, test_patch_json);
  ADD ("patch-requests", NULL, test_patch_requests);
  ADD ("patch-fhirpath", NULL, test_patch_fhirpath);
  ADD ("patch-conditional", NULL, test_patch_conditional);
  ADD ("patch-concurrent", NULL, test_patch_concurrent);
  ADD ("patch-transaction", NULL, test_patch_transaction);
  ADD ("patch-batch", NULL, test_patch_batch);
  ADD ("everything", NULL, test_everything);
  ADD ("validate", NULL, test_validate);
  ADD ("meta", NULL, test_meta);
  ADD ("log-injection", NULL, test_log_injection);
  g_test_add_func ("/charta/backend/serve/log-text", test_log_text);
  g_test_add_func ("/charta/backend/serve/cli", test_cli);

#undef ADD

  return g_test_run ();
}
