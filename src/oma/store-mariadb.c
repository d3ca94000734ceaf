/* cbtrack oma - the MariaDB/MySQL driver of the SQL store, through
 * MariaDB Connector/C.
 *
 * One connection, with every statement prepared once per connection.
 * When the server goes away (restart, network, killed connection) the
 * call fails with -EIO, the connection and its statements are dropped,
 * and the next call connects again (the store then re-checks the schema
 * and prepares again).  Timestamps are DATETIME in UTC (the session time
 * zone is +00:00); text is utf8mb4 with binary collation so that ids
 * compare exactly as in SQLite.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "common/error.h"
#include "oma/store-sql.h"

#define MD_CONNECT_TIMEOUT_S 5
#define MD_IO_TIMEOUT_S 10
/* Rows per multi-row statement (disk upserts, history samples): a round
 * trip costs far more than a row.
 */
#define MD_BULK_ROWS 32

/* The arguments of one execution, as the library takes them. */
struct md_params {
  MYSQL_BIND bind[OMA_SQL_ARGS_MAX];
  unsigned long len[OMA_SQL_ARGS_MAX];
  MYSQL_TIME tm[OMA_SQL_ARGS_MAX];
};

/* The result columns of the open query, bound to the store's variables. */
struct md_result {
  MYSQL_BIND bind[OMA_SQL_COLS_MAX];
  unsigned long len[OMA_SQL_COLS_MAX];
  my_bool is_null[OMA_SQL_COLS_MAX];
  my_bool error[OMA_SQL_COLS_MAX];
  MYSQL_TIME tm[OMA_SQL_COLS_MAX];
  const struct oma_sql_col *cols;
  size_t n;
};

struct md_driver {
  struct oma_sql_driver base;
  struct oma_db_url url;
  MYSQL *conn; /* NULL while disconnected */
  MYSQL_STMT *stmts[OMA_SQL_STMT_COUNT];
  struct md_params *params;
  struct md_result result;
  /* The error number of the last failure. */
  unsigned last;
};

#define TABLE_OPTIONS                                                         \
  " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

/* Drops the connection and its statements; the next call reconnects. */
static void
md_disconnect (struct md_driver *d)
{
  size_t i;

  for (i = 0; i < OMA_SQL_STMT_COUNT; i++)
    if (d->stmts[i]) {
      mysql_stmt_close (d->stmts[i]);
      d->stmts[i] = NULL;
    }
  if (d->conn) {
    mysql_close (d->conn);
    d->conn = NULL;
  }
}

/* True for errors after which the connection cannot be trusted. */
static bool
md_is_connection_error (unsigned err)
{
  return (err >= 2000 && err < 3000) || err == ER_CONNECTION_KILLED ||
         err == ER_SERVER_SHUTDOWN || err == ER_UNKNOWN_STMT_HANDLER ||
         err == ER_QUERY_INTERRUPTED;
}

/* Records the error of statement ST (or of the connection when ST is
 * NULL), drops a broken connection, and returns -EIO.
 */
static int
md_fail (struct md_driver *d, MYSQL_STMT *st, const char *what)
{
  if (d->conn == NULL)
    return -EIO;
  d->last = st ? mysql_stmt_errno (st) : mysql_errno (d->conn);
  cbt_set_error ("mariadb: %s: %s", what,
                 st ? mysql_stmt_error (st) : mysql_error (d->conn));
  if (md_is_connection_error (d->last))
    md_disconnect (d);
  return -EIO;
}

/* Runs SQL, which has no values, discarding any rows it returns. */
static int
md_query_plain (struct md_driver *d, const char *sql, const char *what)
{
  if (mysql_query (d->conn, sql) != 0)
    return md_fail (d, NULL, what);
  mysql_free_result (mysql_store_result (d->conn));
  return 0;
}

/* Epoch seconds T as a UTC DATETIME in *M; false when T is out of range. */
static bool
md_time_from_epoch (int64_t t, MYSQL_TIME *m)
{
  time_t secs = (time_t)t;
  struct tm tm;

  if (gmtime_r (&secs, &tm) == NULL)
    return false;
  memset (m, 0, sizeof *m);
  m->year = (unsigned)tm.tm_year + 1900;
  m->month = (unsigned)tm.tm_mon + 1;
  m->day = (unsigned)tm.tm_mday;
  m->hour = (unsigned)tm.tm_hour;
  m->minute = (unsigned)tm.tm_min;
  m->second = (unsigned)tm.tm_sec;
  m->time_type = MYSQL_TIMESTAMP_DATETIME;
  return true;
}

