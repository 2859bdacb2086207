/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-serve-outcome.c: the OperationOutcome of a resource the endpoint refuses as invalid.
 *
 * A create, update, patch, batch entry or transaction entry whose resource does not validate
 * is answered 422 with one issue per problem, each naming its element in `expression` (a
 * FHIRPath from the resource type down, R4's OperationOutcome.issue.expression; the deprecated
 * `location` is not sent), and $validate says the same with 200.  Each expected path is read
 * off the resource sent, by hand: member names as written, array positions counted from 0.  An
 * error that is no validation problem (an id that is not the URL's) names no element.
 *
 * A server on 127.0.0.1, port 0, over a new store, on its own thread and main context, driven
 * by a SoupSession from the test thread.
 */
#define G_LOG_DOMAIN "charta-test"

#include <string.h>

#include <libsoup/soup.h>

#include "charta-server.h"
#include "charta-test-store-util.h"

/* ---- fixture: a server on its own thread ---------------------------------------------------- */

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
  g_autoptr(GError) error = NULL;

  charta_test_store_set_up (&f->st, NULL);
  f->server = charta_server_new (f->st.store, "/fhir");
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
  unsigned  status;
  JsonNode *json;   /* the body parsed */
} Response;

static void
response_free (Response *r)
{
  g_clear_pointer (&r->json, json_node_unref);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Response, response_free)

/* @method [base]/@path with @body of @content_type (NULL: FHIR JSON). */
static Response *
fetch (Fixture    *f,
       const char *method,
       const char *path,
       const char *content_type,
       const char *body)
{
  g_autofree char *url = g_strconcat (f->base, "/", path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  Response *r = g_new0 (Response, 1);
  gsize length;
  const char *data;

  g_assert_nonnull (msg);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, content_type != NULL
                                                     ? content_type : "application/fhir+json",
                                                bytes);
    }
  answer = soup_session_send_and_read (f->session, msg, NULL, &error);
  g_assert_no_error (error);
  r->status = soup_message_get_status (msg);
  data = g_bytes_get_data (answer, &length);
  if (length > 0 && json_parser_load_from_data (parser, data, (gssize) length, NULL))
    r->json = json_node_ref (json_parser_get_root (parser));
  return r;
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  if (object == NULL || !json_object_has_member (object, name))
    return NULL;
  return json_object_get_string_member (object, name);
}

/* The issues of the OperationOutcome @outcome as "code expression" lines ("-" for none), and
 * each issue checked: severity error, diagnostics starting with the expression and a colon
 * (after @prefix), no location. */
static char *
describe_issues (JsonObject *outcome,
                 const char *prefix)
{
  JsonArray *issues;
  GString *out = g_string_new (NULL);

  g_assert_cmpstr (member_string (outcome, "resourceType"), ==, "OperationOutcome");
  issues = json_object_get_array_member (outcome, "issue");
  for (unsigned i = 0; i < json_array_get_length (issues); i++)
    {
      JsonObject *issue = json_array_get_object_element (issues, i);
      const char *diagnostics = member_string (issue, "diagnostics");
      const char *expression = NULL;

      g_assert_false (json_object_has_member (issue, "location"));
      if (json_object_has_member (issue, "expression"))
        {
          JsonArray *list = json_object_get_array_member (issue, "expression");

          g_assert_cmpuint (json_array_get_length (list), ==, 1);
          expression = json_array_get_string_element (list, 0);
          g_assert_true (g_str_has_prefix (diagnostics, prefix));
          /* "Patient.gender: …" — for a Bundle entry the message names the resource's own path
           * ("Bundle.entry[1]: Patient.gender: …"), the expression the path in the Bundle */
          if (*prefix == '\0')
            {
              g_assert_true (g_str_has_prefix (diagnostics, expression));
              g_assert_cmpint (diagnostics[strlen (expression)], ==, ':');
            }
        }
      if (out->len > 0)
        g_string_append_c (out, '\n');
      g_string_append_printf (out, "%s %s", member_string (issue, "code"),
                              expression != NULL ? expression : "-");
    }
  return g_string_free (out, FALSE);
}

/* @r is 422 with issues that describe_issues() gives as @expected. */
static void
assert_refused (Response   *r,
                const char *expected)
{
  g_autofree char *found = NULL;

  g_assert_cmpuint (r->status, ==, 422);
  g_assert_nonnull (r->json);
  found = describe_issues (json_node_get_object (r->json), "");
  g_assert_cmpstr (found, ==, expected);
}

