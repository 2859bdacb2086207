/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-binary.c: Binary content in the store: ChartaContentWriter, charta_store_put_binary(),
 * charta_store_open_binary(), Binary JSON with `data`, Attachment size and hash, dedup,
 * aborts and crashes, `charta check`, and the migration of a schema-4 store.
 *
 * The bytes are pseudo-random (a GRand of a fixed seed, so a failure can be replayed) and the
 * expected figures are computed here with GChecksum over the same bytes, never taken from the
 * store.  Sizes are chosen around the store's chunk (1 MiB) and batch (4 chunks) boundaries.
 * The migration test makes a schema-4 store by taking 0005 back out of a new one with SQLite
 * itself (the only use of SQLite outside the store's engine, with the damage test).
 */
#define G_LOG_DOMAIN "charta-test-binary"

#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "charta-store-private.h"
#include "charta-test-store-util.h"

#define CHUNK CHARTA_CONTENT_CHUNK_SIZE

typedef ChartaTestStore Fixture;   /* a new store in a temporary folder */

/* ---- helpers ------------------------------------------------------------------------------ */

/* @size pseudo-random bytes of @seed. */
static GBytes *
make_bytes (size_t  size,
            guint32 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  guint8 *data = g_malloc (size + 4);

  for (size_t i = 0; i < size; i += 4)
    {
      guint32 r = g_rand_int (rand);

      memcpy (data + i, &r, 4);
    }
  return g_bytes_new_take (data, size);
}

/* What the store should say of @bytes: SHA-256 in hex, SHA-1 in base64, computed here. */
static void
expected_info (GBytes            *bytes,
               ChartaContentInfo *info)
{
  g_autoptr(GChecksum) sha256 = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize length = sizeof digest;
  g_autofree char *base64 = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);

  g_checksum_update (sha256, data, (gssize) size);
  g_checksum_update (sha1, data, (gssize) size);
  g_checksum_get_digest (sha1, digest, &length);
  base64 = g_base64_encode (digest, length);
  memset (info, 0, sizeof *info);
  g_strlcpy (info->sha256, g_checksum_get_string (sha256), sizeof info->sha256);
  g_strlcpy (info->sha1, base64, sizeof info->sha1);
  info->size = (int64_t) size;
}

/* Writes @bytes through a ChartaContentWriter in pieces of varying size (1 byte to 300 KiB,
 * so that pieces straddle chunk boundaries). */
static ChartaContentInfo
store_bytes (ChartaStore *store,
             GBytes      *bytes)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  ChartaContentWriter *writer = charta_store_content_begin (store, &error);
  ChartaContentInfo info;
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);

  g_assert_no_error (error);
  for (gsize at = 0; at < size;)
    {
      gsize piece = (gsize) g_rand_int_range (rand, 1, 300 * 1024);
      gsize n = MIN (size - at, piece);

      g_assert_true (charta_content_writer_write (writer, data + at, n, &error));
      g_assert_no_error (error);
      at += n;
    }
  g_assert_true (charta_content_writer_finish (writer, &info, &error));
  g_assert_no_error (error);
  return info;
}

static void
assert_info_equal (const ChartaContentInfo *a,
                   const ChartaContentInfo *b)
{
  g_assert_cmpstr (a->sha256, ==, b->sha256);
  g_assert_cmpstr (a->sha1, ==, b->sha1);
  g_assert_cmpint (a->size, ==, b->size);
}

/* Everything @stream gives, read in pieces of @piece bytes. */
static GBytes *
read_all (GInputStream *stream,
          gsize         piece)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autofree guint8 *buffer = g_malloc (piece);
  g_autoptr(GError) error = NULL;
  gssize n;

  while ((n = g_input_stream_read (stream, buffer, piece, NULL, &error)) > 0)
    g_byte_array_append (out, buffer, (guint) n);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 0);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* The content of Binary @id at @version (0: current) from @offset, @length bytes. */
static GBytes *
read_binary (ChartaStore       *store,
             const char        *id,
             int64_t            version,
             int64_t            offset,
             int64_t            length,
             ChartaContentInfo *info)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stream = charta_store_open_binary (store, id, version, offset, length,
                                                             NULL, info, &error);

  g_assert_no_error (error);
  g_assert_nonnull (stream);
  return read_all (stream, 64 * 1024 + 3);
}

static ChartaContentStats
content_stats (ChartaStore *store)
{
  g_autoptr(GError) error = NULL;
  ChartaContentStats stats;

  g_assert_true (charta_store_get_content_stats (store, &stats, &error));
  g_assert_no_error (error);
  return stats;
}

static void
assert_check_clean (ChartaStore *store)
{
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  g_autoptr(GError) error = NULL;
  gboolean clean = charta_store_check (store, outcome, &error);

  g_assert_no_error (error);
  for (unsigned i = 0; i < charta_outcome_get_n_issues (outcome); i++)
    {
      const ChartaIssue *issue = charta_outcome_get_issue (outcome, i);

      if (issue->severity <= CHARTA_ISSUE_ERROR)
        g_test_message ("check: %s", issue->diagnostics);
    }
  g_assert_true (clean);
}

static gboolean
has_member (ChartaResource *resource,
            const char     *name)
{
  return json_object_has_member (charta_resource_get_object (resource), name);
}

static ChartaResource *
put_new_binary (ChartaStore             *store,
                const char              *content_type,
                const ChartaContentInfo *info)
{
  g_autoptr(GError) error = NULL;
  gboolean created = FALSE;
  ChartaResource *binary = charta_store_put_binary (store, NULL, content_type, NULL, info->sha256,
                                                    0, NULL, &created, &error);

  g_assert_no_error (error);
  g_assert_true (created);
  return binary;
}

