/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-server-bundle.c: batch and transaction Bundles posted to [base].
 *
 * A batch runs each entry as a request of its own, through the same router as a request made
 * over HTTP (so an entry answers exactly as the interaction would), in the order http.html of
 * FHIR R4 gives (DELETE, POST, PUT and PATCH, GET/HEAD); an entry that fails fails alone.  A
 * PATCH entry holds a Binary (contentType application/json-patch+json, data the JSON Patch in
 * base64) or a Parameters resource (a FHIRPath Patch).
 *
 * A transaction is all-or-nothing.  Its entries are worked out first, without writing:
 * conditional deletes, creates (ifNoneExist) and updates are resolved by search, in that order
 * (a match that an earlier delete of the same transaction removes counts as none); a patch is
 * applied to the current version there and then, and planned as an update conditional on that
 * version (so a write in between fails the transaction rather than being lost); an identity
 * written twice fails it (http.html: identities must not overlap); conditional references
 * ("Patient?identifier=…") in the resources are resolved by search to Type/id, as are the
 * urn:uuid fullUrls of conditional creates that matched.  Then every write goes to the store
 * in one charta_store_transaction() (which gives urn:uuid fullUrls their ids and rewrites the
 * references to them), and the GET entries run once it has committed.  Any failure answers
 * the whole request with an OperationOutcome whose issue names the entry (Bundle.entry[i]); an
 * entry's resource that does not validate gets an issue per problem, each naming its element
 * (Bundle.entry[i].resource.…).
 *
 * The response Bundle (batch-response, transaction-response) has one entry per request entry,
 * in the same order, each with response.status, and location, etag and lastModified for what
 * was written, and the resource as Prefer: return asks.
 */
#define G_LOG_DOMAIN "charta-server"

#include <string.h>

#include "charta-server-private.h"

/* libsoup has no SOUP_METHOD_PATCH; its methods are interned strings like this one. */
#define METHOD_PATCH (g_intern_static_string ("PATCH"))

typedef enum
{
  PLAN_WRITE,     /* an operation of the store transaction */
  PLAN_EXISTING,  /* a conditional create that matched: nothing written, the match answers */
  PLAN_NOTHING,   /* a conditional delete that matched nothing */
  PLAN_READ,      /* GET or HEAD, run after the writes */
} Plan;

typedef struct
{
  unsigned             index;
  const char          *method;         /* interned (SOUP_METHOD_…) */
  char                *path;           /* after the base: "Patient/7" */
  char                *query;          /* the raw query, NULL when none */
  char                *type;           /* the first segment when it is a resource type */
  char                *id;             /* the second segment of Type/id, else NULL */
  unsigned             n_segments;
  const char          *full_url;       /* borrowed from the Bundle */
  ChartaResource      *resource;       /* nested in the Bundle, NULL when none */
  const char          *if_match;       /* request.ifMatch … borrowed from the Bundle */
  const char          *if_none_exist;
  const char          *if_none_match;
  const char          *if_modified_since;
  GError              *error;          /* a batch entry that could not be read */

  /* transaction */
  Plan                 plan;
  ChartaMethod         op_method;
  char                 *op_id;          /* the id an update or delete writes */
  int64_t              expected_version;
  char                 *existing_id;    /* PLAN_EXISTING */
  ChartaOperationResult *result;        /* borrowed from the results */

  /* batch entries and transaction reads: the request run for the entry */
  ChartaServerRequest *sub;
} Entry;

static void
entry_free (Entry *entry)
{
  g_free (entry->path);
  g_free (entry->query);
  g_free (entry->type);
  g_free (entry->id);
  g_clear_pointer (&entry->resource, charta_resource_unref);
  g_clear_error (&entry->error);
  g_free (entry->op_id);
  g_free (entry->existing_id);
  if (entry->sub != NULL)
    {
      charta_server_request_clear (entry->sub);
      g_free (entry->sub);
    }
  g_free (entry);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Entry, entry_free)

/* ---- reading the Bundle ------------------------------------------------------------------- */

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

static const char *
method_of (const char *text)
{
  static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH",
                                         NULL };

  if (text == NULL || !g_strv_contains (methods, text))
    return NULL;
  return g_intern_string (text);
}

/* Reads entry @index of the Bundle into @entry; FALSE and @error (naming the entry) when it is
 * not a request this server can make out. */
