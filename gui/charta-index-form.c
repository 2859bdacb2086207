/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-index-form.c: where a scanned document is filed (see charta-index-form.h).
 *
 * The widgets are made here, not from a template: three preferences groups (patient,
 * document, note or reason).  The patient search waits SEARCH_DELAY_MS after the last key,
 * then asks for the first SEARCH_COUNT matches (the finder's query,
 * charta_patient_list_query_for_text()); a newer search cancels the older one.  Choosing a
 * match hides the search and reads that patient's encounters.  A patient filled in from the
 * document is read once for its name.
 *
 * The initial placement (patient, encounter, type, date) is kept as the fill left it, so that
 * a re-index can tell whether anything was changed.  Each read shares the GCancellable of its
 * kind (the search's, or the chosen patient's) and holds a reference to the form until its
 * callback has run.
 */
#define G_LOG_DOMAIN "charta-index-form"

#include <string.h>

#include "charta-fhir-text.h"
#include "charta-index-form.h"
#include "charta-json-text.h"
#include "charta-patient.h"
#include "charta-patient-list.h"

/* How long after the last key the patient search starts. */
#define SEARCH_DELAY_MS 250
/* How many patients a search lists. */
#define SEARCH_COUNT 8
/* How many of a patient's encounters are offered, newest first. */
#define ENCOUNTER_COUNT 50

/* The document types offered: each code and display as R4's c80-doc-typecodes value set has
 * them (hl7.fhir.r4.core valuesets.json), the common kinds of scanned paper first. */
static const ChartaDocumentType document_types[] = {
  { "59284-0", "Patient Consent" },
  { "64293-4", "Procedure consent" },
  { "64292-6", "Release of information consent" },
  { "64285-0", "Medical history screening form" },
  { "34133-9", "Summary of episode note" },
  { "18842-5", "Discharge summary" },
  { "11488-4", "Consult note" },
  { "34108-1", "Outpatient Note" },
  { "11506-3", "Provider-unspecified Progress note" },
  { "34117-2", "History and physical note" },
  { "57133-1", "Referral note" },
  { "11502-2", "Laboratory report" },
  { "18748-4", "Diagnostic imaging study" },
  { "51851-4", "Administrative note" },
  { "64290-0", "Health insurance card" },
  { "55107-7", "Addendum Document" },
  { "34109-9", "Note" },
  { NULL, NULL },
};

struct _ChartaIndexForm
{
  AdwBin parent_instance;

  ChartaClient *client;
  gboolean reason_required;
  gboolean filling;             /* the form is being filled in, not edited */

  /* The chosen patient. */
  char *patient_id;
  char *patient_name;           /* "Emily Louise Miller" */
  /* The encounters offered: ids, in the order of the combo row's items (item 0, "None", has
   * NULL). */
  GPtrArray *encounter_ids;
  char *wanted_encounter_id;    /* to select once the encounters have been read */
  /* A type of the document that the table does not have, offered last. */
  char *extra_type_code;
  char *extra_type_display;

  /* The placement as filled in. */
  char *initial_patient_id;
  char *initial_encounter_id;
  char *initial_type_code;
  char *initial_date;

  GCancellable *search_cancellable;
  GCancellable *patient_cancellable;  /* the chosen patient's reads */
  guint search_source;
  unsigned n_pending;

  AdwEntryRow *search_row;
  AdwActionRow *chosen_row;
  GtkWidget *change_button;
  GtkListBox *results_list;
  GtkLabel *results_status;
  AdwComboRow *encounter_row;
  GtkStringList *encounter_names;
  AdwComboRow *type_row;
  GtkStringList *type_names;
  AdwEntryRow *date_row;
  AdwActionRow *date_error;
  AdwPreferencesGroup *reason_group;
  AdwEntryRow *reason_row;
};

enum
{
  PROP_0,
  PROP_COMPLETE,
  PROP_PATIENT_ID,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ChartaIndexForm, charta_index_form, ADW_TYPE_BIN)

const ChartaDocumentType *
charta_index_form_get_document_types (void)
{
  return document_types;
}

/* ---- state -------------------------------------------------------------------------------- */

static void
set_busy_delta (ChartaIndexForm *self,
                int              delta)
{
  gboolean was_busy = self->n_pending > 0;

  g_assert (delta > 0 || self->n_pending >= (unsigned) -delta);
  self->n_pending += delta;
  if (was_busy != (self->n_pending > 0))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* The date typed, when it is a real day not after today, else NULL (and the reason in
 * *problem when @problem is not NULL). */
static char *
valid_date (ChartaIndexForm  *self,
            const char      **problem)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (
                                                   GTK_EDITABLE (self->date_row))));
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *today = g_date_time_format (now, "%Y-%m-%d");
  guint64 year, month, day;
  g_auto(GStrv) parts = NULL;

  if (problem != NULL)
    *problem = NULL;
  if (*text == '\0')
    {
      if (problem != NULL)
        *problem = "Type the document’s date";
      return NULL;
    }
  parts = g_strsplit (text, "-", -1);
  if (strlen (text) != 10 || g_strv_length (parts) != 3
      || !g_ascii_string_to_unsigned (parts[0], 10, 1800, 9999, &year, NULL)
      || !g_ascii_string_to_unsigned (parts[1], 10, 1, 12, &month, NULL)
      || !g_ascii_string_to_unsigned (parts[2], 10, 1, 31, &day, NULL)
      || !g_date_valid_dmy ((GDateDay) day, (GDateMonth) month, (GDateYear) year))
    {
      if (problem != NULL)
        *problem = "Type the date as year, month and day, such as 2025-06-02";
      return NULL;
    }
  if (strcmp (text, today) > 0)
    {
      if (problem != NULL)
        *problem = "That date is in the future";
      return NULL;
    }
  return g_steal_pointer (&text);
}

