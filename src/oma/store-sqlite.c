/* cbtrack oma - SQLite store (the embedded default).
 *
 * One connection in WAL mode (readers such as the operator's sqlite3 CLI
 * never block the poller), with a busy timeout so a briefly locked file is
 * waited for; a lock held longer makes the operation fail with -EIO and the
 * caller retries later.  Every statement is prepared once at open.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "oma/store.h"

/* Milliseconds SQLite waits for a lock held by another connection. */
#define SQLITE_BUSY_TIMEOUT_MS 2000

struct store_sqlite {
  struct oma_store base;
  sqlite3 *db;
  pthread_mutex_t lock;
  sqlite3_stmt **stmts;
};

/* The columns of replication_jobs, in the order every statement below
 * binds and reads them.
 */
#define JOB_COLUMNS                                                           \
  "id, source_vm_name, replication_type, status, current_operation, "         \
  "progress_percent, setup_progress_percent, bytes_transferred, "             \
  "total_bytes, transfer_speed_bps, eta_seconds, vma_url, error_message, "    \
  "created_at, updated_at, started_at, completed_at, last_progress_at"
#define DISK_COLUMNS                                                          \
  "disk_id, capacity_bytes, total_bytes, bytes_synced, "                      \
  "sync_progress_percent, sync_status, updated_at"
#define ACTIVE "('pending', 'replicating')"

enum stmt_id {
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
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
  ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
  [ST_BEGIN] = "BEGIN IMMEDIATE",
  [ST_COMMIT] = "COMMIT",
  [ST_ROLLBACK] = "ROLLBACK",
  [ST_JOB_INSERT] = "INSERT INTO replication_jobs (" JOB_COLUMNS ") "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "?, ?, ?)",
  [ST_DISK_UPSERT] =
      "INSERT INTO vm_disks (job_id, " DISK_COLUMNS ") "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (job_id, disk_id) DO UPDATE SET "
      "capacity_bytes = CASE WHEN excluded.capacity_bytes > 0 "
      "THEN excluded.capacity_bytes ELSE vm_disks.capacity_bytes END, "
      "total_bytes = excluded.total_bytes, "
      "bytes_synced = excluded.bytes_synced, "
      "sync_progress_percent = excluded.sync_progress_percent, "
      "sync_status = excluded.sync_status, "
      "updated_at = excluded.updated_at",
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
  [ST_SAMPLE_INSERT] = "INSERT INTO replication_progress_history "
                       "(job_id, sampled_at, bytes_transferred, "
                       "transfer_speed_bps, progress_percent) "
                       "VALUES (?, ?, ?, ?, ?)",
  [ST_SAMPLE_CUTOFF] = "SELECT id FROM replication_progress_history "
                       "WHERE job_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
  [ST_SAMPLE_TRIM] = "DELETE FROM replication_progress_history "
                     "WHERE job_id = ? AND id <= ?",
};

/* Schema migrations: entry V brings the schema from version V to V + 1. */
static const char *const migrations[OMA_SCHEMA_VERSION] = {
  /* Version 1: the tables of DESIGN §4. */
  "CREATE TABLE replication_jobs ("
  "  id TEXT PRIMARY KEY NOT NULL,"
  "  source_vm_name TEXT NOT NULL DEFAULT '',"
  "  replication_type TEXT NOT NULL DEFAULT 'full',"
  "  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN"
  "    ('pending', 'replicating', 'completed', 'failed')),"
  "  current_operation TEXT NOT NULL DEFAULT '',"
  "  progress_percent REAL NOT NULL DEFAULT 0,"
  "  setup_progress_percent REAL NOT NULL DEFAULT 0,"
  "  bytes_transferred INTEGER NOT NULL DEFAULT 0,"
  "  total_bytes INTEGER NOT NULL DEFAULT 0,"
  "  transfer_speed_bps INTEGER NOT NULL DEFAULT 0,"
  "  eta_seconds INTEGER,"
  "  vma_url TEXT NOT NULL DEFAULT '',"
  "  error_message TEXT,"
  "  created_at TEXT NOT NULL,"
  "  updated_at TEXT NOT NULL,"
  "  started_at TEXT,"
  "  completed_at TEXT,"
  "  last_progress_at TEXT);"
  "CREATE INDEX replication_jobs_status ON replication_jobs (status);"
  "CREATE TABLE vm_disks ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  job_id TEXT NOT NULL REFERENCES replication_jobs (id)"
  "    ON DELETE CASCADE,"
  "  disk_id TEXT NOT NULL,"
  "  capacity_bytes INTEGER NOT NULL DEFAULT 0,"
  "  total_bytes INTEGER NOT NULL DEFAULT 0,"
  "  bytes_synced INTEGER NOT NULL DEFAULT 0,"
  "  sync_progress_percent REAL NOT NULL DEFAULT 0,"
  "  sync_status TEXT NOT NULL DEFAULT 'pending' CHECK (sync_status IN"
  "    ('pending', 'syncing', 'completed', 'failed')),"
  "  updated_at TEXT NOT NULL,"
  "  UNIQUE (job_id, disk_id));"
  "CREATE TABLE replication_progress_history ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  job_id TEXT NOT NULL REFERENCES replication_jobs (id)"
  "    ON DELETE CASCADE,"
  "  sampled_at TEXT NOT NULL,"
  "  bytes_transferred INTEGER NOT NULL,"
  "  transfer_speed_bps INTEGER NOT NULL,"
  "  progress_percent REAL NOT NULL);"
  "CREATE INDEX replication_progress_history_job"
  "  ON replication_progress_history (job_id, id);",
};

