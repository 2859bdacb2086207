/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-chart-at.c: a chart as it was at an instant (charta-chart-at.h), against a real server
 * with a history written by hand, and against fake servers that fail.
 *
 * The real server is a ChartaServer over a new store in a temporary folder, on the test
 * thread's default context (its store work runs on worker threads); the history is written
 * straight into the store, with short sleeps around the instant AT that the test records, and
 * every write's own meta.lastUpdated is checked to fall on the side of AT the test means.  The
 * expected answers are worked out by hand from that history, in the comments beside them.
 * The fake servers are bare SoupServers that answer each path as a test tells them, and log
 * the paths asked for.  No display needed.
 */
#define G_LOG_DOMAIN "charta-test"

#include <string.h>

#include <libsoup/soup.h>

#include "charta-chart-at.h"
#include "charta-client.h"
#include "charta-fhir-text.h"
#include "charta-server.h"
#include "charta-test-store-util.h"

/* No wait in these tests may last longer. */
#define DEADLINE_SECONDS 30

/* How many Observations of Q are created after AT to push the interesting changes onto the
 * history's second page (history is newest first). */
#define N_FILLERS (CHARTA_CHART_AT_HISTORY_PAGE + 10)

/* ---- waiting for a callback --------------------------------------------------------------- */

typedef struct
{
  gboolean done;
  unsigned n_calls;
  GPtrArray *resources;
  JsonNode *patient;
  gboolean more;
  GError *error;
} Answer;

static void
answer_clear (Answer *a)
{
  g_clear_pointer (&a->resources, g_ptr_array_unref);
  g_clear_pointer (&a->patient, json_node_unref);
  g_clear_error (&a->error);
  a->done = FALSE;
  a->n_calls = 0;
  a->more = FALSE;
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
got_section (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Answer *a = user_data;

  a->more = TRUE;  /* the finish must set it, either way */
  a->resources = charta_chart_at_read_finish (CHARTA_CLIENT (source), result, &a->more,
                                              &a->error);
  a->n_calls++;
  a->done = TRUE;
}

static void
got_patient (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Answer *a = user_data;

  a->patient = charta_chart_at_read_patient_finish (CHARTA_CLIENT (source), result, &a->error);
  a->n_calls++;
  a->done = TRUE;
}

static void
read_section (ChartaClient               *client,
              const char                 *patient_id,
              GDateTime                  *at,
              const ChartaChartAtSection *section,
              Answer                     *a)
{
  answer_clear (a);
  charta_chart_at_read_async (client, patient_id, at, section, NULL, got_section, a);
  wait_until (&a->done);
  g_assert_cmpuint (a->n_calls, ==, 1);
}

static void
read_patient (ChartaClient *client,
              const char   *patient_id,
              GDateTime    *at,
              Answer       *a)
{
  answer_clear (a);
  charta_chart_at_read_patient_async (client, patient_id, at, NULL, got_patient, a);
  wait_until (&a->done);
  g_assert_cmpuint (a->n_calls, ==, 1);
}

static void
got_get (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Answer *a = user_data;

  a->patient = charta_client_get_finish (CHARTA_CLIENT (source), result, &a->error);
  a->done = TRUE;
}

/* GET @path; fails the test on error. */
static JsonNode *
get_json (ChartaClient *client,
          const char   *path)
{
  Answer a = { 0 };
  JsonNode *node;

  charta_client_get_async (client, path, NULL, got_get, &a);
  wait_until (&a.done);
  g_assert_no_error (a.error);
  node = g_steal_pointer (&a.patient);
  answer_clear (&a);
  return node;
}

/* ---- the sections, as the chart view has them --------------------------------------------- */

static const ChartaChartAtSection observations = {
  .type = "Observation",
  .params = "_sort=-date",
  .sort_date = "-effective",
  .count = 20,
};

static const ChartaChartAtSection problems = {
  .type = "Condition",
  .params = "clinical-status=active",
  .keep = charta_chart_at_is_clinically_active,
  .in_error_params = "verification-status=entered-in-error",
  .keep_in_error = charta_fhir_is_entered_in_error,
  .count = 100,
};

/* ---- small readers ------------------------------------------------------------------------ */

static const char *
id_of (JsonNode *node)
{
  return charta_json_get_string (json_node_get_object (node), "id");
}

/* The ids of @resources joined with ',' ("o1,o4"), for one comparison that shows the order. */
static char *
ids_of (GPtrArray *resources)
{
  GString *text = g_string_new (NULL);

  for (unsigned i = 0; resources != NULL && i < resources->len; i++)
    {
      if (i > 0)
        g_string_append_c (text, ',');
      g_string_append (text, id_of (g_ptr_array_index (resources, i)));
    }
  return g_string_free (text, FALSE);
}

/* The resource with @id in @resources, or NULL. */
static JsonObject *
find (GPtrArray  *resources,
      const char *id)
{
  for (unsigned i = 0; i < resources->len; i++)
    if (g_strcmp0 (id_of (g_ptr_array_index (resources, i)), id) == 0)
      return json_node_get_object (g_ptr_array_index (resources, i));
  return NULL;
}

static double
value_of (JsonObject *observation)
{
  JsonObject *quantity = charta_json_get_object (observation, "valueQuantity");

  g_assert_nonnull (quantity);
  return json_object_get_double_member (quantity, "value");
}

static const char *
family_of (JsonObject *patient)
{
  return charta_json_get_string (charta_json_get_first (patient, "name"), "family");
}

/* The matches of a searchset Bundle, in order. */
static GPtrArray *
matches_of (JsonNode *bundle)
{
  GPtrArray *resources = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  JsonArray *entries = charta_json_get_array (json_node_get_object (bundle), "entry");

  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_node_get_object (json_array_get_element (entries, i));

      g_ptr_array_add (resources, json_node_ref (json_object_get_member (entry, "resource")));
    }
  return resources;
}

