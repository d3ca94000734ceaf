/* Unit tests of src/vma: update parsing, the store, aggregation, expiry,
 * limits and rendering.  Clocks are passed in, so nothing here sleeps.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "vma/render.h"
#include "vma/store.h"
#include "common/progress-model.h"

#define T0 1000.0 /* monotonic clock of the tests */
#define W0 1.7e9  /* wall clock of the tests */

/* Parses BODY (which must be valid) and applies it to JOB at T0 + DT. */
static int
apply_at (struct vma_store *store, const char *job, const char *body,
          double dt)
{
  struct cbt_update u;
  int r;

  if (cbt_update_decode (body, strlen (body), &u) == -1)
    fail_msg ("body refused: %s: %s", body, cbt_get_error ());
  r = vma_store_apply_update (store, job, &u, T0 + dt, W0 + dt);
  cbt_update_clear (&u);
  return r;
}

static int
apply (struct vma_store *store, const char *job, const char *body)
{
  return apply_at (store, job, body, 0);
}

static int
dump_one (const struct vma_job *job, void *opaque)
{
  char **ret = opaque;
  json_t *j = vma_render_job (job, T0 + 5);

  *ret = json_dumps (j, JSON_COMPACT);
  json_decref (j);
  return 0;
}

/* The rendered job as a string (free it), or NULL when unknown. */
static char *
dump (struct vma_store *store, const char *job)
{
  char *s = NULL;

  if (vma_store_visit_job (store, job, dump_one, &s) == -ENOENT)
    return NULL;
  return s;
}

static int
nothing (const struct vma_job *job, void *opaque)
{
  return 0;
}

static bool
exists (struct vma_store *store, const char *job)
{
  return vma_store_visit_job (store, job, nothing, NULL) == 0;
}

static int
progress_one (const struct vma_job *job, void *opaque)
{
  vma_job_progress (job, opaque);
  return 0;
}

static struct cbt_progress
progress (struct vma_store *store, const char *job)
{
  struct cbt_progress p;

  assert_int_equal (vma_store_visit_job (store, job, progress_one, &p), 0);
  return p;
}

static void
test_status_words (void **state)
{
  enum cbt_status s = CBT_STATUS_FAILED;
  enum cbt_sync_type t = CBT_SYNC_INCREMENTAL;

  assert_int_equal (cbt_status_parse ("in_progress", &s), 0);
  assert_int_equal (s, CBT_STATUS_IN_PROGRESS);
  assert_int_equal (cbt_status_parse ("Running", &s), 0);
  assert_int_equal (s, CBT_STATUS_IN_PROGRESS);
  assert_int_equal (cbt_status_parse ("Queued", &s), 0);
  assert_int_equal (s, CBT_STATUS_QUEUED);
  assert_int_equal (cbt_status_parse ("COMPLETED", &s), 0);
  assert_int_equal (s, CBT_STATUS_COMPLETED);
  assert_int_equal (cbt_status_parse ("failed", &s), 0);
  assert_int_equal (s, CBT_STATUS_FAILED);
  assert_int_equal (cbt_status_parse ("paused", &s), -1);
  assert_int_equal (cbt_status_parse ("", &s), -1);
  assert_int_equal (s, CBT_STATUS_FAILED);

  assert_int_equal (cbt_sync_type_parse ("initial", &t), 0);
  assert_int_equal (t, CBT_SYNC_FULL);
  assert_int_equal (cbt_sync_type_parse ("Incremental", &t), 0);
  assert_int_equal (t, CBT_SYNC_INCREMENTAL);
  assert_int_equal (cbt_sync_type_parse ("full", &t), 0);
  assert_int_equal (t, CBT_SYNC_FULL);
  assert_int_equal (cbt_sync_type_parse ("differential", &t), -1);
  assert_string_equal (cbt_status_name (CBT_STATUS_IN_PROGRESS),
                       "in_progress");
  assert_string_equal (cbt_sync_type_name (CBT_SYNC_INCREMENTAL),
                       "incremental");
}

