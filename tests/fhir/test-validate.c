/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-validate.c: validation against the R4 model.
 *
 * The corpus: every official R4 example not listed in KNOWN-INVALID.txt validates without an
 * error, and each listed one is rejected for the reason the list gives.  Then one case per
 * rule with small hand-written resources: each checks the issue code, the element path and the
 * quoted value in the message.  The invariants that validation skips (an expression our
 * FHIRPath engine cannot compile) are printed and must belong to a short, explicit list.
 */
#define G_LOG_DOMAIN "charta-test-validate"

#include <string.h>

#include "charta-test-util.h"
#include "charta-validate-private.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static char *outcome_errors (ChartaOutcome *outcome);

static ChartaOutcome *
validate_text (const char *json,
               gboolean   *valid)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  ChartaOutcome *outcome = charta_outcome_new ();

  resource = charta_resource_new_from_data (json, strlen (json), NULL, &error);
  if (resource == NULL)
    g_error ("test resource does not parse: %s\n%s", error->message, json);
  *valid = charta_validate_resource (resource, outcome);

  /* the native checks of hot invariants agree with FHIRPath */
  {
    g_autoptr(ChartaOutcome) fhirpath_only = charta_outcome_new ();
    g_autofree char *a = NULL, *b = NULL;

    charta_validate_set_native_checks (FALSE);
    g_assert_cmpint (charta_validate_resource (resource, fhirpath_only), ==, *valid);
    charta_validate_set_native_checks (TRUE);
    a = outcome_errors (outcome);
    b = outcome_errors (fhirpath_only);
    g_assert_cmpstr (a, ==, b);
  }
  return outcome;
}

static char *
outcome_errors (ChartaOutcome *outcome)
{
  GString *s = g_string_new (NULL);

  for (unsigned i = 0; i < charta_outcome_get_n_issues (outcome); i++)
    {
      const ChartaIssue *issue = charta_outcome_get_issue (outcome, i);

      g_string_append_printf (s, "  [%s %s] %s\n",
                              issue->severity == CHARTA_ISSUE_WARNING ? "warning" : "error",
                              issue->code, issue->diagnostics);
    }
  return g_string_free (s, FALSE);
}

/* Whether @outcome has an error with @code (NULL: any) whose message contains every string of
 * the NULL-terminated @needles. */
static gboolean
has_error_v (ChartaOutcome      *outcome,
             const char         *code,
             const char *const  *needles)
{
  for (unsigned i = 0; i < charta_outcome_get_n_issues (outcome); i++)
    {
      const ChartaIssue *issue = charta_outcome_get_issue (outcome, i);
      gboolean all = TRUE;

      if (issue->severity != CHARTA_ISSUE_ERROR && issue->severity != CHARTA_ISSUE_FATAL)
        continue;
      if (code != NULL && g_strcmp0 (issue->code, code) != 0)
        continue;
      for (const char *const *n = needles; *n != NULL && all; n++)
        all = strstr (issue->diagnostics, *n) != NULL;
      if (all)
        return TRUE;
    }
  return FALSE;
}

#define assert_invalid(json, code, ...) \
  assert_invalid_impl (json, code, (const char *const[]) { __VA_ARGS__, NULL })

static void
assert_invalid_impl (const char        *json,
                     const char        *code,
                     const char *const *needles)
{
  gboolean valid;
  g_autoptr(ChartaOutcome) outcome = validate_text (json, &valid);
  g_autofree char *errors = outcome_errors (outcome);

  if (valid || !has_error_v (outcome, code, needles))
    {
      GString *want = g_string_new (NULL);

      for (const char *const *n = needles; *n != NULL; n++)
        g_string_append_printf (want, " \"%s\"", *n);
      g_test_message ("resource: %s", json);
      g_test_message ("issues:\n%s", errors);
      g_test_message ("wanted an error [%s] containing%s", code ? code : "any", want->str);
      g_string_free (want, TRUE);
    }
  g_assert_false (valid);
  g_assert_true (has_error_v (outcome, code, needles));
}

static void
assert_valid (const char *json)
{
  gboolean valid;
  g_autoptr(ChartaOutcome) outcome = validate_text (json, &valid);

  if (!valid)
    {
      g_autofree char *errors = outcome_errors (outcome);

      g_test_message ("resource: %s", json);
      g_test_message ("issues:\n%s", errors);
    }
  g_assert_true (valid);
  g_assert_cmpuint (charta_outcome_count_errors (outcome), ==, 0);
}

/* ---- corpus --------------------------------------------------------------------------------- */

/* What each known-invalid file's errors must say, derived from its reason in the list. */
static const struct
{
  const char *file;
  const char *reason_word;   /* a word of the list's reason, to keep this table honest */
  const char *code;
  const char *needles[4];      /* NULL-terminated */
} known_expectations[] = {
  { "Binary-example.json", "base64", "value", { "Binary.data: ", "not a valid base64Binary", "whitespace" } },
  { "Media-example.json", "base64", "value", { "Media.content.data: ", "not a valid base64Binary" } },
  { "DiagnosticReport-gingival-mass.json", "base64", "value",
    { "DiagnosticReport.presentedForm[0].data: ", "not a valid base64Binary" } },
  { "ImplementationGuide-fhir.json", "name", "required",
    { "ImplementationGuide.name: ", "required element is missing" } },
  { "ig-r4.json", "same", "required", { "ImplementationGuide.name: ", "required element is missing" } },
  { "Questionnaire-qs1.json", "linkId", "required",
    { "Questionnaire.item[0].item[0].linkId: ", "required element is missing" } },
  { "RiskAssessment-breastcancer-risk.json", "ras-2", "invariant",
    { "RiskAssessment.prediction[0]: ", "ras-2" } },
  { "RiskAssessment-prognosis.json", "ras-2", "invariant", { "RiskAssessment.prediction[0]: ", "ras-2" } },
};

