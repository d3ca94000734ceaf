/* cbtrack oma - the SQL store and the drivers below it.
 *
 * store-sql.c is the store: it owns every statement, the column lists,
 * the merge of jobs and disks, the transaction flow with its retry, the
 * trimming of the history and the list of schema migrations.  Below it,
 * one driver per engine (store-sqlite.c, store-mariadb.c) only talks to
 * its library: it prepares, binds, executes and fetches statements by
 * their number, runs transactions, tells a transient error from a lasting
 * one, and supplies the pieces of its dialect (DDL types, the upsert
 * clause, how many rows one statement may write).
 *
 * A driver is used by one thread at a time: the store serialises every
 * call under its own lock.
 */
#ifndef CBTRACK_OMA_STORE_SQL_H
#define CBTRACK_OMA_STORE_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oma/store.h"

/* The statements of the store, by number.  Their text is in store-sql.c;
 * a driver keeps one prepared handle per number.
 */
enum oma_sql_stmt {
  OMA_SQL_JOB_INSERT,
  OMA_SQL_DISK_UPSERT,
  OMA_SQL_JOB_SELECT,
  OMA_SQL_DISKS_OF_JOB,
  OMA_SQL_HISTORY_OF_JOB,
  OMA_SQL_JOB_LIST,
  OMA_SQL_DISK_LIST,
  OMA_SQL_JOB_LIST_ACTIVE,
  OMA_SQL_JOB_PATCH,
  OMA_SQL_JOB_PROGRESS,
  OMA_SQL_JOB_FAIL,
  OMA_SQL_JOB_REOPEN,
  OMA_SQL_DISKS_FAIL,
  OMA_SQL_SAMPLE_INSERT,
  OMA_SQL_SAMPLE_TIMES,
  OMA_SQL_SAMPLE_DELETE,
  OMA_SQL_SCHEMA_VERSION,
  OMA_SQL_SCHEMA_SET,
  OMA_SQL_JOB_COUNT_ACTIVE,
  OMA_SQL_JOB_CANCEL,
  OMA_SQL_JOB_CANCEL_MARK,
  OMA_SQL_JOB_CANCEL_FAIL,
  /* The multi-row forms of the disk upsert and the sample insert, with
   * the driver's bulk_rows rows; only prepared when bulk_rows > 1.
   */
  OMA_SQL_DISK_UPSERT_BULK,
  OMA_SQL_SAMPLE_INSERT_BULK,
  /* Leases: the nodes, the claims, the discovery leases. */
  OMA_SQL_NODE_LIVE,
  OMA_SQL_NODE_BUMP,
  OMA_SQL_NODE_INSERT,
  OMA_SQL_NODE_GENERATION,
  OMA_SQL_NODE_HEARTBEAT,
  OMA_SQL_NODE_DELETE,
  OMA_SQL_NODE_PURGE,
  OMA_SQL_NODE_LIST,
  OMA_SQL_CLAIM_COUNTS,
  OMA_SQL_CLAIM_FREE, /* built: ends with the driver's lock_skip_locked */
  /* Built: the claim and the release of up to OMA_SQL_ID_LIST ids. */
  OMA_SQL_CLAIM_SET,
  OMA_SQL_CLAIM_EXCESS,
  OMA_SQL_RELEASE_SOME,
  OMA_SQL_RELEASE_ALL,
  OMA_SQL_JOB_LIST_MINE,
  OMA_SQL_DISCOVERY_TAKE,
  OMA_SQL_DISCOVERY_INSERT,
  OMA_SQL_ORPHANS,
  /* Built where bulk_rows > 1: a poll's progress written in bulk. */
  OMA_SQL_JOB_MATCH,
  OMA_SQL_JOB_PROGRESS_BULK,
  OMA_SQL_STMT_COUNT
};

/* The most rows a driver may ask one multi-row statement to write, and
 * the most placeholders a statement then has (a disk row has 11).
 */
#define OMA_SQL_BULK_ROWS_MAX 32
/* How many job ids one claim or release statement names. */
#define OMA_SQL_ID_LIST 256
#define OMA_SQL_ARGS_MAX (OMA_SQL_BULK_ROWS_MAX * 11)
#define OMA_SQL_COLS_MAX 24

/* The types of statement arguments and result columns. */
enum oma_sql_type {
  OMA_SQL_NULL,   /* an argument only */
  OMA_SQL_INT,    /* int64_t */
  OMA_SQL_DOUBLE, /* double */
  OMA_SQL_TEXT,   /* NUL-terminated UTF-8 */
  OMA_SQL_TIME,   /* epoch seconds (UTC), never 0: 0 is bound as NULL */
};

