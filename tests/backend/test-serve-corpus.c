/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-serve-corpus.c: the FHIR REST endpoint over the whole corpus, black-box.
 *
 * A ChartaServer on 127.0.0.1, port 0, runs on its own thread and main context over a new
 * store; the test thread drives it over HTTP with a SoupSession, as any client would.
 *
 * examples: every valid R4 spec example (r4-examples, less KNOWN-INVALID.txt) is PUT to
 * [base]/[type]/[id] (update-as-create) and read back with GET; the read must equal the file
 * as a JSON tree (numbers by value, charta_test_json_equal()) apart from meta.versionId and
 * meta.lastUpdated, and the size and hash the store adds to attachments (checked against
 * their data: charta_test_strip_filled_in()).  The expected statuses, Locations and ETags follow from the files alone:
 * 201 and version 1 for a new [type]/[id], 200 for one seen before.
 *
 * synthea: every Synthea bundle is POSTed to [base] as a transaction, the shared hospital and
 * practitioner bundles first.  The answers are checked entry by entry against the request;
 * then the counts per type (through _summary=count), a page-by-page scan of every stored
 * resource, reads of a sample compared with the request entries (their urn:uuid references
 * replaced by the ids the answers gave), and charta_store_check().  Every expected number is
 * computed from the bundle files, parsed here with json-glib.
 *
 * Each case collects every failure (file, entry, what came back) before it fails, so that one
 * run lists them all.  Only ids, paths and statuses are logged, never a resource body.
 */
#define G_LOG_DOMAIN "charta-test-serve-corpus"

#include <string.h>

#include <libsoup/soup.h>

#include "charta-server.h"
#include "charta-test-store-util.h"

/* Failures listed in the log, per case; more are counted only. */
#define MAX_LOGGED_FAILURES 200
/* One Synthea entry in this many is read back whole (and the first of each type). */
#define SAMPLE_EVERY        25
/* The page size of the scan: the store's largest. */
#define SCAN_PAGE_SIZE      1000

/* ---- fixture: a server on its own thread ------------------------------------------------- */

typedef struct
{
  char          *dir;          /* temporary folder holding the store */
  ChartaStore   *store;
  ChartaServer  *server;
  GMainContext  *context;      /* the server's, run by @thread */
  GMainLoop     *loop;
  GThread       *thread;
  char          *base;         /* "http://127.0.0.1:PORT/fhir" */
  SoupSession   *session;
  GPtrArray     *failures;     /* what went wrong, one line each */
} Fixture;

static gpointer
run_server (gpointer data)
{
  Fixture *f = data;

  g_main_context_push_thread_default (f->context);
  g_main_loop_run (f->loop);
  g_main_context_pop_thread_default (f->context);
  return NULL;
}

static gboolean
stop_server (gpointer data)
{
  Fixture *f = data;

  charta_server_stop (f->server);
  g_main_loop_quit (f->loop);
  return G_SOURCE_REMOVE;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  f->dir = charta_test_make_tmp_dir ();
  path = g_build_filename (f->dir, "store.charta", NULL);
  /* FAST: these tests are about what the endpoint answers and stores, not durability
   * (test-store and test-crash check that); it spares an fsync per write. */
  f->store = charta_test_store_open (path, CHARTA_STORE_FLAGS_CREATE | CHARTA_STORE_FLAGS_FAST);
  f->server = charta_server_new (f->store, "/fhir");
  f->context = g_main_context_new ();
  f->loop = g_main_loop_new (f->context, FALSE);
  g_main_context_push_thread_default (f->context);
  charta_server_listen (f->server, "127.0.0.1:0", &error);
  g_main_context_pop_thread_default (f->context);
  g_assert_no_error (error);
  g_assert_cmpuint (charta_server_get_port (f->server), >, 0);
  f->base = charta_server_dup_base_url (f->server);
  f->thread = g_thread_new ("server", run_server, f);
  f->session = soup_session_new ();
  /* a Synthea bundle takes a while under the sanitizers */
  soup_session_set_timeout (f->session, 600);
  f->failures = g_ptr_array_new_with_free_func (g_free);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->session);
  g_main_context_invoke (f->context, stop_server, f);
  g_thread_join (f->thread);
  g_clear_object (&f->server);
  g_main_loop_unref (f->loop);
  g_main_context_unref (f->context);
  g_free (f->base);
  charta_store_close (f->store);
  g_clear_object (&f->store);
  charta_test_remove_tree (f->dir);
  g_free (f->dir);
  g_ptr_array_unref (f->failures);
}

/* Records a failure (and logs it, up to MAX_LOGGED_FAILURES); the case fails at its end. */
static void fail_later (Fixture    *f,
                        const char *format,
                        ...) G_GNUC_PRINTF (2, 3);

static void
fail_later (Fixture    *f,
            const char *format,
            ...)
{
  va_list args;
  char *line;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  if (f->failures->len < MAX_LOGGED_FAILURES)
    g_test_message ("FAILED: %s", line);
  g_ptr_array_add (f->failures, line);
}

/* Fails the case when anything was recorded. */
static void
assert_no_failures (Fixture *f)
{
  if (f->failures->len > 0)
    g_test_message ("%u failures (the first %u are listed above)", f->failures->len,
                    MIN (f->failures->len, MAX_LOGGED_FAILURES));
  g_assert_cmpuint (f->failures->len, ==, 0);
}