const char *
charta_index_form_get_type_code (ChartaIndexForm *self)
{
  unsigned selected;

  g_return_val_if_fail (CHARTA_IS_INDEX_FORM (self), NULL);

  selected = adw_combo_row_get_selected (self->type_row);
  if (selected == GTK_INVALID_LIST_POSITION || selected == 0)
    return NULL;
  if (selected <= G_N_ELEMENTS (document_types) - 1)
    return document_types[selected - 1].code;
  return self->extra_type_code;
}

static const char *
type_display (ChartaIndexForm *self,
              const char      *code)
{
  for (unsigned i = 0; document_types[i].code != NULL; i++)
    if (g_strcmp0 (document_types[i].code, code) == 0)
      return document_types[i].display;
  if (g_strcmp0 (code, self->extra_type_code) == 0)
    return self->extra_type_display;
  return NULL;
}

const char *
charta_index_form_get_encounter_id (ChartaIndexForm *self)
{
  unsigned selected;

  g_return_val_if_fail (CHARTA_IS_INDEX_FORM (self), NULL);

  selected = adw_combo_row_get_selected (self->encounter_row);
  if (selected == GTK_INVALID_LIST_POSITION || selected >= self->encounter_ids->len)
    return NULL;
  return g_ptr_array_index (self->encounter_ids, selected);
}

char *
charta_index_form_dup_reason (ChartaIndexForm *self)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (CHARTA_IS_INDEX_FORM (self), NULL);

  text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->reason_row))));
  return *text != '\0' ? g_steal_pointer (&text) : NULL;
}

const char *
charta_index_form_get_missing (ChartaIndexForm *self)
{
  g_autofree char *reason = NULL;
  g_autofree char *date = NULL;
  const char *problem = NULL;

  g_return_val_if_fail (CHARTA_IS_INDEX_FORM (self), NULL);

  if (self->patient_id == NULL)
    return "Choose the patient";
  if (charta_index_form_get_type_code (self) == NULL)
    return "Choose the document type";
  date = valid_date (self, &problem);
  if (date == NULL)
    return problem;
  reason = charta_index_form_dup_reason (self);
  if (self->reason_required && reason == NULL)
    return "Type the reason";
  return NULL;
}

gboolean
charta_index_form_is_complete (ChartaIndexForm *self)
{
  g_return_val_if_fail (CHARTA_IS_INDEX_FORM (self), FALSE);

  return charta_index_form_get_missing (self) == NULL;
}

gboolean
charta_index_form_differs (ChartaIndexForm *self)
{
  g_autofree char *date = NULL;

  g_return_val_if_fail (CHARTA_IS_INDEX_FORM (self), FALSE);

  date = valid_date (self, NULL);
  return g_strcmp0 (self->patient_id, self->initial_patient_id) != 0
         || g_strcmp0 (charta_index_form_get_encounter_id (self),
                       self->initial_encounter_id) != 0
         || g_strcmp0 (charta_index_form_get_type_code (self), self->initial_type_code) != 0
         || g_strcmp0 (date, self->initial_date) != 0;
}

static void
form_changed (ChartaIndexForm *self)
{
  const char *problem = NULL;
  g_autofree char *date = NULL;
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->date_row));

  /* The date's problem shows once something is typed (an empty date is only missing). */
  date = valid_date (self, &problem);
  gtk_widget_set_visible (GTK_WIDGET (self->date_error), date == NULL && *text != '\0');
  if (date == NULL && problem != NULL)
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->date_error), problem);
  if (!self->filling)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPLETE]);
}

/* ---- encounters --------------------------------------------------------------------------- */

/* "2025-05-30 · Ambulatory · General examination". */
static char *
encounter_text (JsonObject *encounter)
{
  JsonObject *period = charta_json_get_object (encounter, "period");
  JsonObject *class = charta_json_get_object (encounter, "class");
  g_autofree char *start = charta_fhir_text_date (charta_json_get_string (period, "start"));
  g_autofree char *type = charta_fhir_text_concept (charta_json_get_first (encounter, "type"));
  const char *class_text = charta_json_get_string (class, "display");
  GString *text = g_string_new (start != NULL ? start : "No date");

  if (class_text == NULL)
    class_text = charta_json_get_string (class, "code");
  if (class_text != NULL)
    {
      g_autofree char *words = charta_fhir_text_code (class_text);

      g_string_append_printf (text, " · %s", words);
    }
  if (type != NULL)
    g_string_append_printf (text, " · %s", type);
  return g_string_free (text, FALSE);
}

/* Offers no encounter but "None". */
static void
clear_encounters (ChartaIndexForm *self)
{
  const char *none[] = { "None", NULL };

  g_ptr_array_set_size (self->encounter_ids, 0);
  g_ptr_array_add (self->encounter_ids, NULL);
  gtk_string_list_splice (self->encounter_names, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->encounter_names)), none);
  adw_combo_row_set_selected (self->encounter_row, 0);
}

typedef struct
{
  ChartaIndexForm *self;
  GCancellable *cancellable;
} FormRead;

static FormRead *
form_read_new (ChartaIndexForm *self,
               GCancellable    *cancellable)
{
  FormRead *read = g_new0 (FormRead, 1);

  read->self = g_object_ref (self);
  read->cancellable = g_object_ref (cancellable);
  set_busy_delta (self, 1);
  return read;
}

