/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-correction.c: a record's details, history and correction, driven through the real
 * widgets of the desktop app under Xvfb.
 *
 * Once, the test makes the demo store with the built `charta demo` ($CHARTA_BIN) in a
 * temporary folder.  Each test opens a ChartaWindow on it, finds pat-030 (the demo patient
 * with body weights; pat-017, the one with an active problem, for the Condition) by MRN in the
 * finder, opens the chart through the list's own
 * "list.activate-item" action, and activates rows of the chart's observation table as Enter
 * does.  Buttons are activated with gtk_widget_activate() (what Space or Enter does), text is
 * typed into the entries with gtk_editable_set_text(), radio rows are chosen by activating their
 * check buttons.  Widgets are found by their GtkBuildable ids inside the widget that owns them;
 * the correction dialog among the toplevel windows.  Every wait iterates the main context up to
 * a deadline.
 *
 * What the app must show is worked out from the store's own answers, read over HTTP with a
 * SoupSession of the test's own (not the app's client): the observations' order and values,
 * and after a save the new version, its Provenance (found by Provenance?target=, matched to
 * the version by its target reference) and the history.  Each test makes its own changes to
 * records no other test touches, so that the tests do not depend on their order.
 */
#define G_LOG_DOMAIN "charta-test"

#include <math.h>
#include <string.h>

#include <adwaita.h>
#include <libsoup/soup.h>

#include "charta-application.h"
#include "charta-chart-view.h"
#include "charta-correction-dialog.h"
#include "charta-diff.h"
#include "charta-fhir-text.h"
#include "charta-history-view.h"
#include "charta-patient.h"
#include "charta-patient-finder.h"
#include "charta-resource-view.h"
#include "charta-test-util.h"
#include "charta-window.h"

#define DEADLINE_SECONDS 60
#define PATIENT          "pat-030"
/* Who the corrections name: set in the app's settings (in memory) by main(). */
#define USER_NAME        "Test Clerk, RHIT"

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

typedef struct
{
  GtkWidget *stack;
  const char *page;
} PageWanted;

static gboolean
page_shown (gpointer data)
{
  PageWanted *w = data;

  return g_strcmp0 (gtk_stack_get_visible_child_name (GTK_STACK (w->stack)), w->page) == 0;
}

/* Waits until the GtkStack @stack shows @page. */
static void
wait_for_page (GtkWidget  *stack,
               const char *page)
{
  PageWanted wanted = { stack, page };
  g_autofree char *what = g_strdup_printf ("the page %s", page);

  wait_for (page_shown, &wanted, what);
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

static const char *
label_text (GtkWidget  *root,
            const char *id)
{
  return gtk_label_get_text (GTK_LABEL (need_id (root, id)));
}

/* The property rows of a resource view's details (label → value), as the view made them. */
static GHashTable *
detail_values (GtkWidget *view)
{
  GHashTable *values = g_hash_table_new (g_str_hash, g_str_equal);
  GtkWidget *box = need_id (view, "fields_box");
  g_autoptr(GPtrArray) stack = g_ptr_array_new ();

  g_ptr_array_add (stack, box);
  while (stack->len > 0)
    {
      GtkWidget *widget = g_ptr_array_steal_index (stack, stack->len - 1);
      const char *label = g_object_get_data (G_OBJECT (widget), "charta-label");

      if (GTK_IS_LIST_BOX_ROW (widget) && label != NULL
          && !g_hash_table_contains (values, label))
        g_hash_table_insert (values, (gpointer) label,
                             g_object_get_data (G_OBJECT (widget), "charta-value"));
      for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
           child = gtk_widget_get_next_sibling (child))
        g_ptr_array_add (stack, child);
    }
  return values;
}

/* ---- HTTP of our own ---------------------------------------------------------------------- */

typedef struct
{
  GtkWidget *window;
  char *base_url;         /* the window's server */
  char *token;            /* and its access token */
  SoupSession *session;   /* ours */
} Fixture;

/* The window server's access token on @message. */
static void
authorize (Fixture     *f,
           SoupMessage *message)
{
  g_autofree char *value = g_strdup_printf ("Bearer %s", f->token);

  g_assert_nonnull (f->token);
  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization",
                                value);
}

/* GET @path from the window's server with our own session; the JSON object it answers, and
 * its status in *status (when not NULL).  The server runs on its own thread, so a blocking
 * request is fine here. */
static JsonNode *
http_get (Fixture    *f,
          const char *path,
          unsigned   *status)
{
  g_autofree char *url = g_strdup_printf ("%s/%s", f->base_url, path);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *node;

  g_assert_nonnull (message);
  authorize (f, message);
  soup_message_headers_replace (soup_message_get_request_headers (message), "Accept",
                                "application/fhir+json");
  body = soup_session_send_and_read (f->session, message, NULL, &error);
  g_assert_no_error (error);
  if (status != NULL)
    *status = soup_message_get_status (message);
  else
    g_assert_cmpuint (soup_message_get_status (message), ==, 200);
  node = json_from_string (g_bytes_get_data (body, NULL), &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return node;
}

/* PUT @resource to @path with our own session, If-Match @version_id; the status. */
static unsigned
http_put (Fixture    *f,
          const char *path,
          JsonNode   *resource,
          const char *version_id)
{
  g_autofree char *url = g_strdup_printf ("%s/%s", f->base_url, path);
  g_autoptr(SoupMessage) message = soup_message_new ("PUT", url);
  g_autofree char *text = json_to_string (resource, FALSE);
  g_autofree char *etag = g_strdup_printf ("W/\"%s\"", version_id);
  g_autoptr(GBytes) request = g_bytes_new (text, strlen (text));
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  authorize (f, message);
  soup_message_set_request_body_from_bytes (message, "application/fhir+json", request);
  soup_message_headers_replace (soup_message_get_request_headers (message), "If-Match", etag);
  body = soup_session_send_and_read (f->session, message, NULL, &error);
  g_assert_no_error (error);
  return soup_message_get_status (message);
}

static const char *
version_of (JsonNode *resource)
{
  return charta_json_get_string (charta_json_get_object (json_node_get_object (resource),
                                                         "meta"), "versionId");
}

/* The Provenance that targets version @version_id of @type/@id, found by a search on the
 * resource and matched by its target reference (fails the test when there is none). */
static JsonNode *
provenance_of (Fixture    *f,
               const char *type,
               const char *id,
               const char *version_id)
{
  g_autofree char *path = g_strdup_printf ("Provenance?target=%s/%s&_count=100", type, id);
  g_autoptr(JsonNode) bundle = http_get (f, path, NULL);
  JsonArray *entries = charta_json_get_array (json_node_get_object (bundle), "entry");
  g_autofree char *wanted = g_strdup_printf ("%s/%s/_history/%s", type, id, version_id);

  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *provenance =
        charta_json_get_object (json_array_get_object_element (entries, i), "resource");
      JsonArray *targets = charta_json_get_array (provenance, "target");

      for (unsigned t = 0; targets != NULL && t < json_array_get_length (targets); t++)
        if (g_strcmp0 (charta_json_get_string (json_array_get_object_element (targets, t),
                                               "reference"), wanted) == 0)
          {
            JsonNode *node = json_node_new (JSON_NODE_OBJECT);

            json_node_set_object (node, provenance);
            return node;
          }
    }
  g_error ("no Provenance targets %s", wanted);
}

/* ---- a window ----------------------------------------------------------------------------- */

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
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1200, 800);
  gtk_window_present (GTK_WINDOW (f->window));
  f->session = soup_session_new ();
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  GWeakRef weak;
  GListModel *toplevels = gtk_window_get_toplevels ();

  /* Dialogs first (they hold the window's client), then the window. */
  for (unsigned i = g_list_model_get_n_items (toplevels); i > 0; i--)
    {
      g_autoptr(GtkWindow) toplevel = g_list_model_get_item (toplevels, i - 1);

      if (toplevel != GTK_WINDOW (f->window))
        gtk_window_destroy (toplevel);
    }
  g_clear_object (&f->session);
  g_free (f->base_url);
  g_free (f->token);
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

typedef struct
{
  Fixture *f;
  const char *id;
} FinderWanted;

static gboolean
found_one (gpointer data)
{
  FinderWanted *w = data;
  GListModel *results =
    charta_patient_finder_get_results (CHARTA_PATIENT_FINDER (need_id (w->f->window,
                                                                        "finder")));
  g_autoptr(GObject) item = NULL;

  if (results == NULL || g_list_model_get_n_items (results) != 1)
    return FALSE;
  item = g_list_model_get_item (results, 0);
  return g_strcmp0 (charta_patient_get_id (CHARTA_PATIENT (item)), w->id) == 0;
}

static gboolean
chart_complete (gpointer data)
{
  GtkWidget *chart = data;
  gboolean complete = FALSE;

  g_object_get (chart, "complete", &complete, NULL);
  return complete
         && g_strcmp0 (gtk_stack_get_visible_child_name (GTK_STACK (need_id (chart, "stack"))),
                       "chart") == 0;
}

/* Opens the demo store, finds @patient_id by MRN in the finder (one result: MRNs are unique),
 * opens the chart from the list and waits until every section has been read. */
