/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-documents.c: scanned documents in the desktop app, driven through its real widgets
 * under Xvfb: the indexing queue, the document view, re-indexing, entered in error, an
 * addendum, and a document whose file is gone.
 *
 * Each test makes its own store in a temporary folder with the store's API: two patients
 * (Alice Able, MRN 10010001, with one encounter; Bruno Baker, MRN 20020002, with none) and
 * the documents the test needs, each a Binary holding a PDF of SCAN_PAGES pages that the
 * test draws with cairo, and a DocumentReference whose attachment.url names it.  It then opens
 * a ChartaWindow on the store (the app starts the endpoint in-process) and works it as a user
 * would: activates buttons and rows (gtk_widget_activate(), what Space or Enter does), types
 * into entries (gtk_editable_set_text()), chooses combo rows' items, answers dialogs found
 * among the toplevel windows.  Widgets are found by their GtkBuildable ids, or, for those the
 * index form makes in code, by their widget names.  Every wait iterates the main context up
 * to a deadline.
 *
 * What the app must have saved is read back over HTTP with a SoupSession of the test's own:
 * each version of the DocumentReference, the Provenance whose target names that version
 * (found with Provenance?target=, matched by its target reference), and the addendum's bytes.
 * The expected values are those the test typed or stored itself.
 *
 * The app's temporary files go to $XDG_CACHE_HOME/charta, which main() points into a
 * temporary folder; after each test the folder must be empty again.
 */
#define G_LOG_DOMAIN "charta-test"

#include <string.h>

#include <adwaita.h>
#include <cairo-pdf.h>
#include <libsoup/soup.h>

#include "charta-application.h"
#include "charta-chart-view.h"
#include "charta-document-view.h"
#include "charta-document-viewer.h"
#include "charta-fhir-text.h"
#include "charta-history-view.h"
#include "charta-index-dialog.h"
#include "charta-index-form.h"
#include "charta-index-queue.h"
#include "charta-patient.h"
#include "charta-patient-finder.h"
#include "charta-store.h"
#include "charta-test-util.h"
#include "charta-window.h"

#define DEADLINE_SECONDS 60
/* Who the changes name: set in the app's settings (in memory) by main(). */
#define USER_NAME        "Test Clerk, RHIT"
/* The pages of the test's scans. */
#define SCAN_PAGES       2

#define PATIENT_A        "pat-a"
#define MRN_A            "10010001"
#define PATIENT_B        "pat-b"
#define MRN_B            "20020002"
#define ENCOUNTER_A      "enc-a1"
#define QUEUED           "doc-queued"
#define FILED            "doc-filed"

static GApplication *app;
static char *cache_home;

/* ---- waiting ------------------------------------------------------------------------------ */

typedef gboolean (*Condition) (gpointer data);

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

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

/* Waits until the GtkStack @stack shows @page (an activated button clicks a moment later). */
static void
wait_for_page (GtkWidget  *stack,
               const char *page)
{
  PageWanted wanted = { stack, page };
  g_autofree char *what = g_strdup_printf ("the page %s", page);

  wait_for (page_shown, &wanted, what);
}

static gboolean
widget_visible (gpointer data)
{
  return gtk_widget_get_visible (GTK_WIDGET (data));
}

/* ---- finding widgets ---------------------------------------------------------------------- */

/* The first widget below @root (or @root) whose buildable id, or else widget name, is @id. */
static GtkWidget *
find_id (GtkWidget  *root,
         const char *id)
{
  const char *root_id = gtk_buildable_get_buildable_id (GTK_BUILDABLE (root));

  if (g_strcmp0 (root_id, id) == 0 || g_strcmp0 (gtk_widget_get_name (root), id) == 0)
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

static const char *
page_of (GtkWidget  *root,
         const char *stack_id)
{
  return gtk_stack_get_visible_child_name (GTK_STACK (need_id (root, stack_id)));
}

/* The toplevel window of @type other than @except, or NULL. */
static GtkWidget *
find_toplevel (GType      type,
               GtkWidget *except)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (unsigned i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) toplevel = g_list_model_get_item (toplevels, i);

      if (toplevel != except && G_TYPE_CHECK_INSTANCE_TYPE (toplevel, type)
          && gtk_widget_get_visible (toplevel))
        return toplevel;
    }
  return NULL;
}

typedef struct
{
  GType type;
  GtkWidget *except;
  GtkWidget *found;
} ToplevelWanted;

static gboolean
toplevel_shown (gpointer data)
{
  ToplevelWanted *w = data;

  w->found = find_toplevel (w->type, w->except);
  return w->found != NULL;
}

static gboolean
toplevel_gone (gpointer data)
{
  ToplevelWanted *w = data;

  return find_toplevel (w->type, w->except) == NULL;
}

static GtkWidget *
wait_for_toplevel (GType      type,
                   GtkWidget *except)
{
  ToplevelWanted wanted = { type, except, NULL };

  wait_for (toplevel_shown, &wanted, g_type_name (type));
  return wanted.found;
}

/* ---- a scan ------------------------------------------------------------------------------- */

/* A PDF of SCAN_PAGES letter pages, each saying which page it is, written to @path. */
static void
write_scan_pdf (const char *path)
{
  cairo_surface_t *surface = cairo_pdf_surface_create (path, 612, 792);
  cairo_t *cr = cairo_create (surface);

  for (int page = 1; page <= SCAN_PAGES; page++)
    {
      g_autofree char *text = g_strdup_printf ("CONSENT FOR TREATMENT - Page %d of %d", page,
                                               SCAN_PAGES);

      cairo_set_source_rgb (cr, 0.97, 0.96, 0.93);
      cairo_paint (cr);
      cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                              CAIRO_FONT_WEIGHT_BOLD);
      cairo_set_font_size (cr, 18);
      cairo_move_to (cr, 72, 96);
      cairo_show_text (cr, text);
      for (int line = 0; line < 20; line++)
        {
          cairo_rectangle (cr, 72, 140 + line * 24, 400 - (line % 5) * 40, 8);
          cairo_fill (cr);
        }
      cairo_show_page (cr);
    }
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy (surface);
}

/* A small PNG (an addendum's page), written to @path. */
static void
write_png (const char *path)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 200, 260);
  cairo_t *cr = cairo_create (surface);

  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_set_source_rgb (cr, 0.2, 0.2, 0.6);
  cairo_rectangle (cr, 20, 20, 160, 30);
  cairo_fill (cr);
  cairo_destroy (cr);
  g_assert_cmpint (cairo_surface_write_to_png (surface, path), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy (surface);
}

/* ---- the store ---------------------------------------------------------------------------- */

