/* cbtrack oma - the store, written once in SQL over a thin driver.
 *
 * Every statement, column list, transaction and migration of the store
 * is here; store-sql.h says what a driver does below it.  One lock
 * serialises the store, so the driver, its prepared statements and the
 * argument list below are used by one thread at a time.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/timeutil.h"
#include "oma/poll-logic.h"
#include "oma/store-sql.h"

/* The columns of replication_jobs and vm_disks, in the order every
 * statement below binds and reads them.
 */
#define JOB_COLUMNS                                                           \
  "id, source_vm_name, replication_type, status, current_operation, "         \
  "progress_percent, setup_progress_percent, bytes_transferred, "             \
  "total_bytes, transfer_speed_bps, eta_seconds, vma_url, error_message, "    \
  "created_at, updated_at, started_at, completed_at, last_progress_at, "      \
  "stalled_since"
#define DISK_COLUMNS                                                          \
  "disk_id, capacity_bytes, total_bytes, bytes_synced, "                      \
  "sync_progress_percent, sync_status, updated_at, change_id, "               \
  "throughput_bps, eta_seconds"
/* The columns every read of a job returns: JOB_COLUMNS, the cancel
 * marker (schema version 3), which only a cancel writes, and the lease's
 * owner (version 5), which only the claims write.
 */
#define JOB_READ_COLUMNS JOB_COLUMNS ", cancel_requested_at, owner_node"
#define ACTIVE "('pending', 'replicating')"
/* What a fenced write adds to its WHERE: when the first argument is not
 * 0, the job must still be claimed by the node and generation that
 * follow.
 */
#define FENCE " AND (? = 0 OR (owner_node = ? AND owner_generation = ?))"
/* A node is alive while its heartbeat is at least the argument. */
#define NODE_ALIVE_BY_ID                                                      \
  "SELECT 1 FROM oma_nodes n WHERE n.node_id = j.owner_node "                 \
  "AND n.generation = j.owner_generation AND n.heartbeat_at >= ?"
/* Node rows silent for this long are dropped at a join. */
#define SQL_NODE_PURGE_AFTER (24 * 3600)

/* The disk upsert and the sample insert are built at create time from
 * these pieces: the head, the row repeated for the multi-row forms, and
 * (for the upsert) the dialect's conflict clause.
 */
#define DISK_UPSERT_HEAD                                                      \
  "INSERT INTO vm_disks (job_id, " DISK_COLUMNS ") VALUES "
#define DISK_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define SAMPLE_INSERT_HEAD                                                    \
  "INSERT INTO replication_progress_history (job_id, sampled_at, "            \
  "bytes_transferred, transfer_speed_bps, progress_percent) VALUES "
#define SAMPLE_ROW "(?, ?, ?, ?, ?)"

/* The statements that need no dialect; the others are NULL here. */
static const char *const sql_fixed[OMA_SQL_STMT_COUNT] = {
  [OMA_SQL_JOB_INSERT] = "INSERT INTO replication_jobs (" JOB_COLUMNS ") "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                         "?, ?, ?, ?, ?)",
  [OMA_SQL_JOB_SELECT] = "SELECT " JOB_READ_COLUMNS " FROM replication_jobs "
                         "WHERE id = ?",
  [OMA_SQL_DISKS_OF_JOB] = "SELECT " DISK_COLUMNS " FROM vm_disks "
                           "WHERE job_id = ? ORDER BY disk_id",
  [OMA_SQL_HISTORY_OF_JOB] = "SELECT sampled_at, bytes_transferred, "
                             "transfer_speed_bps, progress_percent "
                             "FROM replication_progress_history "
                             "WHERE job_id = ? ORDER BY id",
  [OMA_SQL_JOB_LIST] = "SELECT " JOB_READ_COLUMNS " FROM replication_jobs "
                       "ORDER BY created_at DESC, id",
  [OMA_SQL_DISK_LIST] = "SELECT job_id, " DISK_COLUMNS " FROM vm_disks "
                        "ORDER BY job_id, disk_id",
  [OMA_SQL_JOB_LIST_ACTIVE] =
      "SELECT " JOB_READ_COLUMNS " FROM replication_jobs "
      "WHERE status IN " ACTIVE " ORDER BY created_at, id",
  [OMA_SQL_JOB_PATCH] =
      "UPDATE replication_jobs SET "
      "setup_progress_percent = CASE WHEN ? THEN ? "
      "ELSE setup_progress_percent END, "
      "current_operation = CASE WHEN ? THEN ? ELSE current_operation END, "
      "updated_at = ?, last_progress_at = ? WHERE id = ? AND status "
      "IN " ACTIVE,
  [OMA_SQL_JOB_PROGRESS] =
      "UPDATE replication_jobs SET "
      "replication_type = COALESCE(NULLIF(?, ''), replication_type), "
      "status = ?, "
      "current_operation = COALESCE(NULLIF(?, ''), current_operation), "
      "progress_percent = ?, bytes_transferred = ?, total_bytes = ?, "
      "transfer_speed_bps = ?, eta_seconds = ?, error_message = ?, "
      "updated_at = ?, started_at = COALESCE(started_at, ?), "
      "completed_at = ?, last_progress_at = ?, stalled_since = ? "
      "WHERE id = ? AND status IN " ACTIVE FENCE,
  [OMA_SQL_JOB_FAIL] = "UPDATE replication_jobs SET status = 'failed', "
                       "error_message = ?, updated_at = ?, completed_at = ? "
                       "WHERE id = ? AND status IN " ACTIVE FENCE,
  [OMA_SQL_JOB_REOPEN] = "UPDATE replication_jobs SET status = "
                         "'replicating', error_message = NULL, "
                         "completed_at = NULL, cancel_requested_at = NULL, "
                         "stalled_since = NULL, "
                         "updated_at = ?, "
                         "last_progress_at = ? WHERE id = ? AND status = "
                         "'failed' AND completed_at <= ?",
  [OMA_SQL_DISKS_FAIL] = "UPDATE vm_disks SET sync_status = 'failed', "
                         "throughput_bps = 0, eta_seconds = NULL, "
                         "updated_at = ? WHERE job_id = ? "
                         "AND sync_status IN ('pending', 'syncing')",
  [OMA_SQL_SAMPLE_INSERT] = SAMPLE_INSERT_HEAD SAMPLE_ROW,
  [OMA_SQL_JOB_COUNT_ACTIVE] = "SELECT COUNT(*) FROM replication_jobs "
                               "WHERE status IN " ACTIVE,
  /* A cancel: the marker, and for a job no copier reported yet, the end. */
  [OMA_SQL_JOB_CANCEL] = "UPDATE replication_jobs SET "
                         "cancel_requested_at = ?, updated_at = ? "
                         "WHERE id = ? AND status IN " ACTIVE,
  [OMA_SQL_JOB_CANCEL_MARK] =
      "UPDATE replication_jobs SET "
      "cancel_requested_at = COALESCE(cancel_requested_at, ?) WHERE id = ?",
  [OMA_SQL_JOB_CANCEL_FAIL] =
      "UPDATE replication_jobs SET status = 'failed', "
      "cancel_requested_at = ?, error_message = ?, updated_at = ?, "
      "completed_at = ?, transfer_speed_bps = 0, eta_seconds = NULL "
      "WHERE id = ? AND status IN " ACTIVE,
  [OMA_SQL_SAMPLE_TIMES] = "SELECT id, sampled_at "
                           "FROM replication_progress_history "
                           "WHERE job_id = ? ORDER BY id",
  [OMA_SQL_SAMPLE_DELETE] = "DELETE FROM replication_progress_history "
                            "WHERE id = ?",
  [OMA_SQL_SCHEMA_VERSION] = "SELECT COALESCE(MAX(version), 0) "
                             "FROM cbtrack_schema",
  [OMA_SQL_SCHEMA_SET] = "INSERT INTO cbtrack_schema (version) VALUES (?)",
  [OMA_SQL_NODE_LIVE] = "SELECT COALESCE(SUM(node_id <> ?), 0), "
                        "COALESCE(SUM(node_id = ?), 0) FROM oma_nodes "
                        "WHERE heartbeat_at >= ?",
  [OMA_SQL_NODE_BUMP] = "UPDATE oma_nodes SET generation = generation + 1, "
                        "heartbeat_at = ?, started_at = ? WHERE node_id = ?",
  [OMA_SQL_NODE_INSERT] = "INSERT INTO oma_nodes (node_id, generation, "
                          "heartbeat_at, started_at) VALUES (?, 1, ?, ?)",
  [OMA_SQL_NODE_GENERATION] = "SELECT generation FROM oma_nodes "
                              "WHERE node_id = ?",
  [OMA_SQL_NODE_HEARTBEAT] = "UPDATE oma_nodes SET heartbeat_at = ? "
                             "WHERE node_id = ? AND generation = ? "
                             "AND heartbeat_at >= ?",
  [OMA_SQL_NODE_DELETE] = "DELETE FROM oma_nodes WHERE node_id = ? "
                          "AND generation = ?",
  [OMA_SQL_NODE_PURGE] = "DELETE FROM oma_nodes WHERE heartbeat_at < ?",
  [OMA_SQL_NODE_LIST] =
      "SELECT n.node_id, n.generation, n.heartbeat_at, n.started_at, "
      "(SELECT COUNT(*) FROM replication_jobs j WHERE j.owner_node = "
      "n.node_id AND j.owner_generation = n.generation AND j.status IN " ACTIVE
      ") FROM oma_nodes n ORDER BY n.node_id",
  [OMA_SQL_CLAIM_COUNTS] =
      "SELECT (SELECT COUNT(*) FROM oma_nodes WHERE heartbeat_at >= ?), "
      "(SELECT COUNT(*) FROM replication_jobs WHERE status IN " ACTIVE "), "
      "(SELECT COUNT(*) FROM replication_jobs WHERE status IN " ACTIVE
      " AND owner_node = ? AND owner_generation = ?)",
  [OMA_SQL_CLAIM_EXCESS] =
      "SELECT id FROM replication_jobs WHERE status IN " ACTIVE
      " AND owner_node = ? AND owner_generation "
      "= ? ORDER BY created_at DESC, id DESC LIMIT ?",
  [OMA_SQL_RELEASE_ALL] = "UPDATE replication_jobs SET owner_node = NULL, "
                          "owner_generation = 0 WHERE owner_node = ? "
                          "AND owner_generation = ?",
  [OMA_SQL_JOB_LIST_MINE] = "SELECT " JOB_READ_COLUMNS " FROM "
                            "replication_jobs WHERE status IN " ACTIVE
                            " AND owner_node = ? AND owner_generation = ? "
                            "ORDER BY created_at, id",
  [OMA_SQL_DISCOVERY_TAKE] = "UPDATE oma_discovery SET node_id = ?, "
                             "lease_until = ? WHERE vma_key = ? AND "
                             "(node_id = ? OR lease_until < ?)",
  [OMA_SQL_DISCOVERY_INSERT] = "INSERT INTO oma_discovery (vma_key, "
                               "node_id, lease_until) VALUES (?, ?, ?)",
  /* The active jobs held by a node whose lease expired: to claim now. */
  [OMA_SQL_ORPHANS] = "SELECT COUNT(*) FROM replication_jobs j "
                      "WHERE status IN " ACTIVE " AND owner_node IS NOT NULL "
                      "AND NOT EXISTS (" NODE_ALIVE_BY_ID ")",
};

/* The claim's query, ended by the dialect's row locking. */
#define CLAIM_FREE_HEAD                                                       \
  "SELECT id FROM replication_jobs j WHERE status IN " ACTIVE                 \
  " AND (owner_node IS NULL OR NOT EXISTS (" NODE_ALIVE_BY_ID "))"            \
  " ORDER BY created_at, id LIMIT ?"

/* The claim and the release of a list of ids, built at create time with
 * OMA_SQL_ID_LIST placeholders in the parentheses: one statement for up
 * to that many jobs (a shorter list repeats its last id).
 */
