/* cbtrack oma - MariaDB/MySQL store, through MariaDB Connector/C.
 *
 * One connection, serialised by a mutex, with every statement prepared
 * once per connection.  When the server goes away (restart, network,
 * killed connection) the operation fails with -EIO, the connection and
 * its statements are dropped, and the next operation connects again,
 * re-checks the schema and re-prepares: callers only have to retry.
 * Timestamps are DATETIME in UTC (the session time zone is +00:00); text
 * is utf8mb4 with binary collation so that ids compare exactly as in
 * SQLite.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "oma/store.h"

#define MD_CONNECT_TIMEOUT_S 5
#define MD_IO_TIMEOUT_S 30
/* Rows per multi-row statement (disk upserts, history samples). */
#define MD_BULK_ROWS 32
#define MD_MAX_ARGS (MD_BULK_ROWS * 8)
#define MD_MAX_COLS 20

struct md_args;

struct store_mariadb {
  struct oma_store base;
  pthread_mutex_t lock;
  struct oma_db_url url;
  MYSQL *conn; /* NULL while disconnected */
  MYSQL_STMT **stmts;
  struct md_args *args; /* the arguments being bound (under the lock) */
};

#define JOB_COLUMNS                                                           \
  "id, source_vm_name, replication_type, status, current_operation, "         \
  "progress_percent, setup_progress_percent, bytes_transferred, "             \
  "total_bytes, transfer_speed_bps, eta_seconds, vma_url, error_message, "    \
  "created_at, updated_at, started_at, completed_at, last_progress_at"
#define DISK_COLUMNS                                                          \
  "disk_id, capacity_bytes, total_bytes, bytes_synced, "                      \
  "sync_progress_percent, sync_status, updated_at"
#define ACTIVE "('pending', 'replicating')"

/* The disk upsert and the sample insert, cut where their multi-row forms
 * repeat the row.
 */
#define DISK_UPSERT_HEAD                                                      \
  "INSERT INTO vm_disks (job_id, " DISK_COLUMNS ") VALUES "
#define DISK_ROW "(?, ?, ?, ?, ?, ?, ?, ?)"
#define DISK_UPSERT_TAIL                                                      \
  " ON DUPLICATE KEY UPDATE "                                                 \
  "capacity_bytes = IF(VALUES(capacity_bytes) > 0, "                          \
  "VALUES(capacity_bytes), capacity_bytes), "                                 \
  "total_bytes = VALUES(total_bytes), "                                       \
  "bytes_synced = VALUES(bytes_synced), "                                     \
  "sync_progress_percent = VALUES(sync_progress_percent), "                   \
  "sync_status = VALUES(sync_status), updated_at = VALUES(updated_at)"
#define SAMPLE_INSERT_HEAD                                                    \
  "INSERT INTO replication_progress_history (job_id, sampled_at, "            \
  "bytes_transferred, transfer_speed_bps, progress_percent) VALUES "
#define SAMPLE_ROW "(?, ?, ?, ?, ?)"

static char md_disk_bulk_sql[sizeof DISK_UPSERT_HEAD +
                             MD_BULK_ROWS * (sizeof DISK_ROW + 2) +
                             sizeof DISK_UPSERT_TAIL];
static char md_sample_bulk_sql[sizeof SAMPLE_INSERT_HEAD +
                               MD_BULK_ROWS * (sizeof SAMPLE_ROW + 2)];

enum stmt_id {
  ST_JOB_INSERT,
  ST_DISK_UPSERT,
  ST_JOB_SELECT,
  ST_DISKS_OF_JOB,
  ST_HISTORY_OF_JOB,
  ST_JOB_LIST,
  ST_DISK_LIST,
  ST_JOB_LIST_ACTIVE,
  ST_JOB_PATCH,
  ST_JOB_PROGRESS,
  ST_JOB_FAIL,
  ST_DISKS_FAIL,
  ST_SAMPLE_INSERT,
  ST_SAMPLE_CUTOFF,
  ST_SAMPLE_TRIM,
  ST_SCHEMA_VERSION,
  ST_SCHEMA_SET,
  ST_DISK_UPSERT_BULK,
  ST_SAMPLE_INSERT_BULK,
  ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
  [ST_JOB_INSERT] = "INSERT INTO replication_jobs (" JOB_COLUMNS ") "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "?, ?, ?)",
  [ST_DISK_UPSERT] = "INSERT INTO vm_disks (job_id, " DISK_COLUMNS ") "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                     "ON DUPLICATE KEY UPDATE "
                     "capacity_bytes = IF(VALUES(capacity_bytes) > 0, "
                     "VALUES(capacity_bytes), capacity_bytes), "
                     "total_bytes = VALUES(total_bytes), "
                     "bytes_synced = VALUES(bytes_synced), "
                     "sync_progress_percent = VALUES(sync_progress_percent), "
                     "sync_status = VALUES(sync_status), "
                     "updated_at = VALUES(updated_at)",
  [ST_JOB_SELECT] = "SELECT " JOB_COLUMNS " FROM replication_jobs "
                    "WHERE id = ?",
  [ST_DISKS_OF_JOB] = "SELECT " DISK_COLUMNS " FROM vm_disks "
                      "WHERE job_id = ? ORDER BY disk_id",
  [ST_HISTORY_OF_JOB] = "SELECT sampled_at, bytes_transferred, "
                        "transfer_speed_bps, progress_percent "
                        "FROM replication_progress_history "
                        "WHERE job_id = ? ORDER BY id",
  [ST_JOB_LIST] = "SELECT " JOB_COLUMNS " FROM replication_jobs "
                  "ORDER BY created_at DESC, id",
  [ST_DISK_LIST] = "SELECT job_id, " DISK_COLUMNS " FROM vm_disks "
                   "ORDER BY job_id, disk_id",
  [ST_JOB_LIST_ACTIVE] = "SELECT " JOB_COLUMNS " FROM replication_jobs "
                         "WHERE status IN " ACTIVE " ORDER BY created_at, id",
  [ST_JOB_PATCH] =
      "UPDATE replication_jobs SET "
      "setup_progress_percent = CASE WHEN ? THEN ? "
      "ELSE setup_progress_percent END, "
      "current_operation = CASE WHEN ? THEN ? ELSE current_operation END, "
      "updated_at = ?, last_progress_at = ? WHERE id = ?",
  [ST_JOB_PROGRESS] =
      "UPDATE replication_jobs SET "
      "replication_type = COALESCE(NULLIF(?, ''), replication_type), "
      "status = ?, "
      "current_operation = COALESCE(NULLIF(?, ''), current_operation), "
      "progress_percent = ?, bytes_transferred = ?, total_bytes = ?, "
      "transfer_speed_bps = ?, eta_seconds = ?, error_message = ?, "
      "updated_at = ?, started_at = COALESCE(started_at, ?), "
      "completed_at = ?, last_progress_at = ? "
      "WHERE id = ? AND status IN " ACTIVE,
  [ST_JOB_FAIL] = "UPDATE replication_jobs SET status = 'failed', "
                  "error_message = ?, updated_at = ?, completed_at = ? "
                  "WHERE id = ? AND status IN " ACTIVE,
  [ST_DISKS_FAIL] = "UPDATE vm_disks SET sync_status = 'failed', "
                    "updated_at = ? WHERE job_id = ? "
                    "AND sync_status IN ('pending', 'syncing')",
  [ST_SAMPLE_INSERT] = SAMPLE_INSERT_HEAD SAMPLE_ROW,
  [ST_SAMPLE_CUTOFF] = "SELECT id FROM replication_progress_history "
                       "WHERE job_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
  [ST_SAMPLE_TRIM] = "DELETE FROM replication_progress_history "
                     "WHERE job_id = ? AND id <= ?",
  [ST_SCHEMA_VERSION] = "SELECT COALESCE(MAX(version), 0) "
                        "FROM cbtrack_schema",
  [ST_SCHEMA_SET] = "INSERT INTO cbtrack_schema (version) VALUES (?)",
  /* MD_BULK_ROWS rows each, written by md_library_init. */
  [ST_DISK_UPSERT_BULK] = md_disk_bulk_sql,
  [ST_SAMPLE_INSERT_BULK] = md_sample_bulk_sql,
};

