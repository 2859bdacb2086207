/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-search-query.c: parsing FHIR R4 search query strings.
 *
 * Each search parameter type, modifier and prefix is parsed from a query string written by
 * hand and compared with the answer worked out by hand from search.html (dates as microsecond
 * ranges computed below, numbers with the range their written precision implies); then chains,
 * reverse chains, the result parameters, unknown parameters in lenient and strict handling,
 * every kind of error (its code, and that its message names the parameter and value), the
 * limits, the round trip through charta_search_query_to_string(), and a few thousand random
 * and hostile strings, each of which must give a query or an error with a message.
 */
#define G_LOG_DOMAIN "charta-test"

#include <string.h>

#include "charta-test-util.h"

/* Microseconds per second and day, and the instants used below, worked out by hand (and
 * checked with `date -u -d … +%s`):
 *   1971-01-01T00:00:00Z = 365 days × 86,400 s                 =     31,536,000 s
 *   1970-03-15T00:00:00Z = (31 + 28 + 14) = 73 days × 86,400 s  =      6,307,200 s
 *   2020-01-01T00:00:00Z = 50 years, 12 of them leap: 18,262 days = 1,577,836,800 s
 *   2020-02-01T00:00:00Z = 2020-01-01 + 31 days = 1,577,836,800 + 2,678,400 = 1,580,515,200 s
 *   2020-03-15T10:30:00+02:00 = 2020-03-15T08:30:00Z
 *                        = 18,262 + 31 + 29 + 14 = 18,336 days, + 30,600 s = 1,584,261,000 s */
#define US G_GINT64_CONSTANT (1000000)
#define DAY_US (G_GINT64_CONSTANT (86400) * US)

/* ---------------------------------------------------------------------------------------- */
/* Helpers. */

static ChartaSearchQuery *
parse_ok_flags (const char             *type,
                const char             *text,
                ChartaSearchQueryFlags  flags)
{
  g_autoptr(GError) error = NULL;
  ChartaSearchQuery *query = charta_search_query_parse (type, text, flags, &error);

  if (error != NULL)
    g_test_message ("%s?%s: %s", type != NULL ? type : "", text, error->message);
  g_assert_no_error (error);
  g_assert_nonnull (query);
  return query;
}

static ChartaSearchQuery *
parse_ok (const char *type,
          const char *text)
{
  return parse_ok_flags (type, text, CHARTA_SEARCH_QUERY_DEFAULT);
}

/* Parsing must fail with @code, and the message contain @needle and @needle2 (unless NULL). */
static void
expect_error_flags (const char             *type,
                    const char             *text,
                    ChartaSearchQueryFlags  flags,
                    int                     code,
                    const char             *needle,
                    const char             *needle2)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaSearchQuery) query = charta_search_query_parse (type, text, flags, &error);

  if (query != NULL)
    g_test_message ("%s?%s parsed, but should not have", type != NULL ? type : "", text);
  g_assert_null (query);
  g_assert_error (error, CHARTA_FHIR_ERROR, code);
  g_assert_cmpstr (error->message, !=, "");
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_test_message ("“%s” does not name “%s”", error->message, needle);
  if (needle != NULL)
    g_assert_nonnull (strstr (error->message, needle));
  if (needle2 != NULL && strstr (error->message, needle2) == NULL)
    g_test_message ("“%s” does not name “%s”", error->message, needle2);
  if (needle2 != NULL)
    g_assert_nonnull (strstr (error->message, needle2));
}

static void
expect_error (const char *type,
              const char *text,
              int         code,
              const char *needle,
              const char *needle2)
{
  expect_error_flags (type, text, CHARTA_SEARCH_QUERY_DEFAULT, code, needle, needle2);
}

/* The only clause of @query. */
static ChartaSearchClause *
only_clause (ChartaSearchQuery *query)
{
  g_assert_cmpuint (query->clauses->len, ==, 1);
  return query->clauses->pdata[0];
}

static ChartaSearchValue *
value_at (ChartaSearchClause *clause,
          unsigned            i)
{
  g_assert_nonnull (clause->values);
  g_assert_cmpuint (i, <, clause->values->len);
  return clause->values->pdata[i];
}

/* The only value of the only clause. */
static ChartaSearchValue *
only_value (ChartaSearchQuery *query)
{
  ChartaSearchClause *clause = only_clause (query);

  g_assert_cmpuint (clause->values->len, ==, 1);
  return clause->values->pdata[0];
}

/* ---------------------------------------------------------------------------------------- */
/* Types, modifiers and prefixes. */

static void
test_empty (void)
{
  g_autoptr(ChartaSearchQuery) a = parse_ok ("Patient", "");
  g_autoptr(ChartaSearchQuery) b = parse_ok ("Patient", NULL);
  g_autoptr(ChartaSearchQuery) c = parse_ok ("Patient", "&&&");
  g_autofree char *s = NULL;

  g_assert_cmpstr (a->resource_type, ==, "Patient");
  g_assert_cmpuint (a->clauses->len, ==, 0);
  g_assert_cmpuint (b->clauses->len, ==, 0);
  g_assert_cmpuint (c->clauses->len, ==, 0);
  g_assert_cmpuint (c->pairs->len, ==, 0);
  g_assert_cmpint (a->count, ==, -1);
  g_assert_null (a->cursor);
  g_assert_cmpuint (a->sort->len, ==, 0);
  g_assert_cmpint (a->total, ==, CHARTA_SEARCH_TOTAL_DEFAULT);
  g_assert_cmpint (a->summary, ==, CHARTA_SEARCH_SUMMARY_FALSE);
  g_assert_null (a->elements);
  g_assert_null (a->types);
  g_assert_cmpuint (a->includes->len, ==, 0);
  g_assert_cmpuint (a->unknown->len, ==, 0);
  s = charta_search_query_to_string (a);
  g_assert_cmpstr (s, ==, "");

  expect_error ("Patientx", "name=a", CHARTA_FHIR_ERROR_INVALID, "Patientx", NULL);
  expect_error ("Resource", "_id=a", CHARTA_FHIR_ERROR_INVALID, "Resource", NULL);
}

static void
test_string (void)
{
  g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "name=Peter");
  ChartaSearchClause *c = only_clause (q);
  ChartaSearchValue *v = only_value (q);

  g_assert_cmpstr (c->name, ==, "name");
  g_assert_nonnull (c->param);
  g_assert_cmpstr (c->param->code, ==, "name");
  g_assert_cmpint (c->param->type, ==, CHARTA_SEARCH_TYPE_STRING);
  g_assert_cmpstr (c->resource_type, ==, "Patient");
  g_assert_cmpint (c->modifier, ==, CHARTA_SEARCH_MODIFIER_NONE);
  g_assert_null (c->chain);
  g_assert_null (c->has);
  g_assert_cmpstr (v->text, ==, "Peter");
  g_assert_cmpstr (v->normalized, ==, "peter");
  g_assert_cmpint (v->prefix, ==, CHARTA_SEARCH_PREFIX_EQ);
  g_assert_null (v->code);

  {
    /* "Zoë" percent-encoded as UTF-8 (ë is C3 AB), '+' a space; normalised without accent. */
    g_autoptr(ChartaSearchQuery) q2 = parse_ok ("Patient", "family=Zo%C3%AB+van+Dijk");
    ChartaSearchValue *v2 = only_value (q2);

    g_assert_cmpstr (v2->text, ==, "Zoë van Dijk");
    g_assert_cmpstr (v2->normalized, ==, "zoe van dijk");
  }
  {
    /* %2B is a real '+'. */
    g_autoptr(ChartaSearchQuery) q2 = parse_ok ("Patient", "name=a%2Bb");

    g_assert_cmpstr (only_value (q2)->text, ==, "a+b");
  }
  {
    /* A prefix is no prefix on a string: "gtx" is the text. */
    g_autoptr(ChartaSearchQuery) q2 = parse_ok ("Patient", "given=gtx");
    ChartaSearchValue *v2 = only_value (q2);

    g_assert_cmpstr (v2->text, ==, "gtx");
    g_assert_cmpstr (v2->normalized, ==, "gtx");
    g_assert_cmpint (v2->prefix, ==, CHARTA_SEARCH_PREFIX_EQ);
  }
  {
    g_autoptr(ChartaSearchQuery) q2 = parse_ok ("Patient", "name:exact=Peter,Paul");
    ChartaSearchClause *c2 = only_clause (q2);

    g_assert_cmpint (c2->modifier, ==, CHARTA_SEARCH_MODIFIER_EXACT);
    g_assert_cmpuint (c2->values->len, ==, 2);
    g_assert_cmpstr (value_at (c2, 0)->text, ==, "Peter");
    g_assert_cmpstr (value_at (c2, 1)->text, ==, "Paul");
  }
  {
    g_autoptr(ChartaSearchQuery) q2 = parse_ok ("Patient", "name:contains=ete");

    g_assert_cmpint (only_clause (q2)->modifier, ==, CHARTA_SEARCH_MODIFIER_CONTAINS);
    g_assert_cmpstr (only_value (q2)->normalized, ==, "ete");
  }
  {
    /* A repeated parameter is two clauses (AND). */
    g_autoptr(ChartaSearchQuery) q2 = parse_ok ("Patient", "name=a&name=b");

    g_assert_cmpuint (q2->clauses->len, ==, 2);
    g_assert_cmpstr (value_at (q2->clauses->pdata[1], 0)->text, ==, "b");
  }
  {
    /* _text is a DomainResource string parameter, read like any string. */
    g_autoptr(ChartaSearchQuery) q2 = parse_ok ("Patient", "_text=Cardiology");
    ChartaSearchClause *c2 = only_clause (q2);

    g_assert_cmpstr (c2->param->code, ==, "_text");
    g_assert_cmpstr (c2->param->resource_type, ==, "DomainResource");
    g_assert_cmpstr (c2->resource_type, ==, "Patient");
    g_assert_cmpstr (value_at (c2, 0)->normalized, ==, "cardiology");
  }
  {
    g_autoptr(ChartaSearchQuery) q2 = parse_ok ("Observation", "_content=Heart");

    g_assert_cmpstr (only_clause (q2)->param->code, ==, "_content");
    g_assert_cmpstr (only_value (q2)->normalized, ==, "heart");
  }

  expect_error ("Patient", "name:text=x", CHARTA_FHIR_ERROR_INVALID, "name:text", "text");
  expect_error ("Patient", "name:below=x", CHARTA_FHIR_ERROR_INVALID, "name:below", "below");
}