static GtkWidget *
open_chart_of (Fixture    *f,
               const char *patient_id)
{
  g_autofree char *path = g_strdup_printf ("Patient/%s", patient_id);
  g_autoptr(JsonNode) patient = NULL;
  JsonObject *mrn;
  FinderWanted wanted = { f, patient_id };
  GtkWidget *entry;
  GtkWidget *chart;

  charta_window_open (CHARTA_WINDOW (f->window), demo_path, NULL);
  wait_for (browsing, f, "the demo store to open");
  f->base_url = g_strdup (charta_client_get_base_url (
                            charta_window_get_client (CHARTA_WINDOW (f->window))));
  f->token = g_strdup (charta_client_get_bearer_token (
                         charta_window_get_client (CHARTA_WINDOW (f->window))));

  patient = http_get (f, path, NULL);
  mrn = charta_fhir_find_mrn (json_node_get_object (patient));
  g_assert_nonnull (mrn);
  /* The finder's entry: a GtkDropDown has one of that id too. */
  entry = need_id (need_id (f->window, "finder"), "search_entry");
  gtk_widget_grab_focus (entry);
  gtk_editable_set_text (GTK_EDITABLE (entry), charta_json_get_string (mrn, "value"));
  wait_for (found_one, &wanted, "the finder to find the patient by MRN");

  g_assert_true (gtk_widget_activate_action (need_id (f->window, "list_view"),
                                             "list.activate-item", "u", 0));
  chart = need_id (f->window, "chart_view");
  wait_for (chart_complete, chart, "the chart");
  g_assert_cmpstr (charta_chart_view_get_patient_id (CHARTA_CHART_VIEW (chart)), ==,
                   patient_id);
  return chart;
}

static GtkWidget *
open_patient (Fixture *f)
{
  return open_chart_of (f, PATIENT);
}

/* The rows of the chart's observation table, in order. */
static GPtrArray *
observation_rows (GtkWidget *chart)
{
  GtkListBox *list = GTK_LIST_BOX (need_id (chart, "observations_list"));
  GPtrArray *rows = g_ptr_array_new ();
  GtkListBoxRow *row;

  for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
    if (g_object_get_data (G_OBJECT (row), "charta-reference") != NULL)
      g_ptr_array_add (rows, row);
  return rows;
}

/* The texts of the labels of @row, in order (the table's cells, then the reason line). */
static GPtrArray *
row_texts (GtkWidget *row)
{
  GPtrArray *texts = g_ptr_array_new ();
  g_autoptr(GPtrArray) stack = g_ptr_array_new ();

  g_ptr_array_add (stack, row);
  while (stack->len > 0)
    {
      GtkWidget *widget = g_ptr_array_steal_index (stack, 0);
      unsigned at = 0;

      if (GTK_IS_LABEL (widget) && gtk_widget_get_visible (widget))
        g_ptr_array_add (texts, (gpointer) gtk_label_get_text (GTK_LABEL (widget)));
      for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
           child = gtk_widget_get_next_sibling (child))
        g_ptr_array_insert (stack, at++, child);
    }
  return texts;
}

typedef struct
{
  GtkWidget *view;
  const char *reference;
} ViewWanted;

static gboolean
resource_loaded (gpointer data)
{
  ViewWanted *w = data;
  ChartaResourceView *view = CHARTA_RESOURCE_VIEW (w->view);

  return charta_resource_view_is_loaded (view)
         && g_strcmp0 (charta_resource_view_get_reference (view), w->reference) == 0
         && charta_resource_view_get_resource (view) != NULL;
}

/* Activates the row of the observation table that shows @reference, as Enter does, and waits
 * for the record's details. */
static GtkWidget *
open_observation (Fixture    *f,
                  GtkWidget  *chart,
                  const char *reference)
{
  g_autoptr(GPtrArray) rows = observation_rows (chart);
  GtkWidget *view = need_id (f->window, "resource_view");
  ViewWanted wanted = { view, reference };

  for (unsigned i = 0; i < rows->len; i++)
    if (g_strcmp0 (g_object_get_data (rows->pdata[i], "charta-reference"), reference) == 0)
      {
        g_assert_true (gtk_widget_activate (rows->pdata[i]));
        wait_for (resource_loaded, &wanted, "the record's details");
        g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (need_id (f->window,
                                                                               "content_stack"))),
                         ==, "resource");
        return view;
      }
  g_error ("the observation table has no row for %s", reference);
}

/* The newest of the patient's observations with LOINC @code, over HTTP. */
static JsonNode *
newest_observation (Fixture    *f,
                    const char *code)
{
  g_autofree char *path = g_strdup_printf ("Observation?patient=%s&code=http://loinc.org|%s"
                                           "&_sort=-date&_count=1", PATIENT, code);
  g_autoptr(JsonNode) bundle = http_get (f, path, NULL);
  JsonArray *entries = charta_json_get_array (json_node_get_object (bundle), "entry");
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  g_assert_nonnull (entries);
  g_assert_cmpuint (json_array_get_length (entries), >=, 1);
  json_node_set_object (node, charta_json_get_object (json_array_get_object_element (entries, 0),
                                                      "resource"));
  return node;
}

typedef struct
{
  GtkWidget *view;
  const char *reference;
  unsigned n_versions;
} HistoryWanted;

static gboolean
history_loaded (gpointer data)
{
  HistoryWanted *w = data;
  ChartaHistoryView *view = CHARTA_HISTORY_VIEW (w->view);

  return charta_history_view_is_loaded (view)
         && g_strcmp0 (charta_history_view_get_reference (view), w->reference) == 0
         && charta_history_view_get_n_versions (view) == w->n_versions;
}

/* Activates the record view's History button and waits for @n_versions versions. */
static GtkWidget *
open_history (Fixture    *f,
              GtkWidget  *record,
              unsigned    n_versions)
{
  GtkWidget *view = need_id (f->window, "history_view");
  HistoryWanted wanted = { view, NULL, n_versions };

  wanted.reference = charta_resource_view_get_reference (CHARTA_RESOURCE_VIEW (record));
  g_assert_true (gtk_widget_activate (need_id (record, "history_button")));
  wait_for (history_loaded, &wanted, "the history");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (need_id (f->window,
                                                                         "content_stack"))),
                   ==, "history");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (need_id (view, "stack"))), ==,
                   "history");
  return view;
}

/* The history's version rows: title and subtitle of each, newest first. */
static GPtrArray *
version_rows (GtkWidget *history)
{
  GtkListBox *list = GTK_LIST_BOX (need_id (history, "versions_list"));
  GPtrArray *rows = g_ptr_array_new ();
  GtkListBoxRow *row;

  for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
    g_ptr_array_add (rows, row);
  return rows;
}

/* The diff row for @path, or NULL. */
static GtkWidget *
diff_row_for (GtkWidget  *history,
              const char *path)
{
  GtkListBox *list = GTK_LIST_BOX (need_id (history, "diff_list"));
  GtkListBoxRow *row;

  for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
    if (g_strcmp0 (g_object_get_data (G_OBJECT (row), "charta-path"), path) == 0)
      return GTK_WIDGET (row);
  return NULL;
}

static unsigned
n_diff_rows (GtkWidget *history)
{
  GtkListBox *list = GTK_LIST_BOX (need_id (history, "diff_list"));
  unsigned n = 0;

  while (gtk_list_box_get_row_at_index (list, (int) n) != NULL)
    n++;
  return n;
}

/* ---- the tests ---------------------------------------------------------------------------- */

/* The observation table lists the patient's 20 most recent observations as the server orders
 * them (_sort=-date), each with its date, code text, value and unit, and status; the newest
 * body height opens in readable labels, and the raw JSON is the record itself. */
