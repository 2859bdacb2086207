/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-store.c: ChartaStore, the embedded versioned FHIR store (engine-neutral part).
 *
 * A write is a Request holding one or more Ops (a transaction holds many).  Everything that
 * needs no database is done on the caller's thread before the request is queued: validation,
 * ids, urn:uuid resolution, the canonical body with id and meta stamped on it, and the
 * search-index values.  The caller prepares against the current state it reads
 * from a reader connection; the writer looks the state up again inside its transaction and,
 * in the rare case it changed meanwhile, prepares the op again itself.  The writer also makes
 * the request's Provenance (see "Provenance"): one per request, not per version.
 *
 * What that costs, per resource, is what bounds the store's throughput, so:
 *  - the body and the tree its index values are extracted from are made in one pass
 *    (charta_resource_new_edited(): the tree shares the input's unedited subtrees instead of
 *    parsing the body again), and that tree is freed as soon as the values are out;
 *  - the resource a write returns is made from the committed body and parsed only if the
 *    caller looks inside it (charta_resource_new_lazy());
 *  - ids are time-ordered UUIDs (new_resource_id()), so that the index pages a commit
 *    dirties are few;
 *  - at most as many threads as there are cores prepare at once (see "CPU slots").
 *
 * Only meta.lastUpdated cannot be known before the writer runs: the body carries a
 * placeholder instant of the same width, which the writer overwrites in place (no index row
 * depends on it: _lastUpdated is served from the version table).  lastUpdated is strictly
 * increasing over the whole store (µs; bumped by 1 µs when the clock stands still or goes
 * back), so history has one total order.
 *
 * The writer thread owns the only write connection.  It takes a request from the queue,
 * begins a transaction, takes whatever else is queued (up to MAX_BATCH), runs the requests,
 * commits once, and then wakes every caller.  Each request behaves as if in its own savepoint
 * (a failing request is rolled back alone and gets its error): the batch first runs without
 * savepoints, which cost a page copy per page touched, and runs again with them only when a
 * request fails (run_batch()).  Besides ops, a request may be a job (charta_store_job_submit()):
 * a function the writer runs in its transaction, which Binary content uses to write its chunks
 * a few MiB at a time (charta-store-binary.c).  Readers take a connection from a small pool.
 *
 * Nothing here logs a body or anything identifying a patient: ids and versions only.
 */
#define G_LOG_DOMAIN "charta-store"

#include <string.h>
#include <time.h>

#include "charta-resource-private.h"
#include "charta-search-index-private.h"
#include "charta-store.h"
#include "charta-store-private.h"

#define MAX_BATCH 256
#define DEFAULT_PAGE 50
#define MAX_PAGE 10000
/* The width of every lastUpdated the store writes: "2024-05-01T10:20:30.123456Z". */
#define INSTANT_LENGTH 27
#define PLACEHOLDER_INSTANT "1970-01-01T00:00:00.000000Z"

G_DEFINE_QUARK (charta-store-error-quark, charta_store_error)

struct _ChartaStore
{
  GObject           parent_instance;

  char             *path;
  ChartaStoreFlags  flags;

  GMutex            lock;            /* guards everything below but the writer's own state */
  GCond             cond;
  gboolean          closed;
  char             *agent_reference; /* the default agent */
  char             *agent_display;

  GPtrArray        *idle_readers;    /* ChartaDb * */
  unsigned          n_readers;       /* open reader connections (idle or lent) */
  unsigned          readers_out;     /* lent */
  unsigned          max_readers;
  unsigned          default_count;   /* search page sizes */
  unsigned          max_count;
  int64_t           search_timeout;  /* µs, 0: none */

  unsigned          preparing;       /* threads preparing writes (see take_cpu_slot()) */
  unsigned          max_preparing;
  GCond             slot_cond;       /* signalled when a slot is given back */

  GThread          *writer;
  GAsyncQueue      *requests;        /* Request * */
  ChartaStoreStats  stats;
  GPtrArray        *base_urls;       /* char *: what an absolute Attachment.url of a Binary of
                                      * this store starts with (charta_store_add_base_url()) */
  GThread          *cleaner;         /* drops abandoned content after the open (see
                                      * charta_store_clean_content()), NULL once joined */

  /* The writer thread's own. */
  ChartaDb         *writer_db;
  int64_t           last_updated;    /* the last lastUpdated given out (µs) */
};

G_DEFINE_FINAL_TYPE (ChartaStore, charta_store, G_TYPE_OBJECT)

/* ---- requests ---------------------------------------------------------------------------- */

/* What content the version of a Binary holds. */
typedef enum
{
  CONTENT_NONE,     /* none: not a Binary (or a delete) */
  CONTENT_KEEP,     /* written as JSON without `data`: the content the current version holds */
  CONTENT_INLINE,   /* written as JSON with `data`: those bytes, stored with the version */
  CONTENT_KEY,      /* charta_store_put_binary(): a content stored before, by its SHA-256 */
} ContentMode;

typedef struct
{
  /* What was asked. */
  ChartaMethod     method;
  gboolean         patch;            /* UPDATE asked for as a PATCH (ChartaOperation.patch) */
  ChartaResource  *input;            /* CREATE, UPDATE */
  char            *type;
  char            *id;               /* CREATE: the new id, given at preparation */
  char            *full_url;
  int64_t          expected_version;
  size_t           index;            /* position in the transaction */

  /* Preparation, against the state in @assumed. */
  gboolean         prepared;
  ChartaDbCurrent  assumed;
  gboolean         delete_noop;      /* a delete of a missing or deleted resource */
  int64_t          version;          /* the version it writes */
  ChartaMethod     stored_method;
  gboolean         created;
  char            *body;             /* NULL for a tombstone */
  size_t           body_length;
  size_t           body_lu_at;       /* offset of the lastUpdated value in @body */
  ChartaResource  *stored;           /* what parsing @body would give (during preparation) */
  GPtrArray       *values;           /* index values of @body */
  char            *narrative;        /* and its full text */
  char            *content;
  gboolean         wants_provenance;

  /* A Binary's content (see "Binary content" below). */
  ContentMode      content_mode;
  GBytes          *inline_data;      /* CONTENT_INLINE: the bytes its `data` held */
  ChartaContentInfo content_info;    /* CONTENT_INLINE: their figures; CONTENT_KEY: sha256 */

  /* Outcome (set by the writer). */
  int64_t          result_version;
  gboolean         result_created;
  char            *result_body;      /* NULL for deletes */
  size_t           result_length;
} Op;

typedef struct
{
  ChartaStore     *store;            /* not a reference: requests never outlive their call */
  Op              *ops;
  size_t           n_ops;
  gboolean         is_transaction;
  gboolean         stop;             /* the writer's stop sentinel */
  ChartaChange    *change;
  char            *agent_reference;  /* the agent its Provenance names */
  char            *agent_display;
  GHashTable      *urns;             /* fullUrl → "Type/id", transactions only */
  GHashTable      *binaries;         /* id → Op *: a transaction's Binary entries, when it has
                                      * any (their content fills the Attachments that name
                                      * them) */
  ChartaStoreJobFunc job_func;       /* a job of charta_store_job_submit(): run instead of
                                      * ops */
  gpointer         job_data;
  GPtrArray       *prov_groups;      /* ProvGroup *: the writer's, while it runs the request */

  GMutex           lock;
  GCond            cond;
  gboolean         done;
  GError          *error;
} Request;

static void
op_clear_prepared (Op *op)
{
  if (op->result_body == op->body)
    op->result_body = NULL;
  op->prepared = FALSE;
  g_clear_pointer (&op->body, g_free);
  g_clear_pointer (&op->stored, charta_resource_unref);
  g_clear_pointer (&op->values, g_ptr_array_unref);
  g_clear_pointer (&op->narrative, g_free);
  g_clear_pointer (&op->content, g_free);
}

static void
op_clear (Op *op)
{
  if (op->result_body != op->body)
    g_free (op->result_body);
  op->result_body = NULL;
  op_clear_prepared (op);
  g_clear_pointer (&op->input, charta_resource_unref);
  g_clear_pointer (&op->inline_data, g_bytes_unref);
  g_clear_pointer (&op->type, g_free);
  g_clear_pointer (&op->id, g_free);
  g_clear_pointer (&op->full_url, g_free);
}

static Request *
request_new (ChartaStore  *self,
             size_t        n_ops,
             ChartaChange *change)
{
  Request *req = g_new0 (Request, 1);

  req->store = self;
  req->ops = g_new0 (Op, MAX (n_ops, 1));
  req->n_ops = n_ops;
  g_mutex_init (&req->lock);
  g_cond_init (&req->cond);
  if (change != NULL)
    req->change = charta_change_ref (change);
  if (change != NULL && (charta_change_get_agent_reference (change) != NULL
                         || charta_change_get_agent_display (change) != NULL))
    {
      req->agent_reference = g_strdup (charta_change_get_agent_reference (change));
      req->agent_display = g_strdup (charta_change_get_agent_display (change));
    }
  else if (self != NULL)
    {
      g_mutex_lock (&self->lock);
      req->agent_reference = g_strdup (self->agent_reference);
      req->agent_display = g_strdup (self->agent_display);
      g_mutex_unlock (&self->lock);
    }
  return req;
}

static void
request_free (Request *req)
{
  if (req == NULL)
    return;
  for (size_t i = 0; i < req->n_ops; i++)
    op_clear (&req->ops[i]);
  g_free (req->ops);
  g_clear_pointer (&req->change, charta_change_unref);
  g_free (req->agent_reference);
  g_free (req->agent_display);
  g_clear_pointer (&req->urns, g_hash_table_unref);
  g_clear_pointer (&req->binaries, g_hash_table_unref);
  g_clear_pointer (&req->prov_groups, g_ptr_array_unref);
  g_clear_error (&req->error);
  g_mutex_clear (&req->lock);
  g_cond_clear (&req->cond);
  g_free (req);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Request, request_free)

/* ---- small helpers ------------------------------------------------------------------------- */

static gboolean
is_valid_id (const char *id)
{
  size_t n = 0;

  if (id == NULL)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++, n++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
      return FALSE;
  return n >= 1 && n <= 64;
}

static gboolean
check_type_and_id (const char  *type,
                   const char  *id,
                   GError     **error)
{
  if (type == NULL || !charta_model_is_resource_type (type))
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "“%s” is not an R4 resource type", type != NULL ? type : "(none)");
      return FALSE;
    }
  if (id != NULL && !is_valid_id (id))
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "%s: “%.80s” is not a valid id (1 to 64 of A-Z, a-z, 0-9, '-' and '.')",
                   type, id);
      return FALSE;
    }
  return TRUE;
}

static gboolean
type_gets_provenance (const char *type)
{
  return strcmp (type, "Provenance") != 0 && strcmp (type, "AuditEvent") != 0;
}

/* A JSON string literal. */
static void
append_json_string (GString    *out,
                    const char *str)
{
  g_string_append_c (out, '"');
  for (const char *p = str; *p != '\0'; p++)
    {
      unsigned char c = (unsigned char) *p;

      if (c == '"' || c == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) c);
        }
      else if (c < 0x20)
        {
          switch (c)
            {
            case '\n': g_string_append (out, "\\n"); break;
            case '\r': g_string_append (out, "\\r"); break;
            case '\t': g_string_append (out, "\\t"); break;
            case '\b': g_string_append (out, "\\b"); break;
            case '\f': g_string_append (out, "\\f"); break;
            default: g_string_append_printf (out, "\\u%04x", c); break;
            }
        }
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
}

/* A new resource id: a UUID of version 7 (RFC 9562), whose first 48 bits are the Unix time in
 * milliseconds and the other 74 random.  Ids made one after another sort together, so a new
 * resource's entries land at the end of every index on ids (resource ids, _id tokens, and
 * the references that other entries of the same import make to it) instead of in a random
 * page each: a commit then rewrites a few pages per index, not a few per resource. */
