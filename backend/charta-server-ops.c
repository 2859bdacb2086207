/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-server-ops.c: FHIR operations ([base]/$op, [base]/Type/$op, [base]/Type/id/$op).
 *
 *   Patient/[id]/$everything  (GET or POST; start, end, _since, _type, _count): the patient,
 *       then every resource of its compartment, type by type in the model's order, with what
 *       they reference (_include=*), as a searchset Bundle paged with its own cursor ("T:c": the
 *       T-th type of the compartment, and the store's cursor within it).  start and end filter
 *       the types that have a "date" search parameter on it (care dates); _since filters on
 *       _lastUpdated.  A referenced resource appears once a page.  The Binary resources that
 *       the DocumentReferences' content.attachment.url point at (scans, PDFs: not in the
 *       compartment, and not References) are included too, as JSON without data.
 *   [type]/$validate, [type]/[id]/$validate  (POST; the resource, or Parameters with resource
 *       and mode): 200 and an OperationOutcome listing every problem (an informational issue
 *       when there is none).  Instance level without a body validates the stored version.
 *   $meta at each level (GET or POST): Parameters with "return" the union of the profiles,
 *       security labels and tags in use (of the resource, of the type, of the store).
 *   [type]/[id]/$meta-add, $meta-delete  (POST; Parameters with "meta"): add or remove
 *       profiles, security labels and tags.  In Charta every change is a version with its
 *       Provenance, these too (FHIR lets a server version them); the write is conditional on
 *       the version read, retried a few times against concurrent writers.
 *   Any other operation: 501 (not-supported) where FHIR R4 defines it (at that level, on that
 *       type), 404 (not-supported) where it does not: an unknown operation.
 */
#define G_LOG_DOMAIN "charta-server"

#include <string.h>

#include "charta-datetime-private.h"
#include "charta-server-private.h"

#define EVERYTHING_DEFAULT_COUNT 50
#define EVERYTHING_MAX_COUNT     1000
#define META_PAGE                1000
#define META_RETRIES             3

static void
respond_new_error (ChartaServerRequest *req,
                   ChartaServerError    code,
                   const char          *format,
                   ...) G_GNUC_PRINTF (3, 4);

static void
respond_new_error (ChartaServerRequest *req,
                   ChartaServerError    code,
                   const char          *format,
                   ...)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  error = g_error_new_literal (CHARTA_SERVER_ERROR, code, message);
  if (code == CHARTA_SERVER_ERROR_METHOD_NOT_ALLOWED
      && soup_message_headers_get_one (req->response_headers, "Allow") == NULL)
    charta_server_request_set_header (req, "Allow", "POST");
  charta_server_request_respond_error (req, error);
}

static JsonObject *
object_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static const char *
string_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* The Parameters.parameter named @name, NULL when absent. */
static JsonObject *
find_parameter (ChartaResource *parameters,
                const char     *name)
{
  JsonNode *node = json_object_get_member (charta_resource_get_object (parameters), "parameter");
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  array = json_node_get_array (node);
  for (unsigned i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      JsonObject *parameter = JSON_NODE_HOLDS_OBJECT (item) ? json_node_get_object (item) : NULL;

      if (g_strcmp0 (string_member (parameter, "name"), name) == 0)
        return parameter;
    }
  return NULL;
}

static gboolean
is_get (ChartaServerRequest *req)
{
  return req->method == SOUP_METHOD_GET || req->method == SOUP_METHOD_HEAD;
}

/* ---- $everything -------------------------------------------------------------------------- */

/* Appends "&name=value" (value escaped) to @query. */
static void
append_param (GString    *query,
              const char *name,
              const char *value)
{
  g_autofree char *escaped = g_uri_escape_string (value, NULL, FALSE);

  g_string_append_printf (query, "%s%s=%s", query->len > 0 ? "&" : "", name, escaped);
}

static gboolean
check_date (const char  *name,
            const char  *value,
            GError     **error)
{
  ChartaDateTime dt;
  g_autoptr(GError) local_error = NULL;

  if (value == NULL
      || charta_datetime_parse (value, CHARTA_DATETIME_DATETIME, CHARTA_DATETIME_STRICT, &dt,
                                &local_error))
    return TRUE;
  g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST, "%s: %s", name,
               local_error->message);
  return FALSE;
}

/* The types of the Patient compartment, in the model's order, those of @only (a _type list,
 * NULL: all). */
