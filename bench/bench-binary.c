/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * bench-binary.c: Binary content over loopback, beside a bare libsoup server and the disk.
 *
 *   ninja -C build bench/bench-binary
 *   build/bench/bench-binary [--runs N] [--size MB] [--dir DIR]
 *
 * A new store in a folder made in DIR (default: the temporary folder; it must be a real disk,
 * since the store fsyncs: a tmpfs is named as such in the header line) is served by a
 * ChartaServer on a thread of its own, on a free loopback port, as `charta serve` serves it
 * (GSlice handed to malloc, see charta-malloc.h).  The client is a SoupSession on the main
 * thread, used through its blocking calls.  Each of --runs runs (default 3):
 *
 * 1. Upload: POST [base]/Binary, Content-Type application/pdf, of --size MiB (default 256)
 *    generated as they are sent by a GInputStream (xorshift64*, never zeros, so nothing
 *    compresses), with a seed of its own per run, so that the store's dedup (one content per
 *    SHA-256) never finds the content there already: every run writes all of it.  Timed from the
 *    send to the 201.  The SHA-256 expected back and the bytes of the Range below are computed
 *    beforehand, untimed, by running the same generator.
 * 2. Download: GET [base]/Binary/[id] (Accept: * / *), read as a stream in 1 MiB reads, twice:
 *    once hashed with SHA-256 as it comes and checked against the upload's (a mismatch, a short
 *    body or any status but 200 ends the benchmark with exit status 1), once only counted.  The
 *    counted one is the download figure: GLib's SHA-256 runs at a speed of the order of the
 *    transfer's on a small machine, so with it the figure would be the client's; both are printed.
 * 3. Range: `Range: bytes=A-B`, the 1 MiB across the middle of the content (across a chunk
 *    boundary of the store), five times: 206, its Content-Range, and the bytes compared with the
 *    expected ones.  Latency to the response head and the time of the whole read.
 * 4. The server's peak RSS growth: the process's VmHWM after steps 1-3 over its VmRSS before
 *    them (the peak is reset through /proc/self/clear_refs before each run).  The server is in
 *    this process, so the client's own buffers (a few MiB) are in the figure too.  Run 1 is the
 *    cold server, as a new `charta serve` is; later runs reuse what malloc kept.
 * 5. The ceiling, with the same client calls (upload, both downloads): a bare SoupServer of
 *    ours on a thread of its own and another port, which takes the same streamed upload (an
 *    early handler stops libsoup accumulating the body; got-chunk counts the bytes) and discards
 *    it, answering 201 when all came; and serves a download of the same size and bytes,
 *    generated in 1 MiB pieces as libsoup writes them (two ahead).  Its connections are
 *    accepted here and handed to libsoup (soup_server_accept_iostream(), as ChartaServer does:
 *    libsoup 3.2's own listener leaks a GSocket per connection), one per request.
 * 6. The disk: --size MiB of the same generator written to a file in the folder in 1 MiB
 *    writes, fsync at the end, timed from the open to the end of the fsync.  The store's upload
 *    writes its content through SQLite (the WAL, then the checkpoint), so this bounds it.
 *
 * MB/s are 10^6 bytes a second; sizes are MiB.  Printed: each run's figures, then the median,
 * min and max of each, the client's generator and SHA-256 speeds alone, and one target line.
 * Issue 7 sets no number for these figures: the line gives them as shares of the bare libsoup
 * ceiling.  A failed check leaves the folder (named in the header line) for a look.  This is a
 * benchmark, never a timed test: the client, both servers and the store's threads share the
 * machine's cores, and the machine is shared and noisy.
 */
#define G_LOG_DOMAIN "charta-bench"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#ifdef __linux__
#include <sys/vfs.h>
#endif

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "charta-malloc.h"
#include "charta-server.h"
#include "charta-store.h"

#define MIB            (1024 * 1024)
#define RANGE_READS    5
#define CEILING_AHEAD  2            /* generated pieces the ceiling keeps queued for libsoup */
#define TMPFS_MAGIC_FS 0x01021994   /* statfs f_type of a tmpfs (linux/magic.h) */

static char *work_dir;
static unsigned n_runs = 3;
static unsigned size_mb = 256;

static double
now_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

G_NORETURN static void
fail (const char   *what,
      const GError *error)
{
  fprintf (stderr, "bench-binary: %s: %s\n", what, error != NULL ? error->message : "failed");
  exit (1);
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* ---- generated content ----------------------------------------------------------------------- */

/* xorshift64*: a byte stream of a seed, the same whatever the sizes it is read in. */
typedef struct
{
  guint64  state;     /* never 0 */
  guint8   word[8];   /* the last word made */
  unsigned used;      /* bytes of @word given out already (8: none left) */
} Generator;

static void
generator_init (Generator *g,
                guint64    seed)
{
  /* (splitmix64 of the seed: nearby seeds give unrelated streams) */
  guint64 z = seed + G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  z ^= z >> 31;
  g->state = z != 0 ? z : 1;
  g->used = 8;
}

static inline guint64
generator_next (Generator *g)
{
  guint64 x = g->state;

  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  g->state = x;
  return x * G_GUINT64_CONSTANT (0x2545F4914F6CDD1D);
}

static void
generator_fill (Generator *g,
                guint8    *out,
                size_t     n)
{
  size_t i = 0;

  while (i < n && g->used < 8)
    out[i++] = g->word[g->used++];
  for (; i + 8 <= n; i += 8)
    {
      guint64 x = generator_next (g);

      memcpy (out + i, &x, 8);
    }
  if (i < n)
    {
      guint64 x = generator_next (g);

      memcpy (g->word, &x, 8);
      g->used = 0;
      while (i < n)
        out[i++] = g->word[g->used++];
    }
}

/* The content of a run: different per run, so that dedup never finds it in the store. */
static guint64
run_seed (unsigned run)
{
  return G_GUINT64_CONSTANT (0xC4A27A0000000000) + run;
}

/* A GInputStream of @remaining generated bytes: an upload body made as it is sent. */
#define BENCH_TYPE_GENERATED_STREAM (bench_generated_stream_get_type ())
G_DECLARE_FINAL_TYPE (BenchGeneratedStream, bench_generated_stream, BENCH, GENERATED_STREAM,
                      GInputStream)

struct _BenchGeneratedStream
{
  GInputStream parent_instance;
  Generator    generator;
  guint64      remaining;
};

G_DEFINE_FINAL_TYPE (BenchGeneratedStream, bench_generated_stream, G_TYPE_INPUT_STREAM)

static gssize
generated_read (GInputStream  *stream,
                void          *buffer,
                gsize          count,
                GCancellable  *cancellable,
                GError       **error)
{
  BenchGeneratedStream *self = BENCH_GENERATED_STREAM (stream);
  gsize n = (gsize) MIN ((guint64) count, self->remaining);

  generator_fill (&self->generator, buffer, n);
  self->remaining -= n;
  return (gssize) n;
}

static void
bench_generated_stream_class_init (BenchGeneratedStreamClass *klass)
{
  G_INPUT_STREAM_CLASS (klass)->read_fn = generated_read;
}

static void
bench_generated_stream_init (BenchGeneratedStream *self)
{
}

static GInputStream *
generated_stream_new (guint64 seed,
                      guint64 size)
{
  BenchGeneratedStream *self = g_object_new (BENCH_TYPE_GENERATED_STREAM, NULL);

  generator_init (&self->generator, seed);
  self->remaining = size;
  return G_INPUT_STREAM (self);
}

/* What a run's content is: its SHA-256 (@sha256: 65 bytes), and its @length bytes from @first
 * in @window.  (Untimed: before the upload.) */
static void
expect_content (guint64  seed,
                guint64  size,
                guint64  first,
                guint64  length,
                char    *sha256,
                guint8  *window)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buffer = g_malloc (MIB);
  Generator g;

  generator_init (&g, seed);
  for (guint64 at = 0; at < size; at += MIB)
    {
      gsize n = (gsize) MIN ((guint64) MIB, size - at);
      guint64 from = MAX (at, first), to = MIN (at + n, first + length);

      generator_fill (&g, buffer, n);
      g_checksum_update (checksum, buffer, (gssize) n);
      if (from < to)
        memcpy (window + (from - first), buffer + (from - at), (size_t) (to - from));
    }
  g_strlcpy (sha256, g_checksum_get_string (checksum), 65);
}

/* The client's own speeds (MB/s), over @size bytes: generating, and SHA-256. */
static void
client_speeds (guint64  size,
               double  *generate,
               double  *sha256)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buffer = g_malloc (MIB);
  Generator g;
  double t0, t1, t2;

  generator_init (&g, 1);
  t0 = now_seconds ();
  for (guint64 at = 0; at < size; at += MIB)
    generator_fill (&g, buffer, MIB);
  t1 = now_seconds ();
  for (guint64 at = 0; at < size; at += MIB)
    g_checksum_update (checksum, buffer, MIB);
  g_checksum_get_string (checksum);
  t2 = now_seconds ();
  *generate = size / 1e6 / (t1 - t0);
  *sha256 = size / 1e6 / (t2 - t1);
}

