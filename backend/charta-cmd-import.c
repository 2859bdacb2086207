/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-cmd-import.c: `charta import [OPTION…] STORE INPUT…`.
 *
 * Loads FHIR R4 resources into a store (created when the file does not exist yet):
 *
 * - a resource (.json): with an id it is written as an update-as-create, keeping its id; without
 *   one it is created and the store gives it an id;
 * - a Bundle (.json) by its type: "transaction" is one all-or-nothing charta_store_transaction()
 *   in which urn:uuid fullUrls and the references to them are resolved and each entry's request
 *   is honoured (POST Type: create; PUT Type/id: update or create with that id, which must be
 *   the resource's id; DELETE Type/id: delete; request.ifMatch W/"N": only if the current version
 *   is N); "batch" and "history": the same requests, each entry on its own; "collection" and
 *   "searchset": each entry's resource as above; "document" and "message": the Bundle itself is
 *   one resource.  Conditional requests (ifNoneExist, "Type?search" urls) and GET are refused
 *   with an error naming the entry: the store has no search yet;
 * - NDJSON (.ndjson): streamed, each line a resource as above;
 * - a directory: its .json and .ndjson files, recursively, in name order.
 *
 * Every write names its agent and reason in its Provenance (--agent, default "charta import";
 * --reason).  Each problem is printed on standard error as "FILE: entry N: PATH: message"
 * (NDJSON: "FILE: line N: …"); a transaction that fails leaves the store as it was and its
 * entries' problems are all listed.  Then one summary line on standard output: "imported N
 * resources (N created, N updated) from N files in S s (R resources/s); N errors" (", N
 * deleted" too when there were deletes).  On a terminal a progress bar is drawn on standard
 * error while it runs.
 *
 * Throughput: the main thread reads and parses; a few worker threads (--jobs, default 8) make
 * the blocking store calls, so the store's writer finds several requests queued and commits
 * them together (group commit: one fsync for many).  Writes of the same Type/id are never in
 * flight at once, so they happen in input order; resources in flight are bounded, so memory
 * stays bounded whatever the input.  Nothing larger than --max-bytes (default 64 MiB) is read:
 * a .json file is refused from its size, an NDJSON line is skipped without being held.
 *
 * Exit status: 0 when everything was imported, 1 when anything failed, 2 for a usage error.
 */
#define G_LOG_DOMAIN "charta-cmd-import"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "charta-cmd-util.h"
#include "charta-cmds.h"
#include "charta-progress.h"

#define DEFAULT_JOBS       8
#define MAX_JOBS           64
#define MAX_IN_FLIGHT      2048 /* resources queued or being written */

typedef enum
{
  ITEM_CREATE,
  ITEM_UPDATE,
  ITEM_DELETE,
  ITEM_TRANSACTION,
} ItemKind;

/* A file to import, found while walking the inputs.  It is done, for the progress bar, once
 * it has been read whole and the last of its items has been written. */
typedef struct
{
  char *path;
  uint64_t size;
  unsigned pending;          /* its items queued or being written (under Import.mutex) */
  gboolean read;             /* read whole (under Import.mutex) */
} Input;

/* One unit of work for a worker: a single write, or a whole transaction. */
typedef struct
{
  ItemKind kind;
  char *where;               /* "FILE", "FILE: entry N", "FILE: line N": prefix of messages */
  ChartaResource *resource;  /* CREATE, UPDATE */
  char *type;                /* DELETE */
  char *id;                  /* DELETE */
  int64_t expected_version;  /* UPDATE, DELETE: > 0 to require that current version */
  GPtrArray *keys;           /* "Type/id" of every resource named by id, or NULL */
  unsigned weight;           /* resources in it, for the in-flight bound */
  /* TRANSACTION */
  GArray *operations;        /* ChartaOperation, pointing into @strings and @resources */
  GPtrArray *strings;        /* owns the operations' type, id and full_url */
  GPtrArray *resources;      /* owns the operations' resources */
  Input *input;              /* the file it comes from */
} Item;

typedef struct
{
  ChartaStore *store;
  ChartaProgress *progress;
  ChartaParseLimits limits;
  const char *agent;
  const char *reason;

  GAsyncQueue *queue;        /* Item *, or the worker's stop mark */
  Input *current;            /* the file the main thread reads */

  GMutex mutex;              /* guards what follows */
  GCond cond;                /* signalled when an item is done */
  unsigned in_flight;        /* weight of the items queued or being written */
  unsigned n_in_flight;      /* items queued or being written */
  GHashTable *keys;          /* "Type/id" -> items in flight naming it (GUINT_TO_POINTER) */
  uint64_t n_created;
  uint64_t n_updated;
  uint64_t n_deleted;
  uint64_t n_errors;
} Import;

static char stop_mark;

static void
input_free (Input *input)
{
  g_free (input->path);
  g_free (input);
}

