/* cbtrack copy - NBD endpoints, through libnbd's asynchronous API. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libnbd.h>

#include "common/error.h"
#include "common/timeutil.h"
#include "copy/faults.h"
#include "copy/rw.h"

/* Block status is asked in bounded chunks (DESIGN §1). */
#define NBD_MAP_CHUNK (UINT64_C (1) << 30)
/* Zero requests are split so that every server accepts them. */
#define NBD_ZERO_CHUNK (UINT64_C (1) << 30)
#define NBD_MAX_CONNECTIONS 16

struct nbd_rw {
  struct rw rw;
  char *uri;
  char **command;       /* "[ CMD ARGS ]": the server run as a child */
  char *bitmap_context; /* "qemu:dirty-bitmap:NAME" or NULL */
  bool can_zero;
  bool can_flush;
  unsigned nr_handles;
  struct nbd_handle *handles[NBD_MAX_CONNECTIONS];
  bool lost[NBD_MAX_CONNECTIONS]; /* given up (abort, or the server went
                                     away): reconnect before use */
};

static const struct rw_ops nbd_ops;

static void
nbd_rw_set_error (struct nbd_rw *n, const char *what)
{
  cbt_set_error ("%s: %s: %s", n->rw.name, what, nbd_get_error ());
}

struct context_list {
  char text[512];
  size_t used;
};

static int
nbd_rw_collect_context (void *user_data, const char *name)
{
  struct context_list *list = user_data;
  int r;

  if (list->used >= sizeof list->text)
    return 0;
  r = snprintf (list->text + list->used, sizeof list->text - list->used,
                "%s%s", list->used ? ", " : "", name);
  if (r > 0)
    list->used += (size_t)r;
  return 0;
}

static struct nbd_handle *nbd_rw_connect_one (struct nbd_rw *n, double timeout,
                                              bool opt_mode);

/* Fills LIST with the meta contexts the server offers for the export, for
 * the error message of a missing map.  Best effort: an empty list when the
 * server will not say.
 */
static void
nbd_rw_list_contexts (struct nbd_rw *n, struct context_list *list)
{
  struct nbd_handle *h;

  list->text[0] = '\0';
  list->used = 0;
  /* With no queries added, the server lists every context it has. */
  h = nbd_rw_connect_one (n, faults_policy ()->connect_timeout, true);
  if (h == NULL)
    return;
  nbd_opt_list_meta_context (
      h, (nbd_context_callback){ .callback = nbd_rw_collect_context,
                                 .user_data = list });
  nbd_close (h);
}

/* True when worker W's connection can no longer be used. */
static bool
nbd_rw_is_lost (struct nbd_rw *n, unsigned w)
{
  struct nbd_handle *h = n->handles[w];

  return n->lost[w] || nbd_aio_is_dead (h) == 1 || nbd_aio_is_closed (h) == 1;
}

/* Waits, until the monotonic DEADLINE but at most a fifth of a second,
 * for H's descriptor to be ready in the direction libnbd wants, then lets
 * libnbd make progress.  Returns 0, or -1 with an error recorded (the
 * connection failed or was lost).
 */
static int
nbd_rw_poll_once (struct nbd_rw *n, struct nbd_handle *h, double deadline)
{
  struct pollfd pfd = { .fd = nbd_aio_get_fd (h) };
  unsigned dir = nbd_aio_get_direction (h);
  double left = deadline - cbt_now_mono ();

  if (pfd.fd == -1) {
    nbd_rw_set_error (n, "connection");
    return -1;
  }
  if (left > 0.2)
    left = 0.2;
  if (left < 0)
    left = 0;
  pfd.events = ((dir & LIBNBD_AIO_DIRECTION_READ) ? POLLIN : 0) |
               ((dir & LIBNBD_AIO_DIRECTION_WRITE) ? POLLOUT : 0);
  if (poll (&pfd, 1, (int)(left * 1000) + 1) == -1) {
    if (errno == EINTR)
      return 0;
    cbt_set_error_errno (errno, "%s: poll", n->rw.name);
    return -1;
  }
  if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
      nbd_aio_notify_read (h) == -1) {
    nbd_rw_set_error (n, "connection");
    return -1;
  }
  if ((pfd.revents & POLLOUT) && nbd_aio_notify_write (h) == -1) {
    nbd_rw_set_error (n, "connection");
    return -1;
  }
  return 0;
}

