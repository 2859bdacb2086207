/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-outcome.c: ChartaOutcome and the OperationOutcome JSON made from it.
 *
 * Builds outcomes by hand and from every CHARTA_FHIR_ERROR code, then reads the JSON back
 * with json-glib and as a ChartaResource, and checks each field, the escaping of quotes,
 * control characters and non-ASCII text, and that the result is an R4 OperationOutcome
 * (validated against the model when the validator says so).
 */
#define G_LOG_DOMAIN "charta-test-outcome"

#include <string.h>

#include "charta-test-util.h"

/* Parses @json with json-glib (independently of our reader) and returns the issue array. */
static JsonNode *
parse_outcome_json (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root;

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "resourceType"), ==, "OperationOutcome");
  g_assert_cmpuint (json_object_get_size (root), ==, 2);
  g_assert_true (json_object_has_member (root, "issue"));
  return json_node_copy (json_parser_get_root (parser));
}

static JsonObject *
issue_at (JsonNode *root,
          unsigned  index)
{
  JsonArray *issues = json_object_get_array_member (json_node_get_object (root), "issue");

  g_assert_cmpuint (index, <, json_array_get_length (issues));
  return json_array_get_object_element (issues, index);
}

static unsigned
n_issues (JsonNode *root)
{
  return json_array_get_length (json_object_get_array_member (json_node_get_object (root),
                                                              "issue"));
}

/* The JSON must be an R4 OperationOutcome to our own parser and validator too. */
static void
assert_valid_operation_outcome (const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = charta_resource_new_from_data (json, strlen (json), NULL,
                                                                      &error);
  g_autoptr(ChartaOutcome) check = charta_outcome_new ();

  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_resource_type (resource), ==, "OperationOutcome");
  charta_validate_resource (resource, check);
  for (unsigned i = 0; i < charta_outcome_get_n_issues (check); i++)
    g_test_message ("validation: %s", charta_outcome_get_issue (check, i)->diagnostics);
  g_assert_cmpuint (charta_outcome_count_errors (check), ==, 0);
}

static void
test_build (void)
{
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  const ChartaIssue *issue;

  g_assert_cmpuint (charta_outcome_get_n_issues (outcome), ==, 0);
  g_assert_false (charta_outcome_has_errors (outcome));
  g_assert_cmpuint (charta_outcome_count_errors (outcome), ==, 0);

  charta_outcome_add (outcome, CHARTA_ISSUE_WARNING, "value", "Patient.gender",
                      "Patient.gender: %s is unusual", "\"x\"");
  g_assert_cmpuint (charta_outcome_get_n_issues (outcome), ==, 1);
  g_assert_false (charta_outcome_has_errors (outcome));
  issue = charta_outcome_get_issue (outcome, 0);

  charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "value", "Patient.birthDate",
                      "Patient.birthDate: \"%s\" is not a valid date", "1970-13-01");
  charta_outcome_add (outcome, CHARTA_ISSUE_FATAL, "structure", NULL, "line %d", 3);
  charta_outcome_add (outcome, CHARTA_ISSUE_INFORMATION, "informational", "", NULL);
  for (unsigned i = 0; i < 100; i++)
    charta_outcome_add (outcome, CHARTA_ISSUE_WARNING, "value", NULL, "w%u", i);

  /* Pointers handed out earlier stay valid as issues are added. */
  g_assert_true (issue == charta_outcome_get_issue (outcome, 0));
  g_assert_cmpint (issue->severity, ==, CHARTA_ISSUE_WARNING);
  g_assert_cmpstr (issue->code, ==, "value");
  g_assert_cmpstr (issue->expression, ==, "Patient.gender");
  g_assert_cmpstr (issue->diagnostics, ==, "Patient.gender: \"x\" is unusual");

  issue = charta_outcome_get_issue (outcome, 1);
  g_assert_cmpint (issue->severity, ==, CHARTA_ISSUE_ERROR);
  g_assert_cmpstr (issue->diagnostics, ==, "Patient.birthDate: \"1970-13-01\" is not a valid date");
  issue = charta_outcome_get_issue (outcome, 2);
  g_assert_cmpint (issue->severity, ==, CHARTA_ISSUE_FATAL);
  g_assert_null (issue->expression);
  g_assert_cmpstr (issue->diagnostics, ==, "line 3");
  issue = charta_outcome_get_issue (outcome, 3);
  g_assert_null (issue->expression);  /* an empty expression is none */
  g_assert_null (issue->diagnostics);

  g_assert_cmpuint (charta_outcome_get_n_issues (outcome), ==, 104);
  g_assert_cmpuint (charta_outcome_count_errors (outcome), ==, 2);
  g_assert_true (charta_outcome_has_errors (outcome));

  /* Boxed ref counting. */
  {
    ChartaOutcome *copy = g_boxed_copy (CHARTA_TYPE_OUTCOME, outcome);

    g_assert_true (copy == outcome);
    g_boxed_free (CHARTA_TYPE_OUTCOME, copy);
    g_assert_cmpuint (charta_outcome_get_n_issues (outcome), ==, 104);
  }
}