static ChartaOutcome *
validate_file (const char *path,
               gboolean   *valid,
               char      **parse_error)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  size_t length;
  g_autoptr(ChartaResource) resource = NULL;
  ChartaOutcome *outcome = charta_outcome_new ();

  *parse_error = NULL;
  *valid = FALSE;
  if (!g_file_get_contents (path, &data, &length, &error))
    {
      *parse_error = g_strdup (error->message);
      return outcome;
    }
  resource = charta_resource_new_from_data (data, length, NULL, &error);
  if (resource == NULL)
    {
      *parse_error = g_strdup (error->message);
      return outcome;
    }
  *valid = charta_validate_resource (resource, outcome);
  return outcome;
}

static void
test_corpus_valid (void)
{
  g_autofree char *dir = NULL;
  g_autoptr(GHashTable) known = NULL;
  g_autoptr(GPtrArray) names = charta_test_list_valid_examples (&dir, &known);
  g_autoptr(GString) failures = g_string_new (NULL);
  g_autoptr(GHashTable) failing_keys = g_hash_table_new (g_str_hash, g_str_equal);
  unsigned n_valid = 0, n_invalid = 0, n_warnings = 0;

  if (names == NULL)
    return;

  for (unsigned i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      g_autofree char *parse_error = NULL;
      gboolean valid;
      g_autoptr(ChartaOutcome) outcome = validate_file (path, &valid, &parse_error);

      for (unsigned k = 0; k < charta_outcome_get_n_issues (outcome); k++)
        if (charta_outcome_get_issue (outcome, k)->severity == CHARTA_ISSUE_WARNING)
          n_warnings++;
      if (valid)
        {
          n_valid++;
          continue;
        }
      n_invalid++;
      if (parse_error != NULL)
        g_string_append_printf (failures, "%s: does not parse: %s\n", (char *) names->pdata[i],
                                parse_error);
      for (unsigned k = 0; k < charta_outcome_get_n_issues (outcome); k++)
        {
          const ChartaIssue *issue = charta_outcome_get_issue (outcome, k);

          if (issue->severity == CHARTA_ISSUE_ERROR || issue->severity == CHARTA_ISSUE_FATAL)
            g_string_append_printf (failures, "%s: [%s] %s\n", (char *) names->pdata[i],
                                    issue->code, issue->diagnostics);
        }
    }

  g_test_message ("r4-examples: %u of %u files valid (%u warnings); %u listed in KNOWN-INVALID.txt",
                  n_valid, names->len, n_warnings, g_hash_table_size (known));
  if (n_invalid > 0)
    g_test_message ("errors in files that should be valid:\n%s", failures->str);
  g_assert_cmpuint (names->len, ==, 724);
  g_assert_cmpuint (n_invalid, ==, 0);
  g_assert_cmpuint (n_valid, ==, 724);
}

static void
test_corpus_known_invalid (void)
{
  g_autofree char *dir = charta_test_corpus_path ("r4-examples");
  g_autoptr(GHashTable) known = NULL;
  GHashTableIter iter;
  gpointer key, value;

  if (dir == NULL)
    return;
  known = charta_test_read_known_invalid (dir);
  g_assert_cmpuint (g_hash_table_size (known), ==, G_N_ELEMENTS (known_expectations));

  g_hash_table_iter_init (&iter, known);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *file = key, *reason = value;
      g_autofree char *path = g_build_filename (dir, file, NULL);
      g_autofree char *parse_error = NULL;
      g_autofree char *errors = NULL;
      gboolean valid, found = FALSE;
      g_autoptr(ChartaOutcome) outcome = NULL;

      for (unsigned i = 0; i < G_N_ELEMENTS (known_expectations); i++)
        {
          if (strcmp (known_expectations[i].file, file) != 0)
            continue;
          found = TRUE;
          /* the table follows the list's reason */
          g_assert_nonnull (strstr (reason, known_expectations[i].reason_word));
          outcome = validate_file (path, &valid, &parse_error);
          g_assert_null (parse_error);
          errors = outcome_errors (outcome);
          g_test_message ("%s (%s):\n%s", file, reason, errors);
          g_assert_false (valid);
          g_assert_true (has_error_v (outcome, known_expectations[i].code,
                                      known_expectations[i].needles));
        }
      if (!found)
        g_test_message ("KNOWN-INVALID.txt lists %s, which the test has no expectation for", file);
      g_assert_true (found);
    }
}

/* Invariants that our FHIRPath engine may not evaluate, each with why it is acceptable. */
static const char *const allowed_skips[] = {
  NULL,
};

static void
test_skipped_invariants (void)
{
  unsigned n = charta_validate_compile_all_invariants ();
  g_auto(GStrv) skipped = charta_validate_dup_skipped_invariants ();
  unsigned n_skipped = g_strv_length (skipped);

  g_test_message ("%u invariants (ele-1 aside; txt-1/txt-2 checked natively), %u skipped", n,
                  n_skipped);
  for (unsigned i = 0; i < n_skipped; i++)
    {
      gboolean allowed = FALSE;

      g_test_message ("skipped: %s", skipped[i]);
      for (unsigned k = 0; allowed_skips[k] != NULL && !allowed; k++)
        allowed = g_str_has_prefix (skipped[i], allowed_skips[k])
                  && skipped[i][strlen (allowed_skips[k])] == ':';
      if (!allowed)
        g_test_message ("invariant skipped but not in the allowed list: %s", skipped[i]);
      g_assert_true (allowed);
    }
  g_assert_cmpuint (n, >, 400);
  g_assert_cmpuint (n_skipped, <=, 10);

  {
    g_auto(GStrv) errata = charta_validate_dup_errata ();

    for (unsigned i = 0; errata[i] != NULL; i++)
      g_test_message ("erratum: %s", errata[i]);
    g_assert_cmpuint (g_strv_length (errata), <=, 5);
  }
}

/* ---- primitive checkers against the definitions' regexes ------------------------------------ */

