/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-patch.c: JSON Patch and FHIRPath Patch (charta-patch.h).
 *
 * Hand-written cases for every operation of both kinds and for each error, on small resources
 * whose expected results are written out in full beside each patch (worked out by hand from
 * RFC 6902 and fhirpatch.html: what each operation adds, removes or moves, and where).  Every
 * patch, failed or not, must leave the input resource's canonical text as it was; every
 * result must be a new sealed resource; errors must be in CHARTA_FHIR_ERROR with the code and
 * the message parts (operation index, type, path, value) named in each case.
 *
 * Then the official cases of the corpus (patch/json-patch-tests.json, patch/fhir-patch-tests.xml,
 * the latter converted from FHIR XML by the converter of charta-test-util.h): every case is
 * run; a case with an expected document must give it (JSON compared as values: objects as
 * unordered maps), a case with an error must fail.  Cases that may fail are listed in
 * `skipped`, each with its reason (none are now), and the pass count must not fall below the
 * floor.  Without the corpus those two tests are skipped.
 */
#define G_LOG_DOMAIN "charta-test-patch"

#include <string.h>

#include "charta-test-util.h"

/* --- helpers --------------------------------------------------------------------------------- */

/* A Patient with a bit of everything: repeating complex and primitive elements, a primitive
 * list with a parallel "_given" array, a decimal written with a trailing zero. */
static const char *patient_json =
  "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"active\":true,"
  "\"extension\":[{\"url\":\"http://example.org/weight\",\"valueDecimal\":1.50}],"
  "\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Peter\",\"James\"],"
  "\"_given\":[null,{\"extension\":[{\"url\":\"http://example.org/x\",\"valueString\":\"J\"}]}]},"
  "{\"given\":[\"Jim\"]}],"
  "\"telecom\":[{\"system\":\"phone\",\"value\":\"555\"}],"
  "\"birthDate\":\"1974-12-25\"}";

static ChartaResource *
patient (void)
{
  return charta_test_parse (patient_json);
}

static JsonNode *
json (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

/* Fails the test unless @resource's tree equals the JSON @expected. */
static void
assert_resource_json (ChartaResource *resource,
                      const char     *expected)
{
  g_autoptr(JsonNode) want = json (expected);
  g_autofree char *where = NULL;

  g_assert_nonnull (resource);
  if (!charta_test_json_equal (charta_resource_get_root (resource), want, &where))
    {
      g_autofree char *got = charta_resource_to_json (resource, FALSE, NULL);

      g_test_fail_printf ("differs at %s:\n  got      %s\n  expected %s", where, got, expected);
    }
}

/* The checks every patch result passes: a new, sealed resource, the input unchanged. */
static void
assert_fresh (ChartaResource *result,
              ChartaResource *input,
              const char     *input_before)
{
  g_autofree char *input_after = charta_resource_to_json (input, FALSE, NULL);

  g_assert_cmpstr (input_after, ==, input_before);
  if (result != NULL)
    {
      g_assert_true (result != input);
      g_assert_true (charta_resource_get_root (result) != charta_resource_get_root (input));
      g_assert_true (json_node_is_immutable (charta_resource_get_root (result)));
      g_assert_cmpstr (charta_resource_get_resource_type (result), ==,
                       charta_resource_get_resource_type (input));
      g_assert_cmpstr (charta_resource_get_id (result), ==, charta_resource_get_id (input));
    }
}

/* Applies the JSON Patch text @patch to @input (as a JsonNode), checking assert_fresh(). */
static ChartaResource *
apply_json (ChartaResource  *input,
            const char      *patch,
            GError         **error)
{
  g_autofree char *before = charta_resource_to_json (input, FALSE, NULL);
  g_autoptr(JsonNode) node = json (patch);
  ChartaResource *result = charta_patch_apply_json (input, node, error);

  assert_fresh (result, input, before);
  g_assert_true ((result == NULL) == (error != NULL && *error != NULL));
  return result;
}

/* A JSON Patch that must succeed and give @expected. */
static void
check_json (const char *patch,
            const char *expected)
{
  g_autoptr(ChartaResource) input = patient ();
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) result = apply_json (input, patch, &error);

  g_assert_no_error (error);
  assert_resource_json (result, expected);
}

/* Fails the test unless @error has @code and its message holds each of the NULL-terminated
 * strings that follow. */
static void
assert_error (const GError *error,
              int           code,
              ...)
{
  va_list args;
  const char *needle;

  g_assert_nonnull (error);
  g_test_message ("error: %s", error->message);
  g_assert_error (error, CHARTA_FHIR_ERROR, code);
  va_start (args, code);
  while ((needle = va_arg (args, const char *)) != NULL)
    charta_test_assert_contains (error->message, needle);
  va_end (args);
}

/* A JSON Patch on the Patient that must fail with @code and a message holding the strings that
 * follow (NULL-terminated). */
#define check_json_error(patch, code, ...) \
  G_STMT_START { \
    g_autoptr(ChartaResource) input_ = patient (); \
    g_autoptr(GError) error_ = NULL; \
    g_autoptr(ChartaResource) result_ = apply_json (input_, (patch), &error_); \
    g_assert_null (result_); \
    assert_error (error_, (code), __VA_ARGS__); \
  } G_STMT_END

/* JSON Patch on plain JSON (charta_patch_apply_json_node()). */
static JsonNode *
apply_json_node (const char  *document,
                 const char  *patch,
                 GError     **error)
{
  g_autoptr(JsonNode) doc = json (document);
  g_autoptr(JsonNode) p = json (patch);
  g_autofree char *before = json_to_string (doc, FALSE);
  g_autofree char *after = NULL;
  JsonNode *result = charta_patch_apply_json_node (doc, p, error);

  after = json_to_string (doc, FALSE);
  g_assert_cmpstr (after, ==, before);
  g_assert_true (result != doc);
  return result;
}

/* One FHIRPath Patch operation as a Parameters parameter: its type, path and the parts that
 * follow (JSON text, each starting with a comma, or ""). */
static char *
op (const char *type,
    const char *path,
    const char *parts)
{
  return g_strdup_printf ("{\"name\":\"operation\",\"part\":[{\"name\":\"type\",\"valueCode\":"
                          "\"%s\"},{\"name\":\"path\",\"valueString\":\"%s\"}%s]}",
                          type, path, parts);
}

/* The Parameters resource holding the operations that follow (from op(), taken), up to NULL. */
static ChartaResource *
params (char *first,
        ...)
{
  g_autoptr(GString) text = g_string_new ("{\"resourceType\":\"Parameters\"");
  va_list args;

  va_start (args, first);
  for (char *o = first; o != NULL; o = va_arg (args, char *))
    {
      g_string_append (text, o == first ? ",\"parameter\":[" : ",");
      g_string_append (text, o);
      g_free (o);
    }
  va_end (args);
  if (first != NULL)
    g_string_append_c (text, ']');
  g_string_append_c (text, '}');
  return charta_test_parse (text->str);
}

static ChartaResource *
apply_fhirpath (ChartaResource  *input,
                ChartaResource  *parameters,
                GError         **error)
{
  g_autofree char *before = charta_resource_to_json (input, FALSE, NULL);
  g_autofree char *params_before = charta_resource_to_json (parameters, FALSE, NULL);
  g_autofree char *params_after = NULL;
  ChartaResource *result = charta_patch_apply_fhirpath (input, parameters, error);

  assert_fresh (result, input, before);
  params_after = charta_resource_to_json (parameters, FALSE, NULL);
  g_assert_cmpstr (params_after, ==, params_before);
  g_assert_true ((result == NULL) == (error != NULL && *error != NULL));
  return result;
}

/* A FHIRPath Patch (taken) on @input_json that must succeed and give @expected. */
static void
check_fp_on (const char     *input_json,
             ChartaResource *parameters,
             const char     *expected)
{
  g_autoptr(ChartaResource) input = charta_test_parse (input_json);
  g_autoptr(ChartaResource) p = parameters;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) result = apply_fhirpath (input, p, &error);

  g_assert_no_error (error);
  assert_resource_json (result, expected);
}

static void
check_fp (ChartaResource *parameters,
          const char     *expected)
{
  check_fp_on (patient_json, parameters, expected);
}

#define check_fp_error(parameters, code, ...) \
  G_STMT_START { \
    g_autoptr(ChartaResource) input_ = patient (); \
    g_autoptr(ChartaResource) params_ = (parameters); \
    g_autoptr(GError) error_ = NULL; \
    g_autoptr(ChartaResource) result_ = apply_fhirpath (input_, params_, &error_); \
    g_assert_null (result_); \
    assert_error (error_, (code), __VA_ARGS__); \
  } G_STMT_END

