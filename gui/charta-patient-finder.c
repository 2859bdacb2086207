/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-patient-finder.c: the search entry and the list of patients (see
 * charta-patient-finder.h).
 *
 * One ChartaPatientList per search, behind a GtkSingleSelection; a new search cancels the read
 * of the old one and drops it.  The visible page of the results stack and the footer are
 * worked out again by update_state() whenever the list changes: items, loading, error.
 */
#define G_LOG_DOMAIN "charta-patient-finder"

#include "charta-patient-finder.h"
#include "charta-patient-list.h"
#include "charta-patient-row.h"

struct _ChartaPatientFinder
{
  AdwBin parent_instance;

  ChartaClient *client;
  ChartaPatientList *results;    /* NULL without a client */
  char *query;                   /* the search path of @results */
  char *wanted_id;               /* a patient to select once it is among the results */
  GtkSingleSelection *selection;

  GtkSearchEntry *search_entry;
  GtkStack *results_stack;
  GtkListView *list_view;
  GtkSpinner *loading_spinner;
  GtkSpinner *more_spinner;
  GtkLabel *error_description;
  GtkLabel *status_label;
};

enum
{
  PROP_0,
  PROP_CLIENT,
  N_PROPS
};

enum
{
  PATIENT_SELECTED,
  PATIENT_ACTIVATED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ChartaPatientFinder, charta_patient_finder, ADW_TYPE_BIN)

/* ---- what the user sees ------------------------------------------------------------------- */

static char *
describe_results (ChartaPatientList *results)
{
  unsigned n = g_list_model_get_n_items (G_LIST_MODEL (results));
  int64_t total = charta_patient_list_get_total (results);
  unsigned n_duplicates = charta_patient_list_get_n_possible_duplicates (results);
  g_autoptr(GString) text = g_string_new (NULL);

  if (total >= 0 && (int64_t) n < total)
    g_string_printf (text, "Showing %u of %" G_GINT64_FORMAT " patients", n, total);
  else if (charta_patient_list_is_complete (results))
    g_string_printf (text, n == 1 ? "%u patient" : "%u patients", n);
  else
    g_string_printf (text, "%u patients so far: scroll for more", n);
  if (n_duplicates > 0)
    g_string_append_printf (text, n_duplicates == 1 ? " · %u possible duplicate"
                                                    : " · %u possible duplicates",
                            n_duplicates);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
update_state (ChartaPatientFinder *self)
{
  const char *error_message;
  gboolean loading;
  unsigned n;

  if (self->results == NULL)
    {
      gtk_stack_set_visible_child_name (self->results_stack, "empty");
      gtk_label_set_text (self->status_label, "");
      gtk_widget_set_visible (GTK_WIDGET (self->more_spinner), FALSE);
      return;
    }

  n = g_list_model_get_n_items (G_LIST_MODEL (self->results));
  loading = charta_patient_list_is_loading (self->results);
  error_message = charta_patient_list_get_error_message (self->results);

  gtk_spinner_set_spinning (self->loading_spinner, loading && n == 0);
  gtk_spinner_set_spinning (self->more_spinner, loading && n > 0);
  gtk_widget_set_visible (GTK_WIDGET (self->more_spinner), loading && n > 0);

  if (n == 0)
    {
      if (error_message != NULL)
        {
          gtk_label_set_text (self->error_description, error_message);
          gtk_stack_set_visible_child_name (self->results_stack, "error");
        }
      else if (loading)
        gtk_stack_set_visible_child_name (self->results_stack, "loading");
      else
        gtk_stack_set_visible_child_name (self->results_stack, "empty");
      gtk_label_set_text (self->status_label, loading ? "Searching…" : "");
      return;
    }

  gtk_stack_set_visible_child_name (self->results_stack, "results");
  if (error_message != NULL)
    {
      g_autofree char *text = g_strdup_printf ("Could not read more patients: %s",
                                               error_message);

      gtk_label_set_text (self->status_label, text);
    }
  else
    {
      g_autofree char *text = describe_results (self->results);

      gtk_label_set_text (self->status_label, text);
    }
}

/* Selects the wanted patient if it is among the @n_items items from @position on. */
static void
select_wanted (ChartaPatientFinder *self,
               unsigned             position,
               unsigned             n_items)
{
  if (self->wanted_id == NULL || self->results == NULL)
    return;
  for (unsigned i = position; i < position + n_items; i++)
    {
      g_autoptr(ChartaPatient) patient = g_list_model_get_item (G_LIST_MODEL (self->results), i);

      if (patient != NULL && g_strcmp0 (charta_patient_get_id (patient), self->wanted_id) == 0)
        {
          g_clear_pointer (&self->wanted_id, g_free);
          gtk_single_selection_set_selected (self->selection, i);
          return;
        }
    }
}

static void
results_changed (ChartaPatientFinder *self)
{
  update_state (self);
}

static void
results_added (GListModel          *results,
               unsigned             position,
               unsigned             removed,
               unsigned             added,
               ChartaPatientFinder *self)
{
  update_state (self);
  select_wanted (self, position, added);
}

/* ---- searching ---------------------------------------------------------------------------- */

/* The search path for what is in the entry. */
static char *
typed_query (ChartaPatientFinder *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));

  return charta_patient_list_query_for_text (text, 0);
}

