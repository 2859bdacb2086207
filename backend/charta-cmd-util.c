/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-cmd-util.c: pieces shared by the store verbs of `charta` (see charta-cmd-util.h).
 *
 * Nothing here knows how a store is kept: it goes through the ChartaStore API only.
 */
#define G_LOG_DOMAIN "charta-cmd-util"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "charta-cmd-util.h"

ChartaStore *
charta_cmd_open_store (const char        *path,
                       ChartaStoreFlags   flags,
                       GError           **error)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;

      if (saved != ENOENT || !(flags & CHARTA_STORE_FLAGS_CREATE))
        {
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s", path,
                       saved == ENOENT ? "no such file" : g_strerror (saved));
          return NULL;
        }
    }
  else if (S_ISDIR (st.st_mode))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR, "%s: is a directory, not a store",
                   path);
      return NULL;
    }
  return charta_store_open (path, flags, error);
}

void
charta_cmd_print_error (const char   *where,
                        const GError *error)
{
  g_auto(GStrv) lines = g_strsplit (error->message, "\n", -1);
  size_t where_len = strlen (where);

  for (unsigned i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      if (*line == '\0')
        continue;
      if (strncmp (line, where, where_len) == 0 && line[where_len] == ':')
        fprintf (stderr, "%s\n", line);
      else
        fprintf (stderr, "%s: %s\n", where, line);
    }
}

static gboolean
is_fhir_id (const char *s,
            size_t      len)
{
  if (len == 0 || len > 64)
    return FALSE;
  for (size_t i = 0; i < len; i++)
    if (!g_ascii_isalnum (s[i]) && s[i] != '-' && s[i] != '.')
      return FALSE;
  return TRUE;
}

gboolean
charta_cmd_parse_reference (const char  *text,
                            gboolean     allow_type_only,
                            char       **type,
                            char       **id,
                            int64_t     *version,
                            GError     **error)
{
  g_auto(GStrv) parts = g_strsplit (text, "/", -1);
  unsigned n = g_strv_length (parts);
  int64_t v = 0;

  *type = NULL;
  *id = NULL;
  *version = 0;

  if (!(n == 2 || n == 4 || (n == 1 && allow_type_only)))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "'%s' is not %s", text,
                   allow_type_only ? "Type, Type/id or Type/id/_history/N"
                                   : "Type/id or Type/id/_history/N");
      return FALSE;
    }
  if (!charta_model_is_resource_type (parts[0]))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "'%s' is not a FHIR R4 resource type", parts[0]);
      return FALSE;
    }
  if (n >= 2 && !is_fhir_id (parts[1], strlen (parts[1])))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "'%s' is not a FHIR id (1 to 64 letters, digits, '-' and '.')", parts[1]);
      return FALSE;
    }
  if (n == 4)
    {
      char *end = NULL;

      errno = 0;
      if (strcmp (parts[2], "_history") != 0 || !g_ascii_isdigit (parts[3][0]))
        goto bad_version;
      v = g_ascii_strtoll (parts[3], &end, 10);
      if (errno != 0 || *end != '\0' || v <= 0)
        goto bad_version;
    }

  *type = g_strdup (parts[0]);
  *id = n >= 2 ? g_strdup (parts[1]) : NULL;
  *version = v;
  return TRUE;

bad_version:
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "'%s': expected Type/id/_history/N with N a version number (1, 2, 3…)", text);
  return FALSE;
}

gboolean
charta_cmd_parse_instant (const char  *text,
                          int64_t     *us,
                          GError     **error)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr(GDateTime) dt = NULL;
  int y = 0, m = 1, d = 1;
  size_t len = strlen (text);

  if (strchr (text, 'T') != NULL)
    dt = g_date_time_new_from_iso8601 (text, utc);
  else if ((len == 4 && sscanf (text, "%4d", &y) == 1)
           || (len == 7 && sscanf (text, "%4d-%2d", &y, &m) == 2)
           || (len == 10 && sscanf (text, "%4d-%2d-%2d", &y, &m, &d) == 3))
    dt = g_date_time_new (utc, y, m, d, 0, 0, 0);

  if (dt == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "'%s' is not a date or an instant (e.g. 2024-05-01 or "
                   "2024-05-01T10:00:00Z)", text);
      return FALSE;
    }
  *us = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}

char *
charta_cmd_format_instant (int64_t us)
{
  int64_t sec = us / G_USEC_PER_SEC;
  int64_t rem = us % G_USEC_PER_SEC;
  g_autoptr(GDateTime) dt = NULL;
  g_autofree char *base = NULL;

  if (rem < 0)
    {
      rem += G_USEC_PER_SEC;
      sec--;
    }
  dt = g_date_time_new_from_unix_utc (sec);
  if (dt == NULL)
    return g_strdup ("?");
  base = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf ("%s.%06dZ", base, (int) rem);
}

gboolean
charta_cmd_stdout_is_tty (void)
{
  return isatty (STDOUT_FILENO);
}
