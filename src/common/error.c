/* cbtrack - per-thread last error. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"

static _Thread_local char last_error[1024];

void
cbt_set_error (const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (last_error, sizeof last_error, fmt, ap);
  va_end (ap);
}

void
cbt_set_error_errno (int errnum, const char *fmt, ...)
{
  char msg[sizeof last_error / 2];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  snprintf (last_error, sizeof last_error, "%s: %s", msg, strerror (errnum));
}

const char *
cbt_get_error (void)
{
  return last_error[0] ? last_error : "unknown error";
}

void
cbt_clear_error (void)
{
  last_error[0] = '\0';
}

/* The cleanup helpers live here too: they are tiny and used everywhere. */
void
cleanup_free (void *ptr)
{
  free (*(void **)ptr);
}

void
cleanup_close (int *fd)
{
  if (*fd >= 0) {
    int saved = errno;
    close (*fd);
    errno = saved;
  }
}

void
cleanup_mutex_unlock (pthread_mutex_t **ptr)
{
  pthread_mutex_unlock (*ptr);
}
