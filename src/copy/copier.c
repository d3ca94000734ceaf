/* cbtrack copy - the data mover. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/pthread-checked.h"
#include "common/timeutil.h"
#include "copy/copier.h"
#include "copy/zero.h"

/* Zero ranges of the plan are handed out in pieces of at most this. */
#define COPIER_ZERO_PIECE (UINT64_C (1) << 30)

struct copier;
struct worker;

/* A write or zero request issued for part of a slot's buffer. */
struct sub_request {
  struct command cmd; /* first: callbacks cast back */
  struct slot *slot;
};

/* One request in flight: a piece of the plan from read to last write. */
struct slot {
  struct command cmd; /* the read; first: callbacks cast back */
  struct worker *w;
  bool in_use;
  bool is_copy;     /* PLAN_COPY piece (else PLAN_MAKE_ZERO) */
  unsigned pending; /* references: issuing + requests outstanding */
  uint64_t written;
  uint64_t zero_skipped;
  struct sub_request *subs; /* as many as the buffer can have runs */
  size_t nr_subs;
};

struct worker {
  struct copier *c;
  unsigned index;
  pthread_t thread;
  unsigned in_flight;
  struct slot *slots;
  unsigned *free_slots;
  unsigned nr_free;
  bool flushing; /* a checkpoint flush of this worker is in flight */
};

/* A checkpoint flush: the command, and whom its completion concerns. */
struct copier_flush {
  struct command cmd; /* first: the callback casts back */
  struct copier *c;
  struct worker *w;
};

/* The states of a checkpoint flush (struct copier's flush_state). */
enum {
  COPIER_FLUSH_IDLE,
  COPIER_FLUSH_WANTED, /* asked for; the first worker to see it issues it */
  COPIER_FLUSH_ISSUED,
};

struct copier {
  struct rw *src, *dst;
  const struct plan *plan;
  struct progress *progress;
  size_t request_size;
  unsigned requests;
  bool skip_zero_blocks;
  size_t max_subs;

  pthread_mutex_t lock; /* protects the cursor and the error */
  size_t entry;         /* cursor: plan entry (<= entries.len) … */
  uint64_t pos;         /* … and offset inside the disk; only grows */
  atomic_bool failed;
  char error[512];

  /* PLAN_COPY bytes accounted so far (those of a resumed copy's
   * done-set included): never more than the plan's transfer_bytes, and
   * exactly that when the copy succeeded.
   */
  _Atomic uint64_t accounted;

  /* The done-set (NULL: none kept), under LOCK.  RESUME is a copy of
   * what it held at the start, which the cursor skips (RESUME_I is the
   * first of its ranges not behind the cursor).  HANDED_END is the end
   * of the last piece handed out: the ranges between pieces need no work
   * and join the done-set as the cursor passes them.
   */
  struct copier_done *done;
  ckpt_range_vector resume;
  size_t resume_i;
  uint64_t handed_end;
  bool handed_all;

  /* Checkpoints: the thread in copier_run sets FLUSH_STATE to WANTED,
   * the first worker to see it issues FLUSH on its connection, and the
   * completion records FLUSH_ERR, counts FLUSHES_DONE and signals COND
   * (all under LOCK).  COND is also signalled when a worker ends
   * (RUNNING counts those still running, under LOCK).
   */
  double checkpoint_interval;
  int (*checkpoint) (void *opaque, const ckpt_range_vector *done);
  void *checkpoint_opaque;
  atomic_int flush_state;
  struct copier_flush flush;
  unsigned flushes_done;
  int flush_err;
  pthread_cond_t cond;
  unsigned running;
  atomic_bool abandoned; /* a worker ended with requests in flight */
};

