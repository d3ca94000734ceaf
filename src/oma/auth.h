/* cbtrack oma - authentication: the token and users files, sessions,
 * and the HTTP server's authorize hook (the rules are in auth-logic.h).
 *
 * Threads: the hook and the handlers below run on the HTTP server's
 * workers; oma_auth_reload runs on the thread that takes SIGHUP.  One
 * mutex guards the secrets and the sessions.
 */
#ifndef CBTRACK_OMA_AUTH_H
#define CBTRACK_OMA_AUTH_H

#include <stdbool.h>

#include "common/httpd.h"
#include "oma/auth-logic.h"

struct oma_auth_config {
  const char *token_file; /* --auth-token-file, or NULL */
  const char *users_file; /* --users-file, or NULL */
  bool tls;               /* the OMA speaks HTTPS: cookies are Secure */
};

struct oma_auth;

/* Reads the files of CONFIG (whose strings must outlive the result).
 * Returns the state, or NULL with a message recorded (a file that cannot
 * be read or parsed; out of memory).  With neither file, authentication
 * is off: oma_auth_enabled says false and the hook must not be installed.
 */
struct oma_auth *oma_auth_create (const struct oma_auth_config *config);

/* Frees AUTH and forgets every session.  Accepts NULL. */
void oma_auth_free (struct oma_auth *auth);

/* True when a token or users file was given. */
bool oma_auth_enabled (const struct oma_auth *auth);

/* SIGHUP: reads the files again; on any failure the old secrets stay and
 * the log says why.  Sessions stay.
 */
void oma_auth_reload (struct oma_auth *auth);

/* The HTTP server's authorize hook (common/httpd.h); req->app is a
 * struct oma_server whose auth is enabled.  TOKEN is the --token-file
 * token (the write token), also accepted as a bearer token.
 */
bool oma_authorize (struct cbt_httpd_request *req,
                    const struct cbt_route *route, const char *token);

/* Who made REQ, for the log: the session's user, "bearer token", or
 * NULL without authentication.  Valid in the handler of REQ only.
 */
const char *oma_auth_user (struct cbt_httpd_request *req);

/* POST /api/v1/login: {"user","password"} or {"token"}, as JSON (so a
 * form of another site cannot log a browser in).  200 with
 * {"user","csrf_token"} and the session cookie; 401 otherwise.
 */
void oma_auth_login (struct cbt_httpd_request *req);

/* POST /api/v1/logout: ends the session; the cookie is cleared. */
void oma_auth_logout (struct cbt_httpd_request *req);

/* GET /api/v1/session: {"auth":false} without authentication, else
 * {"auth":true,"user","csrf_token"} for the caller's session (401 without
 * one; a bearer token has no CSRF token to give).
 */
void oma_auth_session (struct cbt_httpd_request *req);

#endif /* CBTRACK_OMA_AUTH_H */
