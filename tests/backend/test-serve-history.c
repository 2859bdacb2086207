/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-serve-history.c: history over HTTP (and `charta history`): _at as a period, and each
 * entry's request as the write that made the version.
 *
 * _at (http.html#history) keeps the versions "current at some point during the time period"
 * that its date value covers at its precision: a day, a second, a microsecond.  The store has
 * no clock a test can set, so the at test places its writes in three consecutive seconds S0,
 * S1, S2 by sleeping to just past each second's start (50 ms in) and then checks, from the
 * server's own answers (every version's lastModified, Provenance included), that each write did
 * land in the second it was meant for; when one did not (a stalled machine), it tries again with
 * new ids, at most three times.  The expected answers follow from that layout by hand: see the
 * table in test_at().
 *
 * A server on 127.0.0.1, port 0, over a new store, on its own thread and main context, driven
 * by a SoupSession from the test thread; the CLI reads the same store file.
 */
#define G_LOG_DOMAIN "charta-test"

#include <string.h>

#include <libsoup/soup.h>

#include "charta-server.h"
#include "charta-test-store-util.h"

/* ---- fixture: a server on its own thread ---------------------------------------------------- */

typedef struct
{
  ChartaTestStore  st;
  ChartaServer    *server;
  GMainContext    *context;
  GMainLoop       *loop;
  GThread         *thread;
  char            *base;       /* "http://127.0.0.1:PORT/fhir" */
  SoupSession     *session;
} Fixture;

static gpointer
run_server (gpointer data)
{
  Fixture *f = data;

  g_main_context_push_thread_default (f->context);
  g_main_loop_run (f->loop);
  g_main_context_pop_thread_default (f->context);
  return NULL;
}

static gboolean
stop_server (gpointer data)
{
  Fixture *f = data;

  charta_server_stop (f->server);
  g_main_loop_quit (f->loop);
  return G_SOURCE_REMOVE;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  charta_test_store_set_up (&f->st, NULL);
  f->server = charta_server_new (f->st.store, "/fhir");
  f->context = g_main_context_new ();
  f->loop = g_main_loop_new (f->context, FALSE);
  g_main_context_push_thread_default (f->context);
  charta_server_listen (f->server, "127.0.0.1:0", &error);
  g_main_context_pop_thread_default (f->context);
  g_assert_no_error (error);
  f->base = charta_server_dup_base_url (f->server);
  f->thread = g_thread_new ("server", run_server, f);
  f->session = soup_session_new ();
  soup_session_set_timeout (f->session, 60);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->session);
  g_main_context_invoke (f->context, stop_server, f);
  g_thread_join (f->thread);
  g_clear_object (&f->server);
  g_main_loop_unref (f->loop);
  g_main_context_unref (f->context);
  g_free (f->base);
  charta_test_store_tear_down (&f->st, NULL);
}

/* ---- HTTP helpers ------------------------------------------------------------------------- */

/* @method [base]/@path (or an absolute URL) with the FHIR JSON @body (NULL: none); the body
 * of the answer parsed (NULL when empty) and its status in *status. */
static JsonNode *
fetch (Fixture    *f,
       const char *method,
       const char *path,
       const char *body,
       unsigned   *status)
{
  g_autofree char *url = g_str_has_prefix (path, "http:") ? g_strdup (path)
                         : g_strconcat (f->base, *path != '\0' ? "/" : "", path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize length;
  const char *data;

  g_assert_nonnull (msg);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, "application/fhir+json", bytes);
    }
  answer = soup_session_send_and_read (f->session, msg, NULL, &error);
  g_assert_no_error (error);
  *status = soup_message_get_status (msg);
  data = g_bytes_get_data (answer, &length);
  if (length > 0 && json_parser_load_from_data (parser, data, (gssize) length, NULL))
    return json_node_ref (json_parser_get_root (parser));
  return NULL;
}

/* A write that must answer @expected_status. */
static void
write_expecting (Fixture    *f,
                 const char *method,
                 const char *path,
                 const char *body,
                 unsigned    expected_status)
{
  unsigned status = 0;
  g_autoptr(JsonNode) answer = fetch (f, method, path, body, &status);

  if (status != expected_status)
    g_error ("%s %s answered %u, expected %u", method, path, status, expected_status);
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  if (object == NULL || !json_object_has_member (object, name))
    return NULL;
  return json_object_get_string_member (object, name);
}

static JsonObject *
member_object (JsonObject *object,
               const char *name)
{
  if (object == NULL || !json_object_has_member (object, name))
    return NULL;
  return json_object_get_object_member (object, name);
}

