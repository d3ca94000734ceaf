/* Unit tests of the OMA's I/O-free logic: --db URLs, the VMA's answers,
 * status mapping, percentages, dead-job rules, discovery rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "oma/api-logic.h"
#include "oma/poll-logic.h"
#include "oma/store.h"

/* Parses a string literal as a PATCH body. */
#define PARSE_PATCH(lit, p) oma_parse_patch (lit, sizeof lit - 1, p)

static void
test_db_url (void **state)
{
  struct oma_db_url u;

  assert_int_equal (oma_db_url_parse ("sqlite:cbtrack.db", &u), 0);
  assert_int_equal (u.kind, OMA_DB_SQLITE);
  assert_string_equal (u.path, "cbtrack.db");
  assert_int_equal (oma_db_url_parse ("sqlite:///var/lib/x.db", &u), 0);
  assert_string_equal (u.path, "/var/lib/x.db");

  assert_int_equal (
      oma_db_url_parse ("mysql://oma:s%40cret@db.example:3307/cbtrack", &u),
      0);
  assert_int_equal (u.kind, OMA_DB_MARIADB);
  assert_string_equal (u.user, "oma");
  assert_string_equal (u.password, "s@cret");
  assert_string_equal (u.host, "db.example");
  assert_int_equal (u.port, 3307);
  assert_string_equal (u.database, "cbtrack");
  assert_string_equal (u.socket, "");

  assert_int_equal (
      oma_db_url_parse ("mysql://root@localhost/t?socket=/tmp/my.sock", &u),
      0);
  assert_string_equal (u.user, "root");
  assert_string_equal (u.password, "");
  assert_string_equal (u.host, "localhost");
  assert_int_equal (u.port, 0);
  assert_string_equal (u.database, "t");
  assert_string_equal (u.socket, "/tmp/my.sock");
  assert_int_equal (oma_db_url_parse ("mariadb://a:b@h/d", &u), 0);

  /* Bad URLs are refused and leave the output alone. */
  memset (&u, 0x55, sizeof u);
  assert_int_equal (oma_db_url_parse ("postgres://x@y/z", &u), -1);
  assert_int_equal (u.port, 0x55555555);
  assert_int_equal (oma_db_url_parse ("", &u), -1);
  assert_int_equal (oma_db_url_parse (NULL, &u), -1);
  assert_int_equal (oma_db_url_parse ("sqlite:", &u), -1);
  assert_int_equal (oma_db_url_parse ("mysql://localhost/db", &u), -1);
  assert_int_equal (oma_db_url_parse ("mysql://u@h", &u), -1);
  assert_int_equal (oma_db_url_parse ("mysql://u@h/", &u), -1);
  assert_int_equal (oma_db_url_parse ("mysql://u@h:0/d", &u), -1);
  assert_int_equal (oma_db_url_parse ("mysql://u@h:99999/d", &u), -1);
  assert_int_equal (oma_db_url_parse ("mysql://u@h:12x/d", &u), -1);
  assert_int_equal (oma_db_url_parse ("mysql://u@h/d`;drop", &u), -1);
  assert_int_equal (oma_db_url_parse ("mysql://u@h/d?sock=/x", &u), -1);
  assert_int_equal (oma_db_url_parse ("mysql://u%zz@h/d", &u), -1);
  assert_int_equal (oma_db_url_parse ("mysql://u%00@h/d", &u), -1);
}

/* A password is found wherever it is, and never shown. */
static void
test_db_url_redact (void **state)
{
  char buf[256];
  size_t off = 99;

  assert_int_equal (oma_db_url_password_span ("mysql://u@h/d", &off), 0);
  assert_int_equal (off, 99);
  assert_int_equal (oma_db_url_password_span ("sqlite:a:b@c", &off), 0);
  assert_int_equal (oma_db_url_password_span ("mysql://u:pw@h/d", &off), 2);
  assert_int_equal (off, 10);
  /* An unencoded '@' in the password: all of it is covered. */
  assert_int_equal (oma_db_url_password_span ("mariadb://u:p@w@h/d", &off), 3);

  oma_db_url_redact ("mysql://u:s3cret@h:3306/d?socket=/x", buf, sizeof buf);
  assert_string_equal (buf, "mysql://u:***@h:3306/d?socket=/x");
  oma_db_url_redact ("mysql://u:p@w@h/d", buf, sizeof buf);
  assert_string_equal (buf, "mysql://u:***@h/d");
  oma_db_url_redact ("mysql://u@h/d", buf, sizeof buf);
  assert_string_equal (buf, "mysql://u@h/d");
  oma_db_url_redact ("mysql://u:pw@h", buf, sizeof buf);
  assert_string_equal (buf, "mysql://u:***@h");
  oma_db_url_redact ("mysql://u:pw@h/d", buf, 8);
  assert_string_equal (buf, "mysql:/");
}

static void
test_copy_text (void **state)
{
  char buf[6];

  oma_copy_text (buf, sizeof buf, "abc");
  assert_string_equal (buf, "abc");
  oma_copy_text (buf, sizeof buf, "abcdefgh");
  assert_string_equal (buf, "abcde");
  /* "abcé" + "x": é is 2 bytes; cut before a partial character. */
  oma_copy_text (buf, sizeof buf, "abcd\xc3\xa9x");
  assert_string_equal (buf, "abcd");
  oma_copy_text (buf, sizeof buf, NULL);
  assert_string_equal (buf, "");
}

