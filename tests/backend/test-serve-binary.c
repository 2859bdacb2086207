/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-serve-binary.c: Binary content over REST, against the built `charta serve`.
 *
 * Each test starts `charta serve` on a new store (port 0, the base URL read from its standard
 * output) and drives it with a SoupSession: raw uploads and downloads (byte-identical, the
 * SHA-256 computed here over what was sent and what came back), Range requests (206, 416), ETag
 * and 304, the FHIR JSON form with base64 data, dedup of an identical upload, 413 past
 * --max-binary-size with nothing stored, DocumentReference size and hash, and
 * Patient/$everything.  Figures of the store (contents, chunks, holders) are read with the
 * store's own call once the server has stopped.
 *
 * The large test streams 1 GB generated on the fly (xorshift64*, a fixed seed: never zeros,
 * so nothing compresses or deduplicates it) through a GInputStream as the request body,
 * downloads it as a stream while hashing it, and reads the server's peak RSS (VmHWM of
 * /proc/PID/status), which must stay under 150 MB.  CHARTA_TEST_BINARY_MB sets another size (the
 * sanitizer build, whose allocator holds far more, runs it with 64).  It prints upload and
 * download MB/s.
 */
#define G_LOG_DOMAIN "charta-test-serve-binary"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <libsoup/soup.h>

#include "charta-store-private.h"
#include "charta-test-store-util.h"

#define MIB (1024 * 1024)
#define PEAK_RSS_LIMIT_KB (150 * 1024)

typedef struct
{
  char        *dir;
  char        *store_path;
  GSubprocess *child;
  char        *base;          /* "http://127.0.0.1:PORT/fhir" */
  SoupSession *session;
} Fixture;

/* ---- the server ------------------------------------------------------------------------------ */

static void
start_serve (Fixture    *f,
             const char *first_option,
             ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  va_list args;

  g_ptr_array_add (argv, (char *) charta_test_charta_bin ());
  g_ptr_array_add (argv, "serve");
  g_ptr_array_add (argv, "--listen");
  g_ptr_array_add (argv, "127.0.0.1:0");
  va_start (args, first_option);
  for (const char *option = first_option; option != NULL; option = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *) option);
  va_end (args);
  g_ptr_array_add (argv, f->store_path);
  g_ptr_array_add (argv, NULL);
  f->child = g_subprocess_newv ((const char *const *) argv->pdata,
                                G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                &error);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (f->child));
  f->base = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->base);
  g_assert_true (g_str_has_prefix (f->base, "http://127.0.0.1:"));
}

/* SIGTERM: it exits 0. */
static void
stop_serve (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  if (f->child == NULL)
    return;
  g_subprocess_send_signal (f->child, SIGTERM);
  g_subprocess_wait (f->child, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (f->child));
  g_assert_cmpint (g_subprocess_get_exit_status (f->child), ==, 0);
  g_clear_object (&f->child);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(ChartaStore) store = NULL;

  f->dir = charta_test_make_tmp_dir ();
  f->store_path = g_build_filename (f->dir, "store.charta", NULL);
  store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_CREATE);
  charta_store_close (store);
  f->session = soup_session_new ();
  /* (the default option set: the limits are the server's defaults) */
  if (data == NULL)
    start_serve (f, NULL);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  stop_serve (f);
  g_clear_object (&f->session);
  g_free (f->base);
  charta_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->store_path);
}

/* Figures of the store's content, once the server has stopped. */
static ChartaContentStats
stopped_stats (Fixture *f,
               int64_t *n_binaries)
{
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(GError) error = NULL;
  ChartaContentStats stats;

  stop_serve (f);
  store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_READ_ONLY);
  g_assert_true (charta_store_get_content_stats (store, &stats, &error));
  g_assert_no_error (error);
  if (n_binaries != NULL)
    *n_binaries = charta_test_store_count (store, "Binary");
  return stats;
}

/* ---- requests ----------------------------------------------------------------------------------- */

typedef struct
{
  unsigned            status;
  GBytes             *body;
  SoupMessageHeaders *headers;
} Answer;