static void
drop_results (ChartaPatientFinder *self)
{
  if (self->results == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->results, self);
  charta_patient_list_cancel (self->results);
  gtk_single_selection_set_model (self->selection, NULL);
  g_clear_object (&self->results);
  g_clear_pointer (&self->query, g_free);
}

static void
run_search (ChartaPatientFinder *self,
            gboolean             force)
{
  g_autofree char *query = NULL;

  if (self->client == NULL)
    return;
  query = typed_query (self);
  if (!force && g_strcmp0 (query, self->query) == 0)
    return;

  drop_results (self);
  g_clear_pointer (&self->wanted_id, g_free);
  self->query = g_steal_pointer (&query);
  self->results = charta_patient_list_new (self->client, self->query);
  /* After: the selection model must have taken the new items before one is selected. */
  g_signal_connect_after (self->results, "items-changed", G_CALLBACK (results_added), self);
  g_signal_connect_swapped (self->results, "notify::loading", G_CALLBACK (results_changed),
                            self);
  g_signal_connect_swapped (self->results, "notify::error-message",
                            G_CALLBACK (results_changed), self);
  gtk_single_selection_set_model (self->selection, G_LIST_MODEL (self->results));
  update_state (self);
}

static void
search_changed (ChartaPatientFinder *self)
{
  run_search (self, FALSE);
}

static void
activate_position (ChartaPatientFinder *self,
                   unsigned             position)
{
  g_autoptr(ChartaPatient) patient = NULL;

  if (self->results == NULL)
    return;
  patient = g_list_model_get_item (G_LIST_MODEL (self->results), position);
  if (patient == NULL)
    return;
  gtk_single_selection_set_selected (self->selection, position);
  g_signal_emit (self, signals[PATIENT_ACTIVATED], 0, charta_patient_get_id (patient));
}

/* Enter in the entry: the search, or, when the results are already those of the text, the
 * first patient. */
static void
search_activated (ChartaPatientFinder *self)
{
  g_autofree char *query = NULL;

  if (self->client == NULL)
    return;
  query = typed_query (self);
  if (g_strcmp0 (query, self->query) != 0)
    {
      run_search (self, FALSE);
      return;
    }
  /* The same text after a failure (the error page): Enter tries again, as its button does. */
  if (self->results != NULL && charta_patient_list_get_error_message (self->results) != NULL
      && g_list_model_get_n_items (G_LIST_MODEL (self->results)) == 0)
    {
      charta_patient_list_retry (self->results);
      return;
    }
  if (self->results != NULL && g_list_model_get_n_items (G_LIST_MODEL (self->results)) > 0)
    activate_position (self, 0);
}

static void
list_activated (ChartaPatientFinder *self,
                unsigned             position)
{
  activate_position (self, position);
}

static void
retry_clicked (ChartaPatientFinder *self)
{
  if (self->results != NULL)
    charta_patient_list_retry (self->results);
}

static void
selection_changed (ChartaPatientFinder *self)
{
  ChartaPatient *patient = gtk_single_selection_get_selected_item (self->selection);

  if (patient != NULL)
    g_signal_emit (self, signals[PATIENT_SELECTED], 0, charta_patient_get_id (patient));
}

/* Down in the entry moves into the list. */
static gboolean
entry_key_pressed (ChartaPatientFinder *self,
                   guint                keyval,
                   guint                keycode,
                   GdkModifierType      state)
{
  if (keyval != GDK_KEY_Down && keyval != GDK_KEY_KP_Down)
    return FALSE;
  if (self->results == NULL || g_list_model_get_n_items (G_LIST_MODEL (self->results)) == 0)
    return FALSE;
  return gtk_widget_child_focus (GTK_WIDGET (self->list_view), GTK_DIR_TAB_FORWARD);
}

/* ---- the list's rows ---------------------------------------------------------------------- */

static void
row_setup (GtkSignalListItemFactory *factory,
           GtkListItem              *item,
           gpointer                  user_data)
{
  gtk_list_item_set_child (item, charta_patient_row_new ());
}

static void
row_bind (GtkSignalListItemFactory *factory,
          GtkListItem              *item,
          gpointer                  user_data)
{
  charta_patient_row_set_patient (CHARTA_PATIENT_ROW (gtk_list_item_get_child (item)),
                                  gtk_list_item_get_item (item));
}

static void
row_unbind (GtkSignalListItemFactory *factory,
            GtkListItem              *item,
            gpointer                  user_data)
{
  charta_patient_row_set_patient (CHARTA_PATIENT_ROW (gtk_list_item_get_child (item)), NULL);
}

