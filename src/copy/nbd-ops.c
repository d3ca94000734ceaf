/* cbtrack copy - NBD endpoints, through libnbd's asynchronous API. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnbd.h>

#include "common/error.h"
#include "common/timeutil.h"
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

/* Fills LIST with the meta contexts the server offers for the export, for
 * the error message of a missing map.  Best effort: an empty list when the
 * server will not say.
 */
static void
nbd_rw_list_contexts (const char *uri, struct context_list *list)
{
  struct nbd_handle *h = nbd_create ();

  list->text[0] = '\0';
  list->used = 0;
  if (h == NULL)
    return;
  /* With no queries added, the server lists every context it has. */
  if (nbd_set_opt_mode (h, true) != -1 && nbd_connect_uri (h, uri) != -1)
    nbd_opt_list_meta_context (
        h, (nbd_context_callback){ .callback = nbd_rw_collect_context,
                                   .user_data = list });
  nbd_close (h);
}

/* Extra connections must come up within this, or the copy goes on with
 * fewer: a server that admits one client at a time (qemu-nbd's default
 * --shared=1) queues the others forever.
 */
#define NBD_EXTRA_CONNECT_SECONDS 3.0

/* Opens one more connection to the export, asking for the maps.  With
 * TIMEOUT > 0, gives up after TIMEOUT seconds (error recorded).
 */
static struct nbd_handle *
nbd_rw_connect_one (struct nbd_rw *n, double timeout)
{
  struct nbd_handle *h = nbd_create ();
  double deadline = cbt_now_mono () + timeout;

  if (h == NULL) {
    nbd_rw_set_error (n, "nbd_create");
    return NULL;
  }
  if (nbd_add_meta_context (h, LIBNBD_CONTEXT_BASE_ALLOCATION) == -1 ||
      (n->bitmap_context &&
       nbd_add_meta_context (h, n->bitmap_context) == -1)) {
    nbd_rw_set_error (n, "nbd_add_meta_context");
    goto err;
  }
  if (n->command) {
    /* The child gets a listening socket (LISTEN_FDS=1) and is killed
     * when the handle is closed.
     */
    if (nbd_connect_systemd_socket_activation (h, n->command) == -1) {
      nbd_rw_set_error (n, "cannot run the server");
      goto err;
    }
    return h;
  }
  if (timeout <= 0) {
    if (nbd_connect_uri (h, n->uri) == -1) {
      nbd_rw_set_error (n, "cannot connect");
      goto err;
    }
    return h;
  }

  if (nbd_aio_connect_uri (h, n->uri) == -1) {
    nbd_rw_set_error (n, "cannot connect");
    goto err;
  }
  for (;;) {
    struct pollfd pfd;
    unsigned dir;
    double left;
    int r = nbd_aio_is_connecting (h);

    if (r == 0)
      break;
    left = deadline - cbt_now_mono ();
    if (left <= 0) {
      cbt_set_error ("%s: another connection was not accepted within %.0f s",
                     n->rw.name, timeout);
      goto err;
    }
    dir = nbd_aio_get_direction (h);
    pfd.fd = nbd_aio_get_fd (h);
    pfd.events = ((dir & LIBNBD_AIO_DIRECTION_READ) ? POLLIN : 0) |
                 ((dir & LIBNBD_AIO_DIRECTION_WRITE) ? POLLOUT : 0);
    pfd.revents = 0;
    if (pfd.fd == -1 || poll (&pfd, 1, (int)(left * 1000) + 1) == -1) {
      if (pfd.fd != -1 && errno == EINTR)
        continue;
      nbd_rw_set_error (n, "cannot connect");
      goto err;
    }
    if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
        nbd_aio_notify_read (h) == -1)
      goto connect_err;
    if ((pfd.revents & POLLOUT) && nbd_aio_notify_write (h) == -1)
      goto connect_err;
  }
  if (nbd_aio_is_ready (h) != 1)
    goto connect_err;
  return h;

connect_err:
  nbd_rw_set_error (n, "cannot connect");
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

  h = nbd_rw_connect_one (n, 0);
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
      nbd_rw_list_contexts (n->uri, &list);
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

static int
nbd_rw_close (struct rw *rw)
{
  struct nbd_rw *n = (struct nbd_rw *)rw;
  unsigned i;

  for (i = 0; i < n->nr_handles; i++) {
    if (nbd_aio_in_flight (n->handles[i]) == 0)
      nbd_shutdown (n->handles[i], 0);
    nbd_close (n->handles[i]);
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
    struct nbd_handle *h = nbd_rw_connect_one (n, NBD_EXTRA_CONNECT_SECONDS);

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

  if (req.context == NULL) {
    cbt_set_error ("%s: no dirty bitmap was asked for", rw->name);
    return -1;
  }
  if (count > NBD_MAP_CHUNK)
    count = NBD_MAP_CHUNK;
  req.end = offset + count;

  if (nbd_block_status (n->handles[0], count, offset,
                        (nbd_extent_callback){ .callback = nbd_rw_map_cb,
                                               .user_data = &req },
                        0) == -1) {
    nbd_rw_set_error (n, "block status");
    return -1;
  }
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
                     cmd->offset, NBD_CALLBACK (cmd), 0) == -1) {
    nbd_rw_set_error (n, "read");
    return -1;
  }
  return 0;
}

static int
nbd_rw_asynch_write (struct rw *rw, struct command *cmd)
{
  struct nbd_rw *n = (struct nbd_rw *)rw;

  if (nbd_aio_pwrite (n->handles[cmd->worker], cmd->buf, cmd->length,
                      cmd->offset, NBD_CALLBACK (cmd), 0) == -1) {
    nbd_rw_set_error (n, "write");
    return -1;
  }
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
        -1) {
      nbd_rw_set_error (n, "write zeroes");
      return -1;
    }
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
      nbd_rw_set_error (n, "write zeroes");
      z->err = EIO;
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
  for (i = 0; i < n->nr_handles; i++)
    if (nbd_flush (n->handles[i], 0) == -1) {
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

  if (nbd_aio_in_flight (h) <= 0) {
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
  nbd_rw_set_error (n, "connection");
  return -1;
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
  .get_poll = nbd_rw_get_poll,
  .notify = nbd_rw_notify,
};
