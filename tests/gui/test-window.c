/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-window.c: the desktop app's window, driven through its real widgets under Xvfb.
 *
 * Once, the test makes the demo store with the built `charta demo` ($CHARTA_BIN) in a
 * temporary folder, and adds one patient with a Social Security number beside the MRN.  Each
 * test opens a ChartaWindow of a registered ChartaApplication (not unique, no session bus) and
 * works it as a user would: types into the search entry, waits for the rows of the
 * GtkListView, activates one through the list's own "list.activate-item" action, reads the
 * chart's labels and rows, activates the reveal button; types a server URL into the start
 * page's entry row and presses Enter in it.  Widgets are found by their GtkBuildable ids (the
 * ids of the .ui templates), inside the widget that owns them.  Every wait iterates the main
 * context up to a deadline.
 *
 * Expected values are read from the demo data itself, over FHIR REST with a ChartaClient of
 * our own: the demo's duplicate pair is pat-008 and pat-050 (charta-demo.h: the last patient
 * registers an earlier one again), pat-030 is the patient with body weights; their names,
 * birth dates, MRNs, active problems and immunizations come from the server, and the test
 * works out by hand what the app must show for them ("Given Family", "Family, Given").
 */
#define G_LOG_DOMAIN "charta-test"

#include <string.h>
#include <sys/wait.h>

#include <adwaita.h>

#include "charta-application.h"
#include "charta-client.h"
#include "charta-fhir-text.h"
#include "charta-patient.h"
#include "charta-patient-finder.h"
#include "charta-patient-row.h"
#include "charta-server.h"
#include "charta-test-util.h"
#include "charta-window.h"

#define DEADLINE_SECONDS 60

static GApplication *app;
static char *demo_dir;
static char *demo_path;

/* ---- waiting ------------------------------------------------------------------------------ */

typedef gboolean (*Condition) (gpointer data);

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the default main context until @condition holds; fails the test, naming @what,
 * after DEADLINE_SECONDS. */
static void
wait_for (Condition   condition,
          gpointer    data,
          const char *what)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_SECONDS * G_USEC_PER_SEC;
  guint tick = g_timeout_add (20, wake_up, NULL);
  gboolean met;

  while (!(met = condition (data)) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  if (!met)
    g_error ("gave up waiting for %s", what);
}

/* ---- finding widgets ---------------------------------------------------------------------- */

/* The first widget below @root (or @root) whose buildable id is @id, depth first. */
static GtkWidget *
find_id (GtkWidget  *root,
         const char *id)
{
  const char *root_id = gtk_buildable_get_buildable_id (GTK_BUILDABLE (root));

  if (g_strcmp0 (root_id, id) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_id (child, id);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static GtkWidget *
need_id (GtkWidget  *root,
         const char *id)
{
  GtkWidget *widget = find_id (root, id);

  if (widget == NULL)
    g_error ("no widget with the id %s", id);
  return widget;
}

static void
collect_rows (GtkWidget *root,
              GPtrArray *rows)
{
  if (CHARTA_IS_PATIENT_ROW (root))
    {
      g_ptr_array_add (rows, root);
      return;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_rows (child, rows);
}

/* The mapped row of the list view in @window that shows @patient_id, or NULL. */
static GtkWidget *
find_patient_row (GtkWidget  *window,
                  const char *patient_id)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();

  collect_rows (need_id (window, "list_view"), rows);
  for (unsigned i = 0; i < rows->len; i++)
    {
      ChartaPatient *patient = charta_patient_row_get_patient (rows->pdata[i]);

      if (patient != NULL && gtk_widget_get_mapped (rows->pdata[i])
          && g_strcmp0 (charta_patient_get_id (patient), patient_id) == 0)
        return rows->pdata[i];
    }
  return NULL;
}

static const char *
label_text (GtkWidget  *root,
            const char *id)
{
  return gtk_label_get_text (GTK_LABEL (need_id (root, id)));
}

/* The titles of the rows of the GtkListBox @id inside @root. */
static GPtrArray *
row_titles (GtkWidget  *root,
            const char *id)
{
  GtkListBox *list = GTK_LIST_BOX (need_id (root, id));
  GPtrArray *titles = g_ptr_array_new ();
  GtkListBoxRow *row;

  for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
    if (ADW_IS_PREFERENCES_ROW (row))
      {
        const char *title = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row));

        g_ptr_array_add (titles, (gpointer) title);
      }
  return titles;
}

/* ---- reading the demo over REST ----------------------------------------------------------- */

typedef struct
{
  gboolean done;
  JsonNode *node;
  GError *error;
} Answer;

