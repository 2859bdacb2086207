/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-store-sqlite.c: the SQLite storage engine behind ChartaStore.
 *
 * All of the store's SQL lives here (and in migrations/): opening and recognising a store
 * file, schema migrations, the statements of writes, reads, history and the check.  A ChartaDb
 * is one connection, used by one thread at a time; its statements are prepared once
 * (SQLITE_PREPARE_PERSISTENT) and kept, and every value is bound, never spliced into SQL.
 * SQLite result codes become CHARTA_STORE_ERROR codes in one function, set_sqlite_error().
 *
 * A store file is recognised by PRAGMA application_id (CHARTA_APPLICATION_ID); its schema
 * version is PRAGMA user_version, the number of the last migration applied.  Migrations are
 * the files migrations/NNNN-*.sql compiled into the library as GResources, applied in order in
 * one transaction.
 */
#define G_LOG_DOMAIN "charta-store-sqlite"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "charta-search-index-private.h"
#include "charta-store-resources.h"
#include "charta-store-sqlite-private.h"

/* 'CHRT' */
#define CHARTA_APPLICATION_ID 0x43485254
#define MIGRATIONS_PATH "/org/charta/store/migrations"
#define BUSY_TIMEOUT_MS 30000

/* --- statements ------------------------------------------------------------------------- */

typedef enum
{
  STMT_BEGIN,
  STMT_COMMIT,
  STMT_ROLLBACK,
  STMT_SAVEPOINT,
  STMT_RELEASE,
  STMT_ROLLBACK_TO,
  STMT_LOOKUP,
  STMT_MAX_LAST_UPDATED,
  STMT_TYPE_FIND,
  STMT_TYPE_INSERT,
  STMT_PARAM_FIND,
  STMT_PARAM_INSERT,
  STMT_RESOURCE_INSERT,
  STMT_RESOURCE_UPDATE,
  STMT_VERSION_INSERT,
  STMT_READ_CURRENT,
  STMT_READ_VERSION,
  STMT_PROVENANCE_ALL,
  STMT_PROVENANCE_VERSION,
  STMT_COUNT_BY_TYPE,
  STMT_FTS_INSERT,
  STMT_FTS_DELETE,
  STMT_DATE_STAT_FIND,
  STMT_DATE_STAT_RAISE,
  STMT_CONTENT_NEW,
  STMT_CONTENT_TOUCH,
  STMT_CONTENT_FIND,
  STMT_CONTENT_INSERT,
  STMT_CONTENT_COMPLETE,
  STMT_CONTENT_FIGURES,
  STMT_CONTENT_DELETE,
  STMT_CHUNK_INSERT,
  STMT_CHUNK_DELETE,
  STMT_CHUNK_READ,
  STMT_VERSION_CONTENT,
  STMT_READ_BINARY,
  STMT_GARBAGE,
  STMT_CONTENT_UNPUBLISH,
  /* per index table: insert, delete by rid, select by rid */
  STMT_INDEX_INSERT,
  STMT_INDEX_DELETE = STMT_INDEX_INSERT + 8,
  STMT_INDEX_SELECT = STMT_INDEX_DELETE + 8,
  /* history: 3 scopes × since × _at */
  STMT_HISTORY = STMT_INDEX_SELECT + 8,
  N_STMTS = STMT_HISTORY + 12,
} StmtId;

static const char *const stmt_sql[STMT_INDEX_INSERT] = {
  [STMT_BEGIN] = "BEGIN IMMEDIATE",
  [STMT_COMMIT] = "COMMIT",
  [STMT_ROLLBACK] = "ROLLBACK",
  [STMT_SAVEPOINT] = "SAVEPOINT request",
  [STMT_RELEASE] = "RELEASE request",
  [STMT_ROLLBACK_TO] = "ROLLBACK TO request",
  [STMT_LOOKUP] =
    "SELECT r.rid, r.version, r.deleted FROM rtype t"
    " JOIN resource r ON r.tid = t.tid"
    " WHERE t.name = ?1 AND r.id = ?2",
  [STMT_MAX_LAST_UPDATED] = "SELECT max(last_updated) FROM version",
  [STMT_TYPE_FIND] = "SELECT tid FROM rtype WHERE name = ?1",
  [STMT_TYPE_INSERT] = "INSERT INTO rtype (name) VALUES (?1)",
  [STMT_PARAM_FIND] = "SELECT pid FROM param WHERE type = ?1 AND code = ?2",
  [STMT_PARAM_INSERT] = "INSERT INTO param (type, code) VALUES (?1, ?2)",
  [STMT_RESOURCE_INSERT] =
    "INSERT INTO resource (tid, id, version, deleted) VALUES (?1, ?2, ?3, ?4)",
  [STMT_RESOURCE_UPDATE] = "UPDATE resource SET version = ?2, deleted = ?3 WHERE rid = ?1",
  [STMT_VERSION_INSERT] =
    "INSERT INTO version (rid, tid, version, method, last_updated, body, provenance, request,"
    " content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
  [STMT_READ_CURRENT] =
    "SELECT r.version, r.deleted, v.body FROM rtype t"
    " JOIN resource r ON r.tid = t.tid"
    " JOIN version v ON v.rid = r.rid AND v.version = r.version"
    " WHERE t.name = ?1 AND r.id = ?2",
  [STMT_READ_VERSION] =
    "SELECT r.version, v.version, v.body FROM rtype t"
    " JOIN resource r ON r.tid = t.tid"
    " LEFT JOIN version v ON v.rid = r.rid AND v.version = ?3"
    " WHERE t.name = ?1 AND r.id = ?2",
  [STMT_PROVENANCE_ALL] =
    "SELECT pv.body FROM resource p"
    " JOIN version pv ON pv.rid = p.rid AND pv.version = p.version"
    " WHERE p.deleted = 0 AND p.rid IN (SELECT x.rid FROM idx_reference x"
    "   WHERE x.pid = (SELECT pid FROM param WHERE type = 'Provenance' AND code = 'target')"
    "   AND x.id = ?2 AND x.type = ?1)"
    " ORDER BY pv.seq DESC",
  [STMT_PROVENANCE_VERSION] =
    "SELECT pv.body FROM resource p"
    " JOIN version pv ON pv.rid = p.rid AND pv.version = p.version"
    " WHERE p.deleted = 0 AND p.rid IN (SELECT x.rid FROM idx_reference x"
    "   WHERE x.pid = (SELECT pid FROM param WHERE type = 'Provenance' AND code = 'target')"
    "   AND x.id = ?2 AND x.type = ?1 AND x.version = ?3)"
    " ORDER BY pv.seq DESC",
  [STMT_FTS_INSERT] = "INSERT INTO fts (rowid, narrative, content) VALUES (?1, ?2, ?3)",
  [STMT_FTS_DELETE] = "DELETE FROM fts WHERE rowid = ?1",
  [STMT_DATE_STAT_FIND] = "SELECT max_rows, max_span FROM date_stat WHERE pid = ?1",
  [STMT_DATE_STAT_RAISE] =
    "INSERT INTO date_stat (pid, max_rows, max_span) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (pid) DO UPDATE SET max_rows = max (max_rows, excluded.max_rows),"
    " max_span = max (max_span, excluded.max_span)",
  /* binary content (0005) */
  [STMT_CONTENT_NEW] =
    "INSERT INTO content (sha256, sha1, size, chunk_size, touched) VALUES (NULL, NULL, 0, ?1, ?2)",
  [STMT_CONTENT_TOUCH] = "UPDATE content SET touched = ?2 WHERE cid = ?1",
  [STMT_CONTENT_FIND] = "SELECT cid, sha1, size, chunk_size FROM content WHERE sha256 = ?1",
  [STMT_CONTENT_INSERT] =
    "INSERT INTO content (sha256, sha1, size, chunk_size, touched) VALUES (?1, ?2, ?3, ?4, ?5)",
  [STMT_CONTENT_COMPLETE] =
    "UPDATE content SET sha256 = ?2, sha1 = ?3, size = ?4, touched = ?5"
    " WHERE cid = ?1 AND sha256 IS NULL",
  /* (length() of a blob reads its size, not its bytes) */
  [STMT_CONTENT_FIGURES] =
    "SELECT count(*), coalesce (sum (length (data)), 0), coalesce (max (seq), -1),"
    " coalesce (sum (seq < ?2 AND length (data) != ?3), 0)"
    " FROM content_chunk WHERE cid = ?1",
  [STMT_CONTENT_DELETE] =
    "DELETE FROM content WHERE cid = ?1 AND NOT EXISTS (SELECT 1 FROM content_chunk k"
    " WHERE k.cid = ?1) AND (sha256 IS NULL OR NOT EXISTS (SELECT 1 FROM version v"
    " WHERE v.content = ?1))",
  [STMT_CHUNK_INSERT] = "INSERT INTO content_chunk (cid, seq, data) VALUES (?1, ?2, ?3)",
  [STMT_CHUNK_DELETE] =
    "DELETE FROM content_chunk WHERE rowid IN (SELECT rowid FROM content_chunk WHERE cid = ?1"
    " ORDER BY seq DESC LIMIT ?2)",
  [STMT_CHUNK_READ] =
    "SELECT k.rowid, length (k.data) FROM content c"
    " JOIN content_chunk k ON k.cid = c.cid AND k.seq = ?2 WHERE c.sha256 = ?1",
  [STMT_VERSION_CONTENT] =
    "SELECT c.sha256 FROM version v JOIN content c ON c.cid = v.content"
    " WHERE v.rid = ?1 AND v.version = ?2",
  [STMT_READ_BINARY] =
    "SELECT r.version, v.version, v.body, c.sha256, c.sha1, c.size, c.chunk_size, r.deleted"
    " FROM rtype t JOIN resource r ON r.tid = t.tid"
    " LEFT JOIN version v ON v.rid = r.rid"
    "  AND v.version = (CASE WHEN ?2 > 0 THEN ?2 ELSE r.version END)"
    " LEFT JOIN content c ON c.cid = v.content"
    " WHERE t.name = 'Binary' AND r.id = ?1",
  [STMT_GARBAGE] =
    "SELECT cid FROM content WHERE touched < ?1 AND (sha256 IS NULL"
    " OR NOT EXISTS (SELECT 1 FROM version v WHERE v.content = content.cid)) LIMIT 1",
  [STMT_CONTENT_UNPUBLISH] =
    "UPDATE content SET sha256 = NULL, touched = 0 WHERE cid = ?1 AND sha256 IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM version v WHERE v.content = ?1)",
  [STMT_COUNT_BY_TYPE] =
    "SELECT t.name, count(*) FROM resource r JOIN rtype t ON t.tid = r.tid"
    " WHERE r.deleted = 0 GROUP BY r.tid",
};

/* The index tables, in ChartaSearchType-independent order. */
typedef enum
{
  TABLE_STRING,
  TABLE_TOKEN,
  TABLE_DATE,
  TABLE_NUMBER,
  TABLE_QUANTITY,
  TABLE_REFERENCE,
  TABLE_URI,
  TABLE_COMPOSITE,
  N_TABLES,
} IndexTable;

typedef struct
{
  const char *name;
  const char *columns;   /* after pid, rid */
  unsigned n_columns;
} IndexTableDef;

static const IndexTableDef index_tables[N_TABLES] = {
  [TABLE_STRING] = { "idx_string", "norm, text", 2 },
  [TABLE_TOKEN] = { "idx_token", "system, code, display, type_system, type_code", 5 },
  [TABLE_DATE] = { "idx_date", "low, high", 2 },
  [TABLE_NUMBER] = { "idx_number", "value, low, high", 3 },
  [TABLE_QUANTITY] = { "idx_quantity", "value, low, high, system, code, unit", 6 },
  [TABLE_REFERENCE] = { "idx_reference", "type, id, version, url, system, value", 6 },
  [TABLE_URI] = { "idx_uri", "uri", 1 },
  [TABLE_COMPOSITE] = { "idx_composite",
                        "c1_a, c1_b, c1_lo, c1_hi, c2_a, c2_b, c2_lo, c2_hi, "
                        "c3_a, c3_b, c3_lo, c3_hi", 12 },
};

#define MAX_COLUMNS 12
/* Index rows of resource rid have rowids [rid << ROWS_SHIFT, (rid + 1) << ROWS_SHIFT). */
#define ROWS_SHIFT CHARTA_DB_ROWS_SHIFT
#define ROWS_FIRST(rid) ((int64_t) (rid) << ROWS_SHIFT)
#define ROWS_END(rid) (((int64_t) (rid) + 1) << ROWS_SHIFT)
#define N_COMPOSITE_SLOTS 3

struct _ChartaDb
{
  sqlite3      *handle;
  char         *path;
  gboolean      read_only;
  sqlite3_stmt *stmts[N_STMTS];
  GHashTable   *type_ids;   /* type name → tid (writer) */
  GHashTable   *param_ids;  /* packed (type index, param index) → pid (writer) */
  GHashTable   *date_stats; /* pid → DateStat: date_stat's rows as read or written (writer) */
  gboolean      wrote_content;  /* the transaction touched content chunks: the page cache is
                                 * given back at its end (see "binary content") */
  gboolean      secure_delete;  /* PRAGMA secure_delete as the connection opened (writer) */
};

/* A row of date_stat (0003). */
typedef struct
{
  int64_t max_rows;
  int64_t max_span;
} DateStat;

/* sqlite3_stmt with a cleanup that resets it for its next use. */
typedef sqlite3_stmt ChartaStmt;

static void
charta_stmt_reset (ChartaStmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaStmt, charta_stmt_reset)

/* --- errors -------------------------------------------------------------------------------- */

/* The one place SQLite result codes become store errors. */
static gboolean
set_sqlite_error (GError    **error,
                  ChartaDb   *db,
                  int         rc,
                  const char *doing)
{
  int code;
  const char *detail;

  switch (rc & 0xff)
    {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
      code = CHARTA_STORE_ERROR_CORRUPT;
      break;
    case SQLITE_READONLY:
      code = CHARTA_STORE_ERROR_READ_ONLY;
      break;
    default:
      /* BUSY, LOCKED, FULL, IOERR, CANTOPEN, PERM, NOMEM, CONSTRAINT (a broken invariant)… */
      code = CHARTA_STORE_ERROR_IO;
      break;
    }
  detail = db != NULL && db->handle != NULL ? sqlite3_errmsg (db->handle) : sqlite3_errstr (rc);
  g_set_error (error, CHARTA_STORE_ERROR, code, "%s: %s: %s (SQLite %d)",
               db != NULL && db->path != NULL ? db->path : "store", doing, detail, rc);
  return FALSE;
}

