/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-subset.c: _summary and _elements subsets (charta_resource_subset()).
 *
 * Patient-example.json and Observation-example.json of the corpus are subsetted in each mode
 * and the members kept are compared with lists worked out by hand from the R4 definitions
 * (the flags are quoted beside each list); hand-built resources check the walk inside
 * backbone elements, Attachment.data, the tag, choice names, unknown names, number texts and
 * the error cases.  Then every valid r4-examples file is subsetted in each mode: each result
 * must print and parse back, keep resourceType and id, carry SUBSETTED exactly once beside
 * the original meta, keep exactly the top-level members its mode keeps, and hold each one with
 * its original JSON value (numbers by text), or for _summary=true a pruned copy of it.
 */
#define G_LOG_DOMAIN "charta-test-subset"

#include <string.h>

#include "charta-test-util.h"

#define V3_OBSERVATION_VALUE "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"

/* --- helpers --------------------------------------------------------------------------------- */

static ChartaResource *
load_example (const char *name)
{
  g_autofree char *relative = g_build_filename ("r4-examples", name, NULL);
  g_autofree char *path = charta_test_corpus_path (relative);

  if (path == NULL)
    return NULL;
  return charta_test_load_resource (path);
}

static ChartaResource *
subset (ChartaResource      *resource,
        ChartaSearchSummary  summary,
        const char * const  *elements)
{
  g_autoptr(GError) error = NULL;
  ChartaResource *result = charta_resource_subset (resource, summary, elements, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  return result;
}

/* The names of @resource's top-level members, sorted and joined with ','. */
static char *
member_names (ChartaResource *resource)
{
  g_autoptr(GList) members = json_object_get_members (charta_resource_get_object (resource));
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  for (GList *l = members; l != NULL; l = l->next)
    g_ptr_array_add (names, l->data);
  g_ptr_array_sort (names, charta_test_compare_strings);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (",", (char **) names->pdata);
}

static gboolean
is_number (JsonNode *node)
{
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

/* Exact JSON equality: objects as unordered maps, arrays in order, strings and booleans by
 * value, numbers by the text each was written with (so 1.50 differs from 1.5). */
static gboolean
same_json (ChartaResource *ra,
           JsonNode       *a,
           ChartaResource *rb,
           JsonNode       *b)
{
  if (json_node_get_node_type (a) != json_node_get_node_type (b))
    return FALSE;

  switch (json_node_get_node_type (a))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *oa = json_node_get_object (a);
        JsonObject *ob = json_node_get_object (b);
        g_autoptr(GList) members = json_object_get_members (oa);

        if (json_object_get_size (oa) != json_object_get_size (ob))
          return FALSE;
        for (GList *l = members; l != NULL; l = l->next)
          {
            JsonNode *mb = json_object_get_member (ob, l->data);

            if (mb == NULL || !same_json (ra, json_object_get_member (oa, l->data), rb, mb))
              return FALSE;
          }
        return TRUE;
      }

    case JSON_NODE_ARRAY:
      {
        JsonArray *aa = json_node_get_array (a);
        JsonArray *ab = json_node_get_array (b);

        if (json_array_get_length (aa) != json_array_get_length (ab))
          return FALSE;
        for (unsigned i = 0; i < json_array_get_length (aa); i++)
          if (!same_json (ra, json_array_get_element (aa, i), rb, json_array_get_element (ab, i)))
            return FALSE;
        return TRUE;
      }

    case JSON_NODE_NULL:
      return TRUE;

    case JSON_NODE_VALUE:
    default:
      if (is_number (a) || is_number (b))
        return is_number (a) && is_number (b)
               && g_strcmp0 (charta_resource_get_number_text (ra, a),
                             charta_resource_get_number_text (rb, b)) == 0
               && charta_resource_get_number_text (ra, a) != NULL;
      if (json_node_get_value_type (a) != json_node_get_value_type (b))
        return FALSE;
      if (json_node_get_value_type (a) == G_TYPE_STRING)
        return strcmp (json_node_get_string (a), json_node_get_string (b)) == 0;
      return json_node_get_boolean (a) == json_node_get_boolean (b);
    }
}

/* Whether @a is @b with some parts taken out: the same value, or a non-empty object whose
 * members are pruned copies of @b's, or a non-empty array whose items are pruned copies of
 * items of @b, in order. */
static gboolean
pruned_of (ChartaResource *ra,
           JsonNode       *a,
           ChartaResource *rb,
           JsonNode       *b)
{
  if (same_json (ra, a, rb, b))
    return TRUE;

  if (JSON_NODE_HOLDS_OBJECT (a) && JSON_NODE_HOLDS_OBJECT (b))
    {
      JsonObject *oa = json_node_get_object (a);
      g_autoptr(GList) members = json_object_get_members (oa);

      if (members == NULL)
        return FALSE;
      for (GList *l = members; l != NULL; l = l->next)
        {
          JsonNode *mb = json_object_get_member (json_node_get_object (b), l->data);

          if (mb == NULL || !pruned_of (ra, json_object_get_member (oa, l->data), rb, mb))
            return FALSE;
        }
      return TRUE;
    }

  if (JSON_NODE_HOLDS_ARRAY (a) && JSON_NODE_HOLDS_ARRAY (b))
    {
      JsonArray *aa = json_node_get_array (a);
      JsonArray *ab = json_node_get_array (b);
      unsigned j = 0;

      if (json_array_get_length (aa) == 0)
        return FALSE;
      for (unsigned i = 0; i < json_array_get_length (aa); i++, j++)
        {
          while (j < json_array_get_length (ab)
                 && !pruned_of (ra, json_array_get_element (aa, i), rb,
                                json_array_get_element (ab, j)))
            j++;
          if (j == json_array_get_length (ab))
            return FALSE;
        }
      return TRUE;
    }
  return FALSE;
}

/* Member @name of @sub holds exactly what it holds in @original. */
static void
assert_kept_as_is (ChartaResource *sub,
                   ChartaResource *original,
                   const char     *name)
{
  JsonNode *a = json_object_get_member (charta_resource_get_object (sub), name);
  JsonNode *b = json_object_get_member (charta_resource_get_object (original), name);

  g_assert_nonnull (a);
  g_assert_nonnull (b);
  if (!same_json (sub, a, original, b))
    g_error ("%s differs from the original", name);
}

/* Every member of @sub but meta holds exactly what it holds in @original. */
static void
assert_all_kept_as_is (ChartaResource *sub,
                       ChartaResource *original)
{
  g_autoptr(GList) members = json_object_get_members (charta_resource_get_object (sub));

  for (GList *l = members; l != NULL; l = l->next)
    if (strcmp (l->data, "meta") != 0)
      assert_kept_as_is (sub, original, l->data);
}

