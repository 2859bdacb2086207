/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-cmd-scan.c: `charta scan [OPTION…] STORE FILE…`.
 *
 * Brings scanned paper into a store: each FILE (a PDF, PNG, JPEG or TIFF, multi-page TIFF
 * included) becomes one Binary holding its bytes and one DocumentReference pointing at it
 * (content[0].attachment: contentType, url "Binary/ID", title the file's name, creation; the
 * store fills in size and hash).  Without --patient the document lands in the indexing queue:
 * status current, docStatus preliminary, no subject.  With --patient (and optionally
 * --encounter, --type, a LOINC document code, and --date, the document's own date) it is
 * filed: docStatus final, subject, context.encounter, type, context.period.start and
 * attachment.creation.  Without --date, attachment.creation is the file's modification time.
 *
 * What a file is comes from its first bytes, never from its name: "%PDF-" (within the first
 * KiB, as readers allow), the PNG signature, FF D8 FF, "II*\0" or "MM\0*".  A file whose name
 * says otherwise is stored as what it is, with a note ("x.pdf: note: is a PNG image, not a PDF;
 * stored as image/png").  Anything else (an empty file, a Word document, text…) is refused with
 * a message naming the file and what it looks like; nothing is written for it and the files
 * after it are still scanned.
 *
 * A file is streamed into the store in pieces of 1 MiB (charta_store_content_begin()), never
 * held whole.  Each write names --agent (default "charta scan") and --reason in its Provenance
 * (one ChartaChange per file: the Binary's and the DocumentReference's Provenance both carry
 * it, activity CREATE).  The patient and the encounter are read before anything is written:
 * when either does not exist, or the encounter is another patient's, nothing is stored.  Should
 * the DocumentReference be refused after its Binary was written, the Binary is deleted again.
 *
 * Output: one line per file on standard output, "FILE: Binary/ID, DocumentReference/ID, TYPE[,
 * N pages], queued for indexing|filed to Patient/ID"; pages are counted where that is cheap
 * and certain (a TIFF's directories through libtiff; one for PNG and JPEG), not for PDF (only
 * parsing the whole document would be honest).  Then "scanned N files (N filed, N queued) in
 * S s; N errors".  Problems and notes go to standard error.
 *
 * Exit status: 0 when every file was stored, 1 when any was refused or failed (or the store,
 * patient or encounter cannot be found), 2 for a usage error.
 */
#define G_LOG_DOMAIN "charta-cmd-scan"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <tiffio.h>

#include "charta-cmd-util.h"
#include "charta-cmds.h"
#include "charta-progress.h"

#define CHUNK_SIZE (1024 * 1024)   /* bytes read and handed to the store at a time */
#define LOINC      "http://loinc.org"

/* Common LOINC document types (codes and displays from R4's c80-doc-typecodes value set). */
static const struct
{
  const char *code;
  const char *display;
} document_types[] = {
  { "59284-0", "Patient Consent" },
  { "64292-6", "Release of information consent" },
  { "57016-8", "Privacy policy acknowledgment Document" },
  { "18842-5", "Discharge summary" },
  { "34133-9", "Summary of episode note" },
  { "11488-4", "Consult note" },
  { "34117-2", "History and physical note" },
  { "64285-0", "Medical history screening form" },
  { "11506-3", "Provider-unspecified Progress note" },
  { "34108-1", "Outpatient Note" },
  { "57133-1", "Referral note" },
  { "11503-0", "Medical records" },
  { "51851-4", "Administrative note" },
  { "64290-0", "Health insurance card" },
  { "68609-7", "Hospital Letter" },
  { "55107-7", "Addendum Document" },
};

typedef struct
{
  ChartaStore *store;
  ChartaProgress *progress;
  const char *agent;
  const char *reason;
  const char *patient_id;      /* NULL: into the queue */
  const char *encounter_id;
  const char *type_code;
  const char *type_display;    /* NULL for a code not in document_types */
  const char *date;            /* the document's date as given, or NULL */
  guint8 *buffer;              /* CHUNK_SIZE bytes */
  unsigned n_filed;
  unsigned n_queued;
  unsigned n_errors;
} Scan;

static void G_GNUC_PRINTF (3, 4)
report (Scan       *scan,
        const char *where,
        const char *format,
        ...)
{
  g_autofree char *message = NULL;
  g_autofree char *line = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  line = g_strconcat (where, ": ", message, NULL);
  charta_progress_print (scan->progress, line);
}

/* A line of the result on standard output; through the progress bar's printer when both go to
 * the terminal, so that the bar never cuts into it. */
static void
say (Scan       *scan,
     const char *line)
{
  if (charta_progress_is_enabled (scan->progress) && isatty (STDOUT_FILENO))
    charta_progress_print (scan->progress, line);
  else
    {
      printf ("%s\n", line);
      fflush (stdout);
    }
}

/* ---- what a file is ------------------------------------------------------------------------ */

typedef struct
{
  const char *content_type;   /* NULL: not a scan Charta takes */
  const char *what;           /* "a PDF document", "a ZIP archive"… */
  const char *name;           /* "PDF", "PNG"…: what its extension would claim */
} Kind;

static const Kind kind_pdf = { "application/pdf", "a PDF document", "PDF" };
static const Kind kind_png = { "image/png", "a PNG image", "PNG" };
static const Kind kind_jpeg = { "image/jpeg", "a JPEG image", "JPEG" };
static const Kind kind_tiff = { "image/tiff", "a TIFF image", "TIFF" };

static gboolean
starts_with (const guint8 *head,
             size_t        n,
             const char   *magic,
             size_t        len)
{
  return n >= len && memcmp (head, magic, len) == 0;
}

/* What the first @n bytes of a file say it is.  For what Charta does not take, @other is
 * filled with a description ("a GIF image", "text", "unknown bytes (starts 00 01 02 03)"). */
static const Kind *
sniff (const guint8 *head,
       size_t        n,
       Kind         *other,
       char         *other_what,
       size_t        other_size)
{
  gboolean text = TRUE;

  /* a PDF may have bytes before its header; readers look in the first KiB */
  for (size_t i = 0; i + 5 <= n && i < 1024; i++)
    if (memcmp (head + i, "%PDF-", 5) == 0)
      return &kind_pdf;
  if (starts_with (head, n, "\x89PNG\r\n\x1a\n", 8))
    return &kind_png;
  if (starts_with (head, n, "\xff\xd8\xff", 3))
    return &kind_jpeg;
  /* classic and BigTIFF, little- and big-endian */
  if (starts_with (head, n, "II*\0", 4) || starts_with (head, n, "MM\0*", 4)
      || starts_with (head, n, "II+\0", 4) || starts_with (head, n, "MM\0+", 4))
    return &kind_tiff;

  other->content_type = NULL;
  other->name = NULL;
  other->what = other_what;
  if (starts_with (head, n, "GIF87a", 6) || starts_with (head, n, "GIF89a", 6))
    g_strlcpy (other_what, "a GIF image", other_size);
  else if (starts_with (head, n, "BM", 2) && n >= 14)
    g_strlcpy (other_what, "a BMP image", other_size);
  else if (starts_with (head, n, "RIFF", 4) && n >= 12 && memcmp (head + 8, "WEBP", 4) == 0)
    g_strlcpy (other_what, "a WebP image", other_size);
  else if (n >= 12 && memcmp (head + 4, "ftyp", 4) == 0)
    g_strlcpy (other_what, "an ISO media file (HEIC/HEIF image or MP4 video)", other_size);
  else if (starts_with (head, n, "PK\3\4", 4))
    g_strlcpy (other_what, "a ZIP archive (a Word or OpenDocument file?)", other_size);
  else if (starts_with (head, n, "\xd0\xcf\x11\xe0", 4))
    g_strlcpy (other_what, "an old Microsoft Office document", other_size);
  else if (starts_with (head, n, "\x1f\x8b", 2))
    g_strlcpy (other_what, "gzip-compressed data", other_size);
  else
    {
      size_t check = MIN (n, 512);

      for (size_t i = 0; i < check && text; i++)
        text = head[i] >= 0x20 || head[i] == '\n' || head[i] == '\r' || head[i] == '\t';
      if (text && g_utf8_validate ((const char *) head, (gssize) check - (check == 512 ? 4 : 0),
                                   NULL))
        g_strlcpy (other_what, "text", other_size);
      else
        {
          GString *s = g_string_new ("unknown bytes (starting");

          for (size_t i = 0; i < MIN (n, 8); i++)
            g_string_append_printf (s, " %02x", head[i]);
          g_string_append_c (s, ')');
          g_strlcpy (other_what, s->str, other_size);
          g_string_free (s, TRUE);
        }
    }
  return other;
}

/* The kind a file's name claims, or NULL when its extension claims none of the four. */
static const Kind *
kind_of_name (const char *path)
{
  const char *dot = strrchr (path, '.');
  g_autofree char *ext = NULL;

  if (dot == NULL || strchr (dot, G_DIR_SEPARATOR) != NULL)
    return NULL;
  ext = g_ascii_strdown (dot + 1, -1);
  if (strcmp (ext, "pdf") == 0)
    return &kind_pdf;
  if (strcmp (ext, "png") == 0)
    return &kind_png;
  if (strcmp (ext, "jpg") == 0 || strcmp (ext, "jpeg") == 0 || strcmp (ext, "jpe") == 0
      || strcmp (ext, "jfif") == 0)
    return &kind_jpeg;
  if (strcmp (ext, "tif") == 0 || strcmp (ext, "tiff") == 0)
    return &kind_tiff;
  return NULL;
}

/* ---- TIFF pages ------------------------------------------------------------------------------ */

static int
tiff_quiet (TIFF       *tif,
            void       *user_data,
            const char *module,
            const char *format,
            va_list     ap)
{
  char **message = user_data;

  if (message != NULL && *message == NULL)
    *message = g_strdup_vprintf (format, ap);
  return 1;
}

/* The number of images (pages) of the TIFF at @path, reading only its directories; 0 when
 * libtiff cannot read them (*problem then says why). */
static unsigned
count_tiff_pages (const char *path,
                  char      **problem)
{
  TIFFOpenOptions *options = TIFFOpenOptionsAlloc ();
  unsigned pages = 0;
  TIFF *tif;

  TIFFOpenOptionsSetErrorHandlerExtR (options, tiff_quiet, problem);
  TIFFOpenOptionsSetWarningHandlerExtR (options, tiff_quiet, NULL);
  /* "h": the header only; directories are read as they are counted */
  tif = TIFFOpenExt (path, "rh", options);
  TIFFOpenOptionsFree (options);
  if (tif == NULL)
    {
      if (*problem == NULL)
        *problem = g_strdup ("cannot be opened");
      return 0;
    }
  pages = TIFFNumberOfDirectories (tif);
  TIFFClose (tif);
  return pages;
}

/* ---- the DocumentReference ---------------------------------------------------------------- */

static ChartaResource *
document_reference_new (Scan        *scan,
                        const char  *binary_id,
                        const char  *content_type,
                        const char  *title,
                        const char  *creation,
                        GError     **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *now_text = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *url = g_strconcat ("Binary/", binary_id, NULL);
  g_autofree char *json = NULL;
  gboolean filed = scan->patient_id != NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "resourceType");
  json_builder_add_string_value (b, "DocumentReference");
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, "current");
  json_builder_set_member_name (b, "docStatus");
  json_builder_add_string_value (b, filed ? "final" : "preliminary");
  if (scan->type_code != NULL)
    {
      json_builder_set_member_name (b, "type");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "coding");
      json_builder_begin_array (b);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "system");
      json_builder_add_string_value (b, LOINC);
      json_builder_set_member_name (b, "code");
      json_builder_add_string_value (b, scan->type_code);
      if (scan->type_display != NULL)
        {
          json_builder_set_member_name (b, "display");
          json_builder_add_string_value (b, scan->type_display);
        }
      json_builder_end_object (b);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  if (filed)
    {
      g_autofree char *reference = g_strconcat ("Patient/", scan->patient_id, NULL);

      json_builder_set_member_name (b, "subject");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "reference");
      json_builder_add_string_value (b, reference);
      json_builder_end_object (b);
    }
  /* when this reference was made: the scan's arrival in the store */
  json_builder_set_member_name (b, "date");
  json_builder_add_string_value (b, now_text);

  json_builder_set_member_name (b, "content");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "attachment");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "contentType");
  json_builder_add_string_value (b, content_type);
  json_builder_set_member_name (b, "url");
  json_builder_add_string_value (b, url);
  json_builder_set_member_name (b, "title");
  json_builder_add_string_value (b, title);
  if (creation != NULL)
    {
      json_builder_set_member_name (b, "creation");
      json_builder_add_string_value (b, creation);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_array (b);

  if (scan->encounter_id != NULL || (filed && scan->date != NULL))
    {
      json_builder_set_member_name (b, "context");
      json_builder_begin_object (b);
      if (scan->encounter_id != NULL)
        {
          g_autofree char *reference = g_strconcat ("Encounter/", scan->encounter_id, NULL);

          json_builder_set_member_name (b, "encounter");
          json_builder_begin_array (b);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "reference");
          json_builder_add_string_value (b, reference);
          json_builder_end_object (b);
          json_builder_end_array (b);
        }
      if (scan->date != NULL)
        {
          json_builder_set_member_name (b, "period");
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "start");
          json_builder_add_string_value (b, scan->date);
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
    }
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (generator, root);
  json = json_generator_to_data (generator, NULL);
  return charta_resource_new_from_data (json, strlen (json), NULL, error);
}

