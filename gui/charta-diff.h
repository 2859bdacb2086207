/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-diff.h: the field-level difference between two versions of a resource.
 *
 * charta_diff_compute() compares two JSON trees and lists what changed as element paths with
 * their old and new values ("valueQuantity.value": "72.5" → "75"), the way HIM staff read a
 * correction: not JSON lines.  It is a pure function: it reads the two trees, changes
 * neither, logs nothing, and gives the same answer for the same trees.
 *
 * The rules:
 * - Paths name members with '.' and array items with their index: "name[0].given[1]".  A
 *   changed or added item is named by its index in the new tree, a removed one by its index in
 *   the old tree.
 * - Only leaves are listed: a string, number, boolean or null, or an empty object or array.
 *   An element that only one tree has is listed leaf by leaf ("text.status", "text.div"), each
 *   marked added or removed.  An element whose kind differs (an object in one tree, a string in
 *   the other) is the removal of the old leaves and the addition of the new ones.
 * - meta.versionId and meta.lastUpdated of the root are ignored: every version has its own.
 * - Numbers are equal when their values are (87 and 87.0).
 * - The items of two arrays are aligned first: the longest common subsequence of items that
 *   are deeply equal stays put, and the items between two such anchors are paired in order
 *   (and compared member by member); what is left over is added or removed.  So a given name
 *   inserted before another is one addition, not a change of every later item.
 * - Order: the old tree's members in its order, then the members only the new tree has, in
 *   its order; array items in their aligned order.
 * - Values are given as text: a string as it is (no quotes), a number in its shortest form
 *   ("4.4"), true/false, null, and "{}" or "[]" for an empty object or array.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  CHARTA_DIFF_CHANGED,   /* both trees have the leaf, with different values */
  CHARTA_DIFF_ADDED,     /* only the new tree has it */
  CHARTA_DIFF_REMOVED,   /* only the old tree has it */
} ChartaDiffKind;

typedef struct
{
  ChartaDiffKind kind;
  char *path;        /* "valueQuantity.value", "name[0].given[1]" */
  char *old_value;   /* the old value as text; NULL when added */
  char *new_value;   /* the new value as text; NULL when removed */
} ChartaDiffEntry;

void       charta_diff_entry_free (ChartaDiffEntry *entry);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaDiffEntry, charta_diff_entry_free)

/* What changed from @old_tree to @new_tree: a new array of ChartaDiffEntry (it frees them),
 * empty when nothing did.  Either tree may be NULL (a version that does not exist, such as
 * before the first or after a delete): then every leaf of the other one is added or removed. */
GPtrArray *charta_diff_compute    (JsonNode        *old_tree,
                                   JsonNode        *new_tree);

/* The text of a leaf as the entries give it (see above); NULL for an object or array that is
 * not empty. */
char      *charta_diff_value_text (JsonNode        *node);

G_END_DECLS
