/* cbtrack oma - who may use the OMA: the decisions, free of I/O.
 *
 * With authentication (--auth-token-file, --users-file; oma/auth.h does
 * the I/O), every route but the public ones (the login page and its
 * script, the login call, /healthz) needs one of:
 *
 *  - "Authorization: Bearer TOKEN" with the --auth-token-file token, or
 *    the --token-file token (the machines' write token): scripts,
 *    Prometheus, registrars;
 *  - the session cookie a login gave (browsers).  A write (any method but
 *    GET and HEAD) with a cookie also needs the header X-CSRF-Token with
 *    the session's token: the cookie is SameSite=Strict already, and a
 *    page of another origin can neither read that token nor send a custom
 *    header without a CORS preflight, which the OMA never grants.
 *
 * A request without either gets 401, except the page itself ("/"),
 * which redirects the browser to /login.
 */
#ifndef CBTRACK_OMA_AUTH_LOGIC_H
#define CBTRACK_OMA_AUTH_LOGIC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/vector.h"

#define OMA_AUTH_COOKIE "cbtrack_session"
#define OMA_AUTH_CSRF_HEADER "X-CSRF-Token"
/* A session lasts this long from its login. */
#define OMA_AUTH_SESSION_SECONDS (12 * 3600)
/* Sessions held at most; a login beyond drops the oldest. */
#define OMA_AUTH_MAX_SESSIONS 4096
/* The longest user name: as the ids of cbtrack, [A-Za-z0-9._@-]. */
#define OMA_AUTH_USER_MAX 64

/* One line of a users file. */
struct oma_user {
  char name[OMA_AUTH_USER_MAX + 1];
  char *hash; /* crypt(3) hash: "$y$..." (yescrypt), "$6$..." (SHA-512) */
};
DEFINE_VECTOR_TYPE (oma_user_vector, struct oma_user);

/* Parses TEXT, a users file: one "NAME:HASH" per line, HASH a crypt(3)
 * hash starting with "$" (mkpasswd -m yescrypt, openssl passwd -6);
 * blank lines and lines starting with "#" are skipped.  Appends the users
 * to *RET_USERS and returns 0, or returns -1 with a message naming the
 * line recorded and *RET_USERS untouched (a bad line, a name twice, no
 * user at all).
 */
int oma_users_parse (const char *text, oma_user_vector *ret_users);

/* Frees the users of *USERS and the vector.  Accepts NULL. */
void oma_users_free (oma_user_vector *users);

/* The user NAME of USERS, or NULL. */
const struct oma_user *oma_users_find (const oma_user_vector *users,
                                       const char *name);

/* Copies the value of cookie NAME in HEADER (a Cookie header, or NULL)
 * into BUF of LEN bytes.  Returns true when found and it fit.
 */
bool oma_cookie_value (const char *header, const char *name, char *buf,
                       size_t len);

/* True when LISTEN ("ADDR:PORT", "[V6]:PORT") names a loopback address:
 * 127.0.0.0/8, ::1 or "localhost".
 */
bool oma_listen_is_loopback (const char *listen);

/* The facts about one request that authorization decides on. */
struct oma_auth_facts {
  bool public_route; /* anyone may run it */
  bool write;        /* a method other than GET and HEAD */
  bool page;         /* the web page, "/" */
  bool bearer_ok;    /* a right bearer token */
  bool session_ok;   /* a valid session cookie */
  bool csrf_ok;      /* X-CSRF-Token equals the session's */
};

enum oma_auth_verdict {
  OMA_AUTH_ALLOW,
  OMA_AUTH_UNAUTHORIZED, /* 401 */
  OMA_AUTH_TO_LOGIN,     /* 303 to /login (the page, without a session) */
  OMA_AUTH_NO_CSRF,      /* 403: a write with a cookie but no CSRF token */
};

/* Decides F per the rules at the top of this file. */
enum oma_auth_verdict oma_auth_decide (const struct oma_auth_facts *f);

#endif /* CBTRACK_OMA_AUTH_LOGIC_H */