/* One value bound to a placeholder.  TEXT points to the caller's memory,
 * which must stay valid until the statement has been executed.
 */
struct oma_sql_arg {
  enum oma_sql_type type;
  int64_t i; /* INT and TIME */
  double d;  /* DOUBLE */
  const char *text;
};

/* One result column and where a fetched row puts it.  DST is an int64_t
 * (INT, TIME), a double (DOUBLE) or a char array of SIZE bytes (TEXT,
 * cut on a UTF-8 character boundary when too long).  A NULL value gives
 * 0, 0.0, "" — or -1 for an INT with NULL_IS_MINUS_ONE.
 */
struct oma_sql_col {
  enum oma_sql_type type;
  void *dst;
  size_t size;
  bool null_is_minus_one;
};

/* The DDL types of the schema, named in the migrations of store-sql.c as
 * "{ID}", "{NAME}" and so on; each driver maps them to its own types.
 */
enum oma_sql_ddl {
  OMA_SQL_DDL_ID,     /* {ID}: a job or disk id, CBT_ID_MAX bytes */
  OMA_SQL_DDL_NAME,   /* {NAME}: text of OMA_NAME_MAX bytes */
  OMA_SQL_DDL_LONG,   /* {LONG}: text of OMA_URL_MAX/OMA_ERROR_MAX bytes */
  OMA_SQL_DDL_WORD,   /* {WORD}: text of OMA_WORD_MAX bytes */
  OMA_SQL_DDL_INT,    /* {INT}: a 64-bit integer */
  OMA_SQL_DDL_REAL,   /* {REAL}: a double */
  OMA_SQL_DDL_TIME,   /* {TIME}: a timestamp (UTC) */
  OMA_SQL_DDL_SERIAL, /* {SERIAL}: an auto-incremented primary key */
  OMA_SQL_DDL_TABLE,  /* {TABLE}: what ends a CREATE TABLE (options) */
  OMA_SQL_DDL_COUNT
};

struct oma_sql_driver;

/* A driver's operations.  Members are mandatory unless said otherwise.
 * Integer returns are 0 (or the count documented) on success and -EIO
 * when the database failed, with the message "ENGINE: WHAT: detail" in
 * cbt_get_error; is_transient then classifies that failure.
 */
struct oma_sql_driver_ops {
  /* "sqlite" or "mariadb"; also the prefix of the driver's messages. */
  const char *name;

  /* The dialect.  DDL maps every oma_sql_ddl to the engine's text.
   * UPSERT_CONFLICT starts the clause that turns an insert into an update
   * of the row with the same unique key; UPSERT_NEW_OPEN and
   * UPSERT_NEW_CLOSE surround a column name to mean the value the insert
   * proposed for it.  BULK_ROWS (1 to OMA_SQL_BULK_ROWS_MAX) is how many
   * rows the multi-row statements write at once; 1 means the engine does
   * not need them.
   */
  const char *ddl[OMA_SQL_DDL_COUNT];
  const char *upsert_conflict;
  const char *upsert_new_open;
  const char *upsert_new_close;
  unsigned bulk_rows;
  /* What ends a SELECT that claims rows: locks them and skips those that
   * another transaction holds (" FOR UPDATE SKIP LOCKED"), or "" for an
   * engine that locks the whole database for a write anyway.
   */
  const char *lock_skip_locked;
  /* Whether several OMAs may share the database (a server engine). */
  bool shared;

  /* Closes the connection and frees the driver. */
  void (*close) (struct oma_sql_driver *drv);

  /* Makes sure there is a connection.  Returns 1 when it opened a new one
   * (every statement must then be prepared again), 0 when the connection
   * was there, or -EIO.  A driver drops its connection and its prepared
   * statements by itself when an error shows the connection broken.  NULL
   * for a driver that connects once, when it is opened.
   */
  int (*connect) (struct oma_sql_driver *drv);

  /* Runs SQL, which has no placeholders and returns no rows (DDL). */
  int (*exec_sql) (struct oma_sql_driver *drv, const char *sql,
                   const char *what);

  /* Prepares statement ID from SQL unless it is prepared already. */
  int (*prepare) (struct oma_sql_driver *drv, enum oma_sql_stmt id,
                  const char *sql);

