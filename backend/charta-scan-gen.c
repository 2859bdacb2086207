/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-scan-gen.c: made-up scanned paper (see charta-scan-gen.h).
 *
 * A page is drawn once, straight into the raster a scanner would deliver: cairo's user space is
 * the sheet in points (letter, 612 × 792), turned by the page's skew and shifted a little on
 * the grey scanner bed, and everything on the sheet (letterhead, typed lines, form rules, check
 * boxes, the signature, a hand-written date) is drawn in it; then dust specks and a streak of
 * dirty glass are drawn in device space, where the scanner put them.  Only the specks and the
 * streak touch few pixels, so the raster compresses as a real scan does (a per-pixel noise
 * would make every page several times larger).
 *
 * Text comes from a built-in 5×7 dot font, each character drawn as strokes joining its dots
 * with round ends, a little displaced and a little lighter or darker at random, as a typewriter
 * or a worn printer ribbon leaves it; "hand" text uses the same dots slanted and shaken, in
 * blue-black ink.  No system font is used: the same spec gives the same pixels everywhere, and
 * neither fontconfig nor FreeType is loaded.
 *
 * One raster buffer serves every page of a document: a PDF page is painted from a surface whose
 * JPEG encoding is attached as CAIRO_MIME_TYPE_JPEG, so cairo embeds the JPEG (DCTDecode, as
 * scanner PDFs do) and never reads the pixels again, and a 200-page document needs the memory
 * of one page plus its output.
 */
#define G_LOG_DOMAIN "charta-scan-gen"

#include <stdio.h>
#include <string.h>

#include <cairo.h>
#include <cairo-pdf.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <tiffio.h>

#include "charta-scan-gen.h"

/* ---- the sheet, in points ------------------------------------------------------------------ */

#define PAGE_WIDTH   612.0
#define PAGE_HEIGHT  792.0
#define MARGIN       72.0
#define PITCH        7.2             /* points per character: 10 characters per inch */
#define DOT          (PITCH / 6.0)   /* one dot of the font: a character is 5 dots in a 6-dot
                                      * cell, 7 dots high */
#define LEADING      12.0            /* 6 lines per inch */
#define COLUMNS      65              /* characters between the margins */
#define BODY_BOTTOM  (PAGE_HEIGHT - 78.0)
#define SIGNATURE_SPACE 96.0         /* what the signature block takes above BODY_BOTTOM */

/* The printable ASCII characters, 5 columns each, bit 0 the top row (the classic 5×7 dot
 * matrix layout). */
static const guint8 font5x7[95][5] = {
  { 0x00, 0x00, 0x00, 0x00, 0x00 }, { 0x00, 0x00, 0x5f, 0x00, 0x00 }, /* space ! */
  { 0x00, 0x07, 0x00, 0x07, 0x00 }, { 0x14, 0x7f, 0x14, 0x7f, 0x14 }, /* " # */
  { 0x24, 0x2a, 0x7f, 0x2a, 0x12 }, { 0x23, 0x13, 0x08, 0x64, 0x62 }, /* $ % */
  { 0x36, 0x49, 0x55, 0x22, 0x50 }, { 0x00, 0x05, 0x03, 0x00, 0x00 }, /* & ' */
  { 0x00, 0x1c, 0x22, 0x41, 0x00 }, { 0x00, 0x41, 0x22, 0x1c, 0x00 }, /* ( ) */
  { 0x08, 0x2a, 0x1c, 0x2a, 0x08 }, { 0x08, 0x08, 0x3e, 0x08, 0x08 }, /* * + */
  { 0x00, 0x50, 0x30, 0x00, 0x00 }, { 0x08, 0x08, 0x08, 0x08, 0x08 }, /* , - */
  { 0x00, 0x60, 0x60, 0x00, 0x00 }, { 0x20, 0x10, 0x08, 0x04, 0x02 }, /* . / */
  { 0x3e, 0x51, 0x49, 0x45, 0x3e }, { 0x00, 0x42, 0x7f, 0x40, 0x00 }, /* 0 1 */
  { 0x42, 0x61, 0x51, 0x49, 0x46 }, { 0x21, 0x41, 0x45, 0x4b, 0x31 }, /* 2 3 */
  { 0x18, 0x14, 0x12, 0x7f, 0x10 }, { 0x27, 0x45, 0x45, 0x45, 0x39 }, /* 4 5 */
  { 0x3c, 0x4a, 0x49, 0x49, 0x30 }, { 0x01, 0x71, 0x09, 0x05, 0x03 }, /* 6 7 */
  { 0x36, 0x49, 0x49, 0x49, 0x36 }, { 0x06, 0x49, 0x49, 0x29, 0x1e }, /* 8 9 */
  { 0x00, 0x36, 0x36, 0x00, 0x00 }, { 0x00, 0x56, 0x36, 0x00, 0x00 }, /* : ; */
  { 0x08, 0x14, 0x22, 0x41, 0x00 }, { 0x14, 0x14, 0x14, 0x14, 0x14 }, /* < = */
  { 0x00, 0x41, 0x22, 0x14, 0x08 }, { 0x02, 0x01, 0x51, 0x09, 0x06 }, /* > ? */
  { 0x32, 0x49, 0x79, 0x41, 0x3e }, { 0x7e, 0x11, 0x11, 0x11, 0x7e }, /* @ A */
  { 0x7f, 0x49, 0x49, 0x49, 0x36 }, { 0x3e, 0x41, 0x41, 0x41, 0x22 }, /* B C */
  { 0x7f, 0x41, 0x41, 0x22, 0x1c }, { 0x7f, 0x49, 0x49, 0x49, 0x41 }, /* D E */
  { 0x7f, 0x09, 0x09, 0x09, 0x01 }, { 0x3e, 0x41, 0x49, 0x49, 0x7a }, /* F G */
  { 0x7f, 0x08, 0x08, 0x08, 0x7f }, { 0x00, 0x41, 0x7f, 0x41, 0x00 }, /* H I */
  { 0x20, 0x40, 0x41, 0x3f, 0x01 }, { 0x7f, 0x08, 0x14, 0x22, 0x41 }, /* J K */
  { 0x7f, 0x40, 0x40, 0x40, 0x40 }, { 0x7f, 0x02, 0x0c, 0x02, 0x7f }, /* L M */
  { 0x7f, 0x04, 0x08, 0x10, 0x7f }, { 0x3e, 0x41, 0x41, 0x41, 0x3e }, /* N O */
  { 0x7f, 0x09, 0x09, 0x09, 0x06 }, { 0x3e, 0x41, 0x51, 0x21, 0x5e }, /* P Q */
  { 0x7f, 0x09, 0x19, 0x29, 0x46 }, { 0x46, 0x49, 0x49, 0x49, 0x31 }, /* R S */
  { 0x01, 0x01, 0x7f, 0x01, 0x01 }, { 0x3f, 0x40, 0x40, 0x40, 0x3f }, /* T U */
  { 0x1f, 0x20, 0x40, 0x20, 0x1f }, { 0x3f, 0x40, 0x38, 0x40, 0x3f }, /* V W */
  { 0x63, 0x14, 0x08, 0x14, 0x63 }, { 0x07, 0x08, 0x70, 0x08, 0x07 }, /* X Y */
  { 0x61, 0x51, 0x49, 0x45, 0x43 }, { 0x00, 0x7f, 0x41, 0x41, 0x00 }, /* Z [ */
  { 0x02, 0x04, 0x08, 0x10, 0x20 }, { 0x00, 0x41, 0x41, 0x7f, 0x00 }, /* \ ] */
  { 0x04, 0x02, 0x01, 0x02, 0x04 }, { 0x40, 0x40, 0x40, 0x40, 0x40 }, /* ^ _ */
  { 0x00, 0x01, 0x02, 0x04, 0x00 }, { 0x20, 0x54, 0x54, 0x54, 0x78 }, /* ` a */
  { 0x7f, 0x48, 0x44, 0x44, 0x38 }, { 0x38, 0x44, 0x44, 0x44, 0x20 }, /* b c */
  { 0x38, 0x44, 0x44, 0x48, 0x7f }, { 0x38, 0x54, 0x54, 0x54, 0x18 }, /* d e */
  { 0x08, 0x7e, 0x09, 0x01, 0x02 }, { 0x0c, 0x52, 0x52, 0x52, 0x3e }, /* f g */
  { 0x7f, 0x08, 0x04, 0x04, 0x78 }, { 0x00, 0x44, 0x7d, 0x40, 0x00 }, /* h i */
  { 0x20, 0x40, 0x44, 0x3d, 0x00 }, { 0x7f, 0x10, 0x28, 0x44, 0x00 }, /* j k */
  { 0x00, 0x41, 0x7f, 0x40, 0x00 }, { 0x7c, 0x04, 0x18, 0x04, 0x78 }, /* l m */
  { 0x7c, 0x08, 0x04, 0x04, 0x78 }, { 0x38, 0x44, 0x44, 0x44, 0x38 }, /* n o */
  { 0x7c, 0x14, 0x14, 0x14, 0x08 }, { 0x08, 0x14, 0x14, 0x18, 0x7c }, /* p q */
  { 0x7c, 0x08, 0x04, 0x04, 0x08 }, { 0x48, 0x54, 0x54, 0x54, 0x20 }, /* r s */
  { 0x04, 0x3f, 0x44, 0x40, 0x20 }, { 0x3c, 0x40, 0x40, 0x20, 0x7c }, /* t u */
  { 0x1c, 0x20, 0x40, 0x20, 0x1c }, { 0x3c, 0x40, 0x30, 0x40, 0x3c }, /* v w */
  { 0x44, 0x28, 0x10, 0x28, 0x44 }, { 0x0c, 0x50, 0x50, 0x50, 0x3c }, /* x y */
  { 0x44, 0x64, 0x54, 0x4c, 0x44 }, { 0x00, 0x08, 0x36, 0x41, 0x00 }, /* z { */
  { 0x00, 0x00, 0x7f, 0x00, 0x00 }, { 0x00, 0x41, 0x36, 0x08, 0x00 }, /* | } */
  { 0x08, 0x04, 0x08, 0x10, 0x08 },                                   /* ~ */
};

