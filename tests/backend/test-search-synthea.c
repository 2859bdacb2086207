/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test-search-synthea.c: FHIR search over the whole Synthea corpus, checked against answers
 * computed by hand.
 *
 * One store per process, made by the first case that needs it and shared by the others: every
 * bundle of CORPUS/synthea imported as one transaction (charta_store_transaction), the shared
 * hospital and practitioner bundles first, then the patients' in name order.  The same files are
 * read again with json-glib's own parser into a small model (patients, observations, conditions,
 * encounters), whose references are mapped from the bundles' urn:uuid fullUrls to the store's
 * Type/id through the transactions' results (one ChartaOperationResult per entry, in order).
 * Each search's expected set of ids is computed from that model by plain C: neither the search
 * code nor the search index is used for it.
 *
 * Dates follow search.html of R4 ("prefixes") on ranges.  A value covers [lo, hi], in µs since
 * the epoch, UTC: a dateTime with seconds precision the second it names ([t, t + 999,999 µs]),
 * a date its whole year, month or day, a Period [start's lo, end's hi].  A parameter's value
 * covers [pl, ph] in the same way (a date without a zone is read in UTC, as the store does).
 * Then:
 *   eq  pl <= lo and hi <= ph              the parameter's range contains the value's
 *   ge  hi > ph, or (pl <= lo and hi <= ph) the range above the parameter overlaps the value's,
 *                                           or the parameter's range contains it
 *   lt  lo < pl                            the range below the parameter overlaps the value's
 * The looser reading "ge: the value's range overlaps [pl, ∞)" (hi >= pl) is computed beside it
 * and the number of values on which the two differ is logged: none in these data, whose
 * instants are whole seconds and parameters whole days or years.
 * Strings match on a prefix, ignoring case and accents: both sides case-folded, decomposed
 * (NFKD) and stripped of combining marks.  A token without a system matches any system.
 *
 * Every search is followed through all its pages (the next_cursor set on a fresh parse of the
 * same query string) with _total=accurate: the union of the pages must be the expected set, no
 * id may come twice, and each page's total must be the set's size.  A mismatch logs what differs
 * (ids only) and fails the case with g_test_fail_printf(), so that the other cases still run.
 *
 * Besides the sets: chains of two and three links, _count=0 (no entries, and a total that is
 * left out or right), and the time of ordinary queries that no index narrows (each under 1 s:
 * a condition, a :text, a _sort over every Observation, wildcard includes).  The hostile case
 * runs 10,000 generated queries (fixed seed: query #i is always the same text) that must each
 * parse or fail with a message, then give a result or an error with a message, within 1 s,
 * leaving the store as it was.  The cursor case writes to the store, so it comes last.
 */
#define G_LOG_DOMAIN "charta-test-search-synthea"

#include <stdio.h>
#include <string.h>

#include "charta-test-store-util.h"

#define N_HOSTILE       10000
#define HOSTILE_MAX_US  G_USEC_PER_SEC
#define MAX_PAGES       100000

/* ---- the model --------------------------------------------------------------------------- */

/* An Observation, Condition, Encounter or DiagnosticReport as the bundle has it, references
 * mapped to the store's. */
typedef struct
{
  char *ref;          /* "Observation/<store id>" */
  char *subject;      /* the subject's "Type/<store id>", NULL when it has none */
  GPtrArray *codes;   /* "system|code": Observation.code, Condition.clinicalStatus codings */
  char *status;       /* Observation.status */
  char *encounter;    /* Observation.encounter, as "Encounter/<store id>" */
  GPtrArray *results; /* DiagnosticReport.result, as "Observation/<store id>" */
  gboolean dated;
  int64_t lo, hi;     /* Observation.effectiveDateTime, Encounter.period (µs, UTC) */
} Item;

typedef struct
{
  char *ref;              /* "Patient/<store id>" */
  char *id;               /* the store id */
  GPtrArray *families;    /* folded family of every name */
  GPtrArray *name_parts;  /* folded family, given, prefix, suffix and text of every name */
  char *family;           /* the first name's family as written */
  char *birth_date;       /* as written */
  GPtrArray *identifiers; /* "system|value" */
  GPtrArray *written;     /* "Type/id" of every resource its bundle's transaction made */
  GPtrArray *observations;  /* Item * (borrowed) whose subject is this patient */
  GPtrArray *conditions;
  GPtrArray *encounters;
} Patient;

typedef struct
{
  char *dir;
  ChartaStore *store;
  GPtrArray *patients;        /* Patient *, in import order (the order of creation) */
  GHashTable *patient_by_ref; /* "Patient/id" → Patient * */
  GPtrArray *observations;    /* Item * */
  GPtrArray *conditions;
  GPtrArray *encounters;
  GPtrArray *reports;         /* DiagnosticReport items */
  GHashTable *item_by_ref;    /* "Type/id" → Item * */
  GHashTable *counts;         /* type → count of resources the bundles hold (int64_t *) */
  unsigned n_files;
  unsigned n_resources;
  double import_seconds;
} Synthea;

static Synthea *synthea;

static void
item_free (Item *item)
{
  g_free (item->ref);
  g_free (item->subject);
  g_ptr_array_unref (item->codes);
  g_free (item->status);
  g_free (item->encounter);
  g_ptr_array_unref (item->results);
  g_free (item);
}

static void
patient_free (Patient *p)
{
  g_free (p->ref);
  g_free (p->id);
  g_ptr_array_unref (p->families);
  g_ptr_array_unref (p->name_parts);
  g_free (p->family);
  g_free (p->birth_date);
  g_ptr_array_unref (p->identifiers);
  g_ptr_array_unref (p->written);
  g_ptr_array_unref (p->observations);
  g_ptr_array_unref (p->conditions);
  g_ptr_array_unref (p->encounters);
  g_free (p);
}

/* @text case-folded, decomposed and without combining marks: how a string search compares. */
static char *
fold (const char *text)
{
  g_autofree char *folded = g_utf8_casefold (text, -1);
  g_autofree char *decomposed = g_utf8_normalize (folded, -1, G_NORMALIZE_NFKD);
  GString *out;

  if (decomposed == NULL)   /* not UTF-8: never in the corpus */
    return g_steal_pointer (&folded);
  out = g_string_new (NULL);
  for (const char *p = decomposed; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!g_unichar_ismark (c))
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

static int64_t
unix_us (GDateTime *dt)
{
  return g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
}

/* The instants [*lo, *hi] a FHIR date ("2019", "2019-02", "2019-02-03") or dateTime with a
 * time and a zone covers, at the precision written; FALSE when @text is neither. */
static gboolean
date_range (const char *text,
            int64_t    *lo,
            int64_t    *hi)
{
  if (strchr (text, 'T') != NULL)
    {
      g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601 (text, NULL);
      const char *dot = strchr (text, '.');
      int64_t step = G_USEC_PER_SEC;

      if (dt == NULL)
        return FALSE;
      if (dot != NULL)
        for (const char *d = dot + 1; g_ascii_isdigit (*d) && step > 1; d++)
          step /= 10;
      *lo = unix_us (dt);
      *hi = *lo + step - 1;
      return TRUE;
    }
  else
    {
      int y = 0, m = 0, d = 0;
      int n = sscanf (text, "%4d-%2d-%2d", &y, &m, &d);
      g_autoptr(GDateTime) start = NULL;
      g_autoptr(GDateTime) end = NULL;

      if (n < 1)
        return FALSE;
      start = g_date_time_new_utc (y, n >= 2 ? m : 1, n >= 3 ? d : 1, 0, 0, 0);
      if (start == NULL)
        return FALSE;
      end = n == 1 ? g_date_time_add_years (start, 1)
                   : n == 2 ? g_date_time_add_months (start, 1) : g_date_time_add_days (start, 1);
      *lo = unix_us (start);
      *hi = unix_us (end) - 1;
      return TRUE;
    }
}

/* Whether a value covering [lo, hi] matches the date parameter @prefix[pl, ph] (see the top
 * of the file). */
static gboolean
date_matches (const char *prefix,
              int64_t     pl,
              int64_t     ph,
              int64_t     lo,
              int64_t     hi)
{
  if (strcmp (prefix, "eq") == 0)
    return pl <= lo && hi <= ph;
  if (strcmp (prefix, "ge") == 0)
    return hi > ph || (pl <= lo && hi <= ph);
  if (strcmp (prefix, "lt") == 0)
    return lo < pl;
  g_assert_not_reached ();
}

/* The looser reading: ge "overlaps [pl, ∞)", lt "overlaps (-∞, pl)". */
static gboolean
date_matches_loosely (const char *prefix,
                      int64_t     pl,
                      int64_t     lo,
                      int64_t     hi)
{
  if (strcmp (prefix, "ge") == 0)
    return hi >= pl;
  if (strcmp (prefix, "lt") == 0)
    return lo < pl;
  g_assert_not_reached ();
}

static JsonArray *
array_member (JsonObject *o,
              const char *name)
{
  JsonNode *node = json_object_get_member (o, name);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static JsonObject *
object_member (JsonObject *o,
               const char *name)
{
  JsonNode *node = json_object_get_member (o, name);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static const char *
string_member (JsonObject *o,
               const char *name)
{
  return o != NULL ? json_object_get_string_member_with_default (o, name, NULL) : NULL;
}

/* The store's Type/id of the resource @reference names (a urn:uuid of the bundle), or NULL. */
static char *
map_reference (GHashTable *urls,
               JsonObject *reference)
{
  const char *text = string_member (reference, "reference");

  if (text == NULL)
    return NULL;
  return g_strdup (g_hash_table_lookup (urls, text));
}

/* "system|code" of every coding of the CodeableConcept @concept, added to @codes. */
static void
add_codings (GPtrArray  *codes,
             JsonObject *concept)
{
  JsonArray *codings = concept != NULL ? array_member (concept, "coding") : NULL;

  for (unsigned i = 0; codings != NULL && i < json_array_get_length (codings); i++)
    {
      JsonObject *coding = json_array_get_object_element (codings, i);

      g_ptr_array_add (codes, g_strdup_printf ("%s|%s", string_member (coding, "system"),
                                               string_member (coding, "code")));
    }
}

static gboolean
item_has_code (const Item *item,
               const char *system,
               const char *code)
{
  for (unsigned i = 0; i < item->codes->len; i++)
    {
      const char *c = item->codes->pdata[i];
      const char *bar = strchr (c, '|');

      g_assert_nonnull (bar);
      if (strcmp (bar + 1, code) == 0
          && (system == NULL || (strlen (system) == (size_t) (bar - c)
                                 && strncmp (c, system, bar - c) == 0)))
        return TRUE;
    }
  return FALSE;
}

static Item *
model_item (GHashTable *urls,
            const char *ref,
            JsonObject *resource)
{
  const char *type = string_member (resource, "resourceType");
  Item *item = g_new0 (Item, 1);

  item->ref = g_strdup (ref);
  item->subject = map_reference (urls, object_member (resource, "subject"));
  item->codes = g_ptr_array_new_with_free_func (g_free);
  item->results = g_ptr_array_new_with_free_func (g_free);
  if (strcmp (type, "Observation") == 0)
    {
      const char *effective = string_member (resource, "effectiveDateTime");

      add_codings (item->codes, object_member (resource, "code"));
      item->status = g_strdup (string_member (resource, "status"));
      item->encounter = map_reference (urls, object_member (resource, "encounter"));
      if (effective != NULL)
        {
          item->dated = TRUE;
          g_assert_true (date_range (effective, &item->lo, &item->hi));
        }
    }
  else if (strcmp (type, "Condition") == 0)
    add_codings (item->codes, object_member (resource, "clinicalStatus"));
  else if (strcmp (type, "DiagnosticReport") == 0)
    {
      JsonArray *results = array_member (resource, "result");

      for (unsigned i = 0; results != NULL && i < json_array_get_length (results); i++)
        {
          char *target = map_reference (urls, json_array_get_object_element (results, i));

          g_assert_nonnull (target);
          g_ptr_array_add (item->results, target);
        }
    }
  else if (strcmp (type, "Encounter") == 0)
    {
      JsonObject *period = object_member (resource, "period");
      const char *start = string_member (period, "start");
      const char *end = string_member (period, "end");
      int64_t ignored;

      /* Synthea gives every encounter a start and an end */
      g_assert_nonnull (start);
      g_assert_nonnull (end);
      item->dated = TRUE;
      g_assert_true (date_range (start, &item->lo, &ignored));
      g_assert_true (date_range (end, &ignored, &item->hi));
    }
  return item;
}

static void
add_folded (GPtrArray  *to,
            const char *text)
{
  if (text != NULL)
    g_ptr_array_add (to, fold (text));
}

static void
add_folded_array (GPtrArray  *to,
                  JsonObject *o,
                  const char *name)
{
  JsonArray *a = array_member (o, name);

  for (unsigned i = 0; a != NULL && i < json_array_get_length (a); i++)
    add_folded (to, json_array_get_string_element (a, i));
}

static Patient *
model_patient (const char *ref,
               JsonObject *resource)
{
  Patient *p = g_new0 (Patient, 1);
  JsonArray *names = array_member (resource, "name");
  JsonArray *identifiers = array_member (resource, "identifier");

  p->ref = g_strdup (ref);
  p->id = g_strdup (strchr (ref, '/') + 1);
  p->families = g_ptr_array_new_with_free_func (g_free);
  p->name_parts = g_ptr_array_new_with_free_func (g_free);
  p->identifiers = g_ptr_array_new_with_free_func (g_free);
  p->written = g_ptr_array_new_with_free_func (g_free);
  p->observations = g_ptr_array_new ();
  p->conditions = g_ptr_array_new ();
  p->encounters = g_ptr_array_new ();
  p->birth_date = g_strdup (string_member (resource, "birthDate"));
  for (unsigned i = 0; names != NULL && i < json_array_get_length (names); i++)
    {
      JsonObject *name = json_array_get_object_element (names, i);

      if (i == 0)
        p->family = g_strdup (string_member (name, "family"));
      add_folded (p->families, string_member (name, "family"));
      add_folded (p->name_parts, string_member (name, "family"));
      add_folded (p->name_parts, string_member (name, "text"));
      add_folded_array (p->name_parts, name, "given");
      add_folded_array (p->name_parts, name, "prefix");
      add_folded_array (p->name_parts, name, "suffix");
    }
  for (unsigned i = 0; identifiers != NULL && i < json_array_get_length (identifiers); i++)
    {
      JsonObject *identifier = json_array_get_object_element (identifiers, i);

      g_ptr_array_add (p->identifiers,
                       g_strdup_printf ("%s|%s", string_member (identifier, "system"),
                                        string_member (identifier, "value")));
    }
  g_assert_nonnull (p->family);
  g_assert_nonnull (p->birth_date);
  return p;
}

static int
compare_files (gconstpointer a,
               gconstpointer b)
{
  const char *x = *(const char *const *) a;
  const char *y = *(const char *const *) b;
  gboolean x_patient = charta_test_is_synthea_patient (x);
  gboolean y_patient = charta_test_is_synthea_patient (y);

  /* the shared hospital and practitioner bundles first */
  if (x_patient != y_patient)
    return x_patient ? 1 : -1;
  return strcmp (x, y);
}

/* Imports one bundle file as a transaction and adds what it holds to the model. */
static void
import_file (Synthea    *s,
             const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  g_autoptr(ChartaResource) bundle = NULL;
  g_autoptr(GPtrArray) resources = g_ptr_array_new_with_free_func (
    (GDestroyNotify) charta_resource_unref);
  g_autoptr(GArray) ops = g_array_new (FALSE, TRUE, sizeof (ChartaOperation));
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GHashTable) urls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  JsonArray *entries;
  Patient *patient = NULL;
  gsize length = 0;
  int64_t start;

  g_assert_true (g_file_get_contents (path, &data, &length, &error));
  g_assert_no_error (error);

  /* the store's side: charta's reader, one CREATE per entry with its fullUrl */
  bundle = charta_resource_new_from_data (data, length, NULL, &error);
  g_assert_no_error (error);
  entries = json_object_get_array_member (charta_resource_get_object (bundle), "entry");
  for (unsigned i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);
      ChartaOperation op = { 0, };
      ChartaResource *resource;

      g_assert_true (json_object_has_member (entry, "resource"));
      resource = charta_resource_new_nested (bundle, json_object_get_member (entry, "resource"),
                                             &error);
      g_assert_no_error (error);
      g_ptr_array_add (resources, resource);
      op.method = CHARTA_METHOD_CREATE;
      op.resource = resource;
      op.full_url = json_object_get_string_member (entry, "fullUrl");
      g_array_append_val (ops, op);
    }
  start = g_get_monotonic_time ();
  results = charta_store_transaction (s->store, (ChartaOperation *) ops->data, ops->len, NULL,
                                      &error);
  s->import_seconds += (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, ops->len);

  /* the model's side: json-glib's own parser; fullUrl → the store's Type/id */
  g_assert_true (json_parser_load_from_data (parser, data, (gssize) length, &error));
  g_assert_no_error (error);
  entries = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                          "entry");
  g_assert_cmpuint (json_array_get_length (entries), ==, results->len);
  for (unsigned i = 0; i < results->len; i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);
      JsonObject *resource = json_object_get_object_member (entry, "resource");
      ChartaOperationResult *r = results->pdata[i];

      g_assert_cmpstr (r->type, ==, string_member (resource, "resourceType"));
      g_assert_true (r->created);
      g_assert_cmpint (r->version, ==, 1);
      g_hash_table_insert (urls, g_strdup (string_member (entry, "fullUrl")),
                           g_strdup_printf ("%s/%s", r->type, r->id));
    }
  for (unsigned i = 0; i < results->len; i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);
      JsonObject *resource = json_object_get_object_member (entry, "resource");
      const char *type = string_member (resource, "resourceType");
      const char *ref = g_hash_table_lookup (urls, string_member (entry, "fullUrl"));
      int64_t *n = g_hash_table_lookup (s->counts, type);

      if (n == NULL)
        {
          n = g_new0 (int64_t, 1);
          g_hash_table_insert (s->counts, g_strdup (type), n);
        }
      (*n)++;
      s->n_resources++;
      if (strcmp (type, "Patient") == 0)
        {
          g_assert_null (patient);   /* one patient per bundle */
          patient = model_patient (ref, resource);
          g_ptr_array_add (s->patients, patient);
          g_hash_table_insert (s->patient_by_ref, patient->ref, patient);
        }
      else if (strcmp (type, "Observation") == 0 || strcmp (type, "Condition") == 0
               || strcmp (type, "Encounter") == 0 || strcmp (type, "DiagnosticReport") == 0)
        {
          Item *item = model_item (urls, ref, resource);

          g_hash_table_insert (s->item_by_ref, item->ref, item);
          g_ptr_array_add (type[0] == 'O' ? s->observations
                           : type[0] == 'C' ? s->conditions
                           : type[0] == 'E' ? s->encounters : s->reports, item);
        }
    }
  if (patient != NULL)
    for (unsigned i = 0; i < results->len; i++)
      {
        ChartaOperationResult *r = results->pdata[i];

        g_ptr_array_add (patient->written, g_strdup_printf ("%s/%s", r->type, r->id));
      }
}