static gboolean
read_entry (ChartaServerRequest  *req,
            ChartaResource       *bundle,
            JsonNode             *node,
            Entry                *entry,
            GError              **error)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonObject *request = object_member (object, "request");
  const char *url = string_member (request, "url");
  const char *mark;
  g_autofree char *base = g_strconcat (req->base_url, "/", NULL);
  g_auto(GStrv) segments = NULL;
  JsonNode *resource;

  entry->method = method_of (string_member (request, "method"));
  if (request == NULL || entry->method == NULL || url == NULL)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "Bundle.entry[%u]: a batch or transaction entry needs request.method (GET, "
                   "HEAD, POST, PUT, DELETE, PATCH) and request.url", entry->index);
      return FALSE;
    }
  if (g_str_has_prefix (url, base))
    url += strlen (base);
  else if (g_uri_peek_scheme (url) != NULL)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "Bundle.entry[%u]: request.url “%.100s” is not on this server (%s)",
                   entry->index, url, req->base_url);
      return FALSE;
    }
  while (*url == '/')
    url++;
  mark = strchr (url, '?');
  entry->path = mark != NULL ? g_strndup (url, (size_t) (mark - url)) : g_strdup (url);
  entry->query = mark != NULL ? g_strdup (mark + 1) : NULL;
  segments = g_strsplit (entry->path, "/", -1);
  entry->n_segments = *entry->path != '\0' ? g_strv_length (segments) : 0;
  if (entry->n_segments >= 1 && charta_model_is_resource_type (segments[0]))
    entry->type = g_strdup (segments[0]);
  if (entry->type != NULL && entry->n_segments == 2 && segments[1][0] != '_'
      && segments[1][0] != '$')
    entry->id = g_strdup (segments[1]);

  entry->full_url = string_member (object, "fullUrl");
  entry->if_match = string_member (request, "ifMatch");
  entry->if_none_exist = string_member (request, "ifNoneExist");
  entry->if_none_match = string_member (request, "ifNoneMatch");
  entry->if_modified_since = string_member (request, "ifModifiedSince");
  resource = object != NULL ? json_object_get_member (object, "resource") : NULL;
  if (resource != NULL)
    {
      g_autoptr(GError) local_error = NULL;

      if (JSON_NODE_HOLDS_OBJECT (resource))
        entry->resource = charta_resource_new_nested (bundle, resource, &local_error);
      if (entry->resource == NULL)
        {
          g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                       "Bundle.entry[%u].resource: %s", entry->index,
                       local_error != NULL ? local_error->message : "not a resource");
          return FALSE;
        }
    }
  return TRUE;
}

static void
copy_header (SoupMessageHeaders *to,
             SoupMessageHeaders *from,
             const char         *name)
{
  const char *value = soup_message_headers_get_one (from, name);

  if (value != NULL)
    soup_message_headers_replace (to, name, value);
}

static void
set_header (SoupMessageHeaders *headers,
            const char         *name,
            const char         *value)
{
  if (value != NULL)
    soup_message_headers_replace (headers, name, value);
}

/* ---- the patch of a PATCH entry ------------------------------------------------------------ */

/* http.html "patch" in a Bundle: a JSON Patch goes as a Binary whose contentType is
 * application/json-patch+json and whose data is the patch in base64; a FHIRPath Patch as the
 * Parameters resource itself. */

static gboolean
is_binary (ChartaResource *resource)
{
  return resource != NULL && strcmp (charta_resource_get_resource_type (resource), "Binary") == 0;
}

static const char *
binary_content_type (ChartaResource *resource)
{
  return string_member (charta_resource_get_object (resource), "contentType");
}

/* Binary.data decoded (empty when there is none). */
static GBytes *
binary_data (ChartaResource *resource)
{
  const char *data = string_member (charta_resource_get_object (resource), "data");
  gsize length = 0;
  guchar *decoded;

  if (data == NULL || *data == '\0')
    return g_bytes_new (NULL, 0);
  decoded = g_base64_decode (data, &length);
  return g_bytes_new_take (decoded, length);
}

/* Whether the Content-Type @value is application/json-patch+json (parameters aside). */
static gboolean
is_json_patch_type (const char *value)
{
  static const char type[] = "application/json-patch+json";
  size_t n = strlen (type);

  while (value != NULL && *value == ' ')
    value++;
  return value != NULL && g_ascii_strncasecmp (value, type, n) == 0
         && (value[n] == '\0' || value[n] == ';' || value[n] == ' ');
}

/* The patch of the PATCH entry @entry (a transaction's; a batch entry is a request of its
 * own, see sub_request_new()). */
static gboolean
read_entry_patch (Entry              *entry,
                  ChartaServerPatch  *patch,
                  GError            **error)
{
  const char *type = entry->resource != NULL
                     ? charta_resource_get_resource_type (entry->resource) : NULL;

  if (g_strcmp0 (type, "Parameters") == 0)
    {
      patch->parameters = charta_resource_ref (entry->resource);
      return TRUE;
    }
  if (is_binary (entry->resource))
    {
      const char *content_type = binary_content_type (entry->resource);

      if (!is_json_patch_type (content_type))
        {
          g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_UNSUPPORTED_MEDIA_TYPE,
                       "PATCH %s: a Binary of contentType “%.60s” is no patch: a JSON Patch is "
                       "a Binary of contentType application/json-patch+json", entry->path,
                       content_type != NULL ? content_type : "(none)");
          return FALSE;
        }
      patch->json_patch = binary_data (entry->resource);
      if (g_bytes_get_size (patch->json_patch) == 0)
        {
          g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                       "PATCH %s: the Binary has no data (the JSON Patch in base64)",
                       entry->path);
          return FALSE;
        }
      return TRUE;
    }
  g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
               "PATCH %s needs a Binary (contentType application/json-patch+json, data the JSON "
               "Patch in base64) or a Parameters resource (a FHIRPath Patch)%s%s", entry->path,
               type != NULL ? ", not a " : "", type != NULL ? type : "");
  return FALSE;
}

/* ---- one entry as a request of its own ----------------------------------------------------- */

