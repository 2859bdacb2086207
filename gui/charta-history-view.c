/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-history-view.c: every version of a resource and what changed (see
 * charta-history-view.h).
 *
 * Two chains of reads run side by side, sharing one GCancellable: the history Bundle's pages
 * and the Provenance search's pages, each page asking for the next until there is none (at
 * most MAX_PAGES, so that a server that links in a circle cannot keep us reading).  When both
 * are done, the versions are listed and each is given the Provenance whose target names it;
 * a Provenance that names many versions (one per transaction) is read once and matched to
 * each.  If only the Provenance search fails, the versions are listed without who and why,
 * and the view says so.
 *
 * The diff is computed on the GTK thread: two versions of one resource are small, and
 * charta_diff_compute() is linear in their size apart from the alignment of arrays.
 * Every text comes from the records and is shown as it is (no markup).  Nothing is logged but
 * ids and version numbers.
 */
#define G_LOG_DOMAIN "charta-history-view"

#include <string.h>

#include "charta-diff.h"
#include "charta-fhir-text.h"
#include "charta-history-view.h"

/* The most pages read of each search. */
#define MAX_PAGES 50

typedef struct
{
  char *version_id;
  JsonNode *resource;      /* NULL for a delete */
  char *when;              /* lastUpdated */
  JsonNode *provenance;    /* the Provenance that targets this version, or NULL */
} Version;

static void
version_free (Version *version)
{
  g_free (version->version_id);
  g_clear_pointer (&version->resource, json_node_unref);
  g_free (version->when);
  g_clear_pointer (&version->provenance, json_node_unref);
  g_free (version);
}

struct _ChartaHistoryView
{
  AdwBin parent_instance;

  ChartaClient *client;
  char *reference;            /* "Observation/obs-1" */
  char *type;
  char *id;
  char *title;
  GCancellable *cancellable;  /* the reads of the history on screen */
  unsigned n_pending;         /* chains of reads not yet done */
  GPtrArray *versions;        /* Version, newest first */
  GPtrArray *provenances;     /* JsonNode: every Provenance that targets the resource */
  char *provenance_error;     /* why the Provenance could not be read, or NULL */
  gboolean history_failed;

  GtkStack *stack;
  GtkSpinner *spinner;
  AdwStatusPage *error_page;
  GtkLabel *history_title;
  GtkLabel *history_subtitle;
  GtkListBox *versions_list;
  AdwPreferencesGroup *versions_group;
  GtkStringList *version_names;
  GtkDropDown *from_drop;
  GtkDropDown *to_drop;
  GtkLabel *before_heading;
  GtkLabel *after_heading;
  GtkListBox *diff_list;
  GtkLabel *diff_status;
};

enum
{
  PROP_0,
  PROP_LOADED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ChartaHistoryView, charta_history_view, ADW_TYPE_BIN)

/* ---- the versions ------------------------------------------------------------------------- */

static void
clear_list (GtkListBox *list)
{
  GtkListBoxRow *row;

  while ((row = gtk_list_box_get_row_at_index (list, 0)) != NULL)
    gtk_list_box_remove (list, GTK_WIDGET (row));
}

/* The version number a history entry names: its resource's meta.versionId, else the
 * response's ETag (W/"3"), which is all that a delete has. */
static char *
entry_version (JsonObject *entry)
{
  JsonObject *resource = charta_json_get_object (entry, "resource");
  const char *version_id = charta_json_get_string (charta_json_get_object (resource, "meta"),
                                                   "versionId");
  const char *etag = charta_json_get_string (charta_json_get_object (entry, "response"),
                                             "etag");
  const char *start;
  const char *end;

  if (version_id != NULL)
    return g_strdup (version_id);
  if (etag == NULL)
    return NULL;
  start = strchr (etag, '"');
  end = start != NULL ? strchr (start + 1, '"') : NULL;
  if (end == NULL)
    return NULL;
  return g_strndup (start + 1, end - start - 1);
}

