/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-bad-server.c: the desktop app against a FHIR server that misbehaves, driven through
 * its real widgets under Xvfb.
 *
 * The server is a fake of the test's own: a SoupServer on 127.0.0.1, port 0, served by the
 * test's main context, that answers from canned JSON built here (a CapabilityStatement, one
 * patient, one body weight with its history and Provenance) and records every PUT: its body,
 * If-Match and X-Provenance.  The test switches what the fake does: answer normally; fail with
 * 500, with or without an OperationOutcome; answer 200 with JSON that does not parse, or with
 * JSON that is no FHIR resource; answer only after the client has given up (the window's
 * client is set to a 6 s timeout, the fake answers after SLOW_MS); or be down (its listening
 * socket and connections closed, opened again on the same port when it comes back).
 *
 * Each way of failing is tried at each place of the window: opening the server from the start
 * page, a search in the finder, opening the chart, a record, its history, and Save in the
 * correction dialog.  The window must say what happened in plain words (the page, label or
 * banner names the problem; no GError domain, no parser's output, no body, no search term or
 * patient data), must not be left busy, and once the fake is well again the same action,
 * retried as a user would (Try Again, Enter, Save), must work.  While a slow answer is
 * pending, the main loop turns and the finder's entry takes text.  In the dialog, everything
 * typed stays through the failure, and the PUT that then succeeds carries exactly what was
 * typed: the fake's record of it is compared with the typed texts.  Parts of a page fail on
 * their own too (the fake answers one path normally): the chart's sections, a record's
 * Provenance.  The diagnostics hold '&' and '<', so that a widget that reads its text as
 * markup shows up (GTK warns, which fails the test).
 *
 * Widgets are found by their GtkBuildable ids inside the widget that owns them, as in
 * test-window.c and test-correction.c; buttons are pressed with gtk_widget_activate().
 */
#define G_LOG_DOMAIN "charta-test"

#include <string.h>

#include <adwaita.h>
#include <libsoup/soup.h>

#include "charta-application.h"
#include "charta-chart-view.h"
#include "charta-client.h"
#include "charta-correction-dialog.h"
#include "charta-fhir-text.h"
#include "charta-history-view.h"
#include "charta-patient-finder.h"
#include "charta-resource-view.h"
#include "charta-test-util.h"
#include "charta-window.h"

#define DEADLINE_SECONDS 60
/* The client's timeout for the tests, and how long the slow fake takes to answer.  Long
 * enough that the window, which has to draw a page or two first, is seen to go on while the
 * answer is awaited even in a sanitizer build on a busy machine. */
#define TIMEOUT_SECONDS  6
#define SLOW_MS          8000
#define USER_NAME        "Test Clerk, RHIT"
#define FHIR_JSON        "application/fhir+json"

/* The canned records.  The patient's names and MRN must never show in an error message. */
#define FAMILY           "Quillfeather"
#define GIVEN            "Adaline"
#define MRN              "MRN-55501"
/* The observation's code.text, its title: with a '&', which a toast or a group description
 * would take for markup. */
#define RECORD_TITLE     "Body weight & height"
#define PATIENT_JSON \
  "{\"resourceType\":\"Patient\",\"id\":\"pat-1\"," \
  "\"meta\":{\"versionId\":\"1\",\"lastUpdated\":\"2024-01-02T03:04:05Z\"}," \
  "\"identifier\":[{\"type\":{\"coding\":[{\"system\":" \
  "\"http://terminology.hl7.org/CodeSystem/v2-0203\",\"code\":\"MR\"}]}," \
  "\"value\":\"" MRN "\"}]," \
  "\"name\":[{\"use\":\"official\",\"family\":\"" FAMILY "\",\"given\":[\"" GIVEN "\"]}]," \
  "\"gender\":\"female\",\"birthDate\":\"1970-01-02\"}"
#define OBSERVATION_JSON \
  "{\"resourceType\":\"Observation\",\"id\":\"obs-1\"," \
  "\"meta\":{\"versionId\":\"1\",\"lastUpdated\":\"2024-01-02T03:04:05Z\"}," \
  "\"status\":\"final\"," \
  "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"29463-7\"," \
  "\"display\":\"Body weight\"}],\"text\":\"" RECORD_TITLE "\"}," \
  "\"subject\":{\"reference\":\"Patient/pat-1\"}," \
  "\"effectiveDateTime\":\"2024-01-02T03:04:05Z\"," \
  "\"valueQuantity\":{\"value\":72.5,\"unit\":\"kg\"," \
  "\"system\":\"http://unitsofmeasure.org\",\"code\":\"kg\"}}"
#define CONDITION_JSON \
  "{\"resourceType\":\"Condition\",\"id\":\"cond-1\",\"meta\":{\"versionId\":\"1\"}," \
  "\"clinicalStatus\":{\"coding\":[{\"system\":" \
  "\"http://terminology.hl7.org/CodeSystem/condition-clinical\",\"code\":\"active\"}]}," \
  "\"code\":{\"text\":\"Essential hypertension\"},\"subject\":{\"reference\":\"Patient/pat-1\"}," \
  "\"onsetDateTime\":\"2020-01-01\"}"
#define CAPABILITY_JSON \
  "{\"resourceType\":\"CapabilityStatement\",\"status\":\"active\",\"kind\":\"instance\"," \
  "\"date\":\"2024-01-02\",\"fhirVersion\":\"4.0.1\",\"format\":[\"json\"]}"
#define PROVENANCE_JSON \
  "{\"resourceType\":\"Provenance\",\"id\":\"prov-1\"," \
  "\"target\":[{\"reference\":\"Observation/obs-1/_history/1\"}]," \
  "\"recorded\":\"2024-01-02T03:04:05Z\",\"agent\":[{\"who\":{\"display\":\"Dr Nurse\"}}]}"

/* What the failing fake sends.  The diagnostics hold '&' and '<', which a widget that takes
 * its text as markup would choke on (GTK warns, the test fails, the text shown is empty). */
#define DIAGNOSTICS      "the record database is locked for maintenance & backup (back in < 5 min)"
#define OUTCOME_500 \
  "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"fatal\"," \
  "\"code\":\"exception\",\"diagnostics\":\"" DIAGNOSTICS "\"}]}"
#define HTML_500         "<html><body>Oops: stack trace here</body></html>"
#define MALFORMED        "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"id\":"
#define NOT_FHIR         "{\"status\":\"ok\",\"message\":\"welcome to the gateway\"}"

/* The correction typed into the dialog: the canned weight is 72.5 kg, so 74.1 is a change;
 * the status a corrected final result is suggested is "corrected", the fourth of the
 * dialog's observation statuses (registered, preliminary, final, amended, corrected…). */
#define TYPED_VALUE      "74.1"
#define TYPED_REASON     "scale was not zeroed before weighing"
#define CORRECTED_INDEX  4

static GApplication *app;

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

