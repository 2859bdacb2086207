/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * bench-document.c: how long the document viewer takes to put page 1 of a 200-page scanned PDF
 * on screen, beside poppler doing the same work bare.
 *
 *   ninja -C build bench/bench-document
 *   xvfb-run -a -s '-screen 0 1280x800x24' build/bench/bench-document [--runs N] [--dir DIR]
 *       [--reuse] [--pages N] [--renderer NAME] [--screenshot FILE.png] [--show FILE]
 *
 * Needs a display (DISPLAY; Xvfb as above does).  The PDF is made once by this program in DIR
 * (default: a new temporary folder, removed at the end), bench-document-scan-N.pdf for N pages
 * (default 200); --reuse keeps it and uses the one left in DIR when poppler counts N pages in
 * it.  It looks like what a scanner makes: each page one full-page raster, US Letter at 200
 * dpi (1700 × 2200 pixels), grey paper with noise and specks, a heading and lines of "text"
 * (words of dark strokes), slightly skewed, JPEG-compressed (quality 75, by gdk-pixbuf) and
 * embedded as is (cairo_surface_set_mime_data (CAIRO_MIME_TYPE_JPEG): a DCTDecode image, which
 * poppler must decode to draw).  The draw is seeded: the same file every time.
 *
 * The viewer runs in this process, in a 1280 × 760 window, with GTK's cairo renderer (the
 * tests' renderer; --renderer NAME sets GSK_RENDERER, "default" leaves GTK to choose).  Each
 * run times charta_document_viewer_load_file() to the first frame painted (the frame clock's
 * "after-paint") once the viewer is ready and has the texture of page 1 at the size it is
 * shown (the default fit width).  Two series, each --runs runs (default 9) after an untimed
 * warm-up, printed as median, min and max:
 *
 *   warm   the viewer already on screen (it showed the document before; cleared, then the
 *          load): as in the app, where the Documents page is open and the user picks a
 *          document.  The viewer knows its view's size, so its open job renders page 1 at once.
 *   fresh  a new viewer put in the window and given the file at once, before its first layout:
 *          page 1 waits for the layout to know its size.
 *
 * The ceiling, measured in the same run (after each warm run, the viewer cleared and left
 * QUIET_MS to finish the render its thread was doing, so that the two do not compete):
 * poppler alone on this thread, no GTK, no other thread: open the same file
 * (poppler_document_new_from_gfile), count its pages, and render page 1 into a cairo image
 * surface of the size the viewer's texture had (white, then the page).  What the viewer cannot
 * beat.
 *
 * Last, the target: page 1 on screen within 300 ms (the warm median).  This is a benchmark,
 * never a timed test: the machine is shared and noisy.  Exit status 1 when the viewer fails to
 * show the page, 2 for a usage error (no display).
 *
 * --screenshot FILE.png shows the first pages of the scan (make it with --pages 12 for speed)
 * with their thumbnails and writes the window to FILE.png (for docs/screenshots); --show FILE
 * opens FILE in the viewer in a window until it is closed (by hand).
 */
#define G_LOG_DOMAIN "charta-bench"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <adwaita.h>
#include <cairo-pdf.h>
#include <glib/gstdio.h>
#include <poppler.h>

#include "charta-document-viewer.h"

#define TARGET_MS 300.0
#define DPI 200
#define PAGE_WIDTH_PX (85 * DPI / 10)    /* 8.5 in */
#define PAGE_HEIGHT_PX (11 * DPI)        /* 11 in */
#define WINDOW_WIDTH 1280
#define WINDOW_HEIGHT 760
#define DEADLINE_SECONDS 120
/* After a run, long enough for the viewer's thread to finish the page it was rendering. */
#define QUIET_MS 400

static int n_runs = 9;
static int n_pages = 200;
static char *work_dir;
static gboolean reuse_files;
static char *renderer;
static char *screenshot;
static char *show_file;

/* ---- helpers ------------------------------------------------------------------------------ */

