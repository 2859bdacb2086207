/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-local-server.h: ChartaLocalServer, a store file served in-process on a loopback port.
 *
 * The desktop app speaks only FHIR REST, also to a store file on this computer: it opens the
 * store and serves it with a ChartaServer on 127.0.0.1, port 0 (a free port), and points a
 * ChartaClient at the base URL.  Both live on a thread of their own with its own main context,
 * so the GTK thread never opens, reads or routes anything itself.
 *
 * Only processes on this computer can connect, and of those only the ones that hold the access
 * token: each start makes a new one, 256 bits from /dev/urandom, which the server requires as
 * "Authorization: Bearer <token>" on every request but GET [base]/metadata (a CORS preflight
 * needs none either, but the server allows no origin).  The token stays in this process: the
 * app hands it to its ChartaClient (charta_client_set_bearer_token()), and another local user
 * who finds the port gets 401 for anything but the CapabilityStatement.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CHARTA_TYPE_LOCAL_SERVER (charta_local_server_get_type ())
G_DECLARE_FINAL_TYPE (ChartaLocalServer, charta_local_server, CHARTA, LOCAL_SERVER, GObject)

/* Opens the store at @path (which must exist) and starts serving it, on a new thread.  The
 * callback runs on the caller's thread-default main context. */
void               charta_local_server_start_async  (const char           *path,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
/* The running server, or NULL with the store's or the listener's error (a message that names
 * the file). */
ChartaLocalServer *charta_local_server_start_finish (GAsyncResult         *result,
                                                     GError              **error);

const char        *charta_local_server_get_path     (ChartaLocalServer    *self);
/* "http://127.0.0.1:PORT/fhir". */
const char        *charta_local_server_get_base_url (ChartaLocalServer    *self);
/* The access token the server requires (64 hex digits, new for each start): for
 * charta_client_set_bearer_token().  Never to be logged or shown. */
const char        *charta_local_server_get_token    (ChartaLocalServer    *self);

/* Stops serving and closes the store; waits for the requests being answered (at most the
 * store's search time limit).  Also done when the object is finalized. */
void               charta_local_server_stop         (ChartaLocalServer    *self);

G_END_DECLS
