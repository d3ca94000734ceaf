/* Unit tests of src/common/progress-model.c: the percent and ETA rules,
 * the vocabularies, a round trip of both wire documents through every
 * part (copier → VMA → OMA), and random sequences of updates.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "common/progress-model.h"
#include "copy/progress-json.h"
#include "copy/progress.h"
#include "oma/poll-logic.h"
#include "vma/render.h"
#include "vma/store.h"

static void
test_percent_rule (void **state)
{
  /* Nothing to move: 100 only when completed. */
  assert_true (cbt_percent (0, 0, false) == 0.0);
  assert_true (cbt_percent (0, 0, true) == 100.0);
  /* Floored to 0.01, never rounded up. */
  assert_true (cbt_percent (2, 3, false) == 66.66);
  assert_true (cbt_percent (1, 3, false) == 33.33);
  assert_true (cbt_percent (1, 2, false) == 50.0);
  assert_true (cbt_percent (1, 10001, false) == 0.0);
  /* At most 99.99 until completed, even with every byte moved. */
  assert_true (cbt_percent (999999, 1000000, false) == 99.99);
  assert_true (cbt_percent (100, 100, false) == 99.99);
  assert_true (cbt_percent (200, 100, false) == 99.99);
  /* Completed is 100 whatever the bytes say. */
  assert_true (cbt_percent (5, 10, true) == 100.0);
  /* Huge numbers do not overflow. */
  assert_true (cbt_percent (UINT64_MAX / 2, UINT64_MAX, false) == 50.0);
  assert_true (cbt_percent (UINT64_MAX - 1, UINT64_MAX, false) == 99.99);
  assert_true (cbt_percent (INT64_MAX / 2, INT64_MAX, false) == 50.0);

  assert_int_equal (cbt_percent_shown (0), 0);
  assert_int_equal (cbt_percent_shown (66.66), 67);
  assert_int_equal (cbt_percent_shown (99.5), 99);
  assert_int_equal (cbt_percent_shown (99.99), 99);
  assert_int_equal (cbt_percent_shown (100), 100);
  assert_int_equal (cbt_percent_shown (NAN), 0);
}

static void
test_eta_rule (void **state)
{
  double eta = -7;

  assert_true (cbt_eta (CBT_STATUS_COMPLETED, 0, 100, 0, &eta));
  assert_true (eta == 0);
  assert_true (cbt_eta (CBT_STATUS_IN_PROGRESS, 25, 125, 10, &eta));
  assert_true (eta == 10);
  eta = -7;
  /* No throughput, no ETA: nothing is invented. */
  assert_false (cbt_eta (CBT_STATUS_IN_PROGRESS, 25, 125, 0, &eta));
  assert_false (cbt_eta (CBT_STATUS_QUEUED, 25, 125, 10, &eta));
  assert_false (cbt_eta (CBT_STATUS_FAILED, 25, 125, 10, &eta));
  /* A trickle over a huge disk: past CBT_ETA_MAX, which a VMA refuses,
   * the ETA is unknown rather than a number that fails the update.
   */
  assert_false (
      cbt_eta (CBT_STATUS_IN_PROGRESS, 0, UINT64_C (1) << 60, 1, &eta));
  assert_true (eta == -7); /* untouched */
}

static void
test_words (void **state)
{
  enum cbt_status st;
  enum cbt_stage sg;
  enum cbt_sync_type sy;
  int i;

  for (i = CBT_STATUS_QUEUED; i <= CBT_STATUS_FAILED; i++) {
    assert_int_equal (cbt_status_parse (cbt_status_name (i), &st), 0);
    assert_int_equal (st, i);
  }
  for (i = CBT_STAGE_ANALYSIS; i <= CBT_STAGE_FINALIZE; i++) {
    assert_int_equal (cbt_stage_parse (cbt_stage_name (i), &sg), 0);
    assert_int_equal (sg, i);
    assert_int_equal (cbt_stage_rank (cbt_stage_name (i)), i);
  }
  for (i = CBT_SYNC_FULL; i <= CBT_SYNC_INCREMENTAL; i++) {
    assert_int_equal (cbt_sync_type_parse (cbt_sync_type_name (i), &sy), 0);
    assert_int_equal (sy, i);
  }
  assert_string_equal (cbt_status_name (CBT_STATUS_IN_PROGRESS),
                       "in_progress");
  assert_string_equal (cbt_stage_name (CBT_STAGE_FINALIZE), "Finalize");
  assert_int_equal (cbt_stage_rank ("Verify"), CBT_STAGE_TRANSFER);
  /* A resumed copy's stage comes between its analysis and its transfer. */
  assert_true (cbt_stage_rank ("Analysis") < cbt_stage_rank ("resume"));
  assert_true (cbt_stage_rank ("Resume") < cbt_stage_rank ("Transfer"));
  assert_int_equal (cbt_status_parse ("Pending", &st), 0);
  assert_int_equal (st, CBT_STATUS_QUEUED);
  st = CBT_STATUS_FAILED;
  assert_int_equal (cbt_status_parse ("paused", &st), -1);
  assert_int_equal (st, CBT_STATUS_FAILED);
  assert_int_equal (cbt_sync_type_parse ("initial", &sy), 0);
  assert_int_equal (sy, CBT_SYNC_FULL);
}

