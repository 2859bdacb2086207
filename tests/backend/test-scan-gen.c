/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-scan-gen.c: the generator of scanned-looking documents (charta-scan-gen.h).
 *
 * Each format is generated and read back with an independent decoder: PDFs with poppler (page
 * count, page size in points, one image covering each page, dark text on light paper when
 * rendered), PNG and JPEG with gdk-pixbuf, TIFF with libtiff (pages, size, samples, resolution,
 * every scanline readable).  Expected sizes are worked out by hand from letter paper, 8.5 × 11
 * inches, at the spec's dpi.  The same spec gives the same bytes and another seed or another
 * patient other bytes; a spec out of range is refused with a message naming the field; each
 * form's LOINC document type is in R4's c80-doc-typecodes value set (read from the corpus).
 */
#define G_LOG_DOMAIN "charta-test"

#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <poppler.h>
#include <tiffio.h>

#include "charta-scan-gen.h"
#include "charta-test-util.h"

/* poppler-glib 22.12 declares none */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PopplerDocument, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PopplerPage, g_object_unref)

static void
init_spec (ChartaScanSpec *spec,
           ChartaScanForm  form,
           unsigned        n_pages,
           unsigned        dpi)
{
  charta_scan_spec_init (spec);
  spec->form = form;
  spec->n_pages = n_pages;
  spec->dpi = dpi;
  spec->patient_name = "Zoë Fitzgerald";
  spec->birth_date = "1958-07-14";
  spec->mrn = "04012345";
  spec->date = "2025-03-09";
  spec->seed = 7;
}

static GBytes *
generate (const ChartaScanSpec *spec,
          ChartaScanFormat      format)
{
  g_autoptr(GError) error = NULL;
  GBytes *bytes = charta_scan_generate (spec, format, &error);

  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  return bytes;
}

/* How many times @needle occurs in the @size bytes of @data (which may hold nul bytes). */
static unsigned
count_bytes (const char *data,
             gsize       size,
             const char *needle)
{
  size_t len = strlen (needle);
  unsigned n = 0;

  for (gsize i = 0; i + len <= size; i++)
    n += memcmp (data + i, needle, len) == 0;
  return n;
}

static GdkPixbuf *
decode_image (GBytes *bytes)
{
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes (bytes);
  g_autoptr(GError) error = NULL;
  GdkPixbuf *pixbuf = gdk_pixbuf_new_from_stream (stream, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (pixbuf);
  return pixbuf;
}

/* The share of pixels of @pixbuf whose mean channel is below @dark (text) and above @light
 * (paper), in percent. */
static void
tally (GdkPixbuf *pixbuf,
       unsigned   dark,
       unsigned   light,
       double    *dark_pct,
       double    *light_pct)
{
  int width = gdk_pixbuf_get_width (pixbuf);
  int height = gdk_pixbuf_get_height (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  int channels = gdk_pixbuf_get_n_channels (pixbuf);
  const guint8 *pixels = gdk_pixbuf_read_pixels (pixbuf);
  uint64_t n_dark = 0, n_light = 0;

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        const guint8 *p = pixels + (size_t) y * stride + (size_t) x * channels;
        unsigned mean = (p[0] + p[1] + p[2]) / 3;

        n_dark += mean < dark;
        n_light += mean > light;
      }
  *dark_pct = 100.0 * n_dark / ((double) width * height);
  *light_pct = 100.0 * n_light / ((double) width * height);
}

/* SHA-256 of @pixbuf's pixels (each row's pixels only, not its padding). */
static char *
pixels_digest (GdkPixbuf *pixbuf)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  const guint8 *pixels = gdk_pixbuf_read_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  size_t row = (size_t) gdk_pixbuf_get_width (pixbuf) * gdk_pixbuf_get_n_channels (pixbuf);

  for (int y = 0; y < gdk_pixbuf_get_height (pixbuf); y++)
    g_checksum_update (checksum, pixels + (size_t) y * stride, row);
  return g_strdup (g_checksum_get_string (checksum));
}

/* Text on paper: some dark pixels (the letters: a page holds more than a thousand, a few
 * percent of its area), most pixels light (the paper is 0.92–0.96 of white: 235–245). */
