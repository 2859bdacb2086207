/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-search.c: FHIR search in the store, against hand-built resources.
 *
 * A small store (four patients, an organization, five observations, a list, a risk assessment,
 * two value sets) is searched with every parameter type, modifier and prefix; the expected ids
 * of each query are worked out by hand in the comments beside it from the resources below, as
 * FHIR R4 search.html defines the semantics (dates and numbers as ranges, strings as case- and
 * accent-insensitive prefixes, …).  Then result controls: _sort, _include/_revinclude with
 * :iterate, paging with cursors, _total, _summary=count, _elements, unknown parameters,
 * compartments and system-wide search.
 */
#define G_LOG_DOMAIN "charta-test"

#include <string.h>

#include "charta-test-store-util.h"

static const char *const resources[] = {
  /* p1: Chalmers Peter, male, born 1974-12-25 (a day); identifier MR 12345; tagged vip,
   * profile, security R, source. */
  "{\"resourceType\":\"Patient\",\"id\":\"p1\","
  "\"meta\":{\"source\":\"http://example.org/source#1\","
  "\"profile\":[\"http://example.org/StructureDefinition/p\"],"
  "\"security\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-Confidentiality\","
  "\"code\":\"R\"}],\"tag\":[{\"system\":\"http://example.org/tags\",\"code\":\"vip\"}]},"
  "\"identifier\":[{\"type\":{\"coding\":[{\"system\":"
  "\"http://terminology.hl7.org/CodeSystem/v2-0203\",\"code\":\"MR\"}]},"
  "\"system\":\"urn:oid:1.2.36.146.595.217.0.1\",\"value\":\"12345\"}],"
  "\"active\":true,\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Peter\"]}],"
  "\"gender\":\"male\",\"birthDate\":\"1974-12-25\"}",
  /* p2: Chälmers Anna, female, born 1974-12 (a month); a general practitioner known only
   * by identifier. */
  "{\"resourceType\":\"Patient\",\"id\":\"p2\","
  "\"name\":[{\"family\":\"Chälmers\",\"given\":[\"Anna\"]}],"
  "\"gender\":\"female\",\"birthDate\":\"1974-12\","
  "\"generalPractitioner\":[{\"identifier\":{\"system\":\"http://hl7.org/fhir/sid/us-npi\","
  "\"value\":\"999\"}}]}",
  /* p3: Smith John, male, born 2001-02-03, managed by Organization/o1; a narrative. */
  "{\"resourceType\":\"Patient\",\"id\":\"p3\","
  "\"text\":{\"status\":\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">"
  "John <b>Smith</b>, seen for wheezing &amp; asthma</div>\"},"
  "\"name\":[{\"family\":\"Smith\",\"given\":[\"John\"]}],"
  "\"gender\":\"male\",\"birthDate\":\"2001-02-03\","
  "\"managingOrganization\":{\"reference\":\"Organization/o1\"}}",
  /* p4: Brown, no gender, born 1950 (a year). */
  "{\"resourceType\":\"Patient\",\"id\":\"p4\",\"name\":[{\"family\":\"Brown\"}],"
  "\"birthDate\":\"1950\"}",
  "{\"resourceType\":\"Organization\",\"id\":\"o1\",\"name\":\"Acme Health\"}",
  /* ob1: p1, systolic 120 mm[Hg], 2020-03-15T10:30:00+02:00 (08:30Z), final. */
  "{\"resourceType\":\"Observation\",\"id\":\"ob1\",\"status\":\"final\","
  "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\","
  "\"display\":\"Systolic blood pressure\"}]},\"subject\":{\"reference\":\"Patient/p1\"},"
  "\"effectiveDateTime\":\"2020-03-15T10:30:00+02:00\",\"valueQuantity\":{\"value\":120,"
  "\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}",
  /* ob2: p1, systolic 140.0 mm[Hg], 2021-01-01, final. */
  "{\"resourceType\":\"Observation\",\"id\":\"ob2\",\"status\":\"final\","
  "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\","
  "\"display\":\"Systolic blood pressure\"}]},\"subject\":{\"reference\":\"Patient/p1\"},"
  "\"effectiveDateTime\":\"2021-01-01\",\"valueQuantity\":{\"value\":140.0,"
  "\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}",
  /* ob3: p2, weight 70.5 kg, 2020 (a year), preliminary. */
  "{\"resourceType\":\"Observation\",\"id\":\"ob3\",\"status\":\"preliminary\","
  "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"29463-7\"}]},"
  "\"subject\":{\"reference\":\"Patient/p2\"},\"effectiveDateTime\":\"2020\","
  "\"valueQuantity\":{\"value\":70.5,\"unit\":\"kg\",\"system\":\"http://unitsofmeasure.org\","
  "\"code\":\"kg\"}}",
  /* ob4: Group/g1, a code that is only text, final, no value. */
  "{\"resourceType\":\"Observation\",\"id\":\"ob4\",\"status\":\"final\","
  "\"code\":{\"text\":\"Free text observation\"},\"subject\":{\"reference\":\"Group/g1\"}}",
  /* ob5: p3, blood pressure panel with components systolic 130 and diastolic 85, 2022-05-05,
   * amended. */
  "{\"resourceType\":\"Observation\",\"id\":\"ob5\",\"status\":\"amended\","
  "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"85354-9\"}]},"
  "\"subject\":{\"reference\":\"Patient/p3\"},\"effectiveDateTime\":\"2022-05-05\","
  "\"component\":[{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\","
  "\"code\":\"8480-6\"}]},\"valueQuantity\":{\"value\":130,\"unit\":\"mmHg\","
  "\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}},"
  "{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8462-4\"}]},"
  "\"valueQuantity\":{\"value\":85,\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\","
  "\"code\":\"mm[Hg]\"}}]}",
  "{\"resourceType\":\"List\",\"id\":\"l1\",\"status\":\"current\",\"mode\":\"working\","
  "\"entry\":[{\"item\":{\"reference\":\"Patient/p1\"}},{\"item\":{\"reference\":"
  "\"Patient/p3\"}}]}",
  /* ra1: p1, probability 0.25. */
  "{\"resourceType\":\"RiskAssessment\",\"id\":\"ra1\",\"status\":\"final\","
  "\"subject\":{\"reference\":\"Patient/p1\"},\"prediction\":[{\"probabilityDecimal\":0.25}]}",
  "{\"resourceType\":\"ValueSet\",\"id\":\"vs1\",\"status\":\"active\","
  "\"url\":\"http://example.org/fhir/ValueSet/abc\"}",
  "{\"resourceType\":\"ValueSet\",\"id\":\"vs2\",\"status\":\"draft\","
  "\"url\":\"http://example.org/fhir/ValueSet/abc/sub\"}",
  /* a code system with a hierarchy: A (A1 (A1a), A2), B */
  "{\"resourceType\":\"CodeSystem\",\"id\":\"cs1\",\"url\":\"http://example.org/cs\","
  "\"status\":\"active\",\"content\":\"complete\",\"concept\":[{\"code\":\"A\",\"concept\":["
  "{\"code\":\"A1\",\"concept\":[{\"code\":\"A1a\"}]},{\"code\":\"A2\"}]},{\"code\":\"B\"}]}",
  /* value sets over it: two listed codes (A1, B); the whole code system */
  "{\"resourceType\":\"ValueSet\",\"id\":\"vs3\",\"status\":\"active\","
  "\"url\":\"http://example.org/terminology/codes\",\"compose\":{\"include\":[{"
  "\"system\":\"http://example.org/cs\",\"concept\":[{\"code\":\"A1\"},{\"code\":\"B\"}]}]}}",
  "{\"resourceType\":\"ValueSet\",\"id\":\"vs4\",\"status\":\"active\","
  "\"url\":\"http://example.org/terminology/whole\",\"compose\":{\"include\":[{"
  "\"system\":\"http://example.org/cs\"}]}}",
  /* conditions of p4 coded in it: c1 A1a, c2 B, c3 A */
  "{\"resourceType\":\"Condition\",\"id\":\"c1\",\"subject\":{\"reference\":\"Patient/p4\"},"
  "\"code\":{\"coding\":[{\"system\":\"http://example.org/cs\",\"code\":\"A1a\"}]}}",
  "{\"resourceType\":\"Condition\",\"id\":\"c2\",\"subject\":{\"reference\":\"Patient/p4\"},"
  "\"code\":{\"coding\":[{\"system\":\"http://example.org/cs\",\"code\":\"B\"}]}}",
  "{\"resourceType\":\"Condition\",\"id\":\"c3\",\"subject\":{\"reference\":\"Patient/p4\"},"
  "\"code\":{\"coding\":[{\"system\":\"http://example.org/cs\",\"code\":\"A\"}]}}",
};