/* The JsonObject at attachment of content[@n] of a DocumentReference. */
static JsonObject *
attachment_of (ChartaResource *docref,
               unsigned        n)
{
  JsonArray *content = json_object_get_array_member (charta_resource_get_object (docref),
                                                     "content");

  return json_object_get_object_member (json_array_get_object_element (content, n),
                                        "attachment");
}

/* ---- round trips ---------------------------------------------------------------------------- */

static void
test_round_trip (Fixture       *f,
                 gconstpointer  data)
{
  /* 0 and 1 byte; a chunk and one byte either side; four chunks (a writer batch) and one more
   * byte; nine chunks and a bit (several batches and a short last chunk) */
  static const size_t sizes[] = { 0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 4 * CHUNK, 4 * CHUNK + 1,
                                  9 * CHUNK + 12345 };

  for (unsigned i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(GBytes) bytes = make_bytes (sizes[i], 100 + i);
      g_autoptr(ChartaResource) binary = NULL;
      g_autoptr(ChartaResource) read = NULL;
      g_autoptr(GBytes) back = NULL;
      g_autoptr(GError) error = NULL;
      ChartaContentInfo expected, info, read_info;

      g_test_message ("%" G_GSIZE_FORMAT " bytes", sizes[i]);
      expected_info (bytes, &expected);
      info = store_bytes (f->store, bytes);
      assert_info_equal (&info, &expected);

      binary = put_new_binary (f->store, "application/pdf", &info);
      g_assert_cmpstr (charta_resource_get_resource_type (binary), ==, "Binary");
      g_assert_cmpstr (charta_resource_get_version_id (binary), ==, "1");
      g_assert_false (has_member (binary, "data"));

      back = read_binary (f->store, charta_resource_get_id (binary), 0, 0, -1, &read_info);
      g_assert_true (g_bytes_equal (back, bytes));
      assert_info_equal (&read_info, &expected);

      read = charta_store_read (f->store, "Binary", charta_resource_get_id (binary), &error);
      g_assert_no_error (error);
      g_assert_cmpstr (json_object_get_string_member (charta_resource_get_object (read),
                                                      "contentType"), ==, "application/pdf");
      g_assert_false (has_member (read, "data"));
    }
  {
    ChartaContentStats stats = content_stats (f->store);
    int64_t total = 0, chunks = 0;

    for (unsigned i = 0; i < G_N_ELEMENTS (sizes); i++)
      {
        total += (int64_t) sizes[i];
        chunks += (int64_t) ((sizes[i] + CHUNK - 1) / CHUNK);
      }
    g_assert_cmpint (stats.n_contents, ==, G_N_ELEMENTS (sizes));
    g_assert_cmpint (stats.n_bytes, ==, total);
    g_assert_cmpint (stats.n_chunks, ==, chunks);
    g_assert_cmpint (stats.n_pending, ==, 0);
    g_assert_cmpint (stats.n_holders, ==, G_N_ELEMENTS (sizes));
  }
  assert_check_clean (f->store);
}

/* ---- dedup --------------------------------------------------------------------------------- */

static void
test_dedup (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GBytes) bytes = make_bytes (6 * CHUNK + 77, 1);
  g_autoptr(GBytes) other = make_bytes (2 * CHUNK + 5, 2);
  g_autoptr(GError) error = NULL;
  ChartaContentWriter *a = charta_store_content_begin (f->store, &error);
  ChartaContentWriter *b = charta_store_content_begin (f->store, &error);
  ChartaContentInfo ia, ib, io, expected;
  ChartaContentStats stats;
  gsize size;
  const guint8 *p = g_bytes_get_data (bytes, &size);

  /* Two writers of the same bytes at once, interleaved: both have committed batches of a
   * pending content before either ends. */
  g_assert_true (charta_content_writer_write (a, p, size / 2, &error));
  g_assert_true (charta_content_writer_write (b, p, size / 3, &error));
  g_assert_true (charta_content_writer_write (a, p + size / 2, size - size / 2, &error));
  g_assert_true (charta_content_writer_write (b, p + size / 3, size - size / 3, &error));
  g_assert_no_error (error);
  g_assert_true (charta_content_writer_finish (a, &ia, &error));
  g_assert_true (charta_content_writer_finish (b, &ib, &error));
  g_assert_no_error (error);
  expected_info (bytes, &expected);
  assert_info_equal (&ia, &expected);
  assert_info_equal (&ib, &expected);

  stats = content_stats (f->store);
  g_assert_cmpint (stats.n_contents, ==, 1);
  g_assert_cmpint (stats.n_bytes, ==, (int64_t) size);
  g_assert_cmpint (stats.n_chunks, ==, 7);
  g_assert_cmpint (stats.n_pending, ==, 0);

  /* A third time, after: nothing new either; other bytes: a second content. */
  io = store_bytes (f->store, bytes);
  assert_info_equal (&io, &expected);
  io = store_bytes (f->store, other);
  stats = content_stats (f->store);
  g_assert_cmpint (stats.n_contents, ==, 2);
  g_assert_cmpint (stats.n_bytes, ==, (int64_t) (size + g_bytes_get_size (other)));
  g_assert_cmpint (stats.n_chunks, ==, 7 + 3);

  /* Two Binaries of the same content: held twice, stored once. */
  {
    g_autoptr(ChartaResource) one = put_new_binary (f->store, "image/png", &ia);
    g_autoptr(ChartaResource) two = put_new_binary (f->store, "image/png", &ib);
    g_autoptr(GBytes) back = read_binary (f->store, charta_resource_get_id (two), 0, 0, -1,
                                          NULL);

    g_assert_cmpstr (charta_resource_get_id (one), !=, charta_resource_get_id (two));
    g_assert_true (g_bytes_equal (back, bytes));
  }
  stats = content_stats (f->store);
  g_assert_cmpint (stats.n_contents, ==, 2);
  g_assert_cmpint (stats.n_holders, ==, 2);
  g_assert_cmpint (stats.n_unheld, ==, 1);  /* @other */
  assert_check_clean (f->store);
}

