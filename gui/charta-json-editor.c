/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-json-editor.c: a record as JSON text, checked as it is typed (see
 * charta-json-editor.h).
 *
 * json-glib 1.6 tells no positions of what it reads and takes more than JSON (comments, single
 * quotes, "01", a member twice), so one small scanner here walks the text itself: Scanner
 * checks the grammar of RFC 8259 strictly, string- and escape-aware, and stops at the first
 * fault with its place and a message in plain words; the locator uses the same functions to
 * walk down a FHIRPath's members and items.  Neither builds a tree: once the text passes,
 * json-glib parses it, and charta-json-text.c reads its number texts.
 *
 * The widget keeps the resource that was set only as its resourceType, id, text and compact
 * form (charta_json_write()), which "changed" compares with the text's.  Each issue shown
 * holds two marks in the buffer, so that its element moves with edits before it; an edit that
 * touches the element marks the issue edited and takes its underline away.  The check runs
 * VALIDATE_DELAY_MS after the last change, or at once when a getter asks.  Nothing is logged
 * but counts.
 */
#define G_LOG_DOMAIN "charta-json-editor"

#include <stdarg.h>
#include <string.h>

#include "charta-fhir-text.h"
#include "charta-json-editor.h"
#include "charta-json-text.h"

/* How long after the last keystroke the text is checked. */
#define VALIDATE_DELAY_MS 300
/* Nesting deeper than this is a fault (FHIR resources are far shallower). */
#define MAX_DEPTH         128
/* Steps of a FHIRPath that the locator follows at most. */
#define MAX_STEPS         32

/* ---- the scanner -------------------------------------------------------------------------- */

typedef struct
{
  const char *text;       /* the whole text, for line numbers */
  const char *p;
  const char *end;
  unsigned depth;
  gboolean check_duplicates;
  const char *fault;      /* where the first fault is, or NULL */
  const char *fault_end;
  char *problem;          /* the fault in words */
} Scanner;

static void
scanner_init (Scanner    *s,
              const char *text)
{
  memset (s, 0, sizeof *s);
  s->text = text;
  s->p = text;
  s->end = text + strlen (text);
}

/* The end of the character at @at (never past the end: the text may not be UTF-8). */
static const char *
next_char (Scanner    *s,
           const char *at)
{
  if (at >= s->end)
    return s->end;
  return MIN (g_utf8_next_char (at), s->end);
}

/* The end of what starts at @at, to underline: a word or number, a quoted string up to its
 * line's end, else one character. */
static const char *
token_end (Scanner    *s,
           const char *at)
{
  const char *q = at;

  if (q >= s->end)
    return s->end;
  if (*q == '"')
    {
      for (q++; q < s->end && *q != '"' && *q != '\n'; q++)
        if (*q == '\\' && q + 1 < s->end && q[1] != '\n')
          q++;
      return q < s->end && *q == '"' ? q + 1 : q;
    }
  while (q < s->end && (g_ascii_isalnum (*q) || *q == '_' || *q == '.' || *q == '+'
                        || *q == '-'))
    q++;
  return q > at ? q : next_char (s, at);
}

/* Notes the first fault: at @at (through @at_end, at least one character); returns FALSE. */
static gboolean G_GNUC_PRINTF (4, 5)
fail (Scanner    *s,
      const char *at,
      const char *at_end,
      const char *format,
      ...)
{
  va_list args;

  if (s->fault != NULL)
    return FALSE;
  s->fault = MIN (at, s->end);
  s->fault_end = at_end > s->fault ? MIN (at_end, s->end) : next_char (s, s->fault);
  va_start (args, format);
  s->problem = g_strdup_vprintf (format, args);
  va_end (args);
  return FALSE;
}

/* The line (from 1) and column (from 1, in characters) of byte @at of @text. */
static void
text_position (const char *text,
               const char *at,
               unsigned   *line,
               unsigned   *column)
{
  const char *line_start = text;

  *line = 1;
  for (const char *q = text; q < at; q++)
    if (*q == '\n')
      {
        (*line)++;
        line_start = q + 1;
      }
  *column = (unsigned) g_utf8_strlen (line_start, at - line_start) + 1;
}

