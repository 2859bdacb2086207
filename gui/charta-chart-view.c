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
 * is; the observations are a table of rows with four columns (date, what, value, status) kept
 * aligned by one GtkSizeGroup per column, the column headings' included.  Every row that shows
 * a resource is activatable and carries its reference ("Observation/obs-1", the row's
 * "charta-reference" data), which "resource-activated" hands on.
 *
 * Entered-in-error records stay listed: the problems and medications sections, whose searches
 * ask for active ones only, run a second search for the entered-in-error ones and list them
 * after.  Such a row is struck through (CSS class "entered-in-error"), says so in words, and
 * gets the reason from the Provenance of its current version, read afterwards (so a slow
 * Provenance search never holds up the chart).  Nothing is logged but ids.
 */
#define G_LOG_DOMAIN "charta-chart-view"

#include <string.h>

#include "charta-chart-view.h"
#include "charta-chart-at.h"
#include "charta-observation-plot.h"
#include "charta-fhir-text.h"

/* How many rows a summary section reads; more are reported, not listed. */
#define SECTION_COUNT 100
/* How many of the most recent observations the table lists. */
#define OBSERVATION_COUNT 20
#define TIMELINE_COUNT 50      /* encounters and documents listed */
#define TREND_COUNT 500        /* the most recent vital signs and results that the plots draw */
#define TREND_PLOTS 8          /* the most plots shown: the codes with the most values */
#define TREND_PARAMS "category=vital-signs,laboratory&_sort=-date"

typedef enum
{
  SECTION_PROBLEMS,
  SECTION_MEDICATIONS,
  SECTION_ALLERGIES,
  SECTION_IMMUNIZATIONS,
  SECTION_OBSERVATIONS,
  SECTION_ENCOUNTERS,
  SECTION_DOCUMENTS,
  N_SECTIONS
} SectionKind;

typedef struct
{
  const char *type;     /* the resource type searched, with patient=ID */
  const char *params;   /* the other parameters */
  const char *in_error_params;  /* a second search for entered-in-error ones, which @params
                                 * leaves out; NULL when @params keeps them */
  unsigned count;       /* _count */
  const char *noun;     /* "active problems", for messages */
  char     *(*subtitle) (JsonObject *resource);
  const char *title_element;  /* the CodeableConcept the row's title comes from */
  /* For the chart as it was (charta-chart-at.h): @params and @in_error_params on the client,
   * and the date element that _sort orders by. */
  ChartaChartAtFilter keep;
  ChartaChartAtFilter keep_in_error;
  const char *sort_date;
} SectionInfo;

static char *problem_subtitle     (JsonObject *resource);
static char *medication_subtitle  (JsonObject *resource);
static char *allergy_subtitle     (JsonObject *resource);
static char *immunization_subtitle (JsonObject *resource);
static char *encounter_subtitle    (JsonObject *resource);
static char *document_subtitle     (JsonObject *resource);

static const SectionInfo section_info[N_SECTIONS] = {
  [SECTION_PROBLEMS] = {
    "Condition", "clinical-status=active", "verification-status=entered-in-error", SECTION_COUNT,
    "active problems", problem_subtitle, "code",
    charta_chart_at_is_clinically_active, charta_fhir_is_entered_in_error, NULL },
  [SECTION_MEDICATIONS] = {
    "MedicationRequest", "status=active&_sort=-authoredon", "status=entered-in-error",
    SECTION_COUNT, "medications", medication_subtitle, "medicationCodeableConcept",
    charta_chart_at_is_status_active, charta_fhir_is_entered_in_error, "-authoredOn" },
  [SECTION_ALLERGIES] = {
    "AllergyIntolerance", "_sort=-date", NULL, SECTION_COUNT,
    "allergies", allergy_subtitle, "code", NULL, NULL, "-recordedDate" },
  [SECTION_IMMUNIZATIONS] = {
    "Immunization", "_sort=-date", NULL, SECTION_COUNT,
    "immunizations", immunization_subtitle, "vaccineCode", NULL, NULL, "-occurrence" },
  [SECTION_OBSERVATIONS] = {
    "Observation", "_sort=-date", NULL, OBSERVATION_COUNT,
    "observations", NULL, "code", NULL, NULL, "-effective" },
  [SECTION_ENCOUNTERS] = {
    "Encounter", "_sort=-date", NULL, TIMELINE_COUNT,
    "encounters", encounter_subtitle, "type", NULL, NULL, "-period" },
  [SECTION_DOCUMENTS] = {
    "DocumentReference", "_sort=-date", NULL, TIMELINE_COUNT,
    "documents", document_subtitle, "type", NULL, NULL, "-date" },
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
  GtkSizeGroup *columns[4];    /* the observation table's: date, what, value, status */
  GtkWidget *headings[4];      /* its column headings */
  GtkStack *pages;             /* summary, encounters, observations, documents */
  GtkFlowBox *trends_box;      /* the plots */
  GtkLabel *trends_status;     /* what the plots leave out, or why there are none */
  GDateTime *at;               /* the chart as it was then; NULL: as it is now */
  gboolean gone_at;            /* the Patient did not exist (or was deleted) at @at */
  char *patient_version;       /* the versionId of the Patient shown */
  GtkButton *retry_button;
  GtkWidget *as_of_bar;
  GtkLabel *as_of_label;
  GtkPopover *as_of_popover;
  GtkCalendar *as_of_calendar;
  GtkEntry *as_of_time;
  GtkLabel *as_of_error;
  GtkWidget *as_of_show;
};

