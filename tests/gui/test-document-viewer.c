/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-document-viewer.c: the document viewer (charta-document-viewer.h) under Xvfb.
 *
 * Every file is made here, at run time, in a temporary folder: a 3-page PDF drawn with cairo's
 * PDF surface (pages of 200 × 300, 300 × 300 and 400 × 300 points, filled red, green and blue,
 * each with a black 20-point square in its top left corner, so that a pixel of the rendered
 * texture (gdk_texture_download()) tells which page is shown and which way it is turned), PNG
 * and JPEG images (gdk-pixbuf), a 3-page TIFF (libtiff), and the bad inputs: a PDF with bytes
 * overwritten, one whose second page object is broken, a TIFF cut in half, a TIFF whose pixels
 * are garbled, an empty file, PNG bytes sent as a PDF, random bytes sent as a PNG, and a PNG
 * and a TIFF whose headers claim 30,000 × 30,000 pixels (a few hundred bytes each: nothing
 * there to decode).
 *
 * Sizes worked out by hand (the window's scale factor is 1 under Xvfb): at 100 % a PDF page is
 * its size in points × 96/72, so page 1 is 266.67 × 400, rendered 267 × 400; at 200 % 533 ×
 * 800; turned a quarter, 400 × 267.  Fit width: the page as wide as the viewport less the
 * 12-pixel margin each side, its height in proportion (× 300/200 for page 1).  Thumbnails fit
 * a 96 × 128 box: page 1 (266.67 × 400) scales by min(96/266.67, 128/400) = 0.32 to 85 × 128,
 * page 2 (400 × 400) by 0.24 to 96 × 96, page 3 (533.33 × 400) by 0.18 to 96 × 72.
 *
 * Keys are sent as the viewer's key controller gets them ("key-pressed"), the way GTK would
 * deliver them with the focus in the viewer.  Each test waits until its viewer is finalized,
 * which happens only after the last job of each of its documents (the close) is done.
 */
#define G_LOG_DOMAIN "charta-test"

#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <adwaita.h>
#include <cairo-pdf.h>
#include <glib/gstdio.h>
#include <tiffio.h>

#include "charta-document-viewer.h"

#define DEADLINE_SECONDS 60
#define MARGIN 12

static gboolean have_display;

typedef struct
{
  char *dir;
  GtkWidget *window;
  ChartaDocumentViewer *viewer;
  GWeakRef viewer_ref;
} Fixture;

/* ---- waiting ------------------------------------------------------------------------------ */

typedef gboolean (*Condition) (gpointer data);

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
wait_for (Condition   condition,
          gpointer    data,
          const char *what)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_SECONDS * G_USEC_PER_SEC;
  guint tick = g_timeout_add (20, wake_up, NULL);
  gboolean met;

  while (!(met = condition (data)) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  if (!met)
    g_error ("gave up waiting for %s", what);
}

static gboolean
is_drawable (gpointer data)
{
  return gtk_widget_get_mapped (data) && gtk_widget_get_width (data) > 0;
}

static gboolean
is_settled (gpointer data)
{
  ChartaDocumentViewer *viewer = data;

  return charta_document_viewer_get_state (viewer) != CHARTA_DOCUMENT_VIEWER_STATE_LOADING;
}

static gboolean
is_refused_or_shown (gpointer data)
{
  ChartaDocumentViewerState state = charta_document_viewer_get_state (data);

  return state == CHARTA_DOCUMENT_VIEWER_STATE_NO_PREVIEW ||
         (state == CHARTA_DOCUMENT_VIEWER_STATE_READY &&
          charta_document_viewer_get_page_texture (data) != NULL);
}

static gboolean
has_texture (gpointer data)
{
  return charta_document_viewer_get_page_texture (data) != NULL;
}

static gboolean
is_gone (gpointer data)
{
  g_autoptr(GObject) object = g_weak_ref_get (data);

  return object == NULL;
}

static void
count_frame (GdkFrameClock *clock,
             unsigned      *frames)
{
  if (++*frames < 2)
    gdk_frame_clock_request_phase (clock, GDK_FRAME_CLOCK_PHASE_PAINT);
}

static gboolean
two_frames (gpointer data)
{
  return *(unsigned *) data >= 2;
}

/* Waits for two frames to be painted: what was changed before is laid out and drawn. */
static void
wait_frames (Fixture *f)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (f->window);
  unsigned frames = 0;
  gulong handler = g_signal_connect (clock, "after-paint", G_CALLBACK (count_frame), &frames);

  gtk_widget_queue_draw (f->window);
  gdk_frame_clock_request_phase (clock, GDK_FRAME_CLOCK_PHASE_PAINT);
  wait_for (two_frames, &frames, "two frames");
  g_signal_handler_disconnect (clock, handler);
}

/* Lets layout and drawing catch up, then waits for the current page's texture. */
static GdkTexture *
wait_page (Fixture *f)
{
  wait_frames (f);
  wait_for (has_texture, f->viewer, "the page to be rendered");
  return charta_document_viewer_get_page_texture (f->viewer);
}

static void
load (Fixture    *f,
      const char *name,
      const char *declared,
      const char *title)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);

  charta_document_viewer_load_file (f->viewer, file, declared, title);
  g_assert_cmpint (charta_document_viewer_get_state (f->viewer), ==,
                   CHARTA_DOCUMENT_VIEWER_STATE_LOADING);
  wait_for (is_settled, f->viewer, "the document to be opened");
}

/* ---- finding widgets ---------------------------------------------------------------------- */

static GtkWidget *
find_type (GtkWidget *root,
           GType      type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_type (child, type);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static GtkWidget *
find_label (GtkWidget  *root,
            const char *text)
{
  if (GTK_IS_LABEL (root) && g_strcmp0 (gtk_label_get_label (GTK_LABEL (root)), text) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_label (child, text);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The status page titled @title below @root. */
static GtkWidget *
find_status_page (GtkWidget  *root,
                  const char *title)
{
  if (ADW_IS_STATUS_PAGE (root) &&
      g_strcmp0 (adw_status_page_get_title (ADW_STATUS_PAGE (root)), title) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_status_page (child, title);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Whether @widget is on screen: mapped and of some width. */
static gboolean
is_shown (GtkWidget *widget)
{
  return widget != NULL && gtk_widget_get_mapped (widget) && gtk_widget_get_width (widget) > 0;
}

static gboolean
press (Fixture         *f,
       guint            keyval,
       GdkModifierType  state)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (f->viewer));
  gboolean handled = FALSE;

  for (unsigned i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_EVENT_CONTROLLER_KEY (controller))
        {
          g_signal_emit_by_name (controller, "key-pressed", keyval, 0, state, &handled);
          return handled;
        }
    }
  g_error ("the viewer has no key controller");
  return FALSE;
}

static GtkWidget *
find_class (GtkWidget  *root,
            const char *css_class)
{
  if (gtk_widget_has_css_class (root, css_class))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_class (child, css_class);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The viewport of the page view (the status pages have viewports of their own). */
static GtkWidget *
page_viewport (Fixture *f)
{
  GtkWidget *scroller = find_class (GTK_WIDGET (f->viewer), "document-viewer-page");
  GtkWidget *viewport;

  g_assert_nonnull (scroller);
  viewport = gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (scroller));

  g_assert_nonnull (viewport);
  return viewport;
}

/* ---- pixels ------------------------------------------------------------------------------- */

/* The pixel at @x, @y as 0xAARRGGBB (GDK's default memory format is cairo's ARGB32). */
static guint32
pixel_at (GdkTexture *texture,
          int         x,
          int         y)
{
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);
  g_autofree guint8 *data = g_malloc ((size_t) width * height * 4);
  guint32 pixel;

  g_assert_cmpint (x, >=, 0);
  g_assert_cmpint (x, <, width);
  g_assert_cmpint (y, >=, 0);
  g_assert_cmpint (y, <, height);
  gdk_texture_download (texture, data, (size_t) width * 4);
  memcpy (&pixel, data + ((size_t) y * width + x) * 4, 4);
  return pixel;
}

#define RED 0xffff0000u
#define GREEN 0xff00ff00u
#define BLUE 0xff0000ffu
#define BLACK 0xff000000u

static guint32
centre (GdkTexture *texture)
{
  return pixel_at (texture, gdk_texture_get_width (texture) / 2,
                   gdk_texture_get_height (texture) / 2);
}

/* Whether the colour is near @expected (JPEG is lossy): each channel within 24. */
static gboolean
near (guint32 pixel,
      guint32 expected)
{
  for (int shift = 0; shift < 32; shift += 8)
    if (ABS ((int) ((pixel >> shift) & 0xff) - (int) ((expected >> shift) & 0xff)) > 24)
      return FALSE;
  return TRUE;
}

static void
assert_size (GdkTexture *texture,
             int         width,
             int         height)
{
  g_assert_nonnull (texture);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, width);
  g_assert_cmpint (gdk_texture_get_height (texture), ==, height);
}