static void
test_details (Fixture       *f,
              gconstpointer  data)
{
  GtkWidget *chart = open_patient (f);
  g_autofree char *path = g_strdup_printf ("Observation?patient=%s&_sort=-date&_count=20",
                                           PATIENT);
  g_autoptr(JsonNode) bundle = http_get (f, path, NULL);
  JsonArray *entries = charta_json_get_array (json_node_get_object (bundle), "entry");
  g_autoptr(GPtrArray) rows = observation_rows (chart);
  g_autoptr(JsonNode) height = newest_observation (f, "8302-2");
  JsonObject *object = json_node_get_object (height);
  JsonObject *quantity = charta_json_get_object (object, "valueQuantity");
  g_autofree char *reference = g_strdup_printf ("Observation/%s",
                                                charta_json_get_string (object, "id"));
  g_autoptr(GHashTable) details = NULL;
  g_autoptr(JsonNode) shown_json = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *where = NULL;
  g_autofree char *json_text = NULL;
  GtkTextIter start, end;
  GtkWidget *view;
  GtkTextBuffer *buffer;

  g_assert_nonnull (entries);
  g_assert_cmpuint (json_array_get_length (entries), ==, 20);
  g_assert_cmpuint (rows->len, ==, 20);
  for (unsigned i = 0; i < rows->len; i++)
    {
      JsonObject *resource =
        charta_json_get_object (json_array_get_object_element (entries, i), "resource");
      g_autoptr(GPtrArray) texts = row_texts (rows->pdata[i]);
      g_autofree char *expected_reference =
        g_strdup_printf ("Observation/%s", charta_json_get_string (resource, "id"));
      g_autofree char *date = g_strndup (charta_json_get_string (resource,
                                                                 "effectiveDateTime"), 10);
      JsonObject *q = charta_json_get_object (resource, "valueQuantity");

      g_assert_cmpstr (g_object_get_data (rows->pdata[i], "charta-reference"), ==,
                       expected_reference);
      g_assert_cmpuint (texts->len, ==, 4);
      g_assert_cmpstr (texts->pdata[0], ==, date);
      /* The demo always writes a code text. */
      g_assert_cmpstr (texts->pdata[1], ==,
                       charta_json_get_string (charta_json_get_object (resource, "code"),
                                               "text"));
      if (q != NULL)
        {
          /* "<value> <unit>": the unit as the record writes it, after the number. */
          g_assert_true (g_str_has_suffix (texts->pdata[2],
                                           charta_json_get_string (q, "unit")));
          g_assert_cmpfloat_with_epsilon (g_ascii_strtod (texts->pdata[2], NULL),
                                          json_node_get_double (json_object_get_member (q,
                                                                                        "value")),
                                          1e-9);
        }
      g_assert_cmpstr (texts->pdata[3], ==, "Final");
      g_assert_cmpstr (charta_json_get_string (resource, "status"), ==, "final");
    }

  view = open_observation (f, chart, reference);
  g_assert_cmpstr (label_text (view, "record_title"), ==, "Body height");
  charta_test_assert_contains (label_text (view, "record_subtitle"), "Observation · Version ");
  details = detail_values (view);
  /* 8302-2 is in cm in the demo: the value, then the unit. */
  g_assert_cmpstr (charta_json_get_string (quantity, "unit"), ==, "cm");
  g_assert_true (g_str_has_suffix (g_hash_table_lookup (details, "Value"), " cm"));
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (g_hash_table_lookup (details, "Value"), NULL),
                                  json_node_get_double (json_object_get_member (quantity,
                                                                                "value")),
                                  1e-9);
  g_assert_cmpstr (g_hash_table_lookup (details, "Status"), ==, "Final");
  g_assert_cmpstr (g_hash_table_lookup (details, "Observation"), ==, "Body height");
  /* "YYYY-MM-DD HH:MM" of effectiveDateTime, as written. */
  g_assert_cmpstr (g_hash_table_lookup (details, "When"), !=, NULL);
  g_assert_true (strncmp (g_hash_table_lookup (details, "When"),
                          charta_json_get_string (object, "effectiveDateTime"), 10) == 0);
  /* The subject is the chart's patient: not repeated. */
  g_assert_false (g_hash_table_contains (details, "Subject"));

  /* Raw JSON: the record as the server has it. */
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (need_id (view, "view_stack"))),
                   ==, "fields");
  /* Activating a button (Space, Enter) clicks it a moment later, as a press would. */
  g_assert_true (gtk_widget_activate (need_id (view, "raw_button")));
  wait_for_page (need_id (view, "view_stack"), "json");
  buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (need_id (view, "json_view")));
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  json_text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  shown_json = json_from_string (json_text, &error);
  g_assert_no_error (error);
  g_assert_true (charta_test_json_equal (shown_json, height, &where));
  g_assert_true (gtk_widget_activate (need_id (view, "raw_button")));
  wait_for_page (need_id (view, "view_stack"), "fields");

  /* Back (Alt+Left's action) returns to the chart. */
  g_assert_true (gtk_widget_activate_action (f->window, "win.back", NULL));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (need_id (f->window,
                                                                         "content_stack"))),
                   ==, "chart");
}

/* The demo amended pat-030's birth date (activity amend, reason "transcription error", by the
 * HIM clerk): the patient's record, opened from the chart's Record button, lists both versions
 * newest first with who and why from the Provenance of version 2, and the diff of 1 → 2 names
 * birthDate with the two dates that the versions hold (read with vread). */
static void
test_history (Fixture       *f,
              gconstpointer  data)
{
  GtkWidget *chart = open_patient (f);
  GtkWidget *record = need_id (f->window, "resource_view");
  ViewWanted wanted = { record, "Patient/" PATIENT };
  g_autoptr(JsonNode) v1 = http_get (f, "Patient/" PATIENT "/_history/1", NULL);
  g_autoptr(JsonNode) v2 = http_get (f, "Patient/" PATIENT "/_history/2", NULL);
  g_autoptr(JsonNode) history_bundle = http_get (f, "Patient/" PATIENT "/_history", NULL);
  g_autoptr(JsonNode) provenance = provenance_of (f, "Patient", PATIENT, "2");
  JsonObject *prov = json_node_get_object (provenance);
  const char *agent = charta_json_get_string (charta_json_get_object (
                                                charta_json_get_first (prov, "agent"), "who"),
                                              "display");
  const char *reason = charta_json_get_string (charta_json_get_first (prov, "reason"), "text");
  const char *activity = charta_json_get_string (charta_json_get_first (
                                                   charta_json_get_object (prov, "activity"),
                                                   "coding"), "code");
  const char *old_date = charta_json_get_string (json_node_get_object (v1), "birthDate");
  const char *new_date = charta_json_get_string (json_node_get_object (v2), "birthDate");
  g_autoptr(GPtrArray) rows = NULL;
  GtkWidget *history;
  GtkWidget *row;
  JsonArray *entries;

  /* What the demo wrote (charta-demo.h), so that the rest can rely on it. */
  entries = charta_json_get_array (json_node_get_object (history_bundle), "entry");
  g_assert_cmpuint (json_array_get_length (entries), ==, 2);
  g_assert_cmpstr (activity, ==, "amend");
  g_assert_cmpstr (reason, ==, "transcription error");
  g_assert_nonnull (agent);
  g_assert_nonnull (old_date);
  g_assert_cmpstr (old_date, !=, new_date);

  g_assert_true (gtk_widget_activate (need_id (chart, "record_button")));
  wait_for (resource_loaded, &wanted, "the patient's record");
  history = open_history (f, record, 2);

  rows = version_rows (history);
  g_assert_cmpuint (rows->len, ==, 2);
  /* "amend" reads "Correction"; the newest is the current one. */
  g_assert_cmpstr (adw_preferences_row_get_title (rows->pdata[0]), ==,
                   "Version 2 · Correction (current)");
  charta_test_assert_contains (adw_action_row_get_subtitle (rows->pdata[0]), agent);
  charta_test_assert_contains (adw_action_row_get_subtitle (rows->pdata[0]),
                               "Reason: transcription error");
  charta_test_assert_contains (adw_preferences_row_get_title (rows->pdata[1]), "Version 1 · ");

  /* 1 → 2 at first: birthDate changed, and no meta.versionId or meta.lastUpdated. */
  row = diff_row_for (history, "birthDate");
  g_assert_nonnull (row);
  g_assert_cmpstr (g_object_get_data (G_OBJECT (row), "charta-old"), ==, old_date);
  g_assert_cmpstr (g_object_get_data (G_OBJECT (row), "charta-new"), ==, new_date);
  g_assert_null (diff_row_for (history, "meta.versionId"));
  g_assert_null (diff_row_for (history, "meta.lastUpdated"));
  charta_test_assert_contains (label_text (history, "before_heading"), "Version 1");
  charta_test_assert_contains (label_text (history, "after_heading"), "Version 2");

  /* The same version twice: nothing listed, and the view says why. */
  g_assert_true (charta_history_view_compare (CHARTA_HISTORY_VIEW (history), "2", "2"));
  g_assert_cmpuint (n_diff_rows (history), ==, 0);
  g_assert_true (gtk_widget_get_visible (need_id (history, "diff_status")));
  /* Reversed, the change reads backwards. */
  g_assert_true (charta_history_view_compare (CHARTA_HISTORY_VIEW (history), "2", "1"));
  row = diff_row_for (history, "birthDate");
  g_assert_nonnull (row);
  g_assert_cmpstr (g_object_get_data (G_OBJECT (row), "charta-old"), ==, new_date);
  g_assert_false (charta_history_view_compare (CHARTA_HISTORY_VIEW (history), "1", "9"));

  /* Activating version 2's row compares it with version 1 again. */
  g_assert_true (gtk_widget_activate (rows->pdata[0]));
  row = diff_row_for (history, "birthDate");
  g_assert_nonnull (row);
  g_assert_cmpstr (g_object_get_data (G_OBJECT (row), "charta-new"), ==, new_date);

  /* Back goes to the record, then to the chart. */
  g_assert_true (gtk_widget_activate_action (f->window, "win.back", NULL));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (need_id (f->window,
                                                                         "content_stack"))),
                   ==, "resource");
}

/* ---- the correction dialog ---------------------------------------------------------------- */

/* The correction dialog on screen, or NULL. */
static GtkWidget *
find_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (unsigned i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) toplevel = g_list_model_get_item (toplevels, i);

      if (CHARTA_IS_CORRECTION_DIALOG (toplevel) && gtk_widget_get_visible (toplevel))
        return toplevel;
    }
  return NULL;
}

static gboolean
dialog_shown (gpointer data)
{
  return find_dialog () != NULL;
}

static gboolean
dialog_gone (gpointer data)
{
  return find_dialog () == NULL;
}

/* Activates the record view's Edit… button and waits for the correction dialog. */
static GtkWidget *
open_dialog (GtkWidget *record)
{
  GtkWidget *dialog;

  g_assert_true (gtk_widget_get_sensitive (need_id (record, "edit_button")));
  g_assert_true (gtk_widget_activate (need_id (record, "edit_button")));
  wait_for (dialog_shown, NULL, "the correction dialog");
  dialog = find_dialog ();
  g_assert_true (gtk_window_get_modal (GTK_WINDOW (dialog)));
  return dialog;
}

