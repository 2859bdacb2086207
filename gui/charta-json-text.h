/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-json-text.h: JSON text that keeps FHIR decimals as they were written.
 *
 * A FHIR decimal's text is its precision: "0.70" is not "0.7", and "4.0" is not "4".  json-glib
 * keeps only the double of a number, and writes it back with 17 digits ("75.2" becomes
 * "75.200000000000003"), so a resource read and written back through json-glib alone would
 * change numbers nobody touched.  The desktop app writes what it sends with
 * charta_json_write() instead:
 *
 * - charta_json_number_texts() reads the text of a resource as the server sent it and notes
 *   the text of every number by its element path ("valueQuantity.value" → "0.70"; paths as in
 *   charta-diff.h);
 * - charta_json_write() writes a tree (the resource as edited) as compact JSON; a number whose
 *   path has a noted text that reads as the same value is written with that text, any other
 *   double in the shortest form that reads back as the same double ("75.2"), with ".0" when
 *   that form has no fraction (a double stays a decimal), and an integer as an integer.
 *
 * Both are pure functions of their arguments and may run on any thread.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Element path → the number's text, for every number in the JSON text @json (@length bytes;
 * -1: up to the nul).  Text that is not JSON ends the scan early: the table then holds the
 * numbers before that point (the texts are only ever used as hints). */
GHashTable *charta_json_number_texts (const char *json,
                                      gssize      length);

/* A deep copy of @node that may be changed (json_node_copy() shares the objects and arrays
 * of the node it copies, and the client's trees are sealed). */
JsonNode   *charta_json_copy         (JsonNode   *node);

/* @node as compact JSON text, numbers written as described above (@number_texts may be
 * NULL). */
char       *charta_json_write        (JsonNode   *node,
                                      GHashTable *number_texts);

G_END_DECLS