static const struct
{
  const char *type;
  const char *value;
  gboolean valid;
} primitive_cases[] = {
  { "date", "1970", TRUE },
  { "date", "1970-01", TRUE },
  { "date", "1970-01-31", TRUE },
  { "date", "2000-02-29", TRUE },
  { "date", "1900-02-29", FALSE }, /* regex allows it, calendar does not */
  { "date", "1970-02-30", FALSE },
  { "date", "1970-04-31", FALSE },
  { "date", "1970-13-01", FALSE },
  { "date", "1970-00", FALSE },
  { "date", "0000", FALSE },
  { "date", "70-01-01", FALSE },
  { "date", "1970-1-1", FALSE },
  { "date", "1970-01-01T10:00:00Z", FALSE },
  { "date", "", FALSE },
  { "dateTime", "2015", TRUE },
  { "dateTime", "2015-02-07T13:28:17-05:00", TRUE },
  { "dateTime", "2015-02-07T13:28:17.239+02:00", TRUE },
  { "dateTime", "2017-01-01T00:00:00.000Z", TRUE },
  { "dateTime", "2015-02-07T13:28:17", FALSE },
  { "dateTime", "2015-02-07T13:28Z", FALSE },
  { "dateTime", "2015-02-07T24:00:00Z", FALSE },
  { "dateTime", "2015-02-07T13:28:17+15:00", FALSE },
  { "dateTime", "2015-02-07T13:28:17+14:30", FALSE },
  { "dateTime", "2015-02-07 13:28:17Z", FALSE },
  { "dateTime", "2015-02-30T13:28:17Z", FALSE },
  { "dateTime", "2015-02-07T13:28:17.Z", FALSE },
  { "instant", "2015-02-07T13:28:17.239+02:00", TRUE },
  { "instant", "2015-02-07T13:28:17Z", TRUE },
  { "instant", "2015-02-07", FALSE },
  { "instant", "2015-02-07T13:28:17", FALSE },
  { "instant", "2015-02-07T13:28Z", FALSE },
  { "time", "13:28:17", TRUE },
  { "time", "13:28:17.5", TRUE },
  { "time", "13:28", FALSE },
  { "time", "25:00:00", FALSE },
  { "time", "13:28:17Z", FALSE },
  { "code", "final", TRUE },
  { "code", "a b", TRUE },
  { "code", " a", FALSE },
  { "code", "a ", FALSE },
  { "code", "a  b", FALSE },
  { "code", "", FALSE },
  { "id", "a-b.C9", TRUE },
  { "id", "a_b", FALSE },
  { "id", "", FALSE },
  { "id", "0123456789012345678901234567890123456789012345678901234567890123", TRUE },
  { "id", "01234567890123456789012345678901234567890123456789012345678901234", FALSE },
  { "uri", "http://example.org/a", TRUE },
  { "uri", "urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7", TRUE },
  { "uri", "http://example.org/a b", FALSE },
  { "url", "http://example.org/a\tb", FALSE },
  { "canonical", "http://example.org/a|1.0", TRUE },
  { "canonical", "", FALSE },
  { "oid", "urn:oid:1.2.3.4", TRUE },
  { "oid", "urn:oid:1.02", FALSE },
  { "oid", "1.2.3", FALSE },
  { "uuid", "urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7", TRUE },
  { "uuid", "urn:uuid:53FEFA32-fcbb-4ff8-8a92-55ee120877b7", FALSE },
  { "uuid", "53fefa32-fcbb-4ff8-8a92-55ee120877b7", FALSE },
  { "base64Binary", "aGVsbG8=", TRUE },
  { "base64Binary", "aGVsbG8h", TRUE },
  { "base64Binary", "aGVs bG8=", FALSE }, /* regex allows whitespace; R4 JSON does not */
  { "base64Binary", "aGVsbG8\n", FALSE },
  { "base64Binary", "aGVsbG8", FALSE },
  { "base64Binary", "aGV=bG8h", FALSE },
  { "base64Binary", "aGVsbG8*", FALSE },
  { "string", "x", TRUE },
  { "string", "  padded\ttext\r\n", TRUE },
  { "string", "", FALSE },
  { "string", "form\ffeed", FALSE },
  { "markdown", "# title", TRUE },
  { "markdown", "", FALSE },
  { "xhtml", "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>x &amp; y<br/></p></div>", TRUE },
  { "xhtml", "<p>x</p>", FALSE },
  { "xhtml", "<div><p>x</div>", FALSE },
  { "xhtml", "<div>x</div><div>y</div>", FALSE },
  { "xhtml", "<div a=b>x</div>", FALSE },
  { "xhtml", "<div>x</div>", FALSE }, /* no XHTML namespace */
  { "xhtml", "<div xmlns=\"http://www.w3.org/1999/xhtml\"/>", TRUE },
};

static void
test_primitive_checkers (void)
{
  for (unsigned i = 0; i < G_N_ELEMENTS (primitive_cases); i++)
    {
      const char *type = primitive_cases[i].type;
      const char *value = primitive_cases[i].value;
      g_autofree char *reason = NULL;
      gboolean ok = charta_validate_check_primitive_string (type, value, &reason);
      const ChartaTypeDef *def = charta_model_lookup_type (type);

      if (ok != primitive_cases[i].valid)
        g_test_message ("%s \"%s\": expected %s, got %s (%s)", type, value,
                        primitive_cases[i].valid ? "valid" : "invalid", ok ? "valid" : "invalid",
                        reason ? reason : "");
      g_assert_cmpint (ok, ==, primitive_cases[i].valid);

      /* whatever the definition's regex rejects, the checker rejects too */
      g_assert_nonnull (def);
      if (def->regex != NULL)
        {
          g_autofree char *anchored = g_strdup_printf ("\\A(?:%s)\\z", def->regex);
          g_autoptr(GRegex) regex = g_regex_new (anchored, 0, 0, NULL);

          g_assert_nonnull (regex);
          if (!g_regex_match (regex, value, 0, NULL))
            g_assert_false (ok);
        }
    }
  g_assert_false (charta_validate_check_primitive_string ("HumanName", "x", NULL));
}

