/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-patient-list.c: ChartaPatientList, the finder's lazily loaded results, against an
 * in-process ChartaServer.
 *
 * The store holds 80 patients "Family00, Ada" … "Family79, Ada" plus four Millers: the same
 * person registered twice (Miller, Emily Louise, 1942-10-28, ids dup-a and dup-b), one with
 * only "Emily" as given name and one born a day later (neither is a duplicate of anything).
 * So the expected counts are known by hand: 84 patients, 4 Millers, 2 possible duplicates.
 * Pages are counted from the page size: 84 at 30 a page is 3 pages.
 */
#define G_LOG_DOMAIN "charta-test"

#include <string.h>

#include "charta-patient-list.h"
#include "charta-server.h"
#include "charta-test-store-util.h"

#define DEADLINE_SECONDS 30
#define N_PLAIN 80

typedef struct
{
  ChartaTestStore st;
  ChartaServer *server;
  ChartaClient *client;
} Fixture;

static void
write_patient (ChartaStore *store,
               const char  *id,
               const char  *family,
               const char  *given,
               const char  *birth_date)
{
  g_autofree char *json = g_strdup_printf ("{\"resourceType\":\"Patient\",\"id\":\"%s\","
                                           "\"name\":[{\"use\":\"official\",\"family\":\"%s\","
                                           "\"given\":[%s]}],\"gender\":\"female\","
                                           "\"birthDate\":\"%s\"}", id, family, given,
                                           birth_date);
  g_autoptr(ChartaResource) resource = charta_test_parse (json);
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(GError) error = NULL;

  stored = charta_store_update (store, resource, 0, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *base = NULL;

  charta_test_store_set_up (&f->st, NULL);
  for (int i = 0; i < N_PLAIN; i++)
    {
      g_autofree char *id = g_strdup_printf ("p%02d", i);
      g_autofree char *family = g_strdup_printf ("Family%02d", i);

      write_patient (f->st.store, id, family, "\"Ada\"", "1960-01-01");
    }
  write_patient (f->st.store, "dup-a", "Miller", "\"Emily\",\"Louise\"", "1942-10-28");
  write_patient (f->st.store, "emily", "Miller", "\"Emily\"", "1942-10-28");
  write_patient (f->st.store, "later", "Miller", "\"Emily\",\"Louise\"", "1942-10-29");
  write_patient (f->st.store, "dup-b", "Miller", "\"Emily\",\"Louise\"", "1942-10-28");

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
  g_clear_object (&f->client);
  charta_server_stop (f->server);
  g_clear_object (&f->server);
  charta_test_store_tear_down (&f->st, NULL);
}

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the default context while @list is loading; fails the test past the deadline. */
static void
wait_loaded (ChartaPatientList *list)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_SECONDS * G_USEC_PER_SEC;
  guint tick = g_timeout_add (50, wake_up, NULL);

  while (charta_patient_list_is_loading (list) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  g_assert_false (charta_patient_list_is_loading (list));
}

static ChartaPatient *
item (ChartaPatientList *list,
      unsigned           position)
{
  ChartaPatient *patient = g_list_model_get_item (G_LIST_MODEL (list), position);

  g_assert_nonnull (patient);
  /* The list keeps its own reference. */
  g_object_unref (patient);
  return patient;
}

/* ---- the query for what a user types ----------------------------------------------------- */

static void
test_query_for_text (void)
{
  static const struct
  {
    const char *text;
    const char *query;
  } cases[] = {
    { "", "Patient?_sort=family,given,birthdate&_count=50" },
    { "  ", "Patient?_sort=family,given,birthdate&_count=50" },
    { "emily miller", "Patient?name=emily&name=miller&_sort=family,given,birthdate&_count=50" },
    { "1942-10-28", "Patient?birthdate=1942-10-28&_sort=family,given,birthdate&_count=50" },
    { "1942", "Patient?birthdate=1942&_sort=family,given,birthdate&_count=50" },
    { "1942-10", "Patient?birthdate=1942-10&_sort=family,given,birthdate&_count=50" },
    { "04040857", "Patient?identifier=04040857&_sort=family,given,birthdate&_count=50" },
    { "urn:oid:1.2|77",
      "Patient?identifier=urn%3Aoid%3A1.2%7C77&_sort=family,given,birthdate&_count=50" },
    { "Miller, 1942-10-28",
      "Patient?name=Miller&birthdate=1942-10-28&_sort=family,given,birthdate&_count=50" },
    { "O'Brien", "Patient?name=O%27Brien&_sort=family,given,birthdate&_count=50" },
    { "Øvergaard", "Patient?name=%C3%98vergaard&_sort=family,given,birthdate&_count=50" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *query = charta_patient_list_query_for_text (cases[i].text, 0);

      g_assert_cmpstr (query, ==, cases[i].query);
    }

  {
    g_autofree char *query = charta_patient_list_query_for_text ("x", 7);

    g_assert_cmpstr (query, ==, "Patient?name=x&_sort=family,given,birthdate&_count=7");
  }
}

/* ---- paging ------------------------------------------------------------------------------- */

/* Pages are read only when a view asks for items near the end, and then all the way to the
 * last, in order. */
static void
test_pages (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *query = charta_patient_list_query_for_text ("", 30);
  g_autoptr(ChartaPatientList) list = charta_patient_list_new (f->client, query);
  unsigned n;

  g_assert_true (charta_patient_list_is_loading (list));
  wait_loaded (list);
  g_assert_null (charta_patient_list_get_error_message (list));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 30);
  g_assert_cmpuint (charta_patient_list_get_n_pages (list), ==, 1);
  g_assert_false (charta_patient_list_is_complete (list));

  /* Item 0 of 30 is far from the end: nothing more is read. */
  item (list, 0);
  g_assert_false (charta_patient_list_is_loading (list));
  /* Item 10 is within 20 of the end: the second page. */
  item (list, 10);
  g_assert_true (charta_patient_list_is_loading (list));
  wait_loaded (list);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 60);
  g_assert_cmpuint (charta_patient_list_get_n_pages (list), ==, 2);

  /* Scrolling to the end reads the rest. */
  while (!charta_patient_list_is_complete (list))
    {
      n = g_list_model_get_n_items (G_LIST_MODEL (list));
      item (list, n - 1);
      g_assert_true (charta_patient_list_is_loading (list));
      wait_loaded (list);
      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), >, n);
    }
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, N_PLAIN + 4);
  g_assert_cmpuint (charta_patient_list_get_n_pages (list), ==, 3);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (list), N_PLAIN + 4));

  /* Sorted by family name: Family00 … Family79, then the Millers. */
  for (unsigned i = 0; i < N_PLAIN; i++)
    {
      g_autofree char *name = g_strdup_printf ("Family%02u, Ada", i);

      g_assert_cmpstr (charta_patient_get_name (item (list, i)), ==, name);
    }
  for (unsigned i = N_PLAIN; i < N_PLAIN + 4; i++)
    g_assert_true (g_str_has_prefix (charta_patient_get_name (item (list, i)), "Miller, Emily"));
  g_assert_cmpstr (charta_patient_get_birth_date (item (list, 0)), ==, "1960-01-01");
  g_assert_cmpstr (charta_patient_get_sex (item (list, 0)), ==, "Female");
  g_assert_cmpuint (charta_patient_list_get_n_possible_duplicates (list), ==, 2);
}

