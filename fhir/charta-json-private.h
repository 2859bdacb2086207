/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-json-private.h: the strict JSON reader under ChartaResource, and JSON text helpers.
 *
 * json-glib 1.6 is lax where FHIR must be strict (it takes comments, single quotes, "01", ".5",
 * "0x10", "{}{}", duplicate keys, and wraps integers past int64 silently) and it has no depth
 * limit.  So bytes are read by one linear scan of our own (charta-json.c) that checks every
 * limit and the whole RFC 8259 grammar and builds the json-glib tree as it goes, with the
 * public JsonNode/JsonObject/JsonArray API; the tree is then sealed.  There is no second pass
 * over the text and no recursion: nesting is an explicit stack bounded by the depth limit.
 *
 * Errors, all in CHARTA_FHIR_ERROR, start with "line L, column C: " (columns count
 * characters from 1):
 *   TOO_LARGE     the body exceeds limits->max_bytes (checked before anything is read)
 *   TOO_DEEP      an object or array opens deeper than limits->max_depth
 *   INVALID_UTF8  bytes that are not UTF-8 (the message also names the byte offset), or a
 *                 \u escape that is an unpaired UTF-16 surrogate
 *   MALFORMED     anything else that is not one JSON value (empty input, trailing commas, two
 *                 top-level values, bare words, leading zeros, unescaped control characters…)
 *   DUPLICATE_KEY an object with the same member name twice (compared after unescaping), naming
 *                 the key and the object's path
 *   UNSUPPORTED   \u0000 inside a string (GLib strings end at NUL, so it cannot be kept)
 *
 * Number texts: a number whose text is not what its json-glib value prints as ("1.50", "1e3",
 * "-0", "0.1", any fraction or exponent, integers beyond int64) gets its text recorded in
 * doc->numbers.  Plain integers that fit in int64 are not recorded (their value prints back
 * exactly), so the common case allocates nothing.  Integers beyond int64 become double nodes
 * (json-glib would wrap them), their text recorded.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "charta-resource.h"

#include <string.h>

/* g_string_append_len() with the inline fast path GLib 2.74 lacks (2.76 has it): the
 * canonical writer appends hundreds of short pieces per resource. */
static inline void
charta_string_append_len (GString    *out,
                          const char *text,
                          gsize       length)
{
  if (G_LIKELY (out->len + length < out->allocated_len))
    {
      memcpy (out->str + out->len, text, length);
      out->len += length;
      out->str[out->len] = '\0';
    }
  else
    g_string_append_len (out, text, (gssize) length);
}

static inline void
charta_string_append (GString    *out,
                      const char *text)
{
  charta_string_append_len (out, text, strlen (text));
}

G_BEGIN_DECLS

/* Depth limits above this are lowered to it: json-glib's own tree functions (sealing) and the
 * canonical writer recurse once per level. */
#define CHARTA_JSON_MAX_DEPTH_CEILING 4096u

typedef struct
{
  JsonNode     *root;     /* the sealed tree */
  GHashTable   *numbers;  /* JsonNode * → const char * (in @texts); NULL when no number needs
                           * its text recorded */
  GStringChunk *texts;    /* storage of the recorded number texts; NULL when none */
} ChartaJsonDocument;

/* Parses @data with @limits (NULL for the defaults).  @first_line is the line number of the
 * first line of @data in error messages (1 normally; an NDJSON line's number).  On success
 * fills @doc, which the caller clears with charta_json_document_clear(). */
gboolean     charta_json_parse               (const char              *data,
                                              size_t                   length,
                                              const ChartaParseLimits *limits,
                                              unsigned                 first_line,
                                              ChartaJsonDocument      *doc,
                                              GError                 **error);
void         charta_json_document_clear      (ChartaJsonDocument      *doc);

/* The effective limits: zeros replaced by the defaults, depth clamped to the ceiling. */
size_t       charta_json_limit_bytes         (const ChartaParseLimits *limits);
unsigned     charta_json_limit_depth         (const ChartaParseLimits *limits);

/* The members of @object in document order (the order json_object_iter_next_ordered() gives)
 * into @names and @nodes, which have room for json_object_get_size() entries each; returns
 * how many.  Unlike json-glib's ordered iterator it does not look each member up again by
 * name (which hashes and compares every name). */
unsigned     charta_json_object_members      (JsonObject              *object,
                                              const char             **names,
                                              JsonNode               **nodes);

/* Appends @str as a JSON string literal: quotes, and escapes only where JSON requires them
 * ('"', '\\', control characters); everything else, non-ASCII included, is copied as is. */
void         charta_json_append_string       (GString                 *out,
                                              const char              *str);

G_END_DECLS
