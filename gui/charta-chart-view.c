/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-chart-view.c: a patient's chart, header and summary (see charta-chart-view.h).
 *
 * Reading a chart: GET Patient/ID first (the header, and proof that the patient exists), then
 * one search per summary section, all in flight together.  Every read of one chart shares one
 * GCancellable; opening another chart cancels it, and a callback whose read was cancelled
 * touches nothing.  Each callback holds a reference to the view until it has run.
 *
 * Rows are AdwActionRows with markup off: every text comes from the record and is shown as it
 * is.  Nothing is logged but ids.
 */
#define G_LOG_DOMAIN "charta-chart-view"

#include "charta-chart-view.h"
#include "charta-fhir-text.h"

/* How many rows a summary section reads; more are reported, not listed. */
#define SECTION_COUNT 100

typedef enum
{
  SECTION_PROBLEMS,
  SECTION_MEDICATIONS,
  SECTION_ALLERGIES,
  SECTION_IMMUNIZATIONS,
  N_SECTIONS
} SectionKind;

typedef struct
{
  const char *type;     /* the resource type searched, with patient=ID */
  const char *params;   /* the other parameters */
  const char *noun;     /* "active problems", for messages */
  char     *(*subtitle) (JsonObject *resource);
  const char *title_element;  /* the CodeableConcept the row's title comes from */
} SectionInfo;

static char *problem_subtitle     (JsonObject *resource);
static char *medication_subtitle  (JsonObject *resource);
static char *allergy_subtitle     (JsonObject *resource);
static char *immunization_subtitle (JsonObject *resource);

static const SectionInfo section_info[N_SECTIONS] = {
  [SECTION_PROBLEMS] = {
    "Condition", "clinical-status=active",
    "active problems", problem_subtitle, "code" },
  [SECTION_MEDICATIONS] = {
    "MedicationRequest", "status=active&_sort=-authoredon",
    "medications", medication_subtitle, "medicationCodeableConcept" },
  [SECTION_ALLERGIES] = {
    "AllergyIntolerance", "_sort=-date",
    "allergies", allergy_subtitle, "code" },
  [SECTION_IMMUNIZATIONS] = {
    "Immunization", "_sort=-date",
    "immunizations", immunization_subtitle, "vaccineCode" },
};

struct _ChartaChartView
{
  AdwBin parent_instance;

  ChartaClient *client;
  char *patient_id;
  char *title;
  GCancellable *cancellable;   /* the reads of the open chart */
  gboolean failed;             /* the Patient could not be read */
  unsigned n_pending;          /* reads of the open chart not yet returned */
  GPtrArray *identifiers;      /* JsonNode: the identifiers other than the MRN */

  GtkStack *stack;
  GtkSpinner *spinner;
  AdwStatusPage *error_page;
  AdwAvatar *avatar;
  GtkLabel *name_label;
  GtkLabel *details_label;
  GtkLabel *mrn_label;
  AdwPreferencesGroup *identifiers_group;
  GtkToggleButton *reveal_button;
  GtkListBox *identifiers_list;
  GtkListBox *lists[N_SECTIONS];
};

enum
{
  PROP_0,
  PROP_CLIENT,
  PROP_PATIENT_ID,
  PROP_TITLE,
  PROP_COMPLETE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ChartaChartView, charta_chart_view, ADW_TYPE_BIN)

/* ---- words for rows ----------------------------------------------------------------------- */

/* Appends @part to @text with a " · " between parts; takes @part. */
static void
add_part (GString *text,
          char    *part)
{
  if (part == NULL || *part == '\0')
    {
      g_free (part);
      return;
    }
  if (text->len > 0)
    g_string_append (text, " · ");
  g_string_append (text, part);
  g_free (part);
}

static char *
finish_parts (GString *text)
{
  if (text->len == 0)
    {
      g_string_free (text, TRUE);
      return NULL;
    }
  return g_string_free (text, FALSE);
}

/* The code of a status CodeableConcept (clinicalStatus, verificationStatus). */
static const char *
status_code (JsonObject *resource,
             const char *element)
{
  JsonObject *coding = charta_json_get_first (charta_json_get_object (resource, element),
                                              "coding");

  return charta_json_get_string (coding, "code");
}