/* An observation @id (NULL: none) with the weight @kg: each value is new content. */
static char *
observation (const char *id,
             int         kg)
{
  g_autofree char *id_member = id != NULL ? g_strdup_printf ("\"id\":\"%s\",", id)
                                          : g_strdup ("");

  return g_strdup_printf ("{\"resourceType\":\"Observation\",%s\"status\":\"final\","
                          "\"code\":{\"text\":\"body weight\"},\"valueQuantity\":"
                          "{\"value\":%d,\"unit\":\"kg\"}}", id_member, kg);
}

/* ---- reading history Bundles ---------------------------------------------------------------- */

/* "Type/id/_history/n" of a history entry: from response.location (the CLI's), else fullUrl
 * (the server's) after the base, else request.url (a delete), and the etag's version. */
static char *
entry_version (JsonObject *entry,
               const char *base)
{
  JsonObject *request = member_object (entry, "request");
  JsonObject *response = member_object (entry, "response");
  const char *location = member_string (response, "location");
  const char *full_url = member_string (entry, "fullUrl");
  const char *etag = member_string (response, "etag");
  g_autofree char *type_id = NULL;

  g_assert_nonnull (etag);
  g_assert_true (g_str_has_prefix (etag, "W/\""));
  if (location != NULL)
    {
      const char *end = strstr (location, "/_history/");

      g_assert_nonnull (end);
      type_id = g_strndup (location, end - location);
    }
  else if (full_url != NULL)
    {
      g_assert_true (g_str_has_prefix (full_url, base));
      type_id = g_strdup (full_url + strlen (base) + 1);
    }
  else
    type_id = g_strdup (member_string (request, "url"));
  return g_strdup_printf ("%s/_history/%.*s", type_id, (int) strlen (etag + 3) - 1, etag + 3);
}

/* One entry as text: "Type/id/_history/n METHOD url STATUS" ("Observation/o1/_history/2 PUT
 * Observation/o1 200 OK"), or, for a Provenance, "Provenance>" and the version it targets. */
static char *
entry_label (JsonObject *entry,
             const char *base)
{
  JsonObject *resource = member_object (entry, "resource");
  JsonObject *request = member_object (entry, "request");
  JsonObject *response = member_object (entry, "response");
  g_autofree char *version = entry_version (entry, base);

  if (g_strcmp0 (member_string (resource, "resourceType"), "Provenance") == 0)
    {
      JsonArray *targets = json_object_get_array_member (resource, "target");

      return g_strdup_printf ("Provenance>%s", member_string (
                                json_array_get_object_element (targets, 0), "reference"));
    }
  return g_strdup_printf ("%s %s %s %s", version, member_string (request, "method"),
                          member_string (request, "url"), member_string (response, "status"));
}

/* The labels of @bundle's entries in order, those containing @only (NULL: all), joined with
 * ", ". */
static char *
bundle_labels (JsonNode   *bundle,
               const char *base,
               const char *only)
{
  JsonObject *root = json_node_get_object (bundle);
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  JsonArray *entries;

  g_assert_cmpstr (member_string (root, "resourceType"), ==, "Bundle");
  g_assert_cmpstr (member_string (root, "type"), ==, "history");
  entries = json_object_has_member (root, "entry")
            ? json_object_get_array_member (root, "entry") : NULL;
  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      char *label = entry_label (json_array_get_object_element (entries, i), base);

      if (only == NULL || strstr (label, only) != NULL)
        g_ptr_array_add (labels, label);
      else
        g_free (label);
    }
  g_ptr_array_add (labels, NULL);
  return g_strjoinv (", ", (char **) labels->pdata);
}

/* The url of the Bundle link @relation, NULL when absent. */
static const char *
bundle_link (JsonNode   *bundle,
             const char *relation)
{
  JsonObject *root = json_node_get_object (bundle);
  JsonArray *links = json_object_get_array_member (root, "link");

  for (unsigned i = 0; i < json_array_get_length (links); i++)
    {
      JsonObject *link = json_array_get_object_element (links, i);

      if (g_strcmp0 (member_string (link, "relation"), relation) == 0)
        return member_string (link, "url");
    }
  return NULL;
}

/* The labels of GET @path (only those containing @only), which must answer 200. */
static char *
history_labels (Fixture    *f,
                const char *path,
                const char *only)
{
  unsigned status = 0;
  g_autoptr(JsonNode) bundle = fetch (f, "GET", path, NULL, &status);

  if (status != 200)
    g_error ("GET %s answered %u", path, status);
  return bundle_labels (bundle, f->base, only);
}

