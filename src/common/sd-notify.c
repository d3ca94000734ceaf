/* cbtrack - the NOTIFY_SOCKET protocol (see sd-notify.h). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/error.h"
#include "common/sd-notify.h"

int
cbt_sd_notify (const char *state)
{
  const char *path = getenv ("NOTIFY_SOCKET");
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  socklen_t len;
  ssize_t r;
  int fd, ret = 1;

  if (path == NULL || (path[0] != '/' && path[0] != '@'))
    return 0;
  if (strlen (path) >= sizeof sa.sun_path) {
    cbt_set_error ("NOTIFY_SOCKET is too long");
    return -1;
  }
  memcpy (sa.sun_path, path, strlen (path));
  len = (socklen_t)(offsetof (struct sockaddr_un, sun_path) + strlen (path));
  if (sa.sun_path[0] == '@')
    sa.sun_path[0] = '\0'; /* the abstract namespace */

  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd == -1) {
    cbt_set_error_errno (errno, "NOTIFY_SOCKET: socket");
    return -1;
  }
  do
    r = sendto (fd, state, strlen (state), MSG_NOSIGNAL,
                (struct sockaddr *)&sa, len);
  while (r == -1 && errno == EINTR);
  if (r == -1) {
    cbt_set_error_errno (errno, "NOTIFY_SOCKET %s", path);
    ret = -1;
  }
  if (close (fd) == -1 && ret == 1) {
    cbt_set_error_errno (errno, "NOTIFY_SOCKET: close");
    ret = -1;
  }
  return ret;
}

uint64_t
cbt_sd_watchdog_usec (void)
{
  const char *usec = getenv ("WATCHDOG_USEC");
  const char *pid = getenv ("WATCHDOG_PID");
  unsigned long long n;
  char *end;

  if (usec == NULL)
    return 0;
  if (pid != NULL && pid[0] != '\0') {
    errno = 0;
    n = strtoull (pid, &end, 10);
    if (errno != 0 || *end != '\0' || n != (unsigned long long)getpid ())
      return 0;
  }
  errno = 0;
  n = strtoull (usec, &end, 10);
  if (errno != 0 || *end != '\0' || end == usec)
    return 0;
  return (uint64_t)n;
}
