/* Tests of src/common/http-client.c against the real server glue
 * (src/common/httpd.c, libmicrohttpd) in the same process: what the
 * client sends (User-Agent, bearer token, body), what it refuses (other
 * protocols, oversize replies, a peer that stalls), and that the server
 * answers the router's verdicts and takes a new token while serving.
 */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/http-client.h"
#include "common/httpd.h"

/* GET and POST /echo: what the request carried, as JSON. */
static void
echo (struct cbt_httpd_request *req)
{
  const char *ua = cbt_httpd_header (req, "User-Agent");
  const char *auth = cbt_httpd_header (req, "Authorization");
  const char *ct = cbt_httpd_header (req, "Content-Type");

  cbt_httpd_respond_json (req, 200,
                          json_pack ("{s:s, s:s, s:s, s:s, s:s%}", "method",
                                     req->method, "user_agent", ua ? ua : "",
                                     "authorization", auth ? auth : "",
                                     "content_type", ct ? ct : "", "body",
                                     req->body, req->body_len));
}

/* GET /big: a reply of 64 KiB. */
static void
big (struct cbt_httpd_request *req)
{
  static char text[64 * 1024];

  memset (text, 'x', sizeof text);
  cbt_httpd_respond_data (req, 200, "text/plain", text, sizeof text,
                          CBT_HTTPD_MEM_COPY);
}

static const struct cbt_route routes[] = {
  { "GET", "/echo", echo, 0 },
  { "POST", "/echo", echo, 0 },
  { "DELETE", "/things/{id}", echo, 0 },
  { "GET", "/big", big, 0 },
  { NULL },
};

struct fixture {
  struct cbt_httpd *httpd;
  char base[64];
};

static int
setup (void **state)
{
  struct cbt_httpd_config config = {
    .listen = "127.0.0.1:0", .routes = routes, .token = "tok-1", .threads = 2
  };
  struct fixture *f = calloc (1, sizeof *f);

  if (f == NULL || cbt_http_global_init () == -1)
    return -1;
  f->httpd = cbt_httpd_start (&config);
  if (f->httpd == NULL)
    return -1;
  snprintf (f->base, sizeof f->base, "http://127.0.0.1:%u",
            (unsigned)cbt_httpd_port (f->httpd));
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;

  cbt_httpd_stop (f->httpd);
  free (f);
  cbt_http_global_cleanup ();
  return 0;
}

/* Runs METHOD BASE+PATH with BODY on HTTP; returns the status (or -1)
 * and the reply parsed as JSON in *RET_JSON when it is JSON.
 */
static long
request (struct cbt_http *http, const struct fixture *f, const char *method,
         const char *path, const char *body, json_t **ret_json)
{
  char url[256];
  long status = -1;
  size_t len;
  const char *reply;

  snprintf (url, sizeof url, "%s%s", f->base, path);
  if (cbt_http_prepare (http, method, url, body ? "application/json" : NULL,
                        body, body ? strlen (body) : 0) == -1)
    return -1;
  if (cbt_http_perform (http, &status) == -1)
    return -1;
  if (ret_json != NULL) {
    reply = cbt_http_reply (http, &len);
    *ret_json = json_loadb (reply, len, 0, NULL);
  }
  return status;
}

static const char *
str (json_t *obj, const char *key)
{
  const char *s = json_string_value (json_object_get (obj, key));

  return s ? s : "(none)";
}

static void
test_what_is_sent (void **state)
{
  struct fixture *f = *state;
  struct cbt_http *http =
      cbt_http_new (&(struct cbt_http_options){ .component = "test" });
  json_t *j = NULL;

  assert_non_null (http);
  assert_int_equal (request (http, f, "GET", "/echo", NULL, &j), 200);
  assert_string_equal (str (j, "user_agent"), "cbtrack-test/" CBTRACK_VERSION);
  assert_string_equal (str (j, "authorization"), "");
  assert_string_equal (str (j, "method"), "GET");
  assert_null (cbt_http_error (http));
  json_decref (j);
  cbt_http_free (http);

  /* No component: "cbtrack/VERSION". */
  http = cbt_http_new (NULL);
  assert_non_null (http);
  assert_int_equal (request (http, f, "GET", "/echo", NULL, &j), 200);
  assert_string_equal (str (j, "user_agent"), "cbtrack/" CBTRACK_VERSION);
  json_decref (j);
  cbt_http_free (http);
}

