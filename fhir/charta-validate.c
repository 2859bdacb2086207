/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-validate.c: validation of a resource against the R4 model.
 *
 * One walk over the JSON tree with the model beside it.  At each object the members are looked
 * up in the type's element table (choice names resolved by the model), counted for cardinality,
 * and each value is checked for its JSON type, its primitive format, its required binding, and
 * the invariants of its element and of its type.  Bundle entries and Parameters resources are
 * walked as resources of their own (FHIRPath's %resource); contained resources as part of their
 * container, which stays %resource and %rootResource as FHIR says.
 *
 * The walk keeps the element path as a stack of borrowed segments (member name + array index)
 * and turns it into a string ("Bundle.entry[3].resource.birthDate") only when it reports a
 * problem, so a valid resource costs almost no allocation.  Every problem is reported; nothing
 * stops at the first.  Messages read "PATH: problem", with the offending value quoted
 * (JSON-escaped, long values shortened).
 *
 * Invariants: an invariant holds when its FHIRPath expression evaluates to true (see above
 * errata[] for why an empty result does not count), compiled once per constraint and
 * kept for the life of the process.  Three R4 expressions are evaluated in a corrected form
 * (errata[]).  The hottest ones (dom-2…dom-6, ref-1, ext-1, …) have native checks for their
 * plain cases (natives[]), which a test keeps in agreement with FHIRPath.  Expressions our
 * FHIRPath cannot compile are skipped and listed (charta-validate-private.h).  ele-1 (no empty
 * objects, arrays or values) and txt-1/txt-2 (htmlChecks(): well-formed XHTML rooted at <div>,
 * without scripts, forms, frames or event attributes) are checked by the walk itself.
 *
 * Primitive formats: hand-written checkers that follow the definitions' regexes exactly (a test
 * compares them) and add what a regex cannot say: real calendar dates (read by charta-datetime.c,
 * shared with FHIRPath and search), 32-bit integer ranges, base64 without whitespace (JSON
 * carries no line breaks), well-formed XHTML; types without a checker of their own (oid, uuid)
 * use the definition's regex, compiled once.
 */
#define G_LOG_DOMAIN "charta-validate"

#include <string.h>

#include "charta-datetime-private.h"
#include "charta-fhir-error.h"
#include "charta-fhirpath.h"
#include "charta-json-private.h"
#include "charta-model.h"
#include "charta-validate-private.h"

/* How a primitive type's values are checked. */
typedef enum
{
  PRIM_NONE = 0, /* not a primitive type */
  PRIM_BOOLEAN,
  PRIM_INTEGER,
  PRIM_UNSIGNED_INT,
  PRIM_POSITIVE_INT,
  PRIM_DECIMAL,
  PRIM_STRING,
  PRIM_MARKDOWN,
  PRIM_CODE,
  PRIM_ID,
  PRIM_URI,
  PRIM_URL,
  PRIM_CANONICAL,
  PRIM_OID,
  PRIM_UUID,
  PRIM_BASE64,
  PRIM_INSTANT,
  PRIM_DATE,
  PRIM_DATETIME,
  PRIM_TIME,
  PRIM_XHTML,
  PRIM_OTHER,    /* another string-valued primitive: checked with its definition's regex */
} PrimKind;

static const struct
{
  const char *name;
  PrimKind kind;
} prim_names[] = {
  { "boolean", PRIM_BOOLEAN },
  { "integer", PRIM_INTEGER },
  { "unsignedInt", PRIM_UNSIGNED_INT },
  { "positiveInt", PRIM_POSITIVE_INT },
  { "decimal", PRIM_DECIMAL },
  { "string", PRIM_STRING },
  { "markdown", PRIM_MARKDOWN },
  { "code", PRIM_CODE },
  { "id", PRIM_ID },
  { "uri", PRIM_URI },
  { "url", PRIM_URL },
  { "canonical", PRIM_CANONICAL },
  { "oid", PRIM_OID },
  { "uuid", PRIM_UUID },
  { "base64Binary", PRIM_BASE64 },
  { "instant", PRIM_INSTANT },
  { "date", PRIM_DATE },
  { "dateTime", PRIM_DATETIME },
  { "time", PRIM_TIME },
  { "xhtml", PRIM_XHTML },
};

/* Per-type facts, computed once. */
typedef struct
{
  PrimKind prim;
  GRegex *regex;     /* PRIM_OID, PRIM_UUID, PRIM_OTHER: the definition's regex, anchored */
} TypeInfo;

/* A native check of a hot invariant's plain cases (see natives[] below). */
typedef enum
{
  NATIVE_UNKNOWN, /* let FHIRPath decide */
  NATIVE_PASS,
  NATIVE_FAIL,
} NativeResult;

typedef struct Validator Validator;

/* @focus: the element (object) the constraint is about; @root: %rootResource's object. */
typedef NativeResult (*NativeCheck) (Validator  *v,
                                     int         type,
                                     JsonObject *focus,
                                     JsonObject *root);

/* How one constraint is checked, set up on its first use. */
typedef struct
{
  gsize ready;
  gboolean builtin;          /* ele-1, txt-1, txt-2: checked by the walk itself */
  ChartaFhirPath *compiled;  /* NULL when skipped */
  const char *expression;    /* the expression evaluated (after errata) */
  NativeCheck native;        /* the plain cases, or NULL */
} Invariant;

typedef struct
{
  TypeInfo *types;              /* charta_model_n_types entries */
  Invariant *invariants;        /* charta_model_n_constraints entries */
  const char ***vs_systems;     /* per value set: NULL-terminated distinct code systems */
  int t_element;                /* type indices used by the walk */
  int t_coding;
  int t_codeable_concept;
  GMutex skip_lock;
  GHashTable *skipped;          /* "key: reason (expression)" set */
} Globals;

static Globals *
globals_get (void)
{
  static gsize once = 0;
  static Globals g;

  if (g_once_init_enter (&once))
    {
      g.types = g_new0 (TypeInfo, charta_model_n_types);
      for (unsigned t = 0; t < charta_model_n_types; t++)
        {
          const ChartaTypeDef *def = &charta_model_types[t];

          if (def->kind != CHARTA_TYPE_KIND_PRIMITIVE)
            continue;
          g.types[t].prim = PRIM_OTHER;
          for (unsigned i = 0; i < G_N_ELEMENTS (prim_names); i++)
            if (strcmp (def->name, prim_names[i].name) == 0)
              g.types[t].prim = prim_names[i].kind;
          if ((g.types[t].prim == PRIM_OID || g.types[t].prim == PRIM_UUID
               || g.types[t].prim == PRIM_OTHER)
              && def->regex != NULL)
            {
              g_autoptr(GError) error = NULL;
              g_autofree char *anchored = g_strdup_printf ("\\A(?:%s)\\z", def->regex);

              g.types[t].regex = g_regex_new (anchored, G_REGEX_OPTIMIZE, 0, &error);
              if (g.types[t].regex == NULL)
                g_warning ("regex of %s does not compile: %s", def->name, error->message);
            }
        }

      g.invariants = g_new0 (Invariant, MAX (charta_model_n_constraints, 1));

      g.vs_systems = g_new0 (const char **, MAX (charta_model_n_value_sets, 1));
      for (unsigned i = 0; i < charta_model_n_value_sets; i++)
        {
          const ChartaValueSetDef *vs = &charta_model_value_sets[i];
          GPtrArray *systems = g_ptr_array_new ();

          for (uint32_t c = vs->first_code; c < vs->first_code + vs->n_codes; c++)
            {
              const char *system = charta_model_codes[c].system;
              gboolean seen = FALSE;

              if (system == NULL)
                continue;
              for (unsigned k = 0; k < systems->len && !seen; k++)
                seen = strcmp (systems->pdata[k], system) == 0;
              if (!seen)
                g_ptr_array_add (systems, (gpointer) system);
            }
          g_ptr_array_add (systems, NULL);
          g.vs_systems[i] = (const char **) g_ptr_array_free (systems, FALSE);
        }

      g.t_element = charta_model_find_type ("Element");
      g.t_coding = charta_model_find_type ("Coding");
      g.t_codeable_concept = charta_model_find_type ("CodeableConcept");
      g_mutex_init (&g.skip_lock);
      g.skipped = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_once_init_leave (&once, 1);
    }
  return &g;
}

/* ------------------------------------------------------------------------------------------ */
/* Primitive string checkers.  Each returns NULL when @s is valid, else a short reason.        */

static inline gboolean
is_digit (char c)
{
  return c >= '0' && c <= '9';
}

/* \s in the definitions' regexes (PCRE, ASCII). */
static inline gboolean
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* date, dateTime, instant and time: the shared reader (charta-datetime.c), in FHIR's syntax. */
static const char *
check_date_time (const char         *s,
                 ChartaDateTimeKind  kind)
{
  ChartaDateTime dt;

  return charta_datetime_check (s, kind, CHARTA_DATETIME_STRICT, &dt);
}

static const char *
check_base64 (const char *s,
              size_t      len)
{
  size_t pad = 0;

  if (len == 0)
    return "it is empty";
  for (size_t i = 0; i < len; i++)
    {
      char c = s[i];

      if (g_ascii_isalnum (c) || c == '+' || c == '/')
        {
          if (pad > 0)
            return "'=' padding may only appear at the end";
          continue;
        }
      if (c == '=')
        {
          pad++;
          continue;
        }
      if (is_space (c))
        return "it contains whitespace or a line break";
      return "it contains a character that is not in the base64 alphabet";
    }
  if (len % 4 != 0)
    return "its length is not a multiple of 4";
  if (pad > 2)
    return "it has more than two '=' padding characters";
  return NULL;
}

static const char *
check_code (const char *s)
{
  if (*s == '\0')
    return "it is empty";
  if (is_space (*s))
    return "it starts with whitespace";
  for (; *s != '\0'; s++)
    if (is_space (*s))
      {
        if (s[1] == '\0')
          return "it ends with whitespace";
        if (is_space (s[1]))
          return "it contains consecutive whitespace";
      }
  return NULL;
}

