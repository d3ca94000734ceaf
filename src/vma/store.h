/* cbtrack vma - the in-memory job store (DESIGN §3).
 *
 * The store holds every job the service knows, each with up to
 * max_disks disks, and applies updates to them.  It is I/O-free: clocks
 * are passed in (so tests control time), nothing is printed, and it knows
 * nothing of HTTP.  It is thread-safe: every public function takes the
 * store's lock, and the visitor functions call back with the lock held,
 * so a visitor sees one consistent state and must not call back into the
 * store.
 *
 * Aggregation of a job over its disks (vma_job_progress) is the progress
 * model's (common/progress-model.h, cbt_aggregate_*), with the job-level
 * fields on top:
 *   - a job-level status of failed makes the job failed, one of
 *     in_progress makes a job whose disks are all queued in progress;
 *   - stage: the disks' (see cbt_aggregate_finish), else the job-level one;
 *   - sync_type: the job-level one if given, else the disks';
 *   - error_message: the job-level one if not empty, else the first failed
 *     disk's, prefixed by its id when rendered.
 * A job without disks shows its job-level fields as they were sent.
 */
#ifndef CBTRACK_VMA_STORE_H
#define CBTRACK_VMA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"
#include "common/vector.h"
#include "common/progress-model.h"

#define VMA_DEFAULT_MAX_JOBS 100000
#define VMA_DEFAULT_MAX_DISKS 256
#define VMA_DEFAULT_JOB_TTL (24 * 3600.0)
/* A disk (or job) belongs to the sender of its last update for this long
 * after it: five of the copier's 2 s report intervals.
 */
#define VMA_DEFAULT_SENDER_LEASE 10.0
/* The memory the jobs may take, counted as vma_job_bytes (about 110 KiB
 * for a job of 256 disks, 370 KiB with 1 KiB errors on all of them).
 */
#define VMA_DEFAULT_MAX_MEMORY ((size_t)1 << 30)

/* The last known state of one disk, or the job-level state of a job. */
struct vma_record {
  char stage[CBT_STAGE_MAX + 1];
  enum cbt_status status;
  enum cbt_sync_type sync_type;
  unsigned has; /* CBT_HAS_* bits ever given */
  uint64_t bytes_transferred;
  uint64_t resumed_bytes; /* of those, done by earlier runs */
  uint64_t total_bytes;
  uint64_t throughput_bps;
  double eta_seconds; /* valid if has & CBT_HAS_ETA */
  uint64_t bytes_written;
  uint64_t bytes_zero_skipped;
  uint64_t capacity_bytes;
  bool stalled;           /* the sender says it is not moving … */
  double stalled_seconds; /* … since this long (when it said so) */
  char *error_message;    /* NULL when none */
  char change_id[CBT_CHANGE_ID_MAX + 1]; /* the last one given, or "" */
  char warning[CBT_WARNING_MAX + 1];     /* the last one given, or "" */
  double updated_mono;                   /* clocks of the last update */
  char sender_id[CBT_ID_MAX + 1];        /* of the last update; "" if none */
  double updated_wall;
};

struct vma_disk {
  char id[CBT_ID_MAX + 1];
  struct vma_record rec;
};

DEFINE_VECTOR_TYPE (vma_disk_vector, struct vma_disk);

struct vma_job {
  char id[CBT_ID_MAX + 1];
  struct vma_record own; /* from job-level updates */
  vma_disk_vector disks; /* in the order they first appeared */
  /* A cancel was asked for (vma_store_cancel): every answer to an update
   * of the job says "cancel": true, until a new run of the job (an update
   * with new_run once the job is completed or failed: the same command
   * run again) clears it.
   */
  bool cancel_requested;
  double started_wall; /* first update */
  /* The run (CBT_FIELD_RUN): 1, then one more each time an update with
   * new_run restarts a completed or failed record, or a record last
   * reported by another sender, at run_started_mono.
   */
  unsigned run;
  double run_started_mono;
  double updated_mono; /* last update of the job or any disk */
  double updated_wall;
  uint64_t changed; /* the store's change counter at its last update */
  struct vma_job *hash_next; /* the store's private links */
  struct vma_job *newer, *older;
};

