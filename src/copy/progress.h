/* cbtrack copy - progress accounting (I/O-free).
 *
 * The numbers of DESIGN §1: total_bytes is fixed by the plan before the
 * first byte moves; bytes_transferred counts planned bytes whose read and
 * write (or zero-skip) have completed; it never decreases, never exceeds
 * the total, and reaches it only when the disk completes after the final
 * flush.  Throughput is smoothed over a window of about 10 s of completed
 * bytes and is never invented before there is data.
 *
 * Workers call progress_account_* from any thread (lock-free atomics);
 * snapshots may be taken from any thread (the rate window has a lock).
 */
#ifndef CBTRACK_COPY_PROGRESS_H
#define CBTRACK_COPY_PROGRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/progress-model.h"

#define PROGRESS_WINDOW_SECONDS 10.0
#define PROGRESS_SAMPLES 128

struct progress_sample {
  double t;
  uint64_t bytes;
};

struct progress {
  /* Set once by progress_set_plan, before the transfer starts. */
  bool incremental;
  bool have_total;
  uint64_t total_bytes;
  uint64_t capacity_bytes;
  uint64_t hole_bytes;
  uint64_t zero_bytes;
  double start_time;
  double queued_since;   /* when it became queued, else 0 */
  uint64_t resumed;      /* bytes done before a restart (checkpoint) */
  const char *change_id; /* VMware CBT: the changeId once completed, or
                            NULL; set before any thread reads it */
  const char *warning;   /* reported with every update, or NULL; set
                            likewise */

  /* Updated by the workers. */
  _Atomic uint64_t done;         /* planned bytes completed */
  _Atomic uint64_t written;      /* data bytes written to the target */
  _Atomic uint64_t zero_skipped; /* zero blocks found inside data */
  _Atomic uint64_t zeroed;       /* zero/hole ranges made zero */
  _Atomic int stage;
  _Atomic int status;

  /* The rate window: a ring of (time, done) samples. */
  pthread_mutex_t lock;
  struct progress_sample samples[PROGRESS_SAMPLES];
  unsigned first, count;
  double end_time; /* when completed/failed, else 0 */
  char error[512];
};

/* One consistent view of a progress, as every output reports it. */
struct progress_snapshot {
  enum cbt_stage stage;
  enum cbt_status status;
  bool incremental;
  uint64_t bytes_transferred;
  uint64_t resumed_bytes; /* of those, done before a restart */
  uint64_t total_bytes;
  double percent;        /* by cbt_percent: 100 only when completed */
  double throughput_bps; /* 0 when not yet known */
  double eta_seconds;    /* by cbt_eta; < 0 when not known */
  uint64_t bytes_written;
  uint64_t bytes_zero_skipped;
  uint64_t bytes_zeroed;
  uint64_t capacity_bytes;
  uint64_t hole_bytes;
  uint64_t zero_bytes;
  double elapsed_seconds;
  const char *error_message; /* "" unless failed; valid while progress is */
  bool stalled;              /* set by the ticker (cbt_stall_check), not by
                                progress_snapshot */
  double stalled_seconds;    /* when stalled: since how long */
  const char *change_id;     /* progress.change_id */
  const char *warning;       /* progress.warning */
};

/* Initialises P at time NOW, in stage Analysis, status in_progress. */
void progress_init (struct progress *p, bool incremental, double now);

/* Releases what P holds.  Accepts NULL. */
void progress_destroy (struct progress *p);

/* Presets a copy resumed from a checkpoint, before its analysis: the
 * total TOTAL_BYTES and RESUMED bytes already done, at stage Resume, so
 * that the first update shows where the copy stopped.  Throughput and
 * ETA count only the bytes that move after it.
 */
void progress_set_resumed (struct progress *p, uint64_t total_bytes,
                           uint64_t resumed);

/* Fixes the totals from the plan.  Call before any accounting; after
 * progress_set_resumed, TOTAL_BYTES must be the same.
 */
void progress_set_plan (struct progress *p, uint64_t total_bytes,
                        uint64_t capacity_bytes, uint64_t hole_bytes,
                        uint64_t zero_bytes);

/* Moves to STAGE (stages only go forward; a step back is ignored). */
void progress_set_stage (struct progress *p, enum cbt_stage stage);

/* Records that BYTES planned bytes have completed, of which WRITTEN were
 * sent as data and ZERO_SKIPPED were zero blocks found inside the data.
 */
void progress_account_done (struct progress *p, uint64_t bytes,
                            uint64_t written, uint64_t zero_skipped);

/* Records BYTES of zero/hole ranges made zero on the target. */
void progress_account_zeroed (struct progress *p, uint64_t bytes);

/* Marks the disk completed at time NOW (call after the final flush). */
void progress_complete (struct progress *p, double now);

/* Marks the disk failed at time NOW with MESSAGE (first failure wins). */
void progress_fail (struct progress *p, double now, const char *message);

/* Takes a snapshot at time NOW into *RET, and records a rate sample. */
void progress_snapshot (struct progress *p, double now,
                        struct progress_snapshot *ret);

/* Marks an analysed disk as waiting for its turn (status queued) at time
 * NOW.  progress_start_transfer makes it in_progress again; the time spent
 * queued does not count in its elapsed time.
 */
void progress_set_queued (struct progress *p, double now);

/* Moves to CBT_STAGE_TRANSFER at time NOW (in_progress if it was queued). */
void progress_start_transfer (struct progress *p, double now);

/* Aggregates the snapshots of the N disks of a job into *RET by the
 * progress model's rule (cbt_aggregate_finish); the stage of a job whose
 * disks name none is Analysis.  N = 0 gives an empty, in_progress
 * snapshot in stage Analysis.
 */
void progress_aggregate (const struct progress_snapshot *disks, size_t n,
                         struct progress_snapshot *ret);

/* Fills *RET with the model's view of snapshot S (texts point into S and
 * the model's static names).
 */
void progress_snapshot_to_model (const struct progress_snapshot *s,
                                 struct cbt_progress *ret);

#endif /* CBTRACK_COPY_PROGRESS_H */
