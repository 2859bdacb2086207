/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-json.c: the strict, limit-checking JSON reader (see charta-json-private.h).
 *
 * One pass over the bytes, one state machine: whitespace, structure, strings (escapes decoded,
 * UTF-8 checked only where a byte is >= 0x80, so ASCII runs are a table lookup per byte),
 * numbers (RFC 8259 grammar, integer value accumulated on the way), literals.  Each value
 * becomes a json-glib node right away and is attached to the container on top of an explicit
 * stack; the stack never grows past the depth limit, so a 100,000-deep input stops at the
 * limit having built at most limit nodes.  A duplicate key shows as an object whose size did
 * not grow after json_object_set_member(), which costs nothing extra per member.
 *
 * Error positions are turned into "line L, column C" only when an error is reported, by
 * counting from the start: the hot path never tracks lines.
 */
#define G_LOG_DOMAIN "charta-json"

#include <stdint.h>
#include <string.h>

#include "charta-fhir-error.h"
#include "charta-json-private.h"

typedef struct
{
  JsonNode   *node;        /* the container */
  JsonObject *object;      /* set for an object … */
  JsonArray  *array;       /* … or for an array */
  size_t      key_offset;  /* where this container's member name starts, when its parent is an
                            * object (for paths in error messages) */
  unsigned    index;       /* this container's index, when its parent is an array */
  unsigned    count;       /* members or elements added so far */
} Frame;

typedef struct
{
  const guchar       *data;
  const guchar       *end;
  unsigned            first_line;
  unsigned            max_depth;
  Frame              *frames;
  Frame              *initial_frames; /* on the caller's stack */
  unsigned            depth;
  unsigned            n_frames;    /* allocated */
  GString            *key;         /* the member name being read, unescaped */
  GString            *str;         /* the string value being read, unescaped */
  size_t              key_offset;  /* where the member name being read starts */
  ChartaJsonDocument *doc;
  GError            **error;
} Parser;

/* Bytes that may stand for themselves inside a string and need no look: printable ASCII
 * except '"' and '\\'.  (DEL, 0x7f, is allowed unescaped by RFC 8259.) */
static const guchar string_plain[256] = {
  [0x20 ... 0x21] = 1,  /* '"' is 0x22 */
  [0x23 ... 0x5b] = 1,  /* '\\' is 0x5c */
  [0x5d ... 0x7f] = 1,
};

