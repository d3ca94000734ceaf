/* cbtrack copy - local files and block devices, with pread/pwrite.
 *
 * Reads, and every request to a block device, are synchronous: each
 * "asynchronous" request completes, and calls its callback, before it
 * returns.  Workers share one descriptor, which pread/pwrite allow.
 *
 * A regular file written to has a writer thread instead.  Writes to one
 * file are serialised by the kernel (the inode's lock) whoever issues
 * them, so workers that write themselves only wait for each other, and a
 * worker waiting for write-back to reach the disk reads nothing from its
 * source meanwhile.  The workers queue their writes, zeroes and flushes;
 * the writer does them in order and hands each completion back to the
 * worker that issued it, through that worker's eventfd (get_poll), whose
 * thread then runs the callback (notify).  Only the writer touches the
 * descriptor while requests are queued, so a write-back error is seen by
 * exactly one request, as before.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/error.h"
#include "common/pthread-checked.h"
#include "copy/rw.h"

/* Written ranges still being written back: once this many newer writes
 * have been issued, cbtrack waits for the oldest to reach the disk.  This
 * bounds the dirty data a file target holds (about 64 requests), so the
 * bytes counted as done are on their way to disk and the final flush is
 * short, whatever the size of the copy.
 */
#define FILE_WRITEBACK_WINDOW 64

struct file_range {
  uint64_t offset;
  uint64_t length;
};

/* What a queued request asks of the writer (struct command's op). */
enum { FILE_OP_WRITE, FILE_OP_ZERO, FILE_OP_FLUSH };

/* A worker's side of the writer: the completions waiting for it. */
struct file_worker {
  int efd;                          /* readable when DONE is not empty */
  struct command *done, *done_last; /* under queue_lock */
  unsigned pending;                 /* queued or done, not yet called
                                       back; the worker's own */
};

struct file_rw {
  struct rw rw;
  int fd;
  /* The writer thread (a regular file opened for writing, once workers
   * are connected).  QUEUE is what it has to do, in order; STOP tells it
   * to end once the queue is empty.
   */
  bool threaded;
  bool writer_started;
  pthread_t writer;
  pthread_mutex_t queue_lock;
  pthread_cond_t queue_cond;
  pthread_cond_t idle_cond; /* CURRENT went back to NULL */
  struct command *queue, *queue_last;
  struct command *current; /* the request the writer carries out */
  bool stop;
  struct file_worker *workers;
  unsigned nr_workers;
  pthread_mutex_t lock; /* protects the write-back window */
  struct file_range window[FILE_WRITEBACK_WINDOW];
  unsigned window_first, window_count;
  bool is_block;
  bool in_memory; /* tmpfs/ramfs: write-back and page dropping do nothing */
  atomic_bool can_punch;      /* FALLOC_FL_PUNCH_HOLE still worth trying */
  atomic_bool can_zero_range; /* FALLOC_FL_ZERO_RANGE still worth trying
                                 (workers share these) */
};

static const struct rw_ops file_ops;

/* True if FD's file has no data extent at all: SEEK_DATA from 0 answers
 * ENXIO only when everything to the end is a hole, which reads as zero.
 * Filesystems without SEEK_DATA report the whole file as data.
 */
static bool
file_rw_is_all_holes (int fd)
{
  return lseek (fd, 0, SEEK_DATA) == -1 && errno == ENXIO;
}

/* True if FD lives in memory (tmpfs, ramfs), where there is no write-back
 * to start or wait for, and dropping written pages would drop the data.
 */
static bool
file_rw_is_in_memory (int fd)
{
  struct statfs sfs;

  if (fstatfs (fd, &sfs) == -1)
    return false;
  return sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC;
}