static void
got (GObject      *source,
     GAsyncResult *result,
     gpointer      user_data)
{
  Answer *a = user_data;

  a->node = charta_client_get_finish (CHARTA_CLIENT (source), result, &a->error);
  a->done = TRUE;
}

static gboolean
answered (gpointer data)
{
  return ((Answer *) data)->done;
}

static JsonNode *
fetch (ChartaClient *client,
       const char   *path)
{
  Answer a = { 0 };

  charta_client_get_async (client, path, NULL, got, &a);
  wait_for (answered, &a, path);
  g_assert_no_error (a.error);
  return a.node;
}

/* What the app shows of a patient, worked out from the resource: "Given Given Family" for the
 * chart, "Family, Given Given" for the list. */
typedef struct
{
  char *id;
  char *family;
  char *first_given;
  char *chart_name;
  char *list_name;
  char *birth_date;
  char *mrn;
} Expected;

static void
expected_clear (Expected *e)
{
  g_free (e->id);
  g_free (e->family);
  g_free (e->first_given);
  g_free (e->chart_name);
  g_free (e->list_name);
  g_free (e->birth_date);
  g_free (e->mrn);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Expected, expected_clear)

static void
expect_patient (ChartaClient *client,
                const char   *id,
                Expected     *e)
{
  g_autofree char *path = g_strdup_printf ("Patient/%s", id);
  g_autoptr(JsonNode) node = fetch (client, path);
  JsonObject *patient = json_node_get_object (node);
  JsonObject *name = charta_json_get_first (patient, "name");
  JsonArray *given = charta_json_get_array (name, "given");
  g_autoptr(GString) all_given = g_string_new (NULL);
  JsonArray *identifiers = charta_json_get_array (patient, "identifier");

  g_assert_nonnull (given);
  for (unsigned i = 0; i < json_array_get_length (given); i++)
    {
      if (i > 0)
        g_string_append_c (all_given, ' ');
      g_string_append (all_given, json_array_get_string_element (given, i));
    }
  e->id = g_strdup (id);
  e->family = g_strdup (charta_json_get_string (name, "family"));
  e->first_given = g_strdup (json_array_get_string_element (given, 0));
  e->chart_name = g_strdup_printf ("%s %s", all_given->str, e->family);
  e->list_name = g_strdup_printf ("%s, %s", e->family, all_given->str);
  e->birth_date = g_strdup (charta_json_get_string (patient, "birthDate"));
  /* The demo gives every patient one identifier: the MRN. */
  g_assert_nonnull (identifiers);
  e->mrn = g_strdup (charta_json_get_string (json_array_get_object_element (identifiers, 0),
                                             "value"));
  g_assert_nonnull (e->family);
  g_assert_nonnull (e->birth_date);
  g_assert_nonnull (e->mrn);
}

/* The titles the chart must list for a summary search: each match's code.text (the demo
 * always writes a text), in the server's order. */
static GPtrArray *
expect_titles (ChartaClient *client,
               const char   *path,
               const char   *element)
{
  g_autoptr(JsonNode) node = fetch (client, path);
  JsonArray *entries = charta_json_get_array (json_node_get_object (node), "entry");
  GPtrArray *titles = g_ptr_array_new_with_free_func (g_free);

  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *resource = charta_json_get_object (json_array_get_object_element (entries, i),
                                                     "resource");
      const char *text = charta_json_get_string (charta_json_get_object (resource, element),
                                                 "text");

      g_assert_nonnull (text);
      g_ptr_array_add (titles, g_strdup (text));
    }
  return titles;
}

/* ---- a window ----------------------------------------------------------------------------- */

typedef struct
{
  GtkWidget *window;
  ChartaClient *client;   /* our own, on the window's server */
} Fixture;

static gboolean
window_gone (gpointer data)
{
  GWeakRef *weak = data;
  GObject *object = g_weak_ref_get (weak);

  if (object == NULL)
    return TRUE;
  g_object_unref (object);
  return FALSE;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->window = GTK_WIDGET (charta_window_new (GTK_APPLICATION (app)));
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1200, 760);
  gtk_window_present (GTK_WINDOW (f->window));
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  GWeakRef weak;

  g_clear_object (&f->client);
  g_weak_ref_init (&weak, f->window);
  gtk_window_destroy (GTK_WINDOW (f->window));
  wait_for (window_gone, &weak, "the window to go");
  g_weak_ref_clear (&weak);
}

static gboolean
browsing (gpointer data)
{
  Fixture *f = data;

  return g_strcmp0 (gtk_stack_get_visible_child_name (GTK_STACK (need_id (f->window,
                                                                          "main_stack"))),
                    "browse") == 0;
}