/* Records the error of a copy stopped by a signal, if one arrived.
 * Returns true if so.
 */
static bool
nbd_rw_stopped (void)
{
  int signo = faults_stop_signal ();
  char msg[128];

  if (signo == 0)
    return false;
  cbt_set_error ("%s", faults_stop_message (signo, msg, sizeof msg));
  return true;
}

/* Extra connections must come up within this, or the copy goes on with
 * fewer: a server that admits one client at a time (qemu-nbd's default
 * --shared=1) queues the others forever.
 */
#define NBD_EXTRA_CONNECT_SECONDS 3.0

/* Opens one more connection to the export, asking for the maps (or,
 * with OPT_MODE, stopping at the option negotiation).  Gives up after
 * TIMEOUT seconds, or when a signal asks the copy to stop (error
 * recorded).  libnbd has no connect timeout of its own, so the handshake
 * runs asynchronously under this one.
 */
static struct nbd_handle *
nbd_rw_connect_one (struct nbd_rw *n, double timeout, bool opt_mode)
{
  struct nbd_handle *h = nbd_create ();
  double deadline = cbt_now_mono () + timeout;
  const char *failed = n->command ? "cannot run the server" : "cannot connect";

  if (h == NULL) {
    nbd_rw_set_error (n, "nbd_create");
    return NULL;
  }
  /* libnbd clears every read buffer before use unless told not to; the
   * copier uses a buffer only after its read succeeded, so the clearing is
   * pure cost (most of the copier's user-space instructions).
   */
  if (nbd_set_pread_initialize (h, false) == -1) {
    nbd_rw_set_error (n, "nbd_set_pread_initialize");
    goto err;
  }
  if (opt_mode) {
    if (nbd_set_opt_mode (h, true) == -1) {
      nbd_rw_set_error (n, "nbd_set_opt_mode");
      goto err;
    }
  } else if (nbd_add_meta_context (h, LIBNBD_CONTEXT_BASE_ALLOCATION) == -1 ||
             (n->bitmap_context &&
              nbd_add_meta_context (h, n->bitmap_context) == -1)) {
    nbd_rw_set_error (n, "nbd_add_meta_context");
    goto err;
  }
  if (n->command) {
    /* The child gets a listening socket (LISTEN_FDS=1) and is killed
     * when the handle is closed.  Its handshake is bounded like any
     * other: a server that starts but never answers is given up.
     */
    if (nbd_aio_connect_systemd_socket_activation (h, n->command) == -1) {
      nbd_rw_set_error (n, "cannot run the server");
      goto err;
    }
  } else if (nbd_aio_connect_uri (h, n->uri) == -1) {
    nbd_rw_set_error (n, "cannot connect");
    goto err;
  }
  while (nbd_aio_is_connecting (h) == 1) {
    if (nbd_rw_stopped ())
      goto err;
    if (cbt_now_mono () >= deadline) {
      cbt_set_error ("%s: the server did not complete the NBD handshake"
                     " within %g s (--connect-timeout)",
                     n->rw.name, ceil (timeout * 10) / 10);
      goto err;
    }
    if (nbd_rw_poll_once (n, h, deadline) == -1) {
      nbd_rw_set_error (n, failed);
      goto err;
    }
  }
  if ((opt_mode ? nbd_aio_is_negotiating (h) : nbd_aio_is_ready (h)) != 1) {
    nbd_rw_set_error (n, failed);
    goto err;
  }
  return h;

err:
  nbd_close (h);
  return NULL;
}

