/* cbtrack copy - analysis: the source's maps into a plan.
 *
 * This is "CalculateUsedSpace / calculateDeltaSize": it asks the source
 * for base:allocation (and the dirty bitmap, for QEMU incrementals) over
 * the whole disk in bounded chunks, and builds the plan.
 */
#ifndef CBTRACK_COPY_ANALYSE_H
#define CBTRACK_COPY_ANALYSE_H

#include <stdbool.h>

#include "copy/plan.h"
#include "copy/rw.h"

struct analyse_args {
  bool use_bitmap;                  /* incremental from the source's bitmap */
  const map_extent_vector *changed; /* or from these changed ranges */
  /* A full copy limited to these allocated ranges (vSphere's changed
   * areas since "*"), or NULL.
   */
  const map_extent_vector *allocated;
  bool target_is_zero;
};

/* Builds the plan of SRC into *RET_PLAN.  Without base:allocation on the
 * source the whole disk counts as data (plan.have_allocation is false).
 * Returns 0, or -1 with an error recorded.
 */
int analyse_source (struct rw *src, const struct analyse_args *args,
                    struct plan *ret_plan);

#endif /* CBTRACK_COPY_ANALYSE_H */