static void
answer_clear (Answer *a)
{
  g_clear_pointer (&a->body, g_bytes_unref);
  g_clear_pointer (&a->headers, soup_message_headers_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Answer, answer_clear)

/* @method @path (after the base) with @body (NULL: none) of @type; @header/@value pairs
 * follow, NULL-terminated. */
static Answer
request (Fixture    *f,
         const char *method,
         const char *path,
         const char *type,
         GBytes     *body,
         ...)
{
  g_autofree char *url = g_strconcat (f->base, "/", path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GError) error = NULL;
  Answer answer = { 0 };
  va_list args;

  g_assert_nonnull (msg);
  if (body != NULL)
    soup_message_set_request_body_from_bytes (msg, type, body);
  va_start (args, body);
  for (const char *name = va_arg (args, const char *); name != NULL;
       name = va_arg (args, const char *))
    soup_message_headers_replace (soup_message_get_request_headers (msg), name,
                                  va_arg (args, const char *));
  va_end (args);
  answer.body = soup_session_send_and_read (f->session, msg, NULL, &error);
  g_assert_no_error (error);
  answer.status = soup_message_get_status (msg);
  answer.headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  return answer;
}

static const char *
header (Answer     *a,
        const char *name)
{
  return soup_message_headers_get_one (a->headers, name);
}

static JsonObject *
answer_object (Answer     *a,
               JsonNode  **keep)
{
  g_autoptr(GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (a->body, &length);
  g_autofree char *text = g_strndup (data, length);

  *keep = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (*keep));
  return json_node_get_object (*keep);
}

/* @size pseudo-random bytes of @seed (GRand). */
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

static char *
sha256_of (GBytes *bytes)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
}