static char *
new_resource_id (void)
{
  static const char hex[] = "0123456789abcdef";
  uint64_t ms = (uint64_t) (g_get_real_time () / 1000);
  guint32 r[3] = { g_random_int (), g_random_int (), g_random_int () };
  guint8 bytes[16];
  char *id = g_malloc (37);
  char *p = id;

  for (unsigned i = 0; i < 6; i++)
    bytes[i] = (guint8) (ms >> (40 - 8 * i));
  bytes[6] = 0x70 | ((r[0] >> 8) & 0x0f);       /* version 7 */
  bytes[7] = (guint8) r[0];
  bytes[8] = 0x80 | ((r[0] >> 16) & 0x3f);      /* variant 10 */
  bytes[9] = (guint8) (r[0] >> 24);
  for (unsigned i = 0; i < 6; i++)
    bytes[10 + i] = (guint8) (r[1 + i / 4] >> (8 * (i % 4)));
  for (unsigned i = 0; i < 16; i++)
    {
      if (i == 4 || i == 6 || i == 8 || i == 10)
        *p++ = '-';
      *p++ = hex[bytes[i] >> 4];
      *p++ = hex[bytes[i] & 0x0f];
    }
  *p = '\0';
  return id;
}

/* "1st", "2nd", "500th". */
static char *
ordinal (size_t n)
{
  const char *suffix = "th";

  if (n % 100 < 11 || n % 100 > 13)
    {
      if (n % 10 == 1)
        suffix = "st";
      else if (n % 10 == 2)
        suffix = "nd";
      else if (n % 10 == 3)
        suffix = "rd";
    }
  return g_strdup_printf ("%" G_GSIZE_FORMAT "%s", n, suffix);
}

/* Prefixes @error's message with the transaction entry it is about. */
static void
prefix_entry (GError   **error,
              const Op  *op)
{
  g_autofree char *nth = NULL;

  if (error == NULL || *error == NULL)
    return;
  nth = ordinal (op->index + 1);
  if (op->full_url != NULL)
    g_prefix_error (error, "transaction entry %" G_GSIZE_FORMAT " (the %s; fullUrl %s): ",
                    op->index, nth, op->full_url);
  else
    g_prefix_error (error, "transaction entry %" G_GSIZE_FORMAT " (the %s): ", op->index, nth);
}

static inline void
put_digits (char    *out,
            unsigned value,
            unsigned n)
{
  for (unsigned i = n; i > 0; i--)
    {
      out[i - 1] = (char) ('0' + value % 10);
      value /= 10;
    }
}

/* µs since the epoch as an instant of exactly INSTANT_LENGTH characters. */
static void
format_instant (int64_t  usec,
                char    *out)
{
  time_t secs = (time_t) (usec / G_USEC_PER_SEC);
  int micro = (int) (usec % G_USEC_PER_SEC);
  struct tm tm;

  if (micro < 0)
    {
      micro += G_USEC_PER_SEC;
      secs--;
    }
  gmtime_r (&secs, &tm);
  /* "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", without printf's cost (the writer makes two per
   * version).  Years past 9999 do not occur: the clock would have to be that wrong. */
  put_digits (out, (unsigned) (tm.tm_year + 1900) % 10000, 4);
  out[4] = '-';
  put_digits (out + 5, (unsigned) tm.tm_mon + 1, 2);
  out[7] = '-';
  put_digits (out + 8, (unsigned) tm.tm_mday, 2);
  out[10] = 'T';
  put_digits (out + 11, (unsigned) tm.tm_hour, 2);
  out[13] = ':';
  put_digits (out + 14, (unsigned) tm.tm_min, 2);
  out[16] = ':';
  put_digits (out + 17, (unsigned) tm.tm_sec, 2);
  out[19] = '.';
  put_digits (out + 20, (unsigned) micro, 6);
  out[26] = 'Z';
  out[27] = '\0';
}

/* The value of "@key":"…" inside the resource's meta object in canonical @body: its start
 * and end offsets.  Canonical bodies the store makes always have them. */
static gboolean
find_meta_value (const char *body,
                 const char *key,
                 size_t     *start,
                 size_t     *end)
{
  char needle[32];
  const char *meta = strstr (body, "\"meta\":{");
  const char *p, *q;

  if (meta == NULL || strlen (key) + 5 > sizeof needle)
    return FALSE;
  needle[0] = '"';
  strcpy (needle + 1, key);
  strcat (needle, "\":\"");
  p = strstr (meta, needle);
  if (p == NULL)
    return FALSE;
  p += strlen (needle);
  q = strchr (p, '"');
  if (q == NULL)
    return FALSE;
  *start = p - body;
  *end = q - body;
  return TRUE;
}

/* Whether canonical bodies @a and @b (NUL-terminated) are the same but for their
 * meta.versionId and meta.lastUpdated values: an update that changes nothing. */
static gboolean
same_content (const char *a,
              size_t      a_length,
              const char *b,
              size_t      b_length)
{
  size_t sa[4], sb[4];
  size_t a_at = 0, b_at = 0;

  if (!find_meta_value (a, "versionId", &sa[0], &sa[1])
      || !find_meta_value (a, "lastUpdated", &sa[2], &sa[3])
      || !find_meta_value (b, "versionId", &sb[0], &sb[1])
      || !find_meta_value (b, "lastUpdated", &sb[2], &sb[3]))
    return FALSE;
  /* Canonical order puts versionId before lastUpdated. */
  if (sa[0] > sa[2] || sb[0] > sb[2])
    return FALSE;
  for (unsigned k = 0; k <= 4; k += 2)
    {
      size_t a_end = k < 4 ? sa[k] : a_length;
      size_t b_end = k < 4 ? sb[k] : b_length;

      if (a_end - a_at != b_end - b_at || memcmp (a + a_at, b + b_at, a_end - a_at) != 0)
        return FALSE;
      if (k < 4)
        {
          a_at = sa[k + 1];
          b_at = sb[k + 1];
        }
    }
  return TRUE;
}

/* The path of the first Reference.reference (any "reference" member) equal to @value in
 * @node, for error messages; NULL when not found.  Only used on the error path. */
static char *
find_reference_path (JsonNode   *node,
                     const char *value,
                     const char *path)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      JsonObjectIter iter;
      const char *name;
      JsonNode *child;

      json_object_iter_init (&iter, object);
      while (json_object_iter_next (&iter, &name, &child))
        {
          g_autofree char *child_path = g_strconcat (path, ".", name, NULL);
          char *found;

          if (strcmp (name, "reference") == 0 && JSON_NODE_HOLDS_VALUE (child)
              && json_node_get_value_type (child) == G_TYPE_STRING
              && strcmp (json_node_get_string (child), value) == 0)
            return g_steal_pointer (&child_path);
          found = find_reference_path (child, value, child_path);
          if (found != NULL)
            return found;
        }
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (unsigned i = 0; i < json_array_get_length (array); i++)
        {
          g_autofree char *child_path = g_strdup_printf ("%s[%u]", path, i);
          char *found = find_reference_path (json_array_get_element (array, i), value,
                                             child_path);

          if (found != NULL)
            return found;
        }
    }
  return NULL;
}

/* ---- preparation ------------------------------------------------------------------------- */

typedef struct
{
  GHashTable *urns;
  const char *unresolved;   /* the first urn:uuid reference no entry defines */
} RewriteContext;

static const char *
rewrite_reference (const char *reference,
                   gpointer    user_data)
{
  RewriteContext *ctx = user_data;
  const char *target;

  if (ctx->urns == NULL)
    return NULL;
  target = g_hash_table_lookup (ctx->urns, reference);
  if (target != NULL)
    return target;
  if (ctx->unresolved == NULL && g_str_has_prefix (reference, "urn:uuid:"))
    ctx->unresolved = reference;
  return NULL;
}

/* The index values the store keeps for @resource. */
static GPtrArray *
extract_values (ChartaResource  *resource,
                GError         **error)
{
  g_autoptr(GError) local_error = NULL;
  GPtrArray *values = charta_search_index_extract_stored (resource, &local_error);

  if (values == NULL)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "%s: extracting its search-index values failed: %s",
                   charta_resource_get_resource_type (resource), local_error->message);
      return NULL;
    }
  return values;
}

/* ---- Provenance ------------------------------------------------------------------------------
 *
 * One Provenance records each write request: a single write's, or a whole transaction's (one
 * activity, one reason, one agent: one event, the way HIM staff read a merge or an import).
 * Its targets are the exact versions the request wrote, in entry order.  The versions' activity
 * is the change's when it names one, else CREATE, UPDATE or DELETE as each version was written,
 * so a transaction that mixes them gets one Provenance per activity (and a new one every
 * MAX_PROVENANCE_TARGETS versions, so that no Provenance grows without bound).
 *
 * The writer makes it once the request's versions are written, when their numbers are final:
 * the Provenance's resource row is added when its first target is written (each version row
 * names it), its body and index rows after the last.  Its meta.lastUpdated is its own instant,
 * after its targets'; recorded is the instant of its last target. */

#define MAX_PROVENANCE_TARGETS 1000

typedef struct
{
  const char *activity_system;   /* borrowed from the request's change, or static */
  const char *activity_code;
  char       *id;
  int64_t     rid;               /* its resource row */
  GString    *targets;           /* the target array's members, ready to be written */
  unsigned    n_targets;
  int64_t     recorded;          /* the last target's lastUpdated */
} ProvGroup;

static void
prov_group_free (ProvGroup *group)
{
  g_free (group->id);
  g_string_free (group->targets, TRUE);
  g_free (group);
}

static void
op_activity (Request     *req,
             Op          *op,
             const char **system,
             const char **code)
{
  *code = req->change != NULL ? charta_change_get_activity_code (req->change) : NULL;
  *system = req->change != NULL ? charta_change_get_activity_system (req->change) : NULL;
  if (*code == NULL)
    {
      *system = CHARTA_SYSTEM_DATA_OPERATION;
      *code = op->stored_method == CHARTA_METHOD_CREATE ? "CREATE"
              : op->stored_method == CHARTA_METHOD_DELETE ? "DELETE" : "UPDATE";
    }
}

/* The body of @group's Provenance, stamped with @last_updated. */
static GString *
write_provenance (Request    *req,
                  ProvGroup  *group,
                  int64_t     last_updated)
{
  GString *out = g_string_sized_new (512 + group->targets->len);
  ChartaChange *change = req->change;
  const char *reason_code = change != NULL ? charta_change_get_reason_code (change) : NULL;
  const char *reason_system = change != NULL ? charta_change_get_reason_system (change) : NULL;
  const char *reason_text = change != NULL ? charta_change_get_reason_text (change) : NULL;
  char instant[INSTANT_LENGTH + 1];
  gboolean first;

  /* Canonical order of Provenance: id, meta, target, recorded, reason, activity, agent. */
  g_string_append (out, "{\"resourceType\":\"Provenance\",\"id\":");
  append_json_string (out, group->id);
  format_instant (last_updated, instant);
  g_string_append (out, ",\"meta\":{\"versionId\":\"1\",\"lastUpdated\":\"");
  g_string_append (out, instant);
  g_string_append (out, "\"},\"target\":[");
  g_string_append_len (out, group->targets->str, group->targets->len);
  format_instant (group->recorded, instant);
  g_string_append (out, "],\"recorded\":\"");
  g_string_append (out, instant);
  g_string_append_c (out, '"');
  if (reason_code != NULL || reason_text != NULL)
    {
      g_string_append (out, ",\"reason\":[{");
      if (reason_code != NULL)
        {
          g_string_append (out, "\"coding\":[{");
          if (reason_system != NULL)
            {
              g_string_append (out, "\"system\":");
              append_json_string (out, reason_system);
              g_string_append_c (out, ',');
            }
          g_string_append (out, "\"code\":");
          append_json_string (out, reason_code);
          g_string_append (out, "}]");
        }
      if (reason_text != NULL)
        {
          if (reason_code != NULL)
            g_string_append_c (out, ',');
          g_string_append (out, "\"text\":");
          append_json_string (out, reason_text);
        }
      g_string_append (out, "}]");
    }
  g_string_append (out, ",\"activity\":{\"coding\":[{");
  if (group->activity_system != NULL)
    {
      g_string_append (out, "\"system\":");
      append_json_string (out, group->activity_system);
      g_string_append_c (out, ',');
    }
  g_string_append (out, "\"code\":");
  append_json_string (out, group->activity_code);
  g_string_append (out, "}]},\"agent\":[{\"type\":{\"coding\":[{\"system\":\""
                   CHARTA_SYSTEM_PARTICIPANT "\",\"code\":\"author\",\"display\":\"Author\"}]},"
                   "\"who\":{");
  first = TRUE;
  if (req->agent_reference != NULL)
    {
      g_string_append (out, "\"reference\":");
      append_json_string (out, req->agent_reference);
      first = FALSE;
    }
  if (req->agent_display != NULL || req->agent_reference == NULL)
    {
      if (!first)
        g_string_append_c (out, ',');
      g_string_append (out, "\"display\":");
      append_json_string (out, req->agent_display != NULL ? req->agent_display : "Charta");
    }
  g_string_append (out, "}}]}");
  return out;
}

