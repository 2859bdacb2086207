/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-search-index.h: the values a resource is found by.
 *
 * For each R4 search parameter of a resource's type, evaluates the parameter's FHIRPath and
 * turns what it finds into typed index values, the rows the store's search tables hold:
 * strings (normalised for case- and accent-insensitive prefix matching, and as written),
 * tokens (system, code, display), dates as an inclusive [low, high] range in microseconds since
 * the Unix epoch honouring the precision written ("2020" covers the whole year, a dateTime
 * without a time zone is read as UTC), numbers and quantities with the range their written
 * precision implies, references (type, id, version, url), uris, and composites (a tuple of
 * component values).
 */
#pragma once

#include <stdint.h>

#include "charta-model.h"
#include "charta-resource.h"

G_BEGIN_DECLS

typedef struct _ChartaIndexValue ChartaIndexValue;

struct _ChartaIndexValue
{
  const ChartaSearchParamDef *param;
  ChartaSearchType type;
  /* STRING: the normalised form (lowercase, accents removed) and the text as written.
   * URI: both are the uri. */
  char *normalized;
  char *text;
  /* TOKEN: system (NULL when absent), code (NULL for text-only), display or text (NULL). */
  char *system;
  char *code;
  char *display;
  /* DATE: inclusive range, microseconds since 1970-01-01T00:00:00Z. */
  int64_t date_low;
  int64_t date_high;
  /* NUMBER, QUANTITY: the value, and the range its written precision implies ("2.0" gives
   * [1.95, 2.05]). */
  double number;
  double number_low;
  double number_high;
  /* QUANTITY: unit system and code (code falls back to the unit text), unit text. */
  char *unit_system;
  char *unit_code;
  char *unit;
  /* REFERENCE: type and id for relative references ("Patient", "7"), version when versioned,
   * url for absolute or logical ones ("http://…/Patient/7"), and identifier system/value
   * when the reference has an identifier (kept in system/code). */
  char *ref_type;
  char *ref_id;
  char *ref_version;
  char *ref_url;
  /* COMPOSITE: one ChartaIndexValue per component, in component order (owned). */
  GPtrArray *components;
  /* TOKEN from an Identifier: system and code of one of its type's codings, for the :of-type
   * modifier (an identifier with several type codings gives one value per coding); NULL when
   * the identifier has no coded type. */
  char *identifier_type_system;
  char *identifier_type_code;
};

void       charta_index_value_free           (ChartaIndexValue *value);

/* Index values of one parameter for @resource (a GPtrArray of ChartaIndexValue, possibly
 * empty), or NULL with @error set if the expression failed. */
GPtrArray *charta_search_index_extract_param (ChartaResource             *resource,
                                              const ChartaSearchParamDef *param,
                                              GError                    **error);

/* Index values of every search parameter of the resource's type, in parameter order. */
GPtrArray *charta_search_index_extract       (ChartaResource             *resource,
                                              GError                    **error);

/* The text _text and _content search (full-text, see search.html): @narrative, the
 * resource's narrative (text.div) as plain text, markup and character references undone;
 * @content, every other string value of the resource but those that name rather than say
 * (ids, references, systems, urls; codes are kept: a code is content).  _content searches
 * both.  Both newly allocated, "" when there is nothing. */
void       charta_search_index_text          (ChartaResource             *resource,
                                              char                      **narrative,
                                              char                      **content);

/* Where a store finds the values of a search parameter (charta-search-sources.c): the rows
 * of @param itself for most; for a parameter whose expression is a union of others' of the
 * same resource type (Observation's combo-code: code | component-code), the rows of those; for
 * one that only narrows another's references to a type (Observation's patient:
 * subject.where(resolve() is Patient)), that one's rows whose reference type is @target_type. */
#define CHARTA_MAX_INDEX_SOURCES 4

typedef struct
{
  const ChartaSearchParamDef *param;        /* a stored parameter */
  const char                 *target_type;  /* only its references to this type, or NULL */
} ChartaIndexSource;

/* Fills @sources (room for CHARTA_MAX_INDEX_SOURCES) and returns how many; 0 for the
 * parameters a store serves from its own tables, _id (the resource's id) and _lastUpdated
 * (the version's time, which the store sets), and for those without an expression. */
unsigned   charta_search_param_get_sources   (const ChartaSearchParamDef *param,
                                              ChartaIndexSource          *sources);

/* Whether a store keeps index rows for @param: whether @param is its own single source. */
gboolean   charta_search_param_is_stored     (const ChartaSearchParamDef *param);

/* Index values of the parameters for which a store keeps rows (see above), in parameter
 * order: what a store writes for a version and what `charta check` compares with. */
GPtrArray *charta_search_index_extract_stored (ChartaResource            *resource,
                                               GError                   **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaIndexValue, charta_index_value_free)

G_END_DECLS
