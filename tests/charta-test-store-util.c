/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-test-store-util.c: helpers shared by the backend tests that use the store (see
 * charta-test-store-util.h).
 */
#define G_LOG_DOMAIN "charta-test"

#include "charta-test-store-util.h"

ChartaStore *
charta_test_store_open (const char       *path,
                        ChartaStoreFlags  flags)
{
  g_autoptr(GError) error = NULL;
  ChartaStore *store = charta_store_open (path, flags, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

void
charta_test_store_set_up (ChartaTestStore *f,
                          gconstpointer    data)
{
  ChartaTestDir tmp;

  charta_test_dir_set_up (&tmp, data);
  f->dir = tmp.dir;
  f->store_path = tmp.store_path;
  f->store = charta_test_store_open (f->store_path, CHARTA_STORE_FLAGS_CREATE);
}

void
charta_test_store_tear_down (ChartaTestStore *f,
                             gconstpointer    data)
{
  ChartaTestDir tmp = { f->dir, f->store_path };

  g_clear_object (&f->store);
  charta_test_dir_tear_down (&tmp, data);
  f->dir = NULL;
  f->store_path = NULL;
}

int64_t
charta_test_count_of (GHashTable *counts,
                      const char *type)
{
  int64_t *n = g_hash_table_lookup (counts, type);

  return n != NULL ? *n : 0;
}

int64_t
charta_test_store_count (ChartaStore *store,
                         const char  *type)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) counts = charta_store_count_by_type (store, &error);

  g_assert_no_error (error);
  return charta_test_count_of (counts, type);
}

ChartaResource *
charta_test_store_provenance_of (ChartaStore *store,
                                 const char  *type,
                                 const char  *id,
                                 int64_t      version)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = charta_store_list_provenance (store, type, id, version, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 1);
  return charta_resource_ref (g_ptr_array_index (list, 0));
}

gboolean
charta_test_provenance_targets (ChartaResource *provenance,
                                const char     *reference)
{
  JsonObject *root = charta_resource_get_object (provenance);
  JsonArray *targets = json_object_get_array_member (root, "target");

  g_assert_nonnull (targets);
  for (unsigned i = 0; i < json_array_get_length (targets); i++)
    {
      JsonObject *target = json_array_get_object_element (targets, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (target, "reference", NULL),
                     reference) == 0)
        return TRUE;
    }
  return FALSE;
}

void
charta_test_store_foreach_version (ChartaStore           *store,
                                   unsigned               page_size,
                                   ChartaTestVersionFunc  func,
                                   gpointer               user_data)
{
  g_autofree char *cursor = NULL;

  do
    {
      ChartaHistoryOptions options = { .count = page_size, .cursor = cursor };
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) page = NULL;
      char *next = NULL;

      page = charta_store_history (store, NULL, NULL, &options, &next, &error);
      g_assert_no_error (error);
      g_assert_nonnull (page);
      /* a page is empty only when it is the last */
      g_assert_true (page->len > 0 || next == NULL);
      for (unsigned i = 0; i < page->len; i++)
        func (g_ptr_array_index (page, i), user_data);
      g_free (cursor);
      cursor = next;
    }
  while (cursor != NULL);
}