/* ---- HTTP --------------------------------------------------------------------------------- */

typedef struct
{
  unsigned     status;
  SoupMessage *msg;
  GBytes      *body;
} Response;

static void
response_free (Response *r)
{
  g_clear_object (&r->msg);
  g_clear_pointer (&r->body, g_bytes_unref);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Response, response_free)

/* [base]/@path ("" for [base] itself). */
static char *
url_for (Fixture    *f,
         const char *path)
{
  if (*path == '\0' || *path == '?')
    return g_strconcat (f->base, path, NULL);
  return g_strconcat (f->base, "/", path, NULL);
}

/* Sends @method @url with @body as FHIR JSON (NULL: none); fails the test on a transport
 * error, which no answer of the server can explain. */
static Response *
send_request (Fixture    *f,
              const char *method,
              const char *url,
              GBytes     *body)
{
  Response *r = g_new0 (Response, 1);
  g_autoptr(GError) error = NULL;

  r->msg = soup_message_new (method, url);
  g_assert_nonnull (r->msg);
  /* as a FHIR client asks (a Binary is then its JSON, data in base64, not its raw bytes) */
  soup_message_headers_replace (soup_message_get_request_headers (r->msg), "Accept",
                                "application/fhir+json");
  if (body != NULL)
    soup_message_set_request_body_from_bytes (r->msg, "application/fhir+json", body);
  r->body = soup_session_send_and_read (f->session, r->msg, NULL, &error);
  g_assert_no_error (error);
  r->status = soup_message_get_status (r->msg);
  return r;
}

static const char *
header (Response   *r,
        const char *name)
{
  return soup_message_headers_get_one (soup_message_get_response_headers (r->msg), name);
}

