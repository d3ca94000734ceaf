/* cbtrack vma - jobs as JSON (the GET answers of DESIGN §3). */
#ifndef CBTRACK_VMA_RENDER_H
#define CBTRACK_VMA_RENDER_H

#include <jansson.h>

#include "vma/store.h"

/* Builds the JSON object of JOB at NOW_MONO: job_id, stage, status,
 * sync_type, bytes_transferred, total_bytes, percent, throughput_bps,
 * eta_seconds (null when unknown), started_at, updated_at,
 * seconds_since_update, error_message, and disks[] with the per-disk
 * fields (disk_id, the same progress fields, bytes_written,
 * bytes_zero_skipped, capacity_bytes, updated_at, seconds_since_update,
 * error_message).  Returns NULL when out of memory.
 */
json_t *vma_render_job (const struct vma_job *job, double now_mono);

#endif /* CBTRACK_VMA_RENDER_H */