/* ---- forms ------------------------------------------------------------------------------- */

typedef struct
{
  const char *title;         /* as printed, UTF-8 */
  const char *ascii_title;   /* as typed */
  const char *loinc;
  const char *loinc_display; /* R4 c80-doc-typecodes */
  const char *form_number;
  gboolean outside;          /* from another hospital (a fax header, their letterhead) */
} FormDef;

static const FormDef forms[CHARTA_SCAN_N_FORMS] = {
  [CHARTA_SCAN_FORM_CONSENT] = { "CONSENT FOR TREATMENT", "CONSENT FOR TREATMENT", "59284-0",
                                 "Patient Consent", "FORM HIM-201 REV 03/19", FALSE },
  [CHARTA_SCAN_FORM_DISCHARGE_SUMMARY] = { "OUTSIDE RECORDS — DISCHARGE SUMMARY",
                                           "OUTSIDE RECORDS - DISCHARGE SUMMARY", "18842-5",
                                           "Discharge summary", "MR-DS 7/2018", TRUE },
  [CHARTA_SCAN_FORM_RELEASE] = { "RELEASE OF INFORMATION AUTHORIZATION",
                                 "RELEASE OF INFORMATION AUTHORIZATION", "64292-6",
                                 "Release of information consent", "FORM HIM-310 REV 11/20",
                                 FALSE },
  [CHARTA_SCAN_FORM_HISTORY] = { "HEALTH HISTORY QUESTIONNAIRE", "HEALTH HISTORY QUESTIONNAIRE",
                                 "64285-0", "Medical history screening form",
                                 "FORM PT-104 REV 01/22", FALSE },
};

/* Made up: 555-01xx telephone numbers are reserved for fiction. */
#define HOME_FACILITY    "RIVERSIDE GENERAL HOSPITAL"
#define HOME_ADDRESS     "1 HOSPITAL DRIVE, ALDER FALLS, MA 01431   TEL (413) 555-0100"
#define OUTSIDE_FACILITY "ST. BRENDAN REGIONAL MEDICAL CENTER"
#define OUTSIDE_ADDRESS  "400 CATHEDRAL AVENUE, PORT HALLOWAY, MA 01944   TEL (978) 555-0142"

static const char *const doctors[] = {
  "ELEANOR V. WHITFIELD, MD", "RAJESH P. MENON, MD", "CATHERINE DOYLE, DO",
  "MARCUS T. ABERNATHY, MD", "LIN QIAOYU, MD",
};

static const char *const recipients[] = {
  "ALDER FALLS FAMILY MEDICINE, 22 MAPLE STREET, ALDER FALLS, MA",
  "NORTHSHORE MUTUAL INSURANCE CO., CLAIMS DEPT., BOX 4410, BOSTON, MA",
  "GRANITE RIDGE ORTHOPEDICS, 9 QUARRY LANE, GRANITE RIDGE, MA",
  "LAW OFFICES OF HADLEY & PRUITT, 71 COURT STREET, MILLBROOK, MA",
};

static const char *const diagnoses[] = {
  "Community-acquired pneumonia, right lower lobe.",
  "Acute exacerbation of chronic obstructive pulmonary disease.",
  "Congestive heart failure, acute on chronic, systolic.",
  "Cellulitis of the left lower extremity.",
  "Acute pyelonephritis.",
  "Atrial fibrillation with rapid ventricular response.",
  "Type 2 diabetes mellitus, poorly controlled.",
  "Essential hypertension.",
  "Acute kidney injury, prerenal, resolved.",
  "Hyponatremia, mild.",
};

static const char *const medications[] = {
  "Amoxicillin-clavulanate 875 mg by mouth twice daily for 5 more days.",
  "Lisinopril 10 mg by mouth once daily.",
  "Metformin 500 mg by mouth twice daily with meals.",
  "Furosemide 40 mg by mouth once daily.",
  "Metoprolol succinate 50 mg by mouth once daily.",
  "Atorvastatin 40 mg by mouth at bedtime.",
  "Albuterol inhaler 2 puffs every 4 hours as needed for wheezing.",
  "Apixaban 5 mg by mouth twice daily.",
};

static const char *const courses[] = {
  "The patient was admitted to the medical floor and started on intravenous antibiotics and "
  "fluids. Blood cultures remained negative. Fever resolved on hospital day two and oxygen "
  "was weaned to room air.",
  "Diuresis was started with intravenous furosemide with good urine output. Weight fell by "
  "3.2 kg over the stay. Echocardiogram showed an ejection fraction of 35 percent.",
  "Renal function improved with hydration and holding of the ACE inhibitor, which was resumed "
  "at discharge. Electrolytes were monitored daily and repleted as needed.",
  "Physical therapy evaluated the patient and recommended discharge home with outpatient "
  "therapy. The patient ambulated independently in the hallway before discharge.",
  "Diabetes education was provided. Hemoglobin A1c was 8.9 percent. Home glucose monitoring "
  "was reviewed with the patient and family.",
};

static const char *const history_items[] = {
  "[ ] High blood pressure", "[ ] Diabetes", "[ ] Heart disease or heart attack",
  "[ ] Stroke", "[ ] Asthma or COPD", "[ ] Cancer", "[ ] Kidney disease",
  "[ ] Thyroid disease", "[ ] Depression or anxiety", "[ ] Seizures",
  "[ ] Bleeding problems", "[ ] Hepatitis or liver disease",
};

/* ---- a page being drawn ------------------------------------------------------------------- */

typedef struct
{
  const ChartaScanSpec *spec;
  const FormDef *form;
  GRand *rand;
  cairo_t *cr;
  char *name;                /* ASCII capitals, or NULL */
  char *mrn;                 /* or NULL */
  char birth[16];            /* MM/DD/YYYY, or "" */
  char date[16];             /* MM/DD/YYYY */
  char fax_time[8];          /* HH:MM of the fax header */
  char *facility;            /* the letterhead (ASCII) */
  const char *address;
  GPtrArray *items;          /* the body: paragraphs, "## heading", "[ ] box", "- item" */
  GHashTable *glyphs;        /* this page's typed glyphs: key (ink, scale, char) → Glyph */
  unsigned next_item;        /* the first item not drawn yet */
  unsigned page;             /* 1-based */
  double y;                  /* the typing line's baseline, in points */
} Scan;

static double
rnd (Scan  *s,
     double lo,
     double hi)
{
  return g_rand_double_range (s->rand, lo, hi);
}

static int
rnd_int (Scan *s,
         int   lo,
         int   hi)
{
  return g_rand_int_range (s->rand, lo, hi + 1);
}

/* "YYYY-MM-DD" → a valid GDate. */
static gboolean
parse_date (const char *text,
            GDate      *date)
{
  unsigned y, m, d;
  char end;

  g_date_clear (date, 1);
  if (text == NULL || strlen (text) != 10 || text[4] != '-' || text[7] != '-'
      || sscanf (text, "%4u-%2u-%2u%c", &y, &m, &d, &end) != 3
      || !g_date_valid_dmy ((GDateDay) d, (GDateMonth) m, (GDateYear) y))
    return FALSE;
  g_date_set_dmy (date, (GDateDay) d, (GDateMonth) m, (GDateYear) y);
  return TRUE;
}

