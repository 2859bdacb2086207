/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-patient-list.c: a patient search as a lazily loaded GListModel (see
 * charta-patient-list.h).
 *
 * Invariants: @items only grows, in the server's order; @by_key holds each match key of @items
 * once; @next_path is the link to read next (NULL once the last page is in); @cancellable is
 * set exactly while a page is being read, and the callback of that read holds a reference to
 * the list, so a list dropped by the finder lives until its read has returned
 * (charta_patient_list_cancel() makes that quick).  No search text is ever logged.
 */
#define G_LOG_DOMAIN "charta-patient-list"

#include <string.h>

#include "charta-fhir-text.h"
#include "charta-patient-list.h"

/* An item this close to the end of what is loaded makes the list read the next page. */
#define PREFETCH 20

struct _ChartaPatientList
{
  GObject parent_instance;

  ChartaClient *client;
  GPtrArray *items;          /* ChartaPatient */
  GHashTable *by_key;        /* match key → the first item with it (keys and items borrowed
                              * from @items) */
  char *next_path;           /* the page to read next; NULL when complete */
  GCancellable *cancellable; /* the page being read; NULL when idle */
  int64_t total;             /* Bundle.total, -1 when not given */
  unsigned n_pages;
  unsigned n_duplicates;
  char *error_message;
};