/* ---- rules ---------------------------------------------------------------------------------- */

static void
test_valid_resources (void)
{
  assert_valid ("{\"resourceType\":\"Patient\"}");
  assert_valid ("{\"resourceType\":\"Patient\",\"id\":\"p1\",\"active\":true,"
                "\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Peter\",\"James\"]}],"
                "\"gender\":\"male\",\"birthDate\":\"1974-12-25\","
                "\"_birthDate\":{\"extension\":[{\"url\":\"http://hl7.org/fhir/StructureDefinition/patient-birthTime\","
                "\"valueDateTime\":\"1974-12-25T14:35:45-05:00\"}]},"
                "\"multipleBirthInteger\":2,"
                "\"text\":{\"status\":\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">Peter</div>\"}}");
  /* primitive arrays with parallel "_" arrays and nulls */
  assert_valid ("{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"A\",null],"
                "\"_given\":[null,{\"extension\":[{\"url\":\"http://x\",\"valueString\":\"B\"}]}]}]}");
  /* "_" alone: an element with extensions and no value */
  assert_valid ("{\"resourceType\":\"Patient\",\"_birthDate\":{\"extension\":[{\"url\":\"http://hl7.org/fhir/StructureDefinition/data-absent-reason\",\"valueCode\":\"unknown\"}]}}");
  assert_valid ("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
                "\"valueQuantity\":{\"value\":1.50,\"unit\":\"mg\"}}");
  /* contained, referenced */
  assert_valid ("{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Organization\",\"id\":\"o1\",\"name\":\"X\"}],"
                "\"managingOrganization\":{\"reference\":\"#o1\"}}");
  /* a Bundle with entries */
  assert_valid ("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
                "{\"fullUrl\":\"urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7\",\"resource\":{\"resourceType\":\"Patient\",\"birthDate\":\"2000\"}}]}");
}

static void
test_unknown_element (void)
{
  assert_invalid ("{\"resourceType\":\"Patient\",\"foo\":1}", "structure",
                  "Patient.foo: ", "unknown element");
  assert_invalid ("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"X\",\"nickname\":\"Y\"}]}",
                  "structure", "Patient.name[0].nickname: ", "unknown element");
  /* resourceType is only for resources */
  assert_invalid ("{\"resourceType\":\"Patient\",\"name\":[{\"resourceType\":\"HumanName\",\"family\":\"X\"}]}",
                  "structure", "Patient.name[0].resourceType: ", "unknown element");
  /* "_x" for a complex element */
  assert_invalid ("{\"resourceType\":\"Patient\",\"_name\":[{\"id\":\"a\"}]}", "structure",
                  "Patient._name: ", "unknown element");
}

/* One wrong JSON type per primitive type: the path and the value are named. */
static const struct
{
  const char *type;
  const char *json;
  const char *needles[4];      /* NULL-terminated */
} wrong_types[] = {
  { "boolean", "{\"resourceType\":\"Patient\",\"active\":\"true\"}",
    { "Patient.active: \"true\" is not a boolean" } },
  { "integer", "{\"resourceType\":\"Patient\",\"multipleBirthInteger\":\"2\"}",
    { "Patient.multipleBirthInteger: \"2\" is not a number" } },
  { "string", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":5}]}",
    { "Patient.name[0].family: 5 is not a string" } },
  { "decimal", "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},\"valueQuantity\":{\"value\":\"1.5\"}}",
    { "Observation.valueQuantity.value: \"1.5\" is not a number" } },
  { "uri", "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":true}]}",
    { "Patient.identifier[0].system: true is not a string" } },
  { "url", "{\"resourceType\":\"Patient\",\"photo\":[{\"url\":3}]}",
    { "Patient.photo[0].url: 3 is not a string" } },
  { "canonical", "{\"resourceType\":\"Patient\",\"meta\":{\"profile\":[7]}}",
    { "Patient.meta.profile[0]: 7 is not a string" } },
  { "base64Binary", "{\"resourceType\":\"Patient\",\"photo\":[{\"data\":12}]}",
    { "Patient.photo[0].data: 12 is not a string" } },
  { "instant", "{\"resourceType\":\"Patient\",\"meta\":{\"lastUpdated\":2020}}",
    { "Patient.meta.lastUpdated: 2020 is not a string" } },
  { "date", "{\"resourceType\":\"Patient\",\"birthDate\":19700101}",
    { "Patient.birthDate: 19700101 is not a string" } },
  { "dateTime", "{\"resourceType\":\"Patient\",\"deceasedDateTime\":false}",
    { "Patient.deceasedDateTime: false is not a string" } },
  { "time", "{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\",\"valueTime\":1200}]}",
    { "Patient.extension[0].valueTime: 1200 is not a string" } },
  { "code", "{\"resourceType\":\"Patient\",\"gender\":1}",
    { "Patient.gender: 1 is not a string" } },
  { "oid", "{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\",\"valueOid\":5}]}",
    { "Patient.extension[0].valueOid: 5 is not a string" } },
  { "id", "{\"resourceType\":\"Patient\",\"id\":5}", { "Patient.id: 5 is not a string" } },
  { "markdown", "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},\"note\":[{\"text\":[\"a\"]}]}",
    { "Observation.note[0].text: ", "an array" } },
  { "unsignedInt", "{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\",\"valueUnsignedInt\":\"1\"}]}",
    { "Patient.extension[0].valueUnsignedInt: \"1\" is not a number" } },
  { "positiveInt", "{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\",\"valuePositiveInt\":{\"value\":1}}]}",
    { "Patient.extension[0].valuePositiveInt: ", "an object" } },
  { "uuid", "{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\",\"valueUuid\":1}]}",
    { "Patient.extension[0].valueUuid: 1 is not a string" } },
  { "xhtml", "{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":1}}",
    { "Patient.text.div: 1 is not a string" } },
};

