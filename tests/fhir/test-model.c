/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-model.c: the generated FHIR R4 model tables and their lookups.
 *
 * Two kinds of checks: spot checks of things every other unit relies on (Patient's elements in
 * order, choice names, content references, required bindings, search parameters split by base,
 * compartments, invariants), and checks against the definitions in the corpus (every snapshot
 * element is in the model with its cardinality, every search parameter row is there, and
 * regenerating the tables gives the committed file byte for byte).
 */
#define G_LOG_DOMAIN "charta-test-model"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "charta-model.h"
#include "charta-model-private.h"
#include "charta-test-util.h"

static int
type_or_die (const char *name)
{
  int t = charta_model_find_type (name);

  if (t < 0)
    g_error ("type %s missing", name);
  return t;
}

static const ChartaElementDef *
element_or_die (const char *type,
                const char *name)
{
  const ChartaElementDef *e = charta_model_find_element_by_name (type_or_die (type), name);

  if (e == NULL)
    g_error ("element %s.%s missing", type, name);
  return e;
}

static const ChartaTypeDef *
element_type (const ChartaElementDef *e,
              unsigned                i)
{
  g_assert_cmpuint (i, <, e->n_types);
  return charta_model_get_type (charta_model_element_types[e->first_type + i].type);
}

static gboolean
has_constraint (unsigned    first,
                unsigned    n,
                const char *key)
{
  for (unsigned i = first; i < first + n; i++)
    if (strcmp (charta_model_constraints[i].key, key) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
list_has (const char *list,
          const char *item)
{
  g_auto(GStrv) items = NULL;

  if (list == NULL)
    return FALSE;
  items = g_strsplit (list, "|", -1);
  return g_strv_contains ((const char * const *) items, item);
}

static JsonNode *
load_json (const char *relative)
{
  g_autofree char *path = charta_test_corpus_path (relative);
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) error = NULL;

  if (path == NULL)
    return NULL;
  parser = json_parser_new ();
  if (!json_parser_load_from_file (parser, path, &error))
    g_error ("%s: %s", path, error->message);
  return json_node_copy (json_parser_get_root (parser));
}

/* Table invariants ------------------------------------------------------------------------ */

static void
test_tables_consistent (void)
{
  unsigned n_json_names = 0;

  g_assert_cmpuint (charta_model_n_types, >, 600);
  for (unsigned t = 0; t < charta_model_n_types; t++)
    {
      const ChartaTypeDef *def = &charta_model_types[t];

      if (t > 0)
        g_assert_cmpint (strcmp (charta_model_types[t - 1].name, def->name), <, 0);
      g_assert_cmpint (charta_model_find_type (def->name), ==, (int) t);
      g_assert_cmpint (def->base, <, (int) charta_model_n_types);
      g_assert_cmpuint ((unsigned) def->first_element + def->n_elements, <=,
                        charta_model_n_elements);
      g_assert_cmpuint ((unsigned) def->first_constraint + def->n_constraints, <=,
                        charta_model_n_constraints);
      g_assert_true ((def->url == NULL) == (def->kind == CHARTA_TYPE_KIND_BACKBONE));
      if (def->kind == CHARTA_TYPE_KIND_BACKBONE)
        {
          const char *base = charta_model_types[def->base].name;

          g_assert_true (strcmp (base, "BackboneElement") == 0 || strcmp (base, "Element") == 0);
        }
      for (unsigned i = 0; i < def->n_elements; i++)
        {
          const ChartaElementDef *e = &charta_model_elements[def->first_element + i];
          g_autofree char *prefix = g_strconcat (def->name, ".", e->name, NULL);

          /* The path is the type's name (or, for inherited elements of backbones, the same
           * path) followed by the element name. */
          g_assert_true (g_str_has_prefix (e->path, prefix));
          g_assert_true (e->is_choice == g_str_has_suffix (e->path, "[x]"));
          g_assert_cmpuint (e->n_types, >=, 1);
          g_assert_cmpuint ((unsigned) e->first_type + e->n_types, <=,
                            charta_model_n_element_types);
          g_assert_cmpint (e->binding, <, (int) charta_model_n_value_sets);
          g_assert_cmpuint ((unsigned) e->first_constraint + e->n_constraints, <=,
                            charta_model_n_constraints);
          g_assert_true (e->max == -1 || e->max >= (int32_t) e->min);
          g_assert_true (charta_model_find_element_by_name ((int) t, e->name) == e);
          if (!e->is_choice)
            g_assert_true (charta_model_find_element ((int) t, e->name, NULL) == e);
          else
            g_assert_null (charta_model_find_element ((int) t, e->name, NULL));
        }
      n_json_names += charta_model_type_json_names[t].n;
    }

  for (unsigned i = 0; i < charta_model_n_element_types; i++)
    g_assert_cmpuint (charta_model_element_types[i].type, <, charta_model_n_types);

  for (unsigned i = 0; i < charta_model_n_constraints; i++)
    {
      g_assert_cmpstr (charta_model_constraints[i].key, !=, "ele-1");
      g_assert_nonnull (charta_model_constraints[i].expression);
      g_assert_nonnull (charta_model_constraints[i].human);
    }

  for (unsigned i = 0; i < charta_model_n_value_sets; i++)
    {
      const ChartaValueSetDef *vs = &charta_model_value_sets[i];

      if (i > 0)
        g_assert_cmpint (strcmp (charta_model_value_sets[i - 1].url, vs->url), <, 0);
      g_assert_true (charta_model_lookup_value_set (vs->url) == vs);
      g_assert_cmpuint (vs->first_code + vs->n_codes, <=, charta_model_n_codes);
      for (unsigned c = vs->first_code; c < vs->first_code + vs->n_codes; c++)
        g_assert_true (charta_model_value_set_contains (vs, charta_model_codes[c].system,
                                                        charta_model_codes[c].code));
    }

  for (unsigned i = 0; i < charta_model_n_search_params; i++)
    {
      const ChartaSearchParamDef *sp = &charta_model_search_params[i];

      g_assert_cmpint (charta_model_find_type (sp->resource_type), >=, 0);
      g_assert_true (charta_model_lookup_search_param (sp->resource_type, sp->code) == sp);
      g_assert_cmpuint ((unsigned) sp->first_component + sp->n_components, <=,
                        charta_model_n_search_components);
      g_assert_true ((sp->n_components > 0) == (sp->type == CHARTA_SEARCH_TYPE_COMPOSITE));
      /* The expression kept for a base names that base, or is relative to it. */
      if (sp->expression != NULL && strcmp (sp->resource_type, "InsurancePlan") != 0)
        g_assert_nonnull (strstr (sp->expression, sp->resource_type));
    }

  for (unsigned i = 0; i < charta_model_n_compartments; i++)
    {
      const ChartaCompartmentDef *c = &charta_model_compartments[i];

      g_assert_true (charta_model_is_resource_type (c->compartment));
      g_assert_true (charta_model_is_resource_type (c->resource_type));
      g_assert_true (charta_model_lookup_compartment (c->compartment, c->resource_type) == c);
      g_assert_cmpstr (c->params, !=, "");
    }

  /* Every element appears at least once in the JSON name index. */
  g_assert_cmpuint (n_json_names, >=, charta_model_n_elements);
}

/* Types ------------------------------------------------------------------------------------ */

static void
test_types (void)
{
  const ChartaTypeDef *patient = charta_model_lookup_type ("Patient");
  const ChartaTypeDef *date = charta_model_lookup_type ("date");
  const ChartaTypeDef *contact = charta_model_lookup_type ("Patient.contact");
  unsigned n_resources = 0;

  g_assert_nonnull (patient);
  g_assert_cmpint (patient->kind, ==, CHARTA_TYPE_KIND_RESOURCE);
  g_assert_false (patient->is_abstract);
  g_assert_cmpstr (patient->url, ==, "http://hl7.org/fhir/StructureDefinition/Patient");
  g_assert_cmpstr (charta_model_get_type (patient->base)->name, ==, "DomainResource");
  g_assert_null (patient->regex);

  g_assert_nonnull (date);
  g_assert_cmpint (date->kind, ==, CHARTA_TYPE_KIND_PRIMITIVE);
  g_assert_nonnull (date->regex);
  g_assert_true (g_regex_match_simple (date->regex, "2024-02-29", G_REGEX_ANCHORED, 0));
  g_assert_true (g_str_has_prefix (date->regex, "([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)"));
  g_assert_nonnull (charta_model_lookup_type ("id")->regex);
  g_assert_nonnull (strstr (charta_model_lookup_type ("id")->regex, "{1,64}"));
  g_assert_cmpstr (charta_model_lookup_type ("string")->regex, ==, "[ \\r\\n\\t\\S]+");

  g_assert_nonnull (contact);
  g_assert_cmpint (contact->kind, ==, CHARTA_TYPE_KIND_BACKBONE);
  g_assert_null (contact->url);
  g_assert_cmpstr (charta_model_get_type (contact->base)->name, ==, "BackboneElement");
  g_assert_cmpstr (charta_model_lookup_type ("Timing.repeat") != NULL
                   ? charta_model_get_type (charta_model_lookup_type ("Timing.repeat")->base)->name
                   : NULL, ==, "Element");
  g_assert_nonnull (charta_model_lookup_type ("Bundle.entry.request"));
  g_assert_cmpint (charta_model_lookup_type ("Bundle.entry.request")->kind, ==,
                   CHARTA_TYPE_KIND_BACKBONE);

  g_assert_cmpint (charta_model_find_type ("Nonexistent"), ==, -1);
  g_assert_cmpint (charta_model_find_type ("patient"), ==, -1);
  g_assert_null (charta_model_lookup_type (""));
  g_assert_null (charta_model_get_type (-1));
  g_assert_null (charta_model_get_type ((int) charta_model_n_types));

  g_assert_true (charta_model_lookup_type ("Resource")->is_abstract);
  g_assert_true (charta_model_lookup_type ("DomainResource")->is_abstract);
  g_assert_true (charta_model_lookup_type ("Element")->is_abstract);
  g_assert_true (charta_model_lookup_type ("BackboneElement")->is_abstract);
  g_assert_false (charta_model_lookup_type ("Quantity")->is_abstract);
  g_assert_cmpint (charta_model_lookup_type ("Resource")->base, ==, -1);
  g_assert_cmpint (charta_model_lookup_type ("Element")->base, ==, -1);

  g_assert_true (charta_model_is_resource_type ("Patient"));
  g_assert_true (charta_model_is_resource_type ("Bundle"));
  g_assert_true (charta_model_is_resource_type ("Parameters"));
  g_assert_false (charta_model_is_resource_type ("Resource"));
  g_assert_false (charta_model_is_resource_type ("DomainResource"));
  g_assert_false (charta_model_is_resource_type ("HumanName"));
  g_assert_false (charta_model_is_resource_type ("Patient.contact"));
  g_assert_false (charta_model_is_resource_type ("MetadataResource"));
  g_assert_false (charta_model_is_resource_type ("Foo"));

  for (unsigned t = 0; t < charta_model_n_types; t++)
    if (charta_model_types[t].kind == CHARTA_TYPE_KIND_RESOURCE && !charta_model_types[t].is_abstract)
      n_resources++;
  /* Checked against the definitions in test_corpus_structures as well. */
  g_assert_cmpuint (n_resources, ==, 146);
}

static void
test_type_is_a (void)
{
  int patient = type_or_die ("Patient");
  int bundle = type_or_die ("Bundle");
  int resource = type_or_die ("Resource");
  int domain = type_or_die ("DomainResource");
  int element = type_or_die ("Element");

  g_assert_true (charta_model_type_is_a (patient, patient));
  g_assert_true (charta_model_type_is_a (patient, domain));
  g_assert_true (charta_model_type_is_a (patient, resource));
  g_assert_false (charta_model_type_is_a (patient, element));
  g_assert_false (charta_model_type_is_a (bundle, domain));
  g_assert_true (charta_model_type_is_a (bundle, resource));
  g_assert_false (charta_model_type_is_a (resource, patient));
  g_assert_true (charta_model_type_is_a (type_or_die ("Age"), type_or_die ("Quantity")));
  g_assert_true (charta_model_type_is_a (type_or_die ("code"), type_or_die ("string")));
  g_assert_false (charta_model_type_is_a (type_or_die ("string"), type_or_die ("code")));
  g_assert_true (charta_model_type_is_a (type_or_die ("Patient.contact"),
                                         type_or_die ("BackboneElement")));
  g_assert_true (charta_model_type_is_a (type_or_die ("Patient.contact"), element));
  g_assert_false (charta_model_type_is_a (-1, element));
  g_assert_false (charta_model_type_is_a (patient, -1));
}

/* Elements --------------------------------------------------------------------------------- */

static void
test_patient_elements (void)
{
  static const char * const expected[] = {
    "id", "meta", "implicitRules", "language", "text", "contained", "extension",
    "modifierExtension", "identifier", "active", "name", "telecom", "gender", "birthDate",
    "deceased", "address", "maritalStatus", "multipleBirth", "photo", "contact",
    "communication", "generalPractitioner", "managingOrganization", "link",
  };
  const ChartaTypeDef *patient = charta_model_lookup_type ("Patient");
  const ChartaElementDef *e;

  g_assert_cmpuint (patient->n_elements, ==, G_N_ELEMENTS (expected));
  for (unsigned i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpstr (charta_model_elements[patient->first_element + i].name, ==, expected[i]);

  e = element_or_die ("Patient", "id");
  g_assert_cmpstr (e->path, ==, "Patient.id");
  g_assert_cmpuint (e->min, ==, 0);
  g_assert_cmpint (e->max, ==, 1);
  g_assert_true (e->is_summary);
  g_assert_cmpstr (element_type (e, 0)->name, ==, "string");

  e = element_or_die ("Patient", "name");
  g_assert_cmpint (e->max, ==, -1);
  g_assert_cmpstr (element_type (e, 0)->name, ==, "HumanName");

  e = element_or_die ("Patient", "implicitRules");
  g_assert_true (e->is_modifier);
  g_assert_cmpstr (element_type (e, 0)->name, ==, "uri");

  e = element_or_die ("Patient", "contact");
  g_assert_cmpint (e->max, ==, -1);
  g_assert_false (e->is_modifier);
  g_assert_cmpstr (element_type (e, 0)->name, ==, "Patient.contact");

  e = element_or_die ("Patient.link", "other");
  g_assert_cmpuint (e->min, ==, 1);
  g_assert_cmpint (e->max, ==, 1);
  g_assert_cmpstr (element_type (e, 0)->name, ==, "Reference");
  g_assert_cmpstr (charta_model_element_types[e->first_type].targets, ==, "Patient|RelatedPerson");

  e = element_or_die ("Patient", "generalPractitioner");
  g_assert_cmpstr (charta_model_element_types[e->first_type].targets, ==,
                   "Organization|Practitioner|PractitionerRole");

  e = element_or_die ("Patient.communication", "language");
  g_assert_cmpuint (e->min, ==, 1);

  e = element_or_die ("Patient", "deceased");
  g_assert_true (e->is_choice);
  g_assert_true (e->is_modifier);
  g_assert_cmpstr (e->path, ==, "Patient.deceased[x]");
  g_assert_cmpuint (e->n_types, ==, 2);
  g_assert_cmpstr (element_type (e, 0)->name, ==, "boolean");
  g_assert_cmpstr (element_type (e, 1)->name, ==, "dateTime");

  /* Inherited elements of primitives and complex types. */
  e = element_or_die ("Extension", "url");
  g_assert_cmpuint (e->min, ==, 1);
  g_assert_cmpstr (element_type (e, 0)->name, ==, "uri");
  e = element_or_die ("date", "value");
  g_assert_cmpstr (element_type (e, 0)->name, ==, "date");
  e = element_or_die ("Quantity", "extension");
  g_assert_cmpstr (e->path, ==, "Quantity.extension");
  g_assert_cmpuint (charta_model_lookup_type ("Element")->n_elements, ==, 2);
  g_assert_cmpuint (charta_model_lookup_type ("BackboneElement")->n_elements, ==, 3);
  g_assert_cmpuint (charta_model_lookup_type ("Resource")->n_elements, ==, 4);
  g_assert_cmpuint (charta_model_lookup_type ("DomainResource")->n_elements, ==, 8);

  g_assert_null (charta_model_find_element_by_name (type_or_die ("Patient"), "nope"));
  g_assert_null (charta_model_find_element (type_or_die ("Patient"), "Name", NULL));
  g_assert_null (charta_model_find_element (-1, "id", NULL));
}

static void
test_choice (void)
{
  int observation = type_or_die ("Observation");
  int choice = 12345;
  const ChartaElementDef *e;

  e = charta_model_find_element (observation, "valueQuantity", &choice);
  g_assert_nonnull (e);
  g_assert_cmpstr (e->path, ==, "Observation.value[x]");
  g_assert_cmpstr (e->name, ==, "value");
  g_assert_true (e->is_choice);
  g_assert_cmpuint (e->n_types, ==, 11);
  g_assert_cmpint (choice, ==, type_or_die ("Quantity"));

  e = charta_model_find_element (observation, "valueCodeableConcept", &choice);
  g_assert_nonnull (e);
  g_assert_cmpint (choice, ==, type_or_die ("CodeableConcept"));
  e = charta_model_find_element (observation, "valueDateTime", &choice);
  g_assert_nonnull (e);
  g_assert_cmpint (choice, ==, type_or_die ("dateTime"));
  e = charta_model_find_element (observation, "effectiveDateTime", &choice);
  g_assert_nonnull (e);
  g_assert_cmpint (choice, ==, type_or_die ("dateTime"));

  choice = 12345;
  g_assert_null (charta_model_find_element (observation, "valueFoo", &choice));
  g_assert_cmpint (choice, ==, -1);
  g_assert_null (charta_model_find_element (observation, "value", NULL));
  g_assert_null (charta_model_find_element (observation, "valuequantity", NULL));
  g_assert_null (charta_model_find_element (observation, "valueAge", NULL));
  g_assert_null (charta_model_find_element (observation, "valueUri", NULL));

  e = charta_model_find_element (observation, "status", &choice);
  g_assert_nonnull (e);
  g_assert_cmpint (choice, ==, -1);

  e = charta_model_find_element_by_name (observation, "value");
  g_assert_nonnull (e);
  g_assert_true (e->is_choice);
  g_assert_null (charta_model_find_element_by_name (observation, "valueQuantity"));

  /* Extension.value[x] allows the open type list, Meta and Dosage included. */
  e = charta_model_find_element (type_or_die ("Extension"), "valueMeta", &choice);
  g_assert_nonnull (e);
  g_assert_cmpint (choice, ==, type_or_die ("Meta"));
  e = charta_model_find_element (type_or_die ("Extension"), "valueBase64Binary", &choice);
  g_assert_nonnull (e);
  g_assert_cmpint (choice, ==, type_or_die ("base64Binary"));
}

static void
test_content_reference (void)
{
  const ChartaElementDef *e = element_or_die ("Questionnaire.item", "item");
  const ChartaTypeDef *item = charta_model_lookup_type ("Questionnaire.item");

  g_assert_cmpstr (e->path, ==, "Questionnaire.item.item");
  g_assert_cmpuint (e->n_types, ==, 1);
  g_assert_true (element_type (e, 0) == item);
  g_assert_null (charta_model_lookup_type ("Questionnaire.item.item"));
  g_assert_true (has_constraint (item->first_constraint, item->n_constraints, "que-1"));

  e = element_or_die ("QuestionnaireResponse.item.answer", "item");
  g_assert_cmpstr (element_type (e, 0)->name, ==, "QuestionnaireResponse.item");

  e = element_or_die ("Parameters.parameter", "part");
  g_assert_cmpstr (element_type (e, 0)->name, ==, "Parameters.parameter");
}

/* Bindings --------------------------------------------------------------------------------- */

static void
test_bindings (void)
{
  const ChartaElementDef *e = element_or_die ("Observation", "status");
  const ChartaValueSetDef *vs;

  g_assert_cmpint (e->binding, >=, 0);
  vs = &charta_model_value_sets[e->binding];
  g_assert_cmpstr (vs->url, ==, "http://hl7.org/fhir/ValueSet/observation-status");
  g_assert_true (vs->is_complete);
  g_assert_cmpuint (vs->n_codes, ==, 8);
  g_assert_true (charta_model_value_set_contains (vs, NULL, "final"));
  g_assert_true (charta_model_value_set_contains (vs, NULL, "entered-in-error"));
  g_assert_true (charta_model_value_set_contains (vs, "http://hl7.org/fhir/observation-status",
                                                  "final"));
  g_assert_false (charta_model_value_set_contains (vs, "http://example.org/other", "final"));
  g_assert_false (charta_model_value_set_contains (vs, NULL, "bogus"));
  g_assert_false (charta_model_value_set_contains (vs, NULL, "Final"));
  g_assert_false (charta_model_value_set_contains (vs, NULL, ""));
  g_assert_false (charta_model_value_set_contains (vs, NULL, NULL));

  e = element_or_die ("Patient", "gender");
  g_assert_cmpint (e->binding, >=, 0);
  vs = &charta_model_value_sets[e->binding];
  g_assert_true (vs == charta_model_lookup_value_set ("http://hl7.org/fhir/ValueSet/administrative-gender"));
  g_assert_true (vs == charta_model_lookup_value_set ("http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1"));
  g_assert_cmpuint (vs->n_codes, ==, 4);
  for (unsigned i = 0; i < 4; i++)
    {
      static const char * const codes[] = { "female", "male", "other", "unknown" };

      g_assert_true (charta_model_value_set_contains (vs, "http://hl7.org/fhir/administrative-gender",
                                                      codes[i]));
    }
  g_assert_false (charta_model_value_set_contains (vs, NULL, "M"));

  /* Not required (extensible or example): no binding index. */
  g_assert_cmpint (element_or_die ("Observation", "code")->binding, ==, -1);
  g_assert_cmpint (element_or_die ("Patient", "maritalStatus")->binding, ==, -1);

  /* A value set drawing on an external code system is kept but marked incomplete. */
  e = element_or_die ("Attachment", "contentType");
  g_assert_cmpint (e->binding, >=, 0);
  g_assert_false (charta_model_value_sets[e->binding].is_complete);

  /* Quantity.comparator, Bundle.type, a value set with imports (FHIRAllTypes). */
  g_assert_true (charta_model_value_set_contains (
    &charta_model_value_sets[element_or_die ("Quantity", "comparator")->binding], NULL, ">="));
  g_assert_true (charta_model_value_set_contains (
    &charta_model_value_sets[element_or_die ("Bundle", "type")->binding], NULL, "transaction"));
  vs = charta_model_lookup_value_set ("http://hl7.org/fhir/ValueSet/all-types");
  g_assert_nonnull (vs);
  g_assert_true (vs->is_complete);
  g_assert_true (charta_model_value_set_contains (vs, NULL, "Patient"));
  g_assert_true (charta_model_value_set_contains (vs, NULL, "HumanName"));
  g_assert_true (charta_model_value_set_contains (vs, "http://hl7.org/fhir/resource-types", "Patient"));
  g_assert_false (charta_model_value_set_contains (vs, "http://hl7.org/fhir/data-types", "Patient"));

  g_assert_null (charta_model_lookup_value_set ("http://hl7.org/fhir/ValueSet/nonexistent"));
  g_assert_null (charta_model_lookup_value_set ("http://hl7.org/fhir/ValueSet/administrative-gende"));
  g_assert_null (charta_model_lookup_value_set ("http://hl7.org/fhir/ValueSet/administrative-genderx"));
}

/* Constraints ------------------------------------------------------------------------------ */

static void
test_constraints (void)
{
  const ChartaTypeDef *t;
  const ChartaElementDef *e;
  gboolean found = FALSE;

  t = charta_model_lookup_type ("Patient");
  g_assert_true (has_constraint (t->first_constraint, t->n_constraints, "dom-3"));
  g_assert_true (has_constraint (t->first_constraint, t->n_constraints, "dom-6"));
  g_assert_false (has_constraint (t->first_constraint, t->n_constraints, "ele-1"));
  for (unsigned i = t->first_constraint; i < t->first_constraint + t->n_constraints; i++)
    if (strcmp (charta_model_constraints[i].key, "dom-6") == 0)
      {
        g_assert_cmpint (charta_model_constraints[i].severity, ==, CHARTA_SEVERITY_WARNING);
        g_assert_cmpstr (charta_model_constraints[i].expression, ==, "text.`div`.exists()");
        found = TRUE;
      }
  g_assert_true (found);

  t = charta_model_lookup_type ("Observation");
  g_assert_true (has_constraint (t->first_constraint, t->n_constraints, "obs-6"));
  g_assert_true (has_constraint (t->first_constraint, t->n_constraints, "obs-7"));
  g_assert_true (has_constraint (t->first_constraint, t->n_constraints, "dom-2"));
  t = charta_model_lookup_type ("Observation.referenceRange");
  g_assert_true (has_constraint (t->first_constraint, t->n_constraints, "obs-3"));
  t = charta_model_lookup_type ("Patient.contact");
  g_assert_true (has_constraint (t->first_constraint, t->n_constraints, "pat-1"));
  e = element_or_die ("Patient", "contact");
  g_assert_false (has_constraint (e->first_constraint, e->n_constraints, "pat-1"));

  t = charta_model_lookup_type ("Quantity");
  g_assert_true (has_constraint (t->first_constraint, t->n_constraints, "qty-3"));
  t = charta_model_lookup_type ("Age");
  g_assert_true (has_constraint (t->first_constraint, t->n_constraints, "age-1"));
  g_assert_true (has_constraint (t->first_constraint, t->n_constraints, "qty-3"));
  t = charta_model_lookup_type ("Period");
  g_assert_true (has_constraint (t->first_constraint, t->n_constraints, "per-1"));
  t = charta_model_lookup_type ("Extension");
  g_assert_true (has_constraint (t->first_constraint, t->n_constraints, "ext-1"));
  t = charta_model_lookup_type ("Bundle.entry");
  g_assert_true (has_constraint (t->first_constraint, t->n_constraints, "bdl-5"));
  g_assert_true (has_constraint (t->first_constraint, t->n_constraints, "bdl-8"));

  /* ext-1 belongs to Extension's root, not to each extension element. */
  e = element_or_die ("Patient", "extension");
  g_assert_cmpuint (e->n_constraints, ==, 0);
  /* An element's own rule stays on it. */
  e = element_or_die ("Narrative", "div");
  g_assert_true (has_constraint (e->first_constraint, e->n_constraints, "txt-1"));
  g_assert_true (has_constraint (e->first_constraint, e->n_constraints, "txt-2"));
}

/* Search parameters ------------------------------------------------------------------------ */

/* clinical-code has one url and a row per base: the row of the type asked for, the first row
 * when that type has none, NULL for an unknown url; "|version" is not part of a url here. */
static void
test_search_param_by_url (void)
{
  const char *url = "http://hl7.org/fhir/SearchParameter/clinical-code";
  const ChartaSearchParamDef *obs = charta_model_lookup_search_param_by_url (url, "Observation");
  const ChartaSearchParamDef *cond = charta_model_lookup_search_param_by_url (url, "Condition");
  const ChartaSearchParamDef *any = charta_model_lookup_search_param_by_url (url, NULL);
  const ChartaSearchParamDef *other = charta_model_lookup_search_param_by_url (url, "Patient");

  g_assert_nonnull (obs);
  g_assert_cmpstr (obs->resource_type, ==, "Observation");
  g_assert_cmpstr (obs->code, ==, "code");
  g_assert_cmpstr (obs->expression, ==, "Observation.code");
  g_assert_nonnull (cond);
  g_assert_cmpstr (cond->resource_type, ==, "Condition");
  g_assert_true (obs != cond);
  g_assert_nonnull (any);
  g_assert_cmpstr (any->url, ==, url);
  /* Patient has no "code": the first row */
  g_assert_true (other == any);
  g_assert_null (charta_model_lookup_search_param_by_url ("http://example.org/nope", NULL));
}

static void
test_search_params (void)
{
  const ChartaSearchParamDef *sp;
  g_autoptr(GHashTable) urls = g_hash_table_new (g_str_hash, g_str_equal);

  for (unsigned i = 0; i < charta_model_n_search_params; i++)
    g_hash_table_add (urls, (gpointer) charta_model_search_params[i].url);
  g_assert_cmpuint (g_hash_table_size (urls), ==, 1375);
  g_assert_cmpuint (charta_model_n_search_param_definitions, ==, 1375);

  sp = charta_model_lookup_search_param ("Patient", "birthdate");
  g_assert_nonnull (sp);
  g_assert_cmpint (sp->type, ==, CHARTA_SEARCH_TYPE_DATE);
  g_assert_cmpstr (sp->expression, ==, "Patient.birthDate");
  g_assert_cmpstr (sp->url, ==, "http://hl7.org/fhir/SearchParameter/individual-birthdate");
  g_assert_true (list_has (sp->comparators, "ge"));
  g_assert_cmpstr (charta_model_lookup_search_param ("Person", "birthdate")->expression, ==,
                   "Person.birthDate");

  sp = charta_model_lookup_search_param ("Observation", "patient");
  g_assert_nonnull (sp);
  g_assert_cmpstr (sp->url, ==, "http://hl7.org/fhir/SearchParameter/clinical-patient");
  g_assert_cmpstr (sp->expression, ==, "Observation.subject.where(resolve() is Patient)");
  /* The definition lists Group too, though its expression keeps only Patients. */
  g_assert_cmpstr (sp->targets, ==, "Patient|Group");
  g_assert_cmpint (sp->type, ==, CHARTA_SEARCH_TYPE_REFERENCE);
  sp = charta_model_lookup_search_param ("AllergyIntolerance", "patient");
  g_assert_cmpstr (sp->expression, ==, "AllergyIntolerance.patient");

  /* Medication.code must not pick up MedicationRequest's alternatives. */
  sp = charta_model_lookup_search_param ("Medication", "code");
  g_assert_cmpstr (sp->expression, ==, "Medication.code");
  sp = charta_model_lookup_search_param ("MedicationRequest", "code");
  g_assert_cmpstr (sp->expression, ==, "(MedicationRequest.medication as CodeableConcept)");
  sp = charta_model_lookup_search_param ("AllergyIntolerance", "code");
  g_assert_cmpstr (sp->expression, ==, "AllergyIntolerance.code | AllergyIntolerance.reaction.substance");
  sp = charta_model_lookup_search_param ("Observation", "value-quantity");
  g_assert_cmpstr (sp->expression, ==,
                   "(Observation.value as Quantity) | (Observation.value as SampledData)");
  sp = charta_model_lookup_search_param ("InsurancePlan", "name");
  g_assert_cmpstr (sp->expression, ==, "name | alias");

  sp = charta_model_lookup_search_param ("Observation", "code-value-quantity");
  g_assert_nonnull (sp);
  g_assert_cmpint (sp->type, ==, CHARTA_SEARCH_TYPE_COMPOSITE);
  g_assert_cmpuint (sp->n_components, ==, 2);
  g_assert_cmpstr (charta_model_search_components[sp->first_component].definition, ==,
                   "http://hl7.org/fhir/SearchParameter/clinical-code");
  g_assert_cmpstr (charta_model_search_components[sp->first_component].expression, ==, "code");
  g_assert_cmpstr (charta_model_search_components[sp->first_component + 1].definition, ==,
                   "http://hl7.org/fhir/SearchParameter/Observation-value-quantity");

  sp = charta_model_lookup_search_param ("Patient", "_id");
  g_assert_nonnull (sp);
  g_assert_cmpstr (sp->resource_type, ==, "Resource");
  g_assert_cmpstr (sp->expression, ==, "Resource.id");
  g_assert_cmpint (sp->type, ==, CHARTA_SEARCH_TYPE_TOKEN);
  sp = charta_model_lookup_search_param ("Patient", "_lastUpdated");
  g_assert_nonnull (sp);
  g_assert_cmpint (sp->type, ==, CHARTA_SEARCH_TYPE_DATE);
  sp = charta_model_lookup_search_param ("Patient", "_text");
  g_assert_nonnull (sp);
  g_assert_cmpstr (sp->resource_type, ==, "DomainResource");
  g_assert_null (sp->expression);
  g_assert_null (charta_model_lookup_search_param ("Bundle", "_text"));
  g_assert_nonnull (charta_model_lookup_search_param ("Bundle", "_id"));
  g_assert_null (charta_model_lookup_search_param ("Patient", "nonexistent"));
  g_assert_null (charta_model_lookup_search_param ("Nonexistent", "_id"));

  sp = charta_model_lookup_search_param ("Patient", "general-practitioner");
  g_assert_cmpstr (sp->targets, ==, "Practitioner|Organization|PractitionerRole");
  /* R4's definitions list no modifiers or comparators for string parameters. */
  g_assert_null (charta_model_lookup_search_param ("Patient", "name")->modifiers);
  g_assert_null (charta_model_lookup_search_param ("Patient", "name")->comparators);
}

static void
test_list_search_params (void)
{
  size_t n = 0;
  g_autofree const ChartaSearchParamDef **list = charta_model_list_search_params ("Patient", &n);
  gboolean have_id = FALSE, have_text = FALSE, have_birthdate = FALSE;
  size_t count = 0;

  g_assert_nonnull (list);
  for (; list[count] != NULL; count++)
    {
      const ChartaSearchParamDef *sp = list[count];

      g_assert_true (strcmp (sp->resource_type, "Patient") == 0
                     || strcmp (sp->resource_type, "DomainResource") == 0
                     || strcmp (sp->resource_type, "Resource") == 0);
      have_id |= strcmp (sp->code, "_id") == 0;
      have_text |= strcmp (sp->code, "_text") == 0;
      have_birthdate |= strcmp (sp->code, "birthdate") == 0;
    }
  g_assert_cmpuint (count, ==, n);
  g_assert_true (have_id);
  g_assert_true (have_text);
  g_assert_true (have_birthdate);
  /* R4: 8 Resource parameters, 1 DomainResource, 23 of Patient's own. */
  g_assert_cmpuint (n, ==, 8 + 1 + 23);

  {
    g_autofree const ChartaSearchParamDef **bundle = charta_model_list_search_params ("Bundle", &n);

    for (size_t i = 0; bundle[i] != NULL; i++)
      g_assert_cmpstr (bundle[i]->resource_type, !=, "DomainResource");
    g_assert_cmpuint (n, ==, 8 + 5);
  }
  {
    g_autofree const ChartaSearchParamDef **none = charta_model_list_search_params ("Nope", &n);

    g_assert_cmpuint (n, ==, 0);
    g_assert_null (none[0]);
  }
}

/* Compartments ----------------------------------------------------------------------------- */

static void
test_compartments (void)
{
  const ChartaCompartmentDef *c;

  c = charta_model_lookup_compartment ("Patient", "Observation");
  g_assert_nonnull (c);
  g_assert_true (list_has (c->params, "subject"));
  g_assert_true (list_has (c->params, "performer"));
  c = charta_model_lookup_compartment ("Patient", "Patient");
  g_assert_nonnull (c);
  g_assert_true (list_has (c->params, "link"));
  c = charta_model_lookup_compartment ("Encounter", "Observation");
  g_assert_nonnull (c);
  g_assert_true (list_has (c->params, "encounter"));
  g_assert_nonnull (charta_model_lookup_compartment ("Practitioner", "Encounter"));
  g_assert_nonnull (charta_model_lookup_compartment ("RelatedPerson", "Observation"));
  g_assert_nonnull (charta_model_lookup_compartment ("Device", "Observation"));
  /* Listed in the definition but with no params: not a member. */
  g_assert_null (charta_model_lookup_compartment ("Patient", "Organization"));
  g_assert_null (charta_model_lookup_compartment ("Patient", "Nonexistent"));
  g_assert_null (charta_model_lookup_compartment ("Organization", "Patient"));
}

/* Against the definitions in the corpus ---------------------------------------------------- */

static void
check_structure (JsonObject *sd,
                 unsigned   *n_checked)
{
  const char *type_name = json_object_get_string_member (sd, "type");
  const char *kind = json_object_get_string_member (sd, "kind");
  JsonArray *elements;
  const ChartaTypeDef *t;

  if (strcmp (kind, "logical") == 0)
    {
      g_assert_cmpint (charta_model_find_type (type_name), ==, -1);
      return;
    }
  t = charta_model_lookup_type (type_name);
  g_assert_nonnull (t);
  g_assert_cmpstr (t->url, ==, json_object_get_string_member (sd, "url"));
  if (strcmp (kind, "resource") == 0)
    g_assert_cmpint (t->kind, ==, CHARTA_TYPE_KIND_RESOURCE);
  else if (strcmp (kind, "complex-type") == 0)
    g_assert_cmpint (t->kind, ==, CHARTA_TYPE_KIND_COMPLEX);
  else
    g_assert_cmpint (t->kind, ==, CHARTA_TYPE_KIND_PRIMITIVE);

  elements = json_object_get_array_member (json_object_get_object_member (sd, "snapshot"),
                                           "element");
  for (unsigned i = 1; i < json_array_get_length (elements); i++)
    {
      JsonObject *ed = json_array_get_object_element (elements, i);
      const char *path = json_object_get_string_member (ed, "path");
      const char *dot = strrchr (path, '.');
      g_autofree char *parent = g_strndup (path, (gsize) (dot - path));
      g_autofree char *name = g_strdup (dot + 1);
      const char *max = json_object_get_string_member (ed, "max");
      const ChartaElementDef *e;

      if (g_str_has_suffix (name, "[x]"))
        name[strlen (name) - 3] = '\0';
      e = charta_model_find_element_by_name (type_or_die (parent), name);
      if (e == NULL)
        g_error ("%s missing from the model", path);
      g_assert_cmpstr (e->path, ==, path);
      g_assert_cmpuint (e->min, ==, (guint) json_object_get_int_member (ed, "min"));
      g_assert_cmpint (e->max, ==, strcmp (max, "*") == 0 ? -1 : (int) g_ascii_strtoll (max, NULL, 10));
      g_assert_true (e->is_summary == json_object_get_boolean_member_with_default (ed, "isSummary", FALSE));
      g_assert_true (e->is_modifier == json_object_get_boolean_member_with_default (ed, "isModifier", FALSE));
      if (json_object_has_member (ed, "type") && !json_object_has_member (ed, "contentReference"))
        {
          JsonArray *types = json_object_get_array_member (ed, "type");
          const char *code = json_object_get_string_member (json_array_get_object_element (types, 0), "code");

          g_assert_cmpuint (e->n_types, ==, json_array_get_length (types));
          if (strcmp (code, "BackboneElement") != 0 && strcmp (code, "Element") != 0
              && !g_str_has_prefix (code, "http://"))
            g_assert_cmpstr (element_type (e, 0)->name, ==, code);
        }
      if (json_object_has_member (ed, "binding"))
        {
          JsonObject *b = json_object_get_object_member (ed, "binding");
          const char *strength = json_object_get_string_member (b, "strength");

          if (strcmp (strength, "required") == 0)
            {
              g_autofree char *url = g_strdup (json_object_get_string_member (b, "valueSet"));

              g_assert_cmpint (e->binding, >=, 0);
              if (strchr (url, '|') != NULL)
                *strchr (url, '|') = '\0';
              g_assert_cmpstr (charta_model_value_sets[e->binding].url, ==, url);
            }
          else
            g_assert_cmpint (e->binding, ==, -1);
        }
      (*n_checked)++;
    }
}

static void
test_corpus_structures (void)
{
  g_autofree char *dir = charta_test_corpus_path ("r4-definitions/structure");
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) error = NULL;
  unsigned n_files = 0, n_resources = 0, n_checked = 0;

  if (dir == NULL)
    return;
  names = charta_test_list_json_files (dir, NULL);
  for (unsigned i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *sd;

      json_parser_load_from_file (parser, path, &error);
      g_assert_no_error (error);
      sd = json_node_get_object (json_parser_get_root (parser));
      if (strcmp (json_object_get_string_member (sd, "kind"), "resource") == 0
          && !json_object_get_boolean_member (sd, "abstract"))
        n_resources++;
      check_structure (sd, &n_checked);
      n_files++;
    }
  g_assert_cmpuint (n_files, ==, 208);
  g_assert_cmpuint (n_resources, ==, 146);
  /* Every generated element comes from a snapshot element: the model has no extras except
   * the rebuilt Resource and Element types. */
  g_assert_cmpuint (n_checked + 4 + 2, ==, charta_model_n_elements);
}

static void
test_corpus_search_params (void)
{
  g_autoptr(JsonNode) root = load_json ("r4-definitions/search-parameters.json");
  JsonArray *entries;
  unsigned n_rows = 0;

  if (root == NULL)
    return;
  entries = json_object_get_array_member (json_node_get_object (root), "entry");
  g_assert_cmpuint (json_array_get_length (entries), ==, 1375);
  for (unsigned i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *sp = json_object_get_object_member (json_array_get_object_element (entries, i),
                                                      "resource");
      JsonArray *bases = json_object_get_array_member (sp, "base");
      const char *code = json_object_get_string_member (sp, "code");

      for (unsigned b = 0; b < json_array_get_length (bases); b++)
        {
          const char *base = json_array_get_string_element (bases, b);
          const ChartaSearchParamDef *row = charta_model_lookup_search_param (base, code);

          g_assert_nonnull (row);
          g_assert_cmpstr (row->resource_type, ==, base);
          g_assert_cmpstr (row->url, ==, json_object_get_string_member (sp, "url"));
          g_assert_true ((row->expression == NULL) == !json_object_has_member (sp, "expression"));
          if (json_object_has_member (sp, "component"))
            g_assert_cmpuint (row->n_components, ==,
                              json_array_get_length (json_object_get_array_member (sp, "component")));
          n_rows++;
        }
    }
  g_assert_cmpuint (n_rows, ==, charta_model_n_search_params);
}

static void
test_regenerate (void)
{
  const char *source_root = g_getenv ("CHARTA_SOURCE_ROOT");
  const char *corpus = charta_test_corpus_dir ();
  g_autofree char *python = g_find_program_in_path ("python3");
  g_autofree char *tool = NULL;
  g_autofree char *definitions = NULL;
  g_autofree char *committed_path = NULL;
  g_autofree char *tmpdir = NULL;
  g_autofree char *out_path = NULL;
  g_autofree char *committed = NULL;
  g_autofree char *generated = NULL;
  g_autofree char *std_err = NULL;
  g_autoptr(GError) error = NULL;
  size_t committed_len = 0, generated_len = 0;
  int status = 0;

  if (corpus == NULL)
    return;
  if (python == NULL)
    {
      g_test_skip ("python3 not found");
      return;
    }
  if (source_root == NULL)
    {
      g_test_skip ("CHARTA_SOURCE_ROOT not set");
      return;
    }
  tool = g_build_filename (source_root, "tools", "gen-model.py", NULL);
  definitions = g_build_filename (corpus, "r4-definitions", NULL);
  committed_path = g_build_filename (source_root, "fhir", "charta-model-data.c", NULL);
  tmpdir = g_dir_make_tmp ("charta-model-XXXXXX", &error);
  g_assert_no_error (error);
  out_path = g_build_filename (tmpdir, "charta-model-data.c", NULL);

  {
    const char *argv[] = { python, tool, definitions, out_path, NULL };

    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                  &std_err, &status, &error);
    g_assert_no_error (error);
    if (!g_spawn_check_wait_status (status, &error))
      g_error ("gen-model.py failed: %s\n%s", error->message, std_err);
  }

  g_file_get_contents (committed_path, &committed, &committed_len, &error);
  g_assert_no_error (error);
  g_file_get_contents (out_path, &generated, &generated_len, &error);
  g_assert_no_error (error);
  if (generated_len != committed_len || memcmp (generated, committed, committed_len) != 0)
    {
      unsigned line = 1;
      size_t i = 0;

      while (i < generated_len && i < committed_len && generated[i] == committed[i])
        line += generated[i++] == '\n';
      g_test_message ("fhir/charta-model-data.c is out of date from line %u; regenerate it "
                      "with tools/gen-model.py (see its first line)", line);
    }
  g_assert_cmpuint (generated_len, ==, committed_len);
  g_assert_true (memcmp (generated, committed, committed_len) == 0);
  /* The tool reports the definitions it read. */
  g_assert_nonnull (strstr (std_err, "1375 search parameter definitions"));

  g_unlink (out_path);
  g_rmdir (tmpdir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/charta/fhir/model/tables-consistent", test_tables_consistent);
  g_test_add_func ("/charta/fhir/model/types", test_types);
  g_test_add_func ("/charta/fhir/model/type-is-a", test_type_is_a);
  g_test_add_func ("/charta/fhir/model/patient-elements", test_patient_elements);
  g_test_add_func ("/charta/fhir/model/choice", test_choice);
  g_test_add_func ("/charta/fhir/model/content-reference", test_content_reference);
  g_test_add_func ("/charta/fhir/model/bindings", test_bindings);
  g_test_add_func ("/charta/fhir/model/constraints", test_constraints);
  g_test_add_func ("/charta/fhir/model/search-params", test_search_params);
  g_test_add_func ("/charta/fhir/model/list-search-params", test_list_search_params);
  g_test_add_func ("/charta/fhir/model/compartments", test_compartments);
  g_test_add_func ("/charta/fhir/model/corpus-structures", test_corpus_structures);
  g_test_add_func ("/charta/fhir/model/corpus-search-params", test_corpus_search_params);
  g_test_add_func ("/charta/fhir/model/regenerate", test_regenerate);
  g_test_add_func ("/charta/fhir/model/search-param-by-url", test_search_param_by_url);

  return g_test_run ();
}
