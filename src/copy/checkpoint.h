/* cbtrack copy - checkpoints: which parts of a disk's plan are done.
 *
 * A copy records, every report interval, the ranges of its plan that are
 * done and that the target has flushed, so that the same command run
 * again after a crash, a kill or a failure moves only what is left
 * (DESIGN §5).  A checkpoint is trusted only for the copy it was made
 * for: the same source (name and size), the same plan (a hash of its
 * extents and actions), the same target (name and size, and for a file
 * its device and inode), the same sync type and the same bitmap,
 * changed-area list and changeId.  Anything else is refused.
 *
 * The done-set is a sorted list of disjoint, non-touching ranges of disk
 * offsets.  The copier adds a piece when its last write completed, and
 * the ranges its cursor passed over without work (left alone, or already
 * done), so the set stays a few ranges long: [0, the oldest piece still
 * in flight) and the pieces that completed out of order after it.
 *
 * The first part of this header is free of I/O (checkpoint.c, unit
 * tested); checkpoint_load, checkpoint_save and checkpoint_remove
 * (checkpoint-file.c) read and write the state directory.
 */
#ifndef CBTRACK_COPY_CHECKPOINT_H
#define CBTRACK_COPY_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/progress-model.h"
#include "common/vector.h"
#include "copy/plan.h"

/* One done range [start, end) of disk offsets. */
struct ckpt_range {
  uint64_t start;
  uint64_t end;
};
DEFINE_VECTOR_TYPE (ckpt_range_vector, struct ckpt_range);

/* Adds [START, END) to the done-set SET, merging it with the ranges it
 * overlaps or touches, so SET stays sorted, disjoint and non-touching.
 * An empty range changes nothing.  Returns 0, or -1 with an error
 * recorded (out of memory) and SET unchanged.
 */
int checkpoint_done_add (ckpt_range_vector *set, uint64_t start, uint64_t end);

/* Replaces *RET (reset first) with a copy of SET.  Returns 0, or -1 with
 * an error recorded and *RET unchanged.
 */
int checkpoint_done_copy (const ckpt_range_vector *set,
                          ckpt_range_vector *ret);

/* The PLAN_COPY bytes of PLAN that lie inside SET (the bytes a resumed
 * copy has done already).
 */
uint64_t checkpoint_done_copy_bytes (const ckpt_range_vector *set,
                                     const struct plan *plan);

/* True when SET covers every range of PLAN that has work to do
 * (PLAN_COPY, and PLAN_MAKE_ZERO unless TARGET_IS_ZERO).
 */
bool checkpoint_done_covers_plan (const ckpt_range_vector *set,
                                  const struct plan *plan,
                                  bool target_is_zero);

/* What a checkpoint belongs to.  Strings are owned (malloc'd) in a
 * decoded checkpoint, borrowed in one the caller builds; "" for "none".
 */
struct ckpt_identity {
  const char *source;
  uint64_t source_size;
  const char *target;
  uint64_t target_size;
  char target_file[48]; /* the target's rw identity ("DEV:INO"), or "" */
  enum cbt_sync_type sync_type;
  const char *bitmap;             /* --bitmap NAME, or "" */
  const char *changed_areas_hash; /* hash of the --changed-areas file, or "" */
  const char *change_id;          /* VMware changeId, or "" */
  char plan_hash[33];             /* checkpoint_plan_hash */
  uint64_t total_bytes;           /* the plan's transfer_bytes */
};

/* A checkpoint: the identity, and what is done. */
struct checkpoint {
  struct ckpt_identity id;
  const char *job_id;  /* for readers of the file only, or "" */
  const char *disk_id; /* for readers of the file only, or "" */
  bool target_is_zero; /* the first run knew the target read as zero */
  bool completed;      /* the disk was completed (flushed) */
  uint64_t done_bytes; /* checkpoint_done_copy_bytes of done */
  ckpt_range_vector done;
  bool owned; /* strings are malloc'd (decoded): checkpoint_clear frees */
};

/* Fills RET (33 bytes) with the hexadecimal identity hash of PLAN: its
 * capacity and every entry's offset, length and action.
 */
void checkpoint_plan_hash (const struct plan *plan, char ret[33]);

/* Fills RET (33 bytes) with the hexadecimal hash of the LEN bytes at
 * DATA (used for changed-area lists and checkpoint file names).
 */
void checkpoint_text_hash (const void *data, size_t len, char ret[33]);

/* Compares the identity SAVED (from a checkpoint file) with NOW (this
 * copy).  Returns NULL when they match, else a short phrase naming the
 * first difference ("another source", "another plan", …).
 */
const char *checkpoint_mismatch (const struct ckpt_identity *saved,
                                 const struct ckpt_identity *now);

/* Encodes CP as a JSON document (one line, newline-terminated).
 * Returns a malloc'd string, or NULL when out of memory.
 */
char *checkpoint_encode (const struct checkpoint *cp);

/* Decodes the LEN bytes of TEXT into *RET (release with
 * checkpoint_clear).  The done ranges must be sorted, disjoint and inside
 * the source.  Returns 0, or -1 with an error recorded and *RET
 * untouched.
 */
int checkpoint_decode (const char *text, size_t len, struct checkpoint *ret);

/* Frees what CP owns.  Accepts NULL. */
void checkpoint_clear (struct checkpoint *cp);

/* The file name (no directory) of the checkpoint of disk DISK_ID of job
 * JOB_ID: "JOB--DISK.checkpoint".  Without a job id it is
 * "copy-HASH.checkpoint", HASH being 16 hex digits of a hash of SOURCE
 * and TARGET; without a disk id, "JOB--HASH.checkpoint".  Ids are valid
 * ids (common/ids.h).  Writes at most LEN bytes into BUF; returns BUF.
 */
const char *checkpoint_file_name (const char *job_id, const char *disk_id,
                                  const char *source, const char *target,
                                  char *buf, size_t len);

/* The state directory when --state-dir is not given: $XDG_STATE_HOME/
 * cbtrack when XDG_STATE_HOME is set (and absolute), else /var/lib/cbtrack
 * for root, else $HOME/.local/state/cbtrack.  Writes at most LEN bytes
 * into BUF.  Returns 0, or -1 with an error recorded when none can be
 * named (no HOME).
 */
int checkpoint_default_dir (char *buf, size_t len);

/* ---- I/O (checkpoint-file.c) ---- */

/* Creates DIR (and its parents, mode 0700) if it does not exist and checks
 * that it is a writable directory.  Returns 0, or -1 with an error
 * recorded.
 */
int checkpoint_prepare_dir (const char *dir);

/* Reads the checkpoint at PATH into *RET.  Returns 1 when one was read,
 * 0 when there is none (*RET untouched), or -1 with an error recorded
 * (unreadable or malformed).
 */
int checkpoint_load (const char *path, struct checkpoint *ret);

/* Writes CP to PATH atomically and durably: a temporary file in the same
 * directory, fsync, rename over PATH, fsync of the directory.  Returns 0,
 * or -1 with an error recorded (PATH then holds the previous checkpoint,
 * or none).
 */
int checkpoint_save (const char *path, const struct checkpoint *cp);

/* Removes the checkpoint at PATH (none is fine) and makes the removal
 * durable.  Returns 0, or -1 with an error recorded.
 */
int checkpoint_remove (const char *path);

#endif /* CBTRACK_COPY_CHECKPOINT_H */
