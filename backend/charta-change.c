/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-change.c: ChartaChange, who made a change, why, and what kind of change it was.
 *
 * A small reference-counted record that every write of the store takes (or NULL): the store
 * turns it into the Provenance resource of each version it writes.  It is filled by its maker
 * and then only read, so it may be shared across threads once handed to the store; the store
 * takes a reference and never changes it.
 */
#define G_LOG_DOMAIN "charta-change"

#include <string.h>

#include "charta-store.h"
#include "charta-store-private.h"

struct _ChartaChange
{
  gatomicrefcount ref_count;
  char *agent_reference;
  char *agent_display;
  char *reason_system;
  char *reason_code;
  char *reason_text;
  char *activity_system;
  char *activity_code;
};

G_DEFINE_BOXED_TYPE (ChartaChange, charta_change, charta_change_ref, charta_change_unref)

ChartaChange *
charta_change_new (void)
{
  ChartaChange *self = g_new0 (ChartaChange, 1);

  g_atomic_ref_count_init (&self->ref_count);
  return self;
}

ChartaChange *
charta_change_ref (ChartaChange *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
charta_change_unref (ChartaChange *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->agent_reference);
  g_free (self->agent_display);
  g_free (self->reason_system);
  g_free (self->reason_code);
  g_free (self->reason_text);
  g_free (self->activity_system);
  g_free (self->activity_code);
  g_free (self);
}

static void
replace_string (char       **field,
                const char  *value)
{
  char *copy = (value != NULL && *value != '\0') ? g_strdup (value) : NULL;

  g_free (*field);
  *field = copy;
}

void
charta_change_set_agent (ChartaChange *self,
                         const char   *reference,
                         const char   *display)
{
  g_return_if_fail (self != NULL);

  replace_string (&self->agent_reference, reference);
  replace_string (&self->agent_display, display);
}

void
charta_change_set_reason (ChartaChange *self,
                          const char   *system,
                          const char   *code,
                          const char   *text)
{
  g_return_if_fail (self != NULL);

  replace_string (&self->reason_code, code);
  /* A code without a system is a v3-ActReason code (the value set Provenance.reason uses). */
  replace_string (&self->reason_system,
                  self->reason_code == NULL ? NULL
                  : system != NULL && *system != '\0' ? system : CHARTA_SYSTEM_ACT_REASON);
  replace_string (&self->reason_text, text);
}

void
charta_change_set_activity (ChartaChange *self,
                            const char   *system,
                            const char   *code)
{
  g_return_if_fail (self != NULL);

  replace_string (&self->activity_code, code);
  if (self->activity_code == NULL)
    replace_string (&self->activity_system, NULL);
  else if (system != NULL && *system != '\0')
    replace_string (&self->activity_system, system);
  else
    replace_string (&self->activity_system, charta_change_system_for_activity (code));
}

const char *
charta_change_get_agent_reference (ChartaChange *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->agent_reference;
}

const char *
charta_change_get_agent_display (ChartaChange *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->agent_display;
}

const char *
charta_change_get_reason_code (ChartaChange *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->reason_code;
}

const char *
charta_change_get_reason_text (ChartaChange *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->reason_text;
}

const char *
charta_change_get_activity_code (ChartaChange *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->activity_code;
}

/* --- private ----------------------------------------------------------------------------- */

const char *
charta_change_get_reason_system (ChartaChange *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->reason_system;
}

const char *
charta_change_get_activity_system (ChartaChange *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->activity_system;
}

const char *
charta_change_system_for_activity (const char *code)
{
  static const char *const data_operation[] = {
    "CREATE", "UPDATE", "DELETE", "NULLIFY", "APPEND",
  };

  g_return_val_if_fail (code != NULL, NULL);

  for (size_t i = 0; i < G_N_ELEMENTS (data_operation); i++)
    if (strcmp (code, data_operation[i]) == 0)
      return CHARTA_SYSTEM_DATA_OPERATION;
  return CHARTA_SYSTEM_ISO_LIFECYCLE;
}
