/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-document-viewer.c: a scanned document or an image, page by page (see
 * charta-document-viewer.h).
 *
 * Two sides.  The worker side is a Document (the file, and the poppler document, the libtiff
 * handle or the decoded image it holds) and the jobs that read it: open, render the current
 * page, render a thumbnail, render the next page ahead, close.  Each document has its own
 * GThreadPool of one thread, sorted by job kind then by age, so that poppler and libtiff, which
 * are not thread-safe per document, only ever see one thread, and the current page always goes
 * before thumbnails.  A job is a GTask whose source object is the viewer: the worker returns it
 * and its callback runs on the GTK thread; a job whose document was replaced (the viewer's
 * generation moved on) or whose render is no longer wanted (cancelled) is dropped.  The last
 * job of a document closes it, so the viewer is finalized only after its documents are closed.
 *
 * The GTK side never touches a Document's fields: it knows the pages' sizes and errors from the
 * open job's result, and shows textures made from the cairo image surfaces the jobs return.
 * The page is drawn by a small canvas widget (ChartaDocumentCanvas, private to this file) that
 * sizes itself from the page, the zoom mode and the view, and draws a texture into the rectangle
 * the page takes, scaled if the texture was rendered for another size (a zoom just changed), so
 * that the view never waits for a render.
 *
 * Sizes: a page's size at 100 % is in pixels (PDF points × 96/72; image pixels).  The size it is
 * shown at (compute_display_size()) comes from that, the rotation, the zoom mode and the size of
 * the view; the texture is rendered at that size times the scale factor (device_size()), with at
 * most MAX_RENDER_PIXELS.  The same functions run on both threads, so the open job can render
 * page 1 at the size the view will want before the GTK thread has laid it out.
 *
 * Limits: an image or TIFF page above CHARTA_DOCUMENT_VIEWER_MAX_PIXELS is refused from its
 * header (gdk_pixbuf_get_file_info(), the TIFF directory) and never decoded; the decoder's
 * "size-prepared" checks again.  Nothing here logs a document's content or its name.
 */
#define G_LOG_DOMAIN "charta-document-viewer"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <poppler.h>
#include <tiffio.h>

#include "charta-document-viewer.h"

/* Bytes read to find the type (a PDF's "%PDF-" may come after up to 1024 bytes of junk). */
#define SNIFF_BYTES 4096
#define PDF_MAGIC_WITHIN 1024
/* The most pixels and the longest side of a rendered page; beyond, a page is rendered smaller
 * and scaled up on screen. */
#define MAX_RENDER_PIXELS (32 * 1024 * 1024)
#define MAX_RENDER_SIDE 16384
/* A PDF page larger than this (in points, both sides) is taken for a damaged one: PDF's own
 * limit is 14,400 units. */
#define MAX_PDF_POINTS 14400.0
#define MAX_TIFF_PAGES 10000
/* libtiff's largest single allocation. */
#define MAX_TIFF_ALLOC (512 * 1024 * 1024)
#define READ_CHUNK 65536
#define PAGE_MARGIN 12
#define THUMB_WIDTH 96
#define THUMB_HEIGHT 128
/* Rendered pages kept (the current one, the one ahead, a few behind). */
#define CACHE_PAGES 4
#define MIN_ZOOM 0.5
#define MAX_ZOOM 4.0
#define ARROW_STEP 48.0

static const double zoom_steps[] = { 0.5, 0.67, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0 };

G_DEFINE_ENUM_TYPE (ChartaDocumentViewerState, charta_document_viewer_state,
                    G_DEFINE_ENUM_VALUE (CHARTA_DOCUMENT_VIEWER_STATE_EMPTY, "empty"),
                    G_DEFINE_ENUM_VALUE (CHARTA_DOCUMENT_VIEWER_STATE_LOADING, "loading"),
                    G_DEFINE_ENUM_VALUE (CHARTA_DOCUMENT_VIEWER_STATE_READY, "ready"),
                    G_DEFINE_ENUM_VALUE (CHARTA_DOCUMENT_VIEWER_STATE_NO_PREVIEW, "no-preview"))

G_DEFINE_ENUM_TYPE (ChartaDocumentZoomMode, charta_document_zoom_mode,
                    G_DEFINE_ENUM_VALUE (CHARTA_DOCUMENT_ZOOM_FIT_WIDTH, "fit-width"),
                    G_DEFINE_ENUM_VALUE (CHARTA_DOCUMENT_ZOOM_FIT_PAGE, "fit-page"),
                    G_DEFINE_ENUM_VALUE (CHARTA_DOCUMENT_ZOOM_FIXED, "fixed"))

/* ---- geometry (both threads) -------------------------------------------------------------- */

/* The size a page of @page_width × @page_height (at 100 %, already rotated) is shown at in a
 * view of @view_width × @view_height, less @margin on each side; returns the scale. */
static double
compute_display_size (double                 page_width,
                      double                 page_height,
                      ChartaDocumentZoomMode mode,
                      double                 zoom,
                      int                    view_width,
                      int                    view_height,
                      int                    margin,
                      double                *width,
                      double                *height)
{
  double avail_width = MAX (view_width - 2 * margin, 1);
  double avail_height = MAX (view_height - 2 * margin, 1);
  double scale;

  switch (mode)
    {
    case CHARTA_DOCUMENT_ZOOM_FIT_WIDTH:
      scale = avail_width / page_width;
      break;
    case CHARTA_DOCUMENT_ZOOM_FIT_PAGE:
      scale = MIN (avail_width / page_width, avail_height / page_height);
      break;
    case CHARTA_DOCUMENT_ZOOM_FIXED:
    default:
      scale = zoom;
      break;
    }
  *width = page_width * scale;
  *height = page_height * scale;
  return scale;
}

/* The texture size, in device pixels, for a page shown at @width × @height at @scale_factor:
 * at least 1 × 1, at most MAX_RENDER_PIXELS and MAX_RENDER_SIDE on a side. */
static void
device_size (double width,
             double height,
             int    scale_factor,
             int   *device_width,
             int   *device_height)
{
  double w = width * scale_factor;
  double h = height * scale_factor;
  double shrink = 1.0;

  if (w * h > MAX_RENDER_PIXELS)
    shrink = sqrt (MAX_RENDER_PIXELS / (w * h));
  if (w * shrink > MAX_RENDER_SIDE)
    shrink = MAX_RENDER_SIDE / w;
  if (h * shrink > MAX_RENDER_SIDE)
    shrink = MAX_RENDER_SIDE / h;
  *device_width = MAX (1, (int) round (w * shrink));
  *device_height = MAX (1, (int) round (h * shrink));
}

static void
rotated_size (double  width,
              double  height,
              int     rotation,
              double *rotated_width,
              double *rotated_height)
{
  gboolean sideways = rotation == 90 || rotation == 270;

  *rotated_width = sideways ? height : width;
  *rotated_height = sideways ? width : height;
}

/* ---- the file's type ---------------------------------------------------------------------- */

typedef enum
{
  KIND_NONE,
  KIND_PDF,
  KIND_PNG,
  KIND_JPEG,
  KIND_TIFF,
  KIND_OTHER,       /* only for a declared type: something else than the four */
} Kind;

static Kind
sniff_kind (const guint8 *head,
            size_t        length)
{
  if (length >= 8 && memcmp (head, "\x89PNG\r\n\x1a\n", 8) == 0)
    return KIND_PNG;
  if (length >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff)
    return KIND_JPEG;
  /* Classic TIFF (42) and BigTIFF (43), in both byte orders. */
  if (length >= 4 && (memcmp (head, "II*\0", 4) == 0 || memcmp (head, "MM\0*", 4) == 0 ||
                      memcmp (head, "II+\0", 4) == 0 || memcmp (head, "MM\0+", 4) == 0))
    return KIND_TIFF;
  for (size_t i = 0; i + 5 <= MIN (length, (size_t) PDF_MAGIC_WITHIN); i++)
    if (memcmp (head + i, "%PDF-", 5) == 0)
      return KIND_PDF;
  return KIND_NONE;
}

/* The kind a declared content type promises: KIND_NONE for none (or one that promises nothing,
 * application/octet-stream), KIND_OTHER for any other type. */
static Kind
declared_kind (const char *content_type)
{
  g_autofree char *type = NULL;
  char *semicolon;

  if (content_type == NULL)
    return KIND_NONE;
  type = g_ascii_strdown (content_type, -1);
  semicolon = strchr (type, ';');
  if (semicolon != NULL)
    *semicolon = '\0';
  g_strstrip (type);
  if (*type == '\0' || g_str_equal (type, "application/octet-stream"))
    return KIND_NONE;
  if (g_str_equal (type, "application/pdf") || g_str_equal (type, "application/x-pdf"))
    return KIND_PDF;
  if (g_str_equal (type, "image/png"))
    return KIND_PNG;
  if (g_str_equal (type, "image/jpeg") || g_str_equal (type, "image/jpg") ||
      g_str_equal (type, "image/pjpeg"))
    return KIND_JPEG;
  if (g_str_equal (type, "image/tiff") || g_str_equal (type, "image/tif") ||
      g_str_equal (type, "image/x-tiff"))
    return KIND_TIFF;
  return KIND_OTHER;
}

static const char *
kind_content_type (Kind kind)
{
  switch (kind)
    {
    case KIND_PDF:
      return "application/pdf";
    case KIND_PNG:
      return "image/png";
    case KIND_JPEG:
      return "image/jpeg";
    case KIND_TIFF:
      return "image/tiff";
    case KIND_NONE:
    case KIND_OTHER:
    default:
      return NULL;
    }
}

/* "a PDF document", for sentences. */
static const char *
kind_words (Kind kind)
{
  switch (kind)
    {
    case KIND_PDF:
      return "a PDF document";
    case KIND_PNG:
      return "a PNG image";
    case KIND_JPEG:
      return "a JPEG image";
    case KIND_TIFF:
      return "a TIFF image";
    case KIND_NONE:
    case KIND_OTHER:
    default:
      return "a file of another type";
    }
}

/* ---- the worker side: a document ---------------------------------------------------------- */

typedef struct
{
  double width;          /* at 100 %, not rotated, in pixels */
  double height;
  char *error;           /* why it cannot be drawn ("it is 30000 × 30000 pixels…"), or NULL */
} PageInfo;

static void
page_info_clear (gpointer data)
{
  PageInfo *info = data;

  g_free (info->error);
}

/* A decoded TIFF page. */
typedef struct
{
  int page;              /* -1: none */
  cairo_surface_t *surface;
} Decoded;

typedef struct
{
  gatomicrefcount ref_count;
  char *path;            /* immutable from here on */
  char *name;            /* the document's name in messages */
  char *declared;        /* the declared content type, or NULL */
  /* Only the worker thread touches what follows. */
  Kind kind;
  PopplerDocument *pdf;
  TIFF *tiff;
  char *tiff_error;      /* libtiff's last error on this file */
  cairo_surface_t *image;  /* PNG, JPEG: the whole image */
  Decoded decoded[2];    /* TIFF: the last pages decoded, the newer first */
} Document;

static Document *
document_new (const char *path,
              const char *name,
              const char *declared)
{
  Document *doc = g_new0 (Document, 1);

  g_atomic_ref_count_init (&doc->ref_count);
  doc->path = g_strdup (path);
  doc->name = g_strdup (name);
  doc->declared = g_strdup (declared);
  doc->decoded[0].page = doc->decoded[1].page = -1;
  return doc;
}

static Document *
document_ref (Document *doc)
{
  g_atomic_ref_count_inc (&doc->ref_count);
  return doc;
}

static void
document_unref (Document *doc)
{
  if (doc == NULL || !g_atomic_ref_count_dec (&doc->ref_count))
    return;
  g_clear_object (&doc->pdf);
  g_clear_pointer (&doc->tiff, TIFFClose);
  g_clear_pointer (&doc->image, cairo_surface_destroy);
  for (unsigned i = 0; i < G_N_ELEMENTS (doc->decoded); i++)
    g_clear_pointer (&doc->decoded[i].surface, cairo_surface_destroy);
  g_free (doc->tiff_error);
  g_free (doc->path);
  g_free (doc->name);
  g_free (doc->declared);
  g_free (doc);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Document, document_unref)

static char *
too_many_pixels (uint64_t width,
                 uint64_t height)
{
  return g_strdup_printf ("it is %" G_GUINT64_FORMAT " × %" G_GUINT64_FORMAT " pixels "
                          "(%" G_GUINT64_FORMAT " megapixels), more than the %" G_GUINT64_FORMAT
                          " megapixels the viewer decodes",
                          width, height, width * height / 1000000,
                          CHARTA_DOCUMENT_VIEWER_MAX_PIXELS / 1000000);
}