typedef struct
{
  ChartaTestStore store;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  charta_test_store_set_up (&f->store, data);
  for (unsigned i = 0; i < G_N_ELEMENTS (resources); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ChartaResource) resource = charta_test_parse (resources[i]);
      g_autoptr(ChartaResource) stored = NULL;

      stored = charta_store_update (f->store.store, resource, 0, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (stored);
    }
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  charta_test_store_tear_down (&f->store, data);
}

/* Runs "Type?query" (or "Compartment/id/Type?query", or "?query") and follows every page;
 * returns the matches' ids in the order given, ',' separated, and the included ones in
 * *@included (sorted), when not NULL. */
static char *
search_ids (ChartaStore  *store,
            const char   *request,
            char        **included)
{
  const char *mark = strchr (request, '?');
  g_autofree char *path = g_strndup (request, (size_t) (mark - request));
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);
  g_autoptr(GString) ids = g_string_new (NULL);
  g_autoptr(GPtrArray) inc = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *cursor = NULL;
  unsigned pages = 0;
  const char *type = NULL;

  if (g_strv_length (parts) == 1 && *parts[0] != '\0')
    type = parts[0];
  else if (g_strv_length (parts) == 3)
    type = parts[2];

  do
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ChartaSearchQuery) query = charta_search_query_parse (type, mark + 1, 0, &error);
      g_autoptr(ChartaSearchResult) result = NULL;

      g_assert_no_error (error);
      if (g_strv_length (parts) == 3)
        {
          query->compartment_type = g_strdup (parts[0]);
          query->compartment_id = g_strdup (parts[1]);
        }
      query->cursor = g_steal_pointer (&cursor);
      result = charta_store_search (store, query, &error);
      if (error != NULL)
        g_test_message ("%s: %s", request, error->message);
      g_assert_no_error (error);
      for (unsigned i = 0; i < result->entries->len; i++)
        {
          ChartaSearchEntry *entry = g_ptr_array_index (result->entries, i);
          const char *id = charta_resource_get_id (entry->resource);

          if (entry->mode == CHARTA_SEARCH_MODE_MATCH)
            {
              if (ids->len > 0)
                g_string_append_c (ids, ',');
              g_string_append (ids, id);
            }
          else
            g_ptr_array_add (inc, g_strconcat (charta_resource_get_resource_type (entry->resource),
                                               "/", id, NULL));
        }
      cursor = g_strdup (result->next_cursor);
      g_assert_cmpuint (++pages, <, 100);
    }
  while (cursor != NULL);

  if (included != NULL)
    {
      g_ptr_array_sort (inc, charta_test_compare_strings);
      g_ptr_array_add (inc, NULL);
      *included = g_strjoinv (",", (char **) inc->pdata);
    }
  return g_string_free (g_steal_pointer (&ids), FALSE);
}

/* The same, ids sorted (for queries whose order is not the point). */
static char *
search_set (ChartaStore *store,
            const char  *request)
{
  g_autofree char *ids = search_ids (store, request, NULL);
  g_auto(GStrv) parts = g_strsplit (ids, ",", -1);
  guint n = g_strv_length (parts);

  if (*ids == '\0')
    return g_strdup ("");
  qsort (parts, n, sizeof (char *), charta_test_compare_strings);
  return g_strjoinv (",", parts);
}

#define assert_search(f, request, expected) \
  G_STMT_START { \
    g_autofree char *got_ = search_set ((f)->store.store, (request)); \
    if (strcmp (got_, (expected)) != 0) \
      g_error ("%s: expected [%s], got [%s]", (request), (expected), got_); \
  } G_STMT_END

#define assert_order(f, request, expected) \
  G_STMT_START { \
    g_autofree char *got_ = search_ids ((f)->store.store, (request), NULL); \
    if (strcmp (got_, (expected)) != 0) \
      g_error ("%s: expected [%s] in this order, got [%s]", (request), (expected), got_); \
  } G_STMT_END

/* ---- parameter types ------------------------------------------------------------------------ */

static void
test_string (Fixture       *f,
             gconstpointer  data)
{
  /* case- and accent-insensitive prefixes of any part of the name: Chalmers, Chälmers */
  assert_search (f, "Patient?name=chal", "p1,p2");
  assert_search (f, "Patient?family=CHALMERS", "p1,p2");
  assert_search (f, "Patient?name=pet", "p1");
  /* a prefix, not a substring */
  assert_search (f, "Patient?name=eter", "");
  /* :exact compares the text as written */
  assert_search (f, "Patient?family:exact=Chalmers", "p1");
  assert_search (f, "Patient?family:exact=chalmers", "");
  assert_search (f, "Patient?family:exact=Ch%C3%A4lmers", "p2");
  /* :contains anywhere, still case- and accent-insensitive */
  assert_search (f, "Patient?family:contains=ALM", "p1,p2");
  /* comma = OR, repeated = AND */
  assert_search (f, "Patient?name=chal,smi", "p1,p2,p3");
  assert_search (f, "Patient?name=chal&gender=female", "p2");
  assert_search (f, "Patient?name=chal&name=anna", "p2");
  assert_search (f, "Organization?name=acme%20h", "o1");
}

