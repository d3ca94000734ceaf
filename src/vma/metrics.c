/* cbtrack vma - the /metrics resource (Prometheus text format 0.0.4).
 *
 * The exposition format wants all samples of one metric together, but the
 * store is walked once (under its lock): every per-job and per-disk
 * metric gets its own in-memory stream while walking, and the streams are
 * joined at the end.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "common/timeutil.h"
#include "vma/vma.h"

enum vma_metric {
  M_JOB_BYTES,
  M_JOB_TOTAL,
  M_JOB_RATIO,
  M_JOB_STATUS,
  M_JOB_STARTED,
  M_JOB_UPDATED,
  M_DISK_BYTES,
  M_DISK_TOTAL,
  M_DISK_RATIO,
  NR_METRICS,
};

struct vma_metric_info {
  const char *name;
  const char *type;
  const char *help;
};

/* Per-job and per-disk series exist for active (queued or running) jobs
 * only, at most CBT_METRICS_MAX_JOBS of them: finished jobs are counted
 * in cbtrack_vma_jobs, and a scrape stays bounded.  The label is job_id,
 * not job, which Prometheus gives the scrape job.
 */
static const struct vma_metric_info vma_metrics[NR_METRICS] = {
  [M_JOB_BYTES] = { "cbtrack_job_transferred_bytes_total", "counter",
                    "Bytes of the active job moved so far (sum over its "
                    "disks); its rate() is the job's speed." },
  [M_JOB_TOTAL] = { "cbtrack_job_total_bytes", "gauge",
                    "Bytes the active job has to move (sum over its "
                    "disks)." },
  [M_JOB_RATIO] = { "cbtrack_job_progress_ratio", "gauge",
                    "Part of the active job's bytes moved, 0 to 1." },
  [M_JOB_STATUS] = { "cbtrack_job_status", "gauge",
                     "1 for the active job's current status." },
  [M_JOB_STARTED] = { "cbtrack_job_start_timestamp_seconds", "gauge",
                      "When the active job's first update arrived (Unix "
                      "time)." },
  [M_JOB_UPDATED] = { "cbtrack_job_last_update_timestamp_seconds", "gauge",
                      "When the active job's last update arrived (Unix "
                      "time)." },
  [M_DISK_BYTES] = { "cbtrack_disk_transferred_bytes_total", "counter",
                     "Bytes of the disk moved so far; its rate() is the "
                     "disk's speed." },
  [M_DISK_TOTAL] = { "cbtrack_disk_total_bytes", "gauge",
                     "Bytes the disk has to move." },
  [M_DISK_RATIO] = { "cbtrack_disk_progress_ratio", "gauge",
                     "Part of the disk's bytes moved, 0 to 1." },
};

struct vma_metrics_walk {
  FILE *fp[NR_METRICS];
  char *buf[NR_METRICS];
  size_t len[NR_METRICS];
  uint64_t by_status[4];
  size_t series_jobs;  /* active jobs written */
  size_t dropped_jobs; /* active jobs beyond the cap */
};

/* BYTES of TOTAL as a ratio 0-1 (0 when there is nothing to move yet). */
static double
vma_metrics_ratio (const struct cbt_progress *p)
{
  if (p->status == CBT_STATUS_COMPLETED)
    return 1.0;
  return p->percent / 100.0;
}

static int
vma_metrics_job (const struct vma_job *job, void *opaque)
{
  struct vma_metrics_walk *w = opaque;
  struct cbt_progress p;
  size_t i;

  vma_job_progress (job, &p);
  w->by_status[p.status]++;
  if (p.status != CBT_STATUS_QUEUED && p.status != CBT_STATUS_IN_PROGRESS)
    return 0;
  if (w->series_jobs == CBT_METRICS_MAX_JOBS) {
    w->dropped_jobs++;
    return 0;
  }
  w->series_jobs++;
  fprintf (w->fp[M_JOB_BYTES], "%s{job_id=\"%s\"} %" PRIu64 "\n",
           vma_metrics[M_JOB_BYTES].name, job->id, p.bytes_transferred);
  fprintf (w->fp[M_JOB_TOTAL], "%s{job_id=\"%s\"} %" PRIu64 "\n",
           vma_metrics[M_JOB_TOTAL].name, job->id, p.total_bytes);
  fprintf (w->fp[M_JOB_RATIO], "%s{job_id=\"%s\"} %.6f\n",
           vma_metrics[M_JOB_RATIO].name, job->id, vma_metrics_ratio (&p));
  fprintf (w->fp[M_JOB_STATUS], "%s{job_id=\"%s\",status=\"%s\"} 1\n",
           vma_metrics[M_JOB_STATUS].name, job->id,
           cbt_status_name (p.status));
  fprintf (w->fp[M_JOB_STARTED], "%s{job_id=\"%s\"} %.3f\n",
           vma_metrics[M_JOB_STARTED].name, job->id, job->started_wall);
  fprintf (w->fp[M_JOB_UPDATED], "%s{job_id=\"%s\"} %.3f\n",
           vma_metrics[M_JOB_UPDATED].name, job->id, job->updated_wall);
  for (i = 0; i < job->disks.len; i++) {
    const struct vma_disk *d = &job->disks.ptr[i];

    vma_disk_progress (d, &p);
    fprintf (
        w->fp[M_DISK_BYTES], "%s{job_id=\"%s\",disk_id=\"%s\"} %" PRIu64 "\n",
        vma_metrics[M_DISK_BYTES].name, job->id, d->id, p.bytes_transferred);
    fprintf (w->fp[M_DISK_TOTAL],
             "%s{job_id=\"%s\",disk_id=\"%s\"} %" PRIu64 "\n",
             vma_metrics[M_DISK_TOTAL].name, job->id, d->id, p.total_bytes);
    fprintf (w->fp[M_DISK_RATIO], "%s{job_id=\"%s\",disk_id=\"%s\"} %.6f\n",
             vma_metrics[M_DISK_RATIO].name, job->id, d->id,
             vma_metrics_ratio (&p));
  }
  return 0;
}

