/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-scan-gen.h: made-up scanned paper, for the demo, the tests and the benchmarks.
 *
 * charta_scan_generate() draws the pages of a paper form as a scanner would have captured them
 * (off-white paper slightly skewed on a grey bed, typed text with uneven ink, a signature, dust
 * specks, a dirty-glass streak, "Page n of N") and writes them as a real scanner would: a PDF
 * whose every page is one JPEG image (letter size), a PNG or a JPEG of one page, or a
 * multi-page TIFF (8-bit greyscale, deflate).  Forms: a consent for treatment, outside records
 * (a discharge summary from another hospital), a release of information authorization, a
 * health history questionnaire; each page names the patient given, with birth date and MRN.
 *
 * Determinism: everything comes from a GRand seeded with spec->seed and from the spec's own
 * text; no clock, no locale, no system font (the text is drawn from a built-in 5×7 typewriter
 * font, the names transliterated to ASCII as an old form would have them).  The same spec gives
 * the same bytes on every run and every machine with the same cairo, gdk-pixbuf and libtiff.
 *
 * Not part of libcharta's installed API: the `charta` command, the demo (charta-demo.c) and the
 * tests use it.  Nothing here logs patient text.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  CHARTA_SCAN_FORM_CONSENT,           /* "CONSENT FOR TREATMENT" */
  CHARTA_SCAN_FORM_DISCHARGE_SUMMARY, /* "OUTSIDE RECORDS — DISCHARGE SUMMARY" */
  CHARTA_SCAN_FORM_RELEASE,           /* "RELEASE OF INFORMATION AUTHORIZATION" */
  CHARTA_SCAN_FORM_HISTORY,           /* "HEALTH HISTORY QUESTIONNAIRE" */
} ChartaScanForm;

#define CHARTA_SCAN_N_FORMS (CHARTA_SCAN_FORM_HISTORY + 1)

typedef enum
{
  CHARTA_SCAN_FORMAT_PDF,   /* application/pdf: one JPEG image per page, letter size */
  CHARTA_SCAN_FORMAT_PNG,   /* image/png: one page, RGB */
  CHARTA_SCAN_FORMAT_JPEG,  /* image/jpeg: one page */
  CHARTA_SCAN_FORMAT_TIFF,  /* image/tiff: one 8-bit greyscale image per page, deflate */
} ChartaScanFormat;

#define CHARTA_SCAN_DEFAULT_DPI 150
#define CHARTA_SCAN_MIN_DPI     30
#define CHARTA_SCAN_MAX_DPI     600
#define CHARTA_SCAN_MAX_PAGES   10000

typedef struct
{
  ChartaScanForm form;
  const char *patient_name;  /* as typed on the form (UTF-8, printed in ASCII capitals); NULL:
                              * the line is left blank */
  const char *birth_date;    /* "YYYY-MM-DD", printed MM/DD/YYYY; NULL: blank */
  const char *mrn;           /* NULL: blank */
  const char *date;          /* "YYYY-MM-DD": the day the paper was signed or written (also the
                              * PDF's creation date); NULL: CHARTA_SCAN_DEFAULT_DATE */
  const char *facility;      /* the letterhead; NULL: a made-up hospital of the form's kind */
  unsigned n_pages;          /* 1 to CHARTA_SCAN_MAX_PAGES; PNG and JPEG hold exactly 1 */
  unsigned dpi;              /* the scan's resolution: CHARTA_SCAN_MIN_DPI to _MAX_DPI */
  int jpeg_quality;          /* JPEG (and PDF pages): 10 to 100 */
  guint32 seed;              /* seeds the drawing's GRand */
} ChartaScanSpec;

#define CHARTA_SCAN_DEFAULT_DATE "2025-06-02"

/* Sets the defaults: a one-page consent, no patient text, CHARTA_SCAN_DEFAULT_DPI, JPEG
 * quality 45 (a page of typed text in 100 to 130 KB at 150 dpi), seed 1. */
void        charta_scan_spec_init                (ChartaScanSpec   *spec);

/* The pixel size of one page of @spec: letter (8.5 × 11 in) at spec->dpi. */
void        charta_scan_spec_get_page_size       (const ChartaScanSpec *spec,
                                                  int              *width,
                                                  int              *height);

/* The document in @format.  G_IO_ERROR_INVALID_ARGUMENT names the field for a spec out of range
 * (n_pages other than 1 for PNG and JPEG, dpi, quality, a date that is not YYYY-MM-DD);
 * G_IO_ERROR_FAILED when an encoder fails. */
GBytes     *charta_scan_generate                 (const ChartaScanSpec *spec,
                                                  ChartaScanFormat  format,
                                                  GError          **error);
/* The same written to @path (replaced atomically). */
gboolean    charta_scan_generate_file            (const ChartaScanSpec *spec,
                                                  ChartaScanFormat  format,
                                                  const char       *path,
                                                  GError          **error);

/* "application/pdf", "image/png", "image/jpeg", "image/tiff". */
const char *charta_scan_format_get_content_type  (ChartaScanFormat  format);
/* "pdf", "png", "jpg", "tif". */
const char *charta_scan_format_get_extension     (ChartaScanFormat  format);

/* The form's title as printed ("CONSENT FOR TREATMENT", UTF-8). */
const char *charta_scan_form_get_title           (ChartaScanForm    form);
/* The LOINC document type that files it (R4 c80-doc-typecodes): its code, and its display in
 * *display when that is not NULL ("59284-0", "Patient Consent"). */
const char *charta_scan_form_get_loinc           (ChartaScanForm    form,
                                                  const char      **display);

G_END_DECLS
