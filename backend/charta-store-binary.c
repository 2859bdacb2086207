/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-store-binary.c: Binary content in the store (engine-neutral part): scans, PDFs and
 * images, stored once per SHA-256 and streamed in and out in chunks.
 *
 * Writing.  A ChartaContentWriter hashes the bytes as they come (SHA-256, the content's key,
 * and SHA-1, what R4's Attachment.hash holds) and cuts them into chunks of
 * CHARTA_CONTENT_CHUNK_SIZE.  Every CHUNKS_PER_BATCH full chunks go to the writer thread as one
 * job (charta_store_job_submit()): the first makes a pending content (no key yet) and each adds
 * its chunks to it, in its own transaction, grouped with whatever other writes are queued, so
 * the writer is never held for more than a few MiB, however large the upload.  One batch is in
 * the writer's hands while the next is being filled and hashed: memory stays at two batches and
 * a chunk whatever the size.  When the last byte is in, one more job adds the last chunks and
 * gives the content its key; if a content of that SHA-256 is there already (the same scan
 * uploaded twice), that one is kept and the pending one dropped, a few chunks per job, so
 * identical content is stored once.  A pending content is never what a version holds, so a
 * half-written upload is never seen; what a crash leaves is dropped when the store is next
 * opened (charta_store_clean_content()).  A small content (under one batch) takes one job.
 *
 * Why chunks of 1 MiB: each is one row, read or written by one statement, so a read of any
 * byte range costs at most two partial chunks; SQLite keeps a blob past a page in a chain of
 * overflow pages, which costs no more per byte for 1 MiB than for 16 MiB, while a chunk is
 * what a reader and a writer hold in memory at once (two per stream).  Fewer, larger chunks
 * saved nothing measurable; smaller ones cost a statement per 64 KiB.
 *
 * Reading.  charta_store_open_binary() answers a GInputStream that reads the content chunk by
 * chunk, each with a reader connection taken from the pool for that read only, from an offset
 * and for a length (a Range request).
 *
 * Binary and Attachment JSON.  charta_binary_take_data() takes the `data` out of a Binary
 * written as JSON (the store keeps the rest); charta_binary_fill_attachments() gives
 * Attachments their size and hash.  Both edit a resource by writing its JSON again with the
 * edits made, numbers as they were written (charta_resource_get_number_text()), and parsing
 * that: the store then writes its canonical body as for any other resource.
 *
 * Nothing here logs content, a body, or a hash: ids and sizes only.
 */
#define G_LOG_DOMAIN "charta-store"

#include <string.h>

#include "charta-store.h"
#include "charta-store-private.h"

#define CHUNKS_PER_BATCH 4    /* chunks per writer job of an upload: 4 MiB */
#define DROP_CHUNKS      16   /* chunks dropped per writer job */

/* ---- figures ------------------------------------------------------------------------------- */

static void
info_from_checksums (GChecksum          *sha256,
                     GChecksum          *sha1,
                     int64_t             size,
                     ChartaContentInfo  *info)
{
  guint8 digest[20];
  gsize length = sizeof digest;
  g_autofree char *base64 = NULL;

  memset (info, 0, sizeof *info);
  g_strlcpy (info->sha256, g_checksum_get_string (sha256), sizeof info->sha256);
  g_checksum_get_digest (sha1, digest, &length);
  g_assert (length == sizeof digest);
  base64 = g_base64_encode (digest, length);
  g_strlcpy (info->sha1, base64, sizeof info->sha1);
  info->size = size;
}

void
charta_content_info_compute (const guint8       *data,
                             size_t              size,
                             ChartaContentInfo  *info)
{
  g_autoptr(GChecksum) sha256 = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);

  /* (GChecksum takes a gssize: feed a larger buffer in pieces) */
  for (size_t at = 0; at < size; at += G_MAXINT32)
    {
      gssize n = (gssize) MIN (size - at, (size_t) G_MAXINT32);

      g_checksum_update (sha256, data + at, n);
      g_checksum_update (sha1, data + at, n);
    }
  info_from_checksums (sha256, sha1, (int64_t) size, info);
}

/* Whether @text is base64 as FHIR's base64Binary has it: groups of four of A-Z a-z 0-9 + /,
 * '=' padding at the end only, whitespace allowed anywhere.  *decoded_size gets the size of
 * the bytes it holds. */
static gboolean
is_base64 (const char *text,
           size_t     *decoded_size)
{
  size_t n = 0, padding = 0;

  for (const char *p = text; *p != '\0'; p++)
    {
      char c = *p;

      if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
        continue;
      if (c == '=')
        padding++;
      else if (padding > 0 || !(g_ascii_isalnum (c) || c == '+' || c == '/'))
        return FALSE;
      n++;
    }
  if (n % 4 != 0 || padding > 2)
    return FALSE;
  *decoded_size = n / 4 * 3 - padding;
  return TRUE;
}

/* The bytes of base64 @text, which is_base64() accepted (@size is what it found). */
static GBytes *
decode_base64 (const char *text,
               size_t      size)
{
  guint8 *out = g_malloc (size + 3);
  int state = 0;
  unsigned save = 0;
  gsize n = 0, length = strlen (text);

  /* (g_base64_decode_step() skips whitespace; in pieces, as its length is a gsize of a
   * string that may be large) */
  for (size_t at = 0; at < length; at += 1 << 24)
    n += g_base64_decode_step (text + at, MIN (length - at, (size_t) 1 << 24), out + n, &state,
                               &save);
  g_assert (n == size);
  return g_bytes_new_take (out, n);
}