static void
form_read_free (FormRead *read)
{
  set_busy_delta (read->self, -1);
  g_object_unref (read->self);
  g_object_unref (read->cancellable);
  g_free (read);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FormRead, form_read_free)

static void
encounters_read (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(FormRead) read = user_data;
  ChartaIndexForm *self = read->self;
  g_autoptr(JsonNode) bundle = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *wanted = NULL;
  JsonArray *entries;
  unsigned selected = 0;

  bundle = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  wanted = g_steal_pointer (&self->wanted_encounter_id);
  self->filling = TRUE;
  if (bundle == NULL)
    {
      g_autofree char *text = g_strdup_printf ("The encounters could not be read: %s",
                                               error->message);

      clear_encounters (self);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->encounter_row), text);
      self->filling = FALSE;
      form_changed (self);
      return;
    }
  clear_encounters (self);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->encounter_row), "");
  entries = charta_json_get_array (json_node_get_object (bundle), "entry");
  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonObject *encounter = JSON_NODE_HOLDS_OBJECT (node)
                                ? charta_json_get_object (json_node_get_object (node), "resource")
                                : NULL;
      const char *id = charta_json_get_string (encounter, "id");
      g_autofree char *text = NULL;

      if (id == NULL || g_strcmp0 (charta_json_get_string (encounter, "resourceType"),
                                   "Encounter") != 0)
        continue;
      text = encounter_text (encounter);
      g_ptr_array_add (self->encounter_ids, g_strdup (id));
      gtk_string_list_append (self->encounter_names, text);
      if (g_strcmp0 (id, wanted) == 0)
        selected = self->encounter_ids->len - 1;
    }
  adw_combo_row_set_selected (self->encounter_row, selected);
  gtk_widget_set_sensitive (GTK_WIDGET (self->encounter_row), TRUE);
  self->filling = FALSE;
  form_changed (self);
}

static void
read_encounters (ChartaIndexForm *self)
{
  g_autofree char *id = g_uri_escape_string (self->patient_id, NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("Encounter?patient=%s&_sort=-date&_count=%u", id,
                                           ENCOUNTER_COUNT);

  clear_encounters (self);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->encounter_row), "Reading the encounters…");
  gtk_widget_set_sensitive (GTK_WIDGET (self->encounter_row), FALSE);
  charta_client_get_async (self->client, path, self->patient_cancellable, encounters_read,
                           form_read_new (self, self->patient_cancellable));
}

/* ---- the patient -------------------------------------------------------------------------- */

static void
cancel_patient_reads (ChartaIndexForm *self)
{
  if (self->patient_cancellable != NULL)
    g_cancellable_cancel (self->patient_cancellable);
  g_clear_object (&self->patient_cancellable);
  self->patient_cancellable = g_cancellable_new ();
}

static void
show_search (ChartaIndexForm *self,
             gboolean         search)
{
  gtk_widget_set_visible (GTK_WIDGET (self->search_row), search);
  gtk_widget_set_visible (GTK_WIDGET (self->chosen_row), !search);
  gtk_widget_set_visible (GTK_WIDGET (self->results_list),
                          search && gtk_list_box_get_row_at_index (self->results_list, 0)
                                      != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->results_status),
                          search && *gtk_label_get_text (self->results_status) != '\0');
}

/* Makes Patient/@id the chosen patient: @title ("Miller, Emily Louise") and @details as the
 * row shows them, @name ("Emily Louise Miller") for the document's subject.display. */
static void
choose_patient (ChartaIndexForm *self,
                const char      *id,
                const char      *title,
                const char      *details,
                const char      *name)
{
  gboolean changed = g_strcmp0 (id, self->patient_id) != 0;

  g_free (self->patient_id);
  self->patient_id = g_strdup (id);
  g_free (self->patient_name);
  self->patient_name = g_strdup (name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->chosen_row), title);
  adw_action_row_set_subtitle (self->chosen_row, details != NULL ? details : "");
  show_search (self, FALSE);
  if (changed)
    {
      cancel_patient_reads (self);
      read_encounters (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PATIENT_ID]);
    }
  form_changed (self);
}

static void
filled_patient_read (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(FormRead) read = user_data;
  ChartaIndexForm *self = read->self;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaPatient) patient = NULL;
  g_autofree char *details = NULL;
  g_autofree char *name = NULL;

  node = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  if (node != NULL)
    patient = charta_patient_new_from_json (json_node_get_object (node));
  if (patient == NULL)
    {
      g_autofree char *text = g_strdup_printf ("Could not read this patient: %s",
                                               error != NULL ? error->message
                                                             : "not a Patient");

      adw_action_row_set_subtitle (self->chosen_row, text);
      return;
    }
  details = charta_patient_dup_details (patient);
  name = charta_fhir_text_patient_name (json_node_get_object (node), FALSE);
  g_free (self->patient_name);
  self->patient_name = g_steal_pointer (&name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->chosen_row),
                                 charta_patient_get_name (patient));
  adw_action_row_set_subtitle (self->chosen_row, details);
}

static void
change_clicked (ChartaIndexForm *self)
{
  show_search (self, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_row));
}

/* ---- searching ---------------------------------------------------------------------------- */

static void
clear_results (ChartaIndexForm *self)
{
  GtkListBoxRow *row;

  while ((row = gtk_list_box_get_row_at_index (self->results_list, 0)) != NULL)
    gtk_list_box_remove (self->results_list, GTK_WIDGET (row));
  gtk_widget_set_visible (GTK_WIDGET (self->results_list), FALSE);
}