static void
test_token (Fixture       *f,
            gconstpointer  data)
{
  assert_search (f, "Patient?gender=male", "p1,p3");
  /* gender is a code: stored without a system, so |male (no system) finds it */
  assert_search (f, "Patient?gender=%7Cmale", "p1,p3");
  /* :not includes the resources that have no gender at all (p4) */
  assert_search (f, "Patient?gender:not=male", "p2,p4");
  assert_search (f, "Patient?gender:missing=true", "p4");
  assert_search (f, "Patient?gender:missing=false", "p1,p2,p3");
  /* :in a value set of the model: every administrative gender */
  assert_search (f, "Patient?gender:in=http://hl7.org/fhir/ValueSet/administrative-gender",
                 "p1,p2,p3");
  assert_search (f, "Patient?gender:not-in=http://hl7.org/fhir/ValueSet/administrative-gender",
                 "p4");
  /* Identifier: system|value, value, system| */
  assert_search (f, "Patient?identifier=urn:oid:1.2.36.146.595.217.0.1%7C12345", "p1");
  assert_search (f, "Patient?identifier=12345", "p1");
  assert_search (f, "Patient?identifier=urn:oid:1.2.36.146.595.217.0.1%7C", "p1");
  assert_search (f, "Patient?identifier=urn:oid:9.9%7C12345", "");
  /* :of-type: type system|type code|value */
  assert_search (f, "Patient?identifier:of-type="
                    "http://terminology.hl7.org/CodeSystem/v2-0203%7CMR%7C12345", "p1");
  assert_search (f, "Patient?identifier:of-type="
                    "http://terminology.hl7.org/CodeSystem/v2-0203%7CSS%7C12345", "");
  /* CodeableConcept: code is Observation.code only; combo-code adds the components' */
  assert_search (f, "Observation?code=http://loinc.org%7C8480-6", "ob1,ob2");
  assert_search (f, "Observation?code=8480-6", "ob1,ob2");
  assert_search (f, "Observation?combo-code=8480-6", "ob1,ob2,ob5");
  assert_search (f, "Observation?component-code=8480-6", "ob5");
  assert_search (f, "Observation?code=http://snomed.info/sct%7C8480-6", "");
  /* :text: the display or the concept's text, as a string prefix */
  assert_search (f, "Observation?code:text=free%20text", "ob4");
  assert_search (f, "Observation?code:text=systolic", "ob1,ob2");
  assert_search (f, "Observation?status=final", "ob1,ob2,ob4");
  assert_search (f, "Observation?status=final,amended", "ob1,ob2,ob4,ob5");
  /* meta: _tag, _security (tokens), _profile and _source (uris), _id */
  assert_search (f, "Patient?_tag=http://example.org/tags%7Cvip", "p1");
  assert_search (f, "Patient?_security=R", "p1");
  assert_search (f, "Patient?_profile=http://example.org/StructureDefinition/p", "p1");
  assert_search (f, "Patient?_source=http://example.org/source%231", "p1");
  assert_search (f, "Patient?_id=p1,p3", "p1,p3");
  assert_search (f, "Patient?_id=nope", "");
  assert_search (f, "Patient?active=true", "p1");
}

static void
test_date (Fixture       *f,
           gconstpointer  data)
{
  /* birthDate: p1 1974-12-25 (a day), p2 1974-12 (the month), p3 2001-02-03, p4 1950 (the
   * year).  The parameter 1974-12-25 is that day. */
  /* eq: the resource's range lies within the parameter's: only p1 (p2's month is wider) */
  assert_search (f, "Patient?birthdate=1974-12-25", "p1");
  assert_search (f, "Patient?birthdate=eq1974-12-25", "p1");
  /* the month 1974-12 holds p1's day and p2's month */
  assert_search (f, "Patient?birthdate=1974-12", "p1,p2");
  assert_search (f, "Patient?birthdate=1974", "p1,p2");
  /* ne: not eq */
  assert_search (f, "Patient?birthdate=ne1974-12", "p3,p4");
  /* gt: the resource's range ends after the parameter's: p2 (ends 1974-12-31), p3 */
  assert_search (f, "Patient?birthdate=gt1974-12-25", "p2,p3");
  /* lt: it starts before: p2 (starts 1974-12-01), p4 */
  assert_search (f, "Patient?birthdate=lt1974-12-25", "p2,p4");
  /* ge = gt or eq, le = lt or eq */
  assert_search (f, "Patient?birthdate=ge1974-12-25", "p1,p2,p3");
  assert_search (f, "Patient?birthdate=le1974-12-25", "p1,p2,p4");
  /* sa: starts after the parameter's end; eb: ends before its start */
  assert_search (f, "Patient?birthdate=sa1974-12-25", "p3");
  assert_search (f, "Patient?birthdate=eb1974-12-25", "p4");
  /* ap: within 10% of the distance from now (about 52 years: ±5 years): 1969-1980 */
  assert_search (f, "Patient?birthdate=ap1974-12-25", "p1,p2");
  /* AND of two prefixes: a range */
  assert_search (f, "Patient?birthdate=ge1950&birthdate=lt1975", "p1,p2,p4");

  /* effective: ob1 2020-03-15T08:30:00Z (a second), ob2 2021-01-01, ob3 2020, ob5 2022-05-05 */
  assert_search (f, "Observation?date=2020", "ob1,ob3");
  assert_search (f, "Observation?date=ge2021", "ob2,ob5");
  assert_search (f, "Observation?date=2020-03-15T08:30:00Z", "ob1");
  /* the same instant written in another zone */
  assert_search (f, "Observation?date=2020-03-15T03:30:00-05:00", "ob1");
  assert_search (f, "Observation?date=2020-03-15T08:31:00Z", "");
  /* _lastUpdated: everything was written just now */
  assert_search (f, "ValueSet?_lastUpdated=gt2020-01-01", "vs1,vs2,vs3,vs4");
  assert_search (f, "ValueSet?_lastUpdated=lt2020-01-01", "");
}

static void
test_number_quantity (Fixture       *f,
                      gconstpointer  data)
{
  /* probability 0.25.  "0.25" is [0.245, 0.255); "0.3" is [0.25, 0.35), which holds 0.25;
   * "0.2" is [0.15, 0.25), which does not. */
  assert_search (f, "RiskAssessment?probability=0.25", "ra1");
  assert_search (f, "RiskAssessment?probability=0.3", "ra1");
  assert_search (f, "RiskAssessment?probability=0.2", "");
  assert_search (f, "RiskAssessment?probability=gt0.2", "ra1");
  assert_search (f, "RiskAssessment?probability=lt0.25", "");
  assert_search (f, "RiskAssessment?probability=le0.25", "ra1");
  assert_search (f, "RiskAssessment?probability=ne0.25", "");

  /* value-quantity: ob1 120 mm[Hg], ob2 140.0 mm[Hg], ob3 70.5 kg */
  assert_search (f, "Observation?value-quantity=120", "ob1");
  assert_search (f, "Observation?value-quantity=gt125", "ob2");
  assert_search (f, "Observation?value-quantity=lt125", "ob1,ob3");
  assert_search (f, "Observation?value-quantity=140%7Chttp://unitsofmeasure.org%7Cmm%5BHg%5D",
                 "ob2");
  assert_search (f, "Observation?value-quantity=70.5%7C%7Ckg", "ob3");
  assert_search (f, "Observation?value-quantity=70.5%7Chttp://unitsofmeasure.org%7Cg", "");
  /* ap127: ±12.7, [114.3, 139.7]: 120 only */
  assert_search (f, "Observation?value-quantity=ap127", "ob1");
  /* the components' values through combo-value-quantity */
  assert_search (f, "Observation?combo-value-quantity=130", "ob5");
  assert_search (f, "Observation?component-value-quantity=85", "ob5");
}