struct rw *
file_rw_open (const char *name, const struct rw_open_args *args)
{
  struct file_rw *f;
  struct stat st;
  int flags = args->writable ? O_RDWR : O_RDONLY;
  bool created = false;
  int err;

  if (args->bitmap) {
    cbt_set_error ("%s: a dirty bitmap needs an NBD source (qemu-nbd"
                   " --bitmap), not a local file",
                   name);
    return NULL;
  }
  f = calloc (1, sizeof *f);
  if (f == NULL) {
    cbt_set_error ("out of memory");
    return NULL;
  }
  f->rw.ops = &file_ops;
  f->rw.name = name;
  f->fd = -1;
  /* Nothing to undo if one fails: with default attributes these hold no
   * resource.
   */
  if ((err = pthread_mutex_init (&f->lock, NULL)) != 0 ||
      (err = pthread_mutex_init (&f->queue_lock, NULL)) != 0 ||
      (err = pthread_cond_init (&f->queue_cond, NULL)) != 0 ||
      (err = pthread_cond_init (&f->idle_cond, NULL)) != 0) {
    cbt_set_error ("%s: cannot create a lock: %s", name, strerror (err));
    free (f);
    return NULL;
  }
  f->can_punch = f->can_zero_range = true;

  f->fd = open (name, flags | O_CLOEXEC);
  if (f->fd == -1 && errno == ENOENT && args->writable) {
    f->fd = open (name, flags | O_CLOEXEC | O_CREAT | O_EXCL, 0644);
    created = f->fd >= 0;
  }
  if (f->fd == -1) {
    cbt_set_error_errno (errno, "%s", name);
    goto err;
  }
  if (fstat (f->fd, &st) == -1) {
    cbt_set_error_errno (errno, "%s: stat", name);
    goto err;
  }
  if (S_ISBLK (st.st_mode)) {
    uint64_t size;

    if (ioctl (f->fd, BLKGETSIZE64, &size) == -1) {
      cbt_set_error_errno (errno, "%s: BLKGETSIZE64", name);
      goto err;
    }
    f->is_block = true;
    f->rw.size = size;
  } else if (S_ISREG (st.st_mode)) {
    f->rw.size = (uint64_t)st.st_size;
    f->rw.have_allocation = true;
    /* A new or empty target is sized to the source and known zero. */
    if (args->writable && (created || st.st_size == 0)) {
      if (ftruncate (f->fd, (off_t)args->create_size) == -1) {
        cbt_set_error_errno (errno, "%s: truncate", name);
        goto err;
      }
      f->rw.size = args->create_size;
      f->rw.is_zero = true;
    } else if (args->writable && file_rw_is_all_holes (f->fd)) {
      /* A sparse file with no data at all reads as zero: zeroing its
       * holes again would only cost calls.  Unlike truncating, this
       * keeps an existing target as it is.
       */
      f->rw.is_zero = true;
    }
    if (args->writable) {
      f->in_memory = file_rw_is_in_memory (f->fd);
      f->threaded = true;
    }
  } else {
    cbt_set_error ("%s: not a regular file or block device", name);
    goto err;
  }
  f->rw.preferred_block = (uint32_t)(st.st_blksize > 0 ? st.st_blksize : 0);
  return &f->rw;

err:
  f->rw.ops->close (&f->rw);
  return NULL;
}

static void file_rw_stop_writer (struct file_rw *f);
static int file_rw_start_writer (struct file_rw *f, unsigned n);

static int
file_rw_close (struct rw *rw)
{
  struct file_rw *f = (struct file_rw *)rw;
  int ret = 0;

  file_rw_stop_writer (f);
  /* Some filesystems (NFS, FUSE) report write errors only at close. */
  if (f->fd >= 0 && close (f->fd) == -1 && errno != EINTR) {
    cbt_set_error_errno (errno, "%s: close", rw->name);
    ret = -1;
  }
  pthread_mutex_destroy (&f->lock);
  pthread_mutex_destroy (&f->queue_lock);
  pthread_cond_destroy (&f->queue_cond);
  pthread_cond_destroy (&f->idle_cond);
  free (f);
  return ret;
}

static int
file_rw_connect_workers (struct rw *rw, unsigned n)
{
  struct file_rw *f = (struct file_rw *)rw;

  if (!f->threaded)
    return (int)n;
  /* Connected already (another run on the same endpoint): as many as
   * then.
   */
  if (f->writer_started)
    return (int)(n < f->nr_workers ? n : f->nr_workers);
  return file_rw_start_writer (f, n) == -1 ? -1 : (int)n;
}