/* The body parsed (a new reference), NULL when it is not JSON. */
static JsonNode *
parse_bytes (GBytes *bytes)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize length = 0;
  const char *data = g_bytes_get_data (bytes, &length);

  if (length == 0 || !json_parser_load_from_data (parser, data, (gssize) length, NULL))
    return NULL;
  return json_node_ref (json_parser_get_root (parser));
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node;

  if (object == NULL)
    return NULL;
  node = json_object_get_member (object, name);
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static JsonObject *
member_object (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonArray *
member_array (JsonObject *object,
              const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

/* What an OperationOutcome says, for a failure message: its first issue's code and
 * diagnostics (the server's words, no resource content), or "no OperationOutcome". */
static char *
describe_outcome (JsonObject *outcome)
{
  JsonArray *issues = member_array (outcome, "issue");
  JsonObject *issue;

  if (g_strcmp0 (member_string (outcome, "resourceType"), "OperationOutcome") != 0
      || issues == NULL || json_array_get_length (issues) == 0)
    return g_strdup ("no OperationOutcome");
  issue = json_array_get_object_element (issues, 0);
  return g_strdup_printf ("OperationOutcome %s: %.300s", member_string (issue, "code"),
                          member_string (issue, "diagnostics"));
}

/* "status 422, OperationOutcome invalid: …": what came back, for a failure message. */
static char *
describe_response (Response *r)
{
  g_autoptr(JsonNode) node = parse_bytes (r->body);
  g_autofree char *outcome = NULL;

  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    outcome = describe_outcome (json_node_get_object (node));
  return g_strdup_printf ("status %u %s, %s", r->status,
                          soup_message_get_reason_phrase (r->msg),
                          outcome != NULL ? outcome : "a body that is no JSON object");
}

/* ---- JSON --------------------------------------------------------------------------------- */

/* Removes meta.versionId and meta.lastUpdated from the resource @node, and meta itself when
 * nothing else is left in it: what a store may set on any write. */
static void
strip_version_meta (JsonNode *node)
{
  JsonObject *object = json_node_get_object (node);
  JsonObject *meta = member_object (object, "meta");

  if (meta == NULL)
    return;
  json_object_remove_member (meta, "versionId");
  json_object_remove_member (meta, "lastUpdated");
  if (json_object_get_size (meta) == 0)
    json_object_remove_member (object, "meta");
}

/* Where and how @got first differs from @expected (which charta_test_json_equal() found
 * unequal), newly allocated: the JSON path and "missing", "not expected" or "differs".  Only
 * names, never values, so that no content reaches the log. */
static char *
describe_difference (JsonNode   *expected,
                     JsonNode   *got,
                     const char *path)
{
  if (JSON_NODE_TYPE (expected) != JSON_NODE_TYPE (got))
    return g_strdup_printf ("%s: another kind of JSON value", path);
  if (JSON_NODE_HOLDS_OBJECT (expected))
    {
      JsonObject *a = json_node_get_object (expected);
      JsonObject *b = json_node_get_object (got);
      g_autoptr(GList) names = json_object_get_members (a);
      g_autoptr(GList) others = json_object_get_members (b);

      for (GList *l = names; l != NULL; l = l->next)
        if (!json_object_has_member (b, l->data))
          return g_strdup_printf ("%s.%s: missing", path, (char *) l->data);
      for (GList *l = others; l != NULL; l = l->next)
        if (!json_object_has_member (a, l->data))
          return g_strdup_printf ("%s.%s: not expected", path, (char *) l->data);
      for (GList *l = names; l != NULL; l = l->next)
        {
          JsonNode *x = json_object_get_member (a, l->data);
          JsonNode *y = json_object_get_member (b, l->data);

          if (!charta_test_json_equal (x, y, NULL))
            {
              g_autofree char *inner = g_strdup_printf ("%s.%s", path, (char *) l->data);

              return describe_difference (x, y, inner);
            }
        }
    }
  else if (JSON_NODE_HOLDS_ARRAY (expected))
    {
      JsonArray *a = json_node_get_array (expected);
      JsonArray *b = json_node_get_array (got);
      unsigned n = MIN (json_array_get_length (a), json_array_get_length (b));

      for (unsigned i = 0; i < n; i++)
        if (!charta_test_json_equal (json_array_get_element (a, i),
                                     json_array_get_element (b, i), NULL))
          {
            g_autofree char *inner = g_strdup_printf ("%s[%u]", path, i);

            return describe_difference (json_array_get_element (a, i),
                                        json_array_get_element (b, i), inner);
          }
      return g_strdup_printf ("%s: %u elements, expected %u", path, json_array_get_length (b),
                              json_array_get_length (a));
    }
  return g_strdup_printf ("%s: the value differs", path);
}

/* Compares the resource @got with @expected apart from meta.versionId/lastUpdated; NULL when
 * equal, else where they first differ. */
static char *
difference (JsonNode *expected,
            JsonNode *got)
{
  g_autoptr(JsonNode) a = json_node_copy (expected);
  g_autoptr(JsonNode) b = json_node_copy (got);

  g_autoptr(GString) problems = g_string_new (NULL);

  strip_version_meta (a);
  strip_version_meta (b);
  /* the attachments' size and hash the store fills in, checked against their data */
  charta_test_strip_filled_in (a, b, problems);
  if (problems->len > 0)
    return g_string_free (g_steal_pointer (&problems), FALSE);
  if (charta_test_json_equal (a, b, NULL))
    return NULL;
  return describe_difference (a, b, "$");
}

/* Whether @id is a FHIR id: [A-Za-z0-9\-\.]{1,64}. */
static gboolean
is_fhir_id (const char *id)
{
  size_t n = strlen (id);

  if (n == 0 || n > 64)
    return FALSE;
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isalnum (id[i]) && id[i] != '-' && id[i] != '.')
      return FALSE;
  return TRUE;
}

/* _summary=count of @type: the Bundle's total, or -1 (and a failure) when the answer is not
 * a searchset Bundle with a total. */
static int64_t
count_over_http (Fixture    *f,
                 const char *type)
{
  g_autofree char *path = g_strdup_printf ("%s?_summary=count", type);
  g_autofree char *url = url_for (f, path);
  g_autoptr(Response) r = send_request (f, "GET", url, NULL);
  g_autoptr(JsonNode) node = parse_bytes (r->body);
  JsonObject *bundle = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node)
                                                                     : NULL;
  JsonNode *total = bundle != NULL ? json_object_get_member (bundle, "total") : NULL;

  if (r->status != 200 || g_strcmp0 (member_string (bundle, "type"), "searchset") != 0
      || total == NULL || json_node_get_value_type (total) != G_TYPE_INT64)
    {
      g_autofree char *what = describe_response (r);

      fail_later (f, "GET %s: no searchset Bundle with a total (%s)", path, what);
      return -1;
    }
  return json_node_get_int (total);
}

/* ---- the spec examples -------------------------------------------------------------------- */

/* An id made from the file @name ("Foo-bar_1.json" → "Foo-bar-1"), for an example without
 * one. */
static char *
id_from_name (const char *name)
{
  GString *id = g_string_new (NULL);

  for (const char *p = name; *p != '\0' && strcmp (p, ".json") != 0 && id->len < 64; p++)
    g_string_append_c (id, g_ascii_isalnum (*p) || *p == '-' || *p == '.' ? *p : '-');
  return g_string_free (id, FALSE);
}

/* @json with "id":@id put first in its top-level object; the rest of the text kept as it is
 * (json-glib's generator would rewrite the numbers).  A resource object is never empty: it
 * has its resourceType. */
static char *
with_id (const char *json,
         const char *id)
{
  const char *brace = strchr (json, '{');

  g_assert_nonnull (brace);
  return g_strdup_printf ("%.*s{\"id\":\"%s\",%s", (int) (brace - json), json, id, brace + 1);
}

/* A [type]/[id] PUT before: its version and the content of that version. */
typedef struct
{
  int64_t   version;
  JsonNode *content;   /* without meta.versionId/lastUpdated */
} Seen;

static void
seen_free (gpointer data)
{
  Seen *seen = data;

  json_node_unref (seen->content);
  g_free (seen);
}