static void
synthea_free (Synthea *s)
{
  if (s == NULL)
    return;
  g_clear_object (&s->store);
  if (s->dir != NULL)
    charta_test_remove_tree (s->dir);
  g_free (s->dir);
  g_hash_table_unref (s->patient_by_ref);
  g_hash_table_unref (s->item_by_ref);
  g_ptr_array_unref (s->patients);
  g_ptr_array_unref (s->observations);
  g_ptr_array_unref (s->conditions);
  g_ptr_array_unref (s->encounters);
  g_ptr_array_unref (s->reports);
  g_hash_table_unref (s->counts);
  g_free (s);
}

/* The shared store and model, made on first use; NULL (the case skipped) without the corpus. */
static Synthea *
get_synthea (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *store_path = NULL;
  g_autoptr(GPtrArray) names = NULL;
  Synthea *s;

  if (synthea != NULL)
    return synthea;
  dir = charta_test_corpus_path ("synthea");
  if (dir == NULL)
    return NULL;

  s = g_new0 (Synthea, 1);
  s->dir = charta_test_make_tmp_dir ();
  store_path = g_build_filename (s->dir, "store.charta", NULL);
  s->store = charta_test_store_open (store_path,
                                     CHARTA_STORE_FLAGS_CREATE | CHARTA_STORE_FLAGS_FAST);
  s->patients = g_ptr_array_new_with_free_func ((GDestroyNotify) patient_free);
  s->patient_by_ref = g_hash_table_new (g_str_hash, g_str_equal);
  s->observations = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  s->conditions = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  s->encounters = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  s->reports = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  s->item_by_ref = g_hash_table_new (g_str_hash, g_str_equal);
  s->counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  names = charta_test_list_json_files (dir, NULL);
  g_ptr_array_sort (names, compare_files);
  g_assert_cmpuint (names->len, >, 2);
  g_assert_false (charta_test_is_synthea_patient (names->pdata[0]));
  g_assert_false (charta_test_is_synthea_patient (names->pdata[1]));
  for (unsigned i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);

      import_file (s, path);
      s->n_files++;
    }

  /* each item under its subject patient */
  for (unsigned k = 0; k < 3; k++)
    {
      GPtrArray *items = k == 0 ? s->observations : k == 1 ? s->conditions : s->encounters;

      for (unsigned i = 0; i < items->len; i++)
        {
          Item *item = items->pdata[i];
          Patient *p = item->subject != NULL
                       ? g_hash_table_lookup (s->patient_by_ref, item->subject) : NULL;

          if (p != NULL)
            g_ptr_array_add (k == 0 ? p->observations : k == 1 ? p->conditions : p->encounters,
                             item);
        }
    }
  g_test_message ("Synthea: %u files, %u resources (%u patients, %u observations, "
                  "%u conditions, %u encounters, %u reports) imported in %.1f s of "
                  "transactions", s->n_files, s->n_resources, s->patients->len,
                  s->observations->len, s->conditions->len, s->encounters->len,
                  s->reports->len, s->import_seconds);
  synthea = s;
  return s;
}

/* ---- searching --------------------------------------------------------------------------- */

/* Fails the case without stopping it, logging the message (g_test_fail_printf() reports only
 * the last one). */
static void soft_fail (const char *format,
                       ...) G_GNUC_PRINTF (1, 2);

static void
soft_fail (const char *format,
           ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_test_message ("FAILED: %s", message);
  g_test_fail_printf ("%s", message);
}

typedef struct
{
  GPtrArray *matches;    /* "Type/id" of the matches, in the order of the pages */
  GPtrArray *included;   /* "Type/id" of what _include/_revinclude brought, all pages */
  int64_t total;         /* the first page's total */
  unsigned n_pages;
  unsigned max_page;     /* the most matches a page held */
  gboolean ok;           /* FALSE when a page failed (the case has failed) */
} Found;