typedef struct
{
  GQuark               domain;
  int                  code;
  const char          *message;
  ChartaIssueSeverity  severity;
  const char          *issue_code;
  const char          *expression;
} ErrorCase;

static void
test_error_mapping (void)
{
  const ErrorCase cases[] = {
    { CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_LARGE, "the body is 9 bytes, more than 8",
      CHARTA_ISSUE_FATAL, "too-costly", NULL },
    { CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_DEEP, "line 1, column 130: nesting deeper",
      CHARTA_ISSUE_FATAL, "too-costly", NULL },
    { CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID_UTF8, "line 1, column 3: invalid UTF-8",
      CHARTA_ISSUE_FATAL, "structure", NULL },
    { CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_MALFORMED, "line 3, column 17: trailing comma",
      CHARTA_ISSUE_FATAL, "structure", NULL },
    { CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_DUPLICATE_KEY,
      "line 2, column 3: duplicate key \"family\" in Patient.name[1]: an object may …",
      CHARTA_ISSUE_FATAL, "structure", "Patient.name[1]" },
    { CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_DUPLICATE_KEY,
      "line 1, column 9: duplicate key \"a\" in $.x: an object may …",
      CHARTA_ISSUE_FATAL, "structure", NULL },
    { CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_NOT_RESOURCE, "resourceType \"Foo\" is not an R4 "
      "resource type", CHARTA_ISSUE_FATAL, "invalid", NULL },
    { CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
      "Patient.birthDate: \"1970-13-01\" is not a valid date", CHARTA_ISSUE_ERROR, "invalid",
      "Patient.birthDate" },
    { CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
      "Bundle.entry[2].resource.name[0]._given[1]: bad", CHARTA_ISSUE_ERROR, "invalid",
      "Bundle.entry[2].resource.name[0]._given[1]" },
    { CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID, "something is wrong", CHARTA_ISSUE_ERROR,
      "invalid", NULL },
    { CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_FHIRPATH_SYNTAX, "1:5: unexpected ')'",
      CHARTA_ISSUE_ERROR, "invalid", NULL },
    { CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_FHIRPATH_EVAL, "singleton expected",
      CHARTA_ISSUE_ERROR, "invalid", NULL },
    { CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_UNSUPPORTED, "line 1, column 4: \\u0000",
      CHARTA_ISSUE_ERROR, "not-supported", NULL },
    { CHARTA_FHIR_ERROR, 9999, "a code from the future", CHARTA_ISSUE_ERROR, "exception", NULL },
    { G_FILE_ERROR, G_FILE_ERROR_NOENT, "x.json: No such file or directory",
      CHARTA_ISSUE_ERROR, "exception", NULL },
    { G_IO_ERROR, G_IO_ERROR_FAILED, "Patient.id: looks like a path but is another domain",
      CHARTA_ISSUE_ERROR, "exception", NULL },
  };
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  g_autofree char *json = NULL;
  g_autoptr(JsonNode) root = NULL;

  for (unsigned i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = g_error_new_literal (cases[i].domain, cases[i].code,
                                                     cases[i].message);
      const ChartaIssue *issue;

      charta_outcome_add_error (outcome, error);
      issue = charta_outcome_get_issue (outcome, i);
      g_assert_cmpint (issue->severity, ==, cases[i].severity);
      g_assert_cmpstr (issue->code, ==, cases[i].issue_code);
      g_assert_cmpstr (issue->expression, ==, cases[i].expression);
      g_assert_cmpstr (issue->diagnostics, ==, cases[i].message);
    }

  /* The real thing: the error from parsing a bad body. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(ChartaResource) resource =
      charta_resource_new_from_data ("{\"resourceType\":\"Patient\",}", 27, NULL, &error);
    const ChartaIssue *issue;

    g_assert_null (resource);
    charta_outcome_add_error (outcome, error);
    issue = charta_outcome_get_issue (outcome, G_N_ELEMENTS (cases));
    g_assert_cmpstr (issue->code, ==, "structure");
    g_assert_cmpint (issue->severity, ==, CHARTA_ISSUE_FATAL);
    g_assert_cmpstr (issue->diagnostics, ==, error->message);
  }

  g_assert_cmpuint (charta_outcome_count_errors (outcome), ==, G_N_ELEMENTS (cases) + 1);

  /* And in the JSON. */
  json = charta_outcome_to_json (outcome, FALSE);
  root = parse_outcome_json (json);
  g_assert_cmpuint (n_issues (root), ==, G_N_ELEMENTS (cases) + 1);
  for (unsigned i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      JsonObject *issue = issue_at (root, i);
      const char *severity = cases[i].severity == CHARTA_ISSUE_FATAL ? "fatal" : "error";

      g_assert_cmpstr (json_object_get_string_member (issue, "severity"), ==, severity);
      g_assert_cmpstr (json_object_get_string_member (issue, "code"), ==, cases[i].issue_code);
      g_assert_cmpstr (json_object_get_string_member (issue, "diagnostics"), ==,
                       cases[i].message);
      if (cases[i].expression != NULL)
        {
          JsonArray *expression = json_object_get_array_member (issue, "expression");

          g_assert_cmpuint (json_array_get_length (expression), ==, 1);
          g_assert_cmpstr (json_array_get_string_element (expression, 0), ==,
                           cases[i].expression);
        }
      else
        g_assert_false (json_object_has_member (issue, "expression"));
    }
  assert_valid_operation_outcome (json);
}