/* Asserts that GET @path lists exactly @expected (labels containing @only, in order). */
#define assert_history(f, path, only, expected) \
  G_STMT_START { \
    g_autofree char *labels_ = history_labels ((f), (path), (only)); \
    g_test_message ("GET %s: %s", (path), labels_); \
    g_assert_cmpstr (labels_, ==, (expected)); \
  } G_STMT_END

/* ---- times ---------------------------------------------------------------------------------- */

/* Sleeps until 50 ms past the start of the next second (µs since the epoch, UTC). */
static void
sleep_into_next_second (void)
{
  int64_t now = g_get_real_time ();

  g_usleep (G_USEC_PER_SEC - now % G_USEC_PER_SEC + 50000);
}

/* An instant (µs) as FHIR text at a precision: "%Y-%m-%d" a day, "%Y-%m-%dT%H:%M:%SZ" a
 * second, "%Y-%m-%dT%H:%M:%S.%fZ" a microsecond. */
static char *
format_us (int64_t     us,
           const char *format)
{
  g_autoptr(GDateTime) whole = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);
  g_autoptr(GDateTime) exact = g_date_time_add (whole, us % G_USEC_PER_SEC);

  return g_date_time_format (exact, format);
}

static int64_t
parse_us (const char *text)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601 (text, NULL);

  g_assert_nonnull (dt);
  return g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
}

/* ---- _at ------------------------------------------------------------------------------------ */

/* Which of the seconds S0, S1, S2 the version @label ("Observation/o1-a0/_history/2 …" or
 * "Provenance>Observation/…/_history/2") was written in, by the layout of test_at(); a
 * Provenance is written with the version it targets. */
static int
intended_second (const char *label)
{
  const char *version = strstr (label, "/_history/");

  g_assert_nonnull (version);
  version += strlen ("/_history/");
  if (strstr (label, "Observation/o2-") != NULL)
    return 0;
  if (strstr (label, "Observation/o3-") != NULL)
    return 2;
  switch (version[0])
    {
    case '1':
      return 0;
    case '2':
    case '3':
      return 1;
    default:
      return 2;
    }
}

/* Writes the layout of test_at() with ids ending in @suffix; returns the start of S0 (µs),
 * or -1 when a write did not land in its second (or S2 is on another day than S0). */