static void
found_clear (Found *f)
{
  g_clear_pointer (&f->matches, g_ptr_array_unref);
  g_clear_pointer (&f->included, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Found, found_clear)

static char *
entry_ref (ChartaSearchEntry *entry)
{
  return g_strdup_printf ("%s/%s", charta_resource_get_resource_type (entry->resource),
                          charta_resource_get_id (entry->resource));
}

/* A query of @type (NULL: the whole store) in the compartment of Patient/@compartment_id
 * (NULL: none). */
static ChartaSearchQuery *
parse_query (const char  *type,
             const char  *compartment_id,
             const char  *query_string,
             GError     **error)
{
  ChartaSearchQuery *query = charta_search_query_parse (type, query_string,
                                                        CHARTA_SEARCH_QUERY_STRICT, error);

  if (query == NULL)
    return NULL;
  if (compartment_id != NULL)
    {
      query->compartment_type = g_strdup ("Patient");
      query->compartment_id = g_strdup (compartment_id);
    }
  return query;
}

/* Runs the search, following every page, into @found; a failure fails the case (softly). */
static void
search_all (const char *label,
            const char *type,
            const char *compartment_id,
            const char *query_string,
            Found      *found)
{
  g_autofree char *cursor = NULL;

  found->matches = g_ptr_array_new_with_free_func (g_free);
  found->included = g_ptr_array_new_with_free_func (g_free);
  found->total = -1;
  found->n_pages = 0;
  found->max_page = 0;
  found->ok = FALSE;
  do
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ChartaSearchQuery) query = NULL;
      g_autoptr(ChartaSearchResult) result = NULL;
      unsigned n_matches = 0;

      query = parse_query (type, compartment_id, query_string, &error);
      if (query == NULL)
        {
          soft_fail ("%s: the query does not parse: %s", label, error->message);
          return;
        }
      query->cursor = g_steal_pointer (&cursor);
      result = charta_store_search (synthea->store, query, &error);
      if (result == NULL)
        {
          soft_fail ("%s: page %u failed: %s", label, found->n_pages + 1,
                     error != NULL ? error->message : "(no error set)");
          return;
        }
      g_assert_no_error (error);
      for (unsigned i = 0; i < result->entries->len; i++)
        {
          ChartaSearchEntry *entry = result->entries->pdata[i];

          if (entry->mode == CHARTA_SEARCH_MODE_MATCH)
            {
              /* the matches come first, then what the page includes */
              g_assert_cmpuint (i, ==, n_matches);
              g_ptr_array_add (found->matches, entry_ref (entry));
              n_matches++;
            }
          else
            {
              g_assert_cmpint (entry->mode, ==, CHARTA_SEARCH_MODE_INCLUDE);
              g_ptr_array_add (found->included, entry_ref (entry));
            }
        }
      if (n_matches > result->count)
        soft_fail ("%s: page %u holds %u matches, more than its _count %u", label,
                   found->n_pages + 1, n_matches, result->count);
      if (result->next_cursor != NULL && n_matches != result->count)
        soft_fail ("%s: page %u holds %u matches but is not the last (count %u)",
                   label, found->n_pages + 1, n_matches, result->count);
      if (found->n_pages == 0)
        found->total = result->total;
      else if (result->total != found->total)
        soft_fail ("%s: page %u says total %" G_GINT64_FORMAT ", page 1 said %"
                   G_GINT64_FORMAT, label, found->n_pages + 1, result->total,
                   found->total);
      found->max_page = MAX (found->max_page, n_matches);
      found->n_pages++;
      cursor = g_strdup (result->next_cursor);
      if (found->n_pages >= MAX_PAGES)
        {
          soft_fail ("%s: more than %u pages", label, MAX_PAGES);
          return;
        }
    }
  while (cursor != NULL);
  found->ok = TRUE;
}

/* Whether @got (refs, perhaps repeated) is exactly @expected (a set of refs); logs and fails
 * the case when not. */
static gboolean
check_same (const char *label,
            GPtrArray  *got,
            GHashTable *expected)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  unsigned n_twice = 0, n_extra = 0, n_missing = 0;
  GHashTableIter iter;
  gpointer key;

  for (unsigned i = 0; i < got->len; i++)
    {
      const char *ref = got->pdata[i];

      if (!g_hash_table_add (seen, (gpointer) ref))
        {
          if (n_twice++ < 5)
            g_test_message ("%s: %s came twice", label, ref);
        }
      else if (!g_hash_table_contains (expected, ref))
        {
          if (n_extra++ < 5)
            g_test_message ("%s: %s was not expected", label, ref);
        }
    }
  g_hash_table_iter_init (&iter, expected);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (seen, key))
      {
        if (n_missing++ < 5)
          g_test_message ("%s: %s is missing", label, (const char *) key);
      }
  if (n_twice + n_extra + n_missing == 0)
    return TRUE;
  soft_fail ("%s: expected %u, got %u (%u twice, %u unexpected, %u missing)", label,
             g_hash_table_size (expected), got->len, n_twice, n_extra, n_missing);
  return FALSE;
}

/* Searches @query_string (with _total=accurate added), follows every page, and checks that
 * the matches are @expected and the total their number.  Returns the matches (in @found). */
static void
expect_search (const char *label,
               const char *type,
               const char *compartment_id,
               const char *query_string,
               GHashTable *expected,
               Found      *found)
{
  g_autofree char *with_total = g_strconcat (query_string,
                                             *query_string != '\0' ? "&" : "",
                                             "_total=accurate", NULL);

  search_all (label, type, compartment_id, with_total, found);
  if (!found->ok)
    return;
  check_same (label, found->matches, expected);
  if (found->total != (int64_t) g_hash_table_size (expected))
    soft_fail ("%s: total %" G_GINT64_FORMAT ", expected %u", label, found->total,
               g_hash_table_size (expected));
  g_test_message ("%s: %u expected, %u found in %u page(s), total %" G_GINT64_FORMAT, label,
                  g_hash_table_size (expected), found->matches->len, found->n_pages,
                  found->total);
}

static GHashTable *
new_set (void)
{
  return g_hash_table_new (g_str_hash, g_str_equal);
}

/* @value percent-encoded for a query string ('|', ':' and '/' kept as they are). */
static char *
enc (const char *value)
{
  return g_uri_escape_string (value, ":/|", FALSE);
}

/* ---- choosing what to search for --------------------------------------------------------- */

static int
compare_by_observations (gconstpointer a,
                         gconstpointer b)
{
  const Patient *x = *(const Patient *const *) a;
  const Patient *y = *(const Patient *const *) b;

  if (x->observations->len != y->observations->len)
    return x->observations->len > y->observations->len ? -1 : 1;
  return strcmp (x->ref, y->ref);
}

static int
compare_by_conditions (gconstpointer a,
                       gconstpointer b)
{
  const Patient *x = *(const Patient *const *) a;
  const Patient *y = *(const Patient *const *) b;

  if (x->conditions->len != y->conditions->len)
    return x->conditions->len > y->conditions->len ? -1 : 1;
  return strcmp (x->ref, y->ref);
}

/* The @n patients with the most observations (or conditions), most first (borrowed). */
static GPtrArray *
busiest_patients (unsigned n,
                  gboolean by_conditions)
{
  GPtrArray *sorted = g_ptr_array_new ();

  for (unsigned i = 0; i < synthea->patients->len; i++)
    g_ptr_array_add (sorted, synthea->patients->pdata[i]);
  g_ptr_array_sort (sorted, by_conditions ? compare_by_conditions : compare_by_observations);
  g_ptr_array_set_size (sorted, MIN (n, sorted->len));
  return sorted;
}

/* The LOINC code most frequent among @p's observations (the smallest of equals). */
static const char *
top_loinc_code (Patient *p)
{
  g_autoptr(GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
  const char *best = NULL;
  unsigned best_n = 0;

  for (unsigned i = 0; i < p->observations->len; i++)
    {
      Item *item = p->observations->pdata[i];

      for (unsigned j = 0; j < item->codes->len; j++)
        {
          const char *c = item->codes->pdata[j];
          unsigned n;

          if (!g_str_has_prefix (c, "http://loinc.org|"))
            continue;
          c += strlen ("http://loinc.org|");
          n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, c)) + 1;
          g_hash_table_insert (counts, (gpointer) c, GUINT_TO_POINTER (n));
          if (n > best_n || (n == best_n && strcmp (c, best) < 0))
            {
              best = c;
              best_n = n;
            }
        }
    }
  g_assert_nonnull (best);
  return best;
}

static int
compare_items_by_date (gconstpointer a,
                       gconstpointer b)
{
  const Item *x = *(const Item *const *) a;
  const Item *y = *(const Item *const *) b;

  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* @p's dated observations with LOINC @code, oldest first (borrowed). */
static GPtrArray *
observations_with_code (Patient    *p,
                        const char *code)
{
  GPtrArray *found = g_ptr_array_new ();

  for (unsigned i = 0; i < p->observations->len; i++)
    {
      Item *item = p->observations->pdata[i];

      if (item->dated && item_has_code (item, "http://loinc.org", code))
        g_ptr_array_add (found, item);
    }
  g_ptr_array_sort (found, compare_items_by_date);
  return found;
}

/* "2019" or "2019-03-04" of the UTC date of @us. */
static char *
utc_date (int64_t  us,
          gboolean year_only)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);

  return g_date_time_format (dt, year_only ? "%Y" : "%Y-%m-%d");
}

/* ---- the cases --------------------------------------------------------------------------- */

