/* cbtrack oma - the JSON API's decisions, free of I/O.
 *
 * Rendering of rows as JSON and validation of request bodies, so that
 * unit tests call them directly; replications.c only wires them to HTTP
 * and to the store.
 */
#ifndef CBTRACK_OMA_API_LOGIC_H
#define CBTRACK_OMA_API_LOGIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "oma/store.h"

/* Most disks a registration may list. */
#define OMA_MAX_DISKS 256

/* What a job row means at time NOW (epoch seconds), by the progress
 * model's rules (cbt_is_stale, cbt_rate_is_live): the figures the API, the
 * CSV and the sort by ETA show.  STALE_AFTER is the age (seconds) past
 * which a replicating row the poller stopped refreshing is stale
 * (CBT_STALE_INTERVALS poll intervals).
 */
struct oma_job_view {
  bool stalled;          /* replicating, but not moving (or not heard of) */
  int64_t stalled_since; /* when it stopped; 0 unless stalled */
  bool has_rate;         /* the throughput means something */
  int64_t rate_bps;
  bool has_eta; /* 0 once completed */
  int64_t eta_seconds;
  bool has_duration; /* started: until completed_at, or NOW */
  int64_t duration_seconds;
  bool has_average; /* completed: bytes moved / duration */
  double average_rate_bps;
};

/* Fills *RET with the view of JOB at NOW.  I/O-free. */
void oma_job_view (const struct oma_job *job, int64_t now, double stale_after,
                   struct oma_job_view *ret);

/* Renders JOB as the JSON object of DESIGN §4's API: every column of
 * replication_jobs, "polled_by" (the OMA whose lease covers the job, null
 * when none has claimed it) (timestamps as "YYYY-MM-DDTHH:MM:SSZ" or null,
 * error_message null when none), "status" as oma_job_status_shown says,
 * "cancel_requested_at", transfer_speed_bps and eta_seconds by
 * the view at NOW (null when they mean nothing: not replicating, stalled,
 * stale), "stalled" and "stalled_since", "duration_seconds" and
 * "average_rate_bps" (null when unknown), "disks" with every column of
 * vm_disks (throughput_bps and eta_seconds null unless live), and, when
 * WITH_HISTORY, "history" as
 * [{"t","bytes_transferred","transfer_speed_bps","progress_percent"}].
 * Returns a new reference, or NULL when out of memory.
 */
json_t *oma_render_job (const struct oma_job *job, bool with_history,
                        int64_t now, double stale_after);

/* ---- The list: filter, search, sort, pages, CSV ---- */

/* Status filter bits (?status=a,b,...). */
enum {
  OMA_FILTER_PENDING = 1 << 0,
  OMA_FILTER_REPLICATING = 1 << 1, /* stalled ones included */
  OMA_FILTER_COMPLETED = 1 << 2,
  OMA_FILTER_FAILED = 1 << 3,
  OMA_FILTER_STALLED = 1 << 4,   /* replicating and stalled */
  OMA_FILTER_CANCELLED = 1 << 5, /* failed after a cancel (not "failed") */
  OMA_FILTER_ACTIVE = OMA_FILTER_PENDING | OMA_FILTER_REPLICATING,
};

enum oma_sort_key {
  OMA_SORT_CREATED,  /* created_at */
  OMA_SORT_STARTED,  /* started_at; never started last */
  OMA_SORT_PROGRESS, /* progress_percent */
  OMA_SORT_ETA,      /* the view's ETA; unknown last */
  OMA_SORT_NAME,     /* source_vm_name */
};

/* The most jobs one page holds (?limit=). */
#define OMA_LIST_LIMIT_MAX 1000

/* A parsed list request. */
struct oma_list_query {
  unsigned statuses;         /* OMA_FILTER_* bits; 0: any */
  char q[OMA_NAME_MAX + 1];  /* "": any; else a case-insensitive substring
                                of the VM name or the job id */
  char vm[OMA_NAME_MAX + 1]; /* "": any; else the exact VM name */
  enum oma_sort_key sort;
  bool descending;
  size_t limit;               /* 0: every job */
  char after[CBT_ID_MAX + 1]; /* "": from the first; else after this job */
  bool csv;                   /* ?format=csv */
};

/* Parses the query arguments of GET /api/v1/replications (each NULL when
 * absent): status (comma-separated pending, replicating, completed,
 * failed, stalled, active), q, vm, sort ([-]created, started, progress,
 * eta, name; "-" for descending; default -created, newest first), limit
 * (1..OMA_LIST_LIMIT_MAX), after (a job id, the last of the previous
 * page), format (json or csv).  Returns 0 and fills *RET, or -1 with a
 * message for a 400 recorded and *RET untouched.
 */
int oma_list_query_parse (const char *status, const char *q, const char *vm,
                          const char *sort, const char *limit,
                          const char *after, const char *format,
                          struct oma_list_query *ret);