static void
test_escapes (void)
{
  g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "name=a\\,b,c\\\\,d\\$e\\|f,g\\h");
  ChartaSearchClause *c = only_clause (q);

  /* "a\,b" one value "a,b"; "c\\" gives "c\"; "d\$e\|f" gives "d$e|f"; a '\' before
   * another character stays. */
  g_assert_cmpuint (c->values->len, ==, 4);
  g_assert_cmpstr (value_at (c, 0)->text, ==, "a,b");
  g_assert_cmpstr (value_at (c, 1)->text, ==, "c\\");
  g_assert_cmpstr (value_at (c, 2)->text, ==, "d$e|f");
  g_assert_cmpstr (value_at (c, 3)->text, ==, "g\\h");

  {
    g_autoptr(ChartaSearchQuery) q2 = parse_ok ("Patient", "name=d\\$e\\|f&name=g\\h");

    g_assert_cmpstr (value_at (q2->clauses->pdata[0], 0)->text, ==, "d$e|f");
    g_assert_cmpstr (value_at (q2->clauses->pdata[1], 0)->text, ==, "g\\h");
  }
  {
    /* An escaped '|' is part of the system; the code starts at the first unescaped one. */
    g_autoptr(ChartaSearchQuery) q2 = parse_ok ("Patient", "identifier=a\\|b|c%2Cd");
    ChartaSearchClause *c2 = only_clause (q2);

    /* %2C decodes to a ',' before the value is split: it separates values too. */
    g_assert_cmpuint (c2->values->len, ==, 2);
    g_assert_cmpstr (value_at (c2, 0)->system, ==, "a|b");
    g_assert_cmpstr (value_at (c2, 0)->code, ==, "c");
    g_assert_null (value_at (c2, 1)->system);
    g_assert_cmpstr (value_at (c2, 1)->code, ==, "d");
  }
  {
    g_autoptr(ChartaSearchQuery) q2 = parse_ok ("Patient", "identifier=x%5C%2Cy");

    /* %5C%2C is "\,": an escaped comma, so one value. */
    g_assert_cmpstr (only_value (q2)->code, ==, "x,y");
  }

  expect_error ("Patient", "name=a,,b", CHARTA_FHIR_ERROR_INVALID, "name", NULL);
  expect_error ("Patient", "name=a,", CHARTA_FHIR_ERROR_INVALID, "name", NULL);
}

static void
test_token (void)
{
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "gender=male");
    ChartaSearchValue *v = only_value (q);

    g_assert_cmpint (only_clause (q)->param->type, ==, CHARTA_SEARCH_TYPE_TOKEN);
    g_assert_null (v->system);
    g_assert_cmpstr (v->code, ==, "male");
    g_assert_cmpstr (v->text, ==, "male");
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "identifier=http://x.org/mrn|123");
    ChartaSearchValue *v = only_value (q);

    g_assert_cmpstr (v->system, ==, "http://x.org/mrn");
    g_assert_cmpstr (v->code, ==, "123");
    g_assert_cmpstr (v->text, ==, "http://x.org/mrn|123");
  }
  {
    /* "|code": no system; "system|": any code; only the first '|' splits. */
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient",
                                               "identifier=|123,http://x|,http://y|a|b");
    ChartaSearchClause *c = only_clause (q);

    g_assert_cmpuint (c->values->len, ==, 3);
    g_assert_cmpstr (value_at (c, 0)->system, ==, "");
    g_assert_cmpstr (value_at (c, 0)->code, ==, "123");
    g_assert_cmpstr (value_at (c, 1)->system, ==, "http://x");
    g_assert_null (value_at (c, 1)->code);
    g_assert_cmpstr (value_at (c, 2)->system, ==, "http://y");
    g_assert_cmpstr (value_at (c, 2)->code, ==, "a|b");
  }
  {
    /* A token takes no prefix: "ge5" is a code. */
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "identifier=ge5");

    g_assert_cmpstr (only_value (q)->code, ==, "ge5");
    g_assert_cmpint (only_value (q)->prefix, ==, CHARTA_SEARCH_PREFIX_EQ);
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "gender:not=male");

    g_assert_cmpint (only_clause (q)->modifier, ==, CHARTA_SEARCH_MODIFIER_NOT);
    g_assert_cmpstr (only_value (q)->code, ==, "male");
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Observation", "code:text=Blood+Pr%C3%A9ssure");

    g_assert_cmpint (only_clause (q)->modifier, ==, CHARTA_SEARCH_MODIFIER_TEXT);
    g_assert_cmpstr (only_value (q)->text, ==, "Blood Préssure");
    g_assert_cmpstr (only_value (q)->normalized, ==, "blood pressure");
    g_assert_null (only_value (q)->code);
  }
  {
    g_autoptr(ChartaSearchQuery) q =
      parse_ok ("Observation", "code:in=http://hl7.org/fhir/ValueSet/observation-codes");

    g_assert_cmpint (only_clause (q)->modifier, ==, CHARTA_SEARCH_MODIFIER_IN);
    g_assert_cmpstr (only_value (q)->text, ==, "http://hl7.org/fhir/ValueSet/observation-codes");
    g_assert_null (only_value (q)->system);
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Observation", "code:not-in=http://vs");

    g_assert_cmpint (only_clause (q)->modifier, ==, CHARTA_SEARCH_MODIFIER_NOT_IN);
    g_assert_cmpstr (only_value (q)->text, ==, "http://vs");
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Observation",
                                               "code:below=http://snomed.info/sct|235856003");

    g_assert_cmpint (only_clause (q)->modifier, ==, CHARTA_SEARCH_MODIFIER_BELOW);
    g_assert_cmpstr (only_value (q)->system, ==, "http://snomed.info/sct");
    g_assert_cmpstr (only_value (q)->code, ==, "235856003");
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Observation", "code:above=http://s|1");

    g_assert_cmpint (only_clause (q)->modifier, ==, CHARTA_SEARCH_MODIFIER_ABOVE);
  }
  {
    g_autoptr(ChartaSearchQuery) q =
      parse_ok ("Patient",
                "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|446053");
    ChartaSearchValue *v = only_value (q);

    g_assert_cmpint (only_clause (q)->modifier, ==, CHARTA_SEARCH_MODIFIER_OF_TYPE);
    g_assert_cmpstr (v->type_system, ==, "http://terminology.hl7.org/CodeSystem/v2-0203");
    g_assert_cmpstr (v->type_code, ==, "MR");
    g_assert_cmpstr (v->code, ==, "446053");
    g_assert_null (v->system);
  }
  {
    /* _id is a token too. */
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "_id=a1,b2");

    g_assert_cmpstr (only_clause (q)->param->code, ==, "_id");
    g_assert_cmpstr (value_at (only_clause (q), 1)->code, ==, "b2");
  }

  {
    /* An Identifier parameter by its expression (Specimen.container.identifier). */
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Specimen", "container-id:of-type=s|T|v");

    g_assert_cmpint (only_clause (q)->modifier, ==, CHARTA_SEARCH_MODIFIER_OF_TYPE);
    g_assert_cmpstr (only_value (q)->type_code, ==, "T");
  }

  /* :of-type wants three parts, on an Identifier parameter only. */
  expect_error ("Patient", "identifier:of-type=http://x|MR", CHARTA_FHIR_ERROR_INVALID,
                "identifier:of-type", "http://x|MR");
  expect_error ("Patient", "language:of-type=a|b|c", CHARTA_FHIR_ERROR_INVALID,
                "language:of-type", "of-type");
  expect_error ("Patient", "gender:exact=male", CHARTA_FHIR_ERROR_INVALID, "gender:exact",
                "exact");
  expect_error ("Patient", "gender:contains=m", CHARTA_FHIR_ERROR_INVALID, "gender", "contains");
}