static ChartaServerRequest *
sub_request_new (ChartaServerRequest *req,
                 Entry               *entry)
{
  ChartaServerRequest *sub = g_new0 (ChartaServerRequest, 1);

  sub->server = g_object_ref (req->server);
  sub->store = g_object_ref (req->store);
  sub->method = entry->method;
  sub->path = g_strdup (entry->path);
  sub->query = g_strdup (entry->query);
  sub->params = entry->query != NULL ? soup_form_decode (entry->query)
                                     : g_hash_table_new (g_str_hash, g_str_equal);
  sub->headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  soup_message_headers_replace (sub->headers, "Content-Type", "application/fhir+json");
  copy_header (sub->headers, req->headers, "X-Provenance");
  copy_header (sub->headers, req->headers, "Prefer");
  set_header (sub->headers, "If-Match", entry->if_match);
  set_header (sub->headers, "If-None-Exist", entry->if_none_exist);
  set_header (sub->headers, "If-None-Match", entry->if_none_match);
  set_header (sub->headers, "If-Modified-Since", entry->if_modified_since);
  if (entry->method == METHOD_PATCH && is_binary (entry->resource))
    {
      /* a JSON Patch: the Binary's content, as its own request would send it */
      const char *content_type = binary_content_type (entry->resource);

      if (content_type != NULL)
        soup_message_headers_replace (sub->headers, "Content-Type", content_type);
      else
        soup_message_headers_remove (sub->headers, "Content-Type");
      sub->body = binary_data (entry->resource);
    }
  else
    sub->body = entry->resource != NULL ? charta_resource_to_bytes (entry->resource, FALSE)
                                        : g_bytes_new (NULL, 0);
  sub->base_url = g_strdup (req->base_url);
  sub->request_id = g_strdup (req->request_id);
  sub->max_body = req->max_body;
  sub->nested = TRUE;
  sub->content_type = req->content_type;
  sub->return_pref = req->return_pref;
  sub->strict = req->strict;
  sub->response_headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  sub->status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
  return sub;
}

/* ---- the response Bundle ------------------------------------------------------------------ */

static void
append_status (GString  *out,
               unsigned  status)
{
  g_autofree char *text = g_strdup_printf ("%u %s", status, soup_status_get_phrase (status));

  g_string_append (out, "\"status\":");
  charta_server_append_json_string (out, text);
}

static void
append_member (GString    *out,
               const char *name,
               const char *value)
{
  if (value == NULL)
    return;
  g_string_append_printf (out, ",\"%s\":", name);
  charta_server_append_json_string (out, value);
}

static gboolean
is_outcome (GBytes *json)
{
  static const char prefix[] = "{\"resourceType\":\"OperationOutcome\"";
  gsize length;
  const char *data = json != NULL ? g_bytes_get_data (json, &length) : NULL;

  return data != NULL && length >= strlen (prefix) && memcmp (data, prefix, strlen (prefix)) == 0;
}

/* An HTTP date as a FHIR instant. */
static char *
instant_of_http_date (const char *date)
{
  g_autoptr(GDateTime) when = date != NULL ? soup_date_time_new_from_http_string (date) : NULL;

  return when != NULL ? g_date_time_format_iso8601 (when) : NULL;
}

/* The entry answering @entry, from the request run for it. */
static void
append_sub_entry (GString             *out,
                  ChartaServerRequest *req,
                  Entry               *entry)
{
  ChartaServerRequest *sub = entry->sub;
  const char *location = soup_message_headers_get_one (sub->response_headers, "Location");
  g_autofree char *last_modified =
    instant_of_http_date (soup_message_headers_get_one (sub->response_headers,
                                                        "Last-Modified"));
  g_autofree char *base = g_strconcat (req->base_url, "/", NULL);
  gboolean outcome = is_outcome (sub->response_body);
  gsize length = 0;
  const char *data = sub->response_body != NULL ? g_bytes_get_data (sub->response_body, &length)
                                                : NULL;

  if (location != NULL && g_str_has_prefix (location, base))
    location += strlen (base);
  g_string_append_c (out, '{');
  if (location != NULL)
    {
      const char *history = strstr (location, "/_history/");
      g_autofree char *full_url = g_strdup_printf ("%s%.*s", base,
                                                   history != NULL
                                                   ? (int) (history - location)
                                                   : (int) strlen (location), location);

      g_string_append (out, "\"fullUrl\":");
      charta_server_append_json_string (out, full_url);
      g_string_append_c (out, ',');
    }
  if (data != NULL && length > 0 && !outcome && entry->method != SOUP_METHOD_HEAD)
    {
      g_string_append (out, "\"resource\":");
      g_string_append_len (out, data, (gssize) length);
      g_string_append_c (out, ',');
    }
  g_string_append (out, "\"response\":{");
  append_status (out, sub->status);
  append_member (out, "location", location);
  append_member (out, "etag", soup_message_headers_get_one (sub->response_headers, "ETag"));
  append_member (out, "lastModified", last_modified);
  if (data != NULL && length > 0 && outcome)
    {
      g_string_append (out, ",\"outcome\":");
      g_string_append_len (out, data, (gssize) length);
    }
  g_string_append (out, "}}");
}

/* The entry answering a batch entry that could not be read. */
static void
append_error_entry (GString      *out,
                    const GError *error)
{
  unsigned status = 400;
  g_autoptr(GBytes) outcome = charta_server_error_to_outcome (error,
                                                             CHARTA_SERVER_CONTEXT_DEFAULT,
                                                             FALSE, &status);
  gsize length;
  const char *data = g_bytes_get_data (outcome, &length);

  g_string_append (out, "{\"response\":{");
  append_status (out, status);
  g_string_append (out, ",\"outcome\":");
  g_string_append_len (out, data, (gssize) length);
  g_string_append (out, "}}");
}

