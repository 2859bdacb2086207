/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-outcome.c: ChartaOutcome, a list of issues, and the OperationOutcome made from it.
 *
 * Issues are kept in order of arrival, each allocated on its own so that the pointers
 * charta_outcome_get_issue() hands out stay valid while more issues are added.  Texts are
 * made valid UTF-8 on the way in (a file name in an error message may not be), so the JSON
 * written out is always valid, and always a valid R4 OperationOutcome: issue is 1..*, so an
 * outcome without issues says so in one "informational" issue.
 *
 * GError → issue: CHARTA_FHIR_ERROR codes map to the FHIR issue-type code that says what went
 * wrong (see issue_code_for_error()); the errors that stop a body from being read at all (too
 * large, too deep, not UTF-8, not JSON, duplicate keys, not a resource) are "fatal", the
 * others "error".  Errors of other domains (I/O, …) are "exception".
 */
#define G_LOG_DOMAIN "charta-outcome"

#include <string.h>

#include "charta-fhir-error.h"
#include "charta-json-private.h"
#include "charta-outcome.h"
#include "charta-resource.h"

struct _ChartaOutcome
{
  gatomicrefcount  ref_count;
  GPtrArray       *issues;  /* ChartaIssue *, owned */
};

G_DEFINE_BOXED_TYPE (ChartaOutcome, charta_outcome, charta_outcome_ref, charta_outcome_unref)

static void
issue_free (gpointer data)
{
  ChartaIssue *issue = data;

  g_free (issue->code);
  g_free (issue->expression);
  g_free (issue->diagnostics);
  g_free (issue);
}

