/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-resource-view.c: one resource in readable labels (see charta-resource-view.h).
 *
 * Two reads per resource: GET [type]/[id] (the version shown), then the Provenance that
 * targets it (Provenance?target=[type]/[id], the one whose target names this exact version,
 * "[type]/[id]/_history/[n]").  Both share one GCancellable, which showing another resource
 * cancels; a callback whose read was cancelled touches nothing.
 *
 * The labels come from a table per resource type: element name (a choice element by its
 * stem, "effective" for effective[x]), label, and how to read it when the generic reading of
 * charta_fhir_text_element() will not do.  Whatever the table does not name is listed under
 * "Other details" with a label made from the element's name.  Every text comes from the
 * record and is shown as it is (no markup).  Nothing is logged but ids.
 */
#define G_LOG_DOMAIN "charta-resource-view"

#include <string.h>

#include "charta-correction-dialog.h"
#include "charta-fhir-text.h"
#include "charta-resource-view.h"

struct _ChartaResourceView
{
  AdwBin parent_instance;

  ChartaClient *client;
  char *reference;           /* "Observation/obs-1" */
  JsonNode *resource;        /* the version on screen */
  GHashTable *number_texts;  /* its numbers as the server wrote them, or NULL */
  char *title;
  GCancellable *cancellable; /* the reads of the resource on screen */
  unsigned n_pending;

  GtkStack *stack;
  GtkSpinner *spinner;
  AdwStatusPage *error_page;
  GtkLabel *record_title;
  GtkLabel *record_subtitle;
  GtkButton *history_button;
  GtkButton *edit_button;
  GtkToggleButton *raw_button;
  AdwPreferencesGroup *in_error_group;
  AdwActionRow *in_error_row;
  AdwActionRow *change_row;
  GtkStack *view_stack;
  GtkBox *fields_box;
  GtkTextView *json_view;
};

enum
{
  PROP_0,
  PROP_TITLE,
  PROP_LOADED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SHOW_HISTORY,
  EDIT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ChartaResourceView, charta_resource_view, ADW_TYPE_BIN)

/* ---- what each type shows ----------------------------------------------------------------- */

typedef char *(*ReadFunc) (JsonObject *resource,
                           JsonNode   *element);

typedef struct
{
  const char *name;    /* the element, or a choice element's stem ("effective") */
  const char *label;
  ReadFunc read;       /* NULL: charta_fhir_text_element() */
} Field;

static char *
read_code (JsonObject *resource,
           JsonNode   *element)
{
  if (JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING)
    return charta_fhir_text_code (json_node_get_string (element));
  if (JSON_NODE_HOLDS_ARRAY (element))
    {
      JsonArray *array = json_node_get_array (element);
      g_autoptr(GString) text = g_string_new (NULL);

      for (unsigned i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *node = json_array_get_element (array, i);
          g_autofree char *item = read_code (resource, node);

          if (item == NULL)
            continue;
          if (text->len > 0)
            g_string_append (text, ", ");
          g_string_append (text, item);
        }
      return text->len > 0 ? g_string_free (g_steal_pointer (&text), FALSE) : NULL;
    }
  return charta_fhir_text_element (element);
}

static char *
read_observation_value (JsonObject *resource,
                        JsonNode   *element)
{
  return charta_fhir_text_value (resource);
}

static char *
read_patient_name (JsonObject *resource,
                   JsonNode   *element)
{
  return charta_fhir_text_patient_name (resource, FALSE);
}

static char *
read_gender (JsonObject *resource,
             JsonNode   *element)
{
  const char *code = JSON_NODE_HOLDS_VALUE (element) ? json_node_get_string (element) : NULL;

  return g_strdup (charta_fhir_text_gender (code));
}