static void
test_parse_valid (void **state)
{
  static const char body[] =
      "{\"disk_id\":\"disk-2000\",\"stage\":\"Transfer\","
      "\"status\":\"in_progress\",\"sync_type\":\"initial\","
      "\"bytes_transferred\":1234,\"total_bytes\":5678,"
      "\"throughput_bps\":99.6,\"percent\":21.7,\"eta_seconds\":40,"
      "\"bytes_written\":1000,\"bytes_zero_skipped\":234,"
      "\"capacity_bytes\":8589934592,\"error_message\":\"\","
      "\"unknown\":{\"ignored\":[1,2]}}";
  struct cbt_update u;

  assert_int_equal (cbt_update_decode (body, strlen (body), &u), 0);
  assert_string_equal (u.disk_id, "disk-2000");
  assert_string_equal (u.stage, "Transfer");
  assert_int_equal (u.status, CBT_STATUS_IN_PROGRESS);
  assert_int_equal (u.sync_type, CBT_SYNC_FULL);
  assert_int_equal (u.bytes_transferred, 1234);
  assert_int_equal (u.total_bytes, 5678);
  assert_int_equal (u.throughput_bps, 100);
  assert_int_equal (u.capacity_bytes, UINT64_C (8589934592));
  assert_true (u.has & CBT_HAS_ETA);
  assert_true (u.has & CBT_HAS_ERROR_MESSAGE);
  cbt_update_clear (&u);

  /* migratekit leaves zero values out: nothing is required. */
  assert_int_equal (cbt_update_decode ("{}", 2, &u), 0);
  assert_int_equal (u.has, 0);
  assert_string_equal (u.disk_id, "");
  cbt_update_clear (&u);

  /* null is "not given" too. */
  assert_int_equal (
      cbt_update_decode ("{\"total_bytes\":null,\"disk_id\":null}", 35, &u),
      0);
  assert_int_equal (u.has, 0);
  cbt_update_clear (&u);
}

static void
test_parse_invalid (void **state)
{
  static const char *const bad[] = {
    "",
    "{",
    "[]",
    "42",
    "\"x\"",
    "{\"bytes_transferred\":-1}",
    "{\"bytes_transferred\":1.5}",
    "{\"bytes_transferred\":\"12\"}",
    "{\"bytes_transferred\":true}",
    "{\"total_bytes\":99999999999999999999}",
    "{\"total_bytes\":-5}",
    "{\"throughput_bps\":-1}",
    "{\"throughput_bps\":\"fast\"}",
    "{\"percent\":101}",
    "{\"percent\":-0.5}",
    "{\"eta_seconds\":-3}",
    "{\"status\":\"paused\"}",
    "{\"status\":3}",
    "{\"sync_type\":\"mirror\"}",
    "{\"disk_id\":\"../etc\"}",
    "{\"disk_id\":\"a b\"}",
    "{\"disk_id\":\"a\\\"b\"}",
    "{\"disk_id\":\"caf\xc3\xa9\"}",
    "{\"disk_id\":5}",
    "{\"stage\":\"a\\nb\"}",
    "{\"stage\":\"0123456789012345678901234567890123\"}",
    "{\"error_message\":7}",
    "{\"total_bytes\":1,\"total_bytes\":2}",
    "{\"x\":\"\xff\"}",
  };
  struct cbt_update u;
  size_t i;

  memset (&u, 0x5a, sizeof u);
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (cbt_update_decode (bad[i], strlen (bad[i]), &u) != -1)
      fail_msg ("accepted: %s", bad[i]);
    assert_int_equal (u.has, 0x5a5a5a5a);
  }
  /* A NUL byte inside the body is not JSON. */
  assert_int_equal (cbt_update_decode ("{}\0", 3, &u), -1);
}

static void
test_parse_long_error_is_cut (void **state)
{
  char body[3000], *p = body;
  struct cbt_update u;
  size_t i;

  p += snprintf (p, 32, "{\"error_message\":\"");
  /* "é" is two bytes: a cut at 1024 must not split one. */
  for (i = 0; i < 1200; i++) {
    *p++ = (char)0xc3;
    *p++ = (char)0xa9;
  }
  p += snprintf (p, 8, "\"}");
  assert_int_equal (cbt_update_decode (body, (size_t)(p - body), &u), 0);
  assert_int_equal (strlen (u.error_message), CBT_ERROR_MAX);
  cbt_update_clear (&u);
}

