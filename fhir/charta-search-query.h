/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-search-query.h: a FHIR R4 search request, parsed and typed.
 *
 * charta_search_query_parse() reads the query string of a search ("name=peter&birthdate=ge1970"
 * after the '?', as it arrives over HTTP: '&'-separated, percent-encoded, '+' for a space) for
 * one resource type, or for the whole store, and gives a ChartaSearchQuery: the conditions
 * (ANDed clauses of ORed values, each value parsed for its parameter's type: a date as the range
 * of instants it covers, a number with the range its precision implies, a token split into
 * system and code, …) and the result controls (_count, _sort, _include, _summary, …).  It
 * follows search.html of FHIR R4: comma = OR, a repeated parameter = AND, '\' escapes ',', '$'
 * and '|' inside values; prefixes eq ne gt lt ge le sa eb ap on dates, numbers and quantities;
 * modifiers by parameter type; chains (subject:Patient.name=…, several levels) and reverse
 * chains (_has:Observation:patient:code=…, nested).
 *
 * What is wrong is an error in CHARTA_FHIR_ERROR that names the parameter and value: a
 * malformed value (CHARTA_FHIR_ERROR_INVALID, "birthdate: “19xx” is not a valid date"), a
 * modifier the parameter's type does not take or that does not exist, a chain through a
 * parameter that is not a reference, a query past the limits (CHARTA_FHIR_ERROR_TOO_LARGE, or
 * TOO_DEEP for chains and _has nested more than four deep).  (Prefixes are read on dates,
 * numbers and quantities only: on other types "gtx" is just a value.)  A parameter the type does
 * not have is ignored and listed in @unknown (so the endpoint can report it in an
 * OperationOutcome), or is an error (CHARTA_FHIR_ERROR_UNKNOWN_PARAMETER) with
 * CHARTA_SEARCH_QUERY_STRICT (`Prefer: handling=strict`).  Search features this version does not
 * implement are CHARTA_FHIR_ERROR_UNSUPPORTED, never silently ignored.
 *
 * The query knows nothing of storage: the store's search compiler turns it into SQL.
 */
#pragma once

#include <stdint.h>

#include "charta-model.h"

G_BEGIN_DECLS

typedef enum
{
  CHARTA_SEARCH_MODIFIER_NONE,
  CHARTA_SEARCH_MODIFIER_MISSING,     /* any type; the value is true or false */
  CHARTA_SEARCH_MODIFIER_EXACT,       /* string */
  CHARTA_SEARCH_MODIFIER_CONTAINS,    /* string, uri */
  CHARTA_SEARCH_MODIFIER_TEXT,        /* token: the text or display, prefix-matched as a string */
  CHARTA_SEARCH_MODIFIER_NOT,         /* token */
  CHARTA_SEARCH_MODIFIER_ABOVE,       /* token, uri */
  CHARTA_SEARCH_MODIFIER_BELOW,       /* token, uri */
  CHARTA_SEARCH_MODIFIER_IN,          /* token: the value is a ValueSet url */
  CHARTA_SEARCH_MODIFIER_NOT_IN,      /* token */
  CHARTA_SEARCH_MODIFIER_OF_TYPE,     /* token on an Identifier: type-system|type-code|value */
  CHARTA_SEARCH_MODIFIER_IDENTIFIER,  /* reference: matched on Reference.identifier */
  CHARTA_SEARCH_MODIFIER_TYPE,        /* reference :[type] (the type is the clause's target_type) */
} ChartaSearchModifier;

typedef enum
{
  CHARTA_SEARCH_PREFIX_EQ,
  CHARTA_SEARCH_PREFIX_NE,
  CHARTA_SEARCH_PREFIX_GT,
  CHARTA_SEARCH_PREFIX_LT,
  CHARTA_SEARCH_PREFIX_GE,
  CHARTA_SEARCH_PREFIX_LE,
  CHARTA_SEARCH_PREFIX_SA,
  CHARTA_SEARCH_PREFIX_EB,
  CHARTA_SEARCH_PREFIX_AP,
} ChartaSearchPrefix;

/* One value of a clause.  Which fields are set depends on the parameter's type (and the
 * modifier); the others are NULL / 0. */
typedef struct _ChartaSearchValue ChartaSearchValue;

struct _ChartaSearchValue
{
  char *text;                  /* the value as written (a prefix included), percent-decoding and
                                * '\' escapes undone */
  ChartaSearchPrefix prefix;   /* DATE, NUMBER, QUANTITY (EQ when none was written) */

  /* STRING: @text normalised as the index normalises (charta_search_normalize_string()).
   * TOKEN with :text: the same, of the text searched for. */
  char *normalized;

  /* TOKEN (and REFERENCE with :identifier): "code" gives system NULL, code; "system|code" both;
   * "|code" system "" (no system), code; "system|" system, code NULL (any code).
   * With :of-type, "type-system|type-code|value": @type_system, @type_code and @code. */
  char *system;
  char *code;
  char *type_system;
  char *type_code;

  /* DATE: the instants the value covers, [low, high] in µs since the epoch (UTC), honouring
   * the precision written: "2020" is the whole year. */
  int64_t date_low;
  int64_t date_high;

  /* NUMBER, QUANTITY: the value, and the range its precision implies ("2.0": [1.95, 2.05]).
   * QUANTITY "5.4|http://unitsofmeasure.org|mg": @unit_system and @unit_code (NULL when left
   * out: "5.4||mg" gives unit_system NULL, unit_code "mg", matching the code or unit text). */
  double number;
  double number_low;
  double number_high;
  char *unit_system;
  char *unit_code;

