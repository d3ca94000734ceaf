/* Storage tests of the OMA, run against every backend.
 *
 * The database is named by $CBTRACK_TEST_DB (any --db URL); without it a
 * fresh SQLite file in a temporary directory is used.  tests/oma-store.sh
 * runs this same program against a real MariaDB server.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "oma/store.h"

static char db_url[4200];
static char tmpdir[256];
static struct oma_store *store;
static const int64_t T0 = 1700000000;

static void
make_disk (struct oma_disk *d, const char *id, int64_t cap, int64_t total,
           int64_t synced, const char *status)
{
  memset (d, 0, sizeof *d);
  oma_copy_text (d->disk_id, sizeof d->disk_id, id);
  d->capacity_bytes = cap;
  d->total_bytes = total;
  d->bytes_synced = synced;
  d->sync_progress_percent = total ? 100.0 * synced / total : 0;
  oma_copy_text (d->sync_status, sizeof d->sync_status, status);
  d->updated_at = T0;
  d->eta_seconds = -1; /* unknown: NULL */
}

static void
make_job (struct oma_job *job, const char *id, const char *name)
{
  struct oma_disk d;

  memset (job, 0, sizeof *job);
  oma_copy_text (job->id, sizeof job->id, id);
  oma_copy_text (job->source_vm_name, sizeof job->source_vm_name, name);
  oma_copy_text (job->replication_type, sizeof job->replication_type, "full");
  oma_copy_text (job->status, sizeof job->status, "pending");
  oma_copy_text (job->vma_url, sizeof job->vma_url, "http://vma:8081");
  job->eta_seconds = -1;
  job->created_at = job->updated_at = T0;
  make_disk (&d, "disk-2000", 8589934592LL, 0, 0, "pending");
  assert_int_equal (oma_disk_vector_append (&job->disks, d), 0);
  make_disk (&d, "disk-2001", 1073741824LL, 0, 0, "pending");
  assert_int_equal (oma_disk_vector_append (&job->disks, d), 0);
}

/* A progress update of ID to TRANSFERRED of TOTAL, with STATUS. */
static void
make_update (struct oma_update *u, const char *id, const char *status,
             int64_t transferred, int64_t total, int64_t t)
{
  struct oma_disk d;

  memset (u, 0, sizeof *u);
  u->kind = OMA_UPDATE_PROGRESS;
  u->add_sample = true;
  oma_copy_text (u->job.id, sizeof u->job.id, id);
  oma_copy_text (u->job.status, sizeof u->job.status, status);
  oma_copy_text (u->job.current_operation, sizeof u->job.current_operation,
                 "Transfer");
  u->job.bytes_transferred = transferred;
  u->job.total_bytes = total;
  u->job.progress_percent = total ? 100.0 * transferred / total : 0;
  u->job.transfer_speed_bps = 1000;
  u->job.eta_seconds = 7;
  u->job.updated_at = t;
  u->job.started_at = t;
  u->job.last_progress_at = t;
  u->job.completed_at =
      (strcmp (status, "completed") == 0 || strcmp (status, "failed") == 0)
          ? t
          : 0;
  /* disk-2000 carries everything; capacity 0 must not erase the
   * registered capacity; disk-new is created by the update.
   */
  make_disk (&d, "disk-2000", 0, total, transferred,
             strcmp (status, "completed") == 0 ? "completed" : "syncing");
  d.updated_at = t;
  d.throughput_bps = 500;
  d.eta_seconds = 6;
  assert_int_equal (oma_disk_vector_append (&u->job.disks, d), 0);
  make_disk (&d, "disk-new", 5, 0, 0, "completed");
  assert_int_equal (oma_disk_vector_append (&u->job.disks, d), 0);
}

static int
apply1 (struct oma_update *u)
{
  int r = store->ops->apply_updates (store, u, 1);

  oma_job_reset (&u->job);
  return r;
}

