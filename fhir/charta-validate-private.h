/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-validate-private.h: validation internals that the tests look at.
 *
 * The invariants that validation cannot evaluate (their expression uses a FHIRPath function
 * that our engine does not implement, or does not compile) are skipped, not failed; the list
 * of skipped ones is kept so that a test can print it and keep it short and explicit.  The
 * primitive checkers are exposed so that a test can compare them with the definitions' regexes.
 */
#pragma once

#include <glib.h>

#include "charta-validate.h"

G_BEGIN_DECLS

/* "key: reason (expression)" for each invariant skipped so far in this process, sorted, newly
 * allocated (free with g_strfreev).  Skips are discovered lazily, the first time an invariant
 * is met; charta_validate_compile_all_invariants() meets them all at once. */
char   **charta_validate_dup_skipped_invariants   (void);
/* Compiles every invariant of the model now (normally done on first use); returns how many
 * there are, error and warning severity, ele-1 excluded. */
unsigned charta_validate_compile_all_invariants    (void);

/* The R4 invariants evaluated in a corrected form, "key: why; evaluated as: expression"
 * (free with g_strfreev). */
char   **charta_validate_dup_errata               (void);

/* Native checks of the hot invariants (dom-2…dom-6, ext-1, ref-1, obs-6, qty-3, …) stand in
 * for FHIRPath where their answer is plain.  Turning them off makes FHIRPath evaluate every
 * invariant, so a test can compare the two.  Not thread-safe: for tests only. */
void     charta_validate_set_native_checks         (gboolean     enabled);

/* Checks @value as the string form of the primitive type @type_name ("date", "code", …) with
 * the checker validation uses, without the JSON-type part.  Returns TRUE when valid; else FALSE
 * and a reason in @reason (newly allocated) when not NULL.  FALSE with reason "no checker" for a
 * name that is not a string-valued primitive type. */
gboolean charta_validate_check_primitive_string    (const char  *type_name,
                                                    const char  *value,
                                                    char       **reason);

G_END_DECLS
