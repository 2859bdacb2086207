/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-demo.c: the synthetic demo population (see charta-demo.h).
 *
 * The generator plans each patient first (identity, baselines of the measured values, chronic
 * conditions and when they are diagnosed, encounters) and then writes the chart in date order:
 * every encounter gets vital signs, the yearly check-ups a laboratory panel, follow-ups the
 * labs of the condition they follow.  Values come from simple models (a baseline per patient,
 * a trend, the effect of a treatment once it starts, noise), so plots show a story: a new
 * diabetic's HbA1c falling after metformin, a hypertensive's blood pressure after lisinopril,
 * anaemia recovering on iron.
 *
 * Determinism: one GRand, seeded from the options, drawn from in a fixed order; dates are GDate
 * Julian days counted from a fixed reference date; values are integers in a fixed-point scale
 * and printed with format_fixed(), never through a double.  Resources are written as JSON
 * text (so numbers keep exactly the text we print) and parsed into ChartaResource.  Ids are
 * the generator's own ("pat-007", "obs-007-12"); urn:uuid fullUrls are derived from them with
 * SHA-1, so references inside a patient's transaction use urn:uuid and the store rewrites
 * them to Type/id.
 *
 * Nothing here logs anything but ids: the names are made up, but the habit stays.
 */
#define G_LOG_DOMAIN "charta-demo"

#include <stdarg.h>
#include <string.h>

#include "charta-demo.h"
#include "charta-scan-gen.h"

/* ---- fixed points ------------------------------------------------------------------------ */

#define REF_YEAR      2026          /* CHARTA_DEMO_REFERENCE_DATE */
#define WINDOW_YEARS  5             /* encounters fall in [REF_YEAR - 5, REF_YEAR) */

#define HOSPITAL_NAME "Riverside General Hospital"
#define CLINIC_NAME   "Alder Falls Family Medicine"
#define LAB_NAME      "Riverside Clinical Laboratory"
#define STATE         "MA"
#define AREA_CODE     "413"

/* 2.16.840.1.113883.19 is HL7's arc for examples: no real organization has it. */
#define OID_ROOT      "urn:oid:2.16.840.1.113883.19.5"
#define MRN_SYSTEM    OID_ROOT ".1"
#define STAFF_SYSTEM  OID_ROOT ".2"
#define ORG_SYSTEM    OID_ROOT ".3"

#define SNOMED        "http://snomed.info/sct"
#define LOINC         "http://loinc.org"
#define RXNORM        "http://www.nlm.nih.gov/research/umls/rxnorm"
#define CVX           "http://hl7.org/fhir/sid/cvx"
#define UCUM          "http://unitsofmeasure.org"
#define BCP47         "urn:ietf:bcp:47"
#define V2_0203       "http://terminology.hl7.org/CodeSystem/v2-0203"
#define V2_0360       "http://terminology.hl7.org/CodeSystem/v2-0360|2.7"
#define V3_ACTCODE    "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#define V3_MARITAL    "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
#define V3_PARTTYPE   "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
#define V3_INTERP     "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
#define OBS_CATEGORY  "http://terminology.hl7.org/CodeSystem/observation-category"
#define ORG_TYPE      "http://terminology.hl7.org/CodeSystem/organization-type"
#define COND_CLINICAL "http://terminology.hl7.org/CodeSystem/condition-clinical"
#define COND_VERIFY   "http://terminology.hl7.org/CodeSystem/condition-ver-status"
#define COND_CATEGORY "http://terminology.hl7.org/CodeSystem/condition-category"
#define AI_CLINICAL   "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
#define AI_VERIFY     "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"

/* A GDate Julian day number (day 1 is 0001-01-01). */
typedef guint32 Day;

/* ---- made-up people ------------------------------------------------------------------------ */

typedef struct
{
  const char *language;          /* BCP 47 code of the preferred language */
  const char *language_display;
  unsigned weight;               /* relative share of the population */
  const char *const *female;     /* NULL-terminated */
  const char *const *male;
  const char *const *family;
} Culture;

#define NAMES(...) (const char *const[]) { __VA_ARGS__, NULL }