static void
test_sql_time (void **state)
{
  char buf[32];

  assert_string_equal (oma_format_sql_time (1700000000, buf, sizeof buf),
                       "2023-11-14 22:13:20");
  assert_int_equal (oma_parse_sql_time ("2023-11-14 22:13:20"), 1700000000);
  assert_string_equal (oma_format_sql_time (0, buf, sizeof buf), "");
  assert_int_equal (oma_parse_sql_time (NULL), 0);
  assert_int_equal (oma_parse_sql_time ("garbage"), 0);
}

static void
test_status_mapping (void **state)
{
  assert_string_equal (oma_map_job_status (CBT_STATUS_QUEUED), "pending");
  assert_string_equal (oma_map_job_status (CBT_STATUS_IN_PROGRESS),
                       "replicating");
  assert_string_equal (oma_map_job_status (CBT_STATUS_COMPLETED), "completed");
  assert_string_equal (oma_map_job_status (CBT_STATUS_FAILED), "failed");
  assert_string_equal (oma_map_disk_status (CBT_STATUS_QUEUED), "pending");
  assert_string_equal (oma_map_disk_status (CBT_STATUS_IN_PROGRESS),
                       "syncing");
  assert_string_equal (oma_map_disk_status (CBT_STATUS_COMPLETED),
                       "completed");
  assert_string_equal (oma_map_disk_status (CBT_STATUS_FAILED), "failed");
  assert_string_equal (oma_map_sync_type ("initial"), "full");
  assert_string_equal (oma_map_sync_type ("full"), "full");
  assert_string_equal (oma_map_sync_type ("incremental"), "incremental");
  assert_string_equal (oma_map_sync_type (""), "");
  assert_true (oma_status_is_final ("completed"));
  assert_true (oma_status_is_final ("failed"));
  assert_false (oma_status_is_final ("replicating"));
  assert_false (oma_status_is_final ("pending"));
}

static void
test_percent (void **state)
{
  assert_true (cbt_percent (0, 0, false) == 0.0);
  assert_true (cbt_percent (0, 0, true) == 100.0);
  assert_true (cbt_percent (2, 3, false) == 66.66);
  assert_true (cbt_percent (12, 18, false) == 66.66);
  assert_true (cbt_percent (1, 2, false) == 50.0);
  /* Never 100 before completion, even for the last byte. */
  assert_true (cbt_percent (999999, 1000000, false) == 99.99);
  assert_true (cbt_percent (1000000, 1000000, false) == 99.99);
  assert_true (cbt_percent (5, 10, true) == 100.0);
  /* Huge numbers do not overflow. */
  assert_true (cbt_percent (INT64_MAX / 2, INT64_MAX, false) == 50.0);
}

static const char vma_answer[] =
    "{\"job_id\":\"job-1\",\"stage\":\"Transfer\",\"status\":\"in_progress\","
    "\"sync_type\":\"initial\",\"bytes_transferred\":12884901888,"
    "\"total_bytes\":19327352832,\"percent\":66.7,\"throughput_bps\":"
    "220200960,\"eta_seconds\":29,\"started_at\":\"2026-01-01T00:00:00Z\","
    "\"updated_at\":\"2026-01-01T00:01:00Z\",\"seconds_since_update\":1.4,"
    "\"error_message\":\"\",\"unknown\":[1,2],\"disks\":["
    "{\"disk_id\":\"disk-2000\",\"status\":\"completed\","
    "\"bytes_transferred\":8589934592,\"total_bytes\":8589934592,"
    "\"capacity_bytes\":10737418240},"
    "{\"disk_id\":\"disk-2001\",\"status\":\"in_progress\","
    "\"bytes_transferred\":4294967296,\"total_bytes\":10737418240}]}";

static void
test_vma_parse (void **state)
{
  struct cbt_doc_job job;

  assert_int_equal (oma_vma_job_parse (vma_answer, strlen (vma_answer), &job),
                    0);
  assert_string_equal (job.job_id, "job-1");
  assert_string_equal (job.stage, "Transfer");
  assert_int_equal (job.status, CBT_STATUS_IN_PROGRESS);
  assert_true (job.has_sync_type);
  assert_int_equal (job.sync_type, CBT_SYNC_FULL);
  assert_int_equal (job.bytes_transferred, 12884901888LL);
  assert_int_equal (job.total_bytes, 19327352832LL);
  assert_int_equal (job.throughput_bps, 220200960);
  assert_true (job.has_eta);
  assert_int_equal (job.eta_seconds, 29);
  assert_true (job.seconds_since_update > 1.3 &&
               job.seconds_since_update < 1.5);
  assert_int_equal (job.disks.len, 2);
  assert_string_equal (job.disks.ptr[0].disk_id, "disk-2000");
  assert_int_equal (job.disks.ptr[0].capacity_bytes, 10737418240LL);
  assert_int_equal (job.disks.ptr[1].status, CBT_STATUS_IN_PROGRESS);
  cbt_doc_job_reset (&job);

  /* A null ETA stays unknown. */
  {
    static const char null_eta[] = "{\"job_id\":\"a\",\"eta_seconds\":null}";

    assert_int_equal (oma_vma_job_parse (null_eta, strlen (null_eta), &job),
                      0);
  }
  assert_false (job.has_eta);
  cbt_doc_job_reset (&job);

  /* A status word the OMA does not know reads as in progress. */
  {
    static const char odd[] = "{\"job_id\":\"a\",\"status\":\"Transfer\"}";

    assert_int_equal (oma_vma_job_parse (odd, strlen (odd), &job), 0);
  }
  assert_int_equal (job.status, CBT_STATUS_IN_PROGRESS);
  assert_string_equal (oma_map_job_status (job.status), "replicating");
  cbt_doc_job_reset (&job);

  /* Transferred is clipped to total. */
  {
    static const char over[] =
        "{\"job_id\":\"a\",\"bytes_transferred\":9,\"total_bytes\":5}";

    assert_int_equal (oma_vma_job_parse (over, strlen (over), &job), 0);
  }
  assert_int_equal (job.bytes_transferred, 5);
  cbt_doc_job_reset (&job);
}

