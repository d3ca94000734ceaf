/* cbtrack oma - the OMA's Prometheus metrics (see metrics.h). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/metrics.h"
#include "oma/metrics.h"
#include "oma/oma.h"

/* Cycle durations and write times, in seconds. */
static const double oma_metrics_bounds[] = {
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
};
#define OMA_METRICS_NR_BOUNDS                                                 \
  (sizeof oma_metrics_bounds / sizeof oma_metrics_bounds[0])

struct oma_metrics_vma {
  char url[OMA_URL_MAX + 1];
  uint64_t errors;
  bool up;
};

/* What /metrics shows of one active job. */
struct oma_metrics_job {
  char id[CBT_ID_MAX + 1];
  char status[OMA_WORD_MAX + 1];
  int64_t bytes_transferred;
  int64_t total_bytes;
  double ratio;
  int64_t last_progress_at;
};

/* The numbers, copied whole for rendering. */
struct oma_metrics_numbers {
  double poll_interval;
  struct cbt_histogram cycle_seconds;
  struct cbt_histogram write_seconds;
  uint64_t cycles, cycle_failures;
  uint64_t vma_requests; /* polls and lists sent to the VMAs */
  double last_cycle;     /* wall time, 0 before the first */
  struct oma_metrics_vma vmas[OMA_METRICS_MAX_VMAS + 1]; /* last: other */
  size_t nr_vmas;
  uint64_t completed, failed, dead;
  struct oma_metrics_job *jobs; /* the active jobs, at most the cap */
  size_t nr_jobs;
  size_t active_pending, active_replicating, dropped_jobs;
};

struct oma_metrics {
  pthread_mutex_t lock;
  struct oma_metrics_numbers n; /* protected by lock */
};

struct oma_metrics *
oma_metrics_create (double poll_interval)
{
  struct oma_metrics *m = calloc (1, sizeof *m);
  int err;

  if (m == NULL) {
    cbt_set_error_errno (errno, "calloc");
    return NULL;
  }
  err = pthread_mutex_init (&m->lock, NULL);
  if (err != 0) {
    cbt_set_error_errno (err, "pthread_mutex_init");
    free (m);
    return NULL;
  }
  m->n.poll_interval = poll_interval;
  m->n.cycle_seconds.bounds = m->n.write_seconds.bounds = oma_metrics_bounds;
  m->n.cycle_seconds.nr_bounds = m->n.write_seconds.nr_bounds =
      OMA_METRICS_NR_BOUNDS;
  snprintf (m->n.vmas[OMA_METRICS_MAX_VMAS].url,
            sizeof m->n.vmas[OMA_METRICS_MAX_VMAS].url, "other");
  return m;
}

void
oma_metrics_free (struct oma_metrics *m)
{
  if (m == NULL)
    return;
  pthread_mutex_destroy (&m->lock);
  free (m->n.jobs);
  free (m);
}

void
oma_metrics_cycle (struct oma_metrics *m, bool ok,
                   const struct oma_poll_stats *stats, double now)
{
  if (m == NULL)
    return;
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&m->lock);
  if (!ok) {
    m->n.cycle_failures++;
    return;
  }
  m->n.cycles++;
  m->n.last_cycle = now;
  cbt_histogram_observe (&m->n.cycle_seconds, stats->seconds);
  cbt_histogram_observe (&m->n.write_seconds, stats->write_seconds);
}

void
oma_metrics_vma (struct oma_metrics *m, const char *url, bool ok)
{
  struct oma_metrics_vma *v = NULL;
  size_t i;

  if (m == NULL)
    return;
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&m->lock);
  for (i = 0; i < m->n.nr_vmas && v == NULL; i++)
    if (strcmp (m->n.vmas[i].url, url) == 0)
      v = &m->n.vmas[i];
  if (v == NULL && m->n.nr_vmas < OMA_METRICS_MAX_VMAS &&
      strlen (url) < sizeof v->url) {
    v = &m->n.vmas[m->n.nr_vmas++];
    memcpy (v->url, url, strlen (url) + 1);
  }
  if (v == NULL)
    v = &m->n.vmas[OMA_METRICS_MAX_VMAS];
  m->n.vma_requests++;
  v->up = ok;
  if (!ok)
    v->errors++;
}

void
oma_metrics_transition (struct oma_metrics *m, const char *status, bool dead)
{
  if (m == NULL)
    return;
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&m->lock);
  if (strcmp (status, "completed") == 0)
    m->n.completed++;
  else if (strcmp (status, "failed") == 0) {
    m->n.failed++;
    if (dead)
      m->n.dead++;
  }
}

