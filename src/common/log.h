/* cbtrack - the daemons' log: one line per event, with a level.
 *
 * A line reads "cbtrack NAME: LEVEL: MESSAGE".  Under systemd (stderr is
 * the journal: $JOURNAL_STREAM is set and no --log-file is given) it is
 * prefixed with the syslog priority "<N>" that journald turns into the
 * entry's priority.  Lines below the level in force (--log-level) are not
 * written.  The levels are syslog's priorities, so their numbers are the
 * prefixes.
 *
 * Formatting (cbt_log_format) is free of I/O; the output functions are a
 * thin layer over one file descriptor, stderr or the --log-file, which
 * SIGHUP reopens (cbt_log_reopen) for log rotation.  Every function is
 * safe from any thread; lines of concurrent threads never mix.
 */
#ifndef CBTRACK_COMMON_LOG_H
#define CBTRACK_COMMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum cbt_log_level {
  CBT_LOG_ERROR = 3,
  CBT_LOG_WARNING = 4,
  CBT_LOG_INFO = 6,
  CBT_LOG_DEBUG = 7,
};

/* The longest line written whole; longer messages are cut. */
#define CBT_LOG_LINE_MAX 4096

/* Parses "error", "warning", "info" or "debug" into *RET_LEVEL.  Returns
 * 0, or -1 with an error recorded (*RET_LEVEL untouched).
 */
int cbt_log_level_parse (const char *text, enum cbt_log_level *ret_level);

/* The name of LEVEL ("error", "warning", "info", "debug"). */
const char *cbt_log_level_name (enum cbt_log_level level);

/* Formats one log line of LEVEL from program part NAME into BUF of SIZE
 * (>= 16) bytes: "<N>" first when JOURNAL, then "cbtrack NAME: LEVEL: "
 * and the message, cut to fit, ending in one newline and a NUL; newlines
 * inside the message become spaces, so an event is one line.  Returns the
 * line's length (without the NUL).  I/O free.
 */
size_t cbt_log_format (char *buf, size_t size, bool journal,
                       enum cbt_log_level level, const char *name,
                       const char *fmt, va_list ap)
    __attribute__ ((format (printf, 6, 0)));

/* Sets the level in force: lines of a less severe level are dropped.
 * The default is CBT_LOG_INFO.
 */
void cbt_log_set_level (enum cbt_log_level level);

/* True when lines of LEVEL are written. */
bool cbt_log_enabled (enum cbt_log_level level);

/* Sends the log to FILE (appended to, created 0640 if missing), or to
 * stderr when FILE is NULL; decides whether to use the journal's
 * prefixes ($JOURNAL_STREAM, stderr only).  Returns 0, or -1 with an
 * error recorded and the log unchanged.
 */
int cbt_log_open (const char *file);

/* Reopens the log file (after logrotate moved it); nothing for stderr.
 * Returns 0, or -1 with an error recorded, the old file still in use.
 */
int cbt_log_reopen (void);

/* True when the log goes to a file. */
bool cbt_log_to_file (void);

/* Closes the log file, if any: the log goes to stderr again. */
void cbt_log_close (void);

/* Writes one line of LEVEL for NAME, if LEVEL is enabled. */
void cbt_log (enum cbt_log_level level, const char *name, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* As cbt_log, with a va_list. */
void cbt_vlog (enum cbt_log_level level, const char *name, const char *fmt,
               va_list ap) __attribute__ ((format (printf, 3, 0)));

#endif /* CBTRACK_COMMON_LOG_H */