/* Reference ranges: "70 mg/dL to 99 mg/dL", and the range's text or type. */
static char *
read_ranges (JsonObject *resource,
             JsonNode   *element)
{
  JsonArray *ranges = JSON_NODE_HOLDS_ARRAY (element) ? json_node_get_array (element) : NULL;
  g_autoptr(GString) text = g_string_new (NULL);

  for (unsigned i = 0; ranges != NULL && i < json_array_get_length (ranges); i++)
    {
      JsonNode *node = json_array_get_element (ranges, i);
      JsonObject *range = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      g_autofree char *low = charta_fhir_text_quantity (charta_json_get_object (range, "low"));
      g_autofree char *high = charta_fhir_text_quantity (charta_json_get_object (range,
                                                                                "high"));
      const char *words = charta_json_get_string (range, "text");

      if (text->len > 0)
        g_string_append (text, "; ");
      if (low != NULL && high != NULL)
        g_string_append_printf (text, "%s to %s", low, high);
      else if (low != NULL)
        g_string_append_printf (text, "At least %s", low);
      else if (high != NULL)
        g_string_append_printf (text, "At most %s", high);
      if (words != NULL)
        g_string_append_printf (text, "%s%s", low != NULL || high != NULL ? " · " : "", words);
    }
  return text->len > 0 ? g_string_free (g_steal_pointer (&text), FALSE) : NULL;
}

/* Dosage instructions: each one's text, else its timing and dose read generically. */
static char *
read_dosage (JsonObject *resource,
             JsonNode   *element)
{
  JsonArray *dosages = JSON_NODE_HOLDS_ARRAY (element) ? json_node_get_array (element) : NULL;
  g_autoptr(GString) text = g_string_new (NULL);

  for (unsigned i = 0; dosages != NULL && i < json_array_get_length (dosages); i++)
    {
      JsonNode *node = json_array_get_element (dosages, i);
      const char *words = JSON_NODE_HOLDS_OBJECT (node)
                            ? charta_json_get_string (json_node_get_object (node), "text")
                            : NULL;
      g_autofree char *generic = words == NULL ? charta_fhir_text_element (node) : NULL;

      if (words == NULL && generic == NULL)
        continue;
      if (text->len > 0)
        g_string_append (text, "; ");
      g_string_append (text, words != NULL ? words : generic);
    }
  return text->len > 0 ? g_string_free (g_steal_pointer (&text), FALSE) : NULL;
}

/* Reactions: "Hives (moderate)" for each manifestation. */
static char *
read_reactions (JsonObject *resource,
                JsonNode   *element)
{
  JsonArray *reactions = JSON_NODE_HOLDS_ARRAY (element) ? json_node_get_array (element) : NULL;
  g_autoptr(GString) text = g_string_new (NULL);

  for (unsigned i = 0; reactions != NULL && i < json_array_get_length (reactions); i++)
    {
      JsonNode *node = json_array_get_element (reactions, i);
      JsonObject *reaction = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      g_autofree char *what =
        charta_fhir_text_element (json_object_get_member (reaction, "manifestation"));
      const char *severity = charta_json_get_string (reaction, "severity");

      if (what == NULL)
        continue;
      if (text->len > 0)
        g_string_append (text, "; ");
      if (severity != NULL)
        g_string_append_printf (text, "%s (%s)", what, severity);
      else
        g_string_append (text, what);
    }
  return text->len > 0 ? g_string_free (g_steal_pointer (&text), FALSE) : NULL;
}