enum
{
  PROP_0,
  PROP_LOADING,
  PROP_COMPLETE,
  PROP_TOTAL,
  PROP_N_POSSIBLE_DUPLICATES,
  PROP_ERROR_MESSAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ChartaPatientList, charta_patient_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

/* ---- the query ---------------------------------------------------------------------------- */

static gboolean
is_date (const char *word)
{
  size_t length = strlen (word);

  if (length != 4 && length != 7 && length != 10)
    return FALSE;
  for (size_t i = 0; i < length; i++)
    {
      if (i == 4 || i == 7)
        {
          if (word[i] != '-')
            return FALSE;
        }
      else if (!g_ascii_isdigit (word[i]))
        return FALSE;
    }
  return TRUE;
}

static gboolean
is_identifier (const char *word)
{
  if (strchr (word, '|') != NULL)
    return TRUE;
  for (const char *c = word; *c != '\0'; c++)
    if (g_ascii_isdigit (*c))
      return TRUE;
  return FALSE;
}

char *
charta_patient_list_query_for_text (const char *text,
                                    unsigned    page_size)
{
  g_autoptr(GString) query = g_string_new ("Patient?");
  g_auto(GStrv) words = g_strsplit_set (text != NULL ? text : "", " \t\n,", -1);

  for (char **word = words; *word != NULL; word++)
    {
      g_autofree char *escaped = NULL;
      const char *param;

      if (**word == '\0')
        continue;
      if (is_date (*word))
        param = "birthdate";
      else if (is_identifier (*word))
        param = "identifier";
      else
        param = "name";
      escaped = g_uri_escape_string (*word, NULL, FALSE);
      g_string_append_printf (query, "%s=%s&", param, escaped);
    }
  g_string_append_printf (query, "_sort=family,given,birthdate&_count=%u",
                          page_size > 0 ? page_size : CHARTA_PATIENT_LIST_PAGE_SIZE);
  return g_string_free (g_steal_pointer (&query), FALSE);
}

/* ---- GListModel --------------------------------------------------------------------------- */

static GType
list_get_item_type (GListModel *model)
{
  return CHARTA_TYPE_PATIENT;
}

static guint
list_get_n_items (GListModel *model)
{
  return CHARTA_PATIENT_LIST (model)->items->len;
}

static gpointer
list_get_item (GListModel *model,
               guint       position)
{
  ChartaPatientList *self = CHARTA_PATIENT_LIST (model);

  if (position >= self->items->len)
    return NULL;
  /* A view that shows this far down is about to need the next page. */
  if (position + PREFETCH >= self->items->len)
    charta_patient_list_load_more (self);
  return g_object_ref (g_ptr_array_index (self->items, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = list_get_item_type;
  iface->get_n_items = list_get_n_items;
  iface->get_item = list_get_item;
}

/* ---- reading pages ------------------------------------------------------------------------ */

/* The "next" link of a searchset Bundle, or NULL. */
static const char *
next_link (JsonObject *bundle)
{
  JsonArray *links = charta_json_get_array (bundle, "link");

  for (unsigned i = 0; links != NULL && i < json_array_get_length (links); i++)
    {
      JsonNode *node = json_array_get_element (links, i);

      if (JSON_NODE_HOLDS_OBJECT (node)
          && g_strcmp0 (charta_json_get_string (json_node_get_object (node), "relation"),
                        "next") == 0)
        return charta_json_get_string (json_node_get_object (node), "url");
    }
  return NULL;
}

/* Marks the items from @start on that share a match key with an item loaded before or with
 * each other, and the items they share it with. */
static void
mark_duplicates (ChartaPatientList *self,
                 unsigned           start)
{
  for (unsigned i = start; i < self->items->len; i++)
    {
      ChartaPatient *patient = g_ptr_array_index (self->items, i);
      const char *key = charta_patient_get_match_key (patient);
      ChartaPatient *first;

      if (key == NULL)
        continue;
      first = g_hash_table_lookup (self->by_key, key);
      if (first == NULL)
        {
          g_hash_table_insert (self->by_key, (gpointer) key, patient);
          continue;
        }
      if (!charta_patient_get_possible_duplicate (first))
        self->n_duplicates++;
      self->n_duplicates++;
      charta_patient_set_possible_duplicate (first, TRUE);
      charta_patient_set_possible_duplicate (patient, TRUE);
    }
}

static void
set_error_message (ChartaPatientList *self,
                   const char        *message)
{
  if (g_strcmp0 (self->error_message, message) == 0)
    return;
  g_free (self->error_message);
  self->error_message = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_MESSAGE]);
}

/* Takes the matches of one searchset page; FALSE when @bundle is not one. */
static gboolean
take_page (ChartaPatientList *self,
           JsonObject        *bundle)
{
  JsonArray *entries = charta_json_get_array (bundle, "entry");
  JsonNode *total = json_object_get_member (bundle, "total");
  unsigned start = self->items->len;
  unsigned n_duplicates = self->n_duplicates;
  const char *next;

  if (g_strcmp0 (charta_json_get_string (bundle, "resourceType"), "Bundle") != 0)
    return FALSE;

  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *mode = charta_json_get_string (charta_json_get_object (entry, "search"),
                                                 "mode");
      JsonObject *resource = charta_json_get_object (entry, "resource");
      ChartaPatient *patient;

      if (mode != NULL && strcmp (mode, "match") != 0)
        continue;
      patient = resource != NULL ? charta_patient_new_from_json (resource) : NULL;
      if (patient != NULL)
        g_ptr_array_add (self->items, patient);
    }

  next = next_link (bundle);
  g_free (self->next_path);
  self->next_path = g_strdup (next);
  self->n_pages++;
  if (total != NULL && JSON_NODE_HOLDS_VALUE (total)
      && json_node_get_value_type (total) == G_TYPE_INT64)
    {
      self->total = json_node_get_int (total);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOTAL]);
    }
  g_debug ("page %u: %u patients, %s", self->n_pages, self->items->len - start,
           self->next_path != NULL ? "more to come" : "the last");

  mark_duplicates (self, start);
  if (self->items->len > start)
    g_list_model_items_changed (G_LIST_MODEL (self), start, 0, self->items->len - start);
  if (self->n_duplicates != n_duplicates)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_POSSIBLE_DUPLICATES]);
  if (self->next_path == NULL)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPLETE]);
  return TRUE;
}

static void
page_read (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(ChartaPatientList) self = user_data;
  g_autoptr(JsonNode) bundle = NULL;
  g_autoptr(GError) error = NULL;

  bundle = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->cancellable);

  if (bundle == NULL)
    set_error_message (self, error->message);
  else if (!take_page (self, json_node_get_object (bundle)))
    set_error_message (self, "The server answered the patient search with something other "
                             "than a searchset Bundle");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

