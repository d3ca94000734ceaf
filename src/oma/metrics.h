/* cbtrack oma - the OMA's Prometheus metrics (GET /metrics).
 *
 * The poller records what it does (each cycle's duration and database
 * write time, each VMA's answers, each job's change of state, the active
 * jobs' progress after each cycle); the handler renders the record.  All
 * functions are safe from any thread: one lock guards the record, held
 * only to copy numbers in or out.
 *
 * Metrics (see cbtrack-oma(8)):
 *   cbtrack_oma_poll_cycle_duration_seconds     histogram
 *   cbtrack_oma_poll_cycles_total, _failures_total      counters
 *   cbtrack_oma_poll_interval_seconds           gauge (--poll-interval)
 *   cbtrack_oma_last_poll_cycle_timestamp_seconds  gauge
 *   cbtrack_oma_db_write_duration_seconds       histogram, per cycle
 *   cbtrack_oma_poll_errors_total{vma}          counter
 *   cbtrack_oma_vma_up{vma}                     1 if its last answer came
 *   cbtrack_oma_jobs{status}                    active jobs (last cycle)
 *   cbtrack_oma_jobs_finished_total{status}     completed, failed
 *   cbtrack_oma_dead_jobs_total                 failed for lack of news
 *   cbtrack_oma_job_transferred_bytes_total{job_id}, _total_bytes,
 *   _progress_ratio, _last_progress_timestamp_seconds: active jobs, at
 *   most CBT_METRICS_MAX_JOBS
 * and cbtrack_build_info, process_*.
 */
#ifndef CBTRACK_OMA_METRICS_H
#define CBTRACK_OMA_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/httpd.h"
#include "oma/poller.h"
#include "oma/store.h"

/* VMAs tracked by name; answers of others are counted as "other". */
#define OMA_METRICS_MAX_VMAS 64

struct oma_metrics;

/* Creates an empty record for a poller polling every POLL_INTERVAL
 * seconds.  Returns NULL with an error recorded when out of memory.
 */
struct oma_metrics *oma_metrics_create (double poll_interval);

/* Frees M.  Accepts NULL. */
void oma_metrics_free (struct oma_metrics *m);

/* A poll cycle ended at wall time NOW: OK false for a failed cycle,
 * else STATS is what it did.  Accepts a NULL M (no metrics).
 */
void oma_metrics_cycle (struct oma_metrics *m, bool ok,
                        const struct oma_poll_stats *stats, double now);

/* A request to the VMA at URL (a poll or a list) ended: answered (OK) or
 * not.  Each counts in cbtrack_oma_vma_requests_total.  Accepts a NULL M.
 */
void oma_metrics_vma (struct oma_metrics *m, const char *url, bool ok);

/* A job became STATUS ("completed", "failed"...); DEAD when it failed
 * for lack of news.  Accepts a NULL M.
 */
void oma_metrics_transition (struct oma_metrics *m, const char *status,
                             bool dead);

/* Replaces the active jobs' progress with that of JOBS (N pointers),
 * after a cycle.  Accepts a NULL M.  Returns 0, or -1 when out of memory
 * (the previous set stays).
 */
int oma_metrics_set_active (struct oma_metrics *m,
                            const struct oma_job *const *jobs, size_t n);

/* Renders M in the Prometheus text format into a malloc'd *RET_TEXT of
 * *RET_LEN bytes, with HTTPD's reply counts when not NULL.  Returns 0,
 * or -1 when out of memory.
 */
int oma_metrics_render (struct oma_metrics *m, const struct cbt_httpd *httpd,
                        char **ret_text, size_t *ret_len);

/* GET /metrics (req->app is a struct oma_server). */
void oma_metrics_get (struct cbt_httpd_request *req);

#endif /* CBTRACK_OMA_METRICS_H */
