/* cbtrack oma - the SQLite driver of the SQL store (the embedded default).
 *
 * One connection with a rollback journal (journal_mode DELETE), with a
 * busy timeout so a briefly locked file is waited for; a lock held longer
 * makes the operation fail with -EIO and the caller retries later.  Not
 * WAL: WAL maps its -shm index file into memory, and a page of it that
 * cannot be written (a full or read-only filesystem, an immutable file)
 * kills the process with SIGBUS; a rollback journal maps nothing, so a
 * storage failure is an error like any other.  Readers such as the
 * operator's sqlite3 CLI still read beside the OMA (a write waits for
 * them up to the busy timeout).  The file is watched: when the path no
 * longer names the file that was opened (deleted, replaced), every
 * operation fails loudly instead of writing into an unlinked file.
 * Timestamps are stored as "YYYY-MM-DD HH:MM:SS" text (UTC).
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "common/error.h"
#include "oma/store-sql.h"

/* Milliseconds SQLite waits for a lock held by another connection. */
#define SQLITE_BUSY_TIMEOUT_MS 2000

struct sq_driver {
  struct oma_sql_driver base;
  sqlite3 *db;
  /* The database file as opened: checked by sq_check. */
  char *path;
  dev_t dev;
  ino_t ino;
  sqlite3_stmt *stmts[OMA_SQL_STMT_COUNT];
  sqlite3_stmt *begin, *commit, *rollback;
  /* The columns of the open query. */
  const struct oma_sql_col *cols;
  size_t ncols;
};

/* Records the connection's last error, saying WHAT failed; returns -EIO. */
static int
sq_fail (struct sq_driver *d, const char *what)
{
  cbt_set_error ("sqlite: %s: %s", what, sqlite3_errmsg (d->db));
  return -EIO;
}

/* Steps ST, which returns no rows, once and resets it. */
static int
sq_step_done (struct sq_driver *d, sqlite3_stmt *st, const char *what)
{
  int r = sqlite3_step (st);

  sqlite3_reset (st);
  if (r != SQLITE_DONE && r != SQLITE_ROW)
    return sq_fail (d, what);
  return 0;
}

/* Binds the N arguments ARGS to ST; text is copied (SQLITE_TRANSIENT). */
static int
sq_bind (struct sq_driver *d, sqlite3_stmt *st, const struct oma_sql_arg *args,
         size_t n, const char *what)
{
  char buf[32];
  size_t i;
  int r = SQLITE_OK, k;

  for (i = 0; i < n && r == SQLITE_OK; i++) {
    k = (int)i + 1;
    switch (args[i].type) {
    case OMA_SQL_NULL: r = sqlite3_bind_null (st, k); break;
    case OMA_SQL_INT: r = sqlite3_bind_int64 (st, k, args[i].i); break;
    case OMA_SQL_DOUBLE: r = sqlite3_bind_double (st, k, args[i].d); break;
    case OMA_SQL_TEXT:
      r = sqlite3_bind_text (st, k, args[i].text, -1, SQLITE_TRANSIENT);
      break;
    case OMA_SQL_TIME:
      r = sqlite3_bind_text (st, k,
                             oma_format_sql_time (args[i].i, buf, sizeof buf),
                             -1, SQLITE_TRANSIENT);
      break;
    }
  }
  return r == SQLITE_OK ? 0 : sq_fail (d, what);
}

/* Stores column I of the current row of ST into COL. */
static void
sq_column (sqlite3_stmt *st, int i, const struct oma_sql_col *col)
{
  switch (col->type) {
  case OMA_SQL_INT:
    *(int64_t *)col->dst =
        col->null_is_minus_one && sqlite3_column_type (st, i) == SQLITE_NULL
            ? -1
            : sqlite3_column_int64 (st, i);
    break;
  case OMA_SQL_DOUBLE:
    *(double *)col->dst = sqlite3_column_double (st, i);
    break;
  case OMA_SQL_TEXT:
    oma_copy_text (col->dst, col->size,
                   (const char *)sqlite3_column_text (st, i));
    break;
  case OMA_SQL_TIME:
    *(int64_t *)col->dst =
        oma_parse_sql_time ((const char *)sqlite3_column_text (st, i));
    break;
  case OMA_SQL_NULL: abort ();
  }
}