/* Iterates the default main context for @ms milliseconds. */
static void
run_for (unsigned ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  guint tick = g_timeout_add (20, wake_up, NULL);

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
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

/* The first GtkButton below @root, depth first. */
static GtkWidget *
find_button (GtkWidget *root)
{
  if (GTK_IS_BUTTON (root))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_button (child);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static const char *
stack_page (GtkWidget  *root,
            const char *id)
{
  return gtk_stack_get_visible_child_name (GTK_STACK (need_id (root, id)));
}

static const char *
label_text (GtkWidget  *root,
            const char *id)
{
  return gtk_label_get_text (GTK_LABEL (need_id (root, id)));
}

static void
collect_labels (GtkWidget *root,
                GPtrArray *labels)
{
  if (GTK_IS_LABEL (root))
    g_ptr_array_add (labels, root);
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_labels (child, labels);
}

/* The description of the AdwStatusPage @id inside @root as it is shown: the text of its label
 * (not the property, which is markup). */
static const char *
status_text (GtkWidget  *root,
             const char *id)
{
  GtkWidget *page = need_id (root, id);
  const char *title = adw_status_page_get_title (ADW_STATUS_PAGE (page));
  g_autoptr(GPtrArray) labels = g_ptr_array_new ();

  collect_labels (page, labels);
  for (unsigned i = 0; i < labels->len; i++)
    {
      const char *text = gtk_label_get_text (labels->pdata[i]);

      if (*text != '\0' && g_strcmp0 (text, title) != 0)
        return text;
    }
  return "";
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
  g_assert_true (gtk_widget_is_sensitive (button));
  g_assert_true (gtk_widget_activate (button));
}

/* ---- the fake server ---------------------------------------------------------------------- */

typedef enum
{
  MODE_NORMAL,
  MODE_OUTCOME_500,  /* 500 with an OperationOutcome */
  MODE_PLAIN_500,    /* 500 with an HTML page */
  MODE_MALFORMED,    /* 200, JSON cut short */
  MODE_NOT_FHIR,     /* 200, JSON without a resourceType */
  MODE_SLOW,         /* the normal answer after SLOW_MS; a PUT then gets 503 and is not
                      * stored, unless the fake's slow_stores says so */
  MODE_DOWN,         /* nothing listens */
} Mode;

typedef struct
{
  char *body;
  char *if_match;
  char *provenance;   /* the X-Provenance header */
} Put;

static void
put_free (gpointer data)
{
  Put *put = data;

  g_free (put->body);
  g_free (put->if_match);
  g_free (put->provenance);
  g_free (put);
}

typedef struct
{
  SoupServer *server;
  guint16 port;
  char *base_url;
  char *where;               /* "127.0.0.1:PORT" */
  Mode mode;
  const char *spare;         /* a path answered normally whatever the mode (NULL: none) */
  GPtrArray *versions;       /* JsonNode: the observation's versions, oldest first */
  GPtrArray *puts;           /* Put: every PUT that reached the fake, in order */
  GPtrArray *slow;           /* Slow: answers held back */
  unsigned n_applied;        /* PUTs stored as a new version */
  gboolean slow_stores;      /* a slow PUT is stored (late) rather than refused with 503 */
} Fake;

typedef struct
{
  Fake *fake;
  SoupServerMessage *msg;
  Put *put;                  /* its PUT (fake->puts has it), or NULL */
  guint source;
} Slow;

static void
respond (SoupServerMessage *msg,
         unsigned           status,
         const char        *content_type,
         const char        *body)
{
  soup_server_message_set_status (msg, status, NULL);
  if (body != NULL)
    soup_server_message_set_response (msg, content_type, SOUP_MEMORY_COPY, body, strlen (body));
}

static void
respond_node (SoupServerMessage *msg,
              unsigned           status,
              JsonNode          *node)
{
  g_autofree char *text = json_to_string (node, FALSE);

  respond (msg, status, FHIR_JSON, text);
}

static JsonNode *
current_observation (Fake *fake)
{
  return g_ptr_array_index (fake->versions, fake->versions->len - 1);
}

static const char *
version_of (JsonNode *resource)
{
  return charta_json_get_string (charta_json_get_object (json_node_get_object (resource),
                                                         "meta"), "versionId");
}

/* A Bundle of @type with @resources (JsonNode; may be empty) as its entries. */
static JsonNode *
new_bundle (const char *type,
            GPtrArray  *resources)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "resourceType");
  json_builder_add_string_value (builder, "Bundle");
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, type);
  if (strcmp (type, "searchset") == 0)
    {
      json_builder_set_member_name (builder, "total");
      json_builder_add_int_value (builder, resources->len);
    }
  json_builder_set_member_name (builder, "entry");
  json_builder_begin_array (builder);
  for (unsigned i = 0; i < resources->len; i++)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "resource");
      json_builder_add_value (builder, json_node_copy (resources->pdata[i]));
      if (strcmp (type, "searchset") == 0)
        {
          json_builder_set_member_name (builder, "search");
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "mode");
          json_builder_add_string_value (builder, "match");
          json_builder_end_object (builder);
        }
      else
        {
          json_builder_set_member_name (builder, "request");
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "method");
          json_builder_add_string_value (builder, "PUT");
          json_builder_set_member_name (builder, "url");
          json_builder_add_string_value (builder, "Observation/obs-1");
          json_builder_end_object (builder);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
respond_search (SoupServerMessage *msg,
                const char        *json)
{
  g_autoptr(GPtrArray) resources = g_ptr_array_new_with_free_func ((GDestroyNotify)
                                                                   json_node_unref);
  g_autoptr(JsonNode) bundle = NULL;

  if (json != NULL)
    g_ptr_array_add (resources, json_from_string (json, NULL));
  bundle = new_bundle ("searchset", resources);
  respond_node (msg, 200, bundle);
}

static void
respond_outcome (SoupServerMessage *msg,
                 unsigned           status,
                 const char        *code,
                 const char        *diagnostics)
{
  g_autofree char *text = g_strdup_printf ("{\"resourceType\":\"OperationOutcome\",\"issue\":["
                                           "{\"severity\":\"error\",\"code\":\"%s\","
                                           "\"diagnostics\":\"%s\"}]}", code, diagnostics);

  respond (msg, status, FHIR_JSON, text);
}

/* The observation's PUT: If-Match must name the current version; stored as the next. */
static void
apply_put (Fake              *fake,
           SoupServerMessage *msg,
           Put               *put)
{
  g_autofree char *etag = g_strdup_printf ("W/\"%s\"", version_of (current_observation (fake)));
  g_autofree char *next = NULL;
  g_autoptr(JsonNode) stored = NULL;
  JsonObject *meta;

  if (g_strcmp0 (put->if_match, etag) != 0)
    {
      respond_outcome (msg, 412, "conflict", "not the current version");
      return;
    }
  stored = json_from_string (put->body, NULL);
  if (stored == NULL || !JSON_NODE_HOLDS_OBJECT (stored))
    {
      respond_outcome (msg, 400, "structure", "not JSON");
      return;
    }
  next = g_strdup_printf ("%u", fake->versions->len + 1);
  meta = json_object_new ();
  json_object_set_string_member (meta, "versionId", next);
  json_object_set_string_member (meta, "lastUpdated", "2024-02-03T04:05:06Z");
  json_object_set_object_member (json_node_get_object (stored), "meta", meta);
  g_ptr_array_add (fake->versions, json_node_ref (stored));
  fake->n_applied++;
  respond_node (msg, 200, stored);
}

