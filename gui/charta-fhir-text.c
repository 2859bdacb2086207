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