static void
test_token_and_reuse (void **state)
{
  struct fixture *f = *state;
  struct cbt_http *good = cbt_http_new (
      &(struct cbt_http_options){ .component = "test", .token = "tok-1" });
  struct cbt_http *none = cbt_http_new (NULL);
  json_t *j = NULL;

  assert_non_null (good);
  assert_non_null (none);
  /* The server refuses a POST without the token (the router's 401). */
  assert_int_equal (request (none, f, "POST", "/echo", "{}", NULL), 401);

  /* One handle: a POST with a body, a GET, a DELETE, a POST again. */
  assert_int_equal (request (good, f, "POST", "/echo", "{\"a\":1}", &j), 200);
  assert_string_equal (str (j, "authorization"), "Bearer tok-1");
  assert_string_equal (str (j, "content_type"), "application/json");
  assert_string_equal (str (j, "body"), "{\"a\":1}");
  assert_string_equal (str (j, "method"), "POST");
  json_decref (j);
  assert_int_equal (request (good, f, "GET", "/echo", NULL, &j), 200);
  assert_string_equal (str (j, "method"), "GET");
  assert_string_equal (str (j, "body"), "");
  json_decref (j);
  assert_int_equal (request (good, f, "DELETE", "/things/t1", NULL, &j), 200);
  assert_string_equal (str (j, "method"), "DELETE");
  json_decref (j);
  assert_int_equal (request (good, f, "POST", "/echo", "[2]", &j), 200);
  assert_string_equal (str (j, "body"), "[2]");
  json_decref (j);

  /* The dispatcher's own answers reach the client as statuses. */
  assert_int_equal (request (good, f, "GET", "/nowhere", NULL, NULL), 404);
  assert_int_equal (request (good, f, "PUT", "/echo", "{}", NULL), 405);
  assert_int_equal (request (good, f, "DELETE", "/things/a%20b", NULL, NULL),
                    400);

  /* A new token is in force at once; the old one is refused. */
  assert_int_equal (cbt_httpd_set_token (f->httpd, "tok-2"), 0);
  assert_int_equal (request (good, f, "POST", "/echo", "{}", NULL), 401);
  assert_int_equal (cbt_httpd_set_token (f->httpd, "tok-1"), 0);
  assert_int_equal (request (good, f, "POST", "/echo", "{}", NULL), 200);

  cbt_http_free (good);
  cbt_http_free (none);
}

static void
test_reply_limit (void **state)
{
  struct fixture *f = *state;
  struct cbt_http *small =
      cbt_http_new (&(struct cbt_http_options){ .max_reply = 1000 });
  struct cbt_http *large =
      cbt_http_new (&(struct cbt_http_options){ .max_reply = 64 * 1024 });
  size_t len = 0;

  assert_non_null (small);
  assert_non_null (large);
  assert_int_equal (request (small, f, "GET", "/big", NULL, NULL), -1);
  assert_non_null (strstr (cbt_http_error (small), "larger than 1000"));
  assert_int_equal (request (large, f, "GET", "/big", NULL, NULL), 200);
  cbt_http_reply (large, &len);
  assert_int_equal (len, 64 * 1024);
  /* The same handle works again after a failure. */
  assert_int_equal (request (small, f, "GET", "/echo", NULL, NULL), 200);
  assert_null (cbt_http_error (small));
  cbt_http_free (small);
  cbt_http_free (large);
}

static void
test_only_http (void **state)
{
  struct cbt_http *http = cbt_http_new (NULL);
  long status = 0;

  assert_non_null (http);
  assert_int_equal (
      cbt_http_prepare (http, "GET", "file:///etc/hostname", NULL, NULL, 0),
      0);
  assert_int_equal (cbt_http_perform (http, &status), -1);
  assert_int_equal (status, 0); /* untouched on failure */
  assert_non_null (cbt_http_error (http));
  cbt_http_free (http);
}

static void
test_stalled_peer (void **state)
{
  struct sockaddr_in sin = { .sin_family = AF_INET };
  socklen_t len = sizeof sin;
  struct cbt_http *http =
      cbt_http_new (&(struct cbt_http_options){ .timeout_ms = 300 });
  char url[64];
  long status = 0;
  int fd;

  /* A peer that accepts connections (the kernel does, into the backlog)
   * and never answers.
   */
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  fd = socket (AF_INET, SOCK_STREAM, 0);
  assert_true (fd >= 0);
  assert_int_equal (bind (fd, (struct sockaddr *)&sin, sizeof sin), 0);
  assert_int_equal (listen (fd, 4), 0);
  assert_int_equal (getsockname (fd, (struct sockaddr *)&sin, &len), 0);
  snprintf (url, sizeof url, "http://127.0.0.1:%u/", ntohs (sin.sin_port));

  assert_non_null (http);
  assert_int_equal (cbt_http_prepare (http, "GET", url, NULL, NULL, 0), 0);
  assert_int_equal (cbt_http_perform (http, &status), -1);
  assert_non_null (strstr (cbt_http_error (http), "imed out"));
  cbt_http_free (http);
  close (fd);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_what_is_sent),
    cmocka_unit_test (test_token_and_reuse),
    cmocka_unit_test (test_reply_limit),
    cmocka_unit_test (test_only_http),
    cmocka_unit_test (test_stalled_peer),
  };

  return cmocka_run_group_tests (tests, setup, teardown);
}