typedef struct
{
  char *dir;
  char *store_path;
  char *scan_path;      /* the PDF every document holds */
  char *binary_id;      /* the Binary of doc-queued (and doc-filed) */
  GtkWidget *window;
  char *base_url;
  char *token;
  SoupSession *session;
} Fixture;

static void
put_resource (ChartaStore *store,
              const char  *json)
{
  g_autoptr(ChartaResource) resource = charta_test_parse (json);
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(GError) error = NULL;

  stored = charta_store_update (store, resource, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (stored);
}

/* Stores the bytes of @path as a new Binary of @content_type; its id. */
static char *
store_binary (ChartaStore *store,
              const char  *path,
              const char  *content_type)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) binary = NULL;
  ChartaContentWriter *writer;
  ChartaContentInfo info;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  writer = charta_store_content_begin (store, &error);
  g_assert_no_error (error);
  g_assert_true (charta_content_writer_write (writer, contents, length, &error));
  g_assert_no_error (error);
  g_assert_true (charta_content_writer_finish (writer, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpint (info.size, ==, (gint64) length);
  binary = charta_store_put_binary (store, NULL, content_type, NULL, info.sha256, 0, NULL, NULL,
                                    &error);
  g_assert_no_error (error);
  return g_strdup (charta_resource_get_id (binary));
}

/* A DocumentReference @id holding Binary/@binary_id: queued (no subject, docStatus
 * preliminary) when @patient_id is NULL, else filed to it as a consent of 2025-06-01. */
static void
put_document (ChartaStore *store,
              const char  *id,
              const char  *binary_id,
              const char  *patient_id)
{
  g_autofree char *json = NULL;
  g_autofree char *filed = NULL;

  if (patient_id != NULL)
    filed = g_strdup_printf ("\"subject\":{\"reference\":\"Patient/%s\"},"
                             "\"type\":{\"coding\":[{\"system\":\"http://loinc.org\","
                             "\"code\":\"59284-0\",\"display\":\"Patient Consent\"}],"
                             "\"text\":\"Patient Consent\"},"
                             "\"context\":{\"period\":{\"start\":\"2025-06-01\"}},",
                             patient_id);
  json = g_strdup_printf ("{\"resourceType\":\"DocumentReference\",\"id\":\"%s\","
                          "\"status\":\"current\",\"docStatus\":\"%s\",%s"
                          "\"date\":\"2025-06-02T09:15:00Z\","
                          "\"content\":[{\"attachment\":{\"contentType\":\"application/pdf\","
                          "\"url\":\"Binary/%s\",\"title\":\"scan-%s.pdf\"}}]}",
                          id, patient_id != NULL ? "final" : "preliminary",
                          filed != NULL ? filed : "", binary_id, id);
  put_resource (store, json);
}

typedef enum
{
  STORE_QUEUED,         /* one scan in the queue */
  STORE_FILED,          /* one scan filed to Alice Able */
  STORE_FILE_GONE,      /* filed, and its Binary deleted */
} StoreKind;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  StoreKind kind = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaStore) store = NULL;

  f->dir = charta_test_make_tmp_dir ();
  f->store_path = g_build_filename (f->dir, "documents.charta", NULL);
  f->scan_path = g_build_filename (f->dir, "scan.pdf", NULL);
  write_scan_pdf (f->scan_path);

  store = charta_store_open (f->store_path, CHARTA_STORE_FLAGS_CREATE, &error);
  g_assert_no_error (error);
  put_resource (store,
                "{\"resourceType\":\"Patient\",\"id\":\"" PATIENT_A "\","
                "\"identifier\":[{\"type\":{\"coding\":[{\"system\":"
                "\"http://terminology.hl7.org/CodeSystem/v2-0203\",\"code\":\"MR\"}]},"
                "\"value\":\"" MRN_A "\"}],"
                "\"name\":[{\"family\":\"Able\",\"given\":[\"Alice\"]}],"
                "\"gender\":\"female\",\"birthDate\":\"1970-01-02\"}");
  put_resource (store,
                "{\"resourceType\":\"Patient\",\"id\":\"" PATIENT_B "\","
                "\"identifier\":[{\"type\":{\"coding\":[{\"system\":"
                "\"http://terminology.hl7.org/CodeSystem/v2-0203\",\"code\":\"MR\"}]},"
                "\"value\":\"" MRN_B "\"}],"
                "\"name\":[{\"family\":\"Baker\",\"given\":[\"Bruno\"]}],"
                "\"gender\":\"male\",\"birthDate\":\"1985-03-04\"}");
  put_resource (store,
                "{\"resourceType\":\"Encounter\",\"id\":\"" ENCOUNTER_A "\","
                "\"status\":\"finished\",\"class\":{\"system\":"
                "\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":\"AMB\","
                "\"display\":\"ambulatory\"},\"subject\":{\"reference\":\"Patient/" PATIENT_A
                "\"},\"period\":{\"start\":\"2025-05-30T10:00:00Z\","
                "\"end\":\"2025-05-30T10:30:00Z\"}}");
  f->binary_id = store_binary (store, f->scan_path, "application/pdf");
  if (kind == STORE_QUEUED)
    put_document (store, QUEUED, f->binary_id, NULL);
  else
    put_document (store, FILED, f->binary_id, PATIENT_A);
  if (kind == STORE_FILE_GONE)
    {
      charta_store_delete (store, "Binary", f->binary_id, 0, NULL, &error);
      g_assert_no_error (error);
    }
  charta_store_close (store);

  f->window = GTK_WIDGET (charta_window_new (GTK_APPLICATION (app)));
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1280, 800);
  gtk_window_present (GTK_WINDOW (f->window));
  f->session = soup_session_new ();
}

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

/* Whether the app's cache folder holds no document file. */
static gboolean
cache_empty (gpointer data)
{
  g_autofree char *dir = charta_document_dup_cache_dir ();
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    if (g_str_has_prefix (name, "document-"))
      return FALSE;
  return TRUE;
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  GWeakRef weak;
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (unsigned i = g_list_model_get_n_items (toplevels); i > 0; i--)
    {
      g_autoptr(GtkWindow) toplevel = g_list_model_get_item (toplevels, i - 1);

      if (toplevel != GTK_WINDOW (f->window))
        gtk_window_destroy (toplevel);
    }
  g_clear_object (&f->session);
  g_weak_ref_init (&weak, f->window);
  gtk_window_destroy (GTK_WINDOW (f->window));
  wait_for (window_gone, &weak, "the window to go");
  g_weak_ref_clear (&weak);
  /* The temporary files of the documents shown go with the window. */
  wait_for (cache_empty, NULL, "the document files to be deleted");

  g_free (f->base_url);
  g_free (f->token);
  g_free (f->binary_id);
  g_free (f->scan_path);
  g_free (f->store_path);
  charta_test_remove_tree (f->dir);
  g_free (f->dir);
}