static inline gboolean
is_ws (guchar c)
{
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline gboolean
is_digit (guchar c)
{
  return c >= '0' && c <= '9';
}

static inline gboolean
is_word_char (guchar c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit (c) || c == '_';
}

static inline const guchar *
skip_ws (const guchar *p,
         const guchar *end)
{
  while (p < end && is_ws (*p))
    p++;
  return p;
}

/* Length of the well-formed UTF-8 sequence at @p (Unicode 15, table 3-7: no overlongs, no
 * surrogates, nothing past U+10FFFF), or 0 when the bytes there are not one. */
static inline unsigned
utf8_sequence_length (const guchar *p,
                      const guchar *end)
{
  guchar c = p[0];
  size_t left = end - p;
  guchar lo = 0x80, hi = 0xbf;
  unsigned n;

  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2;
  else if (c >= 0xe0 && c <= 0xef)
    {
      n = 3;
      if (c == 0xe0)
        lo = 0xa0;
      else if (c == 0xed)
        hi = 0x9f;
    }
  else if (c >= 0xf0 && c <= 0xf4)
    {
      n = 4;
      if (c == 0xf0)
        lo = 0x90;
      else if (c == 0xf4)
        hi = 0x8f;
    }
  else
    return 0;

  if (left < n)
    return 0;
  if (p[1] < lo || p[1] > hi)
    return 0;
  for (unsigned i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xbf)
      return 0;
  return n;
}

/* --- errors ---------------------------------------------------------------------------------- */

static void
locate (const Parser *self,
        const guchar *at,
        unsigned     *line,
        unsigned     *column)
{
  unsigned l = self->first_line, c = 1;

  for (const guchar *q = self->data; q < at; q++)
    {
      if (*q == '\n')
        {
          l++;
          c = 1;
        }
      else if ((*q & 0xc0) != 0x80)
        c++;
    }
  *line = l;
  *column = c;
}

static gboolean G_GNUC_PRINTF (4, 5)
fail (Parser       *self,
      int           code,
      const guchar *at,
      const char   *format,
      ...)
{
  g_autofree char *message = NULL;
  unsigned line, column;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  if (at > self->end)
    at = self->end;
  locate (self, at, &line, &column);
  g_set_error (self->error, CHARTA_FHIR_ERROR, code, "line %u, column %u: %s", line, column,
               message);
  return FALSE;
}

static gboolean
fail_utf8 (Parser       *self,
           const guchar *at,
           const char   *where)
{
  return fail (self, CHARTA_FHIR_ERROR_INVALID_UTF8, at,
               "invalid UTF-8 %s at byte %" G_GSIZE_FORMAT " (0x%02x)", where,
               (size_t) (at - self->data), *at);
}

/* "'x'", "U+0001", "'é'", "end of input": what a person sees at @p. */
static char *
describe_at (Parser       *self,
             const guchar *p)
{
  if (p >= self->end)
    return g_strdup ("end of input");
  if (*p < 0x20 || *p == 0x7f)
    return g_strdup_printf ("control character U+%04X", *p);
  if (*p == '\'')
    return g_strdup ("\"'\"");
  if (*p < 0x80)
    {
      if (is_word_char (*p))
        {
          const guchar *q = p;

          while (q < self->end && is_word_char (*q) && q - p < 40)
            q++;
          if (q - p > 1)
            return g_strdup_printf ("'%.*s'", (int) (q - p), (const char *) p);
        }
      return g_strdup_printf ("'%c'", *p);
    }
  if (utf8_sequence_length (p, self->end) == 0)
    return g_strdup_printf ("byte 0x%02x (not UTF-8)", *p);
  return g_strdup_printf ("'%.*s'", (int) utf8_sequence_length (p, self->end), (const char *) p);
}

/* An unexpected byte at @p, where @expected was due. */
static gboolean
fail_unexpected (Parser       *self,
                 const guchar *p,
                 const char   *expected)
{
  g_autofree char *what = NULL;

  if (p < self->end && *p >= 0x80 && utf8_sequence_length (p, self->end) == 0)
    return fail_utf8 (self, p, "outside a string");
  what = describe_at (self, p);
  return fail (self, CHARTA_FHIR_ERROR_MALFORMED, p, "unexpected %s, expected %s", what, expected);
}

/* --- strings --------------------------------------------------------------------------------- */

static inline void
append_code_point (GString  *out,
                   gunichar  c)
{
  char buf[6];
  int n = g_unichar_to_utf8 (c, buf);

  g_string_append_len (out, buf, n);
}

static gboolean
read_hex4 (const guchar *p,
           const guchar *end,
           gunichar     *value)
{
  gunichar v = 0;

  if (end - p < 4)
    return FALSE;
  for (int i = 0; i < 4; i++)
    {
      guchar x = p[i];
      unsigned h;

      if (x >= '0' && x <= '9')
        h = x - '0';
      else if (x >= 'a' && x <= 'f')
        h = x - 'a' + 10;
      else if (x >= 'A' && x <= 'F')
        h = x - 'A' + 10;
      else
        return FALSE;
      v = (v << 4) | h;
    }
  *value = v;
  return TRUE;
}

/* @p is at a backslash inside a string; decodes the escape into @out and moves @p past it. */
static gboolean
parse_escape (Parser        *self,
              const guchar **pp,
              GString       *out)
{
  const guchar *p = *pp;
  gunichar c = 0;

  if (p + 1 >= self->end)
    return fail (self, CHARTA_FHIR_ERROR_MALFORMED, p, "unterminated escape sequence");
  switch (p[1])
    {
    case '"':
    case '\\':
    case '/':
      c = p[1];
      break;
    case 'b':
      c = '\b';
      break;
    case 'f':
      c = '\f';
      break;
    case 'n':
      c = '\n';
      break;
    case 'r':
      c = '\r';
      break;
    case 't':
      c = '\t';
      break;
    case 'u':
      break;
    default:
      {
        g_autofree char *what = describe_at (self, p + 1);
        return fail (self, CHARTA_FHIR_ERROR_MALFORMED, p,
                     "invalid escape sequence: backslash followed by %s (valid escapes are "
                     "\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)", what);
      }
    }

  if (p[1] != 'u')
    {
      g_string_append_c (out, (char) c);
      *pp = p + 2;
      return TRUE;
    }

  if (!read_hex4 (p + 2, self->end, &c))
    return fail (self, CHARTA_FHIR_ERROR_MALFORMED, p,
                 "invalid \\u escape: \\u must be followed by four hexadecimal digits");
  if (c >= 0xd800 && c <= 0xdbff)
    {
      gunichar low;

      if (p + 7 < self->end && p[6] == '\\' && p[7] == 'u' && read_hex4 (p + 8, self->end, &low)
          && low >= 0xdc00 && low <= 0xdfff)
        {
          append_code_point (out, 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00));
          *pp = p + 12;
          return TRUE;
        }
      return fail (self, CHARTA_FHIR_ERROR_INVALID_UTF8, p,
                   "\\u%04X is an unpaired UTF-16 high surrogate (byte %" G_GSIZE_FORMAT "): "
                   "it must be followed by a \\uDC00-\\uDFFF escape", c,
                   (size_t) (p - self->data));
    }
  if (c >= 0xdc00 && c <= 0xdfff)
    return fail (self, CHARTA_FHIR_ERROR_INVALID_UTF8, p,
                 "\\u%04X is an unpaired UTF-16 low surrogate (byte %" G_GSIZE_FORMAT ")", c,
                 (size_t) (p - self->data));
  if (c == 0)
    return fail (self, CHARTA_FHIR_ERROR_UNSUPPORTED, p,
                 "\\u0000 (a NUL character) inside a string is not supported");
  append_code_point (out, c);
  *pp = p + 6;
  return TRUE;
}