static void
format_us_date (char        *buf,
                size_t       size,
                const GDate *date)
{
  g_snprintf (buf, size, "%02u/%02u/%04u", g_date_get_month (date), g_date_get_day (date),
              g_date_get_year (date));
}

/* @text as a form would have it: ASCII (accents dropped, "ß" as "ss"…), capitals. */
static char *
ascii_upper (const char *text)
{
  g_autofree char *ascii = g_str_to_ascii (text, "C");

  return g_ascii_strup (ascii, -1);
}

/* ---- typing ------------------------------------------------------------------------------- */

typedef enum
{
  INK_TYPED,    /* a typewriter or a printer: near black, straight */
  INK_BOLD,     /* the same, struck harder */
  INK_HAND,     /* a pen: blue-black, slanted, shaky */
} Ink;

static void
set_ink (Scan  *s,
         Ink    ink,
         double alpha)
{
  if (ink == INK_HAND)
    cairo_set_source_rgba (s->cr, 0.10, 0.14, 0.42, alpha);
  else
    cairo_set_source_rgba (s->cr, 0.09, 0.09, 0.11, alpha);
}

/* Adds @c to the current path: its dots joined by strokes, its baseline at (@x, @y), @scale
 * times the normal size. */
static void
path_char (Scan    *s,
           cairo_t *cr,
           char     c,
           double   x,
           double   y,
           double   scale,
           Ink      ink)
{
  const guint8 *glyph;
  double px[5][7], py[5][7];
  double u = DOT * scale;
  double jitter = ink == INK_HAND ? 0.22 * u : 0.0;
  double slant = ink == INK_HAND ? 0.28 : 0.0;

  if (c < 32 || c > 126)
    c = '?';
  if (c == ' ')
    return;
  glyph = font5x7[c - 32];
  /* no descenders in a 5×7 matrix: these sit a dot lower instead */
  if (strchr ("gjpqy", c) != NULL)
    y += u;

  for (int col = 0; col < 5; col++)
    for (int row = 0; row < 7; row++)
      {
        double up = 6.5 - row;

        px[col][row] = x + (col + 0.5) * u + slant * up * u;
        py[col][row] = y - up * u;
        if (jitter > 0)
          {
            px[col][row] += rnd (s, -jitter, jitter);
            py[col][row] += rnd (s, -jitter, jitter);
          }
      }

#define ON(cc, rr) ((cc) >= 0 && (cc) < 5 && (rr) >= 0 && (rr) < 7 && ((glyph[cc] >> (rr)) & 1))
  /* rows of dots as one stroke each (a polyline through them, so that a shaky hand shows) */
  for (int row = 0; row < 7; row++)
    for (int col = 0; col < 5; col++)
      if (ON (col, row) && ON (col + 1, row) && !ON (col - 1, row))
        {
          cairo_move_to (cr, px[col][row], py[col][row]);
          while (ON (col + 1, row))
            {
              col++;
              if (jitter > 0 || !ON (col + 1, row))
                cairo_line_to (cr, px[col][row], py[col][row]);
            }
        }
  /* columns the same way */
  for (int col = 0; col < 5; col++)
    for (int row = 0; row < 7; row++)
      if (ON (col, row) && ON (col, row + 1) && !ON (col, row - 1))
        {
          cairo_move_to (cr, px[col][row], py[col][row]);
          while (ON (col, row + 1))
            {
              row++;
              if (jitter > 0 || !ON (col, row + 1))
                cairo_line_to (cr, px[col][row], py[col][row]);
            }
        }
  /* diagonal neighbours not already joined through a corner, and lone dots */
  for (int col = 0; col < 5; col++)
    for (int row = 0; row < 7; row++)
      {
        gboolean joined;

        if (!ON (col, row))
          continue;
        joined = ON (col - 1, row) || ON (col + 1, row) || ON (col, row - 1) || ON (col, row + 1);
        if (ON (col + 1, row + 1) && !ON (col + 1, row) && !ON (col, row + 1))
          {
            cairo_move_to (cr, px[col][row], py[col][row]);
            cairo_line_to (cr, px[col + 1][row + 1], py[col + 1][row + 1]);
            joined = TRUE;
          }
        if (ON (col - 1, row + 1) && !ON (col - 1, row) && !ON (col, row + 1))
          {
            cairo_move_to (cr, px[col][row], py[col][row]);
            cairo_line_to (cr, px[col - 1][row + 1], py[col - 1][row + 1]);
            joined = TRUE;
          }
        joined = joined || (ON (col - 1, row - 1) && !ON (col - 1, row) && !ON (col, row - 1))
                 || (ON (col + 1, row - 1) && !ON (col + 1, row) && !ON (col, row - 1));
        if (!joined)
          {
            /* a zero-length stroke, which round caps draw as a dot */
            cairo_move_to (cr, px[col][row], py[col][row]);
            cairo_line_to (cr, px[col][row], py[col][row]);
          }
      }
#undef ON
}

/* A typed character as the page's transformation draws it: an A8 mask, with the device pixel
 * (@origin_x, @origin_y) where the character's baseline starts. */
typedef struct
{
  cairo_surface_t *mask;
  int origin_x;
  int origin_y;
} Glyph;

static void
glyph_free (gpointer data)
{
  Glyph *glyph = data;

  cairo_surface_destroy (glyph->mask);
  g_free (glyph);
}

/* Blurs the A8 @mask a little ([1 2 1] across and down): ink spreads into paper fibres, and a
 * scanner's optics are never sharp; softer edges also make the JPEG of a page smaller. */
static void
soften (cairo_surface_t *mask)
{
  int width = cairo_image_surface_get_width (mask);
  int height = cairo_image_surface_get_height (mask);
  int stride = cairo_image_surface_get_stride (mask);
  guint8 *data;
  g_autofree guint8 *line = g_malloc (MAX (width, height));

  cairo_surface_flush (mask);
  data = cairo_image_surface_get_data (mask);
  for (int y = 0; y < height; y++)
    {
      guint8 *row = data + (size_t) y * stride;

      memcpy (line, row, width);
      for (int x = 1; x < width - 1; x++)
        row[x] = (guint8) ((line[x - 1] + 2 * line[x] + line[x + 1] + 2) / 4);
    }
  for (int x = 0; x < width; x++)
    {
      for (int y = 0; y < height; y++)
        line[y] = data[(size_t) y * stride + x];
      for (int y = 1; y < height - 1; y++)
        data[(size_t) y * stride + x] = (guint8) ((line[y - 1] + 2 * line[y] + line[y + 1] + 2)
                                                  / 4);
    }
  cairo_surface_mark_dirty (mask);
}

/* The mask of @c typed with @ink at @scale on this page (made on first use: a page's glyphs
 * all share its skew, so a glyph is drawn once and then stamped, which costs cairo far less
 * than stroking each character again). */
static const Glyph *
get_glyph (Scan  *s,
           char   c,
           double scale,
           Ink    ink)
{
  guint key = ((guint) ink << 24) | ((guint) (scale * 100 + 0.5) << 8) | (guint8) c;
  Glyph *glyph = g_hash_table_lookup (s->glyphs, GUINT_TO_POINTER (key));
  cairo_matrix_t matrix;
  double u = DOT * scale;
  double x0 = G_MAXDOUBLE, y0 = G_MAXDOUBLE, x1 = -G_MAXDOUBLE, y1 = -G_MAXDOUBLE;
  cairo_t *cr;

  if (glyph != NULL)
    return glyph;

  /* the device box of the glyph's cell (and its descender), turned as the page is */
  cairo_get_matrix (s->cr, &matrix);
  matrix.x0 = matrix.y0 = 0;
  for (int i = 0; i < 4; i++)
    {
      double x = (i & 1) ? 6.0 * u : -1.0 * u;
      double y = (i & 2) ? 3.5 * u : -8.0 * u;

      cairo_matrix_transform_point (&matrix, &x, &y);
      x0 = MIN (x0, x);
      y0 = MIN (y0, y);
      x1 = MAX (x1, x);
      y1 = MAX (y1, y);
    }
  glyph = g_new0 (Glyph, 1);
  glyph->origin_x = (int) -x0 + 2;
  glyph->origin_y = (int) -y0 + 2;
  glyph->mask = cairo_image_surface_create (CAIRO_FORMAT_A8, (int) (x1 - x0) + 5,
                                            (int) (y1 - y0) + 5);
  cr = cairo_create (glyph->mask);
  matrix.x0 = glyph->origin_x;
  matrix.y0 = glyph->origin_y;
  cairo_set_matrix (cr, &matrix);
  cairo_set_tolerance (cr, 0.5);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_width (cr, u * (ink == INK_BOLD ? 1.30 : 0.92));
  path_char (s, cr, c, 0, 0, scale, ink);
  cairo_stroke (cr);
  cairo_destroy (cr);
  soften (glyph->mask);
  g_hash_table_insert (s->glyphs, GUINT_TO_POINTER (key), glyph);
  return glyph;
}

