/* cbtrack - telling systemd about the daemon's state (Type=notify).
 *
 * A thin layer over libsystemd's sd_notify(3) and sd_watchdog_enabled(3),
 * with cbtrack's error convention.  Outside systemd (no NOTIFY_SOCKET)
 * every call does nothing.
 */
#ifndef CBTRACK_COMMON_SD_NOTIFY_H
#define CBTRACK_COMMON_SD_NOTIFY_H

#include <stdint.h>

/* Sends STATE (e.g. "READY=1", "STOPPING=1", "WATCHDOG=1") to the
 * service manager.  Returns 1 when sent, 0 when there is no manager to
 * tell, or -1 with an error recorded.  Safe from any thread.
 */
int cbt_sd_notify (const char *state);

/* The watchdog interval systemd asks for (WatchdogSec=), in microseconds,
 * from $WATCHDOG_USEC (and $WATCHDOG_PID, when set, naming this process);
 * 0 when there is none.
 */
uint64_t cbt_sd_watchdog_usec (void);

#endif /* CBTRACK_COMMON_SD_NOTIFY_H */