static void
test_reference (Fixture       *f,
                gconstpointer  data)
{
  assert_search (f, "Observation?subject=Patient/p1", "ob1,ob2");
  assert_search (f, "Observation?subject=p1", "ob1,ob2");
  assert_search (f, "Observation?subject:Group=g1", "ob4");
  assert_search (f, "Observation?subject:Patient=g1", "");
  /* patient is subject narrowed to Patient */
  assert_search (f, "Observation?patient=Patient/p1", "ob1,ob2");
  assert_search (f, "Observation?patient=g1", "");
  assert_search (f, "Observation?patient:missing=true", "ob4");
  assert_search (f, "Patient?organization=Organization/o1", "p3");
  assert_search (f, "Patient?organization:missing=false", "p3");
  assert_search (f, "Patient?general-practitioner:identifier="
                    "http://hl7.org/fhir/sid/us-npi%7C999", "p2");
  assert_search (f, "Patient?general-practitioner:identifier=999", "p2");
}

static void
test_uri (Fixture       *f,
          gconstpointer  data)
{
  assert_search (f, "ValueSet?url=http://example.org/fhir/ValueSet/abc", "vs1");
  assert_search (f, "ValueSet?url:below=http://example.org/fhir/ValueSet/abc", "vs1,vs2");
  /* :above: the stored uri is a prefix of the value */
  assert_search (f, "ValueSet?url:above=http://example.org/fhir/ValueSet/abc/sub", "vs1,vs2");
  assert_search (f, "ValueSet?url:above=http://example.org/fhir/ValueSet/abc", "vs1");
  assert_search (f, "ValueSet?url=http://example.org/fhir/ValueSet", "");
}

static void
test_composite (Fixture       *f,
                gconstpointer  data)
{
  /* systolic above 130: ob2 (140); ob1's 120 is not */
  assert_search (f, "Observation?code-value-quantity=http://loinc.org%7C8480-6$gt130", "ob2");
  assert_search (f, "Observation?code-value-quantity=8480-6$120", "ob1");
  /* the two halves must come from the same component: 8462-4 with 85 yes, with 130 no */
  assert_search (f, "Observation?component-code-value-quantity=8462-4$85", "ob5");
  assert_search (f, "Observation?component-code-value-quantity=8462-4$130", "");
  assert_search (f, "Observation?combo-code-value-quantity=8480-6$130", "ob5");
  assert_search (f, "Observation?combo-code-value-quantity=8480-6$ge120", "ob1,ob2,ob5");
}

static void
test_full_text (Fixture       *f,
                gconstpointer  data)
{
  /* _text: the narrative only (p3's), markup and &amp; undone */
  assert_search (f, "Patient?_text=asthma", "p3");
  assert_search (f, "Patient?_text=smith%20wheez", "p3");
  assert_search (f, "Patient?_text=peter", "");
  assert_search (f, "Patient?_text=amp", "");
  /* _content: every string, prefixes of words, accents and case folded */
  assert_search (f, "Patient?_content=peter", "p1");
  assert_search (f, "Patient?_content=CHALM", "p1,p2");
  assert_search (f, "Patient?_content=asthma,peter", "p1,p3");
  assert_search (f, "Patient?_content=peter%20smith", "");
  assert_search (f, "Observation?_content=systolic%20blood", "ob1,ob2");
  /* FTS5 syntax in a value is only text */
  assert_search (f, "Patient?_content=%22peter%22%20OR%20NEAR(x)", "");
  assert_search (f, "Patient?_content=*", "");
}

static void
test_terminology (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const char *bad[][2] = {
    { "code:below=http://example.org/cs%7CZ", "has no code" },
    { "code:below=http://example.org/other%7CA", "not in this store" },
    { "code:below=A", "system|code" },
    { "code:in=http://example.org/terminology/nope", "not known" },
  };

  /* :below, from cs1's hierarchy: A and what is under it (A1, A1a, A2) */
  assert_search (f, "Condition?code:below=http://example.org/cs%7CA", "c1,c3");
  assert_search (f, "Condition?code:below=http://example.org/cs%7CA1", "c1");
  /* :above: A1a and the codes above it (A1, A) */
  assert_search (f, "Condition?code:above=http://example.org/cs%7CA1a", "c1,c3");
  assert_search (f, "Condition?code:above=http://example.org/cs%7CB", "c2");
  /* :in a ValueSet of the store: listed codes A1 and B (A1a is not A1) */
  assert_search (f, "Condition?code:in=http://example.org/terminology/codes", "c2");
  assert_search (f, "Condition?code:not-in=http://example.org/terminology/codes", "c1,c3");
  /* a whole code system, expanded from cs1 */
  assert_search (f, "Condition?code:in=http://example.org/terminology/whole", "c1,c2,c3");

  for (unsigned i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(ChartaSearchQuery) query = charta_search_query_parse ("Condition", bad[i][0], 0,
                                                                      &error);
      g_autoptr(ChartaSearchResult) result = NULL;

      g_assert_no_error (error);
      result = charta_store_search (f->store.store, query, &error);
      g_assert_null (result);
      g_assert_nonnull (error);
      if (strstr (error->message, bad[i][1]) == NULL)
        g_error ("%s: “%s” does not say “%s”", bad[i][0], error->message, bad[i][1]);
      g_clear_error (&error);
    }
}

/* ---- chains, reverse chains, lists, compartments ---------------------------------------- */

static void
test_chains (Fixture       *f,
             gconstpointer  data)
{
  assert_search (f, "Observation?subject:Patient.name=smith", "ob5");
  assert_search (f, "Observation?patient.gender=female", "ob3");
  /* two links: the patient's organization's name */
  assert_search (f, "Observation?subject:Patient.organization.name=acme", "ob5");
  assert_search (f, "Observation?subject:Patient.organization.name=other", "");
  /* reverse chains */
  assert_search (f, "Patient?_has:Observation:patient:code=8480-6", "p1");
  assert_search (f, "Patient?_has:Observation:subject:status=preliminary", "p2");
  assert_search (f, "Organization?_has:Patient:organization:_has:Observation:patient:status=amended",
                 "o1");
  assert_search (f, "Organization?_has:Patient:organization:_has:Observation:patient:status=final",
                 "");
  assert_search (f, "Patient?_list=l1", "p1,p3");
  /* compartments */
  assert_search (f, "Patient/p1/Observation?", "ob1,ob2");
  assert_search (f, "Patient/p1/Observation?code=8480-6&date=2021", "ob2");
  assert_search (f, "Patient/p1/RiskAssessment?", "ra1");
  assert_search (f, "Patient/p3/Observation?", "ob5");
  /* the whole store */
  assert_search (f, "?_id=p1,o1,vs2", "o1,p1,vs2");
  assert_search (f, "?_type=ValueSet,Organization", "o1,vs1,vs2,vs3,vs4");
}

/* ---- result controls --------------------------------------------------------------------- */

/* Follows "Type?query" forward to its last page, then its previous pages back to the first;
 * returns the ids of the pages met on the way back, in page order (so, the whole result in
 * order when the pages agree), and checks that the first page has no previous one. */