enum
{
  RESOURCE_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum
{
  PROP_0,
  PROP_CLIENT,
  PROP_PATIENT_ID,
  PROP_TITLE,
  PROP_COMPLETE,
  PROP_AT,
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

/* An Encounter's period in words: "2019-03-12 09:00 – 09:30" (same day), "2019-03-12 –
 * 2019-03-15", or its start alone. */
static char *
period_text (JsonObject *period)
{
  const char *start = charta_json_get_string (period, "start");
  const char *end = charta_json_get_string (period, "end");
  g_autofree char *start_text = charta_fhir_text_datetime (start);
  g_autofree char *end_text = charta_fhir_text_datetime (end);

  if (start_text == NULL)
    return g_steal_pointer (&end_text);
  if (end_text == NULL || g_strcmp0 (start_text, end_text) == 0)
    return g_steal_pointer (&start_text);
  /* The same day: the end's time only. */
  if (strlen (start_text) > 10 && strlen (end_text) > 10 && strncmp (start_text, end_text, 10) == 0)
    return g_strdup_printf ("%s – %s", start_text, end_text + 11);
  return g_strdup_printf ("%s – %s", start_text, end_text);
}

static char *
encounter_subtitle (JsonObject *resource)
{
  GString *text = g_string_new (NULL);
  JsonObject *class = charta_json_get_object (resource, "class");
  const char *status = charta_json_get_string (resource, "status");
  const char *class_text = charta_json_get_string (class, "display");

  add_part (text, period_text (charta_json_get_object (resource, "period")));
  if (class_text == NULL)
    class_text = charta_json_get_string (class, "code");
  if (class_text != NULL)
    add_part (text, charta_fhir_text_code (class_text));
  if (status != NULL && g_strcmp0 (status, "finished") != 0)
    add_part (text, charta_fhir_text_code (status));
  add_part (text, charta_fhir_text_concept (charta_json_get_first (resource, "reasonCode")));
  add_part (text, charta_fhir_text_reference (charta_json_get_object (resource,
                                                                      "serviceProvider")));
  return finish_parts (text);
}

/* A size in words: "2.4 MB". */
static char *
attachment_text (JsonObject *attachment)
{
  const char *type = charta_json_get_string (attachment, "contentType");
  JsonNode *size = attachment != NULL ? json_object_get_member (attachment, "size") : NULL;
  g_autofree char *size_text = NULL;

  if (size != NULL && JSON_NODE_HOLDS_VALUE (size)
      && json_node_get_value_type (size) == G_TYPE_INT64)
    size_text = g_format_size ((guint64) MAX (json_node_get_int (size), 0));
  if (type == NULL)
    return g_steal_pointer (&size_text);
  if (g_str_has_prefix (type, "application/pdf"))
    type = "PDF";
  else if (g_str_has_prefix (type, "text/plain"))
    type = "Text";
  else if (g_str_has_prefix (type, "image/"))
    type = "Image";
  if (size_text == NULL)
    return g_strdup (type);
  return g_strdup_printf ("%s, %s", type, size_text);
}

static char *
document_subtitle (JsonObject *resource)
{
  GString *text = g_string_new (NULL);
  const char *doc_status = charta_json_get_string (resource, "docStatus");
  const char *status = charta_json_get_string (resource, "status");
  JsonObject *content = charta_json_get_first (resource, "content");
  JsonArray *relations = charta_json_get_array (resource, "relatesTo");

  add_part (text, charta_fhir_text_datetime (charta_json_get_string (resource, "date")));
  /* An addendum says so (it opens in the document view, which links to what it appends). */
  for (unsigned i = 0; relations != NULL && i < json_array_get_length (relations); i++)
    {
      JsonNode *node = json_array_get_element (relations, i);

      if (JSON_NODE_HOLDS_OBJECT (node)
          && g_strcmp0 (charta_json_get_string (json_node_get_object (node), "code"),
                        "appends") == 0)
        {
          add_part (text, g_strdup ("Addendum"));
          break;
        }
    }
  if (doc_status != NULL && g_strcmp0 (doc_status, "final") != 0)
    add_part (text, charta_fhir_text_code (doc_status));
  if (status != NULL && g_strcmp0 (status, "current") != 0)
    add_part (text, charta_fhir_text_code (status));
  add_part (text, charta_fhir_text_reference (charta_json_get_first (resource, "author")));
  add_part (text, attachment_text (charta_json_get_object (content, "attachment")));
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
  /* A line for the title, two for the subtitle, the rest ellipsized (and in the tooltip, and
   * in the record the row opens): rows that wrap freely are measured again for every width
   * offered, which made a long chart slow to lay out. */
  adw_action_row_set_title_lines (ADW_ACTION_ROW (row), 1);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);
  if (subtitle != NULL)
    {
      g_autofree char *tooltip = g_strdup_printf ("%s\n%s", title, subtitle);

      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_widget_set_tooltip_text (row, tooltip);
    }
  else
    gtk_widget_set_tooltip_text (row, title);
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

/* Makes @row open @resource when activated: its reference as the row's data, and a chevron. */
static void
make_activatable (GtkWidget  *row,
                  JsonObject *resource)
{
  const char *type = charta_json_get_string (resource, "resourceType");
  const char *id = charta_json_get_string (resource, "id");

  if (type == NULL || id == NULL)
    return;
  g_object_set_data_full (G_OBJECT (row), "charta-reference",
                          g_strdup_printf ("%s/%s", type, id), g_free);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  if (ADW_IS_ACTION_ROW (row))
    adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                               gtk_image_new_from_icon_name ("go-next-symbolic"));
}

/* A label of the observation table, in the size group of its column. */
static GtkWidget *
cell_label (ChartaChartView *self,
            unsigned         column,
            const char      *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  /* Only the observation's name, the one long text, wraps: a wrapping label is measured for
   * every width its row is offered, and a table of them made the chart slow to lay out. */
  if (column == 1)
    {
      gtk_label_set_wrap (GTK_LABEL (label), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
    }
  gtk_widget_add_css_class (label, "cell");
  gtk_size_group_add_widget (self->columns[column], label);
  return label;
}

/* One row of the observation table: date, what, value with unit, status; and, for an entered-
 * in-error one, a line for its reason (the row's "reason-label"). */
static GtkWidget *
observation_row (ChartaChartView *self,
                 JsonObject      *resource)
{
  const char *effective = charta_json_get_string (resource, "effectiveDateTime");
  g_autofree char *date = NULL;
  g_autofree char *what = charta_fhir_text_concept (charta_json_get_object (resource, "code"));
  g_autofree char *value = charta_fhir_text_value (resource);
  g_autofree char *status = charta_fhir_text_code (charta_json_get_string (resource, "status"));
  g_autofree char *accessible = NULL;
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *line = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *reason = gtk_label_new (NULL);
  GtkWidget *what_label;
  GtkWidget *status_label;

  if (effective == NULL)
    effective = charta_json_get_string (charta_json_get_object (resource, "effectivePeriod"),
                                        "start");
  if (effective == NULL)
    effective = charta_json_get_string (resource, "issued");
  date = charta_fhir_text_date (effective);
  if (what == NULL)
    what = g_strdup ("(no name recorded)");

  gtk_box_append (GTK_BOX (line), cell_label (self, 0, date != NULL ? date : "—"));
  what_label = cell_label (self, 1, what);
  gtk_widget_set_hexpand (what_label, TRUE);
  gtk_box_append (GTK_BOX (line), what_label);
  gtk_box_append (GTK_BOX (line), cell_label (self, 2, value != NULL ? value : "—"));
  /* The status says why a row is struck through: it is not struck itself. */
  status_label = cell_label (self, 3, status != NULL ? status : "—");
  gtk_widget_add_css_class (status_label, "status");
  gtk_box_append (GTK_BOX (line), status_label);
  gtk_box_append (GTK_BOX (line), gtk_image_new_from_icon_name ("go-next-symbolic"));
  gtk_box_append (GTK_BOX (box), line);

  gtk_label_set_xalign (GTK_LABEL (reason), 0);
  gtk_label_set_wrap (GTK_LABEL (reason), TRUE);
  gtk_widget_add_css_class (reason, "caption");
  gtk_widget_add_css_class (reason, "dim-label");
  gtk_widget_set_visible (reason, FALSE);
  gtk_box_append (GTK_BOX (box), reason);
  g_object_set_data (G_OBJECT (row), "reason-label", reason);

  gtk_widget_add_css_class (box, "table-row");
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  accessible = g_strdup_printf ("%s, %s, %s, %s", date != NULL ? date : "no date", what,
                                value != NULL ? value : "no value",
                                status != NULL ? status : "no status");
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  accessible, -1);
  return row;
}

/* The row of one entry of a summary search. */
static GtkWidget *
resource_row (ChartaChartView *self,
              SectionKind      kind,
              JsonObject      *resource)
{
  const SectionInfo *info = &section_info[kind];
  g_autofree char *title = NULL;
  g_autofree char *subtitle = NULL;
  GtkWidget *row;

  if (kind == SECTION_OBSERVATIONS)
    row = observation_row (self, resource);
  else
    {
      JsonObject *concept = charta_json_get_object (resource, info->title_element);

      /* Encounter.type and DocumentReference.type: the first of a list, or one concept. */
      if (concept == NULL)
        concept = charta_json_get_first (resource, info->title_element);
      title = charta_fhir_text_concept (concept);
      subtitle = info->subtitle (resource);
      if (title == NULL && kind == SECTION_DOCUMENTS)
        title = g_strdup (charta_json_get_string (resource, "description"));
      if (title == NULL && kind == SECTION_ENCOUNTERS)
        title = g_strdup ("Encounter");
      if (title == NULL && kind == SECTION_MEDICATIONS)
        title = g_strdup (charta_json_get_string (charta_json_get_object (resource,
                                                                          "medicationReference"),
                                                  "display"));
      if (title == NULL)
        title = g_strdup ("(no name recorded)");
      row = new_row (title, subtitle);
    }
  if (kind == SECTION_ENCOUNTERS)
    {
      const char *start = charta_json_get_string (charta_json_get_object (resource, "period"),
                                                  "start");

      /* The timeline's year headings: see timeline_header(). */
      if (start != NULL && strlen (start) >= 4 && g_ascii_isdigit (start[0]))
        g_object_set_data_full (G_OBJECT (row), "charta-year", g_strndup (start, 4), g_free);
    }
  make_activatable (row, resource);
  if (self->at != NULL)
    {
      const char *version_id = charta_json_get_string (charta_json_get_object (resource, "meta"),
                                                       "versionId");

      /* The chart as it was: the row opens the version it shows. */
      if (version_id != NULL && g_object_get_data (G_OBJECT (row), "charta-reference") != NULL)
        g_object_set_data_full (G_OBJECT (row), "charta-reference",
                                g_strdup_printf ("%s/%s/_history/%s",
                                                 charta_json_get_string (resource,
                                                                         "resourceType"),
                                                 charta_json_get_string (resource, "id"),
                                                 version_id), g_free);
    }
  return row;
}

/* Says on @row why its record was entered in error (@reason; NULL: not known). */
static void
set_row_reason (GtkWidget  *row,
                const char *reason)
{
  g_autofree char *text = reason != NULL ? g_strdup_printf ("Entered in error: %s", reason)
                                         : g_strdup ("Entered in error");
  GtkWidget *label = g_object_get_data (G_OBJECT (row), "reason-label");

  if (ADW_IS_ACTION_ROW (row))
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), text);
  else if (label != NULL)
    {
      gtk_label_set_text (GTK_LABEL (label), text);
      gtk_widget_set_visible (label, TRUE);
    }
  gtk_widget_set_tooltip_text (row, text);
}