typedef struct
{
  ChartaStore       *store;
  GBytes            *bytes;
  ChartaContentInfo  info;
} UploadThread;

static gpointer
upload_thread (gpointer data)
{
  UploadThread *t = data;

  t->info = store_bytes (t->store, t->bytes);
  return NULL;
}

/* Four threads upload the same bytes at the same time: one content. */
static void
test_dedup_threads (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GBytes) bytes = make_bytes (5 * CHUNK + 3, 3);
  UploadThread uploads[4];
  GThread *threads[4];
  ChartaContentInfo expected;
  ChartaContentStats stats;

  expected_info (bytes, &expected);
  for (unsigned i = 0; i < 4; i++)
    {
      uploads[i] = (UploadThread) { f->store, bytes, { { 0 } } };
      threads[i] = g_thread_new ("upload", upload_thread, &uploads[i]);
    }
  for (unsigned i = 0; i < 4; i++)
    {
      g_thread_join (threads[i]);
      assert_info_equal (&uploads[i].info, &expected);
    }
  stats = content_stats (f->store);
  g_assert_cmpint (stats.n_contents, ==, 1);
  g_assert_cmpint (stats.n_chunks, ==, 6);
  g_assert_cmpint (stats.n_pending, ==, 0);
}

/* ---- ranges -------------------------------------------------------------------------------- */

static void
test_ranges (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GBytes) bytes = make_bytes (3 * CHUNK + 100, 4);
  int64_t size = (int64_t) g_bytes_get_size (bytes);
  ChartaContentInfo info = store_bytes (f->store, bytes);
  g_autoptr(ChartaResource) binary = put_new_binary (f->store, "image/tiff", &info);
  const char *id = charta_resource_get_id (binary);
  /* offset, length, and the bytes expected: [offset, MIN (offset + length, size)) */
  static const struct { int64_t offset, length; } ranges[] = {
    { 0, 10 }, { CHUNK - 5, 10 }, { CHUNK, CHUNK }, { 2 * CHUNK - 1, CHUNK + 2 },
    { 100, -1 }, { 0, 0 },
  };

  for (unsigned i = 0; i < G_N_ELEMENTS (ranges); i++)
    {
      int64_t offset = ranges[i].offset;
      int64_t end = ranges[i].length < 0 ? size : MIN (size, offset + ranges[i].length);
      g_autoptr(GBytes) expected = g_bytes_new_from_bytes (bytes, (gsize) offset,
                                                           (gsize) (end - offset));
      g_autoptr(GBytes) back = read_binary (f->store, id, 0, offset, ranges[i].length, NULL);

      g_assert_true (g_bytes_equal (back, expected));
    }

  /* the last byte; from the end (nothing); past the end of the content: cut to it */
  {
    g_autoptr(GBytes) last = read_binary (f->store, id, 0, size - 1, -1, NULL);
    g_autoptr(GBytes) none = read_binary (f->store, id, 0, size, 10, NULL);
    g_autoptr(GBytes) cut = read_binary (f->store, id, 0, size - 3, 1000, NULL);
    const guint8 *all = g_bytes_get_data (bytes, NULL);

    g_assert_cmpuint (g_bytes_get_size (last), ==, 1);
    g_assert_cmpint (((const guint8 *) g_bytes_get_data (last, NULL))[0], ==, all[size - 1]);
    g_assert_cmpuint (g_bytes_get_size (none), ==, 0);
    g_assert_cmpuint (g_bytes_get_size (cut), ==, 3);
    g_assert_cmpmem (g_bytes_get_data (cut, NULL), 3, all + size - 3, 3);
  }

  /* an offset past the end, or before the start: an error naming it */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GInputStream) stream = charta_store_open_binary (f->store, id, 0, size + 1, -1,
                                                               NULL, NULL, &error);

    g_assert_null (stream);
    g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "past the end"));
    g_clear_error (&error);
    stream = charta_store_open_binary (f->store, id, 0, -1, -1, NULL, NULL, &error);
    g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
    g_clear_error (&error);
    stream = charta_store_open_binary (f->store, "no-such-binary", 0, 0, -1, NULL, NULL, &error);
    g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND);
  }

  /* skipping is reading without the bytes */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GInputStream) stream = charta_store_open_binary (f->store, id, 0, 0, -1, NULL,
                                                               NULL, &error);
    g_autoptr(GBytes) rest = NULL;

    g_assert_cmpint (g_input_stream_skip (stream, 2 * CHUNK + 1, NULL, &error), ==,
                     2 * CHUNK + 1);
    rest = read_all (stream, 4096);
    g_assert_cmpuint (g_bytes_get_size (rest), ==, (gsize) size - 2 * CHUNK - 1);
    g_assert_cmpmem (g_bytes_get_data (rest, NULL), 16,
                     (const guint8 *) g_bytes_get_data (bytes, NULL) + 2 * CHUNK + 1, 16);
  }
}

/* ---- versions ------------------------------------------------------------------------------ */