/* ---- the process's memory -------------------------------------------------------------------- */

/* @field ("VmHWM:", "VmRSS:") of /proc/self/status, in KiB; -1 when there is none. */
static long
status_kb (const char *field)
{
  g_autofree char *text = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return -1;
  line = strstr (text, field);
  if (line == NULL)
    return -1;
  return strtol (line + strlen (field), NULL, 10);
}

/* The peak RSS (VmHWM) set back to the RSS now (Linux 4.0 and later). */
static gboolean
reset_peak_rss (void)
{
  int fd = g_open ("/proc/self/clear_refs", O_WRONLY, 0);
  gboolean done;

  if (fd < 0)
    return FALSE;
  done = write (fd, "5", 1) == 1;
  close (fd);
  return done;
}

/* ---- servers on threads of their own --------------------------------------------------------- */

typedef struct
{
  ChartaStore *store;       /* NULL: the ceiling server */

  GMutex lock;              /* guards @ready, @base_url, and the ceiling's content below */
  GCond ready_cond;
  gboolean ready;
  char *base_url;           /* "http://127.0.0.1:PORT/fhir", set once listening */
  guint64 seed, size;       /* the ceiling's: the content it serves */
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
} ServerThread;

static void
ceiling_got_chunk (SoupServerMessage *msg,
                   GBytes            *chunk,
                   gpointer           data)
{
  guint64 *received = data;

  *received += g_bytes_get_size (chunk);
}