/* ---- writing a resource with edits ----------------------------------------------------------- */

/* What to change in one JSON object as it is written. */
typedef struct
{
  gboolean  drop_data;      /* leave `data` out */
  gboolean  set_size;       /* write @size (replacing the object's own) */
  gboolean  set_hash;       /* write @hash (replacing the object's own) */
  int64_t   size;
  char      hash[29];
  char     *url;            /* write this url instead of the object's own, NULL: keep it */
} ObjectEdit;

static void
object_edit_free (gpointer data)
{
  ObjectEdit *edit = data;

  g_free (edit->url);
  g_free (edit);
}

static void
append_string (GString    *out,
               const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      unsigned char c = (unsigned char) *p;

      if (c == '"' || c == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) c);
        }
      else if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
}

static void
write_json (GString         *out,
            ChartaResource  *resource,
            JsonNode        *node,
            GHashTable      *edits)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        ObjectEdit *edit = g_hash_table_lookup (edits, object);
        gboolean first = TRUE;
        JsonObjectIter iter;
        const char *name;
        JsonNode *child;

        g_string_append_c (out, '{');
        json_object_iter_init (&iter, object);
        while (json_object_iter_next (&iter, &name, &child))
          {
            if (edit != NULL && ((edit->drop_data && strcmp (name, "data") == 0)
                                 || (edit->set_size && strcmp (name, "size") == 0)
                                 || (edit->set_hash && strcmp (name, "hash") == 0)))
              continue;
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            append_string (out, name);
            g_string_append_c (out, ':');
            if (edit != NULL && edit->url != NULL && strcmp (name, "url") == 0)
              append_string (out, edit->url);
            else
              write_json (out, resource, child, edits);
          }
        if (edit != NULL && edit->set_size)
          {
            g_string_append_printf (out, "%s\"size\":%" G_GINT64_FORMAT, first ? "" : ",",
                                    edit->size);
            first = FALSE;
          }
        if (edit != NULL && edit->set_hash)
          {
            g_string_append (out, first ? "\"hash\":" : ",\"hash\":");
            append_string (out, edit->hash);
          }
        g_string_append_c (out, '}');
      }
      break;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        g_string_append_c (out, '[');
        for (unsigned i = 0; i < json_array_get_length (array); i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            write_json (out, resource, json_array_get_element (array, i), edits);
          }
        g_string_append_c (out, ']');
      }
      break;

    case JSON_NODE_NULL:
      g_string_append (out, "null");
      break;

    case JSON_NODE_VALUE:
    default:
      {
        GType type = json_node_get_value_type (node);

        if (type == G_TYPE_STRING)
          append_string (out, json_node_get_string (node));
        else if (type == G_TYPE_BOOLEAN)
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
        else
          {
            /* numbers as they were written ("1.50" stays so) */
            const char *text = charta_resource_get_number_text (resource, node);

            if (text != NULL)
              g_string_append (out, text);
            else if (type == G_TYPE_INT64)
              g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
            else
              {
                char buf[G_ASCII_DTOSTR_BUF_SIZE];

                g_string_append (out, g_ascii_dtostr (buf, sizeof buf,
                                                      json_node_get_double (node)));
              }
          }
      }
      break;
    }
}

/* @resource written again with @edits made, and parsed. */
static ChartaResource *
rewrite_resource (ChartaResource  *resource,
                  GHashTable      *edits,
                  GError         **error)
{
  g_autoptr(GString) out = g_string_sized_new (4096);
  g_autoptr(GError) local_error = NULL;
  ChartaParseLimits limits = { 0, 0 };
  ChartaResource *edited;

  write_json (out, resource, charta_resource_get_root (resource), edits);
  limits.max_bytes = MAX (out->len + 1, CHARTA_DEFAULT_MAX_BYTES);
  edited = charta_resource_new_from_data (out->str, out->len, &limits, &local_error);
  if (edited == NULL)
    g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                 "%s: the resource with its content taken out does not read back: %s",
                 charta_resource_get_resource_type (resource), local_error->message);
  return edited;
}

/* ---- Binary.data ------------------------------------------------------------------------------ */

gboolean
charta_binary_take_data (ChartaResource     *binary,
                         ChartaResource    **stripped,
                         GBytes            **data,
                         ChartaContentInfo  *info,
                         GError            **error)
{
  JsonObject *root = charta_resource_get_object (binary);
  JsonNode *node = json_object_get_member (root, "data");
  g_autoptr(GHashTable) edits = NULL;
  g_autoptr(GBytes) bytes = NULL;
  ObjectEdit *edit;
  const char *text;
  size_t size = 0;
  gsize length;

  *stripped = NULL;
  *data = NULL;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "Binary.data: expected the content as a base64 string");
      return FALSE;
    }
  text = json_node_get_string (node);
  if (!is_base64 (text, &size))
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "Binary.data is not base64 (groups of four of A-Z, a-z, 0-9, '+' and '/', "
                   "'=' padding at the end only)");
      return FALSE;
    }
  bytes = decode_base64 (text, size);
  charta_content_info_compute (g_bytes_get_data (bytes, &length), g_bytes_get_size (bytes),
                               info);

  edits = g_hash_table_new_full (NULL, NULL, NULL, object_edit_free);
  edit = g_new0 (ObjectEdit, 1);
  edit->drop_data = TRUE;
  g_hash_table_insert (edits, root, edit);
  *stripped = rewrite_resource (binary, edits, error);
  if (*stripped == NULL)
    return FALSE;
  *data = g_steal_pointer (&bytes);
  return TRUE;
}

