/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-cmd-serve.c: `charta serve [OPTION…] STORE`, the FHIR R4 REST endpoint.
 *
 * Serves STORE over HTTP on 127.0.0.1:8080 under /fhir unless told otherwise (loopback by
 * default: listening on another interface is a choice made with --listen), prints the base URL
 * on standard output once it listens ("http://127.0.0.1:8080/fhir", one line, so a script can
 * read it; port 0 picks a free port), and runs until SIGINT or SIGTERM, when it stops
 * listening, lets the store finish its queued writes, closes it and exits 0.
 *
 * --token-file FILE makes every request but GET [base]/metadata and CORS preflights carry
 * "Authorization: Bearer <token>" (charta_server_set_bearer_token()), the token being FILE's
 * text without surrounding whitespace.  A file, not an argument, so that the token is in no
 * process list; and not an environment variable either, which every child process inherits and
 * many tools print or log (a variable can still be given as a file without touching the disk:
 * --token-file <(printf %s "$TOKEN")).  The file must be its owner's alone (no read or write
 * for group or others, as ssh asks of its keys) and hold one token: an empty file, a token of
 * fewer than 16 characters or one with characters an HTTP header cannot carry as they are
 * (charta_server_is_valid_bearer_token()) is refused, naming the file.  The token is never
 * printed.
 *
 * --max-binary-size limits the content of a Binary sent as it is (POST/PUT [base]/Binary with a
 * body that is no resource), which is streamed to the store and never held whole: scans run to
 * gigabytes, where a resource's JSON (--max-body-size) is held whole and stays small.
 *
 * Exit status: 0 after a clean stop; 1 when the store cannot be opened, the address cannot be
 * listened on or the token file cannot be used; 2 for a usage error.
 */
#define G_LOG_DOMAIN "charta-cmd-serve"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "charta-cmd-util.h"
#include "charta-cmds.h"
#include "charta-server.h"

#define MIN_TOKEN_LENGTH 16     /* a guessable token protects nothing */
#define MAX_TOKEN_FILE   8192   /* bytes read at most: a token is at most 4096 characters */

static gboolean
on_signal (gpointer user_data)
{
  GMainLoop *loop = user_data;

  g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;
}

/* "64M", "512k", "1G" or a number of bytes. */
static gboolean
parse_size (const char  *name,
            const char  *text,
            guint64     *bytes,
            GError     **error)
{
  char *end = NULL;
  guint64 n = g_ascii_strtoull (text, &end, 10);
  guint64 unit = 1;

  if (end != text && (g_ascii_tolower (*end) == 'k' || g_ascii_tolower (*end) == 'm'
                      || g_ascii_tolower (*end) == 'g'))
    {
      unit = g_ascii_tolower (*end) == 'k' ? 1024 : g_ascii_tolower (*end) == 'm'
                                                     ? 1024 * 1024 : 1024 * 1024 * 1024;
      end++;
    }
  if (end == text || *end != '\0' || n == 0 || n > G_MAXUINT64 / unit)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s: “%s” is not a size (bytes, or with k, M or G: 64M)", name, text);
      return FALSE;
    }
  *bytes = n * unit;
  return TRUE;
}

/* The token in the file @path: its text without surrounding whitespace.  Opened once and
 * checked through the open descriptor, so that what is checked is what is read. */