/* The Patient's members, for expected results: each patched case writes out the members it
 * changes and takes the others from here. */
#define P_HEAD "\"resourceType\":\"Patient\",\"id\":\"p1\",\"active\":true"
#define P_EXT "\"extension\":[{\"url\":\"http://example.org/weight\",\"valueDecimal\":1.50}]"
#define P_X_J "{\"extension\":[{\"url\":\"http://example.org/x\",\"valueString\":\"J\"}]}"
#define P_NAME0 "{\"family\":\"Chalmers\",\"given\":[\"Peter\",\"James\"],\"_given\":[null," \
  P_X_J "]}"
#define P_NAME1 "{\"given\":[\"Jim\"]}"
#define P_NAME "\"name\":[" P_NAME0 "," P_NAME1 "]"
#define P_TELECOM "\"telecom\":[{\"system\":\"phone\",\"value\":\"555\"}]"
#define P_BIRTH "\"birthDate\":\"1974-12-25\""

/* --- JSON Patch ------------------------------------------------------------------------------ */

static void
test_json_add (void)
{
  /* A new member; a member that exists is replaced (RFC 6902 §4.1). */
  check_json ("[{\"op\":\"add\",\"path\":\"/gender\",\"value\":\"male\"}]",
              "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM "," P_BIRTH ",\"gender\":\"male\"}");
  check_json ("[{\"op\":\"add\",\"path\":\"/birthDate\",\"value\":\"1980\"}]",
              "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM ",\"birthDate\":\"1980\"}");
  /* Into an array at an index (the old element 1 moves to 2), and at its end with "-". */
  check_json ("[{\"op\":\"add\",\"path\":\"/name/1\",\"value\":{\"family\":\"X\"}}]",
              "{" P_HEAD "," P_EXT ",\"name\":[" P_NAME0 ",{\"family\":\"X\"}," P_NAME1 "],"
              P_TELECOM "," P_BIRTH "}");
  check_json ("[{\"op\":\"add\",\"path\":\"/name/0\",\"value\":{\"family\":\"X\"}}]",
              "{" P_HEAD "," P_EXT ",\"name\":[{\"family\":\"X\"}," P_NAME0 "," P_NAME1 "],"
              P_TELECOM "," P_BIRTH "}");
  check_json ("[{\"op\":\"add\",\"path\":\"/name/2\",\"value\":{\"family\":\"X\"}}]",
              "{" P_HEAD "," P_EXT ",\"name\":[" P_NAME0 "," P_NAME1 ",{\"family\":\"X\"}],"
              P_TELECOM "," P_BIRTH "}");
  check_json ("[{\"op\":\"add\",\"path\":\"/name/1/given/-\",\"value\":\"Jimmy\"}]",
              "{" P_HEAD "," P_EXT ",\"name\":[" P_NAME0 ",{\"given\":[\"Jim\",\"Jimmy\"]}],"
              P_TELECOM "," P_BIRTH "}");
  /* The whole document, keeping type and id; members an operation does not use are ignored. */
  check_json ("[{\"op\":\"add\",\"path\":\"\",\"xyz\":1,"
              "\"value\":{\"resourceType\":\"Patient\",\"id\":\"p1\",\"gender\":\"other\"}}]",
              "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"gender\":\"other\"}");
}

static void
test_json_remove_replace (void)
{
  check_json ("[{\"op\":\"remove\",\"path\":\"/telecom\"}]",
              "{" P_HEAD "," P_EXT "," P_NAME "," P_BIRTH "}");
  check_json ("[{\"op\":\"remove\",\"path\":\"/name/0\"}]",
              "{" P_HEAD "," P_EXT ",\"name\":[" P_NAME1 "]," P_TELECOM "," P_BIRTH "}");
  check_json ("[{\"op\":\"remove\",\"path\":\"/name/1/given/0\"}]",
              "{" P_HEAD "," P_EXT ",\"name\":[" P_NAME0 ",{\"given\":[]}]," P_TELECOM ","
              P_BIRTH "}");
  check_json ("[{\"op\":\"replace\",\"path\":\"/birthDate\",\"value\":\"1980-01-01\"}]",
              "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM ",\"birthDate\":\"1980-01-01\"}");
  /* An array element keeps its place. */
  check_json ("[{\"op\":\"replace\",\"path\":\"/name/0/given/0\",\"value\":\"Pete\"}]",
              "{" P_HEAD "," P_EXT ",\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Pete\","
              "\"James\"],\"_given\":[null," P_X_J "]}," P_NAME1 "]," P_TELECOM "," P_BIRTH "}");
  check_json ("[{\"op\":\"replace\",\"path\":\"/telecom/0\",\"value\":{\"value\":\"1\"}}]",
              "{" P_HEAD "," P_EXT "," P_NAME ",\"telecom\":[{\"value\":\"1\"}]," P_BIRTH "}");
}

static void
test_json_move_copy_test (void)
{
  /* Move takes the value out, then adds it (RFC 6902 §4.4): James goes to name 1's front. */
  check_json ("[{\"op\":\"move\",\"from\":\"/name/0/given/1\",\"path\":\"/name/1/given/0\"}]",
              "{" P_HEAD "," P_EXT ",\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Peter\"],"
              "\"_given\":[null," P_X_J "]},{\"given\":[\"James\",\"Jim\"]}]," P_TELECOM ","
              P_BIRTH "}");
  check_json ("[{\"op\":\"move\",\"from\":\"/name/0/family\",\"path\":\"/name/1/family\"}]",
              "{" P_HEAD "," P_EXT ",\"name\":[{\"given\":[\"Peter\",\"James\"],\"_given\":"
              "[null," P_X_J "]},{\"given\":[\"Jim\"],\"family\":\"Chalmers\"}]," P_TELECOM ","
              P_BIRTH "}");
  /* Within one array: [Peter, James] with 0 moved to 1 is [James, Peter]. */
  check_json ("[{\"op\":\"move\",\"from\":\"/name/0/given/0\",\"path\":\"/name/0/given/1\"}]",
              "{" P_HEAD "," P_EXT ",\"name\":[{\"family\":\"Chalmers\",\"given\":[\"James\","
              "\"Peter\"],\"_given\":[null," P_X_J "]}," P_NAME1 "]," P_TELECOM "," P_BIRTH "}");
  /* To where it is: nothing changes. */
  check_json ("[{\"op\":\"move\",\"from\":\"/birthDate\",\"path\":\"/birthDate\"}]",
              "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM "," P_BIRTH "}");
  check_json ("[{\"op\":\"copy\",\"from\":\"/name/0/family\",\"path\":\"/name/1/family\"}]",
              "{" P_HEAD "," P_EXT ",\"name\":[" P_NAME0 ",{\"given\":[\"Jim\"],\"family\":"
              "\"Chalmers\"}]," P_TELECOM "," P_BIRTH "}");
  check_json ("[{\"op\":\"copy\",\"from\":\"/telecom/0\",\"path\":\"/telecom/-\"}]",
              "{" P_HEAD "," P_EXT "," P_NAME ",\"telecom\":[{\"system\":\"phone\",\"value\":"
              "\"555\"},{\"system\":\"phone\",\"value\":\"555\"}]," P_BIRTH "}");
  /* Tests that pass change nothing: numbers by value (1.50 = 1.5), objects unordered. */
  check_json ("[{\"op\":\"test\",\"path\":\"/extension/0/valueDecimal\",\"value\":1.5},"
              "{\"op\":\"test\",\"path\":\"/telecom/0\",\"value\":{\"value\":\"555\","
              "\"system\":\"phone\"}},"
              "{\"op\":\"test\",\"path\":\"/name/0/_given/0\",\"value\":null},"
              "{\"op\":\"test\",\"path\":\"/active\",\"value\":true}]",
              "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM "," P_BIRTH "}");
  /* A test after a change sees the change. */
  check_json ("[{\"op\":\"replace\",\"path\":\"/active\",\"value\":false},"
              "{\"op\":\"test\",\"path\":\"/active\",\"value\":false}]",
              "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"active\":false," P_EXT ","
              P_NAME "," P_TELECOM "," P_BIRTH "}");
}