/* SHA-1 in base64, as Attachment.hash has it. */
static char *
sha1_base64_of (GBytes *bytes)
{
  g_autoptr(GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize length = sizeof digest;

  g_checksum_update (sha1, g_bytes_get_data (bytes, NULL), (gssize) g_bytes_get_size (bytes));
  g_checksum_get_digest (sha1, digest, &length);
  return g_base64_encode (digest, length);
}

/* POSTs @bytes as raw content of @type: the new Binary's id. */
static char *
upload (Fixture    *f,
        GBytes     *bytes,
        const char *type)
{
  g_auto(Answer) a = request (f, "POST", "Binary", type, bytes, NULL);
  g_autoptr(JsonNode) node = NULL;
  JsonObject *binary;

  g_assert_cmpuint (a.status, ==, 201);
  binary = answer_object (&a, &node);
  g_assert_cmpstr (json_object_get_string_member (binary, "resourceType"), ==, "Binary");
  g_assert_false (json_object_has_member (binary, "data"));
  return g_strdup (json_object_get_string_member (binary, "id"));
}

/* ---- raw content ------------------------------------------------------------------------------- */

static void
test_round_trip (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GBytes) bytes = make_bytes (3 * MIB + 1, 1);
  g_autoptr(GBytes) second = make_bytes (1000, 2);
  g_autofree char *expected = sha256_of (bytes);
  g_autofree char *id = NULL;
  g_autofree char *path = NULL;
  g_autofree char *location = NULL;
  g_autofree char *got = NULL;

  {
    g_auto(Answer) a = request (f, "POST", "Binary", "image/png", bytes,
                                "X-Security-Context", "Patient/p1",
                                "X-Provenance", "{\"resourceType\":\"Provenance\",\"agent\":"
                                "[{\"who\":{\"display\":\"Scanning station 3\"}}]}", NULL);
    g_autoptr(JsonNode) node = NULL;
    JsonObject *binary;

    g_assert_cmpuint (a.status, ==, 201);
    binary = answer_object (&a, &node);
    id = g_strdup (json_object_get_string_member (binary, "id"));
    g_assert_cmpstr (json_object_get_string_member (binary, "contentType"), ==, "image/png");
    g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (binary, "securityContext"), "reference"),
                     ==, "Patient/p1");
    g_assert_false (json_object_has_member (binary, "data"));
    g_assert_cmpstr (header (&a, "ETag"), ==, "W/\"1\"");
    location = g_strdup_printf ("%s/Binary/%s/_history/1", f->base, id);
    g_assert_cmpstr (header (&a, "Location"), ==, location);
  }
  path = g_strconcat ("Binary/", id, NULL);
  /* its Provenance names the agent X-Provenance gave */
  {
    g_autofree char *query = g_strdup_printf ("Provenance?target=Binary/%s", id);
    g_auto(Answer) a = request (f, "GET", query, NULL, NULL, NULL);

    g_assert_cmpuint (a.status, ==, 200);
    g_assert_nonnull (g_strstr_len (g_bytes_get_data (a.body, NULL),
                                    (gssize) g_bytes_get_size (a.body), "Scanning station 3"));
  }
  {
    g_auto(Answer) a = request (f, "GET", path, NULL, NULL, NULL);

    g_assert_cmpuint (a.status, ==, 200);
    g_assert_cmpstr (header (&a, "Content-Type"), ==, "image/png");
    g_assert_cmpint (soup_message_headers_get_content_length (a.headers), ==, 3 * MIB + 1);
    g_assert_cmpstr (header (&a, "ETag"), ==, "W/\"1\"");
    g_assert_cmpstr (header (&a, "Accept-Ranges"), ==, "bytes");
    g_assert_cmpstr (header (&a, "X-Security-Context"), ==, "Patient/p1");
    g_assert_nonnull (header (&a, "Last-Modified"));
    got = sha256_of (a.body);
    g_assert_cmpstr (got, ==, expected);
  }
  {
    g_auto(Answer) a = request (f, "HEAD", path, NULL, NULL, NULL);

    g_assert_cmpuint (a.status, ==, 200);
    g_assert_cmpint (soup_message_headers_get_content_length (a.headers), ==, 3 * MIB + 1);
    g_assert_cmpuint (g_bytes_get_size (a.body), ==, 0);
  }

  /* PUT new content (If-Match the current version): version 2; version 1 keeps its bytes */
  {
    g_auto(Answer) a = request (f, "PUT", path, "application/pdf", second,
                                "If-Match", "W/\"1\"", "Prefer", "return=minimal", NULL);

    g_assert_cmpuint (a.status, ==, 200);
    g_assert_cmpstr (header (&a, "ETag"), ==, "W/\"2\"");
    g_assert_cmpuint (g_bytes_get_size (a.body), ==, 0);
  }
  {
    g_auto(Answer) a = request (f, "PUT", path, "application/pdf", second,
                                "If-Match", "W/\"1\"", NULL);

    g_assert_cmpuint (a.status, ==, 412);
  }
  {
    g_autofree char *v1 = g_strconcat (path, "/_history/1", NULL);
    g_auto(Answer) now = request (f, "GET", path, NULL, NULL, NULL);
    g_auto(Answer) old = request (f, "GET", v1, NULL, NULL, NULL);

    g_assert_cmpstr (header (&now, "Content-Type"), ==, "application/pdf");
    g_assert_true (g_bytes_equal (now.body, second));
    g_assert_cmpuint (old.status, ==, 200);
    g_assert_cmpstr (header (&old, "ETag"), ==, "W/\"1\"");
    g_assert_true (g_bytes_equal (old.body, bytes));
  }

  /* an update-as-create with a client id, and an empty content */
  {
    g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
    g_auto(Answer) a = request (f, "PUT", "Binary/scan-7", "text/plain", empty, NULL);
    g_auto(Answer) back = request (f, "GET", "Binary/scan-7", NULL, NULL, NULL);

    g_assert_cmpuint (a.status, ==, 201);
    g_assert_cmpuint (back.status, ==, 200);
    g_assert_cmpuint (g_bytes_get_size (back.body), ==, 0);
    g_assert_cmpstr (header (&back, "Content-Type"), ==, "text/plain");
  }
  /* FHIR XML is no content: 415 */
  {
    g_autoptr(GBytes) xml = g_bytes_new_static ("<Binary/>", 9);
    g_auto(Answer) a = request (f, "POST", "Binary", "application/fhir+xml", xml, NULL);

    g_assert_cmpuint (a.status, ==, 415);
  }
}