static void
skip_space (Scanner *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

/* A string at s->p (its opening quote); its decoded text appended to @out when not NULL (a
 * surrogate escape as written, which is enough to compare names). */
static gboolean
scan_string (Scanner *s,
             GString *out)
{
  const char *open = s->p;

  s->p++;
  for (;;)
    {
      unsigned char c;

      if (s->p >= s->end)
        return fail (s, open, s->p, "the text in double quotes that starts here has no "
                                    "closing '\"'");
      c = (unsigned char) *s->p;
      if (c == '"')
        {
          s->p++;
          return TRUE;
        }
      if (c == '\n' || c == '\r')
        return fail (s, open, s->p, "the text in double quotes that starts here does not end "
                                    "on its line: a '\"' is missing");
      if (c < 0x20)
        return fail (s, s->p, s->p + 1, "a tab or control character in text is written as an "
                                        "escape (\\t, \\u0001)");
      if (c != '\\')
        {
          if (out != NULL)
            g_string_append_c (out, (char) c);
          s->p++;
          continue;
        }
      if (s->p + 1 >= s->end)
        return fail (s, open, s->p, "the text in double quotes that starts here has no "
                                    "closing '\"'");
      switch (s->p[1])
        {
        case '"':
        case '\\':
        case '/':
          if (out != NULL)
            g_string_append_c (out, s->p[1]);
          break;
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          if (out != NULL)
            g_string_append_c (out, s->p[1] == 'b'   ? '\b'
                                    : s->p[1] == 'f' ? '\f'
                                    : s->p[1] == 'n' ? '\n'
                                    : s->p[1] == 'r' ? '\r'
                                                     : '\t');
          break;
        case 'u':
          {
            gunichar value = 0;

            for (int i = 2; i < 6; i++)
              {
                if (s->p + i >= s->end || !g_ascii_isxdigit (s->p[i]))
                  return fail (s, s->p, s->p + 2, "'\\u' is followed by four hexadecimal "
                                                  "digits (\\u00e9)");
                value = value * 16 + (gunichar) g_ascii_xdigit_value (s->p[i]);
              }
            if (out != NULL && value >= 0xd800 && value <= 0xdfff)
              g_string_append_len (out, s->p, 6);
            else if (out != NULL)
              g_string_append_unichar (out, value);
            s->p += 6;
            continue;
          }
        default:
          {
            const char *after = next_char (s, s->p + 1);

            return fail (s, s->p, after, "'\\%.*s' is no escape: a backslash in text is "
                                         "written '\\\\'", (int) (after - s->p - 1), s->p + 1);
          }
        }
      s->p += 2;
    }
}

/* A number at s->p: the whole run of number-like characters must be one as RFC 8259 writes
 * them (no "01", "1.", ".5", "+1"). */
static gboolean
scan_number (Scanner *s)
{
  const char *start = s->p;
  const char *q = start;

  while (s->p < s->end && (g_ascii_isalnum (*s->p) || *s->p == '.' || *s->p == '+'
                           || *s->p == '-'))
    s->p++;
  if (q < s->p && *q == '-')
    q++;
  if (q < s->p && *q == '0')
    q++;
  else if (q < s->p && *q >= '1' && *q <= '9')
    while (q < s->p && g_ascii_isdigit (*q))
      q++;
  else
    goto bad;
  if (q < s->p && *q == '.')
    {
      if (++q >= s->p || !g_ascii_isdigit (*q))
        goto bad;
      while (q < s->p && g_ascii_isdigit (*q))
        q++;
    }
  if (q < s->p && (*q == 'e' || *q == 'E'))
    {
      q++;
      if (q < s->p && (*q == '+' || *q == '-'))
        q++;
      if (q >= s->p || !g_ascii_isdigit (*q))
        goto bad;
      while (q < s->p && g_ascii_isdigit (*q))
        q++;
    }
  if (q == s->p)
    return TRUE;
bad:
  return fail (s, start, s->p, "this number is not written as JSON writes numbers (like 1.50, "
                               "-3 or 2e5)");
}

/* A word at s->p: true, false or null. */
static gboolean
scan_word (Scanner *s)
{
  static const char *const words[] = { "true", "false", "null" };
  const char *start = s->p;
  size_t length;

  while (s->p < s->end && (g_ascii_isalnum (*s->p) || *s->p == '_'))
    s->p++;
  length = s->p - start;
  for (size_t i = 0; i < G_N_ELEMENTS (words); i++)
    if (length == strlen (words[i]) && g_ascii_strncasecmp (start, words[i], length) == 0)
      {
        if (strncmp (start, words[i], length) == 0)
          return TRUE;
        return fail (s, start, s->p, "true, false and null are written in small letters");
      }
  return fail (s, start, s->p, "text is written in double quotes");
}

static gboolean scan_value (Scanner *s);

/* The text ended inside the object or array that @open opens. */
static gboolean
unclosed (Scanner    *s,
          const char *open)
{
  unsigned line, column;

  text_position (s->text, open, &line, &column);
  return fail (s, s->end, s->end, "the text ends before the '%c' on line %u is closed with "
                                  "'%c'", *open, line, *open == '{' ? '}' : ']');
}

static gboolean
scan_object (Scanner *s)
{
  g_autoptr(GHashTable) names = NULL;
  g_autoptr(GString) name = NULL;
  const char *open = s->p;
  const char *comma = NULL;

  if (s->check_duplicates)
    {
      names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      name = g_string_new (NULL);
    }
  s->p++;
  skip_space (s);
  if (s->p < s->end && *s->p == '}')
    {
      s->p++;
      return TRUE;
    }
  for (;;)
    {
      const char *key;

      skip_space (s);
      if (s->p >= s->end)
        return unclosed (s, open);
      if (*s->p == '}' && comma != NULL)
        return fail (s, comma, comma + 1, "nothing comes after this ',' before the '}': "
                                          "remove it");
      if (*s->p == '\'')
        return fail (s, s->p, token_end (s, s->p), "a member name is written in double "
                                                   "quotes, not single ones");
      if (*s->p != '"')
        return fail (s, s->p, token_end (s, s->p), "a member name in double quotes is "
                                                   "missing");
      key = s->p;
      if (name != NULL)
        g_string_truncate (name, 0);
      if (!scan_string (s, name))
        return FALSE;
      if (names != NULL)
        {
          if (g_hash_table_contains (names, name->str))
            return fail (s, key, s->p, "\"%s\" is in this object twice", name->str);
          g_hash_table_add (names, g_strdup (name->str));
        }
      skip_space (s);
      if (s->p >= s->end)
        return unclosed (s, open);
      if (*s->p != ':')
        return fail (s, s->p, token_end (s, s->p), "a ':' is missing after the member name");
      s->p++;
      if (!scan_value (s))
        return FALSE;
      skip_space (s);
      if (s->p >= s->end)
        return unclosed (s, open);
      if (*s->p == ',')
        {
          comma = s->p++;
          continue;
        }
      if (*s->p == '}')
        {
          s->p++;
          return TRUE;
        }
      return fail (s, s->p, token_end (s, s->p), "a ',' or '}' is missing");
    }
}

static gboolean
scan_array (Scanner *s)
{
  const char *open = s->p;
  const char *comma = NULL;

  s->p++;
  skip_space (s);
  if (s->p < s->end && *s->p == ']')
    {
      s->p++;
      return TRUE;
    }
  for (;;)
    {
      skip_space (s);
      if (s->p >= s->end)
        return unclosed (s, open);
      if (*s->p == ']' && comma != NULL)
        return fail (s, comma, comma + 1, "nothing comes after this ',' before the ']': "
                                          "remove it");
      if (!scan_value (s))
        return FALSE;
      skip_space (s);
      if (s->p >= s->end)
        return unclosed (s, open);
      if (*s->p == ',')
        {
          comma = s->p++;
          continue;
        }
      if (*s->p == ']')
        {
          s->p++;
          return TRUE;
        }
      return fail (s, s->p, token_end (s, s->p), "a ',' or ']' is missing");
    }
}

static gboolean
scan_value (Scanner *s)
{
  gboolean ok;

  skip_space (s);
  if (s->p >= s->end)
    return fail (s, s->end, s->end, "the text ends where a value should be");
  switch (*s->p)
    {
    case '{':
    case '[':
      if (s->depth >= MAX_DEPTH)
        return fail (s, s->p, s->p + 1, "the elements are nested too deeply");
      s->depth++;
      ok = *s->p == '{' ? scan_object (s) : scan_array (s);
      s->depth--;
      return ok;
    case '"':
      return scan_string (s, NULL);
    case ',':
    case '}':
    case ']':
    case ':':
      return fail (s, s->p, s->p + 1, "a value is missing before this");
    case '\'':
      return fail (s, s->p, token_end (s, s->p), "text is written in double quotes, not "
                                                 "single ones");
    case '/':
      return fail (s, s->p, s->p + 1, "JSON has no comments");
    default:
      if (g_ascii_isdigit (*s->p) || *s->p == '-' || *s->p == '+' || *s->p == '.')
        return scan_number (s);
      if (g_ascii_isalpha (*s->p) || *s->p == '_')
        return scan_word (s);
      return fail (s, s->p, next_char (s, s->p), "a value should be here: text in double "
                                                 "quotes, a number, true, false, null, { } "
                                                 "or [ ]");
    }
}

char *
charta_json_find_fault (const char *text,
                        size_t     *start,
                        size_t     *end)
{
  Scanner s;
  unsigned line, column;
  char *message;

  g_return_val_if_fail (text != NULL, NULL);

  scanner_init (&s, text);
  s.check_duplicates = TRUE;
  skip_space (&s);
  if (s.p >= s.end)
    fail (&s, s.p, s.p, "the text is empty");
  else if (scan_value (&s))
    {
      skip_space (&s);
      if (s.p < s.end)
        fail (&s, s.p, token_end (&s, s.p), "there is more after the end of the resource");
    }
  if (s.fault == NULL)
    return NULL;

  text_position (text, s.fault, &line, &column);
  message = g_strdup_printf ("Line %u, column %u: %s", line, column, s.problem);
  if (start != NULL)
    *start = s.fault - text;
  if (end != NULL)
    *end = s.fault_end - text;
  g_free (s.problem);
  return message;
}

/* ---- the locator -------------------------------------------------------------------------- */

typedef struct
{
  const char *name;   /* not nul-terminated */
  size_t length;
  const char *type;   /* ofType(): the choice's type, or NULL */
  size_t type_length;
  int index;          /* [n], or -1 */
} Step;

static size_t
identifier_length (const char *p)
{
  size_t n = 0;

  if (!g_ascii_isalpha (p[0]) && p[0] != '_')
    return 0;
  while (g_ascii_isalnum (p[n]) || p[n] == '_')
    n++;
  return n;
}

/* The steps of @fhirpath, without its leading type name; FALSE when it is not a path of
 * member names, indexes and ofType(). */
static gboolean
parse_path (const char *fhirpath,
            Step       *steps,
            unsigned   *n_steps)
{
  const char *p = fhirpath;
  size_t length;

  *n_steps = 0;
  length = identifier_length (p);
  if (length > 0 && g_ascii_isupper (p[0]))
    {
      p += length;
      if (*p == '\0')
        return TRUE;
      if (*p != '.')
        return FALSE;
      p++;
    }
  for (;;)
    {
      Step *step;

      length = identifier_length (p);
      if (length == 0 || *n_steps >= MAX_STEPS)
        return FALSE;
      step = &steps[(*n_steps)++];
      step->name = p;
      step->length = length;
      step->type = NULL;
      step->type_length = 0;
      step->index = -1;
      p += length;
      if (g_str_has_prefix (p, ".ofType("))
        {
          p += strlen (".ofType(");
          step->type = p;
          step->type_length = identifier_length (p);
          p += step->type_length;
          if (step->type_length == 0 || *p != ')')
            return FALSE;
          p++;
        }
      if (*p == '[')
        {
          char *after = NULL;
          guint64 index;

          if (!g_ascii_isdigit (p[1]))
            return FALSE;
          index = g_ascii_strtoull (p + 1, &after, 10);
          if (after == NULL || *after != ']' || index > G_MAXINT)
            return FALSE;
          step->index = (int) index;
          p = after + 1;
        }
      if (*p == '\0')
        return TRUE;
      if (*p != '.')
        return FALSE;
      p++;
    }
}

typedef enum
{
  MATCH_NONE,
  MATCH_EXACT,   /* the name, or the choice name with the ofType() type */
  MATCH_CHOICE,  /* the name followed by a type ("valueQuantity" for "value") */
  MATCH_PLAIN,   /* the name without the ofType() type */
} Match;

static Match
match_name (const GString *name,
            const Step    *step)
{
  if (name->len < step->length || strncmp (name->str, step->name, step->length) != 0)
    return MATCH_NONE;
  if (step->type == NULL)
    {
      if (name->len == step->length)
        return MATCH_EXACT;
      return g_ascii_isupper (name->str[step->length]) ? MATCH_CHOICE : MATCH_NONE;
    }
  if (name->len == step->length)
    return MATCH_PLAIN;
  if (name->len == step->length + step->type_length
      && g_ascii_toupper (step->type[0]) == name->str[step->length]
      && strncmp (name->str + step->length + 1, step->type + 1, step->type_length - 1) == 0)
    return MATCH_EXACT;
  return MATCH_NONE;
}

/* In the object at s->p: the member that @step names, preferring an exact name to a choice;
 * s->p is left at its value and *key at its name. */
static gboolean
find_member (Scanner    *s,
             const Step *step,
             const char **key)
{
  g_autoptr(GString) name = g_string_new (NULL);
  const char *other_key = NULL;
  const char *other_value = NULL;

  s->p++;
  for (;;)
    {
      const char *start, *value;
      Match match;

      skip_space (s);
      if (s->p >= s->end || *s->p != '"')
        break;
      start = s->p;
      g_string_truncate (name, 0);
      if (!scan_string (s, name))
        break;
      skip_space (s);
      if (s->p >= s->end || *s->p != ':')
        break;
      s->p++;
      skip_space (s);
      value = s->p;
      match = match_name (name, step);
      if (match == MATCH_EXACT)
        {
          *key = start;
          return TRUE;
        }
      if (match != MATCH_NONE && other_key == NULL)
        {
          other_key = start;
          other_value = value;
        }
      if (!scan_value (s))
        break;
      skip_space (s);
      if (s->p >= s->end || *s->p != ',')
        break;
      s->p++;
    }
  if (other_key == NULL)
    return FALSE;
  *key = other_key;
  s->p = other_value;
  return TRUE;
}

/* In the array at s->p: item @index; s->p is left at it. */
static gboolean
find_item (Scanner *s,
           int      index)
{
  s->p++;
  for (int i = 0;; i++)
    {
      skip_space (s);
      if (s->p >= s->end || *s->p == ']')
        return FALSE;
      if (i == index)
        return TRUE;
      if (!scan_value (s))
        return FALSE;
      skip_space (s);
      if (s->p >= s->end || *s->p != ',')
        return FALSE;
      s->p++;
    }
}

gboolean
charta_json_locate (const char *text,
                    const char *fhirpath,
                    size_t     *start,
                    size_t     *end)
{
  Step steps[MAX_STEPS];
  unsigned n_steps;
  const char *from;
  gboolean found;
  Scanner s;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (fhirpath != NULL, FALSE);

  if (!parse_path (fhirpath, steps, &n_steps))
    return FALSE;
  scanner_init (&s, text);
  skip_space (&s);
  from = s.p;
  for (unsigned i = 0; i < n_steps; i++)
    {
      /* An array that the step before gave no index: its first item. */
      if (s.p < s.end && *s.p == '[' && (i == 0 || steps[i - 1].index < 0))
        {
          if (!find_item (&s, 0))
            return FALSE;
        }
      if (s.p >= s.end || *s.p != '{' || !find_member (&s, &steps[i], &from))
        return FALSE;
      if (steps[i].index < 0)
        continue;
      if (s.p < s.end && *s.p == '[')
        {
          if (!find_item (&s, steps[i].index))
            return FALSE;
          from = s.p;
        }
      else if (steps[i].index != 0)
        return FALSE;
    }
  found = scan_value (&s);
  g_free (s.problem);
  if (!found)
    return FALSE;
  if (start != NULL)
    *start = from - text;
  if (end != NULL)
    *end = s.p - text;
  return TRUE;
}

/* ---- writing ------------------------------------------------------------------------------ */

static void
new_line (GString  *out,
          unsigned  level)
{
  g_string_append_c (out, '\n');
  for (unsigned i = 0; i < level; i++)
    g_string_append (out, "  ");
}

/* @compact (JSON without white space outside strings, as charta_json_write() writes it) with
 * a line per member and item. */
static char *
indent_json (const char *compact)
{
  GString *out = g_string_sized_new (strlen (compact) * 2);
  unsigned level = 0;

  for (const char *p = compact; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"':
          {
            const char *q = p + 1;

            while (*q != '\0' && *q != '"')
              q += q[0] == '\\' && q[1] != '\0' ? 2 : 1;
            if (*q == '\0')
              q--;
            g_string_append_len (out, p, q - p + 1);
            p = q;
            break;
          }
        case '{':
        case '[':
          if (p[1] == (*p == '{' ? '}' : ']'))
            {
              g_string_append_len (out, p, 2);
              p++;
              break;
            }
          g_string_append_c (out, *p);
          new_line (out, ++level);
          break;
        case '}':
        case ']':
          new_line (out, level > 0 ? --level : 0);
          g_string_append_c (out, *p);
          break;
        case ',':
          g_string_append_c (out, ',');
          new_line (out, level);
          break;
        case ':':
          g_string_append (out, ": ");
          break;
        default:
          g_string_append_c (out, *p);
        }
    }
  return g_string_free (out, FALSE);
}

