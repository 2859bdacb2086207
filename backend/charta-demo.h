/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-demo.h: a deterministic synthetic demo population for a ChartaStore.
 *
 * charta_demo_populate() fills a store with made-up patient records from our own generator
 * (nothing is copied from any real or sample data set): organizations, practitioners, and for
 * each patient a chart of encounters, conditions (SNOMED CT), vital signs and laboratory
 * results (LOINC, UCUM units, reference ranges; enough points over five years to plot trends),
 * medication requests (RxNorm), allergies and immunizations (CVX).  Each patient's record is
 * written as one transaction whose entries reference each other through urn:uuid fullUrls.
 * Then a few records are corrected as separate writes with a ChartaChange, so that history and
 * provenance show something: a birth date amended for a transcription error, a weight marked
 * entered-in-error, an allergy confirmed, a condition resolved (and its medication completed),
 * an address changed; and one person is registered twice (same name and birth date, another
 * MRN) for HIM staff to find.  Last, scanned paper (charta-scan-gen.h), each a Binary and a
 * DocumentReference: filed documents (consents, outside records, a release of information, a
 * health history, as multi-page PDF, PNG, multi-page TIFF and JPEG, with type, date and
 * encounter), scans waiting in the indexing queue (no subject, docStatus preliminary), and one
 * consent filed to the wrong patient: its page shows another patient's name, birth date and
 * MRN than its subject's (the stats name both).
 *
 * The output depends only on the options: dates are relative to a fixed reference date
 * (CHARTA_DEMO_REFERENCE_DATE), randomness comes from a GRand seeded with options->seed, every
 * number is formatted from integers, and every id is chosen by the generator.  Two stores made
 * with the same options hold the same bodies, apart from what the store's clock sets
 * (meta.lastUpdated, Provenance.recorded) and the ids the store gives Provenance resources.
 */
#pragma once

#include "charta-store.h"

G_BEGIN_DECLS

#define CHARTA_DEMO_DEFAULT_PATIENTS 50
#define CHARTA_DEMO_MAX_PATIENTS     10000
#define CHARTA_DEMO_DEFAULT_SEED     1
/* Encounters fall in the five years before this date. */
#define CHARTA_DEMO_REFERENCE_DATE   "2026-01-01"

typedef struct
{
  unsigned n_patients;  /* Patient records, 1 to CHARTA_DEMO_MAX_PATIENTS; with 2 or more, the
                         * last one is a duplicate registration of an earlier patient */
  guint32  seed;        /* seeds the GRand: the same seed gives the same demo */
} ChartaDemoOptions;

/* What charta_demo_populate() wrote.  Counts are resources (Provenance not counted); the ids
 * name the records that the corrections touched, so a caller can point at them. */
typedef struct
{
  unsigned n_organizations;
  unsigned n_practitioners;
  unsigned n_patients;
  unsigned n_encounters;
  unsigned n_conditions;
  unsigned n_observations;
  unsigned n_medication_requests;
  unsigned n_allergy_intolerances;
  unsigned n_immunizations;
  unsigned n_binaries;             /* scanned documents' content */
  unsigned n_document_references;  /* scanned documents */
  unsigned n_resources;            /* the sum of the above */
  unsigned n_transactions;         /* one for the organizations and practitioners, one per
                                    * patient */
  unsigned n_corrections;          /* updates made after the initial load */
  unsigned n_scan_writes;          /* writes of the scanned documents, each with its
                                    * Provenance: a Binary and a DocumentReference each */
  unsigned n_scans_filed;          /* documents filed to the patient on their pages */
  unsigned n_scans_queued;         /* documents in the indexing queue */

  char *him_clerk_id;              /* Practitioner who made the birth date amendment */
  char *amended_patient_id;        /* Patient whose birthDate was corrected: activity amend,
                                    * reason "transcription error", agent the HIM clerk */
  char *moved_patient_id;          /* Patient whose address changed (activity UPDATE) */
  char *nullified_observation_id;  /* body weight set to status entered-in-error (NULLIFY) */
  char *confirmed_allergy_id;      /* AllergyIntolerance unconfirmed, then confirmed */
  char *resolved_condition_id;     /* Condition active, then resolved */
  char *completed_medication_id;   /* MedicationRequest active, then completed */
  char *duplicate_patient_ids[2];  /* the same person registered twice; NULL when
                                    * n_patients < 2 */
  char *misfiled_document_id;      /* DocumentReference filed to the wrong patient… */
  char *misfiled_subject_id;       /* …the Patient it is filed to… */
  char *misfiled_patient_id;       /* …and the one whose name and birth date its page shows
                                    * (all three NULL when n_patients < 3: nobody to confuse) */
} ChartaDemoStats;

/* Sets the defaults: CHARTA_DEMO_DEFAULT_PATIENTS, CHARTA_DEMO_DEFAULT_SEED. */
void     charta_demo_options_init (ChartaDemoOptions       *options);

/* Frees the strings of @stats and zeroes it. */
void     charta_demo_stats_clear  (ChartaDemoStats         *stats);

/* Writes the demo into @store (which should be empty: the generator's ids would otherwise
 * update whatever has them).  @options NULL means the defaults; @stats (may be NULL) is
 * cleared and filled.  On error (CHARTA_STORE_ERROR from the store, G_IO_ERROR_INVALID_ARGUMENT
 * for bad options), what was committed before stays in the store. */
gboolean charta_demo_populate     (ChartaStore             *store,
                                   const ChartaDemoOptions *options,
                                   ChartaDemoStats         *stats,
                                   GError                 **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ChartaDemoStats, charta_demo_stats_clear)

G_END_DECLS
