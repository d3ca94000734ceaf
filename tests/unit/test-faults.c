/* Unit tests of src/copy/faults.c: which errors are retried, the backoff
 * schedule, the stop request and its message; and of the progress
 * model's stall detector, which the copier's ticker feeds.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/progress-model.h"
#include "copy/faults.h"

static void
test_classify (void **state)
{
  /* Final: resending cannot help, and must not be tried forever. */
  assert_int_equal (faults_classify (ENOSPC), FAULTS_FINAL);
  assert_int_equal (faults_classify (EDQUOT), FAULTS_FINAL);
  assert_int_equal (faults_classify (EROFS), FAULTS_FINAL);
  assert_int_equal (faults_classify (EPERM), FAULTS_FINAL);
  assert_int_equal (faults_classify (EINVAL), FAULTS_FINAL);
  /* A connection that went away: reconnect, then resend. */
  assert_int_equal (faults_classify (ENOTCONN), FAULTS_LOST);
  assert_int_equal (faults_classify (ESHUTDOWN), FAULTS_LOST);
  assert_int_equal (faults_classify (ECONNRESET), FAULTS_LOST);
  assert_int_equal (faults_classify (EPIPE), FAULTS_LOST);
  assert_int_equal (faults_classify (ETIMEDOUT), FAULTS_LOST);
  /* Anything else may pass: EIO first of all. */
  assert_int_equal (faults_classify (EIO), FAULTS_TRANSIENT);
  assert_int_equal (faults_classify (EAGAIN), FAULTS_TRANSIENT);
  assert_int_equal (faults_classify (ENODATA), FAULTS_TRANSIENT);
}

static void
test_backoff (void **state)
{
  /* The retry schedule: 0.1 s doubling, capped. */
  assert_true (faults_backoff (1, FAULTS_RETRY_BASE, FAULTS_RETRY_CAP) == 0.1);
  assert_true (faults_backoff (2, FAULTS_RETRY_BASE, FAULTS_RETRY_CAP) == 0.2);
  assert_true (faults_backoff (3, FAULTS_RETRY_BASE, FAULTS_RETRY_CAP) == 0.4);
  assert_true (faults_backoff (5, FAULTS_RETRY_BASE, FAULTS_RETRY_CAP) == 1.6);
  assert_true (faults_backoff (6, FAULTS_RETRY_BASE, FAULTS_RETRY_CAP) ==
               FAULTS_RETRY_CAP);
  assert_true (faults_backoff (1000, FAULTS_RETRY_BASE, FAULTS_RETRY_CAP) ==
               FAULTS_RETRY_CAP);
  /* The reconnect schedule. */
  assert_true (
      faults_backoff (1, FAULTS_RECONNECT_BASE, FAULTS_RECONNECT_CAP) == 0.25);
  assert_true (
      faults_backoff (5, FAULTS_RECONNECT_BASE, FAULTS_RECONNECT_CAP) == 4.0);
  assert_true (faults_backoff (6, FAULTS_RECONNECT_BASE,
                               FAULTS_RECONNECT_CAP) == FAULTS_RECONNECT_CAP);
  /* Attempt 0 is the first; nonsense bounds give no negative wait. */
  assert_true (faults_backoff (0, 0.5, 5) == 0.5);
  assert_true (faults_backoff (3, -1, 5) == 0);
  assert_true (faults_backoff (3, 1, -1) == 0);
}

static void
test_policy (void **state)
{
  struct faults_policy p = *faults_policy ();

  assert_int_equal (p.retries, FAULTS_DEFAULT_RETRIES);
  assert_true (p.connect_timeout == FAULTS_DEFAULT_CONNECT_TIMEOUT);
  assert_true (p.io_timeout == FAULTS_DEFAULT_IO_TIMEOUT);
  assert_true (p.reconnect_timeout == FAULTS_DEFAULT_RECONNECT_TIMEOUT);
  p.retries = 2;
  faults_set_policy (&p);
  assert_int_equal (faults_policy ()->retries, 2);
}

static void
test_stop (void **state)
{
  char buf[128];

  assert_int_equal (faults_stop_signal (), 0);
  faults_request_stop (SIGTERM);
  /* The first request wins. */
  faults_request_stop (SIGINT);
  assert_int_equal (faults_stop_signal (), SIGTERM);
  assert_string_equal (faults_stop_message (SIGTERM, buf, sizeof buf),
                       "interrupted by SIGTERM; run the same command to "
                       "resume");
  assert_string_equal (faults_stop_message (SIGHUP, buf, sizeof buf),
                       "interrupted by SIGHUP; run the same command to "
                       "resume");
  /* A cancel asked after a signal does not replace it. */
  faults_request_stop (FAULTS_STOP_CANCEL);
  assert_int_equal (faults_stop_signal (), SIGTERM);
  assert_string_equal (
      faults_stop_message (FAULTS_STOP_CANCEL, buf, sizeof buf),
      "cancelled through the VMA; run the same command to resume");
}