/* ---- Attachments -------------------------------------------------------------------------------- */

char *
charta_binary_url_reference (const char        *url,
                             const char *const *bases)
{
  const char *rest = NULL;
  const char *id;
  size_t n;

  if (url == NULL)
    return NULL;
  if (g_str_has_prefix (url, "Binary/"))
    rest = url;
  for (size_t i = 0; rest == NULL && bases != NULL && bases[i] != NULL; i++)
    {
      n = strlen (bases[i]);
      while (n > 0 && bases[i][n - 1] == '/')
        n--;
      if (n > 0 && strncmp (url, bases[i], n) == 0 && url[n] == '/'
          && g_str_has_prefix (url + n + 1, "Binary/"))
        rest = url + n + 1;
    }
  if (rest == NULL)
    return NULL;
  /* "Binary/id", or "Binary/id/_history/n" (the content of the current version all the same:
   * what is filled in is what the Binary holds now) */
  id = rest + strlen ("Binary/");
  n = strcspn (id, "/?#");
  if (n < 1 || n > 64 || (id[n] != '\0' && !g_str_has_prefix (id + n, "/_history/")))
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isalnum (id[i]) && id[i] != '-' && id[i] != '.')
      return NULL;
  return g_strndup (rest, (size_t) (id + n - rest));
}

/* Whether any object in @node might be an Attachment to fill: one with inline `data`, or a
 * url that names a Binary (or a transaction's urn:uuid).  A cheap look before the walk by
 * the model, which most resources never need. */
static gboolean
may_hold_attachments (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      JsonNode *url = json_object_get_member (object, "url");
      JsonNode *data = json_object_get_member (object, "data");
      JsonObjectIter iter;
      const char *name;
      JsonNode *child;

      if (data != NULL && JSON_NODE_HOLDS_VALUE (data))
        return TRUE;
      if (url != NULL && JSON_NODE_HOLDS_VALUE (url)
          && json_node_get_value_type (url) == G_TYPE_STRING
          && (strstr (json_node_get_string (url), "Binary/") != NULL
              || g_str_has_prefix (json_node_get_string (url), "urn:")))
        return TRUE;
      json_object_iter_init (&iter, object);
      while (json_object_iter_next (&iter, &name, &child))
        if (!JSON_NODE_HOLDS_VALUE (child) && may_hold_attachments (child))
          return TRUE;
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (unsigned i = 0; i < json_array_get_length (array); i++)
        if (may_hold_attachments (json_array_get_element (array, i)))
          return TRUE;
    }
  return FALSE;
}

typedef struct
{
  ChartaAttachmentLookup  lookup;
  gpointer                user_data;
  int                     attachment_type;
  GHashTable             *edits;         /* JsonObject * → ObjectEdit * */
} FillContext;

static const char *
string_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* Whether @hash is an Attachment.hash as R4 has it: a SHA-1 (20 bytes) in base64. */
static gboolean
is_sha1_base64 (const char *hash)
{
  size_t n = 0;

  return is_base64 (hash, &n) && n == 20;
}

/* Whether base64 @a and @b hold the same bytes. */
static gboolean
same_base64 (const char *a,
             const char *b)
{
  size_t na = 0, nb = 0;
  g_autoptr(GBytes) da = NULL;
  g_autoptr(GBytes) db = NULL;

  if (strcmp (a, b) == 0)
    return TRUE;
  if (!is_base64 (a, &na) || !is_base64 (b, &nb) || na != nb)
    return FALSE;
  da = decode_base64 (a, na);
  db = decode_base64 (b, nb);
  return g_bytes_equal (da, db);
}

