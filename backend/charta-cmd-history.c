/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-cmd-history.c: `charta history [OPTION…] STORE [Type[/id]]`.
 *
 * Lists versions newest first: of one resource (Type/id), of a type (Type), or of the whole
 * store (no argument).  One line per version:
 *
 *   [Type/id  ]vN  LASTUPDATED  METHOD  agent "…"  activity CODE  reason "…"
 *
 * where agent, activity and reason come from the Provenance that targets that exact version
 * (charta_store_list_provenance()); a version without Provenance says so (Provenance and
 * AuditEvent versions have none by design).  --at DATE lists, as FHIR's _at, the versions
 * that were current at some instant of DATE's range by its precision (a day, a second, a
 * microsecond…), deletions included.  With --json a FHIR history Bundle is printed
 * instead (type "history", each entry with its resource, request and response), indented on a
 * terminal; the compact form is streamed entry by entry, the indented one is built whole and
 * written as canonical JSON.
 *
 * Exit status: 0 listed; 1 when the resource is unknown or the store cannot be read; 2 for a
 * usage error.
 */
#define G_LOG_DOMAIN "charta-cmd-history"

#include <stdio.h>
#include <string.h>

#include "charta-cmd-util.h"
#include "charta-cmds.h"
#include "charta-datetime-private.h"

#define PAGE_SIZE 200

typedef struct
{
  ChartaStore *store;
  gboolean json;
  gboolean pretty;
  gboolean by_resource;   /* one resource: no Type/id column */
  GString *out;           /* --json --pretty: the whole Bundle; else NULL */
  unsigned n_printed;
} Listing;

static const char *
method_name (ChartaMethod method)
{
  switch (method)
    {
    case CHARTA_METHOD_CREATE:
      return "create";
    case CHARTA_METHOD_UPDATE:
      return "update";
    case CHARTA_METHOD_DELETE:
      return "delete";
    default:
      return "?";
    }
}