#define TABLE_OPTIONS                                                         \
  " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

/* Schema migrations: entry V holds the statements (NULL-terminated) that
 * bring the schema from version V to V + 1.
 */
static const char *const *const migrations[OMA_SCHEMA_VERSION] = {
  (const char *const[]){
      /* Version 1: the tables of DESIGN §4. */
      "CREATE TABLE replication_jobs ("
      "  id VARCHAR(128) NOT NULL PRIMARY KEY,"
      "  source_vm_name VARCHAR(255) NOT NULL DEFAULT '',"
      "  replication_type VARCHAR(15) NOT NULL DEFAULT 'full',"
      "  status VARCHAR(15) NOT NULL DEFAULT 'pending' CHECK (status IN"
      "    ('pending', 'replicating', 'completed', 'failed')),"
      "  current_operation VARCHAR(255) NOT NULL DEFAULT '',"
      "  progress_percent DOUBLE NOT NULL DEFAULT 0,"
      "  setup_progress_percent DOUBLE NOT NULL DEFAULT 0,"
      "  bytes_transferred BIGINT NOT NULL DEFAULT 0,"
      "  total_bytes BIGINT NOT NULL DEFAULT 0,"
      "  transfer_speed_bps BIGINT NOT NULL DEFAULT 0,"
      "  eta_seconds BIGINT NULL,"
      "  vma_url VARCHAR(1024) NOT NULL DEFAULT '',"
      "  error_message VARCHAR(1024) NULL,"
      "  created_at DATETIME NOT NULL,"
      "  updated_at DATETIME NOT NULL,"
      "  started_at DATETIME NULL,"
      "  completed_at DATETIME NULL,"
      "  last_progress_at DATETIME NULL,"
      "  INDEX replication_jobs_status (status))" TABLE_OPTIONS,
      "CREATE TABLE vm_disks ("
      "  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
      "  job_id VARCHAR(128) NOT NULL,"
      "  disk_id VARCHAR(128) NOT NULL,"
      "  capacity_bytes BIGINT NOT NULL DEFAULT 0,"
      "  total_bytes BIGINT NOT NULL DEFAULT 0,"
      "  bytes_synced BIGINT NOT NULL DEFAULT 0,"
      "  sync_progress_percent DOUBLE NOT NULL DEFAULT 0,"
      "  sync_status VARCHAR(15) NOT NULL DEFAULT 'pending' CHECK"
      "    (sync_status IN ('pending', 'syncing', 'completed', 'failed')),"
      "  updated_at DATETIME NOT NULL,"
      "  UNIQUE KEY vm_disks_job_disk (job_id, disk_id),"
      "  CONSTRAINT vm_disks_job FOREIGN KEY (job_id)"
      "    REFERENCES replication_jobs (id) ON DELETE CASCADE)" TABLE_OPTIONS,
      "CREATE TABLE replication_progress_history ("
      "  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
      "  job_id VARCHAR(128) NOT NULL,"
      "  sampled_at DATETIME NOT NULL,"
      "  bytes_transferred BIGINT NOT NULL,"
      "  transfer_speed_bps BIGINT NOT NULL,"
      "  progress_percent DOUBLE NOT NULL,"
      "  INDEX replication_progress_history_job (job_id, id),"
      "  CONSTRAINT replication_progress_history_job_fk FOREIGN KEY (job_id)"
      "    REFERENCES replication_jobs (id) ON DELETE CASCADE)" TABLE_OPTIONS,
      NULL },
};

/* Arguments of one statement execution.  The values are copied in, except
 * text, which must stay valid until the statement has run.
 */
struct md_args {
  MYSQL_BIND bind[MD_MAX_ARGS];
  unsigned long len[MD_MAX_ARGS];
  long long i64[MD_MAX_ARGS];
  double dbl[MD_MAX_ARGS];
  MYSQL_TIME tm[MD_MAX_ARGS];
  unsigned n;
};

/* Result columns of one statement, bound to the caller's variables. */
struct md_cols {
  MYSQL_BIND bind[MD_MAX_COLS];
  unsigned long len[MD_MAX_COLS];
  my_bool is_null[MD_MAX_COLS];
  my_bool error[MD_MAX_COLS];
  MYSQL_TIME tm[MD_MAX_COLS];
  int64_t *time_dst[MD_MAX_COLS];
  char *text_dst[MD_MAX_COLS];
  size_t text_size[MD_MAX_COLS];
  int64_t *null_dst[MD_MAX_COLS]; /* set to -1 when NULL */
  unsigned n;
};