static void
set_results_status (ChartaIndexForm *self,
                    const char      *text)
{
  gtk_label_set_text (self->results_status, text != NULL ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->results_status),
                          text != NULL && gtk_widget_get_visible (GTK_WIDGET (self->search_row)));
}

static GtkWidget *
result_row (ChartaPatient *patient,
            JsonObject    *resource,
            gboolean       possible_duplicate)
{
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *details = charta_patient_dup_details (patient);
  g_autofree char *tooltip = NULL;

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), charta_patient_get_name (patient));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), details);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  if (possible_duplicate)
    {
      GtkWidget *tag = gtk_label_new ("Possible duplicate");

      gtk_widget_set_valign (tag, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (tag, "duplicate-tag");
      gtk_widget_set_tooltip_text (tag, "Same name and birth date as another match: check the "
                                        "MRN before choosing");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), tag);
    }
  tooltip = g_strdup_printf ("%s\n%s%s", charta_patient_get_name (patient), details,
                             possible_duplicate ? "\nPossible duplicate" : "");
  gtk_widget_set_tooltip_text (row, tooltip);
  g_object_set_data_full (G_OBJECT (row), "charta-patient-id",
                          g_strdup (charta_patient_get_id (patient)), g_free);
  g_object_set_data_full (G_OBJECT (row), "charta-patient-title",
                          g_strdup (charta_patient_get_name (patient)), g_free);
  g_object_set_data_full (G_OBJECT (row), "charta-patient-details", g_strdup (details), g_free);
  g_object_set_data_full (G_OBJECT (row), "charta-patient-name",
                          charta_fhir_text_patient_name (resource, FALSE), g_free);
  return row;
}

static void
search_read (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(FormRead) read = user_data;
  ChartaIndexForm *self = read->self;
  g_autoptr(JsonNode) bundle = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) patients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) resources = g_ptr_array_new ();
  JsonArray *entries;
  JsonNode *total;
  g_autofree char *status = NULL;

  bundle = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  clear_results (self);
  if (bundle == NULL)
    {
      g_autofree char *text = g_strdup_printf ("Could not search: %s", error->message);

      set_results_status (self, text);
      return;
    }
  entries = charta_json_get_array (json_node_get_object (bundle), "entry");
  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonObject *resource = JSON_NODE_HOLDS_OBJECT (node)
                               ? charta_json_get_object (json_node_get_object (node), "resource")
                               : NULL;
      ChartaPatient *patient = resource != NULL ? charta_patient_new_from_json (resource) : NULL;

      if (patient == NULL)
        continue;
      g_ptr_array_add (patients, patient);
      g_ptr_array_add (resources, resource);
    }
  for (unsigned i = 0; i < patients->len; i++)
    {
      const char *key = charta_patient_get_match_key (patients->pdata[i]);
      gboolean duplicate = FALSE;

      for (unsigned j = 0; key != NULL && j < patients->len && !duplicate; j++)
        duplicate = j != i && g_strcmp0 (key, charta_patient_get_match_key (patients->pdata[j]))
                                == 0;
      gtk_list_box_append (self->results_list,
                           result_row (patients->pdata[i], resources->pdata[i], duplicate));
    }

  total = json_object_get_member (json_node_get_object (bundle), "total");
  if (patients->len == 0)
    status = g_strdup ("No patient matches: try the MRN, or fewer letters of the name");
  else if (total != NULL && JSON_NODE_HOLDS_VALUE (total)
           && json_node_get_int (total) > (gint64) patients->len)
    status = g_strdup_printf ("The first %u of %" G_GINT64_FORMAT " matches: type more to "
                              "narrow the search", patients->len, json_node_get_int (total));
  else
    status = g_strdup_printf (patients->len == 1 ? "%u match: check the birth date and MRN"
                                                 : "%u matches: check the birth date and MRN",
                              patients->len);
  gtk_widget_set_visible (GTK_WIDGET (self->results_list), patients->len > 0);
  set_results_status (self, status);
}

static gboolean
search_now (gpointer data)
{
  ChartaIndexForm *self = data;
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (
                                                   GTK_EDITABLE (self->search_row))));
  g_autofree char *query = NULL;

  self->search_source = 0;
  if (self->search_cancellable != NULL)
    g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  if (*text == '\0' || self->client == NULL)
    {
      clear_results (self);
      set_results_status (self, NULL);
      return G_SOURCE_REMOVE;
    }
  self->search_cancellable = g_cancellable_new ();
  query = charta_patient_list_query_for_text (text, SEARCH_COUNT);
  set_results_status (self, "Searching…");
  charta_client_get_async (self->client, query, self->search_cancellable, search_read,
                           form_read_new (self, self->search_cancellable));
  return G_SOURCE_REMOVE;
}

static void
search_changed (ChartaIndexForm *self)
{
  g_clear_handle_id (&self->search_source, g_source_remove);
  if (self->filling)
    return;
  self->search_source = g_timeout_add (SEARCH_DELAY_MS, search_now, self);
}

/* Enter in the search: searches at once, or, with the matches of the text shown, takes the
 * only one. */
static void
search_activated (ChartaIndexForm *self)
{
  GtkListBoxRow *first = gtk_list_box_get_row_at_index (self->results_list, 0);

  if (self->search_source != 0)
    {
      g_clear_handle_id (&self->search_source, g_source_remove);
      search_now (self);
      return;
    }
  if (first != NULL && gtk_list_box_get_row_at_index (self->results_list, 1) == NULL)
    g_signal_emit_by_name (self->results_list, "row-activated", first);
}