/* The file's modification time as a FHIR dateTime in local time, or NULL. */
static char *
file_mtime (const char *path)
{
  GStatBuf st;
  g_autoptr(GDateTime) time = NULL;

  if (g_stat (path, &st) != 0)
    return NULL;
  time = g_date_time_new_from_unix_local (st.st_mtime);
  return time != NULL ? g_date_time_format (time, "%Y-%m-%dT%H:%M:%S%:z") : NULL;
}

/* ---- one file ------------------------------------------------------------------------------ */

/* Streams @stream (whose first @n bytes are already in scan->buffer) into the store. */
static gboolean
store_content (Scan              *scan,
               GInputStream      *stream,
               size_t             n,
               ChartaContentInfo *info,
               GError           **error)
{
  ChartaContentWriter *writer = charta_store_content_begin (scan->store, error);

  if (writer == NULL)
    return FALSE;
  while (n > 0)
    {
      if (!charta_content_writer_write (writer, scan->buffer, n, error))
        {
          charta_content_writer_abort (writer);
          return FALSE;
        }
      charta_progress_add (scan->progress, 0, n, 0);
      if (!g_input_stream_read_all (stream, scan->buffer, CHUNK_SIZE, &n, NULL, error))
        {
          charta_content_writer_abort (writer);
          return FALSE;
        }
    }
  return charta_content_writer_finish (writer, info, error);
}

