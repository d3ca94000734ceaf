/* cbtrack vma - jobs as JSON. */
#include "common/progress-model.h"
#include "vma/render.h"

json_t *
vma_render_job (const struct vma_job *job, double now_mono)
{
  struct cbt_progress p;
  json_t *obj;
  size_t i;

  vma_job_progress (job, &p);
  obj = cbt_job_doc_encode (job->id, &p, job->started_wall, job->updated_wall,
                            now_mono - job->updated_mono);
  if (obj == NULL)
    return NULL;
  if (cbt_job_doc_set_cancel (obj, p.status, job->cancel_requested) == -1) {
    json_decref (obj);
    return NULL;
  }
  for (i = 0; i < job->disks.len; i++) {
    const struct vma_disk *disk = &job->disks.ptr[i];

    vma_disk_progress (disk, &p);
    if (cbt_job_doc_add_disk (obj, disk->id, &p, disk->rec.updated_wall,
                              now_mono - disk->rec.updated_mono) == -1) {
      json_decref (obj);
      return NULL;
    }
  }
  return obj;
}