char *
charta_json_write_pretty (JsonNode   *node,
                          GHashTable *number_texts)
{
  g_autofree char *compact = NULL;

  g_return_val_if_fail (node != NULL, NULL);

  compact = charta_json_write (node, number_texts);
  return indent_json (compact);
}

/* ---- the widget --------------------------------------------------------------------------- */

typedef struct
{
  GtkTextMark *start;   /* the element, left gravity */
  GtkTextMark *end;     /* right gravity */
  char *path;           /* the element path as the server wrote it */
  char *message;
  const char *severity; /* "Error", "Warning", "Note" */
  gboolean edited;      /* an edit touched the element since */
  GtkWidget *row;       /* its AdwActionRow in issues_list */
} Issue;

struct _ChartaJsonEditor
{
  AdwBin parent_instance;

  GtkTextView *view;
  GtkTextBuffer *buffer;
  GtkTextTag *fault_tag;     /* "fault": the spot that makes the text no resource */
  GtkTextTag *issue_tag;     /* "issue": the elements that the server's issues name */
  GtkWidget *problem_box;    /* problem_label, shown when something is wrong with the text */
  GtkLabel *problem_label;
  GtkWidget *unplaced_box;   /* labels of the issues whose element is not in the text */
  GtkWidget *issues_box;     /* the issues at their elements */
  GtkListBox *issues_list;