static char *
problem_subtitle (JsonObject *resource)
{
  GString *text = g_string_new (NULL);
  g_autofree char *onset = charta_fhir_text_date (charta_json_get_string (resource,
                                                                          "onsetDateTime"));
  const char *verification = status_code (resource, "verificationStatus");

  if (onset == NULL)
    onset = charta_fhir_text_date (charta_json_get_string (charta_json_get_object (resource,
                                                                                   "onsetPeriod"),
                                                           "start"));
  if (onset != NULL)
    add_part (text, g_strdup_printf ("Since %s", onset));
  else if (charta_json_get_string (resource, "recordedDate") != NULL)
    {
      g_autofree char *recorded = charta_fhir_text_date (charta_json_get_string (resource,
                                                                                 "recordedDate"));

      add_part (text, g_strdup_printf ("Recorded %s", recorded != NULL ? recorded : "?"));
    }
  add_part (text, charta_fhir_text_code (verification));
  add_part (text, charta_fhir_text_concept (charta_json_get_object (resource, "severity")));
  return finish_parts (text);
}

static char *
medication_subtitle (JsonObject *resource)
{
  GString *text = g_string_new (NULL);
  JsonObject *dosage = charta_json_get_first (resource, "dosageInstruction");
  g_autofree char *authored = charta_fhir_text_date (charta_json_get_string (resource,
                                                                             "authoredOn"));
  const char *requester = charta_json_get_string (charta_json_get_object (resource, "requester"),
                                                  "display");

  add_part (text, g_strdup (charta_json_get_string (dosage, "text")));
  if (authored != NULL && requester != NULL)
    add_part (text, g_strdup_printf ("Prescribed %s by %s", authored, requester));
  else if (authored != NULL)
    add_part (text, g_strdup_printf ("Prescribed %s", authored));
  return finish_parts (text);
}

static char *
allergy_subtitle (JsonObject *resource)
{
  GString *text = g_string_new (NULL);
  const char *clinical = status_code (resource, "clinicalStatus");
  const char *criticality = charta_json_get_string (resource, "criticality");
  JsonArray *reactions = charta_json_get_array (resource, "reaction");

  if (clinical != NULL && g_strcmp0 (clinical, "active") != 0)
    add_part (text, charta_fhir_text_code (clinical));
  add_part (text, charta_fhir_text_code (status_code (resource, "verificationStatus")));
  if (g_strcmp0 (criticality, "unable-to-assess") == 0)
    add_part (text, g_strdup ("Criticality not assessed"));
  else if (criticality != NULL)
    add_part (text, g_strdup_printf ("%s criticality", criticality[0] == 'h' ? "High" : "Low"));

  for (unsigned i = 0; reactions != NULL && i < json_array_get_length (reactions); i++)
    {
      JsonNode *node = json_array_get_element (reactions, i);
      JsonObject *reaction = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      g_autofree char *manifestation =
        charta_fhir_text_concept (charta_json_get_first (reaction, "manifestation"));
      const char *severity = charta_json_get_string (reaction, "severity");

      if (manifestation == NULL)
        continue;
      if (severity != NULL)
        add_part (text, g_strdup_printf ("Reaction: %s, %s", manifestation, severity));
      else
        add_part (text, g_strdup_printf ("Reaction: %s", manifestation));
    }
  return finish_parts (text);
}

static char *
immunization_subtitle (JsonObject *resource)
{
  GString *text = g_string_new (NULL);
  g_autofree char *date = charta_fhir_text_date (charta_json_get_string (resource,
                                                                         "occurrenceDateTime"));
  const char *status = charta_json_get_string (resource, "status");
  const char *lot = charta_json_get_string (resource, "lotNumber");

  add_part (text, g_strdup (date != NULL ? date : charta_json_get_string (resource,
                                                                          "occurrenceString")));
  if (status != NULL && g_strcmp0 (status, "completed") != 0)
    add_part (text, charta_fhir_text_code (status));
  if (lot != NULL)
    add_part (text, g_strdup_printf ("Lot %s", lot));
  return finish_parts (text);
}

/* ---- rows --------------------------------------------------------------------------------- */

static GtkWidget *
new_row (const char *title,
         const char *subtitle)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  return row;
}

