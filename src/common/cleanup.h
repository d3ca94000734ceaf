/* cbtrack - scope-bound cleanup helpers.
 *
 * The cleanup attribute runs a function on a variable when it goes out of
 * scope, so early returns cannot leak.  Modelled on nbdkit's common/utils.
 */
#ifndef CBTRACK_COMMON_CLEANUP_H
#define CBTRACK_COMMON_CLEANUP_H

#include <pthread.h>
#include <stdlib.h>

void cleanup_free (void *ptr);
void cleanup_close (int *fd);
void cleanup_mutex_unlock (pthread_mutex_t **ptr);

/* Frees the pointer with free(3) when the variable leaves scope. */
#define CLEANUP_FREE __attribute__ ((cleanup (cleanup_free)))

/* Closes the file descriptor (if >= 0) when the variable leaves scope. */
#define CLEANUP_CLOSE __attribute__ ((cleanup (cleanup_close)))

#define CBT_UNIQUE_NAME_(a, b) a##b
#define CBT_UNIQUE_NAME(a, b) CBT_UNIQUE_NAME_ (a, b)

/* Locks MUTEX until the end of the enclosing scope. */
#define ACQUIRE_LOCK_FOR_CURRENT_SCOPE(mutex)                                 \
  __attribute__ ((cleanup (cleanup_mutex_unlock)))                            \
  pthread_mutex_t *CBT_UNIQUE_NAME (_lock, __LINE__) = (mutex);               \
  pthread_mutex_lock (CBT_UNIQUE_NAME (_lock, __LINE__))

#endif /* CBTRACK_COMMON_CLEANUP_H */