static gboolean
scan_file (Scan       *scan,
           const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaChange) change = NULL;
  g_autoptr(ChartaResource) binary = NULL;
  g_autoptr(ChartaResource) draft = NULL;
  g_autoptr(ChartaResource) document = NULL;
  g_autofree char *title = g_path_get_basename (path);
  g_autofree char *creation = NULL;
  g_autofree char *pages = NULL;
  g_autofree char *problem = NULL;
  char other_what[128];
  Kind other;
  const Kind *kind, *claimed;
  ChartaContentInfo info;
  const char *binary_id;
  GStatBuf st;
  size_t n = 0;

  if (g_stat (path, &st) != 0)
    {
      report (scan, path, "cannot read: %s", g_strerror (errno));
      return FALSE;
    }
  if (S_ISDIR (st.st_mode))
    {
      report (scan, path, "is a directory, not a scan; nothing stored");
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      report (scan, path, "is not a regular file; nothing stored");
      return FALSE;
    }

  stream = g_file_read (file, NULL, &error);
  if (stream == NULL
      || !g_input_stream_read_all (G_INPUT_STREAM (stream), scan->buffer, CHUNK_SIZE, &n, NULL,
                                   &error))
    {
      report (scan, path, "cannot read: %s", error->message);
      return FALSE;
    }
  if (n == 0)
    {
      report (scan, path, "is an empty file (0 bytes), not a scan; nothing stored");
      return FALSE;
    }
  kind = sniff (scan->buffer, n, &other, other_what, sizeof other_what);
  if (kind->content_type == NULL)
    {
      report (scan, path, "is %s, not a PDF, PNG, JPEG or TIFF scan; nothing stored", kind->what);
      return FALSE;
    }
  claimed = kind_of_name (path);
  if (claimed != NULL && claimed != kind)
    report (scan, path, "note: is %s, not a %s; stored as %s", kind->what, claimed->name,
            kind->content_type);

  if (kind == &kind_tiff)
    {
      unsigned n_pages = count_tiff_pages (path, &problem);

      if (n_pages > 0)
        pages = g_strdup_printf (", %u page%s", n_pages, n_pages == 1 ? "" : "s");
      else
        report (scan, path, "note: its TIFF directories cannot be read (%s); stored as it is",
                problem);
    }
  else if (kind == &kind_png || kind == &kind_jpeg)
    pages = g_strdup (", 1 page");

  creation = scan->date != NULL ? g_strdup (scan->date) : file_mtime (path);

  /* the DocumentReference is checked before anything is written: only the store's own
   * failures can leave it unwritten once its Binary is in */
  draft = document_reference_new (scan, "0", kind->content_type, title, creation, &error);
  if (draft != NULL)
    {
      g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();

      if (!charta_validate_resource (draft, outcome))
        {
          const ChartaIssue *issue = charta_outcome_get_issue (outcome, 0);

          report (scan, path, "the DocumentReference would be invalid: %s; nothing stored",
                  issue != NULL ? issue->diagnostics : "?");
          return FALSE;
        }
    }
  else
    {
      report (scan, path, "%s; nothing stored", error->message);
      return FALSE;
    }

  change = charta_change_new ();
  charta_change_set_agent (change, NULL, scan->agent);
  if (scan->reason != NULL)
    charta_change_set_reason (change, NULL, NULL, scan->reason);

  if (!store_content (scan, G_INPUT_STREAM (stream), n, &info, &error))
    {
      report (scan, path, "%s; nothing stored", error->message);
      return FALSE;
    }
  g_input_stream_close (G_INPUT_STREAM (stream), NULL, NULL);

  binary = charta_store_put_binary (scan->store, NULL, kind->content_type, NULL, info.sha256, 0,
                                    change, NULL, &error);
  if (binary == NULL)
    {
      report (scan, path, "%s; nothing stored", error->message);
      return FALSE;
    }
  binary_id = charta_resource_get_id (binary);

  g_clear_pointer (&draft, charta_resource_unref);
  draft = document_reference_new (scan, binary_id, kind->content_type, title, creation, &error);
  if (draft != NULL)
    document = charta_store_create (scan->store, draft, change, &error);
  if (document == NULL)
    {
      g_autoptr(GError) delete_error = NULL;

      report (scan, path, "%s", error->message);
      if (charta_store_delete (scan->store, "Binary", binary_id, 0, change, &delete_error) > 0)
        report (scan, path, "its Binary/%s was deleted again; nothing is filed", binary_id);
      else
        report (scan, path, "its Binary/%s stays without a DocumentReference: %s", binary_id,
                delete_error != NULL ? delete_error->message : "cannot delete it");
      return FALSE;
    }

  {
    g_autofree char *line = NULL;
    g_autofree char *where = NULL;

    if (scan->patient_id != NULL)
      where = g_strdup_printf ("filed to Patient/%s%s%s%s", scan->patient_id,
                               scan->type_code != NULL ? " (" : "",
                               scan->type_code != NULL
                               ? (scan->type_display != NULL ? scan->type_display
                                                             : scan->type_code) : "",
                               scan->type_code != NULL ? ")" : "");
    else
      where = g_strdup ("queued for indexing");
    line = g_strdup_printf ("%s: Binary/%s, DocumentReference/%s, %s%s, %s", path, binary_id,
                            charta_resource_get_id (document), kind->content_type,
                            pages != NULL ? pages : "", where);
    say (scan, line);
  }
  charta_progress_add (scan->progress, 1, 0, 2);
  if (scan->patient_id != NULL)
    scan->n_filed++;
  else
    scan->n_queued++;
  return TRUE;
}

