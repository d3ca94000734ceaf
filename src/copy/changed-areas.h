/* cbtrack copy - VMware changed-area lists (I/O-free parsing).
 *
 * The input is what vSphere's QueryChangedDiskAreas returns, as JSON: one
 * DiskChangeInfo object {"startOffset": N, "length": N, "changedArea":
 * [{"start": N, "length": N}, ...]}, or an array of them (the API answers
 * in pages).  Unknown fields are ignored.
 */
#ifndef CBTRACK_COPY_CHANGED_AREAS_H
#define CBTRACK_COPY_CHANGED_AREAS_H

#include <stdint.h>

#include "copy/plan.h"

/* Parses TEXT (LEN bytes) into the list of changed ranges, checking types
 * (non-negative integers), that each area lies inside its page and inside
 * a disk of CAPACITY bytes, and that areas are sorted and do not overlap;
 * touching areas are merged.  On success sets *RET_RANGES (free with
 * map_extent_vector_reset) and returns 0; on failure returns -1 with an
 * error recorded and *RET_RANGES untouched.
 */
int changed_areas_parse (const char *text, size_t len, uint64_t capacity,
                         map_extent_vector *ret_ranges);

#endif /* CBTRACK_COPY_CHANGED_AREAS_H */
