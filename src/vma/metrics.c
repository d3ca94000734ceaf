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

#include "common/timeutil.h"
#include "vma/vma.h"

enum vma_metric {
  M_JOB_BYTES,
  M_JOB_TOTAL,
  M_JOB_PERCENT,
  M_JOB_THROUGHPUT,
  M_JOB_STATUS,
  M_JOB_AGE,
  M_DISK_BYTES,
  M_DISK_TOTAL,
  M_DISK_THROUGHPUT,
  M_DISK_STATUS,
  NR_METRICS,
};

struct vma_metric_info {
  const char *name;
  const char *help;
};

static const struct vma_metric_info vma_metrics[NR_METRICS] = {
  [M_JOB_BYTES] = { "cbtrack_vma_job_bytes_transferred",
                    "Bytes of the job moved so far (sum over its disks)." },
  [M_JOB_TOTAL] = { "cbtrack_vma_job_total_bytes",
                    "Bytes the job has to move (sum over its disks)." },
  [M_JOB_PERCENT] = { "cbtrack_vma_job_percent",
                      "Percent of the job's bytes moved." },
  [M_JOB_THROUGHPUT] = { "cbtrack_vma_job_throughput_bps",
                         "Bytes per second, summed over running disks." },
  [M_JOB_STATUS] = { "cbtrack_vma_job_status",
                     "1 for the job's current status." },
  [M_JOB_AGE] = { "cbtrack_vma_job_seconds_since_update",
                  "Seconds since the job's last update." },
  [M_DISK_BYTES] = { "cbtrack_vma_disk_bytes_transferred",
                     "Bytes of the disk moved so far." },
  [M_DISK_TOTAL] = { "cbtrack_vma_disk_total_bytes",
                     "Bytes the disk has to move." },
  [M_DISK_THROUGHPUT] = { "cbtrack_vma_disk_throughput_bps",
                          "Bytes per second of the disk." },
  [M_DISK_STATUS] = { "cbtrack_vma_disk_status",
                      "1 for the disk's current status." },
};

struct vma_metrics_walk {
  double now_mono;
  FILE *fp[NR_METRICS];
  char *buf[NR_METRICS];
  size_t len[NR_METRICS];
  uint64_t sum_bytes, sum_total, sum_throughput;
  uint64_t by_status[4];
};

static int
vma_metrics_job (const struct vma_job *job, void *opaque)
{
  struct vma_metrics_walk *w = opaque;
  struct cbt_progress p;
  uint64_t bps;
  size_t i;

  vma_job_progress (job, &p);
  bps = (uint64_t)llround (p.throughput_bps);
  w->sum_bytes += p.bytes_transferred;
  w->sum_total += p.total_bytes;
  w->sum_throughput += bps;
  w->by_status[p.status]++;
  fprintf (w->fp[M_JOB_BYTES], "%s{job=\"%s\"} %" PRIu64 "\n",
           vma_metrics[M_JOB_BYTES].name, job->id, p.bytes_transferred);
  fprintf (w->fp[M_JOB_TOTAL], "%s{job=\"%s\"} %" PRIu64 "\n",
           vma_metrics[M_JOB_TOTAL].name, job->id, p.total_bytes);
  fprintf (w->fp[M_JOB_PERCENT], "%s{job=\"%s\"} %.2f\n",
           vma_metrics[M_JOB_PERCENT].name, job->id, p.percent);
  fprintf (w->fp[M_JOB_THROUGHPUT], "%s{job=\"%s\"} %" PRIu64 "\n",
           vma_metrics[M_JOB_THROUGHPUT].name, job->id, bps);
  fprintf (w->fp[M_JOB_STATUS], "%s{job=\"%s\",status=\"%s\"} 1\n",
           vma_metrics[M_JOB_STATUS].name, job->id,
           cbt_status_name (p.status));
  fprintf (w->fp[M_JOB_AGE], "%s{job=\"%s\"} %.0f\n",
           vma_metrics[M_JOB_AGE].name, job->id,
           w->now_mono > job->updated_mono ? w->now_mono - job->updated_mono
                                           : 0.0);
  for (i = 0; i < job->disks.len; i++) {
    const struct vma_disk *d = &job->disks.ptr[i];

    vma_disk_progress (d, &p);
    bps = (uint64_t)llround (p.throughput_bps);
    fprintf (w->fp[M_DISK_BYTES], "%s{job=\"%s\",disk=\"%s\"} %" PRIu64 "\n",
             vma_metrics[M_DISK_BYTES].name, job->id, d->id,
             p.bytes_transferred);
    fprintf (w->fp[M_DISK_TOTAL], "%s{job=\"%s\",disk=\"%s\"} %" PRIu64 "\n",
             vma_metrics[M_DISK_TOTAL].name, job->id, d->id, p.total_bytes);
    fprintf (w->fp[M_DISK_THROUGHPUT],
             "%s{job=\"%s\",disk=\"%s\"} %" PRIu64 "\n",
             vma_metrics[M_DISK_THROUGHPUT].name, job->id, d->id, bps);
    fprintf (w->fp[M_DISK_STATUS],
             "%s{job=\"%s\",disk=\"%s\",status=\"%s\"} 1\n",
             vma_metrics[M_DISK_STATUS].name, job->id, d->id,
             cbt_status_name (p.status));
  }
  return 0;
}