void
charta_patient_list_load_more (ChartaPatientList *self)
{
  g_return_if_fail (CHARTA_IS_PATIENT_LIST (self));

  if (self->cancellable != NULL || self->next_path == NULL || self->error_message != NULL)
    return;
  self->cancellable = g_cancellable_new ();
  charta_client_get_async (self->client, self->next_path, self->cancellable, page_read,
                           g_object_ref (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

void
charta_patient_list_retry (ChartaPatientList *self)
{
  g_return_if_fail (CHARTA_IS_PATIENT_LIST (self));

  set_error_message (self, NULL);
  charta_patient_list_load_more (self);
}

void
charta_patient_list_cancel (ChartaPatientList *self)
{
  g_return_if_fail (CHARTA_IS_PATIENT_LIST (self));

  if (self->cancellable == NULL)
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

/* ---- the object --------------------------------------------------------------------------- */

static void
charta_patient_list_finalize (GObject *object)
{
  ChartaPatientList *self = CHARTA_PATIENT_LIST (object);

  g_assert (self->cancellable == NULL);
  g_clear_object (&self->client);
  g_hash_table_unref (self->by_key);
  g_ptr_array_unref (self->items);
  g_free (self->next_path);
  g_free (self->error_message);

  G_OBJECT_CLASS (charta_patient_list_parent_class)->finalize (object);
}

static void
charta_patient_list_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  ChartaPatientList *self = CHARTA_PATIENT_LIST (object);

  switch (prop_id)
    {
    case PROP_LOADING:
      g_value_set_boolean (value, charta_patient_list_is_loading (self));
      break;
    case PROP_COMPLETE:
      g_value_set_boolean (value, charta_patient_list_is_complete (self));
      break;
    case PROP_TOTAL:
      g_value_set_int64 (value, self->total);
      break;
    case PROP_N_POSSIBLE_DUPLICATES:
      g_value_set_uint (value, self->n_duplicates);
      break;
    case PROP_ERROR_MESSAGE:
      g_value_set_string (value, self->error_message);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_patient_list_class_init (ChartaPatientListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = charta_patient_list_finalize;
  object_class->get_property = charta_patient_list_get_property;

  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_COMPLETE] =
    g_param_spec_boolean ("complete", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_TOTAL] =
    g_param_spec_int64 ("total", NULL, NULL, -1, G_MAXINT64, -1,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_POSSIBLE_DUPLICATES] =
    g_param_spec_uint ("n-possible-duplicates", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_ERROR_MESSAGE] =
    g_param_spec_string ("error-message", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
charta_patient_list_init (ChartaPatientList *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
  self->by_key = g_hash_table_new (g_str_hash, g_str_equal);
  self->total = -1;
}

ChartaPatientList *
charta_patient_list_new (ChartaClient *client,
                         const char   *search_path)
{
  ChartaPatientList *self;

  g_return_val_if_fail (CHARTA_IS_CLIENT (client), NULL);
  g_return_val_if_fail (search_path != NULL, NULL);

  self = g_object_new (CHARTA_TYPE_PATIENT_LIST, NULL);
  self->client = g_object_ref (client);
  self->next_path = g_strdup (search_path);
  charta_patient_list_load_more (self);
  return self;
}

gboolean
charta_patient_list_is_loading (ChartaPatientList *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT_LIST (self), FALSE);
  return self->cancellable != NULL;
}

gboolean
charta_patient_list_is_complete (ChartaPatientList *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT_LIST (self), FALSE);
  return self->next_path == NULL;
}

int64_t
charta_patient_list_get_total (ChartaPatientList *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT_LIST (self), -1);
  return self->total;
}

unsigned
charta_patient_list_get_n_pages (ChartaPatientList *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT_LIST (self), 0);
  return self->n_pages;
}

unsigned
charta_patient_list_get_n_possible_duplicates (ChartaPatientList *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT_LIST (self), 0);
  return self->n_duplicates;
}

const char *
charta_patient_list_get_error_message (ChartaPatientList *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT_LIST (self), NULL);
  return self->error_message;
}
