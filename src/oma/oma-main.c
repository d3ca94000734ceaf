/* cbtrack oma - the destination side: poller, database, web UI (DESIGN §4).
 *
 * Options and wiring only: the store keeps rows, the poller fills them
 * from the VMAs, the resources answer HTTP, the daemon layer
 * (common/daemon.h) serves and handles signals.  The main thread waits for
 * SIGTERM/SIGINT (SIGHUP reloads the token file) and then stops everything
 * in order.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "common/daemon.h"
#include "common/error.h"
#include "common/human.h"
#include "common/progress-model.h"
#include "common/ids.h"
#include "common/timeutil.h"
#include "common/token.h"
#include "oma/api-logic.h"
#include "oma/metrics.h"
#include "oma/oma.h"
#include "oma/poller.h"
#include "oma/store.h"

#define OMA_DEFAULT_LISTEN "127.0.0.1:8080"
#define OMA_DEFAULT_DB "sqlite:cbtrack.db"
#define OMA_DEFAULT_POLL_INTERVAL 30.0
#define OMA_DEFAULT_DEAD_TIMEOUT 300.0
#define OMA_MAX_VMAS 64
#define OMA_DEFAULT_LEASE 30.0

/* With authentication (oma/auth-logic.h) every route needs it but the
 * CBT_ROUTE_PUBLIC ones: the login page and the static files (no data),
 * the login and session calls, and /healthz.
 */
#define PUBLIC CBT_ROUTE_PUBLIC
static const struct cbt_route oma_routes[] = {
  { "GET", "/api/v1/replications", oma_replications_list, 0 },
  { "POST", "/api/v1/replications", oma_replications_create, 0 },
  { "GET", "/api/v1/replications/{id}", oma_replications_get, 0 },
  { "PATCH", "/api/v1/replications/{id}", oma_replications_patch, 0 },
  { "POST", "/api/v1/replications/{id}/cancel", oma_replications_cancel, 0 },
  { "GET", "/api/v1/vms/{id}/disks", oma_vms_disks_get, 0 },
  { "POST", "/api/v1/login", oma_auth_login, PUBLIC },
  { "POST", "/api/v1/logout", oma_auth_logout, 0 },
  { "GET", "/api/v1/session", oma_auth_session, PUBLIC },
  { "GET", "/api/v1/nodes", oma_nodes_list, 0 },
  { "GET", "/", oma_ui_file, 0 },
  { "GET", "/login", oma_ui_file, PUBLIC },
  { "GET", "/ui/app.js", oma_ui_file, PUBLIC },
  { "GET", "/ui/style.css", oma_ui_file, PUBLIC },
  { "GET", "/ui/login.js", oma_ui_file, PUBLIC },
  { "GET", "/ui/actions.js", oma_ui_file, PUBLIC },
  { "GET", "/ui/actions.css", oma_ui_file, PUBLIC },
  { "GET", "/healthz", oma_health_get, PUBLIC },
  { "GET", "/metrics", oma_metrics_get, 0 },
  { NULL },
};
#undef PUBLIC

