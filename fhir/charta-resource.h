/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-resource.h: a parsed FHIR resource.
 *
 * A ChartaResource is a sealed JSON tree (json-glib nodes) plus its resourceType, id and meta.
 * It is immutable once made and reference counted, so it can be shared across threads.
 *
 * The bytes are read by our own strict RFC 8259 reader (charta-json.c), which builds the
 * json-glib tree directly: json-glib 1.6's parser accepts comments, single quotes, hex numbers
 * and `{}{}`, wraps integers past int64 silently, has no depth limit and merges duplicate keys,
 * so it cannot be the gate for untrusted input.  The reader enforces the limits as it goes:
 * body size, nesting depth (no recursion), UTF-8, duplicate keys.  JSON numbers keep the text
 * they were written with, so decimals keep their precision (1.50 stays 1.50) through canonical
 * output and search-index extraction.
 *
 * Canonical output is compact JSON, properties in the R4 definition order (resourceType first,
 * a primitive's "_name" right after "name"), numbers as written.
 */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct
{
  size_t max_bytes;    /* largest body accepted; 0 means the default (CHARTA_DEFAULT_MAX_BYTES) */
  unsigned max_depth;  /* deepest nesting of objects and arrays; 0 means the default */
} ChartaParseLimits;

#define CHARTA_DEFAULT_MAX_BYTES (64u * 1024u * 1024u)
#define CHARTA_DEFAULT_MAX_DEPTH 128u

#define CHARTA_TYPE_RESOURCE (charta_resource_get_type ())

typedef struct _ChartaResource ChartaResource;

GType           charta_resource_get_type          (void) G_GNUC_CONST;

/* Checks the limits, parses, and requires a JSON object whose resourceType is an R4 resource
 * type.  Does not validate the content against the model (see charta-validate.h). */
ChartaResource *charta_resource_new_from_data     (const char              *data,
                                                   size_t                   length,
                                                   const ChartaParseLimits *limits,
                                                   GError                 **error);
ChartaResource *charta_resource_new_from_bytes    (GBytes                  *bytes,
                                                   const ChartaParseLimits *limits,
                                                   GError                 **error);
/* A resource nested in @parent (a Bundle entry's resource, a contained resource): shares the
 * parent's tree and number texts and keeps the parent alive.  @node must be a JSON object with
 * a resourceType, inside @parent's tree. */
ChartaResource *charta_resource_new_nested        (ChartaResource          *parent,
                                                   JsonNode                *node,
                                                   GError                 **error);

ChartaResource *charta_resource_ref               (ChartaResource          *self);
void            charta_resource_unref             (ChartaResource          *self);

const char     *charta_resource_get_resource_type (ChartaResource          *self);
/* NULL when the resource has no id. */
const char     *charta_resource_get_id            (ChartaResource          *self);
/* meta.versionId and meta.lastUpdated, NULL when absent. */
const char     *charta_resource_get_version_id    (ChartaResource          *self);
const char     *charta_resource_get_last_updated  (ChartaResource          *self);
/* The resource's JSON object node (borrowed; never modify it). */
JsonNode       *charta_resource_get_root          (ChartaResource          *self);
JsonObject     *charta_resource_get_object        (ChartaResource          *self);

/* For a JSON number node of this resource's tree, the text it was written with ("1.50"), or
 * NULL when the node is not a number of this tree. */
const char     *charta_resource_get_number_text   (ChartaResource          *self,
                                                   JsonNode                *node);

/* Canonical JSON (see above); @pretty indents with two spaces. */
char           *charta_resource_to_json           (ChartaResource          *self,
                                                   gboolean                 pretty,
                                                   size_t                  *length);
GBytes         *charta_resource_to_bytes          (ChartaResource          *self,
                                                   gboolean                 pretty);

/* Canonical JSON with a few edits made as it is written, without building a new tree (the
 * store uses it to stamp id and meta on what it keeps, and to rewrite a transaction's
 * urn:uuid references):
 *   @id            sets or replaces the resource's id (NULL keeps it);
 *   @version_id    sets or replaces meta.versionId (NULL keeps it);
 *   @last_updated  sets or replaces meta.lastUpdated (NULL keeps it); meta is created when
 *                  either is set and the resource has none;
 *   @rewrite_reference, when not NULL, is called with every Reference.reference string of the
 *                  resource (contained resources and nested ones included) and returns its
 *                  replacement (borrowed: it must live until the call returns) or NULL to
 *                  keep it.
 * Only the resource's own id and meta are edited, never those of contained resources.  Number
 * texts are kept as written. */
typedef const char *(*ChartaReferenceRewriteFunc) (const char *reference,
                                                   gpointer    user_data);

typedef struct
{
  const char                 *id;
  const char                 *version_id;
  const char                 *last_updated;
  ChartaReferenceRewriteFunc  rewrite_reference;
  gpointer                    user_data;
  /* When not NULL, the full text that _content searches is appended to it as the body is
   * written: the strings charta_search_index_text() gives as content (of the edited body),
   * space separated, in canonical order. */
  GString                    *content;
} ChartaResourceEdits;

char           *charta_resource_to_json_edited    (ChartaResource            *self,
                                                   const ChartaResourceEdits *edits,
                                                   size_t                    *length);
/* The resource that parsing charta_resource_to_json_edited()'s text would give (same tree
 * content, resourceType, id, meta and number texts; the members of unedited objects keep
 * @self's order), made in the same pass without parsing: only the objects and arrays the
 * edits change are new, the rest of the tree is shared with @self, which it keeps alive.
 * When @json is not NULL it receives that text (and @length its length). */
ChartaResource *charta_resource_new_edited        (ChartaResource            *self,
                                                   const ChartaResourceEdits *edits,
                                                   char                     **json,
                                                   size_t                    *length);

/* For the store, which parses a body whose meta.lastUpdated is a placeholder and learns the
 * real instant only when it commits: overwrites meta.lastUpdated in place with @instant, which
 * must have exactly the length of the current value, so the tree stays what parsing the final
 * body would give.  Only before the resource is shared with another thread.  Returns FALSE
 * and changes nothing when there is no meta.lastUpdated of that length. */
gboolean        charta_resource_patch_last_updated (ChartaResource          *self,
                                                    const char              *instant);

/* Files.  charta_resource_read_file() reads @path whole, but first refuses a file larger than
 * @limits->max_bytes (CHARTA_FHIR_ERROR_TOO_LARGE, naming the file and its size) without
 * reading any of it, so memory stays bounded whatever the file; I/O errors are G_FILE_ERROR.
 * The bytes are not parsed. */
GBytes         *charta_resource_read_file         (const char              *path,
                                                   const ChartaParseLimits *limits,
                                                   GError                 **error);

/* NDJSON: one resource per line; blank lines are skipped, a trailing "\r" is ignored.  @func
 * is called for each other line with either the resource (borrowed; ref it to keep it) or
 * the error, whose message starts with that line's number ("line 7, column 12: …"); @limits
 * apply to each line.  @func returns FALSE to stop.  charta_resource_parse_ndjson() returns
 * FALSE when @func stopped it; the _file variant streams the file in chunks (memory stays
 * bounded by the longest line accepted, however large the file) and returns FALSE with
 * @error set on an I/O error, or FALSE without an error when @func stopped it. */
typedef gboolean (*ChartaNdjsonFunc)                (unsigned                 line,
                                                   ChartaResource          *resource,
                                                   const GError            *error,
                                                   gpointer                 user_data);
gboolean        charta_resource_parse_ndjson      (const char              *data,
                                                   size_t                   length,
                                                   const ChartaParseLimits *limits,
                                                   ChartaNdjsonFunc         func,
                                                   gpointer                 user_data);
gboolean        charta_resource_parse_ndjson_file (const char              *path,
                                                   const ChartaParseLimits *limits,
                                                   ChartaNdjsonFunc         func,
                                                   gpointer                 user_data,
                                                   GError                 **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaResource, charta_resource_unref)

G_END_DECLS