static void
test_versions (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GBytes) a = make_bytes (CHUNK + 10, 5);
  g_autoptr(GBytes) b = make_bytes (20, 6);
  ChartaContentInfo ia = store_bytes (f->store, a);
  ChartaContentInfo ib = store_bytes (f->store, b);
  g_autoptr(ChartaResource) v1 = put_new_binary (f->store, "application/pdf", &ia);
  g_autoptr(ChartaResource) v2 = NULL;
  g_autoptr(ChartaResource) same = NULL;
  g_autoptr(ChartaResource) v3 = NULL;
  g_autoptr(ChartaResource) conflict = NULL;
  g_autoptr(ChartaResource) old = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = g_strdup (charta_resource_get_id (v1));
  gboolean created = TRUE;
  ChartaContentInfo info;

  /* new content: version 2 */
  v2 = charta_store_put_binary (f->store, id, "application/pdf", NULL, ib.sha256, 1, NULL,
                                &created, &error);
  g_assert_no_error (error);
  g_assert_false (created);
  g_assert_cmpstr (charta_resource_get_version_id (v2), ==, "2");
  /* the same again: no new version */
  same = charta_store_put_binary (f->store, id, "application/pdf", NULL, ib.sha256, 0, NULL,
                                  NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_version_id (same), ==, "2");
  /* the same content with a security context: a new version */
  v3 = charta_store_put_binary (f->store, id, "application/pdf", "Patient/p1", ib.sha256, 2,
                                NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_version_id (v3), ==, "3");
  g_assert_cmpstr (json_object_get_string_member (
                     json_object_get_object_member (charta_resource_get_object (v3),
                                                    "securityContext"), "reference"), ==,
                   "Patient/p1");
  /* If-Match on an old version: a conflict, nothing written */
  conflict = charta_store_put_binary (f->store, id, "image/png", NULL, ia.sha256, 1, NULL, NULL,
                                      &error);
  g_assert_null (conflict);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CONFLICT);
  g_clear_error (&error);

  /* each version keeps its bytes */
  {
    g_autoptr(GBytes) r1 = read_binary (f->store, id, 1, 0, -1, &info);
    g_autoptr(GBytes) r2 = read_binary (f->store, id, 2, 0, -1, NULL);
    g_autoptr(GBytes) r0 = read_binary (f->store, id, 0, 0, -1, NULL);

    g_assert_true (g_bytes_equal (r1, a));
    assert_info_equal (&info, &ia);
    g_assert_true (g_bytes_equal (r2, b));
    g_assert_true (g_bytes_equal (r0, b));
  }
  old = charta_store_vread (f->store, "Binary", id, 1, &error);
  g_assert_no_error (error);
  g_assert_false (has_member (old, "data"));
  history = charta_store_history (f->store, "Binary", id, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (history->len, ==, 3);
  for (unsigned i = 0; i < history->len; i++)
    g_assert_false (has_member (((ChartaHistoryEntry *) history->pdata[i])->resource, "data"));

  /* deleted: gone, its old versions still read */
  g_assert_cmpint (charta_store_delete (f->store, "Binary", id, 0, NULL, &error), ==, 4);
  {
    g_autoptr(GInputStream) stream = charta_store_open_binary (f->store, id, 0, 0, -1, NULL,
                                                               NULL, &error);
    g_autoptr(GBytes) r1 = NULL;

    g_assert_null (stream);
    g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_GONE);
    g_clear_error (&error);
    r1 = read_binary (f->store, id, 1, 0, -1, NULL);
    g_assert_true (g_bytes_equal (r1, a));
  }

  /* errors of put_binary: a content never stored, no SHA-256, no content type */
  {
    g_autoptr(ChartaResource) none = NULL;

    none = charta_store_put_binary (f->store, NULL, "image/png", NULL,
                                    "0000000000000000000000000000000000000000000000000000000000000000",
                                    0, NULL, NULL, &error);
    g_assert_null (none);
    g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "SHA-256"));
    g_clear_error (&error);
    none = charta_store_put_binary (f->store, NULL, "image/png", NULL, "abc", 0, NULL, NULL,
                                    &error);
    g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
    g_clear_error (&error);
    none = charta_store_put_binary (f->store, NULL, "", NULL, ia.sha256, 0, NULL, NULL, &error);
    g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "contentType"));
    g_clear_error (&error);
  }
  assert_check_clean (f->store);
}

/* ---- Binary as JSON -------------------------------------------------------------------------- */

static void
test_json_data (Fixture       *f,
                gconstpointer  data)
{
  /* "Hello, world" in base64 (printf 'Hello, world' | base64) */
  g_autoptr(ChartaResource) input = charta_test_parse ("{\"resourceType\":\"Binary\","
                                                        "\"contentType\":\"text/plain\","
                                                        "\"data\":\"SGVsbG8sIHdvcmxk\"}");
  g_autoptr(GBytes) hello = g_bytes_new_static ("Hello, world", 12);
  g_autoptr(ChartaResource) created = NULL;
  g_autoptr(ChartaResource) read = NULL;
  g_autoptr(ChartaResource) changed = NULL;
  g_autoptr(ChartaResource) updated = NULL;
  g_autoptr(GBytes) back = NULL;
  g_autoptr(GError) error = NULL;
  ChartaContentInfo expected, info;
  const char *id;

  expected_info (hello, &expected);
  created = charta_store_create (f->store, input, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (has_member (created, "data"));
  id = charta_resource_get_id (created);
  read = charta_store_read (f->store, "Binary", id, &error);
  g_assert_no_error (error);
  g_assert_false (has_member (read, "data"));
  back = read_binary (f->store, id, 0, 0, -1, &info);
  g_assert_true (g_bytes_equal (back, hello));
  assert_info_equal (&info, &expected);

  /* written back without data (as read): the content stays, and no new version is made */
  updated = charta_store_update (f->store, read, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_version_id (updated), ==, "1");
  g_clear_pointer (&updated, charta_resource_unref);
  {
    g_autofree char *json = g_strdup_printf ("{\"resourceType\":\"Binary\",\"id\":\"%s\","
                                             "\"contentType\":\"text/x-greeting\"}", id);

    changed = charta_test_parse (json);
  }
  updated = charta_store_update (f->store, changed, 1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_version_id (updated), ==, "2");
  g_clear_pointer (&back, g_bytes_unref);
  back = read_binary (f->store, id, 2, 0, -1, NULL);
  g_assert_true (g_bytes_equal (back, hello));

  /* not base64: refused, naming the element */
  {
    g_autoptr(ChartaResource) bad = charta_test_parse ("{\"resourceType\":\"Binary\","
                                                        "\"contentType\":\"text/plain\","
                                                        "\"data\":\"SGVsb*8=\"}");
    g_autoptr(ChartaResource) none = charta_store_create (f->store, bad, NULL, &error);

    g_assert_null (none);
    g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "Binary.data"));
  }
  g_assert_cmpint (charta_test_store_count (f->store, "Binary"), ==, 1);
  assert_check_clean (f->store);
}