static const char *
check_id (const char *s)
{
  size_t n = 0;

  for (; *s != '\0'; s++, n++)
    if (!(g_ascii_isalnum (*s) || *s == '-' || *s == '.'))
      return "an id may only contain letters, digits, '-' and '.'";
  if (n == 0)
    return "it is empty";
  if (n > 64)
    return "an id is at most 64 characters long";
  return NULL;
}

static const char *
check_uri (const char *s)
{
  if (*s == '\0')
    return "it is empty";
  for (; *s != '\0'; s++)
    if (is_space (*s))
      return "it contains whitespace";
  return NULL;
}

static const char *
check_string (const char *s,
              size_t      len)
{
  if (len == 0)
    return "it is empty";
  if (len > 1024 * 1024)
    return "a string is at most 1 MB";
  for (size_t i = 0; i < len; i++)
    if (s[i] == '\v' || s[i] == '\f')
      return "it contains a vertical tab or form feed";
  return NULL;
}

/* ---- xhtml: well-formedness and the txt-1/txt-2 rules ------------------------------------- */

static gboolean
name_char (char c)
{
  return g_ascii_isalnum (c) || c == '-' || c == '_' || c == '.' || c == ':';
}

static gboolean
name_in (const char *name,
         size_t      len,
         const char *const *list)
{
  for (; *list != NULL; list++)
    if (strlen (*list) == len && g_ascii_strncasecmp (*list, name, len) == 0)
      return TRUE;
  return FALSE;
}

/* Elements and attributes txt-1 forbids (scripts, forms, frames, document-level elements). */
static const char *const xhtml_bad_elements[] = {
  "script", "style", "object", "applet", "embed", "iframe", "frame", "frameset", "form",
  "input", "button", "select", "textarea", "option", "base", "link", "meta", "head", "body",
  "html", "title", NULL,
};

typedef enum
{
  XHTML_WELL_FORMED = 1 << 0,
  XHTML_TXT1 = 1 << 1,
} XhtmlCheck;

#define XHTML_NS "http://www.w3.org/1999/xhtml"

/* Checks @s as a FHIR Narrative div.  Returns NULL when it passes the requested checks. */
static const char *
check_xhtml (const char *s,
             XhtmlCheck  what,
             char      **detail)
{
  struct
  {
    const char *name;
    size_t len;
  } stack[256];
  unsigned depth = 0;
  gboolean seen_root = FALSE, xhtml_ns = FALSE;
  const char *p = s;

  while (is_space (*p))
    p++;
  if (strncmp (p, "<div", 4) != 0 || !(is_space (p[4]) || p[4] == '>' || p[4] == '/'))
    return (what & XHTML_WELL_FORMED) ? "it must start with <div" : NULL;

  while (*p != '\0')
    {
      if (*p == '<')
        {
          if (strncmp (p, "<!--", 4) == 0)
            {
              const char *e = strstr (p + 4, "-->");
              if (e == NULL)
                return "an XML comment is not closed";
              p = e + 3;
              continue;
            }
          if (strncmp (p, "<![CDATA[", 9) == 0)
            {
              const char *e = strstr (p + 9, "]]>");
              if (e == NULL)
                return "a CDATA section is not closed";
              p = e + 3;
              continue;
            }
          if (p[1] == '?' || p[1] == '!')
            return "processing instructions and DOCTYPEs are not allowed";
          if (p[1] == '/')
            {
              const char *n = p + 2;
              size_t len = 0;

              while (name_char (n[len]))
                len++;
              if (depth == 0 || stack[depth - 1].len != len
                  || strncmp (stack[depth - 1].name, n, len) != 0)
                {
                  if (detail != NULL)
                    *detail = g_strdup_printf ("</%.*s> does not close an open element",
                                               (int) MIN (len, 40), n);
                  return "it is not well-formed XML";
                }
              n += len;
              while (is_space (*n))
                n++;
              if (*n != '>')
                return "it is not well-formed XML (bad end tag)";
              depth--;
              p = n + 1;
              if (depth == 0)
                {
                  while (is_space (*p))
                    p++;
                  if (*p != '\0')
                    return "nothing may follow the closing </div>";
                }
              continue;
            }
          else
            {
              const char *n = p + 1;
              size_t len = 0;
              gboolean empty_tag = FALSE;
              const char *q;

              while (name_char (n[len]))
                len++;
              if (len == 0 || !(g_ascii_isalpha (n[0]) || n[0] == '_'))
                return "it is not well-formed XML ('<' that does not start a tag)";
              if (seen_root && depth == 0)
                return "nothing may follow the closing </div>";
              if ((what & XHTML_TXT1) && name_in (n, len, xhtml_bad_elements))
                {
                  if (detail != NULL)
                    *detail = g_strdup_printf ("<%.*s> is not allowed", (int) MIN (len, 40), n);
                  return "it contains an element that narrative may not have (txt-1)";
                }
              q = n + len;
              /* attributes */
              for (;;)
                {
                  const char *an;
                  size_t alen = 0;
                  char quote;

                  while (is_space (*q))
                    q++;
                  if (*q == '>')
                    {
                      q++;
                      break;
                    }
                  if (q[0] == '/' && q[1] == '>')
                    {
                      empty_tag = TRUE;
                      q += 2;
                      break;
                    }
                  an = q;
                  while (name_char (an[alen]))
                    alen++;
                  if (alen == 0)
                    return "it is not well-formed XML (bad attribute)";
                  q = an + alen;
                  while (is_space (*q))
                    q++;
                  if (*q != '=')
                    return "it is not well-formed XML (attribute without value)";
                  q++;
                  while (is_space (*q))
                    q++;
                  if (*q != '"' && *q != '\'')
                    return "it is not well-formed XML (unquoted attribute value)";
                  quote = *q++;
                  {
                    const char *v = q;
                    while (*q != '\0' && *q != quote)
                      {
                        if (*q == '<')
                          return "it is not well-formed XML ('<' in an attribute value)";
                        q++;
                      }
                    if (*q == '\0')
                      return "it is not well-formed XML (unterminated attribute value)";
                    if (!seen_root && alen == 5 && strncmp (an, "xmlns", 5) == 0)
                      xhtml_ns = (size_t) (q - v) == strlen (XHTML_NS)
                                 && strncmp (v, XHTML_NS, q - v) == 0;
                    if (what & XHTML_TXT1)
                      {
                        if (alen > 2 && g_ascii_strncasecmp (an, "on", 2) == 0)
                          {
                            if (detail != NULL)
                              *detail = g_strdup_printf ("attribute %.*s is not allowed",
                                                         (int) MIN (alen, 40), an);
                            return "it contains an event attribute (txt-1)";
                          }
                        while (v < q && is_space (*v))
                          v++;
                        if ((size_t) (q - v) >= 11 && g_ascii_strncasecmp (v, "javascript:", 11) == 0)
                          return "it contains a javascript: link (txt-1)";
                      }
                    q++;
                  }
                }
              if (!seen_root && !xhtml_ns && (what & XHTML_WELL_FORMED))
                return "the <div> must declare xmlns=\"" XHTML_NS "\"";
              if (!empty_tag)
                {
                  if (depth == G_N_ELEMENTS (stack))
                    return "its elements are nested too deeply";
                  stack[depth].name = n;
                  stack[depth].len = len;
                  depth++;
                }
              seen_root = TRUE;
              p = q;
              if (empty_tag && depth == 0)
                {
                  while (is_space (*p))
                    p++;
                  if (*p != '\0')
                    return "nothing may follow the closing </div>";
                }
              continue;
            }
        }
      if (*p == '&')
        {
          const char *e = p + 1;
          unsigned n = 0;

          if (*e == '#')
            e++;
          while (g_ascii_isalnum (*e) && n < 32)
            e++, n++;
          if (n == 0 || *e != ';')
            return "it is not well-formed XML ('&' that does not start an entity)";
          p = e + 1;
          continue;
        }
      if (depth == 0 && !is_space (*p))
        return "nothing may follow the closing </div>";
      p++;
    }
  if (depth != 0)
    {
      if (detail != NULL)
        *detail = g_strdup_printf ("<%.*s> is not closed", (int) MIN (stack[depth - 1].len, 40),
                                   stack[depth - 1].name);
      return "it is not well-formed XML";
    }
  /* txt-2 (non-whitespace content) is not enforced: the reference validator's htmlChecks()
   * accepts an empty <div>, and so do the official examples (EventDefinition-example). */
  return NULL;
}

/* The string checker for @kind; NULL when valid. */
static const char *
check_string_kind (const TypeInfo *info,
                   const char     *s,
                   size_t          len)
{
  switch (info->prim)
    {
    case PRIM_STRING:
    case PRIM_MARKDOWN:
      return check_string (s, len);
    case PRIM_CODE:
      return check_code (s);
    case PRIM_ID:
      return check_id (s);
    case PRIM_URI:
    case PRIM_URL:
    case PRIM_CANONICAL:
      return check_uri (s);
    case PRIM_BASE64:
      return check_base64 (s, len);
    case PRIM_INSTANT:
      return check_date_time (s, CHARTA_DATETIME_INSTANT);
    case PRIM_DATE:
      return check_date_time (s, CHARTA_DATETIME_DATE);
    case PRIM_DATETIME:
      return check_date_time (s, CHARTA_DATETIME_DATETIME);
    case PRIM_TIME:
      return check_date_time (s, CHARTA_DATETIME_TIME);
    case PRIM_XHTML:
      return check_xhtml (s, XHTML_WELL_FORMED, NULL);
    case PRIM_OID:
    case PRIM_UUID:
    case PRIM_OTHER:
      if (len == 0)
        return "it is empty";
      if (info->regex != NULL && !g_regex_match (info->regex, s, 0, NULL))
        return info->prim == PRIM_OID ? "an oid is urn:oid: and dotted numbers"
             : info->prim == PRIM_UUID ? "a uuid is urn:uuid: and a lowercase UUID"
             : "it does not match the type's pattern";
      return NULL;
    case PRIM_NONE:
    case PRIM_BOOLEAN:
    case PRIM_INTEGER:
    case PRIM_UNSIGNED_INT:
    case PRIM_POSITIVE_INT:
    case PRIM_DECIMAL:
    default:
      return "no checker";
    }
}

