/* The SQL store's transaction flow, over a scripted fake driver: which
 * failures are retried, which are not, and that every transaction that
 * fails is rolled back.  The statements themselves are tested against
 * both real engines by test-oma-store.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "oma/store-sql.h"

/* The fake driver: counts calls, and fails the next FAIL_EXECS
 * executions (TRANSIENT says how), or the next commit.
 */
struct fake_driver {
  struct oma_sql_driver base;
  int connects, execs, begins, commits, rollbacks;
  int fail_execs;
  bool fail_commit;
  bool transient;
  bool connected;
  int64_t version;                /* the schema version "stored" */
  const struct oma_sql_col *cols; /* of the open query */
};

static struct fake_driver fake;

static void
fake_close (struct oma_sql_driver *drv)
{
  (void)drv;
}

/* A broken connection is only noticed, and reopened, here. */
static int
fake_connect (struct oma_sql_driver *drv)
{
  (void)drv;
  if (fake.connected)
    return 0;
  fake.connected = true;
  fake.connects++;
  return 1;
}

static int
fake_exec_sql (struct oma_sql_driver *drv, const char *sql, const char *what)
{
  (void)drv, (void)what;
  assert_non_null (strstr (sql, "TABLE") ? sql : strstr (sql, "INDEX"));
  assert_null (strchr (sql, '{'));
  return 0;
}

static int
fake_prepare (struct oma_sql_driver *drv, enum oma_sql_stmt id,
              const char *sql)
{
  (void)drv, (void)id;
  assert_non_null (sql);
  return 0;
}

static int
fake_exec (struct oma_sql_driver *drv, enum oma_sql_stmt id,
           const struct oma_sql_arg *args, size_t n, const char *what)
{
  (void)drv, (void)args, (void)n;
  if (id == OMA_SQL_SCHEMA_SET) {
    fake.version = args[0].i;
    return 1;
  }
  fake.execs++;
  if (fake.fail_execs > 0) {
    fake.fail_execs--;
    if (fake.transient)
      fake.connected = false;
    cbt_set_error ("fake: %s: failed", what);
    return -EIO;
  }
  return id == OMA_SQL_JOB_INSERT && n > 0 && args[0].type == OMA_SQL_TEXT &&
                 strcmp (args[0].text, "dup") == 0
             ? -EEXIST
             : 1;
}

static int
fake_query (struct oma_sql_driver *drv, enum oma_sql_stmt id,
            const struct oma_sql_arg *args, size_t n,
            const struct oma_sql_col *cols, size_t ncols, const char *what)
{
  (void)drv, (void)id, (void)args, (void)n, (void)ncols, (void)what;
  assert_null (fake.cols);
  fake.cols = cols;
  return 0;
}

/* The schema version is one row; every other query is empty. */
static int
fake_fetch (struct oma_sql_driver *drv, enum oma_sql_stmt id, const char *what)
{
  (void)drv, (void)what;
  if (id != OMA_SQL_SCHEMA_VERSION)
    return 0;
  *(int64_t *)fake.cols[0].dst = fake.version;
  return 1;
}

static void
fake_end_query (struct oma_sql_driver *drv, enum oma_sql_stmt id)
{
  (void)drv, (void)id;
  fake.cols = NULL;
}

static int
fake_begin (struct oma_sql_driver *drv)
{
  (void)drv;
  fake.begins++;
  return 0;
}

static int
fake_commit (struct oma_sql_driver *drv)
{
  (void)drv;
  fake.commits++;
  if (fake.fail_commit) {
    fake.fail_commit = false;
    fake.connected = false;
    cbt_set_error ("fake: commit: connection lost");
    return -EIO;
  }
  return 0;
}

static void
fake_rollback (struct oma_sql_driver *drv)
{
  (void)drv;
  fake.rollbacks++;
}

static bool
fake_is_transient (struct oma_sql_driver *drv)
{
  (void)drv;
  return fake.transient;
}

static int
fake_migrate_begin (struct oma_sql_driver *drv)
{
  (void)drv;
  return 0;
}

static int
fake_migrate_end (struct oma_sql_driver *drv, bool commit)
{
  (void)drv;
  assert_true (commit);
  return 0;
}

