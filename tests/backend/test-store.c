/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-store.c: ChartaStore: versions, provenance, history, transactions, files.
 *
 * Every test works in its own temporary folder (removed at the end).  The corpus test stores
 * every valid R4 spec example, reads it back, updates it, reads each version, deletes it and
 * walks its history and Provenance.  The damage test opens the store file with SQLite itself,
 * which is the only use of SQLite outside the store's engine.
 */
#define G_LOG_DOMAIN "charta-test-store"

#include <string.h>

#include <sqlite3.h>

#include "charta-store-private.h"
#include "charta-test-store-util.h"

/* ---- fixture ------------------------------------------------------------------------------ */

typedef ChartaTestStore Fixture;   /* a new store in a temporary folder */

/* ---- helpers ------------------------------------------------------------------------------ */

/* The resource's JSON without id and meta, as a tree. */
static JsonNode *
without_meta (ChartaResource *resource)
{
  g_autofree char *json = charta_resource_to_json (resource, FALSE, NULL);
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (json, &error);

  JsonObject *object;

  g_assert_no_error (error);
  object = json_node_get_object (node);
  json_object_remove_member (object, "id");
  if (json_object_has_member (object, "meta"))
    {
      JsonObject *meta = json_object_get_object_member (object, "meta");

      json_object_remove_member (meta, "versionId");
      json_object_remove_member (meta, "lastUpdated");
      if (json_object_get_size (meta) == 0)
        json_object_remove_member (object, "meta");
    }
  return node;
}

static void
assert_equal_but_meta (ChartaResource *a,
                       ChartaResource *b)
{
  g_autoptr(JsonNode) na = without_meta (a);
  g_autoptr(JsonNode) nb = without_meta (b);
  g_autofree char *where = NULL;

  if (!charta_test_json_equal (na, nb, &where))
    g_error ("%s resources differ at %s", charta_resource_get_resource_type (a), where);
}

/* ---- what the store gives back of a scan's bytes ------------------------------------------ */

/* @got (version @version of @sent's resource, read from @store) is @sent but meta and what
 * the store fills in (charta_test_strip_filled_in(): attachments' size and hash, checked
 * against their data); a Binary's `data` is not in its JSON but is its content, byte for
 * byte.  Returns how many size/hash members the store filled in. */
static unsigned
assert_stored_as_sent (ChartaStore    *store,
                       ChartaResource *sent,
                       ChartaResource *got,
                       int64_t         version)
{
  g_autoptr(JsonNode) ns = without_meta (sent);
  g_autoptr(JsonNode) ng = without_meta (got);
  g_autoptr(GString) problems = g_string_new (NULL);
  const char *type = charta_resource_get_resource_type (sent);
  unsigned n_filled = 0;

  if (strcmp (type, "Binary") == 0)
    {
      JsonObject *object = json_node_get_object (ns);
      const char *data = json_object_get_string_member_with_default (object, "data", "");
      gsize length = 0;
      g_autofree guchar *expected = g_base64_decode (data, &length);
      g_autoptr(GError) error = NULL;
      g_autoptr(GInputStream) stream = NULL;
      g_autoptr(GByteArray) content = g_byte_array_new ();
      ChartaContentInfo info = { 0 };
      guint8 buffer[65536];
      gssize n;

      g_assert_false (json_object_has_member (json_node_get_object (ng), "data"));
      json_object_remove_member (object, "data");
      stream = charta_store_open_binary (store, charta_resource_get_id (got), version, 0, -1,
                                         NULL, &info, &error);
      g_assert_no_error (error);
      while ((n = g_input_stream_read (stream, buffer, sizeof buffer, NULL, &error)) > 0)
        g_byte_array_append (content, buffer, (guint) n);
      g_assert_no_error (error);
      g_assert_cmpint (info.size, ==, (gint64) length);
      g_assert_cmpmem (content->data, content->len, expected, length);
    }
  n_filled = charta_test_strip_filled_in (ns, ng, problems);
  if (problems->len > 0)
    g_error ("%s/%s as stored: %s", type, charta_resource_get_id (got), problems->str);
  {
    g_autofree char *where = NULL;

    if (!charta_test_json_equal (ns, ng, &where))
      g_error ("%s/%s as stored differs at %s", type, charta_resource_get_id (got), where);
  }
  return n_filled;
}

static int64_t
version_of (ChartaResource *resource)
{
  const char *vid = charta_resource_get_version_id (resource);

  g_assert_nonnull (vid);
  return g_ascii_strtoll (vid, NULL, 10);
}

static unsigned
history_length (ChartaStore *store,
                const char  *type,
                const char  *id)
{
  g_autoptr(GError) error = NULL;
  ChartaHistoryOptions options = { .count = 10000 };
  g_autoptr(GPtrArray) entries = charta_store_history (store, type, id, &options, NULL, &error);

  g_assert_no_error (error);
  return entries->len;
}

/* A string member of a JSON object reached by a dotted path with [n] array indexes. */
static const char *
json_string_at (ChartaResource *resource,
                const char     *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonPath) jp = json_path_new ();
  g_autofree char *expr = g_strconcat ("$.", path, NULL);
  g_autoptr(JsonNode) found = NULL;
  JsonArray *array;
  const char *value;
  static GStringChunk *kept;

  json_path_compile (jp, expr, &error);
  g_assert_no_error (error);
  found = json_path_match (jp, charta_resource_get_root (resource));
  array = json_node_get_array (found);
  if (json_array_get_length (array) == 0)
    return NULL;
  value = json_array_get_string_element (array, 0);
  /* Kept for the life of the test program: the match is freed on return. */
  if (kept == NULL)
    kept = g_string_chunk_new (4096);
  return g_string_chunk_insert (kept, value);
}

static const char *simple_patient =
  "{\"resourceType\":\"Patient\",\"active\":true,"
  "\"name\":[{\"family\":\"Chalmers\",\"given\":[\"Peter\",\"James\"]}],"
  "\"gender\":\"male\",\"birthDate\":\"1974-12-25\"}";

/* ---- basic life cycle ------------------------------------------------------------------- */

static void
test_create_read_update_delete (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) input = charta_test_parse (simple_patient);
  g_autoptr(ChartaResource) created = NULL;
  g_autoptr(ChartaResource) read = NULL;
  g_autoptr(ChartaResource) updated = NULL;
  g_autoptr(ChartaResource) changed_input = NULL;
  g_autoptr(ChartaResource) v1 = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *created_json = NULL;
  g_autofree char *changed = NULL;
  const char *id;
  gboolean was_created = TRUE;
  int64_t version = 0, deleted;

  created = charta_store_create (f->store, input, NULL, &error);
  g_assert_no_error (error);
  id = charta_resource_get_id (created);
  g_assert_nonnull (id);
  g_assert_cmpstr (charta_resource_get_version_id (created), ==, "1");
  g_assert_nonnull (charta_resource_get_last_updated (created));
  g_assert_cmpint (strlen (charta_resource_get_last_updated (created)), ==, 27);
  assert_equal_but_meta (input, created);

  read = charta_store_read (f->store, "Patient", id, &error);
  g_assert_no_error (error);
  created_json = charta_resource_to_json (created, FALSE, NULL);
  bytes = charta_store_read_bytes (f->store, "Patient", id, &version, &error);
  g_assert_no_error (error);
  g_assert_cmpint (version, ==, 1);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), created_json,
                   strlen (created_json));

  /* An update that changes something makes version 2. */
  changed = g_strdup_printf ("{\"resourceType\":\"Patient\",\"id\":\"%s\",\"active\":false}", id);
  changed_input = charta_test_parse (changed);
  updated = charta_store_update (f->store, changed_input, 1, NULL, &was_created, &error);
  g_assert_no_error (error);
  g_assert_false (was_created);
  g_assert_cmpstr (charta_resource_get_version_id (updated), ==, "2");
  g_assert_cmpstr (charta_resource_get_last_updated (updated), >,
                   charta_resource_get_last_updated (created));

  v1 = charta_store_vread (f->store, "Patient", id, 1, &error);
  g_assert_no_error (error);
  assert_equal_but_meta (v1, input);
  g_assert_cmpstr (charta_resource_get_version_id (v1), ==, "1");

  deleted = charta_store_delete (f->store, "Patient", id, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (deleted, ==, 3);
  g_clear_pointer (&read, charta_resource_unref);
  read = charta_store_read (f->store, "Patient", id, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_GONE);
  g_assert_null (read);
  g_clear_error (&error);

  /* Deleting again changes nothing. */
  g_assert_cmpint (charta_store_delete (f->store, "Patient", id, 0, NULL, &error), ==, 0);
  g_assert_no_error (error);
  g_assert_cmpuint (history_length (f->store, "Patient", id), ==, 3);

  /* Unknown resources. */
  read = charta_store_read (f->store, "Patient", "nope", &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (charta_store_delete (f->store, "Patient", "nope", 0, NULL, &error), ==, 0);
  g_assert_no_error (error);
}

/* ---- the corpus ------------------------------------------------------------------------- */

/* JSON text of @node (of @resource's tree), numbers as written; when @add_tag, the root's
 * meta gets one more tag (json-glib's generator cannot be used: it rewrites numbers). */
static void
write_json (GString        *out,
            ChartaResource *resource,
            JsonNode       *node,
            int             depth,
            const char     *name)
{
  static const char tag[] = "{\"system\":\"http://example.org/charta-test\",\"code\":\"updated\"}";

  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        gboolean has_meta = json_object_has_member (object, "meta");
        gboolean is_meta = depth == 1 && g_strcmp0 (name, "meta") == 0;
        g_autoptr(GList) members = json_object_get_members (object);
        gboolean first = TRUE;

        g_string_append_c (out, '{');
        for (GList *l = members; l != NULL; l = l->next)
          {
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            g_string_append_printf (out, "\"%s\":", (const char *) l->data);
            if (is_meta && strcmp (l->data, "tag") == 0)
              {
                JsonArray *tags = json_object_get_array_member (object, "tag");

                g_string_append_c (out, '[');
                for (unsigned k = 0; k < json_array_get_length (tags); k++)
                  {
                    write_json (out, resource, json_array_get_element (tags, k), depth + 2,
                                NULL);
                    g_string_append_c (out, ',');
                  }
                g_string_append (out, tag);
                g_string_append_c (out, ']');
              }
            else
              write_json (out, resource, json_object_get_member (object, l->data), depth + 1,
                          l->data);
          }
        if (is_meta && !json_object_has_member (object, "tag"))
          g_string_append_printf (out, "%s\"tag\":[%s]", first ? "" : ",", tag);
        if (depth == 0 && !has_meta)
          g_string_append_printf (out, ",\"meta\":{\"tag\":[%s]}", tag);
        g_string_append_c (out, '}');
      }
      break;
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        g_string_append_c (out, '[');
        for (unsigned k = 0; k < json_array_get_length (array); k++)
          {
            if (k > 0)
              g_string_append_c (out, ',');
            write_json (out, resource, json_array_get_element (array, k), depth + 2, NULL);
          }
        g_string_append_c (out, ']');
      }
      break;
    case JSON_NODE_NULL:
      g_string_append (out, "null");
      break;
    case JSON_NODE_VALUE:
    default:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        {
          g_string_append_c (out, '"');
          for (const char *p = json_node_get_string (node); *p != '\0'; p++)
            {
              if (*p == '"' || *p == '\\')
                g_string_append_printf (out, "\\%c", *p);
              else if ((unsigned char) *p < 0x20)
                g_string_append_printf (out, "\\u%04x", (unsigned) *p);
              else
                g_string_append_c (out, *p);
            }
          g_string_append_c (out, '"');
        }
      else if (json_node_get_value_type (node) == G_TYPE_BOOLEAN)
        g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
      else
        g_string_append (out, charta_resource_get_number_text (resource, node));
      break;
    }
}

