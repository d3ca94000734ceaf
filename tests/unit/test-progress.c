/* Unit tests of src/copy/progress.c and progress-json.c: the numbers of
 * DESIGN §1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "copy/progress.h"
#include "copy/progress-json.h"

static void
test_total_and_percent (void **state)
{
  struct progress p;
  struct progress_snapshot s;

  progress_init (&p, false, 100.0);
  progress_snapshot (&p, 100.0, &s);
  assert_int_equal (s.stage, CBT_STAGE_ANALYSIS);
  assert_int_equal (s.total_bytes, 0);
  assert_true (s.percent == 0);

  progress_set_plan (&p, 1000, 8000, 5000, 2000);
  progress_set_stage (&p, CBT_STAGE_TRANSFER);
  progress_account_done (&p, 250, 200, 50);
  progress_snapshot (&p, 101.0, &s);
  assert_int_equal (s.bytes_transferred, 250);
  assert_int_equal (s.total_bytes, 1000);
  assert_true (s.percent == 25.0);
  assert_int_equal (s.bytes_written, 200);
  assert_int_equal (s.bytes_zero_skipped, 50);
  assert_int_equal (s.capacity_bytes, 8000);

  /* All bytes done but not flushed: not 100 yet. */
  progress_account_done (&p, 750, 750, 0);
  progress_set_stage (&p, CBT_STAGE_FINALIZE);
  progress_snapshot (&p, 102.0, &s);
  assert_int_equal (s.bytes_transferred, 999);
  assert_true (s.percent < 100.0);
  assert_int_equal (s.status, CBT_STATUS_IN_PROGRESS);

  progress_complete (&p, 103.0);
  progress_snapshot (&p, 104.0, &s);
  assert_int_equal (s.bytes_transferred, 1000);
  assert_true (s.percent == 100.0);
  assert_int_equal (s.status, CBT_STATUS_COMPLETED);
  assert_true (s.eta_seconds == 0);
  assert_true (s.elapsed_seconds == 3.0); /* frozen at completion */
  progress_destroy (&p);
}

static void
test_never_exceeds_total (void **state)
{
  struct progress p;
  struct progress_snapshot s;

  progress_init (&p, false, 0);
  progress_set_plan (&p, 100, 100, 0, 0);
  progress_account_done (&p, 500, 500, 0);
  progress_snapshot (&p, 1, &s);
  assert_true (s.bytes_transferred <= s.total_bytes);
  progress_destroy (&p);
}

static void
test_stage_goes_forward_only (void **state)
{
  struct progress p;
  struct progress_snapshot s;

  progress_init (&p, true, 0);
  progress_set_stage (&p, CBT_STAGE_FINALIZE);
  progress_set_stage (&p, CBT_STAGE_TRANSFER);
  progress_snapshot (&p, 1, &s);
  assert_int_equal (s.stage, CBT_STAGE_FINALIZE);
  assert_true (s.incremental);
  progress_destroy (&p);
}

static void
test_zero_total_completes_at_100 (void **state)
{
  struct progress p;
  struct progress_snapshot s;

  progress_init (&p, true, 0);
  progress_set_plan (&p, 0, 1 << 20, 0, 0);
  progress_snapshot (&p, 0.5, &s);
  assert_true (s.percent == 0);
  progress_complete (&p, 1);
  progress_snapshot (&p, 1, &s);
  assert_true (s.percent == 100.0);
  assert_int_equal (s.bytes_transferred, 0);
  progress_destroy (&p);
}

static void
test_throughput_window (void **state)
{
  struct progress p;
  struct progress_snapshot s;
  int i;

  progress_init (&p, false, 0);
  progress_set_plan (&p, 1000000000, 1000000000, 0, 0);
  progress_set_stage (&p, CBT_STAGE_TRANSFER);
  /* No data yet: no throughput, no ETA. */
  progress_snapshot (&p, 0.0, &s);
  progress_snapshot (&p, 1.0, &s);
  assert_true (s.throughput_bps == 0);
  assert_true (s.eta_seconds < 0);

  /* 10 MB/s for 20 s, sampled every 0.1 s. */
  for (i = 1; i <= 200; i++) {
    progress_account_done (&p, 1000000, 1000000, 0);
    progress_snapshot (&p, 1.0 + i * 0.1, &s);
  }
  assert_true (s.throughput_bps > 9.9e6 && s.throughput_bps < 10.1e6);
  /* 800 MB left at 10 MB/s. */
  assert_true (s.eta_seconds > 79 && s.eta_seconds < 81);

  /* Then 40 MB/s: after a full window the old rate is forgotten. */
  for (i = 1; i <= 110; i++) {
    progress_account_done (&p, 4000000, 4000000, 0);
    progress_snapshot (&p, 21.0 + i * 0.1, &s);
  }
  assert_true (s.throughput_bps > 39e6 && s.throughput_bps < 41e6);
  progress_destroy (&p);
}