static void
test_wrong_json_types (void)
{
  for (unsigned i = 0; i < G_N_ELEMENTS (wrong_types); i++)
    {
      g_test_message ("%s", wrong_types[i].type);
      assert_invalid_impl (wrong_types[i].json, "structure", wrong_types[i].needles);
    }
  /* a number for a string everywhere, and strings for numbers, in one resource */
  assert_invalid ("{\"resourceType\":\"Patient\",\"active\":1}", "structure",
                  "Patient.active: 1 is not a boolean");
}

static void
test_bad_formats (void)
{
  assert_invalid ("{\"resourceType\":\"Patient\",\"birthDate\":\"1970-13-01\"}", "value",
                  "Patient.birthDate: \"1970-13-01\" is not a valid date");
  assert_invalid ("{\"resourceType\":\"Patient\",\"birthDate\":\"1970-02-30\"}", "value",
                  "Patient.birthDate: \"1970-02-30\" is not a valid date");
  assert_invalid ("{\"resourceType\":\"Patient\",\"deceasedDateTime\":\"2015-02-07T13:28:17\"}",
                  "value", "Patient.deceasedDateTime: \"2015-02-07T13:28:17\" is not a valid dateTime",
                  "time zone");
  assert_invalid ("{\"resourceType\":\"Patient\",\"meta\":{\"lastUpdated\":\"2015-02-07\"}}", "value",
                  "Patient.meta.lastUpdated: \"2015-02-07\" is not a valid instant");
  assert_invalid ("{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\",\"valueTime\":\"25:00:00\"}]}",
                  "value", "Patient.extension[0].valueTime: \"25:00:00\" is not a valid time");
  assert_invalid ("{\"resourceType\":\"Patient\",\"multipleBirthInteger\":1.0}", "value",
                  "Patient.multipleBirthInteger: 1.0 is not a valid integer");
  assert_invalid ("{\"resourceType\":\"Patient\",\"multipleBirthInteger\":2147483648}", "value",
                  "Patient.multipleBirthInteger: 2147483648 is out of range");
  assert_valid ("{\"resourceType\":\"Patient\",\"multipleBirthInteger\":-2147483648}");
  assert_invalid ("{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\",\"valueUnsignedInt\":-1}]}",
                  "value", "Patient.extension[0].valueUnsignedInt: -1 is not a valid unsignedInt");
  assert_invalid ("{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\",\"valuePositiveInt\":0}]}",
                  "value", "Patient.extension[0].valuePositiveInt: 0 is not a valid positiveInt");
  assert_invalid ("{\"resourceType\":\"Patient\",\"id\":\"a_b\"}", "value",
                  "Patient.id: \"a_b\" is not a valid id");
  assert_invalid ("{\"resourceType\":\"Patient\",\"gender\":\" male\"}", "value",
                  "Patient.gender: \" male\" is not a valid code");
  assert_invalid ("{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"http://a b\"}]}", "value",
                  "Patient.identifier[0].system: \"http://a b\" is not a valid uri");
  assert_invalid ("{\"resourceType\":\"Patient\",\"photo\":[{\"data\":\"aGVs\\nbG8h\"}]}", "value",
                  "Patient.photo[0].data: \"aGVs\\nbG8h\" is not a valid base64Binary");
  assert_invalid ("{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\",\"valueOid\":\"1.2.3\"}]}",
                  "value", "Patient.extension[0].valueOid: \"1.2.3\" is not a valid oid");
  assert_invalid ("{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\",\"valueUuid\":\"urn:uuid:X\"}]}",
                  "value", "Patient.extension[0].valueUuid: \"urn:uuid:X\" is not a valid uuid");
  assert_invalid ("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"\"}]}", "value",
                  "Patient.name[0].family: \"\" is not a valid string");
  assert_invalid ("{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":\"<p>x</p>\"}}",
                  "value", "Patient.text.div: \"<p>x</p>\" is not a valid xhtml");
  assert_invalid ("{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\"><script>x</script></div>\"}}",
                  "invariant", "Patient.text.div: ", "txt-1");
  /* long values are shortened in messages */
  {
    g_autoptr(GString) json = g_string_new ("{\"resourceType\":\"Patient\",\"photo\":[{\"data\":\"");
    for (unsigned i = 0; i < 1000; i++)
      g_string_append (json, "QUJD");
    g_string_append (json, "=\"}]}");
    assert_invalid (json->str, "value", "Patient.photo[0].data: \"QUJDQUJD", "…\" (4001 bytes)");
  }
}

static void
test_cardinality (void)
{
  /* min */
  assert_invalid ("{\"resourceType\":\"Observation\",\"code\":{\"text\":\"x\"}}", "required",
                  "Observation.status: required element is missing");
  assert_invalid ("{\"resourceType\":\"Patient\",\"link\":[{\"type\":\"seealso\"}]}", "required",
                  "Patient.link[0].other: required element is missing");
  assert_invalid ("{\"resourceType\":\"Patient\",\"extension\":[{\"valueString\":\"x\"}]}", "required",
                  "Patient.extension[0].url: required element is missing");
  /* a primitive with only an extension is present */
  assert_valid ("{\"resourceType\":\"Observation\",\"_status\":{\"extension\":[{\"url\":\"http://x\",\"valueString\":\"y\"}]},"
                "\"code\":{\"text\":\"x\"}}");
  /* max: an array for a single element, a non-array for a repeating one */
  assert_invalid ("{\"resourceType\":\"Patient\",\"birthDate\":[\"1970-01-01\"]}", "structure",
                  "Patient.birthDate: ", "an array is not allowed");
  assert_invalid ("{\"resourceType\":\"Patient\",\"name\":{\"family\":\"X\"}}", "structure",
                  "Patient.name: an object is not an array");
  assert_invalid ("{\"resourceType\":\"Patient\",\"name\":[{\"given\":\"X\"}]}", "structure",
                  "Patient.name[0].given: \"X\" is not an array");
  /* two types of one choice */
  assert_invalid ("{\"resourceType\":\"Patient\",\"deceasedBoolean\":true,\"deceasedDateTime\":\"2020\"}",
                  "structure", "deceased[x] may have only one value");
}