/* Identifiers: "MRN 04040857"; any other than the MRN masked, as in the chart's header. */
static char *
read_identifiers (JsonObject *resource,
                  JsonNode   *element)
{
  JsonArray *identifiers = JSON_NODE_HOLDS_ARRAY (element) ? json_node_get_array (element)
                                                           : NULL;
  JsonObject *mrn = charta_fhir_find_mrn (resource);
  g_autoptr(GString) text = g_string_new (NULL);

  for (unsigned i = 0; identifiers != NULL && i < json_array_get_length (identifiers); i++)
    {
      JsonNode *node = json_array_get_element (identifiers, i);
      JsonObject *identifier = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node)
                                                             : NULL;
      g_autofree char *kind = charta_fhir_text_identifier_kind (identifier);
      const char *value = charta_json_get_string (identifier, "value");

      if (value == NULL)
        continue;
      if (text->len > 0)
        g_string_append (text, "; ");
      g_string_append_printf (text, "%s %s", kind, identifier == mrn ? value : "••••••••");
    }
  return text->len > 0 ? g_string_free (g_steal_pointer (&text), FALSE) : NULL;
}

static const Field observation_fields[] = {
  { "code", "Observation", NULL },
  { "value", "Value", read_observation_value },
  { "component", "Value", read_observation_value },
  { "status", "Status", read_code },
  { "effective", "When", NULL },
  { "issued", "Issued", NULL },
  { "interpretation", "Interpretation", NULL },
  { "referenceRange", "Reference range", read_ranges },
  { "dataAbsentReason", "Why there is no value", NULL },
  { "category", "Category", NULL },
  { "method", "Method", NULL },
  { "bodySite", "Body site", NULL },
  { "performer", "Performer", NULL },
  { "encounter", "Encounter", NULL },
  { "note", "Note", NULL },
  { NULL },
};

static const Field condition_fields[] = {
  { "code", "Condition", NULL },
  { "clinicalStatus", "Clinical status", NULL },
  { "verificationStatus", "Verification", NULL },
  { "severity", "Severity", NULL },
  { "onset", "Onset", NULL },
  { "abatement", "Abated", NULL },
  { "recordedDate", "Recorded", NULL },
  { "category", "Category", NULL },
  { "bodySite", "Body site", NULL },
  { "recorder", "Recorded by", NULL },
  { "asserter", "Asserted by", NULL },
  { "encounter", "Encounter", NULL },
  { "note", "Note", NULL },
  { NULL },
};

static const Field medication_request_fields[] = {
  { "medication", "Medication", NULL },
  { "status", "Status", read_code },
  { "intent", "Intent", read_code },
  { "dosageInstruction", "Dosage", read_dosage },
  { "authoredOn", "Prescribed", NULL },
  { "requester", "Prescriber", NULL },
  { "reasonCode", "Reason", NULL },
  { "reasonReference", "Reason", NULL },
  { "encounter", "Encounter", NULL },
  { "note", "Note", NULL },
  { NULL },
};

static const Field allergy_fields[] = {
  { "code", "Substance", NULL },
  { "clinicalStatus", "Clinical status", NULL },
  { "verificationStatus", "Verification", NULL },
  { "type", "Type", read_code },
  { "category", "Category", read_code },
  { "criticality", "Criticality", read_code },
  { "reaction", "Reactions", read_reactions },
  { "onset", "Onset", NULL },
  { "recordedDate", "Recorded", NULL },
  { "recorder", "Recorded by", NULL },
  { "note", "Note", NULL },
  { NULL },
};

static const Field immunization_fields[] = {
  { "vaccineCode", "Vaccine", NULL },
  { "status", "Status", read_code },
  { "occurrence", "Given", NULL },
  { "lotNumber", "Lot", NULL },
  { "doseQuantity", "Dose", NULL },
  { "site", "Site", NULL },
  { "route", "Route", NULL },
  { "performer", "Given by", NULL },
  { "location", "Location", NULL },
  { "encounter", "Encounter", NULL },
  { "note", "Note", NULL },
  { NULL },
};

static const Field patient_fields[] = {
  { "name", "Name", read_patient_name },
  { "birthDate", "Birth date", NULL },
  { "gender", "Sex", read_gender },
  { "identifier", "Identifiers", read_identifiers },
  { "deceased", "Deceased", NULL },
  { "telecom", "Phone and email", NULL },
  { "address", "Address", NULL },
  { "maritalStatus", "Marital status", NULL },
  { "communication", "Language", NULL },
  { "generalPractitioner", "General practitioner", NULL },
  { "managingOrganization", "Managing organization", NULL },
  { "active", "Record in use", NULL },
  { NULL },
};

