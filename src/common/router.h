/* cbtrack - the HTTP router: which handler answers a request, or which
 * error the dispatcher answers instead.
 *
 * This module decides and does no I/O: it does not know libmicrohttpd
 * (common/httpd.c is the glue that feeds it requests), so unit tests call
 * it directly.  A daemon is a static route table and one handler per
 * route:
 *
 *   static const struct cbt_route routes[] = {
 *     { "GET", "/api/v1/things/{id}", get_thing },
 *     { "DELETE", "/api/v1/things/{id}", delete_thing },
 *     { NULL },
 *   };
 *
 * A path is exact ("/healthz") or has one "{id}" segment
 * ("/api/v1/progress/{id}/update").  The router's decisions, in the order
 * they are taken:
 *
 *  0. 400: the request is malformed whatever its route: the decoded path
 *     holds a control character (a %00 or %0A, say), or it carries two
 *     Content-Length headers that disagree; 414: its query string is over
 *     CBT_ROUTER_QUERY_MAX bytes.
 *  1. 404: no route has the path.  An {id} that would span several
 *     segments counts only when one of them is "." or ".." (such as
 *     "../x"): that is a traversal attempt and gets 400 (405 when the
 *     method is not the route's), while "/things/a/b" is simply 404.
 *  2. 405: the path exists but not with this method; the Allow list
 *     names the methods it has (HEAD wherever GET is; HEAD is routed as
 *     GET).
 *  3. 401: a token is configured, the method is not GET or HEAD (or the
 *     route is CBT_ROUTE_PRIVATE), and the request lacks
 *     "Authorization: Bearer TOKEN".
 *  4. 413: the body is over the limit.
 *  5. 400: the {id} is not a valid cbtrack id (common/ids.h).
 *  6. Otherwise the route's handler runs.
 */
#ifndef CBTRACK_COMMON_ROUTER_H
#define CBTRACK_COMMON_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/ids.h"

/* The request a handler sees; defined by the server (common/httpd.h). */
struct cbt_httpd_request;

/* A handler: decides, then queues exactly one reply with one of
 * cbt_httpd_respond_*() (common/httpd.h).
 */
typedef void (*cbt_httpd_handler) (struct cbt_httpd_request *req);

/* One entry of a route table.  Tables end with an entry whose method is
 * NULL.  PATH is exact, or contains "{id}" once as a whole segment.  When
 * several entries share a path they differ by method.
 */
struct cbt_route {
  const char *method;
  const char *path;
  cbt_httpd_handler handler;
  unsigned flags; /* CBT_ROUTE_* bits; 0 for none */
};

/* Flags of a route. */
enum {
  /* Even a GET needs the token, when one is configured (the route shows
   * what other readers should not see, or costs enough to be abused).
   */
  CBT_ROUTE_PRIVATE = 1 << 0,
  /* Anyone may run it, even when the server has an authorize hook
   * (common/httpd.h): a login page, a liveness check.
   */
  CBT_ROUTE_PUBLIC = 1 << 1,
};

/* What the dispatcher does with a request. */
enum cbt_route_verdict {
  CBT_ROUTE_FOUND,        /* run the route's handler */
  CBT_ROUTE_NOT_FOUND,    /* 404: no such path */
  CBT_ROUTE_NOT_ALLOWED,  /* 405: the path exists, the method not */
  CBT_ROUTE_UNAUTHORIZED, /* 401: missing or wrong bearer token */
  CBT_ROUTE_TOO_LARGE,    /* 413: the body is over the limit */
  CBT_ROUTE_BAD_ID,       /* 400: the {id} is not a valid id */
  CBT_ROUTE_BAD_REQUEST,  /* 400: a control character in the path, or
                             Content-Length headers that disagree */
  CBT_ROUTE_URI_TOO_LONG, /* 414: the query is over CBT_ROUTER_QUERY_MAX */
};

/* The longest query string (after "?") a request may carry: no route
 * reads one.
 */
#define CBT_ROUTER_QUERY_MAX 1024

/* Room for the longest Allow list a table can produce. */
#define CBT_ROUTER_ALLOW_MAX 128

/* The facts about one request the router decides on. */
struct cbt_router_input {
  const char *method;        /* "GET", "POST", ... */
  const char *path;          /* percent-decoded, without the query */
  const char *authorization; /* the Authorization header, or NULL */
  const char *token;         /* the configured token, or NULL for none */
  bool body_too_large;       /* the body exceeded the server's limit */
  bool conflicting_length;   /* Content-Length headers that disagree */
  size_t query_len;          /* bytes after "?", 0 when none */
};

/* The router's answer. */
struct cbt_router_result {
  enum cbt_route_verdict verdict;
  /* CBT_ROUTE_FOUND: the route whose handler runs; NULL otherwise. */
  const struct cbt_route *route;
  /* CBT_ROUTE_FOUND on an {id} route: the id, valid per
   * cbt_id_is_valid; "" otherwise.
   */
  char id[CBT_ID_MAX + 1];
  /* CBT_ROUTE_NOT_ALLOWED: the path's methods, e.g. "GET, HEAD, DELETE"
   * (the value of the Allow header); "" otherwise.
   */
  char allow[CBT_ROUTER_ALLOW_MAX];
};

/* Decides what answers the request IN, per the rules at the top of this
 * file, using route table ROUTES (ended by { NULL }), and fills
 * *RET_RESULT.  It never fails.
 */
void cbt_router_decide (const struct cbt_route *routes,
                        const struct cbt_router_input *in,
                        struct cbt_router_result *ret_result);

/* The HTTP status code of VERDICT (200 for CBT_ROUTE_FOUND). */
unsigned cbt_router_status (enum cbt_route_verdict verdict);

/* True when METHOD needs the bearer token, if one is configured: every
 * method but GET and HEAD.
 */
bool cbt_router_needs_token (const char *method);

/* True when AUTHORIZATION (a header value, or NULL) is "Bearer TOKEN"
 * with the scheme in any case and TOKEN equal to the NUL-terminated
 * TOKEN, compared in time that does not depend on where they differ.
 */
bool cbt_router_authorized (const char *authorization, const char *token);

/* True when the LEN bytes at A equal the NUL-terminated SECRET, in time
 * that depends only on SECRET's length.
 */
bool cbt_router_secret_equal (const char *a, size_t len, const char *secret);

/* True when CONTENT_LENGTH (a Content-Length header value; NULL when
 * absent) announces more than MAX bytes or cannot be read as a number:
 * such a body is refused (413) before it is read.
 */
bool cbt_router_length_too_large (const char *content_length, size_t max);

#endif /* CBTRACK_COMMON_ROUTER_H */