static void
test_import (gpointer      fixture,
             gconstpointer data)
{
  Synthea *s = get_synthea ();
  g_autoptr(GHashTable) counts = NULL;
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  gpointer key, value;

  if (s == NULL)
    return;
  /* counts per type are the bundles', plus one Provenance per transaction */
  counts = charta_store_count_by_type (s->store, &error);
  g_assert_no_error (error);
  g_hash_table_iter_init (&iter, s->counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_cmpint (charta_test_count_of (counts, key), ==, *(int64_t *) value);
  g_assert_cmpint (charta_test_count_of (counts, "Provenance"), ==, s->n_files);
  g_assert_cmpuint (g_hash_table_size (counts), ==, g_hash_table_size (s->counts) + 1);
  g_assert_cmpuint (s->patients->len, ==, charta_test_count_of (counts, "Patient"));
  g_assert_cmpuint (s->patients->len, >=, 50);
  g_assert_cmpuint (s->observations->len, >=, 1000);
  g_assert_cmpuint (s->encounters->len, >=, 100);
  g_assert_cmpuint (s->conditions->len, >=, 100);
  /* every item's subject is one of the patients */
  for (unsigned k = 0; k < 3; k++)
    {
      GPtrArray *items = k == 0 ? s->observations : k == 1 ? s->conditions : s->encounters;

      for (unsigned i = 0; i < items->len; i++)
        {
          Item *item = items->pdata[i];

          g_assert_nonnull (item->subject);
          g_assert_true (g_hash_table_contains (s->patient_by_ref, item->subject));
        }
    }
}

/* Observation?patient=Patient/<id>&code=http://loinc.org|<code>&date=ge<D1>&date=lt<D2> for
 * the 5 patients with the most observations, each with its most frequent LOINC code; the
 * bounds are years for the first three, days for the others, chosen so that the first and last
 * of the patient's observations of that code tend to fall outside. */
static void
test_observation_code_date (gpointer      fixture,
                            gconstpointer data)
{
  g_autoptr(GPtrArray) patients = NULL;
  unsigned n_differ = 0;

  if (get_synthea () == NULL)
    return;
  patients = busiest_patients (5, FALSE);
  for (unsigned k = 0; k < patients->len; k++)
    {
      Patient *p = patients->pdata[k];
      const char *code = top_loinc_code (p);
      g_autoptr(GPtrArray) own = observations_with_code (p, code);
      g_autoptr(GHashTable) expected = new_set ();
      g_auto(Found) found = { 0 };
      gboolean years = k < 3;
      g_autofree char *d1 = NULL;
      g_autofree char *d2 = NULL;
      g_autofree char *query = NULL;
      g_autofree char *label = NULL;
      int64_t pl1, ph1, pl2, ph2;

      g_assert_cmpuint (own->len, >=, 3);
      d1 = utc_date (((Item *) own->pdata[1])->lo, years);
      d2 = utc_date (((Item *) own->pdata[own->len - (years ? 1 : 2)])->lo, years);
      g_assert_true (date_range (d1, &pl1, &ph1));
      g_assert_true (date_range (d2, &pl2, &ph2));
      query = g_strdup_printf ("patient=%s&code=http://loinc.org|%s&date=ge%s&date=lt%s", p->ref,
                               code, d1, d2);
      label = g_strdup_printf ("Observation?%s", query);
      /* over every observation of the store, not only the patient's */
      for (unsigned i = 0; i < synthea->observations->len; i++)
        {
          Item *item = synthea->observations->pdata[i];
          gboolean strict, loose;

          if (g_strcmp0 (item->subject, p->ref) != 0 || !item->dated
              || !item_has_code (item, "http://loinc.org", code))
            continue;
          strict = date_matches ("ge", pl1, ph1, item->lo, item->hi)
                   && date_matches ("lt", pl2, ph2, item->lo, item->hi);
          loose = date_matches_loosely ("ge", pl1, item->lo, item->hi)
                  && date_matches_loosely ("lt", pl2, item->lo, item->hi);
          if (strict)
            g_hash_table_add (expected, item->ref);
          if (strict != loose)
            n_differ++;
        }
      g_assert_cmpuint (g_hash_table_size (expected), >, 0);
      expect_search (label, "Observation", NULL, query, expected, &found);
    }
  g_test_message ("observations on which the two readings of ge/lt differ: %u", n_differ);
}

/* Condition?patient=Patient/<id>&clinical-status=active for the 5 patients with the most
 * conditions (with the system written for every other one). */
static void
test_condition_status (gpointer      fixture,
                       gconstpointer data)
{
  g_autoptr(GPtrArray) patients = NULL;

  if (get_synthea () == NULL)
    return;
  patients = busiest_patients (5, TRUE);
  for (unsigned k = 0; k < patients->len; k++)
    {
      Patient *p = patients->pdata[k];
      const char *system = k % 2 == 1
                           ? "http://terminology.hl7.org/CodeSystem/condition-clinical" : NULL;
      g_autoptr(GHashTable) expected = new_set ();
      g_auto(Found) found = { 0 };
      g_autofree char *query = NULL;
      unsigned n_other = 0;

      for (unsigned i = 0; i < synthea->conditions->len; i++)
        {
          Item *item = synthea->conditions->pdata[i];

          if (g_strcmp0 (item->subject, p->ref) != 0)
            continue;
          if (item_has_code (item, system, "active"))
            g_hash_table_add (expected, item->ref);
          else
            n_other++;
        }
      query = g_strdup_printf ("patient=%s&clinical-status=%s%sactive", p->ref,
                               system != NULL ? system : "", system != NULL ? "|" : "");
      expect_search (query, "Condition", NULL, query, expected, &found);
      g_test_message ("  (and %u conditions of the patient that are not active)", n_other);
    }
}

/* Encounter?date=ge<first day>&date=lt<first day of the next month>, for January 2019 and for
 * the month in which most encounters start. */
static void
test_encounter_month (gpointer      fixture,
                      gconstpointer data)
{
  g_autoptr(GHashTable) months = NULL;
  g_autofree char *busiest = NULL;
  unsigned busiest_n = 0;
  unsigned n_differ = 0;

  if (get_synthea () == NULL)
    return;
  months = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (unsigned i = 0; i < synthea->encounters->len; i++)
    {
      Item *item = synthea->encounters->pdata[i];
      g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (item->lo / G_USEC_PER_SEC);
      char *month = g_date_time_format (dt, "%Y-%m");
      unsigned n = GPOINTER_TO_UINT (g_hash_table_lookup (months, month)) + 1;

      if (n > busiest_n || (n == busiest_n && strcmp (month, busiest) < 0))
        {
          g_free (busiest);
          busiest = g_strdup (month);
          busiest_n = n;
        }
      g_hash_table_insert (months, month, GUINT_TO_POINTER (n));
    }

  for (unsigned k = 0; k < 2; k++)
    {
      const char *month = k == 0 ? "2019-01" : busiest;
      g_autofree char *first = g_strdup_printf ("%s-01", month);
      g_autofree char *next = NULL;
      g_autofree char *query = NULL;
      g_autoptr(GHashTable) expected = new_set ();
      g_auto(Found) found = { 0 };
      int64_t pl1, ph1, pl2, ph2, month_lo, month_hi;

      g_assert_true (date_range (month, &month_lo, &month_hi));
      next = utc_date (month_hi + 1, FALSE);
      g_assert_true (date_range (first, &pl1, &ph1));
      g_assert_true (date_range (next, &pl2, &ph2));
      for (unsigned i = 0; i < synthea->encounters->len; i++)
        {
          Item *item = synthea->encounters->pdata[i];
          gboolean strict = date_matches ("ge", pl1, ph1, item->lo, item->hi)
                            && date_matches ("lt", pl2, ph2, item->lo, item->hi);
          gboolean loose = date_matches_loosely ("ge", pl1, item->lo, item->hi)
                           && date_matches_loosely ("lt", pl2, item->lo, item->hi);

          if (strict)
            g_hash_table_add (expected, item->ref);
          if (strict != loose)
            n_differ++;
        }
      query = g_strdup_printf ("date=ge%s&date=lt%s", first, next);
      g_assert_cmpuint (g_hash_table_size (expected), >, 0);
      expect_search (query, "Encounter", NULL, query, expected, &found);
    }
  g_test_message ("encounters on which the two readings of ge/lt differ: %u", n_differ);
}

/* Patient?family=<first 3 letters, upper case> and Patient?name=<first 4 letters, lower case>
 * for 5 patients spread over the corpus (prefix match, case- and accent-insensitive). */
static void
test_patient_name (gpointer      fixture,
                   gconstpointer data)
{
  if (get_synthea () == NULL)
    return;
  for (unsigned k = 0; k < 5; k++)
    {
      Patient *p = synthea->patients->pdata[(k * synthea->patients->len) / 5 + k];

      for (unsigned form = 0; form < 2; form++)
        {
          const char *param = form == 0 ? "family" : "name";
          unsigned n_chars = form == 0 ? 3 : 4;
          const char *end = g_utf8_offset_to_pointer (p->family,
                                                      MIN (n_chars,
                                                           g_utf8_strlen (p->family, -1)));
          g_autofree char *prefix = g_strndup (p->family, end - p->family);
          g_autofree char *value = form == 0 ? g_utf8_strup (prefix, -1)
                                             : g_utf8_strdown (prefix, -1);
          g_autofree char *folded = fold (value);
          g_autofree char *escaped = enc (value);
          g_autofree char *query = g_strdup_printf ("%s=%s", param, escaped);
          g_autofree char *label = g_strdup_printf ("Patient?%s=<%u letters of patient #%u's "
                                                    "family>", param, n_chars, k);
          g_autoptr(GHashTable) expected = new_set ();
          g_auto(Found) found = { 0 };

          for (unsigned i = 0; i < synthea->patients->len; i++)
            {
              Patient *other = synthea->patients->pdata[i];
              GPtrArray *parts = form == 0 ? other->families : other->name_parts;

              for (unsigned j = 0; j < parts->len; j++)
                if (g_str_has_prefix (parts->pdata[j], folded))
                  {
                    g_hash_table_add (expected, other->ref);
                    break;
                  }
            }
          g_assert_true (g_hash_table_contains (expected, p->ref));
          expect_search (label, "Patient", NULL, query, expected, &found);
        }
    }
}

/* Patient?birthdate=<day> (and eq<day>), and birthdate=<year> for one. */
static void
test_patient_birthdate (gpointer      fixture,
                        gconstpointer data)
{
  if (get_synthea () == NULL)
    return;
  for (unsigned k = 0; k < 6; k++)
    {
      Patient *p = synthea->patients->pdata[(k * 17 + 3) % synthea->patients->len];
      g_autofree char *value = k < 5 ? g_strdup (p->birth_date) : g_strndup (p->birth_date, 4);
      g_autofree char *query = g_strdup_printf ("birthdate=%s%s", k % 2 == 1 ? "eq" : "",
                                                value);
      g_autofree char *label = g_strdup_printf ("Patient?birthdate=<%s of patient %s>",
                                                k < 5 ? "day" : "year", p->id);
      g_autoptr(GHashTable) expected = new_set ();
      g_auto(Found) found = { 0 };
      int64_t pl, ph;

      g_assert_true (date_range (value, &pl, &ph));
      for (unsigned i = 0; i < synthea->patients->len; i++)
        {
          Patient *other = synthea->patients->pdata[i];
          int64_t lo, hi;

          g_assert_true (date_range (other->birth_date, &lo, &hi));
          if (date_matches ("eq", pl, ph, lo, hi))
            g_hash_table_add (expected, other->ref);
        }
      g_assert_true (g_hash_table_contains (expected, p->ref));
      expect_search (label, "Patient", NULL, query, expected, &found);
    }
}

/* Patient?identifier=<system>|<value> of the MRN and the SSN of 5 patients. */
static void
test_patient_identifier (gpointer      fixture,
                         gconstpointer data)
{
  static const char *const systems[] = {
    "http://hospital.smarthealthit.org", "http://hl7.org/fhir/sid/us-ssn",
  };

  if (get_synthea () == NULL)
    return;
  for (unsigned k = 0; k < 5; k++)
    {
      Patient *p = synthea->patients->pdata[(k * 23 + 7) % synthea->patients->len];

      for (unsigned s = 0; s < G_N_ELEMENTS (systems); s++)
        {
          const char *identifier = NULL;
          g_autoptr(GHashTable) expected = new_set ();
          g_auto(Found) found = { 0 };
          g_autofree char *query = NULL;
          g_autofree char *label = NULL;

          for (unsigned i = 0; i < p->identifiers->len && identifier == NULL; i++)
            if (g_str_has_prefix (p->identifiers->pdata[i], systems[s])
                && ((const char *) p->identifiers->pdata[i])[strlen (systems[s])] == '|')
              identifier = p->identifiers->pdata[i];
          g_assert_nonnull (identifier);
          for (unsigned i = 0; i < synthea->patients->len; i++)
            {
              Patient *other = synthea->patients->pdata[i];

              for (unsigned j = 0; j < other->identifiers->len; j++)
                if (strcmp (other->identifiers->pdata[j], identifier) == 0)
                  g_hash_table_add (expected, other->ref);
            }
          query = g_strdup_printf ("identifier=%s", identifier);
          label = g_strdup_printf ("Patient?identifier=%s|<patient %s's>", systems[s], p->id);
          expect_search (label, "Patient", NULL, query, expected, &found);
        }
    }
}

/* Observation?subject:Patient.name=<family> (and, for the first, patient.name= and
 * subject.name=, untyped): the observations of the patients with a name part starting so. */
static void
test_observation_chain (gpointer      fixture,
                        gconstpointer data)
{
  static const char *const forms[] = { "subject:Patient.name", "patient.name", "subject.name" };

  if (get_synthea () == NULL)
    return;
  for (unsigned k = 0; k < 3; k++)
    {
      Patient *p = synthea->patients->pdata[(k * 45 + 5) % synthea->patients->len];
      g_autofree char *folded = fold (p->family);
      g_autofree char *escaped = enc (p->family);
      g_autoptr(GHashTable) expected = new_set ();
      unsigned n_patients = 0;

      for (unsigned i = 0; i < synthea->patients->len; i++)
        {
          Patient *other = synthea->patients->pdata[i];

          for (unsigned j = 0; j < other->name_parts->len; j++)
            if (g_str_has_prefix (other->name_parts->pdata[j], folded))
              {
                for (unsigned o = 0; o < other->observations->len; o++)
                  g_hash_table_add (expected, ((Item *) other->observations->pdata[o])->ref);
                n_patients++;
                break;
              }
        }
      g_assert_cmpuint (n_patients, >=, 1);
      for (unsigned f = 0; f < (k == 0 ? G_N_ELEMENTS (forms) : 1); f++)
        {
          g_autofree char *query = g_strdup_printf ("%s=%s&_count=200", forms[f], escaped);
          g_autofree char *label = g_strdup_printf ("Observation?%s=<family of patient %s> "
                                                    "(%u patient(s))", forms[f], p->id,
                                                    n_patients);
          g_auto(Found) found = { 0 };

          expect_search (label, "Observation", NULL, query, expected, &found);
        }
    }
}

/* Chains of two and three links, typed, through the encounters of observations:
 *   Observation?encounter:Encounter.subject:Patient.name=<family>
 *   DiagnosticReport?result:Observation.encounter:Encounter.subject:Patient.name=<family>
 * (and the same with a chain of three links that no data satisfy: Organizations here have no
 * partof).  Expected: the observations whose encounter's subject has a name part starting with
 * the family; the reports with such an observation among their results. */
static void
test_chain_depth (gpointer      fixture,
                  gconstpointer data)
{
  g_autoptr(GHashTable) patients = NULL;
  g_autoptr(GHashTable) encounters = NULL;
  g_autoptr(GHashTable) observations = NULL;
  g_autoptr(GHashTable) reports = NULL;
  g_autoptr(GHashTable) none = NULL;
  g_autofree char *folded = NULL;
  g_autofree char *escaped = NULL;
  Patient *p = NULL;

  if (get_synthea () == NULL)
    return;
  /* the first patient with a report that has results */
  for (unsigned i = 0; i < synthea->reports->len && p == NULL; i++)
    {
      Item *report = synthea->reports->pdata[i];

      if (report->results->len > 0 && report->subject != NULL)
        p = g_hash_table_lookup (synthea->patient_by_ref, report->subject);
    }
  g_assert_nonnull (p);
  folded = fold (p->family);
  escaped = enc (p->family);

  patients = new_set ();
  for (unsigned i = 0; i < synthea->patients->len; i++)
    {
      Patient *other = synthea->patients->pdata[i];

      for (unsigned j = 0; j < other->name_parts->len; j++)
        if (g_str_has_prefix (other->name_parts->pdata[j], folded))
          g_hash_table_add (patients, other->ref);
    }
  encounters = new_set ();
  for (unsigned i = 0; i < synthea->encounters->len; i++)
    {
      Item *item = synthea->encounters->pdata[i];

      if (item->subject != NULL && g_hash_table_contains (patients, item->subject))
        g_hash_table_add (encounters, item->ref);
    }
  observations = new_set ();
  for (unsigned i = 0; i < synthea->observations->len; i++)
    {
      Item *item = synthea->observations->pdata[i];

      if (item->encounter != NULL && g_hash_table_contains (encounters, item->encounter))
        g_hash_table_add (observations, item->ref);
    }
  reports = new_set ();
  for (unsigned i = 0; i < synthea->reports->len; i++)
    {
      Item *item = synthea->reports->pdata[i];

      for (unsigned j = 0; j < item->results->len; j++)
        if (g_hash_table_contains (observations, item->results->pdata[j]))
          g_hash_table_add (reports, item->ref);
    }
  g_assert_cmpuint (g_hash_table_size (observations), >, 0);
  g_assert_cmpuint (g_hash_table_size (reports), >, 0);
  none = new_set ();

  {
    g_autofree char *query = g_strdup_printf ("encounter:Encounter.subject:Patient.name=%s"
                                              "&_count=200", escaped);
    g_autofree char *label = g_strdup_printf ("Observation?encounter:Encounter.subject:Patient"
                                              ".name=<family of patient %s>", p->id);
    g_auto(Found) found = { 0 };

    expect_search (label, "Observation", NULL, query, observations, &found);
  }
  {
    g_autofree char *query = g_strdup_printf ("result:Observation.encounter:Encounter.subject"
                                              ":Patient.name=%s", escaped);
    g_autofree char *label = g_strdup_printf ("DiagnosticReport?result:Observation.encounter:"
                                              "Encounter.subject:Patient.name=<family of "
                                              "patient %s>", p->id);
    g_auto(Found) found = { 0 };

    expect_search (label, "DiagnosticReport", NULL, query, reports, &found);
  }
  {
    const char *query = "encounter:Encounter.service-provider:Organization.partof:Organization"
                        ".name=x";
    g_autofree char *label = g_strdup_printf ("Observation?%s", query);
    g_auto(Found) found = { 0 };

    expect_search (label, "Observation", NULL, query, none, &found);
  }
}

/* Patient?_id=<id>&_revinclude=Provenance:target: the patient, and exactly one Provenance: the
 * one of its bundle's transaction, which targets version 1 of everything the bundle made. */
static void
test_revinclude_provenance (gpointer      fixture,
                            gconstpointer data)
{
  if (get_synthea () == NULL)
    return;
  for (unsigned k = 0; k < 4; k++)
    {
      Patient *p = synthea->patients->pdata[(k * (synthea->patients->len - 1)) / 3];
      g_autofree char *query = g_strdup_printf ("_id=%s&_revinclude=Provenance:target", p->id);
      g_autofree char *label = g_strdup_printf ("Patient?_id=%s&_revinclude=Provenance:target",
                                                p->id);
      g_autofree char *own_target = g_strdup_printf ("%s/_history/1", p->ref);
      g_autofree char *provenance_ref = NULL;
      g_autoptr(GHashTable) expected = new_set ();
      g_autoptr(ChartaResource) provenance = NULL;
      g_autoptr(GHashTable) included = NULL;
      g_auto(Found) found = { 0 };
      JsonArray *targets;

      /* the Provenance the store recorded for the patient's version 1 (not through search) */
      provenance = charta_test_store_provenance_of (synthea->store, "Patient", p->id, 1);
      provenance_ref = g_strdup_printf ("Provenance/%s", charta_resource_get_id (provenance));
      g_assert_true (charta_test_provenance_targets (provenance, own_target));
      targets = json_object_get_array_member (charta_resource_get_object (provenance), "target");
      g_assert_cmpuint (json_array_get_length (targets), ==, p->written->len);
      for (unsigned i = 0; i < p->written->len; i++)
        {
          g_autofree char *target = g_strdup_printf ("%s/_history/1",
                                                     (char *) p->written->pdata[i]);

          g_assert_true (charta_test_provenance_targets (provenance, target));
        }

      g_hash_table_add (expected, p->ref);
      expect_search (label, "Patient", NULL, query, expected, &found);
      if (!found.ok)
        continue;
      included = new_set ();
      g_hash_table_add (included, provenance_ref);
      check_same (label, found.included, included);
      g_test_message ("  included: %u (%s)", found.included->len,
                      found.included->len > 0 ? (char *) found.included->pdata[0] : "-");
    }
}

/* Patient?_has:Observation:patient:code=<code> (and through subject): the patients that have
 * an observation with that code (in any system), for the code most patients have and the one
 * closest to half of them. */
static void
test_has (gpointer      fixture,
          gconstpointer data)
{
  g_autoptr(GHashTable) by_code = NULL;   /* code → set of patient refs */
  const char *codes[2] = { NULL, NULL };
  unsigned most = 0, half_distance = G_MAXUINT;
  unsigned n_patients;
  GHashTableIter iter;
  gpointer key, value;

  if (get_synthea () == NULL)
    return;
  n_patients = synthea->patients->len;
  by_code = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                   (GDestroyNotify) g_hash_table_unref);
  for (unsigned i = 0; i < synthea->observations->len; i++)
    {
      Item *item = synthea->observations->pdata[i];

      for (unsigned j = 0; j < item->codes->len; j++)
        {
          /* the code of any system: the query gives none */
          const char *c = strchr (item->codes->pdata[j], '|') + 1;
          GHashTable *set;

          set = g_hash_table_lookup (by_code, c);
          if (set == NULL)
            {
              set = new_set ();
              g_hash_table_insert (by_code, (gpointer) c, set);
            }
          g_hash_table_add (set, item->subject);
        }
    }
  g_hash_table_iter_init (&iter, by_code);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      unsigned n = g_hash_table_size (value);
      unsigned distance = n > n_patients / 2 ? n - n_patients / 2 : n_patients / 2 - n;

      if (n > most || (n == most && strcmp (key, codes[0]) < 0))
        {
          most = n;
          codes[0] = key;
        }
      if (distance < half_distance || (distance == half_distance && strcmp (key, codes[1]) < 0))
        {
          half_distance = distance;
          codes[1] = key;
        }
    }
  g_assert_nonnull (codes[0]);
  g_assert_nonnull (codes[1]);

  for (unsigned k = 0; k < 2; k++)
    {
      GHashTable *expected = g_hash_table_lookup (by_code, codes[k]);

      g_assert_cmpuint (g_hash_table_size (expected), <=, n_patients);
      for (unsigned via = 0; via < 2; via++)
        {
          g_autofree char *query = g_strdup_printf ("_has:Observation:%s:code=%s",
                                                    via == 0 ? "patient" : "subject",
                                                    codes[k]);
          g_auto(Found) found = { 0 };

          expect_search (query, "Patient", NULL, query, expected, &found);
        }
    }
}