G_NORETURN static void
fail (const char   *what,
      const GError *error)
{
  fprintf (stderr, "bench-document: %s%s%s\n", what, error != NULL ? ": " : "",
           error != NULL ? error->message : "");
  exit (1);
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

typedef struct
{
  double median, min, max;
} Stats;

static Stats
stats_of (GArray *values)
{
  Stats s = { 0, 0, 0 };
  double *v = (double *) values->data;
  unsigned n = values->len;

  if (n == 0)
    return s;
  qsort (v, n, sizeof (double), compare_double);
  s.median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.min = v[0];
  s.max = v[n - 1];
  return s;
}

static void
print_stats (const char *name,
             GArray     *values)
{
  Stats s = stats_of (values);

  printf ("  %-34s median %7.1f ms   min %7.1f   max %7.1f   (%u runs)\n", name, s.median, s.min,
          s.max, values->len);
}

/* ---- the scanned PDF ---------------------------------------------------------------------- */

static const char *const words[] = {
  "patient", "consent", "procedure", "signature", "date", "physician", "witness", "record",
  "history", "the", "of", "and", "to", "a", "in", "for", "is", "on", "that", "by", "with",
  "medication", "allergy", "discharge", "summary", "admission", "diagnosis", "treatment",
};

/* Page @index: grey paper, noise, specks, a heading and text lines, skewed a little. */
static cairo_surface_t *
draw_scan_page (unsigned index)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1000 + index);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, PAGE_WIDTH_PX,
                                                         PAGE_HEIGHT_PX);
  int stride = cairo_image_surface_get_stride (surface);
  guint8 *data = cairo_image_surface_get_data (surface);
  double skew = g_rand_double_range (rand, -0.6, 0.6) * G_PI / 180;
  cairo_t *cr;

  /* Paper: a grey that drifts slowly across the page, plus fine noise. */
  for (int y = 0; y < PAGE_HEIGHT_PX; y++)
    {
      uint32_t *row = (uint32_t *) (data + (size_t) y * stride);
      int base = 228 + (int) (6 * sin (y / 300.0 + index));

      for (int x = 0; x < PAGE_WIDTH_PX; x++)
        {
          int grey = CLAMP (base + g_rand_int_range (rand, -5, 6), 0, 255);

          row[x] = (uint32_t) grey << 16 | (uint32_t) grey << 8 | (uint32_t) grey;
        }
    }
  cairo_surface_mark_dirty (surface);

  cr = cairo_create (surface);
  /* Specks of dust. */
  for (int i = 0; i < 300; i++)
    {
      cairo_set_source_rgb (cr, 0.35, 0.35, 0.35);
      cairo_arc (cr, g_rand_double_range (rand, 0, PAGE_WIDTH_PX),
                 g_rand_double_range (rand, 0, PAGE_HEIGHT_PX), g_rand_double_range (rand, 0.5, 2),
                 0, 2 * G_PI);
      cairo_fill (cr);
    }
  cairo_translate (cr, PAGE_WIDTH_PX / 2.0, PAGE_HEIGHT_PX / 2.0);
  cairo_rotate (cr, skew);
  cairo_translate (cr, -PAGE_WIDTH_PX / 2.0, -PAGE_HEIGHT_PX / 2.0);
  cairo_set_source_rgb (cr, 0.12, 0.12, 0.14);
  cairo_select_font_face (cr, "Serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size (cr, 56);
  cairo_move_to (cr, 200, 260);
  cairo_show_text (cr, index == 0 ? "CONSENT TO TREATMENT" : "OUTSIDE RECORDS");
  cairo_select_font_face (cr, "Serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 30);
  for (double y = 380; y < PAGE_HEIGHT_PX - 260; y += 52)
    {
      g_autoptr(GString) line = g_string_new (NULL);
      int n_words = g_rand_int_range (rand, 6, 14);

      if (g_rand_int_range (rand, 0, 9) == 0)
        continue;  /* a paragraph break */
      for (int w = 0; w < n_words; w++)
        g_string_append_printf (line, "%s%s", w > 0 ? " " : "",
                                words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
      cairo_move_to (cr, 200, y);
      cairo_show_text (cr, line->str);
    }
  /* A signature line. */
  cairo_set_line_width (cr, 3);
  cairo_move_to (cr, 200, PAGE_HEIGHT_PX - 200);
  cairo_line_to (cr, 900, PAGE_HEIGHT_PX - 200);
  cairo_stroke (cr);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  return surface;
}

/* The PDF, every page a JPEG embedded as is. */
static void
make_scan_pdf (const char *path)
{
  cairo_surface_t *pdf = cairo_pdf_surface_create (path, 612, 792);
  cairo_t *cr = cairo_create (pdf);
  size_t jpeg_bytes = 0;
  int64_t start = g_get_monotonic_time ();

  cairo_pdf_surface_set_metadata (pdf, CAIRO_PDF_METADATA_CREATOR, "bench-document");
  for (int i = 0; i < n_pages; i++)
    {
      cairo_surface_t *image = draw_scan_page (i);
      g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_get_from_surface (image, 0, 0, PAGE_WIDTH_PX,
                                                                 PAGE_HEIGHT_PX);
      g_autoptr(GError) error = NULL;
      char *jpeg = NULL;
      gsize length = 0;

      if (!gdk_pixbuf_save_to_buffer (pixbuf, &jpeg, &length, "jpeg", &error, "quality", "75",
                                      NULL))
        fail ("cannot encode a page as JPEG", error);
      jpeg_bytes += length;
      cairo_surface_set_mime_data (image, CAIRO_MIME_TYPE_JPEG, (unsigned char *) jpeg, length,
                                   g_free, jpeg);
      cairo_save (cr);
      cairo_scale (cr, 72.0 / DPI, 72.0 / DPI);
      cairo_set_source_surface (cr, image, 0, 0);
      cairo_paint (cr);
      cairo_restore (cr);
      cairo_show_page (cr);
      cairo_surface_destroy (image);
    }
  cairo_destroy (cr);
  cairo_surface_finish (pdf);
  if (cairo_surface_status (pdf) != CAIRO_STATUS_SUCCESS)
    fail (cairo_status_to_string (cairo_surface_status (pdf)), NULL);
  cairo_surface_destroy (pdf);
  printf ("made %s: %d pages, %.1f MB of JPEG (%.0f KB a page) in %.1f s\n", path, n_pages,
          jpeg_bytes / 1e6, jpeg_bytes / 1e3 / n_pages,
          (g_get_monotonic_time () - start) / 1e6);
}

static int
pdf_page_count (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  PopplerDocument *document;
  int count;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return -1;
  document = poppler_document_new_from_gfile (file, NULL, NULL, NULL);
  if (document == NULL)
    return -1;
  count = poppler_document_get_n_pages (document);
  g_object_unref (document);
  return count;
}

/* ---- the ceiling -------------------------------------------------------------------------- */

/* Opens @path and renders page 1 at @width × @height; returns the milliseconds it took. */
static double
bare_poppler (const char *path,
              int         width,
              int         height)
{
  int64_t start = g_get_monotonic_time ();
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  PopplerDocument *document = poppler_document_new_from_gfile (file, NULL, NULL, &error);
  PopplerPage *page;
  cairo_surface_t *surface;
  double page_width, page_height;
  cairo_t *cr;

  if (document == NULL)
    fail ("poppler cannot open the PDF", error);
  if (poppler_document_get_n_pages (document) != n_pages)
    fail ("poppler counts other pages", NULL);
  page = poppler_document_get_page (document, 0);
  poppler_page_get_size (page, &page_width, &page_height);
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cr = cairo_create (surface);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_scale (cr, width / page_width, height / page_height);
  poppler_page_render (page, cr);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  cairo_surface_destroy (surface);
  g_object_unref (page);
  g_object_unref (document);
  return (g_get_monotonic_time () - start) / 1000.0;
}

/* ---- the viewer --------------------------------------------------------------------------- */

typedef struct
{
  GtkWidget *window;
  ChartaDocumentViewer *viewer;
  int64_t start;
  double elapsed_ms;       /* < 0 until page 1 is painted */
  gulong handler;
} Run;

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
wait_until (gboolean   (*done) (gpointer),
            gpointer     data,
            const char  *what)
{
  int64_t deadline = g_get_monotonic_time () + DEADLINE_SECONDS * G_USEC_PER_SEC;
  guint tick = g_timeout_add (50, wake_up, NULL);

  while (!done (data))
    {
      if (g_get_monotonic_time () > deadline)
        fail (what, NULL);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (tick);
}

static gboolean
page_painted (gpointer data)
{
  Run *run = data;

  return run->elapsed_ms >= 0 ||
         charta_document_viewer_get_state (run->viewer) == CHARTA_DOCUMENT_VIEWER_STATE_NO_PREVIEW;
}

static void
after_paint (GdkFrameClock *clock,
             Run           *run)
{
  if (run->elapsed_ms < 0 &&
      charta_document_viewer_get_state (run->viewer) == CHARTA_DOCUMENT_VIEWER_STATE_READY &&
      charta_document_viewer_get_page_texture (run->viewer) != NULL)
    run->elapsed_ms = (g_get_monotonic_time () - run->start) / 1000.0;
}

static gboolean
time_up (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

/* Runs the main loop for @ms milliseconds. */
static void
pause_ms (unsigned ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, time_up, &done);
  wait_until (is_true, &done, "the pause did not end");
}

static gboolean
is_mapped (gpointer data)
{
  return gtk_widget_get_mapped (data) && gtk_widget_get_width (data) > 0;
}

static gboolean
frames_counted (gpointer data)
{
  return *(unsigned *) data >= 2;
}

static void
count_frame (GdkFrameClock *clock,
             unsigned      *frames)
{
  if (++*frames < 2)
    gdk_frame_clock_request_phase (clock, GDK_FRAME_CLOCK_PHASE_PAINT);
}

/* Two frames painted: the window is idle again. */
static void
settle (GtkWidget *window)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);
  unsigned frames = 0;
  gulong handler = g_signal_connect (clock, "after-paint", G_CALLBACK (count_frame), &frames);

  gdk_frame_clock_request_phase (clock, GDK_FRAME_CLOCK_PHASE_PAINT);
  wait_until (frames_counted, &frames, "the window does not paint");
  g_signal_handler_disconnect (clock, handler);
}

/* Loads @file and times it to the frame that shows page 1; returns the milliseconds. */
static double
time_load (Run   *run,
           GFile *file)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (run->window);

  run->elapsed_ms = -1;
  run->handler = g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint), run);
  run->start = g_get_monotonic_time ();
  charta_document_viewer_load_file (run->viewer, file, "application/pdf", "scan.pdf");
  wait_until (page_painted, run, "the viewer did not show page 1 in time");
  g_signal_handler_disconnect (clock, run->handler);
  if (run->elapsed_ms < 0)
    fail (charta_document_viewer_get_no_preview_reason (run->viewer), NULL);
  return run->elapsed_ms;
}

