/* cbtrack copy - progress as JSON (I/O-free). */
#include "copy/progress-json.h"

char *
progress_json_format (const struct progress_snapshot *s, const char *disk_id,
                      bool eta_null)
{
  struct cbt_progress p;

  progress_snapshot_to_model (s, &p);
  return cbt_update_encode (&p, disk_id, eta_null ? CBT_ENCODE_ETA_NULL : 0);
}