/* Types @text (ASCII) from (@x, @y); returns the x after its last character.  Each character
 * lands a little off its cell, darker or lighter, as a typewriter or a worn ribbon leaves it;
 * a pen's characters are shaken dot by dot, so they are stroked one by one. */
static double
type_text (Scan       *s,
           double      x,
           double      y,
           const char *text,
           double      scale,
           Ink         ink)
{
  cairo_t *cr = s->cr;
  double pitch = PITCH * scale * (ink == INK_HAND ? 1.05 : 1.0);
  double u = DOT * scale;

  if (ink == INK_HAND)
    cairo_set_line_width (cr, u * 0.75);
  for (const char *c = text; *c != '\0'; c++)
    {
      double cx = x + rnd (s, -0.10, 0.10) * u;
      double cy = y + rnd (s, -0.16, 0.16) * u;
      double alpha = ink == INK_HAND ? rnd (s, 0.80, 0.95) : rnd (s, 0.66, 0.94);

      x += pitch + (ink == INK_HAND ? rnd (s, -0.4, 0.6) : 0.0);
      if (*c == ' ')
        continue;
      if (ink == INK_HAND)
        {
          path_char (s, cr, *c, cx, cy, scale, ink);
          set_ink (s, ink, alpha);
          cairo_stroke (cr);
        }
      else
        {
          const Glyph *glyph = get_glyph (s, *c, scale, ink);

          /* stamped on whole device pixels: the mask is composited without resampling */
          cairo_user_to_device (cr, &cx, &cy);
          cairo_save (cr);
          cairo_identity_matrix (cr);
          set_ink (s, ink, alpha);
          cairo_mask_surface (cr, glyph->mask, (int) (cx + 0.5) - glyph->origin_x,
                              (int) (cy + 0.5) - glyph->origin_y);
          cairo_restore (cr);
        }
    }
  return x;
}

static void
type_centered (Scan       *s,
               double      y,
               const char *text,
               double      scale,
               Ink         ink)
{
  double width = strlen (text) * PITCH * scale;

  type_text (s, (PAGE_WIDTH - width) / 2.0, y, text, scale, ink);
}

static void
type_right (Scan       *s,
            double      y,
            const char *text,
            double      scale)
{
  type_text (s, PAGE_WIDTH - MARGIN - strlen (text) * PITCH * scale, y, text, scale, INK_TYPED);
}

/* A printed rule of the form. */
static void
rule (Scan  *s,
      double x0,
      double x1,
      double y,
      double width)
{
  cairo_set_source_rgba (s->cr, 0.15, 0.15, 0.17, 0.85);
  cairo_set_line_width (s->cr, width);
  cairo_move_to (s->cr, x0, y);
  cairo_line_to (s->cr, x1, y);
  cairo_stroke (s->cr);
}

/* "LABEL: value" over a rule of @columns characters; returns the x after the rule. */
static double
field (Scan       *s,
       double      x,
       double      y,
       const char *label,
       const char *value,
       unsigned    columns)
{
  double start;

  x = type_text (s, x, y, label, 1.0, INK_TYPED);
  start = x + PITCH;
  rule (s, start, start + columns * PITCH, y + 2.5, 0.6);
  if (value != NULL && *value != '\0')
    type_text (s, start + PITCH, y, value, 1.0, INK_TYPED);
  return start + columns * PITCH;
}

/* A pen's check mark (an X) in the box whose top left is (@x, @y). */
static void
hand_cross (Scan  *s,
            double x,
            double y)
{
  cairo_t *cr = s->cr;

  set_ink (s, INK_HAND, 0.9);
  cairo_set_line_width (cr, 1.1);
  cairo_move_to (cr, x + rnd (s, -1, 1), y + rnd (s, -1, 1));
  cairo_curve_to (cr, x + 3, y + 3 + rnd (s, -1, 1), x + 5, y + 5, x + 8 + rnd (s, -1, 2),
                  y + 8 + rnd (s, -1, 1));
  cairo_move_to (cr, x + 8 + rnd (s, -1, 1), y + rnd (s, -1, 1));
  cairo_curve_to (cr, x + 5, y + 3 + rnd (s, -1, 1), x + 3, y + 5, x + rnd (s, -2, 1),
                  y + 8 + rnd (s, -1, 1));
  cairo_stroke (cr);
}

/* A signature from (@x, @y) over about @width points: a tall first loop, cursive loops leaning
 * forward (now and then one below the line), and an underline flourish back to the start. */
static void
signature (Scan  *s,
           double x,
           double y,
           double width)
{
  cairo_t *cr = s->cr;
  double cx = x, cy = y;

  set_ink (s, INK_HAND, 0.92);
  cairo_set_line_width (cr, rnd (s, 0.9, 1.3));
  cairo_move_to (cr, cx, cy);
  for (int i = 0; cx < x + width; i++)
    {
      double w = rnd (s, 6.0, 12.0);
      double h = i == 0 ? rnd (s, 18.0, 26.0) : rnd (s, 6.0, 16.0);
      double low = rnd (s, -1.5, 2.5);

      if (i > 0 && rnd_int (s, 0, 99) < 20)
        /* a loop below the line, as in a g or a y */
        cairo_curve_to (cr, cx + w * 1.1, cy + h * 0.9, cx - w * 0.3, cy + h * 1.1,
                        cx + w * 0.8, y + low);
      else
        /* control points crossing over: the curve makes a loop */
        cairo_curve_to (cr, cx + w * rnd (s, 1.0, 1.4), cy - h * 0.9, cx - w * rnd (s, 0.0, 0.4),
                        cy - h * 1.15, cx + w * 0.8, y + low);
      cx += w * 0.8;
      cy = y + low;
    }
  cairo_curve_to (cr, cx + 12, cy + 6, x + width * 0.5, y + rnd (s, 7, 10),
                  x + rnd (s, -6, 10), y + rnd (s, 4, 7));
  cairo_stroke (cr);
}

/* ---- the form's text ---------------------------------------------------------------------- */

/* @template with "{F}" the facility, "{N}" the patient, "{D}" a doctor, "{R}" a recipient,
 * "{A}" the admission date and "{T}" the date. */
static char *
expand (Scan       *s,
        const char *template,
        const char *doctor,
        const char *recipient,
        const char *admitted)
{
  GString *out = g_string_new (NULL);

  for (const char *c = template; *c != '\0'; c++)
    {
      if (c[0] == '{' && c[1] != '\0' && c[2] == '}')
        {
          const char *value = NULL;

          switch (c[1])
            {
            case 'F': value = s->facility; break;
            case 'N': value = s->name != NULL ? s->name : "THE PATIENT"; break;
            case 'D': value = doctor; break;
            case 'R': value = recipient; break;
            case 'A': value = admitted; break;
            case 'T': value = s->date; break;
            default: break;
            }
          if (value != NULL)
            {
              g_string_append (out, value);
              c += 2;
              continue;
            }
        }
      g_string_append_c (out, *c);
    }
  return g_string_free (out, FALSE);
}

static void
add_item (Scan       *s,
          const char *template,
          const char *doctor,
          const char *recipient,
          const char *admitted)
{
  g_ptr_array_add (s->items, expand (s, template, doctor, recipient, admitted));
}

/* The body of the form, drawn in order across the pages (and again from the start when a long
 * document runs out of it). */
