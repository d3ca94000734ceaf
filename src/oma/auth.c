/* cbtrack oma - authentication (see auth.h and auth-logic.h). */
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/error.h"
#include "common/log.h"
#include "common/readfile.h"
#include "common/router.h"
#include "common/timeutil.h"
#include "common/token.h"
#include "oma/auth.h"
#include "oma/oma.h"

/* Random bytes in a session id and in its CSRF token (hex doubles them). */
#define AUTH_ID_BYTES 32
#define AUTH_CSRF_BYTES 16

struct auth_session {
  char id[2 * AUTH_ID_BYTES + 1];
  char csrf[2 * AUTH_CSRF_BYTES + 1];
  char user[OMA_AUTH_USER_MAX + 1];
  double expires; /* CLOCK_MONOTONIC */
};
DEFINE_VECTOR_TYPE (auth_session_vector, struct auth_session);

struct oma_auth {
  struct oma_auth_config config;
  pthread_mutex_t lock; /* guards everything below */
  char *token;          /* --auth-token-file's, or NULL */
  oma_user_vector users;
  auth_session_vector sessions; /* oldest first */
};

/* Who the current request is, for oma_auth_user: set by the hook. */
static _Thread_local char auth_current_user[OMA_AUTH_USER_MAX + 16];

/* A hash no password matches, for names that are not users: checking a
 * password against it takes as long as against a user's own, so the
 * answer's time does not tell which names exist.
 */
static const char auth_dummy_hash[] =
    "$6$cbtrack.nouser$0000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000";

/* Reads the files of A's configuration into *RET_TOKEN and *RET_USERS.
 * Returns 0, or -1 with a message recorded and both untouched.
 */
static int
auth_read (const struct oma_auth *a, char **ret_token,
           oma_user_vector *ret_users)
{
  oma_user_vector users = empty_vector;
  char *token = NULL, *text = NULL;
  size_t len;

  if (a->config.token_file != NULL &&
      (token = cbt_read_token (a->config.token_file)) == NULL)
    return -1;
  if (a->config.users_file != NULL) {
    if (cbt_read_file (a->config.users_file, &text, &len) == -1 ||
        oma_users_parse (text, &users) == -1) {
      if (token != NULL)
        memset (token, 0, strlen (token));
      free (token);
      free (text);
      return -1;
    }
    free (text);
  }
  *ret_token = token;
  *ret_users = users;
  return 0;
}

/* Wipes and frees TOKEN. */
static void
auth_free_token (char *token)
{
  if (token != NULL)
    memset (token, 0, strlen (token));
  free (token);
}

struct oma_auth *
oma_auth_create (const struct oma_auth_config *config)
{
  struct oma_auth *a = calloc (1, sizeof *a);
  int err;

  if (a == NULL) {
    cbt_set_error_errno (errno, "calloc");
    return NULL;
  }
  a->config = *config;
  if (auth_read (a, &a->token, &a->users) == -1) {
    free (a);
    return NULL;
  }
  err = pthread_mutex_init (&a->lock, NULL);
  if (err != 0) {
    cbt_set_error_errno (err, "pthread_mutex_init");
    auth_free_token (a->token);
    oma_users_free (&a->users);
    free (a);
    return NULL;
  }
  return a;
}

void
oma_auth_free (struct oma_auth *auth)
{
  if (auth == NULL)
    return;
  auth_free_token (auth->token);
  oma_users_free (&auth->users);
  auth_session_vector_reset (&auth->sessions);
  pthread_mutex_destroy (&auth->lock);
  free (auth);
}

bool
oma_auth_enabled (const struct oma_auth *auth)
{
  return auth != NULL &&
         (auth->config.token_file != NULL || auth->config.users_file != NULL);
}