static void
test_ranges (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GBytes) bytes = make_bytes (2 * MIB + 100, 3);
  const guint8 *all = g_bytes_get_data (bytes, NULL);
  int64_t size = (int64_t) g_bytes_get_size (bytes);
  g_autofree char *id = upload (f, bytes, "application/pdf");
  g_autofree char *path = g_strconcat ("Binary/", id, NULL);
  /* the range asked, and the bytes [first, last] it is (computed from the size: 2 MiB + 100) */
  static const struct { const char *range; int64_t first, last; } cases[] = {
    { "bytes=0-9", 0, 9 },
    { "bytes=1048570-1048585", 1048570, 1048585 },   /* across the first chunk's end */
    { "bytes=-7", 2 * MIB + 93, 2 * MIB + 99 },      /* the last 7 */
    { "bytes=2097100-", 2097100, 2 * MIB + 99 },     /* to the end */
    { "bytes=2097000-9999999", 2097000, 2 * MIB + 99 }, /* past the end: cut */
  };

  for (unsigned i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Answer) a = request (f, "GET", path, NULL, NULL, "Range", cases[i].range, NULL);
      g_autofree char *content_range = g_strdup_printf ("bytes %" G_GINT64_FORMAT "-%"
                                                        G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                                                        cases[i].first, cases[i].last, size);
      gsize n = (gsize) (cases[i].last - cases[i].first + 1);

      g_test_message ("Range: %s", cases[i].range);
      g_assert_cmpuint (a.status, ==, 206);
      g_assert_cmpstr (header (&a, "Content-Range"), ==, content_range);
      g_assert_cmpmem (g_bytes_get_data (a.body, NULL), g_bytes_get_size (a.body),
                       all + cases[i].first, n);
    }
  /* unsatisfiable: 416 with the size */
  {
    g_autofree char *range = g_strdup_printf ("bytes=%" G_GINT64_FORMAT "-", size);
    g_autofree char *content_range = g_strdup_printf ("bytes */%" G_GINT64_FORMAT, size);
    g_auto(Answer) a = request (f, "GET", path, NULL, NULL, "Range", range, NULL);

    g_assert_cmpuint (a.status, ==, 416);
    g_assert_cmpstr (header (&a, "Content-Range"), ==, content_range);
  }
  /* several ranges: the whole content, 200; a malformed one: ignored, 200 */
  {
    g_auto(Answer) several = request (f, "GET", path, NULL, NULL, "Range", "bytes=0-1,5-6",
                                      NULL);
    g_auto(Answer) malformed = request (f, "GET", path, NULL, NULL, "Range", "bytes=9-3", NULL);

    g_assert_cmpuint (several.status, ==, 200);
    g_assert_true (g_bytes_equal (several.body, bytes));
    g_assert_cmpuint (malformed.status, ==, 200);
    g_assert_cmpuint (g_bytes_get_size (malformed.body), ==, (gsize) size);
  }
}

static void
test_etag (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GBytes) bytes = make_bytes (5000, 4);
  g_autofree char *id = upload (f, bytes, "image/jpeg");
  g_autofree char *path = g_strconcat ("Binary/", id, NULL);
  g_auto(Answer) same = request (f, "GET", path, NULL, NULL, "If-None-Match", "W/\"1\"", NULL);
  g_auto(Answer) other = request (f, "GET", path, NULL, NULL, "If-None-Match", "W/\"9\"", NULL);

  g_assert_cmpuint (same.status, ==, 304);
  g_assert_cmpuint (g_bytes_get_size (same.body), ==, 0);
  g_assert_cmpuint (other.status, ==, 200);
  g_assert_true (g_bytes_equal (other.body, bytes));
}

/* ---- FHIR JSON ------------------------------------------------------------------------------------ */

static void
test_json (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GBytes) bytes = make_bytes (70000, 5);
  g_autofree char *base64 = g_base64_encode (g_bytes_get_data (bytes, NULL),
                                             g_bytes_get_size (bytes));
  g_autofree char *id = upload (f, bytes, "application/dicom");
  g_autofree char *path = g_strconcat ("Binary/", id, NULL);
  g_autofree char *format = g_strconcat (path, "?_format=json", NULL);
  Answer answers[2] = {
    request (f, "GET", path, NULL, NULL, "Accept", "application/fhir+json", NULL),
    request (f, "GET", format, NULL, NULL, NULL),
  };

  for (unsigned i = 0; i < G_N_ELEMENTS (answers); i++)
    {
      g_autoptr(JsonNode) node = NULL;
      JsonObject *binary;

      g_assert_cmpuint (answers[i].status, ==, 200);
      g_assert_true (g_str_has_prefix (header (&answers[i], "Content-Type"),
                                       "application/fhir+json"));
      g_assert_cmpint (soup_message_headers_get_content_length (answers[i].headers), ==,
                       (goffset) g_bytes_get_size (answers[i].body));
      binary = answer_object (&answers[i], &node);
      g_assert_cmpstr (json_object_get_string_member (binary, "id"), ==, id);
      g_assert_cmpstr (json_object_get_string_member (binary, "contentType"), ==,
                       "application/dicom");
      g_assert_cmpstr (json_object_get_string_member (binary, "data"), ==, base64);
      answer_clear (&answers[i]);
    }

  /* a Binary POSTed as JSON with data: the content, raw */
  {
    g_autoptr(GBytes) hello = g_bytes_new_static ("Hello, world", 12);
    static const char text[] = "{\"resourceType\":\"Binary\",\"contentType\":\"text/plain\","
                               "\"data\":\"SGVsbG8sIHdvcmxk\"}";
    g_autoptr(GBytes) json = g_bytes_new_static (text, strlen (text));
    g_auto(Answer) a = request (f, "POST", "Binary", "application/fhir+json", json, NULL);
    g_autoptr(JsonNode) node = NULL;
    JsonObject *binary = answer_object (&a, &node);
    g_autofree char *raw = g_strconcat ("Binary/", json_object_get_string_member (binary, "id"),
                                        NULL);
    g_auto(Answer) back = request (f, "GET", raw, NULL, NULL, NULL);

    g_assert_cmpuint (a.status, ==, 201);
    g_assert_false (json_object_has_member (binary, "data"));
    g_assert_true (g_bytes_equal (back.body, hello));
    g_assert_cmpstr (header (&back, "Content-Type"), ==, "text/plain");
  }
  /* search gives Binary without data */
  {
    g_auto(Answer) a = request (f, "GET", "Binary", NULL, NULL, NULL);

    g_assert_cmpuint (a.status, ==, 200);
    g_assert_null (g_strstr_len (g_bytes_get_data (a.body, NULL),
                                 (gssize) g_bytes_get_size (a.body), "\"data\""));
  }
}

