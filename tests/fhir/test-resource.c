/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-resource.c: parsing with limits, ChartaResource, number texts and canonical JSON.
 *
 * The corpus round trip reads every R4 example that is not in KNOWN-INVALID.txt: each must
 * parse, print back as JSON equal to json-glib's own reading of the file, keep every number's
 * text, and print the same bytes when its output is parsed and printed again.  The limit tests
 * build their hostile inputs in memory (or as a sparse file) and check the error code, the
 * position in the message, speed and peak memory.
 */
#define G_LOG_DOMAIN "charta-test-resource"

#include <string.h>

#include <glib/gstdio.h>

#include "charta-resource-private.h"
#include "charta-test-util.h"

/* --- helpers --------------------------------------------------------------------------------- */

static ChartaResource *
parse_text (const char              *text,
            const ChartaParseLimits *limits,
            GError                 **error)
{
  return charta_resource_new_from_data (text, strlen (text), limits, error);
}

/* Parses @text, expecting @code and a message starting with @prefix (when not NULL). */
static void
assert_parse_fails (const char              *text,
                    size_t                   length,
                    const ChartaParseLimits *limits,
                    int                      code,
                    const char              *prefix)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = NULL;

  resource = charta_resource_new_from_data (text, length, limits, &error);
  g_assert_null (resource);
  g_assert_error (error, CHARTA_FHIR_ERROR, code);
  g_test_message ("%s", error->message);
  if (prefix != NULL && !g_str_has_prefix (error->message, prefix))
    g_error ("message \"%s\" does not start with \"%s\"", error->message, prefix);
}

static void
assert_message_contains (const char *text,
                         int         code,
                         const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = parse_text (text, NULL, &error);

  g_assert_null (resource);
  g_assert_error (error, CHARTA_FHIR_ERROR, code);
  if (strstr (error->message, needle) == NULL)
    g_error ("message \"%s\" does not contain \"%s\"", error->message, needle);
}

/* Number nodes of @node's tree in document (member insertion) order. */
static void
collect_number_nodes (JsonNode  *node,
                      GPtrArray *out)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        /* (json-glib 1.6 crashes at the end of an ordered iteration without a name pointer.) */
        json_object_iter_init_ordered (&iter, json_node_get_object (node));
        while (json_object_iter_next_ordered (&iter, &name, &member))
          collect_number_nodes (member, out);
      }
      break;
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (unsigned i = 0; i < json_array_get_length (array); i++)
          collect_number_nodes (json_array_get_element (array, i), out);
      }
      break;
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_INT64
          || json_node_get_value_type (node) == G_TYPE_DOUBLE)
        g_ptr_array_add (out, node);
      break;
    case JSON_NODE_NULL:
    default:
      break;
    }
}

/* The number tokens of JSON text @data, as written, in order (a deliberately naive scanner:
 * it only skips strings). */
static GPtrArray *
raw_number_tokens (const char *data,
                   size_t      length)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  for (size_t i = 0; i < length;)
    {
      char c = data[i];

      if (c == '"')
        {
          for (i++; i < length && data[i] != '"'; i++)
            if (data[i] == '\\')
              i++;
          i++;
        }
      else if (c == '-' || g_ascii_isdigit (c))
        {
          size_t j = i;

          while (j < length && strchr ("+-.eE0123456789", data[j]) != NULL && data[j] != '\0')
            j++;
          g_ptr_array_add (out, g_strndup (data + i, j - i));
          i = j;
        }
      else
        i++;
    }
  return out;
}

/* Compares the number texts of two JSON-equal trees member by member (their member order
 * may differ). */
static void
assert_same_number_texts (ChartaResource *a,
                          JsonNode       *na,
                          ChartaResource *b,
                          JsonNode       *nb,
                          const char     *file,
                          unsigned       *count)
{
  switch (json_node_get_node_type (na))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        json_object_iter_init_ordered (&iter, json_node_get_object (na));
        while (json_object_iter_next_ordered (&iter, &name, &member))
          assert_same_number_texts (a, member, b,
                                    json_object_get_member (json_node_get_object (nb), name),
                                    file, count);
      }
      break;
    case JSON_NODE_ARRAY:
      {
        JsonArray *xa = json_node_get_array (na);
        JsonArray *xb = json_node_get_array (nb);

        for (unsigned i = 0; i < json_array_get_length (xa); i++)
          assert_same_number_texts (a, json_array_get_element (xa, i), b,
                                    json_array_get_element (xb, i), file, count);
      }
      break;
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (na) == G_TYPE_INT64
          || json_node_get_value_type (na) == G_TYPE_DOUBLE)
        {
          const char *ta = charta_resource_get_number_text (a, na);
          const char *tb = charta_resource_get_number_text (b, nb);

          g_assert_nonnull (ta);
          if (g_strcmp0 (ta, tb) != 0)
            g_error ("%s: number %s printed back as %s", file, ta, tb);
          (*count)++;
        }
      break;
    case JSON_NODE_NULL:
    default:
      break;
    }
}

static size_t
peak_rss_kb (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "VmHWM:");
  if (line == NULL)
    return 0;
  return g_ascii_strtoull (line + strlen ("VmHWM:"), NULL, 10);
}

/* --- corpus ---------------------------------------------------------------------------------- */

static void
test_corpus_round_trip (void)
{
  g_autofree char *dir = NULL;
  g_autoptr(GHashTable) known_invalid = NULL;
  g_autoptr(GPtrArray) names = charta_test_list_valid_examples (&dir, &known_invalid);
  g_autoptr(GError) error = NULL;
  unsigned n_files = 0, n_numbers = 0, n_decimals = 0;

  if (names == NULL)
    return;
  g_assert_cmpuint (g_hash_table_size (known_invalid), ==, 8);

  for (unsigned i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      g_autofree char *data = NULL;
      g_autofree char *canonical = NULL;
      g_autofree char *again = NULL;
      g_autofree char *pretty = NULL;
      g_autofree char *where = NULL;
      g_autoptr(ChartaResource) original = NULL;
      g_autoptr(ChartaResource) reparsed = NULL;
      g_autoptr(ChartaResource) reparsed_pretty = NULL;
      g_autoptr(JsonParser) reference = json_parser_new ();
      g_autoptr(GPtrArray) tokens = NULL;
      g_autoptr(GPtrArray) nodes = g_ptr_array_new ();
      size_t length, canonical_length, again_length;

      g_file_get_contents (path, &data, &length, &error);
      g_assert_no_error (error);

      original = charta_resource_new_from_data (data, length, NULL, &error);
      if (original == NULL)
        g_error ("%s: %s", path, error->message);

      /* Every number's text, in document order, is the token in the file. */
      tokens = raw_number_tokens (data, length);
      collect_number_nodes (charta_resource_get_root (original), nodes);
      g_assert_cmpuint (nodes->len, ==, tokens->len);
      for (unsigned k = 0; k < nodes->len; k++)
        {
          const char *text = charta_resource_get_number_text (original, nodes->pdata[k]);

          if (g_strcmp0 (text, tokens->pdata[k]) != 0)
            g_error ("%s: number %u is %s in the file, %s in the resource", path, k,
                     (char *) tokens->pdata[k], text);
          if (strpbrk (text, ".eE") != NULL)
            n_decimals++;
        }

      /* Canonical output, parsed again, equals json-glib's own reading of the file. */
      canonical = charta_resource_to_json (original, FALSE, &canonical_length);
      g_assert_cmpuint (strlen (canonical), ==, canonical_length);
      reparsed = charta_resource_new_from_data (canonical, canonical_length, NULL, &error);
      if (reparsed == NULL)
        g_error ("%s: canonical output does not parse: %s", path, error->message);
      json_parser_load_from_data (reference, data, length, &error);
      g_assert_no_error (error);
      if (!charta_test_json_equal (json_parser_get_root (reference),
                                   charta_resource_get_root (reparsed), &where))
        g_error ("%s: canonical output differs at %s", path, where);
      if (!charta_test_json_equal (json_parser_get_root (reference),
                                   charta_resource_get_root (original), &where))
        g_error ("%s: our tree differs from json-glib's at %s", path, where);
      assert_same_number_texts (original, charta_resource_get_root (original), reparsed,
                                charta_resource_get_root (reparsed), path, &n_numbers);

      /* Idempotent: the output of the output is the same bytes. */
      again = charta_resource_to_json (reparsed, FALSE, &again_length);
      g_assert_cmpuint (again_length, ==, canonical_length);
      if (memcmp (again, canonical, canonical_length) != 0)
        g_error ("%s: canonical output is not idempotent", path);

      /* Pretty output reads back as the same resource, and prints the same canonical bytes. */
      pretty = charta_resource_to_json (original, TRUE, NULL);
      reparsed_pretty = parse_text (pretty, NULL, &error);
      g_assert_no_error (error);
      g_free (again);
      again = charta_resource_to_json (reparsed_pretty, FALSE, NULL);
      g_assert_cmpstr (again, ==, canonical);

      n_files++;
    }

  g_test_message ("%u files round-tripped, %u numbers (%u with a fraction or exponent) kept",
                  n_files, n_numbers, n_decimals);
  g_assert_cmpuint (n_files, ==, 724);
  g_assert_cmpuint (n_decimals, >, 100);
}