static gboolean
is_subsetted_tag (JsonNode *tag)
{
  JsonObject *object;

  if (!JSON_NODE_HOLDS_OBJECT (tag))
    return FALSE;
  object = json_node_get_object (tag);
  return g_strcmp0 (json_object_get_string_member_with_default (object, "system", NULL),
                    V3_OBSERVATION_VALUE) == 0
         && g_strcmp0 (json_object_get_string_member_with_default (object, "code", NULL),
                       "SUBSETTED") == 0;
}

static unsigned
count_subsetted_tags (ChartaResource *resource)
{
  JsonObject *meta = json_object_get_object_member (charta_resource_get_object (resource),
                                                    "meta");
  JsonArray *tags;
  unsigned count = 0;

  g_assert_nonnull (meta);
  tags = json_object_get_array_member (meta, "tag");
  g_assert_nonnull (tags);
  for (unsigned i = 0; i < json_array_get_length (tags); i++)
    count += is_subsetted_tag (json_array_get_element (tags, i));
  return count;
}

/* @sub's meta is @original's (members other than tag the same, tags the same in the same
 * order) with the SUBSETTED tag appended unless the original had one. */
static void
assert_meta_subsetted (ChartaResource *sub,
                       ChartaResource *original)
{
  JsonNode *meta = json_object_get_member (charta_resource_get_object (sub), "meta");
  JsonNode *orig_meta = json_object_get_member (charta_resource_get_object (original), "meta");
  JsonArray *tags, *orig_tags = NULL;
  unsigned n_orig = 0;
  g_autoptr(GList) members = NULL;
  gboolean had = FALSE;

  g_assert_nonnull (meta);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (meta));
  if (orig_meta != NULL)
    {
      JsonNode *orig_tag = json_object_get_member (json_node_get_object (orig_meta), "tag");

      if (orig_tag != NULL)
        orig_tags = json_node_get_array (orig_tag);
      n_orig = orig_tags != NULL ? json_array_get_length (orig_tags) : 0;
      members = json_object_get_members (json_node_get_object (orig_meta));
    }

  /* Every member of the original meta but tag, as it was; and nothing else but tag. */
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *m = json_object_get_member (json_node_get_object (meta), l->data);

      g_assert_nonnull (m);
      if (strcmp (l->data, "tag") != 0)
        g_assert_true (same_json (sub, m, original,
                                  json_object_get_member (json_node_get_object (orig_meta),
                                                          l->data)));
    }
  g_assert_cmpuint (json_object_get_size (json_node_get_object (meta)), ==,
                    (orig_meta != NULL ? json_object_get_size (json_node_get_object (orig_meta))
                                       : 0)
                    + (orig_tags == NULL ? 1 : 0));

  tags = json_object_get_array_member (json_node_get_object (meta), "tag");
  for (unsigned i = 0; i < n_orig; i++)
    {
      g_assert_true (same_json (sub, json_array_get_element (tags, i), original,
                                json_array_get_element (orig_tags, i)));
      had = had || is_subsetted_tag (json_array_get_element (orig_tags, i));
    }
  if (had)
    g_assert_cmpuint (json_array_get_length (tags), ==, n_orig);
  else
    {
      JsonObject *added;

      g_assert_cmpuint (json_array_get_length (tags), ==, n_orig + 1);
      added = json_array_get_object_element (tags, n_orig);
      g_assert_cmpuint (json_object_get_size (added), ==, 3);
      g_assert_cmpstr (json_object_get_string_member (added, "system"), ==, V3_OBSERVATION_VALUE);
      g_assert_cmpstr (json_object_get_string_member (added, "code"), ==, "SUBSETTED");
      g_assert_cmpstr (json_object_get_string_member (added, "display"), ==, "subsetted");
    }
  g_assert_cmpuint (count_subsetted_tags (sub), ==, 1);
}

/* @sub equals @expected_json exactly (numbers by text). */
static void
assert_equals_text (ChartaResource *sub,
                    const char     *expected_json)
{
  g_autoptr(ChartaResource) expected = charta_test_parse (expected_json);

  if (!same_json (sub, charta_resource_get_root (sub), expected,
                  charta_resource_get_root (expected)))
    {
      g_autofree char *got = charta_resource_to_json (sub, FALSE, NULL);

      g_error ("subset differs from what was expected:\n  got      %s\n  expected %s", got,
               expected_json);
    }
}

static char *
canonical (ChartaResource *resource)
{
  return charta_resource_to_json (resource, FALSE, NULL);
}

/* The SUBSETTED tag as the tests expect it written into a meta that had none. */
#define META_SUBSETTED \
  "\"meta\":{\"tag\":[{\"system\":\"" V3_OBSERVATION_VALUE "\",\"code\":\"SUBSETTED\"," \
  "\"display\":\"subsetted\"}]}"

/* --- Patient-example.json -------------------------------------------------------------------- */

/* Its top-level members: resourceType, id, text, identifier, active, name, telecom, gender,
 * birthDate, _birthDate, deceasedBoolean, address, contact, managingOrganization; no meta.
 * R4 flags (patient.html, "Σ" summary, "?!" modifier): id Σ, text -, identifier Σ, active Σ?!,
 * name Σ, telecom Σ, gender Σ, birthDate Σ, deceased[x] Σ?!, address Σ, contact -,
 * managingOrganization Σ.  No top-level Patient element is mandatory (all 0..). */

static void
test_patient_true (void)
{
  g_autoptr(ChartaResource) patient = load_example ("Patient-example.json");
  g_autoptr(ChartaResource) sub = NULL;
  g_autofree char *names = NULL;

  if (patient == NULL)
    return;
  sub = subset (patient, CHARTA_SEARCH_SUMMARY_TRUE, NULL);
  names = member_names (sub);
  /* Gone: text and contact (not summary).  _birthDate goes with birthDate; meta is added. */
  g_assert_cmpstr (names, ==,
                   "_birthDate,active,address,birthDate,deceasedBoolean,gender,id,identifier,"
                   "managingOrganization,meta,name,resourceType,telecom");
  /* None of them is a backbone or holds an Attachment: each is kept as it was. */
  assert_all_kept_as_is (sub, patient);
  assert_meta_subsetted (sub, patient);
  g_assert_cmpstr (charta_resource_get_id (sub), ==, "example");
  g_assert_cmpstr (charta_resource_get_resource_type (sub), ==, "Patient");
}