/* A transaction of a Binary with data and a DocumentReference that names it by its urn:uuid:
 * the url becomes Binary/id, with the size and hash of the bytes. */
static void
test_json_transaction (Fixture       *f,
                       gconstpointer  data)
{
  static const char binary_json[] =
    "{\"resourceType\":\"Binary\",\"contentType\":\"application/pdf\","
    "\"data\":\"JVBERi0xLjQKJcOkw7zDtsOfCg==\"}";  /* "%PDF-1.4\n%äüöß\n" */
  static const guint8 pdf[] = "%PDF-1.4\n%\xc3\xa4\xc3\xbc\xc3\xb6\xc3\x9f\n";
  static const char docref_json[] =
    "{\"resourceType\":\"DocumentReference\",\"status\":\"current\","
    "\"content\":[{\"attachment\":{\"contentType\":\"application/pdf\","
    "\"url\":\"urn:uuid:0b5d8c1e-0000-4000-8000-000000000001\"}}]}";
  g_autoptr(ChartaResource) binary = charta_test_parse (binary_json);
  g_autoptr(ChartaResource) docref = charta_test_parse (docref_json);
  g_autoptr(GBytes) expected_bytes = g_bytes_new_static (pdf, sizeof pdf - 1);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) back = NULL;
  g_autofree char *url = NULL;
  ChartaOperation ops[2] = {
    { CHARTA_METHOD_CREATE, binary, NULL, NULL, "urn:uuid:0b5d8c1e-0000-4000-8000-000000000001",
      0 },
    { CHARTA_METHOD_CREATE, docref, NULL, NULL, NULL, 0 },
  };
  ChartaOperationResult *rb, *rd;
  ChartaContentInfo expected;
  JsonObject *attachment;

  expected_info (expected_bytes, &expected);
  results = charta_store_transaction (f->store, ops, 2, NULL, &error);
  g_assert_no_error (error);
  rb = g_ptr_array_index (results, 0);
  rd = g_ptr_array_index (results, 1);
  g_assert_false (has_member (rb->resource, "data"));
  back = read_binary (f->store, rb->id, 0, 0, -1, NULL);
  g_assert_true (g_bytes_equal (back, expected_bytes));

  attachment = attachment_of (rd->resource, 0);
  url = g_strconcat ("Binary/", rb->id, NULL);
  g_assert_cmpstr (json_object_get_string_member (attachment, "url"), ==, url);
  g_assert_cmpint (json_object_get_int_member (attachment, "size"), ==, expected.size);
  g_assert_cmpstr (json_object_get_string_member (attachment, "hash"), ==, expected.sha1);
  assert_check_clean (f->store);
}

/* ---- Attachments ------------------------------------------------------------------------------ */

static ChartaResource *
docref_naming (const char *url,
               const char *figures)
{
  g_autofree char *json = g_strdup_printf ("{\"resourceType\":\"DocumentReference\","
                                           "\"status\":\"current\",\"content\":["
                                           "{\"attachment\":{\"contentType\":\"text/plain\","
                                           "\"url\":\"%s\"%s}}]}", url, figures);

  return charta_test_parse (json);
}

