/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-scan.c: `charta scan` and the scanned documents of the demo.
 *
 * Runs the built `charta` ($CHARTA_BIN) on a store made here with two patients and an encounter
 * each, over documents drawn by the scan generator (charta-scan-gen.h) into a temporary folder,
 * and reads the store back through the store API: a queued document has no subject and
 * docStatus preliminary, a filed one its subject, encounter, LOINC type and dates; the
 * attachment's size and hash are those of the file (SHA-1 computed here), and the Binary's
 * bytes, read back with charta_store_open_binary(), are the file's.  A file's type comes from
 * its bytes, whatever its name says; an empty file, text and unknown bytes are refused with a
 * message naming the file while the other files go in; an unknown patient, or an encounter of
 * another patient, stores nothing.  A file of several MiB goes through in pieces and comes back
 * byte for byte.  Last, the demo (`charta demo`, and charta_demo_populate() twice from the same
 * seed) holds filed, queued and misfiled scans, the same bytes every time.
 */
#define G_LOG_DOMAIN "charta-test"

#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "charta-demo.h"
#include "charta-scan-gen.h"
#include "charta-test-store-util.h"

/* ---- the store and the files ----------------------------------------------------------------- */

static const char *const people[] = {
  "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"family\":\"Lovelace\","
  "\"given\":[\"Ada\"]}],\"birthDate\":\"1955-12-10\"}",
  "{\"resourceType\":\"Patient\",\"id\":\"p2\",\"name\":[{\"family\":\"Babbage\","
  "\"given\":[\"Charles\"]}],\"birthDate\":\"1951-12-26\"}",
  "{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":\"finished\",\"class\":{\"system\":"
  "\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":\"AMB\"},"
  "\"subject\":{\"reference\":\"Patient/p1\"}}",
  "{\"resourceType\":\"Encounter\",\"id\":\"e2\",\"status\":\"finished\",\"class\":{\"system\":"
  "\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":\"AMB\"},"
  "\"subject\":{\"reference\":\"Patient/p2\"}}",
};

static void
store_set_up (ChartaTestDir *f,
              gconstpointer  data)
{
  g_autoptr(ChartaStore) store = NULL;

  charta_test_dir_set_up (f, data);
  store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_CREATE);
  for (size_t i = 0; i < G_N_ELEMENTS (people); i++)
    {
      g_autoptr(ChartaResource) resource = charta_test_parse (people[i]);
      g_autoptr(ChartaResource) stored = NULL;
      g_autoptr(GError) error = NULL;

      stored = charta_store_update (store, resource, 0, NULL, NULL, &error);
      g_assert_no_error (error);
    }
  charta_store_close (store);
}

