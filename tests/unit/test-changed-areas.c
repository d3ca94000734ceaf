/* Unit tests of src/copy/changed-areas.c: VMware changed-area lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "copy/changed-areas.h"

#define MIB (UINT64_C (1) << 20)

static int
parse (const char *text, map_extent_vector *ret)
{
  return changed_areas_parse (text, strlen (text), 64 * MIB, ret);
}

static void
test_single_object (void **state)
{
  map_extent_vector v = empty_vector;

  assert_int_equal (parse ("{\"startOffset\":0,\"length\":67108864,"
                           "\"changedArea\":[{\"start\":0,\"length\":4096},"
                           "{\"start\":4096,\"length\":4096},"
                           "{\"start\":1048576,\"length\":65536}],"
                           "\"dynamicType\":null}",
                           &v),
                    0);
  assert_int_equal (v.len, 2); /* touching areas merged */
  assert_int_equal (v.ptr[0].length, 8192);
  assert_int_equal (v.ptr[1].offset, 1048576);
  map_extent_vector_reset (&v);
}

static void
test_pages (void **state)
{
  map_extent_vector v = empty_vector;

  assert_int_equal (parse ("[{\"startOffset\":0,\"length\":1048576,"
                           "\"changedArea\":[{\"start\":512,\"length\":512}]},"
                           "{\"startOffset\":1048576,\"length\":66060288,"
                           "\"changedArea\":[{\"start\":2097152,"
                           "\"length\":1}]},"
                           "{\"startOffset\":67108864,\"length\":0}]",
                           &v),
                    0);
  assert_int_equal (v.len, 2);
  assert_int_equal (v.ptr[1].offset, 2097152);
  map_extent_vector_reset (&v);

  /* Nothing changed. */
  assert_int_equal (parse ("{\"startOffset\":0,\"length\":67108864,"
                           "\"changedArea\":[]}",
                           &v),
                    0);
  assert_int_equal (v.len, 0);
  map_extent_vector_reset (&v);
}

static void
test_refused (void **state)
{
  static const char *const bad[] = {
    "",
    "not json",
    "{",
    "[1,2]",
    "42",
    /* unsorted */
    "{\"startOffset\":0,\"length\":67108864,\"changedArea\":"
    "[{\"start\":8192,\"length\":10},{\"start\":0,\"length\":10}]}",
    /* overlapping */
    "{\"startOffset\":0,\"length\":67108864,\"changedArea\":"
    "[{\"start\":0,\"length\":100},{\"start\":50,\"length\":100}]}",
    /* beyond the end of the disk */
    "{\"startOffset\":0,\"length\":134217728,\"changedArea\":"
    "[{\"start\":67108000,\"length\":4096}]}",
    /* outside its page */
    "{\"startOffset\":0,\"length\":4096,\"changedArea\":"
    "[{\"start\":8192,\"length\":10}]}",
    /* wrong types */
    "{\"startOffset\":\"0\",\"length\":67108864,\"changedArea\":[]}",
    "{\"startOffset\":0,\"length\":67108864,\"changedArea\":"
    "[{\"start\":1.5,\"length\":10}]}",
    "{\"startOffset\":0,\"length\":67108864,\"changedArea\":"
    "[{\"start\":-4096,\"length\":10}]}",
    "{\"startOffset\":0,\"length\":67108864,\"changedArea\":{}}",
    "{\"startOffset\":0,\"length\":67108864,\"changedArea\":[[0,1]]}",
    /* missing fields, zero length */
    "{\"length\":67108864,\"changedArea\":[]}",
    "{\"startOffset\":0,\"length\":67108864,\"changedArea\":"
    "[{\"start\":0}]}",
    "{\"startOffset\":0,\"length\":67108864,\"changedArea\":"
    "[{\"start\":0,\"length\":0}]}",
    /* pages out of order */
    "[{\"startOffset\":1048576,\"length\":1048576,\"changedArea\":"
    "[{\"start\":1048576,\"length\":1}]},{\"startOffset\":0,\"length\":"
    "1048576,\"changedArea\":[{\"start\":0,\"length\":1}]}]",
  };
  size_t i;

  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    map_extent_vector v = { .ptr = (void *)1, .len = 77, .cap = 0 };

    if (parse (bad[i], &v) != -1)
      fail_msg ("accepted: %s", bad[i]);
    /* Untouched on failure. */
    assert_int_equal (v.len, 77);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_single_object),
    cmocka_unit_test (test_pages),
    cmocka_unit_test (test_refused),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