/* What a working server answers. */
static void
answer_normally (Fake              *fake,
                 SoupServerMessage *msg,
                 const char        *path,
                 Put               *put)
{
  const char *method = soup_server_message_get_method (msg);

  if (put != NULL && strcmp (path, "/fhir/Observation/obs-1") == 0)
    apply_put (fake, msg, put);
  else if (strcmp (method, "GET") != 0)
    respond_outcome (msg, 405, "not-supported", "only GET here");
  else if (strcmp (path, "/fhir/metadata") == 0)
    respond (msg, 200, FHIR_JSON, CAPABILITY_JSON);
  else if (strcmp (path, "/fhir/Patient/pat-1") == 0)
    respond (msg, 200, FHIR_JSON, PATIENT_JSON);
  else if (strcmp (path, "/fhir/Patient") == 0)
    respond_search (msg, PATIENT_JSON);
  else if (strcmp (path, "/fhir/Observation/obs-1") == 0)
    respond_node (msg, 200, current_observation (fake));
  else if (strcmp (path, "/fhir/Observation") == 0)
    {
      g_autoptr(GPtrArray) resources = g_ptr_array_new ();
      g_autoptr(JsonNode) bundle = NULL;

      g_ptr_array_add (resources, current_observation (fake));
      bundle = new_bundle ("searchset", resources);
      respond_node (msg, 200, bundle);
    }
  else if (strcmp (path, "/fhir/Observation/obs-1/_history") == 0)
    {
      g_autoptr(GPtrArray) resources = g_ptr_array_new ();
      g_autoptr(JsonNode) bundle = NULL;

      for (unsigned i = fake->versions->len; i > 0; i--)
        g_ptr_array_add (resources, fake->versions->pdata[i - 1]);
      bundle = new_bundle ("history", resources);
      respond_node (msg, 200, bundle);
    }
  else if (strcmp (path, "/fhir/Provenance") == 0)
    respond_search (msg, PROVENANCE_JSON);
  else if (strcmp (path, "/fhir/Condition") == 0)
    respond_search (msg, CONDITION_JSON);
  else if (strchr (path + strlen ("/fhir/"), '/') == NULL)
    respond_search (msg, NULL);   /* any other search: nothing */
  else
    respond_outcome (msg, 404, "not-found", "no such resource");
}

static gboolean
slow_answer (gpointer data)
{
  Slow *slow = data;
  Fake *fake = slow->fake;
  g_autoptr(SoupServerMessage) msg = g_object_ref (slow->msg);

  if (strcmp (soup_server_message_get_method (msg), "GET") == 0
      || (slow->put != NULL && fake->slow_stores))
    answer_normally (fake, msg, g_uri_get_path (soup_server_message_get_uri (msg)), slow->put);
  else
    respond_outcome (msg, 503, "transient", "gave up");
  soup_server_message_unpause (msg);
  g_ptr_array_remove (fake->slow, slow);
  return G_SOURCE_REMOVE;
}

static void
slow_free (gpointer data)
{
  Slow *slow = data;

  g_object_unref (slow->msg);
  g_free (slow);
}

static void
fake_handler (SoupServer        *server,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  Fake *fake = user_data;
  Put *put = NULL;

  if (strcmp (soup_server_message_get_method (msg), "PUT") == 0)
    {
      SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
      g_autoptr(GBytes) body = soup_message_body_flatten (
                                 soup_server_message_get_request_body (msg));

      put = g_new0 (Put, 1);
      put->body = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
      put->if_match = g_strdup (soup_message_headers_get_one (headers, "If-Match"));
      put->provenance = g_strdup (soup_message_headers_get_one (headers, "X-Provenance"));
      g_ptr_array_add (fake->puts, put);
    }

  switch (g_strcmp0 (path, fake->spare) == 0 ? MODE_NORMAL : fake->mode)
    {
    case MODE_OUTCOME_500:
      respond (msg, 500, FHIR_JSON, OUTCOME_500);
      break;
    case MODE_PLAIN_500:
      respond (msg, 500, "text/html", HTML_500);
      break;
    case MODE_MALFORMED:
      respond (msg, 200, FHIR_JSON, MALFORMED);
      break;
    case MODE_NOT_FHIR:
      respond (msg, 200, "application/json", NOT_FHIR);
      break;
    case MODE_SLOW:
      {
        Slow *slow = g_new0 (Slow, 1);

        slow->fake = fake;
        slow->msg = g_object_ref (msg);
        slow->put = put;
        slow->source = g_timeout_add (SLOW_MS, slow_answer, slow);
        g_ptr_array_add (fake->slow, slow);
        soup_server_message_pause (msg);
      }
      break;
    case MODE_NORMAL:
    case MODE_DOWN:
    default:
      answer_normally (fake, msg, path, put);
      break;
    }
}

static void
fake_listen (Fake *fake)
{
  g_autoptr(GError) error = NULL;

  soup_server_listen_local (fake->server, fake->port, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
}

static void
fake_start (Fake *fake)
{
  g_autoslist(GUri) uris = NULL;

  fake->versions = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_ptr_array_add (fake->versions, json_from_string (OBSERVATION_JSON, NULL));
  g_assert_nonnull (current_observation (fake));
  fake->puts = g_ptr_array_new_with_free_func (put_free);
  fake->slow = g_ptr_array_new_with_free_func (slow_free);
  fake->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (fake->server, "/fhir", fake_handler, fake, NULL);
  fake_listen (fake);
  uris = soup_server_get_uris (fake->server);
  g_assert_nonnull (uris);
  fake->port = (guint16) g_uri_get_port (uris->data);
  fake->base_url = g_strdup_printf ("http://127.0.0.1:%u/fhir", fake->port);
  fake->where = g_strdup_printf ("127.0.0.1:%u", fake->port);
}

/* Switches the fake to @mode: down closes its socket and its connections, anything else
 * listens again (on the same port) if it was down. */
static void
fake_set_mode (Fake *fake,
               Mode  mode)
{
  if (mode == MODE_DOWN && fake->mode != MODE_DOWN)
    soup_server_disconnect (fake->server);
  else if (mode != MODE_DOWN && fake->mode == MODE_DOWN)
    fake_listen (fake);
  fake->mode = mode;
}

static void
fake_stop (Fake *fake)
{
  /* Whatever is held back gets its answer, so that no connection waits. */
  for (unsigned i = 0; i < fake->slow->len; i++)
    {
      Slow *slow = g_ptr_array_index (fake->slow, i);

      g_source_remove (slow->source);
      respond_outcome (slow->msg, 503, "transient", "stopping");
      soup_server_message_unpause (slow->msg);
    }
  g_ptr_array_set_size (fake->slow, 0);
  if (fake->mode != MODE_DOWN)
    soup_server_disconnect (fake->server);
  g_clear_object (&fake->server);
  g_ptr_array_unref (fake->slow);
  g_ptr_array_unref (fake->puts);
  g_ptr_array_unref (fake->versions);
  g_free (fake->base_url);
  g_free (fake->where);
}

/* ---- the cases ---------------------------------------------------------------------------- */

typedef struct
{
  Mode mode;
  const char *name;
  const char *words[3];   /* what the message must say (NULL-terminated; "WHERE": host:port) */
} Case;

static const Case cases[] = {
  { MODE_OUTCOME_500, "500-outcome", { "The server failed", DIAGNOSTICS, "500" } },
  { MODE_PLAIN_500, "500-plain", { "The server failed", "500" } },
  { MODE_MALFORMED, "malformed", { "not FHIR JSON", "not JSON" } },
  { MODE_NOT_FHIR, "not-fhir", { "not FHIR JSON", "not a FHIR resource" } },
  { MODE_SLOW, "slow", { "did not answer", "WHERE" } },
  { MODE_DOWN, "down", { "is not answering", "WHERE" } },
};

/* Whether @message says what @c wants, in plain words: each of its words, and nothing a
 * person should not see there (GError domains, the JSON parser's output, the fake's bodies,
 * the patient's name or MRN, which is also the search term). */
static void
assert_plain_words (const Case *c,
                    Fake       *fake,
                    const char *message)
{
  static const char *const never[] = {
    "quark", "GDBus", "g-io-error", "<data>", "Parse error", "Oops", "stack trace", "gateway",
    "\"resourceType\"", "{", FAMILY, GIVEN, MRN,
  };

  g_assert_nonnull (message);
  g_test_message ("%s: “%s”", c->name, message);
  for (unsigned i = 0; i < G_N_ELEMENTS (c->words) && c->words[i] != NULL; i++)
    charta_test_assert_contains (message, strcmp (c->words[i], "WHERE") == 0 ? fake->where
                                                                            : c->words[i]);
  for (unsigned i = 0; i < G_N_ELEMENTS (never); i++)
    if (strstr (message, never[i]) != NULL)
      g_error ("the message “%s” shows “%s”", message, never[i]);
}

/* ---- a window ----------------------------------------------------------------------------- */

typedef struct
{
  Fake fake;
  GtkWidget *window;
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
  fake_start (&f->fake);
  f->window = GTK_WIDGET (charta_window_new (GTK_APPLICATION (app)));
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1200, 800);
  gtk_window_present (GTK_WINDOW (f->window));
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
  g_weak_ref_init (&weak, f->window);
  gtk_window_destroy (GTK_WINDOW (f->window));
  wait_for (window_gone, &weak, "the window to go");
  g_weak_ref_clear (&weak);
  fake_stop (&f->fake);
}