/* The entry of a stored version (a write, or the match of a conditional create). */
static void
append_version_entry (GString             *out,
                      ChartaServerRequest *req,
                      const char          *type,
                      const char          *id,
                      int64_t              version,
                      GBytes              *json,
                      unsigned             status,
                      const char          *what)
{
  g_autofree char *full_url = g_strdup_printf ("%s/%s/%s", req->base_url, type, id);
  g_autofree char *location = g_strdup_printf ("%s/%s/_history/%" G_GINT64_FORMAT, type, id,
                                               version);
  g_autofree char *etag = charta_server_format_etag (version);
  g_autoptr(GDateTime) when = charta_server_stored_last_updated (json);
  g_autofree char *last_modified = when != NULL ? g_date_time_format_iso8601 (when) : NULL;
  gsize length;
  const char *data = g_bytes_get_data (json, &length);

  g_string_append (out, "{\"fullUrl\":");
  charta_server_append_json_string (out, full_url);
  if (req->return_pref == CHARTA_RETURN_REPRESENTATION)
    {
      g_string_append (out, ",\"resource\":");
      g_string_append_len (out, data, (gssize) length);
    }
  g_string_append (out, ",\"response\":{");
  append_status (out, status);
  append_member (out, "location", location);
  append_member (out, "etag", etag);
  append_member (out, "lastModified", last_modified);
  if (req->return_pref == CHARTA_RETURN_OUTCOME)
    {
      g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
      g_autofree char *text = NULL;

      charta_outcome_add (outcome, CHARTA_ISSUE_INFORMATION, "informational", NULL,
                          "%s %s/%s: version %" G_GINT64_FORMAT, what, type, id, version);
      text = charta_outcome_to_json (outcome, FALSE);
      g_string_append_printf (out, ",\"outcome\":%s", text);
    }
  g_string_append (out, "}}");
}

static void
respond_bundle (ChartaServerRequest *req,
                GString             *entries,
                const char          *type)
{
  g_autoptr(GString) out = g_string_sized_new (entries->len + 128);
  g_autoptr(GBytes) body = NULL;

  g_string_append_printf (out, "{\"resourceType\":\"Bundle\",\"type\":\"%s\"", type);
  if (entries->len > 0)
    g_string_append_printf (out, ",\"entry\":[%s]", entries->str);
  g_string_append_c (out, '}');
  body = g_bytes_new (out->str, out->len);
  charta_server_request_respond_json (req, SOUP_STATUS_OK, body);
}

/* ---- batch -------------------------------------------------------------------------------- */

/* http.html's processing order: 0 DELETE, 1 POST, 2 PUT and PATCH, 3 GET and HEAD. */
static unsigned
method_rank (const char *method)
{
  if (method == SOUP_METHOD_DELETE)
    return 0;
  if (method == SOUP_METHOD_POST)
    return 1;
  if (method == SOUP_METHOD_PUT || method == METHOD_PATCH)
    return 2;
  return 3;
}

static void
run_batch (ChartaServerRequest *req,
           GPtrArray           *entries)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (unsigned rank = 0; rank < 4; rank++)
    for (unsigned i = 0; i < entries->len; i++)
      {
        Entry *entry = g_ptr_array_index (entries, i);

        if (entry->error != NULL || method_rank (entry->method) != rank)
          continue;
        entry->sub = sub_request_new (req, entry);
        charta_server_route (entry->sub);
      }
  for (unsigned i = 0; i < entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (entries, i);

      if (i > 0)
        g_string_append_c (out, ',');
      if (entry->error != NULL)
        append_error_entry (out, entry->error);
      else
        append_sub_entry (out, req, entry);
    }
  respond_bundle (req, out, "batch-response");
}

/* ---- transaction -------------------------------------------------------------------------- */

typedef struct
{
  ChartaServerRequest *req;
  GPtrArray           *entries;        /* Entry * */
  GHashTable          *identities;     /* "Type/id" written → Entry * */
  GHashTable          *deleting;       /* "Type/id" deleted (set) */
  GHashTable          *rewrites;       /* reference text → "Type/id" */
  GHashTable          *conditional;    /* conditional references met (set) */
} Transaction;

/* Fails the transaction because of entry @entry (NULL: the Bundle). */
static void
fail (Transaction  *t,
      Entry        *entry,
      const GError *error,
      gboolean      in_query)
{
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  g_autofree char *expression = entry != NULL ? g_strdup_printf ("Bundle.entry[%u]",
                                                                 entry->index) : NULL;
  const char *code = "exception";
  ChartaIssueSeverity severity = CHARTA_ISSUE_ERROR;
  unsigned status;

  if (entry != NULL && entry->resource != NULL && !in_query)
    {
      /* an entry's resource the store refused as invalid: an issue per problem, each naming
       * its element within the Bundle ("Bundle.entry[1].resource.gender") */
      g_autofree char *within = g_strdup_printf ("Bundle.entry[%u].resource", entry->index);
      g_autofree char *prefix = g_strdup_printf ("Bundle.entry[%u]: ", entry->index);
      g_autoptr(ChartaOutcome) problems = NULL;

      problems = charta_server_validation_outcome (entry->resource, error, within, prefix,
                                                   &status);
      if (problems != NULL)
        {
          charta_server_request_respond_outcome (t->req, status, problems);
          return;
        }
    }
  status = charta_server_error_status (error, in_query ? CHARTA_SERVER_CONTEXT_QUERY
                                                       : CHARTA_SERVER_CONTEXT_DEFAULT,
                                       &code, &severity);
  if (entry != NULL && !g_str_has_prefix (error->message, "Bundle.entry"))
    charta_outcome_add (outcome, severity, code, expression, "Bundle.entry[%u]: %s",
                        entry->index, error->message);
  else
    charta_outcome_add (outcome, severity, code, expression, "%s", error->message);
  charta_server_request_respond_outcome (t->req, status, outcome);
}