static GPtrArray *
compartment_types (const char  *only,
                   GError     **error)
{
  g_autoptr(GPtrArray) types = g_ptr_array_new ();
  g_auto(GStrv) wanted = only != NULL ? g_strsplit (only, ",", -1) : NULL;

  for (char **type = wanted; type != NULL && *type != NULL; type++)
    if (charta_model_lookup_compartment ("Patient", *type) == NULL)
      {
        g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                     "_type: “%.64s” is not a resource type of the Patient compartment", *type);
        return NULL;
      }
  for (unsigned i = 0; i < charta_model_n_compartments; i++)
    {
      const ChartaCompartmentDef *def = &charta_model_compartments[i];

      if (strcmp (def->compartment, "Patient") != 0)
        continue;
      if (wanted == NULL || g_strv_contains ((const char *const *) wanted, def->resource_type))
        g_ptr_array_add (types, (gpointer) def->resource_type);
    }
  return g_steal_pointer (&types);
}

static void
append_search_entry (GString           *out,
                     ChartaServerRequest *req,
                     const char        *type,
                     const char        *id,
                     GBytes            *json,
                     gboolean           match)
{
  g_autofree char *full_url = g_strdup_printf ("%s/%s/%s", req->base_url, type, id);
  gsize length;
  const char *data = g_bytes_get_data (json, &length);

  g_string_append (out, out->len > 0 ? ",{\"fullUrl\":" : "{\"fullUrl\":");
  charta_server_append_json_string (out, full_url);
  g_string_append (out, ",\"resource\":");
  g_string_append_len (out, data, (gssize) length);
  g_string_append_printf (out, ",\"search\":{\"mode\":\"%s\"}}", match ? "match" : "include");
}

/* The Binary resources that the Attachments of DocumentReference @docref point at
 * (content.attachment.url: "Binary/[id]", or under the base), once each (@seen), as included
 * entries: their JSON, without data (the content is GET [base]/Binary/[id]). */
static void
append_documents (GString             *out,
                  ChartaServerRequest *req,
                  ChartaResource      *docref,
                  GHashTable          *seen)
{
  JsonObject *root = charta_resource_get_object (docref);
  JsonArray *content;

  if (root == NULL || !json_object_has_member (root, "content")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (root, "content")))
    return;
  content = json_object_get_array_member (root, "content");
  for (unsigned i = 0; i < json_array_get_length (content); i++)
    {
      JsonNode *node = json_array_get_element (content, i);
      JsonObject *attachment;
      JsonNode *url;
      g_autofree char *id = NULL;
      g_autoptr(GBytes) json = NULL;
      g_autoptr(GError) error = NULL;
      char *key;

      if (!JSON_NODE_HOLDS_OBJECT (node)
          || !json_object_has_member (json_node_get_object (node), "attachment"))
        continue;
      node = json_object_get_member (json_node_get_object (node), "attachment");
      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      attachment = json_node_get_object (node);
      url = json_object_get_member (attachment, "url");
      if (url == NULL || !JSON_NODE_HOLDS_VALUE (url)
          || json_node_get_value_type (url) != G_TYPE_STRING)
        continue;
      id = charta_server_binary_id_of_url (json_node_get_string (url), req->base_url);
      if (id == NULL)
        continue;
      key = g_strconcat ("Binary/", id, NULL);
      if (!g_hash_table_add (seen, key))
        continue;
      /* (a document whose Binary is gone, or never came, is listed without it) */
      json = charta_store_read_bytes (req->store, "Binary", id, NULL, &error);
      if (json != NULL)
        append_search_entry (out, req, "Binary", id, json, FALSE);
    }
}