/* A generated document @name in @dir (small pages: 40 dpi). */
static char *
make_scan (const char       *dir,
           const char       *name,
           ChartaScanForm    form,
           ChartaScanFormat  format,
           unsigned          pages)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  ChartaScanSpec spec;

  charta_scan_spec_init (&spec);
  spec.form = form;
  spec.n_pages = pages;
  spec.dpi = 40;
  spec.patient_name = "Ada Lovelace";
  spec.birth_date = "1955-12-10";
  spec.seed = g_str_hash (name);
  g_assert_true (charta_scan_generate_file (&spec, format, path, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

/* One line of `charta scan`'s output. */
typedef struct
{
  char *file;
  char *binary_id;
  char *document_id;
  char *content_type;
  int pages;                /* -1: not given */
  char *placement;          /* "queued for indexing", "filed to Patient/p1 (…)" */
} Line;

static void
line_free (Line *line)
{
  g_free (line->file);
  g_free (line->binary_id);
  g_free (line->document_id);
  g_free (line->content_type);
  g_free (line->placement);
  g_free (line);
}

/* The result lines of @out, keyed by file; fails the test on a line that is neither a result
 * nor the summary. */
static GHashTable *
parse_output (const char *out,
              unsigned    expected)
{
  g_autoptr(GRegex) regex = g_regex_new ("^(.+): Binary/([^,]+), DocumentReference/([^,]+), "
                                         "([a-z]+/[a-z]+)(, ([0-9]+) pages?)?, (.+)$", 0, 0,
                                         NULL);
  GHashTable *lines = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                             (GDestroyNotify) line_free);
  g_auto(GStrv) rows = g_strsplit (out, "\n", -1);

  for (unsigned i = 0; rows[i] != NULL; i++)
    {
      g_autoptr(GMatchInfo) match = NULL;
      Line *line;

      if (*rows[i] == '\0' || g_str_has_prefix (rows[i], "scanned "))
        continue;
      if (!g_regex_match (regex, rows[i], 0, &match))
        g_error ("not a line of charta scan: %s", rows[i]);
      line = g_new0 (Line, 1);
      line->file = g_match_info_fetch (match, 1);
      line->binary_id = g_match_info_fetch (match, 2);
      line->document_id = g_match_info_fetch (match, 3);
      line->content_type = g_match_info_fetch (match, 4);
      {
        g_autofree char *pages = g_match_info_fetch (match, 6);

        line->pages = pages != NULL && *pages != '\0' ? atoi (pages) : -1;
      }
      line->placement = g_match_info_fetch (match, 7);
      g_hash_table_insert (lines, line->file, line);
    }
  g_assert_cmpuint (g_hash_table_size (lines), ==, expected);
  return lines;
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : NULL;
}

static JsonObject *
member_object (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonObject *
first_of (JsonObject *object,
          const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  array = json_node_get_array (node);
  return json_array_get_length (array) > 0 ? json_array_get_object_element (array, 0) : NULL;
}

/* The whole content of Binary @id, read back in pieces. */
static GBytes *
read_binary (ChartaStore       *store,
             const char        *id,
             ChartaResource   **binary)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GByteArray) data = g_byte_array_new ();
  ChartaContentInfo info;
  guint8 buffer[100000];
  gssize n;

  stream = charta_store_open_binary (store, id, 0, 0, -1, binary, &info, &error);
  g_assert_no_error (error);
  g_assert_nonnull (stream);
  while ((n = g_input_stream_read (stream, buffer, sizeof buffer, NULL, &error)) > 0)
    g_byte_array_append (data, buffer, (guint) n);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 0);
  g_assert_cmpint (info.size, ==, (int64_t) data->len);
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

/* SHA-1 of @bytes in base64: R4's Attachment.hash. */
static char *
sha1_base64 (GBytes *bytes)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize length = sizeof digest;

  g_checksum_update (checksum, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_checksum_get_digest (checksum, digest, &length);
  return g_base64_encode (digest, length);
}

static GBytes *
file_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *data = NULL;
  gsize size = 0;

  g_assert_true (g_file_get_contents (path, &data, &size, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (data, size);
}

/* The file's modification time as `charta scan` writes attachment.creation without --date. */
static char *
mtime_of (const char *path)
{
  GStatBuf st;
  g_autoptr(GDateTime) time = NULL;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  time = g_date_time_new_from_unix_local (st.st_mtime);
  return g_date_time_format (time, "%Y-%m-%dT%H:%M:%S%:z");
}

/* Checks what `charta scan` stored for @path (its line @line): the DocumentReference's
 * attachment, the Binary's type and bytes, the Provenance's agent.  Returns the
 * DocumentReference. */
static ChartaResource *
check_document (ChartaStore *store,
                const Line  *line,
                const char  *path,
                const char  *content_type,
                const char  *agent)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) expected = file_bytes (path);
  g_autoptr(GBytes) stored = NULL;
  g_autoptr(ChartaResource) binary = NULL;
  g_autoptr(ChartaResource) provenance = NULL;
  g_autofree char *basename = g_path_get_basename (path);
  g_autofree char *url = g_strconcat ("Binary/", line->binary_id, NULL);
  g_autofree char *hash = sha1_base64 (expected);
  g_autofree char *provenance_json = NULL;
  ChartaResource *document;
  JsonObject *attachment;

  g_assert_cmpstr (line->content_type, ==, content_type);
  document = charta_store_read (store, "DocumentReference", line->document_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (member_string (charta_resource_get_object (document), "status"), ==,
                   "current");
  attachment = member_object (first_of (charta_resource_get_object (document), "content"),
                              "attachment");
  g_assert_nonnull (attachment);
  g_assert_cmpstr (member_string (attachment, "contentType"), ==, content_type);
  g_assert_cmpstr (member_string (attachment, "url"), ==, url);
  g_assert_cmpstr (member_string (attachment, "title"), ==, basename);
  /* filled in by the store from the content */
  g_assert_cmpint (json_object_get_int_member (attachment, "size"), ==,
                   (gint64) g_bytes_get_size (expected));
  g_assert_cmpstr (member_string (attachment, "hash"), ==, hash);

  /* the Binary: the file's bytes, byte for byte */
  stored = read_binary (store, line->binary_id, &binary);
  g_assert_true (g_bytes_equal (stored, expected));
  g_assert_cmpstr (member_string (charta_resource_get_object (binary), "contentType"), ==,
                   content_type);

  /* both writes name the agent, as creates */
  for (int i = 0; i < 2; i++)
    {
      provenance = charta_test_store_provenance_of (store, i == 0 ? "Binary" : "DocumentReference",
                                                    i == 0 ? line->binary_id
                                                           : line->document_id, 1);
      provenance_json = charta_resource_to_json (provenance, FALSE, NULL);
      charta_test_assert_contains (provenance_json, "\"code\":\"CREATE\"");
      g_assert_cmpstr (member_string (member_object (first_of (
                         charta_resource_get_object (provenance), "agent"), "who"), "display"),
                       ==, agent);
      g_clear_pointer (&provenance, charta_resource_unref);
      g_clear_pointer (&provenance_json, g_free);
    }
  return document;
}

