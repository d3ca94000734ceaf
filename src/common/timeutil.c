/* cbtrack - clocks. */
#include <errno.h>
#include <math.h>
#include <time.h>

#include "common/timeutil.h"

double
cbt_now_mono (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double
cbt_now_wall (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

char *
cbt_format_utc (double t, char *buf, size_t len)
{
  time_t secs = (time_t)floor (t);
  struct tm tm;

  gmtime_r (&secs, &tm);
  strftime (buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void
cbt_sleep (double seconds)
{
  struct timespec ts;

  if (seconds <= 0)
    return;
  ts.tv_sec = (time_t)seconds;
  ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
  while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
    ;
}
