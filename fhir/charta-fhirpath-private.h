/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-fhirpath-private.h: the compiled form of a FHIRPath expression, shared by the parser
 * (charta-fhirpath-parser.c), the evaluator (charta-fhirpath.c) and the value helpers
 * (charta-fhirpath-values.c).
 *
 * A compiled expression is a tree of FpNode.  Everything that can be decided before evaluation
 * is decided at compile time: function names become an FpFunction code, type specifiers
 * (`is Patient`, `ofType(FHIR.string)`) become model type indices and System kinds, constant
 * variables (%ucum, %`vs-…`) become string literals, literals are parsed into items.  The tree
 * is immutable after compilation, except for the per-member navigation caches, which are only
 * ever written with atomic pointer stores of immutable, never-freed entries.
 */
#pragma once

#include "charta-fhirpath.h"
#include "charta-model.h"

G_BEGIN_DECLS

typedef enum
{
  FP_NODE_EMPTY,      /* {} */
  FP_NODE_LITERAL,    /* node->literal */
  FP_NODE_MEMBER,     /* an identifier, navigated on each item of the focus */
  FP_NODE_FUNCTION,   /* node->function applied to the focus, node->args */
  FP_NODE_THIS,       /* $this */
  FP_NODE_INDEX,      /* $index */
  FP_NODE_TOTAL,      /* $total */
  FP_NODE_VARIABLE,   /* %resource, %rootResource, %context (node->variable) */
  FP_NODE_DOT,        /* left.right: right evaluated with left's result as focus */
  FP_NODE_INDEXER,    /* left[right] */
  FP_NODE_NEGATE,     /* -operand (left) */
  FP_NODE_POSITIVE,   /* +operand (left) */
  FP_NODE_BINARY,     /* left op right (node->op) */
  FP_NODE_IS,         /* left is type */
  FP_NODE_AS,         /* left as type */
} FpNodeKind;

typedef enum
{
  FP_OP_MUL, FP_OP_DIV, FP_OP_INTDIV, FP_OP_MOD,
  FP_OP_ADD, FP_OP_SUB, FP_OP_CONCAT,
  FP_OP_UNION,
  FP_OP_LT, FP_OP_GT, FP_OP_LE, FP_OP_GE,
  FP_OP_EQ, FP_OP_EQUIV, FP_OP_NE, FP_OP_NEQUIV,
  FP_OP_IN, FP_OP_CONTAINS,
  FP_OP_AND,
  FP_OP_OR, FP_OP_XOR,
  FP_OP_IMPLIES,
} FpOp;

typedef enum
{
  FP_VAR_RESOURCE,
  FP_VAR_ROOT_RESOURCE,
  FP_VAR_CONTEXT,
} FpVariable;