/* ---- dedup and limits ------------------------------------------------------------------------------ */

static void
test_dedup (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GBytes) bytes = make_bytes (5 * MIB + 3, 6);
  g_autofree char *first = upload (f, bytes, "application/pdf");
  g_autofree char *second = upload (f, bytes, "application/pdf");
  g_autofree char *path = g_strconcat ("Binary/", second, NULL);
  ChartaContentStats stats;
  int64_t n_binaries = 0;

  g_assert_cmpstr (first, !=, second);
  {
    g_auto(Answer) a = request (f, "GET", path, NULL, NULL, NULL);

    g_assert_true (g_bytes_equal (a.body, bytes));
  }
  stats = stopped_stats (f, &n_binaries);
  g_assert_cmpint (n_binaries, ==, 2);
  g_assert_cmpint (stats.n_contents, ==, 1);
  g_assert_cmpint (stats.n_bytes, ==, 5 * MIB + 3);
  g_assert_cmpint (stats.n_chunks, ==, 6);
  g_assert_cmpint (stats.n_holders, ==, 2);
  g_assert_cmpint (stats.n_pending, ==, 0);
}

/* A GInputStream of @remaining pseudo-random bytes (xorshift64*, never all zeros), hashed
 * (SHA-256) as they are read: an upload body generated as it is sent. */
#define TEST_TYPE_GENERATED_STREAM (test_generated_stream_get_type ())
G_DECLARE_FINAL_TYPE (TestGeneratedStream, test_generated_stream, TEST, GENERATED_STREAM,
                      GInputStream)

struct _TestGeneratedStream
{
  GInputStream  parent_instance;
  guint64       state;
  guint64       remaining;
  GChecksum    *sha256;
};

G_DEFINE_FINAL_TYPE (TestGeneratedStream, test_generated_stream, G_TYPE_INPUT_STREAM)

static gssize
generated_read (GInputStream  *stream,
                void          *buffer,
                gsize          count,
                GCancellable  *cancellable,
                GError       **error)
{
  TestGeneratedStream *self = TEST_GENERATED_STREAM (stream);
  gsize n = (gsize) MIN ((guint64) count & ~(gsize) 7, self->remaining);
  guint8 *out = buffer;

  if (count < 8)
    n = (gsize) MIN ((guint64) count, self->remaining);
  for (gsize i = 0; i < n; i += 8)
    {
      guint64 x = self->state;

      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      self->state = x;
      x *= G_GUINT64_CONSTANT (0x2545F4914F6CDD1D);
      memcpy (out + i, &x, MIN (8, n - i));
    }
  g_checksum_update (self->sha256, out, (gssize) n);
  self->remaining -= n;
  return (gssize) n;
}

static void
test_generated_stream_finalize (GObject *object)
{
  TestGeneratedStream *self = TEST_GENERATED_STREAM (object);

  g_checksum_free (self->sha256);
  G_OBJECT_CLASS (test_generated_stream_parent_class)->finalize (object);
}

static void
test_generated_stream_class_init (TestGeneratedStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_generated_stream_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = generated_read;
}

static void
test_generated_stream_init (TestGeneratedStream *self)
{
  self->sha256 = g_checksum_new (G_CHECKSUM_SHA256);
}

static GInputStream *
generated_stream_new (guint64 size,
                      guint64 seed)
{
  TestGeneratedStream *self = g_object_new (TEST_TYPE_GENERATED_STREAM, NULL);

  self->state = seed | 1;
  self->remaining = size;
  return G_INPUT_STREAM (self);
}