  /* REFERENCE: "Patient/7" (type, id), "7" (id only: any target type, or the clause's
   * target_type), "Patient/7/_history/2" (and version), an absolute url (@ref_url; also type
   * and id when it ends in Type/id). */
  char *ref_type;
  char *ref_id;
  char *ref_version;
  char *ref_url;

  /* URI: @text. */

  /* :missing */
  gboolean missing;

  /* COMPOSITE: the values of the components, in the parameter's component order, each parsed
   * for its component's type ("code-value-quantity=http://loinc.org|8480-6$gt100"). */
  GPtrArray *components;       /* ChartaSearchValue * */
};

typedef struct _ChartaSearchClause ChartaSearchClause;

/* One condition: a parameter, its modifier, and values of which any may match (OR).  The
 * clauses of a query all must match (AND). */
struct _ChartaSearchClause
{
  char *name;                          /* the parameter as written, without modifier */
  const ChartaSearchParamDef *param;   /* its definition for the clause's resource type; NULL
                                        * for _has and _list */
  char *resource_type;                 /* the type the clause applies to */
  ChartaSearchModifier modifier;
  char *target_type;                   /* REFERENCE :[type], or the type a chain goes through */
  GPtrArray *values;                   /* ChartaSearchValue *, ORed; empty for chains and _has */

  /* A chain (subject:Patient.name=peter): the clause on the referenced resources, one per
   * type the chain may go through (several when no type was written and the reference may
   * point to several types that have the chained parameter).  Matches when a reference of
   * @param points to a resource that one of them matches. */
  GPtrArray *chain;                    /* ChartaSearchClause *, or NULL */

  /* _has:Observation:patient:code=1234: resources of @has_type whose @has_reference points to
   * this one and that match @has (itself perhaps a chain or another _has). */
  char *has_type;
  const ChartaSearchParamDef *has_reference;
  ChartaSearchClause *has;

  /* _list=42: the resource is an entry of List/42 (the value's @text is the List's id). */
};

typedef enum
{
  CHARTA_SEARCH_TOTAL_DEFAULT,   /* not asked: the store may leave it out */
  CHARTA_SEARCH_TOTAL_NONE,
  CHARTA_SEARCH_TOTAL_ESTIMATE,
  CHARTA_SEARCH_TOTAL_ACCURATE,
} ChartaSearchTotal;

typedef enum
{
  CHARTA_SEARCH_SUMMARY_FALSE,   /* the default: whole resources */
  CHARTA_SEARCH_SUMMARY_TRUE,    /* the elements marked summary in the model */
  CHARTA_SEARCH_SUMMARY_TEXT,    /* text, id, meta and the top-level mandatory elements */
  CHARTA_SEARCH_SUMMARY_DATA,    /* everything but text */
  CHARTA_SEARCH_SUMMARY_COUNT,   /* only the total */
} ChartaSearchSummary;

typedef struct
{
  char *name;                          /* as written, without '-' */
  const ChartaSearchParamDef *param;   /* for the query's type (for system search, of Resource) */
  gboolean descending;
} ChartaSearchSort;

typedef struct
{
  gboolean reverse;                    /* _revinclude */
  gboolean iterate;                    /* :iterate (also :recurse, its R3 name) */
  char *source_type;                   /* "Observation" in Observation:subject; "*" for _include=* */
  const ChartaSearchParamDef *param;   /* NULL for "*" (every reference parameter) */
  char *target_type;                   /* Observation:subject:Patient; NULL for any */
} ChartaSearchInclude;

typedef struct _ChartaSearchQuery ChartaSearchQuery;

struct _ChartaSearchQuery
{
  char *resource_type;       /* NULL for a search of the whole store */
  GPtrArray *types;          /* _type (char *), for a search of the whole store; NULL if none */
  GPtrArray *clauses;        /* ChartaSearchClause *, ANDed */

  /* A compartment search (Patient/7/Observation?…): set by the caller, not parsed. */
  char *compartment_type;
  char *compartment_id;

  int count;                 /* _count; -1 when not given */
  char *cursor;              /* _cursor: the page token a previous result gave; NULL: first page */
  GPtrArray *sort;           /* ChartaSearchSort *, in priority order; empty when not given */
  ChartaSearchTotal total;
  ChartaSearchSummary summary;
  GPtrArray *elements;       /* _elements (char *, top-level element names); NULL if none */
  GPtrArray *includes;       /* ChartaSearchInclude *, _include and _revinclude */
  GPtrArray *unknown;        /* names of the parameters ignored as unknown (char *) */
  GPtrArray *pairs;          /* every parameter but _cursor as "name=value", decoded, in the
                              * order given: what charta_search_query_to_string() encodes */
};

typedef enum
{
  CHARTA_SEARCH_QUERY_DEFAULT = 0,
  CHARTA_SEARCH_QUERY_STRICT = 1 << 0,   /* an unknown parameter is an error */
} ChartaSearchQueryFlags;

/* Parses @query (the part after '?', may be empty or NULL) as a search of @resource_type
 * (NULL: the whole store).  _format and _pretty are left to the caller and not reported. */
ChartaSearchQuery *charta_search_query_parse  (const char              *resource_type,
                                               const char              *query,
                                               ChartaSearchQueryFlags   flags,
                                               GError                 **error);
void               charta_search_query_free   (ChartaSearchQuery       *query);

/* The query in a normal form for paging links: the parameters (not _cursor) re-encoded in
 * the order given. */
char              *charta_search_query_to_string (const ChartaSearchQuery *query);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaSearchQuery, charta_search_query_free)

G_END_DECLS