static const struct
{
  const char *type;
  const Field *fields;
} type_fields[] = {
  { "Observation", observation_fields },
  { "Condition", condition_fields },
  { "MedicationRequest", medication_request_fields },
  { "AllergyIntolerance", allergy_fields },
  { "Immunization", immunization_fields },
  { "Patient", patient_fields },
};

/* Elements that are not shown as details: the resource's identity, its narrative (a summary
 * of the rest), and the patient whose chart this is. */
static gboolean
is_hidden (const char *name)
{
  static const char *const hidden[] = {
    "resourceType", "id", "meta", "text", "subject", "patient", "contained", "extension",
    "implicitRules", "language",
  };

  for (size_t i = 0; i < G_N_ELEMENTS (hidden); i++)
    if (strcmp (name, hidden[i]) == 0)
      return TRUE;
  return FALSE;
}

/* Whether @member is @stem or the choice element @stem[x] ("effectiveDateTime"). */
static gboolean
member_is (const char *member,
           const char *stem)
{
  size_t length = strlen (stem);

  return strncmp (member, stem, length) == 0
         && (member[length] == '\0' || g_ascii_isupper (member[length]));
}

/* ---- rows --------------------------------------------------------------------------------- */

/* A row with a label above its value, the way a form reads. */
static GtkWidget *
property_row (const char *label,
              const char *value)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 3);
  GtkWidget *name = gtk_label_new (label);
  GtkWidget *text = gtk_label_new (value);
  g_autofree char *accessible = g_strdup_printf ("%s: %s", label, value);

  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_widget_add_css_class (name, "caption");
  gtk_widget_add_css_class (name, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (text), 0);
  gtk_label_set_wrap (GTK_LABEL (text), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (text), PANGO_WRAP_WORD_CHAR);
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), text);
  gtk_widget_add_css_class (box, "property");
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  accessible, -1);
  g_object_set_data_full (G_OBJECT (row), "charta-label", g_strdup (label), g_free);
  g_object_set_data_full (G_OBJECT (row), "charta-value", g_strdup (value), g_free);
  return row;
}

static GtkWidget *
new_group (const char *title,
           GtkWidget **list)
{
  GtkWidget *group = adw_preferences_group_new ();

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), title);
  *list = gtk_list_box_new ();
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (*list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (*list, "boxed-list");
  gtk_accessible_update_property (GTK_ACCESSIBLE (*list), GTK_ACCESSIBLE_PROPERTY_LABEL, title,
                                  -1);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), *list);
  return group;
}

static void
clear_fields (ChartaResourceView *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->fields_box))) != NULL)
    gtk_box_remove (self->fields_box, child);
}