static void
test_insert_get (void **state)
{
  static const char hostile[] =
      "'; DROP TABLE replication_jobs; -- <img src=x onerror=alert(1)> "
      "\xc3\xa9\xe2\x9c\x93 \"q\" \\";
  struct oma_job job, got;

  make_job (&job, "ins-1", hostile);
  assert_int_equal (store->ops->job_insert (store, &job), 0);
  memset (&got, 0, sizeof got);
  assert_int_equal (store->ops->job_get (store, "ins-1", &got), 0);
  assert_string_equal (got.id, "ins-1");
  assert_string_equal (got.source_vm_name, hostile);
  assert_string_equal (got.replication_type, "full");
  assert_string_equal (got.status, "pending");
  assert_string_equal (got.vma_url, "http://vma:8081");
  assert_string_equal (got.error_message, "");
  assert_int_equal (got.eta_seconds, -1);
  assert_int_equal (got.created_at, T0);
  assert_int_equal (got.updated_at, T0);
  assert_int_equal (got.started_at, 0);
  assert_int_equal (got.completed_at, 0);
  assert_int_equal (got.disks.len, 2);
  assert_string_equal (got.disks.ptr[0].disk_id, "disk-2000");
  assert_int_equal (got.disks.ptr[0].capacity_bytes, 8589934592LL);
  assert_string_equal (got.disks.ptr[0].sync_status, "pending");
  assert_string_equal (got.disks.ptr[1].disk_id, "disk-2001");
  assert_int_equal (got.history.len, 0);
  oma_job_reset (&got);

  /* The same id again changes nothing. */
  oma_copy_text (job.source_vm_name, sizeof job.source_vm_name, "other");
  assert_int_equal (store->ops->job_insert (store, &job), -EEXIST);
  assert_int_equal (store->ops->job_get (store, "ins-1", &got), 0);
  assert_string_equal (got.source_vm_name, hostile);
  oma_job_reset (&got);
  oma_job_reset (&job);

  /* Ids differing only in case are different jobs. */
  make_job (&job, "INS-1", "upper");
  assert_int_equal (store->ops->job_insert (store, &job), 0);
  oma_job_reset (&job);
}

static void
test_missing (void **state)
{
  struct oma_job got;
  struct oma_patch patch = { .has_setup_progress = true };

  memset (&got, 0x5a, sizeof got);
  assert_int_equal (store->ops->job_get (store, "no-such-job", &got), -ENOENT);
  assert_int_equal (got.id[0], 0x5a);
  assert_int_equal (store->ops->job_patch (store, "no-such-job", &patch, T0),
                    -ENOENT);
}

static void
test_patch (void **state)
{
  struct oma_job job, got;
  struct oma_patch patch;

  make_job (&job, "patch-1", "vm");
  assert_int_equal (store->ops->job_insert (store, &job), 0);
  oma_job_reset (&job);

  memset (&patch, 0, sizeof patch);
  patch.has_setup_progress = true;
  patch.setup_progress_percent = 42.5;
  assert_int_equal (store->ops->job_patch (store, "patch-1", &patch, T0 + 5),
                    0);
  memset (&patch, 0, sizeof patch);
  patch.has_current_operation = true;
  oma_copy_text (patch.current_operation, sizeof patch.current_operation,
                 "Creating volumes");
  assert_int_equal (store->ops->job_patch (store, "patch-1", &patch, T0 + 6),
                    0);
  assert_int_equal (store->ops->job_get (store, "patch-1", &got), 0);
  assert_true (got.setup_progress_percent == 42.5);
  assert_string_equal (got.current_operation, "Creating volumes");
  assert_int_equal (got.updated_at, T0 + 6);
  assert_int_equal (got.last_progress_at, T0 + 6);
  oma_job_reset (&got);
}