/* POST Binary with @size generated bytes (@chunked: no Content-Length); the status, and the
 * SHA-256 of what was sent in *sha256 (may be NULL). */
static unsigned
upload_generated (Fixture   *f,
                  guint64    size,
                  gboolean   chunked,
                  char     **id,
                  char     **sha256)
{
  g_autofree char *url = g_strconcat (f->base, "/Binary", NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr(GInputStream) body = generated_stream_new (size, 42);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;

  soup_message_set_request_body (msg, "application/octet-stream", body,
                                 chunked ? -1 : (gssize) size);
  answer = soup_session_send_and_read (f->session, msg, NULL, &error);
  if (error != NULL)
    {
      /* (a refused upload: the server may close before the client has sent it all) */
      g_test_message ("upload: %s", error->message);
      g_clear_error (&error);
    }
  if (sha256 != NULL)
    *sha256 = g_strdup (g_checksum_get_string (TEST_GENERATED_STREAM (body)->sha256));
  if (id != NULL && soup_message_get_status (msg) == 201)
    {
      g_autofree char *text = g_strndup (g_bytes_get_data (answer, NULL),
                                         g_bytes_get_size (answer));
      g_autoptr(JsonNode) node = json_from_string (text, NULL);

      g_assert_nonnull (node);
      *id = g_strdup (json_object_get_string_member (json_node_get_object (node), "id"));
    }
  return soup_message_get_status (msg);
}

/* Past --max-binary-size: 413, declared (Content-Length) or not (chunked), and nothing is
 * stored; the JSON body limit is another, smaller one. */
static void
test_too_large (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GBytes) small = make_bytes (700 * 1024, 7);
  g_autofree char *id = NULL;
  ChartaContentStats stats;
  int64_t n_binaries = -1;

  start_serve (f, "--max-binary-size", "1M", "--max-body-size", "64k", NULL);
  /* over the JSON limit, under the Binary one: stored */
  id = upload (f, small, "image/png");
  g_assert_cmpuint (upload_generated (f, 3 * MIB, FALSE, NULL, NULL), ==, 413);
  g_assert_cmpuint (upload_generated (f, 3 * MIB, TRUE, NULL, NULL), ==, 413);
  /* (the server goes on serving) */
  {
    g_autofree char *path = g_strconcat ("Binary/", id, NULL);
    g_auto(Answer) a = request (f, "GET", path, NULL, NULL, NULL);

    g_assert_true (g_bytes_equal (a.body, small));
  }
  stats = stopped_stats (f, &n_binaries);
  g_assert_cmpint (n_binaries, ==, 1);
  g_assert_cmpint (stats.n_contents, ==, 1);
  g_assert_cmpint (stats.n_bytes, ==, 700 * 1024);
  g_assert_cmpint (stats.n_pending, ==, 0);
}

/* A client that leaves halfway through its upload: what came is dropped, nothing is stored. */
static void
test_client_leaves (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GBytes) half = make_bytes (10 * MIB, 9);
  g_autoptr(GUri) uri = g_uri_parse (f->base, G_URI_FLAGS_NONE, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *head = NULL;
  GOutputStream *out;
  ChartaContentStats stats;
  int64_t n_binaries = -1;
  gsize written = 0;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                (guint16) g_uri_get_port (uri), NULL, &error);
  g_assert_no_error (error);
  out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  head = g_strdup_printf ("POST %s/Binary HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Content-Type: application/pdf\r\nContent-Length: %d\r\n\r\n",
                          g_uri_get_path (uri), 20 * MIB);
  g_assert_true (g_output_stream_write_all (out, head, strlen (head), &written, NULL, &error));
  g_assert_true (g_output_stream_write_all (out, g_bytes_get_data (half, NULL), 10 * MIB,
                                            &written, NULL, &error));
  g_assert_no_error (error);
  /* the server writes what came as a pending content (read through the store, in WAL mode
   * beside the server), never visible as content */
  {
    g_autoptr(ChartaStore) store = charta_test_store_open (f->store_path,
                                                           CHARTA_STORE_FLAGS_READ_ONLY);
    gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    do
      {
        g_assert_true (charta_store_get_content_stats (store, &stats, &error));
        g_assert_no_error (error);
        if (stats.n_pending == 1 && stats.n_chunks == 0)
          break;
        g_usleep (G_USEC_PER_SEC / 20);
      }
    while (g_get_monotonic_time () < deadline);
    g_assert_cmpint (stats.n_pending, ==, 1);
    g_assert_cmpint (stats.n_contents, ==, 0);
  }
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  g_usleep (G_USEC_PER_SEC / 2);
  stats = stopped_stats (f, &n_binaries);
  g_assert_cmpint (n_binaries, ==, 0);
  g_assert_cmpint (stats.n_contents, ==, 0);
  g_assert_cmpint (stats.n_pending, ==, 0);
  g_assert_cmpint (stats.n_chunks, ==, 0);
}

