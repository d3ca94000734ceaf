/* cbtrack - the life of a daemon (see daemon.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/error.h"
#include "common/httpd.h"
#include "common/human.h"
#include "common/readfile.h"
#include "common/sd-notify.h"
#include "common/token.h"

struct cbt_daemon {
  struct cbt_daemon_config config;
  char *token;             /* the token in force, or NULL */
  char *credential_token;  /* the token file from $CREDENTIALS_DIRECTORY */
  struct cbt_httpd *httpd; /* NULL before serving and after stopping */
  char *tls_cert;          /* PEM text of --tls-cert, or NULL */
  char *tls_key;           /* PEM text of --tls-key, or NULL */
  sigset_t signals;        /* SIGTERM, SIGINT, SIGHUP */
  sigset_t old_mask;       /* restored by cbt_daemon_free */
};

int
cbt_daemon_option (struct cbt_daemon_config *config, int opt, const char *arg)
{
  long long n;

  switch (opt) {
  case CBT_DAEMON_OPT_LISTEN: config->listen = arg; return 1;
  case CBT_DAEMON_OPT_TOKEN_FILE: config->token_file = arg; return 1;
  case CBT_DAEMON_OPT_LOG_LEVEL:
    return cbt_log_level_parse (arg, &config->log_level) == -1 ? -1 : 1;
  case CBT_DAEMON_OPT_LOG_FILE: config->log_file = arg; return 1;
  case CBT_DAEMON_OPT_TLS_CERT: config->tls_cert = arg; return 1;
  case CBT_DAEMON_OPT_TLS_KEY: config->tls_key = arg; return 1;
  case CBT_DAEMON_OPT_THREADS:
    if (cbt_parse_int ("--threads", arg, 1, 256, &n) == -1)
      return -1;
    config->threads = (unsigned)n;
    return 1;
  default: return 0;
  }
}

void
cbt_daemon_log_as (const char *name, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  cbt_vlog (CBT_LOG_INFO, name, fmt, ap);
  va_end (ap);
}

void
cbt_daemon_log (const struct cbt_daemon *daemon, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  cbt_vlog (CBT_LOG_INFO, daemon->config.name, fmt, ap);
  va_end (ap);
}

void
cbt_daemon_log_at (const struct cbt_daemon *daemon, enum cbt_log_level level,
                   const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  cbt_vlog (level, daemon->config.name, fmt, ap);
  va_end (ap);
}

char *
cbt_daemon_credential (const char *name)
{
  const char *dir = getenv ("CREDENTIALS_DIRECTORY");
  size_t len;
  char *path;

  if (dir == NULL || dir[0] == '\0')
    return NULL;
  len = strlen (dir) + 1 + strlen (name) + 1;
  path = malloc (len);
  if (path == NULL)
    return NULL;
  snprintf (path, len, "%s/%s", dir, name);
  if (access (path, F_OK) == -1) {
    free (path);
    return NULL;
  }
  return path;
}

/* Wipes and frees the TLS key and certificate D holds. */
static void
daemon_free_tls (struct cbt_daemon *d)
{
  if (d->tls_key != NULL)
    memset (d->tls_key, 0, strlen (d->tls_key));
  free (d->tls_key);
  free (d->tls_cert);
  d->tls_key = d->tls_cert = NULL;
}

struct cbt_daemon *
cbt_daemon_create (const struct cbt_daemon_config *config)
{
  struct cbt_daemon *d;
  int err;

  d = calloc (1, sizeof *d);
  if (d == NULL) {
    cbt_set_error_errno (errno, "calloc");
    return NULL;
  }
  d->config = *config;
  cbt_log_set_level (config->log_level ? config->log_level : CBT_LOG_INFO);
  if (cbt_log_open (config->log_file) == -1) {
    free (d);
    return NULL;
  }
  if ((config->tls_cert == NULL) != (config->tls_key == NULL)) {
    cbt_set_error ("--tls-cert and --tls-key go together");
    goto err;
  }
  if (config->tls_cert != NULL) {
    size_t len;

    if (cbt_read_file (config->tls_cert, &d->tls_cert, &len) == -1 ||
        cbt_read_file (config->tls_key, &d->tls_key, &len) == -1)
      goto err;
  }
  if (d->config.token_file == NULL) {
    d->credential_token = cbt_daemon_credential ("token");
    d->config.token_file = d->credential_token;
  }
  if (d->config.token_file != NULL) {
    d->token = cbt_read_token (d->config.token_file);
    if (d->token == NULL)
      goto err;
  }

  if (signal (SIGPIPE, SIG_IGN) == SIG_ERR) {
    cbt_set_error_errno (errno, "signal (SIGPIPE)");
    goto err;
  }
  if (sigemptyset (&d->signals) == -1 || sigaddset (&d->signals, SIGTERM) ||
      sigaddset (&d->signals, SIGINT) || sigaddset (&d->signals, SIGHUP)) {
    cbt_set_error_errno (errno, "sigaddset");
    goto err;
  }
  err = pthread_sigmask (SIG_BLOCK, &d->signals, &d->old_mask);
  if (err != 0) {
    cbt_set_error_errno (err, "pthread_sigmask");
    goto err;
  }
  return d;

err:
  free (d->token);
  free (d->credential_token);
  daemon_free_tls (d);
  free (d);
  cbt_log_close ();
  return NULL;
}