static void
item_free (Item *item)
{
  g_free (item->where);
  g_clear_pointer (&item->resource, charta_resource_unref);
  g_free (item->type);
  g_free (item->id);
  g_clear_pointer (&item->keys, g_ptr_array_unref);
  g_clear_pointer (&item->operations, g_array_unref);
  g_clear_pointer (&item->strings, g_ptr_array_unref);
  g_clear_pointer (&item->resources, g_ptr_array_unref);
  g_free (item);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Item, item_free)

static Item *
item_new (ItemKind    kind,
          const char *where)
{
  Item *item = g_new0 (Item, 1);

  item->kind = kind;
  item->where = g_strdup (where);
  item->weight = 1;
  return item;
}

static void
item_add_key (Item       *item,
              const char *type,
              const char *id)
{
  if (item->keys == NULL)
    item->keys = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (item->keys, g_strconcat (type, "/", id, NULL));
}

/* ---- messages ------------------------------------------------------------------------------ */

/* Prints "@where: line" for each line of @message (a message already starting with @where is
 * printed as it is), clearing the progress bar first. */
static void
report (Import     *import,
        const char *where,
        const char *message)
{
  g_auto(GStrv) lines = g_strsplit (message, "\n", -1);
  size_t where_len = strlen (where);

  for (unsigned i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *line = NULL;

      if (*lines[i] == '\0')
        continue;
      if (strncmp (lines[i], where, where_len) == 0 && lines[i][where_len] == ':')
        line = g_strdup (lines[i]);
      else
        line = g_strconcat (where, ": ", lines[i], NULL);
      charta_progress_print (import->progress, line);
    }
}

static void G_GNUC_PRINTF (3, 4)
reportf (Import     *import,
         const char *where,
         const char *format,
         ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  report (import, where, message);
}

static void
count_error (Import *import)
{
  g_mutex_lock (&import->mutex);
  import->n_errors++;
  g_mutex_unlock (&import->mutex);
}

/* ---- the workers --------------------------------------------------------------------------- */

/* Walks @node, keeping the element path in @path, and reports each Reference.reference that
 * is a urn:uuid @defined does not hold (@is_reference: @node is a "reference" member). */
static unsigned
report_unresolved (Import     *import,
                   const char *where,
                   GHashTable *defined,
                   JsonNode   *node,
                   GString    *path,
                   gboolean    is_reference)
{
  unsigned found = 0;
  size_t len = path->len;

  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      JsonObjectIter iter;
      const char *name;
      JsonNode *child;

      json_object_iter_init (&iter, object);
      while (json_object_iter_next (&iter, &name, &child))
        {
          g_string_append_printf (path, ".%s", name);
          found += report_unresolved (import, where, defined, child, path,
                                      strcmp (name, "reference") == 0);
          g_string_truncate (path, len);
        }
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      unsigned n = json_array_get_length (array);

      for (unsigned i = 0; i < n; i++)
        {
          g_string_append_printf (path, "[%u]", i);
          found += report_unresolved (import, where, defined,
                                      json_array_get_element (array, i), path, FALSE);
          g_string_truncate (path, len);
        }
    }
  else if (is_reference && JSON_NODE_HOLDS_VALUE (node)
           && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      const char *s = json_node_get_string (node);

      if (g_str_has_prefix (s, "urn:uuid:") && !g_hash_table_contains (defined, s))
        {
          reportf (import, where, "%s: %s is not the fullUrl of any entry of the transaction",
                   path->str, s);
          found++;
        }
    }
  return found;
}

/* Validates @resource again after the store refused it, to print each problem as "WHERE:
 * PATH: message" (the store's message names only the first, behind its own prefix).  Returns
 * the number of problems printed. */
static unsigned
report_invalid (Import         *import,
                const char     *where,
                ChartaResource *resource)
{
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  unsigned n_issues, found = 0;

  if (charta_validate_resource (resource, outcome))
    return 0;
  n_issues = charta_outcome_get_n_issues (outcome);
  for (unsigned j = 0; j < n_issues; j++)
    {
      const ChartaIssue *issue = charta_outcome_get_issue (outcome, j);

      if (issue->severity == CHARTA_ISSUE_ERROR || issue->severity == CHARTA_ISSUE_FATAL)
        {
          report (import, where, issue->diagnostics);
          found++;
        }
    }
  return found;
}

/* After a failed transaction: lists the problems of its entries, found again here so that
 * every one is named ("FILE: entry N: PATH: message"), not only the first the store met.
 * Falls back to the store's own message when nothing is found here. */