/* @resource with a meta.tag added (a change that makes a new version). */
static ChartaResource *
with_tag (ChartaResource *resource)
{
  g_autoptr(GString) out = g_string_new (NULL);

  write_json (out, resource, charta_resource_get_root (resource), 0, NULL);
  return charta_test_parse (out->str);
}

/* The Provenance of exactly @version of @type/@id: one, targeting that version, valid. */
static ChartaResource *
assert_one_provenance (ChartaStore *store,
                       const char  *type,
                       const char  *id,
                       int64_t      version)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *target = g_strdup_printf ("%s/%s/_history/%" G_GINT64_FORMAT, type, id,
                                             version);
  ChartaResource *provenance = charta_test_store_provenance_of (store, type, id, version);

  g_assert_cmpstr (charta_resource_get_resource_type (provenance), ==, "Provenance");
  if (!charta_test_provenance_targets (provenance, target))
    g_error ("the Provenance of %s does not target it", target);
  g_assert_nonnull (json_string_at (provenance, "recorded"));
  charta_validate (provenance, &error);
  g_assert_no_error (error);
  return provenance;
}

static void
test_corpus_examples (void)
{
  g_autofree char *dir_path = NULL;
  g_autoptr(GPtrArray) names = charta_test_list_valid_examples (&dir_path, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *store_path = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  unsigned n_done = 0;
  unsigned n_filled = 0;
  unsigned n_binaries = 0;

  if (names == NULL)
    return;
  g_assert_cmpuint (names->len, ==, 724);

  tmp = charta_test_make_tmp_dir ();
  store_path = g_build_filename (tmp, "corpus.charta", NULL);
  /* FAST: this test is about content, not durability (every write here commits alone). */
  store = charta_test_store_open (store_path,
                                  CHARTA_STORE_FLAGS_CREATE | CHARTA_STORE_FLAGS_FAST);

  for (unsigned n = 0; n < names->len; n++)
    {
      g_autofree char *path = g_build_filename (dir_path, g_ptr_array_index (names, n), NULL);
      g_autoptr(ChartaResource) input = charta_test_load_resource (path);
      g_autoptr(ChartaResource) created = NULL;
      g_autoptr(ChartaResource) read = NULL;
      g_autoptr(ChartaResource) changed = NULL;
      g_autoptr(ChartaResource) updated = NULL;
      g_autoptr(ChartaResource) v1 = NULL;
      g_autoptr(ChartaResource) v2 = NULL;
      g_autoptr(ChartaResource) gone = NULL;
      g_autoptr(GPtrArray) history = NULL;
      ChartaHistoryOptions options = { .count = 10 };
      const char *type = charta_resource_get_resource_type (input);
      gboolean has_provenance = strcmp (type, "Provenance") != 0
                                && strcmp (type, "AuditEvent") != 0;
      g_autofree char *id = NULL;
      gboolean created_flag = TRUE;

      g_test_message ("%s", (const char *) g_ptr_array_index (names, n));
      created = charta_store_create (store, input, NULL, &error);
      g_assert_no_error (error);
      id = g_strdup (charta_resource_get_id (created));
      g_assert_cmpstr (charta_resource_get_version_id (created), ==, "1");
      n_filled += assert_stored_as_sent (store, input, created, 1);
      n_binaries += strcmp (type, "Binary") == 0;

      read = charta_store_read (store, type, id, &error);
      g_assert_no_error (error);
      assert_stored_as_sent (store, input, read, 1);
      g_assert_cmpstr (charta_resource_get_last_updated (read), ==,
                       charta_resource_get_last_updated (created));

      changed = with_tag (read);
      updated = charta_store_update (store, changed, 1, NULL, &created_flag, &error);
      g_assert_no_error (error);
      g_assert_false (created_flag);
      g_assert_cmpstr (charta_resource_get_version_id (updated), ==, "2");

      v1 = charta_store_vread (store, type, id, 1, &error);
      g_assert_no_error (error);
      assert_stored_as_sent (store, input, v1, 1);
      v2 = charta_store_vread (store, type, id, 2, &error);
      g_assert_no_error (error);
      /* (what was read, with a tag: a Binary's JSON without data keeps its content) */
      assert_equal_but_meta (changed, v2);
      if (strcmp (type, "Binary") == 0)
        {
          ChartaContentInfo info1 = { 0 }, info2 = { 0 };
          g_autoptr(GInputStream) s1 = charta_store_open_binary (store, id, 1, 0, -1, NULL,
                                                                 &info1, &error);
          g_autoptr(GInputStream) s2 = NULL;

          g_assert_no_error (error);
          s2 = charta_store_open_binary (store, id, 2, 0, -1, NULL, &info2, &error);
          g_assert_no_error (error);
          g_assert_cmpstr (info2.sha256, ==, info1.sha256);
        }

      g_assert_cmpint (charta_store_delete (store, type, id, 2, NULL, &error), ==, 3);
      g_assert_no_error (error);
      gone = charta_store_read (store, type, id, &error);
      g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_GONE);
      g_assert_null (gone);
      g_clear_error (&error);
      gone = charta_store_vread (store, type, id, 3, &error);
      g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_GONE);
      g_clear_error (&error);
      g_clear_pointer (&v1, charta_resource_unref);
      v1 = charta_store_vread (store, type, id, 1, &error);
      g_assert_no_error (error);

      history = charta_store_history (store, type, id, &options, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (history->len, ==, 3);
      for (unsigned k = 0; k < 3; k++)
        {
          ChartaHistoryEntry *entry = g_ptr_array_index (history, k);

          g_assert_cmpint (entry->version, ==, 3 - k);
          g_assert_cmpstr (entry->type, ==, type);
          g_assert_cmpstr (entry->id, ==, id);
          g_assert_cmpint (entry->method, ==, k == 0 ? CHARTA_METHOD_DELETE
                                              : k == 1 ? CHARTA_METHOD_UPDATE
                                              : CHARTA_METHOD_CREATE);
          g_assert_true ((entry->resource == NULL) == (k == 0));
          if (k > 0)
            g_assert_cmpint (version_of (entry->resource), ==, entry->version);
          if (k > 0)
            g_assert_cmpint (entry->last_updated, <,
                             ((ChartaHistoryEntry *) g_ptr_array_index (history, k - 1))->last_updated);
          if (has_provenance)
            {
              g_autoptr(ChartaResource) provenance = assert_one_provenance (store, type, id,
                                                                            entry->version);
              const char *activity = json_string_at (provenance, "activity.coding[0].code");

              g_assert_cmpstr (activity, ==, k == 0 ? "DELETE" : k == 1 ? "UPDATE" : "CREATE");
            }
          else
            {
              g_autoptr(GPtrArray) none = charta_store_list_provenance (store, type, id,
                                                                        entry->version, &error);

              g_assert_no_error (error);
              g_assert_cmpuint (none->len, ==, 0);
            }
        }
      n_done++;
    }
  g_assert_cmpuint (n_done, ==, 724);
  /* the examples hold Binaries, and attachments with inline data whose size the store added */
  g_test_message ("%u Binaries; %u attachment sizes and hashes filled in", n_binaries, n_filled);
  g_assert_cmpuint (n_binaries, >, 0);
  g_assert_cmpuint (n_filled, >, 0);

  g_assert_true (charta_store_check (store, outcome, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (charta_outcome_count_errors (outcome), ==, 0);
  g_clear_object (&store);
  charta_test_remove_tree (tmp);
}

/* ---- updates ------------------------------------------------------------------------------- */

static ChartaResource *
create_simple (ChartaStore *store)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) input = charta_test_parse (simple_patient);
  ChartaResource *created = charta_store_create (store, input, NULL, &error);

  g_assert_no_error (error);
  return created;
}

static ChartaResource *
patient_with (const char *id,
              const char *extra)
{
  g_autofree char *json = g_strdup_printf ("{\"resourceType\":\"Patient\",\"id\":\"%s\"%s%s}",
                                           id, extra[0] != '\0' ? "," : "", extra);

  return charta_test_parse (json);
}