int
cbt_daemon_serve (struct cbt_daemon *daemon, const struct cbt_route *routes,
                  void *app)
{
  struct cbt_httpd_config config = {
    .listen = daemon->config.listen,
    .routes = routes,
    .app = app,
    .token = daemon->token,
    .threads = daemon->config.threads,
    .thread_per_connection = daemon->config.thread_per_connection,
    .tls_cert = daemon->tls_cert,
    .tls_key = daemon->tls_key,
    .authorize = daemon->config.authorize,
  };

  daemon->httpd = cbt_httpd_start (&config);
  return daemon->httpd != NULL ? 0 : -1;
}

uint16_t
cbt_daemon_port (const struct cbt_daemon *daemon)
{
  return daemon->httpd != NULL ? cbt_httpd_port (daemon->httpd) : 0;
}

bool
cbt_daemon_is_tls (const struct cbt_daemon *daemon)
{
  return daemon->tls_cert != NULL;
}

bool
cbt_daemon_has_token (const struct cbt_daemon *daemon)
{
  return daemon->config.token_file != NULL;
}

/* SIGHUP: re-reads the token file and puts the new token in force.  On
 * any failure the old token stays, and the log says why.
 */
static void
daemon_reload_token (struct cbt_daemon *d)
{
  const char *file = d->config.token_file;
  char *token;

  if (file == NULL) {
    cbt_daemon_log (d, "SIGHUP: no --token-file, nothing to reload");
    return;
  }
  token = cbt_read_token (file);
  if (token == NULL) {
    cbt_daemon_log_at (d, CBT_LOG_WARNING,
                       "SIGHUP: cannot reload the token (%s); the previous "
                       "token stays in force",
                       cbt_get_error ());
    return;
  }
  if (d->httpd != NULL && cbt_httpd_set_token (d->httpd, token) == -1) {
    cbt_daemon_log_at (d, CBT_LOG_WARNING,
                       "SIGHUP: cannot reload the token (%s); the previous "
                       "token stays in force",
                       cbt_get_error ());
    free (token);
    return;
  }
  free (d->token);
  d->token = token;
  cbt_daemon_log (d, "SIGHUP: reloaded the token from %s", file);
}