static void
report_transaction_failure (Import       *import,
                            Item         *item,
                            const GError *error)
{
  ChartaOperation *ops = (ChartaOperation *) (void *) item->operations->data;
  unsigned n = item->operations->len;
  unsigned found = 0;

  if (g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID))
    {
      for (unsigned i = 0; i < n; i++)
        {
          g_autofree char *where = NULL;

          if (ops[i].resource == NULL)
            continue;
          where = g_strdup_printf ("%s: entry %u", item->where, i);
          found += report_invalid (import, where, ops[i].resource);
        }
    }
  else if (g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_UNRESOLVED))
    {
      g_autoptr(GHashTable) defined = g_hash_table_new (g_str_hash, g_str_equal);

      for (unsigned i = 0; i < n; i++)
        if (ops[i].full_url != NULL)
          g_hash_table_add (defined, (gpointer) ops[i].full_url);
      for (unsigned i = 0; i < n; i++)
        {
          g_autofree char *where = NULL;
          g_autoptr(GString) path = NULL;

          if (ops[i].resource == NULL)
            continue;
          where = g_strdup_printf ("%s: entry %u", item->where, i);
          path = g_string_new (charta_resource_get_resource_type (ops[i].resource));
          found += report_unresolved (import, where, defined,
                                      charta_resource_get_root (ops[i].resource), path,
                                      FALSE);
        }
    }

  if (found == 0)
    report (import, item->where, error->message);
  reportf (import, item->where,
           "transaction failed, nothing of it was imported (%u entr%s)", n, n == 1 ? "y" : "ies");
}

static void
process (Import       *import,
         Item         *item,
         ChartaChange *change)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) stored = NULL;
  g_autoptr(GPtrArray) results = NULL;
  uint64_t created = 0, updated = 0, deleted = 0;
  gboolean was_created = FALSE;
  int64_t version;

  switch (item->kind)
    {
    case ITEM_CREATE:
      stored = charta_store_create (import->store, item->resource, change, &error);
      if (stored != NULL)
        created++;
      break;
    case ITEM_UPDATE:
      stored = charta_store_update (import->store, item->resource, item->expected_version, change,
                                    &was_created, &error);
      if (stored != NULL)
        {
          if (was_created)
            created++;
          else
            updated++;
        }
      break;
    case ITEM_DELETE:
      version = charta_store_delete (import->store, item->type, item->id, item->expected_version,
                                     change, &error);
      if (version > 0)
        deleted++;
      break;
    case ITEM_TRANSACTION:
      results = charta_store_transaction (import->store,
                                          (ChartaOperation *) (void *) item->operations->data,
                                          item->operations->len, change, &error);
      for (unsigned i = 0; results != NULL && i < results->len; i++)
        {
          ChartaOperationResult *result = results->pdata[i];

          if (result->resource == NULL)
            deleted += result->version > 0;
          else if (result->created)
            created++;
          else
            updated++;
        }
      break;
    default:
      g_assert_not_reached ();
    }

  if (error != NULL)
    {
      if (item->kind == ITEM_TRANSACTION)
        report_transaction_failure (import, item, error);
      else if (!g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID)
               || item->resource == NULL
               || report_invalid (import, item->where, item->resource) == 0)
        report (import, item->where, error->message);
    }

  g_mutex_lock (&import->mutex);
  import->n_created += created;
  import->n_updated += updated;
  import->n_deleted += deleted;
  if (error != NULL)
    import->n_errors++;
  g_mutex_unlock (&import->mutex);

  charta_progress_add (import->progress, 0, 0, created + updated + deleted);
}

/* Marks @item done: frees its keys and weight for the items waiting to be queued. */
static void
release (Import *import,
         Item   *item)
{
  Input *input;
  gboolean file_done;

  g_mutex_lock (&import->mutex);
  for (unsigned i = 0; item->keys != NULL && i < item->keys->len; i++)
    {
      const char *key = item->keys->pdata[i];
      unsigned count = GPOINTER_TO_UINT (g_hash_table_lookup (import->keys, key));

      if (count <= 1)
        g_hash_table_remove (import->keys, key);
      else
        g_hash_table_insert (import->keys, g_strdup (key), GUINT_TO_POINTER (count - 1));
    }
  import->in_flight -= item->weight;
  import->n_in_flight--;
  input = item->input;
  file_done = --input->pending == 0 && input->read;
  g_cond_broadcast (&import->cond);
  g_mutex_unlock (&import->mutex);

  if (file_done)
    charta_progress_add (import->progress, 1, input->size, 0);
}

static gpointer
worker (gpointer data)
{
  Import *import = data;
  g_autoptr(ChartaChange) change = charta_change_new ();

  charta_change_set_agent (change, NULL, import->agent);
  if (import->reason != NULL)
    charta_change_set_reason (change, NULL, NULL, import->reason);

  for (;;)
    {
      gpointer next = g_async_queue_pop (import->queue);
      Item *item;

      if (next == &stop_mark)
        break;
      item = next;
      process (import, item, change);
      release (import, item);
      item_free (item);
    }
  return NULL;
}