  gboolean is_set;           /* a resource has been set */
  char *type;                /* its resourceType and id, or NULL */
  char *id;
  char *initial_text;        /* its text */
  char *initial_compact;     /* it, compact with its number texts (NULL: no resource) */
  gboolean taking_initial;   /* the next check takes its compact form as initial_compact */

  JsonNode *resource;        /* the text as a resource, or NULL */
  GHashTable *number_texts;  /* its numbers' texts, or NULL */
  char *message;             /* what is wrong with the text, or NULL */
  gboolean valid;
  gboolean changed;
  guint check_source;        /* the pending check, or 0 */
  gboolean setting;          /* set_resource() is changing the text */
  GPtrArray *issues;         /* Issue */
};

enum
{
  PROP_0,
  PROP_VALID,
  PROP_CHANGED,
  PROP_MESSAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ChartaJsonEditor, charta_json_editor, ADW_TYPE_BIN)

static void
issue_free (Issue *issue)
{
  g_free (issue->path);
  g_free (issue->message);
  g_free (issue);
}

static char *
buffer_text (ChartaJsonEditor *self)
{
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (self->buffer, &start, &end);
  return gtk_text_buffer_get_text (self->buffer, &start, &end, TRUE);
}

/* The iters at bytes @start and @end of @text (the buffer's text). */
static void
text_iters (ChartaJsonEditor *self,
            const char       *text,
            size_t            start,
            size_t            end,
            GtkTextIter      *start_iter,
            GtkTextIter      *end_iter)
{
  gtk_text_buffer_get_iter_at_offset (self->buffer, start_iter,
                                      (int) g_utf8_pointer_to_offset (text, text + start));
  gtk_text_buffer_get_iter_at_offset (self->buffer, end_iter,
                                      (int) g_utf8_pointer_to_offset (text, text + end));
}

/* ---- checking ----------------------------------------------------------------------------- */

/* "Line L, column C: @problem" for byte @at of @text. */
static char *
at_position (const char *text,
             size_t      at,
             const char *problem)
{
  unsigned line, column;

  text_position (text, text + at, &line, &column);
  return g_strdup_printf ("Line %u, column %u: %s", line, column, problem);
}

/* Whether the JSON text @text (no fault) is the resource that was set, with the same type and
 * id; if not, what is wrong, with the spot in *start and *end. */
static char *
check_resource (ChartaJsonEditor  *self,
                const char        *text,
                JsonNode         **resource,
                size_t            *start,
                size_t            *end)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = json_from_string (text, &error);
  size_t first = strspn (text, " \t\r\n");
  JsonObject *object;
  const char *type, *id;

  *start = first;
  *end = first + 1;
  if (node == NULL)
    return g_strdup ("The text cannot be read as JSON");
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return at_position (text, first, "a resource is a JSON object, written in { }");

  object = json_node_get_object (node);
  type = charta_json_get_string (object, "resourceType");
  if (!json_object_has_member (object, "resourceType"))
    {
      g_autofree char *problem = self->type != NULL
        ? g_strdup_printf ("\"resourceType\" is missing: it must stay \"%s\"", self->type)
        : g_strdup ("\"resourceType\" is missing");

      return at_position (text, first, problem);
    }
  if (type == NULL || (self->type != NULL && strcmp (type, self->type) != 0))
    {
      g_autofree char *problem = self->type != NULL
        ? g_strdup_printf ("the resourceType must stay \"%s\": a correction cannot change it",
                           self->type)
        : g_strdup ("the resourceType is text in double quotes");

      charta_json_locate (text, "resourceType", start, end);
      return at_position (text, *start, problem);
    }
  id = charta_json_get_string (object, "id");
  if (self->id != NULL && !json_object_has_member (object, "id"))
    {
      g_autofree char *problem =
        g_strdup_printf ("\"id\" is missing: it must stay \"%s\"", self->id);

      return at_position (text, first, problem);
    }
  if (g_strcmp0 (id, self->id) != 0 && (self->id != NULL || json_object_has_member (object, "id")))
    {
      g_autofree char *problem = self->id != NULL
        ? g_strdup_printf ("the id must stay \"%s\": a correction cannot change it", self->id)
        : g_strdup ("the record had no id: a correction cannot give it one");

      charta_json_locate (text, "id", start, end);
      return at_position (text, *start, problem);
    }
  *resource = g_steal_pointer (&node);
  return NULL;
}

static void
update_problem (ChartaJsonEditor *self)
{
  gtk_label_set_text (self->problem_label, self->message != NULL ? self->message : "");
  gtk_widget_set_visible (self->problem_box, self->message != NULL);
  gtk_accessible_update_state (GTK_ACCESSIBLE (self->view), GTK_ACCESSIBLE_STATE_INVALID,
                               self->message != NULL ? GTK_ACCESSIBLE_INVALID_TRUE
                                                     : GTK_ACCESSIBLE_INVALID_FALSE,
                               -1);
}

/* Underlines bytes @start to @end of @text (the buffer's text); an empty spot at the end, the
 * last character that is not white space. */
