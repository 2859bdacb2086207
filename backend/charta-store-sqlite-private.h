/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-store-sqlite-private.h: what the SQLite engine's files share among themselves.
 *
 * Only charta-store-sqlite.c and charta-search-sqlite.c include it: nothing outside the
 * engine may assume SQLite (see ../shared/ARCHITECTURE.md, Scale).
 */
#pragma once

#include <sqlite3.h>

#include "charta-store-private.h"

G_BEGIN_DECLS

/* Index rows of resource rid have rowids [rid << CHARTA_DB_ROWS_SHIFT,
 * (rid + 1) << CHARTA_DB_ROWS_SHIFT): a resource's rows are found by a rowid range. */
#define CHARTA_DB_ROWS_SHIFT 20

sqlite3  *charta_db_get_handle (ChartaDb    *db);

/* The one place SQLite result codes become store errors (returns FALSE). */
gboolean  charta_db_set_error  (GError     **error,
                                ChartaDb    *db,
                                int          rc,
                                const char  *doing);

G_END_DECLS
