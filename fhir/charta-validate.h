/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-validate.h: validation of a resource against the R4 model.
 *
 * Checks every element of a parsed resource: known element names, JSON types, primitive
 * formats, cardinality, required bindings, resourceType, contained resources, extensions and
 * primitive extensions, and the invariants of error severity (FHIRPath).  All problems are
 * reported, each naming the element path and the value.
 */
#pragma once

#include "charta-outcome.h"
#include "charta-resource.h"

G_BEGIN_DECLS

/* Appends every problem with @resource to @outcome (errors, and warnings for failed
 * warning-severity invariants).  Returns TRUE when no error-severity issue was found. */
gboolean charta_validate_resource (ChartaResource *resource,
                                   ChartaOutcome  *outcome);

/* The same, turned into one GError (CHARTA_FHIR_ERROR_INVALID) listing every error, one per
 * line, when there is any. */
gboolean charta_validate          (ChartaResource *resource,
                                   GError        **error);

G_END_DECLS