/* resumed_bytes goes out in every update and is read back. */
static void
test_resumed_bytes_field (void **state)
{
  struct cbt_progress p = { .stage = "Resume",
                            .status = CBT_STATUS_IN_PROGRESS,
                            .bytes_transferred = 700,
                            .resumed_bytes = 600,
                            .total_bytes = 1000 };
  struct cbt_update u;
  char *body;

  (void)state;
  cbt_progress_derive (&p);
  body = cbt_update_encode (&p, "d1", 0);
  assert_non_null (body);
  assert_non_null (strstr (body, "\"resumed_bytes\":600"));
  assert_int_equal (cbt_update_decode (body, strlen (body), &u), 0);
  assert_true (u.has & CBT_HAS_RESUMED_BYTES);
  assert_int_equal (u.resumed_bytes, 600);
  assert_string_equal (u.stage, "Resume");
  cbt_update_clear (&u);
  free (body);

  /* The job document carries it too, with the run that resumed. */
  {
    struct cbt_doc_times t = { .run = 2, .run_age = 7.9, .age = 1 };
    json_t *doc = cbt_job_doc_encode ("job-1", &p, &t);
    struct cbt_doc_job job;

    assert_non_null (doc);
    assert_int_equal (cbt_job_doc_decode (doc, true, &job), 0);
    assert_int_equal (job.resumed_bytes, 600);
    assert_int_equal (job.bytes_transferred, 700);
    assert_int_equal (job.run, 2);
    assert_true (job.seconds_since_run_start == 7);
    cbt_doc_job_reset (&job);
    json_decref (doc);
  }
}

static int
copy_runs (const struct vma_job *job, void *opaque)
{
  double *ret = opaque;

  ret[0] = job->run;
  ret[1] = job->run_started_mono;
  ret[2] = (double)job->disks.ptr[0].rec.resumed_bytes;
  return 0;
}

/* The VMA counts a job's runs: a new run of a final disk starts the next
 * one; a new run of a disk that is still running, or of a new disk, does
 * not.
 */
static void
test_vma_job_runs (void **state)
{
  struct vma_store *store = vma_store_create (NULL);
  struct cbt_update u = { .new_run = true };
  double runs[3];

  (void)state;
  assert_non_null (store);
  snprintf (u.disk_id, sizeof u.disk_id, "d1");
  u.has = CBT_HAS_STATUS | CBT_HAS_TOTAL_BYTES;
  u.status = CBT_STATUS_IN_PROGRESS;
  u.total_bytes = 100;
  assert_int_equal (vma_store_apply_update (store, "j", &u, 1, 1), 0);
  assert_int_equal (vma_store_apply_update (store, "j", &u, 2, 2), 0);
  assert_int_equal (vma_store_visit_job (store, "j", copy_runs, runs), 0);
  assert_true (runs[0] == 1 && runs[1] == 1);

  u.new_run = false;
  u.status = CBT_STATUS_FAILED;
  assert_int_equal (vma_store_apply_update (store, "j", &u, 3, 3), 0);
  u.new_run = true;
  u.status = CBT_STATUS_IN_PROGRESS;
  u.has |= CBT_HAS_RESUMED_BYTES;
  u.resumed_bytes = 40;
  assert_int_equal (vma_store_apply_update (store, "j", &u, 9, 9), 0);
  assert_int_equal (vma_store_visit_job (store, "j", copy_runs, runs), 0);
  assert_true (runs[0] == 2 && runs[1] == 9 && runs[2] == 40);

  /* A new sender taking over a running disk (its copier was killed and
   * the command run again) starts run 3; its repeat does not.
   */
  snprintf (u.sender_id, sizeof u.sender_id, "copier-2");
  assert_int_equal (vma_store_apply_update (store, "j", &u, 30, 30), 0);
  assert_int_equal (vma_store_apply_update (store, "j", &u, 31, 31), 0);
  assert_int_equal (vma_store_visit_job (store, "j", copy_runs, runs), 0);
  assert_true (runs[0] == 3 && runs[1] == 30);
  vma_store_free (store);
}