static void
mark_fault (ChartaJsonEditor *self,
            const char       *text,
            size_t            start,
            size_t            end)
{
  GtkTextIter start_iter, end_iter;

  text_iters (self, text, start, end, &start_iter, &end_iter);
  if (gtk_text_iter_equal (&start_iter, &end_iter))
    {
      while (gtk_text_iter_backward_char (&start_iter)
             && g_unichar_isspace (gtk_text_iter_get_char (&start_iter)))
        ;
      end_iter = start_iter;
      gtk_text_iter_forward_char (&end_iter);
    }
  gtk_text_buffer_apply_tag (self->buffer, self->fault_tag, &start_iter, &end_iter);
}

/* Checks the text now: the resource, "valid", "changed" and the message. */
static void
check_now (ChartaJsonEditor *self)
{
  g_autofree char *text = buffer_text (self);
  g_autofree char *message = NULL;
  g_autofree char *compact = NULL;
  g_autoptr(JsonNode) resource = NULL;
  g_autoptr(GHashTable) texts = NULL;
  GtkTextIter start_iter, end_iter;
  size_t start = 0, end = 0;
  gboolean was_valid = self->valid, was_changed = self->changed;
  gboolean message_changed;

  g_clear_handle_id (&self->check_source, g_source_remove);
  gtk_text_buffer_get_bounds (self->buffer, &start_iter, &end_iter);
  gtk_text_buffer_remove_tag (self->buffer, self->fault_tag, &start_iter, &end_iter);

  if (self->is_set)
    {
      message = charta_json_find_fault (text, &start, &end);
      if (message == NULL)
        message = check_resource (self, text, &resource, &start, &end);
      if (message != NULL)
        mark_fault (self, text, start, end);
      else
        {
          texts = charta_json_number_texts (text, -1);
          compact = charta_json_write (resource, texts);
        }
    }
  if (self->taking_initial)
    {
      self->initial_compact = g_steal_pointer (&compact);
      self->taking_initial = FALSE;
    }

  g_clear_pointer (&self->resource, json_node_unref);
  g_clear_pointer (&self->number_texts, g_hash_table_unref);
  self->resource = g_steal_pointer (&resource);
  self->number_texts = g_steal_pointer (&texts);
  self->valid = self->resource != NULL;
  if (!self->is_set)
    self->changed = FALSE;
  else if (self->valid && self->initial_compact != NULL)
    self->changed = compact != NULL && strcmp (compact, self->initial_compact) != 0;
  else
    self->changed = g_strcmp0 (text, self->initial_text) != 0;
  message_changed = g_strcmp0 (message, self->message) != 0;
  g_free (self->message);
  self->message = g_steal_pointer (&message);
  update_problem (self);
  g_debug ("checked %zu bytes: %s", strlen (text), self->valid ? "a resource" : "no resource");

  if (self->valid != was_valid)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VALID]);
  if (self->changed != was_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHANGED]);
  if (message_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSAGE]);
}

static gboolean
check_timeout (gpointer data)
{
  ChartaJsonEditor *self = data;

  self->check_source = 0;
  check_now (self);
  return G_SOURCE_REMOVE;
}

/* Checks a change that is still waiting for its check. */
static void
flush (ChartaJsonEditor *self)
{
  if (self->check_source != 0)
    check_now (self);
}

/* ---- issues ------------------------------------------------------------------------------- */

static void
issue_bounds (ChartaJsonEditor *self,
              Issue            *issue,
              GtkTextIter      *start,
              GtkTextIter      *end)
{
  gtk_text_buffer_get_iter_at_mark (self->buffer, start, issue->start);
  gtk_text_buffer_get_iter_at_mark (self->buffer, end, issue->end);
}

/* Underlines the elements of the issues that no edit has touched. */
static void
mark_issues (ChartaJsonEditor *self)
{
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (self->buffer, &start, &end);
  gtk_text_buffer_remove_tag (self->buffer, self->issue_tag, &start, &end);
  for (unsigned i = 0; i < self->issues->len; i++)
    {
      Issue *issue = g_ptr_array_index (self->issues, i);

      if (issue->edited)
        continue;
      issue_bounds (self, issue, &start, &end);
      gtk_text_buffer_apply_tag (self->buffer, self->issue_tag, &start, &end);
    }
}

static void
clear_issues (ChartaJsonEditor *self)
{
  GtkWidget *child;

  for (unsigned i = 0; i < self->issues->len; i++)
    {
      Issue *issue = g_ptr_array_index (self->issues, i);

      gtk_text_buffer_delete_mark (self->buffer, issue->start);
      gtk_text_buffer_delete_mark (self->buffer, issue->end);
      gtk_list_box_remove (self->issues_list, issue->row);
    }
  g_ptr_array_set_size (self->issues, 0);
  while ((child = gtk_widget_get_first_child (self->unplaced_box)) != NULL)
    gtk_box_remove (GTK_BOX (self->unplaced_box), child);
  gtk_widget_set_margin_bottom (self->unplaced_box, 0);
  gtk_widget_set_visible (self->issues_box, FALSE);
  mark_issues (self);
}

static char *
row_subtitle (Issue *issue)
{
  return g_strdup_printf ("%s at %s%s", issue->severity, issue->path,
                          issue->edited ? " (edited since)" : "");
}

/* An edit of the characters @from to @to (offsets; equal for a deletion): the issues whose
 * elements it touches are marked edited, and the fault's underline there goes. */
static void
edited (ChartaJsonEditor *self,
        int               from,
        int               to)
{
  GtkTextIter start, end;
  gboolean touched = FALSE;

  for (unsigned i = 0; i < self->issues->len; i++)
    {
      Issue *issue = g_ptr_array_index (self->issues, i);
      g_autofree char *subtitle = NULL;

      if (issue->edited)
        continue;
      issue_bounds (self, issue, &start, &end);
      if (from > gtk_text_iter_get_offset (&end) || to < gtk_text_iter_get_offset (&start))
        continue;
      issue->edited = TRUE;
      touched = TRUE;
      subtitle = row_subtitle (issue);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (issue->row), subtitle);
    }
  if (touched)
    mark_issues (self);
  gtk_text_buffer_get_iter_at_offset (self->buffer, &start, MAX (from - 1, 0));
  gtk_text_buffer_get_iter_at_offset (self->buffer, &end, to + 1);
  gtk_text_buffer_remove_tag (self->buffer, self->fault_tag, &start, &end);
}

static void
go_to_clicked (GtkButton        *button,
               ChartaJsonEditor *self)
{
  Issue *issue = NULL;
  GtkTextIter start, end;

  for (unsigned i = 0; i < self->issues->len && issue == NULL; i++)
    if (gtk_widget_is_ancestor (GTK_WIDGET (button),
                                ((Issue *) g_ptr_array_index (self->issues, i))->row))
      issue = g_ptr_array_index (self->issues, i);
  g_return_if_fail (issue != NULL);

  issue_bounds (self, issue, &start, &end);
  gtk_text_buffer_select_range (self->buffer, &start, &end);
  gtk_text_view_scroll_to_mark (self->view, gtk_text_buffer_get_insert (self->buffer), 0.1,
                                FALSE, 0, 0);
  gtk_widget_grab_focus (GTK_WIDGET (self->view));
}