/* Adds SECONDS (>= 0) to *TS. */
static void
daemon_timespec_add (struct timespec *ts, double seconds)
{
  time_t whole = (time_t)seconds;

  ts->tv_sec += whole;
  ts->tv_nsec += (long)((seconds - (double)whole) * 1e9);
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

/* True when A is earlier than B. */
static bool
daemon_before (const struct timespec *a, const struct timespec *b)
{
  return a->tv_sec < b->tv_sec ||
         (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* The time from NOW until DEADLINE, as a relative timeout (0 if past). */
static struct timespec
daemon_until (const struct timespec *deadline, const struct timespec *now)
{
  struct timespec left = { 0, 0 };

  if (!daemon_before (now, deadline))
    return left;
  left.tv_sec = deadline->tv_sec - now->tv_sec;
  left.tv_nsec = deadline->tv_nsec - now->tv_nsec;
  if (left.tv_nsec < 0) {
    left.tv_sec--;
    left.tv_nsec += 1000000000L;
  }
  return left;
}

/* Tells systemd STATE, logging (at debug) when it could not be told. */
static void
daemon_notify (const struct cbt_daemon *d, const char *state)
{
  if (cbt_sd_notify (state) == -1)
    cbt_daemon_log_at (d, CBT_LOG_DEBUG, "sd_notify %s: %s", state,
                       cbt_get_error ());
}

/* The earlier of A and B. */
static const struct timespec *
daemon_earlier (const struct timespec *a, const struct timespec *b)
{
  return daemon_before (a, b) ? a : b;
}

void
cbt_daemon_wait (struct cbt_daemon *daemon, double interval,
                 void (*tick) (void *arg), void *arg)
{
  struct timespec next, next_watchdog, now, left;
  const struct timespec *deadline;
  uint64_t watchdog_usec = cbt_sd_watchdog_usec ();
  /* WATCHDOG=1 at half the interval systemd asks for, as it advises. */
  double watchdog = (double)watchdog_usec / 2e6;
  int sig;

  /* The caller serves already: tell systemd (Type=notify). */
  daemon_notify (daemon, "READY=1");
  if (clock_gettime (CLOCK_MONOTONIC, &next) == -1) {
    /* Cannot happen with CLOCK_MONOTONIC; wait untimed. */
    tick = NULL;
    watchdog = 0;
  }
  next_watchdog = next;
  if (tick != NULL)
    daemon_timespec_add (&next, interval);
  if (watchdog > 0)
    daemon_timespec_add (&next_watchdog, watchdog);
  for (;;) {
    deadline = NULL;
    if (tick != NULL)
      deadline = &next;
    if (watchdog > 0)
      deadline = deadline ? daemon_earlier (deadline, &next_watchdog)
                          : &next_watchdog;
    if (deadline == NULL)
      sig = sigwaitinfo (&daemon->signals, NULL);
    else {
      if (clock_gettime (CLOCK_MONOTONIC, &now) == -1)
        now = *deadline;
      left = daemon_until (deadline, &now);
      sig = sigtimedwait (&daemon->signals, NULL, &left);
    }
    if (sig == SIGTERM || sig == SIGINT) {
      daemon_notify (daemon, "STOPPING=1");
      return;
    }
    if (sig == SIGHUP) {
      if (cbt_log_reopen () == -1)
        cbt_daemon_log_at (daemon, CBT_LOG_ERROR,
                           "SIGHUP: cannot reopen the log (%s); still "
                           "writing to the old file",
                           cbt_get_error ());
      else if (cbt_log_to_file ())
        cbt_daemon_log (daemon, "SIGHUP: reopened the log file");
      daemon_reload_token (daemon);
      if (daemon->config.reload != NULL)
        daemon->config.reload (daemon->config.reload_arg);
    } else if (sig == -1 && errno != EAGAIN && errno != EINTR) {
      cbt_daemon_log_at (daemon, CBT_LOG_ERROR, "waiting for signals: %s",
                         strerror (errno));
      daemon_notify (daemon, "STOPPING=1");
      return;
    }
    if (clock_gettime (CLOCK_MONOTONIC, &now) == -1)
      continue;
    if (watchdog > 0 && !daemon_before (&now, &next_watchdog)) {
      daemon_notify (daemon, "WATCHDOG=1");
      next_watchdog = now;
      daemon_timespec_add (&next_watchdog, watchdog);
    }
    if (tick != NULL && !daemon_before (&now, &next)) {
      tick (arg);
      next = now;
      daemon_timespec_add (&next, interval);
    }
  }
}

void
cbt_daemon_stop_serving (struct cbt_daemon *daemon)
{
  if (daemon == NULL)
    return;
  cbt_httpd_stop (daemon->httpd);
  daemon->httpd = NULL;
}

void
cbt_daemon_free (struct cbt_daemon *daemon)
{
  struct timespec zero = { 0, 0 };

  if (daemon == NULL)
    return;
  cbt_daemon_stop_serving (daemon);
  /* A signal that arrived while stopping must not act once unblocked
   * (a late SIGHUP would otherwise kill the process): take it now.
   */
  while (sigtimedwait (&daemon->signals, NULL, &zero) > 0)
    ;
  if (pthread_sigmask (SIG_SETMASK, &daemon->old_mask, NULL) != 0)
    cbt_daemon_log_at (daemon, CBT_LOG_ERROR,
                       "cannot restore the signal mask");
  free (daemon->token);
  free (daemon->credential_token);
  daemon_free_tls (daemon);
  free (daemon);
  cbt_log_close ();
}