/* ---- making the files --------------------------------------------------------------------- */

static const double page_colours[3][3] = { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } };

static char *
path_in (Fixture    *f,
         const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

/* Three pages: 200 × 300, 300 × 300, 400 × 300 points; red, green, blue; a black 20-point
 * square in the top left corner of each. */
static void
make_pdf (Fixture    *f,
          const char *name)
{
  g_autofree char *path = path_in (f, name);
  cairo_surface_t *surface = cairo_pdf_surface_create (path, 200, 300);
  cairo_t *cr = cairo_create (surface);

  for (int i = 0; i < 3; i++)
    {
      cairo_pdf_surface_set_size (surface, 200 + 100 * i, 300);
      cairo_set_source_rgb (cr, page_colours[i][0], page_colours[i][1], page_colours[i][2]);
      cairo_paint (cr);
      cairo_set_source_rgb (cr, 0, 0, 0);
      cairo_rectangle (cr, 0, 0, 20, 20);
      cairo_fill (cr);
      cairo_show_page (cr);
    }
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy (surface);
}

/* One page of 612 × 792 points with @n_circles small circles in random colours: slow to
 * render (at 400 %, 3264 × 4224 pixels). */
static void
make_heavy_pdf (Fixture    *f,
                const char *name,
                int         n_circles)
{
  g_autofree char *path = path_in (f, name);
  cairo_surface_t *surface = cairo_pdf_surface_create (path, 612, 792);
  cairo_t *cr = cairo_create (surface);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  cairo_set_source_rgb (cr, 1, 0, 0);
  cairo_paint (cr);
  for (int i = 0; i < n_circles; i++)
    {
      cairo_set_source_rgba (cr, g_rand_double (rand), g_rand_double (rand),
                             g_rand_double (rand), 0.5);
      cairo_arc (cr, g_rand_double_range (rand, 0, 612), g_rand_double_range (rand, 0, 792),
                 g_rand_double_range (rand, 2, 30), 0, 2 * G_PI);
      cairo_fill (cr);
    }
  cairo_show_page (cr);
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy (surface);
}

static GBytes *
read_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  size_t length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static void
write_bytes (Fixture      *f,
             const char   *name,
             const guint8 *data,
             size_t        length)
{
  g_autofree char *path = path_in (f, name);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, (const char *) data, length, &error);
  g_assert_no_error (error);
}

/* A copy of @source with every 7th byte from byte 100 on overwritten: poppler cannot open it. */
static void
make_corrupt_pdf (Fixture    *f,
                  const char *source,
                  const char *name)
{
  g_autofree char *path = path_in (f, source);
  g_autoptr(GBytes) bytes = read_bytes (path);
  size_t length = g_bytes_get_size (bytes);
  g_autofree guint8 *data = g_memdup2 (g_bytes_get_data (bytes, NULL), length);

  for (size_t i = 100; i < length; i += 7)
    data[i] = 'A';
  write_bytes (f, name, data, length);
}

/* A copy of @source whose second page object is no dictionary any more ("<<" overwritten):
 * poppler skips it in the page tree, so the third page comes second and the third cannot be
 * read (poppler_document_get_page() gives NULL); the page count stays 3. */
static void
make_broken_page_pdf (Fixture    *f,
                      const char *source,
                      const char *name)
{
  g_autofree char *path = path_in (f, source);
  g_autoptr(GBytes) bytes = read_bytes (path);
  size_t length = g_bytes_get_size (bytes);
  g_autofree guint8 *data = g_memdup2 (g_bytes_get_data (bytes, NULL), length);
  const char *marker = "<< /Type /Page % 2";
  gboolean found = FALSE;

  for (size_t i = 0; i + strlen (marker) <= length; i++)
    if (memcmp (data + i, marker, strlen (marker)) == 0)
      {
        data[i] = data[i + 1] = 'x';
        found = TRUE;
        break;
      }
  g_assert_true (found);
  write_bytes (f, name, data, length);
}

/* An RGB image of @width × @height in @rgb with a black 10-pixel square top left. */
static GdkPixbuf *
make_pixbuf (int     width,
             int     height,
             guint32 rgb)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  GdkPixbuf *mark = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 10, 10);

  gdk_pixbuf_fill (pixbuf, rgb << 8 | 0xff);
  gdk_pixbuf_fill (mark, 0x000000ff);
  gdk_pixbuf_copy_area (mark, 0, 0, 10, 10, pixbuf, 0, 0);
  g_object_unref (mark);
  return pixbuf;
}

static void
make_image (Fixture    *f,
            const char *name,
            const char *type,
            int         width,
            int         height,
            guint32     rgb)
{
  g_autofree char *path = path_in (f, name);
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (width, height, rgb);
  g_autoptr(GError) error = NULL;

  if (g_str_equal (type, "jpeg"))
    gdk_pixbuf_save (pixbuf, path, type, &error, "quality", "95", NULL);
  else
    gdk_pixbuf_save (pixbuf, path, type, &error, NULL);
  g_assert_no_error (error);
}

static int
tiff_quiet (TIFF       *tiff,
            void       *user_data,
            const char *module,
            const char *format,
            va_list     args)
{
  return 1;
}

static TIFF *
tiff_create (const char *path)
{
  TIFFOpenOptions *options = TIFFOpenOptionsAlloc ();
  TIFF *tiff;

  TIFFOpenOptionsSetWarningHandlerExtR (options, tiff_quiet, NULL);
  tiff = TIFFOpenExt (path, "w", options);
  TIFFOpenOptionsFree (options);
  g_assert_nonnull (tiff);
  return tiff;
}