  /* Executes statement ID, which returns no rows, with the N arguments
   * ARGS.  Returns the number of rows it changed (matched, for an update
   * that left a row as it was), -EEXIST when it would have duplicated a
   * primary or unique key (the message is left to the caller), or -EIO.
   */
  int (*exec) (struct oma_sql_driver *drv, enum oma_sql_stmt id,
               const struct oma_sql_arg *args, size_t n, const char *what);

  /* Executes the query ID with the N arguments ARGS and makes its rows
   * ready for fetch, which stores them into the NCOLS columns COLS (kept
   * by pointer until end_query).  Only one query is open at a time.
   */
  int (*query) (struct oma_sql_driver *drv, enum oma_sql_stmt id,
                const struct oma_sql_arg *args, size_t n,
                const struct oma_sql_col *cols, size_t ncols,
                const char *what);

  /* Fetches the next row of the open query ID into its columns: 1 when
   * there was one, 0 at the end, -EIO.
   */
  int (*fetch) (struct oma_sql_driver *drv, enum oma_sql_stmt id,
                const char *what);

  /* Closes the query ID, whether or not every row was fetched, and
   * whether or not the connection is still there.
   */
  void (*end_query) (struct oma_sql_driver *drv, enum oma_sql_stmt id);

  /* Starts a transaction, and ends it.  rollback is called after any
   * failure inside a transaction, including a failed commit, and must do
   * nothing when no transaction is open (any more).
   */
  int (*begin) (struct oma_sql_driver *drv);
  int (*commit) (struct oma_sql_driver *drv);
  void (*rollback) (struct oma_sql_driver *drv);

  /* Whether the last failure may go away by itself: a lock held too long
   * by someone else, a deadlock, or a server that is unreachable or went
   * away.  The store retries such a failure once, and a store whose
   * database is only unreachable at open is still opened.  NULL when no
   * failure is transient.
   */
  bool (*is_transient) (struct oma_sql_driver *drv);

  /* Whether the COMMIT that just failed is known to have been rolled
   * back as a whole (a deadlock, or a Galera certification conflict, both
   * error 1213), so that running the transaction again is safe.  NULL
   * when no failed commit is known to be undone.
   */
  bool (*commit_undone) (struct oma_sql_driver *drv);

  /* Checks, without touching the database, that the storage the driver
   * opened is still the one it writes to (SQLite: the file at the path
   * is the file that was opened, not deleted or replaced).  Returns 0, or
   * -EIO with a message recorded.  May be called from any thread, without
   * the store's lock.  NULL when there is nothing to check.
   */
  int (*check) (struct oma_sql_driver *drv);

  /* Keeps other processes from migrating the schema at the same time,
   * until migrate_end.  COMMIT says whether the migration worked and is
   * to be kept where the engine can still undo it; migrate_end returns
   * -EIO when keeping it failed, and 0 otherwise.  Both NULL for an
   * engine whose transactions cover DDL: the migration is then one
   * transaction (begin, then commit or rollback).
   */
  int (*migrate_begin) (struct oma_sql_driver *drv);
  int (*migrate_end) (struct oma_sql_driver *drv, bool commit);

  /* Makes another driver for the same database, with a connection of its
   * own (made on first use), so that the lease's heartbeat does not wait
   * behind the writes of a poll cycle.  Returns it, or NULL with an error
   * recorded.  NULL for an engine that serves one OMA (SQLite): its
   * heartbeat shares the store's connection.
   */
  struct oma_sql_driver *(*reopen) (struct oma_sql_driver *drv);
};

/* The common base of every driver's handle. */
struct oma_sql_driver {
  const struct oma_sql_driver_ops *ops;
};

/* Opens an SQLite database file on PATH (store-sqlite.c).  Returns the
 * driver, or NULL with an error recorded.
 */
struct oma_sql_driver *oma_sql_sqlite_open (const char *path);

/* Makes a MariaDB driver for URL (store-mariadb.c).  It connects when the
 * store first asks it to.  Returns the driver, or NULL with an error
 * recorded.
 */
struct oma_sql_driver *oma_sql_mariadb_open (const struct oma_db_url *url);

/* Makes the store on DRV, which it owns from now on (also when it fails),
 * and creates or migrates the schema.  A NULL DRV (a driver that failed to
 * open) gives NULL, keeping the driver's error.  A database that cannot be
 * reached for a transient reason is not an error: the store connects, migrates
 * and prepares on first use.  Returns the store, or NULL with an error
 * recorded.
 */
struct oma_store *oma_sql_store_create (struct oma_sql_driver *drv);

#endif /* CBTRACK_OMA_STORE_SQL_H */