gboolean
charta_validate_check_primitive_string (const char  *type_name,
                                        const char  *value,
                                        char       **reason)
{
  Globals *g = globals_get ();
  int t;
  const char *why;

  g_return_val_if_fail (type_name != NULL && value != NULL, FALSE);

  t = charta_model_find_type (type_name);
  if (t < 0 || g->types[t].prim == PRIM_NONE)
    why = "no checker";
  else
    why = check_string_kind (&g->types[t], value, strlen (value));
  if (why != NULL && reason != NULL)
    *reason = g_strdup (why);
  return why == NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* The walk.                                                                                   */

typedef struct
{
  const char *name;  /* member name (borrowed from the tree or static) */
  int index;         /* array index, or -1 */
} PathSegment;

/* A contained resource met during the walk, for dom-3. */
typedef struct
{
  JsonObject *object;
  unsigned first_ref;        /* its range in Validator.local_refs */
  unsigned end_ref;
} ContainedSeen;

struct Validator
{
  Globals *g;
  ChartaOutcome *outcome;
  ChartaResource *root;      /* the resource being validated: number texts */
  ChartaResource *current;   /* the (nested) resource being walked: FHIRPath's %resource */
  int current_type;          /* its type index */
  GArray *path;              /* PathSegment */
  unsigned n_errors;
  unsigned depth;            /* objects being walked, to bound the recursion */
  /* For dom-3, natively: the local references ("#id" values of elements named reference and
   * of uri, url and canonical elements) of the current resource, contained ones included, and
   * its contained resources.  Nested resources (Bundle entries) truncate them back. */
  GPtrArray *local_refs;     /* const char *, borrowed from the tree; NULL until needed */
  GArray *contained;         /* ContainedSeen; NULL until needed */
};

static inline void
path_push (Validator  *v,
           const char *name,
           int         index)
{
  PathSegment seg = { name, index };

  g_array_append_val (v->path, seg);
}

static inline void
path_pop (Validator *v)
{
  g_array_set_size (v->path, v->path->len - 1);
}

static inline void
path_set_index (Validator *v,
                int        index)
{
  g_array_index (v->path, PathSegment, v->path->len - 1).index = index;
}

static char *
path_to_string (Validator *v)
{
  GString *s = g_string_new (NULL);

  for (unsigned i = 0; i < v->path->len; i++)
    {
      const PathSegment *seg = &g_array_index (v->path, PathSegment, i);

      if (i > 0)
        g_string_append_c (s, '.');
      g_string_append (s, seg->name);
      if (seg->index >= 0)
        g_string_append_printf (s, "[%d]", seg->index);
    }
  return g_string_free (s, FALSE);
}

static void report (Validator          *v,
                    ChartaIssueSeverity severity,
                    const char         *code,
                    const char         *format,
                    ...) G_GNUC_PRINTF (4, 5);

static void
report (Validator          *v,
        ChartaIssueSeverity severity,
        const char         *code,
        const char         *format,
        ...)
{
  g_autofree char *path = path_to_string (v);
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  charta_outcome_add (v->outcome, severity, code, path, "%s: %s", path, message);
  if (severity == CHARTA_ISSUE_ERROR || severity == CHARTA_ISSUE_FATAL)
    v->n_errors++;
}

#define QUOTE_MAX 64

/* @s quoted as a JSON string, shortened to about QUOTE_MAX characters. */
static char *
quote_string (const char *s)
{
  GString *out = g_string_new ("\"");
  const char *p = s;
  unsigned n = 0;

  for (; *p != '\0' && n < QUOTE_MAX; p = g_utf8_next_char (p), n++)
    {
      unsigned char c = (unsigned char) *p;

      switch (c)
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
        default:
          if (c < 0x20)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_len (out, p, g_utf8_next_char (p) - p);
        }
    }
  if (*p != '\0')
    g_string_append_printf (out, "…\" (%zu bytes)", strlen (s));
  else
    g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

/* A JSON value as it appears in messages. */
static char *
describe_value (Validator *v,
                JsonNode  *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      return g_strdup ("an object");
    case JSON_NODE_ARRAY:
      return g_strdup ("an array");
    case JSON_NODE_NULL:
      return g_strdup ("null");
    case JSON_NODE_VALUE:
    default:
      break;
    }
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return quote_string (json_node_get_string (node));
    case G_TYPE_BOOLEAN:
      return g_strdup (json_node_get_boolean (node) ? "true" : "false");
    case G_TYPE_INT64:
    case G_TYPE_DOUBLE:
      {
        const char *text = charta_resource_get_number_text (v->root, node);

        if (text != NULL)
          return g_strdup (text);
        if (json_node_get_value_type (node) == G_TYPE_INT64)
          return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
        return g_strdup_printf ("%g", json_node_get_double (node));
      }
    default:
      return g_strdup ("a value");
    }
}

static inline const char *
type_name (int t)
{
  return charta_model_types[t].name;
}

/* The type of an instance of @el: the choice's type, else its one type. */
static inline int
element_type (const ChartaElementDef *el,
              int                     choice_type)
{
  if (el->is_choice && choice_type >= 0)
    return choice_type;
  if (el->n_types == 0)
    return -1;
  return charta_model_element_types[el->first_type].type;
}

/* ---- invariants ---------------------------------------------------------------------------- */

/* A constraint holds when its expression evaluates to true: ElementDefinition.constraint is a
 * "condition that must evaluate to true", and like the reference validator we count an empty
 * result (or an evaluation error) as not met.  That is why RiskAssessment-prognosis breaks
 * ras-2 ("probability is decimal implies …" is empty when probability is absent).
 *
 * A few R4 expressions only hold on valid data under the reference validator's own FHIRPath
 * quirks (string functions on an empty input giving false, System.Boolean matching FHIR
 * boolean).  With a FHIRPath that follows the specification they would reject the official
 * examples, so they are evaluated in the corrected form below, which later FHIR versions
 * adopted or which states the rule's human text exactly.  Each is matched on the exact R4
 * expression, so a model regenerated from other definitions is not silently rewritten. */
typedef struct
{
  const char *key;
  const char *r4_expression;
  const char *expression;
  const char *why;
} Erratum;

static const Erratum errata[] = {
  { "ref-1",
    "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))",
    "reference.hasValue() implies (reference.startsWith('#').not() or (reference.substring(1) in %rootResource.contained.id))",
    "a Reference without a reference (identifier or display only) evaluates to empty" },
  { "bdl-8",
    "fullUrl.contains('/_history/').not()",
    "fullUrl.hasValue() implies fullUrl.contains('/_history/').not()",
    "an entry without fullUrl evaluates to empty" },
  { "que-7",
    "operator = 'exists' implies (answer is Boolean)",
    "operator = 'exists' implies (answer is boolean)",
    "System.Boolean is not FHIR boolean (R5 reads 'answer is boolean')" },
};

/* Whether @obj has element @name: its value or its "_name" extensions. */
static gboolean
has_element (JsonObject *obj,
             const char *name)
{
  char buf[64];
  size_t len = strlen (name);

  if (json_object_has_member (obj, name))
    return TRUE;
  if (len + 2 > sizeof buf)
    return FALSE;
  buf[0] = '_';
  memcpy (buf + 1, name, len + 1);
  return json_object_has_member (obj, buf);
}

/* Whether @obj, of type @type, has a value of choice element @prefix ("value": valueQuantity,
 * _valueString…; not an unknown valueFoo, which FHIRPath does not see either). */
static gboolean
has_choice (JsonObject *obj,
            int         type,
            const char *prefix)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  size_t len = strlen (prefix);

  json_object_iter_init_ordered (&iter, obj);
  while (json_object_iter_next_ordered (&iter, &name, &node))
    {
      const ChartaElementDef *el;

      if (name[0] == '_')
        name++;
      if (strncmp (name, prefix, len) != 0 || !g_ascii_isupper (name[len]))
        continue;
      el = charta_model_find_element (type, name, NULL);
      if (el != NULL && el->is_choice && strcmp (el->name, prefix) == 0)
        return TRUE;
    }
  return FALSE;
}

