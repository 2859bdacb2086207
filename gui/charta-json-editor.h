/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-json-editor.h: ChartaJsonEditor, a record as JSON text that is checked as it is typed.
 *
 * The correction dialog's forms cover the common cases; for the rest it offers the record
 * itself as JSON.  The editor shows a resource pretty-printed (two spaces per level, every
 * number as the server wrote it: 1.50 stays 1.50, see charta-json-text.h) and checks the text
 * 300 ms after the last keystroke:
 *
 * - text that is not JSON (RFC 8259, strictly: no comments, no trailing commas, no single
 *   quotes, no member twice in one object) gets a message in plain words that names the line
 *   and column of the fault ("Line 12, column 5: a ',' or '}' is missing"), and the fault is
 *   underlined;
 * - JSON that is not an object, has no "resourceType", or whose resourceType or id differ from
 *   the resource that was set (changing those is not a correction) gets a message too;
 * - otherwise the text is the resource: charta_json_editor_get_resource() returns it, and
 *   charta_json_editor_get_number_texts() the texts of its numbers as typed, for
 *   charta_client_put_async().
 *
 * "valid" and "changed" (the text says something else than the resource that was set: another
 * value, or another number text such as 1.5 for 1.50; not white space) are for the dialog's
 * Save button.  The getters check pending text at once, so they are never 300 ms behind.
 *
 * A server's OperationOutcome is shown next to the elements it names
 * (charta_json_editor_show_outcome()): each issue's element (its expression, else its R4
 * location, else an element path that starts its diagnostics) is found in the current text
 * and underlined; the words are listed below the text with a "Go to" button that
 * selects the element, and are the underlined text's tooltip.  Issues whose element is not in
 * the text (removed since, or a path the locator cannot follow) are listed above the text.
 * Editing an underlined element clears its underline: the issue is then marked as edited.
 *
 * Keyboard: Tab and Shift+Tab move the focus out of the text (no keyboard trap; JSON needs no
 * tabs), Enter starts the new line with the indentation of the current one (two spaces more
 * after a '{' or '['); no other shortcuts, those belong to the dialog.  The text view has an
 * accessible label, and is described by the message and the issues, which are words, never
 * colour alone.  Nothing here logs the text.
 */
#pragma once

#include <adwaita.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define CHARTA_TYPE_JSON_EDITOR (charta_json_editor_get_type ())
G_DECLARE_FINAL_TYPE (ChartaJsonEditor, charta_json_editor, CHARTA, JSON_EDITOR, AdwBin)

GtkWidget  *charta_json_editor_new              (void);

/* Shows @resource (a JSON object with a resourceType; NULL empties the editor), its numbers
 * written as in @number_texts (as charta_client_get_resource_finish() gives them; may be
 * NULL).  Clears the issues shown and the undo history; "changed" becomes FALSE. */
void        charta_json_editor_set_resource     (ChartaJsonEditor *self,
                                                 JsonNode         *resource,
                                                 GHashTable       *number_texts);

/* The text as a resource (borrowed, until the text changes), or NULL when it is not one (see
 * above; charta_json_editor_get_message() says why). */
JsonNode   *charta_json_editor_get_resource     (ChartaJsonEditor *self);
/* The texts of the numbers in the text by element path (borrowed), or NULL when it is not a
 * resource. */
GHashTable *charta_json_editor_get_number_texts (ChartaJsonEditor *self);
/* What is wrong with the text, "Line 12, column 5: …", or NULL when it is a resource. */
const char *charta_json_editor_get_message      (ChartaJsonEditor *self);
gboolean    charta_json_editor_is_valid         (ChartaJsonEditor *self);
gboolean    charta_json_editor_is_changed       (ChartaJsonEditor *self);

/* Shows the issues of @outcome (an OperationOutcome; NULL clears them) at their elements in
 * the current text, replacing those shown before.  Returns how many issues were placed at an
 * element (the others are listed above the text). */
unsigned    charta_json_editor_show_outcome     (ChartaJsonEditor *self,
                                                 JsonNode         *outcome);

/* ---- the text, for the editor and its tests ----------------------------------------------- */

/* Finds the element that the FHIRPath @fhirpath names in the JSON text @text: steps of member
 * names with an optional index ("Patient.name[0].given[1]"), a leading type name skipped
 * ("Observation."), a choice element found by its name ("Observation.value" finds
 * "valueQuantity") or by ".ofType(Quantity)".  A step without an index into an array goes
 * into its first item.  *start and *end (bytes of @text) are set to the member's name (its
 * opening quote) through the end of its value, or for a last step with an index, to that
 * item.  The text may be broken after the element.  FALSE when the element is not there or
 * @fhirpath is not such a path (a function, a filter). */
gboolean    charta_json_locate                  (const char *text,
                                                 const char *fhirpath,
                                                 size_t     *start,
                                                 size_t     *end);

/* The first fault of @text as JSON, as "Line L, column C: what is wrong" (lines and columns
 * from 1, columns in characters), with *start and *end (bytes of @text) set to the spot (empty
 * only at the end of the text); NULL when @text is one JSON value. */
char       *charta_json_find_fault              (const char *text,
                                                 size_t     *start,
                                                 size_t     *end);

/* @node as JSON text, two spaces per level, numbers as in @number_texts (see
 * charta_json_write()). */
char       *charta_json_write_pretty            (JsonNode   *node,
                                                 GHashTable *number_texts);

G_END_DECLS
