/* cbtrack oma - opening a store: the --db URL picks the backend. */
#include <string.h>

#include "oma/store.h"

struct oma_store *
oma_store_open (const char *url)
{
  struct oma_db_url u;
  struct oma_store *store;

  if (oma_db_url_parse (url, &u) == -1)
    return NULL;
  if (u.kind == OMA_DB_SQLITE)
    store = oma_store_sqlite_open (u.path);
  else
    store = oma_store_mariadb_open (&u);
  /* The password must not linger in memory longer than needed. */
  memset (u.password, 0, sizeof u.password);
  return store;
}

void
oma_store_close (struct oma_store *store)
{
  if (store)
    store->ops->close (store);
}
