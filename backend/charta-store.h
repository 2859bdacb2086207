/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-store.h: ChartaStore, libcharta's embedded, versioned FHIR R4 store.
 *
 * One SQLite file (WAL) holds every version of every resource.  A write is never an overwrite:
 * it adds an immutable version (versionId 1, 2, 3… per resource; a delete adds a tombstone)
 * and, in the same transaction, a Provenance resource whose targets are exactly the versions
 * the write made (`Patient/7/_history/3`): one Provenance per write, so a transaction of many
 * entries, one event with one agent and reason, has one Provenance targeting each of its
 * versions (one per activity when the entries' default activities differ: CREATE, UPDATE,
 * DELETE).  The search-index rows of the new current version are written in the same
 * transaction (superseded and deleted versions have none).  The stored body of a version is exactly the JSON a read returns, so reads never parse.
 *
 * Threads: any thread may call any function.  Writes are queued to one writer thread that owns
 * the write connection and commits queued writes together (group commit: each request in its
 * own SAVEPOINT, so one failure does not undo the others; one fsync for many).  Reads use a
 * pool of read-only connections and run in parallel.  A write returns only after its commit is
 * durable (synchronous=FULL unless the store was opened with CHARTA_STORE_FLAGS_FAST).
 *
 * Every function that takes a ChartaChange accepts NULL: the Provenance then names the store's
 * default agent (charta_store_set_default_agent()).  Provenance and AuditEvent resources get no
 * Provenance of their own.
 */
#pragma once

#include <gio/gio.h>

#include "charta-fhir.h"

G_BEGIN_DECLS

#define CHARTA_STORE_ERROR (charta_store_error_quark ())

typedef enum
{
  CHARTA_STORE_ERROR_NOT_FOUND,     /* no such resource (or version) */
  CHARTA_STORE_ERROR_GONE,          /* the resource is deleted (its current version is a tombstone) */
  CHARTA_STORE_ERROR_CONFLICT,      /* expected version does not match the current one */
  CHARTA_STORE_ERROR_INVALID,       /* the resource does not validate, or the request is malformed
                                     * (wrong type for the id, missing id on update…) */
  CHARTA_STORE_ERROR_UNRESOLVED,    /* a transaction references a urn:uuid it does not define */
  CHARTA_STORE_ERROR_READ_ONLY,     /* a write on a store opened read-only */
  CHARTA_STORE_ERROR_CORRUPT,       /* the file is not a Charta store, or is damaged */
  CHARTA_STORE_ERROR_VERSION,       /* the file's schema is newer than this Charta */
  CHARTA_STORE_ERROR_IO,            /* SQLite or the file system failed (disk full, locked…) */
  CHARTA_STORE_ERROR_CLOSED,        /* the store was closed */
  CHARTA_STORE_ERROR_UNSUPPORTED,   /* a valid request this version of Charta cannot answer
                                     * (a search modifier needing a terminology it lacks…) */
  CHARTA_STORE_ERROR_TIMEOUT,       /* a search ran past the store's time limit */
} ChartaStoreError;

GQuark charta_store_error_quark (void);

typedef enum
{
  CHARTA_STORE_FLAGS_NONE      = 0,
  CHARTA_STORE_FLAGS_CREATE    = 1 << 0, /* create the file if missing */
  CHARTA_STORE_FLAGS_READ_ONLY = 1 << 1, /* no writes; no writer thread */
  CHARTA_STORE_FLAGS_FAST      = 1 << 2, /* synchronous=NORMAL: faster, may lose the last
                                          * commits on power loss (never corrupts) */
} ChartaStoreFlags;

/* ---- ChartaChange: who, why, and what kind of change ------------------------------------- */

/* The activity of a change.  CREATE, UPDATE, DELETE and NULLIFY (entered in error) are
 * v3 DataOperation codes (http://terminology.hl7.org/CodeSystem/v3-DataOperation); the others
 * are ISO 21089 lifecycle events (http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle, the
 * CodeSystem's URL in the R4 definitions). */
typedef struct _ChartaChange ChartaChange;