static void
test_attachments (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GBytes) bytes = make_bytes (CHUNK + 3, 8);
  ChartaContentInfo info = store_bytes (f->store, bytes);
  g_autoptr(ChartaResource) binary = put_new_binary (f->store, "text/plain", &info);
  g_autofree char *relative = g_strconcat ("Binary/", charta_resource_get_id (binary), NULL);
  g_autofree char *absolute = g_strconcat ("http://example.org/fhir/", relative, NULL);
  g_autofree char *elsewhere = g_strconcat ("http://other.example.org/fhir/", relative, NULL);
  g_autoptr(GError) error = NULL;

  charta_store_add_base_url (f->store, "http://example.org/fhir");

  /* relative, absolute under the store's base: filled in; under another base: left alone */
  {
    const char *urls[] = { relative, absolute };

    for (unsigned i = 0; i < G_N_ELEMENTS (urls); i++)
      {
        g_autoptr(ChartaResource) input = docref_naming (urls[i], "");
        g_autoptr(ChartaResource) stored = charta_store_create (f->store, input, NULL, &error);
        g_autoptr(ChartaResource) read = NULL;
        JsonObject *attachment;

        g_assert_no_error (error);
        read = charta_store_read (f->store, "DocumentReference", charta_resource_get_id (stored),
                                  &error);
        g_assert_no_error (error);
        attachment = attachment_of (read, 0);
        g_assert_cmpint (json_object_get_int_member (attachment, "size"), ==, CHUNK + 3);
        g_assert_cmpstr (json_object_get_string_member (attachment, "hash"), ==, info.sha1);
        g_assert_cmpstr (json_object_get_string_member (attachment, "url"), ==, urls[i]);
      }
  }
  {
    g_autoptr(ChartaResource) input = docref_naming (elsewhere, "");
    g_autoptr(ChartaResource) stored = charta_store_create (f->store, input, NULL, &error);

    g_assert_no_error (error);
    g_assert_false (json_object_has_member (attachment_of (stored, 0), "size"));
  }

  /* the client's own figures, right: kept; wrong: refused, naming the element and both values,
   * and nothing written */
  {
    g_autofree char *right = g_strdup_printf (",\"size\":%d,\"hash\":\"%s\"", CHUNK + 3,
                                              info.sha1);
    g_autoptr(ChartaResource) input = docref_naming (relative, right);
    g_autoptr(ChartaResource) stored = charta_store_create (f->store, input, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (json_object_get_string_member (attachment_of (stored, 0), "hash"), ==,
                     info.sha1);
  }
  {
    int64_t before = charta_test_store_count (f->store, "DocumentReference");
    int64_t provenance = charta_test_store_count (f->store, "Provenance");
    g_autoptr(ChartaResource) wrong_hash = docref_naming (relative,
                                                          ",\"hash\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAA=\"");
    g_autoptr(ChartaResource) wrong_size = docref_naming (relative, ",\"size\":12");
    g_autoptr(ChartaResource) none = charta_store_create (f->store, wrong_hash, NULL, &error);

    g_assert_null (none);
    g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "DocumentReference.content[0].attachment.hash"));
    g_assert_nonnull (strstr (error->message, "AAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    g_assert_nonnull (strstr (error->message, info.sha1));
    g_clear_error (&error);
    none = charta_store_create (f->store, wrong_size, NULL, &error);
    g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "DocumentReference.content[0].attachment.size is 12"));
    g_clear_error (&error);
    g_assert_cmpint (charta_test_store_count (f->store, "DocumentReference"), ==, before);
    g_assert_cmpint (charta_test_store_count (f->store, "Provenance"), ==, provenance);
  }

  /* inline data: size and hash of the data ("abc": 3 bytes, SHA-1 qZk+NkcGgWq6PiVxeFDCbJzQ2J0=,
   * as `printf abc | openssl sha1 -binary | base64` gives) */
  {
    g_autoptr(ChartaResource) input = charta_test_parse (
      "{\"resourceType\":\"DocumentReference\",\"status\":\"current\",\"content\":["
      "{\"attachment\":{\"contentType\":\"text/plain\",\"data\":\"YWJj\"}}]}");
    g_autoptr(ChartaResource) stored = charta_store_create (f->store, input, NULL, &error);
    JsonObject *attachment;

    g_assert_no_error (error);
    attachment = attachment_of (stored, 0);
    g_assert_cmpint (json_object_get_int_member (attachment, "size"), ==, 3);
    g_assert_cmpstr (json_object_get_string_member (attachment, "hash"), ==,
                     "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
    g_assert_cmpstr (json_object_get_string_member (attachment, "data"), ==, "YWJj");
  }

  /* a hash in another form than R4's (hex, as R4's own DiagnosticReport-example-pgx has it):
   * not comparable, kept as it came; the size is filled in */
  {
    g_autoptr(ChartaResource) input = charta_test_parse (
      "{\"resourceType\":\"DocumentReference\",\"status\":\"current\",\"content\":["
      "{\"attachment\":{\"contentType\":\"text/plain\",\"data\":\"YWJj\","
      "\"hash\":\"571ef9c5655840f324e679072ed62b1b95eef8a0\"}}]}");
    g_autoptr(ChartaResource) stored = charta_store_create (f->store, input, NULL, &error);
    JsonObject *attachment;

    g_assert_no_error (error);
    attachment = attachment_of (stored, 0);
    g_assert_cmpint (json_object_get_int_member (attachment, "size"), ==, 3);
    g_assert_cmpstr (json_object_get_string_member (attachment, "hash"), ==,
                     "571ef9c5655840f324e679072ed62b1b95eef8a0");
  }

  /* an Attachment elsewhere than a DocumentReference: an extension's valueAttachment */
  {
    g_autofree char *json = g_strdup_printf (
      "{\"resourceType\":\"Patient\",\"extension\":[{\"url\":\"http://example.org/scan\","
      "\"valueAttachment\":{\"url\":\"%s\"}}]}", relative);
    g_autoptr(ChartaResource) input = charta_test_parse (json);
    g_autoptr(ChartaResource) stored = charta_store_create (f->store, input, NULL, &error);
    JsonObject *extension;

    g_assert_no_error (error);
    extension = json_array_get_object_element (
      json_object_get_array_member (charta_resource_get_object (stored), "extension"), 0);
    g_assert_cmpint (json_object_get_int_member (
                       json_object_get_object_member (extension, "valueAttachment"), "size"),
                     ==, CHUNK + 3);
  }

  /* a Binary that does not exist: nothing to fill, no error */
  {
    g_autoptr(ChartaResource) input = docref_naming ("Binary/missing", "");
    g_autoptr(ChartaResource) stored = charta_store_create (f->store, input, NULL, &error);

    g_assert_no_error (error);
    g_assert_false (json_object_has_member (attachment_of (stored, 0), "size"));
  }
  assert_check_clean (f->store);
}

/* ---- aborts and crashes ---------------------------------------------------------------------- */