static void
do_everything (ChartaServerRequest *req,
               const char          *id)
{
  const char *start = g_hash_table_lookup (req->params, "start");
  const char *end = g_hash_table_lookup (req->params, "end");
  const char *since = g_hash_table_lookup (req->params, "_since");
  const char *count_text = g_hash_table_lookup (req->params, "_count");
  const char *cursor = g_hash_table_lookup (req->params, "_cursor");
  g_autoptr(GPtrArray) types = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GString) entries = g_string_new (NULL);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GBytes) patient = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *store_cursor = NULL;
  g_autofree char *next = NULL;
  g_autofree char *params = NULL;
  g_autofree char *path = NULL;
  unsigned first_type = 0, count = EVERYTHING_DEFAULT_COUNT, remaining, t;

  if (!check_date ("start", start, &error) || !check_date ("end", end, &error)
      || !check_date ("_since", since, &error)
      || (types = compartment_types (g_hash_table_lookup (req->params, "_type"), &error)) == NULL)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  if (count_text != NULL)
    {
      char *stop = NULL;
      gint64 n = g_ascii_strtoll (count_text, &stop, 10);

      if (stop == count_text || *stop != '\0' || n < 1)
        {
          respond_new_error (req, CHARTA_SERVER_ERROR_BAD_REQUEST,
                             "_count: “%.40s” is not a positive whole number", count_text);
          return;
        }
      count = (unsigned) MIN (n, EVERYTHING_MAX_COUNT);
    }
  if (cursor != NULL)
    {
      char *colon = NULL;
      guint64 index = g_ascii_strtoull (cursor, &colon, 10);

      if (colon == cursor || *colon != ':' || index >= types->len)
        {
          respond_new_error (req, CHARTA_SERVER_ERROR_BAD_REQUEST,
                             "_cursor: “%.40s” is not a cursor of this $everything", cursor);
          return;
        }
      first_type = (unsigned) index;
      store_cursor = colon[1] != '\0' ? g_strdup (colon + 1) : NULL;
    }

  /* The patient itself, first on the first page. */
  patient = charta_store_read_bytes (req->store, "Patient", id, NULL, &error);
  if (patient == NULL)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  g_hash_table_add (seen, g_strconcat ("Patient/", id, NULL));
  remaining = count;
  if (cursor == NULL)
    {
      append_search_entry (entries, req, "Patient", id, patient, TRUE);
      remaining--;
    }

  for (t = first_type; t < types->len && remaining > 0; t++)
    {
      const char *type = g_ptr_array_index (types, t);
      g_autoptr(GString) text = g_string_new ("_include=*");
      g_autoptr(ChartaSearchQuery) query = NULL;
      g_autoptr(ChartaSearchResult) result = NULL;

      if (charta_model_lookup_search_param (type, "date") != NULL)
        {
          g_autofree char *ge = start != NULL ? g_strconcat ("ge", start, NULL) : NULL;
          g_autofree char *le = end != NULL ? g_strconcat ("le", end, NULL) : NULL;

          if (ge != NULL)
            append_param (text, "date", ge);
          if (le != NULL)
            append_param (text, "date", le);
        }
      if (since != NULL)
        {
          g_autofree char *ge = g_strconcat ("ge", since, NULL);

          append_param (text, "_lastUpdated", ge);
        }
      query = charta_search_query_parse (type, text->str, CHARTA_SEARCH_QUERY_DEFAULT, &error);
      if (query == NULL)
        {
          charta_server_request_respond_query_error (req, error);
          return;
        }
      query->compartment_type = g_strdup ("Patient");
      query->compartment_id = g_strdup (id);
      query->count = (int) remaining;
      query->total = CHARTA_SEARCH_TOTAL_NONE;
      if (t == first_type)
        query->cursor = g_steal_pointer (&store_cursor);
      result = charta_store_search (req->store, query, &error);
      if (result == NULL)
        {
          charta_server_request_respond_query_error (req, error);
          return;
        }
      for (unsigned i = 0; i < result->entries->len; i++)
        {
          const ChartaSearchEntry *entry = g_ptr_array_index (result->entries, i);
          const char *entry_type = charta_resource_get_resource_type (entry->resource);
          const char *entry_id = charta_resource_get_id (entry->resource);
          char *key = g_strconcat (entry_type, "/", entry_id, NULL);

          if (!g_hash_table_add (seen, key))
            continue;
          append_search_entry (entries, req, entry_type, entry_id, entry->json,
                               entry->mode == CHARTA_SEARCH_MODE_MATCH);
          if (entry->mode == CHARTA_SEARCH_MODE_MATCH && remaining > 0)
            remaining--;
          if (strcmp (entry_type, "DocumentReference") == 0)
            append_documents (entries, req, entry->resource, seen);
        }
      if (result->next_cursor != NULL)
        {
          next = g_strdup_printf ("%u:%s", t, result->next_cursor);
          break;
        }
    }
  /* the page is full before the last type: the next page starts with type t */
  if (next == NULL && t < types->len)
    next = g_strdup_printf ("%u:", t);

  path = g_strdup_printf ("Patient/%s/$everything", id);
  params = charta_server_query_without_cursor (req->query);
  g_string_append (out, "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"link\":[");
  charta_server_append_link (out, "self", req->base_url, path, params, cursor);
  if (next != NULL)
    {
      g_string_append_c (out, ',');
      charta_server_append_link (out, "next", req->base_url, path, params, next);
    }
  g_string_append_c (out, ']');
  if (entries->len > 0)
    g_string_append_printf (out, ",\"entry\":[%s]", entries->str);
  g_string_append_c (out, '}');
  body = g_bytes_new (out->str, out->len);
  charta_server_request_respond_json (req, SOUP_STATUS_OK, body);
}

/* ---- $validate ---------------------------------------------------------------------------- */

