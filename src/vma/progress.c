/* cbtrack vma - the /api/v1/progress resource. */
#include <errno.h>

#include "common/error.h"
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

void
vma_progress_update (struct cbt_httpd_request *req)
{
  struct vma_server *server = req->app;
  struct cbt_update u;
  int r;

  if (cbt_update_decode (req->body, req->body_len, &u) == -1) {
    cbt_httpd_respond_error (req, 400, "%s", cbt_get_error ());
    return;
  }
  r = vma_store_apply_update (server->store, req->id, &u, cbt_now_mono (),
                              cbt_now_wall ());
  cbt_update_clear (&u);
  if (r < 0) {
    if (r == -ENOSPC)
      cbt_httpd_add_header (req, "Retry-After", "60");
    cbt_httpd_respond_error (req, vma_progress_status_of (r), "%s",
                             cbt_get_error ());
    return;
  }
  cbt_httpd_respond_json (req, 200, vma_progress_success (req->id));
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
  struct vma_job *snap = NULL;
  json_t *jobs = NULL;
  size_t n = 0, i;

  /* Copied under the store's lock, rendered without it: updates are not
   * held up while a large list is built.
   */
  if (vma_store_snapshot (server->store, &snap, &n) < 0 ||
      (jobs = json_array ()) == NULL)
    goto oom;
  for (i = 0; i < n; i++)
    if (json_array_append_new (jobs, vma_render_job (&snap[i], now_mono)) ==
        -1)
      goto oom;
  vma_store_snapshot_free (snap, n);
  cbt_httpd_respond_json (req, 200,
                          json_pack ("{s:I,s:o}", CBT_FIELD_COUNT,
                                     (json_int_t)json_array_size (jobs),
                                     CBT_FIELD_JOBS, jobs));
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