struct rw *
nbd_rw_open (const char *name, const struct rw_open_args *args)
{
  struct nbd_rw *n = calloc (1, sizeof *n);
  struct nbd_handle *h;
  int64_t size, block;

  if (n == NULL) {
    cbt_set_error_errno (errno, "calloc");
    return NULL;
  }
  n->rw.ops = &nbd_ops;
  n->rw.name = name;
  n->uri = strdup (name);
  if (n->uri == NULL)
    goto nomem;
  n->command = args->command;
  if (args->bitmap) {
    size_t len = strlen ("qemu:dirty-bitmap:") + strlen (args->bitmap) + 1;

    n->bitmap_context = malloc (len);
    if (n->bitmap_context == NULL)
      goto nomem;
    snprintf (n->bitmap_context, len, "qemu:dirty-bitmap:%s", args->bitmap);
  }

  h = nbd_rw_connect_one (n, faults_policy ()->connect_timeout, false);
  if (h == NULL)
    goto err;
  n->handles[0] = h;
  n->nr_handles = 1;

  size = nbd_get_size (h);
  if (size == -1) {
    nbd_rw_set_error (n, "cannot get the export size");
    goto err;
  }
  n->rw.size = (uint64_t)size;

  if (args->writable && nbd_is_read_only (h) == 1) {
    cbt_set_error ("%s: the export is read-only", name);
    goto err;
  }
  n->can_zero = nbd_can_zero (h) == 1;
  n->can_flush = nbd_can_flush (h) == 1;
  n->rw.have_allocation =
      nbd_can_meta_context (h, LIBNBD_CONTEXT_BASE_ALLOCATION) == 1;
  /* Each reply is about its own request: sending it again is safe. */
  n->rw.retry_writes = true;
  block = nbd_get_block_size (h, LIBNBD_SIZE_PREFERRED);
  if (block > 0 && block <= 32 * 1024 * 1024)
    n->rw.preferred_block = (uint32_t)block;

  if (n->bitmap_context && nbd_can_meta_context (h, n->bitmap_context) != 1) {
    struct context_list list;

    /* Servers may admit one client at a time: hang up before asking. */
    nbd_shutdown (h, 0);
    nbd_close (h);
    n->nr_handles = 0;
    if (n->command == NULL)
      nbd_rw_list_contexts (n, &list);
    else
      list.used = 0; /* another child would be another server */
    cbt_set_error ("%s: the server does not export the dirty bitmap '%s'"
                   " (meta context %s); it offers: %s",
                   name, args->bitmap, n->bitmap_context,
                   list.used ? list.text : "no meta contexts");
    goto err;
  }
  return &n->rw;

nomem:
  cbt_set_error ("out of memory");
err:
  n->rw.ops->close (&n->rw);
  return NULL;
}

/* How long a connection is given to close in an orderly way. */
#define NBD_DISCONNECT_SECONDS 2.0

static int
nbd_rw_close (struct rw *rw)
{
  struct nbd_rw *n = (struct nbd_rw *)rw;
  unsigned i;

  for (i = 0; i < n->nr_handles; i++) {
    struct nbd_handle *h = n->handles[i];

    /* A bounded goodbye: a server that stopped answering must not hold
     * the end of the copy.
     */
    if (!nbd_rw_is_lost (n, i) && nbd_aio_in_flight (h) == 0 &&
        nbd_aio_disconnect (h, 0) != -1) {
      double deadline = cbt_now_mono () + NBD_DISCONNECT_SECONDS;

      while (nbd_aio_is_closed (h) != 1 && nbd_aio_is_dead (h) != 1 &&
             cbt_now_mono () < deadline)
        if (nbd_rw_poll_once (n, h, deadline) == -1)
          break;
    }
    nbd_close (h);
  }
  free (n->uri);
  free (n->bitmap_context);
  free (n);
  return 0; /* flushed already: a failed disconnect loses nothing */
}

