/* cbtrack copy - the plan (I/O-free). */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "common/error.h"
#include "copy/plan.h"

int64_t
plan_map_append (map_extent_vector *map, uint64_t start, uint64_t end,
                 const struct map_extent *ext)
{
  uint64_t map_end = map->len == 0 ? start
                                   : map->ptr[map->len - 1].offset +
                                         map->ptr[map->len - 1].length;
  uint64_t off = ext->offset, ext_end, len;

  if (ext->length > UINT64_MAX - ext->offset) {
    cbt_set_error ("extent at %" PRIu64 " overflows", ext->offset);
    return -1;
  }
  ext_end = ext->offset + ext->length;
  if (off != map_end) {
    cbt_set_error ("extent at %" PRIu64 " does not start where the map ends"
                   " (%" PRIu64 ")",
                   off, map_end);
    return -1;
  }
  if (ext_end > end)
    ext_end = end;
  if (off >= ext_end)
    return 0;
  len = ext_end - off;

  if (map->len > 0 && map->ptr[map->len - 1].flags == ext->flags) {
    map->ptr[map->len - 1].length += len;
    return (int64_t)len;
  }
  if (map_extent_vector_append (
          map, (struct map_extent){ .offset = off,
                                    .length = len,
                                    .flags = ext->flags }) == -1) {
    cbt_set_error ("out of memory");
    return -1;
  }
  return (int64_t)len;
}

int
plan_dirty_from_bitmap (const map_extent_vector *bitmap,
                        map_extent_vector *ret_dirty)
{
  map_extent_vector dirty = empty_vector;
  size_t i;

  for (i = 0; i < bitmap->len; i++) {
    const struct map_extent *e = &bitmap->ptr[i];

    if (!(e->flags & 1) || e->length == 0)
      continue;
    if (dirty.len > 0 &&
        dirty.ptr[dirty.len - 1].offset + dirty.ptr[dirty.len - 1].length ==
            e->offset) {
      dirty.ptr[dirty.len - 1].length += e->length;
      continue;
    }
    if (map_extent_vector_append (
            &dirty, (struct map_extent){ .offset = e->offset,
                                         .length = e->length }) == -1) {
      map_extent_vector_reset (&dirty);
      cbt_set_error ("out of memory");
      return -1;
    }
  }
  *ret_dirty = dirty;
  return 0;
}

int
plan_normalise_ranges (map_extent_vector *ranges, uint64_t capacity)
{
  size_t i, out = 0;

  for (i = 0; i < ranges->len; i++) {
    struct map_extent r = ranges->ptr[i];

    if (r.length == 0) {
      cbt_set_error ("changed area %zu (start %" PRIu64 ") has length 0", i,
                     r.offset);
      return -1;
    }
    if (r.offset >= capacity || r.length > capacity - r.offset) {
      cbt_set_error ("changed area %zu (start %" PRIu64 ", length %" PRIu64
                     ") lies beyond the end of the disk (%" PRIu64 " bytes)",
                     i, r.offset, r.length, capacity);
      return -1;
    }
    if (out > 0) {
      struct map_extent *prev = &ranges->ptr[out - 1];
      uint64_t prev_end = prev->offset + prev->length;

      if (r.offset < prev->offset) {
        cbt_set_error ("changed area %zu (start %" PRIu64 ") is not sorted:"
                       " it starts before the previous one (%" PRIu64 ")",
                       i, r.offset, prev->offset);
        return -1;
      }
      if (r.offset < prev_end) {
        cbt_set_error ("changed area %zu (start %" PRIu64 ") overlaps the"
                       " previous one, which ends at %" PRIu64,
                       i, r.offset, prev_end);
        return -1;
      }
      if (r.offset == prev_end) {
        prev->length += r.length;
        continue;
      }
    }
    r.flags = 0;
    ranges->ptr[out++] = r;
  }
  ranges->len = out;
  return 0;
}

int
plan_mask_allocation (uint64_t capacity, const map_extent_vector *alloc,
                      const map_extent_vector *allocated,
                      map_extent_vector *ret_map)
{
  map_extent_vector out = empty_vector;
  struct map_extent whole = { .offset = 0, .length = capacity, .flags = 0 };
  const struct map_extent *a = alloc ? alloc->ptr : &whole;
  size_t na = alloc ? alloc->len : 1, i = 0, j = 0;
  uint64_t off = 0;

  while (off < capacity) {
    const struct map_extent *r;
    uint64_t end;
    uint32_t flags;

    while (i < na && a[i].offset + a[i].length <= off)
      i++;
    if (i == na || a[i].offset > off) {
      cbt_set_error ("the allocation map does not cover offset %" PRIu64, off);
      map_extent_vector_reset (&out);
      return -1;
    }
    while (j < allocated->len &&
           allocated->ptr[j].offset + allocated->ptr[j].length <= off)
      j++;
    r = j < allocated->len ? &allocated->ptr[j] : NULL;
    end = a[i].offset + a[i].length;
    if (r && r->offset <= off) {
      if (r->offset + r->length < end)
        end = r->offset + r->length;
      flags = a[i].flags;
    } else {
      if (r && r->offset < end)
        end = r->offset;
      flags = PLAN_FLAG_HOLE | PLAN_FLAG_ZERO;
    }
    if (end > capacity)
      end = capacity;
    assert (end > off);
    if (out.len > 0 && out.ptr[out.len - 1].flags == flags)
      out.ptr[out.len - 1].length += end - off;
    else if (map_extent_vector_append (
                 &out, (struct map_extent){ .offset = off,
                                            .length = end - off,
                                            .flags = flags }) == -1) {
      cbt_set_error ("out of memory");
      map_extent_vector_reset (&out);
      return -1;
    }
    off = end;
  }
  *ret_map = out;
  return 0;
}

