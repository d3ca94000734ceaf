/* cbtrack copy - choosing an endpoint kind. */
#include <string.h>

#include "copy/rw.h"

/* A shared page-aligned run of zeroes, for endpoints that must write
 * zeroes because they cannot punch or zero ranges.
 */
const char rw_zero_buffer[RW_ZERO_BUFFER_SIZE]
    __attribute__ ((aligned (4096)));

bool
rw_is_nbd_uri (const char *name)
{
  static const char *const schemes[] = {
    "nbd://",       "nbds://",      "nbd+unix://",
    "nbds+unix://", "nbd+vsock://", "nbds+vsock://",
  };
  size_t i;

  for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
    if (strncmp (name, schemes[i], strlen (schemes[i])) == 0)
      return true;
  return false;
}

struct rw *
rw_open (const char *name, const struct rw_open_args *args)
{
  if (rw_is_nbd_uri (name))
    return nbd_rw_open (name, args);
  return file_rw_open (name, args);
}

int
rw_close (struct rw *rw)
{
  return rw ? rw->ops->close (rw) : 0;
}