/* ---- entered in error --------------------------------------------------------------------- */

typedef struct
{
  ChartaChartView *self;
  GCancellable *cancellable;   /* the chart's, when the read began */
  GtkWidget *row;
  char *type;
  char *id;
  char *version_id;
} ReasonRead;

static void
reason_read_free (ReasonRead *read)
{
  g_object_unref (read->self);
  g_object_unref (read->cancellable);
  g_object_unref (read->row);
  g_free (read->type);
  g_free (read->id);
  g_free (read->version_id);
  g_free (read);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReasonRead, reason_read_free)

static void
reason_read (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(ReasonRead) read = user_data;
  g_autoptr(JsonNode) bundle = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *entries;

  bundle = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  if (bundle == NULL)
    {
      g_debug ("no Provenance for %s/%s: %s", read->type, read->id, error->message);
      return;
    }
  entries = charta_json_get_array (json_node_get_object (bundle), "entry");
  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonObject *provenance = JSON_NODE_HOLDS_OBJECT (node)
                                 ? charta_json_get_object (json_node_get_object (node),
                                                           "resource")
                                 : NULL;
      g_autofree char *reason = NULL;

      if (provenance == NULL
          || !charta_fhir_provenance_targets (provenance, read->type, read->id,
                                              read->version_id))
        continue;
      reason = charta_fhir_text_provenance_reason (provenance);
      if (reason != NULL)
        set_row_reason (read->row, reason);
      return;
    }
}