static void
test_date (void)
{
  {
    /* "ge1970": the whole year 1970, [0, 31,536,000 s × 10^6 − 1] = [0, 31,535,999,999,999]. */
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "birthdate=ge1970");
    ChartaSearchValue *v = only_value (q);

    g_assert_cmpint (only_clause (q)->param->type, ==, CHARTA_SEARCH_TYPE_DATE);
    g_assert_cmpint (v->prefix, ==, CHARTA_SEARCH_PREFIX_GE);
    g_assert_cmpint (v->date_low, ==, 0);
    g_assert_cmpint (v->date_high, ==, G_GINT64_CONSTANT (31535999999999));
    g_assert_cmpstr (v->text, ==, "ge1970");
  }
  {
    /* A day: 73 days in, [6,307,200 s, + 86,400 s − 1 µs]; no prefix is eq. */
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "birthdate=1970-03-15");
    ChartaSearchValue *v = only_value (q);

    g_assert_cmpint (v->prefix, ==, CHARTA_SEARCH_PREFIX_EQ);
    g_assert_cmpint (v->date_low, ==, 73 * DAY_US);
    g_assert_cmpint (v->date_high, ==, 74 * DAY_US - 1);
    g_assert_cmpint (v->date_low, ==, G_GINT64_CONSTANT (6307200000000));
  }
  {
    /* To the second, with its offset: 1,584,261,000 s, one second wide.  The '+' of the
     * offset must be sent as %2B (a bare '+' is a space). */
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Observation",
                                               "date=lt2020-03-15T10:30:00%2B02:00");
    ChartaSearchValue *v = only_value (q);

    g_assert_cmpint (v->prefix, ==, CHARTA_SEARCH_PREFIX_LT);
    g_assert_cmpint (v->date_low, ==, G_GINT64_CONSTANT (1584261000) * US);
    g_assert_cmpint (v->date_high, ==, G_GINT64_CONSTANT (1584261000) * US + 999999);
  }
  {
    /* A month: January 2020, [1,577,836,800 s, 1,580,515,200 s − 1 µs]. */
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "_lastUpdated=sa2020-01");
    ChartaSearchValue *v = only_value (q);

    g_assert_cmpint (v->prefix, ==, CHARTA_SEARCH_PREFIX_SA);
    g_assert_cmpint (v->date_low, ==, G_GINT64_CONSTANT (1577836800) * US);
    g_assert_cmpint (v->date_high, ==, G_GINT64_CONSTANT (1580515200) * US - 1);
  }
  {
    /* Every prefix, in the order of the enum. */
    static const char *const names[] = { "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap" };

    for (unsigned i = 0; i < G_N_ELEMENTS (names); i++)
      {
        g_autofree char *text = g_strdup_printf ("birthdate=%s1970", names[i]);
        g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", text);

        g_assert_cmpint (only_value (q)->prefix, ==, (int) i);
        g_assert_cmpint (only_value (q)->date_low, ==, 0);
      }
  }

  expect_error ("Patient", "birthdate=19xx", CHARTA_FHIR_ERROR_INVALID, "birthdate", "19xx");
  expect_error ("Patient", "birthdate=eq", CHARTA_FHIR_ERROR_INVALID, "birthdate", "eq");
  expect_error ("Patient", "birthdate=GE1970", CHARTA_FHIR_ERROR_INVALID, "birthdate", "GE1970");
  expect_error ("Patient", "birthdate=1970-13-01", CHARTA_FHIR_ERROR_INVALID, "birthdate",
                "1970-13-01");
  /* A bare '+' is a space: "…T10:30:00 02:00" is no date. */
  expect_error ("Observation", "date=2020-03-15T10:30:00+02:00", CHARTA_FHIR_ERROR_INVALID,
                "date", "2020-03-15T10:30:00 02:00");
  expect_error ("Patient", "birthdate:exact=1970", CHARTA_FHIR_ERROR_INVALID, "birthdate:exact",
                "exact");
}

static void
test_number (void)
{
  {
    /* "gt0.5": one decimal, so ± 0.05: [0.45, 0.55]. */
    g_autoptr(ChartaSearchQuery) q = parse_ok ("RiskAssessment", "probability=gt0.5");
    ChartaSearchValue *v = only_value (q);

    g_assert_cmpint (only_clause (q)->param->type, ==, CHARTA_SEARCH_TYPE_NUMBER);
    g_assert_cmpint (v->prefix, ==, CHARTA_SEARCH_PREFIX_GT);
    g_assert_cmpfloat_with_epsilon (v->number, 0.5, 1e-12);
    g_assert_cmpfloat_with_epsilon (v->number_low, 0.45, 1e-12);
    g_assert_cmpfloat_with_epsilon (v->number_high, 0.55, 1e-12);
  }
  {
    /* "100": ± 0.5. */
    g_autoptr(ChartaSearchQuery) q = parse_ok ("RiskAssessment", "probability=100");
    ChartaSearchValue *v = only_value (q);

    g_assert_cmpint (v->prefix, ==, CHARTA_SEARCH_PREFIX_EQ);
    g_assert_cmpfloat_with_epsilon (v->number_low, 99.5, 1e-12);
    g_assert_cmpfloat_with_epsilon (v->number_high, 100.5, 1e-12);
  }

  expect_error ("RiskAssessment", "probability=high", CHARTA_FHIR_ERROR_INVALID, "probability",
                "high");
  expect_error ("RiskAssessment", "probability=gt", CHARTA_FHIR_ERROR_INVALID, "probability",
                "gt");
  expect_error ("RiskAssessment", "probability:not=1", CHARTA_FHIR_ERROR_INVALID,
                "probability:not", "not");
}

static void
test_quantity (void)
{
  {
    /* "le5.4|…|mg": 5.4 ± 0.05. */
    g_autoptr(ChartaSearchQuery) q =
      parse_ok ("Observation", "value-quantity=le5.4|http://unitsofmeasure.org|mg");
    ChartaSearchValue *v = only_value (q);

    g_assert_cmpint (only_clause (q)->param->type, ==, CHARTA_SEARCH_TYPE_QUANTITY);
    g_assert_cmpint (v->prefix, ==, CHARTA_SEARCH_PREFIX_LE);
    g_assert_cmpfloat_with_epsilon (v->number, 5.4, 1e-12);
    g_assert_cmpfloat_with_epsilon (v->number_low, 5.35, 1e-12);
    g_assert_cmpfloat_with_epsilon (v->number_high, 5.45, 1e-12);
    g_assert_cmpstr (v->unit_system, ==, "http://unitsofmeasure.org");
    g_assert_cmpstr (v->unit_code, ==, "mg");
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Observation", "value-quantity=5.4||mg,ap7");
    ChartaSearchClause *c = only_clause (q);

    g_assert_cmpuint (c->values->len, ==, 2);
    g_assert_null (value_at (c, 0)->unit_system);
    g_assert_cmpstr (value_at (c, 0)->unit_code, ==, "mg");
    g_assert_cmpint (value_at (c, 0)->prefix, ==, CHARTA_SEARCH_PREFIX_EQ);
    g_assert_cmpint (value_at (c, 1)->prefix, ==, CHARTA_SEARCH_PREFIX_AP);
    g_assert_cmpfloat_with_epsilon (value_at (c, 1)->number, 7.0, 1e-12);
    g_assert_null (value_at (c, 1)->unit_code);
    g_assert_null (value_at (c, 1)->unit_system);
  }

  expect_error ("Observation", "value-quantity=5.4|mg", CHARTA_FHIR_ERROR_INVALID,
                "value-quantity", "5.4|mg");
  expect_error ("Observation", "value-quantity=abc||mg", CHARTA_FHIR_ERROR_INVALID,
                "value-quantity", "abc");
}