typedef enum
{
  /* existence */
  FP_FN_EMPTY, FP_FN_EXISTS, FP_FN_ALL, FP_FN_ALL_TRUE, FP_FN_ANY_TRUE, FP_FN_ALL_FALSE,
  FP_FN_ANY_FALSE, FP_FN_SUBSET_OF, FP_FN_SUPERSET_OF, FP_FN_COUNT, FP_FN_DISTINCT,
  FP_FN_IS_DISTINCT,
  /* filtering and projection */
  FP_FN_WHERE, FP_FN_SELECT, FP_FN_REPEAT, FP_FN_OF_TYPE,
  /* subsetting */
  FP_FN_SINGLE, FP_FN_FIRST, FP_FN_LAST, FP_FN_TAIL, FP_FN_SKIP, FP_FN_TAKE, FP_FN_INTERSECT,
  FP_FN_EXCLUDE,
  /* combining */
  FP_FN_UNION, FP_FN_COMBINE,
  /* conversion */
  FP_FN_IIF, FP_FN_TO_BOOLEAN, FP_FN_CONVERTS_TO_BOOLEAN, FP_FN_TO_INTEGER,
  FP_FN_CONVERTS_TO_INTEGER, FP_FN_TO_DECIMAL, FP_FN_CONVERTS_TO_DECIMAL, FP_FN_TO_STRING,
  FP_FN_CONVERTS_TO_STRING, FP_FN_TO_DATE, FP_FN_CONVERTS_TO_DATE, FP_FN_TO_DATETIME,
  FP_FN_CONVERTS_TO_DATETIME, FP_FN_TO_TIME, FP_FN_CONVERTS_TO_TIME, FP_FN_TO_QUANTITY,
  FP_FN_CONVERTS_TO_QUANTITY,
  /* strings */
  FP_FN_INDEX_OF, FP_FN_SUBSTRING, FP_FN_STARTS_WITH, FP_FN_ENDS_WITH, FP_FN_CONTAINS,
  FP_FN_UPPER, FP_FN_LOWER, FP_FN_REPLACE, FP_FN_MATCHES, FP_FN_MATCHES_FULL,
  FP_FN_REPLACE_MATCHES, FP_FN_LENGTH, FP_FN_TO_CHARS, FP_FN_TRIM, FP_FN_SPLIT, FP_FN_JOIN,
  FP_FN_ENCODE, FP_FN_DECODE, FP_FN_ESCAPE, FP_FN_UNESCAPE,
  /* math */
  FP_FN_ABS, FP_FN_CEILING, FP_FN_EXP, FP_FN_FLOOR, FP_FN_LN, FP_FN_LOG, FP_FN_POWER,
  FP_FN_ROUND, FP_FN_SQRT, FP_FN_TRUNCATE,
  /* tree navigation */
  FP_FN_CHILDREN, FP_FN_DESCENDANTS,
  /* utility */
  FP_FN_TRACE, FP_FN_NOW, FP_FN_TODAY, FP_FN_TIME_OF_DAY, FP_FN_NOT, FP_FN_AGGREGATE,
  FP_FN_SORT,
  /* types */
  FP_FN_IS, FP_FN_AS, FP_FN_TYPE,
  /* FHIR additions */
  FP_FN_EXTENSION, FP_FN_HAS_VALUE, FP_FN_GET_VALUE, FP_FN_RESOLVE, FP_FN_MEMBER_OF,
  FP_FN_CONFORMS_TO, FP_FN_HTML_CHECKS, FP_FN_LOW_BOUNDARY, FP_FN_HIGH_BOUNDARY,
  FP_FN_PRECISION, FP_FN_COMPARABLE,
  FP_N_FUNCTIONS
} FpFunction;

/* A type named in `is`, `as`, ofType(): a model type (FHIR namespace) and/or a System kind. */
typedef struct
{
  int model_type;        /* model type index, -1 when the name is not a FHIR type */
  int system_kind;       /* ChartaFhirPathKind of a System type (BOOLEAN…QUANTITY), -1 if none */
} FpTypeSpec;

/* One way an element can appear in JSON: "valueQuantity" for Observation.value[x]. */
typedef struct
{
  const char *json_name;     /* "valueQuantity" */
  const char *ext_name;      /* "_valueQuantity" (used for primitives only) */
  int type;                  /* model type index of items found under that name */
  bool is_primitive;
  bool is_resource;          /* abstract Resource/DomainResource: the item type comes from
                              * the JSON object's resourceType */
} FpNavAlt;

/* How to navigate to member `name` from an item of model type `type`; interned forever. */
typedef struct
{
  int type;
  const ChartaElementDef *element;  /* NULL when @type has no such element */
  bool type_matches;         /* `name` is a type name that @type is (or derives from) */
  unsigned n_alts;
  FpNavAlt alts[];
} FpNavInfo;

#define FP_NAV_CACHE 4

typedef struct _FpNode FpNode;

struct _FpNode
{
  FpNodeKind kind;
  unsigned position;         /* offset in the expression, for messages */
  unsigned height;           /* 1 for a leaf; bounds the evaluator's recursion */
  FpNode *left;
  FpNode *right;
  FpOp op;
  /* MEMBER */
  char *name;                /* interned (g_intern_string) */
  FpNavInfo *nav_cache[FP_NAV_CACHE]; /* atomically replaced; entries are never freed */
  /* FUNCTION */
  FpFunction function;
  unsigned n_args;
  FpNode **args;
  FpTypeSpec type_spec;      /* IS, AS, and the functions is/as/ofType */
  /* VARIABLE */
  FpVariable variable;
  /* FUNCTION matches/matchesFull/replaceMatches with a literal pattern: the compiled GRegex,
   * set once (atomically) on first use */
  gpointer regex;
  /* LITERAL: the value; strings point into the tree */
  ChartaFhirPathItem literal;
};