/* The details of @resource: the type's fields, then the rest. */
static void
fill_fields (ChartaResourceView *self,
             JsonObject         *resource)
{
  const char *type = charta_json_get_string (resource, "resourceType");
  const Field *fields = NULL;
  g_autoptr(GHashTable) shown = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) labels = g_hash_table_new (g_str_hash, g_str_equal);
  GtkWidget *list = NULL;
  GtkWidget *other_list = NULL;
  GtkWidget *group;
  JsonObjectIter iter;
  const char *member;
  JsonNode *node;
  unsigned n = 0;

  clear_fields (self);
  for (size_t i = 0; i < G_N_ELEMENTS (type_fields); i++)
    if (g_strcmp0 (type, type_fields[i].type) == 0)
      fields = type_fields[i].fields;

  group = new_group ("Details", &list);
  gtk_box_append (self->fields_box, group);
  for (const Field *field = fields; field != NULL && field->name != NULL; field++)
    {
      g_autofree char *value = NULL;
      JsonNode *element = NULL;

      json_object_iter_init_ordered (&iter, resource);
      while (json_object_iter_next_ordered (&iter, &member, &node))
        if (member_is (member, field->name))
          {
            element = node;
            g_hash_table_add (shown, (gpointer) member);
            break;
          }
      if (element == NULL)
        continue;
      value = field->read != NULL ? field->read (resource, element)
                                  : charta_fhir_text_element (element);
      /* Two fields may read one thing (an Observation's value or its components). */
      if (value == NULL || g_hash_table_contains (labels, field->label))
        continue;
      g_hash_table_add (labels, (gpointer) field->label);
      gtk_list_box_append (GTK_LIST_BOX (list), property_row (field->label, value));
      n++;
    }

  json_object_iter_init_ordered (&iter, resource);
  while (json_object_iter_next_ordered (&iter, &member, &node))
    {
      g_autofree char *value = NULL;
      g_autofree char *label = NULL;

      if (is_hidden (member) || g_hash_table_contains (shown, member))
        continue;
      value = charta_fhir_text_element (node);
      if (value == NULL)
        continue;
      label = charta_fhir_text_label (member);
      if (fields != NULL)
        {
          if (other_list == NULL)
            gtk_box_append (self->fields_box, new_group ("Other Details", &other_list));
          gtk_list_box_append (GTK_LIST_BOX (other_list), property_row (label, value));
        }
      else
        gtk_list_box_append (GTK_LIST_BOX (list), property_row (label, value));
      n++;
    }
  if (n == 0)
    gtk_list_box_append (GTK_LIST_BOX (list), property_row ("Details", "Nothing recorded"));
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct
{
  ChartaResourceView *self;
  GCancellable *cancellable;   /* the view's, when the read began */
} Read;

static void
read_free (Read *read)
{
  g_object_unref (read->self);
  g_object_unref (read->cancellable);
  g_free (read);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Read, read_free)

static Read *
read_new (ChartaResourceView *self)
{
  Read *read = g_new0 (Read, 1);

  read->self = g_object_ref (self);
  read->cancellable = g_object_ref (self->cancellable);
  self->n_pending++;
  return read;
}

static void
read_done (ChartaResourceView *self)
{
  g_assert (self->n_pending > 0);
  self->n_pending--;
  if (self->n_pending == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
}

static void
cancel_reads (ChartaResourceView *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->n_pending = 0;
}

static void
provenance_read (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(Read) read = user_data;
  ChartaResourceView *self = read->self;
  g_autoptr(JsonNode) bundle = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *resource;
  JsonArray *entries;
  const char *type;
  const char *id;
  const char *version_id;

  bundle = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  read_done (self);
  if (bundle == NULL)
    {
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->change_row),
                                     "Who changed it last is not known");
      adw_action_row_set_subtitle (self->change_row, error->message);
      return;
    }

  resource = json_node_get_object (self->resource);
  type = charta_json_get_string (resource, "resourceType");
  id = charta_json_get_string (resource, "id");
  version_id = charta_json_get_string (charta_json_get_object (resource, "meta"), "versionId");
  entries = charta_json_get_array (json_node_get_object (bundle), "entry");
  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonObject *provenance = JSON_NODE_HOLDS_OBJECT (node)
                                 ? charta_json_get_object (json_node_get_object (node),
                                                           "resource")
                                 : NULL;
      JsonObject *coding = charta_json_get_first (charta_json_get_object (provenance,
                                                                          "activity"),
                                                  "coding");
      g_autofree char *activity = NULL;
      g_autofree char *who = NULL;
      g_autofree char *when = NULL;
      g_autofree char *reason = NULL;
      g_autofree char *title = NULL;
      g_autoptr(GString) subtitle = g_string_new (NULL);

      if (provenance == NULL || type == NULL || id == NULL || version_id == NULL
          || !charta_fhir_provenance_targets (provenance, type, id, version_id))
        continue;
      activity = charta_fhir_text_activity (charta_json_get_string (coding, "code"),
                                            charta_json_get_string (coding, "display"));
      who = charta_fhir_text_provenance_agent (provenance);
      when = charta_fhir_text_datetime (charta_json_get_string (provenance, "recorded"));
      reason = charta_fhir_text_provenance_reason (provenance);

      title = activity != NULL ? g_strdup_printf ("Version %s · %s", version_id, activity)
                               : g_strdup_printf ("Version %s", version_id);
      if (when != NULL)
        g_string_append (subtitle, when);
      if (who != NULL)
        g_string_append_printf (subtitle, "%sby %s", subtitle->len > 0 ? " · " : "", who);
      if (reason != NULL)
        g_string_append_printf (subtitle, "%sReason: %s", subtitle->len > 0 ? " · " : "",
                                reason);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->change_row), title);
      adw_action_row_set_subtitle (self->change_row, subtitle->str);
      if (charta_fhir_is_entered_in_error (resource))
        {
          g_autofree char *why = g_strdup_printf ("%s%s%s", reason != NULL ? reason
                                                                           : "No reason given",
                                                  who != NULL ? " · by " : "",
                                                  who != NULL ? who : "");

          adw_action_row_set_subtitle (self->in_error_row, why);
        }
      return;
    }
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->change_row), "Version "
                                 "without a Provenance");
  adw_action_row_set_subtitle (self->change_row, "The server recorded no who or why for it");
}