static void
test_vma_parse_bad (void **state)
{
  static const char *const bad[] = {
    "",
    "not json",
    "[]",
    "{}",
    "{\"job_id\":\"../x\"}",
    "{\"job_id\":\"a b\"}",
    "{\"job_id\":7}",
    "{\"job_id\":\"a\",\"bytes_transferred\":-1}",
    "{\"job_id\":\"a\",\"total_bytes\":\"12\"}",
    "{\"job_id\":\"a\",\"disks\":{}}",
    "{\"job_id\":\"a\",\"disks\":[{\"disk_id\":\"\"}]}",
    "{\"job_id\":\"a\",\"disks\":[7]}",
    "{\"job_id\":\"a\",\"stage\":false}",
  };
  struct cbt_doc_job job;
  size_t i;

  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset (&job, 0x5a, sizeof job);
    assert_int_equal (oma_vma_job_parse (bad[i], strlen (bad[i]), &job), -1);
    assert_int_equal (job.job_id[0], 0x5a); /* untouched */
  }
}

static void
test_vma_list (void **state)
{
  static const char arr[] = "[{\"job_id\":\"a\"},{\"job_id\":\"../bad\"},"
                            "{\"job_id\":\"b\",\"vm_name\":\"web01\"}]";
  static const char obj[] = "{\"jobs\":[{\"job_id\":\"c\"}],\"count\":1}";
  cbt_doc_job_vector jobs = empty_vector;

  assert_int_equal (oma_vma_list_parse (arr, strlen (arr), &jobs), 0);
  assert_int_equal (jobs.len, 2);
  assert_string_equal (jobs.ptr[0].job_id, "a");
  assert_string_equal (jobs.ptr[1].job_id, "b");
  assert_string_equal (jobs.ptr[1].vm_name, "web01");
  assert_int_equal (oma_vma_list_parse (obj, strlen (obj), &jobs), 0);
  assert_int_equal (jobs.len, 3);
  assert_string_equal (jobs.ptr[2].job_id, "c");
  assert_int_equal (oma_vma_list_parse ("{\"x\":1}", 7, &jobs), -1);
  assert_int_equal (oma_vma_list_parse ("nope", 4, &jobs), -1);
  assert_int_equal (jobs.len, 3);
  oma_vma_job_vector_free (&jobs);
}

static void
test_vma_list_page (void **state)
{
  static const char page[] = "{\"jobs\":[{\"job_id\":\"a\"}],\"count\":1,"
                             "\"version\":42,\"next_after\":\"a\"}";
  static const char last[] = "{\"jobs\":[],\"count\":0,\"version\":43}";
  static const char bad[] = "{\"jobs\":[],\"next_after\":\"../x\"}";
  cbt_doc_job_vector jobs = empty_vector;
  char next[CBT_ID_MAX + 1] = "keep";
  uint64_t version = 7;

  assert_int_equal (oma_vma_list_parse_page (page, strlen (page), &jobs,
                                             &version, next, sizeof next),
                    0);
  assert_int_equal (jobs.len, 1);
  assert_int_equal (version, 42);
  assert_string_equal (next, "a");
  assert_int_equal (oma_vma_list_parse_page (last, strlen (last), &jobs,
                                             &version, next, sizeof next),
                    0);
  assert_int_equal (version, 43);
  assert_string_equal (next, "");
  /* A VMA that does not count: version 0, one page. */
  assert_int_equal (
      oma_vma_list_parse_page ("[]", 2, &jobs, &version, next, sizeof next),
      0);
  assert_int_equal (version, 0);
  version = 9;
  assert_int_equal (oma_vma_list_parse_page (bad, strlen (bad), &jobs,
                                             &version, next, sizeof next),
                    -1);
  assert_int_equal (version, 9);
  oma_vma_job_vector_free (&jobs);
}

static void
known_job (struct oma_job *job, int64_t created, int64_t last)
{
  memset (job, 0, sizeof *job);
  oma_copy_text (job->id, sizeof job->id, "job-1");
  oma_copy_text (job->status, sizeof job->status, "replicating");
  oma_copy_text (job->vma_url, sizeof job->vma_url, "http://vma:8081");
  job->created_at = created;
  job->last_progress_at = last;
}