/* ---- documents -------------------------------------------------------------------------------------- */

static void
test_documents (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GBytes) bytes = make_bytes (1500000, 8);
  g_autofree char *sha1 = sha1_base64_of (bytes);
  g_autofree char *id = upload (f, bytes, "application/pdf");
  g_autofree char *absolute = g_strdup_printf ("%s/Binary/%s", f->base, id);
  g_autofree char *docref_id = NULL;

  {
    static const char text[] = "{\"resourceType\":\"Patient\",\"id\":\"p1\"}";
    g_autoptr(GBytes) patient = g_bytes_new_static (text, strlen (text));
    g_auto(Answer) a = request (f, "PUT", "Patient/p1", "application/fhir+json", patient, NULL);

    g_assert_cmpuint (a.status, ==, 201);
  }
  /* relative and absolute urls: size and hash filled in */
  for (unsigned i = 0; i < 2; i++)
    {
      g_autofree char *url = i == 0 ? g_strconcat ("Binary/", id, NULL) : g_strdup (absolute);
      g_autofree char *json = g_strdup_printf ("{\"resourceType\":\"DocumentReference\","
                                               "\"status\":\"current\",\"subject\":"
                                               "{\"reference\":\"Patient/p1\"},\"content\":"
                                               "[{\"attachment\":{\"contentType\":"
                                               "\"application/pdf\",\"url\":\"%s\"}}]}", url);
      g_autoptr(GBytes) body = g_bytes_new (json, strlen (json));
      g_auto(Answer) a = request (f, "POST", "DocumentReference", "application/fhir+json", body,
                                  NULL);
      g_autoptr(JsonNode) node = NULL;
      JsonObject *attachment;

      g_assert_cmpuint (a.status, ==, 201);
      attachment = json_object_get_object_member (
        json_array_get_object_element (
          json_object_get_array_member (answer_object (&a, &node), "content"), 0), "attachment");
      g_assert_cmpint (json_object_get_int_member (attachment, "size"), ==, 1500000);
      g_assert_cmpstr (json_object_get_string_member (attachment, "hash"), ==, sha1);
      if (i == 0)
        docref_id = g_strdup (json_object_get_string_member (json_node_get_object (node), "id"));
    }
  /* a hash that disagrees: refused, naming the element; nothing written */
  {
    g_autofree char *json = g_strdup_printf ("{\"resourceType\":\"DocumentReference\","
                                             "\"status\":\"current\",\"content\":"
                                             "[{\"attachment\":{\"url\":\"Binary/%s\","
                                             "\"hash\":\"2jmj7l5rSw0yVb/vlWAYkK/YBwk=\"}}]}", id);
    g_autoptr(GBytes) body = g_bytes_new (json, strlen (json));
    g_auto(Answer) a = request (f, "POST", "DocumentReference", "application/fhir+json", body,
                                NULL);
    g_auto(Answer) all = request (f, "GET", "DocumentReference?_summary=count", NULL, NULL,
                                  NULL);
    g_autoptr(JsonNode) node = NULL;
    g_autoptr(JsonNode) count = NULL;

    g_assert_cmpuint (a.status, >=, 400);
    g_assert_cmpuint (a.status, <, 500);
    g_assert_nonnull (g_strstr_len (g_bytes_get_data (a.body, NULL),
                                    (gssize) g_bytes_get_size (a.body),
                                    "DocumentReference.content[0].attachment.hash"));
    g_assert_cmpint (json_object_get_int_member (answer_object (&all, &count), "total"), ==, 2);
  }
  /* $everything: the patient's documents and the Binary they point at, without data */
  {
    g_auto(Answer) a = request (f, "GET", "Patient/p1/$everything", NULL, NULL, NULL);
    g_autoptr(JsonNode) node = NULL;
    JsonArray *entries;
    gboolean found = FALSE;

    g_assert_cmpuint (a.status, ==, 200);
    entries = json_object_get_array_member (answer_object (&a, &node), "entry");
    for (unsigned i = 0; i < json_array_get_length (entries); i++)
      {
        JsonObject *entry = json_array_get_object_element (entries, i);
        JsonObject *resource = json_object_get_object_member (entry, "resource");

        if (strcmp (json_object_get_string_member (resource, "resourceType"), "Binary") == 0)
          {
            g_assert_cmpstr (json_object_get_string_member (resource, "id"), ==, id);
            g_assert_false (json_object_has_member (resource, "data"));
            g_assert_cmpstr (json_object_get_string_member (
                               json_object_get_object_member (entry, "search"), "mode"), ==,
                             "include");
            g_assert_false (found);  /* once, though two documents point at it */
            found = TRUE;
          }
      }
    g_assert_true (found);
  }
  /* the CapabilityStatement says what Binary takes */
  {
    g_auto(Answer) a = request (f, "GET", "metadata", NULL, NULL, NULL);

    g_assert_nonnull (g_strstr_len (g_bytes_get_data (a.body, NULL),
                                    (gssize) g_bytes_get_size (a.body),
                                    "take the content as it is"));
  }
}