static int64_t
file_rw_get_map (struct rw *rw, enum rw_map which, uint64_t offset,
                 uint64_t count, map_extent_vector *ret_map)
{
  struct file_rw *f = (struct file_rw *)rw;
  uint64_t end = offset + count;
  struct map_extent ext = { .offset = offset };
  off_t data, hole;

  if (which != RW_MAP_ALLOCATION) {
    cbt_set_error ("%s: a local file has no dirty bitmap", rw->name);
    return -1;
  }
  if (f->is_block)
    goto all_data;

  data = lseek (f->fd, (off_t)offset, SEEK_DATA);
  if (data == -1 && errno == ENXIO) {
    ext.length = end - offset; /* a hole to the end */
    ext.flags = PLAN_FLAG_HOLE | PLAN_FLAG_ZERO;
    return plan_map_append (ret_map, offset, end, &ext);
  }
  if (data == -1)
    goto all_data; /* no SEEK_DATA here: everything is data */
  if ((uint64_t)data > offset) {
    ext.length = (uint64_t)data - offset;
    ext.flags = PLAN_FLAG_HOLE | PLAN_FLAG_ZERO;
    return plan_map_append (ret_map, offset, end, &ext);
  }
  hole = lseek (f->fd, (off_t)offset, SEEK_HOLE);
  if (hole == -1 || (uint64_t)hole <= offset)
    goto all_data;
  ext.length = (uint64_t)hole - offset;
  ext.flags = 0;
  return plan_map_append (ret_map, offset, end, &ext);

all_data:
  ext.length = end - offset;
  ext.flags = 0;
  return plan_map_append (ret_map, offset, end, &ext);
}

/* pread or pwrite all of [OFF, OFF + LEN), retrying short transfers.
 * Returns 0 or an errno value.
 */
static int
file_rw_full_io (int fd, bool write, char *buf, size_t len, uint64_t off)
{
  while (len > 0) {
    ssize_t r = write ? pwrite (fd, buf, len, (off_t)off)
                      : pread (fd, buf, len, (off_t)off);

    if (r == -1) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    if (r == 0)
      return write ? EIO : ENODATA; /* unexpected end of file */
    buf += r;
    len -= (size_t)r;
    off += (uint64_t)r;
  }
  return 0;
}

static int
file_rw_asynch_read (struct rw *rw, struct command *cmd)
{
  struct file_rw *f = (struct file_rw *)rw;

  cmd->cb (cmd,
           file_rw_full_io (f->fd, false, cmd->buf, cmd->length, cmd->offset));
  return 0;
}

/* Starts writing back the range just written, waits for the range that
 * leaves the window to be on disk, and drops that range's pages from the
 * page cache (as nbdcopy does): a copy must not fill the host's memory
 * with pages nobody will read again.  Returns 0 or an errno value.
 *
 * Both calls must be checked: a sync_file_range that waits reports the
 * file's pending write error and consumes it, so a later fdatasync on the
 * same descriptor returns 0 although pages were lost.  The error may
 * belong to any earlier write of the file, not only to this range; either
 * way the copy has failed.
 */
static int
file_rw_writeback (struct file_rw *f, uint64_t offset, uint64_t length)
{
  struct file_range oldest = { 0, 0 };

  if (sync_file_range (f->fd, (off_t)offset, (off_t)length,
                       SYNC_FILE_RANGE_WRITE) == -1)
    return errno;
  pthread_mutex_lock (&f->lock);
  if (f->window_count == FILE_WRITEBACK_WINDOW) {
    oldest = f->window[f->window_first];
    f->window_first = (f->window_first + 1) % FILE_WRITEBACK_WINDOW;
    f->window_count--;
  }
  f->window[(f->window_first + f->window_count) % FILE_WRITEBACK_WINDOW] =
      (struct file_range){ .offset = offset, .length = length };
  f->window_count++;
  pthread_mutex_unlock (&f->lock);

  if (oldest.length &&
      sync_file_range (f->fd, (off_t)oldest.offset, (off_t)oldest.length,
                       SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                           SYNC_FILE_RANGE_WAIT_AFTER) == -1)
    return errno;
  /* Only clean pages are dropped, and the range is clean now: this cannot
   * lose data.  A failure only leaves the pages cached.
   */
  if (oldest.length)
    (void)posix_fadvise (f->fd, (off_t)oldest.offset, (off_t)oldest.length,
                         POSIX_FADV_DONTNEED);
  return 0;
}