/* Empties the store's argument list and returns it.  One list serves
 * every statement: they run one at a time, under the store's lock, and
 * each has been executed before the next one starts binding.
 */
static struct md_args *
md_args_reset (struct store_mariadb *s)
{
  s->args->n = 0;
  return s->args;
}

static void
md_arg_null (struct md_args *a)
{
  MYSQL_BIND *b = &a->bind[a->n++];

  memset (b, 0, sizeof *b);
  b->buffer_type = MYSQL_TYPE_NULL;
}

static void
md_arg_text (struct md_args *a, const char *text, bool null_if_empty)
{
  MYSQL_BIND *b;

  if (text == NULL || (null_if_empty && text[0] == '\0')) {
    md_arg_null (a);
    return;
  }
  b = &a->bind[a->n];
  memset (b, 0, sizeof *b);
  a->len[a->n] = strlen (text);
  b->buffer_type = MYSQL_TYPE_STRING;
  b->buffer = (void *)text;
  b->buffer_length = a->len[a->n];
  b->length = &a->len[a->n];
  a->n++;
}

static void
md_arg_int (struct md_args *a, int64_t v)
{
  MYSQL_BIND *b = &a->bind[a->n];

  memset (b, 0, sizeof *b);
  a->i64[a->n] = v;
  b->buffer_type = MYSQL_TYPE_LONGLONG;
  b->buffer = &a->i64[a->n];
  a->n++;
}

static void
md_arg_double (struct md_args *a, double v)
{
  MYSQL_BIND *b = &a->bind[a->n];

  memset (b, 0, sizeof *b);
  a->dbl[a->n] = v;
  b->buffer_type = MYSQL_TYPE_DOUBLE;
  b->buffer = &a->dbl[a->n];
  a->n++;
}

/* A timestamp: epoch seconds as a UTC DATETIME; 0 is NULL. */
static void
md_arg_time (struct md_args *a, int64_t t)
{
  time_t secs = (time_t)t;
  MYSQL_BIND *b;
  MYSQL_TIME *m;
  struct tm tm;

  if (t == 0 || gmtime_r (&secs, &tm) == NULL) {
    md_arg_null (a);
    return;
  }
  b = &a->bind[a->n];
  m = &a->tm[a->n];
  memset (b, 0, sizeof *b);
  memset (m, 0, sizeof *m);
  m->year = (unsigned)tm.tm_year + 1900;
  m->month = (unsigned)tm.tm_mon + 1;
  m->day = (unsigned)tm.tm_mday;
  m->hour = (unsigned)tm.tm_hour;
  m->minute = (unsigned)tm.tm_min;
  m->second = (unsigned)tm.tm_sec;
  m->time_type = MYSQL_TIMESTAMP_DATETIME;
  b->buffer_type = MYSQL_TYPE_DATETIME;
  b->buffer = m;
  a->n++;
}

static MYSQL_BIND *
md_col (struct md_cols *c)
{
  unsigned i = c->n++;
  MYSQL_BIND *b = &c->bind[i];

  memset (b, 0, sizeof *b);
  c->time_dst[i] = NULL;
  c->text_dst[i] = NULL;
  c->null_dst[i] = NULL;
  b->length = &c->len[i];
  b->is_null = &c->is_null[i];
  b->error = &c->error[i];
  return b;
}

static void
md_col_text (struct md_cols *c, char *dst, size_t size)
{
  MYSQL_BIND *b = md_col (c);

  b->buffer_type = MYSQL_TYPE_STRING;
  b->buffer = dst;
  b->buffer_length = size;
  c->text_dst[c->n - 1] = dst;
  c->text_size[c->n - 1] = size;
}

static void
md_col_int (struct md_cols *c, int64_t *dst, bool null_is_minus_one)
{
  MYSQL_BIND *b = md_col (c);

  b->buffer_type = MYSQL_TYPE_LONGLONG;
  b->buffer = dst;
  if (null_is_minus_one)
    c->null_dst[c->n - 1] = dst;
}

static void
md_col_double (struct md_cols *c, double *dst)
{
  MYSQL_BIND *b = md_col (c);

  b->buffer_type = MYSQL_TYPE_DOUBLE;
  b->buffer = dst;
}

static void
md_col_time (struct md_cols *c, int64_t *dst)
{
  MYSQL_BIND *b = md_col (c);

  b->buffer_type = MYSQL_TYPE_DATETIME;
  b->buffer = &c->tm[c->n - 1];
  c->time_dst[c->n - 1] = dst;
}

/* After a fetch: terminate text (cut on a character boundary when it was
 * truncated), turn DATETIMEs into epoch seconds and NULLs into defaults.
 */
static void
md_cols_finish (struct md_cols *c)
{
  unsigned i;

  for (i = 0; i < c->n; i++) {
    if (c->text_dst[i]) {
      size_t len = c->is_null[i] ? 0 : c->len[i];
      char *dst = c->text_dst[i];

      if (len >= c->text_size[i]) {
        len = c->text_size[i] - 1;
        while (len > 0 && ((unsigned char)dst[len] & 0xc0) == 0x80)
          len--;
      }
      dst[len] = '\0';
    } else if (c->time_dst[i]) {
      const MYSQL_TIME *m = &c->tm[i];
      struct tm tm;

      if (c->is_null[i] || m->year == 0) {
        *c->time_dst[i] = 0;
        continue;
      }
      memset (&tm, 0, sizeof tm);
      tm.tm_year = (int)m->year - 1900;
      tm.tm_mon = (int)m->month - 1;
      tm.tm_mday = (int)m->day;
      tm.tm_hour = (int)m->hour;
      tm.tm_min = (int)m->minute;
      tm.tm_sec = (int)m->second;
      *c->time_dst[i] = (int64_t)timegm (&tm);
    } else if (c->null_dst[i] && c->is_null[i])
      *c->null_dst[i] = -1;
  }
}

