/* cbtrack vma - jobs as JSON. */
#include <math.h>
#include <stdio.h>

#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "vma/render.h"

static json_t *
vma_render_uint (uint64_t v)
{
  /* The store keeps every count and sum at or below INT64_MAX. */
  return json_integer ((json_int_t)v);
}

static json_t *
vma_render_utc (double wall)
{
  char buf[32];

  return json_string (cbt_format_utc (wall, buf, sizeof buf));
}

static json_t *
vma_render_age (double now_mono, double then_mono)
{
  double age = now_mono - then_mono;

  return json_integer (age > 0 ? (json_int_t)floor (age) : 0);
}

/* The progress fields shared by jobs and disks, in the documented order. */
static void
vma_render_progress (json_t *obj, const struct vma_progress *p, int *failed)
{
  cbt_json_set_counted (obj, "stage", json_string (p->stage), failed);
  cbt_json_set_counted (obj, "status",
                        json_string (vma_status_name (p->status)), failed);
  cbt_json_set_counted (obj, "sync_type",
                        json_string (vma_sync_type_name (p->sync_type)),
                        failed);
  cbt_json_set_counted (obj, "bytes_transferred",
                        vma_render_uint (p->bytes_transferred), failed);
  cbt_json_set_counted (obj, "total_bytes", vma_render_uint (p->total_bytes),
                        failed);
  cbt_json_set_counted (obj, "percent", json_real (p->percent), failed);
  cbt_json_set_counted (obj, "throughput_bps",
                        vma_render_uint (p->throughput_bps), failed);
  cbt_json_set_counted (
      obj, "eta_seconds",
      p->has_eta ? json_integer ((json_int_t)llround (p->eta_seconds))
                 : json_null (),
      failed);
}

static json_t *
vma_render_disk (const struct vma_disk *disk, double now_mono)
{
  const struct vma_record *r = &disk->rec;
  struct vma_progress p;
  json_t *obj = json_object ();
  int failed = 0;

  if (obj == NULL)
    return NULL;
  vma_disk_progress (disk, &p);
  cbt_json_set_counted (obj, "disk_id", json_string (disk->id), &failed);
  vma_render_progress (obj, &p, &failed);
  cbt_json_set_counted (obj, "bytes_written",
                        vma_render_uint (r->bytes_written), &failed);
  cbt_json_set_counted (obj, "bytes_zero_skipped",
                        vma_render_uint (r->bytes_zero_skipped), &failed);
  cbt_json_set_counted (obj, "capacity_bytes",
                        vma_render_uint (r->capacity_bytes), &failed);
  cbt_json_set_counted (obj, "updated_at", vma_render_utc (r->updated_wall),
                        &failed);
  cbt_json_set_counted (obj, "seconds_since_update",
                        vma_render_age (now_mono, r->updated_mono), &failed);
  cbt_json_set_counted (obj, "error_message",
                        json_string (p.error_message ? p.error_message : ""),
                        &failed);
  if (failed) {
    json_decref (obj);
    return NULL;
  }
  return obj;
}

json_t *
vma_render_job (const struct vma_job *job, double now_mono)
{
  struct vma_progress p;
  json_t *obj = json_object (), *disks = json_array (), *error;
  int failed = 0;
  size_t i;

  if (obj == NULL || disks == NULL)
    goto oom;
  vma_job_progress (job, &p);
  cbt_json_set_counted (obj, "job_id", json_string (job->id), &failed);
  vma_render_progress (obj, &p, &failed);
  cbt_json_set_counted (obj, "started_at", vma_render_utc (job->started_wall),
                        &failed);
  cbt_json_set_counted (obj, "updated_at", vma_render_utc (job->updated_wall),
                        &failed);
  cbt_json_set_counted (obj, "seconds_since_update",
                        vma_render_age (now_mono, job->updated_mono), &failed);
  if (p.error_message == NULL)
    error = json_string ("");
  else if (p.error_disk != NULL)
    error = json_sprintf ("disk %s: %s", p.error_disk, p.error_message);
  else
    error = json_string (p.error_message);
  cbt_json_set_counted (obj, "error_message", error, &failed);
  for (i = 0; i < job->disks.len; i++)
    if (json_array_append_new (
            disks, vma_render_disk (&job->disks.ptr[i], now_mono)) == -1)
      failed++;
  cbt_json_set_counted (obj, "disks", disks, &failed);
  disks = NULL;
  if (failed)
    goto oom;
  return obj;

oom:
  json_decref (disks);
  json_decref (obj);
  return NULL;
}