/* Opens the demo store and makes our own client on the window's server. */
static void
open_demo (Fixture *f)
{
  ChartaClient *window_client;

  charta_window_open (CHARTA_WINDOW (f->window), demo_path, NULL);
  wait_for (browsing, f, "the demo store to open");
  g_assert_cmpstr (charta_window_get_location (CHARTA_WINDOW (f->window)), ==, demo_path);
  window_client = charta_window_get_client (CHARTA_WINDOW (f->window));
  f->client = charta_client_new (charta_client_get_base_url (window_client));
  charta_client_set_bearer_token (f->client, charta_client_get_bearer_token (window_client));
}

/* The finder's results are those of the search just typed when there are as many as the
 * server has for it (@n_results, fetched by the test: every count here is below the 50 that
 * the empty search, shown first, lists) and the rows of @ids are on screen. */
typedef struct
{
  Fixture *f;
  const char *ids[2];
  unsigned n_results;
} RowsWanted;

static gboolean
rows_shown (gpointer data)
{
  RowsWanted *w = data;
  GListModel *results =
    charta_patient_finder_get_results (CHARTA_PATIENT_FINDER (need_id (w->f->window, "finder")));

  if (results == NULL || g_list_model_get_n_items (results) != w->n_results)
    return FALSE;
  for (int i = 0; i < 2 && w->ids[i] != NULL; i++)
    if (find_patient_row (w->f->window, w->ids[i]) == NULL)
      return FALSE;
  return TRUE;
}

/* How many patients the server finds for @query. */
static unsigned
count_matches (ChartaClient *client,
               const char   *query)
{
  g_autoptr(JsonNode) node = fetch (client, query);
  JsonArray *entries = charta_json_get_array (json_node_get_object (node), "entry");

  unsigned n = entries != NULL ? json_array_get_length (entries) : 0;

  /* All on one page (the queries ask for 100). */
  g_assert_cmpuint (n, <, 100);
  return n;
}

static void
type_search (Fixture    *f,
             const char *text)
{
  /* The finder's entry: a GtkDropDown (in the history view) has one of that id too. */
  GtkWidget *entry = need_id (need_id (f->window, "finder"), "search_entry");

  gtk_widget_grab_focus (entry);
  gtk_editable_set_text (GTK_EDITABLE (entry), text);
}

/* The position of @id in the finder's results. */
static unsigned
position_of (Fixture    *f,
             const char *id)
{
  ChartaPatientFinder *finder = CHARTA_PATIENT_FINDER (need_id (f->window, "finder"));
  GListModel *results = charta_patient_finder_get_results (finder);

  g_assert_nonnull (results);
  for (unsigned i = 0; i < g_list_model_get_n_items (results); i++)
    {
      g_autoptr(ChartaPatient) patient = g_list_model_get_item (results, i);

      if (g_strcmp0 (charta_patient_get_id (patient), id) == 0)
        return i;
    }
  g_error ("Patient/%s is not among the results", id);
}

typedef struct
{
  GtkWidget *chart;
  const char *name;
} ChartWanted;

static gboolean
chart_shown (gpointer data)
{
  ChartWanted *w = data;
  GtkStack *stack = GTK_STACK (need_id (w->chart, "stack"));
  gboolean complete = FALSE;

  g_object_get (w->chart, "complete", &complete, NULL);
  return complete && g_strcmp0 (gtk_stack_get_visible_child_name (stack), "chart") == 0
         && g_strcmp0 (label_text (w->chart, "name_label"), w->name) == 0;
}

/* Activates the row of @e in the list, as Enter or a double click does, and waits for the
 * chart; checks its header. */
static GtkWidget *
open_chart (Fixture        *f,
            const Expected *e)
{
  GtkWidget *list_view = need_id (f->window, "list_view");
  GtkWidget *chart = need_id (f->window, "chart_view");
  g_autofree char *born = g_strdup_printf ("Born %s", e->birth_date);
  g_autofree char *mrn = g_strdup_printf ("MRN %s", e->mrn);
  ChartWanted wanted = { chart, e->chart_name };

  g_assert_true (gtk_widget_activate_action (list_view, "list.activate-item", "u",
                                             position_of (f, e->id)));
  wait_for (chart_shown, &wanted, "the chart");
  g_assert_cmpstr (label_text (chart, "name_label"), ==, e->chart_name);
  charta_test_assert_contains (label_text (chart, "details_label"), born);
  g_assert_cmpstr (label_text (chart, "mrn_label"), ==, mrn);
  /* The header bar names the patient too. */
  g_assert_cmpstr (adw_window_title_get_title (ADW_WINDOW_TITLE (need_id (f->window,
                                                                          "chart_title"))),
                   ==, e->chart_name);
  return chart;
}