struct vma_store_limits {
  size_t max_jobs;     /* 0: VMA_DEFAULT_MAX_JOBS */
  size_t max_disks;    /* per job; 0: VMA_DEFAULT_MAX_DISKS */
  double job_ttl;      /* seconds; 0: VMA_DEFAULT_JOB_TTL */
  double sender_lease; /* seconds; 0: VMA_DEFAULT_SENDER_LEASE */
  size_t max_memory;   /* bytes; 0: VMA_DEFAULT_MAX_MEMORY */
};

struct vma_store_stats {
  size_t jobs;
  size_t disks;
  uint64_t updates; /* updates applied */
  uint64_t jobs_created;
  uint64_t jobs_expired;
  uint64_t jobs_deleted;
  size_t bytes; /* the jobs' memory, as vma_job_bytes counts it */
};

/* The most jobs one page of the list holds ("?limit="). */
#define VMA_LIST_MAX_LIMIT 10000

/* What GET /api/v1/progress asks for (its query arguments). */
struct vma_list_query {
  size_t limit;               /* 0: every job, else one page of them */
  char after[CBT_ID_MAX + 1]; /* "": from the first; else ids above it */
  bool has_status;            /* only jobs of STATUS */
  enum cbt_status status;     /* (aggregated over the job's disks) */
  uint64_t since;             /* only jobs changed after this version */
};

/* Parses the list's query arguments LIMIT (1 to VMA_LIST_MAX_LIMIT),
 * AFTER (a job id), STATUS (a status word of the progress model) and
 * SINCE (a version, a decimal number), each NULL when absent.  Returns 0
 * and fills *RET, or -1 with a message recorded (*RET untouched).  I/O
 * free.
 */
int vma_list_query_parse (const char *limit, const char *after,
                          const char *status, const char *since,
                          struct vma_list_query *ret);

struct vma_store;

/* Creates an empty store with LIMITS (NULL: all defaults).  Returns NULL
 * with a message recorded when out of memory.
 */
struct vma_store *vma_store_create (const struct vma_store_limits *limits);

/* Frees the store and every job.  Accepts NULL. */
void vma_store_free (struct vma_store *store);

/* Applies UPDATE to job JOB_ID (created when unknown) at the clocks
 * NOW_MONO and NOW_WALL: job-level when UPDATE->disk_id is "", else to
 * that disk (created when unknown).  Fields not given keep their values.
 * Returns 0, or a negative errno with a message recorded and the store
 * unchanged:
 *   -EINVAL  bytes_transferred would exceed total_bytes, or bad JOB_ID;
 *   -E2BIG   the job already has max_disks disks;
 *   -ENOSPC  the store already holds max_jobs jobs, or the update would
 *            take the jobs' memory over max_memory;
 *   -EBUSY   another sender owns the record: the record is queued or in
 *            progress and its last update
 *            came from another sender_id less than sender_lease ago
 *            (updates without a sender_id are never refused for this);
 *   -EALREADY the record is completed or failed and UPDATE would change
 *            it without starting a new run (new_run); an update that
 *            repeats the final status is accepted and changes nothing;
 *   -ENOMEM  out of memory.
 * An update with new_run starts the record afresh: fields it does not
 * give are zero, not kept.
 */
int vma_store_apply_update (struct vma_store *store, const char *job_id,
                            const struct cbt_update *update, double now_mono,
                            double now_wall);

