/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-local-server.c: a store file served in-process on a loopback port (see
 * charta-local-server.h).
 *
 * The server thread owns the store, the ChartaServer and its main context; the object only
 * asks it to start and to stop.  The thread never holds a reference to the object or to the
 * start task beyond handing the task back: it passes the task to the caller's context with an
 * idle source, so every reference to the object is dropped on the caller's thread and the
 * object (whose finalize joins the thread) is never finalized on the thread it joins.
 *
 * The access token is made on the server thread too (reading /dev/urandom is I/O, which the
 * GTK thread does not do): 32 bytes from the kernel's CSPRNG (GLib has no API for one), written
 * as hex.  It is never logged, and wiped when the object goes.
 */
#define G_LOG_DOMAIN "charta-local-server"

#include <string.h>

#include "charta-local-server.h"
#include "charta-server.h"

#define TOKEN_BYTES 32  /* 256 bits */

/* What the server thread works with.  Written by the thread before it hands the task back,
 * read by the caller's thread after (the main context's lock orders the two). */
typedef struct
{
  char *path;
  GMainContext *context;  /* the thread's */
  GMainLoop *loop;
  ChartaStore *store;
  ChartaServer *server;
  GTask *task;            /* the start, until handed back */
  char *base_url;         /* set once listening */
  char *token;            /* the access token the server requires: 2 * TOKEN_BYTES hex
                           * digits, set before the store is opened */
  GError *error;          /* set when the start failed */
} ServerThread;

struct _ChartaLocalServer
{
  GObject parent_instance;

  ServerThread *state;
  GThread *thread;        /* NULL once joined */
};

G_DEFINE_FINAL_TYPE (ChartaLocalServer, charta_local_server, G_TYPE_OBJECT)

/* On the caller's context: the start's outcome. */
static gboolean
report_start (gpointer data)
{
  g_autoptr(GTask) task = data;
  ChartaLocalServer *self = g_task_get_source_object (task);

  if (self->state->error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&self->state->error));
      return G_SOURCE_REMOVE;
    }
  g_debug ("serving a store at %s", self->state->base_url);
  g_task_return_boolean (task, TRUE);
  return G_SOURCE_REMOVE;
}

/* A new access token: TOKEN_BYTES from /dev/urandom, as hex.  NULL and @error (naming
 * /dev/urandom) when they cannot be read. */
static char *
make_token (GError **error)
{
  g_autoptr(GFile) file = g_file_new_for_path ("/dev/urandom");
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GError) local_error = NULL;
  guint8 bytes[TOKEN_BYTES];
  gsize n = 0;
  GString *hex;

  stream = g_file_read (file, NULL, &local_error);
  if (stream == NULL
      || !g_input_stream_read_all (G_INPUT_STREAM (stream), bytes, sizeof bytes, &n, NULL,
                                   &local_error)
      || n != sizeof bytes)
    {
      if (local_error == NULL)
        g_set_error (&local_error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                     "%" G_GSIZE_FORMAT " bytes of %u", n, TOKEN_BYTES);
      g_set_error (error, local_error->domain, local_error->code,
                   "No access token could be made for the server (/dev/urandom: %s)",
                   local_error->message);
      return NULL;
    }
  hex = g_string_sized_new (2 * TOKEN_BYTES);
  for (size_t i = 0; i < TOKEN_BYTES; i++)
    g_string_append_printf (hex, "%02x", bytes[i]);
  memset (bytes, 0, sizeof bytes);
  return g_string_free (hex, FALSE);
}

static gpointer
run_server_thread (gpointer data)
{
  ServerThread *state = data;
  GTask *task = g_steal_pointer (&state->task);
  GMainContext *caller_context = g_task_get_context (task);

  g_main_context_push_thread_default (state->context);
  state->token = make_token (&state->error);
  if (state->token != NULL)
    state->store = charta_store_open (state->path, CHARTA_STORE_FLAGS_NONE, &state->error);
  if (state->store != NULL)
    {
      state->server = charta_server_new (state->store, CHARTA_SERVER_DEFAULT_BASE_PATH);
      charta_server_set_bearer_token (state->server, state->token);
      if (charta_server_listen (state->server, "127.0.0.1:0", &state->error))
        state->base_url = charta_server_dup_base_url (state->server);
    }

  /* From here on, only the caller's context touches the task. */
  g_main_context_invoke (caller_context, report_start, task);

  if (state->base_url != NULL)
    g_main_loop_run (state->loop);

  g_clear_object (&state->server);
  if (state->store != NULL)
    charta_store_close (state->store);
  g_clear_object (&state->store);
  g_main_context_pop_thread_default (state->context);
  return NULL;
}

/* On the server thread. */
static gboolean
stop_in_thread (gpointer data)
{
  ServerThread *state = data;

  if (state->server != NULL)
    charta_server_stop (state->server);
  g_main_loop_quit (state->loop);
  return G_SOURCE_REMOVE;
}

void
charta_local_server_stop (ChartaLocalServer *self)
{
  g_return_if_fail (CHARTA_IS_LOCAL_SERVER (self));

  if (self->thread == NULL)
    return;
  g_main_context_invoke (self->state->context, stop_in_thread, self->state);
  g_thread_join (g_steal_pointer (&self->thread));
  g_debug ("stopped serving a store");
}

static void
charta_local_server_finalize (GObject *object)
{
  ChartaLocalServer *self = CHARTA_LOCAL_SERVER (object);
  ServerThread *state = self->state;

  charta_local_server_stop (self);
  g_free (state->path);
  g_main_loop_unref (state->loop);
  g_main_context_unref (state->context);
  g_free (state->base_url);
  if (state->token != NULL)
    memset (state->token, 0, strlen (state->token));
  g_free (state->token);
  g_clear_error (&state->error);
  g_free (state);

  G_OBJECT_CLASS (charta_local_server_parent_class)->finalize (object);
}

static void
charta_local_server_class_init (ChartaLocalServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = charta_local_server_finalize;
}

static void
charta_local_server_init (ChartaLocalServer *self)
{
  self->state = g_new0 (ServerThread, 1);
  self->state->context = g_main_context_new ();
  self->state->loop = g_main_loop_new (self->state->context, FALSE);
}

void
charta_local_server_start_async (const char          *path,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(ChartaLocalServer) self = NULL;
  GTask *task;

  g_return_if_fail (path != NULL);

  self = g_object_new (CHARTA_TYPE_LOCAL_SERVER, NULL);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, charta_local_server_start_async);
  self->state->path = g_strdup (path);
  self->state->task = task;
  self->thread = g_thread_new ("charta-server", run_server_thread, self->state);
}

ChartaLocalServer *
charta_local_server_start_finish (GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (G_IS_TASK (result), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                          == charta_local_server_start_async, NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  return g_object_ref (g_task_get_source_object (G_TASK (result)));
}

const char *
charta_local_server_get_path (ChartaLocalServer *self)
{
  g_return_val_if_fail (CHARTA_IS_LOCAL_SERVER (self), NULL);

  return self->state->path;
}

const char *
charta_local_server_get_base_url (ChartaLocalServer *self)
{
  g_return_val_if_fail (CHARTA_IS_LOCAL_SERVER (self), NULL);

  return self->state->base_url;
}

const char *
charta_local_server_get_token (ChartaLocalServer *self)
{
  g_return_val_if_fail (CHARTA_IS_LOCAL_SERVER (self), NULL);

  return self->state->token;
}
