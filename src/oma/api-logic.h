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

#include <jansson.h>

#include "oma/store.h"

/* Most disks a registration may list. */
#define OMA_MAX_DISKS 256

/* Renders JOB as the JSON object of DESIGN §4's API: every column of
 * replication_jobs and "polled_by", the OMA whose lease covers the job
 * (null when none has claimed it) (timestamps as "YYYY-MM-DDTHH:MM:SSZ" or
 * null, eta_seconds and error_message null when unknown/none), "disks" with
 * every column of vm_disks, and, when WITH_HISTORY, "history" as
 * [{"t","bytes_transferred","transfer_speed_bps","progress_percent"}].
 * Returns a new reference, or NULL when out of memory.
 */
json_t *oma_render_job (const struct oma_job *job, bool with_history);

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
