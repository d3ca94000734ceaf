/* cbtrack oma - what the poller decides, free of I/O. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/ids.h"
#include "oma/api-logic.h"
#include "oma/poll-logic.h"

int
oma_vma_job_parse (const char *body, size_t len, struct cbt_doc_job *ret_job)
{
  json_error_t err;
  json_t *root;
  int r;

  root = json_loadb (body, len, 0, &err);
  if (root == NULL) {
    cbt_set_error ("the VMA's answer is not JSON: %s", err.text);
    return -1;
  }
  /* The same cap as registration: a VMA cannot make a job larger. */
  if (json_array_size (json_object_get (root, CBT_FIELD_DISKS)) >
      OMA_MAX_DISKS) {
    cbt_set_error ("the VMA's answer has %zu disks, more than %d",
                   json_array_size (json_object_get (root, CBT_FIELD_DISKS)),
                   OMA_MAX_DISKS);
    json_decref (root);
    return -1;
  }
  r = cbt_job_doc_decode (root, true, ret_job);
  json_decref (root);
  return r;
}

int
oma_vma_list_parse (const char *body, size_t len, cbt_doc_job_vector *ret_jobs)
{
  char next[CBT_ID_MAX + 1];
  uint64_t version;

  return oma_vma_list_parse_page (body, len, ret_jobs, &version, next,
                                  sizeof next);
}

int
oma_vma_list_parse_page (const char *body, size_t len,
                         cbt_doc_job_vector *ret_jobs, uint64_t *ret_version,
                         char *next_after, size_t size)
{
  json_error_t err;
  json_t *root, *list, *v, *ver, *next;
  struct cbt_doc_job job;
  size_t i;
  int r = -1;

  root = json_loadb (body, len, 0, &err);
  if (root == NULL) {
    cbt_set_error ("the VMA's job list is not JSON: %s", err.text);
    return -1;
  }
  list = json_is_object (root) ? json_object_get (root, CBT_FIELD_JOBS) : root;
  if (!json_is_array (list)) {
    cbt_set_error ("the VMA's job list is not an array");
    goto out;
  }
  ver =
      json_is_object (root) ? json_object_get (root, CBT_FIELD_VERSION) : NULL;
  next = json_is_object (root) ? json_object_get (root, CBT_FIELD_NEXT_AFTER)
                               : NULL;
  if (next != NULL &&
      (!json_is_string (next) || !cbt_id_is_valid (json_string_value (next)) ||
       strlen (json_string_value (next)) >= size)) {
    cbt_set_error ("the VMA's job list has a bad next_after");
    goto out;
  }

  json_array_foreach (list, i, v)
  {
    if (cbt_job_doc_decode (v, false, &job) == -1)
      continue;
    if (cbt_doc_job_vector_append (ret_jobs, job) == -1) {
      cbt_set_error_errno (errno, "parse the VMA's job list");
      cbt_doc_job_reset (&job);
      goto out;
    }
  }
  *ret_version = json_is_integer (ver) && json_integer_value (ver) > 0
                     ? (uint64_t)json_integer_value (ver)
                     : 0;
  snprintf (next_after, size, "%s", next ? json_string_value (next) : "");
  r = 0;
out:
  json_decref (root);
  return r;
}

void
oma_vma_job_vector_free (cbt_doc_job_vector *jobs)
{
  size_t i;

  if (jobs == NULL)
    return;
  for (i = 0; i < jobs->len; i++)
    cbt_doc_job_reset (&jobs->ptr[i]);
  cbt_doc_job_vector_reset (jobs);
}

/* Maps a VMA status to a database word; OTHER stands for in_progress. */
static const char *
oma_map_status (enum cbt_status status, const char *other)
{
  switch (status) {
  case CBT_STATUS_QUEUED: return "pending";
  case CBT_STATUS_COMPLETED: return "completed";
  case CBT_STATUS_FAILED: return "failed";
  case CBT_STATUS_IN_PROGRESS: break;
  }
  return other;
}

const char *
oma_map_job_status (enum cbt_status status)
{
  return oma_map_status (status, "replicating");
}

const char *
oma_map_disk_status (enum cbt_status status)
{
  return oma_map_status (status, "syncing");
}

const char *
oma_map_sync_type (const char *sync_type)
{
  enum cbt_sync_type t;

  if (cbt_sync_type_parse (sync_type, &t) == -1)
    return "";
  return cbt_sync_type_name (t);
}

bool
oma_status_is_final (const char *status)
{
  return strcmp (status, "completed") == 0 || strcmp (status, "failed") == 0;
}

/* A count of the VMA as a column value (the decoder keeps them in
 * jansson's int64_t range).
 */