/* ---- the tests ---------------------------------------------------------------------------- */

/* Find the demo's duplicate pair by name: both rows carry the tag, they are neighbours, the
 * footer counts them; open one and read its header and active problems. */
static void
test_duplicates_and_chart (Fixture       *f,
                           gconstpointer  data)
{
  g_auto(Expected) a = { 0 };
  g_auto(Expected) b = { 0 };
  g_autofree char *search = NULL;
  g_autofree char *query = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GPtrArray) shown = NULL;
  RowsWanted wanted = { f, { "pat-008", "pat-050" }, 0 };
  GtkWidget *row;
  GtkWidget *chart;
  int distance;

  open_demo (f);
  expect_patient (f->client, "pat-008", &a);
  expect_patient (f->client, "pat-050", &b);
  /* The demo's pair: same name and birth date, another MRN. */
  g_assert_cmpstr (a.chart_name, ==, b.chart_name);
  g_assert_cmpstr (a.birth_date, ==, b.birth_date);
  g_assert_cmpstr (a.mrn, !=, b.mrn);

  search = g_strdup_printf ("%s %s", a.first_given, a.family);
  query = g_strdup_printf ("Patient?name=%s&name=%s&_count=100", a.first_given, a.family);
  wanted.n_results = count_matches (f->client, query);
  g_assert_cmpuint (wanted.n_results, >=, 2);
  type_search (f, search);
  wait_for (rows_shown, &wanted, "the rows of the duplicate pair");

  for (int i = 0; i < 2; i++)
    {
      const Expected *e = i == 0 ? &a : &b;
      g_autofree char *details = NULL;

      row = find_patient_row (f->window, e->id);
      g_assert_cmpstr (label_text (row, "name_label"), ==, e->list_name);
      details = g_strdup_printf ("%s · Female · MRN %s", e->birth_date, e->mrn);
      g_assert_cmpstr (label_text (row, "details_label"), ==, details);
      g_assert_true (gtk_widget_get_visible (need_id (row, "duplicate_tag")));
      g_assert_cmpstr (label_text (row, "duplicate_tag"), ==, "Possible duplicate");
    }
  distance = (int) position_of (f, "pat-008") - (int) position_of (f, "pat-050");
  g_assert_cmpint (ABS (distance), ==, 1);
  charta_test_assert_contains (label_text (f->window, "status_label"), "2 possible duplicates");

  chart = open_chart (f, &a);
  problems = expect_titles (f->client,
                            "Condition?patient=pat-008&clinical-status=active&_count=100",
                            "code");
  g_assert_cmpuint (problems->len, >=, 1);
  shown = row_titles (chart, "problems_list");
  g_assert_cmpuint (shown->len, ==, problems->len);
  for (unsigned i = 0; i < problems->len; i++)
    g_assert_cmpstr (shown->pdata[i], ==, problems->pdata[i]);
}

/* Find pat-030 by family name (the row is there and is no duplicate), open it, and see its
 * immunizations listed, newest first, as the server has them. */
static void
test_find_by_name (Fixture       *f,
                   gconstpointer  data)
{
  g_auto(Expected) e = { 0 };
  g_autoptr(GPtrArray) immunizations = NULL;
  g_autoptr(GPtrArray) shown = NULL;
  g_autofree char *query = NULL;
  RowsWanted wanted = { f, { "pat-030", NULL }, 0 };
  GtkWidget *row;
  GtkWidget *chart;

  open_demo (f);
  expect_patient (f->client, "pat-030", &e);
  query = g_strdup_printf ("Patient?name=%s&_count=100", e.family);
  wanted.n_results = count_matches (f->client, query);
  type_search (f, e.family);
  wait_for (rows_shown, &wanted, "the row of pat-030");
  row = find_patient_row (f->window, "pat-030");
  g_assert_cmpstr (label_text (row, "name_label"), ==, e.list_name);
  g_assert_false (gtk_widget_get_visible (need_id (row, "duplicate_tag")));

  chart = open_chart (f, &e);
  immunizations = expect_titles (f->client, "Immunization?patient=pat-030&_sort=-date",
                                 "vaccineCode");
  g_assert_cmpuint (immunizations->len, >=, 1);
  shown = row_titles (chart, "immunizations_list");
  g_assert_cmpuint (shown->len, ==, immunizations->len);
  for (unsigned i = 0; i < immunizations->len; i++)
    g_assert_cmpstr (shown->pdata[i], ==, immunizations->pdata[i]);
}

static gboolean
page_shown (gpointer data)
{
  return g_strcmp0 (gtk_stack_get_visible_child_name (data), "encounters") == 0;
}