/* ---- helpers for the round trips ---- */

static int
render_one (const struct vma_job *job, void *opaque)
{
  char **ret = opaque;
  json_t *j = vma_render_job (job, 0);

  /* As the service sends it (common/httpd.c). */
  *ret = json_dumps (j, JSON_COMPACT | JSON_REAL_PRECISION (15));
  json_decref (j);
  return 0;
}

/* The job document of JOB_ID, decoded the way the OMA decodes it. */
static void
vma_to_oma (struct vma_store *store, const char *job_id,
            struct cbt_doc_job *ret)
{
  char *text = NULL;

  assert_int_equal (vma_store_visit_job (store, job_id, render_one, &text), 0);
  assert_non_null (text);
  if (oma_vma_job_parse (text, strlen (text), ret) == -1)
    fail_msg ("the OMA refused %s: %s", text, cbt_get_error ());
  free (text);
}

/* Sends BODY, an update document, to STORE for JOB_ID. */
static void
post (struct vma_store *store, const char *job_id, const char *body)
{
  struct cbt_update u;

  if (cbt_update_decode (body, strlen (body), &u) == -1)
    fail_msg ("the VMA refused %s: %s", body, cbt_get_error ());
  assert_int_equal (vma_store_apply_update (store, job_id, &u, 10, 1.7e9), 0);
  cbt_update_clear (&u);
}

static int
job_progress_one (const struct vma_job *job, void *opaque)
{
  vma_job_progress (job, opaque);
  return 0;
}

static struct cbt_progress
vma_progress_of (struct vma_store *store, const char *job_id)
{
  struct cbt_progress p;

  assert_int_equal (vma_store_visit_job (store, job_id, job_progress_one, &p),
                    0);
  return p;
}

/* Puts the copier's disk P into STATUS: 400 of 1000 bytes moved, or all
 * of them when completed.
 */
static void
copier_disk (struct progress *p, enum cbt_status status)
{
  progress_init (p, status == CBT_STATUS_FAILED, 100.0);
  progress_set_plan (p, 1000, 4096, 2048, 1048);
  if (status == CBT_STATUS_QUEUED) {
    progress_set_queued (p, 100.5);
    return;
  }
  progress_start_transfer (p, 101.0);
  progress_account_done (p, 400, 300, 100);
  switch (status) {
  case CBT_STATUS_COMPLETED:
    progress_account_done (p, 600, 600, 0);
    progress_set_stage (p, CBT_STAGE_FINALIZE);
    progress_complete (p, 102.0);
    break;
  case CBT_STATUS_FAILED: progress_fail (p, 102.0, "read error"); break;
  default: break;
  }
}

/* For every status: the copier encodes a disk's update, the VMA decodes
 * it, aggregates the job and renders its document, the OMA parses that
 * and decides the row.  Every part agrees on status, bytes and percent.
 */