static int
sq_fail (struct store_sqlite *s, const char *what)
{
  cbt_set_error ("sqlite: %s: %s", what, sqlite3_errmsg (s->db));
  return -EIO;
}

/* Runs a statement that returns no rows (once), then resets it. */
static int
sq_step_done (struct store_sqlite *s, sqlite3_stmt *st, const char *what)
{
  int r = sqlite3_step (st);

  sqlite3_reset (st);
  if (r != SQLITE_DONE && r != SQLITE_ROW)
    return sq_fail (s, what);
  return 0;
}

/* Binds TEXT, or NULL when TEXT is empty and NULL_IF_EMPTY. */
static void
sq_bind_text (sqlite3_stmt *st, int i, const char *text, bool null_if_empty)
{
  if (text == NULL || (null_if_empty && text[0] == '\0'))
    sqlite3_bind_null (st, i);
  else
    sqlite3_bind_text (st, i, text, -1, SQLITE_TRANSIENT);
}

/* Binds a timestamp (0 = NULL). */
static void
sq_bind_time (sqlite3_stmt *st, int i, int64_t t)
{
  char buf[32];

  if (t == 0)
    sqlite3_bind_null (st, i);
  else
    sqlite3_bind_text (st, i, oma_format_sql_time (t, buf, sizeof buf), -1,
                       SQLITE_TRANSIENT);
}

static void
sq_column_text (sqlite3_stmt *st, int i, char *dst, size_t size)
{
  oma_copy_text (dst, size, (const char *)sqlite3_column_text (st, i));
}

static int64_t
sq_column_time (sqlite3_stmt *st, int i)
{
  return oma_parse_sql_time ((const char *)sqlite3_column_text (st, i));
}

/* Reads the JOB_COLUMNS of the current row, starting at column 0. */
static void
sq_read_job (sqlite3_stmt *st, struct oma_job *job)
{
  memset (job, 0, sizeof *job);
  sq_column_text (st, 0, job->id, sizeof job->id);
  sq_column_text (st, 1, job->source_vm_name, sizeof job->source_vm_name);
  sq_column_text (st, 2, job->replication_type, sizeof job->replication_type);
  sq_column_text (st, 3, job->status, sizeof job->status);
  sq_column_text (st, 4, job->current_operation,
                  sizeof job->current_operation);
  job->progress_percent = sqlite3_column_double (st, 5);
  job->setup_progress_percent = sqlite3_column_double (st, 6);
  job->bytes_transferred = sqlite3_column_int64 (st, 7);
  job->total_bytes = sqlite3_column_int64 (st, 8);
  job->transfer_speed_bps = sqlite3_column_int64 (st, 9);
  job->eta_seconds = sqlite3_column_type (st, 10) == SQLITE_NULL
                         ? -1
                         : sqlite3_column_int64 (st, 10);
  sq_column_text (st, 11, job->vma_url, sizeof job->vma_url);
  sq_column_text (st, 12, job->error_message, sizeof job->error_message);
  job->created_at = sq_column_time (st, 13);
  job->updated_at = sq_column_time (st, 14);
  job->started_at = sq_column_time (st, 15);
  job->completed_at = sq_column_time (st, 16);
  job->last_progress_at = sq_column_time (st, 17);
}