static void
test_decide_progress (void **state)
{
  struct oma_job known;
  struct cbt_doc_job vma;
  struct oma_update u;
  const int64_t now = 1700000000;

  known_job (&known, now - 100, now - 40);
  assert_int_equal (oma_vma_job_parse (vma_answer, strlen (vma_answer), &vma),
                    0);
  assert_true (
      oma_poll_decide (&known, OMA_FETCH_OK, &vma, NULL, now, 300, &u));
  assert_int_equal (u.kind, OMA_UPDATE_PROGRESS);
  assert_true (u.add_sample);
  assert_string_equal (u.job.id, "job-1");
  assert_string_equal (u.job.status, "replicating");
  assert_string_equal (u.job.replication_type, "full");
  assert_string_equal (u.job.current_operation, "Transfer");
  assert_int_equal (u.job.bytes_transferred, 12884901888LL);
  assert_int_equal (u.job.total_bytes, 19327352832LL);
  assert_true (u.job.progress_percent == 66.66);
  assert_int_equal (u.job.transfer_speed_bps, 220200960);
  assert_int_equal (u.job.eta_seconds, 29);
  assert_int_equal (u.job.last_progress_at, now - 1);
  assert_int_equal (u.job.started_at, now);
  assert_int_equal (u.job.completed_at, 0);
  assert_string_equal (u.job.error_message, "");
  assert_int_equal (u.job.disks.len, 2);
  assert_string_equal (u.job.disks.ptr[0].sync_status, "completed");
  assert_true (u.job.disks.ptr[0].sync_progress_percent == 100.0);
  assert_int_equal (u.job.disks.ptr[0].bytes_synced, 8589934592LL);
  assert_string_equal (u.job.disks.ptr[1].sync_status, "syncing");
  assert_true (u.job.disks.ptr[1].sync_progress_percent == 40.0);
  oma_job_reset (&u.job);
  cbt_doc_job_reset (&vma);
}

/* A VMA that says 100 % for a job still in progress (every byte moved,
 * not yet flushed, as older services did) does not make the row 100 %:
 * job and disk stay at 99.99 until the VMA says completed.
 */
static void
test_decide_all_bytes_in_progress (void **state)
{
  static const char body[] =
      "{\"job_id\":\"job-1\",\"status\":\"in_progress\","
      "\"stage\":\"Transfer\",\"bytes_transferred\":100,"
      "\"total_bytes\":100,\"percent\":100,\"seconds_since_update\":1,"
      "\"disks\":[{\"disk_id\":\"d1\",\"status\":\"in_progress\","
      "\"bytes_transferred\":100,\"total_bytes\":100,\"percent\":100}]}";
  struct oma_job known;
  struct cbt_doc_job vma;
  struct oma_update u;
  const int64_t now = 1700000000;

  known_job (&known, now - 100, now - 40);
  assert_int_equal (oma_vma_job_parse (body, strlen (body), &vma), 0);
  assert_true (
      oma_poll_decide (&known, OMA_FETCH_OK, &vma, NULL, now, 300, &u));
  assert_string_equal (u.job.status, "replicating");
  assert_int_equal (u.job.bytes_transferred, 100);
  assert_true (u.job.progress_percent == 99.99);
  assert_int_equal (u.job.disks.len, 1);
  assert_string_equal (u.job.disks.ptr[0].sync_status, "syncing");
  assert_true (u.job.disks.ptr[0].sync_progress_percent == 99.99);
  oma_job_reset (&u.job);
  cbt_doc_job_reset (&vma);
}

static void
test_decide_final (void **state)
{
  static const char done[] =
      "{\"job_id\":\"job-1\",\"status\":\"completed\",\"stage\":\"Finalize\","
      "\"bytes_transferred\":100,\"total_bytes\":100,\"throughput_bps\":50,"
      "\"seconds_since_update\":9999,\"disks\":[{\"disk_id\":\"d\","
      "\"status\":\"completed\",\"bytes_transferred\":100,"
      "\"total_bytes\":100}]}";
  static const char failed[] =
      "{\"job_id\":\"job-1\",\"status\":\"failed\",\"bytes_transferred\":10,"
      "\"total_bytes\":100,\"error_message\":\"disk d: read error\"}";
  static const char failed_quiet[] =
      "{\"job_id\":\"job-1\",\"status\":\"failed\"}";
  struct oma_job known;
  struct cbt_doc_job vma;
  struct oma_update u;
  const int64_t now = 1700000000;

  known_job (&known, now - 1000, now - 500);
  /* Completed wins over staleness: the final row is written. */
  assert_int_equal (oma_vma_job_parse (done, strlen (done), &vma), 0);
  assert_true (
      oma_poll_decide (&known, OMA_FETCH_OK, &vma, NULL, now, 300, &u));
  assert_int_equal (u.kind, OMA_UPDATE_PROGRESS);
  assert_string_equal (u.job.status, "completed");
  assert_true (u.job.progress_percent == 100.0);
  assert_int_equal (u.job.bytes_transferred, 100);
  assert_int_equal (u.job.transfer_speed_bps, 0);
  assert_int_equal (u.job.eta_seconds, 0);
  assert_int_equal (u.job.completed_at, now);
  assert_string_equal (u.job.disks.ptr[0].sync_status, "completed");
  oma_job_reset (&u.job);
  cbt_doc_job_reset (&vma);

  assert_int_equal (oma_vma_job_parse (failed, strlen (failed), &vma), 0);
  assert_true (
      oma_poll_decide (&known, OMA_FETCH_OK, &vma, NULL, now, 300, &u));
  assert_string_equal (u.job.status, "failed");
  assert_string_equal (u.job.error_message, "disk d: read error");
  assert_true (u.job.progress_percent == 10.0);
  assert_int_equal (u.job.completed_at, now);
  assert_int_equal (u.job.eta_seconds, -1);
  oma_job_reset (&u.job);
  cbt_doc_job_reset (&vma);

  assert_int_equal (
      oma_vma_job_parse (failed_quiet, strlen (failed_quiet), &vma), 0);
  assert_true (
      oma_poll_decide (&known, OMA_FETCH_OK, &vma, NULL, now, 300, &u));
  assert_string_equal (u.job.error_message, "the copy failed on the VMA");
  oma_job_reset (&u.job);
  cbt_doc_job_reset (&vma);
}

