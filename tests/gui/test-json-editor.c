/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-json-editor.c: the validated JSON editor (charta-json-editor.h).
 *
 * The pure parts first: the locator on texts written for it (nested arrays and brackets inside
 * strings to skip, escaped quotes, member names that begin with others, white space and line
 * breaks everywhere), the fault finder on one broken text per message, and the pretty writer.
 * The byte offsets expected were counted by hand on the texts as written in each case (the
 * counts are in the comments); where a range is long, the test compares the text of the range
 * with the text written out by hand instead.
 *
 * Then the widget, in a window under Xvfb: it shows an Observation read as a client reads one
 * (json-glib plus charta_json_number_texts()), and the test edits the text with the buffer's
 * own functions (what typing does) at positions counted by hand in the pretty text that the
 * first case spells out in full, then checks the message, the underline (the buffer's tags
 * "fault" and "issue"), the properties and the resource.  The text view is found by walking
 * the editor's widgets.
 */
#define G_LOG_DOMAIN "charta-test"

#include <string.h>

#include <adwaita.h>

#include "charta-json-editor.h"
#include "charta-json-text.h"

#define DEADLINE_SECONDS 20

static gboolean have_display;

/* ---- the locator -------------------------------------------------------------------------- */

/* Offsets (0-based bytes) counted by hand, the text character by character: 0 '{', 1 '"',
 * 2 'a', 3 '"', 4 ':', 5 '[' (a), 6 '[' (a[0]), 7 '1', 8 ',', 9 '[', 10 '2', 11 ',', 12 '"',
 * 13 ']', 14 '"', 15 ']', 16 ']' (a[0] ends), 17 ',',
 * 18 '{' (a[1]), 19-21 "b", 22 ':', 23 '"', 24 '}', 25 '\', 26 '"', 27 '{', 28 '"' (the string
 * "}\"{" is 23-28), 29 '}' (a[1] ends), 30 ']' (a ends), 31 ',', 32-39 "values", 40 ':', 41 '7',
 * 42 ',', 43-57 "valueQuantity" (13 letters), 58 ':', 59 '{', 60-66 "value", 67 ':', 68-71 1.50,
 * 72 '}', 73 ',', 74-80 "value", 81 ':', 82 '3', 83 '}'. */
static const char *const prefixes =
  "{\"a\":[[1,[2,\"]\"]],{\"b\":\"}\\\"{\"}],\"values\":7,\"valueQuantity\":{\"value\":1.50},"
  "\"value\":3}";

static void
assert_located (const char *text,
                const char *fhirpath,
                size_t      expected_start,
                size_t      expected_end)
{
  size_t start = 0, end = 0;

  if (!charta_json_locate (text, fhirpath, &start, &end))
    g_error ("%s was not found", fhirpath);
  g_assert_cmpuint (start, ==, expected_start);
  g_assert_cmpuint (end, ==, expected_end);
}

/* The text of the range that @fhirpath gives in @text (NULL when not found). */
static char *
located_text (const char *text,
              const char *fhirpath)
{
  size_t start = 0, end = 0;

  if (!charta_json_locate (text, fhirpath, &start, &end))
    return NULL;
  g_assert_cmpuint (start, <, end);
  g_assert_cmpuint (end, <=, strlen (text));
  return g_strndup (text + start, end - start);
}

static void
test_locate_prefixes (void)
{
  g_assert_cmpuint (strlen (prefixes), ==, 84);
  /* "value" itself, though "valueQuantity" (a choice of the same name) comes first. */
  assert_located (prefixes, "Observation.value", 74, 83);
  assert_located (prefixes, "Observation.valueQuantity", 43, 73);
  assert_located (prefixes, "Observation.valueQuantity.value", 60, 72);
  /* "values" is another element, not a choice of "value". */
  assert_located (prefixes, "Observation.values", 32, 42);
  /* Items of a[]: the brackets and braces inside strings are text. */
  assert_located (prefixes, "a[0]", 6, 17);
  assert_located (prefixes, "a[1]", 18, 30);
  assert_located (prefixes, "a[1].b", 19, 29);
  assert_located (prefixes, "Observation", 0, 84);
  g_assert_false (charta_json_locate (prefixes, "a[2]", NULL, NULL));
  g_assert_false (charta_json_locate (prefixes, "Observation.status", NULL, NULL));
  g_assert_false (charta_json_locate (prefixes, "Observation.valueQuantity.unit", NULL, NULL));
  /* Not a path of members: a function, a filter, a broken index. */
  g_assert_false (charta_json_locate (prefixes, "Observation.value.exists()", NULL, NULL));
  g_assert_false (charta_json_locate (prefixes, "Observation.a.where(b = 1)", NULL, NULL));
  g_assert_false (charta_json_locate (prefixes, "Observation.a[x]", NULL, NULL));
  g_assert_false (charta_json_locate (prefixes, "", NULL, NULL));
}