static void
type_into (GtkWidget  *dialog,
           const char *id,
           const char *text)
{
  GtkWidget *row = need_id (dialog, id);

  gtk_widget_grab_focus (row);
  gtk_editable_set_text (GTK_EDITABLE (row), text);
}

static const char *
typed (GtkWidget  *dialog,
       const char *id)
{
  return gtk_editable_get_text (GTK_EDITABLE (need_id (dialog, id)));
}

/* Chooses a kind of change by activating its radio button (what Space on it does). */
static void
choose_kind (GtkWidget  *dialog,
             const char *check_id)
{
  GtkWidget *check = need_id (dialog, check_id);

  g_assert_true (gtk_widget_activate (check));
  g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (check)));
}

static gboolean
is_mapped (gpointer data)
{
  return gtk_widget_get_mapped (data);
}

/* Activates @button as Space does, once it is on screen (a button that is not realized yet
 * ignores activation). */
static void
press (GtkWidget *button)
{
  wait_for (is_mapped, button, "the button to be on screen");
  g_assert_true (gtk_widget_get_sensitive (button));
  g_assert_true (gtk_widget_activate (button));
}

static gboolean
sensitive (GtkWidget  *root,
           const char *id)
{
  return gtk_widget_get_sensitive (need_id (root, id));
}

typedef struct
{
  GtkWidget *dialog;
  const char *text;
} BannerWanted;

static gboolean
banner_says (gpointer data)
{
  BannerWanted *w = data;
  GtkWidget *revealer = need_id (w->dialog, "banner_revealer");

  return gtk_revealer_get_reveal_child (GTK_REVEALER (revealer))
         && !charta_correction_dialog_is_busy (CHARTA_CORRECTION_DIALOG (w->dialog))
         && strstr (label_text (w->dialog, "banner_label"), w->text) != NULL;
}

static void
wait_for_banner (GtkWidget  *dialog,
                 const char *text)
{
  BannerWanted wanted = { dialog, text };
  g_autofree char *what = g_strdup_printf ("the dialog to say “%s”", text);

  wait_for (banner_says, &wanted, what);
}

/* Activates Save; the dialog must close and the record view show @version_id. */
typedef struct
{
  GtkWidget *view;
  const char *version_id;
} VersionWanted;

static gboolean
record_at_version (gpointer data)
{
  VersionWanted *w = data;
  ChartaResourceView *view = CHARTA_RESOURCE_VIEW (w->view);
  JsonNode *resource = charta_resource_view_get_resource (view);

  return charta_resource_view_is_loaded (view) && resource != NULL
         && g_strcmp0 (version_of (resource), w->version_id) == 0;
}

static void
save_and_wait (Fixture    *f,
               GtkWidget  *dialog,
               const char *version_id)
{
  VersionWanted wanted = { need_id (f->window, "resource_view"), version_id };

  g_assert_true (sensitive (dialog, "save_button"));
  press (need_id (dialog, "save_button"));
  wait_for (dialog_gone, NULL, "the dialog to close after saving");
  wait_for (record_at_version, &wanted, "the record to show the saved version");
}

/* The GET body of @path as text, over our own session (to see numbers as written). */
static char *
http_get_text (Fixture    *f,
               const char *path)
{
  g_autofree char *url = g_strdup_printf ("%s/%s", f->base_url, path);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  authorize (f, message);
  body = soup_session_send_and_read (f->session, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (message), ==, 200);
  return g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

/* The Provenance's activity code and system, first reason text and agent display. */
static void
assert_provenance (JsonNode   *provenance,
                   const char *activity,
                   const char *system,
                   const char *reason)
{
  JsonObject *prov = json_node_get_object (provenance);
  JsonObject *coding = charta_json_get_first (charta_json_get_object (prov, "activity"),
                                              "coding");
  JsonObject *who = charta_json_get_object (charta_json_get_first (prov, "agent"), "who");

  g_assert_cmpstr (charta_json_get_string (coding, "code"), ==, activity);
  g_assert_cmpstr (charta_json_get_string (coding, "system"), ==, system);
  g_assert_cmpstr (charta_json_get_string (charta_json_get_first (prov, "reason"), "text"), ==,
                   reason);
  g_assert_cmpstr (charta_json_get_string (who, "display"), ==, USER_NAME);
}

/* The row of the chart's observation table that shows @reference. */
static GtkWidget *
observation_row_for (GtkWidget  *chart,
                     const char *reference)
{
  g_autoptr(GPtrArray) rows = observation_rows (chart);

  for (unsigned i = 0; i < rows->len; i++)
    if (g_strcmp0 (g_object_get_data (rows->pdata[i], "charta-reference"), reference) == 0)
      return rows->pdata[i];
  return NULL;
}

typedef struct
{
  GtkWidget *chart;
  const char *reference;
  const char *text;    /* in one of the row's labels */
} RowWanted;

static gboolean
row_says (gpointer data)
{
  RowWanted *w = data;
  GtkWidget *row;
  g_autoptr(GPtrArray) texts = NULL;

  if (!chart_complete (w->chart))
    return FALSE;
  row = observation_row_for (w->chart, w->reference);
  if (row == NULL)
    return FALSE;
  texts = row_texts (row);
  for (unsigned i = 0; i < texts->len; i++)
    if (strstr (texts->pdata[i], w->text) != NULL)
      return TRUE;
  return FALSE;
}

#define LOINC_WEIGHT      "29463-7"
#define LOINC_HEART_RATE  "8867-4"
#define LOINC_TEMPERATURE "8310-5"
#define DATA_OPERATION    "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
#define ISO_LIFECYCLE     "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"

/* The newest body weight of pat-030, corrected with the kind "correction" and a reason: Save
 * stays off until the kind and the reason are both given; the server then has version N+1
 * with the typed value (its digits as typed), the status "corrected" (the dialog's
 * suggestion for a final result whose value is corrected) and no generated narrative; its
 * Provenance targets Observation/ID/_history/N+1 with the reason, the activity "amend" (ISO
 * 21089) and the user from the settings.  The chart's table shows the new value; the history
 * lists both versions with the reason, and its diff names valueQuantity.value with the old and
 * the new value. */
static void
test_correct_value (Fixture       *f,
                    gconstpointer  data)
{
  GtkWidget *chart = open_patient (f);
  g_autoptr(JsonNode) before = newest_observation (f, LOINC_WEIGHT);
  JsonObject *object = json_node_get_object (before);
  const char *id = charta_json_get_string (object, "id");
  g_autofree char *reference = g_strdup_printf ("Observation/%s", id);
  const char *version = version_of (before);
  int64_t n = g_ascii_strtoll (version, NULL, 10);
  g_autofree char *next = g_strdup_printf ("%" G_GINT64_FORMAT, n + 1);
  g_autofree char *old_value = NULL;
  g_autofree char *new_value = NULL;
  g_autofree char *raw = NULL;
  g_autofree char *raw_value = NULL;
  g_autoptr(JsonNode) after = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  g_autoptr(GPtrArray) versions = NULL;
  g_autofree char *newest_title = NULL;
  GtkWidget *record;
  GtkWidget *dialog;
  GtkWidget *history;
  GtkWidget *row;
  RowWanted row_wanted;
  double old_number;

  g_assert_cmpstr (charta_json_get_string (object, "status"), ==, "final");
  g_assert_nonnull (charta_json_get_object (object, "text"));
  old_number = json_node_get_double (json_object_get_member (
                                       charta_json_get_object (object, "valueQuantity"),
                                       "value"));
  /* A new value with one decimal that differs from the old: old + 2.3, written with one
   * decimal (as a person types it). */
  new_value = g_strdup_printf ("%.1f", old_number + 2.3);
  g_strdelimit (new_value, ",", '.');

  record = open_observation (f, chart, reference);
  dialog = open_dialog (record);
  old_value = g_strdup (typed (dialog, "value_row"));
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (old_value, NULL), old_number, 1e-9);
  g_assert_cmpstr (typed (dialog, "unit_row"), ==, "kg");

  /* Save needs the kind and the reason (and a change). */
  g_assert_false (sensitive (dialog, "save_button"));
  type_into (dialog, "value_row", new_value);
  g_assert_false (sensitive (dialog, "save_button"));
  choose_kind (dialog, "kind_correction");
  g_assert_false (sensitive (dialog, "save_button"));
  charta_test_assert_contains (label_text (dialog, "hint_label"), "reason");
  type_into (dialog, "reason_row", "   ");
  g_assert_false (sensitive (dialog, "save_button"));
  type_into (dialog, "reason_row", "weight transcribed from the wrong scale");
  g_assert_true (sensitive (dialog, "save_button"));
  /* The suggestion for a corrected final result. */
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (need_id (dialog,
                                                                        "status_row"))),
                    ==, 4);   /* observation_statuses[4] = "corrected" */

  save_and_wait (f, dialog, next);

  /* Over HTTP, with our own session. */
  after = http_get (f, reference, NULL);
  g_assert_cmpstr (version_of (after), ==, next);
  object = json_node_get_object (after);
  g_assert_cmpfloat_with_epsilon (json_node_get_double (json_object_get_member (
                                                          charta_json_get_object (object,
                                                                                  "valueQuantity"),
                                                          "value")),
                                  g_ascii_strtod (new_value, NULL), 1e-9);
  g_assert_cmpstr (charta_json_get_string (object, "status"), ==, "corrected");
  g_assert_null (charta_json_get_object (object, "text"));
  raw = http_get_text (f, reference);
  raw_value = g_strdup_printf ("\"value\":%s", new_value);
  charta_test_assert_contains (raw, raw_value);
  provenance = provenance_of (f, "Observation", id, next);
  assert_provenance (provenance, "amend", ISO_LIFECYCLE,
                     "weight transcribed from the wrong scale");

  /* The chart's table shows the new value. */
  row_wanted.chart = chart;
  row_wanted.reference = reference;
  row_wanted.text = new_value;
  wait_for (row_says, &row_wanted, "the table to show the corrected value");

  /* The history: both versions, the reason, and the value's change. */
  history = open_history (f, record, (unsigned) n + 1);
  versions = version_rows (history);
  newest_title = g_strdup_printf ("Version %s · Correction (current)", next);
  g_assert_cmpstr (adw_preferences_row_get_title (versions->pdata[0]), ==, newest_title);
  charta_test_assert_contains (adw_action_row_get_subtitle (versions->pdata[0]),
                               "Reason: weight transcribed from the wrong scale");
  charta_test_assert_contains (adw_action_row_get_subtitle (versions->pdata[0]), USER_NAME);
  row = diff_row_for (history, "valueQuantity.value");
  g_assert_nonnull (row);
  g_assert_cmpstr (g_object_get_data (G_OBJECT (row), "charta-old"), ==, old_value);
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (g_object_get_data (G_OBJECT (row),
                                                                     "charta-new"), NULL),
                                  g_ascii_strtod (new_value, NULL), 1e-9);
  g_assert_cmpint (GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "charta-kind")), ==,
                   CHARTA_DIFF_CHANGED);
  row = diff_row_for (history, "status");
  g_assert_nonnull (row);
  g_assert_cmpstr (g_object_get_data (G_OBJECT (row), "charta-new"), ==, "corrected");
  /* The narrative went: its leaves are removals. */
  row = diff_row_for (history, "text.div");
  g_assert_nonnull (row);
  g_assert_cmpint (GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "charta-kind")), ==,
                   CHARTA_DIFF_REMOVED);
}

