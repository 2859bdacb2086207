/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-subset.h: the parts of a resource that _summary and _elements ask for.
 *
 * FHIR R4 search results may be subsetted (search.html §3.1.1.5.8 _summary, §3.1.1.5.9
 * _elements): the server returns only some elements of each match and marks it with the tag
 * SUBSETTED so that nobody takes it for the whole resource.  charta_resource_subset() makes
 * such a copy.  What it keeps, besides resourceType, id and meta (always):
 *
 *   _summary=true   the top-level elements the model marks summary (ChartaElementDef
 *                   is_summary), and also those that are modifiers or mandatory (min >= 1):
 *                   the isSummary definition says root elements that are either must be summary,
 *                   and the R4 tables break that rule only for DomainResource.modifierExtension
 *                   (a modifier that cannot be dropped without changing what the rest means)
 *                   and four mandatory backbones (Appointment.participant, AuditEvent.agent,
 *                   AuditEvent.source, Provenance.agent).  Inside a kept backbone element
 *                   ("Observation.component") the same choice is made again among its own
 *                   children (summary or modifier), to any depth; a backbone item left with
 *                   nothing is dropped from its array.  Data type values (HumanName,
 *                   CodeableConcept, Extension, …) are kept whole, except Attachment.data,
 *                   which the isSummary definition names as the one data type property left
 *                   out of summaries, wherever an Attachment occurs in what is kept.
 *                   Resources inside kept elements (Bundle.entry.resource) are kept whole.
 *   _summary=text   text and the top-level mandatory elements (min >= 1), nothing else.
 *   _summary=data   every top-level member but text (members the model does not know too).
 *                   Contained resources keep their own text: only the resource's is removed.
 *   _elements=a,b   the top-level elements named (a choice element by its name, "value",
 *                   which keeps valueQuantity or whichever form is present; its JSON name
 *                   "valueQuantity" names the same element), whole, plus the mandatory
 *                   top-level elements (search.html: servers SHOULD return them whether asked
 *                   or not) and the modifier ones (clients SHOULD list them; a server is not
 *                   obliged to return only what was asked, and leaving out a modifier such as
 *                   Patient.active can change what the rest means).  Names that are not
 *                   elements of the resource's type are ignored: the query parser has already
 *                   refused them, and a search of several types may name an element that only
 *                   some of them have.  An empty list (not NULL) keeps just these extras.
 *
 * A primitive's "_name" member (its id and extensions) goes with "name".  Contained resources
 * and extensions follow the model's flags like any element: DomainResource.contained and
 * .extension are not summary, so _summary=true and text drop them, data keeps them, and
 * _elements keeps them when named.  When @summary and @elements are both given (search.html
 * advises against it), an element is kept when either keeps it: neither parameter then loses
 * what it asked for; an element kept by @elements is kept whole.  CHARTA_SEARCH_SUMMARY_FALSE
 * means _summary was not given.
 *
 * The tag (system http://terminology.hl7.org/CodeSystem/v3-ObservationValue, code SUBSETTED,
 * display "subsetted") is appended to meta.tag unless a tag with that system and code is
 * already there; meta is created when the resource has none.  The copy shares nothing with
 * @resource, and its numbers keep the text they were written with ("1.50" stays "1.50").
 */
#pragma once

#include "charta-resource.h"
#include "charta-search-query.h"

G_BEGIN_DECLS

#define CHARTA_SUBSETTED_SYSTEM  "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
#define CHARTA_SUBSETTED_CODE    "SUBSETTED"
#define CHARTA_SUBSETTED_DISPLAY "subsetted"

/* A copy of @resource with only the elements that @summary (CHARTA_SEARCH_SUMMARY_TRUE, _TEXT,
 * _DATA, or _FALSE when not given) and @elements (a NULL-terminated list of top-level element
 * names for _elements; NULL when not given) keep, as described above, and meta.tag SUBSETTED.
 * CHARTA_SEARCH_SUMMARY_FALSE with @elements NULL returns a new reference to @resource itself,
 * unchanged.  CHARTA_SEARCH_SUMMARY_COUNT is a programming error (a count returns no
 * resources).
 *
 * Returns NULL with @error set (CHARTA_FHIR_ERROR_INVALID, naming the resource and the
 * element) when the tag cannot be added because the resource's meta is not a JSON object or
 * its meta.tag not an array: the resource then breaks the model, which nothing has checked.
 * (Should the copy's text ever fail to parse back, which would be a bug, that error is
 * returned, prefixed with the resource's type and id.) */
ChartaResource *charta_resource_subset (ChartaResource       *resource,
                                        ChartaSearchSummary   summary,
                                        const char * const   *elements,
                                        GError              **error);

G_END_DECLS