static void
test_stall (void **state)
{
  struct cbt_stall s = { 0 };
  double secs = -1;

  /* The first look is never stalled, whatever the time. */
  assert_false (cbt_stall_check (&s, 0, 100.0, 6.0, &secs));
  assert_true (secs == 0);
  /* Nothing moves: stalled once the threshold is reached. */
  assert_false (cbt_stall_check (&s, 0, 105.9, 6.0, &secs));
  assert_true (cbt_stall_check (&s, 0, 106.0, 6.0, &secs));
  assert_true (secs == 6.0);
  assert_true (cbt_stall_check (&s, 0, 110.0, 6.0, &secs));
  assert_true (secs == 10.0);
  /* One byte moves: no longer stalled, and the count starts again. */
  assert_false (cbt_stall_check (&s, 4096, 111.0, 6.0, &secs));
  assert_true (secs == 0);
  assert_false (cbt_stall_check (&s, 4096, 116.5, 6.0, &secs));
  assert_true (cbt_stall_check (&s, 4096, 117.0, 6.0, &secs));
}

static void
test_stall_aggregate (void **state)
{
  struct cbt_progress a = { .stage = "Transfer",
                            .status = CBT_STATUS_IN_PROGRESS,
                            .total_bytes = 100,
                            .stalled = true,
                            .stalled_seconds = 20 };
  struct cbt_progress b = a, done = a, job;
  struct cbt_aggregate agg;

  b.stalled_seconds = 8;
  done.status = CBT_STATUS_COMPLETED;
  done.stalled = false;
  done.bytes_transferred = 100;

  /* Every running disk stalled: the job is, for the shortest time. */
  cbt_aggregate_init (&agg);
  cbt_aggregate_add (&agg, &a, "a");
  cbt_aggregate_add (&agg, &b, "b");
  cbt_aggregate_add (&agg, &done, "c");
  cbt_aggregate_finish (&agg, NULL, &job);
  assert_true (job.stalled);
  assert_true (job.stalled_seconds == 8);

  /* One running disk moves: the job moves. */
  b.stalled = false;
  cbt_aggregate_init (&agg);
  cbt_aggregate_add (&agg, &a, "a");
  cbt_aggregate_add (&agg, &b, "b");
  cbt_aggregate_finish (&agg, NULL, &job);
  assert_false (job.stalled);
  assert_true (job.stalled_seconds == 0);

  /* A job that ended is not stalled. */
  cbt_aggregate_init (&agg);
  cbt_aggregate_add (&agg, &done, "c");
  cbt_aggregate_finish (&agg, NULL, &job);
  assert_false (job.stalled);
}

static void
test_stall_wire (void **state)
{
  struct cbt_progress p = { .stage = "Transfer",
                            .status = CBT_STATUS_IN_PROGRESS,
                            .total_bytes = 100,
                            .stalled = true,
                            .stalled_seconds = 7.8 };
  struct cbt_update u;
  char *text = cbt_update_encode (&p, "d1", 0);

  assert_non_null (text);
  assert_non_null (strstr (text, "\"stalled\":true,\"stalled_seconds\":7"));
  assert_int_equal (cbt_update_decode (text, strlen (text), &u), 0);
  assert_true (u.has & CBT_HAS_STALLED);
  assert_true (u.stalled);
  assert_true (u.stalled_seconds == 7);
  cbt_update_clear (&u);
  free (text);

  p.stalled = false;
  text = cbt_update_encode (&p, "d1", 0);
  assert_non_null (strstr (text, "\"stalled\":false"));
  assert_null (strstr (text, "stalled_seconds"));
  free (text);

  /* Wrong types are refused. */
  assert_int_equal (cbt_update_decode ("{\"stalled\":1}", 13, &u), -1);
  assert_int_equal (
      cbt_update_decode ("{\"stalled\":true,\"stalled_seconds\":-1}", 37, &u),
      -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_classify),
    cmocka_unit_test (test_backoff),
    cmocka_unit_test (test_policy),
    cmocka_unit_test (test_stop),
    cmocka_unit_test (test_stall),
    cmocka_unit_test (test_stall_aggregate),
    cmocka_unit_test (test_stall_wire),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