/* Decides on the VMA's answer BODY for the row KNOWN at NOW, with a dead
 * timeout of 300 s; returns the update's kind and error message.
 */
static int
decide_no_progress (const struct oma_job *known, const char *body, int64_t now,
                    char *ret_error, size_t len)
{
  struct cbt_doc_job vma;
  struct oma_update u;
  int kind;

  assert_int_equal (oma_vma_job_parse (body, strlen (body), &vma), 0);
  assert_true (
      oma_poll_decide (known, OMA_FETCH_OK, &vma, NULL, now, 300, &u));
  kind = (int)u.kind;
  snprintf (ret_error, len, "%s", u.job.error_message);
  oma_job_reset (&u.job);
  cbt_doc_job_reset (&vma);
  return kind;
}

static void
test_decide_no_progress (void **state)
{
  static const char still[] =
      "{\"job_id\":\"job-1\",\"stage\":\"Transfer\","
      "\"status\":\"in_progress\",\"bytes_transferred\":10,"
      "\"total_bytes\":100,\"seconds_since_update\":1}";
  static const char analysing[] =
      "{\"job_id\":\"job-1\",\"stage\":\"Analysis\","
      "\"status\":\"in_progress\",\"bytes_transferred\":10,"
      "\"total_bytes\":100,\"seconds_since_update\":1}";
  static const char stalled[] =
      "{\"job_id\":\"job-1\",\"stage\":\"Transfer\","
      "\"status\":\"in_progress\",\"bytes_transferred\":20,"
      "\"total_bytes\":100,\"seconds_since_update\":1,"
      "\"stalled\":true,\"stalled_seconds\":305}";
  static const char silent[] =
      "{\"job_id\":\"job-1\",\"stage\":\"Transfer\","
      "\"status\":\"in_progress\",\"bytes_transferred\":10,"
      "\"total_bytes\":100,\"seconds_since_update\":299}";
  const int64_t now = 1700000000;
  struct oma_job known;
  char error[OMA_ERROR_MAX + 1];

  /* Updates keep coming, the bytes stay put: dead after the timeout. */
  known_job (&known, now - 1000, now - 299);
  oma_copy_text (known.current_operation, sizeof known.current_operation,
                 "Transfer");
  known.bytes_transferred = 10;
  assert_int_equal (
      decide_no_progress (&known, still, now, error, sizeof error),
      OMA_UPDATE_PROGRESS);
  known.last_progress_at = now - 300;
  assert_int_equal (
      decide_no_progress (&known, still, now, error, sizeof error),
      OMA_UPDATE_FAIL);
  assert_non_null (strstr (error, "dead: no progress for 300 s"));
  assert_non_null (strstr (error, "stays at 10"));

  /* The bytes moved since the row: alive, and that is progress. */
  known.bytes_transferred = 5;
  assert_int_equal (
      decide_no_progress (&known, still, now, error, sizeof error),
      OMA_UPDATE_PROGRESS);
  known.bytes_transferred = 10;

  /* The analysis moves no bytes: not judged by them. */
  oma_copy_text (known.current_operation, sizeof known.current_operation,
                 "Analysis");
  assert_int_equal (
      decide_no_progress (&known, analysing, now, error, sizeof error),
      OMA_UPDATE_PROGRESS);

  /* The copier says it is stalled for longer than the timeout. */
  oma_copy_text (known.current_operation, sizeof known.current_operation,
                 "Transfer");
  known.last_progress_at = now - 10;
  assert_int_equal (
      decide_no_progress (&known, stalled, now, error, sizeof error),
      OMA_UPDATE_FAIL);
  assert_non_null (strstr (error, "dead: no progress for 305 s"));

  /* Updates stopped too: that is the other rule, at its own time. */
  known.last_progress_at = now - 400;
  assert_int_equal (
      decide_no_progress (&known, silent, now, error, sizeof error),
      OMA_UPDATE_PROGRESS);
}