/* Strikes @row through and reads why its record (@resource) was entered in error. */
static void
mark_entered_in_error (ChartaChartView *self,
                       GtkWidget       *row,
                       JsonObject      *resource)
{
  const char *type = charta_json_get_string (resource, "resourceType");
  const char *id = charta_json_get_string (resource, "id");
  const char *version_id = charta_json_get_string (charta_json_get_object (resource, "meta"),
                                                   "versionId");
  g_autofree char *escaped = NULL;
  g_autofree char *path = NULL;
  ReasonRead *read;

  gtk_widget_add_css_class (row, "entered-in-error");
  set_row_reason (row, NULL);
  if (type == NULL || id == NULL || version_id == NULL)
    return;

  read = g_new0 (ReasonRead, 1);
  read->self = g_object_ref (self);
  read->cancellable = g_object_ref (self->cancellable);
  read->row = g_object_ref (row);
  read->type = g_strdup (type);
  read->id = g_strdup (id);
  read->version_id = g_strdup (version_id);
  escaped = g_uri_escape_string (id, NULL, FALSE);
  path = g_strdup_printf ("Provenance?target=%s/%s&_count=100", type, escaped);
  charta_client_get_async (self->client, path, self->cancellable, reason_read, read);
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct
{
  ChartaChartView *self;
  GCancellable *cancellable;   /* the chart's, when the read began */
  SectionKind kind;
  gboolean in_error;           /* the second search, for the entered-in-error ones */
  unsigned n;                  /* rows listed so far */
  gboolean more;               /* the first search had a next page */
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

static void section_read (GObject      *source,
                          GAsyncResult *result,
                          gpointer      user_data);

/* Whether a searchset @bundle links to a next page. */
static gboolean
bundle_has_next (JsonObject *bundle)
{
  JsonArray *links = charta_json_get_array (bundle, "link");

  for (unsigned i = 0; links != NULL && i < json_array_get_length (links); i++)
    {
      JsonNode *node = json_array_get_element (links, i);

      if (JSON_NODE_HOLDS_OBJECT (node)
          && g_strcmp0 (charta_json_get_string (json_node_get_object (node), "relation"),
                        "next") == 0)
        return TRUE;
    }
  return FALSE;
}

static void
fetch_section (SectionRead *read)
{
  const SectionInfo *info = &section_info[read->kind];
  ChartaChartView *self = read->self;
  g_autofree char *id = g_uri_escape_string (self->patient_id, NULL, FALSE);
  g_autofree char *path = NULL;

  path = g_strdup_printf ("%s?patient=%s&%s&_count=%u", info->type, id,
                          read->in_error ? info->in_error_params : info->params, info->count);
  charta_client_get_async (self->client, path, read->cancellable, section_read, read);
}

/* Whether one of the first @n rows of @list shows @reference. */
static gboolean
list_has (GtkListBox *list,
          unsigned    n,
          const char *reference)
{
  for (unsigned i = 0; i < n; i++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (list, (int) i);

      if (row != NULL
          && g_strcmp0 (g_object_get_data (G_OBJECT (row), "charta-reference"), reference) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
section_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(SectionRead) read = user_data;
  ChartaChartView *self = read->self;
  const SectionInfo *info = &section_info[read->kind];
  g_autoptr(JsonNode) bundle = NULL;
  g_autoptr(GError) error = NULL;
  GtkListBox *list = self->lists[read->kind];
  JsonArray *entries;

  bundle = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  if (!read->in_error)
    clear_list (list);
  if (bundle == NULL)
    {
      read_done (self);
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
      g_autofree char *reference = NULL;
      GtkWidget *row;

      if (resource == NULL || (mode != NULL && g_strcmp0 (mode, "match") != 0))
        continue;
      reference = g_strdup_printf ("%s/%s", charta_json_get_string (resource, "resourceType"),
                                   charta_json_get_string (resource, "id"));
      if (read->in_error && list_has (list, read->n, reference))
        continue;
      row = resource_row (self, read->kind, resource);
      gtk_list_box_append (list, row);
      if (charta_fhir_is_entered_in_error (resource))
        mark_entered_in_error (self, row, resource);
      read->n++;
    }

  if (!read->in_error && bundle_has_next (json_node_get_object (bundle)))
    read->more = TRUE;

  if (!read->in_error && info->in_error_params != NULL)
    {
      read->in_error = TRUE;
      fetch_section (g_steal_pointer (&read));
      return;
    }
  if (read->more)
    {
      g_autofree char *title = NULL;
      GtkWidget *row;

      if (read->kind == SECTION_OBSERVATIONS)
        title = g_strdup_printf ("Only the %u most recent observations are listed",
                                 info->count);
      else
        title = g_strdup_printf ("Only the first %u %s are listed", info->count, info->noun);
      row = new_row (title, NULL);
      gtk_widget_add_css_class (row, "dim-label");
      gtk_list_box_append (list, row);
    }
  read_done (self);
}

/* A section of the chart as it was at self->at (charta_chart_at_read_async()). */
static void
section_read_at (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(SectionRead) read = user_data;
  ChartaChartView *self = read->self;
  const SectionInfo *info = &section_info[read->kind];
  g_autoptr(GPtrArray) resources = NULL;
  g_autoptr(GError) error = NULL;
  GtkListBox *list = self->lists[read->kind];
  gboolean more = FALSE;

  resources = charta_chart_at_read_finish (CHARTA_CLIENT (source), result, &more, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  clear_list (list);
  if (resources == NULL)
    {
      section_error_row (self, read->kind, error->message);
      read_done (self);
      return;
    }
  for (unsigned i = 0; i < resources->len; i++)
    {
      JsonObject *resource = json_node_get_object (g_ptr_array_index (resources, i));
      GtkWidget *row = resource_row (self, read->kind, resource);

      gtk_list_box_append (list, row);
      if (charta_fhir_is_entered_in_error (resource))
        mark_entered_in_error (self, row, resource);
    }
  if (more)
    {
      g_autofree char *title = g_strdup_printf ("Only the first %u %s are listed", info->count,
                                                info->noun);
      GtkWidget *row = new_row (title, NULL);

      gtk_widget_add_css_class (row, "dim-label");
      gtk_list_box_append (list, row);
    }
  read_done (self);
}

/* ---- trends ------------------------------------------------------------------------------- */

static void
clear_trends (ChartaChartView *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->trends_box))) != NULL)
    gtk_flow_box_remove (self->trends_box, child);
}

static void
set_trends_status (ChartaChartView *self,
                   const char      *text)
{
  gtk_label_set_text (self->trends_status, text != NULL ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->trends_status), text != NULL);
}

