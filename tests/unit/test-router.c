/* Unit tests of src/common/router.c: path matching, the traversal check,
 * the Allow list, the token decision, and the 404/405/401/413/400
 * verdicts with their order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/router.h"

/* The handlers are never called: the tests compare which one was chosen. */
static void
h_update (struct cbt_httpd_request *req)
{}

static void
h_get (struct cbt_httpd_request *req)
{}

static void
h_delete (struct cbt_httpd_request *req)
{}

static void
h_list (struct cbt_httpd_request *req)
{}

static void
h_health (struct cbt_httpd_request *req)
{}

static void
h_register (struct cbt_httpd_request *req)
{}

/* The VMA's table, plus a POST on an exact path. */
static const struct cbt_route routes[] = {
  { "POST", "/api/v1/progress/{id}/update", h_update, 0 },
  { "GET", "/api/v1/progress/{id}", h_get, 0 },
  { "DELETE", "/api/v1/progress/{id}", h_delete, 0 },
  { "GET", "/api/v1/progress", h_list, 0 },
  { "POST", "/api/v1/things", h_register, 0 },
  { "GET", "/healthz", h_health, 0 },
  { NULL },
};

/* Decides METHOD PATH with no token configured and a small body. */
static struct cbt_router_result
decide (const char *method, const char *path)
{
  struct cbt_router_input in = { .method = method, .path = path };
  struct cbt_router_result res;

  memset (&res, 0x55, sizeof res); /* the router must set every field */
  cbt_router_decide (routes, &in, &res);
  return res;
}

static void
test_exact_and_id_routes (void **state)
{
  struct cbt_router_result r;

  r = decide ("GET", "/healthz");
  assert_int_equal (r.verdict, CBT_ROUTE_FOUND);
  assert_ptr_equal (r.route->handler, h_health);
  assert_string_equal (r.id, "");

  r = decide ("GET", "/api/v1/progress");
  assert_int_equal (r.verdict, CBT_ROUTE_FOUND);
  assert_ptr_equal (r.route->handler, h_list);

  r = decide ("GET", "/api/v1/progress/job-1");
  assert_int_equal (r.verdict, CBT_ROUTE_FOUND);
  assert_ptr_equal (r.route->handler, h_get);
  assert_string_equal (r.id, "job-1");
  assert_string_equal (r.allow, "");

  r = decide ("DELETE", "/api/v1/progress/a.b:c_d-1");
  assert_int_equal (r.verdict, CBT_ROUTE_FOUND);
  assert_ptr_equal (r.route->handler, h_delete);
  assert_string_equal (r.id, "a.b:c_d-1");

  r = decide ("POST", "/api/v1/progress/j/update");
  assert_int_equal (r.verdict, CBT_ROUTE_FOUND);
  assert_ptr_equal (r.route->handler, h_update);
  assert_string_equal (r.id, "j");

  /* HEAD is routed as GET. */
  r = decide ("HEAD", "/api/v1/progress/j");
  assert_int_equal (r.verdict, CBT_ROUTE_FOUND);
  assert_ptr_equal (r.route->handler, h_get);
}

/* Malformed requests are refused before any route is looked at, and a
 * private route needs the token for GET too.
 */
