/* cbtrack copy - the ticker of a job. */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/human.h"
#include "common/pthread-checked.h"
#include "common/timeutil.h"
#include "copy/progress-json.h"
#include "copy/ticker.h"

#define TICKER_TICK 0.1 /* seconds between looks at the progress */
#define TICKER_BAR_EVERY 0.25

/* What the ticker last emitted for one disk.  Owned by the ticker thread. */
struct ticker_disk {
  double last_json;          /* when its last JSON update went out */
  int last_stage;            /* stage of that update, -1 before any */
  int last_status;           /* status of that update, -1 before any */
  uint64_t last_transferred; /* bytes_transferred of the last snapshot */
  bool force;                /* kicked: send an update this tick */
  struct cbt_stall stall;    /* is the transfer moving? */
};

struct ticker {
  struct disk *disks;
  size_t n;
  struct ticker_options o;
  pthread_t thread;

  /* Protected by lock: how the other threads reach the ticker thread.
   * WAKE is signalled on a kick, a sync request or stop; SYNCED is
   * broadcast when sync_done catches up with a request.
   */
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_cond_t synced;
  bool stop;
  bool *kicked;        /* one a disk */
  bool any_kicked;     /* some kicked[i] is set */
  uint64_t sync_asked; /* sync requests made (a counter) */
  uint64_t sync_done;  /* requests answered by a complete update */

  /* Owned by the ticker thread (and by ticker_start before it runs). */
  struct progress_snapshot *snaps; /* one a disk */
  struct ticker_disk *state;       /* one a disk */
  int last_percent;                /* last "N/100" written, -1 before any */
  bool percent_slow, json_slow;    /* their readers are not reading */
  double last_bar;                 /* when the bar was last drawn */
  uint64_t last_job_transferred;   /* the job's, at the last snapshot */
};

/* How long one progress line waits for a reader that does not read. */
#define TICKER_WRITE_TIMEOUT_MS 2000

/* Writes all of BUF, one line, to *FD.  A reader that went away (or any
 * other write error) ends that output: *FD becomes -1 and the ticker says
 * so once; the copy must not fail, or die of SIGPIPE, because its progress
 * is not read.  A reader that stays but does not read for
 * TICKER_WRITE_TIMEOUT_MS costs that line (said once, in *SLOW, until a
 * line gets through again), or, if part of the line went out, the whole
 * output: the ticker never waits on it longer than that.
 */
static void
ticker_write_all (struct ticker *t, int *fd, bool *slow, const char *what,
                  const char *buf, size_t len)
{
  bool started = false;
  char msg[256];

  while (len > 0) {
    struct pollfd p = { .fd = *fd, .events = POLLOUT };
    int ready = poll (&p, 1, TICKER_WRITE_TIMEOUT_MS);
    ssize_t r;

    if (ready == -1 && errno == EINTR)
      continue;
    if (ready == 0 && !started) {
      if (!*slow && t->o.warn) {
        snprintf (msg, sizeof msg,
                  "warning: %s (file descriptor %d): its reader has not read"
                  " for %d s; progress lines are dropped until it does",
                  what, *fd, TICKER_WRITE_TIMEOUT_MS / 1000);
        t->o.warn (t->o.warn_opaque, SIZE_MAX, msg);
      }
      *slow = true;
      return;
    }
    if (ready == 0)
      r = -1, errno = ETIMEDOUT;
    else
      r = write (*fd, buf, len);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0) {
      snprintf (msg, sizeof msg,
                "warning: %s (file descriptor %d): %s; no more progress is"
                " written there",
                what, *fd, r == 0 ? "nothing written" : strerror (errno));
      *fd = -1;
      if (t->o.warn)
        t->o.warn (t->o.warn_opaque, SIZE_MAX, msg);
      return;
    }
    started = true;
    buf += r;
    len -= (size_t)r;
  }
  *slow = false;
}

/* Draws the job's bar for snapshot S; FINAL ends the line. */
static void
ticker_draw_bar (const struct progress_snapshot *s, bool final)
{
  char done[32], total[32], speed[24], rate[32], eta[32], line[256], bar[21];
  int filled, i;

  if (s->stage == CBT_STAGE_ANALYSIS && s->status == CBT_STATUS_IN_PROGRESS) {
    snprintf (line, sizeof line, "analysing the source's maps...");
  } else {
    filled = (int)(s->percent / 5);
    for (i = 0; i < 20; i++)
      bar[i] = i < filled ? '#' : '.';
    bar[20] = '\0';
    cbt_human_size (s->bytes_transferred, done, sizeof done);
    cbt_human_size (s->total_bytes, total, sizeof total);
    if (s->throughput_bps > 0) {
      cbt_human_size ((uint64_t)s->throughput_bps, speed, sizeof speed);
      snprintf (rate, sizeof rate, "%s/s", speed);
    } else {
      snprintf (rate, sizeof rate, "--");
    }
    cbt_human_duration (s->eta_seconds, eta, sizeof eta);
    char state[48];

    if (s->status != CBT_STATUS_IN_PROGRESS)
      snprintf (state, sizeof state, "%s", cbt_status_name (s->status));
    else if (s->stalled)
      snprintf (state, sizeof state, "stalled for %.0f s",
                floor (s->stalled_seconds));
    else
      snprintf (state, sizeof state, "%s", cbt_stage_name (s->stage));
    snprintf (line, sizeof line, "[%s] %s of %s (%.0f %%) %s ETA %s %s", bar,
              done, total, floor (s->percent), rate, eta, state);
  }
  fprintf (stderr, "\r%s\033[K%s", line, final ? "\n" : "");
  fflush (stderr);
}