#define CHARTA_TYPE_CHANGE (charta_change_get_type ())

GType         charta_change_get_type           (void) G_GNUC_CONST;
ChartaChange *charta_change_new                (void);
ChartaChange *charta_change_ref                (ChartaChange *self);
void          charta_change_unref              (ChartaChange *self);
/* Agent: a reference ("Practitioner/12") and/or a display name; either may be NULL. */
void          charta_change_set_agent          (ChartaChange *self,
                                                const char   *reference,
                                                const char   *display);
/* Reason: a coded reason (system and code, e.g. v3-ActReason) and/or free text. */
void          charta_change_set_reason         (ChartaChange *self,
                                                const char   *system,
                                                const char   *code,
                                                const char   *text);
/* Activity: a code from v3-DataOperation ("CREATE", "UPDATE", "DELETE", "NULLIFY") or the ISO
 * 21089 lifecycle ("amend", "originate", "transform", "merge", "deidentify"…); @system may be
 * NULL to pick the system from the code.  NULL activity: the store uses CREATE/UPDATE/DELETE
 * according to what the write does. */
void          charta_change_set_activity       (ChartaChange *self,
                                                const char   *system,
                                                const char   *code);
const char   *charta_change_get_agent_reference (ChartaChange *self);
const char   *charta_change_get_agent_display  (ChartaChange *self);
const char   *charta_change_get_reason_code    (ChartaChange *self);
const char   *charta_change_get_reason_text    (ChartaChange *self);
const char   *charta_change_get_activity_code  (ChartaChange *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaChange, charta_change_unref)

/* ---- the store ------------------------------------------------------------------------- */

#define CHARTA_TYPE_STORE (charta_store_get_type ())
G_DECLARE_FINAL_TYPE (ChartaStore, charta_store, CHARTA, STORE, GObject)

ChartaStore    *charta_store_open               (const char       *path,
                                                 ChartaStoreFlags  flags,
                                                 GError          **error);
/* Waits for queued writes, stops the writer, closes every connection.  Later calls fail with
 * CHARTA_STORE_ERROR_CLOSED.  Also done on finalize. */
void            charta_store_close              (ChartaStore      *self);
const char     *charta_store_get_path           (ChartaStore      *self);

/* The agent named by Provenance when a write has no ChartaChange (default: display
 * "Charta", no reference). */
void            charta_store_set_default_agent  (ChartaStore      *self,
                                                 const char       *reference,
                                                 const char       *display);

/* Creates @resource with a new id (any id in it is replaced), versionId 1.  Returns the stored
 * resource, exactly as a read returns it. */
ChartaResource *charta_store_create             (ChartaStore      *self,
                                                 ChartaResource   *resource,
                                                 ChartaChange     *change,
                                                 GError          **error);
/* Updates (or, when no such resource exists or it is deleted, creates with the client's id)
 * the resource named by @resource's type and id.  @expected_version > 0 makes it conditional:
 * CHARTA_STORE_ERROR_CONFLICT unless the current versionId is that.  Identical content (apart
 * from meta.versionId and meta.lastUpdated) makes no new version and no Provenance: the
 * current version is returned.  *created (may be NULL) tells whether it was a create. */
ChartaResource *charta_store_update             (ChartaStore      *self,
                                                 ChartaResource   *resource,
                                                 int64_t           expected_version,
                                                 ChartaChange     *change,
                                                 gboolean         *created,
                                                 GError          **error);
/* Deletes: adds a tombstone version.  Deleting a deleted or missing resource succeeds and
 * changes nothing (FHIR's idempotent delete); returns the tombstone's version number, or 0
 * when nothing was deleted. */
int64_t         charta_store_delete             (ChartaStore      *self,
                                                 const char       *type,
                                                 const char       *id,
                                                 int64_t           expected_version,
                                                 ChartaChange     *change,
                                                 GError          **error);

/* The current version.  CHARTA_STORE_ERROR_GONE when deleted, NOT_FOUND when unknown. */
ChartaResource *charta_store_read               (ChartaStore      *self,
                                                 const char       *type,
                                                 const char       *id,
                                                 GError          **error);