/* @p is at the opening quote; reads the string into @out (unescaped, NUL-terminated) and
 * returns the position after the closing quote, or NULL on error. */
static const guchar *
parse_string (Parser       *self,
              const guchar *p,
              GString      *out)
{
  const guchar *open = p;
  const guchar *end = self->end;
  const guchar *run;

  g_string_truncate (out, 0);
  run = ++p;
  for (;;)
    {
      guchar c;

      while (p < end && string_plain[*p])
        p++;
      if (G_UNLIKELY (p >= end))
        {
          fail (self, CHARTA_FHIR_ERROR_MALFORMED, open,
                "unterminated string: no closing '\"' before the end of input");
          return NULL;
        }
      c = *p;
      if (c == '"')
        break;
      if (c == '\\')
        {
          charta_string_append_len (out, (const char *) run, (gsize) (p - run));
          if (!parse_escape (self, &p, out))
            return NULL;
          run = p;
        }
      else if (c < 0x20)
        {
          fail (self, CHARTA_FHIR_ERROR_MALFORMED, p,
                "control character U+%04X inside a string must be escaped%s", c,
                c == '\n' ? " (as \\n); is a closing '\"' missing?" : "");
          return NULL;
        }
      else
        {
          unsigned n = utf8_sequence_length (p, end);

          if (G_UNLIKELY (n == 0))
            {
              fail_utf8 (self, p, "inside a string");
              return NULL;
            }
          p += n;
        }
    }
  charta_string_append_len (out, (const char *) run, (gsize) (p - run));
  return p + 1;
}

/* --- numbers --------------------------------------------------------------------------------- */

/* @p is at '-' or a digit.  Makes the node and returns the position after the number, or NULL
 * on error. */