static void
do_validate (ChartaServerRequest *req,
             const char          *type,
             const char          *id)
{
  g_autoptr(ChartaResource) body = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  g_autoptr(GError) error = NULL;
  const char *mode = NULL;

  if (req->method != SOUP_METHOD_POST)
    {
      respond_new_error (req, CHARTA_SERVER_ERROR_METHOD_NOT_ALLOWED,
                         "$validate takes POST with the resource (or Parameters)");
      return;
    }
  if (g_bytes_get_size (req->body) > 0)
    {
      body = charta_server_request_parse_body (req, &error);
      if (body == NULL)
        {
          charta_server_request_respond_error (req, error);
          return;
        }
      if (strcmp (charta_resource_get_resource_type (body), "Parameters") == 0
          && strcmp (type, "Parameters") != 0)
        {
          JsonObject *parameter = find_parameter (body, "resource");
          JsonNode *node = parameter != NULL ? json_object_get_member (parameter, "resource")
                                             : NULL;

          mode = string_member (find_parameter (body, "mode"), "valueCode");
          if (node != NULL)
            {
              resource = charta_resource_new_nested (body, node, &error);
              if (resource == NULL)
                {
                  charta_server_request_respond_error (req, error);
                  return;
                }
            }
        }
      else
        resource = charta_resource_ref (body);
    }
  if (mode != NULL && strcmp (mode, "create") != 0 && strcmp (mode, "update") != 0
      && strcmp (mode, "delete") != 0)
    {
      respond_new_error (req, CHARTA_SERVER_ERROR_BAD_REQUEST,
                         "mode: “%.40s” is not create, update or delete", mode);
      return;
    }
  if (mode != NULL && strcmp (mode, "delete") == 0)
    {
      g_autoptr(GBytes) json = NULL;

      if (id == NULL)
        {
          respond_new_error (req, CHARTA_SERVER_ERROR_BAD_REQUEST,
                             "mode delete: POST [base]/%s/[id]/$validate", type);
          return;
        }
      json = charta_store_read_bytes (req->store, type, id, NULL, &error);
      if (json == NULL)
        {
          charta_server_request_respond_error (req, error);
          return;
        }
      charta_outcome_add (outcome, CHARTA_ISSUE_INFORMATION, "informational", NULL,
                          "%s/%s can be deleted", type, id);
      charta_server_request_respond_outcome (req, SOUP_STATUS_OK, outcome);
      return;
    }
  if (resource == NULL && id != NULL)
    {
      g_autoptr(GBytes) json = charta_store_read_bytes (req->store, type, id, NULL, &error);

      resource = json != NULL ? charta_resource_new_from_bytes (json, NULL, &error) : NULL;
      if (resource == NULL)
        {
          charta_server_request_respond_error (req, error);
          return;
        }
    }
  if (resource == NULL)
    {
      respond_new_error (req, CHARTA_SERVER_ERROR_BAD_REQUEST,
                         "$validate needs the resource to validate in the body");
      return;
    }
  if (strcmp (charta_resource_get_resource_type (resource), type) != 0)
    charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "invalid", NULL,
                        "a %s was sent to [base]/%s/$validate",
                        charta_resource_get_resource_type (resource), type);
  if (id != NULL && g_strcmp0 (charta_resource_get_id (resource), id) != 0)
    charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "invalid", NULL,
                        "the resource's id must be “%s” to update %s/%s", id, type, id);
  if (mode != NULL && strcmp (mode, "update") == 0 && charta_resource_get_id (resource) == NULL)
    charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "required", NULL,
                        "an update needs the resource's id");
  charta_validate_resource (resource, outcome);
  if (!charta_outcome_has_errors (outcome))
    charta_outcome_add (outcome, CHARTA_ISSUE_INFORMATION, "informational", NULL,
                        "the %s is valid", charta_resource_get_resource_type (resource));
  charta_server_request_respond_outcome (req, SOUP_STATUS_OK, outcome);
}

/* ---- $meta, $meta-add, $meta-delete ------------------------------------------------------- */

/* Profiles, security labels and tags, each in order of arrival without repeats. */
typedef struct
{
  GPtrArray  *lists[3];    /* JsonNode * (strings for profile, Coding objects) */
  GHashTable *keys[3];     /* the key of each ("system|code", the profile url) */
} MetaSet;

static const char *const meta_members[3] = { "profile", "security", "tag" };

static void
meta_set_init (MetaSet *set)
{
  for (unsigned i = 0; i < 3; i++)
    {
      set->lists[i] = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
      set->keys[i] = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    }
}

static void
meta_set_clear (MetaSet *set)
{
  for (unsigned i = 0; i < 3; i++)
    {
      g_clear_pointer (&set->lists[i], g_ptr_array_unref);
      g_clear_pointer (&set->keys[i], g_hash_table_unref);
    }
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MetaSet, meta_set_clear)

/* The key of a profile or Coding node, NULL when it is neither. */
static char *
meta_key (unsigned  member,
          JsonNode *node)
{
  const char *system, *code;

  if (member == 0)
    return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
           ? g_strdup (json_node_get_string (node)) : NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  system = string_member (json_node_get_object (node), "system");
  code = string_member (json_node_get_object (node), "code");
  return g_strdup_printf ("%s|%s", system != NULL ? system : "", code != NULL ? code : "");
}