static void
test_aggregation (void **state)
{
  struct vma_store *store = vma_store_create (NULL);
  struct cbt_progress p;

  assert_int_equal (
      apply (store, "job-1",
             "{\"disk_id\":\"d1\",\"stage\":\"Transfer\",\"status\":"
             "\"in_progress\",\"bytes_transferred\":300,\"total_bytes\":1000,"
             "\"throughput_bps\":100}"),
      0);
  assert_int_equal (
      apply (store, "job-1",
             "{\"disk_id\":\"d2\",\"stage\":\"Transfer\",\"status\":"
             "\"in_progress\",\"sync_type\":\"incremental\","
             "\"bytes_transferred\":200,\"total_bytes\":2000,"
             "\"throughput_bps\":50}"),
      0);
  p = progress (store, "job-1");
  assert_int_equal (p.bytes_transferred, 500);
  assert_int_equal (p.total_bytes, 3000);
  assert_true (p.percent == 16.66); /* rounded down */
  assert_int_equal (p.throughput_bps, 150);
  assert_int_equal (p.status, CBT_STATUS_IN_PROGRESS);
  assert_int_equal (p.sync_type, CBT_SYNC_INCREMENTAL);
  assert_true (p.has_eta);
  assert_true (p.eta_seconds == 2500.0 / 150);

  /* One disk done: its throughput no longer counts. */
  assert_int_equal (
      apply (store, "job-1",
             "{\"disk_id\":\"d1\",\"stage\":\"Finalize\",\"status\":"
             "\"completed\",\"bytes_transferred\":1000}"),
      0);
  p = progress (store, "job-1");
  assert_int_equal (p.bytes_transferred, 1200);
  assert_int_equal (p.throughput_bps, 50);
  assert_int_equal (p.status, CBT_STATUS_IN_PROGRESS);
  assert_string_equal (p.stage, "Transfer");

  /* All done: completed, 100 %, ETA 0, latest stage. */
  assert_int_equal (
      apply (store, "job-1",
             "{\"disk_id\":\"d2\",\"stage\":\"Finalize\",\"status\":"
             "\"completed\",\"bytes_transferred\":2000}"),
      0);
  p = progress (store, "job-1");
  assert_int_equal (p.status, CBT_STATUS_COMPLETED);
  assert_true (p.percent == 100.0);
  assert_int_equal (p.throughput_bps, 0);
  assert_true (p.has_eta && p.eta_seconds == 0);
  assert_string_equal (p.stage, "Finalize");

  /* A failed disk fails the job and lends it its error. */
  assert_int_equal (
      apply (store, "job-2",
             "{\"disk_id\":\"a\",\"status\":\"completed\",\"total_bytes\":5,"
             "\"bytes_transferred\":5}"),
      0);
  assert_int_equal (
      apply (store, "job-2",
             "{\"disk_id\":\"b\",\"status\":\"failed\",\"total_bytes\":5,"
             "\"error_message\":\"read error\"}"),
      0);
  p = progress (store, "job-2");
  assert_int_equal (p.status, CBT_STATUS_FAILED);
  assert_string_equal (p.error_message, "read error");
  assert_string_equal (p.error_disk, "b");
  assert_false (p.has_eta);

  /* Queued disks only: queued, no ETA, 0 %. */
  assert_int_equal (
      apply (store, "job-3",
             "{\"disk_id\":\"a\",\"stage\":\"Analysis\",\"total_bytes\":5}"),
      0);
  p = progress (store, "job-3");
  assert_int_equal (p.status, CBT_STATUS_QUEUED);
  assert_true (p.percent == 0);
  assert_false (p.has_eta);

  /* Nothing to move: completed at once, 100 %. */
  assert_int_equal (
      apply (store, "job-4", "{\"disk_id\":\"a\",\"status\":\"completed\"}"),
      0);
  p = progress (store, "job-4");
  assert_int_equal (p.status, CBT_STATUS_COMPLETED);
  assert_true (p.percent == 100.0);

  /* 100 % only when really done. */
  assert_int_equal (
      apply (store, "job-5",
             "{\"disk_id\":\"a\",\"status\":\"in_progress\","
             "\"bytes_transferred\":9999999,\"total_bytes\":10000000}"),
      0);
  p = progress (store, "job-5");
  assert_true (p.percent == 99.99);

  vma_store_free (store);
}