/* ---- 1 GB ------------------------------------------------------------------------------------------ */

static long
peak_rss_kb (GSubprocess *child)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status", g_subprocess_get_identifier (child));
  g_autofree char *text = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  line = strstr (text, "VmHWM:");
  g_assert_nonnull (line);
  return strtol (line + strlen ("VmHWM:"), NULL, 10);
}

static void
test_large (Fixture       *f,
            gconstpointer  data)
{
  const char *mb_text = g_getenv ("CHARTA_TEST_BINARY_MB");
  guint64 mb = mb_text != NULL ? g_ascii_strtoull (mb_text, NULL, 10) : 1024;
  guint64 size = mb * MIB;
  g_autofree char *id = NULL;
  g_autofree char *sent = NULL;
  g_autofree char *url = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GChecksum) sha256 = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *buffer = g_malloc (MIB);
  gint64 start;
  double up_seconds, down_seconds;
  guint64 received = 0;
  gssize n;
  long peak;

  g_assert_cmpuint (mb, >, 0);
  start = g_get_monotonic_time ();
  g_assert_cmpuint (upload_generated (f, size, FALSE, &id, &sent), ==, 201);
  up_seconds = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;

  url = g_strdup_printf ("%s/Binary/%s", f->base, id);
  msg = soup_message_new ("GET", url);
  start = g_get_monotonic_time ();
  in = soup_session_send (f->session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_cmpint (soup_message_headers_get_content_length (soup_message_get_response_headers (msg)),
                   ==, (goffset) size);
  while ((n = g_input_stream_read (in, buffer, MIB, NULL, &error)) > 0)
    {
      g_checksum_update (sha256, buffer, n);
      received += (guint64) n;
    }
  g_assert_no_error (error);
  down_seconds = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
  g_assert_cmpuint (received, ==, size);
  g_assert_cmpstr (g_checksum_get_string (sha256), ==, sent);

  peak = peak_rss_kb (f->child);
  g_test_message ("%" G_GUINT64_FORMAT " MiB: upload %.1f s (%.0f MB/s), download %.1f s "
                  "(%.0f MB/s), server peak RSS %ld KiB", mb, up_seconds,
                  (double) size / 1e6 / up_seconds, down_seconds,
                  (double) size / 1e6 / down_seconds, peak);
#ifdef __SANITIZE_ADDRESS__
  /* AddressSanitizer's own memory (shadow, a quarantine of 256 MB of freed blocks) is most of
   * the peak of an instrumented server: the bound holds for the real one only. */
  g_test_message ("(sanitizer build: the peak RSS is not held to %d KiB)", PEAK_RSS_LIMIT_KB);
#else
  g_assert_cmpint (peak, <, PEAK_RSS_LIMIT_KB);
#endif
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, options) \
  g_test_add ("/charta/backend/serve-binary/" path, Fixture, options, fixture_set_up, func, \
              fixture_tear_down)

  ADD ("round-trip", test_round_trip, NULL);
  ADD ("ranges", test_ranges, NULL);
  ADD ("etag", test_etag, NULL);
  ADD ("json", test_json, NULL);
  ADD ("dedup", test_dedup, NULL);
  ADD ("too-large", test_too_large, "own options");
  ADD ("client-leaves", test_client_leaves, NULL);
  ADD ("documents", test_documents, NULL);
  ADD ("large", test_large, NULL);

#undef ADD
  return g_test_run ();
}