static gboolean
browsing (gpointer data)
{
  Fixture *f = data;

  return g_strcmp0 (stack_page (f->window, "main_stack"), "browse") == 0;
}

static GtkWidget *
finder_of (Fixture *f)
{
  return need_id (f->window, "finder");
}

static GtkWidget *
search_entry_of (Fixture *f)
{
  /* The finder's entry: a GtkDropDown (in the history view) has one of that id too. */
  return need_id (finder_of (f), "search_entry");
}

/* The finder lists the fake's one patient, and reads nothing more. */
static gboolean
patient_listed (gpointer data)
{
  Fixture *f = data;
  GListModel *results = charta_patient_finder_get_results (CHARTA_PATIENT_FINDER (finder_of (f)));
  gboolean loading = TRUE;

  if (results == NULL || g_list_model_get_n_items (results) != 1)
    return FALSE;
  g_object_get (results, "loading", &loading, NULL);
  return !loading && g_strcmp0 (stack_page (finder_of (f), "results_stack"), "results") == 0;
}

/* Opens the fake from the start page as a user does (its address in the server row, Enter),
 * waits for the finder's first listing and sets the window's client to TIMEOUT_SECONDS. */
static void
enter_url (GtkWidget  *window,
           const char *url)
{
  GtkWidget *row = need_id (window, "url_row");
  GtkWidget *text = row;

  /* Depth first to the GtkText of the row's entry. */
  while (text != NULL && !GTK_IS_TEXT (text))
    {
      GtkWidget *next = gtk_widget_get_first_child (text);

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
  /* What Enter in the text does. */
  g_signal_emit_by_name (text, "activate");
}

static void
open_fake (Fixture *f)
{
  ChartaClient *client;

  g_assert_cmpint (f->fake.mode, ==, MODE_NORMAL);
  enter_url (f->window, f->fake.base_url);
  wait_for (browsing, f, "the fake server to open");
  client = charta_window_get_client (CHARTA_WINDOW (f->window));
  g_assert_nonnull (client);
  g_assert_cmpstr (charta_client_get_base_url (client), ==, f->fake.base_url);
  charta_client_set_timeout (client, TIMEOUT_SECONDS);
  wait_for (patient_listed, f, "the finder to list the patient");
}

static gboolean
count_tick (gpointer data)
{
  (*(unsigned *) data)++;
  return G_SOURCE_CONTINUE;
}

static gboolean
fake_holds_back (gpointer data)
{
  Fake *fake = data;

  return fake->slow->len > 0;
}

/* While the fake holds an answer back, the window goes on: the main loop turns (a 20 ms
 * timer fires 3 times), and the finder's entry is sensitive and takes what is typed (the text
 * is put back, so that no new search starts); and all of that before the answer comes or the
 * client gives up.  A main loop that waited for the network would turn only after. */
static void
assert_responsive (Fixture   *f,
                   Condition  waiting,
                   gpointer   data)
{
  GtkWidget *entry = search_entry_of (f);
  g_autofree char *before = g_strdup (gtk_editable_get_text (GTK_EDITABLE (entry)));
  unsigned ticks = 0;
  gint64 start;
  guint source;

  wait_for (fake_holds_back, &f->fake, "the request to reach the fake");
  start = g_get_monotonic_time ();
  source = g_timeout_add (20, count_tick, &ticks);
  while (ticks < 3 && g_get_monotonic_time () - start < DEADLINE_SECONDS * G_USEC_PER_SEC)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (source);
  g_test_message ("3 ticks of 20 ms took %" G_GINT64_FORMAT " ms while the fake waited",
                  (g_get_monotonic_time () - start) / 1000);
  g_assert_cmpuint (ticks, ==, 3);

  g_assert_true (gtk_widget_is_sensitive (entry));
  g_assert_true (gtk_editable_get_editable (GTK_EDITABLE (entry)));
  gtk_editable_set_text (GTK_EDITABLE (entry), "typed while waiting");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, "typed while waiting");
  gtk_editable_set_text (GTK_EDITABLE (entry), before);
  /* Still waiting: the answer is held for SLOW_MS, the client waits TIMEOUT_SECONDS. */
  g_assert_cmpuint (f->fake.slow->len, >=, 1);
  g_assert_true (waiting (data));
}

/* ---- opening the server ------------------------------------------------------------------- */

static gboolean
start_error_shown (gpointer data)
{
  GtkWidget *window = data;

  return gtk_widget_get_visible (need_id (window, "error_label"))
         && !gtk_widget_get_visible (need_id (window, "busy_box"));
}

/* Opening a failing server: the start page says why, stays usable and keeps the address; the
 * same address, entered again once the fake is well, opens.  A slow server cannot time out
 * here (the window's client is made with the default timeout as the open begins): while it
 * waits, the start page is busy but answers, and entering the address again starts a newer
 * open, which opens at once and is not undone by the old answer. */