/* ---- HTTP of our own ---------------------------------------------------------------------- */

static SoupMessage *
new_message (Fixture    *f,
             const char *method,
             const char *path)
{
  g_autofree char *url = g_strdup_printf ("%s/%s", f->base_url, path);
  g_autofree char *value = g_strdup_printf ("Bearer %s", f->token);
  SoupMessage *message = soup_message_new (method, url);

  g_assert_nonnull (message);
  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization",
                                value);
  return message;
}

/* GET @path as FHIR JSON; fails the test unless the status is 200. */
static JsonNode *
http_get (Fixture    *f,
          const char *path)
{
  g_autoptr(SoupMessage) message = new_message (f, "GET", path);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *node;

  soup_message_headers_replace (soup_message_get_request_headers (message), "Accept",
                                "application/fhir+json");
  body = soup_session_send_and_read (f->session, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (message), ==, 200);
  node = json_from_string (g_bytes_get_data (body, NULL), &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return node;
}

/* GET @path's raw bytes (a Binary, as its own type). */
static GBytes *
http_get_raw (Fixture    *f,
              const char *path)
{
  g_autoptr(SoupMessage) message = new_message (f, "GET", path);
  g_autoptr(GError) error = NULL;
  GBytes *body;

  soup_message_headers_replace (soup_message_get_request_headers (message), "Accept", "*/*");
  body = soup_session_send_and_read (f->session, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (message), ==, 200);
  return body;
}

static JsonObject *
object_of (JsonNode *node)
{
  return json_node_get_object (node);
}

static const char *
version_of (JsonNode *resource)
{
  return charta_json_get_string (charta_json_get_object (object_of (resource), "meta"),
                                 "versionId");
}

/* The Provenance that targets version @version_id of DocumentReference/@id. */
static JsonNode *
provenance_of (Fixture    *f,
               const char *id,
               const char *version_id)
{
  g_autofree char *path = g_strdup_printf ("Provenance?target=DocumentReference/%s&_count=100",
                                           id);
  g_autoptr(JsonNode) bundle = http_get (f, path);
  JsonArray *entries = charta_json_get_array (object_of (bundle), "entry");

  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *provenance =
        charta_json_get_object (json_array_get_object_element (entries, i), "resource");

      if (charta_fhir_provenance_targets (provenance, "DocumentReference", id, version_id))
        {
          JsonNode *node = json_node_new (JSON_NODE_OBJECT);

          json_node_set_object (node, provenance);
          return node;
        }
    }
  g_error ("no Provenance targets DocumentReference/%s/_history/%s", id, version_id);
}

static const char *
provenance_activity (JsonNode *provenance)
{
  return charta_json_get_string (charta_json_get_first (
                                   charta_json_get_object (object_of (provenance), "activity"),
                                   "coding"), "code");
}

static const char *
provenance_reason (JsonNode *provenance)
{
  return charta_json_get_string (charta_json_get_first (object_of (provenance), "reason"),
                                 "text");
}

static const char *
provenance_agent (JsonNode *provenance)
{
  return charta_json_get_string (charta_json_get_object (
                                   charta_json_get_first (object_of (provenance), "agent"),
                                   "who"), "display");
}

static const char *
subject_of (JsonNode *document)
{
  return charta_json_get_string (charta_json_get_object (object_of (document), "subject"),
                                 "reference");
}

/* ---- the window --------------------------------------------------------------------------- */

static gboolean
browsing (gpointer data)
{
  Fixture *f = data;

  return g_strcmp0 (page_of (f->window, "main_stack"), "browse") == 0;
}

static void
open_store (Fixture *f)
{
  ChartaClient *client;

  charta_window_open (CHARTA_WINDOW (f->window), f->store_path, NULL);
  wait_for (browsing, f, "the store to open");
  client = charta_window_get_client (CHARTA_WINDOW (f->window));
  f->base_url = g_strdup (charta_client_get_base_url (client));
  f->token = g_strdup (charta_client_get_bearer_token (client));
}

typedef struct
{
  GtkWidget *viewer;
  unsigned n_pages;
} ViewerWanted;

static gboolean
viewer_ready (gpointer data)
{
  ViewerWanted *w = data;
  ChartaDocumentViewer *viewer = CHARTA_DOCUMENT_VIEWER (w->viewer);

  return charta_document_viewer_get_state (viewer) == CHARTA_DOCUMENT_VIEWER_STATE_READY
         && charta_document_viewer_get_n_pages (viewer) == w->n_pages;
}

/* Waits until @viewer shows a document of @n_pages pages, at its first page. */
static void
wait_for_pages (GtkWidget *viewer,
                unsigned   n_pages)
{
  ViewerWanted wanted = { viewer, n_pages };

  wait_for (viewer_ready, &wanted, "the document's pages");
  g_assert_cmpuint (charta_document_viewer_get_page (CHARTA_DOCUMENT_VIEWER (viewer)), ==, 0);
  g_assert_nonnull (charta_document_viewer_get_file (CHARTA_DOCUMENT_VIEWER (viewer)));
  g_assert_cmpstr (charta_document_viewer_get_content_type (CHARTA_DOCUMENT_VIEWER (viewer)),
                   ==, "application/pdf");
}

typedef struct
{
  GtkWidget *view;
  const char *reference;
  const char *version_id;
} DocumentWanted;

static gboolean
document_loaded (gpointer data)
{
  DocumentWanted *w = data;
  ChartaDocumentView *view = CHARTA_DOCUMENT_VIEW (w->view);
  JsonNode *resource = charta_document_view_get_resource (view);

  return charta_document_view_is_loaded (view) && !charta_document_view_is_busy (view)
         && g_strcmp0 (charta_document_view_get_reference (view), w->reference) == 0
         && resource != NULL
         && (w->version_id == NULL || g_strcmp0 (version_of (resource), w->version_id) == 0);
}

/* Waits until the document view shows version @version_id (NULL: any) of @reference. */
static GtkWidget *
wait_for_document (Fixture    *f,
                   const char *reference,
                   const char *version_id)
{
  GtkWidget *view = need_id (f->window, "document_view");
  DocumentWanted wanted = { view, reference, version_id };

  wait_for (document_loaded, &wanted, "the document view");
  g_assert_cmpstr (page_of (f->window, "content_stack"), ==, "document");
  return view;
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
  return complete && g_strcmp0 (page_of (chart, "stack"), "chart") == 0;
}