static void
test_json_pointer_escapes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) result = NULL;
  g_autoptr(JsonNode) expected = json ("{\"m~n\":2,\"~1\":3,\"a\":{\"x/y\":4}}");

  /* "~1" is '/', "~0" is '~', and "~01" is "~1" (not '/'), RFC 6901 §4. */
  result = apply_json_node ("{\"a/b\":1,\"m~n\":2,\"~1\":3,\"a\":{}}",
                            "[{\"op\":\"test\",\"path\":\"/a~1b\",\"value\":1},"
                            "{\"op\":\"test\",\"path\":\"/m~0n\",\"value\":2},"
                            "{\"op\":\"test\",\"path\":\"/~01\",\"value\":3},"
                            "{\"op\":\"remove\",\"path\":\"/a~1b\"},"
                            "{\"op\":\"add\",\"path\":\"/a/x~1y\",\"value\":4}]", &error);
  g_assert_no_error (error);
  g_assert_true (charta_test_json_equal (result, expected, NULL));
  g_clear_pointer (&result, json_node_unref);

  /* A key that is empty: "/" is the member "". */
  result = apply_json_node ("{\"\":1}", "[{\"op\":\"replace\",\"path\":\"/\",\"value\":2}]",
                            &error);
  g_assert_no_error (error);
  g_clear_pointer (&expected, json_node_unref);
  expected = json ("{\"\":2}");
  g_assert_true (charta_test_json_equal (result, expected, NULL));
  g_clear_pointer (&result, json_node_unref);

  /* The whole document may be any JSON value. */
  result = apply_json_node ("[1,2]", "[{\"op\":\"replace\",\"path\":\"\",\"value\":\"x\"}]",
                            &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_node_get_string (result), ==, "x");
  g_clear_pointer (&result, json_node_unref);

  result = apply_json_node ("{\"a~b\":1}", "[{\"op\":\"remove\",\"path\":\"/a~2b\"}]", &error);
  g_assert_null (result);
  assert_error (error, CHARTA_FHIR_ERROR_INVALID, "operation 0 (remove): path /a~2b: ",
                "\"~\" must be followed by 0 or 1", NULL);
}

static void
test_json_number_texts (void)
{
  g_autoptr(ChartaResource) input = patient ();
  g_autoptr(ChartaResource) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  const char *patch = "[{\"op\":\"add\",\"path\":\"/extension/-\",\"value\":{\"url\":\"http://"
                      "example.org/h\",\"valueDecimal\":2.50}},{\"op\":\"copy\",\"from\":"
                      "\"/extension/0\",\"path\":\"/extension/-\"}]";

  /* As text, the patch's numbers keep theirs; the resource's and what is copied keep theirs. */
  result = charta_patch_apply_json_data (input, patch, strlen (patch), &error);
  g_assert_no_error (error);
  out = charta_resource_to_json (result, FALSE, NULL);
  charta_test_assert_contains (out, "\"extension\":[{\"url\":\"http://example.org/weight\","
                               "\"valueDecimal\":1.50},{\"url\":\"http://example.org/h\","
                               "\"valueDecimal\":2.50},{\"url\":\"http://example.org/weight\","
                               "\"valueDecimal\":1.50}]");
  g_clear_pointer (&result, charta_resource_unref);
  g_clear_pointer (&out, g_free);

  /* As a JsonNode the patch's numbers have no text: 2.50 is the double 2.5; 1.50 stays. */
  result = apply_json (input, patch, &error);
  g_assert_no_error (error);
  out = charta_resource_to_json (result, FALSE, NULL);
  charta_test_assert_contains (out, "\"valueDecimal\":2.5}");
  charta_test_assert_contains (out, "\"valueDecimal\":1.50}");
  g_clear_pointer (&result, charta_resource_unref);

  /* Text that is no JSON. */
  result = charta_patch_apply_json_data (input, "[{\"op\":", 7, &error);
  g_assert_null (result);
  assert_error (error, CHARTA_FHIR_ERROR_MALFORMED, "JSON Patch: line 1", NULL);
}

static void
test_json_errors (void)
{
  /* The patch's shape. */
  check_json_error ("{\"op\":\"add\"}", CHARTA_FHIR_ERROR_INVALID,
                    "a JSON Patch is an array of operations, not an object", NULL);
  check_json_error ("[\"add\"]", CHARTA_FHIR_ERROR_INVALID, "operation 0: is a string", NULL);
  check_json_error ("[{\"path\":\"/a\"}]", CHARTA_FHIR_ERROR_INVALID,
                    "operation 0: has no \"op\"", NULL);
  check_json_error ("[{\"op\":\"frob\",\"path\":\"/a\"}]", CHARTA_FHIR_ERROR_INVALID,
                    "operation 0: unknown op \"frob\"", NULL);
  check_json_error ("[{\"op\":\"remove\"}]", CHARTA_FHIR_ERROR_INVALID,
                    "operation 0 (remove): has no \"path\"", NULL);
  check_json_error ("[{\"op\":\"remove\",\"path\":3}]", CHARTA_FHIR_ERROR_INVALID,
                    "operation 0 (remove): \"path\" is a number, not a string", NULL);
  check_json_error ("[{\"op\":\"add\",\"path\":\"/gender\"}]", CHARTA_FHIR_ERROR_INVALID,
                    "operation 0 (add): path /gender: has no \"value\"", NULL);
  check_json_error ("[{\"op\":\"copy\",\"path\":\"/gender\"}]", CHARTA_FHIR_ERROR_INVALID,
                    "operation 0 (copy): has no \"from\"", NULL);
  /* Pointers. */
  check_json_error ("[{\"op\":\"remove\",\"path\":\"name\"}]", CHARTA_FHIR_ERROR_INVALID,
                    "operation 0 (remove): path name: a JSON Pointer starts with \"/\"", NULL);
  check_json_error ("[{\"op\":\"remove\",\"path\":\"/name/01\"}]", CHARTA_FHIR_ERROR_INVALID,
                    "path /name/01: /name is an array, and \"01\" is not an index", NULL);
  check_json_error ("[{\"op\":\"replace\",\"path\":\"/name/5\",\"value\":{}}]",
                    CHARTA_FHIR_ERROR_INVALID,
                    "operation 0 (replace): path /name/5: no such element (/name has 2 "
                    "elements)", NULL);
  check_json_error ("[{\"op\":\"remove\",\"path\":\"/name/-\"}]", CHARTA_FHIR_ERROR_INVALID,
                    "path /name/-: no such element (\"-\" stands for the end of the array /name",
                    NULL);
  check_json_error ("[{\"op\":\"add\",\"path\":\"/name/3\",\"value\":{}}]",
                    CHARTA_FHIR_ERROR_INVALID,
                    "operation 0 (add): path /name/3: index 3 is past the end of /name (it has 2 "
                    "elements", NULL);
  /* RFC 6902 §4.1: missing objects are not created. */
  check_json_error ("[{\"op\":\"add\",\"path\":\"/contact/0/gender\",\"value\":\"male\"}]",
                    CHARTA_FHIR_ERROR_INVALID,
                    "path /contact/0/gender: no such element (the document has no member "
                    "\"contact\")", NULL);
  check_json_error ("[{\"op\":\"add\",\"path\":\"/birthDate/x\",\"value\":1}]",
                    CHARTA_FHIR_ERROR_INVALID,
                    "no such element (/birthDate is a string, which has no members)", NULL);
  check_json_error ("[{\"op\":\"remove\",\"path\":\"/gender\"}]", CHARTA_FHIR_ERROR_INVALID,
                    "operation 0 (remove): path /gender: no such element (the document has no "
                    "member \"gender\")", NULL);
  check_json_error ("[{\"op\":\"remove\",\"path\":\"\"}]", CHARTA_FHIR_ERROR_INVALID,
                    "operation 0 (remove): path : the whole document cannot be removed", NULL);
  check_json_error ("[{\"op\":\"move\",\"from\":\"/name\",\"path\":\"/name/0/x\"}]",
                    CHARTA_FHIR_ERROR_INVALID,
                    "operation 0 (move): path /name/0/x: a value cannot be moved into itself",
                    NULL);
  check_json_error ("[{\"op\":\"copy\",\"from\":\"/nothing\",\"path\":\"/x\"}]",
                    CHARTA_FHIR_ERROR_INVALID,
                    "operation 0 (copy): from /nothing: no such element", NULL);
  /* Tests that fail, naming both values; a number is not a string (RFC 6902 A.15). */
  check_json_error ("[{\"op\":\"test\",\"path\":\"/name/0/family\",\"value\":\"Chalmer\"}]",
                    CHARTA_FHIR_ERROR_INVALID,
                    "operation 0 (test): path /name/0/family: test failed: the value is "
                    "\"Chalmers\", not \"Chalmer\"", NULL);
  check_json_error ("[{\"op\":\"test\",\"path\":\"/extension/0/valueDecimal\",\"value\":\"1.50\"}]",
                    CHARTA_FHIR_ERROR_INVALID, "the value is 1.50, not \"1.50\"", NULL);
  check_json_error ("[{\"op\":\"test\",\"path\":\"/telecom/0\",\"value\":{\"value\":\"555\"}}]",
                    CHARTA_FHIR_ERROR_INVALID, "test failed", NULL);
  /* The operation named is the one that failed, counted from 0; the ones before it are
   * undone with it. */
  check_json_error ("[{\"op\":\"remove\",\"path\":\"/telecom\"},"
                    "{\"op\":\"remove\",\"path\":\"/telecom\"}]", CHARTA_FHIR_ERROR_INVALID,
                    "operation 1 (remove): path /telecom: no such element", NULL);
  /* resourceType and id stay. */
  check_json_error ("[{\"op\":\"replace\",\"path\":\"/id\",\"value\":\"p2\"}]",
                    CHARTA_FHIR_ERROR_INVALID,
                    "operation 0 (replace): path /id: a patch may not change the id (\"p1\" "
                    "would become \"p2\")", NULL);
  check_json_error ("[{\"op\":\"remove\",\"path\":\"/id\"}]", CHARTA_FHIR_ERROR_INVALID,
                    "a patch may not change the id (\"p1\" would be removed)", NULL);
  check_json_error ("[{\"op\":\"replace\",\"path\":\"/resourceType\",\"value\":\"Person\"}]",
                    CHARTA_FHIR_ERROR_INVALID,
                    "a patch may not change the resourceType (Patient would become \"Person\")",
                    NULL);
  check_json_error ("[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]",
                    CHARTA_FHIR_ERROR_INVALID, "the resource would become an array", NULL);
  {
    /* An id where there was none is a change too. */
    g_autoptr(ChartaResource) input = charta_test_parse ("{\"resourceType\":\"Basic\","
                                                         "\"code\":{\"text\":\"x\"}}");
    g_autoptr(GError) error = NULL;
    g_autoptr(ChartaResource) result = apply_json (input, "[{\"op\":\"add\",\"path\":\"/id\","
                                                   "\"value\":\"b\"}]", &error);

    g_assert_null (result);
    assert_error (error, CHARTA_FHIR_ERROR_INVALID,
                  "a patch may not change the id (the resource has none; it would become \"b\")",
                  NULL);
  }
}

