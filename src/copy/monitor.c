/* cbtrack copy - the progress monitor. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/human.h"
#include "common/timeutil.h"
#include "copy/monitor.h"
#include "copy/progress-json.h"

#define MONITOR_TICK 0.1 /* seconds between looks at the progress */
#define MONITOR_BAR_EVERY 0.25

struct monitor {
  monitor_snapshot_fn snapshot;
  void *opaque;
  struct monitor_options o;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool stop;
  bool kicked;

  /* Owned by the monitor thread. */
  int last_percent; /* last "N/100" written, -1 before any */
  double last_json; /* when the last JSON update went out */
  double last_bar;
  enum progress_stage last_stage;
  bool bar_drawn;
};

/* Writes all of BUF to FD; errors are ignored (the reader went away). */
static void
monitor_write_all (int fd, const char *buf, size_t len)
{
  while (len > 0) {
    ssize_t r = write (fd, buf, len);

    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0)
      return;
    buf += r;
    len -= (size_t)r;
  }
}

static void
monitor_draw_bar (struct monitor *m, const struct progress_snapshot *s,
                  bool final)
{
  char done[32], total[32], speed[24], rate[32], eta[32], line[256], bar[21];
  int filled, i;

  if (s->stage == STAGE_ANALYSIS && s->status == STATUS_IN_PROGRESS) {
    snprintf (line, sizeof line, "%s%sanalysing the source's maps...",
              m->o.label ? m->o.label : "", m->o.label ? ": " : "");
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
    snprintf (line, sizeof line, "%s%s[%s] %s of %s (%.0f %%) %s ETA %s %s",
              m->o.label ? m->o.label : "", m->o.label ? ": " : "", bar, done,
              total, floor (s->percent), rate, eta,
              s->status == STATUS_IN_PROGRESS
                  ? progress_stage_name (s->stage)
                  : progress_status_name (s->status));
  }
  fprintf (stderr, "\r%s\033[K%s", line, final ? "\n" : "");
  fflush (stderr);
  m->bar_drawn = !final;
}

/* Emits whatever is due at time NOW. */
static void
monitor_update (struct monitor *m, double now, bool force, bool final)
{
  struct progress_snapshot s;

  m->snapshot (m->opaque, now, &s);

  if (m->o.bar && (final || force || now - m->last_bar >= MONITOR_BAR_EVERY)) {
    monitor_draw_bar (m, &s, final);
    m->last_bar = now;
  }

  if (m->o.percent_fd >= 0) {
    int pct = (int)floor (s.percent);

    if (pct != m->last_percent && (s.stage != STAGE_ANALYSIS || final)) {
      char line[16];
      int n = snprintf (line, sizeof line, "%d/100\n", pct);

      monitor_write_all (m->o.percent_fd, line, (size_t)n);
      m->last_percent = pct;
    }
  }

  if (s.stage != m->last_stage) {
    force = true;
    m->last_stage = s.stage;
  }
  if (force || final || now - m->last_json >= m->o.interval) {
    m->last_json = now;
    if (m->o.json_fd >= 0) {
      char *json = progress_json_format (&s, m->o.disk_id, true);

      if (json) {
        size_t len = strlen (json);

        json[len] = '\n';
        monitor_write_all (m->o.json_fd, json, len + 1);
        free (json);
      }
    }
    if (m->o.sink) {
      char *json = progress_json_format (&s, m->o.disk_id, false);

      if (json) {
        m->o.sink (m->o.sink_opaque, m->o.disk_id, json, final);
        free (json);
      }
    }
  }
}

static void *
monitor_run (void *arg)
{
  struct monitor *m = arg;

  pthread_mutex_lock (&m->lock);
  while (!m->stop) {
    struct timespec ts;
    bool force = m->kicked;
    double wake;

    m->kicked = false;
    pthread_mutex_unlock (&m->lock);
    monitor_update (m, cbt_now_mono (), force, false);
    pthread_mutex_lock (&m->lock);

    if (m->stop || m->kicked)
      continue;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    wake = ts.tv_sec + ts.tv_nsec / 1e9 + MONITOR_TICK;
    ts.tv_sec = (time_t)wake;
    ts.tv_nsec = (long)((wake - (double)ts.tv_sec) * 1e9);
    pthread_cond_timedwait (&m->cond, &m->lock, &ts);
  }
  pthread_mutex_unlock (&m->lock);
  monitor_update (m, cbt_now_mono (), true, true);
  return NULL;
}

void
monitor_progress_snapshot (void *opaque, double now,
                           struct progress_snapshot *ret)
{
  progress_snapshot (opaque, now, ret);
}

struct monitor *
monitor_start (monitor_snapshot_fn snapshot, void *opaque,
               const struct monitor_options *opts)
{
  struct monitor *m = calloc (1, sizeof *m);
  pthread_condattr_t attr;
  int err;

  if (m == NULL) {
    cbt_set_error ("out of memory");
    return NULL;
  }
  m->snapshot = snapshot;
  m->opaque = opaque;
  m->o = *opts;
  if (!(m->o.interval > 0))
    m->o.interval = 2;
  m->last_percent = -1;
  m->last_json = -1e9;
  m->last_stage = (enum progress_stage) - 1;
  pthread_mutex_init (&m->lock, NULL);
  pthread_condattr_init (&attr);
  pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
  pthread_cond_init (&m->cond, &attr);
  pthread_condattr_destroy (&attr);

  err = pthread_create (&m->thread, NULL, monitor_run, m);
  if (err) {
    cbt_set_error ("cannot start the progress thread: %s", strerror (err));
    pthread_cond_destroy (&m->cond);
    pthread_mutex_destroy (&m->lock);
    free (m);
    return NULL;
  }
  return m;
}

void
monitor_kick (struct monitor *m)
{
  if (m == NULL)
    return;
  pthread_mutex_lock (&m->lock);
  m->kicked = true;
  pthread_cond_signal (&m->cond);
  pthread_mutex_unlock (&m->lock);
}

void
monitor_stop (struct monitor *m)
{
  if (m == NULL)
    return;
  pthread_mutex_lock (&m->lock);
  m->stop = true;
  pthread_cond_signal (&m->cond);
  pthread_mutex_unlock (&m->lock);
  pthread_join (m->thread, NULL);
  pthread_cond_destroy (&m->cond);
  pthread_mutex_destroy (&m->lock);
  free (m);
}