/* The encounter timeline of pat-030: the "Encounters" tab, chosen with its mnemonic (Alt+E)
 * as a keyboard user would, lists the patient's encounters newest first, titled by their type,
 * as the server has them; a year heading stands above the first row of each year and nowhere
 * else (the years worked out here from each encounter's period.start). */
static void
test_encounter_timeline (Fixture       *f,
                         gconstpointer  data)
{
  g_auto(Expected) e = { 0 };
  g_autoptr(JsonNode) bundle = NULL;
  g_autoptr(GPtrArray) shown = NULL;
  GtkListBox *list;
  GtkStack *pages;
  GtkWidget *chart;
  JsonArray *entries;
  unsigned n;
  unsigned n_headings = 0;
  const char *year_before = NULL;

  /* The store opened with a patient, as `charta-desktop --patient pat-030 STORE` does. */
  charta_window_open (CHARTA_WINDOW (f->window), demo_path, "pat-030");
  wait_for (browsing, f, "the demo store to open");
  f->client = charta_client_new (charta_client_get_base_url (
    charta_window_get_client (CHARTA_WINDOW (f->window))));
  charta_client_set_bearer_token (f->client, charta_client_get_bearer_token (
    charta_window_get_client (CHARTA_WINDOW (f->window))));
  expect_patient (f->client, "pat-030", &e);
  chart = need_id (f->window, "chart_view");
  {
    ChartWanted wanted = { chart, e.chart_name };

    wait_for (chart_shown, &wanted, "the chart of pat-030");
  }
  pages = GTK_STACK (need_id (chart, "pages"));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (pages), ==, "summary");
  /* Alt+E: the stack switcher's button for "_Encounters". */
  {
    GtkWidget *button = NULL;

    for (GtkWidget *child = gtk_widget_get_first_child (need_id (chart, "page_switcher"));
         child != NULL; child = gtk_widget_get_next_sibling (child))
      {
        GtkWidget *label = gtk_widget_get_first_child (child);

        /* Each page's button shows its title in a label with its mnemonic. */
        if (GTK_IS_TOGGLE_BUTTON (child) && GTK_IS_LABEL (label)
            && g_strcmp0 (gtk_label_get_label (GTK_LABEL (label)), "_Encounters") == 0)
          button = child;
      }
    g_assert_nonnull (button);
    /* A button pressed by its mnemonic shows itself pressed a moment, then is clicked. */
    g_assert_true (gtk_widget_mnemonic_activate (button, FALSE));
    wait_for (page_shown, pages, "the encounters page");
  }

  bundle = fetch (f->client, "Encounter?patient=pat-030&_sort=-date&_count=50");
  entries = charta_json_get_array (json_node_get_object (bundle), "entry");
  n = entries != NULL ? json_array_get_length (entries) : 0;
  g_assert_cmpuint (n, >=, 3);
  shown = row_titles (chart, "encounters_list");
  g_assert_cmpuint (shown->len, ==, n);
  list = GTK_LIST_BOX (need_id (chart, "encounters_list"));
  for (unsigned i = 0; i < n; i++)
    {
      JsonObject *resource = charta_json_get_object (json_array_get_object_element (entries, i),
                                                     "resource");
      JsonObject *type = charta_json_get_first (resource, "type");
      const char *title = charta_json_get_string (type, "text");
      const char *start = charta_json_get_string (charta_json_get_object (resource, "period"),
                                                  "start");
      g_autofree char *year = g_strndup (start, 4);
      GtkWidget *heading = gtk_list_box_row_get_header (gtk_list_box_get_row_at_index (list,
                                                                                       (int) i));

      if (title == NULL)
        title = charta_json_get_string (charta_json_get_first (type, "coding"), "display");
      g_assert_cmpstr (shown->pdata[i], ==, title);
      if (g_strcmp0 (year, year_before) != 0)
        {
          g_assert_nonnull (heading);
          g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (heading)), ==, year);
          n_headings++;
        }
      else
        g_assert_null (heading);
      g_free ((char *) year_before);
      year_before = g_steal_pointer (&year);
    }
  g_free ((char *) year_before);
  g_assert_cmpuint (n_headings, >=, 2);
}

/* Searching by MRN and by birth date finds the patient (words with digits are identifiers,
 * YYYY-MM-DD a birth date). */