static GDateTime *
instant_of (const char *text)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  GDateTime *dt = g_date_time_new_from_iso8601 (text, utc);

  g_assert_nonnull (dt);
  return dt;
}

/* ---- the history, written by hand --------------------------------------------------------- */

typedef struct
{
  ChartaTestStore st;
  ChartaServer *server;
  ChartaClient *client;
  Answer answer;
  GDateTime *before;       /* before anything was written */
  GDateTime *at;           /* AT: between the first writes and the changes */
  GDateTime *o6_created;   /* the exact instant of O6's creation (after AT) */
  GDateTime *now;          /* after every write */
  GDateTime *last_before;  /* the last write before AT */
  GDateTime *first_after;  /* the first write after AT */
} Fixture;

/* Writes @json (with its id) into the store; returns its meta.lastUpdated. */
static GDateTime *
put (Fixture    *f,
     const char *json)
{
  g_autoptr(ChartaResource) resource = charta_test_parse (json);
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *meta;

  stored = charta_store_update (f->st.store, resource, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  meta = charta_json_get_object (charta_resource_get_object (stored), "meta");
  return instant_of (charta_json_get_string (meta, "lastUpdated"));
}

static GDateTime *
put_observation (Fixture    *f,
                 const char *id,
                 const char *patient,
                 const char *date,
                 int         value)
{
  g_autofree char *json = g_strdup_printf ("{\"resourceType\":\"Observation\",\"id\":\"%s\","
                                           "\"status\":\"final\",\"code\":{\"text\":\"Weight\"},"
                                           "\"subject\":{\"reference\":\"Patient/%s\"},"
                                           "\"effectiveDateTime\":\"%s\","
                                           "\"valueQuantity\":{\"value\":%d,\"unit\":\"kg\"}}",
                                           id, patient, date, value);

  return put (f, json);
}

/* A Condition of p; an entered-in-error one has no clinicalStatus (con-5). */
static GDateTime *
put_condition (Fixture    *f,
               const char *id,
               const char *clinical,
               const char *verification)
{
  g_autofree char *status = NULL;
  g_autofree char *json = NULL;

  if (strcmp (verification, "entered-in-error") != 0)
    status = g_strdup_printf ("\"clinicalStatus\":{\"coding\":[{\"system\":"
                              "\"http://terminology.hl7.org/CodeSystem/condition-clinical\","
                              "\"code\":\"%s\"}]},", clinical);
  json = g_strdup_printf ("{\"resourceType\":\"Condition\",\"id\":\"%s\",%s"
                          "\"verificationStatus\":{\"coding\":[{\"system\":"
                          "\"http://terminology.hl7.org/CodeSystem/condition-ver-status\","
                          "\"code\":\"%s\"}]},"
                          "\"code\":{\"text\":\"Asthma\"},"
                          "\"subject\":{\"reference\":\"Patient/p\"}}",
                          id, status != NULL ? status : "", verification);
  return put (f, json);
}

static GDateTime *
put_patient (Fixture    *f,
             const char *id,
             const char *family)
{
  g_autofree char *json = g_strdup_printf ("{\"resourceType\":\"Patient\",\"id\":\"%s\","
                                           "\"name\":[{\"family\":\"%s\",\"given\":[\"Ada\"]}]}",
                                           id, family);

  return put (f, json);
}

static void
delete (Fixture    *f,
        const char *type,
        const char *id)
{
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (charta_store_delete (f->st.store, type, id, 0, NULL, &error), >, 0);
  g_assert_no_error (error);
}

/* A pause long enough for the clock to move on past what was just written. */
static void
tick (void)
{
  g_usleep (3000);
}

/* The history every test of the real server reads:
 *
 *   before AT:  Patients p (family "Oldname"), q, z.
 *               o1 (p, 2024-01-04, 5), o2 (p, 2024-01-02, 6), o3 (p, 2024-01-01, 7),
 *               o4 (p, 2024-01-03, 8), o5 (q, 2024-01-06, 9), o8 (q, 2024-01-07, 10),
 *               o9 (p, 2023-12-31, 1) then o9 deleted,
 *               o10 (p, 2023-12-30, 11) then updated to 12.
 *               Conditions of p: c1 active, c2 active, c3 active then entered-in-error,
 *               c4 active.
 *   AT
 *   after AT:   o1's value 5 → 50; o2 deleted; o6 created (p, 2024-01-05, 13); o3's subject
 *               p → q; o8's subject q → p; c1 resolved; c2 entered-in-error; c5 created
 *               active; p renamed "Newname"; z deleted; then N_FILLERS Observations of q
 *               (2020-01-01), so that the changes above are on the second history page.
 *   now
 */
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

  f->before = g_date_time_new_now_utc ();
  tick ();
  g_date_time_unref (put_patient (f, "p", "Oldname"));
  g_date_time_unref (put_patient (f, "q", "Other"));
  g_date_time_unref (put_patient (f, "z", "Gone"));
  g_date_time_unref (put_observation (f, "o1", "p", "2024-01-04", 5));
  g_date_time_unref (put_observation (f, "o2", "p", "2024-01-02", 6));
  g_date_time_unref (put_observation (f, "o3", "p", "2024-01-01", 7));
  g_date_time_unref (put_observation (f, "o4", "p", "2024-01-03", 8));
  g_date_time_unref (put_observation (f, "o5", "q", "2024-01-06", 9));
  g_date_time_unref (put_observation (f, "o8", "q", "2024-01-07", 10));
  g_date_time_unref (put_observation (f, "o9", "p", "2023-12-31", 1));
  delete (f, "Observation", "o9");
  g_date_time_unref (put_observation (f, "o10", "p", "2023-12-30", 11));
  g_date_time_unref (put_observation (f, "o10", "p", "2023-12-30", 12));
  g_date_time_unref (put_condition (f, "c1", "active", "confirmed"));
  g_date_time_unref (put_condition (f, "c2", "active", "confirmed"));
  g_date_time_unref (put_condition (f, "c3", "active", "confirmed"));
  g_date_time_unref (put_condition (f, "c3", NULL, "entered-in-error"));
  f->last_before = put_condition (f, "c4", "active", "confirmed");

  tick ();
  f->at = g_date_time_new_now_utc ();
  tick ();

  f->first_after = put_observation (f, "o1", "p", "2024-01-04", 50);
  delete (f, "Observation", "o2");
  f->o6_created = put_observation (f, "o6", "p", "2024-01-05", 13);
  g_date_time_unref (put_observation (f, "o3", "q", "2024-01-01", 7));
  g_date_time_unref (put_observation (f, "o8", "p", "2024-01-07", 10));
  g_date_time_unref (put_condition (f, "c1", "resolved", "confirmed"));
  g_date_time_unref (put_condition (f, "c2", NULL, "entered-in-error"));
  g_date_time_unref (put_condition (f, "c5", "active", "confirmed"));
  g_date_time_unref (put_patient (f, "p", "Newname"));
  delete (f, "Patient", "z");
  for (unsigned i = 0; i < N_FILLERS; i++)
    {
      g_autofree char *id = g_strdup_printf ("filler-%u", i);

      g_date_time_unref (put_observation (f, id, "q", "2020-01-01", (int) i));
    }
  tick ();
  f->now = g_date_time_new_now_utc ();

  /* the premise: every write before AT is older than AT, every write after it newer */
  g_assert_cmpint (g_date_time_compare (f->last_before, f->at), <, 0);
  g_assert_cmpint (g_date_time_compare (f->at, f->first_after), <, 0);
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
  g_clear_pointer (&f->before, g_date_time_unref);
  g_clear_pointer (&f->at, g_date_time_unref);
  g_clear_pointer (&f->o6_created, g_date_time_unref);
  g_clear_pointer (&f->now, g_date_time_unref);
  g_clear_pointer (&f->last_before, g_date_time_unref);
  g_clear_pointer (&f->first_after, g_date_time_unref);
}