static void
test_round_trip_every_status (void **state)
{
  static const char *const rows[] = {
    [CBT_STATUS_QUEUED] = "pending",
    [CBT_STATUS_IN_PROGRESS] = "replicating",
    [CBT_STATUS_COMPLETED] = "completed",
    [CBT_STATUS_FAILED] = "failed",
  };
  struct vma_store *store = vma_store_create (NULL);
  int status;

  for (status = CBT_STATUS_QUEUED; status <= CBT_STATUS_FAILED; status++) {
    struct progress disk;
    struct progress_snapshot s;
    struct cbt_progress vp;
    struct cbt_doc_job doc;
    struct oma_job known;
    struct oma_update u;
    char job_id[32], *body;
    double want_percent;

    snprintf (job_id, sizeof job_id, "job-%d", status);
    copier_disk (&disk, status);
    progress_snapshot (&disk, 103.0, &s);
    assert_int_equal (s.status, status);
    body = progress_json_format (&s, "disk-1", false);
    assert_non_null (body);
    post (store, job_id, body);
    free (body);

    want_percent = cbt_percent (s.bytes_transferred, s.total_bytes,
                                status == CBT_STATUS_COMPLETED);
    assert_true (s.percent == want_percent);

    vp = vma_progress_of (store, job_id);
    assert_int_equal (vp.status, status);
    assert_int_equal (vp.bytes_transferred, s.bytes_transferred);
    assert_int_equal (vp.total_bytes, s.total_bytes);
    assert_true (vp.percent == want_percent);
    assert_int_equal (vp.sync_type, status == CBT_STATUS_FAILED
                                        ? CBT_SYNC_INCREMENTAL
                                        : CBT_SYNC_FULL);

    vma_to_oma (store, job_id, &doc);
    assert_string_equal (doc.job_id, job_id);
    assert_int_equal (doc.status, status);
    assert_true (doc.has_sync_type);
    assert_int_equal (doc.sync_type, vp.sync_type);
    assert_int_equal (doc.bytes_transferred, s.bytes_transferred);
    assert_int_equal (doc.total_bytes, s.total_bytes);
    assert_true (doc.percent == want_percent);
    assert_int_equal (doc.disks.len, 1);
    assert_string_equal (doc.disks.ptr[0].disk_id, "disk-1");
    assert_int_equal (doc.disks.ptr[0].status, status);
    assert_int_equal (doc.disks.ptr[0].capacity_bytes, 4096);
    assert_true (doc.disks.ptr[0].percent == want_percent);
    if (status == CBT_STATUS_FAILED)
      assert_string_equal (doc.error_message, "disk disk-1: read error");
    else
      assert_string_equal (doc.error_message, "");
    assert_true (doc.has_eta == (status == CBT_STATUS_COMPLETED));

    memset (&known, 0, sizeof known);
    oma_copy_text (known.id, sizeof known.id, job_id);
    oma_copy_text (known.status, sizeof known.status, "replicating");
    assert_true (oma_poll_decide (&known, OMA_FETCH_OK, &doc, NULL, 1700000000,
                                  300, &u));
    assert_int_equal (u.kind, OMA_UPDATE_PROGRESS);
    assert_string_equal (u.job.status, rows[status]);
    assert_int_equal (u.job.bytes_transferred, s.bytes_transferred);
    assert_int_equal (u.job.total_bytes, s.total_bytes);
    assert_true (u.job.progress_percent == want_percent);
    assert_int_equal (u.job.disks.len, 1);
    assert_true (u.job.disks.ptr[0].sync_progress_percent == want_percent);

    oma_job_reset (&u.job);
    cbt_doc_job_reset (&doc);
    progress_destroy (&disk);
  }
  vma_store_free (store);
}

/* The copier's job aggregate and the VMA's agree on the same disks. */
static void
test_copier_and_vma_aggregate_alike (void **state)
{
  struct vma_store *store = vma_store_create (NULL);
  struct progress disks[4];
  struct progress_snapshot snaps[4], job;
  struct cbt_progress vp;
  char *body, id[16];
  int i;

  for (i = 0; i < 4; i++) {
    copier_disk (&disks[i], (enum cbt_status)i);
    progress_snapshot (&disks[i], 103.0, &snaps[i]);
    snprintf (id, sizeof id, "d%d", i);
    body = progress_json_format (&snaps[i], id, false);
    post (store, "mixed", body);
    free (body);
  }
  progress_aggregate (snaps, 4, &job);
  vp = vma_progress_of (store, "mixed");
  assert_int_equal (job.status, CBT_STATUS_FAILED);
  assert_int_equal (vp.status, job.status);
  assert_int_equal (vp.bytes_transferred, job.bytes_transferred);
  assert_int_equal (vp.total_bytes, job.total_bytes);
  assert_true (vp.percent == job.percent);
  assert_true (job.percent < 100);
  assert_string_equal (vp.stage, cbt_stage_name (job.stage));
  assert_string_equal (job.error_message, "read error");
  assert_string_equal (vp.error_disk, "d3");
  for (i = 0; i < 4; i++)
    progress_destroy (&disks[i]);
  vma_store_free (store);
}

