/* cbtrack oma - the replications resource (DESIGN §4).
 *
 *   GET   /api/v1/replications        {"count": N, "total": M, "next",
 *                                      "poll_interval_seconds",
 *                                      "fleet": {...}, "replications": [...]}
 *         ?status= ?q= ?vm= ?sort= ?limit= ?after= ?format=csv
 *   POST  /api/v1/replications        register a job     → 201
 *   GET   /api/v1/replications/{id}   the job, its disks and history
 *   PATCH /api/v1/replications/{id}   setup progress     → 200
 *
 * The httpd layer has already answered 404/405/413/401 and checked {id}.
 * A database that is down gives 503; the request may simply be retried.
 */
#include <errno.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/progress-model.h"
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

/* Renders PAGE of JOBS as the JSON answer of the list. */
static json_t *
replications_list_json (const oma_job_vector *jobs,
                        const struct oma_list_page *page, int64_t now,
                        double stale_after, double poll_interval)
{
  json_t *list = json_array ();
  size_t i;

  for (i = 0; list && i < page->n; i++)
    if (json_array_append_new (list,
                               oma_render_job (&jobs->ptr[page->idx[i]], false,
                                               now, stale_after)) == -1) {
      json_decref (list);
      list = NULL;
    }
  if (list == NULL)
    return NULL;
  return json_pack (
      "{s:I,s:I,s:s?,s:f,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:o}", "count",
      (json_int_t)page->n, "total", (json_int_t)page->total, "next",
      page->next, "poll_interval_seconds", poll_interval, "fleet", "jobs",
      (json_int_t)jobs->len, "pending", (json_int_t)page->by_status[0],
      "replicating", (json_int_t)page->by_status[1], "completed",
      (json_int_t)page->by_status[2], "failed", (json_int_t)page->by_status[3],
      "stalled", (json_int_t)page->by_status[4], CBT_STATUS_CANCELLED_NAME,
      (json_int_t)page->by_status[5], "throughput_bps",
      (json_int_t)page->rate_bps, "replications", list);
}

void
oma_replications_list (struct cbt_httpd_request *req)
{
  struct oma_server *server = req->app;
  oma_job_vector jobs = empty_vector;
  struct oma_list_query query;
  struct oma_list_page page;
  int64_t now = (int64_t)cbt_now_wall ();
  json_t *doc;
  char *csv;
  size_t len = 0;
  int r;

  if (oma_list_query_parse (
          cbt_httpd_query (req, "status"), cbt_httpd_query (req, "q"),
          cbt_httpd_query (req, "vm"), cbt_httpd_query (req, "sort"),
          cbt_httpd_query (req, "limit"), cbt_httpd_query (req, "after"),
          cbt_httpd_query (req, "format"), &query) == -1) {
    cbt_httpd_respond_error (req, 400, "%s", cbt_get_error ());
    return;
  }
  r = server->store->ops->job_list (server->store, &jobs);
  if (r < 0) {
    replications_store_error (req, r);
    return;
  }
  if (oma_list_select (&jobs, &query, now, server->stale_after, &page) == -1) {
    cbt_httpd_respond_error (req, 400, "%s", cbt_get_error ());
    oma_job_vector_free (&jobs);
    return;
  }
  if (query.csv) {
    csv = oma_render_csv (&jobs, page.idx, page.n, now, server->stale_after,
                          &len);
    if (csv == NULL)
      cbt_httpd_respond_json (req, 500, NULL);
    else {
      cbt_httpd_add_header (req, "Content-Disposition",
                            "attachment; filename=\"replications.csv\"");
      cbt_httpd_add_header (req, "X-Content-Type-Options", "nosniff");
      cbt_httpd_respond_data (req, 200, "text/csv; charset=utf-8", csv, len,
                              CBT_HTTPD_MEM_FREE);
    }
  } else {
    doc = replications_list_json (&jobs, &page, now, server->stale_after,
                                  server->poll_interval);
    if (doc == NULL)
      cbt_httpd_respond_json (req, 500, NULL);
    else
      cbt_httpd_respond_json (req, 200, doc);
  }
  free (page.idx);
  oma_job_vector_free (&jobs);
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
  cbt_httpd_respond_json (req, 200,
                          oma_render_job (&job, true, (int64_t)cbt_now_wall (),
                                          server->stale_after));
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
