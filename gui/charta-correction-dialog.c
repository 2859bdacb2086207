/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-correction-dialog.c: correcting a record (see charta-correction-dialog.h).
 *
 * The form is a table of fields (FieldInfo): each has a row (an AdwEntryRow, or an
 * AdwComboRow over codes), an error row right below it that shows what the server or the
 * dialog found wrong with it, and the text it had in the version being edited (initial[]).  A
 * field counts as changed when its text differs from that initial text; only changed fields
 * are written into the record (apply_field()), so whatever the form does not show, or shows
 * but the user left alone, goes back to the server as it came.
 *
 * Reload and reapply is a three-way merge per field: base (the initial text), theirs (the new
 * version's text), ours (the form).  A field the user left alone takes theirs; a changed field
 * keeps ours; a field both changed keeps ours and is named in the banner.  The dialog then
 * edits their version, and the next PUT carries its version in If-Match.
 *
 * Every async step holds a reference to the dialog and shares its GCancellable, which closing
 * cancels.  Nothing is logged but ids, version numbers and statuses.
 */
#define G_LOG_DOMAIN "charta-correction-dialog"

#include <string.h>

#include "charta-correction-dialog.h"
#include "charta-json-editor.h"
#include "charta-diff.h"
#include "charta-fhir-text.h"
#include "charta-json-text.h"

#define CONDITION_CLINICAL "http://terminology.hl7.org/CodeSystem/condition-clinical"
#define CONDITION_VERIFICATION "http://terminology.hl7.org/CodeSystem/condition-ver-status"

/* The characters of an element path ("Condition.clinicalStatus", "name[0].given"). */
#define PATH_CHARACTERS \
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.[]"

/* How many of the changes someone else made the conflict banner lists by name. */
#define MAX_LISTED_CHANGES 6

typedef enum
{
  FIELD_VALUE,
  FIELD_UNIT,
  FIELD_STATUS,
  FIELD_FAMILY,
  FIELD_GIVEN,
  FIELD_BIRTH_DATE,
  FIELD_GENDER,
  FIELD_CLINICAL_STATUS,
  FIELD_ONSET,
  FIELD_MRN,
  FIELD_ALLERGY_CLINICAL,
  FIELD_ALLERGY_VERIFICATION,
  FIELD_CRITICALITY,
  FIELD_MEDICATION_STATUS,
  N_FIELDS
} FieldId;

static const char *const observation_statuses[] = {
  "registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error",
  "unknown", NULL,
};
static const char *const genders[] = { "", "female", "male", "other", "unknown", NULL };
static const char *const clinical_statuses[] = {
  "", "active", "recurrence", "relapse", "inactive", "remission", "resolved", NULL,
};
static const char *const allergy_clinical_statuses[] = {
  "", "active", "inactive", "resolved", NULL,
};
/* entered-in-error is the kind of change "Entered in error", not a choice here. */
static const char *const allergy_verification_statuses[] = {
  "", "unconfirmed", "confirmed", "refuted", NULL,
};
static const char *const criticalities[] = { "", "low", "high", "unable-to-assess", NULL };
static const char *const medication_statuses[] = {
  "active", "on-hold", "cancelled", "completed", "stopped", "draft", "unknown", NULL,
};

typedef struct
{
  const char *type;              /* the resource type whose form has it */
  const char *row_id;            /* its row in the template */
  const char *error_id;          /* its error row */
  const char *label;             /* for messages */
  const char *const *codes;      /* a combo row's codes ("" : not recorded); NULL: an entry */
  const char *paths[4];          /* element paths that name it in an OperationOutcome, without
                                  * the type and without indices */
} FieldInfo;

static const FieldInfo field_info[N_FIELDS] = {
  [FIELD_VALUE] = { "Observation", "value_row", "value_error", "Value", NULL,
                    { "valueQuantity.value", "valueQuantity", "value" } },
  [FIELD_UNIT] = { "Observation", "unit_row", "unit_error", "Unit", NULL,
                   { "valueQuantity.unit", "valueQuantity.code", "valueQuantity.system" } },
  [FIELD_STATUS] = { "Observation", "status_row", "status_error", "Status",
                     observation_statuses, { "status" } },
  [FIELD_FAMILY] = { "Patient", "family_row", "family_error", "Family name", NULL,
                     { "name.family", "name" } },
  [FIELD_GIVEN] = { "Patient", "given_row", "given_error", "Given names", NULL,
                    { "name.given" } },
  [FIELD_BIRTH_DATE] = { "Patient", "birth_date_row", "birth_date_error", "Birth date", NULL,
                         { "birthDate" } },
  [FIELD_GENDER] = { "Patient", "gender_row", "gender_error", "Sex", genders, { "gender" } },
  [FIELD_CLINICAL_STATUS] = { "Condition", "clinical_status_row", "clinical_status_error",
                              "Clinical status", clinical_statuses,
                              { "clinicalStatus", "verificationStatus" } },
  [FIELD_ONSET] = { "Condition", "onset_row", "onset_error", "Onset", NULL,
                    { "onsetDateTime", "onset", "onsetPeriod", "onsetString" } },
  [FIELD_MRN] = { "Patient", "mrn_row", "mrn_error", "MRN", NULL,
                  { "identifier.value", "identifier" } },
  [FIELD_ALLERGY_CLINICAL] = { "AllergyIntolerance", "allergy_clinical_row",
                               "allergy_clinical_error", "Clinical status",
                               allergy_clinical_statuses, { "clinicalStatus" } },
  [FIELD_ALLERGY_VERIFICATION] = { "AllergyIntolerance", "allergy_verification_row",
                                   "allergy_verification_error", "Verification",
                                   allergy_verification_statuses, { "verificationStatus" } },
  [FIELD_CRITICALITY] = { "AllergyIntolerance", "criticality_row", "criticality_error",
                          "Criticality", criticalities, { "criticality" } },
  [FIELD_MEDICATION_STATUS] = { "MedicationRequest", "medication_status_row",
                                "medication_status_error", "Status", medication_statuses,
                                { "status" } },
};

/* The types with a form, and its group in the template; any other type is edited as JSON. */
static const struct
{
  const char *type;
  const char *group_id;
} form_info[] = {
  { "Observation", "observation_group" },
  { "Patient", "patient_group" },
  { "Condition", "condition_group" },
  { "AllergyIntolerance", "allergy_group" },
  { "MedicationRequest", "medication_group" },
};

#define ALLERGY_CLINICAL "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
#define ALLERGY_VERIFICATION \
  "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"

static const struct
{
  ChartaChangeKind kind;
  const char *check_id;
  const char *activity;
  const char *words;
} kind_info[] = {
  { CHARTA_CHANGE_KIND_CORRECTION, "kind_correction", "amend", "correction" },
  { CHARTA_CHANGE_KIND_ADDENDUM, "kind_addendum", "APPEND", "addendum" },
  { CHARTA_CHANGE_KIND_LATE_ENTRY, "kind_late_entry", "originate", "late entry" },
  { CHARTA_CHANGE_KIND_ENTERED_IN_ERROR, "kind_entered_in_error", "NULLIFY",
    "entered in error" },
  { CHARTA_CHANGE_KIND_ADMINISTRATIVE, "kind_administrative", "UPDATE",
    "administrative correction" },
};

struct _ChartaCorrectionDialog
{
  AdwWindow parent_instance;

  ChartaClient *client;
  JsonNode *base;              /* the version being edited */
  GHashTable *number_texts;    /* its numbers' texts, or NULL */
  char *type;
  char *id;
  char *agent_reference;
  char *agent_display;
  GCancellable *cancellable;   /* the save or reload under way */
  gboolean busy;
  gboolean saved;
  gboolean unconfirmed;        /* the last Save went out, and no answer said what became of it */
  gboolean filling;            /* the form is being filled by code: not the user's change */
  gboolean status_suggested;   /* the status was set from the kind of change, not by the user */
  unsigned name_index;         /* the Patient's HumanName the form edits */
  char *initial[N_FIELDS];     /* each field's text in the version being edited */

  AdwWindowTitle *dialog_title;
  GtkButton *save_button;
  GtkSpinner *busy_spinner;
  GtkRevealer *banner_revealer;
  GtkWidget *banner;
  GtkImage *banner_icon;
  GtkLabel *banner_label;
  GtkButton *reload_button;
  AdwActionRow *kind_entered_in_error_row;
  AdwEntryRow *reason_row;
  GtkWidget *groups[G_N_ELEMENTS (form_info)];
  GtkWidget *form_group;       /* the type's, or NULL: edited as JSON */
  GtkWidget *json_group;
  ChartaJsonEditor *json_editor;
  GtkStringList *observation_statuses;
  GtkStringList *genders;
  GtkStringList *clinical_statuses;
  GtkStringList *allergy_clinical_statuses;
  GtkStringList *allergy_verification_statuses;
  GtkStringList *criticalities;
  GtkStringList *medication_statuses;
  GtkWidget *form_box;
  GtkWidget *focus_before;     /* what had the focus when a save or reload began (weak) */
  GtkLabel *form_note;
  GtkLabel *hint_label;
  AdwPreferencesGroup *reason_group;
  GtkWidget *rows[N_FIELDS];
  AdwActionRow *errors[N_FIELDS];
  GtkCheckButton *kind_checks[G_N_ELEMENTS (kind_info)];
};

enum
{
  SAVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ChartaCorrectionDialog, charta_correction_dialog, ADW_TYPE_WINDOW)

const char *
charta_change_kind_get_activity (ChartaChangeKind kind)
{
  for (size_t i = 0; i < G_N_ELEMENTS (kind_info); i++)
    if (kind_info[i].kind == kind)
      return kind_info[i].activity;
  return NULL;
}

gboolean
charta_correction_dialog_can_edit (const char *type)
{
  /* A Provenance or AuditEvent is the record of a change, not a record to correct; a Binary
   * is content, not JSON to edit. */
  return type != NULL && g_ascii_isupper (type[0]) && strcmp (type, "Provenance") != 0
         && strcmp (type, "AuditEvent") != 0 && strcmp (type, "Binary") != 0;
}

/* Whether @type has a form (else the record is edited as JSON). */
static gboolean
has_form (const char *type)
{
  for (size_t i = 0; i < G_N_ELEMENTS (form_info); i++)
    if (g_strcmp0 (form_info[i].type, type) == 0)
      return TRUE;
  return FALSE;
}

/* ---- fields ------------------------------------------------------------------------------- */

static gboolean
field_shown (ChartaCorrectionDialog *self,
             FieldId                 field)
{
  return g_strcmp0 (field_info[field].type, self->type) == 0;
}

/* The field's text in the form: an entry's text without surrounding space, a combo's code. */
static char *
field_text (ChartaCorrectionDialog *self,
            FieldId                 field)
{
  const FieldInfo *info = &field_info[field];

  if (info->codes != NULL)
    {
      unsigned selected = adw_combo_row_get_selected (ADW_COMBO_ROW (self->rows[field]));

      if (selected == GTK_INVALID_LIST_POSITION
          || selected >= g_strv_length ((char **) info->codes))
        return g_strdup (self->initial[field] != NULL ? self->initial[field] : "");
      return g_strdup (info->codes[selected]);
    }
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->rows[field]))));
}

