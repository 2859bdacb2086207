/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-test-util.h: helpers shared by the tests.
 *
 * Finding the corpus (CHARTA_CORPUS, else ../shared/corpus beside the project) and listing it,
 * loading and parsing resources, comparing JSON trees, FHIR XML as resources, temporary folders
 * (with a g_test_add() fixture), and running the built `charta` ($CHARTA_BIN) as a user would.
 * Nothing here needs the store: the backend tests' store helpers are in charta-test-store-util.h.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "charta-fhir.h"

G_BEGIN_DECLS

/* ---- the corpus ------------------------------------------------------------------------------ */

/* The corpus folder, or NULL (and a g_test_skip() naming where it looked) when it is absent.
 * Tests that need it must return right away on NULL. */
const char     *charta_test_corpus_dir      (void);
/* @relative inside the corpus, newly allocated, or NULL as above. */
char           *charta_test_corpus_path     (const char *relative);
/* @relative inside tests/data. */
char           *charta_test_data_path       (const char *relative);

/* KNOWN-INVALID.txt of the folder @dir (r4-examples): file name → the reason given for it
 * (both owned by the table).  Blank lines and '#' comments are skipped; fails the test when the
 * list cannot be read or a line names a file without a reason. */
GHashTable     *charta_test_read_known_invalid (const char *dir);

/* The names of the "*.json" files in @dir that are not keys of @except (NULL: none left out),
 * newly allocated and sorted by name.  Fails the test when @dir cannot be read. */
GPtrArray      *charta_test_list_json_files (const char *dir,
                                             GHashTable *except);

/* The r4-examples folder of the corpus (newly allocated in *dir) and the sorted names of its
 * "*.json" files that KNOWN-INVALID.txt does not list; the list itself goes to *known_invalid
 * when that is not NULL.  NULL (and a skip, see charta_test_corpus_dir()) without the corpus. */
GPtrArray      *charta_test_list_valid_examples (char       **dir,
                                                 GHashTable **known_invalid);

/* Whether @name is one of the Synthea patient bundles: a "*.json" file that is not one of the
 * shared hospital and practitioner bundles. */
gboolean        charta_test_is_synthea_patient (const char *name);

/* ---- resources and JSON ---------------------------------------------------------------------- */

/* Reads and parses @path as a resource with default limits; fails the test on error. */
ChartaResource *charta_test_load_resource   (const char *path);

/* Parses the text @json as a resource with default limits; fails the test on error. */
ChartaResource *charta_test_parse           (const char *json);

/* Deep JSON equality: objects as unordered maps, arrays in order, numbers by value (integers
 * and doubles compare numerically), strings exactly.  On a difference, sets *where to the
 * JSON path of the first one (newly allocated) when @where is not NULL. */
gboolean        charta_test_json_equal      (JsonNode   *a,
                                             JsonNode   *b,
                                             char      **where);

/* What a store fills in of a scan's bytes (charta-store.h): walking what was sent (@sent)
 * beside what came back (@got), removes from @got the `size` and `hash` members of objects
 * that had none in @sent but had inline base64 `data` (an Attachment: then they must be the
 * data's length and SHA-1 in base64, computed here, else a problem is appended to @problems)
 * or a `url` (to a Binary).  Returns how many were removed.  What is left compares with
 * charta_test_json_equal(). */
unsigned        charta_test_strip_filled_in (JsonNode   *sent,
                                             JsonNode   *got,
                                             GString    *problems);

/* Whether two JSON numbers (integer or double nodes) count as equal. */
typedef gboolean (*ChartaTestNumbersEqual) (JsonNode *a,
                                            JsonNode *b);

/* charta_test_json_equal() with numbers compared by @numbers_equal instead. */
gboolean        charta_test_json_equal_full (JsonNode               *a,
                                             JsonNode               *b,
                                             ChartaTestNumbersEqual  numbers_equal,
                                             char                  **where);

/* ---- temporary folders ----------------------------------------------------------------------- */

/* A new temporary folder named after the test program; fails the test when it cannot be made. */
char           *charta_test_make_tmp_dir    (void);

/* Removes @path and, for a folder, everything below it (links are removed, not followed). */
void            charta_test_remove_tree     (const char *path);

/* A fixture for g_test_add(): a new temporary folder, removed with all it holds on tear-down. */
typedef struct
{
  char *dir;
  char *store_path;   /* "store.charta" in @dir: where a test may put a store (none is made) */
} ChartaTestDir;

void            charta_test_dir_set_up      (ChartaTestDir *f,
                                             gconstpointer  data);