/* charta_normalize(text): the search index's normal form of a string (lowercase, no
 * accents), for conditions on text the index keeps only as written (token :text). */
static void
normalize_function (sqlite3_context  *context,
                    int               argc,
                    sqlite3_value   **argv)
{
  const char *text = (const char *) sqlite3_value_text (argv[0]);
  char *normalized;

  (void) argc;
  if (text == NULL)
    {
      sqlite3_result_null (context);
      return;
    }
  normalized = charta_search_normalize_string (text, -1);
  sqlite3_result_text (context, normalized, -1, g_free);
}

gboolean
charta_db_set_error (GError     **error,
                     ChartaDb    *db,
                     int          rc,
                     const char  *doing)
{
  return set_sqlite_error (error, db, rc, doing);
}

sqlite3 *
charta_db_get_handle (ChartaDb *db)
{
  return db->handle;
}

/* --- statements ---------------------------------------------------------------------------- */

/* The history statement of @key (scope * 4 + since + 2 * _at).  Parameters: ?1 the cursor's
 * seq, ?2 type, ?3 id, ?4 since, ?5 and ?7 the _at range [low, high], ?6 the limit.  A version
 * is in the _at range when it was current at some instant of it: made at or before high, and
 * not superseded at or before low (its next version, if any, came after low).  The request
 * of a version written before 0004 is what its method implies (0 create: POST). */
static char *
history_sql (unsigned key)
{
  unsigned scope = key / 4;  /* 0 store, 1 type, 2 resource */
  gboolean since = (key & 1) != 0, at = (key & 2) != 0;
  GString *sql = g_string_new (
    "SELECT v.seq, t.name, r.id, v.version, v.method, v.last_updated, v.body,"
    " coalesce (v.request, v.method)"
    " FROM version v JOIN resource r ON r.rid = v.rid JOIN rtype t ON t.tid = v.tid"
    " WHERE v.seq < ?1");

  if (scope == 1)
    g_string_append (sql, " AND v.tid = (SELECT tid FROM rtype WHERE name = ?2)");
  else if (scope == 2)
    g_string_append (sql, " AND v.rid = (SELECT r2.rid FROM resource r2 JOIN rtype t2"
                          " ON t2.tid = r2.tid WHERE t2.name = ?2 AND r2.id = ?3)");
  if (since)
    g_string_append (sql, " AND v.last_updated >= ?4");
  if (at)
    g_string_append (sql, " AND v.last_updated <= ?7 AND NOT EXISTS (SELECT 1 FROM version n"
                          " WHERE n.rid = v.rid AND n.version = v.version + 1"
                          " AND n.last_updated <= ?5)");
  g_string_append (sql, " ORDER BY v.seq DESC LIMIT ?6");
  return g_string_free (sql, FALSE);
}

static char *
stmt_text (StmtId id)
{
  if (id < STMT_INDEX_INSERT)
    return g_strdup (stmt_sql[id]);
  if (id < STMT_INDEX_DELETE)
    {
      const IndexTableDef *t = &index_tables[id - STMT_INDEX_INSERT];
      GString *sql = g_string_new (NULL);

      g_string_append_printf (sql, "INSERT INTO %s (rowid, pid, rid, %s) VALUES (?%u, ?1, ?2",
                              t->name, t->columns, t->n_columns + 3);
      for (unsigned i = 0; i < t->n_columns; i++)
        g_string_append_printf (sql, ", ?%u", i + 3);
      g_string_append_c (sql, ')');
      return g_string_free (sql, FALSE);
    }
  if (id < STMT_INDEX_SELECT)
    return g_strdup_printf ("DELETE FROM %s WHERE rowid >= ?1 AND rowid < ?2",
                            index_tables[id - STMT_INDEX_DELETE].name);
  if (id < STMT_HISTORY)
    {
      const IndexTableDef *t = &index_tables[id - STMT_INDEX_SELECT];

      return g_strdup_printf ("SELECT pid, %s, rid FROM %s WHERE rowid >= ?1 AND rowid < ?2",
                              t->columns, t->name);
    }
  return history_sql (id - STMT_HISTORY);
}

/* The prepared statement @id of @db, ready to bind; NULL with @error set if it cannot be
 * prepared. */
static ChartaStmt *
get_stmt (ChartaDb  *db,
          StmtId     id,
          GError   **error)
{
  if (db->stmts[id] == NULL)
    {
      g_autofree char *sql = stmt_text (id);
      int rc = sqlite3_prepare_v3 (db->handle, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                   &db->stmts[id], NULL);

      if (rc != SQLITE_OK)
        {
          set_sqlite_error (error, db, rc, "preparing a statement");
          db->stmts[id] = NULL;
          return NULL;
        }
    }
  return db->stmts[id];
}

static void
bind_text (sqlite3_stmt *stmt,
           int           index,
           const char   *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, index);
}

/* Runs a statement that returns no rows. */
static gboolean
run_stmt (ChartaDb    *db,
          ChartaStmt  *stmt,
          const char  *doing,
          GError     **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return set_sqlite_error (error, db, rc, doing);
  return TRUE;
}

static gboolean
run_simple (ChartaDb    *db,
            StmtId       id,
            const char  *doing,
            GError     **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, id, error);

  if (stmt == NULL)
    return FALSE;
  return run_stmt (db, stmt, doing, error);
}

static GBytes *
column_bytes (sqlite3_stmt *stmt,
              int           column)
{
  const void *data;
  int n;

  if (sqlite3_column_type (stmt, column) == SQLITE_NULL)
    return NULL;
  data = sqlite3_column_blob (stmt, column);
  n = sqlite3_column_bytes (stmt, column);
  return g_bytes_new (data != NULL ? data : "", n);
}

/* --- the WAL write buffer ------------------------------------------------------------------
 *
 * SQLite writes each WAL frame with two pwrite() calls (its 24-byte header, then the page), and
 * a checkpoint copies each page back to the database with one, so a commit of a few hundred
 * pages makes a thousand system calls, which cost the writer more CPU than the pages
 * themselves.  The "charta-wal" VFS wraps the default one and, for the WAL and the database
 * file, gathers contiguous writes in a buffer that reaches the file in one write before
 * anything could need it there: before every sync, read, size query, truncation, file control,
 * lock change and close.  Only durable writer connections (synchronous=FULL) use it: they sync
 * the WAL at every commit before publishing the commit in the wal-index, and the database file
 * at every checkpoint before publishing what it copied, so no other connection can look for
 * something still in a buffer.  (With synchronous=NORMAL a commit is published without a sync,
 * so FAST stores do not use it.)  Every other file and method goes straight through.
 */

#define WAL_VFS_NAME "charta-wal"
#define WAL_BUFFER_SIZE (8 * 1024 * 1024)

typedef struct
{
  sqlite3_file   base;        /* pMethods: &buffered_methods */
  sqlite3_file  *real;        /* the default VFS's file, in the same allocation, after this */
  char          *buf;         /* buffered files only, allocated on the first write */
  sqlite3_int64  buf_offset;  /* the file offset of buf[0] */
  int            buf_len;
  gboolean       buffered;    /* the WAL or the database file */
} BufferedFile;

/* The unix VFS writes at most 128 KiB - 1 per call (it masks larger sizes), so the buffer
 * goes out in chunks of WAL_WRITE_CHUNK. */
#define WAL_WRITE_CHUNK (64 * 1024)

static int
buffer_flush (BufferedFile *f)
{
  int rc = SQLITE_OK;

  for (int done = 0; done < f->buf_len && rc == SQLITE_OK; done += WAL_WRITE_CHUNK)
    rc = f->real->pMethods->xWrite (f->real, f->buf + done,
                                    MIN (WAL_WRITE_CHUNK, f->buf_len - done),
                                    f->buf_offset + done);
  f->buf_len = 0;
  return rc;
}

static int
buffered_close (sqlite3_file *file)
{
  BufferedFile *f = (BufferedFile *) file;
  int rc = buffer_flush (f);
  int rc2 = f->real->pMethods->xClose (f->real);

  g_clear_pointer (&f->buf, g_free);
  return rc != SQLITE_OK ? rc : rc2;
}

static int
buffered_read (sqlite3_file *file,
               void         *data,
               int           amount,
               sqlite3_int64 offset)
{
  BufferedFile *f = (BufferedFile *) file;
  int rc = buffer_flush (f);

  if (rc != SQLITE_OK)
    return rc;
  return f->real->pMethods->xRead (f->real, data, amount, offset);
}

static int
buffered_write (sqlite3_file *file,
                const void   *data,
                int           amount,
                sqlite3_int64 offset)
{
  BufferedFile *f = (BufferedFile *) file;
  int rc;

  if (!f->buffered)
    return f->real->pMethods->xWrite (f->real, data, amount, offset);
  if (f->buf_len > 0 && offset == f->buf_offset + f->buf_len
      && amount <= WAL_BUFFER_SIZE - f->buf_len)
    {
      memcpy (f->buf + f->buf_len, data, amount);
      f->buf_len += amount;
      return SQLITE_OK;
    }
  rc = buffer_flush (f);
  if (rc != SQLITE_OK)
    return rc;
  if (amount > WAL_WRITE_CHUNK)
    return f->real->pMethods->xWrite (f->real, data, amount, offset);
  if (f->buf == NULL)
    f->buf = g_malloc (WAL_BUFFER_SIZE);
  memcpy (f->buf, data, amount);
  f->buf_offset = offset;
  f->buf_len = amount;
  return SQLITE_OK;
}

static int
buffered_truncate (sqlite3_file *file,
                   sqlite3_int64 size)
{
  BufferedFile *f = (BufferedFile *) file;
  int rc = buffer_flush (f);

  if (rc != SQLITE_OK)
    return rc;
  return f->real->pMethods->xTruncate (f->real, size);
}

static int
buffered_sync (sqlite3_file *file,
               int           flags)
{
  BufferedFile *f = (BufferedFile *) file;
  int rc = buffer_flush (f);

  if (rc != SQLITE_OK)
    return rc;
  return f->real->pMethods->xSync (f->real, flags);
}

static int
buffered_file_size (sqlite3_file  *file,
                    sqlite3_int64 *size)
{
  BufferedFile *f = (BufferedFile *) file;
  int rc = buffer_flush (f);

  if (rc != SQLITE_OK)
    return rc;
  return f->real->pMethods->xFileSize (f->real, size);
}

static int
buffered_lock (sqlite3_file *file,
               int           level)
{
  BufferedFile *f = (BufferedFile *) file;
  int rc = buffer_flush (f);

  if (rc != SQLITE_OK)
    return rc;
  return f->real->pMethods->xLock (f->real, level);
}

static int
buffered_unlock (sqlite3_file *file,
                 int           level)
{
  BufferedFile *f = (BufferedFile *) file;
  int rc = buffer_flush (f);

  if (rc != SQLITE_OK)
    return rc;
  return f->real->pMethods->xUnlock (f->real, level);
}

static int
buffered_check_reserved_lock (sqlite3_file *file,
                              int          *out)
{
  BufferedFile *f = (BufferedFile *) file;

  return f->real->pMethods->xCheckReservedLock (f->real, out);
}

static int
buffered_file_control (sqlite3_file *file,
                       int           op,
                       void         *arg)
{
  BufferedFile *f = (BufferedFile *) file;
  int rc = buffer_flush (f);

  if (rc != SQLITE_OK)
    return rc;
  return f->real->pMethods->xFileControl (f->real, op, arg);
}

static int
buffered_sector_size (sqlite3_file *file)
{
  BufferedFile *f = (BufferedFile *) file;

  return f->real->pMethods->xSectorSize (f->real);
}

static int
buffered_device_characteristics (sqlite3_file *file)
{
  BufferedFile *f = (BufferedFile *) file;

  return f->real->pMethods->xDeviceCharacteristics (f->real);
}

static int
buffered_shm_map (sqlite3_file  *file,
                  int            region,
                  int            size,
                  int            extend,
                  void volatile **out)
{
  BufferedFile *f = (BufferedFile *) file;

  return f->real->pMethods->xShmMap (f->real, region, size, extend, out);
}

static int
buffered_shm_lock (sqlite3_file *file,
                   int           offset,
                   int           n,
                   int           flags)
{
  BufferedFile *f = (BufferedFile *) file;
  int rc = buffer_flush (f);

  if (rc != SQLITE_OK)
    return rc;
  return f->real->pMethods->xShmLock (f->real, offset, n, flags);
}

static void
buffered_shm_barrier (sqlite3_file *file)
{
  BufferedFile *f = (BufferedFile *) file;

  f->real->pMethods->xShmBarrier (f->real);
}

static int
buffered_shm_unmap (sqlite3_file *file,
                    int           delete_flag)
{
  BufferedFile *f = (BufferedFile *) file;

  return f->real->pMethods->xShmUnmap (f->real, delete_flag);
}

static int
buffered_fetch (sqlite3_file  *file,
                sqlite3_int64  offset,
                int            amount,
                void         **out)
{
  BufferedFile *f = (BufferedFile *) file;
  int rc = buffer_flush (f);

  if (rc != SQLITE_OK)
    return rc;
  return f->real->pMethods->xFetch (f->real, offset, amount, out);
}

static int
buffered_unfetch (sqlite3_file  *file,
                  sqlite3_int64  offset,
                  void          *page)
{
  BufferedFile *f = (BufferedFile *) file;

  return f->real->pMethods->xUnfetch (f->real, offset, page);
}

static const sqlite3_io_methods buffered_methods = {
  3,
  buffered_close,
  buffered_read,
  buffered_write,
  buffered_truncate,
  buffered_sync,
  buffered_file_size,
  buffered_lock,
  buffered_unlock,
  buffered_check_reserved_lock,
  buffered_file_control,
  buffered_sector_size,
  buffered_device_characteristics,
  buffered_shm_map,
  buffered_shm_lock,
  buffered_shm_barrier,
  buffered_shm_unmap,
  buffered_fetch,
  buffered_unfetch,
};

#define BASE_VFS(vfs) ((sqlite3_vfs *) (vfs)->pAppData)

static int
wal_vfs_open (sqlite3_vfs  *vfs,
              const char   *name,
              sqlite3_file *file,
              int           flags,
              int          *out_flags)
{
  BufferedFile *f = (BufferedFile *) file;
  sqlite3_vfs *base = BASE_VFS (vfs);
  int rc;

  memset (f, 0, sizeof *f);
  f->real = (sqlite3_file *) ((char *) f + sizeof (BufferedFile));
  rc = base->xOpen (base, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK)
    {
      /* SQLite closes nothing when xOpen fails, but the real file may hold a method table. */
      if (f->real->pMethods != NULL)
        f->real->pMethods->xClose (f->real);
      f->base.pMethods = NULL;
      return rc;
    }
  f->buffered = (flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_DB)) != 0;
  f->base.pMethods = &buffered_methods;
  return SQLITE_OK;
}