static void
test_progress_and_final (void **state)
{
  struct oma_job job, got;
  struct oma_update u;
  oma_job_vector active = empty_vector;
  size_t i;
  bool found;

  make_job (&job, "prog-1", "vm");
  assert_int_equal (store->ops->job_insert (store, &job), 0);
  oma_job_reset (&job);

  make_update (&u, "prog-1", "replicating", 1024, 4096, T0 + 10);
  assert_int_equal (apply1 (&u), 0);
  assert_int_equal (store->ops->job_get (store, "prog-1", &got), 0);
  assert_string_equal (got.status, "replicating");
  assert_string_equal (got.current_operation, "Transfer");
  assert_string_equal (got.replication_type, "full"); /* kept */
  assert_int_equal (got.bytes_transferred, 1024);
  assert_int_equal (got.total_bytes, 4096);
  assert_true (got.progress_percent == 25.0);
  assert_int_equal (got.transfer_speed_bps, 1000);
  assert_int_equal (got.eta_seconds, 7);
  assert_int_equal (got.started_at, T0 + 10);
  assert_int_equal (got.last_progress_at, T0 + 10);
  assert_int_equal (got.disks.len, 3);
  assert_string_equal (got.disks.ptr[0].disk_id, "disk-2000");
  assert_int_equal (got.disks.ptr[0].capacity_bytes, 8589934592LL);
  assert_int_equal (got.disks.ptr[0].bytes_synced, 1024);
  assert_string_equal (got.disks.ptr[0].sync_status, "syncing");
  assert_int_equal (got.disks.ptr[0].throughput_bps, 500);
  assert_int_equal (got.disks.ptr[0].eta_seconds, 6);
  assert_int_equal (got.stalled_since, 0);
  assert_string_equal (got.disks.ptr[2].disk_id, "disk-new");
  assert_int_equal (got.disks.ptr[2].capacity_bytes, 5);
  assert_int_equal (got.disks.ptr[2].throughput_bps, 0);
  assert_int_equal (got.disks.ptr[2].eta_seconds, -1);
  assert_int_equal (got.history.len, 1);
  assert_int_equal (got.history.ptr[0].bytes_transferred, 1024);
  assert_int_equal (got.history.ptr[0].sampled_at, T0 + 10);
  oma_job_reset (&got);

  /* started_at keeps its first value; a stall is stored with its time. */
  make_update (&u, "prog-1", "replicating", 2048, 4096, T0 + 20);
  u.job.stalled_since = T0 + 15;
  assert_int_equal (apply1 (&u), 0);
  assert_int_equal (store->ops->job_get (store, "prog-1", &got), 0);
  assert_int_equal (got.stalled_since, T0 + 15);
  oma_job_reset (&got);
  assert_int_equal (store->ops->job_list_active (store, &active), 0);
  for (i = 0, found = false; i < active.len; i++)
    if (strcmp (active.ptr[i].id, "prog-1") == 0) {
      found = true;
      assert_int_equal (active.ptr[i].started_at, T0 + 10);
      assert_int_equal (active.ptr[i].bytes_transferred, 2048);
    }
  assert_true (found);
  oma_job_vector_free (&active);

  make_update (&u, "prog-1", "completed", 4096, 4096, T0 + 30);
  assert_int_equal (apply1 (&u), 0);
  /* A final row is never overwritten. */
  make_update (&u, "prog-1", "replicating", 1, 4096, T0 + 40);
  assert_int_equal (apply1 (&u), 0);
  assert_int_equal (store->ops->job_get (store, "prog-1", &got), 0);
  assert_string_equal (got.status, "completed");
  assert_int_equal (got.bytes_transferred, 4096);
  assert_true (got.progress_percent == 100.0);
  assert_int_equal (got.completed_at, T0 + 30);
  assert_string_equal (got.disks.ptr[0].sync_status, "completed");
  assert_int_equal (got.history.len, 3);
  oma_job_reset (&got);

  assert_int_equal (store->ops->job_list_active (store, &active), 0);
  for (i = 0; i < active.len; i++)
    assert_string_not_equal (active.ptr[i].id, "prog-1");
  oma_job_vector_free (&active);
}