static char *
search_backward (ChartaStore *store,
                 const char  *request)
{
  const char *mark = strchr (request, '?');
  g_autofree char *type = g_strndup (request, (size_t) (mark - request));
  g_autofree char *cursor = NULL;
  g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func (g_free);
  GString *ids = g_string_new (NULL);
  gboolean back = FALSE;

  for (unsigned n = 0; n < 100; n++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ChartaSearchQuery) query = charta_search_query_parse (type, mark + 1, 0, &error);
      g_autoptr(ChartaSearchResult) result = NULL;
      g_autoptr(GString) page = g_string_new (NULL);

      g_assert_no_error (error);
      query->cursor = g_steal_pointer (&cursor);
      result = charta_store_search (store, query, &error);
      g_assert_no_error (error);
      for (unsigned i = 0; i < result->entries->len; i++)
        {
          ChartaSearchEntry *entry = g_ptr_array_index (result->entries, i);

          if (entry->mode != CHARTA_SEARCH_MODE_MATCH)
            continue;
          if (page->len > 0)
            g_string_append_c (page, ',');
          g_string_append (page, charta_resource_get_id (entry->resource));
        }
      if (back)
        g_ptr_array_insert (pages, 0, g_strdup (page->str));
      if (!back && result->next_cursor == NULL)
        {
          /* the last page: now back */
          back = TRUE;
          g_ptr_array_add (pages, g_strdup (page->str));
        }
      cursor = g_strdup (back ? result->prev_cursor : result->next_cursor);
      if (back && cursor == NULL)
        break;
    }
  for (unsigned i = 0; i < pages->len; i++)
    {
      if (ids->len > 0 && *(char *) g_ptr_array_index (pages, i) != '\0')
        g_string_append_c (ids, ',');
      g_string_append (ids, g_ptr_array_index (pages, i));
    }
  return g_string_free (ids, FALSE);
}

#define assert_backward(f, request, expected) \
  G_STMT_START { \
    g_autofree char *got_ = search_backward ((f)->store.store, (request)); \
    if (strcmp (got_, (expected)) != 0) \
      g_error ("%s: back from the last page expected [%s], got [%s]", (request), (expected), \
               got_); \
  } G_STMT_END

/* A chain alone is paged from its targets' reference rows merged in creation order: the same
 * matches, order and pages as the general plan, each resource once however many of its
 * references match, deleted ones left out. */
static void
test_chain_pages (Fixture       *f,
                  gconstpointer  data)
{
  static const char *const more[] = {
    "{\"resourceType\":\"Practitioner\",\"id\":\"pr1\",\"name\":[{\"family\":\"Smythe\"}]}",
    "{\"resourceType\":\"Practitioner\",\"id\":\"pr2\",\"name\":[{\"family\":\"Smythe\"}]}",
    "{\"resourceType\":\"Practitioner\",\"id\":\"pr3\",\"name\":[{\"family\":\"Jones\"}]}",
  };
  /* (id, performers): created in this order */
  static const struct { const char *id; const char *performers; } obs[] = {
    { "qa", "\"Practitioner/pr1\"" },
    { "qb", "\"Practitioner/pr1\",\"Practitioner/pr2\"" },  /* two Smythes: once */
    { "qc", "\"Practitioner/pr3\"" },                         /* a Jones only */
    { "qd", "\"Practitioner/pr2\"" },
    { "qe", "\"Practitioner/pr3\",\"Practitioner/pr2\"" },
    { "qf", "\"Practitioner/pr1\"" },                         /* deleted below */
    { "qg", "\"Practitioner/pr2\",\"Practitioner/pr1\"" },
  };
  g_autoptr(GError) error = NULL;

  for (unsigned i = 0; i < G_N_ELEMENTS (more); i++)
    {
      g_autoptr(ChartaResource) resource = charta_test_parse (more[i]);
      g_autoptr(ChartaResource) stored = charta_store_update (f->store.store, resource, 0, NULL,
                                                              NULL, &error);

      g_assert_no_error (error);
    }
  for (unsigned i = 0; i < G_N_ELEMENTS (obs); i++)
    {
      g_autoptr(GString) json = g_string_new (NULL);
      g_auto(GStrv) refs = g_strsplit (obs[i].performers, ",", -1);
      g_autoptr(ChartaResource) resource = NULL;
      g_autoptr(ChartaResource) stored = NULL;

      g_string_printf (json, "{\"resourceType\":\"Observation\",\"id\":\"%s\","
                       "\"status\":\"final\",\"code\":{\"text\":\"x\"},\"performer\":[",
                       obs[i].id);
      for (unsigned j = 0; refs[j] != NULL; j++)
        g_string_append_printf (json, "%s{\"reference\":%s}", j > 0 ? "," : "", refs[j]);
      g_string_append (json, "]}");
      resource = charta_test_parse (json->str);
      stored = charta_store_update (f->store.store, resource, 0, NULL, NULL, &error);
      g_assert_no_error (error);
    }
  charta_store_delete (f->store.store, "Observation", "qf", 0, NULL, &error);
  g_assert_no_error (error);

  /* by hand: the Smythes' observations but qc (Jones only) and qf (deleted), as created */
  assert_order (f, "Observation?performer:Practitioner.name=smythe", "qa,qb,qd,qe,qg");
  assert_order (f, "Observation?performer:Practitioner.name=smythe&_count=1", "qa,qb,qd,qe,qg");
  assert_order (f, "Observation?performer:Practitioner.name=smythe&_count=2", "qa,qb,qd,qe,qg");
  assert_backward (f, "Observation?performer:Practitioner.name=smythe&_count=1",
                   "qa,qb,qd,qe,qg");
  assert_backward (f, "Observation?performer:Practitioner.name=smythe&_count=3",
                   "qa,qb,qd,qe,qg");
  /* the general plan (a second clause; a count) gives the same */
  assert_order (f, "Observation?performer:Practitioner.name=smythe&status=final&_count=2",
                "qa,qb,qd,qe,qg");
  assert_order (f, "Observation?performer:Practitioner.name=smythe&_total=accurate&_count=2",
                "qa,qb,qd,qe,qg");
  assert_order (f, "Observation?performer:Practitioner.name=jones", "qc,qe");
  assert_order (f, "Observation?performer:Practitioner.name=nobody", "");
  {
    g_autoptr(ChartaSearchResult) all = NULL;
    g_autoptr(ChartaSearchQuery) query =
      charta_search_query_parse ("Observation", "performer:Practitioner.name=smythe", 0, &error);

    g_assert_no_error (error);
    all = charta_store_search (f->store.store, query, &error);
    g_assert_no_error (error);
    /* one page holds them all: the total is known without counting */
    g_assert_cmpint (all->total, ==, 5);
    g_assert_cmpuint (all->entries->len, ==, 5);
  }
}

/* A set that is by itself the matches pages from its first rows in rid order: resources with
 * many rows each (five names) come once, in order, forward and back, also when a page's first
 * read holds too few of them; deleted ones never. */
static void
test_driven_pages (Fixture       *f,
                   gconstpointer  data)
{
  static const char *const ids[] = { "dp1", "dp2", "dp3", "dp4" };
  g_autoptr(GError) error = NULL;

  for (unsigned i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *json = g_strdup_printf (
        "{\"resourceType\":\"Patient\",\"id\":\"%s\",\"name\":["
        "{\"family\":\"Duplantier\",\"given\":[\"Dupont\",\"Dupre\"]},"
        "{\"family\":\"Dupuis\",\"given\":[\"Dupin\",\"Duplessis\"]}],"
        "\"birthDate\":\"1999-0%u-01\"}", ids[i], i + 1);
      g_autoptr(ChartaResource) resource = charta_test_parse (json);
      g_autoptr(ChartaResource) stored = charta_store_update (f->store.store, resource, 0, NULL,
                                                              NULL, &error);

      g_assert_no_error (error);
    }
  charta_store_delete (f->store.store, "Patient", "dp3", 0, NULL, &error);
  g_assert_no_error (error);

  /* by hand: dp1, dp2, dp4 (dp3 deleted), each matched by six name rows */
  assert_order (f, "Patient?name=dup", "dp1,dp2,dp4");
  assert_order (f, "Patient?name=dup&_count=1", "dp1,dp2,dp4");
  assert_order (f, "Patient?name=dup&_count=2", "dp1,dp2,dp4");
  assert_backward (f, "Patient?name=dup&_count=1", "dp1,dp2,dp4");
  assert_backward (f, "Patient?name=dup&_count=2", "dp1,dp2,dp4");
  /* and with a second clause, the general plan: the same */
  assert_order (f, "Patient?name=dup&birthdate=ge1999&_count=1", "dp1,dp2,dp4");
}