static void
tiff_set_rgb (TIFF    *tiff,
              uint32_t width,
              uint32_t height)
{
  TIFFSetField (tiff, TIFFTAG_IMAGEWIDTH, width);
  TIFFSetField (tiff, TIFFTAG_IMAGELENGTH, height);
  TIFFSetField (tiff, TIFFTAG_SAMPLESPERPIXEL, 3);
  TIFFSetField (tiff, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField (tiff, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
  TIFFSetField (tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField (tiff, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
  TIFFSetField (tiff, TIFFTAG_ROWSPERSTRIP, height);
}

/* Pages of the given sizes in red, green, blue, each with a black 10-pixel square top left. */
static void
make_tiff (Fixture      *f,
           const char   *name,
           unsigned      n_pages,
           const int   (*sizes)[2])
{
  g_autofree char *path = path_in (f, name);
  TIFF *tiff = tiff_create (path);

  for (unsigned page = 0; page < n_pages; page++)
    {
      int width = sizes[page][0], height = sizes[page][1];
      g_autofree guint8 *row = g_malloc ((size_t) width * 3);

      tiff_set_rgb (tiff, width, height);
      TIFFSetField (tiff, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
      TIFFSetField (tiff, TIFFTAG_PAGENUMBER, page, n_pages);
      for (int y = 0; y < height; y++)
        {
          for (int x = 0; x < width; x++)
            {
              gboolean mark = x < 10 && y < 10;

              row[x * 3] = mark ? 0 : (guint8) (page_colours[page][0] * 255);
              row[x * 3 + 1] = mark ? 0 : (guint8) (page_colours[page][1] * 255);
              row[x * 3 + 2] = mark ? 0 : (guint8) (page_colours[page][2] * 255);
            }
          g_assert_cmpint (TIFFWriteScanline (tiff, row, y, 0), ==, 1);
        }
      g_assert_true (TIFFWriteDirectory (tiff));
    }
  TIFFClose (tiff);
}

/* A 64 × 64 Deflate TIFF whose compressed pixels (right after the 8-byte header, where libtiff
 * writes the first strip) are overwritten: the directory reads, the page does not decode. */
static void
make_garbled_tiff (Fixture    *f,
                   const char *name)
{
  g_autofree char *path = path_in (f, name);
  TIFF *tiff = tiff_create (path);
  g_autofree guint8 *row = g_malloc0 (64 * 3);
  g_autoptr(GBytes) bytes = NULL;
  g_autofree guint8 *data = NULL;
  size_t length;

  tiff_set_rgb (tiff, 64, 64);
  TIFFSetField (tiff, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
  for (int y = 0; y < 64; y++)
    g_assert_cmpint (TIFFWriteScanline (tiff, row, y, 0), ==, 1);
  g_assert_true (TIFFWriteDirectory (tiff));
  TIFFClose (tiff);
  bytes = read_bytes (path);
  length = g_bytes_get_size (bytes);
  data = g_memdup2 (g_bytes_get_data (bytes, NULL), length);
  g_assert_cmpuint (length, >, 8 + 16);
  memset (data + 8, 0xaa, 16);
  write_bytes (f, name, data, length);
}

/* A TIFF whose one page claims 30000 × 30000 RGB pixels in one Deflate strip of 16 bytes: a
 * few hundred bytes in all, its "image" never decodable. */
static void
make_huge_tiff (Fixture    *f,
                const char *name)
{
  g_autofree char *path = path_in (f, name);
  TIFF *tiff = tiff_create (path);
  guint8 strip[16] = { 0x78, 0x9c };

  tiff_set_rgb (tiff, 30000, 30000);
  TIFFSetField (tiff, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
  g_assert_cmpint (TIFFWriteRawStrip (tiff, 0, strip, sizeof strip), ==, sizeof strip);
  g_assert_true (TIFFWriteDirectory (tiff));
  TIFFClose (tiff);
}

static guint32
crc32_of (const guint8 *data,
          size_t        length)
{
  guint32 crc = 0xffffffff;

  for (size_t i = 0; i < length; i++)
    {
      crc ^= data[i];
      for (int bit = 0; bit < 8; bit++)
        crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
    }
  return ~crc;
}

static void
put_chunk (GByteArray   *png,
           const char   *type,
           const guint8 *data,
           guint32       length)
{
  guint8 be[4] = { length >> 24, length >> 16, length >> 8, length };
  size_t start;
  guint32 crc;

  g_byte_array_append (png, be, 4);
  start = png->len;
  g_byte_array_append (png, (const guint8 *) type, 4);
  if (length > 0)
    g_byte_array_append (png, data, length);
  crc = crc32_of (png->data + start, png->len - start);
  be[0] = crc >> 24, be[1] = crc >> 16, be[2] = crc >> 8, be[3] = crc;
  g_byte_array_append (png, be, 4);
}

/* A PNG whose IHDR says 30000 × 30000 RGB, with an empty zlib stream for its data. */
static void
make_huge_png (Fixture    *f,
               const char *name)
{
  static const guint8 signature[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  static const guint8 ihdr[] = { 0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30, 8, 2, 0, 0, 0 };
  static const guint8 idat[] = { 0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01 };
  g_autoptr(GByteArray) png = g_byte_array_new ();

  g_assert_cmpint ((ihdr[2] << 8 | ihdr[3]), ==, 30000);
  g_byte_array_append (png, signature, sizeof signature);
  put_chunk (png, "IHDR", ihdr, sizeof ihdr);
  put_chunk (png, "IDAT", idat, sizeof idat);
  put_chunk (png, "IEND", NULL, 0);
  write_bytes (f, name, png->data, png->len);
}

/* ---- the fixture -------------------------------------------------------------------------- */

static void
fixture_set_up (Fixture       *f,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;

  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  f->dir = g_dir_make_tmp ("charta-viewer-XXXXXX", &error);
  g_assert_no_error (error);
  f->viewer = CHARTA_DOCUMENT_VIEWER (charta_document_viewer_new ());
  g_weak_ref_init (&f->viewer_ref, f->viewer);
  f->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1000, 760);
  gtk_window_set_child (GTK_WINDOW (f->window), GTK_WIDGET (f->viewer));
  gtk_window_present (GTK_WINDOW (f->window));
  wait_for (is_drawable, f->viewer, "the viewer to be shown");
  g_assert_cmpint (charta_document_viewer_get_state (f->viewer), ==,
                   CHARTA_DOCUMENT_VIEWER_STATE_EMPTY);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  user_data)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (f->window == NULL)
    return;
  gtk_window_destroy (GTK_WINDOW (f->window));
  f->viewer = NULL;
  /* Finalized only when every job is done and every document closed on its thread. */
  wait_for (is_gone, &f->viewer_ref, "the viewer to be finalized");
  g_weak_ref_clear (&f->viewer_ref);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  dir = g_dir_open (f->dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = path_in (f, name);

      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

/* ---- the cases ---------------------------------------------------------------------------- */

/* The 3-page PDF at its defaults (fit width): the page counter, which page each key shows
 * (read from the centre pixel), the size of the texture, and the thumbnails. */
static void
test_pdf_pages (Fixture       *f,
                gconstpointer  user_data)
{
  GdkTexture *texture;
  GtkListView *list;
  GListModel *model;
  GtkAdjustment *vertical;
  double avail;

  if (f->window == NULL)
    return;
  make_pdf (f, "three.pdf");
  load (f, "three.pdf", "application/pdf", NULL);
  g_assert_cmpint (charta_document_viewer_get_state (f->viewer), ==,
                   CHARTA_DOCUMENT_VIEWER_STATE_READY);
  g_assert_cmpuint (charta_document_viewer_get_n_pages (f->viewer), ==, 3);
  g_assert_cmpuint (charta_document_viewer_get_page (f->viewer), ==, 0);
  g_assert_cmpstr (charta_document_viewer_get_content_type (f->viewer), ==, "application/pdf");
  g_assert_cmpstr (charta_document_viewer_get_title (f->viewer), ==, "three.pdf");
  g_assert_null (charta_document_viewer_get_note (f->viewer));
  g_assert_null (charta_document_viewer_get_no_preview_reason (f->viewer));
  g_assert_cmpint (charta_document_viewer_get_zoom_mode (f->viewer), ==,
                   CHARTA_DOCUMENT_ZOOM_FIT_WIDTH);

  /* Fit width: as wide as the viewport less the margins, 300/200 as high. */
  texture = wait_page (f);
  avail = gtk_widget_get_width (page_viewport (f)) - 2 * MARGIN;
  g_assert_cmpfloat (avail, >, 100);
  assert_size (texture, (int) round (avail), (int) round (avail * 300 / 200));
  g_assert_cmpfloat_with_epsilon (charta_document_viewer_get_zoom (f->viewer),
                                  avail / (200.0 * 96 / 72), 1e-9);
  g_assert_cmphex (centre (texture), ==, RED);
  g_assert_cmphex (pixel_at (texture, 3, 3), ==, BLACK);
  g_assert_true (is_shown (find_label (GTK_WIDGET (f->viewer), "Page 1 of 3")));

  /* Page Down, twice, then once more at the end (nothing happens). */
  g_assert_true (press (f, GDK_KEY_Page_Down, 0));
  g_assert_cmpuint (charta_document_viewer_get_page (f->viewer), ==, 1);
  texture = wait_page (f);
  g_assert_cmphex (centre (texture), ==, GREEN);
  assert_size (texture, (int) round (avail), (int) round (avail));
  g_assert_true (is_shown (find_label (GTK_WIDGET (f->viewer), "Page 2 of 3")));
  g_assert_true (press (f, GDK_KEY_Page_Down, 0));
  g_assert_cmphex (centre (wait_page (f)), ==, BLUE);
  g_assert_true (press (f, GDK_KEY_Page_Down, 0));
  g_assert_cmpuint (charta_document_viewer_get_page (f->viewer), ==, 2);
  g_assert_true (press (f, GDK_KEY_Page_Up, 0));
  g_assert_cmpuint (charta_document_viewer_get_page (f->viewer), ==, 1);
  g_assert_cmphex (centre (wait_page (f)), ==, GREEN);
  g_assert_true (press (f, GDK_KEY_Home, 0));
  g_assert_cmpuint (charta_document_viewer_get_page (f->viewer), ==, 0);
  g_assert_cmphex (centre (wait_page (f)), ==, RED);
  g_assert_true (press (f, GDK_KEY_End, 0));
  g_assert_cmpuint (charta_document_viewer_get_page (f->viewer), ==, 2);
  g_assert_cmphex (centre (wait_page (f)), ==, BLUE);
  /* Keys the viewer leaves alone. */
  g_assert_false (press (f, GDK_KEY_a, 0));
  g_assert_false (press (f, GDK_KEY_Page_Down, GDK_ALT_MASK));

  /* Arrows: page 1 at fit width is taller than the view, so Down scrolls it first. */
  g_assert_true (press (f, GDK_KEY_Home, 0));
  wait_page (f);
  vertical = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (page_viewport (f)));
  g_assert_cmpfloat (gtk_adjustment_get_upper (vertical), >,
                     gtk_adjustment_get_page_size (vertical));
  g_assert_cmpfloat (gtk_adjustment_get_value (vertical), ==, 0);
  g_assert_true (press (f, GDK_KEY_Down, 0));
  g_assert_cmpuint (charta_document_viewer_get_page (f->viewer), ==, 0);
  g_assert_cmpfloat (gtk_adjustment_get_value (vertical), >, 0);
  /* Fit page: nothing to scroll, so Right and Down turn pages, Left and Up back. */
  charta_document_viewer_set_zoom_mode (f->viewer, CHARTA_DOCUMENT_ZOOM_FIT_PAGE);
  wait_page (f);
  g_assert_true (press (f, GDK_KEY_Right, 0));
  g_assert_cmpuint (charta_document_viewer_get_page (f->viewer), ==, 1);
  g_assert_true (press (f, GDK_KEY_Down, 0));
  g_assert_cmpuint (charta_document_viewer_get_page (f->viewer), ==, 2);
  g_assert_cmphex (centre (wait_page (f)), ==, BLUE);
  g_assert_true (press (f, GDK_KEY_Left, 0));
  g_assert_cmpuint (charta_document_viewer_get_page (f->viewer), ==, 1);
  g_assert_true (press (f, GDK_KEY_Up, 0));
  g_assert_cmpuint (charta_document_viewer_get_page (f->viewer), ==, 0);
  g_assert_cmphex (centre (wait_page (f)), ==, RED);

  /* The thumbnails: one row per page, each rendered to fit 96 × 128, in its page's colour. */
  list = GTK_LIST_VIEW (find_type (GTK_WIDGET (f->viewer), GTK_TYPE_LIST_VIEW));
  g_assert_nonnull (list);
  g_assert_true (is_shown (GTK_WIDGET (list)));
  model = G_LIST_MODEL (gtk_list_view_get_model (list));
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 3);
  for (unsigned i = 0; i < 3; i++)
    {
      static const int sizes[3][2] = { { 85, 128 }, { 96, 96 }, { 96, 72 } };
      static const guint32 colours[3] = { RED, GREEN, BLUE };
      GdkTexture *thumbnail;

      while (charta_document_viewer_get_thumbnail (f->viewer, i) == NULL)
        g_main_context_iteration (NULL, TRUE);
      thumbnail = charta_document_viewer_get_thumbnail (f->viewer, i);
      assert_size (thumbnail, sizes[i][0], sizes[i][1]);
      g_assert_cmphex (centre (thumbnail), ==, colours[i]);
    }
  g_assert_null (charta_document_viewer_get_thumbnail (f->viewer, 3));

  /* Clicking a thumbnail selects it: the page follows. */
  gtk_selection_model_select_item (GTK_SELECTION_MODEL (model), 2, TRUE);
  g_assert_cmpuint (charta_document_viewer_get_page (f->viewer), ==, 2);
  g_assert_cmphex (centre (wait_page (f)), ==, BLUE);
  /* And the page moves the selection. */
  charta_document_viewer_set_page (f->viewer, 1);
  g_assert_true (gtk_selection_model_is_selected (GTK_SELECTION_MODEL (model), 1));
  g_assert_false (gtk_selection_model_is_selected (GTK_SELECTION_MODEL (model), 2));
  /* Past the end: the last page. */
  charta_document_viewer_set_page (f->viewer, 99);
  g_assert_cmpuint (charta_document_viewer_get_page (f->viewer), ==, 2);

  /* Clearing empties it. */
  charta_document_viewer_clear (f->viewer);
  g_assert_cmpint (charta_document_viewer_get_state (f->viewer), ==,
                   CHARTA_DOCUMENT_VIEWER_STATE_EMPTY);
  g_assert_cmpuint (charta_document_viewer_get_n_pages (f->viewer), ==, 0);
  g_assert_null (charta_document_viewer_get_page_texture (f->viewer));
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);
}

/* Fixed zoom, the zoom keys and rotation: texture sizes worked out in the header. */
static void
test_pdf_zoom_rotate (Fixture       *f,
                      gconstpointer  user_data)
{
  GdkTexture *texture;
  GtkWidget *viewport;
  double avail_width, avail_height;
  int width, height;

  if (f->window == NULL)
    return;
  make_pdf (f, "three.pdf");
  load (f, "three.pdf", "application/pdf", "Consent form");
  g_assert_cmpstr (charta_document_viewer_get_title (f->viewer), ==, "Consent form");
  wait_page (f);

  charta_document_viewer_set_zoom (f->viewer, 1.0);
  g_assert_cmpint (charta_document_viewer_get_zoom_mode (f->viewer), ==,
                   CHARTA_DOCUMENT_ZOOM_FIXED);
  texture = wait_page (f);
  assert_size (texture, 267, 400);
  g_assert_cmphex (pixel_at (texture, 3, 3), ==, BLACK);
  g_assert_true (is_shown (find_label (GTK_WIDGET (f->viewer), "100%")));

  charta_document_viewer_set_zoom (f->viewer, 2.0);
  assert_size (wait_page (f), 533, 800);
  g_assert_cmpfloat (charta_document_viewer_get_zoom (f->viewer), ==, 2.0);
  /* Ctrl+plus: the next step (300 %); Ctrl+minus back; Ctrl+= is plus without Shift. */
  g_assert_true (press (f, GDK_KEY_plus, GDK_CONTROL_MASK | GDK_SHIFT_MASK));
  g_assert_cmpfloat (charta_document_viewer_get_zoom (f->viewer), ==, 3.0);
  assert_size (wait_page (f), 800, 1200);
  g_assert_true (press (f, GDK_KEY_minus, GDK_CONTROL_MASK));
  g_assert_cmpfloat (charta_document_viewer_get_zoom (f->viewer), ==, 2.0);
  g_assert_true (press (f, GDK_KEY_equal, GDK_CONTROL_MASK));
  g_assert_true (press (f, GDK_KEY_equal, GDK_CONTROL_MASK));
  g_assert_cmpfloat (charta_document_viewer_get_zoom (f->viewer), ==, 4.0);
  g_assert_true (press (f, GDK_KEY_equal, GDK_CONTROL_MASK));
  g_assert_cmpfloat (charta_document_viewer_get_zoom (f->viewer), ==, 4.0);
  /* 200 pt × 4 × 96/72 = 1066.67; 300 pt → 1600. */
  assert_size (wait_page (f), 1067, 1600);
  charta_document_viewer_set_zoom (f->viewer, 0.1);
  g_assert_cmpfloat (charta_document_viewer_get_zoom (f->viewer), ==, 0.5);
  assert_size (wait_page (f), 133, 200);
  g_assert_true (press (f, GDK_KEY_minus, GDK_CONTROL_MASK));
  g_assert_cmpfloat (charta_document_viewer_get_zoom (f->viewer), ==, 0.5);

  /* Rotation at 100 %: a quarter turn right puts the mark top right, left bottom left. */
  charta_document_viewer_set_zoom (f->viewer, 1.0);
  g_assert_true (press (f, GDK_KEY_r, GDK_CONTROL_MASK));
  g_assert_cmpint (charta_document_viewer_get_rotation (f->viewer), ==, 90);
  texture = wait_page (f);
  assert_size (texture, 400, 267);
  g_assert_cmphex (pixel_at (texture, 400 - 4, 3), ==, BLACK);
  g_assert_cmphex (pixel_at (texture, 3, 3), ==, RED);
  g_assert_true (press (f, GDK_KEY_R, GDK_CONTROL_MASK | GDK_SHIFT_MASK));
  g_assert_cmpint (charta_document_viewer_get_rotation (f->viewer), ==, 0);
  assert_size (wait_page (f), 267, 400);
  g_assert_true (press (f, GDK_KEY_R, GDK_CONTROL_MASK | GDK_SHIFT_MASK));
  g_assert_cmpint (charta_document_viewer_get_rotation (f->viewer), ==, 270);
  texture = wait_page (f);
  assert_size (texture, 400, 267);
  g_assert_cmphex (pixel_at (texture, 3, 267 - 4), ==, BLACK);
  g_assert_cmphex (pixel_at (texture, 400 - 4, 3), ==, RED);
  charta_document_viewer_set_rotation (f->viewer, -180);
  g_assert_cmpint (charta_document_viewer_get_rotation (f->viewer), ==, 180);
  texture = wait_page (f);
  assert_size (texture, 267, 400);
  g_assert_cmphex (pixel_at (texture, 267 - 4, 400 - 4), ==, BLACK);
  /* The thumbnails turn too: page 1 turned fits 96 × 128 as 96 × 64 (scale 0.24). */
  charta_document_viewer_set_rotation (f->viewer, 90);
  while (charta_document_viewer_get_thumbnail (f->viewer, 0) == NULL)
    g_main_context_iteration (NULL, TRUE);
  assert_size (charta_document_viewer_get_thumbnail (f->viewer, 0), 96, 64);
  charta_document_viewer_set_rotation (f->viewer, 0);

  /* Ctrl+0: fit width again. */
  g_assert_true (press (f, GDK_KEY_0, GDK_CONTROL_MASK));
  g_assert_cmpint (charta_document_viewer_get_zoom_mode (f->viewer), ==,
                   CHARTA_DOCUMENT_ZOOM_FIT_WIDTH);
  viewport = page_viewport (f);
  avail_width = gtk_widget_get_width (viewport) - 2 * MARGIN;
  assert_size (wait_page (f), (int) round (avail_width), (int) round (avail_width * 1.5));

  /* Fit page: the whole page in the view, as large as fits (height-bound for page 1). */
  charta_document_viewer_set_zoom_mode (f->viewer, CHARTA_DOCUMENT_ZOOM_FIT_PAGE);
  texture = wait_page (f);
  avail_width = gtk_widget_get_width (viewport) - 2 * MARGIN;
  avail_height = gtk_widget_get_height (viewport) - 2 * MARGIN;
  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  g_assert_cmpfloat (avail_height * 200 / 300, <, avail_width);
  g_assert_cmpint (height, ==, (int) round (avail_height));
  g_assert_cmpint (width, ==, (int) round (avail_height * 200 / 300));
}

/* PNG and JPEG: one page, no thumbnails column, 100 % is one pixel per pixel. */
static void
test_images (Fixture       *f,
             gconstpointer  user_data)
{
  GdkTexture *texture;

  if (f->window == NULL)
    return;
  make_image (f, "photo.png", "png", 300, 200, 0x00ff00);
  make_image (f, "photo.jpg", "jpeg", 320, 240, 0x0000ff);

  load (f, "photo.png", "image/png", NULL);
  g_assert_cmpint (charta_document_viewer_get_state (f->viewer), ==,
                   CHARTA_DOCUMENT_VIEWER_STATE_READY);
  g_assert_cmpuint (charta_document_viewer_get_n_pages (f->viewer), ==, 1);
  g_assert_cmpstr (charta_document_viewer_get_content_type (f->viewer), ==, "image/png");
  g_assert_null (charta_document_viewer_get_note (f->viewer));
  g_assert_false (is_shown (find_type (GTK_WIDGET (f->viewer), GTK_TYPE_LIST_VIEW)));
  texture = wait_page (f);
  g_assert_cmphex (centre (texture), ==, GREEN);
  charta_document_viewer_set_zoom (f->viewer, 1.0);
  texture = wait_page (f);
  assert_size (texture, 300, 200);
  g_assert_cmphex (centre (texture), ==, GREEN);
  g_assert_cmphex (pixel_at (texture, 5, 5), ==, BLACK);
  g_assert_cmphex (pixel_at (texture, 12, 12), ==, GREEN);
  charta_document_viewer_set_zoom (f->viewer, 0.5);
  assert_size (wait_page (f), 150, 100);

  load (f, "photo.jpg", "image/jpeg", NULL);
  g_assert_cmpint (charta_document_viewer_get_state (f->viewer), ==,
                   CHARTA_DOCUMENT_VIEWER_STATE_READY);
  g_assert_cmpstr (charta_document_viewer_get_content_type (f->viewer), ==, "image/jpeg");
  /* The zoom stays as the user left it (fixed 50 %); the rotation starts at 0 again. */
  charta_document_viewer_set_rotation (f->viewer, 90);
  texture = wait_page (f);
  assert_size (texture, 120, 160);
  g_assert_true (near (centre (texture), BLUE));
}

/* A 3-page TIFF of pages 60 × 80, 80 × 60 and 100 × 100. */
static void
test_tiff (Fixture       *f,
           gconstpointer  user_data)
{
  static const int sizes[3][2] = { { 60, 80 }, { 80, 60 }, { 100, 100 } };
  GdkTexture *texture;

  if (f->window == NULL)
    return;
  make_tiff (f, "scan.tif", 3, sizes);
  charta_document_viewer_set_zoom (f->viewer, 1.0);
  load (f, "scan.tif", "image/tiff", NULL);
  g_assert_cmpint (charta_document_viewer_get_state (f->viewer), ==,
                   CHARTA_DOCUMENT_VIEWER_STATE_READY);
  g_assert_cmpuint (charta_document_viewer_get_n_pages (f->viewer), ==, 3);
  g_assert_cmpstr (charta_document_viewer_get_content_type (f->viewer), ==, "image/tiff");
  texture = wait_page (f);
  assert_size (texture, 60, 80);
  g_assert_cmphex (centre (texture), ==, RED);
  g_assert_cmphex (pixel_at (texture, 3, 3), ==, BLACK);
  g_assert_true (press (f, GDK_KEY_Page_Down, 0));
  texture = wait_page (f);
  assert_size (texture, 80, 60);
  g_assert_cmphex (centre (texture), ==, GREEN);
  g_assert_true (press (f, GDK_KEY_End, 0));
  texture = wait_page (f);
  assert_size (texture, 100, 100);
  g_assert_cmphex (centre (texture), ==, BLUE);
  for (unsigned i = 0; i < 3; i++)
    while (charta_document_viewer_get_thumbnail (f->viewer, i) == NULL)
      g_main_context_iteration (NULL, TRUE);
  /* 60 × 80 into 96 × 128: scale 1.6 → 96 × 128. */
  assert_size (charta_document_viewer_get_thumbnail (f->viewer, 0), 96, 128);
}

static long
max_rss_kib (void)
{
  struct rusage usage;

  g_assert_cmpint (getrusage (RUSAGE_SELF, &usage), ==, 0);
  return usage.ru_maxrss;
}

/* Loads @name and checks that it is refused with a reason that names it and says @what. */
static void
assert_no_preview (Fixture    *f,
                   const char *name,
                   const char *declared,
                   const char *what)
{
  const char *reason;
  GtkWidget *button;

  load (f, name, declared, NULL);
  /* A file whose only page fails to draw goes ready, then to no preview. */
  wait_for (is_refused_or_shown, f->viewer, "the file to be refused or shown");
  g_assert_cmpint (charta_document_viewer_get_state (f->viewer), ==,
                   CHARTA_DOCUMENT_VIEWER_STATE_NO_PREVIEW);
  g_assert_cmpuint (charta_document_viewer_get_n_pages (f->viewer), ==, 0);
  reason = charta_document_viewer_get_no_preview_reason (f->viewer);
  g_test_message ("%s: %s", name, reason);
  g_assert_nonnull (reason);
  g_assert_nonnull (strstr (reason, name));
  g_assert_nonnull (strstr (reason, what));
  /* On screen: the reason and the button to save a copy. */
  wait_frames (f);
  button = find_label (GTK_WIDGET (f->viewer), "_Save a Copy…");
  g_assert_nonnull (button);
  wait_for ((Condition) is_shown, button, "the no-preview page");
  g_assert_true (gtk_widget_is_sensitive (button));
}

static void
copy_saved (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  gboolean *saved = user_data;
  g_autoptr(GError) error = NULL;

  *saved = charta_document_viewer_save_copy_finish (CHARTA_DOCUMENT_VIEWER (source), result,
                                                    &error);
  g_assert_no_error (error);
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

/* Each bad file: no preview, a reason naming the file and the problem, a way to save it. */
static void
test_bad_input (Fixture       *f,
                gconstpointer  user_data)
{
  static const int truncated_size[1][2] = { { 200, 200 } };
  guint8 random_bytes[4096];
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  g_autofree char *cut_path = NULL;
  g_autofree char *copy_path = NULL;
  g_autoptr(GFile) copy = NULL;
  g_autoptr(GBytes) original = NULL;
  g_autoptr(GBytes) copied = NULL;
  gboolean saved = FALSE;
  GStatBuf st;
  long rss_before;

  if (f->window == NULL)
    return;

  write_bytes (f, "empty.pdf", (const guint8 *) "", 0);
  assert_no_preview (f, "empty.pdf", "application/pdf", "empty (0 bytes)");

  make_pdf (f, "three.pdf");
  make_corrupt_pdf (f, "three.pdf", "corrupt.pdf");
  assert_no_preview (f, "corrupt.pdf", "application/pdf", "damaged PDF");

  /* Cut in half: libtiff writes a page's directory after its pixels, so it is gone. */
  make_tiff (f, "cut.tif", 1, truncated_size);
  cut_path = path_in (f, "cut.tif");
  g_assert_cmpint (g_stat (cut_path, &st), ==, 0);
  g_assert_cmpint (truncate (cut_path, st.st_size / 2), ==, 0);
  assert_no_preview (f, "cut.tif", "image/tiff", "cut");
  /* Its directory reads, its page does not: found when page 1 is drawn. */
  make_garbled_tiff (f, "garbled.tif");
  assert_no_preview (f, "garbled.tif", "image/tiff", "pixels are damaged or cut short");

  /* Random bytes sent as a PNG (none of the magic numbers by chance: first byte 'R'). */
  for (size_t i = 0; i < sizeof random_bytes; i++)
    random_bytes[i] = g_rand_int_range (rand, 0, 256);
  random_bytes[0] = 'R';
  write_bytes (f, "photo.png", random_bytes, sizeof random_bytes);
  assert_no_preview (f, "photo.png", "image/png", "not a PDF, PNG, JPEG or TIFF file");
  g_assert_nonnull (strstr (charta_document_viewer_get_no_preview_reason (f->viewer),
                            "was sent as a PNG image (image/png)"));
  /* Save a Copy copies the file as it is. */
  copy_path = path_in (f, "copy.bin");
  copy = g_file_new_for_path (copy_path);
  charta_document_viewer_save_copy_async (f->viewer, copy, NULL, copy_saved, &saved);
  wait_for (is_true, &saved, "the copy");
  original = g_bytes_new (random_bytes, sizeof random_bytes);
  copied = read_bytes (copy_path);
  g_assert_true (g_bytes_equal (original, copied));

  /* 30000 × 30000: refused from the header.  Decoding would take 30000² × 4 bytes (3.6 GB);
   * the peak resident size may not grow by even 200 MB. */
  make_huge_png (f, "huge.png");
  make_huge_tiff (f, "huge.tif");
  rss_before = max_rss_kib ();
  assert_no_preview (f, "huge.png", "image/png", "30000 × 30000 pixels");
  assert_no_preview (f, "huge.tif", "image/tiff", "30000 × 30000 pixels");
  g_assert_cmpint (max_rss_kib () - rss_before, <, 200 * 1024);

  /* And after all that, a good file shows. */
  load (f, "three.pdf", NULL, NULL);
  g_assert_cmpint (charta_document_viewer_get_state (f->viewer), ==,
                   CHARTA_DOCUMENT_VIEWER_STATE_READY);
  g_assert_cmphex (centre (wait_page (f)), ==, RED);
}

/* PNG bytes sent as a PDF: shown as the PNG it is, with a quiet note. */
static void
test_lying_type (Fixture       *f,
                 gconstpointer  user_data)
{
  const char *note;
  GtkWidget *label;

  if (f->window == NULL)
    return;
  make_image (f, "scan.pdf", "png", 120, 90, 0xff0000);
  load (f, "scan.pdf", "application/pdf", NULL);
  g_assert_cmpint (charta_document_viewer_get_state (f->viewer), ==,
                   CHARTA_DOCUMENT_VIEWER_STATE_READY);
  g_assert_cmpstr (charta_document_viewer_get_content_type (f->viewer), ==, "image/png");
  note = charta_document_viewer_get_note (f->viewer);
  g_assert_nonnull (note);
  g_assert_nonnull (strstr (note, "Sent as a PDF document (application/pdf)"));
  g_assert_nonnull (strstr (note, "a PNG image"));
  g_assert_cmphex (centre (wait_page (f)), ==, RED);
  label = find_label (GTK_WIDGET (f->viewer), note);
  g_assert_nonnull (label);
  wait_for ((Condition) is_shown, label, "the note");
}

/* The PDF whose second page object is broken (see make_broken_page_pdf()): the other pages
 * show, the third says it could not be drawn. */
static void
test_broken_page (Fixture       *f,
                  gconstpointer  user_data)
{
  const char *error;
  GtkWidget *status;

  if (f->window == NULL)
    return;
  make_pdf (f, "three.pdf");
  make_broken_page_pdf (f, "three.pdf", "broken.pdf");
  load (f, "broken.pdf", "application/pdf", NULL);
  g_assert_cmpint (charta_document_viewer_get_state (f->viewer), ==,
                   CHARTA_DOCUMENT_VIEWER_STATE_READY);
  g_assert_cmpuint (charta_document_viewer_get_n_pages (f->viewer), ==, 3);
  g_assert_cmphex (centre (wait_page (f)), ==, RED);
  g_assert_null (charta_document_viewer_get_page_error (f->viewer));
  g_assert_true (press (f, GDK_KEY_Page_Down, 0));
  g_assert_cmphex (centre (wait_page (f)), ==, BLUE);
  g_assert_true (press (f, GDK_KEY_End, 0));
  g_assert_cmpuint (charta_document_viewer_get_page (f->viewer), ==, 2);
  error = charta_document_viewer_get_page_error (f->viewer);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error, "could not read the page"));
  g_assert_null (charta_document_viewer_get_page_texture (f->viewer));
  status = find_status_page (GTK_WIDGET (f->viewer), "Page Could Not Be Drawn");
  g_assert_nonnull (status);
  wait_for ((Condition) is_shown, status, "the page's error");
  g_assert_nonnull (strstr (adw_status_page_get_description (ADW_STATUS_PAGE (status)),
                            "Page 3 of “broken.pdf” could not be drawn"));
  /* Back to a good page. */
  g_assert_true (press (f, GDK_KEY_Home, 0));
  g_assert_null (charta_document_viewer_get_page_error (f->viewer));
  g_assert_cmphex (centre (wait_page (f)), ==, RED);
  g_assert_false (gtk_widget_get_visible (status));
}

typedef struct
{
  gint64 last;
  gint64 max_gap;
  unsigned ticks;
} Ticker;

static gboolean
tick (gpointer data)
{
  Ticker *ticker = data;
  gint64 now = g_get_monotonic_time ();

  ticker->max_gap = MAX (ticker->max_gap, now - ticker->last);
  ticker->last = now;
  ticker->ticks++;
  return G_SOURCE_CONTINUE;
}

/* A page that takes long to render (thousands of translucent circles at 400 %, over a second
 * here): the GTK thread keeps turning (a 10 ms timeout keeps firing) until it is there. */
static void
test_main_loop_runs (Fixture       *f,
                     gconstpointer  user_data)
{
  g_autofree char *path = NULL;
  g_autoptr(GFile) file = NULL;
  Ticker ticker = { 0, 0, 0 };
  gint64 start, elapsed;
  guint source;

  if (f->window == NULL)
    return;
  make_heavy_pdf (f, "heavy.pdf", 6000);
  charta_document_viewer_set_zoom (f->viewer, 4.0);
  path = path_in (f, "heavy.pdf");
  file = g_file_new_for_path (path);

  start = ticker.last = g_get_monotonic_time ();
  source = g_timeout_add (10, tick, &ticker);
  charta_document_viewer_load_file (f->viewer, file, "application/pdf", NULL);
  wait_page (f);
  elapsed = g_get_monotonic_time () - start;
  g_source_remove (source);
  g_test_message ("heavy page: %.0f ms to render, %u ticks, longest gap %.0f ms",
                  elapsed / 1000.0, ticker.ticks, ticker.max_gap / 1000.0);
  assert_size (charta_document_viewer_get_page_texture (f->viewer), 3264, 4224);
  /* The render took long enough to matter; the thread never stopped for half of it (nor for
   * half a second: what a user would call frozen). */
  g_assert_cmpint (elapsed, >, 200 * 1000);
  g_assert_cmpuint (ticker.ticks, >=, 10);
  g_assert_cmpint (ticker.max_gap, <, MIN (elapsed / 2, 500 * 1000));
}

/* A new document while the last one is still rendering: the old work is dropped (its page
 * never shows), the new one shows; then the window goes while a render is running. */
static void
test_replace_and_dispose (Fixture       *f,
                          gconstpointer  user_data)
{
  g_autofree char *path = NULL;
  g_autoptr(GFile) file = NULL;

  if (f->window == NULL)
    return;
  make_heavy_pdf (f, "heavy.pdf", 3000);
  make_pdf (f, "three.pdf");
  charta_document_viewer_set_zoom (f->viewer, 4.0);
  path = path_in (f, "heavy.pdf");
  file = g_file_new_for_path (path);
  charta_document_viewer_load_file (f->viewer, file, NULL, NULL);
  load (f, "three.pdf", NULL, NULL);
  g_assert_cmpuint (charta_document_viewer_get_n_pages (f->viewer), ==, 3);
  g_assert_cmpstr (charta_document_viewer_get_title (f->viewer), ==, "three.pdf");
  /* Page 1 of three.pdf at 400 %: 1067 × 1600, red, not the heavy page. */
  assert_size (wait_page (f), 1067, 1600);
  g_assert_cmphex (centre (charta_document_viewer_get_page_texture (f->viewer)), ==, RED);

  /* Gone mid-render: the tear-down waits for the viewer to be finalized. */
  charta_document_viewer_load_file (f->viewer, file, NULL, NULL);
  wait_for (is_settled, f->viewer, "the heavy document to be opened");
}

static GtkWidget *
find_css_name (GtkWidget  *root,
               const char *name)
{
  if (g_strcmp0 (gtk_widget_get_css_name (root), name) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_css_name (child, name);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Every toolbar button has a tooltip (naming its keys where it has some) and an accessible
 * label; the page says which page it is; Tab reaches the buttons, the thumbnails and the page. */
static void
test_accessible (Fixture       *f,
                 gconstpointer  user_data)
{
  static const struct
  {
    const char *label;
    const char *tooltip;
  } buttons[] = {
    { "Previous page", "Previous Page (Page Up)" },
    { "Next page", "Next Page (Page Down)" },
    { "Zoom out", "Zoom Out (Ctrl+−)" },
    { "Zoom in", "Zoom In (Ctrl++)" },
    { "Fit width", "Fit Width (Ctrl+0)" },
    { "Fit page", "Fit Page" },
    { "Rotate left", "Rotate Left (Ctrl+Shift+R)" },
    { "Rotate right", "Rotate Right (Ctrl+R)" },
    { "Save a copy", "Save a Copy…" },
  };
  g_autoptr(GHashTable) focused = g_hash_table_new (NULL, NULL);
  GtkWidget *toolbar, *canvas, *list;
  unsigned n_buttons = 0;

  if (f->window == NULL)
    return;
  make_pdf (f, "three.pdf");
  load (f, "three.pdf", "application/pdf", NULL);
  wait_page (f);

  toolbar = find_class (GTK_WIDGET (f->viewer), "document-viewer-toolbar");
  g_assert_nonnull (toolbar);
  for (GtkWidget *child = gtk_widget_get_first_child (toolbar); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (!GTK_IS_BUTTON (child))
        continue;
      g_assert_cmpuint (n_buttons, <, G_N_ELEMENTS (buttons));
      g_assert_cmpstr (gtk_widget_get_tooltip_text (child), ==, buttons[n_buttons].tooltip);
      g_assert_null (gtk_test_accessible_check_property (GTK_ACCESSIBLE (child),
                                                         GTK_ACCESSIBLE_PROPERTY_LABEL,
                                                         buttons[n_buttons].label));
      n_buttons++;
    }
  g_assert_cmpuint (n_buttons, ==, G_N_ELEMENTS (buttons));

  /* The page's canvas (the thumbnails are canvases too, and come first). */
  canvas = find_css_name (page_viewport (f), "documentpage");
  g_assert_nonnull (canvas);
  g_assert_true (gtk_test_accessible_has_role (GTK_ACCESSIBLE (canvas),
                                               GTK_ACCESSIBLE_ROLE_IMG));
  g_assert_null (gtk_test_accessible_check_property (GTK_ACCESSIBLE (canvas),
                                                     GTK_ACCESSIBLE_PROPERTY_LABEL,
                                                     "Page 1 of 3"));
  charta_document_viewer_set_page (f->viewer, 2);
  g_assert_null (gtk_test_accessible_check_property (GTK_ACCESSIBLE (canvas),
                                                     GTK_ACCESSIBLE_PROPERTY_LABEL,
                                                     "Page 3 of 3"));

  /* Tab round the window: the page, a thumbnail and the buttons all take the focus. */
  list = find_type (GTK_WIDGET (f->viewer), GTK_TYPE_LIST_VIEW);
  for (int i = 0; i < 60; i++)
    {
      GtkWidget *focus;

      if (!gtk_widget_child_focus (f->window, GTK_DIR_TAB_FORWARD))
        gtk_widget_child_focus (f->window, GTK_DIR_TAB_FORWARD);
      focus = gtk_root_get_focus (GTK_ROOT (f->window));
      if (focus == NULL)
        continue;
      g_hash_table_add (focused, focus);
      if (gtk_widget_is_ancestor (focus, list))
        g_hash_table_add (focused, list);
    }
  g_assert_true (g_hash_table_contains (focused, canvas));
  g_assert_true (g_hash_table_contains (focused, list));
  for (GtkWidget *child = gtk_widget_get_first_child (toolbar); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_BUTTON (child) && gtk_widget_is_sensitive (child))
      g_assert_true (g_hash_table_contains (focused, child));
}

int
main (int   argc,
      char *argv[])
{
  /* GTK's test accessibility backend, whose properties gtk_test_accessible_*() reads. */
  g_setenv ("GTK_A11Y", "test", TRUE);
  g_test_init (&argc, &argv, NULL);

  have_display = gtk_init_check ();
  if (have_display)
    adw_init ();

  g_test_add ("/charta/gui/document-viewer/pdf-pages", Fixture, NULL, fixture_set_up,
              test_pdf_pages, fixture_tear_down);
  g_test_add ("/charta/gui/document-viewer/pdf-zoom-rotate", Fixture, NULL, fixture_set_up,
              test_pdf_zoom_rotate, fixture_tear_down);
  g_test_add ("/charta/gui/document-viewer/images", Fixture, NULL, fixture_set_up, test_images,
              fixture_tear_down);
  g_test_add ("/charta/gui/document-viewer/tiff", Fixture, NULL, fixture_set_up, test_tiff,
              fixture_tear_down);
  g_test_add ("/charta/gui/document-viewer/bad-input", Fixture, NULL, fixture_set_up,
              test_bad_input, fixture_tear_down);
  g_test_add ("/charta/gui/document-viewer/lying-type", Fixture, NULL, fixture_set_up,
              test_lying_type, fixture_tear_down);
  g_test_add ("/charta/gui/document-viewer/broken-page", Fixture, NULL, fixture_set_up,
              test_broken_page, fixture_tear_down);
  g_test_add ("/charta/gui/document-viewer/accessible", Fixture, NULL, fixture_set_up,
              test_accessible, fixture_tear_down);
  g_test_add ("/charta/gui/document-viewer/main-loop-runs", Fixture, NULL, fixture_set_up,
              test_main_loop_runs, fixture_tear_down);
  g_test_add ("/charta/gui/document-viewer/replace-and-dispose", Fixture, NULL, fixture_set_up,
              test_replace_and_dispose, fixture_tear_down);

  return g_test_run ();
}