static int
wal_vfs_delete (sqlite3_vfs *vfs,
                const char  *name,
                int          sync_dir)
{
  return BASE_VFS (vfs)->xDelete (BASE_VFS (vfs), name, sync_dir);
}

static int
wal_vfs_access (sqlite3_vfs *vfs,
                const char  *name,
                int          flags,
                int         *out)
{
  return BASE_VFS (vfs)->xAccess (BASE_VFS (vfs), name, flags, out);
}

static int
wal_vfs_full_pathname (sqlite3_vfs *vfs,
                       const char  *name,
                       int          n_out,
                       char        *out)
{
  return BASE_VFS (vfs)->xFullPathname (BASE_VFS (vfs), name, n_out, out);
}

static void *
wal_vfs_dl_open (sqlite3_vfs *vfs,
                 const char  *name)
{
  return BASE_VFS (vfs)->xDlOpen (BASE_VFS (vfs), name);
}

static void
wal_vfs_dl_error (sqlite3_vfs *vfs,
                  int          n,
                  char        *message)
{
  BASE_VFS (vfs)->xDlError (BASE_VFS (vfs), n, message);
}

static void (*
wal_vfs_dl_sym (sqlite3_vfs *vfs,
                void        *handle,
                const char  *symbol)) (void)
{
  return BASE_VFS (vfs)->xDlSym (BASE_VFS (vfs), handle, symbol);
}

static void
wal_vfs_dl_close (sqlite3_vfs *vfs,
                  void        *handle)
{
  BASE_VFS (vfs)->xDlClose (BASE_VFS (vfs), handle);
}

static int
wal_vfs_randomness (sqlite3_vfs *vfs,
                    int          n,
                    char        *out)
{
  return BASE_VFS (vfs)->xRandomness (BASE_VFS (vfs), n, out);
}

static int
wal_vfs_sleep (sqlite3_vfs *vfs,
               int          usec)
{
  return BASE_VFS (vfs)->xSleep (BASE_VFS (vfs), usec);
}

static int
wal_vfs_current_time (sqlite3_vfs *vfs,
                      double      *out)
{
  return BASE_VFS (vfs)->xCurrentTime (BASE_VFS (vfs), out);
}

static int
wal_vfs_get_last_error (sqlite3_vfs *vfs,
                        int          n,
                        char        *out)
{
  return BASE_VFS (vfs)->xGetLastError (BASE_VFS (vfs), n, out);
}

static int
wal_vfs_current_time_int64 (sqlite3_vfs   *vfs,
                            sqlite3_int64 *out)
{
  return BASE_VFS (vfs)->xCurrentTimeInt64 (BASE_VFS (vfs), out);
}

/* The name of the buffering VFS, registered on first use; NULL (the default VFS) when the
 * default VFS is not one it can wrap. */
static const char *
wal_vfs_name (void)
{
  static sqlite3_vfs vfs;
  static gsize registered = 0;

  if (g_once_init_enter (&registered))
    {
      sqlite3_vfs *base = sqlite3_vfs_find (NULL);
      gsize result = 2;

      if (base != NULL && base->iVersion >= 2 && base->xCurrentTimeInt64 != NULL)
        {
          vfs.iVersion = 2;
          vfs.szOsFile = (int) sizeof (BufferedFile) + base->szOsFile;
          vfs.mxPathname = base->mxPathname;
          vfs.zName = WAL_VFS_NAME;
          vfs.pAppData = base;
          vfs.xOpen = wal_vfs_open;
          vfs.xDelete = wal_vfs_delete;
          vfs.xAccess = wal_vfs_access;
          vfs.xFullPathname = wal_vfs_full_pathname;
          vfs.xDlOpen = wal_vfs_dl_open;
          vfs.xDlError = wal_vfs_dl_error;
          vfs.xDlSym = wal_vfs_dl_sym;
          vfs.xDlClose = wal_vfs_dl_close;
          vfs.xRandomness = wal_vfs_randomness;
          vfs.xSleep = wal_vfs_sleep;
          vfs.xCurrentTime = wal_vfs_current_time;
          vfs.xGetLastError = wal_vfs_get_last_error;
          vfs.xCurrentTimeInt64 = wal_vfs_current_time_int64;
          if (sqlite3_vfs_register (&vfs, 0) == SQLITE_OK)
            result = 1;
        }
      g_once_init_leave (&registered, result);
    }
  return registered == 1 ? WAL_VFS_NAME : NULL;
}

/* --- opening --------------------------------------------------------------------------------- */

static gboolean
exec_sql (ChartaDb    *db,
          const char  *sql,
          const char  *doing,
          GError     **error)
{
  int rc = sqlite3_exec (db->handle, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return set_sqlite_error (error, db, rc, doing);
  return TRUE;
}

static gboolean
query_int (ChartaDb    *db,
           const char  *sql,
           int64_t     *value,
           GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db->handle, sql, -1, &stmt, NULL);

  if (rc == SQLITE_OK)
    {
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          *value = sqlite3_column_int64 (stmt, 0);
          rc = SQLITE_OK;
        }
      else if (rc == SQLITE_DONE)
        {
          *value = 0;
          rc = SQLITE_OK;
        }
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_OK)
    return set_sqlite_error (error, db, rc, "reading the store's header");
  return TRUE;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The migrations bundled in the library, sorted by name ("0001-initial.sql", …). */
static char **
list_migrations (unsigned *latest)
{
  g_auto(GStrv) names = g_resource_enumerate_children (charta_store_get_resource (),
                                                       MIGRATIONS_PATH, 0, NULL);
  g_autoptr(GPtrArray) sql = g_ptr_array_new ();

  *latest = 0;
  for (size_t i = 0; names != NULL && names[i] != NULL; i++)
    if (g_str_has_suffix (names[i], ".sql") && g_ascii_isdigit (names[i][0]))
      g_ptr_array_add (sql, g_strdup (names[i]));
  g_ptr_array_sort (sql, compare_names);
  if (sql->len > 0)
    *latest = (unsigned) g_ascii_strtoull (g_ptr_array_index (sql, sql->len - 1), NULL, 10);
  g_ptr_array_add (sql, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&sql), FALSE);
}

static gboolean charta_db_put_content_cid (ChartaDb                 *db,
                                           const ChartaContentInfo  *info,
                                           const guint8             *data,
                                           int64_t                   chunk_size,
                                           int64_t                   now,
                                           int64_t                  *cid,
                                           GError                  **error);

/* 0005, the part SQL cannot do: the Binary versions written before kept their content in their
 * body, as `data`.  Each one's bytes go to the content store and its body loses `data` (what
 * a read of a Binary gives from now on), and the current versions' full text loses it too. */
static gboolean
migrate_binary_data (ChartaDb  *db,
                     GError   **error)
{
  sqlite3_stmt *select = NULL;
  sqlite3_stmt *update = NULL;
  sqlite3_stmt *fts = NULL;
  unsigned n_moved = 0;
  int rc;

  rc = sqlite3_prepare_v2 (db->handle,
                           "SELECT v.seq, v.rid, v.body, r.version = v.version AND r.deleted = 0"
                           " FROM version v JOIN rtype t ON t.tid = v.tid"
                           " JOIN resource r ON r.rid = v.rid"
                           " WHERE t.name = 'Binary' AND v.body IS NOT NULL"
                           " AND instr (v.body, '\"data\":') > 0 ORDER BY v.seq", -1, &select,
                           NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2 (db->handle, "UPDATE version SET body = ?2, content = ?3"
                             " WHERE seq = ?1", -1, &update, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2 (db->handle, "UPDATE fts SET narrative = ?2, content = ?3"
                             " WHERE rowid = ?1", -1, &fts, NULL);
  if (rc != SQLITE_OK)
    goto sqlite_fail;
  while ((rc = sqlite3_step (select)) == SQLITE_ROW)
    {
      int64_t seq = sqlite3_column_int64 (select, 0);
      int64_t rid = sqlite3_column_int64 (select, 1);
      gboolean current = sqlite3_column_int (select, 3) != 0;
      g_autoptr(GError) local_error = NULL;
      g_autoptr(ChartaResource) binary = NULL;
      g_autoptr(ChartaResource) stripped = NULL;
      g_autoptr(GBytes) data = NULL;
      g_autofree char *body = NULL;
      g_autofree char *narrative = NULL;
      g_autofree char *content = NULL;
      ChartaContentInfo info;
      ChartaParseLimits limits = { (size_t) sqlite3_column_bytes (select, 2) + 1, 0 };
      size_t length = 0;
      int64_t cid = 0;

      binary = charta_resource_new_from_data (sqlite3_column_blob (select, 2),
                                              (size_t) sqlite3_column_bytes (select, 2),
                                              &limits, &local_error);
      if (binary == NULL
          || !charta_binary_take_data (binary, &stripped, &data, &info, &local_error))
        {
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT,
                       "%s: moving the content of Binary versions out of their JSON (schema "
                       "migration 5): version %" G_GINT64_FORMAT " of the store cannot be "
                       "read: %s", db->path, seq, local_error != NULL ? local_error->message
                                                                      : "no Binary");
          goto fail;
        }
      if (stripped == NULL)
        continue;  /* ("data": was in another string) */
      body = charta_resource_to_json (stripped, FALSE, &length);
      if (!charta_db_put_content_cid (db, &info, g_bytes_get_data (data, NULL),
                                      CHARTA_CONTENT_CHUNK_SIZE, g_get_real_time (), &cid,
                                      error))
        goto fail;
      sqlite3_bind_int64 (update, 1, seq);
      sqlite3_bind_blob64 (update, 2, body, length, SQLITE_STATIC);
      sqlite3_bind_int64 (update, 3, cid);
      rc = sqlite3_step (update);
      sqlite3_reset (update);
      if (rc != SQLITE_DONE)
        goto sqlite_fail;
      if (current)
        {
          charta_search_index_text (stripped, &narrative, &content);
          sqlite3_bind_int64 (fts, 1, rid);
          bind_text (fts, 2, narrative != NULL ? narrative : "");
          bind_text (fts, 3, content != NULL ? content : "");
          rc = sqlite3_step (fts);
          sqlite3_reset (fts);
          if (rc != SQLITE_DONE)
            goto sqlite_fail;
        }
      n_moved++;
    }
  if (rc != SQLITE_DONE)
    goto sqlite_fail;
  sqlite3_finalize (select);
  sqlite3_finalize (update);
  sqlite3_finalize (fts);
  if (n_moved > 0)
    g_debug ("moved the content of %u Binary versions out of their JSON", n_moved);
  return TRUE;

sqlite_fail:
  set_sqlite_error (error, db, rc, "moving the content of Binary versions out of their JSON");
fail:
  sqlite3_finalize (select);
  sqlite3_finalize (update);
  sqlite3_finalize (fts);
  return FALSE;
}

static gboolean
apply_migrations (ChartaDb    *db,
                  GError     **error)
{
  unsigned latest;
  g_auto(GStrv) names = list_migrations (&latest);
  int64_t current = 0;

  if (!exec_sql (db, "BEGIN IMMEDIATE", "starting the schema migration", error))
    return FALSE;
  /* Another process may have migrated meanwhile: look again inside the transaction. */
  if (!query_int (db, "PRAGMA user_version", &current, error))
    goto fail;
  for (size_t i = 0; names[i] != NULL; i++)
    {
      unsigned number = (unsigned) g_ascii_strtoull (names[i], NULL, 10);
      g_autofree char *path = NULL;
      g_autoptr(GBytes) bytes = NULL;
      g_autofree char *sql = NULL;
      g_autofree char *doing = NULL;
      size_t length;
      const char *data;

      if (number <= current)
        continue;
      path = g_strconcat (MIGRATIONS_PATH "/", names[i], NULL);
      bytes = g_resource_lookup_data (charta_store_get_resource (), path, 0, error);
      if (bytes == NULL)
        goto fail;
      data = g_bytes_get_data (bytes, &length);
      sql = g_strndup (data, length);
      doing = g_strdup_printf ("applying schema migration %s", names[i]);
      if (!exec_sql (db, sql, doing, error))
        goto fail;
      if (number == 5 && !migrate_binary_data (db, error))
        goto fail;
      g_debug ("applied migration %s", names[i]);
    }
  {
    g_autofree char *pragmas = g_strdup_printf ("PRAGMA user_version = %u;"
                                                " PRAGMA application_id = %d;",
                                                latest, CHARTA_APPLICATION_ID);

    if (!exec_sql (db, pragmas, "recording the schema version", error))
      goto fail;
  }
  if (!exec_sql (db, "COMMIT", "committing the schema migration", error))
    goto fail;
  return TRUE;

fail:
  sqlite3_exec (db->handle, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

/* Checks that the file is a Charta store of a schema we know, migrating it when allowed. */
static gboolean
recognise (ChartaDb           *db,
           ChartaDbOpenFlags   flags,
           GError            **error)
{
  g_autoptr(GError) local_error = NULL;
  int64_t app_id = 0, user_version = 0, n_objects = 0;
  unsigned latest;
  g_auto(GStrv) names = list_migrations (&latest);  /* only the latest number is needed */

  if (!query_int (db, "PRAGMA application_id", &app_id, &local_error)
      || !query_int (db, "PRAGMA user_version", &user_version, &local_error)
      || !query_int (db, "SELECT count(*) FROM sqlite_schema", &n_objects, &local_error))
    {
      if (g_error_matches (local_error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT))
        {
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT,
                       "%s is not a Charta store: it is not an SQLite database, or it is "
                       "damaged (%s)", db->path, local_error->message);
          return FALSE;
        }
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  if (app_id != CHARTA_APPLICATION_ID)
    {
      if (app_id != 0 || n_objects > 0 || user_version != 0)
        {
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT,
                       "%s is not a Charta store: it is an SQLite database of another "
                       "application (application_id %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                       " schema objects)", db->path, app_id, n_objects);
          return FALSE;
        }
      if (!(flags & CHARTA_DB_OPEN_MIGRATE) || !(flags & CHARTA_DB_OPEN_CREATE))
        {
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT,
                       "%s is not a Charta store: it is an empty file or database", db->path);
          return FALSE;
        }
    }
  if (user_version > latest)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_VERSION,
                   "%s has schema version %" G_GINT64_FORMAT ", newer than this Charta knows "
                   "(%u): open it with a newer Charta", db->path, user_version, latest);
      return FALSE;
    }
  if (user_version < latest)
    {
      if (!(flags & CHARTA_DB_OPEN_MIGRATE))
        {
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_VERSION,
                       "%s has schema version %" G_GINT64_FORMAT ", older than this Charta's "
                       "(%u): open it writable once to upgrade it", db->path, user_version,
                       latest);
          return FALSE;
        }
      if (!apply_migrations (db, error))
        return FALSE;
    }
  return TRUE;
}

