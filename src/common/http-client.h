/* cbtrack - HTTP requests with libcurl, configured once.
 *
 * Every HTTP client of cbtrack (the copier's reporter, the OMA's poller,
 * `cbtrack status`, a vSphere SOAP client) goes through a struct
 * cbt_http, which applies the same rules to each request:
 *
 *  - every wait is bounded: a connect timeout and a total timeout;
 *  - only http:// and https:// are spoken, redirects included (libcurl
 *    would otherwise follow a URL to file://, smb://, ...); redirects are
 *    not followed;
 *  - the User-Agent names cbtrack, the component and the version
 *    ("cbtrack-oma/0.1.0");
 *  - with a token, "Authorization: Bearer TOKEN" is sent;
 *  - signals are not used (the handles are used from threads);
 *  - the reply body is kept, up to a limit (a larger one fails the
 *    request: memory stays bounded whatever a peer sends);
 *  - every CURLcode is checked; a failure is -1 with a message.
 *
 * A handle does one request at a time and may be reused for the next
 * (libcurl then keeps the connection).  Two ways to run a request:
 *
 *   cbt_http_prepare (h, "POST", url, "application/json", body, len);
 *   cbt_http_perform (h, &status);               blocking, this thread
 *
 * or, for many at once with a libcurl multi handle (the poller):
 *
 *   cbt_http_prepare (h, "GET", url, NULL, NULL, 0);
 *   curl_multi_add_handle (multi, cbt_http_easy (h));
 *   ... when curl_multi_info_read says CURLMSG_DONE for it ...
 *   cbt_http_complete (h, msg->data.result, &status);
 *
 * The easy handle's CURLOPT_PRIVATE is left to the caller.  A handle is
 * used by one thread at a time.  curl_global_init must have been called
 * (cbt_http_global_init) before the first handle is created.
 */
#ifndef CBTRACK_COMMON_HTTP_CLIENT_H
#define CBTRACK_COMMON_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

/* Defaults for the options left at 0. */
#define CBT_HTTP_DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define CBT_HTTP_DEFAULT_TIMEOUT_MS 30000L
#define CBT_HTTP_DEFAULT_MAX_REPLY (4 * 1024 * 1024)

struct cbt_http_options {
  /* The component in the User-Agent, "cbtrack-COMPONENT/VERSION" (for
   * example "copy", "oma", "status"); NULL gives "cbtrack/VERSION".
   */
  const char *component;
  /* Appended to the User-Agent as " (COMMENT)" when not NULL: the OMA
   * names its node there, so a VMA's peer can tell the OMAs apart.
   */
  const char *comment;
  /* Sent as "Authorization: Bearer TOKEN" when not NULL; copied. */
  const char *token;
  /* Milliseconds to establish the connection; 0 for the default. */
  long connect_timeout_ms;
  /* Milliseconds for the whole request, reply included; 0 for the
   * default.
   */
  long timeout_ms;
  /* The largest reply body kept, in bytes; 0 for the default.  A larger
   * reply fails the request.
   */
  size_t max_reply;

  /* TLS (https:// only).  By default the peer's certificate chain and
   * host name are verified against the system's CAs.  With CA_FILE (a PEM
   * file; copied) they are verified against that file instead.  With
   * THUMBPRINT (the SHA-256 of the server's DER certificate, 64 hex digits
   * with or without ':' between bytes, as vCenter and nbdkit-vddk print
   * it; copied) exactly that certificate is accepted and no other, chain
   * and host name aside: the check runs inside the TLS handshake (an
   * OpenSSL verify callback), so nothing is sent to a server that fails
   * it.  INSECURE turns every check off; the caller must say so loudly.
   */
  const char *ca_file;
  const char *thumbprint;
  bool insecure;
  /* Keep the cookies a server sets (libcurl's in-memory cookie engine)
   * and send them back on later requests of this handle: a SOAP session.
   */
  bool cookies;
  /* One more header line sent with every request ("SOAPAction: ..."), or
   * NULL; copied.
   */
  const char *extra_header;
};

/* Parses THUMBPRINT (64 hex digits, optionally with ':' between bytes)
 * into the 32 bytes at RET.  Returns 0, or -1 with a message recorded and
 * RET untouched.
 */
int cbt_http_parse_thumbprint (const char *thumbprint, unsigned char ret[32]);

struct cbt_http;

/* Initialises libcurl for the process (curl_global_init); call once from
 * main() or before any thread uses libcurl.  Returns 0, or -1 with a
 * message recorded.
 */
int cbt_http_global_init (void);

/* Releases what cbt_http_global_init took, once every handle is freed. */
void cbt_http_global_cleanup (void);

/* Creates a handle with OPTIONS (copied; NULL for all defaults).  Returns
 * it, or NULL with a message recorded.
 */
struct cbt_http *cbt_http_new (const struct cbt_http_options *options);

/* Frees HTTP and its easy handle.  Accepts NULL.  A handle added to a
 * multi handle must be removed from it first.
 */
void cbt_http_free (struct cbt_http *http);

/* Sets up the next request: METHOD ("GET", "POST", "PUT", "PATCH",
 * "DELETE"...) on URL, with LEN bytes of BODY (copied; NULL for none)
 * sent as CONTENT_TYPE (may be NULL when there is no body).  The previous
 * reply and error are forgotten.  Returns 0, or -1 with a message
 * recorded (the handle then cannot run the request).
 */
int cbt_http_prepare (struct cbt_http *http, const char *method,
                      const char *url, const char *content_type,
                      const void *body, size_t len);

/* Runs the prepared request in this thread.  Returns 0 with the HTTP
 * status in *RET_STATUS when the peer answered (whatever the status), or
 * -1 with the reason recorded (cbt_get_error) and kept (cbt_http_error)
 * when it could not be reached, timed out or sent too much.
 */
int cbt_http_perform (struct cbt_http *http, long *ret_status);

/* The easy handle of HTTP, to add to a libcurl multi handle after
 * cbt_http_prepare.  Owned by HTTP.
 */
CURL *cbt_http_easy (struct cbt_http *http);

/* Ends a request that a multi handle ran, given its RESULT (the CURLMsg's
 * data.result).  Returns like cbt_http_perform.
 */
int cbt_http_complete (struct cbt_http *http, CURLcode result,
                       long *ret_status);

/* The body of the last reply, NUL-terminated ("" when there was none),
 * its length in *RET_LEN when RET_LEN is not NULL.  Valid until the next
 * cbt_http_prepare or cbt_http_free.
 */
const char *cbt_http_reply (const struct cbt_http *http, size_t *ret_len);

/* Why the last request failed (the message cbt_http_perform or
 * cbt_http_complete recorded), or NULL when it did not fail or has not
 * ended.
 */
const char *cbt_http_error (const struct cbt_http *http);

#endif /* CBTRACK_COMMON_HTTP_CLIENT_H */
