/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-patient-row.c: one row of the patient finder's list (see charta-patient-row.h).
 */
#define G_LOG_DOMAIN "charta-patient-row"

#include "charta-patient-row.h"

struct _ChartaPatientRow
{
  AdwBin parent_instance;

  ChartaPatient *patient;
  gulong duplicate_handler;   /* notify::possible-duplicate on @patient */

  GtkLabel *name_label;
  GtkLabel *details_label;
  GtkLabel *duplicate_tag;
};

enum
{
  PROP_0,
  PROP_PATIENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ChartaPatientRow, charta_patient_row, ADW_TYPE_BIN)

/* The tag and the accessible label follow the patient's possible-duplicate mark. */
static void
update_duplicate (ChartaPatientRow *self)
{
  gboolean duplicate = self->patient != NULL
                       && charta_patient_get_possible_duplicate (self->patient);
  g_autofree char *details = NULL;
  g_autofree char *label = NULL;

  gtk_widget_set_visible (GTK_WIDGET (self->duplicate_tag), duplicate);
  if (self->patient == NULL)
    return;
  details = charta_patient_dup_details (self->patient);
  label = g_strdup_printf ("%s, %s%s", charta_patient_get_name (self->patient), details,
                           duplicate ? ", possible duplicate" : "");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

static void
duplicate_changed (ChartaPatient    *patient,
                   GParamSpec       *pspec,
                   ChartaPatientRow *self)
{
  update_duplicate (self);
}

void
charta_patient_row_set_patient (ChartaPatientRow *self,
                                ChartaPatient    *patient)
{
  g_autofree char *details = NULL;

  g_return_if_fail (CHARTA_IS_PATIENT_ROW (self));
  g_return_if_fail (patient == NULL || CHARTA_IS_PATIENT (patient));

  if (self->patient == patient)
    return;
  if (self->patient != NULL)
    g_clear_signal_handler (&self->duplicate_handler, self->patient);
  g_set_object (&self->patient, patient);

  if (patient != NULL)
    {
      details = charta_patient_dup_details (patient);
      self->duplicate_handler = g_signal_connect (patient, "notify::possible-duplicate",
                                                  G_CALLBACK (duplicate_changed), self);
    }
  gtk_label_set_text (self->name_label, patient != NULL ? charta_patient_get_name (patient) : "");
  gtk_label_set_text (self->details_label, details != NULL ? details : "");
  update_duplicate (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PATIENT]);
}

ChartaPatient *
charta_patient_row_get_patient (ChartaPatientRow *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT_ROW (self), NULL);

  return self->patient;
}

static void
charta_patient_row_dispose (GObject *object)
{
  ChartaPatientRow *self = CHARTA_PATIENT_ROW (object);

  charta_patient_row_set_patient (self, NULL);

  G_OBJECT_CLASS (charta_patient_row_parent_class)->dispose (object);
}

static void
charta_patient_row_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  ChartaPatientRow *self = CHARTA_PATIENT_ROW (object);

  switch (prop_id)
    {
    case PROP_PATIENT:
      g_value_set_object (value, self->patient);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_patient_row_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  ChartaPatientRow *self = CHARTA_PATIENT_ROW (object);

  switch (prop_id)
    {
    case PROP_PATIENT:
      charta_patient_row_set_patient (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_patient_row_class_init (ChartaPatientRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = charta_patient_row_dispose;
  object_class->get_property = charta_patient_row_get_property;
  object_class->set_property = charta_patient_row_set_property;

  properties[PROP_PATIENT] =
    g_param_spec_object ("patient", NULL, NULL, CHARTA_TYPE_PATIENT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/charta/Desktop/charta-patient-row.ui");
  gtk_widget_class_bind_template_child (widget_class, ChartaPatientRow, name_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaPatientRow, details_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaPatientRow, duplicate_tag);
}

static void
charta_patient_row_init (ChartaPatientRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
charta_patient_row_new (void)
{
  return g_object_new (CHARTA_TYPE_PATIENT_ROW, NULL);
}