/* Hands @item (taken) to the workers, once none of its keys is in flight and there is room. */
static void
submit (Import *import,
        Item   *item)
{
  g_mutex_lock (&import->mutex);
  for (;;)
    {
      gboolean busy = import->n_in_flight > 0 && import->in_flight + item->weight > MAX_IN_FLIGHT;

      for (unsigned i = 0; !busy && item->keys != NULL && i < item->keys->len; i++)
        busy = g_hash_table_contains (import->keys, item->keys->pdata[i]);
      if (!busy)
        break;
      g_cond_wait (&import->cond, &import->mutex);
    }
  for (unsigned i = 0; item->keys != NULL && i < item->keys->len; i++)
    {
      const char *key = item->keys->pdata[i];
      unsigned count = GPOINTER_TO_UINT (g_hash_table_lookup (import->keys, key));

      g_hash_table_insert (import->keys, g_strdup (key), GUINT_TO_POINTER (count + 1));
    }
  import->in_flight += item->weight;
  import->n_in_flight++;
  item->input = import->current;
  item->input->pending++;
  g_mutex_unlock (&import->mutex);

  g_async_queue_push (import->queue, item);
}

/* ---- reading the input --------------------------------------------------------------------- */

/* A single resource write: update-as-create when it has an id, else create. */
static void
submit_resource (Import         *import,
                 const char     *where,
                 ChartaResource *resource)
{
  const char *id = charta_resource_get_id (resource);
  Item *item = item_new (id != NULL ? ITEM_UPDATE : ITEM_CREATE, where);

  item->resource = charta_resource_ref (resource);
  if (id != NULL)
    item_add_key (item, charta_resource_get_resource_type (resource), id);
  submit (import, item);
}

static const char *
get_string_member (JsonObject *object,
                   const char *member)
{
  JsonNode *node;

  if (object == NULL || !json_object_has_member (object, member))
    return NULL;
  node = json_object_get_member (object, member);
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* An entry of a Bundle, as the request it makes. */
typedef struct
{
  ChartaMethod method;
  ChartaResource *resource;  /* owned; NULL for DELETE */
  char *type;
  char *id;                  /* PUT, DELETE; NULL for POST */
  const char *full_url;      /* borrowed from the Bundle */
  int64_t expected_version;
} Entry;

static void
entry_clear (Entry *entry)
{
  g_clear_pointer (&entry->resource, charta_resource_unref);
  g_clear_pointer (&entry->type, g_free);
  g_clear_pointer (&entry->id, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Entry, entry_clear)

/* "Type", "Type/id", "Type/id/_history/N", possibly after a base URL: the type and id
 * (*id NULL for "Type").  A query ("?…") is a conditional request, which import refuses. */
static gboolean
parse_request_url (const char  *url,
                   char       **type,
                   char       **id,
                   GError     **error)
{
  g_auto(GStrv) parts = NULL;
  const char *path = url;
  const char *scheme = strstr (url, "://");
  unsigned n, start;

  if (strchr (url, '?') != NULL)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_UNSUPPORTED,
                   "request.url: \"%s\" is a conditional request, which import does not "
                   "support yet", url);
      return FALSE;
    }
  if (scheme != NULL)
    {
      path = strchr (scheme + 3, '/');
      path = path != NULL ? path + 1 : "";
    }
  parts = g_strsplit (path, "/", -1);
  n = g_strv_length (parts);
  /* the type is the last segment that names a resource type, followed by at most an id */
  start = n;
  for (unsigned i = n; i-- > 0 && n - i <= 2;)
    if (charta_model_is_resource_type (parts[i]))
      {
        start = i;
        break;
      }
  if (start == n || (n - start == 2 && *parts[start + 1] == '\0'))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "request.url: \"%s\" is not Type or Type/id", url);
      return FALSE;
    }
  *type = g_strdup (parts[start]);
  *id = n - start == 2 ? g_strdup (parts[start + 1]) : NULL;
  return TRUE;
}

/* W/"3", "3" or 3 -> 3. */
static gboolean
parse_etag (const char *etag,
            int64_t    *version)
{
  const char *s = etag;
  char *end = NULL;
  int64_t v;

  if (g_str_has_prefix (s, "W/"))
    s += 2;
  if (*s == '"')
    s++;
  if (!g_ascii_isdigit (*s))
    return FALSE;
  errno = 0;
  v = g_ascii_strtoll (s, &end, 10);
  if (errno != 0 || v <= 0 || (*end != '\0' && strcmp (end, "\"") != 0))
    return FALSE;
  *version = v;
  return TRUE;
}

/* Reads entry @node of @bundle.  With @honour_request the entry's request decides what is done
 * (transaction, batch, history); else its resource is written (collection, searchset).  On
 * failure the error names the element, relative to the entry. */
