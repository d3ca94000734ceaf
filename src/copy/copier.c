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
#include "copy/faults.h"
#include "copy/zero.h"

/* Zero ranges of the plan are handed out in pieces of at most this. */
#define COPIER_ZERO_PIECE (UINT64_C (1) << 30)

struct copier;
struct worker;
struct slot;

/* What a request does, and so which endpoint it goes to. */
enum request_kind {
  REQUEST_READ,  /* from the source */
  REQUEST_WRITE, /* to the target */
  REQUEST_ZERO,  /* to the target */
};

/* One request as the copier tracks it: sent, failed, waiting to be sent
 * again.  The slot it belongs to keeps a reference while it is anywhere
 * but done, so a piece is accounted once, when its last request is done
 * for good.
 */
struct request {
  struct command cmd; /* first: callbacks cast back */
  struct slot *slot;
  enum request_kind kind;
  unsigned failures;    /* transient failures so far */
  double retry_at;      /* when it may be sent again */
  struct request *next; /* in the worker's retry queue */
};

/* One piece of the plan from read to last write. */
struct slot {
  struct request read; /* the read of a COPY piece */
  struct worker *w;
  bool in_use;
  bool is_copy;     /* PLAN_COPY piece (else PLAN_MAKE_ZERO) */
  unsigned pending; /* references: issuing + requests not done */
  uint64_t offset;  /* the piece */
  size_t length;
  uint64_t written;
  uint64_t zero_skipped;
  struct request *subs; /* writes and zeroes: as many as the buffer can
                           have runs */
  size_t nr_subs;
};

/* The two endpoints, as indexes into the per-endpoint state of a worker. */
enum { END_SRC, END_DST, NR_ENDS };

/* What a worker knows of its connection to one endpoint. */
struct worker_end {
  unsigned on_wire;      /* requests sent and not yet completed */
  double last_done;      /* when one last completed, or the wire filled */
  double lost_since;     /* when the connection was lost, else 0 */
  char why[256];         /* how it was lost */
  char retry_error[256]; /* why the last reconnect attempt failed */
  unsigned reconnect_attempts;
  double reconnect_at; /* no reconnect attempt before this */
};

struct worker {
  struct copier *c;
  unsigned index;
  pthread_t thread;
  unsigned in_flight; /* slots in use */
  struct slot *slots;
  unsigned *free_slots;
  unsigned nr_free;
  bool flushing; /* a checkpoint flush of this worker is in flight */
  struct request *retry_first, *retry_last; /* requests to send again */
  struct worker_end ends[NR_ENDS];
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
  struct faults_policy policy;

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
      uint64_t before = atomic_fetch_add (&c->accounted, s->length);

      /* Every planned byte is accounted once, so never more than all. */
      assert (before + s->length <= c->plan->transfer_bytes);
      assert (s->written + s->zero_skipped == s->length);
      progress_account_done (c->progress, s->length, s->written,
                             s->zero_skipped);
    } else {
      progress_account_zeroed (c->progress, s->length);
    }
    copier_note_done (c, s->offset, s->length);
  }
  s->in_use = false;
  assert (w->nr_free < c->requests && w->in_flight > 0);
  w->free_slots[w->nr_free++] = (unsigned)(s - w->slots);
  w->in_flight--;
}

static struct rw *
request_endpoint (const struct request *r)
{
  struct copier *c = r->slot->w->c;

  return r->kind == REQUEST_READ ? c->src : c->dst;
}

static const char *
request_verb (const struct request *r)
{
  switch (r->kind) {
  case REQUEST_READ: return "read";
  case REQUEST_WRITE: return "write";
  case REQUEST_ZERO: return "zeroing";
  }
  return "request";
}

/* Puts R at the end of its worker's retry queue, to be sent at AT. */
static void
request_queue_retry (struct request *r, double at)
{
  struct worker *w = r->slot->w;

  r->retry_at = at;
  r->next = NULL;
  if (w->retry_last)
    w->retry_last->next = r;
  else
    w->retry_first = r;
  w->retry_last = r;
}

static void request_done (struct command *cmd, int err);
static void slot_split_read (struct slot *s);

/* Sends R to its endpoint.  A request that cannot even be sent is
 * handled as one that failed.
 */
