/* cbtrack copy - endpoints: the source read from and the target written to.
 *
 * Each endpoint kind (NBD, local file or block device) is one file ending
 * with its `const struct rw_ops` table.  An endpoint serves one or more
 * workers: worker W uses its own connection where the kind has any, so
 * workers never share a socket.  I/O is asynchronous where the kind is
 * (NBD, and the writes of a regular file, which one writer thread does);
 * elsewhere the "asynchronous" calls complete before they return, having
 * called the completion callback.
 */
#ifndef CBTRACK_COPY_RW_H
#define CBTRACK_COPY_RW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "copy/plan.h"

struct rw;
struct command;

/* Called once when an asynchronous request completes; ERR is 0 or an
 * errno value.  Runs in the thread of the worker that issued the request.
 */
typedef void (*rw_callback) (struct command *cmd, int err);

/* One request in flight, as endpoints see it: the copier owns it. */
struct command {
  uint64_t offset;
  size_t length;
  char *buf;
  unsigned worker;
  rw_callback cb; /* set by the copier before each request */
  /* The endpoint's own, while the request is in flight (queues). */
  struct command *next;
  int op;
  int err;
};

/* Which map an endpoint is asked for. */
enum rw_map {
  RW_MAP_ALLOCATION, /* base:allocation */
  RW_MAP_DIRTY,      /* qemu:dirty-bitmap:NAME given at open */
};

struct rw_ops {
  /* The kind's name, for messages ("nbd", "file"). */
  const char *ops_name;

  /* Closes every connection and frees RW, even when it fails.  Returns 0,
   * or -1 with an error recorded if closing reported an error that may
   * mean lost writes (a target's close).  Never NULL.  Requests still in
   * flight are abandoned (their callbacks are not called).
   */
  int (*close) (struct rw *rw);

  /* Opens connections so that workers 0 .. N-1 can be used, or fewer if
   * the endpoint cannot serve N in parallel safely (NBD without
   * multi-conn).  Returns the number of workers now usable (>= 1), or -1
   * with an error recorded.  Never NULL.
   */
  int (*connect_workers) (struct rw *rw, unsigned n);

  /* Appends to *RET_MAP the extents of map WHICH covering [OFFSET,
   * OFFSET + COUNT), clipped to that range, contiguous from OFFSET.  May
   * return less than asked (but not nothing).  Returns the bytes covered,
   * or -1 with an error recorded.  Uses worker 0.  Never NULL.
   */
  int64_t (*get_map) (struct rw *rw, enum rw_map which, uint64_t offset,
                      uint64_t count, map_extent_vector *ret_map);

  /* Starts reading CMD->length bytes at CMD->offset into CMD->buf on
   * worker CMD->worker; calls CMD->cb when done.  Returns 0 if the request
   * was started (or completed), -1 with an error recorded and errno set
   * if it could not even be started (then the callback is not called);
   * errno is ENOTCONN when the worker's connection is lost.  Never NULL.
   */
  int (*asynch_read) (struct rw *rw, struct command *cmd);

  /* As asynch_read, writing CMD->buf.  Never NULL. */
  int (*asynch_write) (struct rw *rw, struct command *cmd);

  /* As asynch_write, making the range read as zero (CMD->buf unused).
   * Endpoints that cannot zero efficiently fall back to writing zeroes.
   * Never NULL.
   */
  int (*asynch_zero) (struct rw *rw, struct command *cmd);

  /* Makes everything written durable on every connection.  Returns 0 or
   * -1 with an error recorded.  Never NULL.
   */
  int (*flush) (struct rw *rw);

  /* As asynch_write, making durable every write that completed before
   * it was issued, on every connection of RW (NBD opens several only with
   * multi-conn, whose flush covers them all).  Unlike flush, it runs on
   * worker CMD->worker, alongside that worker's other requests (a
   * checkpoint flushes while the copy goes on).  Never NULL.
   */
  int (*asynch_flush) (struct rw *rw, struct command *cmd);

  /* For asynchronous kinds: the file descriptor worker W must poll and the
   * poll(2) events it waits for (0 when nothing is pending).  NULL for
   * synchronous kinds.
   */
  int (*get_poll) (struct rw *rw, unsigned w, int *ret_fd, short *ret_events);

