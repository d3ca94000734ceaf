/* cbtrack oma - durable job storage (DESIGN §4).
 *
 * One store (store-sql.c) written once in SQL, over one thin driver per
 * engine (store-sql.h): SQLite (store-sqlite.c, the embedded default) and
 * MariaDB/MySQL through MariaDB Connector/C (store-mariadb.c).  Both
 * create and migrate the same schema at start:
 *
 *   replication_jobs        one row per job, columns fixed by DESIGN §4
 *   vm_disks                one row per (job_id, disk_id)
 *   replication_progress_history
 *                           throughput samples for the UI's chart, about
 *                           OMA_HISTORY_MAX rows per job (see below)
 *   cbtrack_schema          the schema version
 *
 * Every statement is prepared; no value is ever pasted into SQL text.
 * A store is safe to call from several threads (it serialises its single
 * connection).  A database that is down or locked makes an operation fail
 * with -EIO and a message (cbt_get_error), after one retry when the
 * failure was transient (a MariaDB connection that broke since the last
 * call, a deadlock).  The next call tries again, reconnecting if need be,
 * so callers simply retry.
 */
#ifndef CBTRACK_OMA_STORE_H
#define CBTRACK_OMA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"
#include "common/vector.h"

#define OMA_SCHEMA_VERSION 5
/* As CBT_CHANGE_ID_MAX (common/progress-model.h). */
#define OMA_CHANGE_ID_MAX 128

/* Bounds of the text columns (bytes, without the terminating NUL).  The
 * MariaDB schema declares the same widths; longer text is cut on a UTF-8
 * character boundary before it is stored.
 */
#define OMA_NAME_MAX 255   /* source_vm_name, current_operation */
#define OMA_URL_MAX 1024   /* vma_url */
#define OMA_ERROR_MAX 1024 /* error_message */
#define OMA_WORD_MAX 15    /* status, sync_status, replication_type */

/* Samples of progress history kept per job: a trim (oma_update's
 * trim_history) thins the job's history to OMA_HISTORY_MAX samples by the
 * downsampling rule (oma_history_thin in poll-logic.h: full resolution
 * for the last OMA_HISTORY_FULL_SECONDS, older samples ever sparser, the
 * first one always kept), so the chart shows the whole life of a job.
 * The poller trims each job every OMA_HISTORY_TRIM_EVERY samples, so a
 * job holds at most OMA_HISTORY_MAX + OMA_HISTORY_TRIM_EVERY samples;
 * trimming on every write would double the statements a poll cycle sends.
 */
#define OMA_HISTORY_MAX 720
/* Seconds an operation waits for the store (another operation holding
 * it, because the database is slow or stopped answering) before it fails
 * with -EIO: API calls then answer 503 within this bound.
 */
#define OMA_STORE_LOCK_TIMEOUT 5
/* Jobs pending or replicating at most: registering (or discovering) one
 * more fails with -ENOSPC.
 */
#define OMA_MAX_ACTIVE_JOBS 10000
#define OMA_HISTORY_TRIM_EVERY 16

/* One row of vm_disks.  Timestamps here and below are seconds since the
 * epoch (UTC); 0 stands for SQL NULL.
 */
struct oma_disk {
  char disk_id[CBT_ID_MAX + 1];
  int64_t capacity_bytes;
  int64_t total_bytes;
  int64_t bytes_synced;
  double sync_progress_percent;
  char sync_status[OMA_WORD_MAX + 1]; /* pending syncing completed failed */
  int64_t updated_at;
  /* VMware CBT: the disk's changeId once this sync completed, else "".
   * An update with "" keeps the one stored.
   */
  char change_id[OMA_CHANGE_ID_MAX + 1];
  /* The disk's throughput (0 when unknown) and ETA (-1, SQL NULL, when
   * unknown) as the VMA last reported them.
   */
  int64_t throughput_bps;
  int64_t eta_seconds;
};
DEFINE_VECTOR_TYPE (oma_disk_vector, struct oma_disk);

/* One row of replication_progress_history. */
struct oma_sample {
  int64_t sampled_at;
  int64_t bytes_transferred;
  int64_t transfer_speed_bps;
  double progress_percent;
};
DEFINE_VECTOR_TYPE (oma_sample_vector, struct oma_sample);

/* One row of replication_jobs, with its disks and (when asked for) its
 * history.  An empty error_message is stored as NULL, eta_seconds < 0 as
 * NULL.  Release the vectors with oma_job_reset().
 */