static void
new_viewer (Run *run)
{
  run->viewer = CHARTA_DOCUMENT_VIEWER (charta_document_viewer_new ());
  gtk_window_set_child (GTK_WINDOW (run->window), GTK_WIDGET (run->viewer));
}

static gboolean
thumbnails_done (gpointer data)
{
  Run *run = data;

  for (unsigned i = 0; i < 4; i++)
    if (charta_document_viewer_get_thumbnail (run->viewer, i) == NULL)
      return FALSE;
  return TRUE;
}

/* Writes the window as it is drawn to @path (PNG). */
static void
save_window (GtkWidget  *window,
             const char *path)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (window);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int width = gtk_widget_get_width (window), height = gtk_widget_get_height (window);
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    fail ("nothing to save: the window draws nothing", NULL);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    fail ("cannot write the screenshot", NULL);
  printf ("wrote %s (%d × %d)\n", path, width, height);
}

static gboolean
window_closed (gpointer data)
{
  return !gtk_widget_get_visible (data);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp_dir = NULL;
  g_autofree char *pdf_path = NULL;
  g_autofree char *pdf_name = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GArray) warm = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) fresh = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) ceiling = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GtkCssProvider) css = NULL;
  GdkTexture *texture;
  Run run = { NULL, NULL, 0, -1, 0 };
  int width = 0, height = 0;
  double warm_median;
  GOptionEntry entries[] = {
    { "runs", 0, 0, G_OPTION_ARG_INT, &n_runs, "Timed runs of each figure (9)", "N" },
    { "pages", 0, 0, G_OPTION_ARG_INT, &n_pages, "Pages of the scanned PDF (200)", "N" },
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &work_dir, "Where to make the PDF", "DIR" },
    { "reuse", 0, 0, G_OPTION_ARG_NONE, &reuse_files,
      "Keep the PDF in DIR and reuse the one left there", NULL },
    { "renderer", 0, 0, G_OPTION_ARG_STRING, &renderer, "GSK_RENDERER (cairo; \"default\": "
      "GTK's choice)", "NAME" },
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, &screenshot,
      "Write the viewer showing the scan to FILE.png, and stop", "FILE.png" },
    { "show", 0, 0, G_OPTION_ARG_FILENAME, &show_file, "Show FILE in the viewer until the "
      "window is closed", "FILE" },
    { NULL },
  };

  options = g_option_context_new (NULL);
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      fprintf (stderr, "bench-document: %s\n", error->message);
      return 2;
    }
  if (n_runs < 1 || n_pages < 1)
    {
      fprintf (stderr, "bench-document: --runs and --pages must be 1 or more\n");
      return 2;
    }
  if (renderer == NULL || g_strcmp0 (renderer, "default") != 0)
    g_setenv ("GSK_RENDERER", renderer != NULL ? renderer : "cairo", renderer != NULL);
  g_setenv ("GDK_BACKEND", "x11", FALSE);
  g_setenv ("GTK_A11Y", "none", FALSE);
  g_setenv ("GSETTINGS_BACKEND", "memory", FALSE);
  if (!gtk_init_check ())
    {
      fprintf (stderr, "bench-document: no display (run it under xvfb-run -a)\n");
      return 2;
    }
  adw_init ();
  /* The app's style sheet (AdwApplication loads it by itself; there is none here). */
  css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/org/charta/Desktop/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);

  run.window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (run.window), WINDOW_WIDTH, WINDOW_HEIGHT);
  gtk_window_set_title (GTK_WINDOW (run.window), "bench-document");
  new_viewer (&run);
  gtk_window_present (GTK_WINDOW (run.window));
  wait_until (is_mapped, run.viewer, "the window is not shown");

  if (show_file != NULL)
    {
      g_autoptr(GFile) shown = g_file_new_for_commandline_arg (show_file);

      charta_document_viewer_load_file (run.viewer, shown, NULL, NULL);
      while (!window_closed (run.window))
        g_main_context_iteration (NULL, TRUE);
      return 0;
    }

  /* The PDF. */
  if (work_dir == NULL)
    {
      tmp_dir = g_dir_make_tmp ("bench-document-XXXXXX", &error);
      if (tmp_dir == NULL)
        fail ("cannot make a temporary folder", error);
    }
  pdf_name = g_strdup_printf ("bench-document-scan-%d.pdf", n_pages);
  pdf_path = g_build_filename (work_dir != NULL ? work_dir : tmp_dir, pdf_name, NULL);
  if (reuse_files && work_dir != NULL && pdf_page_count (pdf_path) == n_pages)
    printf ("reusing %s\n", pdf_path);
  else
    make_scan_pdf (pdf_path);
  file = g_file_new_for_path (pdf_path);

  if (screenshot != NULL)
    {
      time_load (&run, file);
      wait_until (thumbnails_done, &run, "the thumbnails did not come");
      settle (run.window);
      save_window (run.window, screenshot);
      gtk_window_destroy (GTK_WINDOW (run.window));
      goto done;
    }

  printf ("renderer %s, window %d × %d, %d runs each after one untimed\n",
          g_getenv ("GSK_RENDERER") != NULL ? g_getenv ("GSK_RENDERER") : "(GTK's choice)",
          WINDOW_WIDTH, WINDOW_HEIGHT, n_runs);

  /* Warm: the same viewer, cleared and given the file again; each run followed by the ceiling
   * (poppler alone, at the size of the viewer's texture), so that both see the same machine. */
  for (int i = 0; i <= n_runs; i++)
    {
      double ms;

      charta_document_viewer_clear (run.viewer);
      settle (run.window);
      ms = time_load (&run, file);
      texture = charta_document_viewer_get_page_texture (run.viewer);
      width = gdk_texture_get_width (texture);
      height = gdk_texture_get_height (texture);
      /* Let the viewer's thread finish what it was doing (thumbnails, the next page). */
      charta_document_viewer_clear (run.viewer);
      pause_ms (QUIET_MS);
      if (i == 0)
        continue;
      g_array_append_val (warm, ms);
      ms = bare_poppler (pdf_path, width, height);
      g_array_append_val (ceiling, ms);
    }

  /* Fresh: a new viewer each time, given the file before its first layout. */
  for (int i = 0; i <= n_runs; i++)
    {
      double ms;

      new_viewer (&run);
      ms = time_load (&run, file);
      if (i > 0)
        g_array_append_val (fresh, ms);
      settle (run.window);
    }

  printf ("\nfirst page on screen, %d-page scanned PDF, page 1 at %d × %d pixels (fit width):\n",
          n_pages, width, height);
  print_stats ("viewer, warm (load → painted)", warm);
  print_stats ("viewer, fresh (load → painted)", fresh);
  print_stats ("ceiling: poppler open + render", ceiling);
  warm_median = stats_of (warm).median;
  printf ("\ntarget: page 1 on screen within %.0f ms (warm median): %.1f ms: %s\n", TARGET_MS,
          warm_median, warm_median < TARGET_MS ? "met" : "MISSED");
  gtk_window_destroy (GTK_WINDOW (run.window));

done:
  if (tmp_dir != NULL)
    {
      g_unlink (pdf_path);
      g_rmdir (tmp_dir);
    }
  return 0;
}
