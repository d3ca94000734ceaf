/* cbtrack oma - what the poller decides, free of I/O.
 *
 * The poller (poller.c) fetches; this module reads the VMA's answers
 * (DESIGN §3), maps the VMA's vocabulary onto the OMA's columns (DESIGN
 * §4), judges dead jobs, and says what to write.  Unit tests call it
 * directly.
 *
 * Status mapping, job:  queued → pending, in_progress → replicating,
 *                       completed → completed, failed → failed.
 *            disk:      queued → pending, in_progress → syncing,
 *                       completed → completed, failed → failed.
 * Anything else the VMA may say reads as in_progress
 * (cbt_job_doc_decode).  Percents are the model's rule (cbt_percent),
 * computed from the bytes.
 *
 * A job is dead when there has been no progress for dead_timeout
 * seconds: the VMA answers but its seconds_since_update reached the
 * timeout (the copier stopped reporting); or the copy still reports but,
 * in progress in a stage that moves bytes, its bytes_transferred has not
 * moved since last_progress_at (or the copier says it is stalled) for
 * that long ("no progress"); or the VMA cannot be reached, or it answers
 * 404 — for the latter two, counted from the job's last_progress_at (or
 * created_at when it never had any).  last_progress_at is the time of the
 * VMA's last update that moved the job (bytes, stage or status).  A dead
 * job becomes failed, and error_message says which case it was.
 * Only a fetch that ran is evidence: a skipped one changes nothing.
 */
#ifndef CBTRACK_OMA_POLL_LOGIC_H
#define CBTRACK_OMA_POLL_LOGIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/progress-model.h"
#include "oma/store.h"

/* How one fetch of a job from its VMA ended. */
enum oma_fetch_result {
  OMA_FETCH_OK,          /* 200 and a well-formed job */
  OMA_FETCH_NOT_FOUND,   /* 404: the VMA does not know the job */
  OMA_FETCH_UNREACHABLE, /* no connection, timeout, 5xx, garbage */
  OMA_FETCH_SKIPPED,     /* the fetch did not run (the poller stopped, or
                            could not set it up): no evidence either way */
};

/* Parses the LEN bytes at BODY as one VMA job document into *RET_JOB
 * (cbt_job_doc_decode; release with cbt_doc_job_reset).  Returns 0, or -1
 * with a message recorded.
 */
int oma_vma_job_parse (const char *body, size_t len,
                       struct cbt_doc_job *ret_job);

/* Parses GET /api/v1/progress: a JSON array of jobs, or an object with
 * such an array under "jobs".  Entries that do not parse are skipped, and
 * disks are not read (discovery needs the jobs only).
 * Appends to *RET_JOBS (release with oma_vma_job_vector_free).  Returns
 * 0, or -1 with a message recorded when the whole answer is unusable.
 */
int oma_vma_list_parse (const char *body, size_t len,
                        cbt_doc_job_vector *ret_jobs);

/* Like oma_vma_list_parse, and also reads the list's paging fields: the
 * VMA's change counter "version" into *RET_VERSION (0 when absent: a VMA
 * that does not count) and "next_after" into NEXT_AFTER of SIZE bytes (""
 * when absent: the last page).  An invalid next_after is an error.
 */
int oma_vma_list_parse_page (const char *body, size_t len,
                             cbt_doc_job_vector *ret_jobs,
                             uint64_t *ret_version, char *next_after,
                             size_t size);

/* Resets every job of *JOBS, then the vector.  NULL is allowed. */
void oma_vma_job_vector_free (cbt_doc_job_vector *jobs);

/* The replication_jobs.status for the VMA's job STATUS. */
const char *oma_map_job_status (enum cbt_status status);

/* The vm_disks.sync_status for the VMA's disk STATUS. */
const char *oma_map_disk_status (enum cbt_status status);

/* The replication_type for the sync type word SYNC_TYPE ("initial" is
 * full); "" when it is none of them (the column then keeps its value).
 */
const char *oma_map_sync_type (const char *sync_type);

/* Decides what to write for the active job KNOWN after a fetch that ended
 * with RESULT (VMA is the parsed job when RESULT is OMA_FETCH_OK; DETAIL,
 * why a fetch failed, is for the caller's log: the error message names the
 * kind of failure only, since API clients read it).  NOW is the wall clock
 * in epoch seconds.  Returns true and fills *RET_UPDATE (its job.disks
 * allocated: release with oma_job_reset) when something must be written,
 * false when nothing changes.
 */
bool oma_poll_decide (const struct oma_job *known,
                      enum oma_fetch_result result,
                      const struct cbt_doc_job *vma, const char *detail,
                      int64_t now, double dead_timeout,
                      struct oma_update *ret_update);

/* History kept at full resolution (seconds before the newest poll). */
#define OMA_HISTORY_FULL_SECONDS 3600
/* THE downsampling rule of a job's history.  Given the N sample times
 * T[] (oldest first, epoch seconds) at time NOW, sets KEEP[i] for the
 * samples to keep, at most MAX (MAX >= 4) of them, and returns how many:
 *   - every sample when N <= MAX;
 *   - else the recent ones (within OMA_HISTORY_FULL_SECONDS of NOW, but
 *     at most the newest 3/4 of MAX) all, and of the older ones the first
 *     of each bucket of W seconds (floor (t / W)), W the smallest power
 *     of two that makes them fit in what is left of MAX.  The oldest
 *     sample (the start of the job) is always kept.
 * Buckets of a power of two nest, so a sample a trim dropped would have
 * been dropped by any later trim too: the history gets sparser with age,
 * never jumps.
 */
size_t oma_history_thin (const int64_t *t, size_t n, int64_t now, size_t max,
                         bool *keep);

/* True when STATUS (a replication_jobs.status) is final. */
bool oma_status_is_final (const char *status);

/* Fills *RET_JOB as a new pending job discovered on the VMA at VMA_URL
 * from its list entry VMA at time NOW (its name is the VMA's vm_name, or
 * the job id).
 */
void oma_job_from_discovery (const struct cbt_doc_job *vma,
                             const char *vma_url, int64_t now,
                             struct oma_job *ret_job);

/* Seconds of slack in oma_poll_resumed_run: the row's completed_at is
 * written a moment after the VMA's answer that made it final, and whole
 * seconds are stored.
 */
#define OMA_REOPEN_SLACK 2

/* A failed job continues when its sender starts a new run (a resumed
 * copy: DESIGN §5).  Says whether the VMA's list entry VMA shows such a
 * run in progress, one that started after the OMA made the job final: if
 * so, returns true and sets *RET_NOT_AFTER, the latest completed_at (epoch
 * seconds, from NOW and the VMA's seconds_since_run_start, so no clocks
 * are compared across machines) for which the OMA's row may be reopened.
 * A run that was already going when the row became final (a job judged
 * dead while its VMA still said in_progress) never reopens it.
 */
bool oma_poll_resumed_run (const struct cbt_doc_job *vma, int64_t now,
                           int64_t *ret_not_after);

#endif /* CBTRACK_OMA_POLL_LOGIC_H */