/* Adds (or, with @remove, takes out) the profiles, security labels and tags of @meta. */
static void
meta_set_merge (MetaSet    *set,
                JsonObject *meta,
                gboolean    remove)
{
  for (unsigned m = 0; m < 3 && meta != NULL; m++)
    {
      JsonNode *node = json_object_get_member (meta, meta_members[m]);
      JsonArray *array;

      if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
        continue;
      array = json_node_get_array (node);
      for (unsigned i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *item = json_array_get_element (array, i);
          g_autofree char *key = meta_key (m, item);

          if (key == NULL)
            continue;
          if (!remove && !g_hash_table_contains (set->keys[m], key))
            {
              g_hash_table_add (set->keys[m], g_steal_pointer (&key));
              g_ptr_array_add (set->lists[m], json_node_copy (item));
            }
          else if (remove && g_hash_table_remove (set->keys[m], key))
            for (unsigned j = 0; j < set->lists[m]->len; j++)
              {
                g_autofree char *other = meta_key (m, g_ptr_array_index (set->lists[m], j));

                if (g_strcmp0 (other, key) == 0)
                  {
                    g_ptr_array_remove_index (set->lists[m], j);
                    break;
                  }
              }
        }
    }
}

/* Writes the set's members into @meta (replacing them; none: the member is removed). */
static void
meta_set_apply (MetaSet    *set,
                JsonObject *meta)
{
  for (unsigned m = 0; m < 3; m++)
    {
      JsonArray *array;

      if (json_object_has_member (meta, meta_members[m]))
        json_object_remove_member (meta, meta_members[m]);
      if (set->lists[m]->len == 0)
        continue;
      array = json_array_new ();
      for (unsigned i = 0; i < set->lists[m]->len; i++)
        json_array_add_element (array, json_node_copy (g_ptr_array_index (set->lists[m], i)));
      json_object_set_array_member (meta, meta_members[m], array);
    }
}

static gboolean
meta_set_is_empty (MetaSet *set)
{
  return set->lists[0]->len == 0 && set->lists[1]->len == 0 && set->lists[2]->len == 0;
}

/* Parameters { return: Meta } of the set (no parameter when it is empty: FHIR JSON has no
 * empty objects). */
static void
respond_meta (ChartaServerRequest *req,
              MetaSet             *set)
{
  g_autoptr(GString) out = g_string_new ("{\"resourceType\":\"Parameters\"");
  g_autoptr(GBytes) body = NULL;

  if (!meta_set_is_empty (set))
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
      g_autoptr(JsonObject) meta = json_object_new ();
      g_autofree char *text = NULL;

      meta_set_apply (set, meta);
      json_node_set_object (node, meta);
      text = json_to_string (node, FALSE);
      g_string_append_printf (out, ",\"parameter\":[{\"name\":\"return\",\"valueMeta\":%s}]",
                              text);
    }
  g_string_append_c (out, '}');
  body = g_bytes_new (out->str, out->len);
  charta_server_request_respond_json (req, SOUP_STATUS_OK, body);
}

/* Where the top-level "meta" object of a stored body is: [*start, *end) (canonical JSON puts
 * it right after resourceType and id, before any nested meta). */
static gboolean
find_meta (const char *json,
           size_t      length,
           size_t     *start,
           size_t     *end)
{
  static const char key[] = "\"meta\":{";
  const char *at = g_strstr_len (json, (gssize) MIN (length, 4096), key);
  gboolean in_string = FALSE;
  int depth = 0;

  if (at == NULL)
    return FALSE;
  *start = (size_t) (at - json) + strlen (key) - 1;
  for (size_t i = *start; i < length; i++)
    {
      char c = json[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '{')
        depth++;
      else if (c == '}' && --depth == 0)
        {
          *end = i + 1;
          return TRUE;
        }
    }
  return FALSE;
}

/* The top-level meta of a stored body, parsed (its own small tree). */
static JsonNode *
stored_meta (GBytes *json)
{
  gsize length;
  const char *data = g_bytes_get_data (json, &length);
  g_autoptr(JsonParser) parser = json_parser_new ();
  size_t start, end;

  if (!find_meta (data, length, &start, &end)
      || !json_parser_load_from_data (parser, data + start, (gssize) (end - start), NULL))
    return NULL;
  return json_node_ref (json_parser_get_root (parser));
}