static void
md_cols_job (struct md_cols *c, struct oma_job *job)
{
  md_col_text (c, job->id, sizeof job->id);
  md_col_text (c, job->source_vm_name, sizeof job->source_vm_name);
  md_col_text (c, job->replication_type, sizeof job->replication_type);
  md_col_text (c, job->status, sizeof job->status);
  md_col_text (c, job->current_operation, sizeof job->current_operation);
  md_col_double (c, &job->progress_percent);
  md_col_double (c, &job->setup_progress_percent);
  md_col_int (c, &job->bytes_transferred, false);
  md_col_int (c, &job->total_bytes, false);
  md_col_int (c, &job->transfer_speed_bps, false);
  md_col_int (c, &job->eta_seconds, true);
  md_col_text (c, job->vma_url, sizeof job->vma_url);
  md_col_text (c, job->error_message, sizeof job->error_message);
  md_col_time (c, &job->created_at);
  md_col_time (c, &job->updated_at);
  md_col_time (c, &job->started_at);
  md_col_time (c, &job->completed_at);
  md_col_time (c, &job->last_progress_at);
}

static void
md_cols_disk (struct md_cols *c, struct oma_disk *d)
{
  md_col_text (c, d->disk_id, sizeof d->disk_id);
  md_col_int (c, &d->capacity_bytes, false);
  md_col_int (c, &d->total_bytes, false);
  md_col_int (c, &d->bytes_synced, false);
  md_col_double (c, &d->sync_progress_percent);
  md_col_text (c, d->sync_status, sizeof d->sync_status);
  md_col_time (c, &d->updated_at);
}