static void
test_patient_text (void)
{
  g_autoptr(ChartaResource) patient = load_example ("Patient-example.json");
  g_autoptr(ChartaResource) sub = NULL;
  g_autofree char *names = NULL;

  if (patient == NULL)
    return;
  sub = subset (patient, CHARTA_SEARCH_SUMMARY_TEXT, NULL);
  names = member_names (sub);
  /* text, id, meta, resourceType, and no mandatory elements (Patient has none). */
  g_assert_cmpstr (names, ==, "id,meta,resourceType,text");
  assert_all_kept_as_is (sub, patient);
  assert_meta_subsetted (sub, patient);
}

static void
test_patient_data (void)
{
  g_autoptr(ChartaResource) patient = load_example ("Patient-example.json");
  g_autoptr(ChartaResource) sub = NULL;
  g_autofree char *names = NULL;

  if (patient == NULL)
    return;
  sub = subset (patient, CHARTA_SEARCH_SUMMARY_DATA, NULL);
  names = member_names (sub);
  /* Everything but text, contact included; meta added. */
  g_assert_cmpstr (names, ==,
                   "_birthDate,active,address,birthDate,contact,deceasedBoolean,gender,id,"
                   "identifier,managingOrganization,meta,name,resourceType,telecom");
  assert_all_kept_as_is (sub, patient);
  assert_meta_subsetted (sub, patient);
}

static void
test_patient_elements (void)
{
  static const char * const elements[] = { "name", "birthDate", NULL };
  g_autoptr(ChartaResource) patient = load_example ("Patient-example.json");
  g_autoptr(ChartaResource) sub = NULL;
  g_autofree char *names = NULL;

  if (patient == NULL)
    return;
  sub = subset (patient, CHARTA_SEARCH_SUMMARY_FALSE, elements);
  names = member_names (sub);
  /* name and birthDate (with its _birthDate) as asked; active and deceasedBoolean because
   * they are modifiers; id, meta, resourceType always.  Not identifier, telecom, gender,
   * address, managingOrganization (summary, but not asked for), text or contact. */
  g_assert_cmpstr (names, ==,
                   "_birthDate,active,birthDate,deceasedBoolean,id,meta,name,resourceType");
  assert_all_kept_as_is (sub, patient);
  assert_meta_subsetted (sub, patient);
}

/* --- Observation-example.json ---------------------------------------------------------------- */

/* Its top-level members: resourceType, id, text, status, category, code, subject, encounter,
 * effectiveDateTime, valueQuantity (value 185).  R4 flags (observation.html): status 1..1 Σ?!,
 * category - (not summary in R4), code 1..1 Σ, subject Σ, encounter Σ, effective[x] Σ,
 * value[x] Σ, text -. */

static void
test_observation_true (void)
{
  g_autoptr(ChartaResource) obs = load_example ("Observation-example.json");
  g_autoptr(ChartaResource) sub = NULL;
  g_autofree char *names = NULL;

  if (obs == NULL)
    return;
  sub = subset (obs, CHARTA_SEARCH_SUMMARY_TRUE, NULL);
  names = member_names (sub);
  /* Gone: text and category. */
  g_assert_cmpstr (names, ==,
                   "code,effectiveDateTime,encounter,id,meta,resourceType,status,subject,"
                   "valueQuantity");
  assert_all_kept_as_is (sub, obs);
  assert_meta_subsetted (sub, obs);
}

static void
test_observation_text (void)
{
  g_autoptr(ChartaResource) obs = load_example ("Observation-example.json");
  g_autoptr(ChartaResource) sub = NULL;
  g_autofree char *names = NULL;

  if (obs == NULL)
    return;
  sub = subset (obs, CHARTA_SEARCH_SUMMARY_TEXT, NULL);
  names = member_names (sub);
  /* text, id, meta, and the mandatory status and code. */
  g_assert_cmpstr (names, ==, "code,id,meta,resourceType,status,text");
  assert_all_kept_as_is (sub, obs);
  assert_meta_subsetted (sub, obs);
}

static void
test_observation_data (void)
{
  g_autoptr(ChartaResource) obs = load_example ("Observation-example.json");
  g_autoptr(ChartaResource) sub = NULL;
  g_autofree char *names = NULL;

  if (obs == NULL)
    return;
  sub = subset (obs, CHARTA_SEARCH_SUMMARY_DATA, NULL);
  names = member_names (sub);
  /* Everything but text: category stays. */
  g_assert_cmpstr (names, ==,
                   "category,code,effectiveDateTime,encounter,id,meta,resourceType,status,"
                   "subject,valueQuantity");
  assert_all_kept_as_is (sub, obs);
  assert_meta_subsetted (sub, obs);
}

/* _elements=value: the choice element by its name keeps valueQuantity. */
static void
test_observation_elements (void)
{
  static const char * const by_name[] = { "value", NULL };
  static const char * const by_json_name[] = { "valueQuantity", NULL };
  static const char * const effective[] = { "effective", NULL };
  g_autoptr(ChartaResource) obs = load_example ("Observation-example.json");
  g_autoptr(ChartaResource) sub = NULL;
  g_autoptr(ChartaResource) sub2 = NULL;
  g_autoptr(ChartaResource) sub3 = NULL;
  g_autofree char *names = NULL;
  g_autofree char *names3 = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text2 = NULL;

  if (obs == NULL)
    return;
  sub = subset (obs, CHARTA_SEARCH_SUMMARY_FALSE, by_name);
  names = member_names (sub);
  /* valueQuantity as asked; status (mandatory and a modifier) and code (mandatory); id, meta,
   * resourceType.  Not subject, encounter, effectiveDateTime, category, text. */
  g_assert_cmpstr (names, ==, "code,id,meta,resourceType,status,valueQuantity");
  assert_all_kept_as_is (sub, obs);
  assert_meta_subsetted (sub, obs);

  /* The JSON name of the choice names the same element: the same subset. */
  sub2 = subset (obs, CHARTA_SEARCH_SUMMARY_FALSE, by_json_name);
  text = canonical (sub);
  text2 = canonical (sub2);
  g_assert_cmpstr (text, ==, text2);

  /* Another choice: effective keeps effectiveDateTime, and not valueQuantity. */
  sub3 = subset (obs, CHARTA_SEARCH_SUMMARY_FALSE, effective);
  names3 = member_names (sub3);
  g_assert_cmpstr (names3, ==, "code,effectiveDateTime,id,meta,resourceType,status");
}

/* --- backbone elements ----------------------------------------------------------------------- */

/* Patient.link is summary and a modifier; inside it (Patient.link.*) other and type are
 * summary (both 1..1), modifierExtension summary and a modifier, id and extension neither.
 * Patient.contact is not summary (nor is any of its children but modifierExtension), and
 * Patient.communication is not summary: both go whole. */
