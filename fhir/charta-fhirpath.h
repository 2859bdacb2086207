/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-fhirpath.h: FHIRPath (N1, as FHIR R4 uses it) over ChartaResource trees.
 *
 * An expression is compiled once into a tree (ChartaFhirPath, immutable, shareable between
 * threads) and evaluated many times.  Evaluation walks the resource's JSON with the R4 model
 * beside it, so every item knows its FHIR type: choice elements (Observation.value) find
 * valueQuantity, `is`/`as`/`ofType()` test real types, and primitives keep their extensions
 * (`_birthDate`), and every item of the tree knows where it is (parent object, member name,
 * array index) so that FHIRPath Patch can change that place in a copy.  The subset covers
 * what the R4 invariants, the R4 search parameter expressions and FHIRPath Patch use.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "charta-resource.h"

G_BEGIN_DECLS

typedef enum
{
  CHARTA_FHIRPATH_NODE,      /* an element of the resource tree (object, or primitive value) */
  CHARTA_FHIRPATH_BOOLEAN,   /* System.Boolean computed by the expression */
  CHARTA_FHIRPATH_INTEGER,
  CHARTA_FHIRPATH_DECIMAL,
  CHARTA_FHIRPATH_STRING,
  CHARTA_FHIRPATH_DATE,
  CHARTA_FHIRPATH_DATETIME,
  CHARTA_FHIRPATH_TIME,
  CHARTA_FHIRPATH_QUANTITY,
} ChartaFhirPathKind;

typedef struct
{
  ChartaFhirPathKind kind;
  int type;              /* model type index for NODE items ("HumanName", "date", "Patient",
                          * or a backbone); -1 for computed System values */
  JsonNode *node;        /* NODE: the value (borrowed from the resource); NULL for a primitive
                          * that has only an extension ("_birthDate" without "birthDate") */
  JsonNode *extension;   /* NODE of primitive type: the "_name" object, or NULL */
  /* Where a NODE item is in the resource tree, for FHIRPath Patch and other edits of a copy:
   * the item is member @member of the JSON object @parent, element @index of it when that
   * member is an array.  Set by navigation (member access, children(), descendants(),
   * repeat(), extension(), resolve() of a contained resource or a Bundle entry) and kept by
   * whatever passes items through (where(), ofType(), as, first(), [n], …).
   *   parent: the JSON object node holding the item (borrowed); NULL for the resource root,
   *           for items not in the tree (computed values, type() results and what is inside
   *           them, resolve() stubs) and for context items the caller made without one;
   *   member: the JSON member name in @parent ("valueQuantity" for Observation.value,
   *           "birthDate"; borrowed from the tree or the model, valid as long as both), NULL
   *           when @parent is NULL.  A primitive's extension object, if any, is member
   *           "_" + @member of the same @parent (at the same @index), and a primitive with
   *           only an extension has @node NULL but @parent and @member set;
   *   index:  the position in the member's array (and in the parallel "_name" array of a
   *           repeating primitive), -1 when the member is not an array.  Meaningful only
   *           when @parent is set. */
  JsonNode *parent;
  const char *member;
  int index;
  gboolean boolean;      /* BOOLEAN */
  int64_t integer;       /* INTEGER */
  double decimal;        /* DECIMAL, QUANTITY value */
  char *string;          /* STRING, DATE, DATETIME, TIME (the literal text), DECIMAL and QUANTITY
                          * (the value's text, keeping its precision); owned */
  char *unit;            /* QUANTITY: the unit ("mg", or a calendar unit "year"); owned */
} ChartaFhirPathItem;

typedef struct _ChartaFhirPath ChartaFhirPath;

ChartaFhirPath *charta_fhirpath_compile          (const char      *expression,
                                                  GError         **error);
ChartaFhirPath *charta_fhirpath_ref              (ChartaFhirPath  *self);
void            charta_fhirpath_unref            (ChartaFhirPath  *self);
const char     *charta_fhirpath_get_expression   (ChartaFhirPath  *self);

/* A compiled expression from a process-wide cache (compiled on first use; thread-safe).
 * Returns a borrowed pointer valid for the life of the process. */
ChartaFhirPath *charta_fhirpath_get_cached       (const char      *expression,
                                                  GError         **error);

/* Evaluates @self on @resource with @context as the focus (NULL: the resource itself; else an
 * item of that resource, e.g. an element being validated).  %resource and %rootResource are
 * @resource (or the resource that contains it); %context is the focus.
 * Returns a GPtrArray of ChartaFhirPathItem (freed with the array), or NULL with @error set. */
GPtrArray      *charta_fhirpath_evaluate         (ChartaFhirPath           *self,
                                                  ChartaResource           *resource,
                                                  const ChartaFhirPathItem *context,
                                                  GError                  **error);

/* The item for the resource's root (kind NODE, type the resource type). */
void            charta_fhirpath_item_init_root   (ChartaFhirPathItem       *item,
                                                  ChartaResource           *resource);
/* Frees an item of an evaluation result (the struct and its strings), as the result array
 * does.  An item set up by charta_fhirpath_item_init_root() owns nothing: do not free it. */
void            charta_fhirpath_item_free        (ChartaFhirPathItem       *item);
/* The item's value as JSON (for comparing with fhirpath.js and for tests): objects as they are,
 * primitives as JSON values, computed values as JSON scalars (quantities as
 * {"value":…, "unit":…}).  Decimals use their text. */
JsonNode       *charta_fhirpath_item_to_json     (const ChartaFhirPathItem *item,
                                                  ChartaResource           *resource);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaFhirPath, charta_fhirpath_unref)

G_END_DECLS