/* ---- against the real server -------------------------------------------------------------- */

/* The server's _at on an instance history gives exactly the one version current then: o1 at
 * AT is version 1 (value 5), o2 at AT is its only version, and at "now" o2 is its delete. */
static void
test_server_at (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *at = charta_chart_at_format_instant (f->at);
  g_autofree char *now = charta_chart_at_format_instant (f->now);
  g_autofree char *o1_path = g_strdup_printf ("Observation/o1/_history?_at=%s", at);
  g_autofree char *o2_path = g_strdup_printf ("Observation/o2/_history?_at=%s", now);
  g_autoptr(JsonNode) o1 = get_json (f->client, o1_path);
  g_autoptr(JsonNode) o2 = get_json (f->client, o2_path);
  JsonArray *entries = charta_json_get_array (json_node_get_object (o1), "entry");
  JsonObject *entry;

  g_assert_nonnull (entries);
  g_assert_cmpuint (json_array_get_length (entries), ==, 1);
  entry = json_node_get_object (json_array_get_element (entries, 0));
  g_assert_cmpstr (charta_json_get_string (charta_json_get_object (
                     charta_json_get_object (entry, "resource"), "meta"), "versionId"), ==, "1");
  g_assert_cmpfloat (value_of (charta_json_get_object (entry, "resource")), ==, 5);

  entries = charta_json_get_array (json_node_get_object (o2), "entry");
  g_assert_nonnull (entries);
  g_assert_cmpuint (json_array_get_length (entries), ==, 1);
  entry = json_node_get_object (json_array_get_element (entries, 0));
  g_assert_null (charta_json_get_object (entry, "resource"));
  g_assert_cmpstr (charta_json_get_string (charta_json_get_object (entry, "request"), "method"),
                   ==, "DELETE");
}