/* Finds the patient by @mrn in the finder and opens their chart. */
static GtkWidget *
open_chart (Fixture    *f,
            const char *patient_id,
            const char *mrn)
{
  FinderWanted wanted = { f, patient_id };
  GtkWidget *entry = need_id (need_id (f->window, "finder"), "search_entry");
  GtkWidget *chart;

  gtk_editable_set_text (GTK_EDITABLE (entry), mrn);
  wait_for (found_one, &wanted, "the finder to find the patient by MRN");
  g_assert_true (gtk_widget_activate_action (need_id (f->window, "list_view"),
                                             "list.activate-item", "u", 0));
  chart = need_id (f->window, "chart_view");
  wait_for (chart_complete, chart, "the chart");
  g_assert_cmpstr (charta_chart_view_get_patient_id (CHARTA_CHART_VIEW (chart)), ==,
                   patient_id);
  return chart;
}

/* The row of the chart's documents list that opens @reference, or NULL. */
static GtkWidget *
document_row (GtkWidget  *chart,
              const char *reference)
{
  GtkListBox *list = GTK_LIST_BOX (need_id (chart, "documents_list"));
  GtkListBoxRow *row;

  for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
    if (g_strcmp0 (g_object_get_data (G_OBJECT (row), "charta-reference"), reference) == 0)
      return GTK_WIDGET (row);
  return NULL;
}

/* ---- the index form ----------------------------------------------------------------------- */

typedef struct
{
  GtkWidget *form;
  const char *title;
} MatchWanted;

static gboolean
one_match (gpointer data)
{
  MatchWanted *w = data;
  GtkListBox *list = GTK_LIST_BOX (need_id (w->form, "patient_results"));
  GtkListBoxRow *first = gtk_list_box_get_row_at_index (list, 0);

  return first != NULL && gtk_list_box_get_row_at_index (list, 1) == NULL
         && ADW_IS_ACTION_ROW (first)
         && g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (first)),
                       w->title) == 0;
}

static gboolean
encounters_read (gpointer data)
{
  GtkWidget *form = data;
  GtkWidget *row = need_id (form, "encounter_row");

  return !charta_index_form_is_busy (CHARTA_INDEX_FORM (form))
         && gtk_widget_get_sensitive (row);
}

/* Types @mrn into the form's patient search, checks that the one match shows @title
 * ("Able, Alice") with @birth_date and @mrn, and chooses it. */
static void
choose_patient (GtkWidget  *form,
                const char *mrn,
                const char *title,
                const char *birth_date)
{
  MatchWanted wanted = { form, title };
  GtkListBoxRow *row;
  const char *details;

  gtk_editable_set_text (GTK_EDITABLE (need_id (form, "patient_search_row")), mrn);
  wait_for (one_match, &wanted, "the patient search's one match");
  row = gtk_list_box_get_row_at_index (GTK_LIST_BOX (need_id (form, "patient_results")), 0);
  details = adw_action_row_get_subtitle (ADW_ACTION_ROW (row));
  g_test_message ("the match reads: %s", details);
  g_assert_true (g_str_has_prefix (details, birth_date));
  g_assert_true (g_str_has_suffix (details, mrn));
  g_assert_true (gtk_widget_activate (GTK_WIDGET (row)));
  g_assert_false (gtk_widget_get_visible (need_id (form, "patient_search_row")));
  g_assert_true (gtk_widget_get_visible (need_id (form, "patient_chosen_row")));
  wait_for (encounters_read, form, "the patient's encounters");
}

/* The index of the document type @code in the form's type row. */
static unsigned
type_index (const char *code)
{
  const ChartaDocumentType *types = charta_index_form_get_document_types ();

  for (unsigned i = 0; types[i].code != NULL; i++)
    if (strcmp (types[i].code, code) == 0)
      return i + 1;  /* item 0 is "Choose a type…" */
  g_error ("no document type %s", code);
}

/* ---- the tests ---------------------------------------------------------------------------- */

typedef struct
{
  GtkWidget *queue;
  int n;
} CountWanted;

static gboolean
queue_counted (gpointer data)
{
  CountWanted *w = data;

  return charta_index_queue_get_n_documents (CHARTA_INDEX_QUEUE (w->queue)) == w->n;
}

static gboolean
queue_loaded (gpointer data)
{
  return charta_index_queue_is_loaded (CHARTA_INDEX_QUEUE (data));
}

static gboolean
queue_idle (gpointer data)
{
  return !charta_index_queue_is_busy (CHARTA_INDEX_QUEUE (data));
}

static gboolean
dialog_idle (gpointer data)
{
  ChartaIndexDialog *dialog = data;

  return !charta_index_dialog_is_busy (dialog)
         && !charta_index_form_is_busy (CHARTA_INDEX_FORM (charta_index_dialog_get_form (dialog)));
}

typedef struct
{
  GtkWidget *history;
  const char *reference;
  unsigned n_versions;
} HistoryWanted;

static gboolean
history_loaded (gpointer data)
{
  HistoryWanted *w = data;
  ChartaHistoryView *view = CHARTA_HISTORY_VIEW (w->history);

  return charta_history_view_is_loaded (view)
         && g_strcmp0 (charta_history_view_get_reference (view), w->reference) == 0
         && charta_history_view_get_n_versions (view) == w->n_versions;
}

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

/* The queue: the badge counts the one queued scan; the queue lists it and shows its first
 * page; filed to Alice Able with an encounter, a type, a date and a note, it leaves the queue
 * as version 2 with her as subject, docStatus final, and a Provenance (UPDATE, "Indexed to
 * patient: " and the note, the user).  Opened from her chart and re-indexed to Bruno Baker with
 * a reason, it is version 3 with him as subject; version 2 still names her, and the history
 * lists both placements with who and why, the diff naming the subject's change. */