static void
plot_point_activated (ChartaChartView *self,
                      const char      *reference)
{
  g_signal_emit (self, signals[RESOURCE_ACTIVATED], 0, reference);
}

/* One plot with its heading ("Body Weight (kg)"). */
static GtkWidget *
trend_box (ChartaChartView *self,
           ChartaPlotData  *data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  const char *unit = charta_plot_data_get_unit (data);
  g_autofree char *title = NULL;
  GtkWidget *label;
  GtkWidget *plot = charta_observation_plot_new (data);

  if (unit != NULL && *unit != '\0')
    title = g_strdup_printf ("%s (%s)", charta_plot_data_get_title (data), unit);
  else
    title = g_strdup (charta_plot_data_get_title (data));
  label = gtk_label_new (title);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_add_css_class (label, "heading");
  gtk_box_append (GTK_BOX (box), label);
  gtk_widget_set_hexpand (plot, TRUE);
  g_signal_connect_object (plot, "point-activated", G_CALLBACK (plot_point_activated), self,
                           G_CONNECT_SWAPPED);
  gtk_box_append (GTK_BOX (box), plot);
  gtk_widget_add_css_class (box, "card");
  gtk_widget_add_css_class (box, "trend");
  return box;
}

/* Draws the plots of @observations (Observation JsonNodes). */
static void
show_trends (ChartaChartView *self,
             JsonArray       *observations,
             gboolean         more)
{
  g_autoptr(GPtrArray) plots = charta_plot_data_from_observations (observations);
  g_autofree char *status = NULL;

  clear_trends (self);
  for (unsigned i = 0; i < plots->len && i < TREND_PLOTS; i++)
    gtk_flow_box_append (self->trends_box, trend_box (self, g_ptr_array_index (plots, i)));
  if (plots->len == 0)
    status = g_strdup ("No vital signs or results with numbers to plot");
  else if (plots->len > TREND_PLOTS)
    status = g_strdup_printf ("The %u measurements with the most values are plotted; %u more "
                              "are in the table below and in each record",
                              TREND_PLOTS, plots->len - TREND_PLOTS);
  else if (more)
    status = g_strdup_printf ("Plotted from the %u most recent vital signs and results",
                              TREND_COUNT);
  set_trends_status (self, status);
}

/* A read of the open chart (the Patient, the trends): its view, and the chart's cancellable
 * as it was when the read began. */
typedef struct
{
  ChartaChartView *self;
  GCancellable *cancellable;
} ChartRead;

static ChartRead *
chart_read_new (ChartaChartView *self)
{
  ChartRead *read = g_new0 (ChartRead, 1);

  read->self = g_object_ref (self);
  read->cancellable = g_object_ref (self->cancellable);
  return read;
}

static void
chart_read_free (ChartRead *read)
{
  g_object_unref (read->self);
  g_object_unref (read->cancellable);
  g_free (read);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartRead, chart_read_free)