/* A copy resumed from a checkpoint: the first snapshot already shows the
 * bytes done (stage Resume), and throughput and ETA count only what moves
 * afterwards.
 */
static void
test_resumed (void **state)
{
  struct progress p;
  struct progress_snapshot s;
  int i;

  (void)state;
  progress_init (&p, false, 0);
  progress_set_resumed (&p, 1000000000, 600000000);
  progress_snapshot (&p, 0.5, &s);
  assert_int_equal (s.stage, CBT_STAGE_RESUME);
  assert_int_equal (s.bytes_transferred, 600000000);
  assert_int_equal (s.resumed_bytes, 600000000);
  assert_int_equal (s.total_bytes, 1000000000);
  assert_true (s.percent == 60.0);
  assert_true (s.throughput_bps == 0);
  assert_true (s.eta_seconds < 0);
  /* The analysis confirms the plan's total. */
  progress_set_plan (&p, 1000000000, 2000000000, 0, 0);
  progress_start_transfer (&p, 1.0);
  progress_snapshot (&p, 1.0, &s);
  assert_int_equal (s.stage, CBT_STAGE_TRANSFER);
  assert_int_equal (s.bytes_transferred, 600000000);
  /* 10 MB/s for 10 s: the rate is 10 MB/s, not inflated by the resumed
   * bytes; 300 MB left.
   */
  for (i = 1; i <= 100; i++) {
    progress_account_done (&p, 1000000, 1000000, 0);
    progress_snapshot (&p, 1.0 + i * 0.1, &s);
  }
  assert_true (s.throughput_bps > 9.9e6 && s.throughput_bps < 10.1e6);
  assert_true (s.eta_seconds > 29 && s.eta_seconds < 31);
  /* The average after completion counts what moved in this run only. */
  progress_account_done (&p, 300000000, 300000000, 0);
  progress_complete (&p, 11.0);
  progress_snapshot (&p, 12.0, &s);
  assert_int_equal (s.bytes_transferred, 1000000000);
  assert_true (s.throughput_bps == 400000000.0 / 11.0);
  progress_destroy (&p);
}

static void
test_stall_gives_no_rate (void **state)
{
  struct progress p;
  struct progress_snapshot s;
  int i;

  progress_init (&p, false, 0);
  progress_set_plan (&p, 1000, 1000, 0, 0);
  progress_set_stage (&p, CBT_STAGE_TRANSFER);
  progress_account_done (&p, 100, 100, 0);
  for (i = 0; i < 150; i++)
    progress_snapshot (&p, i * 0.1, &s);
  /* Nothing moved for the whole window: no invented throughput. */
  assert_true (s.throughput_bps == 0);
  assert_true (s.eta_seconds < 0);
  progress_destroy (&p);
}

static void
test_failure_keeps_first_message (void **state)
{
  struct progress p;
  struct progress_snapshot s;

  progress_init (&p, false, 0);
  progress_fail (&p, 1, "read failed");
  progress_fail (&p, 2, "second");
  progress_complete (&p, 3);
  progress_snapshot (&p, 4, &s);
  assert_int_equal (s.status, CBT_STATUS_FAILED);
  assert_string_equal (s.error_message, "read failed");
  progress_destroy (&p);
}