/* Choice elements: {"values":7,"valueString":"x"}: 0 '{', 1-8 "values", 9 ':', 10 '7',
 * 11 ',', 12-24 "valueString" (11 letters), 25 ':', 26-28 "x", 29 '}'. */
static void
test_locate_choice (void)
{
  const char *text = "{\"values\":7,\"valueString\":\"x\"}";

  assert_located (text, "Observation.value", 12, 29);
  assert_located (text, "Observation.value.ofType(String)", 12, 29);
  assert_located (text, "Observation.valueString", 12, 29);
  g_assert_false (charta_json_locate (text, "Observation.value.ofType(Quantity)", NULL, NULL));
  g_assert_false (charta_json_locate (text, "Observation.valueQuantity", NULL, NULL));
}

/* A Bundle written with white space, tabs, CRLF and line breaks between every token; the member
 * inside the second entry, escaped quotes and a ']' inside a string. */
static void
test_locate_layout (void)
{
  const char *text =
    "{ \"resourceType\" : \"Bundle\" ,\r\n"
    "\t\"entry\" :\n"
    "  [ { \"resource\" : { \"gender\" : \"male\" } } ,\n"
    "    { \"resource\" :\n"
    "      { \"resourceType\":\"Patient\", \"name\" : [ {\"given\":[\"A\" , \"B\\\"]\"]} ] ,\n"
    "        \"gender\"\n"
    "          :\n"
    "        \"female\" } } ]\n"
    "}\n";
  g_autofree char *second = located_text (text, "Bundle.entry[1].resource.gender");
  g_autofree char *first = located_text (text, "Bundle.entry[0].resource.gender");
  g_autofree char *given = located_text (text, "Bundle.entry[1].resource.name[0].given[1]");
  g_autofree char *name = located_text (text, "Bundle.entry[1].resource.name.given");
  g_autofree char *entry = located_text (text, "Bundle.entry[0]");

  g_assert_cmpstr (second, ==, "\"gender\"\n          :\n        \"female\"");
  g_assert_cmpstr (first, ==, "\"gender\" : \"male\"");
  g_assert_cmpstr (given, ==, "\"B\\\"]\"");
  /* Without indexes: the first item of each array on the way. */
  g_assert_cmpstr (name, ==, "\"given\":[\"A\" , \"B\\\"]\"]");
  g_assert_cmpstr (entry, ==, "{ \"resource\" : { \"gender\" : \"male\" } }");
  g_assert_null (located_text (text, "Bundle.entry[2].resource.gender"));
  g_assert_null (located_text (text, "Bundle.entry[1].resource.birthDate"));
}

/* Broken after the element: still found; broken before it: not. */
static void
test_locate_broken (void)
{
  g_autofree char *status = located_text ("{\"status\":\"final\" \"code\" 3", "status");

  g_assert_cmpstr (status, ==, "\"status\":\"final\"");
  g_assert_null (located_text ("{\"code\" 3, \"status\":\"final\"}", "status"));
  g_assert_null (located_text ("{\"status\":\"fin", "status"));
}

/* ---- faults ------------------------------------------------------------------------------- */

/* One fault per message; expected positions counted by hand on each text.  Columns are
 * characters: in the last case "é" is two bytes but one column. */