static const guchar *
parse_number (Parser        *self,
              const guchar  *p,
              JsonNode     **out)
{
  const guchar *start = p;
  const guchar *end = self->end;
  gboolean negative = FALSE, integral = TRUE, overflow = FALSE;
  guint64 magnitude = 0;
  JsonNode *node;

  if (*p == '-')
    {
      negative = TRUE;
      p++;
      if (p >= end || !is_digit (*p))
        {
          g_autofree char *what = describe_at (self, p);
          fail (self, CHARTA_FHIR_ERROR_MALFORMED, p, "expected a digit after '-', found %s",
                what);
          return NULL;
        }
    }
  if (*p == '0')
    {
      p++;
      if (p < end && is_digit (*p))
        {
          fail (self, CHARTA_FHIR_ERROR_MALFORMED, start,
                "a number must not start with a leading zero");
          return NULL;
        }
    }
  else
    {
      while (p < end && is_digit (*p))
        {
          unsigned d = *p - '0';

          if (magnitude > (G_MAXUINT64 - d) / 10)
            overflow = TRUE;
          else
            magnitude = magnitude * 10 + d;
          p++;
        }
    }
  if (p < end && *p == '.')
    {
      integral = FALSE;
      p++;
      if (p >= end || !is_digit (*p))
        {
          g_autofree char *what = describe_at (self, p);
          fail (self, CHARTA_FHIR_ERROR_MALFORMED, p,
                "expected a digit after the decimal point, found %s", what);
          return NULL;
        }
      while (p < end && is_digit (*p))
        p++;
    }
  if (p < end && (*p == 'e' || *p == 'E'))
    {
      integral = FALSE;
      p++;
      if (p < end && (*p == '+' || *p == '-'))
        p++;
      if (p >= end || !is_digit (*p))
        {
          g_autofree char *what = describe_at (self, p);
          fail (self, CHARTA_FHIR_ERROR_MALFORMED, p,
                "expected a digit in the exponent, found %s", what);
          return NULL;
        }
      while (p < end && is_digit (*p))
        p++;
    }

  if (integral && !overflow
      && (negative ? magnitude <= (guint64) G_MAXINT64 + 1 : magnitude <= G_MAXINT64))
    {
      gint64 value = negative ? (gint64) (0 - magnitude) : (gint64) magnitude;

      node = json_node_alloc ();
      json_node_init_int (node, value);
      if (negative && magnitude == 0)
        goto record;  /* "-0" prints back as "0" */
      *out = node;
      return p;
    }

  node = json_node_alloc ();
  json_node_init_double (node, 0.0);

record:
  {
    ChartaJsonDocument *doc = self->doc;
    const char *text;

    if (doc->texts == NULL)
      {
        doc->texts = g_string_chunk_new (512);
        doc->numbers = g_hash_table_new (NULL, NULL);
      }
    text = g_string_chunk_insert_len (doc->texts, (const char *) start, p - start);
    if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
      json_node_set_double (node, g_ascii_strtod (text, NULL));
    g_hash_table_insert (doc->numbers, node, (gpointer) text);
  }
  *out = node;
  return p;
}

/* --- structure ------------------------------------------------------------------------------- */

/* The path of the container on top of the stack ("Patient.name[0]"), for messages. */
static char *
container_path (Parser *self)
{
  GString *path = g_string_new (NULL);
  g_autoptr(GString) key = g_string_new (NULL);
  JsonObject *root = self->depth > 0 ? self->frames[0].object : NULL;
  const char *type = NULL;

  if (root != NULL && json_object_has_member (root, "resourceType"))
    {
      JsonNode *node = json_object_get_member (root, "resourceType");

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        type = json_node_get_string (node);
    }
  charta_string_append (path, type != NULL ? type : "$");

  for (unsigned i = 1; i < self->depth; i++)
    {
      if (self->frames[i - 1].object != NULL)
        {
          GError **saved = self->error;

          /* The name was read once already, so this cannot fail. */
          self->error = NULL;
          parse_string (self, self->data + self->frames[i].key_offset, key);
          self->error = saved;
          g_string_append_printf (path, ".%s", key->str);
        }
      else
        g_string_append_printf (path, "[%u]", self->frames[i].index);
    }
  return g_string_free (path, FALSE);
}