void
oma_auth_reload (struct oma_auth *auth)
{
  oma_user_vector users, old_users;
  char *token, *old_token;

  if (!oma_auth_enabled (auth))
    return;
  if (auth_read (auth, &token, &users) == -1) {
    cbt_log (CBT_LOG_WARNING, "oma",
             "SIGHUP: cannot re-read the authentication files (%s); the "
             "previous ones stay in force",
             cbt_get_error ());
    return;
  }
  pthread_mutex_lock (&auth->lock);
  old_token = auth->token;
  old_users = auth->users;
  auth->token = token;
  auth->users = users;
  pthread_mutex_unlock (&auth->lock);
  auth_free_token (old_token);
  oma_users_free (&old_users);
  cbt_log (CBT_LOG_INFO, "oma", "SIGHUP: re-read the authentication files");
}

/* Fills BUF with 2 * N hex digits of kernel randomness.  Returns 0, or
 * -1 when the kernel has none to give.
 */
static int
auth_random_hex (char *buf, size_t n)
{
  unsigned char rnd[AUTH_ID_BYTES];
  size_t i;

  if (n > sizeof rnd || getrandom (rnd, n, 0) != (ssize_t)n)
    return -1;
  for (i = 0; i < n; i++)
    snprintf (buf + 2 * i, 3, "%02x", rnd[i]);
  return 0;
}

/* The session of REQ's cookie, copied into *RET (false when none, or
 * expired).  Caller holds the lock.
 */
static bool
auth_find_session (struct oma_auth *a, struct cbt_httpd_request *req,
                   struct auth_session *ret)
{
  char id[2 * AUTH_ID_BYTES + 1];
  double now = cbt_now_mono ();
  bool found = false;
  size_t i;

  if (!oma_cookie_value (cbt_httpd_header (req, "Cookie"), OMA_AUTH_COOKIE, id,
                         sizeof id) ||
      strlen (id) != 2 * AUTH_ID_BYTES)
    return false;
  /* Every session is compared, in time independent of where they differ. */
  for (i = 0; i < a->sessions.len; i++)
    if (cbt_router_secret_equal (id, strlen (id), a->sessions.ptr[i].id) &&
        a->sessions.ptr[i].expires > now) {
      *ret = a->sessions.ptr[i];
      found = true;
    }
  return found;
}

/* True when REQ's Authorization header holds the auth token or the write
 * TOKEN.  Caller holds the lock.
 */
static bool
auth_bearer_ok (struct oma_auth *a, struct cbt_httpd_request *req,
                const char *token)
{
  const char *authz = cbt_httpd_header (req, "Authorization");

  return (a->token != NULL && cbt_router_authorized (authz, a->token)) ||
         (token != NULL && cbt_router_authorized (authz, token));
}

bool
oma_authorize (struct cbt_httpd_request *req, const struct cbt_route *route,
               const char *token)
{
  struct oma_server *server = req->app;
  struct oma_auth *a = server->auth;
  struct auth_session s;
  struct oma_auth_facts f = {
    .public_route = (route->flags & CBT_ROUTE_PUBLIC) != 0,
    .write =
        strcmp (req->method, "GET") != 0 && strcmp (req->method, "HEAD") != 0,
    .page = strcmp (route->path, "/") == 0,
  };
  const char *csrf;

  auth_current_user[0] = '\0';
  pthread_mutex_lock (&a->lock);
  f.bearer_ok = auth_bearer_ok (a, req, token);
  f.session_ok = !f.bearer_ok && auth_find_session (a, req, &s);
  pthread_mutex_unlock (&a->lock);
  if (f.session_ok) {
    csrf = cbt_httpd_header (req, OMA_AUTH_CSRF_HEADER);
    f.csrf_ok =
        csrf != NULL && cbt_router_secret_equal (csrf, strlen (csrf), s.csrf);
    snprintf (auth_current_user, sizeof auth_current_user, "%s", s.user);
  } else if (f.bearer_ok)
    snprintf (auth_current_user, sizeof auth_current_user, "bearer token");

  switch (oma_auth_decide (&f)) {
  case OMA_AUTH_ALLOW: return true;
  case OMA_AUTH_TO_LOGIN:
    cbt_httpd_add_header (req, "Location", "/login");
    cbt_httpd_respond_data (req, 303, "text/plain; charset=utf-8",
                            "log in at /login\n", 17, CBT_HTTPD_MEM_STATIC);
    return false;
  case OMA_AUTH_NO_CSRF:
    cbt_httpd_respond_error (req, 403,
                             "a write with a session cookie needs the "
                             "header " OMA_AUTH_CSRF_HEADER
                             " (GET /api/v1/session gives it)");
    return false;
  case OMA_AUTH_UNAUTHORIZED:
  default:
    cbt_httpd_add_header (req, "WWW-Authenticate", "Bearer");
    cbt_httpd_respond_error (req, 401,
                             "authentication required: log in at /login, "
                             "or send Authorization: Bearer TOKEN");
    return false;
  }
}

