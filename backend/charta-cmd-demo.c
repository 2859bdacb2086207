/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-cmd-demo.c: `charta demo [--patients N] [--seed S] STORE`.
 *
 * Creates STORE (or fills an existing empty store) with the synthetic demo of charta-demo.h
 * and prints what it wrote and where to look next: the records whose history shows a
 * correction, and the duplicate pair.  A store that already holds anything is refused, so a
 * demo never mixes with real data; the demo's ids would otherwise update whatever has them.
 *
 * Exit status: 0 done, 1 when the store cannot be opened, holds data, or a write fails (what
 * was committed before the failure stays: the message says so), 2 for a usage error.
 */
#define G_LOG_DOMAIN "charta-cmd-demo"

#include <string.h>

#include <glib/gstdio.h>

#include "charta-cmds.h"
#include "charta-demo.h"

/* TRUE when @store holds any version at all (a deleted resource counts). */
static gboolean
store_has_data (ChartaStore *store,
                gboolean    *has_data,
                GError     **error)
{
  ChartaHistoryOptions options = { 0 };
  g_autoptr(GPtrArray) page = NULL;

  options.count = 1;
  page = charta_store_history (store, NULL, NULL, &options, NULL, error);
  if (page == NULL)
    return FALSE;
  *has_data = page->len > 0;
  return TRUE;
}

/* @path as a shell word: itself when it is plain, else quoted. */
static char *
shell_word (const char *path)
{
  for (const char *c = path; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c) && strchr ("/._-+,:@%", *c) == NULL)
      return g_shell_quote (path);
  return g_strdup (path);
}

static void
print_look (const char *quoted_store,
            const char *verb,
            const char *type,
            const char *id,
            const char *what)
{
  g_autofree char *command = NULL;

  if (id == NULL)
    return;
  command = g_strdup_printf ("charta %s %s %s/%s", verb, quoted_store, type, id);
  g_print ("  %-60s %s\n", command, what);
}

static void
print_summary (const char            *path,
               const ChartaDemoOptions *options,
               const ChartaDemoStats *stats,
               int64_t                elapsed_us)
{
  const struct
  {
    const char *type;
    unsigned count;
  } rows[] = {
    { "Organization", stats->n_organizations },
    { "Practitioner", stats->n_practitioners },
    { "Patient", stats->n_patients },
    { "Encounter", stats->n_encounters },
    { "Condition", stats->n_conditions },
    { "Observation", stats->n_observations },
    { "MedicationRequest", stats->n_medication_requests },
    { "AllergyIntolerance", stats->n_allergy_intolerances },
    { "Immunization", stats->n_immunizations },
    { "DocumentReference", stats->n_document_references },
    { "Binary", stats->n_binaries },
  };
  g_autofree char *quoted = shell_word (path);

  g_print ("Demo written to %s (seed %u) in %" G_GINT64_FORMAT ".%01" G_GINT64_FORMAT " s: "
           "%u patients, %u resources in %u transactions, %u corrections, each write with "
           "its Provenance.\n",
           path, options->seed, elapsed_us / 1000000, (elapsed_us / 100000) % 10,
           stats->n_patients, stats->n_resources, stats->n_transactions, stats->n_corrections);
  for (size_t i = 0; i < G_N_ELEMENTS (rows); i++)
    g_print ("  %7u %s\n", rows[i].count, rows[i].type);

  g_print ("\nWhere to look next:\n");
  print_look (quoted, "history", "Patient", stats->amended_patient_id,
              "birth date amended: transcription error");
  print_look (quoted, "history", "Patient", stats->moved_patient_id, "new address");
  print_look (quoted, "history", "Observation", stats->nullified_observation_id,
              "weight entered in error");
  print_look (quoted, "history", "AllergyIntolerance", stats->confirmed_allergy_id,
              "allergy confirmed");
  print_look (quoted, "history", "Condition", stats->resolved_condition_id,
              "condition resolved");
  print_look (quoted, "history", "MedicationRequest", stats->completed_medication_id,
              "medication completed");
  if (stats->duplicate_patient_ids[0] != NULL)
    {
      print_look (quoted, "get", "Patient", stats->duplicate_patient_ids[0],
                  "a possible duplicate: same name and birth date…");
      print_look (quoted, "get", "Patient", stats->duplicate_patient_ids[1],
                  "…and another MRN");
    }
  {
    g_autofree char *compartment = g_strdup_printf ("'Patient/%s/Observation?code=http://loinc.org"
                                                    "|29463-7&_sort=-date'",
                                                    stats->amended_patient_id);

    g_print ("  charta search %s %s\n  %-60s %s\n", quoted, compartment, "",
             "a patient's body weights, newest first");
    g_print ("  charta search %s %-44s %s\n", quoted,
             "'Patient?_has:Condition:patient:code=44054006'", "patients with diabetes");
    g_print ("  charta search %s %-44s %s\n", quoted,
             "'DocumentReference?subject:missing=true'", "scans waiting in the indexing queue");
  }
  if (stats->misfiled_document_id != NULL)
    {
      g_autofree char *what = g_strdup_printf ("a scan filed to Patient/%s: its page shows "
                                               "Patient/%s", stats->misfiled_subject_id,
                                               stats->misfiled_patient_id);

      print_look (quoted, "get", "DocumentReference", stats->misfiled_document_id, what);
    }
}