/* ---- options ------------------------------------------------------------------------------- */

/* @text as an id of @type: "ID" or "Type/ID". */
static char *
parse_id (const char  *option,
          const char  *type,
          const char  *text,
          GError     **error)
{
  g_autofree char *reference = NULL;
  g_autofree char *parsed_type = NULL;
  g_autofree char *id = NULL;
  int64_t version = 0;

  reference = strchr (text, '/') != NULL ? g_strdup (text) : g_strconcat (type, "/", text, NULL);
  if (!charta_cmd_parse_reference (reference, FALSE, &parsed_type, &id, &version, error))
    {
      g_prefix_error (error, "%s: ", option);
      return NULL;
    }
  if (strcmp (parsed_type, type) != 0 || version != 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s: \"%s\" is not a %s (give its id, or %s/id)", option, text, type, type);
      return NULL;
    }
  return g_steal_pointer (&id);
}

/* A FHIR date or dateTime (R4's regular expression, and a real calendar date). */
static gboolean
check_date (const char  *text,
            GError     **error)
{
  static const char pattern[] =
    "^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9]:"
    "([0-5][0-9]|60)(\\.[0-9]+)?(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$";
  int64_t us;

  if (!g_regex_match_simple (pattern, text, 0, 0)
      || (strlen (text) >= 10 && !charta_cmd_parse_instant (text, &us, NULL)))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--date: \"%s\" is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD) or dateTime "
                   "with a time zone (2024-05-01T14:30:00+02:00)", text);
      return FALSE;
    }
  return TRUE;
}