/* xorshift64*: the same sequence on every machine. */
static uint64_t
next_random (uint64_t *x)
{
  *x ^= *x >> 12;
  *x ^= *x << 25;
  *x ^= *x >> 27;
  return *x * UINT64_C (2685821657736338717);
}

#define MAX_DISKS 5

/* Random sequences of updates, each disk's bytes only growing: the job's
 * percent never goes down and is never NaN, it is 100 exactly when the
 * job completed, and its bytes are the sums of the disks'.  The OMA reads
 * the same from the rendered document.
 */
static void
test_random_sequences (void **state)
{
  uint64_t seed = UINT64_C (0x9e3779b97f4a7c15);
  int trial;

  for (trial = 0; trial < 300; trial++) {
    struct vma_store *store = vma_store_create (NULL);
    uint64_t total[MAX_DISKS], done[MAX_DISKS];
    bool completed[MAX_DISKS], failed = false;
    int n = 1 + (int)(next_random (&seed) % MAX_DISKS), i, step;
    double last_percent = 0;

    for (i = 0; i < n; i++) {
      uint64_t r = next_random (&seed);

      /* Some disks have nothing to move, some are huge. */
      total[i] = r % 7 == 0   ? 0
                 : r % 7 == 1 ? (r >> 8) % (UINT64_C (1) << 50)
                              : (r >> 8) % 1000000;
      done[i] = 0;
      completed[i] = false;
    }
    /* Every total is known before the first byte moves. */
    for (step = -n; step < 60 && !failed; step++) {
      struct cbt_progress d = { .stage = "Transfer",
                                .status = CBT_STATUS_IN_PROGRESS };
      struct cbt_progress job;
      struct cbt_doc_job doc;
      uint64_t r = next_random (&seed), sum_done = 0, sum_total = 0;
      bool all_completed = true;
      char id[8], *body;

      i = step < 0 ? step + n : (int)(r % (uint64_t)n);
      if (step >= 0 && !completed[i]) {
        switch ((r >> 16) % 10) {
        case 0: /* finishes */
          done[i] = total[i];
          completed[i] = true;
          break;
        case 1: /* every byte moved, not flushed yet */
          done[i] = total[i];
          break;
        case 2:
          if (trial % 5 == 0) { /* some jobs fail */
            failed = true;
            break;
          }
          /* fall through */
        default:
          if (total[i] > done[i])
            done[i] += (r >> 20) % (total[i] - done[i] + 1);
          break;
        }
      }
      d.bytes_transferred = done[i];
      d.total_bytes = total[i];
      /* The service takes ETAs up to 1e12 s: at least 10 kB/s here. */
      d.throughput_bps = (double)(10000 + (r >> 32) % 1000);
      if (completed[i]) {
        d.status = CBT_STATUS_COMPLETED;
        d.stage = "Finalize";
      } else if (failed) {
        d.status = CBT_STATUS_FAILED;
        d.error_message = "lost";
      }
      cbt_progress_derive (&d);
      snprintf (id, sizeof id, "d%d", i);
      body = cbt_update_encode (&d, id, 0);
      assert_non_null (body);
      post (store, "job", body);
      free (body);
      if (step < 0 && step + 1 < 0)
        continue; /* not every disk is known yet */

      for (i = 0; i < n; i++) {
        sum_done += done[i];
        sum_total += total[i];
        all_completed = all_completed && completed[i];
      }
      job = vma_progress_of (store, "job");
      assert_false (isnan (job.percent));
      assert_int_equal (job.bytes_transferred, sum_done);
      assert_int_equal (job.total_bytes, sum_total);
      assert_true (job.percent >= last_percent);
      assert_true (job.percent >= 0 && job.percent <= 100);
      assert_true ((job.percent == 100) ==
                   (job.status == CBT_STATUS_COMPLETED));
      assert_true ((job.status == CBT_STATUS_COMPLETED) == all_completed);
      if (failed)
        assert_int_equal (job.status, CBT_STATUS_FAILED);
      assert_true (job.percent ==
                   cbt_percent (sum_done, sum_total, all_completed));
      last_percent = job.percent;

      vma_to_oma (store, "job", &doc);
      assert_int_equal (doc.bytes_transferred, sum_done);
      assert_int_equal (doc.total_bytes, sum_total);
      assert_true (doc.percent == job.percent);
      assert_int_equal (doc.status, job.status);
      assert_int_equal (doc.disks.len, n);
      cbt_doc_job_reset (&doc);
      if (all_completed)
        break;
    }
    vma_store_free (store);
  }
}

