/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-test-store-util.h: helpers shared by the backend tests that use the store.
 *
 * Opening a store (failing the test on error), a g_test_add() fixture holding a new store in a
 * temporary folder, counts per type, and walking the whole history page by page.  Linked only
 * by the backend tests: the fhir tests stay free of the store.
 */
#pragma once

#include "charta-store.h"
#include "charta-test-util.h"

G_BEGIN_DECLS

/* charta_store_open(); fails the test on error. */
ChartaStore    *charta_test_store_open      (const char       *path,
                                             ChartaStoreFlags  flags);

/* A fixture for g_test_add(): a store created in a new temporary folder, which tear-down
 * closes and removes with all it holds. */
typedef struct
{
  char        *dir;
  char        *store_path;   /* "store.charta" in @dir */
  ChartaStore *store;        /* open on @store_path (CHARTA_STORE_FLAGS_CREATE) */
} ChartaTestStore;

void            charta_test_store_set_up    (ChartaTestStore *f,
                                             gconstpointer    data);
void            charta_test_store_tear_down (ChartaTestStore *f,
                                             gconstpointer    data);

/* The count of @type in @counts (from charta_store_count_by_type()), 0 when absent. */
int64_t         charta_test_count_of        (GHashTable *counts,
                                             const char *type);
/* The number of current resources of @type in @store; fails the test on error. */
int64_t         charta_test_store_count     (ChartaStore *store,
                                             const char  *type);

/* The single Provenance that targets version @version of @type/@id (a new reference); fails the
 * test on error or unless there is exactly one. */
ChartaResource *charta_test_store_provenance_of (ChartaStore *store,
                                                 const char  *type,
                                                 const char  *id,
                                                 int64_t      version);

/* Whether @provenance has @reference ("Patient/7/_history/3") among its targets. */
gboolean        charta_test_provenance_targets  (ChartaResource *provenance,
                                                 const char     *reference);

/* Calls @func on every version in @store's whole history, newest first, reading it in pages of
 * @page_size; fails the test on error. */
typedef void (*ChartaTestVersionFunc) (ChartaHistoryEntry *entry,
                                       gpointer            user_data);

void            charta_test_store_foreach_version (ChartaStore           *store,
                                                   unsigned               page_size,
                                                   ChartaTestVersionFunc  func,
                                                   gpointer               user_data);

G_END_DECLS