static void
test_reference (void)
{
  {
    g_autoptr(ChartaSearchQuery) q =
      parse_ok ("Observation",
                "subject=Patient/7,7,http://x.org/fhir/Patient/8,Patient/7/_history/2");
    ChartaSearchClause *c = only_clause (q);

    g_assert_cmpint (c->param->type, ==, CHARTA_SEARCH_TYPE_REFERENCE);
    g_assert_cmpuint (c->values->len, ==, 4);
    g_assert_cmpstr (value_at (c, 0)->ref_type, ==, "Patient");
    g_assert_cmpstr (value_at (c, 0)->ref_id, ==, "7");
    g_assert_null (value_at (c, 0)->ref_url);
    g_assert_null (value_at (c, 1)->ref_type);
    g_assert_cmpstr (value_at (c, 1)->ref_id, ==, "7");
    g_assert_cmpstr (value_at (c, 2)->ref_url, ==, "http://x.org/fhir/Patient/8");
    g_assert_cmpstr (value_at (c, 2)->ref_type, ==, "Patient");
    g_assert_cmpstr (value_at (c, 2)->ref_id, ==, "8");
    g_assert_cmpstr (value_at (c, 3)->ref_id, ==, "7");
    g_assert_cmpstr (value_at (c, 3)->ref_version, ==, "2");
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Observation", "subject:Patient=7");
    ChartaSearchClause *c = only_clause (q);

    g_assert_cmpint (c->modifier, ==, CHARTA_SEARCH_MODIFIER_TYPE);
    g_assert_cmpstr (c->target_type, ==, "Patient");
    g_assert_cmpstr (value_at (c, 0)->ref_id, ==, "7");
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Observation", "subject:identifier=http://s|12");
    ChartaSearchValue *v = only_value (q);

    g_assert_cmpint (only_clause (q)->modifier, ==, CHARTA_SEARCH_MODIFIER_IDENTIFIER);
    g_assert_cmpstr (v->system, ==, "http://s");
    g_assert_cmpstr (v->code, ==, "12");
    g_assert_null (v->ref_id);
  }
  {
    /* A canonical with a version. */
    g_autoptr(ChartaSearchQuery) q =
      parse_ok ("QuestionnaireResponse", "questionnaire=http://x.org/Questionnaire/q%7C2.0");
    ChartaSearchValue *v = only_value (q);

    g_assert_cmpstr (v->ref_url, ==, "http://x.org/Questionnaire/q");
    g_assert_cmpstr (v->ref_version, ==, "2.0");
  }

  expect_error ("QuestionnaireResponse", "questionnaire=http://x.org/Questionnaire/q%7C",
                CHARTA_FHIR_ERROR_INVALID, "questionnaire", "http://x.org/Questionnaire/q|");

  /* Medication is not one of subject's targets; Group/7 is not a Patient. */
  expect_error ("Observation", "subject:Medication=7", CHARTA_FHIR_ERROR_INVALID,
                "subject:Medication", "Medication");
  expect_error ("Observation", "subject:Patient=Group/7", CHARTA_FHIR_ERROR_INVALID,
                "subject:Patient", "Group/7");
  expect_error ("Observation", "subject:exact=7", CHARTA_FHIR_ERROR_INVALID, "subject:exact",
                "exact");
  expect_error ("Patient", "gender:Patient=x", CHARTA_FHIR_ERROR_INVALID, "gender:Patient",
                "Patient");
}

static void
test_uri (void)
{
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "_profile=http://x.org/sd/p");

    g_assert_cmpint (only_clause (q)->param->type, ==, CHARTA_SEARCH_TYPE_URI);
    g_assert_cmpstr (only_value (q)->text, ==, "http://x.org/sd/p");
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("ValueSet", "url:below=http://x.org/");

    g_assert_cmpint (only_clause (q)->modifier, ==, CHARTA_SEARCH_MODIFIER_BELOW);
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("ValueSet", "url:above=http://x.org/a/b");

    g_assert_cmpint (only_clause (q)->modifier, ==, CHARTA_SEARCH_MODIFIER_ABOVE);
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("ValueSet", "url:contains=x.org");

    g_assert_cmpint (only_clause (q)->modifier, ==, CHARTA_SEARCH_MODIFIER_CONTAINS);
  }

  expect_error ("ValueSet", "url:exact=http://x.org", CHARTA_FHIR_ERROR_INVALID, "url:exact",
                "exact");
}

static void
test_composite (void)
{
  {
    /* code-value-quantity: clinical-code (token) $ Observation-value-quantity (quantity). */
    g_autoptr(ChartaSearchQuery) q =
      parse_ok ("Observation", "code-value-quantity=http://loinc.org|8480-6$gt100");
    ChartaSearchValue *v = only_value (q);
    ChartaSearchValue *c0, *c1;

    g_assert_cmpint (only_clause (q)->param->type, ==, CHARTA_SEARCH_TYPE_COMPOSITE);
    g_assert_cmpstr (v->text, ==, "http://loinc.org|8480-6$gt100");
    g_assert_nonnull (v->components);
    g_assert_cmpuint (v->components->len, ==, 2);
    c0 = v->components->pdata[0];
    c1 = v->components->pdata[1];
    g_assert_cmpstr (c0->system, ==, "http://loinc.org");
    g_assert_cmpstr (c0->code, ==, "8480-6");
    g_assert_cmpint (c1->prefix, ==, CHARTA_SEARCH_PREFIX_GT);
    g_assert_cmpfloat_with_epsilon (c1->number, 100.0, 1e-12);
    g_assert_cmpfloat_with_epsilon (c1->number_low, 99.5, 1e-12);
    g_assert_cmpfloat_with_epsilon (c1->number_high, 100.5, 1e-12);
  }
  {
    /* An escaped '$' stays in the code; two values ORed. */
    g_autoptr(ChartaSearchQuery) q =
      parse_ok ("Observation", "code-value-concept=a\\$b$c,d$e");
    ChartaSearchClause *c = only_clause (q);
    ChartaSearchValue *v0 = value_at (c, 0);

    g_assert_cmpuint (c->values->len, ==, 2);
    g_assert_cmpstr (((ChartaSearchValue *) v0->components->pdata[0])->code, ==, "a$b");
    g_assert_cmpstr (((ChartaSearchValue *) v0->components->pdata[1])->code, ==, "c");
  }

  expect_error ("Observation", "code-value-quantity=http://loinc.org|8480-6",
                CHARTA_FHIR_ERROR_INVALID, "code-value-quantity", "http://loinc.org|8480-6");
  expect_error ("Observation", "code-value-quantity=a$b$c", CHARTA_FHIR_ERROR_INVALID,
                "code-value-quantity", "a$b$c");
  expect_error ("Observation", "code-value-quantity=a$gtxyz", CHARTA_FHIR_ERROR_INVALID,
                "code-value-quantity", "xyz");
  expect_error ("Observation", "code-value-quantity:exact=a$1", CHARTA_FHIR_ERROR_INVALID,
                "code-value-quantity:exact", "exact");
}

static void
test_missing (void)
{
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "birthdate:missing=true");

    g_assert_cmpint (only_clause (q)->modifier, ==, CHARTA_SEARCH_MODIFIER_MISSING);
    g_assert_true (only_value (q)->missing);
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Observation", "subject:missing=false");

    g_assert_cmpint (only_clause (q)->modifier, ==, CHARTA_SEARCH_MODIFIER_MISSING);
    g_assert_false (only_value (q)->missing);
  }
  {
    g_autoptr(ChartaSearchQuery) q =
      parse_ok ("Observation", "code-value-quantity:missing=true");

    g_assert_true (only_value (q)->missing);
    g_assert_null (only_value (q)->components);
  }

  expect_error ("Patient", "name:missing=maybe", CHARTA_FHIR_ERROR_INVALID, "name:missing",
                "maybe");
  expect_error ("Patient", "name:foo=x", CHARTA_FHIR_ERROR_INVALID, "name:foo", "foo");
  expect_error ("Patient", "name:=x", CHARTA_FHIR_ERROR_INVALID, "name:", NULL);
  expect_error ("Patient", "name:exact:contains=x", CHARTA_FHIR_ERROR_INVALID,
                "name:exact:contains", NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* Chains and _has. */

static void
test_chain (void)
{
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Observation", "subject:Patient.name=peter");
    ChartaSearchClause *c = only_clause (q);
    ChartaSearchClause *sub;

    g_assert_cmpstr (c->name, ==, "subject");
    g_assert_cmpstr (c->param->code, ==, "subject");
    g_assert_cmpstr (c->target_type, ==, "Patient");
    g_assert_cmpint (c->modifier, ==, CHARTA_SEARCH_MODIFIER_TYPE);
    g_assert_cmpuint (c->values->len, ==, 0);
    g_assert_nonnull (c->chain);
    g_assert_cmpuint (c->chain->len, ==, 1);
    sub = c->chain->pdata[0];
    g_assert_cmpstr (sub->name, ==, "name");
    g_assert_cmpstr (sub->resource_type, ==, "Patient");
    g_assert_cmpstr (sub->param->resource_type, ==, "Patient");
    g_assert_cmpint (sub->modifier, ==, CHARTA_SEARCH_MODIFIER_NONE);
    g_assert_cmpstr (value_at (sub, 0)->normalized, ==, "peter");
  }
  {
    /* No type: Observation.subject refers to Group|Device|Patient|Location, of which Patient
     * and Location have "name" (Group and Device do not), in that order. */
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Observation", "subject.name=peter");
    ChartaSearchClause *c = only_clause (q);

    g_assert_null (c->target_type);
    g_assert_cmpint (c->modifier, ==, CHARTA_SEARCH_MODIFIER_NONE);
    g_assert_cmpuint (c->chain->len, ==, 2);
    g_assert_cmpstr (((ChartaSearchClause *) c->chain->pdata[0])->resource_type, ==, "Patient");
    g_assert_cmpstr (((ChartaSearchClause *) c->chain->pdata[1])->resource_type, ==, "Location");
  }
  {
    /* Two levels, and a modifier on the last. */
    g_autoptr(ChartaSearchQuery) q =
      parse_ok ("Observation", "subject:Patient.organization.name:exact=Acme");
    ChartaSearchClause *c = only_clause (q);
    ChartaSearchClause *org = ((ChartaSearchClause *) c->chain->pdata[0]);
    ChartaSearchClause *name;

    g_assert_cmpstr (org->name, ==, "organization");
    g_assert_cmpstr (org->resource_type, ==, "Patient");
    g_assert_cmpuint (org->chain->len, ==, 1);  /* Patient.organization refers to Organization */
    name = org->chain->pdata[0];
    g_assert_cmpstr (name->resource_type, ==, "Organization");
    g_assert_cmpint (name->modifier, ==, CHARTA_SEARCH_MODIFIER_EXACT);
    g_assert_cmpstr (value_at (name, 0)->text, ==, "Acme");
  }
  {
    /* Four levels is the most. */
    g_autoptr(ChartaSearchQuery) q =
      parse_ok ("Observation", "subject:Patient.link:Patient.link:Patient.link:Patient._id=1");
    ChartaSearchClause *c = only_clause (q);

    for (unsigned level = 0; level < 4; level++)
      {
        g_assert_cmpuint (c->chain->len, ==, 1);
        c = c->chain->pdata[0];
      }
    g_assert_cmpstr (c->name, ==, "_id");
    g_assert_null (c->chain);
    g_assert_cmpstr (value_at (c, 0)->code, ==, "1");
  }

  expect_error ("Observation",
                "subject:Patient.link:Patient.link:Patient.link:Patient.link:Patient._id=1",
                CHARTA_FHIR_ERROR_TOO_DEEP, "subject:Patient.link", NULL);
  expect_error ("Patient", "gender.name=x", CHARTA_FHIR_ERROR_INVALID, "gender.name", "gender");
  expect_error ("Observation", "subject:Patient.foo=x", CHARTA_FHIR_ERROR_INVALID,
                "subject:Patient.foo", "foo");
  expect_error ("Observation", "subject.foo=x", CHARTA_FHIR_ERROR_INVALID, "subject.foo",
                "foo");
  expect_error ("Observation", "subject:identifier.name=x", CHARTA_FHIR_ERROR_INVALID,
                "subject:identifier.name", "identifier");
  expect_error ("Observation", "subject:Medication.code=x", CHARTA_FHIR_ERROR_INVALID,
                "subject:Medication.code", "Medication");
  expect_error ("Observation", "subject..name=x", CHARTA_FHIR_ERROR_INVALID, "subject..name",
                NULL);
  expect_error ("Observation", "subject.=x", CHARTA_FHIR_ERROR_INVALID, "subject.", NULL);
  expect_error ("Observation", "subject:Patient.birthdate=19xx", CHARTA_FHIR_ERROR_INVALID,
                "subject:Patient.birthdate", "19xx");
  expect_error ("Observation", "subject:Patient._query=x", CHARTA_FHIR_ERROR_UNSUPPORTED,
                "subject:Patient._query", NULL);
}