static void
test_json_shape (void)
{
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  g_autofree char *json = NULL;
  g_autofree char *pretty = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) pretty_root = NULL;
  JsonObject *issue;

  charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "required", "Questionnaire.item[0]",
                      "Questionnaire.item[0]: linkId is required");
  charta_outcome_add (outcome, CHARTA_ISSUE_WARNING, "invariant", "Patient", "dom-6");
  charta_outcome_add (outcome, CHARTA_ISSUE_INFORMATION, "informational", NULL, NULL);

  json = charta_outcome_to_json (outcome, FALSE);
  g_assert_cmpstr (json, ==,
                   "{\"resourceType\":\"OperationOutcome\",\"issue\":["
                   "{\"severity\":\"error\",\"code\":\"required\",\"diagnostics\":"
                   "\"Questionnaire.item[0]: linkId is required\",\"expression\":"
                   "[\"Questionnaire.item[0]\"]},"
                   "{\"severity\":\"warning\",\"code\":\"invariant\",\"diagnostics\":\"dom-6\","
                   "\"expression\":[\"Patient\"]},"
                   "{\"severity\":\"information\",\"code\":\"informational\"}]}");
  root = parse_outcome_json (json);
  g_assert_cmpuint (n_issues (root), ==, 3);
  issue = issue_at (root, 2);
  g_assert_false (json_object_has_member (issue, "diagnostics"));
  g_assert_false (json_object_has_member (issue, "expression"));
  assert_valid_operation_outcome (json);

  /* Pretty: the same content, indented by two spaces. */
  pretty = charta_outcome_to_json (outcome, TRUE);
  g_assert_true (g_str_has_prefix (pretty, "{\n  \"resourceType\": \"OperationOutcome\",\n"
                                           "  \"issue\": [\n    {\n      \"severity\": "
                                           "\"error\",\n"));
  pretty_root = parse_outcome_json (pretty);
  g_assert_true (charta_test_json_equal (root, pretty_root, NULL));
}