/* Patient/<id>/Encounter and Patient/<id>/Observation for the 5 patients with the most
 * observations: the encounters and observations whose subject is the patient. */
static void
test_compartment (gpointer      fixture,
                  gconstpointer data)
{
  g_autoptr(GPtrArray) patients = NULL;

  if (get_synthea () == NULL)
    return;
  patients = busiest_patients (5, FALSE);
  for (unsigned k = 0; k < patients->len; k++)
    {
      Patient *p = patients->pdata[k];

      for (unsigned t = 0; t < 2; t++)
        {
          const char *type = t == 0 ? "Encounter" : "Observation";
          GPtrArray *items = t == 0 ? synthea->encounters : synthea->observations;
          g_autoptr(GHashTable) expected = new_set ();
          g_autofree char *label = g_strdup_printf ("%s/%s", p->ref, type);
          g_auto(Found) found = { 0 };

          for (unsigned i = 0; i < items->len; i++)
            {
              Item *item = items->pdata[i];

              if (g_strcmp0 (item->subject, p->ref) == 0)
                g_hash_table_add (expected, item->ref);
            }
          g_assert_cmpuint (g_hash_table_size (expected), >, 0);
          expect_search (label, type, p->id, t == 0 ? "" : "_count=50", expected, &found);
        }
    }
}

/* Observation?patient=…&code=…&_sort=-date (and date), in pages of 3: the patient's
 * observations of that code, in non-increasing (non-decreasing) effective date order. */
static void
test_sort_date (gpointer      fixture,
                gconstpointer data)
{
  g_autoptr(GPtrArray) patients = NULL;

  if (get_synthea () == NULL)
    return;
  patients = busiest_patients (5, FALSE);
  for (unsigned k = 0; k < patients->len; k++)
    {
      Patient *p = patients->pdata[k];
      const char *code = top_loinc_code (p);

      for (unsigned descending = 0; descending < 2; descending++)
        {
          g_autofree char *query = g_strdup_printf ("patient=%s&code=http://loinc.org|%s"
                                                    "&_sort=%sdate&_count=3", p->ref, code,
                                                    descending ? "-" : "");
          g_autofree char *label = g_strdup_printf ("Observation?%s", query);
          g_autoptr(GHashTable) expected = new_set ();
          g_auto(Found) found = { 0 };
          unsigned n_disorder = 0;

          for (unsigned i = 0; i < synthea->observations->len; i++)
            {
              Item *item = synthea->observations->pdata[i];

              if (g_strcmp0 (item->subject, p->ref) == 0
                  && item_has_code (item, "http://loinc.org", code))
                g_hash_table_add (expected, item->ref);
            }
          expect_search (label, "Observation", NULL, query, expected, &found);
          if (!found.ok)
            continue;
          /* the order, by the dates of the model (not of the returned resources) */
          for (unsigned i = 1; i < found.matches->len; i++)
            {
              Item *a = g_hash_table_lookup (synthea->item_by_ref, found.matches->pdata[i - 1]);
              Item *b = g_hash_table_lookup (synthea->item_by_ref, found.matches->pdata[i]);

              g_assert_nonnull (a);
              g_assert_nonnull (b);
              if (descending ? a->lo < b->lo : a->lo > b->lo)
                {
                  if (n_disorder++ < 5)
                    g_test_message ("%s: %s comes before %s", label, a->ref, b->ref);
                }
            }
          if (n_disorder > 0)
            soft_fail ("%s: %u pairs out of order", label, n_disorder);
        }
    }
}

/* Observation?patient=<id>&_count=7 through every page: each of the patient's observations
 * exactly once, in pages of 7 but the last. */
static void
test_paging (gpointer      fixture,
             gconstpointer data)
{
  g_autoptr(GPtrArray) patients = NULL;

  if (get_synthea () == NULL)
    return;
  patients = busiest_patients (5, FALSE);
  for (unsigned k = 0; k < patients->len; k++)
    {
      Patient *p = patients->pdata[k];
      g_autofree char *query = g_strdup_printf ("patient=%s&_count=7", p->id);
      g_autofree char *label = g_strdup_printf ("Observation?%s", query);
      g_autoptr(GHashTable) expected = new_set ();
      g_auto(Found) found = { 0 };

      for (unsigned i = 0; i < p->observations->len; i++)
        g_hash_table_add (expected, ((Item *) p->observations->pdata[i])->ref);
      expect_search (label, "Observation", NULL, query, expected, &found);
      if (!found.ok)
        continue;
      g_assert_cmpuint (found.max_page, <=, 7);
      g_assert_cmpuint (found.n_pages, ==, (g_hash_table_size (expected) + 6) / 7);
    }
}