static const struct oma_sql_driver_ops fake_ops = {
  .name = "fake",
  .ddl = {
    [OMA_SQL_DDL_ID] = "ID",
    [OMA_SQL_DDL_NAME] = "NAME",
    [OMA_SQL_DDL_LONG] = "LONG",
    [OMA_SQL_DDL_WORD] = "WORD",
    [OMA_SQL_DDL_INT] = "INT",
    [OMA_SQL_DDL_REAL] = "REAL",
    [OMA_SQL_DDL_TIME] = "TIME",
    [OMA_SQL_DDL_SERIAL] = "SERIAL",
    [OMA_SQL_DDL_TABLE] = "",
  },
  .upsert_conflict = "ON CONFLICT",
  .upsert_new_open = "new.",
  .upsert_new_close = "",
  .bulk_rows = 4,
  .close = fake_close,
  .connect = fake_connect,
  .exec_sql = fake_exec_sql,
  .prepare = fake_prepare,
  .exec = fake_exec,
  .query = fake_query,
  .fetch = fake_fetch,
  .end_query = fake_end_query,
  .begin = fake_begin,
  .commit = fake_commit,
  .rollback = fake_rollback,
  .is_transient = fake_is_transient,
  .migrate_begin = fake_migrate_begin,
  .migrate_end = fake_migrate_end,
};

static struct oma_store *store;

/* A new store over a fresh fake driver, its counters then reset. */
static int
setup (void **state)
{
  (void)state;
  memset (&fake, 0, sizeof fake);
  fake.base.ops = &fake_ops;
  store = oma_sql_store_create (&fake.base);
  if (store == NULL || fake.version != OMA_SCHEMA_VERSION)
    return -1;
  fake.connects = fake.execs = fake.begins = fake.commits = 0;
  fake.rollbacks = 0;
  return 0;
}

static int
teardown (void **state)
{
  (void)state;
  store->ops->close (store);
  return 0;
}

static int
insert (const char *id)
{
  struct oma_job job;

  memset (&job, 0, sizeof job);
  oma_copy_text (job.id, sizeof job.id, id);
  job.created_at = job.updated_at = 1700000000;
  return store->ops->job_insert (store, &job);
}

static void
test_name (void **state)
{
  (void)state;
  assert_string_equal (store->ops->name, "fake");
}

/* A transient failure is retried once, on a new connection (where the
 * schema is checked again, and found current).
 */
static void
test_transient_retried (void **state)
{
  (void)state;
  fake.fail_execs = 1;
  fake.transient = true;
  assert_int_equal (insert ("j1"), 0);
  assert_int_equal (fake.connects, 1);
  assert_int_equal (fake.begins, 2);
  assert_int_equal (fake.rollbacks, 1);
  assert_int_equal (fake.commits, 1);
}

/* Only once: a second transient failure is the caller's. */
static void
test_transient_twice (void **state)
{
  (void)state;
  fake.fail_execs = 2;
  fake.transient = true;
  assert_int_equal (insert ("j1"), -EIO);
  assert_int_equal (fake.begins, 2);
  assert_int_equal (fake.rollbacks, 2);
  assert_int_equal (fake.commits, 0);
  assert_non_null (strstr (cbt_get_error (), "fake: insert job: failed"));
}

static void
test_lasting_not_retried (void **state)
{
  (void)state;
  fake.fail_execs = 1;
  fake.transient = false;
  assert_int_equal (insert ("j1"), -EIO);
  assert_int_equal (fake.begins, 1);
  assert_int_equal (fake.rollbacks, 1);
}

/* Whether a failed COMMIT happened is unknown: never run twice. */
static void
test_commit_not_retried (void **state)
{
  (void)state;
  fake.fail_commit = true;
  fake.transient = true;
  assert_int_equal (insert ("j1"), -EIO);
  assert_int_equal (fake.begins, 1);
  assert_int_equal (fake.commits, 1);
  assert_int_equal (fake.rollbacks, 1);
}

static void
test_duplicate (void **state)
{
  (void)state;
  assert_int_equal (insert ("dup"), -EEXIST);
  assert_string_equal (cbt_get_error (), "job 'dup' exists");
  assert_int_equal (fake.rollbacks, 1);
  assert_int_equal (fake.commits, 0);
}

/* A write outside a transaction is retried the same way. */
static void
test_patch_retried (void **state)
{
  struct oma_patch patch = { .has_setup_progress = true };

  (void)state;
  fake.fail_execs = 1;
  fake.transient = true;
  assert_int_equal (store->ops->job_patch (store, "j1", &patch, 1), 0);
  assert_int_equal (fake.execs, 2);
  assert_int_equal (fake.begins, 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_name, setup, teardown),
    cmocka_unit_test_setup_teardown (test_transient_retried, setup, teardown),
    cmocka_unit_test_setup_teardown (test_transient_twice, setup, teardown),
    cmocka_unit_test_setup_teardown (test_lasting_not_retried, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_commit_not_retried, setup, teardown),
    cmocka_unit_test_setup_teardown (test_duplicate, setup, teardown),
    cmocka_unit_test_setup_teardown (test_patch_retried, setup, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