/* One Attachment, at @path. */
static gboolean
fill_attachment (FillContext  *ctx,
                 JsonObject   *object,
                 const char   *path,
                 GError      **error)
{
  const char *data = string_member (object, "data");
  const char *url = string_member (object, "url");
  const char *hash = string_member (object, "hash");
  JsonNode *size_node = json_object_get_member (object, "size");
  g_autoptr(GError) local_error = NULL;
  g_autofree char *source = NULL;
  ChartaContentInfo info;
  const char *rewrite = NULL;
  gboolean have = FALSE, size_agrees = FALSE, hash_foreign = FALSE;
  ObjectEdit *edit;

  if (data != NULL)
    {
      g_autoptr(GBytes) bytes = NULL;
      size_t size = 0;

      if (!is_base64 (data, &size))
        {
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                       "%s.data is not base64 (groups of four of A-Z, a-z, 0-9, '+' and '/', "
                       "'=' padding at the end only)", path);
          return FALSE;
        }
      bytes = decode_base64 (data, size);
      charta_content_info_compute (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                   &info);
      have = TRUE;
      source = g_strdup ("its data");
    }
  else if (url != NULL)
    {
      g_autofree char *reference = NULL;

      have = ctx->lookup (url, ctx->user_data, &info, &rewrite, &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      reference = charta_binary_url_reference (rewrite != NULL ? rewrite : url, NULL);
      source = g_strdup (reference != NULL ? reference : url);
    }
  if (!have && rewrite == NULL)
    return TRUE;

  if (have && size_node != NULL)
    {
      int64_t size = -1;

      if (JSON_NODE_HOLDS_VALUE (size_node) && json_node_get_value_type (size_node) == G_TYPE_INT64)
        size = json_node_get_int (size_node);
      if (size != info.size)
        {
          g_autofree char *given = JSON_NODE_HOLDS_VALUE (size_node)
                                   && json_node_get_value_type (size_node) != G_TYPE_STRING
                                   ? json_to_string (size_node, FALSE) : g_strdup ("not a number");

          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                       "%s.size is %s, but %s holds %" G_GINT64_FORMAT " bytes", path, given,
                       source, info.size);
          return FALSE;
        }
      size_agrees = TRUE;
    }
  /* A hash in another form than R4's (a hex digest, another algorithm, as some senders and
   * even R4's own examples have) cannot be compared: it is kept as it came. */
  hash_foreign = hash != NULL && !is_sha1_base64 (hash);
  if (have && hash != NULL && !hash_foreign && !same_base64 (hash, info.sha1))
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "%s.hash is “%.64s”, but the SHA-1 of %s is “%s” (base64, as R4's "
                   "Attachment.hash)", path, hash, source, info.sha1);
      return FALSE;
    }
  if (rewrite == NULL && size_agrees
      && hash != NULL && (hash_foreign || strcmp (hash, info.sha1) == 0))
    return TRUE;  /* nothing to change */

  edit = g_new0 (ObjectEdit, 1);
  edit->set_size = have;
  edit->set_hash = have && !hash_foreign;
  edit->size = info.size;
  g_strlcpy (edit->hash, info.sha1, sizeof edit->hash);
  edit->url = g_strdup (rewrite);
  g_hash_table_insert (ctx->edits, object, edit);
  return TRUE;
}

/* The model type of the value of member @name of an object of @type; -1 when unknown or of no
 * interest (primitives). */
static int
member_type (int         type,
             const char *name)
{
  const ChartaElementDef *element;
  const ChartaTypeDef *def;
  int choice = -1, child;

  if (type < 0 || name[0] == '_')
    return -1;
  element = charta_model_find_element (type, name, &choice);
  if (element == NULL)
    return -1;
  if (choice >= 0)
    child = choice;
  else if (element->n_types == 1)
    child = charta_model_element_types[element->first_type].type;
  else
    return -1;
  def = charta_model_get_type (child);
  if (def == NULL || def->kind == CHARTA_TYPE_KIND_PRIMITIVE)
    return -1;
  return child;
}

static gboolean fill_node (FillContext  *ctx,
                           JsonNode     *node,
                           int           type,
                           GString      *path,
                           GError      **error);

static gboolean
fill_object (FillContext  *ctx,
             JsonObject   *object,
             int           type,
             GString      *path,
             GError      **error)
{
  const ChartaTypeDef *def = charta_model_get_type (type);
  JsonObjectIter iter;
  const char *name;
  JsonNode *child;

  if (type == ctx->attachment_type)
    return fill_attachment (ctx, object, path->str, error);
  /* a resource inside another (contained, Bundle.entry.resource…): of its own type */
  if (def != NULL && def->kind == CHARTA_TYPE_KIND_RESOURCE)
    {
      const char *resource_type = string_member (object, "resourceType");
      int own = resource_type != NULL ? charta_model_find_type (resource_type) : -1;

      if (own < 0)
        return TRUE;
      type = own;
    }
  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &name, &child))
    {
      int child_type;
      size_t length = path->len;

      if (JSON_NODE_HOLDS_VALUE (child) || (child_type = member_type (type, name)) < 0)
        continue;
      g_string_append_c (path, '.');
      g_string_append (path, name);
      if (!fill_node (ctx, child, child_type, path, error))
        return FALSE;
      g_string_truncate (path, length);
    }
  return TRUE;
}

static gboolean
fill_node (FillContext  *ctx,
           JsonNode     *node,
           int           type,
           GString      *path,
           GError      **error)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return fill_object (ctx, json_node_get_object (node), type, path, error);
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (unsigned i = 0; i < json_array_get_length (array); i++)
        {
          size_t length = path->len;

          g_string_append_printf (path, "[%u]", i);
          if (!fill_node (ctx, json_array_get_element (array, i), type, path, error))
            return FALSE;
          g_string_truncate (path, length);
        }
    }
  return TRUE;
}

gboolean
charta_binary_fill_attachments (ChartaResource          *resource,
                                ChartaAttachmentLookup   lookup,
                                gpointer                 user_data,
                                ChartaResource         **edited,
                                GError                 **error)
{
  const char *type = charta_resource_get_resource_type (resource);
  g_autoptr(GHashTable) edits = NULL;
  g_autoptr(GString) path = NULL;
  FillContext ctx = { lookup, user_data, -1, NULL };

  *edited = NULL;
  if (!may_hold_attachments (charta_resource_get_root (resource)))
    return TRUE;
  ctx.attachment_type = charta_model_find_type ("Attachment");
  g_assert (ctx.attachment_type >= 0);
  edits = g_hash_table_new_full (NULL, NULL, NULL, object_edit_free);
  ctx.edits = edits;
  path = g_string_new (type);
  if (!fill_object (&ctx, charta_resource_get_object (resource), charta_model_find_type (type),
                    path, error))
    return FALSE;
  if (g_hash_table_size (edits) == 0)
    return TRUE;
  *edited = rewrite_resource (resource, edits, error);
  return *edited != NULL;
}