static char *
describe_types (void)
{
  GString *s = g_string_new ("LOINC document types (--type), from R4's c80-doc-typecodes; other "
                             "LOINC codes are\naccepted with a note:\n");

  for (size_t i = 0; i < G_N_ELEMENTS (document_types); i++)
    g_string_append_printf (s, "  %-9s %s\n", document_types[i].code, document_types[i].display);
  return g_string_free (s, FALSE);
}

/* Reads Patient/@patient and Encounter/@encounter: both must exist, and the encounter be the
 * patient's. */
static gboolean
check_placement (ChartaStore *store,
                 const char  *store_path,
                 const char  *patient,
                 const char  *encounter)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = charta_store_read (store, "Patient", patient, &error);
  JsonObject *root;
  JsonObject *subject;
  const char *reference;
  g_autofree char *expected = NULL;

  if (resource == NULL)
    {
      if (g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND))
        fprintf (stderr, "charta scan: --patient: there is no Patient/%s in %s; nothing stored\n",
                 patient, store_path);
      else if (g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_GONE))
        fprintf (stderr, "charta scan: --patient: Patient/%s was deleted; nothing stored\n",
                 patient);
      else
        fprintf (stderr, "charta scan: Patient/%s: %s\n", patient, error->message);
      return FALSE;
    }
  if (encounter == NULL)
    return TRUE;

  g_clear_pointer (&resource, charta_resource_unref);
  resource = charta_store_read (store, "Encounter", encounter, &error);
  if (resource == NULL)
    {
      if (g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND))
        fprintf (stderr, "charta scan: --encounter: there is no Encounter/%s in %s; nothing "
                 "stored\n", encounter, store_path);
      else if (g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_GONE))
        fprintf (stderr, "charta scan: --encounter: Encounter/%s was deleted; nothing stored\n",
                 encounter);
      else
        fprintf (stderr, "charta scan: Encounter/%s: %s\n", encounter, error->message);
      return FALSE;
    }
  root = charta_resource_get_object (resource);
  subject = json_object_has_member (root, "subject")
            && JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "subject"))
            ? json_object_get_object_member (root, "subject") : NULL;
  reference = subject != NULL ? json_object_get_string_member_with_default (subject, "reference",
                                                                             NULL) : NULL;
  expected = g_strconcat ("Patient/", patient, NULL);
  if (g_strcmp0 (reference, expected) != 0)
    {
      fprintf (stderr, "charta scan: --encounter: Encounter/%s is not an encounter of %s (its "
               "subject is %s); nothing stored\n", encounter, expected,
               reference != NULL ? reference : "not given");
      return FALSE;
    }
  return TRUE;
}