static void
add_versions (ChartaHistoryView *self,
              JsonObject        *bundle)
{
  JsonArray *entries = charta_json_get_array (bundle, "entry");

  for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonNode *resource = entry != NULL ? json_object_get_member (entry, "resource") : NULL;
      const char *method = charta_json_get_string (charta_json_get_object (entry, "request"),
                                                   "method");
      const char *modified = charta_json_get_string (charta_json_get_object (entry,
                                                                             "response"),
                                                     "lastModified");
      Version *version;
      char *version_id = entry != NULL ? entry_version (entry) : NULL;

      if (version_id == NULL)
        continue;
      version = g_new0 (Version, 1);
      version->version_id = version_id;
      if (resource != NULL && JSON_NODE_HOLDS_OBJECT (resource)
          && g_strcmp0 (method, "DELETE") != 0)
        {
          version->resource = json_node_ref (resource);
          modified = charta_json_get_string (charta_json_get_object (
                                               json_node_get_object (resource), "meta"),
                                             "lastUpdated");
        }
      version->when = g_strdup (modified);
      g_ptr_array_add (self->versions, version);
    }
}

/* Gives each version the Provenance that targets it. */
static void
match_provenance (ChartaHistoryView *self)
{
  for (unsigned v = 0; v < self->versions->len; v++)
    {
      Version *version = self->versions->pdata[v];

      for (unsigned p = 0; p < self->provenances->len && version->provenance == NULL; p++)
        {
          JsonNode *provenance = self->provenances->pdata[p];

          if (charta_fhir_provenance_targets (json_node_get_object (provenance), self->type,
                                              self->id, version->version_id))
            version->provenance = json_node_ref (provenance);
        }
    }
}

/* "2025-06-19 12:55 · by Zoë Smith, RN · Reason: weight entered in pounds". */
static char *
version_subtitle (ChartaHistoryView *self,
                  Version           *version)
{
  JsonObject *provenance = version->provenance != NULL
                             ? json_node_get_object (version->provenance) : NULL;
  const char *recorded = charta_json_get_string (provenance, "recorded");
  g_autofree char *when = charta_fhir_text_datetime (recorded != NULL ? recorded
                                                                      : version->when);
  g_autofree char *who = charta_fhir_text_provenance_agent (provenance);
  g_autofree char *reason = charta_fhir_text_provenance_reason (provenance);
  GString *text = g_string_new (when);

  if (provenance == NULL)
    {
      g_string_append_printf (text, "%s%s", text->len > 0 ? " · " : "",
                              self->provenance_error != NULL
                                ? "who and why could not be read"
                                : "no Provenance recorded");
      return g_string_free (text, FALSE);
    }
  if (who != NULL)
    g_string_append_printf (text, "%sby %s", text->len > 0 ? " · " : "", who);
  if (reason != NULL)
    g_string_append_printf (text, "%sReason: %s", text->len > 0 ? " · " : "", reason);
  return g_string_free (text, FALSE);
}

static char *
version_activity (Version *version)
{
  JsonObject *provenance = version->provenance != NULL
                             ? json_node_get_object (version->provenance) : NULL;
  JsonObject *coding = charta_json_get_first (charta_json_get_object (provenance, "activity"),
                                              "coding");

  if (version->resource == NULL)
    return g_strdup ("Deleted");
  return charta_fhir_text_activity (charta_json_get_string (coding, "code"),
                                    charta_json_get_string (coding, "display"));
}