/* Finds disk probe->disk_id of JOB and takes its progress. */
struct vma_disk_probe {
  const char *disk_id;
  struct cbt_progress p;
};

static int
disk_probe (const struct vma_job *job, void *opaque)
{
  struct vma_disk_probe *probe = opaque;
  size_t i;

  for (i = 0; i < job->disks.len; i++)
    if (strcmp (job->disks.ptr[i].id, probe->disk_id) == 0) {
      vma_disk_progress (&job->disks.ptr[i], &probe->p);
      return 0;
    }
  return -ENOENT;
}

/* Every byte moved but not completed (the target is not flushed yet): the
 * disk and the job are at 99.99 %, never 100 %, until the disk completes.
 */
static void
test_all_bytes_in_progress_is_not_100 (void **state)
{
  struct vma_store *store = vma_store_create (NULL);
  struct cbt_progress p;
  struct vma_disk_probe probe = { .disk_id = "d1" };
  char *text;
  json_t *doc;

  assert_int_equal (apply (store, "j1",
                           "{\"disk_id\":\"d1\",\"status\":\"in_progress\","
                           "\"stage\":\"Transfer\",\"bytes_transferred\":100,"
                           "\"total_bytes\":100}"),
                    0);
  p = progress (store, "j1");
  assert_int_equal (p.status, CBT_STATUS_IN_PROGRESS);
  assert_true (p.percent == 99.99);
  assert_int_equal (vma_store_visit_job (store, "j1", disk_probe, &probe), 0);
  assert_true (probe.p.percent == 99.99);
  /* The same in the job document. */
  text = dump (store, "j1");
  doc = json_loads (text, 0, NULL);
  assert_non_null (doc);
  assert_true (json_real_value (json_object_get (doc, "percent")) == 99.99);
  assert_true (json_real_value (json_object_get (
                   json_array_get (json_object_get (doc, "disks"), 0),
                   "percent")) == 99.99);
  json_decref (doc);
  free (text);

  /* A job without disks follows the same rule. */
  assert_int_equal (apply (store, "j2",
                           "{\"status\":\"in_progress\","
                           "\"bytes_transferred\":7,\"total_bytes\":7}"),
                    0);
  p = progress (store, "j2");
  assert_true (p.percent == 99.99);

  /* Completed: 100. */
  assert_int_equal (
      apply (store, "j1", "{\"disk_id\":\"d1\",\"status\":\"completed\"}"), 0);
  p = progress (store, "j1");
  assert_int_equal (p.status, CBT_STATUS_COMPLETED);
  assert_true (p.percent == 100.0);
  vma_store_free (store);
}

static void
test_migratekit_bodies (void **state)
{
  struct vma_store *store = vma_store_create (NULL);
  struct cbt_progress p;

  /* As the original client sends them: zero values left out, "initial",
   * capitalised words, job-level (no disk_id).
   */
  assert_int_equal (apply (store, "migration-vol-c290646c",
                           "{\"stage\":\"Transfer\",\"status\":\"Queued\","
                           "\"bytes_transferred\":0,\"total_bytes\":"
                           "42949672960,\"throughput_bps\":0}"),
                    0);
  p = progress (store, "migration-vol-c290646c");
  assert_int_equal (p.status, CBT_STATUS_QUEUED);
  assert_int_equal (p.total_bytes, UINT64_C (42949672960));
  assert_int_equal (
      apply (store, "migration-vol-c290646c",
             "{\"stage\":\"Transfer\",\"bytes_transferred\":933232640,"
             "\"total_bytes\":42949672960,\"throughput_bps\":104857600,"
             "\"percent\":2.1728515625,\"sync_type\":\"initial\"}"),
      0);
  p = progress (store, "migration-vol-c290646c");
  /* No status given, bytes moving: running. */
  assert_int_equal (p.status, CBT_STATUS_IN_PROGRESS);
  assert_true (p.percent == 2.17);
  assert_int_equal (p.sync_type, CBT_SYNC_FULL);
  assert_int_equal (p.throughput_bps, 104857600);
  assert_int_equal (
      apply (store, "migration-vol-c290646c",
             "{\"stage\":\"Transfer\",\"status\":\"completed\","
             "\"bytes_transferred\":42949672960,\"total_bytes\":42949672960,"
             "\"percent\":100}"),
      0);
  p = progress (store, "migration-vol-c290646c");
  assert_int_equal (p.status, CBT_STATUS_COMPLETED);
  assert_true (p.percent == 100.0);

  assert_int_equal (apply (store, "job-20250925-134230.513-8034ee",
                           "{\"stage\":\"Transfer\",\"status\":\"failed\","
                           "\"sync_type\":\"incremental\",\"error_message\":"
                           "\"nbd: connection reset\"}"),
                    0);
  p = progress (store, "job-20250925-134230.513-8034ee");
  assert_int_equal (p.status, CBT_STATUS_FAILED);
  assert_int_equal (p.sync_type, CBT_SYNC_INCREMENTAL);
  assert_string_equal (p.error_message, "nbd: connection reset");
  vma_store_free (store);
}

