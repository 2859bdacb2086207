/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-diff.c: charta_diff_compute(), the field-level difference between two versions.
 *
 * Hand-made pairs of trees, each with the entries it must give written out in full (kind,
 * path, old and new value, in order), worked out by hand from the rules in charta-diff.h; the
 * comment above each case says how.  Every case checks the whole list, so a missing, extra or
 * misnamed entry fails it.
 */
#define G_LOG_DOMAIN "charta-test"

#include "charta-diff.h"

#define MAX_ENTRIES 8

typedef struct
{
  ChartaDiffKind kind;
  const char *path;
  const char *old_value;
  const char *new_value;
} Want;

typedef struct
{
  const char *name;
  const char *old_json;   /* NULL: no old version */
  const char *new_json;   /* NULL: no new version */
  Want want[MAX_ENTRIES]; /* ended by a NULL path */
} Case;

#define C CHARTA_DIFF_CHANGED
#define A CHARTA_DIFF_ADDED
#define R CHARTA_DIFF_REMOVED

static const Case cases[] = {
  /* Only meta.versionId and meta.lastUpdated differ: they are ignored, nothing else changed. */
  { "meta-only",
    "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"meta\":{\"versionId\":\"1\","
    "\"lastUpdated\":\"2025-01-01T00:00:00Z\"},\"status\":\"final\"}",
    "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"meta\":{\"versionId\":\"2\","
    "\"lastUpdated\":\"2025-02-01T00:00:00Z\"},\"status\":\"final\"}",
    { { 0 } } },
  /* Other members of meta count: a tag added is meta.tag[0].code. */
  { "meta-tag",
    "{\"meta\":{\"versionId\":\"1\"}}",
    "{\"meta\":{\"versionId\":\"2\",\"tag\":[{\"code\":\"x\"}]}}",
    { { A, "meta.tag[0].code", NULL, "x" }, { 0 } } },
  /* A corrected weight: one leaf changed, the unit the same. */
  { "quantity-value",
    "{\"valueQuantity\":{\"value\":72.5,\"unit\":\"kg\"},\"status\":\"final\"}",
    "{\"valueQuantity\":{\"value\":75,\"unit\":\"kg\"},\"status\":\"final\"}",
    { { C, "valueQuantity.value", "72.5", "75" }, { 0 } } },
  /* 87 and 87.0 are the same number: no entry. */
  { "numbers-by-value",
    "{\"valueQuantity\":{\"value\":87}}",
    "{\"valueQuantity\":{\"value\":87.0}}",
    { { 0 } } },
  /* "Anne" inserted between the given names: "Emily" and "Louise" are the common subsequence,
   * so the one entry is the addition at its new index 1. */
  { "given-inserted",
    "{\"name\":[{\"family\":\"Miller\",\"given\":[\"Emily\",\"Louise\"]}]}",
    "{\"name\":[{\"family\":\"Miller\",\"given\":[\"Emily\",\"Anne\",\"Louise\"]}]}",
    { { A, "name[0].given[1]", NULL, "Anne" }, { 0 } } },
  /* "Louise" → "Louisa": the names differ in name[0] only, and "Emily" anchors given[0], so
   * the second given names are paired and changed. */
  { "given-changed",
    "{\"name\":[{\"family\":\"Miller\",\"given\":[\"Emily\",\"Louise\"]}]}",
    "{\"name\":[{\"family\":\"Miller\",\"given\":[\"Emily\",\"Louisa\"]}]}",
    { { C, "name[0].given[1]", "Louise", "Louisa" }, { 0 } } },
  /* The narrative dropped: each of its leaves removed, in the old tree's order. */
  { "narrative-removed",
    "{\"text\":{\"status\":\"generated\",\"div\":\"<div>72.5 kg</div>\"},\"status\":\"final\"}",
    "{\"status\":\"final\"}",
    { { R, "text.status", "generated", NULL }, { R, "text.div", "<div>72.5 kg</div>", NULL },
      { 0 } } },
  /* A Condition entered in error: clinicalStatus goes (both its leaves, removed), and the
   * verification coding, paired item by item, changes its code only. */
  { "condition-entered-in-error",
    "{\"clinicalStatus\":{\"coding\":[{\"system\":\"cs\",\"code\":\"active\"}]},"
    "\"verificationStatus\":{\"coding\":[{\"system\":\"vs\",\"code\":\"confirmed\"}]}}",
    "{\"verificationStatus\":{\"coding\":[{\"system\":\"vs\",\"code\":\"entered-in-error\"}]}}",
    { { R, "clinicalStatus.coding[0].system", "cs", NULL },
      { R, "clinicalStatus.coding[0].code", "active", NULL },
      { C, "verificationStatus.coding[0].code", "confirmed", "entered-in-error" }, { 0 } } },
  /* The middle identifier of three removed: the first and last anchor, the removed one is
   * named by its old index 1, leaf by leaf. */
  { "array-item-removed",
    "{\"identifier\":[{\"system\":\"s\",\"value\":\"1\"},{\"system\":\"s\",\"value\":\"2\"},"
    "{\"system\":\"s\",\"value\":\"3\"}]}",
    "{\"identifier\":[{\"system\":\"s\",\"value\":\"1\"},{\"system\":\"s\",\"value\":\"3\"}]}",
    { { R, "identifier[1].system", "s", NULL }, { R, "identifier[1].value", "2", NULL },
      { 0 } } },
  /* An object replaced by a string: the old leaf removed, then the new one added. */
  { "kind-changed",
    "{\"value\":{\"a\":1}}",
    "{\"value\":\"x\"}",
    { { R, "value.a", "1", NULL }, { A, "value", NULL, "x" }, { 0 } } },
  /* Empty containers are leaves: an item added to an empty array is a[0]; an empty object
   * that goes is "b" with the value "{}". */
  { "empty-containers",
    "{\"a\":[],\"b\":{}}",
    "{\"a\":[1]}",
    { { A, "a[0]", NULL, "1" }, { R, "b", "{}", NULL }, { 0 } } },
  /* The old tree's members first in its order (a the same, b changed), then the new-only c. */
  { "member-order",
    "{\"a\":1,\"b\":2}",
    "{\"c\":3,\"b\":4,\"a\":1}",
    { { C, "b", "2", "4" }, { A, "c", NULL, "3" }, { 0 } } },
  /* Value texts: booleans as true/false, null as null, doubles in their shortest form. */
  { "value-texts",
    "{\"x\":true,\"y\":null,\"z\":4.4}",
    "{\"x\":false,\"y\":\"n\",\"z\":4.45}",
    { { C, "x", "true", "false" }, { C, "y", "null", "n" }, { C, "z", "4.4", "4.45" },
      { 0 } } },
  /* No old version (before the first): every leaf added, but meta.versionId, ignored. */
  { "no-old-version",
    NULL,
    "{\"resourceType\":\"Patient\",\"meta\":{\"versionId\":\"1\"},\"active\":true}",
    { { A, "resourceType", NULL, "Patient" }, { A, "active", NULL, "true" }, { 0 } } },
  /* No new version (a delete): every leaf removed, nested ones by their full path. */
  { "no-new-version",
    "{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"Ida\"]}]}",
    NULL,
    { { R, "resourceType", "Patient", NULL }, { R, "name[0].given[0]", "Ida", NULL },
      { 0 } } },
};