/* --- edited and lazy resources ------------------------------------------------------------ */

/* A reference rewrite that changes most references, to several types (so that search
 * parameters filtered with resolve() see new types): urn:uuid ones always, others often. */
static const char *
rewrite_for_test (const char *reference,
                  gpointer    user_data)
{
  GHashTable *made = user_data;
  const char *types[] = { "Patient", "Observation", "Practitioner", "Encounter" };
  guint hash = g_str_hash (reference);
  char *target;

  if (reference[0] == '#' || (!g_str_has_prefix (reference, "urn:uuid:") && hash % 3 == 0))
    return NULL;
  target = g_hash_table_lookup (made, reference);
  if (target == NULL)
    {
      target = g_strdup_printf ("%s/r%08x", types[hash % G_N_ELEMENTS (types)], hash);
      g_hash_table_insert (made, g_strdup (reference), target);
    }
  return target;
}

static int
compare_rendered (gconstpointer a,
                  gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The index values of @resource, each rendered as a string, sorted. */
static GPtrArray *
rendered_index_values (ChartaResource *resource)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) values = charta_search_index_extract (resource, &error);
  GPtrArray *rows = g_ptr_array_new_with_free_func (g_free);

  g_assert_no_error (error);
  for (unsigned i = 0; i < values->len; i++)
    {
      const ChartaIndexValue *v = values->pdata[i];
      GString *row = g_string_new (v->param->code);

      g_string_append_printf (row, "|%d|%s|%s|%s|%s|%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT
                              "|%.17g|%.17g|%.17g|%s|%s|%s|%s|%s|%s|%s|%s|%s|%u", v->type,
                              v->normalized, v->text, v->system, v->code, v->display,
                              v->date_low, v->date_high, v->number, v->number_low,
                              v->number_high, v->unit_system, v->unit_code, v->unit,
                              v->ref_type, v->ref_id, v->ref_version, v->ref_url,
                              v->identifier_type_system, v->identifier_type_code,
                              v->components != NULL ? v->components->len : 0);
      g_ptr_array_add (rows, g_string_free (row, FALSE));
    }
  g_ptr_array_sort (rows, compare_rendered);
  return rows;
}

/* charta_resource_new_edited() gives what parsing the edited text gives, and the same text as
 * charta_resource_to_json_edited(); charta_resource_new_lazy() of that text reads as the text. */
static void
check_edited (ChartaResource *input,
              const char     *where,
              GHashTable     *made)
{
  ChartaResourceEdits edits = { "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b", "3",
                                "2024-05-01T10:20:30.123456Z", rewrite_for_test, made };
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *edited_text = NULL;
  g_autofree char *printed = NULL;
  g_autofree char *lazy_printed = NULL;
  g_autofree char *differs = NULL;
  g_autoptr(ChartaResource) edited = NULL;
  g_autoptr(ChartaResource) parsed = NULL;
  g_autoptr(ChartaResource) lazy = NULL;
  g_autoptr(GPtrArray) edited_rows = NULL;
  g_autoptr(GPtrArray) parsed_rows = NULL;
  size_t length, edited_length;
  unsigned n_numbers = 0;

  text = charta_resource_to_json_edited (input, &edits, &length);
  edited = charta_resource_new_edited (input, &edits, &edited_text, &edited_length);
  g_assert_cmpuint (edited_length, ==, length);
  g_assert_cmpstr (edited_text, ==, text);
  parsed = charta_resource_new_from_data (text, length, NULL, &error);
  if (parsed == NULL)
    g_error ("%s: the edited text does not parse: %s", where, error->message);

  /* The same tree, names, meta and number texts. */
  if (!charta_test_json_equal (charta_resource_get_root (parsed),
                               charta_resource_get_root (edited), &differs))
    g_error ("%s: the edited tree differs from the parsed text at %s", where, differs);
  g_assert_true (json_node_is_immutable (charta_resource_get_root (edited)));
  g_assert_cmpstr (charta_resource_get_resource_type (edited), ==,
                   charta_resource_get_resource_type (input));
  g_assert_cmpstr (charta_resource_get_id (edited), ==, edits.id);
  g_assert_cmpstr (charta_resource_get_version_id (edited), ==, edits.version_id);
  g_assert_cmpstr (charta_resource_get_last_updated (edited), ==, edits.last_updated);
  assert_same_number_texts (parsed, charta_resource_get_root (parsed), edited,
                            charta_resource_get_root (edited), where, &n_numbers);
  printed = charta_resource_to_json (edited, FALSE, NULL);
  g_assert_cmpstr (printed, ==, text);

  /* The same index values (so the same search-index rows). */
  edited_rows = rendered_index_values (edited);
  parsed_rows = rendered_index_values (parsed);
  g_assert_cmpuint (edited_rows->len, ==, parsed_rows->len);
  for (unsigned i = 0; i < edited_rows->len; i++)
    if (strcmp (edited_rows->pdata[i], parsed_rows->pdata[i]) != 0)
      g_error ("%s: index value %s of the edited tree, %s of the parsed text", where,
               (char *) edited_rows->pdata[i], (char *) parsed_rows->pdata[i]);

  /* A lazy resource of the text knows its names before parsing, and then reads as the text. */
  lazy = charta_resource_new_lazy (g_strdup (text), length,
                                   charta_resource_get_resource_type (edited), edits.id,
                                   edits.version_id, edits.last_updated);
  g_assert_cmpstr (charta_resource_get_id (lazy), ==, edits.id);
  g_assert_cmpstr (charta_resource_get_version_id (lazy), ==, edits.version_id);
  g_assert_cmpstr (charta_resource_get_last_updated (lazy), ==, edits.last_updated);
  g_assert_false (charta_resource_patch_last_updated (lazy, "2024-05-01T10:20:31.000000Z"));
  if (!charta_test_json_equal (charta_resource_get_root (parsed),
                               charta_resource_get_root (lazy), &differs))
    g_error ("%s: the lazy tree differs from the parsed text at %s", where, differs);
  assert_same_number_texts (parsed, charta_resource_get_root (parsed), lazy,
                            charta_resource_get_root (lazy), where, &n_numbers);
  lazy_printed = charta_resource_to_json (lazy, FALSE, NULL);
  g_assert_cmpstr (lazy_printed, ==, text);
}