/* An upload: its body counted as it comes, never kept. */
static void
ceiling_early_handler (SoupServer        *server,
                       SoupServerMessage *msg,
                       const char        *path,
                       GHashTable        *query,
                       gpointer           user_data)
{
  guint64 *received;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_POST)
    return;
  received = g_new0 (guint64, 1);
  g_object_set_data_full (G_OBJECT (msg), "bench-received", received, g_free);
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (ceiling_got_chunk), received);
}

/* A download being sent: pieces generated as libsoup writes them. */
typedef struct
{
  Generator generator;
  guint64   remaining;   /* bytes not yet generated */
  unsigned  ahead;       /* pieces in the body, not yet written */
} CeilingDownload;

/* Fills @dl's body up to CEILING_AHEAD pieces; the last one completes it. */
static void
ceiling_fill (CeilingDownload   *dl,
              SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_response_body (msg);
  gboolean starved = dl->ahead == 0;
  gboolean appended = FALSE;

  while (dl->ahead < CEILING_AHEAD && dl->remaining > 0)
    {
      gsize n = (gsize) MIN ((guint64) MIB, dl->remaining);
      guint8 *piece = g_malloc (n);

      generator_fill (&dl->generator, piece, n);
      soup_message_body_append_take (body, piece, n);
      dl->remaining -= n;
      dl->ahead++;
      appended = TRUE;
      if (dl->remaining == 0)
        soup_message_body_complete (body);
    }
  /* (libsoup pauses a message whose body ran dry) */
  if (starved && appended)
    soup_server_message_unpause (msg);
}

static void
ceiling_wrote_chunk (SoupServerMessage *msg,
                     gpointer           data)
{
  CeilingDownload *dl = data;

  if (dl->ahead > 0)
    dl->ahead--;
  ceiling_fill (dl, msg);
}

static void
ceiling_download_free (gpointer  data,
                       GClosure *closure)
{
  g_free (data);
}

static void
ceiling_handler (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  ServerThread *st = user_data;
  const char *method = soup_server_message_get_method (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);

  /* (a connection per request: libsoup 3.2 keeps a connection alive only while the server has
   * a listener of its own, which the ceiling does not give it (see ceiling_incoming()); a
   * connect costs nothing beside a transfer of MiBs) */
  soup_message_headers_replace (response, "Connection", "close");
  if (method == SOUP_METHOD_POST)
    {
      static const char answer[] = "{\"resourceType\":\"Binary\",\"id\":\"ceiling\"}";
      guint64 *received = g_object_get_data (G_OBJECT (msg), "bench-received");
      goffset declared = soup_message_headers_get_content_length (
        soup_server_message_get_request_headers (msg));

      if (received == NULL || *received != (guint64) declared)
        {
          soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, NULL);
          return;
        }
      soup_server_message_set_status (msg, SOUP_STATUS_CREATED, NULL);
      soup_server_message_set_response (msg, "application/fhir+json", SOUP_MEMORY_STATIC,
                                        answer, strlen (answer));
    }
  else if (method == SOUP_METHOD_GET)
    {
      CeilingDownload *dl = g_new0 (CeilingDownload, 1);
      guint64 seed, size;

      g_mutex_lock (&st->lock);
      seed = st->seed;
      size = st->size;
      g_mutex_unlock (&st->lock);
      generator_init (&dl->generator, seed);
      dl->remaining = size;
      soup_message_headers_replace (response, "Content-Type", "application/pdf");
      soup_message_headers_set_content_length (response, (goffset) size);
      soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      g_signal_connect_data (msg, "wrote-chunk", G_CALLBACK (ceiling_wrote_chunk), dl,
                             ceiling_download_free, 0);
      ceiling_fill (dl, msg);
    }
  else
    soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
}