/* Reads the DISK_COLUMNS of the current row, starting at column FIRST. */
static void
sq_read_disk (sqlite3_stmt *st, int first, struct oma_disk *disk)
{
  memset (disk, 0, sizeof *disk);
  sq_column_text (st, first, disk->disk_id, sizeof disk->disk_id);
  disk->capacity_bytes = sqlite3_column_int64 (st, first + 1);
  disk->total_bytes = sqlite3_column_int64 (st, first + 2);
  disk->bytes_synced = sqlite3_column_int64 (st, first + 3);
  disk->sync_progress_percent = sqlite3_column_double (st, first + 4);
  sq_column_text (st, first + 5, disk->sync_status, sizeof disk->sync_status);
  disk->updated_at = sq_column_time (st, first + 6);
}

static int
sq_begin (struct store_sqlite *s)
{
  return sq_step_done (s, s->stmts[ST_BEGIN], "begin");
}

static int
sq_commit (struct store_sqlite *s)
{
  return sq_step_done (s, s->stmts[ST_COMMIT], "commit");
}

static void
sq_rollback (struct store_sqlite *s)
{
  /* Only when a transaction is open: a failed COMMIT may have ended it. */
  if (!sqlite3_get_autocommit (s->db)) {
    sqlite3_step (s->stmts[ST_ROLLBACK]);
    sqlite3_reset (s->stmts[ST_ROLLBACK]);
  }
}

static int
sq_upsert_disk (struct store_sqlite *s, const char *job_id,
                const struct oma_disk *d)
{
  sqlite3_stmt *st = s->stmts[ST_DISK_UPSERT];

  sqlite3_bind_text (st, 1, job_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 2, d->disk_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 3, d->capacity_bytes);
  sqlite3_bind_int64 (st, 4, d->total_bytes);
  sqlite3_bind_int64 (st, 5, d->bytes_synced);
  sqlite3_bind_double (st, 6, d->sync_progress_percent);
  sqlite3_bind_text (st, 7, d->sync_status[0] ? d->sync_status : "pending", -1,
                     SQLITE_TRANSIENT);
  sq_bind_time (st, 8, d->updated_at);
  return sq_step_done (s, st, "write disk");
}

static int
sq_job_insert (struct oma_store *store, const struct oma_job *job)
{
  struct store_sqlite *s = (struct store_sqlite *)store;
  sqlite3_stmt *st = s->stmts[ST_JOB_INSERT];
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&s->lock);
  size_t i;
  int r;

  if ((r = sq_begin (s)) < 0)
    return r;
  sqlite3_bind_text (st, 1, job->id, -1, SQLITE_TRANSIENT);
  sq_bind_text (st, 2, job->source_vm_name, false);
  sq_bind_text (
      st, 3, job->replication_type[0] ? job->replication_type : "full", false);
  sq_bind_text (st, 4, job->status[0] ? job->status : "pending", false);
  sq_bind_text (st, 5, job->current_operation, false);
  sqlite3_bind_double (st, 6, job->progress_percent);
  sqlite3_bind_double (st, 7, job->setup_progress_percent);
  sqlite3_bind_int64 (st, 8, job->bytes_transferred);
  sqlite3_bind_int64 (st, 9, job->total_bytes);
  sqlite3_bind_int64 (st, 10, job->transfer_speed_bps);
  if (job->eta_seconds < 0)
    sqlite3_bind_null (st, 11);
  else
    sqlite3_bind_int64 (st, 11, job->eta_seconds);
  sq_bind_text (st, 12, job->vma_url, false);
  sq_bind_text (st, 13, job->error_message, true);
  sq_bind_time (st, 14, job->created_at);
  sq_bind_time (st, 15, job->updated_at);
  sq_bind_time (st, 16, job->started_at);
  sq_bind_time (st, 17, job->completed_at);
  sq_bind_time (st, 18, job->last_progress_at);
  r = sqlite3_step (st);
  sqlite3_reset (st);
  if (r == SQLITE_CONSTRAINT) {
    sq_rollback (s);
    cbt_set_error ("job '%s' exists", job->id);
    return -EEXIST;
  }
  if (r != SQLITE_DONE) {
    r = sq_fail (s, "insert job");
    goto err;
  }
  for (i = 0; i < job->disks.len; i++)
    if ((r = sq_upsert_disk (s, job->id, &job->disks.ptr[i])) < 0)
      goto err;
  if ((r = sq_commit (s)) < 0)
    goto err;
  return 0;