static void
test_abort (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GBytes) bytes = make_bytes (9 * CHUNK + 5, 9);
  g_autoptr(GError) error = NULL;
  ChartaContentWriter *writer = charta_store_content_begin (f->store, &error);
  ChartaContentStats stats;

  g_assert_true (charta_content_writer_write (writer, g_bytes_get_data (bytes, NULL),
                                              g_bytes_get_size (bytes), &error));
  g_assert_no_error (error);
  /* two batches of four chunks are with the writer: a pending content exists */
  stats = content_stats (f->store);
  g_assert_cmpint (stats.n_pending, ==, 1);
  g_assert_cmpint (stats.n_contents, ==, 0);
  charta_content_writer_abort (writer);
  stats = content_stats (f->store);
  g_assert_cmpint (stats.n_pending, ==, 0);
  g_assert_cmpint (stats.n_contents, ==, 0);
  g_assert_cmpint (stats.n_chunks, ==, 0);

  /* an abort before any byte, and a finish of nothing (the empty content) */
  writer = charta_store_content_begin (f->store, &error);
  charta_content_writer_abort (writer);
  stats = content_stats (f->store);
  g_assert_cmpint (stats.n_pending + stats.n_contents, ==, 0);
  assert_check_clean (f->store);
}

/* The child of test_crash: writes six chunks of an upload and dies without a word.  (Its own
 * fixture goes first: the child works on the parent's store.) */
static void
crash_child (Fixture *f)
{
  const char *path = g_getenv ("CHARTA_TEST_BINARY_STORE");
  g_autoptr(GBytes) bytes = make_bytes (6 * CHUNK, 10);
  g_autoptr(GError) error = NULL;
  ChartaStore *store;
  ChartaContentWriter *writer;
  ChartaContentStats stats;

  charta_test_store_tear_down (f, NULL);
  store = charta_test_store_open (path, CHARTA_STORE_FLAGS_NONE);
  writer = charta_store_content_begin (store, &error);

  g_assert_true (charta_content_writer_write (writer, g_bytes_get_data (bytes, NULL),
                                              g_bytes_get_size (bytes), &error));
  g_assert_no_error (error);
  /* (a write queued after the writer's batch returns once that batch is committed too) */
  {
    g_autoptr(ChartaResource) patient = charta_test_parse ("{\"resourceType\":\"Patient\"}");
    g_autoptr(ChartaResource) stored = charta_store_create (store, patient, NULL, &error);

    g_assert_no_error (error);
  }
  stats = content_stats (store);
  g_assert_cmpint (stats.n_pending, ==, 1);
  _exit (0);
}

static void
test_crash (Fixture       *f,
            gconstpointer  data)
{
  ChartaContentStats stats;
  g_autoptr(GError) error = NULL;

  if (g_test_subprocess ())
    {
      crash_child (f);
      return;
    }
  charta_store_close (f->store);
  g_clear_object (&f->store);
  g_setenv ("CHARTA_TEST_BINARY_STORE", f->store_path, TRUE);
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();

  f->store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_NONE);
  stats = content_stats (f->store);
  /* what the crash left: a pending content, never visible as content */
  g_assert_cmpint (stats.n_pending, ==, 1);
  g_assert_cmpint (stats.n_contents, ==, 0);
  assert_check_clean (f->store);
  /* dropped by the cleanup (the writer's, at open, once it is an hour old) */
  g_assert_true (charta_store_clean_content (f->store, 0, &error));
  g_assert_no_error (error);
  stats = content_stats (f->store);
  g_assert_cmpint (stats.n_pending, ==, 0);
  g_assert_cmpint (stats.n_chunks, ==, 0);
}

/* Content no version holds (a finished upload whose Binary write failed) is dropped by the
 * cleanup too; content a version holds never is. */
static void
test_clean_unheld (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GBytes) held = make_bytes (2 * CHUNK + 1, 11);
  g_autoptr(GBytes) unheld = make_bytes (5 * CHUNK, 12);
  ChartaContentInfo ih = store_bytes (f->store, held);
  g_autoptr(ChartaResource) binary = put_new_binary (f->store, "image/png", &ih);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) back = NULL;
  ChartaContentStats stats;

  store_bytes (f->store, unheld);
  stats = content_stats (f->store);
  g_assert_cmpint (stats.n_contents, ==, 2);
  g_assert_cmpint (stats.n_unheld, ==, 1);
  g_assert_true (charta_store_clean_content (f->store, 0, &error));
  g_assert_no_error (error);
  stats = content_stats (f->store);
  g_assert_cmpint (stats.n_contents, ==, 1);
  g_assert_cmpint (stats.n_unheld, ==, 0);
  g_assert_cmpint (stats.n_chunks, ==, 3);
  back = read_binary (f->store, charta_resource_get_id (binary), 0, 0, -1, NULL);
  g_assert_true (g_bytes_equal (back, held));
  assert_check_clean (f->store);
}

/* ---- check ------------------------------------------------------------------------------------ */

static void
exec_on_file (const char *path,
              const char *sql)
{
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
  sqlite3_close (db);
}