static const char *
object_get_string (JsonObject *object,
                   const char *member)
{
  JsonNode *node;

  if (object == NULL || !json_object_has_member (object, member))
    return NULL;
  node = json_object_get_member (object, member);
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static JsonObject *
object_get_object (JsonObject *object,
                   const char *member)
{
  JsonNode *node;

  if (object == NULL || !json_object_has_member (object, member))
    return NULL;
  node = json_object_get_member (object, member);
  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* The first object of the array @member, or NULL. */
static JsonObject *
object_get_first (JsonObject *object,
                  const char *member)
{
  JsonNode *node;
  JsonArray *array;

  if (object == NULL || !json_object_has_member (object, member))
    return NULL;
  node = json_object_get_member (object, member);
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  array = json_node_get_array (node);
  if (json_array_get_length (array) == 0)
    return NULL;
  node = json_array_get_element (array, 0);
  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* A CodeableConcept as text: its text, else its first coding's display or code. */
static const char *
concept_text (JsonObject *concept)
{
  JsonObject *coding = object_get_first (concept, "coding");
  const char *s = object_get_string (concept, "text");

  if (s == NULL)
    s = object_get_string (coding, "code");
  if (s == NULL)
    s = object_get_string (coding, "display");
  return s;
}

/* Appends the who/why of @provenance: agent "…"  activity …  reason "…". */
static void
append_provenance (GString        *line,
                   ChartaResource *provenance)
{
  JsonObject *root = charta_resource_get_object (provenance);
  JsonObject *agent = object_get_first (root, "agent");
  JsonObject *who = object_get_object (agent, "who");
  const char *display = object_get_string (who, "display");
  const char *reference = object_get_string (who, "reference");
  JsonObject *activity = object_get_object (root, "activity");
  JsonObject *activity_coding = object_get_first (activity, "coding");
  const char *activity_code = object_get_string (activity_coding, "code");
  const char *reason = concept_text (object_get_first (root, "reason"));

  if (activity_code == NULL)
    activity_code = concept_text (activity);

  g_string_append (line, "  agent ");
  if (display != NULL && reference != NULL)
    g_string_append_printf (line, "\"%s\" (%s)", display, reference);
  else if (display != NULL)
    g_string_append_printf (line, "\"%s\"", display);
  else if (reference != NULL)
    g_string_append (line, reference);
  else
    g_string_append_c (line, '-');
  g_string_append_printf (line, "  activity %s", activity_code != NULL ? activity_code : "-");
  if (reason != NULL)
    g_string_append_printf (line, "  reason \"%s\"", reason);
}

static gboolean
print_line (Listing            *listing,
            ChartaHistoryEntry *entry,
            GError            **error)
{
  g_autoptr(GString) line = g_string_new (NULL);
  g_autoptr(GPtrArray) provenance = NULL;
  g_autofree char *when = NULL;
  const char *last_updated = NULL;

  if (!listing->by_resource)
    g_string_append_printf (line, "%s/%s  ", entry->type, entry->id);
  if (entry->resource != NULL)
    last_updated = charta_resource_get_last_updated (entry->resource);
  if (last_updated == NULL)
    last_updated = when = charta_cmd_format_instant (entry->last_updated);
  g_string_append_printf (line, "v%" G_GINT64_FORMAT "  %s  %s", entry->version, last_updated,
                          method_name (entry->method));

  provenance = charta_store_list_provenance (listing->store, entry->type, entry->id,
                                             entry->version, error);
  if (provenance == NULL)
    return FALSE;
  if (provenance->len > 0)
    append_provenance (line, provenance->pdata[0]);
  else if (strcmp (entry->type, "Provenance") != 0 && strcmp (entry->type, "AuditEvent") != 0)
    g_string_append (line, "  (no provenance)");

  printf ("%s\n", line->str);
  return TRUE;
}

/* --at: the range of instants (µs, inclusive) @text covers at its precision, as the server's
 * _at ("2024-05-01" the whole day); no zone reads as UTC. */
static gboolean
parse_at_range (const char  *text,
                int64_t     *low,
                int64_t     *high,
                GError     **error)
{
  ChartaDateTime dt;

  if (charta_datetime_check (text, CHARTA_DATETIME_DATETIME, CHARTA_DATETIME_PARTIAL, &dt)
      != NULL || !dt.has_date)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--at: '%s' is not a date or an instant (e.g. 2024-05-01 or "
                   "2024-05-01T10:00:00Z)", text);
      return FALSE;
    }
  charta_datetime_range (&dt, low, high);
  return TRUE;
}

/* Appends one history Bundle entry (compact JSON) to @s. */
static void
append_json_entry (GString            *s,
                   ChartaHistoryEntry *entry)
{
  g_autofree char *when = charta_cmd_format_instant (entry->last_updated);
  const char *last_updated = NULL;

  g_string_append_c (s, '{');
  if (entry->resource != NULL)
    {
      g_autofree char *json = charta_resource_to_json (entry->resource, FALSE, NULL);

      g_string_append_printf (s, "\"resource\":%s,", json);
      last_updated = charta_resource_get_last_updated (entry->resource);
    }
  if (last_updated == NULL)
    last_updated = when;
  /* types and ids are checked FHIR names: nothing in them needs escaping */
  /* the request as asked (a PUT that created the resource is a PUT), the response as done */
  if (strcmp (charta_history_entry_get_http_method (entry), "POST") == 0)
    g_string_append_printf (s, "\"request\":{\"method\":\"POST\",\"url\":\"%s\"},",
                            entry->type);
  else
    g_string_append_printf (s, "\"request\":{\"method\":\"%s\",\"url\":\"%s/%s\"},",
                            charta_history_entry_get_http_method (entry), entry->type,
                            entry->id);
  if (entry->method == CHARTA_METHOD_DELETE)
    g_string_append (s, "\"response\":{\"status\":\"204 No Content\",");
  else
    {
      g_string_append_printf (s, "\"response\":{\"status\":\"%s\","
                              "\"location\":\"%s/%s/_history/%" G_GINT64_FORMAT "\",",
                              entry->method == CHARTA_METHOD_CREATE ? "201 Created" : "200 OK",
                              entry->type, entry->id, entry->version);
    }
  g_string_append_printf (s, "\"etag\":\"W/\\\"%" G_GINT64_FORMAT "\\\"\","
                          "\"lastModified\":\"%s\"}}", entry->version, last_updated);
}

static gboolean
list_entry (Listing            *listing,
            ChartaHistoryEntry *entry,
            GError            **error)
{
  if (!listing->json)
    {
      if (!print_line (listing, entry, error))
        return FALSE;
    }
  else if (listing->out != NULL)
    {
      g_string_append (listing->out, listing->n_printed > 0 ? "," : ",\"entry\":[");
      append_json_entry (listing->out, entry);
    }
  else
    {
      g_autoptr(GString) s = g_string_new (listing->n_printed > 0 ? "," : ",\"entry\":[");

      append_json_entry (s, entry);
      fwrite (s->str, 1, s->len, stdout);
    }
  listing->n_printed++;
  return TRUE;
}

static void
print_pretty_bundle (GString *bundle)
{
  ChartaParseLimits limits = { .max_bytes = G_MAXSIZE };
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  g_autofree char *json = NULL;
  size_t length = 0;

  resource = charta_resource_new_from_data (bundle->str, bundle->len, &limits, &error);
  if (resource == NULL)
    {
      /* cannot happen for well-formed stored bodies; print what there is */
      g_warning ("history Bundle does not parse: %s", error->message);
      printf ("%s\n", bundle->str);
      return;
    }
  json = charta_resource_to_json (resource, TRUE, &length);
  fwrite (json, 1, length, stdout);
  fputc ('\n', stdout);
}

int
charta_cmd_history (int    argc,
                    char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaStore) store = NULL;
  g_auto(GStrv) args = NULL;
  g_autofree char *type = NULL;
  g_autofree char *id = NULL;
  g_autofree char *opt_since = NULL;
  g_autofree char *opt_at = NULL;
  g_autofree char *cursor = NULL;
  gboolean opt_json = FALSE, opt_pretty = FALSE, opt_compact = FALSE;
  int opt_limit = 0;
  int64_t version = 0;
  ChartaHistoryOptions options = { .count = PAGE_SIZE };
  Listing listing = { 0 };
  unsigned n_args;
  const GOptionEntry entries[] = {
    { "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "Print a FHIR history Bundle", NULL },
    { "pretty", 'p', 0, G_OPTION_ARG_NONE, &opt_pretty, "Indent the JSON (with --json)", NULL },
    { "compact", 'c', 0, G_OPTION_ARG_NONE, &opt_compact,
      "Print the JSON on one line (with --json)", NULL },
    { "since", 0, 0, G_OPTION_ARG_STRING, &opt_since,
      "Only versions made at or after DATE", "DATE" },
    { "at", 0, 0, G_OPTION_ARG_STRING, &opt_at,
      "Only versions that were current at some time of DATE (a day, a second…)", "DATE" },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &opt_limit, "At most N versions", "N" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL,
      "STORE [Type[/id]]" },
    { NULL },
  };

  g_set_prgname ("charta history");
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                "Lists versions newest first, each with who changed it, when, how "
                                "and why (from its\nProvenance): of one resource (Type/id), of a "
                                "type (Type) or of the whole store.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "charta history: %s\nTry 'charta history --help'.\n", error->message);
      return CHARTA_EXIT_USAGE;
    }
  n_args = args != NULL ? g_strv_length (args) : 0;
  if (n_args < 1 || n_args > 2)
    {
      fprintf (stderr, "charta history: expected STORE and optionally Type or Type/id\n"
                       "Usage: charta history [--json] STORE [Type[/id]]\n");
      return CHARTA_EXIT_USAGE;
    }
  if (opt_pretty && opt_compact)
    {
      fprintf (stderr, "charta history: --pretty and --compact exclude each other\n");
      return CHARTA_EXIT_USAGE;
    }
  if (opt_limit < 0)
    {
      fprintf (stderr, "charta history: --limit must not be negative\n");
      return CHARTA_EXIT_USAGE;
    }
  if ((opt_since != NULL && !charta_cmd_parse_instant (opt_since, &options.since, &error))
      || (opt_at != NULL && !parse_at_range (opt_at, &options.at, &options.at_high, &error)))
    {
      fprintf (stderr, "charta history: %s\n", error->message);
      return CHARTA_EXIT_USAGE;
    }
  if (n_args == 2)
    {
      if (!charta_cmd_parse_reference (args[1], TRUE, &type, &id, &version, &error))
        {
          fprintf (stderr, "charta history: %s\n", error->message);
          return CHARTA_EXIT_USAGE;
        }
      if (version > 0)
        {
          fprintf (stderr, "charta history: give Type/id without /_history/N "
                           "(charta get prints one version)\n");
          return CHARTA_EXIT_USAGE;
        }
    }

  store = charta_cmd_open_store (args[0], CHARTA_STORE_FLAGS_READ_ONLY, &error);
  if (store == NULL)
    {
      charta_cmd_print_error (args[0], error);
      return CHARTA_EXIT_INVALID;
    }

  listing.store = store;
  listing.json = opt_json;
  listing.pretty = opt_pretty || (!opt_compact && charta_cmd_stdout_is_tty ());
  listing.by_resource = id != NULL;
  if (opt_json)
    {
      /* "entry" opens with the first entry: FHIR allows no empty array */
      const char *head = "{\"resourceType\":\"Bundle\",\"type\":\"history\"";

      if (listing.pretty)
        listing.out = g_string_new (head);
      else
        fputs (head, stdout);
    }

  do
    {
      g_autoptr(GPtrArray) page = NULL;
      char *next = NULL;

      options.cursor = cursor;
      page = charta_store_history (store, type, id, &options, &next, &error);
      g_free (cursor);
      cursor = next;
      if (page == NULL)
        break;
      for (unsigned i = 0; i < page->len; i++)
        {
          if (opt_limit > 0 && listing.n_printed >= (unsigned) opt_limit)
            break;
          if (!list_entry (&listing, page->pdata[i], &error))
            break;
        }
      if (error != NULL || (opt_limit > 0 && listing.n_printed >= (unsigned) opt_limit))
        break;
    }
  while (cursor != NULL);

  if (opt_json)
    {
      if (listing.out != NULL)
        {
          g_string_append (listing.out, listing.n_printed > 0 ? "]}" : "}");
          if (error == NULL)
            print_pretty_bundle (listing.out);
          g_string_free (listing.out, TRUE);
        }
      else
        fputs (listing.n_printed > 0 ? "]}\n" : "}\n", stdout);
    }
  fflush (stdout);

  if (error != NULL)
    {
      if (g_error_matches (error, CHARTA_STORE_ERROR, CHARTA_STORE_ERROR_NOT_FOUND) && id != NULL)
        fprintf (stderr, "%s/%s: not found\n", type, id);
      else
        charta_cmd_print_error (args[0], error);
      return CHARTA_EXIT_INVALID;
    }
  if (id != NULL && listing.n_printed == 0 && opt_since == NULL && opt_at == NULL)
    {
      fprintf (stderr, "%s/%s: not found\n", type, id);
      return CHARTA_EXIT_INVALID;
    }
  return CHARTA_EXIT_OK;
}