/* Drops the connection and its statements; the next call reconnects. */
static void
md_disconnect (struct store_mariadb *s)
{
  size_t i;

  if (s->stmts)
    for (i = 0; i < ST_COUNT; i++)
      if (s->stmts[i]) {
        mysql_stmt_close (s->stmts[i]);
        s->stmts[i] = NULL;
      }
  if (s->conn) {
    mysql_close (s->conn);
    s->conn = NULL;
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
md_fail (struct store_mariadb *s, MYSQL_STMT *st, const char *what)
{
  unsigned err;

  if (s->conn == NULL)
    return -EIO;
  err = st ? mysql_stmt_errno (st) : mysql_errno (s->conn);
  cbt_set_error ("mariadb: %s: %s", what,
                 st ? mysql_stmt_error (st) : mysql_error (s->conn));
  if (md_is_connection_error (err))
    md_disconnect (s);
  return -EIO;
}

/* Runs plain SQL (no values: DDL and transaction control only). */
static int
md_query (struct store_mariadb *s, const char *sql, const char *what)
{
  if (mysql_query (s->conn, sql) != 0)
    return md_fail (s, NULL, what);
  return 0;
}

/* Executes statement ID with ARGS (NULL for none).  Returns 0, or -EIO. */
static int
md_exec (struct store_mariadb *s, enum stmt_id id, struct md_args *args,
         const char *what)
{
  MYSQL_STMT *st = s->stmts[id];

  if (args && args->n > 0 && mysql_stmt_bind_param (st, args->bind))
    return md_fail (s, st, what);
  if (mysql_stmt_execute (st))
    return md_fail (s, st, what);
  return 0;
}

/* Executes statement ID and binds its result to COLS, ready for
 * md_fetch.  The caller ends with mysql_stmt_free_result.
 */
static int
md_query_rows (struct store_mariadb *s, enum stmt_id id, struct md_args *args,
               struct md_cols *cols, const char *what)
{
  MYSQL_STMT *st = s->stmts[id];
  int r;

  if ((r = md_exec (s, id, args, what)) < 0)
    return r;
  if (mysql_stmt_bind_result (st, cols->bind) || mysql_stmt_store_result (st))
    return md_fail (s, st, what);
  return 0;
}

/* Fetches the next row: 1 = a row, 0 = no more rows, -EIO. */
static int
md_fetch (struct store_mariadb *s, enum stmt_id id, struct md_cols *cols,
          const char *what)
{
  MYSQL_STMT *st = s->stmts[id];
  int r = mysql_stmt_fetch (st);

  if (r == MYSQL_NO_DATA)
    return 0;
  if (r == 1) {
    r = md_fail (s, st, what);
    if (s->conn)
      mysql_stmt_free_result (st);
    return r;
  }
  /* 0 or MYSQL_DATA_TRUNCATED: md_cols_finish cuts over-long text. */
  md_cols_finish (cols);
  return 1;
}

static void
md_free_result (struct store_mariadb *s, enum stmt_id id)
{
  if (s->conn && s->stmts[id])
    mysql_stmt_free_result (s->stmts[id]);
}

/* Prepares statement ID unless it is already. */
static int
md_prepare (struct store_mariadb *s, enum stmt_id id)
{
  if (s->stmts[id])
    return 0;
  s->stmts[id] = mysql_stmt_init (s->conn);
  if (s->stmts[id] == NULL) {
    cbt_set_error ("mariadb: out of memory");
    return -EIO;
  }
  if (mysql_stmt_prepare (s->stmts[id], stmt_sql[id], strlen (stmt_sql[id])))
    return md_fail (s, s->stmts[id], "prepare");
  return 0;
}

static int
md_migrate (struct store_mariadb *s)
{
  struct md_cols cols = { .n = 0 };
  int64_t version = 0;
  const char *const *sql;
  int r;

  if ((r = md_query (s,
                     "CREATE TABLE IF NOT EXISTS cbtrack_schema "
                     "(version INT NOT NULL)" TABLE_OPTIONS,
                     "create schema table")) < 0)
    return r;
  /* Two OMAs starting together must not both migrate. */
  if ((r = md_query (s, "SELECT GET_LOCK('cbtrack_schema', 30)",
                     "lock schema")) < 0)
    return r;
  mysql_free_result (mysql_store_result (s->conn));
  if ((r = md_prepare (s, ST_SCHEMA_VERSION)) < 0 ||
      (r = md_prepare (s, ST_SCHEMA_SET)) < 0)
    goto out;

  md_col_int (&cols, &version, false);
  if ((r = md_query_rows (s, ST_SCHEMA_VERSION, NULL, &cols,
                          "read schema version")) < 0)
    goto out;
  r = md_fetch (s, ST_SCHEMA_VERSION, &cols, "read schema version");
  md_free_result (s, ST_SCHEMA_VERSION);
  if (r < 0)
    goto out;
  if (version > OMA_SCHEMA_VERSION) {
    cbt_set_error ("mariadb: the database has schema version %lld, newer "
                   "than this cbtrack's %d",
                   (long long)version, OMA_SCHEMA_VERSION);
    r = -EIO;
    goto out;
  }
  /* MariaDB commits DDL implicitly, so each version is recorded right
   * after its statements.
   */
  for (; version < OMA_SCHEMA_VERSION; version++) {
    for (sql = migrations[version]; *sql; sql++)
      if ((r = md_query (s, *sql, "migrate schema")) < 0)
        goto out;
    md_arg_int (md_args_reset (s), version + 1);
    if ((r = md_exec (s, ST_SCHEMA_SET, s->args, "record schema version")) < 0)
      goto out;
  }
  r = 0;
out:
  if (s->conn &&
      mysql_query (s->conn, "SELECT RELEASE_LOCK('cbtrack_schema')") == 0)
    mysql_free_result (mysql_store_result (s->conn));
  return r;
}

/* Connects (creating the database if it does not exist), migrates and
 * prepares.  Returns 0, or -EIO with no connection left open.
 */
static int
md_connect (struct store_mariadb *s)
{
  const struct oma_db_url *u = &s->url;
  const char *host = u->host[0] ? u->host : "localhost";
  const char *sock = u->socket[0] ? u->socket : NULL;
  unsigned int timeout;
  size_t i;

  s->conn = mysql_init (NULL);
  if (s->conn == NULL) {
    cbt_set_error ("mariadb: out of memory");
    return -EIO;
  }
  timeout = MD_CONNECT_TIMEOUT_S;
  mysql_options (s->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  timeout = MD_IO_TIMEOUT_S;
  mysql_options (s->conn, MYSQL_OPT_READ_TIMEOUT, &timeout);
  mysql_options (s->conn, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
  mysql_options (s->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (mysql_real_connect (s->conn, host, u->user, u->password, u->database,
                          u->port, sock, CLIENT_FOUND_ROWS) == NULL) {
    if (mysql_errno (s->conn) != ER_BAD_DB_ERROR)
      goto fail;
    /* The database does not exist yet: create it.  Its name was checked
     * to be [A-Za-z0-9_$] by oma_db_url_parse, so it can be quoted as an
     * identifier (identifiers cannot be bound).
     */
    char sql[160];

    if (mysql_real_connect (s->conn, host, u->user, u->password, NULL, u->port,
                            sock, CLIENT_FOUND_ROWS) == NULL)
      goto fail;
    snprintf (sql, sizeof sql,
              "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 "
              "COLLATE utf8mb4_bin",
              u->database);
    if (mysql_query (s->conn, sql) != 0 ||
        mysql_select_db (s->conn, u->database) != 0)
      goto fail;
  }
  if (md_query (s, "SET time_zone = '+00:00'", "set time zone") < 0)
    goto fail_quiet;

  s->stmts = s->stmts ? s->stmts : calloc (ST_COUNT, sizeof *s->stmts);
  if (s->stmts == NULL) {
    cbt_set_error_errno (errno, "calloc");
    goto fail_quiet;
  }
  if (md_migrate (s) < 0)
    goto fail_quiet;
  for (i = 0; i < ST_COUNT; i++)
    if (md_prepare (s, i) < 0)
      goto fail_quiet;
  return 0;

fail:
  cbt_set_error ("mariadb: %s", mysql_error (s->conn));
fail_quiet:
  md_disconnect (s);
  return -EIO;
}

/* Makes sure there is a connection; every operation starts here. */
static int
md_ensure (struct store_mariadb *s)
{
  if (s->conn)
    return 0;
  return md_connect (s);
}

static int
md_begin (struct store_mariadb *s)
{
  return md_query (s, "START TRANSACTION", "begin");
}

static int
md_commit (struct store_mariadb *s)
{
  if (mysql_commit (s->conn))
    return md_fail (s, NULL, "commit");
  return 0;
}

static void
md_rollback (struct store_mariadb *s)
{
  if (s->conn)
    mysql_rollback (s->conn);
}

static void md_arg_disk (struct md_args *a, const char *job_id,
                         const struct oma_disk *d);

static int
md_upsert_disk (struct store_mariadb *s, const char *job_id,
                const struct oma_disk *d)
{
  struct md_args *a = md_args_reset (s);

  md_arg_disk (a, job_id, d);
  return md_exec (s, ST_DISK_UPSERT, a, "write disk");
}

static int
md_job_insert (struct oma_store *store, const struct oma_job *job)
{
  struct store_mariadb *s = (struct store_mariadb *)store;
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&s->lock);
  struct md_args *a = md_args_reset (s);
  size_t i;
  int r;

  if ((r = md_ensure (s)) < 0 || (r = md_begin (s)) < 0)
    return r;
  md_arg_text (a, job->id, false);
  md_arg_text (a, job->source_vm_name, false);
  md_arg_text (a, job->replication_type[0] ? job->replication_type : "full",
               false);
  md_arg_text (a, job->status[0] ? job->status : "pending", false);
  md_arg_text (a, job->current_operation, false);
  md_arg_double (a, job->progress_percent);
  md_arg_double (a, job->setup_progress_percent);
  md_arg_int (a, job->bytes_transferred);
  md_arg_int (a, job->total_bytes);
  md_arg_int (a, job->transfer_speed_bps);
  if (job->eta_seconds < 0)
    md_arg_null (a);
  else
    md_arg_int (a, job->eta_seconds);
  md_arg_text (a, job->vma_url, false);
  md_arg_text (a, job->error_message, true);
  md_arg_time (a, job->created_at);
  md_arg_time (a, job->updated_at);
  md_arg_time (a, job->started_at);
  md_arg_time (a, job->completed_at);
  md_arg_time (a, job->last_progress_at);
  if (mysql_stmt_bind_param (s->stmts[ST_JOB_INSERT], a->bind) ||
      mysql_stmt_execute (s->stmts[ST_JOB_INSERT])) {
    if (mysql_stmt_errno (s->stmts[ST_JOB_INSERT]) == ER_DUP_ENTRY) {
      md_rollback (s);
      cbt_set_error ("job '%s' exists", job->id);
      return -EEXIST;
    }
    r = md_fail (s, s->stmts[ST_JOB_INSERT], "insert job");
    goto err;
  }
  for (i = 0; i < job->disks.len; i++)
    if ((r = md_upsert_disk (s, job->id, &job->disks.ptr[i])) < 0)
      goto err;
  if ((r = md_commit (s)) < 0)
    goto err;
  return 0;

err:
  md_rollback (s);
  return r;
}

/* Appends the disks of JOB to JOB->disks. */
static int
md_read_disks_of (struct store_mariadb *s, struct oma_job *job)
{
  struct md_args *a = md_args_reset (s);
  struct md_cols c = { .n = 0 };
  struct oma_disk d;
  int r;

  md_arg_text (a, job->id, false);
  memset (&d, 0, sizeof d);
  md_cols_disk (&c, &d);
  if ((r = md_query_rows (s, ST_DISKS_OF_JOB, a, &c, "read disks")) < 0)
    return r;
  while ((r = md_fetch (s, ST_DISKS_OF_JOB, &c, "read disks")) == 1)
    if (oma_disk_vector_append (&job->disks, d) == -1) {
      cbt_set_error_errno (errno, "read disks");
      r = -EIO;
      break;
    }
  md_free_result (s, ST_DISKS_OF_JOB);
  return r;
}

static int
md_read_history_of (struct store_mariadb *s, struct oma_job *job)
{
  struct md_args *a = md_args_reset (s);
  struct md_cols c = { .n = 0 };
  struct oma_sample p;
  int r;

  md_arg_text (a, job->id, false);
  memset (&p, 0, sizeof p);
  md_col_time (&c, &p.sampled_at);
  md_col_int (&c, &p.bytes_transferred, false);
  md_col_int (&c, &p.transfer_speed_bps, false);
  md_col_double (&c, &p.progress_percent);
  if ((r = md_query_rows (s, ST_HISTORY_OF_JOB, a, &c, "read history")) < 0)
    return r;
  while ((r = md_fetch (s, ST_HISTORY_OF_JOB, &c, "read history")) == 1)
    if (oma_sample_vector_append (&job->history, p) == -1) {
      cbt_set_error_errno (errno, "read history");
      r = -EIO;
      break;
    }
  md_free_result (s, ST_HISTORY_OF_JOB);
  return r;
}

static int
md_job_get (struct oma_store *store, const char *id, struct oma_job *ret_job)
{
  struct store_mariadb *s = (struct store_mariadb *)store;
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&s->lock);
  struct md_args *a = md_args_reset (s);
  struct md_cols c = { .n = 0 };
  struct oma_job job;
  int r;

  if ((r = md_ensure (s)) < 0)
    return r;
  memset (&job, 0, sizeof job);
  md_arg_text (a, id, false);
  md_cols_job (&c, &job);
  if ((r = md_query_rows (s, ST_JOB_SELECT, a, &c, "read job")) < 0)
    return r;
  r = md_fetch (s, ST_JOB_SELECT, &c, "read job");
  md_free_result (s, ST_JOB_SELECT);
  if (r < 0)
    return r;
  if (r == 0) {
    cbt_set_error ("no job '%s'", id);
    return -ENOENT;
  }
  job.disks = (oma_disk_vector)empty_vector;
  job.history = (oma_sample_vector)empty_vector;
  if ((r = md_read_disks_of (s, &job)) < 0 ||
      (r = md_read_history_of (s, &job)) < 0) {
    oma_job_reset (&job);
    return r;
  }
  *ret_job = job;
  return 0;
}

/* Runs the job query ID and appends its rows to *JOBS. */
static int
md_read_jobs (struct store_mariadb *s, enum stmt_id id, oma_job_vector *jobs)
{
  struct md_cols c = { .n = 0 };
  struct oma_job job;
  int r;

  memset (&job, 0, sizeof job);
  md_cols_job (&c, &job);
  if ((r = md_query_rows (s, id, NULL, &c, "read jobs")) < 0)
    return r;
  while ((r = md_fetch (s, id, &c, "read jobs")) == 1)
    if (oma_job_vector_append (jobs, job) == -1) {
      cbt_set_error_errno (errno, "read jobs");
      r = -EIO;
      break;
    }
  md_free_result (s, id);
  return r;
}

static int
md_cmp_index (const void *a, const void *b, void *arg)
{
  const struct oma_job *jobs = arg;

  return strcmp (jobs[*(const size_t *)a].id, jobs[*(const size_t *)b].id);
}

static int
md_job_list (struct oma_store *store, oma_job_vector *ret_jobs)
{
  struct store_mariadb *s = (struct store_mariadb *)store;
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&s->lock);
  oma_job_vector jobs = empty_vector;
  CLEANUP_FREE size_t *index = NULL;
  struct md_cols c = { .n = 0 };
  char job_id[CBT_ID_MAX + 1];
  struct oma_disk d;
  size_t i, k = 0;
  int r;

  if ((r = md_ensure (s)) < 0)
    return r;
  if ((r = md_read_jobs (s, ST_JOB_LIST, &jobs)) < 0)
    goto err;

  /* Disks come sorted by job id (binary collation, as strcmp), the jobs
   * through a sorted index: one merge pass hands each disk to its job.
   */
  index = malloc ((jobs.len + 1) * sizeof *index);
  if (index == NULL) {
    cbt_set_error_errno (errno, "malloc");
    r = -EIO;
    goto err;
  }
  for (i = 0; i < jobs.len; i++)
    index[i] = i;
  if (jobs.len > 1)
    qsort_r (index, jobs.len, sizeof *index, md_cmp_index, jobs.ptr);

  md_col_text (&c, job_id, sizeof job_id);
  md_cols_disk (&c, &d);
  if ((r = md_query_rows (s, ST_DISK_LIST, NULL, &c, "read disks")) < 0)
    goto err;
  while ((r = md_fetch (s, ST_DISK_LIST, &c, "read disks")) == 1) {
    while (k < jobs.len && strcmp (jobs.ptr[index[k]].id, job_id) < 0)
      k++;
    if (k == jobs.len || strcmp (jobs.ptr[index[k]].id, job_id) != 0)
      continue;
    if (oma_disk_vector_append (&jobs.ptr[index[k]].disks, d) == -1) {
      cbt_set_error_errno (errno, "read disks");
      r = -EIO;
      break;
    }
  }
  md_free_result (s, ST_DISK_LIST);
  if (r < 0)
    goto err;
  if (oma_job_vector_reserve (ret_jobs, jobs.len) == -1) {
    cbt_set_error_errno (errno, "read jobs");
    r = -EIO;
    goto err;
  }
  for (i = 0; i < jobs.len; i++)
    ret_jobs->ptr[ret_jobs->len++] = jobs.ptr[i];
  oma_job_vector_reset (&jobs);
  return 0;

err:
  oma_job_vector_free (&jobs);
  return r;
}

static int
md_job_list_active (struct oma_store *store, oma_job_vector *ret_jobs)
{
  struct store_mariadb *s = (struct store_mariadb *)store;
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&s->lock);
  oma_job_vector jobs = empty_vector;
  size_t i;
  int r;

  if ((r = md_ensure (s)) < 0)
    return r;
  if ((r = md_read_jobs (s, ST_JOB_LIST_ACTIVE, &jobs)) < 0)
    goto out;
  if (oma_job_vector_reserve (ret_jobs, jobs.len) == -1) {
    cbt_set_error_errno (errno, "read jobs");
    r = -EIO;
    goto out;
  }
  for (i = 0; i < jobs.len; i++)
    ret_jobs->ptr[ret_jobs->len++] = jobs.ptr[i];
  jobs.len = 0;
  r = 0;
out:
  oma_job_vector_free (&jobs);
  return r;
}

static int
md_job_patch (struct oma_store *store, const char *id,
              const struct oma_patch *patch, int64_t now)
{
  struct store_mariadb *s = (struct store_mariadb *)store;
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&s->lock);
  struct md_args *a = md_args_reset (s);
  int r;

  if ((r = md_ensure (s)) < 0)
    return r;
  md_arg_int (a, patch->has_setup_progress);
  md_arg_double (a, patch->setup_progress_percent);
  md_arg_int (a, patch->has_current_operation);
  md_arg_text (a, patch->current_operation, false);
  md_arg_time (a, now);
  md_arg_time (a, now);
  md_arg_text (a, id, false);
  if ((r = md_exec (s, ST_JOB_PATCH, a, "update job")) < 0)
    return r;
  if (mysql_stmt_affected_rows (s->stmts[ST_JOB_PATCH]) == 0) {
    cbt_set_error ("no job '%s'", id);
    return -ENOENT;
  }
  return 0;
}

