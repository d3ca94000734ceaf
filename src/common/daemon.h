/* cbtrack - the life of a daemon (`cbtrack vma`, `cbtrack oma`).
 *
 * Every daemon goes through the same steps, written here once:
 *
 *   struct cbt_daemon_config dc = { .name = "vma", .listen = DEFAULT };
 *   ... getopt_long with CBT_DAEMON_LONG_OPTIONS in the table; pass
 *       every option to cbt_daemon_option() first ...
 *   d = cbt_daemon_create (&dc);        token read, signals blocked
 *   ... open the store, create (not start) other threads' objects ...
 *   cbt_daemon_serve (d, routes, app);  HTTP server started
 *   ... start other threads, log "listening on ... (port N)" ...
 *   cbt_daemon_wait (d, tick, fn, arg); until SIGTERM or SIGINT
 *   cbt_daemon_log (d, "stopping");
 *   cbt_daemon_stop_serving (d);        no handler runs after this
 *   ... stop other threads, close the store ...
 *   cbt_daemon_free (d);
 *
 * Signals: cbt_daemon_create() blocks SIGTERM, SIGINT and SIGHUP in the
 * calling thread, so every thread created afterwards inherits the mask
 * and only cbt_daemon_wait() receives them; SIGPIPE is ignored (a client
 * that hangs up must not kill the daemon).  SIGTERM and SIGINT end the
 * wait; SIGHUP re-reads the token file and gives the new token to the
 * HTTP server (requests decided afterwards need it), logging that it did,
 * or why it could not and that the old token stays; it reopens the
 * --log-file and runs the config's reload hook.
 *
 * Threads: the HTTP server's workers (libmicrohttpd's pool, --threads)
 * run the route handlers; the thread that called cbt_daemon_create()
 * waits for signals and runs the tick; the caller may add its own (the
 * OMA's poller).
 */
#ifndef CBTRACK_COMMON_DAEMON_H
#define CBTRACK_COMMON_DAEMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/log.h"
#include "common/router.h"

/* The getopt_long values of the options every daemon takes. */
enum {
  CBT_DAEMON_OPT_LISTEN = 0x1000,
  CBT_DAEMON_OPT_TOKEN_FILE,
  CBT_DAEMON_OPT_THREADS,
  CBT_DAEMON_OPT_LOG_LEVEL,
  CBT_DAEMON_OPT_LOG_FILE,
  CBT_DAEMON_OPT_TLS_CERT,
  CBT_DAEMON_OPT_TLS_KEY,
};

/* The entries of those options, for a daemon's struct option table. */
/* clang-format off */
#define CBT_DAEMON_LONG_OPTIONS                                               \
  { "listen", required_argument, NULL, CBT_DAEMON_OPT_LISTEN },               \
  { "token-file", required_argument, NULL, CBT_DAEMON_OPT_TOKEN_FILE },       \
  { "threads", required_argument, NULL, CBT_DAEMON_OPT_THREADS },           \
  { "log-level", required_argument, NULL, CBT_DAEMON_OPT_LOG_LEVEL },       \
  { "log-file", required_argument, NULL, CBT_DAEMON_OPT_LOG_FILE },         \
  { "tls-cert", required_argument, NULL, CBT_DAEMON_OPT_TLS_CERT },         \
  { "tls-key", required_argument, NULL, CBT_DAEMON_OPT_TLS_KEY }
/* clang-format on */

struct cbt_daemon_config {
  /* The subcommand: log lines start "cbtrack NAME: ".  Required. */
  const char *name;
  /* --listen: "ADDR:PORT" (common/httpd.h).  Required. */
  const char *listen;
  /* --token-file: when not NULL, requests other than GET and HEAD need
   * its token; SIGHUP re-reads it.
   */
  const char *token_file;
  /* --threads: HTTP worker threads; 0 means one per online CPU. */
  unsigned threads;
  /* A thread per connection instead (cbt_httpd_config); --threads is
   * then not used.
   */
  bool thread_per_connection;
  /* --log-level: lines less severe are dropped; 0 means CBT_LOG_INFO. */
  enum cbt_log_level log_level;
  /* --log-file: NULL for stderr (the journal under systemd). */
  const char *log_file;
  /* When not NULL, called with RELOAD_ARG on SIGHUP, in the thread of
   * cbt_daemon_wait(), after the token was reloaded: re-read other
   * secrets (the OMA's password file), logging what it did.
   */
  void (*reload) (void *reload_arg);
  void *reload_arg;
  /* --tls-cert, --tls-key: PEM files of the server's certificate (chain)
   * and its private key; with both, the daemon speaks only HTTPS.  Read
   * once, at cbt_daemon_create().
   */
  const char *tls_cert;
  const char *tls_key;
  /* When not NULL, the HTTP server's authorize hook (common/httpd.h):
   * it then decides on every request, the token included.
   */
  bool (*authorize) (struct cbt_httpd_request *req,
                     const struct cbt_route *route, const char *token);
};