struct oma_job {
  char id[CBT_ID_MAX + 1];
  char source_vm_name[OMA_NAME_MAX + 1];
  char replication_type[OMA_WORD_MAX + 1]; /* full, incremental */
  char status[OMA_WORD_MAX + 1]; /* pending replicating completed failed */
  char current_operation[OMA_NAME_MAX + 1];
  double progress_percent;
  double setup_progress_percent;
  int64_t bytes_transferred;
  int64_t total_bytes;
  int64_t transfer_speed_bps;
  int64_t eta_seconds;
  char vma_url[OMA_URL_MAX + 1];
  char error_message[OMA_ERROR_MAX + 1];
  int64_t created_at;
  int64_t updated_at;
  int64_t started_at;
  int64_t completed_at;
  int64_t last_progress_at;
  /* When a cancel was asked for (0: never; schema version 3), through
   * this OMA (job_cancel) or at the VMA (a progress update whose job
   * document says cancel_requested sets it, once): a job that then ends
   * failed is shown "cancelled" (CBT_STATUS_CANCELLED_NAME).
   */
  int64_t cancel_requested_at;
  /* A job in progress that stopped moving: since when (the copier says
   * it is stalled, or its updates stopped reaching the VMA); 0 while it
   * moves.
   */
  int64_t stalled_since;
  /* The OMA whose lease covers the job (oma_nodes.node_id), "" when none
   * has claimed it; read only (the store's claims write it).
   */
  char owner_node[OMA_NAME_MAX + 1];
  oma_disk_vector disks;
  oma_sample_vector history;
};
DEFINE_VECTOR_TYPE (oma_job_vector, struct oma_job);

/* One row of oma_nodes: an OMA of the fleet sharing the database. */
struct oma_node {
  char node_id[OMA_NAME_MAX + 1];
  int64_t generation;   /* bumped at every join: the fencing token */
  int64_t heartbeat_at; /* its last heartbeat */
  int64_t started_at;   /* when it (re)joined */
  int64_t jobs;         /* active jobs its lease covers now */
  bool alive;           /* heartbeat within its lease, at the time asked */
};
DEFINE_VECTOR_TYPE (oma_node_vector, struct oma_node);

/* The longest --node-id. */
#define OMA_NODE_ID_MAX 128

/* What one poll decided to write for one job (see poll-logic.h). */
enum oma_update_kind {
  /* Progress (or the final completed/failed state) from the VMA: every
   * progress column of the job, its disks (upserted), one history sample
   * when ADD_SAMPLE, and then, when TRIM_HISTORY, the job's oldest
   * samples beyond OMA_HISTORY_MAX dropped.
   */
  OMA_UPDATE_PROGRESS,
  /* The job is dead: status failed, error_message, completed_at; its
   * unfinished disks become failed.  Other columns keep their values.
   */
  OMA_UPDATE_FAIL,
};

struct oma_update {
  enum oma_update_kind kind;
  bool add_sample;
  bool trim_history;
  struct oma_job job; /* the new values; job.history is not used */
};

/* A PATCH of a job's setup phase.  Only the fields flagged are changed. */
struct oma_patch {
  bool has_setup_progress;
  double setup_progress_percent;
  bool has_current_operation;
  char current_operation[OMA_NAME_MAX + 1];
};

struct oma_store;

/* The store's operations.  Every member is mandatory.  Integer returns:
 * 0 on success, -EIO when the database failed (message in cbt_get_error;
 * nothing was changed, the caller may retry later), or the specific
 * negative errno documented per member.  ret_… outputs are untouched on
 * failure.
 */
struct oma_store_ops {
  /* The engine: "sqlite" or "mariadb". */
  const char *name;

  /* Closes the connection and frees the store. */
  void (*close) (struct oma_store *store);

  /* Says whether the database works, from what the store already knows:
   * the outcome of its last operation, an operation that has been
   * running for longer than the store's lock timeout, and the driver's
   * storage check (a deleted SQLite file).  Never waits for the database
   * or the store's lock.  Returns 0, or -EIO with the reason in WHY (LEN
   * bytes).
   */
  int (*health) (struct oma_store *store, char *why, size_t len);

  /* Inserts JOB (its created_at/updated_at must be set) and its disks in
   * one transaction.  -EEXIST if a job with this id exists, -ENOSPC if
   * OMA_MAX_ACTIVE_JOBS are pending or replicating (nothing is changed).
   */
  int (*job_insert) (struct oma_store *store, const struct oma_job *job);