static void
test_sort (Fixture       *f,
           gconstpointer  data)
{
  /* ascending by the start of the range: p4 1950, p2 1974-12-01, p1 1974-12-25, p3 2001 */
  assert_order (f, "Patient?_sort=birthdate", "p4,p2,p1,p3");
  /* descending by the end: p3, p2 (1974-12-31), p1 (1974-12-25), p4 */
  assert_order (f, "Patient?_sort=-birthdate", "p3,p2,p1,p4");
  /* female before male, then the youngest first; no gender (p4) last */
  assert_order (f, "Patient?_sort=gender,-birthdate", "p2,p3,p1,p4");
  /* the same, one per page: the cursors carry the keys */
  assert_order (f, "Patient?_sort=gender,-birthdate&_count=1", "p2,p3,p1,p4");
  assert_order (f, "Patient?_sort=-_id&_count=3", "p4,p3,p2,p1");
  /* no _sort: the order of creation */
  assert_order (f, "Patient?_count=1", "p1,p2,p3,p4");

  /* previous pages (the "previous" link) give the same pages back, whatever the sort */
  assert_backward (f, "Patient?_count=1", "p1,p2,p3,p4");
  assert_backward (f, "Patient?_count=3", "p1,p2,p3,p4");
  assert_backward (f, "Patient?_sort=gender,-birthdate&_count=1", "p2,p3,p1,p4");
  assert_backward (f, "Patient?_sort=-birthdate&_count=2", "p3,p2,p1,p4");
  assert_backward (f, "Observation?_sort=date&_count=2", "ob3,ob1,ob2,ob5,ob4");
  assert_backward (f, "Patient?name=chal&_count=5", "p1,p2");
}

static void
test_include (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *ids = NULL;
  g_autofree char *included = NULL;

  ids = search_ids (f->store.store, "Observation?_id=ob5&_include=Observation:subject", &included);
  g_assert_cmpstr (ids, ==, "ob5");
  g_assert_cmpstr (included, ==, "Patient/p3");
  g_clear_pointer (&ids, g_free);
  g_clear_pointer (&included, g_free);

  /* :iterate follows the included patient to its organization */
  ids = search_ids (f->store.store, "Observation?_id=ob5&_include=Observation:subject"
                                    "&_include:iterate=Patient:organization", &included);
  g_assert_cmpstr (ids, ==, "ob5");
  g_assert_cmpstr (included, ==, "Organization/o1,Patient/p3");
  g_clear_pointer (&ids, g_free);
  g_clear_pointer (&included, g_free);

  ids = search_ids (f->store.store, "Patient?_id=p1&_revinclude=Observation:subject", &included);
  g_assert_cmpstr (ids, ==, "p1");
  g_assert_cmpstr (included, ==, "Observation/ob1,Observation/ob2");
  g_clear_pointer (&ids, g_free);
  g_clear_pointer (&included, g_free);

  /* every write has its Provenance, which targets the version */
  ids = search_ids (f->store.store, "Patient?_id=p2&_revinclude=Provenance:target", &included);
  g_assert_cmpstr (ids, ==, "p2");
  g_assert_true (g_str_has_prefix (included, "Provenance/"));
  g_assert_null (strchr (included, ','));
}

static ChartaSearchResult *
run (Fixture     *f,
     const char  *type,
     const char  *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaSearchQuery) query = charta_search_query_parse (type, text, 0, &error);
  ChartaSearchResult *result;

  g_assert_no_error (error);
  result = charta_store_search (f->store.store, query, &error);
  g_assert_no_error (error);
  return result;
}

static void
test_total_summary (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(ChartaSearchResult) page = run (f, "Patient", "_count=1&_total=accurate");
  g_autoptr(ChartaSearchResult) count = run (f, "Patient", "gender=male&_summary=count");
  g_autoptr(ChartaSearchResult) all = run (f, "Patient", "");
  g_autoptr(ChartaSearchResult) none = run (f, "Patient", "_count=2&_total=none");
  g_autoptr(ChartaSearchResult) elements = run (f, "Patient", "_id=p1&_elements=gender");
  ChartaSearchEntry *entry;
  JsonObject *root;

  g_assert_cmpint (page->total, ==, 4);
  g_assert_cmpuint (page->entries->len, ==, 1);
  g_assert_nonnull (page->next_cursor);
  g_assert_cmpint (count->total, ==, 2);
  g_assert_cmpuint (count->entries->len, ==, 0);
  /* everything fits in the first page: the total is known without counting */
  g_assert_cmpint (all->total, ==, 4);
  g_assert_null (all->next_cursor);
  g_assert_cmpint (none->total, ==, -1);
  /* _count=0: no resources, the total */
  {
    g_autoptr(ChartaSearchResult) zero = run (f, "Patient", "gender=male&_count=0");

    g_assert_cmpuint (zero->entries->len, ==, 0);
    g_assert_cmpint (zero->total, ==, 2);
    g_assert_null (zero->next_cursor);
  }

  /* _elements: gender kept, name left out, the page marked SUBSETTED */
  g_assert_cmpuint (elements->entries->len, ==, 1);
  entry = g_ptr_array_index (elements->entries, 0);
  root = charta_resource_get_object (entry->resource);
  g_assert_true (json_object_has_member (root, "gender"));
  g_assert_false (json_object_has_member (root, "name"));
  g_assert_nonnull (strstr (g_bytes_get_data (entry->json, NULL), "SUBSETTED"));
}