int
oma_metrics_set_active (struct oma_metrics *m,
                        const struct oma_job *const *jobs, size_t n)
{
  struct oma_metrics_job *copy, *old;
  size_t i, kept = n < CBT_METRICS_MAX_JOBS ? n : CBT_METRICS_MAX_JOBS;
  size_t pending = 0, replicating = 0;

  if (m == NULL)
    return 0;
  copy = calloc (kept ? kept : 1, sizeof *copy);
  if (copy == NULL)
    return -1;
  for (i = 0; i < n; i++) {
    const struct oma_job *j = jobs[i];

    if (strcmp (j->status, "pending") == 0)
      pending++;
    else if (strcmp (j->status, "replicating") == 0)
      replicating++;
    if (i >= kept)
      continue;
    memcpy (copy[i].id, j->id, sizeof copy[i].id);
    memcpy (copy[i].status, j->status, sizeof copy[i].status);
    copy[i].bytes_transferred = j->bytes_transferred;
    copy[i].total_bytes = j->total_bytes;
    copy[i].ratio = j->progress_percent / 100.0;
    copy[i].last_progress_at = j->last_progress_at;
  }
  {
    ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&m->lock);
    old = m->n.jobs;
    m->n.jobs = copy;
    m->n.nr_jobs = kept;
    m->n.active_pending = pending;
    m->n.active_replicating = replicating;
    m->n.dropped_jobs = n - kept;
  }
  free (old);
  return 0;
}

/* Writes a copy of M's numbers (taken under the lock) to FP. */
static void
oma_metrics_write (FILE *fp, const struct oma_metrics_numbers *m,
                   const struct cbt_httpd *httpd)
{
  size_t i;
  unsigned code;

  cbt_metrics_build_info (fp, "oma");
  cbt_metrics_process (fp);

  cbt_metrics_header (fp, "cbtrack_oma_poll_cycle_duration_seconds",
                      "histogram", "Duration of the poll cycles.");
  cbt_histogram_write (fp, "cbtrack_oma_poll_cycle_duration_seconds",
                       &m->cycle_seconds);
  cbt_metrics_header (fp, "cbtrack_oma_poll_cycles_total", "counter",
                      "Poll cycles completed.");
  fprintf (fp, "cbtrack_oma_poll_cycles_total %" PRIu64 "\n", m->cycles);
  cbt_metrics_header (fp, "cbtrack_oma_poll_cycle_failures_total", "counter",
                      "Poll cycles that failed as a whole.");
  fprintf (fp, "cbtrack_oma_poll_cycle_failures_total %" PRIu64 "\n",
           m->cycle_failures);
  cbt_metrics_header (fp, "cbtrack_oma_poll_interval_seconds", "gauge",
                      "The configured time between the starts of two "
                      "cycles.");
  fprintf (fp, "cbtrack_oma_poll_interval_seconds %g\n", m->poll_interval);
  if (m->last_cycle > 0) {
    cbt_metrics_header (fp, "cbtrack_oma_last_poll_cycle_timestamp_seconds",
                        "gauge",
                        "When the last poll cycle ended (Unix "
                        "time).");
    fprintf (fp, "cbtrack_oma_last_poll_cycle_timestamp_seconds %.3f\n",
             m->last_cycle);
  }
  cbt_metrics_header (fp, "cbtrack_oma_db_write_duration_seconds", "histogram",
                      "Time each cycle spent writing to the database.");
  cbt_histogram_write (fp, "cbtrack_oma_db_write_duration_seconds",
                       &m->write_seconds);

  cbt_metrics_header (fp, "cbtrack_oma_vma_requests_total", "counter",
                      "Requests sent to the VMAs (polls and lists), "
                      "answered or not.");
  fprintf (fp, "cbtrack_oma_vma_requests_total %" PRIu64 "\n",
           m->vma_requests);
  cbt_metrics_header (fp, "cbtrack_oma_poll_errors_total", "counter",
                      "Polls of a VMA that got no usable answer, by VMA.");
  for (i = 0; i <= OMA_METRICS_MAX_VMAS; i++) {
    if (i >= m->nr_vmas && i < OMA_METRICS_MAX_VMAS)
      continue;
    if (i == OMA_METRICS_MAX_VMAS && m->vmas[i].errors == 0 && !m->vmas[i].up)
      continue;
    fputs ("cbtrack_oma_poll_errors_total{vma=\"", fp);
    cbt_metrics_label (fp, m->vmas[i].url);
    fprintf (fp, "\"} %" PRIu64 "\n", m->vmas[i].errors);
  }
  cbt_metrics_header (fp, "cbtrack_oma_vma_up", "gauge",
                      "1 when the VMA's last poll got an answer, else 0.");
  for (i = 0; i < m->nr_vmas; i++) {
    fputs ("cbtrack_oma_vma_up{vma=\"", fp);
    cbt_metrics_label (fp, m->vmas[i].url);
    fprintf (fp, "\"} %d\n", m->vmas[i].up ? 1 : 0);
  }

  cbt_metrics_header (fp, "cbtrack_oma_jobs", "gauge",
                      "Active jobs, by status, as of the last cycle.");
  fprintf (fp, "cbtrack_oma_jobs{status=\"pending\"} %zu\n",
           m->active_pending);
  fprintf (fp, "cbtrack_oma_jobs{status=\"replicating\"} %zu\n",
           m->active_replicating);
  cbt_metrics_header (fp, "cbtrack_oma_jobs_finished_total", "counter",
                      "Jobs that reached a final status, by status.");
  fprintf (fp,
           "cbtrack_oma_jobs_finished_total{status=\"completed\"} %" PRIu64
           "\n",
           m->completed);
  fprintf (fp,
           "cbtrack_oma_jobs_finished_total{status=\"failed\"} %" PRIu64 "\n",
           m->failed);
  cbt_metrics_header (fp, "cbtrack_oma_dead_jobs_total", "counter",
                      "Jobs failed for lack of news (dead timeout).");
  fprintf (fp, "cbtrack_oma_dead_jobs_total %" PRIu64 "\n", m->dead);
  cbt_metrics_header (fp, "cbtrack_oma_job_series_dropped", "gauge",
                      "Active jobs left out of the per-job series (beyond "
                      "the cap of 1000).");
  fprintf (fp, "cbtrack_oma_job_series_dropped %zu\n", m->dropped_jobs);

  cbt_metrics_header (fp, "cbtrack_oma_job_transferred_bytes_total", "counter",
                      "Bytes of the active job moved so far.");
  for (i = 0; i < m->nr_jobs; i++)
    fprintf (fp,
             "cbtrack_oma_job_transferred_bytes_total{job_id=\"%s\"} "
             "%" PRId64 "\n",
             m->jobs[i].id, m->jobs[i].bytes_transferred);
  cbt_metrics_header (fp, "cbtrack_oma_job_total_bytes", "gauge",
                      "Bytes the active job has to move.");
  for (i = 0; i < m->nr_jobs; i++)
    fprintf (fp, "cbtrack_oma_job_total_bytes{job_id=\"%s\"} %" PRId64 "\n",
             m->jobs[i].id, m->jobs[i].total_bytes);
  cbt_metrics_header (fp, "cbtrack_oma_job_progress_ratio", "gauge",
                      "Part of the active job's bytes moved, 0 to 1.");
  for (i = 0; i < m->nr_jobs; i++)
    fprintf (fp, "cbtrack_oma_job_progress_ratio{job_id=\"%s\"} %.6f\n",
             m->jobs[i].id, m->jobs[i].ratio);
  cbt_metrics_header (fp, "cbtrack_oma_job_last_progress_timestamp_seconds",
                      "gauge",
                      "When the active job last moved bytes (Unix time; 0 "
                      "never).");
  for (i = 0; i < m->nr_jobs; i++)
    fprintf (fp,
             "cbtrack_oma_job_last_progress_timestamp_seconds{job_id=\"%s\"} "
             "%" PRId64 "\n",
             m->jobs[i].id, m->jobs[i].last_progress_at);

  if (httpd != NULL) {
    cbt_metrics_header (fp, "cbtrack_oma_http_requests_total", "counter",
                        "HTTP replies sent, by status code.");
    for (code = 100; code < 600; code++)
      if (cbt_httpd_count (httpd, code) > 0)
        fprintf (fp,
                 "cbtrack_oma_http_requests_total{code=\"%u\"} %" PRIu64 "\n",
                 code, cbt_httpd_count (httpd, code));
  }
}