/* ---- writing content ------------------------------------------------------------------------- */

/* A batch of chunks for the writer (a job: see charta_store_job_submit()). */
typedef struct
{
  /* In. */
  int64_t             pending;    /* the pending content, 0: none yet */
  int64_t             first_seq;
  GBytes             *chunks[CHUNKS_PER_BATCH];
  unsigned            n;
  gboolean            last;       /* the content ends with these: give it its key */
  ChartaContentInfo   info;       /* (last) */

  /* Out. */
  int64_t             made;       /* the pending content they were added to */
  gboolean            existed;    /* (last) the content was stored already */
} Batch;

static void
batch_free (Batch *batch)
{
  if (batch == NULL)
    return;
  for (unsigned i = 0; i < batch->n; i++)
    g_bytes_unref (batch->chunks[i]);
  g_free (batch);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Batch, batch_free)

static gboolean
run_batch (ChartaDb  *db,
           gpointer   data,
           GError   **error)
{
  Batch *batch = data;
  int64_t now = g_get_real_time ();

  batch->made = batch->pending;
  batch->existed = FALSE;
  if (batch->last)
    {
      ChartaDbContent content;
      gboolean found = FALSE;

      /* Stored already: the last chunks need not go in (a small content is never written
       * twice). */
      if (!charta_db_lookup_content (db, batch->info.sha256, &content, &found, error))
        return FALSE;
      if (found)
        return charta_db_finish_content (db, 0, CHARTA_CONTENT_CHUNK_SIZE, &batch->info, now,
                                         &batch->existed, error);
    }
  if (batch->n > 0
      && !charta_db_add_chunks (db, batch->pending, CHARTA_CONTENT_CHUNK_SIZE, batch->first_seq,
                                batch->chunks, batch->n, now, &batch->made, error))
    return FALSE;
  if (!batch->last)
    return TRUE;
  return charta_db_finish_content (db, batch->made, CHARTA_CONTENT_CHUNK_SIZE, &batch->info, now,
                                   &batch->existed, error);
}

/* Dropping a content, a few chunks per job. */
typedef struct
{
  int64_t   cid;
  gboolean  duplicate;
  gboolean  done;       /* out */
} Drop;

static gboolean
run_drop (ChartaDb  *db,
          gpointer   data,
          GError   **error)
{
  Drop *drop = data;

  return charta_db_drop_content (db, drop->cid, DROP_CHUNKS, drop->duplicate, &drop->done,
                                 error);
}

static gboolean
drop_content (ChartaStore  *store,
              int64_t       cid,
              gboolean      duplicate,
              GError      **error)
{
  Drop drop = { cid, duplicate, FALSE };

  while (!drop.done)
    if (!charta_store_job_run (store, run_drop, &drop, error))
      return FALSE;
  return TRUE;
}

/* The chunk buffers of a writer, used again once the writer thread has stored them: a chunk
 * allocated and freed per MiB costs the allocator a trip to the kernel (glibc gives large free
 * blocks back and faults them in again), more than copying the bytes.  A pool is shared with
 * the chunks it lent (as GBytes), so it lives as long as the last of them. */
#define POOL_MAX_SPARE (2 * CHUNKS_PER_BATCH + 1)

typedef struct
{
  gatomicrefcount  ref_count;
  GMutex           lock;
  GPtrArray       *spare;      /* guint8 *: CHARTA_CONTENT_CHUNK_SIZE bytes each */
} ChunkPool;

typedef struct
{
  ChunkPool *pool;
  guint8    *buffer;
} PooledChunk;

static ChunkPool *
chunk_pool_new (void)
{
  ChunkPool *pool = g_new0 (ChunkPool, 1);

  g_atomic_ref_count_init (&pool->ref_count);
  g_mutex_init (&pool->lock);
  pool->spare = g_ptr_array_new_with_free_func (g_free);
  return pool;
}

static void
chunk_pool_unref (ChunkPool *pool)
{
  if (!g_atomic_ref_count_dec (&pool->ref_count))
    return;
  g_ptr_array_unref (pool->spare);
  g_mutex_clear (&pool->lock);
  g_free (pool);
}

static guint8 *
chunk_pool_take (ChunkPool *pool)
{
  guint8 *buffer = NULL;

  g_mutex_lock (&pool->lock);
  if (pool->spare->len > 0)
    buffer = g_ptr_array_steal_index_fast (pool->spare, pool->spare->len - 1);
  g_mutex_unlock (&pool->lock);
  return buffer != NULL ? buffer : g_malloc (CHARTA_CONTENT_CHUNK_SIZE);
}

static void
pooled_chunk_free (gpointer data)
{
  PooledChunk *chunk = data;
  ChunkPool *pool = chunk->pool;

  g_mutex_lock (&pool->lock);
  if (pool->spare->len < POOL_MAX_SPARE)
    g_ptr_array_add (pool->spare, g_steal_pointer (&chunk->buffer));
  g_mutex_unlock (&pool->lock);
  g_free (chunk->buffer);
  chunk_pool_unref (pool);
  g_free (chunk);
}