/* ---- the verb ------------------------------------------------------------------------------ */

int
charta_cmd_scan (int    argc,
                 char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_autoptr(ChartaProgress) progress = NULL;
  g_auto(GStrv) args = NULL;
  g_autofree char *opt_patient = NULL;
  g_autofree char *opt_encounter = NULL;
  g_autofree char *opt_type = NULL;
  g_autofree char *opt_date = NULL;
  g_autofree char *opt_agent = NULL;
  g_autofree char *opt_reason = NULL;
  g_autofree char *patient_id = NULL;
  g_autofree char *encounter_id = NULL;
  g_autofree char *types = describe_types ();
  g_autofree guint8 *buffer = NULL;
  Scan scan = { 0 };
  uint64_t total_bytes = 0;
  unsigned n_files;
  const char *store_path;
  const GOptionEntry entries[] = {
    { "patient", 'p', 0, G_OPTION_ARG_STRING, &opt_patient,
      "File the documents to this Patient (else they wait in the indexing queue)", "ID" },
    { "encounter", 'e', 0, G_OPTION_ARG_STRING, &opt_encounter,
      "…and to this Encounter of the patient", "ID" },
    { "type", 't', 0, G_OPTION_ARG_STRING, &opt_type,
      "The document type: a LOINC document code (see below)", "CODE" },
    { "date", 'd', 0, G_OPTION_ARG_STRING, &opt_date,
      "The documents' own date (FHIR date or dateTime): when they were written or signed",
      "DATE" },
    { "agent", 'a', 0, G_OPTION_ARG_STRING, &opt_agent,
      "Who is named as the agent in the Provenance (default \"charta scan\")", "TEXT" },
    { "reason", 'r', 0, G_OPTION_ARG_STRING, &opt_reason,
      "Why: the reason recorded in the Provenance", "TEXT" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL, "STORE FILE…" },
    { NULL },
  };

  g_set_prgname ("charta scan");
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                "Stores scanned documents (PDF, PNG, JPEG, TIFF) in an existing "
                                "store: a Binary and a\nDocumentReference each.  Without "
                                "--patient they wait in the indexing queue (no\nsubject, docStatus "
                                "preliminary); with it they are filed (docStatus final).\nA file's "
                                "type is read from its bytes, whatever its name says.");
  g_option_context_set_description (context, types);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "charta scan: %s\nTry 'charta scan --help'.\n", error->message);
      return CHARTA_EXIT_USAGE;
    }
  if (args == NULL || g_strv_length (args) < 2)
    {
      fprintf (stderr, "charta scan: expected a STORE and at least one FILE\n"
                       "Usage: charta scan [OPTION…] STORE FILE…\n");
      return CHARTA_EXIT_USAGE;
    }
  if (opt_patient != NULL
      && (patient_id = parse_id ("--patient", "Patient", opt_patient, &error)) == NULL)
    {
      fprintf (stderr, "charta scan: %s\n", error->message);
      return CHARTA_EXIT_USAGE;
    }
  if (opt_encounter != NULL)
    {
      if (patient_id == NULL)
        {
          fprintf (stderr, "charta scan: --encounter needs --patient: an encounter files a "
                           "document to a patient\n");
          return CHARTA_EXIT_USAGE;
        }
      encounter_id = parse_id ("--encounter", "Encounter", opt_encounter, &error);
      if (encounter_id == NULL)
        {
          fprintf (stderr, "charta scan: %s\n", error->message);
          return CHARTA_EXIT_USAGE;
        }
    }
  if (opt_type != NULL)
    {
      if (!g_regex_match_simple ("^[0-9]{1,7}-[0-9]$", opt_type, 0, 0))
        {
          fprintf (stderr, "charta scan: --type: \"%s\" is not a LOINC code (digits, a hyphen "
                           "and a check digit, as 59284-0)\n", opt_type);
          return CHARTA_EXIT_USAGE;
        }
      for (size_t i = 0; i < G_N_ELEMENTS (document_types); i++)
        if (strcmp (opt_type, document_types[i].code) == 0)
          scan.type_display = document_types[i].display;
      if (scan.type_display == NULL)
        fprintf (stderr, "charta scan: note: --type %s is not one of the document types "
                         "charta knows (see --help); it is recorded with no display\n",
                 opt_type);
    }
  if (opt_date != NULL && !check_date (opt_date, &error))
    {
      fprintf (stderr, "charta scan: %s\n", error->message);
      return CHARTA_EXIT_USAGE;
    }
  if (opt_agent != NULL && *opt_agent == '\0')
    {
      fprintf (stderr, "charta scan: --agent must not be empty\n");
      return CHARTA_EXIT_USAGE;
    }
  store_path = args[0];

  store = charta_cmd_open_store (store_path, CHARTA_STORE_FLAGS_NONE, &error);
  if (store == NULL)
    {
      charta_cmd_print_error (store_path, error);
      return CHARTA_EXIT_INVALID;
    }
  if (patient_id != NULL && !check_placement (store, store_path, patient_id, encounter_id))
    return CHARTA_EXIT_INVALID;

  n_files = g_strv_length (args) - 1;
  for (unsigned i = 1; args[i] != NULL; i++)
    {
      GStatBuf st;

      if (g_stat (args[i], &st) == 0 && S_ISREG (st.st_mode))
        total_bytes += (uint64_t) st.st_size;
    }
  progress = charta_progress_new (stderr, isatty (STDERR_FILENO));
  charta_progress_set_total (progress, n_files, total_bytes);
  buffer = g_malloc (CHUNK_SIZE);

  scan.store = store;
  scan.progress = progress;
  scan.agent = opt_agent != NULL ? opt_agent : "charta scan";
  scan.reason = opt_reason != NULL && *opt_reason != '\0' ? opt_reason : NULL;
  scan.patient_id = patient_id;
  scan.encounter_id = encounter_id;
  scan.type_code = opt_type;
  scan.date = opt_date;
  scan.buffer = buffer;

  for (unsigned i = 1; args[i] != NULL; i++)
    if (!scan_file (&scan, args[i]))
      {
        scan.n_errors++;
        charta_progress_add (progress, 1, 0, 0);
      }

  charta_store_close (store);
  charta_progress_finish (progress);
  printf ("scanned %u file%s (%u filed, %u queued) in %.1f s; %u error%s\n",
          scan.n_filed + scan.n_queued, scan.n_filed + scan.n_queued == 1 ? "" : "s",
          scan.n_filed, scan.n_queued, charta_progress_get_elapsed (progress), scan.n_errors,
          scan.n_errors == 1 ? "" : "s");
  return scan.n_errors == 0 ? CHARTA_EXIT_OK : CHARTA_EXIT_INVALID;
}