#define CLAIM_SET_HEAD                                                        \
  "UPDATE replication_jobs SET owner_node = ?, owner_generation = ? "         \
  "WHERE status IN " ACTIVE " AND id IN ("
#define RELEASE_SOME_HEAD                                                     \
  "UPDATE replication_jobs SET owner_node = NULL, owner_generation = 0 "      \
  "WHERE owner_node = ? AND owner_generation = ? AND id IN ("
_Static_assert(OMA_SQL_ID_LIST + 3 <= OMA_SQL_ARGS_MAX,
               "an id list fits the arguments");

/* Where the driver writes rows in bulk (MariaDB), a poll's progress is
 * written in bulk too: JOB_MATCH locks the jobs of a list of ids that are
 * still active and this node's (FENCE), and JOB_PROGRESS_BULK writes
 * JOB_BULK_ROWS of them per statement as an upsert of rows that exist
 * (locked: none is inserted), with what OMA_SQL_JOB_PROGRESS sets.
 */
#define JOB_MATCH_HEAD                                                        \
  "SELECT id FROM replication_jobs WHERE status IN " ACTIVE FENCE             \
  " AND id IN ("
#define JOB_BULK_ROWS 16
#define JOB_PROGRESS_HEAD                                                     \
  "INSERT INTO replication_jobs (id, replication_type, status, "              \
  "current_operation, progress_percent, bytes_transferred, total_bytes, "     \
  "transfer_speed_bps, eta_seconds, error_message, updated_at, started_at, "  \
  "completed_at, last_progress_at, stalled_since, created_at) VALUES "
#define JOB_PROGRESS_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define JOB_PROGRESS_ARGS 16
_Static_assert(JOB_BULK_ROWS *JOB_PROGRESS_ARGS <= OMA_SQL_ARGS_MAX,
               "a bulk of jobs fits the arguments");

/* The names of the DDL types in the migrations' text. */
static const char *const sql_ddl_names[OMA_SQL_DDL_COUNT] = {
  [OMA_SQL_DDL_ID] = "ID",       [OMA_SQL_DDL_NAME] = "NAME",
  [OMA_SQL_DDL_LONG] = "LONG",   [OMA_SQL_DDL_WORD] = "WORD",
  [OMA_SQL_DDL_INT] = "INT",     [OMA_SQL_DDL_REAL] = "REAL",
  [OMA_SQL_DDL_TIME] = "TIME",   [OMA_SQL_DDL_SERIAL] = "SERIAL",
  [OMA_SQL_DDL_TABLE] = "TABLE",
};

#define SCHEMA_TABLE                                                          \
  "CREATE TABLE IF NOT EXISTS cbtrack_schema "                                \
  "(version INTEGER NOT NULL){TABLE}"

/* Schema migrations: entry V holds the statements (NULL-terminated) that
 * bring the schema from version V to V + 1, with the DDL types in braces.
 * Each version is recorded right after its statements, as MariaDB
 * commits DDL by itself.
 */
static const char *const *const sql_migrations[OMA_SCHEMA_VERSION] = {
  (const char *const[]){
      /* Version 1: the tables of DESIGN §4. */
      "CREATE TABLE replication_jobs ("
      "  id {ID} NOT NULL PRIMARY KEY,"
      "  source_vm_name {NAME} NOT NULL DEFAULT '',"
      "  replication_type {WORD} NOT NULL DEFAULT 'full',"
      "  status {WORD} NOT NULL DEFAULT 'pending' CHECK (status IN"
      "    ('pending', 'replicating', 'completed', 'failed')),"
      "  current_operation {NAME} NOT NULL DEFAULT '',"
      "  progress_percent {REAL} NOT NULL DEFAULT 0,"
      "  setup_progress_percent {REAL} NOT NULL DEFAULT 0,"
      "  bytes_transferred {INT} NOT NULL DEFAULT 0,"
      "  total_bytes {INT} NOT NULL DEFAULT 0,"
      "  transfer_speed_bps {INT} NOT NULL DEFAULT 0,"
      "  eta_seconds {INT},"
      "  vma_url {LONG} NOT NULL DEFAULT '',"
      "  error_message {LONG},"
      "  created_at {TIME} NOT NULL,"
      "  updated_at {TIME} NOT NULL,"
      "  started_at {TIME},"
      "  completed_at {TIME},"
      "  last_progress_at {TIME}){TABLE}",
      "CREATE INDEX replication_jobs_status ON replication_jobs (status)",
      "CREATE TABLE vm_disks ("
      "  id {SERIAL},"
      "  job_id {ID} NOT NULL,"
      "  disk_id {ID} NOT NULL,"
      "  capacity_bytes {INT} NOT NULL DEFAULT 0,"
      "  total_bytes {INT} NOT NULL DEFAULT 0,"
      "  bytes_synced {INT} NOT NULL DEFAULT 0,"
      "  sync_progress_percent {REAL} NOT NULL DEFAULT 0,"
      "  sync_status {WORD} NOT NULL DEFAULT 'pending' CHECK (sync_status IN"
      "    ('pending', 'syncing', 'completed', 'failed')),"
      "  updated_at {TIME} NOT NULL,"
      "  CONSTRAINT vm_disks_job_disk UNIQUE (job_id, disk_id),"
      "  CONSTRAINT vm_disks_job FOREIGN KEY (job_id)"
      "    REFERENCES replication_jobs (id) ON DELETE CASCADE){TABLE}",
      "CREATE TABLE replication_progress_history ("
      "  id {SERIAL},"
      "  job_id {ID} NOT NULL,"
      "  sampled_at {TIME} NOT NULL,"
      "  bytes_transferred {INT} NOT NULL,"
      "  transfer_speed_bps {INT} NOT NULL,"
      "  progress_percent {REAL} NOT NULL,"
      "  CONSTRAINT replication_progress_history_job_fk FOREIGN KEY (job_id)"
      "    REFERENCES replication_jobs (id) ON DELETE CASCADE){TABLE}",
      "CREATE INDEX replication_progress_history_job"
      "  ON replication_progress_history (job_id, id)",
      NULL },
  (const char *const[]){
      /* Version 2: the changeId chain (VMware CBT), per VM disk. */
      "ALTER TABLE vm_disks ADD COLUMN change_id {NAME} NOT NULL DEFAULT ''",
      NULL },
  (const char *const[]){
      /* Version 3: when a cancel of the job was asked for (NULL: never).
       * A cancelled job ends failed, as a copy stopped by SIGTERM does
       * (status keeps its four values); the API and the UI show it as
       * "cancelled".
       */
      "ALTER TABLE replication_jobs ADD COLUMN cancel_requested_at {TIME}",
      NULL },
  (const char *const[]){
      /* Version 4: per-disk throughput and ETA (NULL: unknown), and when
       * a job in progress stopped moving (NULL: it moves).
       */
      "ALTER TABLE vm_disks ADD COLUMN throughput_bps {INT} NOT NULL "
      "DEFAULT 0",
      "ALTER TABLE vm_disks ADD COLUMN eta_seconds {INT} NULL",
      "ALTER TABLE replication_jobs ADD COLUMN stalled_since {TIME} NULL",
      NULL },
  (const char *const[]){
      /* Version 5: leases, for several OMAs on one database.  A heartbeat
       * row per OMA (its generation is the fencing token), the node and
       * generation that claimed each job, a discovery lease per VMA.
       */
      "CREATE TABLE oma_nodes ("
      "  node_id {NAME} NOT NULL PRIMARY KEY,"
      "  generation {INT} NOT NULL,"
      "  heartbeat_at {TIME} NOT NULL,"
      "  started_at {TIME} NOT NULL){TABLE}",
      "ALTER TABLE replication_jobs ADD COLUMN owner_node {NAME}",
      "ALTER TABLE replication_jobs ADD COLUMN owner_generation {INT} "
      "NOT NULL DEFAULT 0",
      "CREATE INDEX replication_jobs_owner ON replication_jobs "
      "(owner_node, owner_generation)",
      "CREATE TABLE oma_discovery ("
      "  vma_key {NAME} NOT NULL PRIMARY KEY,"
      "  node_id {NAME} NOT NULL,"
      "  lease_until {TIME} NOT NULL){TABLE}",
      NULL },
};

/* Failures found by the store itself rather than by the driver.  They
 * are never retried and leave the store as -EIO.
 */
#define SQL_ENOMEM (-ENOMEM)
#define SQL_ESCHEMA (-EPROTO)

struct sql_store {
  struct oma_store base;
  /* The public operations, named after the driver's engine. */
  struct oma_store_ops ops;
  struct oma_sql_driver *drv;
  /* Held for every operation; taken with a bound
   * (OMA_STORE_LOCK_TIMEOUT), so a database that stopped answering makes
   * the callers fail instead of queueing behind it.
   */
  pthread_mutex_t lock;
  /* When the operation holding the lock started (cbt_now_mono), 0 when
   * the lock is free: read by health without the lock.
   */
  _Atomic double busy_since;
  /* The outcome of the last operation, for health: state_lock guards
   * failing and why, and is never held across a database call.
   */
  pthread_mutex_t state_lock;
  bool failing;
  char why[512];
  /* The schema is checked and every statement prepared on the driver's
   * current connection.
   */
  bool ready;
  /* The text of every statement; the built ones are owned. */
  const char *sql[OMA_SQL_STMT_COUNT];
  char *built[OMA_SQL_STMT_COUNT];
  /* The arguments of the statement being bound. */
  struct oma_sql_arg args[OMA_SQL_ARGS_MAX];
  size_t nargs;
  /* The node this store joined as ("" when it has not), its generation
   * and its lease in seconds: set by node_join, under the lock.
   */
  char node_id[OMA_NAME_MAX + 1];
  int64_t generation;
  int64_t lease;
  /* A copy of the three for the heartbeat, which does not take the
   * lock: written and read under STATE_LOCK.
   */
  char hb_node_id[OMA_NAME_MAX + 1];
  int64_t hb_generation;
  int64_t hb_lease;
  /* The heartbeat's own store on another connection (the driver's
   * reopen), made at the first heartbeat; NULL for an engine without
   * reopen, whose heartbeat takes the lock.  Only node_heartbeat uses
   * it, one call at a time.
   */
  struct sql_store *hb;
};

/* Result columns of one query, bound to the caller's variables. */
struct sql_cols {
  struct oma_sql_col col[OMA_SQL_COLS_MAX];
  size_t n;
};

static struct oma_sql_arg *
sql_arg (struct sql_store *s, enum oma_sql_type type)
{
  struct oma_sql_arg *a;

  assert (s->nargs < OMA_SQL_ARGS_MAX);
  a = &s->args[s->nargs++];
  memset (a, 0, sizeof *a);
  a->type = type;
  return a;
}

static void
sql_arg_int (struct sql_store *s, int64_t v)
{
  sql_arg (s, OMA_SQL_INT)->i = v;
}

/* An integer, or NULL when V is negative (eta_seconds). */
static void
sql_arg_int_or_null (struct sql_store *s, int64_t v)
{
  if (v < 0)
    sql_arg (s, OMA_SQL_NULL);
  else
    sql_arg_int (s, v);
}

static void
sql_arg_double (struct sql_store *s, double v)
{
  sql_arg (s, OMA_SQL_DOUBLE)->d = v;
}

/* TEXT, or NULL when TEXT is NULL, or empty and NULL_IF_EMPTY. */
static void
sql_arg_text (struct sql_store *s, const char *text, bool null_if_empty)
{
  if (text == NULL || (null_if_empty && text[0] == '\0'))
    sql_arg (s, OMA_SQL_NULL);
  else
    sql_arg (s, OMA_SQL_TEXT)->text = text;
}

/* A timestamp; 0 is NULL. */
static void
sql_arg_time (struct sql_store *s, int64_t t)
{
  if (t == 0)
    sql_arg (s, OMA_SQL_NULL);
  else
    sql_arg (s, OMA_SQL_TIME)->i = t;
}