static void
assert_looks_like_text (GdkPixbuf *pixbuf)
{
  double dark, light;

  tally (pixbuf, 110, 215, &dark, &light);
  g_test_message ("dark %.2f%%, light %.2f%%", dark, light);
  g_assert_cmpfloat (dark, >, 0.5);
  g_assert_cmpfloat (dark, <, 15.0);
  g_assert_cmpfloat (light, >, 70.0);
}

/* ---- determinism --------------------------------------------------------------------------- */

static void
test_deterministic (void)
{
  for (ChartaScanFormat format = CHARTA_SCAN_FORMAT_PDF; format <= CHARTA_SCAN_FORMAT_TIFF;
       format++)
    {
      gboolean multi = format == CHARTA_SCAN_FORMAT_PDF || format == CHARTA_SCAN_FORMAT_TIFF;
      ChartaScanSpec spec;
      g_autoptr(GBytes) a = NULL;
      g_autoptr(GBytes) b = NULL;
      g_autoptr(GBytes) other_seed = NULL;
      g_autoptr(GBytes) other_patient = NULL;

      init_spec (&spec, CHARTA_SCAN_FORM_RELEASE, multi ? 2 : 1, 60);
      a = generate (&spec, format);
      b = generate (&spec, format);
      g_assert_true (g_bytes_equal (a, b));

      spec.seed = 8;
      other_seed = generate (&spec, format);
      g_assert_false (g_bytes_equal (a, other_seed));

      /* the patient's name is on the page: another name, other pixels */
      spec.seed = 7;
      spec.patient_name = "Zoe Fitzgeralt";
      other_patient = generate (&spec, format);
      g_assert_false (g_bytes_equal (a, other_patient));
    }
}

/* The SHA-256 of a two-page document (one page for PNG and JPEG) in each format, one line
 * each: "pdf HASH". */
static char *
hash_formats (void)
{
  GString *out = g_string_new (NULL);

  for (ChartaScanFormat format = CHARTA_SCAN_FORMAT_PDF; format <= CHARTA_SCAN_FORMAT_TIFF;
       format++)
    {
      gboolean multi = format == CHARTA_SCAN_FORMAT_PDF || format == CHARTA_SCAN_FORMAT_TIFF;
      g_autoptr(GBytes) bytes = NULL;
      g_autofree char *hash = NULL;
      ChartaScanSpec spec;

      init_spec (&spec, CHARTA_SCAN_FORM_DISCHARGE_SUMMARY, multi ? 2 : 1, 50);
      bytes = generate (&spec, format);
      hash = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
      g_string_append_printf (out, "%s %s\n", charta_scan_format_get_extension (format), hash);
    }
  return g_string_free (out, FALSE);
}

/* Another process, whose fresh allocations are never zeros, draws the same bytes: nothing of
 * the output comes from memory it did not write (as the gaps libtiff seeks over once did). */
static void
test_deterministic_processes (void)
{
  g_autofree char *expected = NULL;

  if (g_test_subprocess ())
    {
      g_autofree char *hashes = NULL;

#ifdef __GLIBC__
      /* every allocation from the heap (none mapped fresh, hence zeroed, by the kernel), and
       * filled with 0x5a when allocated: output that reads memory it never wrote changes */
      mallopt (M_MMAP_THRESHOLD, 256 * 1024 * 1024);
      mallopt (M_PERTURB, 0xa5);
#endif
      hashes = hash_formats ();
      g_print ("%s", hashes);
      return;
    }

  expected = hash_formats ();
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout (expected);
}

/* ---- PDF ----------------------------------------------------------------------------------- */