static enum plan_kind
plan_kind_of_flags (uint32_t flags)
{
  /* HOLE without ZERO does not promise zeroes: it is copied as data. */
  if (!(flags & PLAN_FLAG_ZERO))
    return PLAN_DATA;
  return (flags & PLAN_FLAG_HOLE) ? PLAN_HOLE : PLAN_ZERO;
}

/* Adds one classified piece to the plan, merging with the previous entry
 * when nothing distinguishes them.
 */
static int
plan_add_piece (struct plan *plan, uint64_t offset, uint64_t length,
                enum plan_kind kind, bool dirty, bool target_is_zero)
{
  plan_entry_vector *v = &plan->entries;
  enum plan_action action;

  switch (kind) {
  case PLAN_DATA: plan->data_bytes += length; break;
  case PLAN_ZERO: plan->zero_bytes += length; break;
  case PLAN_HOLE: plan->hole_bytes += length; break;
  }
  if (dirty)
    plan->dirty_bytes += length;

  if (plan->incremental && !dirty)
    action = PLAN_SKIP;
  else if (kind == PLAN_DATA)
    action = PLAN_COPY;
  else
    action = target_is_zero ? PLAN_SKIP : PLAN_MAKE_ZERO;

  if (action == PLAN_COPY)
    plan->transfer_bytes += length;
  else if (action == PLAN_MAKE_ZERO)
    plan->zeroing_bytes += length;

  if (v->len > 0) {
    struct plan_entry *last = &v->ptr[v->len - 1];

    if (last->kind == kind && last->action == action && last->dirty == dirty &&
        last->offset + last->length == offset) {
      last->length += length;
      return 0;
    }
  }
  if (plan_entry_vector_append (v, (struct plan_entry){ .offset = offset,
                                                        .length = length,
                                                        .kind = kind,
                                                        .action = action,
                                                        .dirty = dirty }) ==
      -1) {
    cbt_set_error ("out of memory");
    return -1;
  }
  return 0;
}

int
plan_build (uint64_t capacity, const map_extent_vector *alloc,
            const map_extent_vector *dirty, bool target_is_zero,
            struct plan *ret_plan)
{
  struct plan plan = { 0 };
  struct map_extent whole = { .offset = 0, .length = capacity, .flags = 0 };
  const struct map_extent *ext;
  size_t n_ext, i, d = 0;
  uint64_t pos = 0;

  plan.incremental = dirty != NULL;
  plan.have_allocation = alloc != NULL;
  plan.capacity = capacity;
  if (alloc) {
    ext = alloc->ptr;
    n_ext = alloc->len;
  } else {
    ext = &whole;
    n_ext = capacity > 0 ? 1 : 0;
  }

  for (i = 0; i < n_ext; i++) {
    uint64_t off = ext[i].offset, end;
    enum plan_kind kind = plan_kind_of_flags (ext[i].flags);

    if (off != pos || ext[i].length > capacity - off) {
      cbt_set_error ("allocation map is not contiguous at %" PRIu64, pos);
      goto err;
    }
    end = off + ext[i].length;

    /* Split [off, end) at the boundaries of the dirty ranges. */
    while (off < end) {
      uint64_t piece_end = end;
      bool is_dirty = false;

      if (dirty) {
        while (d < dirty->len &&
               dirty->ptr[d].offset + dirty->ptr[d].length <= off)
          d++;
        if (d < dirty->len && dirty->ptr[d].offset <= off) {
          is_dirty = true;
          if (dirty->ptr[d].offset + dirty->ptr[d].length < piece_end)
            piece_end = dirty->ptr[d].offset + dirty->ptr[d].length;
        } else if (d < dirty->len && dirty->ptr[d].offset < piece_end) {
          piece_end = dirty->ptr[d].offset;
        }
      }
      if (plan_add_piece (&plan, off, piece_end - off, kind, is_dirty,
                          target_is_zero) == -1)
        goto err;
      off = piece_end;
    }
    pos = end;
  }
  if (pos != capacity) {
    cbt_set_error ("allocation map covers %" PRIu64 " of %" PRIu64 " bytes",
                   pos, capacity);
    goto err;
  }
  *ret_plan = plan;
  return 0;

err:
  plan_free (&plan);
  return -1;
}

void
plan_free (struct plan *plan)
{
  if (plan)
    plan_entry_vector_reset (&plan->entries);
}

const char *
plan_kind_name (enum plan_kind kind)
{
  switch (kind) {
  case PLAN_DATA: return "data";
  case PLAN_ZERO: return "zero";
  case PLAN_HOLE: return "hole";
  }
  return "?";
}

const char *
plan_action_name (enum plan_action action)
{
  switch (action) {
  case PLAN_COPY: return "copy";
  case PLAN_MAKE_ZERO: return "zero";
  case PLAN_SKIP: return "skip";
  }
  return "?";
}