static void
test_bundle (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaSearchQuery) query =
    charta_search_query_parse ("Patient", "name=chal&_count=1&foo=bar", 0, &error);
  g_autoptr(ChartaSearchResult) result = NULL;
  g_autoptr(GBytes) bundle = NULL;
  g_autoptr(ChartaResource) parsed = NULL;
  JsonObject *root;
  JsonArray *links, *entries;

  g_assert_no_error (error);
  g_assert_cmpuint (query->unknown->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (query->unknown, 0), ==, "foo");
  result = charta_store_search (f->store.store, query, &error);
  g_assert_no_error (error);
  bundle = charta_search_result_to_bundle (result, query, "http://localhost/fhir", "Patient");
  parsed = charta_resource_new_from_bytes (bundle, NULL, &error);
  g_assert_no_error (error);
  g_assert_no_error ((charta_validate (parsed, &error), error));
  root = charta_resource_get_object (parsed);
  g_assert_cmpstr (json_object_get_string_member (root, "type"), ==, "searchset");
  links = json_object_get_array_member (root, "link");
  g_assert_cmpuint (json_array_get_length (links), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (links, 1),
                                                  "relation"), ==, "next");
  g_assert_true (g_str_has_prefix (
    json_object_get_string_member (json_array_get_object_element (links, 1), "url"),
    "http://localhost/fhir/Patient?name=chal&_count=1"));
  entries = json_object_get_array_member (root, "entry");
  /* one match and the OperationOutcome naming foo */
  g_assert_cmpuint (json_array_get_length (entries), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (entries, 0),
                                                  "fullUrl"), ==,
                   "http://localhost/fhir/Patient/p1");
  g_assert_nonnull (strstr (g_bytes_get_data (bundle, NULL), "“foo”"));

  /* no match: no "entry" at all (FHIR JSON has no empty arrays), total 0 */
  {
    g_autoptr(ChartaSearchQuery) none = charta_search_query_parse ("Patient", "name=zzz", 0,
                                                                   &error);
    g_autoptr(ChartaSearchResult) empty = NULL;
    g_autoptr(GBytes) empty_bundle = NULL;
    g_autoptr(ChartaResource) empty_parsed = NULL;

    g_assert_no_error (error);
    empty = charta_store_search (f->store.store, none, &error);
    g_assert_no_error (error);
    empty_bundle = charta_search_result_to_bundle (empty, none, NULL, "Patient");
    empty_parsed = charta_resource_new_from_bytes (empty_bundle, NULL, &error);
    g_assert_no_error (error);
    g_assert_no_error ((charta_validate (empty_parsed, &error), error));
    g_assert_false (json_object_has_member (charta_resource_get_object (empty_parsed), "entry"));
    g_assert_cmpint (json_object_get_int_member (charta_resource_get_object (empty_parsed),
                                                 "total"), ==, 0);
  }
}

static void
test_errors (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaSearchQuery) query = NULL;
  g_autoptr(ChartaSearchQuery) other = NULL;
  g_autoptr(ChartaSearchResult) page = run (f, "Patient", "_count=1");
  g_autoptr(ChartaSearchResult) result = NULL;

  /* a cursor is refused for another query */
  other = charta_search_query_parse ("Patient", "_count=1&gender=male", 0, &error);
  g_assert_no_error (error);
  other->cursor = g_strdup (page->next_cursor);
  result = charta_store_search (f->store.store, other, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "_cursor"));
  g_assert_null (result);
  g_clear_error (&error);

  g_free (other->cursor);
  other->cursor = g_strdup ("c1.garbage!!");
  result = charta_store_search (f->store.store, other, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
  g_assert_null (result);
  g_clear_error (&error);

  /* a type outside the compartment */
  query = charta_search_query_parse ("ValueSet", "", 0, &error);
  g_assert_no_error (error);
  query->compartment_type = g_strdup ("Patient");
  query->compartment_id = g_strdup ("p1");
  result = charta_store_search (f->store.store, query, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "compartment"));
  g_assert_null (result);
  g_clear_error (&error);
  g_clear_pointer (&query, charta_search_query_free);

  /* an unknown value set */
  query = charta_search_query_parse ("Patient", "gender:in=http://example.org/nope", 0, &error);
  g_assert_no_error (error);
  result = charta_store_search (f->store.store, query, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "http://example.org/nope"));
  g_assert_null (result);
}

/* A search past the store's time limit stops with a clear error; without a limit it runs. */
static void
test_timeout (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaSearchQuery) query =
    charta_search_query_parse ("Patient", "_revinclude:iterate=*&_sort=-birthdate,name", 0,
                               &error);
  g_autoptr(ChartaSearchResult) result = NULL;

  g_assert_no_error (error);
  charta_store_set_search_timeout (f->store.store, 1e-6);
  result = charta_store_search (f->store.store, query, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (error->message, "longer than"));
  g_assert_null (result);
  g_clear_error (&error);

  charta_store_set_search_timeout (f->store.store, 0);
  result = charta_store_search (f->store.store, query, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->entries->len, >, 4);
}

/* `charta search`: the Bundle on standard output, next links that give the next page, and the
 * exit statuses of a usage error (2: a malformed query, named) and a store refusal (1). */
static void
test_cli (Fixture       *f,
          gconstpointer  data)
{
  g_auto(ChartaTestRun) page1 = { 0 };
  g_auto(ChartaTestRun) page2 = { 0 };
  g_auto(ChartaTestRun) bad = { 0 };
  g_auto(ChartaTestRun) strict = { 0 };
  g_auto(ChartaTestRun) compartment = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root;
  JsonArray *links;
  const char *next = NULL;

  charta_test_run_charta (&page1, "search", "--compact", f->store.store_path,
                          "Patient?name=chal&_count=1&_total=accurate", NULL);
  g_assert_cmpint (page1.status, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, page1.out, -1, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "type"), ==, "searchset");
  g_assert_cmpint (json_object_get_int_member (root, "total"), ==, 2);
  links = json_object_get_array_member (root, "link");
  for (unsigned i = 0; i < json_array_get_length (links); i++)
    {
      JsonObject *link = json_array_get_object_element (links, i);

      if (g_str_equal (json_object_get_string_member (link, "relation"), "next"))
        next = json_object_get_string_member (link, "url");
    }
  g_assert_nonnull (next);
  g_assert_true (g_str_has_prefix (next, "Patient?"));
  charta_test_assert_contains (page1.out, "\"id\":\"p1\"");

  /* the next link, as given, is the next page's request */
  charta_test_run_charta (&page2, "search", "--compact", f->store.store_path, next, NULL);
  g_assert_cmpint (page2.status, ==, 0);
  charta_test_assert_contains (page2.out, "\"id\":\"p2\"");
  g_assert_null (strstr (page2.out, "\"id\":\"p1\""));

  charta_test_run_charta (&compartment, "search", "--compact", f->store.store_path,
                          "Patient/p1/Observation?_count=10", NULL);
  g_assert_cmpint (compartment.status, ==, 0);
  charta_test_assert_contains (compartment.out, "\"id\":\"ob2\"");
  g_assert_null (strstr (compartment.out, "\"id\":\"ob5\""));

  charta_test_run_charta (&bad, "search", f->store.store_path, "Patient?birthdate=19xx", NULL);
  g_assert_cmpint (bad.status, ==, 2);
  charta_test_assert_contains (bad.err, "birthdate");
  charta_test_assert_contains (bad.err, "19xx");

  charta_test_run_charta (&strict, "search", "--strict", f->store.store_path,
                          "Patient?foo=bar", NULL);
  g_assert_cmpint (strict.status, ==, 2);
  charta_test_assert_contains (strict.err, "foo");
}

/* Deleted and superseded versions are not found; the current one is. */
static void
test_versions (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) renamed = charta_test_parse (
    "{\"resourceType\":\"Patient\",\"id\":\"p3\",\"name\":[{\"family\":\"Smythe\"}],"
    "\"gender\":\"male\",\"birthDate\":\"2001-02-03\"}");
  g_autoptr(ChartaResource) stored = NULL;

  stored = charta_store_update (f->store.store, renamed, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_search (f, "Patient?name=smith", "");
  assert_search (f, "Patient?name=smythe", "p3");
  assert_search (f, "Observation?subject:Patient.name=smythe", "ob5");
  charta_store_delete (f->store.store, "Patient", "p1", 0, NULL, &error);
  g_assert_no_error (error);
  assert_search (f, "Patient?name=chal", "p2");
  assert_search (f, "Patient?_id=p1", "");
  /* ob1 still refers to p1; the chain needs p1 to exist */
  assert_search (f, "Observation?subject=Patient/p1", "ob1,ob2");
  assert_search (f, "Observation?subject:Patient.name=chal", "ob3");
}

