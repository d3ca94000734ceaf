/* Unit tests of src/copy/manifest.c: job manifests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "copy/manifest.h"

static int
parse (const char *text, struct manifest *m)
{
  return manifest_parse (text, strlen (text), m);
}

static void
test_good (void **state)
{
  struct manifest m;

  assert_int_equal (parse ("{\"job_id\":\"job-1\",\"vma_url\":\"http://x\","
                           "\"disks\":[{\"disk_id\":\"d1\",\"source\":\"a\","
                           "\"target\":\"b\",\"bitmap\":\"cbt\"},"
                           "{\"disk_id\":\"d2\",\"source\":\"c\","
                           "\"target\":\"d\",\"changed_areas\":\"f.json\","
                           "\"target_is_zero\":true,\"extra\":1}]}",
                           &m),
                    0);
  assert_string_equal (m.job_id, "job-1");
  assert_string_equal (m.vma_url, "http://x");
  assert_int_equal (m.nr_disks, 2);
  assert_string_equal (m.disks[0].id, "d1");
  assert_string_equal (m.disks[0].bitmap, "cbt");
  assert_null (m.disks[0].changed_areas);
  assert_false (m.disks[0].target_is_zero);
  assert_string_equal (m.disks[1].changed_areas, "f.json");
  assert_true (m.disks[1].target_is_zero);
  manifest_free (&m);
  manifest_free (&m); /* twice is harmless */

  assert_int_equal (parse ("{\"disks\":[{\"disk_id\":\"d\",\"source\":\"a\","
                           "\"target\":\"b\"}]}",
                           &m),
                    0);
  assert_null (m.job_id);
  manifest_free (&m);
}

static void
test_bad (void **state)
{
  static const char *const bad[] = {
    "",
    "[]",
    "{}",
    "{\"disks\":[]}",
    "{\"disks\":{}}",
    "{\"disks\":[{\"source\":\"a\",\"target\":\"b\"}]}",
    "{\"disks\":[{\"disk_id\":\"../x\",\"source\":\"a\",\"target\":\"b\"}]}",
    "{\"disks\":[{\"disk_id\":\"d\",\"target\":\"b\"}]}",
    "{\"disks\":[{\"disk_id\":\"d\",\"source\":1,\"target\":\"b\"}]}",
    "{\"disks\":[{\"disk_id\":\"d\",\"source\":\"a\",\"target\":\"b\","
    "\"bitmap\":\"x\",\"changed_areas\":\"y\"}]}",
    "{\"disks\":[{\"disk_id\":\"d\",\"source\":\"a\",\"target\":\"b\","
    "\"target_is_zero\":\"yes\"}]}",
    "{\"disks\":[{\"disk_id\":\"d\",\"source\":\"a\",\"target\":\"b\"},"
    "{\"disk_id\":\"d\",\"source\":\"c\",\"target\":\"e\"}]}",
    "{\"job_id\":\"a b\",\"disks\":[{\"disk_id\":\"d\",\"source\":\"a\","
    "\"target\":\"b\"}]}",
    "{\"disks\":[{\"disk_id\":\"d\",\"disk_id\":\"e\",\"source\":\"a\","
    "\"target\":\"b\"}]}",
  };
  size_t i;

  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct manifest m = { .nr_disks = 99 };

    if (parse (bad[i], &m) != -1)
      fail_msg ("accepted: %s", bad[i]);
    assert_int_equal (m.nr_disks, 99);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_good),
    cmocka_unit_test (test_bad),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
