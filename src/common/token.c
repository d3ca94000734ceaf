/* cbtrack - bearer tokens read from files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/token.h"

char *
cbt_read_token (const char *path)
{
  char buf[CBT_TOKEN_MAX + 2], *start, *end;
  FILE *fp;
  size_t n;

  fp = fopen (path, "r");
  if (fp == NULL) {
    cbt_set_error_errno (errno, "%s", path);
    return NULL;
  }
  n = fread (buf, 1, sizeof buf - 1, fp);
  fclose (fp);
  buf[n] = '\0';
  end = strchr (buf, '\n');
  if (end != NULL)
    *end = '\0';
  else if (n > CBT_TOKEN_MAX) {
    cbt_set_error ("%s: the token is longer than %d bytes", path,
                   CBT_TOKEN_MAX);
    return NULL;
  }
  for (start = buf; *start == ' ' || *start == '\t'; start++)
    ;
  end = start + strlen (start);
  while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
    *--end = '\0';
  if (*start == '\0') {
    cbt_set_error ("%s: the token file is empty", path);
    return NULL;
  }
  for (end = start; *end; end++)
    if ((unsigned char)*end < 0x21 || *end == 0x7f) {
      cbt_set_error ("%s: the token must be one word of printable "
                     "characters",
                     path);
      return NULL;
    }
  return strdup (start);
}
