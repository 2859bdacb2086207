/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta.h: libcharta's umbrella header: the FHIR R4 module and the store.
 */
#pragma once

#include "charta-fhir.h"
#include "charta-store.h"
