/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-chart-at.c: a patient's chart as it was at an instant (see charta-chart-at.h).
 *
 * Two GTasks, both on the ChartaClient (the source object) and run on its thread:
 *  - "version at": the version of one resource current at AT, from its history with _at=AT.
 *    The server should answer exactly that version; the entry whose instant (response.
 *    lastModified, else meta.lastUpdated) is the newest at or before AT is taken all the same,
 *    so that a server that answers more (a period's worth, or the whole history) is read
 *    right, and later pages are read only while no entry at or before AT has come (history is
 *    newest first).  It tells a version, a delete, or nothing (not yet recorded).
 *  - a section's read: the searches (one or two, together), then the type's history since AT
 *    page by page, then a "version at" for every id changed since AT that may have existed at
 *    AT, at most CHARTA_CHART_AT_MAX_REQUESTS in flight, then the merge.
 * A read's requests use its own GCancellable, cancelled by the caller's or by the first
 * failure; the read returns only when every request it sent has come back, so no callback
 * runs after the caller's.  Nothing is logged but types, ids and counts.
 */
#define G_LOG_DOMAIN "charta-chart-at"

#include <stdint.h>
#include <string.h>

#include "charta-chart-at.h"
#include "charta-fhir-text.h"

G_DEFINE_QUARK (charta-chart-at-error-quark, charta_chart_at_error)

/* ---- filters and instants ---------------------------------------------------------------- */

gboolean
charta_chart_at_is_clinically_active (JsonObject *resource)
{
  JsonArray *codings = charta_json_get_array (charta_json_get_object (resource, "clinicalStatus"),
                                              "coding");

  for (unsigned i = 0; codings != NULL && i < json_array_get_length (codings); i++)
    {
      JsonNode *node = json_array_get_element (codings, i);

      if (JSON_NODE_HOLDS_OBJECT (node)
          && g_strcmp0 (charta_json_get_string (json_node_get_object (node), "code"),
                        "active") == 0)
        return TRUE;
    }
  return FALSE;
}

gboolean
charta_chart_at_is_status_active (JsonObject *resource)
{
  return g_strcmp0 (charta_json_get_string (resource, "status"), "active") == 0;
}

static int64_t
usec_of (GDateTime *dt)
{
  return g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
}

char *
charta_chart_at_format_instant (GDateTime *at)
{
  g_autoptr(GDateTime) utc = NULL;
  g_autofree char *seconds = NULL;

  g_return_val_if_fail (at != NULL, NULL);

  utc = g_date_time_to_utc (at);
  seconds = g_date_time_format (utc, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf ("%s.%06dZ", seconds, g_date_time_get_microsecond (utc));
}

/* The instant @text (a FHIR instant: "2024-05-01T10:20:30.123Z") in µs since the epoch. */
static gboolean
parse_instant (const char *text,
               int64_t    *usec)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr(GDateTime) dt = NULL;

  if (text == NULL)
    return FALSE;
  dt = g_date_time_new_from_iso8601 (text, utc);
  if (dt == NULL)
    return FALSE;
  *usec = usec_of (dt);
  return TRUE;
}

static gboolean
all_digits (const char *text,
            size_t      n)
{
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isdigit (text[i]))
      return FALSE;
  return TRUE;
}

/* The first and last µs of a FHIR date, dateTime or instant, as the server's date index reads
 * it: a partial date spans its year, month or day, a time its last digit; no zone is UTC. */
static gboolean
date_bounds (const char *text,
             int64_t    *low,
             int64_t    *high)
{
  g_autoptr(GDateTime) start = NULL;
  g_autoptr(GDateTime) end = NULL;
  size_t length;
  int month = 1, day = 1;

  if (text == NULL)
    return FALSE;
  if (strchr (text, 'T') != NULL)
    {
      const char *dot = strchr (text, '.');
      int64_t span = G_USEC_PER_SEC;

      if (!parse_instant (text, low))
        return FALSE;
      for (const char *p = dot != NULL ? dot + 1 : ""; g_ascii_isdigit (*p); p++)
        if (span > 1)
          span /= 10;
      *high = *low + span - 1;
      return TRUE;
    }

  length = strlen (text);
  if (length < 4 || !all_digits (text, 4))
    return FALSE;
  if (length >= 7)
    {
      if (text[4] != '-' || !all_digits (text + 5, 2))
        return FALSE;
      month = (text[5] - '0') * 10 + (text[6] - '0');
    }
  if (length == 10)
    {
      if (text[7] != '-' || !all_digits (text + 8, 2))
        return FALSE;
      day = (text[8] - '0') * 10 + (text[9] - '0');
    }
  else if (length != 4 && length != 7)
    return FALSE;

  start = g_date_time_new_utc (g_ascii_strtoll (text, NULL, 10), month, day, 0, 0, 0);
  if (start == NULL)
    return FALSE;
  if (length == 4)
    end = g_date_time_add_years (start, 1);
  else if (length == 7)
    end = g_date_time_add_months (start, 1);
  else
    end = g_date_time_add_days (start, 1);
  *low = usec_of (start);
  *high = usec_of (end) - 1;
  return TRUE;
}