static void
request_send (struct request *r)
{
  struct worker *w = r->slot->w;
  struct rw *rw = request_endpoint (r);
  struct worker_end *end =
      &w->ends[r->kind == REQUEST_READ ? END_SRC : END_DST];
  int res;

  if (end->on_wire++ == 0)
    end->last_done = cbt_now_mono ();
  r->cmd.cb = request_done;
  r->cmd.worker = w->index;
  errno = 0;
  switch (r->kind) {
  case REQUEST_READ: res = rw->ops->asynch_read (rw, &r->cmd); break;
  case REQUEST_WRITE: res = rw->ops->asynch_write (rw, &r->cmd); break;
  case REQUEST_ZERO: res = rw->ops->asynch_zero (rw, &r->cmd); break;
  default: abort ();
  }
  if (res == -1)
    request_done (&r->cmd, errno > 0 ? errno : EIO);
}

/* The completion of every request (and the failure to send one): on
 * success the piece moves on; on failure the request is sent again if
 * its error may pass (after a backoff, or after a new connection), and
 * otherwise the copy fails with it.  Runs in the worker's thread.
 */
static void
request_done (struct command *cmd, int err)
{
  struct request *r = (struct request *)cmd;
  struct slot *s = r->slot;
  struct worker *w = s->w;
  struct copier *c = w->c;
  struct rw *rw = request_endpoint (r);
  struct worker_end *end =
      &w->ends[r->kind == REQUEST_READ ? END_SRC : END_DST];
  double now = cbt_now_mono ();
  enum faults_kind kind;

  assert (end->on_wire > 0);
  end->on_wire--;
  end->last_done = now;
  if (err == 0) {
    end->lost_since = 0;
    end->reconnect_attempts = 0;
    if (r->kind == REQUEST_READ)
      slot_split_read (s);
    slot_put (s);
    return;
  }
  if (atomic_load (&c->failed)) {
    slot_put (s);
    return;
  }

  kind = faults_classify (err);
  /* A failed write to a file may stand for an earlier write whose
   * write-back failed: sending this one again would not repair that.
   */
  if (kind == FAULTS_TRANSIENT && r->kind != REQUEST_READ && !rw->retry_writes)
    kind = FAULTS_FINAL;
  /* Endpoints without connections cannot get one back.  Nor may the
   * target: writes it acknowledged on the lost connection but did not
   * flush may be gone with it, and a new connection cannot tell which.
   * The checkpoint holds flushed data only, so running the same command
   * again resumes safely from there.
   */
  if (kind == FAULTS_LOST && (rw->ops->reconnect == NULL || rw == c->dst))
    kind = FAULTS_FINAL;

  switch (kind) {
  case FAULTS_LOST:
    /* Not a retry: the reconnect timeout bounds it.  A short pause all
     * the same, for a server that says it is shutting down (ESHUTDOWN)
     * before its connection actually goes.
     */
    if (end->lost_since == 0) {
      end->lost_since = now;
      end->retry_error[0] = '\0';
      snprintf (end->why, sizeof end->why,
                "%s failed: %s (the connection was lost)", request_verb (r),
                strerror (err));
    }
    request_queue_retry (r, now + FAULTS_RETRY_BASE);
    return;
  case FAULTS_TRANSIENT:
    if (r->failures < c->policy.retries) {
      r->failures++;
      request_queue_retry (r, now + faults_backoff (r->failures,
                                                    FAULTS_RETRY_BASE,
                                                    FAULTS_RETRY_CAP));
      return;
    }
    copier_fail (c,
                 "%s: %s at offset %" PRIu64 " (%zu bytes) failed: %s"
                 " (gave up after %u retries)",
                 rw->name, request_verb (r), cmd->offset, cmd->length,
                 strerror (err), r->failures);
    break;
  case FAULTS_FINAL:
    copier_fail (c, "%s: %s at offset %" PRIu64 " (%zu bytes) failed: %s",
                 rw->name, request_verb (r), cmd->offset, cmd->length,
                 strerror (err));
    break;
  }
  slot_put (s);
}

/* Issues a write (BUF != NULL) or a zero request for part of a slot. */
static void
slot_issue (struct slot *s, uint64_t offset, size_t len, char *buf)
{
  struct copier *c = s->w->c;
  struct request *sub;

  /* max_subs is the most runs a buffer can be split into. */
  assert (s->nr_subs < c->max_subs);
  sub = &s->subs[s->nr_subs++];

  *sub = (struct request){
    .cmd = { .offset = offset, .length = len, .buf = buf },
    .slot = s,
    .kind = buf ? REQUEST_WRITE : REQUEST_ZERO,
  };
  s->pending++;
  request_send (sub);
}

/* The read of a COPY piece completed: split the buffer into runs of
 * data and of zero blocks (every byte checked), write the data, zero or
 * skip the zero blocks.  The caller drops the read's reference.
 */
