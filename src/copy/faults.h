/* cbtrack copy - what happens when something goes wrong during a copy.
 *
 * The fault policy (timeouts and retries, from the command line), how an
 * errno is judged (worth a retry, a lost connection, or final), the
 * backoff schedule of retries and reconnects, and the process-wide
 * request to stop (a signal).  Everything here is free of I/O, so unit
 * tests call it directly.
 *
 * The policy is set once by a subcommand's main() before any thread
 * starts, and only read afterwards.  The stop request is set by the
 * signal thread of copy_main and read by every thread (an atomic).
 */
#ifndef CBTRACK_COPY_FAULTS_H
#define CBTRACK_COPY_FAULTS_H

#include <stdbool.h>
#include <stddef.h>

struct faults_policy {
  double connect_timeout;   /* seconds for one NBD connection (handshake) */
  double io_timeout;        /* seconds a connection may go without a
                               reply while requests wait on it; then it
                               counts as lost */
  double reconnect_timeout; /* seconds a lost connection may take to come
                               back */
  unsigned retries;         /* retries of a request after a failure */
};

#define FAULTS_DEFAULT_CONNECT_TIMEOUT 30.0
#define FAULTS_DEFAULT_IO_TIMEOUT 60.0
#define FAULTS_DEFAULT_RECONNECT_TIMEOUT 60.0
#define FAULTS_DEFAULT_RETRIES 5
#define FAULTS_MAX_RETRIES 100

/* Sets the process-wide policy (call before any thread starts). */
void faults_set_policy (const struct faults_policy *policy);

/* The process-wide policy: the defaults until faults_set_policy. */
const struct faults_policy *faults_policy (void);

/* What a failed request's errno means. */
enum faults_kind {
  FAULTS_TRANSIENT, /* may succeed if sent again (EIO, EAGAIN, ...) */
  FAULTS_LOST,      /* the connection is gone: reconnect, then resend */
  FAULTS_FINAL,     /* resending cannot help: no space, read-only, ... */
};

/* Judges ERR (an errno value, > 0).  ENOSPC, EDQUOT, EFBIG, EROFS, EPERM,
 * EACCES, EINVAL, EBADF, ENOMEM, EOVERFLOW, ENOTSUP are final; ENOTCONN,
 * ESHUTDOWN, ECONNRESET, ECONNABORTED, ECONNREFUSED, EPIPE, ETIMEDOUT,
 * EHOSTUNREACH, ENETUNREACH, ENETDOWN mean a lost connection; anything
 * else (EIO first of all) is transient.
 */
enum faults_kind faults_classify (int err);

/* The wait before retry number ATTEMPT (1 for the first retry): BASE
 * seconds doubled at each attempt, at most CAP.  Never negative.
 */
double faults_backoff (unsigned attempt, double base, double cap);

/* The retry and reconnect schedules: 0.1 s doubling up to 2 s between
 * the retries of a request; 0.25 s doubling up to 5 s between reconnect
 * attempts.
 */
#define FAULTS_RETRY_BASE 0.1
#define FAULTS_RETRY_CAP 2.0
#define FAULTS_RECONNECT_BASE 0.25
#define FAULTS_RECONNECT_CAP 5.0

/* The stop request of a job cancelled through its VMA (DESIGN §5): not a
 * signal number, and handled exactly as one.
 */
#define FAULTS_STOP_CANCEL (-1)

/* Records that the copy must stop because of signal SIGNO, or
 * FAULTS_STOP_CANCEL (the first request wins).  Async-signal-safe, though
 * cbtrack calls it from a thread that waits for signals, not from a handler.
 */
void faults_request_stop (int signo);

/* The signal (or FAULTS_STOP_CANCEL) that asked the copy to stop, or 0. */
int faults_stop_signal (void);

/* Formats the message of a copy stopped by signal SIGNO into BUF of LEN
 * bytes: "interrupted by SIGTERM; run the same command to resume", or for
 * FAULTS_STOP_CANCEL "cancelled through the VMA; run the same command to
 * resume".
 * Returns BUF.
 */
const char *faults_stop_message (int signo, char *buf, size_t len);

#endif /* CBTRACK_COPY_FAULTS_H */