  /* Reads the job ID with its disks (by disk_id) and its history (oldest
   * first) into *RET_JOB, which the caller releases with oma_job_reset().
   * -ENOENT if there is no such job.
   */
  int (*job_get) (struct oma_store *store, const char *id,
                  struct oma_job *ret_job);

  /* Appends every job, newest created first, with its disks (no history),
   * to *RET_JOBS.  Release with oma_job_vector_free().
   */
  int (*job_list) (struct oma_store *store, oma_job_vector *ret_jobs);

  /* Appends the jobs still to be polled (status pending or replicating),
   * without disks, to *RET_JOBS.
   */
  int (*job_list_active) (struct oma_store *store, oma_job_vector *ret_jobs);

  /* Applies PATCH to job ID at time NOW (also its updated_at and, as a
   * sign of life, last_progress_at).  -ENOENT if there is no such job,
   * -EEXIST (nothing changed) if it is completed or failed.
   */
  int (*job_patch) (struct oma_store *store, const char *id,
                    const struct oma_patch *patch, int64_t now);

  /* Reopens job ID, failed at or before NOT_AFTER (its completed_at), as
   * replicating at NOW: a new run of it has started (oma_poll_resumed_run).
   * Its error and completed_at are cleared; its progress, disks and
   * history stay, so the job continues where it stopped.  -ENOENT if
   * there is no such failed job (nothing changed).
   */
  int (*job_reopen) (struct oma_store *store, const char *id,
                     int64_t not_after, int64_t now);

  /* Records at time NOW that a cancel of job ID was asked for
   * (cancel_requested_at).  With FAIL_MESSAGE (not NULL) the job also
   * ends now: status failed with that error_message, its unfinished
   * disks failed (a job whose VMA never heard of it has no copier to
   * stop).  -ENOENT if there is no such job, -EEXIST (nothing changed)
   * if it is completed or failed.
   */
  int (*job_cancel) (struct oma_store *store, const char *id, int64_t now,
                     const char *fail_message);

  /* Writes N poll results in one transaction: all or nothing.  Updates of
   * jobs that are no longer pending/replicating are ignored, so a final
   * row is never overwritten.
   */
  int (*apply_updates) (struct oma_store *store,
                        const struct oma_update *updates, size_t n);

  /* Leases (several OMAs on one database).  A store that has joined as a
   * node fences every apply_updates: the node's lease must still hold (its
   * heartbeat row has its generation and is younger than LEASE seconds)
   * and each job must still be claimed by this node and generation; an
   * update of a job that is not changes nothing, and a lost lease makes
   * the whole apply_updates change nothing and fail with -ESTALE.  A store
   * that has not joined writes unfenced (tools, tests).
   */

  /* Joins the fleet as NODE_ID at time NOW with a lease of LEASE seconds:
   * (re)creates the node's heartbeat row with a new generation, which
   * fences off every write of an earlier life of the node, and drops rows
   * of nodes silent for a day.  -EBUSY when the engine serves one OMA
   * only (SQLite) and another node is alive, or when a live node already
   * has NODE_ID; the message says which.
   */
  int (*node_join) (struct oma_store *store, const char *node_id,
                    int64_t lease, int64_t now);

  /* Renews the node's lease at NOW, on a connection of its own where the
   * engine is shared (it does not wait behind the other operations), and
   * returns the number of active jobs held by nodes whose lease expired
   * that this node may claim (it is below its share), for the caller to
   * claim them without waiting for its next cycle.  -ESTALE
   * when the lease was lost already (expired, or the row has another
   * generation): the caller joins again and polls only what it then
   * claims.  One call at a time.
   */
  int (*node_heartbeat) (struct oma_store *store, int64_t now);

  /* Leaves the fleet: the node's jobs become unclaimed and its row goes,
   * so that the other nodes take the jobs over at once.  Nothing when the
   * store has not joined.
   */
  int (*node_leave) (struct oma_store *store);

  /* Renews the lease, claims (SELECT ... FOR UPDATE SKIP LOCKED where the
   * engine has it) unclaimed jobs and jobs whose node's lease expired, up
   * to this node's fair share of the active jobs (their number over the
   * live nodes, rounded up), gives back what exceeds the share by more
   * than one, and appends the active jobs this node then holds, without
   * disks, to *RET_JOBS.  -ESTALE as node_heartbeat.
   */
  int (*job_claim) (struct oma_store *store, int64_t now,
                    oma_job_vector *ret_jobs);