/* ---- tests -------------------------------------------------------------------------------- */

/* Invalid resources created: one issue per problem, each with its element's path.  (None of
 * these has narrative: dom-6 is a warning, which is not what was refused and is not listed.) */
static void
test_create (Fixture       *f,
             gconstpointer  data)
{
  static const struct
  {
    const char *type;
    const char *json;
    const char *expected;
  } cases[] = {
    /* a string where a number must be: valueQuantity.value is a decimal */
    { "Observation",
      "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
      "\"valueQuantity\":{\"value\":\"1.5\",\"unit\":\"mg\"}}",
      "invalid Observation.valueQuantity.value" },
    /* a number where a string must be: the second given name of the first name */
    { "Patient", "{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"Ann\",7]}]}",
      "invalid Patient.name[0].given[1]" },
    /* an element HumanName does not have, in the second name */
    { "Patient",
      "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"X\"},{\"nickname\":\"Y\"}]}",
      "invalid Patient.name[1].nickname" },
    /* a code outside the required binding of gender (administrative-gender) */
    { "Patient", "{\"resourceType\":\"Patient\",\"gender\":\"boy\"}", "invalid Patient.gender" },
    /* a required element missing: Observation.status is 1..1 */
    { "Observation", "{\"resourceType\":\"Observation\",\"code\":{\"text\":\"x\"}}",
      "invalid Observation.status" },
    /* three problems, in the order of the document (Patient's order of elements): the first
     * identifier's system is no uri (a space), active is a boolean, 30 February is no date */
    { "Patient",
      "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"http://a b\",\"value\":\"1\"}],"
      "\"active\":\"yes\",\"birthDate\":\"1970-02-30\"}",
      "invalid Patient.identifier[0].system\ninvalid Patient.active\ninvalid Patient.birthDate" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(Response) r = fetch (f, "POST", cases[i].type, NULL, cases[i].json);

      g_test_message ("case %zu", i);
      assert_refused (r, cases[i].expected);
    }
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 0);
  g_assert_cmpint (charta_test_store_count (f->st.store, "Observation"), ==, 0);

  /* a valid one is still created */
  {
    g_autoptr(Response) r = fetch (f, "POST", "Patient", NULL,
                                   "{\"resourceType\":\"Patient\",\"gender\":\"female\"}");

    g_assert_cmpuint (r->status, ==, 201);
  }
}

/* Update (PUT), conditional update, and a patch whose result does not validate. */
static void
test_update_patch (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(Response) created = NULL;
  g_autoptr(Response) put = NULL;
  g_autoptr(Response) conditional = NULL;
  g_autoptr(Response) patched = NULL;
  g_autoptr(Response) fhirpath_patched = NULL;
  g_autoptr(Response) other_id = NULL;

  created = fetch (f, "PUT", "Patient/p1", NULL,
                   "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"identifier\":[{\"system\":"
                   "\"urn:test\",\"value\":\"p1\"}],\"name\":[{\"family\":\"A\"}]}");
  g_assert_cmpuint (created->status, ==, 201);

  /* the first name's family is a number */
  put = fetch (f, "PUT", "Patient/p1", NULL,
               "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"family\":5}]}");
  assert_refused (put, "invalid Patient.name[0].family");
  /* the same through criteria that select p1: the contact (first of two) has no name */
  conditional = fetch (f, "PUT", "Patient?identifier=urn:test%7Cp1", NULL,
                       "{\"resourceType\":\"Patient\",\"contact\":[{\"name\":{\"family\":\"B\"}},"
                       "{\"gender\":\"other\",\"relationship\":[{\"text\":\"x\"}]}]}");
  assert_refused (conditional, "invalid Patient.contact[1]");
  /* JSON Patch: a gender outside the binding */
  patched = fetch (f, "PATCH", "Patient/p1", "application/json-patch+json",
                   "[{\"op\":\"add\",\"path\":\"/gender\",\"value\":\"x\"}]");
  assert_refused (patched, "invalid Patient.gender");
  /* FHIRPath Patch: a birth date that is none, added to the patient */
  fhirpath_patched = fetch (f, "PATCH", "Patient/p1", NULL,
                            "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":"
                            "\"operation\",\"part\":[{\"name\":\"type\",\"valueCode\":\"add\"},"
                            "{\"name\":\"path\",\"valueString\":\"Patient\"},{\"name\":\"name\","
                            "\"valueString\":\"birthDate\"},{\"name\":\"value\",\"valueDate\":"
                            "\"2001-02-29\"}]}]}");
  assert_refused (fhirpath_patched, "invalid Patient.birthDate");

  /* an error that is no validation problem names no element */
  other_id = fetch (f, "PUT", "Patient/p1", NULL,
                    "{\"resourceType\":\"Patient\",\"id\":\"p2\",\"gender\":\"boy\"}");
  g_assert_cmpuint (other_id->status, ==, 400);
  {
    g_autofree char *found = describe_issues (json_node_get_object (other_id->json), "");

    g_assert_cmpstr (found, ==, "invalid -");
  }

  /* nothing of it was written: still version 1 */
  {
    g_autoptr(Response) read = fetch (f, "GET", "Patient/p1", NULL, NULL);
    JsonObject *meta = json_object_get_object_member (json_node_get_object (read->json),
                                                      "meta");

    g_assert_cmpstr (member_string (meta, "versionId"), ==, "1");
  }
}

