/* cbtrack copy - fault policy, errno classes, backoff, the stop request. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "copy/faults.h"

static struct faults_policy faults_current = {
  .connect_timeout = FAULTS_DEFAULT_CONNECT_TIMEOUT,
  .io_timeout = FAULTS_DEFAULT_IO_TIMEOUT,
  .reconnect_timeout = FAULTS_DEFAULT_RECONNECT_TIMEOUT,
  .retries = FAULTS_DEFAULT_RETRIES,
};

static atomic_int faults_stop = 0;

void
faults_set_policy (const struct faults_policy *policy)
{
  faults_current = *policy;
}

const struct faults_policy *
faults_policy (void)
{
  return &faults_current;
}

enum faults_kind
faults_classify (int err)
{
  switch (err) {
  case ENOSPC:
  case EDQUOT:
  case EFBIG:
  case EROFS:
  case EPERM:
  case EACCES:
  case EINVAL:
  case EBADF:
  case ENOMEM:
  case EOVERFLOW:
  case ENOTSUP: return FAULTS_FINAL;
  case ENOTCONN:
  case ESHUTDOWN:
  case ECONNRESET:
  case ECONNABORTED:
  case ECONNREFUSED:
  case EPIPE:
  case ETIMEDOUT:
  case EHOSTUNREACH:
  case ENETUNREACH:
  case ENETDOWN: return FAULTS_LOST;
  default: return FAULTS_TRANSIENT;
  }
}

double
faults_backoff (unsigned attempt, double base, double cap)
{
  double wait = base > 0 ? base : 0;
  unsigned i;

  for (i = 1; i < attempt && wait < cap; i++)
    wait *= 2;
  return wait < cap ? wait : (cap > 0 ? cap : 0);
}

void
faults_request_stop (int signo)
{
  int none = 0;

  atomic_compare_exchange_strong (&faults_stop, &none, signo);
}

int
faults_stop_signal (void)
{
  return atomic_load (&faults_stop);
}

const char *
faults_stop_message (int signo, char *buf, size_t len)
{
  const char *name = signo == SIGINT    ? "SIGINT"
                     : signo == SIGTERM ? "SIGTERM"
                     : signo == SIGHUP  ? "SIGHUP"
                                        : "a signal";

  if (signo == FAULTS_STOP_CANCEL)
    snprintf (buf, len,
              "cancelled through the VMA; run the same command to resume");
  else
    snprintf (buf, len, "interrupted by %s; run the same command to resume",
              name);
  return buf;
}