static void
sql_col (struct sql_cols *c, enum oma_sql_type type, void *dst, size_t size,
         bool null_is_minus_one)
{
  assert (c->n < OMA_SQL_COLS_MAX);
  c->col[c->n++] =
      (struct oma_sql_col){ .type = type,
                            .dst = dst,
                            .size = size,
                            .null_is_minus_one = null_is_minus_one };
}

/* A text column into the char array DST of SIZE bytes. */
static void
sql_col_text (struct sql_cols *c, char *dst, size_t size)
{
  sql_col (c, OMA_SQL_TEXT, dst, size, false);
}

static void
sql_col_int (struct sql_cols *c, int64_t *dst)
{
  sql_col (c, OMA_SQL_INT, dst, 0, false);
}

static void
sql_col_double (struct sql_cols *c, double *dst)
{
  sql_col (c, OMA_SQL_DOUBLE, dst, 0, false);
}

static void
sql_col_time (struct sql_cols *c, int64_t *dst)
{
  sql_col (c, OMA_SQL_TIME, dst, 0, false);
}

/* Binds the JOB_COLUMNS to JOB. */
static void
sql_cols_job (struct sql_cols *c, struct oma_job *job)
{
  sql_col_text (c, job->id, sizeof job->id);
  sql_col_text (c, job->source_vm_name, sizeof job->source_vm_name);
  sql_col_text (c, job->replication_type, sizeof job->replication_type);
  sql_col_text (c, job->status, sizeof job->status);
  sql_col_text (c, job->current_operation, sizeof job->current_operation);
  sql_col_double (c, &job->progress_percent);
  sql_col_double (c, &job->setup_progress_percent);
  sql_col_int (c, &job->bytes_transferred);
  sql_col_int (c, &job->total_bytes);
  sql_col_int (c, &job->transfer_speed_bps);
  sql_col (c, OMA_SQL_INT, &job->eta_seconds, 0, true);
  sql_col_text (c, job->vma_url, sizeof job->vma_url);
  sql_col_text (c, job->error_message, sizeof job->error_message);
  sql_col_time (c, &job->created_at);
  sql_col_time (c, &job->updated_at);
  sql_col_time (c, &job->started_at);
  sql_col_time (c, &job->completed_at);
  sql_col_time (c, &job->last_progress_at);
  sql_col_time (c, &job->stalled_since);
}

/* Binds the JOB_READ_COLUMNS to JOB. */
static void
sql_cols_job_read (struct sql_cols *c, struct oma_job *job)
{
  sql_cols_job (c, job);
  sql_col_time (c, &job->cancel_requested_at);
  sql_col_text (c, job->owner_node, sizeof job->owner_node);
}

/* Binds the DISK_COLUMNS to D. */
static void
sql_cols_disk (struct sql_cols *c, struct oma_disk *d)
{
  sql_col_text (c, d->disk_id, sizeof d->disk_id);
  sql_col_int (c, &d->capacity_bytes);
  sql_col_int (c, &d->total_bytes);
  sql_col_int (c, &d->bytes_synced);
  sql_col_double (c, &d->sync_progress_percent);
  sql_col_text (c, d->sync_status, sizeof d->sync_status);
  sql_col_time (c, &d->updated_at);
  sql_col_text (c, d->change_id, sizeof d->change_id);
  sql_col_int (c, &d->throughput_bps);
  sql_col (c, OMA_SQL_INT, &d->eta_seconds, 0, true);
}

/* Executes statement ID with the arguments bound so far, which it
 * empties.  Returns the rows changed, -EEXIST or -EIO.
 */
static int
sql_exec (struct sql_store *s, enum oma_sql_stmt id, const char *what)
{
  size_t n = s->nargs;

  s->nargs = 0;
  return s->drv->ops->exec (s->drv, id, s->args, n, what);
}

/* Opens the query ID with the arguments bound so far, its rows going to
 * COLS; see sql_read_one and sql_read_all.
 */
static int
sql_query (struct sql_store *s, enum oma_sql_stmt id,
           const struct sql_cols *cols, const char *what)
{
  size_t n = s->nargs;

  s->nargs = 0;
  return s->drv->ops->query (s->drv, id, s->args, n, cols->col, cols->n, what);
}

/* Runs the query ID and fetches its first row (if any) into COLS.
 * Returns 1 for a row, 0 for none, or a negative errno.
 */
static int
sql_read_one (struct sql_store *s, enum oma_sql_stmt id,
              const struct sql_cols *cols, const char *what)
{
  int r;

  if ((r = sql_query (s, id, cols, what)) < 0)
    return r;
  r = s->drv->ops->fetch (s->drv, id, what);
  s->drv->ops->end_query (s->drv, id);
  return r;
}

/* Runs the query ID and, after each row fetched into COLS, calls
 * APPEND (CTX), which takes the row and returns 0, or -1 with errno set.
 */
static int
sql_read_all (struct sql_store *s, enum oma_sql_stmt id,
              const struct sql_cols *cols, const char *what,
              int (*append) (void *ctx), void *ctx)
{
  int r;

  if ((r = sql_query (s, id, cols, what)) < 0)
    return r;
  while ((r = s->drv->ops->fetch (s->drv, id, what)) == 1)
    if (append (ctx) == -1) {
      cbt_set_error_errno (errno, "%s", what);
      r = SQL_ENOMEM;
      break;
    }
  s->drv->ops->end_query (s->drv, id);
  return r < 0 ? r : 0;
}

/* Writes TMPL to a new string with every "{TYPE}" replaced by the
 * driver's DDL text for it.  Returns the string, or NULL (ENOMEM, or an
 * unknown type, which is a bug in the migrations).
 */
static char *
sql_expand_ddl (const struct oma_sql_driver_ops *ops, const char *tmpl)
{
  char *text = NULL;
  size_t size = 0, len, i;
  const char *end;
  FILE *fp;

  fp = open_memstream (&text, &size);
  if (fp == NULL)
    return NULL;
  while (*tmpl) {
    if (*tmpl != '{' || (end = strchr (tmpl, '}')) == NULL) {
      fputc (*tmpl++, fp);
      continue;
    }
    len = (size_t)(end - tmpl - 1);
    for (i = 0; i < OMA_SQL_DDL_COUNT; i++)
      if (strlen (sql_ddl_names[i]) == len &&
          memcmp (sql_ddl_names[i], tmpl + 1, len) == 0)
        break;
    assert (i < OMA_SQL_DDL_COUNT);
    fputs (ops->ddl[i], fp);
    tmpl = end + 1;
  }
  if (ferror (fp) | fclose (fp)) {
    free (text);
    return NULL;
  }
  return text;
}

/* Runs the DDL template TMPL. */
static int
sql_exec_ddl (struct sql_store *s, const char *tmpl, const char *what)
{
  CLEANUP_FREE char *sql = sql_expand_ddl (s->drv->ops, tmpl);

  if (sql == NULL) {
    cbt_set_error_errno (ENOMEM, "%s", what);
    return SQL_ENOMEM;
  }
  return s->drv->ops->exec_sql (s->drv, sql, what);
}

/* Creates the schema or brings it up to OMA_SCHEMA_VERSION. */
static int
sql_migrate (struct sql_store *s)
{
  const struct oma_sql_driver_ops *ops = s->drv->ops;
  struct sql_cols cols = { .n = 0 };
  const char *const *stmt;
  int64_t version = 0;
  int r;

  if ((r = sql_exec_ddl (s, SCHEMA_TABLE, "create schema table")) < 0)
    return r;
  r = ops->migrate_begin ? ops->migrate_begin (s->drv) : ops->begin (s->drv);
  if (r < 0)
    return r;
  if ((r = ops->prepare (s->drv, OMA_SQL_SCHEMA_VERSION,
                         s->sql[OMA_SQL_SCHEMA_VERSION])) < 0 ||
      (r = ops->prepare (s->drv, OMA_SQL_SCHEMA_SET,
                         s->sql[OMA_SQL_SCHEMA_SET])) < 0)
    goto out;
  sql_col_int (&cols, &version);
  if ((r = sql_read_one (s, OMA_SQL_SCHEMA_VERSION, &cols,
                         "read schema version")) < 0)
    goto out;
  if (version > OMA_SCHEMA_VERSION) {
    cbt_set_error ("%s: the database has schema version %lld, newer than "
                   "this cbtrack's %d",
                   ops->name, (long long)version, OMA_SCHEMA_VERSION);
    r = SQL_ESCHEMA;
    goto out;
  }
  for (r = 0; version < OMA_SCHEMA_VERSION; version++) {
    for (stmt = sql_migrations[version]; *stmt; stmt++)
      if ((r = sql_exec_ddl (s, *stmt, "migrate schema")) < 0)
        goto out;
    sql_arg_int (s, version + 1);
    if ((r = sql_exec (s, OMA_SQL_SCHEMA_SET, "record schema version")) < 0)
      goto out;
  }
  r = 0;
out:
  if (ops->migrate_end) {
    if (ops->migrate_end (s->drv, r == 0) < 0 && r == 0)
      r = -EIO;
  } else if (r == 0)
    r = ops->commit (s->drv);
  else
    ops->rollback (s->drv);
  return r;
}

/* Makes sure the driver is connected, the schema current and every
 * statement prepared.  Every operation starts here.
 */
static int
sql_ensure (struct sql_store *s)
{
  const struct oma_sql_driver_ops *ops = s->drv->ops;
  size_t i;
  int r = 0;

  if (ops->connect && (r = ops->connect (s->drv)) < 0)
    return r;
  if (r == 1)
    s->ready = false;
  if (s->ready)
    return 0;
  if ((r = sql_migrate (s)) < 0)
    return r;
  for (i = 0; i < OMA_SQL_STMT_COUNT; i++)
    if (s->sql[i] && (r = ops->prepare (s->drv, i, s->sql[i])) < 0)
      return r;
  s->ready = true;
  return 0;
}

/* Whether the driver's last failure may go away by itself. */
static bool
sql_is_transient (struct sql_store *s)
{
  return s->drv->ops->is_transient && s->drv->ops->is_transient (s->drv);
}

/* Runs BODY (with ARG) on a ready connection, inside a transaction when
 * TRANSACTION, and rolls back when it fails.  A transient failure of the
 * driver on a connection that was up (a lock held too long, a deadlock, a
 * server that went away since the last call) is retried once; a failed
 * COMMIT is not, since whether it happened is unknown.  BODY must leave
 * no output behind when it fails.  Returns 0, -EEXIST, -ENOENT, -ENOSPC,
 * -ESTALE and -EBUSY as BODY does, or -EIO.
 */
static int
sql_run (struct sql_store *s, bool transaction,
         int (*body) (struct sql_store *s, void *arg), void *arg)
{
  const struct oma_sql_driver_ops *ops = s->drv->ops;
  bool retry = true, committing = false;
  int r, undone_retries = 3;

  for (;;) {
    s->nargs = 0;
    committing = false;
    if ((r = sql_ensure (s)) < 0)
      break;
    if (transaction)
      r = ops->begin (s->drv);
    if (r == 0)
      r = body (s, arg);
    if (r == 0 && transaction) {
      committing = true;
      r = ops->commit (s->drv);
    }
    if (r == 0)
      return 0;
    if (transaction)
      ops->rollback (s->drv);
    /* A COMMIT that failed as a whole (a Galera certification conflict)
     * changed nothing: the transaction runs again, a few times.
     */
    if (r == -EIO && committing && ops->commit_undone &&
        ops->commit_undone (s->drv) && undone_retries-- > 0)
      continue;
    if (r != -EIO || committing || !retry || !sql_is_transient (s))
      break;
    retry = false;
  }
  return r == -EEXIST || r == -ENOENT || r == -ENOSPC || r == -ESTALE ||
                 r == -EBUSY
             ? r
             : -EIO;
}