static void
result_activated (ChartaIndexForm *self,
                  GtkListBoxRow   *row)
{
  const char *id = g_object_get_data (G_OBJECT (row), "charta-patient-id");

  if (id == NULL)
    return;
  g_debug ("chose Patient/%s", id);
  choose_patient (self, id, g_object_get_data (G_OBJECT (row), "charta-patient-title"),
                  g_object_get_data (G_OBJECT (row), "charta-patient-details"),
                  g_object_get_data (G_OBJECT (row), "charta-patient-name"));
  gtk_widget_grab_focus (GTK_WIDGET (self->encounter_row));
}

/* Down in the search moves into the matches. */
static gboolean
search_key_pressed (GtkEventControllerKey *controller,
                    guint                  keyval,
                    guint                  keycode,
                    GdkModifierType        state,
                    ChartaIndexForm       *self)
{
  if (keyval != GDK_KEY_Down && keyval != GDK_KEY_KP_Down)
    return FALSE;
  if (gtk_list_box_get_row_at_index (self->results_list, 0) == NULL)
    return FALSE;
  return gtk_widget_child_focus (GTK_WIDGET (self->results_list), GTK_DIR_TAB_FORWARD);
}

/* ---- filling and applying ----------------------------------------------------------------- */

/* The id of @reference ("Patient/7" → "7") when it names a @type, else NULL. */
static char *
reference_id (JsonObject *reference,
              const char *type)
{
  const char *text = charta_json_get_string (reference, "reference");
  g_autofree char *prefix = g_strdup_printf ("%s/", type);
  const char *at;

  if (text == NULL)
    return NULL;
  /* Relative ("Patient/7") or absolute (".../Patient/7"); no version. */
  at = g_str_has_prefix (text, prefix) ? text : strstr (text, prefix);
  if (at == NULL || (at != text && at[-1] != '/'))
    return NULL;
  at += strlen (prefix);
  if (*at == '\0' || strchr (at, '/') != NULL)
    return NULL;
  return g_strdup (at);
}

static void
select_type (ChartaIndexForm *self,
             JsonObject      *type)
{
  JsonArray *codings = charta_json_get_array (type, "coding");
  unsigned n_types = G_N_ELEMENTS (document_types) - 1;

  g_clear_pointer (&self->extra_type_code, g_free);
  g_clear_pointer (&self->extra_type_display, g_free);
  /* The extra item, if there was one, goes. */
  if (g_list_model_get_n_items (G_LIST_MODEL (self->type_names)) > n_types + 1)
    gtk_string_list_remove (self->type_names, n_types + 1);
  adw_combo_row_set_selected (self->type_row, 0);

  for (unsigned i = 0; codings != NULL && i < json_array_get_length (codings); i++)
    {
      JsonNode *node = json_array_get_element (codings, i);
      JsonObject *coding = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *code = charta_json_get_string (coding, "code");
      g_autofree char *text = NULL;

      if (g_strcmp0 (charta_json_get_string (coding, "system"), CHARTA_LOINC_SYSTEM) != 0
          || code == NULL)
        continue;
      for (unsigned t = 0; t < n_types; t++)
        if (strcmp (document_types[t].code, code) == 0)
          {
            adw_combo_row_set_selected (self->type_row, t + 1);
            return;
          }
      /* A LOINC type of the document that the table lacks: offered as it is. */
      self->extra_type_code = g_strdup (code);
      self->extra_type_display = charta_fhir_text_concept (type);
      if (self->extra_type_display == NULL)
        self->extra_type_display = g_strdup (code);
      text = g_strdup_printf ("%s (%s)", self->extra_type_display, code);
      gtk_string_list_append (self->type_names, text);
      adw_combo_row_set_selected (self->type_row, n_types + 1);
      return;
    }
}

void
charta_index_form_fill (ChartaIndexForm *self,
                        JsonObject      *document)
{
  JsonObject *context = charta_json_get_object (document, "context");
  JsonObject *attachment = charta_json_get_object (charta_json_get_first (document, "content"),
                                                   "attachment");
  const char *start = charta_json_get_string (charta_json_get_object (context, "period"),
                                              "start");
  g_autofree char *patient_id = reference_id (charta_json_get_object (document, "subject"),
                                              "Patient");
  g_autofree char *date = NULL;

  g_return_if_fail (CHARTA_IS_INDEX_FORM (self));

  self->filling = TRUE;
  g_clear_handle_id (&self->search_source, g_source_remove);
  if (self->search_cancellable != NULL)
    g_cancellable_cancel (self->search_cancellable);
  cancel_patient_reads (self);
  g_clear_pointer (&self->patient_id, g_free);
  g_clear_pointer (&self->patient_name, g_free);
  g_clear_pointer (&self->wanted_encounter_id, g_free);
  gtk_editable_set_text (GTK_EDITABLE (self->search_row), "");
  gtk_editable_set_text (GTK_EDITABLE (self->reason_row), "");
  clear_results (self);
  set_results_status (self, NULL);
  clear_encounters (self);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->encounter_row), "Choose the patient first");
  gtk_widget_set_sensitive (GTK_WIDGET (self->encounter_row), FALSE);

  /* The document's own date: context.period.start, else when the paper was made. */
  date = charta_fhir_text_date (start);
  if (date == NULL)
    date = charta_fhir_text_date (charta_json_get_string (attachment, "creation"));
  gtk_editable_set_text (GTK_EDITABLE (self->date_row), date != NULL ? date : "");
  select_type (self, charta_json_get_object (document, "type"));

  if (patient_id != NULL && self->client != NULL)
    {
      g_autofree char *escaped = g_uri_escape_string (patient_id, NULL, FALSE);
      g_autofree char *path = g_strdup_printf ("Patient/%s", escaped);
      g_autofree char *title = NULL;
      g_autofree char *display = charta_fhir_text_reference (charta_json_get_object (document,
                                                                                     "subject"));

      title = g_strdup_printf ("Patient/%s", patient_id);
      self->wanted_encounter_id = reference_id (charta_json_get_first (context, "encounter"),
                                                "Encounter");
      choose_patient (self, patient_id, display != NULL ? display : title, "Reading…", display);
      charta_client_get_async (self->client, path, self->patient_cancellable,
                               filled_patient_read,
                               form_read_new (self, self->patient_cancellable));
    }
  else
    show_search (self, TRUE);

  g_free (self->initial_patient_id);
  self->initial_patient_id = g_strdup (self->patient_id);
  g_free (self->initial_encounter_id);
  self->initial_encounter_id = g_strdup (self->wanted_encounter_id);
  g_free (self->initial_type_code);
  self->initial_type_code = g_strdup (charta_index_form_get_type_code (self));
  g_free (self->initial_date);
  self->initial_date = valid_date (self, NULL);
  self->filling = FALSE;
  form_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PATIENT_ID]);
}