static void
vma_metrics_header (FILE *fp, const char *name, const char *type,
                    const char *help)
{
  fprintf (fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int
vma_metrics_render (struct vma_store *store, const struct cbt_httpd *httpd,
                    double now_mono, char **ret_text, size_t *ret_len)
{
  struct vma_metrics_walk w = { .now_mono = now_mono };
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
  vma_metrics_header (fp, "cbtrack_vma_jobs", "gauge",
                      "Jobs held, by aggregated status.");
  for (s = CBT_STATUS_QUEUED; s <= CBT_STATUS_FAILED; s++)
    fprintf (fp, "cbtrack_vma_jobs{status=\"%s\"} %" PRIu64 "\n",
             cbt_status_name (s), w.by_status[s]);
  vma_metrics_header (fp, "cbtrack_vma_disks", "gauge", "Disks held.");
  fprintf (fp, "cbtrack_vma_disks %zu\n", stats.disks);
  vma_metrics_header (fp, "cbtrack_vma_bytes_transferred", "gauge",
                      "Bytes moved, summed over all jobs.");
  fprintf (fp, "cbtrack_vma_bytes_transferred %" PRIu64 "\n", w.sum_bytes);
  vma_metrics_header (fp, "cbtrack_vma_total_bytes", "gauge",
                      "Bytes to move, summed over all jobs.");
  fprintf (fp, "cbtrack_vma_total_bytes %" PRIu64 "\n", w.sum_total);
  vma_metrics_header (fp, "cbtrack_vma_throughput_bps", "gauge",
                      "Bytes per second, summed over all jobs.");
  fprintf (fp, "cbtrack_vma_throughput_bps %" PRIu64 "\n", w.sum_throughput);
  vma_metrics_header (fp, "cbtrack_vma_updates_total", "counter",
                      "Updates applied.");
  fprintf (fp, "cbtrack_vma_updates_total %" PRIu64 "\n", stats.updates);
  vma_metrics_header (fp, "cbtrack_vma_jobs_created_total", "counter",
                      "Jobs created by a first update.");
  fprintf (fp, "cbtrack_vma_jobs_created_total %" PRIu64 "\n",
           stats.jobs_created);
  vma_metrics_header (fp, "cbtrack_vma_jobs_expired_total", "counter",
                      "Finished jobs forgotten after the TTL.");
  fprintf (fp, "cbtrack_vma_jobs_expired_total %" PRIu64 "\n",
           stats.jobs_expired);
  vma_metrics_header (fp, "cbtrack_vma_jobs_deleted_total", "counter",
                      "Jobs forgotten by DELETE.");
  fprintf (fp, "cbtrack_vma_jobs_deleted_total %" PRIu64 "\n",
           stats.jobs_deleted);
  if (httpd != NULL) {
    vma_metrics_header (fp, "cbtrack_vma_http_requests_total", "counter",
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
    vma_metrics_header (fp, vma_metrics[i].name, "gauge", vma_metrics[i].help);
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