static void
set_field_text (ChartaCorrectionDialog *self,
                FieldId                 field,
                const char             *text)
{
  const FieldInfo *info = &field_info[field];

  if (info->codes != NULL)
    {
      unsigned position = GTK_INVALID_LIST_POSITION;

      for (unsigned i = 0; info->codes[i] != NULL; i++)
        if (g_strcmp0 (info->codes[i], text) == 0)
          position = i;
      adw_combo_row_set_selected (ADW_COMBO_ROW (self->rows[field]), position);
      return;
    }
  gtk_editable_set_text (GTK_EDITABLE (self->rows[field]), text != NULL ? text : "");
}

static gboolean
field_changed (ChartaCorrectionDialog *self,
               FieldId                 field)
{
  g_autofree char *text = NULL;

  if (!field_shown (self, field))
    return FALSE;
  text = field_text (self, field);
  return g_strcmp0 (text, self->initial[field] != NULL ? self->initial[field] : "") != 0;
}

/* The index of the HumanName that the form edits: the official, else the usual, else the
 * first (the one the chart shows). */
static unsigned
choose_name (JsonObject *resource)
{
  static const char *const preferred[] = { "official", "usual" };
  JsonArray *names = charta_json_get_array (resource, "name");

  for (size_t p = 0; names != NULL && p < G_N_ELEMENTS (preferred); p++)
    for (unsigned i = 0; i < json_array_get_length (names); i++)
      {
        JsonNode *node = json_array_get_element (names, i);

        if (JSON_NODE_HOLDS_OBJECT (node)
            && g_strcmp0 (charta_json_get_string (json_node_get_object (node), "use"),
                          preferred[p]) == 0)
          return i;
      }
  return 0;
}

static JsonObject *
edited_name (JsonObject *resource,
             unsigned    index)
{
  JsonArray *names = charta_json_get_array (resource, "name");
  JsonNode *node;

  if (names == NULL || index >= json_array_get_length (names))
    return NULL;
  node = json_array_get_element (names, index);
  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* A number's text as the server wrote it, else in its shortest form. */
static char *
number_text (ChartaCorrectionDialog *self,
             JsonObject             *object,
             const char             *member,
             const char             *path)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, member) : NULL;
  const char *written = self->number_texts != NULL
                          ? g_hash_table_lookup (self->number_texts, path) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  if (json_node_get_value_type (node) != G_TYPE_INT64
      && json_node_get_value_type (node) != G_TYPE_DOUBLE)
    return NULL;
  if (written != NULL)
    return g_strdup (written);
  return charta_diff_value_text (node);
}

/* What @field says in @resource, as the form shows it. */
static char *
resource_field_text (ChartaCorrectionDialog *self,
                     JsonObject             *resource,
                     FieldId                 field)
{
  JsonObject *quantity = charta_json_get_object (resource, "valueQuantity");
  JsonObject *name = edited_name (resource, self->name_index);
  char *text = NULL;

  switch (field)
    {
    case FIELD_VALUE:
      text = number_text (self, quantity, "value", "valueQuantity.value");
      break;
    case FIELD_UNIT:
      text = g_strdup (charta_json_get_string (quantity, "unit"));
      if (text == NULL)
        text = g_strdup (charta_json_get_string (quantity, "code"));
      break;
    case FIELD_STATUS:
      text = g_strdup (charta_json_get_string (resource, "status"));
      break;
    case FIELD_FAMILY:
      text = g_strdup (charta_json_get_string (name, "family"));
      break;
    case FIELD_GIVEN:
      {
        JsonArray *given = charta_json_get_array (name, "given");
        g_autoptr(GString) words = g_string_new (NULL);

        for (unsigned i = 0; given != NULL && i < json_array_get_length (given); i++)
          {
            JsonNode *node = json_array_get_element (given, i);

            if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
              continue;
            if (words->len > 0)
              g_string_append_c (words, ' ');
            g_string_append (words, json_node_get_string (node));
          }
        text = g_string_free (g_steal_pointer (&words), FALSE);
      }
      break;
    case FIELD_BIRTH_DATE:
      text = g_strdup (charta_json_get_string (resource, "birthDate"));
      break;
    case FIELD_GENDER:
      text = g_strdup (charta_json_get_string (resource, "gender"));
      break;
    case FIELD_CLINICAL_STATUS:
      text = g_strdup (charta_json_get_string (
                         charta_json_get_first (charta_json_get_object (resource,
                                                                        "clinicalStatus"),
                                                "coding"), "code"));
      break;
    case FIELD_ONSET:
      text = g_strdup (charta_json_get_string (resource, "onsetDateTime"));
      break;
    case FIELD_MRN:
      text = g_strdup (charta_json_get_string (charta_fhir_find_mrn (resource), "value"));
      break;
    case FIELD_ALLERGY_CLINICAL:
      text = g_strdup (charta_json_get_string (
                         charta_json_get_first (charta_json_get_object (resource,
                                                                        "clinicalStatus"),
                                                "coding"), "code"));
      break;
    case FIELD_ALLERGY_VERIFICATION:
      text = g_strdup (charta_json_get_string (
                         charta_json_get_first (charta_json_get_object (resource,
                                                                        "verificationStatus"),
                                                "coding"), "code"));
      break;
    case FIELD_CRITICALITY:
      text = g_strdup (charta_json_get_string (resource, "criticality"));
      break;
    case FIELD_MEDICATION_STATUS:
      text = g_strdup (charta_json_get_string (resource, "status"));
      break;
    default:
      g_assert_not_reached ();
    }
  return text != NULL ? text : g_strdup ("");
}

