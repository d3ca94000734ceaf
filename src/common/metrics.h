/* cbtrack - writing Prometheus metrics (text exposition format 0.0.4).
 *
 * Shared by the VMA's and the OMA's /metrics: the HELP/TYPE header, label
 * values, histograms, cbtrack_build_info and the standard process_*
 * metrics.  Names follow Prometheus' rules: base units in the name
 * (_bytes, _seconds), _total for counters, ratios 0-1 as _ratio.
 */
#ifndef CBTRACK_COMMON_METRICS_H
#define CBTRACK_COMMON_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Per-job (and per-disk) series are written for at most this many active
 * (queued or running) jobs, the newest first; the others are counted in
 * the *_job_series_dropped gauge.  This bounds the series a scrape
 * returns, whatever the number of jobs.
 */
#define CBT_METRICS_MAX_JOBS 1000

/* Writes "# HELP NAME HELP" and "# TYPE NAME TYPE". */
void cbt_metrics_header (FILE *fp, const char *name, const char *type,
                         const char *help);

/* Writes VALUE as the inside of a quoted label value: backslash, double
 * quote and newline escaped.
 */
void cbt_metrics_label (FILE *fp, const char *value);

/* Writes cbtrack_build_info{version,component} 1. */
void cbt_metrics_build_info (FILE *fp, const char *component);

/* Writes the standard process metrics of this process (Linux /proc):
 * process_cpu_seconds_total, process_start_time_seconds,
 * process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds.  Those it cannot read are left out.
 */
void cbt_metrics_process (FILE *fp);

#define CBT_HISTOGRAM_MAX_BUCKETS 16

/* A Prometheus histogram: cumulative buckets over fixed upper bounds. */
struct cbt_histogram {
  const double *bounds; /* ascending upper bounds, +Inf implied */
  size_t nr_bounds;     /* <= CBT_HISTOGRAM_MAX_BUCKETS */
  uint64_t counts[CBT_HISTOGRAM_MAX_BUCKETS]; /* observations <= bound */
  uint64_t count;
  double sum;
};

/* Counts VALUE into H.  I/O free; the caller serialises. */
void cbt_histogram_observe (struct cbt_histogram *h, double value);

/* Writes H as NAME_bucket{le=...}, NAME_sum and NAME_count (the header
 * is the caller's).
 */
void cbt_histogram_write (FILE *fp, const char *name,
                          const struct cbt_histogram *h);

#endif /* CBTRACK_COMMON_METRICS_H */
