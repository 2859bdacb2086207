/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-document-viewer.h: ChartaDocumentViewer, a scanned document or an image, page by page.
 *
 * The caller downloads the document (a Binary's bytes) to a file and hands it over with
 * charta_document_viewer_load_file().  The viewer finds the real type from the content (magic
 * bytes; the declared content type only names what was promised) and shows PDF (poppler-glib),
 * PNG and JPEG (gdk-pixbuf) and TIFF, multi-page included (libtiff): the current page large in
 * a scrolled view, page thumbnails in a side list, a page counter, zoom (fit width, the default;
 * fit page; 50 % to 400 %) and rotation in steps of 90°.  Files it cannot show (empty, damaged,
 * of another type, an image above 100 megapixels) get a "No Preview" page that says which file
 * and what is wrong, with a "Save a Copy…" button; a PDF page that poppler cannot read says so
 * in place of that page while the others are shown.  A file whose content is another supported
 * type than declared (a PNG sent as application/pdf) is shown as what it is, with a quiet note.
 *
 * Threads: everything that reads the file (type sniffing, poppler, libtiff, gdk-pixbuf) runs on
 * one worker thread per document, never on the GTK thread, which never waits for it.  The
 * current page is rendered first, at the size it is shown (in device pixels: its size on
 * screen times the scale factor), then the visible thumbnails, then the next page ahead; a few
 * rendered pages are kept.  Loading another document, clear() and disposing the widget cancel
 * what is still queued.
 *
 * Sizes: 100 % shows a PDF page at its printed size on a 96 dpi screen (1 pt = 96/72 px) and
 * an image or TIFF page at one image pixel per pixel.  Rotation turns every page clockwise by
 * the given angle; the thumbnails follow.  The zoom stays as the user left it from one document
 * to the next; the rotation and the page start again at 0.  An image is decoded whole (up to
 * about 7 bytes a pixel while it is converted, so at most some 700 MB at the limit).
 *
 * Keys (while the focus is in the viewer; the buttons' tooltips name them): Page Down / Page Up
 * the next / previous page, Home / End the first / last page, the arrow keys scroll the page
 * and, where it cannot scroll further that way (or fits), go to the next or previous page;
 * Ctrl+plus / Ctrl+minus zoom in / out, Ctrl+0 fits the width again, Ctrl+R rotates right
 * (clockwise) and Ctrl+Shift+R left.  Ctrl with the mouse wheel zooms; dragging the page moves
 * it; clicking a thumbnail shows its page.
 *
 * Saving: the viewer handles "Save a Copy…" itself (a GtkFileChooserNative, then a copy of the
 * loaded file, a toast saying where it went or why it failed); no signal to connect.
 * charta_document_viewer_save_copy_async() does the same without the dialog.
 *
 * The viewer never deletes the file it is given; the caller keeps it until the viewer shows
 * another document or is cleared.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* Pages and images above this many pixels are refused from their header, never decoded. */
#define CHARTA_DOCUMENT_VIEWER_MAX_PIXELS (G_GUINT64_CONSTANT (100) * 1000 * 1000)

typedef enum
{
  CHARTA_DOCUMENT_VIEWER_STATE_EMPTY,       /* nothing loaded (at first, after clear()) */
  CHARTA_DOCUMENT_VIEWER_STATE_LOADING,     /* opening the file */
  CHARTA_DOCUMENT_VIEWER_STATE_READY,       /* pages known: the page view is shown */
  CHARTA_DOCUMENT_VIEWER_STATE_NO_PREVIEW,  /* the file cannot be shown: see the reason */
} ChartaDocumentViewerState;

typedef enum
{
  CHARTA_DOCUMENT_ZOOM_FIT_WIDTH,  /* the page as wide as the view (the default) */
  CHARTA_DOCUMENT_ZOOM_FIT_PAGE,   /* the whole page in the view */
  CHARTA_DOCUMENT_ZOOM_FIXED,      /* the "zoom" property's scale */
} ChartaDocumentZoomMode;

#define CHARTA_TYPE_DOCUMENT_VIEWER_STATE (charta_document_viewer_state_get_type ())
GType charta_document_viewer_state_get_type (void) G_GNUC_CONST;
#define CHARTA_TYPE_DOCUMENT_ZOOM_MODE (charta_document_zoom_mode_get_type ())
GType charta_document_zoom_mode_get_type (void) G_GNUC_CONST;

#define CHARTA_TYPE_DOCUMENT_VIEWER (charta_document_viewer_get_type ())
G_DECLARE_FINAL_TYPE (ChartaDocumentViewer, charta_document_viewer, CHARTA, DOCUMENT_VIEWER,
                      AdwBin)

GtkWidget                 *charta_document_viewer_new        (void);

/* Shows @file, a local file the caller has written the document to.  @declared_type is the
 * type the document came with (a Binary's contentType, "application/pdf"; NULL if not known);
 * @title names the document to the user (NULL: the file's name).  Returns at once: the state
 * goes to loading, then to ready or no-preview.  The file is read by the viewer's worker only;
 * keep it until another document is loaded, clear() is called or the viewer is gone. */
void                       charta_document_viewer_load_file  (ChartaDocumentViewer *self,
                                                              GFile                *file,
                                                              const char           *declared_type,
                                                              const char           *title);
/* Forgets the document (state empty) and cancels its work. */
void                       charta_document_viewer_clear      (ChartaDocumentViewer *self);

ChartaDocumentViewerState  charta_document_viewer_get_state  (ChartaDocumentViewer *self);
/* Why there is no preview, in words that name the file ("“scan.pdf” is empty (0 bytes)."), or
 * NULL unless the state is no-preview. */
const char                *charta_document_viewer_get_no_preview_reason
                                                             (ChartaDocumentViewer *self);
/* A quiet remark on a shown document ("Sent as a PDF document (application/pdf), but it is a
 * PNG image: shown as that."), or NULL. */
const char                *charta_document_viewer_get_note   (ChartaDocumentViewer *self);
/* The type found in the content ("application/pdf", "image/png", "image/jpeg",
 * "image/tiff"), or NULL while loading, when empty, and when not one of those. */
const char                *charta_document_viewer_get_content_type (ChartaDocumentViewer *self);
GFile                     *charta_document_viewer_get_file   (ChartaDocumentViewer *self);
const char                *charta_document_viewer_get_title  (ChartaDocumentViewer *self);

/* 0 until ready. */
unsigned                   charta_document_viewer_get_n_pages (ChartaDocumentViewer *self);
/* The current page, 0-based (0 until ready). */
unsigned                   charta_document_viewer_get_page   (ChartaDocumentViewer *self);
/* Goes to @page (0-based; clamped to the last page). */
void                       charta_document_viewer_set_page   (ChartaDocumentViewer *self,
                                                              unsigned              page);
/* Why the current page could not be drawn (in words), or NULL when it can be. */
const char                *charta_document_viewer_get_page_error (ChartaDocumentViewer *self);

/* The scale the current page is shown at (1.0 = 100 %; see the header's paragraph on sizes).
 * In the fit modes it follows the view's size; it is 0 before the page has been laid out. */
double                     charta_document_viewer_get_zoom   (ChartaDocumentViewer *self);
/* Shows pages at @zoom (clamped to 0.5–4.0) and sets the zoom mode to fixed. */
void                       charta_document_viewer_set_zoom   (ChartaDocumentViewer *self,
                                                              double                zoom);
ChartaDocumentZoomMode     charta_document_viewer_get_zoom_mode (ChartaDocumentViewer *self);
void                       charta_document_viewer_set_zoom_mode (ChartaDocumentViewer *self,
                                                                 ChartaDocumentZoomMode mode);
/* Clockwise, in degrees: 0, 90, 180 or 270. */
int                        charta_document_viewer_get_rotation (ChartaDocumentViewer *self);
/* Any multiple of 90 (negative turns left); other angles are refused. */
void                       charta_document_viewer_set_rotation (ChartaDocumentViewer *self,
                                                                int                   degrees);

/* The current page as rendered for the size it is shown at, or NULL while it is being
 * rendered (or cannot be).  Notified as "page-texture". */
GdkTexture                *charta_document_viewer_get_page_texture (ChartaDocumentViewer *self);
/* Page @page's thumbnail, or NULL until it has been rendered (thumbnails are rendered when
 * their row is on screen). */
GdkTexture                *charta_document_viewer_get_thumbnail (ChartaDocumentViewer *self,
                                                                 unsigned              page);

/* Copies the loaded file to @destination (replacing it); what "Save a Copy…" does after its
 * dialog. */
void        charta_document_viewer_save_copy_async  (ChartaDocumentViewer *self,
                                                     GFile                *destination,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean    charta_document_viewer_save_copy_finish (ChartaDocumentViewer *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

G_END_DECLS