static void
test_empty (void)
{
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  g_autofree char *json = charta_outcome_to_json (outcome, FALSE);
  g_autoptr(JsonNode) root = parse_outcome_json (json);
  JsonObject *issue;

  /* issue is 1..*: an outcome without issues says so. */
  g_assert_cmpuint (n_issues (root), ==, 1);
  issue = issue_at (root, 0);
  g_assert_cmpstr (json_object_get_string_member (issue, "severity"), ==, "information");
  g_assert_cmpstr (json_object_get_string_member (issue, "code"), ==, "informational");
  assert_valid_operation_outcome (json);
  g_assert_cmpuint (charta_outcome_get_n_issues (outcome), ==, 0);
}

static void
test_escaping (void)
{
  const char *diagnostics = "Patient.name[0].family: \"O'Brien \\ Zoë 日本\"\tline\nbreak \x01 end";
  const char *expression = "Patient.name[0].family";
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  g_autofree char *json = NULL;
  g_autofree char *pretty = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) pretty_root = NULL;
  JsonObject *issue;

  charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "value", expression, "%s", diagnostics);
  /* Bytes that are not UTF-8 (say, from a file name) are replaced, so the JSON stays valid. */
  charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "exception", "bad\xff", "file \xff\xfe.json");

  json = charta_outcome_to_json (outcome, FALSE);
  g_assert_true (g_utf8_validate (json, -1, NULL));
  /* Escaped minimally: quotes, backslash, control characters; non-ASCII as is. */
  g_assert_nonnull (strstr (json, "\\\"O'Brien \\\\ Zoë 日本\\\"\\tline\\nbreak \\u0001 end"));

  root = parse_outcome_json (json);
  issue = issue_at (root, 0);
  g_assert_cmpstr (json_object_get_string_member (issue, "diagnostics"), ==, diagnostics);
  g_assert_cmpstr (json_array_get_string_element (
                     json_object_get_array_member (issue, "expression"), 0), ==, expression);
  issue = issue_at (root, 1);
  g_assert_cmpstr (json_object_get_string_member (issue, "diagnostics"), ==,
                   "file \xef\xbf\xbd\xef\xbf\xbd.json");
  g_assert_cmpstr (charta_outcome_get_issue (outcome, 1)->expression, ==, "bad\xef\xbf\xbd");

  pretty = charta_outcome_to_json (outcome, TRUE);
  pretty_root = parse_outcome_json (pretty);
  g_assert_true (charta_test_json_equal (root, pretty_root, NULL));
  assert_valid_operation_outcome (json);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/charta/fhir/outcome/build", test_build);
  g_test_add_func ("/charta/fhir/outcome/error-mapping", test_error_mapping);
  g_test_add_func ("/charta/fhir/outcome/json-shape", test_json_shape);
  g_test_add_func ("/charta/fhir/outcome/empty", test_empty);
  g_test_add_func ("/charta/fhir/outcome/escaping", test_escaping);

  return g_test_run ();
}
