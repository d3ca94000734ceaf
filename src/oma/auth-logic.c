/* cbtrack oma - who may use the OMA: the decisions (see auth-logic.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "oma/auth-logic.h"

/* True when C may be part of a user name. */
static bool
auth_name_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
         c == '@';
}

int
oma_users_parse (const char *text, oma_user_vector *ret_users)
{
  oma_user_vector users = empty_vector;
  const char *line = text, *end, *colon, *p;
  unsigned lineno = 0;

  for (; *line; line = *end ? end + 1 : end) {
    struct oma_user u = { .hash = NULL };
    size_t nlen, hlen;

    lineno++;
    end = strchr (line, '\n');
    if (end == NULL)
      end = line + strlen (line);
    hlen = (size_t)(end - line);
    if (hlen > 0 && line[hlen - 1] == '\r')
      hlen--;
    if (hlen == 0 || line[0] == '#')
      continue;
    colon = memchr (line, ':', hlen);
    if (colon == NULL) {
      cbt_set_error ("users file, line %u: expected NAME:HASH", lineno);
      goto err;
    }
    nlen = (size_t)(colon - line);
    for (p = line; p < colon; p++)
      if (!auth_name_char (*p))
        break;
    if (nlen == 0 || nlen > OMA_AUTH_USER_MAX || p != colon) {
      cbt_set_error ("users file, line %u: a name is 1-%d characters of "
                     "[A-Za-z0-9._@-]",
                     lineno, OMA_AUTH_USER_MAX);
      goto err;
    }
    hlen -= nlen + 1;
    if (hlen < 2 || colon[1] != '$' || memchr (colon + 1, ':', hlen)) {
      cbt_set_error ("users file, line %u: the hash must be a crypt(3) hash "
                     "such as mkpasswd -m yescrypt or openssl passwd -6 "
                     "print (\"$y$...\", \"$6$...\")",
                     lineno);
      goto err;
    }
    memcpy (u.name, line, nlen);
    u.name[nlen] = '\0';
    if (oma_users_find (&users, u.name) != NULL) {
      cbt_set_error ("users file, line %u: user '%s' is there twice", lineno,
                     u.name);
      goto err;
    }
    u.hash = strndup (colon + 1, hlen);
    if (u.hash == NULL || oma_user_vector_append (&users, u) == -1) {
      free (u.hash);
      cbt_set_error_errno (ENOMEM, "users file");
      goto err;
    }
  }
  if (users.len == 0) {
    cbt_set_error ("the users file names no user");
    goto err;
  }
  *ret_users = users;
  return 0;

err:
  oma_users_free (&users);
  return -1;
}

void
oma_users_free (oma_user_vector *users)
{
  size_t i;

  if (users == NULL)
    return;
  for (i = 0; i < users->len; i++) {
    /* The hash is not secret, but it helps guessing: wipe it. */
    memset (users->ptr[i].hash, 0, strlen (users->ptr[i].hash));
    free (users->ptr[i].hash);
  }
  oma_user_vector_reset (users);
}

const struct oma_user *
oma_users_find (const oma_user_vector *users, const char *name)
{
  size_t i;

  for (i = 0; i < users->len; i++)
    if (strcmp (users->ptr[i].name, name) == 0)
      return &users->ptr[i];
  return NULL;
}

bool
oma_cookie_value (const char *header, const char *name, char *buf, size_t len)
{
  size_t nlen = strlen (name), vlen;
  const char *p = header, *v, *end;

  while (p != NULL && *p) {
    while (*p == ' ' || *p == ';')
      p++;
    end = strchr (p, ';');
    if (end == NULL)
      end = p + strlen (p);
    if (strncmp (p, name, nlen) == 0 && p[nlen] == '=') {
      v = p + nlen + 1;
      vlen = (size_t)(end - v);
      while (vlen > 0 && v[vlen - 1] == ' ')
        vlen--;
      if (vlen >= len)
        return false;
      memcpy (buf, v, vlen);
      buf[vlen] = '\0';
      return true;
    }
    p = end;
  }
  return false;
}

bool
oma_listen_is_loopback (const char *listen)
{
  const char *colon = strrchr (listen, ':');
  size_t hlen = colon != NULL ? (size_t)(colon - listen) : strlen (listen);

  if (hlen == 9 && strncmp (listen, "localhost", 9) == 0)
    return true;
  if (hlen == 5 && strncmp (listen, "[::1]", 5) == 0)
    return true;
  if (hlen >= 4 && strncmp (listen, "127.", 4) == 0) {
    size_t i;

    for (i = 4; i < hlen; i++)
      if (!((listen[i] >= '0' && listen[i] <= '9') || listen[i] == '.'))
        return false;
    return true;
  }
  return false;
}

enum oma_auth_verdict
oma_auth_decide (const struct oma_auth_facts *f)
{
  if (f->public_route || f->bearer_ok)
    return OMA_AUTH_ALLOW;
  if (f->session_ok)
    return f->write && !f->csrf_ok ? OMA_AUTH_NO_CSRF : OMA_AUTH_ALLOW;
  return f->page ? OMA_AUTH_TO_LOGIN : OMA_AUTH_UNAUTHORIZED;
}