/* A connection to the ceiling: to libsoup, as its own listener would hand it. */
static gboolean
ceiling_incoming (GSocketService    *service,
                  GSocketConnection *connection,
                  GObject           *source,
                  gpointer           data)
{
  SoupServer *ceiling = data;
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  g_autoptr(GError) error = NULL;

  if (local == NULL || remote == NULL)
    return TRUE;  /* (gone already) */
  g_socket_set_option (g_socket_connection_get_socket (connection), IPPROTO_TCP, TCP_NODELAY,
                       TRUE, NULL);
  if (!soup_server_accept_iostream (ceiling, G_IO_STREAM (connection), local, remote, &error))
    g_warning ("the ceiling did not take a connection: %s", error->message);
  return TRUE;
}

static gpointer
server_thread (gpointer data)
{
  ServerThread *st = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaServer) server = NULL;
  g_autoptr(SoupServer) ceiling = NULL;
  g_autoptr(GSocketService) service = NULL;
  char *url = NULL;

  g_main_context_push_thread_default (st->context);
  if (st->store != NULL)
    {
      server = charta_server_new (st->store, "/fhir");
      if (!charta_server_listen (server, "127.0.0.1:0", &error))
        fail ("listening", error);
      url = charta_server_dup_base_url (server);
    }
  else
    {
      g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
      g_autoptr(GSocketAddress) bound = NULL;

      ceiling = soup_server_new (NULL, NULL);
      soup_server_add_early_handler (ceiling, NULL, ceiling_early_handler, st, NULL);
      soup_server_add_handler (ceiling, NULL, ceiling_handler, st, NULL);
      /* (connections accepted here, as ChartaServer does: libsoup 3.2 leaks the GSocket of
       * every connection its own listener accepts, and an address in
       * soup_server_listen_local()) */
      service = g_socket_service_new ();
      if (!g_socket_listener_add_address (G_SOCKET_LISTENER (service), any_port,
                                          G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                          &bound, &error))
        fail ("listening (ceiling)", error);
      g_signal_connect (service, "incoming", G_CALLBACK (ceiling_incoming), ceiling);
      g_socket_service_start (service);
      url = g_strdup_printf ("http://127.0.0.1:%u/fhir",
                             g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
    }

  g_mutex_lock (&st->lock);
  st->base_url = url;
  st->ready = TRUE;
  g_cond_signal (&st->ready_cond);
  g_mutex_unlock (&st->lock);

  g_main_loop_run (st->loop);
  if (server != NULL)
    charta_server_stop (server);
  if (service != NULL)
    {
      g_socket_service_stop (service);
      g_socket_listener_close (G_SOCKET_LISTENER (service));
    }
  if (ceiling != NULL)
    soup_server_disconnect (ceiling);
  /* (what the connections' ends queued on the context: run, which frees it) */
  while (g_main_context_iteration (st->context, FALSE))
    ;
  g_clear_object (&server);
  g_clear_object (&service);
  g_clear_object (&ceiling);
  g_main_context_pop_thread_default (st->context);
  return NULL;
}

