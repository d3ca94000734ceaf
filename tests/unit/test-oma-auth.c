/* Unit tests of src/oma/auth-logic.c: the users file, cookies, the
 * loopback rule and who may do what.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "oma/auth-logic.h"

static void
test_users_file (void **state)
{
  oma_user_vector users = empty_vector;

  (void)state;
  assert_int_equal (oma_users_parse ("# ops\n\nalice:$6$salt$hash\r\n"
                                     "bob@example.com:$y$j9T$x$y\n",
                                     &users),
                    0);
  assert_int_equal (users.len, 2);
  assert_string_equal (oma_users_find (&users, "alice")->hash, "$6$salt$hash");
  assert_non_null (oma_users_find (&users, "bob@example.com"));
  assert_null (oma_users_find (&users, "carol"));
  oma_users_free (&users);

  /* Refused, with *RET untouched. */
  assert_int_equal (oma_users_parse ("alice\n", &users), -1);
  assert_int_equal (oma_users_parse ("alice:plaintext\n", &users), -1);
  assert_int_equal (oma_users_parse ("a b:$6$x\n", &users), -1);
  assert_int_equal (oma_users_parse (":$6$x\n", &users), -1);
  assert_int_equal (oma_users_parse ("a:$6$x\na:$6$y\n", &users), -1);
  assert_int_equal (oma_users_parse ("# nobody\n", &users), -1);
  assert_int_equal (users.len, 0);
  oma_users_free (NULL);
}

static void
test_cookies (void **state)
{
  char buf[16];

  (void)state;
  assert_true (oma_cookie_value ("a=1; cbtrack_session=abc; b=2",
                                 OMA_AUTH_COOKIE, buf, sizeof buf));
  assert_string_equal (buf, "abc");
  assert_true (oma_cookie_value ("cbtrack_session=x", OMA_AUTH_COOKIE, buf,
                                 sizeof buf));
  assert_string_equal (buf, "x");
  assert_false (oma_cookie_value ("xcbtrack_session=abc", OMA_AUTH_COOKIE, buf,
                                  sizeof buf));
  assert_false (oma_cookie_value (NULL, OMA_AUTH_COOKIE, buf, sizeof buf));
  assert_false (oma_cookie_value ("cbtrack_session=0123456789abcdef0",
                                  OMA_AUTH_COOKIE, buf, sizeof buf));
}

static void
test_loopback (void **state)
{
  (void)state;
  assert_true (oma_listen_is_loopback ("127.0.0.1:8080"));
  assert_true (oma_listen_is_loopback ("127.1.2.3:0"));
  assert_true (oma_listen_is_loopback ("[::1]:8080"));
  assert_true (oma_listen_is_loopback ("localhost:8080"));
  assert_false (oma_listen_is_loopback ("0.0.0.0:8080"));
  assert_false (oma_listen_is_loopback ("[::]:8080"));
  assert_false (oma_listen_is_loopback ("10.0.0.1:8080"));
  assert_false (oma_listen_is_loopback ("127.example.com:8080"));
}

static void
test_decide (void **state)
{
  struct oma_auth_facts f;

  (void)state;
  /* Public routes and bearer tokens pass, whatever else. */
  f = (struct oma_auth_facts){ .public_route = true, .write = true };
  assert_int_equal (oma_auth_decide (&f), OMA_AUTH_ALLOW);
  f = (struct oma_auth_facts){ .bearer_ok = true, .write = true };
  assert_int_equal (oma_auth_decide (&f), OMA_AUTH_ALLOW);
  /* A session reads; it writes only with its CSRF token. */
  f = (struct oma_auth_facts){ .session_ok = true };
  assert_int_equal (oma_auth_decide (&f), OMA_AUTH_ALLOW);
  f = (struct oma_auth_facts){ .session_ok = true, .write = true };
  assert_int_equal (oma_auth_decide (&f), OMA_AUTH_NO_CSRF);
  f.csrf_ok = true;
  assert_int_equal (oma_auth_decide (&f), OMA_AUTH_ALLOW);
  /* Nobody: the page goes to the login form, the rest is 401; a CSRF
   * header alone is nothing.
   */
  f = (struct oma_auth_facts){ .page = true };
  assert_int_equal (oma_auth_decide (&f), OMA_AUTH_TO_LOGIN);
  f = (struct oma_auth_facts){ .csrf_ok = true, .write = true };
  assert_int_equal (oma_auth_decide (&f), OMA_AUTH_UNAUTHORIZED);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_users_file),
    cmocka_unit_test (test_cookies),
    cmocka_unit_test (test_loopback),
    cmocka_unit_test (test_decide),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
