/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-model-private.h: tables of charta-model-data.c that only charta-model.c and the tests
 * use.
 *
 * Each type's valid JSON member names, sorted by strcmp() so a lookup can bisect: plain
 * elements under their name, choice elements ([x]) once per allowed type ("valueQuantity",
 * choice_type = that type) and once under their bare name ("value", choice_type =
 * CHARTA_MODEL_BARE_CHOICE), which is not a valid JSON name but is what find_element_by_name
 * looks for.
 */
#pragma once

#include "charta-model.h"

G_BEGIN_DECLS

#define CHARTA_MODEL_NOT_CHOICE  (-1)
#define CHARTA_MODEL_BARE_CHOICE (-2)

typedef struct
{
  const char *name;     /* JSON name */
  uint16_t element;     /* index into charta_model_elements */
  int16_t choice_type;  /* type index, CHARTA_MODEL_NOT_CHOICE or CHARTA_MODEL_BARE_CHOICE */
} ChartaModelJsonName;

typedef struct
{
  uint16_t first;
  uint16_t n;
} ChartaModelRange;

extern const ChartaModelJsonName charta_model_json_names[];
/* Indexed by type: the type's slice of charta_model_json_names. */
extern const ChartaModelRange charta_model_type_json_names[];

extern const unsigned charta_model_n_element_types;
extern const unsigned charta_model_n_codes;
extern const unsigned charta_model_n_search_components;
/* SearchParameter resources read (before splitting by base). */
extern const unsigned charta_model_n_search_param_definitions;

G_END_DECLS
