/* cbtrack - telling systemd about the daemon's state, through libsystemd
 * (see sd-notify.h).
 */
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "common/error.h"
#include "common/sd-notify.h"

int
cbt_sd_notify (const char *state)
{
  int r = sd_notify (0, state);

  if (r < 0) {
    cbt_set_error_errno (-r, "sd_notify (NOTIFY_SOCKET %s)",
                         getenv ("NOTIFY_SOCKET") ? getenv ("NOTIFY_SOCKET")
                                                  : "unset");
    return -1;
  }
  return r > 0 ? 1 : 0;
}

uint64_t
cbt_sd_watchdog_usec (void)
{
  uint64_t usec = 0;

  /* Also checks $WATCHDOG_PID against this process. */
  if (sd_watchdog_enabled (0, &usec) <= 0)
    return 0;
  return usec;
}
