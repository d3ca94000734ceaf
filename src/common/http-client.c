/* cbtrack - HTTP requests with libcurl, configured once (see
 * http-client.h for the rules every request follows).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/error.h"
#include "common/http-client.h"
#include "common/vector.h"

DEFINE_VECTOR_TYPE (http_buffer, char);

struct cbt_http {
  CURL *easy;
  struct curl_slist *headers; /* of the prepared request */
  char *auth_header;          /* "Authorization: Bearer TOKEN", or NULL */
  char *extra_header;         /* options.extra_header, or NULL */
  char *ca_file;              /* options.ca_file, or NULL */
  bool pinned;                /* a thumbprint is pinned: */
  unsigned char pin[32];      /* its SHA-256 */
  char user_agent[256];
  size_t max_reply;
  http_buffer reply; /* NUL-terminated when not empty */
  bool too_large;    /* the reply went over max_reply */
  bool failed;       /* the last request ended in failure */
  char errbuf[CURL_ERROR_SIZE];
  char error[CURL_ERROR_SIZE + 64];
};

int
cbt_http_global_init (void)
{
  CURLcode rc = curl_global_init (CURL_GLOBAL_DEFAULT);

  if (rc != CURLE_OK) {
    cbt_set_error ("cannot initialise libcurl: %s", curl_easy_strerror (rc));
    return -1;
  }
  return 0;
}

void
cbt_http_global_cleanup (void)
{
  curl_global_cleanup ();
}