/* The stored body bytes of the current version (no parse at all): what a server streams. */
GBytes         *charta_store_read_bytes         (ChartaStore      *self,
                                                 const char       *type,
                                                 const char       *id,
                                                 int64_t          *version,
                                                 GError          **error);
/* A given version.  A tombstone version gives CHARTA_STORE_ERROR_GONE. */
ChartaResource *charta_store_vread              (ChartaStore      *self,
                                                 const char       *type,
                                                 const char       *id,
                                                 int64_t           version,
                                                 GError          **error);

/* ---- history ----------------------------------------------------------------------------- */

typedef enum
{
  CHARTA_METHOD_CREATE,
  CHARTA_METHOD_UPDATE,
  CHARTA_METHOD_DELETE,
  CHARTA_METHOD_PATCH,   /* only as ChartaHistoryEntry.request: an update asked for as a
                          * PATCH (ChartaOperation.patch) */
} ChartaMethod;

typedef struct
{
  char          *type;
  char          *id;
  int64_t        version;
  ChartaMethod   method;        /* what the version is: it created (or re-created after a
                                 * delete), updated or deleted the resource */
  int64_t        last_updated;  /* microseconds since the Unix epoch */
  ChartaResource *resource;     /* NULL for a delete */
  ChartaMethod   request;       /* what the write asked for: CREATE (the store chose the id:
                                 * POST Type), UPDATE (the caller named the id: PUT Type/id,
                                 * also when that created the resource), PATCH (an update made
                                 * by a patch: PATCH Type/id) or DELETE.  Versions
                                 * written before the store recorded it (schema 4) say what
                                 * @method implies: CREATE for a create. */
} ChartaHistoryEntry;

/* @at and @at_high select, as FHIR's _at, the versions that were current at some instant of
 * [at, at_high] (µs, both inclusive): those made at or before at_high and not superseded by a
 * next version at or before @at.  A delete's tombstone is current from its lastUpdated until
 * the resource is written again, so it is listed (with method DELETE) for a range it falls in
 * or that follows it.  A date or dateTime gives such a range by its precision
 * (2026-11-22 is the whole day); at_high 0 (or below @at) is the instant @at alone. */
typedef struct
{
  int64_t     since;   /* only versions with lastUpdated >= since (µs; 0 = no limit) */
  int64_t     at;      /* only versions that were current at this instant, or from it to
                        * at_high (µs; at and at_high both 0 = no limit) */
  unsigned    count;   /* page size; 0 = 50 */
  const char *cursor;  /* NULL for the first page, else a page's next_cursor */
  int64_t     at_high; /* the end of the @at range (µs, inclusive); 0 = @at is an instant */
} ChartaHistoryOptions;

/* History newest first: of one resource (@type and @id), of a type (@id NULL) or of the whole
 * store (both NULL).  Returns a GPtrArray of ChartaHistoryEntry; *next_cursor (may be NULL) is
 * set to an opaque string for the next page, or NULL on the last page.  A cursor stays valid
 * while writes continue: later writes never shift or repeat entries of later pages. */
GPtrArray      *charta_store_history            (ChartaStore                *self,
                                                 const char                 *type,
                                                 const char                 *id,
                                                 const ChartaHistoryOptions *options,
                                                 char                      **next_cursor,
                                                 GError                    **error);
void            charta_history_entry_free       (ChartaHistoryEntry         *entry);
/* The HTTP method of the request that made @entry's version, as a history Bundle's
 * entry.request gives it (http.html#history): "DELETE", "POST" (its url the type), "PATCH" or
 * "PUT" (their url Type/id; a PUT that created the resource is still a PUT). */
const char     *charta_history_entry_get_http_method (const ChartaHistoryEntry *entry);

/* The Provenance resources that target one version (@version > 0) or any version of the
 * resource (@version 0), newest first. */
GPtrArray      *charta_store_list_provenance    (ChartaStore      *self,
                                                 const char       *type,
                                                 const char       *id,
                                                 int64_t           version,
                                                 GError          **error);

/* ---- transactions -------------------------------------------------------------------------- */