/* ---- the form ----------------------------------------------------------------------------- */

static ChartaChangeKind
chosen_kind (ChartaCorrectionDialog *self)
{
  for (size_t i = 0; i < G_N_ELEMENTS (kind_info); i++)
    if (gtk_check_button_get_active (self->kind_checks[i]))
      return kind_info[i].kind;
  return CHARTA_CHANGE_KIND_NONE;
}

static gboolean
any_field_changed (ChartaCorrectionDialog *self)
{
  if (self->form_group == NULL)
    return charta_json_editor_is_changed (self->json_editor);
  for (FieldId field = 0; field < N_FIELDS; field++)
    if (field_changed (self, field))
      return TRUE;
  return FALSE;
}

/* Whether the user has typed or chosen anything (for the question on closing). */
static gboolean
is_dirty (ChartaCorrectionDialog *self)
{
  g_autofree char *reason = g_strstrip (g_strdup (gtk_editable_get_text (
                                                     GTK_EDITABLE (self->reason_row))));

  return !self->saved && (chosen_kind (self) != CHARTA_CHANGE_KIND_NONE || *reason != '\0'
                          || any_field_changed (self));
}

/* What Save needs, in words, or NULL when it can go. */
static const char *
missing (ChartaCorrectionDialog *self)
{
  ChartaChangeKind kind = chosen_kind (self);
  g_autofree char *reason = g_strstrip (g_strdup (gtk_editable_get_text (
                                                     GTK_EDITABLE (self->reason_row))));

  if (kind == CHARTA_CHANGE_KIND_NONE && *reason == '\0')
    return "Choose the kind of change and give a reason to save.";
  if (kind == CHARTA_CHANGE_KIND_NONE)
    return "Choose the kind of change to save.";
  if (*reason == '\0')
    return "Give a reason to save.";
  if (kind == CHARTA_CHANGE_KIND_ENTERED_IN_ERROR)
    {
      JsonObject *base = json_node_get_object (self->base);

      if (charta_fhir_is_entered_in_error (base))
        return "This record is marked entered in error already.";
      if (!json_object_has_member (base, "status")
          && !json_object_has_member (base, "verificationStatus")
          && !has_form (self->type))
        return "This kind of record has no status to mark entered in error: correct what it "
               "says instead.";
      return NULL;
    }
  if (self->form_group == NULL && !charta_json_editor_is_valid (self->json_editor))
    return charta_json_editor_get_message (self->json_editor);
  if (!any_field_changed (self))
    return self->form_group == NULL ? "Change something in the record to save."
                                    : "Change something in the form to save.";
  return NULL;
}

static void
update_state (ChartaCorrectionDialog *self)
{
  const char *need = missing (self);
  gboolean in_error = chosen_kind (self) == CHARTA_CHANGE_KIND_ENTERED_IN_ERROR;

  gtk_widget_set_sensitive (GTK_WIDGET (self->save_button), need == NULL && !self->busy);
  gtk_label_set_text (self->hint_label, need != NULL ? need : "");
  gtk_widget_set_visible (GTK_WIDGET (self->hint_label), need != NULL);
  /* Entered in error keeps what the record says (a Patient has no such kind). */
  if (self->form_group != NULL && strcmp (self->type, "Patient") != 0)
    gtk_widget_set_sensitive (self->form_group, !in_error);
  gtk_widget_set_sensitive (self->json_group, !in_error);
  if (in_error)
    {
      gtk_label_set_text (self->form_note, "Marked entered in error, the record stays in the "
                                           "chart, struck through, with your reason; what it "
                                           "says is kept as it was.");
      gtk_widget_set_visible (GTK_WIDGET (self->form_note), TRUE);
    }
  else
    gtk_widget_set_visible (GTK_WIDGET (self->form_note), FALSE);
}

/* An Observation's status follows the kind of change while the user leaves it alone: a
 * corrected value makes a final result "corrected", an addendum or late entry "amended"
 * (FHIR's observation-status codes for a result changed after it was final). */
static void
suggest_status (ChartaCorrectionDialog *self)
{
  ChartaChangeKind kind = chosen_kind (self);
  const char *initial = self->initial[FIELD_STATUS];
  const char *suggestion = NULL;
  g_autofree char *current = NULL;

  if (!field_shown (self, FIELD_STATUS))
    return;
  current = field_text (self, FIELD_STATUS);
  if (!self->status_suggested && g_strcmp0 (current, initial) != 0)
    return;
  if ((field_changed (self, FIELD_VALUE) || field_changed (self, FIELD_UNIT))
      && (g_strcmp0 (initial, "final") == 0 || g_strcmp0 (initial, "amended") == 0
          || g_strcmp0 (initial, "corrected") == 0))
    {
      if (kind == CHARTA_CHANGE_KIND_CORRECTION || kind == CHARTA_CHANGE_KIND_ADMINISTRATIVE)
        suggestion = "corrected";
      else if (kind == CHARTA_CHANGE_KIND_ADDENDUM || kind == CHARTA_CHANGE_KIND_LATE_ENTRY)
        suggestion = "amended";
    }
  self->filling = TRUE;
  set_field_text (self, FIELD_STATUS, suggestion != NULL ? suggestion : initial);
  self->filling = FALSE;
  self->status_suggested = suggestion != NULL;
}

static void
clear_errors (ChartaCorrectionDialog *self)
{
  for (FieldId field = 0; field < N_FIELDS; field++)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->errors[field]), FALSE);
      gtk_widget_remove_css_class (self->rows[field], "error");
    }
}

static void
show_field_error (ChartaCorrectionDialog *self,
                  FieldId                 field,
                  const char             *message)
{
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->errors[field]), message);
  gtk_widget_set_visible (GTK_WIDGET (self->errors[field]), TRUE);
  gtk_widget_add_css_class (self->rows[field], "error");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->rows[field]),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, message, -1);
}

typedef enum
{
  BANNER_ERROR,
  BANNER_CONFLICT,
  BANNER_INFO,
} BannerKind;

static void
show_banner (ChartaCorrectionDialog *self,
             BannerKind              kind,
             const char             *text)
{
  gtk_label_set_text (self->banner_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->reload_button), kind == BANNER_CONFLICT);
  gtk_widget_remove_css_class (self->banner, "problem");
  gtk_widget_remove_css_class (self->banner, "news");
  gtk_widget_add_css_class (self->banner, kind == BANNER_INFO ? "news" : "problem");
  gtk_image_set_from_icon_name (self->banner_icon, kind == BANNER_INFO
                                                     ? "dialog-information-symbolic"
                                                     : "dialog-warning-symbolic");
  gtk_revealer_set_reveal_child (self->banner_revealer, TRUE);
}