static void
test_required_binding (void)
{
  assert_invalid ("{\"resourceType\":\"Patient\",\"gender\":\"unknownx\"}", "code-invalid",
                  "Patient.gender: \"unknownx\" is not a code of the value set",
                  "http://hl7.org/fhir/ValueSet/administrative-gender");
  assert_invalid ("{\"resourceType\":\"Observation\",\"status\":\"done\",\"code\":{\"text\":\"x\"}}",
                  "code-invalid", "Observation.status: \"done\"", "observation-status");
  /* in an array */
  assert_invalid ("{\"resourceType\":\"Patient\",\"contact\":[{\"name\":{\"family\":\"X\"},\"gender\":\"boy\"}]}",
                  "code-invalid", "Patient.contact[0].gender: \"boy\"");
  /* CodeableConcept: a coding from the value set's system must be one of its codes */
#define CONDITION(status) \
  "{\"resourceType\":\"Condition\",\"subject\":{\"reference\":\"Patient/1\"},\"clinicalStatus\":" status "}"
  assert_invalid (CONDITION ("{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/condition-clinical\",\"code\":\"bogus\"}]}"),
                  "code-invalid", "Condition.clinicalStatus: \"bogus\" is not a code of the value set",
                  "condition-clinical");
  assert_valid (CONDITION ("{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/condition-clinical\",\"code\":\"active\"}]}"));
  /* beside another system's coding, or with that one only, the bound coding decides */
  assert_valid (CONDITION ("{\"coding\":[{\"system\":\"http://snomed.info/sct\",\"code\":\"55561003\"},"
                           "{\"system\":\"http://terminology.hl7.org/CodeSystem/condition-clinical\",\"code\":\"active\"}]}"));
#undef CONDITION
}

static void
test_choice_suffix (void)
{
  assert_invalid ("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},\"valueFoo\":1}",
                  "structure", "Observation.valueFoo: ", "unknown element", "value[x]");
  assert_invalid ("{\"resourceType\":\"Patient\",\"deceasedString\":\"x\"}", "structure",
                  "Patient.deceasedString: ", "unknown element", "deceasedBoolean");
  /* lower-case type suffix is not a choice name */
  assert_invalid ("{\"resourceType\":\"Patient\",\"deceasedboolean\":true}", "structure",
                  "Patient.deceasedboolean: ", "unknown element");
}

static void
test_contained (void)
{
  assert_invalid ("{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Organization\",\"name\":\"X\"}]}",
                  "required", "Patient.contained[0]: ", "needs an id");
  assert_invalid ("{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Foo\",\"id\":\"a\"}]}",
                  "structure", "Patient.contained[0]: ", "\"Foo\" is not an R4 resource type");
  assert_invalid ("{\"resourceType\":\"Patient\",\"contained\":[{\"id\":\"a\"}]}",
                  "structure", "Patient.contained[0]: ", "resourceType");
  assert_invalid ("{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"DomainResource\",\"id\":\"a\"}]}",
                  "structure", "Patient.contained[0]: ", "abstract");
  /* checked inside like any resource */
  assert_invalid ("{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Patient\",\"id\":\"a\",\"birthDate\":\"x\"}],"
                  "\"link\":[{\"other\":{\"reference\":\"#a\"},\"type\":\"seealso\"}]}",
                  "value", "Patient.contained[0].birthDate: \"x\" is not a valid date");
  /* Bundle entries: paths name the entry */
  assert_invalid ("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"resource\":{\"resourceType\":\"Patient\"}},"
                  "{\"resource\":{\"resourceType\":\"Patient\",\"birthDate\":\"1970-13-01\"}}]}",
                  "value", "Bundle.entry[1].resource.birthDate: \"1970-13-01\" is not a valid date");
}

static void
test_extensions (void)
{
  assert_invalid ("{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\",\"valueString\":\"a\","
                  "\"extension\":[{\"url\":\"http://y\",\"valueString\":\"b\"}]}]}",
                  "invariant", "Patient.extension[0]: ", "ext-1");
  assert_invalid ("{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\"}]}",
                  "invariant", "Patient.extension[0]: ", "ext-1");
  assert_invalid ("{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\",\"valueFoo\":\"a\"}]}",
                  "structure", "Patient.extension[0].valueFoo: ", "unknown element");
  assert_invalid ("{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://x\",\"valueString\":\"a\",\"valueCode\":\"b\"}]}",
                  "structure", "value[x] may have only one value");
}

static void
test_primitive_extensions (void)
{
  /* misaligned */
  assert_invalid ("{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"A\",\"B\"],\"_given\":[null]}]}",
                  "structure", "Patient.name[0]._given: ", "same length");
  /* null without an extension beside it */
  assert_invalid ("{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"A\",null]}]}",
                  "structure", "Patient.name[0].given[1]: null is only allowed");
  assert_invalid ("{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"A\",null],\"_given\":[null,null]}]}",
                  "structure", "Patient.name[0].given[1]: null is only allowed");
  /* "_x" must be an object, and only id/extension */
  assert_invalid ("{\"resourceType\":\"Patient\",\"birthDate\":\"1970\",\"_birthDate\":\"x\"}",
                  "structure", "Patient._birthDate: \"x\" is not an object");
  assert_invalid ("{\"resourceType\":\"Patient\",\"birthDate\":\"1970\",\"_birthDate\":{\"value\":\"x\"}}",
                  "structure", "Patient._birthDate.value: ", "unknown element");
  assert_invalid ("{\"resourceType\":\"Patient\",\"_birthDate\":{\"id\":\"a\"}}",
                  "structure", "Patient._birthDate: ", "ele-1");
  assert_invalid ("{\"resourceType\":\"Patient\",\"_birthDate\":{\"extension\":[{\"url\":\"http://x\"}]}}",
                  "invariant", "Patient._birthDate.extension[0]: ", "ext-1");
  /* an unknown "_x" */
  assert_invalid ("{\"resourceType\":\"Patient\",\"_foo\":{\"id\":\"a\"}}", "structure",
                  "Patient._foo: ", "unknown element");
}