/* What one update did to its job's aggregated state, for the log. */
struct vma_transition {
  bool created;           /* the update created the job */
  bool changed;           /* the job's status changed (or it is new) */
  enum cbt_status before; /* meaningful when !created */
  enum cbt_status after;
  uint64_t bytes_transferred; /* the job's, after the update */
  uint64_t total_bytes;
  double elapsed_seconds;          /* wall time since the job's first update */
  char error_message[512];         /* the job's (cut), when after is failed */
  char error_disk[CBT_ID_MAX + 1]; /* the disk it came from, or "" */
  bool cancel; /* a cancel is requested: the answer asks the sender to stop */
};

/* As vma_store_apply_update, and on success fills *RET_TRANSITION (under
 * the same lock, so each change of state is reported by exactly one
 * update).
 */
int vma_store_apply_update_noting (struct vma_store *store, const char *job_id,
                                   const struct cbt_update *update,
                                   double now_mono, double now_wall,
                                   struct vma_transition *ret_transition);

/* Asks job JOB_ID to stop (see vma_job.cancel_requested).  Returns 0
 * (also when it was asked already), -ENOENT when there is no such job, or
 * -EALREADY when the job is completed or failed (nothing is changed), each
 * with a message recorded.
 */
int vma_store_cancel (struct vma_store *store, const char *job_id);

/* Forgets job JOB_ID.  Returns 0, or -ENOENT. */
int vma_store_delete (struct vma_store *store, const char *job_id);

/* Forgets the finished jobs (completed or failed) that had no update for
 * job_ttl seconds at NOW_MONO.  Returns how many.
 */
size_t vma_store_expire (struct vma_store *store, double now_mono);

/* Calls FN (JOB, OPAQUE) for job JOB_ID with the lock held and returns
 * FN's result, or -ENOENT when there is no such job.
 */
int vma_store_visit_job (struct vma_store *store, const char *job_id,
                         int (*fn) (const struct vma_job *job, void *opaque),
                         void *opaque);

/* Calls FN for every job, newest first, with the lock held; stops at and
 * returns the first non-zero result of FN, else returns 0.  STATS (if not
 * NULL) is filled under the same lock.
 */
int vma_store_visit_all (struct vma_store *store,
                         int (*fn) (const struct vma_job *job, void *opaque),
                         void *opaque, struct vma_store_stats *stats);

/* A copy of every job, newest first, taken under the lock so that it can
 * be rendered without it (the list of all jobs can be large).  Returns 0
 * with *RET_JOBS (an array of *RET_N jobs; release with
 * vma_store_snapshot_free), or -ENOMEM.
 */
int vma_store_snapshot (struct vma_store *store, struct vma_job **ret_jobs,
                        size_t *ret_n);

/* Frees a snapshot of N jobs.  Accepts NULL. */
void vma_store_snapshot_free (struct vma_job *jobs, size_t n);

/* Like vma_store_snapshot, for the jobs QUERY selects: those changed
 * after QUERY->since (every update of a job counts, and deleted or
 * expired jobs are not reported), of QUERY->status when it has one; by
 * id above QUERY->after, at most QUERY->limit of them, when either is
 * set (a page), else newest first.  *RET_VERSION is the store's change
 * counter as the copy was taken, *RET_MORE whether the page left jobs
 * out.  Only the matching jobs are copied under the lock.
 */
int vma_store_snapshot_query (struct vma_store *store,
                              const struct vma_list_query *query,
                              struct vma_job **ret_jobs, size_t *ret_n,
                              uint64_t *ret_version, bool *ret_more);

/* The memory JOB takes: the job, its disks and its error messages. */
size_t vma_job_bytes (const struct vma_job *job);

/* Fills *RET with the store's counters. */
void vma_store_get_stats (struct vma_store *store,
                          struct vma_store_stats *ret);

/* The aggregated state of JOB, as described at the top of this file. */
void vma_job_progress (const struct vma_job *job, struct cbt_progress *ret);

/* The state of one disk, with percent and eta derived the same way. */
void vma_disk_progress (const struct vma_disk *disk, struct cbt_progress *ret);

#endif /* CBTRACK_VMA_STORE_H */