static void
test_corpus_edited (void)
{
  g_autofree char *dir = NULL;
  g_autoptr(GPtrArray) names = charta_test_list_valid_examples (&dir, NULL);
  g_autoptr(GHashTable) made = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *synthea = NULL;
  g_autoptr(GPtrArray) bundles = NULL;
  unsigned n = 0, n_entries = 0;

  if (names == NULL)
    return;
  for (unsigned i = 0; i < names->len; i++, n++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      g_autoptr(ChartaResource) resource = charta_test_load_resource (path);

      check_edited (resource, path, made);
    }

  /* The entries of a few Synthea bundles: every one has urn:uuid references. */
  synthea = charta_test_corpus_path ("synthea");
  bundles = charta_test_list_json_files (synthea, NULL);
  for (unsigned i = 0; i < bundles->len && i < 3; i++)
    {
      g_autofree char *path = g_build_filename (synthea, bundles->pdata[i], NULL);
      g_autoptr(ChartaResource) bundle = charta_test_load_resource (path);
      JsonArray *entries = json_object_get_array_member (charta_resource_get_object (bundle),
                                                         "entry");

      for (unsigned k = 0; k < json_array_get_length (entries); k++, n_entries++)
        {
          JsonObject *entry = json_array_get_object_element (entries, k);
          g_autoptr(GError) error = NULL;
          g_autoptr(ChartaResource) resource = NULL;
          g_autofree char *where = g_strdup_printf ("%s entry %u", path, k);

          resource = charta_resource_new_nested (bundle, json_object_get_member (entry,
                                                                                  "resource"),
                                                 &error);
          g_assert_no_error (error);
          check_edited (resource, where, made);
        }
    }
  g_test_message ("%u examples and %u Synthea entries edited, %u references rewritten", n,
                  n_entries, g_hash_table_size (made));
  g_assert_cmpuint (n, ==, 724);
  g_assert_cmpuint (n_entries, >, 100);
  g_assert_cmpuint (g_hash_table_size (made), >, 500);
}

/* The same file in a shuffled member order prints the same canonical bytes. */
static void
test_corpus_order_independent (void)
{
  g_autofree char *path = charta_test_corpus_path ("r4-examples/Patient-example.json");
  g_autoptr(ChartaResource) resource = NULL;
  g_autoptr(ChartaResource) reversed = NULL;
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *canonical = NULL;
  g_autofree char *shuffled = NULL;
  g_autofree char *canonical2 = NULL;
  g_autoptr(JsonNode) copy = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;
  g_autoptr(GList) names = NULL;
  JsonObject *reversed_object;

  if (path == NULL)
    return;
  resource = charta_test_load_resource (path);
  canonical = charta_resource_to_json (resource, FALSE, NULL);

  /* Rebuild the top-level object with its members in reverse order. */
  reversed_object = json_object_new ();
  json_object_iter_init_ordered (&iter, charta_resource_get_object (resource));
  while (json_object_iter_next_ordered (&iter, &name, &member))
    names = g_list_prepend (names, (gpointer) name);
  for (GList *l = names; l != NULL; l = l->next)
    json_object_set_member (reversed_object, l->data,
                            json_node_copy (json_object_get_member (
                              charta_resource_get_object (resource), l->data)));
  copy = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (copy, reversed_object);
  json_generator_set_root (generator, copy);
  shuffled = json_generator_to_data (generator, NULL);
  g_assert_false (g_str_has_prefix (shuffled, "{\"resourceType\""));

  reversed = parse_text (shuffled, NULL, &error);
  g_assert_no_error (error);
  canonical2 = charta_resource_to_json (reversed, FALSE, NULL);
  g_assert_cmpstr (canonical2, ==, canonical);
}

/* --- limits ---------------------------------------------------------------------------------- */

/* {"resourceType":"Patient","extension":[[[…]]]} with @levels levels in all (the top-level
 * object counts as one). */
static GString *
nested_patient (unsigned levels)
{
  GString *s = g_string_sized_new (levels * 2 + 64);

  g_string_append (s, "{\"resourceType\":\"Patient\",\"extension\":");
  for (unsigned i = 1; i < levels; i++)
    g_string_append_c (s, '[');
  for (unsigned i = 1; i < levels; i++)
    g_string_append_c (s, ']');
  g_string_append_c (s, '}');
  return s;
}

static void
test_depth_hostile (void)
{
  g_autoptr(GString) deep = nested_patient (100000);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  size_t rss_before = peak_rss_kb ();
  gint64 start = g_get_monotonic_time ();
  double seconds;

  resource = charta_resource_new_from_data (deep->str, deep->len, NULL, &error);
  seconds = (g_get_monotonic_time () - start) / 1e6;
  g_assert_null (resource);
  g_assert_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_DEEP);
  g_test_message ("%s (%.6f s, peak RSS %zu -> %zu kB)", error->message, seconds, rss_before,
                  peak_rss_kb ());
  /* The 129th level opens at column 39 + 128 - 1. */
  g_assert_true (g_str_has_prefix (error->message, "line 1, column 166: "));
  g_assert_nonnull (strstr (error->message, "128"));
  g_assert_cmpfloat (seconds, <, 0.5);
  g_assert_cmpuint (peak_rss_kb (), <, rss_before + 16 * 1024);

  /* A limit above the ceiling is lowered to it (json-glib's sealing recurses per level). */
  {
    ChartaParseLimits huge = { 0, 1000000 };

    g_clear_error (&error);
    resource = charta_resource_new_from_data (deep->str, deep->len, &huge, &error);
    g_assert_null (resource);
    g_assert_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_DEEP);
    g_assert_nonnull (strstr (error->message, "limit of 4096 levels"));
  }

  /* A deep object nesting (as opposed to arrays) stops the same way. */
  {
    g_autoptr(GString) objects = g_string_new ("{\"resourceType\":\"Patient\"");

    for (unsigned i = 0; i < 100000; i++)
      g_string_append (objects, ",\"a\":{\"b\":0");
    g_clear_error (&error);
    resource = charta_resource_new_from_data (objects->str, objects->len, NULL, &error);
    g_assert_null (resource);
    g_assert_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_DEEP);
  }
}

static void
test_depth_at_limit (void)
{
  g_autoptr(GError) error = NULL;
  ChartaParseLimits five = { 0, 5 };

  /* Exactly the default limit parses; one more level does not. */
  {
    g_autoptr(GString) at = nested_patient (CHARTA_DEFAULT_MAX_DEPTH);
    g_autoptr(GString) over = nested_patient (CHARTA_DEFAULT_MAX_DEPTH + 1);
    g_autoptr(ChartaResource) ok = charta_resource_new_from_data (at->str, at->len, NULL, &error);

    g_assert_no_error (error);
    g_assert_nonnull (ok);
    assert_parse_fails (over->str, over->len, NULL, CHARTA_FHIR_ERROR_TOO_DEEP, "line 1, column ");
  }

  /* A custom limit. */
  {
    g_autoptr(GString) at = nested_patient (5);
    g_autoptr(GString) over = nested_patient (6);
    g_autoptr(ChartaResource) ok = charta_resource_new_from_data (at->str, at->len, &five, &error);

    g_assert_no_error (error);
    g_assert_nonnull (ok);
    assert_parse_fails (over->str, over->len, &five, CHARTA_FHIR_ERROR_TOO_DEEP,
                        "line 1, column 43: ");
  }

  /* At the ceiling, objects in objects parse, seal and print back (the writer recurses). */
  {
    ChartaParseLimits ceiling = { 0, 4096 };
    g_autoptr(GString) text = g_string_new ("{\"resourceType\":\"Basic\"");
    g_autoptr(ChartaResource) ok = NULL;
    g_autofree char *json = NULL;

    for (unsigned i = 1; i < 4096; i++)
      g_string_append (text, ",\"a\":{\"b\":1.0");
    for (unsigned i = 1; i < 4096; i++)
      g_string_append_c (text, '}');
    g_string_append_c (text, '}');
    ok = charta_resource_new_from_data (text->str, text->len, &ceiling, &error);
    g_assert_no_error (error);
    json = charta_resource_to_json (ok, TRUE, NULL);
    g_assert_cmpuint (strlen (json), >, 4096 * 4096);
    g_clear_pointer (&json, g_free);
    json = charta_resource_to_json (ok, FALSE, NULL);
    g_assert_cmpuint (strlen (json), ==, text->len);
  }

  /* Objects count as levels too. */
  {
    const char *objects = "{\"resourceType\":\"Patient\",\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{}}}}}}";

    assert_parse_fails (objects, strlen (objects), &five, CHARTA_FHIR_ERROR_TOO_DEEP,
                        "line 1, column 51: ");
  }
}

