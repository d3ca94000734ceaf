/* cbtrack copy - the data mover.
 *
 * Moves the PLAN_COPY ranges of a plan from a source endpoint to a target
 * endpoint and makes the PLAN_MAKE_ZERO ranges zero, with several workers
 * (one connection each where the endpoints allow it), many requests in
 * flight per worker, and exact zero detection inside the data.  Progress
 * is accounted as requests complete (DESIGN §1).  It does not flush: the
 * caller does that, then marks the progress completed.
 */
#ifndef CBTRACK_COPY_COPIER_H
#define CBTRACK_COPY_COPIER_H

#include <stdbool.h>
#include <stddef.h>

#include "copy/checkpoint.h"
#include "copy/plan.h"
#include "copy/progress.h"
#include "copy/rw.h"

struct copier_options {
  unsigned connections; /* workers wanted (fewer if an endpoint can't) */
  unsigned requests;    /* requests in flight per worker; scaled up when
                           fewer workers than connections can be used,
                           so the bytes in flight stay the same */
  size_t request_size;  /* bytes per read request (multiple of 4096) */
  bool target_is_zero;  /* zero ranges and zero blocks need no write */

  /* Resume and checkpoints (checkpoint.h).  DONE, when not NULL, is the
   * disk's done-set: what it holds at the start is skipped (a resumed
   * copy, already accounted in the progress), and the copier adds every
   * piece whose last write completed and every range its cursor passed
   * without work.  The caller reads it once copier_run has returned.
   */
  struct copier_done *done;
  /* Every CHECKPOINT_INTERVAL seconds (0: never) the copier copies the
   * done-set, has a worker flush the target, and once that flush
   * succeeded hands the copy to CHECKPOINT, on the thread that called
   * copier_run: a piece completed after the copy was taken is never in
   * it.  A -1 from CHECKPOINT (error recorded) fails the copy.
   */
  double checkpoint_interval;
  int (*checkpoint) (void *opaque, const ckpt_range_vector *done);
  void *checkpoint_opaque;
};

/* A disk's done-set as the copier keeps it. */
struct copier_done {
  ckpt_range_vector set;
  /* Set by copier_run: every request it started has completed (none was
   * abandoned), so the target may be flushed and SET written as the
   * checkpoint after a failure.
   */
  bool drained;
};

/* By default one connection per CPU online but one, and at most this
 * many: the servers (on the same machine, as a VDDK or qemu-nbd source
 * is) and a file target's writer need CPU too, and on a small machine
 * more connections only make them contend (bench/copy-speed's sweep).
 */
#define COPIER_DEFAULT_CONNECTIONS_MAX 4
/* By default the requests in flight hold this many bytes in all, over
 * the connections (at least COPIER_DEFAULT_REQUESTS_MIN per connection).
 */
#define COPIER_DEFAULT_IN_FLIGHT (8 * 1024 * 1024)
#define COPIER_DEFAULT_REQUESTS_MIN 4
#define COPIER_DEFAULT_REQUEST_SIZE (256 * 1024)
#define COPIER_MAX_CONNECTIONS 16
#define COPIER_MAX_REQUESTS 1024
#define COPIER_MAX_REQUEST_SIZE (32 * 1024 * 1024)

/* The default number of connections: the CPUs online but one, between
 * 1 and COPIER_DEFAULT_CONNECTIONS_MAX.
 */
unsigned copier_default_connections (void);

/* The default requests in flight per connection for CONNECTIONS of
 * REQUEST_SIZE bytes: COPIER_DEFAULT_IN_FLIGHT shared between them, at
 * least COPIER_DEFAULT_REQUESTS_MIN and at most COPIER_MAX_REQUESTS.
 */
unsigned copier_default_requests (unsigned connections, size_t request_size);

/* Runs the copy of PLAN from SRC to DST, accounting into PROGRESS.
 * Returns 0 when every range completed, or -1 with an error recorded (the
 * first failure; the other workers stop at once).  *RET_WORKERS (if not
 * NULL) is set to the number of workers used.
 */
int copier_run (struct rw *src, struct rw *dst, const struct plan *plan,
                const struct copier_options *opts, struct progress *progress,
                unsigned *ret_workers);

#endif /* CBTRACK_COPY_COPIER_H */