static gboolean
parse_entry (ChartaResource *bundle,
             JsonNode       *node,
             gboolean        honour_request,
             Entry          *entry,
             GError        **error)
{
  JsonObject *object, *request = NULL;
  JsonNode *resource_node = NULL;
  const char *method = NULL, *url = NULL, *etag = NULL;
  g_autofree char *url_type = NULL;
  g_autofree char *url_id = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID, "not a JSON object");
      return FALSE;
    }
  object = json_node_get_object (node);
  entry->full_url = get_string_member (object, "fullUrl");
  if (json_object_has_member (object, "resource"))
    resource_node = json_object_get_member (object, "resource");
  if (json_object_has_member (object, "request"))
    {
      JsonNode *request_node = json_object_get_member (object, "request");

      if (JSON_NODE_HOLDS_OBJECT (request_node))
        request = json_node_get_object (request_node);
    }

  if (!honour_request || request == NULL)
    {
      if (honour_request)
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "request: missing (an entry of a transaction or batch needs one)");
          return FALSE;
        }
      if (resource_node == NULL)
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "resource: missing");
          return FALSE;
        }
      entry->resource = charta_resource_new_nested (bundle, resource_node, error);
      if (entry->resource == NULL)
        return FALSE;
      entry->type = g_strdup (charta_resource_get_resource_type (entry->resource));
      entry->id = g_strdup (charta_resource_get_id (entry->resource));
      entry->method = entry->id != NULL ? CHARTA_METHOD_UPDATE : CHARTA_METHOD_CREATE;
      return TRUE;
    }

  method = get_string_member (request, "method");
  url = get_string_member (request, "url");
  etag = get_string_member (request, "ifMatch");
  if (method == NULL)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "request.method: missing");
      return FALSE;
    }
  if (strcmp (method, "POST") == 0)
    entry->method = CHARTA_METHOD_CREATE;
  else if (strcmp (method, "PUT") == 0)
    entry->method = CHARTA_METHOD_UPDATE;
  else if (strcmp (method, "DELETE") == 0)
    entry->method = CHARTA_METHOD_DELETE;
  else
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_UNSUPPORTED,
                   "request.method: %s is not supported by import (POST, PUT and DELETE are)",
                   method);
      return FALSE;
    }
  if (get_string_member (request, "ifNoneExist") != NULL)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_UNSUPPORTED,
                   "request.ifNoneExist: conditional create is not supported by import yet");
      return FALSE;
    }
  if (etag != NULL && !parse_etag (etag, &entry->expected_version))
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "request.ifMatch: \"%s\" is not a version (W/\"N\")", etag);
      return FALSE;
    }
  if (url == NULL)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID, "request.url: missing");
      return FALSE;
    }
  if (!parse_request_url (url, &url_type, &url_id, error))
    return FALSE;

  if (entry->method == CHARTA_METHOD_DELETE)
    {
      if (url_id == NULL)
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_UNSUPPORTED,
                       "request.url: \"%s\": DELETE needs Type/id (conditional delete is not "
                       "supported)", url);
          return FALSE;
        }
      entry->type = g_steal_pointer (&url_type);
      entry->id = g_steal_pointer (&url_id);
      return TRUE;
    }

  if (resource_node == NULL)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "resource: missing (%s needs one)", method);
      return FALSE;
    }
  entry->resource = charta_resource_new_nested (bundle, resource_node, error);
  if (entry->resource == NULL)
    return FALSE;
  entry->type = g_strdup (charta_resource_get_resource_type (entry->resource));
  if (strcmp (url_type, entry->type) != 0)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "request.url: \"%s\" does not name the entry's resource type %s", url,
                   entry->type);
      return FALSE;
    }
  if (entry->method == CHARTA_METHOD_CREATE)
    {
      if (url_id != NULL)
        {
          g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                       "request.url: \"%s\": POST takes Type, not Type/id", url);
          return FALSE;
        }
      return TRUE;
    }

  /* PUT Type/id: the resource's id must be that id */
  if (url_id == NULL)
    {
      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_UNSUPPORTED,
                   "request.url: \"%s\": PUT needs Type/id (conditional update is not "
                   "supported)", url);
      return FALSE;
    }
  if (g_strcmp0 (charta_resource_get_id (entry->resource), url_id) != 0)
    {
      const char *id = charta_resource_get_id (entry->resource);

      g_set_error (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_INVALID,
                   "%s.id: %s%s%s, but request.url is \"%s\" (an update needs the same id in "
                   "both)", entry->type, id != NULL ? "\"" : "", id != NULL ? id : "missing",
                   id != NULL ? "\"" : "", url);
      return FALSE;
    }
  entry->id = g_steal_pointer (&url_id);
  return TRUE;
}