/* The observations at AT.  Of p's: o1 (changed since: its version 1, value 5), o2 (deleted
 * since: its last version), o3 (moved to q since: it was p's at AT), o4 and o10 (unchanged
 * since: from the search; o10 at its version 2, value 12).  Not o5 (q's), o6 (created after
 * AT), o8 (q's at AT, p's only after), o9 (deleted before AT), nor the fillers (q's, after).
 * Newest effective first: o1 01-04, o4 01-03, o2 01-02, o3 01-01, o10 2023-12-30.  The
 * changed ones are all on the history's second page, so a read that stopped at the first would
 * miss o1, o2 and o3. */
static void
test_observations_at (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *ids = NULL;

  read_section (f->client, "p", f->at, &observations, &f->answer);
  g_assert_no_error (f->answer.error);
  ids = ids_of (f->answer.resources);
  g_assert_cmpstr (ids, ==, "o1,o4,o2,o3,o10");
  g_assert_false (f->answer.more);
  g_assert_cmpfloat (value_of (find (f->answer.resources, "o1")), ==, 5);
  g_assert_cmpfloat (value_of (find (f->answer.resources, "o10")), ==, 12);
  g_assert_cmpstr (charta_json_get_string (charta_json_get_object (find (f->answer.resources,
                                                                         "o3"), "subject"),
                                           "reference"), ==, "Patient/p");
}

/* Count 3 of the five at AT: the three newest, and more. */
static void
test_observations_count (Fixture       *f,
                         gconstpointer  data)
{
  ChartaChartAtSection three = observations;
  g_autofree char *ids = NULL;

  three.count = 3;
  read_section (f->client, "p", f->at, &three, &f->answer);
  g_assert_no_error (f->answer.error);
  ids = ids_of (f->answer.resources);
  g_assert_cmpstr (ids, ==, "o1,o4,o2");
  g_assert_true (f->answer.more);
}

/* At the exact microsecond o6 was created, o6 is there (its version 1 was current then);
 * one microsecond earlier it is not.  By then o1 had been changed (value 50) and o2 deleted;
 * o3 was still p's.  Newest first: o6 01-05, o1 01-04, o4 01-03, o3 01-01, o10. */
static void
test_observations_boundary (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GDateTime) just_before = g_date_time_add (f->o6_created, -1);
  g_autofree char *ids = NULL;
  g_autofree char *ids_before = NULL;

  read_section (f->client, "p", f->o6_created, &observations, &f->answer);
  g_assert_no_error (f->answer.error);
  ids = ids_of (f->answer.resources);
  g_assert_cmpstr (ids, ==, "o6,o1,o4,o3,o10");
  g_assert_cmpfloat (value_of (find (f->answer.resources, "o1")), ==, 50);

  read_section (f->client, "p", just_before, &observations, &f->answer);
  g_assert_no_error (f->answer.error);
  ids_before = ids_of (f->answer.resources);
  g_assert_cmpstr (ids_before, ==, "o1,o4,o3,o10");
}

/* At "now" the read is the plain current search, resource for resource: o8 (moved to p),
 * o6, o1 (value 50), o4, o10. */
static void
test_observations_now (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(JsonNode) bundle = get_json (f->client, "Observation?patient=p&_sort=-date"
                                                    "&_count=20");
  g_autoptr(GPtrArray) current = matches_of (bundle);
  g_autofree char *ids = NULL;

  read_section (f->client, "p", f->now, &observations, &f->answer);
  g_assert_no_error (f->answer.error);
  ids = ids_of (f->answer.resources);
  g_assert_cmpstr (ids, ==, "o8,o6,o1,o4,o10");
  g_assert_cmpuint (f->answer.resources->len, ==, current->len);
  for (unsigned i = 0; i < current->len; i++)
    {
      g_autofree char *where = NULL;

      if (!charta_test_json_equal (g_ptr_array_index (f->answer.resources, i),
                                   g_ptr_array_index (current, i), &where))
        g_error ("resource %u differs from the current search's at %s", i, where);
    }
  g_assert_false (f->answer.more);
}