static void
clear_list (GtkListBox *list)
{
  GtkListBoxRow *row;

  while ((row = gtk_list_box_get_row_at_index (list, 0)) != NULL)
    gtk_list_box_remove (list, GTK_WIDGET (row));
}

static void
show_loading_row (GtkListBox *list)
{
  GtkWidget *row = new_row ("Loading…", NULL);
  GtkWidget *spinner = gtk_spinner_new ();

  gtk_spinner_start (GTK_SPINNER (spinner));
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), spinner);
  gtk_widget_add_css_class (row, "dim-label");
  gtk_list_box_append (list, row);
}

/* The row of one entry of a summary search. */
static GtkWidget *
resource_row (SectionKind  kind,
              JsonObject  *resource)
{
  const SectionInfo *info = &section_info[kind];
  g_autofree char *title = charta_fhir_text_concept (charta_json_get_object (resource,
                                                                             info->title_element));
  g_autofree char *subtitle = info->subtitle (resource);

  if (title == NULL && kind == SECTION_MEDICATIONS)
    title = g_strdup (charta_json_get_string (charta_json_get_object (resource,
                                                                      "medicationReference"),
                                              "display"));
  if (title == NULL)
    title = g_strdup ("(no name recorded)");
  return new_row (title, subtitle);
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct
{
  ChartaChartView *self;
  GCancellable *cancellable;   /* the chart's, when the read began */
  SectionKind kind;
} SectionRead;

static void
section_read_free (SectionRead *read)
{
  g_object_unref (read->self);
  g_object_unref (read->cancellable);
  g_free (read);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SectionRead, section_read_free)

static void
read_done (ChartaChartView *self)
{
  g_assert (self->n_pending > 0);
  self->n_pending--;
  if (self->n_pending == 0)
    {
      g_debug ("chart of Patient/%s complete", self->patient_id);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPLETE]);
    }
}

static void
section_error_row (ChartaChartView *self,
                   SectionKind      kind,
                   const char      *message);

static void start_section (ChartaChartView *self,
                           SectionKind      kind);

static void
section_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(SectionRead) read = user_data;
  ChartaChartView *self = read->self;
  g_autoptr(JsonNode) bundle = NULL;
  g_autoptr(GError) error = NULL;
  GtkListBox *list = self->lists[read->kind];
  JsonArray *entries;
  JsonArray *links;
  unsigned n = 0;

  bundle = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  read_done (self);
  clear_list (list);
  if (bundle == NULL)
    {
      section_error_row (self, read->kind, error->message);
      return;
    }

  entries = charta_json_get_array (json_node_get_object (bundle), "entry");
  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonObject *resource = charta_json_get_object (entry, "resource");
      const char *mode = charta_json_get_string (charta_json_get_object (entry, "search"),
                                                 "mode");

      if (resource == NULL || (mode != NULL && g_strcmp0 (mode, "match") != 0))
        continue;
      gtk_list_box_append (list, resource_row (read->kind, resource));
      n++;
    }

  links = charta_json_get_array (json_node_get_object (bundle), "link");
  for (unsigned i = 0; links != NULL && i < json_array_get_length (links); i++)
    {
      JsonNode *node = json_array_get_element (links, i);

      if (JSON_NODE_HOLDS_OBJECT (node)
          && g_strcmp0 (charta_json_get_string (json_node_get_object (node), "relation"),
                        "next") == 0)
        {
          g_autofree char *title = g_strdup_printf ("Only the first %u %s are listed", n,
                                                    section_info[read->kind].noun);
          GtkWidget *row = new_row (title, NULL);

          gtk_widget_add_css_class (row, "dim-label");
          gtk_list_box_append (list, row);
          break;
        }
    }
}

static void
section_retry_clicked (GtkButton       *button,
                       ChartaChartView *self)
{
  SectionKind kind = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (button), "section"));

  start_section (self, kind);
}