static void
test_find_fault (void)
{
  static const struct
  {
    const char *text;
    const char *message;
    size_t start, end;
  } cases[] = {
    /* after 1 (byte 6) a space, then "b" at 7-9 */
    { "{\"a\":1 \"b\":2}", "Line 1, column 8: a ',' or '}' is missing", 7, 10 },
    /* the ',' at byte 6 */
    { "{\"a\":1,}", "Line 1, column 7: nothing comes after this ',' before the '}': remove it",
      6, 7 },
    { "[1,]", "Line 1, column 3: nothing comes after this ',' before the ']': remove it", 2, 3 },
    /* line 3 is "}" (bytes 15-), after "  \"a\": [1, 2" on line 2 */
    { "{\n  \"a\": [1, 2\n}", "Line 3, column 1: a ',' or ']' is missing", 15, 16 },
    { "{\"a\": 01}", "Line 1, column 7: this number is not written as JSON writes numbers "
                     "(like 1.50, -3 or 2e5)", 6, 8 },
    { "{\"a\": 1.}", "Line 1, column 7: this number is not written as JSON writes numbers "
                     "(like 1.50, -3 or 2e5)", 6, 8 },
    /* the string opens at byte 6 and the line ends at byte 8 */
    { "{\"a\": \"x\ny\"}", "Line 1, column 7: the text in double quotes that starts here does "
                          "not end on its line: a '\"' is missing", 6, 8 },
    { "{\"a\": tru}", "Line 1, column 7: text is written in double quotes", 6, 9 },
    { "{\"a\": True}", "Line 1, column 7: true, false and null are written in small letters",
      6, 10 },
    /* the second "a" at bytes 9-11 */
    { "{\"a\": 1, \"a\": 2}", "Line 1, column 10: \"a\" is in this object twice", 9, 12 },
    /* the escape \x at bytes 7-8 */
    { "{\"a\": \"\\x\"}", "Line 1, column 8: '\\x' is no escape: a backslash in text is "
                         "written '\\\\'", 7, 9 },
    { "{\"a\": \"\\u12\"}", "Line 1, column 8: '\\u' is followed by four hexadecimal digits "
                           "(\\u00e9)", 7, 9 },
    { "{\"a\": 1} x", "Line 1, column 10: there is more after the end of the resource", 9, 10 },
    /* the text ends at byte 8 */
    { "{\"a\": [1", "Line 1, column 9: the text ends before the '[' on line 1 is closed with "
                   "']'", 8, 8 },
    { "{\"a\": }", "Line 1, column 7: a value is missing before this", 6, 7 },
    { "{\"a\": /* c */ 1}", "Line 1, column 7: JSON has no comments", 6, 7 },
    { "{'a': 1}", "Line 1, column 2: a member name is written in double quotes, not single "
                  "ones", 1, 2 },
    { "{\"a\" 1}", "Line 1, column 6: a ':' is missing after the member name", 5, 6 },
    { "  \n ", "Line 2, column 2: the text is empty", 4, 4 },
    /* 0 '{', 1 '"', 2-3 'é', 4 '"', 5 ':', 6 ' ', 7 '1', 8 ' ', 9 '2' (column 9) */
    { "{\"é\": 1 2}", "Line 1, column 9: a ',' or '}' is missing", 9, 10 },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      size_t start = 99, end = 99;
      g_autofree char *message = charta_json_find_fault (cases[i].text, &start, &end);

      g_test_message ("case %zu", i);
      g_assert_cmpstr (message, ==, cases[i].message);
      g_assert_cmpuint (start, ==, cases[i].start);
      g_assert_cmpuint (end, ==, cases[i].end);
    }
}

/* JSON as RFC 8259 writes it passes, escapes and nesting included. */
static void
test_find_no_fault (void)
{
  static const char *const texts[] = {
    "{\"a\": [1, {\"b\": null}], \"c\": \"x\\\"y\\u00e9\\n\", \"d\": -0.5e+3, \"e\": [] }",
    "\r\n{}\n",
    "[true, false, null, 0, -1, 2.50, 1E5, \"]\"]",
    "{\"é\": {\"\\\"\": {}}}",
  };

  for (size_t i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autofree char *message = charta_json_find_fault (texts[i], NULL, NULL);

      g_assert_null (message);
    }
}

/* Nested containers at 2 spaces per level, empty ones on their line, strings with JSON's
 * punctuation left alone, the number texts kept. */
static void
test_write_pretty (void)
{
  const char *json = "{\"a\":[],\"b\":{},\"c\":[1,{\"d\":\"x,y:{\\\"[\"}],\"e\":4.0}";
  g_autoptr(GHashTable) texts = charta_json_number_texts (json, -1);
  g_autoptr(JsonNode) node = json_from_string (json, NULL);
  g_autofree char *pretty = charta_json_write_pretty (node, texts);

  g_assert_cmpstr (pretty, ==,
                   "{\n"
                   "  \"a\": [],\n"
                   "  \"b\": {},\n"
                   "  \"c\": [\n"
                   "    1,\n"
                   "    {\n"
                   "      \"d\": \"x,y:{\\\"[\"\n"
                   "    }\n"
                   "  ],\n"
                   "  \"e\": 4.0\n"
                   "}");
}

/* ---- the widget --------------------------------------------------------------------------- */

/* The Observation as a server sends it, and as the editor must show it. */
static const char *const observation =
  "{\"resourceType\":\"Observation\",\"id\":\"obs-1\",\"status\":\"final\",\"code\":{\"text\":"
  "\"Weight\"},\"valueQuantity\":{\"value\":1.50,\"unit\":\"kg\"},\"note\":[{\"text\":"
  "\"a \\\"quoted\\\" note\"}]}";
static const char *const observation_pretty =
  "{\n"                                          /* line 1 (index 0) */
  "  \"resourceType\": \"Observation\",\n"       /* 2 */
  "  \"id\": \"obs-1\",\n"                       /* 3 */
  "  \"status\": \"final\",\n"                   /* 4 */
  "  \"code\": {\n"                              /* 5 */
  "    \"text\": \"Weight\"\n"                   /* 6 */
  "  },\n"                                       /* 7 */
  "  \"valueQuantity\": {\n"                     /* 8 */
  "    \"value\": 1.50,\n"                       /* 9 */
  "    \"unit\": \"kg\"\n"                       /* 10 */
  "  },\n"                                       /* 11 */
  "  \"note\": [\n"                              /* 12 */
  "    {\n"                                      /* 13 */
  "      \"text\": \"a \\\"quoted\\\" note\"\n"  /* 14 */
  "    }\n"                                      /* 15 */
  "  ]\n"                                        /* 16 */
  "}";                                           /* 17 */