ChartaOutcome *
charta_outcome_new (void)
{
  ChartaOutcome *self = g_new0 (ChartaOutcome, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->issues = g_ptr_array_new_with_free_func (issue_free);
  return self;
}

ChartaOutcome *
charta_outcome_ref (ChartaOutcome *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
charta_outcome_unref (ChartaOutcome *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_ptr_array_unref (self->issues);
  g_free (self);
}

static char *
dup_valid_utf8 (const char *text)
{
  if (text == NULL)
    return NULL;
  if (g_utf8_validate (text, -1, NULL))
    return g_strdup (text);
  return g_utf8_make_valid (text, -1);
}

/* Takes @diagnostics. */
static void
add_issue (ChartaOutcome       *self,
           ChartaIssueSeverity  severity,
           const char          *code,
           const char          *expression,
           char                *diagnostics)
{
  ChartaIssue *issue = g_new0 (ChartaIssue, 1);

  issue->severity = severity;
  issue->code = g_strdup (code != NULL ? code : "processing");
  issue->expression = expression != NULL && *expression != '\0' ? dup_valid_utf8 (expression)
                                                                 : NULL;
  if (diagnostics != NULL && !g_utf8_validate (diagnostics, -1, NULL))
    {
      issue->diagnostics = g_utf8_make_valid (diagnostics, -1);
      g_free (diagnostics);
    }
  else
    issue->diagnostics = diagnostics;
  g_ptr_array_add (self->issues, issue);
}

void
charta_outcome_add (ChartaOutcome       *self,
                    ChartaIssueSeverity  severity,
                    const char          *code,
                    const char          *expression,
                    const char          *format,
                    ...)
{
  char *diagnostics = NULL;
  va_list args;

  g_return_if_fail (self != NULL);
  g_return_if_fail (severity >= CHARTA_ISSUE_FATAL && severity <= CHARTA_ISSUE_INFORMATION);

  if (format != NULL)
    {
      va_start (args, format);
      diagnostics = g_strdup_vprintf (format, args);
      va_end (args);
    }
  add_issue (self, severity, code, expression, diagnostics);
}

static const char *
issue_code_for_error (const GError        *error,
                      ChartaIssueSeverity *severity)
{
  *severity = CHARTA_ISSUE_ERROR;
  if (error->domain != CHARTA_FHIR_ERROR)
    return "exception";

  switch ((ChartaFhirError) error->code)
    {
    case CHARTA_FHIR_ERROR_TOO_LARGE:
    case CHARTA_FHIR_ERROR_TOO_DEEP:
      *severity = CHARTA_ISSUE_FATAL;
      return "too-costly";
    case CHARTA_FHIR_ERROR_INVALID_UTF8:
    case CHARTA_FHIR_ERROR_MALFORMED:
    case CHARTA_FHIR_ERROR_DUPLICATE_KEY:
      *severity = CHARTA_ISSUE_FATAL;
      return "structure";
    case CHARTA_FHIR_ERROR_NOT_RESOURCE:
      *severity = CHARTA_ISSUE_FATAL;
      return "invalid";
    case CHARTA_FHIR_ERROR_INVALID:
    case CHARTA_FHIR_ERROR_FHIRPATH_SYNTAX:
    case CHARTA_FHIR_ERROR_FHIRPATH_EVAL:
      return "invalid";
    case CHARTA_FHIR_ERROR_UNSUPPORTED:
      return "not-supported";
    default:
      return "exception";
    }
}

/* Length of the element path at the start of @text ("Patient.name[0].given[1]"): an upper-case
 * type name, then ".name" and "[n]" steps; 0 when @text does not start with one. */
static size_t
path_length (const char *text)
{
  const char *p = text;

  if (!g_ascii_isupper (*p))
    return 0;
  while (g_ascii_isalnum (*p))
    p++;
  for (;;)
    {
      if (p[0] == '.' && (g_ascii_isalpha (p[1]) || p[1] == '_'))
        {
          p++;
          while (g_ascii_isalnum (*p) || *p == '_' || *p == '-')
            p++;
        }
      else if (p[0] == '[' && g_ascii_isdigit (p[1]))
        {
          const char *q = p + 1;

          while (g_ascii_isdigit (*q))
            q++;
          if (*q != ']')
            break;
          p = q + 1;
        }
      else
        break;
    }
  return p - text;
}

/* The element path an error's message names, or NULL: validation messages start with it
 * ("Patient.birthDate: …"), duplicate-key messages name the object ("… in Patient.name[1]:"). */
static char *
expression_for_error (const GError *error)
{
  const char *message = error->message;
  size_t n;

  if (error->domain != CHARTA_FHIR_ERROR)
    return NULL;
  if (error->code == CHARTA_FHIR_ERROR_DUPLICATE_KEY)
    {
      const char *in = strstr (message, " in ");

      if (in == NULL)
        return NULL;
      message = in + strlen (" in ");
    }
  n = path_length (message);
  if (n == 0 || message[n] != ':')
    return NULL;
  return g_strndup (message, n);
}

void
charta_outcome_add_error (ChartaOutcome *self,
                          const GError  *error)
{
  g_autofree char *expression = NULL;
  ChartaIssueSeverity severity;
  const char *code;

  g_return_if_fail (self != NULL);
  g_return_if_fail (error != NULL);

  code = issue_code_for_error (error, &severity);
  expression = expression_for_error (error);
  add_issue (self, severity, code, expression, g_strdup (error->message));
}

unsigned
charta_outcome_get_n_issues (ChartaOutcome *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->issues->len;
}

const ChartaIssue *
charta_outcome_get_issue (ChartaOutcome *self,
                          unsigned       index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->issues->len, NULL);

  return g_ptr_array_index (self->issues, index);
}

unsigned
charta_outcome_count_errors (ChartaOutcome *self)
{
  unsigned n = 0;

  g_return_val_if_fail (self != NULL, 0);

  for (unsigned i = 0; i < self->issues->len; i++)
    {
      const ChartaIssue *issue = g_ptr_array_index (self->issues, i);

      if (issue->severity == CHARTA_ISSUE_FATAL || issue->severity == CHARTA_ISSUE_ERROR)
        n++;
    }
  return n;
}

gboolean
charta_outcome_has_errors (ChartaOutcome *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return charta_outcome_count_errors (self) > 0;
}

static const char *
severity_code (ChartaIssueSeverity severity)
{
  switch (severity)
    {
    case CHARTA_ISSUE_FATAL:
      return "fatal";
    case CHARTA_ISSUE_ERROR:
      return "error";
    case CHARTA_ISSUE_WARNING:
      return "warning";
    case CHARTA_ISSUE_INFORMATION:
    default:
      return "information";
    }
}

static void
append_issue (GString             *out,
              ChartaIssueSeverity  severity,
              const char          *code,
              const char          *diagnostics,
              const char          *expression)
{
  /* OperationOutcome.issue's definition order: severity, code, details, diagnostics,
   * location, expression. */
  g_string_append (out, "{\"severity\":");
  charta_json_append_string (out, severity_code (severity));
  g_string_append (out, ",\"code\":");
  charta_json_append_string (out, code);
  if (diagnostics != NULL)
    {
      g_string_append (out, ",\"diagnostics\":");
      charta_json_append_string (out, diagnostics);
    }
  if (expression != NULL)
    {
      g_string_append (out, ",\"expression\":[");
      charta_json_append_string (out, expression);
      g_string_append_c (out, ']');
    }
  g_string_append_c (out, '}');
}

char *
charta_outcome_to_json (ChartaOutcome *self,
                        gboolean       pretty)
{
  g_autoptr(ChartaResource) resource = NULL;
  g_autoptr(GError) error = NULL;
  GString *out;

  g_return_val_if_fail (self != NULL, NULL);

  out = g_string_new ("{\"resourceType\":\"OperationOutcome\",\"issue\":[");
  for (unsigned i = 0; i < self->issues->len; i++)
    {
      const ChartaIssue *issue = g_ptr_array_index (self->issues, i);

      if (i > 0)
        g_string_append_c (out, ',');
      append_issue (out, issue->severity, issue->code, issue->diagnostics, issue->expression);
    }
  if (self->issues->len == 0)
    append_issue (out, CHARTA_ISSUE_INFORMATION, "informational", "No issues found.", NULL);
  g_string_append (out, "]}");

  if (!pretty)
    return g_string_free (out, FALSE);

  /* Indent through the canonical writer, so both forms print alike. */
  {
    ChartaParseLimits limits = { out->len, 0 };

    resource = charta_resource_new_from_data (out->str, out->len, &limits, &error);
  }
  g_assert_no_error (error);
  g_string_free (out, TRUE);
  return charta_resource_to_json (resource, TRUE, NULL);
}
