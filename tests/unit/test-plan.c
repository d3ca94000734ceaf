/* Unit tests of src/copy/plan.c: map building, dirty ranges, plans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "copy/plan.h"

#define H (PLAN_FLAG_HOLE | PLAN_FLAG_ZERO)
#define Z PLAN_FLAG_ZERO

static map_extent_vector
make_map (const struct map_extent *e, size_t n)
{
  map_extent_vector v = empty_vector;
  size_t i;

  for (i = 0; i < n; i++)
    assert_int_equal (map_extent_vector_append (&v, e[i]), 0);
  return v;
}

static void
test_map_append_clips_and_merges (void **state)
{
  map_extent_vector m = empty_vector;
  struct map_extent a = { 100, 50, 0 }, b = { 150, 50, 0 };
  struct map_extent c = { 200, 1000, H }, gap = { 5000, 10, 0 };

  assert_int_equal (plan_map_append (&m, 100, 300, &a), 50);
  assert_int_equal (plan_map_append (&m, 100, 300, &b), 50);
  assert_int_equal (m.len, 1); /* merged: same flags */
  assert_int_equal (m.ptr[0].length, 100);
  /* Clipped to the asked range [100, 300). */
  assert_int_equal (plan_map_append (&m, 100, 300, &c), 100);
  assert_int_equal (m.len, 2);
  assert_int_equal (m.ptr[1].offset, 200);
  assert_int_equal (m.ptr[1].length, 100);
  /* A gap is refused. */
  assert_int_equal (plan_map_append (&m, 100, 6000, &gap), -1);
  map_extent_vector_reset (&m);
}

static void
test_map_append_rejects_backwards (void **state)
{
  map_extent_vector m = empty_vector;
  struct map_extent a = { 0, 4096, 0 }, back = { 0, 4096, H };

  assert_int_equal (plan_map_append (&m, 0, 8192, &a), 4096);
  assert_int_equal (plan_map_append (&m, 0, 8192, &back), -1);
  assert_int_equal (m.len, 1);
  map_extent_vector_reset (&m);
}

static void
test_full_plan (void **state)
{
  const struct map_extent e[] = {
    { 0, 4096, 0 },      { 4096, 8192, Z }, { 12288, 4096, 0 },
    { 16384, 16384, H }, { 32768, 100, 0 },
  };
  map_extent_vector alloc = make_map (e, 5);
  struct plan p;

  assert_int_equal (plan_build (32868, &alloc, NULL, false, &p), 0);
  assert_false (p.incremental);
  assert_int_equal (p.capacity, 32868);
  assert_int_equal (p.data_bytes, 4096 + 4096 + 100);
  assert_int_equal (p.zero_bytes, 8192);
  assert_int_equal (p.hole_bytes, 16384);
  assert_int_equal (p.transfer_bytes, p.data_bytes);
  assert_int_equal (p.zeroing_bytes, 8192 + 16384);
  assert_int_equal (p.entries.len, 5);
  assert_int_equal (p.entries.ptr[1].action, PLAN_MAKE_ZERO);
  assert_int_equal (p.entries.ptr[3].kind, PLAN_HOLE);
  plan_free (&p);

  /* With a zero target nothing is zeroed. */
  assert_int_equal (plan_build (32868, &alloc, NULL, true, &p), 0);
  assert_int_equal (p.zeroing_bytes, 0);
  assert_int_equal (p.entries.ptr[1].action, PLAN_SKIP);
  plan_free (&p);
  map_extent_vector_reset (&alloc);
}

static void
test_hole_without_zero_is_data (void **state)
{
  const struct map_extent e[] = { { 0, 4096, PLAN_FLAG_HOLE } };
  map_extent_vector alloc = make_map (e, 1);
  struct plan p;

  assert_int_equal (plan_build (4096, &alloc, NULL, false, &p), 0);
  assert_int_equal (p.transfer_bytes, 4096);
  plan_free (&p);
  map_extent_vector_reset (&alloc);
}

static void
test_plan_without_allocation (void **state)
{
  struct plan p;

  assert_int_equal (plan_build (1000000, NULL, NULL, false, &p), 0);
  assert_false (p.have_allocation);
  assert_int_equal (p.transfer_bytes, 1000000);
  assert_int_equal (p.entries.len, 1);
  plan_free (&p);
}

static void
test_plan_rejects_bad_map (void **state)
{
  const struct map_extent short_map[] = { { 0, 4096, 0 } };
  const struct map_extent gap_map[] = { { 0, 4096, 0 }, { 8192, 4096, 0 } };
  map_extent_vector a = make_map (short_map, 1), b = make_map (gap_map, 2);
  struct plan p;

  assert_int_equal (plan_build (8192, &a, NULL, false, &p), -1);
  assert_int_equal (plan_build (12288, &b, NULL, false, &p), -1);
  map_extent_vector_reset (&a);
  map_extent_vector_reset (&b);
}