static const char *
kind_name (ChartaDiffKind kind)
{
  switch (kind)
    {
    case CHARTA_DIFF_CHANGED:
      return "changed";
    case CHARTA_DIFF_ADDED:
      return "added";
    case CHARTA_DIFF_REMOVED:
      return "removed";
    default:
      return "?";
    }
}

static JsonNode *
parse (const char *json)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node;

  if (json == NULL)
    return NULL;
  node = json_from_string (json, &error);
  g_assert_no_error (error);
  return node;
}

static void
test_case (gconstpointer data)
{
  const Case *c = data;
  g_autoptr(JsonNode) old_tree = parse (c->old_json);
  g_autoptr(JsonNode) new_tree = parse (c->new_json);
  g_autofree char *old_text = old_tree != NULL ? json_to_string (old_tree, FALSE) : NULL;
  g_autofree char *new_text = new_tree != NULL ? json_to_string (new_tree, FALSE) : NULL;
  g_autoptr(GPtrArray) entries = charta_diff_compute (old_tree, new_tree);
  unsigned n_want = 0;

  while (n_want < MAX_ENTRIES && c->want[n_want].path != NULL)
    n_want++;
  for (unsigned i = 0; i < entries->len; i++)
    {
      ChartaDiffEntry *e = entries->pdata[i];

      g_test_message ("%s %s: %s → %s", kind_name (e->kind), e->path,
                      e->old_value != NULL ? e->old_value : "(none)",
                      e->new_value != NULL ? e->new_value : "(none)");
    }
  g_assert_cmpuint (entries->len, ==, n_want);
  for (unsigned i = 0; i < n_want; i++)
    {
      ChartaDiffEntry *e = entries->pdata[i];

      g_assert_cmpstr (e->path, ==, c->want[i].path);
      g_assert_cmpstr (kind_name (e->kind), ==, kind_name (c->want[i].kind));
      g_assert_cmpstr (e->old_value, ==, c->want[i].old_value);
      g_assert_cmpstr (e->new_value, ==, c->want[i].new_value);
    }

  /* A pure function: the trees are as they were. */
  if (old_tree != NULL)
    {
      g_autofree char *after = json_to_string (old_tree, FALSE);

      g_assert_cmpstr (after, ==, old_text);
    }
  if (new_tree != NULL)
    {
      g_autofree char *after = json_to_string (new_tree, FALSE);

      g_assert_cmpstr (after, ==, new_text);
    }
}

