/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-fhir.h: everything fhir/ offers: the R4 model, resources, validation, FHIRPath,
 * search-index extraction, OperationOutcome and PATCH (JSON Patch, FHIRPath Patch).
 */
#pragma once

#include "charta-fhir-error.h"
#include "charta-model.h"
#include "charta-resource.h"
#include "charta-outcome.h"
#include "charta-fhirpath.h"
#include "charta-validate.h"
#include "charta-search-index.h"
#include "charta-search-query.h"
#include "charta-subset.h"
#include "charta-patch.h"