static void
show_resource (ChartaResourceView *self,
               JsonNode           *resource)
{
  JsonObject *object = json_node_get_object (resource);
  const char *type = charta_json_get_string (object, "resourceType");
  const char *id = charta_json_get_string (object, "id");
  JsonObject *meta = charta_json_get_object (object, "meta");
  const char *version_id = charta_json_get_string (meta, "versionId");
  g_autofree char *updated = charta_fhir_text_datetime (charta_json_get_string (meta,
                                                                                "lastUpdated"));
  g_autofree char *subtitle = NULL;
  g_autofree char *json = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *path = NULL;
  gboolean in_error = charta_fhir_is_entered_in_error (object);

  if (self->resource != resource)
    {
      g_clear_pointer (&self->resource, json_node_unref);
      self->resource = json_node_ref (resource);
    }
  g_free (self->title);
  self->title = charta_fhir_text_resource_title (object);
  gtk_label_set_text (self->record_title, self->title);
  subtitle = g_strdup_printf ("%s%s%s%s%s", type, version_id != NULL ? " · Version " : "",
                              version_id != NULL ? version_id : "",
                              updated != NULL ? " · Last changed " : "",
                              updated != NULL ? updated : "");
  gtk_label_set_text (self->record_subtitle, subtitle);

  gtk_widget_set_visible (GTK_WIDGET (self->in_error_group), in_error);
  adw_action_row_set_subtitle (self->in_error_row, "");
  if (in_error)
    gtk_widget_add_css_class (GTK_WIDGET (self->record_title), "struck");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->record_title), "struck");

  fill_fields (self, object);
  json = json_to_string (resource, TRUE);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->json_view), json, -1);

  gtk_widget_set_sensitive (GTK_WIDGET (self->edit_button),
                            charta_correction_dialog_can_edit (type));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->edit_button),
                               charta_correction_dialog_can_edit (type)
                                 ? "Correct this record, with a reason"
                                 : "A record of a change (Provenance, AuditEvent) or "
                                   "binary content is not corrected here");
  gtk_stack_set_visible_child_name (self->stack, "resource");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->change_row), "Reading who changed "
                                 "it last…");
  adw_action_row_set_subtitle (self->change_row, "");
  if (type == NULL || id == NULL)
    return;
  escaped = g_uri_escape_string (id, NULL, FALSE);
  path = g_strdup_printf ("Provenance?target=%s/%s&_count=100", type, escaped);
  charta_client_get_async (self->client, path, self->cancellable, provenance_read,
                           read_new (self));
}