typedef struct
{
  ChartaMethod    method;
  ChartaResource *resource;         /* CREATE, UPDATE: the resource (borrowed) */
  const char     *type;             /* DELETE: type and id; UPDATE: taken from @resource */
  const char     *id;
  const char     *full_url;         /* "urn:uuid:…" (or absolute) fullUrl, NULL if none */
  int64_t         expected_version; /* > 0: conditional on that current version */
  gboolean        patch;            /* UPDATE: it was asked for as a PATCH (the resource is
                                     * the patched one); history says so (request PATCH) */
} ChartaOperation;

typedef struct
{
  ChartaResource *resource;         /* the stored result (NULL for delete) */
  int64_t         version;
  gboolean        created;
  char           *type;
  char           *id;
} ChartaOperationResult;

/* Runs @operations all-or-nothing in one SQLite transaction.  urn:uuid fullUrls are given
 * their resource's store id first (a CREATE gets a new id, an UPDATE keeps its client id), and
 * every reference to them anywhere in the transaction's resources is rewritten to Type/id
 * before anything is stored; a reference to a urn:uuid that no entry defines fails with
 * CHARTA_STORE_ERROR_UNRESOLVED.  On any failure nothing is written and the error names the
 * entry (index, and fullUrl when present) and the element.  Returns a GPtrArray of
 * ChartaOperationResult in operation order. */
GPtrArray      *charta_store_transaction        (ChartaStore           *self,
                                                 ChartaOperation       *operations,
                                                 size_t                 n_operations,
                                                 ChartaChange          *change,
                                                 GError               **error);
void            charta_operation_result_free    (ChartaOperationResult *result);

/* ---- search ------------------------------------------------------------------------------ */

typedef enum
{
  CHARTA_SEARCH_MODE_MATCH,    /* the resource matches the query */
  CHARTA_SEARCH_MODE_INCLUDE,  /* brought by _include or _revinclude */
} ChartaSearchMode;

typedef struct
{
  ChartaSearchMode  mode;
  GBytes           *json;       /* the resource's JSON: the stored body as a read returns it, or
                                 * the subset that _summary/_elements ask for */
  ChartaResource   *resource;   /* the same, parsed only when something looks inside */
} ChartaSearchEntry;

typedef struct
{
  GPtrArray *entries;       /* ChartaSearchEntry *: the page's matches in order, then the
                             * included resources */
  int64_t    total;         /* how many match in all; -1 when not counted (_total=none, or
                             * left out because counting would cost a scan) */
  char      *next_cursor;   /* the _cursor of the next page; NULL on the last page */
  unsigned   count;         /* the page size used */
  char      *prev_cursor;   /* the _cursor of the page before; NULL on the first page */
} ChartaSearchResult;

/* Runs @query (see charta-search-query.h): one page of matches, _count of them (default 20,
 * at most the store's maximum: a larger _count is lowered to it), in _sort order then in the
 * order resources were created, and what _include/_revinclude bring.  A page's next_cursor,
 * set as the query's cursor, gives the next page: pages never repeat or skip a match because
 * of writes made in between (a resource created meanwhile appears on a later page when it
 * sorts after the cursor); a page's prev_cursor gives the matches just before its first, in
 * the same order (the page a client came from, as it is now).  Errors:
 * CHARTA_STORE_ERROR_INVALID for a cursor of another query
 * or a compartment the type is not in, CHARTA_STORE_ERROR_UNSUPPORTED for what this version
 * cannot search (:in a value set neither R4 nor the store defines, or that selects codes by
 * filter; :above/:below on a code system the store does not hold). */
ChartaSearchResult *charta_store_search          (ChartaStore              *self,
                                                  const ChartaSearchQuery  *query,
                                                  GError                  **error);
void                charta_search_result_free    (ChartaSearchResult       *result);

/* The default and largest page size (_count); 20 and 1000 unless set. */
void                charta_store_set_page_sizes  (ChartaStore              *self,
                                                  unsigned                  default_count,
                                                  unsigned                  max_count);