/* Writes the job's "N/100" line for S if the whole percent changed.  The
 * analysis stage writes nothing: there is no total yet.
 */
static void
ticker_write_percent (struct ticker *t, const struct progress_snapshot *s,
                      bool final)
{
  int pct = (int)floor (s->percent);
  char line[16];
  int len;

  if (pct == t->last_percent || (s->stage == CBT_STAGE_ANALYSIS && !final))
    return;
  /* The job's percent only moves forward: the lines stay sorted. */
  assert (pct > t->last_percent);
  len = snprintf (line, sizeof line, "%d/100\n", pct);
  assert (len > 0 && (size_t)len < sizeof line);
  ticker_write_all (t, &t->o.percent_fd, &t->percent_slow, "--progress", line,
                    (size_t)len);
  t->last_percent = pct;
}

/* Sends the JSON update of disk I (snapshot S) to the JSON file
 * descriptor and the sink.
 */
static void
ticker_emit_disk (struct ticker *t, size_t i,
                  const struct progress_snapshot *s, bool final)
{
  const char *id = t->disks[i].spec.id;
  /* A disk that ended was written out when it ended: the final pass
   * writes no second line of it.
   */
  bool written = final && !cbt_status_is_running (s->status) &&
                 t->state[i].last_status == (int)s->status;

  if (t->o.json_fd >= 0 && !written) {
    char *json = progress_json_format (s, id, true);

    if (json) {
      size_t len = strlen (json);

      /* One write per line: the newline takes the place of the NUL. */
      json[len] = '\n';
      ticker_write_all (t, &t->o.json_fd, &t->json_slow, "--progress-json",
                        json, len + 1);
      free (json);
    }
  }
  if (t->o.sink) {
    char *json = progress_json_format (s, id, false);

    if (json) {
      t->o.sink (t->o.sink_opaque, id, json, final);
      free (json);
    }
  }
}

/* Takes one snapshot of every disk at time NOW and emits whatever is
 * due.  FORCE_ALL sends every disk's JSON (a sync, or the end); FINAL
 * marks the last update.  Runs on the ticker thread.
 */
static void
ticker_update (struct ticker *t, double now, bool force_all, bool final)
{
  struct progress_snapshot job;
  bool any_force = force_all;
  size_t i;

  for (i = 0; i < t->n; i++) {
    struct progress_snapshot *s = &t->snaps[i];

    progress_snapshot (&t->disks[i].progress, now, s);
    /* Stalled: transferring, yet nothing completed for a while.  The
     * other stages move no bytes, so they are never called stalled.
     */
    if (s->status == CBT_STATUS_IN_PROGRESS && s->stage == CBT_STAGE_TRANSFER)
      s->stalled = cbt_stall_check (
          &t->state[i].stall, s->bytes_transferred + s->bytes_zeroed, now,
          CBT_STALL_INTERVALS * t->o.interval, &s->stalled_seconds);
    else
      t->state[i].stall = (struct cbt_stall){ 0 };
    /* DESIGN §1: never above the total, never backwards. */
    assert (s->bytes_transferred <= s->total_bytes);
    assert (s->bytes_transferred >= t->state[i].last_transferred);
    t->state[i].last_transferred = s->bytes_transferred;
    any_force |= t->state[i].force;
  }
  progress_aggregate (t->snaps, t->n, &job);
  assert (job.bytes_transferred <= job.total_bytes);
  assert (job.bytes_transferred >= t->last_job_transferred);
  t->last_job_transferred = job.bytes_transferred;

  if (t->o.bar &&
      (final || any_force || now - t->last_bar >= TICKER_BAR_EVERY)) {
    ticker_draw_bar (&job, final);
    t->last_bar = now;
  }
  if (t->o.percent_fd >= 0)
    ticker_write_percent (t, &job, final);

  if (t->o.json_fd < 0 && t->o.sink == NULL)
    return;
  for (i = 0; i < t->n; i++) {
    const struct progress_snapshot *s = &t->snaps[i];
    struct ticker_disk *st = &t->state[i];

    if (final || force_all || st->force || (int)s->stage != st->last_stage ||
        (int)s->status != st->last_status ||
        now - st->last_json >= t->o.interval) {
      ticker_emit_disk (t, i, s, final);
      st->last_json = now;
      st->last_stage = (int)s->stage;
      st->last_status = (int)s->status;
    }
    st->force = false;
  }
}