static void
test_open (Fixture       *f,
           gconstpointer  data)
{
  const Case *c = data;
  gint64 start;

  fake_set_mode (&f->fake, c->mode);
  g_assert_cmpstr (stack_page (f->window, "main_stack"), ==, "start");
  enter_url (f->window, f->fake.base_url);
  if (c->mode == MODE_SLOW)
    {
      wait_for (is_mapped, need_id (f->window, "busy_box"), "the start page to be busy");
      wait_for (fake_holds_back, &f->fake, "the request to reach the fake");
      g_assert_cmpuint (f->fake.slow->len, ==, 1);
      g_assert_true (gtk_widget_is_sensitive (need_id (f->window, "url_row")));
      g_assert_true (gtk_spinner_get_spinning (GTK_SPINNER (need_id (f->window,
                                                                     "busy_spinner"))));
      fake_set_mode (&f->fake, MODE_NORMAL);
      start = g_get_monotonic_time ();
      enter_url (f->window, f->fake.base_url);
      wait_for (browsing, f, "the newer open");
      g_assert_cmpint (g_get_monotonic_time () - start, <, SLOW_MS * 1000);
      g_assert_cmpstr (charta_window_get_location (CHARTA_WINDOW (f->window)), ==,
                       f->fake.base_url);
      /* The old answer comes and changes nothing. */
      wait_for (patient_listed, f, "the finder to list the patient");
      run_for (SLOW_MS);
      g_assert_cmpuint (f->fake.slow->len, ==, 0);
      g_assert_cmpstr (stack_page (f->window, "main_stack"), ==, "browse");
      return;
    }

  wait_for (start_error_shown, f->window, "the start page to say why");
  assert_plain_words (c, &f->fake, label_text (f->window, "error_label"));
  g_assert_cmpstr (stack_page (f->window, "main_stack"), ==, "start");
  g_assert_null (charta_window_get_location (CHARTA_WINDOW (f->window)));
  g_assert_true (gtk_widget_is_sensitive (need_id (f->window, "url_row")));
  g_assert_true (gtk_widget_is_sensitive (need_id (f->window, "open_file_button")));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (need_id (f->window, "url_row"))), ==,
                   f->fake.base_url);

  fake_set_mode (&f->fake, MODE_NORMAL);
  open_fake (f);
  g_assert_false (gtk_widget_get_visible (need_id (f->window, "error_label")));
}

/* ---- the finder --------------------------------------------------------------------------- */

static gboolean
finder_failed (gpointer data)
{
  Fixture *f = data;
  GtkWidget *finder = finder_of (f);

  return g_strcmp0 (stack_page (finder, "results_stack"), "error") == 0;
}

static gboolean
finder_loading (gpointer data)
{
  Fixture *f = data;

  return g_strcmp0 (stack_page (finder_of (f), "results_stack"), "loading") == 0;
}

/* Searches for the patient's family name: the finder says why it failed on its error page,
 * and the footer does not say it is searching; Try Again, once the fake is well, lists the
 * patient.  The message never repeats what was searched for. */
static void
test_search (Fixture       *f,
             gconstpointer  data)
{
  const Case *c = data;
  GtkWidget *finder;
  GtkWidget *entry;

  open_fake (f);
  finder = finder_of (f);
  entry = search_entry_of (f);
  fake_set_mode (&f->fake, c->mode);
  gtk_widget_grab_focus (entry);
  gtk_editable_set_text (GTK_EDITABLE (entry), FAMILY);
  if (c->mode == MODE_SLOW)
    {
      wait_for (finder_loading, f, "the finder to search");
      assert_responsive (f, finder_loading, f);
    }
  wait_for (finder_failed, f, "the finder to say the search failed");
  assert_plain_words (c, &f->fake, label_text (finder, "error_description"));
  g_assert_false (gtk_spinner_get_spinning (GTK_SPINNER (need_id (finder, "loading_spinner"))));
  g_assert_cmpstr (label_text (finder, "status_label"), ==, "");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, FAMILY);
  g_assert_true (gtk_widget_is_sensitive (entry));

  fake_set_mode (&f->fake, MODE_NORMAL);
  press (need_id (finder, "retry_button"));
  wait_for (patient_listed, f, "the search to work again");
  g_assert_cmpstr (label_text (finder, "status_label"), ==, "1 patient");
}

/* After a failed search, Enter in the entry (with the same text) searches again. */
static void
test_search_enter_retries (Fixture       *f,
                           gconstpointer  data)
{
  const Case *c = data;
  GtkWidget *entry;

  open_fake (f);
  entry = search_entry_of (f);
  fake_set_mode (&f->fake, c->mode);
  gtk_widget_grab_focus (entry);
  gtk_editable_set_text (GTK_EDITABLE (entry), FAMILY);
  wait_for (finder_failed, f, "the finder to say the search failed");

  fake_set_mode (&f->fake, MODE_NORMAL);
  g_signal_emit_by_name (entry, "activate");
  wait_for (patient_listed, f, "Enter to search again");
}

/* ---- the chart ---------------------------------------------------------------------------- */

static gboolean
chart_done (gpointer data)
{
  GtkWidget *chart = data;
  gboolean complete = FALSE;

  g_object_get (chart, "complete", &complete, NULL);
  return complete;
}

static gboolean
chart_shown (gpointer data)
{
  GtkWidget *chart = data;

  return chart_done (chart) && g_strcmp0 (stack_page (chart, "stack"), "chart") == 0
         && strcmp (label_text (chart, "name_label"), GIVEN " " FAMILY) == 0;
}

static gboolean
chart_loading (gpointer data)
{
  return g_strcmp0 (stack_page (data, "stack"), "loading") == 0;
}

/* Opens the listed patient's chart from the finder's list, as Enter does. */
static void
activate_patient (Fixture *f)
{
  g_assert_true (gtk_widget_activate_action (need_id (f->window, "list_view"),
                                             "list.activate-item", "u", 0));
}

static GtkWidget *
open_chart (Fixture *f)
{
  GtkWidget *chart = need_id (f->window, "chart_view");

  activate_patient (f);
  wait_for (chart_shown, chart, "the chart");
  return chart;
}

/* Opening the chart from the list fails: the chart's page says why, with nothing spinning;
 * Try Again, once the fake is well, opens it. */
static void
test_chart (Fixture       *f,
            gconstpointer  data)
{
  const Case *c = data;
  GtkWidget *chart = need_id (f->window, "chart_view");

  open_fake (f);
  fake_set_mode (&f->fake, c->mode);
  activate_patient (f);
  if (c->mode == MODE_SLOW)
    {
      wait_for (chart_loading, chart, "the chart to be read");
      assert_responsive (f, chart_loading, chart);
    }
  wait_for (chart_done, chart, "the chart to fail");
  g_assert_cmpstr (stack_page (chart, "stack"), ==, "error");
  assert_plain_words (c, &f->fake, status_text (chart, "error_page"));
  g_assert_false (gtk_spinner_get_spinning (GTK_SPINNER (need_id (chart, "spinner"))));

  fake_set_mode (&f->fake, MODE_NORMAL);
  press (need_id (chart, "retry_button"));
  wait_for (chart_shown, chart, "the chart to open after Try Again");
}

/* ---- a record ----------------------------------------------------------------------------- */

typedef struct
{
  GtkWidget *view;
  gboolean want_resource;
} RecordWanted;

static gboolean
record_done (gpointer data)
{
  RecordWanted *w = data;
  ChartaResourceView *view = CHARTA_RESOURCE_VIEW (w->view);

  return charta_resource_view_is_loaded (view)
         && g_strcmp0 (charta_resource_view_get_reference (view), "Observation/obs-1") == 0
         && (charta_resource_view_get_resource (view) != NULL) == w->want_resource;
}

static gboolean
record_loading (gpointer data)
{
  return g_strcmp0 (stack_page (data, "stack"), "loading") == 0;
}