static void
test_invalid_changes_nothing (void **state)
{
  struct vma_store *store = vma_store_create (
      &(struct vma_store_limits){ .max_disks = 2, .max_jobs = 2 });
  char *before, *after;

  assert_int_equal (
      apply (store, "j",
             "{\"disk_id\":\"a\",\"bytes_transferred\":10,\"total_bytes\":20,"
             "\"error_message\":\"kept\",\"status\":\"in_progress\"}"),
      0);
  assert_int_equal (apply (store, "j", "{\"disk_id\":\"b\"}"), 0);
  before = dump (store, "j");
  assert_non_null (before);

  /* Transferred beyond total, on an existing and on a new disk. */
  assert_int_equal (apply (store, "j",
                           "{\"disk_id\":\"a\",\"bytes_transferred\":21,"
                           "\"error_message\":\"lost\"}"),
                    -EINVAL);
  assert_int_equal (apply (store, "j", "{\"bytes_transferred\":1}"), -EINVAL);
  /* A third disk: over the limit. */
  assert_int_equal (apply (store, "j", "{\"disk_id\":\"c\"}"), -E2BIG);
  /* Sums that would not fit a JSON integer. */
  assert_int_equal (
      apply (store, "j",
             "{\"disk_id\":\"b\",\"total_bytes\":9223372036854775800}"),
      -EINVAL);
  after = dump (store, "j");
  assert_string_equal (before, after);
  free (after);

  /* Invalid new jobs are not created, and the job limit holds. */
  assert_int_equal (apply (store, "k", "{\"bytes_transferred\":5}"), -EINVAL);
  assert_false (exists (store, "k"));
  assert_int_equal (apply (store, "k", "{}"), 0);
  assert_int_equal (apply (store, "l", "{}"), -ENOSPC);
  assert_false (exists (store, "l"));
  /* Known jobs still take updates when the store is full. */
  assert_int_equal (apply (store, "k", "{\"total_bytes\":5}"), 0);
  {
    struct cbt_update u = { 0 };
    assert_int_equal (vma_store_apply_update (store, "../x", &u, T0, W0),
                      -EINVAL);
  }
  after = dump (store, "j");
  assert_string_equal (before, after);
  free (before);
  free (after);
  vma_store_free (store);
}

static void
test_expiry (void **state)
{
  struct vma_store *store =
      vma_store_create (&(struct vma_store_limits){ .job_ttl = 60 });
  struct vma_store_stats st;

  assert_int_equal (apply_at (store, "done",
                              "{\"disk_id\":\"a\",\"status\":"
                              "\"completed\"}",
                              0),
                    0);
  assert_int_equal (apply_at (store, "failed", "{\"status\":\"failed\"}", 30),
                    0);
  assert_int_equal (
      apply_at (store, "running", "{\"status\":\"in_progress\"}", 0), 0);
  assert_int_equal (vma_store_expire (store, T0 + 59), 0);
  assert_int_equal (vma_store_expire (store, T0 + 60), 1);
  assert_false (exists (store, "done"));
  assert_true (exists (store, "failed"));
  /* An update resets the clock (a final job takes one as a new run). */
  assert_int_equal (apply_at (store, "failed",
                              "{\"status\":\"failed\",\"new_run\":true}", 80),
                    0);
  assert_int_equal (vma_store_expire (store, T0 + 120), 0);
  assert_int_equal (vma_store_expire (store, T0 + 140), 1);
  /* Unfinished jobs stay, however old. */
  assert_int_equal (vma_store_expire (store, T0 + 1e7), 0);
  vma_store_get_stats (store, &st);
  assert_int_equal (st.jobs, 1);
  assert_int_equal (st.jobs_expired, 2);
  assert_int_equal (vma_store_delete (store, "running"), 0);
  assert_int_equal (vma_store_delete (store, "running"), -ENOENT);
  vma_store_get_stats (store, &st);
  assert_int_equal (st.jobs, 0);
  vma_store_free (store);
}

