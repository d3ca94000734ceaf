/* cbtrack oma - the replications resource (DESIGN §4).
 *
 *   GET   /api/v1/replications        {"count": N, "replications": [...]}
 *   POST  /api/v1/replications        register a job     → 201
 *   GET   /api/v1/replications/{id}   the job, its disks and history
 *   PATCH /api/v1/replications/{id}   setup progress     → 200
 *
 * The httpd layer has already answered 404/405/413/401 and checked {id}.
 * A database that is down gives 503; the request may simply be retried.
 */
#include <errno.h>

#include "common/error.h"
#include "common/timeutil.h"
#include "oma/api-logic.h"
#include "oma/oma.h"

/* Answers a store failure R: 404, 409 or 503. */
static void
replications_store_error (struct cbt_httpd_request *req, int r)
{
  if (r == -ENOENT)
    cbt_httpd_respond_error (req, 404, "%s", cbt_get_error ());
  else if (r == -EEXIST)
    cbt_httpd_respond_error (req, 409, "%s", cbt_get_error ());
  else if (r == -ENOSPC) {
    cbt_httpd_add_header (req, "Retry-After", "60");
    cbt_httpd_respond_error (req, 503, "%s", cbt_get_error ());
  } else
    cbt_httpd_respond_error (req, 503, "database unavailable: %s",
                             cbt_get_error ());
}

void
oma_replications_list (struct cbt_httpd_request *req)
{
  struct oma_server *server = req->app;
  oma_job_vector jobs = empty_vector;
  json_t *list;
  size_t i;
  int r;

  r = server->store->ops->job_list (server->store, &jobs);
  if (r < 0) {
    replications_store_error (req, r);
    return;
  }
  list = json_array ();
  for (i = 0; list && i < jobs.len; i++)
    if (json_array_append_new (list, oma_render_job (&jobs.ptr[i], false)) ==
        -1) {
      json_decref (list);
      list = NULL;
    }
  oma_job_vector_free (&jobs);
  if (list == NULL) {
    cbt_httpd_respond_json (req, 500, NULL);
    return;
  }
  cbt_httpd_respond_json (req, 200,
                          json_pack ("{s:I,s:o}", "count",
                                     (json_int_t)json_array_size (list),
                                     "replications", list));
}

void
oma_replications_get (struct cbt_httpd_request *req)
{
  struct oma_server *server = req->app;
  struct oma_job job;
  int r;

  r = server->store->ops->job_get (server->store, req->id, &job);
  if (r < 0) {
    replications_store_error (req, r);
    return;
  }
  cbt_httpd_respond_json (req, 200, oma_render_job (&job, true));
  oma_job_reset (&job);
}

void
oma_replications_create (struct cbt_httpd_request *req)
{
  struct oma_server *server = req->app;
  struct oma_job job;
  int r;

  if (oma_parse_registration (req->body, req->body_len,
                              server->default_vma_url,
                              (int64_t)cbt_now_wall (), &job) == -1) {
    cbt_httpd_respond_error (req, 400, "%s", cbt_get_error ());
    return;
  }
  /* Only VMAs the operator named: the OMA polls what is registered, and
   * must not probe arbitrary hosts and ports for whoever asks.
   */
  if (!oma_vma_url_allowed (&server->allow, job.vma_url)) {
    cbt_httpd_respond_error (req, 403,
                             "vma_url is not an allowed VMA (the OMA's "
                             "--vma and --allow-vma options)");
    oma_job_reset (&job);
    return;
  }
  r = server->store->ops->job_insert (server->store, &job);
  if (r < 0)
    replications_store_error (req, r);
  else
    cbt_httpd_respond_json (
        req, 201, json_pack ("{s:s,s:s}", "status", "success", "id", job.id));
  oma_job_reset (&job);
}

void
oma_replications_patch (struct cbt_httpd_request *req)
{
  struct oma_server *server = req->app;
  struct oma_patch patch;
  int r;

  if (oma_parse_patch (req->body, req->body_len, &patch) == -1) {
    cbt_httpd_respond_error (req, 400, "%s", cbt_get_error ());
    return;
  }
  r = server->store->ops->job_patch (server->store, req->id, &patch,
                                     (int64_t)cbt_now_wall ());
  if (r < 0)
    replications_store_error (req, r);
  else
    cbt_httpd_respond_json (
        req, 200, json_pack ("{s:s,s:s}", "status", "success", "id", req->id));
}