/* The row of the chart's observation table for obs-1, activated as Enter does. */
static void
activate_observation (GtkWidget *chart)
{
  GtkListBox *list = GTK_LIST_BOX (need_id (chart, "observations_list"));
  GtkListBoxRow *row;

  for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
    if (g_strcmp0 (g_object_get_data (G_OBJECT (row), "charta-reference"),
                   "Observation/obs-1") == 0)
      {
        g_assert_true (gtk_widget_activate (GTK_WIDGET (row)));
        return;
      }
  g_error ("the observation table has no row for Observation/obs-1");
}

static GtkWidget *
open_record (Fixture *f)
{
  GtkWidget *chart = open_chart (f);
  RecordWanted wanted = { need_id (f->window, "resource_view"), TRUE };

  activate_observation (chart);
  wait_for (record_done, &wanted, "the record");
  g_assert_cmpstr (label_text (wanted.view, "record_title"), ==, RECORD_TITLE);
  return wanted.view;
}

/* Opening a record from the chart fails: the record's page says why; Try Again reads it. */
static void
test_record (Fixture       *f,
             gconstpointer  data)
{
  const Case *c = data;
  GtkWidget *chart;
  RecordWanted wanted = { need_id (f->window, "resource_view"), FALSE };

  open_fake (f);
  chart = open_chart (f);
  fake_set_mode (&f->fake, c->mode);
  activate_observation (chart);
  if (c->mode == MODE_SLOW)
    {
      wait_for (record_loading, wanted.view, "the record to be read");
      assert_responsive (f, record_loading, wanted.view);
    }
  wait_for (record_done, &wanted, "the record to fail");
  g_assert_cmpstr (stack_page (f->window, "content_stack"), ==, "resource");
  g_assert_cmpstr (stack_page (wanted.view, "stack"), ==, "error");
  assert_plain_words (c, &f->fake, status_text (wanted.view, "error_page"));
  g_assert_false (gtk_spinner_get_spinning (GTK_SPINNER (need_id (wanted.view, "spinner"))));

  fake_set_mode (&f->fake, MODE_NORMAL);
  wanted.want_resource = TRUE;
  press (need_id (wanted.view, "retry_button"));
  wait_for (record_done, &wanted, "the record after Try Again");
  g_assert_cmpstr (stack_page (wanted.view, "stack"), ==, "resource");
  g_assert_cmpstr (label_text (wanted.view, "record_title"), ==, RECORD_TITLE);
  /* Back goes to the chart, as ever. */
  g_assert_true (gtk_widget_activate_action (f->window, "win.back", NULL));
  g_assert_cmpstr (stack_page (f->window, "content_stack"), ==, "chart");
}

/* ---- parts of a chart and of a record ----------------------------------------------------- */

typedef struct
{
  GtkWidget *chart;
  const char *id;
} SectionWanted;

/* The first row of the section @id: the section's error row, or its first record. */
static GtkWidget *
first_row (GtkWidget  *chart,
           const char *id)
{
  return GTK_WIDGET (gtk_list_box_get_row_at_index (GTK_LIST_BOX (need_id (chart, id)), 0));
}

static gboolean
section_shows_record (gpointer data)
{
  SectionWanted *w = data;
  GtkWidget *row = first_row (w->chart, w->id);

  return chart_done (w->chart) && row != NULL
         && g_strcmp0 (g_object_get_data (G_OBJECT (row), "charta-reference"),
                       "Condition/cond-1") == 0;
}

/* The patient reads, every search of the chart fails: the chart shows the patient, and the
 * active problems' section (on the summary, shown first) says why in its row, whose Try
 * Again, once the fake is well, lists the problem. */
static void
test_chart_sections (Fixture       *f,
                     gconstpointer  data)
{
  const Case *c = data;
  GtkWidget *chart = need_id (f->window, "chart_view");
  SectionWanted wanted = { chart, "problems_list" };
  GtkWidget *row;

  open_fake (f);
  f->fake.spare = "/fhir/Patient/pat-1";
  fake_set_mode (&f->fake, c->mode);
  activate_patient (f);
  wait_for (chart_shown, chart, "the chart, with its sections failed");
  row = first_row (chart, "problems_list");
  g_assert_true (ADW_IS_ACTION_ROW (row));
  g_assert_null (g_object_get_data (G_OBJECT (row), "charta-reference"));
  charta_test_assert_contains (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)),
                               "Could not read the active problems");
  g_assert_false (adw_preferences_row_get_use_markup (ADW_PREFERENCES_ROW (row)));
  assert_plain_words (c, &f->fake, adw_action_row_get_subtitle (ADW_ACTION_ROW (row)));

  fake_set_mode (&f->fake, MODE_NORMAL);
  g_assert_nonnull (find_button (row));
  press (find_button (row));
  wait_for (section_shows_record, &wanted, "the observations after Try Again");
}

typedef struct
{
  GtkWidget *row;
  const char *title;
} ChangeWanted;

static gboolean
change_row_says (gpointer data)
{
  ChangeWanted *w = data;

  return g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (w->row)),
                    w->title) == 0;
}

/* The record reads, its Provenance does not: the record is shown, and its Last Change row
 * says that who changed it is not known, and why. */
static void
test_record_provenance (Fixture       *f,
                        gconstpointer  data)
{
  const Case *c = data;
  GtkWidget *chart;
  RecordWanted wanted = { need_id (f->window, "resource_view"), TRUE };
  ChangeWanted change = { NULL, "Who changed it last is not known" };

  open_fake (f);
  chart = open_chart (f);
  f->fake.spare = "/fhir/Observation/obs-1";
  fake_set_mode (&f->fake, c->mode);
  activate_observation (chart);
  wait_for (record_done, &wanted, "the record without its Provenance");
  g_assert_cmpstr (stack_page (wanted.view, "stack"), ==, "resource");
  g_assert_cmpstr (label_text (wanted.view, "record_title"), ==, RECORD_TITLE);
  change.row = need_id (wanted.view, "change_row");
  wait_for (change_row_says, &change, "the record to say who changed it is not known");
  assert_plain_words (c, &f->fake, adw_action_row_get_subtitle (ADW_ACTION_ROW (change.row)));
  g_assert_true (gtk_widget_is_sensitive (need_id (wanted.view, "edit_button")));
  g_assert_true (gtk_widget_is_sensitive (need_id (wanted.view, "history_button")));
}

/* ---- a record's history ------------------------------------------------------------------- */

typedef struct
{
  GtkWidget *view;
  unsigned n_versions;
} HistoryWanted;

static gboolean
history_done (gpointer data)
{
  HistoryWanted *w = data;
  ChartaHistoryView *view = CHARTA_HISTORY_VIEW (w->view);

  return charta_history_view_is_loaded (view)
         && g_strcmp0 (charta_history_view_get_reference (view), "Observation/obs-1") == 0
         && charta_history_view_get_n_versions (view) == w->n_versions;
}

static gboolean
history_loading (gpointer data)
{
  return g_strcmp0 (stack_page (data, "stack"), "loading") == 0;
}

/* The History button of a record fails: the history's page says why; its Try Again, once the
 * fake is well, lists the one version. */
