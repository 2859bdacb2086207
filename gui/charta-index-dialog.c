/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-index-dialog.c: re-indexing a document (see charta-index-dialog.h).
 *
 * The widgets are made here: a header bar (Cancel, a spinner, Re-index), a banner for what
 * went wrong, a line that says where the document is filed now, and the form.  Every async
 * step holds a reference to the dialog and shares its GCancellable, which closing cancels.
 * Nothing is logged but ids and version numbers.
 */
#define G_LOG_DOMAIN "charta-index-dialog"

#include "charta-document-view.h"
#include "charta-fhir-text.h"
#include "charta-index-dialog.h"
#include "charta-index-form.h"

struct _ChartaIndexDialog
{
  AdwWindow parent_instance;

  ChartaClient *client;
  JsonNode *base;               /* the version being re-indexed */
  char *id;
  char *agent_reference;
  char *agent_display;
  GCancellable *cancellable;
  gboolean busy;

  GtkWidget *save_button;
  GtkSpinner *busy_spinner;
  GtkRevealer *banner_revealer;
  GtkLabel *banner_label;
  GtkWidget *reload_button;
  GtkLabel *now_label;
  ChartaIndexForm *form;
  GtkLabel *missing_label;
};

enum
{
  SAVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ChartaIndexDialog, charta_index_dialog, ADW_TYPE_WINDOW)

static const char *
base_version (ChartaIndexDialog *self)
{
  return charta_json_get_string (charta_json_get_object (json_node_get_object (self->base),
                                                         "meta"), "versionId");
}

gboolean
charta_index_dialog_can_save (ChartaIndexDialog *self)
{
  g_return_val_if_fail (CHARTA_IS_INDEX_DIALOG (self), FALSE);

  return !self->busy && charta_index_form_is_complete (self->form)
         && charta_index_form_differs (self->form);
}

static void
update_state (ChartaIndexDialog *self)
{
  const char *missing = charta_index_form_get_missing (self->form);

  if (missing == NULL && !charta_index_form_differs (self->form))
    missing = "Choose where the document belongs: the patient, encounter, type or date it "
              "has now is kept until one of them changes";
  gtk_widget_set_sensitive (self->save_button, charta_index_dialog_can_save (self));
  gtk_label_set_text (self->missing_label, missing != NULL ? missing : "");
  gtk_widget_set_visible (GTK_WIDGET (self->missing_label), missing != NULL);
}

static void
show_banner (ChartaIndexDialog *self,
             const char        *text,
             gboolean           conflict)
{
  gtk_label_set_text (self->banner_label, text != NULL ? text : "");
  gtk_widget_set_visible (self->reload_button, conflict);
  gtk_revealer_set_reveal_child (self->banner_revealer, text != NULL);
}

static void
set_busy (ChartaIndexDialog *self,
          gboolean           busy)
{
  self->busy = busy;
  gtk_widget_set_visible (GTK_WIDGET (self->busy_spinner), busy);
  gtk_spinner_set_spinning (self->busy_spinner, busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->form), !busy);
  gtk_widget_set_sensitive (self->reload_button, !busy);
  update_state (self);
}

/* "Now filed to Miller, Emily Louise · Patient Consent · dated 2025-06-02 (version 2)". */
static void
describe_now (ChartaIndexDialog *self)
{
  JsonObject *document = json_node_get_object (self->base);
  g_autofree char *patient = charta_fhir_text_reference (charta_json_get_object (document,
                                                                                 "subject"));
  g_autofree char *title = charta_document_dup_title (document);
  g_autofree char *date = charta_fhir_text_date (
    charta_json_get_string (charta_json_get_object (charta_json_get_object (document, "context"),
                                                    "period"), "start"));
  g_autofree char *text = g_strdup_printf ("Now filed to %s · %s%s%s (version %s). This "
                                           "placement stays in the document’s history.",
                                           patient != NULL ? patient : "no patient", title,
                                           date != NULL ? " · dated " : "",
                                           date != NULL ? date : "",
                                           base_version (self) != NULL ? base_version (self)
                                                                       : "?");

  gtk_label_set_text (self->now_label, text);
}

/* ---- saving ------------------------------------------------------------------------------- */