static void
test_backbone_patient (void)
{
  static const char * const contact[] = { "contact", NULL };
  const char *json =
    "{\"resourceType\":\"Patient\",\"id\":\"linked\","
    "\"link\":[{\"id\":\"l1\","
    "\"extension\":[{\"url\":\"http://example.org/x\",\"valueString\":\"x\"}],"
    "\"other\":{\"reference\":\"Patient/other\"},\"type\":\"seealso\","
    "\"_type\":{\"extension\":[{\"url\":\"http://example.org/y\",\"valueDecimal\":2.50}]}}],"
    "\"contact\":[{\"modifierExtension\":[{\"url\":\"http://example.org/m\","
    "\"valueBoolean\":true}],\"name\":{\"family\":\"du Marché\"},\"gender\":\"female\"}],"
    "\"communication\":[{\"language\":{\"text\":\"French\"},\"preferred\":true}]}";
  g_autoptr(ChartaResource) patient = charta_test_parse (json);
  g_autoptr(ChartaResource) sub = subset (patient, CHARTA_SEARCH_SUMMARY_TRUE, NULL);
  g_autoptr(ChartaResource) by_elements = NULL;
  g_autofree char *names = NULL;

  /* link keeps other, type and _type (which goes with type, decimal text and all); its id
   * and extension go.  contact and communication go. */
  assert_equals_text (sub,
                      "{\"resourceType\":\"Patient\",\"id\":\"linked\"," META_SUBSETTED ","
                      "\"link\":[{\"other\":{\"reference\":\"Patient/other\"},"
                      "\"type\":\"seealso\",\"_type\":{\"extension\":[{\"url\":"
                      "\"http://example.org/y\",\"valueDecimal\":2.50}]}}]}");

  /* _elements=contact keeps contact whole, and link whole too (a modifier), with its id and
   * extension: _elements does not walk inside what it keeps. */
  by_elements = subset (patient, CHARTA_SEARCH_SUMMARY_FALSE, contact);
  names = member_names (by_elements);
  g_assert_cmpstr (names, ==, "contact,id,link,meta,resourceType");
  assert_all_kept_as_is (by_elements, patient);
}

/* Observation.component is summary; inside it code (1..1) and value[x] are summary,
 * modifierExtension summary and a modifier; id, extension, dataAbsentReason, interpretation
 * and referenceRange are not.  Observation.referenceRange (top level) is not summary. */
