/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-search-index-private.h: the normalisation rules behind search-index extraction.
 *
 * The same rules turn a search request's values into comparable form, so the search query
 * parser and the store use these too: string normalisation, the instant range a FHIR date
 * covers, the range a decimal's written precision implies, and reference parsing.
 */
#pragma once

#include "charta-search-index.h"

G_BEGIN_DECLS

/* @text lowercased (Unicode case folding) with accents and other combining marks removed
 * ("Zoë" gives "zoe"); newly allocated.  @length may be -1 for a NUL-terminated string. */
char     *charta_search_normalize_string (const char *text,
                                          gssize      length);

/* The inclusive range of instants, in microseconds since the Unix epoch, that a FHIR date,
 * dateTime or instant (or a FHIRPath date literal, with or without '@') covers at the precision
 * it is written with: "2020" is the whole year, "2020-03-15T10:00:00+02:00" one second, ".123"
 * one millisecond.  No time zone reads as UTC.  FALSE when @text is not such a value. */
gboolean  charta_search_date_range       (const char *text,
                                          int64_t    *low,
                                          int64_t    *high);

/* The value of a decimal or integer as written, and the range its precision implies: half a
 * unit of the last written digit either side ("2.0" gives [1.95, 2.05], "100" [99.5, 100.5],
 * "1.5e2" [145, 155]).  FALSE when @text is not a JSON number. */
gboolean  charta_search_number_range     (const char *text,
                                          double     *number,
                                          double     *low,
                                          double     *high);

/* Fills @value's ref_type, ref_id, ref_version and ref_url from a Reference.reference string
 * (see charta-search-index.c for the forms).  Returns FALSE, leaving @value untouched, when
 * @reference is empty. */
gboolean  charta_search_parse_reference  (const char       *reference,
                                          ChartaIndexValue *value);

/* Whether parameters whose expression cannot find anything in a resource (none of the
 * top-level elements it starts from is present) are skipped without evaluating them; on by
 * default.  For tests, which check that it changes nothing. */
void      charta_search_index_set_prefilter (gboolean enabled);

/* Full text (see charta_search_index_text()): whether the strings under member @name name
 * things rather than say them (id, reference, system, url…), and the narrative of @resource as
 * plain text (newly allocated, "" when none). */
gboolean  charta_search_text_is_naming_member (const char *name);
char     *charta_search_text_narrative        (ChartaResource *resource);

/* Deep equality of two index values (every field, components included). */
gboolean  charta_index_value_equal          (const ChartaIndexValue *a,
                                             const ChartaIndexValue *b);

G_END_DECLS