/* Process-wide settings, made before SQLite initializes (so they fail harmlessly when the
 * application has used SQLite already).  Memory statistics off: with them every allocation
 * SQLite makes takes a global mutex, and the writer allocates for most statements. */
static void
configure_sqlite (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0);
      g_once_init_leave (&done, 1);
    }
}

ChartaDb *
charta_db_open (const char        *path,
                ChartaDbOpenFlags  flags,
                GError           **error)
{
  g_autofree char *pragmas = NULL;
  ChartaDb *db;
  int open_flags = SQLITE_OPEN_NOMUTEX;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);

  configure_sqlite ();
  if (!(flags & CHARTA_DB_OPEN_CREATE) && !g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_IO,
                   "%s: no such store file", path);
      return NULL;
    }
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_IO,
                   "%s is a folder, not a store file", path);
      return NULL;
    }

  if (flags & CHARTA_DB_OPEN_READ_ONLY)
    open_flags |= SQLITE_OPEN_READONLY;
  else
    open_flags |= SQLITE_OPEN_READWRITE | ((flags & CHARTA_DB_OPEN_CREATE) ? SQLITE_OPEN_CREATE : 0);

  db = g_new0 (ChartaDb, 1);
  db->path = g_strdup (path);
  db->read_only = (flags & CHARTA_DB_OPEN_READ_ONLY) != 0;
  /* Durable writers buffer their writes to the WAL and the database until each sync (see
   * "the WAL write buffer" above). */
  rc = sqlite3_open_v2 (path, &db->handle, open_flags,
                        (flags & CHARTA_DB_OPEN_MIGRATE) && !(flags & CHARTA_DB_OPEN_FAST)
                        ? wal_vfs_name () : NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, db, rc, "opening");
      charta_db_close (db);
      return NULL;
    }
  sqlite3_extended_result_codes (db->handle, 1);
  sqlite3_create_function_v2 (db->handle, "charta_normalize", 1,
                              SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                              normalize_function, NULL, NULL, NULL);
  sqlite3_busy_timeout (db->handle, BUSY_TIMEOUT_MS);

  if (!recognise (db, flags, error))
    {
      charta_db_close (db);
      return NULL;
    }

  if (flags & CHARTA_DB_OPEN_MIGRATE)
    {
      int64_t dummy;

      /* journal_mode answers with a row; query_int reads and discards it.  Checkpoints run
       * at commit on the writer's thread: letting the WAL reach 32 MB first means pages that
       * many commits touch are copied back once, with fewer fsyncs. */
      if (!query_int (db, "PRAGMA journal_mode = WAL", &dummy, error)
          || !query_int (db, "PRAGMA wal_autocheckpoint = 8192", &dummy, error))
        {
          charta_db_close (db);
          return NULL;
        }
    }
  /* The writer keeps a large page cache: every write touches the B-trees of a dozen indexes,
   * and reading their pages back from the OS costs more than the inserts themselves. */
  pragmas = g_strdup_printf ("PRAGMA synchronous = %s; PRAGMA foreign_keys = ON;"
                             " PRAGMA cache_size = %d; PRAGMA temp_store = MEMORY;",
                             (flags & CHARTA_DB_OPEN_FAST) ? "NORMAL" : "FULL",
                             (flags & CHARTA_DB_OPEN_READ_ONLY) ? -16384 : -131072);
  if (!exec_sql (db, pragmas, "setting up the connection", error))
    {
      charta_db_close (db);
      return NULL;
    }
  if (!db->read_only)
    {
      int64_t secure = 0;

      if (!query_int (db, "PRAGMA secure_delete", &secure, error))
        {
          charta_db_close (db);
          return NULL;
        }
      db->secure_delete = secure != 0;
      db->type_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      db->param_ids = g_hash_table_new (g_direct_hash, g_direct_equal);
      db->date_stats = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
    }
  return db;
}

void
charta_db_close (ChartaDb *db)
{
  if (db == NULL)
    return;
  for (unsigned i = 0; i < N_STMTS; i++)
    if (db->stmts[i] != NULL)
      sqlite3_finalize (db->stmts[i]);
  if (db->handle != NULL)
    sqlite3_close (db->handle);
  g_clear_pointer (&db->type_ids, g_hash_table_unref);
  g_clear_pointer (&db->param_ids, g_hash_table_unref);
  g_clear_pointer (&db->date_stats, g_hash_table_unref);
  g_free (db->path);
  g_free (db);
}

/* --- transactions ------------------------------------------------------------------------------ */

gboolean
charta_db_begin (ChartaDb  *db,
                 GError   **error)
{
  return run_simple (db, STMT_BEGIN, "starting a transaction", error);
}

/* After a transaction that wrote or dropped content chunks: their pages leave the page cache,
 * where they would otherwise push out the pages of the indexes and stay (up to the writer's
 * cache_size, far more than a server should hold for bytes it will not read again). */
static void
release_content_pages (ChartaDb *db)
{
  if (!db->wrote_content)
    return;
  db->wrote_content = FALSE;
  sqlite3_db_release_memory (db->handle);
}

gboolean
charta_db_commit (ChartaDb  *db,
                  GError   **error)
{
  gboolean ok = run_simple (db, STMT_COMMIT, "committing", error);

  if (ok)
    release_content_pages (db);
  return ok;
}

/* Dictionary ids and date statistics cached by the writer may come from rows a rollback takes
 * back. */
static void
forget_cached_ids (ChartaDb *db)
{
  if (db->type_ids != NULL)
    g_hash_table_remove_all (db->type_ids);
  if (db->param_ids != NULL)
    g_hash_table_remove_all (db->param_ids);
  if (db->date_stats != NULL)
    g_hash_table_remove_all (db->date_stats);
}

void
charta_db_rollback (ChartaDb *db)
{
  forget_cached_ids (db);
  if (sqlite3_get_autocommit (db->handle))
    return;
  if (!run_simple (db, STMT_ROLLBACK, "rolling back", NULL))
    g_warning ("%s: rolling back failed", db->path);
  release_content_pages (db);
}

gboolean
charta_db_savepoint (ChartaDb  *db,
                     GError   **error)
{
  return run_simple (db, STMT_SAVEPOINT, "starting a savepoint", error);
}

gboolean
charta_db_release (ChartaDb  *db,
                   GError   **error)
{
  return run_simple (db, STMT_RELEASE, "releasing a savepoint", error);
}

void
charta_db_rollback_to (ChartaDb *db)
{
  forget_cached_ids (db);
  if (!run_simple (db, STMT_ROLLBACK_TO, "rolling back a savepoint", NULL)
      || !run_simple (db, STMT_RELEASE, "releasing a savepoint", NULL))
    g_warning ("%s: rolling back a savepoint failed", db->path);
}

/* --- writes ---------------------------------------------------------------------------------- */

gboolean
charta_db_lookup (ChartaDb         *db,
                  const char       *type,
                  const char       *id,
                  ChartaDbCurrent  *current,
                  GError          **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_LOOKUP, error);
  int rc;

  memset (current, 0, sizeof *current);
  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, type);
  bind_text (stmt, 2, id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      current->rid = sqlite3_column_int64 (stmt, 0);
      current->version = sqlite3_column_int64 (stmt, 1);
      current->deleted = sqlite3_column_int (stmt, 2) != 0;
      return TRUE;
    }
  if (rc == SQLITE_DONE)
    return TRUE;
  return set_sqlite_error (error, db, rc, "looking up a resource");
}

int64_t
charta_db_get_max_last_updated (ChartaDb  *db,
                                GError   **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_MAX_LAST_UPDATED, error);
  int rc;

  if (stmt == NULL)
    return -1;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return sqlite3_column_int64 (stmt, 0);
  set_sqlite_error (error, db, rc, "reading the last write time");
  return -1;
}

/* The dictionary id of a resource type, added when new (writer only). */
static int64_t
type_id (ChartaDb    *db,
         const char  *type,
         GError     **error)
{
  gpointer cached;

  if (g_hash_table_lookup_extended (db->type_ids, type, NULL, &cached))
    return GPOINTER_TO_SIZE (cached);

  {
    g_autoptr(ChartaStmt) find = get_stmt (db, STMT_TYPE_FIND, error);
    int64_t tid = 0;
    int rc;

    if (find == NULL)
      return 0;
    bind_text (find, 1, type);
    rc = sqlite3_step (find);
    if (rc == SQLITE_ROW)
      tid = sqlite3_column_int64 (find, 0);
    else if (rc != SQLITE_DONE)
      {
        set_sqlite_error (error, db, rc, "looking up a resource type");
        return 0;
      }
    if (tid == 0)
      {
        g_autoptr(ChartaStmt) insert = get_stmt (db, STMT_TYPE_INSERT, error);

        if (insert == NULL)
          return 0;
        bind_text (insert, 1, type);
        if (!run_stmt (db, insert, "adding a resource type", error))
          return 0;
        tid = sqlite3_last_insert_rowid (db->handle);
      }
    g_hash_table_insert (db->type_ids, g_strdup (type), GSIZE_TO_POINTER ((gsize) tid));
    return tid;
  }
}

/* The dictionary id of (@type, @param), added when new (writer only). */
static int64_t
param_id (ChartaDb                   *db,
          const char                 *type,
          int                         type_index,
          const ChartaSearchParamDef *param,
          GError                    **error)
{
  ptrdiff_t param_index = param - charta_model_search_params;
  gpointer key = NULL, cached;
  int64_t pid = 0;

  if (param_index >= 0 && (size_t) param_index < charta_model_n_search_params && type_index >= 0)
    {
      key = GSIZE_TO_POINTER ((((gsize) param_index << 16) | (gsize) type_index) + 1);
      if (g_hash_table_lookup_extended (db->param_ids, key, NULL, &cached))
        return GPOINTER_TO_SIZE (cached);
    }

  {
    g_autoptr(ChartaStmt) find = get_stmt (db, STMT_PARAM_FIND, error);
    int rc;

    if (find == NULL)
      return 0;
    bind_text (find, 1, type);
    bind_text (find, 2, param->code);
    rc = sqlite3_step (find);
    if (rc == SQLITE_ROW)
      pid = sqlite3_column_int64 (find, 0);
    else if (rc != SQLITE_DONE)
      {
        set_sqlite_error (error, db, rc, "looking up a search parameter");
        return 0;
      }
  }
  if (pid == 0)
    {
      g_autoptr(ChartaStmt) insert = get_stmt (db, STMT_PARAM_INSERT, error);

      if (insert == NULL)
        return 0;
      bind_text (insert, 1, type);
      bind_text (insert, 2, param->code);
      if (!run_stmt (db, insert, "adding a search parameter", error))
        return 0;
      pid = sqlite3_last_insert_rowid (db->handle);
    }
  if (key != NULL)
    g_hash_table_insert (db->param_ids, key, GSIZE_TO_POINTER ((gsize) pid));
  return pid;
}


/* --- index rows ---------------------------------------------------------------------------- */

typedef enum
{
  COL_NULL,
  COL_TEXT,
  COL_INT,
  COL_REAL,
} ColKind;

typedef struct
{
  ColKind     kind;
  const char *text;
  int64_t     i;
  double      d;
} Col;

typedef struct
{
  IndexTable table;
  Col cols[MAX_COLUMNS];
} IndexRow;

static inline void
col_text (Col        *c,
          const char *text)
{
  c->kind = text != NULL ? COL_TEXT : COL_NULL;
  c->text = text;
}

static inline void
col_int (Col     *c,
         int64_t  value)
{
  c->kind = COL_INT;
  c->i = value;
}

static inline void
col_real (Col    *c,
          double  value)
{
  c->kind = isnan (value) ? COL_NULL : COL_REAL;
  c->d = value;
}

/* One composite component in slot columns a, b, lo, hi. */
static void
component_to_slot (const ChartaIndexValue *v,
                   Col                    *slot)
{
  col_text (&slot[0], NULL);
  col_text (&slot[1], NULL);
  slot[2].kind = COL_NULL;
  slot[3].kind = COL_NULL;
  switch (v->type)
    {
    case CHARTA_SEARCH_TYPE_TOKEN:
      col_text (&slot[0], v->system);
      col_text (&slot[1], v->code);
      break;
    case CHARTA_SEARCH_TYPE_STRING:
      col_text (&slot[0], v->normalized);
      col_text (&slot[1], v->text);
      break;
    case CHARTA_SEARCH_TYPE_URI:
      col_text (&slot[0], v->text);
      break;
    case CHARTA_SEARCH_TYPE_REFERENCE:
      col_text (&slot[0], v->ref_url != NULL ? v->ref_url : v->ref_type);
      col_text (&slot[1], v->ref_id);
      break;
    case CHARTA_SEARCH_TYPE_DATE:
      col_int (&slot[2], v->date_low);
      col_int (&slot[3], v->date_high);
      break;
    case CHARTA_SEARCH_TYPE_NUMBER:
      /* the value itself (searches compare it, never its precision range), so that the
       * composite index (…, c2_lo) serves comparisons on it */
      col_real (&slot[2], v->number);
      col_real (&slot[3], v->number);
      break;
    case CHARTA_SEARCH_TYPE_QUANTITY:
      col_text (&slot[0], v->unit_system);
      col_text (&slot[1], v->unit_code);
      col_real (&slot[2], v->number);
      col_real (&slot[3], v->number);
      break;
    default:
      break;
    }
}

