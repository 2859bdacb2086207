/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-fhirpath-parser.c: FHIRPath text to a compiled tree, and the compiled-expression
 * object (reference counting, the process-wide cache).
 *
 * A hand-written lexer feeds a recursive-descent parser that climbs the FHIRPath operator
 * precedence table (N1 §"Operator precedence"):
 *
 *   postfix . []  >  unary + -  >  * / div mod  >  + - &  >  is as  >  |  >  < > <= >=
 *   >  = ~ != !~  >  in contains  >  and  >  xor or  >  implies
 *
 * Keywords (and, div, contains, is, …) are ordinary identifiers to the lexer; the parser treats
 * them as operators only where an operator may stand, so `contains(…)` and `.as(…)` remain
 * function calls.  Every syntax error names the expression and the character offset.  Function
 * names are checked here: an unknown one is CHARTA_FHIR_ERROR_UNSUPPORTED at compile time.
 */
#define G_LOG_DOMAIN "charta-fhirpath"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "charta-fhir-error.h"
#include "charta-fhirpath-private.h"

typedef enum
{
  TOK_EOF,
  TOK_IDENT,        /* plain identifier (may be a keyword) */
  TOK_DELIMITED,    /* `identifier` */
  TOK_STRING,       /* 'text', unescaped */
  TOK_INTEGER,
  TOK_DECIMAL,
  TOK_DATE,         /* @2015-02-04 (text without '@') */
  TOK_DATETIME,     /* @2015-02-04T14:34 */
  TOK_TIME,         /* @T14:34 (text without "@T") */
  TOK_EXTERNAL,     /* %name, %`name` or %'name' (text without '%') */
  TOK_SPECIAL,      /* $this, $index, $total (text without '$') */
  TOK_DOT, TOK_COMMA, TOK_LPAREN, TOK_RPAREN, TOK_LBRACKET, TOK_RBRACKET, TOK_LBRACE,
  TOK_RBRACE, TOK_PLUS, TOK_MINUS, TOK_STAR, TOK_SLASH, TOK_AMP, TOK_PIPE, TOK_EQ, TOK_NE,
  TOK_EQUIV, TOK_NEQUIV, TOK_LT, TOK_GT, TOK_LE, TOK_GE,
} TokenKind;

typedef struct
{
  TokenKind kind;
  unsigned start;   /* offset in the expression */
  char *text;       /* IDENT, DELIMITED, STRING, numbers, dates, EXTERNAL, SPECIAL (chunk) */
} Token;

typedef struct
{
  ChartaFhirPath *self;
  const char *src;
  size_t len;
  size_t pos;
  Token tok;        /* current token */
  Token next;       /* one token of lookahead */
  gboolean has_next;
  GError **error;
  unsigned depth;
} Parser;

#define MAX_DEPTH 200
/* The tallest tree accepted: evaluation recurses once per level, so a chain of 100,000 '.' or
 * '+' must be refused, not overflow the stack. */
#define MAX_HEIGHT 300