/* $meta of the type (@type) or of the store (NULL): every page of a search. */
static gboolean
collect_meta (ChartaServerRequest  *req,
              const char           *type,
              MetaSet              *set,
              GError              **error)
{
  g_autofree char *cursor = NULL;

  do
    {
      g_autoptr(ChartaSearchQuery) query = NULL;
      g_autoptr(ChartaSearchResult) result = NULL;

      /* whole bodies (as stored, never parsed: only their meta is read); _elements would
       * tag each copy SUBSETTED */
      query = charta_search_query_parse (type, NULL, CHARTA_SEARCH_QUERY_DEFAULT, error);
      if (query == NULL)
        return FALSE;
      query->count = META_PAGE;
      query->total = CHARTA_SEARCH_TOTAL_NONE;
      query->cursor = g_steal_pointer (&cursor);
      result = charta_store_search (req->store, query, error);
      if (result == NULL)
        return FALSE;
      for (unsigned i = 0; i < result->entries->len; i++)
        {
          const ChartaSearchEntry *entry = g_ptr_array_index (result->entries, i);
          g_autoptr(JsonNode) meta = stored_meta (entry->json);

          if (meta != NULL && JSON_NODE_HOLDS_OBJECT (meta))
            meta_set_merge (set, json_node_get_object (meta), FALSE);
        }
      cursor = g_steal_pointer (&result->next_cursor);
    }
  while (cursor != NULL);
  return TRUE;
}

static void
do_meta (ChartaServerRequest *req,
         const char          *type,
         const char          *id)
{
  g_auto(MetaSet) set = { { NULL }, { NULL } };
  g_autoptr(GError) error = NULL;

  meta_set_init (&set);
  if (id != NULL)
    {
      g_autoptr(GBytes) json = charta_store_read_bytes (req->store, type, id, NULL, &error);
      g_autoptr(JsonNode) meta = NULL;

      if (json == NULL)
        {
          charta_server_request_respond_error (req, error);
          return;
        }
      meta = stored_meta (json);
      if (meta != NULL && JSON_NODE_HOLDS_OBJECT (meta))
        meta_set_merge (&set, json_node_get_object (meta), FALSE);
    }
  else if (!collect_meta (req, type, &set, &error))
    {
      charta_server_request_respond_query_error (req, error);
      return;
    }
  respond_meta (req, &set);
}

/* One attempt at $meta-add or $meta-delete: FALSE with @error (CONFLICT when another write came
 * in between). */
static ChartaResource *
change_meta_once (ChartaServerRequest  *req,
                  const char           *type,
                  const char           *id,
                  JsonObject           *change,
                  gboolean              remove,
                  ChartaChange         *provenance,
                  GError              **error)
{
  g_autoptr(GBytes) json = NULL;
  g_autoptr(JsonNode) meta = NULL;
  g_autoptr(ChartaResource) edited = NULL;
  g_auto(MetaSet) set = { { NULL }, { NULL } };
  g_autofree char *meta_text = NULL;
  g_autoptr(GString) text = NULL;
  int64_t version = 0;
  size_t start, end;
  gsize length;
  const char *data;

  json = charta_store_read_bytes (req->store, type, id, &version, error);
  if (json == NULL)
    return NULL;
  data = g_bytes_get_data (json, &length);
  meta = stored_meta (json);
  if (meta == NULL || !JSON_NODE_HOLDS_OBJECT (meta) || !find_meta (data, length, &start, &end))
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_INTERNAL,
                   "%s/%s: the stored version has no meta", type, id);
      return NULL;
    }
  meta_set_init (&set);
  meta_set_merge (&set, json_node_get_object (meta), FALSE);
  meta_set_merge (&set, change, remove);
  meta_set_apply (&set, json_node_get_object (meta));
  meta_text = json_to_string (meta, FALSE);

  /* The body with only its meta replaced: the rest stays as stored, numbers as written. */
  text = g_string_sized_new (length + 256);
  g_string_append_len (text, data, (gssize) start);
  g_string_append (text, meta_text);
  g_string_append_len (text, data + end, (gssize) (length - end));
  edited = charta_resource_new_from_data (text->str, text->len, NULL, error);
  if (edited == NULL)
    return NULL;
  return charta_store_update (req->store, edited, version, provenance, NULL, error);
}