static void
test_empty_and_null (void)
{
  assert_invalid ("{\"resourceType\":\"Patient\",\"name\":[{}]}", "structure",
                  "Patient.name[0]: an empty object is not allowed");
  assert_invalid ("{\"resourceType\":\"Patient\",\"name\":[]}", "structure",
                  "Patient.name: an empty array is not allowed");
  assert_invalid ("{\"resourceType\":\"Patient\",\"birthDate\":null}", "structure",
                  "Patient.birthDate: null is not allowed");
  assert_invalid ("{\"resourceType\":\"Patient\",\"name\":[null]}", "structure",
                  "Patient.name[0]: null is not allowed");
  assert_invalid ("{\"resourceType\":\"Patient\",\"maritalStatus\":{\"id\":\"x\"}}", "structure",
                  "Patient.maritalStatus: ", "ele-1");
}

static void
test_invariants (void)
{
  assert_invalid ("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
                  "\"valueString\":\"a\",\"dataAbsentReason\":{\"text\":\"b\"}}",
                  "invariant", "Observation: constraint obs-6 failed", "dataAbsentReason");
  assert_invalid ("{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Organization\",\"id\":\"o1\",\"name\":\"X\"}]}",
                  "invariant", "Patient: constraint dom-3 failed");
  assert_invalid ("{\"resourceType\":\"RiskAssessment\",\"status\":\"final\",\"subject\":{\"reference\":\"Patient/1\"},"
                  "\"prediction\":[{\"probabilityDecimal\":101}]}",
                  "invariant", "RiskAssessment.prediction[0]: constraint ras-2 failed", "<= 100");
  assert_valid ("{\"resourceType\":\"RiskAssessment\",\"status\":\"final\",\"subject\":{\"reference\":\"Patient/1\"},"
                "\"prediction\":[{\"probabilityDecimal\":99}]}");
  assert_invalid ("{\"resourceType\":\"Patient\",\"contact\":[{\"gender\":\"male\"}]}",
                  "invariant", "Patient.contact[0]: constraint pat-1 failed");
  assert_valid ("{\"resourceType\":\"Patient\",\"contact\":[{\"name\":{\"family\":\"X\"}}]}");
}

static void
test_warnings (void)
{
  gboolean valid;
  /* dom-6 (a resource should have narrative) is a warning: reported, not failing */
  g_autoptr(ChartaOutcome) outcome = validate_text ("{\"resourceType\":\"Patient\"}", &valid);
  gboolean found = FALSE;

  g_assert_true (valid);
  for (unsigned i = 0; i < charta_outcome_get_n_issues (outcome); i++)
    {
      const ChartaIssue *issue = charta_outcome_get_issue (outcome, i);

      if (issue->severity == CHARTA_ISSUE_WARNING && strstr (issue->diagnostics, "dom-6") != NULL)
        found = TRUE;
    }
  g_assert_true (found);
}