static void
test_pdf (void)
{
  ChartaScanSpec spec;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PopplerDocument) document = NULL;
  g_autoptr(GPtrArray) renders = g_ptr_array_new_with_free_func (g_free);
  gsize size;
  const char *data;

  init_spec (&spec, CHARTA_SCAN_FORM_DISCHARGE_SUMMARY, 3, CHARTA_SCAN_DEFAULT_DPI);
  bytes = generate (&spec, CHARTA_SCAN_FORMAT_PDF);
  data = g_bytes_get_data (bytes, &size);
  g_assert_cmpmem (data, 5, "%PDF-", 5);
  /* small, as a scanner's: under 150 KB a page of text at 150 dpi */
  g_test_message ("%" G_GSIZE_FORMAT " bytes for 3 pages", size);
  g_assert_cmpuint (size, <, 3 * 150 * 1024);
  /* each page embedded as a JPEG of its own, not re-encoded by cairo */
  g_assert_cmpuint (count_bytes (data, size, "/DCTDecode"), ==, 3);

  document = poppler_document_new_from_bytes (bytes, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (poppler_document_get_n_pages (document), ==, 3);

  for (int i = 0; i < 3; i++)
    {
      g_autoptr(PopplerPage) page = poppler_document_get_page (document, i);
      g_autofree char *digest = NULL;
      GList *images = poppler_page_get_image_mapping (page);
      PopplerImageMapping *image;
      cairo_surface_t *surface;
      cairo_t *cr;
      g_autoptr(GdkPixbuf) pixbuf = NULL;
      double width, height;

      poppler_page_get_size (page, &width, &height);
      /* letter: 8.5 × 11 in at 72 points per inch */
      g_assert_cmpfloat_with_epsilon (width, 612.0, 0.01);
      g_assert_cmpfloat_with_epsilon (height, 792.0, 0.01);

      /* a scan: the page is one image, edge to edge */
      g_assert_cmpuint (g_list_length (images), ==, 1);
      image = images->data;
      g_assert_cmpfloat_with_epsilon (image->area.x1, 0.0, 0.5);
      g_assert_cmpfloat_with_epsilon (image->area.y1, 0.0, 0.5);
      g_assert_cmpfloat_with_epsilon (image->area.x2, 612.0, 0.5);
      g_assert_cmpfloat_with_epsilon (image->area.y2, 792.0, 0.5);
      poppler_page_free_image_mapping (images);

      /* rendered at 50 dpi (425 × 550 pixels): dark letters on light paper */
      surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 425, 550);
      cr = cairo_create (surface);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
      cairo_scale (cr, 50.0 / 72.0, 50.0 / 72.0);
      poppler_page_render (page, cr);
      cairo_destroy (cr);
      pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 425, 550);
      {
        const guint8 *src = cairo_image_surface_get_data (surface);
        int stride = cairo_image_surface_get_stride (surface);
        guint8 *dst = gdk_pixbuf_get_pixels (pixbuf);
        int dst_stride = gdk_pixbuf_get_rowstride (pixbuf);

        cairo_surface_flush (surface);
        for (int y = 0; y < 550; y++)
          for (int x = 0; x < 425; x++)
            {
              guint32 p = ((const guint32 *) (const void *) (src + (size_t) y * stride))[x];

              dst[y * dst_stride + 3 * x] = (p >> 16) & 0xff;
              dst[y * dst_stride + 3 * x + 1] = (p >> 8) & 0xff;
              dst[y * dst_stride + 3 * x + 2] = p & 0xff;
            }
      }
      cairo_surface_destroy (surface);
      assert_looks_like_text (pixbuf);

      /* every page its own picture (one raster buffer serves them all while drawing) */
      digest = pixels_digest (pixbuf);
      for (unsigned j = 0; j < renders->len; j++)
        g_assert_cmpstr (digest, !=, renders->pdata[j]);
      g_ptr_array_add (renders, g_steal_pointer (&digest));
    }
}

/* ---- PNG and JPEG -------------------------------------------------------------------------- */

static void
test_png (void)
{
  ChartaScanSpec spec;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  const guint8 *pixels;
  int stride, bed = 0;

  init_spec (&spec, CHARTA_SCAN_FORM_CONSENT, 1, 100);
  bytes = generate (&spec, CHARTA_SCAN_FORMAT_PNG);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), 8, "\x89PNG\r\n\x1a\n", 8);

  pixbuf = decode_image (bytes);
  /* 8.5 × 100 = 850, 11 × 100 = 1100 */
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, 850);
  g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, 1100);
  assert_looks_like_text (pixbuf);

  /* the sheet lies skewed on the scanner's bed (grey 0.74: 189): a corner of the image, at
   * least, shows the bed rather than paper (235 and lighter) */
  pixels = gdk_pixbuf_read_pixels (pixbuf);
  stride = gdk_pixbuf_get_rowstride (pixbuf);
  for (int corner = 0; corner < 4; corner++)
    {
      int x = (corner & 1) ? 849 : 0;
      int y = (corner & 2) ? 1099 : 0;
      const guint8 *p = pixels + (size_t) y * stride + (size_t) x * 3;

      bed += p[0] >= 180 && p[0] <= 198 && p[1] >= 180 && p[1] <= 198;
    }
  g_assert_cmpint (bed, >=, 1);
}