static void
do_meta_change (ChartaServerRequest *req,
                const char          *type,
                const char          *id,
                gboolean             remove)
{
  g_autoptr(ChartaResource) parameters = NULL;
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(ChartaChange) provenance = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) json = NULL;
  g_autoptr(JsonNode) meta = NULL;
  g_auto(MetaSet) set = { { NULL }, { NULL } };
  JsonObject *change;

  if (req->method != SOUP_METHOD_POST)
    {
      respond_new_error (req, CHARTA_SERVER_ERROR_METHOD_NOT_ALLOWED,
                         "$meta-%s takes POST with Parameters", remove ? "delete" : "add");
      return;
    }
  if (charta_server_get_read_only (req->server))
    {
      respond_new_error (req, CHARTA_SERVER_ERROR_METHOD_NOT_ALLOWED,
                         "this server is read-only: $meta-%s is not allowed",
                         remove ? "delete" : "add");
      return;
    }
  parameters = charta_server_request_parse_body (req, &error);
  if (parameters == NULL)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  change = strcmp (charta_resource_get_resource_type (parameters), "Parameters") == 0
           ? object_member (find_parameter (parameters, "meta"), "valueMeta") : NULL;
  if (change == NULL)
    {
      respond_new_error (req, CHARTA_SERVER_ERROR_BAD_REQUEST,
                         "$meta-%s takes Parameters with a parameter “meta” (valueMeta)",
                         remove ? "delete" : "add");
      return;
    }
  if (!charta_server_request_get_change (req, &provenance, &error))
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  for (unsigned attempt = 0; stored == NULL && attempt < META_RETRIES; attempt++)
    {
      g_clear_error (&error);
      stored = change_meta_once (req, type, id, change, remove, provenance, &error);
      if (stored == NULL
          && !g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CONFLICT))
        break;
    }
  if (stored == NULL)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  /* (a write's result holds its stored text: no parse, no writing) */
  json = charta_resource_to_bytes (stored, FALSE);
  meta = stored_meta (json);
  meta_set_init (&set);
  if (meta != NULL && JSON_NODE_HOLDS_OBJECT (meta))
    meta_set_merge (&set, json_node_get_object (meta), FALSE);
  {
    g_autofree char *etag = g_strdup_printf ("W/\"%s\"",
                                             charta_resource_get_version_id (stored));

    charta_server_request_set_header (req, "ETag", etag);
  }
  respond_meta (req, &set);
}

/* ---- dispatch ----------------------------------------------------------------------------- */

typedef enum
{
  LEVEL_SYSTEM = 1 << 0,    /* [base]/$op */
  LEVEL_TYPE = 1 << 1,      /* [base]/Type/$op */
  LEVEL_INSTANCE = 1 << 2,  /* [base]/Type/id/$op */
} Level;

/* The operations FHIR R4 defines (its 46 OperationDefinitions, of the corpus's
 * r4-definitions/operations: code, resource, system/type/instance; "Resource": every type).
 * One that Charta lacks is 501 where R4 defines it, an unknown operation 404. */
static const struct
{
  const char *name;
  const char *type;
  unsigned    levels;
} r4_operations[] = {
  { "apply", "ActivityDefinition", LEVEL_TYPE | LEVEL_INSTANCE },
  { "apply", "ChargeItemDefinition", LEVEL_INSTANCE },
  { "apply", "PlanDefinition", LEVEL_TYPE | LEVEL_INSTANCE },
  { "care-gaps", "Measure", LEVEL_TYPE },
  { "closure", "ConceptMap", LEVEL_SYSTEM },
  { "collect-data", "Measure", LEVEL_TYPE | LEVEL_INSTANCE },
  { "conforms", "CapabilityStatement", LEVEL_TYPE },
  { "convert", "Resource", LEVEL_SYSTEM },
  { "data-requirements", "ActivityDefinition", LEVEL_INSTANCE },
  { "data-requirements", "Library", LEVEL_SYSTEM | LEVEL_INSTANCE },
  { "data-requirements", "Measure", LEVEL_INSTANCE },
  { "data-requirements", "PlanDefinition", LEVEL_INSTANCE },
  { "document", "Composition", LEVEL_TYPE | LEVEL_INSTANCE },
  { "evaluate-measure", "Measure", LEVEL_TYPE | LEVEL_INSTANCE },
  { "everything", "Encounter", LEVEL_INSTANCE },
  { "everything", "Group", LEVEL_INSTANCE },
  { "everything", "MedicinalProduct", LEVEL_TYPE | LEVEL_INSTANCE },
  { "everything", "Patient", LEVEL_TYPE | LEVEL_INSTANCE },
  { "expand", "ValueSet", LEVEL_TYPE | LEVEL_INSTANCE },
  { "find", "List", LEVEL_TYPE },
  { "find-matches", "CodeSystem", LEVEL_TYPE | LEVEL_INSTANCE },
  { "graph", "Resource", LEVEL_INSTANCE },
  { "graphql", "Resource", LEVEL_SYSTEM | LEVEL_INSTANCE },
  { "implements", "CapabilityStatement", LEVEL_TYPE | LEVEL_INSTANCE },
  { "lastn", "Observation", LEVEL_TYPE },
  { "lookup", "CodeSystem", LEVEL_TYPE },
  { "match", "Patient", LEVEL_TYPE },
  { "meta", "Resource", LEVEL_SYSTEM | LEVEL_TYPE | LEVEL_INSTANCE },
  { "meta-add", "Resource", LEVEL_INSTANCE },
  { "meta-delete", "Resource", LEVEL_INSTANCE },
  { "preferred-id", "NamingSystem", LEVEL_TYPE },
  { "process-message", "MessageHeader", LEVEL_SYSTEM },
  { "questionnaire", "StructureDefinition", LEVEL_TYPE | LEVEL_INSTANCE },
  { "snapshot", "StructureDefinition", LEVEL_TYPE | LEVEL_INSTANCE },
  { "stats", "Observation", LEVEL_TYPE },
  { "submit", "Claim", LEVEL_TYPE },
  { "submit", "CoverageEligibilityRequest", LEVEL_TYPE },
  { "submit-data", "Measure", LEVEL_TYPE | LEVEL_INSTANCE },
  { "subset", "CapabilityStatement", LEVEL_TYPE | LEVEL_INSTANCE },
  { "subsumes", "CodeSystem", LEVEL_TYPE | LEVEL_INSTANCE },
  { "transform", "StructureMap", LEVEL_TYPE | LEVEL_INSTANCE },
  { "translate", "ConceptMap", LEVEL_TYPE | LEVEL_INSTANCE },
  { "validate", "Resource", LEVEL_TYPE | LEVEL_INSTANCE },
  { "validate-code", "CodeSystem", LEVEL_TYPE | LEVEL_INSTANCE },
  { "validate-code", "ValueSet", LEVEL_TYPE | LEVEL_INSTANCE },
  { "versions", "CapabilityStatement", LEVEL_SYSTEM },
};