static void
test_index_and_reindex (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *reference = g_strdup ("DocumentReference/" QUEUED);
  GtkWidget *queue;
  GtkWidget *form;
  GtkWidget *chart;
  GtkWidget *view;
  GtkWidget *row;
  GtkWidget *history;
  GtkWidget *dialog;
  GtkWidget *dialog_form;
  g_auto(GStrv) listed = NULL;
  g_autoptr(JsonNode) v2 = NULL;
  g_autoptr(JsonNode) v3 = NULL;
  g_autoptr(JsonNode) still_v2 = NULL;
  g_autoptr(JsonNode) provenance2 = NULL;
  g_autoptr(JsonNode) provenance3 = NULL;
  g_autoptr(GPtrArray) version_rows = g_ptr_array_new ();
  CountWanted one = { NULL, 1 };
  CountWanted none = { NULL, 0 };
  HistoryWanted wanted_history = { NULL, NULL, 3 };
  ToplevelWanted dialog_gone = { CHARTA_TYPE_INDEX_DIALOG, NULL, NULL };
  JsonObject *document;
  JsonObject *context;
  GtkListBoxRow *version_row;

  open_store (f);
  queue = need_id (f->window, "queue");
  one.queue = none.queue = queue;

  /* The badge: one scan waits (the store holds one DocumentReference without a subject). */
  wait_for (queue_counted, &one, "the queue to be counted");
  g_assert_true (gtk_widget_get_visible (need_id (f->window, "queue_badge")));
  g_assert_cmpstr (label_text (f->window, "queue_badge"), ==, "1");

  /* The queue lists it, chosen, with its first page shown. */
  g_assert_true (gtk_widget_activate (need_id (f->window, "queue_button")));
  wait_for_page (need_id (f->window, "main_stack"), "queue");
  wait_for (queue_loaded, queue, "the queue");
  g_assert_cmpstr (page_of (queue, "stack"), ==, "queue");
  listed = charta_index_queue_dup_references (CHARTA_INDEX_QUEUE (queue));
  g_assert_cmpuint (g_strv_length (listed), ==, 1);
  g_assert_cmpstr (listed[0], ==, reference);
  g_assert_cmpstr (charta_index_queue_get_selected (CHARTA_INDEX_QUEUE (queue)), ==, reference);
  g_assert_cmpstr (label_text (queue, "scan_title"), ==, "scan-" QUEUED ".pdf");
  wait_for_pages (need_id (queue, "viewer"), SCAN_PAGES);

  /* Filing needs a patient, a type and a date. */
  form = need_id (queue, "form");
  g_assert_false (gtk_widget_get_sensitive (need_id (queue, "file_button")));
  choose_patient (form, MRN_A, "Able, Alice", "1970-01-02");
  /* Alice has one encounter: "None" and it. */
  g_assert_cmpuint (g_list_model_get_n_items (adw_combo_row_get_model (
                      ADW_COMBO_ROW (need_id (form, "encounter_row")))), ==, 2);
  adw_combo_row_set_selected (ADW_COMBO_ROW (need_id (form, "encounter_row")), 1);
  g_assert_cmpstr (charta_index_form_get_encounter_id (CHARTA_INDEX_FORM (form)), ==,
                   ENCOUNTER_A);
  g_assert_false (gtk_widget_get_sensitive (need_id (queue, "file_button")));
  adw_combo_row_set_selected (ADW_COMBO_ROW (need_id (form, "type_row")), type_index ("59284-0"));
  /* A date in the future is refused. */
  gtk_editable_set_text (GTK_EDITABLE (need_id (form, "date_row")), "2999-01-01");
  g_assert_false (charta_index_form_is_complete (CHARTA_INDEX_FORM (form)));
  g_assert_false (gtk_widget_get_sensitive (need_id (queue, "file_button")));
  gtk_editable_set_text (GTK_EDITABLE (need_id (form, "date_row")), "2025-06-01");
  gtk_editable_set_text (GTK_EDITABLE (need_id (form, "reason_row")), "Signed at front desk");
  g_assert_true (charta_index_form_is_complete (CHARTA_INDEX_FORM (form)));
  g_assert_true (gtk_widget_get_sensitive (need_id (queue, "file_button")));

  g_assert_true (gtk_widget_activate (need_id (queue, "file_button")));
  wait_for (queue_idle, queue, "the filing");
  wait_for (queue_counted, &none, "the queue to be empty");
  g_assert_cmpstr (page_of (queue, "stack"), ==, "done");
  g_assert_false (gtk_widget_get_visible (need_id (f->window, "queue_badge")));

  /* Version 2: filed to Alice, as typed. */
  v2 = http_get (f, "DocumentReference/" QUEUED);
  document = object_of (v2);
  context = charta_json_get_object (document, "context");
  g_assert_cmpstr (version_of (v2), ==, "2");
  g_assert_cmpstr (subject_of (v2), ==, "Patient/" PATIENT_A);
  g_assert_cmpstr (charta_json_get_string (document, "docStatus"), ==, "final");
  g_assert_cmpstr (charta_json_get_string (document, "status"), ==, "current");
  g_assert_cmpstr (charta_json_get_string (charta_json_get_first (context, "encounter"),
                                           "reference"), ==, "Encounter/" ENCOUNTER_A);
  g_assert_cmpstr (charta_json_get_string (charta_json_get_object (context, "period"), "start"),
                   ==, "2025-06-01");
  g_assert_cmpstr (charta_json_get_string (charta_json_get_first (charta_json_get_object (
                                                                    document, "type"),
                                                                  "coding"), "code"),
                   ==, "59284-0");
  /* attachment.creation was absent: the document's date. */
  g_assert_cmpstr (charta_json_get_string (charta_json_get_object (
                                             charta_json_get_first (document, "content"),
                                             "attachment"), "creation"), ==, "2025-06-01");
  provenance2 = provenance_of (f, QUEUED, "2");
  g_assert_cmpstr (provenance_activity (provenance2), ==, "UPDATE");
  g_assert_cmpstr (provenance_reason (provenance2), ==, "Indexed to patient: Signed at front desk");
  g_assert_cmpstr (provenance_agent (provenance2), ==, USER_NAME);

  /* Back to the patients; Alice's chart lists the document, which opens in the document
   * view with its pages. */
  g_assert_true (gtk_widget_activate_action (f->window, "win.back", NULL));
  g_assert_cmpstr (page_of (f->window, "main_stack"), ==, "browse");
  chart = open_chart (f, PATIENT_A, MRN_A);
  row = document_row (chart, reference);
  g_assert_nonnull (row);
  g_assert_true (gtk_widget_activate (row));
  view = wait_for_document (f, reference, "2");
  charta_test_assert_contains (label_text (view, "placement_label"), "Able, Alice");
  charta_test_assert_contains (label_text (view, "placement_label"), MRN_A);
  g_assert_cmpstr (label_text (view, "heading_label"), ==, "Patient Consent");
  charta_test_assert_contains (label_text (view, "details_label"), "Dated 2025-06-01");
  charta_test_assert_contains (label_text (view, "change_label"),
                               "Reason: Indexed to patient: Signed at front desk");
  wait_for_pages (need_id (view, "viewer"), SCAN_PAGES);

  /* Re-index: the dialog is filled in with Alice; nothing can be saved until the placement
   * changes and a reason is given. */
  g_assert_true (gtk_widget_activate (need_id (view, "reindex_button")));
  dialog = wait_for_toplevel (CHARTA_TYPE_INDEX_DIALOG, f->window);
  dialog_form = charta_index_dialog_get_form (CHARTA_INDEX_DIALOG (dialog));
  wait_for (dialog_idle, dialog, "the dialog's form to be filled in");
  g_assert_cmpstr (charta_index_form_get_patient_id (CHARTA_INDEX_FORM (dialog_form)), ==,
                   PATIENT_A);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (
                     need_id (dialog_form, "patient_chosen_row"))), ==, "Able, Alice");
  g_assert_cmpstr (charta_index_form_get_encounter_id (CHARTA_INDEX_FORM (dialog_form)), ==,
                   ENCOUNTER_A);
  g_assert_cmpstr (charta_index_form_get_type_code (CHARTA_INDEX_FORM (dialog_form)), ==,
                   "59284-0");
  g_assert_false (charta_index_dialog_can_save (CHARTA_INDEX_DIALOG (dialog)));
  gtk_editable_set_text (GTK_EDITABLE (need_id (dialog_form, "reason_row")),
                         "Filed to the wrong patient");
  /* A reason alone changes nothing. */
  g_assert_false (charta_index_dialog_can_save (CHARTA_INDEX_DIALOG (dialog)));
  /* Change… then Bruno. */
  g_assert_true (gtk_widget_activate (need_id (dialog_form, "change_button")));
  wait_for (widget_visible, need_id (dialog_form, "patient_search_row"), "the patient search");
  choose_patient (dialog_form, MRN_B, "Baker, Bruno", "1985-03-04");
  /* Bruno has no encounter: "None" only. */
  g_assert_null (charta_index_form_get_encounter_id (CHARTA_INDEX_FORM (dialog_form)));
  g_assert_true (charta_index_dialog_can_save (CHARTA_INDEX_DIALOG (dialog)));
  g_assert_true (gtk_widget_activate (need_id (dialog, "save_button")));
  dialog_gone.except = f->window;
  wait_for (toplevel_gone, &dialog_gone, "the dialog to close");
  view = wait_for_document (f, reference, "3");
  charta_test_assert_contains (label_text (view, "placement_label"), "Baker, Bruno");
  charta_test_assert_contains (label_text (view, "change_label"),
                               "Reason: Filed to the wrong patient");

  /* Version 3: Bruno's; version 2 still Alice's. */
  v3 = http_get (f, "DocumentReference/" QUEUED);
  g_assert_cmpstr (version_of (v3), ==, "3");
  g_assert_cmpstr (subject_of (v3), ==, "Patient/" PATIENT_B);
  g_assert_null (charta_json_get_array (charta_json_get_object (object_of (v3), "context"),
                                        "encounter"));
  g_assert_cmpstr (charta_json_get_string (object_of (v3), "docStatus"), ==, "final");
  still_v2 = http_get (f, "DocumentReference/" QUEUED "/_history/2");
  g_assert_cmpstr (subject_of (still_v2), ==, "Patient/" PATIENT_A);
  provenance3 = provenance_of (f, QUEUED, "3");
  g_assert_cmpstr (provenance_activity (provenance3), ==, "UPDATE");
  g_assert_cmpstr (provenance_reason (provenance3), ==, "Filed to the wrong patient");
  g_assert_cmpstr (provenance_agent (provenance3), ==, USER_NAME);

  /* The history: three versions, newest first, each placement with who and why. */
  g_assert_true (gtk_widget_activate (need_id (view, "history_button")));
  wait_for_page (need_id (f->window, "content_stack"), "history");
  history = need_id (f->window, "history_view");
  wanted_history.history = history;
  wanted_history.reference = reference;
  wait_for (history_loaded, &wanted_history, "the document's history");
  for (int i = 0; (version_row = gtk_list_box_get_row_at_index (
                     GTK_LIST_BOX (need_id (history, "versions_list")), i)) != NULL; i++)
    g_ptr_array_add (version_rows, version_row);
  g_assert_cmpuint (version_rows->len, ==, 3);
  g_assert_cmpstr (g_object_get_data (version_rows->pdata[0], "charta-version"), ==, "3");
  charta_test_assert_contains (adw_action_row_get_subtitle (version_rows->pdata[0]),
                               "Reason: Filed to the wrong patient");
  charta_test_assert_contains (adw_action_row_get_subtitle (version_rows->pdata[0]),
                               "by " USER_NAME);
  g_assert_cmpstr (g_object_get_data (version_rows->pdata[1], "charta-version"), ==, "2");
  charta_test_assert_contains (adw_action_row_get_subtitle (version_rows->pdata[1]),
                               "Reason: Indexed to patient: Signed at front desk");
  charta_test_assert_contains (adw_action_row_get_subtitle (version_rows->pdata[1]),
                               "by " USER_NAME);
  /* The diff of 2 → 3 (the one shown first) names the move. */
  row = diff_row_for (history, "subject.reference");
  g_assert_nonnull (row);
  g_assert_cmpstr (g_object_get_data (G_OBJECT (row), "charta-old"), ==, "Patient/" PATIENT_A);
  g_assert_cmpstr (g_object_get_data (G_OBJECT (row), "charta-new"), ==, "Patient/" PATIENT_B);
  /* And 1 → 2 the filing. */
  g_assert_true (charta_history_view_compare (CHARTA_HISTORY_VIEW (history), "1", "2"));
  row = diff_row_for (history, "subject.reference");
  g_assert_nonnull (row);
  g_assert_null (g_object_get_data (G_OBJECT (row), "charta-old"));
  g_assert_cmpstr (g_object_get_data (G_OBJECT (row), "charta-new"), ==, "Patient/" PATIENT_A);

  /* Back goes to the document, not to a record. */
  g_assert_true (gtk_widget_activate_action (f->window, "win.back", NULL));
  g_assert_cmpstr (page_of (f->window, "content_stack"), ==, "document");
}