/* The longest a search may run (5 s unless set; 0: no limit): past it, the search stops with
 * CHARTA_STORE_ERROR_TIMEOUT, so that no request (a hostile one, _revinclude:iterate=* on a
 * large store…) holds a reader for long. */
void                charta_store_set_search_timeout (ChartaStore           *self,
                                                     double                 seconds);

/* A searchset Bundle of @result, as JSON text: total (when counted), the links self, next and
 * previous (@path and the query's parameters: "Patient?name=peter&_cursor=…", after @base with a '/'
 * when @base is not NULL), one entry per resource (fullUrl from @base, the resource's JSON as
 * stored, search.mode), and, when the query ignored unknown parameters, an OperationOutcome
 * entry (mode outcome) naming them.  The resources' JSON is copied, never parsed. */
GBytes             *charta_search_result_to_bundle (const ChartaSearchResult *result,
                                                    const ChartaSearchQuery  *query,
                                                    const char               *base,
                                                    const char               *path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaSearchResult, charta_search_result_free)

/* ---- binary content: scans, PDFs, images ----------------------------------------------------- */

/* A Binary's content is kept apart from its JSON: stored once per SHA-256 (identical content is
 * kept once, however many Binaries or versions hold it), in chunks, and streamed in and out, so
 * a 2 GB scan never sits whole in memory.  The stored JSON of a Binary (what read, vread,
 * search and history give) has no `data`; its content is reached with
 * charta_store_open_binary().  A Binary created or updated as JSON with `data` (a REST client,
 * a transaction, `charta import`) has that data moved into the content store the same way, in
 * the same transaction as its version; one written as JSON without `data` keeps the content
 * its current version holds (a client that read it, which never sees `data`, does not drop its
 * content by writing it back; a new Binary without `data` has none, and reads as empty).
 * A DocumentReference (or any Attachment: contained resources and extensions included) whose
 * `url` names a Binary of the store ("Binary/7", also absolute under a base the store is served
 * under, see the endpoint; in a transaction, the urn:uuid of a Binary entry, which becomes
 * "Binary/id") gets `size` and `hash` (R4: SHA-1, base64) filled in from that Binary's current
 * content when it is written, and an Attachment with inline `data` from that data; a client's
 * size or hash that disagrees is CHARTA_STORE_ERROR_INVALID naming the element
 * ("DocumentReference.content[0].attachment.hash") and both values, and nothing is written (a
 * hash that is no SHA-1 in base64, a hex digest say, cannot be compared: it is kept). */
typedef struct
{
  char    sha256[65];   /* the content's key: SHA-256, lowercase hex */
  char    sha1[29];     /* SHA-1, base64: what Attachment.hash holds in R4 */
  int64_t size;         /* bytes */
} ChartaContentInfo;

typedef struct _ChartaContentWriter ChartaContentWriter;

/* Starts storing a content.  Bytes go in with charta_content_writer_write() in pieces of any
 * size; memory use does not grow with the content's size. */
ChartaContentWriter *charta_store_content_begin    (ChartaStore          *self,
                                                    GError              **error);
gboolean             charta_content_writer_write   (ChartaContentWriter  *writer,
                                                    const void           *data,
                                                    size_t                size,
                                                    GError              **error);
/* Ends a content: it is stored durably (or found already stored: then nothing new is kept),
 * and @info (may be NULL) gets its figures.  Frees @writer, whatever the result.  A content
 * that no Binary comes to hold (charta_store_put_binary() not called, or refused) is dropped
 * by the store an hour later, as is what a crash leaves of an unfinished one. */
gboolean             charta_content_writer_finish  (ChartaContentWriter  *writer,
                                                    ChartaContentInfo    *info,
                                                    GError              **error);
/* Drops what was written so far; frees @writer.  (Either this or _finish() must end every
 * writer.) */
void                 charta_content_writer_abort   (ChartaContentWriter  *writer);