static gboolean
is_too_large (uint64_t width,
              uint64_t height)
{
  return width * height > CHARTA_DOCUMENT_VIEWER_MAX_PIXELS;
}

/* A new ARGB32 surface; NULL with @error when cairo cannot have one (out of memory). */
static cairo_surface_t *
surface_new (int      width,
             int      height,
             GError **error)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);

  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "there is not enough memory for %d × %d pixels (%s)", width, height,
                   cairo_status_to_string (cairo_surface_status (surface)));
      cairo_surface_destroy (surface);
      return NULL;
    }
  return surface;
}

/* @pixbuf (RGB or RGBA, 8 bits) as a premultiplied ARGB32 surface. */
static cairo_surface_t *
surface_from_pixbuf (GdkPixbuf *pixbuf,
                     GError   **error)
{
  int width = gdk_pixbuf_get_width (pixbuf);
  int height = gdk_pixbuf_get_height (pixbuf);
  int channels = gdk_pixbuf_get_n_channels (pixbuf);
  gboolean alpha = gdk_pixbuf_get_has_alpha (pixbuf);
  int rowstride = gdk_pixbuf_get_rowstride (pixbuf);
  const guint8 *pixels = gdk_pixbuf_read_pixels (pixbuf);
  cairo_surface_t *surface;
  guint8 *data;
  int stride;

  if (gdk_pixbuf_get_bits_per_sample (pixbuf) != 8 || channels < 3)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "its pixel format (%d bits, %d channels) is not supported",
                   gdk_pixbuf_get_bits_per_sample (pixbuf), channels);
      return NULL;
    }
  surface = surface_new (width, height, error);
  if (surface == NULL)
    return NULL;
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  for (int y = 0; y < height; y++)
    {
      const guint8 *src = pixels + (size_t) y * rowstride;
      uint32_t *dst = (uint32_t *) (data + (size_t) y * stride);

      for (int x = 0; x < width; x++, src += channels)
        {
          uint32_t a = alpha ? src[3] : 255;
          uint32_t r = (src[0] * a + 127) / 255;
          uint32_t g = (src[1] * a + 127) / 255;
          uint32_t b = (src[2] * a + 127) / 255;

          dst[x] = a << 24 | r << 16 | g << 8 | b;
        }
    }
  cairo_surface_mark_dirty (surface);
  return surface;
}

static gboolean
is_cancelled (GCancellable *a,
              GCancellable *b)
{
  return g_cancellable_is_cancelled (a) || g_cancellable_is_cancelled (b);
}

/* ---- opening ------------------------------------------------------------------------------ */

static gboolean
open_pdf (Document     *doc,
          GArray       *pages,
          GCancellable *cancellable,
          GError      **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (doc->path);
  g_autoptr(GError) local_error = NULL;
  int n_pages;

  doc->pdf = poppler_document_new_from_gfile (file, NULL, cancellable, &local_error);
  if (doc->pdf == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else if (g_error_matches (local_error, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                     "“%s” cannot be shown: the PDF is locked with a password.", doc->name);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                     "“%s” cannot be shown: it is a damaged PDF that could not be opened "
                     "(poppler: %s).", doc->name, local_error->message);
      return FALSE;
    }
  n_pages = poppler_document_get_n_pages (doc->pdf);
  if (n_pages <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "“%s” cannot be shown: the PDF has no pages.", doc->name);
      return FALSE;
    }
  for (int i = 0; i < n_pages; i++)
    {
      PopplerPage *page;
      gboolean readable;
      /* A page that cannot be read takes the size of US Letter in the lists. */
      PageInfo info = { 612.0 * 96 / 72, 792.0 * 96 / 72, NULL };
      double width = 0, height = 0;

      if (i % 64 == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      page = poppler_document_get_page (doc->pdf, i);
      readable = page != NULL;
      if (readable)
        {
          poppler_page_get_size (page, &width, &height);
          g_object_unref (page);
        }
      if (!readable)
        info.error = g_strdup ("the PDF is damaged there and poppler could not read the page");
      else if (!isfinite (width) || !isfinite (height) || width < 1 || height < 1 ||
               width > MAX_PDF_POINTS || height > MAX_PDF_POINTS)
        info.error = g_strdup_printf ("its size (%g × %g points) is impossible", width, height);
      else
        {
          info.width = width * 96 / 72;
          info.height = height * 96 / 72;
        }
      g_array_append_val (pages, info);
    }
  return TRUE;
}

static int
tiff_error_handler (TIFF       *tiff,
                    void       *user_data,
                    const char *module,
                    const char *format,
                    va_list     args)
{
  Document *doc = user_data;

  g_free (doc->tiff_error);
  doc->tiff_error = g_strdup_vprintf (format, args);
  return 1;  /* handled: nothing on stderr */
}

static int
tiff_warning_handler (TIFF       *tiff,
                      void       *user_data,
                      const char *module,
                      const char *format,
                      va_list     args)
{
  return 1;
}

static const char *
tiff_error (Document *doc)
{
  return doc->tiff_error != NULL ? doc->tiff_error : "no reason given";
}

/* Reads the size of TIFF page @page into @info (or says why it cannot be shown). */
static void
tiff_page_info (Document *doc,
                unsigned  page,
                PageInfo *info)
{
  uint32_t width = 0, height = 0;

  if (!TIFFSetDirectory (doc->tiff, (tdir_t) page))
    {
      info->error = g_strdup_printf ("libtiff could not read it (%s)", tiff_error (doc));
      return;
    }
  if (!TIFFGetField (doc->tiff, TIFFTAG_IMAGEWIDTH, &width) ||
      !TIFFGetField (doc->tiff, TIFFTAG_IMAGELENGTH, &height) || width == 0 || height == 0)
    {
      info->error = g_strdup ("it has no size");
      return;
    }
  if (is_too_large (width, height))
    info->error = too_many_pixels (width, height);
  info->width = width;
  info->height = height;
}

static gboolean
open_tiff (Document     *doc,
           GArray       *pages,
           GCancellable *cancellable,
           GError      **error)
{
  TIFFOpenOptions *options = TIFFOpenOptionsAlloc ();
  unsigned n_pages;

  TIFFOpenOptionsSetErrorHandlerExtR (options, tiff_error_handler, doc);
  TIFFOpenOptionsSetWarningHandlerExtR (options, tiff_warning_handler, doc);
  TIFFOpenOptionsSetMaxSingleMemAlloc (options, MAX_TIFF_ALLOC);
  /* "m": read(), not a memory map, so that a file cut short is an error, not a SIGBUS. */
  doc->tiff = TIFFOpenExt (doc->path, "rm", options);
  TIFFOpenOptionsFree (options);
  if (doc->tiff == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "“%s” cannot be shown: it is a damaged or cut-short TIFF image "
                   "(libtiff: %s).", doc->name, tiff_error (doc));
      return FALSE;
    }
  n_pages = TIFFNumberOfDirectories (doc->tiff);
  if (n_pages == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "“%s” cannot be shown: the TIFF image has no pages (libtiff: %s).",
                   doc->name, tiff_error (doc));
      return FALSE;
    }
  n_pages = MIN (n_pages, MAX_TIFF_PAGES);
  for (unsigned i = 0; i < n_pages; i++)
    {
      PageInfo info = { 816, 1056, NULL };

      if (i % 64 == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      tiff_page_info (doc, i, &info);
      g_array_append_val (pages, info);
    }
  return TRUE;
}

typedef struct
{
  gboolean refused;
  int width;
  int height;
} SizeCheck;

static void
size_prepared (GdkPixbufLoader *loader,
               int              width,
               int              height,
               SizeCheck       *check)
{
  check->width = width;
  check->height = height;
  if (width <= 0 || height <= 0 || is_too_large (width, height))
    {
      /* Refused: decode to nothing while the rest is skipped. */
      check->refused = TRUE;
      gdk_pixbuf_loader_set_size (loader, 1, 1);
    }
}

static gboolean
open_image (Document     *doc,
            GArray       *pages,
            GCancellable *cancellable,
            GError      **error)
{
  const char *type = doc->kind == KIND_PNG ? "png" : "jpeg";
  const char *words = kind_words (doc->kind);
  g_autoptr(GdkPixbufLoader) loader = NULL;
  g_autoptr(GdkPixbuf) oriented = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree guint8 *buffer = NULL;
  SizeCheck check = { FALSE, 0, 0 };
  GdkPixbufFormat *format;
  GdkPixbuf *pixbuf;
  PageInfo info = { 0, 0, NULL };
  int width = 0, height = 0;
  int fd;

  /* The header alone first: nothing is decoded for an image above the limit. */
  format = gdk_pixbuf_get_file_info (doc->path, &width, &height);
  if (format == NULL || width <= 0 || height <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "“%s” cannot be shown: it looks like %s, but its header is damaged.",
                   doc->name, words);
      return FALSE;
    }
  if (is_too_large (width, height))
    {
      g_autofree char *why = too_many_pixels (width, height);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "“%s” cannot be shown: %s.",
                   doc->name, why);
      return FALSE;
    }

  loader = gdk_pixbuf_loader_new_with_type (type, &local_error);
  if (loader == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "“%s” cannot be shown: there is no %s decoder (%s).", doc->name, type,
                   local_error->message);
      return FALSE;
    }
  g_signal_connect (loader, "size-prepared", G_CALLBACK (size_prepared), &check);
  fd = g_open (doc->path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   "“%s” cannot be read: %s.", doc->name, g_strerror (errno));
      return FALSE;
    }
  buffer = g_malloc (READ_CHUNK);
  for (;;)
    {
      ssize_t n = read (fd, buffer, READ_CHUNK);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0 || check.refused || g_cancellable_is_cancelled (cancellable))
        break;
      if (!gdk_pixbuf_loader_write (loader, buffer, n, &local_error))
        break;
    }
  close (fd);
  /* Close whatever happened (the loader wants it); its error counts only if none came first. */
  if (local_error == NULL)
    gdk_pixbuf_loader_close (loader, &local_error);
  else
    gdk_pixbuf_loader_close (loader, NULL);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (check.refused)
    {
      g_autofree char *why = too_many_pixels (MAX (check.width, 0), MAX (check.height, 0));

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "“%s” cannot be shown: %s.",
                   doc->name, why);
      return FALSE;
    }
  pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  if (local_error != NULL || pixbuf == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "“%s” cannot be shown: it is %s that is damaged or cut short (%s).",
                   doc->name, words, local_error != NULL ? local_error->message : "no image");
      return FALSE;
    }
  oriented = gdk_pixbuf_apply_embedded_orientation (pixbuf);
  doc->image = surface_from_pixbuf (oriented, &local_error);
  if (doc->image == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "“%s” cannot be shown: %s.",
                   doc->name, local_error->message);
      return FALSE;
    }
  info.width = cairo_image_surface_get_width (doc->image);
  info.height = cairo_image_surface_get_height (doc->image);
  g_array_append_val (pages, info);
  return TRUE;
}

/* Reads the first bytes and finds the type; then opens the file as that type. */
static gboolean
document_open (Document     *doc,
               GArray       *pages,
               GCancellable *cancellable,
               GError      **error)
{
  guint8 head[SNIFF_BYTES];
  size_t length = 0;
  GStatBuf st;
  int fd;

  fd = g_open (doc->path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 || fstat (fd, &st) != 0)
    {
      int saved = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "“%s” cannot be read: %s.", doc->name, g_strerror (saved));
      return FALSE;
    }
  while (length < sizeof head)
    {
      ssize_t n = read (fd, head + length, sizeof head - length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      length += n;
    }
  close (fd);
  if (st.st_size == 0 || length == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "“%s” is empty (0 bytes): there is nothing to show.", doc->name);
      return FALSE;
    }

  doc->kind = sniff_kind (head, length);
  if (doc->kind == KIND_NONE)
    {
      g_autofree char *guess = g_content_type_guess (NULL, head, length, NULL);
      g_autofree char *looks = NULL;
      g_autofree char *sent = NULL;
      Kind declared = declared_kind (doc->declared);

      if (guess == NULL || g_content_type_is_unknown (guess))
        looks = g_strdup ("its content is of no known type");
      else
        {
          g_autofree char *description = g_content_type_get_description (guess);

          looks = g_strdup_printf ("its content looks like %s (%s)", description, guess);
        }
      if (declared != KIND_NONE && declared != KIND_OTHER)
        sent = g_strdup_printf (" was sent as %s (%s), but", kind_words (declared),
                                doc->declared);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "“%s”%s is not a PDF, PNG, JPEG or TIFF file: %s.", doc->name,
                   sent != NULL ? sent : "", looks);
      return FALSE;
    }

  switch (doc->kind)
    {
    case KIND_PDF:
      return open_pdf (doc, pages, cancellable, error);
    case KIND_TIFF:
      return open_tiff (doc, pages, cancellable, error);
    case KIND_PNG:
    case KIND_JPEG:
      return open_image (doc, pages, cancellable, error);
    case KIND_NONE:
    case KIND_OTHER:
    default:
      g_assert_not_reached ();
    }
}