static void
server_start (ServerThread *st)
{
  g_mutex_init (&st->lock);
  g_cond_init (&st->ready_cond);
  st->context = g_main_context_new ();
  st->loop = g_main_loop_new (st->context, FALSE);
  st->thread = g_thread_new ("bench-server", server_thread, st);
  g_mutex_lock (&st->lock);
  while (!st->ready)
    g_cond_wait (&st->ready_cond, &st->lock);
  g_mutex_unlock (&st->lock);
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
server_stop (ServerThread *st)
{
  g_main_context_invoke (st->context, quit_loop, st->loop);
  g_thread_join (st->thread);
  g_main_loop_unref (st->loop);
  g_main_context_unref (st->context);
  g_free (st->base_url);
  g_mutex_clear (&st->lock);
  g_cond_clear (&st->ready_cond);
}

/* The content the ceiling serves from now on. */
static void
ceiling_set_content (ServerThread *st,
                     guint64       seed,
                     guint64       size)
{
  g_mutex_lock (&st->lock);
  st->seed = seed;
  st->size = size;
  g_mutex_unlock (&st->lock);
}

/* ---- the client: the same calls for both servers --------------------------------------------- */

/* @in read to its end (at most @limit bytes kept). */
static GBytes *
read_answer (GInputStream *in,
             gsize         limit)
{
  g_autoptr(GByteArray) all = g_byte_array_new ();
  guint8 buffer[16384];
  gssize n;

  while ((n = g_input_stream_read (in, buffer, sizeof buffer, NULL, NULL)) > 0)
    if (all->len < limit)
      g_byte_array_append (all, buffer, (guint) MIN ((gsize) n, limit - all->len));
  return g_byte_array_free_to_bytes (g_steal_pointer (&all));
}

G_NORETURN static void
fail_status (const char   *what,
             SoupMessage  *msg,
             GInputStream *in)
{
  g_autoptr(GBytes) body = in != NULL ? read_answer (in, 2000) : NULL;

  fprintf (stderr, "bench-binary: %s: HTTP %u: %.*s\n", what, soup_message_get_status (msg),
           body != NULL ? (int) g_bytes_get_size (body) : 0,
           body != NULL ? (const char *) g_bytes_get_data (body, NULL) : "");
  exit (1);
}

/* POSTs @size bytes of @seed to @base/Binary: the new Binary's id; *seconds from the send to
 * the 201's head. */
static char *
upload (SoupSession *session,
        const char  *base,
        guint64      seed,
        guint64      size,
        double      *seconds)
{
  g_autofree char *url = g_strconcat (base, "/Binary", NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (SOUP_METHOD_POST, url);
  g_autoptr(GInputStream) body = generated_stream_new (seed, size);
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;
  const char *id;
  double t0;

  soup_message_set_request_body (msg, "application/pdf", body, (gssize) size);
  soup_message_headers_append (soup_message_get_request_headers (msg), "Accept",
                               "application/fhir+json");
  t0 = now_seconds ();
  in = soup_session_send (session, msg, NULL, &error);
  *seconds = now_seconds () - t0;
  if (in == NULL)
    fail (url, error);
  if (soup_message_get_status (msg) != SOUP_STATUS_CREATED)
    fail_status (url, msg, in);
  answer = read_answer (in, 1 << 20);
  if (!json_parser_load_from_data (parser, g_bytes_get_data (answer, NULL),
                                   (gssize) g_bytes_get_size (answer), &error))
    fail ("reading the upload's answer", error);
  root = json_parser_get_root (parser);
  id = JSON_NODE_HOLDS_OBJECT (root)
       ? json_object_get_string_member_with_default (json_node_get_object (root), "id", NULL)
       : NULL;
  if (id == NULL)
    fail ("the upload's answer has no id", NULL);
  return g_strdup (id);
}

/* GETs @base/Binary/@id as a stream, 1 MiB a read: @size bytes, whose SHA-256 must be
 * @expected (NULL: not hashed, only counted).  The seconds from the send to the last byte. */
static double
download (SoupSession *session,
          const char  *base,
          const char  *id,
          guint64      size,
          const char  *expected)
{
  g_autofree char *url = g_strdup_printf ("%s/Binary/%s", base, id);
  g_autoptr(SoupMessage) msg = soup_message_new (SOUP_METHOD_GET, url);
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GChecksum) checksum = expected != NULL ? g_checksum_new (G_CHECKSUM_SHA256) : NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *buffer = g_malloc (MIB);
  guint64 received = 0;
  goffset length;
  double t0, seconds;
  gssize n;

  soup_message_headers_append (soup_message_get_request_headers (msg), "Accept", "*/*");
  t0 = now_seconds ();
  in = soup_session_send (session, msg, NULL, &error);
  if (in == NULL)
    fail (url, error);
  if (soup_message_get_status (msg) != SOUP_STATUS_OK)
    fail_status (url, msg, in);
  length = soup_message_headers_get_content_length (soup_message_get_response_headers (msg));
  if (length != (goffset) size)
    {
      fprintf (stderr, "bench-binary: %s: Content-Length %" G_GOFFSET_FORMAT ", not %"
               G_GUINT64_FORMAT "\n", url, length, size);
      exit (1);
    }
  while ((n = g_input_stream_read (in, buffer, MIB, NULL, &error)) > 0)
    {
      if (checksum != NULL)
        g_checksum_update (checksum, buffer, n);
      received += (guint64) n;
    }
  seconds = now_seconds () - t0;
  if (n < 0)
    fail (url, error);
  if (received != size)
    {
      fprintf (stderr, "bench-binary: %s: %" G_GUINT64_FORMAT " bytes came, not %"
               G_GUINT64_FORMAT "\n", url, received, size);
      exit (1);
    }
  if (checksum != NULL && strcmp (g_checksum_get_string (checksum), expected) != 0)
    {
      fprintf (stderr, "bench-binary: %s: the content that came back is not the one sent "
               "(SHA-256 %s, sent %s)\n", url, g_checksum_get_string (checksum), expected);
      exit (1);
    }
  return seconds;
}

/* GETs @length bytes from @first of @base/Binary/@id (of @size bytes) with a Range: 206, its
 * Content-Range, and the bytes of @window.  *latency: the seconds to the response's head;
 * *seconds: to its last byte. */
static void
range_read (SoupSession  *session,
            const char   *base,
            const char   *id,
            guint64       size,
            guint64       first,
            guint64       length,
            const guint8 *window,
            double       *latency,
            double       *seconds)
{
  g_autofree char *url = g_strdup_printf ("%s/Binary/%s", base, id);
  g_autofree char *range = g_strdup_printf ("bytes=%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT,
                                            first, first + length - 1);
  g_autofree char *content_range = g_strdup_printf ("bytes %" G_GUINT64_FORMAT "-%"
                                                    G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                                                    first, first + length - 1, size);
  g_autoptr(SoupMessage) msg = soup_message_new (SOUP_METHOD_GET, url);
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *buffer = g_malloc (length);
  const char *given;
  gsize n = 0;
  double t0;

  soup_message_headers_append (soup_message_get_request_headers (msg), "Accept", "*/*");
  soup_message_headers_append (soup_message_get_request_headers (msg), "Range", range);
  t0 = now_seconds ();
  in = soup_session_send (session, msg, NULL, &error);
  *latency = now_seconds () - t0;
  if (in == NULL)
    fail (url, error);
  if (soup_message_get_status (msg) != SOUP_STATUS_PARTIAL_CONTENT)
    fail_status (range, msg, in);
  given = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                        "Content-Range");
  if (g_strcmp0 (given, content_range) != 0)
    {
      fprintf (stderr, "bench-binary: %s: Content-Range %s, not %s\n", range,
               given != NULL ? given : "(none)", content_range);
      exit (1);
    }
  if (!g_input_stream_read_all (in, buffer, length, &n, NULL, &error))
    fail (range, error);
  *seconds = now_seconds () - t0;
  if (n != length || memcmp (buffer, window, length) != 0
      || g_input_stream_read (in, buffer, 1, NULL, NULL) != 0)
    {
      fprintf (stderr, "bench-binary: %s: not the bytes sent there\n", range);
      exit (1);
    }
}

