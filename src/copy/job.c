/* cbtrack copy - a job of one or more disks. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/timeutil.h"
#include "copy/job.h"
#include "copy/monitor.h"

/* How long the VMA is given to learn every disk's total before the first
 * byte moves (it never delays a copy by more).
 */
#define JOB_ANNOUNCE_SECONDS 2.0

struct job {
  struct disk *disks;
  struct monitor **monitors;
  struct progress_snapshot *snaps; /* job_snapshot's scratch, one a disk */
  size_t n;
  const struct job_options *o;
  atomic_size_t next; /* next disk to transfer */
  atomic_bool failed;
  char failed_disk[160];
  pthread_mutex_t lock;
};

/* The job's numbers: the sum over its disks. */
static void
job_snapshot (void *opaque, double now, struct progress_snapshot *ret)
{
  struct job *job = opaque;
  size_t i;

  for (i = 0; i < job->n; i++)
    progress_snapshot (&job->disks[i].progress, now, &job->snaps[i]);
  progress_aggregate (job->snaps, job->n, ret);
}

/* Marks disk D failed because another disk failed first. */
static void
job_fail_unstarted (struct job *job, struct disk *d)
{
  char msg[256];

  pthread_mutex_lock (&job->lock);
  snprintf (msg, sizeof msg, "not started: %s failed", job->failed_disk);
  pthread_mutex_unlock (&job->lock);
  progress_fail (&d->progress, cbt_now_mono (), msg);
}

static void
job_note_failure (struct job *job, struct disk *d)
{
  pthread_mutex_lock (&job->lock);
  if (!atomic_load (&job->failed))
    snprintf (job->failed_disk, sizeof job->failed_disk, "disk %s",
              d->spec.id ? d->spec.id : d->spec.source);
  atomic_store (&job->failed, true);
  pthread_mutex_unlock (&job->lock);
}

static void *
job_transfer_worker (void *arg)
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
      continue;
    }
    monitor_kick (job->monitors[i]);
    if (disk_transfer (d, &job->o->copier) == -1)
      job_note_failure (job, d);
    monitor_kick (job->monitors[i]);
  }
  return NULL;
}

/* Formats "cbtrack copy: " and, in a job of several disks, "disk ID: "
 * into BUF: the prefix of every line about disk D.
 */
static const char *
job_disk_prefix (const struct job *job, const struct disk *d, char *buf,
                 size_t len)
{
  bool named = job->n > 1 && d->spec.id;

  snprintf (buf, len, "cbtrack copy: %s%s%s", named ? "disk " : "",
            named ? d->spec.id : "", named ? ": " : "");
  return buf;
}

/* Prints MESSAGE about disk D on its own line. */
static void
job_print (const struct job *job, const struct disk *d, const char *msg)
{
  char prefix[192];

  fprintf (stderr, "%s%s\n", job_disk_prefix (job, d, prefix, sizeof prefix),
           msg);
}

int
job_run (const struct disk_spec *specs, size_t n, const struct job_options *o)
{
  struct job job = { .n = n, .o = o };
  struct monitor_options jm = {
    .bar = o->bar,
    .percent_fd = o->percent_fd,
    .json_fd = -1,
    .interval = o->interval,
  };
  struct monitor *job_monitor = NULL;
  pthread_t *threads = NULL;
  size_t i, started = 0, nr_threads;
  int ret = -1;

  pthread_mutex_init (&job.lock, NULL);
  atomic_init (&job.next, 0);
  atomic_init (&job.failed, false);
  job.disks = calloc (n, sizeof *job.disks);
  job.monitors = calloc (n, sizeof *job.monitors);
  job.snaps = calloc (n, sizeof *job.snaps);
  if (job.disks == NULL || job.monitors == NULL || job.snaps == NULL) {
    fprintf (stderr, "cbtrack copy: out of memory\n");
    goto out;
  }
  for (i = 0; i < n; i++)
    disk_init (&job.disks[i], &specs[i]);

  /* Each disk reports its own updates; the job shows the sum. */
  for (i = 0; i < n; i++) {
    struct monitor_options dm = {
      .percent_fd = -1,
      .json_fd = o->json_fd,
      .interval = o->interval,
      .disk_id = specs[i].id,
      .sink = o->reporter ? reporter_offer : NULL,
      .sink_opaque = o->reporter,
    };

    if (dm.json_fd < 0 && dm.sink == NULL)
      continue;
    job.monitors[i] =
        monitor_start (monitor_progress_snapshot, &job.disks[i].progress, &dm);
    if (job.monitors[i] == NULL)
      goto monitor_error;
  }
  job_monitor = monitor_start (job_snapshot, &job, &jm);
  if (job_monitor == NULL)
    goto monitor_error;

  /* Analyse every disk before any data moves. */
  for (i = 0; i < n; i++) {
    struct disk *d = &job.disks[i];

    if (atomic_load (&job.failed)) {
      job_fail_unstarted (&job, d);
      continue;
    }
    if (disk_analyse (d) == -1) {
      job_note_failure (&job, d);
      continue;
    }
    if (!d->plan.have_allocation) {
      char msg[512];

      snprintf (msg, sizeof msg,
                "warning: %s has no base:allocation map:"
                " the whole disk counts as data",
                d->spec.source);
      if (o->bar)
        fputc ('\n', stderr);
      job_print (&job, d, msg);
    }
    if (n > 1)
      progress_set_queued (&d->progress, cbt_now_mono ());
    monitor_kick (job.monitors[i]);
  }
  if (o->reporter && !atomic_load (&job.failed)) {
    for (i = 0; i < n; i++)
      monitor_kick (job.monitors[i]);
    cbt_sleep (0.05);
    reporter_flush (o->reporter, JOB_ANNOUNCE_SECONDS);
  }

  /* Then transfer them, a few at a time. */
  nr_threads = o->parallel < n ? o->parallel : n;
  threads = calloc (nr_threads, sizeof *threads);
  if (threads == NULL) {
    fprintf (stderr, "cbtrack copy: out of memory\n");
    goto stop;
  }
  for (i = 0; i < nr_threads; i++) {
    if (pthread_create (&threads[i], NULL, job_transfer_worker, &job) != 0)
      break;
    started++;
  }
  if (started == 0)
    job_transfer_worker (&job);
  for (i = 0; i < started; i++)
    pthread_join (threads[i], NULL);

stop:
  for (i = 0; i < n; i++) {
    monitor_stop (job.monitors[i]);
    job.monitors[i] = NULL;
  }
  monitor_stop (job_monitor);
  job_monitor = NULL;

  ret = 0;
  for (i = 0; i < n; i++) {
    struct disk *d = &job.disks[i];
    struct progress_snapshot s;

    progress_snapshot (&d->progress, cbt_now_mono (), &s);
    if (s.status != CBT_STATUS_COMPLETED) {
      job_print (&job, d, s.error_message[0] ? s.error_message : "failed");
      ret = -1;
    } else if (!o->quiet) {
      char prefix[192];

      disk_print_summary (d, job_disk_prefix (&job, d, prefix, sizeof prefix),
                          stderr);
    }
  }
  goto out;

monitor_error:
  fprintf (stderr, "cbtrack copy: %s\n", cbt_get_error ());
out:
  if (job.monitors)
    for (i = 0; i < n; i++)
      monitor_stop (job.monitors[i]);
  monitor_stop (job_monitor);
  if (job.disks)
    for (i = 0; i < n; i++)
      disk_free (&job.disks[i]);
  free (job.disks);
  free (job.monitors);
  free (job.snaps);
  free (threads);
  pthread_mutex_destroy (&job.lock);
  return ret;
}