static const Culture cultures[] = {
  { "en", "English", 36,
    NAMES ("Emily", "Grace", "Hannah", "Olivia", "Margaret", "Siobhán", "Zoë", "Abigail",
           "Charlotte", "Ruth", "Niamh", "Evelyn"),
    NAMES ("James", "David", "Liam", "Thomas", "Robert", "Seán", "Ciarán", "William", "Henry",
           "Michael", "Patrick", "Samuel"),
    NAMES ("Smith", "Johnson", "O'Brien", "Walker", "Thompson", "Bennett", "Byrne",
           "Kavanagh", "Miller", "Hughes", "Carter", "Fitzgerald", "Okafor", "Adeyemi",
           "Mensah", "Washington") },
  { "es", "Spanish", 9,
    NAMES ("María", "Lucía", "Sofía", "Inés", "Carmen", "Ximena", "Begoña"),
    NAMES ("José", "Andrés", "Mateo", "Tomás", "Javier", "Joaquín", "Raúl"),
    NAMES ("García", "Fernández", "Martínez", "Núñez", "López", "Peña", "Ibáñez", "Ortiz") },
  { "pt", "Portuguese", 4,
    NAMES ("Beatriz", "Conceição", "Joana", "Luísa"),
    NAMES ("João", "Sebastião", "Rui", "Gonçalo"),
    NAMES ("Gonçalves", "Magalhães", "Araújo", "Silva", "Simões") },
  { "fr", "French", 4,
    NAMES ("Chloé", "Léa", "Hélène", "Amélie", "Maëlle"),
    NAMES ("François", "Jérôme", "Étienne", "Loïc"),
    NAMES ("Dubois", "Lefèvre", "Bélanger", "Girard", "Côté") },
  { "de", "German", 4,
    NAMES ("Lena", "Käthe", "Anneliese", "Sabine"),
    NAMES ("Jürgen", "Lukas", "Matthias", "Günter"),
    NAMES ("Müller", "Schröder", "Jäger", "Weiß", "Köhler") },
  { "pl", "Polish", 4,
    NAMES ("Małgorzata", "Zofia", "Agnieszka", "Grażyna"),
    NAMES ("Łukasz", "Paweł", "Wojciech", "Jędrzej"),
    NAMES ("Nowak", "Wójcik", "Kaczmarek", "Mazur", "Łuczak") },
  { "vi", "Vietnamese", 5,
    NAMES ("Lan", "Hương", "Thảo", "Ngọc"),
    NAMES ("Minh", "Dũng", "Quang", "Tuấn"),
    NAMES ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng") },
  { "zh", "Chinese", 5,
    NAMES ("Mei", "Xiuying", "Lina", "Jing"),
    NAMES ("Wei", "Jun", "Hao", "Zhiwei"),
    NAMES ("Wang", "Chen", "Li", "Zhang", "Liu") },
  { "ja", "Japanese", 3,
    NAMES ("Yuki", "Haruka", "Aiko", "Sakura"),
    NAMES ("Hiroshi", "Kenji", "Takumi", "Daisuke"),
    NAMES ("Tanaka", "Suzuki", "Watanabe", "Satō", "Itō") },
  { "ko", "Korean", 3,
    NAMES ("Ji-woo", "Seo-yeon", "Min-ji"),
    NAMES ("Min-jun", "Ji-ho", "Seung-hoon"),
    NAMES ("Kim", "Park", "Choi", "Jung") },
  { "hi", "Hindi", 5,
    NAMES ("Priya", "Ananya", "Lakshmi", "Kavya"),
    NAMES ("Rahul", "Arjun", "Vikram", "Sanjay"),
    NAMES ("Patel", "Sharma", "Iyer", "Singh", "Reddy") },
  { "ar", "Arabic", 4,
    NAMES ("Fatima", "Layla", "Aisha", "Yasmin"),
    NAMES ("Mohammed", "Omar", "Karim", "Youssef"),
    NAMES ("Haddad", "Al-Sayed", "Khoury", "Mansour", "Nasser") },
  { "nb", "Norwegian Bokmål", 3,
    NAMES ("Ingrid", "Åse", "Sigrid", "Solveig"),
    NAMES ("Øystein", "Bjørn", "Håkon", "Anders"),
    NAMES ("Øvergaard", "Bjørnstad", "Haugen", "Solberg") },
  { "tr", "Turkish", 3,
    NAMES ("Ayşe", "Elif", "Zeynep", "Gül"),
    NAMES ("Mehmet", "Emre", "Oğuz", "Çağrı"),
    NAMES ("Yılmaz", "Şahin", "Çelik", "Öztürk", "Aydın") },
};

static const char *const middle_names[] = {
  "Anne", "Marie", "Rose", "Louise", "James", "Edward", "John", "Lee",
};

static const char *const streets[] = {
  "Maple Street", "Harbor Road", "Elm Avenue", "Chestnut Lane", "Mill Pond Road",
  "Orchard Way", "Linden Court", "Beacon Hill Road", "Willow Drive", "Quarry Lane",
  "Cedar Street", "Riverside Drive", "Schoolhouse Road", "Fairview Avenue", "Granite Street",
};

typedef struct
{
  const char *city;
  const char *postal_code;
} Town;

static const Town towns[] = {
  { "Alder Falls", "01431" }, { "Port Halloway", "01944" }, { "East Wickham", "01568" },
  { "Millbrook", "01360" }, { "Granite Ridge", "01529" }, { "Ashby Corner", "01462" },
};

static const struct
{
  const char *code;
  const char *display;
  unsigned weight;
} marital_statuses[] = {
  { "M", "Married", 50 }, { "S", "Never Married", 25 }, { "D", "Divorced", 15 },
  { "W", "Widowed", 10 },
};

/* ---- terminology --------------------------------------------------------------------------- */

typedef enum
{
  MED_LISINOPRIL,
  MED_AMLODIPINE,
  MED_HCTZ,
  MED_METFORMIN,
  MED_SIMVASTATIN,
  MED_ALBUTEROL,
  MED_FLUTICASONE,
  MED_FERROUS_SULFATE,
  MED_NAPROXEN,
  MED_ALLOPURINOL,
  MED_ASPIRIN,
  MED_NITROGLYCERIN,
  MED_AMOXICILLIN,
  MED_AMOX_CLAV,
  MED_PENICILLIN_V,
  MED_CEFUROXIME,
  MED_ACETAMINOPHEN,
  MED_IBUPROFEN,
  MED_NITROFURANTOIN,
  N_MEDS,
  MED_NONE = N_MEDS,
} MedKind;

typedef struct
{
  const char *rxnorm;
  const char *display;
  const char *instruction;   /* dosageInstruction.text */
  unsigned frequency;        /* timing: @frequency times per @period @period_unit */
  unsigned period;
  const char *period_unit;   /* units-of-time: "h", "d" */
  gboolean as_needed;
  unsigned dose;             /* doseQuantity value, in @dose_unit */
  const char *dose_unit;
  unsigned course_days;      /* acute medicines: length of the course */
} MedDef;

static const MedDef meds[N_MEDS] = {
  [MED_LISINOPRIL] = { "314076", "lisinopril 10 MG Oral Tablet",
                       "Take 1 tablet by mouth once daily", 1, 1, "d", FALSE, 1, "tablet", 0 },
  [MED_AMLODIPINE] = { "197361", "amlodipine 5 MG Oral Tablet",
                       "Take 1 tablet by mouth once daily", 1, 1, "d", FALSE, 1, "tablet", 0 },
  [MED_HCTZ] = { "310798", "hydrochlorothiazide 25 MG Oral Tablet",
                 "Take 1 tablet by mouth every morning", 1, 1, "d", FALSE, 1, "tablet", 0 },
  [MED_METFORMIN] = { "860975",
                      "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet",
                      "Take 1 tablet by mouth twice daily with meals", 2, 1, "d", FALSE, 1,
                      "tablet", 0 },
  [MED_SIMVASTATIN] = { "312961", "simvastatin 20 MG Oral Tablet",
                        "Take 1 tablet by mouth every evening", 1, 1, "d", FALSE, 1, "tablet",
                        0 },
  [MED_ALBUTEROL] = { "745679", "200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler",
                      "Inhale 2 puffs every 4 to 6 hours as needed for wheezing", 1, 4, "h",
                      TRUE, 2, "puff", 0 },
  [MED_FLUTICASONE] = { "895994",
                        "120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler",
                        "Inhale 2 puffs twice daily; rinse mouth after use", 2, 1, "d", FALSE,
                        2, "puff", 0 },
  [MED_FERROUS_SULFATE] = { "310325", "ferrous sulfate 325 MG Oral Tablet",
                            "Take 1 tablet by mouth once daily with orange juice", 1, 1, "d",
                            FALSE, 1, "tablet", 0 },
  [MED_NAPROXEN] = { "849574", "naproxen sodium 220 MG Oral Tablet",
                     "Take 1 tablet by mouth every 12 hours as needed for knee pain", 1, 12,
                     "h", TRUE, 1, "tablet", 0 },
  [MED_ALLOPURINOL] = { "197319", "allopurinol 100 MG Oral Tablet",
                        "Take 1 tablet by mouth once daily", 1, 1, "d", FALSE, 1, "tablet", 0 },
  [MED_ASPIRIN] = { "243670", "aspirin 81 MG Oral Tablet",
                    "Take 1 tablet by mouth once daily", 1, 1, "d", FALSE, 1, "tablet", 0 },
  [MED_NITROGLYCERIN] = { "705129", "nitroglycerin 0.4 MG/ACTUAT Mucosal Spray",
                          "1 spray under the tongue as needed for chest pain; may repeat every "
                          "5 minutes, up to 3 sprays", 1, 5, "min", TRUE, 1, "spray", 0 },
  [MED_AMOXICILLIN] = { "308182", "amoxicillin 250 MG Oral Capsule",
                        "Take 2 capsules by mouth every 8 hours for 10 days", 3, 1, "d", FALSE,
                        2, "capsule", 10 },
  [MED_AMOX_CLAV] = { "562251", "amoxicillin 250 MG / clavulanate 125 MG Oral Tablet",
                      "Take 1 tablet by mouth every 8 hours for 7 days", 3, 1, "d", FALSE, 1,
                      "tablet", 7 },
  [MED_PENICILLIN_V] = { "834061", "penicillin V potassium 250 MG Oral Tablet",
                         "Take 2 tablets by mouth twice daily for 10 days", 2, 1, "d", FALSE,
                         2, "tablet", 10 },
  [MED_CEFUROXIME] = { "309097", "cefuroxime 250 MG Oral Tablet",
                       "Take 1 tablet by mouth twice daily for 10 days", 2, 1, "d", FALSE, 1,
                       "tablet", 10 },
  [MED_ACETAMINOPHEN] = { "313782", "acetaminophen 325 MG Oral Tablet",
                          "Take 2 tablets by mouth every 6 hours as needed for fever or pain",
                          1, 6, "h", TRUE, 2, "tablet", 7 },
  [MED_IBUPROFEN] = { "310965", "ibuprofen 200 MG Oral Tablet",
                      "Take 2 tablets by mouth every 8 hours as needed for pain, with food", 1,
                      8, "h", TRUE, 2, "tablet", 10 },
  [MED_NITROFURANTOIN] = { "311989", "nitrofurantoin 5 MG/ML Oral Suspension",
                           "Take 20 mL by mouth four times daily for 5 days", 4, 1, "d", FALSE,
                           20, "mL", 5 },
};

typedef enum
{
  CH_HYPERTENSION,
  CH_DIABETES,
  CH_PREDIABETES,
  CH_HYPERLIPIDEMIA,
  CH_ASTHMA,
  CH_CKD,
  CH_OBESITY,
  CH_ANEMIA,
  CH_OSTEOARTHRITIS,
  CH_GOUT,
  CH_CHD,
  N_CHRONIC,
} Chronic;

typedef struct
{
  const char *code;      /* SNOMED CT */
  const char *display;
  const char *text;
  MedKind meds[2];       /* what it is treated with (MED_NONE: nothing) */
} ConditionDef;

static const ConditionDef chronic_defs[N_CHRONIC] = {
  [CH_HYPERTENSION] = { "38341003", "Hypertensive disorder, systemic arterial (disorder)",
                        "Hypertension", { MED_LISINOPRIL, MED_NONE } },
  [CH_DIABETES] = { "44054006", "Diabetes mellitus type 2 (disorder)", "Type 2 diabetes",
                    { MED_METFORMIN, MED_NONE } },
  [CH_PREDIABETES] = { "15777000", "Prediabetes (finding)", "Prediabetes",
                       { MED_NONE, MED_NONE } },
  [CH_HYPERLIPIDEMIA] = { "55822004", "Hyperlipidemia (disorder)", "Hyperlipidemia",
                          { MED_SIMVASTATIN, MED_NONE } },
  [CH_ASTHMA] = { "195967001", "Asthma (disorder)", "Asthma",
                  { MED_ALBUTEROL, MED_FLUTICASONE } },
  [CH_CKD] = { "433144002", "Chronic kidney disease stage 3 (disorder)",
               "Chronic kidney disease, stage 3", { MED_NONE, MED_NONE } },
  [CH_OBESITY] = { "162864005", "Body mass index 30+ - obesity (finding)", "Obesity",
                   { MED_NONE, MED_NONE } },
  [CH_ANEMIA] = { "87522002", "Iron deficiency anemia (disorder)", "Iron deficiency anemia",
                  { MED_FERROUS_SULFATE, MED_NONE } },
  [CH_OSTEOARTHRITIS] = { "239873007", "Osteoarthritis of knee (disorder)",
                          "Osteoarthritis of knee", { MED_NAPROXEN, MED_NONE } },
  [CH_GOUT] = { "90560007", "Gout (disorder)", "Gout", { MED_ALLOPURINOL, MED_NONE } },
  [CH_CHD] = { "53741008", "Coronary arteriosclerosis (disorder)", "Coronary heart disease",
               { MED_ASPIRIN, MED_NITROGLYCERIN } },
};

typedef struct
{
  ConditionDef condition;
  unsigned fever_percent;  /* chance of a fever at the visit */
  unsigned er_percent;     /* chance the visit is to the emergency department */
  MedKind med_allergic;    /* the medicine for a patient allergic to penicillin */
  unsigned weight_female;  /* relative frequency among women and men */
  unsigned weight_male;
} AcuteDef;

static const AcuteDef acute_defs[] = {
  { { "10509002", "Acute bronchitis (disorder)", "Acute bronchitis",
      { MED_ACETAMINOPHEN, MED_NONE } }, 40, 10, MED_ACETAMINOPHEN, 5, 5 },
  { { "444814009", "Viral sinusitis (disorder)", "Viral sinusitis",
      { MED_NONE, MED_NONE } }, 10, 0, MED_NONE, 6, 6 },
  { { "75498004", "Acute bacterial sinusitis (disorder)", "Acute bacterial sinusitis",
      { MED_AMOX_CLAV, MED_NONE } }, 50, 0, MED_CEFUROXIME, 2, 2 },
  { { "43878008", "Streptococcal sore throat (disorder)", "Strep throat",
      { MED_PENICILLIN_V, MED_NONE } }, 70, 5, MED_CEFUROXIME, 3, 3 },
  { { "195662009", "Acute viral pharyngitis (disorder)", "Acute viral pharyngitis",
      { MED_IBUPROFEN, MED_NONE } }, 30, 5, MED_IBUPROFEN, 4, 4 },
  { { "44465007", "Sprain of ankle (disorder)", "Sprained ankle",
      { MED_IBUPROFEN, MED_NONE } }, 0, 60, MED_IBUPROFEN, 3, 4 },
  { { "38822007", "Cystitis (disorder)", "Cystitis",
      { MED_NITROFURANTOIN, MED_NONE } }, 10, 10, MED_NITROFURANTOIN, 4, 1 },
};

typedef enum
{
  AL_PEANUT,
  AL_SHELLFISH,
  AL_LATEX,
  AL_BEE_VENOM,
  AL_GRASS_POLLEN,
  AL_DUST_MITE,
  AL_DANDER,
  AL_MOULD,
  AL_PENICILLIN,
  N_ALLERGIES,
} AllergyKind;

typedef struct
{
  const char *code;          /* SNOMED CT */
  const char *display;
  const char *text;
  const char *category;      /* allergy-intolerance-category */
  const char *criticality;
  const char *manifestation; /* SNOMED CT */
  const char *manifestation_display;
  const char *severity;
} AllergyDef;

static const AllergyDef allergy_defs[N_ALLERGIES] = {
  [AL_PEANUT] = { "91935009", "Allergy to peanuts", "Peanut allergy", "food", "high",
                  "39579001", "Anaphylaxis (disorder)", "severe" },
  [AL_SHELLFISH] = { "300913006", "Shellfish allergy", "Shellfish allergy", "food", "low",
                     "247472004", "Wheal (finding)", "moderate" },
  [AL_LATEX] = { "300916003", "Latex allergy", "Latex allergy", "environment", "low",
                 "271807003", "Eruption of skin (disorder)", "mild" },
  [AL_BEE_VENOM] = { "424213003", "Allergy to bee venom", "Bee sting allergy", "environment",
                     "high", "39579001", "Anaphylaxis (disorder)", "severe" },
  [AL_GRASS_POLLEN] = { "418689008", "Allergy to grass pollen", "Grass pollen allergy",
                        "environment", "low", "61582004", "Allergic rhinitis (disorder)",
                        "mild" },
  [AL_DUST_MITE] = { "232350006", "House dust mite allergy", "Dust mite allergy",
                     "environment", "low", "61582004", "Allergic rhinitis (disorder)", "mild" },
  [AL_DANDER] = { "232347008", "Dander (animal) allergy", "Cat and dog dander allergy",
                  "environment", "low", "267036007", "Dyspnea (finding)", "moderate" },
  [AL_MOULD] = { "419474003", "Allergy to mould", "Mold allergy", "environment", "low",
                 "49727002", "Cough (finding)", "mild" },
  [AL_PENICILLIN] = { "91936005", "Allergy to penicillin", "Penicillin allergy", "medication",
                      "high", "271807003", "Eruption of skin (disorder)", "moderate" },
};

typedef struct
{
  const char *code;   /* CVX */
  const char *display;
} VaccineDef;

static const VaccineDef vaccine_flu = {
  "140", "Influenza, seasonal, injectable, preservative free" };
static const VaccineDef vaccine_covid_pfizer = {
  "208", "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, "
  "30 mcg/0.3mL dose" };
static const VaccineDef vaccine_covid_moderna = {
  "207", "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, "
  "100 mcg/0.5mL dose" };
static const VaccineDef vaccine_tdap = { "115", "Tdap" };
static const VaccineDef vaccine_zoster = { "187", "zoster vaccine recombinant" };
static const VaccineDef vaccine_pcv13 = { "133", "Pneumococcal conjugate PCV 13" };
static const VaccineDef vaccine_ppsv23 = {
  "33", "pneumococcal polysaccharide vaccine, 23 valent" };
static const VaccineDef vaccine_hepb = { "43", "Hep B, adult" };

/* What is measured.  Values are integers in units of 10^-decimals of the unit. */
typedef enum
{
  M_HEART_RATE,
  M_TEMPERATURE,
  M_WEIGHT,
  M_HEIGHT,
  M_BMI,
  M_GLUCOSE,
  M_HBA1C,
  M_CREATININE,
  M_POTASSIUM,
  M_CHOLESTEROL,
  M_HEMOGLOBIN,
  N_MEASURES,
} MeasureKind;

#define NO_LIMIT (-1)

typedef struct
{
  const char *loinc;
  const char *display;
  const char *text;
  const char *unit;       /* as people write it */
  const char *ucum;
  unsigned decimals;
  gboolean lab;           /* category laboratory (else vital-signs) */
  int low_female, high_female, low_male, high_male;  /* reference range, NO_LIMIT: none */
} Measure;

static const Measure measures[N_MEASURES] = {
  [M_HEART_RATE] = { "8867-4", "Heart rate", "Heart rate", "/min", "/min", 0, FALSE,
                     60, 100, 60, 100 },
  [M_TEMPERATURE] = { "8310-5", "Body temperature", "Body temperature", "°C", "Cel", 1, FALSE,
                      361, 372, 361, 372 },
  [M_WEIGHT] = { "29463-7", "Body weight", "Body weight", "kg", "kg", 1, FALSE,
                 NO_LIMIT, NO_LIMIT, NO_LIMIT, NO_LIMIT },
  [M_HEIGHT] = { "8302-2", "Body height", "Body height", "cm", "cm", 1, FALSE,
                 NO_LIMIT, NO_LIMIT, NO_LIMIT, NO_LIMIT },
  [M_BMI] = { "39156-5", "Body mass index (BMI) [Ratio]", "BMI", "kg/m2", "kg/m2", 1, FALSE,
              185, 249, 185, 249 },
  [M_GLUCOSE] = { "2339-0", "Glucose [Mass/volume] in Blood", "Glucose", "mg/dL", "mg/dL", 0,
                  TRUE, 70, 99, 70, 99 },
  [M_HBA1C] = { "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "Hemoglobin A1c", "%",
                "%", 1, TRUE, 40, 56, 40, 56 },
  [M_CREATININE] = { "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "Creatinine",
                     "mg/dL", "mg/dL", 2, TRUE, 59, 104, 74, 135 },
  [M_POTASSIUM] = { "2823-3", "Potassium [Moles/volume] in Serum or Plasma", "Potassium",
                    "mmol/L", "mmol/L", 1, TRUE, 35, 51, 35, 51 },
  [M_CHOLESTEROL] = { "2093-3", "Cholesterol [Mass/volume] in Serum or Plasma",
                      "Total cholesterol", "mg/dL", "mg/dL", 0, TRUE,
                      NO_LIMIT, 200, NO_LIMIT, 200 },
  [M_HEMOGLOBIN] = { "718-7", "Hemoglobin [Mass/volume] in Blood", "Hemoglobin", "g/dL",
                     "g/dL", 1, TRUE, 116, 150, 132, 166 },
};

/* ---- the generator's state ----------------------------------------------------------------- */

/* A resource's identity: its id and the urn:uuid that stands for it inside a transaction. */
typedef struct
{
  const char *type;   /* static */
  char id[32];
  char uuid[48];      /* "urn:uuid:…" */
} Ident;

typedef enum
{
  PR_FAMILY_1, PR_FAMILY_2, PR_FAMILY_3, PR_FAMILY_4,   /* the patients' GPs */
  PR_EMERGENCY_1, PR_EMERGENCY_2,
  PR_NURSE_PRACTITIONER,
  PR_NURSE,
  PR_ALLERGIST,
  PR_HIM_CLERK,
  N_PRACTITIONERS,
} PractitionerRole;

typedef struct
{
  Ident ident;
  char display[96];   /* "Dr. Given Family", "Given Family, RN" */
} Practitioner;

typedef enum
{
  ENC_CHECKUP,
  ENC_PROBLEM,
  ENC_EMERGENCY,
  ENC_FOLLOWUP,
} EncounterKind;

typedef struct
{
  Ident ident;
  EncounterKind kind;
  Day day;
  int start;                /* minutes after local midnight */
  int duration;             /* minutes */
  unsigned practitioner;    /* PractitionerRole */
  int acute;                /* index in acute_defs, or -1 */
  gboolean fever;
  gboolean labs;            /* the full panel (check-ups) */
  gboolean diabetes_labs;   /* glucose and HbA1c (diabetes follow-up) */
  gboolean hemoglobin_lab;  /* hemoglobin (anaemia follow-up) */
  unsigned seq;             /* order of planning: breaks ties when sorting */
} Encounter;

typedef struct
{
  Ident ident;
  unsigned index;
  const Culture *culture;
  gboolean female;
  const char *given;
  const char *middle;       /* NULL: none */
  const char *family;
  Day birth;                /* the true birth date */
  Day birth_written;        /* what the record says (a typo until amended) */
  unsigned mrn;
  unsigned house;
  const char *street;
  const Town *town;
  unsigned phone;           /* 555-01xx */
  unsigned marital;
  unsigned gp;              /* PractitionerRole */
  gboolean duplicate_record;  /* the second registration of a person */
  /* moving house: the new address and the day (the update writes both) */
  gboolean moved;
  Day moved_day;
  unsigned new_house;
  const char *new_street;
  const Town *new_town;
  int64_t version;          /* current versionId in the store */
  /* the visits scanned documents refer to: the first and the last encounter */
  Ident first_visit;
  Day first_visit_day;
  Ident last_visit;
  Day last_visit_day;

  /* models of what is measured, in the measures' scales */
  int height;               /* tenths of cm */
  int weight;               /* tenths of kg at the window's start */
  int weight_trend;         /* tenths of kg per year */
  int heart_rate;
  int sbp;                  /* systolic blood pressure when untreated */
  int dbp_offset;
  int glucose;              /* mean glucose when untreated */
  int creatinine;
  int potassium;
  int cholesterol;          /* untreated */
  int hemoglobin;           /* healthy level */
  Day diagnosed[N_CHRONIC]; /* 0: does not have it */
  gboolean prior[N_CHRONIC];/* diagnosed before the window */
  gboolean allergic_to_penicillin;
} Patient;

typedef struct
{
  Ident ident;
  Ident subject;
  Ident encounter;
  MeasureKind kind;         /* N_MEASURES: blood pressure */
  int64_t value;
  int64_t value2;           /* diastolic, for blood pressure */
  Day day;
  int minute;
  Day issued_day;
  int issued_minute;
  unsigned performer;       /* PractitionerRole, or N_PRACTITIONERS for the laboratory */
  gboolean female;
  const char *status;
  int64_t version;
} ObservationRecord;

typedef struct
{
  Ident ident;
  Ident subject;
  Ident encounter;
  const ConditionDef *def;
  gboolean chronic;
  Day onset;
  Day abated;               /* 0: active */
  Day recorded;
  unsigned recorder;
  int64_t version;
} ConditionRecord;

typedef struct
{
  Ident ident;
  Ident subject;
  Ident encounter;
  Ident reason;             /* the Condition */
  MedKind med;
  const char *status;
  Day authored;
  int minute;
  unsigned requester;
  int64_t version;
} MedicationRecord;

typedef struct
{
  Ident ident;
  Ident patient;
  AllergyKind kind;
  const char *verification;
  Day recorded;
  unsigned recorder;
  Day confirmed;            /* 0: not yet */
  int64_t version;
} AllergyRecord;

/* A tiny JSON text writer: nesting, commas and escaping. */
#define JW_MAX_DEPTH 16

typedef struct
{
  GString *s;
  unsigned depth;
  gboolean first[JW_MAX_DEPTH];
} Jw;

typedef struct
{
  ChartaStore *store;
  ChartaDemoStats *stats;
  GRand *rand;
  guint32 seed;
  Day reference;            /* CHARTA_DEMO_REFERENCE_DATE */
  Day window_start;         /* reference - WINDOW_YEARS years */
  gboolean literal_refs;    /* references as Type/id (outside a transaction) */
  Jw w;
  GPtrArray *resources;     /* ChartaResource of the transaction being built */
  GPtrArray *full_urls;     /* their fullUrls */
  Practitioner practitioners[N_PRACTITIONERS];
  Patient *patients;
  unsigned n_patients;
  unsigned n_real;          /* patients who are distinct people */

  /* which patients the corrections touch (indices into patients) */
  unsigned amended;
  unsigned moved;
  unsigned nullified;
  unsigned allergic;
  unsigned anemic;
  unsigned duplicate_of;    /* n_patients when there is no duplicate */

  /* the records the corrections rewrite */
  ObservationRecord nullified_observation;
  AllergyRecord confirmed_allergy;
  ConditionRecord resolved_condition;
  MedicationRecord completed_medication;
  gboolean have_nullified, have_allergy, have_condition, have_medication;
} Demo;

/* ---- small helpers ------------------------------------------------------------------------- */

/* A uniform integer in [lo, hi]. */
static int
rnd (Demo *d,
     int   lo,
     int   hi)
{
  g_assert (lo <= hi);
  return g_rand_int_range (d->rand, lo, hi + 1);
}

static gboolean
chance (Demo    *d,
        unsigned percent)
{
  return (unsigned) rnd (d, 0, 99) < percent;
}

/* Noise of about ±@spread, more often small than large (the mean of two uniform draws). */
static int
noise (Demo *d,
       int   spread)
{
  if (spread <= 0)
    return 0;
  return (rnd (d, -spread, spread) + rnd (d, -spread, spread)) / 2;
}

static const char *
pick (Demo              *d,
      const char *const *names)
{
  unsigned n = 0;

  while (names[n] != NULL)
    n++;
  return names[rnd (d, 0, (int) n - 1)];
}

static const Culture *
pick_culture (Demo *d)
{
  unsigned total = 0;
  unsigned r;

  for (size_t i = 0; i < G_N_ELEMENTS (cultures); i++)
    total += cultures[i].weight;
  r = (unsigned) rnd (d, 0, (int) total - 1);
  for (size_t i = 0; i < G_N_ELEMENTS (cultures); i++)
    {
      if (r < cultures[i].weight)
        return &cultures[i];
      r -= cultures[i].weight;
    }
  g_assert_not_reached ();
  return &cultures[0];
}

static int
clamp_int (int v,
           int lo,
           int hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

/* @value / 10^@decimals as text with exactly @decimals decimals. */
static void
format_fixed (char    *buf,
              size_t   size,
              int64_t  value,
              unsigned decimals)
{
  uint64_t scale = 1;
  uint64_t magnitude = value < 0 ? (uint64_t) 0 - (uint64_t) value : (uint64_t) value;
  const char *sign = value < 0 ? "-" : "";

  for (unsigned i = 0; i < decimals; i++)
    scale *= 10;
  if (decimals == 0)
    g_snprintf (buf, size, "%s%" G_GUINT64_FORMAT, sign, magnitude);
  else
    g_snprintf (buf, size, "%s%" G_GUINT64_FORMAT ".%0*" G_GUINT64_FORMAT, sign,
                magnitude / scale, (int) decimals, magnitude % scale);
}

/* ---- dates --------------------------------------------------------------------------------- */

static Day
day_from_ymd (int year,
              int month,
              int day)
{
  GDate date;

  g_date_clear (&date, 1);
  g_date_set_dmy (&date, (GDateDay) day, (GDateMonth) month, (GDateYear) year);
  return g_date_get_julian (&date);
}

static void
day_to_ymd (Day  day,
            int *year,
            int *month,
            int *mday)
{
  GDate date;

  g_date_clear (&date, 1);
  g_date_set_julian (&date, day);
  *year = g_date_get_year (&date);
  *month = g_date_get_month (&date);
  *mday = g_date_get_day (&date);
}

static int
day_year (Day day)
{
  int y, m, md;

  day_to_ymd (day, &y, &m, &md);
  return y;
}

/* The @n-th (1-based) Sunday of @month. */
static Day
nth_sunday (int year,
            int month,
            int n)
{
  GDate date;
  Day first = day_from_ymd (year, month, 1);

  g_date_clear (&date, 1);
  g_date_set_julian (&date, first);
  /* GDateWeekday: Monday 1 … Sunday 7 */
  return first + (7 - g_date_get_weekday (&date)) % 7 + 7 * (n - 1);
}

/* US daylight saving time (second Sunday of March to first Sunday of November): the clinic's
 * local times are written with their UTC offset. */
static gboolean
is_summer_time (Day day)
{
  int year = day_year (day);

  return day >= nth_sunday (year, 3, 2) && day < nth_sunday (year, 11, 1);
}

static void
format_date (char  *buf,
             size_t size,
             Day    day)
{
  int y, m, md;

  day_to_ymd (day, &y, &m, &md);
  g_snprintf (buf, size, "%04d-%02d-%02d", y, m, md);
}

/* A local date and time with its offset; @minute may run past midnight. */
static void
format_datetime (char  *buf,
                 size_t size,
                 Day    day,
                 int    minute)
{
  int y, m, md;

  day += (Day) (minute / 1440);
  minute %= 1440;
  day_to_ymd (day, &y, &m, &md);
  g_snprintf (buf, size, "%04d-%02d-%02dT%02d:%02d:00%s", y, m, md, minute / 60, minute % 60,
              is_summer_time (day) ? "-04:00" : "-05:00");
}

/* ---- JSON text ----------------------------------------------------------------------------- */

static void
jw_reset (Jw *w)
{
  g_string_truncate (w->s, 0);
  w->depth = 0;
  w->first[0] = TRUE;
}

static void
append_json_string (GString    *s,
                    const char *text)
{
  g_string_append_c (s, '"');
  for (const unsigned char *c = (const unsigned char *) text; *c != '\0'; c++)
    {
      if (*c == '"' || *c == '\\')
        {
          g_string_append_c (s, '\\');
          g_string_append_c (s, (char) *c);
        }
      else if (*c < 0x20)
        g_string_append_printf (s, "\\u%04x", *c);
      else
        g_string_append_c (s, (char) *c);
    }
  g_string_append_c (s, '"');
}

/* The comma before a member or element, and the member's name. */
static void
jw_member (Jw         *w,
           const char *key)
{
  if (!w->first[w->depth])
    g_string_append_c (w->s, ',');
  w->first[w->depth] = FALSE;
  if (key != NULL)
    {
      append_json_string (w->s, key);
      g_string_append_c (w->s, ':');
    }
}

static void
jw_open (Jw         *w,
         const char *key,
         char        bracket)
{
  jw_member (w, key);
  g_string_append_c (w->s, bracket);
  g_assert (w->depth + 1 < JW_MAX_DEPTH);
  w->first[++w->depth] = TRUE;
}

static void
jw_close (Jw  *w,
          char bracket)
{
  g_assert (w->depth > 0);
  w->depth--;
  g_string_append_c (w->s, bracket);
}

#define jw_begin_object(w, key) jw_open ((w), (key), '{')
#define jw_end_object(w)        jw_close ((w), '}')
#define jw_begin_array(w, key)  jw_open ((w), (key), '[')
#define jw_end_array(w)         jw_close ((w), ']')

static void
jw_string (Jw         *w,
           const char *key,
           const char *value)
{
  jw_member (w, key);
  append_json_string (w->s, value);
}

static void
jw_bool (Jw         *w,
         const char *key,
         gboolean    value)
{
  jw_member (w, key);
  g_string_append (w->s, value ? "true" : "false");
}

static void
jw_fixed (Jw         *w,
          const char *key,
          int64_t     value,
          unsigned    decimals)
{
  char buf[32];

  format_fixed (buf, sizeof buf, value, decimals);
  jw_member (w, key);
  g_string_append (w->s, buf);
}

static void
jw_date (Jw         *w,
         const char *key,
         Day         day)
{
  char buf[16];

  format_date (buf, sizeof buf, day);
  jw_string (w, key, buf);
}

static void
jw_datetime (Jw         *w,
             const char *key,
             Day         day,
             int         minute)
{
  char buf[40];

  format_datetime (buf, sizeof buf, day, minute);
  jw_string (w, key, buf);
}

/* The resource's text: a generated narrative of one line. */
static void jw_narrative (Jw         *w,
                          const char *format,
                          ...) G_GNUC_PRINTF (2, 3);

static void
jw_narrative (Jw         *w,
              const char *format,
              ...)
{
  va_list ap;
  g_autofree char *text = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *div = NULL;

  va_start (ap, format);
  text = g_strdup_vprintf (format, ap);
  va_end (ap);
  escaped = g_markup_escape_text (text, -1);
  div = g_strconcat ("<div xmlns=\"http://www.w3.org/1999/xhtml\">", escaped, "</div>", NULL);
  jw_begin_object (w, "text");
  jw_string (w, "status", "generated");
  jw_string (w, "div", div);
  jw_end_object (w);
}

/* An object of string members: the arguments after @key are pairs of a member's name and its
 * value, up to a NULL name; a NULL value leaves its member out.  @key NULL for an array
 * element. */
static void jw_strings_object (Jw         *w,
                               const char *key,
                               ...) G_GNUC_NULL_TERMINATED;

static void
jw_strings_object (Jw         *w,
                   const char *key,
                   ...)
{
  va_list ap;
  const char *name;

  jw_begin_object (w, key);
  va_start (ap, key);
  while ((name = va_arg (ap, const char *)) != NULL)
    {
      const char *value = va_arg (ap, const char *);

      if (value != NULL)
        jw_string (w, name, value);
    }
  va_end (ap);
  jw_end_object (w);
}

/* A Coding (@display may be NULL); @key NULL for an array element. */
static void
jw_coding (Jw         *w,
           const char *key,
           const char *system,
           const char *code,
           const char *display)
{
  jw_strings_object (w, key, "system", system, "code", code, "display", display, NULL);
}

/* A CodeableConcept with one Coding; @key NULL for an array element. */
static void
jw_concept (Jw         *w,
            const char *key,
            const char *system,
            const char *code,
            const char *display,
            const char *text)
{
  jw_begin_object (w, key);
  jw_begin_array (w, "coding");
  jw_coding (w, NULL, system, code, display);
  jw_end_array (w);
  if (text != NULL)
    jw_string (w, "text", text);
  jw_end_object (w);
}

/* An array of one CodeableConcept. */
static void
jw_concept_array (Jw         *w,
                  const char *key,
                  const char *system,
                  const char *code,
                  const char *display,
                  const char *text)
{
  jw_begin_array (w, key);
  jw_concept (w, NULL, system, code, display, text);
  jw_end_array (w);
}

/* A Reference (@display may be NULL). */
static void
jw_reference (Jw         *w,
              const char *key,
              const char *reference,
              const char *display)
{
  jw_strings_object (w, key, "reference", reference, "display", display, NULL);
}

/* An array of @first and, unless it is NULL, @second. */
static void
jw_string_array (Jw         *w,
                 const char *key,
                 const char *first,
                 const char *second)
{
  jw_begin_array (w, key);
  jw_string (w, NULL, first);
  if (second != NULL)
    jw_string (w, NULL, second);
  jw_end_array (w);
}

/* The start of a resource's text: the writer reset, the object opened, the type and the id. */
static void
jw_begin_resource (Jw         *w,
                   const char *type,
                   const char *id)
{
  jw_reset (w);
  jw_begin_object (w, NULL);
  jw_string (w, "resourceType", type);
  jw_string (w, "id", id);
}

/* An identifier array of one Identifier: @value in @system. */
static void
jw_identifier (Jw         *w,
               const char *system,
               const char *value)
{
  jw_begin_array (w, "identifier");
  jw_strings_object (w, NULL, "system", system, "value", value, NULL);
  jw_end_array (w);
}

/* A name array of one official HumanName: @middle and @prefix may be NULL. */
static void
jw_official_name (Jw         *w,
                  const char *family,
                  const char *given,
                  const char *middle,
                  const char *prefix)
{
  jw_begin_array (w, "name");
  jw_begin_object (w, NULL);
  jw_string (w, "use", "official");
  jw_string (w, "family", family);
  jw_string_array (w, "given", given, middle);
  if (prefix != NULL)
    jw_string_array (w, "prefix", prefix, NULL);
  jw_end_object (w);
  jw_end_array (w);
}

/* A reference to a resource of the patient's record: its urn:uuid inside a transaction, its
 * Type/id outside. */
static void
jw_ident_reference (Demo        *d,
                    const char  *key,
                    const Ident *ident)
{
  if (d->literal_refs)
    {
      g_autofree char *literal = g_strconcat (ident->type, "/", ident->id, NULL);

      jw_reference (&d->w, key, literal, NULL);
    }
  else
    jw_reference (&d->w, key, ident->uuid, NULL);
}

/* The subject and encounter references of a record made at an encounter. */
static void
jw_subject_encounter (Demo        *d,
                      const Ident *subject,
                      const Ident *encounter)
{
  jw_ident_reference (d, "subject", subject);
  jw_ident_reference (d, "encounter", encounter);
}

static void
jw_practitioner_reference (Demo       *d,
                           const char *key,
                           unsigned    role)
{
  const Practitioner *p = &d->practitioners[role];
  g_autofree char *literal = g_strconcat ("Practitioner/", p->ident.id, NULL);

  jw_reference (&d->w, key, literal, p->display);
}

static void
jw_quantity (Jw         *w,
             const char *key,
             int64_t     value,
             unsigned    decimals,
             const char *unit,
             const char *ucum)
{
  jw_begin_object (w, key);
  jw_fixed (w, "value", value, decimals);
  jw_string (w, "unit", unit);
  jw_string (w, "system", UCUM);
  jw_string (w, "code", ucum);
  jw_end_object (w);
}

static void
ident_init (Demo       *d,
            Ident      *ident,
            const char *type,
            const char *id)
{
  g_autofree char *name = g_strdup_printf ("charta-demo/%u/%s/%s", d->seed, type, id);
  g_autofree char *hex = g_compute_checksum_for_string (G_CHECKSUM_SHA1, name, -1);

  ident->type = type;
  g_strlcpy (ident->id, id, sizeof ident->id);
  /* a name-based UUID (version 5 layout, RFC 4122 variant) */
  g_snprintf (ident->uuid, sizeof ident->uuid, "urn:uuid:%.8s-%.4s-5%.3s-%c%.3s-%.12s",
              hex, hex + 8, hex + 12, "89ab"[g_ascii_xdigit_value (hex[15]) & 3], hex + 16,
              hex + 19);
}

/* ---- writing ------------------------------------------------------------------------------- */

static void
count_resource (ChartaDemoStats *stats,
                const char      *type)
{
  const struct
  {
    const char *type;
    unsigned *count;
  } counters[] = {
    { "Organization", &stats->n_organizations },
    { "Practitioner", &stats->n_practitioners },
    { "Patient", &stats->n_patients },
    { "Encounter", &stats->n_encounters },
    { "Condition", &stats->n_conditions },
    { "Observation", &stats->n_observations },
    { "MedicationRequest", &stats->n_medication_requests },
    { "AllergyIntolerance", &stats->n_allergy_intolerances },
    { "Immunization", &stats->n_immunizations },
    { "Binary", &stats->n_binaries },
    { "DocumentReference", &stats->n_document_references },
  };

  for (size_t i = 0; i < G_N_ELEMENTS (counters); i++)
    if (strcmp (type, counters[i].type) == 0)
      {
        (*counters[i].count)++;
        stats->n_resources++;
        return;
      }
  g_assert_not_reached ();
}

/* Parses the JSON text just written into a resource. */
static ChartaResource *
demo_parse (Demo        *d,
            const Ident *ident,
            GError     **error)
{
  ChartaResource *resource;

  g_assert (d->w.depth == 0);
  resource = charta_resource_new_from_data (d->w.s->str, d->w.s->len, NULL, error);
  if (resource == NULL)
    g_prefix_error (error, "demo %s/%s: ", ident->type, ident->id);
  return resource;
}

/* Adds the resource just written to the transaction being built. */
static gboolean
demo_add (Demo        *d,
          const Ident *ident,
          GError     **error)
{
  ChartaResource *resource = demo_parse (d, ident, error);

  if (resource == NULL)
    return FALSE;
  g_ptr_array_add (d->resources, resource);
  g_ptr_array_add (d->full_urls, g_strdup (ident->uuid));
  return TRUE;
}

/* Writes the transaction built so far, all or nothing. */
static gboolean
demo_commit (Demo         *d,
             ChartaChange *change,
             GError      **error)
{
  size_t n = d->resources->len;
  g_autofree ChartaOperation *operations = g_new0 (ChartaOperation, n);
  g_autoptr(GPtrArray) results = NULL;

  for (size_t i = 0; i < n; i++)
    {
      operations[i].method = CHARTA_METHOD_UPDATE;
      operations[i].resource = d->resources->pdata[i];
      operations[i].full_url = d->full_urls->pdata[i];
    }
  results = charta_store_transaction (d->store, operations, n, change, error);
  if (results == NULL)
    return FALSE;
  for (size_t i = 0; i < n; i++)
    count_resource (d->stats, charta_resource_get_resource_type (d->resources->pdata[i]));
  d->stats->n_transactions++;
  g_ptr_array_set_size (d->resources, 0);
  g_ptr_array_set_size (d->full_urls, 0);
  return TRUE;
}

/* A correction: the resource just written replaces version @*version, which it must still
 * be; on success *version is the new version. */
static gboolean
demo_correct (Demo         *d,
              const Ident  *ident,
              int64_t      *version,
              ChartaChange *change,
              GError      **error)
{
  g_autoptr(ChartaResource) resource = demo_parse (d, ident, error);
  g_autoptr(ChartaResource) stored = NULL;
  const char *version_id;

  if (resource == NULL)
    return FALSE;
  stored = charta_store_update (d->store, resource, *version, change, NULL, error);
  if (stored == NULL)
    {
      g_prefix_error (error, "demo correction of %s/%s: ", ident->type, ident->id);
      return FALSE;
    }
  version_id = charta_resource_get_version_id (stored);
  *version = version_id != NULL ? g_ascii_strtoll (version_id, NULL, 10) : *version + 1;
  d->stats->n_corrections++;
  return TRUE;
}

/* ---- organizations and practitioners ------------------------------------------------------- */

/* An Address as an array element, left open so that the caller can add a period. */
static void
write_address (Jw         *w,
               const char *use,
               unsigned    house,
               const char *street,
               const Town *town)
{
  g_autofree char *line = g_strdup_printf ("%u %s", house, street);

  jw_begin_object (w, NULL);
  jw_string (w, "use", use);
  jw_string_array (w, "line", line, NULL);
  jw_string (w, "city", town->city);
  jw_string (w, "state", STATE);
  jw_string (w, "postalCode", town->postal_code);
  jw_string (w, "country", "US");
}

/* A telecom array of one phone number. */
static void
write_telecom (Jw         *w,
               const char *use,
               unsigned    number)
{
  g_autofree char *value = g_strdup_printf ("(" AREA_CODE ") 555-%04u", number);

  jw_begin_array (w, "telecom");
  jw_strings_object (w, NULL, "system", "phone", "value", value, "use", use, NULL);
  jw_end_array (w);
}

static gboolean
add_organization (Demo       *d,
                  const char *id,
                  const char *name,
                  const char *type_code,
                  const char *type_display,
                  unsigned    house,
                  const char *street,
                  unsigned    phone,
                  const char *part_of,
                  GError    **error)
{
  Jw *w = &d->w;
  Ident ident;
  g_autofree char *identifier = g_strdup_printf ("%u", 9100 + phone);

  ident_init (d, &ident, "Organization", id);
  jw_begin_resource (w, "Organization", id);
  jw_narrative (w, "%s", name);
  jw_identifier (w, ORG_SYSTEM, identifier);
  jw_bool (w, "active", TRUE);
  jw_concept_array (w, "type", ORG_TYPE, type_code, type_display, NULL);
  jw_string (w, "name", name);
  write_telecom (w, "work", phone);
  jw_begin_array (w, "address");
  write_address (w, "work", house, street, &towns[0]);
  jw_end_object (w);
  jw_end_array (w);
  if (part_of != NULL)
    jw_reference (w, "partOf", part_of, HOSPITAL_NAME);
  jw_end_object (w);
  return demo_add (d, &ident, error);
}

static gboolean
add_practitioners (Demo    *d,
                   GError **error)
{
  static const struct
  {
    const char *qualification;  /* v2-0360 code, or NULL */
    const char *qualification_display;
    const char *title;          /* prefix, or NULL */
    const char *suffix;         /* after the name in displays, or NULL */
  } roles[N_PRACTITIONERS] = {
    [PR_FAMILY_1] = { "MD", "Doctor of Medicine", "Dr.", NULL },
    [PR_FAMILY_2] = { "MD", "Doctor of Medicine", "Dr.", NULL },
    [PR_FAMILY_3] = { "DO", "Doctor of Osteopathy", "Dr.", NULL },
    [PR_FAMILY_4] = { "MD", "Doctor of Medicine", "Dr.", NULL },
    [PR_EMERGENCY_1] = { "MD", "Doctor of Medicine", "Dr.", NULL },
    [PR_EMERGENCY_2] = { "DO", "Doctor of Osteopathy", "Dr.", NULL },
    [PR_NURSE_PRACTITIONER] = { "NP", "Nurse practitioner", NULL, "NP" },
    [PR_NURSE] = { "RN", "Registered Nurse", NULL, "RN" },
    [PR_ALLERGIST] = { "MD", "Doctor of Medicine", "Dr.", NULL },
    [PR_HIM_CLERK] = { NULL, "Registered Health Information Technician (RHIT)", NULL, "RHIT" },
  };
  Jw *w = &d->w;

  for (unsigned i = 0; i < N_PRACTITIONERS; i++)
    {
      Practitioner *p = &d->practitioners[i];
      const Culture *culture = pick_culture (d);
      gboolean female = chance (d, 50);
      const char *given = pick (d, female ? culture->female : culture->male);
      const char *family = pick (d, culture->family);
      g_autofree char *id = g_strdup_printf ("prac-%02u", i + 1);
      unsigned staff_number = 20000 + i * 37 + (unsigned) rnd (d, 0, 36);
      g_autofree char *staff = g_strdup_printf ("S%05u", staff_number);

      ident_init (d, &p->ident, "Practitioner", id);
      if (roles[i].title != NULL)
        g_snprintf (p->display, sizeof p->display, "%s %s %s", roles[i].title, given, family);
      else
        g_snprintf (p->display, sizeof p->display, "%s %s, %s", given, family, roles[i].suffix);

      jw_begin_resource (w, "Practitioner", id);
      jw_narrative (w, "%s %s, %s", given, family, roles[i].qualification_display);
      jw_identifier (w, STAFF_SYSTEM, staff);
      jw_bool (w, "active", TRUE);
      jw_official_name (w, family, given, NULL, roles[i].title);
      write_telecom (w, "work", 100 + i);
      jw_string (w, "gender", female ? "female" : "male");
      jw_begin_array (w, "qualification");
      jw_begin_object (w, NULL);
      if (roles[i].qualification != NULL)
        jw_concept (w, "code", V2_0360, roles[i].qualification,
                    roles[i].qualification_display, NULL);
      else
        jw_strings_object (w, "code", "text", roles[i].qualification_display, NULL);
      jw_end_object (w);
      jw_end_array (w);
      jw_end_object (w);
      if (!demo_add (d, &p->ident, error))
        return FALSE;
    }
  return TRUE;
}

/* ---- planning a patient -------------------------------------------------------------------- */

static int
age_at (Day birth,
        Day day)
{
  int by, bm, bd, y, m, md;

  day_to_ymd (birth, &by, &bm, &bd);
  day_to_ymd (day, &y, &m, &md);
  return y - by - ((m < bm || (m == bm && md < bd)) ? 1 : 0);
}

static void
plan_identity (Demo    *d,
               Patient *p)
{
  int age = rnd (d, 23, 92);

  p->culture = pick_culture (d);
  p->female = chance (d, 52);
  p->given = pick (d, p->female ? p->culture->female : p->culture->male);
  p->middle = (strcmp (p->culture->language, "en") == 0 && chance (d, 40))
    ? middle_names[rnd (d, p->female ? 0 : 4, p->female ? 3 : 7)] : NULL;
  p->family = pick (d, p->culture->family);
  p->birth = day_from_ymd (REF_YEAR - 1 - age, 1, 1) + (Day) rnd (d, 0, 364);
  p->birth_written = p->birth;
  p->mrn = 4000000 + p->index * 1379 + (unsigned) rnd (d, 0, 1000);
  p->house = (unsigned) rnd (d, 1, 480);
  p->street = streets[rnd (d, 0, G_N_ELEMENTS (streets) - 1)];
  p->town = &towns[rnd (d, 0, G_N_ELEMENTS (towns) - 1)];
  p->phone = (unsigned) rnd (d, 100, 199);
  {
    int r = rnd (d, 0, 99);

    p->marital = 0;
    while (r >= (int) marital_statuses[p->marital].weight)
      r -= (int) marital_statuses[p->marital++].weight;
  }
  if (age < 30 && p->marital == 3)
    p->marital = 1;
  p->gp = (unsigned) rnd (d, PR_FAMILY_1, PR_FAMILY_4);
}

/* A mistyped birth date: the last two digits of the year swapped, or failing that (1977,
 * 2002…) the year off by ten. */
static Day
mistyped_birth (Demo *d,
                Day   birth)
{
  int y, m, md, yy, swapped, typo;

  day_to_ymd (birth, &y, &m, &md);
  yy = y % 100;
  swapped = (yy % 10) * 10 + yy / 10;
  typo = y - yy + swapped;
  if (typo == y || typo > REF_YEAR - 19 || typo < REF_YEAR - 105)
    typo = y + 10 <= REF_YEAR - 19 ? y + 10 : y - 10;
  if (m == 2 && md == 29)
    md = 28;
  return day_from_ymd (typo, m, md);
}

static void
plan_health (Demo    *d,
             Patient *p)
{
  int age = age_at (p->birth, d->reference);
  int bmi;
  unsigned p_htn = age < 40 ? 10 : age < 60 ? 30 : 55;

  memset (p->diagnosed, 0, sizeof p->diagnosed);
  memset (p->prior, 0, sizeof p->prior);

  p->height = p->female ? rnd (d, 1520, 1780) : rnd (d, 1630, 1930);
  bmi = chance (d, 30) ? rnd (d, 300, 380) : rnd (d, 195, 299);   /* tenths */
  /* weight = BMI × height²; in tenths of kg: (bmi/10) × (height/1000)² × 10 */
  p->weight = (int) (((int64_t) bmi * p->height * p->height + 500000) / 1000000);
  p->weight_trend = rnd (d, -12, 14);
  p->heart_rate = rnd (d, 60, 86);
  p->dbp_offset = rnd (d, -4, 8);
  p->creatinine = p->female ? rnd (d, 62, 90) : rnd (d, 76, 110);
  p->potassium = rnd (d, 38, 46);
  p->hemoglobin = p->female ? rnd (d, 124, 142) : rnd (d, 139, 156);

  /* Each chronic condition: 0 none, else known before the window (prior) or diagnosed at a
   * check-up; the day is filled in once the check-ups are planned. */
  if (chance (d, p_htn))
    p->diagnosed[CH_HYPERTENSION] = 1;
  if (chance (d, age < 40 ? 3 : 14))
    p->diagnosed[CH_DIABETES] = 1;
  else if (chance (d, 12))
    p->diagnosed[CH_PREDIABETES] = 1;
  if (age >= 40 && chance (d, 28))
    p->diagnosed[CH_HYPERLIPIDEMIA] = 1;
  if (chance (d, 9))
    p->diagnosed[CH_ASTHMA] = 1;
  if (age >= 60 && chance (d, 12))
    p->diagnosed[CH_CKD] = 1;
  if (bmi >= 300)
    p->diagnosed[CH_OBESITY] = 1;
  if (p->female && chance (d, 6))
    p->diagnosed[CH_ANEMIA] = 1;
  if (age >= 55 && chance (d, 20))
    p->diagnosed[CH_OSTEOARTHRITIS] = 1;
  if (!p->female && age >= 45 && chance (d, 5))
    p->diagnosed[CH_GOUT] = 1;
  if (age >= 60 && chance (d, 8))
    p->diagnosed[CH_CHD] = 1;
  for (unsigned c = 0; c < N_CHRONIC; c++)
    p->prior[c] = p->diagnosed[c] != 0 && (c == CH_OBESITY || chance (d, 70));

  p->sbp = p->diagnosed[CH_HYPERTENSION] ? rnd (d, 146, 166) : rnd (d, 106, 130);
  p->glucose = p->diagnosed[CH_DIABETES] ? rnd (d, 170, 230)
    : p->diagnosed[CH_PREDIABETES] ? rnd (d, 101, 118) : rnd (d, 78, 95);
  p->cholesterol = p->diagnosed[CH_HYPERLIPIDEMIA] ? rnd (d, 228, 276) : rnd (d, 150, 194);
  if (p->diagnosed[CH_CKD])
    {
      p->creatinine = rnd (d, 140, 175);
      p->potassium = rnd (d, 46, 50);
    }
}

/* How far a treatment begun on @start has taken effect on @day, in thousandths. */
static int
treated (Day start,
         Day day,
         int ramp_days)
{
  if (start == 0 || day < start)
    return 0;
  if ((int) (day - start) >= ramp_days)
    return 1000;
  return (int) (day - start) * 1000 / ramp_days;
}

/* Thousandths of a year since the window's start. */
static int
years_in (Demo *d,
          Day   day)
{
  return (int) ((int64_t) ((int) day - (int) d->window_start) * 1000 / 365);
}

/* The value of @kind for @p on @day, before noise. */
static int64_t
model_value (Demo          *d,
             const Patient *p,
             MeasureKind    kind,
             Day            day)
{
  switch (kind)
    {
    case M_WEIGHT:
      {
        int64_t weight = p->weight + (int64_t) p->weight_trend * years_in (d, day) / 1000;

        /* losing some weight once diabetes is treated */
        if (p->diagnosed[CH_DIABETES] != 0 && day > p->diagnosed[CH_DIABETES])
          weight -= MIN (30, (int) (day - p->diagnosed[CH_DIABETES]) * 15 / 365);
        return MAX (weight, 380);
      }
    case M_GLUCOSE:
      {
        int glucose = p->glucose;

        if (p->diagnosed[CH_DIABETES] != 0)
          {
            if (!p->prior[CH_DIABETES] && day < p->diagnosed[CH_DIABETES])
              /* rising towards the diagnosis */
              glucose -= 30 - 30 * (int) (day - d->window_start)
                / MAX (1, (int) (p->diagnosed[CH_DIABETES] - d->window_start));
            glucose -= 38 * treated (p->diagnosed[CH_DIABETES], day, 150) / 1000;
          }
        return glucose;
      }
    case M_HBA1C:
      /* from the mean glucose (ADAG: mg/dL = 28.7 × A1c − 46.7), in tenths of % */
      return (model_value (d, p, M_GLUCOSE, day) * 100 + 4670) / 287;
    case M_CREATININE:
      return p->creatinine
        + (p->diagnosed[CH_CKD] != 0 ? (int64_t) 9 * years_in (d, day) / 1000 : 0);
    case M_POTASSIUM:
      return p->potassium;
    case M_CHOLESTEROL:
      return p->cholesterol
        - (p->diagnosed[CH_HYPERLIPIDEMIA] != 0
           ? 60 * treated (p->diagnosed[CH_HYPERLIPIDEMIA], day, 90) / 1000 : 0);
    case M_HEMOGLOBIN:
      if (p->diagnosed[CH_ANEMIA] != 0)
        {
          int low = p->hemoglobin - 28;

          if (p->prior[CH_ANEMIA])
            return low + 10;   /* long-standing, partly corrected */
          if (day < p->diagnosed[CH_ANEMIA])
            return p->hemoglobin - 12 - 16 * (int) (day - d->window_start)
              / MAX (1, (int) (p->diagnosed[CH_ANEMIA] - d->window_start));
          return low + 28 * treated (p->diagnosed[CH_ANEMIA], day, 540) / 1000;
        }
      return p->hemoglobin;
    case M_HEART_RATE:
    case M_TEMPERATURE:
    case M_HEIGHT:
    case M_BMI:
    case N_MEASURES:
    default:
      break;
    }
  g_assert_not_reached ();
  return 0;
}

static int
compare_encounters (gconstpointer a,
                    gconstpointer b)
{
  const Encounter *x = a;
  const Encounter *y = b;

  if (x->day != y->day)
    return x->day < y->day ? -1 : 1;
  if (x->start != y->start)
    return x->start < y->start ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq ? 1 : 0;
}

static Encounter *
plan_encounter (GArray       *encounters,
                EncounterKind kind,
                Day           day,
                int           start,
                int           duration,
                unsigned      practitioner)
{
  Encounter e = { 0 };

  e.kind = kind;
  e.day = day;
  e.start = start;
  e.duration = duration;
  e.practitioner = practitioner;
  e.acute = -1;
  e.seq = encounters->len;
  g_array_append_val (encounters, e);
  return &g_array_index (encounters, Encounter, encounters->len - 1);
}

static int
office_time (Demo *d)
{
  return 8 * 60 + 15 * rnd (d, 0, 34);   /* 08:00 to 16:30 */
}

static void
plan_acute_visit (Demo    *d,
                  Patient *p,
                  GArray  *encounters,
                  Day      day)
{
  unsigned total = 0;
  unsigned r;
  int acute = 0;
  Encounter *e;

  for (size_t i = 0; i < G_N_ELEMENTS (acute_defs); i++)
    total += p->female ? acute_defs[i].weight_female : acute_defs[i].weight_male;
  r = (unsigned) rnd (d, 0, (int) total - 1);
  for (size_t i = 0; i < G_N_ELEMENTS (acute_defs); i++)
    {
      unsigned weight = p->female ? acute_defs[i].weight_female : acute_defs[i].weight_male;

      if (r < weight)
        {
          acute = (int) i;
          break;
        }
      r -= weight;
    }
  /* one draw per statement: the order of evaluation of a call's arguments is unspecified,
   * and the demo must not depend on the compiler */
  if (chance (d, acute_defs[acute].er_percent))
    {
      int start = rnd (d, 0, 95) * 15;
      int duration = rnd (d, 90, 300);
      unsigned doctor = (unsigned) rnd (d, PR_EMERGENCY_1, PR_EMERGENCY_2);

      e = plan_encounter (encounters, ENC_EMERGENCY, day, start, duration, doctor);
    }
  else
    {
      int start = office_time (d);
      int duration = rnd (d, 2, 3) * 10;
      unsigned who = chance (d, 50) ? p->gp : PR_NURSE_PRACTITIONER;

      e = plan_encounter (encounters, ENC_PROBLEM, day, start, duration, who);
    }
  e->acute = acute;
  e->fever = chance (d, acute_defs[acute].fever_percent);
}

/* Plans the encounters of @p, sorted by date, and fixes the diagnosis days. */
static GArray *
plan_encounters (Demo    *d,
                 Patient *p)
{
  GArray *encounters = g_array_new (FALSE, TRUE, sizeof (Encounter));
  Day checkups[WINDOW_YEARS];
  Day last = d->reference - 2;

  if (p->duplicate_record)
    {
      /* a second registration: a few walk-in visits, in years 1, 3 and 5 */
      for (int y = 0; y < WINDOW_YEARS; y += 2)
        {
          Day day = day_from_ymd (REF_YEAR - WINDOW_YEARS + y, 1, 1) + (Day) rnd (d, 10, 340);

          plan_acute_visit (d, p, encounters, day);
        }
    }
  else
    {
      for (int y = 0; y < WINDOW_YEARS; y++)
        {
          Encounter *e;
          int start, duration;

          checkups[y] = day_from_ymd (REF_YEAR - WINDOW_YEARS + y, 1, 1) + (Day) rnd (d, 14, 340);
          start = office_time (d);
          duration = rnd (d, 2, 4) * 15;
          e = plan_encounter (encounters, ENC_CHECKUP, checkups[y], start, duration, p->gp);
          e->labs = TRUE;
        }

      /* conditions known before the window date from years back; new ones are found at the
       * second, third or fourth check-up (the anaemic patient's at the second, so that it can
       * resolve by the fourth) */
      for (unsigned c = 0; c < N_CHRONIC; c++)
        {
          if (p->diagnosed[c] == 0)
            continue;
          if (p->prior[c])
            p->diagnosed[c] = d->window_start - (Day) rnd (d, 200, 3000);
          else if (c == CH_ANEMIA && p->index == d->anemic)
            p->diagnosed[c] = checkups[1];
          else
            p->diagnosed[c] = checkups[rnd (d, 1, 3)];
        }

      /* diabetes: a follow-up with labs about six months after each check-up once known;
       * hypertension: a blood-pressure check three months after it is found */
      for (int y = 0; y < WINDOW_YEARS; y++)
        {
          Day follow = checkups[y] + (Day) rnd (d, 160, 200);

          if (p->diagnosed[CH_DIABETES] != 0 && p->diagnosed[CH_DIABETES] <= checkups[y]
              && follow < last)
            plan_encounter (encounters, ENC_FOLLOWUP, follow, office_time (d), 20, p->gp)
              ->diabetes_labs = TRUE;
        }
      if (p->diagnosed[CH_HYPERTENSION] != 0 && !p->prior[CH_HYPERTENSION])
        {
          Day day = p->diagnosed[CH_HYPERTENSION] + (Day) rnd (d, 80, 100);
          int start = office_time (d);

          plan_encounter (encounters, ENC_FOLLOWUP, day, start, 20, PR_NURSE_PRACTITIONER);
        }
      if (p->diagnosed[CH_ANEMIA] != 0 && !p->prior[CH_ANEMIA])
        {
          /* hemoglobin three and eight months into the iron */
          static const int after[2][2] = { { 85, 95 }, { 230, 250 } };

          for (unsigned i = 0; i < G_N_ELEMENTS (after); i++)
            {
              Day day = p->diagnosed[CH_ANEMIA] + (Day) rnd (d, after[i][0], after[i][1]);
              int start = office_time (d);

              plan_encounter (encounters, ENC_FOLLOWUP, day, start, 20, p->gp)
                ->hemoglobin_lab = TRUE;
            }
        }

      for (int i = rnd (d, 0, 4); i > 0; i--)
        plan_acute_visit (d, p, encounters,
                          d->window_start + (Day) rnd (d, 0, (int) (last - d->window_start)));
    }

  g_array_sort (encounters, compare_encounters);
  for (unsigned i = 0; i < encounters->len; i++)
    {
      Encounter *e = &g_array_index (encounters, Encounter, i);
      g_autofree char *id = g_strdup_printf ("enc-%03u-%02u", p->index + 1, i + 1);

      ident_init (d, &e->ident, "Encounter", id);
    }
  return encounters;
}

/* ---- writing a patient's record -------------------------------------------------------------- */

static void
write_patient (Demo          *d,
               const Patient *p)
{
  Jw *w = &d->w;
  char mrn[16];
  char birth[16];
  const Culture *c = p->culture;

  g_snprintf (mrn, sizeof mrn, "%08u", p->mrn);
  jw_begin_resource (w, "Patient", p->ident.id);
  format_date (birth, sizeof birth, p->birth_written);
  jw_narrative (w, "%s%s%s %s, %s, born %s, MRN %s", p->given, p->middle != NULL ? " " : "",
                p->middle != NULL ? p->middle : "", p->family, p->female ? "female" : "male",
                birth, mrn);
  jw_begin_array (w, "identifier");
  jw_begin_object (w, NULL);
  jw_string (w, "use", "usual");
  jw_concept (w, "type", V2_0203, "MR", "Medical record number", "MRN");
  jw_string (w, "system", MRN_SYSTEM);
  jw_string (w, "value", mrn);
  jw_reference (w, "assigner", "Organization/org-hospital", HOSPITAL_NAME);
  jw_end_object (w);
  jw_end_array (w);
  jw_bool (w, "active", TRUE);
  jw_official_name (w, p->family, p->given, p->middle, NULL);
  write_telecom (w, "home", p->phone);
  jw_string (w, "gender", p->female ? "female" : "male");
  jw_date (w, "birthDate", p->birth_written);
  jw_begin_array (w, "address");
  if (p->moved)
    {
      write_address (w, "home", p->new_house, p->new_street, p->new_town);
      jw_begin_object (w, "period");
      jw_date (w, "start", p->moved_day);
      jw_end_object (w);
      jw_end_object (w);
      write_address (w, "old", p->house, p->street, p->town);
      jw_begin_object (w, "period");
      jw_date (w, "end", p->moved_day);
      jw_end_object (w);
      jw_end_object (w);
    }
  else
    {
      write_address (w, "home", p->house, p->street, p->town);
      jw_end_object (w);
    }
  jw_end_array (w);
  jw_concept (w, "maritalStatus", V3_MARITAL, marital_statuses[p->marital].code,
              marital_statuses[p->marital].display, marital_statuses[p->marital].display);
  jw_begin_array (w, "communication");
  jw_begin_object (w, NULL);
  jw_concept (w, "language", BCP47, c->language, c->language_display, c->language_display);
  jw_bool (w, "preferred", TRUE);
  jw_end_object (w);
  jw_end_array (w);
  jw_begin_array (w, "generalPractitioner");
  jw_practitioner_reference (d, NULL, p->gp);
  jw_end_array (w);
  jw_reference (w, "managingOrganization", "Organization/org-clinic", CLINIC_NAME);
  jw_end_object (w);
}

static gboolean
add_encounter (Demo            *d,
               const Patient   *p,
               const Encounter *e,
               GError         **error)
{
  static const struct
  {
    const char *class_code;
    const char *class_display;
    const char *type_code;
    const char *type_display;
    const char *text;
  } kinds[] = {
    [ENC_CHECKUP] = { "AMB", "ambulatory", "185349003", "Encounter for check up (procedure)",
                      "Annual check-up" },
    [ENC_PROBLEM] = { "AMB", "ambulatory", "185347001", "Encounter for problem (procedure)",
                      "Office visit" },
    [ENC_EMERGENCY] = { "EMER", "emergency", "50849002", "Emergency room admission (procedure)",
                        "Emergency department visit" },
    [ENC_FOLLOWUP] = { "AMB", "ambulatory", "390906007", "Follow-up encounter (procedure)",
                       "Follow-up visit" },
  };
  Jw *w = &d->w;
  char date[16];

  jw_begin_resource (w, "Encounter", e->ident.id);
  format_date (date, sizeof date, e->day);
  jw_narrative (w, "%s on %s with %s", kinds[e->kind].text, date,
                d->practitioners[e->practitioner].display);
  jw_string (w, "status", "finished");
  jw_coding (w, "class", V3_ACTCODE, kinds[e->kind].class_code, kinds[e->kind].class_display);
  jw_concept_array (w, "type", SNOMED, kinds[e->kind].type_code, kinds[e->kind].type_display,
                    kinds[e->kind].text);
  jw_ident_reference (d, "subject", &p->ident);
  jw_begin_array (w, "participant");
  jw_begin_object (w, NULL);
  jw_concept_array (w, "type", V3_PARTTYPE, "PPRF", "primary performer", NULL);
  jw_practitioner_reference (d, "individual", e->practitioner);
  jw_end_object (w);
  jw_end_array (w);
  jw_begin_object (w, "period");
  jw_datetime (w, "start", e->day, e->start);
  jw_datetime (w, "end", e->day, e->start + e->duration);
  jw_end_object (w);
  if (e->acute >= 0)
    {
      const ConditionDef *c = &acute_defs[e->acute].condition;

      jw_concept_array (w, "reasonCode", SNOMED, c->code, c->display, c->text);
    }
  if (e->kind == ENC_EMERGENCY)
    jw_reference (w, "serviceProvider", "Organization/org-hospital", HOSPITAL_NAME);
  else
    jw_reference (w, "serviceProvider", "Organization/org-clinic", CLINIC_NAME);
  jw_end_object (w);
  return demo_add (d, &e->ident, error);
}

static const char *
interpretation (const ObservationRecord *r,
                const char             **display)
{
  const Measure *m = &measures[r->kind];
  int low = r->female ? m->low_female : m->low_male;
  int high = r->female ? m->high_female : m->high_male;

  if (high != NO_LIMIT && r->value > high)
    {
      *display = "High";
      return "H";
    }
  if (low != NO_LIMIT && r->value < low)
    {
      *display = "Low";
      return "L";
    }
  *display = "Normal";
  return "N";
}

static void
write_observation (Demo                    *d,
                   const ObservationRecord *r)
{
  Jw *w = &d->w;
  gboolean bp = r->kind == N_MEASURES;
  const Measure *m = bp ? NULL : &measures[r->kind];
  gboolean lab = m != NULL && m->lab;
  gboolean entered_in_error = strcmp (r->status, "entered-in-error") == 0;
  char date[16];
  char value[32];

  jw_begin_resource (w, "Observation", r->ident.id);
  format_date (date, sizeof date, r->day);
  if (bp)
    jw_narrative (w, "%sBlood pressure %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " mm[Hg] on %s",
                  entered_in_error ? "Entered in error: " : "", r->value, r->value2, date);
  else
    {
      format_fixed (value, sizeof value, r->value, m->decimals);
      jw_narrative (w, "%s%s %s %s on %s", entered_in_error ? "Entered in error: " : "",
                    m->text, value, m->unit, date);
    }
  jw_string (w, "status", r->status);
  jw_concept_array (w, "category", OBS_CATEGORY, lab ? "laboratory" : "vital-signs",
                    lab ? "Laboratory" : "Vital Signs", NULL);
  if (bp)
    jw_concept (w, "code", LOINC, "85354-9", "Blood pressure panel with all children optional",
                "Blood pressure");
  else
    jw_concept (w, "code", LOINC, m->loinc, m->display, m->text);
  jw_subject_encounter (d, &r->subject, &r->encounter);
  jw_datetime (w, "effectiveDateTime", r->day, r->minute);
  jw_datetime (w, "issued", r->issued_day, r->issued_minute);
  jw_begin_array (w, "performer");
  if (r->performer == N_PRACTITIONERS)
    jw_reference (w, NULL, "Organization/org-lab", LAB_NAME);
  else
    jw_practitioner_reference (d, NULL, r->performer);
  jw_end_array (w);
  if (bp)
    {
      jw_begin_array (w, "component");
      jw_begin_object (w, NULL);
      jw_concept (w, "code", LOINC, "8480-6", "Systolic blood pressure", "Systolic");
      jw_quantity (w, "valueQuantity", r->value, 0, "mm[Hg]", "mm[Hg]");
      jw_end_object (w);
      jw_begin_object (w, NULL);
      jw_concept (w, "code", LOINC, "8462-4", "Diastolic blood pressure", "Diastolic");
      jw_quantity (w, "valueQuantity", r->value2, 0, "mm[Hg]", "mm[Hg]");
      jw_end_object (w);
      jw_end_array (w);
    }
  else
    {
      int low = r->female ? m->low_female : m->low_male;
      int high = r->female ? m->high_female : m->high_male;

      jw_quantity (w, "valueQuantity", r->value, m->decimals, m->unit, m->ucum);
      if (low != NO_LIMIT || high != NO_LIMIT)
        {
          const char *display;
          const char *code = interpretation (r, &display);

          jw_concept_array (w, "interpretation", V3_INTERP, code, display, NULL);
          jw_begin_array (w, "referenceRange");
          jw_begin_object (w, NULL);
          if (low != NO_LIMIT)
            jw_quantity (w, "low", low, m->decimals, m->unit, m->ucum);
          if (high != NO_LIMIT)
            jw_quantity (w, "high", high, m->decimals, m->unit, m->ucum);
          jw_end_object (w);
          jw_end_array (w);
        }
    }
  jw_end_object (w);
}

/* One patient's record being written: the encounter at hand, and counters per type for the
 * ids ("obs-007-12" is patient 7's twelfth observation). */
typedef struct
{
  Demo *d;
  Patient *p;
  const Encounter *e;       /* the encounter the resources being added belong to */
  unsigned n_observations;
  unsigned n_conditions;
  unsigned n_medications;
  unsigned n_allergies;
  unsigned n_immunizations;
} Chart;

static void
chart_ident (Chart      *chart,
             Ident      *ident,
             const char *type,
             const char *prefix,
             unsigned   *counter)
{
  g_autofree char *id = g_strdup_printf ("%s-%03u-%u", prefix, chart->p->index + 1, ++*counter);

  ident_init (chart->d, ident, type, id);
}

/* The identity of a new record of the encounter at hand, and its subject and encounter. */
static void
chart_record (Chart      *chart,
              Ident      *ident,
              Ident      *subject,
              Ident      *encounter,
              const char *type,
              const char *prefix,
              unsigned   *counter)
{
  chart_ident (chart, ident, type, prefix, counter);
  *subject = chart->p->ident;
  *encounter = chart->e->ident;
}

static gboolean
add_observation (Chart             *chart,
                 ObservationRecord *r,
                 GError           **error)
{
  chart_record (chart, &r->ident, &r->subject, &r->encounter, "Observation", "obs",
                &chart->n_observations);
  r->female = chart->p->female;
  r->status = "final";
  r->version = 1;
  write_observation (chart->d, r);
  return demo_add (chart->d, &r->ident, error);
}

/* add_observation() of @r measuring @kind as @value. */
static gboolean
add_measure (Chart             *chart,
             ObservationRecord *r,
             MeasureKind        kind,
             int64_t            value,
             GError           **error)
{
  r->kind = kind;
  r->value = value;
  return add_observation (chart, r, error);
}

static gboolean
add_vital_signs (Chart   *chart,
                 GError **error)
{
  Demo *d = chart->d;
  Patient *p = chart->p;
  const Encounter *e = chart->e;
  ObservationRecord r = { 0 };
  int minute = e->start + 5 + rnd (d, 0, 10);
  int weight, height, sbp, dbp, treatment;
  gboolean typo_here;

  r.day = e->day;
  r.minute = minute;
  r.issued_day = e->day;
  r.issued_minute = minute + 2;
  r.performer = e->kind == ENC_EMERGENCY ? e->practitioner : PR_NURSE;

  if (!add_measure (chart, &r, M_HEART_RATE,
                    clamp_int (p->heart_rate + noise (d, 7) + (e->fever ? 14 : 0)
                               + (e->kind == ENC_EMERGENCY ? 8 : 0), 45, 140), error)
      || !add_measure (chart, &r, M_TEMPERATURE,
                       e->fever ? rnd (d, 380, 392) : rnd (d, 363, 371), error))
    return FALSE;

  /* blood pressure: the hypertensive's falls once lisinopril starts */
  treatment = p->diagnosed[CH_HYPERTENSION] != 0
    ? treated (p->diagnosed[CH_HYPERTENSION], e->day, 120) : 0;
  sbp = clamp_int (p->sbp - 20 * treatment / 1000 + noise (d, 8), 88, 210);
  dbp = clamp_int (sbp * 60 / 100 + p->dbp_offset + noise (d, 4), 50, 125);
  r.value2 = dbp;
  if (!add_measure (chart, &r, N_MEASURES, sbp, error))
    return FALSE;

  weight = (int) model_value (d, p, M_WEIGHT, e->day) + noise (d, 6);
  height = p->height + noise (d, 3);
  /* the weight that was typed in pounds: kept to be marked entered-in-error */
  typo_here = p->index == d->nullified && !d->have_nullified && e->kind == ENC_CHECKUP
    && day_year (e->day) >= REF_YEAR - 3;
  if (!add_measure (chart, &r, M_WEIGHT, typo_here ? (int64_t) weight * 22046 / 10000 : weight,
                    error))
    return FALSE;
  if (typo_here)
    {
      d->nullified_observation = r;
      d->have_nullified = TRUE;
      /* entered again in kilograms the same day; the wrong entry is marked later */
      r.value = weight;
      r.issued_minute += 3;
      if (!add_observation (chart, &r, error))
        return FALSE;
    }

  /* BMI in tenths: (weight/10) / (height/1000)² × 10 */
  return add_measure (chart, &r, M_HEIGHT, height, error)
         && add_measure (chart, &r, M_BMI,
                         ((int64_t) weight * 1000000 * 2 + (int64_t) height * height)
                         / (2 * (int64_t) height * height), error);
}

static gboolean
add_lab (Chart      *chart,
         MeasureKind kind,
         int64_t     value,
         GError    **error)
{
  Demo *d = chart->d;
  const Encounter *e = chart->e;
  ObservationRecord r = { 0 };

  r.kind = kind;
  r.value = MAX (value, 1);
  r.day = e->day;
  r.minute = e->start + e->duration - 5;
  /* resulted by the laboratory the next morning */
  r.issued_day = e->day + 1;
  r.issued_minute = 7 * 60 + rnd (d, 0, 180);
  r.performer = N_PRACTITIONERS;
  return add_observation (chart, &r, error);
}

/* The laboratory tests an encounter orders, in order: those of its panels (the full panel at
 * check-ups, a diabetes or an anaemia follow-up's own). */
enum
{
  PANEL_FULL = 1 << 0,
  PANEL_DIABETES = 1 << 1,
  PANEL_HEMOGLOBIN = 1 << 2,
};

static gboolean
add_labs (Chart   *chart,
          GError **error)
{
  static const struct
  {
    MeasureKind kind;
    int spread;        /* noise around the model */
    unsigned panels;   /* the panels that include it */
  } tests[] = {
    { M_GLUCOSE, 9, PANEL_FULL | PANEL_DIABETES },
    { M_HBA1C, 3, PANEL_FULL | PANEL_DIABETES },
    { M_CREATININE, 7, PANEL_FULL },
    { M_POTASSIUM, 2, PANEL_FULL },
    { M_CHOLESTEROL, 12, PANEL_FULL },
    { M_HEMOGLOBIN, 4, PANEL_FULL | PANEL_HEMOGLOBIN },
  };
  Demo *d = chart->d;
  const Encounter *e = chart->e;
  unsigned ordered = (e->labs ? PANEL_FULL : 0) | (e->diabetes_labs ? PANEL_DIABETES : 0)
                     | (e->hemoglobin_lab ? PANEL_HEMOGLOBIN : 0);

  for (size_t i = 0; i < G_N_ELEMENTS (tests); i++)
    if ((tests[i].panels & ordered) != 0
        && !add_lab (chart, tests[i].kind,
                     model_value (d, chart->p, tests[i].kind, e->day) + noise (d, tests[i].spread),
                     error))
      return FALSE;
  return TRUE;
}

static void
write_condition (Demo                  *d,
                 const ConditionRecord *r)
{
  Jw *w = &d->w;
  char onset[16];
  char abated[16];

  jw_begin_resource (w, "Condition", r->ident.id);
  format_date (onset, sizeof onset, r->onset);
  if (r->abated != 0)
    {
      format_date (abated, sizeof abated, r->abated);
      jw_narrative (w, "%s from %s, resolved %s", r->def->text, onset, abated);
    }
  else
    jw_narrative (w, "%s since %s, active", r->def->text, onset);
  jw_concept (w, "clinicalStatus", COND_CLINICAL, r->abated != 0 ? "resolved" : "active",
              r->abated != 0 ? "Resolved" : "Active", NULL);
  jw_concept (w, "verificationStatus", COND_VERIFY, "confirmed", "Confirmed", NULL);
  if (r->chronic)
    jw_concept_array (w, "category", COND_CATEGORY, "problem-list-item", "Problem List Item",
                      NULL);
  else
    jw_concept_array (w, "category", COND_CATEGORY, "encounter-diagnosis",
                      "Encounter Diagnosis", NULL);
  jw_concept (w, "code", SNOMED, r->def->code, r->def->display, r->def->text);
  jw_subject_encounter (d, &r->subject, &r->encounter);
  jw_date (w, "onsetDateTime", r->onset);
  if (r->abated != 0)
    jw_date (w, "abatementDateTime", r->abated);
  jw_date (w, "recordedDate", r->recorded);
  jw_practitioner_reference (d, "recorder", r->recorder);
  jw_end_object (w);
}

static void
write_medication (Demo                   *d,
                  const MedicationRecord *r)
{
  Jw *w = &d->w;
  const MedDef *m = &meds[r->med];

  jw_begin_resource (w, "MedicationRequest", r->ident.id);
  jw_narrative (w, "%s: %s (%s)", m->display, m->instruction, r->status);
  jw_string (w, "status", r->status);
  jw_string (w, "intent", "order");
  jw_concept (w, "medicationCodeableConcept", RXNORM, m->rxnorm, m->display, m->display);
  jw_subject_encounter (d, &r->subject, &r->encounter);
  jw_datetime (w, "authoredOn", r->authored, r->minute);
  jw_practitioner_reference (d, "requester", r->requester);
  jw_begin_array (w, "reasonReference");
  jw_ident_reference (d, NULL, &r->reason);
  jw_end_array (w);
  jw_begin_array (w, "dosageInstruction");
  jw_begin_object (w, NULL);
  jw_fixed (w, "sequence", 1, 0);
  jw_string (w, "text", m->instruction);
  jw_begin_object (w, "timing");
  jw_begin_object (w, "repeat");
  if (m->course_days != 0)
    {
      jw_begin_object (w, "boundsDuration");
      jw_fixed (w, "value", m->course_days, 0);
      jw_string (w, "unit", "days");
      jw_string (w, "system", UCUM);
      jw_string (w, "code", "d");
      jw_end_object (w);
    }
  jw_fixed (w, "frequency", m->frequency, 0);
  jw_fixed (w, "period", m->period, 0);
  jw_string (w, "periodUnit", m->period_unit);
  jw_end_object (w);
  jw_end_object (w);
  jw_bool (w, "asNeededBoolean", m->as_needed);
  jw_begin_array (w, "doseAndRate");
  jw_begin_object (w, NULL);
  jw_begin_object (w, "doseQuantity");
  jw_fixed (w, "value", m->dose, 0);
  jw_string (w, "unit", m->dose_unit);
  jw_end_object (w);
  jw_end_object (w);
  jw_end_array (w);
  jw_end_object (w);
  jw_end_array (w);
  jw_end_object (w);
}

static gboolean
add_medication (Chart                 *chart,
                const ConditionRecord *condition,
                MedKind                med,
                unsigned               requester,
                const char            *status,
                MedicationRecord      *out,
                GError               **error)
{
  MedicationRecord r = { 0 };

  chart_record (chart, &r.ident, &r.subject, &r.encounter, "MedicationRequest", "med",
                &chart->n_medications);
  r.reason = condition->ident;
  r.med = med;
  r.status = status;
  r.authored = chart->e->day;
  r.minute = chart->e->start + chart->e->duration - 3;
  r.requester = requester;
  r.version = 1;
  write_medication (chart->d, &r);
  if (out != NULL)
    *out = r;
  return demo_add (chart->d, &r.ident, error);
}

static gboolean
add_condition (Chart           *chart,
               ConditionRecord *r,
               GError         **error)
{
  chart_record (chart, &r->ident, &r->subject, &r->encounter, "Condition", "cond",
                &chart->n_conditions);
  r->version = 1;
  write_condition (chart->d, r);
  return demo_add (chart->d, &r->ident, error);
}

/* The chronic conditions recorded at this encounter, with their medicines. */
static gboolean
add_chronic_conditions (Chart   *chart,
                        gboolean first,
                        GError **error)
{
  Demo *d = chart->d;
  Patient *p = chart->p;
  const Encounter *e = chart->e;

  for (unsigned c = 0; c < N_CHRONIC; c++)
    {
      ConditionRecord r = { 0 };
      gboolean special = c == CH_ANEMIA && p->index == d->anemic && !p->prior[c];

      if (p->diagnosed[c] == 0)
        continue;
      /* known conditions go on the list at the first encounter, new ones when found */
      if (p->prior[c] ? !first : (e->kind != ENC_CHECKUP || p->diagnosed[c] != e->day))
        continue;
      r.def = &chronic_defs[c];
      r.chronic = TRUE;
      r.onset = p->prior[c] ? p->diagnosed[c] : e->day;
      r.recorded = e->day;
      r.recorder = e->practitioner;
      if (!add_condition (chart, &r, error))
        return FALSE;
      if (special)
        {
          d->resolved_condition = r;
          d->have_condition = TRUE;
        }
      for (unsigned i = 0; i < G_N_ELEMENTS (r.def->meds); i++)
        {
          MedicationRecord m;

          if (r.def->meds[i] == MED_NONE)
            continue;
          if (!add_medication (chart, &r, r.def->meds[i], e->practitioner, "active", &m, error))
            return FALSE;
          if (special)
            {
              d->completed_medication = m;
              d->have_medication = TRUE;
            }
        }
    }
  return TRUE;
}

static gboolean
add_acute_condition (Chart   *chart,
                     GError **error)
{
  Demo *d = chart->d;
  const Encounter *e = chart->e;
  const AcuteDef *a = &acute_defs[e->acute];
  ConditionRecord r = { 0 };
  Day abated = e->day + (Day) rnd (d, 6, 21);
  MedKind med = chart->p->allergic_to_penicillin ? a->med_allergic : a->condition.meds[0];

  r.def = &a->condition;
  r.chronic = FALSE;
  r.onset = e->day - (Day) rnd (d, 0, 3);
  r.abated = abated < d->reference ? abated : 0;
  r.recorded = e->day;
  r.recorder = e->practitioner;
  if (!add_condition (chart, &r, error))
    return FALSE;
  if (med == MED_NONE)
    return TRUE;
  return add_medication (chart, &r, med, e->practitioner,
                         r.abated != 0 ? "completed" : "active", NULL, error);
}

static void
write_allergy (Demo                *d,
               const AllergyRecord *r)
{
  Jw *w = &d->w;
  const AllergyDef *a = &allergy_defs[r->kind];

  jw_begin_resource (w, "AllergyIntolerance", r->ident.id);
  jw_narrative (w, "%s (%s): %s, %s", a->text, r->verification, a->manifestation_display,
                a->severity);
  jw_concept (w, "clinicalStatus", AI_CLINICAL, "active", "Active", NULL);
  jw_concept (w, "verificationStatus", AI_VERIFY, r->verification,
              strcmp (r->verification, "confirmed") == 0 ? "Confirmed" : "Unconfirmed", NULL);
  jw_string (w, "type", "allergy");
  jw_string_array (w, "category", a->category, NULL);
  jw_string (w, "criticality", a->criticality);
  jw_concept (w, "code", SNOMED, a->code, a->display, a->text);
  jw_ident_reference (d, "patient", &r->patient);
  jw_date (w, "recordedDate", r->recorded);
  jw_practitioner_reference (d, "recorder", r->recorder);
  if (r->confirmed != 0)
    {
      jw_begin_array (w, "note");
      jw_begin_object (w, NULL);
      jw_practitioner_reference (d, "authorReference", PR_ALLERGIST);
      jw_date (w, "time", r->confirmed);
      jw_string (w, "text", "Confirmed by skin testing at the allergy clinic.");
      jw_end_object (w);
      jw_end_array (w);
    }
  jw_begin_array (w, "reaction");
  jw_begin_object (w, NULL);
  jw_concept_array (w, "manifestation", SNOMED, a->manifestation, a->manifestation_display,
                    NULL);
  jw_string (w, "severity", a->severity);
  jw_end_object (w);
  jw_end_array (w);
  jw_end_object (w);
}

static gboolean
add_allergy (Chart         *chart,
             AllergyKind    kind,
             const char    *verification,
             AllergyRecord *out,
             GError       **error)
{
  AllergyRecord r = { 0 };

  chart_ident (chart, &r.ident, "AllergyIntolerance", "alg", &chart->n_allergies);
  r.patient = chart->p->ident;
  r.kind = kind;
  r.verification = verification;
  r.recorded = chart->e->day;
  r.recorder = chart->e->practitioner;
  r.version = 1;
  write_allergy (chart->d, &r);
  if (out != NULL)
    *out = r;
  return demo_add (chart->d, &r.ident, error);
}

static gboolean
add_immunization (Chart            *chart,
                  const VaccineDef *vaccine,
                  Day               day,
                  GError          **error)
{
  Demo *d = chart->d;
  Jw *w = &d->w;
  Ident ident;
  char lot[16];
  char date[16];

  chart_ident (chart, &ident, "Immunization", "imm", &chart->n_immunizations);
  {
    char letter1 = (char) ('A' + rnd (d, 0, 25));
    char letter2 = (char) ('A' + rnd (d, 0, 25));
    int number = rnd (d, 1000, 9999);

    g_snprintf (lot, sizeof lot, "%c%c%04d", letter1, letter2, number);
  }
  jw_begin_resource (w, "Immunization", ident.id);
  format_date (date, sizeof date, day);
  jw_narrative (w, "%s, given %s", vaccine->display, date);
  jw_string (w, "status", "completed");
  jw_concept (w, "vaccineCode", CVX, vaccine->code, vaccine->display, vaccine->display);
  jw_ident_reference (d, "patient", &chart->p->ident);
  jw_datetime (w, "occurrenceDateTime", day, office_time (d));
  jw_bool (w, "primarySource", TRUE);
  jw_string (w, "lotNumber", lot);
  jw_begin_array (w, "performer");
  jw_begin_object (w, NULL);
  jw_practitioner_reference (d, "actor", PR_NURSE);
  jw_end_object (w);
  jw_end_array (w);
  jw_end_object (w);
  return demo_add (d, &ident, error);
}

static gboolean
add_immunizations (Chart   *chart,
                   GError **error)
{
  Demo *d = chart->d;
  Patient *p = chart->p;
  int age = age_at (p->birth, d->reference);
  int start = REF_YEAR - WINDOW_YEARS;

  if (p->duplicate_record)
    return TRUE;

  /* COVID-19: a primary series in spring 2021, a booster later for most */
  if (chance (d, 82))
    {
      gboolean pfizer = chance (d, 60);
      const VaccineDef *v = pfizer ? &vaccine_covid_pfizer : &vaccine_covid_moderna;
      Day first = day_from_ymd (start, 2, 1) + (Day) rnd (d, 0, 110);

      if (!add_immunization (chart, v, first, error)
          || !add_immunization (chart, v, first + (pfizer ? 21 : 28), error))
        return FALSE;
      if (chance (d, 65)
          && !add_immunization (chart, v, day_from_ymd (start + 1, 1, 10) + (Day) rnd (d, 0, 280),
                                error))
        return FALSE;
    }
  /* seasonal influenza, each autumn */
  for (int y = 0; y < WINDOW_YEARS; y++)
    if (chance (d, age >= 65 ? 85 : 55)
        && !add_immunization (chart, &vaccine_flu,
                              day_from_ymd (start + y, 9, 15) + (Day) rnd (d, 0, 70), error))
      return FALSE;
  if (chance (d, 15)
      && !add_immunization (chart, &vaccine_tdap,
                            d->window_start + (Day) rnd (d, 0, 1700), error))
    return FALSE;
  if (age >= 50 && chance (d, 40))
    {
      Day first = d->window_start + (Day) rnd (d, 0, 1500);

      if (!add_immunization (chart, &vaccine_zoster, first, error)
          || !add_immunization (chart, &vaccine_zoster, first + (Day) rnd (d, 60, 180), error))
        return FALSE;
    }
  if (age >= 67 && chance (d, 50))
    {
      Day first = d->window_start + (Day) rnd (d, 0, 1300);

      if (!add_immunization (chart, &vaccine_pcv13, first, error)
          || !add_immunization (chart, &vaccine_ppsv23, first + (Day) rnd (d, 365, 420), error))
        return FALSE;
    }
  if (chance (d, 5))
    {
      Day first = d->window_start + (Day) rnd (d, 0, 1500);

      for (int i = 0; i < 3; i++)
        if (!add_immunization (chart, &vaccine_hepb, first + (Day) (i == 0 ? 0 : i == 1 ? 30 : 180),
                               error))
          return FALSE;
    }
  return TRUE;
}

static gboolean
add_allergies (Chart   *chart,
               GError **error)
{
  Demo *d = chart->d;
  Patient *p = chart->p;

  if (p->duplicate_record)
    return TRUE;
  if (p->index == d->allergic)
    {
      /* reported at the first visit ("a rash with amoxicillin as a child"), unconfirmed */
      if (!add_allergy (chart, AL_PENICILLIN, "unconfirmed", &d->confirmed_allergy, error))
        return FALSE;
      d->have_allergy = TRUE;
    }
  else if (p->allergic_to_penicillin)
    {
      if (!add_allergy (chart, AL_PENICILLIN, "confirmed", NULL, error))
        return FALSE;
    }
  if (chance (d, 30))
    {
      AllergyKind first = (AllergyKind) rnd (d, 0, AL_PENICILLIN - 1);

      if (!add_allergy (chart, first, "confirmed", NULL, error))
        return FALSE;
      if (chance (d, 25))
        {
          AllergyKind second = (AllergyKind) ((first + 1 + rnd (d, 0, AL_PENICILLIN - 2))
                                              % AL_PENICILLIN);

          if (!add_allergy (chart, second, "confirmed", NULL, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* Plans and writes one patient's record as one transaction. */
static gboolean
add_patient_record (Demo         *d,
                    Patient      *p,
                    ChartaChange *change,
                    GError      **error)
{
  g_autoptr(GArray) encounters = plan_encounters (d, p);
  Chart chart = { 0 };

  chart.d = d;
  chart.p = p;
  p->version = 1;
  write_patient (d, p);
  if (!demo_add (d, &p->ident, error))
    return FALSE;

  for (unsigned i = 0; i < encounters->len; i++)
    {
      chart.e = &g_array_index (encounters, Encounter, i);
      if (!add_encounter (d, p, chart.e, error)
          || !add_vital_signs (&chart, error)
          || !add_labs (&chart, error))
        return FALSE;
      if (i == 0 && !add_allergies (&chart, error))
        return FALSE;
      if (!p->duplicate_record && !add_chronic_conditions (&chart, i == 0, error))
        return FALSE;
      if (chart.e->acute >= 0 && !add_acute_condition (&chart, error))
        return FALSE;
    }
  if (encounters->len > 0)
    {
      const Encounter *first = &g_array_index (encounters, Encounter, 0);
      const Encounter *last = &g_array_index (encounters, Encounter, encounters->len - 1);

      p->first_visit = first->ident;
      p->first_visit_day = first->day;
      p->last_visit = last->ident;
      p->last_visit_day = last->day;
    }
  if (!add_immunizations (&chart, error))
    return FALSE;
  if (!demo_commit (d, change, error))
    {
      g_prefix_error (error, "demo patient %s: ", p->ident.id);
      return FALSE;
    }
  return TRUE;
}

/* ---- corrections --------------------------------------------------------------------------- */

/* Who makes a correction: a practitioner (a PractitionerRole), or the clinic's front desk. */
#define FRONT_DESK N_PRACTITIONERS

/* demo_correct() of the resource just written, made by @agent for @reason (and, unless NULL,
 * as @activity). */
static gboolean
correct_by (Demo        *d,
            const Ident *ident,
            int64_t     *version,
            unsigned     agent,
            const char  *reason,
            const char  *activity,
            GError     **error)
{
  g_autoptr(ChartaChange) change = charta_change_new ();

  if (agent == FRONT_DESK)
    charta_change_set_agent (change, "Organization/org-clinic", CLINIC_NAME " front desk");
  else
    {
      g_autofree char *reference = g_strconcat ("Practitioner/",
                                                d->practitioners[agent].ident.id, NULL);

      charta_change_set_agent (change, reference, d->practitioners[agent].display);
    }
  charta_change_set_reason (change, NULL, NULL, reason);
  if (activity != NULL)
    charta_change_set_activity (change, NULL, activity);
  return demo_correct (d, ident, version, change, error);
}

static gboolean
add_corrections (Demo    *d,
                 GError **error)
{
  Patient *amended = &d->patients[d->amended];
  Patient *moved = &d->patients[d->moved];
  unsigned gp = d->patients[d->anemic].gp;

  d->literal_refs = TRUE;

  /* the birth date typed wrong at registration, amended by HIM */
  amended->birth_written = amended->birth;
  write_patient (d, amended);
  if (!correct_by (d, &amended->ident, &amended->version, PR_HIM_CLERK, "transcription error",
                   "amend", error))
    return FALSE;

  /* a new address, reported at the front desk */
  moved->moved = TRUE;
  write_patient (d, moved);
  if (!correct_by (d, &moved->ident, &moved->version, FRONT_DESK,
                   "patient reported a new address", NULL, error))
    return FALSE;

  /* the weight typed in pounds, marked entered-in-error by the nurse who took it */
  if (d->have_nullified)
    {
      ObservationRecord *r = &d->nullified_observation;

      r->status = "entered-in-error";
      write_observation (d, r);
      if (!correct_by (d, &r->ident, &r->version, r->performer,
                       "weight entered in pounds instead of kilograms", "NULLIFY", error))
        return FALSE;
    }

  /* the penicillin allergy, confirmed by the allergist */
  if (d->have_allergy)
    {
      AllergyRecord *r = &d->confirmed_allergy;
      Day confirmed = r->recorded + 60 + (Day) rnd (d, 0, 60);   /* MIN() reads it twice */

      r->verification = "confirmed";
      r->confirmed = MIN (confirmed, d->reference - 1);
      write_allergy (d, r);
      if (!correct_by (d, &r->ident, &r->version, PR_ALLERGIST,
                       "confirmed by penicillin skin test", NULL, error))
        return FALSE;
    }

  /* the anaemia resolved on iron, and the iron stopped */
  if (d->have_condition)
    {
      ConditionRecord *r = &d->resolved_condition;
      Day abated = r->onset + 600 + (Day) rnd (d, 0, 60);   /* MIN() reads it twice */

      r->abated = MIN (abated, d->reference - 1);
      write_condition (d, r);
      if (!correct_by (d, &r->ident, &r->version, gp,
                       "hemoglobin back within the reference range", NULL, error))
        return FALSE;
    }
  if (d->have_medication)
    {
      MedicationRecord *r = &d->completed_medication;

      r->status = "completed";
      write_medication (d, r);
      if (!correct_by (d, &r->ident, &r->version, gp, "course of iron completed", NULL, error))
        return FALSE;
    }
  return TRUE;
}

/* ---- scanned documents --------------------------------------------------------------------- */

/* Paper scanned into the store (charta-scan-gen.h draws it): filed documents (a consent, outside
 * records, a release of information, a health history, as PDF, PNG, multi-page TIFF and JPEG),
 * scans waiting in the indexing queue (no subject, docStatus preliminary), and one consent
 * filed to the wrong patient.  That one is for HIM staff to find: its page shows one patient's
 * name, birth date and MRN while its subject is another patient (one with the same family name
 * when there is one, as such mistakes go); charta_demo_populate() names both in its stats.
 *
 * Each document is a Binary (its bytes streamed in through a ChartaContentWriter) and a
 * DocumentReference, two writes with the same agent: the HIM clerk for what is filed, the
 * scanning station for what waits in the queue.  Pages are drawn at 100 dpi so that the demo
 * stays small and quick, on a few threads (each document from its own seed, so the bytes do
 * not depend on the order the threads run in). */

#define SCAN_DPI       100
#define SCANNER_AGENT  HOSPITAL_NAME " HIM scanning station"

typedef enum
{
  PLACE_FILED,
  PLACE_MISFILED,  /* filed, but to another patient than the one on the page */
  PLACE_QUEUED,
} Placement;

typedef enum
{
  VISIT_NONE,      /* outside records: no encounter of ours */
  VISIT_FIRST,     /* signed at the first visit */
  VISIT_LAST,      /* signed at the last visit */
} Visit;

static const struct
{
  ChartaScanForm form;
  ChartaScanFormat format;
  unsigned pages;
  Placement placement;
  Visit visit;
} scan_plan[] = {
  { CHARTA_SCAN_FORM_CONSENT, CHARTA_SCAN_FORMAT_PDF, 2, PLACE_FILED, VISIT_FIRST },
  { CHARTA_SCAN_FORM_DISCHARGE_SUMMARY, CHARTA_SCAN_FORMAT_PDF, 3, PLACE_FILED, VISIT_NONE },
  { CHARTA_SCAN_FORM_RELEASE, CHARTA_SCAN_FORMAT_PNG, 1, PLACE_FILED, VISIT_LAST },
  { CHARTA_SCAN_FORM_HISTORY, CHARTA_SCAN_FORMAT_TIFF, 2, PLACE_FILED, VISIT_FIRST },
  { CHARTA_SCAN_FORM_DISCHARGE_SUMMARY, CHARTA_SCAN_FORMAT_JPEG, 1, PLACE_FILED, VISIT_NONE },
  { CHARTA_SCAN_FORM_CONSENT, CHARTA_SCAN_FORMAT_PDF, 1, PLACE_MISFILED, VISIT_FIRST },
  { CHARTA_SCAN_FORM_DISCHARGE_SUMMARY, CHARTA_SCAN_FORMAT_PDF, 2, PLACE_QUEUED, VISIT_NONE },
  { CHARTA_SCAN_FORM_CONSENT, CHARTA_SCAN_FORMAT_PNG, 1, PLACE_QUEUED, VISIT_NONE },
  { CHARTA_SCAN_FORM_HISTORY, CHARTA_SCAN_FORMAT_TIFF, 2, PLACE_QUEUED, VISIT_NONE },
  { CHARTA_SCAN_FORM_RELEASE, CHARTA_SCAN_FORMAT_JPEG, 1, PLACE_QUEUED, VISIT_NONE },
};

/* What the HIM clerk wrote as each form's description when indexing it. */
static const char *const scan_descriptions[CHARTA_SCAN_N_FORMS] = {
  [CHARTA_SCAN_FORM_CONSENT] = "Consent for treatment",
  [CHARTA_SCAN_FORM_DISCHARGE_SUMMARY] = "Outside records: discharge summary",
  [CHARTA_SCAN_FORM_RELEASE] = "Release of information authorization",
  [CHARTA_SCAN_FORM_HISTORY] = "Health history questionnaire",
};

typedef struct
{
  unsigned plan;             /* index in scan_plan */
  Placement placement;
  const Patient *patient;    /* whose paper it is */
  const Patient *subject;    /* whom it is filed to (NULL: queued) */
  Day day;                   /* the paper's date */
  Day scanned;               /* when it was scanned */
  int scanned_minute;
  ChartaScanSpec spec;
  char name[128];            /* the spec's strings */
  char birth[16];
  char mrn[16];
  char date[16];
  GBytes *bytes;             /* the document, once drawn */
  GError *error;
} ScanDoc;

static void
generate_scan (gpointer data,
               gpointer user_data)
{
  ScanDoc *doc = data;

  doc->bytes = charta_scan_generate (&doc->spec, scan_plan[doc->plan].format, &doc->error);
}

/* Streams @doc into the store as Binary/bin-NN and writes DocumentReference/doc-NN. */
static gboolean
write_scan (Demo    *d,
            ScanDoc *doc,
            unsigned number,
            GError **error)
{
  Jw *w = &d->w;
  g_autoptr(ChartaChange) change = charta_change_new ();
  g_autoptr(ChartaResource) binary = NULL;
  g_autoptr(ChartaResource) resource = NULL;
  g_autoptr(ChartaResource) stored = NULL;
  ChartaScanFormat format = scan_plan[doc->plan].format;
  const char *content_type = charta_scan_format_get_content_type (format);
  ChartaContentWriter *writer;
  ChartaContentInfo info;
  Ident binary_ident, document_ident;
  char binary_id[16], document_id[16], title[32], scanned[32], binary_ref[32];
  char document_ref[40];
  const void *data;
  gsize size;

  g_snprintf (binary_id, sizeof binary_id, "bin-%02u", number);
  g_snprintf (document_id, sizeof document_id, "doc-%02u", number);
  ident_init (d, &binary_ident, "Binary", binary_id);
  ident_init (d, &document_ident, "DocumentReference", document_id);

  if (doc->subject != NULL)
    {
      g_autofree char *reference = g_strconcat ("Practitioner/",
                                                d->practitioners[PR_HIM_CLERK].ident.id, NULL);

      charta_change_set_agent (change, reference, d->practitioners[PR_HIM_CLERK].display);
      charta_change_set_reason (change, NULL, NULL, "scanned and indexed");
    }
  else
    {
      charta_change_set_agent (change, "Organization/org-hospital", SCANNER_AGENT);
      charta_change_set_reason (change, NULL, NULL, "scanned, awaiting indexing");
    }

  /* the bytes, as a scanner sends them: streamed, in pieces */
  writer = charta_store_content_begin (d->store, error);
  if (writer == NULL)
    return FALSE;
  data = g_bytes_get_data (doc->bytes, &size);
  for (gsize offset = 0; offset < size; offset += 64 * 1024)
    if (!charta_content_writer_write (writer, (const guint8 *) data + offset,
                                      MIN (64 * 1024, size - offset), error))
      {
        charta_content_writer_abort (writer);
        return FALSE;
      }
  if (!charta_content_writer_finish (writer, &info, error))
    return FALSE;
  /* who may read the bytes is who may read the document: its DocumentReference (written next)
   * stands for it */
  g_snprintf (document_ref, sizeof document_ref, "DocumentReference/%s", document_id);
  binary = charta_store_put_binary (d->store, binary_id, content_type, document_ref,
                                    info.sha256, 0, change, NULL, error);
  if (binary == NULL)
    {
      g_prefix_error (error, "demo Binary/%s: ", binary_id);
      return FALSE;
    }
  count_resource (d->stats, "Binary");

  /* what indexing recorded about it */
  g_snprintf (title, sizeof title, "SCAN%04u.%s", 1000 + number * 37,
              charta_scan_format_get_extension (format));
  g_snprintf (binary_ref, sizeof binary_ref, "Binary/%s", binary_id);
  format_datetime (scanned, sizeof scanned, doc->scanned, doc->scanned_minute);
  jw_begin_resource (w, "DocumentReference", document_id);
  jw_string (w, "status", "current");
  jw_string (w, "docStatus", doc->subject != NULL ? "final" : "preliminary");
  if (doc->subject != NULL)
    {
      const char *display = NULL;
      const char *code = charta_scan_form_get_loinc (scan_plan[doc->plan].form, &display);
      g_autofree char *subject = g_strconcat ("Patient/", doc->subject->ident.id, NULL);

      jw_concept (w, "type", LOINC, code, display, NULL);
      jw_reference (w, "subject", subject, NULL);
      jw_string (w, "date", scanned);
      jw_string (w, "description", scan_descriptions[scan_plan[doc->plan].form]);
    }
  else
    jw_string (w, "date", scanned);
  jw_reference (w, "custodian", "Organization/org-hospital", HOSPITAL_NAME);
  jw_begin_array (w, "content");
  jw_begin_object (w, NULL);
  jw_begin_object (w, "attachment");
  jw_string (w, "contentType", content_type);
  jw_string (w, "url", binary_ref);
  jw_string (w, "title", title);
  jw_date (w, "creation", doc->subject != NULL ? doc->day : doc->scanned);
  jw_end_object (w);
  jw_end_object (w);
  jw_end_array (w);
  if (doc->subject != NULL)
    {
      jw_begin_object (w, "context");
      if (scan_plan[doc->plan].visit != VISIT_NONE && doc->placement == PLACE_FILED)
        {
          const Ident *visit = scan_plan[doc->plan].visit == VISIT_FIRST
            ? &doc->subject->first_visit : &doc->subject->last_visit;
          g_autofree char *reference = g_strconcat ("Encounter/", visit->id, NULL);

          jw_begin_array (w, "encounter");
          jw_reference (w, NULL, reference, NULL);
          jw_end_array (w);
        }
      jw_begin_object (w, "period");
      jw_date (w, "start", doc->day);
      jw_end_object (w);
      jw_end_object (w);
    }
  jw_end_object (w);

  resource = demo_parse (d, &document_ident, error);
  if (resource == NULL)
    return FALSE;
  stored = charta_store_update (d->store, resource, 0, change, NULL, error);
  if (stored == NULL)
    {
      g_prefix_error (error, "demo DocumentReference/%s: ", document_id);
      return FALSE;
    }
  count_resource (d->stats, "DocumentReference");
  d->stats->n_scan_writes += 2;
  return TRUE;
}

/* Plans the documents of scan_plan over distinct patients, draws them, and writes them. */
static gboolean
add_scans (Demo    *d,
           GError **error)
{
  size_t n_docs = G_N_ELEMENTS (scan_plan);
  g_autofree unsigned *order = g_new (unsigned, d->n_real);
  g_autofree ScanDoc *docs = g_new0 (ScanDoc, n_docs);
  unsigned n_order = 0;
  GThreadPool *pool;
  gboolean ok = TRUE;

  /* whose paper: distinct people, in a shuffled order; when there are enough, none of those
   * whose records the corrections touched, so that each story has a chart of its own */
  for (unsigned i = 0; i < d->n_real; i++)
    {
      gboolean corrected = i == d->amended || i == d->moved || i == d->nullified
                           || i == d->allergic || i == d->anemic || i == d->duplicate_of;

      if (!corrected || d->n_real < n_docs + 6)
        order[n_order++] = i;
    }
  for (unsigned i = n_order; i > 1; i--)
    {
      unsigned j = (unsigned) rnd (d, 0, (int) i - 1);
      unsigned t = order[i - 1];

      order[i - 1] = order[j];
      order[j] = t;
    }

  for (size_t i = 0; i < n_docs; i++)
    {
      ScanDoc *doc = &docs[i];
      const Patient *p = &d->patients[order[i % n_order]];

      doc->plan = (unsigned) i;
      doc->placement = scan_plan[i].placement;
      doc->patient = p;
      doc->subject = doc->placement == PLACE_QUEUED ? NULL : p;
      if (doc->placement == PLACE_MISFILED)
        {
          /* filed to another patient: one of the same family name when there is one */
          const Patient *other = NULL;

          for (unsigned j = 0; j < n_order && other == NULL; j++)
            if (&d->patients[order[j]] != p
                && strcmp (d->patients[order[j]].family, p->family) == 0)
              other = &d->patients[order[j]];
          if (other == NULL && n_order > 1)
            other = &d->patients[order[(i + 1) % n_order]];
          if (other != NULL)
            doc->subject = other;
          else
            doc->placement = PLACE_FILED;   /* a demo of one patient: nobody to confuse */
        }

      switch (scan_plan[i].visit)
        {
        case VISIT_FIRST:
          doc->day = p->first_visit_day;
          break;
        case VISIT_LAST:
          doc->day = p->last_visit_day;
          break;
        case VISIT_NONE:
          /* outside records: a stay elsewhere, weeks before the last visit here */
          doc->day = p->last_visit_day - (Day) rnd (d, 14, 60);
          break;
        }
      if (doc->placement == PLACE_QUEUED)
        {
          /* scanned in the last days before the reference date, not indexed yet */
          doc->scanned = d->reference - (Day) rnd (d, 1, 6);
          if (scan_plan[i].visit == VISIT_NONE)
            doc->day = doc->scanned - (Day) rnd (d, 3, 20);
          else
            doc->day = doc->scanned;
        }
      else
        {
          Day scanned = doc->day + (Day) rnd (d, 0, 3);   /* MIN() reads it twice */

          doc->scanned = MIN (scanned, d->reference - 1);
        }
      doc->scanned_minute = 8 * 60 + rnd (d, 0, 9 * 60);

      g_snprintf (doc->name, sizeof doc->name, "%s%s%s %s", p->given, p->middle != NULL ? " " : "",
                  p->middle != NULL ? p->middle : "", p->family);
      format_date (doc->birth, sizeof doc->birth, p->birth);
      g_snprintf (doc->mrn, sizeof doc->mrn, "%08u", p->mrn);
      format_date (doc->date, sizeof doc->date, doc->day);
      charta_scan_spec_init (&doc->spec);
      doc->spec.form = scan_plan[i].form;
      doc->spec.n_pages = scan_plan[i].pages;
      doc->spec.dpi = SCAN_DPI;
      doc->spec.patient_name = doc->name;
      doc->spec.birth_date = doc->birth;
      doc->spec.mrn = doc->mrn;
      doc->spec.date = doc->date;
      doc->spec.seed = g_rand_int (d->rand);
    }

  /* drawing the pages is most of the work: on a few threads */
  pool = g_thread_pool_new (generate_scan, NULL, (int) MIN (g_get_num_processors (), 8), FALSE,
                            NULL);
  for (size_t i = 0; i < n_docs; i++)
    g_thread_pool_push (pool, &docs[i], NULL);
  g_thread_pool_free (pool, FALSE, TRUE);

  for (size_t i = 0; i < n_docs; i++)
    {
      ScanDoc *doc = &docs[i];

      if (ok && doc->error != NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&doc->error), "demo scan %u: ",
                                      (unsigned) i + 1);
          ok = FALSE;
        }
      ok = ok && write_scan (d, doc, (unsigned) i + 1, error);
      if (ok && doc->placement == PLACE_MISFILED)
        {
          d->stats->misfiled_document_id = g_strdup_printf ("doc-%02u", (unsigned) i + 1);
          d->stats->misfiled_subject_id = g_strdup (doc->subject->ident.id);
          d->stats->misfiled_patient_id = g_strdup (doc->patient->ident.id);
        }
      else if (ok)
        {
          if (doc->placement == PLACE_QUEUED)
            d->stats->n_scans_queued++;
          else
            d->stats->n_scans_filed++;
        }
      g_clear_pointer (&doc->bytes, g_bytes_unref);
      g_clear_error (&doc->error);
    }
  return ok;
}

/* ---- the population ------------------------------------------------------------------------ */

static void
plan_patients (Demo *d)
{
  unsigned n = d->n_patients;

  d->patients = g_new0 (Patient, n);
  d->n_real = n >= 2 ? n - 1 : n;

  /* who the corrections touch: distinct people where there are enough */
  d->amended = (unsigned) rnd (d, 0, (int) d->n_real - 1);
  d->moved = (unsigned) rnd (d, 0, (int) d->n_real - 1);
  d->nullified = (unsigned) rnd (d, 0, (int) d->n_real - 1);
  d->allergic = (unsigned) rnd (d, 0, (int) d->n_real - 1);
  d->anemic = (unsigned) rnd (d, 0, (int) d->n_real - 1);
  d->duplicate_of = n;
  if (n >= 2)
    {
      d->duplicate_of = (unsigned) rnd (d, 0, (int) d->n_real - 1);
      if (d->duplicate_of == d->amended && d->n_real > 1)
        d->duplicate_of = (d->duplicate_of + 1) % d->n_real;
    }
  if (d->moved == d->amended && d->n_real > 1)
    d->moved = (d->moved + 1) % d->n_real;

  for (unsigned i = 0; i < d->n_real; i++)
    {
      Patient *p = &d->patients[i];
      g_autofree char *id = g_strdup_printf ("pat-%03u", i + 1);

      p->index = i;
      ident_init (d, &p->ident, "Patient", id);
      plan_identity (d, p);
      plan_health (d, p);
      p->allergic_to_penicillin = i == d->allergic || chance (d, 4);
      if (i == d->anemic)
        {
          /* a woman whose iron deficiency is found at the second check-up */
          if (!p->female)
            {
              p->female = TRUE;
              p->given = pick (d, p->culture->female);
              p->height -= 100;
              p->hemoglobin -= 14;
              p->creatinine -= 14;
              p->weight -= 80;
            }
          p->diagnosed[CH_ANEMIA] = 1;
          p->prior[CH_ANEMIA] = FALSE;
        }
      if (i == d->amended)
        p->birth_written = mistyped_birth (d, p->birth);
      if (i == d->moved)
        {
          p->moved_day = d->reference - (Day) rnd (d, 20, 90);
          p->new_house = (unsigned) rnd (d, 1, 480);
          p->new_street = streets[rnd (d, 0, G_N_ELEMENTS (streets) - 1)];
          p->new_town = &towns[rnd (d, 0, G_N_ELEMENTS (towns) - 1)];
          while (p->new_street == p->street)
            p->new_street = streets[rnd (d, 0, G_N_ELEMENTS (streets) - 1)];
        }
    }

  if (n >= 2)
    {
      /* the same person registered again at the emergency department: same name, sex and
       * birth date, a new MRN, an older address */
      Patient *dup = &d->patients[n - 1];
      const Patient *orig = &d->patients[d->duplicate_of];
      g_autofree char *id = g_strdup_printf ("pat-%03u", n);

      *dup = *orig;
      dup->index = n - 1;
      ident_init (d, &dup->ident, "Patient", id);
      dup->duplicate_record = TRUE;
      dup->moved = FALSE;
      dup->birth_written = orig->birth;
      dup->mrn = 4000000 + dup->index * 1379 + (unsigned) rnd (d, 0, 1000);
      dup->house = (unsigned) rnd (d, 1, 480);
      dup->phone = (unsigned) rnd (d, 100, 199);
      memset (dup->diagnosed, 0, sizeof dup->diagnosed);
      memset (dup->prior, 0, sizeof dup->prior);
      dup->allergic_to_penicillin = FALSE;
    }
}

void
charta_demo_options_init (ChartaDemoOptions *options)
{
  g_return_if_fail (options != NULL);

  options->n_patients = CHARTA_DEMO_DEFAULT_PATIENTS;
  options->seed = CHARTA_DEMO_DEFAULT_SEED;
}

void
charta_demo_stats_clear (ChartaDemoStats *stats)
{
  g_return_if_fail (stats != NULL);

  g_free (stats->him_clerk_id);
  g_free (stats->amended_patient_id);
  g_free (stats->moved_patient_id);
  g_free (stats->nullified_observation_id);
  g_free (stats->confirmed_allergy_id);
  g_free (stats->resolved_condition_id);
  g_free (stats->completed_medication_id);
  g_free (stats->duplicate_patient_ids[0]);
  g_free (stats->duplicate_patient_ids[1]);
  g_free (stats->misfiled_document_id);
  g_free (stats->misfiled_subject_id);
  g_free (stats->misfiled_patient_id);
  memset (stats, 0, sizeof *stats);
}

static gboolean
populate (Demo    *d,
          GError **error)
{
  g_autoptr(ChartaChange) change = charta_change_new ();
  ChartaDemoStats *stats = d->stats;

  charta_change_set_agent (change, NULL, "Charta demo generator");
  charta_change_set_reason (change, NULL, NULL, "synthetic demonstration data");

  /* the organizations and the staff, in one transaction */
  if (!add_organization (d, "org-hospital", HOSPITAL_NAME, "prov", "Healthcare Provider", 1,
                         "Hospital Drive", 100, NULL, error)
      || !add_organization (d, "org-clinic", CLINIC_NAME, "prov", "Healthcare Provider", 22,
                            "Maple Street", 140, NULL, error)
      || !add_organization (d, "org-lab", LAB_NAME, "dept", "Hospital Department", 1,
                            "Hospital Drive", 160, "Organization/org-hospital", error)
      || !add_practitioners (d, error)
      || !demo_commit (d, change, error))
    return FALSE;

  plan_patients (d);
  for (unsigned i = 0; i < d->n_patients; i++)
    if (!add_patient_record (d, &d->patients[i], change, error))
      return FALSE;

  if (!add_corrections (d, error))
    return FALSE;

  if (!add_scans (d, error))
    return FALSE;

  stats->him_clerk_id = g_strdup (d->practitioners[PR_HIM_CLERK].ident.id);
  stats->amended_patient_id = g_strdup (d->patients[d->amended].ident.id);
  stats->moved_patient_id = g_strdup (d->patients[d->moved].ident.id);
  if (d->have_nullified)
    stats->nullified_observation_id = g_strdup (d->nullified_observation.ident.id);
  if (d->have_allergy)
    stats->confirmed_allergy_id = g_strdup (d->confirmed_allergy.ident.id);
  if (d->have_condition)
    stats->resolved_condition_id = g_strdup (d->resolved_condition.ident.id);
  if (d->have_medication)
    stats->completed_medication_id = g_strdup (d->completed_medication.ident.id);
  if (d->duplicate_of < d->n_patients)
    {
      stats->duplicate_patient_ids[0] = g_strdup (d->patients[d->duplicate_of].ident.id);
      stats->duplicate_patient_ids[1] = g_strdup (d->patients[d->n_patients - 1].ident.id);
    }
  return TRUE;
}

gboolean
charta_demo_populate (ChartaStore             *store,
                      const ChartaDemoOptions *options,
                      ChartaDemoStats         *stats,
                      GError                 **error)
{
  ChartaDemoOptions defaults;
  ChartaDemoStats local = { 0 };
  Demo d = { 0 };
  gboolean ok;

  g_return_val_if_fail (CHARTA_IS_STORE (store), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (options == NULL)
    {
      charta_demo_options_init (&defaults);
      options = &defaults;
    }
  if (options->n_patients < 1 || options->n_patients > CHARTA_DEMO_MAX_PATIENTS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "demo: the number of patients must be between 1 and %u, not %u",
                   CHARTA_DEMO_MAX_PATIENTS, options->n_patients);
      return FALSE;
    }
  if (stats != NULL)
    charta_demo_stats_clear (stats);

  d.store = store;
  d.stats = stats != NULL ? stats : &local;
  d.seed = options->seed;
  d.rand = g_rand_new_with_seed (options->seed);
  d.n_patients = options->n_patients;
  d.reference = day_from_ymd (REF_YEAR, 1, 1);
  d.window_start = day_from_ymd (REF_YEAR - WINDOW_YEARS, 1, 1);
  d.w.s = g_string_sized_new (4096);
  d.resources = g_ptr_array_new_with_free_func ((GDestroyNotify) charta_resource_unref);
  d.full_urls = g_ptr_array_new_with_free_func (g_free);

  g_debug ("demo: %u patients, seed %u", d.n_patients, d.seed);
  ok = populate (&d, error);

  g_rand_free (d.rand);
  g_string_free (d.w.s, TRUE);
  g_ptr_array_unref (d.resources);
  g_ptr_array_unref (d.full_urls);
  g_free (d.patients);
  if (stats == NULL)
    charta_demo_stats_clear (&local);
  return ok;
}