static void
test_find_by_mrn_and_birth_date (Fixture       *f,
                                 gconstpointer  data)
{
  g_auto(Expected) e = { 0 };
  g_autofree char *query = NULL;
  RowsWanted wanted = { f, { "pat-030", NULL }, 1 };

  open_demo (f);
  expect_patient (f->client, "pat-030", &e);
  /* MRNs are unique: one match. */
  type_search (f, e.mrn);
  wait_for (rows_shown, &wanted, "the row found by MRN");

  query = g_strdup_printf ("Patient?birthdate=%s&_count=100", e.birth_date);
  wanted.n_results = count_matches (f->client, query);
  g_assert_cmpuint (wanted.n_results, >=, 1);
  type_search (f, e.birth_date);
  wait_for (rows_shown, &wanted, "the row found by birth date");
}

typedef struct
{
  GtkWidget *window;
  const char *text;
} ErrorWanted;

static gboolean
error_shown (gpointer data)
{
  ErrorWanted *w = data;
  GtkWidget *label = need_id (w->window, "error_label");

  return gtk_widget_get_visible (label)
         && strstr (gtk_label_get_text (GTK_LABEL (label)), w->text) != NULL;
}

/* Types @url into the start page's server row and presses Enter in it. */
static void
enter_url (GtkWidget  *window,
           const char *url)
{
  GtkWidget *row = need_id (window, "url_row");
  GtkWidget *text = row;

  while (text != NULL && !GTK_IS_TEXT (text))
    {
      GtkWidget *next = gtk_widget_get_first_child (text);

      /* Depth first until the GtkText of the row's entry. */
      if (next == NULL)
        {
          while (text != row && gtk_widget_get_next_sibling (text) == NULL)
            text = gtk_widget_get_parent (text);
          next = text == row ? NULL : gtk_widget_get_next_sibling (text);
        }
      text = next;
    }
  g_assert_nonnull (text);
  gtk_editable_set_text (GTK_EDITABLE (row), url);
  gtk_widget_grab_focus (text);
  /* What Enter in the text does (GTK 4 has no synthetic key events). */
  g_signal_emit_by_name (text, "activate");
}

/* A server that is down: the start page says so in plain words, stays put and usable; then a
 * server that answers opens, and both land in the recent list. */
static void
test_server_url (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(ChartaServer) server = NULL;
  g_autofree char *down_url = NULL;
  g_autofree char *url = NULL;
  g_autofree char *where = NULL;
  g_auto(GStrv) recent = NULL;
  ErrorWanted wanted = { f->window, "Cannot reach the server" };

  /* A port nothing listens on: bound, then closed. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  g_socket_bind (socket, any, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  down_url = g_strdup_printf ("http://127.0.0.1:%u/fhir",
                              g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  g_socket_close (socket, NULL);

  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (need_id (f->window,
                                                                         "main_stack"))),
                   ==, "start");
  enter_url (f->window, down_url);
  wait_for (error_shown, &wanted, "the start page to say the server is down");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (need_id (f->window,
                                                                         "main_stack"))),
                   ==, "start");
  g_assert_true (gtk_widget_get_sensitive (need_id (f->window, "url_row")));
  /* The address stays in the row, for the user to correct. */
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (need_id (f->window, "url_row"))), ==,
                   down_url);
  g_assert_null (charta_window_get_location (CHARTA_WINDOW (f->window)));

  store = charta_store_open (demo_path, CHARTA_STORE_FLAGS_READ_ONLY, &error);
  g_assert_no_error (error);
  server = charta_server_new (store, "/fhir");
  charta_server_listen (server, "127.0.0.1:0", &error);
  g_assert_no_error (error);
  url = charta_server_dup_base_url (server);
  where = g_strdup_printf ("127.0.0.1:%u", charta_server_get_port (server));

  enter_url (f->window, url);
  wait_for (browsing, f, "the server to open");
  g_assert_cmpstr (charta_window_get_location (CHARTA_WINDOW (f->window)), ==, url);
  g_assert_cmpstr (adw_window_title_get_subtitle (ADW_WINDOW_TITLE (need_id (f->window,
                                                                             "store_title"))),
                   ==, where);
  g_assert_false (gtk_widget_get_visible (need_id (f->window, "error_label")));

  recent = charta_application_dup_recent (CHARTA_APPLICATION (app));
  g_assert_nonnull (recent[0]);
  g_assert_cmpstr (recent[0], ==, url);
  g_assert_false (g_strv_contains ((const char * const *) recent, down_url));

  /* Close the window's connections before the server goes. */
  gtk_window_destroy (GTK_WINDOW (f->window));
  f->window = GTK_WIDGET (charta_window_new (GTK_APPLICATION (app)));
  charta_server_stop (server);
}

/* A store file that does not exist: the message names it. */
static void
test_missing_store (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *missing = g_build_filename (demo_dir, "no-such.charta", NULL);
  ErrorWanted wanted = { f->window, "no-such.charta" };

  charta_window_open (CHARTA_WINDOW (f->window), missing, NULL);
  wait_for (error_shown, &wanted, "the start page to name the missing file");
  g_test_message ("the start page says: %s", label_text (f->window, "error_label"));
  g_assert_null (charta_window_get_location (CHARTA_WINDOW (f->window)));
}