/* Prepares @op against the current state @current: everything but the writes themselves. */
static gboolean
prepare_op (Request                *req,
            Op                     *op,
            const ChartaDbCurrent  *current,
            GError                **error)
{
  op_clear_prepared (op);
  op->assumed = *current;
  op->delete_noop = FALSE;
  op->wants_provenance = type_gets_provenance (op->type);

  if (op->method == CHARTA_METHOD_DELETE)
    {
      if (current->rid == 0 || current->deleted)
        {
          op->delete_noop = TRUE;
          op->wants_provenance = FALSE;
          op->prepared = TRUE;
          return TRUE;
        }
      op->version = current->version + 1;
      op->stored_method = CHARTA_METHOD_DELETE;
      op->created = FALSE;
    }
  else
    {
      char version_text[24];
      RewriteContext ctx = { req->urns, NULL };
      ChartaResourceEdits edits = { 0 };
      g_autoptr(GString) content = NULL;
      size_t skip[4];

      op->version = current->version + 1;
      op->created = current->rid == 0 || current->deleted;
      op->stored_method = op->created ? CHARTA_METHOD_CREATE : CHARTA_METHOD_UPDATE;

      g_snprintf (version_text, sizeof version_text, "%" G_GINT64_FORMAT, op->version);
      edits.id = op->id;
      edits.version_id = version_text;
      edits.last_updated = PLACEHOLDER_INSTANT;
      edits.rewrite_reference = rewrite_reference;
      edits.user_data = &ctx;
      content = g_string_sized_new (512);
      edits.content = content;
      /* The body, and in the same pass the resource that parsing it would give (sharing the
       * input's unedited subtrees): what the index values are extracted from.  (The caller
       * gets back a resource made from the final body, see op_result_resource().) */
      op->stored = charta_resource_new_edited (op->input, &edits, &op->body, &op->body_length);
      if (ctx.unresolved != NULL)
        {
          g_autofree char *path = find_reference_path (charta_resource_get_root (op->input),
                                                       ctx.unresolved, op->type);

          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_UNRESOLVED,
                       "%s refers to %s, which no entry of the transaction defines",
                       path != NULL ? path : op->type, ctx.unresolved);
          return FALSE;
        }
      if (!find_meta_value (op->body, "versionId", &skip[0], &skip[1])
          || !find_meta_value (op->body, "lastUpdated", &skip[2], &skip[3])
          || skip[3] - skip[2] != INSTANT_LENGTH)
        g_error ("%s/%s: the canonical body has no meta.versionId or meta.lastUpdated",
                 op->type, op->id);
      op->body_lu_at = skip[2];

      op->values = extract_values (op->stored, error);
      /* the full text: the content came with the body, the narrative is one member */
      op->content = g_string_free (g_steal_pointer (&content), FALSE);
      if (op->values != NULL)
        op->narrative = charta_search_text_narrative (op->stored);
      /* Freed now, while its nodes are still in the caches. */
      g_clear_pointer (&op->stored, charta_resource_unref);
      if (op->values == NULL)
        return FALSE;
    }

  op->prepared = TRUE;
  return TRUE;
}

/* ---- the writer ------------------------------------------------------------------------- */

static int64_t
next_last_updated (ChartaStore *self)
{
  int64_t now = g_get_real_time ();

  if (now <= self->last_updated)
    now = self->last_updated + 1;
  self->last_updated = now;
  return now;
}

/* CPU time of the calling thread (µs), for the writer's figures. */
static int64_t
thread_cpu_usec (void)
{
  struct timespec ts;

  if (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return 0;
  return (int64_t) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static gboolean
same_state (const ChartaDbCurrent *a,
            const ChartaDbCurrent *b)
{
  return a->rid == b->rid && a->version == b->version && a->deleted == b->deleted;
}

/* The Provenance group of @req that @op's version joins (a new one when none fits). */
static ProvGroup *
prov_group_for (Request *req,
                Op      *op)
{
  const char *system, *code;
  ProvGroup *group;

  op_activity (req, op, &system, &code);
  if (req->prov_groups == NULL)
    req->prov_groups = g_ptr_array_new_with_free_func ((GDestroyNotify) prov_group_free);
  for (unsigned i = 0; i < req->prov_groups->len; i++)
    {
      group = g_ptr_array_index (req->prov_groups, i);
      if (strcmp (group->activity_code, code) == 0
          && g_strcmp0 (group->activity_system, system) == 0
          && group->n_targets < MAX_PROVENANCE_TARGETS)
        return group;
    }
  group = g_new0 (ProvGroup, 1);
  group->activity_system = system;
  group->activity_code = code;
  group->id = new_resource_id ();
  group->targets = g_string_sized_new (128);
  g_ptr_array_add (req->prov_groups, group);
  return group;
}

static void
prov_group_add_target (ProvGroup *group,
                       Op        *op,
                       int64_t    last_updated)
{
  /* Type, id and version need no escaping: the type is a model name, the id was checked. */
  g_string_append_printf (group->targets, "%s{\"reference\":\"%s/%s/_history/%" G_GINT64_FORMAT
                          "\"}", group->n_targets > 0 ? "," : "", op->type, op->id, op->version);
  group->n_targets++;
  group->recorded = last_updated;
}

/* Writes @group's Provenance: its body, version and index rows (its resource row is there). */
static gboolean
put_provenance (ChartaStore  *self,
                Request      *req,
                ProvGroup    *group,
                GError      **error)
{
  g_autoptr(GString) body = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *narrative = NULL;
  g_autofree char *content = NULL;
  ChartaDbVersion version = { 0 };
  int64_t lu = next_last_updated (self);

  body = write_provenance (req, group, lu);
  resource = charta_resource_new_from_data (body->str, body->len, NULL, &local_error);
  if (resource == NULL)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "the Provenance of this write cannot be made: %s", local_error->message);
      return FALSE;
    }
  values = extract_values (resource, error);
  if (values == NULL)
    return FALSE;
  charta_search_index_text (resource, &narrative, &content);

  version.type = "Provenance";
  version.id = group->id;
  version.rid = group->rid;
  version.added = TRUE;
  version.version = 1;
  version.method = CHARTA_METHOD_CREATE;
  version.request = CHARTA_METHOD_CREATE;
  version.last_updated = lu;
  version.body = body->str;
  version.body_length = body->len;
  version.values = values;
  version.narrative = narrative;
  version.content = content;
  return charta_db_put_version (self->writer_db, &version, error);
}

/* The content the version that @op writes of a Binary holds (*sha256, borrowed from @op or
 * *current_content; NULL for none), and the one the current version holds (*current_content,
 * newly allocated; NULL for none): a version of the same body and content is no change.
 * Bytes that came with the write (`data`) are stored now, in the writer's transaction, unless
 * the same are there already. */
static gboolean
binary_content_for (ChartaStore            *self,
                    Op                     *op,
                    const ChartaDbCurrent  *current,
                    const char            **sha256,
                    char                  **current_content,
                    GError                **error)
{
  ChartaDb *db = self->writer_db;

  *sha256 = NULL;
  if (current->rid != 0 && !current->deleted
      && !charta_db_version_content (db, current->rid, current->version, current_content, error))
    return FALSE;
  switch (op->content_mode)
    {
    case CONTENT_INLINE:
      {
        gsize size;
        const guint8 *data = g_bytes_get_data (op->inline_data, &size);

        if (!charta_db_put_content (db, &op->content_info, data, CHARTA_CONTENT_CHUNK_SIZE,
                                    g_get_real_time (), error))
          return FALSE;
        *sha256 = op->content_info.sha256;
      }
      break;
    case CONTENT_KEY:
      *sha256 = op->content_info.sha256;
      break;
    case CONTENT_KEEP:
      *sha256 = *current_content;
      break;
    case CONTENT_NONE:
    default:
      break;
    }
  return TRUE;
}

/* Runs one op inside the writer's transaction. */
static gboolean
execute_op (ChartaStore  *self,
            Request      *req,
            Op           *op,
            GError      **error)
{
  ChartaDb *db = self->writer_db;
  ChartaDbCurrent current;
  ChartaDbVersion version = { 0 };
  ProvGroup *group = NULL;
  int64_t lu;
  char instant[INSTANT_LENGTH + 1];
  const char *binary_content = NULL;
  g_autofree char *current_content = NULL;

  /* A create's id is a new random UUID: no resource can have it yet. */
  if (op->method == CHARTA_METHOD_CREATE)
    memset (&current, 0, sizeof current);
  else if (!charta_db_lookup (db, op->type, op->id, &current, error))
    return FALSE;
  if (!op->prepared || !same_state (&current, &op->assumed))
    {
      g_debug ("%s/%s changed since it was prepared; preparing again", op->type, op->id);
      if (!prepare_op (req, op, &current, error))
        return FALSE;
    }

  if (op->expected_version > 0 && current.version != op->expected_version)
    {
      if (current.rid == 0)
        g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CONFLICT,
                     "%s/%s: expected version %" G_GINT64_FORMAT ", but it does not exist",
                     op->type, op->id, op->expected_version);
      else
        g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CONFLICT,
                     "%s/%s: expected version %" G_GINT64_FORMAT ", but the current version is %"
                     G_GINT64_FORMAT "%s", op->type, op->id, op->expected_version,
                     current.version, current.deleted ? " (a deletion)" : "");
      return FALSE;
    }

  if (op->delete_noop)
    {
      op->result_version = 0;
      return TRUE;
    }
  if (op->content_mode != CONTENT_NONE && op->body != NULL)
    {
      if (!binary_content_for (self, op, &current, &binary_content, &current_content, error))
        return FALSE;
    }
  if (op->stored_method == CHARTA_METHOD_UPDATE)
    {
      g_autoptr(GBytes) body = NULL;
      int64_t current_version = 0;
      g_autofree char *text = NULL;
      gsize length;

      /* Nothing changed: no version, no Provenance; the current version is the answer.  (The
       * bodies are canonical, so equal content is equal bytes.) */
      body = charta_db_read_current (db, op->type, op->id, &current_version, error);
      if (body == NULL)
        return FALSE;
      text = g_bytes_unref_to_data (g_steal_pointer (&body), &length);
      text = g_realloc (text, length + 1);
      text[length] = '\0';
      if (same_content (text, length, op->body, op->body_length)
          && g_strcmp0 (binary_content, current_content) == 0)
        {
          op->result_version = current_version;
          op->result_created = FALSE;
          op->result_body = g_steal_pointer (&text);
          op->result_length = length;
          return TRUE;
        }
    }

  if (op->wants_provenance)
    {
      group = prov_group_for (req, op);
      if (group->rid == 0 && !charta_db_add_resource (db, "Provenance", group->id, &group->rid,
                                                      error))
        return FALSE;
    }
  lu = next_last_updated (self);
  format_instant (lu, instant);
  if (op->body != NULL)
    memcpy (op->body + op->body_lu_at, instant, INSTANT_LENGTH);
  version.type = op->type;
  version.id = op->id;
  version.rid = current.rid;
  version.version = op->version;
  version.method = op->stored_method;
  version.request = op->patch && op->method == CHARTA_METHOD_UPDATE ? CHARTA_METHOD_PATCH
                                                                     : op->method;
  version.last_updated = lu;
  version.body = op->body;
  version.body_length = op->body_length;
  version.provenance_rid = group != NULL ? group->rid : 0;
  version.had_index = current.rid != 0 && !current.deleted;
  version.values = op->values;
  version.narrative = op->narrative;
  version.content = op->content;
  version.binary_content = binary_content;
  if (!charta_db_put_version (db, &version, error))
    return FALSE;
  if (group != NULL)
    prov_group_add_target (group, op, lu);

  op->result_version = op->version;
  op->result_created = op->created;
  op->result_body = op->body;
  op->result_length = op->body_length;
  return TRUE;
}