static void
test_identical_update (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) created = create_simple (f->store);
  g_autoptr(ChartaResource) again = NULL;
  g_autoptr(ChartaResource) reordered = NULL;
  g_autoptr(ChartaResource) reordered_input = NULL;
  g_autoptr(GPtrArray) provenance = NULL;
  g_autofree char *json = NULL;
  const char *id = charta_resource_get_id (created);
  gboolean was_created = TRUE;

  /* The very resource read back (same meta). */
  again = charta_store_update (f->store, created, 0, NULL, &was_created, &error);
  g_assert_no_error (error);
  g_assert_false (was_created);
  g_assert_cmpstr (charta_resource_get_version_id (again), ==, "1");
  g_assert_cmpstr (charta_resource_get_last_updated (again), ==,
                   charta_resource_get_last_updated (created));

  /* The same content, members in another order, other meta.versionId/lastUpdated. */
  json = g_strdup_printf ("{\"birthDate\":\"1974-12-25\",\"gender\":\"male\","
                          "\"meta\":{\"versionId\":\"7\",\"lastUpdated\":\"2001-01-01T00:00:00Z\"},"
                          "\"name\":[{\"given\":[\"Peter\",\"James\"],\"family\":\"Chalmers\"}],"
                          "\"active\":true,\"id\":\"%s\",\"resourceType\":\"Patient\"}", id);
  reordered_input = charta_test_parse (json);
  reordered = charta_store_update (f->store, reordered_input, 1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_version_id (reordered), ==, "1");

  g_assert_cmpuint (history_length (f->store, "Patient", id), ==, 1);
  provenance = charta_store_list_provenance (f->store, "Patient", id, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (provenance->len, ==, 1);
  g_assert_cmpint (charta_test_store_count (f->store, "Provenance"), ==, 1);
}

static void
test_conflict (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) created = create_simple (f->store);
  const char *id = charta_resource_get_id (created);
  g_autoptr(ChartaResource) change1 = patient_with (id, "\"active\":false");
  g_autoptr(ChartaResource) change2 = patient_with (id, "\"gender\":\"female\"");
  g_autoptr(ChartaResource) v2 = NULL;
  g_autoptr(ChartaResource) lost = NULL;
  g_autoptr(ChartaResource) current = NULL;

  v2 = charta_store_update (f->store, change1, 1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_version_id (v2), ==, "2");

  /* A writer that read version 1 loses. */
  lost = charta_store_update (f->store, change2, 1, NULL, NULL, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CONFLICT);
  g_assert_nonnull (strstr (error->message, "expected version 1"));
  g_assert_null (lost);
  g_clear_error (&error);

  current = charta_store_read (f->store, "Patient", id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_version_id (current), ==, "2");
  g_assert_cmpuint (history_length (f->store, "Patient", id), ==, 2);

  /* Deletes are conditional too. */
  g_assert_cmpint (charta_store_delete (f->store, "Patient", id, 1, NULL, &error), ==, -1);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CONFLICT);
  g_clear_error (&error);
  g_assert_cmpint (charta_store_delete (f->store, "Patient", id, 2, NULL, &error), ==, 3);
  g_assert_no_error (error);
}

static void
test_update_as_create (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) input = patient_with ("client-id-1", "\"active\":true");
  g_autoptr(ChartaResource) again_input = patient_with ("client-id-1", "\"active\":false");
  g_autoptr(ChartaResource) created = NULL;
  g_autoptr(ChartaResource) recreated = NULL;
  g_autoptr(ChartaResource) no_id = charta_test_parse (simple_patient);
  g_autoptr(ChartaResource) bad_id = patient_with ("bad_id!", "");
  g_autoptr(ChartaResource) failed = NULL;
  gboolean was_created = FALSE;

  created = charta_store_update (f->store, input, 0, NULL, &was_created, &error);
  g_assert_no_error (error);
  g_assert_true (was_created);
  g_assert_cmpstr (charta_resource_get_id (created), ==, "client-id-1");
  g_assert_cmpstr (charta_resource_get_version_id (created), ==, "1");
  charta_resource_unref (assert_one_provenance (f->store, "Patient", "client-id-1", 1));

  /* After a delete, an update creates it again; versions go on counting. */
  g_assert_cmpint (charta_store_delete (f->store, "Patient", "client-id-1", 0, NULL, &error), ==,
                   2);
  g_assert_no_error (error);
  recreated = charta_store_update (f->store, again_input, 0, NULL, &was_created, &error);
  g_assert_no_error (error);
  g_assert_true (was_created);
  g_assert_cmpstr (charta_resource_get_version_id (recreated), ==, "3");
  g_assert_cmpuint (history_length (f->store, "Patient", "client-id-1"), ==, 3);
  g_assert_cmpint (charta_test_store_count (f->store, "Patient"), ==, 1);

  failed = charta_store_update (f->store, no_id, 0, NULL, NULL, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
  g_clear_error (&error);
  failed = charta_store_update (f->store, bad_id, 0, NULL, NULL, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "not a valid id"));
  g_clear_error (&error);
}

static void
test_invalid (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) input = charta_test_parse (
    "{\"resourceType\":\"Patient\","
    "\"gender\":\"nope\",\"birthDate\":\"1974-13-45\"}");
  g_autoptr(ChartaResource) created = NULL;

  created = charta_store_create (f->store, input, NULL, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "Patient.gender"));
  g_assert_nonnull (strstr (error->message, "Patient.birthDate"));
  g_assert_null (created);
  g_assert_cmpint (charta_test_store_count (f->store, "Patient"), ==, 0);
}

/* ---- provenance ------------------------------------------------------------------------------ */

static void
test_provenance_change (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaChange) change = charta_change_new ();
  g_autoptr(ChartaChange) nullify = charta_change_new ();
  g_autoptr(ChartaResource) input = charta_test_parse (simple_patient);
  g_autoptr(ChartaResource) created = NULL;
  g_autoptr(ChartaResource) provenance = NULL;
  g_autoptr(ChartaResource) provenance2 = NULL;
  g_autoptr(ChartaResource) amended = NULL;
  g_autoptr(ChartaResource) amended_input = NULL;
  g_autoptr(GPtrArray) all = NULL;
  const char *id;

  charta_change_set_agent (change, "Practitioner/him-7", "Robin Clerk");
  charta_change_set_reason (change, NULL, "PATADMIN", "merged a duplicate chart");
  charta_change_set_activity (change, NULL, "amend");
  g_assert_cmpstr (charta_change_get_agent_reference (change), ==, "Practitioner/him-7");
  g_assert_cmpstr (charta_change_get_agent_display (change), ==, "Robin Clerk");
  g_assert_cmpstr (charta_change_get_reason_code (change), ==, "PATADMIN");
  g_assert_cmpstr (charta_change_get_reason_text (change), ==, "merged a duplicate chart");
  g_assert_cmpstr (charta_change_get_activity_code (change), ==, "amend");

  created = charta_store_create (f->store, input, change, &error);
  g_assert_no_error (error);
  id = charta_resource_get_id (created);
  provenance = assert_one_provenance (f->store, "Patient", id, 1);
  g_assert_cmpstr (json_string_at (provenance, "agent[0].who.reference"), ==,
                   "Practitioner/him-7");
  g_assert_cmpstr (json_string_at (provenance, "agent[0].who.display"), ==, "Robin Clerk");
  g_assert_cmpstr (json_string_at (provenance, "reason[0].coding[0].code"), ==, "PATADMIN");
  g_assert_cmpstr (json_string_at (provenance, "reason[0].coding[0].system"), ==,
                   "http://terminology.hl7.org/CodeSystem/v3-ActReason");
  g_assert_cmpstr (json_string_at (provenance, "reason[0].text"), ==,
                   "merged a duplicate chart");
  g_assert_cmpstr (json_string_at (provenance, "activity.coding[0].code"), ==, "amend");
  g_assert_cmpstr (json_string_at (provenance, "activity.coding[0].system"), ==,
                   "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle");
  g_assert_cmpstr (json_string_at (provenance, "recorded"), ==,
                   charta_resource_get_last_updated (created));

  /* NULLIFY is a v3 DataOperation code. */
  charta_change_set_activity (nullify, NULL, "NULLIFY");
  amended_input = patient_with (id, "\"active\":false");
  amended = charta_store_update (f->store, amended_input, 1, nullify, NULL, &error);
  g_assert_no_error (error);
  provenance2 = assert_one_provenance (f->store, "Patient", id, 2);
  g_assert_cmpstr (json_string_at (provenance2, "activity.coding[0].system"), ==,
                   "http://terminology.hl7.org/CodeSystem/v3-DataOperation");
  g_assert_cmpstr (json_string_at (provenance2, "activity.coding[0].code"), ==, "NULLIFY");
  /* A change without an agent names the default agent. */
  g_assert_cmpstr (json_string_at (provenance2, "agent[0].who.display"), ==, "Charta");

  all = charta_store_list_provenance (f->store, "Patient", id, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);
  /* Newest first. */
  g_assert_cmpstr (json_string_at (g_ptr_array_index (all, 0), "target[0].reference"), ==,
                   json_string_at (provenance2, "target[0].reference"));
}

static void
test_default_agent (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) first = create_simple (f->store);
  g_autoptr(ChartaResource) second = NULL;
  g_autoptr(ChartaResource) p1 = NULL;
  g_autoptr(ChartaResource) p2 = NULL;

  p1 = assert_one_provenance (f->store, "Patient", charta_resource_get_id (first), 1);
  g_assert_cmpstr (json_string_at (p1, "agent[0].who.display"), ==, "Charta");
  g_assert_null (json_string_at (p1, "agent[0].who.reference"));
  g_assert_cmpstr (json_string_at (p1, "activity.coding[0].code"), ==, "CREATE");
  g_assert_null (json_string_at (p1, "reason[0].text"));

  charta_store_set_default_agent (f->store, "Device/importer", "Nightly import");
  second = create_simple (f->store);
  p2 = assert_one_provenance (f->store, "Patient", charta_resource_get_id (second), 1);
  g_assert_cmpstr (json_string_at (p2, "agent[0].who.reference"), ==, "Device/importer");
  g_assert_cmpstr (json_string_at (p2, "agent[0].who.display"), ==, "Nightly import");
  (void) error;
}