static void
test_decide_dead (void **state)
{
  static const char stale[] =
      "{\"job_id\":\"job-1\",\"status\":\"in_progress\","
      "\"bytes_transferred\":10,\"total_bytes\":100,"
      "\"seconds_since_update\":301}";
  static const char fresh[] =
      "{\"job_id\":\"job-1\",\"status\":\"in_progress\","
      "\"bytes_transferred\":10,\"total_bytes\":100,"
      "\"seconds_since_update\":299}";
  struct oma_job known;
  struct cbt_doc_job vma;
  struct oma_update u;
  const int64_t now = 1700000000;

  /* The copier stopped reporting: the VMA's clock says so. */
  known_job (&known, now - 1000, now - 10);
  assert_int_equal (oma_vma_job_parse (stale, strlen (stale), &vma), 0);
  assert_true (
      oma_poll_decide (&known, OMA_FETCH_OK, &vma, NULL, now, 300, &u));
  assert_int_equal (u.kind, OMA_UPDATE_FAIL);
  assert_string_equal (u.job.status, "failed");
  assert_non_null (strstr (u.job.error_message, "no progress update"));
  assert_non_null (strstr (u.job.error_message, "301 s"));
  assert_int_equal (u.job.completed_at, now);
  oma_job_reset (&u.job);
  cbt_doc_job_reset (&vma);

  assert_int_equal (oma_vma_job_parse (fresh, strlen (fresh), &vma), 0);
  assert_true (
      oma_poll_decide (&known, OMA_FETCH_OK, &vma, NULL, now, 300, &u));
  assert_int_equal (u.kind, OMA_UPDATE_PROGRESS);
  assert_string_equal (u.job.status, "replicating");
  oma_job_reset (&u.job);
  cbt_doc_job_reset (&vma);

  /* Unreachable: nothing to write until the timeout, then failed. */
  known_job (&known, now - 1000, now - 299);
  assert_false (oma_poll_decide (&known, OMA_FETCH_UNREACHABLE, NULL,
                                 "Connection refused", now, 300, &u));
  known_job (&known, now - 1000, now - 300);
  assert_true (oma_poll_decide (&known, OMA_FETCH_UNREACHABLE, NULL,
                                "Connection refused", now, 300, &u));
  assert_int_equal (u.kind, OMA_UPDATE_FAIL);
  assert_non_null (strstr (u.job.error_message, "unreachable"));
  /* How the fetch failed is logged, not stored for clients to read. */
  assert_null (strstr (u.job.error_message, "Connection refused"));
  assert_non_null (strstr (u.job.error_message, "http://vma:8081"));
  oma_job_reset (&u.job);
  /* A fetch that did not run is no evidence, however long the silence. */
  known_job (&known, now - 1000, now - 900);
  assert_false (
      oma_poll_decide (&known, OMA_FETCH_SKIPPED, NULL, NULL, now, 300, &u));

  /* 404: counted from created_at when there never was progress. */
  known_job (&known, now - 100, 0);
  assert_false (
      oma_poll_decide (&known, OMA_FETCH_NOT_FOUND, NULL, NULL, now, 300, &u));
  known_job (&known, now - 400, 0);
  assert_true (
      oma_poll_decide (&known, OMA_FETCH_NOT_FOUND, NULL, NULL, now, 300, &u));
  assert_non_null (strstr (u.job.error_message, "HTTP 404"));
  assert_non_null (strstr (u.job.error_message, "400 s"));
  oma_job_reset (&u.job);
  /* ... and from the last progress when there was some. */
  known_job (&known, now - 4000, now - 10);
  assert_false (
      oma_poll_decide (&known, OMA_FETCH_NOT_FOUND, NULL, NULL, now, 300, &u));
}

static void
test_vma_allow_list (void **state)
{
  static const char *const urls[] = { "http://vma1:8081/" };
  static const char *const patterns[] = { "10.0.3.*:8081",
                                          "https://vma2.example/base" };
  struct oma_vma_allow allow = { urls, 1, patterns, 2 };
  struct oma_vma_allow none = { NULL, 0, NULL, 0 };

  assert_true (oma_vma_url_allowed (&allow, "http://vma1:8081"));
  assert_true (oma_vma_url_allowed (&allow, "http://vma1:8081/"));
  assert_true (oma_vma_url_allowed (&allow, "http://vma1:8081/x"));
  assert_false (oma_vma_url_allowed (&allow, "http://vma1:80811"));
  assert_false (oma_vma_url_allowed (&allow, "http://vma1:8082"));
  assert_true (oma_vma_url_allowed (&allow, "http://10.0.3.7:8081"));
  assert_true (oma_vma_url_allowed (&allow, "http://user@10.0.3.7:8081/a"));
  assert_false (oma_vma_url_allowed (&allow, "http://10.0.3.7:22"));
  assert_false (oma_vma_url_allowed (&allow, "http://10.0.3.7"));
  assert_false (oma_vma_url_allowed (&allow, "http://10.0.4.7:8081"));
  assert_true (oma_vma_url_allowed (&allow, "https://vma2.example/base/v"));
  assert_false (oma_vma_url_allowed (&allow, "https://vma2.example/basement"));
  assert_false (oma_vma_url_allowed (&allow, "javascript:alert(1)"));
  assert_false (oma_vma_url_allowed (&none, "http://vma1:8081"));
}

static void
test_discovery_row (void **state)
{
  struct cbt_doc_job vma;
  struct oma_job job;

  memset (&vma, 0, sizeof vma);
  oma_copy_text (vma.job_id, sizeof vma.job_id, "job-7");
  vma.has_sync_type = true;
  vma.sync_type = CBT_SYNC_INCREMENTAL;
  oma_job_from_discovery (&vma, "http://vma:8081", 1700000000, &job);
  assert_string_equal (job.id, "job-7");
  assert_string_equal (job.source_vm_name, "job-7");
  assert_string_equal (job.replication_type, "incremental");
  assert_string_equal (job.status, "pending");
  assert_string_equal (job.vma_url, "http://vma:8081");
  assert_int_equal (job.created_at, 1700000000);
  assert_int_equal (job.eta_seconds, -1);
  oma_copy_text (vma.vm_name, sizeof vma.vm_name, "web01");
  vma.has_sync_type = false;
  oma_job_from_discovery (&vma, "http://vma:8081", 1700000000, &job);
  assert_string_equal (job.source_vm_name, "web01");
  assert_string_equal (job.replication_type, "full");
}

