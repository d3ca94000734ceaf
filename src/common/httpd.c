/* cbtrack - a small HTTP/JSON server on libmicrohttpd: the glue between
 * libmicrohttpd and the router (common/router.h), which decides.
 *
 * libmicrohttpd calls httpd_access() several times per request: once with
 * the headers, once per piece of body, and once more with no data when the
 * body is complete.  The first call allocates a struct httpd_conn that
 * collects the body; the last one routes the request and runs the
 * handler.  httpd_completed() frees the state whatever happened.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/error.h"
#include "common/httpd.h"
#include "common/human.h"
#include "common/ids.h"
#include "common/router.h"

#define HTTPD_MAX_EXTRA_HEADERS 4
#define HTTPD_MAX_STATUS 600
/* Limits against clients that hold connections open (slowloris): open
 * connections from one IP address, and in all.  A connection idle for
 * the idle timeout is closed.
 */
#define HTTPD_PER_IP_CONNECTIONS 64
#define HTTPD_MAX_CONNECTIONS 1000
/* Memory per connection for its request line and headers: an 8 KiB URL
 * fits, so a long query gets an answer (414), not a closed connection.
 */
#define HTTPD_CONNECTION_MEMORY (64 * 1024)
/* The stack of each server thread: handlers build JSON with jansson and
 * keep little on the stack, and a thread per connection (up to
 * HTTPD_MAX_CONNECTIONS of them) should not reserve 8 MiB each.
 */
#define HTTPD_THREAD_STACK (512 * 1024)
/* Body bytes over the limit read and dropped before a chunked request is
 * cut off (see httpd_access).
 */
#define HTTPD_DISCARD_MAX (4 * 1024 * 1024)

/* Update bodies are a few hundred bytes: they fit here without a second
 * allocation per request.
 */
#define HTTPD_INLINE_BODY 1024

struct cbt_httpd {
  struct MHD_Daemon *daemon;
  const struct cbt_route *routes;
  void *app;
  /* The token may be replaced while handlers run (cbt_httpd_set_token):
   * readers hold TOKEN_LOCK for reading while they compare.
   */
  pthread_rwlock_t token_lock;
  char *token;
  size_t max_body;
  uint16_t port;
  bool tls;
  bool (*authorize) (struct cbt_httpd_request *req,
                     const struct cbt_route *route, const char *token);
  _Atomic uint64_t counts[HTTPD_MAX_STATUS];
};

/* Per-request state.  REQ comes first: handlers get &conn->req and the
 * respond functions recover the conn from it.
 */
struct httpd_conn {
  struct cbt_httpd_request req;
  struct MHD_Connection *connection;
  char *body; /* inline_body, or a heap buffer when larger */
  size_t body_cap;
  bool too_large;   /* the body exceeded max_body (and was discarded) */
  size_t discarded; /* bytes of body dropped since */
  bool responded;   /* a reply was queued (or its queuing failed) */
  bool queue_failed;
  unsigned nr_headers;
  const char *header_names[HTTPD_MAX_EXTRA_HEADERS];
  const char *header_values[HTTPD_MAX_EXTRA_HEADERS];
  char id[CBT_ID_MAX + 1];
  char inline_body[HTTPD_INLINE_BODY];
};

static struct httpd_conn *
httpd_conn_of (struct cbt_httpd_request *req)
{
  return (struct httpd_conn *)req;
}

bool
cbt_httpd_is_tls (const struct cbt_httpd *httpd)
{
  return httpd->tls;
}

uint16_t
cbt_httpd_port (const struct cbt_httpd *httpd)
{
  return httpd->port;
}

uint64_t
cbt_httpd_count (const struct cbt_httpd *httpd, unsigned code)
{
  if (code < 100 || code >= HTTPD_MAX_STATUS)
    return 0;
  return atomic_load_explicit (&httpd->counts[code], memory_order_relaxed);
}

const char *
cbt_httpd_header (struct cbt_httpd_request *req, const char *name)
{
  return MHD_lookup_connection_value (httpd_conn_of (req)->connection,
                                      MHD_HEADER_KIND, name);
}