  /* Takes or renews the discovery lease of the VMA at VMA_URL for LEASE
   * seconds of the node's: returns 0 when this node is to discover that
   * VMA now, -EBUSY when another live node holds the lease.  Always 0
   * for a store that has not joined.
   */
  int (*discovery_take) (struct oma_store *store, const char *vma_url,
                         int64_t now);

  /* Appends every node of the fleet, by id, to *RET_NODES, each alive or
   * not as of NOW.
   */
  int (*node_list) (struct oma_store *store, int64_t now,
                    oma_node_vector *ret_nodes);
};

/* The public part of a store's handle. */
struct oma_store {
  const struct oma_store_ops *ops;
};

/* A parsed --db URL. */
enum oma_db_kind { OMA_DB_SQLITE, OMA_DB_MARIADB };

struct oma_db_url {
  enum oma_db_kind kind;
  char path[4096]; /* sqlite: the file */
  char user[128];  /* mysql: */
  char password[256];
  char host[256]; /* "" = localhost through the default socket */
  unsigned port;  /* 0 = default */
  char database[65];
  char socket[4096]; /* "" = none given */
  /* "" or a file whose first line is the password, read at every
   * (re)connection instead of PASSWORD (--db-password-file, a systemd
   * credential).
   */
  char password_file[4096];
};

/* Where the password of a mysql:// URL lies in URL: sets *RET_OFFSET and
 * returns its length (0 when the URL holds none; *RET_OFFSET untouched).
 * I/O free.
 */
size_t oma_db_url_password_span (const char *url, size_t *ret_offset);

/* Copies URL into BUF of SIZE bytes (truncated, always terminated) with
 * its password, if any, replaced by "***": the form of a URL that
 * messages and logs may show.  I/O free.
 */
void oma_db_url_redact (const char *url, char *buf, size_t size);

/* Reads a database password from FILE: its first line without the line
 * end (spaces are part of it).  Returns 0 with the password in BUF of SIZE
 * bytes, or -1 with an error recorded that never holds the password
 * (unreadable, empty or too long), BUF then untouched.
 */
int oma_db_password_read (const char *file, char *buf, size_t size);

/* Parses URL: "sqlite:PATH" (also "sqlite://PATH") or
 * "mysql://USER[:PASS]@HOST[:PORT]/DB[?socket=PATH]" ("mariadb://" is
 * accepted too; user and password may be %-encoded).  Returns 0 and fills
 * *RET_URL, or -1 with an error recorded.  I/O free.
 */
int oma_db_url_parse (const char *url, struct oma_db_url *ret_url);

/* Like oma_store_open, with the MariaDB password taken from PASSWORD when
 * it is not NULL, or else read from PASSWORD_FILE at every connection
 * when that is not NULL, instead of from the URL.
 */
struct oma_store *oma_store_open_secret (const char *url, const char *password,
                                         const char *password_file);

/* Opens the store named by URL, creating or migrating its schema.  For
 * SQLite the file must open; a MariaDB server that cannot be reached yet
 * is not an error (the store connects and migrates on first use), but a
 * refused login or an unusable database is.  Returns the
 * store, or NULL with an error recorded.
 */
struct oma_store *oma_store_open (const char *url);

/* Closes STORE; NULL is allowed. */
void oma_store_close (struct oma_store *store);

/* Frees the vectors held by JOB (not JOB itself).  NULL is allowed. */
void oma_job_reset (struct oma_job *job);

/* Resets every job of *JOBS, then the vector itself.  NULL is allowed. */
void oma_job_vector_free (oma_job_vector *jobs);

/* Copies SRC into DST of SIZE bytes, cutting it on a UTF-8 character
 * boundary if it is too long.  NULL SRC gives "".
 */
void oma_copy_text (char *dst, size_t size, const char *src);

/* Formats epoch seconds T as "YYYY-MM-DD HH:MM:SS" (UTC) into BUF of at
 * least 20 bytes, or "" when T is 0.  Returns BUF.
 */
char *oma_format_sql_time (int64_t t, char *buf, size_t len);

/* Parses "YYYY-MM-DD HH:MM:SS" (UTC, as written by oma_format_sql_time)
 * to epoch seconds; NULL or unparsable text gives 0.
 */
int64_t oma_parse_sql_time (const char *text);

#endif /* CBTRACK_OMA_STORE_H */