static void
resource_read (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(Read) read = user_data;
  ChartaResourceView *self = read->self;
  g_autoptr(JsonNode) resource = NULL;
  g_autoptr(GHashTable) number_texts = NULL;
  g_autoptr(GError) error = NULL;

  resource = charta_client_get_resource_finish (CHARTA_CLIENT (source), result, &number_texts,
                                                &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  gtk_spinner_stop (self->spinner);
  g_clear_pointer (&self->number_texts, g_hash_table_unref);
  self->number_texts = g_steal_pointer (&number_texts);
  if (resource == NULL)
    {
      /* A status page reads its description as markup; a server's words may hold '&'. */
      g_autofree char *escaped = g_markup_escape_text (error->message, -1);

      adw_status_page_set_description (self->error_page, escaped);
      gtk_stack_set_visible_child_name (self->stack, "error");
      read_done (self);
      return;
    }
  show_resource (self, resource);
  read_done (self);
}

static void
load (ChartaResourceView *self)
{
  cancel_reads (self);
  g_clear_pointer (&self->resource, json_node_unref);
  g_clear_pointer (&self->number_texts, g_hash_table_unref);
  g_clear_pointer (&self->title, g_free);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
  gtk_toggle_button_set_active (self->raw_button, FALSE);
  if (self->reference == NULL || self->client == NULL)
    {
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }
  g_debug ("reading %s", self->reference);
  self->cancellable = g_cancellable_new ();
  gtk_spinner_start (self->spinner);
  gtk_stack_set_visible_child_name (self->stack, "loading");
  charta_client_get_resource_async (self->client, self->reference, self->cancellable,
                                    resource_read, read_new (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
}

/* ---- actions ------------------------------------------------------------------------------ */

static void
retry_clicked (ChartaResourceView *self)
{
  load (self);
}

static void
raw_toggled (ChartaResourceView *self)
{
  gboolean raw = gtk_toggle_button_get_active (self->raw_button);

  gtk_stack_set_visible_child_name (self->view_stack, raw ? "json" : "fields");
}

static void
history_clicked (ChartaResourceView *self)
{
  if (self->reference != NULL)
    g_signal_emit (self, signals[SHOW_HISTORY], 0);
}

static void
edit_clicked (ChartaResourceView *self)
{
  if (self->resource != NULL)
    g_signal_emit (self, signals[EDIT], 0);
}

/* ---- the object --------------------------------------------------------------------------- */

static void
charta_resource_view_dispose (GObject *object)
{
  ChartaResourceView *self = CHARTA_RESOURCE_VIEW (object);

  cancel_reads (self);
  g_clear_object (&self->client);
  g_clear_pointer (&self->resource, json_node_unref);
  g_clear_pointer (&self->number_texts, g_hash_table_unref);

  G_OBJECT_CLASS (charta_resource_view_parent_class)->dispose (object);
}

static void
charta_resource_view_finalize (GObject *object)
{
  ChartaResourceView *self = CHARTA_RESOURCE_VIEW (object);

  g_free (self->reference);
  g_free (self->title);

  G_OBJECT_CLASS (charta_resource_view_parent_class)->finalize (object);
}

static void
charta_resource_view_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  ChartaResourceView *self = CHARTA_RESOURCE_VIEW (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_LOADED:
      g_value_set_boolean (value, charta_resource_view_is_loaded (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_resource_view_class_init (ChartaResourceViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = charta_resource_view_dispose;
  object_class->finalize = charta_resource_view_finalize;
  object_class->get_property = charta_resource_view_get_property;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADED] =
    g_param_spec_boolean ("loaded", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The user asked for the resource's history. */
  signals[SHOW_HISTORY] =
    g_signal_new ("show-history", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
  /* The user asked to correct the version on screen. */
  signals[EDIT] =
    g_signal_new ("edit", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/charta/Desktop/charta-resource-view.ui");
  gtk_widget_class_bind_template_child (widget_class, ChartaResourceView, stack);
  gtk_widget_class_bind_template_child (widget_class, ChartaResourceView, spinner);
  gtk_widget_class_bind_template_child (widget_class, ChartaResourceView, error_page);
  gtk_widget_class_bind_template_child (widget_class, ChartaResourceView, record_title);
  gtk_widget_class_bind_template_child (widget_class, ChartaResourceView, record_subtitle);
  gtk_widget_class_bind_template_child (widget_class, ChartaResourceView, history_button);
  gtk_widget_class_bind_template_child (widget_class, ChartaResourceView, edit_button);
  gtk_widget_class_bind_template_child (widget_class, ChartaResourceView, raw_button);
  gtk_widget_class_bind_template_child (widget_class, ChartaResourceView, in_error_group);
  gtk_widget_class_bind_template_child (widget_class, ChartaResourceView, in_error_row);
  gtk_widget_class_bind_template_child (widget_class, ChartaResourceView, change_row);
  gtk_widget_class_bind_template_child (widget_class, ChartaResourceView, view_stack);
  gtk_widget_class_bind_template_child (widget_class, ChartaResourceView, fields_box);
  gtk_widget_class_bind_template_child (widget_class, ChartaResourceView, json_view);
  gtk_widget_class_bind_template_callback (widget_class, retry_clicked);
  gtk_widget_class_bind_template_callback (widget_class, raw_toggled);
  gtk_widget_class_bind_template_callback (widget_class, history_clicked);
  gtk_widget_class_bind_template_callback (widget_class, edit_clicked);
}

static void
charta_resource_view_init (ChartaResourceView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
charta_resource_view_new (void)
{
  return g_object_new (CHARTA_TYPE_RESOURCE_VIEW, NULL);
}

void
charta_resource_view_set_client (ChartaResourceView *self,
                                 ChartaClient       *client)
{
  g_return_if_fail (CHARTA_IS_RESOURCE_VIEW (self));
  g_return_if_fail (client == NULL || CHARTA_IS_CLIENT (client));

  if (!g_set_object (&self->client, client))
    return;
  g_clear_pointer (&self->reference, g_free);
  load (self);
}

void
charta_resource_view_show (ChartaResourceView *self,
                           const char         *reference)
{
  g_return_if_fail (CHARTA_IS_RESOURCE_VIEW (self));

  g_free (self->reference);
  self->reference = g_strdup (reference);
  load (self);
}

void
charta_resource_view_reload (ChartaResourceView *self)
{
  g_return_if_fail (CHARTA_IS_RESOURCE_VIEW (self));

  load (self);
}

const char *
charta_resource_view_get_reference (ChartaResourceView *self)
{
  g_return_val_if_fail (CHARTA_IS_RESOURCE_VIEW (self), NULL);

  return self->reference;
}

JsonNode *
charta_resource_view_get_resource (ChartaResourceView *self)
{
  g_return_val_if_fail (CHARTA_IS_RESOURCE_VIEW (self), NULL);

  return self->resource;
}

GHashTable *
charta_resource_view_get_number_texts (ChartaResourceView *self)
{
  g_return_val_if_fail (CHARTA_IS_RESOURCE_VIEW (self), NULL);

  return self->number_texts;
}

const char *
charta_resource_view_get_title (ChartaResourceView *self)
{
  g_return_val_if_fail (CHARTA_IS_RESOURCE_VIEW (self), NULL);

  return self->title;
}

gboolean
charta_resource_view_is_loaded (ChartaResourceView *self)
{
  g_return_val_if_fail (CHARTA_IS_RESOURCE_VIEW (self), FALSE);

  return self->reference != NULL && self->cancellable != NULL && self->n_pending == 0;
}