/* One page of the list. */
struct oma_list_page {
  size_t *idx;         /* indexes into the jobs, in order; free() it */
  size_t n;            /* of them */
  size_t total;        /* jobs matching the filter, over every page */
  const char *next;    /* the id to pass as after= for the next page (points
                          into the jobs), or NULL on the last page */
  size_t by_status[6]; /* every job (unfiltered), by OMA_FILTER_* bit
                          number: pending, replicating, completed, failed,
                          stalled, cancelled */
  int64_t rate_bps;    /* the sum of the live rates of every job */
};

/* Selects the page of JOBS that QUERY asks for, at NOW: filter, search,
 * sort (ties by id), then the LIMIT jobs after QUERY's after.  Returns 0
 * and fills *RET (free ret->idx), or -1 with a message recorded (a 400:
 * no job "after" in the listing; or out of memory) and *RET untouched.
 * I/O-free.
 */
int oma_list_select (const oma_job_vector *jobs,
                     const struct oma_list_query *query, int64_t now,
                     double stale_after, struct oma_list_page *ret);

/* Writes TEXT to FP as one CSV cell (RFC 4180: always quoted, quotes
 * doubled), neutralised against formula injection: a cell that starts
 * with =, +, -, @, a tab or a carriage return gets a leading "'" so a
 * spreadsheet shows it as text.  Returns 0, or -1 on a write error.
 */
int oma_csv_cell (FILE *fp, const char *text);

/* Renders the N jobs JOBS->ptr[IDX[i]] as CSV (a header line, then one
 * line per job, CRLF line ends) with the figures of their view at NOW.
 * Returns a malloc'd string (its length in *RET_LEN), or NULL when out of
 * memory.
 */
char *oma_render_csv (const oma_job_vector *jobs, const size_t *idx, size_t n,
                      int64_t now, double stale_after, size_t *ret_len);

/* The status the API and the UI show for JOB: its status column, except
 * that a failed job whose cancel was asked for is "cancelled"
 * (CBT_STATUS_CANCELLED_NAME).
 */
const char *oma_job_status_shown (const struct oma_job *job);

/* The answer of GET /api/v1/nodes for the N nodes NODES: {"count": N,
 * "nodes": [{"node_id", "generation", "heartbeat_at", "started_at",
 * "alive", "jobs"}]}.  Returns a new reference, or NULL when out of
 * memory.
 */
json_t *oma_render_nodes (const struct oma_node *nodes, size_t n);

/* Renders the changeId chain of the VM named VM from JOBS (newest created
 * first, with their disks), the answer of GET /api/v1/vms/{vm}/disks:
 * {"vm": VM, "disks": [{"disk_id", "change_id", "job_id", "updated_at"}]},
 * for each disk id the changeId of the newest job of that VM in which the
 * disk completed with one.  Returns a new reference, or NULL when out of
 * memory.
 */
json_t *oma_render_vm_disks (const oma_job_vector *jobs, const char *vm);

/* Parses a registration (POST /api/v1/replications) from the LEN bytes at
 * BODY into *RET_JOB, a new pending job created at NOW:
 *
 *   {"id": ID, "source_vm_name" (or "vm_name"): TEXT, "vma_url": URL,
 *    "replication_type": "full" | "incremental" ("initial" = full),
 *    "disks": [DISK_ID | {"disk_id": DISK_ID, "capacity_bytes": N}, ...]}
 *
 * id is required and must be a valid cbtrack id; the name defaults to the
 * id; vma_url (http:// or https://) defaults to DEFAULT_VMA_URL and is
 * required when that is NULL; disks are optional, at most OMA_MAX_DISKS,
 * with valid and distinct ids.  Unknown fields are ignored.  Returns 0
 * (release *RET_JOB with oma_job_reset), or -1 with a message for a 400
 * recorded and *RET_JOB untouched.
 */
int oma_parse_registration (const char *body, size_t len,
                            const char *default_vma_url, int64_t now,
                            struct oma_job *ret_job);

/* Parses a PATCH body: {"setup_progress_percent": 0..100,
 * "current_operation": TEXT (at most OMA_NAME_MAX bytes)}; at least one of
 * them.  Returns 0 and fills *RET_PATCH, or -1 with a message recorded.
 */
int oma_parse_patch (const char *body, size_t len,
                     struct oma_patch *ret_patch);

/* True when URL is an absolute http:// or https:// URL with a host, at
 * most OMA_URL_MAX bytes, without spaces or control characters.
 */
bool oma_vma_url_is_valid (const char *url);

/* The VMAs jobs may name: the --vma URLs and the --allow-vma patterns. */
struct oma_vma_allow {
  const char *const *urls; /* URLs: allowed, and any URL below them */
  size_t n_urls;
  /* Patterns: one with "://" is a URL prefix; any other is a glob
   * (fnmatch) matched against the URL's "host:port" (the port is the
   * scheme's default when the URL has none), e.g. "10.0.3.*:8081".
   */
  const char *const *patterns;
  size_t n_patterns;
};

/* True when ALLOW admits URL (a valid VMA URL, see oma_vma_url_is_valid).
 * Nothing is admitted by an empty allow-list.
 */
bool oma_vma_url_allowed (const struct oma_vma_allow *allow, const char *url);

#endif /* CBTRACK_OMA_API_LOGIC_H */