static void
fill_versions (ChartaHistoryView *self)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *subtitle = NULL;

  clear_list (self->versions_list);
  for (unsigned i = 0; i < self->versions->len; i++)
    {
      Version *version = self->versions->pdata[i];
      g_autofree char *activity = version_activity (version);
      g_autofree char *row_subtitle = version_subtitle (self, version);
      g_autofree char *title = NULL;
      GtkWidget *row = adw_action_row_new ();

      title = g_strdup_printf ("Version %s%s%s%s", version->version_id,
                               activity != NULL ? " · " : "", activity != NULL ? activity : "",
                               i == 0 ? " (current)" : "");
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), row_subtitle);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), i + 1 < self->versions->len);
      if (i + 1 < self->versions->len)
        {
          GtkWidget *icon = gtk_image_new_from_icon_name ("go-next-symbolic");

          gtk_widget_set_tooltip_text (row, "Compare with the version before it");
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), icon);
        }
      g_object_set_data_full (G_OBJECT (row), "charta-version", g_strdup (version->version_id),
                              g_free);
      gtk_list_box_append (self->versions_list, row);
      g_ptr_array_add (names, g_strdup_printf ("Version %s", version->version_id));
    }
  g_ptr_array_add (names, NULL);

  /* The drop-downs' list is replaced whole; their selections follow below. */
  g_object_freeze_notify (G_OBJECT (self->from_drop));
  g_object_freeze_notify (G_OBJECT (self->to_drop));
  gtk_string_list_splice (self->version_names, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->version_names)),
                          (const char * const *) names->pdata);
  g_object_thaw_notify (G_OBJECT (self->from_drop));
  g_object_thaw_notify (G_OBJECT (self->to_drop));

  subtitle = g_strdup_printf ("%s · %u version%s%s", self->reference, self->versions->len,
                              self->versions->len == 1 ? "" : "s",
                              self->provenance_error != NULL
                                ? " · who changed it and why could not be read" : "");
  gtk_label_set_text (self->history_subtitle, subtitle);
}

/* ---- the diff ----------------------------------------------------------------------------- */

static GtkWidget *
diff_label (const char *text,
            const char *css_class)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 20);
  gtk_widget_set_hexpand (label, TRUE);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  return label;
}

static GtkWidget *
diff_row (ChartaDiffEntry *entry)
{
  static const char *const kind_words[] = {
    [CHARTA_DIFF_CHANGED] = "Changed",
    [CHARTA_DIFF_ADDED] = "Added",
    [CHARTA_DIFF_REMOVED] = "Removed",
  };
  static const char *const kind_classes[] = {
    [CHARTA_DIFF_CHANGED] = "diff-changed",
    [CHARTA_DIFF_ADDED] = "diff-added",
    [CHARTA_DIFF_REMOVED] = "diff-removed",
  };
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *element = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *kind = gtk_label_new (kind_words[entry->kind]);
  g_autofree char *accessible = NULL;
  /* A narrative's XHTML is shown as its words. */
  gboolean narrative = g_str_has_suffix (entry->path, "text.div");
  g_autofree char *old_text = narrative ? charta_fhir_text_narrative (entry->old_value)
                                        : g_strdup (entry->old_value);
  g_autofree char *new_text = narrative ? charta_fhir_text_narrative (entry->new_value)
                                        : g_strdup (entry->new_value);
  /* A long path wraps after a dot rather than inside a name. */
  g_auto(GStrv) steps = g_strsplit (entry->path, ".", -1);
  g_autofree char *breakable_path = g_strjoinv (".\u200b", steps);

  gtk_box_set_homogeneous (GTK_BOX (box), TRUE);
  gtk_box_append (GTK_BOX (element), diff_label (breakable_path, "diff-path"));
  if (narrative)
    {
      GtkWidget *note = gtk_label_new ("The narrative, shown without its markup");

      gtk_label_set_xalign (GTK_LABEL (note), 0);
      gtk_label_set_wrap (GTK_LABEL (note), TRUE);
      gtk_widget_add_css_class (note, "caption");
      gtk_widget_add_css_class (note, "dim-label");
      gtk_box_append (GTK_BOX (element), note);
    }
  gtk_label_set_xalign (GTK_LABEL (kind), 0);
  gtk_widget_add_css_class (kind, "caption");
  gtk_widget_add_css_class (kind, "diff-kind");
  gtk_widget_add_css_class (kind, kind_classes[entry->kind]);
  gtk_box_append (GTK_BOX (element), kind);
  gtk_box_append (GTK_BOX (box), element);
  gtk_box_append (GTK_BOX (box),
                  old_text != NULL ? diff_label (old_text, "diff-old")
                                   : diff_label ("—", "dim-label"));
  gtk_box_append (GTK_BOX (box),
                  new_text != NULL ? diff_label (new_text, "diff-new")
                                   : diff_label ("—", "dim-label"));
  gtk_widget_add_css_class (box, "table-row");
  gtk_widget_add_css_class (row, kind_classes[entry->kind]);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);

  switch (entry->kind)
    {
    case CHARTA_DIFF_CHANGED:
      accessible = g_strdup_printf ("%s changed from %s to %s", entry->path, old_text,
                                    new_text);
      break;
    case CHARTA_DIFF_ADDED:
      accessible = g_strdup_printf ("%s added: %s", entry->path, new_text);
      break;
    case CHARTA_DIFF_REMOVED:
      accessible = g_strdup_printf ("%s removed, was %s", entry->path, old_text);
      break;
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  accessible, -1);
  g_object_set_data_full (G_OBJECT (row), "charta-path", g_strdup (entry->path), g_free);
  g_object_set_data_full (G_OBJECT (row), "charta-old", g_strdup (entry->old_value), g_free);
  g_object_set_data_full (G_OBJECT (row), "charta-new", g_strdup (entry->new_value), g_free);
  g_object_set_data (G_OBJECT (row), "charta-kind", GINT_TO_POINTER (entry->kind));
  return row;
}

