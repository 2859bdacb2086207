/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-store-private.h: what the store's files share, and the storage engine's interface.
 *
 * charta-store.c is the engine-neutral part of ChartaStore: request preparation (validation,
 * ids, canonical bodies, index extraction, Provenance), the writer thread and its group
 * commit, the reader pool and the async twins; charta-store-binary.c is Binary content
 * (writing it in chunks as jobs of the writer thread, reading it as a stream, Binary.data and
 * Attachment size and hash).  Everything that knows SQL lives behind the ChartaDb interface
 * below, implemented by charta-store-sqlite.c, so that another engine (PostgreSQL) can be added
 * without touching the rest.  A ChartaDb is one connection, used by one thread at a time.
 */
#pragma once

#include "charta-store.h"

G_BEGIN_DECLS

#define CHARTA_SYSTEM_DATA_OPERATION "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
#define CHARTA_SYSTEM_ISO_LIFECYCLE  "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
#define CHARTA_SYSTEM_ACT_REASON     "http://terminology.hl7.org/CodeSystem/v3-ActReason"
#define CHARTA_SYSTEM_PARTICIPANT    "http://terminology.hl7.org/CodeSystem/provenance-participant-type"

/* charta-change.c */
const char *charta_change_get_reason_system   (ChartaChange *self);
const char *charta_change_get_activity_system (ChartaChange *self);
const char *charta_change_system_for_activity (const char   *code);

/* charta-store.c */
typedef struct
{
  unsigned n_commits;       /* transactions committed by the writer */
  unsigned n_requests;      /* write requests (each call, a transaction counting once) */
  unsigned max_batch;       /* most requests in one commit */
  int64_t  busy_usec;       /* time the writer spent running batches (commits included) */
  int64_t  cpu_usec;        /* CPU time of the writer thread meanwhile */
} ChartaStoreStats;

/* Figures of the writer since the store was opened (for tests and benchmarks). */
void charta_store_get_stats (ChartaStore      *self,
                             ChartaStoreStats *stats);

/* ---- the storage engine (charta-store-sqlite.c) ----------------------------------------- */

typedef struct _ChartaDb ChartaDb;

typedef enum
{
  CHARTA_DB_OPEN_CREATE    = 1 << 0, /* create the file (and the schema) if missing */
  CHARTA_DB_OPEN_READ_ONLY = 1 << 1, /* a read-only connection */
  CHARTA_DB_OPEN_FAST      = 1 << 2, /* synchronous=NORMAL */
  CHARTA_DB_OPEN_MIGRATE   = 1 << 3, /* the first connection of a writable store: brings the
                                      * schema up to date */
} ChartaDbOpenFlags;

ChartaDb   *charta_db_open               (const char        *path,
                                          ChartaDbOpenFlags  flags,
                                          GError           **error);
void        charta_db_close              (ChartaDb          *db);

/* Transactions on the writer's connection: BEGIN IMMEDIATE … COMMIT, and one savepoint per
 * request inside it. */
gboolean    charta_db_begin              (ChartaDb          *db,
                                          GError           **error);
gboolean    charta_db_commit             (ChartaDb          *db,
                                          GError           **error);
void        charta_db_rollback           (ChartaDb          *db);
gboolean    charta_db_savepoint          (ChartaDb          *db,
                                          GError           **error);
gboolean    charta_db_release            (ChartaDb          *db,
                                          GError           **error);
void        charta_db_rollback_to        (ChartaDb          *db);

/* The current state of one resource. */
typedef struct
{
  int64_t rid;                       /* 0 when the store has no such resource */
  int64_t version;                   /* current version number (a tombstone's when deleted) */
  gboolean deleted;
} ChartaDbCurrent;

gboolean    charta_db_lookup             (ChartaDb          *db,
                                          const char        *type,
                                          const char        *id,
                                          ChartaDbCurrent   *current,
                                          GError           **error);

/* The newest lastUpdated in the store (µs), 0 when empty. */
int64_t     charta_db_get_max_last_updated (ChartaDb        *db,
                                          GError           **error);

/* One version to write. */
typedef struct
{
  const char   *type;
  const char   *id;
  int64_t       rid;            /* the resource's row, 0 for a new resource (set on return) */
  gboolean      added;          /* @rid was just made by charta_db_add_resource() for this
                                 * first version: nothing to update in it */
  int64_t       version;
  ChartaMethod  method;
  ChartaMethod  request;        /* what the write asked for (ChartaHistoryEntry.request) */
  int64_t       last_updated;   /* µs */
  const char   *body;           /* NULL for a tombstone */
  size_t        body_length;
  int64_t       provenance_rid; /* the Provenance resource of this version, 0 for none */
  gboolean      had_index;      /* the previous current version has index rows to remove */
  GPtrArray    *values;         /* ChartaIndexValue *, NULL for a tombstone */
  const char   *narrative;      /* full text (charta_search_index_text()), NULL for a tombstone */
  const char   *content;
  const char   *binary_content; /* a Binary's: the SHA-256 of the stored content it holds, NULL
                                 * for none (and for every other type) */
} ChartaDbVersion;