static void
test_jpeg (void)
{
  ChartaScanSpec spec;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;

  init_spec (&spec, CHARTA_SCAN_FORM_HISTORY, 1, 72);
  bytes = generate (&spec, CHARTA_SCAN_FORMAT_JPEG);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), 3, "\xff\xd8\xff", 3);

  pixbuf = decode_image (bytes);
  /* 8.5 × 72 = 612, 11 × 72 = 792 */
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, 612);
  g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, 792);
  assert_looks_like_text (pixbuf);
}

/* ---- TIFF ---------------------------------------------------------------------------------- */

static void
test_tiff (void)
{
  g_autofree char *dir = charta_test_make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "scan.tif", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *written = NULL;
  gsize written_size;
  ChartaScanSpec spec;
  TIFF *tif;
  unsigned pages = 0;

  init_spec (&spec, CHARTA_SCAN_FORM_DISCHARGE_SUMMARY, 4, 75);
  g_assert_true (charta_scan_generate_file (&spec, CHARTA_SCAN_FORMAT_TIFF, path, &error));
  g_assert_no_error (error);

  /* the file holds exactly what charta_scan_generate() gives */
  bytes = generate (&spec, CHARTA_SCAN_FORMAT_TIFF);
  g_assert_true (g_file_get_contents (path, &written, &written_size, &error));
  g_assert_cmpmem (written, written_size, g_bytes_get_data (bytes, NULL),
                   g_bytes_get_size (bytes));

  tif = TIFFOpen (path, "r");
  g_assert_nonnull (tif);
  do
    {
      uint32_t width = 0, height = 0;
      uint16_t bits = 0, samples = 0, page = 0, of = 0, unit = 0;
      float xres = 0;
      g_autofree guint8 *row = NULL;
      uint64_t sum = 0;

      g_assert_true (TIFFGetField (tif, TIFFTAG_IMAGEWIDTH, &width));
      g_assert_true (TIFFGetField (tif, TIFFTAG_IMAGELENGTH, &height));
      /* 8.5 × 75 = 637.5, rounded up to 638; 11 × 75 = 825 */
      g_assert_cmpuint (width, ==, 638);
      g_assert_cmpuint (height, ==, 825);
      g_assert_true (TIFFGetFieldDefaulted (tif, TIFFTAG_BITSPERSAMPLE, &bits));
      g_assert_true (TIFFGetFieldDefaulted (tif, TIFFTAG_SAMPLESPERPIXEL, &samples));
      g_assert_cmpuint (bits, ==, 8);
      g_assert_cmpuint (samples, ==, 1);
      g_assert_true (TIFFGetField (tif, TIFFTAG_XRESOLUTION, &xres));
      g_assert_true (TIFFGetField (tif, TIFFTAG_RESOLUTIONUNIT, &unit));
      g_assert_cmpfloat (xres, ==, 75.0);
      g_assert_cmpuint (unit, ==, RESUNIT_INCH);
      g_assert_true (TIFFGetField (tif, TIFFTAG_PAGENUMBER, &page, &of));
      g_assert_cmpuint (page, ==, pages);
      g_assert_cmpuint (of, ==, 4);

      /* every row decodes; the page is mostly paper (mean above 200 of 255) */
      row = g_malloc (TIFFScanlineSize (tif));
      for (uint32_t y = 0; y < height; y++)
        {
          g_assert_cmpint (TIFFReadScanline (tif, row, y, 0), ==, 1);
          for (uint32_t x = 0; x < width; x++)
            sum += row[x];
        }
      g_assert_cmpuint (sum / ((uint64_t) width * height), >, 200);
      g_assert_cmpuint (sum / ((uint64_t) width * height), <, 250);
      pages++;
    }
  while (TIFFReadDirectory (tif));
  TIFFClose (tif);
  g_assert_cmpuint (pages, ==, 4);

  charta_test_remove_tree (dir);
}

/* ---- bad specs ----------------------------------------------------------------------------- */

static void
assert_refused (const ChartaScanSpec *spec,
                ChartaScanFormat      format,
                const char           *field)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = charta_scan_generate (spec, format, &error);

  g_assert_null (bytes);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  charta_test_assert_contains (error->message, field);
}