static void
trends_read (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(ChartRead) read = user_data;
  ChartaChartView *self = read->self;
  g_autoptr(JsonArray) observations = json_array_new ();
  g_autoptr(GError) error = NULL;
  gboolean more = FALSE;

  if (self->at != NULL)
    {
      g_autoptr(GPtrArray) resources = charta_chart_at_read_finish (CHARTA_CLIENT (source),
                                                                    result, &more, &error);

      for (unsigned i = 0; resources != NULL && i < resources->len; i++)
        json_array_add_element (observations,
                                json_node_ref (g_ptr_array_index (resources, i)));
    }
  else
    {
      g_autoptr(JsonNode) bundle = charta_client_get_finish (CHARTA_CLIENT (source), result,
                                                             &error);
      JsonArray *entries = NULL;

      if (bundle != NULL)
        entries = charta_json_get_array (json_node_get_object (bundle), "entry");
      for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
        {
          JsonNode *node = json_array_get_element (entries, i);
          JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
          JsonNode *resource = entry != NULL ? json_object_get_member (entry, "resource") : NULL;

          if (resource != NULL && JSON_NODE_HOLDS_OBJECT (resource))
            json_array_add_element (observations, json_node_ref (resource));
        }
      more = bundle != NULL && bundle_has_next (json_node_get_object (bundle));
    }
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  if (error != NULL)
    {
      g_autofree char *text = g_strdup_printf ("Could not read the measurements to plot: %s",
                                               error->message);

      clear_trends (self);
      set_trends_status (self, text);
    }
  else
    show_trends (self, observations, more);
  read_done (self);
}

static void
start_trends (ChartaChartView *self)
{
  ChartRead *read = chart_read_new (self);

  self->n_pending++;
  set_trends_status (self, "Reading the measurements…");
  if (self->at != NULL)
    {
      ChartaChartAtSection section = {
        .type = "Observation",
        .params = TREND_PARAMS,
        .sort_date = "-effective",
        .count = TREND_COUNT,
      };

      charta_chart_at_read_async (self->client, self->patient_id, self->at, &section,
                                  read->cancellable, trends_read, read);
    }
  else
    {
      g_autofree char *id = g_uri_escape_string (self->patient_id, NULL, FALSE);
      g_autofree char *path = g_strdup_printf ("Observation?patient=%s&" TREND_PARAMS
                                               "&_count=%u", id, TREND_COUNT);

      charta_client_get_async (self->client, path, read->cancellable, trends_read, read);
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

  /* What went wrong is read in full. */
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 0);
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
  SectionRead *read = g_new0 (SectionRead, 1);

  read->self = g_object_ref (self);
  read->cancellable = g_object_ref (self->cancellable);
  read->kind = kind;
  clear_list (self->lists[kind]);
  show_loading_row (self->lists[kind]);
  self->n_pending++;
  if (self->at != NULL)
    {
      const SectionInfo *info = &section_info[kind];
      ChartaChartAtSection section = {
        .type = info->type,
        .params = info->params,
        .keep = info->keep,
        .in_error_params = info->in_error_params,
        .keep_in_error = info->keep_in_error,
        .sort_date = info->sort_date,
        .count = info->count,
      };

      charta_chart_at_read_async (self->client, self->patient_id, self->at, &section,
                                  read->cancellable, section_read_at, read);
      return;
    }
  fetch_section (read);
}

/* The encounter timeline: a heading with the year above the first row of each year. */
static void
timeline_header (GtkListBoxRow *row,
                 GtkListBoxRow *before,
                 gpointer       user_data)
{
  const char *year = g_object_get_data (G_OBJECT (row), "charta-year");
  const char *year_before = before != NULL ? g_object_get_data (G_OBJECT (before), "charta-year")
                                           : NULL;
  GtkWidget *header = gtk_list_box_row_get_header (row);

  if (year == NULL || g_strcmp0 (year, year_before) == 0)
    {
      if (header != NULL)
        gtk_list_box_row_set_header (row, NULL);
      return;
    }
  if (header != NULL && g_strcmp0 (gtk_label_get_text (GTK_LABEL (header)), year) == 0)
    return;
  header = gtk_label_new (year);
  gtk_label_set_xalign (GTK_LABEL (header), 0);
  gtk_widget_add_css_class (header, "heading");
  gtk_widget_add_css_class (header, "timeline-year");
  gtk_list_box_row_set_header (row, header);
}

static void
row_activated (ChartaChartView *self,
               GtkListBoxRow   *row,
               GtkListBox      *list)
{
  const char *reference = g_object_get_data (G_OBJECT (row), "charta-reference");

  if (reference == NULL)
    return;
  g_debug ("opening %s", reference);
  g_signal_emit (self, signals[RESOURCE_ACTIVATED], 0, reference);
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

static void
patient_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(ChartRead) read = user_data;
  ChartaChartView *self = read->self;
  g_autoptr(JsonNode) patient = NULL;
  g_autoptr(GError) error = NULL;

  if (self->at != NULL)
    patient = charta_chart_at_read_patient_finish (CHARTA_CLIENT (source), result, &error);
  else
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
      self->gone_at = g_error_matches (error, CHARTA_CHART_AT_ERROR,
                                       CHARTA_CHART_AT_ERROR_NOT_RECORDED)
                      || g_error_matches (error, CHARTA_CHART_AT_ERROR,
                                          CHARTA_CHART_AT_ERROR_DELETED);
      if (self->gone_at)
        {
          g_autoptr(GDateTime) local = g_date_time_to_local (self->at);
          g_autofree char *when = g_date_time_format (local, "%Y-%m-%d at %H:%M");
          g_autofree char *text = NULL;

          text = g_strdup_printf (g_error_matches (error, CHARTA_CHART_AT_ERROR,
                                                   CHARTA_CHART_AT_ERROR_NOT_RECORDED)
                                  ? "This patient had not been recorded yet on %s."
                                  : "This patient’s record had been deleted by %s.", when);
          g_autofree char *escaped = g_markup_escape_text (text, -1);

          adw_status_page_set_title (self->error_page, "No Chart at That Time");
          adw_status_page_set_description (self->error_page, escaped);
          gtk_button_set_label (self->retry_button, "Back to Now");
        }
      else
        {
          /* A status page reads its description as markup; a server's words may hold '&'. */
          g_autofree char *escaped = g_markup_escape_text (error->message, -1);

          adw_status_page_set_title (self->error_page, "Cannot Open the Chart");
          adw_status_page_set_description (self->error_page, escaped);
          gtk_button_set_label (self->retry_button, "Try Again");
        }
      gtk_stack_set_visible_child_name (self->stack, "error");
      read_done (self);
      return;
    }

  g_free (self->patient_version);
  self->patient_version = g_strdup (charta_json_get_string (
    charta_json_get_object (json_node_get_object (patient), "meta"), "versionId"));
  fill_header (self, json_node_get_object (patient));
  for (SectionKind kind = 0; kind < N_SECTIONS; kind++)
    start_section (self, kind);
  start_trends (self);
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

