/* cbtrack vma - the source-side progress service (DESIGN §3).
 *
 * Options and wiring only: the store decides, the resources answer, the
 * daemon layer (common/daemon.h) serves and handles signals.  The main
 * thread waits for SIGTERM/SIGINT (SIGHUP reloads the token file) and,
 * once a second, lets finished jobs expire.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "common/daemon.h"
#include "common/error.h"
#include "common/human.h"
#include "common/timeutil.h"
#include "vma/vma.h"

#define VMA_DEFAULT_LISTEN "127.0.0.1:8081"

static const struct cbt_route vma_routes[] = {
  { "POST", "/api/v1/progress/{id}/update", vma_progress_update, 0 },
  { "POST", "/api/v1/progress/{id}/cancel", vma_progress_cancel, 0 },
  { "GET", "/api/v1/progress/{id}", vma_progress_get, 0 },
  { "DELETE", "/api/v1/progress/{id}", vma_progress_delete, 0 },
  /* The list is the one expensive read: behind the token, when set. */
  { "GET", "/api/v1/progress", vma_progress_list, CBT_ROUTE_PRIVATE },
  { "GET", "/healthz", vma_health_get, 0 },
  { "GET", "/metrics", vma_metrics_get, 0 },
  { NULL },
};

static void
vma_usage (FILE *fp)
{
  /* clang-format off */
  fprintf (fp,
"Usage: cbtrack vma [--listen ADDR:PORT] [--token-file FILE]\n"
"                   [--job-ttl DURATION] [--max-jobs N] [--threads N]\n"
"                   [--sender-lease DURATION] [--max-memory SIZE]\n"
"                   [--tls-cert FILE --tls-key FILE]\n"
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
"  --max-memory SIZE    the jobs may take this much memory (default 1G; 512M,\n"
"                       4G...); beyond, updates that need more get 503\n"
"  --sender-lease DURATION\n"
"                       a disk belongs to the sender (sender_id) of its last\n"
"                       update this long; another sender gets 409 meanwhile\n"
"                       (default 10s)\n"
"  --tls-cert FILE      serve HTTPS only, with the certificate (chain) in\n"
"                       FILE (PEM); needs --tls-key\n"
"  --tls-key FILE       the certificate's private key (PEM)\n"
"  --threads N          HTTP worker threads (default: one per CPU)\n"
"  --log-level LEVEL    error, warning, info (default) or debug\n"
"  --log-file FILE      log there instead of stderr; SIGHUP reopens it\n""  -h, --help           show this help\n"
"  -V, --version        show the version\n"
"\n"
"Endpoints:\n"
"  POST   /api/v1/progress/JOB/update   one update (JSON body)\n"
"  GET    /api/v1/progress/JOB          the job with its disks\n"
"  DELETE /api/v1/progress/JOB          forget the job\n"
"  POST   /api/v1/progress/JOB/cancel   ask the job's copier to stop: the\n"
"                                       answer to its next update says\n"
"                                       \"cancel\": true\n"
"  GET    /api/v1/progress              every job, newest first\n"
"  GET    /healthz, /metrics            liveness; Prometheus metrics\n"
"\n"
"SIGTERM or SIGINT stops the service cleanly; SIGHUP re-reads the token\n"
"file and reopens the --log-file.  See cbtrack-vma(8).\n");
  /* clang-format on */
}

/* The daemon's tick: finished jobs expire. */
static void
vma_tick (void *arg)
{
  struct vma_server *server = arg;

  vma_store_expire (server->store, cbt_now_mono ());
}

int
vma_main (int argc, char **argv)
{
  enum { OPT_JOB_TTL = 256, OPT_MAX_JOBS, OPT_SENDER_LEASE, OPT_MAX_MEMORY };
  static const struct option long_options[] = {
    CBT_DAEMON_LONG_OPTIONS,
    { "job-ttl", required_argument, NULL, OPT_JOB_TTL },
    { "max-jobs", required_argument, NULL, OPT_MAX_JOBS },
    { "sender-lease", required_argument, NULL, OPT_SENDER_LEASE },
    { "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL },
  };
  struct cbt_daemon_config dconfig = { .name = "vma",
                                       .listen = VMA_DEFAULT_LISTEN };
  struct vma_store_limits limits = { 0 };
  struct vma_server server = { 0 };
  struct cbt_daemon *daemon = NULL;
  long long n;
  int c, r, ret = 1;

  optind = 1;
  while ((c = getopt_long (argc, argv, "hV", long_options, NULL)) != -1) {
    r = cbt_daemon_option (&dconfig, c, optarg);
    if (r == -1)
      goto usage_error;
    if (r == 1)
      continue;
    switch (c) {
    case OPT_JOB_TTL:
      if (cbt_parse_duration (optarg, &limits.job_ttl) == -1)
        goto usage_error;
      break;
    case OPT_MAX_MEMORY: {
      uint64_t bytes;

      if (cbt_parse_size (optarg, &bytes) == -1)
        goto usage_error;
      if (bytes < 1024 * 1024 || bytes > SIZE_MAX) {
        cbt_set_error ("--max-memory must be at least 1M");
        goto usage_error;
      }
      limits.max_memory = (size_t)bytes;
      break;
    }
    case OPT_SENDER_LEASE:
      if (cbt_parse_duration (optarg, &limits.sender_lease) == -1)
        goto usage_error;
      break;
    case OPT_MAX_JOBS:
      if (cbt_parse_int ("--max-jobs", optarg, 1, 100000000, &n) == -1)
        goto usage_error;
      limits.max_jobs = (size_t)n;
      break;
    case 'h': vma_usage (stdout); return 0;
    case 'V': printf ("cbtrack %s\n", CBTRACK_VERSION); return 0;
    default: vma_usage (stderr); return 2;
    }
  }
  if (optind != argc) {
    fprintf (stderr, "cbtrack vma: unexpected argument '%s'\n", argv[optind]);
    vma_usage (stderr);
    return 2;
  }

  daemon = cbt_daemon_create (&dconfig);
  if (daemon == NULL) {
    fprintf (stderr, "cbtrack vma: %s\n", cbt_get_error ());
    return 1;
  }
  server.store = vma_store_create (&limits);
  if (server.store == NULL) {
    fprintf (stderr, "cbtrack vma: %s\n", cbt_get_error ());
    goto out;
  }
  if (cbt_daemon_serve (daemon, vma_routes, &server) == -1) {
    fprintf (stderr, "cbtrack vma: %s\n", cbt_get_error ());
    goto out;
  }
  cbt_daemon_log (daemon, "listening on %s (port %u)%s%s", dconfig.listen,
                  (unsigned)cbt_daemon_port (daemon),
                  cbt_daemon_is_tls (daemon) ? ", HTTPS" : "",
                  cbt_daemon_has_token (daemon)
                      ? ", token required for POST and DELETE"
                      : "");

  cbt_daemon_wait (daemon, 1.0, vma_tick, &server);
  cbt_daemon_log (daemon, "stopping");
  ret = 0;

out:
  /* The server stops before the store it serves goes away. */
  cbt_daemon_stop_serving (daemon);
  vma_store_free (server.store);
  cbt_daemon_free (daemon);
  return ret;

usage_error:
  fprintf (stderr, "cbtrack vma: %s\n", cbt_get_error ());
  return 2;
}