const char *
cbt_httpd_query (struct cbt_httpd_request *req, const char *key)
{
  return MHD_lookup_connection_value (httpd_conn_of (req)->connection,
                                      MHD_GET_ARGUMENT_KIND, key);
}

void
cbt_httpd_add_header (struct cbt_httpd_request *req, const char *name,
                      const char *value)
{
  struct httpd_conn *c = httpd_conn_of (req);

  if (c->nr_headers < HTTPD_MAX_EXTRA_HEADERS) {
    c->header_names[c->nr_headers] = name;
    c->header_values[c->nr_headers] = value;
    c->nr_headers++;
  }
}

/* Queues RESP (which it always destroys) with STATUS.  The one place
 * where replies leave, so the one place where they are counted.
 */
static int
httpd_queue (struct httpd_conn *c, unsigned status, const char *content_type,
             struct MHD_Response *resp)
{
  struct cbt_httpd *httpd = c->req.httpd;
  enum MHD_Result r;
  unsigned i;

  if (resp == NULL || c->responded) {
    /* Out of memory, or a handler replying twice: the first reply
     * stands, a missing one becomes a closed connection.
     */
    if (resp != NULL)
      MHD_destroy_response (resp);
    if (!c->responded)
      c->queue_failed = true;
    c->responded = true;
    return -1;
  }
  c->responded = true;
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  for (i = 0; i < c->nr_headers; i++)
    MHD_add_response_header (resp, c->header_names[i], c->header_values[i]);
  r = MHD_queue_response (c->connection, status, resp);
  MHD_destroy_response (resp);
  if (r != MHD_YES) {
    c->queue_failed = true;
    return -1;
  }
  if (status >= 100 && status < HTTPD_MAX_STATUS)
    atomic_fetch_add_explicit (&httpd->counts[status], 1,
                               memory_order_relaxed);
  return 0;
}

int
cbt_httpd_respond_data (struct cbt_httpd_request *req, unsigned status,
                        const char *content_type, const void *data, size_t len,
                        enum cbt_httpd_mem mem)
{
  struct MHD_Response *resp;
  enum MHD_ResponseMemoryMode mode;

  switch (mem) {
  case CBT_HTTPD_MEM_STATIC: mode = MHD_RESPMEM_PERSISTENT; break;
  case CBT_HTTPD_MEM_FREE: mode = MHD_RESPMEM_MUST_FREE; break;
  case CBT_HTTPD_MEM_COPY:
  default: mode = MHD_RESPMEM_MUST_COPY; break;
  }
  resp = MHD_create_response_from_buffer (len, (void *)data, mode);
  if (resp == NULL && mem == CBT_HTTPD_MEM_FREE)
    free ((void *)data);
  return httpd_queue (httpd_conn_of (req), status, content_type, resp);
}

int
cbt_httpd_respond_json (struct cbt_httpd_request *req, unsigned status,
                        json_t *json)
{
  static const char oom[] = "{\"error\":\"out of memory\"}";
  char *text = NULL;

  if (json != NULL) {
    /* 15 significant digits print 66.67 as 66.67, not 66.670000000000002. */
    text = json_dumps (json, JSON_COMPACT | JSON_REAL_PRECISION (15));
    json_decref (json);
  }
  if (text == NULL)
    return cbt_httpd_respond_data (req, 500, "application/json", oom,
                                   sizeof oom - 1, CBT_HTTPD_MEM_STATIC);
  return cbt_httpd_respond_data (req, status, "application/json", text,
                                 strlen (text), CBT_HTTPD_MEM_FREE);
}

int
cbt_httpd_respond_error (struct cbt_httpd_request *req, unsigned status,
                         const char *fmt, ...)
{
  char msg[512];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  return cbt_httpd_respond_json (req, status,
                                 json_pack ("{s:s}", "error", msg));
}

/* Counts the Content-Length headers of a request (see
 * httpd_conflicting_length).
 */
struct httpd_length_count {
  const char *first;
  bool conflict;
};

