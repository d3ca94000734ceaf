/* cbtrack oma - the I/O-free part of the store: --db URLs, rows, text. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/human.h"
#include "oma/store.h"

/* Copies the LEN bytes at SRC, %-decoded, into DST of SIZE bytes.
 * Returns 0, or -1 when it does not fit or an escape is malformed.
 */
static int
store_url_decode (char *dst, size_t size, const char *src, size_t len)
{
  size_t i, o = 0;

  for (i = 0; i < len; i++) {
    int c = (unsigned char)src[i];

    if (c == '%') {
      char hex[3];
      char *end;

      if (i + 2 >= len || !isxdigit ((unsigned char)src[i + 1]) ||
          !isxdigit ((unsigned char)src[i + 2]))
        return -1;
      hex[0] = src[i + 1];
      hex[1] = src[i + 2];
      hex[2] = '\0';
      c = (int)strtol (hex, &end, 16);
      if (c == 0)
        return -1;
      i += 2;
    }
    if (o + 1 >= size)
      return -1;
    dst[o++] = (char)c;
  }
  dst[o] = '\0';
  return 0;
}

/* Copies the LEN bytes at SRC into DST of SIZE bytes; -1 if too long. */
static int
store_copy_part (char *dst, size_t size, const char *src, size_t len)
{
  if (len >= size)
    return -1;
  memcpy (dst, src, len);
  dst[len] = '\0';
  return 0;
}

static int
store_parse_mysql (const char *rest, const char *url, struct oma_db_url *u)
{
  const char *at, *slash, *query, *colon, *hostpart, *hostend;
  long long port;
  char portbuf[16];

  /* USERINFO@HOSTPORT/DB?QUERY; the user info is mandatory. */
  slash = strchr (rest, '/');
  if (slash == NULL) {
    cbt_set_error ("database URL '%s' has no /DATABASE", url);
    return -1;
  }
  at = memchr (rest, '@', (size_t)(slash - rest));
  if (at == NULL) {
    cbt_set_error ("database URL '%s' has no USER@", url);
    return -1;
  }
  colon = memchr (rest, ':', (size_t)(at - rest));
  if (store_url_decode (u->user, sizeof u->user, rest,
                        (size_t)((colon ? colon : at) - rest)) == -1 ||
      u->user[0] == '\0') {
    cbt_set_error ("database URL '%s': bad user name", url);
    return -1;
  }
  if (colon && store_url_decode (u->password, sizeof u->password, colon + 1,
                                 (size_t)(at - colon - 1)) == -1) {
    cbt_set_error ("database URL '%s': bad password", url);
    return -1;
  }

  hostpart = at + 1;
  hostend = slash;
  colon = memchr (hostpart, ':', (size_t)(hostend - hostpart));
  if (store_copy_part (u->host, sizeof u->host, hostpart,
                       (size_t)((colon ? colon : hostend) - hostpart)) == -1) {
    cbt_set_error ("database URL '%s': host name too long", url);
    return -1;
  }
  if (colon) {
    if (store_copy_part (portbuf, sizeof portbuf, colon + 1,
                         (size_t)(hostend - colon - 1)) == -1 ||
        cbt_parse_int ("port", portbuf, 1, 65535, &port) == -1) {
      cbt_set_error ("database URL '%s': bad port", url);
      return -1;
    }
    u->port = (unsigned)port;
  }

  query = strchr (slash + 1, '?');
  if (store_copy_part (
          u->database, sizeof u->database, slash + 1,
          (size_t)((query ? query : slash + 1 + strlen (slash + 1)) -
                   (slash + 1))) == -1 ||
      u->database[0] == '\0' ||
      strspn (u->database, "abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$") !=
          strlen (u->database)) {
    cbt_set_error ("database URL '%s': the database name must be 1-64 "
                   "characters of [A-Za-z0-9_$]",
                   url);
    return -1;
  }
  if (query) {
    const char *p = query + 1;

    while (*p) {
      const char *end = strchr (p, '&');
      size_t len = end ? (size_t)(end - p) : strlen (p);

      if (len > 7 && strncmp (p, "socket=", 7) == 0) {
        if (store_url_decode (u->socket, sizeof u->socket, p + 7, len - 7) ==
            -1) {
          cbt_set_error ("database URL '%s': bad socket path", url);
          return -1;
        }
      } else {
        cbt_set_error ("database URL '%s': unknown parameter '%.*s'", url,
                       (int)len, p);
        return -1;
      }
      p += len + (end ? 1 : 0);
    }
  }
  return 0;
}