static void
test_check_damage (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GBytes) bytes = make_bytes (3 * CHUNK + 9, 13);
  ChartaContentInfo info = store_bytes (f->store, bytes);
  g_autoptr(ChartaResource) binary = put_new_binary (f->store, "image/png", &info);
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  g_autoptr(GError) error = NULL;
  gboolean found = FALSE;

  assert_check_clean (f->store);
  charta_store_close (f->store);
  g_clear_object (&f->store);
  /* one byte of the second chunk changed (the same length: only the hash can tell) */
  exec_on_file (f->store_path, "UPDATE content_chunk SET data = zeroblob (1048576) WHERE seq = 1");
  f->store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_NONE);
  g_assert_false (charta_store_check (f->store, outcome, &error));
  g_assert_no_error (error);
  for (unsigned i = 0; i < charta_outcome_get_n_issues (outcome); i++)
    {
      const ChartaIssue *issue = charta_outcome_get_issue (outcome, i);

      if (issue->severity <= CHARTA_ISSUE_ERROR && strstr (issue->diagnostics, "damaged") != NULL)
        found = TRUE;
    }
  g_assert_true (found);

  /* a chunk missing */
  charta_store_close (f->store);
  g_clear_object (&f->store);
  exec_on_file (f->store_path, "DELETE FROM content_chunk WHERE seq = 2");
  f->store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_NONE);
  g_clear_pointer (&outcome, charta_outcome_unref);
  outcome = charta_outcome_new ();
  g_assert_false (charta_store_check (f->store, outcome, &error));
  found = FALSE;
  for (unsigned i = 0; i < charta_outcome_get_n_issues (outcome); i++)
    if (strstr (charta_outcome_get_issue (outcome, i)->diagnostics, "chunks") != NULL)
      found = TRUE;
  g_assert_true (found);

  /* a version holding a content that is not there */
  charta_store_close (f->store);
  g_clear_object (&f->store);
  exec_on_file (f->store_path, "UPDATE version SET content = 999 WHERE content IS NOT NULL");
  f->store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_NONE);
  g_clear_pointer (&outcome, charta_outcome_unref);
  outcome = charta_outcome_new ();
  g_assert_false (charta_store_check (f->store, outcome, &error));
  found = FALSE;
  for (unsigned i = 0; i < charta_outcome_get_n_issues (outcome); i++)
    if (strstr (charta_outcome_get_issue (outcome, i)->diagnostics, "not a stored content")
        != NULL)
      found = TRUE;
  g_assert_true (found);
}

/* ---- migration ---------------------------------------------------------------------------------- */

static int64_t
user_version_of (const char *path)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  int64_t version;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  version = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return version;
}

/* A store of schema 4 (before 0005): made here by taking 0005's objects out of a new store
 * holding a Binary of two versions, whose bodies then get their content back as `data`, as
 * schema 4 kept it.  Opened by this Charta, it migrates: the bytes go to the content store. */
static void
test_migration (Fixture       *f,
                gconstpointer  data)
{
  /* "first" and "second" in base64 */
  static const char *const bodies[2] = { "Zmlyc3Q=", "c2Vjb25k" };
  g_autoptr(ChartaResource) v1_input = charta_test_parse ("{\"resourceType\":\"Binary\","
                                                           "\"contentType\":\"text/plain\"}");
  g_autoptr(ChartaResource) v1 = NULL;
  g_autoptr(ChartaResource) v2_input = NULL;
  g_autoptr(ChartaResource) v2 = NULL;
  g_autoptr(ChartaResource) read = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  ChartaContentStats stats;

  g_assert_cmpint (user_version_of (f->store_path), ==, 5);
  v1 = charta_store_create (f->store, v1_input, NULL, &error);
  g_assert_no_error (error);
  id = g_strdup (charta_resource_get_id (v1));
  {
    g_autofree char *json = g_strdup_printf ("{\"resourceType\":\"Binary\",\"id\":\"%s\","
                                             "\"contentType\":\"text/x-second\"}", id);

    v2_input = charta_test_parse (json);
  }
  v2 = charta_store_update (f->store, v2_input, 1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_version_id (v2), ==, "2");
  charta_store_close (f->store);
  g_clear_object (&f->store);

  /* back to schema 4, the content in the bodies (before their last '}') */
  {
    g_autofree char *sql = g_strdup_printf (
      "DROP INDEX version_by_content; ALTER TABLE version DROP COLUMN content;"
      " DROP TABLE content_chunk; DROP TABLE content;"
      " UPDATE version SET body = CAST (substr (CAST (body AS TEXT), 1,"
      "   length (CAST (body AS TEXT)) - 1) || ',\"data\":\"' ||"
      "   (CASE version WHEN 1 THEN '%s' ELSE '%s' END) || '\"}' AS BLOB)"
      " WHERE tid = (SELECT tid FROM rtype WHERE name = 'Binary');"
      " PRAGMA user_version = 4;", bodies[0], bodies[1]);

    exec_on_file (f->store_path, sql);
  }
  g_assert_cmpint (user_version_of (f->store_path), ==, 4);

  f->store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_NONE);
  g_assert_cmpint (user_version_of (f->store_path), ==, 5);
  read = charta_store_read (f->store, "Binary", id, &error);
  g_assert_no_error (error);
  g_assert_false (has_member (read, "data"));
  g_assert_cmpstr (json_object_get_string_member (charta_resource_get_object (read),
                                                  "contentType"), ==, "text/x-second");
  {
    g_autoptr(GBytes) first = read_binary (f->store, id, 1, 0, -1, NULL);
    g_autoptr(GBytes) second = read_binary (f->store, id, 0, 0, -1, NULL);

    g_assert_cmpmem (g_bytes_get_data (first, NULL), g_bytes_get_size (first), "first", 5);
    g_assert_cmpmem (g_bytes_get_data (second, NULL), g_bytes_get_size (second), "second", 6);
  }
  stats = content_stats (f->store);
  g_assert_cmpint (stats.n_contents, ==, 2);
  g_assert_cmpint (stats.n_holders, ==, 2);
  assert_check_clean (f->store);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/charta/backend/binary/" path, Fixture, NULL, charta_test_store_set_up, func, \
              charta_test_store_tear_down)

  ADD ("round-trip", test_round_trip);
  ADD ("dedup", test_dedup);
  ADD ("dedup-threads", test_dedup_threads);
  ADD ("ranges", test_ranges);
  ADD ("versions", test_versions);
  ADD ("json/data", test_json_data);
  ADD ("json/transaction", test_json_transaction);
  ADD ("attachments", test_attachments);
  ADD ("abort", test_abort);
  ADD ("crash", test_crash);
  ADD ("clean-unheld", test_clean_unheld);
  ADD ("check-damage", test_check_damage);
  ADD ("migration", test_migration);

#undef ADD
  return g_test_run ();
}
