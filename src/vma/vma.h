/* cbtrack vma - the progress service's resources.
 *
 * vma-main.c wires the route table to these handlers; each resource file
 * holds the handlers of one resource.  Handlers find the service's state
 * in req->app, a struct vma_server.
 */
#ifndef CBTRACK_VMA_VMA_H
#define CBTRACK_VMA_VMA_H

#include <stddef.h>

#include "common/httpd.h"
#include "vma/store.h"

struct vma_server {
  struct vma_store *store;
};

/* progress.c: POST /api/v1/progress/{id}/update, GET and DELETE
 * /api/v1/progress/{id}, GET /api/v1/progress.
 */
void vma_progress_update (struct cbt_httpd_request *req);
void vma_progress_get (struct cbt_httpd_request *req);
void vma_progress_delete (struct cbt_httpd_request *req);
/* POST /api/v1/progress/{id}/cancel: the job's copier is told to stop at
 * its next update (202; 404 no such job; 409 already finished).
 */
void vma_progress_cancel (struct cbt_httpd_request *req);
void vma_progress_list (struct cbt_httpd_request *req);

/* health.c: GET /healthz. */
void vma_health_get (struct cbt_httpd_request *req);

/* metrics.c: GET /metrics. */
void vma_metrics_get (struct cbt_httpd_request *req);

/* Renders the Prometheus text exposition of STORE at NOW_MONO, with the
 * request counters of HTTPD (NULL: none) into a new buffer.  Returns 0
 * with *RET_TEXT (free it) and *RET_LEN set, or -1 when out of memory.
 */
int vma_metrics_render (struct vma_store *store, const struct cbt_httpd *httpd,
                        double now_mono, char **ret_text, size_t *ret_len);

#endif /* CBTRACK_VMA_VMA_H */