/* ---- the disk -------------------------------------------------------------------------------- */

/* @size bytes of @seed written to a new file in @dir, 1 MiB a write, then fsync: the seconds. */
static double
disk_write (const char *dir,
            guint64     seed,
            guint64     size)
{
  g_autofree char *path = g_build_filename (dir, "disk-write", NULL);
  g_autofree guint8 *buffer = g_malloc (MIB);
  Generator g;
  double t0, seconds;
  int fd;

  generator_init (&g, seed);
  t0 = now_seconds ();
  fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    {
      fprintf (stderr, "bench-binary: %s: %s\n", path, g_strerror (errno));
      exit (1);
    }
  for (guint64 at = 0; at < size; at += MIB)
    {
      size_t n = (size_t) MIN ((guint64) MIB, size - at);

      generator_fill (&g, buffer, n);
      for (size_t done = 0; done < n;)
        {
          ssize_t w = write (fd, buffer + done, n - done);

          if (w < 0 && errno == EINTR)
            continue;
          if (w <= 0)
            {
              fprintf (stderr, "bench-binary: writing %s: %s\n", path, g_strerror (errno));
              exit (1);
            }
          done += (size_t) w;
        }
    }
  if (g_fsync (fd) != 0)
    {
      fprintf (stderr, "bench-binary: fsync of %s: %s\n", path, g_strerror (errno));
      exit (1);
    }
  close (fd);
  seconds = now_seconds () - t0;
  g_unlink (path);
  return seconds;
}