/* Adds the resource row of a resource whose first version will be put later in the same
 * transaction (a Provenance, which its targets' version rows name first). */
gboolean    charta_db_add_resource       (ChartaDb          *db,
                                          const char        *type,
                                          const char        *id,
                                          int64_t           *rid,
                                          GError           **error);
gboolean    charta_db_put_version        (ChartaDb          *db,
                                          ChartaDbVersion   *version,
                                          GError           **error);

/* Reads.  The current body: NOT_FOUND / GONE errors as the store's read. */
GBytes     *charta_db_read_current       (ChartaDb          *db,
                                          const char        *type,
                                          const char        *id,
                                          int64_t           *version,
                                          GError           **error);
GBytes     *charta_db_read_version       (ChartaDb          *db,
                                          const char        *type,
                                          const char        *id,
                                          int64_t            version,
                                          GError           **error);

typedef struct
{
  int64_t       seq;            /* global order of versions */
  char         *type;
  char         *id;
  int64_t       version;
  ChartaMethod  method;
  int64_t       last_updated;
  GBytes       *body;           /* NULL for a tombstone */
  ChartaMethod  request;        /* as recorded, or what @method implies for older rows */
} ChartaDbHistoryRow;

void        charta_db_history_row_free   (ChartaDbHistoryRow *row);

/* Versions with seq < @before_seq (0: no bound), newest first, at most @limit; @since and
 * the _at range [@at, @at_high] as ChartaHistoryOptions (@at and @at_high both 0: no _at). */
GPtrArray  *charta_db_history            (ChartaDb          *db,
                                          const char        *type,
                                          const char        *id,
                                          int64_t            since,
                                          int64_t            at,
                                          int64_t            at_high,
                                          int64_t            before_seq,
                                          unsigned           limit,
                                          GError           **error);
/* Bodies (GBytes) of the current versions of the Provenance resources targeting the
 * resource (@version 0) or that version, newest first. */
GPtrArray  *charta_db_list_provenance    (ChartaDb          *db,
                                          const char        *type,
                                          const char        *id,
                                          int64_t            version,
                                          GError           **error);
GHashTable *charta_db_count_by_type      (ChartaDb          *db,
                                          GError           **error);
gboolean    charta_db_check              (ChartaDb          *db,
                                          ChartaOutcome     *outcome,
                                          GError           **error);

/* ---- binary content (charta-store-sqlite.c; see migrations/0005-binary-content.sql) ----- */

/* A stored content: its figures, and how it is cut into chunks. */
typedef struct
{
  ChartaContentInfo info;
  int64_t           chunk_size;   /* bytes of every chunk but the last */
} ChartaDbContent;

/* Writer only.  Adds @n chunks (GBytes *, each @chunk_size bytes but the content's last), the
 * first numbered @first_seq, to the pending content @pending, made first when @pending is 0
 * (*made gets its id either way). */
gboolean    charta_db_add_chunks         (ChartaDb          *db,
                                          int64_t            pending,
                                          int64_t            chunk_size,
                                          int64_t            first_seq,
                                          GBytes *const     *chunks,
                                          unsigned           n,
                                          int64_t            now,
                                          int64_t           *made,
                                          GError           **error);
/* Writer only.  Ends a content whose bytes are all in the pending content @pending (0: none,
 * an empty content) as @info.  When a content of that SHA-256 is stored already, it is kept
 * (touched: it counts as stored now) and *existed is set: @pending is then the caller's to drop
 * (charta_db_drop_content()).  Otherwise @pending becomes that content, once its chunks are
 * found to add up to @info->size. */
gboolean    charta_db_finish_content     (ChartaDb          *db,
                                          int64_t            pending,
                                          int64_t            chunk_size,
                                          const ChartaContentInfo *info,
                                          int64_t            now,
                                          gboolean          *existed,
                                          GError           **error);
/* Writer only.  Removes at most @max_chunks chunks of content @cid (pending, or held by no
 * version), and the content itself once it has none left (then *done is set).  @duplicate:
 * the same bytes are stored in another content, so the freed pages need not be zeroed. */
gboolean    charta_db_drop_content       (ChartaDb          *db,
                                          int64_t            cid,
                                          unsigned           max_chunks,
                                          gboolean           duplicate,
                                          gboolean          *done,
                                          GError           **error);
/* Writer only.  Stores the whole content @data (@info its figures) in the current
 * transaction, in chunks of @chunk_size, unless a content of its SHA-256 is there already. */