/* Widens [*low, *high] to the bounds of the date @text (when it has any). */
static gboolean
widen_by_date (const char *text,
               int64_t    *low,
               int64_t    *high)
{
  int64_t l, h;

  if (!date_bounds (text, &l, &h))
    return FALSE;
  *low = MIN (*low, l);
  *high = MAX (*high, h);
  return TRUE;
}

/* The bounds of a Period (an open end is INT64_MIN or INT64_MAX, as in the server's index). */
static gboolean
period_bounds (JsonObject *period,
               int64_t    *low,
               int64_t    *high)
{
  const char *start = charta_json_get_string (period, "start");
  const char *end = charta_json_get_string (period, "end");
  int64_t ignored;

  if (start == NULL && end == NULL)
    return FALSE;
  *low = INT64_MIN;
  *high = INT64_MAX;
  if (start != NULL && !date_bounds (start, low, &ignored))
    return FALSE;
  if (end != NULL && !date_bounds (end, &ignored, high))
    return FALSE;
  return TRUE;
}

/* The bounds of the date element @element of @resource: "authoredOn", or a choice element
 * ("effective": effectiveDateTime, effectiveInstant, effectivePeriod, effectiveTiming). */
static gboolean
element_bounds (JsonObject *resource,
                const char *element,
                int64_t    *low,
                int64_t    *high)
{
  size_t length = strlen (element);
  g_autoptr(GList) members = json_object_get_members (resource);
  JsonNode *value = NULL;
  JsonObject *object;

  for (GList *l = members; l != NULL && value == NULL; l = l->next)
    {
      const char *name = l->data;

      if (strcmp (name, element) == 0
          || (strncmp (name, element, length) == 0 && g_ascii_isupper (name[length])))
        value = json_object_get_member (resource, name);
    }
  if (value == NULL)
    return FALSE;
  if (JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_STRING)
    return date_bounds (json_node_get_string (value), low, high);
  if (!JSON_NODE_HOLDS_OBJECT (value))
    return FALSE;

  object = json_node_get_object (value);
  if (json_object_has_member (object, "start") || json_object_has_member (object, "end"))
    return period_bounds (object, low, high);

  /* a Timing: its events and repeat.boundsPeriod, outer limits only */
  {
    JsonArray *events = charta_json_get_array (object, "event");
    JsonObject *bounds = charta_json_get_object (charta_json_get_object (object, "repeat"),
                                                 "boundsPeriod");
    gboolean found = FALSE;

    *low = INT64_MAX;
    *high = INT64_MIN;
    for (unsigned i = 0; events != NULL && i < json_array_get_length (events); i++)
      {
        JsonNode *event = json_array_get_element (events, i);

        if (JSON_NODE_HOLDS_VALUE (event) && json_node_get_value_type (event) == G_TYPE_STRING)
          found |= widen_by_date (json_node_get_string (event), low, high);
      }
    if (bounds != NULL)
      {
        int64_t l, h;

        if (period_bounds (bounds, &l, &h))
          {
            *low = MIN (*low, l);
            *high = MAX (*high, h);
            found = TRUE;
          }
      }
    return found;
  }
}

/* ---- reading history Bundles ------------------------------------------------------------- */

/* The url of the link @relation of @bundle, or NULL. */
static const char *
bundle_link (JsonObject *bundle,
             const char *relation)
{
  JsonArray *links = charta_json_get_array (bundle, "link");

  for (unsigned i = 0; links != NULL && i < json_array_get_length (links); i++)
    {
      JsonNode *node = json_array_get_element (links, i);

      if (JSON_NODE_HOLDS_OBJECT (node)
          && g_strcmp0 (charta_json_get_string (json_node_get_object (node), "relation"),
                        relation) == 0)
        return charta_json_get_string (json_node_get_object (node), "url");
    }
  return NULL;
}

/* The next page of @bundle (answered for @what), or NULL on its last page; a next link that
 * leaves the client's server (which would take the bearer token elsewhere) or that is the page
 * just read is an error. */
static gboolean
bundle_next (ChartaClient  *client,
             JsonObject    *bundle,
             const char    *current,
             const char    *what,
             char         **next,
             GError       **error)
{
  const char *url = bundle_link (bundle, "next");
  g_autofree char *prefix = g_strconcat (charta_client_get_base_url (client), "/", NULL);
  g_autofree char *absolute = NULL;

  *next = NULL;
  if (url == NULL)
    return TRUE;
  absolute = charta_client_dup_url (client, url);
  if (!g_str_has_prefix (absolute, prefix))
    {
      g_set_error (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED,
                   "The server's answer to %s has a next link to another server; it was not "
                   "followed", what);
      return FALSE;
    }
  if (current != NULL && strcmp (absolute, current) == 0)
    {
      g_set_error (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED,
                   "The server's answer to %s links to itself as the next page", what);
      return FALSE;
    }
  *next = g_steal_pointer (&absolute);
  return TRUE;
}