static void
test_examples (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *dir = NULL;
  g_autoptr(GHashTable) known_invalid = NULL;
  g_autoptr(GPtrArray) names = charta_test_list_valid_examples (&dir, &known_invalid);
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GHashTable) seen = NULL;
  g_autoptr(GHashTable) per_type = NULL;
  g_autoptr(GList) types = NULL;
  unsigned n_skipped = 0, n_given_id = 0, n_put = 0, n_created = 0, n_compared = 0;
  unsigned n_types_counted = 0;
  int64_t n_other_writes = 0;
  gint64 start;

  if (names == NULL)
    return;

  /* the files KNOWN-INVALID.txt lists are skipped: each is in the folder, and with the valid
   * ones they are all the folder's examples */
  all = charta_test_list_json_files (dir, NULL);
  for (unsigned i = 0; i < all->len; i++)
    if (g_hash_table_contains (known_invalid, all->pdata[i]))
      n_skipped++;
  g_assert_cmpuint (n_skipped, ==, g_hash_table_size (known_invalid));
  g_assert_cmpuint (names->len + n_skipped, ==, all->len);
  g_assert_cmpuint (names->len, >, 700);

  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, seen_free);
  per_type = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  start = g_get_monotonic_time ();
  for (unsigned n = 0; n < names->len; n++)
    {
      const char *name = names->pdata[n];
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *text = NULL;
      g_autofree char *given_id = NULL;
      g_autofree char *key = NULL;
      g_autofree char *resource_path = NULL;
      g_autofree char *url = NULL;
      g_autofree char *location = NULL;
      g_autofree char *etag = NULL;
      g_autofree char *diff = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) expected = NULL;
      g_autoptr(GBytes) body = NULL;
      g_autoptr(Response) put = NULL;
      g_autoptr(Response) get = NULL;
      g_autoptr(JsonNode) read = NULL;
      JsonObject *object;
      const char *type;
      const char *id;
      Seen *before;
      unsigned want_status;
      int64_t want_version;

      g_assert_true (g_file_get_contents (path, &text, NULL, &error));
      g_assert_no_error (error);
      expected = json_from_string (text, &error);
      g_assert_no_error (error);
      object = json_node_get_object (expected);
      type = member_string (object, "resourceType");
      g_assert_nonnull (type);
      id = member_string (object, "id");
      if (id == NULL)
        {
          /* PUT needs an id in the body: one from the file name */
          char *with = NULL;

          given_id = id_from_name (name);
          with = with_id (text, given_id);
          g_free (text);
          text = with;
          g_clear_pointer (&expected, json_node_unref);
          expected = json_from_string (text, &error);
          g_assert_no_error (error);
          object = json_node_get_object (expected);
          id = member_string (object, "id");
          g_assert_cmpstr (id, ==, given_id);
          g_test_message ("%s has no id: PUT as %s/%s", name, type, id);
          n_given_id++;
        }

      /* what the answer must be: a new [type]/[id] is created as version 1; one seen before
       * gets a new version unless the content is the same */
      key = g_strdup_printf ("%s/%s", type, id);
      before = g_hash_table_lookup (seen, key);
      want_status = before == NULL ? 201 : 200;
      want_version = 1;
      if (before != NULL)
        {
          g_autoptr(JsonNode) stripped = json_node_copy (expected);

          strip_version_meta (stripped);
          want_version = before->version
                         + (charta_test_json_equal (before->content, stripped, NULL) ? 0 : 1);
          g_test_message ("%s: %s again, version %" G_GINT64_FORMAT " expected", name, key,
                          want_version);
        }
      resource_path = g_strdup_printf ("%s/%s", type, id);
      url = url_for (f, resource_path);
      location = g_strdup_printf ("%s/_history/%" G_GINT64_FORMAT, url, want_version);
      etag = g_strdup_printf ("W/\"%" G_GINT64_FORMAT "\"", want_version);

      body = g_bytes_new (text, strlen (text));
      put = send_request (f, "PUT", url, body);
      if (put->status != want_status)
        {
          g_autofree char *what = describe_response (put);

          fail_later (f, "%s: PUT %s answered %s, expected %u", name, key, what, want_status);
          continue;
        }
      n_put++;
      if (put->status == 201)
        n_created++;
      if (g_strcmp0 (header (put, "Location"), location) != 0)
        fail_later (f, "%s: PUT %s: Location %s, expected %s", name, key,
                    header (put, "Location"), location);
      if (g_strcmp0 (header (put, "ETag"), etag) != 0)
        fail_later (f, "%s: PUT %s: ETag %s, expected %s", name, key, header (put, "ETag"),
                    etag);

      if (before == NULL)
        {
          Seen *s = g_new0 (Seen, 1);
          int64_t *count = g_hash_table_lookup (per_type, type);

          s->version = want_version;
          s->content = json_node_copy (expected);
          strip_version_meta (s->content);
          g_hash_table_insert (seen, g_strdup (key), s);
          if (count == NULL)
            {
              count = g_new0 (int64_t, 1);
              g_hash_table_insert (per_type, g_strdup (type), count);
            }
          (*count)++;
        }
      else
        {
          before->version = want_version;
          json_node_unref (before->content);
          before->content = json_node_copy (expected);
          strip_version_meta (before->content);
        }
      /* each write of a new version of anything but a Provenance or AuditEvent makes one
       * Provenance (charta-store.h) */
      if ((before == NULL || want_version > 1) && strcmp (type, "Provenance") != 0
          && strcmp (type, "AuditEvent") != 0)
        n_other_writes++;

      get = send_request (f, "GET", url, NULL);
      if (get->status != 200)
        {
          g_autofree char *what = describe_response (get);

          fail_later (f, "%s: GET %s answered %s", name, key, what);
          continue;
        }
      if (g_strcmp0 (header (get, "ETag"), etag) != 0)
        fail_later (f, "%s: GET %s: ETag %s, expected %s", name, key, header (get, "ETag"),
                    etag);
      read = parse_bytes (get->body);
      if (read == NULL || !JSON_NODE_HOLDS_OBJECT (read))
        {
          fail_later (f, "%s: GET %s: the body is no JSON object", name, key);
          continue;
        }
      {
        g_autofree char *version = g_strdup_printf ("%" G_GINT64_FORMAT, want_version);
        const char *vid = member_string (member_object (json_node_get_object (read), "meta"),
                                         "versionId");

        if (g_strcmp0 (vid, version) != 0)
          fail_later (f, "%s: GET %s: meta.versionId %s, expected %s", name, key, vid, version);
      }
      diff = difference (expected, read);
      if (diff != NULL)
        {
          fail_later (f, "%s: GET %s differs from the file at %s", name, key, diff);
          continue;
        }
      n_compared++;
    }
  g_test_message ("r4-examples: %u files, %u skipped as known invalid, %u given an id; "
                  "%u PUT as expected (%u created), %u read back equal, in %.1f s",
                  all->len, n_skipped, n_given_id, n_put, n_created, n_compared,
                  (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);

  /* the counts per type: the distinct [type]/[id]s of the files; Provenance has the
   * examples' own and one for each write of anything else */
  {
    int64_t *n = g_hash_table_lookup (per_type, "Provenance");

    if (n == NULL)
      {
        n = g_new0 (int64_t, 1);
        g_hash_table_insert (per_type, g_strdup ("Provenance"), n);
      }
    *n += n_other_writes;
  }
  types = g_hash_table_get_keys (per_type);
  types = g_list_sort (types, (GCompareFunc) strcmp);
  for (GList *l = types; l != NULL; l = l->next)
    {
      int64_t want = *(int64_t *) g_hash_table_lookup (per_type, l->data);
      int64_t got = count_over_http (f, l->data);

      if (got >= 0 && got != want)
        fail_later (f, "%s?_summary=count: total %" G_GINT64_FORMAT ", expected %"
                    G_GINT64_FORMAT, (char *) l->data, got, want);
      n_types_counted++;
    }
  g_test_message ("r4-examples: counts of %u types compared", n_types_counted);
  g_assert_cmpuint (n_types_counted, >, 100);

  assert_no_failures (f);
  g_assert_cmpuint (n_put, ==, names->len);
  g_assert_cmpuint (n_compared, ==, names->len);
}