static void
test_fail (void **state)
{
  struct oma_job job, got;
  struct oma_update u;

  make_job (&job, "fail-1", "vm");
  assert_int_equal (store->ops->job_insert (store, &job), 0);
  oma_job_reset (&job);
  make_update (&u, "fail-1", "replicating", 10, 100, T0 + 10);
  assert_int_equal (apply1 (&u), 0);

  memset (&u, 0, sizeof u);
  u.kind = OMA_UPDATE_FAIL;
  oma_copy_text (u.job.id, sizeof u.job.id, "fail-1");
  oma_copy_text (u.job.error_message, sizeof u.job.error_message,
                 "dead: the VMA is unreachable");
  u.job.updated_at = u.job.completed_at = T0 + 400;
  assert_int_equal (apply1 (&u), 0);
  assert_int_equal (store->ops->job_get (store, "fail-1", &got), 0);
  assert_string_equal (got.status, "failed");
  assert_string_equal (got.error_message, "dead: the VMA is unreachable");
  assert_int_equal (got.completed_at, T0 + 400);
  assert_int_equal (got.bytes_transferred, 10); /* kept */
  assert_string_equal (got.disks.ptr[0].sync_status, "failed");
  assert_string_equal (got.disks.ptr[1].sync_status, "failed");
  assert_string_equal (got.disks.ptr[2].sync_status, "completed");
  oma_job_reset (&got);

  /* A final row is final: a PATCH is refused and changes nothing. */
  {
    struct oma_patch patch = { .has_setup_progress = true,
                               .setup_progress_percent = 50,
                               .has_current_operation = true };

    oma_copy_text (patch.current_operation, sizeof patch.current_operation,
                   "rewritten");
    assert_int_equal (
        store->ops->job_patch (store, "fail-1", &patch, T0 + 500), -EEXIST);
    assert_int_equal (store->ops->job_get (store, "fail-1", &got), 0);
    assert_string_equal (got.status, "failed");
    assert_true (strcmp (got.current_operation, "rewritten") != 0);
    assert_true (got.setup_progress_percent != 50);
    assert_int_equal (got.updated_at, T0 + 400);
    oma_job_reset (&got);
  }
}

/* A cancel: the marker of a running job, kept by the final failed row; a
 * job its VMA never knew ends at once; final and unknown jobs refused.
 * The marker also comes with a progress update (a cancel at the VMA).
 */
static void
test_cancel (void **state)
{
  struct oma_job job, got;
  struct oma_update u;

  make_job (&job, "cancel-1", "vm");
  assert_int_equal (store->ops->job_insert (store, &job), 0);
  oma_job_reset (&job);
  make_update (&u, "cancel-1", "replicating", 10, 100, T0 + 10);
  assert_int_equal (apply1 (&u), 0);
  assert_int_equal (store->ops->job_cancel (store, "cancel-1", T0 + 20, NULL),
                    0);
  assert_int_equal (store->ops->job_get (store, "cancel-1", &got), 0);
  assert_string_equal (got.status, "replicating");
  assert_int_equal (got.cancel_requested_at, T0 + 20);
  oma_job_reset (&got);
  make_update (&u, "cancel-1", "failed", 40, 100, T0 + 30);
  assert_int_equal (apply1 (&u), 0);
  assert_int_equal (store->ops->job_get (store, "cancel-1", &got), 0);
  assert_string_equal (got.status, "failed");
  assert_int_equal (got.cancel_requested_at, T0 + 20);
  oma_job_reset (&got);
  assert_int_equal (store->ops->job_cancel (store, "cancel-1", T0 + 40, NULL),
                    -EEXIST);
  assert_int_equal (store->ops->job_cancel (store, "nope", T0 + 40, NULL),
                    -ENOENT);

  make_job (&job, "cancel-2", "vm");
  assert_int_equal (store->ops->job_insert (store, &job), 0);
  oma_job_reset (&job);
  assert_int_equal (
      store->ops->job_cancel (store, "cancel-2", T0 + 50, "cancelled early"),
      0);
  assert_int_equal (store->ops->job_get (store, "cancel-2", &got), 0);
  assert_string_equal (got.status, "failed");
  assert_string_equal (got.error_message, "cancelled early");
  assert_int_equal (got.cancel_requested_at, T0 + 50);
  assert_int_equal (got.completed_at, T0 + 50);
  assert_string_equal (got.disks.ptr[0].sync_status, "failed");
  oma_job_reset (&got);

  make_job (&job, "cancel-3", "vm");
  assert_int_equal (store->ops->job_insert (store, &job), 0);
  oma_job_reset (&job);
  make_update (&u, "cancel-3", "failed", 10, 100, T0 + 60);
  u.job.cancel_requested_at = T0 + 60;
  assert_int_equal (apply1 (&u), 0);
  assert_int_equal (store->ops->job_get (store, "cancel-3", &got), 0);
  assert_int_equal (got.cancel_requested_at, T0 + 60);
  oma_job_reset (&got);
}