static gboolean
execute_request (ChartaStore  *self,
                 Request      *req,
                 GError      **error)
{
  if (req->job_func != NULL)
    return req->job_func (self->writer_db, req->job_data, error);
  /* A request that runs again (after another of its batch failed) starts afresh. */
  g_clear_pointer (&req->prov_groups, g_ptr_array_unref);
  for (size_t i = 0; i < req->n_ops; i++)
    {
      Op *op = &req->ops[i];

      /* Results of a rolled-back attempt must not leak into a later one. */
      if (op->result_body != op->body)
        g_clear_pointer (&op->result_body, g_free);
      op->result_body = NULL;
      if (!execute_op (self, req, op, error))
        {
          if (req->is_transaction)
            prefix_entry (error, op);
          return FALSE;
        }
    }
  for (unsigned i = 0; req->prov_groups != NULL && i < req->prov_groups->len; i++)
    if (!put_provenance (self, req, g_ptr_array_index (req->prov_groups, i), error))
      return FALSE;
  return TRUE;
}

static void
request_complete (Request *req)
{
  g_mutex_lock (&req->lock);
  req->done = TRUE;
  g_cond_signal (&req->cond);
  g_mutex_unlock (&req->lock);
}

/* Sets @error on every request of @batch that has none yet. */
static void
fail_batch (GPtrArray    *batch,
            const GError *error)
{
  for (unsigned i = 0; i < batch->len; i++)
    {
      Request *req = g_ptr_array_index (batch, i);

      if (req->error == NULL)
        req->error = g_error_copy (error);
    }
}

/* One attempt at @batch in one transaction.  With @savepoints, each request runs in its own
 * savepoint, so that a failing one is rolled back alone and gets its error.  Without, the
 * first failure rolls everything back and the attempt returns FALSE, errors cleared: the
 * batch must then run again with savepoints (a single request keeps its error: alone, its
 * failure is its whole outcome). */
static gboolean
attempt_batch (ChartaStore *self,
               GPtrArray   *batch,
               gboolean     savepoints)
{
  g_autoptr(GError) error = NULL;
  ChartaDb *db = self->writer_db;

  for (unsigned i = 0; i < batch->len; i++)
    g_clear_error (&((Request *) g_ptr_array_index (batch, i))->error);
  if (!charta_db_begin (db, &error))
    {
      fail_batch (batch, error);
      return TRUE;
    }
  for (unsigned i = 0; i < batch->len; i++)
    {
      Request *req = g_ptr_array_index (batch, i);

      if (!savepoints)
        {
          if (execute_request (self, req, &req->error))
            continue;
          charta_db_rollback (db);
          if (batch->len == 1)
            return TRUE;
          g_clear_error (&req->error);
          return FALSE;
        }
      if (!charta_db_savepoint (db, &req->error))
        continue;
      if (execute_request (self, req, &req->error) && charta_db_release (db, &req->error))
        continue;
      charta_db_rollback_to (db);
    }
  if (!charta_db_commit (db, &error))
    {
      charta_db_rollback (db);
      fail_batch (batch, error);
    }
  return TRUE;
}

static void give_cpu_slot (ChartaStore *self);

/* Runs @batch in one transaction, one commit.  Savepoints are not free (SQLite copies every
 * page a savepoint touches first, and the index rows touch many), and requests seldom fail:
 * so the batch first runs without them, and only when a request fails is it run again with
 * each request in its own savepoint.  Either way each request ends exactly as if it had run
 * in its own savepoint from the start. */
static void
run_batch (ChartaStore *self,
           GPtrArray   *batch)
{
  int64_t start = g_get_monotonic_time ();
  int64_t cpu_start = thread_cpu_usec ();

  /* While it runs, the writer counts as one of the threads preparing writes (without waiting
   * for a slot): every commit waits for it, so it should not have to share its core. */
  g_mutex_lock (&self->lock);
  self->preparing++;
  g_mutex_unlock (&self->lock);

  if (!attempt_batch (self, batch, FALSE))
    {
      g_debug ("a request of a batch of %u failed: running the batch again with savepoints",
               batch->len);
      attempt_batch (self, batch, TRUE);
    }

  give_cpu_slot (self);

  g_mutex_lock (&self->lock);
  self->stats.n_commits++;
  self->stats.n_requests += batch->len;
  self->stats.max_batch = MAX (self->stats.max_batch, batch->len);
  self->stats.busy_usec += g_get_monotonic_time () - start;
  self->stats.cpu_usec += thread_cpu_usec () - cpu_start;
  g_mutex_unlock (&self->lock);
}

static gpointer
writer_main (gpointer data)
{
  ChartaStore *self = data;
  g_autoptr(GPtrArray) batch = g_ptr_array_new ();

  for (;;)
    {
      Request *req = g_async_queue_pop (self->requests);
      Request *stop = NULL;

      if (req->stop)
        {
          request_complete (req);
          break;
        }
      g_ptr_array_set_size (batch, 0);
      g_ptr_array_add (batch, req);
      while (batch->len < MAX_BATCH)
        {
          Request *more = g_async_queue_try_pop (self->requests);

          if (more == NULL)
            break;
          if (more->stop)
            {
              stop = more;
              break;
            }
          g_ptr_array_add (batch, more);
        }
      run_batch (self, batch);
      for (unsigned i = 0; i < batch->len; i++)
        request_complete (g_ptr_array_index (batch, i));
      if (stop != NULL)
        {
          request_complete (stop);
          break;
        }
    }
  return NULL;
}

static gboolean
check_writable (ChartaStore  *self,
                GError      **error)
{
  if (self->flags & CHARTA_STORE_FLAGS_READ_ONLY)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_READ_ONLY,
                   "%s was opened read-only", self->path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
set_closed_error (ChartaStore  *self,
                  GError      **error)
{
  g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CLOSED,
               "%s: the store is closed", self->path);
  return FALSE;
}

/* Queues @req for the writer. */
static gboolean
submit (ChartaStore  *self,
        Request      *req,
        GError      **error)
{
  if (!check_writable (self, error))
    return FALSE;
  g_mutex_lock (&self->lock);
  if (self->closed)
    {
      g_mutex_unlock (&self->lock);
      return set_closed_error (self, error);
    }
  g_async_queue_push (self->requests, req);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/* Waits until @req (submitted) is committed or failed. */
static gboolean
wait_for (Request  *req,
          GError  **error)
{
  g_mutex_lock (&req->lock);
  while (!req->done)
    g_cond_wait (&req->cond, &req->lock);
  g_mutex_unlock (&req->lock);

  if (req->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&req->error));
      return FALSE;
    }
  return TRUE;
}

/* Queues @req for the writer and waits until it is committed or failed. */
static gboolean
submit_and_wait (ChartaStore  *self,
                 Request      *req,
                 GError      **error)
{
  return submit (self, req, error) && wait_for (req, error);
}

/* ---- jobs ----------------------------------------------------------------------------------- */

ChartaStoreJob *
charta_store_job_submit (ChartaStore         *self,
                         ChartaStoreJobFunc   func,
                         gpointer             data,
                         GError             **error)
{
  Request *req;

  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);
  g_return_val_if_fail (func != NULL, NULL);

  req = request_new (self, 0, NULL);
  req->job_func = func;
  req->job_data = data;
  if (!submit (self, req, error))
    {
      request_free (req);
      return NULL;
    }
  return (ChartaStoreJob *) req;
}

gboolean
charta_store_job_wait (ChartaStoreJob  *job,
                       GError         **error)
{
  g_autoptr(Request) req = (Request *) job;

  g_return_val_if_fail (job != NULL, FALSE);

  return wait_for (req, error);
}

gboolean
charta_store_job_run (ChartaStore         *self,
                      ChartaStoreJobFunc   func,
                      gpointer             data,
                      GError             **error)
{
  ChartaStoreJob *job = charta_store_job_submit (self, func, data, error);

  return job != NULL && charta_store_job_wait (job, error);
}

/* ---- readers ---------------------------------------------------------------------------- */

static ChartaDb *
take_reader (ChartaStore  *self,
             GError      **error)
{
  ChartaDb *db = NULL;

  g_mutex_lock (&self->lock);
  for (;;)
    {
      if (self->closed)
        {
          g_mutex_unlock (&self->lock);
          set_closed_error (self, error);
          return NULL;
        }
      if (self->idle_readers->len > 0)
        {
          db = g_ptr_array_steal_index_fast (self->idle_readers, self->idle_readers->len - 1);
          self->readers_out++;
          g_mutex_unlock (&self->lock);
          return db;
        }
      if (self->n_readers < self->max_readers)
        break;
      g_cond_wait (&self->cond, &self->lock);
    }
  self->n_readers++;
  self->readers_out++;
  g_mutex_unlock (&self->lock);

  db = charta_db_open (self->path, CHARTA_DB_OPEN_READ_ONLY, error);
  if (db == NULL)
    {
      g_mutex_lock (&self->lock);
      self->n_readers--;
      self->readers_out--;
      g_cond_broadcast (&self->cond);
      g_mutex_unlock (&self->lock);
    }
  return db;
}

static void
give_reader (ChartaStore *self,
             ChartaDb    *db)
{
  g_mutex_lock (&self->lock);
  self->readers_out--;
  if (self->closed)
    {
      self->n_readers--;
      charta_db_close (db);
    }
  else
    g_ptr_array_add (self->idle_readers, db);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

ChartaDb *
charta_store_take_reader (ChartaStore  *self,
                          GError      **error)
{
  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);

  return take_reader (self, error);
}

void
charta_store_give_reader (ChartaStore *self,
                          ChartaDb    *db)
{
  g_return_if_fail (CHARTA_IS_STORE (self));

  give_reader (self, db);
}

/* ---- GObject ------------------------------------------------------------------------------ */

static void
charta_store_finalize (GObject *object)
{
  ChartaStore *self = CHARTA_STORE (object);

  charta_store_close (self);
  g_ptr_array_unref (self->idle_readers);
  if (self->requests != NULL)
    g_async_queue_unref (self->requests);
  g_free (self->path);
  g_free (self->agent_reference);
  g_free (self->agent_display);
  g_ptr_array_unref (self->base_urls);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_cond_clear (&self->slot_cond);

  G_OBJECT_CLASS (charta_store_parent_class)->finalize (object);
}

static void
charta_store_class_init (ChartaStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = charta_store_finalize;
}