  /* After poll(2) reported REVENTS on worker W's descriptor, lets the
   * endpoint make progress (this runs completion callbacks).  A
   * connection that is lost is not an error: its requests complete with
   * ENOTCONN and get_poll then reports nothing to wait for.  Returns 0
   * or -1 with an error recorded.  NULL for synchronous kinds.
   */
  int (*notify) (struct rw *rw, unsigned w, short revents);

  /* Gives up worker W's connection (a request took longer than the I/O
   * timeout): every request in flight on it completes with ENOTCONN
   * before this returns.  NULL for kinds without connections.
   */
  void (*abort) (struct rw *rw, unsigned w);

  /* If worker W's connection was lost, replaces it with a new one to the
   * same export, giving up after TIMEOUT seconds; otherwise does nothing.
   * Nothing may be in flight on W.  Returns 0 when W can be used, or -1
   * with an error recorded.  NULL for kinds without connections.
   */
  int (*reconnect) (struct rw *rw, unsigned w, double timeout);

  /* Writes to BUF (LEN bytes, always terminated) what identifies the
   * endpoint's storage beyond its name, for the checkpoint (a local
   * file's "DEV:INO", so that another file by the same name is told
   * apart).  Returns 0, or -1 with an error recorded.  NULL for kinds
   * whose name is their whole identity (an NBD URI, null:).
   */
  int (*identity) (struct rw *rw, char *buf, size_t len);

  /* Drops every request still queued (its callback is never called) and
   * returns once none is being carried out: afterwards the endpoint holds
   * no request's buffer.  The copier calls it when it ends with requests
   * in flight (after a failure), before it frees their buffers.  NULL
   * for kinds that queue nothing of their own.
   */
  void (*cancel) (struct rw *rw);
};

/* The common base of every endpoint. */
struct rw {
  const struct rw_ops *ops;
  const char *name; /* as the user gave it */
  uint64_t size;
  bool is_zero;             /* known to read as zero everywhere (new file) */
  bool have_allocation;     /* get_map (RW_MAP_ALLOCATION) is meaningful */
  uint32_t preferred_block; /* 0 or the server's preferred block size */
  bool retry_writes;        /* a failed write or zero may be sent again: its
                               error is about that request alone (not true of
                               a file, where a failed write-back can surface
                               in the result of a later write) */
};

/* How an endpoint is opened. */
struct rw_open_args {
  bool writable;
  const char *bitmap;   /* NULL, or the dirty bitmap to map (NBD only) */
  uint64_t create_size; /* writable file that is new or empty: size it;
                         * the size of a null: target */
  /* NULL, or the argv (NULL-terminated) of an NBD server to run as a
   * child with systemd socket activation (a source given as
   * "[ CMD ARGS ]"); the endpoint's NAME is then only for messages.
   */
  char **command;
};

/* A run of zeroes for endpoints that must write them out. */
#define RW_ZERO_BUFFER_SIZE (1024 * 1024)
extern const char rw_zero_buffer[RW_ZERO_BUFFER_SIZE];

/* True if NAME looks like an NBD URI (nbd://, nbds://, nbd+unix://, …). */
bool rw_is_nbd_uri (const char *name);

/* Opens NAME as an NBD export.  Returns the endpoint, or NULL with an
 * error recorded.
 */
struct rw *nbd_rw_open (const char *name, const struct rw_open_args *args);

/* Opens the null: target: NAME must be writable; writes are discarded,
 * its size is ARGS->create_size and it reads as zero.  Returns the
 * endpoint, or NULL with an error recorded.
 */
struct rw *null_rw_open (const char *name, const struct rw_open_args *args);

/* True if NAME is "null:", the target that discards. */
bool rw_is_null (const char *name);

/* Opens NAME as a local file or block device.  A writable regular file
 * that does not exist or is empty is created/sized to ARGS->create_size
 * and marked is_zero.  Returns the endpoint, or NULL with an error
 * recorded.
 */
struct rw *file_rw_open (const char *name, const struct rw_open_args *args);

/* Opens NAME with the right kind: ARGS->command or an NBD URI is NBD,
 * "null:" the null target, anything else a local file or block device.
 * "-" (standard input or output) is refused: copies read and write out
 * of order, in parallel.  Returns NULL with an error recorded.
 */
struct rw *rw_open (const char *name, const struct rw_open_args *args);

/* Closes RW.  Returns what its close returned (0 for NULL). */
int rw_close (struct rw *rw);

#endif /* CBTRACK_COPY_RW_H */
