/* cbtrack copy - progress accounting (I/O-free). */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "common/pthread-checked.h"
#include "copy/progress.h"

void
progress_init (struct progress *p, bool incremental, double now)
{
  memset (p, 0, sizeof *p);
  p->incremental = incremental;
  p->start_time = now;
  atomic_init (&p->done, 0);
  atomic_init (&p->written, 0);
  atomic_init (&p->zero_skipped, 0);
  atomic_init (&p->zeroed, 0);
  atomic_init (&p->stage, CBT_STAGE_ANALYSIS);
  atomic_init (&p->status, CBT_STATUS_IN_PROGRESS);
  /* A default mutex needs no resources to initialise on Linux. */
  cbt_pthread_check (pthread_mutex_init (&p->lock, NULL),
                     "pthread_mutex_init");
}

void
progress_destroy (struct progress *p)
{
  if (p)
    cbt_mutex_destroy (&p->lock);
}

void
progress_set_plan (struct progress *p, uint64_t total_bytes,
                   uint64_t capacity_bytes, uint64_t hole_bytes,
                   uint64_t zero_bytes)
{
  /* The totals are fixed before the first byte is accounted. */
  assert (atomic_load (&p->done) == p->resumed);
  assert (p->resumed == 0 || total_bytes == p->total_bytes);
  assert (total_bytes <= capacity_bytes);
  cbt_mutex_lock (&p->lock);
  p->total_bytes = total_bytes;
  p->capacity_bytes = capacity_bytes;
  p->hole_bytes = hole_bytes;
  p->zero_bytes = zero_bytes;
  p->have_total = true;
  cbt_mutex_unlock (&p->lock);
}

void
progress_set_resumed (struct progress *p, uint64_t total_bytes,
                      uint64_t resumed)
{
  assert (resumed <= total_bytes);
  assert (atomic_load (&p->done) == 0);
  cbt_mutex_lock (&p->lock);
  p->total_bytes = total_bytes;
  p->resumed = resumed;
  p->have_total = true;
  atomic_store (&p->done, resumed);
  cbt_mutex_unlock (&p->lock);
  progress_set_stage (p, CBT_STAGE_RESUME);
}

void
progress_set_stage (struct progress *p, enum cbt_stage stage)
{
  int cur = atomic_load (&p->stage);

  int queued = CBT_STATUS_QUEUED;

  while (cur < (int)stage &&
         !atomic_compare_exchange_weak (&p->stage, &cur, (int)stage))
    ;
  if (stage >= CBT_STAGE_TRANSFER)
    atomic_compare_exchange_strong (&p->status, &queued,
                                    CBT_STATUS_IN_PROGRESS);
}

void
progress_account_done (struct progress *p, uint64_t bytes, uint64_t written,
                       uint64_t zero_skipped)
{
  uint64_t before;

  /* Written and zero-skipped bytes are parts of the completed ones. */
  assert (written + zero_skipped <= bytes);
  before = atomic_fetch_add_explicit (&p->done, bytes, memory_order_relaxed);
  /* The counter only grows: it never wraps. */
  assert (before + bytes >= before);
  if (written)
    atomic_fetch_add_explicit (&p->written, written, memory_order_relaxed);
  if (zero_skipped)
    atomic_fetch_add_explicit (&p->zero_skipped, zero_skipped,
                               memory_order_relaxed);
}

void
progress_account_zeroed (struct progress *p, uint64_t bytes)
{
  atomic_fetch_add_explicit (&p->zeroed, bytes, memory_order_relaxed);
}

void
progress_set_queued (struct progress *p, double now)
{
  int expected = CBT_STATUS_IN_PROGRESS;

  cbt_mutex_lock (&p->lock);
  if (atomic_compare_exchange_strong (&p->status, &expected,
                                      CBT_STATUS_QUEUED))
    p->queued_since = now;
  cbt_mutex_unlock (&p->lock);
}

void
progress_start_transfer (struct progress *p, double now)
{
  cbt_mutex_lock (&p->lock);
  if (p->queued_since > 0) {
    p->start_time += now - p->queued_since;
    p->queued_since = 0;
  }
  cbt_mutex_unlock (&p->lock);
  progress_set_stage (p, CBT_STAGE_TRANSFER);
}