static void
charta_store_init (ChartaStore *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_cond_init (&self->slot_cond);
  self->idle_readers = g_ptr_array_new ();
  self->base_urls = g_ptr_array_new_with_free_func (g_free);
  self->agent_display = g_strdup ("Charta");
  self->max_readers = MAX (4, 2 * g_get_num_processors ());
  self->default_count = 20;
  self->max_count = 1000;
  self->search_timeout = 5 * G_USEC_PER_SEC;
  self->max_preparing = MAX (1, g_get_num_processors ());
}

/* ---- open and close ----------------------------------------------------------------------- */

static gpointer
cleaner_main (gpointer data)
{
  ChartaStore *self = data;
  g_autoptr(GError) error = NULL;

  if (!charta_store_clean_content (self, CHARTA_CONTENT_GARBAGE_AGE, &error)
      && !g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CLOSED))
    g_warning ("%s: dropping abandoned content failed: %s", self->path, error->message);
  return NULL;
}

ChartaStore *
charta_store_open (const char        *path,
                   ChartaStoreFlags   flags,
                   GError           **error)
{
  g_autoptr(ChartaStore) self = NULL;
  gboolean garbage;
  int64_t cid = 0;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (CHARTA_TYPE_STORE, NULL);
  self->path = g_strdup (path);
  self->flags = flags;

  if (flags & CHARTA_STORE_FLAGS_READ_ONLY)
    {
      ChartaDb *db = charta_db_open (path, CHARTA_DB_OPEN_READ_ONLY, error);

      if (db == NULL)
        {
          self->closed = TRUE;
          return NULL;
        }
      g_ptr_array_add (self->idle_readers, db);
      self->n_readers = 1;
      return g_steal_pointer (&self);
    }

  self->writer_db = charta_db_open (path,
                                    CHARTA_DB_OPEN_MIGRATE
                                    | ((flags & CHARTA_STORE_FLAGS_CREATE) ? CHARTA_DB_OPEN_CREATE : 0)
                                    | ((flags & CHARTA_STORE_FLAGS_FAST) ? CHARTA_DB_OPEN_FAST : 0),
                                    error);
  if (self->writer_db == NULL)
    {
      self->closed = TRUE;
      return NULL;
    }
  self->last_updated = charta_db_get_max_last_updated (self->writer_db, error);
  if (self->last_updated < 0)
    {
      self->closed = TRUE;
      g_clear_pointer (&self->writer_db, charta_db_close);
      return NULL;
    }
  garbage = charta_db_find_garbage (self->writer_db,
                                    g_get_real_time () - CHARTA_CONTENT_GARBAGE_AGE, &cid,
                                    error);
  if (!garbage)
    {
      self->closed = TRUE;
      g_clear_pointer (&self->writer_db, charta_db_close);
      return NULL;
    }
  self->requests = g_async_queue_new ();
  self->writer = g_thread_new ("charta-writer", writer_main, self);
  /* Content an upload or a failed write left behind (a crash, an abandoned upload): dropped in
   * the background, a few chunks per writer transaction. */
  if (cid != 0)
    self->cleaner = g_thread_new ("charta-cleaner", cleaner_main, self);
  g_debug ("opened a store (%s)", (flags & CHARTA_STORE_FLAGS_FAST) ? "fast" : "durable");
  return g_steal_pointer (&self);
}

void
charta_store_close (ChartaStore *self)
{
  g_return_if_fail (CHARTA_IS_STORE (self));

  g_mutex_lock (&self->lock);
  if (self->closed)
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  self->closed = TRUE;
  if (self->cleaner != NULL)
    {
      /* (its next job fails: the store is closed) */
      g_mutex_unlock (&self->lock);
      g_thread_join (g_steal_pointer (&self->cleaner));
      g_mutex_lock (&self->lock);
    }
  if (self->writer != NULL)
    {
      Request *stop = request_new (NULL, 0, NULL);

      stop->stop = TRUE;
      g_async_queue_push (self->requests, stop);
      g_mutex_unlock (&self->lock);

      g_mutex_lock (&stop->lock);
      while (!stop->done)
        g_cond_wait (&stop->cond, &stop->lock);
      g_mutex_unlock (&stop->lock);
      request_free (stop);
      g_thread_join (g_steal_pointer (&self->writer));
      g_clear_pointer (&self->writer_db, charta_db_close);
      g_mutex_lock (&self->lock);
    }
  while (self->readers_out > 0)
    g_cond_wait (&self->cond, &self->lock);
  for (unsigned i = 0; i < self->idle_readers->len; i++)
    charta_db_close (g_ptr_array_index (self->idle_readers, i));
  g_ptr_array_set_size (self->idle_readers, 0);
  self->n_readers = 0;
  g_mutex_unlock (&self->lock);
}

const char *
charta_store_get_path (ChartaStore *self)
{
  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);
  return self->path;
}

void
charta_store_set_default_agent (ChartaStore *self,
                                const char  *reference,
                                const char  *display)
{
  g_return_if_fail (CHARTA_IS_STORE (self));

  g_mutex_lock (&self->lock);
  g_free (self->agent_reference);
  g_free (self->agent_display);
  self->agent_reference = reference != NULL && *reference != '\0' ? g_strdup (reference) : NULL;
  self->agent_display = display != NULL && *display != '\0' ? g_strdup (display) : NULL;
  if (self->agent_reference == NULL && self->agent_display == NULL)
    self->agent_display = g_strdup ("Charta");
  g_mutex_unlock (&self->lock);
}

void
charta_store_get_stats (ChartaStore      *self,
                        ChartaStoreStats *stats)
{
  g_return_if_fail (CHARTA_IS_STORE (self));

  g_mutex_lock (&self->lock);
  *stats = self->stats;
  g_mutex_unlock (&self->lock);
}

/* ---- CPU slots ------------------------------------------------------------------------------
 *
 * Preparing a write (validation, canonical body, index values) is the CPU-heavy part of every
 * write, and it runs on the callers' threads.  With more callers than cores, time-slicing them
 * makes each one slower (their JSON trees evict each other from the caches) and starves the
 * writer thread, on which every commit waits.  So at most as many threads as there are cores
 * prepare at once; the others wait for a slot, which costs no CPU.  A large transaction takes
 * more slots for helper threads only when they are free. */

static void
take_cpu_slot (ChartaStore *self)
{
  g_mutex_lock (&self->lock);
  while (self->preparing >= self->max_preparing)
    g_cond_wait (&self->slot_cond, &self->lock);
  self->preparing++;
  g_mutex_unlock (&self->lock);
}

static gboolean
try_take_cpu_slot (ChartaStore *self)
{
  gboolean taken;

  g_mutex_lock (&self->lock);
  taken = self->preparing < self->max_preparing;
  if (taken)
    self->preparing++;
  g_mutex_unlock (&self->lock);
  return taken;
}

static void
give_cpu_slot (ChartaStore *self)
{
  g_mutex_lock (&self->lock);
  self->preparing--;
  g_cond_signal (&self->slot_cond);
  g_mutex_unlock (&self->lock);
}

/* ---- writes -------------------------------------------------------------------------------- */

static gboolean
validate_input (ChartaResource  *resource,
                GError         **error)
{
  g_autoptr(GError) local_error = NULL;

  if (charta_validate (resource, &local_error))
    return TRUE;
  g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID, "%s does not validate: %s",
               charta_resource_get_resource_type (resource), local_error->message);
  return FALSE;
}

static gboolean
lookup_with_reader (ChartaStore      *self,
                    ChartaDb        **reader,
                    const char       *type,
                    const char       *id,
                    ChartaDbCurrent  *current,
                    GError          **error)
{
  if (*reader == NULL)
    {
      *reader = take_reader (self, error);
      if (*reader == NULL)
        return FALSE;
    }
  return charta_db_lookup (*reader, type, id, current, error);
}

static ChartaResource *parse_stored (const char  *body,
                                     size_t       length,
                                     GError     **error);

/* The stored resource an op wrote (or the current one it kept), as a read returns it. */
static ChartaResource *
op_result_resource (Op      *op,
                    GError **error)
{
  if (op->result_body == NULL)
    return NULL;
  if (op->result_body == op->body)
    {
      char version_text[24];
      char instant[INSTANT_LENGTH + 1];

      /* The body just written, which this op no longer needs: the resource takes it and
       * parses it only if the caller looks at more than its type, id and meta. */
      g_snprintf (version_text, sizeof version_text, "%" G_GINT64_FORMAT, op->result_version);
      memcpy (instant, op->body + op->body_lu_at, INSTANT_LENGTH);
      instant[INSTANT_LENGTH] = '\0';
      op->result_body = NULL;
      return charta_resource_new_lazy (g_steal_pointer (&op->body), op->result_length, op->type,
                                       op->id, version_text, instant);
    }
  return parse_stored (op->result_body, op->result_length, error);
}

static ChartaResource *
parse_stored (const char  *body,
              size_t       length,
              GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  ChartaResource *resource = charta_resource_new_from_data (body, length, NULL, &local_error);

  if (resource == NULL)
    g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT,
                 "a stored version does not read back: %s", local_error->message);
  return resource;
}

/* ---- Binary content ----------------------------------------------------------------------
 *
 * A Binary's content lives apart from its JSON (charta-store-binary.c).  A Binary written as
 * JSON with `data` has those bytes taken out when its op is made (the store keeps the JSON
 * without them), and stored by the writer with the version, in the same transaction; one
 * written without `data` keeps the content its current version holds (so that a client that
 * read it, which never sees `data`, does not drop the content by writing it back); one written
 * by charta_store_put_binary() names a content stored before.  Attachments that name a Binary
 * of the store, or have inline data, get size and hash when their resource is prepared. */

static gboolean
op_take_binary_data (Op      *op,
                     GError **error)
{
  g_autoptr(ChartaResource) stripped = NULL;
  g_autoptr(GBytes) data = NULL;

  op->content_mode = CONTENT_KEEP;
  if (!charta_binary_take_data (op->input, &stripped, &data, &op->content_info, error))
    return FALSE;
  if (stripped == NULL)
    return TRUE;
  charta_resource_unref (op->input);
  op->input = g_steal_pointer (&stripped);
  op->inline_data = g_steal_pointer (&data);
  op->content_mode = CONTENT_INLINE;
  return TRUE;
}

typedef struct
{
  ChartaStore  *store;
  Request      *req;
  ChartaDb    **reader;    /* taken when first needed; the caller gives it back */
  char        **bases;     /* the store's base URLs, when first needed */
} AttachmentContext;

/* An Attachment.url: the content of the Binary it names (see ChartaAttachmentLookup), in the
 * same transaction or in the store. */