size_t
oma_db_url_password_span (const char *url, size_t *ret_offset)
{
  const char *rest, *slash, *at, *colon;

  if (strncmp (url, "mysql://", 8) == 0)
    rest = url + 8;
  else if (strncmp (url, "mariadb://", 10) == 0)
    rest = url + 10;
  else
    return 0;
  slash = strchr (rest, '/');
  if (slash == NULL)
    slash = rest + strlen (rest);
  /* The last '@' before the path ends the user info: an unencoded '@' in
   * a password must not leave part of it outside the span.
   */
  at = NULL;
  for (const char *p = rest; p < slash; p++)
    if (*p == '@')
      at = p;
  if (at == NULL)
    return 0;
  colon = memchr (rest, ':', (size_t)(at - rest));
  if (colon == NULL)
    return 0;
  *ret_offset = (size_t)(colon + 1 - url);
  return (size_t)(at - colon - 1);
}

void
oma_db_url_redact (const char *url, char *buf, size_t size)
{
  size_t offset = 0, len;

  assert (size > 0);
  len = oma_db_url_password_span (url, &offset);
  if (len == 0)
    snprintf (buf, size, "%s", url);
  else
    snprintf (buf, size, "%.*s***%s", (int)offset, url, url + offset + len);
}

int
oma_db_url_parse (const char *url, struct oma_db_url *ret_url)
{
  struct oma_db_url u;
  const char *rest;
  char shown[512]; /* URL as messages show it: without its password */

  memset (&u, 0, sizeof u);
  if (url == NULL || url[0] == '\0') {
    cbt_set_error ("empty database URL");
    return -1;
  }
  if (strncmp (url, "sqlite:", 7) == 0) {
    rest = url + 7;
    if (strncmp (rest, "//", 2) == 0)
      rest += 2;
    if (rest[0] == '\0' || strlen (rest) >= sizeof u.path) {
      cbt_set_error ("database URL '%s' has no usable file name", url);
      return -1;
    }
    u.kind = OMA_DB_SQLITE;
    memcpy (u.path, rest, strlen (rest) + 1);
  } else if (strncmp (url, "mysql://", 8) == 0 ||
             strncmp (url, "mariadb://", 10) == 0) {
    u.kind = OMA_DB_MARIADB;
    rest = strstr (url, "://") + 3;
    oma_db_url_redact (url, shown, sizeof shown);
    if (store_parse_mysql (rest, shown, &u) == -1) {
      memset (&u, 0, sizeof u);
      return -1;
    }
  } else {
    oma_db_url_redact (url, shown, sizeof shown);
    cbt_set_error ("database URL '%s': expected sqlite:PATH or "
                   "mysql://USER[:PASS]@HOST[:PORT]/DB",
                   shown);
    return -1;
  }
  *ret_url = u;
  return 0;
}

void
oma_job_reset (struct oma_job *job)
{
  if (job == NULL)
    return;
  oma_disk_vector_reset (&job->disks);
  oma_sample_vector_reset (&job->history);
}

void
oma_job_vector_free (oma_job_vector *jobs)
{
  size_t i;

  if (jobs == NULL)
    return;
  for (i = 0; i < jobs->len; i++)
    oma_job_reset (&jobs->ptr[i]);
  oma_job_vector_reset (jobs);
}

void
oma_copy_text (char *dst, size_t size, const char *src)
{
  size_t len;

  if (size == 0)
    return;
  if (src == NULL) {
    dst[0] = '\0';
    return;
  }
  len = strlen (src);
  if (len >= size) {
    len = size - 1;
    /* Step back over continuation bytes to the start of the character
     * that does not fit, so no partial sequence is kept.
     */
    while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
      len--;
  }
  memcpy (dst, src, len);
  dst[len] = '\0';
}

char *
oma_format_sql_time (int64_t t, char *buf, size_t len)
{
  time_t secs = (time_t)t;
  struct tm tm;

  if (t == 0 || gmtime_r (&secs, &tm) == NULL) {
    if (len > 0)
      buf[0] = '\0';
    return buf;
  }
  strftime (buf, len, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

int64_t
oma_parse_sql_time (const char *text)
{
  struct tm tm;
  const char *end;

  if (text == NULL || text[0] == '\0')
    return 0;
  memset (&tm, 0, sizeof tm);
  end = strptime (text, "%Y-%m-%d %H:%M:%S", &tm);
  if (end == NULL)
    return 0;
  return (int64_t)timegm (&tm);
}