static void
oma_usage (FILE *fp)
{
  /* clang-format off */
  fprintf (fp,
"Usage: cbtrack oma [--listen ADDR:PORT] [--db URL] [--vma URL]...\n"
"                   [--poll-interval S] [--dead-timeout S]\n"
"                   [--allow-vma PATTERN]... [--vma-token-file FILE]\n"
"                   [--node-id ID] [--lease S]\n"
"                   [--token-file FILE] [--auth-token-file FILE]\n"
"                   [--users-file FILE] [--tls-cert FILE --tls-key FILE]\n"
"                   [--cacert FILE] [--verbose]\n"
"\n"
"Run the destination side: poll the VMAs' progress services, keep every\n"
"job in a database (replication_jobs, vm_disks) and serve a live web UI\n"
"and a JSON API.\n"
"\n"
"Options:\n"
"  --listen ADDR:PORT   where to serve the UI and API (default\n"
"                       " OMA_DEFAULT_LISTEN "); 0.0.0.0:PORT serves the network\n"
"  --db URL             sqlite:PATH (default " OMA_DEFAULT_DB "), or\n"
"                       mysql://USER[:PASS]@HOST[:PORT]/DB or\n"
"                       mysql://USER@localhost/DB?socket=PATH (MariaDB or\n"
"                       MySQL; the database is created if missing).  A\n"
"                       password in the URL shows in ps: prefer\n"
"  --db-password-file FILE  the MariaDB password: FILE's first line, read\n"
"                       at every connection (also $CBTRACK_DB_PASSWORD, or\n"
"                       the systemd credential db-password)\n"
"  --vma URL            a VMA progress service (e.g. http://vma:8081) whose\n"
"                       jobs are discovered; repeatable.  The first is also\n"
"                       the default vma_url of registered jobs, and jobs\n"
"                       may name it (or a URL below it) as their vma_url\n"
"  --allow-vma PATTERN  registered jobs may also name a VMA matching\n"
"                       PATTERN: a URL prefix (http://10.0.3.7:8081) or a\n"
"                       host:port glob (10.0.3.*:8081); repeatable.  Other\n"
"                       vma_url values get 403\n"
"  --vma-token-file FILE\n"
"                       send \"Authorization: Bearer TOKEN\" (TOKEN: the\n"
"                       file's first line) to the VMAs (needed for their\n"
"                       job list when they have a --token-file)\n"
"  --poll-interval S    seconds between polls (default 30; 0.5, 10s, 1m...)\n"
"  --dead-timeout S     a job with no progress for this long becomes\n"
"                       failed (default 300; 5m...)\n"
"  --node-id ID         this OMA's name among the OMAs sharing the\n"
"                       database (default HOSTNAME:PID; 1-128 of\n"
"                       A-Z a-z 0-9 . _ : -)\n"
"  --lease S            each OMA renews its lease every third of S and\n"
"                       polls only the jobs it claimed; the jobs of an\n"
"                       OMA silent for S are taken over by the others\n"
"                       (default 30; several OMAs need a MariaDB --db)\n"
"  --token-file FILE    POST and PATCH then need the header\n"
"                       \"Authorization: Bearer TOKEN\", TOKEN being the\n"
"                       file's first line; GET stays open (without\n"
"                       authentication)\n"
"  --auth-token-file FILE\n"
"                       authentication: every call but /healthz and the\n"
"                       login page needs \"Authorization: Bearer TOKEN\"\n"
"                       (TOKEN: the file's first line; the --token-file\n"
"                       token works too) or a session cookie from\n"
"                       POST /api/v1/login; the browser gets a login form\n"
"  --users-file FILE    authentication by users: lines NAME:HASH, HASH a\n"
"                       crypt(3) hash (mkpasswd -m yescrypt, openssl\n"
"                       passwd -6); log in with name and password.  Without\n"
"                       either file the OMA serves loopback addresses only\n"
"  --tls-cert FILE      serve HTTPS only, with the certificate (chain) in\n"
"                       FILE (PEM); needs --tls-key.  Cookies are Secure\n"
"  --tls-key FILE       the certificate's private key (PEM)\n"
"  --cacert FILE        check https:// VMAs against the CA certificates in\n"
"                       FILE (PEM) instead of the system's\n"
"  --threads N          accepted and ignored: the OMA serves each\n"
"                       connection in a thread of its own\n"
"  --log-level LEVEL    error, warning, info (default) or debug\n"
"  --log-file FILE      log there instead of stderr; SIGHUP reopens it\n""  -v, --verbose        log every poll cycle (counts and duration)\n"
"  -h, --help           show this help\n"
"  -V, --version        show the version\n"
"\n"
"Endpoints:\n"
"  GET   /                              the web UI\n"
"  GET   /api/v1/replications           every job with its disks\n"
"  POST  /api/v1/replications           register a job (JSON body)\n"
"  GET   /api/v1/replications/JOB       one job, disks and history\n"
"  PATCH /api/v1/replications/JOB       setup_progress_percent,\n"
"                                       current_operation\n"
"  POST  /api/v1/replications/JOB/cancel  stop the job's copy through\n"
"                                       its VMA; it resumes when run again\n"
"  POST  /api/v1/login, /api/v1/logout  a browser session (JSON)\n"
"  GET   /api/v1/session                the session's user and CSRF token\n"
"  GET   /login                         the login page\n"
"  GET   /api/v1/nodes                  the OMAs sharing the database\n"
"  GET   /healthz                       liveness\n"
"  GET   /metrics                       Prometheus metrics\n"
"\n"
"SIGTERM or SIGINT stops the OMA cleanly; SIGHUP re-reads the token file,\n"
"the authentication files and the password file and reopens the\n"
"--log-file.  See cbtrack-oma(8).\n");
  /* clang-format on */
}