static int
nbd_rw_connect_workers (struct rw *rw, unsigned want)
{
  struct nbd_rw *n = (struct nbd_rw *)rw;

  if (want > NBD_MAX_CONNECTIONS)
    want = NBD_MAX_CONNECTIONS;
  /* Several connections are only safe when the server says so; a server
   * run as a child serves its one connection.
   */
  if (want > 1 && (n->command || nbd_can_multi_conn (n->handles[0]) != 1))
    want = 1;
  while (n->nr_handles < want) {
    double timeout = faults_policy ()->connect_timeout;
    struct nbd_handle *h = nbd_rw_connect_one (
        n,
        timeout < NBD_EXTRA_CONNECT_SECONDS ? timeout
                                            : NBD_EXTRA_CONNECT_SECONDS,
        false);

    /* Fewer connections are slower, not wrong. */
    if (h == NULL)
      break;
    n->handles[n->nr_handles++] = h;
  }
  return (int)n->nr_handles;
}

struct map_request {
  const char *context;
  uint64_t start, end;
  map_extent_vector *map;
  int64_t covered;
  bool seen;
  bool failed;
};

static int
nbd_rw_map_cb (void *user_data, const char *metacontext, uint64_t offset,
               uint32_t *entries, size_t nr_entries, int *error)
{
  struct map_request *req = user_data;
  size_t i;

  if (strcmp (metacontext, req->context) != 0 || req->failed)
    return 0;
  req->seen = true;
  if (*error) {
    cbt_set_error ("block status failed: %s", strerror (*error));
    req->failed = true;
    return 0;
  }
  for (i = 0; i + 1 < nr_entries; i += 2) {
    struct map_extent ext = { .offset = offset,
                              .length = entries[i],
                              .flags = entries[i + 1] };
    int64_t r;

    if (offset >= req->end)
      break;
    r = plan_map_append (req->map, req->start, req->end, &ext);
    if (r == -1) {
      req->failed = true;
      return 0;
    }
    req->covered += r;
    offset += entries[i];
  }
  return 0;
}

/* Waits for command COOKIE of worker W's connection for at most the I/O
 * timeout.  Returns 0 when it succeeded, -1 with an error recorded when
 * it failed, or -2 with an error recorded when the connection is lost or
 * the command timed out (then the connection is given up).
 */
static int
nbd_rw_wait_command (struct nbd_rw *n, unsigned w, int64_t cookie,
                     const char *what)
{
  struct nbd_handle *h = n->handles[w];
  double timeout = faults_policy ()->io_timeout;
  double deadline = cbt_now_mono () + timeout;

  for (;;) {
    int r = nbd_aio_command_completed (h, cookie);

    if (r == 1)
      return 0;
    if (r == -1) {
      nbd_rw_set_error (n, what);
      return nbd_rw_is_lost (n, w) ? -2 : -1;
    }
    if (nbd_rw_stopped ())
      return -1;
    if (cbt_now_mono () >= deadline) {
      n->rw.ops->abort (&n->rw, w);
      cbt_set_error ("%s: %s: no answer within %g s (--io-timeout)",
                     n->rw.name, what, timeout);
      return -2;
    }
    if (nbd_rw_poll_once (n, h, deadline) == -1)
      return nbd_rw_is_lost (n, w) ? -2 : -1;
  }
}

/* Asks worker W's connection for the block status of REQ, at most COUNT
 * bytes from OFFSET.  Returns as nbd_rw_wait_command.
 */
static int
nbd_rw_map_once (struct nbd_rw *n, unsigned w, struct map_request *req,
                 uint64_t count, uint64_t offset)
{
  int64_t cookie = nbd_aio_block_status (
      n->handles[w], count, offset,
      (nbd_extent_callback){ .callback = nbd_rw_map_cb, .user_data = req },
      NBD_NULL_COMPLETION, 0);

  if (cookie == -1) {
    nbd_rw_set_error (n, "block status");
    return nbd_rw_is_lost (n, w) ? -2 : -1;
  }
  return nbd_rw_wait_command (n, w, cookie, "block status");
}

/* Brings worker W's lost connection back, trying with backoff until
 * LOST_SINCE + the reconnect timeout.  REASON is why it was lost.
 * Returns 0, or -1 with an error recorded.
 */