static void
test_backbone_observation (void)
{
  const char *json =
    "{\"resourceType\":\"Observation\",\"id\":\"bp\",\"status\":\"final\","
    "\"code\":{\"text\":\"Blood pressure\"},"
    "\"component\":["
    "{\"id\":\"c1\",\"extension\":[{\"url\":\"http://example.org/x\",\"valueString\":\"x\"}],"
    "\"modifierExtension\":[{\"url\":\"http://example.org/m\",\"valueBoolean\":true}],"
    "\"code\":{\"text\":\"systolic\"},\"valueQuantity\":{\"value\":120.50,\"unit\":\"mmHg\"},"
    "\"interpretation\":[{\"text\":\"high\"}],\"referenceRange\":[{\"text\":\"< 120\"}]},"
    "{\"interpretation\":[{\"text\":\"orphan\"}]},"
    "{\"code\":{\"text\":\"diastolic\"},\"dataAbsentReason\":{\"text\":\"not measured\"}}],"
    "\"referenceRange\":[{\"text\":\"normal\"}]}";
  g_autoptr(ChartaResource) obs = charta_test_parse (json);
  g_autoptr(ChartaResource) sub = subset (obs, CHARTA_SEARCH_SUMMARY_TRUE, NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *text = NULL;

  /* First component: modifierExtension, code and valueQuantity stay; id, extension,
   * interpretation, referenceRange go.  Second: only interpretation, so nothing is left and
   * the item goes.  Third: code stays, dataAbsentReason goes.  Top-level referenceRange
   * goes. */
  assert_equals_text (sub,
                      "{\"resourceType\":\"Observation\",\"id\":\"bp\"," META_SUBSETTED ","
                      "\"status\":\"final\",\"code\":{\"text\":\"Blood pressure\"},"
                      "\"component\":["
                      "{\"modifierExtension\":[{\"url\":\"http://example.org/m\","
                      "\"valueBoolean\":true}],\"code\":{\"text\":\"systolic\"},"
                      "\"valueQuantity\":{\"value\":120.50,\"unit\":\"mmHg\"}},"
                      "{\"code\":{\"text\":\"diastolic\"}}]}");

  /* The number text survives into the canonical output. */
  bytes = charta_resource_to_bytes (sub, FALSE);
  text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  charta_test_assert_contains (text, "\"value\":120.50");
}

/* _summary=true keeps the top-level modifiers and mandatory elements that the R4 tables do not
 * flag summary: DomainResource.modifierExtension (?! but not Σ) and Appointment.participant
 * (1..* but not Σ), as the isSummary definition's rule for root elements asks.  Other
 * elements that are neither summary nor modifier go: Patient.extension and .language. */
static void
test_true_modifiers_mandatory (void)
{
  g_autoptr(ChartaResource) patient = charta_test_parse (
    "{\"resourceType\":\"Patient\",\"id\":\"mod\",\"language\":\"fr\","
    "\"extension\":[{\"url\":\"http://example.org/e\",\"valueString\":\"e\"}],"
    "\"modifierExtension\":[{\"url\":\"http://example.org/m\",\"valueBoolean\":true}],"
    "\"gender\":\"other\"}");
  /* Appointment.participant is walked as a backbone: actor and status (Σ) stay, period
   * (not Σ) goes.  description is not summary. */
  g_autoptr(ChartaResource) appointment = charta_test_parse (
    "{\"resourceType\":\"Appointment\",\"id\":\"appt\",\"status\":\"booked\","
    "\"description\":\"check-up\",\"participant\":[{\"actor\":{\"reference\":"
    "\"Patient/mod\"},\"status\":\"accepted\",\"period\":{\"start\":\"2020-01-01\"}}]}");
  g_autoptr(ChartaResource) sub_patient = subset (patient, CHARTA_SEARCH_SUMMARY_TRUE, NULL);
  g_autoptr(ChartaResource) sub_appointment = subset (appointment, CHARTA_SEARCH_SUMMARY_TRUE,
                                                      NULL);

  assert_equals_text (sub_patient,
                      "{\"resourceType\":\"Patient\",\"id\":\"mod\"," META_SUBSETTED ","
                      "\"modifierExtension\":[{\"url\":\"http://example.org/m\","
                      "\"valueBoolean\":true}],\"gender\":\"other\"}");
  assert_equals_text (sub_appointment,
                      "{\"resourceType\":\"Appointment\",\"id\":\"appt\"," META_SUBSETTED
                      ",\"status\":\"booked\",\"participant\":[{\"actor\":{\"reference\":"
                      "\"Patient/mod\"},\"status\":\"accepted\"}]}");
}

/* --- Attachment.data ------------------------------------------------------------------------- */

/* DocumentReference: status 1..1 Σ?!, content 1..* Σ, description Σ; content.attachment 1..1
 * Σ, content.format Σ.  Attachment.data is the data type property summaries leave out
 * (isSummary's definition), wherever the Attachment is: here also inside an extension. */
static void
test_attachment_data (void)
{
  static const char * const content[] = { "content", NULL };
  const char *json =
    "{\"resourceType\":\"DocumentReference\",\"id\":\"doc\",\"status\":\"current\","
    "\"content\":["
    "{\"attachment\":{\"contentType\":\"text/plain\",\"data\":\"SGVsbG8=\","
    "\"url\":\"http://example.org/doc.txt\","
    "\"extension\":[{\"url\":\"http://example.org/thumb\",\"valueAttachment\":"
    "{\"contentType\":\"image/png\",\"data\":\"iVBORw0K\"}}]},"
    "\"format\":{\"code\":\"urn:ihe:iti:xds:2017:mimeTypeSufficient\"}},"
    "{\"attachment\":{\"data\":\"AAAA\"}}],"
    "\"description\":\"note\"}";
  g_autoptr(ChartaResource) doc = charta_test_parse (json);
  g_autoptr(ChartaResource) sub = subset (doc, CHARTA_SEARCH_SUMMARY_TRUE, NULL);
  g_autoptr(ChartaResource) data = subset (doc, CHARTA_SEARCH_SUMMARY_DATA, NULL);
  g_autoptr(ChartaResource) elements = subset (doc, CHARTA_SEARCH_SUMMARY_FALSE, content);

  /* Both data go; the second content's attachment held nothing else, so it goes, and then
   * that content item, left empty, goes too. */
  assert_equals_text (sub,
                      "{\"resourceType\":\"DocumentReference\",\"id\":\"doc\"," META_SUBSETTED
                      ",\"status\":\"current\",\"content\":["
                      "{\"attachment\":{\"contentType\":\"text/plain\","
                      "\"url\":\"http://example.org/doc.txt\","
                      "\"extension\":[{\"url\":\"http://example.org/thumb\",\"valueAttachment\":"
                      "{\"contentType\":\"image/png\"}}]},"
                      "\"format\":{\"code\":\"urn:ihe:iti:xds:2017:mimeTypeSufficient\"}}],"
                      "\"description\":\"note\"}");
  /* _summary=data and _elements keep content whole, data and all. */
  assert_kept_as_is (data, doc, "content");
  assert_kept_as_is (elements, doc, "content");
}

/* --- the tag --------------------------------------------------------------------------------- */

static void
test_subsetted_once (void)
{
  const char *tagged =
    "{\"resourceType\":\"Patient\",\"id\":\"tagged\",\"meta\":{\"versionId\":\"3\","
    "\"tag\":[{\"system\":\"http://example.org/tags\",\"code\":\"vip\"},"
    "{\"system\":\"" V3_OBSERVATION_VALUE "\",\"code\":\"SUBSETTED\"}]},"
    "\"gender\":\"male\",\"maritalStatus\":{\"text\":\"married\"}}";
  /* The same code in another system is another tag: SUBSETTED is still added. */
  const char *other_system =
    "{\"resourceType\":\"Patient\",\"id\":\"other\",\"meta\":{\"lastUpdated\":"
    "\"2020-01-01T00:00:00Z\",\"tag\":[{\"system\":\"http://example.org/tags\","
    "\"code\":\"SUBSETTED\"}]},\"gender\":\"male\"}";
  const char *untagged =
    "{\"resourceType\":\"Patient\",\"id\":\"plain\",\"meta\":{\"versionId\":\"1\"},"
    "\"gender\":\"male\"}";
  g_autoptr(ChartaResource) a = charta_test_parse (tagged);
  g_autoptr(ChartaResource) b = charta_test_parse (other_system);
  g_autoptr(ChartaResource) c = charta_test_parse (untagged);
  g_autoptr(ChartaResource) sub_a = subset (a, CHARTA_SEARCH_SUMMARY_TRUE, NULL);
  g_autoptr(ChartaResource) sub_b = subset (b, CHARTA_SEARCH_SUMMARY_TRUE, NULL);
  g_autoptr(ChartaResource) sub_c = subset (c, CHARTA_SEARCH_SUMMARY_TEXT, NULL);
  g_autoptr(ChartaResource) again = NULL;

  /* Already tagged: meta as it was (versionId, both tags, no third).  maritalStatus is not
   * summary and goes. */
  assert_equals_text (sub_a,
                      "{\"resourceType\":\"Patient\",\"id\":\"tagged\",\"meta\":{\"versionId\":"
                      "\"3\",\"tag\":[{\"system\":\"http://example.org/tags\",\"code\":\"vip\"},"
                      "{\"system\":\"" V3_OBSERVATION_VALUE "\",\"code\":\"SUBSETTED\"}]},"
                      "\"gender\":\"male\"}");
  assert_meta_subsetted (sub_a, a);

  /* Another system's SUBSETTED: ours is appended after it. */
  assert_meta_subsetted (sub_b, b);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                      json_object_get_object_member (charta_resource_get_object (sub_b), "meta"),
                      "tag")), ==, 2);

  /* A meta without tag gets one; versionId stays. */
  assert_equals_text (sub_c,
                      "{\"resourceType\":\"Patient\",\"id\":\"plain\",\"meta\":{\"versionId\":"
                      "\"1\",\"tag\":[{\"system\":\"" V3_OBSERVATION_VALUE "\",\"code\":"
                      "\"SUBSETTED\",\"display\":\"subsetted\"}]}}");

  /* A subset of a subset: still one tag. */
  again = subset (sub_c, CHARTA_SEARCH_SUMMARY_DATA, NULL);
  g_assert_cmpuint (count_subsetted_tags (again), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                      json_object_get_object_member (charta_resource_get_object (again), "meta"),
                      "tag")), ==, 1);
}

/* --- names ----------------------------------------------------------------------------------- */

/* Names that are no element of the type are ignored (the query parser refuses unknown names,
 * and a search of several types may name an element only some have). */