static void
section_error_row (ChartaChartView *self,
                   SectionKind      kind,
                   const char      *message)
{
  g_autofree char *title = g_strdup_printf ("Could not read the %s", section_info[kind].noun);
  GtkWidget *row = new_row (title, message);
  GtkWidget *icon = gtk_image_new_from_icon_name ("dialog-warning-symbolic");
  GtkWidget *retry = gtk_button_new_with_label ("Try Again");

  gtk_widget_add_css_class (icon, "warning");
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
  gtk_widget_set_valign (retry, GTK_ALIGN_CENTER);
  g_object_set_data (G_OBJECT (retry), "section", GUINT_TO_POINTER (kind));
  g_signal_connect (retry, "clicked", G_CALLBACK (section_retry_clicked), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), retry);
  gtk_list_box_append (self->lists[kind], row);
}

static void
start_section (ChartaChartView *self,
               SectionKind      kind)
{
  g_autofree char *id = g_uri_escape_string (self->patient_id, NULL, FALSE);
  g_autofree char *path = NULL;
  SectionRead *read = g_new0 (SectionRead, 1);

  read->self = g_object_ref (self);
  read->cancellable = g_object_ref (self->cancellable);
  read->kind = kind;
  path = g_strdup_printf ("%s?patient=%s&%s&_count=%u", section_info[kind].type, id,
                          section_info[kind].params, SECTION_COUNT);
  clear_list (self->lists[kind]);
  show_loading_row (self->lists[kind]);
  self->n_pending++;
  charta_client_get_async (self->client, path, self->cancellable, section_read, read);
}

/* ---- the header --------------------------------------------------------------------------- */

static void
update_identifiers (ChartaChartView *self)
{
  gboolean revealed = gtk_toggle_button_get_active (self->reveal_button);

  clear_list (self->identifiers_list);
  for (unsigned i = 0; i < self->identifiers->len; i++)
    {
      JsonObject *identifier = json_node_get_object (g_ptr_array_index (self->identifiers, i));
      g_autofree char *kind = charta_fhir_text_identifier_kind (identifier);
      const char *value = charta_json_get_string (identifier, "value");
      GtkWidget *row = new_row (kind, revealed ? value : "••••••••");

      if (!revealed)
        gtk_widget_add_css_class (row, "masked");
      gtk_list_box_append (self->identifiers_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->identifiers_group), self->identifiers->len > 0);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->reveal_button),
                               revealed ? "Mask Identifiers" : "Reveal Identifiers");
  gtk_button_set_icon_name (GTK_BUTTON (self->reveal_button),
                            revealed ? "view-conceal-symbolic" : "view-reveal-symbolic");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->reveal_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  revealed ? "Mask other identifiers"
                                           : "Reveal other identifiers", -1);
}

static void
reveal_toggled (ChartaChartView *self)
{
  update_identifiers (self);
}