static gboolean
add_identity (Transaction  *t,
              Entry        *entry,
              const char   *type,
              const char   *id,
              GError      **error)
{
  g_autofree char *identity = g_strconcat (type, "/", id, NULL);
  Entry *other = g_hash_table_lookup (t->identities, identity);

  if (other != NULL)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "Bundle.entry[%u] and Bundle.entry[%u] both write %s: a transaction may "
                   "change a resource once", other->index, entry->index, identity);
      return FALSE;
    }
  g_hash_table_insert (t->identities, g_steal_pointer (&identity), entry);
  return TRUE;
}

/* The one match of @criteria on @type that no delete of the transaction removes: *n is 0, 1
 * or 2 (several). */
static gboolean
resolve_criteria (Transaction  *t,
                  const char   *type,
                  const char   *criteria,
                  unsigned     *n,
                  char        **id,
                  GError      **error)
{
  if (!charta_server_find_matches (t->req, type, criteria, n, id, error))
    return FALSE;
  if (*n == 1)
    {
      g_autofree char *identity = g_strconcat (type, "/", *id, NULL);

      if (g_hash_table_contains (t->deleting, identity))
        {
          *n = 0;
          g_clear_pointer (id, g_free);
        }
    }
  return TRUE;
}

static gboolean
plan_delete (Transaction  *t,
             Entry        *entry,
             GError      **error)
{
  g_autofree char *id = NULL;
  unsigned n = 0;

  if (entry->type == NULL || (entry->id == NULL && entry->query == NULL)
      || entry->n_segments > 2)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "DELETE %s: a delete takes Type/id or Type?criteria", entry->path);
      return FALSE;
    }
  if (entry->id != NULL)
    id = g_strdup (entry->id);
  else
    {
      if (!charta_server_find_matches (t->req, entry->type, entry->query, &n, &id, error))
        return FALSE;
      if (n > 1)
        {
          g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_PRECONDITION_FAILED,
                       "the criteria of the conditional delete match more than one %s",
                       entry->type);
          return FALSE;
        }
      if (n == 0)
        {
          entry->plan = PLAN_NOTHING;
          return TRUE;
        }
    }
  if (!charta_server_is_valid_id (id))
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "DELETE %s: “%.64s” is not a FHIR id", entry->path, id);
      return FALSE;
    }
  entry->plan = PLAN_WRITE;
  entry->op_method = CHARTA_METHOD_DELETE;
  entry->op_id = g_steal_pointer (&id);
  g_hash_table_add (t->deleting, g_strconcat (entry->type, "/", entry->op_id, NULL));
  return add_identity (t, entry, entry->type, entry->op_id, error);
}

static gboolean
check_body (Entry   *entry,
            GError **error)
{
  if (entry->resource == NULL)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "%s %s needs a resource", entry->method, entry->path);
      return FALSE;
    }
  if (strcmp (charta_resource_get_resource_type (entry->resource), entry->type) != 0)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "%s %s with a %s: the types must be the same", entry->method, entry->path,
                   charta_resource_get_resource_type (entry->resource));
      return FALSE;
    }
  return TRUE;
}

static gboolean
plan_create (Transaction  *t,
             Entry        *entry,
             GError      **error)
{
  g_autofree char *id = NULL;
  unsigned n = 0;

  if (entry->type == NULL || entry->n_segments != 1)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "POST %s: a create takes the resource type alone (POST Patient)",
                   entry->path);
      return FALSE;
    }
  if (!check_body (entry, error))
    return FALSE;
  entry->plan = PLAN_WRITE;
  entry->op_method = CHARTA_METHOD_CREATE;
  if (entry->if_none_exist == NULL)
    return TRUE;
  if (!resolve_criteria (t, entry->type, entry->if_none_exist, &n, &id, error))
    return FALSE;
  if (n > 1)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_PRECONDITION_FAILED,
                   "ifNoneExist matches more than one %s", entry->type);
      return FALSE;
    }
  if (n == 1)
    {
      entry->plan = PLAN_EXISTING;
      entry->existing_id = g_steal_pointer (&id);
      if (entry->full_url != NULL)
        g_hash_table_insert (t->rewrites, g_strdup (entry->full_url),
                             g_strconcat (entry->type, "/", entry->existing_id, NULL));
    }
  return TRUE;
}

