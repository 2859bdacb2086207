/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-resource-private.h: ChartaResource functions for libcharta's own store only.
 *
 * charta_resource_new_lazy() makes a resource from canonical JSON that the store wrote itself
 * (a body it has just committed), knowing its type, id and meta already: the text is parsed
 * only when something first asks for the tree (charta_resource_get_root(), _get_object(),
 * canonical output, number texts, nested resources), on whatever thread that is, once.  So a
 * write's result costs nothing until it is looked at.  @data is taken (g_free()d with the
 * resource); it must parse: if it ever did not, that is a bug, reported with g_critical(),
 * and the resource then has no tree.  charta_resource_patch_last_updated() refuses it.
 */
#pragma once

#include "charta-resource.h"

G_BEGIN_DECLS

ChartaResource *charta_resource_new_lazy (char       *data,
                                          size_t      length,
                                          const char *resource_type,
                                          const char *id,
                                          const char *version_id,
                                          const char *last_updated);

G_END_DECLS