/* Runs sql_run (S, TRANSACTION, BODY, ARG) under the store's lock, which
 * it waits for at most OMA_STORE_LOCK_TIMEOUT seconds, after the
 * driver's storage check, and records the outcome for health.  Returns
 * like sql_run; -EIO when the lock or the check failed.
 */
static int
sql_locked_run (struct sql_store *s, bool transaction,
                int (*body) (struct sql_store *s, void *arg), void *arg)
{
  const struct oma_sql_driver_ops *ops = s->drv->ops;
  struct timespec deadline;
  double since;
  int r, err;

  clock_gettime (CLOCK_REALTIME, &deadline);
  deadline.tv_sec += (time_t)OMA_STORE_LOCK_TIMEOUT;
  err = pthread_mutex_timedlock (&s->lock, &deadline);
  if (err != 0) {
    since = atomic_load (&s->busy_since);
    if (err == ETIMEDOUT)
      cbt_set_error ("%s: the database is not answering (an operation has "
                     "been waiting for it for %.0f s)",
                     ops->name, since > 0 ? cbt_now_mono () - since : 0);
    else
      cbt_set_error_errno (err, "pthread_mutex_timedlock");
    return -EIO;
  }
  atomic_store (&s->busy_since, cbt_now_mono ());
  if (ops->check && (r = ops->check (s->drv)) < 0)
    r = -EIO;
  else
    r = sql_run (s, transaction, body, arg);
  atomic_store (&s->busy_since, 0.0);

  err = pthread_mutex_lock (&s->state_lock);
  assert (err == 0);
  s->failing = r == -EIO;
  if (r == -EIO)
    snprintf (s->why, sizeof s->why, "%s", cbt_get_error ());
  err = pthread_mutex_unlock (&s->state_lock);
  assert (err == 0);
  err = pthread_mutex_unlock (&s->lock);
  assert (err == 0);
  (void)err;
  return r;
}

/* Binds the arguments of the upsert of disk D of job JOB_ID. */
static void
sql_arg_disk (struct sql_store *s, const char *job_id,
              const struct oma_disk *d)
{
  sql_arg_text (s, job_id, false);
  sql_arg_text (s, d->disk_id, false);
  sql_arg_int (s, d->capacity_bytes);
  sql_arg_int (s, d->total_bytes);
  sql_arg_int (s, d->bytes_synced);
  sql_arg_double (s, d->sync_progress_percent);
  sql_arg_text (s, d->sync_status[0] ? d->sync_status : "pending", false);
  sql_arg_time (s, d->updated_at);
  sql_arg_text (s, d->change_id, false);
  sql_arg_int (s, d->throughput_bps);
  sql_arg_int_or_null (s, d->eta_seconds);
}

/* Binds the arguments of a history sample of JOB as it is now. */
static void
sql_arg_sample (struct sql_store *s, const struct oma_job *job)
{
  sql_arg_text (s, job->id, false);
  sql_arg_time (s, job->updated_at);
  sql_arg_int (s, job->bytes_transferred);
  sql_arg_int (s, job->transfer_speed_bps);
  sql_arg_double (s, job->progress_percent);
}

static int
sql_job_insert_body (struct sql_store *s, void *arg)
{
  const struct oma_job *job = arg;
  struct sql_cols c = { .n = 0 };
  struct oma_job old;
  int64_t active = 0;
  size_t i;
  int r;

  /* A job that exists is that, whatever the count: a discovery that
   * lists a VMA anew (another OMA's, after a takeover) meets thousands
   * of them, and a lookup by key is cheaper than the count.
   */
  memset (&old, 0, sizeof old);
  sql_cols_job_read (&c, &old);
  sql_arg_text (s, job->id, false);
  if ((r = sql_read_one (s, OMA_SQL_JOB_SELECT, &c, "read job")) < 0)
    return r;
  if (r == 1) {
    cbt_set_error ("job '%s' exists", job->id);
    return -EEXIST;
  }
  /* The poller and the UI's list grow with the jobs being polled. */
  c.n = 0;
  sql_col_int (&c, &active);
  if ((r = sql_read_one (s, OMA_SQL_JOB_COUNT_ACTIVE, &c, "count jobs")) < 0)
    return r;
  if (active >= OMA_MAX_ACTIVE_JOBS) {
    cbt_set_error ("the OMA already polls %" PRId64 " jobs (its limit)",
                   active);
    return -ENOSPC;
  }
  sql_arg_text (s, job->id, false);
  sql_arg_text (s, job->source_vm_name, false);
  sql_arg_text (s, job->replication_type[0] ? job->replication_type : "full",
                false);
  sql_arg_text (s, job->status[0] ? job->status : "pending", false);
  sql_arg_text (s, job->current_operation, false);
  sql_arg_double (s, job->progress_percent);
  sql_arg_double (s, job->setup_progress_percent);
  sql_arg_int (s, job->bytes_transferred);
  sql_arg_int (s, job->total_bytes);
  sql_arg_int (s, job->transfer_speed_bps);
  sql_arg_int_or_null (s, job->eta_seconds);
  sql_arg_text (s, job->vma_url, false);
  sql_arg_text (s, job->error_message, true);
  sql_arg_time (s, job->created_at);
  sql_arg_time (s, job->updated_at);
  sql_arg_time (s, job->started_at);
  sql_arg_time (s, job->completed_at);
  sql_arg_time (s, job->last_progress_at);
  sql_arg_time (s, job->stalled_since);
  r = sql_exec (s, OMA_SQL_JOB_INSERT, "insert job");
  if (r == -EEXIST)
    cbt_set_error ("job '%s' exists", job->id);
  if (r < 0)
    return r;
  for (i = 0; i < job->disks.len; i++) {
    sql_arg_disk (s, job->id, &job->disks.ptr[i]);
    if ((r = sql_exec (s, OMA_SQL_DISK_UPSERT, "write disk")) < 0)
      return r;
  }
  return 0;
}

static int
sql_job_insert (struct oma_store *store, const struct oma_job *job)
{
  struct sql_store *s = (struct sql_store *)store;

  return sql_locked_run (s, true, sql_job_insert_body, (void *)job);
}

/* A row being read, and the vector it goes to. */
struct sql_rows {
  void *vec;
  void *row;
};

static int
sql_append_disk (void *ctx)
{
  struct sql_rows *rows = ctx;

  return oma_disk_vector_append (rows->vec, *(struct oma_disk *)rows->row);
}

static int
sql_append_sample (void *ctx)
{
  struct sql_rows *rows = ctx;

  return oma_sample_vector_append (rows->vec, *(struct oma_sample *)rows->row);
}

static int
sql_append_job (void *ctx)
{
  struct sql_rows *rows = ctx;

  return oma_job_vector_append (rows->vec, *(struct oma_job *)rows->row);
}

/* Appends the disks of JOB (by JOB->id) to JOB->disks, and its history,
 * oldest first, to JOB->history.
 */
static int
sql_read_disks_and_history (struct sql_store *s, struct oma_job *job)
{
  struct sql_cols c = { .n = 0 };
  struct oma_sample p;
  struct oma_disk d;
  int r;

  memset (&d, 0, sizeof d);
  sql_arg_text (s, job->id, false);
  sql_cols_disk (&c, &d);
  if ((r = sql_read_all (s, OMA_SQL_DISKS_OF_JOB, &c, "read disks",
                         sql_append_disk,
                         &(struct sql_rows){ &job->disks, &d })) < 0)
    return r;
  memset (&p, 0, sizeof p);
  c.n = 0;
  sql_arg_text (s, job->id, false);
  sql_col_time (&c, &p.sampled_at);
  sql_col_int (&c, &p.bytes_transferred);
  sql_col_int (&c, &p.transfer_speed_bps);
  sql_col_double (&c, &p.progress_percent);
  return sql_read_all (s, OMA_SQL_HISTORY_OF_JOB, &c, "read history",
                       sql_append_sample,
                       &(struct sql_rows){ &job->history, &p });
}

/* What sql_job_get_body reads, and where. */
struct sql_get {
  const char *id;
  struct oma_job *ret_job;
};

static int
sql_job_get_body (struct sql_store *s, void *arg)
{
  struct sql_get *get = arg;
  struct sql_cols c = { .n = 0 };
  struct oma_job job;
  int r;

  memset (&job, 0, sizeof job);
  sql_arg_text (s, get->id, false);
  sql_cols_job_read (&c, &job);
  if ((r = sql_read_one (s, OMA_SQL_JOB_SELECT, &c, "read job")) < 0)
    return r;
  if (r == 0) {
    cbt_set_error ("no job '%s'", get->id);
    return -ENOENT;
  }
  if ((r = sql_read_disks_and_history (s, &job)) < 0) {
    oma_job_reset (&job);
    return r;
  }
  *get->ret_job = job;
  return 0;
}

static int
sql_job_get (struct oma_store *store, const char *id, struct oma_job *ret_job)
{
  struct sql_store *s = (struct sql_store *)store;
  struct sql_get get = { .id = id, .ret_job = ret_job };

  return sql_locked_run (s, false, sql_job_get_body, &get);
}

/* Runs the job query ID and appends its rows, without disks, to *JOBS. */
static int
sql_read_jobs (struct sql_store *s, enum oma_sql_stmt id, oma_job_vector *jobs)
{
  struct sql_cols c = { .n = 0 };
  struct oma_job job;

  memset (&job, 0, sizeof job);
  sql_cols_job_read (&c, &job);
  return sql_read_all (s, id, &c, "read jobs", sql_append_job,
                       &(struct sql_rows){ jobs, &job });
}

/* Orders positions in the job array ARG by the jobs' ids. */
static int
sql_cmp_index (const void *a, const void *b, void *arg)
{
  const struct oma_job *jobs = arg;

  return strcmp (jobs[*(const size_t *)a].id, jobs[*(const size_t *)b].id);
}

/* The merge of the disk list into the job list: the jobs (through INDEX,
 * sorted by id), the position K reached, and the row just fetched.
 */
struct sql_merge {
  oma_job_vector *jobs;
  const size_t *index;
  size_t k;
  char job_id[CBT_ID_MAX + 1];
  struct oma_disk disk;
};

/* Hands the disk row just fetched to its job, if it has one. */
static int
sql_merge_disk (void *ctx)
{
  struct sql_merge *m = ctx;
  const oma_job_vector *jobs = m->jobs;

  while (m->k < jobs->len &&
         strcmp (jobs->ptr[m->index[m->k]].id, m->job_id) < 0)
    m->k++;
  if (m->k == jobs->len || strcmp (jobs->ptr[m->index[m->k]].id, m->job_id))
    return 0;
  return oma_disk_vector_append (&jobs->ptr[m->index[m->k]].disks, m->disk);
}

/* Hands every row of the disk list to its job in JOBS. */
static int
sql_merge_disks (struct sql_store *s, oma_job_vector *jobs)
{
  CLEANUP_FREE size_t *index = NULL;
  struct sql_cols c = { .n = 0 };
  struct sql_merge m;
  size_t i;

  /* Both lists come sorted by job id (binary collation, as strcmp; the
   * jobs through an index), so one merge pass hands each disk to its job.
   */
  index = malloc ((jobs->len + 1) * sizeof *index);
  if (index == NULL) {
    cbt_set_error_errno (errno, "malloc");
    return SQL_ENOMEM;
  }
  for (i = 0; i < jobs->len; i++)
    index[i] = i;
  if (jobs->len > 1)
    qsort_r (index, jobs->len, sizeof *index, sql_cmp_index, jobs->ptr);

  memset (&m, 0, sizeof m);
  m.jobs = jobs;
  m.index = index;
  sql_col_text (&c, m.job_id, sizeof m.job_id);
  sql_cols_disk (&c, &m.disk);
  return sql_read_all (s, OMA_SQL_DISK_LIST, &c, "read disks", sql_merge_disk,
                       &m);
}