static gboolean
lookup_attachment (const char         *url,
                   gpointer            user_data,
                   ChartaContentInfo  *info,
                   const char        **rewrite,
                   GError            **error)
{
  AttachmentContext *ctx = user_data;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *reference = NULL;
  ChartaDbContent content;
  gboolean has_content = FALSE;
  const char *target, *id;
  Op *op;

  /* a transaction's urn:uuid: the entry it names, as a reference */
  if (ctx->req->urns != NULL && (target = g_hash_table_lookup (ctx->req->urns, url)) != NULL)
    {
      *rewrite = target;
      url = target;
    }
  if (ctx->bases == NULL)
    ctx->bases = charta_store_dup_base_urls (ctx->store);
  reference = charta_binary_url_reference (url, (const char *const *) ctx->bases);
  if (reference == NULL)
    return FALSE;
  id = reference + strlen ("Binary/");
  if (ctx->req->binaries != NULL && (op = g_hash_table_lookup (ctx->req->binaries, id)) != NULL)
    {
      if (op->method == CHARTA_METHOD_DELETE)
        return FALSE;
      if (op->content_mode == CONTENT_INLINE)
        {
          *info = op->content_info;
          return TRUE;
        }
      /* (else it keeps its current content: the store's) */
    }
  if (*ctx->reader == NULL)
    {
      *ctx->reader = take_reader (ctx->store, error);
      if (*ctx->reader == NULL)
        return FALSE;
    }
  body = charta_db_read_binary (*ctx->reader, id, 0, NULL, &content, &has_content,
                                &local_error);
  if (body == NULL)
    {
      if (!g_error_matches (local_error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND)
          && !g_error_matches (local_error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_GONE))
        g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (!has_content)
    return FALSE;
  *info = content.info;
  return TRUE;
}

/* Size and hash in the Attachments of @op's resource (charta_binary_fill_attachments()). */
static gboolean
op_fill_attachments (ChartaStore  *self,
                     Request      *req,
                     Op           *op,
                     ChartaDb    **reader,
                     GError      **error)
{
  AttachmentContext ctx = { self, req, reader, NULL };
  g_autoptr(ChartaResource) edited = NULL;
  gboolean ok;

  if (op->input == NULL)
    return TRUE;
  ok = charta_binary_fill_attachments (op->input, lookup_attachment, &ctx, &edited, error);
  g_strfreev (ctx.bases);
  if (!ok)
    return FALSE;
  if (edited != NULL)
    {
      charta_resource_unref (op->input);
      op->input = g_steal_pointer (&edited);
    }
  return TRUE;
}

void
charta_store_add_base_url (ChartaStore *self,
                           const char  *base_url)
{
  g_return_if_fail (CHARTA_IS_STORE (self));
  g_return_if_fail (base_url != NULL);

  g_mutex_lock (&self->lock);
  for (unsigned i = 0; i < self->base_urls->len; i++)
    if (strcmp (g_ptr_array_index (self->base_urls, i), base_url) == 0)
      {
        g_mutex_unlock (&self->lock);
        return;
      }
  /* (a server adds the few it answers for; a bound keeps a hostile Host header from growing
   * the list) */
  if (self->base_urls->len < 64)
    g_ptr_array_add (self->base_urls, g_strdup (base_url));
  g_mutex_unlock (&self->lock);
}

char **
charta_store_dup_base_urls (ChartaStore *self)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  char **bases;

  g_mutex_lock (&self->lock);
  for (unsigned i = 0; i < self->base_urls->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (self->base_urls, i));
  g_mutex_unlock (&self->lock);
  bases = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return bases;
}

/* Fills op @op (from @resource, or @type/@id for deletes) without preparing it. */
static gboolean
op_init (Op              *op,
         ChartaMethod     method,
         ChartaResource  *resource,
         const char      *type,
         const char      *id,
         const char      *full_url,
         int64_t          expected_version,
         size_t           index,
         gboolean         validate,
         GError         **error)
{
  op->method = method;
  op->index = index;
  op->expected_version = expected_version;
  op->full_url = g_strdup (full_url);
  if (method == CHARTA_METHOD_PATCH)
    {
      /* (a patch is an UPDATE of the patched resource, with ChartaOperation.patch) */
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "an operation's method is CREATE, UPDATE or DELETE; a patch is an UPDATE of "
                   "the patched resource marked as a patch");
      return FALSE;
    }
  if (method == CHARTA_METHOD_DELETE)
    {
      if (!check_type_and_id (type, id, error))
        return FALSE;
      if (id == NULL)
        {
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                       "a delete of %s names no id", type);
          return FALSE;
        }
      op->type = g_strdup (type);
      op->id = g_strdup (id);
      return TRUE;
    }

  if (resource == NULL)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "a %s has no resource", method == CHARTA_METHOD_CREATE ? "create" : "update");
      return FALSE;
    }
  op->input = charta_resource_ref (resource);
  op->type = g_strdup (charta_resource_get_resource_type (resource));
  if (method == CHARTA_METHOD_CREATE)
    op->id = new_resource_id ();
  else
    {
      const char *rid = charta_resource_get_id (resource);

      if (rid == NULL)
        {
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                       "an update of %s needs the resource's id", op->type);
          return FALSE;
        }
      if (!check_type_and_id (op->type, rid, error))
        return FALSE;
      if ((type != NULL && strcmp (type, op->type) != 0) || (id != NULL && strcmp (id, rid) != 0))
        {
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                       "the update names %s/%s but the resource is %s/%s",
                       type != NULL ? type : op->type, id != NULL ? id : rid, op->type, rid);
          return FALSE;
        }
      op->id = g_strdup (rid);
    }
  if (strcmp (op->type, "Binary") == 0 && !op_take_binary_data (op, error))
    return FALSE;
  return !validate || validate_input (op->input, error);
}

ChartaResource *
charta_store_create (ChartaStore     *self,
                     ChartaResource  *resource,
                     ChartaChange    *change,
                     GError         **error)
{
  g_autoptr(Request) req = NULL;
  ChartaDbCurrent none = { 0 };
  ChartaDb *reader = NULL;
  gboolean ok;
  Op *op;

  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);
  g_return_val_if_fail (resource != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_writable (self, error))
    return NULL;
  req = request_new (self, 1, change);
  op = &req->ops[0];
  take_cpu_slot (self);
  ok = op_init (op, CHARTA_METHOD_CREATE, resource, NULL, NULL, NULL, 0, 0, TRUE, error)
       && op_fill_attachments (self, req, op, &reader, error);
  if (reader != NULL)
    give_reader (self, reader);
  ok = ok && prepare_op (req, op, &none, error);
  give_cpu_slot (self);
  if (!ok || !submit_and_wait (self, req, error))
    return NULL;
  return op_result_resource (op, error);
}

ChartaResource *
charta_store_update (ChartaStore     *self,
                     ChartaResource  *resource,
                     int64_t          expected_version,
                     ChartaChange    *change,
                     gboolean        *created,
                     GError         **error)
{
  g_autoptr(Request) req = NULL;
  ChartaDb *reader = NULL;
  ChartaDbCurrent current;
  gboolean ok;
  Op *op;

  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);
  g_return_val_if_fail (resource != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_writable (self, error))
    return NULL;
  req = request_new (self, 1, change);
  op = &req->ops[0];
  take_cpu_slot (self);
  ok = op_init (op, CHARTA_METHOD_UPDATE, resource, NULL, NULL, NULL, expected_version, 0, TRUE,
                error)
       && op_fill_attachments (self, req, op, &reader, error)
       && lookup_with_reader (self, &reader, op->type, op->id, &current, error);
  if (reader != NULL)
    give_reader (self, reader);
  ok = ok && prepare_op (req, op, &current, error);
  give_cpu_slot (self);
  if (!ok || !submit_and_wait (self, req, error))
    return NULL;
  if (created != NULL)
    *created = op->result_created;
  return op_result_resource (op, error);
}

static gboolean
is_sha256_hex (const char *text)
{
  size_t n = 0;

  for (const char *p = text; *p != '\0'; p++, n++)
    if (!g_ascii_isdigit (*p) && !(*p >= 'a' && *p <= 'f'))
      return FALSE;
  return n == 64;
}

ChartaResource *
charta_store_put_binary (ChartaStore   *self,
                         const char    *id,
                         const char    *content_type,
                         const char    *security_context,
                         const char    *sha256,
                         int64_t        expected_version,
                         ChartaChange  *change,
                         gboolean      *created,
                         GError       **error)
{
  g_autoptr(Request) req = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  g_autoptr(GString) json = g_string_new ("{\"resourceType\":\"Binary\"");
  ChartaDbCurrent current = { 0 };
  ChartaDb *reader = NULL;
  gboolean ok;
  Op *op;

  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);
  g_return_val_if_fail (sha256 != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_writable (self, error) || (id != NULL && !check_type_and_id ("Binary", id, error)))
    return NULL;
  if (content_type == NULL || *content_type == '\0')
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "Binary.contentType: a Binary needs the media type of its content");
      return NULL;
    }
  if (!is_sha256_hex (sha256))
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                   "“%.80s” is not the SHA-256 of a stored content (64 lowercase hex digits)",
                   sha256);
      return NULL;
    }
  if (id != NULL)
    {
      g_string_append (json, ",\"id\":");
      append_json_string (json, id);
    }
  g_string_append (json, ",\"contentType\":");
  append_json_string (json, content_type);
  if (security_context != NULL && *security_context != '\0')
    {
      g_string_append (json, ",\"securityContext\":{\"reference\":");
      append_json_string (json, security_context);
      g_string_append_c (json, '}');
    }
  g_string_append_c (json, '}');
  resource = charta_resource_new_from_data (json->str, json->len, NULL, error);
  if (resource == NULL)
    return NULL;

  req = request_new (self, 1, change);
  op = &req->ops[0];
  take_cpu_slot (self);
  ok = op_init (op, id != NULL ? CHARTA_METHOD_UPDATE : CHARTA_METHOD_CREATE, resource,
                "Binary", id, NULL, expected_version, 0, TRUE, error)
       && (id == NULL || lookup_with_reader (self, &reader, "Binary", id, &current, error));
  if (reader != NULL)
    give_reader (self, reader);
  if (ok)
    {
      op->content_mode = CONTENT_KEY;
      g_strlcpy (op->content_info.sha256, sha256, sizeof op->content_info.sha256);
    }
  ok = ok && prepare_op (req, op, &current, error);
  give_cpu_slot (self);
  if (!ok || !submit_and_wait (self, req, error))
    return NULL;
  if (created != NULL)
    *created = op->result_created;
  g_debug ("put Binary/%s: version %" G_GINT64_FORMAT, op->id, op->result_version);
  return op_result_resource (op, error);
}

int64_t
charta_store_delete (ChartaStore   *self,
                     const char    *type,
                     const char    *id,
                     int64_t        expected_version,
                     ChartaChange  *change,
                     GError       **error)
{
  g_autoptr(Request) req = NULL;
  ChartaDb *reader = NULL;
  ChartaDbCurrent current;
  gboolean ok;
  Op *op;

  g_return_val_if_fail (CHARTA_IS_STORE (self), -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  if (!check_writable (self, error))
    return -1;
  req = request_new (self, 1, change);
  op = &req->ops[0];
  if (!op_init (op, CHARTA_METHOD_DELETE, NULL, type, id, NULL, expected_version, 0, FALSE,
                error))
    return -1;
  ok = lookup_with_reader (self, &reader, op->type, op->id, &current, error);
  if (reader != NULL)
    give_reader (self, reader);
  if (!ok || !prepare_op (req, op, &current, error) || !submit_and_wait (self, req, error))
    return -1;
  return op->result_version;
}

/* ---- transactions ------------------------------------------------------------------------ */

void
charta_operation_result_free (ChartaOperationResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->resource, charta_resource_unref);
  g_free (result->type);
  g_free (result->id);
  g_free (result);
}

/* The work on a transaction's entries that needs no database writes (validation, current
 * state, bodies, index values; afterwards, parsing the results) is shared by the caller and a
 * few helper threads, so that a large transaction uses every core.  Entries are handed out in
 * small chunks; an error is kept for the lowest entry that failed, which is the one reported. */
#define PARALLEL_CHUNK 8
#define PARALLEL_MIN_OPS 32

typedef struct
{
  ChartaStore *self;
  Request     *req;
  gint         next;          /* the next entry to hand out */
  gint         failed;        /* the lowest entry that failed, G_MAXINT when none */
  GMutex       lock;          /* guards error */
  GError      *error;
} ParallelJob;

static gboolean
prepare_entry (ParallelJob  *job,
               Op           *op,
               ChartaDb    **reader,
               GError      **error)
{
  ChartaDbCurrent current = { 0 };

  if (op->input != NULL && !validate_input (op->input, error))
    return FALSE;
  if (!op_fill_attachments (job->self, job->req, op, reader, error))
    return FALSE;
  if (op->method != CHARTA_METHOD_CREATE
      && !lookup_with_reader (job->self, reader, op->type, op->id, &current, error))
    return FALSE;
  return prepare_op (job->req, op, &current, error);
}