/* Records the first failure; later ones are consequences. */
static void copier_fail (struct copier *c, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
copier_fail (struct copier *c, const char *fmt, ...)
{
  va_list ap;

  cbt_mutex_lock (&c->lock);
  if (!atomic_load (&c->failed)) {
    va_start (ap, fmt);
    vsnprintf (c->error, sizeof c->error, fmt, ap);
    va_end (ap);
    atomic_store (&c->failed, true);
  }
  cbt_mutex_unlock (&c->lock);
}

/* Hands out the next piece of work: a COPY piece of at most one request,
 * aligned to the request size, or a zero piece.  Returns false when the
 * plan is exhausted.
 */
static bool
copier_next_piece (struct copier *c, uint64_t *ret_offset, size_t *ret_len,
                   bool *ret_is_copy)
{
  const plan_entry_vector *v = &c->plan->entries;
  const ckpt_range_vector *r = &c->resume;
  bool found = false, nomem = false;

  cbt_mutex_lock (&c->lock);
  while (c->entry < v->len) {
    const struct plan_entry *e = &v->ptr[c->entry];
    uint64_t end = e->offset + e->length, len;

    /* The cursor is inside the current entry, or at its end. */
    assert (c->pos >= e->offset && c->pos <= end);
    /* On a target known to be zero, zero ranges need nothing. */
    if (e->action == PLAN_SKIP || c->pos >= end ||
        (e->action == PLAN_MAKE_ZERO && c->skip_zero_blocks)) {
      c->entry++;
      if (c->entry < v->len) {
        /* Entries are sorted and do not overlap: the cursor only grows. */
        assert (v->ptr[c->entry].offset >= c->pos);
        c->pos = v->ptr[c->entry].offset;
      }
      continue;
    }
    /* A resumed copy skips what its checkpoint says is done. */
    while (c->resume_i < r->len && r->ptr[c->resume_i].end <= c->pos)
      c->resume_i++;
    if (c->resume_i < r->len && r->ptr[c->resume_i].start <= c->pos) {
      c->pos = r->ptr[c->resume_i].end < end ? r->ptr[c->resume_i].end : end;
      continue;
    }
    if (e->action == PLAN_COPY) {
      len = c->request_size - c->pos % c->request_size;
      *ret_is_copy = true;
    } else {
      len = COPIER_ZERO_PIECE;
      *ret_is_copy = false;
    }
    if (len > end - c->pos)
      len = end - c->pos;
    if (c->resume_i < r->len && r->ptr[c->resume_i].start < c->pos + len)
      len = r->ptr[c->resume_i].start - c->pos;
    assert (len > 0 && c->pos + len <= end);
    /* What the cursor passed since the last piece needs no work. */
    if (c->done &&
        checkpoint_done_add (&c->done->set, c->handed_end, c->pos) == -1)
      nomem = true;
    c->handed_end = c->pos + len;
    assert (!*ret_is_copy || len <= c->request_size);
    *ret_offset = c->pos;
    *ret_len = (size_t)len;
    c->pos += len;
    found = true;
    break;
  }
  assert (c->entry <= v->len);
  if (!found && c->done && !c->handed_all) {
    if (checkpoint_done_add (&c->done->set, c->handed_end,
                             c->plan->capacity) == -1)
      nomem = true;
    c->handed_all = true;
  }
  cbt_mutex_unlock (&c->lock);
  if (nomem) {
    copier_fail (c, "out of memory for the checkpoint");
    return false;
  }
  return found;
}

/* Adds the completed piece [OFFSET, OFFSET + LEN) to the done-set. */
static void
copier_note_done (struct copier *c, uint64_t offset, uint64_t len)
{
  int r;

  if (c->done == NULL)
    return;
  cbt_mutex_lock (&c->lock);
  r = checkpoint_done_add (&c->done->set, offset, offset + len);
  cbt_mutex_unlock (&c->lock);
  if (r == -1)
    copier_fail (c, "out of memory for the checkpoint");
}

/* Drops one reference on SLOT; the last one accounts the piece and frees
 * the slot for the next request.
 */
static void
slot_put (struct slot *s)
{
  struct worker *w = s->w;
  struct copier *c = w->c;

  assert (s->in_use);
  assert (s->pending > 0);
  if (--s->pending > 0)
    return;
  if (!atomic_load (&c->failed)) {
    if (s->is_copy) {
      uint64_t before = atomic_fetch_add (&c->accounted, s->cmd.length);

      /* Every planned byte is accounted once, so never more than all. */
      assert (before + s->cmd.length <= c->plan->transfer_bytes);
      assert (s->written + s->zero_skipped == s->cmd.length);
      progress_account_done (c->progress, s->cmd.length, s->written,
                             s->zero_skipped);
    } else {
      progress_account_zeroed (c->progress, s->cmd.length);
    }
    copier_note_done (c, s->cmd.offset, s->cmd.length);
  }
  s->in_use = false;
  assert (w->nr_free < c->requests && w->in_flight > 0);
  w->free_slots[w->nr_free++] = (unsigned)(s - w->slots);
  w->in_flight--;
}

static void
slot_write_done (struct command *cmd, int err)
{
  struct sub_request *sub = (struct sub_request *)cmd;

  if (err)
    copier_fail (sub->slot->w->c,
                 "%s: %s at offset %" PRIu64 " (%zu bytes)"
                 " failed: %s",
                 sub->slot->w->c->dst->name,
                 sub->slot->is_copy && sub->cmd.buf ? "write" : "zeroing",
                 cmd->offset, cmd->length, strerror (err));
  slot_put (sub->slot);
}

/* Issues a write (BUF != NULL) or a zero request for part of a slot. */
static void
slot_issue (struct slot *s, uint64_t offset, size_t len, char *buf)
{
  struct copier *c = s->w->c;
  struct sub_request *sub;
  int r;

  /* max_subs is the most runs a buffer can be split into. */
  assert (s->nr_subs < c->max_subs);
  sub = &s->subs[s->nr_subs++];

  sub->slot = s;
  sub->cmd = (struct command){
    .offset = offset,
    .length = len,
    .buf = buf,
    .worker = s->w->index,
    .cb = slot_write_done,
  };
  s->pending++;
  r = buf ? c->dst->ops->asynch_write (c->dst, &sub->cmd)
          : c->dst->ops->asynch_zero (c->dst, &sub->cmd);
  if (r == -1) {
    copier_fail (c, "%s", cbt_get_error ());
    s->pending--;
  }
}

/* The read of a COPY piece completed: split the buffer into runs of
 * data and of zero blocks (every byte checked), write the data, zero or
 * skip the zero blocks.
 */
static void
slot_read_done (struct command *cmd, int err)
{
  struct slot *s = (struct slot *)cmd;
  struct copier *c = s->w->c;
  size_t pos = 0;

  if (err) {
    copier_fail (c, "%s: read at offset %" PRIu64 " (%zu bytes) failed: %s",
                 c->src->name, cmd->offset, cmd->length, strerror (err));
    slot_put (s);
    return;
  }
  while (pos < cmd->length && !atomic_load (&c->failed)) {
    bool zero;
    size_t end =
        zero_run_end (cmd->buf, cmd->length, pos, ZERO_BLOCK_SIZE, &zero);

    if (!zero) {
      s->written += end - pos;
      slot_issue (s, cmd->offset + pos, end - pos, cmd->buf + pos);
    } else {
      s->zero_skipped += end - pos;
      if (!c->skip_zero_blocks)
        slot_issue (s, cmd->offset + pos, end - pos, NULL);
    }
    pos = end;
  }
  slot_put (s); /* the reference held by the read */
}

/* Starts one piece of work in a free slot of W. */
static void
worker_start_piece (struct worker *w, uint64_t offset, size_t len,
                    bool is_copy)
{
  struct copier *c = w->c;
  struct slot *s;

  assert (w->nr_free > 0 && w->nr_free <= c->requests);
  s = &w->slots[w->free_slots[--w->nr_free]];
  assert (!s->in_use);
  s->in_use = true;
  s->is_copy = is_copy;
  s->pending = 1;
  s->written = s->zero_skipped = 0;
  s->nr_subs = 0;
  w->in_flight++;

  if (!is_copy) {
    s->cmd.offset = offset;
    s->cmd.length = len;
    slot_issue (s, offset, len, NULL);
    slot_put (s);
    return;
  }
  if (s->cmd.buf == NULL) {
    void *buf;

    if (posix_memalign (&buf, 4096, c->request_size) != 0) {
      copier_fail (c, "out of memory for request buffers");
      slot_put (s);
      return;
    }
    s->cmd.buf = buf;
  }
  s->cmd.offset = offset;
  s->cmd.length = len;
  s->cmd.worker = w->index;
  s->cmd.cb = slot_read_done;
  if (c->src->ops->asynch_read (c->src, &s->cmd) == -1) {
    copier_fail (c, "%s", cbt_get_error ());
    slot_put (s);
  }
}

/* The completion of a checkpoint flush: records its result for the
 * thread waiting in copier_checkpoints.
 */
static void
copier_flush_done (struct command *cmd, int err)
{
  struct copier_flush *f = (struct copier_flush *)cmd;
  struct copier *c = f->c;

  assert (f->w->flushing);
  f->w->flushing = false;
  cbt_mutex_lock (&c->lock);
  c->flush_err = err;
  c->flushes_done++;
  atomic_store (&c->flush_state, COPIER_FLUSH_IDLE);
  cbt_cond_broadcast (&c->cond);
  cbt_mutex_unlock (&c->lock);
}

/* Issues the checkpoint flush on W's connection if one is wanted and no
 * other worker took it.
 */
static void
worker_maybe_flush (struct worker *w)
{
  struct copier *c = w->c;
  int wanted = COPIER_FLUSH_WANTED;

  if (atomic_load (&c->flush_state) != COPIER_FLUSH_WANTED ||
      !atomic_compare_exchange_strong (&c->flush_state, &wanted,
                                       COPIER_FLUSH_ISSUED))
    return;
  assert (!w->flushing);
  w->flushing = true;
  c->flush.w = w;
  c->flush.cmd =
      (struct command){ .worker = w->index, .cb = copier_flush_done };
  if (c->dst->ops->asynch_flush (c->dst, &c->flush.cmd) == -1) {
    copier_fail (c, "%s", cbt_get_error ());
    copier_flush_done (&c->flush.cmd, EIO);
  }
}

/* Waits until one of W's connections can make progress, and lets it. */
static int
worker_poll (struct worker *w)
{
  struct copier *c = w->c;
  struct rw *ends[2] = { c->src, c->dst };
  struct pollfd fds[2];
  struct rw *who[2];
  nfds_t n = 0, i;
  int r;

  for (i = 0; i < 2; i++) {
    int fd;
    short events;

    if (ends[i]->ops->get_poll == NULL)
      continue;
    if (ends[i]->ops->get_poll (ends[i], w->index, &fd, &events) == -1)
      return -1;
    if (fd >= 0 && events) {
      fds[n] = (struct pollfd){ .fd = fd, .events = events };
      who[n++] = ends[i];
    }
  }
  if (n == 0) {
    cbt_set_error ("internal error: requests in flight but nothing to poll");
    return -1;
  }
  r = poll (fds, n, 500);
  if (r == -1) {
    if (errno == EINTR)
      return 0;
    cbt_set_error_errno (errno, "poll");
    return -1;
  }
  for (i = 0; i < n; i++)
    if (fds[i].revents &&
        who[i]->ops->notify (who[i], w->index, fds[i].revents) == -1)
      return -1;
  return 0;
}

/* After a failure, requests already sent are given this long to finish,
 * so servers see an orderly end rather than a connection cut mid-reply.
 */
#define COPIER_DRAIN_SECONDS 2.0

static void *
worker_run (void *arg)
{
  struct worker *w = arg;
  struct copier *c = w->c;
  double drain_deadline = 0;

  for (;;) {
    uint64_t offset = 0;
    size_t len = 0;
    bool is_copy = false;

    while (!atomic_load (&c->failed) && w->nr_free > 0 &&
           copier_next_piece (c, &offset, &len, &is_copy)) {
      worker_start_piece (w, offset, len, is_copy);
      worker_maybe_flush (w);
    }
    worker_maybe_flush (w);
    assert (w->in_flight + w->nr_free == c->requests);
    if (w->in_flight == 0 && !w->flushing)
      break;
    if (atomic_load (&c->failed)) {
      if (drain_deadline == 0)
        drain_deadline = cbt_now_mono () + COPIER_DRAIN_SECONDS;
      else if (cbt_now_mono () > drain_deadline)
        break;
    }
    if (worker_poll (w) == -1) {
      copier_fail (c, "%s", cbt_get_error ());
      break;
    }
  }
  if (w->in_flight > 0 || w->flushing)
    atomic_store (&c->abandoned, true);
  cbt_mutex_lock (&c->lock);
  assert (c->running > 0);
  c->running--;
  cbt_cond_broadcast (&c->cond);
  cbt_mutex_unlock (&c->lock);
  return NULL;
}

/* Runs on the thread that called copier_run while the workers copy:
 * every checkpoint interval, takes a copy of the done-set, has a worker
 * flush the target, and hands the copy to the checkpoint callback once
 * the flush succeeded.  Returns when no worker is left running, or after
 * a failure.
 */
static void
copier_checkpoints (struct copier *c)
{
  ckpt_range_vector snap = empty_vector;
  double next = cbt_now_mono () + c->checkpoint_interval;

  cbt_mutex_lock (&c->lock);
  for (;;) {
    unsigned seen;
    int err, r;

    while (c->running > 0 && !atomic_load (&c->failed) &&
           cbt_now_mono () < next) {
      struct timespec deadline = cbt_deadline_after (next - cbt_now_mono ());

      cbt_cond_timedwait (&c->cond, &c->lock, &deadline);
    }
    if (c->running == 0 || atomic_load (&c->failed))
      break;
    /* Taken before the flush is asked for: only pieces whose writes
     * completed before the flush was issued are claimed.
     */
    r = checkpoint_done_copy (&c->done->set, &snap);
    if (r == -1) {
      cbt_mutex_unlock (&c->lock);
      copier_fail (c, "out of memory for the checkpoint");
      cbt_mutex_lock (&c->lock);
      break;
    }
    seen = c->flushes_done;
    atomic_store (&c->flush_state, COPIER_FLUSH_WANTED);
    while (c->running > 0 && c->flushes_done == seen)
      cbt_pthread_check (pthread_cond_wait (&c->cond, &c->lock),
                         "pthread_cond_wait");
    if (c->flushes_done == seen)
      break; /* the workers ended first: the caller's flush follows */
    err = c->flush_err;
    cbt_mutex_unlock (&c->lock);
    if (err)
      copier_fail (c, "%s: flush failed: %s", c->dst->name, strerror (err));
    else if (c->checkpoint (c->checkpoint_opaque, &snap) == -1)
      copier_fail (c, "%s", cbt_get_error ());
    cbt_mutex_lock (&c->lock);
    next = cbt_now_mono () + c->checkpoint_interval;
  }
  cbt_mutex_unlock (&c->lock);
  ckpt_range_vector_reset (&snap);
}

static void
worker_free (struct worker *w)
{
  unsigned i;

  if (w->slots) {
    for (i = 0; i < w->c->requests; i++) {
      free (w->slots[i].cmd.buf);
      free (w->slots[i].subs);
    }
  }
  free (w->slots);
  free (w->free_slots);
}

static int
worker_init (struct worker *w, struct copier *c, unsigned index)
{
  unsigned i;

  w->c = c;
  w->index = index;
  w->slots = calloc (c->requests, sizeof *w->slots);
  w->free_slots = calloc (c->requests, sizeof *w->free_slots);
  if (w->slots == NULL || w->free_slots == NULL)
    goto nomem;
  for (i = 0; i < c->requests; i++) {
    w->slots[i].w = w;
    w->slots[i].subs = calloc (c->max_subs, sizeof *w->slots[i].subs);
    if (w->slots[i].subs == NULL)
      goto nomem;
    /* Hand out slot 0 first. */
    w->free_slots[i] = c->requests - 1 - i;
  }
  w->nr_free = c->requests;
  return 0;

nomem:
  cbt_set_error ("out of memory");
  return -1;
}

int
copier_run (struct rw *src, struct rw *dst, const struct plan *plan,
            const struct copier_options *opts, struct progress *progress,
            unsigned *ret_workers)
{
  struct copier c = {
    .src = src,
    .dst = dst,
    .plan = plan,
    .progress = progress,
    .request_size = opts->request_size,
    .requests = opts->requests,
    .skip_zero_blocks = opts->target_is_zero,
    .done = opts->done,
    .checkpoint_interval = opts->checkpoint ? opts->checkpoint_interval : 0,
    .checkpoint = opts->checkpoint,
    .checkpoint_opaque = opts->checkpoint_opaque,
  };
  struct worker *workers = NULL;
  unsigned nr_workers, started = 0, i;
  int n, err, ret = -1;

  if (c.done) {
    c.done->drained = true;
    if (checkpoint_done_copy (&c.done->set, &c.resume) == -1)
      return -1;
  }
  if ((plan->transfer_bytes == 0 &&
       (plan->zeroing_bytes == 0 || opts->target_is_zero)) ||
      (c.done &&
       checkpoint_done_covers_plan (&c.resume, plan, opts->target_is_zero))) {
    /* Nothing to do, or a resumed copy that was done already. */
    ckpt_range_vector_reset (&c.resume);
    if (ret_workers)
      *ret_workers = 0;
    return 0;
  }
  /* Worst case: alternating data and zero blocks, plus the odd tail. */
  c.max_subs = c.request_size / ZERO_BLOCK_SIZE + 2;
  err = pthread_mutex_init (&c.lock, NULL);
  if (err) {
    cbt_set_error ("cannot create a lock: %s", strerror (err));
    ckpt_range_vector_reset (&c.resume);
    return -1;
  }
  err = cbt_cond_init_monotonic (&c.cond);
  if (err) {
    cbt_set_error ("cannot create a condition: %s", strerror (err));
    cbt_mutex_destroy (&c.lock);
    ckpt_range_vector_reset (&c.resume);
    return -1;
  }
  c.flush.c = &c;
  atomic_init (&c.failed, false);
  atomic_init (&c.abandoned, false);
  atomic_init (&c.flush_state, COPIER_FLUSH_IDLE);
  atomic_init (&c.accounted, checkpoint_done_copy_bytes (&c.resume, plan));
  c.pos = plan->entries.len ? plan->entries.ptr[0].offset : 0;

  n = src->ops->connect_workers (src, opts->connections);
  if (n == -1)
    goto out;
  n = dst->ops->connect_workers (dst, (unsigned)n);
  if (n == -1)
    goto out;
  nr_workers = (unsigned)n;
  /* The bytes in flight are a budget: when a server allows fewer
   * connections than asked for, each gets more requests (a single
   * connection to qemu-nbd keeps up only with many requests queued).
   */
  if (nr_workers < opts->connections) {
    unsigned scaled = opts->requests * opts->connections / nr_workers;

    c.requests = scaled < COPIER_MAX_REQUESTS ? scaled : COPIER_MAX_REQUESTS;
  }

  workers = calloc (nr_workers, sizeof *workers);
  if (workers == NULL) {
    cbt_set_error ("out of memory");
    goto out;
  }
  for (i = 0; i < nr_workers; i++)
    if (worker_init (&workers[i], &c, i) == -1)
      goto out_workers;

  for (i = 0; i < nr_workers; i++) {
    cbt_mutex_lock (&c.lock);
    c.running++;
    cbt_mutex_unlock (&c.lock);
    err = pthread_create (&workers[i].thread, NULL, worker_run, &workers[i]);
    if (err) {
      cbt_mutex_lock (&c.lock);
      c.running--;
      cbt_mutex_unlock (&c.lock);
      copier_fail (&c, "cannot start a worker thread: %s", strerror (err));
      break;
    }
    started++;
  }
  if (c.checkpoint_interval > 0 && c.done)
    copier_checkpoints (&c);
  for (i = 0; i < started; i++)
    cbt_thread_join (workers[i].thread);

  if (atomic_load (&c.failed)) {
    cbt_set_error ("%s", c.error);
  } else {
    /* Success means the whole plan was handed out and accounted. */
    assert (c.entry == plan->entries.len);
    assert (atomic_load (&c.accounted) == plan->transfer_bytes);
    ret = 0;
  }
  if (ret_workers)
    *ret_workers = nr_workers;
  if (c.done)
    c.done->drained = !atomic_load (&c.abandoned);

out_workers:
  for (i = 0; i < nr_workers; i++)
    worker_free (&workers[i]);
  free (workers);
out:
  cbt_cond_destroy (&c.cond);
  cbt_mutex_destroy (&c.lock);
  ckpt_range_vector_reset (&c.resume);
  return ret;
}

unsigned
copier_default_connections (void)
{
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);

  if (cpus < 1)
    return 1;
  return cpus < COPIER_DEFAULT_CONNECTIONS_MAX
             ? (unsigned)cpus
             : COPIER_DEFAULT_CONNECTIONS_MAX;
}
