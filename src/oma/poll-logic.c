/* cbtrack oma - what the poller decides, free of I/O. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/ids.h"
#include "oma/poll-logic.h"

/* Reads KEY of OBJ as a non-negative number into *RET (0 when absent or
 * null).  Returns 0, or -1 with a message.
 */
static int
vma_get_number (const json_t *obj, const char *key, double *ret)
{
  const json_t *v = json_object_get (obj, key);
  double d;

  if (v == NULL || json_is_null (v)) {
    *ret = 0;
    return 0;
  }
  if (!json_is_number (v)) {
    cbt_set_error ("the VMA's '%s' is not a number", key);
    return -1;
  }
  d = json_number_value (v);
  if (!(d >= 0) || d > 9.2e18) {
    cbt_set_error ("the VMA's '%s' is out of range", key);
    return -1;
  }
  *ret = d;
  return 0;
}

static int
vma_get_int (const json_t *obj, const char *key, int64_t *ret)
{
  double d;

  if (vma_get_number (obj, key, &d) == -1)
    return -1;
  *ret = (int64_t)llround (d);
  return 0;
}

/* Copies string KEY of OBJ into DST (cut to fit); "" when absent. */
static int
vma_get_text (const json_t *obj, const char *key, char *dst, size_t size)
{
  const json_t *v = json_object_get (obj, key);

  if (v == NULL || json_is_null (v)) {
    dst[0] = '\0';
    return 0;
  }
  if (!json_is_string (v)) {
    cbt_set_error ("the VMA's '%s' is not a string", key);
    return -1;
  }
  oma_copy_text (dst, size, json_string_value (v));
  return 0;
}

static int
vma_parse_disk (const json_t *obj, struct oma_vma_disk *d)
{
  memset (d, 0, sizeof *d);
  if (!json_is_object (obj)) {
    cbt_set_error ("a disk of the VMA's job is not an object");
    return -1;
  }
  if (vma_get_text (obj, "disk_id", d->disk_id, sizeof d->disk_id) == -1 ||
      vma_get_text (obj, "status", d->status, sizeof d->status) == -1 ||
      vma_get_int (obj, "bytes_transferred", &d->bytes_transferred) == -1 ||
      vma_get_int (obj, "total_bytes", &d->total_bytes) == -1 ||
      vma_get_int (obj, "capacity_bytes", &d->capacity_bytes) == -1)
    return -1;
  if (!cbt_id_is_valid (d->disk_id)) {
    cbt_set_error ("the VMA sent an invalid disk id");
    return -1;
  }
  if (d->bytes_transferred > d->total_bytes)
    d->bytes_transferred = d->total_bytes;
  return 0;
}

/* Parses one job object OBJ (its disks too unless WITH_DISKS is false). */
static int
vma_parse_job (const json_t *obj, bool with_disks, struct oma_vma_job *ret_job)
{
  struct oma_vma_job job;
  const json_t *disks, *v, *eta;
  struct oma_vma_disk d;
  size_t i;

  memset (&job, 0, sizeof job);
  if (!json_is_object (obj)) {
    cbt_set_error ("the VMA's job is not a JSON object");
    return -1;
  }
  if (vma_get_text (obj, "job_id", job.job_id, sizeof job.job_id) == -1 ||
      vma_get_text (obj, "stage", job.stage, sizeof job.stage) == -1 ||
      vma_get_text (obj, "status", job.status, sizeof job.status) == -1 ||
      vma_get_text (obj, "sync_type", job.sync_type, sizeof job.sync_type) ==
          -1 ||
      vma_get_text (obj, "vm_name", job.vm_name, sizeof job.vm_name) == -1 ||
      vma_get_text (obj, "error_message", job.error_message,
                    sizeof job.error_message) == -1 ||
      vma_get_int (obj, "bytes_transferred", &job.bytes_transferred) == -1 ||
      vma_get_int (obj, "total_bytes", &job.total_bytes) == -1 ||
      vma_get_int (obj, "throughput_bps", &job.throughput_bps) == -1 ||
      vma_get_number (obj, "seconds_since_update",
                      &job.seconds_since_update) == -1)
    return -1;
  if (!cbt_id_is_valid (job.job_id)) {
    cbt_set_error ("the VMA sent an invalid job id");
    return -1;
  }
  eta = json_object_get (obj, "eta_seconds");
  job.eta_seconds = -1;
  if (eta && !json_is_null (eta) &&
      vma_get_int (obj, "eta_seconds", &job.eta_seconds) == -1)
    return -1;
  if (job.bytes_transferred > job.total_bytes)
    job.bytes_transferred = job.total_bytes;

  disks = with_disks ? json_object_get (obj, "disks") : NULL;
  if (disks && !json_is_null (disks)) {
    if (!json_is_array (disks)) {
      cbt_set_error ("the VMA's 'disks' is not an array");
      return -1;
    }
    json_array_foreach (disks, i, v)
    {
      if (vma_parse_disk (v, &d) == -1 ||
          oma_vma_disk_vector_append (&job.disks, d) == -1) {
        if (errno == ENOMEM)
          cbt_set_error_errno (errno, "parse the VMA's job");
        oma_vma_job_reset (&job);
        return -1;
      }
    }
  }
  *ret_job = job;
  return 0;
}