static void
test_registration (void **state)
{
  static const char body[] =
      "{\"id\":\"job-9\",\"source_vm_name\":\"<b>web</b>\","
      "\"vma_url\":\"http://vma:8081\",\"replication_type\":\"initial\","
      "\"disks\":[\"disk-1\",{\"disk_id\":\"disk-2\",\"capacity_bytes\":"
      "1024}],\"extra\":true}";
  struct oma_job job;

  assert_int_equal (
      oma_parse_registration (body, strlen (body), NULL, 1700000000, &job), 0);
  assert_string_equal (job.id, "job-9");
  assert_string_equal (job.source_vm_name, "<b>web</b>");
  assert_string_equal (job.vma_url, "http://vma:8081");
  assert_string_equal (job.replication_type, "full");
  assert_string_equal (job.status, "pending");
  assert_int_equal (job.created_at, 1700000000);
  assert_int_equal (job.eta_seconds, -1);
  assert_int_equal (job.disks.len, 2);
  assert_string_equal (job.disks.ptr[0].disk_id, "disk-1");
  assert_int_equal (job.disks.ptr[1].capacity_bytes, 1024);
  assert_string_equal (job.disks.ptr[1].sync_status, "pending");
  oma_job_reset (&job);

  /* Defaults: name = id, vma_url = the OMA's first --vma. */
  assert_int_equal (
      oma_parse_registration ("{\"id\":\"j\"}", 10, "http://d:1", 1, &job), 0);
  assert_string_equal (job.source_vm_name, "j");
  assert_string_equal (job.vma_url, "http://d:1");
  oma_job_reset (&job);
}

static void
test_registration_bad (void **state)
{
  static const char *const bad[] = {
    "",
    "[]",
    "{",
    "{\"id\":\"j\",\"id\":\"k\"}",
    "{}",
    "{\"id\":\"../etc\"}",
    "{\"id\":\"a b\"}",
    "{\"id\":7}",
    "{\"id\":\"j\",\"vma_url\":\"ftp://x\"}",
    "{\"id\":\"j\",\"vma_url\":\"http://\"}",
    "{\"id\":\"j\",\"vma_url\":\"http://a b\"}",
    "{\"id\":\"j\",\"vma_url\":5}",
    "{\"id\":\"j\",\"replication_type\":\"weekly\"}",
    "{\"id\":\"j\",\"source_vm_name\":[]}",
    "{\"id\":\"j\",\"disks\":\"d\"}",
    "{\"id\":\"j\",\"disks\":[\"d\",\"d\"]}",
    "{\"id\":\"j\",\"disks\":[\"../d\"]}",
    "{\"id\":\"j\",\"disks\":[{\"disk_id\":\"d\",\"capacity_bytes\":-1}]}",
    "{\"id\":\"j\",\"disks\":[{\"capacity_bytes\":1}]}",
    "{\"id\":\"j\",\"disks\":[3]}",
  };
  struct oma_job job;
  size_t i;

  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset (&job, 0x5a, sizeof job);
    if (oma_parse_registration (bad[i], strlen (bad[i]), "http://d:1", 1,
                                &job) != -1)
      fail_msg ("accepted: %s", bad[i]);
    assert_int_equal (job.id[0], 0x5a);
  }
  /* No vma_url anywhere. */
  assert_int_equal (
      oma_parse_registration ("{\"id\":\"j\"}", 10, NULL, 1, &job), -1);
}

static void
test_patch_body (void **state)
{
  struct oma_patch p;

  assert_int_equal (
      oma_parse_patch ("{\"setup_progress_percent\":42.5}",
                       strlen ("{\"setup_progress_percent\":42.5}"), &p),
      0);
  assert_true (p.has_setup_progress);
  assert_false (p.has_current_operation);
  assert_true (p.setup_progress_percent == 42.5);
  assert_int_equal (
      oma_parse_patch ("{\"current_operation\":\"Creating volumes\"}",
                       strlen ("{\"current_operation\":\"Creating volumes\"}"),
                       &p),
      0);
  assert_true (p.has_current_operation);
  assert_string_equal (p.current_operation, "Creating volumes");
  assert_int_equal (PARSE_PATCH ("{}", &p), -1);
  assert_int_equal (
      oma_parse_patch ("{\"setup_progress_percent\":101}",
                       strlen ("{\"setup_progress_percent\":101}"), &p),
      -1);
  assert_int_equal (
      oma_parse_patch ("{\"setup_progress_percent\":\"5\"}",
                       strlen ("{\"setup_progress_percent\":\"5\"}"), &p),
      -1);
  assert_int_equal (oma_parse_patch ("{\"current_operation\":1}",
                                     strlen ("{\"current_operation\":1}"), &p),
                    -1);
}