static void
test_too_large (void)
{
  const char *text = "{\"resourceType\":\"Patient\",\"id\":\"abc\"}";
  ChartaParseLimits small = { strlen (text) - 1, 0 };
  ChartaParseLimits exact = { strlen (text), 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = NULL;

  assert_parse_fails (text, strlen (text), &small, CHARTA_FHIR_ERROR_TOO_LARGE, NULL);
  resource = parse_text (text, &exact, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_id (resource), ==, "abc");

  /* The size check comes before any reading: a limit of 1 byte refuses bad bytes as too large. */
  {
    ChartaParseLimits tiny = { 1, 0 };

    assert_parse_fails ("\xff\xff", 2, &tiny, CHARTA_FHIR_ERROR_TOO_LARGE, "the body is 2 bytes");
  }
}

static void
test_invalid_utf8 (void)
{
  /* In a string value: byte 31 is the 0xff. */
  assert_parse_fails ("{\"resourceType\":\"Patient\",\"id\":\"a\xff\"}", 36, NULL,
                      CHARTA_FHIR_ERROR_INVALID_UTF8, "line 1, column 34: ");
  assert_message_contains ("{\"resourceType\":\"Patient\",\"id\":\"a\xff\"}",
                           CHARTA_FHIR_ERROR_INVALID_UTF8, "byte 33");
  /* In a key. */
  assert_message_contains ("{\"resourceType\":\"Patient\",\"i\xc3\x28\":1}",
                           CHARTA_FHIR_ERROR_INVALID_UTF8, "byte 28");
  /* Overlong encoding, surrogate half encoded in UTF-8, beyond U+10FFFF, truncated sequence. */
  assert_message_contains ("{\"resourceType\":\"Patient\",\"id\":\"\xc0\xaf\"}",
                           CHARTA_FHIR_ERROR_INVALID_UTF8, "byte 32");
  assert_message_contains ("{\"resourceType\":\"Patient\",\"id\":\"\xed\xa0\x80\"}",
                           CHARTA_FHIR_ERROR_INVALID_UTF8, "byte 32");
  assert_message_contains ("{\"resourceType\":\"Patient\",\"id\":\"\xf4\x90\x80\x80\"}",
                           CHARTA_FHIR_ERROR_INVALID_UTF8, "byte 32");
  assert_parse_fails ("{\"resourceType\":\"Patient\",\"id\":\"\xe2\x82", 34, NULL,
                      CHARTA_FHIR_ERROR_INVALID_UTF8, "line 1, column 33: ");
  /* Outside a string. */
  assert_message_contains ("{\"resourceType\":\"Patient\",\xff}", CHARTA_FHIR_ERROR_INVALID_UTF8,
                           "byte 26");
  /* Columns count characters: the bad byte after "é" (two bytes) is column 34, byte 34. */
  assert_parse_fails ("{\"resourceType\":\"Patient\",\"id\":\"\xc3\xa9\xff\"}", 37, NULL,
                      CHARTA_FHIR_ERROR_INVALID_UTF8, "line 1, column 34: ");
  assert_message_contains ("{\"resourceType\":\"Patient\",\"id\":\"\xc3\xa9\xff\"}",
                           CHARTA_FHIR_ERROR_INVALID_UTF8, "byte 34");
  /* Unpaired UTF-16 surrogates in escapes. */
  assert_message_contains ("{\"resourceType\":\"Patient\",\"id\":\"\\ud800\"}",
                           CHARTA_FHIR_ERROR_INVALID_UTF8, "unpaired");
  assert_message_contains ("{\"resourceType\":\"Patient\",\"id\":\"\\udc00x\"}",
                           CHARTA_FHIR_ERROR_INVALID_UTF8, "unpaired");

  /* Valid non-ASCII and escapes decode. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(ChartaResource) resource =
      parse_text ("{\"resourceType\":\"Patient\",\"id\":\"Zo\xc3\xab\\u00e9\\ud83d\\ude00\\n\"}",
                  NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (charta_resource_get_id (resource), ==,
                     "Zo\xc3\xab\xc3\xa9\xf0\x9f\x98\x80\n");
  }
}

static void
test_duplicate_keys (void)
{
  g_autoptr(GError) error = NULL;

  assert_parse_fails ("{\"resourceType\":\"Patient\",\"id\":\"a\",\"id\":\"b\"}", 45, NULL,
                      CHARTA_FHIR_ERROR_DUPLICATE_KEY, "line 1, column 36: ");
  assert_message_contains ("{\"resourceType\":\"Patient\",\"id\":\"a\",\"id\":\"b\"}",
                           CHARTA_FHIR_ERROR_DUPLICATE_KEY, "\"id\" in Patient:");
  /* Nested, with the path. */
  assert_message_contains ("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"a\"},"
                           "{\"family\":\"b\",\n\"family\":\"c\"}]}",
                           CHARTA_FHIR_ERROR_DUPLICATE_KEY, "\"family\" in Patient.name[1]:");
  assert_parse_fails ("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"a\"},"
                      "{\"family\":\"b\",\n  \"family\":\"c\"}]}", 78, NULL,
                      CHARTA_FHIR_ERROR_DUPLICATE_KEY, "line 2, column 3: ");
  assert_message_contains ("{\"resourceType\":\"Patient\",\"contact\":[{\"name\":{\"given\":[],"
                           "\"given\":[]}}]}",
                           CHARTA_FHIR_ERROR_DUPLICATE_KEY, "Patient.contact[0].name:");
  /* A duplicate whose value is an object or array. */
  assert_message_contains ("{\"resourceType\":\"Patient\",\"meta\":{},\"meta\":{}}",
                           CHARTA_FHIR_ERROR_DUPLICATE_KEY, "\"meta\"");
  /* Same name once escaped, once not. */
  assert_message_contains ("{\"resourceType\":\"Patient\",\"id\":\"a\",\"\\u0069d\":\"b\"}",
                           CHARTA_FHIR_ERROR_DUPLICATE_KEY, "\"id\"");
  /* Duplicate resourceType before anything is known: the path falls back to $. */
  assert_message_contains ("{\"x\":{\"a\":1,\"a\":2},\"resourceType\":\"Patient\"}",
                           CHARTA_FHIR_ERROR_DUPLICATE_KEY, "\"a\" in $.x:");
  /* A big object (past any small-object shortcut). */
  {
    g_autoptr(GString) big = g_string_new ("{\"resourceType\":\"Basic\",\"x\":{");

    for (unsigned i = 0; i < 1000; i++)
      g_string_append_printf (big, "\"k%u\":%u,", i, i);
    g_string_append (big, "\"k500\":0}}");
    assert_message_contains (big->str, CHARTA_FHIR_ERROR_DUPLICATE_KEY, "\"k500\" in Basic.x:");
  }

  /* The same key in different objects is fine. */
  {
    g_autoptr(ChartaResource) resource =
      parse_text ("{\"resourceType\":\"Patient\",\"id\":\"a\",\"name\":[{\"id\":\"n1\",\"family\":"
                  "\"a\"},{\"id\":\"n2\",\"family\":\"b\"}],"
                  "\"contact\":[{\"name\":{\"id\":\"c\"}}]}",
                  NULL, &error);

    g_assert_no_error (error);
    g_assert_nonnull (resource);
  }
}

typedef struct
{
  const char *text;
  const char *prefix;  /* expected start of the message */
} MalformedCase;

static void
test_malformed (void)
{
  static const MalformedCase cases[] = {
    /* truncated */
    { "{\"resourceType\":\"Patient\",\"id\":\"a\"", "line 1, column 35: unexpected end of input" },
    { "{\"resourceType\":\"Patient\",\"id\":\"a", "line 1, column 32: unterminated string" },
    { "{\"resourceType\":\"Patient\",\"id\":", "line 1, column 32: unexpected end of input" },
    { "{\"resourceType\":\"Patient\",\"id\"", "line 1, column 31: unexpected end of input" },
    { "{", "line 1, column 2: unexpected end of input" },
    /* trailing commas */
    { "{\n  \"resourceType\": \"Patient\",\n  \"active\": true,\n}",
      "line 3, column 17: trailing comma" },
    { "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"x\"},]}",
      "line 1, column 49: trailing comma" },
    /* bare words */
    { "{\"resourceType\":\"Patient\",\"active\":yes}",
      "line 1, column 36: unexpected 'yes', expected a value" },
    { "{\"resourceType\":\"Patient\",\"active\":True}", "line 1, column 36: unexpected 'True'" },
    { "{\"resourceType\":\"Patient\",\"active\":truex}", "line 1, column 36: unexpected 'truex'" },
    { "{\"resourceType\":\"Patient\",\"active\":nul}", "line 1, column 36: unexpected 'nul'" },
    { "hello", "line 1, column 1: unexpected 'hello', expected a value" },
    { "{resourceType:\"Patient\"}", "line 1, column 2: unexpected 'resourceType', expected a "
                                    "member name in double quotes" },
    /* two top-level values */
    { "{\"resourceType\":\"Patient\"}{}", "line 1, column 27: unexpected '{' after the end" },
    { "{\"resourceType\":\"Patient\"}\n\n x", "line 3, column 2: unexpected 'x' after the end" },
    /* empty input */
    { "", "line 1, column 1: no JSON value" },
    { " \n\t ", "line 2, column 3: no JSON value" },
    /* what json-glib 1.6 would let through */
    { "{'resourceType':'Patient'}", "line 1, column 2: unexpected \"'\", expected a member "
                                     "name" },
    { "{\"resourceType\":\"Patient\" /* c */}", "line 1, column 27: unexpected '/'" },
    { "{\"resourceType\":\"Patient\",\"a\":01}", "line 1, column 31: a number must not start "
                                                  "with a leading zero" },
    { "{\"resourceType\":\"Patient\",\"a\":.5}", "line 1, column 31: unexpected '.'" },
    { "{\"resourceType\":\"Patient\",\"a\":1.}", "line 1, column 33: expected a digit after the "
                                                  "decimal point" },
    { "{\"resourceType\":\"Patient\",\"a\":0x10}", "line 1, column 32: unexpected 'x10'" },
    { "{\"resourceType\":\"Patient\",\"a\":+1}", "line 1, column 31: unexpected '+'" },
    { "{\"resourceType\":\"Patient\",\"a\":-}", "line 1, column 32: expected a digit after '-'" },
    { "{\"resourceType\":\"Patient\",\"a\":1e}", "line 1, column 33: expected a digit in the "
                                                  "exponent" },
    { "{\"resourceType\":\"Patient\",\"a\":NaN}", "line 1, column 31: unexpected 'NaN'" },
    { "{\"resourceType\":\"Patient\",\"a\":\"\\x\"}", "line 1, column 32: invalid escape" },
    { "{\"resourceType\":\"Patient\",\"a\":\"\\u12\"}", "line 1, column 32: invalid \\u escape" },
    { "{\"resourceType\":\"Patient\",\"a\":\"x\ty\"}", "line 1, column 33: control character "
                                                      "U+0009" },
    { "{\"resourceType\":\"Patient\",\"a\":\"x\ny\"}", "line 1, column 33: control character "
                                                      "U+000A" },
    { "{\"resourceType\":\"Patient\" \"id\":\"a\"}", "line 1, column 27: unexpected '\"', "
                                                    "expected ',' or '}'" },
    { "{\"resourceType\":\"Patient\",\"a\":[1 2]}", "line 1, column 34: unexpected '2', "
                                                   "expected ',' or ']'" },
    { "{\"resourceType\":\"Patient\",\"a\":[1}", "line 1, column 33: unexpected '}'" },
    { "{\"resourceType\" \"Patient\"}", "line 1, column 17: unexpected '\"', expected ':'" },
    { "{\"resourceType\":\"Patient\",\"a\":\xc3\xa9}", "line 1, column 31: unexpected '\xc3\xa9'" },
  };

  for (unsigned i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_parse_fails (cases[i].text, strlen (cases[i].text), NULL,
                        CHARTA_FHIR_ERROR_MALFORMED, cases[i].prefix);

  /* A NUL byte is not JSON either, and \u0000 cannot be kept in a GLib string. */
  assert_parse_fails ("{\"resourceType\":\"Patient\"}\0", 27, NULL, CHARTA_FHIR_ERROR_MALFORMED,
                      "line 1, column 27: unexpected control character U+0000");
  assert_parse_fails ("{\"resourceType\":\"Patient\",\"id\":\"a\\u0000\"}", 41, NULL,
                      CHARTA_FHIR_ERROR_UNSUPPORTED, "line 1, column 34: ");

  /* A UTF-8 byte order mark is skipped. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(ChartaResource) resource =
      parse_text ("\xef\xbb\xbf{\"resourceType\":\"Patient\"}", NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (charta_resource_get_resource_type (resource), ==, "Patient");
  }
}

static void
test_not_resource (void)
{
  assert_parse_fails ("[{\"resourceType\":\"Patient\"}]", 28, NULL,
                      CHARTA_FHIR_ERROR_NOT_RESOURCE, "the JSON value is an array");
  assert_parse_fails ("\"Patient\"", 9, NULL, CHARTA_FHIR_ERROR_NOT_RESOURCE,
                      "the JSON value is a string");
  assert_parse_fails ("42", 2, NULL, CHARTA_FHIR_ERROR_NOT_RESOURCE, "the JSON value is a number");
  assert_parse_fails ("null", 4, NULL, CHARTA_FHIR_ERROR_NOT_RESOURCE, "the JSON value is null");
  assert_parse_fails ("{\"id\":\"a\"}", 10, NULL, CHARTA_FHIR_ERROR_NOT_RESOURCE,
                      "the object has no \"resourceType\"");
  assert_message_contains ("{\"resourceType\":\"Patientx\"}", CHARTA_FHIR_ERROR_NOT_RESOURCE,
                           "\"Patientx\" is not an R4 resource type");
  assert_message_contains ("{\"resourceType\":\"patient\"}", CHARTA_FHIR_ERROR_NOT_RESOURCE,
                           "\"patient\"");
  assert_message_contains ("{\"resourceType\":\"DomainResource\"}",
                           CHARTA_FHIR_ERROR_NOT_RESOURCE, "abstract");
  assert_message_contains ("{\"resourceType\":\"HumanName\"}", CHARTA_FHIR_ERROR_NOT_RESOURCE,
                           "data type");
  assert_message_contains ("{\"resourceType\":7}", CHARTA_FHIR_ERROR_NOT_RESOURCE,
                           "\"resourceType\" is a number");
}

/* --- numbers and canonical output ------------------------------------------------------------ */

typedef struct
{
  const char *text;
  GType       type;
  double      value;    /* for doubles */
  gint64      integer;  /* for integers */
} NumberCase;

static void
test_number_texts (void)
{
  static const NumberCase cases[] = {
    { "1.50", G_TYPE_DOUBLE, 1.5 },
    { "0.1", G_TYPE_DOUBLE, 0.1 },
    { "0.10", G_TYPE_DOUBLE, 0.1 },
    { "1.0", G_TYPE_DOUBLE, 1.0 },
    { "1e3", G_TYPE_DOUBLE, 1000.0 },
    { "1E+3", G_TYPE_DOUBLE, 1000.0 },
    { "2.5e-3", G_TYPE_DOUBLE, 0.0025 },
    { "-0.0", G_TYPE_DOUBLE, -0.0 },
    { "-0", G_TYPE_INT64, 0, 0 },
    { "0", G_TYPE_INT64, 0, 0 },
    { "42", G_TYPE_INT64, 0, 42 },
    { "-17", G_TYPE_INT64, 0, -17 },
    { "9223372036854775807", G_TYPE_INT64, 0, G_MAXINT64 },
    { "-9223372036854775808", G_TYPE_INT64, 0, G_MININT64 },
    /* Integers past int64 keep their text and read as the nearest double (json-glib would wrap
     * 100000000000000000000 to -1). */
    { "9223372036854775808", G_TYPE_DOUBLE, 9223372036854775808.0 },
    { "100000000000000000000", G_TYPE_DOUBLE, 1e20 },
    { "-100000000000000000000", G_TYPE_DOUBLE, -1e20 },
    { "3.141592653589793238462643383279", G_TYPE_DOUBLE, 3.141592653589793 },
  };

  for (unsigned i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"component\":[{\"valueInteger\":%s}],"
                                               "\"resourceType\":\"Observation\","
                                               "\"valueQuantity\":{\"value\":%s}}",
                                               cases[i].text, cases[i].text);
      g_autofree char *expected = g_strdup_printf ("{\"resourceType\":\"Observation\","
                                                   "\"valueQuantity\":{\"value\":%s},"
                                                   "\"component\":[{\"valueInteger\":%s}]}",
                                                   cases[i].text, cases[i].text);
      g_autoptr(GError) error = NULL;
      g_autoptr(ChartaResource) resource = parse_text (text, NULL, &error);
      g_autofree char *json = NULL;
      JsonObject *quantity;
      JsonNode *value;

      g_assert_no_error (error);
      quantity = json_object_get_object_member (charta_resource_get_object (resource),
                                                "valueQuantity");
      value = json_object_get_member (quantity, "value");
      g_assert_cmpint (json_node_get_value_type (value), ==, cases[i].type);
      if (cases[i].type == G_TYPE_INT64)
        g_assert_cmpint (json_node_get_int (value), ==, cases[i].integer);
      else
        g_assert_cmpfloat (json_node_get_double (value), ==, cases[i].value);
      g_assert_cmpstr (charta_resource_get_number_text (resource, value), ==, cases[i].text);
      /* Asking twice gives the same pointer (kept, not remade). */
      g_assert_true (charta_resource_get_number_text (resource, value)
                     == charta_resource_get_number_text (resource, value));

      /* Canonical output keeps the text, and Observation's order (value[x] before component). */
      json = charta_resource_to_json (resource, FALSE, NULL);
      g_assert_cmpstr (json, ==, expected);
    }
}

static void
test_number_text_ownership (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) a = parse_text ("{\"resourceType\":\"Basic\",\"x\":1.5,\"y\":7,"
                                            "\"s\":\"7\",\"b\":true,\"n\":null,\"o\":{}}",
                                            NULL, &error);
  g_autoptr(ChartaResource) b = parse_text ("{\"resourceType\":\"Basic\",\"x\":1.5,\"y\":7}",
                                            NULL, &error);
  JsonObject *oa = charta_resource_get_object (a);
  JsonObject *ob = charta_resource_get_object (b);

  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_number_text (a, json_object_get_member (oa, "x")), ==,
                   "1.5");
  g_assert_cmpstr (charta_resource_get_number_text (a, json_object_get_member (oa, "y")), ==,
                   "7");
  /* Not numbers. */
  g_assert_null (charta_resource_get_number_text (a, json_object_get_member (oa, "s")));
  g_assert_null (charta_resource_get_number_text (a, json_object_get_member (oa, "b")));
  g_assert_null (charta_resource_get_number_text (a, json_object_get_member (oa, "n")));
  g_assert_null (charta_resource_get_number_text (a, json_object_get_member (oa, "o")));
  g_assert_null (charta_resource_get_number_text (a, NULL));
  /* Numbers of another tree. */
  g_assert_null (charta_resource_get_number_text (a, json_object_get_member (ob, "x")));
  g_assert_null (charta_resource_get_number_text (a, json_object_get_member (ob, "y")));
}