static void
test_unknown_element_name (void)
{
  static const char * const with_unknown[] = { "name", "nosuch", "valueQuantity", "", NULL };
  static const char * const known[] = { "name", NULL };
  g_autoptr(ChartaResource) patient = load_example ("Patient-example.json");
  g_autoptr(ChartaResource) a = NULL;
  g_autoptr(ChartaResource) b = NULL;
  g_autofree char *names = NULL;
  g_autofree char *text_a = NULL;
  g_autofree char *text_b = NULL;

  if (patient == NULL)
    return;
  a = subset (patient, CHARTA_SEARCH_SUMMARY_FALSE, with_unknown);
  b = subset (patient, CHARTA_SEARCH_SUMMARY_FALSE, known);
  names = member_names (a);
  /* name, the modifiers active and deceasedBoolean, id, meta, resourceType. */
  g_assert_cmpstr (names, ==, "active,deceasedBoolean,id,meta,name,resourceType");
  text_a = canonical (a);
  text_b = canonical (b);
  g_assert_cmpstr (text_a, ==, text_b);
}

/* An empty _elements list keeps only what every _elements subset keeps. */
static void
test_empty_elements (void)
{
  static const char * const none[] = { NULL };
  g_autoptr(ChartaResource) obs = load_example ("Observation-example.json");
  g_autoptr(ChartaResource) sub = NULL;
  g_autofree char *names = NULL;

  if (obs == NULL)
    return;
  sub = subset (obs, CHARTA_SEARCH_SUMMARY_FALSE, none);
  names = member_names (sub);
  /* status (mandatory, modifier) and code (mandatory). */
  g_assert_cmpstr (names, ==, "code,id,meta,resourceType,status");
}

/* Members the model does not know: _summary=data keeps them (everything but text), the other
 * modes drop them. */
static void
test_unknown_members (void)
{
  const char *json =
    "{\"resourceType\":\"Patient\",\"id\":\"odd\",\"gender\":\"male\",\"nosuchMember\":1.0,"
    "\"text\":{\"status\":\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">x"
    "</div>\"}}";
  static const char * const gender[] = { "gender", NULL };
  g_autoptr(ChartaResource) patient = charta_test_parse (json);
  g_autoptr(ChartaResource) data = subset (patient, CHARTA_SEARCH_SUMMARY_DATA, NULL);
  g_autoptr(ChartaResource) summary = subset (patient, CHARTA_SEARCH_SUMMARY_TRUE, NULL);
  g_autoptr(ChartaResource) text = subset (patient, CHARTA_SEARCH_SUMMARY_TEXT, NULL);
  g_autoptr(ChartaResource) elements = subset (patient, CHARTA_SEARCH_SUMMARY_FALSE, gender);
  g_autofree char *n_data = member_names (data);
  g_autofree char *n_summary = member_names (summary);
  g_autofree char *n_text = member_names (text);
  g_autofree char *n_elements = member_names (elements);

  g_assert_cmpstr (n_data, ==, "gender,id,meta,nosuchMember,resourceType");
  assert_kept_as_is (data, patient, "nosuchMember");   /* 1.0, not 1 */
  g_assert_cmpstr (n_summary, ==, "gender,id,meta,resourceType");
  g_assert_cmpstr (n_text, ==, "id,meta,resourceType,text");
  g_assert_cmpstr (n_elements, ==, "gender,id,meta,resourceType");
}

/* _summary and _elements together: what either keeps. */
static void
test_summary_and_elements (void)
{
  static const char * const name[] = { "name", NULL };
  static const char * const contact[] = { "contact", NULL };
  g_autoptr(ChartaResource) patient = load_example ("Patient-example.json");
  g_autoptr(ChartaResource) text_name = NULL;
  g_autoptr(ChartaResource) true_contact = NULL;
  g_autofree char *names = NULL;
  g_autofree char *names2 = NULL;

  if (patient == NULL)
    return;
  /* text (from text) ∪ name, active, deceasedBoolean (from _elements: asked, modifiers). */
  text_name = subset (patient, CHARTA_SEARCH_SUMMARY_TEXT, name);
  names = member_names (text_name);
  g_assert_cmpstr (names, ==, "active,deceasedBoolean,id,meta,name,resourceType,text");
  assert_all_kept_as_is (text_name, patient);

  /* The summary elements ∪ contact (not summary, but asked). */
  true_contact = subset (patient, CHARTA_SEARCH_SUMMARY_TRUE, contact);
  names2 = member_names (true_contact);
  g_assert_cmpstr (names2, ==,
                   "_birthDate,active,address,birthDate,contact,deceasedBoolean,gender,id,"
                   "identifier,managingOrganization,meta,name,resourceType,telecom");
  assert_all_kept_as_is (true_contact, patient);
}

/* --- numbers --------------------------------------------------------------------------------- */

static void
assert_output_contains (ChartaResource *resource,
                        const char     *needle)
{
  g_autoptr(GBytes) bytes = charta_resource_to_bytes (resource, FALSE);
  g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));

  charta_test_assert_contains (text, needle);
}

/* Decimal texts survive every mode, also for a resource nested in a Bundle (whose number
 * texts live in the Bundle's document). */
static void
test_decimal_precision (void)
{
  static const char * const value[] = { "value", NULL };
  const char *json =
    "{\"resourceType\":\"Observation\",\"id\":\"dec\",\"status\":\"final\","
    "\"code\":{\"text\":\"x\"},\"valueQuantity\":{\"value\":1.50,\"unit\":\"mg\"},"
    "\"extension\":[{\"url\":\"http://example.org/e\",\"valueDecimal\":1e2}]}";
  const char *bundle_json =
    "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"resource\":"
    "{\"resourceType\":\"Observation\",\"id\":\"in\",\"status\":\"final\","
    "\"code\":{\"text\":\"x\"},\"valueQuantity\":{\"value\":0.0100}}}]}";
  g_autoptr(ChartaResource) obs = charta_test_parse (json);
  g_autoptr(ChartaResource) bundle = charta_test_parse (bundle_json);
  g_autoptr(ChartaResource) nested = NULL;
  g_autoptr(ChartaResource) sub_nested = NULL;
  g_autoptr(ChartaResource) sub_bundle = NULL;
  g_autoptr(GError) error = NULL;
  ChartaSearchSummary modes[] = { CHARTA_SEARCH_SUMMARY_TRUE, CHARTA_SEARCH_SUMMARY_DATA,
                                  CHARTA_SEARCH_SUMMARY_FALSE };
  JsonNode *entry_resource;

  for (unsigned i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autoptr(ChartaResource) sub = subset (obs, modes[i], value);

      assert_output_contains (sub, "\"valueQuantity\":{\"value\":1.50,");
    }
  {
    g_autoptr(ChartaResource) data = subset (obs, CHARTA_SEARCH_SUMMARY_DATA, NULL);

    /* extension is kept by data (and is not summary): its 1e2 as written. */
    assert_output_contains (data, "\"valueDecimal\":1e2");
  }

  entry_resource = json_object_get_member (
    json_array_get_object_element (json_object_get_array_member (
      charta_resource_get_object (bundle), "entry"), 0), "resource");
  nested = charta_resource_new_nested (bundle, entry_resource, &error);
  g_assert_no_error (error);
  sub_nested = subset (nested, CHARTA_SEARCH_SUMMARY_TRUE, NULL);
  assert_output_contains (sub_nested, "\"value\":0.0100");
  g_assert_cmpstr (charta_resource_get_id (sub_nested), ==, "in");

  /* Bundle.entry and entry.resource are summary; the resource inside is kept whole. */
  sub_bundle = subset (bundle, CHARTA_SEARCH_SUMMARY_TRUE, NULL);
  assert_output_contains (sub_bundle, "\"valueQuantity\":{\"value\":0.0100}");
}