/* The entries of a Bundle of @kind ("history", "searchset"), or an error naming @what. */
static gboolean
bundle_entries (JsonNode    *root,
                const char  *kind,
                const char  *what,
                JsonArray  **entries,
                GError     **error)
{
  JsonObject *bundle = json_node_get_object (root);
  JsonNode *entry = json_object_get_member (bundle, "entry");
  const char *resource_type = charta_json_get_string (bundle, "resourceType");
  const char *bundle_type = charta_json_get_string (bundle, "type");

  *entries = NULL;
  if (g_strcmp0 (resource_type, "Bundle") != 0 || g_strcmp0 (bundle_type, kind) != 0)
    {
      g_set_error (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED,
                   "The server answered %s with a %s of type %s where a Bundle of type %s "
                   "was expected", what, resource_type != NULL ? resource_type : "resource",
                   bundle_type != NULL ? bundle_type : "(none)", kind);
      return FALSE;
    }
  if (entry != NULL && !JSON_NODE_HOLDS_ARRAY (entry))
    {
      g_set_error (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED,
                   "The server's answer to %s has an entry that is not an array", what);
      return FALSE;
    }
  *entries = entry != NULL ? json_node_get_array (entry) : NULL;
  return TRUE;
}

/* The id in @url when it ends in "@type/id" ("Observation/o1", "http://h/fhir/Observation/o1"),
 * else NULL. */
static const char *
id_in_url (const char *url,
           const char *type)
{
  size_t length = strlen (type);
  const char *slash = url != NULL ? strrchr (url, '/') : NULL;
  const char *segment;

  if (slash == NULL || slash[1] == '\0' || strchr (url, '?') != NULL
      || (size_t) (slash - url) < length)
    return NULL;
  segment = slash - length;
  if (strncmp (segment, type, length) != 0 || (segment > url && segment[-1] != '/'))
    return NULL;
  return slash + 1;
}

/* What one history entry says. */
typedef struct
{
  JsonObject *resource;  /* the version (borrowed), NULL for a delete */
  JsonNode *node;        /* its node (borrowed) */
  const char *id;
  gboolean deleted;
  gboolean created;      /* the version that created the resource (POST, or 201 Created) */
  gboolean has_instant;
  int64_t instant;       /* µs: response.lastModified, else meta.lastUpdated */
} HistoryEntry;

/* Reads entry @index of a history Bundle of @type (answered for @what). */
static gboolean
read_history_entry (JsonArray     *entries,
                    unsigned       index,
                    const char    *type,
                    const char    *what,
                    HistoryEntry  *out,
                    GError       **error)
{
  JsonNode *node = json_array_get_element (entries, index);
  JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonObject *request = charta_json_get_object (entry, "request");
  JsonObject *response = charta_json_get_object (entry, "response");
  const char *method = charta_json_get_string (request, "method");
  const char *status = charta_json_get_string (response, "status");

  memset (out, 0, sizeof *out);
  out->deleted = g_strcmp0 (method, "DELETE") == 0;
  out->created = g_strcmp0 (method, "POST") == 0
                 || (status != NULL && g_str_has_prefix (status, "201"));
  out->resource = out->deleted ? NULL : charta_json_get_object (entry, "resource");
  if (out->resource != NULL)
    {
      out->node = json_object_get_member (entry, "resource");
      out->id = charta_json_get_string (out->resource, "id");
      if (g_strcmp0 (charta_json_get_string (out->resource, "resourceType"), type) != 0)
        out->id = NULL;
    }
  else if (out->deleted)
    {
      /* a delete names its resource by request.url ("Type/id"), else by fullUrl */
      out->id = id_in_url (charta_json_get_string (request, "url"), type);
      if (out->id == NULL)
        out->id = id_in_url (charta_json_get_string (entry, "fullUrl"), type);
    }
  if (out->id == NULL)
    {
      g_set_error (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED,
                   "The server's answer to %s has an entry (entry[%u]) that is neither a %s "
                   "nor the delete of one", what, index, type);
      return FALSE;
    }
  out->has_instant = parse_instant (charta_json_get_string (response, "lastModified"),
                                    &out->instant)
                     || parse_instant (charta_json_get_string (charta_json_get_object (
                                         out->resource, "meta"), "lastUpdated"), &out->instant);
  return TRUE;
}

/* ---- the version of one resource at AT --------------------------------------------------- */

typedef enum
{
  VERSION_NONE,      /* not yet recorded at AT */
  VERSION_DELETED,   /* deleted at AT */
  VERSION_RESOURCE,  /* the version current at AT */
} VersionKind;

typedef struct
{
  char *type;
  char *id;
  char *at_text;
  int64_t at;
  char *url;            /* the page being read */
  char *what;           /* "the history of Observation/o1", for messages */
  gboolean has_best;    /* an entry at or before AT has come */
  int64_t best_instant; /* the newest such entry's */
  VersionKind best;     /* what it says */
  JsonNode *best_resource;
  gboolean has_untimed; /* an entry with no instant has come */
  VersionKind untimed;  /* what the last one says */
  JsonNode *untimed_resource;
  unsigned n_entries;
  VersionKind kind;     /* the answer */
  JsonNode *resource;
} VersionAt;

static void
version_at_free (VersionAt *v)
{
  g_free (v->type);
  g_free (v->id);
  g_free (v->at_text);
  g_free (v->url);
  g_free (v->what);
  g_clear_pointer (&v->best_resource, json_node_unref);
  g_clear_pointer (&v->untimed_resource, json_node_unref);
  g_clear_pointer (&v->resource, json_node_unref);
  g_free (v);
}

static void version_at_page (GObject      *source,
                             GAsyncResult *result,
                             gpointer      user_data);

