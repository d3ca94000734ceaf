/* cbtrack - a small HTTP/JSON server on libmicrohttpd.
 *
 * Both daemons (`cbtrack vma`, `cbtrack oma`) are a static route table and
 * one handler per route.  The router (common/router.h) decides which
 * handler answers, or which error the dispatcher answers instead (404,
 * 405 with Allow, 401 with WWW-Authenticate, 413, 400 for a bad {id}).
 * This file is the thin glue around it:
 *
 *  - listening on ADDR:PORT with libmicrohttpd's internal thread pool
 *    (epoll where available), and a clean stop;
 *  - collecting the request body, refusing bodies over a limit (413) before
 *    they are read when Content-Length says so;
 *  - feeding each complete request to the router and running the handler;
 *  - every reply through cbt_httpd_respond_*(), errors always as
 *    {"error":"..."}; replies are counted by status code for /metrics.
 *
 * A handler must queue exactly one reply with one of the
 * cbt_httpd_respond_*() functions before it returns; if it queues none,
 * the dispatcher answers 500.  Handlers run on libmicrohttpd's threads,
 * concurrently: whatever they share must be locked.
 *
 * Example:
 *
 *   static void get_thing (struct cbt_httpd_request *req);
 *   static const struct cbt_route routes[] = {
 *     { "GET", "/api/v1/things/{id}", get_thing, 0 },
 *     { "DELETE", "/api/v1/things/{id}", delete_thing, 0 },
 *     { NULL }
 *   };
 *   struct cbt_httpd_config cfg = { .listen = "127.0.0.1:8080",
 *                                   .routes = routes, .app = &my_state };
 *   struct cbt_httpd *h = cbt_httpd_start (&cfg);
 *   ...
 *   cbt_httpd_stop (h);
 */
#ifndef CBTRACK_COMMON_HTTPD_H
#define CBTRACK_COMMON_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/router.h"

/* The request body limit when the configuration gives none. */
#define CBT_HTTPD_DEFAULT_MAX_BODY (64 * 1024)

struct cbt_httpd;

/* One request, as a handler sees it.  All pointers stay valid until the
 * handler returns; copy what must live longer.
 */
struct cbt_httpd_request {
  const char *method;      /* "GET", "POST", ... ("HEAD" is routed as GET) */
  const char *path;        /* percent-decoded path, without the query */
  const char *id;          /* the {id} segment (valid per cbt_id_is_valid),
                            * or NULL for an exact route */
  const char *body;        /* the body, NUL-terminated; "" when none */
  size_t body_len;         /* its length in bytes (it may contain NULs) */
  void *app;               /* cbt_httpd_config.app */
  struct cbt_httpd *httpd; /* the server, e.g. for cbt_httpd_count() */
};

struct cbt_httpd_config {
  /* "ADDR:PORT", "[IPV6]:PORT" or "HOSTNAME:PORT"; PORT 0 picks a free
   * port (see cbt_httpd_port).  Required.
   */
  const char *listen;
  /* The route table, ended by { NULL }.  Must outlive the server. */
  const struct cbt_route *routes;
  /* Passed to every handler as req->app. */
  void *app;
  /* When not NULL, POST, PUT, PATCH and DELETE need the header
   * "Authorization: Bearer TOKEN" (compared in constant time); GET and
   * HEAD never do.  The string is copied; cbt_httpd_set_token()
   * replaces it.
   */
  const char *token;
  /* Largest accepted body in bytes; 0 means CBT_HTTPD_DEFAULT_MAX_BODY. */
  size_t max_body;
  /* Worker threads; 0 means one per online CPU.  Not used when
   * THREAD_PER_CONNECTION.
   */
  unsigned threads;
  /* Each connection served by a thread of its own, so a handler that
   * blocks (a database call stuck in the kernel on a frozen filesystem)
   * holds only its own connection: with a pool, it would also hold the
   * keep-alive connections its worker serves.
   */
  bool thread_per_connection;
  /* Idle keep-alive connections are closed after this many seconds;
   * 0 means 60.
   */
  unsigned idle_timeout;
  /* TLS: when both are not NULL, the server speaks only HTTPS with this
   * certificate (chain) and private key, PEM text (copied by
   * libmicrohttpd, which uses GnuTLS).
   */
  const char *tls_cert;
  const char *tls_key;
  /* When not NULL, asked before every handler the router found runs
   * (404, 405, 413 and a bad {id} are answered first): returns true when
   * the request may run, or false after queuing its own reply (401, 403,
   * a redirect).  TOKEN is the bearer token in force (cbt_httpd_set_token),
   * or NULL.  With it, the router does not check the token itself: the
   * hook decides for every method.
   */
  bool (*authorize) (struct cbt_httpd_request *req,
                     const struct cbt_route *route, const char *token);
};