static JsonArray *
bundle_entries (ChartaResource *bundle)
{
  JsonObject *object = charta_resource_get_object (bundle);
  JsonNode *node;

  if (!json_object_has_member (object, "entry"))
    return NULL;
  node = json_object_get_member (object, "entry");
  return JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

/* One all-or-nothing transaction; nothing reaches the store when an entry cannot be read. */
static void
import_transaction (Import         *import,
                    const char     *path,
                    ChartaResource *bundle)
{
  JsonArray *array = bundle_entries (bundle);
  unsigned n = array != NULL ? json_array_get_length (array) : 0;
  g_autoptr(Item) item = item_new (ITEM_TRANSACTION, path);
  unsigned n_bad = 0;

  item->operations = g_array_sized_new (FALSE, TRUE, sizeof (ChartaOperation), n);
  item->strings = g_ptr_array_new_full (2 * n, g_free);
  item->resources = g_ptr_array_new_full (n, (GDestroyNotify) charta_resource_unref);
  item->weight = MAX (n, 1);

  for (unsigned i = 0; i < n; i++)
    {
      g_auto(Entry) entry = { 0 };
      g_autoptr(GError) error = NULL;
      ChartaOperation op = { 0 };

      if (!parse_entry (bundle, json_array_get_element (array, i), TRUE, &entry, &error))
        {
          g_autofree char *where = g_strdup_printf ("%s: entry %u", path, i);

          report (import, where, error->message);
          n_bad++;
          continue;
        }
      op.method = entry.method;
      op.resource = entry.resource;
      op.expected_version = entry.expected_version;
      if (entry.resource != NULL)
        g_ptr_array_add (item->resources, g_steal_pointer (&entry.resource));
      op.type = entry.type;
      g_ptr_array_add (item->strings, g_steal_pointer (&entry.type));
      if (entry.id != NULL)
        {
          item_add_key (item, op.type, entry.id);
          op.id = entry.id;
          g_ptr_array_add (item->strings, g_steal_pointer (&entry.id));
        }
      if (entry.full_url != NULL)
        {
          char *full_url = g_strdup (entry.full_url);

          op.full_url = full_url;
          g_ptr_array_add (item->strings, full_url);
        }
      g_array_append_val (item->operations, op);
    }

  if (n_bad > 0)
    {
      reportf (import, path, "transaction not imported: %u of its %u entries cannot be read",
               n_bad, n);
      count_error (import);
      return;
    }
  if (n == 0)
    return;
  submit (import, g_steal_pointer (&item));
}

/* Each entry on its own: batch and history (@honour_request), collection and searchset. */
static void
import_entries (Import         *import,
                const char     *path,
                ChartaResource *bundle,
                gboolean        honour_request)
{
  JsonArray *array = bundle_entries (bundle);
  unsigned n = array != NULL ? json_array_get_length (array) : 0;

  for (unsigned i = 0; i < n; i++)
    {
      g_auto(Entry) entry = { 0 };
      g_autoptr(GError) error = NULL;
      g_autofree char *where = g_strdup_printf ("%s: entry %u", path, i);
      Item *item;

      if (!parse_entry (bundle, json_array_get_element (array, i), honour_request, &entry,
                        &error))
        {
          report (import, where, error->message);
          count_error (import);
          continue;
        }
      switch (entry.method)
        {
        case CHARTA_METHOD_CREATE:
          item = item_new (ITEM_CREATE, where);
          break;
        case CHARTA_METHOD_UPDATE:
          item = item_new (ITEM_UPDATE, where);
          break;
        case CHARTA_METHOD_DELETE:
        default:
          item = item_new (ITEM_DELETE, where);
          break;
        }
      item->resource = g_steal_pointer (&entry.resource);
      item->expected_version = entry.expected_version;
      if (entry.id != NULL)
        item_add_key (item, entry.type, entry.id);
      item->type = g_steal_pointer (&entry.type);
      item->id = g_steal_pointer (&entry.id);
      submit (import, item);
    }
}

static void
import_json_file (Import     *import,
                  const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  const char *bundle_type;

  /* refuses a file over the limit from its size, before reading any of it */
  bytes = charta_resource_read_file (path, &import->limits, &error);
  if (bytes == NULL)
    {
      if (g_error_matches (error, CHARTA_FHIR_ERROR, CHARTA_FHIR_ERROR_TOO_LARGE))
        reportf (import, path, "%s (see --max-bytes)", error->message);
      else
        report (import, path, error->message);
      count_error (import);
      return;
    }
  resource = charta_resource_new_from_bytes (bytes, &import->limits, &error);
  g_clear_pointer (&bytes, g_bytes_unref);
  if (resource == NULL)
    {
      report (import, path, error->message);
      count_error (import);
      return;
    }

  if (strcmp (charta_resource_get_resource_type (resource), "Bundle") != 0)
    {
      submit_resource (import, path, resource);
      return;
    }

  bundle_type = get_string_member (charta_resource_get_object (resource), "type");
  if (g_strcmp0 (bundle_type, "transaction") == 0)
    import_transaction (import, path, resource);
  else if (g_strcmp0 (bundle_type, "batch") == 0 || g_strcmp0 (bundle_type, "history") == 0)
    import_entries (import, path, resource, TRUE);
  else if (g_strcmp0 (bundle_type, "collection") == 0
           || g_strcmp0 (bundle_type, "searchset") == 0)
    import_entries (import, path, resource, FALSE);
  else if (g_strcmp0 (bundle_type, "document") == 0 || g_strcmp0 (bundle_type, "message") == 0)
    submit_resource (import, path, resource);
  else
    {
      if (bundle_type == NULL)
        reportf (import, path, "Bundle.type: missing");
      else
        reportf (import, path, "Bundle.type: \"%s\" is not a Bundle type import knows",
                 bundle_type);
      count_error (import);
    }
}

typedef struct
{
  Import *import;
  const char *path;
} NdjsonState;

static gboolean
ndjson_line (unsigned        line,
             ChartaResource *resource,
             const GError   *error,
             gpointer        user_data)
{
  NdjsonState *state = user_data;

  if (resource == NULL)
    {
      /* the message starts with "line N" */
      report (state->import, state->path, error->message);
      count_error (state->import);
    }
  else
    {
      g_autofree char *where = g_strdup_printf ("%s: line %u", state->path, line);

      submit_resource (state->import, where, resource);
    }
  return TRUE;
}

static void
import_ndjson_file (Import     *import,
                    const char *path)
{
  g_autoptr(GError) error = NULL;
  NdjsonState state = { import, path };

  if (!charta_resource_parse_ndjson_file (path, &import->limits, ndjson_line, &state, &error)
      && error != NULL)
    {
      report (import, path, error->message);
      count_error (import);
    }
}

/* ---- walking the inputs -------------------------------------------------------------------- */

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void collect_path (Import     *import,
                          GPtrArray  *inputs,
                          const char *path,
                          gboolean    named);

static void
collect_directory (Import     *import,
                   GPtrArray  *inputs,
                   const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GDir *dir = g_dir_open (path, 0, &error);
  const char *name;

  if (dir == NULL)
    {
      reportf (import, path, "cannot read: %s", error->message);
      count_error (import);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_dir_close (dir);
  g_ptr_array_sort (names, compare_names);

  for (unsigned i = 0; i < names->len; i++)
    {
      g_autofree char *child = g_build_filename (path, names->pdata[i], NULL);

      collect_path (import, inputs, child, FALSE);
    }
}

/* @named: given on the command line (any file name is taken; in a directory only .json and
 * .ndjson files are, and symbolic links to directories are not followed). */
static void
collect_path (Import     *import,
              GPtrArray  *inputs,
              const char *path,
              gboolean    named)
{
  GStatBuf st;
  Input *input;

  if (g_lstat (path, &st) != 0)
    {
      reportf (import, path, "cannot read: %s", g_strerror (errno));
      count_error (import);
      return;
    }
  if (S_ISLNK (st.st_mode))
    {
      if (g_stat (path, &st) != 0)
        {
          if (named)
            {
              reportf (import, path, "cannot read: %s", g_strerror (errno));
              count_error (import);
            }
          return;
        }
      if (S_ISDIR (st.st_mode) && !named)
        return;
    }
  if (S_ISDIR (st.st_mode))
    {
      collect_directory (import, inputs, path);
      return;
    }
  if (!named && !g_str_has_suffix (path, ".json") && !g_str_has_suffix (path, ".ndjson"))
    return;
  if (!S_ISREG (st.st_mode))
    {
      reportf (import, path, "cannot read: not a regular file");
      count_error (import);
      return;
    }
  input = g_new0 (Input, 1);
  input->path = g_strdup (path);
  input->size = (uint64_t) st.st_size;
  g_ptr_array_add (inputs, input);
}

/* ---- the verb ------------------------------------------------------------------------------ */

int
charta_cmd_import (int    argc,
                   char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(ChartaProgress) progress = NULL;
  g_autoptr(GPtrArray) inputs = NULL;
  g_autoptr(GPtrArray) threads = NULL;
  g_auto(GStrv) args = NULL;
  g_autofree char *opt_agent = NULL;
  g_autofree char *opt_reason = NULL;
  gint64 opt_max_bytes = -1;
  int opt_jobs = DEFAULT_JOBS;
  gboolean opt_fast = FALSE;
  ChartaStoreFlags flags = CHARTA_STORE_FLAGS_NONE;
  Import import = { 0 };
  uint64_t total_bytes = 0, n_imported;
  const char *store_path;
  double elapsed;
  GStatBuf st;
  const GOptionEntry entries[] = {
    { "agent", 'a', 0, G_OPTION_ARG_STRING, &opt_agent,
      "Who is named as the agent of every version's Provenance (default \"charta import\")",
      "TEXT" },
    { "reason", 'r', 0, G_OPTION_ARG_STRING, &opt_reason,
      "Why: the reason recorded in every version's Provenance", "TEXT" },
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &opt_jobs,
      "Writes in flight at once (default 8)", "N" },
    { "max-bytes", 0, 0, G_OPTION_ARG_INT64, &opt_max_bytes,
      "Refuse files (NDJSON: lines) larger than N bytes (default 64 MiB)", "N" },
    { "fast", 0, 0, G_OPTION_ARG_NONE, &opt_fast,
      "Do not wait for the disk on every commit: a power loss may lose the last "
      "commits (never corrupts)", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL, "STORE INPUT…" },
    { NULL },
  };

  g_set_prgname ("charta import");
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                "Loads resources (.json), Bundles and NDJSON files (.ndjson), and "
                                "directories of them\nrecursively, into a store (created when "
                                "missing).  A transaction Bundle is all-or-nothing.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "charta import: %s\nTry 'charta import --help'.\n", error->message);
      return CHARTA_EXIT_USAGE;
    }
  if (args == NULL || g_strv_length (args) < 2)
    {
      fprintf (stderr, "charta import: expected a STORE and at least one INPUT\n"
                       "Usage: charta import [OPTION…] STORE INPUT…\n");
      return CHARTA_EXIT_USAGE;
    }
  if (opt_max_bytes == 0 || opt_max_bytes < -1)
    {
      fprintf (stderr, "charta import: --max-bytes must be positive\n");
      return CHARTA_EXIT_USAGE;
    }
  if (opt_jobs < 1 || opt_jobs > MAX_JOBS)
    {
      fprintf (stderr, "charta import: --jobs must be between 1 and %d\n", MAX_JOBS);
      return CHARTA_EXIT_USAGE;
    }
  if (opt_agent != NULL && *opt_agent == '\0')
    {
      fprintf (stderr, "charta import: --agent must not be empty\n");
      return CHARTA_EXIT_USAGE;
    }
  store_path = args[0];

  if (g_stat (store_path, &st) != 0)
    flags |= CHARTA_STORE_FLAGS_CREATE;
  else if (S_ISREG (st.st_mode) && st.st_size == 0)
    {
      fprintf (stderr, "%s: not a Charta store (an empty file)\n", store_path);
      return CHARTA_EXIT_INVALID;
    }
  if (opt_fast)
    flags |= CHARTA_STORE_FLAGS_FAST;
  store = charta_cmd_open_store (store_path, flags, &error);
  if (store == NULL)
    {
      charta_cmd_print_error (store_path, error);
      return CHARTA_EXIT_INVALID;
    }

  progress = charta_progress_new (stderr, isatty (STDERR_FILENO));
  import.store = store;
  import.progress = progress;
  import.limits.max_bytes = opt_max_bytes > 0 ? (size_t) opt_max_bytes : 0;
  import.agent = opt_agent != NULL ? opt_agent : "charta import";
  import.reason = opt_reason != NULL && *opt_reason != '\0' ? opt_reason : NULL;
  import.queue = g_async_queue_new ();
  import.keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_mutex_init (&import.mutex);
  g_cond_init (&import.cond);

  inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) input_free);
  for (unsigned i = 1; args[i] != NULL; i++)
    collect_path (&import, inputs, args[i], TRUE);
  for (unsigned i = 0; i < inputs->len; i++)
    total_bytes += ((Input *) inputs->pdata[i])->size;
  charta_progress_set_total (progress, inputs->len, total_bytes);

  threads = g_ptr_array_new ();
  for (int i = 0; i < opt_jobs; i++)
    g_ptr_array_add (threads, g_thread_new ("charta-import", worker, &import));

  for (unsigned i = 0; i < inputs->len; i++)
    {
      Input *input = inputs->pdata[i];
      gboolean file_done;

      import.current = input;
      if (g_str_has_suffix (input->path, ".ndjson"))
        import_ndjson_file (&import, input->path);
      else
        import_json_file (&import, input->path);

      g_mutex_lock (&import.mutex);
      input->read = TRUE;
      file_done = input->pending == 0;
      g_mutex_unlock (&import.mutex);
      if (file_done)
        charta_progress_add (progress, 1, input->size, 0);
    }

  for (unsigned i = 0; i < threads->len; i++)
    g_async_queue_push (import.queue, &stop_mark);
  for (unsigned i = 0; i < threads->len; i++)
    g_thread_join (threads->pdata[i]);
  charta_store_close (store);

  elapsed = charta_progress_get_elapsed (progress);
  charta_progress_finish (progress);

  n_imported = import.n_created + import.n_updated;
  printf ("imported %" G_GUINT64_FORMAT " resources (%" G_GUINT64_FORMAT " created, %"
          G_GUINT64_FORMAT " updated", n_imported, import.n_created, import.n_updated);
  if (import.n_deleted > 0)
    printf (", %" G_GUINT64_FORMAT " deleted", import.n_deleted);
  printf (") from %u files in %.1f s (%.0f resources/s); %" G_GUINT64_FORMAT " errors\n",
          inputs->len, elapsed, elapsed > 0 ? (double) n_imported / elapsed : 0.0,
          import.n_errors);

  g_async_queue_unref (import.queue);
  g_hash_table_unref (import.keys);
  g_mutex_clear (&import.mutex);
  g_cond_clear (&import.cond);

  return import.n_errors == 0 ? CHARTA_EXIT_OK : CHARTA_EXIT_INVALID;
}