static void
test_canonical_order (void)
{
  /* A shuffled Patient: unknown members at the end in their order, _birthDate after
   * birthDate, HumanName members in HumanName order, Extension value[x] in place. */
  const char *shuffled =
    "{\"zeta\":1,\"_birthDate\":{\"extension\":[{\"valueDateTime\":\"1970-01-01T10:00:00Z\","
    "\"url\":\"http://hl7.org/fhir/StructureDefinition/patient-birthTime\"}]},"
    "\"name\":[{\"given\":[\"Peter\",\"James\"],\"family\":\"Chalmers\",\"use\":\"official\","
    "\"_given\":[null,{\"id\":\"g2\"}]}],\"birthDate\":\"1970-01-01\",\"alpha\":[true],"
    "\"active\":true,\"id\":\"p1\",\"resourceType\":\"Patient\",\"meta\":{\"versionId\":\"3\","
    "\"lastUpdated\":\"2020-01-01T00:00:00Z\"},\"gender\":\"male\","
    "\"contact\":[{\"gender\":\"female\",\"relationship\":[{\"text\":\"x\"}],\"name\":"
    "{\"family\":\"Du March\\u00e9\"}}]}";
  const char *expected =
    "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"meta\":{\"versionId\":\"3\",\"lastUpdated\":"
    "\"2020-01-01T00:00:00Z\"},\"active\":true,\"name\":[{\"use\":\"official\",\"family\":"
    "\"Chalmers\",\"given\":[\"Peter\",\"James\"],\"_given\":[null,{\"id\":\"g2\"}]}],"
    "\"gender\":\"male\",\"birthDate\":\"1970-01-01\",\"_birthDate\":{\"extension\":[{\"url\":"
    "\"http://hl7.org/fhir/StructureDefinition/patient-birthTime\",\"valueDateTime\":"
    "\"1970-01-01T10:00:00Z\"}]},\"contact\":[{\"relationship\":[{\"text\":\"x\"}],\"name\":"
    "{\"family\":\"Du March\xc3\xa9\"},\"gender\":\"female\"}],\"zeta\":1,\"alpha\":[true]}";
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = parse_text (shuffled, NULL, &error);
  g_autofree char *json = NULL;
  size_t length = 0;

  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_resource_type (resource), ==, "Patient");
  g_assert_cmpstr (charta_resource_get_id (resource), ==, "p1");
  g_assert_cmpstr (charta_resource_get_version_id (resource), ==, "3");
  g_assert_cmpstr (charta_resource_get_last_updated (resource), ==, "2020-01-01T00:00:00Z");
  json = charta_resource_to_json (resource, FALSE, &length);
  g_assert_cmpstr (json, ==, expected);
  g_assert_cmpuint (length, ==, strlen (expected));

  /* Bytes, and no meta at all. */
  {
    g_autoptr(GBytes) bytes = charta_resource_to_bytes (resource, FALSE);
    g_autoptr(ChartaResource) bare = parse_text ("{\"id\":\"x\",\"resourceType\":\"Basic\"}",
                                                 NULL, &error);

    g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), expected,
                     strlen (expected));
    g_assert_no_error (error);
    g_assert_null (charta_resource_get_version_id (bare));
    g_assert_null (charta_resource_get_last_updated (bare));
  }
}