typedef struct
{
  GtkWidget *window;
  ChartaJsonEditor *editor;
  GtkTextView *view;
  GtkTextBuffer *buffer;
  unsigned valid_notes;   /* "notify::valid" emissions */
} Fixture;

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

/* The first widget below @root (or @root) of @type, depth first. */
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
find_name (GtkWidget  *root,
           const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (root), name) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_name (child, name);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The label below @root whose text is @text, or NULL. */
static GtkWidget *
find_label (GtkWidget  *root,
            const char *text)
{
  if (GTK_IS_LABEL (root) && g_strcmp0 (gtk_label_get_text (GTK_LABEL (root)), text) == 0)
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

/* The issue row whose title is @title. */
static AdwActionRow *
find_row (Fixture    *f,
          const char *title)
{
  GtkWidget *list = find_type (find_name (GTK_WIDGET (f->editor), "issues"), GTK_TYPE_LIST_BOX);

  for (GtkWidget *row = gtk_widget_get_first_child (list); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    if (ADW_IS_ACTION_ROW (row)
        && g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), title) == 0)
      return ADW_ACTION_ROW (row);
  g_error ("no issue row titled %s", title);
  return NULL;
}

static void
valid_notified (GObject    *editor,
                GParamSpec *pspec,
                Fixture    *f)
{
  f->valid_notes++;
}

static JsonNode *
parse (const char *json)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (json, &error);

  g_assert_no_error (error);
  return node;
}