static void *
ticker_run (void *arg)
{
  struct ticker *t = arg;
  size_t i;

  cbt_mutex_lock (&t->lock);
  while (!t->stop) {
    uint64_t asked = t->sync_asked;
    bool force_all = asked != t->sync_done;

    for (i = 0; i < t->n; i++) {
      t->state[i].force = t->kicked[i];
      t->kicked[i] = false;
    }
    t->any_kicked = false;
    cbt_mutex_unlock (&t->lock);

    /* Every snapshot is taken after the requests just read were made. */
    ticker_update (t, cbt_now_mono (), force_all, false);

    cbt_mutex_lock (&t->lock);
    assert (asked >= t->sync_done);
    if (force_all) {
      t->sync_done = asked;
      cbt_cond_broadcast (&t->synced);
    }
    if (!t->stop && !t->any_kicked && t->sync_asked == t->sync_done) {
      struct timespec deadline = cbt_deadline_after (TICKER_TICK);

      cbt_cond_timedwait (&t->wake, &t->lock, &deadline);
    }
  }
  cbt_mutex_unlock (&t->lock);

  ticker_update (t, cbt_now_mono (), true, true);

  cbt_mutex_lock (&t->lock);
  t->sync_done = t->sync_asked;
  cbt_cond_broadcast (&t->synced);
  cbt_mutex_unlock (&t->lock);
  return NULL;
}

bool
ticker_is_wanted (const struct ticker_options *opts)
{
  return opts->bar || opts->percent_fd >= 0 || opts->json_fd >= 0 ||
         opts->sink != NULL;
}

/* Frees what T holds once no thread uses it.  Accepts NULL. */
static void
ticker_free (struct ticker *t)
{
  if (t == NULL)
    return;
  free (t->kicked);
  free (t->snaps);
  free (t->state);
  free (t);
}

struct ticker *
ticker_start (struct disk *disks, size_t n, const struct ticker_options *opts)
{
  struct ticker *t = calloc (1, sizeof *t);
  size_t i;
  int err;

  if (t == NULL)
    goto nomem;
  t->kicked = calloc (n ? n : 1, sizeof *t->kicked);
  t->snaps = calloc (n ? n : 1, sizeof *t->snaps);
  t->state = calloc (n ? n : 1, sizeof *t->state);
  if (t->kicked == NULL || t->snaps == NULL || t->state == NULL)
    goto nomem;
  t->disks = disks;
  t->n = n;
  t->o = *opts;
  if (!(t->o.interval > 0))
    t->o.interval = 2;
  t->last_percent = -1;
  t->last_bar = -1e9;
  for (i = 0; i < n; i++)
    t->state[i] = (struct ticker_disk){ .last_json = -1e9,
                                        .last_stage = -1,
                                        .last_status = -1 };

  err = pthread_mutex_init (&t->lock, NULL);
  if (err)
    goto err_lock;
  err = cbt_cond_init_monotonic (&t->wake);
  if (err)
    goto err_wake;
  err = cbt_cond_init_monotonic (&t->synced);
  if (err)
    goto err_synced;
  err = pthread_create (&t->thread, NULL, ticker_run, t);
  if (err)
    goto err_thread;
  return t;

err_thread:
  cbt_cond_destroy (&t->synced);
err_synced:
  cbt_cond_destroy (&t->wake);
err_wake:
  cbt_mutex_destroy (&t->lock);
err_lock:
  cbt_set_error ("cannot start the progress ticker: %s", strerror (err));
  ticker_free (t);
  return NULL;

nomem:
  cbt_set_error ("out of memory");
  ticker_free (t);
  return NULL;
}

void
ticker_kick (struct ticker *t, size_t index)
{
  if (t == NULL)
    return;
  assert (index < t->n);
  cbt_mutex_lock (&t->lock);
  t->kicked[index] = true;
  t->any_kicked = true;
  cbt_cond_signal (&t->wake);
  cbt_mutex_unlock (&t->lock);
}

int
ticker_sync (struct ticker *t, double timeout)
{
  struct timespec deadline = cbt_deadline_after (timeout);
  uint64_t mine;
  bool answered, waiting = true;

  if (t == NULL)
    return 0;
  cbt_mutex_lock (&t->lock);
  mine = ++t->sync_asked;
  cbt_cond_signal (&t->wake);
  while (t->sync_done < mine && waiting)
    waiting = cbt_cond_timedwait (&t->synced, &t->lock, &deadline);
  answered = t->sync_done >= mine;
  cbt_mutex_unlock (&t->lock);
  if (!answered) {
    cbt_set_error ("the progress ticker did not answer within %.1f s",
                   timeout);
    return -1;
  }
  return 0;
}

void
ticker_stop (struct ticker *t)
{
  if (t == NULL)
    return;
  cbt_mutex_lock (&t->lock);
  t->stop = true;
  cbt_cond_signal (&t->wake);
  cbt_mutex_unlock (&t->lock);
  cbt_thread_join (t->thread);
  cbt_cond_destroy (&t->synced);
  cbt_cond_destroy (&t->wake);
  cbt_mutex_destroy (&t->lock);
  ticker_free (t);
}