static void
put_done (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(ChartaIndexDialog) self = user_data;
  g_autoptr(JsonNode) stored = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  stored = charta_client_put_finish (CHARTA_CLIENT (source), result, NULL, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_busy (self, FALSE);
  if (stored != NULL)
    {
      g_debug ("re-indexed DocumentReference/%s as version %s", self->id,
               charta_json_get_string (charta_json_get_object (json_node_get_object (stored),
                                                               "meta"), "versionId"));
      g_signal_emit (self, signals[SAVED], 0, stored);
      gtk_window_destroy (GTK_WINDOW (self));
      return;
    }
  g_debug ("re-indexing DocumentReference/%s failed (%s %d)", self->id,
           g_quark_to_string (error->domain), error->code);
  if (g_error_matches (error, CHARTA_CLIENT_ERROR, CHARTA_CLIENT_ERROR_CONFLICT))
    {
      show_banner (self, "Someone else saved a newer version of this document while you were "
                         "re-indexing it, so nothing was saved. Read their version: what you "
                         "chose stays in the form, for you to check and save.", TRUE);
      return;
    }
  text = g_strdup_printf ("Nothing was saved: %s What you chose is still here.",
                          error->message);
  show_banner (self, text, FALSE);
}

void
charta_index_dialog_save (ChartaIndexDialog *self)
{
  g_autofree char *reason = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *path = NULL;
  g_autoptr(JsonNode) edited = NULL;
  g_autoptr(JsonNode) provenance = NULL;

  g_return_if_fail (CHARTA_IS_INDEX_DIALOG (self));

  if (!charta_index_dialog_can_save (self))
    return;
  reason = charta_index_form_dup_reason (self->form);
  edited = charta_index_form_apply (self->form, self->base);
  provenance = charta_client_new_provenance (self->agent_reference, self->agent_display,
                                             CHARTA_INDEX_ACTIVITY, reason);
  escaped = g_uri_escape_string (self->id, NULL, FALSE);
  path = g_strdup_printf ("DocumentReference/%s", escaped);
  g_debug ("re-indexing DocumentReference/%s over version %s", self->id, base_version (self));
  show_banner (self, NULL, FALSE);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  set_busy (self, TRUE);
  charta_client_put_async (self->client, path, edited, NULL, base_version (self), provenance,
                           self->cancellable, put_done, g_object_ref (self));
}

static void
reload_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(ChartaIndexDialog) self = user_data;
  g_autoptr(JsonNode) theirs = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  theirs = charta_client_get_resource_finish (CHARTA_CLIENT (source), result, NULL, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_busy (self, FALSE);
  if (theirs == NULL)
    {
      text = g_strdup_printf ("The document could not be read again: %s What you chose is "
                              "still here.", error->message);
      show_banner (self, text, TRUE);
      return;
    }
  g_clear_pointer (&self->base, json_node_unref);
  self->base = json_node_ref (theirs);
  describe_now (self);
  text = g_strdup_printf ("Read version %s. What you chose is still in the form: check it "
                          "against where the document is filed now, then re-index.",
                          base_version (self));
  show_banner (self, text, FALSE);
  update_state (self);
}

static void
reload_clicked (ChartaIndexDialog *self)
{
  g_autofree char *escaped = g_uri_escape_string (self->id, NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("DocumentReference/%s", escaped);

  if (self->busy)
    return;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  set_busy (self, TRUE);
  charta_client_get_resource_async (self->client, path, self->cancellable, reload_done,
                                    g_object_ref (self));
}

/* ---- the object --------------------------------------------------------------------------- */

static gboolean
charta_index_dialog_close_request (GtkWindow *window)
{
  ChartaIndexDialog *self = CHARTA_INDEX_DIALOG (window);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  return GTK_WINDOW_CLASS (charta_index_dialog_parent_class)->close_request (window);
}

static void
charta_index_dialog_dispose (GObject *object)
{
  ChartaIndexDialog *self = CHARTA_INDEX_DIALOG (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);

  G_OBJECT_CLASS (charta_index_dialog_parent_class)->dispose (object);
}

static void
charta_index_dialog_finalize (GObject *object)
{
  ChartaIndexDialog *self = CHARTA_INDEX_DIALOG (object);

  g_clear_pointer (&self->base, json_node_unref);
  g_free (self->id);
  g_free (self->agent_reference);
  g_free (self->agent_display);

  G_OBJECT_CLASS (charta_index_dialog_parent_class)->finalize (object);
}

static void
charta_index_dialog_class_init (ChartaIndexDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = charta_index_dialog_dispose;
  object_class->finalize = charta_index_dialog_finalize;
  window_class->close_request = charta_index_dialog_close_request;

  /* The document was re-indexed: the version the server stored (a JsonNode). */
  signals[SAVED] =
    g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, JSON_TYPE_NODE);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
charta_index_dialog_init (ChartaIndexDialog *self)
{
  GtkWidget *content = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *cancel = gtk_button_new_with_mnemonic ("_Cancel");
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *clamp = adw_clamp_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 18);
  GtkWidget *banner = gtk_box_new (GTK_ORIENTATION_VERTICAL, 10);
  GtkWidget *banner_line = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 10);

  gtk_window_set_title (GTK_WINDOW (self), "Re-index Document");
  gtk_window_set_modal (GTK_WINDOW (self), TRUE);
  gtk_window_set_default_size (GTK_WINDOW (self), 600, 760);
  gtk_widget_set_size_request (GTK_WIDGET (self), 360, 400);

  adw_header_bar_set_show_start_title_buttons (ADW_HEADER_BAR (header), FALSE);
  adw_header_bar_set_show_end_title_buttons (ADW_HEADER_BAR (header), FALSE);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (cancel), "window.close");
  adw_header_bar_pack_start (ADW_HEADER_BAR (header), cancel);
  self->save_button = gtk_button_new_with_mnemonic ("_Re-index");
  gtk_widget_set_name (self->save_button, "save_button");
  gtk_widget_add_css_class (self->save_button, "suggested-action");
  gtk_widget_set_sensitive (self->save_button, FALSE);
  g_signal_connect_swapped (self->save_button, "clicked", G_CALLBACK (charta_index_dialog_save),
                            self);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), self->save_button);
  self->busy_spinner = GTK_SPINNER (gtk_spinner_new ());
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->busy_spinner),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, "Saving", -1);
  gtk_widget_set_visible (GTK_WIDGET (self->busy_spinner), FALSE);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), GTK_WIDGET (self->busy_spinner));
  gtk_box_append (GTK_BOX (content), header);

  /* The banner: what went wrong, with Reload after a conflict. */
  self->banner_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->banner_label, 0);
  gtk_label_set_wrap (self->banner_label, TRUE);
  gtk_label_set_selectable (self->banner_label, TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self->banner_label), TRUE);
  gtk_box_append (GTK_BOX (banner_line), gtk_image_new_from_icon_name ("dialog-warning-symbolic"));
  gtk_box_append (GTK_BOX (banner_line), GTK_WIDGET (self->banner_label));
  gtk_box_append (GTK_BOX (banner), banner_line);
  self->reload_button = gtk_button_new_with_mnemonic ("Read _Their Version");
  gtk_widget_set_halign (self->reload_button, GTK_ALIGN_END);
  gtk_widget_set_visible (self->reload_button, FALSE);
  g_signal_connect_swapped (self->reload_button, "clicked", G_CALLBACK (reload_clicked), self);
  gtk_box_append (GTK_BOX (banner), self->reload_button);
  gtk_widget_add_css_class (banner, "card");
  gtk_widget_add_css_class (banner, "correction-banner");
  gtk_widget_add_css_class (banner, "problem");
  self->banner_revealer = GTK_REVEALER (gtk_revealer_new ());
  gtk_revealer_set_child (self->banner_revealer, banner);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->banner_revealer));

  self->now_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->now_label, 0);
  gtk_label_set_wrap (self->now_label, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->now_label), "dim-label");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->now_label));

  self->form = CHARTA_INDEX_FORM (charta_index_form_new ());
  charta_index_form_set_reason_required (self->form, TRUE);
  g_signal_connect_swapped (self->form, "notify::complete", G_CALLBACK (update_state), self);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->form));

  self->missing_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->missing_label, 0);
  gtk_label_set_wrap (self->missing_label, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->missing_label), "caption");
  gtk_widget_add_css_class (GTK_WIDGET (self->missing_label), "dim-label");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->missing_label));

  gtk_widget_set_margin_top (box, 18);
  gtk_widget_set_margin_bottom (box, 18);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 600);
  adw_clamp_set_child (ADW_CLAMP (clamp), box);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), clamp);
  gtk_widget_set_vexpand (scroller, TRUE);
  gtk_box_append (GTK_BOX (content), scroller);
  adw_window_set_content (ADW_WINDOW (self), content);
}