static void
test_render (void **state)
{
  struct oma_job job;
  struct oma_disk d;
  struct oma_sample s = { .sampled_at = 1700000000,
                          .bytes_transferred = 5,
                          .transfer_speed_bps = 6,
                          .progress_percent = 7.5 };
  json_t *obj, *v;

  memset (&job, 0, sizeof job);
  oma_copy_text (job.id, sizeof job.id, "job-1");
  oma_copy_text (job.source_vm_name, sizeof job.source_vm_name,
                 "<img src=x onerror=alert(1)>");
  oma_copy_text (job.status, sizeof job.status, "replicating");
  job.total_bytes = 100;
  job.bytes_transferred = 50;
  job.progress_percent = 50;
  job.eta_seconds = -1;
  job.created_at = 1700000000;
  memset (&d, 0, sizeof d);
  oma_copy_text (d.disk_id, sizeof d.disk_id, "disk-1");
  oma_copy_text (d.sync_status, sizeof d.sync_status, "syncing");
  assert_int_equal (oma_disk_vector_append (&job.disks, d), 0);
  assert_int_equal (oma_sample_vector_append (&job.history, s), 0);

  obj = oma_render_job (&job, true);
  assert_non_null (obj);
  assert_string_equal (json_string_value (json_object_get (obj, "id")),
                       "job-1");
  assert_string_equal (
      json_string_value (json_object_get (obj, "source_vm_name")),
      "<img src=x onerror=alert(1)>");
  assert_true (json_is_null (json_object_get (obj, "eta_seconds")));
  assert_true (json_is_null (json_object_get (obj, "error_message")));
  assert_true (json_is_null (json_object_get (obj, "started_at")));
  assert_string_equal (json_string_value (json_object_get (obj, "created_at")),
                       "2023-11-14T22:13:20Z");
  assert_int_equal (
      json_integer_value (json_object_get (obj, "bytes_transferred")), 50);
  v = json_object_get (obj, "disks");
  assert_int_equal (json_array_size (v), 1);
  assert_string_equal (
      json_string_value (json_object_get (json_array_get (v, 0), "disk_id")),
      "disk-1");
  v = json_object_get (obj, "history");
  assert_int_equal (json_array_size (v), 1);
  assert_int_equal (json_integer_value (json_object_get (
                        json_array_get (v, 0), "transfer_speed_bps")),
                    6);
  json_decref (obj);

  obj = oma_render_job (&job, false);
  assert_null (json_object_get (obj, "history"));
  json_decref (obj);
  oma_job_reset (&job);
}

/* The changeId chain: per disk, the newest job (first in the list) of
 * the VM in which the disk completed with a changeId.
 */
static void
test_render_vm_disks (void **state)
{
  oma_job_vector jobs = empty_vector;
  struct oma_job j[3];
  struct oma_disk d;
  json_t *doc;
  char *text;
  size_t i;

  memset (j, 0, sizeof j);
  oma_copy_text (j[0].id, sizeof j[0].id, "new");
  oma_copy_text (j[1].id, sizeof j[1].id, "other-vm");
  oma_copy_text (j[2].id, sizeof j[2].id, "old");
  oma_copy_text (j[0].source_vm_name, sizeof j[0].source_vm_name, "web");
  oma_copy_text (j[1].source_vm_name, sizeof j[1].source_vm_name, "db");
  oma_copy_text (j[2].source_vm_name, sizeof j[2].source_vm_name, "web");
  memset (&d, 0, sizeof d);
  /* new: disk-a failed (no changeId), disk-b completed with /9. */
  oma_copy_text (d.disk_id, sizeof d.disk_id, "disk-a");
  oma_copy_text (d.sync_status, sizeof d.sync_status, "failed");
  oma_disk_vector_append (&j[0].disks, d);
  oma_copy_text (d.disk_id, sizeof d.disk_id, "disk-b");
  oma_copy_text (d.sync_status, sizeof d.sync_status, "completed");
  oma_copy_text (d.change_id, sizeof d.change_id, "b/9");
  oma_disk_vector_append (&j[0].disks, d);
  /* other-vm: same disk id, another VM. */
  oma_copy_text (d.change_id, sizeof d.change_id, "x/1");
  oma_copy_text (d.disk_id, sizeof d.disk_id, "disk-a");
  oma_disk_vector_append (&j[1].disks, d);
  /* old: disk-a /4 and disk-b /3. */
  oma_copy_text (d.change_id, sizeof d.change_id, "a/4");
  oma_disk_vector_append (&j[2].disks, d);
  oma_copy_text (d.disk_id, sizeof d.disk_id, "disk-b");
  oma_copy_text (d.change_id, sizeof d.change_id, "b/3");
  oma_disk_vector_append (&j[2].disks, d);
  for (i = 0; i < 3; i++)
    oma_job_vector_append (&jobs, j[i]);

  doc = oma_render_vm_disks (&jobs, "web");
  assert_non_null (doc);
  text = json_dumps (json_object_get (doc, "disks"), JSON_COMPACT);
  assert_string_equal (
      text, "[{\"disk_id\":\"disk-b\",\"change_id\":\"b/9\",\"job_id\":"
            "\"new\",\"updated_at\":null},{\"disk_id\":\"disk-a\","
            "\"change_id\":\"a/4\",\"job_id\":\"old\",\"updated_at\":"
            "null}]");
  free (text);
  json_decref (doc);
  doc = oma_render_vm_disks (&jobs, "nobody");
  assert_int_equal (json_array_size (json_object_get (doc, "disks")), 0);
  json_decref (doc);
  oma_job_vector_free (&jobs);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_db_url),
    cmocka_unit_test (test_copy_text),
    cmocka_unit_test (test_sql_time),
    cmocka_unit_test (test_status_mapping),
    cmocka_unit_test (test_percent),
    cmocka_unit_test (test_vma_parse),
    cmocka_unit_test (test_vma_parse_bad),
    cmocka_unit_test (test_vma_list),
    cmocka_unit_test (test_vma_list_page),
    cmocka_unit_test (test_decide_progress),
    cmocka_unit_test (test_decide_all_bytes_in_progress),
    cmocka_unit_test (test_decide_final),
    cmocka_unit_test (test_decide_dead),
    cmocka_unit_test (test_decide_no_progress),
    cmocka_unit_test (test_db_url_redact),
    cmocka_unit_test (test_discovery_row),
    cmocka_unit_test (test_vma_allow_list),
    cmocka_unit_test (test_registration),
    cmocka_unit_test (test_registration_bad),
    cmocka_unit_test (test_patch_body),
    cmocka_unit_test (test_render),
    cmocka_unit_test (test_render_vm_disks),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