/* ---- rendering ---------------------------------------------------------------------------- */

/* TIFF page @page, decoded whole (its size was checked when the document was opened). */
static cairo_surface_t *
tiff_decode (Document *doc,
             unsigned  page,
             GError  **error)
{
  static const cairo_user_data_key_t raster_key;
  uint32_t width = 0, height = 0;
  cairo_surface_t *surface;
  uint32_t *raster;

  for (unsigned i = 0; i < G_N_ELEMENTS (doc->decoded); i++)
    if (doc->decoded[i].page == (int) page)
      {
        if (i != 0)
          {
            Decoded swap = doc->decoded[0];

            doc->decoded[0] = doc->decoded[i];
            doc->decoded[i] = swap;
          }
        return cairo_surface_reference (doc->decoded[0].surface);
      }

  if (!TIFFSetDirectory (doc->tiff, (tdir_t) page) ||
      !TIFFGetField (doc->tiff, TIFFTAG_IMAGEWIDTH, &width) ||
      !TIFFGetField (doc->tiff, TIFFTAG_IMAGELENGTH, &height) || width == 0 || height == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "libtiff could not read it (%s)",
                   tiff_error (doc));
      return NULL;
    }
  if (is_too_large (width, height))
    {
      g_autofree char *why = too_many_pixels (width, height);

      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, why);
      return NULL;
    }
  raster = g_try_malloc_n ((size_t) width * height, sizeof (uint32_t));
  if (raster == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "there is not enough memory for %u × %u pixels", width, height);
      return NULL;
    }
  if (!TIFFReadRGBAImageOriented (doc->tiff, width, height, raster, ORIENTATION_TOPLEFT, 1))
    {
      g_free (raster);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "its pixels are damaged or cut short (libtiff: %s)",
                   tiff_error (doc));
      return NULL;
    }
  /* libtiff's ABGR (red in the low byte, alpha premultiplied) to cairo's native ARGB. */
  for (size_t i = 0; i < (size_t) width * height; i++)
    {
      uint32_t p = raster[i];

      raster[i] = (uint32_t) TIFFGetA (p) << 24 | (uint32_t) TIFFGetR (p) << 16 |
                  (uint32_t) TIFFGetG (p) << 8 | (uint32_t) TIFFGetB (p);
    }
  surface = cairo_image_surface_create_for_data ((unsigned char *) raster, CAIRO_FORMAT_ARGB32,
                                                 width, height, width * 4);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS ||
      cairo_surface_set_user_data (surface, &raster_key, raster, g_free) != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "cairo cannot hold the page (%s)",
                   cairo_status_to_string (cairo_surface_status (surface)));
      cairo_surface_destroy (surface);
      g_free (raster);
      return NULL;
    }

  g_clear_pointer (&doc->decoded[1].surface, cairo_surface_destroy);
  doc->decoded[1] = doc->decoded[0];
  doc->decoded[0].page = page;
  doc->decoded[0].surface = cairo_surface_reference (surface);
  return surface;
}

/* Page @page turned @rotation degrees clockwise into a @width × @height surface on white. */
static cairo_surface_t *
document_render (Document *doc,
                 unsigned  page,
                 int       width,
                 int       height,
                 int       rotation,
                 GError  **error)
{
  PopplerPage *pdf_page = NULL;
  cairo_surface_t *source = NULL;
  cairo_surface_t *surface;
  double source_width, source_height;
  cairo_t *cr;

  switch (doc->kind)
    {
    case KIND_PDF:
      pdf_page = poppler_document_get_page (doc->pdf, page);
      if (pdf_page == NULL)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "the PDF is damaged there and poppler could not read the page");
          return NULL;
        }
      poppler_page_get_size (pdf_page, &source_width, &source_height);
      break;
    case KIND_TIFF:
      source = tiff_decode (doc, page, error);
      if (source == NULL)
        return NULL;
      break;
    case KIND_PNG:
    case KIND_JPEG:
      source = cairo_surface_reference (doc->image);
      break;
    case KIND_NONE:
    case KIND_OTHER:
    default:
      g_assert_not_reached ();
    }
  if (source != NULL)
    {
      source_width = cairo_image_surface_get_width (source);
      source_height = cairo_image_surface_get_height (source);
    }

  surface = surface_new (width, height, error);
  if (surface == NULL)
    {
      g_clear_pointer (&source, cairo_surface_destroy);
      g_clear_object (&pdf_page);
      return NULL;
    }
  cr = cairo_create (surface);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  /* Rotate about the output's corner, then scale the source to it: a quarter turn clockwise
   * puts the source's width along the output's height. */
  switch (rotation)
    {
    case 90:
      cairo_translate (cr, width, 0);
      cairo_rotate (cr, G_PI / 2);
      cairo_scale (cr, height / source_width, width / source_height);
      break;
    case 180:
      cairo_translate (cr, width, height);
      cairo_rotate (cr, G_PI);
      cairo_scale (cr, width / source_width, height / source_height);
      break;
    case 270:
      cairo_translate (cr, 0, height);
      cairo_rotate (cr, -G_PI / 2);
      cairo_scale (cr, height / source_width, width / source_height);
      break;
    default:
      cairo_scale (cr, width / source_width, height / source_height);
      break;
    }
  if (pdf_page != NULL)
    {
      poppler_page_render (pdf_page, cr);
      g_object_unref (pdf_page);
    }
  else
    {
      cairo_set_source_surface (cr, source, 0, 0);
      cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_GOOD);
      cairo_paint (cr);
    }
  cairo_destroy (cr);
  g_clear_pointer (&source, cairo_surface_destroy);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "drawing it failed (%s)",
                   cairo_status_to_string (cairo_surface_status (surface)));
      cairo_surface_destroy (surface);
      return NULL;
    }
  cairo_surface_flush (surface);
  return surface;
}

/* ---- jobs --------------------------------------------------------------------------------- */

/* In the order the worker takes them. */
typedef enum
{
  JOB_OPEN,
  JOB_PAGE,       /* the current page */
  JOB_THUMBNAIL,
  JOB_AHEAD,      /* the next page, for the cache */
  JOB_CLOSE,      /* drops the viewer's reference to the document, on the worker */
} JobKind;

typedef struct
{
  JobKind kind;
  uint64_t seq;                      /* the order jobs were made in */
  unsigned generation;               /* the viewer's generation it was made in */
  Document *document;                /* dropped by the worker when done */
  GCancellable *document_cancellable;/* the document's: cancelled when it is replaced */
  unsigned page;
  int width;                         /* the size to render at, in device pixels */
  int height;
  int rotation;
  /* JOB_OPEN: how page 1 will be shown, to render it at once (view_width 0: not known) */
  int view_width;
  int view_height;
  ChartaDocumentZoomMode mode;
  double zoom;
  int scale_factor;
} Job;

static void
job_free (gpointer data)
{
  Job *job = data;

  document_unref (job->document);
  g_clear_object (&job->document_cancellable);
  g_free (job);
}

typedef struct
{
  Kind kind;
  GArray *pages;               /* PageInfo */
  cairo_surface_t *first;      /* page 1 rendered for the view, or NULL */
  int first_rotation;
} Opened;

static void
opened_free (gpointer data)
{
  Opened *opened = data;

  g_clear_pointer (&opened->pages, g_array_unref);
  g_clear_pointer (&opened->first, cairo_surface_destroy);
  g_free (opened);
}

static int
job_order (gconstpointer a,
           gconstpointer b,
           gpointer      user_data)
{
  const Job *job_a = g_task_get_task_data ((GTask *) a);
  const Job *job_b = g_task_get_task_data ((GTask *) b);

  if (job_a->kind != job_b->kind)
    return job_a->kind < job_b->kind ? -1 : 1;
  return job_a->seq < job_b->seq ? -1 : job_a->seq > job_b->seq;
}

static void
run_open (GTask    *task,
          Job      *job,
          Document *doc)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(GError) error = NULL;
  Opened *opened = g_new0 (Opened, 1);
  PageInfo *first;

  opened->pages = g_array_new (FALSE, TRUE, sizeof (PageInfo));
  g_array_set_clear_func (opened->pages, page_info_clear);
  if (!document_open (doc, opened->pages, cancellable, &error))
    {
      opened_free (opened);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  opened->kind = doc->kind;

  /* Page 1 at the size the view will show it, if the view's size is known. */
  first = &g_array_index (opened->pages, PageInfo, 0);
  if (job->view_width > 0 && first->error == NULL &&
      !is_cancelled (cancellable, job->document_cancellable))
    {
      double page_width, page_height, width, height;
      int device_width, device_height;

      rotated_size (first->width, first->height, job->rotation, &page_width, &page_height);
      compute_display_size (page_width, page_height, job->mode, job->zoom, job->view_width,
                            job->view_height, PAGE_MARGIN, &width, &height);
      device_size (width, height, job->scale_factor, &device_width, &device_height);
      opened->first = document_render (doc, 0, device_width, device_height, job->rotation, NULL);
      opened->first_rotation = job->rotation;
    }
  g_task_return_pointer (task, opened, opened_free);
}

/* The pool's function: runs one job on the document's thread. */
static void
run_job (gpointer data,
         gpointer user_data)
{
  GTask *task = data;
  Job *job = g_task_get_task_data (task);
  g_autoptr(Document) doc = g_steal_pointer (&job->document);
  g_autoptr(GError) error = NULL;
  cairo_surface_t *surface;

  if (job->kind == JOB_CLOSE)
    {
      g_clear_pointer (&doc, document_unref);
      g_task_return_boolean (task, TRUE);
    }
  else if (is_cancelled (g_task_get_cancellable (task), job->document_cancellable))
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
  else if (job->kind == JOB_OPEN)
    run_open (task, job, doc);
  else
    {
      surface = document_render (doc, job->page, job->width, job->height, job->rotation,
                                 &error);
      if (surface != NULL)
        g_task_return_pointer (task, surface, (GDestroyNotify) cairo_surface_destroy);
      else
        g_task_return_error (task, g_steal_pointer (&error));
    }
  g_object_unref (task);
}

/* The surface as a texture (taking it; no copy: cairo's ARGB32 is GDK's default format). */
static GdkTexture *
texture_new_for_surface (cairo_surface_t *surface)
{
  int width = cairo_image_surface_get_width (surface);
  int height = cairo_image_surface_get_height (surface);
  int stride = cairo_image_surface_get_stride (surface);
  g_autoptr(GBytes) bytes = NULL;

  cairo_surface_flush (surface);
  bytes = g_bytes_new_with_free_func (cairo_image_surface_get_data (surface),
                                      (size_t) stride * height,
                                      (GDestroyNotify) cairo_surface_destroy, surface);
  return gdk_memory_texture_new (width, height, GDK_MEMORY_DEFAULT, bytes, stride);
}

/* ---- the page canvas ---------------------------------------------------------------------- */

/* Draws one page (a texture, or blank paper until it comes) at the size that the page, the zoom
 * and the view give.  In a scrolled view its view is its parent's (the viewport's) size; as a
 * thumbnail, its own. */
#define CHARTA_TYPE_DOCUMENT_CANVAS (charta_document_canvas_get_type ())
G_DECLARE_FINAL_TYPE (ChartaDocumentCanvas, charta_document_canvas, CHARTA, DOCUMENT_CANVAS,
                      GtkWidget)

struct _ChartaDocumentCanvas
{
  GtkWidget parent_instance;

  double page_width;           /* the page at 100 %, rotated; 0 when there is none */
  double page_height;
  ChartaDocumentZoomMode mode;
  double zoom;                 /* for the fixed mode */
  int margin;
  gboolean thumbnail;          /* its own size is the view */
  int view_width;              /* the view at the last allocation; 0 before */
  int view_height;
  GdkTexture *texture;         /* drawn scaled into the page's rectangle; may be NULL */
  void (*view_changed) (gpointer data);
  gpointer view_changed_data;
};

G_DEFINE_FINAL_TYPE (ChartaDocumentCanvas, charta_document_canvas, GTK_TYPE_WIDGET)

