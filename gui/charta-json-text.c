/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-json-text.c: JSON text that keeps FHIR decimals as written (see charta-json-text.h).
 *
 * The scanner is a small recursive descent over the text that checks only as much of the
 * grammar as it needs to keep its place (strings and their escapes, nesting, commas), with
 * the current element path in one GString that each level extends and truncates back; it
 * stops at MAX_DEPTH levels or at anything unexpected.  It does not build a tree: the server's
 * answer has already been parsed by json-glib, and this pass only recovers the number texts
 * that json-glib drops.
 */
#define G_LOG_DOMAIN "charta-json-text"

#include <math.h>
#include <string.h>

#include "charta-json-text.h"

/* Nesting deeper than this ends the scan (FHIR resources are far shallower). */
#define MAX_DEPTH 128

typedef struct
{
  const char *p;
  const char *end;
  GString *path;
  GHashTable *texts;
  unsigned depth;
} Scanner;

static void
skip_space (Scanner *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

/* A string at s->p (its opening quote); its decoded text appended to @out when not NULL
 * (only the escapes a member name may use are decoded: \" \\ \/ and \uXXXX). */
static gboolean
scan_string (Scanner *s,
             GString *out)
{
  if (s->p >= s->end || *s->p != '"')
    return FALSE;
  s->p++;
  while (s->p < s->end && *s->p != '"')
    {
      if (*s->p == '\\')
        {
          if (s->p + 1 >= s->end)
            return FALSE;
          if (s->p[1] == 'u')
            {
              char hex[5] = { 0 };
              gunichar c;

              if (s->end - s->p < 6)
                return FALSE;
              memcpy (hex, s->p + 2, 4);
              c = (gunichar) g_ascii_strtoull (hex, NULL, 16);
              if (out != NULL)
                g_string_append_unichar (out, c);
              s->p += 6;
              continue;
            }
          if (out != NULL)
            g_string_append_c (out, s->p[1]);
          s->p += 2;
          continue;
        }
      if (out != NULL)
        g_string_append_c (out, *s->p);
      s->p++;
    }
  if (s->p >= s->end)
    return FALSE;
  s->p++;
  return TRUE;
}

static gboolean scan_value (Scanner *s);

static gboolean
scan_object (Scanner *s)
{
  size_t length = s->path->len;

  s->p++;
  skip_space (s);
  if (s->p < s->end && *s->p == '}')
    {
      s->p++;
      return TRUE;
    }
  for (;;)
    {
      skip_space (s);
      if (length > 0)
        g_string_append_c (s->path, '.');
      if (!scan_string (s, s->path))
        return FALSE;
      skip_space (s);
      if (s->p >= s->end || *s->p != ':')
        return FALSE;
      s->p++;
      if (!scan_value (s))
        return FALSE;
      g_string_truncate (s->path, length);
      skip_space (s);
      if (s->p < s->end && *s->p == ',')
        {
          s->p++;
          continue;
        }
      if (s->p < s->end && *s->p == '}')
        {
          s->p++;
          return TRUE;
        }
      return FALSE;
    }
}

static gboolean
scan_array (Scanner *s)
{
  size_t length = s->path->len;
  unsigned index = 0;

  s->p++;
  skip_space (s);
  if (s->p < s->end && *s->p == ']')
    {
      s->p++;
      return TRUE;
    }
  for (;; index++)
    {
      g_string_append_printf (s->path, "[%u]", index);
      if (!scan_value (s))
        return FALSE;
      g_string_truncate (s->path, length);
      skip_space (s);
      if (s->p < s->end && *s->p == ',')
        {
          s->p++;
          continue;
        }
      if (s->p < s->end && *s->p == ']')
        {
          s->p++;
          return TRUE;
        }
      return FALSE;
    }
}

static gboolean
scan_value (Scanner *s)
{
  gboolean ok;

  skip_space (s);
  if (s->p >= s->end)
    return FALSE;
  switch (*s->p)
    {
    case '{':
    case '[':
      if (++s->depth > MAX_DEPTH)
        return FALSE;
      ok = *s->p == '{' ? scan_object (s) : scan_array (s);
      s->depth--;
      return ok;
    case '"':
      return scan_string (s, NULL);
    case 't':
    case 'f':
    case 'n':
      while (s->p < s->end && g_ascii_isalpha (*s->p))
        s->p++;
      return TRUE;
    default:
      {
        const char *start = s->p;

        while (s->p < s->end && (g_ascii_isdigit (*s->p) || *s->p == '-' || *s->p == '+'
                                 || *s->p == '.' || *s->p == 'e' || *s->p == 'E'))
          s->p++;
        if (s->p == start)
          return FALSE;
        g_hash_table_replace (s->texts, g_strdup (s->path->str),
                              g_strndup (start, s->p - start));
        return TRUE;
      }
    }
}

GHashTable *
charta_json_number_texts (const char *json,
                          gssize      length)
{
  Scanner s;

  g_return_val_if_fail (json != NULL, NULL);

  s.p = json;
  s.end = json + (length < 0 ? strlen (json) : (size_t) length);
  s.path = g_string_new (NULL);
  s.texts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s.depth = 0;
  if (!scan_value (&s))
    g_debug ("the number texts stop at byte %zu", (size_t) (s.p - json));
  g_string_free (s.path, TRUE);
  return s.texts;
}

/* ---- writing ------------------------------------------------------------------------------ */

static void
write_string (GString    *out,
              const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        case '\r':
          g_string_append (out, "\\r");
          break;
        case '\t':
          g_string_append (out, "\\t");
          break;
        case '\b':
          g_string_append (out, "\\b");
          break;
        case '\f':
          g_string_append (out, "\\f");
          break;
        default:
          if ((unsigned char) *p < 0x20)
            g_string_append_printf (out, "\\u%04x", (unsigned) (unsigned char) *p);
          else
            g_string_append_c (out, *p);
        }
    }
  g_string_append_c (out, '"');
}