/* What sql_job_list_body reads, and where. */
struct sql_list {
  bool active;
  oma_job_vector *ret_jobs;
};

static int
sql_job_list_body (struct sql_store *s, void *arg)
{
  struct sql_list *list = arg;
  oma_job_vector jobs = empty_vector;
  size_t i;
  int r;

  if ((r = sql_read_jobs (
           s, list->active ? OMA_SQL_JOB_LIST_ACTIVE : OMA_SQL_JOB_LIST,
           &jobs)) < 0 ||
      (!list->active && (r = sql_merge_disks (s, &jobs)) < 0))
    goto out;
  if (oma_job_vector_reserve (list->ret_jobs, jobs.len) == -1) {
    cbt_set_error_errno (errno, "read jobs");
    r = SQL_ENOMEM;
    goto out;
  }
  for (i = 0; i < jobs.len; i++)
    list->ret_jobs->ptr[list->ret_jobs->len++] = jobs.ptr[i];
  jobs.len = 0;
  r = 0;
out:
  oma_job_vector_free (&jobs);
  return r;
}

static int
sql_job_list (struct oma_store *store, oma_job_vector *ret_jobs)
{
  struct sql_store *s = (struct sql_store *)store;
  struct sql_list list = { .active = false, .ret_jobs = ret_jobs };

  return sql_locked_run (s, false, sql_job_list_body, &list);
}

static int
sql_job_list_active (struct oma_store *store, oma_job_vector *ret_jobs)
{
  struct sql_store *s = (struct sql_store *)store;
  struct sql_list list = { .active = true, .ret_jobs = ret_jobs };

  return sql_locked_run (s, false, sql_job_list_body, &list);
}

/* What sql_job_patch_body changes. */
struct sql_patch {
  const char *id;
  const struct oma_patch *patch;
  int64_t now;
};

static int
sql_job_patch_body (struct sql_store *s, void *arg)
{
  const struct sql_patch *p = arg;
  int r;

  sql_arg_int (s, p->patch->has_setup_progress);
  sql_arg_double (s, p->patch->setup_progress_percent);
  sql_arg_int (s, p->patch->has_current_operation);
  sql_arg_text (s, p->patch->current_operation, false);
  sql_arg_time (s, p->now);
  sql_arg_time (s, p->now);
  sql_arg_text (s, p->id, false);
  if ((r = sql_exec (s, OMA_SQL_JOB_PATCH, "update job")) < 0)
    return r;
  if (r == 0) {
    /* No such job, or a final one (which a PATCH never rewrites). */
    struct sql_cols c = { .n = 0 };
    struct oma_job job;

    memset (&job, 0, sizeof job);
    sql_arg_text (s, p->id, false);
    sql_cols_job_read (&c, &job);
    if ((r = sql_read_one (s, OMA_SQL_JOB_SELECT, &c, "read job")) < 0)
      return r;
    oma_job_reset (&job);
    if (r == 0) {
      cbt_set_error ("no job '%s'", p->id);
      return -ENOENT;
    }
    cbt_set_error ("job '%s' is %s: a final job does not change", p->id,
                   job.status);
    return -EEXIST;
  }
  return 0;
}

/* What sql_job_cancel_body changes. */
struct sql_cancel {
  const char *id;
  int64_t now;
  const char *fail_message;
};

static int
sql_job_cancel_body (struct sql_store *s, void *arg)
{
  const struct sql_cancel *k = arg;
  struct sql_cols c = { .n = 0 };
  struct oma_job job;
  int r;

  sql_arg_time (s, k->now);
  if (k->fail_message != NULL) {
    sql_arg_text (s, k->fail_message, true);
    sql_arg_time (s, k->now);
    sql_arg_time (s, k->now);
    sql_arg_text (s, k->id, false);
    r = sql_exec (s, OMA_SQL_JOB_CANCEL_FAIL, "cancel job");
    if (r > 0) {
      sql_arg_time (s, k->now);
      sql_arg_text (s, k->id, false);
      r = sql_exec (s, OMA_SQL_DISKS_FAIL, "fail disks");
      return r < 0 ? r : 0;
    }
  } else {
    sql_arg_time (s, k->now);
    sql_arg_text (s, k->id, false);
    r = sql_exec (s, OMA_SQL_JOB_CANCEL, "cancel job");
  }
  if (r != 0)
    return r < 0 ? r : 0;
  /* No such job, or a final one. */
  memset (&job, 0, sizeof job);
  sql_arg_text (s, k->id, false);
  sql_cols_job_read (&c, &job);
  if ((r = sql_read_one (s, OMA_SQL_JOB_SELECT, &c, "read job")) < 0)
    return r;
  oma_job_reset (&job);
  if (r == 0) {
    cbt_set_error ("no job '%s'", k->id);
    return -ENOENT;
  }
  cbt_set_error ("job '%s' is %s already", k->id, job.status);
  return -EEXIST;
}

static int
sql_job_cancel (struct oma_store *store, const char *id, int64_t now,
                const char *fail_message)
{
  struct sql_store *s = (struct sql_store *)store;
  struct sql_cancel k = { .id = id, .now = now, .fail_message = fail_message };

  return sql_locked_run (s, true, sql_job_cancel_body, &k);
}

static int
sql_job_patch (struct oma_store *store, const char *id,
               const struct oma_patch *patch, int64_t now)
{
  struct sql_store *s = (struct sql_store *)store;
  struct sql_patch p = { .id = id, .patch = patch, .now = now };

  return sql_locked_run (s, false, sql_job_patch_body, &p);
}

/* What sql_job_reopen_body changes. */
struct sql_reopen {
  const char *id;
  int64_t not_after;
  int64_t now;
};

static int
sql_job_reopen_body (struct sql_store *s, void *arg)
{
  const struct sql_reopen *o = arg;
  int r;

  sql_arg_time (s, o->now);
  sql_arg_time (s, o->now);
  sql_arg_text (s, o->id, false);
  sql_arg_time (s, o->not_after);
  if ((r = sql_exec (s, OMA_SQL_JOB_REOPEN, "reopen job")) < 0)
    return r;
  if (r == 0) {
    cbt_set_error ("no job '%s' that failed before its new run", o->id);
    return -ENOENT;
  }
  return 0;
}

static int
sql_job_reopen (struct oma_store *store, const char *id, int64_t not_after,
                int64_t now)
{
  struct sql_store *s = (struct sql_store *)store;
  struct sql_reopen o = { .id = id, .not_after = not_after, .now = now };

  return sql_locked_run (s, false, sql_job_reopen_body, &o);
}

/* Keeps the newest OMA_HISTORY_MAX samples of JOB. */
/* One sample's id and time, as the trim reads them. */
struct sql_sample_time {
  int64_t id;
  int64_t t;
};
DEFINE_VECTOR_TYPE (sql_sample_time_vector, struct sql_sample_time);

static int
sql_append_sample_time (void *ctx)
{
  struct sql_rows *rows = ctx;

  return sql_sample_time_vector_append (rows->vec,
                                        *(struct sql_sample_time *)rows->row);
}

/* Thins the history of JOB to at most OMA_HISTORY_MAX samples by the
 * downsampling rule (oma_history_thin), as of JOB's updated_at.
 */
static int
sql_trim_history (struct sql_store *s, const struct oma_job *job)
{
  sql_sample_time_vector rows = empty_vector;
  struct sql_cols c = { .n = 0 };
  struct sql_sample_time row = { 0, 0 };
  int64_t *times = NULL;
  bool *keep = NULL;
  size_t i;
  int r;

  sql_arg_text (s, job->id, false);
  sql_col_int (&c, &row.id);
  sql_col_time (&c, &row.t);
  r = sql_read_all (s, OMA_SQL_SAMPLE_TIMES, &c, "trim history",
                    sql_append_sample_time, &(struct sql_rows){ &rows, &row });
  if (r < 0 || rows.len <= OMA_HISTORY_MAX)
    goto out;
  times = calloc (rows.len, sizeof *times);
  keep = calloc (rows.len, sizeof *keep);
  if (times == NULL || keep == NULL) {
    cbt_set_error ("trim history: out of memory");
    r = SQL_ENOMEM;
    goto out;
  }
  for (i = 0; i < rows.len; i++)
    times[i] = rows.ptr[i].t;
  oma_history_thin (times, rows.len, job->updated_at, OMA_HISTORY_MAX, keep);
  for (i = 0; i < rows.len && r >= 0; i++)
    if (!keep[i]) {
      sql_arg_int (s, rows.ptr[i].id);
      r = sql_exec (s, OMA_SQL_SAMPLE_DELETE, "trim history");
    }
out:
  free (times);
  free (keep);
  free (rows.ptr);
  return r < 0 ? r : 0;
}

/* Binds the FENCE arguments: the node and generation that must hold the
 * job, or none when the store has not joined.
 */
static void
sql_arg_fence (struct sql_store *s)
{
  sql_arg_int (s, s->node_id[0] != '\0');
  sql_arg_text (s, s->node_id, false);
  sql_arg_int (s, s->generation);
}

/* Renews the lease of the node the store joined as, at NOW: -ESTALE when
 * it no longer holds (the row expired or has another generation).
 */
static int
sql_node_renew (struct sql_store *s, int64_t now)
{
  int r;

  assert (s->node_id[0] != '\0');
  sql_arg_time (s, now);
  sql_arg_text (s, s->node_id, false);
  sql_arg_int (s, s->generation);
  sql_arg_time (s, now - s->lease);
  if ((r = sql_exec (s, OMA_SQL_NODE_HEARTBEAT, "heartbeat")) < 0)
    return r;
  if (r == 0) {
    cbt_set_error ("the lease of node %s (generation %" PRId64
                   ") is lost: it expired, or the node joined again",
                   s->node_id, s->generation);
    return -ESTALE;
  }
  return 0;
}

/* Binds the progress fields of JOB, in the order JOB_PROGRESS and
 * JOB_PROGRESS_ROW both name them (after the id in the row).
 */
static void
sql_arg_job_fields (struct sql_store *s, const struct oma_job *job)
{
  sql_arg_text (s, job->replication_type, false);
  sql_arg_text (s, job->status, false);
  sql_arg_text (s, job->current_operation, false);
  sql_arg_double (s, job->progress_percent);
  sql_arg_int (s, job->bytes_transferred);
  sql_arg_int (s, job->total_bytes);
  sql_arg_int (s, job->transfer_speed_bps);
  sql_arg_int_or_null (s, job->eta_seconds);
  sql_arg_text (s, job->error_message, true);
  sql_arg_time (s, job->updated_at);
  sql_arg_time (s, job->started_at);
  sql_arg_time (s, job->completed_at);
  sql_arg_time (s, job->last_progress_at);
  sql_arg_time (s, job->stalled_since);
}

/* Writes the job row of update U; sets *RET_MATCHED when the job was
 * still active (so its disks and sample are to be written too).
 */
static int
sql_apply_job (struct sql_store *s, const struct oma_update *u,
               bool *ret_matched)
{
  const struct oma_job *job = &u->job;
  int r;

  *ret_matched = false;
  if (u->kind == OMA_UPDATE_FAIL) {
    sql_arg_text (s, job->error_message, true);
    sql_arg_time (s, job->updated_at);
    sql_arg_time (s, job->completed_at);
    sql_arg_text (s, job->id, false);
    sql_arg_fence (s);
    if ((r = sql_exec (s, OMA_SQL_JOB_FAIL, "fail job")) <= 0)
      return r;
    sql_arg_time (s, job->updated_at);
    sql_arg_text (s, job->id, false);
    r = sql_exec (s, OMA_SQL_DISKS_FAIL, "fail disks");
    return r < 0 ? r : 0;
  }

  sql_arg_job_fields (s, job);
  sql_arg_text (s, job->id, false);
  sql_arg_fence (s);
  if ((r = sql_exec (s, OMA_SQL_JOB_PROGRESS, "update job")) < 0)
    return r;
  /* 0 rows: the job is gone, or final already. */
  *ret_matched = r > 0;
  /* A job cancelled at its VMA (not through this OMA) is marked too. */
  if (r > 0 && job->cancel_requested_at != 0) {
    sql_arg_time (s, job->cancel_requested_at);
    sql_arg_text (s, job->id, false);
    if ((r = sql_exec (s, OMA_SQL_JOB_CANCEL_MARK, "mark cancel")) < 0)
      return r;
  }
  return 0;
}

