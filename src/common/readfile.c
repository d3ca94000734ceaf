/* cbtrack - reading small files whole. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/readfile.h"

int
cbt_read_file (const char *file, char **ret_text, size_t *ret_len)
{
  CLEANUP_CLOSE int fd = open (file, O_RDONLY | O_CLOEXEC);
  struct stat st;
  char *text;
  size_t got = 0;

  if (fd == -1) {
    cbt_set_error_errno (errno, "%s", file);
    return -1;
  }
  if (fstat (fd, &st) == -1 || !S_ISREG (st.st_mode)) {
    cbt_set_error ("%s: not a regular file", file);
    return -1;
  }
  if (st.st_size > (1 << 30)) {
    cbt_set_error ("%s: too large (over 1 GiB)", file);
    return -1;
  }
  text = malloc ((size_t)st.st_size + 1);
  if (text == NULL) {
    cbt_set_error ("out of memory");
    return -1;
  }
  while (got < (size_t)st.st_size) {
    ssize_t r = read (fd, text + got, (size_t)st.st_size - got);

    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0) {
      cbt_set_error_errno (r == 0 ? EIO : errno, "%s: read", file);
      free (text);
      return -1;
    }
    got += (size_t)r;
  }
  text[got] = '\0';
  *ret_text = text;
  *ret_len = got;
  return 0;
}