static void
fill_header (ChartaChartView *self,
             JsonObject      *patient)
{
  g_autofree char *name = charta_fhir_text_patient_name (patient, FALSE);
  const char *birth_date = charta_json_get_string (patient, "birthDate");
  const char *sex = charta_fhir_text_gender (charta_json_get_string (patient, "gender"));
  JsonObject *mrn = charta_fhir_find_mrn (patient);
  JsonArray *identifiers = charta_json_get_array (patient, "identifier");
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *today = g_date_time_format (now, "%Y-%m-%d");
  g_autoptr(GString) details = g_string_new (NULL);
  g_autofree char *mrn_text = NULL;
  gboolean deceased = FALSE;
  JsonNode *deceased_node = json_object_get_member (patient, "deceasedBoolean");
  const char *deceased_date = charta_json_get_string (patient, "deceasedDateTime");

  if (deceased_node != NULL && JSON_NODE_HOLDS_VALUE (deceased_node)
      && json_node_get_value_type (deceased_node) == G_TYPE_BOOLEAN)
    deceased = json_node_get_boolean (deceased_node);
  deceased = deceased || deceased_date != NULL;

  g_free (self->title);
  self->title = name != NULL ? g_strdup (name) : g_strdup ("Unnamed patient");
  gtk_label_set_text (self->name_label, self->title);
  adw_avatar_set_text (self->avatar, self->title);

  if (birth_date != NULL)
    {
      int age = charta_fhir_age (birth_date, today);

      if (age >= 0 && !deceased)
        g_string_append_printf (details, "Born %s (age %d)", birth_date, age);
      else
        g_string_append_printf (details, "Born %s", birth_date);
    }
  else
    g_string_append (details, "Birth date unknown");
  if (sex != NULL)
    g_string_append_printf (details, " · %s", sex);
  if (deceased)
    {
      g_autofree char *date = charta_fhir_text_date (deceased_date);

      g_string_append_printf (details, " · Died%s%s", date != NULL ? " " : "",
                              date != NULL ? date : "");
    }
  gtk_label_set_text (self->details_label, details->str);

  if (mrn != NULL)
    mrn_text = g_strdup_printf ("MRN %s", charta_json_get_string (mrn, "value"));
  gtk_label_set_text (self->mrn_label, mrn_text != NULL ? mrn_text : "No MRN recorded");

  g_ptr_array_set_size (self->identifiers, 0);
  for (unsigned i = 0; identifiers != NULL && i < json_array_get_length (identifiers); i++)
    {
      JsonNode *node = json_array_get_element (identifiers, i);

      if (!JSON_NODE_HOLDS_OBJECT (node) || json_node_get_object (node) == mrn
          || charta_json_get_string (json_node_get_object (node), "value") == NULL)
        continue;
      g_ptr_array_add (self->identifiers, json_node_ref (node));
    }
  gtk_toggle_button_set_active (self->reveal_button, FALSE);
  update_identifiers (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

typedef struct
{
  ChartaChartView *self;
  GCancellable *cancellable;
} PatientRead;

static void
patient_read_free (PatientRead *read)
{
  g_object_unref (read->self);
  g_object_unref (read->cancellable);
  g_free (read);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PatientRead, patient_read_free)

static void
patient_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(PatientRead) read = user_data;
  ChartaChartView *self = read->self;
  g_autoptr(JsonNode) patient = NULL;
  g_autoptr(GError) error = NULL;

  patient = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  gtk_spinner_stop (self->spinner);
  if (patient != NULL
      && g_strcmp0 (charta_json_get_string (json_node_get_object (patient), "resourceType"),
                    "Patient") != 0)
    {
      g_clear_pointer (&patient, json_node_unref);
      g_set_error (&error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED,
                   "The server answered with something other than a Patient");
    }
  if (patient == NULL)
    {
      self->failed = TRUE;
      adw_status_page_set_description (self->error_page, error->message);
      gtk_stack_set_visible_child_name (self->stack, "error");
      read_done (self);
      return;
    }

  fill_header (self, json_node_get_object (patient));
  for (SectionKind kind = 0; kind < N_SECTIONS; kind++)
    start_section (self, kind);
  gtk_stack_set_visible_child_name (self->stack, "chart");
  read_done (self);
}

static void
cancel_reads (ChartaChartView *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->n_pending = 0;
}

static void
load_patient (ChartaChartView *self)
{
  g_autofree char *id = NULL;
  g_autofree char *path = NULL;
  PatientRead *read;

  cancel_reads (self);
  self->failed = FALSE;
  g_clear_pointer (&self->title, g_free);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
  if (self->patient_id == NULL || self->client == NULL)
    {
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }

  g_debug ("opening the chart of Patient/%s", self->patient_id);
  self->cancellable = g_cancellable_new ();
  id = g_uri_escape_string (self->patient_id, NULL, FALSE);
  path = g_strdup_printf ("Patient/%s", id);
  read = g_new0 (PatientRead, 1);
  read->self = g_object_ref (self);
  read->cancellable = g_object_ref (self->cancellable);
  self->n_pending = 1;
  gtk_spinner_start (self->spinner);
  gtk_stack_set_visible_child_name (self->stack, "loading");
  charta_client_get_async (self->client, path, self->cancellable, patient_read, read);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPLETE]);
}

static void
retry_clicked (ChartaChartView *self)
{
  load_patient (self);
}

/* ---- the object --------------------------------------------------------------------------- */

static void
charta_chart_view_dispose (GObject *object)
{
  ChartaChartView *self = CHARTA_CHART_VIEW (object);

  cancel_reads (self);
  g_clear_object (&self->client);

  G_OBJECT_CLASS (charta_chart_view_parent_class)->dispose (object);
}

static void
charta_chart_view_finalize (GObject *object)
{
  ChartaChartView *self = CHARTA_CHART_VIEW (object);

  g_free (self->patient_id);
  g_free (self->title);
  g_ptr_array_unref (self->identifiers);

  G_OBJECT_CLASS (charta_chart_view_parent_class)->finalize (object);
}