/* The row of @v; FALSE when the value has no row (special parameters). */
static gboolean
value_to_row (const ChartaIndexValue *v,
              IndexRow               *row)
{
  Col *c = row->cols;

  switch (v->type)
    {
    case CHARTA_SEARCH_TYPE_STRING:
      row->table = TABLE_STRING;
      col_text (&c[0], v->normalized);
      col_text (&c[1], v->text);
      return TRUE;
    case CHARTA_SEARCH_TYPE_TOKEN:
      row->table = TABLE_TOKEN;
      col_text (&c[0], v->system);
      col_text (&c[1], v->code);
      col_text (&c[2], v->display);
      col_text (&c[3], v->identifier_type_system);
      col_text (&c[4], v->identifier_type_code);
      return TRUE;
    case CHARTA_SEARCH_TYPE_DATE:
      row->table = TABLE_DATE;
      col_int (&c[0], v->date_low);
      col_int (&c[1], v->date_high);
      return TRUE;
    case CHARTA_SEARCH_TYPE_NUMBER:
      row->table = TABLE_NUMBER;
      col_real (&c[0], v->number);
      col_real (&c[1], v->number_low);
      col_real (&c[2], v->number_high);
      return TRUE;
    case CHARTA_SEARCH_TYPE_QUANTITY:
      row->table = TABLE_QUANTITY;
      col_real (&c[0], v->number);
      col_real (&c[1], v->number_low);
      col_real (&c[2], v->number_high);
      col_text (&c[3], v->unit_system);
      col_text (&c[4], v->unit_code);
      col_text (&c[5], v->unit);
      return TRUE;
    case CHARTA_SEARCH_TYPE_REFERENCE:
      row->table = TABLE_REFERENCE;
      col_text (&c[0], v->ref_type);
      col_text (&c[1], v->ref_id);
      col_text (&c[2], v->ref_version);
      col_text (&c[3], v->ref_url);
      col_text (&c[4], v->system);
      col_text (&c[5], v->code);
      return TRUE;
    case CHARTA_SEARCH_TYPE_URI:
      row->table = TABLE_URI;
      col_text (&c[0], v->text);
      return TRUE;
    case CHARTA_SEARCH_TYPE_COMPOSITE:
      row->table = TABLE_COMPOSITE;
      for (unsigned k = 0; k < N_COMPOSITE_SLOTS; k++)
        {
          if (v->components != NULL && k < v->components->len)
            component_to_slot (g_ptr_array_index (v->components, k), &c[4 * k]);
          else
            for (unsigned j = 0; j < 4; j++)
              c[4 * k + j].kind = COL_NULL;
        }
      return TRUE;
    case CHARTA_SEARCH_TYPE_SPECIAL:
    default:
      return FALSE;
    }
}

static void
bind_col (sqlite3_stmt *stmt,
          int           index,
          const Col    *c)
{
  switch (c->kind)
    {
    case COL_TEXT:
      sqlite3_bind_text (stmt, index, c->text, -1, SQLITE_STATIC);
      break;
    case COL_INT:
      sqlite3_bind_int64 (stmt, index, c->i);
      break;
    case COL_REAL:
      sqlite3_bind_double (stmt, index, c->d);
      break;
    case COL_NULL:
    default:
      sqlite3_bind_null (stmt, index);
      break;
    }
}

/* The date rows one resource gets, per parameter. */
#define MAX_DATE_PARAMS 64

typedef struct
{
  int64_t pid;
  DateStat stat;
} DateRows;

/* Raises date_stat's row of @rows->pid to cover @rows (see 0003). */
static gboolean
raise_date_stat (ChartaDb        *db,
                 const DateRows  *rows,
                 GError         **error)
{
  DateStat *known = g_hash_table_lookup (db->date_stats, &rows->pid);

  if (known == NULL)
    {
      g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_DATE_STAT_FIND, error);
      int64_t *key = g_new (int64_t, 1);
      int rc;

      if (stmt == NULL)
        {
          g_free (key);
          return FALSE;
        }
      known = g_new0 (DateStat, 1);
      *key = rows->pid;
      sqlite3_bind_int64 (stmt, 1, rows->pid);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          known->max_rows = sqlite3_column_int64 (stmt, 0);
          known->max_span = sqlite3_column_int64 (stmt, 1);
        }
      else if (rc != SQLITE_DONE)
        {
          g_free (key);
          g_free (known);
          return charta_db_set_error (error, db, rc, "reading date statistics");
        }
      g_hash_table_insert (db->date_stats, key, known);
    }
  if (rows->stat.max_rows > known->max_rows || rows->stat.max_span > known->max_span)
    {
      g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_DATE_STAT_RAISE, error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, rows->pid);
      sqlite3_bind_int64 (stmt, 2, rows->stat.max_rows);
      sqlite3_bind_int64 (stmt, 3, rows->stat.max_span);
      if (!run_stmt (db, stmt, "raising date statistics", error))
        return FALSE;
      known->max_rows = MAX (known->max_rows, rows->stat.max_rows);
      known->max_span = MAX (known->max_span, rows->stat.max_span);
    }
  return TRUE;
}

/* Counts a date row of @pid spanning [@low, @high] in @dates (@n_dates of them so far). */
static void
count_date_row (DateRows *dates,
                unsigned *n_dates,
                int64_t   pid,
                int64_t   low,
                int64_t   high)
{
  int64_t span = (low < 0 && high > G_MAXINT64 + low) ? G_MAXINT64 : MAX (high - low, 0);
  unsigned i;

  for (i = 0; i < *n_dates && dates[i].pid != pid; i++)
    ;
  if (i == *n_dates)
    {
      if (i == MAX_DATE_PARAMS)
        {
          /* (never with R4's parameters) the last slot takes the rest, as "many rows" */
          i = MAX_DATE_PARAMS - 1;
          dates[i].stat.max_rows = G_MAXINT32;
        }
      else
        {
          dates[i] = (DateRows) { pid, { 0, 0 } };
          (*n_dates)++;
        }
    }
  dates[i].stat.max_rows++;
  dates[i].stat.max_span = MAX (dates[i].stat.max_span, span);
}

static gboolean
insert_index_rows (ChartaDb    *db,
                   const char  *type,
                   int64_t      rid,
                   GPtrArray   *values,
                   GError     **error)
{
  int type_index = charta_model_find_type (type);
  unsigned n_rows[N_TABLES] = { 0 };
  DateRows dates[MAX_DATE_PARAMS];
  unsigned n_dates = 0;

  for (unsigned i = 0; i < values->len; i++)
    {
      const ChartaIndexValue *v = g_ptr_array_index (values, i);
      sqlite3_stmt *stmt;
      IndexRow row;
      int64_t pid;
      gboolean ok;

      if (!value_to_row (v, &row))
        continue;
      if (n_rows[row.table] >= (1u << ROWS_SHIFT))
        {
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                       "%s: more than %u search-index values of one kind", type,
                       1u << ROWS_SHIFT);
          return FALSE;
        }
      pid = param_id (db, type, type_index, v->param, error);
      if (pid == 0)
        return FALSE;
      stmt = get_stmt (db, STMT_INDEX_INSERT + row.table, error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, pid);
      sqlite3_bind_int64 (stmt, 2, rid);
      for (unsigned k = 0; k < index_tables[row.table].n_columns; k++)
        bind_col (stmt, 3 + k, &row.cols[k]);
      sqlite3_bind_int64 (stmt, 3 + index_tables[row.table].n_columns,
                          ROWS_FIRST (rid) + n_rows[row.table]++);
      ok = run_stmt (db, stmt, "adding search-index rows", error);
      /* Every parameter is bound at each use: a reset is enough (no clearing). */
      sqlite3_reset (stmt);
      if (!ok)
        return FALSE;
      if (row.table == TABLE_DATE)
        count_date_row (dates, &n_dates, pid, v->date_low, v->date_high);
    }
  for (unsigned i = 0; i < n_dates; i++)
    if (!raise_date_stat (db, &dates[i], error))
      return FALSE;
  return TRUE;
}

static gboolean
delete_index_rows (ChartaDb    *db,
                   int64_t      rid,
                   GError     **error)
{
  for (unsigned t = 0; t < N_TABLES; t++)
    {
      g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_INDEX_DELETE + t, error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, ROWS_FIRST (rid));
      sqlite3_bind_int64 (stmt, 2, ROWS_END (rid));
      if (!run_stmt (db, stmt, "removing search-index rows", error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
add_resource (ChartaDb    *db,
              int64_t      tid,
              const char  *id,
              int64_t      version,
              gboolean     deleted,
              int64_t     *rid,
              GError     **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_RESOURCE_INSERT, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, tid);
  bind_text (stmt, 2, id);
  sqlite3_bind_int64 (stmt, 3, version);
  sqlite3_bind_int (stmt, 4, deleted);
  if (!run_stmt (db, stmt, "adding a resource", error))
    return FALSE;
  *rid = sqlite3_last_insert_rowid (db->handle);
  return TRUE;
}

gboolean
charta_db_add_resource (ChartaDb    *db,
                        const char  *type,
                        const char  *id,
                        int64_t     *rid,
                        GError     **error)
{
  int64_t tid;

  g_return_val_if_fail (!db->read_only, FALSE);

  tid = type_id (db, type, error);
  if (tid == 0)
    return FALSE;
  return add_resource (db, tid, id, 1, FALSE, rid, error);
}

static gboolean lookup_content (ChartaDb         *db,
                                const char       *sha256,
                                ChartaDbContent  *content,
                                int64_t          *cid,
                                gboolean         *found,
                                GError          **error);

gboolean
charta_db_put_version (ChartaDb         *db,
                       ChartaDbVersion  *v,
                       GError          **error)
{
  int64_t tid;

  g_return_val_if_fail (!db->read_only, FALSE);

  tid = type_id (db, v->type, error);
  if (tid == 0)
    return FALSE;

  if (v->rid == 0)
    {
      if (!add_resource (db, tid, v->id, v->version, v->body == NULL, &v->rid, error))
        return FALSE;
    }
  else if (!v->added)
    {
      g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_RESOURCE_UPDATE, error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, v->rid);
      sqlite3_bind_int64 (stmt, 2, v->version);
      sqlite3_bind_int (stmt, 3, v->body == NULL);
      if (!run_stmt (db, stmt, "updating a resource", error))
        return FALSE;
    }

  {
    g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_VERSION_INSERT, error);

    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, v->rid);
    sqlite3_bind_int64 (stmt, 2, tid);
    sqlite3_bind_int64 (stmt, 3, v->version);
    sqlite3_bind_int (stmt, 4, (int) v->method);
    sqlite3_bind_int64 (stmt, 5, v->last_updated);
    if (v->body != NULL)
      sqlite3_bind_blob64 (stmt, 6, v->body, v->body_length, SQLITE_STATIC);
    else
      sqlite3_bind_null (stmt, 6);
    if (v->provenance_rid > 0)
      sqlite3_bind_int64 (stmt, 7, v->provenance_rid);
    else
      sqlite3_bind_null (stmt, 7);
    sqlite3_bind_int (stmt, 8, (int) v->request);
    if (v->binary_content != NULL)
      {
        ChartaDbContent content;
        gboolean found = FALSE;
        int64_t cid = 0;

        if (!lookup_content (db, v->binary_content, &content, &cid, &found, error))
          return FALSE;
        if (!found)
          {
            g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_INVALID,
                         "%s/%s: no content with SHA-256 %.64s is stored", v->type, v->id,
                         v->binary_content);
            return FALSE;
          }
        sqlite3_bind_int64 (stmt, 9, cid);
      }
    else
      sqlite3_bind_null (stmt, 9);
    if (!run_stmt (db, stmt, "adding a version", error))
      return FALSE;
  }

  if (v->had_index && !delete_index_rows (db, v->rid, error))
    return FALSE;
  if (v->values != NULL && !insert_index_rows (db, v->type, v->rid, v->values, error))
    return FALSE;
  if (v->had_index)
    {
      g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_FTS_DELETE, error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, v->rid);
      if (!run_stmt (db, stmt, "removing full text", error))
        return FALSE;
    }
  if (v->body != NULL && v->content != NULL)
    {
      g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_FTS_INSERT, error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, v->rid);
      bind_text (stmt, 2, v->narrative != NULL ? v->narrative : "");
      bind_text (stmt, 3, v->content);
      if (!run_stmt (db, stmt, "adding full text", error))
        return FALSE;
    }
  return TRUE;
}

/* --- reads ------------------------------------------------------------------------------------ */

GBytes *
charta_db_read_current (ChartaDb    *db,
                        const char  *type,
                        const char  *id,
                        int64_t     *version,
                        GError     **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_READ_CURRENT, error);
  int rc;

  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, type);
  bind_text (stmt, 2, id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND,
                   "%s/%s does not exist", type, id);
      return NULL;
    }
  if (rc != SQLITE_ROW)
    {
      set_sqlite_error (error, db, rc, "reading a resource");
      return NULL;
    }
  if (sqlite3_column_int (stmt, 1) != 0)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_GONE,
                   "%s/%s was deleted (version %" G_GINT64_FORMAT " is its deletion)", type, id,
                   (int64_t) sqlite3_column_int64 (stmt, 0));
      return NULL;
    }
  if (version != NULL)
    *version = sqlite3_column_int64 (stmt, 0);
  return column_bytes (stmt, 2);
}

GBytes *
charta_db_read_version (ChartaDb    *db,
                        const char  *type,
                        const char  *id,
                        int64_t      version,
                        GError     **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_READ_VERSION, error);
  int rc;

  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, type);
  bind_text (stmt, 2, id);
  sqlite3_bind_int64 (stmt, 3, version);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND,
                   "%s/%s does not exist", type, id);
      return NULL;
    }
  if (rc != SQLITE_ROW)
    {
      set_sqlite_error (error, db, rc, "reading a version");
      return NULL;
    }
  if (sqlite3_column_type (stmt, 1) == SQLITE_NULL)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND,
                   "%s/%s has no version %" G_GINT64_FORMAT " (its current version is %"
                   G_GINT64_FORMAT ")", type, id, version,
                   (int64_t) sqlite3_column_int64 (stmt, 0));
      return NULL;
    }
  if (sqlite3_column_type (stmt, 2) == SQLITE_NULL)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_GONE,
                   "version %" G_GINT64_FORMAT " of %s/%s is its deletion", version, type, id);
      return NULL;
    }
  return column_bytes (stmt, 2);
}

void
charta_db_history_row_free (ChartaDbHistoryRow *row)
{
  if (row == NULL)
    return;
  g_free (row->type);
  g_free (row->id);
  g_clear_pointer (&row->body, g_bytes_unref);
  g_free (row);
}