static void
test_provenance_has_none (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) patient = create_simple (f->store);
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) of_provenance = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(ChartaResource) own = NULL;
  g_autoptr(ChartaResource) own_input = NULL;
  g_autofree char *json = NULL;
  ChartaResource *provenance;

  list = charta_store_list_provenance (f->store, "Patient", charta_resource_get_id (patient), 1,
                                       &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 1);
  provenance = g_ptr_array_index (list, 0);

  /* The store's Provenance is a stored resource: readable, with history, without its own. */
  own = charta_store_read (f->store, "Provenance", charta_resource_get_id (provenance), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_version_id (own), ==, "1");
  of_provenance = charta_store_list_provenance (f->store, "Provenance",
                                                charta_resource_get_id (provenance), 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (of_provenance->len, ==, 0);
  history = charta_store_history (f->store, "Provenance", NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (history->len, ==, 1);

  /* A Provenance written by a client gets none either. */
  json = g_strdup_printf ("{\"resourceType\":\"Provenance\",\"target\":[{\"reference\":\"Patient/%s\"}],"
                          "\"recorded\":\"2020-01-01T00:00:00Z\","
                          "\"agent\":[{\"who\":{\"display\":\"someone\"}}]}",
                          charta_resource_get_id (patient));
  own_input = charta_test_parse (json);
  g_clear_pointer (&own, charta_resource_unref);
  own = charta_store_create (f->store, own_input, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (charta_test_store_count (f->store, "Provenance"), ==, 2);
  g_clear_pointer (&of_provenance, g_ptr_array_unref);
  of_provenance = charta_store_list_provenance (f->store, "Provenance",
                                                charta_resource_get_id (own), 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (of_provenance->len, ==, 0);
  /* It targets the patient (no version): listed for the resource, not for version 1. */
  g_clear_pointer (&list, g_ptr_array_unref);
  list = charta_store_list_provenance (f->store, "Patient", charta_resource_get_id (patient), 0,
                                       &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
}

/* ---- transactions ---------------------------------------------------------------------------- */

static void
assert_no_urn (ChartaStore *store)
{
  g_autoptr(GError) error = NULL;
  ChartaHistoryOptions options = { .count = 100 };
  g_autofree char *cursor = NULL;

  do
    {
      g_autoptr(GPtrArray) page = NULL;
      g_autofree char *next = NULL;

      options.cursor = cursor;
      page = charta_store_history (store, NULL, NULL, &options, &next, &error);
      g_assert_no_error (error);
      for (unsigned i = 0; i < page->len; i++)
        {
          ChartaHistoryEntry *entry = g_ptr_array_index (page, i);
          g_autofree char *json = NULL;

          if (entry->resource == NULL)
            continue;
          json = charta_resource_to_json (entry->resource, FALSE, NULL);
          g_assert_null (strstr (json, "\"urn:uuid:"));
        }
      g_free (cursor);
      cursor = g_steal_pointer (&next);
    }
  while (cursor != NULL);
}

static void
test_transaction_urns (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) patient = charta_test_parse (simple_patient);
  g_autoptr(ChartaResource) practitioner = charta_test_parse (
    "{\"resourceType\":\"Practitioner\",\"id\":\"dr-who\",\"name\":[{\"family\":\"Who\"}]}");
  g_autoptr(ChartaResource) observation = charta_test_parse (
    "{\"resourceType\":\"Observation\",\"status\":\"final\","
    "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\"}]},"
    "\"subject\":{\"reference\":\"urn:uuid:11111111-1111-4111-8111-111111111111\"},"
    "\"performer\":[{\"reference\":\"urn:uuid:22222222-2222-4222-8222-222222222222\"},"
    "{\"reference\":\"Organization/elsewhere\"}],"
    "\"valueQuantity\":{\"value\":120.50,\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\","
    "\"code\":\"mm[Hg]\"}}");
  g_autoptr(ChartaResource) encounter = charta_test_parse (
    "{\"resourceType\":\"Encounter\",\"status\":\"finished\","
    "\"class\":{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":\"AMB\"},"
    "\"subject\":{\"reference\":\"urn:uuid:11111111-1111-4111-8111-111111111111\"},"
    "\"participant\":[{\"individual\":{\"reference\":\"urn:uuid:22222222-2222-4222-8222-222222222222\"}}]}");
  ChartaOperation ops[4] = {
    { .method = CHARTA_METHOD_CREATE, .resource = observation },
    { .method = CHARTA_METHOD_CREATE, .resource = patient,
      .full_url = "urn:uuid:11111111-1111-4111-8111-111111111111" },
    { .method = CHARTA_METHOD_UPDATE, .resource = practitioner,
      .full_url = "urn:uuid:22222222-2222-4222-8222-222222222222" },
    { .method = CHARTA_METHOD_CREATE, .resource = encounter },
  };
  g_autoptr(GPtrArray) results = NULL;
  g_autofree char *patient_ref = NULL;
  g_autoptr(ChartaResource) stored_obs = NULL;
  ChartaOperationResult *r;

  results = charta_store_transaction (f->store, ops, G_N_ELEMENTS (ops), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 4);
  r = g_ptr_array_index (results, 1);
  g_assert_cmpstr (r->type, ==, "Patient");
  g_assert_true (r->created);
  g_assert_cmpint (r->version, ==, 1);
  patient_ref = g_strconcat ("Patient/", r->id, NULL);
  r = g_ptr_array_index (results, 2);
  g_assert_cmpstr (r->id, ==, "dr-who");
  g_assert_true (r->created);

  r = g_ptr_array_index (results, 0);
  stored_obs = charta_store_read (f->store, "Observation", r->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_string_at (stored_obs, "subject.reference"), ==, patient_ref);
  g_assert_cmpstr (json_string_at (stored_obs, "performer[0].reference"), ==,
                   "Practitioner/dr-who");
  g_assert_cmpstr (json_string_at (stored_obs, "performer[1].reference"), ==,
                   "Organization/elsewhere");
  {
    /* Number texts survive. */
    g_autofree char *json = charta_resource_to_json (stored_obs, FALSE, NULL);

    g_assert_nonnull (strstr (json, "\"value\":120.50"));
  }
  r = g_ptr_array_index (results, 3);
  {
    g_autoptr(ChartaResource) stored_enc = charta_store_read (f->store, "Encounter", r->id,
                                                              &error);

    g_assert_no_error (error);
    g_assert_cmpstr (json_string_at (stored_enc, "subject.reference"), ==, patient_ref);
    g_assert_cmpstr (json_string_at (stored_enc, "participant[0].individual.reference"), ==,
                     "Practitioner/dr-who");
  }
  /* Each entry has its own Provenance. */
  for (unsigned i = 0; i < results->len; i++)
    {
      r = g_ptr_array_index (results, i);
      g_autoptr(ChartaResource) p = assert_one_provenance (f->store, r->type, r->id, 1);
    }
  assert_no_urn (f->store);
}

/* Everything a failed transaction must leave as it was. */
typedef struct
{
  GHashTable *counts;
  unsigned history;
} Snapshot;

static void
snapshot_take (ChartaStore *store,
               Snapshot    *s)
{
  g_autoptr(GError) error = NULL;

  s->counts = charta_store_count_by_type (store, &error);
  g_assert_no_error (error);
  s->history = history_length (store, NULL, NULL);
}

static void
snapshot_assert_same (ChartaStore *store,
                      Snapshot    *s)
{
  Snapshot now;
  GHashTableIter iter;
  gpointer key, value;

  snapshot_take (store, &now);
  g_assert_cmpuint (now.history, ==, s->history);
  g_assert_cmpuint (g_hash_table_size (now.counts), ==, g_hash_table_size (s->counts));
  g_hash_table_iter_init (&iter, s->counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      int64_t *other = g_hash_table_lookup (now.counts, key);

      g_assert_nonnull (other);
      g_assert_cmpint (*other, ==, *(int64_t *) value);
    }
  g_hash_table_unref (now.counts);
  g_hash_table_unref (s->counts);
}

static void
test_transaction_unresolved (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) before = create_simple (f->store);
  g_autoptr(ChartaResource) patient = charta_test_parse (simple_patient);
  g_autoptr(ChartaResource) observation = charta_test_parse (
    "{\"resourceType\":\"Observation\",\"status\":\"final\","
    "\"code\":{\"text\":\"weight\"},"
    "\"subject\":{\"reference\":\"urn:uuid:99999999-9999-4999-8999-999999999999\"}}");
  ChartaOperation ops[2] = {
    { .method = CHARTA_METHOD_CREATE, .resource = patient,
      .full_url = "urn:uuid:11111111-1111-4111-8111-111111111111" },
    { .method = CHARTA_METHOD_CREATE, .resource = observation,
      .full_url = "urn:uuid:33333333-3333-4333-8333-333333333333" },
  };
  g_autoptr(GPtrArray) results = NULL;
  Snapshot snapshot;

  snapshot_take (f->store, &snapshot);
  results = charta_store_transaction (f->store, ops, G_N_ELEMENTS (ops), NULL, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_UNRESOLVED);
  g_assert_null (results);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "entry 1 (the 2nd"));
  g_assert_nonnull (strstr (error->message, "urn:uuid:33333333-3333-4333-8333-333333333333"));
  g_assert_nonnull (strstr (error->message, "Observation.subject.reference"));
  g_assert_nonnull (strstr (error->message, "urn:uuid:99999999-9999-4999-8999-999999999999"));
  snapshot_assert_same (f->store, &snapshot);
}

/* An UPDATE marked as a patch is recorded as the PATCH it was asked as; PATCH itself is no
 * operation's method (it is refused, nothing written). */