/* A window with an editor showing the Observation, its number texts read as the client does. */
static void
fixture_set_up (Fixture       *f,
                gconstpointer  user_data)
{
  g_autoptr(JsonNode) resource = NULL;
  g_autoptr(GHashTable) texts = NULL;

  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  resource = parse (observation);
  texts = charta_json_number_texts (observation, -1);
  f->editor = CHARTA_JSON_EDITOR (charta_json_editor_new ());
  g_signal_connect (f->editor, "notify::valid", G_CALLBACK (valid_notified), f);
  charta_json_editor_set_resource (f->editor, resource, texts);
  f->view = GTK_TEXT_VIEW (find_type (GTK_WIDGET (f->editor), GTK_TYPE_TEXT_VIEW));
  f->buffer = gtk_text_view_get_buffer (f->view);
  f->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (f->window), 640, 720);
  gtk_window_set_child (GTK_WINDOW (f->window), GTK_WIDGET (f->editor));
  gtk_window_present (GTK_WINDOW (f->window));
  wait_for (is_drawable, f->view, "the editor to be shown");
  f->valid_notes = 0;
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  user_data)
{
  if (f->window != NULL)
    gtk_window_destroy (GTK_WINDOW (f->window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static char *
buffer_text (Fixture *f)
{
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (f->buffer, &start, &end);
  return gtk_text_buffer_get_text (f->buffer, &start, &end, TRUE);
}

static GtkTextIter
iter_at (Fixture *f,
         int      line,
         int      offset)
{
  GtkTextIter iter;

  gtk_text_buffer_get_iter_at_line_offset (f->buffer, &iter, line, offset);
  g_assert_cmpint (gtk_text_iter_get_line (&iter), ==, line);
  g_assert_cmpint (gtk_text_iter_get_line_offset (&iter), ==, offset);
  return iter;
}

/* Whether the character at @line, @offset (from 0) carries the tag named @tag. */
static gboolean
tagged (Fixture    *f,
        const char *tag,
        int         line,
        int         offset)
{
  GtkTextTag *t = gtk_text_tag_table_lookup (gtk_text_buffer_get_tag_table (f->buffer), tag);
  GtkTextIter iter = iter_at (f, line, offset);

  g_assert_nonnull (t);
  return gtk_text_iter_has_tag (&iter, t);
}

/* Replaces the characters @from to @to of line @line (from 0) with @text, as typing does. */
static void
replace (Fixture    *f,
         int         line,
         int         from,
         int         to,
         const char *text)
{
  GtkTextIter start = iter_at (f, line, from), end = iter_at (f, line, to);

  gtk_text_buffer_begin_user_action (f->buffer);
  if (from < to)
    gtk_text_buffer_delete_interactive (f->buffer, &start, &end, TRUE);
  if (*text != '\0')
    gtk_text_buffer_insert_interactive (f->buffer, &start, text, -1, TRUE);
  gtk_text_buffer_end_user_action (f->buffer);
}

static gboolean
valid_noted (gpointer data)
{
  Fixture *f = data;

  return f->valid_notes > 0;
}

/* The text shown: the resource at 2 spaces per level, 1.50 as the server wrote it; editable,
 * valid, unchanged, labelled, and Tab leaves it. */
static void
test_editor_shows (Fixture       *f,
                   gconstpointer  user_data)
{
  g_autofree char *text = NULL;
  g_autofree char *label = NULL;

  if (!have_display)
    return;
  text = buffer_text (f);
  g_assert_cmpstr (text, ==, observation_pretty);
  g_assert_true (charta_json_editor_is_valid (f->editor));
  g_assert_false (charta_json_editor_is_changed (f->editor));
  g_assert_null (charta_json_editor_get_message (f->editor));
  g_assert_true (gtk_text_view_get_editable (f->view));
  g_assert_true (gtk_text_view_get_monospace (f->view));
  g_assert_false (gtk_text_view_get_accepts_tab (f->view));
  g_assert_false (gtk_widget_get_visible (find_name (GTK_WIDGET (f->editor), "problem")));
  label = gtk_test_accessible_check_property (GTK_ACCESSIBLE (f->view),
                                              GTK_ACCESSIBLE_PROPERTY_LABEL, "Record as JSON");
  g_assert_null (label);

  /* Nothing set: empty, read-only, not valid, no message. */
  charta_json_editor_set_resource (f->editor, NULL, NULL);
  g_free (text);
  text = buffer_text (f);
  g_assert_cmpstr (text, ==, "");
  g_assert_false (gtk_text_view_get_editable (f->view));
  g_assert_false (charta_json_editor_is_valid (f->editor));
  g_assert_null (charta_json_editor_get_resource (f->editor));
  g_assert_null (charta_json_editor_get_message (f->editor));
}

/* A comma removed: 300 ms later not valid, the message names line 5, column 3 (where "code"
 * starts, the first thing that cannot follow "final"), the label says it in words, the
 * underline is on "code"; put back: valid again. */
static void
test_editor_broken (Fixture       *f,
                    gconstpointer  user_data)
{
  const char *expected = "Line 5, column 3: a ',' or '}' is missing";
  g_autofree char *state = NULL;
  GtkWidget *problem;

  if (!have_display)
    return;
  /* Line 4 (index 3) is `  "status": "final",`: 2 spaces, "status" at 2-9, ':' at 10, a
   * space at 11, "final" at 12-18, the ',' at 19. */
  replace (f, 3, 19, 20, "");
  /* Not checked yet: the check waits for the typing to pause. */
  g_assert_cmpuint (f->valid_notes, ==, 0);
  wait_for (valid_noted, f, "the check");
  g_assert_false (charta_json_editor_is_valid (f->editor));
  g_assert_null (charta_json_editor_get_resource (f->editor));
  g_assert_null (charta_json_editor_get_number_texts (f->editor));
  g_assert_cmpstr (charta_json_editor_get_message (f->editor), ==, expected);
  problem = find_name (GTK_WIDGET (f->editor), "problem");
  g_assert_true (gtk_widget_get_visible (problem));
  g_assert_nonnull (find_label (problem, expected));
  state = gtk_test_accessible_check_state (GTK_ACCESSIBLE (f->view),
                                           GTK_ACCESSIBLE_STATE_INVALID,
                                           GTK_ACCESSIBLE_INVALID_TRUE);
  g_assert_null (state);
  /* Line 5 (index 4) is `  "code": {`: "code" at 2-7. */
  g_assert_false (tagged (f, "fault", 4, 1));
  g_assert_true (tagged (f, "fault", 4, 2));
  g_assert_true (tagged (f, "fault", 4, 7));
  g_assert_false (tagged (f, "fault", 4, 8));
  g_assert_true (charta_json_editor_is_changed (f->editor));

  /* Put back: valid, unchanged, no message, no underline. */
  replace (f, 3, 19, 19, ",");
  g_assert_true (charta_json_editor_is_valid (f->editor));
  g_assert_false (charta_json_editor_is_changed (f->editor));
  g_assert_null (charta_json_editor_get_message (f->editor));
  g_assert_false (gtk_widget_get_visible (problem));
  g_assert_false (tagged (f, "fault", 4, 2));
  g_free (state);
  state = gtk_test_accessible_check_state (GTK_ACCESSIBLE (f->view),
                                           GTK_ACCESSIBLE_STATE_INVALID,
                                           GTK_ACCESSIBLE_INVALID_FALSE);
  g_assert_null (state);
}

/* An edit: the resource is the edited text, 1.50 written as it was; white space is no change,
 * 1.5 for 1.50 is one. */
static void
test_editor_edit (Fixture       *f,
                  gconstpointer  user_data)
{
  g_autofree char *written = NULL;
  g_autofree char *again = NULL;
  JsonNode *resource;

  if (!have_display)
    return;
  /* "final" is at 13-17 of line index 3. */
  replace (f, 3, 13, 18, "amended");
  g_assert_true (charta_json_editor_is_valid (f->editor));
  g_assert_true (charta_json_editor_is_changed (f->editor));
  resource = charta_json_editor_get_resource (f->editor);
  g_assert_nonnull (resource);
  written = charta_json_write (resource, charta_json_editor_get_number_texts (f->editor));
  g_assert_cmpstr (written, ==,
                   "{\"resourceType\":\"Observation\",\"id\":\"obs-1\",\"status\":\"amended\","
                   "\"code\":{\"text\":\"Weight\"},\"valueQuantity\":{\"value\":1.50,"
                   "\"unit\":\"kg\"},\"note\":[{\"text\":\"a \\\"quoted\\\" note\"}]}");

  /* Back to "final" (13-19 now holds "amended"), and a line break after the first '{'. */
  replace (f, 3, 13, 20, "final");
  replace (f, 0, 1, 1, "\n");
  g_assert_true (charta_json_editor_is_valid (f->editor));
  g_assert_false (charta_json_editor_is_changed (f->editor));

  /* 1.50 → 1.5 (line index 9 now: `    "value": 1.50,`, the "0" at 16). */
  replace (f, 9, 16, 17, "");
  g_assert_true (charta_json_editor_is_changed (f->editor));
  again = charta_json_write (charta_json_editor_get_resource (f->editor),
                             charta_json_editor_get_number_texts (f->editor));
  g_assert_nonnull (strstr (again, "\"value\":1.5,"));
}

/* The resourceType or id changed, the root not an object: not valid, in words. */
static void
test_editor_identity (Fixture       *f,
                      gconstpointer  user_data)
{
  if (!have_display)
    return;
  /* Line 2 (index 1): `  "resourceType": "Observation",`: "resourceType" at 2-15, ':' 16,
   * space 17, "Observation" at 18-30 (its letters 19-29). */
  replace (f, 1, 19, 30, "Patient");
  g_assert_false (charta_json_editor_is_valid (f->editor));
  g_assert_null (charta_json_editor_get_resource (f->editor));
  g_assert_cmpstr (charta_json_editor_get_message (f->editor), ==,
                   "Line 2, column 3: the resourceType must stay \"Observation\": a correction "
                   "cannot change it");
  /* The member underlined: "resourceType": "Patient" is at 2-26. */
  g_assert_true (tagged (f, "fault", 1, 2));
  g_assert_true (tagged (f, "fault", 1, 26));
  g_assert_false (tagged (f, "fault", 1, 27));
  replace (f, 1, 19, 26, "Observation");
  g_assert_true (charta_json_editor_is_valid (f->editor));

  /* Line 3 (index 2): `  "id": "obs-1",`: the "1" at 13. */
  replace (f, 2, 13, 14, "2");
  g_assert_cmpstr (charta_json_editor_get_message (f->editor), ==,
                   "Line 3, column 3: the id must stay \"obs-1\": a correction cannot change it");
  replace (f, 2, 13, 14, "1");
  g_assert_true (charta_json_editor_is_valid (f->editor));

  /* The id removed: line index 2 (16 characters) emptied. */
  replace (f, 2, 0, 16, "");
  g_assert_cmpstr (charta_json_editor_get_message (f->editor), ==,
                   "Line 1, column 1: \"id\" is missing: it must stay \"obs-1\"");

  gtk_text_buffer_set_text (f->buffer, "  [1]", -1);
  g_assert_cmpstr (charta_json_editor_get_message (f->editor), ==,
                   "Line 1, column 3: a resource is a JSON object, written in { }");
  g_assert_false (charta_json_editor_is_valid (f->editor));
  g_assert_true (charta_json_editor_is_changed (f->editor));
}

/* Enter keeps the line's indentation, two spaces more after '{'. */
static void
test_editor_enter (Fixture       *f,
                   gconstpointer  user_data)
{
  GtkEventController *keys = NULL;
  g_autoptr(GListModel) controllers = NULL;
  GtkTextIter iter;
  gboolean handled = FALSE;
  g_autofree char *line = NULL;
  GtkTextIter start, end;

  if (!have_display)
    return;
  controllers = gtk_widget_observe_controllers (GTK_WIDGET (f->view));
  for (unsigned i = 0; i < g_list_model_get_n_items (controllers) && keys == NULL; i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_EVENT_CONTROLLER_KEY (controller)
          && gtk_event_controller_get_propagation_phase (controller) == GTK_PHASE_CAPTURE)
        keys = controller;
    }
  g_assert_nonnull (keys);

  /* After `  "code": {` (line index 4, 11 characters). */
  iter = iter_at (f, 4, 11);
  gtk_text_buffer_place_cursor (f->buffer, &iter);
  g_signal_emit_by_name (keys, "key-pressed", GDK_KEY_Return, 0, 0, &handled);
  g_assert_true (handled);
  start = iter_at (f, 5, 0);
  end = start;
  gtk_text_iter_forward_to_line_end (&end);
  line = gtk_text_buffer_get_text (f->buffer, &start, &end, TRUE);
  g_assert_cmpstr (line, ==, "    ");
  gtk_text_buffer_get_iter_at_mark (f->buffer, &iter, gtk_text_buffer_get_insert (f->buffer));
  g_assert_cmpint (gtk_text_iter_get_line (&iter), ==, 5);
  g_assert_cmpint (gtk_text_iter_get_line_offset (&iter), ==, 4);
  g_assert_true (charta_json_editor_is_valid (f->editor));
  g_assert_false (charta_json_editor_is_changed (f->editor));

  /* With Control, it is the dialog's. */
  handled = TRUE;
  g_signal_emit_by_name (keys, "key-pressed", GDK_KEY_Return, 0, GDK_CONTROL_MASK, &handled);
  g_assert_false (handled);
}

/* Whether @data (a GtkTextBuffer) has a selection (a button's activation takes a moment). */
static gboolean
has_selection (gpointer data)
{
  return gtk_text_buffer_get_has_selection (data);
}

static const char *const outcome_json =
  "{\"resourceType\":\"OperationOutcome\",\"issue\":["
  "{\"severity\":\"error\",\"code\":\"invalid\","
  "\"expression\":[\"Observation.valueQuantity.value\"],"
  "\"diagnostics\":\"Observation.valueQuantity.value: must be more than 0\"},"
  "{\"severity\":\"warning\",\"code\":\"informational\","
  "\"location\":[\"Observation.note[0].text\"],"
  "\"diagnostics\":\"Notes are not checked\"},"
  "{\"severity\":\"error\",\"code\":\"code-invalid\","
  "\"diagnostics\":\"Observation.status: unknown code\"},"
  "{\"severity\":\"error\",\"code\":\"required\",\"expression\":[\"Observation.bodySite\"],"
  "\"diagnostics\":\"bodySite is required for this code\"},"
  "{\"severity\":\"error\",\"code\":\"value\",\"expression\":[\"Observation.value\"],"
  "\"details\":{\"text\":\"Value out of range\"}},"
  "{\"severity\":\"information\",\"code\":\"informational\","
  "\"diagnostics\":\"Checked against R4\"},"
  "{\"severity\":\"error\",\"code\":\"code-invalid\","
  "\"diagnostics\":\"Observation.method: unknown method\"},"
  "{\"severity\":\"warning\",\"code\":\"informational\",\"expression\":[5,\"Observation.id\"],"
  "\"diagnostics\":\"Looks like a test id\"}]}";

/* The server's issues at their elements, the others above the text; Go to selects; an edit
 * takes the underline away from what it touches only. */
static void
test_editor_outcome (Fixture       *f,
                     gconstpointer  user_data)
{
  g_autoptr(JsonNode) outcome = parse (outcome_json);
  g_autoptr(JsonNode) first = parse ("{\"resourceType\":\"OperationOutcome\",\"issue\":[{"
                                     "\"severity\":\"error\",\"code\":\"invalid\",\"expression\":"
                                     "[\"Observation.valueQuantity.value\"]}]}");
  GtkWidget *unplaced, *issues, *button;
  AdwActionRow *row;
  GtkTextIter start, end;

  if (!have_display)
    return;
  /* The first issue alone: valueQuantity.value is line index 8, `    "value": 1.50,`: "value"
   * at 4-10, 1.50 at 13-16. */
  g_assert_cmpuint (charta_json_editor_show_outcome (f->editor, first), ==, 1);
  g_assert_false (tagged (f, "issue", 8, 3));
  g_assert_true (tagged (f, "issue", 8, 4));
  g_assert_true (tagged (f, "issue", 8, 16));
  g_assert_false (tagged (f, "issue", 8, 17));
  g_assert_false (tagged (f, "issue", 7, 2));

  /* All of them, instead. */
  g_assert_cmpuint (charta_json_editor_show_outcome (f->editor, outcome), ==, 5);
  g_assert_true (tagged (f, "issue", 8, 4));
  /* note[0].text: line index 13, `      "text": "a \"quoted\" note"`: from 6 to its end (33). */
  g_assert_false (tagged (f, "issue", 13, 5));
  g_assert_true (tagged (f, "issue", 13, 6));
  g_assert_true (tagged (f, "issue", 13, 32));
  /* status, from the diagnostics: line index 3, 2-18. */
  g_assert_true (tagged (f, "issue", 3, 2));
  g_assert_true (tagged (f, "issue", 3, 18));
  g_assert_false (tagged (f, "issue", 3, 19));
  /* Observation.value is valueQuantity: from line index 7 column 2 to the '}' on index 10. */
  g_assert_false (tagged (f, "issue", 7, 1));
  g_assert_true (tagged (f, "issue", 7, 2));
  g_assert_true (tagged (f, "issue", 10, 2));
  g_assert_false (tagged (f, "issue", 10, 3));
  /* id (after an expression that is no string): line index 2, `  "id": "obs-1",`, 2-14. */
  g_assert_true (tagged (f, "issue", 2, 2));
  g_assert_true (tagged (f, "issue", 2, 14));
  g_assert_false (tagged (f, "issue", 2, 15));
  /* Nothing else: code, resourceType. */
  g_assert_false (tagged (f, "issue", 5, 6));
  g_assert_false (tagged (f, "issue", 1, 2));

  /* The words, below the text; the path of the diagnostics not repeated. */
  issues = find_name (GTK_WIDGET (f->editor), "issues");
  g_assert_true (gtk_widget_get_visible (issues));
  row = find_row (f, "must be more than 0");
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==,
                   "Error at Observation.valueQuantity.value");
  g_assert_cmpstr (adw_action_row_get_subtitle (find_row (f, "Notes are not checked")), ==,
                   "Warning at Observation.note[0].text");
  g_assert_cmpstr (adw_action_row_get_subtitle (find_row (f, "unknown code")), ==,
                   "Error at Observation.status");
  g_assert_cmpstr (adw_action_row_get_subtitle (find_row (f, "Value out of range")), ==,
                   "Error at Observation.value");
  g_assert_cmpstr (adw_action_row_get_subtitle (find_row (f, "Looks like a test id")), ==,
                   "Warning at Observation.id");

  /* The others, above it, with their words. */
  unplaced = find_name (GTK_WIDGET (f->editor), "unplaced-issues");
  g_assert_nonnull (gtk_widget_get_first_child (unplaced));
  g_assert_nonnull (find_label (unplaced, "Error: bodySite is required for this code (at "
                                          "Observation.bodySite, which is not in the text)"));
  g_assert_nonnull (find_label (unplaced, "Note: Checked against R4"));
  g_assert_nonnull (find_label (unplaced, "Error: unknown method (at Observation.method, which "
                                          "is not in the text)"));
  g_assert_null (find_label (unplaced, "Notes are not checked"));

  /* Go to: the element selected, the text focused. */
  button = find_type (GTK_WIDGET (row), GTK_TYPE_BUTTON);
  g_assert_nonnull (button);
  gtk_widget_activate (button);
  wait_for (has_selection, f->buffer, "the element to be selected");
  g_assert_true (gtk_text_buffer_get_selection_bounds (f->buffer, &start, &end));
  g_assert_cmpint (gtk_text_iter_get_line (&start), ==, 8);
  g_assert_cmpint (gtk_text_iter_get_line_offset (&start), ==, 4);
  g_assert_cmpint (gtk_text_iter_get_line (&end), ==, 8);
  g_assert_cmpint (gtk_text_iter_get_line_offset (&end), ==, 17);
  g_assert_true (gtk_widget_is_focus (GTK_WIDGET (f->view)));

  /* 1.50 → 1.60: the value (and valueQuantity, which holds it) edited; status not. */
  replace (f, 8, 15, 16, "6");
  g_assert_false (tagged (f, "issue", 8, 4));
  g_assert_false (tagged (f, "issue", 7, 2));
  g_assert_true (tagged (f, "issue", 3, 2));
  g_assert_true (tagged (f, "issue", 13, 6));
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==,
                   "Error at Observation.valueQuantity.value (edited since)");
  g_assert_cmpstr (adw_action_row_get_subtitle (find_row (f, "unknown code")), ==,
                   "Error at Observation.status");
  /* Lines added above: the marks move with the text. */
  replace (f, 0, 1, 1, "\n\n");
  g_assert_true (tagged (f, "issue", 5, 2));
  g_assert_false (tagged (f, "issue", 3, 2));

  /* NULL clears them all. */
  g_assert_cmpuint (charta_json_editor_show_outcome (f->editor, NULL), ==, 0);
  g_assert_false (tagged (f, "issue", 5, 2));
  g_assert_false (gtk_widget_get_visible (issues));
  g_assert_null (gtk_widget_get_first_child (unplaced));
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

  g_test_add_func ("/charta/gui/json-editor/locate-prefixes", test_locate_prefixes);
  g_test_add_func ("/charta/gui/json-editor/locate-choice", test_locate_choice);
  g_test_add_func ("/charta/gui/json-editor/locate-layout", test_locate_layout);
  g_test_add_func ("/charta/gui/json-editor/locate-broken", test_locate_broken);
  g_test_add_func ("/charta/gui/json-editor/find-fault", test_find_fault);
  g_test_add_func ("/charta/gui/json-editor/find-no-fault", test_find_no_fault);
  g_test_add_func ("/charta/gui/json-editor/write-pretty", test_write_pretty);
  g_test_add ("/charta/gui/json-editor/editor-shows", Fixture, NULL, fixture_set_up,
              test_editor_shows, fixture_tear_down);
  g_test_add ("/charta/gui/json-editor/editor-broken", Fixture, NULL, fixture_set_up,
              test_editor_broken, fixture_tear_down);
  g_test_add ("/charta/gui/json-editor/editor-edit", Fixture, NULL, fixture_set_up,
              test_editor_edit, fixture_tear_down);
  g_test_add ("/charta/gui/json-editor/editor-identity", Fixture, NULL, fixture_set_up,
              test_editor_identity, fixture_tear_down);
  g_test_add ("/charta/gui/json-editor/editor-enter", Fixture, NULL, fixture_set_up,
              test_editor_enter, fixture_tear_down);
  g_test_add ("/charta/gui/json-editor/editor-outcome", Fixture, NULL, fixture_set_up,
              test_editor_outcome, fixture_tear_down);

  return g_test_run ();
}
