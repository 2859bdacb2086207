/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * charta-chart-at.h: a patient's chart as it was at a chosen instant (point-in-time mode), read
 * through FHIR REST history alone.
 *
 * For one summary section (a resource type searched with patient=ID and the section's own
 * parameters), the resources as they were at instant AT are:
 *  1. those unchanged since AT: the section's search plus _lastUpdated=leAT (their current
 *     version is their version at AT, and the server applies the section's parameters);
 *  2. those changed (updated, deleted or created) at or after AT: every id in the type's
 *     history since AT (T/_history?_since=AT, all pages), each read as it was at AT
 *     (T/ID/_history?_at=AT), and kept when it existed and was not deleted at AT, referred to
 *     Patient/ID (subject or patient) in that version, and passes the section's filter (the
 *     client-side twin of its parameters).  An id whose oldest change since AT is its
 *     creation, strictly after AT, did not exist at AT and costs no request.
 * The two are merged (the history's answer wins for an id in both), sorted as the section's
 * _sort sorts, and cut to the section's count.  AT goes out with microseconds, in UTC
 * ("2024-05-01T10:20:30.123456Z"), so that _lastUpdated=le, _since and _at all mean the same
 * instant to the microsecond.
 *
 * The search runs before the history is read, not beside it: a resource written between the
 * two is then in the history (read later) whatever it was when the search ran, so no change
 * slips between them.  The versions at AT are read at most CHARTA_CHART_AT_MAX_REQUESTS at
 * once per read.  The cost grows with the number of resources of the type changed anywhere in
 * the store since AT (FHIR R4 has no history of a patient's compartment): far-back instants on
 * a busy store cost many requests.
 *
 * Everything is asynchronous on the caller's thread-default main context (the client's), and
 * cancellable.  A read either gives the whole answer or an error: nothing half-read.  Errors
 * are the client's (CHARTA_CLIENT_ERROR; a history Bundle that cannot be read, or a next link
 * to another server, is CHARTA_CLIENT_ERROR_MALFORMED), CHARTA_CHART_AT_ERROR for a Patient
 * that did not exist at AT, or G_IO_ERROR_CANCELLED.  Logs name types, ids and counts only.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "charta-client.h"

G_BEGIN_DECLS

#define CHARTA_CHART_AT_ERROR (charta_chart_at_error_quark ())

typedef enum
{
  CHARTA_CHART_AT_ERROR_NOT_RECORDED,  /* the resource had not been recorded yet at AT */
  CHARTA_CHART_AT_ERROR_DELETED,       /* the resource had been deleted by AT */
} ChartaChartAtError;

GQuark charta_chart_at_error_quark (void);

/* The _count of each page of a type's history. */
#define CHARTA_CHART_AT_HISTORY_PAGE 100u
/* The most requests one read has in flight at once. */
#define CHARTA_CHART_AT_MAX_REQUESTS 6u

/* Whether @resource, as it was at AT, meets a section's search parameters (other than
 * patient=ID, which the read checks itself).  charta_fhir_is_entered_in_error() is one. */
typedef gboolean (*ChartaChartAtFilter) (JsonObject *resource);

/* One summary section, as the chart view searches it today. */
typedef struct
{
  const char          *type;             /* "Observation" */
  const char          *params;           /* after patient=ID, before _count: "_sort=-date";
                                          * NULL or "": none */
  ChartaChartAtFilter  keep;             /* @params on the client; NULL: every resource of the
                                          * patient */
  const char          *in_error_params;  /* a second search for the entered-in-error ones that
                                          * @params leaves out ("status=entered-in-error"), or
                                          * NULL for none */
  ChartaChartAtFilter  keep_in_error;    /* @in_error_params on the client (needed with it) */
  const char          *sort_date;        /* the element whose date @params' _sort orders by,
                                          * '-' first for newest first: "-effective" (a choice
                                          * element: effectiveDateTime, effectivePeriod…),
                                          * "-authoredOn"; NULL when @params has no _sort */
  unsigned             count;            /* _count: the most resources listed (> 0) */
} ChartaChartAtSection;

/* The two filters the chart's sections need besides charta_fhir_is_entered_in_error(): a
 * coding of clinicalStatus has code "active" (clinical-status=active); status is "active"
 * (status=active). */
gboolean   charta_chart_at_is_clinically_active (JsonObject *resource);
gboolean   charta_chart_at_is_status_active     (JsonObject *resource);

/* @at as the read sends it: UTC with microseconds, "2024-05-01T10:20:30.123456Z". */
char      *charta_chart_at_format_instant       (GDateTime  *at);

/* Reads @section of Patient/@patient_id's chart as it was at @at.  The callback runs on the
 * caller's thread-default main context.  @section is copied (its filters are called later). */
void       charta_chart_at_read_async           (ChartaClient               *client,
                                                 const char                 *patient_id,
                                                 GDateTime                  *at,
                                                 const ChartaChartAtSection *section,
                                                 GCancellable               *cancellable,
                                                 GAsyncReadyCallback         callback,
                                                 gpointer                    user_data);
/* The resources (JsonNode objects, each the version current at AT) as the chart view lists
 * them: first at most count meeting @params, sorted by sort_date; then at most count
 * entered-in-error ones not already listed.  Where sort_date ties or is NULL, and for the
 * entered-in-error ones, the unchanged ones come first in the server's order, then the changed
 * ones, most recently changed first.  *more (may be NULL) is set when more than count met
 * @params.  NULL with @error on failure. */
GPtrArray *charta_chart_at_read_finish          (ChartaClient               *client,
                                                 GAsyncResult               *result,
                                                 gboolean                   *more,
                                                 GError                    **error);

/* Reads Patient/@patient_id as it was at @at (the version current then). */
void       charta_chart_at_read_patient_async   (ChartaClient               *client,
                                                 const char                 *patient_id,
                                                 GDateTime                  *at,
                                                 GCancellable               *cancellable,
                                                 GAsyncReadyCallback         callback,
                                                 gpointer                    user_data);
/* The Patient as it was at AT; NULL with CHARTA_CHART_AT_ERROR_NOT_RECORDED when it did not
 * exist yet, CHARTA_CHART_AT_ERROR_DELETED when it had been deleted by then, and
 * CHARTA_CLIENT_ERROR_NOT_FOUND when the server has never heard of it. */
JsonNode  *charta_chart_at_read_patient_finish  (ChartaClient               *client,
                                                 GAsyncResult               *result,
                                                 GError                    **error);

G_END_DECLS