/* @buffer (from @pool) as GBytes of @length bytes; back to @pool once freed. */
static GBytes *
chunk_pool_wrap (ChunkPool *pool,
                 guint8    *buffer,
                 size_t     length)
{
  PooledChunk *chunk = g_new (PooledChunk, 1);

  g_atomic_ref_count_inc (&pool->ref_count);
  chunk->pool = pool;
  chunk->buffer = buffer;
  return g_bytes_new_with_free_func (buffer, length, pooled_chunk_free, chunk);
}

struct _ChartaContentWriter
{
  ChartaStore     *store;
  GChecksum       *sha256;
  GChecksum       *sha1;
  int64_t          size;
  ChunkPool       *pool;
  guint8          *chunk;       /* the chunk being filled, CHARTA_CONTENT_CHUNK_SIZE bytes */
  size_t           chunk_length;
  Batch           *next;        /* full chunks not yet handed to the writer */
  Batch           *sent;        /* handed to the writer as @job, not yet waited for */
  ChartaStoreJob  *job;
  int64_t          pending;     /* the pending content, once a batch made it */
  int64_t          next_seq;    /* of the next chunk to hand to the writer */
  GError          *error;       /* the first failure: every later call fails with it */
};

static void
content_writer_free (ChartaContentWriter *writer)
{
  batch_free (writer->next);
  g_clear_pointer (&writer->chunk, g_free);
  chunk_pool_unref (writer->pool);
  g_checksum_free (writer->sha256);
  g_checksum_free (writer->sha1);
  g_clear_error (&writer->error);
  g_object_unref (writer->store);
  g_free (writer);
}

ChartaContentWriter *
charta_store_content_begin (ChartaStore  *self,
                            GError      **error)
{
  ChartaContentWriter *writer;

  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  writer = g_new0 (ChartaContentWriter, 1);
  writer->store = g_object_ref (self);
  writer->sha256 = g_checksum_new (G_CHECKSUM_SHA256);
  writer->sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  writer->next = g_new0 (Batch, 1);
  writer->pool = chunk_pool_new ();
  return writer;
}

/* Waits for the batch in the writer's hands (if any): the pending content it made. */
static gboolean
wait_sent (ChartaContentWriter *writer)
{
  g_autoptr(Batch) sent = g_steal_pointer (&writer->sent);
  ChartaStoreJob *job = g_steal_pointer (&writer->job);

  if (job == NULL)
    return writer->error == NULL;
  if (!charta_store_job_wait (job, writer->error == NULL ? &writer->error : NULL))
    return FALSE;
  writer->pending = sent->made;
  return writer->error == NULL;
}

/* Hands the full chunks to the writer (once the batch before is in). */
static gboolean
send_next (ChartaContentWriter *writer)
{
  Batch *batch;

  if (!wait_sent (writer))
    return FALSE;
  batch = g_steal_pointer (&writer->next);
  writer->next = g_new0 (Batch, 1);
  batch->pending = writer->pending;
  batch->first_seq = writer->next_seq;
  writer->next_seq += batch->n;
  writer->job = charta_store_job_submit (writer->store, run_batch, batch, &writer->error);
  if (writer->job == NULL)
    {
      batch_free (batch);
      return FALSE;
    }
  writer->sent = batch;
  return TRUE;
}

/* The chunk being filled is done (full, or the last): to the batch. */
static gboolean
end_chunk (ChartaContentWriter *writer)
{
  Batch *batch = writer->next;

  batch->chunks[batch->n++] = chunk_pool_wrap (writer->pool, g_steal_pointer (&writer->chunk),
                                               writer->chunk_length);
  writer->chunk_length = 0;
  return batch->n < CHUNKS_PER_BATCH || send_next (writer);
}