/* _count=0 asks for no resources: a page without entries and without a next page, whose
 * total is either left out (-1) or right, never 0 when resources match; with _total=accurate,
 * right. */
static void
test_count_zero (gpointer      fixture,
                 gconstpointer data)
{
  Patient *p;

  if (get_synthea () == NULL)
    return;
  p = synthea->patients->pdata[0];
  for (unsigned k = 0; k < 4; k++)
    {
      const char *type = k < 2 ? "Patient" : "Observation";
      unsigned expected = k < 2 ? synthea->patients->len : p->observations->len;
      const char *total = k % 2 == 1 ? "&_total=accurate" : "";
      g_autofree char *query_string = k < 2 ? g_strdup_printf ("_count=0%s", total)
                                            : g_strdup_printf ("patient=%s&_count=0%s", p->id,
                                                               total);
      g_autoptr(GError) error = NULL;
      g_autoptr(ChartaSearchQuery) query = NULL;
      g_autoptr(ChartaSearchResult) result = NULL;

      query = charta_search_query_parse (type, query_string, CHARTA_SEARCH_QUERY_STRICT,
                                         &error);
      g_assert_no_error (error);
      result = charta_store_search (synthea->store, query, &error);
      g_assert_no_error (error);
      g_test_message ("%s?%s: %u entries, total %" G_GINT64_FORMAT " (%u match)", type,
                      query_string, result->entries->len, result->total, expected);
      g_assert_cmpuint (expected, >, 0);
      g_assert_cmpuint (result->entries->len, ==, 0);
      g_assert_null (result->next_cursor);
      if (k % 2 == 1 ? result->total != (int64_t) expected
                     : result->total != -1 && result->total != (int64_t) expected)
        soft_fail ("%s?%s: total %" G_GINT64_FORMAT ", but %u match", type, query_string,
                   result->total, expected);
    }
}

/* ---- query time -------------------------------------------------------------------------- */

/* Runs one page of @query_string on @type, failing the case when it fails or takes 1 s or
 * more; returns the result. */
static ChartaSearchResult *
timed_search (const char *type,
              const char *query_string,
              int64_t    *elapsed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaSearchQuery) query = NULL;
  ChartaSearchResult *result;
  int64_t start = g_get_monotonic_time ();

  query = charta_search_query_parse (type, query_string, CHARTA_SEARCH_QUERY_STRICT, &error);
  g_assert_no_error (error);
  result = charta_store_search (synthea->store, query, &error);
  *elapsed = g_get_monotonic_time () - start;
  if (result == NULL)
    {
      soft_fail ("%s?%s: %s", type, query_string, error->message);
      return NULL;
    }
  g_test_message ("%s?%s: %u entries, total %" G_GINT64_FORMAT ", %.1f ms", type, query_string,
                  result->entries->len, result->total, *elapsed / 1000.0);
  if (*elapsed >= HOSTILE_MAX_US)
    soft_fail ("%s?%s took %.1f s (1 s at most)", type, query_string,
               (double) *elapsed / G_USEC_PER_SEC);
  return result;
}

/* Ordinary queries over the whole type (no selective condition: the store walks the type's
 * resources), each within a second, with what can be checked of their answers. */
static void
test_query_time (gpointer      fixture,
                 gconstpointer data)
{
  unsigned n_final = 0;
  const char *min_code = NULL;
  int64_t max_effective = G_MININT64;
  int64_t elapsed;

  if (get_synthea () == NULL)
    return;
  for (unsigned i = 0; i < synthea->observations->len; i++)
    {
      Item *item = synthea->observations->pdata[i];

      if (g_strcmp0 (item->status, "final") == 0)
        n_final++;
      for (unsigned j = 0; j < item->codes->len; j++)
        {
          const char *code = strchr (item->codes->pdata[j], '|') + 1;

          if (min_code == NULL || strcmp (code, min_code) < 0)
            min_code = code;
        }
      if (item->dated)
        max_effective = MAX (max_effective, item->hi);
    }

  {
    /* a condition every observation meets, counted */
    g_autoptr(ChartaSearchResult) r = timed_search ("Observation", "status=final&_total=accurate",
                                                    &elapsed);

    if (r != NULL)
      g_assert_cmpint (r->total, ==, n_final);
  }
  {
    /* :text has no index to drive it: every observation is looked at, none matches */
    g_autoptr(ChartaSearchResult) r = timed_search ("Observation", "category:text=zzzz",
                                                    &elapsed);

    if (r != NULL)
      g_assert_cmpuint (r->entries->len, ==, 0);
  }
  {
    /* sorted on a token: the first has the smallest code of all */
    g_autoptr(ChartaSearchResult) r = timed_search ("Observation", "_sort=code&_count=1",
                                                    &elapsed);

    if (r != NULL)
      {
        g_autofree char *ref = NULL;
        Item *item;

        g_assert_cmpuint (r->entries->len, ==, 1);
        ref = entry_ref (r->entries->pdata[0]);
        item = g_hash_table_lookup (synthea->item_by_ref, ref);
        g_assert_nonnull (item);
        g_assert_true (item_has_code (item, NULL, min_code));
      }
  }
  {
    /* sorted on a date, newest first: the first is the latest observation */
    g_autoptr(ChartaSearchResult) r = timed_search ("Observation", "_sort=-date&_count=1",
                                                    &elapsed);

    if (r != NULL)
      {
        g_autofree char *ref = NULL;
        Item *item;

        g_assert_cmpuint (r->entries->len, ==, 1);
        ref = entry_ref (r->entries->pdata[0]);
        item = g_hash_table_lookup (synthea->item_by_ref, ref);
        g_assert_nonnull (item);
        g_assert_cmpint (item->hi, ==, max_effective);
      }
  }
  {
    /* sorted on a quantity */
    g_autoptr(ChartaSearchResult) r = timed_search ("Observation", "_sort=value-quantity"
                                                    "&_count=1", &elapsed);

    if (r != NULL)
      g_assert_cmpuint (r->entries->len, ==, 1);
  }
  /* wildcard includes, iterated: each resource once, the matches first; from a small page of
   * observations, and from every patient (whose records then reach the store's limit of
   * included resources) */
  for (unsigned k = 0; k < 2; k++)
    {
      const char *type = k == 0 ? "Observation" : "Patient";
      unsigned n_matches = k == 0 ? 19 : synthea->patients->len;
      g_autofree char *query = k == 0 ? g_strdup ("code=8302-2&_revinclude:iterate=*"
                                                  "&_include=*&_revinclude=*&_count=19")
                                      : g_strdup_printf ("_revinclude:iterate=*&_count=%u",
                                                         n_matches);
      g_autoptr(ChartaSearchResult) r = timed_search (type, query, &elapsed);

      if (r != NULL)
        {
          g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                              NULL);

          g_assert_cmpuint (r->entries->len, >, n_matches);
          for (unsigned i = 0; i < r->entries->len; i++)
            {
              ChartaSearchEntry *entry = r->entries->pdata[i];

              g_assert_true (g_hash_table_add (seen, entry_ref (entry)));
              g_assert_cmpint (entry->mode, ==, i < n_matches ? CHARTA_SEARCH_MODE_MATCH
                                                              : CHARTA_SEARCH_MODE_INCLUDE);
            }
        }
    }
}

/* ---- hostile queries --------------------------------------------------------------------- */

typedef struct
{
  GRand *rand;
  GPtrArray *patient_ids;   /* char * (borrowed) */
  GPtrArray *codes;         /* "system|code" of observations (borrowed) */
} Gen;

static const char *
pick (Gen               *g,
      const char *const *list,
      unsigned           n)
{
  return list[g_rand_int_range (g->rand, 0, (int) n)];
}

#define PICK(g, list) pick ((g), (list), G_N_ELEMENTS (list))

static gboolean
chance (Gen *g,
        int  one_in)
{
  return g_rand_int_range (g->rand, 0, one_in) == 0;
}

static const char *const sql_fragments[] = {
  "' OR 1=1 --", "'; DROP TABLE resource; --", "; DROP TABLE resource", "1) OR (1=1",
  "\" OR \"\"=\"", "x' UNION SELECT body FROM version --", "*/ DELETE FROM resource /*",
  "'); ATTACH DATABASE '/tmp/x' AS x; --", "?", "?1", ":name", "@p", "$1", "\\'", "%", "_",
  "%%", "[a-z]*", "*", "x'ff'", "NULL", "-9e999", "9223372036854775808", "0x7fffffff",
  "'||(SELECT sqlite_version())||'", "1; PRAGMA writable_schema=1", "char(39)",
};

static const char *const strings[] = {
  "smith", "a", "Ωμέγα", "o'brien", "JOSÉ", "Mc", "\\,", "x\\|y", "a,b,c", "é", "z", "ʼ",
  "名字", "\u00a0", "x$y", "m\\\\",
};

static const char *const prefixes[] = {
  "", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap", "xx",
};

static const char *const dates[] = {
  "2019", "2019-01", "2019-01-01", "2019-01-01T10:00:00Z", "2019-01-01T10:00:00+14:00",
  "1900", "0001-01-01", "9999-12-31", "2020-02-29", "2010-06-15T12:30:00.123456789-05:00",
  "2020-13-45", "2020-02-30", "2020-00-00", "20200101", "2020-1-1", "abc", "2020-01-01T25:61:61Z",
  "-2020", "2020-01-01T", "2020T", "99999", "2019-01-01T10:00Z", "2019-01-01T10Z",
};

static const char *const modifiers[] = {
  "", "", "", ":missing", ":exact", ":contains", ":text", ":not", ":above", ":below", ":in",
  ":not-in", ":of-type", ":identifier", ":Patient", ":Organization", ":foo", ":", "::",
  ":iterate", ":EXACT", ":missing:exact",
};

static const char *const patient_params[] = {
  "name", "family", "given", "birthdate", "gender", "identifier", "address-city", "_id",
  "_lastUpdated", "general-practitioner", "organization", "active", "telecom", "phone",
  "deceased", "address", "language", "email", "link", "_tag", "_profile", "death-date",
};

static const char *const observation_params[] = {
  "code", "patient", "subject", "date", "value-quantity", "status", "category", "encounter",
  "combo-code", "code-value-quantity", "component-code-value-quantity", "performer", "_id",
  "value-concept", "value-string", "based-on", "identifier", "_lastUpdated", "value-date",
};

static const char *const encounter_params[] = {
  "date", "patient", "subject", "class", "type", "status", "service-provider", "participant",
  "length", "reason-code", "_id",
};

static const char *const store_params[] = {
  "_id", "_lastUpdated", "_type", "_tag", "_profile", "_security", "_source", "_content",
  "_text",
};

static const char *const result_params[] = {
  "_count=0", "_count=1", "_count=7", "_count=20", "_count=1000", "_count=100000",
  "_count=-1", "_count=abc", "_total=accurate", "_total=estimate", "_total=none",
  "_total=maybe", "_summary=true", "_summary=false", "_summary=text", "_summary=data",
  "_summary=count", "_summary=bogus", "_elements=id", "_elements=name,birthDate",
  "_elements=code,subject,foo", "_elements=", "_sort=date", "_sort=-date", "_sort=_id",
  "_sort=-_lastUpdated", "_sort=name,-birthdate", "_sort=code", "_sort=value-quantity",
  "_sort=foo", "_sort=-", "_include=Observation:subject", "_include=Observation:patient:Patient",
  "_include=Patient:general-practitioner", "_include=Encounter:service-provider",
  "_include=*", "_include:iterate=*", "_revinclude=Provenance:target",
  "_revinclude=Observation:patient", "_revinclude=Observation:subject", "_revinclude=*",
  "_include=Foo:bar", "_include=Observation", "_cursor=c1.abc", "_cursor=",
  "_cursor=c1.WyJ4IiwxXQ", "_format=json", "_pretty=true", "_contained=true", "_filter=x",
  "_type=Patient,Observation", "_list=42",
};