int
oma_vma_job_parse (const char *body, size_t len, struct oma_vma_job *ret_job)
{
  json_error_t err;
  json_t *root;
  int r;

  root = json_loadb (body, len, 0, &err);
  if (root == NULL) {
    cbt_set_error ("the VMA's answer is not JSON: %s", err.text);
    return -1;
  }
  errno = 0;
  r = vma_parse_job (root, true, ret_job);
  json_decref (root);
  return r;
}

int
oma_vma_list_parse (const char *body, size_t len, oma_vma_job_vector *ret_jobs)
{
  json_error_t err;
  json_t *root, *list, *v;
  struct oma_vma_job job;
  size_t i;
  int r = -1;

  root = json_loadb (body, len, 0, &err);
  if (root == NULL) {
    cbt_set_error ("the VMA's job list is not JSON: %s", err.text);
    return -1;
  }
  list = json_is_object (root) ? json_object_get (root, "jobs") : root;
  if (!json_is_array (list)) {
    cbt_set_error ("the VMA's job list is not an array");
    goto out;
  }
  json_array_foreach (list, i, v)
  {
    if (vma_parse_job (v, false, &job) == -1)
      continue;
    if (oma_vma_job_vector_append (ret_jobs, job) == -1) {
      cbt_set_error_errno (errno, "parse the VMA's job list");
      oma_vma_job_reset (&job);
      goto out;
    }
  }
  r = 0;
out:
  json_decref (root);
  return r;
}

void
oma_vma_job_reset (struct oma_vma_job *job)
{
  if (job)
    oma_vma_disk_vector_reset (&job->disks);
}

void
oma_vma_job_vector_free (oma_vma_job_vector *jobs)
{
  size_t i;

  if (jobs == NULL)
    return;
  for (i = 0; i < jobs->len; i++)
    oma_vma_job_reset (&jobs->ptr[i]);
  oma_vma_job_vector_reset (jobs);
}

/* Maps a VMA status word to a database one; OTHER stands for in_progress
 * (and anything unknown).
 */
static const char *
oma_map_status (const char *vma_status, const char *other)
{
  if (strcmp (vma_status, "queued") == 0)
    return "pending";
  if (strcmp (vma_status, "completed") == 0)
    return "completed";
  if (strcmp (vma_status, "failed") == 0)
    return "failed";
  return other;
}

const char *
oma_map_job_status (const char *vma_status)
{
  return oma_map_status (vma_status, "replicating");
}

const char *
oma_map_disk_status (const char *vma_status)
{
  return oma_map_status (vma_status, "syncing");
}

const char *
oma_map_sync_type (const char *sync_type)
{
  if (strcmp (sync_type, "incremental") == 0)
    return "incremental";
  if (strcmp (sync_type, "full") == 0 || strcmp (sync_type, "initial") == 0)
    return "full";
  return "";
}

double
oma_percent (int64_t transferred, int64_t total, bool completed)
{
  double p;

  if (completed)
    return 100.0;
  if (total <= 0 || transferred <= 0)
    return 0.0;
  if (transferred >= total)
    return 99.99;
  /* Integer arithmetic, so that 2/3 is 66.66 and never rounds up. */
  if (transferred <= INT64_MAX / 10000)
    p = (double)(transferred * 10000 / total) / 100.0;
  else
    p = floor ((double)transferred / (double)total * 10000.0) / 100.0;
  return p > 99.99 ? 99.99 : p;
}

bool
oma_status_is_final (const char *status)
{
  return strcmp (status, "completed") == 0 || strcmp (status, "failed") == 0;
}

/* Fills U as a progress update of KNOWN from the VMA's job. */
static void
poll_progress_update (const struct oma_job *known,
                      const struct oma_vma_job *vma, int64_t now,
                      struct oma_update *u)
{
  struct oma_job *job = &u->job;
  const char *status = oma_map_job_status (vma->status);
  bool completed = strcmp (status, "completed") == 0;
  bool final = oma_status_is_final (status);
  size_t i;

  memset (u, 0, sizeof *u);
  u->kind = OMA_UPDATE_PROGRESS;
  memcpy (job->id, known->id, sizeof job->id);
  oma_copy_text (job->status, sizeof job->status, status);
  oma_copy_text (job->replication_type, sizeof job->replication_type,
                 oma_map_sync_type (vma->sync_type));
  oma_copy_text (job->current_operation, sizeof job->current_operation,
                 vma->stage);
  job->bytes_transferred = vma->bytes_transferred;
  job->total_bytes = vma->total_bytes;
  if (completed)
    job->bytes_transferred = job->total_bytes;
  job->progress_percent =
      oma_percent (job->bytes_transferred, job->total_bytes, completed);
  job->transfer_speed_bps = final ? 0 : vma->throughput_bps;
  job->eta_seconds = completed ? 0 : final ? -1 : vma->eta_seconds;
  if (strcmp (status, "failed") == 0)
    oma_copy_text (job->error_message, sizeof job->error_message,
                   vma->error_message[0] ? vma->error_message
                                         : "the copy failed on the VMA");
  job->updated_at = now;
  job->last_progress_at = now - (int64_t)llround (vma->seconds_since_update);
  if (job->last_progress_at < known->last_progress_at)
    job->last_progress_at = known->last_progress_at;
  if (strcmp (status, "pending") != 0)
    job->started_at = now;
  job->completed_at = final ? now : 0;
  u->add_sample = strcmp (status, "pending") != 0;