/* Starts serving CONFIG in background threads.  Returns the server, or
 * NULL with a message recorded (cbt_get_error), e.g. when the address is
 * invalid or in use.
 */
struct cbt_httpd *cbt_httpd_start (const struct cbt_httpd_config *config);

/* Stops accepting, closes every connection, waits for running handlers
 * to return and frees the server.  Accepts NULL.
 */
void cbt_httpd_stop (struct cbt_httpd *httpd);

/* Replaces the bearer token (see cbt_httpd_config.token; NULL: none)
 * while the server runs.  Requests decided from now on use the new one.
 * Returns 0, or -1 with a message recorded when out of memory (the old
 * token then stays).
 */
int cbt_httpd_set_token (struct cbt_httpd *httpd, const char *token);

/* True when the server speaks HTTPS (cbt_httpd_config.tls_cert). */
bool cbt_httpd_is_tls (const struct cbt_httpd *httpd);

/* The TCP port the server listens on (useful after PORT 0). */
uint16_t cbt_httpd_port (const struct cbt_httpd *httpd);

/* How many replies with HTTP status CODE (100-599) were queued so far;
 * 0 for any other CODE.
 */
uint64_t cbt_httpd_count (const struct cbt_httpd *httpd, unsigned code);

/* The value of request header NAME (case-insensitive), or NULL. */
const char *cbt_httpd_header (struct cbt_httpd_request *req, const char *name);

/* The percent-decoded value of query argument KEY, or NULL. */
const char *cbt_httpd_query (struct cbt_httpd_request *req, const char *key);

/* Adds a header to the reply that the next cbt_httpd_respond_*() call
 * queues (up to 4 per reply; more are dropped).  NAME and VALUE are
 * copied when the reply is queued, so they must live until then.
 */
void cbt_httpd_add_header (struct cbt_httpd_request *req, const char *name,
                           const char *value);

/* Queues JSON as the reply with STATUS, serialized compactly
 * ("application/json").  Takes ownership of the reference to JSON (it is
 * released even on failure); JSON == NULL means allocation failed and
 * yields a 500.  Returns 0, or -1 when the reply could not be queued
 * (the connection is then closed).
 */
int cbt_httpd_respond_json (struct cbt_httpd_request *req, unsigned status,
                            json_t *json);

/* Queues {"error": MESSAGE} with STATUS, MESSAGE formatted printf-style.
 * Returns like cbt_httpd_respond_json.
 */
int cbt_httpd_respond_error (struct cbt_httpd_request *req, unsigned status,
                             const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* How cbt_httpd_respond_data() treats its DATA. */
enum cbt_httpd_mem {
  CBT_HTTPD_MEM_STATIC, /* lives for ever (a built-in page): not copied */
  CBT_HTTPD_MEM_COPY,   /* copied now; the caller keeps DATA */
  CBT_HTTPD_MEM_FREE,   /* malloc'd; the server free()s it after sending,
                         * or at once if the reply cannot be queued */
};

/* Queues LEN bytes of DATA with STATUS and CONTENT_TYPE (e.g. the
 * Prometheus text, an HTML page).  Returns like cbt_httpd_respond_json.
 */
int cbt_httpd_respond_data (struct cbt_httpd_request *req, unsigned status,
                            const char *content_type, const void *data,
                            size_t len, enum cbt_httpd_mem mem);

#endif /* CBTRACK_COMMON_HTTPD_H */
