/* cbtrack copy - analysis. */
#include <inttypes.h>

#include "common/error.h"
#include "copy/analyse.h"

/* Collects map WHICH of SRC over the whole disk. */
static int
analyse_collect_map (struct rw *src, enum rw_map which,
                     map_extent_vector *ret_map)
{
  uint64_t off = 0;

  while (off < src->size) {
    int64_t r = src->ops->get_map (src, which, off, src->size - off, ret_map);

    if (r == -1)
      return -1;
    if (r == 0) {
      cbt_set_error ("%s: map made no progress at offset %" PRIu64, src->name,
                     off);
      return -1;
    }
    off += (uint64_t)r;
  }
  return 0;
}

int
analyse_source (struct rw *src, const struct analyse_args *args,
                struct plan *ret_plan)
{
  map_extent_vector alloc = empty_vector, bitmap = empty_vector;
  map_extent_vector dirty = empty_vector, masked = empty_vector;
  const map_extent_vector *dirty_in = NULL;
  int ret = -1;

  if (src->have_allocation &&
      analyse_collect_map (src, RW_MAP_ALLOCATION, &alloc) == -1)
    goto out;
  if (args->use_bitmap) {
    if (analyse_collect_map (src, RW_MAP_DIRTY, &bitmap) == -1 ||
        plan_dirty_from_bitmap (&bitmap, &dirty) == -1)
      goto out;
    dirty_in = &dirty;
  } else if (args->changed) {
    dirty_in = args->changed;
  }
  if (args->allocated) {
    if (plan_mask_allocation (src->size, src->have_allocation ? &alloc : NULL,
                              args->allocated, &masked) == -1)
      goto out;
    ret =
        plan_build (src->size, &masked, NULL, args->target_is_zero, ret_plan);
    goto out;
  }
  ret = plan_build (src->size, src->have_allocation ? &alloc : NULL, dirty_in,
                    args->target_is_zero, ret_plan);
out:
  map_extent_vector_reset (&masked);
  map_extent_vector_reset (&alloc);
  map_extent_vector_reset (&bitmap);
  map_extent_vector_reset (&dirty);
  return ret;
}

bool
analyse_reads_as_zero (struct rw *rw, uint64_t size)
{
  map_extent_vector map = empty_vector;
  uint64_t off = 0;
  unsigned calls = 0;
  bool zero = rw->have_allocation && rw->ops->get_map != NULL;
  size_t i;

  while (zero && off < size) {
    int64_t r;

    if (calls++ == ANALYSE_ZERO_PROBE_CALLS) {
      zero = false;
      break;
    }
    map.len = 0;
    r = rw->ops->get_map (rw, RW_MAP_ALLOCATION, off, size - off, &map);
    if (r <= 0) {
      cbt_clear_error ();
      zero = false;
      break;
    }
    for (i = 0; i < map.len; i++)
      if (!(map.ptr[i].flags & PLAN_FLAG_ZERO))
        zero = false;
    off += (uint64_t)r;
  }
  map_extent_vector_reset (&map);
  return zero;
}