static gboolean
plan_update (Transaction  *t,
             Entry        *entry,
             GError      **error)
{
  const char *body_id;
  g_autofree char *id = NULL;
  unsigned n = 0;

  if (entry->type == NULL || (entry->id == NULL && entry->query == NULL)
      || entry->n_segments > 2)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "PUT %s: an update takes Type/id or Type?criteria", entry->path);
      return FALSE;
    }
  if (!check_body (entry, error))
    return FALSE;
  body_id = charta_resource_get_id (entry->resource);
  if (entry->id != NULL)
    {
      if (body_id == NULL || strcmp (body_id, entry->id) != 0)
        {
          g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                       "PUT %s: the resource's id must be “%s”", entry->path, entry->id);
          return FALSE;
        }
      id = g_strdup (entry->id);
    }
  else
    {
      if (!resolve_criteria (t, entry->type, entry->query, &n, &id, error))
        return FALSE;
      if (n > 1)
        {
          g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_PRECONDITION_FAILED,
                       "the criteria of the conditional update match more than one %s",
                       entry->type);
          return FALSE;
        }
      if (n == 1 && body_id != NULL && strcmp (body_id, id) != 0)
        {
          g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                       "the criteria match %s/%s but the resource has id “%s”", entry->type,
                       id, body_id);
          return FALSE;
        }
      if (n == 0 && body_id != NULL)
        id = g_strdup (body_id);
    }
  entry->plan = PLAN_WRITE;
  if (id == NULL)
    {
      /* no match and no id: a create */
      entry->op_method = CHARTA_METHOD_CREATE;
      return TRUE;
    }
  entry->op_method = CHARTA_METHOD_UPDATE;
  entry->op_id = g_steal_pointer (&id);
  return add_identity (t, entry, entry->type, entry->op_id, error);
}

/* A patch is planned as an update conditional on the version it was applied to: the store
 * refuses the whole transaction when another write came in between. */
static gboolean
plan_patch (Transaction  *t,
            Entry        *entry,
            GError      **error)
{
  g_auto(ChartaServerPatch) patch = { NULL, NULL };
  g_autoptr(ChartaResource) current = NULL;
  g_autoptr(ChartaResource) patched = NULL;
  g_autofree char *id = NULL;
  const char *version_text;
  int64_t version;
  unsigned n = 0;

  if (entry->type == NULL || (entry->id == NULL && entry->query == NULL)
      || entry->n_segments > 2)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "PATCH %s: a patch takes Type/id or Type?criteria", entry->path);
      return FALSE;
    }
  if (!read_entry_patch (entry, &patch, error))
    return FALSE;
  if (entry->id != NULL)
    id = g_strdup (entry->id);
  else
    {
      if (!resolve_criteria (t, entry->type, entry->query, &n, &id, error))
        return FALSE;
      if (n != 1)
        {
          g_set_error (error, CHARTA_SERVER_ERROR,
                       n == 0 ? CHARTA_SERVER_ERROR_NOT_FOUND
                              : CHARTA_SERVER_ERROR_PRECONDITION_FAILED,
                       "the criteria of the conditional patch match %s %s",
                       n == 0 ? "no" : "more than one", entry->type);
          return FALSE;
        }
    }
  if (!charta_server_is_valid_id (id))
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_NOT_FOUND,
                   "PATCH %s: “%.64s” is not a FHIR id", entry->path, id);
      return FALSE;
    }
  if (!add_identity (t, entry, entry->type, id, error))
    return FALSE;
  current = charta_store_read (t->req->store, entry->type, id, error);
  if (current == NULL)
    return FALSE;
  version_text = charta_resource_get_version_id (current);
  version = version_text != NULL ? g_ascii_strtoll (version_text, NULL, 10) : 0;
  if (entry->expected_version > 0 && entry->expected_version != version)
    {
      g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_PRECONDITION_FAILED,
                   "ifMatch asks for version %" G_GINT64_FORMAT " of %s/%s, but the current "
                   "version is %" G_GINT64_FORMAT, entry->expected_version, entry->type, id,
                   version);
      return FALSE;
    }
  patched = charta_server_apply_patch (current, &patch, error);
  if (patched == NULL)
    return FALSE;
  g_clear_pointer (&entry->resource, charta_resource_unref);
  entry->resource = g_steal_pointer (&patched);
  entry->expected_version = version;
  entry->plan = PLAN_WRITE;
  entry->op_method = CHARTA_METHOD_UPDATE;
  entry->op_id = g_steal_pointer (&id);
  return TRUE;
}

static gboolean
plan_if_match (Entry   *entry,
               GError **error)
{
  if (entry->if_match == NULL)
    return TRUE;
  entry->expected_version = charta_server_parse_etag (entry->if_match, error);
  return entry->expected_version > 0;
}

/* Collects the conditional references of a resource (rewrite callback that changes nothing). */
static const char *
collect_reference (const char *reference,
                   gpointer    user_data)
{
  Transaction *t = user_data;

  if (strchr (reference, '?') != NULL && g_uri_peek_scheme (reference) == NULL)
    g_hash_table_add (t->conditional, g_strdup (reference));
  return NULL;
}

static const char *
rewrite_reference (const char *reference,
                   gpointer    user_data)
{
  Transaction *t = user_data;

  return g_hash_table_lookup (t->rewrites, reference);
}

/* "Patient?identifier=…" → "Patient/7", by search: exactly one must match. */
static gboolean
resolve_conditional_references (Transaction  *t,
                                GError      **error)
{
  GHashTableIter iter;
  gpointer key;

  for (unsigned i = 0; i < t->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (t->entries, i);
      ChartaResourceEdits edits = { .rewrite_reference = collect_reference, .user_data = t };

      if (entry->plan == PLAN_WRITE && entry->resource != NULL)
        g_free (charta_resource_to_json_edited (entry->resource, &edits, NULL));
    }
  g_hash_table_iter_init (&iter, t->conditional);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      const char *reference = key;
      const char *mark = strchr (reference, '?');
      g_autofree char *type = g_strndup (reference, (size_t) (mark - reference));
      g_autofree char *id = NULL;
      unsigned n = 0;

      if (g_hash_table_contains (t->rewrites, reference))
        continue;
      if (!charta_model_is_resource_type (type))
        {
          g_set_error (error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                       "the conditional reference “%.100s” names no resource type", reference);
          return FALSE;
        }
      if (!charta_server_find_matches (t->req, type, mark + 1, &n, &id, error))
        {
          g_prefix_error (error, "the conditional reference “%.100s”: ", reference);
          return FALSE;
        }
      if (n != 1)
        {
          g_set_error (error, CHARTA_SERVER_ERROR,
                       n == 0 ? CHARTA_SERVER_ERROR_NOT_FOUND
                              : CHARTA_SERVER_ERROR_PRECONDITION_FAILED,
                       "the conditional reference “%.100s” matches %s", reference,
                       n == 0 ? "nothing" : "more than one resource");
          return FALSE;
        }
      g_hash_table_insert (t->rewrites, g_strdup (reference), g_strconcat (type, "/", id, NULL));
    }
  return TRUE;
}