/* The systemd credential (LoadCredential=) named NAME: returns a malloc'd
 * "$CREDENTIALS_DIRECTORY/NAME" when that variable is set and the file
 * exists, else NULL.
 */
char *cbt_daemon_credential (const char *name);

struct cbt_daemon;

/* Takes option OPT (a getopt_long value) with argument ARG into CONFIG
 * when it is one of CBT_DAEMON_LONG_OPTIONS.  Returns 1 when it was, 0
 * when OPT is another option (CONFIG untouched), -1 with a message
 * recorded when ARG is not a valid value (a usage error).  CONFIG keeps
 * pointers into ARG.
 */
int cbt_daemon_option (struct cbt_daemon_config *config, int opt,
                       const char *arg);

/* Starts a daemon's life: opens the log (--log-file, --log-level), reads
 * the TLS certificate and key (both or neither), the token file, if any
 * (without
 * --token-file, the systemd credential "token" when there is one), ignores
 * SIGPIPE
 * and blocks SIGTERM, SIGINT and SIGHUP in the calling thread (call it
 * before creating any thread).  CONFIG's strings must outlive the daemon.
 * Returns the daemon, or NULL with a message recorded (an unreadable or
 * invalid token file; out of memory), the signal mask then unchanged.
 */
struct cbt_daemon *cbt_daemon_create (const struct cbt_daemon_config *config);

/* Starts the HTTP server on the configured address with route table
 * ROUTES (which must outlive the daemon), passing APP to every handler.
 * Returns 0, or -1 with a message recorded (the address is invalid or in
 * use).
 */
int cbt_daemon_serve (struct cbt_daemon *daemon,
                      const struct cbt_route *routes, void *app);

/* The port the server listens on (useful with --listen ADDR:0); 0 before
 * cbt_daemon_serve().
 */
uint16_t cbt_daemon_port (const struct cbt_daemon *daemon);

/* True when the daemon speaks HTTPS (--tls-cert and --tls-key). */
bool cbt_daemon_is_tls (const struct cbt_daemon *daemon);

/* True when a token file was given. */
bool cbt_daemon_has_token (const struct cbt_daemon *daemon);

/* Tells systemd READY=1 (call it once serving), then waits until SIGTERM
 * or SIGINT arrives, reloading on SIGHUP (see above), and tells systemd
 * STOPPING=1.  When TICK is not NULL it runs TICK (ARG) every INTERVAL
 * seconds (> 0) in this thread meanwhile; under a systemd watchdog
 * (WatchdogSec=) it sends WATCHDOG=1 every half of it, so a daemon whose
 * main thread hangs is restarted.  See common/sd-notify.h.
 */
void cbt_daemon_wait (struct cbt_daemon *daemon, double interval,
                      void (*tick) (void *arg), void *arg);

/* Writes one log line of level info, "cbtrack NAME: info: MESSAGE",
 * through common/log.h (stderr, the journal or --log-file), whole (lines
 * of concurrent threads never mix).  Safe from any thread.
 */
void cbt_daemon_log (const struct cbt_daemon *daemon, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Like cbt_daemon_log, at LEVEL. */
void cbt_daemon_log_at (const struct cbt_daemon *daemon,
                        enum cbt_log_level level, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Like cbt_daemon_log, for code that has the daemon's NAME but not the
 * daemon.
 */
void cbt_daemon_log_as (const char *name, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Stops the HTTP server: it stops accepting, closes every connection
 * and waits for running handlers to return.  Safe to call twice;
 * accepts NULL.
 */
void cbt_daemon_stop_serving (struct cbt_daemon *daemon);

/* Stops serving (if still serving), restores the signal mask that
 * cbt_daemon_create() found and frees DAEMON.  Accepts NULL.
 */
void cbt_daemon_free (struct cbt_daemon *daemon);

#endif /* CBTRACK_COMMON_DAEMON_H */