static JsonObject *
ensure_object (JsonObject *parent,
               const char *name)
{
  JsonNode *node = json_object_get_member (parent, name);

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      json_object_set_object_member (parent, name, json_object_new ());
      node = json_object_get_member (parent, name);
    }
  return json_node_get_object (node);
}

static JsonObject *
new_reference (const char *type,
               const char *id,
               const char *display)
{
  JsonObject *reference = json_object_new ();
  g_autofree char *text = g_strdup_printf ("%s/%s", type, id);

  json_object_set_string_member (reference, "reference", text);
  if (display != NULL)
    json_object_set_string_member (reference, "display", display);
  return reference;
}

JsonNode *
charta_index_form_apply (ChartaIndexForm *self,
                         JsonNode        *document)
{
  JsonNode *edited;
  JsonObject *resource;
  JsonObject *context;
  JsonObject *period;
  JsonObject *attachment;
  JsonObject *text;
  const char *type_code;
  const char *encounter_id;
  g_autofree char *date = NULL;
  g_autofree char *subject = NULL;

  g_return_val_if_fail (CHARTA_IS_INDEX_FORM (self), NULL);
  g_return_val_if_fail (document != NULL && JSON_NODE_HOLDS_OBJECT (document), NULL);
  g_return_val_if_fail (charta_index_form_is_complete (self), NULL);

  edited = charta_json_copy (document);
  resource = json_node_get_object (edited);
  type_code = charta_index_form_get_type_code (self);
  encounter_id = charta_index_form_get_encounter_id (self);
  date = valid_date (self, NULL);

  /* The subject: a new reference only when the patient changed (its display as it was
   * otherwise). */
  subject = reference_id (charta_json_get_object (resource, "subject"), "Patient");
  if (g_strcmp0 (subject, self->patient_id) != 0)
    json_object_set_object_member (resource, "subject",
                                   new_reference ("Patient", self->patient_id,
                                                  self->patient_name));

  /* The type: kept as it is when it has the code chosen. */
  if (g_strcmp0 (self->initial_type_code, type_code) != 0
      || charta_json_get_object (resource, "type") == NULL)
    {
      JsonObject *type = json_object_new ();
      JsonArray *codings = json_array_new ();
      JsonObject *coding = json_object_new ();
      const char *display = type_display (self, type_code);

      json_object_set_string_member (coding, "system", CHARTA_LOINC_SYSTEM);
      json_object_set_string_member (coding, "code", type_code);
      if (display != NULL)
        json_object_set_string_member (coding, "display", display);
      json_array_add_object_element (codings, coding);
      json_object_set_array_member (type, "coding", codings);
      if (display != NULL)
        json_object_set_string_member (type, "text", display);
      json_object_set_object_member (resource, "type", type);
    }

  /* context.encounter (0..*): the one chosen, or none. */
  context = ensure_object (resource, "context");
  if (encounter_id != NULL)
    {
      g_autofree char *old = reference_id (charta_json_get_first (context, "encounter"),
                                           "Encounter");

      if (g_strcmp0 (old, encounter_id) != 0
          || json_array_get_length (charta_json_get_array (context, "encounter")) != 1)
        {
          JsonArray *encounters = json_array_new ();

          json_array_add_object_element (encounters, new_reference ("Encounter", encounter_id,
                                                                    NULL));
          json_object_set_array_member (context, "encounter", encounters);
        }
    }
  else if (json_object_has_member (context, "encounter"))
    json_object_remove_member (context, "encounter");

  /* The document's date: context.period.start (its time kept when the day is the same). */
  period = ensure_object (context, "period");
  {
    g_autofree char *old = charta_fhir_text_date (charta_json_get_string (period, "start"));

    if (g_strcmp0 (old, date) != 0)
      json_object_set_string_member (period, "start", date);
  }

  attachment = charta_json_get_object (charta_json_get_first (resource, "content"),
                                       "attachment");
  if (attachment != NULL && !json_object_has_member (attachment, "creation"))
    json_object_set_string_member (attachment, "creation", date);

  json_object_set_string_member (resource, "docStatus", "final");

  /* A generated narrative would no longer be true. */
  text = charta_json_get_object (resource, "text");
  if (g_strcmp0 (charta_json_get_string (text, "status"), "generated") == 0)
    json_object_remove_member (resource, "text");
  return edited;
}

