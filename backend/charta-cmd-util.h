/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-cmd-util.h: pieces shared by the verbs of the `charta` command that work on a store.
 *
 * Opening a store with messages a person can act on ("STORE: no such file" rather than an
 * SQLite code), parsing the `Type/id[/_history/N]` arguments, instants on the command line,
 * and printing errors as "WHERE: message" lines.  Only command files print.
 */
#pragma once

#include <stdint.h>

#include "charta-store.h"

G_BEGIN_DECLS

/* Opens the store at @path.  Without CHARTA_STORE_FLAGS_CREATE a missing file is
 * G_FILE_ERROR_NOENT ("no such file") rather than whatever the engine says; a directory is
 * G_FILE_ERROR_ISDIR. */
ChartaStore *charta_cmd_open_store      (const char        *path,
                                         ChartaStoreFlags   flags,
                                         GError           **error);

/* Prints "@where: message" on standard error, one such line per line of the message (so a
 * message listing several problems keeps @where on each).  A message that already starts
 * with @where is not prefixed twice. */
void         charta_cmd_print_error     (const char        *where,
                                         const GError      *error);

/* Parses "Type/id" or "Type/id/_history/N": @type must be an R4 resource type and @id a FHIR
 * id ([A-Za-z0-9-.]{1,64}).  *version is N, or 0 when there is no _history part.  When
 * @allow_type_only, "Type" alone is accepted too (*id NULL).  G_OPTION_ERROR_BAD_VALUE
 * otherwise. */
gboolean     charta_cmd_parse_reference (const char        *text,
                                         gboolean           allow_type_only,
                                         char             **type,
                                         char             **id,
                                         int64_t           *version,
                                         GError           **error);

/* A FHIR instant or dateTime ("2024-05-01", "2024-05-01T10:00:00Z"…) as µs since the epoch;
 * a date or a time without a zone is taken as UTC. */
gboolean     charta_cmd_parse_instant   (const char        *text,
                                         int64_t           *us,
                                         GError           **error);
/* µs since the epoch as "2024-05-01T10:00:00.123456Z" (UTC, microseconds, as the store
 * writes meta.lastUpdated). */
char        *charta_cmd_format_instant  (int64_t            us);

/* Whether standard output is a terminal (pretty output by default). */
gboolean     charta_cmd_stdout_is_tty   (void);

G_END_DECLS