const char *
oma_auth_user (struct cbt_httpd_request *req)
{
  struct oma_server *server = req->app;

  return oma_auth_enabled (server->auth) && auth_current_user[0] != '\0'
             ? auth_current_user
             : NULL;
}

/* Formats the Set-Cookie value for session ID (NULL: clear the cookie)
 * into BUF of LEN bytes.
 */
static const char *
auth_cookie (const struct oma_auth *a, const char *id, char *buf, size_t len)
{
  snprintf (buf, len, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
            OMA_AUTH_COOKIE, id ? id : "", id ? OMA_AUTH_SESSION_SECONDS : 0,
            a->config.tls ? "; Secure" : "");
  return buf;
}

/* Checks PASSWORD against HASH with crypt(3) (libxcrypt).  True when
 * they match.
 */
static bool
auth_password_ok (const char *password, const char *hash)
{
  struct crypt_data *cd = calloc (1, sizeof *cd);
  const char *out;
  bool ok;

  if (cd == NULL)
    return false;
  /* crypt_rn (libxcrypt), not crypt_r: the sanitizers intercept crypt_r,
   * and with --as-needed their interceptor has no libcrypt to call.
   */
  out = crypt_rn (password, hash, cd, (int)sizeof *cd);
  ok = out != NULL && out[0] != '*' &&
       cbt_router_secret_equal (out, strlen (out), hash);
  explicit_bzero (cd, sizeof *cd);
  free (cd);
  return ok;
}

/* Decides whether the login document BODY names a user (or the token) we
 * know; sets RET_USER (LEN bytes) to the user's name ("token" for the
 * token).
 */
static bool
auth_check_login (struct oma_auth *a, json_t *body, char *ret_user, size_t len)
{
  const char *user = json_string_value (json_object_get (body, "user"));
  const char *password =
      json_string_value (json_object_get (body, "password"));
  const char *token = json_string_value (json_object_get (body, "token"));
  const struct oma_user *u;
  char *hash = NULL;
  bool ok = false;

  pthread_mutex_lock (&a->lock);
  if (token != NULL) {
    ok = a->token != NULL &&
         cbt_router_secret_equal (token, strlen (token), a->token);
    snprintf (ret_user, len, "token");
    pthread_mutex_unlock (&a->lock);
    return ok;
  }
  if (user == NULL || password == NULL) {
    pthread_mutex_unlock (&a->lock);
    return false;
  }
  u = oma_users_find (&a->users, user);
  /* crypt runs without the lock: yescrypt takes its time on purpose. */
  hash = strdup (u != NULL ? u->hash : auth_dummy_hash);
  pthread_mutex_unlock (&a->lock);
  if (hash == NULL)
    return false;
  ok = auth_password_ok (password, hash) && u != NULL;
  free (hash);
  snprintf (ret_user, len, "%s", user);
  return ok;
}