/* Writes the default node id, HOSTNAME:PID (characters an id may not
 * hold become '-'), into BUF of SIZE bytes.
 */
static void
oma_default_node_id (char *buf, size_t size)
{
  char host[64] = "oma";
  size_t i;

  if (gethostname (host, sizeof host) == -1 || host[0] == '\0')
    snprintf (host, sizeof host, "oma");
  host[sizeof host - 1] = '\0';
  for (i = 0; host[i]; i++)
    if (!strchr ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 "0123456789._-",
                 host[i]))
      host[i] = '-';
  snprintf (buf, size, "%s:%ld", host, (long)getpid ());
}

/* The daemon's log (the poller's too): one line on stderr per message. */
static void oma_log (const char *fmt, ...)
    __attribute__ ((format (printf, 1, 2)));

static void
oma_log (const char *fmt, ...)
{
  char msg[2048];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  cbt_daemon_log_as ("oma", "%s", msg);
}

/* What SIGHUP re-reads besides the token. */
struct oma_reload {
  const char *password_file; /* NULL: the password is not in a file */
  struct oma_auth *auth;     /* the authentication files */
};

/* SIGHUP: checks that the password file can still be read.  The store
 * reads it at each connection, so a rotated password is used from the
 * next one; this says now whether that will work.
 */
static void
oma_reload (void *arg)
{
  const struct oma_reload *reload = arg;
  char password[256];

  oma_auth_reload (reload->auth);
  if (reload->password_file == NULL)
    return;
  if (oma_db_password_read (reload->password_file, password,
                            sizeof password) == -1) {
    cbt_log (CBT_LOG_WARNING, "oma",
             "SIGHUP: cannot re-read the database password (%s); the "
             "current connection stays, new ones will fail until it is "
             "readable",
             cbt_get_error ());
    return;
  }
  memset (password, 0, sizeof password);
  oma_log ("SIGHUP: re-read the database password from %s; it is used "
           "from the next connection",
           reload->password_file);
}

