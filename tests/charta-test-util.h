/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-test-util.h: helpers shared by the tests.
 *
 * Finding the corpus (CHARTA_CORPUS, else ../shared/corpus beside the project), loading files
 * as resources, and comparing JSON trees.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "charta-fhir.h"

G_BEGIN_DECLS

/* The corpus folder, or NULL (and a g_test_skip() naming where it looked) when it is absent.
 * Tests that need it must return right away on NULL. */
const char     *charta_test_corpus_dir      (void);
/* @relative inside the corpus, newly allocated, or NULL as above. */
char           *charta_test_corpus_path     (const char *relative);
/* @relative inside tests/data. */
char           *charta_test_data_path       (const char *relative);

/* Reads and parses @path as a resource with default limits; fails the test on error. */
ChartaResource *charta_test_load_resource   (const char *path);

/* Deep JSON equality: objects as unordered maps, arrays in order, numbers by value (integers
 * and doubles compare numerically), strings exactly.  On a difference, sets *where to the
 * JSON path of the first one (newly allocated) when @where is not NULL. */
gboolean        charta_test_json_equal      (JsonNode   *a,
                                             JsonNode   *b,
                                             char      **where);

G_END_DECLS