static void
test_bad_spec (void)
{
  ChartaScanSpec spec;

  init_spec (&spec, CHARTA_SCAN_FORM_CONSENT, 2, 50);
  assert_refused (&spec, CHARTA_SCAN_FORMAT_PNG, "n_pages 2");
  assert_refused (&spec, CHARTA_SCAN_FORMAT_JPEG, "n_pages 2");
  spec.n_pages = 0;
  assert_refused (&spec, CHARTA_SCAN_FORMAT_PDF, "n_pages 0");

  init_spec (&spec, CHARTA_SCAN_FORM_CONSENT, 1, 10);
  assert_refused (&spec, CHARTA_SCAN_FORMAT_PDF, "dpi 10");
  init_spec (&spec, CHARTA_SCAN_FORM_CONSENT, 1, 50);
  spec.jpeg_quality = 5;
  assert_refused (&spec, CHARTA_SCAN_FORMAT_JPEG, "jpeg_quality 5");
  init_spec (&spec, CHARTA_SCAN_FORM_CONSENT, 1, 50);
  spec.date = "2025-02-30";
  assert_refused (&spec, CHARTA_SCAN_FORMAT_PDF, "date \"2025-02-30\"");
  init_spec (&spec, CHARTA_SCAN_FORM_CONSENT, 1, 50);
  spec.birth_date = "14/07/1958";
  assert_refused (&spec, CHARTA_SCAN_FORMAT_TIFF, "birth_date \"14/07/1958\"");
}

/* ---- forms --------------------------------------------------------------------------------- */

/* Each form's LOINC code and display are those of R4's c80-doc-typecodes. */
static void
test_loinc (void)
{
  g_autofree char *path = charta_test_corpus_path ("r4-definitions/valuesets.json");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GHashTable) displays = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  JsonArray *entries;

  if (path == NULL)
    return;
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  entries = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                          "entry");
  for (unsigned i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *resource = json_object_get_object_member (
        json_array_get_object_element (entries, i), "resource");
      JsonArray *includes;

      if (g_strcmp0 (json_object_get_string_member_with_default (resource, "id", ""),
                     "c80-doc-typecodes") != 0)
        continue;
      includes = json_object_get_array_member (json_object_get_object_member (resource,
                                                                              "compose"),
                                               "include");
      for (unsigned j = 0; j < json_array_get_length (includes); j++)
        {
          JsonObject *include = json_array_get_object_element (includes, j);
          JsonArray *concepts;

          if (!json_object_has_member (include, "concept"))
            continue;
          g_assert_cmpstr (json_object_get_string_member (include, "system"), ==,
                           "http://loinc.org");
          concepts = json_object_get_array_member (include, "concept");
          for (unsigned k = 0; k < json_array_get_length (concepts); k++)
            {
              JsonObject *concept = json_array_get_object_element (concepts, k);

              g_hash_table_insert (displays,
                                   (gpointer) json_object_get_string_member (concept, "code"),
                                   (gpointer) json_object_get_string_member (concept,
                                                                             "display"));
            }
        }
    }
  g_assert_cmpuint (g_hash_table_size (displays), >, 100);

  for (ChartaScanForm form = 0; form < CHARTA_SCAN_N_FORMS; form++)
    {
      const char *display = NULL;
      const char *code = charta_scan_form_get_loinc (form, &display);

      g_test_message ("%s: %s %s", charta_scan_form_get_title (form), code, display);
      g_assert_cmpstr (g_hash_table_lookup (displays, code), ==, display);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/charta/backend/scan-gen/deterministic", test_deterministic);
  g_test_add_func ("/charta/backend/scan-gen/deterministic/processes",
                   test_deterministic_processes);
  g_test_add_func ("/charta/backend/scan-gen/pdf", test_pdf);
  g_test_add_func ("/charta/backend/scan-gen/png", test_png);
  g_test_add_func ("/charta/backend/scan-gen/jpeg", test_jpeg);
  g_test_add_func ("/charta/backend/scan-gen/tiff", test_tiff);
  g_test_add_func ("/charta/backend/scan-gen/bad-spec", test_bad_spec);
  g_test_add_func ("/charta/backend/scan-gen/loinc", test_loinc);

  return g_test_run ();
}