static const char *
severity_words (const char *code)
{
  if (g_strcmp0 (code, "warning") == 0)
    return "Warning";
  if (g_strcmp0 (code, "information") == 0)
    return "Note";
  return "Error";
}

static const char *
severity_icon (const char *code)
{
  if (g_strcmp0 (code, "warning") == 0)
    return "dialog-warning-symbolic";
  if (g_strcmp0 (code, "information") == 0)
    return "dialog-information-symbolic";
  return "dialog-error-symbolic";
}

/* The element path that starts @diagnostics ("Observation.status: …", also after "… does not
 * validate: "), with *rest at what follows its ": "; NULL when it starts with none. */
static char *
diagnostics_path (const char  *diagnostics,
                  const char **rest)
{
  const char *start = strstr (diagnostics, "does not validate: ");
  size_t length;

  start = start != NULL ? start + strlen ("does not validate: ") : diagnostics;
  length = strspn (start, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.[]");
  if (length == 0 || !g_ascii_isupper (start[0]) || memchr (start, '.', length) == NULL
      || !g_str_has_prefix (start + length, ": "))
    return NULL;
  *rest = start + length + 2;
  return g_strndup (start, length);
}

/* Where in @text @issue's element is: the first of its expressions (else locations) that is
 * found, else the path that starts its diagnostics.  *path is the path found, else the first
 * one named (NULL when none is); *message what to show (the diagnostics without the path that
 * starts them, when that is *path). */
static gboolean
issue_element (JsonObject  *issue,
               const char  *text,
               size_t      *start,
               size_t      *end,
               char       **path,
               char       **message)
{
  static const char *const lists[] = { "expression", "location" };
  const char *diagnostics = charta_json_get_string (issue, "diagnostics");
  g_autofree char *details = charta_fhir_text_concept (charta_json_get_object (issue, "details"));
  const char *rest = NULL;
  g_autofree char *named = diagnostics != NULL ? diagnostics_path (diagnostics, &rest) : NULL;
  gboolean found = FALSE;

  *path = NULL;
  for (size_t l = 0; l < G_N_ELEMENTS (lists) && !found; l++)
    {
      JsonArray *paths = charta_json_get_array (issue, lists[l]);

      for (unsigned i = 0; paths != NULL && i < json_array_get_length (paths) && !found; i++)
        {
          JsonNode *node = json_array_get_element (paths, i);
          const char *candidate;

          if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
            continue;
          candidate = json_node_get_string (node);
          found = charta_json_locate (text, candidate, start, end);
          if (found || *path == NULL)
            {
              g_free (*path);
              *path = g_strdup (candidate);
            }
        }
    }
  if (!found && named != NULL && charta_json_locate (text, named, start, end))
    {
      found = TRUE;
      g_free (*path);
      *path = g_strdup (named);
    }
  else if (*path == NULL)
    *path = g_strdup (named);

  if (named != NULL && g_strcmp0 (*path, named) == 0)
    *message = g_strdup (rest);
  else
    *message = g_strdup (diagnostics != NULL ? diagnostics
                         : details != NULL   ? details
                                             : "The server refused this element");
  return found;
}

/* An issue whose element is not in the text: its words above the text.  (A label alone, no
 * icon: in GTK 4.8 a box of an icon and a wrapping label asks for less height than it needs.) */
static void
add_unplaced (ChartaJsonEditor *self,
              const char       *severity,
              const char       *path,
              const char       *message)
{
  g_autofree char *words = path != NULL
    ? g_strdup_printf ("%s: %s (at %s, which is not in the text)", severity_words (severity),
                       message, path)
    : g_strdup_printf ("%s: %s", severity_words (severity), message);
  GtkWidget *label = gtk_label_new (words);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  if (g_strcmp0 (severity, "warning") != 0 && g_strcmp0 (severity, "information") != 0)
    gtk_widget_add_css_class (label, "error");
  gtk_box_append (GTK_BOX (self->unplaced_box), label);
  gtk_widget_set_margin_bottom (self->unplaced_box, 6);
}

static void
add_issue (ChartaJsonEditor *self,
           const char       *text,
           size_t            start,
           size_t            end,
           const char       *severity,
           char             *path,
           char             *message)
{
  Issue *issue = g_new0 (Issue, 1);
  GtkTextIter start_iter, end_iter;
  g_autofree char *subtitle = NULL;
  g_autofree char *go_to_label = NULL;
  GtkWidget *button, *icon;

  text_iters (self, text, start, end, &start_iter, &end_iter);
  issue->start = gtk_text_buffer_create_mark (self->buffer, NULL, &start_iter, TRUE);
  issue->end = gtk_text_buffer_create_mark (self->buffer, NULL, &end_iter, FALSE);
  issue->path = path;
  issue->message = message;
  issue->severity = severity_words (severity);

  issue->row = adw_action_row_new ();
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (issue->row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (issue->row), issue->message);
  subtitle = row_subtitle (issue);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (issue->row), subtitle);
  icon = gtk_image_new_from_icon_name (severity_icon (severity));
  gtk_accessible_update_property (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  issue->severity, -1);
  adw_action_row_add_prefix (ADW_ACTION_ROW (issue->row), icon);
  button = gtk_button_new_with_label ("Go to");
  go_to_label = g_strdup_printf ("Go to %s", issue->path);
  gtk_widget_set_tooltip_text (button, "Select the element in the text");
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  go_to_label, -1);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  g_signal_connect (button, "clicked", G_CALLBACK (go_to_clicked), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (issue->row), button);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (issue->row), button);
  gtk_list_box_append (self->issues_list, issue->row);
  gtk_widget_set_visible (self->issues_box, TRUE);

  g_ptr_array_add (self->issues, issue);
}

/* ---- the text's signals ------------------------------------------------------------------- */

static void
buffer_changed (GtkTextBuffer    *buffer,
                ChartaJsonEditor *self)
{
  if (self->setting)
    return;
  g_clear_handle_id (&self->check_source, g_source_remove);
  self->check_source = g_timeout_add (VALIDATE_DELAY_MS, check_timeout, self);
  g_source_set_name_by_id (self->check_source, "[charta] check the JSON text");
}

static void
text_inserted (GtkTextBuffer    *buffer,
               GtkTextIter      *location,
               const char       *text,
               int               length,
               ChartaJsonEditor *self)
{
  int to = gtk_text_iter_get_offset (location);

  if (!self->setting)
    edited (self, to - (int) g_utf8_strlen (text, length), to);
}

static void
range_deleted (GtkTextBuffer    *buffer,
               GtkTextIter      *start,
               GtkTextIter      *end,
               ChartaJsonEditor *self)
{
  int at = gtk_text_iter_get_offset (start);

  if (!self->setting)
    edited (self, at, at);
}