static int
collect_id (const struct vma_job *job, void *opaque)
{
  char *ids = opaque;
  size_t len = strlen (ids);

  snprintf (ids + len, 64 - len, "%s ", job->id);
  return 0;
}

static void
test_many_jobs_newest_first (void **state)
{
  struct vma_store *store = vma_store_create (NULL);
  struct vma_store_stats st;
  char id[32], ids[64] = "";
  char *s;
  int i;

  /* Enough jobs for the hash table to grow several times. */
  for (i = 0; i < 5000; i++) {
    snprintf (id, sizeof id, "job-%d", i);
    assert_int_equal (apply (store, id, "{\"disk_id\":\"d\"}"), 0);
  }
  for (i = 0; i < 5000; i += 499) {
    snprintf (id, sizeof id, "job-%d", i);
    s = dump (store, id);
    assert_non_null (s);
    free (s);
  }
  vma_store_get_stats (store, &st);
  assert_int_equal (st.jobs, 5000);
  assert_int_equal (st.disks, 5000);
  for (i = 0; i < 4997; i++) {
    snprintf (id, sizeof id, "job-%d", i);
    assert_int_equal (vma_store_delete (store, id), 0);
  }
  vma_store_visit_all (store, collect_id, ids, NULL);
  assert_string_equal (ids, "job-4999 job-4998 job-4997 ");
  vma_store_free (store);
}

static void
test_render (void **state)
{
  struct vma_store *store = vma_store_create (NULL);
  char *s;

  assert_int_equal (
      apply (store, "job-1",
             "{\"disk_id\":\"disk-2000\",\"stage\":\"Transfer\",\"status\":"
             "\"in_progress\",\"bytes_transferred\":1234,\"total_bytes\":5678,"
             "\"throughput_bps\":99,\"bytes_written\":1000,"
             "\"bytes_zero_skipped\":234,\"capacity_bytes\":8589934592}"),
      0);
  s = dump (store, "job-1");
  assert_string_equal (
      s, "{\"job_id\":\"job-1\",\"stage\":\"Transfer\",\"status\":"
         "\"in_progress\",\"sync_type\":\"full\",\"bytes_transferred\":1234,"
         "\"resumed_bytes\":0,\"total_bytes\":5678,\"percent\":21.73,"
         "\"throughput_bps\":99,\"eta_seconds\":45,\"stalled\":false,"
         "\"started_at\":\"2023-11-14T22:13:20Z\","
         "\"updated_at\":\"2023-11-14T22:13:20Z\","
         "\"seconds_since_update\":5,\"run\":1,"
         "\"seconds_since_run_start\":5,\"error_message\":\"\",\"disks\":[{"
         "\"disk_id\":\"disk-2000\",\"stage\":\"Transfer\",\"status\":"
         "\"in_progress\",\"sync_type\":\"full\",\"bytes_transferred\":1234,"
         "\"resumed_bytes\":0,\"total_bytes\":5678,\"percent\":21.73,"
         "\"throughput_bps\":99,\"eta_seconds\":45,\"stalled\":false,"
         "\"bytes_written\":1000,\"bytes_zero_skipped\":234,"
         "\"capacity_bytes\":8589934592,\"updated_at\":"
         "\"2023-11-14T22:13:20Z\",\"seconds_since_update\":5,"
         "\"error_message\":\"\"}]}");
  free (s);
  vma_store_free (store);
}

/* Applies BODY to JOB at T0 + DT and returns whether the answer asks the
 * sender to stop (vma_transition.cancel).
 */