static double
canvas_display_size (ChartaDocumentCanvas *canvas,
                     double           *width,
                     double           *height)
{
  if (canvas->page_width <= 0 || (canvas->view_width <= 0 &&
                                  canvas->mode != CHARTA_DOCUMENT_ZOOM_FIXED))
    {
      *width = *height = 0;
      return 0;
    }
  return compute_display_size (canvas->page_width, canvas->page_height, canvas->mode,
                               canvas->zoom, canvas->view_width, canvas->view_height,
                               canvas->margin, width, height);
}

static GtkSizeRequestMode
charta_document_canvas_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
charta_document_canvas_measure (GtkWidget      *widget,
                            GtkOrientation  orientation,
                            int             for_size,
                            int            *minimum,
                            int            *natural,
                            int            *minimum_baseline,
                            int            *natural_baseline)
{
  ChartaDocumentCanvas *canvas = CHARTA_DOCUMENT_CANVAS (widget);
  int size = 2 * canvas->margin;

  if (canvas->page_width > 0 && !canvas->thumbnail)
    {
      if (canvas->mode == CHARTA_DOCUMENT_ZOOM_FIXED)
        size += (int) ceil ((orientation == GTK_ORIENTATION_HORIZONTAL ? canvas->page_width
                                                                      : canvas->page_height) *
                            canvas->zoom);
      else if (canvas->mode == CHARTA_DOCUMENT_ZOOM_FIT_WIDTH &&
               orientation == GTK_ORIENTATION_VERTICAL)
        {
          int width = for_size >= 0 ? for_size : canvas->view_width;

          if (width > 2 * canvas->margin)
            size += (int) ceil ((width - 2 * canvas->margin) * canvas->page_height /
                                canvas->page_width);
        }
    }
  *minimum = *natural = size;
}

static void
charta_document_canvas_size_allocate (GtkWidget *widget,
                                  int        width,
                                  int        height,
                                  int        baseline)
{
  ChartaDocumentCanvas *canvas = CHARTA_DOCUMENT_CANVAS (widget);
  GtkWidget *parent = gtk_widget_get_parent (widget);
  int view_width = width, view_height = height;

  if (!canvas->thumbnail && parent != NULL)
    {
      view_width = gtk_widget_get_width (parent);
      view_height = gtk_widget_get_height (parent);
    }
  if (view_width == canvas->view_width && view_height == canvas->view_height)
    return;
  canvas->view_width = view_width;
  canvas->view_height = view_height;
  if (canvas->view_changed != NULL)
    canvas->view_changed (canvas->view_changed_data);
}

static void
charta_document_canvas_snapshot (GtkWidget   *widget,
                             GtkSnapshot *snapshot)
{
  ChartaDocumentCanvas *canvas = CHARTA_DOCUMENT_CANVAS (widget);
  static const GdkRGBA paper = { 1, 1, 1, 1 };
  static const GdkRGBA shadow = { 0, 0, 0, 0.3 };
  double page_width, page_height;
  GskRoundedRect outline;
  graphene_rect_t rect;
  double x, y;

  canvas_display_size (canvas, &page_width, &page_height);
  if (page_width <= 0 || page_height <= 0)
    return;
  x = floor (MAX (canvas->margin, (gtk_widget_get_width (widget) - page_width) / 2));
  y = floor (MAX (canvas->margin, (gtk_widget_get_height (widget) - page_height) / 2));
  rect = GRAPHENE_RECT_INIT (x, y, page_width, page_height);
  gsk_rounded_rect_init_from_rect (&outline, &rect, 0);
  if (!canvas->thumbnail)
    gtk_snapshot_append_outset_shadow (snapshot, &outline, &shadow, 0, 1, 0, 4);
  gtk_snapshot_append_color (snapshot, &paper, &rect);
  if (canvas->texture != NULL)
    gtk_snapshot_append_texture (snapshot, canvas->texture, &rect);
}

static void
charta_document_canvas_dispose (GObject *object)
{
  ChartaDocumentCanvas *canvas = CHARTA_DOCUMENT_CANVAS (object);

  g_clear_object (&canvas->texture);
  G_OBJECT_CLASS (charta_document_canvas_parent_class)->dispose (object);
}

static void
charta_document_canvas_class_init (ChartaDocumentCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = charta_document_canvas_dispose;
  widget_class->get_request_mode = charta_document_canvas_get_request_mode;
  widget_class->measure = charta_document_canvas_measure;
  widget_class->size_allocate = charta_document_canvas_size_allocate;
  widget_class->snapshot = charta_document_canvas_snapshot;
  gtk_widget_class_set_css_name (widget_class, "documentpage");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
charta_document_canvas_init (ChartaDocumentCanvas *canvas)
{
  canvas->zoom = 1.0;
}

static ChartaDocumentCanvas *
canvas_new (gboolean thumbnail)
{
  ChartaDocumentCanvas *canvas = g_object_new (CHARTA_TYPE_DOCUMENT_CANVAS, NULL);

  canvas->thumbnail = thumbnail;
  canvas->margin = thumbnail ? 0 : PAGE_MARGIN;
  if (thumbnail)
    {
      canvas->mode = CHARTA_DOCUMENT_ZOOM_FIT_PAGE;
      gtk_widget_set_size_request (GTK_WIDGET (canvas), THUMB_WIDTH, THUMB_HEIGHT);
      gtk_widget_set_halign (GTK_WIDGET (canvas), GTK_ALIGN_CENTER);
    }
  return canvas;
}

static void
canvas_set_page (ChartaDocumentCanvas *canvas,
                 double            width,
                 double            height)
{
  if (canvas->page_width == width && canvas->page_height == height)
    return;
  canvas->page_width = width;
  canvas->page_height = height;
  gtk_widget_queue_resize (GTK_WIDGET (canvas));
}

static void
canvas_set_zoom (ChartaDocumentCanvas      *canvas,
                 ChartaDocumentZoomMode mode,
                 double                 zoom)
{
  if (canvas->mode == mode && canvas->zoom == zoom)
    return;
  canvas->mode = mode;
  canvas->zoom = zoom;
  gtk_widget_queue_resize (GTK_WIDGET (canvas));
}

static void
canvas_set_texture (ChartaDocumentCanvas *canvas,
                    GdkTexture       *texture)
{
  if (g_set_object (&canvas->texture, texture))
    gtk_widget_queue_draw (GTK_WIDGET (canvas));
}

/* ---- the viewer --------------------------------------------------------------------------- */

/* A page as the GTK side knows it. */
typedef struct
{
  double width;                /* at 100 %, not rotated */
  double height;
  char *error;                 /* why it cannot be drawn, or NULL */
  GdkTexture *thumbnail;       /* or NULL */
  int thumbnail_rotation;      /* the rotation it was rendered at */
  GCancellable *thumbnail_job; /* the pending render of its thumbnail, or NULL */
} Page;

static void
page_clear (gpointer data)
{
  Page *page = data;

  g_free (page->error);
  g_clear_object (&page->thumbnail);
  if (page->thumbnail_job != NULL)
    g_cancellable_cancel (page->thumbnail_job);
  g_clear_object (&page->thumbnail_job);
}

/* A rendered page, kept for a while. */
typedef struct
{
  unsigned page;
  int width;
  int height;
  int rotation;
  GdkTexture *texture;
} Rendered;

static void
rendered_free (Rendered *rendered)
{
  g_object_unref (rendered->texture);
  g_free (rendered);
}

/* What a render is for: page, device size and rotation. */
typedef struct
{
  unsigned page;
  int width;                   /* 0: none */
  int height;
  int rotation;
} RenderKey;

static gboolean
render_key_equal (const RenderKey *a,
                  const RenderKey *b)
{
  return a->page == b->page && a->width == b->width && a->height == b->height &&
         a->rotation == b->rotation;
}

struct _ChartaDocumentViewer
{
  AdwBin parent_instance;

  GFile *file;
  char *title;
  char *declared;              /* the declared content type */
  Kind kind;                   /* found in the content; KIND_NONE until known */
  char *note;
  ChartaDocumentViewerState state;
  char *no_preview_reason;

  /* The worker side of the current document: NULL when there is none. */
  Document *document;
  GThreadPool *pool;
  GCancellable *cancellable;   /* the document's work */
  unsigned generation;         /* moves on with every document (and on dispose) */
  uint64_t job_seq;

  GArray *pages;               /* Page */
  unsigned page;
  ChartaDocumentZoomMode zoom_mode;
  double zoom;                 /* for the fixed mode */
  double shown_zoom;           /* the scale the current page is shown at; 0: not laid out */
  int rotation;
  GQueue rendered;             /* Rendered, most recently used first, at most CACHE_PAGES */
  GdkTexture *texture;         /* the current page rendered for its size, or NULL */
  RenderKey page_job;          /* what the pending page render is for */
  GCancellable *page_cancellable;
  RenderKey ahead_job;
  GCancellable *ahead_cancellable;
  gboolean first_shown;        /* the first page has been shown: thumbnails may start */
  guint update_source;
  gboolean syncing;            /* setting widgets from the state: ignore their signals */

  GtkStringList *page_names;
  GtkSingleSelection *selection;
  GHashTable *bound;           /* page number → the ChartaDocumentCanvas of its bound row */
  GtkListView *thumbnails_view;
  ChartaDocumentCanvas *canvas;
  GtkFileChooserNative *save_dialog;
  double drag_start_x;
  double drag_start_y;

  AdwToastOverlay *toast_overlay;
  GtkStack *stack;
  GtkSpinner *spinner;
  GtkLabel *page_label;
  GtkLabel *zoom_label;
  GtkToggleButton *fit_width_button;
  GtkToggleButton *fit_page_button;
  GtkLabel *note_label;
  GtkScrolledWindow *thumbnails_scroller;
  GtkScrolledWindow *page_scroller;
  AdwStatusPage *page_error_page;
  AdwStatusPage *no_preview_page;
};

enum
{
  PROP_0,
  PROP_STATE,
  PROP_NO_PREVIEW_REASON,
  PROP_NOTE,
  PROP_CONTENT_TYPE,
  PROP_TITLE,
  PROP_N_PAGES,
  PROP_PAGE,
  PROP_ZOOM,
  PROP_ZOOM_MODE,
  PROP_ROTATION,
  PROP_PAGE_TEXTURE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ChartaDocumentViewer, charta_document_viewer, ADW_TYPE_BIN)

static void update_page (ChartaDocumentViewer *self);
static void request_thumbnails (ChartaDocumentViewer *self);
static void show_no_preview (ChartaDocumentViewer *self,
                             const char           *reason);

static Page *
page_at (ChartaDocumentViewer *self,
         unsigned              index)
{
  g_assert (index < self->pages->len);
  return &g_array_index (self->pages, Page, index);
}

static unsigned
n_pages (ChartaDocumentViewer *self)
{
  return self->state == CHARTA_DOCUMENT_VIEWER_STATE_READY ? self->pages->len : 0;
}

static void
page_rotated_size (ChartaDocumentViewer *self,
                   unsigned              index,
                   double               *width,
                   double               *height)
{
  Page *page = page_at (self, index);

  rotated_size (page->width, page->height, self->rotation, width, height);
}

/* Makes a job and hands it to the document's thread. */
static void
push_job (ChartaDocumentViewer *self,
          Job                  *job,
          GCancellable         *cancellable,
          GAsyncReadyCallback   callback)
{
  GTask *task = g_task_new (self, cancellable, callback, NULL);
  g_autoptr(GError) error = NULL;

  job->seq = ++self->job_seq;
  job->generation = self->generation;
  if (job->document == NULL)
    job->document = document_ref (self->document);
  job->document_cancellable = g_object_ref (self->cancellable);
  g_task_set_source_tag (task, push_job);
  g_task_set_task_data (task, job, job_free);
  /* The pool owns the task's reference; the worker drops it. */
  if (!g_thread_pool_push (self->pool, task, &error))
    g_warning ("No thread for the document: %s", error->message);
}

static Job *
job_new (JobKind kind)
{
  Job *job = g_new0 (Job, 1);

  job->kind = kind;
  return job;
}

/* ---- showing the state -------------------------------------------------------------------- */

static void
set_state (ChartaDocumentViewer     *self,
           ChartaDocumentViewerState state)
{
  static const char *const pages[] = { "empty", "loading", "ready", "no-preview" };

  gtk_stack_set_visible_child_name (self->stack, pages[state]);
  gtk_spinner_set_spinning (self->spinner, state == CHARTA_DOCUMENT_VIEWER_STATE_LOADING);
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_page_texture (ChartaDocumentViewer *self,
                  GdkTexture           *texture)
{
  if (g_set_object (&self->texture, texture))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PAGE_TEXTURE]);
}

