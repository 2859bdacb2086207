/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-fhir-error.c: the CHARTA_FHIR_ERROR quark.
 */
#define G_LOG_DOMAIN "charta-fhir"

#include "charta-fhir-error.h"

G_DEFINE_QUARK (charta-fhir-error-quark, charta_fhir_error)