static int
sq_exec_sql (struct oma_sql_driver *drv, const char *sql, const char *what)
{
  struct sq_driver *d = (struct sq_driver *)drv;

  if (sqlite3_exec (d->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return sq_fail (d, what);
  return 0;
}

static int
sq_prepare (struct oma_sql_driver *drv, enum oma_sql_stmt id, const char *sql)
{
  struct sq_driver *d = (struct sq_driver *)drv;

  if (d->stmts[id])
    return 0;
  if (sqlite3_prepare_v3 (d->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                          &d->stmts[id], NULL) != SQLITE_OK)
    return sq_fail (d, "prepare");
  return 0;
}

static int
sq_exec (struct oma_sql_driver *drv, enum oma_sql_stmt id,
         const struct oma_sql_arg *args, size_t n, const char *what)
{
  struct sq_driver *d = (struct sq_driver *)drv;
  sqlite3_stmt *st = d->stmts[id];
  int r, changes;

  if ((r = sq_bind (d, st, args, n, what)) < 0)
    return r;
  r = sqlite3_step (st);
  sqlite3_reset (st);
  if (r == SQLITE_DONE || r == SQLITE_ROW) {
    changes = sqlite3_changes (d->db);
    return changes < 0 ? INT_MAX : changes;
  }
  r = sqlite3_extended_errcode (d->db);
  if (r == SQLITE_CONSTRAINT_PRIMARYKEY || r == SQLITE_CONSTRAINT_UNIQUE)
    return -EEXIST;
  return sq_fail (d, what);
}

static int
sq_query (struct oma_sql_driver *drv, enum oma_sql_stmt id,
          const struct oma_sql_arg *args, size_t n,
          const struct oma_sql_col *cols, size_t ncols, const char *what)
{
  struct sq_driver *d = (struct sq_driver *)drv;

  assert (d->cols == NULL);
  if (sq_bind (d, d->stmts[id], args, n, what) < 0) {
    sqlite3_reset (d->stmts[id]);
    return -EIO;
  }
  d->cols = cols;
  d->ncols = ncols;
  return 0;
}

static int
sq_fetch (struct oma_sql_driver *drv, enum oma_sql_stmt id, const char *what)
{
  struct sq_driver *d = (struct sq_driver *)drv;
  sqlite3_stmt *st = d->stmts[id];
  size_t i;
  int r;

  r = sqlite3_step (st);
  if (r == SQLITE_DONE)
    return 0;
  if (r != SQLITE_ROW)
    return sq_fail (d, what);
  for (i = 0; i < d->ncols; i++)
    sq_column (st, (int)i, &d->cols[i]);
  return 1;
}

static void
sq_end_query (struct oma_sql_driver *drv, enum oma_sql_stmt id)
{
  struct sq_driver *d = (struct sq_driver *)drv;

  sqlite3_reset (d->stmts[id]);
  d->cols = NULL;
  d->ncols = 0;
}

static int
sq_begin (struct oma_sql_driver *drv)
{
  struct sq_driver *d = (struct sq_driver *)drv;

  return sq_step_done (d, d->begin, "begin");
}

static int
sq_commit (struct oma_sql_driver *drv)
{
  struct sq_driver *d = (struct sq_driver *)drv;

  return sq_step_done (d, d->commit, "commit");
}

static void
sq_rollback (struct oma_sql_driver *drv)
{
  struct sq_driver *d = (struct sq_driver *)drv;

  /* Only when a transaction is open: a failed COMMIT may have ended it. */
  if (!sqlite3_get_autocommit (d->db)) {
    sqlite3_step (d->rollback);
    sqlite3_reset (d->rollback);
  }
}

static void
sq_close (struct oma_sql_driver *drv)
{
  struct sq_driver *d = (struct sq_driver *)drv;
  size_t i;

  if (d == NULL)
    return;
  for (i = 0; i < OMA_SQL_STMT_COUNT; i++)
    sqlite3_finalize (d->stmts[i]);
  sqlite3_finalize (d->begin);
  sqlite3_finalize (d->commit);
  sqlite3_finalize (d->rollback);
  sqlite3_close (d->db);
  free (d->path);
  free (d);
}

static int
sq_check (struct oma_sql_driver *drv)
{
  struct sq_driver *d = (struct sq_driver *)drv;
  struct stat st;

  if (stat (d->path, &st) == -1) {
    cbt_set_error_errno (errno,
                         "sqlite: the database file %s is gone (deleted "
                         "while the OMA runs); nothing is written until it "
                         "is restored and the OMA restarted",
                         d->path);
    return -EIO;
  }
  if (st.st_dev != d->dev || st.st_ino != d->ino) {
    cbt_set_error ("sqlite: the database file %s was replaced while the OMA "
                   "runs; nothing is written until the OMA is restarted",
                   d->path);
    return -EIO;
  }
  return 0;
}

static const struct oma_sql_driver_ops sqlite_ops = {
  .name = "sqlite",
  .ddl = {
    [OMA_SQL_DDL_ID] = "TEXT",
    [OMA_SQL_DDL_NAME] = "TEXT",
    [OMA_SQL_DDL_LONG] = "TEXT",
    [OMA_SQL_DDL_WORD] = "TEXT",
    [OMA_SQL_DDL_INT] = "INTEGER",
    [OMA_SQL_DDL_REAL] = "REAL",
    [OMA_SQL_DDL_TIME] = "TEXT",
    [OMA_SQL_DDL_SERIAL] = "INTEGER PRIMARY KEY AUTOINCREMENT",
    [OMA_SQL_DDL_TABLE] = "",
  },
  .upsert_conflict = "ON CONFLICT (job_id, disk_id) DO UPDATE SET",
  .upsert_new_open = "excluded.",
  .upsert_new_close = "",
  /* An embedded engine has no round trips to save. */
  .bulk_rows = 1,
  /* A write locks the whole file: claims need no row locks, and the
   * database serves one OMA.
   */
  .lock_skip_locked = "",
  .shared = false,
  .close = sq_close,
  .exec_sql = sq_exec_sql,
  .prepare = sq_prepare,
  .exec = sq_exec,
  .query = sq_query,
  .fetch = sq_fetch,
  .end_query = sq_end_query,
  .begin = sq_begin,
  .commit = sq_commit,
  .rollback = sq_rollback,
  .check = sq_check,
  /* The file is opened once, by oma_sql_sqlite_open, and the migration
   * is one transaction.  No failure is transient: SQLite has waited for
   * a lock already (SQLITE_BUSY_TIMEOUT_MS), and waiting again would only
   * stretch the bound on a poll cycle.
   */
};

/* Prepares the transaction statement *RET_ST from SQL. */
static int
sq_prepare_control (struct sq_driver *d, const char *sql,
                    sqlite3_stmt **ret_st)
{
  if (sqlite3_prepare_v3 (d->db, sql, -1, SQLITE_PREPARE_PERSISTENT, ret_st,
                          NULL) != SQLITE_OK)
    return sq_fail (d, "prepare");
  return 0;
}

struct oma_sql_driver *
oma_sql_sqlite_open (const char *path)
{
  struct sq_driver *d;

  d = calloc (1, sizeof *d);
  if (d == NULL) {
    cbt_set_error_errno (errno, "calloc");
    return NULL;
  }
  d->base.ops = &sqlite_ops;
  if (sqlite3_open_v2 (path, &d->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                           SQLITE_OPEN_NOMUTEX,
                       NULL) != SQLITE_OK) {
    cbt_set_error ("sqlite: %s: %s", path,
                   d->db ? sqlite3_errmsg (d->db) : "cannot open");
    goto err;
  }
  if (sqlite3_busy_timeout (d->db, SQLITE_BUSY_TIMEOUT_MS) != SQLITE_OK) {
    sq_fail (d, path);
    goto err;
  }
  /* A rollback journal, not WAL (see the top of this file); a database
   * left in WAL mode by an older version is converted here.  NORMAL sync
   * is durable across application crashes; the next poll rewrites what
   * a power loss may lose, since every update is absolute.  No memory
   * mapping of the file either (mmap_size 0).
   */
  if (sqlite3_exec (d->db,
                    "PRAGMA journal_mode = DELETE; PRAGMA synchronous = "
                    "NORMAL; PRAGMA mmap_size = 0; PRAGMA foreign_keys = ON",
                    NULL, NULL, NULL) != SQLITE_OK) {
    sq_fail (d, path);
    goto err;
  }
  {
    struct stat st;

    d->path = strdup (path);
    if (d->path == NULL) {
      cbt_set_error ("out of memory");
      goto err;
    }
    if (stat (path, &st) == -1) {
      cbt_set_error_errno (errno, "sqlite: %s", path);
      goto err;
    }
    d->dev = st.st_dev;
    d->ino = st.st_ino;
  }
  if (sq_prepare_control (d, "BEGIN IMMEDIATE", &d->begin) < 0 ||
      sq_prepare_control (d, "COMMIT", &d->commit) < 0 ||
      sq_prepare_control (d, "ROLLBACK", &d->rollback) < 0)
    goto err;
  return &d->base;

err:
  sq_close (&d->base);
  return NULL;
}
