/* cbtrack copy - one disk of a job, from analysis to the final flush.
 *
 * A disk is analysed first (source opened, maps read, plan built, target
 * opened and checked), which fixes its total; then transferred (copied,
 * flushed, completed).  A job of several disks analyses all of them before
 * any transfers, so the job's total is known from the start.
 */
#ifndef CBTRACK_COPY_DISK_H
#define CBTRACK_COPY_DISK_H

#include <stdbool.h>
#include <stdint.h>

#include "copy/checkpoint.h"
#include "copy/copier.h"
#include "copy/plan.h"
#include "copy/progress.h"
#include "copy/rw.h"

/* What the user asked for one disk. */
struct disk_spec {
  const char *id; /* disk id for reports, or NULL */
  const char *source;
  /* NULL, or the NBD server to run for the source ("[ CMD ARGS ]",
   * socket activation); SOURCE is then its name in messages.
   */
  char **source_command;
  const char *target;
  const char *bitmap;        /* --bitmap NAME, or NULL */
  const char *changed_areas; /* --changed-areas FILE, or NULL */
  bool target_is_zero;
  /* vSphere (src/vsphere/copy-source.h), owned by the caller: */
  const map_extent_vector *changed_ranges;   /* incremental: these */
  const map_extent_vector *allocated_ranges; /* full: of these alone */
  uint64_t expected_size; /* the vSphere disk's capacity; 0: unchecked */
  const char *change_id;  /* the disk's changeId once copied, or NULL */
  const char *warning;    /* reported with every update, or NULL */
  long long vsphere_key;  /* manifest "disk_key", or -1 */
  const char *since;      /* manifest "since", or NULL */
};

struct disk {
  struct disk_spec spec;
  struct rw *src, *dst;
  struct plan plan;
  struct progress progress;
  unsigned workers;

  /* The checkpoint (checkpoint.h), when one is kept: its file, the one
   * read at the start (RESUMING), this copy's identity and the done-set.
   */
  char *ckpt_path; /* NULL: no checkpoint kept */
  const char *job_id;
  bool resuming;
  struct checkpoint saved;
  struct ckpt_identity ident;
  char changed_areas_hash[33];
  bool target_is_zero; /* as the copier runs it */
  struct copier_done done;
};

/* Initialises D for SPEC (strings must outlive D), at stage Analysis. */
void disk_init (struct disk *d, const struct disk_spec *spec);

/* Names the checkpoint of D, in STATE_DIR, for the job JOB_ID (NULL when
 * there is none), and reads it unless RESTART, which removes it.  A
 * checkpoint that is found presets the progress: stage Resume, the total
 * and the bytes it says are done, so that the first update a rerun sends
 * already shows the copy where it stopped; disk_analyse checks it against
 * this copy.  Returns 0, or -1 with an error recorded and the progress
 * marked failed (an unreadable checkpoint, an unusable state directory).
 */
int disk_checkpoint_open (struct disk *d, const char *state_dir,
                          const char *job_id, bool restart);

/* Writes the checkpoint of a disk whose transfer stopped without
 * completing (a failure, or an interruption that stops the copy the same
 * way): once the copier has returned, with every request drained, the
 * target is flushed and the done-set written.  When requests were
 * abandoned in flight, or the flush fails, the last checkpoint stays as
 * it was (it claims only data flushed before).  disk_transfer calls it
 * on every failure of the copy; it is a no-op without a checkpoint.
 * Returns 0, or -1 with an error recorded.
 */
int disk_checkpoint_stopped (struct disk *d);

/* Removes the checkpoint of a disk (the whole job completed).  Returns 0,
 * or -1 with an error recorded.
 */
int disk_checkpoint_remove (struct disk *d);

/* Opens the source, reads its maps and builds the plan, then opens and
 * checks the target: nothing is written anywhere before the plan is
 * complete and valid.  Fixes the progress total.  Returns 0, or -1 with
 * an error recorded and the progress marked failed.
 */
int disk_analyse (struct disk *d);

/* The first half of disk_analyse: the plan, without opening the target
 * (for `cbtrack plan`).  Returns 0, or -1 with an error recorded.
 */
int disk_analyse_source_only (struct disk *d);

/* Copies, flushes and completes an analysed disk.  Returns 0, or -1 with
 * an error recorded and the progress marked failed.
 */
int disk_transfer (struct disk *d, const struct copier_options *opts);

/* What became of one disk, as the summary line reports it. */
struct disk_result {
  enum cbt_status status; /* completed, or failed */
  char error[512];        /* unless completed: why not, else "" */
  bool incremental;       /* an incremental plan */
  bool have_allocation;   /* the source had an allocation map */
  uint64_t capacity_bytes;
  uint64_t dirty_bytes; /* incremental: changed (dirty) bytes */
  uint64_t hole_bytes;
  uint64_t zero_bytes;
  uint64_t bytes_transferred;
  uint64_t resumed_bytes; /* of those, done before a restart */
  uint64_t bytes_written;
  uint64_t bytes_zero_skipped;
  uint64_t bytes_zeroed;
  double elapsed_seconds;
};

/* Fills *RET with the state of D now (normally after its transfer ended,
 * when no other thread changes it any more).
 */
void disk_get_result (struct disk *d, struct disk_result *ret);

/* Closes the endpoints and frees what D holds.  Accepts NULL. */
void disk_free (struct disk *d);

#endif /* CBTRACK_COPY_DISK_H */