/* The labels, buttons and actions that follow the page, zoom and state. */
static void
update_controls (ChartaDocumentViewer *self)
{
  unsigned count = n_pages (self);
  gboolean ready = count > 0;
  g_autofree char *page_text = NULL;
  g_autofree char *zoom_text = NULL;

  if (self->canvas == NULL)
    return;  /* disposed */
  page_text = ready ? g_strdup_printf ("Page %u of %u", self->page + 1, count) : g_strdup ("");
  gtk_label_set_text (self->page_label, page_text);
  zoom_text = self->shown_zoom > 0 ? g_strdup_printf ("%d%%", (int) round (self->shown_zoom *
                                                                            100))
                                   : g_strdup ("");
  gtk_label_set_text (self->zoom_label, zoom_text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->canvas),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, page_text, -1);

  self->syncing = TRUE;
  gtk_toggle_button_set_active (self->fit_width_button,
                                self->zoom_mode == CHARTA_DOCUMENT_ZOOM_FIT_WIDTH);
  gtk_toggle_button_set_active (self->fit_page_button,
                                self->zoom_mode == CHARTA_DOCUMENT_ZOOM_FIT_PAGE);
  self->syncing = FALSE;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "viewer.previous-page",
                                 ready && self->page > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "viewer.first-page",
                                 ready && self->page > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "viewer.next-page",
                                 ready && self->page + 1 < count);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "viewer.last-page",
                                 ready && self->page + 1 < count);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "viewer.zoom-in",
                                 ready && (self->shown_zoom <= 0 ||
                                           self->shown_zoom < MAX_ZOOM - 0.001));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "viewer.zoom-out",
                                 ready && (self->shown_zoom <= 0 ||
                                           self->shown_zoom > MIN_ZOOM + 0.001));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "viewer.fit-width", ready);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "viewer.fit-page", ready);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "viewer.rotate-left", ready);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "viewer.rotate-right", ready);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "viewer.save-copy", self->file != NULL);
}

/* ---- the rendered pages ------------------------------------------------------------------- */

static Rendered *
cache_lookup (ChartaDocumentViewer *self,
              const RenderKey      *key)
{
  for (GList *l = self->rendered.head; l != NULL; l = l->next)
    {
      Rendered *rendered = l->data;
      RenderKey other = { rendered->page, rendered->width, rendered->height,
                          rendered->rotation };

      if (render_key_equal (key, &other))
        {
          g_queue_unlink (&self->rendered, l);
          g_queue_push_head_link (&self->rendered, l);
          return rendered;
        }
    }
  return NULL;
}

static void
cache_add (ChartaDocumentViewer *self,
           const RenderKey      *key,
           GdkTexture           *texture)
{
  Rendered *rendered;

  if (cache_lookup (self, key) != NULL)
    return;
  rendered = g_new0 (Rendered, 1);
  rendered->page = key->page;
  rendered->width = key->width;
  rendered->height = key->height;
  rendered->rotation = key->rotation;
  rendered->texture = g_object_ref (texture);
  g_queue_push_head (&self->rendered, rendered);
  while (self->rendered.length > CACHE_PAGES)
    rendered_free (g_queue_pop_tail (&self->rendered));
}

/* A texture of page @page at the rotation, of any size (to scale while the right one comes). */
static GdkTexture *
cache_any_size (ChartaDocumentViewer *self,
                unsigned              page)
{
  for (GList *l = self->rendered.head; l != NULL; l = l->next)
    {
      Rendered *rendered = l->data;

      if (rendered->page == page && rendered->rotation == self->rotation)
        return rendered->texture;
    }
  return NULL;
}

/* The key for page @index shown in the current view; FALSE while the view's size is unknown. */
static gboolean
target_key (ChartaDocumentViewer *self,
            unsigned              index,
            RenderKey            *key)
{
  double page_width, page_height, width, height;
  ChartaDocumentCanvas *canvas = self->canvas;

  if (canvas->view_width <= 0)
    return FALSE;
  page_rotated_size (self, index, &page_width, &page_height);
  compute_display_size (page_width, page_height, self->zoom_mode, self->zoom,
                        canvas->view_width, canvas->view_height, PAGE_MARGIN, &width, &height);
  key->page = index;
  key->rotation = self->rotation;
  device_size (width, height, gtk_widget_get_scale_factor (GTK_WIDGET (canvas)), &key->width,
               &key->height);
  return TRUE;
}

static void
page_rendered (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  ChartaDocumentViewer *self = CHARTA_DOCUMENT_VIEWER (source);
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  cairo_surface_t *surface = g_task_propagate_pointer (G_TASK (result), &error);
  RenderKey key = { job->page, job->width, job->height, job->rotation };
  g_autoptr(GdkTexture) texture = NULL;
  RenderKey *pending = job->kind == JOB_PAGE ? &self->page_job : &self->ahead_job;

  if (job->generation != self->generation)
    {
      g_clear_pointer (&surface, cairo_surface_destroy);
      return;
    }
  if (render_key_equal (pending, &key))
    pending->width = 0;
  if (surface == NULL)
    {
      Page *page;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      page = page_at (self, job->page);
      if (page->error == NULL)
        page->error = g_strdup (error->message);
      g_debug ("Page %u cannot be drawn: %s", job->page + 1, error->message);
      if (self->pages->len == 1)
        {
          /* A document of one page that cannot be drawn is no preview at all. */
          g_autofree char *reason = g_strdup_printf ("“%s” cannot be shown: %s.", self->title,
                                                     error->message);

          show_no_preview (self, reason);
        }
      else if (job->page == self->page)
        update_page (self);
      return;
    }
  texture = texture_new_for_surface (surface);
  cache_add (self, &key, texture);
  if (job->page == self->page)
    update_page (self);
}

static void
render_ahead (ChartaDocumentViewer *self)
{
  RenderKey key;
  Job *job;

  if (self->page + 1 >= self->pages->len || page_at (self, self->page + 1)->error != NULL ||
      !target_key (self, self->page + 1, &key) || cache_lookup (self, &key) != NULL ||
      render_key_equal (&self->ahead_job, &key))
    return;
  if (self->ahead_cancellable != NULL)
    g_cancellable_cancel (self->ahead_cancellable);
  g_clear_object (&self->ahead_cancellable);
  self->ahead_cancellable = g_cancellable_new ();
  self->ahead_job = key;
  job = job_new (JOB_AHEAD);
  job->page = key.page;
  job->width = key.width;
  job->height = key.height;
  job->rotation = key.rotation;
  push_job (self, job, self->ahead_cancellable, page_rendered);
}

/* Shows the current page: its error, its texture from the cache, or a render on the way (with
 * the page at another size scaled meanwhile). */
static void
update_page (ChartaDocumentViewer *self)
{
  Page *page;
  double page_width, page_height, shown_width, shown_height, zoom;
  RenderKey key;
  Rendered *rendered;
  Job *job;

  if (self->state != CHARTA_DOCUMENT_VIEWER_STATE_READY || self->pages->len == 0)
    return;
  page = page_at (self, self->page);
  page_rotated_size (self, self->page, &page_width, &page_height);
  canvas_set_page (self->canvas, page_width, page_height);
  canvas_set_zoom (self->canvas, self->zoom_mode, self->zoom);

  zoom = canvas_display_size (self->canvas, &shown_width, &shown_height);
  if (zoom != self->shown_zoom)
    {
      self->shown_zoom = zoom;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
    }
  update_controls (self);

  if (page->error != NULL)
    {
      g_autofree char *description = g_strdup_printf ("Page %u of “%s” could not be drawn: %s.",
                                                      self->page + 1, self->title, page->error);

      adw_status_page_set_description (self->page_error_page, description);
      gtk_widget_set_visible (GTK_WIDGET (self->page_error_page), TRUE);
      gtk_widget_set_visible (GTK_WIDGET (self->canvas), FALSE);
      canvas_set_texture (self->canvas, NULL);
      set_page_texture (self, NULL);
      if (!self->first_shown)
        {
          self->first_shown = TRUE;
          request_thumbnails (self);
        }
      return;
    }
  gtk_widget_set_visible (GTK_WIDGET (self->page_error_page), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->canvas), TRUE);

  if (!target_key (self, self->page, &key))
    return;
  rendered = cache_lookup (self, &key);
  if (rendered != NULL)
    {
      canvas_set_texture (self->canvas, rendered->texture);
      set_page_texture (self, rendered->texture);
      if (!self->first_shown)
        {
          self->first_shown = TRUE;
          request_thumbnails (self);
        }
      render_ahead (self);
      return;
    }

  set_page_texture (self, NULL);
  canvas_set_texture (self->canvas, cache_any_size (self, self->page));
  if (render_key_equal (&self->page_job, &key))
    return;
  if (self->page_cancellable != NULL)
    g_cancellable_cancel (self->page_cancellable);
  g_clear_object (&self->page_cancellable);
  self->page_cancellable = g_cancellable_new ();
  self->page_job = key;
  job = job_new (JOB_PAGE);
  job->page = key.page;
  job->width = key.width;
  job->height = key.height;
  job->rotation = key.rotation;
  push_job (self, job, self->page_cancellable, page_rendered);
}

static gboolean
update_in_idle (gpointer data)
{
  ChartaDocumentViewer *self = data;

  self->update_source = 0;
  update_page (self);
  return G_SOURCE_REMOVE;
}

/* The view's size changed (the canvas was allocated): update after this layout. */
static void
view_changed (gpointer data)
{
  ChartaDocumentViewer *self = data;

  if (self->update_source == 0)
    self->update_source = g_idle_add_full (G_PRIORITY_HIGH_IDLE, update_in_idle, self, NULL);
}

/* ---- thumbnails --------------------------------------------------------------------------- */

static void
thumbnail_rendered (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  ChartaDocumentViewer *self = CHARTA_DOCUMENT_VIEWER (source);
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  cairo_surface_t *surface = g_task_propagate_pointer (G_TASK (result), &error);
  ChartaDocumentCanvas *canvas;
  Page *page;

  if (job->generation != self->generation ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_pointer (&surface, cairo_surface_destroy);
      return;
    }
  page = page_at (self, job->page);
  g_clear_object (&page->thumbnail_job);
  if (surface == NULL)
    {
      if (page->error == NULL)
        page->error = g_strdup (error->message);
      return;
    }
  g_clear_object (&page->thumbnail);
  page->thumbnail = texture_new_for_surface (surface);
  page->thumbnail_rotation = job->rotation;
  canvas = g_hash_table_lookup (self->bound, GUINT_TO_POINTER (job->page));
  if (canvas != NULL && job->rotation == self->rotation)
    canvas_set_texture (canvas, page->thumbnail);
}

static void
request_thumbnail (ChartaDocumentViewer *self,
                   unsigned              index)
{
  Page *page = page_at (self, index);
  double page_width, page_height, width, height;
  Job *job;

  if (!self->first_shown || page->error != NULL || page->thumbnail_job != NULL ||
      (page->thumbnail != NULL && page->thumbnail_rotation == self->rotation))
    return;
  page_rotated_size (self, index, &page_width, &page_height);
  compute_display_size (page_width, page_height, CHARTA_DOCUMENT_ZOOM_FIT_PAGE, 0, THUMB_WIDTH,
                        THUMB_HEIGHT, 0, &width, &height);
  job = job_new (JOB_THUMBNAIL);
  job->page = index;
  job->rotation = self->rotation;
  device_size (width, height, gtk_widget_get_scale_factor (GTK_WIDGET (self)), &job->width,
               &job->height);
  page->thumbnail_job = g_cancellable_new ();
  push_job (self, job, page->thumbnail_job, thumbnail_rendered);
}

static int
compare_indexes (gconstpointer a,
                 gconstpointer b)
{
  unsigned index_a = GPOINTER_TO_UINT (a);
  unsigned index_b = GPOINTER_TO_UINT (b);

  return index_a < index_b ? -1 : index_a > index_b;
}

/* Thumbnails for the rows on screen, from the top. */
static void
request_thumbnails (ChartaDocumentViewer *self)
{
  g_autoptr(GList) indexes = NULL;

  if (self->bound == NULL || self->state != CHARTA_DOCUMENT_VIEWER_STATE_READY)
    return;
  indexes = g_list_sort (g_hash_table_get_keys (self->bound), compare_indexes);
  for (GList *l = indexes; l != NULL; l = l->next)
    request_thumbnail (self, GPOINTER_TO_UINT (l->data));
}