/* Adds @node to the container on top of the stack (under self->key for an object). */
static inline gboolean
attach (Parser   *self,
        JsonNode *node)
{
  Frame *frame;

  if (self->depth == 0)
    {
      self->doc->root = node;
      return TRUE;
    }
  frame = &self->frames[self->depth - 1];
  json_node_set_parent (node, frame->node);
  if (frame->object != NULL)
    {
      json_object_set_member (frame->object, self->key->str, node);
      if (G_UNLIKELY (json_object_get_size (frame->object) == frame->count))
        {
          g_autofree char *path = container_path (self);
          g_autoptr(GString) quoted = g_string_new (NULL);

          charta_json_append_string (quoted, self->key->str);
          return fail (self, CHARTA_FHIR_ERROR_DUPLICATE_KEY, self->data + self->key_offset,
                       "duplicate key %s in %s: an object may have each member name only once",
                       quoted->str, path);
        }
    }
  else
    json_array_add_element (frame->array, node);
  frame->count++;
  return TRUE;
}

/* Opens an object or array at @p: attaches it and pushes it. */
static gboolean
push (Parser       *self,
      const guchar *p,
      gboolean      is_object)
{
  JsonNode *node;
  Frame *frame;
  unsigned index = 0;

  if (G_UNLIKELY (self->depth >= self->max_depth))
    return fail (self, CHARTA_FHIR_ERROR_TOO_DEEP, p,
                 "nesting deeper than the limit of %u levels of objects and arrays",
                 self->max_depth);
  if (self->depth == self->n_frames)
    {
      unsigned n = MIN (self->n_frames * 2, self->max_depth);
      Frame *frames = g_new (Frame, n);

      memcpy (frames, self->frames, self->depth * sizeof (Frame));
      if (self->frames != self->initial_frames)
        g_free (self->frames);
      self->frames = frames;
      self->n_frames = n;
    }

  node = json_node_alloc ();
  if (is_object)
    {
      json_node_init (node, JSON_NODE_OBJECT);
      json_node_take_object (node, json_object_new ());
    }
  else
    {
      json_node_init (node, JSON_NODE_ARRAY);
      json_node_take_array (node, json_array_new ());
    }
  if (self->depth > 0)
    index = self->frames[self->depth - 1].count;
  if (!attach (self, node))
    return FALSE;  /* @node is in the tree already, which the caller frees */

  frame = &self->frames[self->depth++];
  frame->node = node;
  frame->object = is_object ? json_node_get_object (node) : NULL;
  frame->array = is_object ? NULL : json_node_get_array (node);
  frame->key_offset = self->key_offset;
  frame->index = index;
  frame->count = 0;
  return TRUE;
}