/* Writes CMD's buffer and starts (or waits for) its write-back. */
static int
file_rw_write (struct file_rw *f, struct command *cmd)
{
  int err = file_rw_full_io (f->fd, true, cmd->buf, cmd->length, cmd->offset);

  if (err == 0 && !f->is_block && !f->in_memory)
    err = file_rw_writeback (f, cmd->offset, cmd->length);
  return err;
}

static int file_rw_enqueue (struct file_rw *f, struct command *cmd, int op);

static int
file_rw_asynch_write (struct rw *rw, struct command *cmd)
{
  struct file_rw *f = (struct file_rw *)rw;

  if (f->writer_started)
    return file_rw_enqueue (f, cmd, FILE_OP_WRITE);
  cmd->cb (cmd, file_rw_write (f, cmd));
  return 0;
}

/* Makes [OFF, OFF + LEN) read as zero: punch a hole (files), zero the
 * range (files and devices), or write zeroes.  Returns 0 or an errno.
 */
static int
file_rw_zero_range (struct file_rw *f, uint64_t off, uint64_t len)
{
  if (!f->is_block && f->can_punch) {
    if (fallocate (f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                   (off_t)off, (off_t)len) == 0)
      return 0;
    if (errno != EOPNOTSUPP && errno != ENOSYS)
      return errno;
    f->can_punch = false;
  }
  if (f->can_zero_range) {
    if (fallocate (f->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                   (off_t)off, (off_t)len) == 0)
      return 0;
    if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)
      return errno;
    f->can_zero_range = false;
  }
  if (f->is_block) {
    uint64_t range[2] = { off, len };

    if (ioctl (f->fd, BLKZEROOUT, range) == 0)
      return 0;
  }
  while (len > 0) {
    size_t n = len < RW_ZERO_BUFFER_SIZE ? (size_t)len : RW_ZERO_BUFFER_SIZE;
    int err = file_rw_full_io (f->fd, true, (char *)rw_zero_buffer, n, off);

    if (err)
      return err;
    off += n;
    len -= n;
  }
  return 0;
}

static int
file_rw_asynch_zero (struct rw *rw, struct command *cmd)
{
  struct file_rw *f = (struct file_rw *)rw;

  if (f->writer_started)
    return file_rw_enqueue (f, cmd, FILE_OP_ZERO);
  cmd->cb (cmd, file_rw_zero_range (f, cmd->offset, cmd->length));
  return 0;
}

/* Makes the file durable.  Returns 0 or an errno value. */
static int
file_rw_sync (struct file_rw *f)
{
  return (f->is_block ? fsync (f->fd) : fdatasync (f->fd)) == -1 ? errno : 0;
}

/* Called when no request is in flight: nothing else uses the descriptor. */
static int
file_rw_flush (struct rw *rw)
{
  int err = file_rw_sync ((struct file_rw *)rw);

  if (err) {
    cbt_set_error_errno (err, "%s: flush", rw->name);
    return -1;
  }
  return 0;
}

/* Flushes at once in the calling worker, or after the writes queued
 * before it: a file has no connections.
 */
static int
file_rw_asynch_flush (struct rw *rw, struct command *cmd)
{
  struct file_rw *f = (struct file_rw *)rw;

  if (f->writer_started)
    return file_rw_enqueue (f, cmd, FILE_OP_FLUSH);
  cmd->cb (cmd, file_rw_sync (f));
  return 0;
}