/* Keeps the newest OMA_HISTORY_MAX samples of JOB. */
static int
md_trim_history (struct store_mariadb *s, const struct oma_job *job)
{
  struct md_args *a = md_args_reset (s);
  struct md_cols c = { .n = 0 };
  int64_t cutoff = -1;
  int r;

  md_arg_text (a, job->id, false);
  md_arg_int (a, OMA_HISTORY_MAX);
  md_col_int (&c, &cutoff, false);
  if ((r = md_query_rows (s, ST_SAMPLE_CUTOFF, a, &c, "trim history")) < 0)
    return r;
  r = md_fetch (s, ST_SAMPLE_CUTOFF, &c, "trim history");
  md_free_result (s, ST_SAMPLE_CUTOFF);
  if (r <= 0)
    return r;
  a = md_args_reset (s);
  md_arg_text (a, job->id, false);
  md_arg_int (a, cutoff);
  return md_exec (s, ST_SAMPLE_TRIM, a, "trim history");
}

/* Writes the job row of update U; sets *RET_MATCHED when the job was
 * still active (so its disks and sample are to be written too).
 */
static int
md_apply_job (struct store_mariadb *s, const struct oma_update *u,
              bool *ret_matched)
{
  const struct oma_job *job = &u->job;
  struct md_args *a = md_args_reset (s);
  int r;

  if (u->kind == OMA_UPDATE_FAIL) {
    md_arg_text (a, job->error_message, true);
    md_arg_time (a, job->updated_at);
    md_arg_time (a, job->completed_at);
    md_arg_text (a, job->id, false);
    if ((r = md_exec (s, ST_JOB_FAIL, a, "fail job")) < 0)
      return r;
    *ret_matched = false;
    if (mysql_stmt_affected_rows (s->stmts[ST_JOB_FAIL]) == 0)
      return 0;
    a = md_args_reset (s);
    md_arg_time (a, job->updated_at);
    md_arg_text (a, job->id, false);
    return md_exec (s, ST_DISKS_FAIL, a, "fail disks");
  }

  md_arg_text (a, job->replication_type, false);
  md_arg_text (a, job->status, false);
  md_arg_text (a, job->current_operation, false);
  md_arg_double (a, job->progress_percent);
  md_arg_int (a, job->bytes_transferred);
  md_arg_int (a, job->total_bytes);
  md_arg_int (a, job->transfer_speed_bps);
  if (job->eta_seconds < 0)
    md_arg_null (a);
  else
    md_arg_int (a, job->eta_seconds);
  md_arg_text (a, job->error_message, true);
  md_arg_time (a, job->updated_at);
  md_arg_time (a, job->started_at);
  md_arg_time (a, job->completed_at);
  md_arg_time (a, job->last_progress_at);
  md_arg_text (a, job->id, false);
  if ((r = md_exec (s, ST_JOB_PROGRESS, a, "update job")) < 0)
    return r;
  /* 0 rows: the job is gone, or final already. */
  *ret_matched = mysql_stmt_affected_rows (s->stmts[ST_JOB_PROGRESS]) > 0;
  return 0;
}