/* ---- the object --------------------------------------------------------------------------- */

static void
charta_patient_finder_dispose (GObject *object)
{
  ChartaPatientFinder *self = CHARTA_PATIENT_FINDER (object);

  drop_results (self);
  g_clear_object (&self->client);
  gtk_list_view_set_model (self->list_view, NULL);
  g_clear_object (&self->selection);
  g_clear_pointer (&self->wanted_id, g_free);

  G_OBJECT_CLASS (charta_patient_finder_parent_class)->dispose (object);
}

static void
charta_patient_finder_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  ChartaPatientFinder *self = CHARTA_PATIENT_FINDER (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_patient_finder_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  ChartaPatientFinder *self = CHARTA_PATIENT_FINDER (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      charta_patient_finder_set_client (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_patient_finder_class_init (ChartaPatientFinderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = charta_patient_finder_dispose;
  object_class->get_property = charta_patient_finder_get_property;
  object_class->set_property = charta_patient_finder_set_property;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, CHARTA_TYPE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A patient was chosen (its id): by a click or the arrow keys. */
  signals[PATIENT_SELECTED] =
    g_signal_new ("patient-selected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* A patient was opened (its id): Enter, a double click, Enter in the search entry. */
  signals[PATIENT_ACTIVATED] =
    g_signal_new ("patient-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/charta/Desktop/charta-patient-finder.ui");
  gtk_widget_class_bind_template_child (widget_class, ChartaPatientFinder, search_entry);
  gtk_widget_class_bind_template_child (widget_class, ChartaPatientFinder, results_stack);
  gtk_widget_class_bind_template_child (widget_class, ChartaPatientFinder, list_view);
  gtk_widget_class_bind_template_child (widget_class, ChartaPatientFinder, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, ChartaPatientFinder, more_spinner);
  gtk_widget_class_bind_template_child (widget_class, ChartaPatientFinder, error_description);
  gtk_widget_class_bind_template_child (widget_class, ChartaPatientFinder, status_label);
  gtk_widget_class_bind_template_callback (widget_class, search_changed);
  gtk_widget_class_bind_template_callback (widget_class, search_activated);
  gtk_widget_class_bind_template_callback (widget_class, list_activated);
  gtk_widget_class_bind_template_callback (widget_class, retry_clicked);
}

static void
charta_patient_finder_init (ChartaPatientFinder *self)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  GtkEventController *keys;

  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect (factory, "setup", G_CALLBACK (row_setup), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (row_bind), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (row_unbind), NULL);
  gtk_list_view_set_factory (self->list_view, factory);

  self->selection = gtk_single_selection_new (NULL);
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  g_signal_connect_swapped (self->selection, "notify::selected", G_CALLBACK (selection_changed),
                            self);
  gtk_list_view_set_model (self->list_view, GTK_SELECTION_MODEL (self->selection));

  keys = gtk_event_controller_key_new ();
  g_signal_connect_swapped (keys, "key-pressed", G_CALLBACK (entry_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self->search_entry), keys);

  update_state (self);
}

GtkWidget *
charta_patient_finder_new (void)
{
  return g_object_new (CHARTA_TYPE_PATIENT_FINDER, NULL);
}

ChartaClient *
charta_patient_finder_get_client (ChartaPatientFinder *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT_FINDER (self), NULL);

  return self->client;
}

void
charta_patient_finder_set_client (ChartaPatientFinder *self,
                                  ChartaClient        *client)
{
  g_return_if_fail (CHARTA_IS_PATIENT_FINDER (self));
  g_return_if_fail (client == NULL || CHARTA_IS_CLIENT (client));

  if (self->client == client)
    return;
  drop_results (self);
  g_set_object (&self->client, client);
  run_search (self, TRUE);
  update_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
}

void
charta_patient_finder_search (ChartaPatientFinder *self,
                              const char          *text)
{
  g_return_if_fail (CHARTA_IS_PATIENT_FINDER (self));

  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), text != NULL ? text : "");
  run_search (self, FALSE);
}

void
charta_patient_finder_select (ChartaPatientFinder *self,
                              const char          *patient_id)
{
  g_return_if_fail (CHARTA_IS_PATIENT_FINDER (self));

  g_free (self->wanted_id);
  self->wanted_id = g_strdup (patient_id);
  if (self->results != NULL)
    select_wanted (self, 0, g_list_model_get_n_items (G_LIST_MODEL (self->results)));
}

GListModel *
charta_patient_finder_get_results (ChartaPatientFinder *self)
{
  g_return_val_if_fail (CHARTA_IS_PATIENT_FINDER (self), NULL);

  return self->results != NULL ? G_LIST_MODEL (self->results) : NULL;
}

void
charta_patient_finder_focus_search (ChartaPatientFinder *self)
{
  g_return_if_fail (CHARTA_IS_PATIENT_FINDER (self));

  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}