/* A UTC DATETIME as epoch seconds; the zero date is 0. */
static int64_t
md_time_to_epoch (const MYSQL_TIME *m)
{
  struct tm tm;

  if (m->year == 0)
    return 0;
  memset (&tm, 0, sizeof tm);
  tm.tm_year = (int)m->year - 1900;
  tm.tm_mon = (int)m->month - 1;
  tm.tm_mday = (int)m->day;
  tm.tm_hour = (int)m->hour;
  tm.tm_min = (int)m->minute;
  tm.tm_sec = (int)m->second;
  return (int64_t)timegm (&tm);
}

/* Binds the N arguments ARGS to statement ST.  Integers and doubles are
 * read from ARGS itself, which stays valid until the statement has run.
 */
static int
md_bind (struct md_driver *d, MYSQL_STMT *st, const struct oma_sql_arg *args,
         size_t n, const char *what)
{
  struct md_params *p = d->params;
  size_t i;

  assert (n <= OMA_SQL_ARGS_MAX);
  if (n == 0)
    return 0;
  memset (p->bind, 0, n * sizeof p->bind[0]);
  for (i = 0; i < n; i++) {
    MYSQL_BIND *b = &p->bind[i];

    switch (args[i].type) {
    case OMA_SQL_NULL: b->buffer_type = MYSQL_TYPE_NULL; break;
    case OMA_SQL_INT:
      b->buffer_type = MYSQL_TYPE_LONGLONG;
      b->buffer = (void *)&args[i].i;
      break;
    case OMA_SQL_DOUBLE:
      b->buffer_type = MYSQL_TYPE_DOUBLE;
      b->buffer = (void *)&args[i].d;
      break;
    case OMA_SQL_TEXT:
      p->len[i] = strlen (args[i].text);
      b->buffer_type = MYSQL_TYPE_STRING;
      b->buffer = (void *)args[i].text;
      b->buffer_length = p->len[i];
      b->length = &p->len[i];
      break;
    case OMA_SQL_TIME:
      if (!md_time_from_epoch (args[i].i, &p->tm[i])) {
        b->buffer_type = MYSQL_TYPE_NULL;
        break;
      }
      b->buffer_type = MYSQL_TYPE_DATETIME;
      b->buffer = &p->tm[i];
      break;
    }
  }
  if (mysql_stmt_bind_param (st, p->bind))
    return md_fail (d, st, what);
  return 0;
}

/* Points the result binding at COLS. */
static void
md_bind_result (struct md_result *res, const struct oma_sql_col *cols,
                size_t n)
{
  size_t i;

  assert (n <= OMA_SQL_COLS_MAX);
  memset (res->bind, 0, n * sizeof res->bind[0]);
  res->cols = cols;
  res->n = n;
  for (i = 0; i < n; i++) {
    MYSQL_BIND *b = &res->bind[i];

    b->length = &res->len[i];
    b->is_null = &res->is_null[i];
    b->error = &res->error[i];
    switch (cols[i].type) {
    case OMA_SQL_INT:
      b->buffer_type = MYSQL_TYPE_LONGLONG;
      b->buffer = cols[i].dst;
      break;
    case OMA_SQL_DOUBLE:
      b->buffer_type = MYSQL_TYPE_DOUBLE;
      b->buffer = cols[i].dst;
      break;
    case OMA_SQL_TEXT:
      b->buffer_type = MYSQL_TYPE_STRING;
      b->buffer = cols[i].dst;
      b->buffer_length = cols[i].size;
      break;
    case OMA_SQL_TIME:
      b->buffer_type = MYSQL_TYPE_DATETIME;
      b->buffer = &res->tm[i];
      break;
    case OMA_SQL_NULL: abort ();
    }
  }
}

/* After a fetch: terminate text (cut on a character boundary when it was
 * truncated), turn DATETIMEs into epoch seconds and NULLs into defaults.
 */
static void
md_finish_row (struct md_result *res)
{
  size_t i;

  for (i = 0; i < res->n; i++) {
    const struct oma_sql_col *col = &res->cols[i];
    bool null = res->is_null[i];

    switch (col->type) {
    case OMA_SQL_TEXT: {
      size_t len = null ? 0 : res->len[i];
      char *dst = col->dst;

      if (len >= col->size) {
        len = col->size - 1;
        while (len > 0 && ((unsigned char)dst[len] & 0xc0) == 0x80)
          len--;
      }
      dst[len] = '\0';
      break;
    }
    case OMA_SQL_TIME:
      *(int64_t *)col->dst = null ? 0 : md_time_to_epoch (&res->tm[i]);
      break;
    case OMA_SQL_INT:
      if (null)
        *(int64_t *)col->dst = col->null_is_minus_one ? -1 : 0;
      break;
    case OMA_SQL_DOUBLE:
      if (null)
        *(double *)col->dst = 0;
      break;
    case OMA_SQL_NULL: abort ();
    }
  }
}

