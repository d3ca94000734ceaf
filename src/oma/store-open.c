/* cbtrack oma - opening a store: the --db URL picks the driver. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/readfile.h"
#include "oma/store-sql.h"
#include "oma/store.h"

int
oma_db_password_read (const char *file, char *buf, size_t size)
{
  char *text = NULL;
  size_t len = 0, line;
  int ret = -1;

  if (cbt_read_file (file, &text, &len) == -1)
    return -1; /* the message names the file, not its contents */
  line = strcspn (text, "\r\n");
  if (line == 0)
    cbt_set_error ("%s: the password file is empty", file);
  else if (line >= size)
    cbt_set_error ("%s: the password is longer than %zu bytes", file,
                   size - 1);
  else {
    memcpy (buf, text, line);
    buf[line] = '\0';
    ret = 0;
  }
  memset (text, 0, len);
  free (text);
  return ret;
}

struct oma_store *
oma_store_open (const char *url)
{
  return oma_store_open_secret (url, NULL, NULL);
}

struct oma_store *
oma_store_open_secret (const char *url, const char *password,
                       const char *password_file)
{
  struct oma_db_url u;
  struct oma_sql_driver *drv;

  if (oma_db_url_parse (url, &u) == -1)
    return NULL;
  if (password != NULL) {
    if (strlen (password) >= sizeof u.password) {
      memset (&u, 0, sizeof u);
      cbt_set_error ("the database password is longer than %zu bytes",
                     sizeof u.password - 1);
      return NULL;
    }
    memset (u.password, 0, sizeof u.password);
    memcpy (u.password, password, strlen (password));
  } else if (password_file != NULL) {
    if (strlen (password_file) >= sizeof u.password_file) {
      memset (&u, 0, sizeof u);
      cbt_set_error ("--db-password-file: the path is too long");
      return NULL;
    }
    memset (u.password, 0, sizeof u.password);
    memcpy (u.password_file, password_file, strlen (password_file) + 1);
  }
  if (u.kind == OMA_DB_SQLITE)
    drv = oma_sql_sqlite_open (u.path);
  else {
#ifdef CBTRACK_HAVE_MARIADB
    drv = oma_sql_mariadb_open (&u);
#else
    cbt_set_error ("this cbtrack was built without MariaDB support "
                   "(meson -Dmariadb=disabled); use sqlite:PATH");
    drv = NULL;
#endif
  }
  /* The password must not linger in memory longer than needed. */
  memset (u.password, 0, sizeof u.password);
  return oma_sql_store_create (drv);
}

void
oma_store_close (struct oma_store *store)
{
  if (store)
    store->ops->close (store);
}