  for (i = 0; i < vma->disks.len; i++) {
    const struct oma_vma_disk *vd = &vma->disks.ptr[i];
    struct oma_disk d;
    bool disk_completed = strcmp (vd->status, "completed") == 0;

    memset (&d, 0, sizeof d);
    memcpy (d.disk_id, vd->disk_id, sizeof d.disk_id);
    d.capacity_bytes = vd->capacity_bytes;
    d.total_bytes = vd->total_bytes;
    d.bytes_synced = disk_completed ? vd->total_bytes : vd->bytes_transferred;
    d.sync_progress_percent =
        oma_percent (d.bytes_synced, d.total_bytes, disk_completed);
    oma_copy_text (d.sync_status, sizeof d.sync_status,
                   oma_map_disk_status (vd->status));
    d.updated_at = now;
    /* Out of memory loses one disk row until the next poll. */
    oma_disk_vector_append (&job->disks, d);
  }
}

/* Fills U as the failure of KNOWN with REASON. */
static void
poll_fail_update (const struct oma_job *known, const char *reason, int64_t now,
                  struct oma_update *u)
{
  memset (u, 0, sizeof *u);
  u->kind = OMA_UPDATE_FAIL;
  memcpy (u->job.id, known->id, sizeof u->job.id);
  oma_copy_text (u->job.status, sizeof u->job.status, "failed");
  oma_copy_text (u->job.error_message, sizeof u->job.error_message, reason);
  u->job.updated_at = now;
  u->job.completed_at = now;
  u->job.last_progress_at = known->last_progress_at;
  u->job.eta_seconds = -1;
}

bool
oma_poll_decide (const struct oma_job *known, enum oma_fetch_result result,
                 const struct oma_vma_job *vma, const char *detail,
                 int64_t now, double dead_timeout,
                 struct oma_update *ret_update)
{
  char reason[OMA_ERROR_MAX + 1];
  int64_t since, silent;

  if (result == OMA_FETCH_OK) {
    const char *status = oma_map_job_status (vma->status);

    if (!oma_status_is_final (status) &&
        vma->seconds_since_update >= dead_timeout) {
      snprintf (reason, sizeof reason,
                "dead: no progress update reached the VMA for %.0f s "
                "(dead timeout %.0f s); the copy stopped reporting",
                floor (vma->seconds_since_update), dead_timeout);
      poll_fail_update (known, reason, now, ret_update);
      return true;
    }
    poll_progress_update (known, vma, now, ret_update);
    return true;
  }

  /* No answer about the job: dead only once it has been silent long
   * enough, counted from its last sign of life.
   */
  since = known->last_progress_at > known->created_at ? known->last_progress_at
                                                      : known->created_at;
  silent = now - since;
  if (since == 0 || (double)silent < dead_timeout)
    return false;
  if (result == OMA_FETCH_NOT_FOUND)
    snprintf (reason, sizeof reason,
              "dead: the VMA at %.300s does not know the job (HTTP 404) and "
              "there was no progress for %" PRId64 " s (dead timeout %.0f s)",
              known->vma_url, silent, dead_timeout);
  else
    snprintf (
        reason, sizeof reason,
        "dead: the VMA at %.300s is unreachable (%.300s) and there was no "
        "progress for %" PRId64 " s (dead timeout %.0f s)",
        known->vma_url, detail && detail[0] ? detail : "no answer", silent,
        dead_timeout);
  poll_fail_update (known, reason, now, ret_update);
  return true;
}

void
oma_job_from_discovery (const struct oma_vma_job *vma, const char *vma_url,
                        int64_t now, struct oma_job *ret_job)
{
  struct oma_job *job = ret_job;
  const char *type = oma_map_sync_type (vma->sync_type);

  memset (job, 0, sizeof *job);
  memcpy (job->id, vma->job_id, sizeof job->id);
  oma_copy_text (job->source_vm_name, sizeof job->source_vm_name,
                 vma->vm_name[0] ? vma->vm_name : vma->job_id);
  oma_copy_text (job->replication_type, sizeof job->replication_type,
                 type[0] ? type : "full");
  oma_copy_text (job->status, sizeof job->status, "pending");
  oma_copy_text (job->vma_url, sizeof job->vma_url, vma_url);
  job->eta_seconds = -1;
  job->created_at = now;
  job->updated_at = now;
}