static void
thumbnail_setup (GtkSignalListItemFactory *factory,
                 GtkListItem              *item,
                 gpointer                  user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *label = gtk_label_new (NULL);

  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (canvas_new (TRUE)));
  gtk_widget_add_css_class (label, "caption");
  gtk_widget_add_css_class (label, "numeric");
  gtk_box_append (GTK_BOX (box), label);
  gtk_list_item_set_child (item, box);
}

static void
thumbnail_bind (GtkSignalListItemFactory *factory,
                GtkListItem              *item,
                ChartaDocumentViewer     *self)
{
  unsigned index = gtk_list_item_get_position (item);
  GtkWidget *box = gtk_list_item_get_child (item);
  ChartaDocumentCanvas *canvas = CHARTA_DOCUMENT_CANVAS (gtk_widget_get_first_child (box));
  GtkLabel *label = GTK_LABEL (gtk_widget_get_last_child (box));
  g_autofree char *number = g_strdup_printf ("%u", index + 1);
  g_autofree char *name = g_strdup_printf ("Page %u", index + 1);
  double width, height;
  Page *page;

  if (self->bound == NULL || index >= n_pages (self))
    return;
  page = page_at (self, index);
  page_rotated_size (self, index, &width, &height);
  canvas_set_page (canvas, width, height);
  canvas_set_texture (canvas, page->thumbnail_rotation == self->rotation ? page->thumbnail
                                                                           : NULL);
  gtk_label_set_text (label, number);
  gtk_accessible_update_property (GTK_ACCESSIBLE (box), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
  g_hash_table_insert (self->bound, GUINT_TO_POINTER (index), canvas);
  request_thumbnail (self, index);
}

static void
thumbnail_unbind (GtkSignalListItemFactory *factory,
                  GtkListItem              *item,
                  ChartaDocumentViewer     *self)
{
  GtkWidget *box = gtk_list_item_get_child (item);
  ChartaDocumentCanvas *canvas = CHARTA_DOCUMENT_CANVAS (gtk_widget_get_first_child (box));
  GHashTableIter iter;
  gpointer key, value;

  canvas_set_texture (canvas, NULL);
  if (self->bound == NULL)
    return;
  /* By the canvas, not the position: positions move when the list is emptied. */
  g_hash_table_iter_init (&iter, self->bound);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (value == canvas)
      {
        unsigned index = GPOINTER_TO_UINT (key);

        g_hash_table_iter_remove (&iter);
        /* A row scrolled away before its thumbnail came: not needed any more. */
        if (index < n_pages (self) && page_at (self, index)->thumbnail_job != NULL)
          {
            g_cancellable_cancel (page_at (self, index)->thumbnail_job);
            g_clear_object (&page_at (self, index)->thumbnail_job);
          }
        break;
      }
}

/* ---- pages, zoom and rotation ------------------------------------------------------------- */

static void
scroll_to_top (ChartaDocumentViewer *self)
{
  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (self->page_scroller), 0);
  gtk_adjustment_set_value (gtk_scrolled_window_get_hadjustment (self->page_scroller), 0);
}

static void
show_page (ChartaDocumentViewer *self,
           unsigned              index)
{
  unsigned count = n_pages (self);

  if (count == 0)
    return;
  index = MIN (index, count - 1);
  if (index != self->page)
    {
      self->page = index;
      scroll_to_top (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PAGE]);
    }
  if (gtk_single_selection_get_selected (self->selection) != index)
    {
      self->syncing = TRUE;
      gtk_single_selection_set_selected (self->selection, index);
      self->syncing = FALSE;
    }
  gtk_widget_activate_action (GTK_WIDGET (self->thumbnails_view), "list.scroll-to-item", "u",
                              index);
  update_page (self);
}

static void
thumbnail_selected (GtkSingleSelection   *selection,
                    GParamSpec           *pspec,
                    ChartaDocumentViewer *self)
{
  unsigned selected = gtk_single_selection_get_selected (selection);

  if (self->syncing || selected == GTK_INVALID_LIST_POSITION)
    return;
  show_page (self, selected);
}

static void
set_zoom_mode (ChartaDocumentViewer  *self,
               ChartaDocumentZoomMode mode,
               double                 zoom)
{
  double old_zoom = charta_document_viewer_get_zoom (self);
  gboolean mode_changed = mode != self->zoom_mode;

  self->zoom_mode = mode;
  if (mode == CHARTA_DOCUMENT_ZOOM_FIXED)
    self->zoom = zoom;
  if (mode_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM_MODE]);
  if (self->state == CHARTA_DOCUMENT_VIEWER_STATE_READY)
    update_page (self);
  else if (charta_document_viewer_get_zoom (self) != old_zoom)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
  update_controls (self);
}

static void
zoom_step (ChartaDocumentViewer *self,
           int                   direction)
{
  double current = self->shown_zoom > 0 ? self->shown_zoom : self->zoom;
  double zoom = direction > 0 ? MAX_ZOOM : MIN_ZOOM;

  if (direction > 0)
    {
      for (unsigned i = 0; i < G_N_ELEMENTS (zoom_steps); i++)
        if (zoom_steps[i] > current * 1.001)
          {
            zoom = zoom_steps[i];
            break;
          }
    }
  else
    {
      for (unsigned i = G_N_ELEMENTS (zoom_steps); i > 0; i--)
        if (zoom_steps[i - 1] < current * 0.999)
          {
            zoom = zoom_steps[i - 1];
            break;
          }
    }
  set_zoom_mode (self, CHARTA_DOCUMENT_ZOOM_FIXED, zoom);
}

/* Scrolls the page by @step along @adjustment; FALSE when it cannot move that way. */
static gboolean
scroll_by (GtkAdjustment *adjustment,
           double         step)
{
  double value = gtk_adjustment_get_value (adjustment);
  double lower = gtk_adjustment_get_lower (adjustment);
  double upper = gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment);

  if ((step > 0 && value >= upper - 0.5) || (step < 0 && value <= lower + 0.5))
    return FALSE;
  gtk_adjustment_set_value (adjustment, CLAMP (value + step, lower, upper));
  return TRUE;
}

static gboolean
key_pressed (GtkEventControllerKey *controller,
             guint                  keyval,
             guint                  keycode,
             GdkModifierType        state,
             ChartaDocumentViewer  *self)
{
  GdkModifierType modifiers = state & gtk_accelerator_get_default_mod_mask ();
  GtkAdjustment *vertical, *horizontal;

  if (self->state != CHARTA_DOCUMENT_VIEWER_STATE_READY)
    return FALSE;
  vertical = gtk_scrolled_window_get_vadjustment (self->page_scroller);
  horizontal = gtk_scrolled_window_get_hadjustment (self->page_scroller);

  if (modifiers & GDK_CONTROL_MASK)
    {
      if (modifiers & ~(GDK_CONTROL_MASK | GDK_SHIFT_MASK))
        return FALSE;
      switch (keyval)
        {
        case GDK_KEY_plus:
        case GDK_KEY_equal:
        case GDK_KEY_KP_Add:
          zoom_step (self, 1);
          return TRUE;
        case GDK_KEY_minus:
        case GDK_KEY_underscore:
        case GDK_KEY_KP_Subtract:
          zoom_step (self, -1);
          return TRUE;
        case GDK_KEY_0:
        case GDK_KEY_KP_0:
          set_zoom_mode (self, CHARTA_DOCUMENT_ZOOM_FIT_WIDTH, self->zoom);
          return TRUE;
        case GDK_KEY_r:
        case GDK_KEY_R:
          charta_document_viewer_set_rotation (self, self->rotation +
                                               (modifiers & GDK_SHIFT_MASK ? -90 : 90));
          return TRUE;
        default:
          return FALSE;
        }
    }
  if (modifiers != 0)
    return FALSE;
  switch (keyval)
    {
    case GDK_KEY_Page_Down:
    case GDK_KEY_KP_Page_Down:
      show_page (self, self->page + 1);
      return TRUE;
    case GDK_KEY_Page_Up:
    case GDK_KEY_KP_Page_Up:
      if (self->page > 0)
        show_page (self, self->page - 1);
      return TRUE;
    case GDK_KEY_Home:
    case GDK_KEY_KP_Home:
      show_page (self, 0);
      return TRUE;
    case GDK_KEY_End:
    case GDK_KEY_KP_End:
      show_page (self, n_pages (self) - 1);
      return TRUE;
    case GDK_KEY_Down:
    case GDK_KEY_KP_Down:
      if (!scroll_by (vertical, ARROW_STEP))
        show_page (self, self->page + 1);
      return TRUE;
    case GDK_KEY_Right:
    case GDK_KEY_KP_Right:
      if (!scroll_by (horizontal, ARROW_STEP))
        show_page (self, self->page + 1);
      return TRUE;
    case GDK_KEY_Up:
    case GDK_KEY_KP_Up:
      if (!scroll_by (vertical, -ARROW_STEP) && self->page > 0)
        show_page (self, self->page - 1);
      return TRUE;
    case GDK_KEY_Left:
    case GDK_KEY_KP_Left:
      if (!scroll_by (horizontal, -ARROW_STEP) && self->page > 0)
        show_page (self, self->page - 1);
      return TRUE;
    default:
      return FALSE;
    }
}

/* Ctrl + the wheel zooms; the wheel alone scrolls (the scrolled window's). */
static gboolean
canvas_scrolled (GtkEventControllerScroll *controller,
                 double                    dx,
                 double                    dy,
                 ChartaDocumentViewer     *self)
{
  GdkModifierType state =
    gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));

  if (!(state & GDK_CONTROL_MASK) || dy == 0 ||
      self->state != CHARTA_DOCUMENT_VIEWER_STATE_READY)
    return FALSE;
  zoom_step (self, dy < 0 ? 1 : -1);
  return TRUE;
}

static void
canvas_pressed (GtkGestureClick      *gesture,
                int                   n_press,
                double                x,
                double                y,
                ChartaDocumentViewer *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->canvas));
}

/* Dragging the page moves it (as the scroll bars would). */
static void
drag_begin (GtkGestureDrag       *gesture,
            double                x,
            double                y,
            ChartaDocumentViewer *self)
{
  self->drag_start_x = gtk_adjustment_get_value (
    gtk_scrolled_window_get_hadjustment (self->page_scroller));
  self->drag_start_y = gtk_adjustment_get_value (
    gtk_scrolled_window_get_vadjustment (self->page_scroller));
}

static void
drag_update (GtkGestureDrag       *gesture,
             double                dx,
             double                dy,
             ChartaDocumentViewer *self)
{
  gtk_adjustment_set_value (gtk_scrolled_window_get_hadjustment (self->page_scroller),
                            self->drag_start_x - dx);
  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (self->page_scroller),
                            self->drag_start_y - dy);
}

static void
fit_width_toggled (GtkToggleButton      *button,
                   ChartaDocumentViewer *self)
{
  if (self->syncing)
    return;
  if (gtk_toggle_button_get_active (button))
    set_zoom_mode (self, CHARTA_DOCUMENT_ZOOM_FIT_WIDTH, self->zoom);
  else
    update_controls (self);
}

static void
fit_page_toggled (GtkToggleButton      *button,
                  ChartaDocumentViewer *self)
{
  if (self->syncing)
    return;
  if (gtk_toggle_button_get_active (button))
    set_zoom_mode (self, CHARTA_DOCUMENT_ZOOM_FIT_PAGE, self->zoom);
  else
    update_controls (self);
}

/* ---- loading and forgetting --------------------------------------------------------------- */

/* Cancels the document's work and closes it on its thread; forgets its pages. */
static void
forget_document (ChartaDocumentViewer *self)
{
  self->generation++;
  g_clear_handle_id (&self->update_source, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (self->page_cancellable != NULL)
    g_cancellable_cancel (self->page_cancellable);
  if (self->ahead_cancellable != NULL)
    g_cancellable_cancel (self->ahead_cancellable);
  g_clear_object (&self->page_cancellable);
  g_clear_object (&self->ahead_cancellable);
  self->page_job.width = self->ahead_job.width = 0;
  if (self->pool != NULL)
    {
      /* The close job takes the viewer's reference and runs last on the document's thread,
       * after whatever is still queued there (which returns cancelled at once): the last
       * reference goes there, so poppler and libtiff are closed off the GTK thread. */
      Job *job = job_new (JOB_CLOSE);

      job->document = g_steal_pointer (&self->document);
      push_job (self, job, NULL, NULL);
      g_thread_pool_free (g_steal_pointer (&self->pool), FALSE, FALSE);
    }
  g_clear_pointer (&self->document, document_unref);
  g_clear_object (&self->cancellable);

  g_queue_clear_full (&self->rendered, (GDestroyNotify) rendered_free);
  g_array_set_size (self->pages, 0);
  self->first_shown = FALSE;
  self->page = 0;
  self->shown_zoom = 0;
  self->kind = KIND_NONE;
  g_clear_pointer (&self->note, g_free);
  g_clear_pointer (&self->no_preview_reason, g_free);
  if (self->canvas != NULL)
    {
      canvas_set_texture (self->canvas, NULL);
      canvas_set_page (self->canvas, 0, 0);
    }
  if (self->page_names != NULL)
    gtk_string_list_splice (self->page_names, 0,
                            g_list_model_get_n_items (G_LIST_MODEL (self->page_names)), NULL);
  set_page_texture (self, NULL);
}

static void
show_no_preview (ChartaDocumentViewer *self,
                 const char           *reason)
{
  g_free (self->no_preview_reason);
  self->no_preview_reason = g_strdup (reason);
  adw_status_page_set_description (self->no_preview_page, reason);
  g_debug ("No preview: %s", reason);
  set_state (self, CHARTA_DOCUMENT_VIEWER_STATE_NO_PREVIEW);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NO_PREVIEW_REASON]);
  update_controls (self);
}