GPtrArray *
charta_db_history (ChartaDb    *db,
                   const char  *type,
                   const char  *id,
                   int64_t      since,
                   int64_t      at,
                   int64_t      at_high,
                   int64_t      before_seq,
                   unsigned     limit,
                   GError     **error)
{
  unsigned scope = id != NULL ? 2 : type != NULL ? 1 : 0;
  unsigned key = scope * 4 + (since > 0 ? 1 : 0) + (at != 0 || at_high != 0 ? 2 : 0);
  g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_HISTORY + key, error);
  g_autoptr(GPtrArray) rows = NULL;
  int n_params, rc;

  if (stmt == NULL)
    return NULL;
  n_params = sqlite3_bind_parameter_count (stmt);
  sqlite3_bind_int64 (stmt, 1, before_seq > 0 ? before_seq : INT64_MAX);
  if (n_params >= 2)
    bind_text (stmt, 2, type);
  if (n_params >= 3)
    bind_text (stmt, 3, id);
  if (n_params >= 4)
    sqlite3_bind_int64 (stmt, 4, since);
  if (n_params >= 5)
    sqlite3_bind_int64 (stmt, 5, at);
  sqlite3_bind_int64 (stmt, 6, limit);
  if (n_params >= 7)
    sqlite3_bind_int64 (stmt, 7, MAX (at, at_high));

  rows = g_ptr_array_new_with_free_func ((GDestroyNotify) charta_db_history_row_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      ChartaDbHistoryRow *row = g_new0 (ChartaDbHistoryRow, 1);

      row->seq = sqlite3_column_int64 (stmt, 0);
      row->type = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      row->id = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      row->version = sqlite3_column_int64 (stmt, 3);
      row->method = (ChartaMethod) sqlite3_column_int (stmt, 4);
      row->last_updated = sqlite3_column_int64 (stmt, 5);
      row->body = column_bytes (stmt, 6);
      row->request = (ChartaMethod) sqlite3_column_int (stmt, 7);
      g_ptr_array_add (rows, row);
    }
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (error, db, rc, "reading history");
      return NULL;
    }
  return g_steal_pointer (&rows);
}

GPtrArray *
charta_db_list_provenance (ChartaDb    *db,
                           const char  *type,
                           const char  *id,
                           int64_t      version,
                           GError     **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, version > 0 ? STMT_PROVENANCE_VERSION
                                                         : STMT_PROVENANCE_ALL, error);
  g_autoptr(GPtrArray) bodies = NULL;
  char version_text[32];
  int rc;

  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, type);
  bind_text (stmt, 2, id);
  if (version > 0)
    {
      g_snprintf (version_text, sizeof version_text, "%" G_GINT64_FORMAT, version);
      bind_text (stmt, 3, version_text);
    }
  bodies = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      GBytes *body = column_bytes (stmt, 0);

      if (body != NULL)
        g_ptr_array_add (bodies, body);
    }
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (error, db, rc, "listing Provenance");
      return NULL;
    }
  return g_steal_pointer (&bodies);
}

GHashTable *
charta_db_count_by_type (ChartaDb  *db,
                         GError   **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_COUNT_BY_TYPE, error);
  g_autoptr(GHashTable) counts = NULL;
  int rc;

  if (stmt == NULL)
    return NULL;
  counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      int64_t *count = g_new (int64_t, 1);

      *count = sqlite3_column_int64 (stmt, 1);
      g_hash_table_insert (counts, g_strdup ((const char *) sqlite3_column_text (stmt, 0)),
                           count);
    }
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (error, db, rc, "counting resources");
      return NULL;
    }
  return g_steal_pointer (&counts);
}

/* --- binary content ---------------------------------------------------------------------------
 *
 * A content is a row of `content` and its chunks in `content_chunk` (0005).  Chunks go in by
 * bound blobs, and come out one per statement: every chunk is one row, so no statement reads
 * or writes more than a chunk's bytes at once.  Dropping content (a duplicate upload, an
 * abandoned one) takes a bounded number of chunks per call, so the writer that calls it is
 * never held for long; for a duplicate the deleted pages are not overwritten (secure_delete
 * FAST: the same bytes are kept in the other content anyway), for the rest the connection's
 * own setting holds (Debian builds SQLite with secure_delete on: an abandoned upload's pages
 * are zeroed as they are freed).
 */

/* The complete content @sha256 (its cid too). */
static gboolean
lookup_content (ChartaDb         *db,
                const char       *sha256,
                ChartaDbContent  *content,
                int64_t          *cid,
                gboolean         *found,
                GError          **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_CONTENT_FIND, error);
  int rc;

  *found = FALSE;
  memset (content, 0, sizeof *content);
  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, sha256);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return TRUE;
  if (rc != SQLITE_ROW)
    return set_sqlite_error (error, db, rc, "looking up a content");
  *found = TRUE;
  if (cid != NULL)
    *cid = sqlite3_column_int64 (stmt, 0);
  g_strlcpy (content->info.sha256, sha256, sizeof content->info.sha256);
  g_strlcpy (content->info.sha1, (const char *) sqlite3_column_text (stmt, 1) ?: "",
             sizeof content->info.sha1);
  content->info.size = sqlite3_column_int64 (stmt, 2);
  content->chunk_size = sqlite3_column_int64 (stmt, 3);
  return TRUE;
}

gboolean
charta_db_lookup_content (ChartaDb         *db,
                          const char       *sha256,
                          ChartaDbContent  *content,
                          gboolean         *found,
                          GError          **error)
{
  return lookup_content (db, sha256, content, NULL, found, error);
}

static gboolean
touch_content (ChartaDb  *db,
               int64_t    cid,
               int64_t    now,
               GError   **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_CONTENT_TOUCH, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, cid);
  sqlite3_bind_int64 (stmt, 2, now);
  return run_stmt (db, stmt, "touching a content", error);
}

static gboolean
insert_chunk (ChartaDb      *db,
              int64_t        cid,
              int64_t        seq,
              const guint8  *data,
              size_t         size,
              GError       **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_CHUNK_INSERT, error);

  if (stmt == NULL)
    return FALSE;
  db->wrote_content = TRUE;
  sqlite3_bind_int64 (stmt, 1, cid);
  sqlite3_bind_int64 (stmt, 2, seq);
  sqlite3_bind_blob64 (stmt, 3, size > 0 ? (const void *) data : "", size, SQLITE_STATIC);
  return run_stmt (db, stmt, "adding a chunk of content", error);
}

gboolean
charta_db_add_chunks (ChartaDb       *db,
                      int64_t         pending,
                      int64_t         chunk_size,
                      int64_t         first_seq,
                      GBytes *const  *chunks,
                      unsigned        n,
                      int64_t         now,
                      int64_t        *made,
                      GError        **error)
{
  g_return_val_if_fail (!db->read_only, FALSE);

  if (pending == 0)
    {
      g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_CONTENT_NEW, error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, chunk_size);
      sqlite3_bind_int64 (stmt, 2, now);
      if (!run_stmt (db, stmt, "starting a content", error))
        return FALSE;
      pending = sqlite3_last_insert_rowid (db->handle);
    }
  else if (!touch_content (db, pending, now, error))
    return FALSE;
  for (unsigned i = 0; i < n; i++)
    {
      gsize size;
      const guint8 *data = g_bytes_get_data (chunks[i], &size);

      if (!insert_chunk (db, pending, first_seq + i, data, size, error))
        return FALSE;
    }
  *made = pending;
  return TRUE;
}

static gboolean
insert_content (ChartaDb                 *db,
                const ChartaContentInfo  *info,
                int64_t                   chunk_size,
                int64_t                   now,
                int64_t                  *cid,
                GError                  **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_CONTENT_INSERT, error);

  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, info->sha256);
  bind_text (stmt, 2, info->sha1);
  sqlite3_bind_int64 (stmt, 3, info->size);
  sqlite3_bind_int64 (stmt, 4, chunk_size);
  sqlite3_bind_int64 (stmt, 5, now);
  if (!run_stmt (db, stmt, "adding a content", error))
    return FALSE;
  *cid = sqlite3_last_insert_rowid (db->handle);
  return TRUE;
}

/* The chunks of content @cid: how many, their bytes, and whether they are laid out as a content
 * of @size bytes in chunks of @chunk_size needs (seq 0…n-1, each full but the last). */
static gboolean
chunks_add_up (ChartaDb  *db,
               int64_t    cid,
               int64_t    size,
               int64_t    chunk_size,
               gboolean  *ok,
               int64_t   *n_chunks,
               int64_t   *n_bytes,
               GError   **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_CONTENT_FIGURES, error);
  int64_t expected = chunk_size > 0 ? (size + chunk_size - 1) / chunk_size : -1;
  int rc;

  *ok = FALSE;
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, cid);
  sqlite3_bind_int64 (stmt, 2, expected - 1);
  sqlite3_bind_int64 (stmt, 3, chunk_size);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    return set_sqlite_error (error, db, rc, "counting the chunks of a content");
  *n_chunks = sqlite3_column_int64 (stmt, 0);
  *n_bytes = sqlite3_column_int64 (stmt, 1);
  *ok = *n_chunks == expected && *n_bytes == size
        && sqlite3_column_int64 (stmt, 2) == expected - 1 && sqlite3_column_int64 (stmt, 3) == 0;
  return TRUE;
}

gboolean
charta_db_finish_content (ChartaDb                 *db,
                          int64_t                   pending,
                          int64_t                   chunk_size,
                          const ChartaContentInfo  *info,
                          int64_t                   now,
                          gboolean                 *existed,
                          GError                  **error)
{
  ChartaDbContent content;
  int64_t cid = 0, n_chunks = 0, n_bytes = 0;
  gboolean found = FALSE, ok = FALSE;

  g_return_val_if_fail (!db->read_only, FALSE);

  *existed = FALSE;
  if (!lookup_content (db, info->sha256, &content, &cid, &found, error))
    return FALSE;
  if (found)
    {
      if (content.info.size != info->size || strcmp (content.info.sha1, info->sha1) != 0)
        {
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT,
                       "%s: the stored content %.64s has other figures (%" G_GINT64_FORMAT
                       " bytes) than the same bytes written again (%" G_GINT64_FORMAT ")",
                       db->path, info->sha256, content.info.size, info->size);
          return FALSE;
        }
      *existed = TRUE;
      return touch_content (db, cid, now, error);
    }
  if (pending == 0)
    {
      if (info->size != 0)
        {
          g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_IO,
                       "%s: a content of %" G_GINT64_FORMAT " bytes has no chunks stored",
                       db->path, info->size);
          return FALSE;
        }
      return insert_content (db, info, chunk_size, now, &cid, error);
    }
  if (!chunks_add_up (db, pending, info->size, chunk_size, &ok, &n_chunks, &n_bytes, error))
    return FALSE;
  if (!ok)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_IO,
                   "%s: a content of %" G_GINT64_FORMAT " bytes was written, but %"
                   G_GINT64_FORMAT " bytes in %" G_GINT64_FORMAT " chunks were stored",
                   db->path, info->size, n_bytes, n_chunks);
      return FALSE;
    }
  {
    g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_CONTENT_COMPLETE, error);

    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, pending);
    bind_text (stmt, 2, info->sha256);
    bind_text (stmt, 3, info->sha1);
    sqlite3_bind_int64 (stmt, 4, info->size);
    sqlite3_bind_int64 (stmt, 5, now);
    if (!run_stmt (db, stmt, "completing a content", error))
      return FALSE;
    if (sqlite3_changes (db->handle) != 1)
      {
        g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_IO,
                     "%s: the content being written is gone (dropped as abandoned by another "
                     "process after an hour without new bytes)", db->path);
        return FALSE;
      }
  }
  return TRUE;
}

gboolean
charta_db_drop_content (ChartaDb  *db,
                        int64_t    cid,
                        unsigned   max_chunks,
                        gboolean   duplicate,
                        gboolean  *done,
                        GError   **error)
{
  gboolean left = FALSE;

  g_return_val_if_fail (!db->read_only, FALSE);

  *done = FALSE;
  {
    g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_CHUNK_DELETE, error);
    gboolean ok;

    if (stmt == NULL)
      return FALSE;
    db->wrote_content = TRUE;
    sqlite3_bind_int64 (stmt, 1, cid);
    sqlite3_bind_int64 (stmt, 2, max_chunks);
    if (duplicate)
      sqlite3_exec (db->handle, "PRAGMA secure_delete = FAST", NULL, NULL, NULL);
    ok = run_stmt (db, stmt, "dropping chunks of a content", error);
    if (duplicate)
      sqlite3_exec (db->handle, db->secure_delete ? "PRAGMA secure_delete = ON"
                                                  : "PRAGMA secure_delete = OFF", NULL, NULL,
                    NULL);
    if (!ok)
      return FALSE;
    left = sqlite3_changes (db->handle) == (int) max_chunks;
  }
  if (left)
    return TRUE;
  {
    g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_CONTENT_DELETE, error);

    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, cid);
    if (!run_stmt (db, stmt, "dropping a content", error))
      return FALSE;
  }
  *done = TRUE;
  return TRUE;
}

/* charta_db_put_content(), and the content's id. */
static gboolean
charta_db_put_content_cid (ChartaDb                 *db,
                           const ChartaContentInfo  *info,
                           const guint8             *data,
                           int64_t                   chunk_size,
                           int64_t                   now,
                           int64_t                  *cid,
                           GError                  **error)
{
  ChartaDbContent content;
  gboolean found = FALSE;

  g_return_val_if_fail (!db->read_only, FALSE);
  g_return_val_if_fail (chunk_size > 0, FALSE);

  if (!lookup_content (db, info->sha256, &content, cid, &found, error))
    return FALSE;
  if (found)
    return touch_content (db, *cid, now, error);
  if (!insert_content (db, info, chunk_size, now, cid, error))
    return FALSE;
  for (int64_t at = 0, seq = 0; at < info->size; at += chunk_size, seq++)
    if (!insert_chunk (db, *cid, seq, data + at, (size_t) MIN (chunk_size, info->size - at),
                       error))
      return FALSE;
  return TRUE;
}

gboolean
charta_db_put_content (ChartaDb                 *db,
                       const ChartaContentInfo  *info,
                       const guint8             *data,
                       int64_t                   chunk_size,
                       int64_t                   now,
                       GError                  **error)
{
  int64_t cid = 0;

  return charta_db_put_content_cid (db, info, data, chunk_size, now, &cid, error);
}

gboolean
charta_db_version_content (ChartaDb    *db,
                           int64_t      rid,
                           int64_t      version,
                           char       **sha256,
                           GError     **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_VERSION_CONTENT, error);
  int rc;

  *sha256 = NULL;
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, rid);
  sqlite3_bind_int64 (stmt, 2, version);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *sha256 = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  else if (rc != SQLITE_DONE)
    return set_sqlite_error (error, db, rc, "reading a version's content");
  return TRUE;
}