/* Binds the row of JOB_PROGRESS_ROW for JOB. */
static void
sql_arg_job_progress (struct sql_store *s, const struct oma_job *job)
{
  sql_arg_text (s, job->id, false);
  sql_arg_job_fields (s, job);
  sql_arg_time (s, job->updated_at); /* created_at: never inserted */
}

/* The ids JOB_MATCH returned, sorted afterwards. */
struct sql_id_list {
  char (*ids)[CBT_ID_MAX + 1];
  size_t len;
  char row[CBT_ID_MAX + 1];
};

static int
sql_append_match (void *ctx)
{
  struct sql_id_list *l = ctx;

  assert (l->len < OMA_SQL_ID_LIST);
  memcpy (l->ids[l->len++], l->row, sizeof l->row);
  return 0;
}

static int
sql_cmp_id (const void *a, const void *b)
{
  return strcmp (a, b);
}

/* Writes the progress updates among UPDATES[START..N) (the failures are
 * written one by one), OMA_SQL_ID_LIST of them at a time: one query
 * locks those still active and this node's, and statements of
 * JOB_BULK_ROWS rows write them (a short last statement repeats its last
 * row, which writes the same values again).  Sets MATCHED like
 * sql_apply_job; returns where the next list starts (N at the end) or a
 * negative errno.
 */
static ssize_t
sql_apply_jobs_bulk (struct sql_store *s, const struct oma_update *updates,
                     size_t start, size_t n, bool *matched,
                     struct sql_id_list *l)
{
  size_t pick[OMA_SQL_ID_LIST], npick = 0, hit[OMA_SQL_ID_LIST], nhit = 0;
  struct sql_cols c = { .n = 0 };
  size_t i, k;
  int r;

  for (i = start; i < n && npick < OMA_SQL_ID_LIST; i++) {
    if (updates[i].kind == OMA_UPDATE_FAIL) {
      if ((r = sql_apply_job (s, &updates[i], &matched[i])) < 0)
        return r;
    } else
      pick[npick++] = i;
  }
  if (npick == 0)
    return (ssize_t)i;
  sql_arg_fence (s);
  for (k = 0; k < OMA_SQL_ID_LIST; k++)
    sql_arg_text (s, updates[pick[k < npick ? k : npick - 1]].job.id, false);
  l->len = 0;
  sql_col_text (&c, l->row, sizeof l->row);
  if ((r = sql_read_all (s, OMA_SQL_JOB_MATCH, &c, "lock jobs",
                         sql_append_match, l)) < 0)
    return r;
  qsort (l->ids, l->len, sizeof *l->ids, sql_cmp_id);
  for (k = 0; k < npick; k++) {
    const struct oma_job *job = &updates[pick[k]].job;

    if (l->len > 0 &&
        bsearch (job->id, l->ids, l->len, sizeof *l->ids, sql_cmp_id)) {
      matched[pick[k]] = true;
      hit[nhit++] = pick[k];
    }
  }
  for (k = 0; k < nhit; k += JOB_BULK_ROWS) {
    size_t row;

    for (row = 0; row < JOB_BULK_ROWS; row++)
      sql_arg_job_progress (
          s, &updates[hit[k + row < nhit ? k + row : nhit - 1]].job);
    if ((r = sql_exec (s, OMA_SQL_JOB_PROGRESS_BULK, "update jobs")) < 0)
      return r;
  }
  /* A job cancelled at its VMA (not through this OMA) is marked too. */
  for (k = 0; k < nhit; k++) {
    const struct oma_job *job = &updates[hit[k]].job;

    if (job->cancel_requested_at != 0) {
      sql_arg_time (s, job->cancel_requested_at);
      sql_arg_text (s, job->id, false);
      if ((r = sql_exec (s, OMA_SQL_JOB_CANCEL_MARK, "mark cancel")) < 0)
        return r;
    }
  }
  return (ssize_t)i;
}

/* Writes ROWS rows (disks or samples) in statements of the driver's
 * bulk_rows rows, and the rest one by one: a poll cycle's 4000 disk rows
 * cost 125 round trips instead of 4000 where the engine is remote.
 * NEXT_ROW binds the next row and returns false when there is none.
 */
static int
sql_write_rows (struct sql_store *s, size_t rows, enum oma_sql_stmt one,
                enum oma_sql_stmt bulk_id, const char *what,
                bool (*next_row) (struct sql_store *s, void *it), void *it)
{
  size_t bulk_rows = s->drv->ops->bulk_rows, bulk = 0, row;
  int r;

  if (bulk_rows > 1)
    bulk = rows / bulk_rows * bulk_rows;
  for (row = 0; next_row (s, it); row++) {
    if (row < bulk && (row + 1) % bulk_rows != 0)
      continue;
    if ((r = sql_exec (s, row < bulk ? bulk_id : one, what)) < 0)
      return r;
  }
  return 0;
}

/* A walk over the rows an apply writes: the disks of the matched
 * updates, or their samples.
 */
struct sql_walk {
  const struct oma_update *updates;
  const bool *matched;
  size_t n, i, k;
};

static bool
sql_next_disk (struct sql_store *s, void *it)
{
  struct sql_walk *w = it;

  for (; w->i < w->n; w->i++, w->k = 0) {
    const struct oma_job *job = &w->updates[w->i].job;

    if (w->matched[w->i] && w->k < job->disks.len) {
      sql_arg_disk (s, job->id, &job->disks.ptr[w->k++]);
      return true;
    }
  }
  return false;
}

static bool
sql_next_sample (struct sql_store *s, void *it)
{
  struct sql_walk *w = it;

  for (; w->i < w->n; w->i++)
    if (w->matched[w->i] && w->updates[w->i].add_sample) {
      sql_arg_sample (s, &w->updates[w->i++].job);
      return true;
    }
  return false;
}

/* What sql_apply_body writes. */
struct sql_apply {
  const struct oma_update *updates;
  size_t n;
  bool *matched;
};

static int
sql_apply_body (struct sql_store *s, void *arg)
{
  struct sql_apply *a = arg;
  struct sql_walk walk = { a->updates, a->matched, a->n, 0, 0 };
  size_t i, disks = 0, samples = 0;
  int r;

  /* A node whose lease is lost writes nothing.  A takeover racing this
   * transaction is caught by FENCE in each job's write: the claimer
   * locks the job row, and this write then finds it claimed by another.
   */
  if (s->node_id[0] != '\0' &&
      (r = sql_node_renew (s, (int64_t)cbt_now_wall ())) < 0)
    return r;

  if (s->drv->ops->bulk_rows > 1) {
    struct sql_id_list l = { .len = 0 };
    ssize_t next = 0;

    l.ids = malloc (OMA_SQL_ID_LIST * sizeof *l.ids);
    if (l.ids == NULL) {
      cbt_set_error_errno (errno, "write jobs");
      return SQL_ENOMEM;
    }
    while ((size_t)next < a->n &&
           (next = sql_apply_jobs_bulk (s, a->updates, (size_t)next, a->n,
                                        a->matched, &l)) >= 0)
      ;
    free (l.ids);
    if (next < 0)
      return (int)next;
  } else
    for (i = 0; i < a->n; i++)
      if ((r = sql_apply_job (s, &a->updates[i], &a->matched[i])) < 0)
        return r;
  for (i = 0; i < a->n; i++)
    if (a->matched[i]) {
      disks += a->updates[i].job.disks.len;
      samples += a->updates[i].add_sample;
    }
  if ((r = sql_write_rows (s, disks, OMA_SQL_DISK_UPSERT,
                           OMA_SQL_DISK_UPSERT_BULK, "write disks",
                           sql_next_disk, &walk)) < 0)
    return r;
  walk.i = 0;
  if ((r = sql_write_rows (s, samples, OMA_SQL_SAMPLE_INSERT,
                           OMA_SQL_SAMPLE_INSERT_BULK, "write history",
                           sql_next_sample, &walk)) < 0)
    return r;
  for (i = 0; i < a->n; i++)
    if (a->matched[i] && a->updates[i].trim_history &&
        (r = sql_trim_history (s, &a->updates[i].job)) < 0)
      return r;
  return 0;
}

static int
sql_apply_updates (struct oma_store *store, const struct oma_update *updates,
                   size_t n)
{
  struct sql_store *s = (struct sql_store *)store;
  CLEANUP_FREE bool *matched = NULL;
  struct sql_apply a = { .updates = updates, .n = n };

  if (n == 0)
    return 0;
  matched = calloc (n, sizeof *matched);
  if (matched == NULL) {
    cbt_set_error_errno (errno, "calloc");
    return -EIO;
  }
  a.matched = matched;
  return sql_locked_run (s, true, sql_apply_body, &a);
}

/* Copies the store's lease (node_id, generation, lease) for the
 * heartbeat.
 */
static void
sql_lease_publish (struct sql_store *s)
{
  int err = pthread_mutex_lock (&s->state_lock);

  assert (err == 0);
  memcpy (s->hb_node_id, s->node_id, sizeof s->hb_node_id);
  s->hb_generation = s->generation;
  s->hb_lease = s->lease;
  err = pthread_mutex_unlock (&s->state_lock);
  assert (err == 0);
  (void)err;
}

/* What the node operations work on. */
struct sql_node_op {
  const char *node_id;
  int64_t lease;
  int64_t now;
  const char *vma_url;
  oma_job_vector *ret_jobs;
  oma_node_vector *ret_nodes;
};

static int
sql_node_join_body (struct sql_store *s, void *arg)
{
  const struct sql_node_op *op = arg;
  struct sql_cols c = { .n = 0 };
  int64_t others = 0, same = 0, generation = 0;
  int r;

  sql_arg_text (s, op->node_id, false);
  sql_arg_text (s, op->node_id, false);
  sql_arg_time (s, op->now - op->lease);
  sql_col_int (&c, &others);
  sql_col_int (&c, &same);
  if ((r = sql_read_one (s, OMA_SQL_NODE_LIVE, &c, "read nodes")) < 0)
    return r;
  if (others > 0 && !s->drv->ops->shared) {
    cbt_set_error ("another OMA is running on this %s database (its "
                   "heartbeat is younger than the lease of %" PRId64
                   " s); several OMAs need MariaDB",
                   s->drv->ops->name, op->lease);
    return -EBUSY;
  }
  /* Rejoining under our own id (after a lost lease) is fine; another
   * live process with the same id is not.
   */
  if (same > 0 && strcmp (s->node_id, op->node_id) != 0) {
    cbt_set_error ("node id '%s' is in use by a live OMA; give each OMA "
                   "its own --node-id",
                   op->node_id);
    return -EBUSY;
  }
  sql_arg_time (s, op->now - SQL_NODE_PURGE_AFTER);
  if ((r = sql_exec (s, OMA_SQL_NODE_PURGE, "drop silent nodes")) < 0)
    return r;
  sql_arg_time (s, op->now);
  sql_arg_time (s, op->now);
  sql_arg_text (s, op->node_id, false);
  if ((r = sql_exec (s, OMA_SQL_NODE_BUMP, "join")) < 0)
    return r;
  if (r == 0) {
    sql_arg_text (s, op->node_id, false);
    sql_arg_time (s, op->now);
    sql_arg_time (s, op->now);
    if ((r = sql_exec (s, OMA_SQL_NODE_INSERT, "join")) < 0) {
      if (r == -EEXIST)
        cbt_set_error ("node '%s' joined twice at once", op->node_id);
      return r == -EEXIST ? -EIO : r;
    }
  }
  c.n = 0;
  sql_arg_text (s, op->node_id, false);
  sql_col_int (&c, &generation);
  if ((r = sql_read_one (s, OMA_SQL_NODE_GENERATION, &c, "join")) < 0)
    return r;
  if (r == 0) {
    cbt_set_error ("node '%s' vanished while joining", op->node_id);
    return -EIO;
  }
  oma_copy_text (s->node_id, sizeof s->node_id, op->node_id);
  s->generation = generation;
  s->lease = op->lease;
  sql_lease_publish (s);
  return 0;
}