/* Appends CMD (whose next is NULL) to the list *FIRST .. *LAST. */
static void
file_rw_append (struct command **first, struct command **last,
                struct command *cmd)
{
  if (*last)
    (*last)->next = cmd;
  else
    *first = cmd;
  *last = cmd;
}

/* The writer thread: does the queued requests in order, and hands each
 * completion to the worker that queued it.
 */
static void *
file_rw_writer (void *arg)
{
  struct file_rw *f = arg;

  for (;;) {
    struct command *cmd;
    struct file_worker *fw;
    bool wake;

    cbt_mutex_lock (&f->queue_lock);
    while (f->queue == NULL && !f->stop)
      cbt_pthread_check (pthread_cond_wait (&f->queue_cond, &f->queue_lock),
                         "pthread_cond_wait");
    cmd = f->queue;
    if (cmd == NULL) {
      cbt_mutex_unlock (&f->queue_lock);
      break;
    }
    f->queue = cmd->next;
    if (f->queue == NULL)
      f->queue_last = NULL;
    f->current = cmd;
    cbt_mutex_unlock (&f->queue_lock);

    switch (cmd->op) {
    case FILE_OP_WRITE: cmd->err = file_rw_write (f, cmd); break;
    case FILE_OP_ZERO:
      cmd->err = file_rw_zero_range (f, cmd->offset, cmd->length);
      break;
    case FILE_OP_FLUSH: cmd->err = file_rw_sync (f); break;
    default: abort ();
    }

    /* The worker is woken only when its list was empty: otherwise it has
     * a wake-up pending, and takes the whole list when it runs.
     */
    assert (cmd->worker < f->nr_workers);
    fw = &f->workers[cmd->worker];
    cmd->next = NULL;
    cbt_mutex_lock (&f->queue_lock);
    f->current = NULL;
    cbt_cond_broadcast (&f->idle_cond);
    wake = fw->done == NULL;
    file_rw_append (&fw->done, &fw->done_last, cmd);
    cbt_mutex_unlock (&f->queue_lock);
    if (wake && eventfd_write (fw->efd, 1) == -1)
      cbt_pthread_check (errno, "eventfd_write");
  }
  return NULL;
}

/* Queues CMD for the writer.  Never fails. */
static int
file_rw_enqueue (struct file_rw *f, struct command *cmd, int op)
{
  assert (cmd->worker < f->nr_workers);
  cmd->op = op;
  cmd->err = 0;
  cmd->next = NULL;
  f->workers[cmd->worker].pending++;
  cbt_mutex_lock (&f->queue_lock);
  file_rw_append (&f->queue, &f->queue_last, cmd);
  cbt_cond_signal (&f->queue_cond);
  cbt_mutex_unlock (&f->queue_lock);
  return 0;
}

static int
file_rw_get_poll (struct rw *rw, unsigned w, int *ret_fd, short *ret_events)
{
  struct file_rw *f = (struct file_rw *)rw;

  if (!f->writer_started || w >= f->nr_workers || f->workers[w].pending == 0) {
    *ret_fd = -1;
    *ret_events = 0;
    return 0;
  }
  *ret_fd = f->workers[w].efd;
  *ret_events = POLLIN;
  return 0;
}

/* Runs the callbacks of worker W's completed requests, in order. */
static int
file_rw_notify (struct rw *rw, unsigned w, short revents)
{
  struct file_rw *f = (struct file_rw *)rw;
  struct file_worker *fw = &f->workers[w];
  struct command *cmd;
  eventfd_t count;

  (void)revents;
  /* Read before the list is taken: a completion added after the list was
   * taken finds it empty and wakes the worker again.
   */
  if (eventfd_read (fw->efd, &count) == -1 && errno != EAGAIN) {
    cbt_set_error_errno (errno, "%s: eventfd", rw->name);
    return -1;
  }
  cbt_mutex_lock (&f->queue_lock);
  cmd = fw->done;
  fw->done = fw->done_last = NULL;
  cbt_mutex_unlock (&f->queue_lock);
  while (cmd) {
    struct command *next = cmd->next;

    assert (fw->pending > 0);
    fw->pending--;
    cmd->cb (cmd, cmd->err);
    cmd = next;
  }
  return 0;
}