static void
write_number (GString    *out,
              JsonNode   *node,
              const char *text)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  double value;

  if (json_node_get_value_type (node) == G_TYPE_INT64)
    {
      gint64 integer = json_node_get_int (node);

      if (text != NULL && g_ascii_strtod (text, NULL) == (double) integer)
        g_string_append (out, text);
      else
        g_string_append_printf (out, "%" G_GINT64_FORMAT, integer);
      return;
    }
  value = json_node_get_double (node);
  if (!isfinite (value))
    {
      g_string_append (out, "null");
      return;
    }
  if (text != NULL && g_ascii_strtod (text, NULL) == value)
    {
      g_string_append (out, text);
      return;
    }
  g_ascii_formatd (buffer, sizeof buffer, "%.15g", value);
  if (g_ascii_strtod (buffer, NULL) != value)
    g_ascii_formatd (buffer, sizeof buffer, "%.17g", value);
  g_string_append (out, buffer);
  if (strpbrk (buffer, ".eE") == NULL)
    g_string_append (out, ".0");
}

static void
write_node (GString    *out,
            GString    *path,
            JsonNode   *node,
            GHashTable *texts)
{
  size_t length = path->len;

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_NULL:
      g_string_append (out, "null");
      return;
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_STRING:
          write_string (out, json_node_get_string (node));
          return;
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
          return;
        case G_TYPE_INT64:
        case G_TYPE_DOUBLE:
          write_number (out, node, texts != NULL ? g_hash_table_lookup (texts, path->str)
                                                 : NULL);
          return;
        default:
          g_string_append (out, "null");
          return;
        }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        g_string_append_c (out, '[');
        for (unsigned i = 0; i < json_array_get_length (array); i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            g_string_append_printf (path, "[%u]", i);
            write_node (out, path, json_array_get_element (array, i), texts);
            g_string_truncate (path, length);
          }
        g_string_append_c (out, ']');
        return;
      }
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *member;
        JsonNode *child;
        gboolean first = TRUE;

        g_string_append_c (out, '{');
        json_object_iter_init_ordered (&iter, json_node_get_object (node));
        while (json_object_iter_next_ordered (&iter, &member, &child))
          {
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            write_string (out, member);
            g_string_append_c (out, ':');
            if (length > 0)
              g_string_append_c (path, '.');
            g_string_append (path, member);
            write_node (out, path, child, texts);
            g_string_truncate (path, length);
          }
        g_string_append_c (out, '}');
        return;
      }
    default:
      g_string_append (out, "null");
    }
}

char *
charta_json_write (JsonNode   *node,
                   GHashTable *number_texts)
{
  g_autoptr(GString) path = g_string_new (NULL);
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (node != NULL, NULL);

  write_node (out, path, node, number_texts);
  return g_string_free (out, FALSE);
}

JsonNode *
charta_json_copy (JsonNode *node)
{
  JsonNode *copy;

  g_return_val_if_fail (node != NULL, NULL);

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_object_new ();
        JsonObjectIter iter;
        const char *member;
        JsonNode *child;

        json_object_iter_init_ordered (&iter, json_node_get_object (node));
        while (json_object_iter_next_ordered (&iter, &member, &child))
          json_object_set_member (object, member, charta_json_copy (child));
        copy = json_node_new (JSON_NODE_OBJECT);
        json_node_take_object (copy, object);
        return copy;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *source = json_node_get_array (node);
        JsonArray *array = json_array_sized_new (json_array_get_length (source));

        for (unsigned i = 0; i < json_array_get_length (source); i++)
          json_array_add_element (array, charta_json_copy (json_array_get_element (source, i)));
        copy = json_node_new (JSON_NODE_ARRAY);
        json_node_take_array (copy, array);
        return copy;
      }
    case JSON_NODE_VALUE:
      /* A new node (json_node_copy() of a sealed node would be sealed too). */
      copy = json_node_new (JSON_NODE_VALUE);
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          json_node_set_int (copy, json_node_get_int (node));
          break;
        case G_TYPE_DOUBLE:
          json_node_set_double (copy, json_node_get_double (node));
          break;
        case G_TYPE_BOOLEAN:
          json_node_set_boolean (copy, json_node_get_boolean (node));
          break;
        default:
          json_node_set_string (copy, json_node_get_string (node));
          break;
        }
      return copy;
    default:
      return json_node_new (JSON_NODE_NULL);
    }
}