static void
test_malformed_and_private (void **state)
{
  static const struct cbt_route private_routes[] = {
    { "GET", "/list", h_list, CBT_ROUTE_PRIVATE },
    { "GET", "/open", h_get, 0 },
    { NULL },
  };
  struct cbt_router_input in = { .method = "DELETE" };
  struct cbt_router_result r;

  in.path = "/api/v1/progress/nul1\x01zzz"; /* %00, as httpd.c decodes it */
  cbt_router_decide (routes, &in, &r);
  assert_int_equal (r.verdict, CBT_ROUTE_BAD_REQUEST);
  assert_int_equal (cbt_router_status (r.verdict), 400);
  in.path = "/healthz\n";
  in.method = "GET";
  cbt_router_decide (routes, &in, &r);
  assert_int_equal (r.verdict, CBT_ROUTE_BAD_REQUEST);
  in.path = "/healthz";
  in.conflicting_length = true;
  cbt_router_decide (routes, &in, &r);
  assert_int_equal (r.verdict, CBT_ROUTE_BAD_REQUEST);
  in.conflicting_length = false;
  in.query_len = CBT_ROUTER_QUERY_MAX + 1;
  cbt_router_decide (routes, &in, &r);
  assert_int_equal (r.verdict, CBT_ROUTE_URI_TOO_LONG);
  assert_int_equal (cbt_router_status (r.verdict), 414);
  in.query_len = CBT_ROUTER_QUERY_MAX;
  cbt_router_decide (routes, &in, &r);
  assert_int_equal (r.verdict, CBT_ROUTE_FOUND);

  in.query_len = 0;
  in.token = "s3cret";
  in.path = "/list";
  cbt_router_decide (private_routes, &in, &r);
  assert_int_equal (r.verdict, CBT_ROUTE_UNAUTHORIZED);
  in.authorization = "Bearer s3cret";
  cbt_router_decide (private_routes, &in, &r);
  assert_int_equal (r.verdict, CBT_ROUTE_FOUND);
  in.authorization = NULL;
  in.path = "/open";
  cbt_router_decide (private_routes, &in, &r);
  assert_int_equal (r.verdict, CBT_ROUTE_FOUND);
  in.token = NULL;
  in.path = "/list";
  cbt_router_decide (private_routes, &in, &r);
  assert_int_equal (r.verdict, CBT_ROUTE_FOUND);
}

static void
test_not_found (void **state)
{
  static const char *const paths[] = {
    "/",
    "/healthz/",
    "/healthzz",
    "/api/v1/progress/",          /* an empty {id} is no match */
    "/api/v1/progress/a/b",       /* {id} never spans segments */
    "/api/v1/progress/j/update/", /* the suffix must match whole */
    "/api/v1/progress/j/updates",
    "/api/v1/progressx",
    "",
  };
  size_t i;

  for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    struct cbt_router_result r = decide ("GET", paths[i]);

    assert_int_equal (r.verdict, CBT_ROUTE_NOT_FOUND);
    assert_null (r.route);
    assert_string_equal (r.allow, "");
  }
  assert_int_equal (cbt_router_status (CBT_ROUTE_NOT_FOUND), 404);
}

static void
test_method_not_allowed (void **state)
{
  struct cbt_router_result r;

  r = decide ("PUT", "/api/v1/progress/j");
  assert_int_equal (r.verdict, CBT_ROUTE_NOT_ALLOWED);
  assert_null (r.route);
  assert_string_equal (r.allow, "GET, HEAD, DELETE");

  r = decide ("GET", "/api/v1/progress/j/update");
  assert_int_equal (r.verdict, CBT_ROUTE_NOT_ALLOWED);
  assert_string_equal (r.allow, "POST");

  r = decide ("POST", "/healthz");
  assert_int_equal (r.verdict, CBT_ROUTE_NOT_ALLOWED);
  assert_string_equal (r.allow, "GET, HEAD");

  r = decide ("GET", "/api/v1/things");
  assert_int_equal (r.verdict, CBT_ROUTE_NOT_ALLOWED);
  assert_string_equal (r.allow, "POST");

  /* A wrong method on a bad id is still 405: the path is the route's. */
  r = decide ("PATCH", "/api/v1/progress/bad%20id");
  assert_int_equal (r.verdict, CBT_ROUTE_NOT_ALLOWED);
  assert_int_equal (cbt_router_status (CBT_ROUTE_NOT_ALLOWED), 405);
}

static void
test_traversal (void **state)
{
  static const char *const paths[] = {
    "/api/v1/progress/../x",        "/api/v1/progress/x/..",
    "/api/v1/progress/./x",         "/api/v1/progress/../../etc/passwd",
    "/api/v1/progress/../x/update",
  };
  struct cbt_router_result r;
  size_t i;

  for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    r = decide (i == 4 ? "POST" : "GET", paths[i]);
    assert_int_equal (r.verdict, CBT_ROUTE_BAD_ID);
    assert_null (r.route);
    assert_string_equal (r.id, "");
  }
  /* Dots inside a segment are ordinary id characters. */
  r = decide ("GET", "/api/v1/progress/a/..b");
  assert_int_equal (r.verdict, CBT_ROUTE_NOT_FOUND);
  r = decide ("GET", "/api/v1/progress/...");
  assert_int_equal (r.verdict, CBT_ROUTE_FOUND);
  assert_string_equal (r.id, "...");
  /* With a method the route lacks, a traversal is answered 405. */
  r = decide ("PUT", "/api/v1/progress/../x");
  assert_int_equal (r.verdict, CBT_ROUTE_NOT_ALLOWED);
  assert_string_equal (r.allow, "GET, HEAD, DELETE");
}