static void
test_has (void)
{
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "_has:Observation:patient:code=1234");
    ChartaSearchClause *c = only_clause (q);

    g_assert_cmpstr (c->name, ==, "_has");
    g_assert_null (c->param);
    g_assert_cmpstr (c->resource_type, ==, "Patient");
    g_assert_cmpstr (c->has_type, ==, "Observation");
    g_assert_nonnull (c->has_reference);
    g_assert_cmpstr (c->has_reference->code, ==, "patient");
    g_assert_cmpstr (c->has_reference->resource_type, ==, "Observation");
    g_assert_cmpuint (c->values->len, ==, 0);
    g_assert_nonnull (c->has);
    g_assert_cmpstr (c->has->name, ==, "code");
    g_assert_cmpstr (c->has->resource_type, ==, "Observation");
    g_assert_cmpstr (value_at (c->has, 0)->code, ==, "1234");
  }
  {
    /* Nested: Patients with an Observation that an AuditEvent about it names agent 9. */
    g_autoptr(ChartaSearchQuery) q =
      parse_ok ("Patient", "_has:Observation:patient:_has:AuditEvent:entity:agent=Practitioner/9");
    ChartaSearchClause *c = only_clause (q);
    ChartaSearchClause *inner = c->has;

    g_assert_cmpstr (inner->name, ==, "_has");
    g_assert_cmpstr (inner->resource_type, ==, "Observation");
    g_assert_cmpstr (inner->has_type, ==, "AuditEvent");
    g_assert_cmpstr (inner->has_reference->code, ==, "entity");
    g_assert_cmpstr (inner->has->name, ==, "agent");
    g_assert_cmpstr (value_at (inner->has, 0)->ref_type, ==, "Practitioner");
    g_assert_cmpstr (value_at (inner->has, 0)->ref_id, ==, "9");
  }
  {
    /* The rest may be a chain, and carry a modifier. */
    g_autoptr(ChartaSearchQuery) q =
      parse_ok ("Patient", "_has:Observation:patient:performer:Practitioner.name:exact=Bo");
    ChartaSearchClause *has = only_clause (q)->has;

    g_assert_cmpstr (has->name, ==, "performer");
    g_assert_cmpstr (has->target_type, ==, "Practitioner");
    g_assert_cmpint (((ChartaSearchClause *) has->chain->pdata[0])->modifier, ==,
                     CHARTA_SEARCH_MODIFIER_EXACT);
  }

  /* Malformed even when lenient: unknown type, unknown or non-reference parameter, a
   * reference that cannot point to the searched type. */
  expect_error ("Patient", "_has:Foo:patient:code=1", CHARTA_FHIR_ERROR_INVALID, "_has:Foo",
                "Foo");
  expect_error ("Patient", "_has:Observation:foo:code=1", CHARTA_FHIR_ERROR_INVALID,
                "_has:Observation:foo", "foo");
  expect_error ("Patient", "_has:Observation:patient:foo=1", CHARTA_FHIR_ERROR_INVALID,
                "_has:Observation:patient:foo", "foo");
  expect_error ("Patient", "_has:Observation:code:code=1", CHARTA_FHIR_ERROR_INVALID,
                "_has:Observation:code:code", "code");
  expect_error ("Medication", "_has:Observation:patient:code=1", CHARTA_FHIR_ERROR_INVALID,
                "_has:Observation:patient:code", "Medication");
  expect_error ("Patient", "_has:Observation:patient=1", CHARTA_FHIR_ERROR_INVALID,
                "_has:Observation:patient", NULL);
  expect_error ("Patient", "_has=1", CHARTA_FHIR_ERROR_INVALID, "_has", NULL);
  /* Five levels of _has (Provenance.target refers to any type). */
  expect_error ("Patient",
                "_has:Provenance:target:_has:Provenance:target:_has:Provenance:target:"
                "_has:Provenance:target:_has:Provenance:target:_id=1",
                CHARTA_FHIR_ERROR_TOO_DEEP, "_has:Provenance:target", NULL);
  {
    /* Four levels are fine. */
    g_autoptr(ChartaSearchQuery) q =
      parse_ok ("Patient", "_has:Provenance:target:_has:Provenance:target:_has:Provenance:target:"
                           "_has:Provenance:target:_id=1");

    g_assert_cmpstr (only_clause (q)->has->has->has->has->name, ==, "_id");
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Result parameters. */

static void
test_count_total_summary (void)
{
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient",
                                               "_count=0&_total=accurate&_summary=count");

    g_assert_cmpint (q->count, ==, 0);
    g_assert_cmpint (q->total, ==, CHARTA_SEARCH_TOTAL_ACCURATE);
    g_assert_cmpint (q->summary, ==, CHARTA_SEARCH_SUMMARY_COUNT);
    g_assert_cmpuint (q->clauses->len, ==, 0);
    g_assert_cmpuint (q->pairs->len, ==, 3);
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "_count=25&_total=none");

    g_assert_cmpint (q->count, ==, 25);
    g_assert_cmpint (q->total, ==, CHARTA_SEARCH_TOTAL_NONE);
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "_total=estimate");

    g_assert_cmpint (q->total, ==, CHARTA_SEARCH_TOTAL_ESTIMATE);
  }
  {
    static const struct { const char *name; ChartaSearchSummary summary; } cases[] = {
      { "true", CHARTA_SEARCH_SUMMARY_TRUE }, { "text", CHARTA_SEARCH_SUMMARY_TEXT },
      { "data", CHARTA_SEARCH_SUMMARY_DATA }, { "count", CHARTA_SEARCH_SUMMARY_COUNT },
      { "false", CHARTA_SEARCH_SUMMARY_FALSE },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autofree char *text = g_strdup_printf ("_summary=%s&_count=3", cases[i].name);
        g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", text);

        g_assert_cmpint (q->summary, ==, cases[i].summary);
      }
  }

  expect_error ("Patient", "_count=-1", CHARTA_FHIR_ERROR_INVALID, "_count", "-1");
  expect_error ("Patient", "_count=abc", CHARTA_FHIR_ERROR_INVALID, "_count", "abc");
  expect_error ("Patient", "_count=99999999999", CHARTA_FHIR_ERROR_INVALID, "_count",
                "99999999999");
  expect_error ("Patient", "_count=1&_count=2", CHARTA_FHIR_ERROR_INVALID, "_count", NULL);
  expect_error ("Patient", "_count:exact=1", CHARTA_FHIR_ERROR_INVALID, "_count:exact", NULL);
  expect_error ("Patient", "_total=all", CHARTA_FHIR_ERROR_INVALID, "_total", "all");
  expect_error ("Patient", "_summary=yes", CHARTA_FHIR_ERROR_INVALID, "_summary", "yes");
  expect_error ("Patient", "_summary=true&_summary=true", CHARTA_FHIR_ERROR_INVALID, "_summary",
                NULL);
}