/* A value nested @depth arrays deep, as JSON text. */
static char *
nested (unsigned depth)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (unsigned i = 0; i < depth; i++)
    g_string_append_c (s, '[');
  g_string_append_c (s, '1');
  for (unsigned i = 0; i < depth; i++)
    g_string_append_c (s, ']');
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
test_json_limits (void)
{
  g_autofree char *deep = nested (CHARTA_DEFAULT_MAX_DEPTH);
  g_autofree char *patch = g_strdup_printf ("[{\"op\":\"add\",\"path\":\"/x\",\"value\":%s}]",
                                            deep);
  g_autofree char *shallower = nested (CHARTA_DEFAULT_MAX_DEPTH - 1);
  g_autofree char *patch_ok = g_strdup_printf ("[{\"op\":\"add\",\"path\":\"/x\",\"value\":%s}]",
                                               shallower);
  g_autoptr(GString) big_patch = g_string_new ("[");
  g_autoptr(ChartaResource) input = patient ();
  g_autoptr(ChartaResource) result = NULL;
  g_autoptr(GError) error = NULL;

  /* Under the root object (depth 1), a value of depth 128 would reach 129; 127 reaches 128. */
  result = apply_json (input, patch, &error);
  g_assert_null (result);
  assert_error (error, CHARTA_FHIR_ERROR_TOO_DEEP, "operation 0 (add): path /x: ",
                "deeper than 128 levels", NULL);
  g_clear_error (&error);
  result = apply_json (input, patch_ok, &error);
  g_assert_no_error (error);
  g_clear_pointer (&result, charta_resource_unref);

  /* What operations copy into the document counts against the size limit (64 MiB), however
   * small the patch: a string of 8 MiB (added: 8 Mi + 2 bytes counted), then copied again and
   * again (each copy 8 Mi + 2 more): after operation k, (k + 1) × (8 Mi + 2) bytes, past
   * 64 Mi at k = 7.  (A patch that copies the document into itself doubles it the same way.) */
  g_string_append (big_patch, "{\"op\":\"add\",\"path\":\"/s\",\"value\":\"");
  for (unsigned i = 0; i < 8 * 1024 * 1024; i++)
    g_string_append_c (big_patch, 'x');
  g_string_append (big_patch, "\"}");
  for (unsigned i = 1; i < 12; i++)
    g_string_append_printf (big_patch, ",{\"op\":\"copy\",\"from\":\"/s\",\"path\":\"/c%u\"}", i);
  g_string_append_c (big_patch, ']');
  result = apply_json (input, big_patch->str, &error);
  g_assert_null (result);
  assert_error (error, CHARTA_FHIR_ERROR_TOO_LARGE, "operation 7 (copy): path /c7: ",
                "the patch copies more than 67108864 bytes into the document", NULL);
}

/* --- FHIRPath Patch -------------------------------------------------------------------------- */

#define PART_NAME(n) ",{\"name\":\"name\",\"valueString\":\"" n "\"}"
#define PART_VALUE(v) ",{\"name\":\"value\"," v "}"
#define PART_INT(name, i) ",{\"name\":\"" name "\",\"valueInteger\":" #i "}"

