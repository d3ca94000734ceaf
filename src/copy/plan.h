/* cbtrack copy - the plan: what moves, what is zeroed, what is left alone.
 *
 * A plan is built from the source's own maps before any byte moves
 * (DESIGN §1).  Its inputs are the base:allocation extents of the whole
 * disk and, for incremental copies, the list of changed (dirty) ranges.
 * Its output is a sorted, non-overlapping, gap-free list of entries over
 * [0, capacity), each tagged with what the source holds there and what the
 * copy will do, plus the totals that progress is measured against.
 *
 * Nothing here does I/O: the functions are called directly by unit tests.
 */
#ifndef CBTRACK_COPY_PLAN_H
#define CBTRACK_COPY_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/vector.h"

/* base:allocation flags (NBD protocol). */
#define PLAN_FLAG_HOLE 1u
#define PLAN_FLAG_ZERO 2u

/* One extent of a map as a server describes it. */
struct map_extent {
  uint64_t offset;
  uint64_t length;
  uint32_t flags;
};
DEFINE_VECTOR_TYPE (map_extent_vector, struct map_extent);

/* What the source holds in a range. */
enum plan_kind {
  PLAN_DATA, /* allocated data (must be read) */
  PLAN_ZERO, /* reads as zero, allocated */
  PLAN_HOLE, /* reads as zero, unallocated */
};

/* What the copy does with a range. */
enum plan_action {
  PLAN_COPY,      /* read from the source, write to the target: counted */
  PLAN_MAKE_ZERO, /* make zero on the target: not counted */
  PLAN_SKIP,      /* leave the target alone */
};

struct plan_entry {
  uint64_t offset;
  uint64_t length;
  enum plan_kind kind;
  enum plan_action action;
  bool dirty; /* changed since the bitmap/areas' origin (incremental) */
};
DEFINE_VECTOR_TYPE (plan_entry_vector, struct plan_entry);

struct plan {
  bool incremental;
  bool have_allocation; /* false: no base:allocation, all counted as data */
  uint64_t capacity;
  plan_entry_vector entries;

  /* Totals.  data + zero + hole == capacity. */
  uint64_t data_bytes;
  uint64_t zero_bytes;     /* ZERO but not HOLE */
  uint64_t hole_bytes;     /* HOLE (and ZERO) */
  uint64_t dirty_bytes;    /* incremental only: changed bytes */
  uint64_t transfer_bytes; /* PLAN_COPY: the progress total */
  uint64_t zeroing_bytes;  /* PLAN_MAKE_ZERO */
};

/* Appends EXT to the map *MAP, keeping the map sorted, contiguous and
 * clipped to [START, END): the part of EXT outside the range is dropped,
 * and an extent that does not begin where the map ends (a gap, an overlap
 * or a step backwards) is refused.  Adjacent extents with equal flags are
 * merged.  Returns the number of bytes added (possibly 0), or -1 with an
 * error recorded.
 */
int64_t plan_map_append (map_extent_vector *map, uint64_t start, uint64_t end,
                         const struct map_extent *ext);

/* Turns a map of a dirty bitmap (bit 0 of flags = dirty) into a list of
 * dirty ranges (flags 0), merged where they touch.  Returns 0, or -1 with
 * an error recorded (out of memory) and *RET_DIRTY unchanged.
 */
int plan_dirty_from_bitmap (const map_extent_vector *bitmap,
                            map_extent_vector *ret_dirty);

/* Checks that RANGES (from a changed-areas list) are sorted, do not
 * overlap, have non-zero length and lie inside [0, CAPACITY), and merges
 * ranges that touch, in place.  Returns 0, or -1 with an error recorded
 * that names the first bad range.
 */
int plan_normalise_ranges (map_extent_vector *ranges, uint64_t capacity);

/* Limits the allocation map ALLOC of a disk of CAPACITY bytes (NULL: the
 * server has none, all data) to the ALLOCATED ranges (sorted, disjoint,
 * from vSphere's changed areas since "*"): outside them the disk reads as
 * zero and unallocated (HOLE|ZERO); inside them ALLOC's flags hold.  The
 * result covers [0, CAPACITY) and goes to *RET_MAP (free with
 * map_extent_vector_reset).  Returns 0, or -1 with an error recorded and
 * *RET_MAP untouched.
 */
int plan_mask_allocation (uint64_t capacity, const map_extent_vector *alloc,
                          const map_extent_vector *allocated,
                          map_extent_vector *ret_map);

/* Builds the plan of a disk of CAPACITY bytes.  ALLOC is the
 * base:allocation map covering [0, CAPACITY), or NULL when the server has
 * none (then the whole disk is data).  DIRTY is NULL for a full copy, or
 * the sorted, non-overlapping changed ranges for an incremental one.
 * TARGET_IS_ZERO lets a full copy skip zero and hole ranges instead of
 * zeroing them.  On success fills *RET_PLAN (free with plan_free) and
 * returns 0; on failure returns -1 with an error recorded.
 */
int plan_build (uint64_t capacity, const map_extent_vector *alloc,
                const map_extent_vector *dirty, bool target_is_zero,
                struct plan *ret_plan);

/* Frees what a plan holds.  Accepts a zeroed or already freed plan. */
void plan_free (struct plan *plan);

/* Names for output: "data", "zero", "hole"; "copy", "zero", "skip". */
const char *plan_kind_name (enum plan_kind kind);
const char *plan_action_name (enum plan_action action);

#endif /* CBTRACK_COPY_PLAN_H */