/* The demo has only MRNs: one more patient, with a Social Security number beside the MRN. */
#define IDS_PATIENT "pat-ids"
#define IDS_MRN     "99000001"
#define IDS_SSN     "123-45-6789"

static void
add_patient_with_identifiers (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaStore) store = charta_store_open (demo_path, CHARTA_STORE_FLAGS_NONE, &error);
  g_autoptr(ChartaResource) resource = NULL;
  g_autoptr(ChartaResource) stored = NULL;

  g_assert_no_error (error);
  resource = charta_test_parse ("{\"resourceType\":\"Patient\",\"id\":\"" IDS_PATIENT "\","
                                "\"identifier\":["
                                "{\"type\":{\"coding\":[{\"system\":"
                                "\"http://terminology.hl7.org/CodeSystem/v2-0203\","
                                "\"code\":\"MR\"}]},"
                                "\"system\":\"urn:oid:2.16.840.1.113883.19.5.1\","
                                "\"value\":\"" IDS_MRN "\"},"
                                "{\"type\":{\"coding\":[{\"system\":"
                                "\"http://terminology.hl7.org/CodeSystem/v2-0203\",\"code\":\"SS\","
                                "\"display\":\"Social Security number\"}]},"
                                "\"system\":\"http://hl7.org/fhir/sid/us-ssn\","
                                "\"value\":\"" IDS_SSN "\"}],"
                                "\"name\":[{\"family\":\"Testperson\",\"given\":[\"Ida\"]}],"
                                "\"gender\":\"female\",\"birthDate\":\"1980-05-06\"}");
  stored = charta_store_update (store, resource, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  charta_store_close (store);
}

typedef struct
{
  GtkListBox *list;
  const char *subtitle;
} SubtitleWanted;

static gboolean
first_subtitle_is (gpointer data)
{
  SubtitleWanted *w = data;
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (w->list, 0);

  return ADW_IS_ACTION_ROW (row)
         && g_strcmp0 (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), w->subtitle) == 0;
}

/* The SSN is listed masked, and shown only while the reveal button is down; the MRN is in the
 * header, not among the other identifiers. */
static void
test_masked_identifiers (Fixture       *f,
                         gconstpointer  data)
{
  g_auto(Expected) e = { 0 };
  RowsWanted wanted = { f, { IDS_PATIENT, NULL }, 1 };
  GtkWidget *chart;
  GtkListBox *list;
  GtkWidget *reveal;
  AdwActionRow *row;
  SubtitleWanted wanted_subtitle;

  open_demo (f);
  expect_patient (f->client, IDS_PATIENT, &e);
  g_assert_cmpstr (e.mrn, ==, IDS_MRN);
  type_search (f, IDS_MRN);
  wait_for (rows_shown, &wanted, "the row found by MRN");
  chart = open_chart (f, &e);

  g_assert_true (gtk_widget_get_visible (need_id (chart, "identifiers_group")));
  list = GTK_LIST_BOX (need_id (chart, "identifiers_list"));
  g_assert_nonnull (gtk_list_box_get_row_at_index (list, 0));
  g_assert_null (gtk_list_box_get_row_at_index (list, 1));
  row = ADW_ACTION_ROW (gtk_list_box_get_row_at_index (list, 0));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==,
                   "Social Security number");
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "••••••••");

  /* Activating a button (Space, Enter) clicks it a moment later, as a press would. */
  reveal = need_id (chart, "reveal_button");
  g_assert_true (gtk_widget_activate (reveal));
  wanted_subtitle.list = list;
  wanted_subtitle.subtitle = IDS_SSN;
  wait_for (first_subtitle_is, &wanted_subtitle, "the identifier to show");
  g_assert_true (gtk_widget_activate (reveal));
  wanted_subtitle.subtitle = "••••••••";
  wait_for (first_subtitle_is, &wanted_subtitle, "the identifier to be masked again");
}

/* Runs the built charta-desktop with @argv (after the program) on the test's display, which
 * must exit by itself; its exit status, and its stderr in *err. */
static int
run_desktop (const char * const *args,
             char              **err)
{
  const char *desktop = g_getenv ("CHARTA_DESKTOP");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;   /* kept out of the TAP stream (--help prints there) */
  int status = -1;

  g_assert_nonnull (desktop);
  g_ptr_array_add (argv, (gpointer) desktop);
  for (; *args != NULL; args++)
    g_ptr_array_add (argv, (gpointer) *args);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, err,
                &status, &error);
  g_assert_no_error (error);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* Mistakes on the command line end the app at once, with status 2 and a sentence. */
