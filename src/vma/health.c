/* cbtrack vma - the /healthz resource: liveness, and how much is held. */
#include "vma/vma.h"

void
vma_health_get (struct cbt_httpd_request *req)
{
  struct vma_server *server = req->app;
  struct vma_store_stats stats;

  vma_store_get_stats (server->store, &stats);
  cbt_httpd_respond_json (req, 200,
                          json_pack ("{s:s,s:I,s:I}", "status", "ok", "jobs",
                                     (json_int_t)stats.jobs, "disks",
                                     (json_int_t)stats.disks));
}