static void
test_history (Fixture       *f,
              gconstpointer  data)
{
  const Case *c = data;
  GtkWidget *record;
  GtkWidget *error_page;
  HistoryWanted wanted = { need_id (f->window, "history_view"), 0 };

  open_fake (f);
  record = open_record (f);
  fake_set_mode (&f->fake, c->mode);
  press (need_id (record, "history_button"));
  if (c->mode == MODE_SLOW)
    {
      wait_for (history_loading, wanted.view, "the history to be read");
      assert_responsive (f, history_loading, wanted.view);
    }
  wait_for (history_done, &wanted, "the history to fail");
  g_assert_cmpstr (stack_page (f->window, "content_stack"), ==, "history");
  g_assert_cmpstr (stack_page (wanted.view, "stack"), ==, "error");
  error_page = need_id (wanted.view, "error_page");
  assert_plain_words (c, &f->fake, status_text (wanted.view, "error_page"));
  g_assert_false (gtk_spinner_get_spinning (GTK_SPINNER (need_id (wanted.view, "spinner"))));

  fake_set_mode (&f->fake, MODE_NORMAL);
  g_assert_nonnull (find_button (error_page));
  press (find_button (error_page));
  wanted.n_versions = 1;
  wait_for (history_done, &wanted, "the history after Try Again");
  g_assert_cmpstr (stack_page (wanted.view, "stack"), ==, "history");
}

/* ---- the correction dialog ---------------------------------------------------------------- */

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

static gboolean
dialog_busy (gpointer data)
{
  return charta_correction_dialog_is_busy (CHARTA_CORRECTION_DIALOG (data));
}

static gboolean
banner_shown (gpointer data)
{
  GtkWidget *dialog = data;

  return gtk_revealer_get_reveal_child (GTK_REVEALER (need_id (dialog, "banner_revealer")))
         && !charta_correction_dialog_is_busy (CHARTA_CORRECTION_DIALOG (dialog));
}

/* The form as typed: the value, the reason, the kind and the suggested status, and Save on. */
static void
assert_form_kept (GtkWidget *dialog)
{
  g_assert_cmpstr (typed (dialog, "value_row"), ==, TYPED_VALUE);
  g_assert_cmpstr (typed (dialog, "unit_row"), ==, "kg");
  g_assert_cmpstr (typed (dialog, "reason_row"), ==, TYPED_REASON);
  g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (need_id (dialog,
                                                                         "kind_correction"))));
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (need_id (dialog, "status_row"))),
                    ==, CORRECTED_INDEX);
  g_assert_true (gtk_widget_is_sensitive (need_id (dialog, "save_button")));
  g_assert_true (gtk_widget_is_sensitive (need_id (dialog, "value_row")));
  g_assert_true (gtk_widget_is_sensitive (need_id (dialog, "reason_row")));
}

static gboolean
fake_stored_one (gpointer data)
{
  return ((Fake *) data)->n_applied == 1;
}

static gboolean
reload_offered (gpointer data)
{
  GtkWidget *dialog = data;

  return banner_shown (dialog) && gtk_widget_get_visible (need_id (dialog, "reload_button"));
}