/* The tooltip of an underlined spot: what is wrong there. */
static gboolean
view_query_tooltip (GtkWidget        *view,
                    int               x,
                    int               y,
                    gboolean          keyboard_mode,
                    GtkTooltip       *tooltip,
                    ChartaJsonEditor *self)
{
  g_autoptr(GString) words = g_string_new (NULL);
  GtkTextIter iter, start, end;

  if (keyboard_mode)
    gtk_text_buffer_get_iter_at_mark (self->buffer, &iter,
                                      gtk_text_buffer_get_insert (self->buffer));
  else
    {
      int buffer_x, buffer_y;

      gtk_text_view_window_to_buffer_coords (self->view, GTK_TEXT_WINDOW_WIDGET, x, y,
                                             &buffer_x, &buffer_y);
      if (!gtk_text_view_get_iter_at_location (self->view, &iter, buffer_x, buffer_y))
        return FALSE;
    }
  if (self->message != NULL && gtk_text_iter_has_tag (&iter, self->fault_tag))
    g_string_append (words, self->message);
  for (unsigned i = 0; i < self->issues->len; i++)
    {
      Issue *issue = g_ptr_array_index (self->issues, i);

      if (issue->edited)
        continue;
      issue_bounds (self, issue, &start, &end);
      if (!gtk_text_iter_in_range (&iter, &start, &end))
        continue;
      g_string_append_printf (words, "%s%s: %s", words->len > 0 ? "\n" : "", issue->severity,
                              issue->message);
    }
  if (words->len == 0)
    return FALSE;
  gtk_tooltip_set_text (tooltip, words->str);
  return TRUE;
}

/* Enter keeps the indentation of the line (two spaces more after a '{' or '['). */
static gboolean
view_key_pressed (GtkEventControllerKey *controller,
                  guint                  keyval,
                  guint                  keycode,
                  GdkModifierType        state,
                  ChartaJsonEditor      *self)
{
  GtkTextIter cursor, iter;
  g_autoptr(GString) text = g_string_new ("\n");
  int indent = 0;

  if ((keyval != GDK_KEY_Return && keyval != GDK_KEY_KP_Enter)
      || (state & gtk_accelerator_get_default_mod_mask ()) != 0
      || !gtk_text_view_get_editable (self->view))
    return FALSE;

  gtk_text_buffer_get_iter_at_mark (self->buffer, &cursor,
                                    gtk_text_buffer_get_insert (self->buffer));
  iter = cursor;
  gtk_text_iter_set_line_offset (&iter, 0);
  while (gtk_text_iter_compare (&iter, &cursor) < 0 && gtk_text_iter_get_char (&iter) == ' ')
    {
      indent++;
      gtk_text_iter_forward_char (&iter);
    }
  iter = cursor;
  if (gtk_text_iter_backward_char (&iter)
      && (gtk_text_iter_get_char (&iter) == '{' || gtk_text_iter_get_char (&iter) == '['))
    indent += 2;
  for (int i = 0; i < indent; i++)
    g_string_append_c (text, ' ');

  gtk_text_buffer_begin_user_action (self->buffer);
  gtk_text_buffer_delete_selection (self->buffer, TRUE, TRUE);
  gtk_text_buffer_insert_interactive_at_cursor (self->buffer, text->str, (int) text->len, TRUE);
  gtk_text_buffer_end_user_action (self->buffer);
  gtk_text_view_scroll_mark_onscreen (self->view, gtk_text_buffer_get_insert (self->buffer));
  return TRUE;
}

/* ---- the API ------------------------------------------------------------------------------ */

GtkWidget *
charta_json_editor_new (void)
{
  return g_object_new (CHARTA_TYPE_JSON_EDITOR, NULL);
}

void
charta_json_editor_set_resource (ChartaJsonEditor *self,
                                 JsonNode         *resource,
                                 GHashTable       *number_texts)
{
  g_autofree char *text = NULL;
  GtkTextIter start;

  g_return_if_fail (CHARTA_IS_JSON_EDITOR (self));
  g_return_if_fail (resource == NULL || JSON_NODE_HOLDS_OBJECT (resource));

  clear_issues (self);
  g_clear_pointer (&self->type, g_free);
  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->initial_text, g_free);
  g_clear_pointer (&self->initial_compact, g_free);
  self->is_set = resource != NULL;
  if (resource != NULL)
    {
      JsonObject *object = json_node_get_object (resource);

      self->type = g_strdup (charta_json_get_string (object, "resourceType"));
      self->id = g_strdup (charta_json_get_string (object, "id"));
      text = charta_json_write_pretty (resource, number_texts);
    }
  self->initial_text = g_strdup (text != NULL ? text : "");

  self->setting = TRUE;
  gtk_text_buffer_begin_irreversible_action (self->buffer);
  gtk_text_buffer_set_text (self->buffer, self->initial_text, -1);
  gtk_text_buffer_end_irreversible_action (self->buffer);
  self->setting = FALSE;
  gtk_text_buffer_get_start_iter (self->buffer, &start);
  gtk_text_buffer_place_cursor (self->buffer, &start);
  gtk_text_view_set_editable (self->view, self->is_set);

  self->taking_initial = TRUE;
  check_now (self);
}

JsonNode *
charta_json_editor_get_resource (ChartaJsonEditor *self)
{
  g_return_val_if_fail (CHARTA_IS_JSON_EDITOR (self), NULL);

  flush (self);
  return self->resource;
}

GHashTable *
charta_json_editor_get_number_texts (ChartaJsonEditor *self)
{
  g_return_val_if_fail (CHARTA_IS_JSON_EDITOR (self), NULL);

  flush (self);
  return self->number_texts;
}

const char *
charta_json_editor_get_message (ChartaJsonEditor *self)
{
  g_return_val_if_fail (CHARTA_IS_JSON_EDITOR (self), NULL);

  flush (self);
  return self->message;
}

gboolean
charta_json_editor_is_valid (ChartaJsonEditor *self)
{
  g_return_val_if_fail (CHARTA_IS_JSON_EDITOR (self), FALSE);

  flush (self);
  return self->valid;
}

gboolean
charta_json_editor_is_changed (ChartaJsonEditor *self)
{
  g_return_val_if_fail (CHARTA_IS_JSON_EDITOR (self), FALSE);

  flush (self);
  return self->changed;
}

unsigned
charta_json_editor_show_outcome (ChartaJsonEditor *self,
                                 JsonNode         *outcome)
{
  g_autofree char *text = NULL;
  JsonArray *issues;
  unsigned placed = 0;

  g_return_val_if_fail (CHARTA_IS_JSON_EDITOR (self), 0);

  clear_issues (self);
  issues = outcome != NULL && JSON_NODE_HOLDS_OBJECT (outcome)
             ? charta_json_get_array (json_node_get_object (outcome), "issue")
             : NULL;
  text = buffer_text (self);
  for (unsigned i = 0; issues != NULL && i < json_array_get_length (issues); i++)
    {
      JsonNode *node = json_array_get_element (issues, i);
      JsonObject *issue;
      const char *severity;
      char *path = NULL, *message = NULL;
      size_t start, end;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      issue = json_node_get_object (node);
      severity = charta_json_get_string (issue, "severity");
      if (issue_element (issue, text, &start, &end, &path, &message))
        {
          add_issue (self, text, start, end, severity, path, message);
          placed++;
          continue;
        }
      add_unplaced (self, severity, path, message);
      g_free (path);
      g_free (message);
    }
  mark_issues (self);
  g_debug ("%u issues at their elements, %u elsewhere", placed,
           issues != NULL ? json_array_get_length (issues) - placed : 0);
  return placed;
}