/* Someone changes the heart rate over HTTP while the dialog is open: Save meets the 412, the
 * dialog says so and keeps everything typed; Reload and Reapply reads their version, lists
 * their change, keeps our value, and the next Save lands on top of theirs. */
static void
test_conflict (Fixture       *f,
               gconstpointer  data)
{
  GtkWidget *chart = open_patient (f);
  g_autoptr(JsonNode) before = newest_observation (f, LOINC_HEART_RATE);
  JsonObject *object = json_node_get_object (before);
  const char *id = charta_json_get_string (object, "id");
  g_autofree char *reference = g_strdup_printf ("Observation/%s", id);
  const char *version = version_of (before);
  int64_t n = g_ascii_strtoll (version, NULL, 10);
  g_autofree char *theirs_version = g_strdup_printf ("%" G_GINT64_FORMAT, n + 1);
  g_autofree char *ours_version = g_strdup_printf ("%" G_GINT64_FORMAT, n + 2);
  g_autoptr(JsonNode) theirs = NULL;
  g_autoptr(JsonNode) between = NULL;
  g_autoptr(JsonNode) after = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  g_autofree char *their_text = NULL;
  g_autofree char *their_change = NULL;
  g_autofree char *ours = NULL;
  g_autofree char *subtitle = NULL;
  JsonObject *quantity;
  GtkWidget *record;
  GtkWidget *dialog;
  gint64 old_rate;

  /* The demo writes heart rates as whole numbers: ours is old + 7, theirs old + 3. */
  quantity = charta_json_get_object (object, "valueQuantity");
  old_rate = json_node_get_int (json_object_get_member (quantity, "value"));
  record = open_observation (f, chart, reference);
  dialog = open_dialog (record);
  ours = g_strdup_printf ("%" G_GINT64_FORMAT, old_rate + 7);
  type_into (dialog, "value_row", ours);
  choose_kind (dialog, "kind_correction");
  type_into (dialog, "reason_row", "rate counted over 15 s and multiplied wrongly");

  /* Behind the dialog's back: their change, a version of its own. */
  theirs = http_get (f, reference, NULL);
  json_object_set_int_member (json_object_get_object_member (
                                json_node_get_object (theirs), "valueQuantity"),
                              "value", old_rate + 3);
  g_assert_cmpuint (http_put (f, reference, theirs, version), ==, 200);
  between = http_get (f, reference, NULL);
  g_assert_cmpstr (version_of (between), ==, theirs_version);

  press (need_id (dialog, "save_button"));
  wait_for_banner (dialog, "Someone else saved a newer version");
  /* Still open, nothing typed lost, and the way out offered. */
  g_assert_true (find_dialog () == dialog);
  g_assert_cmpstr (typed (dialog, "value_row"), ==, ours);
  g_assert_cmpstr (typed (dialog, "reason_row"), ==,
                   "rate counted over 15 s and multiplied wrongly");
  g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (need_id (dialog,
                                                                        "kind_correction"))));
  g_assert_true (gtk_widget_get_visible (need_id (dialog, "reload_button")));
  g_assert_true (sensitive (dialog, "save_button"));
  /* Nothing of ours reached the server. */
  g_clear_pointer (&between, json_node_unref);
  between = http_get (f, reference, NULL);
  g_assert_cmpstr (version_of (between), ==, theirs_version);
  g_assert_cmpint (json_node_get_int (json_object_get_member (
                                        json_object_get_object_member (
                                          json_node_get_object (between), "valueQuantity"),
                                        "value")), ==, old_rate + 3);

  /* Reload and reapply: their version under our entries. */
  press (need_id (dialog, "reload_button"));
  their_text = g_strdup_printf ("Reloaded version %s", theirs_version);
  wait_for_banner (dialog, their_text);
  their_change = g_strdup_printf ("valueQuantity.value (%" G_GINT64_FORMAT " → %"
                                  G_GINT64_FORMAT ")", old_rate, old_rate + 3);
  charta_test_assert_contains (label_text (dialog, "banner_label"), their_change);
  charta_test_assert_contains (label_text (dialog, "banner_label"), "you both changed Value");
  g_assert_cmpstr (typed (dialog, "value_row"), ==, ours);
  subtitle = g_strdup_printf ("editing version %s", theirs_version);
  charta_test_assert_contains (adw_window_title_get_subtitle (ADW_WINDOW_TITLE (
                                 need_id (dialog, "dialog_title"))), subtitle);

  save_and_wait (f, dialog, ours_version);
  after = http_get (f, reference, NULL);
  g_assert_cmpstr (version_of (after), ==, ours_version);
  g_assert_cmpint (json_node_get_int (json_object_get_member (
                                        json_object_get_object_member (
                                          json_node_get_object (after), "valueQuantity"),
                                        "value")), ==, old_rate + 7);
  provenance = provenance_of (f, "Observation", id, ours_version);
  assert_provenance (provenance, "amend", ISO_LIFECYCLE,
                     "rate counted over 15 s and multiplied wrongly");
}

static gboolean
question_shown (gpointer data)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (unsigned i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) toplevel = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (toplevel) && gtk_widget_get_visible (toplevel))
        return TRUE;
    }
  return FALSE;
}

/* The patient's birth date: what the dialog can tell is wrong ("abc") is marked at the field
 * without a request; what only the server can (30 February) comes back as a 422 whose
 * OperationOutcome is shown at the birth date.  Neither makes a version. */
static void
test_refused (Fixture       *f,
              gconstpointer  data)
{
  GtkWidget *chart = open_patient (f);
  GtkWidget *record = need_id (f->window, "resource_view");
  ViewWanted wanted = { record, "Patient/" PATIENT };
  g_autoptr(JsonNode) before = http_get (f, "Patient/" PATIENT, NULL);
  g_autoptr(JsonNode) after = NULL;
  GtkWidget *dialog;
  GtkWidget *error_row;

  g_assert_true (gtk_widget_activate (need_id (chart, "record_button")));
  wait_for (resource_loaded, &wanted, "the patient's record");
  dialog = open_dialog (record);
  /* A registration entered in error is not this form's business. */
  g_assert_false (gtk_widget_get_visible (need_id (dialog, "kind_entered_in_error_row")));
  g_assert_cmpstr (typed (dialog, "birth_date_row"), ==,
                   charta_json_get_string (json_node_get_object (before), "birthDate"));
  choose_kind (dialog, "kind_administrative");
  type_into (dialog, "reason_row", "date of birth checked against the passport");

  type_into (dialog, "birth_date_row", "abc");
  press (need_id (dialog, "save_button"));
  wait_for_banner (dialog, "see the marked fields");
  error_row = need_id (dialog, "birth_date_error");
  g_assert_true (gtk_widget_get_visible (error_row));
  charta_test_assert_contains (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (error_row)),
                               "YYYY-MM-DD");

  type_into (dialog, "birth_date_row", "2002-02-30");
  press (need_id (dialog, "save_button"));
  wait_for_banner (dialog, "The server did not accept the change");
  g_assert_true (gtk_widget_get_visible (error_row));
  /* The server's words, beside the field its diagnostics name. */
  charta_test_assert_contains (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (error_row)),
                               "2002-02-30");
  charta_test_assert_contains (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (error_row)),
                               "not a valid date");
  g_assert_false (gtk_widget_get_visible (need_id (dialog, "family_error")));
  g_assert_true (find_dialog () == dialog);
  g_assert_cmpstr (typed (dialog, "birth_date_row"), ==, "2002-02-30");

  after = http_get (f, "Patient/" PATIENT, NULL);
  g_assert_cmpstr (version_of (after), ==, version_of (before));

  /* Closing (Escape, Cancel) with entries typed asks first, and the dialog stays. */
  g_assert_true (gtk_widget_activate_action (dialog, "window.close", NULL));
  wait_for (question_shown, NULL, "the question whether to discard");
  g_assert_true (find_dialog () == dialog);
  g_assert_cmpstr (typed (dialog, "birth_date_row"), ==, "2002-02-30");
}