static JsonArray *
array_member (JsonObject *obj,
              const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static JsonObject *
object_member (JsonObject *obj,
               const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* dom-2: contained.contained.empty() */
static NativeResult
native_dom2 (Validator  *v,
             int         type,
             JsonObject *focus,
             JsonObject *root)
{
  JsonArray *contained = array_member (focus, "contained");

  for (unsigned i = 0; contained != NULL && i < json_array_get_length (contained); i++)
    {
      JsonNode *r = json_array_get_element (contained, i);

      if (JSON_NODE_HOLDS_OBJECT (r) && json_object_has_member (json_node_get_object (r), "contained"))
        return NATIVE_FAIL;
    }
  return NATIVE_PASS;
}

/* dom-3: every contained resource is referenced as "#id" from somewhere in the resource (an
 * element named reference, or a uri, url or canonical), or refers to its container ("#").
 * Uses the references gathered by the walk, which has seen the whole resource by now. */
static NativeResult
native_dom3 (Validator  *v,
             int         type,
             JsonObject *focus,
             JsonObject *root)
{
  unsigned n_refs = v->local_refs != NULL ? v->local_refs->len : 0;

  if (!json_object_has_member (focus, "contained"))
    return NATIVE_PASS;
  if (focus != root || v->contained == NULL)
    return NATIVE_UNKNOWN;
  for (unsigned i = 0; i < v->contained->len; i++)
    {
      const ContainedSeen *c = &g_array_index (v->contained, ContainedSeen, i);
      JsonNode *id = json_object_get_member (c->object, "id");
      gboolean found = FALSE;

      if (id == NULL)
        continue; /* '#' + id is empty: not counted (a missing id is reported by the walk) */
      if (json_node_get_value_type (id) != G_TYPE_STRING)
        return NATIVE_UNKNOWN;
      for (unsigned k = 0; k < n_refs && !found; k++)
        {
          const char *ref = g_ptr_array_index (v->local_refs, k);

          found = strcmp (ref + 1, json_node_get_string (id)) == 0;
        }
      for (unsigned k = c->first_ref; k < c->end_ref && !found; k++)
        found = strcmp (g_ptr_array_index (v->local_refs, k), "#") == 0;
      if (!found)
        return NATIVE_FAIL;
    }
  return NATIVE_PASS;
}

/* contained.meta.@a.empty() [and contained.meta.@b.empty()] */
static NativeResult
contained_meta_empty (JsonObject *focus,
                      const char *a,
                      const char *b)
{
  JsonArray *contained = array_member (focus, "contained");

  for (unsigned i = 0; contained != NULL && i < json_array_get_length (contained); i++)
    {
      JsonNode *r = json_array_get_element (contained, i);
      JsonObject *meta;

      if (!JSON_NODE_HOLDS_OBJECT (r))
        return NATIVE_UNKNOWN;
      meta = object_member (json_node_get_object (r), "meta");
      if (meta != NULL && (has_element (meta, a) || (b != NULL && has_element (meta, b))))
        return NATIVE_FAIL;
    }
  return NATIVE_PASS;
}

/* dom-4: contained.meta.versionId.empty() and contained.meta.lastUpdated.empty() */
static NativeResult
native_dom4 (Validator  *v,
             int         type,
             JsonObject *focus,
             JsonObject *root)
{
  return contained_meta_empty (focus, "versionId", "lastUpdated");
}

/* dom-5: contained.meta.security.empty() */
static NativeResult
native_dom5 (Validator  *v,
             int         type,
             JsonObject *focus,
             JsonObject *root)
{
  return contained_meta_empty (focus, "security", NULL);
}

/* dom-6: text.`div`.exists() */
static NativeResult
native_dom6 (Validator  *v,
             int         type,
             JsonObject *focus,
             JsonObject *root)
{
  JsonObject *text = object_member (focus, "text");

  if (text == NULL)
    return json_object_has_member (focus, "text") ? NATIVE_UNKNOWN : NATIVE_FAIL;
  return has_element (text, "div") ? NATIVE_PASS : NATIVE_FAIL;
}

/* ext-1: extension.exists() != value.exists() */
static NativeResult
native_ext1 (Validator  *v,
             int         type,
             JsonObject *focus,
             JsonObject *root)
{
  JsonNode *ext = json_object_get_member (focus, "extension");
  gboolean has_ext;

  if (ext == NULL)
    has_ext = FALSE;
  else if (JSON_NODE_HOLDS_ARRAY (ext) && json_array_get_length (json_node_get_array (ext)) > 0)
    has_ext = TRUE;
  else
    return NATIVE_UNKNOWN;
  return has_ext != has_choice (focus, type, "value") ? NATIVE_PASS : NATIVE_FAIL;
}

/* ref-1, corrected (see errata) */
static NativeResult
native_ref1 (Validator  *v,
             int         type,
             JsonObject *focus,
             JsonObject *root)
{
  JsonNode *ref = json_object_get_member (focus, "reference");
  const char *s;
  JsonArray *contained;

  if (ref == NULL)
    return NATIVE_PASS;
  if (json_node_get_value_type (ref) != G_TYPE_STRING)
    return NATIVE_UNKNOWN;
  s = json_node_get_string (ref);
  if (s[0] != '#')
    return NATIVE_PASS;
  contained = root != NULL ? array_member (root, "contained") : NULL;
  for (unsigned i = 0; contained != NULL && i < json_array_get_length (contained); i++)
    {
      JsonNode *r = json_array_get_element (contained, i);
      JsonNode *id;

      if (!JSON_NODE_HOLDS_OBJECT (r))
        continue;
      id = json_object_get_member (json_node_get_object (r), "id");
      if (id != NULL && json_node_get_value_type (id) == G_TYPE_STRING
          && strcmp (json_node_get_string (id), s + 1) == 0)
        return NATIVE_PASS;
    }
  return NATIVE_FAIL;
}

/* bdl-8, corrected (see errata) */
static NativeResult
native_bdl8 (Validator  *v,
             int         type,
             JsonObject *focus,
             JsonObject *root)
{
  JsonNode *url = json_object_get_member (focus, "fullUrl");

  if (url == NULL)
    return NATIVE_PASS;
  if (json_node_get_value_type (url) != G_TYPE_STRING)
    return NATIVE_UNKNOWN;
  return strstr (json_node_get_string (url), "/_history/") == NULL ? NATIVE_PASS : NATIVE_FAIL;
}

/* per-1: start.hasValue().not() or end.hasValue().not() or (start <= end): only when one is
 * missing; comparing partial dates is FHIRPath's business */
static NativeResult
native_per1 (Validator  *v,
             int         type,
             JsonObject *focus,
             JsonObject *root)
{
  if (!json_object_has_member (focus, "start") || !json_object_has_member (focus, "end"))
    return NATIVE_PASS;
  return NATIVE_UNKNOWN;
}

/* obs-6: dataAbsentReason.empty() or value.empty() */
static NativeResult
native_obs6 (Validator  *v,
             int         type,
             JsonObject *focus,
             JsonObject *root)
{
  if (!has_element (focus, "dataAbsentReason") || !has_choice (focus, type, "value"))
    return NATIVE_PASS;
  return NATIVE_FAIL;
}

/* obs-7: value.empty() or component.code.where(…).empty(): only the trivial cases */
static NativeResult
native_obs7 (Validator  *v,
             int         type,
             JsonObject *focus,
             JsonObject *root)
{
  if (!json_object_has_member (focus, "component") || !has_choice (focus, type, "value"))
    return NATIVE_PASS;
  return NATIVE_UNKNOWN;
}

/* qty-3: code.empty() or system.exists() */
static NativeResult
native_qty3 (Validator  *v,
             int         type,
             JsonObject *focus,
             JsonObject *root)
{
  if (!has_element (focus, "code") || has_element (focus, "system"))
    return NATIVE_PASS;
  return NATIVE_FAIL;
}

/* The hot invariants, evaluated natively where the answer is plain; each matches its exact
 * R4 expression, and FHIRPath remains the authority (a test compares the two). */
static const struct
{
  const char *key;
  const char *expression;
  NativeCheck check;
} natives[] = {
  { "dom-2", "contained.contained.empty()", native_dom2 },
  { "dom-3", "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()", native_dom3 },
  { "dom-4", "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()", native_dom4 },
  { "dom-5", "contained.meta.security.empty()", native_dom5 },
  { "dom-6", "text.`div`.exists()", native_dom6 },
  { "ext-1", "extension.exists() != value.exists()", native_ext1 },
  { "ref-1", "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))", native_ref1 },
  { "bdl-8", "fullUrl.contains('/_history/').not()", native_bdl8 },
  { "per-1", "start.hasValue().not() or end.hasValue().not() or (start <= end)", native_per1 },
  { "obs-6", "dataAbsentReason.empty() or value.empty()", native_obs6 },
  { "obs-7", "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()", native_obs7 },
  { "qty-3", "code.empty() or system.exists()", native_qty3 },
};

static gboolean use_native_checks = TRUE;

static void
note_skipped (Globals                   *g,
              const ChartaConstraintDef *c,
              const char                *expression,
              const GError              *error)
{
  g_autofree char *entry = g_strdup_printf ("%s: %s (%s)", c->key, error->message, expression);

  g_mutex_lock (&g->skip_lock);
  if (!g_hash_table_contains (g->skipped, entry))
    {
      g_debug ("skipping invariant %s: %s", c->key, error->message);
      g_hash_table_add (g->skipped, g_steal_pointer (&entry));
    }
  g_mutex_unlock (&g->skip_lock);
}

/* The state of constraint @index, set up on first use. */
static Invariant *
get_invariant (Globals *g,
               unsigned index)
{
  Invariant *inv = &g->invariants[index];

  if (g_once_init_enter (&inv->ready))
    {
      const ChartaConstraintDef *c = &charta_model_constraints[index];
      const char *expression = c->expression;
      g_autoptr(GError) error = NULL;

      if (strcmp (c->key, "ele-1") == 0 || strcmp (c->key, "txt-1") == 0
          || strcmp (c->key, "txt-2") == 0)
        inv->builtin = TRUE;
      else
        {
          for (unsigned i = 0; expression != NULL && i < G_N_ELEMENTS (errata); i++)
            if (strcmp (c->key, errata[i].key) == 0
                && strcmp (expression, errata[i].r4_expression) == 0)
              expression = errata[i].expression;
          for (unsigned i = 0; c->expression != NULL && i < G_N_ELEMENTS (natives); i++)
            if (strcmp (c->key, natives[i].key) == 0
                && strcmp (c->expression, natives[i].expression) == 0)
              inv->native = natives[i].check;

          if (expression == NULL || *expression == '\0')
            {
              g_set_error_literal (&error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_UNSUPPORTED,
                                   "no expression");
              note_skipped (g, c, "", error);
            }
          else
            {
              inv->compiled = charta_fhirpath_get_cached (expression, &error);
              if (inv->compiled == NULL)
                note_skipped (g, c, expression, error);
            }
          inv->expression = expression;
        }
      g_once_init_leave (&inv->ready, 1);
    }
  return inv;
}

static void
check_builtin_invariant (Validator                *v,
                         const ChartaConstraintDef *c,
                         const ChartaFhirPathItem *ctx)
{
  /* ele-1 is checked by the walk; txt-2 is met by any well-formed div (see check_xhtml()) */
  if (strcmp (c->key, "txt-1") == 0)
    {
      const char *why;
      g_autofree char *detail = NULL;
      JsonNode *node = ctx != NULL ? ctx->node : NULL;

      if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
        return;
      why = check_xhtml (json_node_get_string (node), XHTML_TXT1, &detail);
      if (why != NULL && strstr (why, c->key) != NULL)
        report (v, c->severity == CHARTA_SEVERITY_ERROR ? CHARTA_ISSUE_ERROR : CHARTA_ISSUE_WARNING,
                "invariant", "constraint %s failed: %s (%s%s%s)", c->key, c->human, why,
                detail != NULL ? ": " : "", detail != NULL ? detail : "");
    }
}

static void
check_invariant (Validator                *v,
                 unsigned                  index,
                 const ChartaFhirPathItem *ctx)
{
  const ChartaConstraintDef *c = &charta_model_constraints[index];
  Invariant *inv = get_invariant (v->g, index);
  g_autoptr(GError) error = NULL;
  GPtrArray *result;
  ChartaIssueSeverity severity;
  gboolean pass;

  if (inv->builtin)
    {
      check_builtin_invariant (v, c, ctx);
      return;
    }
  severity = c->severity == CHARTA_SEVERITY_ERROR ? CHARTA_ISSUE_ERROR : CHARTA_ISSUE_WARNING;

  if (inv->native != NULL && use_native_checks)
    {
      JsonNode *focus = ctx != NULL ? ctx->node : charta_resource_get_root (v->current);
      NativeResult r = NATIVE_UNKNOWN;

      if (focus != NULL && JSON_NODE_HOLDS_OBJECT (focus))
        r = inv->native (v, ctx != NULL ? ctx->type : v->current_type, json_node_get_object (focus),
                         charta_resource_get_object (v->current));
      if (r == NATIVE_PASS)
        return;
      if (r == NATIVE_FAIL)
        {
          report (v, severity, "invariant", "constraint %s failed: %s", c->key, c->human);
          return;
        }
    }

  if (inv->compiled == NULL)
    return; /* skipped */
  result = charta_fhirpath_evaluate (inv->compiled, v->current, ctx, &error);
  if (result == NULL)
    {
      report (v, severity, "invariant", "constraint %s could not be evaluated: %s (%s)", c->key,
              error->message, inv->expression);
      return;
    }
  if (result->len == 1)
    {
      const ChartaFhirPathItem *item = g_ptr_array_index (result, 0);

      if (item->kind == CHARTA_FHIRPATH_BOOLEAN)
        pass = item->boolean;
      else if (item->kind == CHARTA_FHIRPATH_NODE && item->node != NULL
               && json_node_get_value_type (item->node) == G_TYPE_BOOLEAN)
        pass = json_node_get_boolean (item->node);
      else
        pass = TRUE; /* a single non-boolean item converts to true */
    }
  else
    pass = FALSE; /* empty, or not a single value: not true */

  if (!pass)
    {
      if (result->len > 1)
        report (v, severity, "invariant", "constraint %s failed: %s (the expression gave %u items: %s)",
                c->key, c->human, result->len, inv->expression);
      else
        report (v, severity, "invariant", "constraint %s failed: %s", c->key, c->human);
    }
  g_ptr_array_unref (result);
}

/* The invariants of an element instance: those of its element definition, then those of its
 * type's root that the element does not repeat. */
static void
check_invariants (Validator                *v,
                  const ChartaElementDef   *el,
                  int                       t,
                  JsonNode                 *node,
                  JsonNode                 *extension)
{
  const ChartaTypeDef *td = t >= 0 ? &charta_model_types[t] : NULL;
  unsigned n_el = el != NULL ? el->n_constraints : 0;
  unsigned n_ty = td != NULL ? td->n_constraints : 0;
  ChartaFhirPathItem item = { 0 };
  const ChartaFhirPathItem *ctx = &item;

  if (n_el == 0 && n_ty == 0)
    return;

  item.kind = CHARTA_FHIRPATH_NODE;
  item.type = t;
  item.node = node;
  item.extension = extension;
  if (node == NULL && extension == NULL)
    ctx = NULL; /* the resource itself */

  for (unsigned i = 0; i < n_el; i++)
    check_invariant (v, el->first_constraint + i, ctx);
  for (unsigned i = 0; i < n_ty; i++)
    {
      unsigned ci = td->first_constraint + i;
      gboolean dup = FALSE;

      for (unsigned k = 0; k < n_el && !dup; k++)
        dup = strcmp (charta_model_constraints[el->first_constraint + k].key,
                      charta_model_constraints[ci].key) == 0;
      if (!dup)
        check_invariant (v, ci, ctx);
    }
}

/* ---- bindings ------------------------------------------------------------------------------ */

static gboolean
vs_has_system (Globals    *g,
               int         vs_index,
               const char *system)
{
  for (const char **s = g->vs_systems[vs_index]; *s != NULL; s++)
    if (strcmp (*s, system) == 0)
      return TRUE;
  return FALSE;
}

static const char *
get_string_member (JsonObject *obj,
                   const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* Whether a Coding object is in the value set; *from_vs says whether its system is one of the
 * value set's. */
static gboolean
coding_in_vs (Validator  *v,
              int         vs_index,
              JsonObject *coding,
              gboolean   *from_vs)
{
  const ChartaValueSetDef *vs = &charta_model_value_sets[vs_index];
  const char *system = get_string_member (coding, "system");
  const char *code = get_string_member (coding, "code");

  *from_vs = system != NULL && vs_has_system (v->g, vs_index, system);
  if (code == NULL)
    return FALSE;
  return charta_model_value_set_contains (vs, system, code);
}

static void
check_binding (Validator              *v,
               const ChartaElementDef *el,
               int                     t,
               JsonNode               *node)
{
  const ChartaValueSetDef *vs;

  if (el->binding < 0 || node == NULL)
    return;
  vs = &charta_model_value_sets[el->binding];
  if (!vs->is_complete)
    return;

  if (json_node_get_node_type (node) == JSON_NODE_VALUE)
    {
      const char *code;

      if (json_node_get_value_type (node) != G_TYPE_STRING)
        return;
      code = json_node_get_string (node);
      if (!charta_model_value_set_contains (vs, NULL, code))
        {
          g_autofree char *q = quote_string (code);
          report (v, CHARTA_ISSUE_ERROR, "code-invalid", "%s is not a code of the value set %s",
                  q, vs->url);
        }
      return;
    }
  if (json_node_get_node_type (node) != JSON_NODE_OBJECT)
    return;

  if (t == v->g->t_coding)
    {
      JsonObject *obj = json_node_get_object (node);
      gboolean from_vs;
      const char *code = get_string_member (obj, "code");

      if (code == NULL)
        return; /* a Coding without a code says nothing to check */
      if (!coding_in_vs (v, el->binding, obj, &from_vs))
        {
          const char *system = get_string_member (obj, "system");
          g_autofree char *q = quote_string (code);
          g_autofree char *qs = system != NULL ? quote_string (system) : g_strdup ("no system");

          report (v, CHARTA_ISSUE_ERROR, "code-invalid",
                  "%s (%s) is not a code of the value set %s", q, qs, vs->url);
        }
    }
  else if (t == v->g->t_codeable_concept)
    {
      JsonObject *obj = json_node_get_object (node);
      JsonNode *codings = json_object_get_member (obj, "coding");
      JsonArray *array;
      unsigned n_from_vs = 0, n_in_vs = 0;
      const char *bad_code = NULL;

      if (codings == NULL || json_node_get_node_type (codings) != JSON_NODE_ARRAY)
        return;
      array = json_node_get_array (codings);
      for (unsigned i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *c = json_array_get_element (array, i);
          gboolean from_vs;

          if (json_node_get_node_type (c) != JSON_NODE_OBJECT)
            continue;
          if (coding_in_vs (v, el->binding, json_node_get_object (c), &from_vs))
            n_in_vs++;
          else if (from_vs)
            {
              n_from_vs++;
              if (bad_code == NULL)
                bad_code = get_string_member (json_node_get_object (c), "code");
            }
        }
      /* Codings from other systems may stand beside the bound one; a coding from the value
       * set's own system must be one of its codes unless another coding is. */
      if (n_in_vs == 0 && n_from_vs > 0)
        {
          g_autofree char *q = bad_code != NULL ? quote_string (bad_code) : g_strdup ("(no code)");

          report (v, CHARTA_ISSUE_ERROR, "code-invalid",
                  "%s is not a code of the value set %s", q, vs->url);
        }
    }
}

/* ---- values -------------------------------------------------------------------------------- */

static void validate_object_members (Validator  *v,
                                     JsonObject *obj,
                                     int         type,
                                     gboolean    is_resource);
static void validate_nested_resource (Validator *v,
                                      JsonNode  *node,
                                      int        expected,
                                      gboolean   contained);

/* A value of the wrong JSON type for primitive type @t (checked as @kind). */
static void
report_wrong_json_type (Validator *v,
                        int        t,
                        PrimKind   kind,
                        JsonNode  *node)
{
  g_autofree char *d = describe_value (v, node);
  const char *name = kind == PRIM_ID ? "id" : type_name (t);

  switch (kind)
    {
    case PRIM_BOOLEAN:
      report (v, CHARTA_ISSUE_ERROR, "structure",
              "%s is not a boolean (boolean values are JSON true or false)", d);
      break;
    case PRIM_INTEGER:
    case PRIM_UNSIGNED_INT:
    case PRIM_POSITIVE_INT:
    case PRIM_DECIMAL:
      report (v, CHARTA_ISSUE_ERROR, "structure", "%s is not a number (%s values are JSON numbers)",
              d, name);
      break;
    default:
      report (v, CHARTA_ISSUE_ERROR, "structure", "%s is not a string (%s values are JSON strings)",
              d, name);
      break;
    }
}

/* A JSON primitive value of primitive type @t (not null, object or array: the caller checked).
 * @kind_override forces a checker (a resource's id). */
static void
check_primitive_value (Validator *v,
                       int        t,
                       PrimKind   kind_override,
                       JsonNode  *node)
{
  const TypeInfo *info = &v->g->types[t];
  PrimKind kind = kind_override != PRIM_NONE ? kind_override : info->prim;
  GType vt = json_node_get_value_type (node);

  switch (kind)
    {
    case PRIM_BOOLEAN:
      if (vt != G_TYPE_BOOLEAN)
        report_wrong_json_type (v, t, kind, node);
      return;

    case PRIM_INTEGER:
    case PRIM_UNSIGNED_INT:
    case PRIM_POSITIVE_INT:
      {
        const char *text;
        gint64 value;
        const char *p;
        gboolean neg;

        if (vt != G_TYPE_INT64 && vt != G_TYPE_DOUBLE)
          {
            report_wrong_json_type (v, t, kind, node);
            return;
          }
        text = charta_resource_get_number_text (v->root, node);
        if (text == NULL)
          {
            if (vt != G_TYPE_INT64)
              {
                g_autofree char *d = describe_value (v, node);
                report (v, CHARTA_ISSUE_ERROR, "value", "%s is not a valid %s (not a whole number)",
                        d, type_name (t));
                return;
              }
            value = json_node_get_int (node);
          }
        else
          {
            p = text;
            neg = *p == '-';
            if (neg)
              p++;
            for (const char *q = p; *q != '\0'; q++)
              if (!is_digit (*q))
                {
                  report (v, CHARTA_ISSUE_ERROR, "value",
                          "%s is not a valid %s (not a whole number)", text, type_name (t));
                  return;
                }
            if (strlen (p) > 10)
              value = neg ? G_MININT64 : G_MAXINT64;
            else
              value = g_ascii_strtoll (text, NULL, 10);
          }
        if (value < G_MININT32 || value > G_MAXINT32)
          report (v, CHARTA_ISSUE_ERROR, "value",
                  "%s is out of range for %s (-2147483648 to 2147483647)",
                  text != NULL ? text : "the number", type_name (t));
        else if (kind == PRIM_UNSIGNED_INT && value < 0)
          report (v, CHARTA_ISSUE_ERROR, "value", "%s is not a valid unsignedInt (negative)",
                  text != NULL ? text : "the number");
        else if (kind == PRIM_POSITIVE_INT && value < 1)
          report (v, CHARTA_ISSUE_ERROR, "value", "%s is not a valid positiveInt (must be 1 or more)",
                  text != NULL ? text : "the number");
        return;
      }

    case PRIM_DECIMAL:
      if (vt != G_TYPE_INT64 && vt != G_TYPE_DOUBLE)
        report_wrong_json_type (v, t, kind, node);
      return;

    case PRIM_NONE:
      return;

    default:
      {
        const char *s;
        const char *why;

        if (vt != G_TYPE_STRING)
          {
            report_wrong_json_type (v, t, kind, node);
            return;
          }
        s = json_node_get_string (node);
        {
          TypeInfo forced = { kind, info->regex };
          why = check_string_kind (kind_override != PRIM_NONE ? &forced : info, s, strlen (s));
        }
        if (why != NULL)
          {
            g_autofree char *q = quote_string (s);
            report (v, CHARTA_ISSUE_ERROR, "value", "%s is not a valid %s (%s)", q,
                    kind_override == PRIM_ID ? "id" : type_name (t), why);
          }
        return;
      }
    }
}

/* A primitive's "_name" object: id and extension only, not empty. */
static void
validate_primitive_extension (Validator *v,
                              JsonNode  *ext,
                              gboolean   has_value)
{
  JsonObject *obj;

  if (json_node_get_node_type (ext) != JSON_NODE_OBJECT)
    {
      g_autofree char *d = describe_value (v, ext);
      report (v, CHARTA_ISSUE_ERROR, "structure",
              "%s is not an object (a primitive's extensions are an object with id and extension)",
              d);
      return;
    }
  obj = json_node_get_object (ext);
  if (!has_value
      && (json_object_get_size (obj) == 0
          || (json_object_get_size (obj) == 1 && json_object_has_member (obj, "id"))))
    report (v, CHARTA_ISSUE_ERROR, "structure",
            "an element with neither a value nor extensions is not allowed (ele-1)");
  else if (json_object_get_size (obj) == 0)
    report (v, CHARTA_ISSUE_ERROR, "structure", "an empty object is not allowed (ele-1)");
  if (v->g->t_element >= 0)
    validate_object_members (v, obj, v->g->t_element, FALSE);
}

/* One instance of a complex, backbone or resource element. */
static void
validate_complex_instance (Validator              *v,
                           const ChartaElementDef *el,
                           int                     t,
                           JsonNode               *node)
{
  JsonObject *obj;
  unsigned n_members;

  if (json_node_get_node_type (node) != JSON_NODE_OBJECT)
    {
      g_autofree char *d = describe_value (v, node);
      report (v, CHARTA_ISSUE_ERROR, "structure", "%s is not an object (%s is a JSON object)",
              d, type_name (t));
      return;
    }
  if (charta_model_types[t].kind == CHARTA_TYPE_KIND_RESOURCE)
    {
      validate_nested_resource (v, node, t, strcmp (el->name, "contained") == 0);
      return;
    }

  obj = json_node_get_object (node);
  n_members = json_object_get_size (obj);
  if (n_members == 0 || (n_members == 1 && json_object_has_member (obj, "id")))
    report (v, CHARTA_ISSUE_ERROR, "structure",
            n_members == 0
              ? "an empty object is not allowed (ele-1: elements must have a value or children)"
              : "an element with only an id is not allowed (ele-1: elements must have a value or children)");

  validate_object_members (v, obj, t, FALSE);
  check_binding (v, el, t, node);
  check_invariants (v, el, t, node, NULL);
}

/* Gathers "#…" values for dom-3 (see struct Validator). */
static inline void
note_local_ref (Validator              *v,
                const ChartaElementDef *el,
                int                     t,
                JsonNode               *node)
{
  const char *s;
  PrimKind kind;

  if (json_node_get_value_type (node) != G_TYPE_STRING)
    return;
  s = json_node_get_string (node);
  if (s[0] != '#')
    return;
  kind = v->g->types[t].prim;
  if (kind != PRIM_URI && kind != PRIM_URL && kind != PRIM_CANONICAL
      && strcmp (el->name, "reference") != 0)
    return;
  if (v->local_refs == NULL)
    v->local_refs = g_ptr_array_new ();
  g_ptr_array_add (v->local_refs, (gpointer) s);
}

/* One primitive instance: @node the value (or NULL), @ext its "_name" object (or NULL); the
 * path's top is the value's member and index. */
static void
validate_primitive_instance (Validator              *v,
                             const ChartaElementDef *el,
                             int                     t,
                             PrimKind                kind_override,
                             JsonNode               *node,
                             JsonNode               *ext)
{
  if (node != NULL)
    {
      switch (json_node_get_node_type (node))
        {
        case JSON_NODE_VALUE:
          check_primitive_value (v, t, kind_override, node);
          check_binding (v, el, t, node);
          note_local_ref (v, el, t, node);
          break;
        case JSON_NODE_OBJECT:
        case JSON_NODE_ARRAY:
          report_wrong_json_type (v, t,
                                  kind_override != PRIM_NONE ? kind_override : v->g->types[t].prim,
                                  node);
          node = NULL;
          break;
        case JSON_NODE_NULL:
        default:
          report (v, CHARTA_ISSUE_ERROR, "structure", "null is not allowed");
          node = NULL;
          break;
        }
    }
  if (el->n_constraints > 0 || charta_model_types[t].n_constraints > 0)
    check_invariants (v, el, t, node, ext);
}

/* A member of @obj for element @el (instance type @t), with the value @node (NULL when only
 * "_name" is present) and @ext ("_name", or NULL).  Returns the number of values. */
static unsigned
validate_member (Validator              *v,
                 const ChartaElementDef *el,
                 int                     t,
                 PrimKind                kind_override,
                 const char             *name,
                 JsonNode               *node,
                 const char             *ext_name,
                 JsonNode               *ext)
{
  gboolean primitive = charta_model_types[t].kind == CHARTA_TYPE_KIND_PRIMITIVE;
  gboolean repeating = el->max < 0 || el->max > 1;
  unsigned count = 0;

  if (!repeating)
    {
      if (node != NULL)
        {
          path_push (v, name, -1);
          if (json_node_get_node_type (node) == JSON_NODE_ARRAY)
            report (v, CHARTA_ISSUE_ERROR, "structure",
                    "an array is not allowed: %s has at most one value", name);
          else if (json_node_get_node_type (node) == JSON_NODE_NULL && primitive)
            {
              report (v, CHARTA_ISSUE_ERROR, "structure", "null is not allowed");
            }
          else if (primitive)
            validate_primitive_instance (v, el, t, kind_override,
                                         node,
                                         ext != NULL
                                         && json_node_get_node_type (ext) == JSON_NODE_OBJECT
                                           ? ext : NULL);
          else
            validate_complex_instance (v, el, t, node);
          path_pop (v);
        }
      else if (ext != NULL)
        {
          /* the value's invariants are met below with the extension alone */
          path_push (v, name, -1);
          if (json_node_get_node_type (ext) == JSON_NODE_OBJECT)
            validate_primitive_instance (v, el, t, kind_override, NULL, ext);
          path_pop (v);
        }
      if (ext != NULL)
        {
          path_push (v, ext_name, -1);
          if (json_node_get_node_type (ext) == JSON_NODE_ARRAY)
            report (v, CHARTA_ISSUE_ERROR, "structure",
                    "an array is not allowed: %s has at most one value", name);
          else
            validate_primitive_extension (v, ext, node != NULL
                                                  && json_node_get_node_type (node) == JSON_NODE_VALUE);
          path_pop (v);
        }
      return 1;
    }

  /* repeating: arrays, with a parallel "_name" array for primitives */
  {
    JsonArray *values = NULL, *exts = NULL;
    unsigned n_values = 0, n_exts = 0;

    if (node != NULL)
      {
        path_push (v, name, -1);
        if (json_node_get_node_type (node) != JSON_NODE_ARRAY)
          {
            g_autofree char *d = describe_value (v, node);
            report (v, CHARTA_ISSUE_ERROR, "structure",
                    "%s is not an array: %s may repeat, so its values are always a JSON array",
                    d, name);
          }
        else
          {
            values = json_node_get_array (node);
            n_values = json_array_get_length (values);
            if (n_values == 0)
              report (v, CHARTA_ISSUE_ERROR, "structure", "an empty array is not allowed");
          }
        path_pop (v);
      }
    if (ext != NULL)
      {
        path_push (v, ext_name, -1);
        if (json_node_get_node_type (ext) != JSON_NODE_ARRAY)
          {
            g_autofree char *d = describe_value (v, ext);
            report (v, CHARTA_ISSUE_ERROR, "structure",
                    "%s is not an array: %s may repeat, so %s is a JSON array beside it", d,
                    name, ext_name);
          }
        else
          {
            exts = json_node_get_array (ext);
            n_exts = json_array_get_length (exts);
            if (n_exts == 0)
              report (v, CHARTA_ISSUE_ERROR, "structure", "an empty array is not allowed");
          }
        path_pop (v);
      }
    if (values != NULL && exts != NULL && n_values != n_exts)
      {
        path_push (v, ext_name, -1);
        report (v, CHARTA_ISSUE_ERROR, "structure",
                "%s has %u items but %s has %u: the two arrays must have the same length",
                ext_name, n_exts, name, n_values);
        path_pop (v);
      }

    if (values != NULL)
      {
        path_push (v, name, 0);
        for (unsigned i = 0; i < n_values; i++)
          {
            JsonNode *item = json_array_get_element (values, i);
            JsonNode *item_ext = exts != NULL && i < n_exts ? json_array_get_element (exts, i) : NULL;

            if (item_ext != NULL && json_node_get_node_type (item_ext) != JSON_NODE_OBJECT)
              item_ext = NULL;
            path_set_index (v, i);
            if (json_node_get_node_type (item) == JSON_NODE_NULL)
              {
                if (!primitive)
                  report (v, CHARTA_ISSUE_ERROR, "structure", "null is not allowed");
                else if (item_ext == NULL)
                  report (v, CHARTA_ISSUE_ERROR, "structure",
                          "null is only allowed where %s[%u] has extensions", ext_name, i);
                else
                  validate_primitive_instance (v, el, t, kind_override, NULL, item_ext);
              }
            else if (primitive)
              validate_primitive_instance (v, el, t, kind_override, item, item_ext);
            else
              validate_complex_instance (v, el, t, item);
          }
        path_pop (v);
        count = n_values;
      }
    if (exts != NULL)
      {
        path_push (v, ext_name, 0);
        for (unsigned i = 0; i < n_exts; i++)
          {
            JsonNode *item = json_array_get_element (exts, i);
            JsonNode *value = values != NULL && i < n_values ? json_array_get_element (values, i) : NULL;
            gboolean has_value = value != NULL && json_node_get_node_type (value) == JSON_NODE_VALUE;

            path_set_index (v, i);
            if (json_node_get_node_type (item) == JSON_NODE_NULL)
              {
                if (!has_value)
                  report (v, CHARTA_ISSUE_ERROR, "structure",
                          "null is only allowed where %s[%u] has a value", name, i);
                continue;
              }
            if (values == NULL)
              {
                /* extensions only: each is a value of the element */
                path_pop (v);
                path_push (v, name, i);
                if (json_node_get_node_type (item) == JSON_NODE_OBJECT)
                  validate_primitive_instance (v, el, t, kind_override, NULL, item);
                path_pop (v);
                path_push (v, ext_name, i);
              }
            validate_primitive_extension (v, item, has_value);
          }
        path_pop (v);
        count = MAX (count, n_exts);
      }
  }

  if (el->max >= 0 && count > (unsigned) el->max)
    {
      path_push (v, name, -1);
      report (v, CHARTA_ISSUE_ERROR, "structure", "%u values, but at most %d are allowed", count,
              el->max);
      path_pop (v);
    }
  return count;
}

/* An unknown member: say so, and name the allowed types when it looks like a choice. */
static void
report_unknown (Validator  *v,
                int         type,
                const char *name)
{
  const ChartaTypeDef *td = &charta_model_types[type];

  path_push (v, name, -1);
  for (unsigned i = 0; i < td->n_elements; i++)
    {
      const ChartaElementDef *el = &charta_model_elements[td->first_element + i];
      size_t len = strlen (el->name);

      if (el->is_choice && strncmp (name, el->name, len) == 0 && g_ascii_isupper (name[len]))
        {
          GString *allowed = g_string_new (NULL);

          for (unsigned k = 0; k < el->n_types && k < 8; k++)
            {
              const char *tn = type_name (charta_model_element_types[el->first_type + k].type);

              if (k > 0)
                g_string_append (allowed, ", ");
              g_string_append (allowed, el->name);
              g_string_append_c (allowed, g_ascii_toupper (tn[0]));
              g_string_append (allowed, tn + 1);
            }
          if (el->n_types > 8)
            g_string_append (allowed, ", …");
          report (v, CHARTA_ISSUE_ERROR, "structure",
                  "unknown element: %s is not an allowed type of %s[x] (allowed: %s)", name + len,
                  el->name, allowed->str);
          g_string_free (allowed, TRUE);
          path_pop (v);
          return;
        }
    }
  report (v, CHARTA_ISSUE_ERROR, "structure", "unknown element \"%s\" (%s has no such element)",
          name, td->name);
  path_pop (v);
}

typedef struct
{
  const char *name;  /* borrowed from the tree */
  JsonNode *node;
} Member;

/* Deeper objects are reported, not walked: the walk recurses once per level, and the parser's
 * depth limit may be raised.  No FHIR resource comes near. */
#define MAX_WALK_DEPTH 1000u

/* The member @name, or with @underscored its "_name" partner. */
static JsonNode *
find_member (const Member *members,
             unsigned      n_members,
             const char   *name,
             gboolean      underscored)
{
  for (unsigned i = 0; i < n_members; i++)
    {
      const char *m = members[i].name;

      if (underscored)
        {
          if (m[0] == '_' && strcmp (m + 1, name) == 0)
            return members[i].node;
        }
      else if (strcmp (m, name) == 0)
        return members[i].node;
    }
  return NULL;
}

static const char *
find_member_name (const Member *members,
                  unsigned      n_members,
                  JsonNode     *node)
{
  for (unsigned i = 0; i < n_members; i++)
    if (members[i].node == node)
      return members[i].name;
  return NULL;
}

static void
validate_object_members (Validator  *v,
                         JsonObject *obj,
                         int         type,
                         gboolean    is_resource)
{
  const ChartaTypeDef *td = &charta_model_types[type];
  unsigned n = td->n_elements;
  unsigned *counts = g_newa (unsigned, MAX (n, 1));
  Member stack_members[32];
  g_autofree Member *heap_members = NULL;
  Member *members = stack_members;
  unsigned n_members = json_object_get_size (obj), n_underscored = 0, k = 0;
  const char *name;
  JsonNode *node;

  memset (counts, 0, sizeof (unsigned) * MAX (n, 1));

  if (v->depth >= MAX_WALK_DEPTH)
    {
      report (v, CHARTA_ISSUE_ERROR, "too-costly",
              "nested more than %u objects deep: not validated further", MAX_WALK_DEPTH);
      return;
    }
  v->depth++;

  /* The members in document order (so that problems are reported in the order a reader meets
   * them), gathered first so that a primitive finds its "_name" without a lookup by name. */
  if (n_members > G_N_ELEMENTS (stack_members))
    members = heap_members = g_new (Member, n_members);
  {
    const char *stack_names[G_N_ELEMENTS (stack_members)];
    JsonNode *stack_nodes[G_N_ELEMENTS (stack_members)];
    g_autofree const char **heap_names = NULL;
    g_autofree JsonNode **heap_nodes = NULL;
    const char **names = stack_names;
    JsonNode **nodes = stack_nodes;

    if (n_members > G_N_ELEMENTS (stack_members))
      {
        names = heap_names = g_new (const char *, n_members);
        nodes = heap_nodes = g_new (JsonNode *, n_members);
      }
    n_members = n_members > 0 ? charta_json_object_members (obj, names, nodes) : 0;
    for (; k < n_members; k++)
      {
        members[k].name = names[k];
        members[k].node = nodes[k];
        n_underscored += names[k][0] == '_';
      }
  }

  for (unsigned i = 0; i < n_members; i++)
    {
      const ChartaElementDef *el;
      int choice_type = -1;
      int t;
      JsonNode *main_node, *ext = NULL;
      const char *base, *ext_name = NULL;
      unsigned idx;

      name = members[i].name;
      node = members[i].node;
      main_node = node;
      base = name;

      if (is_resource && name[0] == 'r' && strcmp (name, "resourceType") == 0)
        continue;

      if (name[0] == '_')
        {
          base = name + 1;
          el = charta_model_find_element (type, base, &choice_type);
          if (el == NULL)
            {
              report_unknown (v, type, name);
              continue;
            }
          t = element_type (el, choice_type);
          if (t < 0 || charta_model_types[t].kind != CHARTA_TYPE_KIND_PRIMITIVE)
            {
              path_push (v, name, -1);
              report (v, CHARTA_ISSUE_ERROR, "structure",
                      "unknown element: \"%s\" is only allowed beside a primitive element, and %s "
                      "is %s", name, base, t >= 0 ? type_name (t) : "not a primitive");
              path_pop (v);
              continue;
            }
          main_node = find_member (members, n_members, base, FALSE);
          if (main_node != NULL)
            continue; /* checked with its value */
          ext = node;
          ext_name = name;
        }
      else
        {
          el = charta_model_find_element (type, name, &choice_type);
          if (el == NULL)
            {
              report_unknown (v, type, name);
              continue;
            }
          t = element_type (el, choice_type);
          if (t < 0)
            continue;
          if (n_underscored > 0 && charta_model_types[t].kind == CHARTA_TYPE_KIND_PRIMITIVE)
            {
              ext = find_member (members, n_members, name, TRUE);
              if (ext != NULL)
                ext_name = find_member_name (members, n_members, ext);
            }
          if (ext_name == NULL)
            ext_name = "_"; /* not shown: only named in messages about "_name" */
        }

      idx = (unsigned) (el - &charta_model_elements[td->first_element]);
      g_assert (idx < n);
      if (el->is_choice && counts[idx] > 0)
        {
          path_push (v, name, -1);
          report (v, CHARTA_ISSUE_ERROR, "structure",
                  "%s[x] may have only one value, and another type of it is present too",
                  el->name);
          path_pop (v);
        }
      counts[idx] += validate_member (v, el, t,
                                      is_resource && strcmp (base, "id") == 0 ? PRIM_ID : PRIM_NONE,
                                      base, main_node, ext_name, ext);
    }

  v->depth--;

  for (unsigned i = 0; i < n; i++)
    {
      const ChartaElementDef *el = &charta_model_elements[td->first_element + i];

      if (el->min > 0 && counts[i] < el->min)
        {
          g_autofree char *shown = el->is_choice ? g_strconcat (el->name, "[x]", NULL)
                                                 : g_strdup (el->name);

          path_push (v, shown, -1);
          if (counts[i] == 0)
            report (v, CHARTA_ISSUE_ERROR, "required", "required element is missing (%s is %u..%s)",
                    el->path, el->min, el->max < 0 ? "*" : el->max == 1 ? "1" : "n");
          else
            report (v, CHARTA_ISSUE_ERROR, "required", "%u values, but at least %u are required",
                    counts[i], el->min);
          path_pop (v);
        }
    }
}

/* @node: the resource's node when it is contained (its invariants then run with the container
 * as %resource and %rootResource, and the contained resource as the focus), else NULL. */
static void
validate_resource_body (Validator  *v,
                        JsonObject *obj,
                        int         t,
                        JsonNode   *node)
{
  validate_object_members (v, obj, t, TRUE);
  check_invariants (v, NULL, t, node, NULL);
}

static void
validate_nested_resource (Validator *v,
                          JsonNode  *node,
                          int        expected,
                          gboolean   contained)
{
  JsonObject *obj = json_node_get_object (node);
  JsonNode *rt_node = json_object_get_member (obj, "resourceType");
  const char *rt;
  int t;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) nested = NULL;
  ChartaResource *saved;
  unsigned saved_refs, saved_contained;
  int saved_type;

  if (rt_node == NULL)
    {
      report (v, CHARTA_ISSUE_ERROR, "structure", "a resource needs a resourceType");
      return;
    }
  if (json_node_get_value_type (rt_node) != G_TYPE_STRING)
    {
      g_autofree char *d = describe_value (v, rt_node);
      report (v, CHARTA_ISSUE_ERROR, "structure", "resourceType %s is not a string", d);
      return;
    }
  rt = json_node_get_string (rt_node);
  t = charta_model_find_type (rt);
  if (t < 0 || charta_model_types[t].kind != CHARTA_TYPE_KIND_RESOURCE)
    {
      g_autofree char *q = quote_string (rt);
      report (v, CHARTA_ISSUE_ERROR, "structure", "resourceType %s is not an R4 resource type", q);
      return;
    }
  if (charta_model_types[t].is_abstract)
    {
      g_autofree char *q = quote_string (rt);
      report (v, CHARTA_ISSUE_ERROR, "structure",
              "resourceType %s is abstract: a resource has a concrete type", q);
      return;
    }
  if (expected >= 0 && !charta_model_type_is_a (t, expected))
    {
      g_autofree char *q = quote_string (rt);
      report (v, CHARTA_ISSUE_ERROR, "structure", "resourceType %s is not allowed here (a %s is)",
              q, type_name (expected));
      return;
    }
  if (contained)
    {
      /* A contained resource lives in its container: FHIRPath's %rootResource (ref-1 looks
       * for "#id" targets there) is the container, so it is walked as part of it. */
      ContainedSeen seen = { obj, 0, 0 };

      if (!json_object_has_member (obj, "id"))
        report (v, CHARTA_ISSUE_ERROR, "required",
                "a contained resource needs an id (it is referenced as #id)");
      seen.first_ref = v->local_refs != NULL ? v->local_refs->len : 0;
      validate_resource_body (v, obj, t, node);
      seen.end_ref = v->local_refs != NULL ? v->local_refs->len : 0;
      if (v->contained == NULL)
        v->contained = g_array_new (FALSE, FALSE, sizeof (ContainedSeen));
      g_array_append_val (v->contained, seen);
      return;
    }

  /* A Bundle entry's or a Parameters resource: a resource of its own for FHIRPath */
  nested = charta_resource_new_nested (v->current, node, &error);
  if (nested == NULL)
    {
      report (v, CHARTA_ISSUE_ERROR, "structure", "%s", error->message);
      return;
    }
  saved = v->current;
  saved_refs = v->local_refs != NULL ? v->local_refs->len : 0;
  saved_contained = v->contained != NULL ? v->contained->len : 0;
  saved_type = v->current_type;
  v->current = nested;
  v->current_type = t;
  validate_resource_body (v, obj, t, NULL);
  v->current = saved;
  v->current_type = saved_type;
  if (v->local_refs != NULL)
    g_ptr_array_set_size (v->local_refs, saved_refs);
  if (v->contained != NULL)
    g_array_set_size (v->contained, saved_contained);
}

gboolean
charta_validate_resource (ChartaResource *resource,
                          ChartaOutcome  *outcome)
{
  Validator v = { 0 };
  const char *rt;
  int t;

  g_return_val_if_fail (resource != NULL, FALSE);
  g_return_val_if_fail (outcome != NULL, FALSE);

  v.g = globals_get ();
  v.outcome = outcome;
  v.root = resource;
  v.current = resource;
  v.path = g_array_sized_new (FALSE, FALSE, sizeof (PathSegment), 32);

  rt = charta_resource_get_resource_type (resource);
  t = rt != NULL ? charta_model_find_type (rt) : -1;
  path_push (&v, rt != NULL ? rt : "Resource", -1);
  if (t < 0 || charta_model_types[t].kind != CHARTA_TYPE_KIND_RESOURCE)
    report (&v, CHARTA_ISSUE_ERROR, "structure", "resourceType \"%s\" is not an R4 resource type",
            rt != NULL ? rt : "");
  else if (charta_model_types[t].is_abstract)
    report (&v, CHARTA_ISSUE_ERROR, "structure",
            "resourceType \"%s\" is abstract: a resource has a concrete type", rt);
  else
    {
      v.current_type = t;
      validate_resource_body (&v, charta_resource_get_object (resource), t, NULL);
    }

  g_array_free (v.path, TRUE);
  if (v.local_refs != NULL)
    g_ptr_array_unref (v.local_refs);
  if (v.contained != NULL)
    g_array_unref (v.contained);
  return v.n_errors == 0;
}

gboolean
charta_validate (ChartaResource *resource,
                 GError        **error)
{
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  GString *message;
  unsigned n;

  if (charta_validate_resource (resource, outcome))
    return TRUE;

  message = g_string_new (NULL);
  n = charta_outcome_get_n_issues (outcome);
  for (unsigned i = 0; i < n; i++)
    {
      const ChartaIssue *issue = charta_outcome_get_issue (outcome, i);

      if (issue->severity != CHARTA_ISSUE_ERROR && issue->severity != CHARTA_ISSUE_FATAL)
        continue;
      if (message->len > 0)
        g_string_append_c (message, '\n');
      g_string_append (message, issue->diagnostics);
    }
  g_set_error_literal (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID, message->str);
  g_string_free (message, TRUE);
  return FALSE;
}

/* ---- private API for the tests ------------------------------------------------------------- */

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

char **
charta_validate_dup_skipped_invariants (void)
{
  Globals *g = globals_get ();
  GPtrArray *list = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_mutex_lock (&g->skip_lock);
  g_hash_table_iter_init (&iter, g->skipped);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (list, g_strdup (key));
  g_mutex_unlock (&g->skip_lock);
  g_ptr_array_sort (list, compare_strings);
  g_ptr_array_add (list, NULL);
  return (char **) g_ptr_array_free (list, FALSE);
}

char **
charta_validate_dup_errata (void)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  char **list;

  for (unsigned i = 0; i < G_N_ELEMENTS (errata); i++)
    {
      g_autofree char *entry = g_strdup_printf ("%s: %s; evaluated as: %s", errata[i].key,
                                                errata[i].why, errata[i].expression);

      g_strv_builder_add (builder, entry);
    }
  list = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return list;
}

void
charta_validate_set_native_checks (gboolean enabled)
{
  use_native_checks = enabled;
}

unsigned
charta_validate_compile_all_invariants (void)
{
  Globals *g = globals_get ();
  unsigned n = 0;

  for (unsigned i = 0; i < charta_model_n_constraints; i++)
    {
      if (strcmp (charta_model_constraints[i].key, "ele-1") == 0)
        continue;
      get_invariant (g, i);
      n++;
    }
  return n;
}