/* ---- the object --------------------------------------------------------------------------- */

static void
charta_json_editor_dispose (GObject *object)
{
  ChartaJsonEditor *self = CHARTA_JSON_EDITOR (object);

  g_clear_handle_id (&self->check_source, g_source_remove);
  if (self->buffer != NULL)
    {
      clear_issues (self);
      g_signal_handlers_disconnect_by_data (self->buffer, self);
      g_clear_object (&self->buffer);
    }

  G_OBJECT_CLASS (charta_json_editor_parent_class)->dispose (object);
}

static void
charta_json_editor_finalize (GObject *object)
{
  ChartaJsonEditor *self = CHARTA_JSON_EDITOR (object);

  g_free (self->type);
  g_free (self->id);
  g_free (self->initial_text);
  g_free (self->initial_compact);
  g_clear_pointer (&self->resource, json_node_unref);
  g_clear_pointer (&self->number_texts, g_hash_table_unref);
  g_free (self->message);
  g_ptr_array_unref (self->issues);

  G_OBJECT_CLASS (charta_json_editor_parent_class)->finalize (object);
}

static void
charta_json_editor_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  ChartaJsonEditor *self = CHARTA_JSON_EDITOR (object);

  switch (prop_id)
    {
    case PROP_VALID:
      g_value_set_boolean (value, charta_json_editor_is_valid (self));
      break;
    case PROP_CHANGED:
      g_value_set_boolean (value, charta_json_editor_is_changed (self));
      break;
    case PROP_MESSAGE:
      g_value_set_string (value, charta_json_editor_get_message (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_json_editor_class_init (ChartaJsonEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = charta_json_editor_dispose;
  object_class->finalize = charta_json_editor_finalize;
  object_class->get_property = charta_json_editor_get_property;

  properties[PROP_VALID] =
    g_param_spec_boolean ("valid", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CHANGED] =
    g_param_spec_boolean ("changed", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_MESSAGE] =
    g_param_spec_string ("message", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
charta_json_editor_init (ChartaJsonEditor *self)
{
  static const GdkRGBA red = { 0.878f, 0.106f, 0.141f, 1.0f };        /* #e01b24 */
  static const GdkRGBA red_wash = { 0.878f, 0.106f, 0.141f, 0.18f };
  static const GdkRGBA amber_wash = { 0.898f, 0.647f, 0.039f, 0.25f }; /* #e5a50a */
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *heading = gtk_label_new ("What the server found");
  GtkEventController *keys = gtk_event_controller_key_new ();

  self->issues = g_ptr_array_new_with_free_func ((GDestroyNotify) issue_free);

  /* What is wrong with the text, in words above it. */
  self->problem_label = GTK_LABEL (gtk_label_new (NULL));
  self->problem_box = GTK_WIDGET (self->problem_label);
  gtk_widget_set_name (self->problem_box, "problem");
  gtk_widget_add_css_class (self->problem_box, "error");
  gtk_widget_add_css_class (self->problem_box, "heading");
  gtk_label_set_wrap (self->problem_label, TRUE);
  gtk_label_set_wrap_mode (self->problem_label, PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (self->problem_label, 0);
  gtk_label_set_selectable (self->problem_label, TRUE);
  gtk_widget_set_margin_bottom (self->problem_box, 6);
  gtk_widget_set_visible (self->problem_box, FALSE);
  gtk_box_append (GTK_BOX (box), self->problem_box);

  /* The issues whose element is not in the text.  Always visible, empty when there are none:
   * in GTK 4.8 a box that was hidden when the window was first shown measures the wrapping
   * labels put into it later as one line each. */
  self->unplaced_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_name (self->unplaced_box, "unplaced-issues");
  gtk_box_append (GTK_BOX (box), self->unplaced_box);

  /* The text. */
  self->view = GTK_TEXT_VIEW (gtk_text_view_new ());
  self->buffer = g_object_ref (gtk_text_view_get_buffer (self->view));
  gtk_text_view_set_monospace (self->view, TRUE);
  gtk_text_view_set_wrap_mode (self->view, GTK_WRAP_WORD_CHAR);
  /* Tab leaves the text (a keyboard user must be able to), JSON needs no tabs. */
  gtk_text_view_set_accepts_tab (self->view, FALSE);
  gtk_text_view_set_left_margin (self->view, 6);
  gtk_text_view_set_right_margin (self->view, 6);
  gtk_text_view_set_top_margin (self->view, 6);
  gtk_text_view_set_bottom_margin (self->view, 6);
  gtk_text_view_set_editable (self->view, FALSE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->view), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Record as JSON", -1);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self->view), TRUE);
  g_signal_connect (self->view, "query-tooltip", G_CALLBACK (view_query_tooltip), self);
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (view_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self->view), keys);
  self->fault_tag = gtk_text_buffer_create_tag (self->buffer, "fault",
                                                "underline", PANGO_UNDERLINE_ERROR,
                                                "underline-rgba", &red,
                                                "background-rgba", &red_wash,
                                                NULL);
  /* What the server found, in amber: it is not (yet) the text's fault. */
  self->issue_tag = gtk_text_buffer_create_tag (self->buffer, "issue",
                                                "underline", PANGO_UNDERLINE_ERROR,
                                                "underline-rgba", &red,
                                                "background-rgba", &amber_wash,
                                                NULL);
  g_signal_connect (self->buffer, "changed", G_CALLBACK (buffer_changed), self);
  g_signal_connect_after (self->buffer, "insert-text", G_CALLBACK (text_inserted), self);
  g_signal_connect_after (self->buffer, "delete-range", G_CALLBACK (range_deleted), self);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), GTK_WIDGET (self->view));
  gtk_scrolled_window_set_has_frame (GTK_SCROLLED_WINDOW (scrolled), TRUE);
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (scrolled), 160);
  gtk_widget_set_vexpand (scrolled, TRUE);
  gtk_box_append (GTK_BOX (box), scrolled);

  /* The issues at their elements, below it. */
  self->issues_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_name (self->issues_box, "issues");
  gtk_widget_set_margin_top (self->issues_box, 12);
  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_widget_add_css_class (heading, "heading");
  gtk_box_append (GTK_BOX (self->issues_box), heading);
  self->issues_list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->issues_list, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->issues_list), "boxed-list");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->issues_list),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, "What the server found", -1);
  gtk_box_append (GTK_BOX (self->issues_box), GTK_WIDGET (self->issues_list));
  gtk_widget_set_visible (self->issues_box, FALSE);
  gtk_box_append (GTK_BOX (box), self->issues_box);

  gtk_accessible_update_relation (GTK_ACCESSIBLE (self->view),
                                  GTK_ACCESSIBLE_RELATION_DESCRIBED_BY,
                                  self->problem_label, self->unplaced_box, self->issues_list,
                                  NULL, -1);
  adw_bin_set_child (ADW_BIN (self), box);
}