static int64_t
poll_count (uint64_t v)
{
  return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* True when the VMA's job VMA moved since the OMA's row KNOWN was
 * written: its bytes, its stage or its status changed.
 */
static bool
poll_job_moved (const struct oma_job *known, const struct cbt_doc_job *vma)
{
  return poll_count (vma->bytes_transferred) != known->bytes_transferred ||
         strcmp (vma->stage, known->current_operation) != 0 ||
         strcmp (oma_map_job_status (vma->status), known->status) != 0;
}

/* How long the job KNOWN, as the VMA now shows it (VMA), has gone without
 * progress at time NOW although its copier still reports: while it
 * transfers (a stage that moves bytes) and its bytes have not moved since
 * its last progress, the time since then, if updates kept coming for at
 * least the latter half of it (else the copier stopped reporting, which
 * is the other rule); or, if longer, how long the copier itself says it
 * is stalled.  0 in any other case: the analysis and the final flush move
 * no bytes.
 */
static double
poll_seconds_without_progress (const struct oma_job *known,
                               const struct cbt_doc_job *vma, int64_t now)
{
  double quiet = 0;
  int64_t since;

  if (vma->status != CBT_STATUS_IN_PROGRESS ||
      cbt_stage_rank (vma->stage) != cbt_stage_rank ("Transfer"))
    return 0;
  since =
      known->last_progress_at ? known->last_progress_at : known->created_at;
  if (!poll_job_moved (known, vma) && since > 0 && now > since &&
      vma->seconds_since_update < (double)(now - since) / 2)
    quiet = (double)(now - since);
  if (vma->stalled && vma->stalled_seconds > quiet)
    quiet = vma->stalled_seconds;
  return quiet;
}

/* Fills U as a progress update of KNOWN from the VMA's job. */
static void
poll_progress_update (const struct oma_job *known,
                      const struct cbt_doc_job *vma, int64_t now,
                      struct oma_update *u)
{
  struct oma_job *job = &u->job;
  const char *status = oma_map_job_status (vma->status);
  bool completed = vma->status == CBT_STATUS_COMPLETED;
  bool final = oma_status_is_final (status);
  bool stale, live;
  size_t i;

  memset (u, 0, sizeof *u);
  u->kind = OMA_UPDATE_PROGRESS;
  memcpy (job->id, known->id, sizeof job->id);
  oma_copy_text (job->status, sizeof job->status, status);
  oma_copy_text (job->replication_type, sizeof job->replication_type,
                 vma->has_sync_type ? cbt_sync_type_name (vma->sync_type)
                                    : "");
  oma_copy_text (job->current_operation, sizeof job->current_operation,
                 vma->stage);
  job->bytes_transferred = poll_count (vma->bytes_transferred);
  job->total_bytes = poll_count (vma->total_bytes);
  if (completed)
    job->bytes_transferred = job->total_bytes;
  job->progress_percent = cbt_percent ((uint64_t)job->bytes_transferred,
                                       (uint64_t)job->total_bytes, completed);
  /* A job that stopped moving has no rate: since when it stopped is
   * what the row keeps instead (cbt_rate_is_live).
   */
  stale = cbt_is_stale (vma->status, vma->seconds_since_update,
                        CBT_STALE_AFTER_DEFAULT);
  if (vma->status == CBT_STATUS_IN_PROGRESS && (vma->stalled || stale)) {
    double quiet =
        vma->stalled && vma->stalled_seconds > vma->seconds_since_update
            ? vma->stalled_seconds
            : vma->seconds_since_update;

    job->stalled_since = now - (int64_t)llround (quiet);
    if (known->stalled_since > 0 && known->stalled_since < job->stalled_since)
      job->stalled_since = known->stalled_since;
  }
  live = cbt_rate_is_live (vma->status, vma->stalled, stale);
  job->transfer_speed_bps = live ? poll_count (vma->throughput_bps) : 0;
  job->eta_seconds = completed                ? 0
                     : !live || !vma->has_eta ? -1
                                              : poll_count (vma->eta_seconds);
  if (vma->status == CBT_STATUS_FAILED)
    oma_copy_text (job->error_message, sizeof job->error_message,
                   vma->error_message[0] ? vma->error_message
                                         : "the copy failed on the VMA");
  job->updated_at = now;
  /* The last progress is that of the VMA's last update, if the job moved
   * since the row was written; else it stays.
   */
  job->last_progress_at =
      poll_job_moved (known, vma) || known->last_progress_at == 0
          ? now - (int64_t)llround (vma->seconds_since_update)
          : known->last_progress_at;
  if (job->last_progress_at < known->last_progress_at)
    job->last_progress_at = known->last_progress_at;
  if (vma->status != CBT_STATUS_QUEUED)
    job->started_at = now;
  job->completed_at = final ? now : 0;
  /* A cancel asked at the VMA directly shows here too (kept once set). */
  job->cancel_requested_at = !vma->cancel_requested ? 0
                             : known->cancel_requested_at != 0
                                 ? known->cancel_requested_at
                                 : now;
  u->add_sample = vma->status != CBT_STATUS_QUEUED;

  for (i = 0; i < vma->disks.len; i++) {
    const struct cbt_doc_disk *vd = &vma->disks.ptr[i];
    struct oma_disk d;
    bool disk_completed = vd->status == CBT_STATUS_COMPLETED;

    memset (&d, 0, sizeof d);
    memcpy (d.disk_id, vd->disk_id, sizeof d.disk_id);
    d.capacity_bytes = poll_count (vd->capacity_bytes);
    d.total_bytes = poll_count (vd->total_bytes);
    d.bytes_synced =
        disk_completed ? d.total_bytes : poll_count (vd->bytes_transferred);
    d.sync_progress_percent = cbt_percent (
        (uint64_t)d.bytes_synced, (uint64_t)d.total_bytes, disk_completed);
    oma_copy_text (d.sync_status, sizeof d.sync_status,
                   oma_map_disk_status (vd->status));
    d.updated_at = now;
    if (disk_completed)
      oma_copy_text (d.change_id, sizeof d.change_id, vd->change_id);
    /* A disk's rate is live while it and its job are. */
    if (live && vd->status == CBT_STATUS_IN_PROGRESS) {
      d.throughput_bps = poll_count (vd->throughput_bps);
      d.eta_seconds = vd->has_eta ? poll_count (vd->eta_seconds) : -1;
    } else
      d.eta_seconds = disk_completed ? 0 : -1;
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
  u->job.stalled_since = known->stalled_since;
  u->job.eta_seconds = -1;
}

bool
oma_poll_decide (const struct oma_job *known, enum oma_fetch_result result,
                 const struct cbt_doc_job *vma, const char *detail,
                 int64_t now, double dead_timeout,
                 struct oma_update *ret_update)
{
  char reason[OMA_ERROR_MAX + 1];
  int64_t since, silent;
  double quiet;

  if (result == OMA_FETCH_SKIPPED)
    return false;

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
    quiet = poll_seconds_without_progress (known, vma, now);
    if (quiet >= dead_timeout) {
      snprintf (reason, sizeof reason,
                "dead: no progress for %.0f s (dead timeout %.0f s): "
                "bytes_transferred stays at %" PRIu64
                " though the copy still reports",
                floor (quiet), dead_timeout, vma->bytes_transferred);
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
    /* How the fetch failed stays out of the row, which API clients read
     * (it would tell closed, filtered and non-HTTP ports apart); the
     * poller logs it.
     */
    snprintf (reason, sizeof reason,
              "dead: the VMA at %.300s is unreachable and there was no "
              "progress for %" PRId64 " s (dead timeout %.0f s)",
              known->vma_url, silent, dead_timeout);
  poll_fail_update (known, reason, now, ret_update);
  return true;
}

void
oma_job_from_discovery (const struct cbt_doc_job *vma, const char *vma_url,
                        int64_t now, struct oma_job *ret_job)
{
  struct oma_job *job = ret_job;

  memset (job, 0, sizeof *job);
  memcpy (job->id, vma->job_id, sizeof job->id);
  oma_copy_text (job->source_vm_name, sizeof job->source_vm_name,
                 vma->vm_name[0] ? vma->vm_name : vma->job_id);
  oma_copy_text (job->replication_type, sizeof job->replication_type,
                 cbt_sync_type_name (vma->has_sync_type ? vma->sync_type
                                                        : CBT_SYNC_FULL));
  oma_copy_text (job->status, sizeof job->status, "pending");
  oma_copy_text (job->vma_url, sizeof job->vma_url, vma_url);
  job->eta_seconds = -1;
  job->created_at = now;
  job->updated_at = now;
}

bool
oma_poll_resumed_run (const struct cbt_doc_job *vma, int64_t now,
                      int64_t *ret_not_after)
{
  if (vma->run < 2 || !cbt_status_is_running (vma->status))
    return false;
  *ret_not_after =
      now - (int64_t)vma->seconds_since_run_start + OMA_REOPEN_SLACK;
  return true;
}

size_t
oma_history_thin (const int64_t *t, size_t n, int64_t now, size_t max,
                  bool *keep)
{
  size_t i, recent = 0, old, budget, kept;
  int64_t w, last = 0;

  assert (max >= 4);
  for (i = 0; i < n; i++)
    keep[i] = true;
  if (n <= max)
    return n;
  while (recent < n && recent < max * 3 / 4 &&
         t[n - 1 - recent] >= now - OMA_HISTORY_FULL_SECONDS)
    recent++;
  old = n - recent;
  budget = max - recent;
  for (w = 1;; w *= 2) {
    kept = 0;
    for (i = 0; i < old; i++) {
      int64_t b = t[i] >= 0 ? t[i] / w : -((-t[i] + w - 1) / w);

      keep[i] = i == 0 || b != last;
      last = b;
      kept += keep[i];
    }
    if (kept <= budget || w > ((int64_t)1 << 40))
      break;
  }
  return kept + recent;
}
