/* cbtrack - the daemons' log (see log.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"

static const struct {
  const char *name;
  enum cbt_log_level level;
} log_levels[] = {
  { "error", CBT_LOG_ERROR },
  { "warning", CBT_LOG_WARNING },
  { "info", CBT_LOG_INFO },
  { "debug", CBT_LOG_DEBUG },
};

int
cbt_log_level_parse (const char *text, enum cbt_log_level *ret_level)
{
  size_t i;

  for (i = 0; i < sizeof log_levels / sizeof log_levels[0]; i++)
    if (strcmp (text, log_levels[i].name) == 0) {
      *ret_level = log_levels[i].level;
      return 0;
    }
  cbt_set_error ("--log-level: '%s' is not one of error, warning, info, "
                 "debug",
                 text);
  return -1;
}

const char *
cbt_log_level_name (enum cbt_log_level level)
{
  size_t i;

  for (i = 0; i < sizeof log_levels / sizeof log_levels[0]; i++)
    if (log_levels[i].level == level)
      return log_levels[i].name;
  return "info";
}

size_t
cbt_log_format (char *buf, size_t size, bool journal, enum cbt_log_level level,
                const char *name, const char *fmt, va_list ap)
{
  size_t len = 0, start, i;
  int n;

  if (size < 16) {
    if (size > 0)
      buf[0] = '\0';
    return 0;
  }
  /* Room for the newline and the NUL is kept out of every step. */
  if (journal) {
    n = snprintf (buf, size - 1, "<%d>", (int)level);
    len = n > 0 ? (size_t)n : 0;
  }
  n = snprintf (buf + len, size - 1 - len, "cbtrack %s: %s: ", name,
                cbt_log_level_name (level));
  if (n > 0)
    len += (size_t)n;
  if (len > size - 2)
    len = size - 2;
  start = len;
  n = vsnprintf (buf + len, size - 1 - len, fmt, ap);
  if (n > 0)
    len += (size_t)n;
  if (len > size - 2)
    len = size - 2;
  for (i = start; i < len; i++)
    if (buf[i] == '\n' || buf[i] == '\r')
      buf[i] = ' ';
  buf[len++] = '\n';
  buf[len] = '\0';
  return len;
}

/* The output side.  LOG_FD is the descriptor lines go to: 2, or a
 * descriptor of the log file that stays the same for the life of the
 * file (reopening dup2()s the new file onto it, atomically for writers).
 */
static atomic_int log_level = CBT_LOG_INFO;
static atomic_int log_fd = STDERR_FILENO;
static atomic_bool log_journal;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_path; /* protected by log_lock */

void
cbt_log_set_level (enum cbt_log_level level)
{
  atomic_store (&log_level, (int)level);
}

bool
cbt_log_enabled (enum cbt_log_level level)
{
  return (int)level <= atomic_load (&log_level);
}

static int
log_open_file (const char *file)
{
  int fd = open (file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

  if (fd == -1)
    cbt_set_error_errno (errno, "--log-file %s", file);
  return fd;
}

int
cbt_log_open (const char *file)
{
  const char *stream = getenv ("JOURNAL_STREAM");
  char *path;
  int fd;

  if (file == NULL) {
    atomic_store (&log_journal, stream != NULL && stream[0] != '\0');
    return 0;
  }
  path = strdup (file);
  if (path == NULL) {
    cbt_set_error ("out of memory");
    return -1;
  }
  fd = log_open_file (file);
  if (fd == -1) {
    free (path);
    return -1;
  }
  pthread_mutex_lock (&log_lock);
  free (log_path);
  log_path = path;
  if (atomic_load (&log_fd) != STDERR_FILENO) {
    /* Already a file: put the new one in its place. */
    if (dup2 (fd, atomic_load (&log_fd)) == -1)
      cbt_set_error_errno (errno, "dup2");
    close (fd);
  } else
    atomic_store (&log_fd, fd);
  atomic_store (&log_journal, false);
  pthread_mutex_unlock (&log_lock);
  return 0;
}

int
cbt_log_reopen (void)
{
  int fd, ret = 0;

  pthread_mutex_lock (&log_lock);
  if (log_path != NULL) {
    fd = log_open_file (log_path);
    if (fd == -1)
      ret = -1;
    else {
      if (dup2 (fd, atomic_load (&log_fd)) == -1) {
        cbt_set_error_errno (errno, "--log-file %s: dup2", log_path);
        ret = -1;
      }
      if (close (fd) == -1 && ret == 0) {
        cbt_set_error_errno (errno, "--log-file %s: close", log_path);
        ret = -1;
      }
    }
  }
  pthread_mutex_unlock (&log_lock);
  return ret;
}

bool
cbt_log_to_file (void)
{
  return atomic_load (&log_fd) != STDERR_FILENO;
}

void
cbt_log_close (void)
{
  int fd;

  pthread_mutex_lock (&log_lock);
  fd = atomic_exchange (&log_fd, STDERR_FILENO);
  if (fd != STDERR_FILENO)
    close (fd); /* nothing to tell: the log itself is what failed */
  free (log_path);
  log_path = NULL;
  pthread_mutex_unlock (&log_lock);
}

void
cbt_vlog (enum cbt_log_level level, const char *name, const char *fmt,
          va_list ap)
{
  char line[CBT_LOG_LINE_MAX];
  size_t len, done = 0;

  if (!cbt_log_enabled (level))
    return;
  len = cbt_log_format (line, sizeof line, atomic_load (&log_journal), level,
                        name, fmt, ap);
  /* One write(2) per line keeps lines whole (O_APPEND for files); a
   * failure has nowhere to be reported.
   */
  while (done < len) {
    ssize_t r = write (atomic_load (&log_fd), line + done, len - done);

    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    done += (size_t)r;
  }
}

void
cbt_log (enum cbt_log_level level, const char *name, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  cbt_vlog (level, name, fmt, ap);
  va_end (ap);
}