static int
sql_node_join (struct oma_store *store, const char *node_id, int64_t lease,
               int64_t now)
{
  struct sql_store *s = (struct sql_store *)store;
  struct sql_node_op op = { .node_id = node_id, .lease = lease, .now = now };

  assert (lease > 0 && node_id[0] != '\0');
  return sql_locked_run (s, true, sql_node_join_body, &op);
}

/* What a heartbeat works on: the time, and the jobs it finds held by
 * nodes whose lease expired.
 */
struct sql_heartbeat {
  int64_t now;
  int64_t orphans;
};

static int
sql_node_heartbeat_body (struct sql_store *s, void *arg)
{
  struct sql_heartbeat *hb = arg;
  struct sql_cols c = { .n = 0 };
  int64_t nodes = 0, active = 0, held = 0, share;
  int r;

  if (s->node_id[0] == '\0') {
    cbt_set_error ("the OMA has not joined the fleet");
    return -ESTALE;
  }
  if ((r = sql_node_renew (s, hb->now)) < 0)
    return r;
  sql_arg_time (s, hb->now - s->lease);
  sql_col_int (&c, &hb->orphans);
  if ((r = sql_read_one (s, OMA_SQL_ORPHANS, &c, "count orphaned jobs")) < 0)
    return r;
  if (hb->orphans == 0)
    return 0;
  /* Only what this node may claim (below its share) counts: a node at
   * its share leaves them to the others rather than cycle for nothing.
   */
  c.n = 0;
  sql_arg_time (s, hb->now - s->lease);
  sql_arg_text (s, s->node_id, false);
  sql_arg_int (s, s->generation);
  sql_col_int (&c, &nodes);
  sql_col_int (&c, &active);
  sql_col_int (&c, &held);
  if ((r = sql_read_one (s, OMA_SQL_CLAIM_COUNTS, &c, "count claims")) < 0)
    return r;
  if (nodes < 1)
    nodes = 1;
  share = (active + nodes - 1) / nodes;
  if (held >= share)
    hb->orphans = 0;
  else if (hb->orphans > share - held)
    hb->orphans = share - held;
  return 0;
}

/* Whether the store's lease is still NODE_ID's of GENERATION. */
static bool
sql_lease_is (struct sql_store *s, const char *node_id, int64_t generation)
{
  int err = pthread_mutex_lock (&s->state_lock);
  bool same;

  assert (err == 0);
  same =
      strcmp (s->hb_node_id, node_id) == 0 && s->hb_generation == generation;
  err = pthread_mutex_unlock (&s->state_lock);
  assert (err == 0);
  (void)err;
  return same;
}

static void sql_close (struct oma_store *store);

/* Where the driver can open another connection, the heartbeat runs on
 * a store of its own, with a copy of the lease: it never waits behind
 * the poll cycle's transactions for the lock.  Fencing is unchanged: the
 * renewal is one statement that holds only for the lease's generation
 * while it has not expired.  A renewal that fails because the node
 * joined again meanwhile (another generation) is not a lost lease.
 */
static int
sql_node_heartbeat (struct oma_store *store, int64_t now)
{
  struct sql_store *s = (struct sql_store *)store, *run = s;
  struct sql_heartbeat hb = { .now = now, .orphans = 0 };
  int r, err;

  if (s->drv->ops->reopen != NULL) {
    if (s->hb == NULL) {
      struct oma_store *own =
          oma_sql_store_create (s->drv->ops->reopen (s->drv));

      if (own == NULL)
        return -EIO;
      s->hb = (struct sql_store *)own;
    }
    run = s->hb;
    err = pthread_mutex_lock (&s->state_lock);
    assert (err == 0);
    memcpy (run->node_id, s->hb_node_id, sizeof run->node_id);
    run->generation = s->hb_generation;
    run->lease = s->hb_lease;
    err = pthread_mutex_unlock (&s->state_lock);
    assert (err == 0);
    (void)err;
  }
  r = sql_locked_run (run, true, sql_node_heartbeat_body, &hb);
  if (r == -ESTALE && run != s && run->node_id[0] != '\0' &&
      !sql_lease_is (s, run->node_id, run->generation))
    return 0;
  if (r < 0)
    return r;
  return hb.orphans > INT_MAX ? INT_MAX : (int)hb.orphans;
}

static int
sql_node_leave_body (struct sql_store *s, void *arg)
{
  int r;

  (void)arg;
  if (s->node_id[0] == '\0')
    return 0;
  sql_arg_text (s, s->node_id, false);
  sql_arg_int (s, s->generation);
  if ((r = sql_exec (s, OMA_SQL_RELEASE_ALL, "release jobs")) < 0)
    return r;
  sql_arg_text (s, s->node_id, false);
  sql_arg_int (s, s->generation);
  if ((r = sql_exec (s, OMA_SQL_NODE_DELETE, "leave")) < 0)
    return r;
  return 0;
}

static int
sql_node_leave (struct oma_store *store)
{
  struct sql_store *s = (struct sql_store *)store;
  int r = sql_locked_run (s, true, sql_node_leave_body, NULL);

  if (r == 0) {
    s->node_id[0] = '\0';
    sql_lease_publish (s);
  }
  return r;
}

/* Appends the column just read (an id) to the vector of ids CTX. */
struct sql_ids {
  oma_job_vector *ids;
  struct oma_job *row;
};

static int
sql_append_id (void *ctx)
{
  struct sql_ids *ids = ctx;
  struct oma_job job;

  memset (&job, 0, sizeof job);
  memcpy (job.id, ids->row->id, sizeof job.id);
  return oma_job_vector_append (ids->ids, job);
}

/* Reads the ids the query ID (arguments bound) returns into *IDS. */
static int
sql_read_ids (struct sql_store *s, enum oma_sql_stmt id, oma_job_vector *ids,
              const char *what)
{
  struct sql_cols c = { .n = 0 };
  struct oma_job row;

  memset (&row, 0, sizeof row);
  sql_col_text (&c, row.id, sizeof row.id);
  return sql_read_all (s, id, &c, what, sql_append_id,
                       &(struct sql_ids){ ids, &row });
}

/* Runs ID (OMA_SQL_CLAIM_SET or OMA_SQL_RELEASE_SOME: this node's id
 * and generation, then a list of job ids) over the jobs IDS, a list of
 * OMA_SQL_ID_LIST ids at a time: 1667 claims are 7 statements, not 1667
 * round trips inside the claim's transaction.
 */
static int
sql_set_owner (struct sql_store *s, enum oma_sql_stmt id,
               const oma_job_vector *ids, const char *what)
{
  size_t i, k;
  int r;

  for (i = 0; i < ids->len; i += OMA_SQL_ID_LIST) {
    sql_arg_text (s, s->node_id, false);
    sql_arg_int (s, s->generation);
    for (k = 0; k < OMA_SQL_ID_LIST; k++) {
      size_t j = i + k < ids->len ? i + k : ids->len - 1;

      sql_arg_text (s, ids->ptr[j].id, false);
    }
    if ((r = sql_exec (s, id, what)) < 0)
      return r;
  }
  return 0;
}

static int
sql_job_claim_body (struct sql_store *s, void *arg)
{
  const struct sql_node_op *op = arg;
  oma_job_vector ids = empty_vector, mine = empty_vector;
  struct sql_cols c = { .n = 0 };
  int64_t nodes = 0, active = 0, held = 0, share;
  size_t i;
  int r;

  if (s->node_id[0] == '\0') {
    cbt_set_error ("the OMA has not joined the fleet");
    return -ESTALE;
  }
  if ((r = sql_node_renew (s, op->now)) < 0)
    return r;
  sql_arg_time (s, op->now - s->lease);
  sql_arg_text (s, s->node_id, false);
  sql_arg_int (s, s->generation);
  sql_col_int (&c, &nodes);
  sql_col_int (&c, &active);
  sql_col_int (&c, &held);
  if ((r = sql_read_one (s, OMA_SQL_CLAIM_COUNTS, &c, "count claims")) < 0)
    return r;
  /* This node's heartbeat was just renewed: it counts itself. */
  if (nodes < 1)
    nodes = 1;
  share = (active + nodes - 1) / nodes;
  if (held < share) {
    sql_arg_time (s, op->now - s->lease);
    sql_arg_int (s, share - held);
    if ((r = sql_read_ids (s, OMA_SQL_CLAIM_FREE, &ids, "claim jobs")) < 0)
      goto out;
    if ((r = sql_set_owner (s, OMA_SQL_CLAIM_SET, &ids, "claim jobs")) < 0)
      goto out;
  } else if (held > share + 1) {
    /* More than the share (the other nodes joined later): the newest go
     * back, and the nodes below their share take them next cycle.
     */
    sql_arg_text (s, s->node_id, false);
    sql_arg_int (s, s->generation);
    sql_arg_int (s, held - share);
    if ((r = sql_read_ids (s, OMA_SQL_CLAIM_EXCESS, &ids, "release jobs")) < 0)
      goto out;
    if ((r = sql_set_owner (s, OMA_SQL_RELEASE_SOME, &ids, "release jobs")) <
        0)
      goto out;
  }
  sql_arg_text (s, s->node_id, false);
  sql_arg_int (s, s->generation);
  if ((r = sql_read_jobs (s, OMA_SQL_JOB_LIST_MINE, &mine)) < 0)
    goto out;
  if (oma_job_vector_reserve (op->ret_jobs, mine.len) == -1) {
    cbt_set_error_errno (errno, "read jobs");
    r = SQL_ENOMEM;
    goto out;
  }
  for (i = 0; i < mine.len; i++)
    op->ret_jobs->ptr[op->ret_jobs->len++] = mine.ptr[i];
  mine.len = 0;
  r = 0;
out:
  oma_job_vector_free (&ids);
  oma_job_vector_free (&mine);
  return r;
}

static int
sql_job_claim (struct oma_store *store, int64_t now, oma_job_vector *ret_jobs)
{
  struct sql_store *s = (struct sql_store *)store;
  struct sql_node_op op = { .now = now, .ret_jobs = ret_jobs };

  return sql_locked_run (s, true, sql_job_claim_body, &op);
}

static int
sql_discovery_take_body (struct sql_store *s, void *arg)
{
  const struct sql_node_op *op = arg;
  char key[OMA_NAME_MAX + 1];
  int r;

  if (s->node_id[0] == '\0')
    return 0;
  /* The key is the URL, cut to the width of the column. */
  oma_copy_text (key, sizeof key, op->vma_url);
  sql_arg_text (s, s->node_id, false);
  sql_arg_time (s, op->now + s->lease);
  sql_arg_text (s, key, false);
  sql_arg_text (s, s->node_id, false);
  sql_arg_time (s, op->now);
  if ((r = sql_exec (s, OMA_SQL_DISCOVERY_TAKE, "take discovery lease")) < 0)
    return r;
  if (r > 0)
    return 0;
  sql_arg_text (s, key, false);
  sql_arg_text (s, s->node_id, false);
  sql_arg_time (s, op->now + s->lease);
  r = sql_exec (s, OMA_SQL_DISCOVERY_INSERT, "take discovery lease");
  if (r == -EEXIST) {
    cbt_set_error ("another OMA discovers %s", op->vma_url);
    return -EBUSY;
  }
  return r < 0 ? r : 0;
}