static void
test_many_errors (void)
{
  const char *json =
    "{\"resourceType\":\"Patient\",\"id\":\"bad id\",\"active\":\"yes\",\"foo\":1,"
    "\"name\":[{\"family\":5,\"given\":[\"A\",7]}],\"gender\":\"boy\",\"birthDate\":\"1970-02-30\","
    "\"contact\":[{\"gender\":\"male\"}],\"link\":[{\"type\":\"seealso\"}]}";
  gboolean valid;
  g_autoptr(ChartaOutcome) outcome = validate_text (json, &valid);
  g_autofree char *errors = outcome_errors (outcome);
  static const struct
  {
    const char *code;
    const char *needle;
  } expected[] = {
    { "value", "Patient.id: \"bad id\"" },
    { "structure", "Patient.active: \"yes\"" },
    { "structure", "Patient.foo: " },
    { "structure", "Patient.name[0].family: 5" },
    { "structure", "Patient.name[0].given[1]: 7" },
    { "code-invalid", "Patient.gender: \"boy\"" },
    { "value", "Patient.birthDate: \"1970-02-30\"" },
    { "invariant", "Patient.contact[0]: constraint pat-1" },
    { "required", "Patient.link[0].other: " },
  };
  GError *error = NULL;
  g_autoptr(ChartaResource) resource = charta_resource_new_from_data (json, strlen (json), NULL, NULL);

  g_test_message ("%s", errors);
  g_assert_false (valid);
  for (unsigned i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_true (has_error_v (outcome, expected[i].code,
                                (const char *const[]) { expected[i].needle, NULL }));
  g_assert_cmpuint (charta_outcome_count_errors (outcome), ==, G_N_ELEMENTS (expected));

  /* charta_validate(): the same errors, one per line, in one GError */
  g_assert_false (charta_validate (resource, &error));
  g_assert_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID);
  for (unsigned i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_nonnull (strstr (error->message, expected[i].needle));
  {
    g_auto(GStrv) lines = g_strsplit (error->message, "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (expected));
  }
  g_clear_error (&error);
}

/* Each error issue names its element in `expression`, a FHIRPath from the resource type down
 * (what a server puts into OperationOutcome.issue.expression): the expected paths are read off
 * each resource by hand, array positions counted from 0. */
static void
test_expressions (void)
{
  static const struct
  {
    const char *json;
    const char *expressions;  /* of the error issues, in order, joined with spaces */
  } cases[] = {
    /* a string where a decimal (a JSON number) must be */
    { "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
      "\"valueQuantity\":{\"value\":\"1.5\"}}",
      "Observation.valueQuantity.value" },
    /* the second given name of the first name is a number */
    { "{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"A\",7]}]}",
      "Patient.name[0].given[1]" },
    /* an element HumanName lacks, in the second name */
    { "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"X\"},{\"nickname\":\"Y\"}]}",
      "Patient.name[1].nickname" },
    /* a code outside a required binding, in the first contact (which has a name: pat-1 holds) */
    { "{\"resourceType\":\"Patient\",\"contact\":[{\"name\":{\"family\":\"X\"},"
      "\"gender\":\"boy\"}]}",
      "Patient.contact[0].gender" },
    /* a required element missing: Observation.status (1..1); code is there */
    { "{\"resourceType\":\"Observation\",\"code\":{\"text\":\"x\"}}", "Observation.status" },
    /* two problems, in document order */
    { "{\"resourceType\":\"Patient\",\"active\":\"yes\",\"birthDate\":\"1970-02-30\"}",
      "Patient.active Patient.birthDate" },
    /* inside a Bundle: from the Bundle down through entry[1].resource */
    { "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
      "{\"resource\":{\"resourceType\":\"Patient\"}},"
      "{\"resource\":{\"resourceType\":\"Patient\",\"gender\":\"boy\"}}]}",
      "Bundle.entry[1].resource.gender" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gboolean valid;
      g_autoptr(ChartaOutcome) outcome = validate_text (cases[i].json, &valid);
      g_autoptr(GString) found = g_string_new (NULL);

      for (unsigned k = 0; k < charta_outcome_get_n_issues (outcome); k++)
        {
          const ChartaIssue *issue = charta_outcome_get_issue (outcome, k);

          if (issue->severity != CHARTA_ISSUE_ERROR)
            continue;
          /* the message starts with the same path */
          g_assert_nonnull (issue->expression);
          g_assert_true (g_str_has_prefix (issue->diagnostics, issue->expression));
          g_assert_cmpint (issue->diagnostics[strlen (issue->expression)], ==, ':');
          if (found->len > 0)
            g_string_append_c (found, ' ');
          g_string_append (found, issue->expression);
        }
      g_test_message ("case %zu", i);
      g_assert_false (valid);
      g_assert_cmpstr (found->str, ==, cases[i].expressions);
    }
}

/* The issues of @path as one string, for comparing two runs. */
static char *
issues_of_file (const char *path)
{
  g_autofree char *parse_error = NULL;
  gboolean valid;
  g_autoptr(ChartaOutcome) outcome = validate_file (path, &valid, &parse_error);

  if (parse_error != NULL)
    return g_strdup (parse_error);
  return outcome_errors (outcome);
}

/* The native checks of hot invariants agree with FHIRPath on every corpus file (valid or not)
 * and on the Synthea bundles (contained resources in every ExplanationOfBenefit). */
static void
test_native_checks_agree (void)
{
  g_autofree char *dir = charta_test_corpus_path ("r4-examples");
  g_autofree char *synthea = charta_test_corpus_path ("synthea");
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) examples = NULL;
  g_autoptr(GPtrArray) bundles = NULL;
  unsigned n_differ = 0, n_issues = 0;

  if (dir == NULL)
    return;
  examples = charta_test_list_json_files (dir, NULL);
  for (unsigned i = 0; i < examples->len; i++)
    g_ptr_array_add (paths, g_build_filename (dir, examples->pdata[i], NULL));
  bundles = charta_test_list_json_files (synthea, NULL);
  for (unsigned i = 0, n = 0; i < bundles->len && n < 5; i++)
    if (charta_test_is_synthea_patient (bundles->pdata[i]))
      {
        g_ptr_array_add (paths, g_build_filename (synthea, bundles->pdata[i], NULL));
        n++;
      }

  for (unsigned i = 0; i < paths->len; i++)
    {
      g_autofree char *with_native = NULL, *without = NULL;

      charta_validate_set_native_checks (TRUE);
      with_native = issues_of_file (paths->pdata[i]);
      charta_validate_set_native_checks (FALSE);
      without = issues_of_file (paths->pdata[i]);
      n_issues += strlen (without) > 0;
      if (strcmp (with_native, without) != 0)
        {
          g_test_message ("%s:\nnative:\n%s\nFHIRPath only:\n%s", (char *) paths->pdata[i],
                          with_native, without);
          n_differ++;
        }
    }
  charta_validate_set_native_checks (TRUE);
  g_test_message ("%u files compared, %u with issues, %u differ", paths->len, n_issues, n_differ);
  g_assert_cmpuint (paths->len, >, 730);
  g_assert_cmpuint (n_differ, ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/charta/fhir/validate/primitive-checkers", test_primitive_checkers);
  g_test_add_func ("/charta/fhir/validate/valid", test_valid_resources);
  g_test_add_func ("/charta/fhir/validate/unknown-element", test_unknown_element);
  g_test_add_func ("/charta/fhir/validate/wrong-json-type", test_wrong_json_types);
  g_test_add_func ("/charta/fhir/validate/bad-format", test_bad_formats);
  g_test_add_func ("/charta/fhir/validate/cardinality", test_cardinality);
  g_test_add_func ("/charta/fhir/validate/required-binding", test_required_binding);
  g_test_add_func ("/charta/fhir/validate/choice-suffix", test_choice_suffix);
  g_test_add_func ("/charta/fhir/validate/contained", test_contained);
  g_test_add_func ("/charta/fhir/validate/extensions", test_extensions);
  g_test_add_func ("/charta/fhir/validate/primitive-extensions", test_primitive_extensions);
  g_test_add_func ("/charta/fhir/validate/empty-and-null", test_empty_and_null);
  g_test_add_func ("/charta/fhir/validate/invariants", test_invariants);
  g_test_add_func ("/charta/fhir/validate/warnings", test_warnings);
  g_test_add_func ("/charta/fhir/validate/many-errors", test_many_errors);
  g_test_add_func ("/charta/fhir/validate/expressions", test_expressions);
  g_test_add_func ("/charta/fhir/validate/corpus-valid", test_corpus_valid);
  g_test_add_func ("/charta/fhir/validate/corpus-known-invalid", test_corpus_known_invalid);
  g_test_add_func ("/charta/fhir/validate/skipped-invariants", test_skipped_invariants);
  g_test_add_func ("/charta/fhir/validate/native-checks-agree", test_native_checks_agree);

  return g_test_run ();
}