int
charta_cmd_demo (int    argc,
                 char **argv)
{
  int patients = CHARTA_DEMO_DEFAULT_PATIENTS;
  g_autofree char *seed_text = NULL;
  g_auto(GStrv) rest = NULL;
  GOptionEntry entries[] = {
    { "patients", 'n', 0, G_OPTION_ARG_INT, &patients,
      "How many patients (default 50; the last is a duplicate registration)", "N" },
    { "seed", 's', 0, G_OPTION_ARG_STRING, &seed_text,
      "Seed of the generator, 0 to 4294967295 (default 1): the same seed gives the same demo",
      "S" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL, "STORE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChartaStore) store = NULL;
  ChartaDemoOptions options;
  g_auto(ChartaDemoStats) stats = { 0 };
  gboolean created = FALSE;
  const char *path;
  int64_t start;

  g_set_prgname ("charta demo");
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                "Creates STORE filled with a synthetic demo: patients with "
                                "encounters, conditions,\nvital signs and laboratory results "
                                "over five years, medications, allergies,\nimmunizations, and a "
                                "few records corrected so that history and provenance\nshow "
                                "something.  Nothing in it is real; dates fall in the five "
                                "years before\n" CHARTA_DEMO_REFERENCE_DATE ", whatever today "
                                "is.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("charta demo: %s\n", error->message);
      return CHARTA_EXIT_USAGE;
    }
  if (rest == NULL || rest[0] == NULL || rest[1] != NULL)
    {
      g_printerr ("charta demo: give exactly one STORE file (see charta demo --help)\n");
      return CHARTA_EXIT_USAGE;
    }
  path = rest[0];

  charta_demo_options_init (&options);
  if (patients < 1 || patients > CHARTA_DEMO_MAX_PATIENTS)
    {
      g_printerr ("charta demo: --patients must be between 1 and %u, not %d\n",
                  CHARTA_DEMO_MAX_PATIENTS, patients);
      return CHARTA_EXIT_USAGE;
    }
  options.n_patients = (unsigned) patients;
  if (seed_text != NULL)
    {
      guint64 seed;

      if (!g_ascii_string_to_unsigned (seed_text, 10, 0, G_MAXUINT32, &seed, &error))
        {
          g_printerr ("charta demo: --seed: %s\n", error->message);
          return CHARTA_EXIT_USAGE;
        }
      options.seed = (guint32) seed;
    }

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      gboolean has_data = FALSE;

      store = charta_store_open (path, CHARTA_STORE_FLAGS_NONE, &error);
      if (store == NULL)
        {
          g_printerr ("charta demo: %s\n", error->message);
          return CHARTA_EXIT_INVALID;
        }
      if (!store_has_data (store, &has_data, &error))
        {
          g_printerr ("charta demo: %s: %s\n", path, error->message);
          return CHARTA_EXIT_INVALID;
        }
      if (has_data)
        {
          g_printerr ("charta demo: %s already holds data; the demo goes into a new or empty "
                      "store\n", path);
          return CHARTA_EXIT_INVALID;
        }
    }
  else
    {
      store = charta_store_open (path, CHARTA_STORE_FLAGS_CREATE, &error);
      if (store == NULL)
        {
          g_printerr ("charta demo: %s\n", error->message);
          return CHARTA_EXIT_INVALID;
        }
      created = TRUE;
    }

  start = g_get_monotonic_time ();
  if (!charta_demo_populate (store, &options, &stats, &error))
    {
      g_printerr ("charta demo: %s\n", error->message);
      g_printerr ("charta demo: %s holds the part of the demo written before the failure%s\n",
                  path, created ? "; remove it before trying again" : "");
      return CHARTA_EXIT_INVALID;
    }
  charta_store_close (store);
  print_summary (path, &options, &stats, g_get_monotonic_time () - start);
  return CHARTA_EXIT_OK;
}