int
oma_metrics_render (struct oma_metrics *m, const struct cbt_httpd *httpd,
                    char **ret_text, size_t *ret_len)
{
  struct oma_metrics_numbers snap;
  char *out = NULL;
  size_t outlen = 0;
  FILE *fp;
  int r = -1;

  /* Copy under the lock, write without it. */
  pthread_mutex_lock (&m->lock);
  snap = m->n;
  snap.jobs = malloc ((m->n.nr_jobs ? m->n.nr_jobs : 1) * sizeof *m->n.jobs);
  if (snap.jobs != NULL && m->n.nr_jobs > 0)
    memcpy (snap.jobs, m->n.jobs, m->n.nr_jobs * sizeof *m->n.jobs);
  pthread_mutex_unlock (&m->lock);
  if (snap.jobs == NULL)
    return -1;

  fp = open_memstream (&out, &outlen);
  if (fp != NULL) {
    oma_metrics_write (fp, &snap, httpd);
    if (fclose (fp) == 0) {
      *ret_text = out;
      *ret_len = outlen;
      out = NULL;
      r = 0;
    }
  }
  free (out);
  free (snap.jobs);
  return r;
}

void
oma_metrics_get (struct cbt_httpd_request *req)
{
  struct oma_server *server = req->app;
  char *text;
  size_t len;

  if (server->metrics == NULL ||
      oma_metrics_render (server->metrics, req->httpd, &text, &len) == -1) {
    cbt_httpd_respond_error (req, 500, "out of memory");
    return;
  }
  cbt_httpd_respond_data (req, 200, "text/plain; version=0.0.4", text, len,
                          CBT_HTTPD_MEM_FREE);
}