static void
test_incremental_plan (void **state)
{
  /* data [0,64K) hole [64K,128K) data [128K,192K) */
  const struct map_extent e[] = {
    { 0, 65536, 0 },
    { 65536, 65536, H },
    { 131072, 65536, 0 },
  };
  /* dirty: [60K,70K) straddles data/hole, [140K,144K) inside data */
  const struct map_extent d[] = { { 61440, 10240, 0 }, { 143360, 4096, 0 } };
  map_extent_vector alloc = make_map (e, 3), dirty = make_map (d, 2);
  struct plan p;
  size_t i;
  uint64_t copy = 0, zero = 0, skip = 0;

  assert_int_equal (plan_build (196608, &alloc, &dirty, false, &p), 0);
  assert_true (p.incremental);
  assert_int_equal (p.dirty_bytes, 10240 + 4096);
  assert_int_equal (p.transfer_bytes, 4096 + 4096); /* dirty ∩ data */
  assert_int_equal (p.zeroing_bytes, 6144);         /* dirty ∩ hole */
  for (i = 0; i < p.entries.len; i++) {
    const struct plan_entry *x = &p.entries.ptr[i];

    if (i > 0)
      assert_int_equal (x->offset, p.entries.ptr[i - 1].offset +
                                       p.entries.ptr[i - 1].length);
    switch (x->action) {
    case PLAN_COPY:
      copy += x->length;
      assert_true (x->dirty);
      break;
    case PLAN_MAKE_ZERO:
      zero += x->length;
      assert_true (x->dirty);
      break;
    case PLAN_SKIP:
      skip += x->length;
      assert_false (x->dirty);
      break;
    }
  }
  assert_int_equal (copy, 8192);
  assert_int_equal (zero, 6144);
  assert_int_equal (copy + zero + skip, 196608);
  plan_free (&p);

  /* Nothing dirty: nothing to do, total 0. */
  dirty.len = 0;
  assert_int_equal (plan_build (196608, &alloc, &dirty, false, &p), 0);
  assert_int_equal (p.transfer_bytes, 0);
  assert_int_equal (p.zeroing_bytes, 0);
  plan_free (&p);
  map_extent_vector_reset (&alloc);
  map_extent_vector_reset (&dirty);
}

static void
test_dirty_from_bitmap (void **state)
{
  const struct map_extent b[] = {
    { 0, 4096, 1 },
    { 4096, 4096, 1 },
    { 8192, 8192, 0 },
    { 16384, 4096, 1 },
  };
  map_extent_vector bitmap = make_map (b, 4), dirty = empty_vector;

  assert_int_equal (plan_dirty_from_bitmap (&bitmap, &dirty), 0);
  assert_int_equal (dirty.len, 2);
  assert_int_equal (dirty.ptr[0].offset, 0);
  assert_int_equal (dirty.ptr[0].length, 8192);
  assert_int_equal (dirty.ptr[1].offset, 16384);
  map_extent_vector_reset (&bitmap);
  map_extent_vector_reset (&dirty);
}

static void
test_normalise_ranges (void **state)
{
  const struct map_extent ok[] = { { 0, 10, 0 }, { 10, 5, 0 }, { 20, 5, 0 } };
  const struct map_extent unsorted[] = { { 20, 5, 0 }, { 0, 5, 0 } };
  const struct map_extent overlap[] = { { 0, 10, 0 }, { 5, 10, 0 } };
  const struct map_extent beyond[] = { { 90, 20, 0 } };
  const struct map_extent empty_len[] = { { 5, 0, 0 } };
  map_extent_vector v;

  v = make_map (ok, 3);
  assert_int_equal (plan_normalise_ranges (&v, 100), 0);
  assert_int_equal (v.len, 2);
  assert_int_equal (v.ptr[0].length, 15);
  map_extent_vector_reset (&v);

  v = make_map (unsorted, 2);
  assert_int_equal (plan_normalise_ranges (&v, 100), -1);
  map_extent_vector_reset (&v);
  v = make_map (overlap, 2);
  assert_int_equal (plan_normalise_ranges (&v, 100), -1);
  map_extent_vector_reset (&v);
  v = make_map (beyond, 1);
  assert_int_equal (plan_normalise_ranges (&v, 100), -1);
  map_extent_vector_reset (&v);
  v = make_map (empty_len, 1);
  assert_int_equal (plan_normalise_ranges (&v, 100), -1);
  map_extent_vector_reset (&v);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_map_append_clips_and_merges),
    cmocka_unit_test (test_map_append_rejects_backwards),
    cmocka_unit_test (test_full_plan),
    cmocka_unit_test (test_hole_without_zero_is_data),
    cmocka_unit_test (test_plan_without_allocation),
    cmocka_unit_test (test_plan_rejects_bad_map),
    cmocka_unit_test (test_incremental_plan),
    cmocka_unit_test (test_dirty_from_bitmap),
    cmocka_unit_test (test_normalise_ranges),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