/* ---- queued and filed ------------------------------------------------------------------------ */

static void
test_queued (ChartaTestDir *f,
             gconstpointer  data)
{
  g_autofree char *pdf = make_scan (f->dir, "consent.pdf", CHARTA_SCAN_FORM_CONSENT,
                                    CHARTA_SCAN_FORMAT_PDF, 2);
  g_autofree char *png = make_scan (f->dir, "release.png", CHARTA_SCAN_FORM_RELEASE,
                                    CHARTA_SCAN_FORMAT_PNG, 1);
  g_autofree char *tif = make_scan (f->dir, "history.tif", CHARTA_SCAN_FORM_HISTORY,
                                    CHARTA_SCAN_FORMAT_TIFF, 3);
  g_autofree char *jpg = make_scan (f->dir, "outside.jpg", CHARTA_SCAN_FORM_DISCHARGE_SUMMARY,
                                    CHARTA_SCAN_FORMAT_JPEG, 1);
  const char *paths[] = { pdf, png, tif, jpg };
  const char *types[] = { "application/pdf", "image/png", "image/tiff", "image/jpeg" };
  /* PDF pages are not counted; a PNG and a JPEG are one page, the TIFF has three */
  const int pages[] = { -1, 1, 3, 1 };
  g_auto(ChartaTestRun) r = { 0 };
  g_autoptr(GHashTable) lines = NULL;
  g_autoptr(ChartaStore) store = NULL;

  charta_test_run_charta (&r, "scan", f->store_path, pdf, png, tif, jpg, NULL);
  g_assert_cmpint (r.status, ==, 0);
  charta_test_assert_contains (r.out, "scanned 4 files (0 filed, 4 queued)");
  charta_test_assert_contains (r.out, "; 0 errors\n");
  lines = parse_output (r.out, 4);

  store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_READ_ONLY);
  g_assert_cmpint (charta_test_store_count (store, "DocumentReference"), ==, 4);
  g_assert_cmpint (charta_test_store_count (store, "Binary"), ==, 4);
  for (unsigned i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      const Line *line = g_hash_table_lookup (lines, paths[i]);
      g_autoptr(ChartaResource) document = NULL;
      g_autofree char *mtime = mtime_of (paths[i]);
      JsonObject *root;

      g_assert_nonnull (line);
      g_assert_cmpint (line->pages, ==, pages[i]);
      g_assert_cmpstr (line->placement, ==, "queued for indexing");
      document = check_document (store, line, paths[i], types[i], "charta scan");
      root = charta_resource_get_object (document);
      /* the indexing queue: no subject, preliminary, nothing indexed yet */
      g_assert_cmpstr (member_string (root, "docStatus"), ==, "preliminary");
      g_assert_false (json_object_has_member (root, "subject"));
      g_assert_false (json_object_has_member (root, "type"));
      g_assert_false (json_object_has_member (root, "context"));
      g_assert_cmpstr (member_string (member_object (first_of (root, "content"), "attachment"),
                                      "creation"), ==, mtime);
    }
}

