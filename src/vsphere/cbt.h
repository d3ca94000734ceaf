/* cbtrack vsphere - QueryChangedDiskAreas, paged.
 *
 * The answer to one call (a DiskChangeInfo) covers the window
 * [startOffset, startOffset + length) of the disk and lists the changed
 * areas inside it; a server answers at most about 2000 areas per call and
 * may cover any window, even one without areas.  So the caller asks again
 * from startOffset + length until that reaches the disk's capacity, and
 * never stops at an empty page: an empty page only says that its own
 * window has not changed.
 *
 * The pager (vs_cbt_pager_*) holds that logic and no I/O;
 * tests/unit/test-vsphere.c drives it.  vs_cbt_query runs it against a
 * server.
 */
#ifndef CBTRACK_VSPHERE_CBT_H
#define CBTRACK_VSPHERE_CBT_H

#include <stdbool.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "common/vector.h"
#include "vsphere/session.h"

/* One changed area, [start, start + length). */
struct vs_area {
  uint64_t start;
  uint64_t length;
};
DEFINE_VECTOR_TYPE (vs_area_vector, struct vs_area);

struct vs_cbt_pager {
  uint64_t capacity;    /* the disk's size */
  uint64_t next;        /* the offset the next call asks from */
  unsigned pages;       /* pages added so far */
  uint64_t bytes;       /* sum of the areas' lengths */
  vs_area_vector areas; /* sorted, disjoint, touching ones merged */
};

/* Starts paging a disk of CAPACITY bytes (> 0) from offset 0. */
void vs_cbt_pager_init (struct vs_cbt_pager *p, uint64_t capacity);

/* Adds the page covering [START, START + LENGTH) with the N areas AREAS.
 * The page must begin where the previous one ended and cover something,
 * and its areas must lie inside it, sorted, not overlapping; its window
 * is clipped to the capacity.  Returns 1 when the disk is covered, 0 when
 * more pages are needed, -1 with an error recorded (the pager is then
 * unchanged).
 */
int vs_cbt_pager_add (struct vs_cbt_pager *p, uint64_t start, uint64_t length,
                      const struct vs_area *areas, size_t n);

/* Frees what P holds.  Accepts NULL. */
void vs_cbt_pager_free (struct vs_cbt_pager *p);

/* Decodes a DiskChangeInfo element INFO into *RET_START, *RET_LENGTH and
 * the areas appended to *AREAS (emptied first).  I/O-free.  Returns 0, or
 * -1 with an error recorded.
 */
int vs_cbt_decode_page (xmlNodePtr info, uint64_t *ret_start,
                        uint64_t *ret_length, vs_area_vector *areas);

/* vs_cbt_query's result for an unknown or reset changeId (FileFault). */
#define VS_CBT_UNKNOWN_CHANGE_ID (-2)

/* The areas of disk KEY (CAPACITY bytes) of the VM VM, as of the snapshot
 * SNAPSHOT (NULL: the running VM), changed since CHANGE_ID ("*": every
 * allocated area), paged to the end.  On success moves the areas into
 * *RET_AREAS (free with vs_area_vector_reset), the number of calls into
 * *RET_CALLS (may be NULL) and returns 0.  Returns
 * VS_CBT_UNKNOWN_CHANGE_ID when the server does not know CHANGE_ID any
 * more (FileFault), -1 on other failures, with an error recorded either
 * way and the outputs untouched.
 */
int vs_cbt_query (struct vs_session *s, const char *vm, const char *snapshot,
                  int32_t key, uint64_t capacity, const char *change_id,
                  vs_area_vector *ret_areas, unsigned *ret_calls);

#endif /* CBTRACK_VSPHERE_CBT_H */