static void
md_arg_disk (struct md_args *a, const char *job_id, const struct oma_disk *d)
{
  md_arg_text (a, job_id, false);
  md_arg_text (a, d->disk_id, false);
  md_arg_int (a, d->capacity_bytes);
  md_arg_int (a, d->total_bytes);
  md_arg_int (a, d->bytes_synced);
  md_arg_double (a, d->sync_progress_percent);
  md_arg_text (a, d->sync_status[0] ? d->sync_status : "pending", false);
  md_arg_time (a, d->updated_at);
}

static void
md_arg_sample (struct md_args *a, const struct oma_job *job)
{
  md_arg_text (a, job->id, false);
  md_arg_time (a, job->updated_at);
  md_arg_int (a, job->bytes_transferred);
  md_arg_int (a, job->transfer_speed_bps);
  md_arg_double (a, job->progress_percent);
}

/* Upserts the disks of the MATCHED updates, MD_BULK_ROWS rows per
 * statement (the rest one by one): a poll cycle's 4000 disk rows cost
 * 125 round trips instead of 4000.
 */
static int
md_write_disks (struct store_mariadb *s, const struct oma_update *updates,
                const bool *matched, size_t n)
{
  size_t i, k, rows = 0, row = 0, bulk;
  struct md_args *a = md_args_reset (s);
  int r;

  for (i = 0; i < n; i++)
    if (matched[i])
      rows += updates[i].job.disks.len;
  bulk = rows / MD_BULK_ROWS * MD_BULK_ROWS;
  for (i = 0; i < n; i++) {
    if (!matched[i])
      continue;
    for (k = 0; k < updates[i].job.disks.len; k++, row++) {
      const struct oma_job *job = &updates[i].job;

      if (row < bulk) {
        md_arg_disk (a, job->id, &job->disks.ptr[k]);
        if ((row + 1) % MD_BULK_ROWS == 0) {
          if ((r = md_exec (s, ST_DISK_UPSERT_BULK, a, "write disks")) < 0)
            return r;
          a = md_args_reset (s);
        }
      } else {
        md_arg_disk (a, job->id, &job->disks.ptr[k]);
        if ((r = md_exec (s, ST_DISK_UPSERT, a, "write disk")) < 0)
          return r;
        a = md_args_reset (s);
      }
    }
  }
  return 0;
}