/* Reads the chart of self->patient_id; @quietly (a reload of the chart on screen) keeps what
 * is shown until the new reads replace it, instead of showing the spinner. */
static void
load_patient_full (ChartaChartView *self,
                   gboolean         quietly)
{
  g_autofree char *id = NULL;
  g_autofree char *path = NULL;
  ChartRead *read;

  cancel_reads (self);
  self->failed = FALSE;
  self->gone_at = FALSE;
  if (!quietly)
    {
      g_clear_pointer (&self->title, g_free);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
    }
  if (self->patient_id == NULL || self->client == NULL)
    {
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }

  g_debug ("opening the chart of Patient/%s", self->patient_id);
  self->cancellable = g_cancellable_new ();
  id = g_uri_escape_string (self->patient_id, NULL, FALSE);
  path = g_strdup_printf ("Patient/%s", id);
  read = chart_read_new (self);
  self->n_pending = 1;
  if (!quietly)
    {
      gtk_spinner_start (self->spinner);
      gtk_stack_set_visible_child_name (self->stack, "loading");
    }
  if (self->at != NULL)
    charta_chart_at_read_patient_async (self->client, self->patient_id, self->at,
                                        self->cancellable, patient_read, read);
  else
    charta_client_get_async (self->client, path, self->cancellable, patient_read, read);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPLETE]);
}

static void
load_patient (ChartaChartView *self)
{
  load_patient_full (self, FALSE);
}

static void
retry_clicked (ChartaChartView *self)
{
  /* "Back to Now" when the patient had no record at the chosen time. */
  if (self->gone_at)
    charta_chart_view_set_at (self, NULL);
  else
    load_patient (self);
}

static void
record_clicked (ChartaChartView *self)
{
  g_autofree char *reference = NULL;

  if (self->patient_id == NULL)
    return;
  if (self->at != NULL && self->patient_version != NULL)
    reference = g_strdup_printf ("Patient/%s/_history/%s", self->patient_id,
                                 self->patient_version);
  else
    reference = g_strdup_printf ("Patient/%s", self->patient_id);
  g_signal_emit (self, signals[RESOURCE_ACTIVATED], 0, reference);
}

/* ---- an earlier state of the chart -------------------------------------------------------- */

/* The hours and minutes of @text ("9:05", "09:05"); FALSE when it is not a time of day. */
static gboolean
parse_time_of_day (const char *text,
                   int        *hour,
                   int        *minute)
{
  g_auto(GStrv) parts = g_strsplit (text, ":", -1);
  guint64 h;
  guint64 m;

  if (g_strv_length (parts) != 2 || strlen (parts[1]) != 2
      || !g_ascii_string_to_unsigned (parts[0], 10, 0, 23, &h, NULL)
      || !g_ascii_string_to_unsigned (parts[1], 10, 0, 59, &m, NULL))
    return FALSE;
  *hour = (int) h;
  *minute = (int) m;
  return TRUE;
}

/* The instant the popover's date and time name, in local time; NULL with a message for the
 * user in *problem. */
static GDateTime *
as_of_chosen (ChartaChartView  *self,
              const char      **problem)
{
  g_autoptr(GDateTime) day = gtk_calendar_get_date (self->as_of_calendar);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GDateTime) at = NULL;
  int hour;
  int minute;

  if (!parse_time_of_day (gtk_editable_get_text (GTK_EDITABLE (self->as_of_time)), &hour,
                          &minute))
    {
      *problem = "Type the time as hours and minutes, such as 14:30";
      return NULL;
    }
  at = g_date_time_new_local (g_date_time_get_year (day), g_date_time_get_month (day),
                              g_date_time_get_day_of_month (day), hour, minute, 59.999);
  if (at == NULL)
    {
      *problem = "That date and time do not exist here";
      return NULL;
    }
  /* The minute that is now: up to now. */
  if (g_date_time_compare (at, now) > 0 && g_date_time_difference (at, now) < G_USEC_PER_SEC * 60)
    {
      g_date_time_unref (at);
      at = g_date_time_ref (now);
    }
  if (g_date_time_compare (at, now) > 0)
    {
      *problem = "That is in the future: the chart as it is now is the latest there is";
      return NULL;
    }
  return g_steal_pointer (&at);
}

static void
as_of_time_changed (ChartaChartView *self)
{
  const char *problem = NULL;
  g_autoptr(GDateTime) at = as_of_chosen (self, &problem);

  gtk_label_set_text (self->as_of_error, problem != NULL ? problem : "");
  gtk_widget_set_visible (GTK_WIDGET (self->as_of_error), at == NULL);
  gtk_widget_set_sensitive (self->as_of_show, at != NULL);
}

static void
as_of_popover_shown (ChartaChartView *self)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  GDateTime *shown = self->at != NULL ? self->at : now;
  g_autofree char *time = g_date_time_format (shown, "%H:%M");

  gtk_calendar_select_day (self->as_of_calendar, shown);
  gtk_editable_set_text (GTK_EDITABLE (self->as_of_time), time);
  as_of_time_changed (self);
}