static gboolean
parse (Parser *self)
{
  const guchar *p = self->data;
  const guchar *end = self->end;
  JsonNode *node;

  /* A UTF-8 byte order mark is allowed and ignored (RFC 8259 §8.1). */
  if (end - p >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
    p += 3;
  p = skip_ws (p, end);
  if (p >= end)
    return fail (self, CHARTA_FHIR_ERROR_MALFORMED, p,
                 "no JSON value: the input is empty or only whitespace");

value:
  p = skip_ws (p, end);
  if (G_UNLIKELY (p >= end))
    return fail_unexpected (self, p, "a value");
  switch (*p)
    {
    case '{':
      if (!push (self, p, TRUE))
        return FALSE;
      p = skip_ws (p + 1, end);
      if (p < end && *p == '}')
        {
          p++;
          self->depth--;
          goto after_value;
        }
      goto member;

    case '[':
      if (!push (self, p, FALSE))
        return FALSE;
      p = skip_ws (p + 1, end);
      if (p < end && *p == ']')
        {
          p++;
          self->depth--;
          goto after_value;
        }
      goto value;

    case '"':
      p = parse_string (self, p, self->str);
      if (p == NULL)
        return FALSE;
      node = json_node_alloc ();
      json_node_init_string (node, self->str->str);
      goto attach_value;

    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      p = parse_number (self, p, &node);
      if (p == NULL)
        return FALSE;
      goto attach_value;

    case 't':
      if (end - p >= 4 && memcmp (p, "true", 4) == 0 && (end - p == 4 || !is_word_char (p[4])))
        {
          node = json_node_alloc ();
          json_node_init_boolean (node, TRUE);
          p += 4;
          goto attach_value;
        }
      return fail_unexpected (self, p, "a value");

    case 'f':
      if (end - p >= 5 && memcmp (p, "false", 5) == 0 && (end - p == 5 || !is_word_char (p[5])))
        {
          node = json_node_alloc ();
          json_node_init_boolean (node, FALSE);
          p += 5;
          goto attach_value;
        }
      return fail_unexpected (self, p, "a value");

    case 'n':
      if (end - p >= 4 && memcmp (p, "null", 4) == 0 && (end - p == 4 || !is_word_char (p[4])))
        {
          node = json_node_alloc ();
          json_node_init_null (node);
          p += 4;
          goto attach_value;
        }
      return fail_unexpected (self, p, "a value");

    default:
      return fail_unexpected (self, p, "a value");
    }

attach_value:
  if (!attach (self, node))
    return FALSE;
  goto after_value;

member:
  /* @p is past whitespace, inside an object, where a member name is due. */
  if (G_UNLIKELY (p >= end || *p != '"'))
    return fail_unexpected (self, p, "a member name in double quotes");
  self->key_offset = p - self->data;
  p = parse_string (self, p, self->key);
  if (p == NULL)
    return FALSE;
  p = skip_ws (p, end);
  if (G_UNLIKELY (p >= end || *p != ':'))
    return fail_unexpected (self, p, "':' after the member name");
  p++;
  goto value;

after_value:
  if (self->depth == 0)
    goto done;
  p = skip_ws (p, end);
  if (self->frames[self->depth - 1].object != NULL)
    {
      if (p < end && *p == ',')
        {
          const guchar *comma = p;

          p = skip_ws (p + 1, end);
          if (p < end && *p == '}')
            return fail (self, CHARTA_FHIR_ERROR_MALFORMED, comma,
                         "trailing comma: ',' must be followed by another member, not '}'");
          goto member;
        }
      if (p < end && *p == '}')
        {
          p++;
          self->depth--;
          goto after_value;
        }
      return fail_unexpected (self, p, "',' or '}' after an object member");
    }
  else
    {
      if (p < end && *p == ',')
        {
          const guchar *comma = p;

          p = skip_ws (p + 1, end);
          if (p < end && *p == ']')
            return fail (self, CHARTA_FHIR_ERROR_MALFORMED, comma,
                         "trailing comma: ',' must be followed by another element, not ']'");
          goto value;
        }
      if (p < end && *p == ']')
        {
          p++;
          self->depth--;
          goto after_value;
        }
      return fail_unexpected (self, p, "',' or ']' after an array element");
    }

done:
  p = skip_ws (p, end);
  if (p < end)
    {
      g_autofree char *what = NULL;

      if (*p >= 0x80 && utf8_sequence_length (p, end) == 0)
        return fail_utf8 (self, p, "outside a string");
      what = describe_at (self, p);
      return fail (self, CHARTA_FHIR_ERROR_MALFORMED, p,
                   "unexpected %s after the end of the JSON value: the input must hold exactly "
                   "one value", what);
    }
  return TRUE;
}

/* --- public ---------------------------------------------------------------------------------- */

size_t
charta_json_limit_bytes (const ChartaParseLimits *limits)
{
  if (limits == NULL || limits->max_bytes == 0)
    return CHARTA_DEFAULT_MAX_BYTES;
  return limits->max_bytes;
}

unsigned
charta_json_limit_depth (const ChartaParseLimits *limits)
{
  if (limits == NULL || limits->max_depth == 0)
    return CHARTA_DEFAULT_MAX_DEPTH;
  return MIN (limits->max_depth, CHARTA_JSON_MAX_DEPTH_CEILING);
}

gboolean
charta_json_parse (const char              *data,
                   size_t                   length,
                   const ChartaParseLimits *limits,
                   unsigned                 first_line,
                   ChartaJsonDocument      *doc,
                   GError                 **error)
{
  size_t max_bytes = charta_json_limit_bytes (limits);
  Frame initial[32];
  Parser self;
  gboolean ok;

  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (doc != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (doc, 0, sizeof *doc);
  if (length > max_bytes)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_LARGE,
                   "the body is %" G_GSIZE_FORMAT " bytes, more than the limit of %"
                   G_GSIZE_FORMAT " bytes", length, max_bytes);
      return FALSE;
    }

  memset (&self, 0, sizeof self);
  self.data = (const guchar *) (data != NULL ? data : "");
  self.end = self.data + length;
  self.first_line = first_line > 0 ? first_line : 1;
  self.max_depth = charta_json_limit_depth (limits);
  self.key = g_string_sized_new (64);
  self.str = g_string_sized_new (256);
  self.doc = doc;
  self.error = error;

  /* The first 32 levels live on the stack; deeper documents move to the heap. */
  self.frames = initial;
  self.initial_frames = initial;
  self.n_frames = MIN (G_N_ELEMENTS (initial), self.max_depth);
  ok = parse (&self);
  if (self.frames != initial)
    g_free (self.frames);
  g_string_free (self.key, TRUE);
  g_string_free (self.str, TRUE);

  if (!ok)
    {
      charta_json_document_clear (doc);
      return FALSE;
    }
  json_node_seal (doc->root);
  return TRUE;
}