static void
test_filed (ChartaTestDir *f,
            gconstpointer  data)
{
  g_autofree char *tif = make_scan (f->dir, "consent.tiff", CHARTA_SCAN_FORM_CONSENT,
                                    CHARTA_SCAN_FORMAT_TIFF, 2);
  g_auto(ChartaTestRun) r = { 0 };
  g_autoptr(GHashTable) lines = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(ChartaResource) document = NULL;
  g_autoptr(ChartaResource) provenance = NULL;
  g_autofree char *provenance_json = NULL;
  const Line *line;
  JsonObject *root, *type;

  charta_test_run_charta (&r, "scan", "--patient", "p1", "--encounter", "Encounter/e1",
                          "--type", "59284-0", "--date", "2024-05-01", "--agent", "Test Clerk",
                          "--reason", "consent scanned at registration", f->store_path, tif,
                          NULL);
  g_assert_cmpint (r.status, ==, 0);
  charta_test_assert_contains (r.out, "scanned 1 file (1 filed, 0 queued)");
  lines = parse_output (r.out, 1);
  line = g_hash_table_lookup (lines, tif);
  g_assert_nonnull (line);
  g_assert_cmpint (line->pages, ==, 2);
  g_assert_cmpstr (line->placement, ==, "filed to Patient/p1 (Patient Consent)");

  store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_READ_ONLY);
  document = check_document (store, line, tif, "image/tiff", "Test Clerk");
  root = charta_resource_get_object (document);
  g_assert_cmpstr (member_string (root, "docStatus"), ==, "final");
  g_assert_cmpstr (member_string (member_object (root, "subject"), "reference"), ==,
                   "Patient/p1");
  type = first_of (member_object (root, "type"), "coding");
  g_assert_cmpstr (member_string (type, "system"), ==, "http://loinc.org");
  g_assert_cmpstr (member_string (type, "code"), ==, "59284-0");
  g_assert_cmpstr (member_string (type, "display"), ==, "Patient Consent");
  g_assert_cmpstr (member_string (first_of (member_object (root, "context"), "encounter"),
                                  "reference"), ==, "Encounter/e1");
  g_assert_cmpstr (member_string (member_object (member_object (root, "context"), "period"),
                                  "start"), ==, "2024-05-01");
  g_assert_cmpstr (member_string (member_object (first_of (root, "content"), "attachment"),
                                  "creation"), ==, "2024-05-01");

  provenance = charta_test_store_provenance_of (store, "DocumentReference", line->document_id,
                                                1);
  provenance_json = charta_resource_to_json (provenance, FALSE, NULL);
  charta_test_assert_contains (provenance_json, "consent scanned at registration");
}

/* A LOINC code charta's table does not hold is taken with a note, and no display. */
static void
test_unknown_type (ChartaTestDir *f,
                   gconstpointer  data)
{
  g_autofree char *jpg = make_scan (f->dir, "letter.jpg", CHARTA_SCAN_FORM_RELEASE,
                                    CHARTA_SCAN_FORMAT_JPEG, 1);
  g_auto(ChartaTestRun) r = { 0 };
  g_autoptr(GHashTable) lines = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(ChartaResource) document = NULL;
  g_autoptr(GError) error = NULL;
  const Line *line;
  JsonObject *coding;

  charta_test_run_charta (&r, "scan", "--patient", "Patient/p2", "--type", "12345-6",
                          f->store_path, jpg, NULL);
  g_assert_cmpint (r.status, ==, 0);
  charta_test_assert_contains (r.err, "note: --type 12345-6 is not one of the document types");
  lines = parse_output (r.out, 1);
  line = g_hash_table_lookup (lines, jpg);
  g_assert_cmpstr (line->placement, ==, "filed to Patient/p2 (12345-6)");

  store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_READ_ONLY);
  document = charta_store_read (store, "DocumentReference", line->document_id, &error);
  g_assert_no_error (error);
  coding = first_of (member_object (charta_resource_get_object (document), "type"), "coding");
  g_assert_cmpstr (member_string (coding, "code"), ==, "12345-6");
  g_assert_false (json_object_has_member (coding, "display"));
}

/* ---- what files are ---------------------------------------------------------------------- */

