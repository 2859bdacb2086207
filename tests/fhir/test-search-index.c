/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-search-index.c: search-index extraction.
 *
 * The normalisation rules (strings, date ranges, number precision, reference forms) are
 * checked against answers worked out by hand; then hand-built resources are extracted and
 * their values compared with what the R4 search page says they must be; then every valid
 * r4-examples file and one Synthea bundle must extract without error, with some known values
 * present.  With -m perf, extraction alone is timed over every Synthea bundle.
 */
#define G_LOG_DOMAIN "charta-test"

#include <math.h>
#include <string.h>

#include "charta-search-index-private.h"
#include "charta-test-util.h"

/* Microseconds per second and day, and some instants worked out by hand (checked with
 * `date -u -d … +%s`):
 *   1971-01-01T00:00:00Z = 365 days              =     31,536,000 s
 *   1970-03-15T00:00:00Z = (31 + 28 + 14) = 73 days =   6,307,200 s
 *   2020-01-01T00:00:00Z = 18,262 days           =  1,577,836,800 s
 *   2020-03-15T10:30:00+02:00 = 2020-03-15T08:30:00Z
 *                        = 18,262 + 31 + 29 + 14 = 18,336 days, + 30,600 s = 1,584,261,000 s
 *   2015-02-07T13:28:17+02:00 = 1,423,308,497 s
 *   2013-05-13T08:00:00-05:00 = 1,368,450,000 s */
#define US G_GINT64_CONSTANT (1000000)
#define DAY_US (G_GINT64_CONSTANT (86400) * US)

/* ---------------------------------------------------------------------------------------- */
/* Helpers. */

static GPtrArray *
extract_all (ChartaResource *resource)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *values = charta_search_index_extract (resource, &error);

  g_assert_no_error (error);
  g_assert_nonnull (values);
  return values;
}

/* The values of parameter @code among @values (borrowed pointers). */
static GPtrArray *
values_of (GPtrArray  *values,
           const char *code)
{
  GPtrArray *found = g_ptr_array_new ();

  for (unsigned i = 0; i < values->len; i++)
    {
      ChartaIndexValue *v = values->pdata[i];

      g_assert_nonnull (v->param);
      if (strcmp (v->param->code, code) == 0)
        g_ptr_array_add (found, v);
    }
  return found;
}