int
vma_metrics_render (struct vma_store *store, const struct cbt_httpd *httpd,
                    double now_mono, char **ret_text, size_t *ret_len)
{
  struct vma_metrics_walk w = { 0 };
  struct vma_store_stats stats;
  char *out = NULL;
  size_t outlen = 0;
  FILE *fp = NULL;
  int i, r = -1;
  unsigned code;
  enum cbt_status s;

  for (i = 0; i < NR_METRICS; i++) {
    w.fp[i] = open_memstream (&w.buf[i], &w.len[i]);
    if (w.fp[i] == NULL)
      goto out;
  }
  vma_store_visit_all (store, vma_metrics_job, &w, &stats);

  fp = open_memstream (&out, &outlen);
  if (fp == NULL)
    goto out;
  cbt_metrics_build_info (fp, "vma");
  cbt_metrics_process (fp);
  cbt_metrics_header (fp, "cbtrack_vma_jobs", "gauge",
                      "Jobs held, by aggregated status.");
  for (s = CBT_STATUS_QUEUED; s <= CBT_STATUS_FAILED; s++)
    fprintf (fp, "cbtrack_vma_jobs{status=\"%s\"} %" PRIu64 "\n",
             cbt_status_name (s), w.by_status[s]);
  cbt_metrics_header (fp, "cbtrack_vma_disks", "gauge", "Disks held.");
  fprintf (fp, "cbtrack_vma_disks %zu\n", stats.disks);
  cbt_metrics_header (fp, "cbtrack_vma_job_series_dropped", "gauge",
                      "Active jobs left out of the per-job series (beyond "
                      "the cap of 1000).");
  fprintf (fp, "cbtrack_vma_job_series_dropped %zu\n", w.dropped_jobs);
  cbt_metrics_header (fp, "cbtrack_vma_updates_total", "counter",
                      "Updates applied.");
  fprintf (fp, "cbtrack_vma_updates_total %" PRIu64 "\n", stats.updates);
  cbt_metrics_header (fp, "cbtrack_vma_jobs_created_total", "counter",
                      "Jobs created by a first update.");
  fprintf (fp, "cbtrack_vma_jobs_created_total %" PRIu64 "\n",
           stats.jobs_created);
  cbt_metrics_header (fp, "cbtrack_vma_jobs_expired_total", "counter",
                      "Finished jobs forgotten after the TTL.");
  fprintf (fp, "cbtrack_vma_jobs_expired_total %" PRIu64 "\n",
           stats.jobs_expired);
  cbt_metrics_header (fp, "cbtrack_vma_jobs_deleted_total", "counter",
                      "Jobs forgotten by DELETE.");
  fprintf (fp, "cbtrack_vma_jobs_deleted_total %" PRIu64 "\n",
           stats.jobs_deleted);
  if (httpd != NULL) {
    cbt_metrics_header (fp, "cbtrack_vma_http_requests_total", "counter",
                        "HTTP replies sent, by status code.");
    for (code = 100; code < 600; code++)
      if (cbt_httpd_count (httpd, code) > 0)
        fprintf (fp,
                 "cbtrack_vma_http_requests_total{code=\"%u\"} %" PRIu64 "\n",
                 code, cbt_httpd_count (httpd, code));
  }
  for (i = 0; i < NR_METRICS; i++) {
    if (fflush (w.fp[i]) == EOF)
      goto out;
    cbt_metrics_header (fp, vma_metrics[i].name, vma_metrics[i].type,
                        vma_metrics[i].help);
    fwrite (w.buf[i], 1, w.len[i], fp);
  }
  if (fclose (fp) == EOF) {
    fp = NULL;
    goto out;
  }
  fp = NULL;
  *ret_text = out;
  *ret_len = outlen;
  out = NULL;
  r = 0;

out:
  if (fp != NULL)
    fclose (fp);
  free (out);
  for (i = 0; i < NR_METRICS; i++) {
    if (w.fp[i] != NULL)
      fclose (w.fp[i]);
    free (w.buf[i]);
  }
  return r;
}

void
vma_metrics_get (struct cbt_httpd_request *req)
{
  struct vma_server *server = req->app;
  char *text;
  size_t len;

  if (vma_metrics_render (server->store, req->httpd, cbt_now_mono (), &text,
                          &len) == -1) {
    cbt_httpd_respond_error (req, 500, "out of memory");
    return;
  }
  cbt_httpd_respond_data (req, 200, "text/plain; version=0.0.4", text, len,
                          CBT_HTTPD_MEM_FREE);
}