/* A PNG named .pdf is stored as a PNG, and a PDF named .tif as a PDF, each with a note. */
static void
test_lying_extension (ChartaTestDir *f,
                      gconstpointer  data)
{
  g_autofree char *png = make_scan (f->dir, "really-a-png.pdf", CHARTA_SCAN_FORM_CONSENT,
                                    CHARTA_SCAN_FORMAT_PNG, 1);
  g_autofree char *pdf = make_scan (f->dir, "really-a-pdf.tif", CHARTA_SCAN_FORM_CONSENT,
                                    CHARTA_SCAN_FORMAT_PDF, 1);
  g_autofree char *note_png = g_strconcat (png, ": note: is a PNG image, not a PDF; stored as "
                                           "image/png", NULL);
  g_autofree char *note_pdf = g_strconcat (pdf, ": note: is a PDF document, not a TIFF; "
                                           "stored as application/pdf", NULL);
  g_auto(ChartaTestRun) r = { 0 };
  g_autoptr(GHashTable) lines = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(ChartaResource) a = NULL;
  g_autoptr(ChartaResource) b = NULL;

  charta_test_run_charta (&r, "scan", f->store_path, png, pdf, NULL);
  g_assert_cmpint (r.status, ==, 0);
  charta_test_assert_contains (r.err, note_png);
  charta_test_assert_contains (r.err, note_pdf);
  lines = parse_output (r.out, 2);

  store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_READ_ONLY);
  a = check_document (store, g_hash_table_lookup (lines, png), png, "image/png", "charta scan");
  b = check_document (store, g_hash_table_lookup (lines, pdf), pdf, "application/pdf",
                      "charta scan");
}

/* Refused files are named with what they look like; nothing is stored for them, the good file
 * after them goes in, and the exit status says something failed. */
static void
test_refused (ChartaTestDir *f,
              gconstpointer  data)
{
  g_autofree char *empty = charta_test_write_file (f->dir, "empty.pdf", "", 0);
  g_autofree char *junk = charta_test_write_file (f->dir, "junk.pdf", "\x00\x01\x02\x03\x04"
                                                  "\x05\x06\x07\x08\x09", 10);
  g_autofree char *text = charta_test_write_file (f->dir, "notes.png", "Seen today.\n", -1);
  g_autofree char *zip = charta_test_write_file (f->dir, "letter.docx", "PK\3\4rest", 8);
  g_autofree char *good = make_scan (f->dir, "good.png", CHARTA_SCAN_FORM_CONSENT,
                                     CHARTA_SCAN_FORMAT_PNG, 1);
  g_autofree char *missing = g_build_filename (f->dir, "missing.pdf", NULL);
  g_autofree char *m_empty = g_strconcat (empty, ": is an empty file (0 bytes)", NULL);
  g_autofree char *m_junk = g_strconcat (junk, ": is unknown bytes (starting 00 01 02 03 04 05 "
                                         "06 07), not a PDF, PNG, JPEG or TIFF scan; nothing "
                                         "stored", NULL);
  g_autofree char *m_text = g_strconcat (text, ": is text, not a PDF", NULL);
  g_autofree char *m_zip = g_strconcat (zip, ": is a ZIP archive", NULL);
  g_autofree char *m_dir = g_strconcat (f->dir, ": is a directory", NULL);
  g_autofree char *m_missing = g_strconcat (missing, ": cannot read", NULL);
  g_auto(ChartaTestRun) r = { 0 };
  g_autoptr(GHashTable) lines = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(ChartaResource) document = NULL;

  charta_test_run_charta (&r, "scan", f->store_path, empty, junk, text, zip, f->dir, missing,
                          good, NULL);
  g_assert_cmpint (r.status, ==, 1);
  charta_test_assert_contains (r.err, m_empty);
  charta_test_assert_contains (r.err, m_junk);
  charta_test_assert_contains (r.err, m_text);
  charta_test_assert_contains (r.err, m_zip);
  charta_test_assert_contains (r.err, m_dir);
  charta_test_assert_contains (r.err, m_missing);
  charta_test_assert_contains (r.out, "scanned 1 file (0 filed, 1 queued)");
  charta_test_assert_contains (r.out, "; 6 errors");
  lines = parse_output (r.out, 1);

  /* the good file only */
  store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_READ_ONLY);
  g_assert_cmpint (charta_test_store_count (store, "DocumentReference"), ==, 1);
  g_assert_cmpint (charta_test_store_count (store, "Binary"), ==, 1);
  document = check_document (store, g_hash_table_lookup (lines, good), good, "image/png",
                             "charta scan");
}

/* ---- placement ------------------------------------------------------------------------------- */