struct _ChartaFhirPath
{
  gatomicrefcount ref_count;
  char *expression;
  FpNode *root;
  GPtrArray *nodes;          /* every FpNode of the tree, for freeing */
  GStringChunk *strings;     /* literal texts */
};

/* charta-fhirpath-parser.c */
FpNode      *fp_parse               (ChartaFhirPath *self,
                                     GError        **error);

/* Well-known model types and per-type facts, computed once. */
typedef struct
{
  int quantity;
  int reference;
  int extension;
  int resource;
  int domain_resource;
  int element;
  int string;
  int uri;
  int canonical;
  int narrative;
  int coding;
  int codeable_concept;
  int8_t *system_kind;       /* per model type: the System kind of a primitive (BOOLEAN…),
                              * QUANTITY for Quantity and its subtypes, NODE otherwise */
} FpModelInfo;

const FpModelInfo *fp_model_info     (void);
FpNavInfo         *fp_nav_info_lookup (int             type,
                                       const char     *interned_name);

/* charta-fhirpath-values.c: dates, times and quantities. */

typedef enum
{
  FP_PREC_YEAR = 1,
  FP_PREC_MONTH,
  FP_PREC_DAY,
  FP_PREC_HOUR,
  FP_PREC_MINUTE,
  FP_PREC_SECOND,   /* seconds, with or without a fraction */
} FpPrecision;

typedef struct
{
  int year, month, day, hour, minute, second;
  int millis;          /* fraction of a second, in milliseconds */
  int frac_digits;     /* digits written after the seconds' point (0 if none) */
  int tz_minutes;      /* offset east of UTC */
  bool has_tz;
  bool tz_is_z;        /* the zone was written "Z" */
  bool has_date;       /* false for a Time */
  bool has_time_part;  /* a 'T' was written (DateTime) */
  FpPrecision precision;
} FpDateTime;

/* Parses FHIR/FHIRPath date, dateTime, instant or time text (without '@'); @kind is
 * CHARTA_FHIRPATH_DATE, _DATETIME or _TIME.  Returns FALSE when the text is not one. */
gboolean  fp_datetime_parse     (const char  *text,
                                 ChartaFhirPathKind kind,
                                 FpDateTime  *out);
char     *fp_datetime_format    (const FpDateTime *dt);
/* -1, 0, 1; or 2 when the comparison is undetermined (precisions differ where it matters). */
int       fp_datetime_compare   (const FpDateTime *a,
                                 const FpDateTime *b);
/* Adds @value of calendar @unit ("year", "month", … "millisecond"), FALSE when @unit is not
 * usable with that value. */
gboolean  fp_datetime_add       (FpDateTime  *dt,
                                 double       value,
                                 const char  *unit);

/* lowBoundary()/highBoundary(): fills what @dt leaves unsaid with the earliest (latest)
 * value up to @digits digits of precision (4 year … 17 millisecond; a Time 2 … 9); FALSE
 * for a precision that does not exist. */
gboolean  fp_datetime_boundary  (FpDateTime  *dt,
                                 int          digits,
                                 gboolean     high);
/* The same for a decimal with @places decimal places, as text with @precision places. */
char     *fp_decimal_boundary   (double       value,
                                 int          places,
                                 int          precision,
                                 gboolean     high);

/* Quantities: the factor that brings @unit to its base unit, and the base unit's dimension
 * name ("g", "m", "s", …); FALSE for an unknown unit. */
gboolean  fp_unit_canonical     (const char  *unit,
                                 double      *factor,
                                 const char **dimension);
/* The UCUM code of a calendar duration keyword ("days" -> "d"), or NULL. */
const char *fp_calendar_unit_ucum (const char *unit);
/* A calendar keyword ("year", "days", …) normalised to the singular, or NULL. */
const char *fp_calendar_unit_normalize (const char *unit);

/* Decimal text helpers. */
int       fp_decimal_places     (const char *text);
char     *fp_format_decimal     (double      value);

G_END_DECLS
