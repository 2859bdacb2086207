/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-fhir-text.c: FHIR R4 JSON as words for people (see charta-fhir-text.h).
 *
 * Only reading: nothing here changes a tree, so the immutable trees that ChartaClient parses
 * can be read from any thread.
 */
#define G_LOG_DOMAIN "charta-fhir-text"

#include <stdlib.h>
#include <string.h>

#include "charta-fhir-text.h"

#define V2_0203 "http://terminology.hl7.org/CodeSystem/v2-0203"

const char *
charta_json_get_string (JsonObject *object,
                        const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

JsonObject *
charta_json_get_object (JsonObject *object,
                        const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

JsonArray *
charta_json_get_array (JsonObject *object,
                       const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

JsonObject *
charta_json_get_first (JsonObject *object,
                       const char *name)
{
  JsonArray *array = charta_json_get_array (object, name);
  JsonNode *node;

  if (array == NULL || json_array_get_length (array) == 0)
    return NULL;
  node = json_array_get_element (array, 0);
  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* The HumanName a patient goes by (see charta_fhir_text_patient_name()). */
static JsonObject *
choose_name (JsonObject *resource)
{
  static const char *const preferred[] = { "official", "usual" };
  JsonArray *names = charta_json_get_array (resource, "name");

  if (names == NULL)
    return NULL;
  for (size_t p = 0; p < G_N_ELEMENTS (preferred); p++)
    for (unsigned i = 0; i < json_array_get_length (names); i++)
      {
        JsonNode *node = json_array_get_element (names, i);

        if (JSON_NODE_HOLDS_OBJECT (node)
            && g_strcmp0 (charta_json_get_string (json_node_get_object (node), "use"),
                          preferred[p]) == 0)
          return json_node_get_object (node);
      }
  return charta_json_get_first (resource, "name");
}

/* The given names of @name joined with spaces, or NULL. */
static char *
join_given (JsonObject *name)
{
  JsonArray *given = charta_json_get_array (name, "given");
  g_autoptr(GString) text = g_string_new (NULL);

  for (unsigned i = 0; given != NULL && i < json_array_get_length (given); i++)
    {
      JsonNode *node = json_array_get_element (given, i);

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        continue;
      if (text->len > 0)
        g_string_append_c (text, ' ');
      g_string_append (text, json_node_get_string (node));
    }
  if (text->len == 0)
    return NULL;
  return g_string_free (g_steal_pointer (&text), FALSE);
}

char *
charta_fhir_text_patient_name (JsonObject *resource,
                               gboolean    family_first)
{
  JsonObject *name = choose_name (resource);
  const char *family;
  g_autofree char *given = NULL;

  if (name == NULL)
    return NULL;
  family = charta_json_get_string (name, "family");
  given = join_given (name);
  if (family != NULL && given != NULL)
    return family_first ? g_strdup_printf ("%s, %s", family, given)
                        : g_strdup_printf ("%s %s", given, family);
  if (family != NULL)
    return g_strdup (family);
  if (given != NULL)
    return g_steal_pointer (&given);
  return g_strdup (charta_json_get_string (name, "text"));
}

char *
charta_fhir_patient_match_key (JsonObject *resource)
{
  JsonObject *name = choose_name (resource);
  const char *family = charta_json_get_string (name, "family");
  const char *birth_date = charta_json_get_string (resource, "birthDate");
  g_autofree char *given = join_given (name);
  g_autofree char *key = NULL;

  if (family == NULL || birth_date == NULL)
    return NULL;
  key = g_strdup_printf ("%s|%s|%s", family, given != NULL ? given : "", birth_date);
  return g_utf8_casefold (key, -1);
}

char *
charta_fhir_text_concept (JsonObject *concept)
{
  const char *text = charta_json_get_string (concept, "text");
  JsonObject *coding = charta_json_get_first (concept, "coding");

  if (text != NULL && *text != '\0')
    return g_strdup (text);
  if (charta_json_get_string (coding, "display") != NULL)
    return g_strdup (charta_json_get_string (coding, "display"));
  if (charta_json_get_string (coding, "code") != NULL)
    return g_strdup (charta_json_get_string (coding, "code"));
  return NULL;
}

const char *
charta_fhir_text_gender (const char *code)
{
  if (g_strcmp0 (code, "female") == 0)
    return "Female";
  if (g_strcmp0 (code, "male") == 0)
    return "Male";
  if (g_strcmp0 (code, "other") == 0)
    return "Other";
  if (g_strcmp0 (code, "unknown") == 0)
    return "Unknown";
  return NULL;
}

static gboolean
is_mrn (JsonObject *identifier)
{
  JsonObject *type = charta_json_get_object (identifier, "type");
  JsonArray *codings = charta_json_get_array (type, "coding");

  for (unsigned i = 0; codings != NULL && i < json_array_get_length (codings); i++)
    {
      JsonNode *node = json_array_get_element (codings, i);
      JsonObject *coding;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      coding = json_node_get_object (node);
      if (g_strcmp0 (charta_json_get_string (coding, "code"), "MR") == 0
          && g_strcmp0 (charta_json_get_string (coding, "system"), V2_0203) == 0)
        return TRUE;
    }
  return g_strcmp0 (charta_json_get_string (type, "text"), "MRN") == 0;
}

JsonObject *
charta_fhir_find_mrn (JsonObject *resource)
{
  JsonArray *identifiers = charta_json_get_array (resource, "identifier");

  for (unsigned i = 0; identifiers != NULL && i < json_array_get_length (identifiers); i++)
    {
      JsonNode *node = json_array_get_element (identifiers, i);

      if (JSON_NODE_HOLDS_OBJECT (node) && is_mrn (json_node_get_object (node))
          && charta_json_get_string (json_node_get_object (node), "value") != NULL)
        return json_node_get_object (node);
    }
  return NULL;
}

char *
charta_fhir_text_identifier_kind (JsonObject *identifier)
{
  g_autofree char *type = charta_fhir_text_concept (charta_json_get_object (identifier, "type"));
  const char *system = charta_json_get_string (identifier, "system");

  if (type != NULL)
    return g_steal_pointer (&type);
  if (system != NULL)
    return g_strdup (system);
  return g_strdup ("Identifier");
}

char *
charta_fhir_text_date (const char *value)
{
  size_t length;

  if (value == NULL || !g_ascii_isdigit (value[0]) || !g_ascii_isdigit (value[1])
      || !g_ascii_isdigit (value[2]) || !g_ascii_isdigit (value[3]))
    return NULL;
  length = strcspn (value, "T");
  return g_strndup (value, MIN (length, 10));
}

/* Year, month and day of a full "YYYY-MM-DD…" date. */
static gboolean
split_date (const char *value,
            int        *year,
            int        *month,
            int        *day)
{
  if (value == NULL || strlen (value) < 10 || value[4] != '-' || value[7] != '-')
    return FALSE;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && !g_ascii_isdigit (value[i]))
      return FALSE;
  *year = atoi (value);
  *month = atoi (value + 5);
  *day = atoi (value + 8);
  return TRUE;
}

int
charta_fhir_age (const char *birth_date,
                 const char *today)
{
  int by, bm, bd, ty, tm, td, age;

  if (!split_date (birth_date, &by, &bm, &bd) || !split_date (today, &ty, &tm, &td))
    return -1;
  age = ty - by;
  if (tm < bm || (tm == bm && td < bd))
    age--;
  return age >= 0 ? age : -1;
}

char *
charta_fhir_text_code (const char *code)
{
  char *text;

  if (code == NULL || *code == '\0')
    return NULL;
  text = g_strdup (code);
  for (char *c = text; *c != '\0'; c++)
    if (*c == '-' || *c == '_')
      *c = ' ';
  text[0] = g_ascii_toupper (text[0]);
  return text;
}

char *
charta_fhir_text_datetime (const char *value)
{
  g_autofree char *date = charta_fhir_text_date (value);
  const char *time;

  if (date == NULL)
    return NULL;
  time = strchr (value, 'T');
  if (time == NULL || strlen (time) < 6 || !g_ascii_isdigit (time[1]) || time[3] != ':')
    return g_steal_pointer (&date);
  return g_strdup_printf ("%s %.5s", date, time + 1);
}

/* The shortest text of @value that reads back as the same double: 4.4, not
 * 4.4000000000000004 (what "%.17g" gives). */
static char *
double_text (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (buffer, sizeof buffer, "%.15g", value);
  if (g_ascii_strtod (buffer, NULL) != value)
    g_ascii_formatd (buffer, sizeof buffer, "%.17g", value);
  return g_strdup (buffer);
}

/* A JSON number or string member as written ("87", "4.4"); NULL for anything else. */
static char *
number_text (JsonObject *object,
             const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
    case G_TYPE_DOUBLE:
      return double_text (json_node_get_double (node));
    case G_TYPE_STRING:
      return g_strdup (json_node_get_string (node));
    default:
      return NULL;
    }
}

char *
charta_fhir_text_quantity (JsonObject *quantity)
{
  g_autofree char *value = number_text (quantity, "value");
  const char *comparator = charta_json_get_string (quantity, "comparator");
  const char *unit = charta_json_get_string (quantity, "unit");

  if (value == NULL)
    return NULL;
  if (unit == NULL)
    unit = charta_json_get_string (quantity, "code");
  return g_strdup_printf ("%s%s%s%s%s", comparator != NULL ? comparator : "",
                          comparator != NULL ? " " : "", value, unit != NULL ? " " : "",
                          unit != NULL ? unit : "");
}

char *
charta_fhir_text_reference (JsonObject *reference)
{
  const char *display = charta_json_get_string (reference, "display");
  const char *target = charta_json_get_string (reference, "reference");
  const char *identifier = charta_json_get_string (charta_json_get_object (reference,
                                                                           "identifier"),
                                                   "value");

  if (display != NULL)
    return g_strdup (display);
  if (target != NULL)
    return g_strdup (target);
  return g_strdup (identifier);
}

static char *
period_text (JsonObject *period)
{
  g_autofree char *start = charta_fhir_text_datetime (charta_json_get_string (period, "start"));
  g_autofree char *end = charta_fhir_text_datetime (charta_json_get_string (period, "end"));

  if (start != NULL && end != NULL)
    return g_strdup_printf ("%s to %s", start, end);
  if (start != NULL)
    return g_strdup_printf ("From %s", start);
  if (end != NULL)
    return g_strdup_printf ("Until %s", end);
  return NULL;
}

static char *
range_text (JsonObject *range)
{
  g_autofree char *low = charta_fhir_text_quantity (charta_json_get_object (range, "low"));
  g_autofree char *high = charta_fhir_text_quantity (charta_json_get_object (range, "high"));

  if (low != NULL && high != NULL)
    return g_strdup_printf ("%s to %s", low, high);
  if (low != NULL)
    return g_strdup_printf ("≥ %s", low);
  if (high != NULL)
    return g_strdup_printf ("≤ %s", high);
  return NULL;
}

static char *
ratio_text (JsonObject *ratio)
{
  g_autofree char *numerator = charta_fhir_text_quantity (charta_json_get_object (ratio,
                                                                                  "numerator"));
  g_autofree char *denominator =
    charta_fhir_text_quantity (charta_json_get_object (ratio, "denominator"));

  if (numerator == NULL || denominator == NULL)
    return NULL;
  return g_strdup_printf ("%s / %s", numerator, denominator);
}

/* A component's value, for the components of an Observation (see charta_fhir_text_value()). */
static char *
components_text (JsonArray *components)
{
  g_autoptr(GString) text = g_string_new (NULL);
  const char *shared_unit = NULL;
  gboolean same_unit = TRUE;
  unsigned n = components != NULL ? json_array_get_length (components) : 0;

  for (unsigned i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (components, i);
      JsonObject *quantity;
      const char *unit;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return NULL;
      quantity = charta_json_get_object (json_node_get_object (node), "valueQuantity");
      unit = charta_json_get_string (quantity, "unit");
      if (quantity == NULL || unit == NULL || (shared_unit != NULL && strcmp (unit, shared_unit)))
        same_unit = FALSE;
      shared_unit = unit;
    }
  if (n == 2 && same_unit)
    {
      g_autofree char *first = number_text (charta_json_get_object (
                                              json_array_get_object_element (components, 0),
                                              "valueQuantity"), "value");
      g_autofree char *second = number_text (charta_json_get_object (
                                               json_array_get_object_element (components, 1),
                                               "valueQuantity"), "value");

      if (first != NULL && second != NULL)
        return g_strdup_printf ("%s/%s %s", first, second, shared_unit);
    }
  for (unsigned i = 0; i < n; i++)
    {
      JsonObject *component = json_array_get_object_element (components, i);
      g_autofree char *code = charta_fhir_text_concept (charta_json_get_object (component,
                                                                                "code"));
      g_autofree char *value = charta_fhir_text_value (component);

      if (value == NULL)
        continue;
      if (text->len > 0)
        g_string_append (text, ", ");
      if (code != NULL)
        g_string_append_printf (text, "%s %s", code, value);
      else
        g_string_append (text, value);
    }
  if (text->len == 0)
    return NULL;
  return g_string_free (g_steal_pointer (&text), FALSE);
}

char *
charta_fhir_text_value (JsonObject *object)
{
  JsonNode *node;

  if (object == NULL)
    return NULL;
  if (charta_json_get_object (object, "valueQuantity") != NULL)
    return charta_fhir_text_quantity (charta_json_get_object (object, "valueQuantity"));
  if (charta_json_get_object (object, "valueCodeableConcept") != NULL)
    return charta_fhir_text_concept (charta_json_get_object (object, "valueCodeableConcept"));
  if (charta_json_get_string (object, "valueString") != NULL)
    return g_strdup (charta_json_get_string (object, "valueString"));
  if (charta_json_get_string (object, "valueDateTime") != NULL)
    return charta_fhir_text_datetime (charta_json_get_string (object, "valueDateTime"));
  if (charta_json_get_object (object, "valueRange") != NULL)
    return range_text (charta_json_get_object (object, "valueRange"));
  if (charta_json_get_object (object, "valueRatio") != NULL)
    return ratio_text (charta_json_get_object (object, "valueRatio"));
  if (charta_json_get_object (object, "valuePeriod") != NULL)
    return period_text (charta_json_get_object (object, "valuePeriod"));
  node = json_object_get_member (object, "valueBoolean");
  if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    return g_strdup (json_node_get_boolean (node) ? "Yes" : "No");
  if (json_object_has_member (object, "valueInteger"))
    return number_text (object, "valueInteger");
  if (charta_json_get_array (object, "component") != NULL)
    return components_text (charta_json_get_array (object, "component"));
  return NULL;
}

/* ---- any element -------------------------------------------------------------------------- */

static gboolean
has (JsonObject *object,
     const char *name)
{
  return json_object_has_member (object, name);
}

static char *
name_text (JsonObject *name)
{
  const char *family = charta_json_get_string (name, "family");
  g_autofree char *given = join_given (name);

  if (charta_json_get_string (name, "text") != NULL)
    return g_strdup (charta_json_get_string (name, "text"));
  if (family != NULL && given != NULL)
    return g_strdup_printf ("%s %s", given, family);
  return g_strdup (family != NULL ? family : given);
}

static char *
address_text (JsonObject *address)
{
  JsonArray *lines = charta_json_get_array (address, "line");
  g_autoptr(GString) text = g_string_new (NULL);
  static const char *const parts[] = { "city", "state", "postalCode", "country" };

  if (charta_json_get_string (address, "text") != NULL)
    return g_strdup (charta_json_get_string (address, "text"));
  for (unsigned i = 0; lines != NULL && i < json_array_get_length (lines); i++)
    {
      JsonNode *node = json_array_get_element (lines, i);

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        continue;
      if (text->len > 0)
        g_string_append (text, ", ");
      g_string_append (text, json_node_get_string (node));
    }
  for (size_t i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      const char *part = charta_json_get_string (address, parts[i]);

      if (part == NULL)
        continue;
      if (text->len > 0)
        g_string_append (text, i == 0 ? ", " : " ");
      g_string_append (text, part);
    }
  if (text->len == 0)
    return NULL;
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* An object whose type is not recognised: "member: value" pairs, one level down. */
static char *
members_text (JsonObject *object)
{
  g_autoptr(GString) text = g_string_new (NULL);
  JsonObjectIter iter;
  const char *member;
  JsonNode *node;

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &member, &node))
    {
      g_autofree char *label = NULL;
      g_autofree char *value = NULL;

      if (strcmp (member, "extension") == 0 || strcmp (member, "id") == 0)
        continue;
      value = charta_fhir_text_element (node);
      if (value == NULL)
        continue;
      label = charta_fhir_text_label (member);
      if (text->len > 0)
        g_string_append (text, "; ");
      g_string_append_printf (text, "%s: %s", label, value);
    }
  if (text->len == 0)
    return NULL;
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static char *
object_text (JsonObject *object)
{
  if (has (object, "coding") || (has (object, "text") && json_object_get_size (object) == 1))
    return charta_fhir_text_concept (object);
  if (has (object, "system") && has (object, "code") && !has (object, "value"))
    {
      const char *display = charta_json_get_string (object, "display");

      return g_strdup (display != NULL ? display : charta_json_get_string (object, "code"));
    }
  if (has (object, "value") && (has (object, "unit") || has (object, "code")
                                || has (object, "comparator")))
    return charta_fhir_text_quantity (object);
  if (has (object, "reference") || (has (object, "display") && json_object_get_size (object) <= 2))
    return charta_fhir_text_reference (object);
  if (has (object, "family") || has (object, "given"))
    return name_text (object);
  if (has (object, "line") || has (object, "city") || has (object, "postalCode"))
    return address_text (object);
  if (has (object, "system") && has (object, "value"))
    {
      const char *system = charta_json_get_string (object, "system");
      const char *value = charta_json_get_string (object, "value");
      JsonObject *type = charta_json_get_object (object, "type");

      if (type != NULL)
        {
          g_autofree char *kind = charta_fhir_text_concept (type);

          return g_strdup_printf ("%s %s", kind, value);
        }
      if (g_strcmp0 (system, "phone") == 0 || g_strcmp0 (system, "email") == 0
          || g_strcmp0 (system, "fax") == 0)
        {
          const char *use = charta_json_get_string (object, "use");

          return use != NULL ? g_strdup_printf ("%s (%s %s)", value, use, system)
                             : g_strdup_printf ("%s (%s)", value, system);
        }
      return g_strdup_printf ("%s (%s)", value, system);
    }
  if ((has (object, "start") || has (object, "end")) && json_object_get_size (object) <= 3)
    return period_text (object);
  if ((has (object, "low") || has (object, "high")) && !has (object, "type"))
    return range_text (object);
  if (has (object, "numerator"))
    return ratio_text (object);
  if (has (object, "text") && (has (object, "authorString") || has (object, "time")))
    return g_strdup (charta_json_get_string (object, "text"));
  return members_text (object);
}

char *
charta_fhir_text_element (JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (JSON_NODE_HOLDS_VALUE (node))
    {
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_STRING:
          {
            const char *text = json_node_get_string (node);

            /* A dateTime or instant reads better without its seconds and 'T'. */
            if (strlen (text) >= 16 && text[10] == 'T' && g_ascii_isdigit (text[0])
                && g_ascii_isdigit (text[3]) && text[4] == '-')
              return charta_fhir_text_datetime (text);
            return *text != '\0' ? g_strdup (text) : NULL;
          }
        case G_TYPE_BOOLEAN:
          return g_strdup (json_node_get_boolean (node) ? "Yes" : "No");
        case G_TYPE_INT64:
          return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
        case G_TYPE_DOUBLE:
          return double_text (json_node_get_double (node));
        default:
          return NULL;
        }
    }
  if (JSON_NODE_HOLDS_OBJECT (node))
    return object_text (json_node_get_object (node));
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      g_autoptr(GString) text = g_string_new (NULL);

      for (unsigned i = 0; i < json_array_get_length (array); i++)
        {
          g_autofree char *item = charta_fhir_text_element (json_array_get_element (array, i));

          if (item == NULL)
            continue;
          if (text->len > 0)
            g_string_append (text, "; ");
          g_string_append (text, item);
        }
      if (text->len == 0)
        return NULL;
      return g_string_free (g_steal_pointer (&text), FALSE);
    }
  return NULL;
}