/* The folder's files (the store and its -wal, -shm), then the folder. */
static void
remove_folder (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

/* ---- figures --------------------------------------------------------------------------------- */

/* Values of one figure, one per run (or per read). */
typedef struct
{
  double *v;
  unsigned n;
} Figure;

static void
figure_add (Figure *f,
            double  value)
{
  f->v = g_renew (double, f->v, f->n + 1);
  f->v[f->n++] = value;
}

static double
figure_median (const Figure *f)
{
  g_autofree double *sorted = g_memdup2 (f->v, f->n * sizeof (double));

  qsort (sorted, f->n, sizeof (double), compare_double);
  return f->n % 2 == 1 ? sorted[f->n / 2] : (sorted[f->n / 2 - 1] + sorted[f->n / 2]) / 2;
}

static double
figure_min (const Figure *f)
{
  double m = f->v[0];

  for (unsigned i = 1; i < f->n; i++)
    m = MIN (m, f->v[i]);
  return m;
}

static double
figure_max (const Figure *f)
{
  double m = f->v[0];

  for (unsigned i = 1; i < f->n; i++)
    m = MAX (m, f->v[i]);
  return m;
}

static void
print_figure (const char   *label,
              const Figure *f,
              double        scale,
              const char   *unit)
{
  printf ("  %-40s %9.1f %9.1f %9.1f  %s\n", label, scale * figure_median (f),
          scale * figure_min (f), scale * figure_max (f), unit);
}

/* ---- main ------------------------------------------------------------------------------------ */

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autofree char *template = NULL;
  g_autofree char *store_path = NULL;
  g_autofree guint8 *window = g_malloc (MIB);
  const char *fs_note = "";
  ServerThread endpoint = { 0 }, ceiling = { 0 };
  Figure up = { 0 }, down = { 0 }, down_sha = { 0 }, range_latency = { 0 }, range_time = { 0 };
  Figure ceil_up = { 0 }, ceil_down = { 0 }, ceil_down_sha = { 0 }, disk = { 0 }, rss = { 0 };
  guint64 size, range_first;
  double generate_speed, sha256_speed;
  gboolean peak_resets;
  char *folder;
  GOptionEntry entries[] = {
    { "runs", 0, 0, G_OPTION_ARG_INT, &n_runs, "Runs (3)", "N" },
    { "size", 0, 0, G_OPTION_ARG_INT, &size_mb, "MiB uploaded and downloaded each run (256)",
      "MB" },
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &work_dir,
      "Where to make the store, on a real disk (the temporary folder)", "DIR" },
    { NULL },
  };

  /* as the `charta` command runs: GSlice handed to malloc (see charta-malloc.h) */
  charta_reexec_with_malloc (argv);

  options = g_option_context_new (NULL);
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    fail ("options", error);
  if ((int) n_runs <= 0 || (int) size_mb <= 0)
    {
      fprintf (stderr, "bench-binary: --runs and --size must be 1 or more\n");
      return 1;
    }
  if (work_dir == NULL)
    work_dir = g_strdup (g_get_tmp_dir ());
  size = (guint64) size_mb * MIB;
  /* across the middle, and so across a boundary of the store's 1 MiB chunks when the size
   * is an even number of MiB */
  range_first = size > MIB ? size / 2 - MIB / 2 : 0;

  template = g_build_filename (work_dir, "bench-binary-XXXXXX", NULL);
  folder = g_mkdtemp (template);
  if (folder == NULL)
    {
      fprintf (stderr, "bench-binary: making a folder in %s: %s\n", work_dir, g_strerror (errno));
      return 1;
    }
#ifdef __linux__
  {
    struct statfs fs;

    if (statfs (folder, &fs) == 0 && fs.f_type == TMPFS_MAGIC_FS)
      fs_note = " (a tmpfs, NOT a disk: fsync costs nothing there; use --dir)";
  }
#endif
  printf ("bench-binary: %u MiB × %u runs; store in %s%s; G_SLICE=%s\n", size_mb, n_runs,
          folder, fs_note, g_getenv ("G_SLICE") != NULL ? g_getenv ("G_SLICE") : "(unset)");
  printf ("  (MB/s are 10^6 bytes a second; each run uploads content of a seed of its own, so "
          "the store's dedup never short-cuts a write)\n");
#ifdef __SANITIZE_ADDRESS__
  printf ("  (sanitizer build: the figures and the peak RSS are the instrumented code's)\n");