/* The result of @op, once written. */
static ChartaOperationResult *
op_result (Op      *op,
           GError **error)
{
  ChartaOperationResult *result = g_new0 (ChartaOperationResult, 1);

  result->type = g_strdup (op->type);
  result->id = g_strdup (op->id);
  result->version = op->result_version;
  result->created = op->result_created;
  result->resource = op_result_resource (op, error);
  if (op->result_body != NULL && result->resource == NULL)
    {
      charta_operation_result_free (result);
      return NULL;
    }
  return result;
}

static gpointer
parallel_worker (gpointer data)
{
  ParallelJob *job = data;
  ChartaDb *reader = NULL;
  gint n = (gint) job->req->n_ops;

  for (;;)
    {
      gint first = g_atomic_int_add (&job->next, PARALLEL_CHUNK);

      if (first >= n)
        break;
      for (gint i = first; i < MIN (first + PARALLEL_CHUNK, n); i++)
        {
          g_autoptr(GError) error = NULL;
          Op *op = &job->req->ops[i];
          gboolean ok;

          /* Past an entry that failed, nothing matters any more. */
          if (g_atomic_int_get (&job->failed) < i)
            break;
          ok = prepare_entry (job, op, &reader, &error);
          if (ok)
            continue;
          prefix_entry (&error, op);
          g_mutex_lock (&job->lock);
          if (i < job->failed)
            {
              job->failed = i;
              g_clear_error (&job->error);
              job->error = g_steal_pointer (&error);
            }
          g_mutex_unlock (&job->lock);
        }
    }
  if (reader != NULL)
    give_reader (job->self, reader);
  return NULL;
}

static gpointer
parallel_helper (gpointer data)
{
  ParallelJob *job = data;

  parallel_worker (job);
  give_cpu_slot (job->self);
  return NULL;
}

/* Prepares @req's entries on the calling thread, and on helper threads while CPU slots are
 * free. */
static gboolean
run_parallel (ChartaStore  *self,
              Request      *req,
              GError      **error)
{
  ParallelJob job = { self, req, 0, G_MAXINT, { 0 }, NULL };
  GThread *helpers[8];
  unsigned n_helpers = 0;

  g_mutex_init (&job.lock);
  take_cpu_slot (self);
  if (req->n_ops >= PARALLEL_MIN_OPS)
    {
      unsigned wanted = MIN (self->max_preparing, G_N_ELEMENTS (helpers) + 1) - 1;

      wanted = MIN (wanted, req->n_ops / PARALLEL_MIN_OPS);
      for (; n_helpers < wanted && try_take_cpu_slot (self); n_helpers++)
        {
          helpers[n_helpers] = g_thread_try_new ("charta-prepare", parallel_helper, &job, NULL);
          if (helpers[n_helpers] == NULL)
            {
              give_cpu_slot (self);
              break;
            }
        }
    }
  parallel_worker (&job);
  give_cpu_slot (self);
  for (unsigned i = 0; i < n_helpers; i++)
    g_thread_join (helpers[i]);
  g_mutex_clear (&job.lock);
  if (job.error != NULL)
    {
      g_propagate_error (error, job.error);
      return FALSE;
    }
  return TRUE;
}

GPtrArray *
charta_store_transaction (ChartaStore      *self,
                          ChartaOperation  *operations,
                          size_t            n_operations,
                          ChartaChange     *change,
                          GError          **error)
{
  g_autoptr(Request) req = NULL;
  g_autoptr(GPtrArray) results = NULL;
  gboolean ok = TRUE;

  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);
  g_return_val_if_fail (operations != NULL || n_operations == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_writable (self, error))
    return NULL;
  req = request_new (self, n_operations, change);
  req->is_transaction = TRUE;
  req->urns = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  /* First every entry's type and id, so that references between entries can be resolved. */
  for (size_t i = 0; i < n_operations && ok; i++)
    {
      ChartaOperation *o = &operations[i];
      Op *op = &req->ops[i];

      ok = op_init (op, o->method, o->resource, o->type, o->id, o->full_url,
                    o->expected_version, i, FALSE, error);
      op->patch = o->patch;
      if (ok && op->full_url != NULL)
        {
          if (g_hash_table_contains (req->urns, op->full_url))
            {
              g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                           "another entry has the same fullUrl");
              ok = FALSE;
            }
          else
            g_hash_table_insert (req->urns, op->full_url,
                                 g_strconcat (op->type, "/", op->id, NULL));
        }
      if (!ok)
        prefix_entry (error, op);
      else if (strcmp (op->type, "Binary") == 0)
        {
          if (req->binaries == NULL)
            req->binaries = g_hash_table_new (g_str_hash, g_str_equal);
          g_hash_table_insert (req->binaries, op->id, op);
        }
    }
  if (!ok)
    return NULL;

  /* Then validation and preparation, on the cores that are free; then the writer. */
  if (!run_parallel (self, req, error) || !submit_and_wait (self, req, error))
    return NULL;

  results = g_ptr_array_new_full (n_operations, (GDestroyNotify) charta_operation_result_free);
  for (size_t i = 0; i < n_operations; i++)
    {
      ChartaOperationResult *result = op_result (&req->ops[i], error);

      if (result == NULL)
        return NULL;
      g_ptr_array_add (results, result);
    }
  return g_steal_pointer (&results);
}

/* ---- reads ---------------------------------------------------------------------------------- */

GBytes *
charta_store_read_bytes (ChartaStore  *self,
                         const char   *type,
                         const char   *id,
                         int64_t      *version,
                         GError      **error)
{
  ChartaDb *db;
  GBytes *bytes;

  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_type_and_id (type, id, error))
    return NULL;
  db = take_reader (self, error);
  if (db == NULL)
    return NULL;
  bytes = charta_db_read_current (db, type, id, version, error);
  give_reader (self, db);
  return bytes;
}

ChartaResource *
charta_store_read (ChartaStore  *self,
                   const char   *type,
                   const char   *id,
                   GError      **error)
{
  g_autoptr(GBytes) bytes = NULL;
  const char *data;
  size_t length;

  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  bytes = charta_store_read_bytes (self, type, id, NULL, error);
  if (bytes == NULL)
    return NULL;
  data = g_bytes_get_data (bytes, &length);
  return parse_stored (data, length, error);
}

ChartaResource *
charta_store_vread (ChartaStore  *self,
                    const char   *type,
                    const char   *id,
                    int64_t       version,
                    GError      **error)
{
  g_autoptr(GBytes) bytes = NULL;
  ChartaDb *db;
  const char *data;
  size_t length;

  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_type_and_id (type, id, error))
    return NULL;
  db = take_reader (self, error);
  if (db == NULL)
    return NULL;
  bytes = charta_db_read_version (db, type, id, version, error);
  give_reader (self, db);
  if (bytes == NULL)
    return NULL;
  data = g_bytes_get_data (bytes, &length);
  return parse_stored (data, length, error);
}

/* ---- history --------------------------------------------------------------------------------- */

const char *
charta_history_entry_get_http_method (const ChartaHistoryEntry *entry)
{
  g_return_val_if_fail (entry != NULL, NULL);

  if (entry->method == CHARTA_METHOD_DELETE)
    return "DELETE";
  switch (entry->request)
    {
    case CHARTA_METHOD_CREATE:
      return "POST";
    case CHARTA_METHOD_PATCH:
      return "PATCH";
    case CHARTA_METHOD_UPDATE:
    case CHARTA_METHOD_DELETE:
    default:
      return "PUT";
    }
}

void
charta_history_entry_free (ChartaHistoryEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->type);
  g_free (entry->id);
  g_clear_pointer (&entry->resource, charta_resource_unref);
  g_free (entry);
}

#define CURSOR_PREFIX "h"

GPtrArray *
charta_store_history (ChartaStore                *self,
                      const char                 *type,
                      const char                 *id,
                      const ChartaHistoryOptions *options,
                      char                      **next_cursor,
                      GError                    **error)
{
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  ChartaHistoryOptions defaults = { 0 };
  int64_t before = 0;
  unsigned count;
  ChartaDb *db;

  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);
  g_return_val_if_fail (id == NULL || type != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (next_cursor != NULL)
    *next_cursor = NULL;
  if (options == NULL)
    options = &defaults;
  if (type != NULL && !check_type_and_id (type, id, error))
    return NULL;
  count = options->count == 0 ? DEFAULT_PAGE : MIN (options->count, MAX_PAGE);
  if (options->cursor != NULL)
    {
      char *end = NULL;

      if (g_str_has_prefix (options->cursor, CURSOR_PREFIX))
        before = g_ascii_strtoll (options->cursor + strlen (CURSOR_PREFIX), &end, 10);
      if (end == NULL || *end != '\0' || before <= 0)
        {
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                       "“%.40s” is not a history cursor of this store", options->cursor);
          return NULL;
        }
    }

  db = take_reader (self, error);
  if (db == NULL)
    return NULL;
  if (id != NULL && options->cursor == NULL)
    {
      ChartaDbCurrent current;

      if (!charta_db_lookup (db, type, id, &current, error))
        {
          give_reader (self, db);
          return NULL;
        }
      if (current.rid == 0)
        {
          give_reader (self, db);
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND,
                       "%s/%s does not exist", type, id);
          return NULL;
        }
    }
  rows = charta_db_history (db, type, id, options->since, options->at,
                            options->at_high != 0 && options->at_high > options->at
                            ? options->at_high : options->at,
                            before, count + 1, error);
  give_reader (self, db);
  if (rows == NULL)
    return NULL;

  entries = g_ptr_array_new_with_free_func ((GDestroyNotify) charta_history_entry_free);
  for (unsigned i = 0; i < rows->len && i < count; i++)
    {
      ChartaDbHistoryRow *row = g_ptr_array_index (rows, i);
      ChartaHistoryEntry *entry = g_new0 (ChartaHistoryEntry, 1);

      g_ptr_array_add (entries, entry);
      entry->type = g_steal_pointer (&row->type);
      entry->id = g_steal_pointer (&row->id);
      entry->version = row->version;
      entry->method = row->method;
      entry->request = row->request;
      entry->last_updated = row->last_updated;
      if (row->body != NULL)
        {
          entry->resource = charta_resource_new_from_bytes (row->body, NULL, NULL);
          if (entry->resource == NULL)
            {
              g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT,
                           "version %" G_GINT64_FORMAT " of %s/%s does not read back",
                           entry->version, entry->type, entry->id);
              return NULL;
            }
        }
    }
  if (rows->len > count && next_cursor != NULL)
    {
      ChartaDbHistoryRow *last = g_ptr_array_index (rows, count - 1);

      *next_cursor = g_strdup_printf (CURSOR_PREFIX "%" G_GINT64_FORMAT, last->seq);
    }
  return g_steal_pointer (&entries);
}

GPtrArray *
charta_store_list_provenance (ChartaStore  *self,
                              const char   *type,
                              const char   *id,
                              int64_t       version,
                              GError      **error)
{
  g_autoptr(GPtrArray) bodies = NULL;
  g_autoptr(GPtrArray) resources = NULL;
  ChartaDb *db;

  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_type_and_id (type, id, error))
    return NULL;
  db = take_reader (self, error);
  if (db == NULL)
    return NULL;
  bodies = charta_db_list_provenance (db, type, id, version, error);
  give_reader (self, db);
  if (bodies == NULL)
    return NULL;
  resources = g_ptr_array_new_with_free_func ((GDestroyNotify) charta_resource_unref);
  for (unsigned i = 0; i < bodies->len; i++)
    {
      ChartaResource *resource = charta_resource_new_from_bytes (g_ptr_array_index (bodies, i),
                                                                 NULL, NULL);

      if (resource == NULL)
        {
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT,
                       "a Provenance of %s/%s does not read back", type, id);
          return NULL;
        }
      g_ptr_array_add (resources, resource);
    }
  return g_steal_pointer (&resources);
}

