/* cbtrack oma - cancelling a job (POST /api/v1/replications/{id}/cancel).
 *
 * The OMA does not stop copies itself: it asks the job's VMA
 * (POST VMA/api/v1/progress/{id}/cancel), whose answer to the copier's
 * next update then says "cancel": true; the copier stops as on SIGTERM
 * (drains, keeps its checkpoint, sends a final failed update).  The OMA
 * records when the cancel was asked for (cancel_requested_at), so the
 * failed row the poller writes next is shown as "cancelled".
 *
 *   202  the VMA took the request; the job ends at the copier's next
 *        update (one report interval) and the OMA's next poll;
 *   200  the VMA does not know the job (no copier ever reported): it
 *        ends here and now, failed, shown cancelled;
 *   404  no such job; 409 the job is completed or failed already;
 *   502  the VMA could not be reached, or refused (its token).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/http-client.h"
#include "common/log.h"
#include "common/progress-model.h"
#include "common/timeutil.h"
#include "oma/oma.h"

/* The OMA's request to a VMA is made while an operator waits. */
#define CANCEL_CONNECT_TIMEOUT_MS 3000L
#define CANCEL_TIMEOUT_MS 10000L
#define CANCEL_MAX_REPLY (64 * 1024)

/* Asks the VMA at VMA_URL to cancel job ID.  Returns 0 with the HTTP
 * status in *RET_STATUS, or -1 with the reason recorded when the VMA
 * could not be reached.
 */
static int
cancel_ask_vma (const struct oma_server *server, const char *vma_url,
                const char *id, long *ret_status)
{
  struct cbt_http *http;
  char *url = NULL;
  size_t len = strlen (vma_url);
  int r = -1;

  while (len > 0 && vma_url[len - 1] == '/')
    len--;
  if (asprintf (&url, "%.*s/api/v1/progress/%s/cancel", (int)len, vma_url,
                id) == -1) {
    cbt_set_error ("out of memory");
    return -1;
  }
  http = cbt_http_new (&(struct cbt_http_options){
      .component = "oma",
      .token = server->vma_token,
      .ca_file = server->ca_file,
      .connect_timeout_ms = CANCEL_CONNECT_TIMEOUT_MS,
      .timeout_ms = CANCEL_TIMEOUT_MS,
      .max_reply = CANCEL_MAX_REPLY,
  });
  if (http != NULL &&
      cbt_http_prepare (http, "POST", url, "application/json", "{}", 2) == 0)
    r = cbt_http_perform (http, ret_status);
  if (r == -1 && http != NULL && cbt_http_error (http) != NULL)
    cbt_set_error ("%s", cbt_http_error (http));
  cbt_http_free (http);
  free (url);
  return r;
}

/* Answers a store failure R of a cancel. */
static void
cancel_store_error (struct cbt_httpd_request *req, int r)
{
  unsigned status = r == -ENOENT ? 404 : r == -EEXIST ? 409 : 503;

  cbt_httpd_respond_error (req, status, "%s", cbt_get_error ());
}

void
oma_replications_cancel (struct cbt_httpd_request *req)
{
  struct oma_server *server = req->app;
  const char *who = oma_auth_user (req);
  struct oma_job job;
  long status = 0;
  int r;

  r = server->store->ops->job_get (server->store, req->id, &job);
  if (r < 0) {
    cancel_store_error (req, r);
    return;
  }
  if (strcmp (job.status, "pending") != 0 &&
      strcmp (job.status, "replicating") != 0) {
    cbt_httpd_respond_error (req, 409, "job '%s' is %s already", req->id,
                             oma_job_status_shown (&job));
    oma_job_reset (&job);
    return;
  }
  if (cancel_ask_vma (server, job.vma_url, req->id, &status) == -1) {
    cbt_httpd_respond_error (req, 502, "cannot reach the job's VMA %s: %s",
                             job.vma_url, cbt_get_error ());
    oma_job_reset (&job);
    return;
  }
  oma_job_reset (&job);
  if (status == 404)
    r = server->store->ops->job_cancel (
        server->store, req->id, (int64_t)cbt_now_wall (),
        "cancelled before its copier reported to the VMA");
  else if (status == 409) {
    cbt_httpd_respond_error (req, 409,
                             "the VMA says job '%s' has ended already; the "
                             "next poll records how",
                             req->id);
    return;
  } else if (status < 200 || status >= 300) {
    cbt_httpd_respond_error (req, 502,
                             "the VMA refused the cancel (HTTP %ld)%s", status,
                             status == 401 ? ": the OMA's --vma-token-file "
                                             "must hold the VMA's token"
                                           : "");
    return;
  } else
    r = server->store->ops->job_cancel (server->store, req->id,
                                        (int64_t)cbt_now_wall (), NULL);
  if (r < 0) {
    cancel_store_error (req, r);
    return;
  }
  cbt_log (CBT_LOG_INFO, "oma", "job %s: cancel requested%s%s%s", req->id,
           who ? " by " : "", who ? who : "",
           status == 404 ? " (the VMA did not know it: cancelled now)" : "");
  cbt_httpd_respond_json (
      req, status == 404 ? 200 : 202,
      json_pack ("{s:s,s:s}", "status",
                 status == 404 ? CBT_STATUS_CANCELLED_NAME : "cancelling",
                 "id", req->id));
}
