/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-patch.h: PATCH of a resource, by JSON Patch (RFC 6902) or FHIRPath Patch (FHIR R4
 * fhirpatch.html).
 *
 * A patch never changes the resource it is given (resources are immutable): it returns a new
 * one, made the way a parsed body is (charta_resource_new_from_data() with the default limits:
 * the result is a normal sealed ChartaResource, refused when it is too large or too deep), or
 * NULL and an error.  Model validation (charta_validate()) is left to the caller, as for a
 * parsed body: the store runs it on every write.  Numbers keep the text they were written with
 * ("1.50" stays "1.50"), in the resource and in the patch (for JSON Patch only when the patch
 * is given as text, see charta_patch_apply_json_data()).  A patch may not change the
 * resource's resourceType or its id (adding one where there was none, or removing it, is a
 * change too): the operation that does is an error.
 *
 * JSON Patch: add, remove, replace, move, copy and test as RFC 6902 defines them, on the
 * resource's JSON; paths are JSON Pointers (RFC 6901: "~1" is '/', "~0" is '~', "-" the end of
 * an array for add, move and copy).  Members an operation does not use are ignored (RFC 6902
 * §4).  A failed test fails the patch.  The operations are applied in order, all or nothing.
 *
 * FHIRPath Patch: a Parameters resource whose parameters are all called "operation", each with
 * parts type (valueCode), path (valueString: FHIRPath) and, by type:
 *   add      name, value    path selects exactly one element; the value becomes its child
 *                           @name: appended when that element repeats, else set, and then the
 *                           element must be absent.  A primitive's id and extensions are added
 *                           to the primitive ("Patient.birthDate", name extension);
 *   insert   index, value   path selects a whole list (every item of one repeating element);
 *                           the value goes in at @index, 0 to the list's length.  A path that
 *                           selects nothing and ends in ".name" inserts into the empty list
 *                           name of what the rest selects (index 0 only);
 *   delete                  path selects one element, which is removed, or nothing (no change);
 *   replace  value          path selects exactly one element, which the value replaces whole
 *                           (a primitive's id and extensions go with the old value);
 *   move     source, destination   path selects a whole list; the item at @source is taken out
 *                           and put back at @destination (both 0 to the length less one).
 * The value is the "value" part's value[x], its "resource" (for an element that holds a
 * resource), or its own parts, named by the child elements, for a complex or anonymous
 * (backbone) element, to any depth.  Its type must fit the element, by the R4 model: one of the
 * element's types or a type derived from one, or for a primitive any primitive with the same
 * JSON form (valueString for a code, say; charta_validate() then checks the format); a choice
 * element (Observation.value[x], Patient.deceased[x]) takes the JSON name of the value's type
 * (valueQuantity, deceasedBoolean).  Every operation's path is evaluated on the result of the
 * operations before it.  Arrays and objects left empty by a delete are removed (a primitive
 * list's "_name" twin kept parallel), so the result holds no empty object or array.  Unknown
 * parts, a missing part, and parts the type does not use are errors.
 *
 * Errors are in CHARTA_FHIR_ERROR; the message names the operation (counting from 0, as its
 * position in the patch's array or the Parameters' parameter list), its type, the path, and
 * what was wrong with which value ("operation 3 (replace): path /name/5: no such element (name
 * has 2 elements)"):
 *   INVALID           a patch that is not one (not an array, an operation without its op, a
 *                     part of the wrong type, a malformed JSON Pointer), an operation that
 *                     cannot be applied (no such element, an index out of range, a value that
 *                     does not fit the element, a path that selects several elements), a test
 *                     that fails, a change of resourceType or id;
 *   FHIRPATH_SYNTAX   a path that does not parse; FHIRPATH_EVAL: one whose evaluation fails;
 *   TOO_LARGE, TOO_DEEP   a result past the default parse limits (or a patch that copies
 *                     more than the size limit into the document on the way);
 *   and, for charta_patch_apply_json_data(), the errors of reading JSON text.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "charta-resource.h"

G_BEGIN_DECLS

/* Applies the JSON Patch @patch (an array of operations) to @resource. */
ChartaResource *charta_patch_apply_json      (ChartaResource  *resource,
                                              JsonNode        *patch,
                                              GError         **error);

/* The same with the patch given as JSON text (a PATCH body of type application/json-patch+json),
 * read by the strict reader with the default limits, so that its numbers keep their text. */
ChartaResource *charta_patch_apply_json_data (ChartaResource  *resource,
                                              const char      *data,
                                              size_t           length,
                                              GError         **error);

/* Applies the FHIRPath Patch @parameters (a Parameters resource) to @resource. */
ChartaResource *charta_patch_apply_fhirpath  (ChartaResource  *resource,
                                              ChartaResource  *parameters,
                                              GError         **error);

/* JSON Patch on any JSON value, not only a resource: a new tree (not sealed; free it with
 * json_node_unref()) that is @document with @patch applied; @document is not changed.  The
 * same operations and errors as above, without the resource's checks (resourceType, id, parse
 * limits), but with the default depth limit on the document and the size limit on what is
 * copied into it. */
JsonNode       *charta_patch_apply_json_node (JsonNode        *document,
                                              JsonNode        *patch,
                                              GError         **error);

G_END_DECLS