static AdwMessageDialog *
wait_for_message_dialog (Fixture *f)
{
  return ADW_MESSAGE_DIALOG (wait_for_toplevel (ADW_TYPE_MESSAGE_DIALOG, f->window));
}

/* Answers the reason dialog that is open: its response @response is off until a reason is
 * typed, then on. */
static void
answer_reason (Fixture    *f,
               const char *response,
               const char *reason)
{
  AdwMessageDialog *dialog = wait_for_message_dialog (f);
  GtkWidget *entry = need_id (GTK_WIDGET (dialog), "reason_entry");
  ToplevelWanted gone = { ADW_TYPE_MESSAGE_DIALOG, f->window, NULL };

  g_assert_true (adw_message_dialog_has_response (dialog, response));
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, response));
  gtk_editable_set_text (GTK_EDITABLE (entry), "   ");
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, response));
  gtk_editable_set_text (GTK_EDITABLE (entry), reason);
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, response));
  adw_message_dialog_response (dialog, response);
  gtk_window_close (GTK_WINDOW (dialog));
  wait_for (toplevel_gone, &gone, "the reason dialog to close");
}

/* Entered in error: the reason is required; the document becomes version 2 with status
 * entered-in-error (docStatus kept) and a Provenance NULLIFY with the reason; the view says so
 * and offers no more changes; the chart lists it struck through. */