/* A value for parameter @name: real ids, codes and dates mostly, odd ones sometimes. */
static char *
random_value (Gen        *g,
              const char *name)
{
  if (chance (g, 8))
    return g_strdup (PICK (g, sql_fragments));
  if (strcmp (name, "birthdate") == 0 || strcmp (name, "date") == 0
      || strcmp (name, "_lastUpdated") == 0 || strcmp (name, "death-date") == 0
      || strcmp (name, "value-date") == 0)
    return g_strconcat (PICK (g, prefixes), PICK (g, dates), NULL);
  if (strcmp (name, "patient") == 0 || strcmp (name, "subject") == 0 || strcmp (name, "link") == 0
      || strcmp (name, "general-practitioner") == 0 || strcmp (name, "organization") == 0
      || strcmp (name, "encounter") == 0 || strcmp (name, "performer") == 0
      || strcmp (name, "service-provider") == 0 || strcmp (name, "participant") == 0)
    {
      const char *id = g->patient_ids->pdata[g_rand_int_range (g->rand, 0,
                                                               (int) g->patient_ids->len)];

      switch (g_rand_int_range (g->rand, 0, 5))
        {
        case 0: return g_strdup_printf ("Patient/%s", id);
        case 1: return g_strdup (id);
        case 2: return g_strdup_printf ("Patient/%s/_history/1", id);
        case 3: return g_strdup_printf ("http://example.org/fhir/Patient/%s", id);
        default: return g_strdup_printf ("Organization/%s,Patient/%s", id, id);
        }
    }
  if (strcmp (name, "_id") == 0)
    return g_strdup (g->patient_ids->pdata[g_rand_int_range (g->rand, 0,
                                                             (int) g->patient_ids->len)]);
  if (strcmp (name, "code") == 0 || strcmp (name, "combo-code") == 0
      || strcmp (name, "value-concept") == 0 || strcmp (name, "category") == 0)
    {
      const char *code = g->codes->pdata[g_rand_int_range (g->rand, 0, (int) g->codes->len)];

      return chance (g, 2) ? g_strdup (code) : g_strdup (strchr (code, '|') + 1);
    }
  if (strcmp (name, "value-quantity") == 0 || strcmp (name, "length") == 0)
    return g_strdup_printf ("%s%d%s", PICK (g, prefixes), g_rand_int_range (g->rand, -5, 300),
                            chance (g, 2) ? "|http://unitsofmeasure.org|cm" : "");
  if (strcmp (name, "code-value-quantity") == 0
      || strcmp (name, "component-code-value-quantity") == 0)
    return g_strdup_printf ("http://loinc.org|8480-6$%s%d", PICK (g, prefixes),
                            g_rand_int_range (g->rand, 0, 200));
  if (strcmp (name, "gender") == 0)
    return g_strdup (chance (g, 2) ? "female" : "male,other");
  if (strcmp (name, "status") == 0)
    return g_strdup ("final");
  if (strcmp (name, "active") == 0 || strcmp (name, "deceased") == 0)
    return g_strdup (chance (g, 2) ? "true" : "false");
  if (strcmp (name, "_type") == 0)
    return g_strdup (chance (g, 2) ? "Patient,Observation" : "Foo");
  return g_strdup (PICK (g, strings));
}

/* One valid-looking parameter of @type (NULL: the whole store). */
static void
add_random_param (Gen        *g,
                  GString    *s,
                  const char *type)
{
  const char *name;
  g_autofree char *value = NULL;
  g_autofree char *escaped = NULL;

  if (type == NULL)
    name = PICK (g, store_params);
  else if (strcmp (type, "Patient") == 0)
    name = PICK (g, patient_params);
  else if (strcmp (type, "Observation") == 0)
    name = PICK (g, observation_params);
  else
    name = PICK (g, encounter_params);
  value = random_value (g, name);
  escaped = chance (g, 3) ? g_strdup (value) : g_uri_escape_string (value, ":/|,$", FALSE);
  if (s->len > 0)
    g_string_append_c (s, '&');
  g_string_append_printf (s, "%s%s=%s", name, chance (g, 6) ? PICK (g, modifiers) : "", escaped);
}

static void
add_result_param (Gen     *g,
                  GString *s)
{
  if (s->len > 0)
    g_string_append_c (s, '&');
  g_string_append (s, PICK (g, result_params));
}

/* A deep chain or reverse chain of @depth links. */
static void
add_deep_chain (Gen        *g,
                GString    *s,
                const char *type,
                unsigned    depth)
{
  static const char *const has_links[] = {
    "_has:Observation:patient:", "_has:Observation:subject:", "_has:DiagnosticReport:result:",
    "_has:Provenance:target:", "_has:Encounter:patient:", "_has:Foo:bar:", "_has:Observation:",
  };

  if (s->len > 0)
    g_string_append_c (s, '&');
  switch (g_rand_int_range (g->rand, 0, 4))
    {
    case 0:
      g_string_append (s, strcmp (type, "Patient") == 0 ? "organization"
                                                        : "subject:Patient.organization");
      for (unsigned k = 1; k < depth; k++)
        g_string_append (s, ".partof");
      g_string_append (s, ".name=x");
      break;
    case 1:
      /* without types: every target type of every link */
      g_string_append (s, strcmp (type, "Patient") == 0 ? "general-practitioner" : "subject");
      for (unsigned k = 1; k < depth; k++)
        g_string_append (s, chance (g, 2) ? ".organization" : ".partof");
      g_string_append (s, ".name=x");
      break;
    case 2:
      for (unsigned k = 0; k < depth; k++)
        g_string_append (s, PICK (g, has_links));
      g_string_append (s, chance (g, 2) ? "status=final" : "_id=x");
      break;
    default:
      g_string_append (s, "subject:Patient.link:Patient.link:Patient");
      for (unsigned k = 3; k < depth; k++)
        g_string_append (s, ".link:Patient");
      g_string_append (s, ".birthdate=ge1970");
      break;
    }
}

/* Query number @i: its type in *type, its kind (for the report) in *kind. */
static char *
hostile_query (Gen         *g,
               unsigned     i,
               const char **type,
               const char **kind)
{
  static const char *const types[] = { "Patient", "Observation", "Patient", "Observation",
                                       "Encounter", NULL };
  GString *s = g_string_new (NULL);

  *type = PICK (g, types);
  switch (i % 10)
    {
    case 0:
      {
        unsigned n = (unsigned) g_rand_int_range (g->rand, 0, 300);

        *kind = "random bytes";
        for (unsigned k = 0; k < n; k++)
          g_string_append_c (s, (char) g_rand_int_range (g->rand, 1, 256));
      }
      break;
    case 1:
      {
        static const char alphabet[] = "abcxyz_:.=&|,$\\%+-09 *?'\";()ÿé";
        unsigned n = (unsigned) g_rand_int_range (g->rand, 1, 120);

        *kind = "punctuation soup";
        for (unsigned k = 0; k < n; k++)
          g_string_append_c (s, alphabet[g_rand_int_range (g->rand, 0, sizeof alphabet - 1)]);
      }
      break;
    case 2:
      {
        const char *fragment = PICK (g, sql_fragments);
        g_autofree char *escaped = g_uri_escape_string (fragment, NULL, FALSE);
        const char *name = *type == NULL ? "_id"
                           : strcmp (*type, "Patient") == 0 ? PICK (g, patient_params)
                           : strcmp (*type, "Observation") == 0 ? PICK (g, observation_params)
                           : PICK (g, encounter_params);

        *kind = "SQL fragments";
        g_string_append_printf (s, "%s%s=%s", name, chance (g, 4) ? PICK (g, modifiers) : "",
                                chance (g, 2) ? fragment : escaped);
        if (chance (g, 2))
          add_random_param (g, s, *type);
        if (chance (g, 3))
          g_string_append_printf (s, "&%s=1", fragment);
      }
      break;
    case 3:
      {
        /* 100 KB (beyond the query limit), or just under the 4 KiB value limit (runs) */
        unsigned n = chance (g, 2) ? 100 * 1024 : 4000;

        *kind = "huge values";
        if (*type == NULL)
          *type = "Patient";
        g_string_append (s, chance (g, 2) ? "name=" : strcmp (*type, "Patient") == 0
                                                      ? "identifier=" : "_id=");
        for (unsigned k = 0; k < n; k++)
          g_string_append_c (s, (char) ('a' + g_rand_int_range (g->rand, 0, 26)));
        if (chance (g, 2))
          add_random_param (g, s, *type);
      }
      break;
    case 4:
      *kind = "deep chains";
      if (*type == NULL || strcmp (*type, "Encounter") == 0)
        *type = "Observation";
      add_deep_chain (g, s, *type, 1 + (i / 10) % 10);
      if (chance (g, 2))
        add_random_param (g, s, *type);
      break;
    case 5:
      *kind = "include loops";
      add_random_param (g, s, *type);
      g_string_append (s, chance (g, 2) ? "&_include:iterate=*" : "&_revinclude:iterate=*");
      if (chance (g, 2))
        g_string_append (s, "&_include=*&_revinclude=*");
      g_string_append_printf (s, "&_count=%d", chance (g, 25) ? 1000
                                               : g_rand_int_range (g->rand, 1, 30));
      break;
    case 6:
      {
        static const char *const odd[] = {
          "name:foo=x", "code:exactly=1", "birthdate:exact=2020", "subject:Foo=1", "_id:bar=1",
          "name:missing=maybe", "gender:text=ma", "date:not=2020", "identifier:of-type=a|b",
          "identifier:of-type=a|b|c", "code:in=http://example.org/vs", "code:below=123",
          "name.foo=x", "name:=x", ":=x", "=x", "name:missing:missing=true", "_id:not=1",
          "subject:identifier=a|b", "patient:Patient:Patient=1",
        };

        *kind = "unknown modifiers";
        g_string_append (s, PICK (g, odd));
        if (chance (g, 2))
          add_random_param (g, s, *type);
      }
      break;
    case 7:
      {
        static const char *const bad_dates[] = {
          "2020-13-45", "2020-02-30", "2019-00-10", "2020-01-01T24:00:01Z", "2020-01-32",
          "ge2020-13", "lt99999-01-01", "gtabc", "2020-01-01T10:00:00+15:00", "eq", "ge",
          "0000-00-00", "2020--01", "2020-01-01T10:00:00.Z", "１９７０",
        };

        *kind = "invalid dates";
        if (*type == NULL)
          *type = "Patient";
        g_string_append_printf (s, "%s=%s", strcmp (*type, "Patient") == 0 ? "birthdate"
                                            : "date", PICK (g, bad_dates));
        if (chance (g, 2))
          add_random_param (g, s, *type);
      }
      break;
    case 8:
    case 9:
      {
        unsigned n = (unsigned) g_rand_int_range (g->rand, 1, 7);

        *kind = i % 10 == 8 ? "valid mixtures" : "mutated mixtures";
        for (unsigned k = 0; k < n; k++)
          {
            if (chance (g, 3))
              add_result_param (g, s);
            else
              add_random_param (g, s, *type);
          }
        if (i % 10 == 9 && s->len > 0)
          for (unsigned k = 0, m = (unsigned) g_rand_int_range (g->rand, 1, 6); k < m; k++)
            {
              unsigned at = (unsigned) g_rand_int_range (g->rand, 0, (int) s->len);
              char c = (char) g_rand_int_range (g->rand, 1, 256);

              switch (g_rand_int_range (g->rand, 0, 3))
                {
                case 0: s->str[at] = c; break;
                case 1: g_string_insert_c (s, at, c); break;
                default: g_string_erase (s, at, 1); break;
                }
            }
      }
      break;
    default:
      g_assert_not_reached ();
    }
  return g_string_free (s, FALSE);
}

typedef struct
{
  unsigned n_parse_errors;
  unsigned n_search_errors;
  unsigned n_ran;
  unsigned n_next_pages;
  unsigned n_slow;         /* queries that took HOSTILE_MAX_US or more */
  int64_t kind_us[10];     /* time spent per kind (query number % 10) */
  const char *kind_names[10];
  int64_t max_us;
  unsigned max_index;
  const char *max_kind;
} HostileStats;