static void
charta_chart_view_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  ChartaChartView *self = CHARTA_CHART_VIEW (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    case PROP_PATIENT_ID:
      g_value_set_string (value, self->patient_id);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_COMPLETE:
      g_value_set_boolean (value, charta_chart_view_is_complete (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_chart_view_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  ChartaChartView *self = CHARTA_CHART_VIEW (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      charta_chart_view_set_client (self, g_value_get_object (value));
      break;
    case PROP_PATIENT_ID:
      charta_chart_view_show_patient (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_chart_view_class_init (ChartaChartViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = charta_chart_view_dispose;
  object_class->finalize = charta_chart_view_finalize;
  object_class->get_property = charta_chart_view_get_property;
  object_class->set_property = charta_chart_view_set_property;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, CHARTA_TYPE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PATIENT_ID] =
    g_param_spec_string ("patient-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_COMPLETE] =
    g_param_spec_boolean ("complete", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/charta/Desktop/charta-chart-view.ui");
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, stack);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, spinner);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, error_page);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, avatar);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, name_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, details_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, mrn_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, identifiers_group);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, reveal_button);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, identifiers_list);
  gtk_widget_class_bind_template_child_full (widget_class, "problems_list", FALSE,
                                             G_STRUCT_OFFSET (ChartaChartView,
                                                              lists[SECTION_PROBLEMS]));
  gtk_widget_class_bind_template_child_full (widget_class, "medications_list", FALSE,
                                             G_STRUCT_OFFSET (ChartaChartView,
                                                              lists[SECTION_MEDICATIONS]));
  gtk_widget_class_bind_template_child_full (widget_class, "allergies_list", FALSE,
                                             G_STRUCT_OFFSET (ChartaChartView,
                                                              lists[SECTION_ALLERGIES]));
  gtk_widget_class_bind_template_child_full (widget_class, "immunizations_list", FALSE,
                                             G_STRUCT_OFFSET (ChartaChartView,
                                                              lists[SECTION_IMMUNIZATIONS]));
  gtk_widget_class_bind_template_callback (widget_class, retry_clicked);
  gtk_widget_class_bind_template_callback (widget_class, reveal_toggled);
}

static void
charta_chart_view_init (ChartaChartView *self)
{
  self->identifiers = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
charta_chart_view_new (void)
{
  return g_object_new (CHARTA_TYPE_CHART_VIEW, NULL);
}

ChartaClient *
charta_chart_view_get_client (ChartaChartView *self)
{
  g_return_val_if_fail (CHARTA_IS_CHART_VIEW (self), NULL);

  return self->client;
}

void
charta_chart_view_set_client (ChartaChartView *self,
                              ChartaClient    *client)
{
  g_return_if_fail (CHARTA_IS_CHART_VIEW (self));
  g_return_if_fail (client == NULL || CHARTA_IS_CLIENT (client));

  if (!g_set_object (&self->client, client))
    return;
  g_clear_pointer (&self->patient_id, g_free);
  load_patient (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PATIENT_ID]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
}

void
charta_chart_view_show_patient (ChartaChartView *self,
                                const char      *patient_id)
{
  g_return_if_fail (CHARTA_IS_CHART_VIEW (self));

  if (g_strcmp0 (self->patient_id, patient_id) == 0 && !self->failed)
    return;
  g_free (self->patient_id);
  self->patient_id = g_strdup (patient_id);
  load_patient (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PATIENT_ID]);
}

const char *
charta_chart_view_get_patient_id (ChartaChartView *self)
{
  g_return_val_if_fail (CHARTA_IS_CHART_VIEW (self), NULL);

  return self->patient_id;
}

const char *
charta_chart_view_get_title (ChartaChartView *self)
{
  g_return_val_if_fail (CHARTA_IS_CHART_VIEW (self), NULL);

  return self->title;
}

gboolean
charta_chart_view_is_complete (ChartaChartView *self)
{
  g_return_val_if_fail (CHARTA_IS_CHART_VIEW (self), FALSE);

  return self->patient_id != NULL && self->cancellable != NULL && self->n_pending == 0;
}