/* Settles the answer: the newest entry at or before AT, else a server's only entry without an
 * instant (it did the _at itself), else none. */
static gboolean
version_at_settle (VersionAt  *v,
                   GError    **error)
{
  if (v->has_best)
    {
      v->kind = v->best;
      v->resource = g_steal_pointer (&v->best_resource);
    }
  else if (v->has_untimed && v->n_entries == 1)
    {
      v->kind = v->untimed;
      v->resource = g_steal_pointer (&v->untimed_resource);
    }
  else if (v->has_untimed)
    {
      g_set_error (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED,
                   "The server's answer to %s has versions without a time (no "
                   "response.lastModified nor meta.lastUpdated): which was current at %s "
                   "cannot be told", v->what, v->at_text);
      return FALSE;
    }
  else
    v->kind = VERSION_NONE;
  return TRUE;
}

/* Sets @kind and @resource to what @entry says. */
static void
take_entry (HistoryEntry  *entry,
            VersionKind   *kind,
            JsonNode     **resource)
{
  g_clear_pointer (resource, json_node_unref);
  *kind = entry->deleted ? VERSION_DELETED : VERSION_RESOURCE;
  if (!entry->deleted)
    *resource = json_node_ref (entry->node);
}

static void
version_at_page (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ChartaClient *client = CHARTA_CLIENT (source);
  VersionAt *v = g_task_get_task_data (task);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *next = NULL;
  JsonArray *entries;

  root = charta_client_get_finish (client, result, &error);
  if (root == NULL || !bundle_entries (root, "history", v->what, &entries, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      HistoryEntry entry;

      if (!read_history_entry (entries, i, v->type, v->what, &entry, &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      if (strcmp (entry.id, v->id) != 0)
        {
          g_task_return_new_error (task, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED,
                                   "The server's answer to %s has a version of %s/%s "
                                   "(entry[%u])", v->what, v->type, entry.id, i);
          return;
        }
      v->n_entries++;
      if (!entry.has_instant)
        {
          v->has_untimed = TRUE;
          take_entry (&entry, &v->untimed, &v->untimed_resource);
        }
      else if (entry.instant <= v->at && (!v->has_best || entry.instant > v->best_instant))
        {
          v->has_best = TRUE;
          v->best_instant = entry.instant;
          take_entry (&entry, &v->best, &v->best_resource);
        }
    }

  /* history is newest first: once a version at or before AT has come, later pages are older */
  if (!v->has_best
      && !bundle_next (client, json_node_get_object (root), v->url, v->what, &next, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (next != NULL)
    {
      GCancellable *cancellable = g_task_get_cancellable (task);

      g_free (v->url);
      v->url = g_steal_pointer (&next);
      charta_client_get_async (client, v->url, cancellable, version_at_page,
                               g_steal_pointer (&task));
      return;
    }
  if (!version_at_settle (v, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* Reads the version of @type/@id current at @at (µs; @at_text its text). */
static void
version_at_async (ChartaClient        *client,
                  const char          *type,
                  const char          *id,
                  const char          *at_text,
                  int64_t              at,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (client, cancellable, callback, user_data);
  g_autofree char *escaped = g_uri_escape_string (id, NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("%s/%s/_history?_at=%s", type, escaped, at_text);
  VersionAt *v = g_new0 (VersionAt, 1);

  g_task_set_source_tag (task, version_at_async);
  v->type = g_strdup (type);
  v->id = g_strdup (id);
  v->at_text = g_strdup (at_text);
  v->at = at;
  v->url = charta_client_dup_url (client, path);
  v->what = g_strdup_printf ("the history of %s/%s", type, id);
  g_task_set_task_data (task, v, (GDestroyNotify) version_at_free);
  g_debug ("reading %s/%s at %s", type, id, at_text);
  charta_client_get_async (client, v->url, cancellable, version_at_page, g_steal_pointer (&task));
}

/* The answer: its kind, and the resource (a new reference) for VERSION_RESOURCE. */
static gboolean
version_at_finish (ChartaClient  *client,
                   GAsyncResult  *result,
                   VersionKind   *kind,
                   JsonNode     **resource,
                   GError       **error)
{
  VersionAt *v = g_task_get_task_data (G_TASK (result));

  g_assert (g_task_get_source_tag (G_TASK (result)) == version_at_async);
  *resource = NULL;
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  *kind = v->kind;
  if (v->resource != NULL)
    *resource = json_node_ref (v->resource);
  return TRUE;
}

/* ---- the Patient at AT ------------------------------------------------------------------- */

typedef struct
{
  char *patient_id;
  char *at_text;
} PatientRead;

static void
patient_read_free (PatientRead *read)
{
  g_free (read->patient_id);
  g_free (read->at_text);
  g_free (read);
}

static void
patient_read_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PatientRead *read = g_task_get_task_data (task);
  g_autoptr(JsonNode) resource = NULL;
  g_autoptr(GError) error = NULL;
  VersionKind kind;

  if (!version_at_finish (CHARTA_CLIENT (source), result, &kind, &resource, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else if (kind == VERSION_NONE)
    g_task_return_new_error (task, CHARTA_CHART_AT_ERROR, CHARTA_CHART_AT_ERROR_NOT_RECORDED,
                             "Patient/%s had not been recorded yet at %s", read->patient_id,
                             read->at_text);
  else if (kind == VERSION_DELETED)
    g_task_return_new_error (task, CHARTA_CHART_AT_ERROR, CHARTA_CHART_AT_ERROR_DELETED,
                             "Patient/%s had been deleted by %s", read->patient_id,
                             read->at_text);
  else
    g_task_return_pointer (task, g_steal_pointer (&resource), (GDestroyNotify) json_node_unref);
}

void
charta_chart_at_read_patient_async (ChartaClient        *client,
                                    const char          *patient_id,
                                    GDateTime           *at,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  PatientRead *read;

  g_return_if_fail (CHARTA_IS_CLIENT (client));
  g_return_if_fail (patient_id != NULL && *patient_id != '\0');
  g_return_if_fail (at != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (client, cancellable, callback, user_data);
  g_task_set_source_tag (task, charta_chart_at_read_patient_async);
  read = g_new0 (PatientRead, 1);
  read->patient_id = g_strdup (patient_id);
  read->at_text = charta_chart_at_format_instant (at);
  g_task_set_task_data (task, read, (GDestroyNotify) patient_read_free);
  version_at_async (client, "Patient", patient_id, read->at_text, usec_of (at), cancellable,
                    patient_read_done, g_steal_pointer (&task));
}

JsonNode *
charta_chart_at_read_patient_finish (ChartaClient  *client,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (CHARTA_IS_CLIENT (client), NULL);
  g_return_val_if_fail (g_task_is_valid (result, client), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                          == charta_chart_at_read_patient_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- a section at AT --------------------------------------------------------------------- */

/* One id changed since AT. */
typedef struct
{
  char *id;
  gboolean has_oldest;
  int64_t oldest;            /* µs: the oldest change since AT seen so far */
  gboolean oldest_created;   /* that change created the resource */
  gboolean untimed;          /* a change without an instant: ask the server */
  JsonNode *resource;        /* the version at AT, once read; NULL: none then */
} Changed;

static void
changed_free (Changed *c)
{
  g_free (c->id);
  g_clear_pointer (&c->resource, json_node_unref);
  g_free (c);
}

typedef struct
{
  ChartaClient *client;
  char *patient_id;
  char *at_text;
  int64_t at;
  char *type;
  char *params;
  char *in_error_params;
  ChartaChartAtFilter keep;
  ChartaChartAtFilter keep_in_error;
  char *sort_date;
  unsigned count;

  GCancellable *cancellable;  /* every request's: cancelled by the caller's or a failure */
  GCancellable *outer;        /* the caller's, or NULL */
  gulong outer_handler;
  unsigned n_in_flight;
  GError *error;              /* the first failure */

  GPtrArray *found[2];        /* JsonNode: the searches' resources, server order */
  gboolean more;              /* the first search had a next page */
  char *history_url;          /* the history page being read */
  GHashTable *changed;        /* id → Changed */
  GPtrArray *changed_order;   /* Changed, in order of first appearance in the history */
  GQueue to_read;             /* Changed whose version at AT is still to be read */
} SectionRead;

static void
section_read_free (SectionRead *read)
{
  if (read->outer_handler != 0)
    g_signal_handler_disconnect (read->outer, read->outer_handler);
  g_clear_object (&read->outer);
  g_clear_object (&read->cancellable);
  g_clear_object (&read->client);
  g_free (read->patient_id);
  g_free (read->at_text);
  g_free (read->type);
  g_free (read->params);
  g_free (read->in_error_params);
  g_free (read->sort_date);
  g_clear_error (&read->error);
  g_clear_pointer (&read->found[0], g_ptr_array_unref);
  g_clear_pointer (&read->found[1], g_ptr_array_unref);
  g_free (read->history_url);
  g_queue_clear (&read->to_read);
  g_clear_pointer (&read->changed, g_hash_table_unref);
  g_clear_pointer (&read->changed_order, g_ptr_array_unref);
  g_free (read);
}

static void
unref_closure_data (gpointer  data,
                    GClosure *closure)
{
  g_object_unref (data);
}

static void
outer_cancelled (GCancellable *outer,
                 gpointer      data)
{
  g_cancellable_cancel (G_CANCELLABLE (data));
}

/* Keeps the first failure and stops the other requests. */
static void
section_fail (SectionRead *read,
              GError      *error)
{
  if (read->error == NULL)
    {
      g_debug ("%s at %s: %s", read->type, read->at_text, error->message);
      read->error = error;
      g_cancellable_cancel (read->cancellable);
    }
  else
    g_error_free (error);
}

/* After a request came back with a failure kept: returns it once nothing is in flight. */
static gboolean
section_return_error (GTask *task)
{
  SectionRead *read = g_task_get_task_data (task);

  if (read->error == NULL)
    return FALSE;
  /* (when the caller cancelled, the task's own check makes it G_IO_ERROR_CANCELLED) */
  if (read->n_in_flight == 0)
    g_task_return_error (task, g_steal_pointer (&read->error));
  return TRUE;
}

/* Whether @resource refers to Patient/@patient_id by subject or patient (relative, absolute on
 * the client's server, or versioned). */
static gboolean
in_compartment (SectionRead *read,
                JsonObject  *resource)
{
  static const char *const elements[] = { "subject", "patient" };
  g_autofree char *relative = g_strdup_printf ("Patient/%s", read->patient_id);
  g_autofree char *absolute = g_strdup_printf ("%s/%s", charta_client_get_base_url (read->client),
                                               relative);

  for (size_t i = 0; i < G_N_ELEMENTS (elements); i++)
    {
      const char *reference = charta_json_get_string (charta_json_get_object (resource,
                                                                              elements[i]),
                                                      "reference");
      const char *rest = NULL;

      if (reference == NULL)
        continue;
      if (g_str_has_prefix (reference, absolute))
        rest = reference + strlen (absolute);
      else if (g_str_has_prefix (reference, relative))
        rest = reference + strlen (relative);
      if (rest != NULL && (*rest == '\0' || g_str_has_prefix (rest, "/_history/")))
        return TRUE;
    }
  return FALSE;
}

typedef struct
{
  JsonNode *node;    /* the resource (borrowed) */
  const char *id;
  gboolean has_key;
  int64_t key;
} Item;

static int
compare_items (gconstpointer a,
               gconstpointer b,
               gpointer      data)
{
  const Item *x = *(Item *const *) a;
  const Item *y = *(Item *const *) b;
  gboolean descending = GPOINTER_TO_INT (data);

  /* missing dates last either way, as the server sorts */
  if (x->has_key != y->has_key)
    return x->has_key ? -1 : 1;
  if (!x->has_key || x->key == y->key)
    return 0;
  if (descending)
    return x->key > y->key ? -1 : 1;
  return x->key < y->key ? -1 : 1;
}

static void
add_item (GPtrArray  *items,
          GHashTable *listed,
          JsonNode   *node)
{
  Item *item = g_new0 (Item, 1);

  item->node = node;
  item->id = charta_json_get_string (json_node_get_object (node), "id");
  g_ptr_array_add (items, item);
  if (listed != NULL)
    g_hash_table_add (listed, (gpointer) item->id);
}

/* The search results of @part (0: @params, 1: @in_error_params) that the history does not
 * overrule, then the changed ones that @keep keeps. */
static GPtrArray *
section_part (SectionRead         *read,
              unsigned             part,
              ChartaChartAtFilter  keep,
              GHashTable          *except)
{
  GPtrArray *items = g_ptr_array_new_with_free_func (g_free);

  for (unsigned i = 0; i < read->found[part]->len; i++)
    {
      JsonNode *node = g_ptr_array_index (read->found[part], i);
      const char *id = charta_json_get_string (json_node_get_object (node), "id");

      if (!g_hash_table_contains (read->changed, id)
          && (except == NULL || !g_hash_table_contains (except, id)))
        add_item (items, NULL, node);
    }
  for (unsigned i = 0; i < read->changed_order->len; i++)
    {
      Changed *c = g_ptr_array_index (read->changed_order, i);
      JsonObject *resource = c->resource != NULL ? json_node_get_object (c->resource) : NULL;

      if (resource == NULL || !in_compartment (read, resource)
          || (keep != NULL && !keep (resource))
          || (except != NULL && g_hash_table_contains (except, c->id)))
        continue;
      add_item (items, NULL, c->resource);
    }
  return items;
}

static void
section_merge (GTask *task)
{
  SectionRead *read = g_task_get_task_data (task);
  g_autoptr(GPtrArray) main_items = NULL;
  g_autoptr(GPtrArray) result = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_autoptr(GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean more = read->more;

  main_items = section_part (read, 0, read->keep, NULL);
  if (read->sort_date != NULL)
    {
      gboolean descending = read->sort_date[0] == '-';
      const char *element = read->sort_date + (descending ? 1 : 0);

      for (unsigned i = 0; i < main_items->len; i++)
        {
          Item *item = g_ptr_array_index (main_items, i);
          int64_t low, high;

          item->has_key = element_bounds (json_node_get_object (item->node), element, &low,
                                          &high);
          item->key = descending ? high : low;
        }
      /* stable: ties keep the server's order, the unchanged ones first */
      g_ptr_array_sort_with_data (main_items, compare_items, GINT_TO_POINTER (descending));
    }
  if (main_items->len > read->count)
    more = TRUE;
  for (unsigned i = 0; i < main_items->len && i < read->count; i++)
    {
      Item *item = g_ptr_array_index (main_items, i);

      g_ptr_array_add (result, json_node_ref (item->node));
      g_hash_table_add (listed, (gpointer) item->id);
    }

  if (read->in_error_params != NULL)
    {
      g_autoptr(GPtrArray) in_error = section_part (read, 1, read->keep_in_error, listed);

      for (unsigned i = 0; i < in_error->len && i < read->count; i++)
        g_ptr_array_add (result, json_node_ref (((Item *) g_ptr_array_index (in_error,
                                                                             i))->node));
    }

  g_debug ("%s at %s: %u listed (%u unchanged, %u changed since)", read->type, read->at_text,
           result->len, read->found[0]->len, read->changed_order->len);
  read->more = more;
  g_task_return_pointer (task, g_steal_pointer (&result), (GDestroyNotify) g_ptr_array_unref);
}

static void read_version_done (GObject      *source,
                               GAsyncResult *result,
                               gpointer      user_data);

/* Sends the reads of versions at AT while fewer than the limit are in flight; merges when all
 * have come back. */
static void
pump_versions (GTask *task)
{
  SectionRead *read = g_task_get_task_data (task);

  while (read->error == NULL && read->n_in_flight < CHARTA_CHART_AT_MAX_REQUESTS
         && !g_queue_is_empty (&read->to_read))
    {
      Changed *c = g_queue_pop_head (&read->to_read);
      gpointer *data = g_new (gpointer, 2);

      data[0] = g_object_ref (task);
      data[1] = c;
      read->n_in_flight++;
      version_at_async (read->client, read->type, c->id, read->at_text, read->at,
                        read->cancellable, read_version_done, data);
    }
  if (section_return_error (task))
    return;
  if (read->n_in_flight == 0 && g_queue_is_empty (&read->to_read))
    section_merge (task);
}

static void
read_version_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  gpointer *data = user_data;
  g_autoptr(GTask) task = data[0];
  Changed *c = data[1];
  SectionRead *read = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  VersionKind kind;

  g_free (data);
  read->n_in_flight--;
  if (!version_at_finish (CHARTA_CLIENT (source), result, &kind, &c->resource, &error))
    section_fail (read, g_steal_pointer (&error));
  pump_versions (task);
}

static void read_history_page (GObject      *source,
                               GAsyncResult *result,
                               gpointer      user_data);

/* Notes @entry of the type's history since AT. */
static void
note_change (SectionRead  *read,
             HistoryEntry *entry)
{
  Changed *c = g_hash_table_lookup (read->changed, entry->id);

  if (c == NULL)
    {
      c = g_new0 (Changed, 1);
      c->id = g_strdup (entry->id);
      g_hash_table_insert (read->changed, c->id, c);
      g_ptr_array_add (read->changed_order, c);
    }
  if (!entry->has_instant)
    c->untimed = TRUE;
  else if (!c->has_oldest || entry->instant < c->oldest)
    {
      c->has_oldest = TRUE;
      c->oldest = entry->instant;
      c->oldest_created = entry->created;
    }
}

static void
read_history_page (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SectionRead *read = g_task_get_task_data (task);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *what = g_strdup_printf ("the history of %s since %s", read->type,
                                           read->at_text);
  g_autofree char *next = NULL;
  JsonArray *entries;
  unsigned n_skipped = 0;

  read->n_in_flight--;
  root = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (root == NULL || !bundle_entries (root, "history", what, &entries, &error))
    {
      section_fail (read, g_steal_pointer (&error));
      section_return_error (task);
      return;
    }
  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      HistoryEntry entry;

      if (!read_history_entry (entries, i, read->type, what, &entry, &error))
        {
          section_fail (read, g_steal_pointer (&error));
          section_return_error (task);
          return;
        }
      note_change (read, &entry);
    }
  if (!bundle_next (read->client, json_node_get_object (root), read->history_url, what, &next,
                    &error))
    {
      section_fail (read, g_steal_pointer (&error));
      section_return_error (task);
      return;
    }
  if (next != NULL)
    {
      g_free (read->history_url);
      read->history_url = g_steal_pointer (&next);
      read->n_in_flight++;
      charta_client_get_async (read->client, read->history_url, read->cancellable,
                               read_history_page, g_steal_pointer (&task));
      return;
    }

  /* Whether each changed id existed at AT: not when its oldest change since AT created it
   * strictly after AT (created at AT exactly, it was current at AT). */
  for (unsigned i = 0; i < read->changed_order->len; i++)
    {
      Changed *c = g_ptr_array_index (read->changed_order, i);

      if (!c->untimed && c->has_oldest && c->oldest_created && c->oldest > read->at)
        n_skipped++;
      else
        g_queue_push_tail (&read->to_read, c);
    }
  g_debug ("%s since %s: %u changed, %u created since", read->type, read->at_text,
           read->changed_order->len, n_skipped);
  pump_versions (task);
}

/* Starts reading the type's history since AT. */
static void
read_history (GTask *task)
{
  SectionRead *read = g_task_get_task_data (task);
  g_autofree char *path = g_strdup_printf ("%s/_history?_since=%s&_count=%u", read->type,
                                           read->at_text, CHARTA_CHART_AT_HISTORY_PAGE);

  read->history_url = charta_client_dup_url (read->client, path);
  read->n_in_flight++;
  charta_client_get_async (read->client, read->history_url, read->cancellable,
                           read_history_page, g_object_ref (task));
}

/* The resources of a searchset Bundle (matches only) into @found. */
static gboolean
take_matches (SectionRead  *read,
              JsonNode     *root,
              GPtrArray    *found,
              GError      **error)
{
  g_autofree char *what = g_strdup_printf ("a search for %s", read->type);
  JsonArray *entries;

  if (!bundle_entries (root, "searchset", what, &entries, error))
    return FALSE;
  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonNode *resource = entry != NULL ? json_object_get_member (entry, "resource") : NULL;
      const char *mode = charta_json_get_string (charta_json_get_object (entry, "search"),
                                                 "mode");

      if (mode != NULL && strcmp (mode, "match") != 0)
        continue;
      if (resource == NULL || !JSON_NODE_HOLDS_OBJECT (resource)
          || g_strcmp0 (charta_json_get_string (json_node_get_object (resource),
                                                "resourceType"), read->type) != 0
          || charta_json_get_string (json_node_get_object (resource), "id") == NULL)
        {
          g_set_error (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_MALFORMED,
                       "The server's answer to %s has a match (entry[%u]) that is not a %s "
                       "with an id", what, i, read->type);
          return FALSE;
        }
      g_ptr_array_add (found, json_node_ref (resource));
    }
  return TRUE;
}

static void
read_search_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  gpointer *data = user_data;
  g_autoptr(GTask) task = data[0];
  unsigned part = GPOINTER_TO_UINT (data[1]);
  SectionRead *read = g_task_get_task_data (task);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;

  g_free (data);
  read->n_in_flight--;
  root = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (root == NULL || !take_matches (read, root, read->found[part], &error))
    section_fail (read, g_steal_pointer (&error));
  else if (part == 0 && bundle_link (json_node_get_object (root), "next") != NULL)
    read->more = TRUE;
  if (section_return_error (task) || read->n_in_flight > 0)
    return;
  read_history (task);
}

/* Starts search @part (0: @params, 1: @in_error_params) limited to versions at or before AT. */
static void
read_search (GTask    *task,
             unsigned  part)
{
  SectionRead *read = g_task_get_task_data (task);
  const char *params = part == 0 ? read->params : read->in_error_params;
  g_autofree char *id = g_uri_escape_string (read->patient_id, NULL, FALSE);
  g_autofree char *path = NULL;
  gpointer *data = g_new (gpointer, 2);

  path = g_strdup_printf ("%s?patient=%s%s%s&_lastUpdated=le%s&_count=%u", read->type, id,
                          params != NULL && *params != '\0' ? "&" : "",
                          params != NULL ? params : "", read->at_text, read->count);
  data[0] = g_object_ref (task);
  data[1] = GUINT_TO_POINTER (part);
  read->n_in_flight++;
  charta_client_get_async (read->client, path, read->cancellable, read_search_done, data);
}

void
charta_chart_at_read_async (ChartaClient               *client,
                            const char                 *patient_id,
                            GDateTime                  *at,
                            const ChartaChartAtSection *section,
                            GCancellable               *cancellable,
                            GAsyncReadyCallback         callback,
                            gpointer                    user_data)
{
  g_autoptr(GTask) task = NULL;
  SectionRead *read;

  g_return_if_fail (CHARTA_IS_CLIENT (client));
  g_return_if_fail (patient_id != NULL && *patient_id != '\0');
  g_return_if_fail (at != NULL);
  g_return_if_fail (section != NULL && section->type != NULL && section->count > 0);
  g_return_if_fail (section->in_error_params == NULL || section->keep_in_error != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (client, cancellable, callback, user_data);
  g_task_set_source_tag (task, charta_chart_at_read_async);
  read = g_new0 (SectionRead, 1);
  read->client = g_object_ref (client);
  read->patient_id = g_strdup (patient_id);
  read->at_text = charta_chart_at_format_instant (at);
  read->at = usec_of (at);
  read->type = g_strdup (section->type);
  read->params = g_strdup (section->params);
  read->in_error_params = g_strdup (section->in_error_params);
  read->keep = section->keep;
  read->keep_in_error = section->keep_in_error;
  read->sort_date = g_strdup (section->sort_date);
  read->count = section->count;
  read->cancellable = g_cancellable_new ();
  read->found[0] = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  read->found[1] = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  read->changed = g_hash_table_new (g_str_hash, g_str_equal);
  read->changed_order = g_ptr_array_new_with_free_func ((GDestroyNotify) changed_free);
  g_queue_init (&read->to_read);
  g_task_set_task_data (task, read, (GDestroyNotify) section_read_free);

  if (cancellable != NULL)
    {
      read->outer = g_object_ref (cancellable);
      /* a plain signal handler, not g_cancellable_connect(): it may be disconnected from
       * within the caller's cancelling (g_cancellable_disconnect() would deadlock there) */
      read->outer_handler = g_signal_connect_data (cancellable, "cancelled",
                                                   G_CALLBACK (outer_cancelled),
                                                   g_object_ref (read->cancellable),
                                                   unref_closure_data, 0);
      if (g_cancellable_is_cancelled (cancellable))
        g_cancellable_cancel (read->cancellable);
    }

  g_debug ("reading %s of Patient/%s at %s", read->type, patient_id, read->at_text);
  read_search (task, 0);
  if (read->in_error_params != NULL)
    read_search (task, 1);
}

GPtrArray *
charta_chart_at_read_finish (ChartaClient  *client,
                             GAsyncResult  *result,
                             gboolean      *more,
                             GError       **error)
{
  SectionRead *read;
  GPtrArray *resources;

  g_return_val_if_fail (CHARTA_IS_CLIENT (client), NULL);
  g_return_val_if_fail (g_task_is_valid (result, client), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == charta_chart_at_read_async,
                        NULL);

  read = g_task_get_task_data (G_TASK (result));
  resources = g_task_propagate_pointer (G_TASK (result), error);
  if (more != NULL)
    *more = resources != NULL && read->more;
  return resources;
}
