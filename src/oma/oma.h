/* cbtrack oma - the OMA's HTTP resources.
 *
 * oma-main.c wires the route table to these handlers; each resource file
 * holds the handlers of one resource.  Handlers find the OMA's state in
 * req->app, a struct oma_server.
 */
#ifndef CBTRACK_OMA_OMA_H
#define CBTRACK_OMA_OMA_H

#include <stddef.h>

#include "common/httpd.h"
#include "oma/api-logic.h"
#include "oma/auth.h"
#include "oma/store.h"

struct oma_metrics;

struct oma_server {
  struct oma_store *store;
  const char *default_vma_url; /* the first --vma, or NULL */
  struct oma_metrics *metrics; /* GET /metrics (oma/metrics.h) */
  struct oma_vma_allow allow;  /* the VMAs a registered job may name */
  const char *vma_token;       /* --vma-token-file's token, or NULL */
  const char *ca_file;         /* --cacert, or NULL */
  struct oma_auth *auth;       /* who may do what (oma/auth.h) */
  /* Seconds after which a replicating row the poller stopped refreshing
   * is stale (CBT_STALE_INTERVALS poll intervals): its rate is no longer
   * shown.
   */
  double stale_after;
  double poll_interval; /* --poll-interval, seconds */
};

/* replications.c: GET and POST /api/v1/replications, GET and PATCH
 * /api/v1/replications/{id}.
 */
void oma_replications_list (struct cbt_httpd_request *req);
void oma_replications_create (struct cbt_httpd_request *req);
void oma_replications_get (struct cbt_httpd_request *req);
void oma_replications_patch (struct cbt_httpd_request *req);

/* cancel.c: POST /api/v1/replications/{id}/cancel, through the job's
 * VMA.
 */
void oma_replications_cancel (struct cbt_httpd_request *req);

/* vms.c: GET /api/v1/vms/{vm}/disks, the changeId of each disk's last
 * completed sync.
 */
void oma_vms_disks_get (struct cbt_httpd_request *req);

/* nodes.c: GET /api/v1/nodes, the OMAs sharing the database. */
void oma_nodes_list (struct cbt_httpd_request *req);

/* ui.c: the files of the web UI, built into the binary, for the route it
 * is given (GET /, /login, /ui/app.js, /ui/style.css, /ui/login.js,
 * /ui/actions.js, /ui/actions.css); and GET /healthz.
 */
void oma_ui_file (struct cbt_httpd_request *req);
void oma_health_get (struct cbt_httpd_request *req);

/* ui-assets.c, generated at build time from src/oma/ui/ by ui/embed.c:
 * each file's bytes, NUL-terminated, and its length without the NUL.
 */
extern const unsigned char oma_ui_index_html[];
extern const size_t oma_ui_index_html_len;
extern const unsigned char oma_ui_app_js[];
extern const size_t oma_ui_app_js_len;
extern const unsigned char oma_ui_style_css[];
extern const size_t oma_ui_style_css_len;
extern const unsigned char oma_ui_login_html[];
extern const size_t oma_ui_login_html_len;
extern const unsigned char oma_ui_login_js[];
extern const size_t oma_ui_login_js_len;
extern const unsigned char oma_ui_actions_js[];
extern const size_t oma_ui_actions_js_len;
extern const unsigned char oma_ui_actions_css[];
extern const size_t oma_ui_actions_css_len;

#endif /* CBTRACK_OMA_OMA_H */