static const struct
{
  const char *name;
  FpFunction code;
  unsigned min_args;
  unsigned max_args;
} functions[] = {
  { "empty", FP_FN_EMPTY, 0, 0 },
  { "exists", FP_FN_EXISTS, 0, 1 },
  { "all", FP_FN_ALL, 1, 1 },
  { "allTrue", FP_FN_ALL_TRUE, 0, 0 },
  { "anyTrue", FP_FN_ANY_TRUE, 0, 0 },
  { "allFalse", FP_FN_ALL_FALSE, 0, 0 },
  { "anyFalse", FP_FN_ANY_FALSE, 0, 0 },
  { "subsetOf", FP_FN_SUBSET_OF, 1, 1 },
  { "supersetOf", FP_FN_SUPERSET_OF, 1, 1 },
  { "count", FP_FN_COUNT, 0, 0 },
  { "distinct", FP_FN_DISTINCT, 0, 0 },
  { "isDistinct", FP_FN_IS_DISTINCT, 0, 0 },
  { "where", FP_FN_WHERE, 1, 1 },
  { "select", FP_FN_SELECT, 1, 1 },
  { "repeat", FP_FN_REPEAT, 1, 1 },
  { "ofType", FP_FN_OF_TYPE, 1, 1 },
  { "single", FP_FN_SINGLE, 0, 0 },
  { "first", FP_FN_FIRST, 0, 0 },
  { "last", FP_FN_LAST, 0, 0 },
  { "tail", FP_FN_TAIL, 0, 0 },
  { "skip", FP_FN_SKIP, 1, 1 },
  { "take", FP_FN_TAKE, 1, 1 },
  { "intersect", FP_FN_INTERSECT, 1, 1 },
  { "exclude", FP_FN_EXCLUDE, 1, 1 },
  { "union", FP_FN_UNION, 1, 1 },
  { "combine", FP_FN_COMBINE, 1, 1 },
  { "iif", FP_FN_IIF, 2, 3 },
  { "toBoolean", FP_FN_TO_BOOLEAN, 0, 0 },
  { "convertsToBoolean", FP_FN_CONVERTS_TO_BOOLEAN, 0, 0 },
  { "toInteger", FP_FN_TO_INTEGER, 0, 0 },
  { "convertsToInteger", FP_FN_CONVERTS_TO_INTEGER, 0, 0 },
  { "toDecimal", FP_FN_TO_DECIMAL, 0, 0 },
  { "convertsToDecimal", FP_FN_CONVERTS_TO_DECIMAL, 0, 0 },
  { "toString", FP_FN_TO_STRING, 0, 0 },
  { "convertsToString", FP_FN_CONVERTS_TO_STRING, 0, 0 },
  { "toDate", FP_FN_TO_DATE, 0, 0 },
  { "convertsToDate", FP_FN_CONVERTS_TO_DATE, 0, 0 },
  { "toDateTime", FP_FN_TO_DATETIME, 0, 0 },
  { "convertsToDateTime", FP_FN_CONVERTS_TO_DATETIME, 0, 0 },
  { "toTime", FP_FN_TO_TIME, 0, 0 },
  { "convertsToTime", FP_FN_CONVERTS_TO_TIME, 0, 0 },
  { "toQuantity", FP_FN_TO_QUANTITY, 0, 1 },
  { "convertsToQuantity", FP_FN_CONVERTS_TO_QUANTITY, 0, 1 },
  { "indexOf", FP_FN_INDEX_OF, 1, 1 },
  { "substring", FP_FN_SUBSTRING, 1, 2 },
  { "startsWith", FP_FN_STARTS_WITH, 1, 1 },
  { "endsWith", FP_FN_ENDS_WITH, 1, 1 },
  { "contains", FP_FN_CONTAINS, 1, 1 },
  { "upper", FP_FN_UPPER, 0, 0 },
  { "lower", FP_FN_LOWER, 0, 0 },
  { "replace", FP_FN_REPLACE, 2, 2 },
  { "matches", FP_FN_MATCHES, 1, 1 },
  { "matchesFull", FP_FN_MATCHES_FULL, 1, 1 },
  { "replaceMatches", FP_FN_REPLACE_MATCHES, 2, 2 },
  { "length", FP_FN_LENGTH, 0, 0 },
  { "toChars", FP_FN_TO_CHARS, 0, 0 },
  { "trim", FP_FN_TRIM, 0, 0 },
  { "split", FP_FN_SPLIT, 1, 1 },
  { "join", FP_FN_JOIN, 0, 1 },
  { "encode", FP_FN_ENCODE, 1, 1 },
  { "decode", FP_FN_DECODE, 1, 1 },
  { "escape", FP_FN_ESCAPE, 1, 1 },
  { "unescape", FP_FN_UNESCAPE, 1, 1 },
  { "abs", FP_FN_ABS, 0, 0 },
  { "ceiling", FP_FN_CEILING, 0, 0 },
  { "exp", FP_FN_EXP, 0, 0 },
  { "floor", FP_FN_FLOOR, 0, 0 },
  { "ln", FP_FN_LN, 0, 0 },
  { "log", FP_FN_LOG, 1, 1 },
  { "power", FP_FN_POWER, 1, 1 },
  { "round", FP_FN_ROUND, 0, 1 },
  { "sqrt", FP_FN_SQRT, 0, 0 },
  { "truncate", FP_FN_TRUNCATE, 0, 0 },
  { "children", FP_FN_CHILDREN, 0, 0 },
  { "descendants", FP_FN_DESCENDANTS, 0, 0 },
  { "trace", FP_FN_TRACE, 1, 2 },
  { "now", FP_FN_NOW, 0, 0 },
  { "today", FP_FN_TODAY, 0, 0 },
  { "timeOfDay", FP_FN_TIME_OF_DAY, 0, 0 },
  { "not", FP_FN_NOT, 0, 0 },
  { "aggregate", FP_FN_AGGREGATE, 1, 2 },
  { "sort", FP_FN_SORT, 0, 8 },
  { "is", FP_FN_IS, 1, 1 },
  { "as", FP_FN_AS, 1, 1 },
  { "type", FP_FN_TYPE, 0, 0 },
  { "extension", FP_FN_EXTENSION, 1, 1 },
  { "hasValue", FP_FN_HAS_VALUE, 0, 0 },
  { "getValue", FP_FN_GET_VALUE, 0, 0 },
  { "resolve", FP_FN_RESOLVE, 0, 0 },
  { "memberOf", FP_FN_MEMBER_OF, 1, 1 },
  { "conformsTo", FP_FN_CONFORMS_TO, 1, 1 },
  { "htmlChecks", FP_FN_HTML_CHECKS, 0, 0 },
  { "htmlchecks", FP_FN_HTML_CHECKS, 0, 0 },
  { "lowBoundary", FP_FN_LOW_BOUNDARY, 0, 1 },
  { "highBoundary", FP_FN_HIGH_BOUNDARY, 0, 1 },
  { "precision", FP_FN_PRECISION, 0, 0 },
  { "comparable", FP_FN_COMPARABLE, 1, 1 },
};

