/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-store-private.h: what the store's files share, and the storage engine's interface.
 *
 * charta-store.c is the engine-neutral part of ChartaStore: request preparation (validation,
 * ids, canonical bodies, index extraction, Provenance), the writer thread and its group
 * commit, the reader pool and the async twins.  Everything that knows SQL lives behind the
 * ChartaDb interface below, implemented by charta-store-sqlite.c, so that another engine
 * (PostgreSQL) can be added without touching the rest.  A ChartaDb is one connection, used by
 * one thread at a time.
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

G_END_DECLS
