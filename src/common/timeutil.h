/* cbtrack - clocks. */
#ifndef CBTRACK_COMMON_TIMEUTIL_H
#define CBTRACK_COMMON_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Seconds on the monotonic clock: for intervals, rates and timeouts. */
double cbt_now_mono (void);

/* Seconds since the epoch on the wall clock: for timestamps only. */
double cbt_now_wall (void);

/* Formats the wall-clock time T (seconds since the epoch) as UTC
 * "YYYY-MM-DDTHH:MM:SSZ" into BUF of LEN bytes.  Returns BUF.
 */
char *cbt_format_utc (double t, char *buf, size_t len);

/* Sleeps for SECONDS (fractions allowed), resuming after signals. */
void cbt_sleep (double seconds);

#endif /* CBTRACK_COMMON_TIMEUTIL_H */
