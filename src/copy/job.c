/* cbtrack copy - a job of one or more disks (threads: see job.h). */
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/pthread-checked.h"
#include "common/timeutil.h"
#include "copy/job.h"
#include "copy/ticker.h"

struct job {
  struct disk *disks;
  size_t n;
  const struct job_options *o;
  struct ticker *ticker; /* NULL when no output is wanted */
  atomic_size_t next;    /* the next disk a runner takes */
  atomic_bool failed;    /* some disk failed */

  pthread_mutex_t lock; /* protects failed_disk */
  char failed_disk[160];
};

/* Marks disk D failed because another disk failed first. */
static void
job_fail_unstarted (struct job *job, struct disk *d)
{
  char msg[256];

  cbt_mutex_lock (&job->lock);
  assert (job->failed_disk[0] != '\0');
  snprintf (msg, sizeof msg, "not started: %s failed", job->failed_disk);
  cbt_mutex_unlock (&job->lock);
  progress_fail (&d->progress, cbt_now_mono (), msg);
}

/* Records that disk D failed; the first failure names the job's. */
static void
job_note_failure (struct job *job, struct disk *d)
{
  cbt_mutex_lock (&job->lock);
  if (!atomic_load (&job->failed))
    snprintf (job->failed_disk, sizeof job->failed_disk, "disk %s",
              d->spec.id ? d->spec.id : d->spec.source);
  atomic_store (&job->failed, true);
  cbt_mutex_unlock (&job->lock);
}

/* A disk runner: transfers the next disk not yet taken, until none is
 * left.  Runs on its own thread, or on the main thread when no thread
 * could be started.
 */
static void *
job_run_disks (void *arg)
{
  struct job *job = arg;

  for (;;) {
    size_t i = atomic_fetch_add (&job->next, 1);
    struct disk *d;

    if (i >= job->n)
      break;
    d = &job->disks[i];
    if (atomic_load (&job->failed)) {
      job_fail_unstarted (job, d);
      ticker_kick (job->ticker, i);
      continue;
    }
    ticker_kick (job->ticker, i);
    if (disk_transfer (d, &job->o->copier) == -1)
      job_note_failure (job, d);
    ticker_kick (job->ticker, i);
  }
  return NULL;
}

/* Analyses every disk on the main thread, before any data moves.  After
 * a failure the remaining disks are marked failed, not analysed.
 */
static void
job_analyse (struct job *job)
{
  size_t i;

  for (i = 0; i < job->n; i++) {
    struct disk *d = &job->disks[i];

    if (atomic_load (&job->failed)) {
      job_fail_unstarted (job, d);
    } else if (disk_analyse (d) == -1) {
      job_note_failure (job, d);
    } else {
      if (!d->plan.have_allocation && job->o->warn) {
        char msg[512];

        snprintf (msg, sizeof msg,
                  "warning: %s has no base:allocation map:"
                  " the whole disk counts as data",
                  d->spec.source);
        job->o->warn (job->o->warn_opaque, i, msg);
      }
      if (job->n > 1)
        progress_set_queued (&d->progress, cbt_now_mono ());
    }
    ticker_kick (job->ticker, i);
  }
}

/* Gives the VMA every disk's total before the first byte moves: the
 * ticker hands the reporter an update of every disk taken now, then the
 * reporter sends them.  Both waits share one bound; when it runs out the
 * copy goes on and the updates follow when they can.
 */
static void
job_announce (struct job *job)
{
  double deadline = cbt_now_mono () + JOB_ANNOUNCE_SECONDS;
  double left;

  if (job->o->reporter == NULL || atomic_load (&job->failed))
    return;
  if (ticker_sync (job->ticker, JOB_ANNOUNCE_SECONDS) == -1)
    return; /* the ticker is stuck on its outputs: don't wait for it */
  left = deadline - cbt_now_mono ();
  if (left > 0)
    reporter_flush (job->o->reporter, left);
}

/* Once every disk completed, the job's checkpoints are thrown away; until
 * then a completed disk's checkpoint says so, for a rerun.
 */
static void
job_finish_checkpoints (struct job *job)
{
  size_t i;

  for (i = 0; i < job->n; i++)
    if (atomic_load (&job->disks[i].progress.status) != CBT_STATUS_COMPLETED)
      return;
  for (i = 0; i < job->n; i++)
    if (disk_checkpoint_remove (&job->disks[i]) == -1 && job->o->warn) {
      char msg[600];

      snprintf (msg, sizeof msg, "warning: %s", cbt_get_error ());
      job->o->warn (job->o->warn_opaque, i, msg);
    }
}

/* Transfers the analysed disks, at most `parallel` at a time, and returns
 * when every disk is completed or failed.
 */
static void
job_transfer (struct job *job)
{
  size_t nr_runners = job->o->parallel < job->n ? job->o->parallel : job->n;
  pthread_t *runners = calloc (nr_runners, sizeof *runners);
  size_t i, started = 0;

  assert (nr_runners >= 1);
  for (i = 0; runners && i < nr_runners; i++) {
    if (pthread_create (&runners[i], NULL, job_run_disks, job) != 0)
      break;
    started++;
  }
  /* When no runner thread could be started, the main thread is the
   * runner.
   */
  if (started == 0)
    job_run_disks (job);
  for (i = 0; i < started; i++)
    cbt_thread_join (runners[i]);
  free (runners);
  assert (atomic_load (&job->next) >= job->n);
}

int
job_run (const struct disk_spec *specs, size_t n, const struct job_options *o,
         struct disk_result *ret_results)
{
  struct job job = { .n = n, .o = o };
  struct ticker_options to = {
    .bar = o->bar,
    .percent_fd = o->percent_fd,
    .json_fd = o->json_fd,
    .interval = o->interval,
    .sink = o->reporter ? reporter_offer : NULL,
    .sink_opaque = o->reporter,
    .warn = o->warn,
    .warn_opaque = o->warn_opaque,
  };
  size_t i;
  int err, ret = -1;

  assert (n >= 1);
  err = pthread_mutex_init (&job.lock, NULL);
  if (err) {
    cbt_set_error ("cannot create a lock: %s", strerror (err));
    return -1;
  }
  atomic_init (&job.next, 0);
  atomic_init (&job.failed, false);
  job.disks = calloc (n, sizeof *job.disks);
  if (job.disks == NULL) {
    cbt_set_error ("out of memory");
    goto out;
  }
  for (i = 0; i < n; i++)
    disk_init (&job.disks[i], &specs[i]);
  /* Before the ticker starts: the first update of a resumed disk shows
   * the bytes it had done.
   */
  for (i = 0; i < n; i++)
    if (disk_checkpoint_open (&job.disks[i], o->state_dir, o->job_id,
                              o->restart) == -1)
      job_note_failure (&job, &job.disks[i]);
  if (ticker_is_wanted (&to)) {
    job.ticker = ticker_start (job.disks, n, &to);
    if (job.ticker == NULL)
      goto out;
  }

  job_analyse (&job);
  job_announce (&job);
  job_transfer (&job);
  job_finish_checkpoints (&job);

  /* Every disk is completed or failed: the final updates go out. */
  ticker_stop (job.ticker);
  job.ticker = NULL;
  for (i = 0; i < n; i++)
    disk_get_result (&job.disks[i], &ret_results[i]);
  ret = 0;

out:
  ticker_stop (job.ticker);
  if (job.disks)
    for (i = 0; i < n; i++)
      disk_free (&job.disks[i]);
  free (job.disks);
  cbt_mutex_destroy (&job.lock);
  return ret;
}