static void
plan_items (Scan        *s,
            const GDate *date)
{
  const char *doctor = doctors[rnd_int (s, 0, G_N_ELEMENTS (doctors) - 1)];
  const char *recipient = recipients[rnd_int (s, 0, G_N_ELEMENTS (recipients) - 1)];
  char admitted[16];
  GDate admission = *date;

  g_date_subtract_days (&admission, (guint) rnd_int (s, 2, 7));
  format_us_date (admitted, sizeof admitted, &admission);

#define ITEM(t) add_item (s, (t), doctor, recipient, admitted)
  switch (s->spec->form)
    {
    case CHARTA_SCAN_FORM_CONSENT:
      ITEM ("I, the undersigned patient or legal representative, consent to the routine "
            "diagnostic procedures, examinations and medical treatment by the physicians, "
            "nurses and staff of {F} that are considered necessary in my case.");
      ITEM ("I understand that the practice of medicine is not an exact science and that no "
            "guarantee has been made to me as to the result of any examination or treatment.");
      ITEM ("I consent to the release of information about my care to my insurance carrier for "
            "the purpose of obtaining payment for the services provided.");
      ITEM ("I understand that I may refuse any treatment, or withdraw this consent at any "
            "time, except for actions already taken in reliance on it.");
      ITEM ("Personal valuables: the hospital is not responsible for the loss of money, "
            "jewelry, eyeglasses, dentures or other items kept at the bedside.");
      ITEM ("I have read this form, or it has been read to me, and all of my questions have "
            "been answered to my satisfaction.");
      break;

    case CHARTA_SCAN_FORM_DISCHARGE_SUMMARY:
      ITEM ("## ADMISSION DATE: {A}     DISCHARGE DATE: {T}");
      ITEM ("## ATTENDING PHYSICIAN: {D}");
      ITEM ("## DISCHARGE DIAGNOSES:");
      {
        int first = rnd_int (s, 0, G_N_ELEMENTS (diagnoses) - 1);
        int n = rnd_int (s, 2, 4);

        for (int i = 0; i < n; i++)
          {
            size_t k = (size_t) (first + i * 3) % G_N_ELEMENTS (diagnoses);
            g_autofree char *line = g_strdup_printf ("- %d. %s", i + 1, diagnoses[k]);

            ITEM (line);
          }
      }
      ITEM ("## HISTORY OF PRESENT ILLNESS:");
      ITEM ("{N} presented to the emergency department of {F} with three days of "
            "worsening symptoms, fever and fatigue, and was admitted for further evaluation "
            "and treatment.");
      ITEM ("## HOSPITAL COURSE:");
      {
        int first = rnd_int (s, 0, G_N_ELEMENTS (courses) - 1);

        for (int i = 0; i < 3; i++)
          ITEM (courses[(first + i) % G_N_ELEMENTS (courses)]);
      }
      ITEM ("## DISCHARGE MEDICATIONS:");
      {
        int first = rnd_int (s, 0, G_N_ELEMENTS (medications) - 1);
        int n = rnd_int (s, 2, 5);

        for (int i = 0; i < n; i++)
          {
            size_t k = (size_t) (first + i * 5) % G_N_ELEMENTS (medications);
            g_autofree char *line = g_strdup_printf ("- %s", medications[k]);

            ITEM (line);
          }
      }
      ITEM ("## CONDITION AT DISCHARGE: Stable. Discharged home with family.");
      ITEM ("## FOLLOW-UP:");
      ITEM ("Follow up with the primary care physician within 7 days. Return to the emergency "
            "department for fever, shortness of breath or chest pain.");
      break;

    case CHARTA_SCAN_FORM_RELEASE:
      ITEM ("I authorize {F} to release the health information described below about "
            "the patient named above.");
      ITEM ("## RELEASE TO: {R}");
      ITEM ("## INFORMATION TO BE RELEASED:");
      ITEM ("[ ] Discharge summary");
      ITEM ("[ ] History and physical examination");
      ITEM ("[ ] Laboratory results");
      ITEM ("[ ] Radiology reports");
      ITEM ("[ ] Medication list and immunization record");
      ITEM ("[ ] Entire medical record");
      ITEM ("## PURPOSE:");
      ITEM ("[ ] Continuing care      [ ] Insurance      [ ] Legal      [ ] Personal use");
      ITEM ("This authorization expires one year from the date signed unless I revoke it "
            "earlier in writing.");
      ITEM ("I understand that information disclosed under this authorization may be "
            "disclosed again by the recipient and may no longer be protected by federal "
            "privacy law.");
      ITEM ("Treatment, payment, enrollment or eligibility for benefits will not depend on "
            "whether I sign this authorization.");
      break;

    case CHARTA_SCAN_FORM_HISTORY:
      ITEM ("Please complete both sides of this form before your visit. Check each condition "
            "that you have now or have had in the past.");
      ITEM ("## PAST MEDICAL HISTORY:");
      for (size_t i = 0; i < G_N_ELEMENTS (history_items); i++)
        ITEM (history_items[i]);
      ITEM ("## SURGERIES AND HOSPITAL STAYS (YEAR AND REASON):");
      ITEM ("- ______________________________________________________________");
      ITEM ("- ______________________________________________________________");
      ITEM ("## FAMILY HISTORY:");
      ITEM ("[ ] Heart disease      [ ] Diabetes      [ ] Cancer      [ ] Stroke");
      ITEM ("## SOCIAL HISTORY:");
      ITEM ("[ ] Never smoked      [ ] Former smoker      [ ] Current smoker");
      ITEM ("Alcohol, drinks per week: ______     Exercise, days per week: ______");
      break;
    }
#undef ITEM
}

/* Splits @text into lines of at most @width characters, at spaces. */
static GPtrArray *
wrap (const char *text,
      unsigned    width)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  const char *start = text;

  while (*start != '\0')
    {
      size_t len = strlen (start);
      size_t cut = len;

      if (len > width)
        {
          cut = width;
          while (cut > 0 && start[cut] != ' ')
            cut--;
          if (cut == 0)
            cut = width;
        }
      g_ptr_array_add (lines, g_strndup (start, cut));
      start += cut;
      while (*start == ' ')
        start++;
    }
  return lines;
}

/* How much of the page an item takes (its lines and the space after it). */
static double
item_height (const char *item)
{
  g_autoptr(GPtrArray) lines = NULL;

  if (g_str_has_prefix (item, "## "))
    {
      lines = wrap (item + 3, COLUMNS);
      return lines->len * LEADING + LEADING * 0.5;
    }
  if (g_str_has_prefix (item, "[ ] ") || g_str_has_prefix (item, "- "))
    return LEADING * 1.5;
  lines = wrap (item, COLUMNS);
  return lines->len * LEADING + LEADING;
}

/* Draws one item of the body at s->y and moves s->y past it. */
static void
draw_item (Scan       *s,
           const char *item)
{
  if (g_str_has_prefix (item, "## "))
    {
      g_autoptr(GPtrArray) lines = wrap (item + 3, COLUMNS);

      for (unsigned i = 0; i < lines->len; i++)
        {
          type_text (s, MARGIN, s->y, lines->pdata[i], 1.0, INK_BOLD);
          s->y += LEADING;
        }
      s->y += LEADING * 0.5;
    }
  else if (g_str_has_prefix (item, "[ ] "))
    {
      /* one or more check boxes on a line: "[ ] text      [ ] text" */
      g_auto(GStrv) boxes = g_strsplit (item + 4, "[ ] ", -1);
      double x = MARGIN + 2 * PITCH;

      for (unsigned i = 0; boxes[i] != NULL; i++)
        {
          g_autofree char *label = g_strchomp (g_strdup (boxes[i]));

          cairo_set_source_rgba (s->cr, 0.12, 0.12, 0.14, 0.85);
          cairo_set_line_width (s->cr, 0.7);
          cairo_rectangle (s->cr, x, s->y - 8.0, 8.5, 8.5);
          cairo_stroke (s->cr);
          if (rnd_int (s, 0, 99) < 40)
            hand_cross (s, x, s->y - 8.0);
          x = type_text (s, x + 2.5 * PITCH, s->y, label, 1.0, INK_TYPED) + 3 * PITCH;
        }
      s->y += LEADING * 1.5;
    }
  else if (g_str_has_prefix (item, "- "))
    {
      type_text (s, MARGIN + 3 * PITCH, s->y, item + 2, 1.0, INK_TYPED);
      s->y += LEADING * 1.5;
    }
  else
    {
      g_autoptr(GPtrArray) lines = wrap (item, COLUMNS);

      for (unsigned i = 0; i < lines->len; i++)
        {
          type_text (s, MARGIN, s->y, lines->pdata[i], 1.0, INK_TYPED);
          s->y += LEADING;
        }
      s->y += LEADING;
    }
}

/* The top of the page: a fax header for outside records, the letterhead, the title, the
 * patient lines. */
static void
draw_header (Scan *s,
             unsigned n_pages)
{
  char line[128];

  if (s->form->outside)
    {
      g_snprintf (line, sizeof line, "%s %s  FROM: ST BRENDAN RMC HIM DEPT 978 555 0142   P.%u/%u",
                  s->date, s->fax_time, s->page, n_pages);
      type_text (s, 28.0, 24.0, line, 0.8, INK_TYPED);
    }

  if (s->page == 1)
    {
      type_centered (s, 70.0, s->facility, 1.6, INK_BOLD);
      type_centered (s, 88.0, s->address, 0.85, INK_TYPED);
      rule (s, MARGIN, PAGE_WIDTH - MARGIN, 96.0, 1.2);
      type_centered (s, 126.0, s->form->ascii_title, 1.45, INK_BOLD);
      field (s, MARGIN, 160.0, "PATIENT NAME:", s->name, 40);
      field (s, field (s, MARGIN, 180.0, "DATE OF BIRTH:", s->birth, 14) + 2 * PITCH, 180.0,
             "MRN:", s->mrn, 12);
      field (s, MARGIN, 200.0, "DATE:", s->date, 14);
      s->y = 232.0;
    }
  else
    {
      g_snprintf (line, sizeof line, "%s (CONTINUED)", s->form->ascii_title);
      type_text (s, MARGIN, 70.0, line, 1.0, INK_BOLD);
      g_snprintf (line, sizeof line, "PATIENT: %s   DOB: %s", s->name != NULL ? s->name : "",
                  s->birth);
      type_text (s, MARGIN, 86.0, line, 1.0, INK_TYPED);
      rule (s, MARGIN, PAGE_WIDTH - MARGIN, 94.0, 0.8);
      s->y = 120.0;
    }
}

