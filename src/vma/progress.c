/* cbtrack vma - the /api/v1/progress resource. */
#include <errno.h>

#include <inttypes.h>
#include <stdint.h>

#include "common/error.h"
#include "common/human.h"
#include "common/log.h"
#include "common/progress-model.h"
#include "common/timeutil.h"
#include "vma/render.h"
#include "vma/vma.h"

/* The HTTP status that tells a sender what a store error means. */
static unsigned
vma_progress_status_of (int err)
{
  switch (err) {
  case -EINVAL:
  case -E2BIG: return 400;
  case -ENOENT: return 404;
  case -EBUSY:
  case -EALREADY: return 409;
  case -ENOSPC: return 503;
  default: return 500;
  }
}

static json_t *
vma_progress_success (const char *job_id)
{
  return json_pack ("{s:s,s:s}", "status", "success", "job_id", job_id);
}

/* Logs the change of state T of job JOB_ID, once (see
 * vma_store_apply_update_noting): created, started, completed (bytes,
 * time, average rate) or failed (the reason, and the disk).
 */
static void
vma_progress_log_transition (const char *job_id,
                             const struct vma_transition *t)
{
  char size[32], rate[32], took[32];

  if (t->created)
    cbt_log (CBT_LOG_INFO, "vma", "job %s created by its first update (%s)",
             job_id, cbt_status_name (t->after));
  if (!t->changed || (t->created && t->after == CBT_STATUS_QUEUED))
    return;
  switch (t->after) {
  case CBT_STATUS_QUEUED:
    cbt_log (CBT_LOG_INFO, "vma", "job %s is queued", job_id);
    break;
  case CBT_STATUS_IN_PROGRESS:
    cbt_log (CBT_LOG_INFO, "vma", "job %s started: %s to transfer", job_id,
             cbt_human_size (t->total_bytes, size, sizeof size));
    break;
  case CBT_STATUS_COMPLETED:
    cbt_log (CBT_LOG_INFO, "vma",
             "job %s completed: %" PRIu64 " bytes (%s) in %s, average %s/s",
             job_id, t->bytes_transferred,
             cbt_human_size (t->bytes_transferred, size, sizeof size),
             cbt_human_duration (t->elapsed_seconds, took, sizeof took),
             cbt_human_size (t->elapsed_seconds > 0
                                 ? (uint64_t)((double)t->bytes_transferred /
                                              t->elapsed_seconds)
                                 : 0,
                             rate, sizeof rate));
    break;
  case CBT_STATUS_FAILED:
    cbt_log (CBT_LOG_WARNING, "vma", "job %s failed%s%s: %s", job_id,
             t->error_disk[0] ? " on disk " : "", t->error_disk,
             t->error_message[0] ? t->error_message : "no reason given");
    break;
  }
}

void
vma_progress_update (struct cbt_httpd_request *req)
{
  struct vma_transition t = { 0 };
  struct vma_server *server = req->app;
  struct cbt_update u;
  int r;

  if (cbt_update_decode (req->body, req->body_len, &u) == -1) {
    cbt_httpd_respond_error (req, 400, "%s", cbt_get_error ());
    return;
  }
  r = vma_store_apply_update_noting (server->store, req->id, &u,
                                     cbt_now_mono (), cbt_now_wall (), &t);
  cbt_update_clear (&u);
  if (r < 0) {
    if (r == -ENOSPC)
      cbt_httpd_add_header (req, "Retry-After", "60");
    cbt_httpd_respond_error (req, vma_progress_status_of (r), "%s",
                             cbt_get_error ());
    return;
  }
  vma_progress_log_transition (req->id, &t);
  if (t.cancel) {
    json_t *reply = vma_progress_success (req->id);

    if (reply != NULL &&
        json_object_set_new (reply, CBT_FIELD_CANCEL, json_true ()) == -1) {
      json_decref (reply);
      reply = NULL;
    }
    cbt_httpd_respond_json (req, 200, reply);
    return;
  }
  cbt_httpd_respond_json (req, 200, vma_progress_success (req->id));
}