static void
test_canonical_nested_resources (void)
{
  /* Bundle entries and contained resources use their own type's order. */
  const char *bundle =
    "{\"type\":\"collection\",\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":"
    "{\"status\":\"final\",\"code\":{\"text\":\"t\"},\"resourceType\":\"Observation\","
    "\"contained\":[{\"name\":[{\"family\":\"F\"}],\"resourceType\":\"Patient\",\"id\":\"c\"}],"
    "\"id\":\"o1\"},\"fullUrl\":\"urn:uuid:1\"}]}";
  const char *expected =
    "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"fullUrl\":\"urn:uuid:1\","
    "\"resource\":{\"resourceType\":\"Observation\",\"id\":\"o1\",\"contained\":[{\"resourceType\":"
    "\"Patient\",\"id\":\"c\",\"name\":[{\"family\":\"F\"}]}],\"status\":\"final\",\"code\":"
    "{\"text\":\"t\"}}}]}";
  const char *expected_entry =
    "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"contained\":[{\"resourceType\":"
    "\"Patient\",\"id\":\"c\",\"name\":[{\"family\":\"F\"}]}],\"status\":\"final\",\"code\":"
    "{\"text\":\"t\"}}";
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = parse_text (bundle, NULL, &error);
  g_autoptr(ChartaResource) entry = NULL;
  g_autofree char *json = NULL;
  g_autofree char *entry_json = NULL;
  JsonNode *entry_node;

  g_assert_no_error (error);
  json = charta_resource_to_json (resource, FALSE, NULL);
  g_assert_cmpstr (json, ==, expected);

  entry_node = json_object_get_member (
    json_array_get_object_element (
      json_object_get_array_member (charta_resource_get_object (resource), "entry"), 0),
    "resource");
  entry = charta_resource_new_nested (resource, entry_node, &error);
  g_assert_no_error (error);
  g_clear_pointer (&resource, charta_resource_unref);  /* the entry keeps the tree alive */
  g_assert_cmpstr (charta_resource_get_resource_type (entry), ==, "Observation");
  g_assert_cmpstr (charta_resource_get_id (entry), ==, "o1");
  g_assert_true (charta_resource_get_root (entry) == entry_node);
  entry_json = charta_resource_to_json (entry, FALSE, NULL);
  g_assert_cmpstr (entry_json, ==, expected_entry);

  /* A nested node without a known resourceType. */
  {
    g_autoptr(ChartaResource) b = parse_text ("{\"resourceType\":\"Bundle\",\"entry\":"
                                              "[{\"resource\":{\"resourceType\":\"Nope\","
                                              "\"v\":1.50}}]}", NULL, &error);
    g_autoptr(ChartaResource) bad = NULL;
    g_autofree char *b_json = NULL;
    JsonNode *node;

    g_assert_no_error (error);
    node = json_object_get_member (
      json_array_get_object_element (
        json_object_get_array_member (charta_resource_get_object (b), "entry"), 0),
      "resource");
    bad = charta_resource_new_nested (b, node, &error);
    g_assert_null (bad);
    g_assert_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_NOT_RESOURCE);
    /* Unknown resource inside a Bundle: printed in its own order, numbers as written. */
    b_json = charta_resource_to_json (b, FALSE, NULL);
    g_assert_cmpstr (b_json, ==, "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":"
                                 "{\"resourceType\":\"Nope\",\"v\":1.50}}]}");
  }
}