/* $validate answers 200 with the same expressions (and the validator's own issue codes). */
static void
test_validate (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(Response) r = fetch (f, "POST", "Observation/$validate", NULL,
                                 "{\"resourceType\":\"Observation\",\"code\":{\"text\":\"x\"},"
                                 "\"valueQuantity\":{\"value\":\"1.5\"}}");
  g_autofree char *found = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_cmpuint (r->status, ==, 200);
  found = describe_issues (json_node_get_object (r->json), "");
  /* status missing (required), the value a string (structure); dom-6 as a warning */
  charta_test_assert_contains (found, "required Observation.status");
  charta_test_assert_contains (found, "structure Observation.valueQuantity.value");
  lines = g_strsplit (found, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
}

/* A transaction: the entry that does not validate named by its place in the Bundle; a batch:
 * the entry's own outcome, with paths in its resource. */
static void
test_bundles (Fixture       *f,
              gconstpointer  data)
{
  static const char entries[] =
    "\"entry\":["
    "{\"resource\":{\"resourceType\":\"Patient\",\"gender\":\"male\"},"
    "\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},"
    "{\"resource\":{\"resourceType\":\"Patient\",\"name\":[{\"given\":[7]}],\"gender\":\"boy\"},"
    "\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}}]}";
  g_autofree char *transaction = g_strconcat ("{\"resourceType\":\"Bundle\",\"type\":"
                                              "\"transaction\",", entries, NULL);
  g_autofree char *batch = g_strconcat ("{\"resourceType\":\"Bundle\",\"type\":\"batch\",",
                                        entries, NULL);
  g_autoptr(Response) t = fetch (f, "POST", "", NULL, transaction);
  g_autoptr(Response) b = NULL;
  g_autofree char *found = NULL;
  JsonArray *response_entries;
  JsonObject *response;

  g_assert_cmpuint (t->status, ==, 422);
  found = describe_issues (json_node_get_object (t->json), "Bundle.entry[1]: ");
  /* the second entry: its first name's first given name is a number, its gender no code (in
   * the order of Patient's elements, as written) */
  g_assert_cmpstr (found, ==, "invalid Bundle.entry[1].resource.name[0].given[0]\n"
                              "invalid Bundle.entry[1].resource.gender");
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 0);

  b = fetch (f, "POST", "", NULL, batch);
  g_assert_cmpuint (b->status, ==, 200);
  response_entries = json_object_get_array_member (json_node_get_object (b->json), "entry");
  g_assert_cmpuint (json_array_get_length (response_entries), ==, 2);
  response = json_object_get_object_member (json_array_get_object_element (response_entries, 1),
                                            "response");
  g_assert_true (g_str_has_prefix (member_string (response, "status"), "422"));
  g_free (found);
  found = describe_issues (json_object_get_object_member (response, "outcome"), "");
  g_assert_cmpstr (found, ==, "invalid Patient.name[0].given[0]\ninvalid Patient.gender");
  g_assert_cmpint (charta_test_store_count (f->st.store, "Patient"), ==, 1);
}

/* ---- main --------------------------------------------------------------------------------- */

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/charta/backend/serve-outcome/" path, Fixture, NULL, fixture_set_up, func, \
              fixture_tear_down)

  ADD ("create", test_create);
  ADD ("update-patch", test_update_patch);
  ADD ("validate", test_validate);
  ADD ("bundles", test_bundles);

#undef ADD

  return g_test_run ();
}