/* ---- the object --------------------------------------------------------------------------- */

const char *
charta_index_form_get_patient_id (ChartaIndexForm *self)
{
  g_return_val_if_fail (CHARTA_IS_INDEX_FORM (self), NULL);

  return self->patient_id;
}

const char *
charta_index_form_get_patient_name (ChartaIndexForm *self)
{
  g_return_val_if_fail (CHARTA_IS_INDEX_FORM (self), NULL);

  return self->patient_name;
}

gboolean
charta_index_form_is_busy (ChartaIndexForm *self)
{
  g_return_val_if_fail (CHARTA_IS_INDEX_FORM (self), FALSE);

  return self->n_pending > 0 || self->search_source != 0;
}

void
charta_index_form_focus (ChartaIndexForm *self)
{
  g_return_if_fail (CHARTA_IS_INDEX_FORM (self));

  if (gtk_widget_get_visible (GTK_WIDGET (self->search_row)))
    gtk_widget_grab_focus (GTK_WIDGET (self->search_row));
  else
    gtk_widget_grab_focus (self->change_button);
}

void
charta_index_form_set_reason_required (ChartaIndexForm *self,
                                       gboolean         required)
{
  g_return_if_fail (CHARTA_IS_INDEX_FORM (self));

  self->reason_required = required;
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->reason_row),
                                 required ? "Rea_son (required)" : "_Note (optional)");
  adw_preferences_group_set_title (self->reason_group, required ? "Why" : "Note");
  adw_preferences_group_set_description (self->reason_group,
                                         required
                                           ? "Kept in the document’s history with this "
                                             "version, under your name: such as “Filed to the "
                                             "wrong patient”"
                                           : "Kept in the document’s history after “Indexed to "
                                             "patient”, under your name");
  form_changed (self);
}

void
charta_index_form_set_client (ChartaIndexForm *self,
                              ChartaClient    *client)
{
  g_return_if_fail (CHARTA_IS_INDEX_FORM (self));
  g_return_if_fail (client == NULL || CHARTA_IS_CLIENT (client));

  if (!g_set_object (&self->client, client))
    return;
  charta_index_form_fill (self, NULL);
}

static void
charta_index_form_dispose (GObject *object)
{
  ChartaIndexForm *self = CHARTA_INDEX_FORM (object);

  g_clear_handle_id (&self->search_source, g_source_remove);
  if (self->search_cancellable != NULL)
    g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  if (self->patient_cancellable != NULL)
    g_cancellable_cancel (self->patient_cancellable);
  g_clear_object (&self->patient_cancellable);
  g_clear_object (&self->client);

  G_OBJECT_CLASS (charta_index_form_parent_class)->dispose (object);
}

static void
charta_index_form_finalize (GObject *object)
{
  ChartaIndexForm *self = CHARTA_INDEX_FORM (object);

  g_free (self->patient_id);
  g_free (self->patient_name);
  g_ptr_array_unref (self->encounter_ids);
  g_free (self->wanted_encounter_id);
  g_free (self->extra_type_code);
  g_free (self->extra_type_display);
  g_free (self->initial_patient_id);
  g_free (self->initial_encounter_id);
  g_free (self->initial_type_code);
  g_free (self->initial_date);

  G_OBJECT_CLASS (charta_index_form_parent_class)->finalize (object);
}

static void
charta_index_form_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  ChartaIndexForm *self = CHARTA_INDEX_FORM (object);

  switch (prop_id)
    {
    case PROP_COMPLETE:
      g_value_set_boolean (value, charta_index_form_is_complete (self));
      break;
    case PROP_PATIENT_ID:
      g_value_set_string (value, self->patient_id);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->n_pending > 0);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_index_form_class_init (ChartaIndexFormClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = charta_index_form_dispose;
  object_class->finalize = charta_index_form_finalize;
  object_class->get_property = charta_index_form_get_property;

  /* Notified whenever a field changes (completeness and charta_index_form_differs() with it). */
  properties[PROP_COMPLETE] =
    g_param_spec_boolean ("complete", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_PATIENT_ID] =
    g_param_spec_string ("patient-id", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

/* A row that says what is wrong with the field above it. */
static AdwActionRow *
error_row (void)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_action_row_set_title_lines (ADW_ACTION_ROW (row), 0);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row),
                             gtk_image_new_from_icon_name ("dialog-error-symbolic"));
  gtk_widget_add_css_class (row, "field-error");
  gtk_widget_set_visible (row, FALSE);
  return ADW_ACTION_ROW (row);
}