static bool
apply_cancels (struct vma_store *store, const char *job, const char *body,
               double dt)
{
  struct vma_transition t;
  struct cbt_update u;

  if (cbt_update_decode (body, strlen (body), &u) == -1)
    fail_msg ("body refused: %s: %s", body, cbt_get_error ());
  assert_int_equal (
      vma_store_apply_update_noting (store, job, &u, T0 + dt, W0 + dt, &t), 0);
  cbt_update_clear (&u);
  return t.cancel;
}

/* A cancel: refused for an unknown or finished job; once asked, every
 * answer says "cancel" and the document shows it; the job that then fails
 * is cancelled; a new run of it (the same command again, another sender)
 * clears the request.
 */
static void
test_cancel (void **state)
{
  struct vma_store *store = vma_store_create (NULL);
  const char *run = "{\"disk_id\":\"d\",\"status\":\"in_progress\","
                    "\"sender_id\":\"a\",\"bytes_transferred\":1,"
                    "\"total_bytes\":10}";
  char *doc;

  (void)state;
  assert_int_equal (vma_store_cancel (store, "nope"), -ENOENT);
  assert_false (apply_cancels (store, "j", run, 0));
  doc = dump (store, "j");
  assert_null (strstr (doc, "cancel"));
  free (doc);
  assert_int_equal (vma_store_cancel (store, "j"), 0);
  assert_int_equal (vma_store_cancel (store, "j"), 0);
  assert_true (apply_cancels (store, "j", run, 1));
  doc = dump (store, "j");
  assert_non_null (strstr (doc, "\"cancel_requested\":true,"
                                "\"cancelled\":false"));
  free (doc);
  assert_true (apply_cancels (
      store, "j",
      "{\"disk_id\":\"d\",\"status\":\"failed\",\"sender_id\":\"a\","
      "\"error_message\":\"cancelled\"}",
      2));
  doc = dump (store, "j");
  assert_non_null (strstr (doc, "\"cancelled\":true"));
  free (doc);
  assert_int_equal (vma_store_cancel (store, "j"), -EALREADY);
  /* The same command again, at once: a new sender, a new run. */
  assert_false (apply_cancels (
      store, "j",
      "{\"disk_id\":\"d\",\"status\":\"in_progress\",\"sender_id\":\"b\","
      "\"new_run\":true,\"bytes_transferred\":5,\"total_bytes\":10}",
      3));
  doc = dump (store, "j");
  assert_null (strstr (doc, "cancel"));
  free (doc);
  vma_store_free (store);
}

/* The ids of a query's snapshot, in order, each followed by a space. */
static void
query_ids (struct vma_store *store, const struct vma_list_query *q, char *buf,
           size_t size, uint64_t *ret_version, bool *ret_more)
{
  struct vma_job *jobs;
  size_t n, i;

  assert_int_equal (
      vma_store_snapshot_query (store, q, &jobs, &n, ret_version, ret_more),
      0);
  buf[0] = '\0';
  for (i = 0; i < n; i++) {
    size_t len = strlen (buf);

    snprintf (buf + len, size - len, "%s ", jobs[i].id);
  }
  vma_store_snapshot_free (jobs, n);
}

static void
test_list_query_parse (void **state)
{
  struct vma_list_query q;

  assert_int_equal (vma_list_query_parse (NULL, NULL, NULL, NULL, &q), 0);
  assert_int_equal (q.limit, 0);
  assert_string_equal (q.after, "");
  assert_false (q.has_status);
  assert_int_equal (q.since, 0);
  assert_int_equal (vma_list_query_parse ("100", "job-7", "Running", "42", &q),
                    0);
  assert_int_equal (q.limit, 100);
  assert_string_equal (q.after, "job-7");
  assert_true (q.has_status);
  assert_int_equal (q.status, CBT_STATUS_IN_PROGRESS);
  assert_int_equal (q.since, 42);
  q.limit = 7;
  assert_int_equal (vma_list_query_parse ("0", NULL, NULL, NULL, &q), -1);
  assert_int_equal (q.limit, 7); /* untouched */
  assert_int_equal (vma_list_query_parse ("10001", NULL, NULL, NULL, &q), -1);
  assert_int_equal (vma_list_query_parse ("-1", NULL, NULL, NULL, &q), -1);
  assert_int_equal (vma_list_query_parse ("1x", NULL, NULL, NULL, &q), -1);
  assert_int_equal (vma_list_query_parse (NULL, "../x", NULL, NULL, &q), -1);
  assert_int_equal (vma_list_query_parse (NULL, NULL, "done", NULL, &q), -1);
  assert_int_equal (vma_list_query_parse (NULL, NULL, NULL, "v1", &q), -1);
  assert_int_equal (vma_list_query_parse (NULL, NULL, NULL, "", &q), -1);
  assert_int_equal (
      vma_list_query_parse (NULL, NULL, NULL, "99999999999999999999999", &q),
      -1);
}