/* ---- Synthea ------------------------------------------------------------------------------ */

/* hospitalInformation…, practitionerInformation…, then the patients, each by name. */
static int
bundle_rank (const char *name)
{
  if (g_str_has_prefix (name, "hospitalInformation"))
    return 0;
  if (g_str_has_prefix (name, "practitionerInformation"))
    return 1;
  return 2;
}

static int
compare_bundles (gconstpointer a,
                 gconstpointer b)
{
  const char *x = *(const char *const *) a;
  const char *y = *(const char *const *) b;
  int rx = bundle_rank (x), ry = bundle_rank (y);

  if (rx != ry)
    return rx < ry ? -1 : 1;
  return strcmp (x, y);
}

/* An entry read back whole after the import. */
typedef struct
{
  char     *file;
  unsigned  index;     /* in the file's entries */
  char     *ref;       /* "Type/id" the answer gave */
  JsonNode *expected;  /* the request's resource with that id and its urn:uuid references
                        * replaced by the answers' "Type/id" */
} Sample;

static void
sample_free (gpointer data)
{
  Sample *s = data;

  g_free (s->file);
  g_free (s->ref);
  json_node_unref (s->expected);
  g_free (s);
}

/* Replaces, in @node, every "reference" that is a key of @refs (a fullUrl) by its value. */
static void
resolve_references (JsonNode   *node,
                    GHashTable *refs)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      JsonObjectIter iter;
      const char *name;
      JsonNode *member;

      json_object_iter_init (&iter, object);
      while (json_object_iter_next (&iter, &name, &member))
        {
          const char *target;

          if (strcmp (name, "reference") == 0
              && json_node_get_value_type (member) == G_TYPE_STRING
              && (target = g_hash_table_lookup (refs, json_node_get_string (member))) != NULL)
            json_node_set_string (member, target);
          else
            resolve_references (member, refs);
        }
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (unsigned i = 0; i < json_array_get_length (array); i++)
        resolve_references (json_array_get_element (array, i), refs);
    }
}

static void
count_type (GHashTable *counts,
            const char *type,
            int64_t     n)
{
  int64_t *count = g_hash_table_lookup (counts, type);

  if (count == NULL)
    {
      count = g_new0 (int64_t, 1);
      g_hash_table_insert (counts, g_strdup (type), count);
    }
  *count += n;
}

/* POSTs the transaction in @path and checks its answer entry by entry; the entries' "Type/id"
 * go to @created (to their type), their counts to @expected, the chosen ones to @samples;
 * *n_entries counts every entry so far, *seconds the time of the POSTs.  TRUE when the
 * transaction answered 200. */