static void
hide_banner (ChartaCorrectionDialog *self)
{
  gtk_revealer_set_reveal_child (self->banner_revealer, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->reload_button), FALSE);
}

static void
form_changed (ChartaCorrectionDialog *self)
{
  if (self->filling)
    return;
  update_state (self);
}

static void
value_changed (ChartaCorrectionDialog *self)
{
  if (self->filling)
    return;
  suggest_status (self);
  update_state (self);
}

static void
status_changed (ChartaCorrectionDialog *self)
{
  if (self->filling)
    return;
  /* The user chose the status: it is theirs from now on. */
  self->status_suggested = FALSE;
  update_state (self);
}

static void
kind_toggled (ChartaCorrectionDialog *self,
              GtkCheckButton         *check)
{
  if (!gtk_check_button_get_active (check))
    return;
  suggest_status (self);
  update_state (self);
}

/* "Recorded in version 1: 56.8 kg · Final", from the initial texts. */
static char *
recorded_text (ChartaCorrectionDialog *self)
{
  JsonObject *meta = charta_json_get_object (json_node_get_object (self->base), "meta");
  g_autoptr(GString) text = g_string_new (NULL);

  g_string_printf (text, "Recorded in version %s:",
                   charta_json_get_string (meta, "versionId") != NULL
                     ? charta_json_get_string (meta, "versionId") : "?");
  for (FieldId field = 0; field < N_FIELDS; field++)
    {
      const char *initial = self->initial[field];
      g_autofree char *words = NULL;
      const char *gender;

      if (!field_shown (self, field) || initial == NULL || *initial == '\0')
        continue;
      /* The unit goes with the value, the family name after the given names. */
      if (field == FIELD_UNIT)
        {
          g_string_append_printf (text, " %s", initial);
          continue;
        }
      if (field == FIELD_FAMILY && field_shown (self, FIELD_GIVEN)
          && self->initial[FIELD_GIVEN] != NULL && *self->initial[FIELD_GIVEN] != '\0')
        continue;
      gender = field == FIELD_GENDER ? charta_fhir_text_gender (initial) : NULL;
      if (field == FIELD_GIVEN && self->initial[FIELD_FAMILY] != NULL)
        words = g_strdup_printf ("%s %s", initial, self->initial[FIELD_FAMILY]);
      else
        words = field_info[field].codes != NULL ? charta_fhir_text_code (initial)
                                                 : g_strdup (initial);
      g_string_append_printf (text, "%s %s%s", text->str[text->len - 1] == ':' ? "" : " ·",
                              field == FIELD_BIRTH_DATE ? "born " : field == FIELD_ONSET
                                                                      ? "onset " : "",
                              gender != NULL ? gender : words);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* Fills the form from self->base: every field when @all, else (after a reload) only the
 * fields the user left alone, the others keeping what was typed.  Returns the labels of the
 * fields that both the user and the new version changed, or NULL. */
static GPtrArray *
fill_form (ChartaCorrectionDialog *self,
           gboolean                all)
{
  JsonObject *resource = json_node_get_object (self->base);
  JsonObject *meta = charta_json_get_object (resource, "meta");
  g_autofree char *title = NULL;
  g_autofree char *what = charta_fhir_text_resource_title (resource);
  g_autofree char *subtitle = NULL;
  g_autofree char *recorded = NULL;
  g_autofree char *escaped = NULL;
  GPtrArray *both = NULL;

  self->filling = TRUE;
  self->name_index = choose_name (resource);
  for (FieldId field = 0; field < N_FIELDS; field++)
    {
      g_autofree char *theirs = NULL;
      g_autofree char *ours = NULL;

      if (!field_shown (self, field))
        continue;
      theirs = resource_field_text (self, resource, field);
      ours = field_text (self, field);
      if (all || g_strcmp0 (ours, self->initial[field]) == 0
          || (field == FIELD_STATUS && self->status_suggested))
        set_field_text (self, field, theirs);
      else if (g_strcmp0 (theirs, self->initial[field]) != 0 && g_strcmp0 (theirs, ours) != 0)
        {
          if (both == NULL)
            both = g_ptr_array_new ();
          g_ptr_array_add (both, (gpointer) field_info[field].label);
        }
      g_free (self->initial[field]);
      self->initial[field] = g_steal_pointer (&theirs);
    }
  self->filling = FALSE;

  /* A value that is not one quantity (a blood pressure's components, a coded result) has no
   * value and unit to edit here. */
  if (field_shown (self, FIELD_VALUE))
    {
      gboolean quantity = charta_json_get_object (resource, "valueQuantity") != NULL;

      gtk_widget_set_sensitive (self->rows[FIELD_VALUE], quantity);
      gtk_widget_set_sensitive (self->rows[FIELD_UNIT], quantity);
      if (!quantity)
        {
          gtk_widget_set_tooltip_text (self->rows[FIELD_VALUE], "This observation’s value is "
                                       "not a single quantity: only its status can be changed "
                                       "here");
        }
    }

  if (field_shown (self, FIELD_MRN))
    {
      gboolean mrn = charta_fhir_find_mrn (resource) != NULL;

      gtk_widget_set_sensitive (self->rows[FIELD_MRN], mrn);
      if (!mrn)
        gtk_widget_set_tooltip_text (self->rows[FIELD_MRN], "This patient has no MRN to "
                                     "correct: an identifier is added in the registration "
                                     "system");
    }

  /* What the version being edited says, above the fields that change it (a group's
   * description is markup; the record's texts are not). */
  recorded = recorded_text (self);
  escaped = g_markup_escape_text (recorded, -1);
  if (self->form_group != NULL)
    adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (self->form_group), escaped);
  else if (all)
    /* The JSON as the server wrote it; after a reload, what the user typed stays. */
    charta_json_editor_set_resource (self->json_editor, self->base, self->number_texts);

  title = g_strdup_printf ("Correct %s", what);
  subtitle = g_strdup_printf ("%s · editing version %s", self->type,
                              charta_json_get_string (meta, "versionId"));
  adw_window_title_set_title (self->dialog_title, title);
  adw_window_title_set_subtitle (self->dialog_title, subtitle);
  gtk_window_set_title (GTK_WINDOW (self), title);
  suggest_status (self);
  update_state (self);
  return both;
}

/* ---- the record as edited ----------------------------------------------------------------- */

/* Whether @text is a FHIR date as a person types it: YYYY, YYYY-MM or YYYY-MM-DD (the server
 * checks that the day exists). */
static gboolean
looks_like_date (const char *text)
{
  size_t length = strlen (text);

  if (length != 4 && length != 7 && length != 10)
    return FALSE;
  for (size_t i = 0; i < length; i++)
    if ((i == 4 || i == 7) ? text[i] != '-' : !g_ascii_isdigit (text[i]))
      return FALSE;
  return TRUE;
}

/* Whether @text is a decimal as FHIR writes it: an optional minus, digits, and optionally a
 * point and more digits. */
static gboolean
looks_like_decimal (const char *text)
{
  const char *p = text;

  if (*p == '-')
    p++;
  if (!g_ascii_isdigit (*p))
    return FALSE;
  while (g_ascii_isdigit (*p))
    p++;
  if (*p == '.')
    {
      p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      while (g_ascii_isdigit (*p))
        p++;
    }
  return *p == '\0';
}

/* Checks what the user typed before it goes to the server; marks each field that is wrong. */
static gboolean
check_fields (ChartaCorrectionDialog *self)
{
  gboolean ok = TRUE;

  if (chosen_kind (self) == CHARTA_CHANGE_KIND_ENTERED_IN_ERROR)
    return TRUE;
  for (FieldId field = 0; field < N_FIELDS; field++)
    {
      g_autofree char *text = NULL;
      const char *problem = NULL;

      if (!field_changed (self, field))
        continue;
      text = field_text (self, field);
      switch (field)
        {
        case FIELD_VALUE:
          if (!looks_like_decimal (text))
            problem = "Enter a number, such as 72.5 (digits, with a point before decimals)";
          break;
        case FIELD_UNIT:
          if (*text == '\0')
            problem = "Enter the unit of the value, such as kg";
          break;
        case FIELD_FAMILY:
          if (*text == '\0')
            problem = "Enter the family name";
          break;
        case FIELD_BIRTH_DATE:
        case FIELD_ONSET:
          if (*text != '\0' && !looks_like_date (text))
            problem = "Enter the date as YYYY-MM-DD, such as 1984-03-07";
          break;
        default:
          break;
        }
      if (problem != NULL)
        {
          show_field_error (self, field, problem);
          ok = FALSE;
        }
    }
  return ok;
}

static void
set_or_remove_string (JsonObject *object,
                      const char *member,
                      const char *text)
{
  if (text != NULL && *text != '\0')
    json_object_set_string_member (object, member, text);
  else if (json_object_has_member (object, member))
    json_object_remove_member (object, member);
}

static JsonNode *
status_concept (const char *system,
                const char *code)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autofree char *display = charta_fhir_text_code (code);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "coding");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "system");
  json_builder_add_string_value (builder, system);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "display");
  json_builder_add_string_value (builder, display);
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/* Writes the changed @field into @resource (a copy of the base). */
static void
apply_field (ChartaCorrectionDialog *self,
             JsonObject             *resource,
             FieldId                 field)
{
  g_autofree char *text = field_text (self, field);
  JsonObject *quantity = charta_json_get_object (resource, "valueQuantity");
  JsonObject *name = edited_name (resource, self->name_index);

  switch (field)
    {
    case FIELD_VALUE:
      if (quantity == NULL)
        return;
      if (strchr (text, '.') != NULL)
        json_object_set_double_member (quantity, "value", g_ascii_strtod (text, NULL));
      else
        json_object_set_int_member (quantity, "value", g_ascii_strtoll (text, NULL, 10));
      break;
    case FIELD_UNIT:
      if (quantity == NULL)
        return;
      /* A code that said what the unit said follows it (UCUM codes are the units' text in
       * the records this form is for); another code no longer fits, and goes. */
      if (g_strcmp0 (charta_json_get_string (quantity, "code"), self->initial[FIELD_UNIT]) == 0)
        set_or_remove_string (quantity, "code", text);
      else if (json_object_has_member (quantity, "code"))
        {
          json_object_remove_member (quantity, "code");
          if (json_object_has_member (quantity, "system"))
            json_object_remove_member (quantity, "system");
        }
      set_or_remove_string (quantity, "unit", text);
      break;
    case FIELD_STATUS:
      set_or_remove_string (resource, "status", text);
      break;
    case FIELD_FAMILY:
      if (name == NULL)
        return;
      set_or_remove_string (name, "family", text);
      break;
    case FIELD_GIVEN:
      {
        g_auto(GStrv) words = g_strsplit_set (text, " \t", -1);
        JsonArray *given = json_array_new ();

        if (name == NULL)
          {
            json_array_unref (given);
            return;
          }
        for (char **word = words; *word != NULL; word++)
          if (**word != '\0')
            json_array_add_string_element (given, *word);
        if (json_array_get_length (given) > 0)
          json_object_set_array_member (name, "given", given);
        else
          {
            json_array_unref (given);
            if (json_object_has_member (name, "given"))
              json_object_remove_member (name, "given");
          }
      }
      break;
    case FIELD_BIRTH_DATE:
      set_or_remove_string (resource, "birthDate", text);
      break;
    case FIELD_GENDER:
      set_or_remove_string (resource, "gender", text);
      break;
    case FIELD_CLINICAL_STATUS:
      if (*text == '\0')
        {
          if (json_object_has_member (resource, "clinicalStatus"))
            json_object_remove_member (resource, "clinicalStatus");
        }
      else
        json_object_set_member (resource, "clinicalStatus",
                                status_concept (CONDITION_CLINICAL, text));
      break;
    case FIELD_ONSET:
      {
        static const char *const onsets[] = {
          "onsetDateTime", "onsetAge", "onsetPeriod", "onsetRange", "onsetString",
        };

        for (size_t i = 0; i < G_N_ELEMENTS (onsets); i++)
          if (json_object_has_member (resource, onsets[i]))
            json_object_remove_member (resource, onsets[i]);
        set_or_remove_string (resource, "onsetDateTime", text);
      }
      break;
    case FIELD_MRN:
      {
        JsonObject *mrn = charta_fhir_find_mrn (resource);

        if (mrn != NULL)
          set_or_remove_string (mrn, "value", text);
      }
      break;
    case FIELD_ALLERGY_CLINICAL:
    case FIELD_ALLERGY_VERIFICATION:
      {
        gboolean clinical = field == FIELD_ALLERGY_CLINICAL;
        const char *member = clinical ? "clinicalStatus" : "verificationStatus";

        if (*text == '\0')
          {
            if (json_object_has_member (resource, member))
              json_object_remove_member (resource, member);
          }
        else
          json_object_set_member (resource, member,
                                  status_concept (clinical ? ALLERGY_CLINICAL
                                                           : ALLERGY_VERIFICATION, text));
      }
      break;
    case FIELD_CRITICALITY:
      set_or_remove_string (resource, "criticality", text);
      break;
    case FIELD_MEDICATION_STATUS:
      set_or_remove_string (resource, "status", text);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* The record as it is to be saved: the base, with the changed fields (or the mark of an entry
 * in error) written in, and without a generated narrative that no longer says what it says. */
static JsonNode *
build_edited (ChartaCorrectionDialog *self)
{
  gboolean in_error = chosen_kind (self) == CHARTA_CHANGE_KIND_ENTERED_IN_ERROR;
  JsonNode *edited = charta_json_copy (self->form_group == NULL && !in_error
                                         ? charta_json_editor_get_resource (self->json_editor)
                                         : self->base);
  JsonObject *resource = json_node_get_object (edited);
  JsonObject *text;

  if (in_error)
    {
      if (g_strcmp0 (self->type, "Condition") == 0
          || g_strcmp0 (self->type, "AllergyIntolerance") == 0)
        {
          json_object_set_member (resource, "verificationStatus",
                                  status_concept (strcmp (self->type, "Condition") == 0
                                                    ? CONDITION_VERIFICATION
                                                    : ALLERGY_VERIFICATION,
                                                  "entered-in-error"));
          /* con-5 and ait-2: no clinicalStatus on a record entered in error. */
          if (json_object_has_member (resource, "clinicalStatus"))
            json_object_remove_member (resource, "clinicalStatus");
        }
      else
        json_object_set_string_member (resource, "status", "entered-in-error");
    }
  else if (self->form_group != NULL)
    for (FieldId field = 0; field < N_FIELDS; field++)
      if (field_changed (self, field))
        apply_field (self, resource, field);

  text = charta_json_get_object (resource, "text");
  if (g_strcmp0 (charta_json_get_string (text, "status"), "generated") == 0)
    json_object_remove_member (resource, "text");
  return edited;
}

/* ---- the server's refusal ----------------------------------------------------------------- */

/* @path ("Observation.valueQuantity.value", "name[0].family") without the type and indices. */
static char *
bare_path (const char *type,
           const char *path)
{
  GString *bare = g_string_new (NULL);
  size_t type_length = strlen (type);

  if (strncmp (path, type, type_length) == 0 && path[type_length] == '.')
    path += type_length + 1;
  for (const char *p = path; *p != '\0'; p++)
    {
      if (*p == '[')
        {
          while (*p != '\0' && *p != ']')
            p++;
          if (*p == '\0')
            break;
          continue;
        }
      g_string_append_c (bare, *p);
    }
  return g_string_free (bare, FALSE);
}

/* The field an element path names, or N_FIELDS. */
static FieldId
field_for_path (ChartaCorrectionDialog *self,
                const char             *path)
{
  g_autofree char *bare = bare_path (self->type, path);

  for (FieldId field = 0; field < N_FIELDS; field++)
    {
      if (!field_shown (self, field))
        continue;
      for (size_t i = 0; i < G_N_ELEMENTS (field_info[field].paths); i++)
        if (field_info[field].paths[i] != NULL && strcmp (field_info[field].paths[i], bare) == 0)
          return field;
    }
  return N_FIELDS;
}

/* The field that an issue names: its expression (or, in older servers, location), else the
 * element path that begins its diagnostics ("Patient.birthDate: …", after a "does not
 * validate: "), else a "Type.element" that the diagnostics mention.  *message is what to show
 * beside the field. */
static FieldId
issue_field (ChartaCorrectionDialog  *self,
             JsonObject              *issue,
             char                   **message)
{
  static const char *const lists[] = { "expression", "location" };
  const char *diagnostics = charta_json_get_string (issue, "diagnostics");
  g_autofree char *details = charta_fhir_text_concept (charta_json_get_object (issue, "details"));
  const char *words = diagnostics != NULL ? diagnostics : details;
  g_autofree char *type_dot = g_strdup_printf ("%s.", self->type);
  const char *start;
  const char *colon;

  *message = g_strdup (words != NULL ? words : "The server refused this value");
  for (size_t l = 0; l < G_N_ELEMENTS (lists); l++)
    {
      JsonArray *paths = charta_json_get_array (issue, lists[l]);

      for (unsigned i = 0; paths != NULL && i < json_array_get_length (paths); i++)
        {
          JsonNode *node = json_array_get_element (paths, i);
          FieldId field;

          if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
            continue;
          field = field_for_path (self, json_node_get_string (node));
          if (field != N_FIELDS)
            return field;
        }
    }
  if (words == NULL)
    return N_FIELDS;

  start = strstr (words, "does not validate: ");
  start = start != NULL ? start + strlen ("does not validate: ") : words;
  colon = strstr (start, ": ");
  if (g_str_has_prefix (start, type_dot) && colon != NULL)
    {
      g_autofree char *path = g_strndup (start, colon - start);
      FieldId field = field_for_path (self, path);

      if (field != N_FIELDS)
        {
          g_free (*message);
          *message = g_strdup (colon + 2);
          return field;
        }
    }
  /* "constraint con-5 failed: Condition.clinicalStatus SHALL NOT be present …" */
  for (const char *p = strstr (words, type_dot); p != NULL; p = strstr (p + 1, type_dot))
    {
      size_t length = strspn (p, PATH_CHARACTERS);
      g_autofree char *path = g_strndup (p, length);
      FieldId field = field_for_path (self, path);

      if (field != N_FIELDS)
        return field;
    }
  return N_FIELDS;
}

/* Shows each issue of @outcome beside its field; returns the issues no field could take,
 * joined, or NULL. */
static char *
show_outcome (ChartaCorrectionDialog *self,
              JsonNode               *outcome)
{
  JsonArray *issues = outcome != NULL && JSON_NODE_HOLDS_OBJECT (outcome)
                        ? charta_json_get_array (json_node_get_object (outcome), "issue")
                        : NULL;
  g_autoptr(GString) rest = g_string_new (NULL);

  for (unsigned i = 0; issues != NULL && i < json_array_get_length (issues); i++)
    {
      JsonNode *node = json_array_get_element (issues, i);
      g_autofree char *message = NULL;
      FieldId field;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      field = issue_field (self, json_node_get_object (node), &message);
      if (field != N_FIELDS)
        show_field_error (self, field, message);
      else
        g_string_append_printf (rest, "%s%s", rest->len > 0 ? "\n" : "", message);
    }
  return rest->len > 0 ? g_string_free (g_steal_pointer (&rest), FALSE) : NULL;
}

/* ---- saving and reloading ----------------------------------------------------------------- */

static void
set_busy (ChartaCorrectionDialog *self,
          gboolean                busy)
{
  self->busy = busy;
  gtk_widget_set_visible (GTK_WIDGET (self->busy_spinner), busy);
  if (busy)
    gtk_spinner_start (self->busy_spinner);
  else
    gtk_spinner_stop (self->busy_spinner);
  gtk_widget_set_sensitive (GTK_WIDGET (self->reload_button), !busy);
  /* What is typed while the server answers would not be saved: nothing can be.  The focus
   * leaves the form first (a text that goes insensitive with the focus in it never hears it
   * leave), and comes back after. */
  if (busy)
    {
      g_set_weak_pointer (&self->focus_before, gtk_window_get_focus (GTK_WINDOW (self)));
      gtk_window_set_focus (GTK_WINDOW (self), NULL);
    }
  gtk_widget_set_sensitive (self->form_box, !busy);
  if (!busy && self->focus_before != NULL)
    {
      gtk_widget_grab_focus (self->focus_before);
      g_clear_weak_pointer (&self->focus_before);
    }
  update_state (self);
}

/* What ends the sentence @text before another: nothing when it ends in a stop of its own. */
static const char *
full_stop (const char *text)
{
  size_t length = strlen (text);

  return length > 0 && strchr (".?!", text[length - 1]) != NULL ? "" : ".";
}

static void
put_done (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(ChartaCorrectionDialog) self = user_data;
  g_autoptr(JsonNode) stored = NULL;
  g_autoptr(JsonNode) outcome = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *rest = NULL;
  g_autofree char *text = NULL;

  stored = charta_client_put_finish (CHARTA_CLIENT (source), result, &outcome, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_busy (self, FALSE);
  if (stored != NULL)
    {
      g_debug ("saved %s/%s as version %s", self->type, self->id,
               charta_json_get_string (charta_json_get_object (json_node_get_object (stored),
                                                               "meta"), "versionId"));
      self->saved = TRUE;
      g_signal_emit (self, signals[SAVED], 0, stored);
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }

  /* Not the message: a server's diagnostics can quote what was typed. */
  g_debug ("saving %s/%s failed (%s %d)", self->type, self->id,
           g_quark_to_string (error->domain), error->code);
  if (g_error_matches (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_CONFLICT))
    {
      show_banner (self, BANNER_CONFLICT,
                   self->unconfirmed
                     ? "This record has a newer version than the one you began with, so "
                       "nothing was saved now: either your last save did arrive although the "
                       "server did not confirm it, or someone else saved. Reload it to see what "
                       "changed: what you typed stays in the form and is applied on top of the "
                       "newer version, for you to check and save."
                     : "Someone else saved a newer version of this record while you were "
                       "editing it, so nothing was saved. Reload it to see what they changed: "
                       "what you typed stays in the form and is applied on top of their "
                       "version, for you to check and save.");
      self->unconfirmed = FALSE;
      return;
    }
  self->unconfirmed = FALSE;
  /* Only a refusal's OperationOutcome speaks about the fields; a failing server's (5xx) is
   * about the server, and its message says so. */
  if (outcome != NULL && g_error_matches (error, CHARTA_CLIENT_ERROR,
                                          CHARTA_CLIENT_ERROR_REFUSED))
    {
      rest = show_outcome (self, outcome);
      /* In the JSON, each issue at its element (those it cannot place, above the text). */
      if (self->form_group == NULL)
        {
          charta_json_editor_show_outcome (self->json_editor, outcome);
          g_clear_pointer (&rest, g_free);
        }
      if (rest == NULL)
        text = g_strdup ("The server did not accept the change, and nothing was saved: see "
                         "the marked fields.");
      else
        text = g_strdup_printf ("The server did not accept the change, and nothing was saved: "
                                "%s", rest);
    }
  else if (g_error_matches (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_REFUSED))
    text = g_strdup_printf ("%s%s Nothing was saved; what you typed is still here.",
                            error->message, full_stop (error->message));
  else if (g_error_matches (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_TIMEOUT)
           || g_error_matches (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_NETWORK)
           || g_error_matches (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED))
    {
      /* The PUT went out, and no answer says what became of it. */
      self->unconfirmed = TRUE;
      text = g_strdup_printf ("%s%s So the save was not confirmed, and what you typed is "
                              "still here: save again when the server answers (should the "
                              "first save have arrived after all, you will be told that the "
                              "record has a newer version).", error->message,
                              full_stop (error->message));
    }
  else
    text = g_strdup_printf ("%s%s Nothing was saved; what you typed is still here: try again "
                            "when the server answers.", error->message,
                            full_stop (error->message));
  show_banner (self, BANNER_ERROR, text);
}

static void
save_clicked (ChartaCorrectionDialog *self)
{
  ChartaChangeKind kind = chosen_kind (self);
  g_autofree char *reason = g_strstrip (g_strdup (gtk_editable_get_text (
                                                     GTK_EDITABLE (self->reason_row))));
  g_autofree char *path = NULL;
  g_autofree char *escaped = NULL;
  g_autoptr(JsonNode) edited = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  const char *version_id;

  if (self->busy || missing (self) != NULL)
    return;
  clear_errors (self);
  hide_banner (self);
  if (!check_fields (self))
    {
      show_banner (self, BANNER_ERROR, "Nothing was saved: see the marked fields.");
      return;
    }

  edited = build_edited (self);
  version_id = charta_json_get_string (charta_json_get_object (json_node_get_object (self->base),
                                                               "meta"), "versionId");
  provenance = charta_client_new_provenance (self->agent_reference, self->agent_display,
                                             charta_change_kind_get_activity (kind), reason);
  escaped = g_uri_escape_string (self->id, NULL, FALSE);
  path = g_strdup_printf ("%s/%s", self->type, escaped);
  g_debug ("saving %s/%s over version %s (%s)", self->type, self->id, version_id,
           charta_change_kind_get_activity (kind));

  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  set_busy (self, TRUE);
  charta_client_put_async (self->client, path, edited,
                           self->form_group == NULL && kind != CHARTA_CHANGE_KIND_ENTERED_IN_ERROR
                             ? charta_json_editor_get_number_texts (self->json_editor)
                             : self->number_texts,
                           version_id, provenance, self->cancellable, put_done,
                           g_object_ref (self));
}

/* "valueQuantity.value (72.5 → 75)", for the banner after a reload. */
static char *
describe_changes (GPtrArray *entries)
{
  GString *text = g_string_new (NULL);
  unsigned listed = 0;

  for (unsigned i = 0; i < entries->len; i++)
    {
      ChartaDiffEntry *entry = entries->pdata[i];

      if (g_str_has_prefix (entry->path, "text."))
        continue;
      if (listed == MAX_LISTED_CHANGES)
        {
          g_string_append (text, ", and more (see the record’s history)");
          break;
        }
      g_string_append_printf (text, "%s%s", listed > 0 ? ", " : "", entry->path);
      if (entry->kind == CHARTA_DIFF_CHANGED)
        g_string_append_printf (text, " (%s → %s)", entry->old_value, entry->new_value);
      else if (entry->kind == CHARTA_DIFF_ADDED)
        g_string_append_printf (text, " (added: %s)", entry->new_value);
      else
        g_string_append_printf (text, " (removed: %s)", entry->old_value);
      listed++;
    }
  if (listed == 0)
    g_string_append (text, "nothing that the record shows");
  return g_string_free (text, FALSE);
}

static void
reload_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(ChartaCorrectionDialog) self = user_data;
  g_autoptr(JsonNode) theirs = NULL;
  g_autoptr(GHashTable) number_texts = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) changes = NULL;
  g_autoptr(GPtrArray) both = NULL;
  g_autofree char *listed = NULL;
  g_autofree char *text = NULL;
  g_autofree char *both_text = NULL;
  JsonObject *object;

  theirs = charta_client_get_resource_finish (CHARTA_CLIENT (source), result, &number_texts,
                                              &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_busy (self, FALSE);
  if (theirs == NULL)
    {
      g_autofree char *message = g_strdup_printf ("The record could not be read again: %s%s "
                                                  "What you typed is still here.",
                                                  error->message, full_stop (error->message));

      show_banner (self, BANNER_CONFLICT, message);
      return;
    }

  object = json_node_get_object (theirs);
  changes = charta_diff_compute (self->base, theirs);
  g_clear_pointer (&self->base, json_node_unref);
  self->base = json_node_ref (theirs);
  g_clear_pointer (&self->number_texts, g_hash_table_unref);
  self->number_texts = g_steal_pointer (&number_texts);
  both = fill_form (self, FALSE);
  g_debug ("reloaded %s/%s at version %s", self->type, self->id,
           charta_json_get_string (charta_json_get_object (object, "meta"), "versionId"));

  listed = describe_changes (changes);
  if (both != NULL)
    {
      g_ptr_array_add (both, NULL);
      both_text = g_strjoinv (", ", (char **) both->pdata);
    }
  text = g_strdup_printf ("Reloaded version %s. Changed since the version you began with: %s. "
                          "What you typed is applied on top of it%s%s%s; check the form, "
                          "then save.",
                          charta_json_get_string (charta_json_get_object (object, "meta"),
                                                  "versionId"),
                          listed, both_text != NULL ? " (you both changed " : "",
                          both_text != NULL ? both_text : "",
                          both_text != NULL ? ": yours is kept)" : "");
  show_banner (self, BANNER_INFO, text);
}

static void
reload_clicked (ChartaCorrectionDialog *self)
{
  g_autofree char *escaped = g_uri_escape_string (self->id, NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("%s/%s", self->type, escaped);

  if (self->busy)
    return;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  set_busy (self, TRUE);
  charta_client_get_resource_async (self->client, path, self->cancellable, reload_done,
                                    g_object_ref (self));
}

/* ---- closing ------------------------------------------------------------------------------ */

static void
discard_response (AdwMessageDialog       *dialog,
                  const char             *response,
                  ChartaCorrectionDialog *self)
{
  if (g_strcmp0 (response, "discard") != 0)
    return;
  self->saved = TRUE;  /* nothing left to ask about */
  gtk_window_destroy (GTK_WINDOW (self));
}

static gboolean
charta_correction_dialog_close_request (GtkWindow *window)
{
  ChartaCorrectionDialog *self = CHARTA_CORRECTION_DIALOG (window);
  GtkWidget *question;

  if (!is_dirty (self))
    {
      if (self->cancellable != NULL)
        g_cancellable_cancel (self->cancellable);
      return GTK_WINDOW_CLASS (charta_correction_dialog_parent_class)->close_request (window);
    }
  question = adw_message_dialog_new (window, "Discard This Correction?",
                                     "What you typed has not been saved. Closing the dialog "
                                     "throws it away.");
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (question),
                                    "keep", "_Keep Editing",
                                    "discard", "_Discard",
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (question), "discard",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (question), "keep");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (question), "keep");
  g_signal_connect_object (question, "response", G_CALLBACK (discard_response), self, 0);
  gtk_window_present (GTK_WINDOW (question));
  return TRUE;
}

/* ---- the object --------------------------------------------------------------------------- */

static void
charta_correction_dialog_dispose (GObject *object)
{
  ChartaCorrectionDialog *self = CHARTA_CORRECTION_DIALOG (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  g_clear_weak_pointer (&self->focus_before);

  G_OBJECT_CLASS (charta_correction_dialog_parent_class)->dispose (object);
}

static void
charta_correction_dialog_finalize (GObject *object)
{
  ChartaCorrectionDialog *self = CHARTA_CORRECTION_DIALOG (object);

  g_clear_pointer (&self->base, json_node_unref);
  g_clear_pointer (&self->number_texts, g_hash_table_unref);
  g_free (self->type);
  g_free (self->id);
  g_free (self->agent_reference);
  g_free (self->agent_display);
  for (FieldId field = 0; field < N_FIELDS; field++)
    g_free (self->initial[field]);

  G_OBJECT_CLASS (charta_correction_dialog_parent_class)->finalize (object);
}

static void
charta_correction_dialog_class_init (ChartaCorrectionDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = charta_correction_dialog_dispose;
  object_class->finalize = charta_correction_dialog_finalize;
  window_class->close_request = charta_correction_dialog_close_request;

  /* The correction was saved: the version the server stored (a JsonNode). */
  signals[SAVED] =
    g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, JSON_TYPE_NODE);

  /* Escape closes, as in any dialog (asking first when something was typed). */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);

  g_type_ensure (CHARTA_TYPE_JSON_EDITOR);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/charta/Desktop/charta-correction-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, dialog_title);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, save_button);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, busy_spinner);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, banner);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, banner_icon);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, banner_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, reload_button);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog,
                                        kind_entered_in_error_row);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, reason_row);
  for (size_t i = 0; i < G_N_ELEMENTS (form_info); i++)
    gtk_widget_class_bind_template_child_full (widget_class, form_info[i].group_id, FALSE,
                                               G_STRUCT_OFFSET (ChartaCorrectionDialog,
                                                                groups[i]));
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, json_group);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, json_editor);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog,
                                        allergy_clinical_statuses);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog,
                                        allergy_verification_statuses);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, criticalities);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog,
                                        medication_statuses);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog,
                                        observation_statuses);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, genders);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, clinical_statuses);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, form_box);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, form_note);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, hint_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaCorrectionDialog, reason_group);
  for (FieldId field = 0; field < N_FIELDS; field++)
    {
      gtk_widget_class_bind_template_child_full (widget_class, field_info[field].row_id, FALSE,
                                                 G_STRUCT_OFFSET (ChartaCorrectionDialog,
                                                                  rows[field]));
      gtk_widget_class_bind_template_child_full (widget_class, field_info[field].error_id,
                                                 FALSE,
                                                 G_STRUCT_OFFSET (ChartaCorrectionDialog,
                                                                  errors[field]));
    }
  for (size_t i = 0; i < G_N_ELEMENTS (kind_info); i++)
    gtk_widget_class_bind_template_child_full (widget_class, kind_info[i].check_id, FALSE,
                                               G_STRUCT_OFFSET (ChartaCorrectionDialog,
                                                                kind_checks[i]));
  gtk_widget_class_bind_template_callback (widget_class, save_clicked);
  gtk_widget_class_bind_template_callback (widget_class, reload_clicked);
  gtk_widget_class_bind_template_callback (widget_class, kind_toggled);
  gtk_widget_class_bind_template_callback (widget_class, form_changed);
  gtk_widget_class_bind_template_callback (widget_class, value_changed);
  gtk_widget_class_bind_template_callback (widget_class, status_changed);
}

