/* cbtrack copy - choosing an endpoint kind. */
#include <string.h>

#include "common/error.h"
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

bool
rw_is_null (const char *name)
{
  return strcmp (name, "null:") == 0;
}

struct rw *
rw_open (const char *name, const struct rw_open_args *args)
{
  if (args->command)
    return nbd_rw_open (name, args);
  if (strcmp (name, "-") == 0) {
    cbt_set_error ("'-': copying %s standard %s is not supported (cbtrack"
                   " reads and writes out of order); give a file, a block"
                   " device, an NBD URI%s",
                   args->writable ? "to" : "from",
                   args->writable ? "output" : "input",
                   args->writable ? ", or null: to discard" : "");
    return NULL;
  }
  if (rw_is_null (name))
    return null_rw_open (name, args);
  if (rw_is_nbd_uri (name))
    return nbd_rw_open (name, args);
  return file_rw_open (name, args);
}

int
rw_close (struct rw *rw)
{
  return rw ? rw->ops->close (rw) : 0;
}