static void
assert_nothing_stored (ChartaTestDir *f)
{
  g_autoptr(ChartaStore) store = charta_test_store_open (f->store_path,
                                                         CHARTA_STORE_FLAGS_READ_ONLY);

  g_assert_cmpint (charta_test_store_count (store, "DocumentReference"), ==, 0);
  g_assert_cmpint (charta_test_store_count (store, "Binary"), ==, 0);
}

static void
test_unknown_patient (ChartaTestDir *f,
                      gconstpointer  data)
{
  g_autofree char *pdf = make_scan (f->dir, "a.pdf", CHARTA_SCAN_FORM_CONSENT,
                                    CHARTA_SCAN_FORMAT_PDF, 1);

  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "scan", "--patient", "nobody", f->store_path, pdf, NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, "there is no Patient/nobody in");
    assert_nothing_stored (f);
  }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "scan", "--patient", "p1", "--encounter", "nowhere",
                            f->store_path, pdf, NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, "there is no Encounter/nowhere in");
    assert_nothing_stored (f);
  }
  {
    /* e2 is p2's encounter */
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "scan", "--patient", "p1", "--encounter", "e2",
                            f->store_path, pdf, NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, "Encounter/e2 is not an encounter of Patient/p1 (its "
                                 "subject is Patient/p2)");
    assert_nothing_stored (f);
  }
}

static void
test_usage (ChartaTestDir *f,
            gconstpointer  data)
{
  g_autofree char *pdf = make_scan (f->dir, "a.pdf", CHARTA_SCAN_FORM_CONSENT,
                                    CHARTA_SCAN_FORMAT_PDF, 1);
  struct
  {
    const char *args[4];
    const char *message;
  } cases[] = {
    { { "--encounter", "e1", NULL }, "--encounter needs --patient" },
    { { "--type", "consent", NULL }, "--type: \"consent\" is not a LOINC code" },
    { { "--date", "2024-13-01", NULL }, "--date: \"2024-13-01\" is not a FHIR date" },
    { { "--date", "2024-02-30", NULL }, "--date: \"2024-02-30\" is not a FHIR date" },
    { { "--date", "2024-05-01T10:00:00", NULL }, "with a time zone" },
    { { "--patient", "Encounter/e1", NULL }, "--patient: \"Encounter/e1\" is not a Patient" },
    { { "--agent", "", NULL }, "--agent must not be empty" },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GPtrArray) args = g_ptr_array_new ();
      g_auto(ChartaTestRun) r = { 0 };

      g_ptr_array_add (args, (gpointer) "scan");
      for (unsigned j = 0; cases[i].args[j] != NULL; j++)
        g_ptr_array_add (args, (gpointer) cases[i].args[j]);
      g_ptr_array_add (args, f->store_path);
      g_ptr_array_add (args, pdf);
      charta_test_run_charta_argv (&r, args);
      g_assert_cmpint (r.status, ==, 2);
      charta_test_assert_contains (r.err, cases[i].message);
    }
  {
    g_auto(ChartaTestRun) r = { 0 };

    charta_test_run_charta (&r, "scan", f->store_path, NULL);
    g_assert_cmpint (r.status, ==, 2);
  }
  {
    /* the store must exist: scans go into a store of records */
    g_auto(ChartaTestRun) r = { 0 };
    g_autofree char *nowhere = g_build_filename (f->dir, "none.charta", NULL);

    charta_test_run_charta (&r, "scan", nowhere, pdf, NULL);
    g_assert_cmpint (r.status, ==, 1);
    charta_test_assert_contains (r.err, "no such file");
    g_assert_false (g_file_test (nowhere, G_FILE_TEST_EXISTS));
  }
  assert_nothing_stored (f);
}

/* A file of 5.5 MiB: six pieces of 1 MiB on the way in, the same bytes on the way out. */
static void
test_large (ChartaTestDir *f,
            gconstpointer  data)
{
  size_t size = 5 * 1024 * 1024 + 512 * 1024;
  g_autofree char *bytes = g_malloc (size);
  g_autofree char *path = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  g_auto(ChartaTestRun) r = { 0 };
  g_autoptr(GHashTable) lines = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(ChartaResource) document = NULL;

  memcpy (bytes, "%PDF-1.4\n", 9);
  for (size_t i = 9; i < size; i++)
    bytes[i] = (char) g_rand_int_range (rand, 0, 256);
  path = charta_test_write_file (f->dir, "big.pdf", bytes, (gssize) size);

  charta_test_run_charta (&r, "scan", f->store_path, path, NULL);
  g_assert_cmpint (r.status, ==, 0);
  lines = parse_output (r.out, 1);
  store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_READ_ONLY);
  document = check_document (store, g_hash_table_lookup (lines, path), path, "application/pdf",
                             "charta scan");
}