static void
document_opened (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  ChartaDocumentViewer *self = CHARTA_DOCUMENT_VIEWER (source);
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  Opened *opened = g_task_propagate_pointer (G_TASK (result), &error);
  g_autoptr(GPtrArray) names = NULL;
  Kind declared;

  if (job->generation != self->generation)
    {
      g_clear_pointer (&opened, opened_free);
      return;
    }
  if (opened == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_no_preview (self, error->message);
      return;
    }

  self->kind = opened->kind;
  declared = declared_kind (self->declared);
  if (declared != KIND_NONE && declared != self->kind)
    {
      if (declared == KIND_OTHER)
        self->note = g_strdup_printf ("Sent as %s, but it is %s: shown as that.", self->declared,
                                      kind_words (self->kind));
      else
        self->note = g_strdup_printf ("Sent as %s (%s), but it is %s: shown as that.",
                                      kind_words (declared), self->declared,
                                      kind_words (self->kind));
    }
  for (unsigned i = 0; i < opened->pages->len; i++)
    {
      PageInfo *info = &g_array_index (opened->pages, PageInfo, i);
      Page page = { info->width, info->height, g_steal_pointer (&info->error), NULL, 0, NULL };

      g_array_append_val (self->pages, page);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONTENT_TYPE]);

  /* A document of one page that cannot be drawn is no preview at all. */
  if (self->pages->len == 1 && page_at (self, 0)->error != NULL)
    {
      g_autofree char *reason = g_strdup_printf ("“%s” cannot be shown: %s.", self->title,
                                                 page_at (self, 0)->error);

      show_no_preview (self, reason);
      opened_free (opened);
      return;
    }

  if (opened->first != NULL)
    {
      RenderKey key = { 0, cairo_image_surface_get_width (opened->first),
                        cairo_image_surface_get_height (opened->first),
                        opened->first_rotation };
      g_autoptr(GdkTexture) texture = texture_new_for_surface (g_steal_pointer (&opened->first));

      cache_add (self, &key, texture);
    }
  opened_free (opened);

  gtk_label_set_text (self->note_label, self->note != NULL ? self->note : "");
  gtk_widget_set_visible (GTK_WIDGET (self->note_label), self->note != NULL);
  if (self->note != NULL)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NOTE]);
  gtk_widget_set_visible (GTK_WIDGET (self->thumbnails_scroller), self->pages->len > 1);
  names = g_ptr_array_new_full (self->pages->len + 1, g_free);
  for (unsigned i = 0; i < self->pages->len; i++)
    g_ptr_array_add (names, g_strdup_printf ("%u", i + 1));
  g_ptr_array_add (names, NULL);

  set_state (self, CHARTA_DOCUMENT_VIEWER_STATE_READY);
  self->syncing = TRUE;
  gtk_string_list_splice (self->page_names, 0, 0, (const char *const *) names->pdata);
  gtk_single_selection_set_selected (self->selection, 0);
  self->syncing = FALSE;
  scroll_to_top (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_PAGES]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PAGE]);
  update_page (self);
}

/* ---- saving a copy ------------------------------------------------------------------------ */

static void
copy_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (g_file_copy_finish (G_FILE (source), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

void
charta_document_viewer_save_copy_async (ChartaDocumentViewer *self,
                                        GFile                *destination,
                                        GCancellable         *cancellable,
                                        GAsyncReadyCallback   callback,
                                        gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self));
  g_return_if_fail (G_IS_FILE (destination));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, charta_document_viewer_save_copy_async);
  if (self->file == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               "There is no document to save.");
      return;
    }
  g_file_copy_async (self->file, destination, G_FILE_COPY_OVERWRITE, G_PRIORITY_DEFAULT,
                     cancellable, NULL, NULL, copy_done, g_steal_pointer (&task));
}

gboolean
charta_document_viewer_save_copy_finish (ChartaDocumentViewer *self,
                                         GAsyncResult         *result,
                                         GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
toast (ChartaDocumentViewer *self,
       const char           *text)
{
  g_autofree char *escaped = g_markup_escape_text (text, -1);

  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (escaped));
}

static void
copy_saved (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  ChartaDocumentViewer *self = CHARTA_DOCUMENT_VIEWER (source);
  g_autoptr(GFile) destination = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_file_get_parse_name (destination);
  g_autofree char *text = NULL;

  if (charta_document_viewer_save_copy_finish (self, result, &error))
    text = g_strdup_printf ("Saved a copy as “%s”", name);
  else
    text = g_strdup_printf ("Could not save a copy as “%s”: %s", name, error->message);
  if (self->toast_overlay != NULL)
    toast (self, text);
}

static void
save_dialog_response (GtkNativeDialog      *dialog,
                      int                   response,
                      ChartaDocumentViewer *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      GFile *destination = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (destination != NULL)
        charta_document_viewer_save_copy_async (self, destination, NULL, copy_saved,
                                                destination);
    }
  gtk_native_dialog_destroy (dialog);
  g_clear_object (&self->save_dialog);
}

/* The name offered in the dialog: the title, with the extension of the type found. */
static char *
suggested_name (ChartaDocumentViewer *self)
{
  static const char *const extensions[] = { "", ".pdf", ".png", ".jpg", ".tif", "" };
  const char *extension = extensions[self->kind];
  g_autofree char *name = g_strdelimit (g_strdup (self->title), "/\\", '-');

  if (*extension == '\0' || g_str_has_suffix (name, extension) ||
      (self->kind == KIND_JPEG && g_str_has_suffix (name, ".jpeg")) ||
      (self->kind == KIND_TIFF && g_str_has_suffix (name, ".tiff")))
    return g_steal_pointer (&name);
  return g_strconcat (name, extension, NULL);
}

static void
save_copy_activated (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  ChartaDocumentViewer *self = CHARTA_DOCUMENT_VIEWER (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autofree char *name = NULL;

  if (self->file == NULL || self->save_dialog != NULL)
    return;
  self->save_dialog = gtk_file_chooser_native_new ("Save a Copy",
                                                   GTK_IS_WINDOW (root) ? GTK_WINDOW (root)
                                                                        : NULL,
                                                   GTK_FILE_CHOOSER_ACTION_SAVE, "_Save",
                                                   "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->save_dialog), TRUE);
  name = suggested_name (self);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->save_dialog), name);
  g_signal_connect (self->save_dialog, "response", G_CALLBACK (save_dialog_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->save_dialog));
}

/* ---- actions ------------------------------------------------------------------------------ */

static void
page_activated (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  ChartaDocumentViewer *self = CHARTA_DOCUMENT_VIEWER (widget);

  if (g_str_equal (action_name, "viewer.next-page"))
    show_page (self, self->page + 1);
  else if (g_str_equal (action_name, "viewer.previous-page") && self->page > 0)
    show_page (self, self->page - 1);
  else if (g_str_equal (action_name, "viewer.first-page"))
    show_page (self, 0);
  else if (g_str_equal (action_name, "viewer.last-page") && n_pages (self) > 0)
    show_page (self, n_pages (self) - 1);
}

static void
zoom_activated (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  ChartaDocumentViewer *self = CHARTA_DOCUMENT_VIEWER (widget);

  if (g_str_equal (action_name, "viewer.zoom-in"))
    zoom_step (self, 1);
  else if (g_str_equal (action_name, "viewer.zoom-out"))
    zoom_step (self, -1);
  else if (g_str_equal (action_name, "viewer.fit-width"))
    set_zoom_mode (self, CHARTA_DOCUMENT_ZOOM_FIT_WIDTH, self->zoom);
  else if (g_str_equal (action_name, "viewer.fit-page"))
    set_zoom_mode (self, CHARTA_DOCUMENT_ZOOM_FIT_PAGE, self->zoom);
}

static void
rotate_activated (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  ChartaDocumentViewer *self = CHARTA_DOCUMENT_VIEWER (widget);

  charta_document_viewer_set_rotation (self, self->rotation +
                                       (g_str_equal (action_name, "viewer.rotate-left") ? -90
                                                                                        : 90));
}

/* ---- the object --------------------------------------------------------------------------- */

static void
charta_document_viewer_dispose (GObject *object)
{
  ChartaDocumentViewer *self = CHARTA_DOCUMENT_VIEWER (object);

  forget_document (self);
  /* Later callbacks (the jobs hold the viewer until they are done) see another generation and
   * the widgets gone. */
  g_clear_pointer (&self->bound, g_hash_table_unref);
  if (self->save_dialog != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->save_dialog, self);
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->save_dialog));
      g_clear_object (&self->save_dialog);
    }
  if (self->selection != NULL)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  g_clear_object (&self->selection);
  g_clear_object (&self->page_names);
  if (self->canvas != NULL)
    self->canvas->view_changed = NULL;
  self->canvas = NULL;
  self->thumbnails_view = NULL;
  self->toast_overlay = NULL;

  G_OBJECT_CLASS (charta_document_viewer_parent_class)->dispose (object);
}

static void
charta_document_viewer_finalize (GObject *object)
{
  ChartaDocumentViewer *self = CHARTA_DOCUMENT_VIEWER (object);

  g_assert (self->pool == NULL && self->document == NULL);
  g_clear_object (&self->file);
  g_free (self->title);
  g_free (self->declared);
  g_free (self->note);
  g_free (self->no_preview_reason);
  g_array_unref (self->pages);

  G_OBJECT_CLASS (charta_document_viewer_parent_class)->finalize (object);
}