err:
  sq_rollback (s);
  return r;
}

/* Appends the disks of JOB (by JOB->id) to JOB->disks. */
static int
sq_read_disks_of (struct store_sqlite *s, struct oma_job *job)
{
  sqlite3_stmt *st = s->stmts[ST_DISKS_OF_JOB];
  struct oma_disk d;
  int r;

  sqlite3_bind_text (st, 1, job->id, -1, SQLITE_TRANSIENT);
  while ((r = sqlite3_step (st)) == SQLITE_ROW) {
    sq_read_disk (st, 0, &d);
    if (oma_disk_vector_append (&job->disks, d) == -1) {
      sqlite3_reset (st);
      cbt_set_error_errno (errno, "read disks");
      return -EIO;
    }
  }
  sqlite3_reset (st);
  return r == SQLITE_DONE ? 0 : sq_fail (s, "read disks");
}

static int
sq_read_history_of (struct store_sqlite *s, struct oma_job *job)
{
  sqlite3_stmt *st = s->stmts[ST_HISTORY_OF_JOB];
  struct oma_sample p;
  int r;

  sqlite3_bind_text (st, 1, job->id, -1, SQLITE_TRANSIENT);
  while ((r = sqlite3_step (st)) == SQLITE_ROW) {
    p.sampled_at = sq_column_time (st, 0);
    p.bytes_transferred = sqlite3_column_int64 (st, 1);
    p.transfer_speed_bps = sqlite3_column_int64 (st, 2);
    p.progress_percent = sqlite3_column_double (st, 3);
    if (oma_sample_vector_append (&job->history, p) == -1) {
      sqlite3_reset (st);
      cbt_set_error_errno (errno, "read history");
      return -EIO;
    }
  }
  sqlite3_reset (st);
  return r == SQLITE_DONE ? 0 : sq_fail (s, "read history");
}

static int
sq_job_get (struct oma_store *store, const char *id, struct oma_job *ret_job)
{
  struct store_sqlite *s = (struct store_sqlite *)store;
  sqlite3_stmt *st = s->stmts[ST_JOB_SELECT];
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&s->lock);
  struct oma_job job;
  int r;

  sqlite3_bind_text (st, 1, id, -1, SQLITE_TRANSIENT);
  r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    sq_read_job (st, &job);
  sqlite3_reset (st);
  if (r == SQLITE_DONE) {
    cbt_set_error ("no job '%s'", id);
    return -ENOENT;
  }
  if (r != SQLITE_ROW)
    return sq_fail (s, "read job");
  if ((r = sq_read_disks_of (s, &job)) < 0 ||
      (r = sq_read_history_of (s, &job)) < 0) {
    oma_job_reset (&job);
    return r;
  }
  *ret_job = job;
  return 0;
}

/* Runs the job query ST and appends its rows to *JOBS. */
static int
sq_read_jobs (struct store_sqlite *s, sqlite3_stmt *st, oma_job_vector *jobs)
{
  struct oma_job job;
  int r;

  while ((r = sqlite3_step (st)) == SQLITE_ROW) {
    sq_read_job (st, &job);
    if (oma_job_vector_append (jobs, job) == -1) {
      sqlite3_reset (st);
      cbt_set_error_errno (errno, "read jobs");
      return -EIO;
    }
  }
  sqlite3_reset (st);
  return r == SQLITE_DONE ? 0 : sq_fail (s, "read jobs");
}

/* Orders positions in the job array ARG by the jobs' ids. */
static int
sq_cmp_index (const void *a, const void *b, void *arg)
{
  const struct oma_job *jobs = arg;

  return strcmp (jobs[*(const size_t *)a].id, jobs[*(const size_t *)b].id);
}