static void
draw_signature_block (Scan *s)
{
  double y = BODY_BOTTOM - 30.0;
  const char *who = s->form->outside ? "DICTATED AND SIGNED BY" : "SIGNATURE OF PATIENT OR "
                                                                 "LEGAL REPRESENTATIVE";

  signature (s, MARGIN + 16.0, y - 6.0, rnd (s, 110.0, 170.0));
  rule (s, MARGIN, MARGIN + 260.0, y, 0.6);
  type_text (s, MARGIN, y + 12.0, who, 0.8, INK_TYPED);

  rule (s, PAGE_WIDTH - MARGIN - 140.0, PAGE_WIDTH - MARGIN, y, 0.6);
  type_text (s, PAGE_WIDTH - MARGIN - 140.0, y + 12.0, "DATE", 0.8, INK_TYPED);
  type_text (s, PAGE_WIDTH - MARGIN - 128.0, y - 5.0, s->date, 1.15, INK_HAND);
}

static void
draw_footer (Scan    *s,
             unsigned n_pages)
{
  char page[32];

  g_snprintf (page, sizeof page, "PAGE %u OF %u", s->page, n_pages);
  type_text (s, MARGIN, PAGE_HEIGHT - 40.0, s->form->form_number, 0.75, INK_TYPED);
  type_right (s, PAGE_HEIGHT - 40.0, page, 0.9);
}

/* ---- the scan ------------------------------------------------------------------------------ */

/* Draws page s->page into @surface (letter at @dpi). */
static void
draw_page (Scan            *s,
           cairo_surface_t *surface,
           unsigned         n_pages)
{
  int width = cairo_image_surface_get_width (surface);
  int height = cairo_image_surface_get_height (surface);
  double scale = s->spec->dpi / 72.0;
  double skew = rnd (s, 0.2, 1.1) * (rnd_int (s, 0, 1) ? 1 : -1) * G_PI / 180.0;
  double shift_x = rnd (s, -5.0, 5.0), shift_y = rnd (s, -4.0, 6.0);
  double tone = rnd (s, -0.015, 0.01);
  gboolean last = s->page == n_pages;
  cairo_t *cr = cairo_create (surface);

  s->cr = cr;
  s->glyphs = g_hash_table_new_full (NULL, NULL, NULL, glyph_free);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  /* curves flattened to half a pixel: invisible at scan resolutions, and far fewer vertices
   * for the thousands of round caps of a page of text */
  cairo_set_tolerance (cr, 0.5);

  /* the scanner's bed, seen where the sheet does not cover it */
  cairo_set_source_rgb (cr, 0.74, 0.74, 0.73);
  cairo_paint (cr);

  /* the sheet, turned and shifted */
  cairo_scale (cr, scale, scale);
  cairo_translate (cr, PAGE_WIDTH / 2 + shift_x, PAGE_HEIGHT / 2 + shift_y);
  cairo_rotate (cr, skew);
  cairo_translate (cr, -PAGE_WIDTH / 2, -PAGE_HEIGHT / 2);

  /* the sheet's edge casts a thin shadow on the bed */
  cairo_set_source_rgba (cr, 0.30, 0.30, 0.30, 0.55);
  cairo_set_line_width (cr, 2.0);
  cairo_rectangle (cr, 0.8, 0.8, PAGE_WIDTH, PAGE_HEIGHT);
  cairo_stroke (cr);
  /* a solid tone: a gradient costs pixman a computed value per pixel */
  cairo_set_source_rgb (cr, 0.962 + tone, 0.956 + tone, 0.922 + tone);
  cairo_rectangle (cr, 0, 0, PAGE_WIDTH, PAGE_HEIGHT);
  cairo_fill (cr);

  draw_header (s, n_pages);
  for (;;)
    {
      const char *item;
      double limit = last ? BODY_BOTTOM - SIGNATURE_SPACE : BODY_BOTTOM;
      double needed;

      if (s->next_item >= s->items->len)
        {
          if (last)
            break;
          s->next_item = 0;   /* a long document: the form's text again */
        }
      item = s->items->pdata[s->next_item];
      needed = item_height (item);
      /* a heading stays with what follows it */
      if (g_str_has_prefix (item, "## ") && s->next_item + 1 < s->items->len)
        needed += item_height (s->items->pdata[s->next_item + 1]);
      if (s->y + needed - LEADING > limit)
        break;
      draw_item (s, item);
      s->next_item++;
    }
  if (last)
    draw_signature_block (s);
  draw_footer (s, n_pages);

  /* what the scanner adds: dust specks and a streak of dirty glass, in device space */
  cairo_identity_matrix (cr);
  {
    int specks = rnd_int (s, 40, 140) * width / 1275 * height / 1650 + 10;
    double px = s->spec->dpi / 150.0;

    for (int i = 0; i < specks; i++)
      {
        double grey = rnd (s, 0.05, 0.55);

        cairo_set_source_rgba (cr, grey, grey, grey, rnd (s, 0.5, 0.95));
        cairo_arc (cr, rnd (s, 0, width), rnd (s, 0, height), rnd (s, 0.5, 1.7) * px, 0,
                   2 * G_PI);
        cairo_fill (cr);
      }
    if (rnd_int (s, 0, 99) < 60)
      {
        double x = rnd (s, width * 0.1, width * 0.9);

        cairo_set_source_rgba (cr, 0.3, 0.3, 0.3, rnd (s, 0.05, 0.12));
        cairo_set_line_width (cr, rnd (s, 0.8, 2.0) * px);
        cairo_move_to (cr, x, 0);
        cairo_line_to (cr, x, height);
        cairo_stroke (cr);
      }
  }

  cairo_destroy (cr);
  s->cr = NULL;
  g_clear_pointer (&s->glyphs, g_hash_table_unref);
  cairo_surface_flush (surface);
}

/* ---- encoders ----------------------------------------------------------------------------- */

/* The RGB24 @surface as packed RGB rows in @rgb (width × height × 3 bytes). */
static void
surface_to_rgb (cairo_surface_t *surface,
                guint8          *rgb)
{
  int width = cairo_image_surface_get_width (surface);
  int height = cairo_image_surface_get_height (surface);
  int stride = cairo_image_surface_get_stride (surface);
  const guint8 *data = cairo_image_surface_get_data (surface);

  for (int y = 0; y < height; y++)
    {
      const guint32 *row = (const guint32 *) (const void *) (data + (size_t) y * stride);
      guint8 *out = rgb + (size_t) y * width * 3;

      for (int x = 0; x < width; x++)
        {
          guint32 p = row[x];

          out[3 * x] = (p >> 16) & 0xff;
          out[3 * x + 1] = (p >> 8) & 0xff;
          out[3 * x + 2] = p & 0xff;
        }
    }
}

/* @surface as a JPEG (spec->jpeg_quality) or a PNG (deflate level 3: a tenth smaller than
 * cairo's own PNG writer gives, in a third of its time), through gdk-pixbuf; @rgb is room for
 * the packed RGB pixels. */
static gboolean
encode_image (cairo_surface_t      *surface,
              guint8               *rgb,
              const ChartaScanSpec *spec,
              ChartaScanFormat      format,
              char                **data,
              gsize                *size,
              GError              **error)
{
  int width = cairo_image_surface_get_width (surface);
  int height = cairo_image_surface_get_height (surface);
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  char quality[8], dpi[8];
  gboolean ok;

  surface_to_rgb (surface, rgb);
  pixbuf = gdk_pixbuf_new_from_data (rgb, GDK_COLORSPACE_RGB, FALSE, 8, width, height,
                                     width * 3, NULL, NULL);
  if (format == CHARTA_SCAN_FORMAT_PNG)
    ok = gdk_pixbuf_save_to_buffer (pixbuf, data, size, "png", error, "compression", "3", NULL);
  else
    {
      g_snprintf (quality, sizeof quality, "%d", spec->jpeg_quality);
      g_snprintf (dpi, sizeof dpi, "%u", spec->dpi);
      ok = gdk_pixbuf_save_to_buffer (pixbuf, data, size, "jpeg", error, "quality", quality,
                                      "x-dpi", dpi, "y-dpi", dpi, NULL);
    }
  if (!ok)
    g_prefix_error (error, "scan: %s encoding: ",
                    format == CHARTA_SCAN_FORMAT_PNG ? "PNG" : "JPEG");
  return ok;
}