/* The newest body temperature marked entered in error: status entered-in-error over HTTP, a
 * Provenance with NULLIFY and the reason; in the chart the row stays, struck through (CSS
 * class entered-in-error), with the reason; the record view says so first. */
/* The first row of the problems list is struck through and has its reason. */
static gboolean
problem_struck (gpointer data)
{
  GtkWidget *chart = data;
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (GTK_LIST_BOX (need_id (chart,
                                                                          "problems_list")),
                                                      0);

  return chart_complete (chart) && ADW_IS_ACTION_ROW (row)
         && gtk_widget_has_css_class (GTK_WIDGET (row), "entered-in-error")
         && g_str_has_prefix (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)),
                              "Entered in error: ");
}

static void
test_entered_in_error (Fixture       *f,
                       gconstpointer  data)
{
  GtkWidget *chart = open_patient (f);
  g_autoptr(JsonNode) before = newest_observation (f, LOINC_TEMPERATURE);
  JsonObject *object = json_node_get_object (before);
  const char *id = charta_json_get_string (object, "id");
  g_autofree char *reference = g_strdup_printf ("Observation/%s", id);
  int64_t n = g_ascii_strtoll (version_of (before), NULL, 10);
  g_autofree char *next = g_strdup_printf ("%" G_GINT64_FORMAT, n + 1);
  g_autoptr(JsonNode) after = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  RowWanted row_wanted = { chart, reference, "Entered in error: reading of another patient" };
  GtkWidget *record;
  GtkWidget *dialog;
  GtkWidget *row;

  record = open_observation (f, chart, reference);
  dialog = open_dialog (record);
  choose_kind (dialog, "kind_entered_in_error");
  /* Nothing to change in the form: the kind and the reason are enough. */
  g_assert_false (sensitive (dialog, "observation_group"));
  type_into (dialog, "reason_row", "reading of another patient");
  save_and_wait (f, dialog, next);

  after = http_get (f, reference, NULL);
  g_assert_cmpstr (charta_json_get_string (json_node_get_object (after), "status"), ==,
                   "entered-in-error");
  provenance = provenance_of (f, "Observation", id, next);
  assert_provenance (provenance, "NULLIFY", DATA_OPERATION, "reading of another patient");

  g_assert_true (gtk_widget_get_visible (need_id (record, "in_error_group")));
  wait_for (row_says, &row_wanted, "the struck-through row with its reason");
  row = observation_row_for (chart, reference);
  g_assert_true (gtk_widget_has_css_class (row, "entered-in-error"));
}

/* A Condition entered in error: the demo's pat-017 has one active problem (charta-demo.h: the
 * patient of the corrections).  Saved, it has verificationStatus entered-in-error and no
 * clinicalStatus (con-5), and a Provenance with NULLIFY; the problems list, which searches
 * active ones, still lists it after the reload (its second search), struck through, with the
 * reason. */
static void
test_condition_entered_in_error (Fixture       *f,
                                 gconstpointer  data)
{
  GtkWidget *chart = open_chart_of (f, "pat-017");
  g_autoptr(JsonNode) bundle = http_get (f, "Condition?patient=pat-017&clinical-status=active",
                                         NULL);
  JsonArray *entries = charta_json_get_array (json_node_get_object (bundle), "entry");
  JsonObject *condition;
  const char *id;
  g_autofree char *reference = NULL;
  g_autofree char *next = NULL;
  g_autoptr(JsonNode) after = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  GtkListBox *problems = GTK_LIST_BOX (need_id (chart, "problems_list"));
  GtkWidget *record = need_id (f->window, "resource_view");
  ViewWanted wanted = { record, NULL };
  GtkListBoxRow *row;
  GtkWidget *dialog;
  JsonObject *object;

  g_assert_nonnull (entries);
  g_assert_cmpuint (json_array_get_length (entries), ==, 1);
  condition = charta_json_get_object (json_array_get_object_element (entries, 0), "resource");
  id = charta_json_get_string (condition, "id");
  reference = g_strdup_printf ("Condition/%s", id);
  next = g_strdup_printf ("%" G_GINT64_FORMAT,
                          g_ascii_strtoll (charta_json_get_string (
                                             charta_json_get_object (condition, "meta"),
                                             "versionId"), NULL, 10) + 1);

  row = gtk_list_box_get_row_at_index (problems, 0);
  g_assert_nonnull (row);
  g_assert_cmpstr (g_object_get_data (G_OBJECT (row), "charta-reference"), ==, reference);
  g_assert_true (gtk_widget_activate (GTK_WIDGET (row)));
  wanted.reference = reference;
  wait_for (resource_loaded, &wanted, "the condition's record");

  dialog = open_dialog (record);
  /* The form shows what the record says. */
  g_assert_cmpstr (typed (dialog, "onset_row"), ==,
                   charta_json_get_string (condition, "onsetDateTime"));
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (need_id (dialog,
                                                                        "clinical_status_row"))),
                    ==, 1);   /* clinical_statuses[1] = "active" */
  choose_kind (dialog, "kind_entered_in_error");
  type_into (dialog, "reason_row", "recorded in the wrong patient's chart");
  save_and_wait (f, dialog, next);

  after = http_get (f, reference, NULL);
  object = json_node_get_object (after);
  g_assert_false (json_object_has_member (object, "clinicalStatus"));
  g_assert_cmpstr (charta_json_get_string (charta_json_get_first (
                                             charta_json_get_object (object,
                                                                     "verificationStatus"),
                                             "coding"), "code"), ==, "entered-in-error");
  provenance = provenance_of (f, "Condition", id, next);
  assert_provenance (provenance, "NULLIFY", DATA_OPERATION,
                     "recorded in the wrong patient's chart");

  wait_for (problem_struck, chart, "the problem, struck through, with its reason");
  row = gtk_list_box_get_row_at_index (problems, 0);
  g_assert_cmpstr (g_object_get_data (G_OBJECT (row), "charta-reference"), ==, reference);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==,
                   "Entered in error: recorded in the wrong patient's chart");
}

/* ---- forms for more types, and the JSON editor --------------------------------------------- */

/* Shows @reference in the record view (as `--resource` does) and waits for it. */
static GtkWidget *
open_record (Fixture    *f,
             const char *reference)
{
  GtkWidget *view = need_id (f->window, "resource_view");
  ViewWanted wanted = { view, reference };

  charta_window_show_resource (CHARTA_WINDOW (f->window), reference, CHARTA_WINDOW_SHOW_DETAILS);
  wait_for (resource_loaded, &wanted, "the record's details");
  return view;
}

/* The first resource of the search @path, over HTTP. */
static JsonNode *
first_of (Fixture    *f,
          const char *path)
{
  g_autoptr(JsonNode) bundle = http_get (f, path, NULL);
  JsonArray *entries = charta_json_get_array (json_node_get_object (bundle), "entry");
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  g_assert_nonnull (entries);
  g_assert_cmpuint (json_array_get_length (entries), >=, 1);
  json_node_set_object (node, charta_json_get_object (json_array_get_object_element (entries, 0),
                                                      "resource"));
  return node;
}

static const char *
status_coding (JsonNode   *resource,
               const char *element)
{
  return charta_json_get_string (charta_json_get_first (charta_json_get_object (
                                   json_node_get_object (resource), element), "coding"), "code");
}

/* The allergy form: pat-042's penicillin allergy (the demo's: confirmed, high criticality)
 * corrected to low criticality; then entered in error, which sets its verificationStatus and
 * drops its clinicalStatus (ait-2). */