char *
charta_fhir_text_label (const char *name)
{
  /* The data types that end the name of a choice element (value[x], onset[x]…). */
  static const char *const choice_types[] = {
    "CodeableConcept", "Quantity", "DateTime", "Period", "String", "Boolean", "Integer",
    "Range", "Ratio", "SampledData", "Time", "Age", "Reference", "Date", "Instant", "Attachment",
    "Timing", "Decimal", "Uri", "Url", "Canonical", "Coding", "Identifier", "Duration",
  };
  g_autoptr(GString) text = g_string_new (NULL);
  size_t length;

  g_return_val_if_fail (name != NULL, NULL);

  length = strlen (name);
  for (size_t i = 0; i < G_N_ELEMENTS (choice_types); i++)
    {
      size_t type_length = strlen (choice_types[i]);

      if (length > type_length && g_str_has_suffix (name, choice_types[i])
          && g_ascii_islower (name[length - type_length - 1]))
        {
          length -= type_length;
          break;
        }
    }
  for (size_t i = 0; i < length; i++)
    {
      char c = name[i];

      if (i == 0)
        g_string_append_c (text, g_ascii_toupper (c));
      else if (g_ascii_isupper (c) && !g_ascii_isupper (name[i - 1]))
        {
          g_string_append_c (text, ' ');
          g_string_append_c (text, g_ascii_tolower (c));
        }
      else
        g_string_append_c (text, c);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

gboolean
charta_fhir_is_entered_in_error (JsonObject *resource)
{
  JsonArray *codings = charta_json_get_array (charta_json_get_object (resource,
                                                                      "verificationStatus"),
                                              "coding");

  if (g_strcmp0 (charta_json_get_string (resource, "status"), "entered-in-error") == 0)
    return TRUE;
  for (unsigned i = 0; codings != NULL && i < json_array_get_length (codings); i++)
    {
      JsonNode *node = json_array_get_element (codings, i);

      if (JSON_NODE_HOLDS_OBJECT (node)
          && g_strcmp0 (charta_json_get_string (json_node_get_object (node), "code"),
                        "entered-in-error") == 0)
        return TRUE;
    }
  return FALSE;
}

char *
charta_fhir_text_provenance_reason (JsonObject *provenance)
{
  JsonObject *reason = charta_json_get_first (provenance, "reason");

  return charta_fhir_text_concept (reason);
}

char *
charta_fhir_text_provenance_agent (JsonObject *provenance)
{
  JsonObject *who = charta_json_get_object (charta_json_get_first (provenance, "agent"), "who");

  return charta_fhir_text_reference (who);
}

gboolean
charta_fhir_provenance_targets (JsonObject *provenance,
                                const char *type,
                                const char *id,
                                const char *version_id)
{
  JsonArray *targets = charta_json_get_array (provenance, "target");
  g_autofree char *wanted = NULL;
  size_t wanted_length;

  g_return_val_if_fail (type != NULL && id != NULL && version_id != NULL, FALSE);

  wanted = g_strdup_printf ("%s/%s/_history/%s", type, id, version_id);
  wanted_length = strlen (wanted);
  for (unsigned i = 0; targets != NULL && i < json_array_get_length (targets); i++)
    {
      JsonNode *node = json_array_get_element (targets, i);
      const char *reference;
      size_t length;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      reference = charta_json_get_string (json_node_get_object (node), "reference");
      if (reference == NULL)
        continue;
      length = strlen (reference);
      if (strcmp (reference, wanted) == 0
          || (length > wanted_length && reference[length - wanted_length - 1] == '/'
              && strcmp (reference + length - wanted_length, wanted) == 0))
        return TRUE;
    }
  return FALSE;
}

char *
charta_fhir_text_activity (const char *code,
                           const char *display)
{
  static const struct
  {
    const char *code;
    const char *words;
  } known[] = {
    { "CREATE", "Created" },
    { "UPDATE", "Updated" },
    { "DELETE", "Deleted" },
    { "NULLIFY", "Entered in error" },
    { "APPEND", "Addendum" },
    { "amend", "Correction" },
    { "originate", "Late entry" },
    { "merge", "Merged" },
    { "unmerge", "Unmerged" },
    { "deprecate", "Deprecated" },
    { "reactivate", "Reactivated" },
    { "transform", "Transformed" },
    { "receive", "Received" },
    { "verify", "Verified" },
    { "attest", "Attested" },
  };

  if (code == NULL)
    return display != NULL ? g_strdup (display) : NULL;
  for (size_t i = 0; i < G_N_ELEMENTS (known); i++)
    if (strcmp (code, known[i].code) == 0)
      return g_strdup (known[i].words);
  if (display != NULL)
    return g_strdup (display);
  return charta_fhir_text_code (code);
}

char *
charta_fhir_text_resource_title (JsonObject *resource)
{
  static const char *const concepts[] = {
    "code", "medicationCodeableConcept", "vaccineCode", "type",
  };
  const char *type = charta_json_get_string (resource, "resourceType");
  char *title = NULL;

  if (g_strcmp0 (type, "Patient") == 0 || g_strcmp0 (type, "Practitioner") == 0)
    title = charta_fhir_text_patient_name (resource, FALSE);
  for (size_t i = 0; title == NULL && i < G_N_ELEMENTS (concepts); i++)
    {
      JsonNode *node = json_object_get_member (resource, concepts[i]);

      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        title = charta_fhir_text_concept (json_node_get_object (node));
    }
  if (title == NULL)
    title = charta_fhir_text_reference (charta_json_get_object (resource,
                                                                "medicationReference"));
  if (title == NULL && charta_json_get_string (resource, "name") != NULL)
    title = g_strdup (charta_json_get_string (resource, "name"));
  if (title == NULL)
    title = g_strdup_printf ("%s %s", type != NULL ? type : "Resource",
                             charta_json_get_string (resource, "id"));
  return title;
}

char *
charta_fhir_text_narrative (const char *div)
{
  static const struct
  {
    const char *entity;
    const char *text;
  } entities[] = {
    { "&lt;", "<" }, { "&gt;", ">" }, { "&amp;", "&" }, { "&quot;", "\"" }, { "&apos;", "'" },
    { "&nbsp;", " " }, { "&#160;", " " },
  };
  g_autoptr(GString) text = NULL;
  gboolean in_tag = FALSE;
  gboolean space = FALSE;

  if (div == NULL)
    return NULL;
  text = g_string_new (NULL);
  for (const char *p = div; *p != '\0'; p++)
    {
      if (in_tag)
        {
          in_tag = *p != '>';
          continue;
        }
      if (*p == '<')
        {
          /* A tag separates words as a space would (<br/>, </p><p>). */
          in_tag = TRUE;
          space = text->len > 0;
          continue;
        }
      if (g_ascii_isspace (*p))
        {
          space = text->len > 0;
          continue;
        }
      if (space)
        g_string_append_c (text, ' ');
      space = FALSE;
      if (*p == '&')
        {
          size_t i;

          for (i = 0; i < G_N_ELEMENTS (entities); i++)
            if (g_str_has_prefix (p, entities[i].entity))
              {
                g_string_append (text, entities[i].text);
                p += strlen (entities[i].entity) - 1;
                break;
              }
          if (i < G_N_ELEMENTS (entities))
            continue;
        }
      g_string_append_c (text, *p);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}