/* ---- the demo ------------------------------------------------------------------------------ */

/* The DocumentReferences doc-NN of a demo store, by docStatus and subject. */
static void
count_demo_documents (ChartaStore *store,
                      unsigned    *filed,
                      unsigned    *queued,
                      GHashTable  *hashes)
{
  *filed = *queued = 0;
  for (unsigned i = 1; ; i++)
    {
      g_autofree char *id = g_strdup_printf ("doc-%02u", i);
      g_autoptr(GError) error = NULL;
      g_autoptr(ChartaResource) document = charta_store_read (store, "DocumentReference", id,
                                                               &error);
      g_autoptr(GBytes) bytes = NULL;
      JsonObject *root, *attachment;
      const char *url, *content_type;
      const guint8 *head;

      if (g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND))
        break;
      g_assert_no_error (error);
      root = charta_resource_get_object (document);
      attachment = member_object (first_of (root, "content"), "attachment");
      url = member_string (attachment, "url");
      content_type = member_string (attachment, "contentType");
      g_assert_true (g_str_has_prefix (url, "Binary/"));
      if (json_object_has_member (root, "subject"))
        {
          g_autoptr(ChartaResource) patient = NULL;
          const char *subject = member_string (member_object (root, "subject"), "reference");

          g_assert_cmpstr (member_string (root, "docStatus"), ==, "final");
          g_assert_true (json_object_has_member (root, "type"));
          g_assert_nonnull (member_object (member_object (root, "context"), "period"));
          patient = charta_store_read (store, "Patient", subject + strlen ("Patient/"), &error);
          g_assert_no_error (error);
          (*filed)++;
        }
      else
        {
          g_assert_cmpstr (member_string (root, "docStatus"), ==, "preliminary");
          (*queued)++;
        }

      /* the bytes are what the attachment says */
      bytes = read_binary (store, url + strlen ("Binary/"), NULL);
      g_assert_cmpint (json_object_get_int_member (attachment, "size"), ==,
                       (gint64) g_bytes_get_size (bytes));
      head = g_bytes_get_data (bytes, NULL);
      if (strcmp (content_type, "application/pdf") == 0)
        g_assert_cmpmem (head, 5, "%PDF-", 5);
      else if (strcmp (content_type, "image/png") == 0)
        g_assert_cmpmem (head, 4, "\x89PNG", 4);
      else if (strcmp (content_type, "image/jpeg") == 0)
        g_assert_cmpmem (head, 3, "\xff\xd8\xff", 3);
      else
        {
          g_assert_cmpstr (content_type, ==, "image/tiff");
          g_assert_cmpmem (head, 4, "II*\0", 4);
        }
      if (hashes != NULL)
        g_hash_table_insert (hashes, g_steal_pointer (&id),
                             g_strdup (member_string (attachment, "hash")));
    }
}

/* `charta demo` as a user runs it: filed, queued and misfiled documents. */
static void
test_demo_command (ChartaTestDir *f,
                   gconstpointer  data)
{
  g_auto(ChartaTestRun) r = { 0 };
  g_autoptr(ChartaStore) store = NULL;
  unsigned filed, queued;

  charta_test_run_charta (&r, "demo", "--patients", "8", f->store_path, NULL);
  g_assert_cmpint (r.status, ==, 0);
  store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_READ_ONLY);
  count_demo_documents (store, &filed, &queued, NULL);
  /* five filed where they belong, one misfiled, four in the queue */
  g_assert_cmpuint (filed, ==, 6);
  g_assert_cmpuint (queued, ==, 4);
  g_assert_cmpint (charta_test_store_count (store, "DocumentReference"), ==, 10);
  g_assert_cmpint (charta_test_store_count (store, "Binary"), ==, 10);
}

static void
populate (ChartaTestDir   *f,
          const char      *name,
          ChartaDemoStats *stats,
          ChartaStore    **store_out)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  g_autoptr(GError) error = NULL;
  ChartaDemoOptions options;

  *store_out = charta_test_store_open (path, CHARTA_STORE_FLAGS_CREATE | CHARTA_STORE_FLAGS_FAST);
  charta_demo_options_init (&options);
  options.n_patients = 6;
  options.seed = 3;
  g_assert_true (charta_demo_populate (*store_out, &options, stats, &error));
  g_assert_no_error (error);
}