static void
test_allergy_form (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(JsonNode) before = NULL;
  g_autoptr(JsonNode) after = NULL;
  g_autoptr(JsonNode) voided = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  g_autofree char *reference = NULL;
  g_autofree char *path = NULL;
  g_autofree char *next = NULL;
  g_autofree char *third = NULL;
  GtkWidget *record;
  GtkWidget *dialog;
  const char *id;
  int64_t n;

  open_chart_of (f, "pat-042");
  before = first_of (f, "AllergyIntolerance?patient=pat-042&_count=1");
  id = charta_json_get_string (json_node_get_object (before), "id");
  reference = g_strdup_printf ("AllergyIntolerance/%s", id);
  path = g_strdup (reference);
  g_assert_cmpstr (charta_json_get_string (json_node_get_object (before), "criticality"), ==,
                   "high");
  g_assert_cmpstr (status_coding (before, "verificationStatus"), ==, "confirmed");
  n = g_ascii_strtoll (version_of (before), NULL, 10);
  next = g_strdup_printf ("%" G_GINT64_FORMAT, n + 1);
  third = g_strdup_printf ("%" G_GINT64_FORMAT, n + 2);

  record = open_record (f, reference);
  dialog = open_dialog (record);
  g_assert_true (gtk_widget_get_visible (need_id (dialog, "allergy_group")));
  g_assert_false (gtk_widget_get_visible (need_id (dialog, "observation_group")));
  g_assert_false (gtk_widget_get_visible (need_id (dialog, "json_group")));
  /* criticalities[] = { "", "low", "high", "unable-to-assess" }: high is 2, confirmed is
   * allergy_verification_statuses[2]. */
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (need_id (dialog,
                                                                        "criticality_row"))),
                    ==, 2);
  g_assert_cmpuint (adw_combo_row_get_selected (
                      ADW_COMBO_ROW (need_id (dialog, "allergy_verification_row"))), ==, 2);
  adw_combo_row_set_selected (ADW_COMBO_ROW (need_id (dialog, "criticality_row")), 1);
  choose_kind (dialog, "kind_correction");
  type_into (dialog, "reason_row", "criticality assessed again by the allergist");
  save_and_wait (f, dialog, next);

  after = http_get (f, path, NULL);
  g_assert_cmpstr (version_of (after), ==, next);
  g_assert_cmpstr (charta_json_get_string (json_node_get_object (after), "criticality"), ==,
                   "low");
  g_assert_cmpstr (status_coding (after, "clinicalStatus"), ==,
                   status_coding (before, "clinicalStatus"));
  provenance = provenance_of (f, "AllergyIntolerance", id, next);
  assert_provenance (provenance, "amend", ISO_LIFECYCLE, "criticality assessed again by the allergist");

  dialog = open_dialog (record);
  choose_kind (dialog, "kind_entered_in_error");
  g_assert_false (gtk_widget_get_sensitive (need_id (dialog, "allergy_group")));
  type_into (dialog, "reason_row", "recorded for the wrong patient");
  save_and_wait (f, dialog, third);
  voided = http_get (f, path, NULL);
  g_assert_cmpstr (status_coding (voided, "verificationStatus"), ==, "entered-in-error");
  g_assert_false (json_object_has_member (json_node_get_object (voided), "clinicalStatus"));
  g_assert_cmpstr (charta_json_get_string (json_node_get_object (voided), "criticality"), ==,
                   "low");
}