static void
file_rw_cancel (struct rw *rw)
{
  struct file_rw *f = (struct file_rw *)rw;
  unsigned i;

  if (!f->writer_started)
    return;
  cbt_mutex_lock (&f->queue_lock);
  f->queue = f->queue_last = NULL;
  while (f->current)
    cbt_pthread_check (pthread_cond_wait (&f->idle_cond, &f->queue_lock),
                       "pthread_cond_wait");
  /* Completions nobody will collect are forgotten too, so that a later
   * run on this endpoint starts clean.
   */
  for (i = 0; i < f->nr_workers; i++) {
    eventfd_t count;

    f->workers[i].done = f->workers[i].done_last = NULL;
    f->workers[i].pending = 0;
    (void)eventfd_read (f->workers[i].efd, &count);
  }
  cbt_mutex_unlock (&f->queue_lock);
}

/* Starts the writer for workers 0 .. N-1.  Returns 0, or -1 with an error
 * recorded (nothing started).
 */
static int
file_rw_start_writer (struct file_rw *f, unsigned n)
{
  unsigned i;
  int err;

  f->workers = calloc (n, sizeof *f->workers);
  if (f->workers == NULL) {
    cbt_set_error ("out of memory");
    return -1;
  }
  for (i = 0; i < n; i++)
    f->workers[i].efd = -1;
  f->nr_workers = n;
  for (i = 0; i < n; i++) {
    f->workers[i].efd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (f->workers[i].efd == -1) {
      cbt_set_error_errno (errno, "%s: eventfd", f->rw.name);
      goto err;
    }
  }
  err = pthread_create (&f->writer, NULL, file_rw_writer, f);
  if (err) {
    cbt_set_error ("%s: cannot start the writer thread: %s", f->rw.name,
                   strerror (err));
    goto err;
  }
  f->writer_started = true;
  return 0;

err:
  for (i = 0; i < n; i++)
    if (f->workers[i].efd >= 0)
      close (f->workers[i].efd);
  free (f->workers);
  f->workers = NULL;
  f->nr_workers = 0;
  return -1;
}

/* Ends the writer once it has done what was queued (requests abandoned
 * by a failed copy included: their buffers are still the copier's), and
 * frees the workers' side.
 */
static void
file_rw_stop_writer (struct file_rw *f)
{
  unsigned i;

  if (f->writer_started) {
    cbt_mutex_lock (&f->queue_lock);
    f->stop = true;
    cbt_cond_signal (&f->queue_cond);
    cbt_mutex_unlock (&f->queue_lock);
    cbt_thread_join (f->writer);
    f->writer_started = false;
  }
  for (i = 0; i < f->nr_workers; i++)
    if (f->workers[i].efd >= 0)
      close (f->workers[i].efd);
  free (f->workers);
  f->workers = NULL;
  f->nr_workers = 0;
}

static int
file_rw_identity (struct rw *rw, char *buf, size_t len)
{
  struct file_rw *f = (struct file_rw *)rw;
  struct stat st;

  if (fstat (f->fd, &st) == -1) {
    cbt_set_error_errno (errno, "%s: fstat", rw->name);
    return -1;
  }
  snprintf (buf, len, "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
  return 0;
}

static const struct rw_ops file_ops = {
  .ops_name = "file",
  .close = file_rw_close,
  .connect_workers = file_rw_connect_workers,
  .get_map = file_rw_get_map,
  .asynch_read = file_rw_asynch_read,
  .asynch_write = file_rw_asynch_write,
  .asynch_zero = file_rw_asynch_zero,
  .flush = file_rw_flush,
  .asynch_flush = file_rw_asynch_flush,
  .get_poll = file_rw_get_poll,
  .notify = file_rw_notify,
  .identity = file_rw_identity,
  .cancel = file_rw_cancel,
};
