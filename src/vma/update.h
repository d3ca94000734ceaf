/* cbtrack vma - one progress update, parsed and checked (DESIGN §3).
 *
 * The HTTP body of POST /api/v1/progress/{job}/update becomes a struct
 * vma_update here, before the store is touched: every field is checked
 * for type and range, so that the store only ever sees well-formed
 * values.  The checks that need the stored state (bytes_transferred
 * against a total_bytes sent earlier, limits) are the store's.
 *
 * Field names are those of the original migratekit client, so existing
 * senders work unchanged; unknown fields are ignored, and a field that is
 * absent or null is "not given" (it keeps the stored value).
 */
#ifndef CBTRACK_VMA_UPDATE_H
#define CBTRACK_VMA_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"

/* The longest stage text kept ("Analysis", "Transfer", "Finalize", or any
 * other short label a sender uses).
 */
#define VMA_STAGE_MAX 32

/* Longer error messages are cut (at a UTF-8 character boundary). */
#define VMA_ERROR_MAX 1024

enum vma_status {
  VMA_STATUS_QUEUED,
  VMA_STATUS_IN_PROGRESS,
  VMA_STATUS_COMPLETED,
  VMA_STATUS_FAILED,
};

enum vma_sync_type {
  VMA_SYNC_FULL,
  VMA_SYNC_INCREMENTAL,
};

/* Which fields of a struct vma_update were given. */
enum {
  VMA_HAS_STAGE = 1 << 0,
  VMA_HAS_STATUS = 1 << 1,
  VMA_HAS_SYNC_TYPE = 1 << 2,
  VMA_HAS_BYTES_TRANSFERRED = 1 << 3,
  VMA_HAS_TOTAL_BYTES = 1 << 4,
  VMA_HAS_THROUGHPUT = 1 << 5,
  VMA_HAS_ETA = 1 << 6,
  VMA_HAS_BYTES_WRITTEN = 1 << 7,
  VMA_HAS_BYTES_ZERO_SKIPPED = 1 << 8,
  VMA_HAS_CAPACITY = 1 << 9,
  VMA_HAS_ERROR_MESSAGE = 1 << 10,
};

struct vma_update {
  unsigned has;                 /* VMA_HAS_* bits */
  char disk_id[CBT_ID_MAX + 1]; /* "" for a job-level update */
  char stage[VMA_STAGE_MAX + 1];
  enum vma_status status;
  enum vma_sync_type sync_type;
  uint64_t bytes_transferred;
  uint64_t total_bytes;
  uint64_t throughput_bps;
  double eta_seconds;
  uint64_t bytes_written;
  uint64_t bytes_zero_skipped;
  uint64_t capacity_bytes;
  char *error_message; /* owned; NULL unless VMA_HAS_ERROR_MESSAGE */
};

/* Parses and checks the LEN bytes of BODY.  Returns 0 and fills *RET
 * (release it with vma_update_clear), or -1 with a message recorded
 * (cbt_get_error) that is fit to send back to the client, *RET untouched.
 */
int vma_update_parse (const char *body, size_t len, struct vma_update *ret);

/* Frees what *UPDATE owns.  Accepts NULL. */
void vma_update_clear (struct vma_update *update);

/* Maps a status word to enum vma_status: queued (or pending), in_progress
 * (or running), completed (or complete), failed; case-insensitive, so the
 * "Queued"/"Running"/"Completed" of older senders work.  Returns 0, or -1
 * for any other word.
 */
int vma_status_parse (const char *str, enum vma_status *ret);

/* Maps full, incremental and initial (= full) to enum vma_sync_type,
 * case-insensitive.  Returns 0, or -1 for any other word.
 */
int vma_sync_type_parse (const char *str, enum vma_sync_type *ret);

/* The canonical names: "queued", "in_progress", "completed", "failed";
 * "full", "incremental".
 */
const char *vma_status_name (enum vma_status status);
const char *vma_sync_type_name (enum vma_sync_type sync_type);

#endif /* CBTRACK_VMA_UPDATE_H */