static int64_t
write_layout (Fixture    *f,
              const char *suffix)
{
  g_autofree char *o1 = g_strdup_printf ("Observation/o1%s", suffix);
  g_autofree char *o2 = g_strdup_printf ("Observation/o2%s", suffix);
  g_autofree char *o3 = g_strdup_printf ("Observation/o3%s", suffix);
  g_autofree char *o1_v1 = observation (o1 + strlen ("Observation/"), 70);
  g_autofree char *o1_v2 = observation (o1 + strlen ("Observation/"), 71);
  g_autofree char *o1_v4 = observation (o1 + strlen ("Observation/"), 72);
  g_autofree char *o2_v1 = observation (o2 + strlen ("Observation/"), 80);
  g_autofree char *o3_v1 = observation (o3 + strlen ("Observation/"), 90);
  g_autoptr(JsonNode) system = NULL;
  JsonArray *entries;
  unsigned status = 0, n_checked = 0;
  int64_t s0 = -1;
  g_autofree char *day0 = NULL;

  sleep_into_next_second ();                     /* S0 */
  write_expecting (f, "PUT", o2, o2_v1, 201);
  write_expecting (f, "PUT", o1, o1_v1, 201);
  sleep_into_next_second ();                     /* S1 */
  write_expecting (f, "PUT", o1, o1_v2, 200);
  write_expecting (f, "DELETE", o1, NULL, 200);
  sleep_into_next_second ();                     /* S2 */
  write_expecting (f, "PUT", o1, o1_v4, 201);
  write_expecting (f, "PUT", o3, o3_v1, 201);

  /* Where each version and its Provenance landed, as the server says (lastModified). */
  system = fetch (f, "GET", "_history?_count=1000", NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  entries = json_object_get_array_member (json_node_get_object (system), "entry");
  for (unsigned pass = 0; pass < 2; pass++)
    for (unsigned i = 0; i < json_array_get_length (entries); i++)
      {
        JsonObject *entry = json_array_get_object_element (entries, i);
        g_autofree char *label = entry_label (entry, f->base);
        int64_t us = parse_us (member_string (member_object (entry, "response"),
                                              "lastModified"));
        int64_t second = us / G_USEC_PER_SEC;
        int intended;

        if (strstr (label, suffix) == NULL)
          continue;
        intended = intended_second (label);
        /* the first pass finds S0 from o1's version 1, the second checks every write */
        if (pass == 0)
          {
            if (g_str_has_prefix (label, o1) && strstr (label, "/_history/1 ") != NULL)
              s0 = second * G_USEC_PER_SEC;
            continue;
          }
        g_assert_cmpint (s0, >, 0);
        n_checked++;
        if (second != s0 / G_USEC_PER_SEC + intended)
          {
            g_test_message ("%s landed at %s, not in S%d: trying again", label,
                            member_string (member_object (entry, "response"), "lastModified"),
                            intended);
            return -1;
          }
      }
  /* six versions and their six Provenance */
  g_assert_cmpuint (n_checked, ==, 12);
  day0 = format_us (s0, "%Y-%m-%d");
  {
    g_autofree char *day2 = format_us (s0 + 2 * G_USEC_PER_SEC, "%Y-%m-%d");

    if (strcmp (day0, day2) != 0)
      return -1;
  }
  return s0;
}

/* The layout, seconds S0 < S1 < S2 one after the other, each write in the second named:
 *
 *   S0: PUT o2 (o2 v1), PUT o1 (o1 v1)
 *   S1: PUT o1 (o1 v2), DELETE o1 (o1 v3)
 *   S2: PUT o1 (o1 v4, re-created), PUT o3 (o3 v1)
 *
 * and each write's Provenance just after it, in the same second.  A version is current from
 * its lastUpdated until the next version's, so by hand:
 *
 *   _at=S0   o1: v1                  (v2 was made after S0)
 *   _at=S1   o1: v3, v2, v1          (v1 current until v2, inside S1; the delete from inside S1)
 *   _at=S2   o1: v4, v3              (the deletion current until v4, inside S2; v1, v2
 *                                     superseded before S2 began)
 *   _at=day  o1: v4, v3, v2, v1
 *   _at=t(v2) to the microsecond: v2 alone
 *   type Observation: o2 v1 in every range (never superseded), o3 v1 only from S2.
 */
static void
test_at (Fixture       *f,
         gconstpointer  data)
{
  g_autofree char *suffix = NULL;
  g_autofree char *o1 = NULL;
  int64_t s0 = -1;

  for (unsigned attempt = 0; attempt < 3 && s0 < 0; attempt++)
    {
      g_free (suffix);
      suffix = g_strdup_printf ("-a%u", attempt);
      s0 = write_layout (f, suffix);
    }
  if (s0 < 0)
    {
      g_test_fail_printf ("three tries could not place the writes in the seconds meant");
      return;
    }
  o1 = g_strdup_printf ("Observation/o1%s", suffix);

  {
    g_autofree char *sec0 = format_us (s0, "%Y-%m-%dT%H:%M:%SZ");
    g_autofree char *sec1 = format_us (s0 + G_USEC_PER_SEC, "%Y-%m-%dT%H:%M:%SZ");
    g_autofree char *sec2 = format_us (s0 + 2 * G_USEC_PER_SEC, "%Y-%m-%dT%H:%M:%SZ");
    g_autofree char *day = format_us (s0, "%Y-%m-%d");
    g_autofree char *v1 = g_strdup_printf ("%s/_history/1 PUT %s 201 Created", o1, o1);
    g_autofree char *v2 = g_strdup_printf ("%s/_history/2 PUT %s 200 OK", o1, o1);
    g_autofree char *v3 = g_strdup_printf ("%s/_history/3 DELETE %s 204 No Content", o1, o1);
    g_autofree char *v4 = g_strdup_printf ("%s/_history/4 PUT %s 201 Created", o1, o1);
    g_autofree char *o2 = g_strdup_printf ("Observation/o2%s/_history/1 PUT Observation/o2%s "
                                           "201 Created", suffix, suffix);
    g_autofree char *o3 = g_strdup_printf ("Observation/o3%s/_history/1 PUT Observation/o3%s "
                                           "201 Created", suffix, suffix);
    g_autofree char *t_v2 = NULL;
    g_autofree char *t_v3 = NULL;
    g_autofree char *path = NULL;
    g_autofree char *want = NULL;

    /* the microseconds of v2 and v3, from the instance history */
    {
      unsigned status = 0;
      g_autofree char *all = g_strdup_printf ("%s/_history", o1);
      g_autoptr(JsonNode) bundle = fetch (f, "GET", all, NULL, &status);
      JsonArray *entries = json_object_get_array_member (json_node_get_object (bundle), "entry");

      g_assert_cmpuint (json_array_get_length (entries), ==, 4);
      t_v3 = format_us (parse_us (member_string (member_object (
                          json_array_get_object_element (entries, 1), "response"),
                          "lastModified")), "%Y-%m-%dT%H:%M:%S.%fZ");
      t_v2 = format_us (parse_us (member_string (member_object (
                          json_array_get_object_element (entries, 2), "response"),
                          "lastModified")), "%Y-%m-%dT%H:%M:%S.%fZ");
    }

    /* instance level */
    path = g_strdup_printf ("%s/_history?_at=%s", o1, sec0);
    assert_history (f, path, NULL, v1);
    g_clear_pointer (&path, g_free);
    path = g_strdup_printf ("%s/_history?_at=%s", o1, sec1);
    want = g_strjoin (", ", v3, v2, v1, NULL);
    assert_history (f, path, NULL, want);
    g_clear_pointer (&path, g_free);
    g_clear_pointer (&want, g_free);
    path = g_strdup_printf ("%s/_history?_at=%s", o1, sec2);
    want = g_strjoin (", ", v4, v3, NULL);
    assert_history (f, path, NULL, want);
    g_clear_pointer (&path, g_free);
    g_clear_pointer (&want, g_free);
    path = g_strdup_printf ("%s/_history?_at=%s", o1, day);
    want = g_strjoin (", ", v4, v3, v2, v1, NULL);
    assert_history (f, path, NULL, want);
    g_clear_pointer (&path, g_free);
    g_clear_pointer (&want, g_free);
    path = g_strdup_printf ("%s/_history?_at=%s", o1, t_v2);
    assert_history (f, path, NULL, v2);
    g_clear_pointer (&path, g_free);

    /* with _since: both hold (v3 and later, current during S1 / that day) */
    path = g_strdup_printf ("%s/_history?_at=%s&_since=%s", o1, sec1, t_v2);
    want = g_strjoin (", ", v3, v2, NULL);
    assert_history (f, path, NULL, want);
    g_clear_pointer (&path, g_free);
    g_clear_pointer (&want, g_free);
    path = g_strdup_printf ("%s/_history?_since=%s&_at=%s", o1, t_v3, day);
    want = g_strjoin (", ", v4, v3, NULL);
    assert_history (f, path, NULL, want);
    g_clear_pointer (&path, g_free);
    g_clear_pointer (&want, g_free);

    /* type level (this try's resources only) */
    path = g_strdup_printf ("Observation/_history?_at=%s", sec0);
    want = g_strjoin (", ", v1, o2, NULL);
    assert_history (f, path, suffix, want);
    g_clear_pointer (&path, g_free);
    g_clear_pointer (&want, g_free);
    path = g_strdup_printf ("Observation/_history?_at=%s", sec1);
    want = g_strjoin (", ", v3, v2, v1, o2, NULL);
    assert_history (f, path, suffix, want);
    g_clear_pointer (&path, g_free);
    g_clear_pointer (&want, g_free);
    path = g_strdup_printf ("Observation/_history?_at=%s", sec2);
    want = g_strjoin (", ", o3, v4, v3, o2, NULL);
    assert_history (f, path, suffix, want);
    g_clear_pointer (&path, g_free);
    g_clear_pointer (&want, g_free);

    /* system level: the versions and the Provenance current during S1, newest first: those of
     * S1's writes and, never superseded, those of S0's; none of S2's */
    {
      g_autofree char *p_o2 = g_strdup_printf ("Provenance>Observation/o2%s/_history/1", suffix);
      g_autofree char *p_v1 = g_strdup_printf ("Provenance>%s/_history/1", o1);
      g_autofree char *p_v2 = g_strdup_printf ("Provenance>%s/_history/2", o1);
      g_autofree char *p_v3 = g_strdup_printf ("Provenance>%s/_history/3", o1);
      g_autofree char *paged = NULL;
      g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *next = NULL;
      unsigned n_pages = 0;

      path = g_strdup_printf ("_history?_at=%s&_count=1000", sec1);
      want = g_strjoin (", ", p_v3, v3, p_v2, v2, p_v1, v1, p_o2, o2, NULL);
      assert_history (f, path, suffix, want);
      g_clear_pointer (&path, g_free);

      /* the same in pages of three, with writes between pages (made now, after S1: they
       * change nothing of S1) */
      next = g_strdup_printf ("_history?_at=%s&_count=3", sec1);
      while (next != NULL)
        {
          unsigned status = 0;
          g_autoptr(JsonNode) page = fetch (f, "GET", next, NULL, &status);
          g_autofree char *body = observation (NULL, 60 + n_pages);
          const char *link;

          g_assert_cmpuint (status, ==, 200);
          g_ptr_array_add (pages, bundle_labels (page, f->base, suffix));
          if (((char *) pages->pdata[pages->len - 1])[0] == '\0')
            g_ptr_array_remove_index (pages, pages->len - 1);
          link = bundle_link (page, "next");
          g_free (next);
          next = g_strdup (link);
          if (next != NULL)
            charta_test_assert_contains (next, "_at=");
          write_expecting (f, "POST", "Observation", body, 201);
          n_pages++;
          g_assert_cmpuint (n_pages, <, 1000);
        }
      g_ptr_array_add (pages, NULL);
      paged = g_strjoinv (", ", (char **) pages->pdata);
      g_assert_cmpstr (paged, ==, want);
      g_clear_pointer (&want, g_free);
    }

    /* `charta history --at` reads the same store the same way */
    {
      g_auto(ChartaTestRun) r = { 0 };
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      g_autofree char *labels = NULL;

      charta_test_run_charta (&r, "history", "--json", "--compact", "--at", sec1,
                              f->st.store_path, o1, NULL);
      g_assert_cmpint (r.status, ==, 0);
      json_parser_load_from_data (parser, r.out, -1, &error);
      g_assert_no_error (error);
      labels = bundle_labels (json_parser_get_root (parser), f->base, NULL);
      want = g_strjoin (", ", v3, v2, v1, NULL);
      g_assert_cmpstr (labels, ==, want);
      g_clear_pointer (&want, g_free);
    }
    {
      g_auto(ChartaTestRun) r = { 0 };

      /* the day: the four versions, one line each, newest first */
      charta_test_run_charta (&r, "history", "--at", day, f->st.store_path, o1, NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_cmpuint (charta_test_count_lines (r.out), ==, 4);
      g_assert_true (g_str_has_prefix (r.out, "v4  "));
    }
    {
      g_auto(ChartaTestRun) r = { 0 };

      charta_test_run_charta (&r, "history", "--at", sec0, f->st.store_path, o1, NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_cmpuint (charta_test_count_lines (r.out), ==, 1);
      g_assert_true (g_str_has_prefix (r.out, "v1  "));
    }
    {
      g_auto(ChartaTestRun) r = { 0 };

      charta_test_run_charta (&r, "history", "--at", "yesterday", f->st.store_path, o1, NULL);
      g_assert_cmpint (r.status, ==, 2);
      charta_test_assert_contains (r.err, "--at");
    }

    /* paging at instance level: v3, v2 | v1, with a new version written in between (made
     * after S1: not listed, and it changes nothing of the versions current during S1) */
    {
      unsigned status = 0;
      g_autofree char *first = g_strdup_printf ("%s/_history?_at=%s&_count=2", o1, sec1);
      g_autoptr(JsonNode) page1 = fetch (f, "GET", first, NULL, &status);
      g_autoptr(JsonNode) page2 = NULL;
      g_autofree char *labels1 = NULL;
      g_autofree char *labels2 = NULL;
      g_autofree char *o1_v5 = observation (o1 + strlen ("Observation/"), 73);

      g_assert_cmpuint (status, ==, 200);
      labels1 = bundle_labels (page1, f->base, NULL);
      want = g_strjoin (", ", v3, v2, NULL);
      g_assert_cmpstr (labels1, ==, want);
      g_assert_nonnull (bundle_link (page1, "next"));
      charta_test_assert_contains (bundle_link (page1, "next"), "_count=2");
      write_expecting (f, "PUT", o1, o1_v5, 200);
      page2 = fetch (f, "GET", bundle_link (page1, "next"), NULL, &status);
      g_assert_cmpuint (status, ==, 200);
      labels2 = bundle_labels (page2, f->base, NULL);
      g_assert_cmpstr (labels2, ==, v1);
      g_assert_null (bundle_link (page2, "next"));
    }
  }
}

/* ---- request ------------------------------------------------------------------------------- */

/* Each version's request is the write that made it: POST Type when the server chose the id,
 * PUT Type/id when the client named it (an update, or an update that created or re-created
 * the resource: its response is then 201 Created), DELETE Type/id; in a transaction too.  The
 * history of `charta history --json` says the same. */
static void
test_request (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *p1_v1 = observation ("p1", 70);
  g_autofree char *p1_v2 = observation ("p1", 71);
  g_autofree char *p1_v4 = observation ("p1", 72);
  g_autofree char *posted = observation (NULL, 80);
  g_autoptr(JsonNode) created = NULL;
  g_autofree char *x = NULL;
  g_autofree char *x_path = NULL;
  g_autofree char *x_v2 = NULL;
  unsigned status = 0;

  created = fetch (f, "POST", "Observation", posted, &status);
  g_assert_cmpuint (status, ==, 201);
  x = g_strdup (member_string (json_node_get_object (created), "id"));
  g_assert_nonnull (x);
  x_path = g_strdup_printf ("Observation/%s", x);
  write_expecting (f, "PUT", "Observation/p1", p1_v1, 201);
  write_expecting (f, "PUT", "Observation/p1", p1_v2, 200);
  write_expecting (f, "DELETE", "Observation/p1", NULL, 200);
  write_expecting (f, "PUT", "Observation/p1", p1_v4, 201);
  x_v2 = observation (x, 81);
  write_expecting (f, "PUT", x_path, x_v2, 200);
  write_expecting (f, "POST", "",
                   "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
                   "{\"fullUrl\":\"urn:uuid:6f1c0b5e-1d3a-4c1e-9a53-0d6c7c1b2a10\","
                   "\"resource\":{\"resourceType\":\"Patient\",\"active\":true},"
                   "\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}},"
                   "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"tp\",\"active\":false},"
                   "\"request\":{\"method\":\"PUT\",\"url\":\"Patient/tp\"}}]}", 200);

  assert_history (f, "Observation/p1/_history", NULL,
                  "Observation/p1/_history/4 PUT Observation/p1 201 Created, "
                  "Observation/p1/_history/3 DELETE Observation/p1 204 No Content, "
                  "Observation/p1/_history/2 PUT Observation/p1 200 OK, "
                  "Observation/p1/_history/1 PUT Observation/p1 201 Created");
  {
    g_autofree char *path = g_strdup_printf ("%s/_history", x_path);
    g_autofree char *want = g_strdup_printf ("%s/_history/2 PUT %s 200 OK, "
                                             "%s/_history/1 POST Observation 201 Created",
                                             x_path, x_path, x_path);

    assert_history (f, path, NULL, want);
  }
  {
    /* the transaction's Patient: the one POSTed got a server id, written first */
    g_autofree char *labels = history_labels (f, "Patient/_history", NULL);
    g_auto(GStrv) parts = g_strsplit (labels, ", ", -1);

    g_assert_cmpuint (g_strv_length (parts), ==, 2);
    g_assert_cmpstr (parts[0], ==, "Patient/tp/_history/1 PUT Patient/tp 201 Created");
    g_assert_true (g_str_has_prefix (parts[1], "Patient/"));
    g_assert_true (g_str_has_suffix (parts[1], "/_history/1 POST Patient 201 Created"));
  }
  {
    /* the Provenance the store made: created with ids it chose, so POST */
    g_autofree char *labels = NULL;
    unsigned st = 0;
    g_autoptr(JsonNode) bundle = fetch (f, "GET", "Provenance/_history", NULL, &st);
    JsonArray *entries = json_object_get_array_member (json_node_get_object (bundle), "entry");

    g_assert_cmpuint (st, ==, 200);
    /* one per write: POST, 4 × p1, PUT x, and one for the transaction's two versions */
    g_assert_cmpuint (json_array_get_length (entries), ==, 7);
    for (unsigned i = 0; i < json_array_get_length (entries); i++)
      {
        JsonObject *request = member_object (json_array_get_object_element (entries, i),
                                             "request");

        g_assert_cmpstr (member_string (request, "method"), ==, "POST");
        g_assert_cmpstr (member_string (request, "url"), ==, "Provenance");
      }
  }

  /* the CLI's history Bundle */
  {
    g_auto(ChartaTestRun) r = { 0 };
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_autoptr(GError) error = NULL;
    g_autoptr(ChartaResource) bundle = NULL;
    g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
    g_autofree char *labels = NULL;

    charta_test_run_charta (&r, "history", "--json", "--compact", f->st.store_path,
                            "Observation/p1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    json_parser_load_from_data (parser, r.out, -1, &error);
    g_assert_no_error (error);
    labels = bundle_labels (json_parser_get_root (parser), f->base, NULL);
    g_assert_cmpstr (labels, ==,
                     "Observation/p1/_history/4 PUT Observation/p1 201 Created, "
                     "Observation/p1/_history/3 DELETE Observation/p1 204 No Content, "
                     "Observation/p1/_history/2 PUT Observation/p1 200 OK, "
                     "Observation/p1/_history/1 PUT Observation/p1 201 Created");
    bundle = charta_resource_new_from_data (r.out, strlen (r.out), NULL, &error);
    g_assert_no_error (error);
    g_assert_true (charta_validate_resource (bundle, outcome));
  }
  {
    g_auto(ChartaTestRun) r = { 0 };
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_autoptr(GError) error = NULL;
    g_autofree char *labels = NULL;
    g_autofree char *want = g_strdup_printf ("%s/_history/2 PUT %s 200 OK, "
                                             "%s/_history/1 POST Observation 201 Created",
                                             x_path, x_path, x_path);

    charta_test_run_charta (&r, "history", "--json", "--compact", f->st.store_path, x_path,
                            NULL);
    g_assert_cmpint (r.status, ==, 0);
    json_parser_load_from_data (parser, r.out, -1, &error);
    g_assert_no_error (error);
    labels = bundle_labels (json_parser_get_root (parser), f->base, NULL);
    g_assert_cmpstr (labels, ==, want);
  }

  /* the server's history Bundle is a valid R4 Bundle */
  {
    unsigned st = 0;
    g_autoptr(JsonNode) bundle = fetch (f, "GET", "_history", NULL, &st);
    g_autofree char *json = json_to_string (bundle, FALSE);
    g_autoptr(GError) error = NULL;
    g_autoptr(ChartaResource) resource = charta_resource_new_from_data (json, strlen (json),
                                                                        NULL, &error);
    g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();

    g_assert_cmpuint (st, ==, 200);
    g_assert_no_error (error);
    g_assert_true (charta_validate_resource (resource, outcome));
  }
}

/* A PATCH, alone or in a transaction, is listed as the PATCH it was (http.html#history: the
 * request that made each version), by the server and by `charta history`; `charta check`
 * holds it to being an update. */
static void
test_patch_request (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *v1 = observation ("pp", 60);
  g_autofree char *url = g_strconcat (f->base, "/Observation/pp", NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("PATCH", url);
  g_autoptr(GBytes) patch = NULL;
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
  static const char replace_status[] = "[{\"op\":\"replace\",\"path\":\"/status\","
                                       "\"value\":\"amended\"}]";
  g_autofree char *in_bundle = NULL;
  g_autofree char *transaction = NULL;
  static const char want[] =
    "Observation/pp/_history/3 PATCH Observation/pp 200 OK, "
    "Observation/pp/_history/2 PATCH Observation/pp 200 OK, "
    "Observation/pp/_history/1 PUT Observation/pp 201 Created";

  write_expecting (f, "PUT", "Observation/pp", v1, 201);
  patch = g_bytes_new_static (replace_status, strlen (replace_status));
  soup_message_set_request_body_from_bytes (msg, "application/json-patch+json", patch);
  answer = soup_session_send_and_read (f->session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);

  /* in a transaction: the JSON Patch as a Binary (http.html#transaction) */
  {
    static const char correct_status[] = "[{\"op\":\"replace\",\"path\":\"/status\","
                                         "\"value\":\"corrected\"}]";

    in_bundle = g_base64_encode ((const guchar *) correct_status, strlen (correct_status));
  }
  transaction = g_strdup_printf (
    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"resource\":"
    "{\"resourceType\":\"Binary\",\"contentType\":\"application/json-patch+json\","
    "\"data\":\"%s\"},\"request\":{\"method\":\"PATCH\",\"url\":\"Observation/pp\"}}]}",
    in_bundle);
  write_expecting (f, "POST", "", transaction, 200);

  assert_history (f, "Observation/pp/_history", NULL, want);
  {
    g_auto(ChartaTestRun) r = { 0 };
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_autofree char *labels = NULL;

    charta_test_run_charta (&r, "history", "--json", "--compact", f->st.store_path,
                            "Observation/pp", NULL);
    g_assert_cmpint (r.status, ==, 0);
    json_parser_load_from_data (parser, r.out, -1, &error);
    g_assert_no_error (error);
    labels = bundle_labels (json_parser_get_root (parser), f->base, NULL);
    g_assert_cmpstr (labels, ==, want);
  }
  g_assert_true (charta_store_check (f->st.store, outcome, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (charta_outcome_get_n_issues (outcome), ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/charta/backend/serve-history/" path, Fixture, NULL, fixture_set_up, func, \
              fixture_tear_down)

  ADD ("at", test_at);
  ADD ("request", test_request);
  ADD ("patch-request", test_patch_request);

#undef ADD

  return g_test_run ();
}