void
vma_progress_cancel (struct cbt_httpd_request *req)
{
  struct vma_server *server = req->app;
  int r;

  r = vma_store_cancel (server->store, req->id);
  if (r < 0) {
    cbt_httpd_respond_error (req, vma_progress_status_of (r), "%s",
                             cbt_get_error ());
    return;
  }
  cbt_log (CBT_LOG_INFO, "vma",
           "job %s: cancel requested; its copier stops at its next update",
           req->id);
  cbt_httpd_respond_json (req, 202,
                          json_pack ("{s:s,s:s,s:b}", "status", "success",
                                     "job_id", req->id,
                                     CBT_FIELD_CANCEL_REQUESTED, 1));
}

struct cbt_progress_render {
  double now_mono;
  json_t *json;
};

static int
vma_progress_render_one (const struct vma_job *job, void *opaque)
{
  struct cbt_progress_render *r = opaque;

  r->json = vma_render_job (job, r->now_mono);
  return r->json == NULL ? -ENOMEM : 0;
}

void
vma_progress_get (struct cbt_httpd_request *req)
{
  struct vma_server *server = req->app;
  struct cbt_progress_render r = { .now_mono = cbt_now_mono () };
  int err;

  err = vma_store_visit_job (server->store, req->id, vma_progress_render_one,
                             &r);
  if (err == -ENOENT) {
    cbt_httpd_respond_error (req, 404, "no such job");
    return;
  }
  cbt_httpd_respond_json (req, 200, r.json);
}

void
vma_progress_list (struct cbt_httpd_request *req)
{
  struct vma_server *server = req->app;
  double now_mono = cbt_now_mono ();
  struct vma_list_query query;
  struct vma_job *snap = NULL;
  json_t *jobs = NULL, *doc;
  uint64_t version = 0;
  bool more = false;
  size_t n = 0, i;

  if (vma_list_query_parse (cbt_httpd_query (req, "limit"),
                            cbt_httpd_query (req, "after"),
                            cbt_httpd_query (req, "status"),
                            cbt_httpd_query (req, "since"), &query) == -1) {
    cbt_httpd_respond_error (req, 400, "%s", cbt_get_error ());
    return;
  }
  /* Copied under the store's lock, rendered without it: updates are not
   * held up while a large list is built.
   */
  if (vma_store_snapshot_query (server->store, &query, &snap, &n, &version,
                                &more) < 0 ||
      (jobs = json_array ()) == NULL)
    goto oom;
  for (i = 0; i < n; i++)
    if (json_array_append_new (jobs, vma_render_job (&snap[i], now_mono)) ==
        -1)
      goto oom;
  doc = json_pack ("{s:I,s:o,s:I}", CBT_FIELD_COUNT,
                   (json_int_t)json_array_size (jobs), CBT_FIELD_JOBS, jobs,
                   CBT_FIELD_VERSION, (json_int_t)version);
  jobs = NULL;
  if (doc != NULL && more &&
      json_object_set_new (doc, CBT_FIELD_NEXT_AFTER,
                           json_string (snap[n - 1].id)) == -1) {
    json_decref (doc);
    doc = NULL;
  }
  vma_store_snapshot_free (snap, n);
  if (doc == NULL) {
    cbt_httpd_respond_error (req, 503, "out of memory; try again later");
    return;
  }
  cbt_httpd_respond_json (req, 200, doc);
  return;

oom:
  vma_store_snapshot_free (snap, n);
  json_decref (jobs);
  cbt_httpd_respond_error (req, 503, "out of memory; try again later");
}

void
vma_progress_delete (struct cbt_httpd_request *req)
{
  struct vma_server *server = req->app;

  if (vma_store_delete (server->store, req->id) == -ENOENT) {
    cbt_httpd_respond_error (req, 404, "no such job");
    return;
  }
  cbt_httpd_respond_json (req, 200, vma_progress_success (req->id));
}