/* True while the disk has not finished (queued or in progress). */
static bool
progress_is_running (struct progress *p)
{
  int status = atomic_load (&p->status);

  return status == CBT_STATUS_IN_PROGRESS || status == CBT_STATUS_QUEUED;
}

void
progress_complete (struct progress *p, double now)
{
  cbt_mutex_lock (&p->lock);
  if (progress_is_running (p)) {
    atomic_store (&p->status, CBT_STATUS_COMPLETED);
    p->end_time = now;
  }
  cbt_mutex_unlock (&p->lock);
}

void
progress_fail (struct progress *p, double now, const char *message)
{
  cbt_mutex_lock (&p->lock);
  if (progress_is_running (p)) {
    atomic_store (&p->status, CBT_STATUS_FAILED);
    p->end_time = now;
    snprintf (p->error, sizeof p->error, "%s", message ? message : "failed");
  }
  cbt_mutex_unlock (&p->lock);
}

/* Adds (NOW, BYTES) to the rate window and drops samples that fell out of
 * it, always keeping one sample at or before the window's start so the
 * rate covers the whole window.  Caller holds the lock.
 */
static void
progress_add_sample (struct progress *p, double now, uint64_t bytes)
{
  unsigned last;

  if (p->count > 0) {
    last = (p->first + p->count - 1) % PROGRESS_SAMPLES;
    /* Samples closer than 50 ms add nothing but churn. */
    if (now - p->samples[last].t < 0.05 && p->count > 1) {
      p->samples[last].t = now;
      p->samples[last].bytes = bytes;
      goto trim;
    }
  }
  if (p->count == PROGRESS_SAMPLES) {
    p->first = (p->first + 1) % PROGRESS_SAMPLES;
    p->count--;
  }
  p->samples[(p->first + p->count) % PROGRESS_SAMPLES] =
      (struct progress_sample){ .t = now, .bytes = bytes };
  p->count++;

trim:
  while (p->count > 2) {
    unsigned second = (p->first + 1) % PROGRESS_SAMPLES;

    if (p->samples[second].t > now - PROGRESS_WINDOW_SECONDS)
      break;
    p->first = second;
    p->count--;
  }
}

void
progress_snapshot (struct progress *p, double now,
                   struct progress_snapshot *ret)
{
  struct progress_snapshot s = { 0 };
  uint64_t done;

  cbt_mutex_lock (&p->lock);
  done = atomic_load (&p->done);
  s.stage = atomic_load (&p->stage);
  s.status = atomic_load (&p->status);
  s.incremental = p->incremental;
  s.total_bytes = p->total_bytes;
  s.resumed_bytes = p->resumed;
  s.capacity_bytes = p->capacity_bytes;
  s.hole_bytes = p->hole_bytes;
  s.zero_bytes = p->zero_bytes;
  s.bytes_written = atomic_load (&p->written);
  s.bytes_zero_skipped = atomic_load (&p->zero_skipped);
  s.bytes_zeroed = atomic_load (&p->zeroed);
  s.error_message = p->error;
  s.change_id = p->change_id;
  s.warning = p->warning;
  if (p->end_time > 0)
    now = p->end_time;
  else if (p->queued_since > 0)
    now = p->queued_since;
  s.elapsed_seconds = now - p->start_time;

  if (done > s.total_bytes)
    done = s.total_bytes;
  /* The last byte is not safe until the target is flushed. */
  if (s.status != CBT_STATUS_COMPLETED && s.total_bytes > 0 &&
      done == s.total_bytes)
    done = s.total_bytes - 1;
  if (s.status == CBT_STATUS_COMPLETED)
    done = s.total_bytes;
  s.bytes_transferred = done;

  s.percent =
      cbt_percent (done, s.total_bytes, s.status == CBT_STATUS_COMPLETED);

  if (s.status == CBT_STATUS_IN_PROGRESS && p->have_total &&
      s.stage >= CBT_STAGE_TRANSFER)
    progress_add_sample (p, now, done);