/* Creates (@id NULL: the store picks the id) or updates (update-as-create when there is no such
 * Binary, or it is deleted) the Binary @id as a version holding the stored content @sha256
 * (from a ChartaContentWriter) with @content_type and @security_context (a reference, may be
 * NULL).  @expected_version > 0 makes it conditional, as charta_store_update().  The same
 * content and fields as the current version make no new version.  Returns the stored Binary
 * (no `data`); *created (may be NULL) tells whether it was a create.  A @sha256 that names no
 * stored content (a writer not finished, or aborted) is CHARTA_STORE_ERROR_INVALID. */
ChartaResource      *charta_store_put_binary       (ChartaStore          *self,
                                                    const char           *id,
                                                    const char           *content_type,
                                                    const char           *security_context,
                                                    const char           *sha256,
                                                    int64_t               expected_version,
                                                    ChartaChange         *change,
                                                    gboolean             *created,
                                                    GError              **error);
/* The content of Binary @id at @version (0: the current one) from byte @offset, @length bytes
 * (-1: to the end; a range past the end is cut to it), as a stream that reads the store chunk
 * by chunk (any thread; it holds no read connection between reads).  *binary (may be NULL)
 * gets the Binary's JSON, @info (may be NULL) the whole content's figures.  Errors as
 * charta_store_vread(); CHARTA_STORE_ERROR_INVALID for an offset past the end (an offset at
 * the end gives an empty stream).  A Binary that holds no content reads as empty. */
GInputStream        *charta_store_open_binary      (ChartaStore          *self,
                                                    const char           *id,
                                                    int64_t               version,
                                                    int64_t               offset,
                                                    int64_t               length,
                                                    ChartaResource      **binary,
                                                    ChartaContentInfo    *info,
                                                    GError              **error);

/* ---- checks and figures -------------------------------------------------------------------- */

/* Counts of current, non-deleted resources per type: a GHashTable from type name (char *) to
 * an int64_t * count, both owned by the table. */
GHashTable     *charta_store_count_by_type      (ChartaStore      *self,
                                                 GError          **error);

/* `charta check`: SQLite integrity check; every current version parses and validates; every
 * version (but those of Provenance/AuditEvent) has its Provenance, and the request it records
 * (ChartaHistoryEntry.request) fits what it did; the index rows of every
 * current version equal a fresh extraction; deleted and superseded versions have none.  Each
 * problem found is appended to @outcome; returns FALSE when there is any (or on error). */
gboolean        charta_store_check              (ChartaStore      *self,
                                                 ChartaOutcome    *outcome,
                                                 GError          **error);

/* ---- async twins (for the endpoint and the desktop) -------------------------------------- */

/* Each runs its blocking twin off the calling thread (reads on a worker, writes through the
 * writer queue) and completes on the caller's thread-default main context.  Arguments are
 * copied or referenced: the caller may free them as soon as the call returns. */

void            charta_store_read_async         (ChartaStore         *self,
                                                 const char          *type,
                                                 const char          *id,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
ChartaResource *charta_store_read_finish        (ChartaStore         *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);
/* @query must stay alive (and unchanged) until @callback runs. */
void            charta_store_search_async       (ChartaStore              *self,
                                                 const ChartaSearchQuery  *query,
                                                 GCancellable             *cancellable,
                                                 GAsyncReadyCallback       callback,
                                                 gpointer                  user_data);
ChartaSearchResult *charta_store_search_finish  (ChartaStore         *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);
void            charta_store_update_async       (ChartaStore         *self,
                                                 ChartaResource      *resource,
                                                 int64_t              expected_version,
                                                 ChartaChange        *change,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
ChartaResource *charta_store_update_finish      (ChartaStore         *self,
                                                 GAsyncResult        *result,
                                                 gboolean            *created,
                                                 GError             **error);
void            charta_store_create_async       (ChartaStore         *self,
                                                 ChartaResource      *resource,
                                                 ChartaChange        *change,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
ChartaResource *charta_store_create_finish      (ChartaStore         *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);
void            charta_store_transaction_async  (ChartaStore         *self,
                                                 ChartaOperation     *operations,
                                                 size_t               n_operations,
                                                 ChartaChange        *change,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
GPtrArray      *charta_store_transaction_finish (ChartaStore         *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaHistoryEntry, charta_history_entry_free)

G_END_DECLS