static void
charta_document_viewer_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  ChartaDocumentViewer *self = CHARTA_DOCUMENT_VIEWER (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_NO_PREVIEW_REASON:
      g_value_set_string (value, charta_document_viewer_get_no_preview_reason (self));
      break;
    case PROP_NOTE:
      g_value_set_string (value, self->note);
      break;
    case PROP_CONTENT_TYPE:
      g_value_set_string (value, charta_document_viewer_get_content_type (self));
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_N_PAGES:
      g_value_set_uint (value, n_pages (self));
      break;
    case PROP_PAGE:
      g_value_set_uint (value, self->page);
      break;
    case PROP_ZOOM:
      g_value_set_double (value, charta_document_viewer_get_zoom (self));
      break;
    case PROP_ZOOM_MODE:
      g_value_set_enum (value, self->zoom_mode);
      break;
    case PROP_ROTATION:
      g_value_set_int (value, self->rotation);
      break;
    case PROP_PAGE_TEXTURE:
      g_value_set_object (value, self->texture);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_document_viewer_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  ChartaDocumentViewer *self = CHARTA_DOCUMENT_VIEWER (object);

  switch (prop_id)
    {
    case PROP_PAGE:
      charta_document_viewer_set_page (self, g_value_get_uint (value));
      break;
    case PROP_ZOOM:
      charta_document_viewer_set_zoom (self, g_value_get_double (value));
      break;
    case PROP_ZOOM_MODE:
      charta_document_viewer_set_zoom_mode (self, g_value_get_enum (value));
      break;
    case PROP_ROTATION:
      charta_document_viewer_set_rotation (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_document_viewer_class_init (ChartaDocumentViewerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = charta_document_viewer_dispose;
  object_class->finalize = charta_document_viewer_finalize;
  object_class->get_property = charta_document_viewer_get_property;
  object_class->set_property = charta_document_viewer_set_property;

  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, CHARTA_TYPE_DOCUMENT_VIEWER_STATE,
                       CHARTA_DOCUMENT_VIEWER_STATE_EMPTY,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_NO_PREVIEW_REASON] =
    g_param_spec_string ("no-preview-reason", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_NOTE] =
    g_param_spec_string ("note", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONTENT_TYPE] =
    g_param_spec_string ("content-type", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_PAGES] =
    g_param_spec_uint ("n-pages", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_PAGE] =
    g_param_spec_uint ("page", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ZOOM] =
    g_param_spec_double ("zoom", NULL, NULL, 0, G_MAXDOUBLE, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ZOOM_MODE] =
    g_param_spec_enum ("zoom-mode", NULL, NULL, CHARTA_TYPE_DOCUMENT_ZOOM_MODE,
                       CHARTA_DOCUMENT_ZOOM_FIT_WIDTH,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ROTATION] =
    g_param_spec_int ("rotation", NULL, NULL, G_MININT, G_MAXINT, 0,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PAGE_TEXTURE] =
    g_param_spec_object ("page-texture", NULL, NULL, GDK_TYPE_TEXTURE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/charta/Desktop/charta-document-viewer.ui");
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentViewer, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentViewer, stack);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentViewer, spinner);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentViewer, page_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentViewer, zoom_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentViewer, fit_width_button);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentViewer, fit_page_button);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentViewer, note_label);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentViewer,
                                        thumbnails_scroller);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentViewer, page_scroller);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentViewer, page_error_page);
  gtk_widget_class_bind_template_child (widget_class, ChartaDocumentViewer, no_preview_page);
  gtk_widget_class_bind_template_callback (widget_class, fit_width_toggled);
  gtk_widget_class_bind_template_callback (widget_class, fit_page_toggled);

  gtk_widget_class_install_action (widget_class, "viewer.previous-page", NULL, page_activated);
  gtk_widget_class_install_action (widget_class, "viewer.next-page", NULL, page_activated);
  gtk_widget_class_install_action (widget_class, "viewer.first-page", NULL, page_activated);
  gtk_widget_class_install_action (widget_class, "viewer.last-page", NULL, page_activated);
  gtk_widget_class_install_action (widget_class, "viewer.zoom-in", NULL, zoom_activated);
  gtk_widget_class_install_action (widget_class, "viewer.zoom-out", NULL, zoom_activated);
  gtk_widget_class_install_action (widget_class, "viewer.fit-width", NULL, zoom_activated);
  gtk_widget_class_install_action (widget_class, "viewer.fit-page", NULL, zoom_activated);
  gtk_widget_class_install_action (widget_class, "viewer.rotate-left", NULL, rotate_activated);
  gtk_widget_class_install_action (widget_class, "viewer.rotate-right", NULL, rotate_activated);
  gtk_widget_class_install_action (widget_class, "viewer.save-copy", NULL, save_copy_activated);
}

static void
charta_document_viewer_init (ChartaDocumentViewer *self)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  GtkEventController *controller;
  GtkGesture *gesture;
  GtkWidget *viewport;

  self->pages = g_array_new (FALSE, TRUE, sizeof (Page));
  g_array_set_clear_func (self->pages, page_clear);
  self->bound = g_hash_table_new (NULL, NULL);
  self->zoom = 1.0;
  g_queue_init (&self->rendered);

  gtk_widget_init_template (GTK_WIDGET (self));

  /* The page: a canvas in a viewport that does not scroll to it when it takes the focus. */
  self->canvas = canvas_new (FALSE);
  self->canvas->view_changed = view_changed;
  self->canvas->view_changed_data = self;
  gtk_widget_set_focusable (GTK_WIDGET (self->canvas), TRUE);
  viewport = gtk_viewport_new (NULL, NULL);
  gtk_viewport_set_scroll_to_focus (GTK_VIEWPORT (viewport), FALSE);
  gtk_viewport_set_child (GTK_VIEWPORT (viewport), GTK_WIDGET (self->canvas));
  gtk_scrolled_window_set_child (self->page_scroller, viewport);

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect (controller, "scroll", G_CALLBACK (canvas_scrolled), self);
  gtk_widget_add_controller (GTK_WIDGET (self->canvas), controller);
  gesture = gtk_gesture_click_new ();
  g_signal_connect (gesture, "pressed", G_CALLBACK (canvas_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self->canvas), GTK_EVENT_CONTROLLER (gesture));
  gesture = gtk_gesture_drag_new ();
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (drag_begin), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (drag_update), self);
  gtk_widget_add_controller (GTK_WIDGET (self->canvas), GTK_EVENT_CONTROLLER (gesture));

  /* The thumbnails. */
  self->page_names = gtk_string_list_new (NULL);
  self->selection = gtk_single_selection_new (G_LIST_MODEL (g_object_ref (self->page_names)));
  gtk_single_selection_set_can_unselect (self->selection, FALSE);
  g_signal_connect (self->selection, "notify::selected", G_CALLBACK (thumbnail_selected), self);
  g_signal_connect (factory, "setup", G_CALLBACK (thumbnail_setup), self);
  g_signal_connect (factory, "bind", G_CALLBACK (thumbnail_bind), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (thumbnail_unbind), self);
  self->thumbnails_view =
    GTK_LIST_VIEW (gtk_list_view_new (GTK_SELECTION_MODEL (g_object_ref (self->selection)),
                                      g_object_ref (factory)));
  gtk_widget_add_css_class (GTK_WIDGET (self->thumbnails_view), "navigation-sidebar");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->thumbnails_view),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, "Pages", -1);
  gtk_scrolled_window_set_child (self->thumbnails_scroller, GTK_WIDGET (self->thumbnails_view));

  /* The keys: before the children (the scrolled windows and the list would take Page Up,
   * Page Down, Home and End for themselves). */
  controller = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (controller, GTK_PHASE_CAPTURE);
  g_signal_connect (controller, "key-pressed", G_CALLBACK (key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  update_controls (self);
}

GtkWidget *
charta_document_viewer_new (void)
{
  return g_object_new (CHARTA_TYPE_DOCUMENT_VIEWER, NULL);
}

void
charta_document_viewer_load_file (ChartaDocumentViewer *self,
                                  GFile                *file,
                                  const char           *declared_type,
                                  const char           *title)
{
  g_autofree char *path = NULL;
  GtkWidget *widget = GTK_WIDGET (self);
  Job *job;

  g_return_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self));
  g_return_if_fail (G_IS_FILE (file));

  forget_document (self);
  g_set_object (&self->file, file);
  g_free (self->title);
  self->title = title != NULL && *title != '\0' ? g_strdup (title) : g_file_get_basename (file);
  if (self->title == NULL)
    self->title = g_strdup ("document");
  g_free (self->declared);
  self->declared = g_strdup (declared_type);
  if (self->rotation != 0)
    {
      self->rotation = 0;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROTATION]);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONTENT_TYPE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_PAGES]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NOTE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
  gtk_widget_set_visible (GTK_WIDGET (self->note_label), FALSE);

  path = g_file_get_path (file);
  if (path == NULL)
    {
      g_autofree char *reason =
        g_strdup_printf ("“%s” cannot be shown: it is not a local file.", self->title);

      show_no_preview (self, reason);
      return;
    }
  set_state (self, CHARTA_DOCUMENT_VIEWER_STATE_LOADING);
  update_controls (self);

  self->document = document_new (path, self->title, declared_type);
  self->cancellable = g_cancellable_new ();
  /* One thread per document, jobs in order of kind: see the top of the file. */
  self->pool = g_thread_pool_new (run_job, NULL, 1, FALSE, NULL);
  g_thread_pool_set_sort_function (self->pool, job_order, NULL);

  job = job_new (JOB_OPEN);
  job->view_width = self->canvas->view_width;
  job->view_height = self->canvas->view_height;
  job->mode = self->zoom_mode;
  job->zoom = self->zoom;
  job->scale_factor = gtk_widget_get_scale_factor (widget);
  push_job (self, job, self->cancellable, document_opened);
}

void
charta_document_viewer_clear (ChartaDocumentViewer *self)
{
  g_return_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self));

  forget_document (self);
  g_clear_object (&self->file);
  g_clear_pointer (&self->title, g_free);
  g_clear_pointer (&self->declared, g_free);
  set_state (self, CHARTA_DOCUMENT_VIEWER_STATE_EMPTY);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_PAGES]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
  update_controls (self);
}

ChartaDocumentViewerState
charta_document_viewer_get_state (ChartaDocumentViewer *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self), CHARTA_DOCUMENT_VIEWER_STATE_EMPTY);

  return self->state;
}

const char *
charta_document_viewer_get_no_preview_reason (ChartaDocumentViewer *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self), NULL);

  return self->state == CHARTA_DOCUMENT_VIEWER_STATE_NO_PREVIEW ? self->no_preview_reason : NULL;
}

const char *
charta_document_viewer_get_note (ChartaDocumentViewer *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self), NULL);

  return self->note;
}

const char *
charta_document_viewer_get_content_type (ChartaDocumentViewer *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self), NULL);

  return kind_content_type (self->kind);
}

GFile *
charta_document_viewer_get_file (ChartaDocumentViewer *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self), NULL);

  return self->file;
}

const char *
charta_document_viewer_get_title (ChartaDocumentViewer *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self), NULL);

  return self->title;
}

unsigned
charta_document_viewer_get_n_pages (ChartaDocumentViewer *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self), 0);

  return n_pages (self);
}

unsigned
charta_document_viewer_get_page (ChartaDocumentViewer *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self), 0);

  return self->page;
}

void
charta_document_viewer_set_page (ChartaDocumentViewer *self,
                                 unsigned              page)
{
  g_return_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self));

  show_page (self, page);
}

const char *
charta_document_viewer_get_page_error (ChartaDocumentViewer *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self), NULL);

  if (n_pages (self) == 0)
    return NULL;
  return page_at (self, self->page)->error;
}

double
charta_document_viewer_get_zoom (ChartaDocumentViewer *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self), 0);

  if (self->shown_zoom > 0)
    return self->shown_zoom;
  return self->zoom_mode == CHARTA_DOCUMENT_ZOOM_FIXED ? self->zoom : 0;
}

void
charta_document_viewer_set_zoom (ChartaDocumentViewer *self,
                                 double                zoom)
{
  g_return_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self));
  g_return_if_fail (isfinite (zoom));

  set_zoom_mode (self, CHARTA_DOCUMENT_ZOOM_FIXED, CLAMP (zoom, MIN_ZOOM, MAX_ZOOM));
}

ChartaDocumentZoomMode
charta_document_viewer_get_zoom_mode (ChartaDocumentViewer *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self), CHARTA_DOCUMENT_ZOOM_FIT_WIDTH);

  return self->zoom_mode;
}

void
charta_document_viewer_set_zoom_mode (ChartaDocumentViewer  *self,
                                      ChartaDocumentZoomMode mode)
{
  g_return_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self));
  g_return_if_fail (mode <= CHARTA_DOCUMENT_ZOOM_FIXED);

  set_zoom_mode (self, mode, self->zoom);
}

int
charta_document_viewer_get_rotation (ChartaDocumentViewer *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self), 0);

  return self->rotation;
}

void
charta_document_viewer_set_rotation (ChartaDocumentViewer *self,
                                     int                   degrees)
{
  g_return_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self));
  g_return_if_fail (degrees % 90 == 0);

  degrees = ((degrees % 360) + 360) % 360;
  if (degrees == self->rotation)
    return;
  self->rotation = degrees;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROTATION]);
  if (self->state != CHARTA_DOCUMENT_VIEWER_STATE_READY)
    return;

  /* The thumbnails on screen turn too (the others when they are shown); those on the way
   * at the old angle are not wanted. */
  for (unsigned i = 0; i < self->pages->len; i++)
    if (page_at (self, i)->thumbnail_job != NULL)
      {
        g_cancellable_cancel (page_at (self, i)->thumbnail_job);
        g_clear_object (&page_at (self, i)->thumbnail_job);
      }
  if (self->bound != NULL)
    {
      GHashTableIter iter;
      gpointer key, value;

      g_hash_table_iter_init (&iter, self->bound);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          double width, height;

          page_rotated_size (self, GPOINTER_TO_UINT (key), &width, &height);
          canvas_set_page (value, width, height);
          canvas_set_texture (value, NULL);
        }
    }
  scroll_to_top (self);
  update_page (self);
  request_thumbnails (self);
}

GdkTexture *
charta_document_viewer_get_page_texture (ChartaDocumentViewer *self)
{
  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self), NULL);

  return self->texture;
}

GdkTexture *
charta_document_viewer_get_thumbnail (ChartaDocumentViewer *self,
                                      unsigned              page)
{
  Page *info;

  g_return_val_if_fail (CHARTA_IS_DOCUMENT_VIEWER (self), NULL);

  if (page >= n_pages (self))
    return NULL;
  info = page_at (self, page);
  return info->thumbnail_rotation == self->rotation ? info->thumbnail : NULL;
}