static void
test_transaction_patch (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) v1 = charta_test_parse (
    "{\"resourceType\":\"Patient\",\"id\":\"pt\",\"active\":true}");
  g_autoptr(ChartaResource) v2 = charta_test_parse (
    "{\"resourceType\":\"Patient\",\"id\":\"pt\",\"active\":false}");
  g_autoptr(ChartaResource) stored = charta_store_update (f->store, v1, 0, NULL, NULL, &error);
  ChartaOperation as_patch = { .method = CHARTA_METHOD_PATCH, .resource = v2 };
  ChartaOperation update = { .method = CHARTA_METHOD_UPDATE, .resource = v2,
                             .expected_version = 1, .patch = TRUE };
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();

  g_assert_no_error (error);
  results = charta_store_transaction (f->store, &as_patch, 1, NULL, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
  g_assert_null (results);
  g_clear_error (&error);
  g_assert_cmpuint (history_length (f->store, "Patient", "pt"), ==, 1);

  results = charta_store_transaction (f->store, &update, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (((ChartaOperationResult *) results->pdata[0])->version, ==, 2);
  history = charta_store_history (f->store, "Patient", "pt", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (history->len, ==, 2);
  g_assert_cmpint (((ChartaHistoryEntry *) history->pdata[0])->method, ==, CHARTA_METHOD_UPDATE);
  g_assert_cmpint (((ChartaHistoryEntry *) history->pdata[0])->request, ==, CHARTA_METHOD_PATCH);
  g_assert_cmpint (((ChartaHistoryEntry *) history->pdata[1])->request, ==, CHARTA_METHOD_UPDATE);
  g_assert_true (charta_store_check (f->store, outcome, &error));
  g_assert_no_error (error);
}

static void
test_transaction_invalid_500th (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) before = create_simple (f->store);
  g_autoptr(ChartaResource) good = charta_test_parse (simple_patient);
  g_autoptr(ChartaResource) bad =
    charta_test_parse ("{\"resourceType\":\"Patient\",\"gender\":\"often\"}");
  g_autoptr(GPtrArray) results = NULL;
  g_autofree ChartaOperation *ops = g_new0 (ChartaOperation, 600);
  Snapshot snapshot;

  for (unsigned i = 0; i < 600; i++)
    {
      ops[i].method = CHARTA_METHOD_CREATE;
      ops[i].resource = i == 499 ? bad : good;
    }
  snapshot_take (f->store, &snapshot);
  results = charta_store_transaction (f->store, ops, 600, NULL, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "transaction entry 499 (the 500th)"));
  g_assert_nonnull (strstr (error->message, "Patient.gender"));
  g_assert_null (results);
  snapshot_assert_same (f->store, &snapshot);
  g_clear_error (&error);

  /* The same transaction without the bad entry goes through whole. */
  ops[499].resource = good;
  results = charta_store_transaction (f->store, ops, 600, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 600);
  g_assert_cmpint (charta_test_store_count (f->store, "Patient"), ==, 601);
  /* One Provenance for the earlier write, one for the whole transaction, targeting each of
   * its 600 versions. */
  g_assert_cmpint (charta_test_store_count (f->store, "Provenance"), ==, 2);
  {
    ChartaOperationResult *last = g_ptr_array_index (results, 599);
    const char *id = last->id;
    g_autoptr(ChartaResource) provenance = charta_test_store_provenance_of (f->store, "Patient",
                                                                           id, 1);
    JsonObject *root = charta_resource_get_object (provenance);

    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "target")),
                      ==, 600);
  }
}

/* A transaction that fails in the writer (a conflict on its last entry) undoes its earlier
 * entries, while a request in the same group commit goes through. */
static void
test_transaction_conflict_rolls_back (Fixture       *f,
                                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) existing = create_simple (f->store);
  g_autoptr(ChartaResource) other = charta_test_parse (simple_patient);
  g_autoptr(ChartaResource) change = patient_with (charta_resource_get_id (existing),
                                                   "\"active\":false");
  ChartaOperation ops[3] = {
    { .method = CHARTA_METHOD_CREATE, .resource = other },
    { .method = CHARTA_METHOD_DELETE, .type = "Patient", .id = "missing-one" },
    { .method = CHARTA_METHOD_UPDATE, .resource = change, .expected_version = 5 },
  };
  g_autoptr(GPtrArray) results = NULL;
  Snapshot snapshot;

  snapshot_take (f->store, &snapshot);
  results = charta_store_transaction (f->store, ops, 3, NULL, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CONFLICT);
  g_assert_true (g_str_has_prefix (error->message, "transaction entry 2 (the 3rd)"));
  snapshot_assert_same (f->store, &snapshot);

  g_clear_error (&error);
  ops[2].expected_version = 1;
  results = charta_store_transaction (f->store, ops, 3, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (((ChartaOperationResult *) g_ptr_array_index (results, 1))->version, ==, 0);
  g_assert_null (((ChartaOperationResult *) g_ptr_array_index (results, 1))->resource);
  g_assert_cmpint (((ChartaOperationResult *) g_ptr_array_index (results, 2))->version, ==, 2);
}

/* ---- history ------------------------------------------------------------------------------- */

static void
test_history_paging (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  ChartaHistoryOptions options = { .count = 7 };
  g_autofree char *cursor = NULL;
  unsigned n_pages = 0, n_entries = 0;
  int64_t last_seen = G_MAXINT64;

  for (unsigned i = 0; i < 30; i++)
    {
      g_autoptr(ChartaResource) p = create_simple (f->store);

      g_ptr_array_add (ids, g_strdup (charta_resource_get_id (p)));
    }

  do
    {
      g_autoptr(GPtrArray) page = NULL;
      g_autofree char *next = NULL;

      options.cursor = cursor;
      page = charta_store_history (f->store, "Patient", NULL, &options, &next, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (page->len, <=, 7);
      for (unsigned i = 0; i < page->len; i++)
        {
          ChartaHistoryEntry *e = g_ptr_array_index (page, i);
          g_autofree char *key = g_strdup_printf ("%s/%" G_GINT64_FORMAT, e->id, e->version);

          g_assert_false (g_hash_table_contains (seen, key));
          g_hash_table_add (seen, g_steal_pointer (&key));
          g_assert_cmpint (e->last_updated, <, last_seen);
          last_seen = e->last_updated;
          n_entries++;
        }
      /* Writes between pages: new versions must not shift later pages. */
      for (unsigned k = 0; k < 2; k++)
        {
          g_autoptr(ChartaResource) p = create_simple (f->store);
          g_autoptr(ChartaResource) upd = patient_with (g_ptr_array_index (ids, n_pages % 30),
                                                        n_pages % 2 ? "\"active\":true"
                                                                    : "\"active\":false");
          g_autoptr(ChartaResource) u = charta_store_update (f->store, upd, 0, NULL, NULL, &error);

          g_assert_no_error (error);
        }
      n_pages++;
      g_free (cursor);
      cursor = g_steal_pointer (&next);
    }
  while (cursor != NULL);
  g_assert_cmpuint (n_entries, ==, 30);
  g_assert_cmpuint (n_pages, ==, 5);
  for (unsigned i = 0; i < 30; i++)
    {
      g_autofree char *key = g_strdup_printf ("%s/1", (char *) g_ptr_array_index (ids, i));

      g_assert_true (g_hash_table_contains (seen, key));
    }

  /* A cursor that is not one. */
  options.cursor = "h-not-a-cursor";
  g_assert_null (charta_store_history (f->store, NULL, NULL, &options, NULL, &error));
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID);
  g_clear_error (&error);
  /* An unknown resource. */
  g_assert_null (charta_store_history (f->store, "Patient", "unknown", NULL, NULL, &error));
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND);
}

static void
test_history_since_at (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) a1 = create_simple (f->store);
  const char *id = charta_resource_get_id (a1);
  g_autoptr(ChartaResource) a2_input = patient_with (id, "\"active\":false");
  g_autoptr(ChartaResource) a2 = NULL;
  g_autoptr(ChartaResource) b1 = NULL;
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GPtrArray) whole = NULL;
  ChartaHistoryOptions options = { 0 };
  int64_t t1, t2, t3;
  ChartaHistoryEntry *e;

  whole = charta_store_history (f->store, "Patient", id, NULL, NULL, &error);
  g_assert_no_error (error);
  t1 = ((ChartaHistoryEntry *) g_ptr_array_index (whole, 0))->last_updated;
  g_clear_pointer (&whole, g_ptr_array_unref);
  g_usleep (2000);
  a2 = charta_store_update (f->store, a2_input, 1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_usleep (2000);
  b1 = create_simple (f->store);
  whole = charta_store_history (f->store, "Patient", NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (whole->len, ==, 3);
  t3 = ((ChartaHistoryEntry *) g_ptr_array_index (whole, 0))->last_updated;
  t2 = ((ChartaHistoryEntry *) g_ptr_array_index (whole, 1))->last_updated;
  g_assert_cmpint (t1, <, t2);
  g_assert_cmpint (t2, <, t3);

  /* since: lastUpdated >= since. */
  options.since = t2;
  page = charta_store_history (f->store, "Patient", NULL, &options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 2);
  g_clear_pointer (&page, g_ptr_array_unref);
  options.since = t2 + 1;
  page = charta_store_history (f->store, NULL, NULL, &options, NULL, &error);
  g_assert_no_error (error);
  /* Newest first: b1's Provenance, b1, and a2's Provenance (written just after a2). */
  g_assert_cmpuint (page->len, ==, 3);
  g_assert_cmpstr (((ChartaHistoryEntry *) g_ptr_array_index (page, 0))->type, ==, "Provenance");
  g_assert_cmpstr (((ChartaHistoryEntry *) g_ptr_array_index (page, 1))->id, ==,
                   charta_resource_get_id (b1));
  g_assert_cmpstr (((ChartaHistoryEntry *) g_ptr_array_index (page, 2))->type, ==, "Provenance");
  g_clear_pointer (&page, g_ptr_array_unref);

  /* at: the versions current at that instant. */
  options.since = 0;
  options.at = t2 - 1;
  page = charta_store_history (f->store, "Patient", NULL, &options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 1);
  e = g_ptr_array_index (page, 0);
  g_assert_cmpstr (e->id, ==, id);
  g_assert_cmpint (e->version, ==, 1);
  g_clear_pointer (&page, g_ptr_array_unref);
  options.at = t3;
  page = charta_store_history (f->store, "Patient", NULL, &options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 2);
  e = g_ptr_array_index (page, 1);
  g_assert_cmpint (e->version, ==, 2);
  g_clear_pointer (&page, g_ptr_array_unref);
  options.at = t1 - 1;
  page = charta_store_history (f->store, "Patient", NULL, &options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 0);
  g_clear_pointer (&page, g_ptr_array_unref);

  /* Every write of the store has its own instant, Provenance included: the whole history is
   * strictly ordered by lastUpdated, and each Provenance, written just after the version it
   * records, has that version's instant as its recorded. */
  page = charta_store_history (f->store, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 6);
  for (unsigned i = 1; i < page->len; i++)
    g_assert_cmpint (((ChartaHistoryEntry *) g_ptr_array_index (page, i))->last_updated, <,
                     ((ChartaHistoryEntry *) g_ptr_array_index (page, i - 1))->last_updated);
  for (unsigned i = 0; i < page->len; i += 2)
    {
      ChartaHistoryEntry *provenance = g_ptr_array_index (page, i);
      ChartaHistoryEntry *version = g_ptr_array_index (page, i + 1);

      g_assert_cmpstr (version->type, ==, "Patient");
      g_assert_cmpstr (provenance->type, ==, "Provenance");
      g_assert_cmpstr (json_string_at (provenance->resource, "recorded"), ==,
                       charta_resource_get_last_updated (version->resource));
    }
}

/* The entries of a history call as text, in order: "id/_history/n" ("Provenance>" and the
 * version it targets for a Provenance), joined with ", ". */
static char *
history_text (ChartaStore                *store,
              const char                 *type,
              const char                 *id,
              const ChartaHistoryOptions *options)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = charta_store_history (store, type, id, options, NULL, &error);
  GString *out = g_string_new (NULL);

  g_assert_no_error (error);
  for (unsigned i = 0; i < entries->len; i++)
    {
      ChartaHistoryEntry *e = g_ptr_array_index (entries, i);

      if (i > 0)
        g_string_append (out, ", ");
      if (strcmp (e->type, "Provenance") == 0)
        g_string_append_printf (out, "Provenance>%s",
                                json_string_at (e->resource, "target[0].reference"));
      else
        g_string_append_printf (out, "%s/_history/%" G_GINT64_FORMAT, e->id, e->version);
    }
  return g_string_free (out, FALSE);
}