static gboolean
post_bundle (Fixture    *f,
             const char *name,
             const char *path,
             GHashTable *expected,
             GHashTable *created,
             GHashTable *first_of_type,
             GPtrArray  *samples,
             unsigned   *n_entries,
             double     *seconds)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMappedFile) file = g_mapped_file_new (path, FALSE, &error);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(Response) r = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GHashTable) refs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GArray) chosen = g_array_new (FALSE, FALSE, sizeof (unsigned));
  g_autofree char *url = url_for (f, "");
  JsonObject *bundle, *response;
  JsonArray *entries, *answers;
  unsigned n;
  gint64 start;

  g_assert_no_error (error);
  body = g_mapped_file_get_bytes (file);

  /* the request, as the file has it: a transaction of resources with urn:uuid fullUrls */
  json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                              (gssize) g_bytes_get_size (body), &error);
  g_assert_no_error (error);
  bundle = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (member_string (bundle, "resourceType"), ==, "Bundle");
  g_assert_cmpstr (member_string (bundle, "type"), ==, "transaction");
  entries = member_array (bundle, "entry");
  g_assert_nonnull (entries);
  n = json_array_get_length (entries);
  for (unsigned i = 0; i < n; i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);
      const char *type = member_string (member_object (entry, "resource"), "resourceType");

      g_assert_nonnull (type);
      count_type (expected, type, 1);
      /* one in SAMPLE_EVERY, and the first of each type */
      if ((*n_entries + i) % SAMPLE_EVERY == 0 || !g_hash_table_contains (first_of_type, type))
        {
          g_hash_table_add (first_of_type, g_strdup (type));
          g_array_append_val (chosen, i);
        }
    }
  *n_entries += n;

  start = g_get_monotonic_time ();
  r = send_request (f, "POST", url, body);
  *seconds += (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
  if (r->status != 200)
    {
      g_autofree char *what = describe_response (r);

      fail_later (f, "%s: POST answered %s, expected 200", name, what);
      return FALSE;
    }

  /* the answer: a transaction-response with one entry per request entry, in order */
  answer = parse_bytes (r->body);
  response = answer != NULL && JSON_NODE_HOLDS_OBJECT (answer) ? json_node_get_object (answer)
                                                               : NULL;
  if (g_strcmp0 (member_string (response, "resourceType"), "Bundle") != 0
      || g_strcmp0 (member_string (response, "type"), "transaction-response") != 0)
    {
      fail_later (f, "%s: the answer is no transaction-response Bundle (type %s)", name,
                  member_string (response, "type"));
      return TRUE;
    }
  answers = member_array (response, "entry");
  if (answers == NULL || json_array_get_length (answers) != n)
    {
      fail_later (f, "%s: %u entries in the answer, expected %u", name,
                  answers != NULL ? json_array_get_length (answers) : 0, n);
      return TRUE;
    }
  for (unsigned i = 0; i < n; i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);
      const char *type = member_string (member_object (entry, "resource"), "resourceType");
      JsonObject *result = member_object (json_array_get_object_element (answers, i),
                                          "response");
      const char *status = member_string (result, "status");
      const char *location = member_string (result, "location");
      g_auto(GStrv) parts = NULL;
      g_autofree char *ref = NULL;

      if (status == NULL || !g_str_has_prefix (status, "201"))
        {
          g_autofree char *outcome = describe_outcome (member_object (result, "outcome"));

          fail_later (f, "%s: entry[%u] (%s): status %s, expected 201 (%s)", name, i, type,
                      status, outcome);
          continue;
        }
      /* "Type/id/_history/1", of the request's type */
      parts = location != NULL ? g_strsplit (location, "/", -1) : NULL;
      if (parts == NULL || g_strv_length (parts) != 4 || g_strcmp0 (parts[0], type) != 0
          || !is_fhir_id (parts[1]) || g_strcmp0 (parts[2], "_history") != 0
          || g_strcmp0 (parts[3], "1") != 0)
        {
          fail_later (f, "%s: entry[%u] (%s): location %s, expected %s/[id]/_history/1", name,
                      i, type, location, type);
          continue;
        }
      ref = g_strdup_printf ("%s/%s", parts[0], parts[1]);
      if (g_hash_table_contains (created, ref))
        {
          fail_later (f, "%s: entry[%u]: %s was already created by another entry", name, i,
                      ref);
          continue;
        }
      g_hash_table_insert (created, g_strdup (ref), g_strdup (type));
      if (member_string (entry, "fullUrl") != NULL)
        g_hash_table_insert (refs, g_strdup (member_string (entry, "fullUrl")),
                             g_steal_pointer (&ref));
    }

  /* the samples: what a read must return, from the request and the answer */
  for (unsigned k = 0; k < chosen->len; k++)
    {
      unsigned i = g_array_index (chosen, unsigned, k);
      JsonObject *entry = json_array_get_object_element (entries, i);
      const char *ref = g_hash_table_lookup (refs, member_string (entry, "fullUrl"));
      Sample *s;

      if (ref == NULL)
        continue;   /* its failure is listed above */
      s = g_new0 (Sample, 1);
      s->file = g_strdup (name);
      s->index = i;
      s->ref = g_strdup (ref);
      s->expected = json_node_copy (json_object_get_member (entry, "resource"));
      resolve_references (s->expected, refs);
      json_object_set_string_member (json_node_get_object (s->expected), "id",
                                     strchr (ref, '/') + 1);
      g_ptr_array_add (samples, s);
    }
  return TRUE;
}