static gboolean
toast_says_saved (gpointer data)
{
  g_autoptr(GPtrArray) labels = g_ptr_array_new ();

  collect_labels (need_id (data, "toast_overlay"), labels);
  for (unsigned i = 0; i < labels->len; i++)
    if (strcmp (gtk_label_get_text (labels->pdata[i]),
                "Saved version 2 of " RECORD_TITLE) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
record_at_version_2 (gpointer data)
{
  ChartaResourceView *view = CHARTA_RESOURCE_VIEW (data);
  JsonNode *resource = charta_resource_view_get_resource (view);

  return charta_resource_view_is_loaded (view) && resource != NULL
         && g_strcmp0 (version_of (resource), "2") == 0;
}

/* Save meets the failing fake: the dialog stays, says why in its banner, is no longer busy and
 * keeps everything typed.  Save again, once the fake is well, stores version 2; the PUT that
 * did it carries the typed value, the suggested status, If-Match of version 1 and a Provenance
 * with the typed reason, the kind's activity (amend) and the user; when the failed Save
 * reached the fake, it sent the very same body. */
static void
test_correction (Fixture       *f,
                 gconstpointer  data)
{
  const Case *c = data;
  GtkWidget *record;
  GtkWidget *dialog;
  unsigned n_puts;
  Put *put;
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  JsonObject *prov;

  open_fake (f);
  record = open_record (f);
  press (need_id (record, "edit_button"));
  wait_for (dialog_shown, NULL, "the correction dialog");
  dialog = find_dialog ();
  type_into (dialog, "value_row", TYPED_VALUE);
  g_assert_true (gtk_widget_activate (need_id (dialog, "kind_correction")));
  type_into (dialog, "reason_row", TYPED_REASON);
  assert_form_kept (dialog);

  fake_set_mode (&f->fake, c->mode);
  n_puts = f->fake.puts->len;
  press (need_id (dialog, "save_button"));
  if (c->mode == MODE_SLOW)
    {
      wait_for (is_mapped, need_id (dialog, "busy_spinner"), "the dialog to be busy");
      g_assert_true (charta_correction_dialog_is_busy (CHARTA_CORRECTION_DIALOG (dialog)));
      /* No second Save while one is under way; Cancel stays. */
      g_assert_false (gtk_widget_is_sensitive (need_id (dialog, "save_button")));
      g_assert_true (gtk_widget_is_sensitive (need_id (dialog, "cancel_button")));
      assert_responsive (f, dialog_busy, dialog);
    }
  wait_for (banner_shown, dialog, "the dialog to say why nothing was saved");
  assert_plain_words (c, &f->fake, label_text (dialog, "banner_label"));
  charta_test_assert_contains (label_text (dialog, "banner_label"), "what you typed is still here");
  g_assert_true (find_dialog () == dialog);
  g_assert_false (gtk_widget_get_visible (need_id (dialog, "busy_spinner")));
  assert_form_kept (dialog);
  g_assert_cmpuint (f->fake.n_applied, ==, 0);
  /* Down: the PUT never reached the fake; otherwise it did, once. */
  g_assert_cmpuint (f->fake.puts->len, ==, n_puts + (c->mode == MODE_DOWN ? 0 : 1));

  fake_set_mode (&f->fake, MODE_NORMAL);
  press (need_id (dialog, "save_button"));
  wait_for (dialog_gone, NULL, "the dialog to close after saving");
  wait_for (record_at_version_2, record, "the record to show version 2");
  g_assert_cmpuint (f->fake.n_applied, ==, 1);
  /* The toast names the record as it is titled, '&' and all. */
  wait_for (toast_says_saved, f->window, "the toast to say what was saved");

  put = g_ptr_array_index (f->fake.puts, f->fake.puts->len - 1);
  if (c->mode != MODE_DOWN)
    {
      Put *failed = g_ptr_array_index (f->fake.puts, f->fake.puts->len - 2);

      g_assert_cmpstr (failed->body, ==, put->body);
      g_assert_cmpstr (failed->provenance, ==, put->provenance);
      g_assert_cmpstr (failed->if_match, ==, put->if_match);
    }
  g_assert_cmpstr (put->if_match, ==, "W/\"1\"");
  /* The value as typed, digits and all. */
  charta_test_assert_contains (put->body, "\"value\":" TYPED_VALUE);
  body = json_from_string (put->body, &error);
  g_assert_no_error (error);
  object = json_node_get_object (body);
  g_assert_cmpstr (charta_json_get_string (object, "status"), ==, "corrected");
  g_assert_cmpstr (charta_json_get_string (charta_json_get_object (object, "valueQuantity"),
                                           "unit"), ==, "kg");
  g_assert_cmpstr (charta_json_get_string (object, "id"), ==, "obs-1");
  g_assert_nonnull (put->provenance);
  provenance = json_from_string (put->provenance, &error);
  g_assert_no_error (error);
  prov = json_node_get_object (provenance);
  g_assert_cmpstr (charta_json_get_string (prov, "resourceType"), ==, "Provenance");
  g_assert_cmpstr (charta_json_get_string (charta_json_get_first (prov, "reason"), "text"), ==,
                   TYPED_REASON);
  g_assert_cmpstr (charta_json_get_string (charta_json_get_first (
                                             charta_json_get_object (prov, "activity"),
                                             "coding"), "code"), ==, "amend");
  g_assert_cmpstr (charta_json_get_string (charta_json_get_object (
                                             charta_json_get_first (prov, "agent"), "who"),
                                           "display"), ==, USER_NAME);
}

/* Save meets a slow server that does store the correction, after the client has given up:
 * the dialog says the save was not confirmed.  Save again, once the fake is quick, meets
 * the version the first Save made (412): the dialog says that it may be the user's own save,
 * not only someone else's, offers Reload and Reapply, and keeps what was typed. */
static void
test_correction_slow_but_stored (Fixture       *f,
                                 gconstpointer  data)
{
  const Case *c = data;
  GtkWidget *record;
  GtkWidget *dialog;
  const char *banner;

  g_assert_cmpint (c->mode, ==, MODE_SLOW);
  open_fake (f);
  record = open_record (f);
  press (need_id (record, "edit_button"));
  wait_for (dialog_shown, NULL, "the correction dialog");
  dialog = find_dialog ();
  type_into (dialog, "value_row", TYPED_VALUE);
  g_assert_true (gtk_widget_activate (need_id (dialog, "kind_correction")));
  type_into (dialog, "reason_row", TYPED_REASON);

  f->fake.slow_stores = TRUE;
  fake_set_mode (&f->fake, MODE_SLOW);
  press (need_id (dialog, "save_button"));
  wait_for (banner_shown, dialog, "the dialog to say the save was not confirmed");
  banner = label_text (dialog, "banner_label");
  assert_plain_words (c, &f->fake, banner);
  charta_test_assert_contains (banner, "not confirmed");
  g_assert_false (gtk_widget_get_visible (need_id (dialog, "reload_button")));
  assert_form_kept (dialog);
  /* The fake stores it late. */
  wait_for (fake_stored_one, &f->fake, "the slow fake to store the first save");

  fake_set_mode (&f->fake, MODE_NORMAL);
  press (need_id (dialog, "save_button"));
  wait_for (reload_offered, dialog, "the dialog to offer Reload and Reapply");
  banner = label_text (dialog, "banner_label");
  charta_test_assert_contains (banner, "your last save did arrive");
  charta_test_assert_contains (banner, "what you typed stays in the form");
  g_assert_cmpuint (f->fake.n_applied, ==, 1);
  g_assert_cmpstr (((Put *) g_ptr_array_index (f->fake.puts, f->fake.puts->len - 1))->if_match,
                   ==, "W/\"1\"");
  assert_form_kept (dialog);
  g_assert_true (find_dialog () == dialog);
}

/* The window asked to correct a record that then cannot be read: the record says why and no
 * dialog opens; opening the record again later, from the chart, only shows it (the old wish
 * to correct it does not come back as a dialog out of nowhere). */
static void
test_correction_unreadable (Fixture       *f,
                            gconstpointer  data)
{
  const Case *c = data;
  GtkWidget *chart;
  RecordWanted wanted = { need_id (f->window, "resource_view"), FALSE };

  open_fake (f);
  chart = open_chart (f);
  fake_set_mode (&f->fake, c->mode);
  charta_window_show_resource (CHARTA_WINDOW (f->window), "Observation/obs-1",
                               CHARTA_WINDOW_SHOW_CORRECTION);
  wait_for (record_done, &wanted, "the record to fail");
  assert_plain_words (c, &f->fake, status_text (wanted.view, "error_page"));
  g_assert_null (find_dialog ());

  fake_set_mode (&f->fake, MODE_NORMAL);
  g_assert_true (gtk_widget_activate_action (f->window, "win.back", NULL));
  g_assert_cmpstr (stack_page (f->window, "content_stack"), ==, "chart");
  activate_observation (chart);
  wanted.want_resource = TRUE;
  wait_for (record_done, &wanted, "the record");
  run_for (300);
  g_assert_null (find_dialog ());
}

int
main (int   argc,
      char *argv[])
{
  static const struct
  {
    const char *area;
    void (*func) (Fixture *, gconstpointer);
  } areas[] = {
    { "open", test_open },
    { "search", test_search },
    { "chart", test_chart },
    { "record", test_record },
    { "history", test_history },
    { "correction", test_correction },
  };
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  app = G_APPLICATION (charta_application_new ());
  g_application_set_flags (app, G_APPLICATION_HANDLES_COMMAND_LINE
                                | G_APPLICATION_NON_UNIQUE);
  g_application_register (app, NULL, &error);
  g_assert_no_error (error);
  /* The memory settings backend: nothing reaches the user's own settings. */
  g_assert_nonnull (charta_application_get_settings (CHARTA_APPLICATION (app)));
  g_settings_set_string (charta_application_get_settings (CHARTA_APPLICATION (app)),
                         "user-name", USER_NAME);

  for (size_t a = 0; a < G_N_ELEMENTS (areas); a++)
    for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autofree char *path = g_strdup_printf ("/charta/gui/bad-server/%s/%s", areas[a].area,
                                                 cases[i].name);

        g_test_add (path, Fixture, &cases[i], fixture_set_up, areas[a].func,
                    fixture_tear_down);
      }
  /* Down is all or nothing: no part of the fake can be down alone. */
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    if (cases[i].mode != MODE_DOWN)
      {
        g_autofree char *sections = g_strdup_printf ("/charta/gui/bad-server/chart-sections/%s",
                                                     cases[i].name);
        g_autofree char *provenance = g_strdup_printf ("/charta/gui/bad-server/"
                                                       "record-provenance/%s", cases[i].name);

        g_test_add (sections, Fixture, &cases[i], fixture_set_up, test_chart_sections,
                    fixture_tear_down);
        g_test_add (provenance, Fixture, &cases[i], fixture_set_up, test_record_provenance,
                    fixture_tear_down);
      }
  g_test_add ("/charta/gui/bad-server/search-enter-retries", Fixture, &cases[0],
              fixture_set_up, test_search_enter_retries, fixture_tear_down);
  g_test_add ("/charta/gui/bad-server/correction-slow-but-stored", Fixture, &cases[4],
              fixture_set_up, test_correction_slow_but_stored, fixture_tear_down);
  g_test_add ("/charta/gui/bad-server/correction-unreadable", Fixture, &cases[0],
              fixture_set_up, test_correction_unreadable, fixture_tear_down);

  status = g_test_run ();

  g_clear_object (&app);
  return status;
}
