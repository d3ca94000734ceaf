/* cbtrack oma - the VMs resource: the changeId chain (VMware CBT).
 *
 *   GET /api/v1/vms/{vm}/disks   {"vm", "disks": [{"disk_id", "change_id",
 *                                 "job_id", "updated_at"}]}
 *
 * For each disk of the VM, the changeId its last completed sync brought
 * the target to: what the next incremental copy starts from
 * (`cbtrack copy --manifest ... --oma-url`).  A VM the OMA never synced
 * has no disks (200, empty list).  The httpd layer has already checked
 * {vm} as an id.
 */
#include "common/error.h"
#include "oma/api-logic.h"
#include "oma/oma.h"

void
oma_vms_disks_get (struct cbt_httpd_request *req)
{
  struct oma_server *server = req->app;
  oma_job_vector jobs = empty_vector;
  json_t *doc;
  int r;

  r = server->store->ops->job_list (server->store, &jobs);
  if (r < 0) {
    cbt_httpd_respond_error (req, 503, "database unavailable: %s",
                             cbt_get_error ());
    return;
  }
  doc = oma_render_vm_disks (&jobs, req->id);
  oma_job_vector_free (&jobs);
  cbt_httpd_respond_json (req, doc ? 200 : 500, doc);
}