/* charta_demo_populate(): the misfiled document named in the stats, and the same documents,
 * byte for byte, from the same seed. */
static void
test_demo_misfiled (ChartaTestDir *f,
                    gconstpointer  data)
{
  g_auto(ChartaDemoStats) a = { 0 };
  g_auto(ChartaDemoStats) b = { 0 };
  g_autoptr(ChartaStore) store_a = NULL;
  g_autoptr(ChartaStore) store_b = NULL;
  g_autoptr(GHashTable) hashes_a = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                          g_free);
  g_autoptr(GHashTable) hashes_b = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                          g_free);
  g_autoptr(ChartaResource) document = NULL;
  g_autoptr(ChartaResource) shown = NULL;
  g_autoptr(ChartaResource) subject = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reference = NULL;
  GHashTableIter iter;
  gpointer key, value;
  unsigned filed, queued;
  JsonObject *root;

  populate (f, "a.charta", &a, &store_a);
  g_assert_cmpuint (a.n_scans_filed, ==, 5);
  g_assert_cmpuint (a.n_scans_queued, ==, 4);
  g_assert_cmpuint (a.n_document_references, ==, 10);
  g_assert_cmpuint (a.n_binaries, ==, 10);
  g_assert_cmpuint (a.n_scan_writes, ==, 20);
  count_demo_documents (store_a, &filed, &queued, hashes_a);
  g_assert_cmpuint (filed, ==, 6);
  g_assert_cmpuint (queued, ==, 4);

  /* filed to one patient, showing another: two different people, both in the store */
  g_assert_nonnull (a.misfiled_document_id);
  g_assert_cmpstr (a.misfiled_subject_id, !=, a.misfiled_patient_id);
  document = charta_store_read (store_a, "DocumentReference", a.misfiled_document_id, &error);
  g_assert_no_error (error);
  root = charta_resource_get_object (document);
  reference = g_strconcat ("Patient/", a.misfiled_subject_id, NULL);
  g_assert_cmpstr (member_string (member_object (root, "subject"), "reference"), ==, reference);
  g_assert_cmpstr (member_string (root, "docStatus"), ==, "final");
  subject = charta_store_read (store_a, "Patient", a.misfiled_subject_id, &error);
  g_assert_no_error (error);
  shown = charta_store_read (store_a, "Patient", a.misfiled_patient_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (member_string (charta_resource_get_object (subject), "birthDate"), !=,
                   member_string (charta_resource_get_object (shown), "birthDate"));

  /* the same seed, the same documents */
  populate (f, "b.charta", &b, &store_b);
  g_assert_cmpstr (a.misfiled_document_id, ==, b.misfiled_document_id);
  g_assert_cmpstr (a.misfiled_subject_id, ==, b.misfiled_subject_id);
  g_assert_cmpstr (a.misfiled_patient_id, ==, b.misfiled_patient_id);
  count_demo_documents (store_b, &filed, &queued, hashes_b);
  g_assert_cmpuint (g_hash_table_size (hashes_a), ==, 10);
  g_assert_cmpuint (g_hash_table_size (hashes_b), ==, 10);
  g_hash_table_iter_init (&iter, hashes_a);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_cmpstr (g_hash_table_lookup (hashes_b, key), ==, value);

  charta_store_close (store_a);
  charta_store_close (store_b);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/charta/backend/scan/" path, ChartaTestDir, NULL, store_set_up, func, \
              charta_test_dir_tear_down)
  ADD ("queued", test_queued);
  ADD ("filed", test_filed);
  ADD ("unknown-type", test_unknown_type);
  ADD ("lying-extension", test_lying_extension);
  ADD ("refused", test_refused);
  ADD ("unknown-patient", test_unknown_patient);
  ADD ("usage", test_usage);
  ADD ("large", test_large);
#undef ADD
  g_test_add ("/charta/backend/scan/demo/command", ChartaTestDir, NULL, charta_test_dir_set_up,
              test_demo_command, charta_test_dir_tear_down);
  g_test_add ("/charta/backend/scan/demo/misfiled", ChartaTestDir, NULL, charta_test_dir_set_up,
              test_demo_misfiled, charta_test_dir_tear_down);

  return g_test_run ();
}