void            charta_test_dir_tear_down   (ChartaTestDir *f,
                                             gconstpointer  data);

/* Writes @contents (@length bytes, -1: up to the nul) to @name inside @dir, making the folders
 * on the way; returns the file's path, newly allocated.  Fails the test on error. */
char           *charta_test_write_file      (const char *dir,
                                             const char *name,
                                             const char *contents,
                                             gssize      length);

/* Writes @head (NULL: nothing) to @name inside @dir and extends the file to @size bytes without
 * using the disk for the rest (a sparse file of zeros); returns the file's path, newly
 * allocated.  Fails the test on error. */
char           *charta_test_write_sparse_file (const char *dir,
                                               const char *name,
                                               const char *head,
                                               gint64      size);

/* ---- running charta -------------------------------------------------------------------------- */

/* What a run of charta left. */
typedef struct
{
  int status;      /* exit status, or -1 when the child did not exit normally */
  char *out;
  char *err;
  gint64 elapsed;  /* how long it ran, in µs */
} ChartaTestRun;

void            charta_test_run_clear       (ChartaTestRun *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ChartaTestRun, charta_test_run_clear)

/* The built charta ($CHARTA_BIN, set by meson test); fails the test when it is not set. */
const char     *charta_test_charta_bin      (void);

/* Runs charta with the arguments that follow @r up to a NULL, capturing its output, exit status
 * and time into @r (zero-initialised by the caller); fails the test if it cannot start.  The
 * output goes to the test log, except that of `get` (a resource): its length only. */
void            charta_test_run_charta      (ChartaTestRun *r,
                                             ...) G_GNUC_NULL_TERMINATED;
/* The same with the arguments in @args (charta's own path is put first, and a NULL last). */
void            charta_test_run_charta_argv (ChartaTestRun *r,
                                             GPtrArray     *args);

/* The peak RSS, in KiB, of the largest child this process has waited for (getrusage
 * (RUSAGE_CHILDREN)): charta's own when it is the only child, as in a test subprocess (see
 * g_test_trap_subprocess()) that runs it once. */
long            charta_test_children_peak_rss (void);

/* ---- FHIR XML -------------------------------------------------------------------------------- */

/* A small XML tree (GMarkup), enough for the FHIR XML of the corpus' test suites. */
typedef struct _ChartaTestXml ChartaTestXml;
struct _ChartaTestXml
{
  char *name;          /* NULL for a text node */
  char **attr_names;
  char **attr_values;
  char *text;          /* text nodes only */
  GPtrArray *children; /* ChartaTestXml */
};

/* Parses @xml into a tree under a nameless document node; fails the test on an error. */
ChartaTestXml  *charta_test_xml_parse       (const char          *xml);
void            charta_test_xml_free        (ChartaTestXml       *n);
/* The attribute @name of @n, or NULL. */
const char     *charta_test_xml_attr        (const ChartaTestXml *n,
                                             const char          *name);
/* The first child element called @name, or NULL; _need_child() stops the test instead. */
ChartaTestXml  *charta_test_xml_child       (const ChartaTestXml *n,
                                             const char          *name);
ChartaTestXml  *charta_test_xml_need_child  (const ChartaTestXml *n,
                                             const char          *name);
/* The first child element; the test stops when there is none. */
ChartaTestXml  *charta_test_xml_first_element (const ChartaTestXml *n);

/* The FHIR XML resource @el (<Patient xmlns="http://hl7.org/fhir">…) as a resource, through
 * FHIR JSON made by a converter that the R4 model drives: element names, cardinality (arrays),
 * primitive types, primitive ids and extensions (parallel "_name" arrays), the XHTML narrative
 * (written back as text, escaped as little as XML allows).  Fails the test on any element or
 * attribute that the model does not know. */
ChartaResource *charta_test_xml_to_resource (const ChartaTestXml *el);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChartaTestXml, charta_test_xml_free)

/* ---- text ------------------------------------------------------------------------------------ */

/* Fails the test, logging what was missing, unless @needle occurs in @haystack. */
#define charta_test_assert_contains(haystack, needle) \
  charta_test_assert_contains_at (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, (haystack), \
                                  (needle))
void            charta_test_assert_contains_at (const char *domain,
                                                const char *file,
                                                int         line,
                                                const char *func,
                                                const char *haystack,
                                                const char *needle);

/* Orders two elements of an array of strings (pointers to char *): for g_ptr_array_sort()
 * and qsort(). */
int             charta_test_compare_strings (gconstpointer a,
                                             gconstpointer b);

/* The number of newlines in @text. */
unsigned        charta_test_count_lines     (const char *text);

G_END_DECLS