GBytes *
charta_db_read_binary (ChartaDb         *db,
                       const char       *id,
                       int64_t           version,
                       int64_t          *version_out,
                       ChartaDbContent  *content,
                       gboolean         *has_content,
                       GError          **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_READ_BINARY, error);
  int rc;

  memset (content, 0, sizeof *content);
  *has_content = FALSE;
  if (stmt == NULL)
    return NULL;
  bind_text (stmt, 1, id);
  sqlite3_bind_int64 (stmt, 2, version);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND,
                   "Binary/%s does not exist", id);
      return NULL;
    }
  if (rc != SQLITE_ROW)
    {
      set_sqlite_error (error, db, rc, "reading a Binary");
      return NULL;
    }
  if (sqlite3_column_type (stmt, 1) == SQLITE_NULL)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND,
                   "Binary/%s has no version %" G_GINT64_FORMAT " (its current version is %"
                   G_GINT64_FORMAT ")", id, version, (int64_t) sqlite3_column_int64 (stmt, 0));
      return NULL;
    }
  if (sqlite3_column_type (stmt, 2) == SQLITE_NULL)
    {
      if (version > 0)
        g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_GONE,
                     "version %" G_GINT64_FORMAT " of Binary/%s is its deletion", version, id);
      else
        g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_GONE,
                     "Binary/%s was deleted (version %" G_GINT64_FORMAT " is its deletion)", id,
                     (int64_t) sqlite3_column_int64 (stmt, 0));
      return NULL;
    }
  if (version_out != NULL)
    *version_out = sqlite3_column_int64 (stmt, 1);
  if (sqlite3_column_type (stmt, 3) != SQLITE_NULL)
    {
      *has_content = TRUE;
      g_strlcpy (content->info.sha256, (const char *) sqlite3_column_text (stmt, 3),
                 sizeof content->info.sha256);
      g_strlcpy (content->info.sha1, (const char *) sqlite3_column_text (stmt, 4) ?: "",
                 sizeof content->info.sha1);
      content->info.size = sqlite3_column_int64 (stmt, 5);
      content->chunk_size = sqlite3_column_int64 (stmt, 6);
    }
  return column_bytes (stmt, 2);
}

gboolean
charta_db_read_chunk (ChartaDb    *db,
                      const char  *sha256,
                      int64_t      seq,
                      guint8      *buffer,
                      size_t       capacity,
                      size_t      *length,
                      GError     **error)
{
  sqlite3_blob *blob = NULL;
  int64_t rowid = 0;
  int size = 0;
  int rc;

  *length = 0;
  {
    g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_CHUNK_READ, error);

    if (stmt == NULL)
      return FALSE;
    bind_text (stmt, 1, sha256);
    sqlite3_bind_int64 (stmt, 2, seq);
    rc = sqlite3_step (stmt);
    if (rc == SQLITE_DONE)
      {
        g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT,
                     "%s: chunk %" G_GINT64_FORMAT " of content %.64s is missing", db->path, seq,
                     sha256);
        return FALSE;
      }
    if (rc != SQLITE_ROW)
      return set_sqlite_error (error, db, rc, "reading a chunk of content");
    rowid = sqlite3_column_int64 (stmt, 0);
    size = sqlite3_column_int (stmt, 1);
  }
  if (size < 0 || (size_t) size > capacity)
    {
      g_set_error (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_CORRUPT,
                   "%s: chunk %" G_GINT64_FORMAT " of content %.64s is %d bytes, more than a "
                   "chunk", db->path, seq, sha256, size);
      return FALSE;
    }
  /* Read through the blob handle straight into @buffer: no copy of the chunk made by SQLite
   * (and no allocation of one per chunk).  The handle is closed at once: an open one would hold
   * the connection's read transaction. */
  rc = sqlite3_blob_open (db->handle, "main", "content_chunk", "data", rowid, 0, &blob);
  if (rc == SQLITE_OK)
    rc = sqlite3_blob_read (blob, buffer, size, 0);
  sqlite3_blob_close (blob);
  if (rc != SQLITE_OK)
    return set_sqlite_error (error, db, rc, "reading a chunk of content");
  *length = (size_t) size;
  return TRUE;
}

gboolean
charta_db_find_garbage (ChartaDb  *db,
                        int64_t    before,
                        int64_t   *cid,
                        GError   **error)
{
  g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_GARBAGE, error);
  int rc;

  *cid = 0;
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, before);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *cid = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    return set_sqlite_error (error, db, rc, "looking for abandoned content");
  return TRUE;
}

gboolean
charta_db_take_garbage (ChartaDb  *db,
                        int64_t    before,
                        int64_t   *cid,
                        GError   **error)
{
  g_return_val_if_fail (!db->read_only, FALSE);

  if (!charta_db_find_garbage (db, before, cid, error))
    return FALSE;
  if (*cid == 0)
    return TRUE;
  /* A complete content loses its key first: from now on no write can find it and come to hold
   * it while its chunks are dropped, over several transactions. */
  {
    g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_CONTENT_UNPUBLISH, error);

    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, *cid);
    return run_stmt (db, stmt, "dropping an abandoned content", error);
  }
}

gboolean
charta_db_content_stats (ChartaDb            *db,
                         ChartaContentStats  *stats,
                         GError             **error)
{
  memset (stats, 0, sizeof *stats);
  return query_int (db, "SELECT count(*) FROM content WHERE sha256 IS NOT NULL",
                    &stats->n_contents, error)
         && query_int (db, "SELECT coalesce (sum (size), 0) FROM content"
                           " WHERE sha256 IS NOT NULL", &stats->n_bytes, error)
         && query_int (db, "SELECT count(*) FROM content_chunk k JOIN content c"
                           " ON c.cid = k.cid WHERE c.sha256 IS NOT NULL", &stats->n_chunks,
                       error)
         && query_int (db, "SELECT count(*) FROM content WHERE sha256 IS NULL",
                       &stats->n_pending, error)
         && query_int (db, "SELECT count(*) FROM content c WHERE c.sha256 IS NOT NULL"
                           " AND NOT EXISTS (SELECT 1 FROM version v WHERE v.content = c.cid)",
                       &stats->n_unheld, error)
         && query_int (db, "SELECT count(*) FROM version WHERE content IS NOT NULL",
                       &stats->n_holders, error);
}

/* --- check --------------------------------------------------------------------------------------- */

static void
render_col (GString    *out,
            const Col  *c)
{
  g_string_append_c (out, '\x1f');
  switch (c->kind)
    {
    case COL_TEXT:
      g_string_append_c (out, 't');
      g_string_append (out, c->text);
      break;
    case COL_INT:
      g_string_append_printf (out, "i%" G_GINT64_FORMAT, c->i);
      break;
    case COL_REAL:
      {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        g_string_append_c (out, 'd');
        g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.17g", c->d));
      }
      break;
    case COL_NULL:
    default:
      g_string_append_c (out, 'n');
      break;
    }
}

/* One index row as text: "table pid col…", the same for stored and freshly extracted rows. */
static char *
render_row (IndexTable  table,
            int64_t     pid,
            const Col  *cols)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "%u\x1f%" G_GINT64_FORMAT, (unsigned) table, pid);
  for (unsigned k = 0; k < index_tables[table].n_columns; k++)
    render_col (out, &cols[k]);
  return g_string_free (out, FALSE);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The index rows stored for @rid, rendered. */
static GPtrArray *
stored_rows (ChartaDb    *db,
             int64_t      rid,
             GError     **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (g_free);

  for (unsigned t = 0; t < N_TABLES; t++)
    {
      g_autoptr(ChartaStmt) stmt = get_stmt (db, STMT_INDEX_SELECT + t, error);
      int rc;

      if (stmt == NULL)
        return NULL;
      sqlite3_bind_int64 (stmt, 1, ROWS_FIRST (rid));
      sqlite3_bind_int64 (stmt, 2, ROWS_END (rid));
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          Col cols[MAX_COLUMNS];

          /* A row in this resource's rowid range must name it. */
          if (sqlite3_column_int64 (stmt, (int) index_tables[t].n_columns + 1) != rid)
            {
              g_ptr_array_add (rows, g_strdup ("\x7f(a row whose rid is not its resource's)"));
              continue;
            }

          for (unsigned k = 0; k < index_tables[t].n_columns; k++)
            {
              int column = (int) k + 1;

              switch (sqlite3_column_type (stmt, column))
                {
                case SQLITE_INTEGER:
                  col_int (&cols[k], sqlite3_column_int64 (stmt, column));
                  break;
                case SQLITE_FLOAT:
                  col_real (&cols[k], sqlite3_column_double (stmt, column));
                  break;
                case SQLITE_TEXT:
                case SQLITE_BLOB:
                  col_text (&cols[k], (const char *) sqlite3_column_text (stmt, column));
                  break;
                default:
                  cols[k].kind = COL_NULL;
                  break;
                }
            }
          g_ptr_array_add (rows, render_row (t, sqlite3_column_int64 (stmt, 0), cols));
        }
      if (rc != SQLITE_DONE)
        {
          set_sqlite_error (error, db, rc, "reading search-index rows");
          return NULL;
        }
    }
  g_ptr_array_sort (rows, compare_strings);
  return g_steal_pointer (&rows);
}

/* The rows a fresh extraction gives, rendered; a parameter missing from the dictionary gets
 * pid 0 (so it can match no stored row). */
static GPtrArray *
fresh_rows (GHashTable  *pids,
            const char  *type,
            GPtrArray   *values)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (g_free);

  for (unsigned i = 0; i < values->len; i++)
    {
      const ChartaIndexValue *v = g_ptr_array_index (values, i);
      g_autofree char *key = NULL;
      IndexRow row;

      if (!value_to_row (v, &row))
        continue;
      key = g_strconcat (type, "\n", v->param->code, NULL);
      g_ptr_array_add (rows, render_row (row.table,
                                         GPOINTER_TO_SIZE (g_hash_table_lookup (pids, key)),
                                         row.cols));
    }
  g_ptr_array_sort (rows, compare_strings);
  return g_steal_pointer (&rows);
}

/* "parameter code (table)" of a rendered row, for messages that must not show values. */
static char *
describe_row (GHashTable *codes,
              const char *row)
{
  unsigned table;
  const char *sep;
  int64_t pid;
  const char *code;

  if (row[0] == '\x7f')
    return g_strdup (row + 1);
  table = (unsigned) g_ascii_strtoull (row, NULL, 10);
  sep = strchr (row, '\x1f');
  pid = sep != NULL ? g_ascii_strtoll (sep + 1, NULL, 10) : 0;
  code = g_hash_table_lookup (codes, GSIZE_TO_POINTER ((gsize) pid));

  return g_strdup_printf ("search parameter “%s” (%s)", code != NULL ? code : "?",
                          table < N_TABLES ? index_tables[table].name : "?");
}

static void
compare_rows (ChartaOutcome *outcome,
              GHashTable    *codes,
              const char    *what,
              GPtrArray     *stored,
              GPtrArray     *fresh)
{
  unsigned i = 0, j = 0, missing = 0, extra = 0;
  g_autofree char *first = NULL;

  while (i < stored->len || j < fresh->len)
    {
      int c = i >= stored->len ? 1 : j >= fresh->len ? -1
              : strcmp (g_ptr_array_index (stored, i), g_ptr_array_index (fresh, j));

      if (c == 0)
        {
          i++;
          j++;
        }
      else if (c < 0)
        {
          if (first == NULL)
            {
              g_autofree char *row = describe_row (codes, g_ptr_array_index (stored, i));

              first = g_strconcat ("an unexpected row of ", row, NULL);
            }
          extra++;
          i++;
        }
      else
        {
          if (first == NULL)
            {
              g_autofree char *row = describe_row (codes, g_ptr_array_index (fresh, j));

              first = g_strconcat ("a missing row of ", row, NULL);
            }
          missing++;
          j++;
        }
    }
  if (missing > 0 || extra > 0)
    charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "invalid", what,
                        "%s: its search-index rows differ from a fresh extraction: %u missing, "
                        "%u unexpected (first: %s)", what, missing, extra, first);
}

static gboolean
check_integrity (ChartaDb       *db,
                 ChartaOutcome  *outcome,
                 GError        **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db->handle, "PRAGMA integrity_check", -1, &stmt, NULL);

  if (rc != SQLITE_OK)
    return set_sqlite_error (error, db, rc, "checking integrity");
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *line = (const char *) sqlite3_column_text (stmt, 0);

      if (line != NULL && strcmp (line, "ok") != 0)
        charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "exception", NULL,
                            "SQLite integrity check: %s", line);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (error, db, rc, "checking integrity");
  return TRUE;
}

/* Runs a query whose rows each describe one problem (type, id, a number, a number). */
static gboolean
check_query (ChartaDb       *db,
             ChartaOutcome  *outcome,
             const char     *sql,
             const char     *format,
             GError        **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db->handle, sql, -1, &stmt, NULL);

  if (rc != SQLITE_OK)
    return set_sqlite_error (error, db, rc, "checking the store");
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autofree char *where = g_strdup_printf ("%s/%s",
                                                (const char *) sqlite3_column_text (stmt, 0),
                                                (const char *) sqlite3_column_text (stmt, 1));

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
      charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "invalid", where, format, where,
                          (int64_t) sqlite3_column_int64 (stmt, 2),
                          (int64_t) sqlite3_column_int64 (stmt, 3));
#pragma GCC diagnostic pop
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (error, db, rc, "checking the store");
  return TRUE;
}