/* Inserts one history sample per MATCHED update that asks for it, like
 * md_write_disks.
 */
static int
md_write_samples (struct store_mariadb *s, const struct oma_update *updates,
                  const bool *matched, size_t n)
{
  size_t i, rows = 0, row = 0, bulk;
  struct md_args *a = md_args_reset (s);
  int r;

  for (i = 0; i < n; i++)
    if (matched[i] && updates[i].add_sample)
      rows++;
  bulk = rows / MD_BULK_ROWS * MD_BULK_ROWS;
  for (i = 0; i < n; i++) {
    if (!matched[i] || !updates[i].add_sample)
      continue;
    md_arg_sample (a, &updates[i].job);
    if (row < bulk) {
      if ((row + 1) % MD_BULK_ROWS == 0) {
        if ((r = md_exec (s, ST_SAMPLE_INSERT_BULK, a, "write history")) < 0)
          return r;
        a = md_args_reset (s);
      }
    } else {
      if ((r = md_exec (s, ST_SAMPLE_INSERT, a, "write history")) < 0)
        return r;
      a = md_args_reset (s);
    }
    row++;
  }
  return 0;
}

static int
md_apply_updates (struct oma_store *store, const struct oma_update *updates,
                  size_t n)
{
  struct store_mariadb *s = (struct store_mariadb *)store;
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&s->lock);
  CLEANUP_FREE bool *matched = NULL;
  size_t i;
  int r;

  if (n == 0)
    return 0;
  matched = calloc (n, sizeof *matched);
  if (matched == NULL) {
    cbt_set_error_errno (errno, "calloc");
    return -EIO;
  }
  if ((r = md_ensure (s)) < 0 || (r = md_begin (s)) < 0)
    return r;
  for (i = 0; i < n; i++)
    if ((r = md_apply_job (s, &updates[i], &matched[i])) < 0)
      goto err;
  if ((r = md_write_disks (s, updates, matched, n)) < 0 ||
      (r = md_write_samples (s, updates, matched, n)) < 0)
    goto err;
  for (i = 0; i < n; i++)
    if (matched[i] && updates[i].trim_history &&
        (r = md_trim_history (s, &updates[i].job)) < 0)
      goto err;
  if ((r = md_commit (s)) < 0)
    goto err;
  return 0;

err:
  md_rollback (s);
  return r;
}

static void
md_close (struct oma_store *store)
{
  struct store_mariadb *s = (struct store_mariadb *)store;

  md_disconnect (s);
  free (s->stmts);
  free (s->args);
  memset (s->url.password, 0, sizeof s->url.password);
  pthread_mutex_destroy (&s->lock);
  free (s);
}

static const struct oma_store_ops mariadb_ops = {
  .name = "mariadb",
  .close = md_close,
  .job_insert = md_job_insert,
  .job_get = md_job_get,
  .job_list = md_job_list,
  .job_list_active = md_job_list_active,
  .job_patch = md_job_patch,
  .apply_updates = md_apply_updates,
};

static pthread_once_t md_library_once = PTHREAD_ONCE_INIT;

/* Appends the NUL-terminated TEXT at *POS in BUF. */
static void
md_append (char *buf, size_t *pos, const char *text)
{
  size_t len = strlen (text);

  memcpy (buf + *pos, text, len + 1);
  *pos += len;
}

/* Writes HEAD, MD_BULK_ROWS times ROW separated by ", ", then TAIL. */
static void
md_bulk_sql (char *buf, const char *head, const char *row, const char *tail)
{
  size_t pos = 0;
  int i;

  md_append (buf, &pos, head);
  for (i = 0; i < MD_BULK_ROWS; i++) {
    if (i > 0)
      md_append (buf, &pos, ", ");
    md_append (buf, &pos, row);
  }
  md_append (buf, &pos, tail);
}

static void
md_library_init (void)
{
  mysql_library_init (0, NULL, NULL);
  md_bulk_sql (md_disk_bulk_sql, DISK_UPSERT_HEAD, DISK_ROW, DISK_UPSERT_TAIL);
  md_bulk_sql (md_sample_bulk_sql, SAMPLE_INSERT_HEAD, SAMPLE_ROW, "");
}

struct oma_store *
oma_store_mariadb_open (const struct oma_db_url *url)
{
  struct store_mariadb *s;
  unsigned err;

  pthread_once (&md_library_once, md_library_init);
  s = calloc (1, sizeof *s);
  if (s == NULL) {
    cbt_set_error_errno (errno, "calloc");
    return NULL;
  }
  s->base.ops = &mariadb_ops;
  s->url = *url;
  pthread_mutex_init (&s->lock, NULL);
  s->args = malloc (sizeof *s->args);
  if (s->args == NULL) {
    cbt_set_error_errno (errno, "malloc");
    goto err;
  }

  /* A server that is not up yet is retried by every later operation;
   * wrong credentials or a broken schema are errors now.
   */
  if (md_connect (s) < 0) {
    MYSQL *probe = mysql_init (NULL);
    unsigned int timeout = MD_CONNECT_TIMEOUT_S;

    if (probe == NULL)
      goto err;
    mysql_options (probe, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_real_connect (probe, url->host[0] ? url->host : "localhost",
                        url->user, url->password, NULL, url->port,
                        url->socket[0] ? url->socket : NULL, 0);
    err = mysql_errno (probe);
    mysql_close (probe);
    if (err != CR_CONNECTION_ERROR && err != CR_CONN_HOST_ERROR &&
        err != CR_SERVER_LOST && err != CR_SERVER_GONE_ERROR)
      goto err;
  }
  return &s->base;

err:
  md_close (&s->base);
  return NULL;
}