/* Whether FHIR R4 defines $@operation on @type (NULL: at the system level), at the instance
 * level when @id is set. */
static gboolean
is_r4_operation (const char *type,
                 const char *id,
                 const char *operation)
{
  Level level = type == NULL ? LEVEL_SYSTEM : id == NULL ? LEVEL_TYPE : LEVEL_INSTANCE;

  for (size_t i = 0; i < G_N_ELEMENTS (r4_operations); i++)
    if (strcmp (r4_operations[i].name, operation) == 0 && (r4_operations[i].levels & level) != 0
        && (level == LEVEL_SYSTEM || strcmp (r4_operations[i].type, "Resource") == 0
            || strcmp (r4_operations[i].type, type) == 0))
      return TRUE;
  return FALSE;
}

void
charta_server_handle_operation (ChartaServerRequest *req,
                                const char          *type,
                                const char          *id,
                                const char          *operation)
{
  if (id != NULL && !charta_server_is_valid_id (id))
    {
      respond_new_error (req, CHARTA_SERVER_ERROR_NOT_FOUND, "%s/%.80s: not a FHIR id", type,
                         id);
      return;
    }
  if (strcmp (operation, "everything") == 0 && g_strcmp0 (type, "Patient") == 0 && id != NULL)
    {
      if (is_get (req) || req->method == SOUP_METHOD_POST)
        do_everything (req, id);
      else
        {
          charta_server_request_set_header (req, "Allow", "GET, HEAD, POST");
          respond_new_error (req, CHARTA_SERVER_ERROR_METHOD_NOT_ALLOWED,
                             "$everything takes GET or POST");
        }
      return;
    }
  if (strcmp (operation, "validate") == 0 && type != NULL)
    {
      do_validate (req, type, id);
      return;
    }
  if (strcmp (operation, "meta") == 0)
    {
      if (is_get (req) || req->method == SOUP_METHOD_POST)
        do_meta (req, type, id);
      else
        {
          charta_server_request_set_header (req, "Allow", "GET, HEAD, POST");
          respond_new_error (req, CHARTA_SERVER_ERROR_METHOD_NOT_ALLOWED,
                             "$meta takes GET or POST");
        }
      return;
    }
  if ((strcmp (operation, "meta-add") == 0 || strcmp (operation, "meta-delete") == 0)
      && id != NULL)
    {
      do_meta_change (req, type, id, strcmp (operation, "meta-delete") == 0);
      return;
    }
  {
    g_autofree char *shown = charta_server_dup_log_text (operation, 64);

    if (is_r4_operation (type, id, operation))
      respond_new_error (req, CHARTA_SERVER_ERROR_NOT_IMPLEMENTED,
                         "the operation $%s is not served %s%s%s: this version does not have "
                         "it", shown, type != NULL ? "on " : "at the system level",
                         type != NULL ? type : "", id != NULL ? " instances" : "");
    else
      respond_new_error (req, CHARTA_SERVER_ERROR_UNKNOWN_OPERATION,
                         "$%s is not an operation of FHIR R4 %s%s%s: see [base]/metadata for "
                         "the operations served", shown, type != NULL ? "on " : "at the system "
                         "level", type != NULL ? type : "", id != NULL ? " instances" : "");
  }
}