gboolean    charta_db_put_content        (ChartaDb          *db,
                                          const ChartaContentInfo *info,
                                          const guint8      *data,
                                          int64_t            chunk_size,
                                          int64_t            now,
                                          GError           **error);
/* The stored (complete) content @sha256: *found says whether there is one. */
gboolean    charta_db_lookup_content     (ChartaDb          *db,
                                          const char        *sha256,
                                          ChartaDbContent   *content,
                                          gboolean          *found,
                                          GError           **error);
/* The SHA-256 of the content version @version of resource @rid holds (newly allocated in
 * *sha256; NULL when none). */
gboolean    charta_db_version_content    (ChartaDb          *db,
                                          int64_t            rid,
                                          int64_t            version,
                                          char             **sha256,
                                          GError           **error);
/* The body of Binary @id at @version (0: the current one; errors as charta_db_read_current()
 * and charta_db_read_version()), its version number (*version_out), and its content
 * (*has_content FALSE when it holds none). */
GBytes     *charta_db_read_binary        (ChartaDb          *db,
                                          const char        *id,
                                          int64_t            version,
                                          int64_t           *version_out,
                                          ChartaDbContent   *content,
                                          gboolean          *has_content,
                                          GError           **error);
/* Chunk @seq of the stored content @sha256 into @buffer (@capacity bytes, a chunk's size at
 * least), *length its bytes (CHARTA_STORE_ERROR_CORRUPT when it is missing or too large). */
gboolean    charta_db_read_chunk         (ChartaDb          *db,
                                          const char        *sha256,
                                          int64_t            seq,
                                          guint8            *buffer,
                                          size_t             capacity,
                                          size_t            *length,
                                          GError           **error);
/* A content to clean up (see charta_store_clean_content()): a pending content untouched since
 * @before (µs), or a complete one that no version holds and untouched since then; *cid 0 when
 * there is none. */
gboolean    charta_db_find_garbage       (ChartaDb          *db,
                                          int64_t            before,
                                          int64_t           *cid,
                                          GError           **error);
/* Writer only.  The content to clean up (see charta_store_clean_content()): a pending content
 * untouched since @before (µs), or a complete one that no version holds and untouched since
 * then, which becomes pending (no write can find it any more); *cid 0 when there is none.
 * Its chunks are then dropped with charta_db_drop_content(). */
gboolean    charta_db_take_garbage       (ChartaDb          *db,
                                          int64_t            before,
                                          int64_t           *cid,
                                          GError           **error);

/* Figures of the content store (for tests, benchmarks and `charta check`). */
typedef struct
{
  int64_t n_contents;     /* complete contents */
  int64_t n_bytes;        /* their bytes (each content once, however many hold it) */
  int64_t n_chunks;       /* chunks of complete contents */
  int64_t n_pending;      /* contents being written (or left by a crash) */
  int64_t n_unheld;       /* complete contents no version holds */
  int64_t n_holders;      /* Binary versions that hold a content */
} ChartaContentStats;

gboolean    charta_db_content_stats      (ChartaDb          *db,
                                          ChartaContentStats *stats,
                                          GError           **error);

/* Search (charta-search-sqlite.c): one page of @query's matches (at most @count), in order,
 * then the resources its _include and _revinclude bring. */
typedef struct
{
  int64_t   rid;
  char     *type;
  char     *id;
  int64_t   version;
  int64_t   last_updated;     /* µs */
  GBytes   *body;             /* the stored JSON */
  gboolean  included;         /* brought by _include/_revinclude, not a match */
} ChartaDbSearchRow;

typedef struct
{
  GPtrArray *rows;            /* ChartaDbSearchRow *: the matches, then the included */
  int64_t    total;           /* matches in all, -1 when not counted */
  char      *next_cursor;     /* the next page's _cursor, NULL on the last page */
  char      *prev_cursor;     /* the previous page's _cursor, NULL on the first page */
} ChartaDbSearchPage;

gboolean    charta_db_search             (ChartaDb                *db,
                                          const ChartaSearchQuery *query,
                                          unsigned                 count,
                                          int64_t                  timeout_usec,
                                          ChartaDbSearchPage      *page,
                                          GError                 **error);
void        charta_db_search_page_clear  (ChartaDbSearchPage      *page);

/* ---- what charta-store-binary.c needs of charta-store.c ----------------------------------- */

/* A reader connection of the pool, given back with charta_store_give_reader(). */
ChartaDb *charta_store_take_reader (ChartaStore  *self,
                                    GError      **error);
void      charta_store_give_reader (ChartaStore  *self,
                                    ChartaDb     *db);