ChartaIndexDialog *
charta_index_dialog_new (GtkWindow    *parent,
                         ChartaClient *client,
                         JsonNode     *document,
                         const char   *agent_reference,
                         const char   *agent_display)
{
  ChartaIndexDialog *self;
  JsonObject *object;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (CHARTA_IS_CLIENT (client), NULL);
  g_return_val_if_fail (document != NULL && JSON_NODE_HOLDS_OBJECT (document), NULL);

  object = json_node_get_object (document);
  g_return_val_if_fail (g_strcmp0 (charta_json_get_string (object, "resourceType"),
                                   "DocumentReference") == 0, NULL);
  g_return_val_if_fail (charta_json_get_string (object, "id") != NULL, NULL);

  self = g_object_new (CHARTA_TYPE_INDEX_DIALOG, "transient-for", parent, NULL);
  self->client = g_object_ref (client);
  self->base = json_node_ref (document);
  self->id = g_strdup (charta_json_get_string (object, "id"));
  self->agent_reference = g_strdup (agent_reference);
  self->agent_display = g_strdup (agent_display);
  charta_index_form_set_client (self->form, client);
  charta_index_form_fill (self->form, object);
  describe_now (self);
  update_state (self);
  return self;
}

GtkWidget *
charta_index_dialog_get_form (ChartaIndexDialog *self)
{
  g_return_val_if_fail (CHARTA_IS_INDEX_DIALOG (self), NULL);

  return GTK_WIDGET (self->form);
}

gboolean
charta_index_dialog_is_busy (ChartaIndexDialog *self)
{
  g_return_val_if_fail (CHARTA_IS_INDEX_DIALOG (self), FALSE);

  return self->busy;
}