static int
sq_job_list (struct oma_store *store, oma_job_vector *ret_jobs)
{
  struct store_sqlite *s = (struct store_sqlite *)store;
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&s->lock);
  oma_job_vector jobs = empty_vector;
  CLEANUP_FREE size_t *index = NULL;
  sqlite3_stmt *st = s->stmts[ST_DISK_LIST];
  size_t i, k = 0;
  int r;

  if ((r = sq_read_jobs (s, s->stmts[ST_JOB_LIST], &jobs)) < 0)
    goto err;

  /* Both lists come sorted by job id (through an index for the jobs), so
   * one merge pass hands each disk to its job.
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
    qsort_r (index, jobs.len, sizeof *index, sq_cmp_index, jobs.ptr);

  while ((r = sqlite3_step (st)) == SQLITE_ROW) {
    const char *job_id = (const char *)sqlite3_column_text (st, 0);
    struct oma_disk d;

    while (k < jobs.len && strcmp (jobs.ptr[index[k]].id, job_id) < 0)
      k++;
    if (k == jobs.len || strcmp (jobs.ptr[index[k]].id, job_id) != 0)
      continue;
    sq_read_disk (st, 1, &d);
    if (oma_disk_vector_append (&jobs.ptr[index[k]].disks, d) == -1) {
      sqlite3_reset (st);
      cbt_set_error_errno (errno, "read disks");
      r = -EIO;
      goto err;
    }
  }
  sqlite3_reset (st);
  if (r != SQLITE_DONE) {
    r = sq_fail (s, "read disks");
    goto err;
  }
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
sq_job_list_active (struct oma_store *store, oma_job_vector *ret_jobs)
{
  struct store_sqlite *s = (struct store_sqlite *)store;
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&s->lock);
  oma_job_vector jobs = empty_vector;
  size_t i;
  int r;

  if ((r = sq_read_jobs (s, s->stmts[ST_JOB_LIST_ACTIVE], &jobs)) < 0)
    goto out;
  if (oma_job_vector_reserve (ret_jobs, jobs.len) == -1) {
    cbt_set_error_errno (errno, "read jobs");
    r = -EIO;
    goto out;
  }
  for (i = 0; i < jobs.len; i++)
    ret_jobs->ptr[ret_jobs->len++] = jobs.ptr[i];
  jobs.len = 0;
out:
  oma_job_vector_free (&jobs);
  return r;
}

static int
sq_job_patch (struct oma_store *store, const char *id,
              const struct oma_patch *patch, int64_t now)
{
  struct store_sqlite *s = (struct store_sqlite *)store;
  sqlite3_stmt *st = s->stmts[ST_JOB_PATCH];
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&s->lock);
  int r;

  sqlite3_bind_int (st, 1, patch->has_setup_progress);
  sqlite3_bind_double (st, 2, patch->setup_progress_percent);
  sqlite3_bind_int (st, 3, patch->has_current_operation);
  sq_bind_text (st, 4, patch->current_operation, false);
  sq_bind_time (st, 5, now);
  sq_bind_time (st, 6, now);
  sqlite3_bind_text (st, 7, id, -1, SQLITE_TRANSIENT);
  if ((r = sq_step_done (s, st, "update job")) < 0)
    return r;
  if (sqlite3_changes (s->db) == 0) {
    cbt_set_error ("no job '%s'", id);
    return -ENOENT;
  }
  return 0;
}

static int
sq_add_sample (struct store_sqlite *s, const struct oma_job *job)
{
  sqlite3_stmt *st = s->stmts[ST_SAMPLE_INSERT];

  sqlite3_bind_text (st, 1, job->id, -1, SQLITE_TRANSIENT);
  sq_bind_time (st, 2, job->updated_at);
  sqlite3_bind_int64 (st, 3, job->bytes_transferred);
  sqlite3_bind_int64 (st, 4, job->transfer_speed_bps);
  sqlite3_bind_double (st, 5, job->progress_percent);
  return sq_step_done (s, st, "write history");
}

/* Keeps the newest OMA_HISTORY_MAX samples of JOB. */
static int
sq_trim_history (struct store_sqlite *s, const struct oma_job *job)
{
  sqlite3_stmt *st = s->stmts[ST_SAMPLE_CUTOFF];
  sqlite3_int64 cutoff = -1;
  int r;

  sqlite3_bind_text (st, 1, job->id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (st, 2, OMA_HISTORY_MAX);
  r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    cutoff = sqlite3_column_int64 (st, 0);
  sqlite3_reset (st);
  if (r != SQLITE_ROW && r != SQLITE_DONE)
    return sq_fail (s, "trim history");
  if (cutoff < 0)
    return 0;
  st = s->stmts[ST_SAMPLE_TRIM];
  sqlite3_bind_text (st, 1, job->id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 2, cutoff);
  return sq_step_done (s, st, "trim history");
}

static int
sq_apply_one (struct store_sqlite *s, const struct oma_update *u)
{
  const struct oma_job *job = &u->job;
  sqlite3_stmt *st;
  size_t i;
  int r;

  if (u->kind == OMA_UPDATE_FAIL) {
    st = s->stmts[ST_JOB_FAIL];
    sq_bind_text (st, 1, job->error_message, true);
    sq_bind_time (st, 2, job->updated_at);
    sq_bind_time (st, 3, job->completed_at);
    sqlite3_bind_text (st, 4, job->id, -1, SQLITE_TRANSIENT);
    if ((r = sq_step_done (s, st, "fail job")) < 0)
      return r;
    if (sqlite3_changes (s->db) == 0)
      return 0;
    st = s->stmts[ST_DISKS_FAIL];
    sq_bind_time (st, 1, job->updated_at);
    sqlite3_bind_text (st, 2, job->id, -1, SQLITE_TRANSIENT);
    return sq_step_done (s, st, "fail disks");
  }

  st = s->stmts[ST_JOB_PROGRESS];
  sq_bind_text (st, 1, job->replication_type, false);
  sq_bind_text (st, 2, job->status, false);
  sq_bind_text (st, 3, job->current_operation, false);
  sqlite3_bind_double (st, 4, job->progress_percent);
  sqlite3_bind_int64 (st, 5, job->bytes_transferred);
  sqlite3_bind_int64 (st, 6, job->total_bytes);
  sqlite3_bind_int64 (st, 7, job->transfer_speed_bps);
  if (job->eta_seconds < 0)
    sqlite3_bind_null (st, 8);
  else
    sqlite3_bind_int64 (st, 8, job->eta_seconds);
  sq_bind_text (st, 9, job->error_message, true);
  sq_bind_time (st, 10, job->updated_at);
  sq_bind_time (st, 11, job->started_at);
  sq_bind_time (st, 12, job->completed_at);
  sq_bind_time (st, 13, job->last_progress_at);
  sqlite3_bind_text (st, 14, job->id, -1, SQLITE_TRANSIENT);
  if ((r = sq_step_done (s, st, "update job")) < 0)
    return r;
  if (sqlite3_changes (s->db) == 0)
    return 0; /* Gone, or final already. */
  for (i = 0; i < job->disks.len; i++)
    if ((r = sq_upsert_disk (s, job->id, &job->disks.ptr[i])) < 0)
      return r;
  if (u->add_sample && (r = sq_add_sample (s, job)) < 0)
    return r;
  if (u->trim_history)
    return sq_trim_history (s, job);
  return 0;
}

static int
sq_apply_updates (struct oma_store *store, const struct oma_update *updates,
                  size_t n)
{
  struct store_sqlite *s = (struct store_sqlite *)store;
  ACQUIRE_LOCK_FOR_CURRENT_SCOPE (&s->lock);
  size_t i;
  int r;

  if (n == 0)
    return 0;
  if ((r = sq_begin (s)) < 0)
    return r;
  for (i = 0; i < n; i++)
    if ((r = sq_apply_one (s, &updates[i])) < 0)
      goto err;
  if ((r = sq_commit (s)) < 0)
    goto err;
  return 0;

err:
  sq_rollback (s);
  return r;
}

static void
sq_close (struct oma_store *store)
{
  struct store_sqlite *s = (struct store_sqlite *)store;
  size_t i;

  if (s->stmts)
    for (i = 0; i < ST_COUNT; i++)
      sqlite3_finalize (s->stmts[i]);
  free (s->stmts);
  sqlite3_close (s->db);
  pthread_mutex_destroy (&s->lock);
  free (s);
}

/* Creates the schema or brings it up to OMA_SCHEMA_VERSION. */
static int
sq_migrate (struct store_sqlite *s)
{
  sqlite3_stmt *st = NULL;
  int version = 0, r;
  char *errmsg = NULL;

  if (sqlite3_exec (s->db,
                    "CREATE TABLE IF NOT EXISTS cbtrack_schema "
                    "(version INTEGER NOT NULL)",
                    NULL, NULL, NULL) != SQLITE_OK)
    return sq_fail (s, "create schema table");
  if (sqlite3_exec (s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return sq_fail (s, "begin migration");
  if (sqlite3_prepare_v2 (s->db, "SELECT MAX(version) FROM cbtrack_schema", -1,
                          &st, NULL) != SQLITE_OK)
    goto fail;
  if (sqlite3_step (st) == SQLITE_ROW)
    version = sqlite3_column_int (st, 0);
  sqlite3_finalize (st);
  st = NULL;
  if (version > OMA_SCHEMA_VERSION) {
    sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
    cbt_set_error ("sqlite: the database has schema version %d, newer than "
                   "this cbtrack's %d",
                   version, OMA_SCHEMA_VERSION);
    return -EIO;
  }
  for (; version < OMA_SCHEMA_VERSION; version++) {
    if (sqlite3_exec (s->db, migrations[version], NULL, NULL, &errmsg) !=
        SQLITE_OK) {
      cbt_set_error ("sqlite: migration to schema version %d: %s", version + 1,
                     errmsg ? errmsg : "failed");
      sqlite3_free (errmsg);
      sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
      return -EIO;
    }
  }
  if (sqlite3_exec (s->db, "DELETE FROM cbtrack_schema", NULL, NULL, NULL) !=
      SQLITE_OK)
    goto fail;
  if (sqlite3_prepare_v2 (s->db,
                          "INSERT INTO cbtrack_schema (version) VALUES (?)",
                          -1, &st, NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_int (st, 1, OMA_SCHEMA_VERSION);
  if (sqlite3_step (st) != SQLITE_DONE)
    goto fail;
  sqlite3_finalize (st);
  st = NULL;
  if (sqlite3_exec (s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    goto fail;
  return 0;

fail:
  r = sq_fail (s, "migrate schema");
  sqlite3_finalize (st);
  sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
  return r;
}

static const struct oma_store_ops sqlite_ops = {
  .name = "sqlite",
  .close = sq_close,
  .job_insert = sq_job_insert,
  .job_get = sq_job_get,
  .job_list = sq_job_list,
  .job_list_active = sq_job_list_active,
  .job_patch = sq_job_patch,
  .apply_updates = sq_apply_updates,
};

struct oma_store *
oma_store_sqlite_open (const char *path)
{
  struct store_sqlite *s;
  size_t i;

  s = calloc (1, sizeof *s);
  if (s == NULL) {
    cbt_set_error_errno (errno, "calloc");
    return NULL;
  }
  s->base.ops = &sqlite_ops;
  pthread_mutex_init (&s->lock, NULL);
  if (sqlite3_open_v2 (path, &s->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                           SQLITE_OPEN_NOMUTEX,
                       NULL) != SQLITE_OK) {
    cbt_set_error ("sqlite: %s: %s", path,
                   s->db ? sqlite3_errmsg (s->db) : "cannot open");
    goto err;
  }
  sqlite3_busy_timeout (s->db, SQLITE_BUSY_TIMEOUT_MS);
  /* WAL lets readers (the UI, the operator's sqlite3) run beside the
   * poller's writes; NORMAL sync is durable across application crashes
   * and loses at most the last commits on power loss, which the next poll
   * rewrites anyway since every update is absolute.
   */
  if (sqlite3_exec (s->db,
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                    "PRAGMA foreign_keys = ON",
                    NULL, NULL, NULL) != SQLITE_OK) {
    sq_fail (s, path);
    goto err;
  }
  if (sq_migrate (s) < 0)
    goto err;
  s->stmts = calloc (ST_COUNT, sizeof *s->stmts);
  if (s->stmts == NULL) {
    cbt_set_error_errno (errno, "calloc");
    goto err;
  }
  for (i = 0; i < ST_COUNT; i++)
    if (sqlite3_prepare_v3 (s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                            &s->stmts[i], NULL) != SQLITE_OK) {
      sq_fail (s, "prepare");
      goto err;
    }
  return &s->base;

err:
  sq_close (&s->base);
  return NULL;
}