static void
as_of_show_clicked (ChartaChartView *self)
{
  const char *problem = NULL;
  g_autoptr(GDateTime) at = as_of_chosen (self, &problem);

  if (at == NULL)
    {
      gtk_label_set_text (self->as_of_error, problem);
      gtk_widget_set_visible (GTK_WIDGET (self->as_of_error), TRUE);
      return;
    }
  gtk_popover_popdown (self->as_of_popover);
  charta_chart_view_set_at (self, at);
}

static void
as_of_back_clicked (ChartaChartView *self)
{
  charta_chart_view_set_at (self, NULL);
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
  g_clear_pointer (&self->at, g_date_time_unref);
  g_free (self->patient_version);
  g_ptr_array_unref (self->identifiers);
  for (size_t i = 0; i < G_N_ELEMENTS (self->columns); i++)
    g_object_unref (self->columns[i]);

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
    case PROP_AT:
      g_value_set_boxed (value, self->at);
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
    case PROP_AT:
      charta_chart_view_set_at (self, g_value_get_boxed (value));
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
  properties[PROP_AT] =
    g_param_spec_boxed ("at", NULL, NULL, G_TYPE_DATE_TIME,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A row that shows a resource was activated: its reference ("Observation/obs-1"). */
  signals[RESOURCE_ACTIVATED] =
    g_signal_new ("resource-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

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
  gtk_widget_class_bind_template_child_full (widget_class, "observations_list", FALSE,
                                             G_STRUCT_OFFSET (ChartaChartView,
                                                              lists[SECTION_OBSERVATIONS]));
  gtk_widget_class_bind_template_child_full (widget_class, "encounters_list", FALSE,
                                             G_STRUCT_OFFSET (ChartaChartView,
                                                              lists[SECTION_ENCOUNTERS]));
  gtk_widget_class_bind_template_child_full (widget_class, "documents_list", FALSE,
                                             G_STRUCT_OFFSET (ChartaChartView,
                                                              lists[SECTION_DOCUMENTS]));
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, pages);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, trends_box);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, trends_status);
  gtk_widget_class_bind_template_child_full (widget_class, "date_heading", FALSE,
                                             G_STRUCT_OFFSET (ChartaChartView, headings[0]));
  gtk_widget_class_bind_template_child_full (widget_class, "what_heading", FALSE,
                                             G_STRUCT_OFFSET (ChartaChartView, headings[1]));
  gtk_widget_class_bind_template_child_full (widget_class, "value_heading", FALSE,
                                             G_STRUCT_OFFSET (ChartaChartView, headings[2]));
  gtk_widget_class_bind_template_child_full (widget_class, "status_heading", FALSE,
                                             G_STRUCT_OFFSET (ChartaChartView, headings[3]));
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, retry_button);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, as_of_bar);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, as_of_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, as_of_popover);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, as_of_calendar);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, as_of_time);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, as_of_error);
  gtk_widget_class_bind_template_child (widget_class, ChartaChartView, as_of_show);
  gtk_widget_class_bind_template_callback (widget_class, as_of_popover_shown);
  gtk_widget_class_bind_template_callback (widget_class, as_of_time_changed);
  gtk_widget_class_bind_template_callback (widget_class, as_of_show_clicked);
  gtk_widget_class_bind_template_callback (widget_class, as_of_back_clicked);
  gtk_widget_class_bind_template_callback (widget_class, row_activated);
  gtk_widget_class_bind_template_callback (widget_class, record_clicked);
  gtk_widget_class_bind_template_callback (widget_class, retry_clicked);
  gtk_widget_class_bind_template_callback (widget_class, reveal_toggled);
}

static void
charta_chart_view_init (ChartaChartView *self)
{
  self->identifiers = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_list_box_set_header_func (self->lists[SECTION_ENCOUNTERS], timeline_header, NULL, NULL);
  for (size_t i = 0; i < G_N_ELEMENTS (self->columns); i++)
    {
      /* What and value share the room left; date and status take what they need. */
      self->columns[i] = gtk_size_group_new (GTK_SIZE_GROUP_HORIZONTAL);
      gtk_size_group_add_widget (self->columns[i], self->headings[i]);
    }
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

void
charta_chart_view_reload (ChartaChartView *self)
{
  g_return_if_fail (CHARTA_IS_CHART_VIEW (self));

  if (self->patient_id == NULL)
    return;
  load_patient_full (self, !self->failed
                           && g_strcmp0 (gtk_stack_get_visible_child_name (self->stack),
                                         "chart") == 0);
}

gboolean
charta_chart_view_is_complete (ChartaChartView *self)
{
  g_return_val_if_fail (CHARTA_IS_CHART_VIEW (self), FALSE);

  return self->patient_id != NULL && self->cancellable != NULL && self->n_pending == 0;
}

void
charta_chart_view_set_at (ChartaChartView *self,
                          GDateTime       *at)
{
  g_return_if_fail (CHARTA_IS_CHART_VIEW (self));

  if (at == NULL && self->at == NULL)
    return;
  if (at != NULL && self->at != NULL && g_date_time_equal (at, self->at))
    return;
  g_clear_pointer (&self->at, g_date_time_unref);
  if (at != NULL)
    {
      g_autoptr(GDateTime) local = g_date_time_to_local (at);
      g_autofree char *when = g_date_time_format (local, "%Y-%m-%d at %H:%M");
      g_autofree char *text = g_strdup_printf ("The chart as it was on %s, from its history. "
                                               "Records open in the version they had then.",
                                               when);

      self->at = g_date_time_ref (at);
      gtk_label_set_text (self->as_of_label, text);
    }
  gtk_widget_set_visible (self->as_of_bar, self->at != NULL);
  load_patient (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AT]);
}

GDateTime *
charta_chart_view_get_at (ChartaChartView *self)
{
  g_return_val_if_fail (CHARTA_IS_CHART_VIEW (self), NULL);

  return self->at;
}