static gboolean
has_string (GPtrArray  *values,
            const char *code,
            const char *normalized,
            const char *text)
{
  g_autoptr(GPtrArray) found = values_of (values, code);

  for (unsigned i = 0; i < found->len; i++)
    {
      ChartaIndexValue *v = found->pdata[i];

      g_assert_cmpint (v->type, ==, CHARTA_SEARCH_TYPE_STRING);
      if (g_strcmp0 (v->normalized, normalized) == 0 && g_strcmp0 (v->text, text) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
token_matches (ChartaIndexValue *v,
               const char       *system,
               const char       *code,
               const char       *display)
{
  return g_strcmp0 (v->system, system) == 0 && g_strcmp0 (v->code, code) == 0 &&
         g_strcmp0 (v->display, display) == 0;
}

static gboolean
has_token (GPtrArray  *values,
           const char *param,
           const char *system,
           const char *code,
           const char *display)
{
  g_autoptr(GPtrArray) found = values_of (values, param);

  for (unsigned i = 0; i < found->len; i++)
    {
      ChartaIndexValue *v = found->pdata[i];

      g_assert_cmpint (v->type, ==, CHARTA_SEARCH_TYPE_TOKEN);
      if (token_matches (v, system, code, display))
        return TRUE;
    }
  return FALSE;
}

/* The single value of @code, failing the test when there are none or several. */
static ChartaIndexValue *
only_value (GPtrArray  *values,
            const char *code)
{
  g_autoptr(GPtrArray) found = values_of (values, code);

  if (found->len != 1)
    g_test_message ("parameter %s has %u values", code, found->len);
  g_assert_cmpuint (found->len, ==, 1);
  return found->pdata[0];
}

static void
assert_number_range (const ChartaIndexValue *v,
                     double                  number,
                     double                  low,
                     double                  high)
{
  g_assert_cmpfloat_with_epsilon (v->number, number, 1e-12);
  g_assert_cmpfloat_with_epsilon (v->number_low, low, 1e-12);
  g_assert_cmpfloat_with_epsilon (v->number_high, high, 1e-12);
}

/* ---------------------------------------------------------------------------------------- */
/* Normalisation rules. */

static void
test_normalize (void)
{
  static const struct
  {
    const char *in;
    const char *out;
  } cases[] = {
    { "Chalmers", "chalmers" },
    { "Zoë", "zoe" },
    { "ZOË", "zoe" },
    { "Zoe\xcc\x88", "zoe" },            /* already decomposed: e + U+0308 */
    { "Ångström", "angstrom" },
    { "Müller-Lüdenscheidt", "muller-ludenscheidt" },
    { "François Čapek", "francois capek" },
    { "Straße", "strasse" },             /* case folding expands ß */
    { "Ǆemal", "dzemal" },               /* NFKD splits the ligature */
    { "ΣΊΣΥΦΟΣ", "σισυφοσ" },            /* Greek: accents dropped, folded (final sigma too) */
    { "123 Main St.", "123 main st." },
    { "", "" },
  };

  for (unsigned i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = charta_search_normalize_string (cases[i].in, -1);

      g_assert_cmpstr (got, ==, cases[i].out);
    }

  {
    /* An explicit length stops early. */
    g_autofree char *got = charta_search_normalize_string ("ABCdef", 3);

    g_assert_cmpstr (got, ==, "abc");
  }
}

static void
test_date_range (void)
{
  int64_t low = 0, high = 0;

  /* A year: the whole of 1970 (365 days). */
  g_assert_true (charta_search_date_range ("1970", &low, &high));
  g_assert_cmpint (low, ==, 0);
  g_assert_cmpint (high, ==, G_GINT64_CONSTANT (31536000) * US - 1);

  /* A leap year: 2020 has 366 days. */
  g_assert_true (charta_search_date_range ("2020", &low, &high));
  g_assert_cmpint (low, ==, G_GINT64_CONSTANT (1577836800) * US);
  g_assert_cmpint (high, ==, G_GINT64_CONSTANT (1577836800) * US + 366 * DAY_US - 1);

  /* A month: February 2020 has 29 days; 2020-02-01 is 31 days after 2020-01-01. */
  g_assert_true (charta_search_date_range ("2020-02", &low, &high));
  g_assert_cmpint (low, ==, G_GINT64_CONSTANT (1577836800) * US + 31 * DAY_US);
  g_assert_cmpint (high, ==, G_GINT64_CONSTANT (1577836800) * US + 60 * DAY_US - 1);

  /* December rolls into the next year. */
  g_assert_true (charta_search_date_range ("2019-12", &low, &high));
  g_assert_cmpint (low, ==, G_GINT64_CONSTANT (1577836800) * US - 31 * DAY_US);
  g_assert_cmpint (high, ==, G_GINT64_CONSTANT (1577836800) * US - 1);

  /* A day. */
  g_assert_true (charta_search_date_range ("1970-03-15", &low, &high));
  g_assert_cmpint (low, ==, 73 * DAY_US);
  g_assert_cmpint (high, ==, 74 * DAY_US - 1);

  /* Before the epoch: 1969-12-31 is day -1. */
  g_assert_true (charta_search_date_range ("1969-12-31", &low, &high));
  g_assert_cmpint (low, ==, -DAY_US);
  g_assert_cmpint (high, ==, -1);

  /* A dateTime with an offset covers one second, in UTC. */
  g_assert_true (charta_search_date_range ("2020-03-15T10:30:00+02:00", &low, &high));
  g_assert_cmpint (low, ==, G_GINT64_CONSTANT (1584261000) * US);
  g_assert_cmpint (high, ==, G_GINT64_CONSTANT (1584261000) * US + US - 1);

  /* Z and no zone are both UTC. */
  g_assert_true (charta_search_date_range ("2020-03-15T08:30:00Z", &low, &high));
  g_assert_cmpint (low, ==, G_GINT64_CONSTANT (1584261000) * US);
  g_assert_true (charta_search_date_range ("2020-03-15T08:30:00", &low, &high));
  g_assert_cmpint (low, ==, G_GINT64_CONSTANT (1584261000) * US);

  /* A negative offset. */
  g_assert_true (charta_search_date_range ("2013-05-13T08:00:00-05:00", &low, &high));
  g_assert_cmpint (low, ==, G_GINT64_CONSTANT (1368450000) * US);

  /* Fractions: milliseconds cover a millisecond, microseconds one microsecond, and digits past
   * the sixth are dropped. */
  g_assert_true (charta_search_date_range ("2015-02-07T13:28:17.239+02:00", &low, &high));
  g_assert_cmpint (low, ==, G_GINT64_CONSTANT (1423308497) * US + 239000);
  g_assert_cmpint (high, ==, G_GINT64_CONSTANT (1423308497) * US + 239999);
  g_assert_true (charta_search_date_range ("2015-02-07T13:28:17.5+02:00", &low, &high));
  g_assert_cmpint (low, ==, G_GINT64_CONSTANT (1423308497) * US + 500000);
  g_assert_cmpint (high, ==, G_GINT64_CONSTANT (1423308497) * US + 599999);
  g_assert_true (charta_search_date_range ("2015-02-07T13:28:17.123456789+02:00", &low, &high));
  g_assert_cmpint (low, ==, G_GINT64_CONSTANT (1423308497) * US + 123456);
  g_assert_cmpint (high, ==, low);

  /* FHIRPath literals: '@' and partial times. */
  g_assert_true (charta_search_date_range ("@2020-03-15T10:30+02:00", &low, &high));
  g_assert_cmpint (low, ==, G_GINT64_CONSTANT (1584261000) * US);
  g_assert_cmpint (high, ==, G_GINT64_CONSTANT (1584261000) * US + 60 * US - 1);

  /* Not dates. */
  g_assert_false (charta_search_date_range ("", &low, &high));
  g_assert_false (charta_search_date_range ("70", &low, &high));
  g_assert_false (charta_search_date_range ("1970-13", &low, &high));
  g_assert_false (charta_search_date_range ("2019-02-29", &low, &high));
  g_assert_false (charta_search_date_range ("2020-02-30", &low, &high));
  g_assert_false (charta_search_date_range ("2020-01-01T25:00:00Z", &low, &high));
  g_assert_false (charta_search_date_range ("2020-01-01 10:00:00Z", &low, &high));
  g_assert_false (charta_search_date_range ("2020-01T10:00:00Z", &low, &high));
  g_assert_false (charta_search_date_range ("2020-01-01T10:00:00+0200", &low, &high));
  g_assert_false (charta_search_date_range ("2020-01-01T10:00:00.Z", &low, &high));
  g_assert_false (charta_search_date_range ("2020-01-01x", &low, &high));
}

static void
test_number_range (void)
{
  double n, l, h;

  g_assert_true (charta_search_number_range ("2.0", &n, &l, &h));
  g_assert_true (n == 2.0 && l == 1.95 && h == 2.05);

  g_assert_true (charta_search_number_range ("100", &n, &l, &h));
  g_assert_true (n == 100.0 && l == 99.5 && h == 100.5);

  g_assert_true (charta_search_number_range ("5.4", &n, &l, &h));
  g_assert_true (n == 5.4 && l == 5.35 && h == 5.45);

  /* Trailing zeros are precision: 1.50 is ±0.005, 1.5 ±0.05. */
  g_assert_true (charta_search_number_range ("1.50", &n, &l, &h));
  g_assert_true (n == 1.5 && l == 1.495 && h == 1.505);

  g_assert_true (charta_search_number_range ("-2.0", &n, &l, &h));
  g_assert_true (n == -2.0 && l == -2.05 && h == -1.95);

  g_assert_true (charta_search_number_range ("0.05", &n, &l, &h));
  g_assert_true (n == 0.05 && l == 0.045 && h == 0.055);

  g_assert_true (charta_search_number_range ("0", &n, &l, &h));
  g_assert_true (n == 0.0 && l == -0.5 && h == 0.5);

  /* Exponents scale the last digit: 1.5e2 is 150 ± 5, 1e2 is 100 ± 50. */
  g_assert_true (charta_search_number_range ("1.5e2", &n, &l, &h));
  g_assert_true (n == 150.0 && l == 145.0 && h == 155.0);
  g_assert_true (charta_search_number_range ("1E2", &n, &l, &h));
  g_assert_true (n == 100.0 && l == 50.0 && h == 150.0);
  g_assert_true (charta_search_number_range ("25e-3", &n, &l, &h));
  g_assert_true (n == 0.025 && l == 0.0245 && h == 0.0255);

  /* Many digits fall back to approximate arithmetic but still bracket the value (here more
   * finely than a double resolves). */
  g_assert_true (charta_search_number_range ("3.14159265358979323846", &n, &l, &h));
  g_assert_true (l <= n && n <= h && h - l < 1e-15 && fabs (n - 3.141592653589793) < 1e-15);
  g_assert_true (charta_search_number_range ("12345678901234567890.5", &n, &l, &h));
  g_assert_true (l <= n && n <= h && n > 1.2345678901e19);

  g_assert_false (charta_search_number_range ("", &n, &l, &h));
  g_assert_false (charta_search_number_range ("abc", &n, &l, &h));
  g_assert_false (charta_search_number_range ("1.", &n, &l, &h));
  g_assert_false (charta_search_number_range ("1e", &n, &l, &h));
  g_assert_false (charta_search_number_range ("1.5x", &n, &l, &h));
}

static void
test_reference_parse (void)
{
  static const struct
  {
    const char *in;
    const char *type, *id, *version, *url;
  } cases[] = {
    { "Patient/7", "Patient", "7", NULL, NULL },
    { "Patient/7/_history/2", "Patient", "7", "2", NULL },
    { "http://x/fhir/Patient/7", "Patient", "7", NULL, "http://x/fhir/Patient/7" },
    { "https://x.org/r4/Observation/a.b-c/_history/3", "Observation", "a.b-c", "3",
      "https://x.org/r4/Observation/a.b-c/_history/3" },
    { "#p1", NULL, NULL, NULL, "#p1" },
    { "urn:uuid:6f1c9a4e-0000-4000-8000-000000000001", NULL, NULL, NULL,
      "urn:uuid:6f1c9a4e-0000-4000-8000-000000000001" },
    { "urn:oid:1.2.3", NULL, NULL, NULL, "urn:oid:1.2.3" },
    /* Not Type/id: kept as a url. */
    { "Unicorn/7", NULL, NULL, NULL, "Unicorn/7" },
    { "Patient?identifier=x|1", NULL, NULL, NULL, "Patient?identifier=x|1" },
    { "foo/Patient/7", NULL, NULL, NULL, "foo/Patient/7" },
    { "http://x/fhir/metadata", NULL, NULL, NULL, "http://x/fhir/metadata" },
  };

  for (unsigned i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      ChartaIndexValue *v = g_new0 (ChartaIndexValue, 1);

      g_test_message ("reference %s", cases[i].in);
      g_assert_true (charta_search_parse_reference (cases[i].in, v));
      g_assert_cmpstr (v->ref_type, ==, cases[i].type);
      g_assert_cmpstr (v->ref_id, ==, cases[i].id);
      g_assert_cmpstr (v->ref_version, ==, cases[i].version);
      g_assert_cmpstr (v->ref_url, ==, cases[i].url);
      charta_index_value_free (v);
    }

  {
    ChartaIndexValue v = { 0 };

    g_assert_false (charta_search_parse_reference ("", &v));
    g_assert_false (charta_search_parse_reference (NULL, &v));
    g_assert_null (v.ref_url);
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Hand-built resources. */

static const char patient_json[] =
  "{\"resourceType\":\"Patient\",\"id\":\"p1\","
  "\"identifier\":[{\"type\":{\"coding\":[{\"system\":"
  "\"http://terminology.hl7.org/CodeSystem/v2-0203\",\"code\":\"MR\"}],"
  "\"text\":\"Medical record\"},"
  "\"system\":\"urn:oid:1.2.36.146.595.217.0.1\",\"value\":\"12345\"},"
  "{\"system\":\"http://ssn.example\",\"value\":\"999-99-9999\"}],"
  "\"active\":true,"
  "\"name\":[{\"use\":\"official\",\"family\":\"Bürger\",\"given\":[\"Zoë\",\"Anne\"],"
  "\"prefix\":[\"Dr.\"],\"suffix\":[\"PhD\"]},{\"text\":\"Zoë Bürger\"}],"
  "\"telecom\":[{\"system\":\"email\",\"value\":\"zoe@example.org\"},"
  "{\"system\":\"phone\",\"value\":\"+1 555 0100\"}],"
  "\"gender\":\"female\","
  "\"birthDate\":\"1970\","
  "\"address\":[{\"line\":[\"1 Rue de l'Église\"],\"city\":\"Genève\",\"postalCode\":\"1204\","
  "\"country\":\"CH\"}]}";

static void
test_patient (void)
{
  g_autoptr(ChartaResource) resource = charta_test_parse (patient_json);
  g_autoptr(GPtrArray) values = extract_all (resource);
  ChartaIndexValue *v;

  /* name: every part, normalised and as written. */
  g_assert_true (has_string (values, "name", "burger", "Bürger"));
  g_assert_true (has_string (values, "name", "zoe", "Zoë"));
  g_assert_true (has_string (values, "name", "anne", "Anne"));
  g_assert_true (has_string (values, "name", "dr.", "Dr."));
  g_assert_true (has_string (values, "name", "phd", "PhD"));
  g_assert_true (has_string (values, "name", "zoe burger", "Zoë Bürger"));
  {
    g_autoptr(GPtrArray) names = values_of (values, "name");

    g_assert_cmpuint (names->len, ==, 6);
  }
  g_assert_true (has_string (values, "family", "burger", "Bürger"));
  g_assert_false (has_string (values, "family", "zoe", "Zoë"));
  g_assert_true (has_string (values, "given", "zoe", "Zoë"));
  g_assert_true (has_string (values, "address", "1 rue de l'eglise", "1 Rue de l'Église"));
  g_assert_true (has_string (values, "address-city", "geneve", "Genève"));
  g_assert_true (has_string (values, "address", "1204", "1204"));
  g_assert_true (has_string (values, "address", "ch", "CH"));

  /* birthdate "1970": the whole year. */
  v = only_value (values, "birthdate");
  g_assert_cmpint (v->type, ==, CHARTA_SEARCH_TYPE_DATE);
  g_assert_cmpint (v->date_low, ==, 0);
  g_assert_cmpint (v->date_high, ==, G_GINT64_CONSTANT (31536000) * US - 1);

  /* active: a boolean token. */
  v = only_value (values, "active");
  g_assert_cmpint (v->type, ==, CHARTA_SEARCH_TYPE_TOKEN);
  g_assert_null (v->system);
  g_assert_cmpstr (v->code, ==, "true");

  /* gender: a code token. */
  g_assert_true (has_token (values, "gender", NULL, "female", NULL));

  /* identifier: system|value, type text as display, type coding for :of-type. */
  {
    g_autoptr(GPtrArray) ids = values_of (values, "identifier");
    gboolean found_mr = FALSE, found_ssn = FALSE;

    g_assert_cmpuint (ids->len, ==, 2);
    for (unsigned i = 0; i < ids->len; i++)
      {
        v = ids->pdata[i];
        if (token_matches (v, "urn:oid:1.2.36.146.595.217.0.1", "12345", "Medical record"))
          {
            g_assert_cmpstr (v->identifier_type_system, ==,
                             "http://terminology.hl7.org/CodeSystem/v2-0203");
            g_assert_cmpstr (v->identifier_type_code, ==, "MR");
            found_mr = TRUE;
          }
        else if (token_matches (v, "http://ssn.example", "999-99-9999", NULL))
          {
            g_assert_null (v->identifier_type_system);
            g_assert_null (v->identifier_type_code);
            found_ssn = TRUE;
          }
      }
    g_assert_true (found_mr);
    g_assert_true (found_ssn);
  }

  /* telecom: ContactPoint value as code, its system as system; email only the email. */
  g_assert_true (has_token (values, "telecom", "email", "zoe@example.org", NULL));
  g_assert_true (has_token (values, "telecom", "phone", "+1 555 0100", NULL));
  v = only_value (values, "email");
  g_assert_cmpstr (v->code, ==, "zoe@example.org");
  v = only_value (values, "phone");
  g_assert_cmpstr (v->code, ==, "+1 555 0100");

  /* _id. */
  g_assert_true (has_token (values, "_id", NULL, "p1", NULL));

  /* deceased: computed by the expression, false when absent. */
  g_assert_true (has_token (values, "deceased", NULL, "false", NULL));

  /* Every value belongs to a parameter of Patient (or Resource/DomainResource). */
  for (unsigned i = 0; i < values->len; i++)
    {
      v = values->pdata[i];
      g_assert_true (g_str_equal (v->param->resource_type, "Patient") ||
                     g_str_equal (v->param->resource_type, "Resource") ||
                     g_str_equal (v->param->resource_type, "DomainResource"));
      g_assert_cmpint (v->type, ==, v->param->type);
    }
}

static void
test_birthdate_day (void)
{
  g_autoptr(ChartaResource) resource =
    charta_test_parse ("{\"resourceType\":\"Patient\",\"birthDate\":\"1970-03-15\","
                       "\"deceasedDateTime\":\"2015-02-07T13:28:17.239+02:00\"}");
  g_autoptr(GPtrArray) values = extract_all (resource);
  ChartaIndexValue *v;

  v = only_value (values, "birthdate");
  g_assert_cmpint (v->date_low, ==, 73 * DAY_US);
  g_assert_cmpint (v->date_high, ==, 74 * DAY_US - 1);

  v = only_value (values, "death-date");
  g_assert_cmpint (v->date_low, ==, G_GINT64_CONSTANT (1423308497) * US + 239000);
  g_assert_cmpint (v->date_high, ==, G_GINT64_CONSTANT (1423308497) * US + 239999);

  g_assert_true (has_token (values, "deceased", NULL, "true", NULL));
}

static const char observation_json[] =
  "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"status\":\"final\","
  "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"2345-7\","
  "\"display\":\"Glucose\"},{\"system\":\"http://snomed.info/sct\",\"code\":\"33747003\"}],"
  "\"text\":\"Blood sugar\"},"
  "\"subject\":{\"reference\":\"Patient/7\",\"display\":\"Zoë\"},"
  "\"effectiveDateTime\":\"2020-03-15T10:30:00+02:00\","
  "\"performer\":[{\"reference\":\"Practitioner/9/_history/2\"},"
  "{\"reference\":\"http://other.example/fhir/Organization/o-3\"},"
  "{\"display\":\"only a name\"},"
  "{\"identifier\":{\"system\":\"http://npi.example\",\"value\":\"123\"}}],"
  "\"valueQuantity\":{\"value\":5.4,\"unit\":\"mg/dL\",\"system\":\"http://unitsofmeasure.org\","
  "\"code\":\"mg/dL\"},"
  "\"component\":[{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\"}]},"
  "\"valueQuantity\":{\"value\":120,\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\","
  "\"code\":\"mm[Hg]\"}},"
  "{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8462-4\"}]},"
  "\"valueQuantity\":{\"value\":80.0,\"unit\":\"mmHg\"}}]}";

static ChartaIndexValue *
find_composite (GPtrArray  *values,
                const char *param,
                const char *code)
{
  g_autoptr(GPtrArray) found = values_of (values, param);

  for (unsigned i = 0; i < found->len; i++)
    {
      ChartaIndexValue *v = found->pdata[i];
      ChartaIndexValue *first;

      g_assert_cmpint (v->type, ==, CHARTA_SEARCH_TYPE_COMPOSITE);
      g_assert_nonnull (v->components);
      g_assert_cmpuint (v->components->len, ==, 2);
      first = v->components->pdata[0];
      if (g_strcmp0 (first->code, code) == 0)
        return v;
    }
  return NULL;
}

static void
test_observation (void)
{
  g_autoptr(ChartaResource) resource = charta_test_parse (observation_json);
  g_autoptr(GPtrArray) values = extract_all (resource);
  ChartaIndexValue *v, *c0, *c1;

  /* code: each coding, and the text alone. */
  g_assert_true (has_token (values, "code", "http://loinc.org", "2345-7", "Glucose"));
  g_assert_true (has_token (values, "code", "http://snomed.info/sct", "33747003", NULL));
  g_assert_true (has_token (values, "code", NULL, NULL, "Blood sugar"));
  {
    g_autoptr(GPtrArray) codes = values_of (values, "code");

    g_assert_cmpuint (codes->len, ==, 3);
  }
  /* combo-code: the code's and the components' codes. */
  g_assert_true (has_token (values, "combo-code", "http://loinc.org", "2345-7", "Glucose"));
  g_assert_true (has_token (values, "combo-code", "http://loinc.org", "8480-6", NULL));
  g_assert_true (has_token (values, "component-code", "http://loinc.org", "8462-4", NULL));
  g_assert_false (has_token (values, "component-code", "http://loinc.org", "2345-7", "Glucose"));

  /* value-quantity: 5.4 is 5.35..5.45. */
  v = only_value (values, "value-quantity");
  g_assert_cmpint (v->type, ==, CHARTA_SEARCH_TYPE_QUANTITY);
  assert_number_range (v, 5.4, 5.35, 5.45);
  g_assert_cmpstr (v->unit_system, ==, "http://unitsofmeasure.org");
  g_assert_cmpstr (v->unit_code, ==, "mg/dL");
  g_assert_cmpstr (v->unit, ==, "mg/dL");

  /* component-value-quantity: the code falls back to the unit; 80.0 is 79.95..80.05. */
  {
    g_autoptr(GPtrArray) cvq = values_of (values, "component-value-quantity");
    gboolean found80 = FALSE, found120 = FALSE;

    g_assert_cmpuint (cvq->len, ==, 2);
    for (unsigned i = 0; i < cvq->len; i++)
      {
        v = cvq->pdata[i];
        if (v->number == 80.0)
          {
            assert_number_range (v, 80.0, 79.95, 80.05);
            g_assert_null (v->unit_system);
            g_assert_cmpstr (v->unit_code, ==, "mmHg");
            found80 = TRUE;
          }
        else
          {
            assert_number_range (v, 120.0, 119.5, 120.5);
            g_assert_cmpstr (v->unit_code, ==, "mm[Hg]");
            found120 = TRUE;
          }
      }
    g_assert_true (found80 && found120);
  }

  /* code-value-quantity: the cartesian product of code (3 values) and value (1). */
  {
    g_autoptr(GPtrArray) cvq = values_of (values, "code-value-quantity");

    g_assert_cmpuint (cvq->len, ==, 3);
  }
  v = find_composite (values, "code-value-quantity", "2345-7");
  g_assert_nonnull (v);
  c0 = v->components->pdata[0];
  c1 = v->components->pdata[1];
  g_assert_cmpint (c0->type, ==, CHARTA_SEARCH_TYPE_TOKEN);
  g_assert_cmpstr (c0->system, ==, "http://loinc.org");
  g_assert_cmpint (c1->type, ==, CHARTA_SEARCH_TYPE_QUANTITY);
  assert_number_range (c1, 5.4, 5.35, 5.45);
  g_assert_cmpstr (c1->unit_code, ==, "mg/dL");
  g_assert_nonnull (c0->param);
  g_assert_nonnull (c1->param);
  g_assert_cmpint (c0->param->type, ==, CHARTA_SEARCH_TYPE_TOKEN);
  g_assert_cmpint (c1->param->type, ==, CHARTA_SEARCH_TYPE_QUANTITY);
  /* The components are Observation's own rows of clinical-code and value-quantity. */
  g_assert_cmpstr (c0->param->resource_type, ==, "Observation");
  g_assert_cmpstr (c0->param->code, ==, "code");
  g_assert_cmpstr (c1->param->resource_type, ==, "Observation");
  g_assert_cmpstr (c1->param->code, ==, "value-quantity");

  /* component-code-value-quantity: one per component, pairing each code with its own value. */
  {
    g_autoptr(GPtrArray) ccvq = values_of (values, "component-code-value-quantity");

    g_assert_cmpuint (ccvq->len, ==, 2);
  }
  v = find_composite (values, "component-code-value-quantity", "8480-6");
  g_assert_nonnull (v);
  c1 = v->components->pdata[1];
  assert_number_range (c1, 120.0, 119.5, 120.5);
  v = find_composite (values, "component-code-value-quantity", "8462-4");
  g_assert_nonnull (v);
  c1 = v->components->pdata[1];
  assert_number_range (c1, 80.0, 79.95, 80.05);

  /* subject and patient: Patient/7 (a display is no value). */
  v = only_value (values, "subject");
  g_assert_cmpint (v->type, ==, CHARTA_SEARCH_TYPE_REFERENCE);
  g_assert_cmpstr (v->ref_type, ==, "Patient");
  g_assert_cmpstr (v->ref_id, ==, "7");
  g_assert_null (v->ref_version);
  g_assert_null (v->ref_url);
  v = only_value (values, "patient");
  g_assert_cmpstr (v->ref_id, ==, "7");

  /* performer: versioned, absolute, display-only (nothing), identifier-only. */
  {
    g_autoptr(GPtrArray) perf = values_of (values, "performer");
    gboolean versioned = FALSE, absolute = FALSE, identifier = FALSE;

    g_assert_cmpuint (perf->len, ==, 3);
    for (unsigned i = 0; i < perf->len; i++)
      {
        v = perf->pdata[i];
        if (g_strcmp0 (v->ref_type, "Practitioner") == 0)
          {
            g_assert_cmpstr (v->ref_id, ==, "9");
            g_assert_cmpstr (v->ref_version, ==, "2");
            g_assert_null (v->ref_url);
            versioned = TRUE;
          }
        else if (g_strcmp0 (v->ref_type, "Organization") == 0)
          {
            g_assert_cmpstr (v->ref_id, ==, "o-3");
            g_assert_cmpstr (v->ref_url, ==, "http://other.example/fhir/Organization/o-3");
            absolute = TRUE;
          }
        else
          {
            g_assert_null (v->ref_type);
            g_assert_null (v->ref_url);
            g_assert_cmpstr (v->system, ==, "http://npi.example");
            g_assert_cmpstr (v->code, ==, "123");
            identifier = TRUE;
          }
      }
    g_assert_true (versioned && absolute && identifier);
  }

  /* date: one second, with the +02:00 offset applied. */
  v = only_value (values, "date");
  g_assert_cmpint (v->date_low, ==, G_GINT64_CONSTANT (1584261000) * US);
  g_assert_cmpint (v->date_high, ==, G_GINT64_CONSTANT (1584261000) * US + US - 1);

  /* status. */
  g_assert_true (has_token (values, "status", NULL, "final", NULL));
}

/* An Observation whose subject is @reference: the value of "subject". */
static void
check_subject (const char *reference,
               const char *type,
               const char *id,
               const char *version,
               const char *url)
{
  g_autofree char *json =
    g_strdup_printf ("{\"resourceType\":\"Observation\",\"status\":\"final\","
                     "\"code\":{\"text\":\"x\"},\"subject\":{\"reference\":\"%s\"}}",
                     reference);
  g_autoptr(ChartaResource) resource = charta_test_parse (json);
  const ChartaSearchParamDef *param = charta_model_lookup_search_param ("Observation", "subject");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) values = NULL;
  ChartaIndexValue *v;

  g_assert_nonnull (param);
  values = charta_search_index_extract_param (resource, param, &error);
  g_assert_no_error (error);
  g_assert_nonnull (values);
  g_assert_cmpuint (values->len, ==, 1);
  v = values->pdata[0];
  g_assert_true (v->param == param);
  g_assert_cmpstr (v->ref_type, ==, type);
  g_assert_cmpstr (v->ref_id, ==, id);
  g_assert_cmpstr (v->ref_version, ==, version);
  g_assert_cmpstr (v->ref_url, ==, url);
}

static void
test_reference_forms (void)
{
  check_subject ("Patient/7", "Patient", "7", NULL, NULL);
  check_subject ("Patient/7/_history/2", "Patient", "7", "2", NULL);
  check_subject ("http://x/fhir/Patient/7", "Patient", "7", NULL, "http://x/fhir/Patient/7");
  check_subject ("urn:uuid:0b1f3c5e-0000-4000-8000-000000000007", NULL, NULL, NULL,
                 "urn:uuid:0b1f3c5e-0000-4000-8000-000000000007");
}

static void
test_observation_instant (void)
{
  g_autoptr(ChartaResource) resource = charta_test_parse (
    "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
    "\"effectiveInstant\":\"2015-02-07T13:28:17.239+02:00\","
    "\"valueString\":\"Très Élevé\"}");
  g_autoptr(GPtrArray) values = extract_all (resource);
  ChartaIndexValue *v;

  v = only_value (values, "date");
  g_assert_cmpint (v->date_low, ==, G_GINT64_CONSTANT (1423308497) * US + 239000);
  g_assert_cmpint (v->date_high, ==, G_GINT64_CONSTANT (1423308497) * US + 239999);

  g_assert_true (has_string (values, "value-string", "tres eleve", "Très Élevé"));
  /* value-quantity finds nothing in a string value. */
  {
    g_autoptr(GPtrArray) q = values_of (values, "value-quantity");

    g_assert_cmpuint (q->len, ==, 0);
  }
}

static void
test_encounter_period (void)
{
  g_autoptr(ChartaResource) resource = charta_test_parse (
    "{\"resourceType\":\"Encounter\",\"status\":\"in-progress\","
    "\"class\":{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActCode\","
    "\"code\":\"IMP\"},\"period\":{\"start\":\"2020-01-01\"},"
    "\"length\":{\"value\":90,\"unit\":\"min\",\"system\":\"http://unitsofmeasure.org\","
    "\"code\":\"min\"}}");
  g_autoptr(GPtrArray) values = extract_all (resource);
  ChartaIndexValue *v;

  /* An open end runs to the end of time. */
  v = only_value (values, "date");
  g_assert_cmpint (v->date_low, ==, G_GINT64_CONSTANT (1577836800) * US);
  g_assert_cmpint (v->date_high, ==, G_MAXINT64);

  /* length: a Duration is a quantity. */
  v = only_value (values, "length");
  assert_number_range (v, 90.0, 89.5, 90.5);
  g_assert_cmpstr (v->unit_code, ==, "min");

  g_assert_true (has_token (values, "class", "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                            "IMP", NULL));
}

static void
test_encounter_closed_period (void)
{
  g_autoptr(ChartaResource) resource =
    charta_test_parse ("{\"resourceType\":\"Encounter\",\"status\":\"finished\","
                       "\"class\":{\"code\":\"AMB\"},"
                       "\"period\":{\"start\":\"2013-05-13T08:00:00-05:00\",\"end\":\"2020-03\"}}");
  g_autoptr(GPtrArray) values = extract_all (resource);
  ChartaIndexValue *v;

  /* From the start's first instant to the end's last (the end of March 2020:
   * 2020-04-01 is 18,262 + 31 + 29 + 31 = 18,353 days). */
  v = only_value (values, "date");
  g_assert_cmpint (v->date_low, ==, G_GINT64_CONSTANT (1368450000) * US);
  g_assert_cmpint (v->date_high, ==, G_GINT64_CONSTANT (18353) * DAY_US - 1);
}

static void
test_valueset_url (void)
{
  g_autoptr(ChartaResource) resource = charta_test_parse (
    "{\"resourceType\":\"ValueSet\",\"url\":\"http://example.org/fhir/ValueSet/Colours\","
    "\"version\":\"1.0\",\"name\":\"Colours\",\"status\":\"active\"}");
  g_autoptr(GPtrArray) values = extract_all (resource);
  ChartaIndexValue *v;

  v = only_value (values, "url");
  g_assert_cmpint (v->type, ==, CHARTA_SEARCH_TYPE_URI);
  /* URIs are not case-folded. */
  g_assert_cmpstr (v->text, ==, "http://example.org/fhir/ValueSet/Colours");
  g_assert_cmpstr (v->normalized, ==, "http://example.org/fhir/ValueSet/Colours");

  g_assert_true (has_token (values, "version", NULL, "1.0", NULL));
  g_assert_true (has_string (values, "name", "colours", "Colours"));
}

static void
test_number (void)
{
  g_autoptr(ChartaResource) resource = charta_test_parse (
    "{\"resourceType\":\"RiskAssessment\",\"status\":\"final\","
    "\"subject\":{\"reference\":\"Patient/7\"},"
    "\"prediction\":[{\"probabilityDecimal\":0.25},{\"probabilityDecimal\":2.0},"
    "{\"probabilityRange\":{\"low\":{\"value\":10},\"high\":{\"value\":20.5}}}]}");
  g_autoptr(GPtrArray) values = extract_all (resource);
  g_autoptr(GPtrArray) p = values_of (values, "probability");
  gboolean seen[3] = { FALSE, FALSE, FALSE };

  g_assert_cmpuint (p->len, ==, 3);
  for (unsigned i = 0; i < p->len; i++)
    {
      ChartaIndexValue *v = p->pdata[i];

      g_assert_cmpint (v->type, ==, CHARTA_SEARCH_TYPE_NUMBER);
      if (v->number == 0.25)
        {
          assert_number_range (v, 0.25, 0.245, 0.255);
          seen[0] = TRUE;
        }
      else if (v->number == 2.0)
        {
          assert_number_range (v, 2.0, 1.95, 2.05);
          seen[1] = TRUE;
        }
      else
        {
          /* A Range: from low's lower bound to high's upper bound. */
          assert_number_range (v, 10.0, 9.5, 20.55);
          seen[2] = TRUE;
        }
    }
  g_assert_true (seen[0] && seen[1] && seen[2]);
}

static void
test_quantity_forms (void)
{
  g_autoptr(ChartaResource) charge = charta_test_parse (
    "{\"resourceType\":\"ChargeItem\",\"status\":\"billable\",\"code\":{\"text\":\"x\"},"
    "\"subject\":{\"reference\":\"Patient/7\"},"
    "\"priceOverride\":{\"value\":40.00,\"currency\":\"EUR\"}}");
  g_autoptr(ChartaResource) activity = charta_test_parse (
    "{\"resourceType\":\"ActivityDefinition\",\"status\":\"active\","
    "\"library\":[\"http://example.org/Library/lib|2.0\"],"
    "\"useContext\":[{\"code\":{\"system\":"
    "\"http://terminology.hl7.org/CodeSystem/usage-context-type\",\"code\":\"age\"},"
    "\"valueRange\":{\"low\":{\"value\":18,\"unit\":\"a\","
    "\"system\":\"http://unitsofmeasure.org\",\"code\":\"a\"},"
    "\"high\":{\"value\":65,\"unit\":\"a\",\"system\":\"http://unitsofmeasure.org\","
    "\"code\":\"a\"}}}]}");
  g_autoptr(ChartaResource) below = charta_test_parse (
    "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
    "\"valueQuantity\":{\"value\":5,\"comparator\":\"<\",\"unit\":\"mg\"}}");
  g_autoptr(GPtrArray) c = extract_all (charge);
  g_autoptr(GPtrArray) a = extract_all (activity);
  g_autoptr(GPtrArray) b = extract_all (below);
  ChartaIndexValue *v, *c0, *c1;

  /* Money: the currency as an ISO 4217 code; 40.00 is ±0.005. */
  v = only_value (c, "price-override");
  assert_number_range (v, 40.0, 39.995, 40.005);
  g_assert_cmpstr (v->unit_system, ==, "urn:iso:std:iso:4217");
  g_assert_cmpstr (v->unit_code, ==, "EUR");

  /* Range: from low's lower bound to high's upper bound. */
  v = only_value (a, "context-quantity");
  assert_number_range (v, 18.0, 17.5, 65.5);
  g_assert_cmpstr (v->unit_system, ==, "http://unitsofmeasure.org");
  g_assert_cmpstr (v->unit_code, ==, "a");

  /* context-type-quantity: the usage context's Coding with the Range. */
  v = only_value (a, "context-type-quantity");
  c0 = v->components->pdata[0];
  c1 = v->components->pdata[1];
  g_assert_cmpstr (c0->code, ==, "age");
  g_assert_cmpstr (c0->system, ==, "http://terminology.hl7.org/CodeSystem/usage-context-type");
  assert_number_range (c1, 18.0, 17.5, 65.5);

  /* A canonical reference: the url, and the version after '|'. */
  v = only_value (a, "depends-on");
  g_assert_cmpstr (v->ref_url, ==, "http://example.org/Library/lib");
  g_assert_cmpstr (v->ref_version, ==, "2.0");
  g_assert_null (v->ref_type);

  /* A comparator opens the range: "< 5" is anything up to 5. */
  v = only_value (b, "value-quantity");
  g_assert_cmpfloat (v->number, ==, 5.0);
  g_assert_true (isinf (v->number_low) && v->number_low < 0);
  g_assert_cmpfloat (v->number_high, ==, 5.0);
  g_assert_cmpstr (v->unit_code, ==, "mg");
}

static void
test_timing (void)
{
  /* A Timing covers its outer limits: from the earliest of its events and bounds to the latest.
   * 2019-12-01 is 31 days before 2020-01-01; the last event ends one second after
   * 2020-03-15T08:30:00Z. */
  g_autoptr(ChartaResource) resource = charta_test_parse (
    "{\"resourceType\":\"CarePlan\",\"status\":\"active\",\"intent\":\"plan\","
    "\"subject\":{\"reference\":\"Patient/7\"},\"activity\":[{\"detail\":{"
    "\"status\":\"scheduled\",\"scheduledTiming\":{\"event\":[\"2020-01-01\","
    "\"2020-03-15T10:30:00+02:00\"],\"repeat\":{\"boundsPeriod\":{\"start\":\"2019-12\","
    "\"end\":\"2020-02\"}}}}},{\"detail\":{\"status\":\"scheduled\","
    "\"scheduledPeriod\":{\"end\":\"1970\"}}}]}");
  g_autoptr(GPtrArray) values = extract_all (resource);
  g_autoptr(GPtrArray) dates = values_of (values, "activity-date");
  gboolean timing = FALSE, period = FALSE;

  g_assert_cmpuint (dates->len, ==, 2);
  for (unsigned i = 0; i < dates->len; i++)
    {
      ChartaIndexValue *v = dates->pdata[i];

      if (v->date_low == G_MININT64)
        {
          /* An open start. */
          g_assert_cmpint (v->date_high, ==, G_GINT64_CONSTANT (31536000) * US - 1);
          period = TRUE;
        }
      else
        {
          g_assert_cmpint (v->date_low, ==, G_GINT64_CONSTANT (1577836800) * US - 31 * DAY_US);
          g_assert_cmpint (v->date_high, ==, G_GINT64_CONSTANT (1584261000) * US + US - 1);
          timing = TRUE;
        }
    }
  g_assert_true (timing && period);
}

static void
test_bundle_composition (void)
{
  /* Bundle.composition is Bundle.entry[0].resource, meant only when that is a Composition. */
  g_autoptr(ChartaResource) document = charta_test_parse (
    "{\"resourceType\":\"Bundle\",\"type\":\"document\",\"entry\":["
    "{\"resource\":{\"resourceType\":\"Composition\",\"id\":\"c1\",\"status\":\"final\","
    "\"type\":{\"text\":\"note\"},\"date\":\"2020\",\"author\":[{\"display\":\"x\"}],"
    "\"title\":\"t\"}}]}");
  g_autoptr(ChartaResource) collection =
    charta_test_parse ("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
                       "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p1\"}}]}");
  g_autoptr(GPtrArray) values = extract_all (document);
  g_autoptr(GPtrArray) none = extract_all (collection);
  g_autoptr(GPtrArray) composition = values_of (none, "composition");
  ChartaIndexValue *v;

  v = only_value (values, "composition");
  g_assert_cmpstr (v->ref_type, ==, "Composition");
  g_assert_cmpstr (v->ref_id, ==, "c1");
  g_assert_cmpuint (composition->len, ==, 0);
  g_assert_true (has_token (none, "type", NULL, "collection", NULL));
}

static void
test_consent_source (void)
{
  /* Consent.source[x] is an Attachment or a Reference. */
  g_autoptr(ChartaResource) attachment = charta_test_parse (
    "{\"resourceType\":\"Consent\",\"status\":\"active\",\"scope\":{\"text\":\"s\"},"
    "\"category\":[{\"text\":\"c\"}],"
    "\"sourceAttachment\":{\"url\":\"http://example.org/consent.pdf\"}}");
  g_autoptr(ChartaResource) reference = charta_test_parse (
    "{\"resourceType\":\"Consent\",\"status\":\"active\",\"scope\":{\"text\":\"s\"},"
    "\"category\":[{\"text\":\"c\"}],"
    "\"sourceReference\":{\"reference\":\"DocumentReference/d1\"}}");
  g_autoptr(GPtrArray) a = extract_all (attachment);
  g_autoptr(GPtrArray) r = extract_all (reference);
  ChartaIndexValue *v;

  v = only_value (a, "source-reference");
  g_assert_cmpstr (v->ref_url, ==, "http://example.org/consent.pdf");
  g_assert_null (v->ref_type);
  v = only_value (r, "source-reference");
  g_assert_cmpstr (v->ref_type, ==, "DocumentReference");
  g_assert_cmpstr (v->ref_id, ==, "d1");
  g_assert_null (v->ref_url);
}

static void
test_dedupe (void)
{
  /* The same given name twice, and the same coding twice, are indexed once. */
  g_autoptr(ChartaResource) resource =
    charta_test_parse ("{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"Ann\",\"Ann\"]},"
                       "{\"given\":[\"ANN\"]}],\"maritalStatus\":{\"coding\":[{\"system\":\"s\","
                       "\"code\":\"M\"},{\"system\":\"s\",\"code\":\"M\"}]}}");
  g_autoptr(GPtrArray) values = extract_all (resource);
  g_autoptr(GPtrArray) given = values_of (values, "given");

  /* "Ann" and "ANN" differ as written. */
  g_assert_cmpuint (given->len, ==, 2);
  g_assert_true (has_string (values, "given", "ann", "Ann"));
  g_assert_true (has_string (values, "given", "ann", "ANN"));
}

static void
test_many_values (void)
{
  /* More values than the linear deduplication handles: duplicates still go. */
  g_autoptr(GString) json = g_string_new ("{\"resourceType\":\"Patient\",\"identifier\":[");
  g_autoptr(ChartaResource) resource = NULL;
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GPtrArray) ids = NULL;

  for (unsigned i = 0; i < 100; i++)
    g_string_append_printf (json, "%s{\"system\":\"s\",\"value\":\"%u\"}", i ? "," : "", i % 40);
  g_string_append (json, "]}");
  resource = charta_test_parse (json->str);
  values = extract_all (resource);
  ids = values_of (values, "identifier");
  g_assert_cmpuint (ids->len, ==, 40);
}

/* Every parameter of every resource type compiles and evaluates (on a resource with nothing
 * but an id, with the prefilter off so that no expression is skipped). */
static void
test_all_types (void)
{
  unsigned n_types = 0;

  charta_search_index_set_prefilter (FALSE);
  for (unsigned i = 0; i < charta_model_n_types; i++)
    {
      const ChartaTypeDef *type = &charta_model_types[i];
      g_autofree char *json = NULL;
      g_autoptr(ChartaResource) resource = NULL;
      g_autoptr(GPtrArray) values = NULL;
      g_autoptr(GError) error = NULL;

      if (type->kind != CHARTA_TYPE_KIND_RESOURCE || type->is_abstract)
        continue;
      json = g_strdup_printf ("{\"resourceType\":\"%s\",\"id\":\"x1\"}", type->name);
      resource = charta_test_parse (json);
      values = charta_search_index_extract (resource, &error);
      g_assert_no_error (error);
      /* _id at least. */
      g_assert_true (has_token (values, "_id", NULL, "x1", NULL));
      n_types++;
    }
  charta_search_index_set_prefilter (TRUE);
  g_test_message ("%u resource types", n_types);
  g_assert_cmpuint (n_types, ==, 146);
}

/* ---------------------------------------------------------------------------------------- */
/* The corpus. */

typedef struct
{
  size_t resources;
  size_t by_type[CHARTA_SEARCH_TYPE_SPECIAL + 1];
  size_t total;
} Counts;

static const char *search_type_names[] = {
  "number", "date", "string", "token", "reference", "composite", "quantity", "uri", "special",
};

static void
count_values (Counts    *counts,
              GPtrArray *values)
{
  counts->resources++;
  for (unsigned i = 0; i < values->len; i++)
    {
      ChartaIndexValue *v = values->pdata[i];

      g_assert_cmpint (v->type, >=, 0);
      g_assert_cmpint (v->type, <=, CHARTA_SEARCH_TYPE_SPECIAL);
      counts->by_type[v->type]++;
      counts->total++;
    }
}

/* Extraction with the prefilter gives exactly what evaluating every expression gives. */
static void
assert_prefilter_neutral (ChartaResource *resource,
                          const char     *where,
                          GPtrArray      *values)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = NULL;

  charta_search_index_set_prefilter (FALSE);
  all = charta_search_index_extract (resource, &error);
  charta_search_index_set_prefilter (TRUE);
  g_assert_no_error (error);
  if (all->len != values->len)
    g_test_message ("%s: %u values with the prefilter, %u without", where, values->len, all->len);
  g_assert_cmpuint (all->len, ==, values->len);
  for (unsigned i = 0; i < all->len; i++)
    g_assert_true (charta_index_value_equal (all->pdata[i], values->pdata[i]));
}


/* A value's content, its parameter left out (a store's row holds no more), as a string. */
static void
append_value_key (GString                *key,
                  const ChartaIndexValue *v,
                  gboolean                with_precision)
{
  g_string_append_printf (key, "%d|%s|%s|%s|%s|%s|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT
                          "|%.17g|%.17g|%.17g|%s|%s|%s|%s|%s|%s|%s|%s|%s", v->type,
                          v->normalized, v->text, v->system, v->code, v->display, v->date_low,
                          v->date_high, v->number, with_precision ? v->number_low : 0.0,
                          with_precision ? v->number_high : 0.0, v->unit_system,
                          v->unit_code, v->unit, v->ref_type, v->ref_id, v->ref_version,
                          v->ref_url, v->identifier_type_system, v->identifier_type_code);
  for (unsigned i = 0; v->components != NULL && i < v->components->len; i++)
    {
      g_string_append (key, "{");
      append_value_key (key, v->components->pdata[i], with_precision);
      g_string_append (key, "}");
    }
}

/* The values of @param among @values (only references to @target_type when not NULL), as a
 * table from their key to their key without the precision of decimals. */
static GHashTable *
value_keys (GPtrArray                  *values,
            const ChartaSearchParamDef *param,
            const char                 *target_type)
{
  GHashTable *keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (unsigned i = 0; i < values->len; i++)
    {
      ChartaIndexValue *v = values->pdata[i];
      GString *key, *loose;

      if (v->param != param || (target_type != NULL && g_strcmp0 (v->ref_type, target_type) != 0))
        continue;
      key = g_string_new (NULL);
      loose = g_string_new (NULL);
      append_value_key (key, v, TRUE);
      append_value_key (loose, v, FALSE);
      g_hash_table_insert (keys, g_string_free (key, FALSE), g_string_free (loose, FALSE));
    }
  return keys;
}

/* Values the sources hold beyond a parameter's own, because FHIRPath's union merged two
 * decimals that are equal but written with different precision ("1.0" and "1.00" in two
 * Observation.component of Observation-decimal.json: combo-code-value-quantity keeps one, the
 * component rows both).  The store's answer is then the more complete one. */
static unsigned n_union_merged;

/* For every parameter of @resource's type that a store answers from other parameters' rows
 * (charta_search_param_get_sources()), those rows hold exactly the values of its own
 * expression (but for the union merges above).  Counts the comparisons that had values in
 * @n_checked. */
static void
assert_sources_exact (ChartaResource *resource,
                      const char     *where,
                      GPtrArray      *values,
                      GHashTable     *n_checked)
{
  size_t n_params = 0;
  g_autofree const ChartaSearchParamDef **params =
    charta_model_list_search_params (charta_resource_get_resource_type (resource), &n_params);

  for (size_t i = 0; i < n_params; i++)
    {
      ChartaIndexSource sources[CHARTA_MAX_INDEX_SOURCES];
      unsigned n = charta_search_param_get_sources (params[i], sources);
      g_autoptr(GHashTable) own = NULL;
      g_autoptr(GHashTable) own_loose = NULL;
      g_autoptr(GHashTable) served = NULL;
      GHashTableIter iter;
      gpointer key, loose;

      if (n == 0 || (n == 1 && sources[0].param == params[i]))
        continue;
      own = value_keys (values, params[i], NULL);
      own_loose = g_hash_table_new (g_str_hash, g_str_equal);
      g_hash_table_iter_init (&iter, own);
      while (g_hash_table_iter_next (&iter, NULL, &loose))
        g_hash_table_add (own_loose, loose);
      served = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      for (unsigned k = 0; k < n; k++)
        {
          g_autoptr(GHashTable) part = NULL;

          g_assert_true (charta_search_param_is_stored (sources[k].param));
          part = value_keys (values, sources[k].param, sources[k].target_type);
          g_hash_table_iter_init (&iter, part);
          while (g_hash_table_iter_next (&iter, &key, &loose))
            g_hash_table_insert (served, g_strdup (key), g_strdup (loose));
        }
      g_hash_table_iter_init (&iter, own);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (!g_hash_table_contains (served, key))
          g_error ("%s: %s has the value %s, which its sources' rows lack", where,
                   params[i]->code, (char *) key);
      g_hash_table_iter_init (&iter, served);
      while (g_hash_table_iter_next (&iter, &key, &loose))
        {
          if (g_hash_table_contains (own, key))
            continue;
          if (!g_hash_table_contains (own_loose, loose))
            g_error ("%s: the sources of %s have the value %s, which its expression does not "
                     "give", where, params[i]->code, (char *) key);
          g_test_message ("%s: %s: FHIRPath's union merged %s with an equal decimal", where,
                          params[i]->code, (char *) key);
          n_union_merged++;
        }
      if (g_hash_table_size (own) > 0)
        {
          g_autofree char *name = g_strconcat (params[i]->resource_type, ".", params[i]->code,
                                               NULL);
          gpointer count = g_hash_table_lookup (n_checked, name);

          g_hash_table_insert (n_checked, g_steal_pointer (&name),
                               GSIZE_TO_POINTER (GPOINTER_TO_SIZE (count) + 1));
        }
    }
}

/* The full text the canonical writer collects (ChartaResourceEdits.content) holds the same
 * words as charta_search_index_text()'s content (in another order). */
static unsigned n_text_checked;

static void
assert_text_same (ChartaResource *resource,
                  const char     *where)
{
  ChartaResourceEdits edits = { 0 };
  g_autoptr(GString) collected = g_string_new (NULL);
  g_autofree char *narrative = NULL;
  g_autofree char *content = NULL;
  g_autofree char *json = NULL;
  g_auto(GStrv) a = NULL;
  g_auto(GStrv) b = NULL;

  edits.content = collected;
  json = charta_resource_to_json_edited (resource, &edits, NULL);
  charta_search_index_text (resource, &narrative, &content);
  a = g_strsplit_set (collected->str, " \t\n", -1);
  b = g_strsplit_set (content, " \t\n", -1);
  qsort (a, g_strv_length (a), sizeof (char *), charta_test_compare_strings);
  qsort (b, g_strv_length (b), sizeof (char *), charta_test_compare_strings);
  if (!g_strv_equal ((const char * const *) a, (const char * const *) b))
    g_error ("%s: the writer's full text differs from charta_search_index_text()'s", where);
  n_text_checked++;
}

static GHashTable *sources_checked;  /* "Type.code" → resources whose values were compared */

static void
extract_checked (ChartaResource *resource,
                 const char     *where,
                 Counts         *counts,
                 GPtrArray     **keep)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) values = charta_search_index_extract (resource, &error);

  if (error != NULL)
    g_test_message ("%s: %s", where, error->message);
  g_assert_no_error (error);
  g_assert_nonnull (values);
  assert_prefilter_neutral (resource, where, values);
  assert_sources_exact (resource, where, values, sources_checked);
  assert_text_same (resource, where);
  count_values (counts, values);
  if (keep != NULL)
    *keep = g_steal_pointer (&values);
}

static void
test_corpus_examples (void)
{
  g_autofree char *dir = NULL;
  g_autoptr(GHashTable) invalid = NULL;
  g_autoptr(GPtrArray) names = charta_test_list_valid_examples (&dir, &invalid);
  g_autoptr(GError) error = NULL;
  Counts counts = { 0 };
  size_t files = 0, nested = 0;

  if (names == NULL)
    return;
  g_assert_cmpuint (g_hash_table_size (invalid), ==, 8);
  g_assert_cmpuint (names->len, ==, 724);

  for (unsigned i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      g_autoptr(ChartaResource) resource = charta_test_load_resource (path);
      g_autoptr(GPtrArray) values = NULL;
      JsonObject *root = charta_resource_get_object (resource);

      extract_checked (resource, names->pdata[i], &counts, &values);
      files++;

      if (g_str_equal (names->pdata[i], "Patient-example.json"))
        {
          g_assert_true (has_string (values, "family", "chalmers", "Chalmers"));
          g_assert_true (has_string (values, "name", "peter", "Peter"));
          g_assert_true (has_string (values, "family", "windsor", "Windsor"));
          g_assert_true (has_token (values, "gender", NULL, "male", NULL));
          {
            /* birthDate 1974-12-25: day 1,819 since the epoch (4 × 365 + 1 + 358). */
            ChartaIndexValue *v = only_value (values, "birthdate");

            g_assert_cmpint (v->date_low, ==, G_GINT64_CONSTANT (1819) * DAY_US);
            g_assert_cmpint (v->date_high, ==, G_GINT64_CONSTANT (1820) * DAY_US - 1);
          }
        }
      else if (g_str_equal (names->pdata[i], "Observation-example.json"))
        {
          ChartaIndexValue *v;

          g_assert_true (has_token (values, "code", "http://loinc.org", "29463-7", "Body Weight"));
          v = only_value (values, "subject");
          g_assert_cmpstr (v->ref_type, ==, "Patient");
          g_assert_cmpstr (v->ref_id, ==, "example");
          v = only_value (values, "value-quantity");
          assert_number_range (v, 185.0, 184.5, 185.5);
          g_assert_cmpstr (v->unit_system, ==, "http://unitsofmeasure.org");
          g_assert_cmpstr (v->unit_code, ==, "[lb_av]");
          g_assert_cmpstr (v->unit, ==, "lbs");
        }

      /* Bundle entries and contained resources are resources too. */
      if (json_object_has_member (root, "entry") || json_object_has_member (root, "contained"))
        {
          const char *member = json_object_has_member (root, "entry") ? "entry" : "contained";
          JsonArray *a = json_object_get_array_member (root, member);

          for (unsigned j = 0; a != NULL && j < json_array_get_length (a); j++)
            {
              JsonNode *node = json_array_get_element (a, j);
              g_autoptr(ChartaResource) inner = NULL;
              g_autofree char *where = NULL;

              if (g_str_equal (member, "entry"))
                {
                  JsonObject *entry = json_node_get_object (node);

                  node = json_object_get_member (entry, "resource");
                  if (node == NULL)
                    continue;
                }
              inner = charta_resource_new_nested (resource, node, &error);
              g_assert_no_error (error);
              where = g_strdup_printf ("%s %s[%u]", (char *) names->pdata[i], member, j);
              extract_checked (inner, where, &counts, NULL);
              nested++;
            }
        }
    }

  g_test_message ("%zu files and %zu nested resources: %zu index values", files, nested,
                  counts.total);
  for (unsigned t = 0; t < G_N_ELEMENTS (search_type_names); t++)
    g_test_message ("  %-10s %zu", search_type_names[t], counts.by_type[t]);
  g_assert_cmpuint (counts.by_type[CHARTA_SEARCH_TYPE_SPECIAL], ==, 0);
  for (unsigned t = 0; t < CHARTA_SEARCH_TYPE_SPECIAL; t++)
    g_assert_cmpuint (counts.by_type[t], >, 0);

  /* The parameters answered from others' rows were compared on many examples. */
  g_test_message ("%u parameters answered from others' rows had values to compare",
                  g_hash_table_size (sources_checked));
  g_assert_cmpuint (g_hash_table_size (sources_checked), >=, 30);
  g_assert_cmpuint (GPOINTER_TO_SIZE (g_hash_table_lookup (sources_checked,
                                                           "Observation.combo-code")), >=, 50);
  g_assert_cmpuint (GPOINTER_TO_SIZE (g_hash_table_lookup (sources_checked,
                                                           "Observation.patient")), >=, 50);
  g_test_message ("%u values merged by FHIRPath's union with an equal decimal",
                  n_union_merged);
  g_assert_cmpuint (n_union_merged, <=, 4);
  g_test_message ("the full text of %u resources compared", n_text_checked);
  g_assert_cmpuint (n_text_checked, >=, 724);
}

static char *
first_synthea_bundle (void)
{
  g_autofree char *dir = charta_test_corpus_path ("synthea");
  g_autoptr(GPtrArray) names = NULL;
  const char *best = NULL;

  if (dir == NULL)
    return NULL;
  names = charta_test_list_json_files (dir, NULL);
  /* A patient bundle: not the shared hospital and practitioner ones. */
  for (unsigned i = 0; i < names->len && best == NULL; i++)
    if (charta_test_is_synthea_patient (names->pdata[i]))
      best = names->pdata[i];
  g_assert_nonnull (best);
  return g_build_filename (dir, best, NULL);
}

static void
test_synthea (void)
{
  g_autofree char *path = first_synthea_bundle ();
  g_autoptr(ChartaResource) bundle = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *entries;
  Counts counts = { 0 };
  size_t patients = 0, with_birthdate = 0;

  if (path == NULL)
    return;
  g_test_message ("bundle %s", path);
  bundle = charta_test_load_resource (path);
  entries = json_object_get_array_member (charta_resource_get_object (bundle), "entry");
  g_assert_nonnull (entries);
  g_assert_cmpuint (json_array_get_length (entries), >, 0);

  for (unsigned i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);
      g_autoptr(ChartaResource) resource = NULL;
      g_autoptr(GPtrArray) values = NULL;
      g_autofree char *where = NULL;

      resource = charta_resource_new_nested (bundle, json_object_get_member (entry, "resource"),
                                             &error);
      g_assert_no_error (error);
      where = g_strdup_printf ("entry[%u] (%s)", i, charta_resource_get_resource_type (resource));
      extract_checked (resource, where, &counts, &values);

      if (g_str_equal (charta_resource_get_resource_type (resource), "Patient"))
        {
          g_autoptr(GPtrArray) birth = values_of (values, "birthdate");

          patients++;
          if (birth->len == 1)
            {
              ChartaIndexValue *v = birth->pdata[0];

              /* A day: exactly 86,400 s. */
              g_assert_cmpint (v->date_high - v->date_low + 1, ==, DAY_US);
              with_birthdate++;
            }
        }
    }

  g_test_message ("%zu resources: %zu index values", counts.resources, counts.total);
  for (unsigned t = 0; t < G_N_ELEMENTS (search_type_names); t++)
    g_test_message ("  %-10s %zu", search_type_names[t], counts.by_type[t]);
  g_assert_cmpuint (patients, >=, 1);
  g_assert_cmpuint (with_birthdate, ==, patients);
}

/* -m perf: extraction alone over every Synthea bundle. */
static void
test_perf_synthea (void)
{
  g_autofree char *dir = charta_test_corpus_path ("synthea");
  g_autoptr(GPtrArray) resources =
    g_ptr_array_new_with_free_func ((GDestroyNotify) charta_resource_unref);
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) error = NULL;
  size_t values = 0;
  double best = 0.0;

  if (dir == NULL)
    return;
  names = charta_test_list_json_files (dir, NULL);
  for (unsigned n = 0; n < names->len; n++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[n], NULL);
      g_autoptr(ChartaResource) bundle = charta_test_load_resource (path);
      JsonArray *entries;

      entries = json_object_get_array_member (charta_resource_get_object (bundle), "entry");
      for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
        {
          JsonObject *entry = json_array_get_object_element (entries, i);
          JsonNode *node = json_object_get_member (entry, "resource");
          ChartaResource *r = charta_resource_new_nested (bundle, node, &error);
          g_assert_no_error (error);
          g_ptr_array_add (resources, r);
        }
    }

  for (unsigned run = 0; run < 3; run++)
    {
      gint64 start = g_get_monotonic_time ();
      double rate;

      values = 0;
      for (unsigned i = 0; i < resources->len; i++)
        {
          g_autoptr(GPtrArray) v = charta_search_index_extract (resources->pdata[i], &error);

          g_assert_no_error (error);
          values += v->len;
        }
      rate = resources->len / ((g_get_monotonic_time () - start) / 1e6);
      best = MAX (best, rate);
    }
  g_test_minimized_result (best, "extraction: %.0f resources/s (%u resources, %zu values)",
                           best, resources->len, values);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  sources_checked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_test_add_func ("/charta/fhir/search-index/normalize", test_normalize);
  g_test_add_func ("/charta/fhir/search-index/date-range", test_date_range);
  g_test_add_func ("/charta/fhir/search-index/number-range", test_number_range);
  g_test_add_func ("/charta/fhir/search-index/reference-parse", test_reference_parse);
  g_test_add_func ("/charta/fhir/search-index/patient", test_patient);
  g_test_add_func ("/charta/fhir/search-index/birthdate-day", test_birthdate_day);
  g_test_add_func ("/charta/fhir/search-index/observation", test_observation);
  g_test_add_func ("/charta/fhir/search-index/reference-forms", test_reference_forms);
  g_test_add_func ("/charta/fhir/search-index/observation-instant", test_observation_instant);
  g_test_add_func ("/charta/fhir/search-index/encounter-period", test_encounter_period);
  g_test_add_func ("/charta/fhir/search-index/encounter-closed-period",
                   test_encounter_closed_period);
  g_test_add_func ("/charta/fhir/search-index/valueset-url", test_valueset_url);
  g_test_add_func ("/charta/fhir/search-index/number", test_number);
  g_test_add_func ("/charta/fhir/search-index/quantity-forms", test_quantity_forms);
  g_test_add_func ("/charta/fhir/search-index/timing", test_timing);
  g_test_add_func ("/charta/fhir/search-index/bundle-composition", test_bundle_composition);
  g_test_add_func ("/charta/fhir/search-index/consent-source", test_consent_source);
  g_test_add_func ("/charta/fhir/search-index/dedupe", test_dedupe);
  g_test_add_func ("/charta/fhir/search-index/many-values", test_many_values);
  g_test_add_func ("/charta/fhir/search-index/all-types", test_all_types);
  g_test_add_func ("/charta/fhir/search-index/corpus-examples", test_corpus_examples);
  g_test_add_func ("/charta/fhir/search-index/synthea", test_synthea);
  if (g_test_perf ())
    g_test_add_func ("/charta/fhir/search-index/perf-synthea", test_perf_synthea);

  return g_test_run ();
}