/* --- the identity case and errors ------------------------------------------------------------ */

static void
test_false_is_same (void)
{
  g_autoptr(ChartaResource) patient = charta_test_parse (
    "{\"resourceType\":\"Patient\",\"id\":\"p\",\"text\":{\"status\":\"empty\",\"div\":"
    "\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">x</div>\"}}");
  g_autoptr(ChartaResource) same = subset (patient, CHARTA_SEARCH_SUMMARY_FALSE, NULL);

  g_assert_true (same == patient);
  /* A new reference: the resource has no meta, and no tag was added. */
  g_assert_null (json_object_get_member (charta_resource_get_object (same), "meta"));
}

static void
test_bad_meta (void)
{
  g_autoptr(ChartaResource) meta_string = charta_test_parse (
    "{\"resourceType\":\"Patient\",\"id\":\"m1\",\"meta\":\"nope\"}");
  g_autoptr(ChartaResource) tag_object = charta_test_parse (
    "{\"resourceType\":\"Patient\",\"id\":\"m2\",\"meta\":{\"tag\":{\"code\":\"x\"}}}");
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;
  g_autoptr(ChartaResource) a = charta_resource_subset (meta_string, CHARTA_SEARCH_SUMMARY_DATA,
                                                        NULL, &error);
  g_autoptr(ChartaResource) b = charta_resource_subset (tag_object, CHARTA_SEARCH_SUMMARY_TRUE,
                                                        NULL, &error2);
  g_autoptr(ChartaResource) same = NULL;

  g_assert_null (a);
  g_assert_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID);
  charta_test_assert_contains (error->message, "Patient/m1: meta is a string");
  g_assert_null (b);
  g_assert_error (error2, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID);
  charta_test_assert_contains (error2->message, "Patient/m2: meta.tag is an object");

  /* Not subsetting, nothing is added: no error. */
  same = subset (meta_string, CHARTA_SEARCH_SUMMARY_FALSE, NULL);
  g_assert_true (same == meta_string);
}

/* _summary=count returns no resources: asking for a count subset is a programming error. */
static void
test_count_is_misuse (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(ChartaResource) patient = charta_test_parse (
        "{\"resourceType\":\"Patient\",\"id\":\"c\"}");

      charta_resource_subset (patient, CHARTA_SEARCH_SUMMARY_COUNT, NULL, NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*charta_resource_subset*");
}

/* --- the corpus ------------------------------------------------------------------------------ */

typedef enum
{
  MODE_TRUE,
  MODE_TEXT,
  MODE_DATA,
  MODE_ELEMENTS,
  N_MODES
} Mode;

static const char *const mode_names[] = { "true", "text", "data", "elements" };

typedef struct
{
  unsigned kept;      /* top-level members kept (resourceType and meta not counted) */
  unsigned dropped;
  unsigned pruned;    /* _summary=true: kept, but with parts left out */
  unsigned emptied;   /* _summary=true: a summary member with nothing left */
} ModeCounts;

/* Whether the top-level member @name of @type stays in @mode, by the rules of charta-subset.h
 * restated from the R4 flags. */
static gboolean
expect_kept (int         type,
             const char *name,
             Mode        mode,
             GPtrArray  *named)
{
  const char *base = name[0] == '_' ? name + 1 : name;
  const ChartaElementDef *element = charta_model_find_element (type, base, NULL);

  if (element == NULL)
    return mode == MODE_DATA;
  if (g_str_equal (element->name, "id") || g_str_equal (element->name, "meta"))
    return TRUE;
  switch (mode)
    {
    case MODE_TRUE:
      return element->is_summary || element->is_modifier || element->min >= 1;
    case MODE_TEXT:
      return g_str_equal (element->name, "text") || element->min >= 1;
    case MODE_DATA:
      return !g_str_equal (element->name, "text");
    case MODE_ELEMENTS:
    case N_MODES:
    default:
      for (unsigned i = 0; i < named->len; i++)
        if (g_str_equal (named->pdata[i], element->name))
          return TRUE;
      return element->min >= 1 || element->is_modifier;
    }
}

static void
check_corpus_subset (ChartaResource *original,
                     const char     *file,
                     Mode            mode,
                     ModeCounts     *counts)
{
  static const ChartaSearchSummary summaries[] = {
    CHARTA_SEARCH_SUMMARY_TRUE, CHARTA_SEARCH_SUMMARY_TEXT, CHARTA_SEARCH_SUMMARY_DATA,
    CHARTA_SEARCH_SUMMARY_FALSE,
  };
  JsonObject *root = charta_resource_get_object (original);
  int type = charta_model_find_type (charta_resource_get_resource_type (original));
  g_autoptr(GPtrArray) named = g_ptr_array_new ();
  g_autoptr(GList) members = json_object_get_members (root);
  g_autoptr(ChartaResource) sub = NULL;
  g_autoptr(ChartaResource) reparsed = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) bytes2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GList) kept = NULL;

  g_assert_cmpint (type, >=, 0);

  /* _elements: the first two elements the resource has (other than id, meta, text), by
   * their element names, and a name that is none. */
  if (mode == MODE_ELEMENTS)
    {
      for (GList *l = members; l != NULL && named->len < 2; l = l->next)
        {
          const char *name = l->data;
          const ChartaElementDef *element =
            charta_model_find_element (type, name[0] == '_' ? name + 1 : name, NULL);

          if (element != NULL && !g_str_equal (element->name, "id")
              && !g_str_equal (element->name, "meta") && !g_str_equal (element->name, "text"))
            g_ptr_array_add (named, (gpointer) element->name);
        }
      g_ptr_array_add (named, (gpointer) "nosuch");
      g_ptr_array_add (named, NULL);
    }

  sub = charta_resource_subset (original, summaries[mode],
                                mode == MODE_ELEMENTS ? (const char * const *) named->pdata : NULL,
                                &error);
  if (error != NULL)
    g_error ("%s, %s: %s", file, mode_names[mode], error->message);
  g_assert_nonnull (sub);
  if (mode == MODE_ELEMENTS)
    g_ptr_array_remove_index (named, named->len - 1);

  /* It prints, and what it prints parses to the same tree and prints the same. */
  bytes = charta_resource_to_bytes (sub, FALSE);
  reparsed = charta_resource_new_from_bytes (bytes, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (same_json (sub, charta_resource_get_root (sub), reparsed,
                            charta_resource_get_root (reparsed)));
  bytes2 = charta_resource_to_bytes (reparsed, FALSE);
  g_assert_true (g_bytes_equal (bytes, bytes2));

  g_assert_cmpstr (charta_resource_get_resource_type (sub), ==,
                   charta_resource_get_resource_type (original));
  g_assert_cmpstr (charta_resource_get_id (sub), ==, charta_resource_get_id (original));
  assert_meta_subsetted (sub, original);

  /* Each member of the subset is one of the original's, as it was (or, for _summary=true,
   * a pruned copy). */
  kept = json_object_get_members (charta_resource_get_object (sub));
  for (GList *l = kept; l != NULL; l = l->next)
    {
      JsonNode *a = json_object_get_member (charta_resource_get_object (sub), l->data);
      JsonNode *b = json_object_get_member (root, l->data);

      if (g_str_equal (l->data, "meta"))
        continue;
      if (b == NULL)
        g_error ("%s, %s: %s is not in the original", file, mode_names[mode],
                 (const char *) l->data);
      if (same_json (sub, a, original, b))
        continue;
      if (mode == MODE_TRUE && pruned_of (sub, a, original, b))
        {
          counts->pruned++;
          continue;
        }
      g_error ("%s, %s: %s is not what the original holds", file, mode_names[mode],
               (const char *) l->data);
    }

  /* And the original's members are kept or dropped as the rules say. */
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      gboolean is_kept = json_object_has_member (charta_resource_get_object (sub), name);

      if (g_str_equal (name, "resourceType") || g_str_equal (name, "meta"))
        continue;
      if (expect_kept (type, name, mode, named))
        {
          if (!is_kept && mode == MODE_TRUE)
            {
              /* Only a value with nothing summary in it may vanish: check that it is an
               * object or array (a primitive is always kept). */
              g_assert_true (JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, name))
                             || JSON_NODE_HOLDS_ARRAY (json_object_get_member (root, name)));
              counts->emptied++;
              continue;
            }
          if (!is_kept)
            g_error ("%s, %s: %s should have been kept", file, mode_names[mode], name);
          counts->kept++;
        }
      else
        {
          if (is_kept)
            g_error ("%s, %s: %s should have gone", file, mode_names[mode], name);
          counts->dropped++;
        }
    }
}

