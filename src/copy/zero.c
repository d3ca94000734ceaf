/* cbtrack copy - exact zero detection (I/O-free). */
#include <string.h>

#include "copy/zero.h"

bool
zero_is_zero (const void *buf, size_t len)
{
  const unsigned char *p = buf;
  size_t i, head = len < 16 ? len : 16;

  /* Check a short head byte by byte; then the rest equals the buffer
   * shifted by 16 bytes if and only if it is all zero too.  memcmp is
   * vectorised, so this runs near memory bandwidth.
   */
  for (i = 0; i < head; i++)
    if (p[i])
      return false;
  return len <= 16 || memcmp (p, p + 16, len - 16) == 0;
}

size_t
zero_run_end (const char *buf, size_t len, size_t pos, size_t block,
              bool *ret_zero)
{
  size_t end = pos + block < len ? pos + block : len;
  bool zero = zero_is_zero (buf + pos, end - pos);

  while (end < len) {
    size_t next = end + block < len ? end + block : len;

    if (zero_is_zero (buf + end, next - end) != zero)
      break;
    end = next;
  }
  *ret_zero = zero;
  return end;
}
