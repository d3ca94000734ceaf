/* Unit tests of src/copy/zero.c: exact zero detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "copy/zero.h"

static char buf[64 * 1024];

static void
test_every_byte_counts (void **state)
{
  size_t i, len;

  memset (buf, 0, sizeof buf);
  assert_true (zero_is_zero (buf, 0));
  assert_true (zero_is_zero (buf, sizeof buf));
  /* A single non-zero byte anywhere is found, for many lengths. */
  for (len = 1; len <= 4096 + 17; len += 97) {
    for (i = 0; i < len; i++) {
      buf[i] = 1;
      assert_false (zero_is_zero (buf, len));
      buf[i] = 0;
    }
    assert_true (zero_is_zero (buf, len));
  }
  buf[sizeof buf - 1] = (char)0x80;
  assert_false (zero_is_zero (buf, sizeof buf));
  buf[sizeof buf - 1] = 0;
}

static void
test_runs (void **state)
{
  bool zero;
  size_t end;

  /* blocks: D Z Z D D Z(short tail) with block 4096, len 5*4096+100 */
  memset (buf, 0, sizeof buf);
  buf[10] = 1;
  buf[3 * 4096] = 1;
  buf[4 * 4096 + 4095] = 1;
  end = zero_run_end (buf, 5 * 4096 + 100, 0, 4096, &zero);
  assert_false (zero);
  assert_int_equal (end, 4096);
  end = zero_run_end (buf, 5 * 4096 + 100, end, 4096, &zero);
  assert_true (zero);
  assert_int_equal (end, 3 * 4096);
  end = zero_run_end (buf, 5 * 4096 + 100, end, 4096, &zero);
  assert_false (zero);
  assert_int_equal (end, 5 * 4096);
  end = zero_run_end (buf, 5 * 4096 + 100, end, 4096, &zero);
  assert_true (zero);
  assert_int_equal (end, 5 * 4096 + 100);
  /* The last byte of a short tail is checked too. */
  buf[5 * 4096 + 99] = 1;
  end = zero_run_end (buf, 5 * 4096 + 100, 5 * 4096, 4096, &zero);
  assert_false (zero);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_every_byte_counts),
    cmocka_unit_test (test_runs),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