/* A search that must either give a result or an error with a message. */
static ChartaSearchResult *
hostile_search (ChartaSearchQuery *query,
                unsigned           i,
                HostileStats      *stats)
{
  g_autoptr(GError) error = NULL;
  ChartaSearchResult *result = charta_store_search (synthea->store, query, &error);

  if (result == NULL)
    {
      if (error == NULL || error->message == NULL || error->message[0] == '\0')
        g_error ("hostile query %u: the search failed without a message", i);
      stats->n_search_errors++;
      return NULL;
    }
  g_assert_no_error (error);
  g_assert_nonnull (result->entries);
  g_assert_cmpint (result->total, >=, -1);
  for (unsigned k = 0; k < result->entries->len; k++)
    {
      ChartaSearchEntry *entry = result->entries->pdata[k];

      g_assert_nonnull (entry->json);
      g_assert_nonnull (entry->resource);
    }
  {
    g_autoptr(GBytes) bundle = charta_search_result_to_bundle (result, query, NULL, "x");

    g_assert_nonnull (bundle);
    g_assert_cmpuint (g_bytes_get_size (bundle), >, 0);
  }
  stats->n_ran++;
  return result;
}

static void
test_hostile (gpointer      fixture,
              gconstpointer data)
{
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GError) error = NULL;
  HostileStats stats = { 0, };
  Gen g = { 0, };
  GHashTableIter iter;
  gpointer key, value;
  int64_t start_all;

  if (get_synthea () == NULL)
    return;
  before = charta_store_count_by_type (synthea->store, &error);
  g_assert_no_error (error);

  g.rand = g_rand_new_with_seed (0x5ea2c4);
  g.patient_ids = g_ptr_array_new ();
  g.codes = g_ptr_array_new ();
  for (unsigned i = 0; i < synthea->patients->len; i++)
    g_ptr_array_add (g.patient_ids, ((Patient *) synthea->patients->pdata[i])->id);
  for (unsigned i = 0; i < synthea->observations->len; i += 97)
    g_ptr_array_add (g.codes, ((Item *) synthea->observations->pdata[i])->codes->pdata[0]);

  start_all = g_get_monotonic_time ();
  for (unsigned i = 0; i < N_HOSTILE; i++)
    {
      const char *type = NULL;
      const char *kind = NULL;
      g_autofree char *text = hostile_query (&g, i, &type, &kind);
      ChartaSearchQueryFlags flags = chance (&g, 4) ? CHARTA_SEARCH_QUERY_STRICT
                                                    : CHARTA_SEARCH_QUERY_DEFAULT;
      g_autoptr(ChartaSearchQuery) query = NULL;
      g_autoptr(ChartaSearchResult) result = NULL;
      g_autoptr(GError) parse_error = NULL;
      /* every choice made before the query runs, so that query #i stays the same query
       * whatever the store answers to the others */
      int compartment = g_rand_int_range (g.rand, 0, 10);
      gboolean compartment_encounter = chance (&g, 2);
      gboolean forge = chance (&g, 50);
      gboolean forge_readable = chance (&g, 2);
      gboolean follow = chance (&g, 4);
      int64_t start = g_get_monotonic_time ();
      int64_t elapsed;

      query = charta_search_query_parse (type, text, flags, &parse_error);
      if (query == NULL)
        {
          g_assert_nonnull (parse_error);
          g_assert_nonnull (parse_error->message);
          g_assert_cmpstr (parse_error->message, !=, "");
          stats.n_parse_errors++;
        }
      else
        {
          g_assert_no_error (parse_error);
          if (type != NULL && compartment == 0)
            {
              query->compartment_type = g_strdup ("Patient");
              query->compartment_id = g_strdup (g.patient_ids->pdata[i % g.patient_ids->len]);
            }
          else if (type != NULL && compartment == 1)
            {
              query->compartment_type = g_strdup (compartment_encounter ? "Encounter" : "Foo");
              query->compartment_id = g_strdup ("' OR 1=1 --");
            }
          if (forge)
            {
              /* a forged cursor */
              g_free (query->cursor);
              query->cursor = g_strdup (forge_readable ? "c1.WyJ4IiwxXQ" : "c1.!!");
            }
          result = hostile_search (query, i, &stats);
          if (result != NULL && result->next_cursor != NULL && follow)
            {
              /* and its next page */
              g_autoptr(ChartaSearchResult) next = NULL;

              g_free (query->cursor);
              query->cursor = g_strdup (result->next_cursor);
              next = hostile_search (query, i, &stats);
              stats.n_next_pages++;
            }
        }
      elapsed = g_get_monotonic_time () - start;
      stats.kind_us[i % 10] += elapsed;
      stats.kind_names[i % 10] = kind;
      if (elapsed > stats.max_us)
        {
          stats.max_us = elapsed;
          stats.max_index = i;
          stats.max_kind = kind;
        }
      if (elapsed >= HOSTILE_MAX_US)
        {
          /* generated text and ids only: nothing of a resource */
          g_autofree char *shown = g_strescape (text, NULL);

          size_t n = strlen (shown);

          g_test_message ("hostile query %u (%s, %s, %zu bytes) took %" G_GINT64_FORMAT " ms: "
                          "%.200s%s%s", i, kind, type != NULL ? type : "(store)", strlen (text),
                          elapsed / 1000, shown, n > 300 ? " … " : "",
                          n > 300 ? shown + n - 100 : n > 200 ? shown + 200 : "");
        }
      if (elapsed >= HOSTILE_MAX_US)
        stats.n_slow++;
    }
  g_test_message ("hostile queries: %u in %.1f s; %u refused by the parser, %u refused by the "
                  "store, %u ran (%u of them next pages); slowest %.1f ms (#%u, %s)",
                  N_HOSTILE, (double) (g_get_monotonic_time () - start_all) / G_USEC_PER_SEC,
                  stats.n_parse_errors, stats.n_search_errors, stats.n_ran, stats.n_next_pages,
                  stats.max_us / 1000.0, stats.max_index, stats.max_kind);
  for (unsigned k = 0; k < 10; k++)
    g_test_message ("  %s: %.1f s in all", stats.kind_names[k],
                    (double) stats.kind_us[k] / G_USEC_PER_SEC);
  if (stats.n_slow > 0)
    soft_fail ("%u hostile queries took 1 s or more (the slowest %.1f s)", stats.n_slow,
               (double) stats.max_us / G_USEC_PER_SEC);
  /* every kind of outcome happened */
  g_assert_cmpuint (stats.n_parse_errors, >, 0);
  g_assert_cmpuint (stats.n_ran, >, 0);

  /* and nothing was written */
  after = charta_store_count_by_type (synthea->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (after), ==, g_hash_table_size (before));
  g_hash_table_iter_init (&iter, before);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_cmpint (charta_test_count_of (after, key), ==, *(int64_t *) value);

  g_ptr_array_unref (g.patient_ids);
  g_ptr_array_unref (g.codes);
  g_rand_free (g.rand);
}

/* ---- cursor stability -------------------------------------------------------------------- */

/* Page 1 of Patient?_count=10; then 5 new patients and an update of one patient of page 3;
 * then the other pages: the original patients each once, in the order of creation (the
 * updated one in its place), then the 5 new ones in the order they were made. */
static void
test_cursor_stability (gpointer      fixture,
                       gconstpointer data)
{
  g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) created = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *cursor = NULL;
  Patient *updated;
  unsigned n_original;
  unsigned n_pages = 0;

  if (get_synthea () == NULL)
    return;
  n_original = synthea->patients->len;
  g_assert_cmpuint (n_original, >, 30);
  updated = synthea->patients->pdata[25];
  do
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ChartaSearchQuery) query = charta_search_query_parse ("Patient", "_count=10",
                                                                      0, &error);
      g_autoptr(ChartaSearchResult) result = NULL;

      g_assert_no_error (error);
      query->cursor = g_steal_pointer (&cursor);
      result = charta_store_search (synthea->store, query, &error);
      g_assert_no_error (error);
      g_assert_nonnull (result);
      g_assert_cmpuint (result->entries->len, <=, 10);
      for (unsigned i = 0; i < result->entries->len; i++)
        g_ptr_array_add (order, entry_ref (result->entries->pdata[i]));
      cursor = g_strdup (result->next_cursor);
      n_pages++;

      if (n_pages == 1)
        {
          /* the writes, between pages 1 and 2 */
          g_autoptr(ChartaResource) current = NULL;
          g_autoptr(ChartaResource) changed = NULL;
          g_autoptr(ChartaResource) stored = NULL;
          g_autoptr(JsonNode) node = NULL;
          g_autofree char *json = NULL;
          JsonObject *object;
          gboolean was_created = TRUE;

          g_assert_nonnull (cursor);
          for (unsigned k = 0; k < 5; k++)
            {
              g_autofree char *text = g_strdup_printf ("{\"resourceType\":\"Patient\","
                                                       "\"name\":[{\"family\":\"Cursor%u\"}]}",
                                                       k);
              g_autoptr(ChartaResource) resource = charta_test_parse (text);
              g_autoptr(ChartaResource) made = charta_store_create (synthea->store, resource,
                                                                    NULL, &error);

              g_assert_no_error (error);
              g_ptr_array_add (created, g_strdup_printf ("Patient/%s",
                                                         charta_resource_get_id (made)));
            }
          current = charta_store_read (synthea->store, "Patient", updated->id, &error);
          g_assert_no_error (error);
          json = charta_resource_to_json (current, FALSE, NULL);
          node = json_from_string (json, &error);
          g_assert_no_error (error);
          object = json_node_get_object (node);
          json_object_set_boolean_member (object, "active",
                                          !json_object_get_boolean_member_with_default (
                                            object, "active", TRUE));
          g_clear_pointer (&json, g_free);
          json = json_to_string (node, FALSE);
          changed = charta_test_parse (json);
          stored = charta_store_update (synthea->store, changed, 1, NULL, &was_created, &error);
          g_assert_no_error (error);
          g_assert_false (was_created);
          g_assert_cmpstr (charta_resource_get_version_id (stored), ==, "2");
        }
      g_assert_cmpuint (n_pages, <, 1000);
    }
  while (cursor != NULL);

  g_test_message ("cursor stability: %u pages, %u patients (%u new)", n_pages, order->len,
                  created->len);
  g_assert_cmpuint (order->len, ==, n_original + created->len);
  for (unsigned i = 0; i < order->len; i++)
    {
      if (!g_hash_table_add (seen, order->pdata[i]))
        g_error ("%s came twice", (char *) order->pdata[i]);
    }
  /* the originals in the order they were created, page 3's updated one in its place */
  for (unsigned i = 0; i < n_original; i++)
    g_assert_cmpstr (order->pdata[i], ==, ((Patient *) synthea->patients->pdata[i])->ref);
  g_assert_cmpstr (order->pdata[25], ==, updated->ref);
  /* the new ones at the end */
  for (unsigned i = 0; i < created->len; i++)
    g_assert_cmpstr (order->pdata[n_original + i], ==, created->pdata[i]);
}

/* After each case: when it failed, the run stops there (unless -k) by an abort that leaves no
 * chance to clean up, so the shared store goes now (a later case makes it again). */
static void
tear_down (gpointer      fixture,
           gconstpointer data)
{
  if (g_test_failed ())
    synthea_free (g_steal_pointer (&synthea));
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add_vtable ("/charta/backend/search-synthea/" path, 0, NULL, NULL, func, tear_down)
  ADD ("import", test_import);
  ADD ("observation-code-date", test_observation_code_date);
  ADD ("condition-status", test_condition_status);
  ADD ("encounter-month", test_encounter_month);
  ADD ("patient-name", test_patient_name);
  ADD ("patient-birthdate", test_patient_birthdate);
  ADD ("patient-identifier", test_patient_identifier);
  ADD ("observation-chain", test_observation_chain);
  ADD ("chain-depth", test_chain_depth);
  ADD ("revinclude-provenance", test_revinclude_provenance);
  ADD ("has", test_has);
  ADD ("compartment", test_compartment);
  ADD ("sort-date", test_sort_date);
  ADD ("paging", test_paging);
  ADD ("count-zero", test_count_zero);
  ADD ("query-time", test_query_time);
  /* these two last: the hostile case checks that it changed nothing, the cursor case writes */
  ADD ("hostile", test_hostile);
  ADD ("cursor-stability", test_cursor_stability);
#undef ADD

  status = g_test_run ();
  synthea_free (g_steal_pointer (&synthea));
  return status;
}