/* Work for the writer thread: @func runs there with the write connection, inside a
 * transaction it may share with other queued writes (group commit), and must behave as if in
 * a savepoint of its own: it may run more than once (after a rollback caused by another
 * request of its batch), so it keeps no state of its own between runs but in @data's outputs. */
typedef gboolean (*ChartaStoreJobFunc) (ChartaDb  *db,
                                        gpointer   data,
                                        GError   **error);
typedef struct _ChartaStoreJob ChartaStoreJob;

/* Queues @func for the writer and returns at once (NULL and @error when the store is closed or
 * read-only); charta_store_job_wait() waits until it is committed (or failed) and frees it. */
ChartaStoreJob *charta_store_job_submit (ChartaStore         *self,
                                         ChartaStoreJobFunc   func,
                                         gpointer             data,
                                         GError             **error);
gboolean        charta_store_job_wait   (ChartaStoreJob      *job,
                                         GError             **error);
/* Both at once. */
gboolean        charta_store_job_run    (ChartaStore         *self,
                                         ChartaStoreJobFunc   func,
                                         gpointer             data,
                                         GError             **error);

/* ---- charta-store-binary.c -------------------------------------------------------------- */

/* Chunks of stored content: 1 MiB (see charta-store-binary.c for why). */
#define CHARTA_CONTENT_CHUNK_SIZE (1024 * 1024)
/* Pending contents and contents no version holds are dropped once untouched this long. */
#define CHARTA_CONTENT_GARBAGE_AGE ((int64_t) 3600 * G_USEC_PER_SEC)

/* The figures of @size bytes at @data. */
void            charta_content_info_compute (const guint8        *data,
                                             size_t               size,
                                             ChartaContentInfo   *info);

/* Binary written as JSON: when @binary has `data`, its bytes (decoded) go to *data with
 * their figures in @info, and *stripped is @binary without `data` (what the store keeps);
 * FALSE with @error (CHARTA_STORE_ERROR_INVALID, naming Binary.data) when `data` is no
 * base64.  Without `data`: TRUE, *data and *stripped NULL. */
gboolean        charta_binary_take_data     (ChartaResource      *binary,
                                             ChartaResource     **stripped,
                                             GBytes             **data,
                                             ChartaContentInfo   *info,
                                             GError             **error);

/* Looks up the content of the Binary that an Attachment.url names.  @reference is "Binary/id"
 * (an absolute URL under a base of the store is cut to that first); returns TRUE and fills
 * @info when that Binary holds a content, FALSE when there is no such Binary or it holds none;
 * sets @error only when the lookup itself failed.  May set *rewrite to the reference the url
 * is to be replaced with (a transaction's urn:uuid), borrowed. */
typedef gboolean (*ChartaAttachmentLookup) (const char          *url,
                                            gpointer             user_data,
                                            ChartaContentInfo   *info,
                                            const char         **rewrite,
                                            GError             **error);

/* Attachments of @resource (any element of type Attachment, contained resources and
 * extensions included) get size and hash: from their inline `data`, else from the Binary that
 * their url names (@lookup).  A size or hash that the client gave and that disagrees is
 * CHARTA_STORE_ERROR_INVALID naming the element ("DocumentReference.content[0].attachment.
 * hash") and both values; a hash that is no SHA-1 in base64 (a hex digest…) cannot be
 * compared and is kept as it came.  *edited is the resource with them filled in, NULL when
 * nothing changed. */
gboolean        charta_binary_fill_attachments (ChartaResource      *resource,
                                                ChartaAttachmentLookup lookup,
                                                gpointer             user_data,
                                                ChartaResource     **edited,
                                                GError             **error);

/* "Binary/id" for an Attachment.url naming a Binary: relative ("Binary/7"), or absolute
 * under one of @bases (NULL-terminated; may be NULL); NULL when it names none. */
char           *charta_binary_url_reference (const char          *url,
                                             const char *const   *bases);

/* A base URL the store is served under ("http://127.0.0.1:8080/fhir"): an Attachment.url under
 * it that names a Binary is that Binary of the store.  (The server adds each it answers for.) */
void            charta_store_add_base_url   (ChartaStore         *self,
                                             const char          *base_url);
/* The bases added so far, NULL-terminated (newly allocated). */
char          **charta_store_dup_base_urls  (ChartaStore         *self);

/* Figures of the content store (see ChartaContentStats). */
gboolean        charta_store_get_content_stats (ChartaStore        *self,
                                                ChartaContentStats *stats,
                                                GError            **error);
/* Drops pending contents and contents no version holds that were untouched for @max_age (µs;
 * 0: all of them), in writer transactions of bounded size.  The writer does it when the store
 * is opened, with CHARTA_CONTENT_GARBAGE_AGE. */
gboolean        charta_store_clean_content  (ChartaStore         *self,
                                             int64_t              max_age,
                                             GError             **error);

G_END_DECLS
