/* cbtrack - per-thread last error.
 *
 * Library-style code never prints: it records one message here and
 * returns -1.  The subcommand's main() reads it with cbt_get_error() and
 * prints "cbtrack SUBCOMMAND: message".
 */
#ifndef CBTRACK_COMMON_ERROR_H
#define CBTRACK_COMMON_ERROR_H

/* Records a printf-style message as this thread's last error. */
void cbt_set_error (const char *fmt, ...)
    __attribute__ ((format (printf, 1, 2)));

/* Like cbt_set_error, with ": strerror(ERRNUM)" appended. */
void cbt_set_error_errno (int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* This thread's last error, or "unknown error" if none was set.  The
 * string stays valid until the next cbt_set_error* in this thread.
 */
const char *cbt_get_error (void);

/* Forgets this thread's last error. */
void cbt_clear_error (void);

#endif /* CBTRACK_COMMON_ERROR_H */