static void
test_sort (void)
{
  g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "_sort=-birthdate,name,_lastUpdated");
  ChartaSearchSort *s;

  g_assert_cmpuint (q->sort->len, ==, 3);
  s = q->sort->pdata[0];
  g_assert_cmpstr (s->name, ==, "birthdate");
  g_assert_true (s->descending);
  g_assert_cmpstr (s->param->code, ==, "birthdate");
  s = q->sort->pdata[1];
  g_assert_cmpstr (s->name, ==, "name");
  g_assert_false (s->descending);
  s = q->sort->pdata[2];
  g_assert_cmpstr (s->param->resource_type, ==, "Resource");

  expect_error ("Patient", "_sort=foo", CHARTA_FHIR_ERROR_INVALID, "_sort", "foo");
  expect_error ("Patient", "_sort=name,,gender", CHARTA_FHIR_ERROR_INVALID, "_sort", NULL);
  expect_error ("Patient", "_sort=-", CHARTA_FHIR_ERROR_INVALID, "_sort", NULL);
  expect_error ("Patient", "_sort=name&_sort=gender", CHARTA_FHIR_ERROR_INVALID, "_sort", NULL);
  expect_error (NULL, "_sort=name", CHARTA_FHIR_ERROR_INVALID, "_sort", "name");
}

static void
test_elements (void)
{
  {
    /* By element name ("deceased" for deceased[x]) or JSON name ("deceasedBoolean"). */
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient",
                                               "_elements=name,birthDate,deceased,deceasedBoolean");

    g_assert_nonnull (q->elements);
    g_assert_cmpuint (q->elements->len, ==, 4);
    g_assert_cmpstr (q->elements->pdata[1], ==, "birthDate");
  }
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok (NULL, "_elements=anything,else");

    g_assert_cmpuint (q->elements->len, ==, 2);
  }

  expect_error ("Patient", "_elements=name,foo", CHARTA_FHIR_ERROR_INVALID, "_elements", "foo");
  expect_error ("Patient", "_elements=name,", CHARTA_FHIR_ERROR_INVALID, "_elements", NULL);
  expect_error ("Patient", "_elements=name&_elements=gender", CHARTA_FHIR_ERROR_INVALID,
                "_elements", NULL);
}

static void
test_include (void)
{
  g_autoptr(ChartaSearchQuery) q =
    parse_ok ("Observation",
              "_include=Observation:subject&_include=Observation:subject:Patient"
              "&_include:iterate=Patient:organization&_revinclude=Provenance:target"
              "&_include=*&_revinclude:recurse=AuditEvent:entity");
  ChartaSearchInclude *inc;

  g_assert_cmpuint (q->includes->len, ==, 6);
  inc = q->includes->pdata[0];
  g_assert_false (inc->reverse);
  g_assert_false (inc->iterate);
  g_assert_cmpstr (inc->source_type, ==, "Observation");
  g_assert_cmpstr (inc->param->code, ==, "subject");
  g_assert_null (inc->target_type);
  inc = q->includes->pdata[1];
  g_assert_cmpstr (inc->target_type, ==, "Patient");
  inc = q->includes->pdata[2];
  g_assert_true (inc->iterate);
  g_assert_cmpstr (inc->source_type, ==, "Patient");
  g_assert_cmpstr (inc->param->code, ==, "organization");
  inc = q->includes->pdata[3];
  g_assert_true (inc->reverse);
  g_assert_false (inc->iterate);
  g_assert_cmpstr (inc->source_type, ==, "Provenance");
  inc = q->includes->pdata[4];
  g_assert_cmpstr (inc->source_type, ==, "*");
  g_assert_null (inc->param);
  inc = q->includes->pdata[5];
  g_assert_true (inc->reverse);
  g_assert_true (inc->iterate);

  expect_error ("Observation", "_include=Patient:organization", CHARTA_FHIR_ERROR_INVALID,
                "_include", "Patient:organization");
  expect_error ("Observation", "_include=Observation:code", CHARTA_FHIR_ERROR_INVALID,
                "_include", "code");
  expect_error ("Observation", "_include=Observation:subject:Medication",
                CHARTA_FHIR_ERROR_INVALID, "_include", "Medication");
  expect_error ("Observation", "_include=Foo:subject", CHARTA_FHIR_ERROR_INVALID, "_include",
                "Foo");
  expect_error ("Observation", "_include=Observation", CHARTA_FHIR_ERROR_INVALID, "_include",
                "Observation");
  expect_error ("Observation", "_include:foo=Observation:subject", CHARTA_FHIR_ERROR_INVALID,
                "_include:foo", "foo");
  expect_error ("Observation", "_revinclude=Provenance:target:Patient:x",
                CHARTA_FHIR_ERROR_INVALID, "_revinclude", NULL);
}

static void
test_system (void)
{
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok (NULL, "_type=Patient,Observation&_id=7&_tag=a|b");
    ChartaSearchClause *c;

    g_assert_null (q->resource_type);
    g_assert_nonnull (q->types);
    g_assert_cmpuint (q->types->len, ==, 2);
    g_assert_cmpstr (q->types->pdata[1], ==, "Observation");
    g_assert_cmpuint (q->clauses->len, ==, 2);
    c = q->clauses->pdata[0];
    g_assert_cmpstr (c->resource_type, ==, "Resource");
    g_assert_cmpstr (c->param->code, ==, "_id");
    c = q->clauses->pdata[1];
    g_assert_cmpstr (value_at (c, 0)->system, ==, "a");
  }
  {
    /* Only Resource's parameters: _text is DomainResource's, name is Patient's. */
    g_autoptr(ChartaSearchQuery) q = parse_ok (NULL, "_text=x&name=y");

    g_assert_cmpuint (q->clauses->len, ==, 0);
    g_assert_cmpuint (q->unknown->len, ==, 2);
  }
  {
    /* On a type, _type is a parameter the type does not have. */
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "_type=Observation");

    g_assert_null (q->types);
    g_assert_cmpuint (q->unknown->len, ==, 1);
    g_assert_cmpstr (q->unknown->pdata[0], ==, "_type");
  }

  expect_error (NULL, "_type=Patient,Foo", CHARTA_FHIR_ERROR_INVALID, "_type", "Foo");
  expect_error (NULL, "_type=Patient&_type=Group", CHARTA_FHIR_ERROR_INVALID, "_type", NULL);
  expect_error_flags (NULL, "name=y", CHARTA_SEARCH_QUERY_STRICT,
                      CHARTA_FHIR_ERROR_UNKNOWN_PARAMETER, "name", NULL);
}