static int
sql_discovery_take (struct oma_store *store, const char *vma_url, int64_t now)
{
  struct sql_store *s = (struct sql_store *)store;
  struct sql_node_op op = { .now = now, .vma_url = vma_url };

  return sql_locked_run (s, true, sql_discovery_take_body, &op);
}

static int
sql_append_node (void *ctx)
{
  struct sql_rows *rows = ctx;

  return oma_node_vector_append (rows->vec, *(struct oma_node *)rows->row);
}

static int
sql_node_list_body (struct sql_store *s, void *arg)
{
  const struct sql_node_op *op = arg;
  oma_node_vector nodes = empty_vector;
  struct sql_cols c = { .n = 0 };
  struct oma_node n;
  size_t i;
  int r;

  memset (&n, 0, sizeof n);
  sql_col_text (&c, n.node_id, sizeof n.node_id);
  sql_col_int (&c, &n.generation);
  sql_col_time (&c, &n.heartbeat_at);
  sql_col_time (&c, &n.started_at);
  sql_col_int (&c, &n.jobs);
  if ((r = sql_read_all (s, OMA_SQL_NODE_LIST, &c, "read nodes",
                         sql_append_node, &(struct sql_rows){ &nodes, &n })) <
      0) {
    oma_node_vector_reset (&nodes);
    return r;
  }
  for (i = 0; i < nodes.len; i++)
    nodes.ptr[i].alive = nodes.ptr[i].heartbeat_at >= op->now - s->lease;
  if (oma_node_vector_reserve (op->ret_nodes, nodes.len) == -1) {
    cbt_set_error_errno (errno, "read nodes");
    oma_node_vector_reset (&nodes);
    return SQL_ENOMEM;
  }
  for (i = 0; i < nodes.len; i++)
    op->ret_nodes->ptr[op->ret_nodes->len++] = nodes.ptr[i];
  oma_node_vector_reset (&nodes);
  return 0;
}

static int
sql_node_list (struct oma_store *store, int64_t now,
               oma_node_vector *ret_nodes)
{
  struct sql_store *s = (struct sql_store *)store;
  struct sql_node_op op = { .now = now, .ret_nodes = ret_nodes };

  return sql_locked_run (s, false, sql_node_list_body, &op);
}

static int
sql_health (struct oma_store *store, char *why, size_t len)
{
  struct sql_store *s = (struct sql_store *)store;
  const struct oma_sql_driver_ops *ops = s->drv->ops;
  double since = atomic_load (&s->busy_since);
  bool failing;
  int err;

  if (ops->check && ops->check (s->drv) < 0) {
    snprintf (why, len, "%s", cbt_get_error ());
    return -EIO;
  }
  if (since > 0 && cbt_now_mono () - since >= OMA_STORE_LOCK_TIMEOUT) {
    snprintf (why, len,
              "%s: the database is not answering (an operation has been "
              "waiting for it for %.0f s)",
              ops->name, cbt_now_mono () - since);
    return -EIO;
  }
  err = pthread_mutex_lock (&s->state_lock);
  assert (err == 0);
  failing = s->failing;
  if (failing)
    snprintf (why, len, "%s", s->why);
  err = pthread_mutex_unlock (&s->state_lock);
  assert (err == 0);
  (void)err;
  return failing ? -EIO : 0;
}

static void
sql_close (struct oma_store *store)
{
  struct sql_store *s = (struct sql_store *)store;
  size_t i;

  if (s->hb != NULL)
    sql_close (&s->hb->base);
  s->drv->ops->close (s->drv);
  for (i = 0; i < OMA_SQL_STMT_COUNT; i++)
    free (s->built[i]);
  pthread_mutex_destroy (&s->state_lock);
  pthread_mutex_destroy (&s->lock);
  free (s);
}

static const struct oma_store_ops sql_store_ops = {
  .name = NULL, /* the driver's */
  .close = sql_close,
  .health = sql_health,
  .job_insert = sql_job_insert,
  .job_get = sql_job_get,
  .job_list = sql_job_list,
  .job_list_active = sql_job_list_active,
  .job_patch = sql_job_patch,
  .job_reopen = sql_job_reopen,
  .job_cancel = sql_job_cancel,
  .apply_updates = sql_apply_updates,
  .node_join = sql_node_join,
  .node_heartbeat = sql_node_heartbeat,
  .node_leave = sql_node_leave,
  .job_claim = sql_job_claim,
  .discovery_take = sql_discovery_take,
  .node_list = sql_node_list,
};

/* Writes HEAD, ROWS times ROW separated by ", ", then, for the disk
 * upsert (UPSERT), the dialect's conflict clause, then TAIL (when not
 * NULL).  Returns the new string, or NULL.
 */
static char *
sql_build (const struct oma_sql_driver_ops *ops, const char *head,
           const char *row, unsigned rows, bool upsert, const char *tail)
{
  static const char *const updated[] = {
    "total_bytes", "bytes_synced",   "sync_progress_percent", "sync_status",
    "updated_at",  "throughput_bps", "eta_seconds",
  };
  const char *o = ops->upsert_new_open, *c = ops->upsert_new_close;
  char *text = NULL;
  size_t size = 0, i;
  FILE *fp;

  fp = open_memstream (&text, &size);
  if (fp == NULL)
    return NULL;
  fputs (head, fp);
  for (i = 0; i < rows; i++)
    fprintf (fp, "%s%s", i ? ", " : "", row);
  if (upsert) {
    /* A capacity of 0 means "not known": it keeps the one stored. */
    fprintf (fp,
             " %s capacity_bytes = CASE WHEN %scapacity_bytes%s > 0 "
             "THEN %scapacity_bytes%s ELSE vm_disks.capacity_bytes END",
             ops->upsert_conflict, o, c, o, c);
    for (i = 0; i < sizeof updated / sizeof *updated; i++)
      fprintf (fp, ", %s = %s%s%s", updated[i], o, updated[i], c);
    /* An empty changeId (not completed yet) keeps the one stored. */
    fprintf (fp,
             ", change_id = CASE WHEN %schange_id%s <> '' "
             "THEN %schange_id%s ELSE vm_disks.change_id END",
             o, c, o, c);
  }
  if (tail != NULL)
    fputs (tail, fp);
  if (ferror (fp) | fclose (fp)) {
    free (text);
    return NULL;
  }
  return text;
}

struct oma_store *
oma_sql_store_create (struct oma_sql_driver *drv)
{
  const struct oma_sql_driver_ops *ops;
  struct sql_store *s;
  unsigned bulk;
  int r;

  if (drv == NULL)
    return NULL;
  ops = drv->ops;
  bulk = ops->bulk_rows;
  assert (bulk >= 1 && bulk <= OMA_SQL_BULK_ROWS_MAX);
  s = calloc (1, sizeof *s);
  if (s == NULL) {
    cbt_set_error_errno (errno, "calloc");
    ops->close (drv);
    return NULL;
  }
  if ((r = pthread_mutex_init (&s->lock, NULL)) != 0 ||
      ((r = pthread_mutex_init (&s->state_lock, NULL)) != 0 &&
       (pthread_mutex_destroy (&s->lock), true))) {
    cbt_set_error_errno (r, "pthread_mutex_init");
    ops->close (drv);
    free (s);
    return NULL;
  }
  atomic_init (&s->busy_since, 0.0);
  s->drv = drv;
  s->ops = sql_store_ops;
  s->ops.name = ops->name;
  s->base.ops = &s->ops;
  memcpy (s->sql, sql_fixed, sizeof s->sql);
  s->built[OMA_SQL_DISK_UPSERT] =
      sql_build (ops, DISK_UPSERT_HEAD, DISK_ROW, 1, true, NULL);
  if (bulk > 1) {
    s->built[OMA_SQL_DISK_UPSERT_BULK] =
        sql_build (ops, DISK_UPSERT_HEAD, DISK_ROW, bulk, true, NULL);
    s->built[OMA_SQL_SAMPLE_INSERT_BULK] =
        sql_build (ops, SAMPLE_INSERT_HEAD, SAMPLE_ROW, bulk, false, NULL);
    if (s->built[OMA_SQL_DISK_UPSERT_BULK] == NULL ||
        s->built[OMA_SQL_SAMPLE_INSERT_BULK] == NULL)
      goto nomem;
  }
  if (s->built[OMA_SQL_DISK_UPSERT] == NULL)
    goto nomem;
  if (bulk > 1) {
    s->built[OMA_SQL_JOB_MATCH] = sql_build (
        ops, JOB_MATCH_HEAD, "?", OMA_SQL_ID_LIST, false, ") FOR UPDATE");
    s->built[OMA_SQL_JOB_PROGRESS_BULK] = sql_build (
        ops, JOB_PROGRESS_HEAD, JOB_PROGRESS_ROW, JOB_BULK_ROWS, false,
        " ON DUPLICATE KEY UPDATE replication_type = "
        "COALESCE(NULLIF(VALUES(replication_type), ''), "
        "replication_type), status = VALUES(status), "
        "current_operation = COALESCE(NULLIF(VALUES("
        "current_operation), ''), current_operation), "
        "progress_percent = VALUES(progress_percent), "
        "bytes_transferred = VALUES(bytes_transferred), "
        "total_bytes = VALUES(total_bytes), "
        "transfer_speed_bps = VALUES(transfer_speed_bps), "
        "eta_seconds = VALUES(eta_seconds), "
        "error_message = VALUES(error_message), "
        "updated_at = VALUES(updated_at), "
        "started_at = COALESCE(started_at, VALUES(started_at)), "
        "completed_at = VALUES(completed_at), "
        "last_progress_at = VALUES(last_progress_at), "
        "stalled_since = VALUES(stalled_since)");
    if (s->built[OMA_SQL_JOB_MATCH] == NULL ||
        s->built[OMA_SQL_JOB_PROGRESS_BULK] == NULL)
      goto nomem;
    s->sql[OMA_SQL_JOB_MATCH] = s->built[OMA_SQL_JOB_MATCH];
    s->sql[OMA_SQL_JOB_PROGRESS_BULK] = s->built[OMA_SQL_JOB_PROGRESS_BULK];
  }
  s->sql[OMA_SQL_DISK_UPSERT] = s->built[OMA_SQL_DISK_UPSERT];
  s->sql[OMA_SQL_DISK_UPSERT_BULK] = s->built[OMA_SQL_DISK_UPSERT_BULK];
  s->sql[OMA_SQL_SAMPLE_INSERT_BULK] = s->built[OMA_SQL_SAMPLE_INSERT_BULK];
  s->built[OMA_SQL_CLAIM_FREE] =
      sql_build (ops, CLAIM_FREE_HEAD, ops->lock_skip_locked, 1, false, NULL);
  s->built[OMA_SQL_CLAIM_SET] =
      sql_build (ops, CLAIM_SET_HEAD, "?", OMA_SQL_ID_LIST, false, ")");
  s->built[OMA_SQL_RELEASE_SOME] =
      sql_build (ops, RELEASE_SOME_HEAD, "?", OMA_SQL_ID_LIST, false, ")");
  if (s->built[OMA_SQL_CLAIM_FREE] == NULL ||
      s->built[OMA_SQL_CLAIM_SET] == NULL ||
      s->built[OMA_SQL_RELEASE_SOME] == NULL)
    goto nomem;
  s->sql[OMA_SQL_CLAIM_FREE] = s->built[OMA_SQL_CLAIM_FREE];
  s->sql[OMA_SQL_CLAIM_SET] = s->built[OMA_SQL_CLAIM_SET];
  s->sql[OMA_SQL_RELEASE_SOME] = s->built[OMA_SQL_RELEASE_SOME];

  /* A server that is not up yet is retried by every later operation;
   * wrong credentials or a broken schema are errors now.
   */
  r = sql_ensure (s);
  if (r < 0 && !(r == -EIO && sql_is_transient (s)))
    goto err;
  return &s->base;

nomem:
  cbt_set_error_errno (ENOMEM, "%s", ops->name);
err:
  sql_close (&s->base);
  return NULL;
}