static void
store_json (Fixture    *f,
            const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = charta_test_parse (json);
  g_autoptr(ChartaResource) stored = charta_store_update (f->store.store, resource, 0, NULL,
                                                          NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (stored);
}

#define GOAL(id, due1, due2) \
  "{\"resourceType\":\"Goal\",\"id\":\"" id "\",\"lifecycleStatus\":\"active\"," \
  "\"description\":{\"text\":\"weight\"},\"subject\":{\"reference\":\"Patient/p1\"}," \
  "\"target\":[{\"dueDate\":\"" due1 "\"},{\"dueDate\":\"" due2 "\"}]}"

/* The planner's shortcuts must never change an answer: the statistics of date parameters
 * (0003-date-stat.sql: rows per resource, widest range) and the composite index used for two
 * clauses.  Each query below has an answer that the shortcut would get wrong if it were taken
 * when it must not be. */
static void
test_planner (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  ChartaOperation ops[2] = { { 0 } };
  g_autoptr(ChartaResource) goal = charta_test_parse (GOAL ("g-rolled-back", "2015-06-01",
                                                            "2020-06-01"));
  g_autoptr(GPtrArray) results = NULL;

  /* Two clauses on birthdate, one row per patient: one range of the index (≥ 1950, < 1975):
   * p4 (1950), p2 (1974-12), p1 (1974-12-25), not p3 (2001). */
  assert_search (f, "Patient?birthdate=ge1950&birthdate=lt1975", "p1,p2,p4");
  /* lt1975: p1, p2, p4; gt1974-12-24 (ends after that day): p1, p2, p3; ne1974-12-31 (not
   * within that day): all four */
  assert_search (f, "Patient?birthdate=lt1975&birthdate=gt1974-12-24&birthdate=ne1974-12-31",
                 "p1,p2");
  /* that range drives and stands for both birthdate clauses; gender is still checked: of p1
   * (male), p2 (female), p4 (none), only p2; in the order of creation, a page at a time */
  assert_search (f, "Patient?birthdate=ge1950&gender=female&birthdate=lt1975", "p2");
  assert_order (f, "Patient?birthdate=ge1950&birthdate=lt1975&_count=1", "p1,p2,p4");

  /* A failed transaction's Goal had two targets; its rows and statistics are rolled back,
   * and the writer must not remember them: the next Goal with two targets raises them
   * again.  Then "lt2016 and gt2019" holds for g1 through two different rows (2015, 2020),
   * which one range of rows would miss. */
  ops[0].method = CHARTA_METHOD_UPDATE;
  ops[0].resource = goal;
  ops[1].method = CHARTA_METHOD_DELETE;
  ops[1].type = "Patient";
  ops[1].id = "p1";
  ops[1].expected_version = 7;   /* p1 is at version 1: a conflict, nothing is written */
  results = charta_store_transaction (f->store.store, ops, 2, NULL, &error);
  g_assert_null (results);
  g_assert_nonnull (error);
  g_clear_error (&error);
  store_json (f, GOAL ("g1", "2015-06-01", "2020-06-01"));
  store_json (f, GOAL ("g2", "2018-01-01", "2018-02-01"));
  assert_search (f, "Goal?target-date=lt2016&target-date=gt2019", "g1");
  /* g2 with one row (2018-01-01), g1 with two (2020 is ge, 2015 is lt) */
  assert_search (f, "Goal?target-date=ge2018-01-01&target-date=lt2018-03", "g1,g2");
  assert_search (f, "Goal?target-date=ge2018-01-01&target-date=lt2018-01-15", "g1,g2");
  assert_search (f, "Goal?target-date=ge2021&target-date=lt2018-01-15", "");
  assert_search (f, "Goal?_id=g-rolled-back", "");

  /* A care plan over twenty years: "ge2025" (high > 2025) must find it although its low is
   * 2010: the bound on low is 2025 minus the widest range. */
  store_json (f, "{\"resourceType\":\"CarePlan\",\"id\":\"cp1\",\"status\":\"active\","
                 "\"intent\":\"plan\",\"subject\":{\"reference\":\"Patient/p1\"},"
                 "\"period\":{\"start\":\"2010-01-01\",\"end\":\"2030-01-01\"}}");
  store_json (f, "{\"resourceType\":\"CarePlan\",\"id\":\"cp2\",\"status\":\"active\","
                 "\"intent\":\"plan\",\"subject\":{\"reference\":\"Patient/p1\"},"
                 "\"period\":{\"start\":\"2020-01-01\",\"end\":\"2020-02-01\"}}");
  assert_search (f, "CarePlan?date=ge2025", "cp1");
  assert_search (f, "CarePlan?date=gt2029-06", "cp1");
  assert_search (f, "CarePlan?date=ge2020-01-15&date=le2020-01-20", "cp1,cp2");
  assert_search (f, "CarePlan?date=sa2019", "cp2");
  /* a period open at its start is wider than any span: no bound then (cp3: until 2013) */
  store_json (f, "{\"resourceType\":\"CarePlan\",\"id\":\"cp3\",\"status\":\"active\","
                 "\"intent\":\"plan\",\"subject\":{\"reference\":\"Patient/p1\"},"
                 "\"period\":{\"end\":\"2013-01-01\"}}");
  assert_search (f, "CarePlan?date=ge2012", "cp1,cp2,cp3");
  assert_search (f, "CarePlan?date=ge2011&date=le2012", "cp1,cp3");

  /* code and value-quantity together (code-value-quantity's rows): systolic above 130 is ob2;
   * ob5's systolic 130 is a component, which neither clause reads */
  assert_search (f, "Observation?code=http://loinc.org%7C8480-6&value-quantity=gt130", "ob2");
  assert_search (f, "Observation?value-quantity=gt100&code=8480-6", "ob1,ob2");
  assert_search (f, "Observation?code=85354-9&value-quantity=gt100", "");
  /* with a unit the clause also matches the unit's text; the composite is not used */
  assert_search (f, "Observation?code=8480-6&value-quantity=gt100%7C%7CmmHg", "ob1,ob2");

  /* and the check agrees with the statistics */
  g_assert_true (charta_store_check (f->store.store, outcome, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (charta_outcome_get_n_issues (outcome), ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/charta/backend/search/" path, Fixture, NULL, fixture_set_up, func, \
              fixture_tear_down)
  ADD ("string", test_string);
  ADD ("token", test_token);
  ADD ("date", test_date);
  ADD ("number-quantity", test_number_quantity);
  ADD ("reference", test_reference);
  ADD ("uri", test_uri);
  ADD ("composite", test_composite);
  ADD ("full-text", test_full_text);
  ADD ("terminology", test_terminology);
  ADD ("chains", test_chains);
  ADD ("chain-pages", test_chain_pages);
  ADD ("driven-pages", test_driven_pages);
  ADD ("sort", test_sort);
  ADD ("include", test_include);
  ADD ("total-summary", test_total_summary);
  ADD ("bundle", test_bundle);
  ADD ("errors", test_errors);
  ADD ("timeout", test_timeout);
  ADD ("cli", test_cli);
  ADD ("versions", test_versions);
  ADD ("planner", test_planner);
#undef ADD

  return g_test_run ();
}
