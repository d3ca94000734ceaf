/* cbtrack copy - checkpoints: reading and writing the state directory. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/readfile.h"
#include "copy/checkpoint.h"

int
checkpoint_prepare_dir (const char *dir)
{
  char path[PATH_MAX];
  size_t i, len = strlen (dir);
  struct stat st;

  if (len == 0 || len >= sizeof path) {
    cbt_set_error ("state directory '%s': bad name", dir);
    return -1;
  }
  memcpy (path, dir, len + 1);
  /* mkdir -p, each component in turn. */
  for (i = 1; i <= len; i++) {
    if (path[i] != '/' && path[i] != '\0')
      continue;
    path[i] = '\0';
    if (mkdir (path, 0700) == -1 && errno != EEXIST) {
      cbt_set_error_errno (errno, "state directory %s: cannot create %s", dir,
                           path);
      return -1;
    }
    path[i] = i < len ? '/' : '\0';
  }
  if (stat (dir, &st) == -1) {
    cbt_set_error_errno (errno, "state directory %s", dir);
    return -1;
  }
  if (!S_ISDIR (st.st_mode)) {
    cbt_set_error ("state directory %s: not a directory", dir);
    return -1;
  }
  if (access (dir, W_OK | X_OK) == -1) {
    cbt_set_error_errno (errno, "state directory %s: not writable", dir);
    return -1;
  }
  return 0;
}

int
checkpoint_load (const char *path, struct checkpoint *ret)
{
  char *text, msg[512];
  size_t len;
  int r;

  if (access (path, F_OK) == -1) {
    if (errno == ENOENT)
      return 0;
    cbt_set_error_errno (errno, "checkpoint %s", path);
    return -1;
  }
  if (cbt_read_file (path, &text, &len) == -1)
    return -1;
  r = checkpoint_decode (text, len, ret);
  free (text);
  if (r == -1) {
    snprintf (msg, sizeof msg, "%s", cbt_get_error ());
    cbt_set_error ("checkpoint %s is unreadable (%s)", path, msg);
    return -1;
  }
  return 1;
}

/* Makes the last changes to the directory holding PATH durable. */
static int
checkpoint_sync_dir (const char *path)
{
  char copy[PATH_MAX];
  int fd;

  if (strlen (path) >= sizeof copy) {
    cbt_set_error ("%s: name too long", path);
    return -1;
  }
  memcpy (copy, path, strlen (path) + 1);
  fd = open (dirname (copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd == -1) {
    cbt_set_error_errno (errno, "%s: open the directory", path);
    return -1;
  }
  if (fsync (fd) == -1) {
    cbt_set_error_errno (errno, "%s: fsync of the directory", path);
    close (fd);
    return -1;
  }
  if (close (fd) == -1) {
    cbt_set_error_errno (errno, "%s: close of the directory", path);
    return -1;
  }
  return 0;
}

int
checkpoint_save (const char *path, const struct checkpoint *cp)
{
  char tmp[PATH_MAX];
  char *text = checkpoint_encode (cp);
  size_t len, off = 0;
  int fd = -1, n;

  if (text == NULL) {
    cbt_set_error ("out of memory");
    return -1;
  }
  n = snprintf (tmp, sizeof tmp, "%s.tmp", path);
  if (n < 0 || (size_t)n >= sizeof tmp) {
    cbt_set_error ("%s: name too long", path);
    goto err;
  }
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd == -1) {
    cbt_set_error_errno (errno, "checkpoint %s", tmp);
    goto err;
  }
  len = strlen (text);
  while (off < len) {
    ssize_t r = write (fd, text + off, len - off);

    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0) {
      cbt_set_error_errno (r == 0 ? EIO : errno, "checkpoint %s: write", tmp);
      goto err;
    }
    off += (size_t)r;
  }
  if (fsync (fd) == -1) {
    cbt_set_error_errno (errno, "checkpoint %s: fsync", tmp);
    goto err;
  }
  n = close (fd);
  fd = -1;
  if (n == -1) {
    cbt_set_error_errno (errno, "checkpoint %s: close", tmp);
    goto err;
  }
  if (rename (tmp, path) == -1) {
    cbt_set_error_errno (errno, "checkpoint %s: rename", path);
    goto err;
  }
  free (text);
  return checkpoint_sync_dir (path);

err:
  if (fd >= 0)
    close (fd);
  unlink (tmp);
  free (text);
  return -1;
}

int
checkpoint_remove (const char *path)
{
  if (unlink (path) == -1) {
    if (errno == ENOENT)
      return 0;
    cbt_set_error_errno (errno, "checkpoint %s: remove", path);
    return -1;
  }
  return checkpoint_sync_dir (path);
}