/* The value of hex digit C, or -1. */
static int
cbt_http_hex (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Records the failure of setting OPT to RC.  Returns -1. */
static int
http_setopt_failed (CURLoption opt, CURLcode rc)
{
  cbt_set_error ("libcurl option %d: %s", (int)opt, curl_easy_strerror (rc));
  return -1;
}

/* The setters below set one option of HTTP's easy handle, with the type
 * libcurl expects for it.  Each returns 0, or -1 with a message recorded.
 */
static int
http_set_long (struct cbt_http *http, CURLoption opt, long value)
{
  CURLcode rc = curl_easy_setopt (http->easy, opt, value);

  return rc == CURLE_OK ? 0 : http_setopt_failed (opt, rc);
}

static int
http_set_ptr (struct cbt_http *http, CURLoption opt, const void *value)
{
  CURLcode rc = curl_easy_setopt (http->easy, opt, value);

  return rc == CURLE_OK ? 0 : http_setopt_failed (opt, rc);
}

static int
http_set_off (struct cbt_http *http, CURLoption opt, curl_off_t value)
{
  CURLcode rc = curl_easy_setopt (http->easy, opt, value);

  return rc == CURLE_OK ? 0 : http_setopt_failed (opt, rc);
}

/* libcurl's write callback: keeps the reply body, up to the limit. */
static size_t
http_write (char *data, size_t size, size_t nmemb, void *opaque)
{
  struct cbt_http *http = opaque;
  size_t n = size * nmemb;

  if (n > http->max_reply - http->reply.len) {
    http->too_large = true;
    return 0; /* libcurl then fails the transfer */
  }
  if (http_buffer_reserve (&http->reply, n + 1) == -1)
    return 0;
  memcpy (http->reply.ptr + http->reply.len, data, n);
  http->reply.len += n;
  http->reply.ptr[http->reply.len] = '\0';
  return n;
}

int
cbt_http_parse_thumbprint (const char *thumbprint, unsigned char ret[32])
{
  unsigned char out[32];
  size_t n = 0;
  const char *p = thumbprint;

  while (*p && n < sizeof out) {
    int hi, lo;

    if (n > 0 && *p == ':')
      p++;
    hi = p[0] ? cbt_http_hex (p[0]) : -1;
    lo = hi >= 0 && p[1] ? cbt_http_hex (p[1]) : -1;
    if (hi < 0 || lo < 0)
      break;
    out[n++] = (unsigned char)(hi * 16 + lo);
    p += 2;
  }
  if (n != sizeof out || *p != '\0') {
    cbt_set_error ("'%s' is not a SHA-256 thumbprint (64 hex digits, ':'"
                   " between bytes allowed)",
                   thumbprint);
    return -1;
  }
  memcpy (ret, out, sizeof out);
  return 0;
}

/* The OpenSSL index under which the verify callback finds its handle. */
static int http_ssl_index = -1;

/* OpenSSL's certificate verify callback for a pinned thumbprint: the
 * server's own certificate (depth 0) is accepted when its SHA-256 is the
 * pinned one and refused otherwise, whatever the chain says; certificates
 * above it are not judged (the pin alone decides).  Accepted errors are
 * cleared, so that libcurl's check of the verify result agrees.
 */
static int
http_verify_pinned (int preverify_ok, X509_STORE_CTX *store)
{
  SSL *ssl = X509_STORE_CTX_get_ex_data (
      store, SSL_get_ex_data_X509_STORE_CTX_idx ());
  SSL_CTX *ctx = ssl ? SSL_get_SSL_CTX (ssl) : NULL;
  struct cbt_http *http =
      ctx ? SSL_CTX_get_ex_data (ctx, http_ssl_index) : NULL;
  X509 *cert = X509_STORE_CTX_get_current_cert (store);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;

  (void)preverify_ok;
  if (http == NULL || cert == NULL)
    return 0;
  if (X509_STORE_CTX_get_error_depth (store) > 0) {
    X509_STORE_CTX_set_error (store, X509_V_OK);
    return 1;
  }
  if (X509_digest (cert, EVP_sha256 (), md, &len) != 1 ||
      len != sizeof http->pin || memcmp (md, http->pin, len) != 0) {
    X509_STORE_CTX_set_error (store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  X509_STORE_CTX_set_error (store, X509_V_OK);
  return 1;
}

/* libcurl's CURLOPT_SSL_CTX_FUNCTION (OpenSSL builds): installs the
 * pinned-thumbprint verify callback on the handshake's SSL_CTX.
 */
static CURLcode
http_ssl_ctx (CURL *easy, void *sslctx, void *opaque)
{
  SSL_CTX *ctx = sslctx;

  (void)easy;
  if (SSL_CTX_set_ex_data (ctx, http_ssl_index, opaque) != 1)
    return CURLE_SSL_CERTPROBLEM;
  SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER, http_verify_pinned);
  return CURLE_OK;
}

/* Sets the TLS options of O on HTTP. */
static int
http_setup_tls (struct cbt_http *http, const struct cbt_http_options *o)
{
  CURLcode rc;

  if (o->insecure)
    return http_set_long (http, CURLOPT_SSL_VERIFYPEER, 0L) == -1 ||
                   http_set_long (http, CURLOPT_SSL_VERIFYHOST, 0L) == -1
               ? -1
               : 0;
  if (o->thumbprint != NULL) {
    if (cbt_http_parse_thumbprint (o->thumbprint, http->pin) == -1)
      return -1;
    if (http_ssl_index < 0) {
      /* Racing threads would each get an index; any of them works. */
      http_ssl_index = SSL_CTX_get_ex_new_index (0, NULL, NULL, NULL, NULL);
      if (http_ssl_index < 0) {
        cbt_set_error ("OpenSSL: no ex_data index");
        return -1;
      }
    }
    http->pinned = true;
    rc = curl_easy_setopt (http->easy, CURLOPT_SSL_CTX_FUNCTION, http_ssl_ctx);
    if (rc != CURLE_OK) {
      cbt_set_error ("a pinned thumbprint needs libcurl built with OpenSSL:"
                     " %s",
                     curl_easy_strerror (rc));
      return -1;
    }
    /* The pin names the one certificate accepted: host names and chains
     * do not add to it (vCenter's certificate is often self-signed and
     * issued to a name the client does not use).
     */
    return http_set_ptr (http, CURLOPT_SSL_CTX_DATA, http) == -1 ||
                   http_set_long (http, CURLOPT_SSL_VERIFYPEER, 1L) == -1 ||
                   http_set_long (http, CURLOPT_SSL_VERIFYHOST, 0L) == -1
               ? -1
               : 0;
  }
  if (o->ca_file != NULL) {
    http->ca_file = strdup (o->ca_file);
    if (http->ca_file == NULL) {
      cbt_set_error ("out of memory");
      return -1;
    }
    return http_set_ptr (http, CURLOPT_CAINFO, http->ca_file);
  }
  return 0;
}

/* Sets the options that hold for every request of HTTP. */
static int
http_setup (struct cbt_http *http, const struct cbt_http_options *o)
{
  CURLcode rc;

  rc = curl_easy_setopt (http->easy, CURLOPT_WRITEFUNCTION, http_write);
  if (rc != CURLE_OK)
    return http_setopt_failed (CURLOPT_WRITEFUNCTION, rc);
  if (http_set_ptr (http, CURLOPT_WRITEDATA, http) == -1 ||
      http_set_ptr (http, CURLOPT_ERRORBUFFER, http->errbuf) == -1 ||
      http_set_long (http, CURLOPT_NOSIGNAL, 1L) == -1 ||
      http_set_ptr (http, CURLOPT_PROTOCOLS_STR, "http,https") == -1 ||
      http_set_ptr (http, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == -1 ||
      http_set_long (http, CURLOPT_FOLLOWLOCATION, 0L) == -1 ||
      http_set_ptr (http, CURLOPT_USERAGENT, http->user_agent) == -1 ||
      http_set_long (http, CURLOPT_CONNECTTIMEOUT_MS,
                     o->connect_timeout_ms > 0
                         ? o->connect_timeout_ms
                         : CBT_HTTP_DEFAULT_CONNECT_TIMEOUT_MS) == -1 ||
      http_set_long (http, CURLOPT_TIMEOUT_MS,
                     o->timeout_ms > 0 ? o->timeout_ms
                                       : CBT_HTTP_DEFAULT_TIMEOUT_MS) == -1)
    return -1;
  if (o->cookies && http_set_ptr (http, CURLOPT_COOKIEFILE, "") == -1)
    return -1;
  return http_setup_tls (http, o);
}

struct cbt_http *
cbt_http_new (const struct cbt_http_options *options)
{
  static const struct cbt_http_options defaults = { 0 };
  const struct cbt_http_options *o = options ? options : &defaults;
  struct cbt_http *http;
  int n;

  http = calloc (1, sizeof *http);
  if (http == NULL) {
    cbt_set_error_errno (errno, "calloc");
    return NULL;
  }
  http->max_reply =
      o->max_reply > 0 ? o->max_reply : CBT_HTTP_DEFAULT_MAX_REPLY;
  n = snprintf (http->user_agent, sizeof http->user_agent,
                "cbtrack%s%s/%s%s%s%s", o->component ? "-" : "",
                o->component ? o->component : "", CBTRACK_VERSION,
                o->comment ? " (" : "", o->comment ? o->comment : "",
                o->comment ? ")" : "");
  if (n < 0 || (size_t)n >= sizeof http->user_agent) {
    cbt_set_error ("User-Agent component too long");
    goto err;
  }
  if (o->token != NULL &&
      asprintf (&http->auth_header, "Authorization: Bearer %s", o->token) ==
          -1) {
    http->auth_header = NULL;
    cbt_set_error ("out of memory");
    goto err;
  }
  if (o->extra_header != NULL) {
    http->extra_header = strdup (o->extra_header);
    if (http->extra_header == NULL) {
      cbt_set_error ("out of memory");
      goto err;
    }
  }
  http->easy = curl_easy_init ();
  if (http->easy == NULL) {
    cbt_set_error ("cannot create a libcurl handle");
    goto err;
  }
  if (http_setup (http, o) == -1)
    goto err;
  return http;

err:
  cbt_http_free (http);
  return NULL;
}

void
cbt_http_free (struct cbt_http *http)
{
  if (http == NULL)
    return;
  if (http->easy != NULL)
    curl_easy_cleanup (http->easy);
  curl_slist_free_all (http->headers);
  free (http->auth_header);
  free (http->extra_header);
  free (http->ca_file);
  http_buffer_reset (&http->reply);
  free (http);
}

/* Appends header LINE to *LIST.  Returns 0, or -1 with a message. */
static int
http_add_header (struct curl_slist **list, const char *line)
{
  struct curl_slist *l = curl_slist_append (*list, line);

  if (l == NULL) {
    cbt_set_error ("out of memory");
    return -1;
  }
  *list = l;
  return 0;
}

int
cbt_http_prepare (struct cbt_http *http, const char *method, const char *url,
                  const char *content_type, const void *body, size_t len)
{
  struct curl_slist *headers = NULL;
  char *ct = NULL;
  int r = -1;

  http->reply.len = 0;
  if (http->reply.ptr != NULL)
    http->reply.ptr[0] = '\0';
  http->too_large = false;
  http->failed = false;
  http->errbuf[0] = '\0';
  http->error[0] = '\0';

  if (http->auth_header != NULL &&
      http_add_header (&headers, http->auth_header) == -1)
    goto out;
  if (http->extra_header != NULL &&
      http_add_header (&headers, http->extra_header) == -1)
    goto out;
  if (body != NULL && content_type != NULL) {
    if (asprintf (&ct, "Content-Type: %s", content_type) == -1) {
      ct = NULL;
      cbt_set_error ("out of memory");
      goto out;
    }
    if (http_add_header (&headers, ct) == -1)
      goto out;
  }
  if (http_set_ptr (http, CURLOPT_URL, url) == -1 ||
      http_set_ptr (http, CURLOPT_HTTPHEADER, headers) == -1)
    goto out;
  curl_slist_free_all (http->headers);
  http->headers = headers;
  headers = NULL;

  /* The method: a handle may go from a POST to a GET and back, so each
   * request sets all of it.
   */
  if (http_set_ptr (http, CURLOPT_CUSTOMREQUEST, NULL) == -1 ||
      http_set_long (http, CURLOPT_NOBODY, 0L) == -1)
    goto out;
  if (body != NULL) {
    if (http_set_off (http, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) ==
            -1 ||
        http_set_ptr (http, CURLOPT_COPYPOSTFIELDS, body) == -1)
      goto out;
  } else if (strcmp (method, "POST") == 0) {
    if (http_set_off (http, CURLOPT_POSTFIELDSIZE_LARGE, 0) == -1 ||
        http_set_ptr (http, CURLOPT_COPYPOSTFIELDS, "") == -1)
      goto out;
  } else if (strcmp (method, "HEAD") == 0) {
    if (http_set_long (http, CURLOPT_NOBODY, 1L) == -1)
      goto out;
  } else if (http_set_long (http, CURLOPT_HTTPGET, 1L) == -1)
    goto out;
  if (strcmp (method, "GET") != 0 && strcmp (method, "POST") != 0 &&
      strcmp (method, "HEAD") != 0) {
    if (http_set_ptr (http, CURLOPT_CUSTOMREQUEST, method) == -1)
      goto out;
  }
  r = 0;

out:
  curl_slist_free_all (headers);
  free (ct);
  return r;
}

CURL *
cbt_http_easy (struct cbt_http *http)
{
  return http->easy;
}

int
cbt_http_complete (struct cbt_http *http, CURLcode result, long *ret_status)
{
  long status = 0;
  CURLcode rc = result;

  if (rc == CURLE_OK)
    rc = curl_easy_getinfo (http->easy, CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_OK) {
    http->failed = false;
    *ret_status = status;
    return 0;
  }
  if (http->too_large)
    snprintf (http->error, sizeof http->error,
              "the reply is larger than %zu bytes", http->max_reply);
  else
    snprintf (http->error, sizeof http->error, "%s",
              http->errbuf[0] ? http->errbuf : curl_easy_strerror (rc));
  http->failed = true;
  cbt_set_error ("%s", http->error);
  return -1;
}

int
cbt_http_perform (struct cbt_http *http, long *ret_status)
{
  return cbt_http_complete (http, curl_easy_perform (http->easy), ret_status);
}

const char *
cbt_http_reply (const struct cbt_http *http, size_t *ret_len)
{
  if (ret_len != NULL)
    *ret_len = http->reply.len;
  return http->reply.len > 0 ? http->reply.ptr : "";
}

const char *
cbt_http_error (const struct cbt_http *http)
{
  return http->failed ? http->error : NULL;
}