static void
update_diff (ChartaHistoryView *self)
{
  unsigned from = gtk_drop_down_get_selected (self->from_drop);
  unsigned to = gtk_drop_down_get_selected (self->to_drop);
  g_autoptr(GPtrArray) entries = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  Version *old_version;
  Version *new_version;

  clear_list (self->diff_list);
  if (from >= self->versions->len || to >= self->versions->len)
    {
      gtk_label_set_text (self->diff_status, self->versions->len == 1
                                               ? "There is only one version: nothing has "
                                                 "changed yet"
                                               : "Choose two versions to compare");
      gtk_widget_set_visible (GTK_WIDGET (self->diff_status), TRUE);
      return;
    }
  old_version = self->versions->pdata[from];
  new_version = self->versions->pdata[to];
  before = g_strdup_printf ("Version %s", old_version->version_id);
  after = g_strdup_printf ("Version %s", new_version->version_id);
  gtk_label_set_text (self->before_heading, before);
  gtk_label_set_text (self->after_heading, after);
  if (from == to)
    {
      gtk_label_set_text (self->diff_status, "The same version twice: choose two different "
                                             "ones");
      gtk_widget_set_visible (GTK_WIDGET (self->diff_status), TRUE);
      return;
    }

  entries = charta_diff_compute (old_version->resource, new_version->resource);
  g_debug ("%s: %u differences from version %s to %s", self->reference, entries->len,
           old_version->version_id, new_version->version_id);
  /* The narrative last: it restates the rest. */
  for (unsigned pass = 0; pass < 2; pass++)
    for (unsigned i = 0; i < entries->len; i++)
      {
        ChartaDiffEntry *entry = entries->pdata[i];

        if (g_str_has_prefix (entry->path, "text.") == (pass == 1))
          gtk_list_box_append (self->diff_list, diff_row (entry));
      }
  gtk_label_set_text (self->diff_status, "No differences in content");
  gtk_widget_set_visible (GTK_WIDGET (self->diff_status), entries->len == 0);
}

static void
selection_changed (ChartaHistoryView *self)
{
  update_diff (self);
}