gboolean
charta_content_writer_write (ChartaContentWriter  *writer,
                             const void           *data,
                             size_t                size,
                             GError              **error)
{
  const guint8 *bytes = data;

  g_return_val_if_fail (writer != NULL, FALSE);
  g_return_val_if_fail (data != NULL || size == 0, FALSE);

  if (writer->error != NULL)
    {
      g_propagate_error (error, g_error_copy (writer->error));
      return FALSE;
    }
  for (size_t at = 0; at < size;)
    {
      size_t n = MIN (size - at, (size_t) CHARTA_CONTENT_CHUNK_SIZE - writer->chunk_length);

      if (writer->chunk == NULL)
        writer->chunk = chunk_pool_take (writer->pool);
      memcpy (writer->chunk + writer->chunk_length, bytes + at, n);
      g_checksum_update (writer->sha256, bytes + at, (gssize) n);
      g_checksum_update (writer->sha1, bytes + at, (gssize) n);
      writer->chunk_length += n;
      writer->size += (int64_t) n;
      at += n;
      if (writer->chunk_length == CHARTA_CONTENT_CHUNK_SIZE && !end_chunk (writer))
        {
          g_propagate_error (error, g_error_copy (writer->error));
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
charta_content_writer_finish (ChartaContentWriter  *writer,
                              ChartaContentInfo    *info,
                              GError              **error)
{
  g_autoptr(GError) drop_error = NULL;
  ChartaContentInfo figures;
  Batch *last;
  int64_t pending;
  gboolean existed;

  g_return_val_if_fail (writer != NULL, FALSE);

  if (writer->error == NULL && writer->chunk_length > 0)
    {
      Batch *batch = writer->next;

      /* (the last chunk, shorter: into the last batch, which always has room for it) */
      if (batch->n == CHUNKS_PER_BATCH)
        send_next (writer);
      if (writer->error == NULL)
        {
          batch = writer->next;
          batch->chunks[batch->n++] = chunk_pool_wrap (writer->pool,
                                                       g_steal_pointer (&writer->chunk),
                                                       writer->chunk_length);
          writer->chunk_length = 0;
        }
    }
  if (!wait_sent (writer))
    {
      g_propagate_error (error, g_error_copy (writer->error));
      charta_content_writer_abort (writer);
      return FALSE;
    }
  info_from_checksums (writer->sha256, writer->sha1, writer->size, &figures);
  last = g_steal_pointer (&writer->next);
  last->pending = writer->pending;
  last->first_seq = writer->next_seq;
  last->last = TRUE;
  last->info = figures;
  if (!charta_store_job_run (writer->store, run_batch, last, &writer->error))
    {
      batch_free (last);
      g_propagate_error (error, g_error_copy (writer->error));
      charta_content_writer_abort (writer);
      return FALSE;
    }
  existed = last->existed;
  pending = last->made;
  batch_free (last);
  /* The same bytes were stored already: what this writer put in goes. */
  if (existed && pending != 0 && !drop_content (writer->store, pending, TRUE, &drop_error))
    g_warning ("dropping a duplicate content failed (it goes when the store is next opened): "
               "%s", drop_error->message);
  g_debug ("stored a content of %" G_GINT64_FORMAT " bytes%s", figures.size,
           existed ? " (stored already: kept once)" : "");
  if (info != NULL)
    *info = figures;
  content_writer_free (writer);
  return TRUE;
}

void
charta_content_writer_abort (ChartaContentWriter *writer)
{
  g_autoptr(GError) error = NULL;

  if (writer == NULL)
    return;
  wait_sent (writer);
  if (writer->pending != 0 && !drop_content (writer->store, writer->pending, FALSE, &error))
    g_debug ("dropping an abandoned content failed (it goes when the store is next opened): "
             "%s", error->message);
  content_writer_free (writer);
}

/* ---- reading content ------------------------------------------------------------------------- */

#define CHARTA_TYPE_CONTENT_STREAM (charta_content_stream_get_type ())
G_DECLARE_FINAL_TYPE (ChartaContentStream, charta_content_stream, CHARTA, CONTENT_STREAM,
                      GInputStream)

/* A range of a stored content, read chunk by chunk. */
struct _ChartaContentStream
{
  GInputStream  parent_instance;

  ChartaStore  *store;
  char          sha256[65];
  int64_t       chunk_size;
  int64_t       position;     /* the next byte to read */
  int64_t       end;          /* past the last byte of the range */
  guint8       *chunk;        /* the chunk last read (@chunk_size bytes), number @chunk_seq */
  size_t        chunk_length; /* its bytes */
  int64_t       chunk_seq;    /* -1: none */
};

G_DEFINE_FINAL_TYPE (ChartaContentStream, charta_content_stream, G_TYPE_INPUT_STREAM)

static gssize
content_stream_read (GInputStream  *stream,
                     void          *buffer,
                     gsize          count,
                     GCancellable  *cancellable,
                     GError       **error)
{
  ChartaContentStream *self = CHARTA_CONTENT_STREAM (stream);
  int64_t seq, offset;
  gsize length, n;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return -1;
  if (self->position >= self->end || count == 0)
    return 0;
  seq = self->position / self->chunk_size;
  if (self->chunk_seq != seq)
    {
      ChartaDb *db = charta_store_take_reader (self->store, error);
      gboolean ok;

      if (db == NULL)
        return -1;
      /* (one buffer for the stream's life: a chunk is read into it, never allocated) */
      if (self->chunk == NULL)
        self->chunk = g_malloc ((gsize) self->chunk_size);
      self->chunk_seq = -1;
      ok = charta_db_read_chunk (db, self->sha256, seq, self->chunk, (size_t) self->chunk_size,
                                 &self->chunk_length, error);
      charta_store_give_reader (self->store, db);
      if (!ok)
        return -1;
      self->chunk_seq = seq;
    }
  length = self->chunk_length;
  offset = self->position - seq * self->chunk_size;
  if ((int64_t) length <= offset)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT,
                   "chunk %" G_GINT64_FORMAT " of a content is %" G_GSIZE_FORMAT
                   " bytes, too short for its size", seq, length);
      return -1;
    }
  n = MIN (count, length - (gsize) offset);
  n = (gsize) MIN ((int64_t) n, self->end - self->position);
  memcpy (buffer, self->chunk + offset, n);
  self->position += (int64_t) n;
  return (gssize) n;
}

static gssize
content_stream_skip (GInputStream  *stream,
                     gsize          count,
                     GCancellable  *cancellable,
                     GError       **error)
{
  ChartaContentStream *self = CHARTA_CONTENT_STREAM (stream);
  int64_t n = MIN ((int64_t) MIN (count, (gsize) G_MAXINT64), self->end - self->position);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return -1;
  self->position += n;
  return (gssize) n;
}

static gboolean
content_stream_close (GInputStream  *stream,
                      GCancellable  *cancellable,
                      GError       **error)
{
  ChartaContentStream *self = CHARTA_CONTENT_STREAM (stream);

  g_clear_pointer (&self->chunk, g_free);
  self->chunk_seq = -1;
  return TRUE;
}

static void
charta_content_stream_finalize (GObject *object)
{
  ChartaContentStream *self = CHARTA_CONTENT_STREAM (object);

  g_clear_pointer (&self->chunk, g_free);
  g_clear_object (&self->store);
  G_OBJECT_CLASS (charta_content_stream_parent_class)->finalize (object);
}

static void
charta_content_stream_class_init (ChartaContentStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  object_class->finalize = charta_content_stream_finalize;
  stream_class->read_fn = content_stream_read;
  stream_class->skip = content_stream_skip;
  stream_class->close_fn = content_stream_close;
}

static void
charta_content_stream_init (ChartaContentStream *self)
{
  self->chunk_seq = -1;
}

GInputStream *
charta_store_open_binary (ChartaStore         *self,
                          const char          *id,
                          int64_t              version,
                          int64_t              offset,
                          int64_t              length,
                          ChartaResource     **binary,
                          ChartaContentInfo   *info,
                          GError             **error)
{
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) local_error = NULL;
  ChartaContentStream *stream;
  ChartaDbContent content;
  gboolean has_content = FALSE;
  int64_t end;
  ChartaDb *db;

  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (binary != NULL)
    *binary = NULL;
  if (strlen (id) == 0 || strlen (id) > 64
      || id[strspn (id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.")]
         != '\0')
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "Binary: “%.80s” is not a valid id (1 to 64 of A-Z, a-z, 0-9, '-' and '.')",
                   id);
      return NULL;
    }
  if (version < 0)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "Binary/%s: %" G_GINT64_FORMAT " is not a version", id, version);
      return NULL;
    }
  db = charta_store_take_reader (self, error);
  if (db == NULL)
    return NULL;
  body = charta_db_read_binary (db, id, version, NULL, &content, &has_content, error);
  charta_store_give_reader (self, db);
  if (body == NULL)
    return NULL;
  if (!has_content)
    {
      /* a Binary without content: its content is empty */
      charta_content_info_compute (NULL, 0, &content.info);
      content.chunk_size = CHARTA_CONTENT_CHUNK_SIZE;
    }
  if (offset < 0 || offset > content.info.size)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "Binary/%s: offset %" G_GINT64_FORMAT " is %s its content (%"
                   G_GINT64_FORMAT " bytes)", id, offset,
                   offset < 0 ? "before the start of" : "past the end of", content.info.size);
      return NULL;
    }
  if (content.chunk_size <= 0)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT,
                   "Binary/%s: its content has chunks of %" G_GINT64_FORMAT " bytes", id,
                   content.chunk_size);
      return NULL;
    }
  end = length < 0 || length > content.info.size - offset ? content.info.size : offset + length;
  if (binary != NULL)
    {
      *binary = charta_resource_new_from_bytes (body, NULL, &local_error);
      if (*binary == NULL)
        {
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT,
                       "Binary/%s does not read back: %s", id, local_error->message);
          return NULL;
        }
    }
  if (info != NULL)
    *info = content.info;

  stream = g_object_new (CHARTA_TYPE_CONTENT_STREAM, NULL);
  stream->store = g_object_ref (self);
  g_strlcpy (stream->sha256, content.info.sha256, sizeof stream->sha256);
  stream->chunk_size = content.chunk_size;
  stream->position = offset;
  stream->end = end;
  return G_INPUT_STREAM (stream);
}