/* ---- duplicates --------------------------------------------------------------------------- */

/* Of the four Millers, only dup-a and dup-b match in family, given names and birth date; with
 * one patient a page they arrive on different pages and are still both marked. */
static void
check_millers (Fixture  *f,
               unsigned  page_size)
{
  g_autofree char *query = charta_patient_list_query_for_text ("miller", page_size);
  g_autoptr(ChartaPatientList) list = charta_patient_list_new (f->client, query);
  unsigned n_marked = 0;

  wait_loaded (list);
  while (!charta_patient_list_is_complete (list))
    {
      item (list, g_list_model_get_n_items (G_LIST_MODEL (list)) - 1);
      wait_loaded (list);
    }
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 4);
  for (unsigned i = 0; i < 4; i++)
    {
      ChartaPatient *patient = item (list, i);
      const char *id = charta_patient_get_id (patient);
      gboolean expected = strcmp (id, "dup-a") == 0 || strcmp (id, "dup-b") == 0;

      g_assert_cmpint (charta_patient_get_possible_duplicate (patient), ==, expected);
      n_marked += expected;
    }
  g_assert_cmpuint (n_marked, ==, 2);
  g_assert_cmpuint (charta_patient_list_get_n_possible_duplicates (list), ==, 2);
}

static void
test_duplicates (Fixture       *f,
                 gconstpointer  data)
{
  check_millers (f, 50);
  check_millers (f, 1);
}

/* ---- a server that is down ---------------------------------------------------------------- */

static void
test_server_down (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *query = charta_patient_list_query_for_text ("", 0);
  g_autoptr(ChartaPatientList) list = NULL;

  charta_server_stop (f->server);
  list = charta_patient_list_new (f->client, query);
  wait_loaded (list);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 0);
  g_assert_nonnull (charta_patient_list_get_error_message (list));
  charta_test_assert_contains (charta_patient_list_get_error_message (list),
                               "Cannot reach the server");
  g_assert_false (charta_patient_list_is_complete (list));

  charta_patient_list_retry (list);
  g_assert_true (charta_patient_list_is_loading (list));
  g_assert_null (charta_patient_list_get_error_message (list));
  wait_loaded (list);
  g_assert_nonnull (charta_patient_list_get_error_message (list));
}

/* A list dropped while a page is in flight: cancel, then the read returns into nothing. */
static void
test_cancel (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *query = charta_patient_list_query_for_text ("", 0);
  ChartaPatientList *list = charta_patient_list_new (f->client, query);
  GWeakRef weak;
  gint64 deadline = g_get_monotonic_time () + DEADLINE_SECONDS * G_USEC_PER_SEC;
  guint tick = g_timeout_add (50, wake_up, NULL);
  ChartaPatientList *alive;

  g_weak_ref_init (&weak, list);
  charta_patient_list_cancel (list);
  g_assert_false (charta_patient_list_is_loading (list));
  g_object_unref (list);
  /* The read's callback holds the last reference until it has returned. */
  while ((alive = g_weak_ref_get (&weak)) != NULL && g_get_monotonic_time () < deadline)
    {
      g_object_unref (alive);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (tick);
  g_assert_null (alive);
  g_weak_ref_clear (&weak);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/charta/gui/patient-list/query-for-text", test_query_for_text);
  g_test_add ("/charta/gui/patient-list/pages", Fixture, NULL, fixture_set_up, test_pages,
              fixture_tear_down);
  g_test_add ("/charta/gui/patient-list/duplicates", Fixture, NULL, fixture_set_up,
              test_duplicates, fixture_tear_down);
  g_test_add ("/charta/gui/patient-list/server-down", Fixture, NULL, fixture_set_up,
              test_server_down, fixture_tear_down);
  g_test_add ("/charta/gui/patient-list/cancel", Fixture, NULL, fixture_set_up, test_cancel,
              fixture_tear_down);

  return g_test_run ();
}
