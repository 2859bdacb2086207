/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-patient.c: ChartaPatient, one patient of the finder's results (see charta-patient.h).
 */
#define G_LOG_DOMAIN "charta-patient"

#include "charta-fhir-text.h"
#include "charta-patient.h"

struct _ChartaPatient
{
  GObject parent_instance;

  char *id;
  char *name;
  char *birth_date;
  const char *sex;        /* static text */
  char *mrn;
  char *match_key;
  gboolean possible_duplicate;
};

enum
{
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_BIRTH_DATE,
  PROP_SEX,
  PROP_MRN,
  PROP_POSSIBLE_DUPLICATE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ChartaPatient, charta_patient, G_TYPE_OBJECT)

static void
charta_patient_finalize (GObject *object)
{
  ChartaPatient *self = CHARTA_PATIENT (object);

  g_free (self->id);
  g_free (self->name);
  g_free (self->birth_date);
  g_free (self->mrn);
  g_free (self->match_key);

  G_OBJECT_CLASS (charta_patient_parent_class)->finalize (object);
}

static void
charta_patient_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  ChartaPatient *self = CHARTA_PATIENT (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_BIRTH_DATE:
      g_value_set_string (value, self->birth_date);
      break;
    case PROP_SEX:
      g_value_set_string (value, self->sex);
      break;
    case PROP_MRN:
      g_value_set_string (value, self->mrn);
      break;
    case PROP_POSSIBLE_DUPLICATE:
      g_value_set_boolean (value, self->possible_duplicate);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_patient_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  ChartaPatient *self = CHARTA_PATIENT (object);

  switch (prop_id)
    {
    case PROP_POSSIBLE_DUPLICATE:
      charta_patient_set_possible_duplicate (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_patient_class_init (ChartaPatientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = charta_patient_finalize;
  object_class->get_property = charta_patient_get_property;
  object_class->set_property = charta_patient_set_property;

  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_BIRTH_DATE] =
    g_param_spec_string ("birth-date", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SEX] =
    g_param_spec_string ("sex", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_MRN] =
    g_param_spec_string ("mrn", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_POSSIBLE_DUPLICATE] =
    g_param_spec_boolean ("possible-duplicate", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
charta_patient_init (ChartaPatient *self)
{
}

ChartaPatient *
charta_patient_new_from_json (JsonObject *resource)
{
  ChartaPatient *self;
  const char *id = charta_json_get_string (resource, "id");
  JsonObject *mrn;

  g_return_val_if_fail (resource != NULL, NULL);

  if (g_strcmp0 (charta_json_get_string (resource, "resourceType"), "Patient") != 0
      || id == NULL)
    return NULL;

  self = g_object_new (CHARTA_TYPE_PATIENT, NULL);
  self->id = g_strdup (id);
  self->name = charta_fhir_text_patient_name (resource, TRUE);
  if (self->name == NULL)
    self->name = g_strdup ("Unnamed patient");
  self->birth_date = g_strdup (charta_json_get_string (resource, "birthDate"));
  self->sex = charta_fhir_text_gender (charta_json_get_string (resource, "gender"));
  mrn = charta_fhir_find_mrn (resource);
  self->mrn = g_strdup (charta_json_get_string (mrn, "value"));
  self->match_key = charta_fhir_patient_match_key (resource);
  return self;
}

const char *
charta_patient_get_id (ChartaPatient *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT (self), NULL);
  return self->id;
}

const char *
charta_patient_get_name (ChartaPatient *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT (self), NULL);
  return self->name;
}

const char *
charta_patient_get_birth_date (ChartaPatient *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT (self), NULL);
  return self->birth_date;
}

const char *
charta_patient_get_sex (ChartaPatient *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT (self), NULL);
  return self->sex;
}

const char *
charta_patient_get_mrn (ChartaPatient *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT (self), NULL);
  return self->mrn;
}

const char *
charta_patient_get_match_key (ChartaPatient *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT (self), NULL);
  return self->match_key;
}

char *
charta_patient_dup_details (ChartaPatient *self)
{
  g_autoptr(GString) text = NULL;

  g_return_val_if_fail (CHARTA_IS_PATIENT (self), NULL);

  text = g_string_new (self->birth_date != NULL ? self->birth_date : "Birth date unknown");
  if (self->sex != NULL)
    g_string_append_printf (text, " · %s", self->sex);
  if (self->mrn != NULL)
    g_string_append_printf (text, " · MRN %s", self->mrn);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

gboolean
charta_patient_get_possible_duplicate (ChartaPatient *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT (self), FALSE);
  return self->possible_duplicate;
}

void
charta_patient_set_possible_duplicate (ChartaPatient *self,
                                       gboolean       possible_duplicate)
{
  g_return_if_fail (CHARTA_IS_PATIENT (self));

  possible_duplicate = !!possible_duplicate;
  if (self->possible_duplicate == possible_duplicate)
    return;
  self->possible_duplicate = possible_duplicate;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POSSIBLE_DUPLICATE]);
}