static void
test_command_line (void)
{
  static const char *const patient_alone[] = { "--patient", "pat-030", NULL };
  static const char *const two[] = { "a.charta", "b.charta", NULL };
  static const char *const help[] = { "--help", NULL };
  g_autofree char *err = NULL;
  g_autofree char *err2 = NULL;
  g_autofree char *err3 = NULL;

  g_assert_cmpint (run_desktop (patient_alone, &err), ==, 2);
  charta_test_assert_contains (err, "--patient needs a store file or a server URL");
  g_assert_cmpint (run_desktop (two, &err2), ==, 2);
  charta_test_assert_contains (err2, "one store file or server URL at a time");
  g_assert_cmpint (run_desktop (help, &err3), ==, 0);
}

/* `--timings` (what bench-desktop runs): on the demo store with --patient and --search it
 * prints chart-complete-ms and search-complete-ms, each a positive number of milliseconds,
 * and exits 0 by itself; an unknown patient exits 1 with a sentence; without --patient or
 * --search it is a mistake on the command line (2). */
static void
test_timings (void)
{
  const char *desktop = g_getenv ("CHARTA_DESKTOP");
  const char *argv[] = { desktop, "--timings", "--patient", "pat-030", "--search", "Chen",
                         demo_path, NULL };
  const char *unknown[] = { "--timings", "--patient", "no-such-patient", demo_path, NULL };
  const char *alone[] = { "--timings", demo_path, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *err2 = NULL;
  g_autofree char *err3 = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  gboolean chart = FALSE;
  gboolean search = FALSE;
  int status = -1;

  g_assert_nonnull (desktop);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  lines = g_strsplit (out, "\n", -1);
  for (unsigned i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) words = g_strsplit (lines[i], " ", -1);
      double ms;

      if (g_strv_length (words) != 2)
        continue;
      ms = g_ascii_strtod (words[1], NULL);
      if (g_str_equal (words[0], "chart-complete-ms"))
        {
          g_assert_cmpfloat (ms, >, 0);
          chart = TRUE;
        }
      else if (g_str_equal (words[0], "search-complete-ms"))
        {
          g_assert_cmpfloat (ms, >, 0);
          search = TRUE;
        }
    }
  g_assert_true (chart);
  g_assert_true (search);

  g_assert_cmpint (run_desktop (unknown, &err2), ==, 1);
  g_assert_cmpuint (strlen (err2), >, 0);
  g_assert_cmpint (run_desktop (alone, &err3), ==, 2);
  charta_test_assert_contains (err3, "--timings");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_auto(ChartaTestRun) run = { 0 };
  int status;

  g_test_init (&argc, &argv, NULL);

  demo_dir = charta_test_make_tmp_dir ();
  demo_path = g_build_filename (demo_dir, "demo.charta", NULL);
  charta_test_run_charta (&run, "demo", demo_path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  add_patient_with_identifiers ();

  app = G_APPLICATION (charta_application_new ());
  g_application_set_flags (app, G_APPLICATION_HANDLES_COMMAND_LINE
                                | G_APPLICATION_NON_UNIQUE);
  g_application_register (app, NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/charta/gui/window/command-line", test_command_line);
  g_test_add_func ("/charta/gui/window/timings", test_timings);
  g_test_add ("/charta/gui/window/duplicates-and-chart", Fixture, NULL, fixture_set_up,
              test_duplicates_and_chart, fixture_tear_down);
  g_test_add ("/charta/gui/window/encounter-timeline", Fixture, NULL, fixture_set_up,
              test_encounter_timeline, fixture_tear_down);
  g_test_add ("/charta/gui/window/find-by-name", Fixture, NULL, fixture_set_up,
              test_find_by_name, fixture_tear_down);
  g_test_add ("/charta/gui/window/find-by-mrn-and-birth-date", Fixture, NULL, fixture_set_up,
              test_find_by_mrn_and_birth_date, fixture_tear_down);
  g_test_add ("/charta/gui/window/masked-identifiers", Fixture, NULL, fixture_set_up,
              test_masked_identifiers, fixture_tear_down);
  g_test_add ("/charta/gui/window/server-url", Fixture, NULL, fixture_set_up, test_server_url,
              fixture_tear_down);
  g_test_add ("/charta/gui/window/missing-store", Fixture, NULL, fixture_set_up,
              test_missing_store, fixture_tear_down);

  status = g_test_run ();

  g_clear_object (&app);
  charta_test_remove_tree (demo_dir);
  g_free (demo_path);
  g_free (demo_dir);
  return status;
}