/* Before anything was written: nothing, and the Patient not yet recorded. */
static void
test_before_anything (Fixture       *f,
                      gconstpointer  data)
{
  read_section (f->client, "p", f->before, &observations, &f->answer);
  g_assert_no_error (f->answer.error);
  g_assert_nonnull (f->answer.resources);
  g_assert_cmpuint (f->answer.resources->len, ==, 0);
  g_assert_false (f->answer.more);

  read_section (f->client, "p", f->before, &problems, &f->answer);
  g_assert_no_error (f->answer.error);
  g_assert_cmpuint (f->answer.resources->len, ==, 0);

  read_patient (f->client, "p", f->before, &f->answer);
  g_assert_null (f->answer.patient);
  g_assert_error (f->answer.error, CHARTA_CHART_AT_ERROR, CHARTA_CHART_AT_ERROR_NOT_RECORDED);
  charta_test_assert_contains (f->answer.error->message, "Patient/p had not been recorded yet");
}

/* The problems at AT: active were c4 (unchanged: from the search), c2 and c1 (changed since:
 * c2 most recently, so first of the two), all active then; c3 was entered-in-error (from the
 * second search); c5 did not exist.  Now: active c4 and c5 (in creation order), and
 * entered-in-error c2 and c3 (in creation order): the two plain searches' answers. */
static void
test_problems (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *ids = NULL;
  g_autofree char *ids_now = NULL;
  g_autoptr(JsonNode) active = NULL;
  g_autoptr(JsonNode) in_error = NULL;
  g_autoptr(GPtrArray) current = NULL;
  g_autoptr(GPtrArray) current_in_error = NULL;
  g_autofree char *expected_now = NULL;
  g_autofree char *active_ids = NULL;
  g_autofree char *in_error_ids = NULL;

  read_section (f->client, "p", f->at, &problems, &f->answer);
  g_assert_no_error (f->answer.error);
  ids = ids_of (f->answer.resources);
  g_assert_cmpstr (ids, ==, "c4,c2,c1,c3");
  g_assert_true (charta_chart_at_is_clinically_active (find (f->answer.resources, "c1")));
  g_assert_false (charta_fhir_is_entered_in_error (find (f->answer.resources, "c2")));
  g_assert_true (charta_fhir_is_entered_in_error (find (f->answer.resources, "c3")));

  read_section (f->client, "p", f->now, &problems, &f->answer);
  g_assert_no_error (f->answer.error);
  ids_now = ids_of (f->answer.resources);
  g_assert_cmpstr (ids_now, ==, "c4,c5,c2,c3");

  active = get_json (f->client, "Condition?patient=p&clinical-status=active&_count=100");
  in_error = get_json (f->client, "Condition?patient=p&verification-status=entered-in-error"
                                  "&_count=100");
  current = matches_of (active);
  current_in_error = matches_of (in_error);
  active_ids = ids_of (current);
  in_error_ids = ids_of (current_in_error);
  expected_now = g_strdup_printf ("%s,%s", active_ids, in_error_ids);
  g_assert_cmpstr (ids_now, ==, expected_now);
}

/* p was "Oldname" at AT and is "Newname" now; z existed at AT and is deleted now; nobody
 * has heard of "nobody". */
static void
test_patient (Fixture       *f,
              gconstpointer  data)
{
  read_patient (f->client, "p", f->at, &f->answer);
  g_assert_no_error (f->answer.error);
  g_assert_cmpstr (family_of (json_node_get_object (f->answer.patient)), ==, "Oldname");

  read_patient (f->client, "p", f->now, &f->answer);
  g_assert_no_error (f->answer.error);
  g_assert_cmpstr (family_of (json_node_get_object (f->answer.patient)), ==, "Newname");

  read_patient (f->client, "z", f->at, &f->answer);
  g_assert_no_error (f->answer.error);
  g_assert_cmpstr (family_of (json_node_get_object (f->answer.patient)), ==, "Gone");

  read_patient (f->client, "z", f->now, &f->answer);
  g_assert_null (f->answer.patient);
  g_assert_error (f->answer.error, CHARTA_CHART_AT_ERROR, CHARTA_CHART_AT_ERROR_DELETED);
  charta_test_assert_contains (f->answer.error->message, "Patient/z had been deleted by");

  read_patient (f->client, "nobody", f->at, &f->answer);
  g_assert_null (f->answer.patient);
  g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_NOT_FOUND);
}