static void
test_fp_add (void)
{
  /* A primitive, a complex value, an item appended to a list. */
  check_fp (params (op ("add", "Patient", PART_NAME ("gender")
                        PART_VALUE ("\"valueCode\":\"male\"")), NULL),
            "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM "," P_BIRTH ",\"gender\":\"male\"}");
  check_fp (params (op ("add", "Patient", PART_NAME ("maritalStatus")
                        PART_VALUE ("\"valueCodeableConcept\":{\"text\":\"married\"}")), NULL),
            "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM "," P_BIRTH ",\"maritalStatus\":"
            "{\"text\":\"married\"}}");
  check_fp (params (op ("add", "Patient", PART_NAME ("telecom")
                        PART_VALUE ("\"valueContactPoint\":{\"system\":\"email\"}")), NULL),
            "{" P_HEAD "," P_EXT "," P_NAME ",\"telecom\":[{\"system\":\"phone\",\"value\":"
            "\"555\"},{\"system\":\"email\"}]," P_BIRTH "}");
  /* A repeating primitive that has a "_given" twin: the twin grows with a null. */
  check_fp (params (op ("add", "Patient.name[0]", PART_NAME ("given")
                        PART_VALUE ("\"valueString\":\"Jo\"")), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Peter\","
            "\"James\",\"Jo\"],\"_given\":[null," P_X_J ",null]}," P_NAME1 "]," P_TELECOM ","
            P_BIRTH "}");
  /* A choice takes the JSON name of the value's type, by its name or its JSON name. */
  check_fp (params (op ("add", "Patient", PART_NAME ("deceased")
                        PART_VALUE ("\"valueBoolean\":false")), NULL),
            "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM "," P_BIRTH ",\"deceasedBoolean\":"
            "false}");
  check_fp (params (op ("add", "Patient", PART_NAME ("deceasedDateTime")
                        PART_VALUE ("\"valueDateTime\":\"2020\"")), NULL),
            "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM "," P_BIRTH ",\"deceasedDateTime\":"
            "\"2020\"}");
  /* A primitive of another type with the same JSON form (a string for a code). */
  check_fp (params (op ("add", "Patient", PART_NAME ("gender")
                        PART_VALUE ("\"valueString\":\"female\"")), NULL),
            "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM "," P_BIRTH ",\"gender\":\"female\"}");
  /* An anonymous type from parts, a repeating child given twice, a primitive with an id. */
  check_fp (params (op ("add", "Patient", PART_NAME ("contact")
                        PART_VALUE ("\"part\":["
                                    "{\"name\":\"name\",\"valueHumanName\":{\"text\":\"Al\"}},"
                                    "{\"name\":\"telecom\",\"valueContactPoint\":"
                                    "{\"value\":\"1\"}},"
                                    "{\"name\":\"telecom\",\"valueContactPoint\":"
                                    "{\"value\":\"2\"}},"
                                    "{\"name\":\"gender\",\"valueCode\":\"male\","
                                    "\"_valueCode\":{\"id\":\"g\"}}]")), NULL),
            "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM "," P_BIRTH ",\"contact\":[{\"name\":"
            "{\"text\":\"Al\"},\"telecom\":[{\"value\":\"1\"},{\"value\":\"2\"}],\"gender\":"
            "\"male\",\"_gender\":{\"id\":\"g\"}}]}");
  /* Parts nest: a complex type's children given as parts too. */
  check_fp (params (op ("add", "Patient", PART_NAME ("maritalStatus")
                        PART_VALUE ("\"part\":[{\"name\":\"text\",\"valueString\":\"m\"},"
                                    "{\"name\":\"coding\",\"part\":[{\"name\":\"code\","
                                    "\"valueCode\":\"M\"}]}]")), NULL),
            "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM "," P_BIRTH ",\"maritalStatus\":"
            "{\"text\":\"m\",\"coding\":[{\"code\":\"M\"}]}}");
  /* To a primitive: its extensions, in "_birthDate" (made), or in the "_given" entry.  (R4's
   * value[x] has no Extension type: an extension is given as parts.) */
  check_fp (params (op ("add", "Patient.birthDate", PART_NAME ("extension")
                        PART_VALUE ("\"part\":[{\"name\":\"url\",\"valueUri\":\"http://e\"},"
                                    "{\"name\":\"value\",\"valueCode\":\"x\"}]")), NULL),
            "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM "," P_BIRTH ",\"_birthDate\":"
            "{\"extension\":[{\"url\":\"http://e\",\"valueCode\":\"x\"}]}}");
  check_fp (params (op ("add", "Patient.name[1].given[0]", PART_NAME ("id")
                        PART_VALUE ("\"valueString\":\"g0\"")), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[" P_NAME0 ",{\"given\":[\"Jim\"],\"_given\":"
            "[{\"id\":\"g0\"}]}]," P_TELECOM "," P_BIRTH "}");
  /* A contained resource. */
  check_fp (params (op ("add", "Patient", PART_NAME ("contained")
                        ",{\"name\":\"value\",\"resource\":{\"resourceType\":\"Organization\","
                        "\"id\":\"o\",\"name\":\"Acme\"}}"), NULL),
            "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM "," P_BIRTH ",\"contained\":"
            "[{\"resourceType\":\"Organization\",\"id\":\"o\",\"name\":\"Acme\"}]}");
  /* Into a backbone element selected with where(). */
  check_fp_on ("{\"resourceType\":\"Patient\",\"contact\":[{\"gender\":\"male\"},"
               "{\"gender\":\"female\"}]}",
               params (op ("add", "Patient.contact.where(gender = 'female')", PART_NAME ("name")
                           PART_VALUE ("\"valueHumanName\":{\"family\":\"F\"}")), NULL),
               "{\"resourceType\":\"Patient\",\"contact\":[{\"gender\":\"male\"},{\"gender\":"
               "\"female\",\"name\":{\"family\":\"F\"}}]}");
}

static void
test_fp_insert (void)
{
  /* Index 1 of [N0, N1]: between them; 0: first; 2 (the length): last. */
  check_fp (params (op ("insert", "Patient.name", PART_INT ("index", 1)
                        PART_VALUE ("\"valueHumanName\":{\"text\":\"X\"}")), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[" P_NAME0 ",{\"text\":\"X\"}," P_NAME1 "],"
            P_TELECOM "," P_BIRTH "}");
  check_fp (params (op ("insert", "Patient.name", PART_INT ("index", 0)
                        PART_VALUE ("\"valueHumanName\":{\"text\":\"X\"}")), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[{\"text\":\"X\"}," P_NAME0 "," P_NAME1 "],"
            P_TELECOM "," P_BIRTH "}");
  check_fp (params (op ("insert", "Patient.name", PART_INT ("index", 2)
                        PART_VALUE ("\"valueHumanName\":{\"text\":\"X\"}")), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[" P_NAME0 "," P_NAME1 ",{\"text\":\"X\"}],"
            P_TELECOM "," P_BIRTH "}");
  /* A primitive list: "_given" stays parallel ([null, J] gets a null in front). */
  check_fp (params (op ("insert", "Patient.name[0].given", PART_INT ("index", 0)
                        PART_VALUE ("\"valueString\":\"Pete\"")), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Pete\","
            "\"Peter\",\"James\"],\"_given\":[null,null," P_X_J "]}," P_NAME1 "]," P_TELECOM ","
            P_BIRTH "}");
  /* An empty list, found through what holds it. */
  check_fp (params (op ("insert", "Patient.address", PART_INT ("index", 0)
                        PART_VALUE ("\"valueAddress\":{\"city\":\"Oz\"}")), NULL),
            "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM "," P_BIRTH ",\"address\":"
            "[{\"city\":\"Oz\"}]}");
}

static void
test_fp_delete (void)
{
  check_fp (params (op ("delete", "Patient.birthDate", ""), NULL),
            "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM "}");
  check_fp (params (op ("delete", "Patient.name[1]", ""), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[" P_NAME0 "]," P_TELECOM "," P_BIRTH "}");
  /* Item 0 of a primitive list with its twin: both lose item 0. */
  check_fp (params (op ("delete", "Patient.name[0].given[0]", ""), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[{\"family\":\"Chalmers\",\"given\":[\"James\"],"
            "\"_given\":[" P_X_J "]}," P_NAME1 "]," P_TELECOM "," P_BIRTH "}");
  /* Item 1: the twin is left with nulls only, so it goes. */
  check_fp (params (op ("delete", "Patient.name[0].given[1]", ""), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Peter\"]},"
            P_NAME1 "]," P_TELECOM "," P_BIRTH "}");
  /* The last item of a list: the list goes; so does its object, and the list above it. */
  check_fp (params (op ("delete", "Patient.telecom", ""), NULL),
            "{" P_HEAD "," P_EXT "," P_NAME "," P_BIRTH "}");
  check_fp (params (op ("delete", "Patient.name[1].given", ""), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[" P_NAME0 "]," P_TELECOM "," P_BIRTH "}");
  check_fp (params (op ("delete", "Patient.telecom.system", ""),
                    op ("delete", "Patient.telecom.value", ""), NULL),
            "{" P_HEAD "," P_EXT "," P_NAME "," P_BIRTH "}");
  /* An extension of a primitive: the "_given" entry becomes null, then the twin goes. */
  check_fp (params (op ("delete", "Patient.name[0].given[1].extension", ""), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Peter\","
            "\"James\"]}," P_NAME1 "]," P_TELECOM "," P_BIRTH "}");
  /* A choice element by its name (the extension keeps its url: charta_validate() would
   * refuse it, but the patch does what it says). */
  check_fp (params (op ("delete", "Patient.extension.value", ""), NULL),
            "{" P_HEAD ",\"extension\":[{\"url\":\"http://example.org/weight\"}]," P_NAME ","
            P_TELECOM "," P_BIRTH "}");
  /* Nothing selected: nothing changes. */
  check_fp (params (op ("delete", "Patient.address", ""), NULL),
            "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM "," P_BIRTH "}");
}

static void
test_fp_replace (void)
{
  g_autoptr(ChartaResource) obs = charta_test_parse (
    "{\"resourceType\":\"Observation\",\"id\":\"o\",\"status\":\"final\",\"code\":{\"text\":"
    "\"x\"},\"valueQuantity\":{\"value\":1.50,\"unit\":\"mg\"}}");
  g_autoptr(ChartaResource) result = NULL;
  g_autoptr(ChartaResource) p = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  check_fp (params (op ("replace", "Patient.birthDate", PART_VALUE ("\"valueDate\":\"1980\"")),
                    NULL),
            "{" P_HEAD "," P_EXT "," P_NAME "," P_TELECOM ",\"birthDate\":\"1980\"}");
  check_fp (params (op ("replace", "Patient.name[0].family",
                        PART_VALUE ("\"valueString\":\"Chalmers1\"")), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[{\"family\":\"Chalmers1\",\"given\":[\"Peter\","
            "\"James\"],\"_given\":[null," P_X_J "]}," P_NAME1 "]," P_TELECOM "," P_BIRTH "}");
  check_fp (params (op ("replace", "Patient.name[1]",
                        PART_VALUE ("\"valueHumanName\":{\"text\":\"T\"}")), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[" P_NAME0 ",{\"text\":\"T\"}]," P_TELECOM ","
            P_BIRTH "}");
  /* A list item of a primitive with an extension is replaced whole, extension and all. */
  check_fp (params (op ("replace", "Patient.name[0].given[1]",
                        PART_VALUE ("\"valueString\":\"Jay\"")), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Peter\","
            "\"Jay\"]}," P_NAME1 "]," P_TELECOM "," P_BIRTH "}");
  check_fp (params (op ("replace", "Patient.name[0].given[0]",
                        PART_VALUE ("\"valueString\":\"P\",\"_valueString\":{\"id\":\"i\"}")),
                    NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[{\"family\":\"Chalmers\",\"given\":[\"P\","
            "\"James\"],\"_given\":[{\"id\":\"i\"}," P_X_J "]}," P_NAME1 "]," P_TELECOM ","
            P_BIRTH "}");

  /* Inside a contained resource: its elements are those of its own type. */
  check_fp_on ("{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Organization\","
               "\"id\":\"o\",\"name\":\"Acme\"}],\"managingOrganization\":{\"reference\":\"#o\"}}",
               params (op ("replace", "Patient.contained.where(id = 'o').name",
                           PART_VALUE ("\"valueString\":\"Emca\"")),
                       op ("add", "Patient.contained[0]", PART_NAME ("alias")
                           PART_VALUE ("\"valueString\":\"A\"")), NULL),
               "{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Organization\","
               "\"id\":\"o\",\"name\":\"Emca\",\"alias\":[\"A\"]}],\"managingOrganization\":"
               "{\"reference\":\"#o\"}}");

  /* A choice changes its JSON name with the value's type. */
  p = params (op ("replace", "Observation.value", PART_VALUE ("\"valueString\":\"high\"")),
              NULL);
  result = apply_fhirpath (obs, p, &error);
  g_assert_no_error (error);
  assert_resource_json (result, "{\"resourceType\":\"Observation\",\"id\":\"o\",\"status\":"
                        "\"final\",\"code\":{\"text\":\"x\"},\"valueString\":\"high\"}");
  g_clear_pointer (&result, charta_resource_unref);
  g_clear_pointer (&p, charta_resource_unref);

  /* Numbers keep their text: the resource's and the patch's. */
  p = params (op ("replace", "Observation.code", PART_VALUE ("\"valueCodeableConcept\":"
                                                             "{\"text\":\"y\"}")),
              op ("add", "Observation", PART_NAME ("referenceRange")
                  PART_VALUE ("\"part\":[{\"name\":\"low\",\"valueQuantity\":{\"value\":"
                              "0.50}}]")), NULL);
  result = apply_fhirpath (obs, p, &error);
  g_assert_no_error (error);
  out = charta_resource_to_json (result, FALSE, NULL);
  charta_test_assert_contains (out, "\"valueQuantity\":{\"value\":1.50,");
  charta_test_assert_contains (out, "\"referenceRange\":[{\"low\":{\"value\":0.50}}]");
  charta_test_assert_contains (out, "\"code\":{\"text\":\"y\"}");
}

static void
test_fp_move (void)
{
  static const char *list =
    "{\"resourceType\":\"Patient\",\"identifier\":[{\"value\":\"1\"},{\"value\":\"2\"},"
    "{\"value\":\"3\"},{\"value\":\"4\"}]}";

  /* [1,2,3,4]: 3 taken out gives [1,2,3], put back at 1 gives [1,4,2,3]. */
  check_fp_on (list, params (op ("move", "Patient.identifier", PART_INT ("source", 3)
                                 PART_INT ("destination", 1)), NULL),
               "{\"resourceType\":\"Patient\",\"identifier\":[{\"value\":\"1\"},{\"value\":"
               "\"4\"},{\"value\":\"2\"},{\"value\":\"3\"}]}");
  /* 0 to 3: [2,3,4,1]. */
  check_fp_on (list, params (op ("move", "Patient.identifier", PART_INT ("source", 0)
                                 PART_INT ("destination", 3)), NULL),
               "{\"resourceType\":\"Patient\",\"identifier\":[{\"value\":\"2\"},{\"value\":"
               "\"3\"},{\"value\":\"4\"},{\"value\":\"1\"}]}");
  /* A primitive list moves with its twin: [Peter, James] and [null, J] become
   * [James, Peter] and [J, null]. */
  check_fp (params (op ("move", "Patient.name[0].given", PART_INT ("source", 1)
                        PART_INT ("destination", 0)), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[{\"family\":\"Chalmers\",\"given\":[\"James\","
            "\"Peter\"],\"_given\":[" P_X_J ",null]}," P_NAME1 "]," P_TELECOM "," P_BIRTH "}");
  /* Each operation sees the ones before it. */
  check_fp (params (op ("move", "Patient.name", PART_INT ("source", 1)
                        PART_INT ("destination", 0)),
                    op ("replace", "Patient.name[0].given[0]",
                        PART_VALUE ("\"valueString\":\"Jimmy\"")), NULL),
            "{" P_HEAD "," P_EXT ",\"name\":[{\"given\":[\"Jimmy\"]}," P_NAME0 "]," P_TELECOM
            "," P_BIRTH "}");
}

static void
test_fp_errors (void)
{
  /* The Parameters. */
  {
    g_autoptr(ChartaResource) input = patient ();
    g_autoptr(ChartaResource) not_params = patient ();
    g_autoptr(GError) error = NULL;
    g_autoptr(ChartaResource) result = apply_fhirpath (input, not_params, &error);

    g_assert_null (result);
    assert_error (error, CHARTA_FHIR_ERROR_INVALID,
                  "a FHIRPath Patch is a Parameters resource, not a Patient", NULL);
  }
  check_fp_error (charta_test_parse ("{\"resourceType\":\"Parameters\",\"parameter\":"
                                     "[{\"name\":\"op\",\"part\":[]}]}"),
                  CHARTA_FHIR_ERROR_INVALID,
                  "operation 0: the parameter is called \"op\"", NULL);
  check_fp_error (charta_test_parse ("{\"resourceType\":\"Parameters\",\"parameter\":"
                                     "[{\"name\":\"operation\"}]}"),
                  CHARTA_FHIR_ERROR_INVALID, "operation 0: has no parts", NULL);
  check_fp_error (charta_test_parse ("{\"resourceType\":\"Parameters\",\"parameter\":"
                                     "[{\"name\":\"operation\",\"part\":[{\"name\":\"path\","
                                     "\"valueString\":\"Patient\"}]}]}"),
                  CHARTA_FHIR_ERROR_INVALID, "operation 0: has no part \"type\"", NULL);
  check_fp_error (params (op ("frob", "Patient", ""), NULL), CHARTA_FHIR_ERROR_INVALID,
                  "operation 0: unknown type \"frob\"", NULL);
  check_fp_error (params (op ("add", "Patient", PART_NAME ("gender")), NULL),
                  CHARTA_FHIR_ERROR_INVALID, "operation 0 (add): has no part \"value\"", NULL);
  check_fp_error (params (op ("delete", "Patient", ",{\"name\":\"valu\",\"valueString\":\"x\"}"),
                          NULL),
                  CHARTA_FHIR_ERROR_INVALID, "operation 0: unknown part \"valu\"", NULL);
  check_fp_error (params (op ("delete", "Patient", ",{\"name\":\"path\",\"valueString\":\"x\"}"),
                          NULL),
                  CHARTA_FHIR_ERROR_INVALID, "the part \"path\" is given twice", NULL);
  check_fp_error (params (op ("delete", "Patient.birthDate", PART_INT ("index", 0)), NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "operation 0 (delete): the part \"index\" is not one that delete takes", NULL);
  check_fp_error (params (op ("insert", "Patient.name", PART_INT ("index", -1)
                              PART_VALUE ("\"valueHumanName\":{}")), NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "the part \"index\" needs a valueInteger from 0; it is -1", NULL);
  /* The whole patch is read before any operation is applied: operation 1 fails it. */
  check_fp_error (params (op ("delete", "Patient.birthDate", ""), op ("delete", "", ""),
                          op ("frob", "", ""), NULL),
                  CHARTA_FHIR_ERROR_INVALID, "operation 2: unknown type", NULL);

  /* Paths. */
  check_fp_error (params (op ("delete", "Patient.name[", ""), NULL),
                  CHARTA_FHIR_ERROR_FHIRPATH_SYNTAX, "operation 0 (delete): path Patient.name[: ",
                  NULL);
  check_fp_error (params (op ("delete", "Patient.name.given.single()", ""), NULL),
                  CHARTA_FHIR_ERROR_FHIRPATH_EVAL,
                  "operation 0 (delete): path Patient.name.given.single(): ", NULL);
  check_fp_error (params (op ("replace", "Patient.name[5].family",
                              PART_VALUE ("\"valueString\":\"x\"")), NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "operation 0 (replace): path Patient.name[5].family: selects nothing: "
                  "replace needs exactly one", NULL);
  check_fp_error (params (op ("replace", "Patient.name.given", PART_VALUE ("\"valueString\":"
                                                                          "\"x\"")), NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "path Patient.name.given: selects 3 elements: replace needs exactly one", NULL);
  check_fp_error (params (op ("delete", "Patient.name", ""), NULL), CHARTA_FHIR_ERROR_INVALID,
                  "operation 0 (delete): path Patient.name: selects 2 elements: delete removes "
                  "one", NULL);
  check_fp_error (params (op ("delete", "Patient", ""), NULL), CHARTA_FHIR_ERROR_INVALID,
                  "selects the resource itself", NULL);
  check_fp_error (params (op ("replace", "Patient.name.count()",
                              PART_VALUE ("\"valueInteger\":1")), NULL),
                  CHARTA_FHIR_ERROR_INVALID, "selects a computed value", NULL);
  check_fp_error (params (op ("add", "Patient.contact", PART_NAME ("gender")
                              PART_VALUE ("\"valueCode\":\"male\"")), NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "operation 0 (add): path Patient.contact: selects nothing: add needs the one "
                  "element to add \"gender\" to", NULL);
  check_fp_error (params (op ("add", "Patient.name", PART_NAME ("text")
                              PART_VALUE ("\"valueString\":\"x\"")), NULL),
                  CHARTA_FHIR_ERROR_INVALID, "selects 2 elements: add needs", NULL);

  /* Elements and values. */
  check_fp_error (params (op ("add", "Patient", PART_NAME ("birthDate")
                              PART_VALUE ("\"valueDate\":\"1980\"")), NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "value: Patient already has birthDate, which does not repeat", NULL);
  check_fp_error (params (op ("add", "Patient", PART_NAME ("foo")
                              PART_VALUE ("\"valueString\":\"x\"")), NULL),
                  CHARTA_FHIR_ERROR_INVALID, "path Patient: Patient has no element \"foo\"",
                  NULL);
  check_fp_error (params (op ("replace", "Patient.birthDate",
                              PART_VALUE ("\"valueCodeableConcept\":{\"text\":\"x\"}")), NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "value: a CodeableConcept value does not fit Patient.birthDate (date)", NULL);
  check_fp_error (params (op ("replace", "Patient.active", PART_VALUE ("\"valueString\":"
                                                                      "\"true\"")), NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "a string value does not fit Patient.active (boolean)", NULL);
  check_fp_error (params (op ("add", "Patient", PART_NAME ("deceased")
                              PART_VALUE ("\"valueString\":\"x\"")), NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "a string value does not fit Patient.deceased[x] (boolean, dateTime)", NULL);
  check_fp_error (params (op ("add", "Patient", PART_NAME ("deceasedBoolean")
                              PART_VALUE ("\"valueDateTime\":\"2020\"")), NULL),
                  CHARTA_FHIR_ERROR_INVALID, "named as boolean", NULL);
  check_fp_error (params (op ("add", "Patient", PART_NAME ("contact")
                              PART_VALUE ("\"part\":[{\"name\":\"nom\",\"valueString\":\"x\"}]")),
                          NULL),
                  CHARTA_FHIR_ERROR_INVALID, "value: Patient.contact has no element \"nom\"",
                  NULL);
  check_fp_error (params (op ("add", "Patient", PART_NAME ("contact")
                              PART_VALUE ("\"part\":[{\"name\":\"gender\",\"valueCode\":\"male\"},"
                                          "{\"name\":\"gender\",\"valueCode\":\"male\"}]")),
                          NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "value.gender: Patient.contact already has gender", NULL);
  check_fp_error (params (op ("add", "Patient", PART_NAME ("gender") ",{\"name\":\"value\"}"),
                          NULL),
                  CHARTA_FHIR_ERROR_INVALID, "value: the part has no value", NULL);
  check_fp_error (params (op ("add", "Patient", PART_NAME ("gender")
                              PART_VALUE ("\"valueFoo\":\"x\"")), NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "value: \"valueFoo\" is not a value[x] of a Parameters part", NULL);
  check_fp_error (params (op ("add", "Patient", PART_NAME ("birthDate")
                              PART_VALUE ("\"part\":[{\"name\":\"id\",\"valueString\":\"x\"}]")),
                          NULL),
                  CHARTA_FHIR_ERROR_INVALID, "parts give the value of an element of one complex "
                  "type; Patient.birthDate (date) takes a value[x]", NULL);
  check_fp_error (params (op ("insert", "Patient.name", PART_INT ("index", 3)
                              PART_VALUE ("\"valueHumanName\":{\"text\":\"X\"}")), NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "operation 0 (insert): path Patient.name: index 3 is out of range: the list "
                  "has 2 items (0 to 2)", NULL);
  check_fp_error (params (op ("insert", "Patient.address", PART_INT ("index", 1)
                              PART_VALUE ("\"valueAddress\":{\"city\":\"X\"}")), NULL),
                  CHARTA_FHIR_ERROR_INVALID, "index 1 is out of range: the list has 0 items",
                  NULL);
  check_fp_error (params (op ("insert", "Patient.name.where(family.exists())",
                              PART_INT ("index", 0)
                              PART_VALUE ("\"valueHumanName\":{\"text\":\"X\"}")), NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "selects 1 of the 2 items of name: insert works on the whole list", NULL);
  check_fp_error (params (op ("insert", "Patient.birthDate", PART_INT ("index", 0)
                              PART_VALUE ("\"valueDate\":\"1980\"")), NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "selects something that is not the items of one list", NULL);
  check_fp_error (params (op ("move", "Patient.name", PART_INT ("source", 5)
                              PART_INT ("destination", 0)), NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "operation 0 (move): path Patient.name: source 5 is out of range: the list has "
                  "2 items (0 to 1)", NULL);
  check_fp_error (params (op ("move", "Patient.name", PART_INT ("source", 0)
                              PART_INT ("destination", 2)), NULL),
                  CHARTA_FHIR_ERROR_INVALID, "destination 2 is out of range", NULL);
  check_fp_error (params (op ("move", "Patient.address", PART_INT ("source", 0)
                              PART_INT ("destination", 0)), NULL),
                  CHARTA_FHIR_ERROR_INVALID, "selects nothing: move needs a list", NULL);

  /* Identity; and the operation named is the one that failed. */
  check_fp_error (params (op ("delete", "Patient.birthDate", ""),
                          op ("replace", "Patient.id", PART_VALUE ("\"valueId\":\"p2\"")), NULL),
                  CHARTA_FHIR_ERROR_INVALID,
                  "operation 1 (replace): path Patient.id: a patch may not change the id "
                  "(\"p1\" would become \"p2\")", NULL);
  check_fp_error (params (op ("delete", "Patient.id", ""), NULL), CHARTA_FHIR_ERROR_INVALID,
                  "operation 0 (delete): path Patient.id: a patch may not change the id (\"p1\" "
                  "would be removed)", NULL);
}

/* --- the official cases ---------------------------------------------------------------------- */

/* Official cases allowed to fail, each with the reason ("suite/case name").  None now: the
 * table is kept so that a case that cannot pass is listed here, not hidden. */
static const struct
{
  const char *name;
  const char *reason;
} skipped[] = {
  { NULL, NULL },
};

#define JSON_SUITE_FLOOR 16
#define FHIRPATH_SUITE_FLOOR 33

static const char *
skip_reason (const char *suite,
             const char *name)
{
  g_autofree char *full = g_strdup_printf ("%s/%s", suite, name);

  for (unsigned i = 0; i < G_N_ELEMENTS (skipped); i++)
    if (skipped[i].name != NULL && strcmp (skipped[i].name, full) == 0)
      return skipped[i].reason;
  return NULL;
}

/* Counts a case's outcome: passed, skipped (listed), or an unexpected failure (logged). */
typedef struct
{
  unsigned cases;
  unsigned passed;
  unsigned skipped;
  unsigned unexpected;
  GString *failures;
} Tally;

static void
tally (Tally      *t,
       const char *suite,
       const char *name,
       gboolean    ok,
       const char *why)
{
  const char *reason = skip_reason (suite, name);

  t->cases++;
  if (ok)
    {
      t->passed++;
      if (reason != NULL)
        g_test_message ("listed as skipped but passes: %s/%s", suite, name);
    }
  else if (reason != NULL)
    {
      t->skipped++;
      g_test_message ("skip %s/%s (%s): %s", suite, name, reason, why);
    }
  else
    {
      t->unexpected++;
      g_string_append_printf (t->failures, "\n  %s/%s: %s", suite, name, why);
    }
}

static void
test_official_json (void)
{
  g_autofree char *path = charta_test_corpus_path ("patch/json-patch-tests.json");
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) failures = g_string_new (NULL);
  Tally t = { 0, 0, 0, 0, failures };
  JsonArray *cases;
  unsigned n_errors = 0;

  if (path == NULL)
    return;
  parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  cases = json_node_get_array (json_parser_get_root (parser));
  for (unsigned i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      const char *name = json_object_get_string_member (c, "comment");
      JsonNode *doc = json_object_get_member (c, "doc");
      JsonNode *expected = json_object_get_member (c, "expected");
      gboolean expect_error = json_object_has_member (c, "error");
      g_autofree char *before = json_to_string (doc, FALSE);
      g_autofree char *after = NULL;
      g_autofree char *where = NULL;
      g_autofree char *why = NULL;
      g_autoptr(GError) case_error = NULL;
      g_autoptr(JsonNode) result = NULL;
      gboolean ok;

      g_assert_true (expect_error != (expected != NULL));
      result = charta_patch_apply_json_node (doc, json_object_get_member (c, "patch"),
                                             &case_error);
      after = json_to_string (doc, FALSE);
      g_assert_cmpstr (after, ==, before);
      if (expect_error)
        {
          n_errors++;
          ok = result == NULL && g_error_matches (case_error, CHARTA_FHIR_ERROR,
                                                  CHARTA_FHIR_ERROR_INVALID);
          why = ok ? NULL : g_strdup ("expected an error, got a result");
          if (ok)
            g_test_message ("%s: fails as expected (%s): %s", name,
                            json_object_get_string_member (c, "error"), case_error->message);
        }
      else if (result == NULL)
        {
          ok = FALSE;
          why = g_strdup (case_error->message);
        }
      else
        {
          ok = charta_test_json_equal (result, expected, &where);
          if (!ok)
            why = g_strdup_printf ("result differs at %s", where);
        }
      tally (&t, "json", name, ok, why);
    }

  g_test_message ("JSON Patch suite: %u of %u cases pass (%u of them expect an error), %u "
                  "skipped", t.passed, t.cases, n_errors, t.skipped);
  if (t.unexpected > 0)
    g_test_message ("unexpected failures:%s", failures->str);
  g_assert_cmpuint (t.cases, ==, 16);
  g_assert_cmpuint (n_errors, ==, 4);
  g_assert_cmpuint (t.unexpected, ==, 0);
  g_assert_cmpuint (t.passed, >=, JSON_SUITE_FLOOR);
}

/* The FHIR XML <Parameters> of a case as a resource.  An empty <Parameters/> becomes
 * {"resourceType":"Parameters"}. */
static ChartaResource *
case_parameters (const ChartaTestXml *diff)
{
  ChartaTestXml *p = charta_test_xml_first_element (diff);

  g_assert_cmpstr (p->name, ==, "Parameters");
  return charta_test_xml_to_resource (p);
}

static void
test_official_fhirpath (void)
{
  g_autofree char *path = charta_test_corpus_path ("patch/fhir-patch-tests.xml");
  g_autofree char *xml = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaTestXml) doc = NULL;
  g_autoptr(GString) failures = g_string_new (NULL);
  Tally t = { 0, 0, 0, 0, failures };
  const ChartaTestXml *tests;
  unsigned n_errors = 0, n_valid = 0;

  if (path == NULL)
    return;
  g_assert_true (g_file_get_contents (path, &xml, NULL, &error));
  g_assert_no_error (error);
  doc = charta_test_xml_parse (xml);
  tests = charta_test_xml_need_child (doc, "tests");

  for (unsigned i = 0; i < tests->children->len; i++)
    {
      const ChartaTestXml *c = g_ptr_array_index (tests->children, i);
      const ChartaTestXml *output, *error_el;
      g_autoptr(ChartaResource) input = NULL;
      g_autoptr(ChartaResource) parameters = NULL;
      g_autoptr(ChartaResource) result = NULL;
      g_autoptr(GError) case_error = NULL;
      g_autofree char *before = NULL;
      g_autofree char *after = NULL;
      g_autofree char *why = NULL;
      const char *name;
      gboolean ok;

      if (c->name == NULL || strcmp (c->name, "case") != 0)
        continue;
      name = charta_test_xml_attr (c, "name");
      input = charta_test_xml_to_resource (
        charta_test_xml_first_element (charta_test_xml_need_child (c, "input")));
      parameters = case_parameters (charta_test_xml_need_child (c, "diff"));
      output = charta_test_xml_child (c, "output");
      error_el = charta_test_xml_child (c, "error");
      g_assert_true ((output != NULL) != (error_el != NULL));

      before = charta_resource_to_json (input, FALSE, NULL);
      result = charta_patch_apply_fhirpath (input, parameters, &case_error);
      after = charta_resource_to_json (input, FALSE, NULL);
      g_assert_cmpstr (after, ==, before);

      if (error_el != NULL)
        {
          n_errors++;
          ok = result == NULL && g_error_matches (case_error, CHARTA_FHIR_ERROR,
                                                  CHARTA_FHIR_ERROR_INVALID);
          why = ok ? NULL : g_strdup ("expected an error, got a result");
          if (ok)
            g_test_message ("%s: fails as expected (%s): %s", name,
                            charta_test_xml_attr (error_el, "msg"), case_error->message);
        }
      else if (result == NULL)
        {
          ok = FALSE;
          why = g_strdup (case_error->message);
        }
      else
        {
          g_autoptr(ChartaResource) expected = charta_test_xml_to_resource (
            charta_test_xml_first_element (output));
          g_autofree char *where = NULL;
          g_autoptr(GError) invalid = NULL;

          ok = charta_test_json_equal (charta_resource_get_root (result),
                                       charta_resource_get_root (expected), &where);
          if (!ok)
            {
              g_autofree char *got = charta_resource_to_json (result, FALSE, NULL);
              g_autofree char *want = charta_resource_to_json (expected, FALSE, NULL);

              why = g_strdup_printf ("result differs at %s:\n    got      %s\n    expected %s",
                                     where, got, want);
            }
          /* For the record: which results the model accepts (charta_validate() is the
           * caller's). */
          if (charta_validate (result, &invalid))
            n_valid++;
          else
            g_test_message ("%s: the expected result does not validate: %s", name,
                            invalid->message);
        }
      tally (&t, "fhirpath", name, ok, why);
    }

  g_test_message ("FHIRPath Patch suite: %u of %u cases pass (%u of them expect an error; "
                  "%u of the results validate), %u skipped", t.passed, t.cases, n_errors,
                  n_valid, t.skipped);
  if (t.unexpected > 0)
    g_test_message ("unexpected failures:%s", failures->str);
  g_assert_cmpuint (t.cases, ==, 33);
  g_assert_cmpuint (n_errors, ==, 1);
  g_assert_cmpuint (t.unexpected, ==, 0);
  g_assert_cmpuint (t.passed, >=, FHIRPATH_SUITE_FLOOR);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/charta/fhir/patch/json/add", test_json_add);
  g_test_add_func ("/charta/fhir/patch/json/remove-replace", test_json_remove_replace);
  g_test_add_func ("/charta/fhir/patch/json/move-copy-test", test_json_move_copy_test);
  g_test_add_func ("/charta/fhir/patch/json/pointer-escapes", test_json_pointer_escapes);
  g_test_add_func ("/charta/fhir/patch/json/number-texts", test_json_number_texts);
  g_test_add_func ("/charta/fhir/patch/json/errors", test_json_errors);
  g_test_add_func ("/charta/fhir/patch/json/limits", test_json_limits);
  g_test_add_func ("/charta/fhir/patch/fhirpath/add", test_fp_add);
  g_test_add_func ("/charta/fhir/patch/fhirpath/insert", test_fp_insert);
  g_test_add_func ("/charta/fhir/patch/fhirpath/delete", test_fp_delete);
  g_test_add_func ("/charta/fhir/patch/fhirpath/replace", test_fp_replace);
  g_test_add_func ("/charta/fhir/patch/fhirpath/move", test_fp_move);
  g_test_add_func ("/charta/fhir/patch/fhirpath/errors", test_fp_errors);
  g_test_add_func ("/charta/fhir/patch/official/json", test_official_json);
  g_test_add_func ("/charta/fhir/patch/official/fhirpath", test_official_fhirpath);

  return g_test_run ();
}
