/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-fhir-error.h: the error domain of fhir/.
 *
 * Every mistake in input that fhir/ sees (bytes that are not JSON, a resource that breaks the
 * model, a FHIRPath expression that does not parse) is a GError in CHARTA_FHIR_ERROR whose
 * message names what was wrong: the element path and the value where there is one.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CHARTA_FHIR_ERROR (charta_fhir_error_quark ())

typedef enum
{
  CHARTA_FHIR_ERROR_TOO_LARGE,       /* the body exceeds the size limit */
  CHARTA_FHIR_ERROR_TOO_DEEP,        /* JSON nesting exceeds the depth limit */
  CHARTA_FHIR_ERROR_INVALID_UTF8,    /* bytes that are not UTF-8 */
  CHARTA_FHIR_ERROR_MALFORMED,       /* not JSON (syntax error) */
  CHARTA_FHIR_ERROR_DUPLICATE_KEY,   /* an object has the same key twice */
  CHARTA_FHIR_ERROR_NOT_RESOURCE,    /* JSON, but not an object with a known resourceType */
  CHARTA_FHIR_ERROR_INVALID,         /* a resource that breaks the model or an invariant */
  CHARTA_FHIR_ERROR_FHIRPATH_SYNTAX, /* a FHIRPath expression that does not parse */
  CHARTA_FHIR_ERROR_FHIRPATH_EVAL,   /* a FHIRPath evaluation error (type error, singleton expected) */
  CHARTA_FHIR_ERROR_UNSUPPORTED,     /* valid input that this version of Charta cannot handle */
  CHARTA_FHIR_ERROR_UNKNOWN_PARAMETER, /* a search parameter the resource type does not have
                                        * (strict handling) */
} ChartaFhirError;

GQuark charta_fhir_error_quark (void);

G_END_DECLS
