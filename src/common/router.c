/* cbtrack - the HTTP router (see router.h for the rules it applies). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ids.h"
#include "common/router.h"

/* How a path matches a route pattern (see router_match). */
enum router_match_kind {
  ROUTER_NO_MATCH,
  ROUTER_MATCH,     /* {id} is one segment (or the route is exact) */
  ROUTER_TRAVERSAL, /* {id} would span segments, one being "." or ".." */
};

/* True when the LEN bytes at S contain a "." or ".." segment. */
static bool
router_has_dot_segment (const char *s, size_t len)
{
  size_t i = 0, j;

  while (i < len) {
    for (j = i; j < len && s[j] != '/'; j++)
      ;
    if ((j - i == 1 && s[i] == '.') ||
        (j - i == 2 && s[i] == '.' && s[i + 1] == '.'))
      return true;
    i = j + 1;
  }
  return false;
}

/* Matches PATH against route pattern PATTERN.  For ROUTER_MATCH on an
 * {id} route and for ROUTER_TRAVERSAL the would-be id is
 * PATH[*RET_OFF .. *RET_OFF + *RET_LEN); for an exact route both are 0.
 */
static enum router_match_kind
router_match (const char *pattern, const char *path, size_t *ret_off,
              size_t *ret_len)
{
  const char *hole = strstr (pattern, "{id}");
  size_t plen, prefix, suffix, idlen;

  if (hole == NULL) {
    if (strcmp (pattern, path) != 0)
      return ROUTER_NO_MATCH;
    *ret_off = *ret_len = 0;
    return ROUTER_MATCH;
  }
  plen = strlen (path);
  prefix = (size_t)(hole - pattern);
  suffix = strlen (hole + 4);
  if (plen <= prefix + suffix || strncmp (path, pattern, prefix) != 0 ||
      strcmp (path + plen - suffix, hole + 4) != 0)
    return ROUTER_NO_MATCH;
  idlen = plen - prefix - suffix;
  *ret_off = prefix;
  *ret_len = idlen;
  if (memchr (path + prefix, '/', idlen) == NULL)
    return ROUTER_MATCH;
  return router_has_dot_segment (path + prefix, idlen) ? ROUTER_TRAVERSAL
                                                       : ROUTER_NO_MATCH;
}

/* Appends METHOD to the comma-separated list ALLOW (of SIZE bytes) unless
 * it is already there.  A list that would not fit stays as it was.
 */
static void
router_allow_add (char *allow, size_t size, const char *method)
{
  size_t len = strlen (allow), mlen = strlen (method);
  const char *p = allow;
  int n;

  while ((p = strstr (p, method)) != NULL) {
    if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0'))
      return;
    p += mlen;
  }
  n = snprintf (allow + len, size - len, "%s%s", len ? ", " : "", method);
  if (n < 0 || (size_t)n >= size - len)
    allow[len] = '\0';
}

/* Finds the route for METHOD on PATH among matches of kind WANT.  Returns
 * it, with the would-be id's place in *RET_OFF and *RET_LEN, or NULL with
 * ALLOW listing the methods that the path has (empty when the path is
 * unknown).
 */
static const struct cbt_route *
router_find (const struct cbt_route *routes, const char *method,
             const char *path, enum router_match_kind want, char *allow,
             size_t size, size_t *ret_off, size_t *ret_len)
{
  const struct cbt_route *r;
  size_t off = 0, len = 0;

  if (strcmp (method, "HEAD") == 0)
    method = "GET";
  allow[0] = '\0';
  for (r = routes; r->method != NULL; r++) {
    if (router_match (r->path, path, &off, &len) != want)
      continue;
    if (strcmp (r->method, method) == 0) {
      *ret_off = off;
      *ret_len = len;
      return r;
    }
    router_allow_add (allow, size, r->method);
    if (strcmp (r->method, "GET") == 0)
      router_allow_add (allow, size, "HEAD");
  }
  return NULL;
}