static char *
read_token_file (const char  *path,
                 GError     **error)
{
  g_autofree char *text = g_malloc (MAX_TOKEN_FILE + 1);
  struct stat st;
  size_t length = 0;
  char *token;
  int fd;

  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s", path,
                   g_strerror (saved));
      return NULL;
    }
  if (fstat (fd, &st) != 0 || S_ISDIR (st.st_mode))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a file with a token", path);
      close (fd);
      return NULL;
    }
  if ((st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) != 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_PERM,
                   "%s: other users can read or change it (mode %04o): a token file must be its "
                   "owner's alone (chmod 600 %s)", path, (unsigned) (st.st_mode & 07777), path);
      close (fd);
      return NULL;
    }
  /* (a pipe, as from --token-file <(…), is read to its end like a file) */
  while (length <= MAX_TOKEN_FILE)
    {
      ssize_t n = read (fd, text + length, MAX_TOKEN_FILE + 1 - length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s", path,
                       g_strerror (saved));
          close (fd);
          return NULL;
        }
      if (n == 0)
        break;
      length += (size_t) n;
    }
  close (fd);
  if (length > MAX_TOKEN_FILE)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "%s: more than %d bytes: a token file holds one token", path, MAX_TOKEN_FILE);
      return NULL;
    }
  text[length] = '\0';
  if (strlen (text) != length)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "%s: holds a NUL byte: a token file holds one token, as text", path);
      return NULL;
    }
  token = g_strstrip (text);
  if (*token == '\0')
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: empty: it must hold the token",
                   path);
      return NULL;
    }
  if (!charta_server_is_valid_bearer_token (token))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "%s: not one token: use letters, digits and - . _ ~ + / (then any '='), "
                   "on one line (make one with: umask 077; openssl rand -hex 32 > %s)", path,
                   path);
      return NULL;
    }
  if (strlen (token) < MIN_TOKEN_LENGTH)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "%s: the token has %zu characters, fewer than the %d a token needs (make "
                   "one with: umask 077; openssl rand -hex 32 > %s)", path, strlen (token),
                   MIN_TOKEN_LENGTH, path);
      return NULL;
    }
  return g_strdup (token);
}