static void
slot_split_read (struct slot *s)
{
  struct copier *c = s->w->c;
  struct command *cmd = &s->read.cmd;
  size_t pos = 0;

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
  s->offset = offset;
  s->length = len;
  s->written = s->zero_skipped = 0;
  s->nr_subs = 0;
  w->in_flight++;

  if (!is_copy) {
    slot_issue (s, offset, len, NULL);
    slot_put (s);
    return;
  }
  if (s->read.cmd.buf == NULL) {
    void *buf;

    if (posix_memalign (&buf, 4096, c->request_size) != 0) {
      copier_fail (c, "out of memory for request buffers");
      slot_put (s);
      return;
    }
    s->read.cmd.buf = buf;
  }
  s->read.cmd.offset = offset;
  s->read.cmd.length = len;
  s->read.failures = 0;
  /* The read holds the slot's first reference until it is done. */
  request_send (&s->read);
}

/* Copies MSG into BUF of LEN bytes without the leading "NAME: " of RW,
 * for messages that name the endpoint once.
 */
static void
copier_strip_name (const struct rw *rw, const char *msg, char *buf, size_t len)
{
  size_t n = strlen (rw->name);

  if (strncmp (msg, rw->name, n) == 0 && strncmp (msg + n, ": ", 2) == 0)
    msg += n + 2;
  snprintf (buf, len, "%s", msg);
}

/* Brings back W's lost connections whose time has come.  Sets
 * BLOCKED[E] for each endpoint E that W cannot use yet.  A connection
 * still lost after the reconnect timeout fails the copy.
 */