/* ---- cleaning up, and figures ----------------------------------------------------------------- */

typedef struct
{
  int64_t   before;
  int64_t   cid;       /* the content being dropped (taken by an earlier job), 0: take one */
  int64_t   left;      /* out: the content to go on with, 0: none */
  gboolean  finished;  /* out: nothing (more) to drop */
} Clean;

static gboolean
run_clean (ChartaDb  *db,
           gpointer   data,
           GError   **error)
{
  Clean *clean = data;
  int64_t cid = clean->cid;
  gboolean done = FALSE;

  clean->finished = FALSE;
  clean->left = 0;
  if (cid == 0)
    {
      if (!charta_db_take_garbage (db, clean->before, &cid, error))
        return FALSE;
      if (cid == 0)
        {
          clean->finished = TRUE;
          return TRUE;
        }
    }
  if (!charta_db_drop_content (db, cid, DROP_CHUNKS, FALSE, &done, error))
    return FALSE;
  clean->left = done ? 0 : cid;
  return TRUE;
}

gboolean
charta_store_clean_content (ChartaStore  *self,
                            int64_t       max_age,
                            GError      **error)
{
  Clean clean = { g_get_real_time () - MAX (max_age, 0), 0, 0, FALSE };
  unsigned n_jobs = 0;

  g_return_val_if_fail (CHARTA_IS_STORE (self), FALSE);

  while (!clean.finished)
    {
      if (!charta_store_job_run (self, run_clean, &clean, error))
        return FALSE;
      clean.cid = clean.left;
      n_jobs++;
    }
  if (n_jobs > 1)
    g_debug ("dropped abandoned content in %u transactions", n_jobs - 1);
  return TRUE;
}

gboolean
charta_store_get_content_stats (ChartaStore         *self,
                                ChartaContentStats  *stats,
                                GError             **error)
{
  ChartaDb *db;
  gboolean ok;

  g_return_val_if_fail (CHARTA_IS_STORE (self), FALSE);

  db = charta_store_take_reader (self, error);
  if (db == NULL)
    return FALSE;
  ok = charta_db_content_stats (db, stats, error);
  charta_store_give_reader (self, db);
  return ok;
}