static gboolean
cancel_now (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

/* Cancelled before it starts, and while it runs: cancelled, nothing returned, one callback. */
static void
test_cancelled (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GCancellable) early = g_cancellable_new ();
  g_autoptr(GCancellable) late = g_cancellable_new ();

  g_cancellable_cancel (early);
  answer_clear (&f->answer);
  charta_chart_at_read_async (f->client, "p", f->at, &observations, early, got_section,
                              &f->answer);
  wait_until (&f->answer.done);
  g_assert_null (f->answer.resources);
  g_assert_false (f->answer.more);
  g_assert_error (f->answer.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  answer_clear (&f->answer);
  charta_chart_at_read_async (f->client, "p", f->at, &observations, late, got_section,
                              &f->answer);
  g_idle_add (cancel_now, late);
  wait_until (&f->answer.done);
  g_assert_null (f->answer.resources);
  g_assert_error (f->answer.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* nothing more arrives afterwards */
  for (unsigned i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (f->answer.n_calls, ==, 1);
}

/* ---- fake servers ------------------------------------------------------------------------- */

/* AT for the fake servers, and instants either side of it. */
#define FAKE_AT     "2024-03-01T12:00:00Z"
#define FAKE_BEFORE "2024-02-01T08:00:00.000000Z"
#define FAKE_AFTER  "2024-03-02T09:00:00.000000Z"
#define FAKE_LATER  "2024-03-03T09:00:00.000000Z"

#define FAKE_OBSERVATION(id, subject, value, version, when) \
  "{\"resourceType\":\"Observation\",\"id\":\"" id "\",\"meta\":{\"versionId\":\"" version \
  "\",\"lastUpdated\":\"" when "\"},\"status\":\"final\",\"code\":{\"text\":\"Weight\"}," \
  "\"subject\":{\"reference\":\"Patient/" subject "\"},\"effectiveDateTime\":\"2024-01-01\"," \
  "\"valueQuantity\":{\"value\":" value "}}"

/* The search: one match of p's, unchanged since long before AT. */
static const char fake_search[] =
  "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"entry\":[{\"resource\":"
  FAKE_OBSERVATION ("kept", "p", "1", "1", FAKE_BEFORE) ",\"search\":{\"mode\":\"match\"}}]}";

/* A history since AT: o1 changed (not created) after AT, fresh created after AT. */
static const char fake_history[] =
  "{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":["
  "{\"resource\":" FAKE_OBSERVATION ("fresh", "p", "9", "1", FAKE_LATER) ","
  "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"},"
  "\"response\":{\"status\":\"201 Created\",\"lastModified\":\"" FAKE_LATER "\"}},"
  "{\"resource\":" FAKE_OBSERVATION ("o1", "p", "3", "2", FAKE_AFTER) ","
  "\"request\":{\"method\":\"PUT\",\"url\":\"Observation/o1\"},"
  "\"response\":{\"status\":\"200 OK\",\"lastModified\":\"" FAKE_AFTER "\"}}]}";

/* o1's whole history, as a server that ignores _at would answer: version 1 is the one at AT. */
static const char fake_o1_history[] =
  "{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":["
  "{\"resource\":" FAKE_OBSERVATION ("o1", "p", "3", "2", FAKE_AFTER) ","
  "\"request\":{\"method\":\"PUT\",\"url\":\"Observation/o1\"},"
  "\"response\":{\"status\":\"200 OK\",\"lastModified\":\"" FAKE_AFTER "\"}},"
  "{\"resource\":" FAKE_OBSERVATION ("o1", "p", "2", "1", FAKE_BEFORE) ","
  "\"request\":{\"method\":\"POST\",\"url\":\"Observation\"},"
  "\"response\":{\"status\":\"201 Created\",\"lastModified\":\"" FAKE_BEFORE "\"}}]}";

typedef enum
{
  FAKE_GOOD,          /* every answer right (o1 read from its whole history) */
  FAKE_HISTORY_500,   /* the type history fails with an HTML 500 */
  FAKE_HISTORY_JUNK,  /* the type history is not JSON */
  FAKE_HISTORY_ODD,   /* the type history has an entry that is neither version nor delete */
  FAKE_HISTORY_AWAY,  /* the type history's next link goes to another server */
  FAKE_VERSION_500,   /* o1's history fails */
} FakeMode;

typedef struct
{
  SoupServer *server;
  ChartaClient *client;
  GDateTime *at;
  FakeMode mode;
  GPtrArray *paths;   /* char *: the paths asked for, in order */
  Answer answer;
} Fake;

static void
respond (SoupServerMessage *msg,
         unsigned           status,
         const char        *type,
         const char        *body)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, type, SOUP_MEMORY_COPY, body, strlen (body));
}

static void
fake_handler (SoupServer        *server,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  Fake *fake = user_data;
  static const char fhir[] = "application/fhir+json";

  g_ptr_array_add (fake->paths, g_strdup (path));
  if (strcmp (path, "/fhir/Observation") == 0)
    respond (msg, 200, fhir, fake_search);
  else if (strcmp (path, "/fhir/Observation/_history") == 0)
    {
      switch (fake->mode)
        {
        case FAKE_HISTORY_500:
          respond (msg, 500, "text/html", "<html><body>Oops</body></html>");
          break;
        case FAKE_HISTORY_JUNK:
          respond (msg, 200, fhir, "{\"resourceType\":\"Bundle\",\"type\":\"hist");
          break;
        case FAKE_HISTORY_ODD:
          respond (msg, 200, fhir, "{\"resourceType\":\"Bundle\",\"type\":\"history\","
                                   "\"entry\":[{\"fullUrl\":\"Observation/o1\"}]}");
          break;
        case FAKE_HISTORY_AWAY:
          respond (msg, 200, fhir, "{\"resourceType\":\"Bundle\",\"type\":\"history\","
                                   "\"link\":[{\"relation\":\"next\",\"url\":"
                                   "\"http://example.org/fhir/Observation/_history?p=2\"}]}");
          break;
        case FAKE_GOOD:
        case FAKE_VERSION_500:
        default:
          respond (msg, 200, fhir, fake_history);
          break;
        }
    }
  else if (strcmp (path, "/fhir/Observation/o1/_history") == 0)
    {
      if (fake->mode == FAKE_VERSION_500)
        respond (msg, 500, "text/html", "<html><body>Oops</body></html>");
      else
        respond (msg, 200, fhir, fake_o1_history);
    }
  else if (strcmp (path, "/fhir/Patient/p/_history") == 0)
    respond (msg, 500, "text/html", "<html><body>Oops</body></html>");
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

  f->mode = GPOINTER_TO_INT (data);
  f->paths = g_ptr_array_new_with_free_func (g_free);
  f->at = instant_of (FAKE_AT);
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
  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
  g_ptr_array_unref (f->paths);
  g_date_time_unref (f->at);
}

static gboolean
asked_for (Fake       *f,
           const char *path)
{
  for (unsigned i = 0; i < f->paths->len; i++)
    if (strcmp (g_ptr_array_index (f->paths, i), path) == 0)
      return TRUE;
  return FALSE;
}

/* A right answer: "kept" from the search; o1 changed after AT, read as its version 1 (value
 * 2) out of its whole history (the newest version at or before AT); "fresh" created after AT,
 * so never asked for.  The search is asked before the history. */
static void
test_fake_good (Fake          *f,
                gconstpointer  data)
{
  ChartaChartAtSection unsorted = observations;
  g_autofree char *ids = NULL;

  unsorted.sort_date = NULL;
  read_section (f->client, "p", f->at, &unsorted, &f->answer);
  g_assert_no_error (f->answer.error);
  ids = ids_of (f->answer.resources);
  g_assert_cmpstr (ids, ==, "kept,o1");
  g_assert_cmpfloat (value_of (find (f->answer.resources, "o1")), ==, 2);
  g_assert_cmpuint (f->paths->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (f->paths, 0), ==, "/fhir/Observation");
  g_assert_cmpstr (g_ptr_array_index (f->paths, 1), ==, "/fhir/Observation/_history");
  g_assert_cmpstr (g_ptr_array_index (f->paths, 2), ==, "/fhir/Observation/o1/_history");
  g_assert_false (asked_for (f, "/fhir/Observation/fresh/_history"));
}

/* A history that fails in any way fails the whole read: an error naming what, no resources
 * (though the search had one), no "more". */
static void
test_fake_broken (Fake          *f,
                  gconstpointer  data)
{
  read_section (f->client, "p", f->at, &observations, &f->answer);
  g_assert_null (f->answer.resources);
  g_assert_false (f->answer.more);
  g_assert_nonnull (f->answer.error);
  g_assert_true (asked_for (f, "/fhir/Observation"));

  switch (f->mode)
    {
    case FAKE_HISTORY_500:
      g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_SERVER);
      charta_test_assert_contains (f->answer.error->message, "HTTP 500");
      charta_test_assert_contains (f->answer.error->message, "Observation/_history");
      break;
    case FAKE_HISTORY_JUNK:
      g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED);
      charta_test_assert_contains (f->answer.error->message, "not JSON");
      break;
    case FAKE_HISTORY_ODD:
      g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED);
      charta_test_assert_contains (f->answer.error->message, "entry[0]");
      charta_test_assert_contains (f->answer.error->message, "the history of Observation");
      break;
    case FAKE_HISTORY_AWAY:
      g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED);
      charta_test_assert_contains (f->answer.error->message, "another server");
      g_assert_cmpuint (f->paths->len, ==, 2);
      break;
    case FAKE_VERSION_500:
      g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_SERVER);
      charta_test_assert_contains (f->answer.error->message, "Observation/o1/_history");
      break;
    case FAKE_GOOD:
    default:
      g_assert_not_reached ();
    }
}