/* Pages through every @type in the store (searchset pages of SCAN_PAGE_SIZE): each page's
 * text holds no "urn:uuid:", each match is one of @created's of @type, met once.  Returns the
 * number of matches. */
static int64_t
scan_type (Fixture    *f,
           const char *type,
           GHashTable *created,
           GHashTable *met)
{
  g_autofree char *first = g_strdup_printf ("%s?_count=%u", type, SCAN_PAGE_SIZE);
  g_autofree char *url = url_for (f, first);
  int64_t n = 0;
  unsigned n_pages = 0;

  while (url != NULL)
    {
      g_autoptr(Response) r = send_request (f, "GET", url, NULL);
      g_autoptr(JsonNode) node = NULL;
      JsonObject *page;
      JsonArray *entries, *links;
      gsize size = 0;
      const char *data = g_bytes_get_data (r->body, &size);
      char *next = NULL;

      if (r->status != 200)
        {
          g_autofree char *what = describe_response (r);

          fail_later (f, "scan of %s, page %u: %s", type, n_pages, what);
          break;
        }
      if (g_strstr_len (data, (gssize) size, "urn:uuid:") != NULL)
        fail_later (f, "scan of %s, page %u: \"urn:uuid:\" in the page", type, n_pages);
      node = parse_bytes (r->body);
      page = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      if (g_strcmp0 (member_string (page, "type"), "searchset") != 0)
        {
          fail_later (f, "scan of %s, page %u: no searchset Bundle", type, n_pages);
          break;
        }
      entries = member_array (page, "entry");
      for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
        {
          JsonObject *entry = json_array_get_object_element (entries, i);
          JsonObject *resource = member_object (entry, "resource");
          g_autofree char *ref = NULL;

          if (g_strcmp0 (member_string (member_object (entry, "search"), "mode"), "match") != 0)
            continue;
          ref = g_strdup_printf ("%s/%s", member_string (resource, "resourceType"),
                                 member_string (resource, "id"));
          if (g_strcmp0 (g_hash_table_lookup (created, ref), type) != 0)
            fail_later (f, "scan of %s, page %u: %s is not one the transactions created", type,
                        n_pages, ref);
          else if (!g_hash_table_add (met, g_strdup (ref)))
            fail_later (f, "scan of %s, page %u: %s met twice", type, n_pages, ref);
          n++;
        }
      links = member_array (page, "link");
      for (unsigned i = 0; links != NULL && i < json_array_get_length (links); i++)
        {
          JsonObject *link = json_array_get_object_element (links, i);

          if (g_strcmp0 (member_string (link, "relation"), "next") == 0)
            next = g_strdup (member_string (link, "url"));
        }
      g_free (url);
      url = next;
      n_pages++;
      /* a next link on every page would never end */
      if (n_pages > 1000)
        {
          fail_later (f, "scan of %s: more than 1000 pages", type);
          break;
        }
    }
  return n;
}