static int
nbd_rw_reconnect_until (struct nbd_rw *n, unsigned w, double lost_since,
                        const char *reason)
{
  double limit = faults_policy ()->reconnect_timeout;
  char why[512];
  unsigned attempt = 0;

  snprintf (why, sizeof why, "%s", reason);
  for (;;) {
    double left = lost_since + limit - cbt_now_mono ();

    if (nbd_rw_stopped ())
      return -1;
    if (left <= 0) {
      cbt_set_error ("%s (no working connection again within %g s,"
                     " --reconnect-timeout)",
                     why, limit);
      return -1;
    }
    if (n->rw.ops->reconnect (&n->rw, w, left) == 0)
      return 0;
    snprintf (why, sizeof why, "%s", cbt_get_error ());
    left = lost_since + limit - cbt_now_mono ();
    cbt_sleep (fmin (faults_backoff (++attempt, FAULTS_RECONNECT_BASE,
                                     FAULTS_RECONNECT_CAP),
                     left > 0 ? left : 0));
  }
}

static int64_t
nbd_rw_get_map (struct rw *rw, enum rw_map which, uint64_t offset,
                uint64_t count, map_extent_vector *ret_map)
{
  struct nbd_rw *n = (struct nbd_rw *)rw;
  struct map_request req = {
    .context = which == RW_MAP_DIRTY ? n->bitmap_context
                                     : LIBNBD_CONTEXT_BASE_ALLOCATION,
    .start = offset,
    .map = ret_map,
  };
  size_t old_len = ret_map->len;
  double lost_since = 0;
  int r;

  if (req.context == NULL) {
    cbt_set_error ("%s: no dirty bitmap was asked for", rw->name);
    return -1;
  }
  if (count > NBD_MAP_CHUNK)
    count = NBD_MAP_CHUNK;
  req.end = offset + count;

  /* A lost connection (or one that stopped answering) is replaced and
   * the question asked again, from scratch.
   */
  while ((r = nbd_rw_map_once (n, 0, &req, count, offset)) == -2) {
    char reason[512];

    snprintf (reason, sizeof reason, "%s", cbt_get_error ());
    ret_map->len = old_len;
    req.covered = 0;
    req.seen = req.failed = false;
    if (lost_since == 0)
      lost_since = cbt_now_mono ();
    if (nbd_rw_reconnect_until (n, 0, lost_since, reason) == -1)
      return -1;
  }
  if (r == -1)
    return -1;
  if (req.failed) {
    cbt_set_error ("%s: %s: %s", rw->name, req.context, cbt_get_error ());
    return -1;
  }
  if (!req.seen) {
    cbt_set_error ("%s: the server's block status reply has no %s extents",
                   rw->name, req.context);
    return -1;
  }
  if (req.covered == 0) {
    cbt_set_error (
        "%s: the server's block status reply for %s at offset %" PRIu64
        " made no progress",
        rw->name, req.context, offset);
    return -1;
  }
  return req.covered;
}

/* A request of worker W could not be sent: records WHAT failed and sets
 * errno (ENOTCONN when the connection is lost).  Returns -1.
 */
static int
nbd_rw_issue_failed (struct nbd_rw *n, unsigned w, const char *what)
{
  int err = nbd_get_errno ();

  nbd_rw_set_error (n, what);
  if (nbd_rw_is_lost (n, w))
    err = ENOTCONN;
  errno = err > 0 ? err : EIO;
  return -1;
}

/* libnbd's completion callback: hands the result to the copier and
 * retires the command.
 */
static int
nbd_rw_complete (void *user_data, int *error)
{
  struct command *cmd = user_data;

  cmd->cb (cmd, *error);
  return 1;
}

#define NBD_CALLBACK(cmd)                                                     \
  ((nbd_completion_callback){ .callback = nbd_rw_complete,                    \
                              .user_data = (cmd) })

static int
nbd_rw_asynch_read (struct rw *rw, struct command *cmd)
{
  struct nbd_rw *n = (struct nbd_rw *)rw;

  if (nbd_aio_pread (n->handles[cmd->worker], cmd->buf, cmd->length,
                     cmd->offset, NBD_CALLBACK (cmd), 0) == -1)
    return nbd_rw_issue_failed (n, cmd->worker, "read");
  return 0;
}

