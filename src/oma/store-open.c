/* cbtrack oma - opening a store: the --db URL picks the driver. */
#include <string.h>

#include "common/error.h"
#include "oma/store-sql.h"
#include "oma/store.h"

struct oma_store *
oma_store_open (const char *url)
{
  struct oma_db_url u;
  struct oma_sql_driver *drv;

  if (oma_db_url_parse (url, &u) == -1)
    return NULL;
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
