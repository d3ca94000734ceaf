/* cbtrack vma - jobs as JSON. */
#include "common/progress-model.h"
#include "vma/render.h"

json_t *
vma_render_job (const struct vma_job *job, double now_mono)
{
  struct cbt_progress p;
  json_t *obj;
  size_t i;
  struct cbt_doc_times t = {
    .started_wall = job->started_wall,
    .updated_wall = job->updated_wall,
    .age = now_mono - job->updated_mono,
    .run = job->run,
    .run_age = now_mono - job->run_started_mono,
  };

  vma_job_progress (job, &p);
  obj = cbt_job_doc_encode (job->id, &p, &t);
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