/* The entry of the store's operation that an error message names ("transaction entry 3 …"),
 * or NULL. */
static Entry *
failed_entry (Transaction  *t,
              GArray       *op_entries,
              const GError *error)
{
  static const char prefix[] = "transaction entry ";
  char *end = NULL;
  guint64 index;

  if (!g_str_has_prefix (error->message, prefix))
    return NULL;
  index = g_ascii_strtoull (error->message + strlen (prefix), &end, 10);
  if (end == error->message + strlen (prefix) || index >= op_entries->len)
    return NULL;
  return g_ptr_array_index (t->entries, g_array_index (op_entries, unsigned, index));
}

/* Whether @entry searches before it writes: a create with ifNoneExist, an update, patch or
 * delete with criteria. */
static gboolean
entry_is_conditional (const Entry *entry)
{
  return entry->if_none_exist != NULL
         || (entry->query != NULL && entry->method != SOUP_METHOD_GET
             && entry->method != SOUP_METHOD_HEAD);
}

static void
run_transaction (ChartaServerRequest *req,
                 GPtrArray           *entries)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  Transaction t = { req, entries, NULL, NULL, NULL, NULL };
  g_autoptr(GHashTable) identities = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                            NULL);
  g_autoptr(GHashTable) deleting = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) rewrites = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                          g_free);
  g_autoptr(GHashTable) conditional = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                             NULL);
  g_autoptr(GArray) ops = g_array_new (FALSE, TRUE, sizeof (ChartaOperation));
  g_autoptr(GArray) op_entries = g_array_new (FALSE, FALSE, sizeof (unsigned));
  g_autoptr(GPtrArray) writes = g_ptr_array_new_with_free_func (
    (GDestroyNotify) charta_resource_unref);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(ChartaChange) change = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  t.identities = identities;
  t.deleting = deleting;
  t.rewrites = rewrites;
  t.conditional = conditional;

  if (!charta_server_request_get_change (req, &change, &error))
    {
      fail (&t, NULL, error, FALSE);
      return;
    }

  /* Conditional entries search, then the transaction writes: no other conditional interaction
   * runs in between (charta_server_lock_conditional()). */
  for (unsigned i = 0; i < entries->len && locker == NULL; i++)
    if (entry_is_conditional (g_ptr_array_index (entries, i)))
      locker = charta_server_lock_conditional (req->server);

  /* Resolve, in http.html's order: deletes, creates, updates; reads run last. */
  for (unsigned rank = 0; rank < 4; rank++)
    for (unsigned i = 0; i < entries->len; i++)
      {
        Entry *entry = g_ptr_array_index (entries, i);
        gboolean ok = TRUE;

        if (method_rank (entry->method) != rank)
          continue;
        if (rank == 0)
          ok = plan_delete (&t, entry, &error) && plan_if_match (entry, &error);
        else if (rank == 1)
          ok = plan_create (&t, entry, &error);
        else if (rank == 2 && entry->method == METHOD_PATCH)
          ok = plan_if_match (entry, &error) && plan_patch (&t, entry, &error);
        else if (rank == 2)
          ok = plan_update (&t, entry, &error) && plan_if_match (entry, &error);
        else
          entry->plan = PLAN_READ;
        if (!ok)
          {
            /* what fails here is the entry's request or criteria: 400 rather than 422 */
            fail (&t, entry, error, TRUE);
            return;
          }
      }
  if (!resolve_conditional_references (&t, &error))
    {
      fail (&t, NULL, error, TRUE);
      return;
    }

  /* The writes, in Bundle order (identities do not overlap: the order cannot matter). */
  for (unsigned i = 0; i < entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (entries, i);
      ChartaOperation op = { 0 };

      if (entry->plan != PLAN_WRITE)
        continue;
      op.method = entry->op_method;
      op.full_url = entry->full_url;
      op.expected_version = entry->expected_version;
      op.patch = entry->method == METHOD_PATCH;
      if (entry->op_method == CHARTA_METHOD_DELETE)
        {
          op.type = entry->type;
          op.id = entry->op_id;
        }
      else
        {
          ChartaResourceEdits edits = { 0 };
          ChartaResource *write;

          edits.rewrite_reference = g_hash_table_size (rewrites) > 0 ? rewrite_reference : NULL;
          edits.user_data = &t;
          if (entry->op_method == CHARTA_METHOD_UPDATE
              && charta_resource_get_id (entry->resource) == NULL)
            edits.id = entry->op_id;
          write = edits.id != NULL || edits.rewrite_reference != NULL
                  ? charta_resource_new_edited (entry->resource, &edits, NULL, NULL)
                  : charta_resource_ref (entry->resource);
          g_ptr_array_add (writes, write);
          op.resource = write;
        }
      g_array_append_val (ops, op);
      g_array_append_val (op_entries, entry->index);
    }

  if (ops->len > 0)
    {
      if (req->server != NULL && charta_server_get_read_only (req->server))
        {
          g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_METHOD_NOT_ALLOWED,
                       "this server is read-only: a transaction that writes is not allowed");
          fail (&t, NULL, error, FALSE);
          return;
        }
      results = charta_store_transaction (req->store, (ChartaOperation *) ops->data, ops->len,
                                          change, &error);
      if (results == NULL)
        {
          fail (&t, failed_entry (&t, op_entries, error), error, FALSE);
          return;
        }
      for (unsigned i = 0; i < results->len; i++)
        {
          Entry *entry = g_ptr_array_index (entries, g_array_index (op_entries, unsigned, i));

          entry->result = g_ptr_array_index (results, i);
        }
      g_debug ("transaction: %u writes", ops->len);
    }

  /* Then the reads, and the response in Bundle order. */
  for (unsigned i = 0; i < entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (entries, i);

      if (entry->plan != PLAN_READ)
        continue;
      entry->sub = sub_request_new (req, entry);
      charta_server_route (entry->sub);
    }
  for (unsigned i = 0; i < entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (entries, i);

      if (i > 0)
        g_string_append_c (out, ',');
      switch (entry->plan)
        {
        case PLAN_READ:
          append_sub_entry (out, req, entry);
          break;

        case PLAN_NOTHING:
          g_string_append (out, "{\"response\":{");
          append_status (out, SOUP_STATUS_NO_CONTENT);
          g_string_append (out, "}}");
          break;

        case PLAN_EXISTING:
          {
            int64_t version = 0;
            g_autoptr(GBytes) json = charta_store_read_bytes (req->store, entry->type,
                                                             entry->existing_id, &version,
                                                             &error);

            if (json == NULL)
              {
                fail (&t, entry, error, FALSE);
                return;
              }
            append_version_entry (out, req, entry->type, entry->existing_id, version, json,
                                  SOUP_STATUS_OK, "matched");
          }
          break;

        case PLAN_WRITE:
        default:
          {
            ChartaOperationResult *result = entry->result;

            if (result->resource == NULL)
              {
                g_autofree char *etag = result->version > 0
                                        ? charta_server_format_etag (result->version) : NULL;

                g_string_append (out, "{\"response\":{");
                append_status (out, SOUP_STATUS_NO_CONTENT);
                append_member (out, "etag", etag);
                g_string_append (out, "}}");
              }
            else
              {
                /* (a write's result holds its stored text: no parse, no writing) */
                g_autoptr(GBytes) json = charta_resource_to_bytes (result->resource, FALSE);

                append_version_entry (out, req, result->type, result->id, result->version,
                                      json,
                                      result->created ? SOUP_STATUS_CREATED : SOUP_STATUS_OK,
                                      result->created ? "created" : "updated");
              }
          }
          break;
        }
    }
  respond_bundle (req, out, "transaction-response");
}