/* The first GtkTextView below @root. */
static GtkTextView *
text_view_in (GtkWidget *root)
{
  if (GTK_IS_TEXT_VIEW (root))
    return GTK_TEXT_VIEW (root);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkTextView *found = text_view_in (child);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static char *
buffer_text (GtkTextBuffer *buffer)
{
  GtkTextIter start;
  GtkTextIter end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

/* @buffer's text with the first @from replaced by @to. */
static void
replace_in (GtkTextBuffer *buffer,
            const char    *from,
            const char    *to)
{
  g_autofree char *text = buffer_text (buffer);
  const char *at = strstr (text, from);
  g_autofree char *changed = NULL;

  g_assert_nonnull (at);
  changed = g_strdup_printf ("%.*s%s%s", (int) (at - text), text, to, at + strlen (from));
  gtk_text_buffer_set_text (buffer, changed, -1);
}

static gboolean
save_sensitive (gpointer data)
{
  return gtk_widget_get_sensitive (need_id (data, "save_button"));
}

static gboolean
save_insensitive (gpointer data)
{
  return !gtk_widget_get_sensitive (need_id (data, "save_button"));
}

typedef struct
{
  GtkTextBuffer *buffer;
  const char *text;
} IssueWanted;

/* The "issue" tag (the server's issues) covers text that begins with w->text. */
static gboolean
issue_marked (gpointer data)
{
  IssueWanted *w = data;
  GtkTextTag *tag = gtk_text_tag_table_lookup (gtk_text_buffer_get_tag_table (w->buffer),
                                               "issue");
  GtkTextIter iter;

  g_assert_nonnull (tag);
  gtk_text_buffer_get_start_iter (w->buffer, &iter);
  while (gtk_text_iter_forward_to_tag_toggle (&iter, tag))
    if (gtk_text_iter_starts_tag (&iter, tag))
      {
        GtkTextIter end = iter;
        g_autofree char *marked = NULL;

        gtk_text_iter_forward_to_tag_toggle (&end, tag);
        marked = gtk_text_iter_get_text (&iter, &end);
        if (g_str_has_prefix (marked, w->text))
          return TRUE;
      }
  return FALSE;
}

/* A record without a form (an Immunization of pat-030) is edited as JSON: a text that is not
 * JSON keeps Save off and says where; a status the server refuses (422) is marked at
 * "status" in the text; fixed, the save stores the new lot number, and nothing else changed
 * (the occurrence is as it was). */
static void
test_json_editor (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(JsonNode) before = NULL;
  g_autoptr(JsonNode) after = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  g_autofree char *reference = NULL;
  g_autofree char *next = NULL;
  g_autofree char *old_lot = NULL;
  g_autofree char *new_lot = NULL;
  g_autofree char *expected_lot = NULL;
  g_autoptr(JsonNode) unchanged = NULL;
  GtkTextBuffer *buffer;
  GtkWidget *record;
  GtkWidget *dialog;
  const char *id;
  IssueWanted wanted;

  open_chart_of (f, PATIENT);
  before = first_of (f, "Immunization?patient=" PATIENT "&_count=1");
  id = charta_json_get_string (json_node_get_object (before), "id");
  reference = g_strdup_printf ("Immunization/%s", id);
  next = g_strdup_printf ("%" G_GINT64_FORMAT,
                          g_ascii_strtoll (version_of (before), NULL, 10) + 1);
  old_lot = g_strdup_printf ("\"lotNumber\": \"%s\"",
                             charta_json_get_string (json_node_get_object (before), "lotNumber"));
  new_lot = g_strdup_printf ("\"lotNumber\": \"%s-B\"",
                             charta_json_get_string (json_node_get_object (before), "lotNumber"));
  expected_lot = g_strdup_printf ("%s-B", charta_json_get_string (json_node_get_object (before),
                                                                  "lotNumber"));

  record = open_record (f, reference);
  dialog = open_dialog (record);
  g_assert_true (gtk_widget_get_visible (need_id (dialog, "json_group")));
  buffer = gtk_text_view_get_buffer (text_view_in (need_id (dialog, "json_editor")));
  choose_kind (dialog, "kind_correction");
  type_into (dialog, "reason_row", "lot number misread from the vial");
  g_assert_false (sensitive (dialog, "save_button"));

  /* Not JSON: a comma gone after the lot number. */
  replace_in (buffer, old_lot, new_lot);
  wait_for (save_sensitive, dialog, "Save, for a changed record");
  replace_in (buffer, new_lot, "\"lotNumber\": \"x\" \"y\"");
  wait_for (save_insensitive, dialog, "Save off, for text that is not JSON");
  charta_test_assert_contains (label_text (dialog, "hint_label"), "Line ");
  replace_in (buffer, "\"lotNumber\": \"x\" \"y\"", new_lot);

  /* A status that Immunization does not have: the server's 422 at "status". */
  replace_in (buffer, "\"status\": \"completed\"", "\"status\": \"bogus\"");
  wait_for (save_sensitive, dialog, "Save, for JSON the server will refuse");
  press (need_id (dialog, "save_button"));
  wait_for_banner (dialog, "did not accept");
  wanted.buffer = buffer;
  wanted.text = "\"status\"";
  wait_for (issue_marked, &wanted, "the server's issue at \"status\"");
  unchanged = http_get (f, reference, NULL);
  g_assert_cmpstr (version_of (unchanged), ==, version_of (before));

  replace_in (buffer, "\"status\": \"bogus\"", "\"status\": \"completed\"");
  wait_for (save_sensitive, dialog, "Save, for the fixed record");
  save_and_wait (f, dialog, next);

  after = http_get (f, reference, NULL);
  g_assert_cmpstr (charta_json_get_string (json_node_get_object (after), "lotNumber"), ==,
                   expected_lot);
  g_assert_cmpstr (charta_json_get_string (json_node_get_object (after), "occurrenceDateTime"),
                   ==, charta_json_get_string (json_node_get_object (before),
                                               "occurrenceDateTime"));
  g_assert_cmpstr (charta_json_get_string (json_node_get_object (after), "status"), ==,
                   "completed");
  provenance = provenance_of (f, "Immunization", id, next);
  assert_provenance (provenance, "amend", ISO_LIFECYCLE, "lot number misread from the vial");
}

/* ---- the chart as it was ------------------------------------------------------------------ */

typedef struct
{
  GtkWidget *chart;
  const char *reference;   /* the row that must be in the table */
  const char *value;       /* and the value it must show */
} TableWanted;

/* The chart is complete and its table has a row for w->reference showing w->value. */
static gboolean
table_shows (gpointer data)
{
  TableWanted *w = data;
  g_autoptr(GPtrArray) rows = NULL;

  if (!chart_complete (w->chart))
    return FALSE;
  rows = observation_rows (w->chart);
  for (unsigned i = 0; i < rows->len; i++)
    if (g_strcmp0 (g_object_get_data (rows->pdata[i], "charta-reference"), w->reference) == 0)
      {
        g_autoptr(GPtrArray) texts = row_texts (rows->pdata[i]);

        for (unsigned t = 0; t < texts->len; t++)
          if (g_strcmp0 (texts->pdata[t], w->value) == 0)
            return TRUE;
      }
  return FALSE;
}

static gboolean
error_page_shown (gpointer data)
{
  return g_strcmp0 (gtk_stack_get_visible_child_name (GTK_STACK (need_id (data, "stack"))),
                    "error") == 0;
}

/* Point-in-time: an observation of the patient's table is changed over HTTP after instant AT;
 * the chart set to AT shows the value it had then, in a row that opens that version
 * ("Observation/ID/_history/N", the version read before the change), under a bar saying so;
 * "Back to Now" shows the new value again.  The popover refuses a time in the future and a
 * time that is not one, and a date before the demo store was made gives "No Chart at That
 * Time" (the patient had not been recorded), whose button goes back to now. */
static void
test_point_in_time (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(JsonNode) bundle = NULL;
  g_autoptr(JsonNode) changed = NULL;
  g_autoptr(GDateTime) at = NULL;
  g_autoptr(GDateTime) tomorrow = NULL;
  g_autoptr(GDateTime) long_ago = NULL;
  g_autofree char *old_value = NULL;
  g_autofree char *new_value = NULL;
  g_autofree char *now_reference = NULL;
  g_autofree char *at_reference = NULL;
  g_autofree char *path = NULL;
  JsonObject *observation = NULL;
  JsonObject *quantity;
  JsonArray *entries;
  GtkWidget *chart;
  GtkWidget *popover;
  const char *id;
  const char *version;

  chart = open_chart_of (f, "pat-041");
  /* A quantity among the 20 observations the table lists, newest first. */
  bundle = http_get (f, "Observation?patient=pat-041&_sort=-date&_count=20", NULL);
  entries = charta_json_get_array (json_node_get_object (bundle), "entry");
  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *resource = charta_json_get_object (json_array_get_object_element (entries, i),
                                                     "resource");

      if (charta_json_get_object (resource, "valueQuantity") != NULL)
        {
          observation = resource;
          break;
        }
    }
  g_assert_nonnull (observation);
  id = charta_json_get_string (observation, "id");
  version = charta_json_get_string (charta_json_get_object (observation, "meta"), "versionId");
  quantity = charta_json_get_object (observation, "valueQuantity");
  old_value = charta_fhir_text_quantity (quantity);
  now_reference = g_strdup_printf ("Observation/%s", id);
  at_reference = g_strdup_printf ("Observation/%s/_history/%s", id, version);

  /* AT: after the version read above, before the change. */
  g_usleep (2000);
  at = g_date_time_new_now_utc ();
  g_usleep (2000);
  json_object_set_double_member (quantity, "value",
                                 json_object_get_double_member (quantity, "value") + 7);
  json_object_remove_member (observation, "text");
  new_value = charta_fhir_text_quantity (quantity);
  g_assert_cmpstr (new_value, !=, old_value);
  changed = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (changed, observation);
  path = g_strdup_printf ("Observation/%s", id);
  g_assert_cmpuint (http_put (f, path, changed, version), ==, 200);

  charta_chart_view_reload (CHARTA_CHART_VIEW (chart));
  {
    TableWanted wanted = { chart, now_reference, new_value };

    wait_for (table_shows, &wanted, "the table to show the new value");
  }
  g_assert_false (gtk_widget_get_visible (need_id (chart, "as_of_bar")));

  charta_chart_view_set_at (CHARTA_CHART_VIEW (chart), at);
  {
    TableWanted wanted = { chart, at_reference, old_value };

    wait_for (table_shows, &wanted, "the table to show the value as it was");
  }
  g_assert_true (gtk_widget_get_visible (need_id (chart, "as_of_bar")));
  charta_test_assert_contains (label_text (chart, "as_of_label"), "The chart as it was on");

  press (need_id (chart, "as_of_back"));
  {
    TableWanted wanted = { chart, now_reference, new_value };

    wait_for (table_shows, &wanted, "the table to show the new value again");
  }
  g_assert_null (charta_chart_view_get_at (CHARTA_CHART_VIEW (chart)));
  g_assert_false (gtk_widget_get_visible (need_id (chart, "as_of_bar")));

  /* The popover: tomorrow is refused, so is a time that is not one. */
  popover = need_id (chart, "as_of_popover");
  gtk_popover_popup (GTK_POPOVER (popover));
  wait_for (is_mapped, popover, "the popover");
  tomorrow = g_date_time_add_days (at, 1);
  {
    g_autoptr(GDateTime) local = g_date_time_to_local (tomorrow);

    gtk_calendar_select_day (GTK_CALENDAR (need_id (chart, "as_of_calendar")), local);
  }
  gtk_editable_set_text (GTK_EDITABLE (need_id (chart, "as_of_time")), "00:00");
  g_assert_true (gtk_widget_get_visible (need_id (chart, "as_of_error")));
  charta_test_assert_contains (label_text (chart, "as_of_error"), "in the future");
  g_assert_false (sensitive (chart, "as_of_show"));
  long_ago = g_date_time_new_local (2001, 2, 3, 0, 0, 0);
  gtk_calendar_select_day (GTK_CALENDAR (need_id (chart, "as_of_calendar")), long_ago);
  gtk_editable_set_text (GTK_EDITABLE (need_id (chart, "as_of_time")), "25:00");
  g_assert_true (gtk_widget_get_visible (need_id (chart, "as_of_error")));
  charta_test_assert_contains (label_text (chart, "as_of_error"), "hours and minutes");
  g_assert_false (sensitive (chart, "as_of_show"));
  gtk_editable_set_text (GTK_EDITABLE (need_id (chart, "as_of_time")), "09:30");
  g_assert_false (gtk_widget_get_visible (need_id (chart, "as_of_error")));

  /* 2001: before the demo store was made. */
  press (need_id (chart, "as_of_show"));
  wait_for (error_page_shown, chart, "the chart to say there was none then");
  {
    GDateTime *chosen = charta_chart_view_get_at (CHARTA_CHART_VIEW (chart));
    g_autoptr(GDateTime) local = g_date_time_to_local (chosen);

    g_assert_cmpint (g_date_time_get_year (local), ==, 2001);
    g_assert_cmpint (g_date_time_get_month (local), ==, 2);
    g_assert_cmpint (g_date_time_get_day_of_month (local), ==, 3);
    g_assert_cmpint (g_date_time_get_hour (local), ==, 9);
    g_assert_cmpint (g_date_time_get_minute (local), ==, 30);
  }
  g_assert_cmpstr (adw_status_page_get_title (ADW_STATUS_PAGE (need_id (chart, "error_page"))),
                   ==, "No Chart at That Time");
  charta_test_assert_contains (adw_status_page_get_description (
                                 ADW_STATUS_PAGE (need_id (chart, "error_page"))),
                               "had not been recorded yet on 2001-02-03 at 09:30");
  press (need_id (chart, "retry_button"));
  {
    TableWanted wanted = { chart, now_reference, new_value };

    wait_for (table_shows, &wanted, "the chart as it is now");
  }
  g_assert_null (charta_chart_view_get_at (CHARTA_CHART_VIEW (chart)));
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

  app = G_APPLICATION (charta_application_new ());
  g_application_set_flags (app, G_APPLICATION_HANDLES_COMMAND_LINE
                                | G_APPLICATION_NON_UNIQUE);
  g_application_register (app, NULL, &error);
  g_assert_no_error (error);
  /* The memory settings backend: nothing reaches the user's own settings. */
  g_assert_nonnull (charta_application_get_settings (CHARTA_APPLICATION (app)));
  g_settings_set_string (charta_application_get_settings (CHARTA_APPLICATION (app)),
                         "user-name", USER_NAME);

  g_test_add ("/charta/gui/correction/details", Fixture, NULL, fixture_set_up, test_details,
              fixture_tear_down);
  g_test_add ("/charta/gui/correction/history", Fixture, NULL, fixture_set_up, test_history,
              fixture_tear_down);
  g_test_add ("/charta/gui/correction/correct-value", Fixture, NULL, fixture_set_up,
              test_correct_value, fixture_tear_down);
  g_test_add ("/charta/gui/correction/conflict", Fixture, NULL, fixture_set_up, test_conflict,
              fixture_tear_down);
  g_test_add ("/charta/gui/correction/refused", Fixture, NULL, fixture_set_up, test_refused,
              fixture_tear_down);
  g_test_add ("/charta/gui/correction/entered-in-error", Fixture, NULL, fixture_set_up,
              test_entered_in_error, fixture_tear_down);
  g_test_add ("/charta/gui/correction/allergy-form", Fixture, NULL, fixture_set_up,
              test_allergy_form, fixture_tear_down);
  g_test_add ("/charta/gui/correction/json-editor", Fixture, NULL, fixture_set_up,
              test_json_editor, fixture_tear_down);
  g_test_add ("/charta/gui/correction/point-in-time", Fixture, NULL, fixture_set_up,
              test_point_in_time, fixture_tear_down);
  g_test_add ("/charta/gui/correction/condition-entered-in-error", Fixture, NULL,
              fixture_set_up, test_condition_entered_in_error, fixture_tear_down);

  status = g_test_run ();

  g_clear_object (&app);
  charta_test_remove_tree (demo_dir);
  g_free (demo_path);
  g_free (demo_dir);
  return status;
}