static void
test_list_cursor_format (void)
{
  g_autoptr(ChartaSearchQuery) q =
    parse_ok ("Patient", "_list=42,x-7&_cursor=abc%3D&_format=json&_pretty=true&name=a");
  ChartaSearchClause *c = q->clauses->pdata[0];

  g_assert_cmpuint (q->clauses->len, ==, 2);
  g_assert_cmpstr (c->name, ==, "_list");
  g_assert_null (c->param);
  g_assert_cmpstr (c->resource_type, ==, "Patient");
  g_assert_cmpuint (c->values->len, ==, 2);
  g_assert_cmpstr (value_at (c, 0)->text, ==, "42");
  g_assert_cmpstr (value_at (c, 1)->text, ==, "x-7");
  g_assert_cmpstr (q->cursor, ==, "abc=");
  /* _cursor, _format and _pretty are not pairs, nor unknown. */
  g_assert_cmpuint (q->pairs->len, ==, 2);
  g_assert_cmpstr (q->pairs->pdata[0], ==, "_list=42,x-7");
  g_assert_cmpstr (q->pairs->pdata[1], ==, "name=a");
  g_assert_cmpuint (q->unknown->len, ==, 0);

  expect_error ("Patient", "_list:exact=1", CHARTA_FHIR_ERROR_INVALID, "_list:exact", NULL);
  expect_error ("Patient", "_list=1,", CHARTA_FHIR_ERROR_INVALID, "_list", NULL);
  expect_error ("Patient", "_cursor=a&_cursor=b", CHARTA_FHIR_ERROR_INVALID, "_cursor", NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* Unknown parameters and errors. */

static void
test_unknown (void)
{
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", "foo=bar&name=x&foo:exact.y=z");

    g_assert_cmpuint (q->clauses->len, ==, 1);
    g_assert_cmpuint (q->unknown->len, ==, 2);
    g_assert_cmpstr (q->unknown->pdata[0], ==, "foo");
    g_assert_cmpstr (q->unknown->pdata[1], ==, "foo:exact.y");
    /* Kept in the pairs, so a paging link repeats the request as made. */
    g_assert_cmpuint (q->pairs->len, ==, 3);
    g_assert_cmpstr (q->pairs->pdata[0], ==, "foo=bar");
  }

  expect_error_flags ("Patient", "name=x&foo=bar", CHARTA_SEARCH_QUERY_STRICT,
                      CHARTA_FHIR_ERROR_UNKNOWN_PARAMETER, "Patient has no search parameter “foo”",
                      NULL);
  expect_error_flags ("Patient", "foo:exact=bar", CHARTA_SEARCH_QUERY_STRICT,
                      CHARTA_FHIR_ERROR_UNKNOWN_PARAMETER, "foo:exact", "Patient");
  {
    /* Strict changes nothing for known parameters. */
    g_autoptr(ChartaSearchQuery) q = parse_ok_flags ("Patient", "name=x",
                                                     CHARTA_SEARCH_QUERY_STRICT);

    g_assert_cmpuint (q->clauses->len, ==, 1);
  }
}

static void
test_errors (void)
{
  static const char *const unsupported[] = {
    "_contained", "_containedType", "_filter", "_query", "_graph",
  };

  for (unsigned i = 0; i < G_N_ELEMENTS (unsupported); i++)
    {
      g_autofree char *text = g_strdup_printf ("%s=x", unsupported[i]);

      expect_error ("Patient", text, CHARTA_FHIR_ERROR_UNSUPPORTED, unsupported[i], NULL);
    }
  expect_error ("Location", "near=42|-71|10|km", CHARTA_FHIR_ERROR_UNSUPPORTED, "near", NULL);

  /* Bad percent-encoding, NUL, bytes that are not UTF-8. */
  expect_error ("Patient", "name=%zz", CHARTA_FHIR_ERROR_INVALID, "name", "%zz");
  expect_error ("Patient", "name=a%", CHARTA_FHIR_ERROR_INVALID, "name", "a%");
  expect_error ("Patient", "name=a%4", CHARTA_FHIR_ERROR_INVALID, "name", "a%4");
  expect_error ("Patient", "name=a%00b", CHARTA_FHIR_ERROR_INVALID, "name", "a%00b");
  expect_error ("Patient", "name=%C3", CHARTA_FHIR_ERROR_INVALID, "name", "%C3");
  expect_error ("Patient", "na%ZZme=x", CHARTA_FHIR_ERROR_INVALID, "na%ZZme", NULL);
  expect_error ("Patient", "name=\xff", CHARTA_FHIR_ERROR_INVALID, "name", NULL);

  /* Empty values and names. */
  expect_error ("Patient", "name=", CHARTA_FHIR_ERROR_INVALID, "name", NULL);
  expect_error ("Patient", "name", CHARTA_FHIR_ERROR_INVALID, "name", NULL);
  expect_error ("Patient", "=x", CHARTA_FHIR_ERROR_INVALID, "=x", NULL);
  expect_error ("Patient", ":exact=x", CHARTA_FHIR_ERROR_INVALID, ":exact", NULL);
}

static void
test_limits (void)
{
  g_autoptr(GString) text = g_string_new (NULL);

  /* 100 parameters are allowed, 101 are not. */
  for (unsigned i = 0; i < 100; i++)
    g_string_append_printf (text, "%sname=a%u", i > 0 ? "&" : "", i);
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", text->str);

    g_assert_cmpuint (q->clauses->len, ==, 100);
  }
  g_string_append (text, "&gender=male");
  expect_error ("Patient", text->str, CHARTA_FHIR_ERROR_TOO_LARGE, "101", NULL);

  /* A value of 4096 bytes is allowed; 4097 are not. */
  g_string_assign (text, "name=");
  for (unsigned i = 0; i < 4096; i++)
    g_string_append_c (text, 'a' + i % 26);
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", text->str);

    g_assert_cmpuint (strlen (only_value (q)->text), ==, 4096);
  }
  g_string_append_c (text, 'z');
  expect_error ("Patient", text->str, CHARTA_FHIR_ERROR_TOO_LARGE, "name", "4097");

  /* 64 KiB of query string are allowed (each piece empty); one more byte is not. */
  g_string_truncate (text, 0);
  for (unsigned i = 0; i < 64 * 1024 - 6; i++)
    g_string_append_c (text, '&');
  g_string_append (text, "name=a");
  g_assert_cmpuint (text->len, ==, 64 * 1024);
  {
    g_autoptr(ChartaSearchQuery) q = parse_ok ("Patient", text->str);

    g_assert_cmpuint (q->clauses->len, ==, 1);
  }
  g_string_prepend_c (text, '&');
  expect_error ("Patient", text->str, CHARTA_FHIR_ERROR_TOO_LARGE, "65537", NULL);

  /* A chain without a type fans out to every target: Provenance.target refers to every
   * type, each of which has _id; 2,000 values (a value of 3,999 bytes, within the limit) on
   * each of those ~145 types are some 290,000 conditions, more than the 100,000 allowed. */
  g_string_assign (text, "target._id=0");
  for (unsigned i = 1; i < 2000; i++)
    g_string_append_printf (text, ",%u", i % 10);
  g_assert_cmpuint (text->len, ==, strlen ("target._id=") + 3999);
  expect_error ("Provenance", text->str, CHARTA_FHIR_ERROR_TOO_LARGE, "target._id",
                "conditions");
  {
    /* The same with a type written is one chain of 2,000 values: fine. */
    g_autoptr(ChartaSearchQuery) q = NULL;

    g_string_erase (text, 0, strlen ("target._id="));
    g_string_prepend (text, "target:Patient._id=");
    q = parse_ok ("Provenance", text->str);
    g_assert_cmpuint (((ChartaSearchClause *) only_clause (q)->chain->pdata[0])->values->len, ==,
                      2000);
  }
}

/* ---------------------------------------------------------------------------------------- */
/* The round trip. */

/* Parses @text, encodes it, parses that, and checks both give the same pairs, clauses and
 * string. */
static void
check_round_trip (const char *type,
                  const char *text,
                  gboolean    must_parse)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaSearchQuery) a = charta_search_query_parse (type, text, 0, &error);
  g_autoptr(ChartaSearchQuery) b = NULL;
  g_autofree char *s = NULL;
  g_autofree char *s2 = NULL;

  if (a == NULL)
    {
      g_assert_false (must_parse);
      return;
    }
  s = charta_search_query_to_string (a);
  b = charta_search_query_parse (type, s, 0, &error);
  if (b == NULL)
    g_test_message ("%s re-encoded as %s: %s", text, s, error->message);
  g_assert_no_error (error);
  g_assert_nonnull (b);
  g_assert_cmpuint (a->pairs->len, ==, b->pairs->len);
  for (unsigned i = 0; i < a->pairs->len; i++)
    g_assert_cmpstr (a->pairs->pdata[i], ==, b->pairs->pdata[i]);
  g_assert_cmpuint (a->clauses->len, ==, b->clauses->len);
  for (unsigned i = 0; i < a->clauses->len; i++)
    {
      ChartaSearchClause *ca = a->clauses->pdata[i];
      ChartaSearchClause *cb = b->clauses->pdata[i];

      g_assert_cmpstr (ca->name, ==, cb->name);
      g_assert_true (ca->param == cb->param);
      g_assert_cmpint (ca->modifier, ==, cb->modifier);
      g_assert_cmpuint (ca->values->len, ==, cb->values->len);
      for (unsigned j = 0; j < ca->values->len; j++)
        g_assert_cmpstr (value_at (ca, j)->text, ==, value_at (cb, j)->text);
    }
  /* An unknown name with '=' in it is not kept in the pairs (it could not be told from its
   * value), so it is not in the round trip either. */
  {
    unsigned n = 0;

    for (unsigned i = 0; i < a->unknown->len; i++)
      if (strchr (a->unknown->pdata[i], '=') == NULL)
        n++;
    g_assert_cmpuint (n, ==, b->unknown->len);
  }
  g_assert_cmpint (a->count, ==, b->count);
  g_assert_cmpuint (a->sort->len, ==, b->sort->len);
  g_assert_cmpuint (a->includes->len, ==, b->includes->len);
  g_assert_cmpint (a->summary, ==, b->summary);
  g_assert_cmpint (a->total, ==, b->total);
  s2 = charta_search_query_to_string (b);
  g_assert_cmpstr (s, ==, s2);
}