static void
test_entered_in_error (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(JsonNode) v2 = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  GtkWidget *view;
  GtkWidget *chart;
  GtkWidget *row;

  open_store (f);
  charta_window_show_resource (CHARTA_WINDOW (f->window), "DocumentReference/" FILED,
                               CHARTA_WINDOW_SHOW_DETAILS);
  view = wait_for_document (f, "DocumentReference/" FILED, "1");
  g_assert_false (gtk_widget_get_visible (need_id (view, "in_error_box")));
  wait_for_pages (need_id (view, "viewer"), SCAN_PAGES);

  g_assert_true (gtk_widget_activate (need_id (view, "in_error_button")));
  answer_reason (f, "mark", "Scanned for the wrong visit");
  view = wait_for_document (f, "DocumentReference/" FILED, "2");

  v2 = http_get (f, "DocumentReference/" FILED);
  g_assert_cmpstr (version_of (v2), ==, "2");
  g_assert_cmpstr (charta_json_get_string (object_of (v2), "status"), ==, "entered-in-error");
  g_assert_cmpstr (charta_json_get_string (object_of (v2), "docStatus"), ==, "final");
  g_assert_cmpstr (subject_of (v2), ==, "Patient/" PATIENT_A);
  provenance = provenance_of (f, FILED, "2");
  g_assert_cmpstr (provenance_activity (provenance), ==, "NULLIFY");
  g_assert_cmpstr (provenance_reason (provenance), ==, "Scanned for the wrong visit");
  g_assert_cmpstr (provenance_agent (provenance), ==, USER_NAME);

  g_assert_true (gtk_widget_get_visible (need_id (view, "in_error_box")));
  g_assert_cmpstr (label_text (view, "in_error_label"), ==,
                   "Entered in error: Scanned for the wrong visit");
  g_assert_true (gtk_widget_has_css_class (need_id (view, "heading_label"), "struck"));
  g_assert_false (gtk_widget_get_sensitive (need_id (view, "reindex_button")));
  g_assert_false (gtk_widget_get_sensitive (need_id (view, "in_error_button")));
  g_assert_false (gtk_widget_get_sensitive (need_id (view, "addendum_button")));
  g_assert_true (gtk_widget_get_sensitive (need_id (view, "history_button")));

  /* The chart keeps it, struck through. */
  chart = open_chart (f, PATIENT_A, MRN_A);
  row = document_row (chart, "DocumentReference/" FILED);
  g_assert_nonnull (row);
  g_assert_true (gtk_widget_has_css_class (row, "entered-in-error"));
}

typedef struct
{
  GtkWidget *view;
  const char *reference;
} RelatedWanted;

static gboolean
related_listed (gpointer data)
{
  RelatedWanted *w = data;
  GtkWidget *box = need_id (w->view, "relations_box");

  for (GtkWidget *child = gtk_widget_get_first_child (box); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *button = gtk_flow_box_child_get_child (GTK_FLOW_BOX_CHILD (child));

      if (button != NULL
          && g_strcmp0 (g_object_get_data (G_OBJECT (button), "charta-reference"),
                        w->reference) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Whether the viewer shows one page of a PNG image. */
static gboolean
viewer_one_image (gpointer data)
{
  ChartaDocumentViewer *viewer = CHARTA_DOCUMENT_VIEWER (data);

  return charta_document_viewer_get_state (viewer) == CHARTA_DOCUMENT_VIEWER_STATE_READY
         && charta_document_viewer_get_n_pages (viewer) == 1
         && g_strcmp0 (charta_document_viewer_get_content_type (viewer), "image/png") == 0;
}

/* An addendum: the file is uploaded as a Binary whose bytes are the file's, and a new
 * DocumentReference of the same patient and type relatesTo "appends" the original, with a
 * Provenance APPEND and the reason; the original's view lists it, and it links back. */
static void
test_addendum (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *png_path = g_build_filename (f->dir, "signed-page.png", NULL);
  g_autoptr(GFile) png = g_file_new_for_path (png_path);
  g_autofree char *png_bytes = NULL;
  gsize png_length = 0;
  g_autoptr(JsonNode) bundle = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  g_autoptr(JsonNode) original = NULL;
  g_autoptr(GBytes) downloaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *addendum_reference = NULL;
  g_autofree char *binary_path = NULL;
  RelatedWanted wanted = { NULL, NULL };
  JsonArray *entries;
  JsonObject *addendum;
  JsonObject *relation;
  JsonObject *attachment;
  const char *url;
  GtkWidget *view;
  GtkWidget *chart;
  GtkWidget *row;

  write_png (png_path);
  g_file_get_contents (png_path, &png_bytes, &png_length, &error);
  g_assert_no_error (error);

  open_store (f);
  charta_window_show_resource (CHARTA_WINDOW (f->window), "DocumentReference/" FILED,
                               CHARTA_WINDOW_SHOW_DETAILS);
  view = wait_for_document (f, "DocumentReference/" FILED, "1");
  g_assert_true (gtk_widget_get_sensitive (need_id (view, "addendum_button")));
  g_assert_false (gtk_widget_get_visible (need_id (view, "relations_box")));

  charta_document_view_add_addendum_file (CHARTA_DOCUMENT_VIEW (view), png);
  answer_reason (f, "add", "Signed page received late");
  view = wait_for_document (f, "DocumentReference/" FILED, "1");

  bundle = http_get (f, "DocumentReference?relatesto=DocumentReference/" FILED);
  entries = charta_json_get_array (object_of (bundle), "entry");
  g_assert_nonnull (entries);
  g_assert_cmpuint (json_array_get_length (entries), ==, 1);
  addendum = charta_json_get_object (json_array_get_object_element (entries, 0), "resource");
  relation = charta_json_get_first (addendum, "relatesTo");
  g_assert_cmpstr (charta_json_get_string (relation, "code"), ==, "appends");
  g_assert_cmpstr (charta_json_get_string (charta_json_get_object (relation, "target"),
                                           "reference"), ==, "DocumentReference/" FILED);
  g_assert_cmpstr (charta_json_get_string (charta_json_get_object (addendum, "subject"),
                                           "reference"), ==, "Patient/" PATIENT_A);
  g_assert_cmpstr (charta_json_get_string (charta_json_get_first (charta_json_get_object (
                                                                    addendum, "type"),
                                                                  "coding"), "code"),
                   ==, "59284-0");
  g_assert_cmpstr (charta_json_get_string (addendum, "status"), ==, "current");
  attachment = charta_json_get_object (charta_json_get_first (addendum, "content"),
                                       "attachment");
  g_assert_cmpstr (charta_json_get_string (attachment, "contentType"), ==, "image/png");
  g_assert_cmpstr (charta_json_get_string (attachment, "title"), ==, "signed-page.png");
  /* The store filled in the size from the content it holds. */
  g_assert_cmpint (json_object_get_int_member (attachment, "size"), ==, (gint64) png_length);
  url = charta_json_get_string (attachment, "url");
  g_assert_nonnull (url);
  g_assert_true (g_str_has_prefix (url, "Binary/"));
  g_assert_cmpstr (url + strlen ("Binary/"), !=, f->binary_id);

  /* The bytes stored are the file's. */
  binary_path = g_strdup (url);
  downloaded = http_get_raw (f, binary_path);
  g_assert_cmpuint (g_bytes_get_size (downloaded), ==, png_length);
  g_assert_true (memcmp (g_bytes_get_data (downloaded, NULL), png_bytes, png_length) == 0);

  provenance = provenance_of (f, charta_json_get_string (addendum, "id"), "1");
  g_assert_cmpstr (provenance_activity (provenance), ==, "APPEND");
  g_assert_cmpstr (provenance_reason (provenance), ==, "Signed page received late");
  g_assert_cmpstr (provenance_agent (provenance), ==, USER_NAME);

  /* The original is unchanged (still version 1), and its view lists the addendum. */
  original = http_get (f, "DocumentReference/" FILED);
  g_assert_cmpstr (version_of (original), ==, "1");
  addendum_reference = g_strdup_printf ("DocumentReference/%s",
                                        charta_json_get_string (addendum, "id"));
  wanted.view = view;
  wanted.reference = addendum_reference;
  wait_for (related_listed, &wanted, "the addendum in the original's view");
  g_assert_true (gtk_widget_get_visible (need_id (view, "relations_box")));

  /* The addendum opens, shows the PNG, and links back to the original. */
  charta_document_view_show (CHARTA_DOCUMENT_VIEW (view), addendum_reference);
  view = wait_for_document (f, addendum_reference, "1");
  wanted.reference = "DocumentReference/" FILED;
  wait_for (related_listed, &wanted, "the link back to the original");
  wait_for (viewer_one_image, need_id (view, "viewer"), "the addendum's page");

  /* Alice's chart lists both, the addendum said to be one; the original not. */
  chart = open_chart (f, PATIENT_A, MRN_A);
  row = document_row (chart, addendum_reference);
  g_assert_nonnull (row);
  charta_test_assert_contains (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), "Addendum");
  row = document_row (chart, "DocumentReference/" FILED);
  g_assert_nonnull (row);
  g_assert_null (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), "Addendum"));
}