int
oma_main (int argc, char **argv)
{
  enum {
    OPT_DB = 256,
    OPT_VMA,
    OPT_POLL_INTERVAL,
    OPT_DEAD_TIMEOUT,
    OPT_DB_PASSWORD_FILE,
    OPT_ALLOW_VMA,
    OPT_VMA_TOKEN_FILE,
    OPT_AUTH_TOKEN_FILE,
    OPT_USERS_FILE,
    OPT_CACERT,
    OPT_NODE_ID,
    OPT_LEASE,
  };
  static const struct option long_options[] = {
    CBT_DAEMON_LONG_OPTIONS,
    { "db", required_argument, NULL, OPT_DB },
    { "db-password-file", required_argument, NULL, OPT_DB_PASSWORD_FILE },
    { "vma", required_argument, NULL, OPT_VMA },
    { "poll-interval", required_argument, NULL, OPT_POLL_INTERVAL },
    { "dead-timeout", required_argument, NULL, OPT_DEAD_TIMEOUT },
    { "allow-vma", required_argument, NULL, OPT_ALLOW_VMA },
    { "vma-token-file", required_argument, NULL, OPT_VMA_TOKEN_FILE },
    { "auth-token-file", required_argument, NULL, OPT_AUTH_TOKEN_FILE },
    { "users-file", required_argument, NULL, OPT_USERS_FILE },
    { "cacert", required_argument, NULL, OPT_CACERT },
    { "node-id", required_argument, NULL, OPT_NODE_ID },
    { "lease", required_argument, NULL, OPT_LEASE },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL },
  };
  /* A thread per connection: a request stuck in the database (a frozen
   * filesystem) then holds no other connection.
   */
  struct cbt_daemon_config dconfig = { .name = "oma",
                                       .listen = OMA_DEFAULT_LISTEN,
                                       .thread_per_connection = true };
  struct oma_poller_config pcfg = {
    .interval = OMA_DEFAULT_POLL_INTERVAL,
    .dead_timeout = OMA_DEFAULT_DEAD_TIMEOUT,
    .log = oma_log,
  };
  const char *vmas[OMA_MAX_VMAS];
  size_t n_vmas = 0;
  const char *allowed[OMA_MAX_VMAS];
  size_t n_allowed = 0;
  char *vma_token = NULL;
  const char *db_url = OMA_DEFAULT_DB;
  char *db_arg = NULL, *db_url_copy = NULL, *credential = NULL;
  const char *password_file = NULL, *password = NULL;
  size_t pw_offset = 0, pw_len;
  struct oma_server server = { 0 };
  struct oma_reload reload = { 0 };
  struct oma_auth_config acfg = { 0 };
  const char *ca_file = NULL;
  char *auth_token_credential = NULL, *users_credential = NULL;
  struct oma_poller *poller = NULL;
  struct cbt_daemon *daemon = NULL;
  char node_id[OMA_NODE_ID_MAX + 1] = "";
  double lease = OMA_DEFAULT_LEASE;
  int c, r, ret = 1, verbose = 0;

  optind = 1;
  while ((c = getopt_long (argc, argv, "hvV", long_options, NULL)) != -1) {
    r = cbt_daemon_option (&dconfig, c, optarg);
    if (r == -1)
      goto usage_error;
    if (r == 1)
      continue;
    switch (c) {
    case OPT_DB: db_url = db_arg = optarg; break;
    case OPT_DB_PASSWORD_FILE: password_file = optarg; break;
    case OPT_VMA:
      if (n_vmas == OMA_MAX_VMAS) {
        cbt_set_error ("at most %d --vma", OMA_MAX_VMAS);
        goto usage_error;
      }
      if (!oma_vma_url_is_valid (optarg)) {
        cbt_set_error ("--vma '%s': expected an http:// or https:// URL",
                       optarg);
        goto usage_error;
      }
      vmas[n_vmas++] = optarg;
      break;
    case OPT_ALLOW_VMA:
      if (n_allowed == OMA_MAX_VMAS) {
        cbt_set_error ("at most %d --allow-vma", OMA_MAX_VMAS);
        goto usage_error;
      }
      if (optarg[0] == '\0') {
        cbt_set_error ("--allow-vma: empty pattern");
        goto usage_error;
      }
      allowed[n_allowed++] = optarg;
      break;
    case OPT_VMA_TOKEN_FILE:
      free (vma_token);
      vma_token = cbt_read_token (optarg);
      if (vma_token == NULL)
        goto usage_error;
      break;
    case OPT_AUTH_TOKEN_FILE: acfg.token_file = optarg; break;
    case OPT_USERS_FILE: acfg.users_file = optarg; break;
    case OPT_CACERT: ca_file = optarg; break;
    case OPT_POLL_INTERVAL:
      if (cbt_parse_duration (optarg, &pcfg.interval) == -1)
        goto usage_error;
      break;
    case OPT_DEAD_TIMEOUT:
      if (cbt_parse_duration (optarg, &pcfg.dead_timeout) == -1)
        goto usage_error;
      break;
    case OPT_NODE_ID:
      if (!cbt_id_is_valid (optarg) || strlen (optarg) > OMA_NODE_ID_MAX) {
        cbt_set_error ("--node-id '%s': expected 1-%d characters of "
                       "A-Z a-z 0-9 . _ : -",
                       optarg, OMA_NODE_ID_MAX);
        goto usage_error;
      }
      snprintf (node_id, sizeof node_id, "%s", optarg);
      break;
    case OPT_LEASE:
      if (cbt_parse_duration (optarg, &lease) == -1)
        goto usage_error;
      if (lease < 1 || lease > 86400) {
        cbt_set_error ("--lease %s: expected 1 s to 1 day", optarg);
        goto usage_error;
      }
      break;
    case 'v': verbose = 1; break;
    case 'h': oma_usage (stdout); return 0;
    case 'V': printf ("cbtrack %s\n", CBTRACK_VERSION); return 0;
    default: oma_usage (stderr); return 2;
    }
  }
  if (optind != argc) {
    fprintf (stderr, "cbtrack oma: unexpected argument '%s'\n", argv[optind]);
    oma_usage (stderr);
    return 2;
  }
  {
    struct oma_db_url parsed;

    if (oma_db_url_parse (db_url, &parsed) == -1)
      goto usage_error;
    memset (parsed.password, 0, sizeof parsed.password);
  }
  /* Where the password comes from: --db-password-file, then
   * $CBTRACK_DB_PASSWORD, then the systemd credential, then the URL.
   */
  if (password_file == NULL)
    password = getenv ("CBTRACK_DB_PASSWORD");
  if (password_file == NULL && (password == NULL || password[0] == '\0')) {
    password = NULL;
    credential = cbt_daemon_credential ("db-password");
    password_file = credential;
  }
  if (password_file != NULL) {
    char check[256];

    if (oma_db_password_read (password_file, check, sizeof check) == -1) {
      fprintf (stderr, "cbtrack oma: %s\n", cbt_get_error ());
      free (credential);
      return 1;
    }
    memset (check, 0, sizeof check);
  }
  /* A password given in the URL: keep a copy, and blank it in our own
   * argv so that ps and /proc/PID/cmdline no longer show it (as the
   * mysql client does).
   */
  pw_len = oma_db_url_password_span (db_url, &pw_offset);
  if (pw_len > 0 && db_arg != NULL) {
    db_url_copy = strdup (db_url);
    if (db_url_copy == NULL) {
      fprintf (stderr, "cbtrack oma: out of memory\n");
      free (credential);
      return 1;
    }
    memset (db_arg + pw_offset, 'x', pw_len);
    db_url = db_url_copy;
  }
  /* Without the options, the systemd credentials "auth-token" and
   * "users" (LoadCredential=), as for the token.
   */
  if (acfg.token_file == NULL)
    acfg.token_file = auth_token_credential =
        cbt_daemon_credential ("auth-token");
  if (acfg.users_file == NULL)
    acfg.users_file = users_credential = cbt_daemon_credential ("users");
  /* Without authentication, only this machine may reach the OMA. */
  if (acfg.token_file == NULL && acfg.users_file == NULL &&
      !oma_listen_is_loopback (dconfig.listen)) {
    fprintf (stderr,
             "cbtrack oma: refusing to serve %s without authentication: "
             "give --auth-token-file or --users-file, or listen on a "
             "loopback address\n",
             dconfig.listen);
    free (credential);
    free (db_url_copy);
    free (vma_token);
    return 2;
  }
  acfg.tls = dconfig.tls_cert != NULL;
  server.auth = oma_auth_create (&acfg);
  if (server.auth == NULL) {
    fprintf (stderr, "cbtrack oma: %s\n", cbt_get_error ());
    free (credential);
    free (db_url_copy);
    free (vma_token);
    free (auth_token_credential);
    free (users_credential);
    return 1;
  }
  if (oma_auth_enabled (server.auth))
    dconfig.authorize = oma_authorize;
  reload.auth = server.auth;
  if (node_id[0] == '\0')
    oma_default_node_id (node_id, sizeof node_id);
  reload.password_file = password_file;
  dconfig.reload = oma_reload;
  dconfig.reload_arg = &reload;
  /* Before the store opens and before any thread exists (see
   * common/daemon.h).
   */
  daemon = cbt_daemon_create (&dconfig);
  if (daemon == NULL) {
    fprintf (stderr, "cbtrack oma: %s\n", cbt_get_error ());
    goto out;
  }
  if (pw_len > 0 && (password != NULL || password_file != NULL))
    cbt_daemon_log (daemon,
                    "warning: the password in the --db URL is "
                    "ignored: %s gives it",
                    password != NULL ? "CBTRACK_DB_PASSWORD"
                                     : "the password file");
  else if (pw_len > 0)
    cbt_daemon_log_at (daemon, CBT_LOG_WARNING,
                       "the --db URL holds a password, which other users "
                       "may read; use --db-password-file, "
                       "CBTRACK_DB_PASSWORD or a systemd credential");
  server.store = oma_store_open_secret (db_url, password, password_file);
  if (server.store == NULL) {
    fprintf (stderr, "cbtrack oma: %s\n", cbt_get_error ());
    goto out;
  }
  /* A second OMA on an SQLite file is refused here; a MariaDB server
   * that is not up yet is joined by the poller later.
   */
  r = server.store->ops->node_join (
      server.store, node_id, (int64_t)ceil (lease), (int64_t)cbt_now_wall ());
  if (r < 0 && r != -EIO) {
    fprintf (stderr, "cbtrack oma: %s\n", cbt_get_error ());
    goto out;
  }
  pcfg.node_id = node_id;
  pcfg.lease = (int64_t)ceil (lease);
  pcfg.joined = r == 0;
  server.default_vma_url = n_vmas > 0 ? vmas[0] : NULL;
  server.poll_interval = pcfg.interval;
  server.stale_after = CBT_STALE_INTERVALS * pcfg.interval;
  if (server.stale_after < CBT_STALE_AFTER_DEFAULT)
    server.stale_after = CBT_STALE_AFTER_DEFAULT;
  server.allow = (struct oma_vma_allow){ .urls = vmas,
                                         .n_urls = n_vmas,
                                         .patterns = allowed,
                                         .n_patterns = n_allowed };
  pcfg.vma_token = vma_token;
  pcfg.ca_file = ca_file;
  server.vma_token = vma_token;
  server.ca_file = ca_file;
  pcfg.store = server.store;
  pcfg.vma_urls = vmas;
  pcfg.n_vma_urls = n_vmas;
  pcfg.verbose = verbose;
  server.metrics = oma_metrics_create (pcfg.interval);
  if (server.metrics == NULL) {
    fprintf (stderr, "cbtrack oma: %s\n", cbt_get_error ());
    goto out;
  }
  pcfg.metrics = server.metrics;

  poller = oma_poller_create (&pcfg);
  if (poller == NULL) {
    fprintf (stderr, "cbtrack oma: %s\n", cbt_get_error ());
    goto out;
  }
  if (cbt_daemon_serve (daemon, oma_routes, &server) == -1) {
    fprintf (stderr, "cbtrack oma: %s\n", cbt_get_error ());
    goto out;
  }
  if (oma_poller_start (poller) == -1) {
    fprintf (stderr, "cbtrack oma: %s\n", cbt_get_error ());
    goto out;
  }
  cbt_daemon_log (
      daemon,
      "listening on %s (port %u)%s, database %s, polling every %g s, dead "
      "after %g s, node %s with a lease of %" PRId64 " s%s%s",
      dconfig.listen, (unsigned)cbt_daemon_port (daemon),
      cbt_daemon_is_tls (daemon) ? ", HTTPS" : "", server.store->ops->name,
      pcfg.interval, pcfg.dead_timeout, node_id, pcfg.lease,
      oma_auth_enabled (server.auth)
          ? ", authentication required"
          : ", no authentication: serving this machine only (loopback)",
      cbt_daemon_has_token (daemon) && !oma_auth_enabled (server.auth)
          ? ", token required for POST and PATCH"
          : "");

  cbt_daemon_wait (daemon, 0, NULL, NULL);
  cbt_daemon_log (daemon, "stopping");
  ret = 0;

out:
  /* Handlers and the poller use the store: both stop before it closes. */
  cbt_daemon_stop_serving (daemon);
  oma_poller_free (poller);
  oma_metrics_free (server.metrics);
  oma_store_close (server.store);
  cbt_daemon_free (daemon);
  oma_auth_free (server.auth);
  if (db_url_copy != NULL) {
    memset (db_url_copy, 0, strlen (db_url_copy));
    free (db_url_copy);
  }
  free (credential);
  free (vma_token);
  free (auth_token_credential);
  free (users_credential);
  return ret;

usage_error:
  fprintf (stderr, "cbtrack oma: %s\n", cbt_get_error ());
  free (vma_token);
  return 2;
}