static void
test_history_bounded (void **state)
{
  struct oma_update *u;
  struct oma_job job, got;
  const size_t n = OMA_HISTORY_MAX + 10;
  size_t i;

  make_job (&job, "hist-1", "vm");
  assert_int_equal (store->ops->job_insert (store, &job), 0);
  oma_job_reset (&job);
  /* Several samples in one transaction, as a poll cycle writes them. */
  u = calloc (n, sizeof *u);
  assert_non_null (u);
  for (i = 0; i < n; i++)
    make_update (&u[i], "hist-1", "replicating", (int64_t)i, 100000,
                 T0 + (int64_t)i);
  /* Untrimmed, every sample stays. */
  assert_int_equal (store->ops->apply_updates (store, u, n - 1), 0);
  assert_int_equal (store->ops->job_get (store, "hist-1", &got), 0);
  assert_int_equal (got.history.len, n - 1);
  oma_job_reset (&got);
  u[n - 1].trim_history = true;
  assert_int_equal (store->ops->apply_updates (store, &u[n - 1], 1), 0);
  for (i = 0; i < n; i++)
    oma_job_reset (&u[i].job);
  free (u);

  assert_int_equal (store->ops->job_get (store, "hist-1", &got), 0);
  /* Thinned by the downsampling rule: the start and the end stay. */
  assert_true (got.history.len <= OMA_HISTORY_MAX);
  assert_true (got.history.len >= OMA_HISTORY_MAX * 3 / 4);
  assert_int_equal (got.history.ptr[0].bytes_transferred, 0);
  assert_int_equal (got.history.ptr[got.history.len - 1].bytes_transferred,
                    (int64_t)n - 1);
  oma_job_reset (&got);
}

static void
test_list (void **state)
{
  oma_job_vector jobs = empty_vector;
  struct oma_job job;
  size_t i, seen = 0;

  make_job (&job, "list-new", "newest");
  job.created_at = job.updated_at = T0 + 1000;
  assert_int_equal (store->ops->job_insert (store, &job), 0);
  oma_job_reset (&job);

  assert_int_equal (store->ops->job_list (store, &jobs), 0);
  assert_true (jobs.len >= 6);
  assert_string_equal (jobs.ptr[0].id, "list-new");
  for (i = 0; i < jobs.len; i++) {
    if (i > 0)
      assert_true (jobs.ptr[i - 1].created_at >= jobs.ptr[i].created_at);
    assert_int_equal (jobs.ptr[i].history.len, 0);
    if (strcmp (jobs.ptr[i].id, "prog-1") == 0) {
      assert_int_equal (jobs.ptr[i].disks.len, 3);
      assert_string_equal (jobs.ptr[i].disks.ptr[2].disk_id, "disk-new");
      seen++;
    }
    if (strcmp (jobs.ptr[i].id, "list-new") == 0) {
      assert_int_equal (jobs.ptr[i].disks.len, 2);
      seen++;
    }
  }
  assert_int_equal (seen, 2);
  oma_job_vector_free (&jobs);
}