void
charta_json_document_clear (ChartaJsonDocument *doc)
{
  g_clear_pointer (&doc->root, json_node_unref);
  g_clear_pointer (&doc->numbers, g_hash_table_unref);
  g_clear_pointer (&doc->texts, g_string_chunk_free);
}

void
charta_json_append_string (GString    *out,
                           const char *str)
{
  const guchar *p = (const guchar *) str;
  const guchar *run = p;

  g_string_append_c (out, '"');
  for (;; p++)
    {
      guchar c = *p;

      if (G_LIKELY (c >= 0x20 && c != '"' && c != '\\'))
        continue;
      if (c == '\0')
        break;
      charta_string_append_len (out, (const char *) run, (gsize) (p - run));
      run = p + 1;
      switch (c)
        {
        case '"':
          charta_string_append (out, "\\\"");
          break;
        case '\\':
          charta_string_append (out, "\\\\");
          break;
        case '\b':
          charta_string_append (out, "\\b");
          break;
        case '\f':
          charta_string_append (out, "\\f");
          break;
        case '\n':
          charta_string_append (out, "\\n");
          break;
        case '\r':
          charta_string_append (out, "\\r");
          break;
        case '\t':
          charta_string_append (out, "\\t");
          break;
        default:
          g_string_append_printf (out, "\\u%04x", c);
          break;
        }
    }
  charta_string_append_len (out, (const char *) run, (gsize) (p - run));
  g_string_append_c (out, '"');
}

/* Objects larger than this are read with json-glib's ordered iterator (a lookup per member):
 * matching names by pointer is quadratic. */
#define MEMBERS_MATCH_MAX 64

unsigned
charta_json_object_members (JsonObject  *object,
                            const char **names,
                            JsonNode   **nodes)
{
  unsigned n = json_object_get_size (object);
  const char *hashed_names[MEMBERS_MATCH_MAX];
  JsonNode *hashed_nodes[MEMBERS_MATCH_MAX];
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  unsigned k = 0, i = 0;

  json_object_iter_init_ordered (&iter, object);
  if (n > MEMBERS_MATCH_MAX)
    {
      while (json_object_iter_next_ordered (&iter, &name, &node))
        {
          names[i] = name;
          nodes[i++] = node;
        }
      return i;
    }

  /* The hash table's order gives each name (the table's own key) with its node; the ordered
   * iterator, asked for names only, gives the order; the two are matched by pointer, as
   * json-glib keys the table and orders the members with the same string. */
  {
    JsonObjectIter hashed;

    json_object_iter_init (&hashed, object);
    while (k < n && json_object_iter_next (&hashed, &name, &node))
      {
        hashed_names[k] = name;
        hashed_nodes[k++] = node;
      }
  }
  while (i < k && json_object_iter_next_ordered (&iter, &name, NULL))
    {
      /* The entries before i have been matched and moved to the front. */
      for (unsigned j = i; j < k; j++)
        if (hashed_names[j] == name)
          {
            names[i] = name;
            nodes[i] = hashed_nodes[j];
            hashed_names[j] = hashed_names[i];
            hashed_nodes[j] = hashed_nodes[i];
            i++;
            break;
          }
    }
  g_assert (i == k);
  return i;
}