static void
charta_index_form_init (ChartaIndexForm *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 18);
  GtkWidget *patient_group = adw_preferences_group_new ();
  GtkWidget *document_group = adw_preferences_group_new ();
  GtkEventController *keys = gtk_event_controller_key_new ();
  GtkWidget *results_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);

  self->encounter_ids = g_ptr_array_new_with_free_func (g_free);

  /* The patient: a search, its matches and what they say, or the chosen one. */
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (patient_group), "Patient");
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (patient_group),
                                         "Search by name or MRN, then check the birth date "
                                         "and MRN of the one you choose");
  self->search_row = ADW_ENTRY_ROW (adw_entry_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->search_row),
                                 "_Patient (name or MRN)");
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (self->search_row), TRUE);
  gtk_widget_set_name (GTK_WIDGET (self->search_row), "patient_search_row");
  g_signal_connect_swapped (self->search_row, "changed", G_CALLBACK (search_changed), self);
  g_signal_connect_swapped (self->search_row, "entry-activated", G_CALLBACK (search_activated),
                            self);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (search_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self->search_row), keys);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (patient_group),
                             GTK_WIDGET (self->search_row));

  self->chosen_row = ADW_ACTION_ROW (adw_action_row_new ());
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self->chosen_row), FALSE);
  gtk_widget_set_name (GTK_WIDGET (self->chosen_row), "patient_chosen_row");
  adw_action_row_add_prefix (self->chosen_row,
                             gtk_image_new_from_icon_name ("avatar-default-symbolic"));
  self->change_button = gtk_button_new_with_mnemonic ("C_hange…");
  gtk_widget_set_name (self->change_button, "change_button");
  gtk_widget_set_valign (self->change_button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (self->change_button, "Choose another patient");
  g_signal_connect_swapped (self->change_button, "clicked", G_CALLBACK (change_clicked), self);
  adw_action_row_add_suffix (self->chosen_row, self->change_button);
  gtk_widget_set_visible (GTK_WIDGET (self->chosen_row), FALSE);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (patient_group),
                             GTK_WIDGET (self->chosen_row));

  self->results_list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_widget_set_name (GTK_WIDGET (self->results_list), "patient_results");
  gtk_list_box_set_selection_mode (self->results_list, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->results_list), "boxed-list");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->results_list),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, "Matching patients", -1);
  g_signal_connect_swapped (self->results_list, "row-activated", G_CALLBACK (result_activated),
                            self);
  gtk_widget_set_visible (GTK_WIDGET (self->results_list), FALSE);
  self->results_status = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->results_status, 0);
  gtk_label_set_wrap (self->results_status, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->results_status), "caption");
  gtk_widget_add_css_class (GTK_WIDGET (self->results_status), "dim-label");
  gtk_widget_set_visible (GTK_WIDGET (self->results_status), FALSE);
  gtk_box_append (GTK_BOX (results_box), GTK_WIDGET (self->results_status));
  gtk_box_append (GTK_BOX (results_box), GTK_WIDGET (self->results_list));
  gtk_widget_set_margin_top (results_box, 6);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (patient_group), results_box);
  gtk_box_append (GTK_BOX (box), patient_group);

  /* The document: encounter, type, date. */
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (document_group), "Document");
  self->encounter_names = gtk_string_list_new (NULL);
  self->encounter_row = ADW_COMBO_ROW (adw_combo_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->encounter_row), "_Encounter");
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (self->encounter_row), TRUE);
  adw_combo_row_set_model (self->encounter_row, G_LIST_MODEL (self->encounter_names));
  g_object_unref (self->encounter_names);
  gtk_widget_set_name (GTK_WIDGET (self->encounter_row), "encounter_row");
  g_signal_connect_swapped (self->encounter_row, "notify::selected", G_CALLBACK (form_changed),
                            self);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (document_group),
                             GTK_WIDGET (self->encounter_row));

  self->type_names = gtk_string_list_new (NULL);
  gtk_string_list_append (self->type_names, "Choose a type…");
  for (unsigned i = 0; document_types[i].code != NULL; i++)
    {
      g_autofree char *text = g_strdup_printf ("%s (%s)", document_types[i].display,
                                               document_types[i].code);

      gtk_string_list_append (self->type_names, text);
    }
  self->type_row = ADW_COMBO_ROW (adw_combo_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->type_row), "Document _type");
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (self->type_row), TRUE);
  adw_combo_row_set_model (self->type_row, G_LIST_MODEL (self->type_names));
  g_object_unref (self->type_names);
  gtk_widget_set_name (GTK_WIDGET (self->type_row), "type_row");
  g_signal_connect_swapped (self->type_row, "notify::selected", G_CALLBACK (form_changed),
                            self);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (document_group),
                             GTK_WIDGET (self->type_row));

  self->date_row = ADW_ENTRY_ROW (adw_entry_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->date_row),
                                 "Document _date (YYYY-MM-DD)");
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (self->date_row), TRUE);
  gtk_widget_set_name (GTK_WIDGET (self->date_row), "date_row");
  g_signal_connect_swapped (self->date_row, "changed", G_CALLBACK (form_changed), self);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (document_group),
                             GTK_WIDGET (self->date_row));
  self->date_error = error_row ();
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (document_group),
                             GTK_WIDGET (self->date_error));
  gtk_box_append (GTK_BOX (box), document_group);

  /* The note, or the reason. */
  self->reason_group = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  self->reason_row = ADW_ENTRY_ROW (adw_entry_row_new ());
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (self->reason_row), TRUE);
  gtk_widget_set_name (GTK_WIDGET (self->reason_row), "reason_row");
  g_signal_connect_swapped (self->reason_row, "changed", G_CALLBACK (form_changed), self);
  adw_preferences_group_add (self->reason_group, GTK_WIDGET (self->reason_row));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->reason_group));

  adw_bin_set_child (ADW_BIN (self), box);
  charta_index_form_set_reason_required (self, FALSE);
  clear_encounters (self);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->encounter_row), "Choose the patient first");
  gtk_widget_set_sensitive (GTK_WIDGET (self->encounter_row), FALSE);
  show_search (self, TRUE);
}

GtkWidget *
charta_index_form_new (void)
{
  return g_object_new (CHARTA_TYPE_INDEX_FORM, NULL);
}