static gboolean
fail (Parser     *p,
      unsigned    position,
      const char *fmt,
      ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (Parser     *p,
      unsigned    position,
      const char *fmt,
      ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  if (p->error != NULL && *p->error != NULL)
    return FALSE;
  va_start (args, fmt);
  msg = g_strdup_vprintf (fmt, args);
  va_end (args);
  g_set_error (p->error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_FHIRPATH_SYNTAX,
               "FHIRPath \"%s\": %s at offset %u", p->src, msg, position);
  return FALSE;
}

/* --- lexer ------------------------------------------------------------------------------ */

static gboolean
is_ident_start (char c)
{
  return g_ascii_isalpha (c) || c == '_';
}

static gboolean
is_ident_char (char c)
{
  return g_ascii_isalnum (c) || c == '_';
}

static char *
chunk (Parser     *p,
       const char *text,
       size_t      len)
{
  return g_string_chunk_insert_len (p->self->strings, text, len);
}

static gboolean
skip_space_and_comments (Parser *p)
{
  for (;;)
    {
      while (p->pos < p->len && g_ascii_isspace (p->src[p->pos]))
        p->pos++;
      if (p->pos + 1 < p->len && p->src[p->pos] == '/' && p->src[p->pos + 1] == '/')
        {
          while (p->pos < p->len && p->src[p->pos] != '\n')
            p->pos++;
          continue;
        }
      if (p->pos + 1 < p->len && p->src[p->pos] == '/' && p->src[p->pos + 1] == '*')
        {
          const char *end = g_strstr_len (p->src + p->pos + 2, p->len - p->pos - 2, "*/");
          if (end == NULL)
            return fail (p, p->pos, "unterminated comment");
          p->pos = end - p->src + 2;
          continue;
        }
      return TRUE;
    }
}

/* Reads a quoted string or delimited identifier starting at the quote; unescapes it. */
static gboolean
lex_quoted (Parser  *p,
            char     quote,
            char   **out)
{
  unsigned start = p->pos;
  g_autoptr(GString) s = g_string_new (NULL);

  p->pos++;
  while (p->pos < p->len && p->src[p->pos] != quote)
    {
      char c = p->src[p->pos++];

      if (c != '\\')
        {
          g_string_append_c (s, c);
          continue;
        }
      if (p->pos >= p->len)
        break;
      c = p->src[p->pos++];
      switch (c)
        {
        case '\'': case '"': case '`': case '\\': case '/':
          g_string_append_c (s, c);
          break;
        case 'f': g_string_append_c (s, '\f'); break;
        case 'n': g_string_append_c (s, '\n'); break;
        case 'r': g_string_append_c (s, '\r'); break;
        case 't': g_string_append_c (s, '\t'); break;
        case 'u':
          {
            gunichar u = 0;

            for (int i = 0; i < 4; i++)
              {
                if (p->pos >= p->len || !g_ascii_isxdigit (p->src[p->pos]))
                  return fail (p, p->pos, "bad \\u escape");
                u = u * 16 + g_ascii_xdigit_value (p->src[p->pos++]);
              }
            g_string_append_unichar (s, u);
            break;
          }
        default:
          return fail (p, p->pos - 2, "unknown escape \\%c", c);
        }
    }
  if (p->pos >= p->len)
    return fail (p, start, "unterminated %s", quote == '`' ? "identifier" : "string");
  p->pos++;
  *out = chunk (p, s->str, s->len);
  return TRUE;
}

static size_t
count_digits (Parser *p,
              size_t  at)
{
  size_t n = 0;

  while (at + n < p->len && g_ascii_isdigit (p->src[at + n]))
    n++;
  return n;
}

/* hh(:mm(:ss(.fff)?)?)? at p->pos; returns FALSE when there are not two digits. */
static gboolean
lex_time_part (Parser *p)
{
  if (count_digits (p, p->pos) != 2)
    return FALSE;
  p->pos += 2;
  if (p->pos < p->len && p->src[p->pos] == ':' && count_digits (p, p->pos + 1) == 2)
    {
      p->pos += 3;
      if (p->pos < p->len && p->src[p->pos] == ':' && count_digits (p, p->pos + 1) == 2)
        {
          p->pos += 3;
          if (p->pos < p->len && p->src[p->pos] == '.' && count_digits (p, p->pos + 1) > 0)
            p->pos += 1 + count_digits (p, p->pos + 1);
        }
    }
  return TRUE;
}

static gboolean
lex_date (Parser *p,
          Token  *t)
{
  size_t start;

  p->pos++; /* '@' */
  start = p->pos;
  if (p->pos < p->len && p->src[p->pos] == 'T')
    {
      p->pos++;
      if (!lex_time_part (p))
        return fail (p, t->start, "malformed time literal");
      t->kind = TOK_TIME;
      t->text = chunk (p, p->src + start + 1, p->pos - start - 1);
      return TRUE;
    }
  if (count_digits (p, p->pos) != 4)
    return fail (p, t->start, "malformed date literal");
  p->pos += 4;
  if (p->pos < p->len && p->src[p->pos] == '-' && count_digits (p, p->pos + 1) == 2)
    {
      p->pos += 3;
      if (p->pos < p->len && p->src[p->pos] == '-' && count_digits (p, p->pos + 1) == 2)
        p->pos += 3;
    }
  t->kind = TOK_DATE;
  if (p->pos < p->len && p->src[p->pos] == 'T')
    {
      size_t date_end = p->pos;

      t->kind = TOK_DATETIME;
      p->pos++;
      if (lex_time_part (p))
        {
          if (p->pos < p->len && p->src[p->pos] == 'Z')
            p->pos++;
          else if (p->pos < p->len && (p->src[p->pos] == '+' || p->src[p->pos] == '-') &&
                   count_digits (p, p->pos + 1) == 2 && p->pos + 3 < p->len &&
                   p->src[p->pos + 3] == ':' && count_digits (p, p->pos + 4) == 2)
            p->pos += 6;
          t->text = chunk (p, p->src + start, p->pos - start);
        }
      else
        t->text = chunk (p, p->src + start, date_end - start);
      return TRUE;
    }
  t->text = chunk (p, p->src + start, p->pos - start);
  return TRUE;
}

static gboolean
lex (Parser *p,
     Token  *t)
{
  char c;

  t->text = NULL;
  if (!skip_space_and_comments (p))
    return FALSE;
  t->start = p->pos;
  if (p->pos >= p->len)
    {
      t->kind = TOK_EOF;
      return TRUE;
    }
  c = p->src[p->pos];

  if (is_ident_start (c))
    {
      size_t start = p->pos;

      while (p->pos < p->len && is_ident_char (p->src[p->pos]))
        p->pos++;
      t->kind = TOK_IDENT;
      t->text = chunk (p, p->src + start, p->pos - start);
      return TRUE;
    }
  if (g_ascii_isdigit (c))
    {
      size_t start = p->pos;

      p->pos += count_digits (p, p->pos);
      t->kind = TOK_INTEGER;
      if (p->pos + 1 < p->len && p->src[p->pos] == '.' && g_ascii_isdigit (p->src[p->pos + 1]))
        {
          p->pos += 1 + count_digits (p, p->pos + 1);
          t->kind = TOK_DECIMAL;
        }
      t->text = chunk (p, p->src + start, p->pos - start);
      return TRUE;
    }

  switch (c)
    {
    case '\'':
      t->kind = TOK_STRING;
      return lex_quoted (p, '\'', &t->text);
    case '`':
      t->kind = TOK_DELIMITED;
      return lex_quoted (p, '`', &t->text);
    case '@':
      return lex_date (p, t);
    case '%':
      p->pos++;
      t->kind = TOK_EXTERNAL;
      if (p->pos < p->len && (p->src[p->pos] == '`' || p->src[p->pos] == '\'' ||
                              p->src[p->pos] == '"'))
        return lex_quoted (p, p->src[p->pos], &t->text);
      if (p->pos < p->len && is_ident_start (p->src[p->pos]))
        {
          size_t start = p->pos;

          while (p->pos < p->len && (is_ident_char (p->src[p->pos]) || p->src[p->pos] == '-'))
            p->pos++;
          t->text = chunk (p, p->src + start, p->pos - start);
          return TRUE;
        }
      return fail (p, t->start, "'%%' without a variable name");
    case '$':
      {
        size_t start = ++p->pos;

        while (p->pos < p->len && is_ident_char (p->src[p->pos]))
          p->pos++;
        t->kind = TOK_SPECIAL;
        t->text = chunk (p, p->src + start, p->pos - start);
        if (strcmp (t->text, "this") != 0 && strcmp (t->text, "index") != 0 &&
            strcmp (t->text, "total") != 0)
          return fail (p, t->start, "unknown special variable $%s", t->text);
        return TRUE;
      }
    default:
      break;
    }

  p->pos++;
  switch (c)
    {
    case '.': t->kind = TOK_DOT; return TRUE;
    case ',': t->kind = TOK_COMMA; return TRUE;
    case '(': t->kind = TOK_LPAREN; return TRUE;
    case ')': t->kind = TOK_RPAREN; return TRUE;
    case '[': t->kind = TOK_LBRACKET; return TRUE;
    case ']': t->kind = TOK_RBRACKET; return TRUE;
    case '{': t->kind = TOK_LBRACE; return TRUE;
    case '}': t->kind = TOK_RBRACE; return TRUE;
    case '+': t->kind = TOK_PLUS; return TRUE;
    case '-': t->kind = TOK_MINUS; return TRUE;
    case '*': t->kind = TOK_STAR; return TRUE;
    case '/': t->kind = TOK_SLASH; return TRUE;
    case '&': t->kind = TOK_AMP; return TRUE;
    case '|': t->kind = TOK_PIPE; return TRUE;
    case '=': t->kind = TOK_EQ; return TRUE;
    case '~': t->kind = TOK_EQUIV; return TRUE;
    case '!':
      if (p->pos < p->len && p->src[p->pos] == '=')
        {
          p->pos++;
          t->kind = TOK_NE;
          return TRUE;
        }
      if (p->pos < p->len && p->src[p->pos] == '~')
        {
          p->pos++;
          t->kind = TOK_NEQUIV;
          return TRUE;
        }
      break;
    case '<':
      t->kind = TOK_LT;
      if (p->pos < p->len && p->src[p->pos] == '=')
        {
          p->pos++;
          t->kind = TOK_LE;
        }
      return TRUE;
    case '>':
      t->kind = TOK_GT;
      if (p->pos < p->len && p->src[p->pos] == '=')
        {
          p->pos++;
          t->kind = TOK_GE;
        }
      return TRUE;
    default:
      break;
    }
  return fail (p, t->start, "unexpected character '%c'", c);
}

static gboolean
advance (Parser *p)
{
  if (p->has_next)
    {
      p->tok = p->next;
      p->has_next = FALSE;
      return TRUE;
    }
  return lex (p, &p->tok);
}

static const Token *
peek (Parser *p)
{
  if (!p->has_next)
    {
      if (!lex (p, &p->next))
        return NULL;
      p->has_next = TRUE;
    }
  return &p->next;
}

static gboolean
is_keyword (const Token *t,
            const char  *word)
{
  return t->kind == TOK_IDENT && strcmp (t->text, word) == 0;
}

/* --- tree building ------------------------------------------------------------------------ */

static FpNode *
node_new (Parser     *p,
          FpNodeKind  kind,
          unsigned    position)
{
  FpNode *node = g_new0 (FpNode, 1);

  node->kind = kind;
  node->position = position;
  node->height = 1;
  node->literal.type = -1;
  node->literal.index = -1;
  node->type_spec.model_type = -1;
  node->type_spec.system_kind = -1;
  g_ptr_array_add (p->self->nodes, node);
  return node;
}

/* Sets @node's height from its children; NULL (with the error set) when it is too tall. */
static FpNode *
check_height (Parser *p,
              FpNode *node)
{
  unsigned h = 0;

  if (node->left != NULL)
    h = MAX (h, node->left->height);
  if (node->right != NULL)
    h = MAX (h, node->right->height);
  for (unsigned i = 0; i < node->n_args; i++)
    h = MAX (h, node->args[i]->height);
  node->height = h + 1;
  if (node->height > MAX_HEIGHT)
    {
      fail (p, node->position, "expression nested too deeply");
      return NULL;
    }
  return node;
}

static FpNode *
binary_new (Parser *p,
            FpOp    op,
            FpNode *left,
            FpNode *right,
            unsigned position)
{
  FpNode *node = node_new (p, FP_NODE_BINARY, position);

  node->op = op;
  node->left = left;
  node->right = right;
  return check_height (p, node);
}

static FpNode *parse_expression (Parser *p, int level);

/* Binary operator levels, lowest first. */
enum
{
  LEVEL_IMPLIES,
  LEVEL_OR,
  LEVEL_AND,
  LEVEL_MEMBERSHIP,
  LEVEL_EQUALITY,
  LEVEL_INEQUALITY,
  LEVEL_UNION,
  LEVEL_TYPE,
  LEVEL_ADDITIVE,
  LEVEL_MULTIPLICATIVE,
  LEVEL_UNARY,
};

/* The binary operator at the current token for @level, or -1. */
static int
binary_op_at (const Token *t,
              int          level)
{
  switch (level)
    {
    case LEVEL_IMPLIES:
      return is_keyword (t, "implies") ? FP_OP_IMPLIES : -1;
    case LEVEL_OR:
      if (is_keyword (t, "or"))
        return FP_OP_OR;
      return is_keyword (t, "xor") ? FP_OP_XOR : -1;
    case LEVEL_AND:
      return is_keyword (t, "and") ? FP_OP_AND : -1;
    case LEVEL_MEMBERSHIP:
      if (is_keyword (t, "in"))
        return FP_OP_IN;
      return is_keyword (t, "contains") ? FP_OP_CONTAINS : -1;
    case LEVEL_EQUALITY:
      switch (t->kind)
        {
        case TOK_EQ: return FP_OP_EQ;
        case TOK_NE: return FP_OP_NE;
        case TOK_EQUIV: return FP_OP_EQUIV;
        case TOK_NEQUIV: return FP_OP_NEQUIV;
        default: return -1;
        }
    case LEVEL_INEQUALITY:
      switch (t->kind)
        {
        case TOK_LT: return FP_OP_LT;
        case TOK_GT: return FP_OP_GT;
        case TOK_LE: return FP_OP_LE;
        case TOK_GE: return FP_OP_GE;
        default: return -1;
        }
    case LEVEL_UNION:
      return t->kind == TOK_PIPE ? FP_OP_UNION : -1;
    case LEVEL_ADDITIVE:
      switch (t->kind)
        {
        case TOK_PLUS: return FP_OP_ADD;
        case TOK_MINUS: return FP_OP_SUB;
        case TOK_AMP: return FP_OP_CONCAT;
        default: return -1;
        }
    case LEVEL_MULTIPLICATIVE:
      if (t->kind == TOK_STAR)
        return FP_OP_MUL;
      if (t->kind == TOK_SLASH)
        return FP_OP_DIV;
      if (is_keyword (t, "div"))
        return FP_OP_INTDIV;
      return is_keyword (t, "mod") ? FP_OP_MOD : -1;
    default:
      return -1;
    }
}

static const char *const system_types[] = {
  [CHARTA_FHIRPATH_BOOLEAN] = "Boolean",
  [CHARTA_FHIRPATH_INTEGER] = "Integer",
  [CHARTA_FHIRPATH_DECIMAL] = "Decimal",
  [CHARTA_FHIRPATH_STRING] = "String",
  [CHARTA_FHIRPATH_DATE] = "Date",
  [CHARTA_FHIRPATH_DATETIME] = "DateTime",
  [CHARTA_FHIRPATH_TIME] = "Time",
  [CHARTA_FHIRPATH_QUANTITY] = "Quantity",
};

static int
system_kind_by_name (const char *name)
{
  for (unsigned i = CHARTA_FHIRPATH_BOOLEAN; i < G_N_ELEMENTS (system_types); i++)
    if (strcmp (system_types[i], name) == 0)
      return (int) i;
  return -1;
}

/* Resolves a (possibly qualified) type name into @spec. */
static gboolean
resolve_type_name (Parser     *p,
                   const char *qualifier,
                   const char *name,
                   unsigned    position,
                   FpTypeSpec *spec)
{
  spec->model_type = -1;
  spec->system_kind = -1;
  if (qualifier == NULL || strcmp (qualifier, "FHIR") == 0)
    spec->model_type = charta_model_find_type (name);
  if (qualifier == NULL || strcmp (qualifier, "System") == 0)
    spec->system_kind = system_kind_by_name (name);
  if (qualifier != NULL && strcmp (qualifier, "FHIR") != 0 && strcmp (qualifier, "System") != 0)
    return fail (p, position, "unknown type namespace \"%s\"", qualifier);
  /* An unknown name in the System namespace simply never matches (System.Patient); an
   * unknown unqualified or FHIR name is a mistake in the expression. */
  if (spec->model_type < 0 && spec->system_kind < 0 &&
      (qualifier == NULL || strcmp (qualifier, "FHIR") == 0))
    return fail (p, position, "unknown type \"%s\"", name);
  return TRUE;
}

/* typeSpecifier: identifier ('.' identifier)? at the current token. */
static gboolean
parse_type_specifier (Parser     *p,
                      FpTypeSpec *spec)
{
  unsigned position = p->tok.start;
  const char *first;
  const Token *next;

  if (p->tok.kind != TOK_IDENT && p->tok.kind != TOK_DELIMITED)
    return fail (p, p->tok.start, "type name expected");
  first = p->tok.text;
  if (!advance (p))
    return FALSE;
  if (p->tok.kind == TOK_DOT)
    {
      next = peek (p);
      if (next == NULL)
        return FALSE;
      if (next->kind == TOK_IDENT || next->kind == TOK_DELIMITED)
        {
          const char *second;

          if (!advance (p))
            return FALSE;
          second = p->tok.text;
          if (!advance (p))
            return FALSE;
          return resolve_type_name (p, first, second, position, spec);
        }
    }
  return resolve_type_name (p, NULL, first, position, spec);
}

/* A function argument that names a type (`ofType(Patient)`), as an expression tree. */
static gboolean
type_spec_from_node (Parser     *p,
                     FpNode     *arg,
                     FpTypeSpec *spec)
{
  if (arg->kind == FP_NODE_MEMBER)
    return resolve_type_name (p, NULL, arg->name, arg->position, spec);
  if (arg->kind == FP_NODE_DOT && arg->left->kind == FP_NODE_MEMBER &&
      arg->right->kind == FP_NODE_MEMBER)
    return resolve_type_name (p, arg->left->name, arg->right->name, arg->position, spec);
  return fail (p, arg->position, "type name expected");
}

static FpNode *
parse_function (Parser     *p,
                const char *name,
                unsigned    position)
{
  FpNode *node;
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  unsigned i;

  for (i = 0; i < G_N_ELEMENTS (functions); i++)
    if (strcmp (functions[i].name, name) == 0)
      break;
  if (i == G_N_ELEMENTS (functions))
    {
      if (p->error != NULL && *p->error == NULL)
        g_set_error (p->error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_UNSUPPORTED,
                     "FHIRPath \"%s\": function %s() is not supported (offset %u)",
                     p->src, name, position);
      return NULL;
    }

  node = node_new (p, FP_NODE_FUNCTION, position);
  node->function = functions[i].code;
  if (!advance (p)) /* '(' */
    return NULL;
  if (p->tok.kind != TOK_RPAREN)
    {
      for (;;)
        {
          FpNode *arg = parse_expression (p, LEVEL_IMPLIES);

          if (arg == NULL)
            return NULL;
          g_ptr_array_add (args, arg);
          if (p->tok.kind == TOK_COMMA)
            {
              if (!advance (p))
                return NULL;
              continue;
            }
          if (p->tok.kind != TOK_RPAREN)
            {
              fail (p, p->tok.start, "',' or ')' expected in the arguments of %s()", name);
              return NULL;
            }
          break;
        }
    }
  if (!advance (p)) /* ')' */
    return NULL;

  if (args->len < functions[i].min_args || args->len > functions[i].max_args)
    {
      if (functions[i].min_args == functions[i].max_args)
        fail (p, position, "%s() takes %u argument%s, not %u", name, functions[i].min_args,
              functions[i].min_args == 1 ? "" : "s", args->len);
      else
        fail (p, position, "%s() takes %u to %u arguments, not %u", name,
              functions[i].min_args, functions[i].max_args, args->len);
      return NULL;
    }
  node->n_args = args->len;
  node->args = (FpNode **) g_ptr_array_free (g_steal_pointer (&args), FALSE);
  if (check_height (p, node) == NULL)
    return NULL;

  if (node->function == FP_FN_IS || node->function == FP_FN_AS ||
      node->function == FP_FN_OF_TYPE)
    {
      if (!type_spec_from_node (p, node->args[0], &node->type_spec))
        return NULL;
    }
  return node;
}

static FpNode *
member_new (Parser     *p,
            const char *name,
            unsigned    position)
{
  FpNode *node = node_new (p, FP_NODE_MEMBER, position);

  node->name = (char *) g_intern_string (name);
  return node;
}

/* Constant external variables become string literals. */
static FpNode *
parse_external (Parser *p)
{
  const char *name = p->tok.text;
  unsigned position = p->tok.start;
  FpNode *node;
  const char *value = NULL;
  g_autofree char *built = NULL;

  if (strcmp (name, "resource") == 0 || strcmp (name, "rootResource") == 0 ||
      strcmp (name, "context") == 0)
    {
      node = node_new (p, FP_NODE_VARIABLE, position);
      node->variable = name[0] == 'c' ? FP_VAR_CONTEXT :
                       name[0] == 'r' && name[1] == 'o' ? FP_VAR_ROOT_RESOURCE :
                       FP_VAR_RESOURCE;
      return advance (p) ? node : NULL;
    }
  if (strcmp (name, "ucum") == 0)
    value = "http://unitsofmeasure.org";
  else if (strcmp (name, "sct") == 0)
    value = "http://snomed.info/sct";
  else if (strcmp (name, "loinc") == 0)
    value = "http://loinc.org";
  else if (g_str_has_prefix (name, "vs-"))
    value = built = g_strconcat ("http://hl7.org/fhir/ValueSet/", name + 3, NULL);
  else if (g_str_has_prefix (name, "ext-"))
    value = built = g_strconcat ("http://hl7.org/fhir/StructureDefinition/", name + 4, NULL);
  else
    {
      fail (p, position, "unknown variable %%%s", name);
      return NULL;
    }
  node = node_new (p, FP_NODE_LITERAL, position);
  node->literal.kind = CHARTA_FHIRPATH_STRING;
  node->literal.string = chunk (p, value, strlen (value));
  return advance (p) ? node : NULL;
}

static gboolean
is_calendar_word (const Token *t)
{
  return t->kind == TOK_IDENT && fp_calendar_unit_normalize (t->text) != NULL;
}

static FpNode *
parse_number (Parser *p)
{
  Token t = p->tok;
  FpNode *node = node_new (p, FP_NODE_LITERAL, t.start);
  const Token *next;

  if (t.kind == TOK_INTEGER)
    {
      char *end = NULL;
      int64_t v;

      errno = 0;
      v = g_ascii_strtoll (t.text, &end, 10);
      if (errno != 0 || *end != '\0')
        {
          fail (p, t.start, "integer %s out of range", t.text);
          return NULL;
        }
      node->literal.kind = CHARTA_FHIRPATH_INTEGER;
      node->literal.integer = v;
      node->literal.decimal = (double) v;
    }
  else
    {
      node->literal.kind = CHARTA_FHIRPATH_DECIMAL;
      node->literal.decimal = g_ascii_strtod (t.text, NULL);
    }
  node->literal.string = t.text;
  if (!advance (p))
    return NULL;

  /* A quantity: the number followed by a unit string or a calendar duration keyword. */
  next = &p->tok;
  if (next->kind == TOK_STRING || is_calendar_word (next))
    {
      node->literal.kind = CHARTA_FHIRPATH_QUANTITY;
      node->literal.unit = next->text;
      if (!advance (p))
        return NULL;
    }
  return node;
}

static FpNode *
parse_term (Parser *p)
{
  Token t = p->tok;
  FpNode *node;

  switch (t.kind)
    {
    case TOK_INTEGER:
    case TOK_DECIMAL:
      return parse_number (p);

    case TOK_STRING:
      node = node_new (p, FP_NODE_LITERAL, t.start);
      node->literal.kind = CHARTA_FHIRPATH_STRING;
      node->literal.string = t.text;
      return advance (p) ? node : NULL;

    case TOK_DATE:
    case TOK_DATETIME:
    case TOK_TIME:
      {
        FpDateTime dt;
        ChartaFhirPathKind kind = t.kind == TOK_DATE ? CHARTA_FHIRPATH_DATE :
                                  t.kind == TOK_DATETIME ? CHARTA_FHIRPATH_DATETIME :
                                  CHARTA_FHIRPATH_TIME;

        if (!fp_datetime_parse (t.text, kind, &dt))
          {
            fail (p, t.start, "invalid date/time literal @%s%s",
                  kind == CHARTA_FHIRPATH_TIME ? "T" : "", t.text);
            return NULL;
          }
        node = node_new (p, FP_NODE_LITERAL, t.start);
        node->literal.kind = kind;
        node->literal.string = t.text;
        return advance (p) ? node : NULL;
      }

    case TOK_LBRACE:
      if (!advance (p))
        return NULL;
      if (p->tok.kind != TOK_RBRACE)
        {
          fail (p, p->tok.start, "'}' expected");
          return NULL;
        }
      node = node_new (p, FP_NODE_EMPTY, t.start);
      return advance (p) ? node : NULL;

    case TOK_LPAREN:
      if (!advance (p))
        return NULL;
      node = parse_expression (p, LEVEL_IMPLIES);
      if (node == NULL)
        return NULL;
      if (p->tok.kind != TOK_RPAREN)
        {
          fail (p, p->tok.start, "')' expected");
          return NULL;
        }
      return advance (p) ? node : NULL;

    case TOK_EXTERNAL:
      return parse_external (p);

    case TOK_SPECIAL:
      node = node_new (p, t.text[0] == 't' && t.text[1] == 'h' ? FP_NODE_THIS :
                          t.text[0] == 'i' ? FP_NODE_INDEX : FP_NODE_TOTAL, t.start);
      return advance (p) ? node : NULL;

    case TOK_IDENT:
      if (strcmp (t.text, "true") == 0 || strcmp (t.text, "false") == 0)
        {
          node = node_new (p, FP_NODE_LITERAL, t.start);
          node->literal.kind = CHARTA_FHIRPATH_BOOLEAN;
          node->literal.boolean = t.text[0] == 't';
          return advance (p) ? node : NULL;
        }
      G_GNUC_FALLTHROUGH;
    case TOK_DELIMITED:
      {
        const Token *next = peek (p);

        if (next == NULL)
          return NULL;
        if (t.kind == TOK_IDENT && next->kind == TOK_LPAREN)
          {
            if (!advance (p))
              return NULL;
            return parse_function (p, t.text, t.start);
          }
        node = member_new (p, t.text, t.start);
        return advance (p) ? node : NULL;
      }

    case TOK_EOF:
      fail (p, t.start, "unexpected end of expression");
      return NULL;

    default:
      fail (p, t.start, "unexpected token");
      return NULL;
    }
}

/* The part after '.': a member, a function call, or $this/$index/$total. */
static FpNode *
parse_invocation (Parser *p)
{
  Token t = p->tok;

  if (t.kind == TOK_IDENT || t.kind == TOK_DELIMITED)
    {
      const Token *next = peek (p);

      if (next == NULL)
        return NULL;
      if (t.kind == TOK_IDENT && next->kind == TOK_LPAREN)
        {
          if (!advance (p))
            return NULL;
          return parse_function (p, t.text, t.start);
        }
      if (!advance (p))
        return NULL;
      return member_new (p, t.text, t.start);
    }
  if (t.kind == TOK_SPECIAL)
    return parse_term (p);
  fail (p, t.start, "identifier or function expected after '.'");
  return NULL;
}

static FpNode *
parse_postfix (Parser *p)
{
  FpNode *node = parse_term (p);

  while (node != NULL)
    {
      if (p->tok.kind == TOK_DOT)
        {
          unsigned position = p->tok.start;
          FpNode *dot, *right;

          if (!advance (p))
            return NULL;
          right = parse_invocation (p);
          if (right == NULL)
            return NULL;
          dot = node_new (p, FP_NODE_DOT, position);
          dot->left = node;
          dot->right = right;
          node = check_height (p, dot);
        }
      else if (p->tok.kind == TOK_LBRACKET)
        {
          unsigned position = p->tok.start;
          FpNode *index, *indexer;

          if (!advance (p))
            return NULL;
          index = parse_expression (p, LEVEL_IMPLIES);
          if (index == NULL)
            return NULL;
          if (p->tok.kind != TOK_RBRACKET)
            {
              fail (p, p->tok.start, "']' expected");
              return NULL;
            }
          if (!advance (p))
            return NULL;
          indexer = node_new (p, FP_NODE_INDEXER, position);
          indexer->left = node;
          indexer->right = index;
          node = check_height (p, indexer);
        }
      else
        break;
    }
  return node;
}

static FpNode *
parse_unary (Parser *p)
{
  if (p->tok.kind == TOK_PLUS || p->tok.kind == TOK_MINUS)
    {
      gboolean negate = p->tok.kind == TOK_MINUS;
      unsigned position = p->tok.start;
      FpNode *operand, *node;

      if (!advance (p))
        return NULL;
      if (++p->depth > MAX_DEPTH)
        {
          fail (p, position, "expression nested too deeply");
          return NULL;
        }
      operand = parse_unary (p);
      p->depth--;
      if (operand == NULL)
        return NULL;
      /* Fold -literal into the literal. */
      if (operand->kind == FP_NODE_LITERAL &&
          (operand->literal.kind == CHARTA_FHIRPATH_INTEGER ||
           operand->literal.kind == CHARTA_FHIRPATH_DECIMAL ||
           operand->literal.kind == CHARTA_FHIRPATH_QUANTITY))
        {
          if (negate)
            {
              operand->literal.integer = -operand->literal.integer;
              operand->literal.decimal = -operand->literal.decimal;
              if (operand->literal.string[0] == '-')
                operand->literal.string = chunk (p, operand->literal.string + 1,
                                                 strlen (operand->literal.string) - 1);
              else
                {
                  g_autofree char *text = g_strconcat ("-", operand->literal.string, NULL);
                  operand->literal.string = chunk (p, text, strlen (text));
                }
            }
          operand->position = position;
          return operand;
        }
      node = node_new (p, negate ? FP_NODE_NEGATE : FP_NODE_POSITIVE, position);
      node->left = operand;
      return check_height (p, node);
    }
  return parse_postfix (p);
}

static FpNode *
parse_expression (Parser *p,
                  int     level)
{
  FpNode *left;

  if (level >= LEVEL_UNARY)
    return parse_unary (p);
  if (++p->depth > MAX_DEPTH)
    {
      fail (p, p->tok.start, "expression nested too deeply");
      return NULL;
    }

  left = parse_expression (p, level + 1);
  while (left != NULL)
    {
      unsigned position = p->tok.start;

      if (level == LEVEL_TYPE && (is_keyword (&p->tok, "is") || is_keyword (&p->tok, "as")))
        {
          FpNode *node = node_new (p, p->tok.text[0] == 'i' ? FP_NODE_IS : FP_NODE_AS,
                                   position);

          if (!advance (p))
            return NULL;
          node->left = left;
          if (!parse_type_specifier (p, &node->type_spec))
            return NULL;
          left = check_height (p, node);
          if (left == NULL)
            return NULL;
          continue;
        }
      else
        {
          int op = binary_op_at (&p->tok, level);
          FpNode *right;

          if (op < 0)
            break;
          if (!advance (p))
            return NULL;
          right = parse_expression (p, level + 1);
          if (right == NULL)
            return NULL;
          left = binary_new (p, op, left, right, position);
        }
    }
  p->depth--;
  return left;
}

FpNode *
fp_parse (ChartaFhirPath  *self,
          GError         **error)
{
  Parser p = { 0 };
  FpNode *root;
  GError *local_error = NULL;

  p.self = self;
  p.src = self->expression;
  p.len = strlen (self->expression);
  p.error = &local_error;

  if (!advance (&p))
    {
      g_propagate_error (error, local_error);
      return NULL;
    }
  if (p.tok.kind == TOK_EOF)
    {
      fail (&p, 0, "empty expression");
      g_propagate_error (error, local_error);
      return NULL;
    }
  root = parse_expression (&p, LEVEL_IMPLIES);
  if (root != NULL && p.tok.kind != TOK_EOF)
    {
      fail (&p, p.tok.start, "unexpected text after the expression");
      root = NULL;
    }
  if (root == NULL)
    {
      if (local_error == NULL)
        fail (&p, p.tok.start, "syntax error");
      g_propagate_error (error, local_error);
      return NULL;
    }
  return root;
}

/* --- the compiled expression ------------------------------------------------------------- */

static void
node_free (gpointer data)
{
  FpNode *node = data;

  if (node->regex != NULL)
    g_regex_unref (node->regex);
  g_free (node->args);
  g_free (node);
}

ChartaFhirPath *
charta_fhirpath_compile (const char  *expression,
                         GError     **error)
{
  ChartaFhirPath *self;

  g_return_val_if_fail (expression != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_new0 (ChartaFhirPath, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->expression = g_strdup (expression);
  self->nodes = g_ptr_array_new_with_free_func (node_free);
  self->strings = g_string_chunk_new (64);
  self->root = fp_parse (self, error);
  if (self->root == NULL)
    {
      charta_fhirpath_unref (self);
      return NULL;
    }
  return self;
}

ChartaFhirPath *
charta_fhirpath_ref (ChartaFhirPath *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
charta_fhirpath_unref (ChartaFhirPath *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_ptr_array_unref (self->nodes);
  g_string_chunk_free (self->strings);
  g_free (self->expression);
  g_free (self);
}

const char *
charta_fhirpath_get_expression (ChartaFhirPath *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->expression;
}

static GMutex cache_lock;
static GHashTable *cache; /* expression -> ChartaFhirPath (never freed) */

ChartaFhirPath *
charta_fhirpath_get_cached (const char  *expression,
                            GError     **error)
{
  ChartaFhirPath *compiled;

  g_return_val_if_fail (expression != NULL, NULL);

  g_mutex_lock (&cache_lock);
  if (cache == NULL)
    cache = g_hash_table_new (g_str_hash, g_str_equal);
  compiled = g_hash_table_lookup (cache, expression);
  g_mutex_unlock (&cache_lock);
  if (compiled != NULL)
    return compiled;

  /* Compile outside the lock; if another thread got there first, keep its copy. */
  compiled = charta_fhirpath_compile (expression, error);
  if (compiled == NULL)
    return NULL;
  g_mutex_lock (&cache_lock);
  {
    ChartaFhirPath *existing = g_hash_table_lookup (cache, expression);

    if (existing != NULL)
      {
        charta_fhirpath_unref (compiled);
        compiled = existing;
      }
    else
      g_hash_table_insert (cache, compiled->expression, compiled);
  }
  g_mutex_unlock (&cache_lock);
  return compiled;
}