static void
test_reopen (void **state)
{
  struct oma_job got;

  /* The schema exists now: opening again migrates nothing and keeps
   * every row.
   */
  oma_store_close (store);
  store = oma_store_open (db_url);
  if (store == NULL)
    fail_msg ("reopen %s: %s", db_url, cbt_get_error ());
  assert_int_equal (store->ops->job_get (store, "prog-1", &got), 0);
  assert_string_equal (got.status, "completed");
  oma_job_reset (&got);
}

/* Whether JOBS holds the job ID claimed by NODE. */
static bool
holds (const oma_job_vector *jobs, const char *id, const char *node)
{
  size_t i;

  for (i = 0; i < jobs->len; i++)
    if (strcmp (jobs->ptr[i].id, id) == 0)
      return strcmp (jobs->ptr[i].owner_node, node) == 0;
  return false;
}

static void
test_leases (void **state)
{
  int64_t now = (int64_t)time (NULL);
  oma_job_vector mine = empty_vector;
  oma_node_vector nodes = empty_vector;
  struct oma_store *other;
  struct oma_update u;
  struct oma_job job, got;
  bool shared = strcmp (store->ops->name, "sqlite") != 0;
  size_t i;

  make_job (&job, "lease-1", "vm");
  assert_int_equal (store->ops->job_insert (store, &job), 0);
  oma_job_reset (&job);

  /* Not joined: unclaimed, and writes are not fenced. */
  assert_int_equal (store->ops->job_get (store, "lease-1", &got), 0);
  assert_string_equal (got.owner_node, "");
  oma_job_reset (&got);
  assert_int_equal (store->ops->job_claim (store, now, &mine), -ESTALE);

  assert_int_equal (store->ops->node_join (store, "n1", 10, now), 0);
  other = oma_store_open (db_url);
  assert_non_null (other);
  /* The same id twice is refused on every engine; a second OMA only where
   * the engine is shared.
   */
  assert_int_equal (other->ops->node_join (other, "n1", 10, now), -EBUSY);
  assert_int_equal (other->ops->node_join (other, "n2", 10, now),
                    shared ? 0 : -EBUSY);
  if (!shared)
    assert_non_null (strstr (cbt_get_error (), "several OMAs need MariaDB"));

  assert_int_equal (store->ops->job_claim (store, now, &mine), 0);
  if (!shared)
    assert_true (holds (&mine, "lease-1", "n1"));
  for (i = 0; i < mine.len; i++)
    assert_string_equal (mine.ptr[i].owner_node, "n1");
  oma_job_vector_free (&mine);
  if (shared) {
    /* n2 takes the rest; together they hold lease-1 once. */
    oma_job_vector theirs = empty_vector;

    assert_int_equal (store->ops->job_claim (store, now, &mine), 0);
    assert_int_equal (other->ops->job_claim (other, now, &theirs), 0);
    assert_true (holds (&mine, "lease-1", "n1") !=
                 holds (&theirs, "lease-1", "n2"));
    for (i = 0; i < theirs.len; i++)
      assert_false (holds (&mine, theirs.ptr[i].id, "n1"));
    oma_job_vector_free (&theirs);
    /* n2 leaves: its jobs go back at once, and n1 takes them. */
    assert_int_equal (other->ops->node_leave (other), 0);
    oma_job_vector_free (&mine);
    assert_int_equal (store->ops->job_claim (store, now, &mine), 0);
    assert_true (holds (&mine, "lease-1", "n1"));
    oma_job_vector_free (&mine);
  }
  oma_store_close (other);

  assert_int_equal (store->ops->node_list (store, now, &nodes), 0);
  assert_int_equal (nodes.len, 1);
  assert_string_equal (nodes.ptr[0].node_id, "n1");
  assert_true (nodes.ptr[0].alive);
  assert_true (nodes.ptr[0].jobs >= 1);
  oma_node_vector_reset (&nodes);

  /* Held: the write lands. */
  make_update (&u, "lease-1", "replicating", 10, 100, now);
  assert_int_equal (apply1 (&u), 0);

  /* A heartbeat later than the lease finds it lost; then the node's
   * writes change nothing.
   */
  assert_int_equal (store->ops->node_heartbeat (store, now + 60), -ESTALE);
  /* The heartbeat row is as it was, so simulate the lapse by joining
   * again: the claims of the earlier generation no longer hold.
   */
  assert_int_equal (store->ops->node_join (store, "n1", 10, now), 0);
  make_update (&u, "lease-1", "replicating", 20, 100, now);
  assert_int_equal (apply1 (&u), 0);
  assert_int_equal (store->ops->job_get (store, "lease-1", &got), 0);
  assert_int_equal (got.bytes_transferred, 10);
  oma_job_reset (&got);

  /* Claimed again by the new generation, it is written. */
  assert_int_equal (store->ops->job_claim (store, now, &mine), 0);
  assert_true (holds (&mine, "lease-1", "n1"));
  oma_job_vector_free (&mine);
  make_update (&u, "lease-1", "replicating", 30, 100, now);
  assert_int_equal (apply1 (&u), 0);
  assert_int_equal (store->ops->job_get (store, "lease-1", &got), 0);
  assert_int_equal (got.bytes_transferred, 30);
  oma_job_reset (&got);

  /* Discovery: one node per VMA. */
  assert_int_equal (store->ops->discovery_take (store, "http://vma:8081", now),
                    0);
  assert_int_equal (
      store->ops->discovery_take (store, "http://vma:8081", now + 1), 0);

  /* Leaving hands the jobs back. */
  assert_int_equal (store->ops->node_leave (store), 0);
  assert_int_equal (store->ops->job_get (store, "lease-1", &got), 0);
  assert_string_equal (got.owner_node, "");
  oma_job_reset (&got);
  assert_int_equal (store->ops->node_list (store, now, &nodes), 0);
  assert_int_equal (nodes.len, 0);
  oma_node_vector_reset (&nodes);
}