/* VMware CBT: change_id goes out only with the completed state, is read
 * back (and printable ASCII only), and a job document's disk carries it to
 * the OMA's decoder.
 */
static void
test_change_id (void **state)
{
  struct cbt_progress p = { .stage = "Finalize",
                            .status = CBT_STATUS_IN_PROGRESS,
                            .total_bytes = 10,
                            .bytes_transferred = 9,
                            .change_id = "52 aa bb/3" };
  struct cbt_update u;
  struct cbt_doc_job job;
  json_t *doc;
  char *body;

  cbt_progress_derive (&p);
  body = cbt_update_encode (&p, "disk-2000", 0);
  assert_non_null (body);
  assert_null (strstr (body, "change_id"));
  free (body);
  p.status = CBT_STATUS_COMPLETED;
  p.bytes_transferred = 10;
  cbt_progress_derive (&p);
  body = cbt_update_encode (&p, "disk-2000", 0);
  assert_non_null (strstr (body, "\"change_id\":\"52 aa bb/3\""));
  assert_int_equal (cbt_update_decode (body, strlen (body), &u), 0);
  assert_true (u.has & CBT_HAS_CHANGE_ID);
  assert_string_equal (u.change_id, "52 aa bb/3");
  cbt_update_clear (&u);
  free (body);
  body = "{\"disk_id\":\"d\",\"change_id\":\"a\\u0001b\"}";
  assert_int_equal (cbt_update_decode (body, strlen (body), &u), -1);

  doc = cbt_job_doc_encode ("job-1", &p, &(struct cbt_doc_times){ .run = 1 });
  assert_non_null (doc);
  assert_int_equal (cbt_job_doc_add_disk (doc, "disk-2000", &p, 0, 0), 0);
  assert_int_equal (cbt_job_doc_decode (doc, true, &job), 0);
  assert_int_equal (job.disks.len, 1);
  assert_string_equal (job.disks.ptr[0].change_id, "52 aa bb/3");
  cbt_doc_job_reset (&job);
  json_decref (doc);
}

/* Speed and ETA are live only in progress, not stalled, not stale; a
 * job is stale only in progress and past the threshold.
 */
static void
test_truth_rules (void **state)
{
  (void)state;
  assert_false (cbt_is_stale (CBT_STATUS_IN_PROGRESS, 6, 6));
  assert_true (cbt_is_stale (CBT_STATUS_IN_PROGRESS, 6.5, 6));
  assert_false (cbt_is_stale (CBT_STATUS_COMPLETED, 600, 6));
  assert_false (cbt_is_stale (CBT_STATUS_FAILED, 600, 6));
  assert_false (cbt_is_stale (CBT_STATUS_QUEUED, 600, 6));
  assert_true (cbt_rate_is_live (CBT_STATUS_IN_PROGRESS, false, false));
  assert_false (cbt_rate_is_live (CBT_STATUS_IN_PROGRESS, true, false));
  assert_false (cbt_rate_is_live (CBT_STATUS_IN_PROGRESS, false, true));
  assert_false (cbt_rate_is_live (CBT_STATUS_COMPLETED, false, false));
  assert_false (cbt_rate_is_live (CBT_STATUS_FAILED, false, false));
  assert_false (cbt_rate_is_live (CBT_STATUS_QUEUED, false, false));
  assert_true (cbt_average_rate (1000, 4) == 250);
  assert_true (cbt_average_rate (1000, 0) == 0);
  assert_true (cbt_average_rate (1000, -1) == 0);
  assert_true (CBT_STALE_AFTER_DEFAULT == 6);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_percent_rule),
    cmocka_unit_test (test_eta_rule),
    cmocka_unit_test (test_words),
    cmocka_unit_test (test_resumed_bytes_field),
    cmocka_unit_test (test_vma_job_runs),
    cmocka_unit_test (test_round_trip_every_status),
    cmocka_unit_test (test_copier_and_vma_aggregate_alike),
    cmocka_unit_test (test_random_sequences),
    cmocka_unit_test (test_change_id),
    cmocka_unit_test (test_truth_rules),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