static int
nbd_rw_asynch_write (struct rw *rw, struct command *cmd)
{
  struct nbd_rw *n = (struct nbd_rw *)rw;

  if (nbd_aio_pwrite (n->handles[cmd->worker], cmd->buf, cmd->length,
                      cmd->offset, NBD_CALLBACK (cmd), 0) == -1)
    return nbd_rw_issue_failed (n, cmd->worker, "write");
  return 0;
}

/* A zero request split into several: the command's callback runs once,
 * when the last part completes.
 */
struct zero_split {
  struct command *cmd;
  unsigned pending;
  int err;
};

static int
nbd_rw_zero_part_done (void *user_data, int *error)
{
  struct zero_split *z = user_data;

  if (*error && !z->err)
    z->err = *error;
  if (--z->pending == 0) {
    z->cmd->cb (z->cmd, z->err);
    free (z);
  }
  return 1;
}

static int
nbd_rw_asynch_zero (struct rw *rw, struct command *cmd)
{
  struct nbd_rw *n = (struct nbd_rw *)rw;
  struct nbd_handle *h = n->handles[cmd->worker];
  uint64_t chunk = n->can_zero ? NBD_ZERO_CHUNK : RW_ZERO_BUFFER_SIZE;
  uint64_t off = cmd->offset, end = cmd->offset + cmd->length;
  struct zero_split *z;

  if (n->can_zero && cmd->length <= chunk) {
    if (nbd_aio_zero (h, cmd->length, cmd->offset, NBD_CALLBACK (cmd), 0) ==
        -1)
      return nbd_rw_issue_failed (n, cmd->worker, "write zeroes");
    return 0;
  }

  z = calloc (1, sizeof *z);
  if (z == NULL) {
    cbt_set_error ("out of memory");
    return -1;
  }
  z->cmd = cmd;
  /* Hold one reference while issuing, so no part can finish the whole. */
  z->pending = 1;
  while (off < end) {
    uint64_t len = end - off < chunk ? end - off : chunk;
    nbd_completion_callback cb = { .callback = nbd_rw_zero_part_done,
                                   .user_data = z };
    int64_t r = n->can_zero
                    ? nbd_aio_zero (h, len, off, cb, 0)
                    : nbd_aio_pwrite (h, rw_zero_buffer, len, off, cb, 0);

    if (r == -1) {
      nbd_rw_issue_failed (n, cmd->worker, "write zeroes");
      z->err = errno;
      break;
    }
    z->pending++;
    off += len;
  }
  {
    int dummy = 0;

    nbd_rw_zero_part_done (z, &dummy);
  }
  return 0;
}

static int
nbd_rw_flush (struct rw *rw)
{
  struct nbd_rw *n = (struct nbd_rw *)rw;
  unsigned i;

  if (!n->can_flush)
    return 0;
  /* A flush is not sent again on another connection: what a lost one
   * had written but not flushed cannot be vouched for.
   */
  for (i = 0; i < n->nr_handles; i++) {
    int64_t cookie;

    if (nbd_rw_is_lost (n, i)) {
      cbt_set_error ("%s: flush: the connection was lost", rw->name);
      return -1;
    }
    cookie = nbd_aio_flush (n->handles[i], NBD_NULL_COMPLETION, 0);
    if (cookie == -1) {
      nbd_rw_set_error (n, "flush");
      return -1;
    }
    if (nbd_rw_wait_command (n, i, cookie, "flush") != 0)
      return -1;
  }
  return 0;
}

static int
nbd_rw_asynch_flush (struct rw *rw, struct command *cmd)
{
  struct nbd_rw *n = (struct nbd_rw *)rw;

  /* A server that cannot flush has nothing to flush. */
  if (!n->can_flush) {
    cmd->cb (cmd, 0);
    return 0;
  }
  if (nbd_aio_flush (n->handles[cmd->worker], NBD_CALLBACK (cmd), 0) == -1) {
    nbd_rw_set_error (n, "flush");
    return -1;
  }
  return 0;
}