#endif
  fflush (stdout);

  client_speeds (MIN (size, (guint64) 64 * MIB), &generate_speed, &sha256_speed);

  store_path = g_build_filename (folder, "bench-binary.charta", NULL);
  store = charta_store_open (store_path, CHARTA_STORE_FLAGS_CREATE, &error);
  if (store == NULL)
    fail (store_path, error);
  endpoint.store = store;
  server_start (&endpoint);
  server_start (&ceiling);
  session = g_object_new (SOUP_TYPE_SESSION, "timeout", 600, NULL);
  peak_resets = reset_peak_rss ();

  for (unsigned run = 0; run < n_runs; run++)
    {
      guint64 seed = run_seed (run);
      g_autofree char *id = NULL;
      g_autofree char *ceiling_id = NULL;
      char sha256[65];
      double seconds, latency, rss_before;
      long peak;

      expect_content (seed, size, range_first, MIN (size, (guint64) MIB), sha256, window);

      /* the endpoint */
      if (peak_resets)
        reset_peak_rss ();
      rss_before = status_kb ("VmRSS:");
      id = upload (session, endpoint.base_url, seed, size, &seconds);
      figure_add (&up, size / 1e6 / seconds);
      figure_add (&down_sha, size / 1e6 / download (session, endpoint.base_url, id, size,
                                                    sha256));
      figure_add (&down, size / 1e6 / download (session, endpoint.base_url, id, size, NULL));
      for (unsigned i = 0; i < RANGE_READS; i++)
        {
          range_read (session, endpoint.base_url, id, size, range_first,
                      MIN (size, (guint64) MIB), window, &latency, &seconds);
          figure_add (&range_latency, latency);
          figure_add (&range_time, seconds);
        }
      peak = status_kb ("VmHWM:");
      figure_add (&rss, (peak - rss_before) / 1024.0);

      /* the ceiling: the same content, the same calls */
      ceiling_set_content (&ceiling, seed, size);
      ceiling_id = upload (session, ceiling.base_url, seed, size, &seconds);
      figure_add (&ceil_up, size / 1e6 / seconds);
      figure_add (&ceil_down_sha, size / 1e6 / download (session, ceiling.base_url, ceiling_id,
                                                         size, sha256));
      figure_add (&ceil_down, size / 1e6 / download (session, ceiling.base_url, ceiling_id,
                                                     size, NULL));

      /* the disk */
      figure_add (&disk, size / 1e6 / disk_write (folder, seed, size));

      printf ("  run %u: Binary/%s: upload %.1f MB/s, download %.1f (with SHA-256 %.1f), "
              "range %.1f ms; ceiling: upload %.1f, download %.1f (with SHA-256 %.1f); "
              "disk %.1f MB/s; peak RSS +%.1f MiB\n", run + 1, id, up.v[run], down.v[run],
              down_sha.v[run], 1000 * range_time.v[range_time.n - 1], ceil_up.v[run],
              ceil_down.v[run], ceil_down_sha.v[run], disk.v[run], rss.v[run]);
      fflush (stdout);
    }

  printf ("\n  %-40s %9s %9s %9s\n", "", "median", "min", "max");
  print_figure ("upload, charta", &up, 1, "MB/s");
  print_figure ("upload, bare libsoup", &ceil_up, 1, "MB/s");
  print_figure ("download, charta", &down, 1, "MB/s");
  print_figure ("download, bare libsoup", &ceil_down, 1, "MB/s");
  print_figure ("download + SHA-256 check, charta", &down_sha, 1, "MB/s");
  print_figure ("download + SHA-256 check, bare libsoup", &ceil_down_sha, 1, "MB/s");
  print_figure ("disk: write + fsync", &disk, 1, "MB/s");
  {
    g_autofree char *label = g_strdup_printf ("range 1 MiB at %" G_GUINT64_FORMAT ": head",
                                              range_first);

    print_figure (label, &range_latency, 1000, "ms");
    print_figure ("range 1 MiB: whole read", &range_time, 1000, "ms");
  }
  print_figure (peak_resets ? "peak RSS growth (VmHWM), per run"
                            : "peak RSS growth (VmHWM, no reset)", &rss, 1, "MiB");
  printf ("  (run 1 is the cold server, as a new `charta serve` is: %.1f MiB)\n", rss.v[0]);
  printf ("  client alone: generating %.0f MB/s, SHA-256 %.0f MB/s (GLib's GChecksum)\n",
          generate_speed, sha256_speed);
  printf ("\n  target: issue 7 sets no number for MB/s: upload %.0f%% / download %.0f%% of the "
          "bare libsoup ceiling (disk write + fsync %.0f MB/s)\n",
          100 * figure_median (&up) / figure_median (&ceil_up),
          100 * figure_median (&down) / figure_median (&ceil_down), figure_median (&disk));

  g_clear_object (&session);
  server_stop (&ceiling);
  server_stop (&endpoint);
  charta_store_close (store);
  g_clear_object (&store);
  remove_folder (folder);
  {
    Figure *all[] = { &up, &down, &down_sha, &range_latency, &range_time, &ceil_up, &ceil_down,
                      &ceil_down_sha, &disk, &rss };

    for (unsigned i = 0; i < G_N_ELEMENTS (all); i++)
      g_free (all[i]->v);
  }
  g_free (work_dir);
  return 0;
}