static void
version_activated (ChartaHistoryView *self,
                   GtkListBoxRow     *row,
                   GtkListBox        *list)
{
  int index = gtk_list_box_row_get_index (row);

  if (index < 0 || (unsigned) index + 1 >= self->versions->len)
    return;
  gtk_drop_down_set_selected (self->to_drop, (unsigned) index);
  gtk_drop_down_set_selected (self->from_drop, (unsigned) index + 1);
  update_diff (self);
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef enum
{
  CHAIN_HISTORY,
  CHAIN_PROVENANCE,
} Chain;

typedef struct
{
  ChartaHistoryView *self;
  GCancellable *cancellable;   /* the view's, when the read began */
  Chain chain;
  unsigned page;
} PageRead;

static void
page_read_free (PageRead *read)
{
  g_object_unref (read->self);
  g_object_unref (read->cancellable);
  g_free (read);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PageRead, page_read_free)

static void page_read (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data);

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

/* Both chains are done: the list, or what went wrong. */
static void
all_read (ChartaHistoryView *self)
{
  gtk_spinner_stop (self->spinner);
  if (self->history_failed)
    {
      gtk_stack_set_visible_child_name (self->stack, "error");
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
      return;
    }
  match_provenance (self);
  if (self->title == NULL && self->versions->len > 0
      && ((Version *) self->versions->pdata[0])->resource != NULL)
    {
      Version *newest = self->versions->pdata[0];
      g_autofree char *name =
        charta_fhir_text_resource_title (json_node_get_object (newest->resource));
      g_autofree char *title = g_strdup_printf ("History of %s", name);

      gtk_label_set_text (self->history_title, title);
    }
  fill_versions (self);
  gtk_drop_down_set_selected (self->to_drop, 0);
  gtk_drop_down_set_selected (self->from_drop, self->versions->len > 1 ? 1 : 0);
  update_diff (self);
  gtk_stack_set_visible_child_name (self->stack, "history");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
}

static void
chain_done (ChartaHistoryView *self)
{
  g_assert (self->n_pending > 0);
  self->n_pending--;
  if (self->n_pending == 0)
    all_read (self);
}

static void
fetch_page (PageRead   *read,
            const char *path)
{
  ChartaHistoryView *self = read->self;

  charta_client_get_async (self->client, path, read->cancellable, page_read, read);
}

static void
page_read (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(PageRead) read = user_data;
  ChartaHistoryView *self = read->self;
  g_autoptr(JsonNode) bundle = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  const char *next;

  bundle = charta_client_get_finish (CHARTA_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (read->cancellable))
    return;
  if (bundle == NULL)
    {
      g_debug ("%s: page %u of the %s failed", self->reference, read->page,
               read->chain == CHAIN_HISTORY ? "history" : "Provenance");
      if (read->chain == CHAIN_HISTORY)
        {
          /* A status page reads its description as markup; a server's words may hold '&'. */
          g_autofree char *escaped = g_markup_escape_text (error->message, -1);

          self->history_failed = TRUE;
          adw_status_page_set_description (self->error_page, escaped);
        }
      else
        {
          g_free (self->provenance_error);
          self->provenance_error = g_strdup (error->message);
        }
      chain_done (self);
      return;
    }

  object = json_node_get_object (bundle);
  if (read->chain == CHAIN_HISTORY)
    add_versions (self, object);
  else
    {
      JsonArray *entries = charta_json_get_array (object, "entry");

      for (unsigned i = 0; entries != NULL && i < json_array_get_length (entries); i++)
        {
          JsonNode *node = json_array_get_element (entries, i);
          JsonNode *resource = JSON_NODE_HOLDS_OBJECT (node)
                                 ? json_object_get_member (json_node_get_object (node),
                                                           "resource")
                                 : NULL;

          if (resource != NULL && JSON_NODE_HOLDS_OBJECT (resource))
            g_ptr_array_add (self->provenances, json_node_ref (resource));
        }
    }

  next = next_link (object);
  if (next != NULL && read->page + 1 < MAX_PAGES)
    {
      read->page++;
      fetch_page (g_steal_pointer (&read), next);
      return;
    }
  chain_done (self);
}

static void
start_chain (ChartaHistoryView *self,
             Chain              chain,
             const char        *path)
{
  PageRead *read = g_new0 (PageRead, 1);

  read->self = g_object_ref (self);
  read->cancellable = g_object_ref (self->cancellable);
  read->chain = chain;
  self->n_pending++;
  fetch_page (read, path);
}

static void
cancel_reads (ChartaHistoryView *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->n_pending = 0;
}

static void
load (ChartaHistoryView *self)
{
  g_autofree char *escaped = NULL;
  g_autofree char *history = NULL;
  g_autofree char *provenance = NULL;
  g_autofree char *title = NULL;

  cancel_reads (self);
  g_ptr_array_set_size (self->versions, 0);
  g_ptr_array_set_size (self->provenances, 0);
  g_clear_pointer (&self->provenance_error, g_free);
  self->history_failed = FALSE;
  clear_list (self->versions_list);
  clear_list (self->diff_list);
  if (self->reference == NULL || self->client == NULL || self->type == NULL)
    {
      gtk_stack_set_visible_child_name (self->stack, "empty");
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
      return;
    }

  g_debug ("reading the history of %s", self->reference);
  title = g_strdup_printf ("History of %s", self->title != NULL ? self->title
                                                                : self->reference);
  gtk_label_set_text (self->history_title, title);
  self->cancellable = g_cancellable_new ();
  escaped = g_uri_escape_string (self->id, NULL, FALSE);
  history = g_strdup_printf ("%s/%s/_history?_count=100", self->type, escaped);
  provenance = g_strdup_printf ("Provenance?target=%s/%s&_count=100", self->type, escaped);
  gtk_spinner_start (self->spinner);
  gtk_stack_set_visible_child_name (self->stack, "loading");
  start_chain (self, CHAIN_HISTORY, history);
  start_chain (self, CHAIN_PROVENANCE, provenance);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
}

static void
retry_clicked (ChartaHistoryView *self)
{
  load (self);
}

/* ---- the object --------------------------------------------------------------------------- */

static void
charta_history_view_dispose (GObject *object)
{
  ChartaHistoryView *self = CHARTA_HISTORY_VIEW (object);

  cancel_reads (self);
  g_clear_object (&self->client);

  G_OBJECT_CLASS (charta_history_view_parent_class)->dispose (object);
}

static void
charta_history_view_finalize (GObject *object)
{
  ChartaHistoryView *self = CHARTA_HISTORY_VIEW (object);

  g_free (self->reference);
  g_free (self->type);
  g_free (self->id);
  g_free (self->title);
  g_free (self->provenance_error);
  g_ptr_array_unref (self->versions);
  g_ptr_array_unref (self->provenances);

  G_OBJECT_CLASS (charta_history_view_parent_class)->finalize (object);
}

static void
charta_history_view_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  ChartaHistoryView *self = CHARTA_HISTORY_VIEW (object);

  switch (prop_id)
    {
    case PROP_LOADED:
      g_value_set_boolean (value, charta_history_view_is_loaded (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
charta_history_view_class_init (ChartaHistoryViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = charta_history_view_dispose;
  object_class->finalize = charta_history_view_finalize;
  object_class->get_property = charta_history_view_get_property;

  properties[PROP_LOADED] =
    g_param_spec_boolean ("loaded", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/charta/Desktop/charta-history-view.ui");
  gtk_widget_class_bind_template_child (widget_class, ChartaHistoryView, stack);
  gtk_widget_class_bind_template_child (widget_class, ChartaHistoryView, spinner);
  gtk_widget_class_bind_template_child (widget_class, ChartaHistoryView, error_page);
  gtk_widget_class_bind_template_child (widget_class, ChartaHistoryView, history_title);
  gtk_widget_class_bind_template_child (widget_class, ChartaHistoryView, history_subtitle);
  gtk_widget_class_bind_template_child (widget_class, ChartaHistoryView, versions_group);
  gtk_widget_class_bind_template_child (widget_class, ChartaHistoryView, versions_list);
  gtk_widget_class_bind_template_child (widget_class, ChartaHistoryView, version_names);
  gtk_widget_class_bind_template_child (widget_class, ChartaHistoryView, from_drop);
  gtk_widget_class_bind_template_child (widget_class, ChartaHistoryView, to_drop);
  gtk_widget_class_bind_template_child (widget_class, ChartaHistoryView, before_heading);
  gtk_widget_class_bind_template_child (widget_class, ChartaHistoryView, after_heading);
  gtk_widget_class_bind_template_child (widget_class, ChartaHistoryView, diff_list);
  gtk_widget_class_bind_template_child (widget_class, ChartaHistoryView, diff_status);
  gtk_widget_class_bind_template_callback (widget_class, retry_clicked);
  gtk_widget_class_bind_template_callback (widget_class, selection_changed);
  gtk_widget_class_bind_template_callback (widget_class, version_activated);
}

static void
charta_history_view_init (ChartaHistoryView *self)
{
  self->versions = g_ptr_array_new_with_free_func ((GDestroyNotify) version_free);
  self->provenances = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
charta_history_view_new (void)
{
  return g_object_new (CHARTA_TYPE_HISTORY_VIEW, NULL);
}

void
charta_history_view_set_client (ChartaHistoryView *self,
                                ChartaClient      *client)
{
  g_return_if_fail (CHARTA_IS_HISTORY_VIEW (self));
  g_return_if_fail (client == NULL || CHARTA_IS_CLIENT (client));

  if (!g_set_object (&self->client, client))
    return;
  g_clear_pointer (&self->reference, g_free);
  load (self);
}

void
charta_history_view_show (ChartaHistoryView *self,
                          const char        *reference,
                          const char        *title)
{
  const char *slash;

  g_return_if_fail (CHARTA_IS_HISTORY_VIEW (self));

  g_free (self->reference);
  g_free (self->title);
  g_clear_pointer (&self->type, g_free);
  g_clear_pointer (&self->id, g_free);
  self->reference = g_strdup (reference);
  self->title = g_strdup (title);
  slash = reference != NULL ? strchr (reference, '/') : NULL;
  if (slash != NULL)
    {
      self->type = g_strndup (reference, slash - reference);
      self->id = g_strdup (slash + 1);
    }
  load (self);
}

const char *
charta_history_view_get_reference (ChartaHistoryView *self)
{
  g_return_val_if_fail (CHARTA_IS_HISTORY_VIEW (self), NULL);

  return self->reference;
}

unsigned
charta_history_view_get_n_versions (ChartaHistoryView *self)
{
  g_return_val_if_fail (CHARTA_IS_HISTORY_VIEW (self), 0);

  return self->versions->len;
}

gboolean
charta_history_view_compare (ChartaHistoryView *self,
                             const char        *old_version,
                             const char        *new_version)
{
  int from = -1;
  int to = -1;

  g_return_val_if_fail (CHARTA_IS_HISTORY_VIEW (self), FALSE);
  g_return_val_if_fail (old_version != NULL && new_version != NULL, FALSE);

  for (unsigned i = 0; i < self->versions->len; i++)
    {
      Version *version = self->versions->pdata[i];

      if (strcmp (version->version_id, old_version) == 0)
        from = (int) i;
      if (strcmp (version->version_id, new_version) == 0)
        to = (int) i;
    }
  if (from < 0 || to < 0)
    return FALSE;
  gtk_drop_down_set_selected (self->from_drop, (unsigned) from);
  gtk_drop_down_set_selected (self->to_drop, (unsigned) to);
  update_diff (self);
  return TRUE;
}

gboolean
charta_history_view_is_loaded (ChartaHistoryView *self)
{
  g_return_val_if_fail (CHARTA_IS_HISTORY_VIEW (self), FALSE);

  return self->reference != NULL && self->cancellable != NULL && self->n_pending == 0;
}