#define assert_history_text(store, type, id, options, expected) \
  G_STMT_START { \
    g_autofree char *text_ = history_text ((store), (type), (id), (options)); \
    g_assert_cmpstr (text_, ==, (expected)); \
  } G_STMT_END

/* _at as a range [at, at_high], to the microsecond.  The writes, in this order, each with its
 * Provenance just after it (lastUpdated is strictly increasing over the store):
 *
 *   t0 other v1, t1 one v1, t2 one v2, t3 one v3 (a delete)
 *
 * A version is current from its lastUpdated until the next one's (exclusive), so, by hand:
 * [t2, t3-1] holds one v2 alone (v1 ended at t2, v3 began after t3-1); one microsecond earlier
 * v1 too; one later v3 too; the instant t3 (at_high 0, or below at) v3 alone, as before. */
static void
test_history_at_range (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) other_input = patient_with ("at-other", "\"active\":true");
  g_autoptr(ChartaResource) one_v1_input = patient_with ("at-one", "\"active\":true");
  g_autoptr(ChartaResource) one_v2_input = patient_with ("at-one", "\"active\":false");
  g_autoptr(ChartaResource) one_v4_input = patient_with ("at-one", "\"gender\":\"other\"");
  g_autoptr(ChartaResource) other = NULL;
  g_autoptr(ChartaResource) one_v1 = NULL;
  g_autoptr(ChartaResource) one_v2 = NULL;
  g_autoptr(ChartaResource) one_v4 = NULL;
  g_autoptr(GPtrArray) whole = NULL;
  ChartaHistoryOptions options = { 0 };
  int64_t t0, t1, t2, t3;

  other = charta_store_update (f->store, other_input, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  one_v1 = charta_store_update (f->store, one_v1_input, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  one_v2 = charta_store_update (f->store, one_v2_input, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (charta_store_delete (f->store, "Patient", "at-one", 0, NULL, &error), ==, 3);
  g_assert_no_error (error);

  whole = charta_store_history (f->store, "Patient", NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (whole->len, ==, 4);
  t3 = ((ChartaHistoryEntry *) g_ptr_array_index (whole, 0))->last_updated;
  t2 = ((ChartaHistoryEntry *) g_ptr_array_index (whole, 1))->last_updated;
  t1 = ((ChartaHistoryEntry *) g_ptr_array_index (whole, 2))->last_updated;
  t0 = ((ChartaHistoryEntry *) g_ptr_array_index (whole, 3))->last_updated;
  g_assert_cmpint (t0, <, t1);
  g_assert_cmpint (t1, <, t2);
  g_assert_cmpint (t2, <, t3);

  /* instance */
  options = (ChartaHistoryOptions) { .at = t2, .at_high = t3 - 1 };
  assert_history_text (f->store, "Patient", "at-one", &options, "at-one/_history/2");
  options = (ChartaHistoryOptions) { .at = t2 - 1, .at_high = t3 - 1 };
  assert_history_text (f->store, "Patient", "at-one", &options,
                       "at-one/_history/2, at-one/_history/1");
  options = (ChartaHistoryOptions) { .at = t2, .at_high = t3 };
  assert_history_text (f->store, "Patient", "at-one", &options,
                       "at-one/_history/3, at-one/_history/2");
  options = (ChartaHistoryOptions) { .at = t1 - 1, .at_high = t1 - 1 };
  assert_history_text (f->store, "Patient", "at-one", &options, "");
  options = (ChartaHistoryOptions) { .at = t1 - 1000, .at_high = t1 };
  assert_history_text (f->store, "Patient", "at-one", &options, "at-one/_history/1");
  /* an instant, as before at_high: at_high 0, or below at */
  options = (ChartaHistoryOptions) { .at = t3 };
  assert_history_text (f->store, "Patient", "at-one", &options, "at-one/_history/3");
  options = (ChartaHistoryOptions) { .at = t2 - 1 };
  assert_history_text (f->store, "Patient", "at-one", &options, "at-one/_history/1");
  options = (ChartaHistoryOptions) { .at = t3 - 1, .at_high = t1 };
  assert_history_text (f->store, "Patient", "at-one", &options, "at-one/_history/2");
  /* the deletion stays current: a range long after it lists it, and only it */
  options = (ChartaHistoryOptions) { .at = t3 + 1000000, .at_high = G_MAXINT64 };
  assert_history_text (f->store, "Patient", "at-one", &options, "at-one/_history/3");
  /* with since: lastUpdated >= since as well */
  options = (ChartaHistoryOptions) { .since = t2, .at = t1, .at_high = t3 };
  assert_history_text (f->store, "Patient", "at-one", &options,
                       "at-one/_history/3, at-one/_history/2");

  /* type: other v1 is current from t0 on */
  options = (ChartaHistoryOptions) { .at = t2, .at_high = t3 - 1 };
  assert_history_text (f->store, "Patient", NULL, &options,
                       "at-one/_history/2, at-other/_history/1");
  /* store: and the Provenance made up to then (each written just after its version, before
   * the next write: P(one/2) before t3) */
  assert_history_text (f->store, NULL, NULL, &options,
                       "Provenance>Patient/at-one/_history/2, at-one/_history/2, "
                       "Provenance>Patient/at-one/_history/1, "
                       "Provenance>Patient/at-other/_history/1, at-other/_history/1");

  /* paging, one a page, with a write between pages (one v4, after t3: not in the range, and
   * it leaves v3 current at the range's start) */
  {
    g_autoptr(GString) seen = g_string_new (NULL);
    g_autofree char *cursor = NULL;
    unsigned n_pages = 0;

    options = (ChartaHistoryOptions) { .at = t1 - 1, .at_high = t3, .count = 1 };
    do
      {
        g_autoptr(GPtrArray) page = NULL;
        g_autofree char *next = NULL;

        options.cursor = cursor;
        page = charta_store_history (f->store, "Patient", "at-one", &options, &next, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (page->len, ==, 1);
        g_string_append_printf (seen, "%s%" G_GINT64_FORMAT, seen->len > 0 ? " " : "",
                                ((ChartaHistoryEntry *) g_ptr_array_index (page, 0))->version);
        if (n_pages++ == 0)
          {
            one_v4 = charta_store_update (f->store, one_v4_input, 0, NULL, NULL, &error);
            g_assert_no_error (error);
            g_assert_cmpstr (charta_resource_get_version_id (one_v4), ==, "4");
          }
        g_free (cursor);
        cursor = g_steal_pointer (&next);
      }
    while (cursor != NULL && n_pages < 10);
    g_assert_cmpstr (seen->str, ==, "3 2 1");
  }
}

/* What each version's request was: the store's own id (create), the caller's (update, also
 * when it creates), a delete; a Provenance is a create. */
static void
test_history_request (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) posted = create_simple (f->store);
  g_autoptr(ChartaResource) put_v1_input = patient_with ("req-put", "\"active\":true");
  g_autoptr(ChartaResource) put_v2_input = patient_with ("req-put", "\"active\":false");
  g_autoptr(ChartaResource) put_v4_input = patient_with ("req-put", "\"gender\":\"other\"");
  g_autoptr(ChartaResource) tx_new = charta_test_parse (simple_patient);
  g_autoptr(ChartaResource) tx_put = patient_with ("req-tx", "\"active\":true");
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  ChartaOperation ops[2] = {
    { .method = CHARTA_METHOD_CREATE, .resource = tx_new },
    { .method = CHARTA_METHOD_UPDATE, .resource = tx_put },
  };
  /* newest first: version, method (what it did), request (what was asked) */
  static const struct
  {
    int64_t      version;
    ChartaMethod method;
    ChartaMethod request;
  } put_expected[] = {
    { 4, CHARTA_METHOD_CREATE, CHARTA_METHOD_UPDATE },  /* re-created by an update */
    { 3, CHARTA_METHOD_DELETE, CHARTA_METHOD_DELETE },
    { 2, CHARTA_METHOD_UPDATE, CHARTA_METHOD_UPDATE },
    { 1, CHARTA_METHOD_CREATE, CHARTA_METHOD_UPDATE },  /* update-as-create */
  };

  stored = charta_store_update (f->store, put_v1_input, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&stored, charta_resource_unref);
  stored = charta_store_update (f->store, put_v2_input, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&stored, charta_resource_unref);
  g_assert_cmpint (charta_store_delete (f->store, "Patient", "req-put", 0, NULL, &error), ==, 3);
  g_assert_no_error (error);
  stored = charta_store_update (f->store, put_v4_input, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  results = charta_store_transaction (f->store, ops, G_N_ELEMENTS (ops), NULL, &error);
  g_assert_no_error (error);

  history = charta_store_history (f->store, "Patient", "req-put", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (history->len, ==, G_N_ELEMENTS (put_expected));
  for (unsigned i = 0; i < history->len; i++)
    {
      ChartaHistoryEntry *e = g_ptr_array_index (history, i);

      g_assert_cmpint (e->version, ==, put_expected[i].version);
      g_assert_cmpint (e->method, ==, put_expected[i].method);
      g_assert_cmpint (e->request, ==, put_expected[i].request);
    }
  g_clear_pointer (&history, g_ptr_array_unref);

  /* the store's id: a create asked and done */
  history = charta_store_history (f->store, "Patient", charta_resource_get_id (posted), NULL,
                                  NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (history->len, ==, 1);
  g_assert_cmpint (((ChartaHistoryEntry *) history->pdata[0])->method, ==, CHARTA_METHOD_CREATE);
  g_assert_cmpint (((ChartaHistoryEntry *) history->pdata[0])->request, ==, CHARTA_METHOD_CREATE);
  g_clear_pointer (&history, g_ptr_array_unref);

  /* in a transaction, each operation's own */
  for (unsigned k = 0; k < 2; k++)
    {
      ChartaOperationResult *result = g_ptr_array_index (results, k);

      history = charta_store_history (f->store, "Patient", result->id, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (history->len, ==, 1);
      g_assert_cmpint (((ChartaHistoryEntry *) history->pdata[0])->method, ==,
                       CHARTA_METHOD_CREATE);
      g_assert_cmpint (((ChartaHistoryEntry *) history->pdata[0])->request, ==,
                       k == 0 ? CHARTA_METHOD_CREATE : CHARTA_METHOD_UPDATE);
      g_clear_pointer (&history, g_ptr_array_unref);
    }

  /* Provenance: made by the store, with its own ids */
  history = charta_store_history (f->store, "Provenance", NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (history->len, ==, 6);
  for (unsigned i = 0; i < history->len; i++)
    g_assert_cmpint (((ChartaHistoryEntry *) history->pdata[i])->request, ==,
                     CHARTA_METHOD_CREATE);

  g_assert_true (charta_store_check (f->store, outcome, &error));
  g_assert_no_error (error);
}

/* A store of schema 3 (before versions recorded their request, 0004): its old versions keep
 * what history said of them (a create is a create request), new ones record theirs; `charta
 * check` holds the recorded request to what the version did. */
static void
test_history_request_migration (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) old_v1_input = patient_with ("old-put", "\"active\":true");
  g_autoptr(ChartaResource) old_v2_input = patient_with ("old-put", "\"active\":false");
  g_autoptr(ChartaResource) new_input = patient_with ("new-put", "\"active\":true");
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(ChartaOutcome) good = charta_outcome_new ();
  g_autoptr(ChartaOutcome) bad = charta_outcome_new ();
  ChartaStore *reopened;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gboolean found = FALSE;

  stored = charta_store_update (f->store, old_v1_input, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&stored, charta_resource_unref);
  stored = charta_store_update (f->store, old_v2_input, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&stored, charta_resource_unref);
  g_clear_object (&f->store);

  /* back to schema 3, as SQLite itself: no request column (and none of 0005's content) */
  g_assert_cmpint (sqlite3_open (f->store_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "DROP INDEX version_by_content;"
                                     " ALTER TABLE version DROP COLUMN content;"
                                     " DROP TABLE content_chunk; DROP TABLE content;"
                                     " ALTER TABLE version DROP COLUMN request;"
                                     " PRAGMA user_version = 3", NULL, NULL, NULL), ==,
                   SQLITE_OK);
  sqlite3_close (db);

  /* read-only, it cannot be upgraded */
  reopened = charta_store_open (f->store_path, CHARTA_STORE_FLAGS_READ_ONLY, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_VERSION);
  g_assert_null (reopened);
  g_clear_error (&error);
  f->store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_NONE);

  stored = charta_store_update (f->store, new_input, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  history = charta_store_history (f->store, "Patient", "old-put", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (history->len, ==, 2);
  g_assert_cmpint (((ChartaHistoryEntry *) history->pdata[0])->request, ==, CHARTA_METHOD_UPDATE);
  /* unknown before 0004: what its method implies, a create */
  g_assert_cmpint (((ChartaHistoryEntry *) history->pdata[1])->method, ==, CHARTA_METHOD_CREATE);
  g_assert_cmpint (((ChartaHistoryEntry *) history->pdata[1])->request, ==, CHARTA_METHOD_CREATE);
  g_clear_pointer (&history, g_ptr_array_unref);
  history = charta_store_history (f->store, "Patient", "new-put", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (((ChartaHistoryEntry *) history->pdata[0])->method, ==, CHARTA_METHOD_CREATE);
  g_assert_cmpint (((ChartaHistoryEntry *) history->pdata[0])->request, ==, CHARTA_METHOD_UPDATE);

  g_assert_true (charta_store_check (f->store, good, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (charta_outcome_get_n_issues (good), ==, 0);

  /* the migrated file: the latest schema (0005, scans' content, came after), old rows NULL */
  g_assert_cmpint (sqlite3_open (f->store_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT (SELECT user_version FROM pragma_user_version),"
                                           " count(*) FROM version WHERE request IS NULL",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 5);
  /* old-put's two versions and their two Provenance */
  g_assert_cmpint (sqlite3_column_int (stmt, 1), ==, 4);
  sqlite3_finalize (stmt);
  /* damage: old-put's update said to be a create request */
  g_assert_cmpint (sqlite3_exec (db, "UPDATE version SET request = 0 WHERE version = 2 AND rid ="
                                     " (SELECT rid FROM resource WHERE id = 'old-put')",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_changes (db), ==, 1);
  sqlite3_close (db);

  g_assert_false (charta_store_check (f->store, bad, &error));
  g_assert_no_error (error);
  for (unsigned i = 0; i < charta_outcome_get_n_issues (bad); i++)
    {
      const ChartaIssue *issue = charta_outcome_get_issue (bad, i);

      g_test_message ("%s", issue->diagnostics);
      if (strstr (issue->diagnostics, "Patient/old-put") != NULL
          && strstr (issue->diagnostics, "records a request") != NULL)
        found = TRUE;
    }
  g_assert_true (found);
}

/* ---- files ---------------------------------------------------------------------------------- */

static void
test_reopen (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) created = create_simple (f->store);
  g_autofree char *id = g_strdup (charta_resource_get_id (created));
  g_autofree char *json = charta_resource_to_json (created, FALSE, NULL);
  g_autofree char *read_json = NULL;
  g_autoptr(ChartaResource) read = NULL;
  g_autoptr(ChartaResource) later = NULL;
  g_autoptr(ChartaResource) fails = NULL;
  g_autoptr(ChartaStore) read_only = NULL;

  charta_store_close (f->store);
  /* Closed: every call fails. */
  read = charta_store_read (f->store, "Patient", id, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CLOSED);
  g_clear_error (&error);
  fails = charta_store_create (f->store, created, NULL, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CLOSED);
  g_clear_error (&error);
  g_clear_object (&f->store);

  f->store = charta_store_open (f->store_path, CHARTA_STORE_FLAGS_NONE, &error);
  g_assert_no_error (error);
  read = charta_store_read (f->store, "Patient", id, &error);
  g_assert_no_error (error);
  read_json = charta_resource_to_json (read, FALSE, NULL);
  g_assert_cmpstr (read_json, ==, json);
  /* lastUpdated goes on increasing after a reopen. */
  later = create_simple (f->store);
  g_assert_cmpstr (charta_resource_get_last_updated (later), >,
                   charta_resource_get_last_updated (created));
  g_clear_object (&f->store);

  read_only = charta_store_open (f->store_path, CHARTA_STORE_FLAGS_READ_ONLY, &error);
  g_assert_no_error (error);
  g_clear_pointer (&read, charta_resource_unref);
  read = charta_store_read (read_only, "Patient", id, &error);
  g_assert_no_error (error);
  fails = charta_store_create (read_only, created, NULL, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_READ_ONLY);
  g_assert_null (fails);
  g_clear_error (&error);
  g_assert_cmpint (charta_store_delete (read_only, "Patient", id, 0, NULL, &error), ==, -1);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_READ_ONLY);
  g_clear_error (&error);
  g_assert_cmpint (charta_test_store_count (read_only, "Patient"), ==, 2);
}

static void
test_bad_files (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("charta-store-bad-XXXXXX", &error);
  g_autofree char *garbage = g_build_filename (dir, "garbage.charta", NULL);
  g_autofree char *foreign = g_build_filename (dir, "foreign.sqlite", NULL);
  g_autofree char *newer = g_build_filename (dir, "newer.charta", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.charta", NULL);
  g_autoptr(ChartaStore) store = NULL;
  sqlite3 *db = NULL;
  char junk[8192];

  g_assert_no_error (error);
  for (size_t i = 0; i < sizeof junk; i++)
    junk[i] = (char) (i * 7919 % 251);
  g_file_set_contents (garbage, junk, sizeof junk, &error);
  g_assert_no_error (error);
  store = charta_store_open (garbage, CHARTA_STORE_FLAGS_NONE, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "not a Charta store"));
  g_assert_null (store);
  g_clear_error (&error);
  store = charta_store_open (garbage, CHARTA_STORE_FLAGS_READ_ONLY, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT);
  g_clear_error (&error);

  g_assert_cmpint (sqlite3_open (foreign, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "CREATE TABLE t (x); INSERT INTO t VALUES (1);", NULL, NULL,
                                 NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  store = charta_store_open (foreign, CHARTA_STORE_FLAGS_CREATE, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "another application"));
  g_clear_error (&error);

  store = charta_store_open (newer, CHARTA_STORE_FLAGS_CREATE, &error);
  g_assert_no_error (error);
  g_clear_object (&store);
  g_assert_cmpint (sqlite3_open (newer, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "PRAGMA user_version = 999", NULL, NULL, NULL), ==,
                   SQLITE_OK);
  sqlite3_close (db);
  store = charta_store_open (newer, CHARTA_STORE_FLAGS_NONE, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_VERSION);
  g_assert_nonnull (strstr (error->message, "999"));
  g_clear_error (&error);

  store = charta_store_open (missing, CHARTA_STORE_FLAGS_NONE, &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_IO);
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  charta_test_remove_tree (dir);
}

/* ---- check ------------------------------------------------------------------------------------ */

static void
test_check_damage (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaOutcome) good = charta_outcome_new ();
  g_autoptr(ChartaOutcome) bad = charta_outcome_new ();
  g_autoptr(ChartaResource) created = create_simple (f->store);
  g_autofree char *sql = NULL;
  sqlite3 *db = NULL;
  gboolean found = FALSE;

  g_assert_true (charta_store_check (f->store, good, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (charta_outcome_get_n_issues (good), ==, 0);

  /* Damage one index row of the patient, as SQLite itself. */
  g_assert_cmpint (sqlite3_open (f->store_path, &db), ==, SQLITE_OK);
  sql = g_strdup_printf ("UPDATE idx_string SET norm = 'tampered' WHERE rowid ="
                         " (SELECT x.rowid FROM idx_string x JOIN resource r ON r.rid = x.rid"
                         "  WHERE r.id = '%s' LIMIT 1)", charta_resource_get_id (created));
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_changes (db), ==, 1);
  sqlite3_close (db);

  g_assert_false (charta_store_check (f->store, bad, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (charta_outcome_count_errors (bad), >=, 1);
  for (unsigned i = 0; i < charta_outcome_get_n_issues (bad); i++)
    {
      const ChartaIssue *issue = charta_outcome_get_issue (bad, i);

      g_test_message ("%s", issue->diagnostics);
      if (strstr (issue->diagnostics, charta_resource_get_id (created)) != NULL
          && strstr (issue->diagnostics, "search-index rows differ") != NULL
          && strstr (issue->diagnostics, "idx_string") != NULL)
        found = TRUE;
      /* No values in the message: the patient's name must not show. */
      g_assert_null (strstr (issue->diagnostics, "tampered"));
      g_assert_null (strstr (issue->diagnostics, "chalmers"));
    }
  g_assert_true (found);
}

static void
test_check_missing_provenance (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaOutcome) bad = charta_outcome_new ();
  g_autoptr(ChartaResource) created = create_simple (f->store);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (f->store_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "UPDATE version SET provenance = NULL WHERE version = 1"
                                     " AND rid = (SELECT rid FROM resource WHERE tid ="
                                     " (SELECT tid FROM rtype WHERE name = 'Patient'))",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  g_assert_false (charta_store_check (f->store, bad, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (charta_outcome_count_errors (bad), ==, 1);
  g_assert_nonnull (strstr (charta_outcome_get_issue (bad, 0)->diagnostics,
                            "has no Provenance"));
}

/* ---- async ------------------------------------------------------------------------------------ */

typedef struct
{
  GMainLoop    *loop;
  GThread      *thread;   /* where the callback must run */
  GAsyncResult *result;
} AsyncState;

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  AsyncState *s = user_data;

  g_assert_true (g_thread_self () == s->thread);
  s->result = g_object_ref (result);
  g_main_loop_quit (s->loop);
}

/* Runs the loop until the call started with on_done() and @s finishes; returns its result. */
static GAsyncResult *
wait_for (AsyncState *s)
{
  g_clear_object (&s->result);
  g_main_loop_run (s->loop);
  g_assert_nonnull (s->result);
  return s->result;
}

static void
test_async (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  AsyncState s = { loop, g_thread_self (), NULL };
  g_autoptr(ChartaResource) input = charta_test_parse (simple_patient);
  g_autoptr(ChartaResource) update = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  gboolean created = TRUE;
  ChartaOperation op = { .method = CHARTA_METHOD_CREATE, .resource = input };

  charta_store_create_async (f->store, input, NULL, NULL, on_done, &s);
  resource = charta_store_create_finish (f->store, wait_for (&s), &error);
  g_assert_no_error (error);
  g_assert_nonnull (resource);
  id = g_strdup (charta_resource_get_id (resource));
  g_clear_pointer (&resource, charta_resource_unref);

  update = patient_with (id, "\"active\":false");
  charta_store_update_async (f->store, update, 1, NULL, NULL, on_done, &s);
  resource = charta_store_update_finish (f->store, wait_for (&s), &created, &error);
  g_assert_no_error (error);
  g_assert_false (created);
  g_assert_cmpstr (charta_resource_get_version_id (resource), ==, "2");
  g_clear_pointer (&resource, charta_resource_unref);

  charta_store_read_async (f->store, "Patient", id, NULL, on_done, &s);
  resource = charta_store_read_finish (f->store, wait_for (&s), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (charta_resource_get_version_id (resource), ==, "2");
  g_clear_pointer (&resource, charta_resource_unref);

  charta_store_read_async (f->store, "Patient", "nope", NULL, on_done, &s);
  resource = charta_store_read_finish (f->store, wait_for (&s), &error);
  g_assert_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  charta_store_transaction_async (f->store, &op, 1, NULL, NULL, on_done, &s);
  results = charta_store_transaction_finish (f->store, wait_for (&s), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 1);
  g_assert_cmpint (charta_test_store_count (f->store, "Patient"), ==, 2);
  g_clear_object (&s.result);
}

/* ---- the edit API the store writes bodies with ----------------------------------------------- */

static const char *
rewrite_for_test (const char *reference,
                  gpointer    user_data)
{
  unsigned *calls = user_data;

  (*calls)++;
  if (strcmp (reference, "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001") == 0)
    return "Patient/p1";
  return NULL;
}

static void
test_edits (void)
{
  g_autoptr(ChartaResource) with_meta = charta_test_parse (
    "{\"resourceType\":\"Observation\",\"id\":\"old\",\"status\":\"final\","
    "\"meta\":{\"tag\":[{\"code\":\"t\"}],\"versionId\":\"9\"},"
    "\"contained\":[{\"resourceType\":\"Patient\",\"id\":\"c1\","
    "\"link\":[{\"other\":{\"reference\":\"urn:uuid:aaaaaaaa-0000-4000-8000-000000000001\"},"
    "\"type\":\"seealso\"}]}],"
    "\"code\":{\"text\":\"x\"},\"valueQuantity\":{\"value\":1.50},"
    "\"subject\":{\"reference\":\"urn:uuid:aaaaaaaa-0000-4000-8000-000000000001\"},"
    "\"focus\":[{\"reference\":\"urn:uuid:bbbbbbbb-0000-4000-8000-000000000002\"}],"
    "\"note\":[{\"text\":\"urn:uuid:aaaaaaaa-0000-4000-8000-000000000001\"}]}");
  g_autoptr(ChartaResource) without_meta = charta_test_parse ("{\"resourceType\":\"Basic\","
                                                              "\"code\":{\"text\":\"y\"}}");
  unsigned calls = 0;
  ChartaResourceEdits edits = {
    .id = "new-id", .version_id = "3", .last_updated = "2024-01-02T03:04:05.000006Z",
    .rewrite_reference = rewrite_for_test, .user_data = &calls,
  };
  ChartaResourceEdits meta_only = { .version_id = "1" };
  g_autofree char *json = charta_resource_to_json_edited (with_meta, &edits, NULL);
  g_autofree char *json2 = NULL;
  g_autoptr(ChartaResource) edited = charta_test_parse (json);
  g_autoptr(ChartaResource) edited2 = NULL;
  g_autofree char *canonical = NULL;
  size_t length = 0;

  g_assert_cmpstr (charta_resource_get_id (edited), ==, "new-id");
  g_assert_cmpstr (charta_resource_get_version_id (edited), ==, "3");
  g_assert_cmpstr (charta_resource_get_last_updated (edited), ==, "2024-01-02T03:04:05.000006Z");
  g_assert_cmpstr (json_string_at (edited, "meta.tag[0].code"), ==, "t");
  g_assert_cmpstr (json_string_at (edited, "subject.reference"), ==, "Patient/p1");
  g_assert_cmpstr (json_string_at (edited, "focus[0].reference"), ==,
                   "urn:uuid:bbbbbbbb-0000-4000-8000-000000000002");
  g_assert_cmpstr (json_string_at (edited, "contained[0].link[0].other.reference"), ==,
                   "Patient/p1");
  g_assert_cmpstr (json_string_at (edited, "contained[0].id"), ==, "c1");
  /* Only Reference.reference is rewritten, not other strings. */
  g_assert_cmpstr (json_string_at (edited, "note[0].text"), ==,
                   "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001");
  g_assert_cmpuint (calls, ==, 3);
  g_assert_nonnull (strstr (json, "\"value\":1.50"));
  /* Still canonical: writing it again changes nothing. */
  canonical = charta_resource_to_json (edited, FALSE, &length);
  g_assert_cmpstr (canonical, ==, json);
  g_assert_cmpuint (length, ==, strlen (json));

  json2 = charta_resource_to_json_edited (without_meta, &meta_only, &length);
  g_assert_cmpuint (length, ==, strlen (json2));
  g_assert_cmpstr (json2, ==, "{\"resourceType\":\"Basic\",\"meta\":{\"versionId\":\"1\"},"
                              "\"code\":{\"text\":\"y\"}}");
  edited2 = charta_test_parse (json2);
  g_assert_null (charta_resource_get_id (edited2));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/charta/backend/store/" path, Fixture, NULL, charta_test_store_set_up, \
              func, charta_test_store_tear_down)

  ADD ("create-read-update-delete", test_create_read_update_delete);
  ADD ("identical-update", test_identical_update);
  ADD ("conflict", test_conflict);
  ADD ("update-as-create", test_update_as_create);
  ADD ("invalid", test_invalid);
  ADD ("provenance/change", test_provenance_change);
  ADD ("provenance/default-agent", test_default_agent);
  ADD ("provenance/none-for-provenance", test_provenance_has_none);
  ADD ("transaction/urn-uuid", test_transaction_urns);
  ADD ("transaction/unresolved", test_transaction_unresolved);
  ADD ("transaction/patch", test_transaction_patch);
  ADD ("transaction/invalid-500th", test_transaction_invalid_500th);
  ADD ("transaction/conflict-rolls-back", test_transaction_conflict_rolls_back);
  ADD ("history/paging", test_history_paging);
  ADD ("history/since-at", test_history_since_at);
  ADD ("history/at-range", test_history_at_range);
  ADD ("history/request", test_history_request);
  ADD ("history/request-migration", test_history_request_migration);
  ADD ("files/reopen", test_reopen);
  ADD ("check/damage", test_check_damage);
  ADD ("check/missing-provenance", test_check_missing_provenance);
  ADD ("async", test_async);
  g_test_add_func ("/charta/backend/store/files/bad", test_bad_files);
  g_test_add_func ("/charta/backend/store/edits", test_edits);
  g_test_add_func ("/charta/backend/store/corpus", test_corpus_examples);
  return g_test_run ();
}