static void
worker_reconnect (struct worker *w, double now, bool blocked[NR_ENDS])
{
  struct copier *c = w->c;
  double limit = c->policy.reconnect_timeout;
  unsigned e;

  for (e = 0; e < NR_ENDS; e++) {
    struct worker_end *end = &w->ends[e];
    struct rw *rw = e == END_SRC ? c->src : c->dst;
    double left;

    blocked[e] = false;
    if (end->lost_since == 0)
      continue;
    left = end->lost_since + limit - now;
    if (left <= 0) {
      copier_fail (c,
                   "%s: %s; no new connection within %g s"
                   " (--reconnect-timeout)%s%s",
                   rw->name, end->why, limit, end->retry_error[0] ? ": " : "",
                   end->retry_error);
      return;
    }
    /* Only a connection with nothing in flight is replaced, and not more
     * often than the backoff allows.
     */
    if (end->on_wire > 0 || now < end->reconnect_at) {
      blocked[e] = true;
      continue;
    }
    assert (rw->ops->reconnect != NULL);
    if (rw->ops->reconnect (rw, w->index, left) == 0)
      continue;
    copier_strip_name (rw, cbt_get_error (), end->retry_error,
                       sizeof end->retry_error);
    end->reconnect_at =
        cbt_now_mono () + faults_backoff (++end->reconnect_attempts,
                                          FAULTS_RECONNECT_BASE,
                                          FAULTS_RECONNECT_CAP);
    blocked[e] = true;
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

/* Sends again W's queued requests whose time has come, once their
 * connection is up; after a failure, drops them all.
 */
static void
worker_send_retries (struct worker *w, double now)
{
  struct copier *c = w->c;
  struct request *r = w->retry_first, *keep_first = NULL, *keep_last = NULL;
  bool blocked[NR_ENDS] = { false, false };

  if (r == NULL)
    return;
  if (!atomic_load (&c->failed))
    worker_reconnect (w, now, blocked);
  /* Requests that fail again are queued anew behind those kept here. */
  w->retry_first = w->retry_last = NULL;
  while (r) {
    struct request *next = r->next;

    if (atomic_load (&c->failed)) {
      slot_put (r->slot);
    } else if (blocked[r->kind == REQUEST_READ ? END_SRC : END_DST] ||
               r->retry_at > now) {
      r->next = NULL;
      if (keep_last)
        keep_last->next = r;
      else
        keep_first = r;
      keep_last = r;
    } else {
      request_send (r);
    }
    r = next;
  }
  if (keep_first) {
    keep_last->next = w->retry_first;
    if (w->retry_first == NULL)
      w->retry_last = keep_last;
    w->retry_first = keep_first;
  }
}

/* Gives up W's connections on which nothing completed for the I/O
 * timeout: their requests fail as on a lost connection, and are sent
 * again on a new one.
 */
static void
worker_check_io_timeout (struct worker *w, double now)
{
  struct copier *c = w->c;
  unsigned e;

  for (e = 0; e < NR_ENDS; e++) {
    struct worker_end *end = &w->ends[e];
    struct rw *rw = e == END_SRC ? c->src : c->dst;

    if (end->on_wire == 0 || rw->ops->abort == NULL ||
        now - end->last_done < c->policy.io_timeout)
      continue;
    if (end->lost_since == 0) {
      end->lost_since = now;
      snprintf (end->why, sizeof end->why,
                "no answer within %g s (--io-timeout)", c->policy.io_timeout);
      end->retry_error[0] = '\0';
    }
    /* The requests in flight fail now, and are queued to be sent again. */
    rw->ops->abort (rw, w->index);
  }
}

/* Waits, for at most WAIT seconds, until one of W's connections can make
 * progress, and lets it.
 */
static int
worker_poll (struct worker *w, double wait)
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
    /* Nothing on the wire: only requests waiting to be sent again. */
    if (w->retry_first == NULL) {
      cbt_set_error ("internal error: requests in flight but nothing to"
                     " poll");
      return -1;
    }
    cbt_sleep (wait);
    return 0;
  }
  r = poll (fds, n, (int)(wait * 1000) + 1);
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

/* The longest a worker sleeps between looks at its timers. */
#define COPIER_POLL_SECONDS 0.5

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
    double now = cbt_now_mono (), wait = COPIER_POLL_SECONDS;
    int signo = faults_stop_signal ();
    struct request *r;

    /* A signal ends the copy as a failure does: nothing new is sent,
     * what is in flight drains.
     */
    if (signo && !atomic_load (&c->failed)) {
      char msg[128];

      copier_fail (c, "%s", faults_stop_message (signo, msg, sizeof msg));
    }
    worker_send_retries (w, now);
    /* New pieces wait while a connection of this worker is lost and
     * requests wait for it (which brings it back).
     */
    while (!atomic_load (&c->failed) &&
           !(w->retry_first && (w->ends[END_SRC].lost_since != 0 ||
                                w->ends[END_DST].lost_since != 0)) &&
           w->nr_free > 0 && copier_next_piece (c, &offset, &len, &is_copy)) {
      worker_start_piece (w, offset, len, is_copy);
      worker_maybe_flush (w);
    }
    worker_maybe_flush (w);
    assert (w->in_flight + w->nr_free == c->requests);
    if (w->in_flight == 0 && !w->flushing)
      break;
    if (atomic_load (&c->failed)) {
      if (drain_deadline == 0)
        drain_deadline = now + COPIER_DRAIN_SECONDS;
      else if (now > drain_deadline)
        break;
    } else {
      worker_check_io_timeout (w, now);
    }
    /* Sleep until the next request may be sent again (and its
     * connection may be tried again), or something completes.
     */
    for (r = w->retry_first; r; r = r->next) {
      const struct worker_end *end =
          &w->ends[r->kind == REQUEST_READ ? END_SRC : END_DST];
      double at = r->retry_at;

      if (end->lost_since && end->reconnect_at > at)
        at = end->reconnect_at;
      if (at - now < wait)
        wait = at - now;
    }
    if (wait < 0.001)
      wait = 0.001;
    if (worker_poll (w, wait) == -1) {
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
      free (w->slots[i].read.cmd.buf);
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
    w->slots[i].read.slot = &w->slots[i];
    w->slots[i].read.kind = REQUEST_READ;
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
    .policy = *faults_policy (),
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
  /* Requests left in flight must not outlive the buffers freed below. */
  if (atomic_load (&c.abandoned)) {
    if (src->ops->cancel)
      src->ops->cancel (src);
    if (dst->ops->cancel)
      dst->ops->cancel (dst);
  }

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

  if (cpus < 2)
    return 1;
  return cpus - 1 < COPIER_DEFAULT_CONNECTIONS_MAX
             ? (unsigned)(cpus - 1)
             : COPIER_DEFAULT_CONNECTIONS_MAX;
}

unsigned
copier_default_requests (unsigned connections, size_t request_size)
{
  uint64_t n;

  assert (connections > 0 && request_size > 0);
  n = COPIER_DEFAULT_IN_FLIGHT / ((uint64_t)connections * request_size);
  if (n < COPIER_DEFAULT_REQUESTS_MIN)
    return COPIER_DEFAULT_REQUESTS_MIN;
  return n > COPIER_MAX_REQUESTS ? COPIER_MAX_REQUESTS : (unsigned)n;
}