static void
test_bad_ids (void **state)
{
  char path[512];
  struct cbt_router_result r;

  r = decide ("GET", "/api/v1/progress/a b");
  assert_int_equal (r.verdict, CBT_ROUTE_BAD_ID);
  r = decide ("GET", "/api/v1/progress/..");
  assert_int_equal (r.verdict, CBT_ROUTE_BAD_ID);
  r = decide ("GET", "/api/v1/progress/caf\xc3\xa9");
  assert_int_equal (r.verdict, CBT_ROUTE_BAD_ID);
  assert_int_equal (cbt_router_status (CBT_ROUTE_BAD_ID), 400);

  /* CBT_ID_MAX characters pass, one more does not. */
  snprintf (path, sizeof path, "%s", "/api/v1/progress/");
  memset (path + strlen (path), 'a', CBT_ID_MAX);
  path[17 + CBT_ID_MAX] = '\0';
  r = decide ("GET", path);
  assert_int_equal (r.verdict, CBT_ROUTE_FOUND);
  assert_int_equal (strlen (r.id), CBT_ID_MAX);
  path[17 + CBT_ID_MAX] = 'a';
  path[17 + CBT_ID_MAX + 1] = '\0';
  r = decide ("GET", path);
  assert_int_equal (r.verdict, CBT_ROUTE_BAD_ID);
}

/* Decides with TOKEN configured and header AUTH. */
static enum cbt_route_verdict
decide_auth (const char *method, const char *path, const char *auth,
             bool too_large)
{
  struct cbt_router_input in = { .method = method,
                                 .path = path,
                                 .authorization = auth,
                                 .token = "s3cret-token",
                                 .body_too_large = too_large };
  struct cbt_router_result res;

  cbt_router_decide (routes, &in, &res);
  return res.verdict;
}

static void
test_token (void **state)
{
  static const char *const wrong[] = {
    NULL,
    "",
    "Bearer wrong",
    "Bearer s3cret",
    "Bearer s3cret-token-and-more",
    "Basic czNjcmV0LXRva2Vu",
    "s3cret-token",
    "Bearer",
    "Bearer ",
  };
  const char *update = "/api/v1/progress/j/update";
  size_t i;

  for (i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
    assert_int_equal (decide_auth ("POST", update, wrong[i], false),
                      CBT_ROUTE_UNAUTHORIZED);
    assert_int_equal (
        decide_auth ("DELETE", "/api/v1/progress/j", wrong[i], false),
        CBT_ROUTE_UNAUTHORIZED);
    assert_false (cbt_router_authorized (wrong[i], "s3cret-token"));
  }
  assert_int_equal (decide_auth ("POST", update, "Bearer s3cret-token", false),
                    CBT_ROUTE_FOUND);
  /* The scheme is case-insensitive; blanks before the token are skipped. */
  assert_int_equal (decide_auth ("POST", update, "bearer s3cret-token", false),
                    CBT_ROUTE_FOUND);
  assert_int_equal (
      decide_auth ("POST", update, "BEARER   s3cret-token", false),
      CBT_ROUTE_FOUND);
  /* Reads never need it. */
  assert_int_equal (decide_auth ("GET", "/api/v1/progress/j", NULL, false),
                    CBT_ROUTE_FOUND);
  assert_int_equal (decide_auth ("HEAD", "/healthz", NULL, false),
                    CBT_ROUTE_FOUND);
  assert_false (cbt_router_needs_token ("GET"));
  assert_false (cbt_router_needs_token ("HEAD"));
  assert_true (cbt_router_needs_token ("POST"));
  assert_true (cbt_router_needs_token ("PATCH"));
  assert_true (cbt_router_needs_token ("DELETE"));
  assert_int_equal (cbt_router_status (CBT_ROUTE_UNAUTHORIZED), 401);
}

