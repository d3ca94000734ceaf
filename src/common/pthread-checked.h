/* cbtrack - pthread calls that cannot fail silently.
 *
 * Locking a mutex we initialised, signalling a condition variable or
 * joining a thread we started fails only when memory is corrupt or the
 * code is wrong; carrying on would risk a copy that reports success over
 * a bad target.  These wrappers check every return code and abort with a
 * message naming the call, as nbdkit's ACQUIRE_LOCK_FOR_CURRENT_SCOPE
 * does.  Calls that can fail for ordinary reasons (pthread_create,
 * pthread_mutex_init, pthread_cond_init) are not wrapped: their callers
 * handle the error.
 *
 * Every wait here has a bound: cbt_cond_timedwait takes an absolute
 * CLOCK_MONOTONIC deadline, made by cbt_deadline_after, on a condition
 * variable made by cbt_cond_init_monotonic.
 */
#ifndef CBTRACK_COMMON_PTHREAD_CHECKED_H
#define CBTRACK_COMMON_PTHREAD_CHECKED_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Aborts with a message if ERR, the result of the pthread call WHAT, is
 * not 0.
 */
static inline void
cbt_pthread_check (int err, const char *what)
{
  if (err != 0) {
    fprintf (stderr, "cbtrack: internal error: %s: %s\n", what,
             strerror (err));
    abort ();
  }
}

static inline void
cbt_mutex_lock (pthread_mutex_t *m)
{
  cbt_pthread_check (pthread_mutex_lock (m), "pthread_mutex_lock");
}

static inline void
cbt_mutex_unlock (pthread_mutex_t *m)
{
  cbt_pthread_check (pthread_mutex_unlock (m), "pthread_mutex_unlock");
}

static inline void
cbt_mutex_destroy (pthread_mutex_t *m)
{
  cbt_pthread_check (pthread_mutex_destroy (m), "pthread_mutex_destroy");
}

static inline void
cbt_cond_signal (pthread_cond_t *c)
{
  cbt_pthread_check (pthread_cond_signal (c), "pthread_cond_signal");
}

static inline void
cbt_cond_broadcast (pthread_cond_t *c)
{
  cbt_pthread_check (pthread_cond_broadcast (c), "pthread_cond_broadcast");
}

static inline void
cbt_cond_destroy (pthread_cond_t *c)
{
  cbt_pthread_check (pthread_cond_destroy (c), "pthread_cond_destroy");
}

static inline void
cbt_thread_join (pthread_t t)
{
  cbt_pthread_check (pthread_join (t, NULL), "pthread_join");
}

/* Initialises C to measure its timeouts on CLOCK_MONOTONIC, so a change
 * of the wall clock cannot stretch or cut a wait.  Returns 0, or an
 * errno value (C is then not initialised).
 */
static inline int
cbt_cond_init_monotonic (pthread_cond_t *c)
{
  pthread_condattr_t attr;
  int err;

  err = pthread_condattr_init (&attr);
  if (err)
    return err;
  err = pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
  if (err == 0)
    err = pthread_cond_init (c, &attr);
  cbt_pthread_check (pthread_condattr_destroy (&attr),
                     "pthread_condattr_destroy");
  return err;
}

/* The CLOCK_MONOTONIC time SECONDS (>= 0, fractions allowed) from now,
 * as an absolute deadline for cbt_cond_timedwait.
 */
static inline struct timespec
cbt_deadline_after (double seconds)
{
  struct timespec ts;
  long long ns;

  cbt_pthread_check (clock_gettime (CLOCK_MONOTONIC, &ts) ? errno : 0,
                     "clock_gettime");
  if (!(seconds > 0))
    return ts;
  ns = ts.tv_nsec + (long long)((seconds - (double)(time_t)seconds) * 1e9);
  ts.tv_sec += (time_t)seconds + (time_t)(ns / 1000000000);
  ts.tv_nsec = (long)(ns % 1000000000);
  return ts;
}

/* Waits on C (made by cbt_cond_init_monotonic) with M held, until
 * signalled or until DEADLINE.  Returns true when signalled (or woken
 * spuriously), false when the deadline passed: the caller re-checks its
 * predicate either way.
 */
static inline bool
cbt_cond_timedwait (pthread_cond_t *c, pthread_mutex_t *m,
                    const struct timespec *deadline)
{
  int err = pthread_cond_timedwait (c, m, deadline);

  if (err == ETIMEDOUT)
    return false;
  cbt_pthread_check (err, "pthread_cond_timedwait");
  return true;
}

#endif /* CBTRACK_COMMON_PTHREAD_CHECKED_H */