/* True when PATH has no control character (C0 or DEL). */
static bool
router_path_is_clean (const char *path)
{
  const unsigned char *p;

  for (p = (const unsigned char *)path; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return false;
  return true;
}

void
cbt_router_decide (const struct cbt_route *routes,
                   const struct cbt_router_input *in,
                   struct cbt_router_result *ret_result)
{
  struct cbt_router_result *res = ret_result;
  const struct cbt_route *route;
  size_t off = 0, len = 0;

  res->route = NULL;
  res->id[0] = '\0';
  res->allow[0] = '\0';
  if (in->conflicting_length || !router_path_is_clean (in->path)) {
    res->verdict = CBT_ROUTE_BAD_REQUEST;
    return;
  }
  if (in->query_len > CBT_ROUTER_QUERY_MAX) {
    res->verdict = CBT_ROUTE_URI_TOO_LONG;
    return;
  }
  route = router_find (routes, in->method, in->path, ROUTER_MATCH, res->allow,
                       sizeof res->allow, &off, &len);
  if (route == NULL && res->allow[0] == '\0') {
    /* Only a path that is no route's at all may be a traversal attempt:
     * with the route's method that is a bad id rather than an unknown
     * path; with another method it is answered 405 like the route.
     */
    if (router_find (routes, in->method, in->path, ROUTER_TRAVERSAL,
                     res->allow, sizeof res->allow, &off, &len) != NULL) {
      res->allow[0] = '\0';
      res->verdict = CBT_ROUTE_BAD_ID;
      return;
    }
  }
  if (route == NULL && res->allow[0] == '\0') {
    res->verdict = CBT_ROUTE_NOT_FOUND;
    return;
  }
  if (route == NULL) {
    res->verdict = CBT_ROUTE_NOT_ALLOWED;
    return;
  }
  if (in->token != NULL &&
      (cbt_router_needs_token (in->method) ||
       (route->flags & CBT_ROUTE_PRIVATE)) &&
      !cbt_router_authorized (in->authorization, in->token)) {
    res->verdict = CBT_ROUTE_UNAUTHORIZED;
    return;
  }
  if (in->body_too_large) {
    res->verdict = CBT_ROUTE_TOO_LARGE;
    return;
  }
  if (strstr (route->path, "{id}") != NULL) {
    if (len > CBT_ID_MAX) {
      res->verdict = CBT_ROUTE_BAD_ID;
      return;
    }
    memcpy (res->id, in->path + off, len);
    res->id[len] = '\0';
    if (!cbt_id_is_valid (res->id)) {
      res->id[0] = '\0';
      res->verdict = CBT_ROUTE_BAD_ID;
      return;
    }
  }
  res->route = route;
  res->verdict = CBT_ROUTE_FOUND;
}

unsigned
cbt_router_status (enum cbt_route_verdict verdict)
{
  switch (verdict) {
  case CBT_ROUTE_FOUND: return 200;
  case CBT_ROUTE_NOT_FOUND: return 404;
  case CBT_ROUTE_NOT_ALLOWED: return 405;
  case CBT_ROUTE_UNAUTHORIZED: return 401;
  case CBT_ROUTE_TOO_LARGE: return 413;
  case CBT_ROUTE_BAD_ID: return 400;
  case CBT_ROUTE_BAD_REQUEST: return 400;
  case CBT_ROUTE_URI_TOO_LONG: return 414;
  }
  return 500;
}

bool
cbt_router_needs_token (const char *method)
{
  return strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0;
}

bool
cbt_router_secret_equal (const char *a, size_t len, const char *secret)
{
  size_t n = strlen (secret), i;
  unsigned char diff = len != n;

  /* Always walk the whole secret, so the time taken does not reveal how
   * many leading characters were right.
   */
  for (i = 0; i < n; i++)
    diff |= (unsigned char)secret[i] ^ (unsigned char)(i < len ? a[i] : 0);
  return diff == 0;
}

bool
cbt_router_authorized (const char *authorization, const char *token)
{
  const char *p = authorization;

  if (p == NULL || strncasecmp (p, "Bearer ", 7) != 0)
    return false;
  p += 7;
  while (*p == ' ')
    p++;
  return cbt_router_secret_equal (p, strlen (p), token);
}

bool
cbt_router_length_too_large (const char *content_length, size_t max)
{
  unsigned long long n;
  char *end;

  if (content_length == NULL)
    return false;
  errno = 0;
  n = strtoull (content_length, &end, 10);
  return errno != 0 || end == content_length || n > max;
}