static cairo_status_t
append_to_array (void                *closure,
                 const unsigned char *data,
                 unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* In-memory TIFF: the client procedures of TIFFClientOpenExt() over a GByteArray. */
typedef struct
{
  GByteArray *data;
  toff_t pos;
  char *error;               /* libtiff's first error message */
} TiffSink;

static tmsize_t
tiff_read (thandle_t handle,
           void     *buf,
           tmsize_t  size)
{
  TiffSink *sink = handle;
  toff_t n = 0;

  if (sink->pos < sink->data->len)
    n = MIN ((toff_t) size, sink->data->len - sink->pos);
  memcpy (buf, sink->data->data + sink->pos, n);
  sink->pos += n;
  return (tmsize_t) n;
}

static tmsize_t
tiff_write (thandle_t handle,
            void     *buf,
            tmsize_t  size)
{
  TiffSink *sink = handle;

  if (size < 0 || sink->pos + (toff_t) size > G_MAXUINT32)
    return -1;
  if (sink->pos + (toff_t) size > sink->data->len)
    {
      guint old_len = sink->data->len;

      g_byte_array_set_size (sink->data, (guint) (sink->pos + size));
      /* libtiff seeks past the end to align a directory: the gap is zeros, as in a file */
      if (sink->pos > old_len)
        memset (sink->data->data + old_len, 0, sink->pos - old_len);
    }
  memcpy (sink->data->data + sink->pos, buf, (size_t) size);
  sink->pos += (toff_t) size;
  return size;
}

static toff_t
tiff_seek (thandle_t handle,
           toff_t    offset,
           int       whence)
{
  TiffSink *sink = handle;
  toff_t base = whence == SEEK_CUR ? sink->pos : whence == SEEK_END ? sink->data->len : 0;

  sink->pos = base + offset;
  return sink->pos;
}

static int
tiff_close (thandle_t handle)
{
  return 0;
}

static toff_t
tiff_size (thandle_t handle)
{
  TiffSink *sink = handle;

  return sink->data->len;
}

static int
tiff_map (thandle_t handle,
          void    **base,
          toff_t   *size)
{
  return 0;
}

static void
tiff_unmap (thandle_t handle,
            void     *base,
            toff_t    size)
{
}

static int
tiff_error (TIFF       *tif,
            void       *user_data,
            const char *module,
            const char *format,
            va_list     ap)
{
  TiffSink *sink = user_data;

  if (sink->error == NULL)
    sink->error = g_strdup_vprintf (format, ap);
  return 1;
}

static int
tiff_warning (TIFF       *tif,
              void       *user_data,
              const char *module,
              const char *format,
              va_list     ap)
{
  return 1;
}

/* ---- the document ------------------------------------------------------------------------- */

static gboolean
check_spec (const ChartaScanSpec *spec,
            ChartaScanFormat      format,
            GDate                *date,
            GError              **error)
{
  GDate birth;

  if ((unsigned) spec->form >= CHARTA_SCAN_N_FORMS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "scan: form %d is unknown",
                   (int) spec->form);
      return FALSE;
    }
  if ((unsigned) format > CHARTA_SCAN_FORMAT_TIFF)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "scan: format %d is unknown",
                   (int) format);
      return FALSE;
    }
  if (spec->n_pages < 1 || spec->n_pages > CHARTA_SCAN_MAX_PAGES
      || ((format == CHARTA_SCAN_FORMAT_PNG || format == CHARTA_SCAN_FORMAT_JPEG)
          && spec->n_pages != 1))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "scan: n_pages %u: a %s holds %s %u page%s", spec->n_pages,
                   charta_scan_format_get_extension (format),
                   format == CHARTA_SCAN_FORMAT_PDF || format == CHARTA_SCAN_FORMAT_TIFF
                   ? "1 to" : "exactly",
                   format == CHARTA_SCAN_FORMAT_PDF || format == CHARTA_SCAN_FORMAT_TIFF
                   ? CHARTA_SCAN_MAX_PAGES : 1,
                   format == CHARTA_SCAN_FORMAT_PDF || format == CHARTA_SCAN_FORMAT_TIFF
                   ? "s" : "");
      return FALSE;
    }
  if (spec->dpi < CHARTA_SCAN_MIN_DPI || spec->dpi > CHARTA_SCAN_MAX_DPI)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "scan: dpi %u is not between %u and %u", spec->dpi, CHARTA_SCAN_MIN_DPI,
                   CHARTA_SCAN_MAX_DPI);
      return FALSE;
    }
  if (spec->jpeg_quality < 10 || spec->jpeg_quality > 100)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "scan: jpeg_quality %d is not between 10 and 100", spec->jpeg_quality);
      return FALSE;
    }
  if (!parse_date (spec->date != NULL ? spec->date : CHARTA_SCAN_DEFAULT_DATE, date))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "scan: date \"%s\" is not a YYYY-MM-DD date", spec->date);
      return FALSE;
    }
  if (spec->birth_date != NULL && !parse_date (spec->birth_date, &birth))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "scan: birth_date \"%s\" is not a YYYY-MM-DD date", spec->birth_date);
      return FALSE;
    }
  return TRUE;
}

static void
scan_init (Scan                 *s,
           const ChartaScanSpec *spec,
           const GDate          *date)
{
  GDate birth;

  memset (s, 0, sizeof *s);
  s->spec = spec;
  s->form = &forms[spec->form];
  s->rand = g_rand_new_with_seed (spec->seed);
  s->name = spec->patient_name != NULL ? ascii_upper (spec->patient_name) : NULL;
  s->mrn = spec->mrn != NULL ? ascii_upper (spec->mrn) : NULL;
  if (spec->birth_date != NULL && parse_date (spec->birth_date, &birth))
    format_us_date (s->birth, sizeof s->birth, &birth);
  format_us_date (s->date, sizeof s->date, date);
  g_snprintf (s->fax_time, sizeof s->fax_time, "%02d:%02d", rnd_int (s, 8, 17),
              rnd_int (s, 0, 59));
  if (spec->facility != NULL)
    {
      s->facility = ascii_upper (spec->facility);
      s->address = "";
    }
  else
    {
      s->facility = g_strdup (s->form->outside ? OUTSIDE_FACILITY : HOME_FACILITY);
      s->address = s->form->outside ? OUTSIDE_ADDRESS : HOME_ADDRESS;
    }
  s->items = g_ptr_array_new_with_free_func (g_free);
  plan_items (s, date);
}

static void
scan_clear (Scan *s)
{
  g_clear_pointer (&s->rand, g_rand_free);
  g_clear_pointer (&s->name, g_free);
  g_clear_pointer (&s->mrn, g_free);
  g_clear_pointer (&s->facility, g_free);
  g_clear_pointer (&s->items, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Scan, scan_clear)

/* A page's raster over @buffer (shared by every page of a document). */
static cairo_surface_t *
page_surface (guint8 *buffer,
              int     width,
              int     height)
{
  return cairo_image_surface_create_for_data (buffer, CAIRO_FORMAT_RGB24, width, height,
                                              cairo_format_stride_for_width (CAIRO_FORMAT_RGB24,
                                                                             width));
}

static GBytes *
generate_pdf (Scan        *s,
              const GDate *date,
              int          width,
              int          height,
              guint8      *buffer,
              guint8      *rgb,
              GError     **error)
{
  GByteArray *out = g_byte_array_new ();
  cairo_surface_t *pdf = cairo_pdf_surface_create_for_stream (append_to_array, out, PAGE_WIDTH,
                                                              PAGE_HEIGHT);
  cairo_t *cr = cairo_create (pdf);
  char created[32];
  cairo_status_t status;

  /* the document's own date, not the clock: the same spec gives the same bytes */
  g_snprintf (created, sizeof created, "%04u-%02u-%02uT%s:00", g_date_get_year (date),
              g_date_get_month (date), g_date_get_day (date), s->fax_time);
  cairo_pdf_surface_set_metadata (pdf, CAIRO_PDF_METADATA_CREATE_DATE, created);
  cairo_pdf_surface_set_metadata (pdf, CAIRO_PDF_METADATA_CREATOR, "Charta scan generator");
  cairo_pdf_surface_set_metadata (pdf, CAIRO_PDF_METADATA_TITLE, s->form->ascii_title);

  for (unsigned page = 1; page <= s->spec->n_pages; page++)
    {
      cairo_surface_t *raster = page_surface (buffer, width, height);
      char *jpeg = NULL;
      gsize jpeg_size = 0;

      s->page = page;
      draw_page (s, raster, s->spec->n_pages);
      if (!encode_image (raster, rgb, s->spec, CHARTA_SCAN_FORMAT_JPEG, &jpeg, &jpeg_size,
                         error))
        {
          cairo_surface_destroy (raster);
          cairo_destroy (cr);
          cairo_surface_destroy (pdf);
          g_byte_array_unref (out);
          return NULL;
        }
      cairo_surface_set_mime_data (raster, CAIRO_MIME_TYPE_JPEG, (const guint8 *) jpeg,
                                   jpeg_size, g_free, jpeg);
      cairo_save (cr);
      cairo_scale (cr, PAGE_WIDTH / width, PAGE_HEIGHT / height);
      cairo_set_source_surface (cr, raster, 0, 0);
      cairo_paint (cr);
      cairo_restore (cr);
      cairo_show_page (cr);
      cairo_surface_destroy (raster);
    }
  cairo_destroy (cr);
  cairo_surface_finish (pdf);
  status = cairo_surface_status (pdf);
  cairo_surface_destroy (pdf);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "scan: PDF: %s",
                   cairo_status_to_string (status));
      g_byte_array_unref (out);
      return NULL;
    }
  return g_byte_array_free_to_bytes (out);
}