static void
test_corpus (void)
{
  g_autofree char *dir = NULL;
  g_autoptr(GPtrArray) names = charta_test_list_valid_examples (&dir, NULL);
  ModeCounts counts[N_MODES] = { { 0 } };

  if (names == NULL)
    return;
  g_assert_cmpuint (names->len, ==, 724);

  for (unsigned i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      g_autoptr(ChartaResource) resource = charta_test_load_resource (path);

      for (Mode mode = 0; mode < N_MODES; mode++)
        check_corpus_subset (resource, names->pdata[i], mode, &counts[mode]);
    }

  for (Mode mode = 0; mode < N_MODES; mode++)
    g_test_message ("%s: %u members kept, %u dropped, %u pruned, %u emptied", mode_names[mode],
                    counts[mode].kept, counts[mode].dropped, counts[mode].pruned,
                    counts[mode].emptied);

  /* Every mode drops something somewhere (at least the 724 texts' worth for data, which
   * keeps everything else), and _summary=true walks into some backbone. */
  for (Mode mode = 0; mode < N_MODES; mode++)
    {
      g_assert_cmpuint (counts[mode].kept, >, 0);
      g_assert_cmpuint (counts[mode].dropped, >, 0);
    }
  g_assert_cmpuint (counts[MODE_TRUE].pruned, >, 0);
  g_assert_cmpuint (counts[MODE_TEXT].dropped, >, counts[MODE_DATA].dropped);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/charta/fhir/subset/patient-true", test_patient_true);
  g_test_add_func ("/charta/fhir/subset/patient-text", test_patient_text);
  g_test_add_func ("/charta/fhir/subset/patient-data", test_patient_data);
  g_test_add_func ("/charta/fhir/subset/patient-elements", test_patient_elements);
  g_test_add_func ("/charta/fhir/subset/observation-true", test_observation_true);
  g_test_add_func ("/charta/fhir/subset/observation-text", test_observation_text);
  g_test_add_func ("/charta/fhir/subset/observation-data", test_observation_data);
  g_test_add_func ("/charta/fhir/subset/observation-elements", test_observation_elements);
  g_test_add_func ("/charta/fhir/subset/backbone-patient", test_backbone_patient);
  g_test_add_func ("/charta/fhir/subset/backbone-observation", test_backbone_observation);
  g_test_add_func ("/charta/fhir/subset/true-modifiers-mandatory",
                   test_true_modifiers_mandatory);
  g_test_add_func ("/charta/fhir/subset/attachment-data", test_attachment_data);
  g_test_add_func ("/charta/fhir/subset/subsetted-once", test_subsetted_once);
  g_test_add_func ("/charta/fhir/subset/unknown-element-name", test_unknown_element_name);
  g_test_add_func ("/charta/fhir/subset/empty-elements", test_empty_elements);
  g_test_add_func ("/charta/fhir/subset/unknown-members", test_unknown_members);
  g_test_add_func ("/charta/fhir/subset/summary-and-elements", test_summary_and_elements);
  g_test_add_func ("/charta/fhir/subset/decimal-precision", test_decimal_precision);
  g_test_add_func ("/charta/fhir/subset/false-is-same", test_false_is_same);
  g_test_add_func ("/charta/fhir/subset/bad-meta", test_bad_meta);
  g_test_add_func ("/charta/fhir/subset/count-is-misuse", test_count_is_misuse);
  g_test_add_func ("/charta/fhir/subset/corpus", test_corpus);

  return g_test_run ();
}
