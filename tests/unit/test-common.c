/* Unit tests of src/common: ids, sizes, durations, vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/human.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/vector.h"

DEFINE_VECTOR_TYPE (int_vector, int);

static void
test_ids (void **state)
{
  char long_id[CBT_ID_MAX + 2];

  assert_true (cbt_id_is_valid ("job-1"));
  assert_true (cbt_id_is_valid ("disk_2000:a.b"));
  assert_false (cbt_id_is_valid (""));
  assert_false (cbt_id_is_valid (NULL));
  assert_false (cbt_id_is_valid ("../etc"));
  assert_false (cbt_id_is_valid ("a b"));
  assert_false (cbt_id_is_valid ("a\"b"));
  assert_false (cbt_id_is_valid ("caf\xc3\xa9"));
  assert_false (cbt_id_is_valid ("."));
  assert_false (cbt_id_is_valid (".."));
  memset (long_id, 'a', CBT_ID_MAX);
  long_id[CBT_ID_MAX] = '\0';
  assert_true (cbt_id_is_valid (long_id));
  long_id[CBT_ID_MAX] = 'a';
  long_id[CBT_ID_MAX + 1] = '\0';
  assert_false (cbt_id_is_valid (long_id));
}

static void
test_sizes (void **state)
{
  uint64_t v = 42;
  char buf[32];

  assert_int_equal (cbt_parse_size ("4096", &v), 0);
  assert_int_equal (v, 4096);
  assert_int_equal (cbt_parse_size ("256K", &v), 0);
  assert_int_equal (v, 256 * 1024);
  assert_int_equal (cbt_parse_size ("2GiB", &v), 0);
  assert_int_equal (v, UINT64_C (2) << 30);
  assert_int_equal (cbt_parse_size ("1m", &v), 0);
  assert_int_equal (v, 1 << 20);
  v = 7;
  assert_int_equal (cbt_parse_size ("-1", &v), -1);
  assert_int_equal (cbt_parse_size ("12X", &v), -1);
  assert_int_equal (cbt_parse_size ("", &v), -1);
  assert_int_equal (cbt_parse_size ("99999999999999999999", &v), -1);
  assert_int_equal (cbt_parse_size ("20000000000P", &v), -1);
  assert_int_equal (v, 7);

  assert_string_equal (cbt_human_size (0, buf, sizeof buf), "0 B");
  assert_string_equal (cbt_human_size (1023, buf, sizeof buf), "1023 B");
  assert_string_equal (cbt_human_size (1024, buf, sizeof buf), "1.0 KiB");
  assert_string_equal (cbt_human_size (UINT64_C (18) << 30, buf, sizeof buf),
                       "18.0 GiB");
  assert_string_equal (
      cbt_human_size ((UINT64_C (1) << 30) - 1, buf, sizeof buf), "1.0 GiB");
}

static void
test_durations (void **state)
{
  double d = 0;
  long long n = 5;
  char buf[32];

  assert_int_equal (cbt_parse_duration ("2", &d), 0);
  assert_true (d == 2);
  assert_int_equal (cbt_parse_duration ("0.5", &d), 0);
  assert_true (d == 0.5);
  assert_int_equal (cbt_parse_duration ("10m", &d), 0);
  assert_true (d == 600);
  assert_int_equal (cbt_parse_duration ("24h", &d), 0);
  assert_true (d == 86400);
  assert_int_equal (cbt_parse_duration ("0", &d), -1);
  assert_int_equal (cbt_parse_duration ("-3", &d), -1);
  assert_int_equal (cbt_parse_duration ("3x", &d), -1);

  assert_string_equal (cbt_human_duration (29, buf, sizeof buf), "0:29");
  assert_string_equal (cbt_human_duration (3725, buf, sizeof buf), "1:02:05");
  assert_string_equal (cbt_human_duration (-1, buf, sizeof buf), "--:--");

  assert_int_equal (cbt_parse_int ("n", "12", 1, 64, &n), 0);
  assert_int_equal (n, 12);
  assert_int_equal (cbt_parse_int ("n", "0", 1, 64, &n), -1);
  assert_int_equal (cbt_parse_int ("n", "+3", 1, 64, &n), -1);
  assert_int_equal (cbt_parse_int ("n", "3 ", 1, 64, &n), -1);
  assert_int_equal (n, 12);
}

static void
test_vector (void **state)
{
  int_vector v = empty_vector;
  int i;

  for (i = 0; i < 1000; i++)
    assert_int_equal (int_vector_append (&v, i), 0);
  assert_int_equal (v.len, 1000);
  assert_true (v.cap >= 1000);
  for (i = 0; i < 1000; i++)
    assert_int_equal (v.ptr[i], i);
  int_vector_reset (&v);
  assert_null (v.ptr);
  assert_int_equal (v.len, 0);
}

static size_t
fmt_line (char *buf, size_t size, bool journal, enum cbt_log_level level,
          const char *fmt, ...)
{
  va_list ap;
  size_t n;

  va_start (ap, fmt);
  n = cbt_log_format (buf, size, journal, level, "vma", fmt, ap);
  va_end (ap);
  return n;
}

/* One line per event, with its level, and the journal's prefix. */
static void
test_log_format (void **state)
{
  char buf[64];
  enum cbt_log_level level = CBT_LOG_INFO;

  assert_int_equal (
      fmt_line (buf, sizeof buf, false, CBT_LOG_INFO, "job %s", "j1"),
      strlen ("cbtrack vma: info: job j1\n"));
  assert_string_equal (buf, "cbtrack vma: info: job j1\n");
  fmt_line (buf, sizeof buf, true, CBT_LOG_WARNING, "a\nb");
  assert_string_equal (buf, "<4>cbtrack vma: warning: a b\n");
  fmt_line (buf, sizeof buf, true, CBT_LOG_ERROR, "x");
  assert_string_equal (buf, "<3>cbtrack vma: error: x\n");
  /* Cut to fit, still one terminated line. */
  fmt_line (buf, 32, false, CBT_LOG_DEBUG, "%s",
            "0123456789012345678901234567890123456789");
  assert_int_equal (strlen (buf), 31);
  assert_int_equal (buf[30], '\n');

  assert_int_equal (cbt_log_level_parse ("debug", &level), 0);
  assert_int_equal (level, CBT_LOG_DEBUG);
  assert_int_equal (cbt_log_level_parse ("loud", &level), -1);
  assert_int_equal (level, CBT_LOG_DEBUG);
  assert_string_equal (cbt_log_level_name (CBT_LOG_WARNING), "warning");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ids),        cmocka_unit_test (test_sizes),
    cmocka_unit_test (test_durations),  cmocka_unit_test (test_vector),
    cmocka_unit_test (test_log_format),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
