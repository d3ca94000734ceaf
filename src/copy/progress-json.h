/* cbtrack copy - progress as JSON (I/O-free).
 *
 * The same object serves --progress-json lines and the body of the VMA
 * update (DESIGN §3), so the field names are the migratekit client's.
 */
#ifndef CBTRACK_COPY_PROGRESS_JSON_H
#define CBTRACK_COPY_PROGRESS_JSON_H

#include <stdbool.h>

#include "copy/progress.h"

/* Returns a malloc'd one-line update document (cbt_update_encode) for
 * snapshot S, with disk_id when DISK_ID is not NULL.  An unknown ETA is
 * null when ETA_NULL, else left out.  Returns NULL when out of memory.
 */
char *progress_json_format (const struct progress_snapshot *s,
                            const char *disk_id, bool eta_null);

#endif /* CBTRACK_COPY_PROGRESS_JSON_H */