static void
test_json (void **state)
{
  struct progress p;
  struct progress_snapshot s;
  char *json;

  progress_init (&p, true, 0);
  progress_set_plan (&p, 4096, 8192, 0, 0);
  progress_set_stage (&p, CBT_STAGE_TRANSFER);
  progress_snapshot (&p, 1, &s);
  json = progress_json_format (&s, "disk-2000", false);
  assert_non_null (json);
  assert_non_null (strstr (json, "\"disk_id\":\"disk-2000\""));
  assert_non_null (strstr (json, "\"stage\":\"Transfer\""));
  assert_non_null (strstr (json, "\"sync_type\":\"incremental\""));
  assert_non_null (strstr (json, "\"total_bytes\":4096"));
  assert_null (strstr (json, "eta_seconds")); /* unknown: left out */
  free (json);
  json = progress_json_format (&s, NULL, true);
  assert_non_null (strstr (json, "\"eta_seconds\":null"));
  assert_null (strstr (json, "disk_id"));
  free (json);
  progress_destroy (&p);
}

static void
test_queued_time_not_counted (void **state)
{
  struct progress p;
  struct progress_snapshot s;

  progress_init (&p, false, 0);
  progress_set_plan (&p, 100, 100, 0, 0);
  progress_set_queued (&p, 1.0);
  progress_snapshot (&p, 50.0, &s);
  assert_int_equal (s.status, CBT_STATUS_QUEUED);
  assert_true (s.elapsed_seconds == 1.0);
  progress_start_transfer (&p, 51.0);
  progress_snapshot (&p, 53.0, &s);
  assert_int_equal (s.status, CBT_STATUS_IN_PROGRESS);
  assert_int_equal (s.stage, CBT_STAGE_TRANSFER);
  assert_true (s.elapsed_seconds == 3.0);
  progress_destroy (&p);
}

static void
test_aggregate (void **state)
{
  struct progress_snapshot d[3] = {
    { .stage = CBT_STAGE_TRANSFER,
      .status = CBT_STATUS_IN_PROGRESS,
      .bytes_transferred = 100,
      .total_bytes = 400,
      .throughput_bps = 10,
      .error_message = "" },
    { .stage = CBT_STAGE_FINALIZE,
      .status = CBT_STATUS_COMPLETED,
      .bytes_transferred = 600,
      .total_bytes = 600,
      .throughput_bps = 99,
      .error_message = "" },
    { .stage = CBT_STAGE_ANALYSIS,
      .status = CBT_STATUS_QUEUED,
      .bytes_transferred = 0,
      .total_bytes = 0,
      .error_message = "",
      .incremental = true },
  };
  struct progress_snapshot s;

  progress_aggregate (d, 3, &s);
  assert_int_equal (s.bytes_transferred, 700);
  assert_int_equal (s.total_bytes, 1000);
  assert_true (s.percent == 70.0);
  assert_true (s.throughput_bps == 10); /* only running disks */
  assert_true (s.eta_seconds == 30.0);
  assert_int_equal (s.status, CBT_STATUS_IN_PROGRESS);
  assert_int_equal (s.stage, CBT_STAGE_ANALYSIS);
  assert_true (s.incremental);

  /* Everything moved but one disk not completed: below 100. */
  d[0].bytes_transferred = 400;
  d[2].status = CBT_STATUS_IN_PROGRESS;
  progress_aggregate (d, 3, &s);
  assert_true (s.percent < 100.0);

  d[0].status = d[2].status = CBT_STATUS_COMPLETED;
  progress_aggregate (d, 3, &s);
  assert_int_equal (s.status, CBT_STATUS_COMPLETED);
  assert_true (s.percent == 100.0);

  d[1].status = CBT_STATUS_FAILED;
  d[1].error_message = "boom";
  progress_aggregate (d, 3, &s);
  assert_int_equal (s.status, CBT_STATUS_FAILED);
  assert_string_equal (s.error_message, "boom");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_total_and_percent),
    cmocka_unit_test (test_never_exceeds_total),
    cmocka_unit_test (test_stage_goes_forward_only),
    cmocka_unit_test (test_zero_total_completes_at_100),
    cmocka_unit_test (test_throughput_window),
    cmocka_unit_test (test_stall_gives_no_rate),
    cmocka_unit_test (test_failure_keeps_first_message),
    cmocka_unit_test (test_json),
    cmocka_unit_test (test_resumed),
    cmocka_unit_test (test_queued_time_not_counted),
    cmocka_unit_test (test_aggregate),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
