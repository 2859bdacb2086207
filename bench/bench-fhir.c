/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * bench-fhir.c: parse + validate + extract every search index value, over the Synthea bundles.
 *
 *   build/bench/bench-fhir [--runs N] [--limit FILES] [CORPUS]
 *
 * CORPUS defaults to $CHARTA_CORPUS, else ../shared/corpus.  Every entry.resource of every
 * bundle in CORPUS/synthea is first serialised to its own JSON text (untimed), as a store
 * receives resources one by one.  Then, single-threaded, each stage is timed over all of them:
 *
 *   json-glib json_parser_load_from_data alone, for reference: what reading the same JSON costs
 *             with the library's own (laxer) parser
 *   parse     charta_resource_new_from_data (strict reader with limits + number texts): the
 *             ceiling of the pipeline, since nothing downstream can beat reading the bytes
 *   +validate parse, then charta_validate_resource
 *   +extract  parse, validate, then charta_search_index_extract (all the type's parameters)
 *
 * Each stage runs --runs times (default 5); the median is printed in resources/s, with its
 * ratio to the parse ceiling.  The machine is shared and noisy: read medians and ratios, not
 * one run.
 */
#define G_LOG_DOMAIN "charta-bench"

#include <stdio.h>
#include <stdlib.h>

#include "charta-fhir.h"

typedef struct
{
  GPtrArray *texts;   /* char *: one resource's JSON */
  GArray *lengths;    /* size_t */
  size_t bytes;
} Corpus;

static void
load_bundle (Corpus     *corpus,
             const char *path)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;
  JsonArray *entries;

  if (!json_parser_load_from_mapped_file (parser, path, &error))
    {
      fprintf (stderr, "%s: %s\n", path, error->message);
      exit (1);
    }
  entries = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                          "entry");
  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);
      JsonNode *resource = json_object_get_member (entry, "resource");
      g_autoptr(JsonGenerator) gen = NULL;
      size_t length = 0;
      char *text;

      if (resource == NULL)
        continue;
      gen = json_generator_new ();
      json_generator_set_root (gen, resource);
      text = json_generator_to_data (gen, &length);
      g_ptr_array_add (corpus->texts, text);
      g_array_append_val (corpus->lengths, length);
      corpus->bytes += length;
    }
}

typedef enum
{
  STAGE_CEILING,
  STAGE_PARSE,
  STAGE_VALIDATE,
  STAGE_EXTRACT,
} Stage;

static const char *stage_names[] = { "json-glib (reference)", "parse (ceiling)", "+validate", "+extract" };

static size_t invalid_count;
static size_t index_values;

static double
run_stage (Corpus *corpus,
           Stage   stage)
{
  int64_t start = g_get_monotonic_time ();

  invalid_count = 0;
  index_values = 0;
  for (unsigned i = 0; i < corpus->texts->len; i++)
    {
      const char *text = g_ptr_array_index (corpus->texts, i);
      size_t length = g_array_index (corpus->lengths, size_t, i);
      g_autoptr(GError) error = NULL;
      g_autoptr(ChartaResource) resource = NULL;

      if (stage == STAGE_CEILING)
        {
          g_autoptr(JsonParser) parser = json_parser_new_immutable ();
          if (!json_parser_load_from_data (parser, text, length, &error))
            g_error ("json-glib: %s", error->message);
          continue;
        }

      resource = charta_resource_new_from_data (text, length, NULL, &error);
      if (resource == NULL)
        g_error ("resource %u: %s", i, error->message);
      if (stage >= STAGE_VALIDATE)
        {
          g_autoptr(ChartaOutcome) outcome = charta_outcome_new ();
          if (!charta_validate_resource (resource, outcome))
            invalid_count++;
        }
      if (stage >= STAGE_EXTRACT)
        {
          g_autoptr(GPtrArray) values = charta_search_index_extract (resource, &error);
          if (values == NULL)
            g_error ("resource %u (%s/%s): %s", i, charta_resource_get_resource_type (resource),
                     charta_resource_get_id (resource), error->message);
          index_values += values->len;
        }
    }
  return (g_get_monotonic_time () - start) / 1e6;
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

int
main (int    argc,
      char **argv)
{
  int runs = 5;
  int limit = 0;
  g_autofree char *synthea = NULL;
  const char *corpus_dir = NULL;
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  Corpus corpus = { g_ptr_array_new_with_free_func (g_free), g_array_new (FALSE, FALSE, sizeof (size_t)), 0 };
  const char *name;
  double ceiling = 0;

  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--runs") && i + 1 < argc)
        runs = atoi (argv[++i]);
      else if (g_str_equal (argv[i], "--limit") && i + 1 < argc)
        limit = atoi (argv[++i]);
      else
        corpus_dir = argv[i];
    }
  if (runs < 1)
    runs = 1;
  if (corpus_dir == NULL)
    corpus_dir = g_getenv ("CHARTA_CORPUS");
  if (corpus_dir == NULL)
    corpus_dir = "../shared/corpus";

  synthea = g_build_filename (corpus_dir, "synthea", NULL);
  dir = g_dir_open (synthea, 0, &error);
  if (dir == NULL)
    {
      fprintf (stderr, "bench-fhir: %s (set CHARTA_CORPUS)\n", error->message);
      return 1;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".json"))
      g_ptr_array_add (names, g_build_filename (synthea, name, NULL));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (unsigned i = 0; i < names->len && (limit == 0 || (int) i < limit); i++)
    load_bundle (&corpus, g_ptr_array_index (names, i));

  printf ("bench-fhir: %u resources, %.1f MB of JSON, %u bundles, %d runs per stage, 1 thread\n",
          corpus.texts->len, corpus.bytes / 1e6, limit ? MIN ((unsigned) limit, names->len) : names->len,
          runs);

  /* Warm up: compile every FHIRPath expression and build the model's lookup tables once. */
  run_stage (&corpus, STAGE_EXTRACT);

  /* The parse ceiling first, so every later line can show its ratio. */
  static const Stage order[] = { STAGE_PARSE, STAGE_CEILING, STAGE_VALIDATE, STAGE_EXTRACT };

  for (unsigned k = 0; k < G_N_ELEMENTS (order); k++)
    {
      Stage stage = order[k];
      g_autofree double *times = g_new (double, runs);
      double median, rate;

      for (int r = 0; r < runs; r++)
        times[r] = run_stage (&corpus, stage);
      qsort (times, runs, sizeof (double), compare_double);
      median = times[runs / 2];
      rate = corpus.texts->len / median;
      if (stage == STAGE_PARSE)
        ceiling = rate;
      printf ("  %-20s %9.0f resources/s  %7.1f MB/s  median %.3f s (min %.3f, max %.3f)  %.2fx ceiling\n",
              stage_names[stage], rate, corpus.bytes / 1e6 / median, median, times[0],
              times[runs - 1], rate / ceiling);
    }
  printf ("  ratios are to the parse ceiling, measured in this run\n");
  printf ("  %zu invalid resources, %zu index values per pass\n", invalid_count, index_values);

  g_ptr_array_unref (corpus.texts);
  g_array_unref (corpus.lengths);
  return 0;
}