static GBytes *
generate_tiff (Scan    *s,
               int      width,
               int      height,
               guint8  *buffer,
               GError **error)
{
  TiffSink sink = { g_byte_array_new (), 0, NULL };
  TIFFOpenOptions *options = TIFFOpenOptionsAlloc ();
  g_autofree guint8 *row = g_malloc ((size_t) width);
  int stride = cairo_format_stride_for_width (CAIRO_FORMAT_RGB24, width);
  gboolean ok = TRUE;
  TIFF *tif;

  TIFFOpenOptionsSetErrorHandlerExtR (options, tiff_error, &sink);
  TIFFOpenOptionsSetWarningHandlerExtR (options, tiff_warning, &sink);
  tif = TIFFClientOpenExt ("scan.tif", "w", &sink, tiff_read, tiff_write, tiff_seek, tiff_close,
                           tiff_size, tiff_map, tiff_unmap, options);
  TIFFOpenOptionsFree (options);
  if (tif == NULL)
    ok = FALSE;

  for (unsigned page = 1; ok && page <= s->spec->n_pages; page++)
    {
      cairo_surface_t *raster = page_surface (buffer, width, height);

      s->page = page;
      draw_page (s, raster, s->spec->n_pages);
      cairo_surface_destroy (raster);

      TIFFSetField (tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
      TIFFSetField (tif, TIFFTAG_IMAGEWIDTH, (uint32_t) width);
      TIFFSetField (tif, TIFFTAG_IMAGELENGTH, (uint32_t) height);
      TIFFSetField (tif, TIFFTAG_BITSPERSAMPLE, 8);
      TIFFSetField (tif, TIFFTAG_SAMPLESPERPIXEL, 1);
      TIFFSetField (tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
      TIFFSetField (tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
      TIFFSetField (tif, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
      TIFFSetField (tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
      /* deflate's fastest level: twice as fast as its default, a few percent larger */
      TIFFSetField (tif, TIFFTAG_ZIPQUALITY, 1);
      TIFFSetField (tif, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize (tif, 0));
      TIFFSetField (tif, TIFFTAG_XRESOLUTION, (float) s->spec->dpi);
      TIFFSetField (tif, TIFFTAG_YRESOLUTION, (float) s->spec->dpi);
      TIFFSetField (tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
      TIFFSetField (tif, TIFFTAG_PAGENUMBER, (uint16_t) (page - 1),
                    (uint16_t) MIN (s->spec->n_pages, G_MAXUINT16));
      TIFFSetField (tif, TIFFTAG_SOFTWARE, "Charta scan generator");

      for (int y = 0; ok && y < height; y++)
        {
          const guint32 *pixels = (const guint32 *) (const void *) (buffer + (size_t) y * stride);

          /* ITU-R BT.601 luma, in integers */
          for (int x = 0; x < width; x++)
            row[x] = (guint8) ((((pixels[x] >> 16) & 0xff) * 77 + ((pixels[x] >> 8) & 0xff) * 150
                                + (pixels[x] & 0xff) * 29) >> 8);
          ok = TIFFWriteScanline (tif, row, (uint32_t) y, 0) == 1;
        }
      ok = ok && TIFFWriteDirectory (tif);
    }
  if (tif != NULL)
    TIFFClose (tif);

  if (!ok)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "scan: TIFF: %s",
                   sink.error != NULL ? sink.error : "cannot write");
      g_free (sink.error);
      g_byte_array_unref (sink.data);
      return NULL;
    }
  g_free (sink.error);
  return g_byte_array_free_to_bytes (sink.data);
}

GBytes *
charta_scan_generate (const ChartaScanSpec *spec,
                      ChartaScanFormat      format,
                      GError              **error)
{
  g_auto(Scan) s = { 0 };
  g_autofree guint8 *buffer = NULL;
  g_autofree guint8 *rgb = NULL;
  GDate date;
  int width, height, stride;

  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_spec (spec, format, &date, error))
    return NULL;
  scan_init (&s, spec, &date);
  charta_scan_spec_get_page_size (spec, &width, &height);
  stride = cairo_format_stride_for_width (CAIRO_FORMAT_RGB24, width);
  buffer = g_malloc ((size_t) stride * height);

  switch (format)
    {
    case CHARTA_SCAN_FORMAT_PDF:
      rgb = g_malloc ((size_t) width * height * 3);
      return generate_pdf (&s, &date, width, height, buffer, rgb, error);

    case CHARTA_SCAN_FORMAT_TIFF:
      return generate_tiff (&s, width, height, buffer, error);

    case CHARTA_SCAN_FORMAT_JPEG:
    case CHARTA_SCAN_FORMAT_PNG:
      {
        cairo_surface_t *raster = page_surface (buffer, width, height);
        char *data = NULL;
        gsize size = 0;
        gboolean ok;

        s.page = 1;
        draw_page (&s, raster, 1);
        rgb = g_malloc ((size_t) width * height * 3);
        ok = encode_image (raster, rgb, spec, format, &data, &size, error);
        cairo_surface_destroy (raster);
        return ok ? g_bytes_new_take (data, size) : NULL;
      }
    }
  g_assert_not_reached ();
  return NULL;
}

gboolean
charta_scan_generate_file (const ChartaScanSpec *spec,
                           ChartaScanFormat      format,
                           const char           *path,
                           GError              **error)
{
  g_autoptr(GBytes) bytes = NULL;
  const char *data;
  gsize size;

  g_return_val_if_fail (path != NULL, FALSE);

  bytes = charta_scan_generate (spec, format, error);
  if (bytes == NULL)
    return FALSE;
  data = g_bytes_get_data (bytes, &size);
  return g_file_set_contents (path, data, (gssize) size, error);
}

/* ---- small things ------------------------------------------------------------------------- */

void
charta_scan_spec_init (ChartaScanSpec *spec)
{
  g_return_if_fail (spec != NULL);

  memset (spec, 0, sizeof *spec);
  spec->form = CHARTA_SCAN_FORM_CONSENT;
  spec->n_pages = 1;
  spec->dpi = CHARTA_SCAN_DEFAULT_DPI;
  spec->jpeg_quality = 45;
  spec->seed = 1;
}

void
charta_scan_spec_get_page_size (const ChartaScanSpec *spec,
                                int                  *width,
                                int                  *height)
{
  g_return_if_fail (spec != NULL);

  /* 8.5 × 11 inches, rounded to whole pixels */
  *width = (int) ((spec->dpi * 17 + 1) / 2);
  *height = (int) (spec->dpi * 11);
}

const char *
charta_scan_format_get_content_type (ChartaScanFormat format)
{
  static const char *const types[] = { "application/pdf", "image/png", "image/jpeg",
                                       "image/tiff" };

  g_return_val_if_fail ((unsigned) format < G_N_ELEMENTS (types), NULL);
  return types[format];
}

const char *
charta_scan_format_get_extension (ChartaScanFormat format)
{
  static const char *const extensions[] = { "pdf", "png", "jpg", "tif" };

  g_return_val_if_fail ((unsigned) format < G_N_ELEMENTS (extensions), NULL);
  return extensions[format];
}

const char *
charta_scan_form_get_title (ChartaScanForm form)
{
  g_return_val_if_fail ((unsigned) form < CHARTA_SCAN_N_FORMS, NULL);
  return forms[form].title;
}

const char *
charta_scan_form_get_loinc (ChartaScanForm form,
                            const char   **display)
{
  g_return_val_if_fail ((unsigned) form < CHARTA_SCAN_N_FORMS, NULL);
  if (display != NULL)
    *display = forms[form].loinc_display;
  return forms[form].loinc;
}
