/* cbtrack copy - the null: target, which discards everything written.
 *
 * As nbdcopy's null: endpoint, it measures the source side alone (how fast
 * the source can be read and checked for zero blocks) and proves a source
 * readable to the end.  It has the source's size, reads as zero (so zero
 * ranges are skipped rather than sent), and every request completes before
 * it returns.  It cannot be a source.
 */
#include <errno.h>
#include <stdlib.h>

#include "common/error.h"
#include "copy/rw.h"

static const struct rw_ops null_ops;

struct rw *
null_rw_open (const char *name, const struct rw_open_args *args)
{
  struct rw *rw;

  if (!args->writable) {
    cbt_set_error ("%s: null: discards what is written; it cannot be read",
                   name);
    return NULL;
  }
  rw = calloc (1, sizeof *rw);
  if (rw == NULL) {
    cbt_set_error_errno (errno, "calloc");
    return NULL;
  }
  rw->ops = &null_ops;
  rw->name = name;
  rw->size = args->create_size;
  rw->is_zero = true;
  rw->have_allocation = false;
  return rw;
}

static int
null_rw_close (struct rw *rw)
{
  free (rw);
  return 0;
}

static int
null_rw_connect_workers (struct rw *rw, unsigned n)
{
  return n >= 1 ? (int)n : 1;
}

static int64_t
null_rw_get_map (struct rw *rw, enum rw_map which, uint64_t offset,
                 uint64_t count, map_extent_vector *ret_map)
{
  cbt_set_error ("%s: null: has no maps", rw->name);
  return -1;
}

static int
null_rw_asynch_read (struct rw *rw, struct command *cmd)
{
  cbt_set_error ("%s: null: cannot be read", rw->name);
  return -1;
}

/* Writing and zeroing both discard; the request is done at once. */
static int
null_rw_asynch_discard (struct rw *rw, struct command *cmd)
{
  cmd->cb (cmd, 0);
  return 0;
}

static int
null_rw_flush (struct rw *rw)
{
  return 0;
}

static int
null_rw_asynch_flush (struct rw *rw, struct command *cmd)
{
  cmd->cb (cmd, 0);
  return 0;
}

static const struct rw_ops null_ops = {
  .ops_name = "null",
  .close = null_rw_close,
  .connect_workers = null_rw_connect_workers,
  .get_map = null_rw_get_map,
  .asynch_read = null_rw_asynch_read,
  .asynch_write = null_rw_asynch_discard,
  .asynch_zero = null_rw_asynch_discard,
  .flush = null_rw_flush,
  .asynch_flush = null_rw_asynch_flush,
  .get_poll = NULL,
  .notify = NULL,
};
