/* cbtrack oma - the nodes resource: the OMAs sharing the database.
 *
 *   GET /api/v1/nodes   {"count": N, "nodes": [{"node_id", "generation",
 *                        "heartbeat_at", "started_at", "alive", "jobs"}]}
 *
 * Every OMA answers for the whole fleet, from the shared oma_nodes table;
 * "jobs" is how many active jobs each one's lease covers.  A database
 * that is down gives 503.
 */
#include "common/error.h"
#include "common/timeutil.h"
#include "oma/api-logic.h"
#include "oma/oma.h"

void
oma_nodes_list (struct cbt_httpd_request *req)
{
  struct oma_server *server = req->app;
  oma_node_vector nodes = empty_vector;
  json_t *doc;
  int r;

  r = server->store->ops->node_list (server->store, (int64_t)cbt_now_wall (),
                                     &nodes);
  if (r < 0) {
    cbt_httpd_respond_error (req, 503, "database unavailable: %s",
                             cbt_get_error ());
    return;
  }
  doc = oma_render_nodes (nodes.ptr, nodes.len);
  oma_node_vector_reset (&nodes);
  cbt_httpd_respond_json (req, doc ? 200 : 500, doc);
}
