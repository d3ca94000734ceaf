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

/* At most this many block status questions are asked of a target to
 * learn whether it reads as zero: an all-zero target answers in one.
 */
#define ANALYSE_ZERO_PROBE_CALLS 16

/* True if RW's own allocation map says that [0, SIZE) reads as zero
 * (every extent has the ZERO flag): a new NBD target (nbdkit memory,
 * qemu-nbd on a new sparse file) whose zero ranges and zero blocks then
 * need no request.  False when the map shows any data, when RW has no
 * allocation map, when the answer needs more than
 * ANALYSE_ZERO_PROBE_CALLS questions, or when asking fails: the copy
 * then writes every zero, which is always right.  Records no error.
 */
bool analyse_reads_as_zero (struct rw *rw, uint64_t size);

#endif /* CBTRACK_COPY_ANALYSE_H */