/* ---- figures and check ---------------------------------------------------------------------- */

GHashTable *
charta_store_count_by_type (ChartaStore  *self,
                            GError      **error)
{
  GHashTable *counts;
  ChartaDb *db;

  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  db = take_reader (self, error);
  if (db == NULL)
    return NULL;
  counts = charta_db_count_by_type (db, error);
  give_reader (self, db);
  return counts;
}

gboolean
charta_store_check (ChartaStore    *self,
                    ChartaOutcome  *outcome,
                    GError        **error)
{
  ChartaDb *db;
  gboolean ok;

  g_return_val_if_fail (CHARTA_IS_STORE (self), FALSE);
  g_return_val_if_fail (outcome != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  db = take_reader (self, error);
  if (db == NULL)
    return FALSE;
  ok = charta_db_check (db, outcome, error);
  give_reader (self, db);
  return ok;
}

/* ---- async twins ------------------------------------------------------------------------------ */

typedef struct
{
  char            *type;
  char            *id;
  ChartaResource  *resource;
  int64_t          expected_version;
  ChartaChange    *change;
  ChartaOperation *operations;
  size_t           n_operations;
  gboolean         created;
} AsyncData;

static void
async_data_free (AsyncData *data)
{
  g_free (data->type);
  g_free (data->id);
  g_clear_pointer (&data->resource, charta_resource_unref);
  g_clear_pointer (&data->change, charta_change_unref);
  for (size_t i = 0; i < data->n_operations; i++)
    {
      ChartaOperation *o = &data->operations[i];

      g_clear_pointer (&o->resource, charta_resource_unref);
      g_free ((char *) o->type);
      g_free ((char *) o->id);
      g_free ((char *) o->full_url);
    }
  g_free (data->operations);
  g_free (data);
}

static AsyncData *
async_data_new (ChartaChange *change)
{
  AsyncData *data = g_new0 (AsyncData, 1);

  if (change != NULL)
    data->change = charta_change_ref (change);
  return data;
}

static void
read_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  AsyncData *data = task_data;
  GError *error = NULL;
  ChartaResource *resource = charta_store_read (source, data->type, data->id, &error);

  if (resource == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, resource, (GDestroyNotify) charta_resource_unref);
}

void
charta_store_read_async (ChartaStore         *self,
                         const char          *type,
                         const char          *id,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  AsyncData *data;

  g_return_if_fail (CHARTA_IS_STORE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, charta_store_read_async);
  data = async_data_new (NULL);
  data->type = g_strdup (type);
  data->id = g_strdup (id);
  g_task_set_task_data (task, data, (GDestroyNotify) async_data_free);
  g_task_run_in_thread (task, read_thread);
}

ChartaResource *
charta_store_read_finish (ChartaStore   *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == charta_store_read_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- search ------------------------------------------------------------------------------- */

void
charta_store_set_page_sizes (ChartaStore *self,
                             unsigned     default_count,
                             unsigned     max_count)
{
  g_return_if_fail (CHARTA_IS_STORE (self));
  g_return_if_fail (max_count > 0 && default_count <= max_count);

  g_mutex_lock (&self->lock);
  self->default_count = default_count;
  self->max_count = max_count;
  g_mutex_unlock (&self->lock);
}

void
charta_store_set_search_timeout (ChartaStore *self,
                                 double       seconds)
{
  g_return_if_fail (CHARTA_IS_STORE (self));
  g_return_if_fail (seconds >= 0);

  g_mutex_lock (&self->lock);
  self->search_timeout = (int64_t) (seconds * G_USEC_PER_SEC);
  g_mutex_unlock (&self->lock);
}

void
charta_search_result_free (ChartaSearchResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->entries, g_ptr_array_unref);
  g_free (result->next_cursor);
  g_free (result->prev_cursor);
  g_free (result);
}

static void
search_entry_free (ChartaSearchEntry *entry)
{
  g_clear_pointer (&entry->json, g_bytes_unref);
  g_clear_pointer (&entry->resource, charta_resource_unref);
  g_free (entry);
}

/* An entry for @row, subsetted when the query asks (matches only). */
static ChartaSearchEntry *
search_entry_new (ChartaDbSearchRow        *row,
                  const ChartaSearchQuery  *query,
                  GError                  **error)
{
  g_autoptr(ChartaResource) resource = NULL;
  ChartaSearchEntry *entry;
  char instant[INSTANT_LENGTH + 1];
  char version[24];
  gsize length;
  const char *data = g_bytes_get_data (row->body, &length);

  format_instant (row->last_updated, instant);
  g_snprintf (version, sizeof version, "%" G_GINT64_FORMAT, row->version);
  resource = charta_resource_new_lazy (g_strndup (data, length), length, row->type, row->id,
                                       version, instant);
  entry = g_new0 (ChartaSearchEntry, 1);
  entry->mode = row->included ? CHARTA_SEARCH_MODE_INCLUDE : CHARTA_SEARCH_MODE_MATCH;
  if (!row->included && (query->summary != CHARTA_SEARCH_SUMMARY_FALSE
                         || query->elements != NULL))
    {
      g_autoptr(GPtrArray) names = g_ptr_array_new ();
      ChartaResource *subset;

      if (query->elements != NULL)
        {
          for (unsigned i = 0; i < query->elements->len; i++)
            g_ptr_array_add (names, g_ptr_array_index (query->elements, i));
          g_ptr_array_add (names, NULL);
        }
      subset = charta_resource_subset (resource, query->summary,
                                       query->elements != NULL
                                       ? (const char * const *) names->pdata : NULL,
                                       error);
      if (subset == NULL)
        {
          g_free (entry);
          return NULL;
        }
      entry->resource = subset;
      entry->json = charta_resource_to_bytes (subset, FALSE);
    }
  else
    {
      entry->resource = g_steal_pointer (&resource);
      entry->json = g_bytes_ref (row->body);
    }
  return entry;
}

ChartaSearchResult *
charta_store_search (ChartaStore              *self,
                     const ChartaSearchQuery  *query,
                     GError                  **error)
{
  g_autoptr(ChartaSearchResult) result = NULL;
  ChartaDbSearchPage page;
  ChartaDb *db;
  unsigned count;
  int64_t timeout;
  gboolean ok;

  g_return_val_if_fail (CHARTA_IS_STORE (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_mutex_lock (&self->lock);
  count = query->count >= 0 ? MIN ((unsigned) query->count, self->max_count)
                            : self->default_count;
  timeout = self->search_timeout;
  g_mutex_unlock (&self->lock);

  db = take_reader (self, error);
  if (db == NULL)
    return NULL;
  ok = charta_db_search (db, query, count, timeout, &page, error);
  give_reader (self, db);
  if (!ok)
    return NULL;

  result = g_new0 (ChartaSearchResult, 1);
  result->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) search_entry_free);
  result->total = page.total;
  result->next_cursor = g_steal_pointer (&page.next_cursor);
  result->prev_cursor = g_steal_pointer (&page.prev_cursor);
  result->count = count;
  for (unsigned i = 0; i < page.rows->len; i++)
    {
      ChartaSearchEntry *entry = search_entry_new (g_ptr_array_index (page.rows, i), query,
                                                   error);

      if (entry == NULL)
        {
          charta_db_search_page_clear (&page);
          return NULL;
        }
      g_ptr_array_add (result->entries, entry);
    }
  charta_db_search_page_clear (&page);
  return g_steal_pointer (&result);
}

static void
search_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  GError *error = NULL;
  ChartaSearchResult *result = charta_store_search (source, task_data, &error);

  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) charta_search_result_free);
}

void
charta_store_search_async (ChartaStore              *self,
                           const ChartaSearchQuery  *query,
                           GCancellable             *cancellable,
                           GAsyncReadyCallback       callback,
                           gpointer                  user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CHARTA_IS_STORE (self));
  g_return_if_fail (query != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, charta_store_search_async);
  g_task_set_task_data (task, (gpointer) query, NULL);
  g_task_run_in_thread (task, search_thread);
}

ChartaSearchResult *
charta_store_search_finish (ChartaStore   *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == charta_store_search_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
update_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  AsyncData *data = task_data;
  GError *error = NULL;
  ChartaResource *resource = charta_store_update (source, data->resource,
                                                  data->expected_version, data->change,
                                                  &data->created, &error);

  if (resource == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, resource, (GDestroyNotify) charta_resource_unref);
}

void
charta_store_update_async (ChartaStore         *self,
                           ChartaResource      *resource,
                           int64_t              expected_version,
                           ChartaChange        *change,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  AsyncData *data;

  g_return_if_fail (CHARTA_IS_STORE (self));
  g_return_if_fail (resource != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, charta_store_update_async);
  data = async_data_new (change);
  data->resource = charta_resource_ref (resource);
  data->expected_version = expected_version;
  g_task_set_task_data (task, data, (GDestroyNotify) async_data_free);
  g_task_run_in_thread (task, update_thread);
}

ChartaResource *
charta_store_update_finish (ChartaStore   *self,
                            GAsyncResult  *result,
                            gboolean      *created,
                            GError       **error)
{
  ChartaResource *resource;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == charta_store_update_async,
                        NULL);

  resource = g_task_propagate_pointer (G_TASK (result), error);
  if (created != NULL)
    *created = resource != NULL && ((AsyncData *) g_task_get_task_data (G_TASK (result)))->created;
  return resource;
}

static void
create_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  AsyncData *data = task_data;
  GError *error = NULL;
  ChartaResource *resource = charta_store_create (source, data->resource, data->change, &error);

  if (resource == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, resource, (GDestroyNotify) charta_resource_unref);
}

void
charta_store_create_async (ChartaStore         *self,
                           ChartaResource      *resource,
                           ChartaChange        *change,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  AsyncData *data;

  g_return_if_fail (CHARTA_IS_STORE (self));
  g_return_if_fail (resource != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, charta_store_create_async);
  data = async_data_new (change);
  data->resource = charta_resource_ref (resource);
  g_task_set_task_data (task, data, (GDestroyNotify) async_data_free);
  g_task_run_in_thread (task, create_thread);
}

ChartaResource *
charta_store_create_finish (ChartaStore   *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == charta_store_create_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
transaction_thread (GTask        *task,
                    gpointer      source,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  AsyncData *data = task_data;
  GError *error = NULL;
  GPtrArray *results = charta_store_transaction (source, data->operations, data->n_operations,
                                                 data->change, &error);

  if (results == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, results, (GDestroyNotify) g_ptr_array_unref);
}

void
charta_store_transaction_async (ChartaStore         *self,
                                ChartaOperation     *operations,
                                size_t               n_operations,
                                ChartaChange        *change,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  AsyncData *data;

  g_return_if_fail (CHARTA_IS_STORE (self));
  g_return_if_fail (operations != NULL || n_operations == 0);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, charta_store_transaction_async);
  data = async_data_new (change);
  data->operations = g_new0 (ChartaOperation, MAX (n_operations, 1));
  data->n_operations = n_operations;
  for (size_t i = 0; i < n_operations; i++)
    {
      ChartaOperation *to = &data->operations[i];
      const ChartaOperation *from = &operations[i];

      *to = *from;
      to->resource = from->resource != NULL ? charta_resource_ref (from->resource) : NULL;
      to->type = g_strdup (from->type);
      to->id = g_strdup (from->id);
      to->full_url = g_strdup (from->full_url);
    }
  g_task_set_task_data (task, data, (GDestroyNotify) async_data_free);
  g_task_run_in_thread (task, transaction_thread);
}

GPtrArray *
charta_store_transaction_finish (ChartaStore   *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                        == charta_store_transaction_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