/* The combo rows' items: the codes in words ("Entered in error"; "" : "Not recorded"). */
static void
fill_codes (GtkStringList      *list,
            const char * const *codes)
{
  for (unsigned i = 0; codes[i] != NULL; i++)
    {
      g_autofree char *words = charta_fhir_text_code (codes[i]);
      const char *gender = charta_fhir_text_gender (codes[i]);

      gtk_string_list_append (list, *codes[i] == '\0' ? "Not recorded"
                                    : gender != NULL ? gender : words);
    }
}

static void
charta_correction_dialog_init (ChartaCorrectionDialog *self)
{
  self->filling = TRUE;
  gtk_widget_init_template (GTK_WIDGET (self));
  fill_codes (self->observation_statuses, observation_statuses);
  fill_codes (self->genders, genders);
  fill_codes (self->clinical_statuses, clinical_statuses);
  fill_codes (self->allergy_clinical_statuses, allergy_clinical_statuses);
  fill_codes (self->allergy_verification_statuses, allergy_verification_statuses);
  fill_codes (self->criticalities, criticalities);
  fill_codes (self->medication_statuses, medication_statuses);
  self->filling = FALSE;
}

ChartaCorrectionDialog *
charta_correction_dialog_new (GtkWindow    *parent,
                              ChartaClient *client,
                              JsonNode     *resource,
                              GHashTable   *number_texts,
                              const char   *agent_reference,
                              const char   *agent_display)
{
  ChartaCorrectionDialog *self;
  JsonObject *object;
  g_autofree char *agent = NULL;
  g_autofree char *escaped_agent = NULL;
  g_autoptr(GPtrArray) both = NULL;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (CHARTA_IS_CLIENT (client), NULL);
  g_return_val_if_fail (resource != NULL && JSON_NODE_HOLDS_OBJECT (resource), NULL);

  object = json_node_get_object (resource);
  g_return_val_if_fail (charta_correction_dialog_can_edit (charta_json_get_string (
                                                              object, "resourceType")), NULL);
  g_return_val_if_fail (charta_json_get_string (object, "id") != NULL, NULL);

  self = g_object_new (CHARTA_TYPE_CORRECTION_DIALOG, "transient-for", parent, NULL);
  self->client = g_object_ref (client);
  self->base = json_node_ref (resource);
  self->number_texts = number_texts != NULL ? g_hash_table_ref (number_texts) : NULL;
  self->type = g_strdup (charta_json_get_string (object, "resourceType"));
  self->id = g_strdup (charta_json_get_string (object, "id"));
  self->agent_reference = g_strdup (agent_reference);
  self->agent_display = g_strdup (agent_display);

  for (size_t i = 0; i < G_N_ELEMENTS (form_info); i++)
    {
      gboolean mine = strcmp (self->type, form_info[i].type) == 0;

      gtk_widget_set_visible (self->groups[i], mine);
      if (mine)
        self->form_group = self->groups[i];
    }
  gtk_widget_set_visible (self->json_group, self->form_group == NULL);
  /* A registration entered in error is a matter for a merge, not for this form. */
  gtk_widget_set_visible (GTK_WIDGET (self->kind_entered_in_error_row),
                          strcmp (self->type, "Patient") != 0);

  agent = g_strdup_printf ("Required. Kept in the record’s history with this version, under "
                           "your name: %s%s%s%s.",
                           agent_display != NULL ? agent_display : "the app’s user",
                           agent_reference != NULL ? " (" : "",
                           agent_reference != NULL ? agent_reference : "",
                           agent_reference != NULL ? ")" : "");
  /* A group's description is markup; the user's name is text. */
  escaped_agent = g_markup_escape_text (agent, -1);
  adw_preferences_group_set_description (self->reason_group, escaped_agent);

  /* Nobody has typed anything yet: every field takes the record's value. */
  both = fill_form (self, TRUE);
  g_assert (both == NULL);
  return self;
}

JsonNode *
charta_correction_dialog_get_base (ChartaCorrectionDialog *self)
{
  g_return_val_if_fail (CHARTA_IS_CORRECTION_DIALOG (self), NULL);

  return self->base;
}

ChartaChangeKind
charta_correction_dialog_get_kind (ChartaCorrectionDialog *self)
{
  g_return_val_if_fail (CHARTA_IS_CORRECTION_DIALOG (self), CHARTA_CHANGE_KIND_NONE);

  return chosen_kind (self);
}

gboolean
charta_correction_dialog_is_busy (ChartaCorrectionDialog *self)
{
  g_return_val_if_fail (CHARTA_IS_CORRECTION_DIALOG (self), FALSE);

  return self->busy;
}