static void
test_list_pages_and_since (void **state)
{
  struct vma_store *store = vma_store_create (NULL);
  struct vma_list_query q;
  char ids[256];
  uint64_t version, v2;
  bool more;

  assert_int_equal (apply (store, "b", "{\"status\":\"in_progress\"}"), 0);
  assert_int_equal (apply (store, "d", "{\"status\":\"completed\"}"), 0);
  assert_int_equal (apply (store, "a", "{\"status\":\"in_progress\"}"), 0);
  assert_int_equal (apply (store, "c", "{\"status\":\"queued\"}"), 0);

  /* No query: every job, newest first, as before. */
  assert_int_equal (vma_list_query_parse (NULL, NULL, NULL, NULL, &q), 0);
  query_ids (store, &q, ids, sizeof ids, &version, &more);
  assert_string_equal (ids, "c a d b ");
  assert_int_equal (version, 4);
  assert_false (more);

  /* Pages by id: the cursor is the last id of a page. */
  assert_int_equal (vma_list_query_parse ("3", NULL, NULL, NULL, &q), 0);
  query_ids (store, &q, ids, sizeof ids, &version, &more);
  assert_string_equal (ids, "a b c ");
  assert_true (more);
  assert_int_equal (vma_list_query_parse ("3", "c", NULL, NULL, &q), 0);
  query_ids (store, &q, ids, sizeof ids, &version, &more);
  assert_string_equal (ids, "d ");
  assert_false (more);

  /* By status, aggregated. */
  assert_int_equal (vma_list_query_parse (NULL, NULL, "in_progress", NULL, &q),
                    0);
  query_ids (store, &q, ids, sizeof ids, &version, &more);
  assert_string_equal (ids, "a b ");

  /* Since a version: only what changed after it. */
  assert_int_equal (apply (store, "b", "{\"stage\":\"Transfer\"}"), 0);
  assert_int_equal (apply (store, "e", "{\"status\":\"queued\"}"), 0);
  assert_int_equal (vma_list_query_parse (NULL, NULL, NULL, "4", &q), 0);
  query_ids (store, &q, ids, sizeof ids, &v2, &more);
  assert_string_equal (ids, "e b ");
  assert_int_equal (v2, 6);
  assert_int_equal (vma_list_query_parse (NULL, NULL, NULL, "6", &q), 0);
  query_ids (store, &q, ids, sizeof ids, &v2, &more);
  assert_string_equal (ids, "");
  /* An invalid update changes nothing, the version neither. */
  assert_int_not_equal (
      apply (store, "b", "{\"bytes_transferred\":9,\"total_bytes\":1}"), 0);
  query_ids (store, &q, ids, sizeof ids, &v2, &more);
  assert_string_equal (ids, "");
  assert_int_equal (v2, 6);
  vma_store_free (store);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_status_words),
    cmocka_unit_test (test_parse_valid),
    cmocka_unit_test (test_parse_invalid),
    cmocka_unit_test (test_parse_long_error_is_cut),
    cmocka_unit_test (test_aggregation),
    cmocka_unit_test (test_all_bytes_in_progress_is_not_100),
    cmocka_unit_test (test_migratekit_bodies),
    cmocka_unit_test (test_invalid_changes_nothing),
    cmocka_unit_test (test_expiry),
    cmocka_unit_test (test_many_jobs_newest_first),
    cmocka_unit_test (test_render),
    cmocka_unit_test (test_cancel),
    cmocka_unit_test (test_list_query_parse),
    cmocka_unit_test (test_list_pages_and_since),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