/* The same tree against itself, and the reverse of a case, which swaps added and removed. */
static void
test_symmetry (void)
{
  g_autoptr(JsonNode) old_tree = parse (cases[6].old_json);  /* narrative-removed */
  g_autoptr(JsonNode) new_tree = parse (cases[6].new_json);
  g_autoptr(GPtrArray) same = charta_diff_compute (old_tree, old_tree);
  g_autoptr(GPtrArray) back = charta_diff_compute (new_tree, old_tree);
  ChartaDiffEntry *e;

  g_assert_cmpuint (same->len, ==, 0);
  g_assert_cmpuint (back->len, ==, 2);
  e = back->pdata[0];
  g_assert_cmpint (e->kind, ==, CHARTA_DIFF_ADDED);
  g_assert_cmpstr (e->path, ==, "text.status");
  g_assert_null (e->old_value);
  g_assert_cmpstr (e->new_value, ==, "generated");
  e = back->pdata[1];
  g_assert_cmpint (e->kind, ==, CHARTA_DIFF_ADDED);
  g_assert_cmpstr (e->path, ==, "text.div");
}

/* charta_diff_value_text(): leaves only. */
static void
test_value_text (void)
{
  g_autoptr(JsonNode) object = parse ("{\"a\":1}");
  g_autoptr(JsonNode) empty = parse ("{}");
  g_autoptr(JsonNode) array = parse ("[]");
  g_autofree char *empty_text = charta_diff_value_text (empty);
  g_autofree char *array_text = charta_diff_value_text (array);
  g_autofree char *object_text = charta_diff_value_text (object);

  g_assert_cmpstr (empty_text, ==, "{}");
  g_assert_cmpstr (array_text, ==, "[]");
  g_assert_null (object_text);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/charta/gui/diff/%s", cases[i].name);

      g_test_add_data_func (path, &cases[i], test_case);
    }
  g_test_add_func ("/charta/gui/diff/symmetry", test_symmetry);
  g_test_add_func ("/charta/gui/diff/value-text", test_value_text);
  return g_test_run ();
}
