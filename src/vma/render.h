/* cbtrack vma - jobs as JSON (the GET answers of DESIGN §3). */
#ifndef CBTRACK_VMA_RENDER_H
#define CBTRACK_VMA_RENDER_H

#include <jansson.h>

#include "vma/store.h"

/* Builds the job document of JOB at NOW_MONO (cbt_job_doc_encode, with
 * every disk added by cbt_job_doc_add_disk).  Returns NULL when out of
 * memory.
 */
json_t *vma_render_job (const struct vma_job *job, double now_mono);

#endif /* CBTRACK_VMA_RENDER_H */