int
charta_cmd_serve (int    argc,
                  char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(ChartaServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_auto(GStrv) args = NULL;
  g_auto(GStrv) listen = NULL;
  g_auto(GStrv) cors = NULL;
  g_autofree char *base = NULL;
  g_autofree char *max_body = NULL;
  g_autofree char *max_binary = NULL;
  g_autofree char *base_url = NULL;
  g_autofree char *token_file = NULL;
  g_autofree char *token = NULL;
  gboolean read_only = FALSE;
  int max_url = -1, max_header = -1, max_connections = -1;
  double timeout = -1, idle_timeout = -1;
  guint sigint, sigterm;
  const GOptionEntry entries[] = {
    { "listen", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &listen,
      "Listen on ADDRESS (HOST:PORT; default 127.0.0.1:8080; may be repeated)", "ADDRESS" },
    { "base", 'b', 0, G_OPTION_ARG_STRING, &base, "The FHIR base path (default /fhir)",
      "PATH" },
    { "read-only", 'r', 0, G_OPTION_ARG_NONE, &read_only, "Serve reads only", NULL },
    { "max-body-size", 0, 0, G_OPTION_ARG_STRING, &max_body,
      "Largest request body (default 64M)", "SIZE" },
    { "max-binary-size", 0, 0, G_OPTION_ARG_STRING, &max_binary,
      "Largest Binary content sent as it is (POST/PUT Binary; default 4G)", "SIZE" },
    { "max-url-length", 0, 0, G_OPTION_ARG_INT, &max_url,
      "Longest URL in bytes (default 8192; 0: no limit)", "N" },
    { "max-header-size", 0, 0, G_OPTION_ARG_INT, &max_header,
      "Largest request headers in bytes (default 65536; 0: no limit)", "N" },
    { "max-connections", 0, 0, G_OPTION_ARG_INT, &max_connections,
      "Most connections at once (default 256; 0: no limit)", "N" },
    { "timeout", 't', 0, G_OPTION_ARG_DOUBLE, &timeout,
      "Longest a search may run, in seconds (default 5; 0: no limit)", "SECONDS" },
    { "idle-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &idle_timeout,
      "Close a connection idle this long, in seconds (default 60; 0: never)", "SECONDS" },
    { "cors-origin", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cors,
      "Let web pages from ORIGIN call the endpoint (\"*\": any; may be repeated)", "ORIGIN" },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file,
      "Require the bearer token in FILE (mode 600) on every request but GET [base]/metadata",
      "FILE" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &args, NULL, "STORE" },
    { NULL },
  };

  g_set_prgname ("charta serve");
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                "Serves a store as a FHIR R4 REST endpoint until interrupted, "
                                "and prints its base URL.\nExamples:\n"
                                "  charta serve clinic.charta\n"
                                "  charta serve --listen 127.0.0.1:0 --base /fhir clinic.charta\n"
                                "  charta serve --token-file ~/.config/charta/token "
                                "clinic.charta");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "charta serve: %s\nTry 'charta serve --help'.\n", error->message);
      return CHARTA_EXIT_USAGE;
    }
  if (args == NULL || g_strv_length (args) != 1)
    {
      fprintf (stderr, "charta serve: expected one STORE\n"
                       "Usage: charta serve [OPTION…] STORE\n");
      return CHARTA_EXIT_USAGE;
    }
  if (max_url < -1 || max_header < -1 || max_connections < -1 || (timeout < 0 && timeout != -1)
      || (idle_timeout < 0 && idle_timeout != -1))
    {
      fprintf (stderr, "charta serve: limits must be 0 or more\n");
      return CHARTA_EXIT_USAGE;
    }

  if (token_file != NULL)
    {
      token = read_token_file (token_file, &error);
      if (token == NULL)
        {
          fprintf (stderr, "charta serve: %s\n", error->message);
          return CHARTA_EXIT_INVALID;
        }
    }

  store = charta_cmd_open_store (args[0], read_only ? CHARTA_STORE_FLAGS_READ_ONLY
                                                    : CHARTA_STORE_FLAGS_NONE, &error);
  if (store == NULL)
    {
      charta_cmd_print_error (args[0], error);
      return CHARTA_EXIT_INVALID;
    }
  server = charta_server_new (store, base != NULL ? base : CHARTA_SERVER_DEFAULT_BASE_PATH);
  charta_server_set_read_only (server, read_only);
  if (max_body != NULL)
    {
      guint64 bytes = 0;

      if (!parse_size ("--max-body-size", max_body, &bytes, &error))
        {
          fprintf (stderr, "charta serve: %s\n", error->message);
          return CHARTA_EXIT_USAGE;
        }
      charta_server_set_max_body_size (server, (size_t) MIN (bytes, G_MAXSIZE));
    }
  if (max_binary != NULL)
    {
      guint64 bytes = 0;

      if (!parse_size ("--max-binary-size", max_binary, &bytes, &error))
        {
          fprintf (stderr, "charta serve: %s\n", error->message);
          return CHARTA_EXIT_USAGE;
        }
      /* (a property: the setter is the endpoint's own) */
      g_object_set (server, "max-binary-size", bytes, NULL);
    }
  if (max_url >= 0)
    charta_server_set_max_url_length (server, (unsigned) max_url);
  if (max_header >= 0)
    charta_server_set_max_header_size (server, (unsigned) max_header);
  if (max_connections >= 0)
    charta_server_set_max_connections (server, (unsigned) max_connections);
  if (timeout >= 0)
    charta_server_set_request_timeout (server, timeout);
  if (idle_timeout >= 0)
    charta_server_set_idle_timeout (server, idle_timeout);
  for (char **origin = cors; origin != NULL && *origin != NULL; origin++)
    charta_server_add_cors_origin (server, *origin);
  if (token != NULL)
    {
      charta_server_set_bearer_token (server, token);
      memset (token, 0, strlen (token));  /* the server keeps a digest only */
    }

  if (listen == NULL)
    {
      if (!charta_server_listen (server, "127.0.0.1:8080", &error))
        {
          fprintf (stderr, "charta serve: %s\n", error->message);
          return CHARTA_EXIT_INVALID;
        }
    }
  for (char **address = listen; address != NULL && *address != NULL; address++)
    if (!charta_server_listen (server, *address, &error))
      {
        fprintf (stderr, "charta serve: %s\n", error->message);
        return CHARTA_EXIT_INVALID;
      }

  loop = g_main_loop_new (NULL, FALSE);
  sigint = g_unix_signal_add (SIGINT, on_signal, loop);
  sigterm = g_unix_signal_add (SIGTERM, on_signal, loop);
  base_url = charta_server_dup_base_url (server);
  printf ("%s\n", base_url);
  fflush (stdout);
  fprintf (stderr, "charta serve: serving %s at %s%s%s (Ctrl-C stops)\n", args[0], base_url,
           read_only ? ", read-only" : "",
           token != NULL ? ", to clients with the token of --token-file" : "");

  g_main_loop_run (loop);

  fprintf (stderr, "charta serve: stopping\n");
  g_source_remove (sigint);
  g_source_remove (sigterm);
  charta_server_stop (server);
  g_clear_object (&server);
  charta_store_close (store);
  return CHARTA_EXIT_OK;
}
