/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-json-text.c: JSON text that keeps FHIR decimals as written (charta-json-text.h).
 *
 * Each case is a JSON text as a server might send it; the test parses it with json-glib (as
 * the app's client does), changes what the case says, writes it back with charta_json_write()
 * and the number texts of the original, and compares the result with the text written out by
 * hand in the case: untouched decimals keep their digits ("0.70", "4.0", "1e3"), a changed one
 * is written in its shortest form, an integer as an integer.
 */
#define G_LOG_DOMAIN "charta-test"

#include "charta-json-text.h"

static JsonNode *
parse (const char *json)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (json, &error);

  g_assert_no_error (error);
  return node;
}

/* Every number's path and text, nested objects and arrays included. */
static void
test_number_texts (void)
{
  g_autoptr(GHashTable) texts =
    charta_json_number_texts ("{\"a\":0.70,\"b\":{\"c\":[1, 4.0 ,{\"d\":-1e3}]},"
                              "\"s\":\"x\\\"y 2.5\",\"t\":true,\"n\":null,\"e\":[]}", -1);

  g_assert_cmpuint (g_hash_table_size (texts), ==, 4);
  g_assert_cmpstr (g_hash_table_lookup (texts, "a"), ==, "0.70");
  g_assert_cmpstr (g_hash_table_lookup (texts, "b.c[0]"), ==, "1");
  g_assert_cmpstr (g_hash_table_lookup (texts, "b.c[1]"), ==, "4.0");
  g_assert_cmpstr (g_hash_table_lookup (texts, "b.c[2].d"), ==, "-1e3");
  /* A number inside a string is no number. */
  g_assert_false (g_hash_table_contains (texts, "s"));
}

/* Text that is not JSON: the numbers before the fault, and no crash. */
static void
test_number_texts_broken (void)
{
  g_autoptr(GHashTable) texts = charta_json_number_texts ("{\"a\":1.50,\"b\":[2.0,", -1);

  g_assert_cmpstr (g_hash_table_lookup (texts, "a"), ==, "1.50");
  g_assert_cmpstr (g_hash_table_lookup (texts, "b[0]"), ==, "2.0");
}

/* Read, change one value, write: only the changed value's text is new. */
static void
test_round_trip (void)
{
  const char *original = "{\"resourceType\":\"Observation\",\"valueQuantity\":{\"value\":72.50,"
                         "\"unit\":\"kg\"},\"referenceRange\":[{\"low\":{\"value\":0.70},"
                         "\"high\":{\"value\":4.0}}],\"count\":3,\"big\":1e3}";
  g_autoptr(GHashTable) texts = charta_json_number_texts (original, -1);
  g_autoptr(JsonNode) tree = parse (original);
  g_autofree char *same = charta_json_write (tree, texts);
  g_autofree char *changed = NULL;
  g_autofree char *without = NULL;
  JsonObject *quantity;

  /* Unchanged: the text as it came. */
  g_assert_cmpstr (same, ==, original);

  /* 75.2 written by json-glib would be 75.200000000000003. */
  quantity = json_object_get_object_member (json_node_get_object (tree), "valueQuantity");
  json_object_set_double_member (quantity, "value", 75.2);
  changed = charta_json_write (tree, texts);
  g_assert_cmpstr (changed, ==,
                   "{\"resourceType\":\"Observation\",\"valueQuantity\":{\"value\":75.2,"
                   "\"unit\":\"kg\"},\"referenceRange\":[{\"low\":{\"value\":0.70},"
                   "\"high\":{\"value\":4.0}}],\"count\":3,\"big\":1e3}");

  /* Without the texts: shortest forms, ".0" on a whole double, integers as they are. */
  without = charta_json_write (tree, NULL);
  g_assert_cmpstr (without, ==,
                   "{\"resourceType\":\"Observation\",\"valueQuantity\":{\"value\":75.2,"
                   "\"unit\":\"kg\"},\"referenceRange\":[{\"low\":{\"value\":0.7},"
                   "\"high\":{\"value\":4.0}}],\"count\":3,\"big\":1000.0}");
}

/* A text noted for a path is not used when the value there changed. */
static void
test_stale_text (void)
{
  g_autoptr(GHashTable) texts = charta_json_number_texts ("{\"v\":0.70}", -1);
  g_autoptr(JsonNode) tree = parse ("{\"v\":0.8}");
  g_autofree char *text = charta_json_write (tree, texts);

  g_assert_cmpstr (text, ==, "{\"v\":0.8}");
}

/* Strings: quotes, backslashes and control characters escaped, UTF-8 kept. */
static void
test_strings (void)
{
  g_autoptr(JsonNode) tree = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonObject) object = json_object_new ();
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) back = NULL;

  json_object_set_string_member (object, "s", "a\"b\\c\nd\te\001 Øvergaard");
  json_node_set_object (tree, object);
  text = charta_json_write (tree, NULL);
  g_assert_cmpstr (text, ==, "{\"s\":\"a\\\"b\\\\c\\nd\\te\\u0001 Øvergaard\"}");
  back = parse (text);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (back), "s"), ==,
                   "a\"b\\c\nd\te\001 Øvergaard");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/charta/gui/json-text/number-texts", test_number_texts);
  g_test_add_func ("/charta/gui/json-text/number-texts-broken", test_number_texts_broken);
  g_test_add_func ("/charta/gui/json-text/round-trip", test_round_trip);
  g_test_add_func ("/charta/gui/json-text/stale-text", test_stale_text);
  g_test_add_func ("/charta/gui/json-text/strings", test_strings);
  return g_test_run ();
}