/* The Patient's history failing: the client's error, no Patient. */
static void
test_fake_patient (Fake          *f,
                   gconstpointer  data)
{
  read_patient (f->client, "p", f->at, &f->answer);
  g_assert_null (f->answer.patient);
  g_assert_error (f->answer.error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_SERVER);
}

/* ---- without a server --------------------------------------------------------------------- */

/* AT goes out in UTC with microseconds, whatever its zone: 12:00:00.000042 at +02:00 is
 * 10:00:00.000042Z. */
static void
test_format_instant (void)
{
  g_autoptr(GTimeZone) plus_two = g_time_zone_new_identifier ("+02:00");
  g_autoptr(GDateTime) local = g_date_time_new (plus_two, 2024, 5, 1, 12, 0, 0.000042);
  g_autoptr(GDateTime) whole = g_date_time_new_utc (2024, 5, 1, 10, 20, 30);
  g_autofree char *local_text = charta_chart_at_format_instant (local);
  g_autofree char *whole_text = charta_chart_at_format_instant (whole);

  g_assert_cmpstr (local_text, ==, "2024-05-01T10:00:00.000042Z");
  g_assert_cmpstr (whole_text, ==, "2024-05-01T10:20:30.000000Z");
}

static void
test_filters (void)
{
  g_autoptr(JsonNode) active = json_from_string (
    "{\"clinicalStatus\":{\"coding\":[{\"code\":\"x\"},{\"code\":\"active\"}]},"
    "\"status\":\"active\"}", NULL);
  g_autoptr(JsonNode) resolved = json_from_string (
    "{\"clinicalStatus\":{\"coding\":[{\"code\":\"resolved\"}]},\"status\":\"stopped\"}", NULL);

  g_assert_true (charta_chart_at_is_clinically_active (json_node_get_object (active)));
  g_assert_true (charta_chart_at_is_status_active (json_node_get_object (active)));
  g_assert_false (charta_chart_at_is_clinically_active (json_node_get_object (resolved)));
  g_assert_false (charta_chart_at_is_status_active (json_node_get_object (resolved)));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/charta/gui/chart-at/format-instant", test_format_instant);
  g_test_add_func ("/charta/gui/chart-at/filters", test_filters);
  g_test_add ("/charta/gui/chart-at/server-at", Fixture, NULL, fixture_set_up, test_server_at,
              fixture_tear_down);
  g_test_add ("/charta/gui/chart-at/observations-at", Fixture, NULL, fixture_set_up,
              test_observations_at, fixture_tear_down);
  g_test_add ("/charta/gui/chart-at/observations-count", Fixture, NULL, fixture_set_up,
              test_observations_count, fixture_tear_down);
  g_test_add ("/charta/gui/chart-at/observations-boundary", Fixture, NULL, fixture_set_up,
              test_observations_boundary, fixture_tear_down);
  g_test_add ("/charta/gui/chart-at/observations-now", Fixture, NULL, fixture_set_up,
              test_observations_now, fixture_tear_down);
  g_test_add ("/charta/gui/chart-at/before-anything", Fixture, NULL, fixture_set_up,
              test_before_anything, fixture_tear_down);
  g_test_add ("/charta/gui/chart-at/problems", Fixture, NULL, fixture_set_up, test_problems,
              fixture_tear_down);
  g_test_add ("/charta/gui/chart-at/patient", Fixture, NULL, fixture_set_up, test_patient,
              fixture_tear_down);
  g_test_add ("/charta/gui/chart-at/cancelled", Fixture, NULL, fixture_set_up, test_cancelled,
              fixture_tear_down);
  g_test_add ("/charta/gui/chart-at/fake/good", Fake, GINT_TO_POINTER (FAKE_GOOD), fake_set_up,
              test_fake_good, fake_tear_down);
  g_test_add ("/charta/gui/chart-at/fake/history-500", Fake, GINT_TO_POINTER (FAKE_HISTORY_500),
              fake_set_up, test_fake_broken, fake_tear_down);
  g_test_add ("/charta/gui/chart-at/fake/history-junk", Fake,
              GINT_TO_POINTER (FAKE_HISTORY_JUNK), fake_set_up, test_fake_broken,
              fake_tear_down);
  g_test_add ("/charta/gui/chart-at/fake/history-odd-entry", Fake,
              GINT_TO_POINTER (FAKE_HISTORY_ODD), fake_set_up, test_fake_broken,
              fake_tear_down);
  g_test_add ("/charta/gui/chart-at/fake/history-next-away", Fake,
              GINT_TO_POINTER (FAKE_HISTORY_AWAY), fake_set_up, test_fake_broken,
              fake_tear_down);
  g_test_add ("/charta/gui/chart-at/fake/version-500", Fake, GINT_TO_POINTER (FAKE_VERSION_500),
              fake_set_up, test_fake_broken, fake_tear_down);
  g_test_add ("/charta/gui/chart-at/fake/patient-500", Fake, GINT_TO_POINTER (FAKE_GOOD),
              fake_set_up, test_fake_patient, fake_tear_down);

  return g_test_run ();
}