static gboolean
file_failed (gpointer data)
{
  return g_strcmp0 (page_of (GTK_WIDGET (data), "file_stack"), "failed") == 0;
}

/* A document whose Binary is gone: the record shows, the file's place says that the file is
 * not on the server, with Try Again; trying again fails the same way, and nothing crashes. */
static void
test_file_gone (Fixture       *f,
                gconstpointer  data)
{
  GtkWidget *view;
  const char *description;
  g_autofree char *binary = g_strdup_printf ("Binary/%s", f->binary_id);

  open_store (f);
  charta_window_show_resource (CHARTA_WINDOW (f->window), "DocumentReference/" FILED,
                               CHARTA_WINDOW_SHOW_DETAILS);
  view = wait_for_document (f, "DocumentReference/" FILED, NULL);
  wait_for (file_failed, view, "the file's error page");
  g_assert_cmpstr (page_of (view, "stack"), ==, "document");
  description = adw_status_page_get_description (ADW_STATUS_PAGE (need_id (view,
                                                                         "file_error_page")));
  g_test_message ("the error page says: %s", description);
  charta_test_assert_contains (description, "not on the server");
  charta_test_assert_contains (description, binary);
  g_assert_cmpint (charta_document_viewer_get_state (CHARTA_DOCUMENT_VIEWER (need_id (view,
                                                                                    "viewer"))),
                   ==, CHARTA_DOCUMENT_VIEWER_STATE_EMPTY);
  /* The record's actions still work. */
  g_assert_true (gtk_widget_get_sensitive (need_id (view, "history_button")));

  /* A click, at once (activating would click a moment later). */
  g_signal_emit_by_name (need_id (view, "file_retry_button"), "clicked");
  g_assert_cmpstr (page_of (view, "file_stack"), ==, "downloading");
  wait_for (file_failed, view, "the file's error page again");
  charta_test_assert_contains (adw_status_page_get_description (
                                 ADW_STATUS_PAGE (need_id (view, "file_error_page"))),
                               "not on the server");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  /* Before anything asks GLib for the cache folder. */
  cache_home = charta_test_make_tmp_dir ();
  g_setenv ("XDG_CACHE_HOME", cache_home, TRUE);
  g_test_init (&argc, &argv, NULL);

  app = G_APPLICATION (charta_application_new ());
  g_application_set_flags (app, G_APPLICATION_HANDLES_COMMAND_LINE
                                | G_APPLICATION_NON_UNIQUE);
  g_application_register (app, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (charta_application_get_settings (CHARTA_APPLICATION (app)));
  g_settings_set_string (charta_application_get_settings (CHARTA_APPLICATION (app)),
                         "user-name", USER_NAME);

  g_test_add ("/charta/gui/documents/index-and-reindex", Fixture,
              GINT_TO_POINTER (STORE_QUEUED), fixture_set_up, test_index_and_reindex,
              fixture_tear_down);
  g_test_add ("/charta/gui/documents/entered-in-error", Fixture, GINT_TO_POINTER (STORE_FILED),
              fixture_set_up, test_entered_in_error, fixture_tear_down);
  g_test_add ("/charta/gui/documents/addendum", Fixture, GINT_TO_POINTER (STORE_FILED),
              fixture_set_up, test_addendum, fixture_tear_down);
  g_test_add ("/charta/gui/documents/file-gone", Fixture, GINT_TO_POINTER (STORE_FILE_GONE),
              fixture_set_up, test_file_gone, fixture_tear_down);

  status = g_test_run ();

  g_clear_object (&app);
  charta_test_remove_tree (cache_home);
  g_free (cache_home);
  return status;
}