static int
nbd_rw_get_poll (struct rw *rw, unsigned w, int *ret_fd, short *ret_events)
{
  struct nbd_rw *n = (struct nbd_rw *)rw;
  struct nbd_handle *h = n->handles[w];
  unsigned dir;
  short events = 0;
  int fd;

  /* A lost connection has completed its requests with errors. */
  if (nbd_rw_is_lost (n, w) || nbd_aio_in_flight (h) <= 0) {
    *ret_fd = -1;
    *ret_events = 0;
    return 0;
  }
  fd = nbd_aio_get_fd (h);
  if (fd == -1) {
    nbd_rw_set_error (n, "connection lost");
    return -1;
  }
  dir = nbd_aio_get_direction (h);
  if (dir & LIBNBD_AIO_DIRECTION_READ)
    events |= POLLIN;
  if (dir & LIBNBD_AIO_DIRECTION_WRITE)
    events |= POLLOUT;
  *ret_fd = fd;
  *ret_events = events;
  return 0;
}

static int
nbd_rw_notify (struct rw *rw, unsigned w, short revents)
{
  struct nbd_rw *n = (struct nbd_rw *)rw;
  struct nbd_handle *h = n->handles[w];

  if ((revents & (POLLIN | POLLHUP | POLLERR)) &&
      nbd_aio_notify_read (h) == -1)
    goto err;
  if ((revents & POLLOUT) && nbd_aio_notify_write (h) == -1)
    goto err;
  return 0;

err:
  /* The server went away: libnbd failed the requests in flight with
   * ENOTCONN, and the copier sends them again on a new connection.
   */
  if (nbd_rw_is_lost (n, w)) {
    n->lost[w] = true;
    return 0;
  }
  nbd_rw_set_error (n, "connection");
  return -1;
}

/* The most times the end of a given-up connection is read. */
#define NBD_ABORT_READS 64

static void
nbd_rw_abort (struct rw *rw, unsigned w)
{
  struct nbd_rw *n = (struct nbd_rw *)rw;
  struct nbd_handle *h = n->handles[w];
  int fd = nbd_aio_get_fd (h);
  unsigned i;

  n->lost[w] = true;
  if (fd == -1)
    return;
  /* Ending the socket here makes libnbd read the end of the connection,
   * and fail every request in flight with ENOTCONN, without waiting for
   * a server that does not answer.
   */
  shutdown (fd, SHUT_RDWR);
  for (i = 0; i < NBD_ABORT_READS && nbd_aio_is_dead (h) != 1 &&
              nbd_aio_is_closed (h) != 1;
       i++)
    if (nbd_aio_notify_read (h) == -1)
      break;
}

static int
nbd_rw_reconnect (struct rw *rw, unsigned w, double timeout)
{
  struct nbd_rw *n = (struct nbd_rw *)rw;
  double connect_timeout = faults_policy ()->connect_timeout;
  struct nbd_handle *h;
  int64_t size;

  if (!nbd_rw_is_lost (n, w))
    return 0;
  h = nbd_rw_connect_one (n, fmin (timeout, connect_timeout), false);
  if (h == NULL)
    return -1;
  size = nbd_get_size (h);
  if (size < 0 || (uint64_t)size != n->rw.size) {
    cbt_set_error ("%s: after reconnecting, the export's size is %" PRId64
                   " bytes instead of %" PRIu64,
                   rw->name, size, n->rw.size);
    nbd_close (h);
    return -1;
  }
  nbd_close (n->handles[w]);
  n->handles[w] = h;
  n->lost[w] = false;
  return 0;
}

static const struct rw_ops nbd_ops = {
  .ops_name = "nbd",
  .close = nbd_rw_close,
  .connect_workers = nbd_rw_connect_workers,
  .get_map = nbd_rw_get_map,
  .asynch_read = nbd_rw_asynch_read,
  .asynch_write = nbd_rw_asynch_write,
  .asynch_zero = nbd_rw_asynch_zero,
  .flush = nbd_rw_flush,
  .asynch_flush = nbd_rw_asynch_flush,
  .get_poll = nbd_rw_get_poll,
  .notify = nbd_rw_notify,
  .abort = nbd_rw_abort,
  .reconnect = nbd_rw_reconnect,
};
