/* cbtrack vma - the source-side progress service (DESIGN §3).
 *
 * Options and wiring only: the store decides, the resources answer, the
 * httpd layer serves.  The main thread waits for SIGTERM/SIGINT and, once
 * a second, lets finished jobs expire.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/httpd.h"
#include "common/human.h"
#include "common/timeutil.h"
#include "common/token.h"
#include "vma/vma.h"

#define VMA_DEFAULT_LISTEN "127.0.0.1:8081"

static const struct cbt_route vma_routes[] = {
  { "POST", "/api/v1/progress/{id}/update", vma_progress_update },
  { "GET", "/api/v1/progress/{id}", vma_progress_get },
  { "DELETE", "/api/v1/progress/{id}", vma_progress_delete },
  { "GET", "/api/v1/progress", vma_progress_list },
  { "GET", "/healthz", vma_health_get },
  { "GET", "/metrics", vma_metrics_get },
  { NULL },
};

static void
vma_usage (FILE *fp)
{
  /* clang-format off */
  fprintf (fp,
"Usage: cbtrack vma [--listen ADDR:PORT] [--token-file FILE]\n"
"                   [--job-ttl DURATION] [--max-jobs N] [--threads N]\n"
"\n"
"Run the progress service: copiers POST their progress to it, pollers\n"
"and `cbtrack status` read it.  It keeps jobs in memory only.\n"
"\n"
"Options:\n"
"  --listen ADDR:PORT   where to listen (default " VMA_DEFAULT_LISTEN ");\n"
"                       use 0.0.0.0:PORT or [::]:PORT to serve the network\n"
"  --token-file FILE    POST and DELETE then need the header\n"
"                       \"Authorization: Bearer TOKEN\", TOKEN being the\n"
"                       file's first line; GET stays open\n"
"  --job-ttl DURATION   forget completed and failed jobs this long after\n"
"                       their last update (default 24h; e.g. 90s, 10m, 2d)\n"
"  --max-jobs N         hold at most N jobs; beyond, new jobs get 503\n"
"                       (default 100000)\n"
"  --threads N          HTTP worker threads (default: one per CPU)\n"
"  -h, --help           show this help\n"
"\n"
"Endpoints:\n"
"  POST   /api/v1/progress/JOB/update   one update (JSON body)\n"
"  GET    /api/v1/progress/JOB          the job with its disks\n"
"  DELETE /api/v1/progress/JOB          forget the job\n"
"  GET    /api/v1/progress              every job, newest first\n"
"  GET    /healthz, /metrics            liveness; Prometheus metrics\n"
"\n"
"SIGTERM or SIGINT stops the service cleanly.  See docs/vma.md.\n");
  /* clang-format on */
}

int
vma_main (int argc, char **argv)
{
  enum {
    OPT_LISTEN = 256,
    OPT_TOKEN_FILE,
    OPT_JOB_TTL,
    OPT_MAX_JOBS,
    OPT_THREADS
  };
  static const struct option long_options[] = {
    { "listen", required_argument, NULL, OPT_LISTEN },
    { "token-file", required_argument, NULL, OPT_TOKEN_FILE },
    { "job-ttl", required_argument, NULL, OPT_JOB_TTL },
    { "max-jobs", required_argument, NULL, OPT_MAX_JOBS },
    { "threads", required_argument, NULL, OPT_THREADS },
    { "help", no_argument, NULL, 'h' },
    { NULL },
  };
  struct vma_store_limits limits = { 0 };
  struct cbt_httpd_config config = { .listen = VMA_DEFAULT_LISTEN,
                                     .routes = vma_routes };
  struct vma_server server = { 0 };
  struct cbt_httpd *httpd = NULL;
  CLEANUP_FREE char *token = NULL;
  const char *token_file = NULL;
  struct timespec tick = { .tv_sec = 1 };
  sigset_t sigs, old_sigs;
  long long n;
  int c, sig, ret = 1;

  optind = 1;
  while ((c = getopt_long (argc, argv, "h", long_options, NULL)) != -1) {
    switch (c) {
    case OPT_LISTEN: config.listen = optarg; break;
    case OPT_TOKEN_FILE: token_file = optarg; break;
    case OPT_JOB_TTL:
      if (cbt_parse_duration (optarg, &limits.job_ttl) == -1)
        goto usage_error;
      break;
    case OPT_MAX_JOBS:
      if (cbt_parse_int ("--max-jobs", optarg, 1, 100000000, &n) == -1)
        goto usage_error;
      limits.max_jobs = (size_t)n;
      break;
    case OPT_THREADS:
      if (cbt_parse_int ("--threads", optarg, 1, 256, &n) == -1)
        goto usage_error;
      config.threads = (unsigned)n;
      break;
    case 'h': vma_usage (stdout); return 0;
    default: vma_usage (stderr); return 2;
    }
  }
  if (optind != argc) {
    fprintf (stderr, "cbtrack vma: unexpected argument '%s'\n", argv[optind]);
    vma_usage (stderr);
    return 2;
  }
  if (token_file != NULL) {
    token = cbt_read_token (token_file);
    if (token == NULL) {
      fprintf (stderr, "cbtrack vma: %s\n", cbt_get_error ());
      return 1;
    }
    config.token = token;
  }

  server.store = vma_store_create (&limits);
  if (server.store == NULL) {
    fprintf (stderr, "cbtrack vma: %s\n", cbt_get_error ());
    return 1;
  }
  config.app = &server;

  /* Block the stop signals before the server's threads exist, so that
   * they inherit the mask and only this thread receives them.
   */
  signal (SIGPIPE, SIG_IGN);
  sigemptyset (&sigs);
  sigaddset (&sigs, SIGTERM);
  sigaddset (&sigs, SIGINT);
  pthread_sigmask (SIG_BLOCK, &sigs, &old_sigs);

  httpd = cbt_httpd_start (&config);
  if (httpd == NULL) {
    fprintf (stderr, "cbtrack vma: %s\n", cbt_get_error ());
    goto out;
  }
  fprintf (stderr, "cbtrack vma: listening on %s (port %u)%s\n", config.listen,
           (unsigned)cbt_httpd_port (httpd),
           token ? ", token required for POST and DELETE" : "");

  for (;;) {
    sig = sigtimedwait (&sigs, NULL, &tick);
    if (sig == SIGTERM || sig == SIGINT)
      break;
    vma_store_expire (server.store, cbt_now_mono ());
  }
  fprintf (stderr, "cbtrack vma: stopping\n");
  ret = 0;

out:
  cbt_httpd_stop (httpd);
  vma_store_free (server.store);
  pthread_sigmask (SIG_SETMASK, &old_sigs, NULL);
  return ret;

usage_error:
  fprintf (stderr, "cbtrack vma: %s\n", cbt_get_error ());
  return 2;
}