  if (s.status == CBT_STATUS_COMPLETED) {
    /* The average over the whole copy (what moved in this run), for the
     * summary.
     */
    if (s.elapsed_seconds > 0)
      s.throughput_bps =
          (double)(s.total_bytes - p->resumed) / s.elapsed_seconds;
  } else if (p->count >= 2) {
    const struct progress_sample *a = &p->samples[p->first];
    const struct progress_sample *b =
        &p->samples[(p->first + p->count - 1) % PROGRESS_SAMPLES];
    double dt = b->t - a->t;

    if (dt >= 0.5 && b->bytes > a->bytes)
      s.throughput_bps = (double)(b->bytes - a->bytes) / dt;
  }
  if (!cbt_eta (s.status, done, s.total_bytes, s.throughput_bps,
                &s.eta_seconds))
    s.eta_seconds = -1;
  cbt_mutex_unlock (&p->lock);
  /* DESIGN §1: never above the total; 100 when completed. */
  assert (s.bytes_transferred <= s.total_bytes);
  assert (s.percent >= 0 && s.percent <= 100);
  assert (s.status != CBT_STATUS_COMPLETED || s.percent == 100.0);
  *ret = s;
}

void
progress_snapshot_to_model (const struct progress_snapshot *s,
                            struct cbt_progress *ret)
{
  struct cbt_progress p = { 0 };

  p.stage = cbt_stage_name (s->stage);
  p.status = s->status;
  p.sync_type = s->incremental ? CBT_SYNC_INCREMENTAL : CBT_SYNC_FULL;
  p.bytes_transferred = s->bytes_transferred;
  p.resumed_bytes = s->resumed_bytes;
  p.total_bytes = s->total_bytes;
  p.percent = s->percent;
  p.throughput_bps = s->throughput_bps;
  p.has_eta = s->eta_seconds >= 0;
  p.eta_seconds = p.has_eta ? s->eta_seconds : 0;
  p.bytes_written = s->bytes_written;
  p.bytes_zero_skipped = s->bytes_zero_skipped;
  p.bytes_zeroed = s->bytes_zeroed;
  p.capacity_bytes = s->capacity_bytes;
  p.hole_bytes = s->hole_bytes;
  p.zero_bytes = s->zero_bytes;
  p.elapsed_seconds = s->elapsed_seconds;
  p.error_message = s->error_message;
  p.stalled = s->stalled;
  p.stalled_seconds = s->stalled_seconds;
  p.change_id = s->change_id;
  p.warning = s->warning;
  *ret = p;
}

void
progress_aggregate (const struct progress_snapshot *disks, size_t n,
                    struct progress_snapshot *ret)
{
  struct progress_snapshot s = { .stage = CBT_STAGE_ANALYSIS,
                                 .status = CBT_STATUS_IN_PROGRESS,
                                 .eta_seconds = -1,
                                 .error_message = "" };
  struct cbt_aggregate agg;
  struct cbt_progress d, job;
  size_t i;

  if (n == 0) {
    *ret = s;
    return;
  }
  cbt_aggregate_init (&agg);
  for (i = 0; i < n; i++) {
    progress_snapshot_to_model (&disks[i], &d);
    cbt_aggregate_add (&agg, &d, NULL);
  }
  cbt_aggregate_finish (&agg, NULL, &job);

  /* Every disk's stage is one of the model's names, so this parses. */
  cbt_stage_parse (job.stage, &s.stage);
  s.status = job.status;
  s.incremental = job.sync_type == CBT_SYNC_INCREMENTAL;
  s.bytes_transferred = job.bytes_transferred;
  s.resumed_bytes = job.resumed_bytes;
  s.total_bytes = job.total_bytes;
  s.percent = job.percent;
  s.throughput_bps = job.throughput_bps;
  s.eta_seconds = job.has_eta ? job.eta_seconds : -1;
  s.bytes_written = job.bytes_written;
  s.bytes_zero_skipped = job.bytes_zero_skipped;
  s.bytes_zeroed = job.bytes_zeroed;
  s.capacity_bytes = job.capacity_bytes;
  s.hole_bytes = job.hole_bytes;
  s.zero_bytes = job.zero_bytes;
  s.elapsed_seconds = job.elapsed_seconds;
  if (job.error_message != NULL)
    s.error_message = job.error_message;
  s.stalled = job.stalled;
  s.stalled_seconds = job.stalled_seconds;
  assert (s.bytes_transferred <= s.total_bytes);
  *ret = s;
}