static void
test_round_trip (void)
{
  static const char *const cases[] = {
    "name=Zo%C3%AB+van+Dijk&birthdate=ge1970&gender:not=male",
    "identifier=http://x.org/mrn%7C123&name=a%26b%3Dc%2Bd%25e",
    "name=a\\,b,c&_count=10&_sort=-birthdate&_total=accurate&_summary=data",
    "_has:Observation:patient:code=http://loinc.org|8480-6&_include:iterate=Patient:organization",
    "general-practitioner:Practitioner.name:exact=Bo&_elements=name,gender&foo=bar",
    "_lastUpdated=gt2020-03-15T10:30:00%2B02:00&_cursor=xyz&_format=json",
  };

  for (unsigned i = 0; i < G_N_ELEMENTS (cases); i++)
    check_round_trip ("Patient", cases[i], TRUE);

  {
    /* What needs it is percent-encoded: '&', '=', '+', '%', '|', '\', space, non-ASCII;
     * _cursor and _format are left out. */
    g_autoptr(ChartaSearchQuery) q =
      parse_ok ("Patient", "name=a%26b%3Dc%2Bd%25e+f%C3%AB&identifier=s|\\,x&_cursor=1&_format=json"
                           "&_include=Patient:organization");
    g_autofree char *s = charta_search_query_to_string (q);

    g_assert_cmpstr (s, ==,
                     "name=a%26b%3Dc%2Bd%25e%20f%C3%AB&identifier=s%7C%5C,x"
                     "&_include=Patient:organization");
  }
  {
    g_autoptr(ChartaSearchQuery) q =
      parse_ok ("Observation", "code-value-quantity=http://loinc.org|8480-6$gt100");
    g_autofree char *s = charta_search_query_to_string (q);

    g_assert_cmpstr (s, ==, "code-value-quantity=http://loinc.org%7C8480-6$gt100");
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Random and hostile input. */

static const char *const fragments[] = {
  "name", "=", "&", "%", "%00", "%zz", "%C3", "%2", "%26", "%3D", "+", "%2B", ":", ".", ",",
  "\\", "|", "$", "-", "*", "_has:", "_has:Observation:patient:", "_has:Observation:",
  "subject:Patient.", "subject.", "general-practitioner.", "organization.", "link:Patient.",
  "' OR 1=1 --", "; DROP TABLE resources; --", "\" UNION SELECT * FROM version --",
  "ge", "gt", "eq", "1970", "19xx", "2020-03-15T10:30:00", "_count", "_sort", "_include",
  "_revinclude", ":iterate", "Observation:subject", "Patient:organization", ":exact", ":foo",
  ":missing", ":text", ":of-type", ":Patient", ":identifier", "true", "birthdate",
  "code-value-quantity", "http://loinc.org|8480-6$gt100", "_elements", "_summary", "_list",
  "_type", "_filter", "_total", "_cursor", "_format", "identifier", "gender", "male", "_id",
  "_text", "5.4||mg", "value-quantity", "code", "\xc3\xab", "\xff", "\x01", "%C3%AB",
  "%FF", "_lastUpdated", "1e999", "-0", "99999999999999999999", "Patient/7", "7",
  "http://x/Patient/7/_history/2", "%5C%2C", "\\,", "\\$", "\\|",
};

static const char *const names[] = {
  "name", "birthdate", "gender", "identifier", "subject", "code", "value-quantity",
  "code-value-quantity", "_id", "_lastUpdated", "general-practitioner", "organization",
  "_count", "_sort", "_include", "_revinclude", "_has:Observation:patient:code",
  "subject:Patient.name", "general-practitioner.name", "_summary", "_total", "_elements",
  "_list", "_type", "_text", "_content", "_tag", "_profile", "foo", "date", "target._id",
};

static const char *const modifiers[] = {
  "", "", "", "", ":exact", ":contains", ":missing", ":not", ":text", ":in", ":above", ":below",
  ":of-type", ":Patient", ":identifier", ":iterate", ":foo",
};

static const char *const values[] = {
  "peter", "Zo%C3%AB", "ge1970", "lt2020-03-15T10:30:00%2B02:00", "male", "http://s|c", "|c",
  "s|", "Patient/7", "7", "true", "false", "5.4||mg", "le5.4|http://unitsofmeasure.org|mg",
  "http://loinc.org|8480-6$gt100", "10", "-birthdate,name", "Observation:subject", "*",
  "count", "accurate", "name,gender", "Patient,Observation", "a\\,b,c", "x%2Cy", "' OR 1=1 --",
  "a|b|c", "1970-13-45", "",
};

static char *
random_query (void)
{
  GString *s = g_string_new (NULL);
  unsigned n = (unsigned) g_test_rand_int_range (0, 24);
  int mode = g_test_rand_int_range (0, 5);

  if (mode == 0)
    {
      /* Raw bytes, NUL excepted. */
      for (unsigned i = 0; i < n * 4; i++)
        g_string_append_c (s, (char) g_test_rand_int_range (1, 256));
      return g_string_free (s, FALSE);
    }
  if (mode <= 2)
    {
      /* Plausible pairs, now and then with a fragment thrown in. */
      for (unsigned i = 0; i < n % 3 + 1; i++)
        {
          if (i > 0)
            g_string_append_c (s, '&');
          g_string_append (s, names[g_test_rand_int_range (0, G_N_ELEMENTS (names))]);
          g_string_append (s, modifiers[g_test_rand_int_range (0, G_N_ELEMENTS (modifiers))]);
          g_string_append_c (s, '=');
          g_string_append (s, values[g_test_rand_int_range (0, G_N_ELEMENTS (values))]);
          if (g_test_rand_int_range (0, 8) == 0)
            g_string_insert (s, g_test_rand_int_range (0, (gint32) s->len + 1),
                             fragments[g_test_rand_int_range (0, G_N_ELEMENTS (fragments))]);
        }
      return g_string_free (s, FALSE);
    }
  for (unsigned i = 0; i < n; i++)
    g_string_append (s, fragments[g_test_rand_int_range (0, G_N_ELEMENTS (fragments))]);
  return g_string_free (s, FALSE);
}

static void
test_hostile (void)
{
  static const char *const types[] = { "Patient", "Observation", NULL, "Provenance" };
  static const char *const fixed[] = {
    "%", "%%", "%0", "%00", "=", "==", "&=&", "name==", "name=%", ":", ".", "..", "_has",
    "_has:", "_has:::", "_has:Observation:patient:_has:", "subject.subject.subject.subject.x=1",
    "name=' OR '1'='1", "name=1; DROP TABLE x", "_sort=-", "_sort=,", "_include=::",
    "_include=*:*", "_count=+1", "_elements=,", "birthdate=ge", "birthdate=@2020",
    "_lastUpdated=ap", "code-value-quantity=$", "code-value-quantity=$$", "subject=/",
    "subject=//", "subject:Patient=Patient/", "subject=Patient/7/_history/",
    "target.target.target.target.target._id=1", "_list=\\", "identifier=\\", "name=\\\\\\",
  };
  unsigned n_ok = 0, n_error = 0;

  for (unsigned i = 0; i < G_N_ELEMENTS (fixed) + 4000; i++)
    {
      g_autofree char *text = i < G_N_ELEMENTS (fixed) ? g_strdup (fixed[i]) : random_query ();
      const char *type = types[i % G_N_ELEMENTS (types)];

      for (unsigned strict = 0; strict < 2; strict++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(ChartaSearchQuery) q =
            charta_search_query_parse (type, text, strict ? CHARTA_SEARCH_QUERY_STRICT : 0,
                                       &error);

          /* A query or an error, never both, never neither. */
          g_assert_true ((q == NULL) != (error == NULL));
          if (error != NULL)
            {
              g_assert_true (error->domain == CHARTA_FHIR_ERROR);
              g_assert_nonnull (error->message);
              g_assert_cmpuint (strlen (error->message), >, 0);
              g_assert_true (g_utf8_validate (error->message, -1, NULL));
              n_error++;
            }
          else
            {
              n_ok++;
              if (!strict)
                check_round_trip (type, text, TRUE);
            }
        }
    }
  g_test_message ("%u parsed, %u errors", n_ok, n_error);
  /* The mix must exercise both outcomes. */
  g_assert_cmpuint (n_ok, >, 100);
  g_assert_cmpuint (n_error, >, 100);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/charta/fhir/search-query/empty", test_empty);
  g_test_add_func ("/charta/fhir/search-query/string", test_string);
  g_test_add_func ("/charta/fhir/search-query/escapes", test_escapes);
  g_test_add_func ("/charta/fhir/search-query/token", test_token);
  g_test_add_func ("/charta/fhir/search-query/date", test_date);
  g_test_add_func ("/charta/fhir/search-query/number", test_number);
  g_test_add_func ("/charta/fhir/search-query/quantity", test_quantity);
  g_test_add_func ("/charta/fhir/search-query/reference", test_reference);
  g_test_add_func ("/charta/fhir/search-query/uri", test_uri);
  g_test_add_func ("/charta/fhir/search-query/composite", test_composite);
  g_test_add_func ("/charta/fhir/search-query/missing", test_missing);
  g_test_add_func ("/charta/fhir/search-query/chain", test_chain);
  g_test_add_func ("/charta/fhir/search-query/has", test_has);
  g_test_add_func ("/charta/fhir/search-query/count-total-summary", test_count_total_summary);
  g_test_add_func ("/charta/fhir/search-query/sort", test_sort);
  g_test_add_func ("/charta/fhir/search-query/elements", test_elements);
  g_test_add_func ("/charta/fhir/search-query/include", test_include);
  g_test_add_func ("/charta/fhir/search-query/system", test_system);
  g_test_add_func ("/charta/fhir/search-query/list-cursor-format", test_list_cursor_format);
  g_test_add_func ("/charta/fhir/search-query/unknown", test_unknown);
  g_test_add_func ("/charta/fhir/search-query/errors", test_errors);
  g_test_add_func ("/charta/fhir/search-query/limits", test_limits);
  g_test_add_func ("/charta/fhir/search-query/round-trip", test_round_trip);
  g_test_add_func ("/charta/fhir/search-query/hostile", test_hostile);

  return g_test_run ();
}