void
oma_auth_login (struct cbt_httpd_request *req)
{
  struct oma_server *server = req->app;
  struct oma_auth *a = server->auth;
  const char *ctype = cbt_httpd_header (req, "Content-Type");
  struct auth_session s = { .expires = 0 };
  char cookie[256];
  json_t *body;
  bool ok;

  if (!oma_auth_enabled (a)) {
    cbt_httpd_respond_error (req, 404, "authentication is not configured");
    return;
  }
  if (ctype == NULL || strncmp (ctype, "application/json", 16) != 0) {
    cbt_httpd_respond_error (req, 415, "send the login as application/json");
    return;
  }
  body = json_loadb (req->body, req->body_len, 0, NULL);
  ok = json_is_object (body) &&
       auth_check_login (a, body, s.user, sizeof s.user);
  json_decref (body);
  if (!ok) {
    cbt_log (CBT_LOG_WARNING, "oma", "failed login%s%s",
             s.user[0] ? " as " : "", s.user);
    cbt_httpd_respond_error (req, 401, "wrong user, password or token");
    return;
  }
  if (auth_random_hex (s.id, AUTH_ID_BYTES) == -1 ||
      auth_random_hex (s.csrf, AUTH_CSRF_BYTES) == -1) {
    cbt_httpd_respond_error (req, 503, "no randomness for a session yet");
    return;
  }
  s.expires = cbt_now_mono () + OMA_AUTH_SESSION_SECONDS;
  pthread_mutex_lock (&a->lock);
  /* Drop expired sessions, and the oldest when full. */
  while (a->sessions.len > 0 &&
         (a->sessions.len >= OMA_AUTH_MAX_SESSIONS ||
          a->sessions.ptr[0].expires <= cbt_now_mono ())) {
    memmove (&a->sessions.ptr[0], &a->sessions.ptr[1],
             (a->sessions.len - 1) * sizeof s);
    a->sessions.len--;
  }
  ok = auth_session_vector_append (&a->sessions, s) == 0;
  pthread_mutex_unlock (&a->lock);
  if (!ok) {
    cbt_httpd_respond_error (req, 503, "out of memory");
    return;
  }
  cbt_log (CBT_LOG_INFO, "oma", "%s logged in", s.user);
  cbt_httpd_add_header (req, "Set-Cookie",
                        auth_cookie (a, s.id, cookie, sizeof cookie));
  cbt_httpd_add_header (req, "Cache-Control", "no-store");
  cbt_httpd_respond_json (
      req, 200, json_pack ("{s:s,s:s}", "user", s.user, "csrf_token", s.csrf));
  explicit_bzero (&s, sizeof s);
}

void
oma_auth_logout (struct cbt_httpd_request *req)
{
  struct oma_server *server = req->app;
  struct oma_auth *a = server->auth;
  struct auth_session s;
  char cookie[256];
  size_t i;

  pthread_mutex_lock (&a->lock);
  if (auth_find_session (a, req, &s))
    for (i = 0; i < a->sessions.len; i++)
      if (strcmp (a->sessions.ptr[i].id, s.id) == 0) {
        memmove (&a->sessions.ptr[i], &a->sessions.ptr[i + 1],
                 (a->sessions.len - i - 1) * sizeof s);
        a->sessions.len--;
        break;
      }
  pthread_mutex_unlock (&a->lock);
  cbt_httpd_add_header (req, "Set-Cookie",
                        auth_cookie (a, NULL, cookie, sizeof cookie));
  cbt_httpd_respond_json (req, 200, json_pack ("{s:s}", "status", "success"));
}

void
oma_auth_session (struct cbt_httpd_request *req)
{
  struct oma_server *server = req->app;
  struct oma_auth *a = server->auth;
  struct auth_session s;
  bool found;

  if (!oma_auth_enabled (a)) {
    cbt_httpd_respond_json (req, 200, json_pack ("{s:b}", "auth", 0));
    return;
  }
  pthread_mutex_lock (&a->lock);
  found = auth_find_session (a, req, &s);
  pthread_mutex_unlock (&a->lock);
  if (!found) {
    cbt_httpd_respond_error (req, 401, "no session: log in at /login");
    return;
  }
  cbt_httpd_add_header (req, "Cache-Control", "no-store");
  cbt_httpd_respond_json (req, 200,
                          json_pack ("{s:b,s:s,s:s}", "auth", 1, "user",
                                     s.user, "csrf_token", s.csrf));
}