/* Creates d->conn with every option a connection needs: the connect,
 * read and write timeouts (so no call waits forever, over TCP or a Unix
 * socket) and the character set.  Returns 0, or -EIO with no handle.
 */
static int
md_new_handle (struct md_driver *d)
{
  unsigned int connect_timeout = MD_CONNECT_TIMEOUT_S;
  unsigned int io_timeout = MD_IO_TIMEOUT_S;

  d->conn = mysql_init (NULL);
  if (d->conn == NULL) {
    d->last = CR_OUT_OF_MEMORY;
    cbt_set_error ("mariadb: out of memory");
    return -EIO;
  }
  if (mysql_options (d->conn, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout) !=
          0 ||
      mysql_options (d->conn, MYSQL_OPT_READ_TIMEOUT, &io_timeout) != 0 ||
      mysql_options (d->conn, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout) != 0 ||
      mysql_options (d->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0) {
    d->last = mysql_errno (d->conn);
    cbt_set_error ("mariadb: options: %s", mysql_error (d->conn));
    md_disconnect (d);
    return -EIO;
  }
  return 0;
}

static int md_connect_as (struct md_driver *d, const char *password);

/* Connects (see md_connect_as) with the password of the URL, or the one
 * read from its password file now, so that a rotated password is used
 * from the next connection on.
 */
static int
md_connect (struct oma_sql_driver *drv)
{
  struct md_driver *d = (struct md_driver *)drv;
  char password[sizeof d->url.password];
  int r;

  if (d->conn)
    return 0;
  if (d->url.password_file[0] == '\0')
    return md_connect_as (d, d->url.password);
  if (oma_db_password_read (d->url.password_file, password, sizeof password) ==
      -1) {
    /* Like an unreachable server: retried at the next use. */
    d->last = CR_CONNECTION_ERROR;
    return -EIO;
  }
  r = md_connect_as (d, password);
  memset (password, 0, sizeof password);
  return r;
}

/* Connects with PASSWORD (creating the database if it does not exist)
 * unless connected.  Returns 1 for a new connection, 0, or -EIO with
 * none left open.
 */
static int
md_connect_as (struct md_driver *d, const char *password)
{
  const struct oma_db_url *u = &d->url;
  const char *host = u->host[0] ? u->host : "localhost";
  const char *sock = u->socket[0] ? u->socket : NULL;
  char sql[160];

  if (md_new_handle (d) < 0)
    return -EIO;
  if (mysql_real_connect (d->conn, host, u->user, password, u->database,
                          u->port, sock, CLIENT_FOUND_ROWS) == NULL) {
    if (mysql_errno (d->conn) != ER_BAD_DB_ERROR)
      goto fail;
    /* The database does not exist yet: create it.  Its name was checked
     * to be [A-Za-z0-9_$] by oma_db_url_parse, so it can be quoted as an
     * identifier (identifiers cannot be bound).  A failed
     * mysql_real_connect clears the handle's options, the read and write
     * timeouts among them (the connection made next on it would wait
     * forever on a server that stops answering), so this one is made on
     * a new handle.
     */
    md_disconnect (d);
    if (md_new_handle (d) < 0)
      return -EIO;
    if (mysql_real_connect (d->conn, host, u->user, password, NULL, u->port,
                            sock, CLIENT_FOUND_ROWS) == NULL)
      goto fail;
    snprintf (sql, sizeof sql,
              "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 "
              "COLLATE utf8mb4_bin",
              u->database);
    if (mysql_query (d->conn, sql) != 0 ||
        mysql_select_db (d->conn, u->database) != 0)
      goto fail;
  }
  if (md_query_plain (d, "SET time_zone = '+00:00'", "set time zone") < 0) {
    md_disconnect (d);
    return -EIO;
  }
  return 1;

fail:
  d->last = mysql_errno (d->conn);
  cbt_set_error ("mariadb: %s", mysql_error (d->conn));
  md_disconnect (d);
  return -EIO;
}

static int
md_exec_sql (struct oma_sql_driver *drv, const char *sql, const char *what)
{
  struct md_driver *d = (struct md_driver *)drv;

  return md_query_plain (d, sql, what);
}

static int
md_prepare (struct oma_sql_driver *drv, enum oma_sql_stmt id, const char *sql)
{
  struct md_driver *d = (struct md_driver *)drv;

  if (d->stmts[id])
    return 0;
  d->stmts[id] = mysql_stmt_init (d->conn);
  if (d->stmts[id] == NULL) {
    d->last = CR_OUT_OF_MEMORY;
    cbt_set_error ("mariadb: out of memory");
    return -EIO;
  }
  if (mysql_stmt_prepare (d->stmts[id], sql, strlen (sql)))
    return md_fail (d, d->stmts[id], "prepare");
  return 0;
}

/* Binds ARGS to statement ID and executes it. */
static int
md_run (struct md_driver *d, enum oma_sql_stmt id,
        const struct oma_sql_arg *args, size_t n, const char *what)
{
  MYSQL_STMT *st = d->stmts[id];
  int r;

  if ((r = md_bind (d, st, args, n, what)) < 0)
    return r;
  if (mysql_stmt_execute (st)) {
    if (mysql_stmt_errno (st) == ER_DUP_ENTRY)
      return -EEXIST;
    return md_fail (d, st, what);
  }
  return 0;
}

static int
md_exec (struct oma_sql_driver *drv, enum oma_sql_stmt id,
         const struct oma_sql_arg *args, size_t n, const char *what)
{
  struct md_driver *d = (struct md_driver *)drv;
  my_ulonglong rows;
  int r;

  if ((r = md_run (d, id, args, n, what)) < 0)
    return r;
  rows = mysql_stmt_affected_rows (d->stmts[id]);
  return rows > INT_MAX ? INT_MAX : (int)rows;
}

static int
md_query (struct oma_sql_driver *drv, enum oma_sql_stmt id,
          const struct oma_sql_arg *args, size_t n,
          const struct oma_sql_col *cols, size_t ncols, const char *what)
{
  struct md_driver *d = (struct md_driver *)drv;
  MYSQL_STMT *st = d->stmts[id];
  int r;

  if ((r = md_run (d, id, args, n, what)) < 0)
    return r;
  md_bind_result (&d->result, cols, ncols);
  if (mysql_stmt_bind_result (st, d->result.bind) ||
      mysql_stmt_store_result (st))
    return md_fail (d, st, what);
  return 0;
}

static int
md_fetch (struct oma_sql_driver *drv, enum oma_sql_stmt id, const char *what)
{
  struct md_driver *d = (struct md_driver *)drv;
  MYSQL_STMT *st = d->stmts[id];
  int r = mysql_stmt_fetch (st);

  if (r == MYSQL_NO_DATA)
    return 0;
  if (r == 1)
    return md_fail (d, st, what);
  /* 0 or MYSQL_DATA_TRUNCATED: md_finish_row cuts over-long text. */
  md_finish_row (&d->result);
  return 1;
}

static void
md_end_query (struct oma_sql_driver *drv, enum oma_sql_stmt id)
{
  struct md_driver *d = (struct md_driver *)drv;

  if (d->conn && d->stmts[id])
    mysql_stmt_free_result (d->stmts[id]);
}

static int
md_begin (struct oma_sql_driver *drv)
{
  struct md_driver *d = (struct md_driver *)drv;

  return md_query_plain (d, "START TRANSACTION", "begin");
}

static int
md_commit (struct oma_sql_driver *drv)
{
  struct md_driver *d = (struct md_driver *)drv;

  if (mysql_commit (d->conn))
    return md_fail (d, NULL, "commit");
  return 0;
}

static void
md_rollback (struct oma_sql_driver *drv)
{
  struct md_driver *d = (struct md_driver *)drv;

  /* The failure being rolled back keeps its message; a connection that
   * cannot even roll back is not to be trusted any more.
   */
  if (d->conn && mysql_rollback (d->conn))
    md_disconnect (d);
}

static bool
md_is_transient (struct oma_sql_driver *drv)
{
  struct md_driver *d = (struct md_driver *)drv;

  switch (d->last) {
  case CR_CONNECTION_ERROR:
  case CR_CONN_HOST_ERROR:
  case CR_SERVER_GONE_ERROR:
  case CR_SERVER_LOST:
  case ER_CONNECTION_KILLED:
  case ER_SERVER_SHUTDOWN:
  case ER_LOCK_DEADLOCK:
  case ER_LOCK_WAIT_TIMEOUT:
  /* A Galera node that has not joined its cluster yet, or lost it. */
  case ER_UNKNOWN_COM_ERROR: return true;
  default: return false;
  }
}

/* A failed COMMIT with error 1213 was rolled back by the server: InnoDB's
 * deadlock victim, or Galera's certification conflict with a transaction
 * another node committed first.
 */
static bool
md_commit_undone (struct oma_sql_driver *drv)
{
  struct md_driver *d = (struct md_driver *)drv;

  return d->last == ER_LOCK_DEADLOCK;
}

/* Two OMAs starting together must not both migrate.  MariaDB commits DDL
 * by itself, so there is nothing to undo: the store records each version
 * as soon as its statements have run.
 */
static int
md_migrate_begin (struct oma_sql_driver *drv)
{
  struct md_driver *d = (struct md_driver *)drv;

  return md_query_plain (d, "SELECT GET_LOCK('cbtrack_schema', 30)",
                         "lock schema");
}

static int
md_migrate_end (struct oma_sql_driver *drv, bool commit)
{
  struct md_driver *d = (struct md_driver *)drv;

  (void)commit;
  if (d->conn &&
      mysql_query (d->conn, "SELECT RELEASE_LOCK('cbtrack_schema')") == 0)
    mysql_free_result (mysql_store_result (d->conn));
  return 0;
}

static void
md_close (struct oma_sql_driver *drv)
{
  struct md_driver *d = (struct md_driver *)drv;

  if (d == NULL)
    return;
  md_disconnect (d);
  free (d->params);
  memset (d->url.password, 0, sizeof d->url.password);
  free (d);
}

static struct oma_sql_driver *md_reopen (struct oma_sql_driver *drv);

static const struct oma_sql_driver_ops mariadb_ops = {
  .name = "mariadb",
  .ddl = {
    [OMA_SQL_DDL_ID] = "VARCHAR(128)",
    [OMA_SQL_DDL_NAME] = "VARCHAR(255)",
    [OMA_SQL_DDL_LONG] = "VARCHAR(1024)",
    [OMA_SQL_DDL_WORD] = "VARCHAR(15)",
    [OMA_SQL_DDL_INT] = "BIGINT",
    [OMA_SQL_DDL_REAL] = "DOUBLE",
    [OMA_SQL_DDL_TIME] = "DATETIME",
    [OMA_SQL_DDL_SERIAL] = "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
    [OMA_SQL_DDL_TABLE] = TABLE_OPTIONS,
  },
  .upsert_conflict = "ON DUPLICATE KEY UPDATE",
  .upsert_new_open = "VALUES(",
  .upsert_new_close = ")",
  .bulk_rows = MD_BULK_ROWS,
  .lock_skip_locked = " FOR UPDATE SKIP LOCKED",
  .shared = true,
  .close = md_close,
  .connect = md_connect,
  .exec_sql = md_exec_sql,
  .prepare = md_prepare,
  .exec = md_exec,
  .query = md_query,
  .fetch = md_fetch,
  .end_query = md_end_query,
  .begin = md_begin,
  .commit = md_commit,
  .rollback = md_rollback,
  .is_transient = md_is_transient,
  .commit_undone = md_commit_undone,
  .migrate_begin = md_migrate_begin,
  .migrate_end = md_migrate_end,
  .reopen = md_reopen,
};

static pthread_once_t md_library_once = PTHREAD_ONCE_INIT;
static int md_library_status;

static void
md_library_init (void)
{
  md_library_status = mysql_library_init (0, NULL, NULL);
}

struct oma_sql_driver *
oma_sql_mariadb_open (const struct oma_db_url *url)
{
  struct md_driver *d;

  if (pthread_once (&md_library_once, md_library_init) != 0 ||
      md_library_status != 0) {
    cbt_set_error ("mariadb: cannot initialise the client library");
    return NULL;
  }
  d = calloc (1, sizeof *d);
  if (d == NULL) {
    cbt_set_error_errno (errno, "calloc");
    return NULL;
  }
  d->base.ops = &mariadb_ops;
  d->url = *url;
  d->params = malloc (sizeof *d->params);
  if (d->params == NULL) {
    cbt_set_error_errno (errno, "malloc");
    md_close (&d->base);
    return NULL;
  }
  return &d->base;
}

/* Another driver on the same URL (password or password file included). */
static struct oma_sql_driver *
md_reopen (struct oma_sql_driver *drv)
{
  struct md_driver *d = (struct md_driver *)drv;

  return oma_sql_mariadb_open (&d->url);
}