static void
test_canonical_strings (void)
{
  /* Only what JSON requires is escaped; "\/" reads as "/"; non-ASCII is kept as is. */
  const char *text = "{\"resourceType\":\"Basic\",\"id\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t"
                     "\\u0001\\u001f\\u007f\\u00e9\\u2028\xe2\x82\xac\"}";
  const char *expected = "{\"resourceType\":\"Basic\",\"id\":\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t"
                         "\\u0001\\u001f\x7f\xc3\xa9\xe2\x80\xa8\xe2\x82\xac\"}";
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = parse_text (text, NULL, &error);
  g_autofree char *json = NULL;

  g_assert_no_error (error);
  json = charta_resource_to_json (resource, FALSE, NULL);
  g_assert_cmpstr (json, ==, expected);
}

static void
test_canonical_pretty (void)
{
  const char *text = "{\"name\":[{\"given\":[\"A\",\"B\"],\"family\":\"F\"}],\"active\":true,"
                     "\"resourceType\":\"Patient\",\"meta\":{},\"identifier\":[],"
                     "\"multipleBirthInteger\":2,\"extension\":[{\"url\":\"u\",\"valueDecimal\":"
                     "1.50}]}";
  const char *expected =
    "{\n"
    "  \"resourceType\": \"Patient\",\n"
    "  \"meta\": {},\n"
    "  \"extension\": [\n"
    "    {\n"
    "      \"url\": \"u\",\n"
    "      \"valueDecimal\": 1.50\n"
    "    }\n"
    "  ],\n"
    "  \"identifier\": [],\n"
    "  \"active\": true,\n"
    "  \"name\": [\n"
    "    {\n"
    "      \"family\": \"F\",\n"
    "      \"given\": [\n"
    "        \"A\",\n"
    "        \"B\"\n"
    "      ]\n"
    "    }\n"
    "  ],\n"
    "  \"multipleBirthInteger\": 2\n"
    "}";
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = parse_text (text, NULL, &error);
  g_autofree char *json = NULL;

  g_assert_no_error (error);
  json = charta_resource_to_json (resource, TRUE, NULL);
  g_assert_cmpstr (json, ==, expected);
}

/* --- files ----------------------------------------------------------------------------------- */

static void
test_read_file_huge (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("charta-test-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autoptr(GBytes) bytes = NULL;
  size_t rss_before;
  gint64 start;
  double seconds;

  g_assert_no_error (error);
  path = charta_test_write_sparse_file (dir, "huge.json", NULL, (gint64) 1 << 30);  /* 1 GiB */

  rss_before = peak_rss_kb ();
  start = g_get_monotonic_time ();
  bytes = charta_resource_read_file (path, NULL, &error);
  seconds = (g_get_monotonic_time () - start) / 1e6;
  g_assert_null (bytes);
  g_assert_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_LARGE);
  g_test_message ("%s (%.6f s, peak RSS %zu -> %zu kB)", error->message, seconds, rss_before,
                  peak_rss_kb ());
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, "1073741824 bytes"));
  g_assert_cmpfloat (seconds, <, 0.1);
  g_assert_cmpuint (peak_rss_kb (), <, rss_before + 4 * 1024);

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_read_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("charta-test-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autofree char *missing = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  const char *text = "{\"resourceType\":\"Patient\",\"id\":\"f\"}";
  ChartaParseLimits small = { 10, 0 };

  g_assert_no_error (error);
  path = g_build_filename (dir, "p.json", NULL);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);

  bytes = charta_resource_read_file (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), text, strlen (text));
  resource = charta_resource_new_from_bytes (bytes, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_id (resource), ==, "f");
  g_clear_pointer (&bytes, g_bytes_unref);

  bytes = charta_resource_read_file (path, &small, &error);
  g_assert_null (bytes);
  g_assert_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_LARGE);
  g_clear_error (&error);

  missing = g_build_filename (dir, "missing.json", NULL);
  bytes = charta_resource_read_file (missing, NULL, &error);
  g_assert_null (bytes);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_true (g_str_has_prefix (error->message, missing));
  g_clear_error (&error);

  bytes = charta_resource_read_file (dir, NULL, &error);
  g_assert_null (bytes);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR);
  g_clear_error (&error);

  /* A pipe has no size to check first: reading stops one byte past the limit. */
  {
    g_autoptr(GBytes) from_pipe = NULL;

    from_pipe = charta_resource_read_file ("/dev/zero", &small, &error);
    g_assert_null (from_pipe);
    g_assert_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_LARGE);
    g_assert_nonnull (strstr (error->message, "at least 11 bytes"));
    g_clear_error (&error);
  }

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

typedef struct
{
  GString *log;
  unsigned stop_after;  /* 0 for never */
  unsigned calls;
} NdjsonLog;

static gboolean
ndjson_collect (unsigned        line,
                ChartaResource *resource,
                const GError   *error,
                gpointer        user_data)
{
  NdjsonLog *log = user_data;

  g_assert_true ((resource == NULL) != (error == NULL));
  if (resource != NULL)
    g_string_append_printf (log->log, "%u:%s/%s\n", line,
                            charta_resource_get_resource_type (resource),
                            charta_resource_get_id (resource));
  else
    g_string_append_printf (log->log, "%u:error %d: %s\n", line, error->code, error->message);
  log->calls++;
  return log->stop_after == 0 || log->calls < log->stop_after;
}