/* ---- POST [base] -------------------------------------------------------------------------- */

void
charta_server_handle_bundle (ChartaServerRequest *req)
{
  g_autoptr(ChartaResource) bundle = NULL;
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  g_autoptr(GError) error = NULL;
  JsonObject *root;
  JsonNode *entry_node;
  const char *type;
  gboolean transaction;

  bundle = charta_server_request_parse_body (req, &error);
  if (bundle == NULL)
    {
      charta_server_request_respond_error (req, error);
      return;
    }
  root = charta_resource_get_object (bundle);
  type = string_member (root, "type");
  if (strcmp (charta_resource_get_resource_type (bundle), "Bundle") != 0
      || (g_strcmp0 (type, "batch") != 0 && g_strcmp0 (type, "transaction") != 0))
    {
      g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "POST [base] takes a Bundle of type batch or transaction, not a %s%s%s",
                   charta_resource_get_resource_type (bundle), type != NULL ? " of type " : "",
                   type != NULL ? type : "");
      charta_server_request_respond_error (req, error);
      return;
    }
  transaction = strcmp (type, "transaction") == 0;

  entry_node = json_object_get_member (root, "entry");
  if (entry_node != NULL && !JSON_NODE_HOLDS_ARRAY (entry_node))
    {
      g_set_error (&error, CHARTA_SERVER_ERROR, CHARTA_SERVER_ERROR_BAD_REQUEST,
                   "Bundle.entry must be an array");
      charta_server_request_respond_error (req, error);
      return;
    }
  for (unsigned i = 0; entry_node != NULL && i < json_array_get_length (json_node_get_array (
                                                                          entry_node)); i++)
    {
      g_autoptr(Entry) entry = g_new0 (Entry, 1);
      JsonNode *node = json_array_get_element (json_node_get_array (entry_node), i);

      entry->index = i;
      if (!read_entry (req, bundle, node, entry, &entry->error))
        {
          if (transaction)
            {
              charta_server_request_respond_error (req, entry->error);
              return;
            }
          /* a batch answers it in its entry; its method may be unknown */
          if (entry->method == NULL)
            entry->method = SOUP_METHOD_GET;
        }
      g_ptr_array_add (entries, g_steal_pointer (&entry));
    }

  if (transaction)
    run_transaction (req, entries);
  else
    run_batch (req, entries);
}