static enum MHD_Result
httpd_count_length (void *cls, enum MHD_ValueKind kind, const char *key,
                    const char *value)
{
  struct httpd_length_count *n = cls;

  (void)kind;
  if (strcasecmp (key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
    return MHD_YES;
  if (n->first == NULL)
    n->first = value ? value : "";
  else if (strcmp (n->first, value ? value : "") != 0)
    n->conflict = true;
  return MHD_YES;
}

/* True when CONNECTION's request has Content-Length headers that
 * disagree (a request smuggling attempt, or a broken client).
 */
static bool
httpd_conflicting_length (struct MHD_Connection *connection)
{
  struct httpd_length_count n = { NULL, false };

  MHD_get_connection_values (connection, MHD_HEADER_KIND, httpd_count_length,
                             &n);
  return n.conflict;
}

static enum MHD_Result
httpd_add_arg_len (void *cls, enum MHD_ValueKind kind, const char *key,
                   const char *value)
{
  size_t *len = cls;

  (void)kind;
  *len += strlen (key) + 2 + (value ? strlen (value) : 0);
  return MHD_YES;
}

/* About the length of CONNECTION's query string (its decoded arguments). */
static size_t
httpd_query_len (struct MHD_Connection *connection)
{
  size_t len = 0;

  MHD_get_connection_values (connection, MHD_GET_ARGUMENT_KIND,
                             httpd_add_arg_len, &len);
  return len;
}

/* libmicrohttpd's unescape callback: decodes %XX in place like
 * libmicrohttpd does, except that %00 becomes 0x01 rather than ending the
 * string there; the router refuses a path with any control character, so
 * "/jobs/a%00b" is a 400, not a request for "/jobs/a".  Returns the new
 * length.
 */
static size_t
httpd_unescape (void *cls, struct MHD_Connection *connection, char *uri)
{
  char *r = uri, *w = uri;

  (void)cls;
  (void)connection;
  while (*r) {
    if (r[0] == '%' && isxdigit ((unsigned char)r[1]) &&
        isxdigit ((unsigned char)r[2])) {
      char hex[3] = { r[1], r[2], '\0' };
      unsigned long v = strtoul (hex, NULL, 16);

      *w++ = v == 0 ? '\x01' : (char)v;
      r += 3;
    } else
      *w++ = *r++;
  }
  *w = '\0';
  return (size_t)(w - uri);
}

/* Runs when the whole request is in: the router decides, then the
 * dispatcher answers its errors or runs the handler.
 */
static void
httpd_dispatch (struct httpd_conn *c)
{
  struct cbt_httpd *httpd = c->req.httpd;
  struct cbt_router_input in = {
    .method = c->req.method,
    .path = c->req.path,
    .body_too_large = c->too_large,
    .conflicting_length = httpd_conflicting_length (c->connection),
    .query_len = httpd_query_len (c->connection),
  };
  struct cbt_router_result res;
  unsigned status;
  bool allowed = true;
  int err;

  /* Taken for every request: a route may need the token even for GET. */
  err = pthread_rwlock_rdlock (&httpd->token_lock);
  if (err != 0) {
    cbt_httpd_respond_error (&c->req, 500, "token lock: %s", strerror (err));
    return;
  }
  /* With an authorize hook, the hook alone decides who may run what. */
  in.token = httpd->authorize != NULL ? NULL : httpd->token;
  in.authorization = cbt_httpd_header (&c->req, MHD_HTTP_HEADER_AUTHORIZATION);
  cbt_router_decide (httpd->routes, &in, &res);
  if (res.verdict == CBT_ROUTE_FOUND && httpd->authorize != NULL) {
    if (res.id[0] != '\0') {
      memcpy (c->id, res.id, sizeof c->id);
      c->req.id = c->id;
    }
    allowed = httpd->authorize (&c->req, res.route, httpd->token);
  }
  err = pthread_rwlock_unlock (&httpd->token_lock);
  assert (err == 0);
  if (!allowed) {
    if (!c->responded)
      cbt_httpd_respond_error (&c->req, 401, "authentication required");
    return;
  }

  /* The status of every verdict is the router's; the words are ours. */
  status = cbt_router_status (res.verdict);
  switch (res.verdict) {
  case CBT_ROUTE_FOUND: break;
  case CBT_ROUTE_NOT_FOUND:
    cbt_httpd_respond_error (&c->req, status, "no such resource");
    return;
  case CBT_ROUTE_NOT_ALLOWED:
    cbt_httpd_add_header (&c->req, MHD_HTTP_HEADER_ALLOW, res.allow);
    cbt_httpd_respond_error (&c->req, status,
                             "method %s not allowed here (allowed: %s)",
                             in.method, res.allow);
    return;
  case CBT_ROUTE_UNAUTHORIZED:
    cbt_httpd_add_header (&c->req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    cbt_httpd_respond_error (&c->req, status, "missing or wrong bearer token");
    return;
  case CBT_ROUTE_TOO_LARGE:
    cbt_httpd_respond_error (&c->req, status, "request body over %zu bytes",
                             httpd->max_body);
    return;
  case CBT_ROUTE_BAD_ID:
    cbt_httpd_respond_error (&c->req, status,
                             "invalid id in path: ids are "
                             "1-128 characters of [A-Za-z0-9._:-]");
    return;
  case CBT_ROUTE_BAD_REQUEST:
    cbt_httpd_respond_error (&c->req, status,
                             "malformed request: a control character in "
                             "the path, or Content-Length headers that "
                             "disagree");
    return;
  case CBT_ROUTE_URI_TOO_LONG:
    cbt_httpd_respond_error (&c->req, status, "query string over %d bytes",
                             CBT_ROUTER_QUERY_MAX);
    return;
  }
  if (res.id[0] != '\0') {
    memcpy (c->id, res.id, sizeof c->id);
    c->req.id = c->id;
  }
  c->body[c->req.body_len] = '\0';
  c->req.body = c->body;
  res.route->handler (&c->req);
  if (!c->responded)
    cbt_httpd_respond_error (&c->req, 500, "the handler gave no reply");
}

/* Adds LEN bytes of body.  Past the limit the body is dropped and only
 * the fact is kept, so memory stays bounded whatever the client sends.
 */
static void
httpd_body_append (struct httpd_conn *c, const char *data, size_t len)
{
  size_t max = c->req.httpd->max_body, need, cap;
  char *p;

  if (c->too_large)
    return;
  if (len > max - c->req.body_len) {
    c->too_large = true;
    return;
  }
  need = c->req.body_len + len + 1;
  if (need > c->body_cap) {
    cap = c->body_cap;
    while (cap < need)
      cap *= 2;
    if (c->body == c->inline_body) {
      p = malloc (cap);
      if (p != NULL)
        memcpy (p, c->body, c->req.body_len);
    } else
      p = realloc (c->body, cap);
    if (p == NULL) {
      c->too_large = true;
      return;
    }
    c->body = p;
    c->body_cap = cap;
  }
  memcpy (c->body + c->req.body_len, data, len);
  c->req.body_len += len;
}

/* The first call for a request: set up its state and refuse, before it
 * is read, a body that announces itself as too large.
 */
static struct httpd_conn *
httpd_conn_new (struct cbt_httpd *httpd, struct MHD_Connection *connection,
                const char *url, const char *method)
{
  struct httpd_conn *c;
  const char *clen;

  c = malloc (sizeof *c);
  if (c == NULL)
    return NULL;
  c->req.method = method;
  c->req.path = url;
  c->req.id = NULL;
  c->req.body = "";
  c->req.body_len = 0;
  c->req.app = httpd->app;
  c->req.httpd = httpd;
  c->connection = connection;
  c->body = c->inline_body;
  c->body_cap = sizeof c->inline_body;
  c->too_large = c->responded = c->queue_failed = false;
  c->discarded = 0;
  c->nr_headers = 0;

  clen = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                      MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (cbt_router_length_too_large (clen, httpd->max_body)) {
    c->too_large = true;
    cbt_httpd_respond_error (&c->req, cbt_router_status (CBT_ROUTE_TOO_LARGE),
                             "request body over %zu bytes", httpd->max_body);
  }
  return c;
}

static enum MHD_Result
httpd_access (void *cls, struct MHD_Connection *connection, const char *url,
              const char *method, const char *version, const char *upload_data,
              size_t *upload_data_size, void **req_cls)
{
  struct cbt_httpd *httpd = cls;
  struct httpd_conn *c = *req_cls;

  if (c == NULL) {
    c = httpd_conn_new (httpd, connection, url, method);
    if (c == NULL)
      return MHD_NO;
    *req_cls = c;
    return c->queue_failed ? MHD_NO : MHD_YES;
  }
  if (*upload_data_size > 0) {
    if (!c->responded) {
      httpd_body_append (c, upload_data, *upload_data_size);
      /* A body without a Content-Length (chunked) over the limit is read
       * and dropped up to HTTPD_DISCARD_MAX, so that the client gets its
       * 413 once it has sent the body; beyond, the connection is closed
       * rather than the rest read (a client sending 1 GB gets a reset).
       */
      if (c->too_large) {
        c->discarded += *upload_data_size;
        if (c->discarded > HTTPD_DISCARD_MAX) {
          *upload_data_size = 0;
          return MHD_NO;
        }
      }
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (!c->responded)
    httpd_dispatch (c);
  return c->queue_failed ? MHD_NO : MHD_YES;
}

static void
httpd_completed (void *cls, struct MHD_Connection *connection, void **req_cls,
                 enum MHD_RequestTerminationCode toe)
{
  struct httpd_conn *c = *req_cls;

  if (c == NULL)
    return;
  if (c->body != c->inline_body)
    free (c->body);
  free (c);
  *req_cls = NULL;
}

/* Opens a listening TCP socket on LISTEN ("ADDR:PORT", "[V6]:PORT").
 * Returns the socket, or -1 with a message recorded.
 */
static int
httpd_listen_socket (const char *listen_on, uint16_t *ret_port)
{
  struct addrinfo hints = { 0 }, *res = NULL;
  struct sockaddr_storage ss;
  socklen_t sslen = sizeof ss;
  char host[256];
  const char *colon, *port, *h = listen_on;
  size_t hlen;
  long long portnum;
  int fd = -1, one = 1, r;

  colon = strrchr (listen_on, ':');
  if (colon == NULL || colon[1] == '\0') {
    cbt_set_error ("invalid listen address '%s' (expected ADDR:PORT)",
                   listen_on);
    return -1;
  }
  port = colon + 1;
  if (cbt_parse_int ("port", port, 0, 65535, &portnum) == -1) {
    cbt_set_error ("invalid listen address '%s' (the port must be from 0 "
                   "to 65535)",
                   listen_on);
    return -1;
  }
  hlen = (size_t)(colon - listen_on);
  if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
    h++;
    hlen -= 2;
  }
  if (hlen == 0 || hlen >= sizeof host) {
    cbt_set_error ("invalid listen address '%s' (expected ADDR:PORT)",
                   listen_on);
    return -1;
  }
  memcpy (host, h, hlen);
  host[hlen] = '\0';

  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
  r = getaddrinfo (host, port, &hints, &res);
  if (r != 0) {
    cbt_set_error ("invalid listen address '%s': %s", listen_on,
                   gai_strerror (r));
    return -1;
  }
  fd = socket (res->ai_family, res->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
               res->ai_protocol);
  if (fd == -1) {
    cbt_set_error_errno (errno, "socket");
    goto err;
  }
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind (fd, res->ai_addr, res->ai_addrlen) == -1) {
    cbt_set_error_errno (errno, "cannot listen on %s", listen_on);
    goto err;
  }
  if (listen (fd, SOMAXCONN) == -1) {
    cbt_set_error_errno (errno, "cannot listen on %s", listen_on);
    goto err;
  }
  if (getsockname (fd, (struct sockaddr *)&ss, &sslen) == -1) {
    cbt_set_error_errno (errno, "getsockname");
    goto err;
  }
  if (ss.ss_family == AF_INET6)
    *ret_port = ntohs (((struct sockaddr_in6 *)&ss)->sin6_port);
  else
    *ret_port = ntohs (((struct sockaddr_in *)&ss)->sin_port);
  freeaddrinfo (res);
  return fd;

err:
  if (fd >= 0)
    close (fd);
  freeaddrinfo (res);
  return -1;
}

struct cbt_httpd *
cbt_httpd_start (const struct cbt_httpd_config *config)
{
  struct cbt_httpd *httpd;
  unsigned flags, threads = config->threads;
  long ncpu;
  int fd, err;

  httpd = calloc (1, sizeof *httpd);
  if (httpd == NULL) {
    cbt_set_error_errno (errno, "calloc");
    return NULL;
  }
  err = pthread_rwlock_init (&httpd->token_lock, NULL);
  if (err != 0) {
    cbt_set_error_errno (err, "pthread_rwlock_init");
    free (httpd);
    return NULL;
  }
  httpd->routes = config->routes;
  httpd->app = config->app;
  httpd->authorize = config->authorize;
  httpd->tls = config->tls_cert != NULL && config->tls_key != NULL;
  httpd->max_body =
      config->max_body ? config->max_body : CBT_HTTPD_DEFAULT_MAX_BODY;
  if (config->token != NULL) {
    httpd->token = strdup (config->token);
    if (httpd->token == NULL) {
      cbt_set_error_errno (errno, "strdup");
      goto err;
    }
  }
  if (threads == 0) {
    ncpu = sysconf (_SC_NPROCESSORS_ONLN);
    threads = ncpu > 0 ? (unsigned)ncpu : 1;
  }

  fd = httpd_listen_socket (config->listen, &httpd->port);
  if (fd == -1)
    goto err;

  flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TURBO;
  if (config->thread_per_connection) {
    /* libmicrohttpd allows neither a pool nor epoll in this mode. */
    flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    threads = 0;
  } else
    flags |= MHD_is_feature_supported (MHD_FEATURE_EPOLL) == MHD_YES
                 ? MHD_USE_EPOLL
                 : MHD_USE_POLL;
  if (httpd->tls) {
    if (MHD_is_feature_supported (MHD_FEATURE_TLS) != MHD_YES) {
      close (fd);
      cbt_set_error ("this libmicrohttpd was built without TLS support");
      goto err;
    }
    flags |= MHD_USE_TLS;
  }
  httpd->daemon = MHD_start_daemon (
      flags, 0, NULL, NULL, httpd_access, httpd, MHD_OPTION_LISTEN_SOCKET,
      (MHD_socket)fd, MHD_OPTION_THREAD_POOL_SIZE,
      (unsigned int)(threads > 1 ? threads : 0), MHD_OPTION_THREAD_STACK_SIZE,
      (size_t)HTTPD_THREAD_STACK, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned int)(config->idle_timeout ? config->idle_timeout : 60),
      MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      (unsigned int)HTTPD_PER_IP_CONNECTIONS, MHD_OPTION_CONNECTION_LIMIT,
      (unsigned int)HTTPD_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      (size_t)HTTPD_CONNECTION_MEMORY, MHD_OPTION_UNESCAPE_CALLBACK,
      httpd_unescape, NULL, MHD_OPTION_NOTIFY_COMPLETED, httpd_completed,
      httpd,
      /* Without TLS the list ends here. */
      httpd->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
      config->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, config->tls_key,
      MHD_OPTION_END);
  if (httpd->daemon == NULL) {
    close (fd);
    cbt_set_error ("cannot start the HTTP%s server on %s%s",
                   httpd->tls ? "S" : "", config->listen,
                   httpd->tls ? " (is the certificate or key invalid, or do "
                                "they not match?)"
                              : "");
    goto err;
  }
  return httpd;

err:
  pthread_rwlock_destroy (&httpd->token_lock);
  free (httpd->token);
  free (httpd);
  return NULL;
}

int
cbt_httpd_set_token (struct cbt_httpd *httpd, const char *token)
{
  char *copy = NULL, *old;
  int err;

  if (token != NULL) {
    copy = strdup (token);
    if (copy == NULL) {
      cbt_set_error_errno (errno, "strdup");
      return -1;
    }
  }
  err = pthread_rwlock_wrlock (&httpd->token_lock);
  if (err != 0) {
    free (copy);
    cbt_set_error_errno (err, "pthread_rwlock_wrlock");
    return -1;
  }
  old = httpd->token;
  httpd->token = copy;
  pthread_rwlock_unlock (&httpd->token_lock);
  free (old);
  return 0;
}

void
cbt_httpd_stop (struct cbt_httpd *httpd)
{
  if (httpd == NULL)
    return;
  /* MHD_stop_daemon also closes the listening socket. */
  MHD_stop_daemon (httpd->daemon);
  pthread_rwlock_destroy (&httpd->token_lock);
  free (httpd->token);
  free (httpd);
}