static int
setup (void **state)
{
  const char *env = getenv ("CBTRACK_TEST_DB");

  if (env && env[0])
    snprintf (db_url, sizeof db_url, "%s", env);
  else {
    snprintf (tmpdir, sizeof tmpdir, "%s/cbtrack-store.XXXXXX",
              getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp");
    if (mkdtemp (tmpdir) == NULL)
      return -1;
    snprintf (db_url, sizeof db_url, "sqlite:%s/test.db", tmpdir);
  }
  store = oma_store_open (db_url);
  if (store == NULL) {
    fprintf (stderr, "open %s: %s\n", db_url, cbt_get_error ());
    return -1;
  }
  fprintf (stderr, "store: %s (%s)\n", store->ops->name, db_url);
  return 0;
}

static int
teardown (void **state)
{
  char path[512];

  oma_store_close (store);
  if (tmpdir[0]) {
    static const char *const files[] = { "test.db", "test.db-wal",
                                         "test.db-shm" };
    size_t i;

    for (i = 0; i < 3; i++) {
      snprintf (path, sizeof path, "%s/%s", tmpdir, files[i]);
      unlink (path);
    }
    rmdir (tmpdir);
  }
  return 0;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_insert_get),
    cmocka_unit_test (test_missing),
    cmocka_unit_test (test_patch),
    cmocka_unit_test (test_progress_and_final),
    cmocka_unit_test (test_fail),
    cmocka_unit_test (test_cancel),
    cmocka_unit_test (test_history_bounded),
    cmocka_unit_test (test_list),
    cmocka_unit_test (test_reopen),
    cmocka_unit_test (test_leases),
  };

  return cmocka_run_group_tests (tests, setup, teardown);
}