static void
test_order (void **state)
{
  const char *update = "/api/v1/progress/j/update";

  /* 404 and 405 come before 401: an unknown path reveals nothing more. */
  assert_int_equal (decide_auth ("POST", "/nowhere", NULL, true),
                    CBT_ROUTE_NOT_FOUND);
  assert_int_equal (decide_auth ("PUT", update, NULL, true),
                    CBT_ROUTE_NOT_ALLOWED);
  /* 401 before 413: without the token the size does not matter. */
  assert_int_equal (decide_auth ("POST", update, NULL, true),
                    CBT_ROUTE_UNAUTHORIZED);
  /* 413 before a bad id. */
  assert_int_equal (decide_auth ("POST", "/api/v1/progress/a b/update",
                                 "Bearer s3cret-token", true),
                    CBT_ROUTE_TOO_LARGE);
  assert_int_equal (decide_auth ("POST", "/api/v1/progress/a b/update",
                                 "Bearer s3cret-token", false),
                    CBT_ROUTE_BAD_ID);
  /* A traversal is refused before the token is looked at. */
  assert_int_equal (
      decide_auth ("POST", "/api/v1/progress/../x/update", NULL, false),
      CBT_ROUTE_BAD_ID);
  assert_int_equal (cbt_router_status (CBT_ROUTE_TOO_LARGE), 413);
  assert_int_equal (cbt_router_status (CBT_ROUTE_FOUND), 200);
}

static void
test_secret_equal (void **state)
{
  assert_true (cbt_router_secret_equal ("abc", 3, "abc"));
  assert_false (cbt_router_secret_equal ("abc", 2, "abc"));
  assert_false (cbt_router_secret_equal ("abd", 3, "abc"));
  assert_false (cbt_router_secret_equal ("abcd", 4, "abc"));
  assert_false (cbt_router_secret_equal ("", 0, "abc"));
  /* An embedded NUL within LEN is compared, not taken as the end. */
  assert_false (cbt_router_secret_equal ("ab\0", 3, "ab"));
}

static void
test_content_length (void **state)
{
  assert_false (cbt_router_length_too_large (NULL, 100));
  assert_false (cbt_router_length_too_large ("0", 100));
  assert_false (cbt_router_length_too_large ("100", 100));
  assert_true (cbt_router_length_too_large ("101", 100));
  assert_true (cbt_router_length_too_large ("", 100));
  assert_true (cbt_router_length_too_large ("x", 100));
  assert_true (cbt_router_length_too_large ("99999999999999999999999", 100));
}

static void
test_allow_list_bounded (void **state)
{
  /* More methods than the Allow buffer holds: the list stays a valid,
   * NUL-terminated prefix.
   */
  static const struct cbt_route many[] = {
    { "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/x", h_get, 0 },
    { "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "/x", h_get, 0 },
    { "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", "/x", h_get, 0 },
    { "DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD", "/x", h_get, 0 },
    { NULL },
  };
  struct cbt_router_input in = { .method = "GET", .path = "/x" };
  struct cbt_router_result res;

  cbt_router_decide (many, &in, &res);
  assert_int_equal (res.verdict, CBT_ROUTE_NOT_ALLOWED);
  assert_true (strlen (res.allow) < sizeof res.allow);
  assert_non_null (strstr (res.allow, "AAAA"));
  assert_null (strstr (res.allow, "DDDD"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_exact_and_id_routes),
    cmocka_unit_test (test_not_found),
    cmocka_unit_test (test_method_not_allowed),
    cmocka_unit_test (test_traversal),
    cmocka_unit_test (test_bad_ids),
    cmocka_unit_test (test_token),
    cmocka_unit_test (test_order),
    cmocka_unit_test (test_secret_equal),
    cmocka_unit_test (test_content_length),
    cmocka_unit_test (test_allow_list_bounded),
    cmocka_unit_test (test_malformed_and_private),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