static const char ndjson_text[] =
  "{\"resourceType\":\"Patient\",\"id\":\"a\"}\n"
  "\n"
  "{\"resourceType\":\"Observation\",\"id\":\"b\"}\r\n"
  "  \t\n"
  "{\"resourceType\":\"Patient\",\n"
  "{\"resourceType\":\"Patient\",\"id\":\"\xff\"}\n"
  "{\"resourceType\":\"Patient\",\"id\":\"toolong-toolong-toolong-toolong-toolong\"}\n"
  "{\"resourceType\":\"Basic\",\"id\":\"c\"}";

static const char ndjson_expected[] =
  "1:Patient/a\n"
  "3:Observation/b\n"
  "5:error 3: line 5, column 27: unexpected end of input, expected a member name in double "
  "quotes\n"
  "6:error 2: line 6, column 33: invalid UTF-8 inside a string at byte 32 (0xff)\n"
  "7:error 0: line 7: the line is 73 bytes (73 bytes), more than the limit of 64 bytes (64 "
  "bytes)\n"
  "8:Basic/c\n";

static void
test_ndjson (void)
{
  ChartaParseLimits limits = { 64, 0 };
  NdjsonLog log = { g_string_new (NULL), 0, 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("charta-test-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "r.ndjson", NULL);

  g_assert_true (charta_resource_parse_ndjson (ndjson_text, strlen (ndjson_text), &limits,
                                               ndjson_collect, &log));
  g_assert_cmpstr (log.log->str, ==, ndjson_expected);

  /* The file reader says the same; and stops when asked to. */
  g_file_set_contents (path, ndjson_text, -1, &error);
  g_assert_no_error (error);
  g_string_truncate (log.log, 0);
  g_assert_true (charta_resource_parse_ndjson_file (path, &limits, ndjson_collect, &log,
                                                    &error));
  g_assert_no_error (error);
  g_assert_cmpstr (log.log->str, ==, ndjson_expected);

  g_string_truncate (log.log, 0);
  log.calls = 0;
  log.stop_after = 2;
  g_assert_false (charta_resource_parse_ndjson (ndjson_text, strlen (ndjson_text), &limits,
                                                ndjson_collect, &log));
  g_assert_cmpuint (log.calls, ==, 2);
  log.calls = 0;
  g_assert_false (charta_resource_parse_ndjson_file (path, &limits, ndjson_collect, &log,
                                                     &error));
  g_assert_no_error (error);
  g_assert_cmpuint (log.calls, ==, 2);

  g_assert_false (charta_resource_parse_ndjson_file ("/nonexistent/x.ndjson", NULL,
                                                     ndjson_collect, &log, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_string_free (log.log, TRUE);
}

/* A 1 GiB NDJSON file that is one endless line: refused with memory bounded. */
static void
test_ndjson_huge_line (void)
{
  NdjsonLog log = { g_string_new (NULL), 0, 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("charta-test-XXXXXX", &error);
  g_autofree char *path = charta_test_write_sparse_file (dir, "huge.ndjson",
                                                         "{\"resourceType\":\"Patient\","
                                                         "\"id\":\"a\"}\n",
                                                         (gint64) 1 << 30);
  size_t rss_before;

  rss_before = peak_rss_kb ();
  g_assert_true (charta_resource_parse_ndjson_file (path, NULL, ndjson_collect, &log, &error));
  g_assert_no_error (error);
  g_test_message ("%s(peak RSS %zu -> %zu kB)", log.log->str, rss_before, peak_rss_kb ());
  g_assert_true (g_str_has_prefix (log.log->str, "1:Patient/a\n2:error 0: line 2: the line is "));
  g_assert_cmpuint (log.calls, ==, 2);
  /* Memory follows the line limit (64 MiB), not the file (1 GiB): the longest line kept is
   * the limit, and growing its buffer may briefly hold two copies (more under ASan, whose
   * quarantine keeps freed blocks), so allow three times the limit. */
  g_assert_cmpuint (peak_rss_kb (), <, rss_before + 3 * (CHARTA_DEFAULT_MAX_BYTES / 1024));

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_string_free (log.log, TRUE);
}

/* Many threads asking for the same integers' texts at once. */
static gpointer
number_text_thread (gpointer data)
{
  ChartaResource *resource = data;
  JsonArray *array = json_object_get_array_member (charta_resource_get_object (resource), "v");

  for (unsigned round = 0; round < 20; round++)
    for (unsigned i = 0; i < json_array_get_length (array); i++)
      {
        g_autofree char *expected = g_strdup_printf ("%u", i * 7);

        g_assert_cmpstr (charta_resource_get_number_text (resource,
                                                          json_array_get_element (array, i)),
                         ==, expected);
      }
  return NULL;
}

static void
test_number_text_threads (void)
{
  g_autoptr(GString) text = g_string_new ("{\"resourceType\":\"Basic\",\"v\":[");
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  GThread *threads[4];

  for (unsigned i = 0; i < 500; i++)
    g_string_append_printf (text, "%s%u", i > 0 ? "," : "", i * 7);
  g_string_append (text, "]}");
  resource = parse_text (text->str, NULL, &error);
  g_assert_no_error (error);
  for (unsigned i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("number-text", number_text_thread, resource);
  for (unsigned i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
}

static void
test_boxed (void)
{
  g_autoptr(GError) error = NULL;
  ChartaResource *resource = parse_text ("{\"resourceType\":\"Basic\"}", NULL, &error);
  ChartaResource *copy;

  g_assert_no_error (error);
  g_assert_true (G_TYPE_IS_BOXED (CHARTA_TYPE_RESOURCE));
  copy = g_boxed_copy (CHARTA_TYPE_RESOURCE, resource);
  g_assert_true (copy == resource);
  g_boxed_free (CHARTA_TYPE_RESOURCE, copy);
  g_assert_true (json_node_is_immutable (charta_resource_get_root (resource)));
  g_assert_null (charta_resource_get_id (resource));
  charta_resource_unref (resource);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/charta/fhir/resource/corpus-round-trip", test_corpus_round_trip);
  g_test_add_func ("/charta/fhir/resource/corpus-order-independent", test_corpus_order_independent);
  g_test_add_func ("/charta/fhir/resource/corpus-edited", test_corpus_edited);
  g_test_add_func ("/charta/fhir/resource/depth-hostile", test_depth_hostile);
  g_test_add_func ("/charta/fhir/resource/depth-at-limit", test_depth_at_limit);
  g_test_add_func ("/charta/fhir/resource/too-large", test_too_large);
  g_test_add_func ("/charta/fhir/resource/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/charta/fhir/resource/duplicate-keys", test_duplicate_keys);
  g_test_add_func ("/charta/fhir/resource/malformed", test_malformed);
  g_test_add_func ("/charta/fhir/resource/not-resource", test_not_resource);
  g_test_add_func ("/charta/fhir/resource/number-texts", test_number_texts);
  g_test_add_func ("/charta/fhir/resource/number-text-ownership", test_number_text_ownership);
  g_test_add_func ("/charta/fhir/resource/number-text-threads", test_number_text_threads);
  g_test_add_func ("/charta/fhir/resource/canonical-order", test_canonical_order);
  g_test_add_func ("/charta/fhir/resource/canonical-nested", test_canonical_nested_resources);
  g_test_add_func ("/charta/fhir/resource/canonical-strings", test_canonical_strings);
  g_test_add_func ("/charta/fhir/resource/canonical-pretty", test_canonical_pretty);
  g_test_add_func ("/charta/fhir/resource/read-file", test_read_file);
  g_test_add_func ("/charta/fhir/resource/read-file-huge", test_read_file_huge);
  g_test_add_func ("/charta/fhir/resource/ndjson", test_ndjson);
  g_test_add_func ("/charta/fhir/resource/ndjson-huge-line", test_ndjson_huge_line);
  g_test_add_func ("/charta/fhir/resource/boxed", test_boxed);

  return g_test_run ();
}