static gboolean
check_versions (ChartaDb       *db,
                ChartaOutcome  *outcome,
                GError        **error)
{
  /* Version numbers run 1…n without gaps and the resource row names the last. */
  if (!check_query (db, outcome,
                    "SELECT t.name, r.id, r.version, count(v.seq) FROM resource r"
                    " JOIN rtype t ON t.tid = r.tid JOIN version v ON v.rid = r.rid"
                    " GROUP BY r.rid HAVING max(v.version) != r.version"
                    " OR count(v.seq) != r.version OR min(v.version) != 1",
                    "%s: its current version is %" G_GINT64_FORMAT " but it has %"
                    G_GINT64_FORMAT " versions (or they do not run from 1)", error))
    return FALSE;
  /* A resource is deleted exactly when its current version is a tombstone. */
  if (!check_query (db, outcome,
                    "SELECT t.name, r.id, r.version, r.deleted FROM resource r"
                    " JOIN rtype t ON t.tid = r.tid"
                    " JOIN version v ON v.rid = r.rid AND v.version = r.version"
                    " WHERE r.deleted != (v.body IS NULL)",
                    "%s: version %" G_GINT64_FORMAT " disagrees with the resource's deleted "
                    "flag (%" G_GINT64_FORMAT ")", error))
    return FALSE;
  /* The request a version records (0004) fits what it did: a create request (0) only
   * creates, a delete (2) is exactly a delete request; NULL (before 0004) fits anything. */
  if (!check_query (db, outcome,
                    "SELECT t.name, r.id, v.version, v.request FROM version v"
                    " JOIN resource r ON r.rid = v.rid JOIN rtype t ON t.tid = v.tid"
                    " WHERE v.request IS NOT NULL AND (v.request NOT IN (0, 1, 2, 3)"
                    " OR (v.request = 0 AND v.method != 0) OR ((v.request = 2) != (v.method = 2))"
                    " OR (v.request = 3 AND v.method != 1))",
                    "%s: version %" G_GINT64_FORMAT " records a request (%" G_GINT64_FORMAT
                    ") that does not fit what it did", error))
    return FALSE;
  /* Every version but those of Provenance and AuditEvent has its Provenance. */
  if (!check_query (db, outcome,
                    "SELECT t.name, r.id, v.version, v.seq FROM version v"
                    " JOIN resource r ON r.rid = v.rid JOIN rtype t ON t.tid = v.tid"
                    " LEFT JOIN version pv ON pv.rid = v.provenance AND pv.version = 1"
                    " WHERE t.name NOT IN ('Provenance', 'AuditEvent')"
                    " AND (pv.seq IS NULL OR pv.body IS NULL"
                    "      OR instr (CAST (pv.body AS TEXT), '\"reference\":\"' || t.name || '/'"
                    "                || r.id || '/_history/' || v.version || '\"') = 0)",
                    "%s: version %" G_GINT64_FORMAT " has no Provenance targeting it (seq %"
                    G_GINT64_FORMAT ")", error))
    return FALSE;
  return TRUE;
}

static gboolean
check_orphan_rows (ChartaDb       *db,
                   ChartaOutcome  *outcome,
                   GError        **error)
{
  for (unsigned t = 0; t < N_TABLES; t++)
    {
      g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s x WHERE (x.rowid >> %d)"
                                              " != x.rid OR NOT EXISTS (SELECT 1 FROM resource r"
                                              " WHERE r.rid = x.rid AND r.deleted = 0)",
                                              index_tables[t].name, ROWS_SHIFT);
      int64_t n = 0;

      if (!query_int (db, sql, &n, error))
        return FALSE;
      if (n > 0)
        charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "invalid", NULL,
                            "%s has %" G_GINT64_FORMAT " rows of deleted or unknown resources "
                            "(or out of their resource's rowid range)", index_tables[t].name, n);
    }
  {
    int64_t stray = 0, missing = 0;

    if (!query_int (db, "SELECT count(*) FROM fts WHERE rowid NOT IN"
                        " (SELECT rid FROM resource WHERE deleted = 0)", &stray, error)
        || !query_int (db, "SELECT count(*) FROM resource WHERE deleted = 0 AND rid NOT IN"
                           " (SELECT rowid FROM fts)", &missing, error))
      return FALSE;
    if (stray > 0 || missing > 0)
      charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "invalid", NULL,
                          "the full-text index has %" G_GINT64_FORMAT " rows of deleted or "
                          "unknown resources and lacks %" G_GINT64_FORMAT " current ones",
                          stray, missing);
  }
  /* date_stat bounds every date parameter's rows (0003): the planner relies on it. */
  if (!check_query (db, outcome,
                    "SELECT p.type, p.code, n, span FROM"
                    " (SELECT pid, max (n) AS n, max (span) AS span FROM"
                    "   (SELECT pid, count(*) AS n, max (CASE WHEN typeof (high - low) ="
                    "    'integer' THEN high - low ELSE 9223372036854775807 END) AS span"
                    "    FROM idx_date GROUP BY pid, rowid >> 20) GROUP BY pid) x"
                    " JOIN param p USING (pid) LEFT JOIN date_stat d USING (pid)"
                    " WHERE d.pid IS NULL OR x.n > d.max_rows OR x.span > d.max_span",
                    "date statistics of %s are below its rows (%" G_GINT64_FORMAT
                    " rows of a resource, a span of %" G_GINT64_FORMAT " µs)", error))
    return FALSE;
  return TRUE;
}

static gboolean
load_params (ChartaDb    *db,
             GHashTable  *pids,
             GHashTable  *codes,
             GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db->handle, "SELECT pid, type, code FROM param", -1, &stmt, NULL);

  if (rc != SQLITE_OK)
    return set_sqlite_error (error, db, rc, "reading search parameters");
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gsize pid = (gsize) sqlite3_column_int64 (stmt, 0);
      const char *type = (const char *) sqlite3_column_text (stmt, 1);
      const char *code = (const char *) sqlite3_column_text (stmt, 2);

      g_hash_table_insert (pids, g_strconcat (type, "\n", code, NULL), GSIZE_TO_POINTER (pid));
      g_hash_table_insert (codes, GSIZE_TO_POINTER (pid), g_strdup (code));
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (error, db, rc, "reading search parameters");
  return TRUE;
}

/* Every current version: parses, names itself, validates, and has the index rows a fresh
 * extraction gives (none when deleted). */
static gboolean
check_current_versions (ChartaDb       *db,
                        ChartaOutcome  *outcome,
                        GError        **error)
{
  g_autoptr(GHashTable) pids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) codes = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                                       g_free);
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (!load_params (db, pids, codes, error))
    return FALSE;
  rc = sqlite3_prepare_v2 (db->handle,
                           "SELECT r.rid, t.name, r.id, r.version, r.deleted, v.body"
                           " FROM resource r JOIN rtype t ON t.tid = r.tid"
                           " JOIN version v ON v.rid = r.rid AND v.version = r.version"
                           " ORDER BY r.rid", -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return set_sqlite_error (error, db, rc, "checking current versions");
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      int64_t rid = sqlite3_column_int64 (stmt, 0);
      const char *type = (const char *) sqlite3_column_text (stmt, 1);
      const char *id = (const char *) sqlite3_column_text (stmt, 2);
      int64_t version = sqlite3_column_int64 (stmt, 3);
      gboolean deleted = sqlite3_column_int (stmt, 4) != 0;
      g_autofree char *what = g_strdup_printf ("%s/%s/_history/%" G_GINT64_FORMAT, type, id,
                                               version);
      g_autoptr(GPtrArray) stored = stored_rows (db, rid, error);
      g_autoptr(GPtrArray) fresh = NULL;
      g_autoptr(ChartaResource) resource = NULL;
      g_autoptr(GPtrArray) values = NULL;
      g_autoptr(GError) local_error = NULL;
      g_autoptr(ChartaOutcome) validation = NULL;
      char version_text[24];

      if (stored == NULL)
        {
          sqlite3_finalize (stmt);
          return FALSE;
        }
      if (deleted)
        {
          if (stored->len > 0)
            charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "invalid", what,
                                "%s is deleted but has %u search-index rows", what,
                                stored->len);
          continue;
        }

      resource = charta_resource_new_from_data ((const char *) sqlite3_column_blob (stmt, 5),
                                                sqlite3_column_bytes (stmt, 5), NULL,
                                                &local_error);
      if (resource == NULL)
        {
          charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "structure", what,
                              "%s does not parse: %s", what, local_error->message);
          continue;
        }
      g_snprintf (version_text, sizeof version_text, "%" G_GINT64_FORMAT, version);
      if (g_strcmp0 (charta_resource_get_resource_type (resource), type) != 0
          || g_strcmp0 (charta_resource_get_id (resource), id) != 0
          || g_strcmp0 (charta_resource_get_version_id (resource), version_text) != 0)
        charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "invalid", what,
                            "%s: its body names another type, id or version", what);
      validation = charta_outcome_new ();
      if (!charta_validate_resource (resource, validation))
        {
          for (unsigned k = 0; k < charta_outcome_get_n_issues (validation); k++)
            {
              const ChartaIssue *issue = charta_outcome_get_issue (validation, k);

              if (issue->severity <= CHARTA_ISSUE_ERROR)
                charta_outcome_add (outcome, issue->severity, issue->code, what,
                                    "%s does not validate: %s", what, issue->diagnostics);
            }
        }
      values = charta_search_index_extract_stored (resource, &local_error);
      if (values == NULL)
        {
          charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "exception", what,
                              "%s: extracting its index values failed: %s", what,
                              local_error->message);
          continue;
        }
      fresh = fresh_rows (pids, type, values);
      compare_rows (outcome, codes, what, stored, fresh);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (error, db, rc, "checking current versions");
  return TRUE;
}

/* Binary content (0005): every version that holds a content holds a complete one, and is a
 * Binary's (not a tombstone); every complete content's chunks add up to its size, and its
 * bytes to its SHA-256 and SHA-1 (all of them are read: the check costs a read of every
 * content once, however many versions hold it). */
static gboolean
check_content (ChartaDb       *db,
               ChartaOutcome  *outcome,
               GError        **error)
{
  sqlite3_stmt *contents = NULL;
  sqlite3_stmt *chunks = NULL;
  ChartaContentStats stats;
  int rc;

  if (!check_query (db, outcome,
                    "SELECT t.name, r.id, v.version, v.content FROM version v"
                    " JOIN resource r ON r.rid = v.rid JOIN rtype t ON t.tid = v.tid"
                    " LEFT JOIN content c ON c.cid = v.content"
                    " WHERE v.content IS NOT NULL AND (c.cid IS NULL OR c.sha256 IS NULL"
                    " OR t.name != 'Binary' OR v.body IS NULL)",
                    "%s: version %" G_GINT64_FORMAT " holds content %" G_GINT64_FORMAT
                    ", which is not a stored content (or the version is no Binary, or a "
                    "deletion)", error))
    return FALSE;

  rc = sqlite3_prepare_v2 (db->handle, "SELECT cid, sha256, sha1, size, chunk_size FROM content"
                           " WHERE sha256 IS NOT NULL ORDER BY cid", -1, &contents, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2 (db->handle, "SELECT data FROM content_chunk WHERE cid = ?1"
                             " ORDER BY seq", -1, &chunks, NULL);
  if (rc != SQLITE_OK)
    {
      sqlite3_finalize (contents);
      return set_sqlite_error (error, db, rc, "checking content");
    }
  while ((rc = sqlite3_step (contents)) == SQLITE_ROW)
    {
      int64_t cid = sqlite3_column_int64 (contents, 0);
      g_autofree char *sha256 = g_strdup ((const char *) sqlite3_column_text (contents, 1));
      g_autofree char *sha1 = g_strdup ((const char *) sqlite3_column_text (contents, 2));
      int64_t size = sqlite3_column_int64 (contents, 3);
      int64_t chunk_size = sqlite3_column_int64 (contents, 4);
      g_autoptr(GChecksum) sum256 = g_checksum_new (G_CHECKSUM_SHA256);
      g_autoptr(GChecksum) sum1 = g_checksum_new (G_CHECKSUM_SHA1);
      g_autofree char *what = g_strdup_printf ("content %.16s…", sha256);
      ChartaContentInfo figures;
      int64_t n_chunks = 0, n_bytes = 0;
      gboolean laid_out = FALSE;
      guint8 digest[20];
      gsize length = sizeof digest;
      g_autofree char *base64 = NULL;

      if (!chunks_add_up (db, cid, size, chunk_size, &laid_out, &n_chunks, &n_bytes, error))
        {
          sqlite3_finalize (contents);
          sqlite3_finalize (chunks);
          return FALSE;
        }
      if (!laid_out)
        {
          charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "invalid", what,
                              "%s (%" G_GINT64_FORMAT " bytes, in chunks of %" G_GINT64_FORMAT
                              ") has %" G_GINT64_FORMAT " bytes in %" G_GINT64_FORMAT
                              " chunks, or they are not numbered 0, 1, 2…, or a chunk but the "
                              "last is short", what, size, chunk_size, n_bytes, n_chunks);
          continue;
        }
      sqlite3_bind_int64 (chunks, 1, cid);
      while ((rc = sqlite3_step (chunks)) == SQLITE_ROW)
        {
          const guint8 *data = sqlite3_column_blob (chunks, 0);
          int n = sqlite3_column_bytes (chunks, 0);

          if (data != NULL)
            {
              g_checksum_update (sum256, data, n);
              g_checksum_update (sum1, data, n);
            }
        }
      sqlite3_reset (chunks);
      if (rc != SQLITE_DONE)
        {
          sqlite3_finalize (contents);
          sqlite3_finalize (chunks);
          return set_sqlite_error (error, db, rc, "checking content");
        }
      memset (&figures, 0, sizeof figures);
      g_checksum_get_digest (sum1, digest, &length);
      base64 = g_base64_encode (digest, length);
      if (g_strcmp0 (g_checksum_get_string (sum256), sha256) != 0
          || g_strcmp0 (base64, sha1) != 0)
        charta_outcome_add (outcome, CHARTA_ISSUE_ERROR, "invalid", what,
                            "%s: its bytes do not have its SHA-256 and SHA-1 (the content is "
                            "damaged)", what);
    }
  sqlite3_finalize (contents);
  sqlite3_finalize (chunks);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (error, db, rc, "checking content");

  /* Left by an upload in progress, a crash or a failed write: not a problem, dropped when a
   * writer opens the store an hour after. */
  if (!charta_db_content_stats (db, &stats, error))
    return FALSE;
  if (stats.n_contents > 0 || stats.n_pending > 0)
    charta_outcome_add (outcome, CHARTA_ISSUE_INFORMATION, "informational", NULL,
                        "binary content: %" G_GINT64_FORMAT " contents of %" G_GINT64_FORMAT
                        " bytes in all (%" G_GINT64_FORMAT " chunks, every byte checked), held "
                        "by %" G_GINT64_FORMAT " Binary versions; %" G_GINT64_FORMAT
                        " held by none, %" G_GINT64_FORMAT " being written or abandoned",
                        stats.n_contents, stats.n_bytes, stats.n_chunks, stats.n_holders,
                        stats.n_unheld, stats.n_pending);
  return TRUE;
}

gboolean
charta_db_check (ChartaDb       *db,
                 ChartaOutcome  *outcome,
                 GError        **error)
{
  unsigned errors_before = charta_outcome_count_errors (outcome);

  /* One read transaction, so that the checks see one state even while writes go on. */
  if (!exec_sql (db, "BEGIN", "starting the check", error))
    return FALSE;
  if (!check_integrity (db, outcome, error)
      || !check_versions (db, outcome, error)
      || !check_orphan_rows (db, outcome, error)
      || !check_content (db, outcome, error)
      || !check_current_versions (db, outcome, error))
    {
      sqlite3_exec (db->handle, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  sqlite3_exec (db->handle, "COMMIT", NULL, NULL, NULL);
  return charta_outcome_count_errors (outcome) == errors_before;
}