static void
test_synthea (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *dir = charta_test_corpus_path ("synthea");
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GHashTable) expected = NULL;
  g_autoptr(GHashTable) created = NULL;
  g_autoptr(GHashTable) first_of_type = NULL;
  g_autoptr(GHashTable) met = NULL;
  g_autoptr(GHashTable) sample_types = NULL;
  g_autoptr(GPtrArray) samples = NULL;
  g_autoptr(GList) types = NULL;
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  g_autoptr(GError) error = NULL;
  unsigned n_entries = 0, n_posted = 0, n_types = 0, n_read = 0;
  int64_t n_scanned = 0;
  double seconds = 0;
  gint64 start;
  gboolean ok;

  if (dir == NULL)
    return;

  names = charta_test_list_json_files (dir, NULL);
  g_ptr_array_sort (names, compare_bundles);
  g_assert_cmpuint (names->len, >, 2);
  g_assert_cmpint (bundle_rank (names->pdata[0]), ==, 0);
  g_assert_cmpint (bundle_rank (names->pdata[1]), ==, 1);
  g_assert_cmpint (bundle_rank (names->pdata[2]), ==, 2);

  expected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  created = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  first_of_type = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  samples = g_ptr_array_new_with_free_func (sample_free);
  for (unsigned i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);

      if (post_bundle (f, names->pdata[i], path, expected, created, first_of_type, samples,
                       &n_entries, &seconds))
        n_posted++;
    }
  g_test_message ("synthea: %u bundles, %u resources POSTed in %.1f s (%.0f resources/s); "
                  "%u transactions answered 200, %u resources created", names->len, n_entries,
                  seconds, n_entries / MAX (seconds, 1e-6), n_posted,
                  g_hash_table_size (created));
  g_assert_cmpuint (n_entries, >, 10000);

  /* the counts per type, as the bundles have them; Provenance: none in the bundles, and one
   * per transaction (every entry a create: one activity, one event; charta-store.h) */
  g_assert_false (g_hash_table_contains (expected, "Provenance"));
  start = g_get_monotonic_time ();
  types = g_hash_table_get_keys (expected);
  types = g_list_sort (types, (GCompareFunc) strcmp);
  for (GList *l = types; l != NULL; l = l->next)
    {
      int64_t want = *(int64_t *) g_hash_table_lookup (expected, l->data);
      int64_t got = count_over_http (f, l->data);

      g_test_message ("%s: %" G_GINT64_FORMAT " in the bundles, %" G_GINT64_FORMAT
                      " in the store", (char *) l->data, want, got);
      if (got >= 0 && got != want)
        fail_later (f, "%s?_summary=count: total %" G_GINT64_FORMAT ", expected %"
                    G_GINT64_FORMAT, (char *) l->data, got, want);
      n_types++;
    }
  {
    int64_t got = count_over_http (f, "Provenance");

    if (got >= 0 && got != n_posted)
      fail_later (f, "Provenance?_summary=count: total %" G_GINT64_FORMAT ", expected %u",
                  got, n_posted);
  }

  /* every stored resource, page by page: no urn:uuid left, each one a transaction made */
  met = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (GList *l = types; l != NULL; l = l->next)
    {
      int64_t want = *(int64_t *) g_hash_table_lookup (expected, l->data);
      int64_t got = scan_type (f, l->data, created, met);

      if (got != want)
        fail_later (f, "scan of %s: %" G_GINT64_FORMAT " resources, expected %" G_GINT64_FORMAT,
                    (char *) l->data, got, want);
      n_scanned += got;
    }

  /* the samples, read one by one and compared with the request */
  sample_types = g_hash_table_new (g_str_hash, g_str_equal);
  for (unsigned i = 0; i < samples->len; i++)
    {
      Sample *s = samples->pdata[i];
      g_autofree char *url = url_for (f, s->ref);
      g_autoptr(Response) r = send_request (f, "GET", url, NULL);
      g_autoptr(JsonNode) read = NULL;
      g_autofree char *diff = NULL;
      gsize size = 0;
      const char *body = g_bytes_get_data (r->body, &size);

      if (r->status != 200)
        {
          g_autofree char *what = describe_response (r);

          fail_later (f, "%s: entry[%u]: GET %s answered %s", s->file, s->index, s->ref, what);
          continue;
        }
      if (g_strstr_len (body, (gssize) size, "urn:uuid:") != NULL)
        fail_later (f, "%s: entry[%u]: GET %s: \"urn:uuid:\" in the body", s->file, s->index,
                    s->ref);
      read = parse_bytes (r->body);
      if (read == NULL || !JSON_NODE_HOLDS_OBJECT (read))
        {
          fail_later (f, "%s: entry[%u]: GET %s: the body is no JSON object", s->file, s->index,
                      s->ref);
          continue;
        }
      diff = difference (s->expected, read);
      if (diff != NULL)
        {
          fail_later (f, "%s: entry[%u]: GET %s differs from the entry (urn:uuid references "
                      "resolved) at %s", s->file, s->index, s->ref, diff);
          continue;
        }
      g_hash_table_add (sample_types, (gpointer) member_string (json_node_get_object (s->expected),
                                                                "resourceType"));
      n_read++;
    }
  g_test_message ("synthea: counts of %u types compared, %" G_GINT64_FORMAT " resources "
                  "scanned page by page, %u of %u samples (%u types) read back equal, in %.1f s",
                  n_types, n_scanned, n_read, samples->len, g_hash_table_size (sample_types),
                  (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);

  /* the store itself, directly */
  start = g_get_monotonic_time ();
  ok = charta_store_check (f->store, outcome, &error);
  g_assert_no_error (error);
  for (unsigned i = 0; i < charta_outcome_get_n_issues (outcome) && i < MAX_LOGGED_FAILURES; i++)
    {
      const ChartaIssue *issue = charta_outcome_get_issue (outcome, i);

      fail_later (f, "charta_store_check: %s at %s: %.300s", issue->code, issue->expression,
                  issue->diagnostics);
    }
  g_test_message ("synthea: charta_store_check: %u issues, in %.1f s",
                  charta_outcome_get_n_issues (outcome),
                  (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
  if (!ok && charta_outcome_get_n_issues (outcome) == 0)
    fail_later (f, "charta_store_check failed without an issue");

  assert_no_failures (f);
  g_assert_cmpuint (n_posted, ==, names->len);
  g_assert_cmpuint (g_hash_table_size (created), ==, n_entries);
  g_assert_cmpint (n_scanned, ==, n_entries);
  g_assert_cmpuint (n_types, ==, g_hash_table_size (expected));
  g_assert_cmpuint (n_read, >=, 500);
  g_assert_cmpuint (g_hash_table_size (sample_types), ==, g_hash_table_size (expected));
}

/* ---- main --------------------------------------------------------------------------------- */

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/charta/backend/serve-corpus/examples", Fixture, NULL, fixture_set_up,
              test_examples, fixture_tear_down);
  g_test_add ("/charta/backend/serve-corpus/synthea", Fixture, NULL, fixture_set_up,
              test_synthea, fixture_tear_down);

  return g_test_run ();
}
