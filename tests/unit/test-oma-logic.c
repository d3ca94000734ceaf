/* Unit tests of the OMA's I/O-free logic: --db URLs, the VMA's answers,
 * status mapping, percentages, dead-job rules, discovery rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* A failed job continues only for a later run that is in progress, and
 * only if its row became final before that run started.
 */
static void
test_resumed_run (void **state)
{
  struct cbt_doc_job vma = { .status = CBT_STATUS_IN_PROGRESS,
                             .run = 2,
                             .seconds_since_run_start = 10.6 };
  int64_t not_after = -1;

  (void)state;
  assert_true (oma_poll_resumed_run (&vma, 1000, &not_after));
  assert_int_equal (not_after, 1000 - 10 + OMA_REOPEN_SLACK);
  not_after = -1;
  vma.run = 1; /* the run the OMA already followed */
  assert_false (oma_poll_resumed_run (&vma, 1000, &not_after));
  vma.run = 0; /* a service that does not count runs */
  assert_false (oma_poll_resumed_run (&vma, 1000, &not_after));
  vma.run = 3;
  vma.status = CBT_STATUS_FAILED; /* the new run failed too */
  assert_false (oma_poll_resumed_run (&vma, 1000, &not_after));
  assert_int_equal (not_after, -1);
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

  obj = oma_render_job (&job, true, 0, CBT_STALE_AFTER_DEFAULT);
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

  obj = oma_render_job (&job, false, 0, CBT_STALE_AFTER_DEFAULT);
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

/* A job cancelled at its VMA: the progress update carries the cancel
 * marker (kept once set), and the job, failed, is shown "cancelled".
 */
static void
test_decide_cancelled (void **state)
{
  static const char answer[] =
      "{\"job_id\":\"job-1\",\"status\":\"failed\",\"bytes_transferred\":5,"
      "\"total_bytes\":10,\"error_message\":\"cancelled\","
      "\"cancel_requested\":true,\"cancelled\":true}";
  struct oma_job known;
  struct cbt_doc_job vma;
  struct oma_update u;
  const int64_t now = 1700000000;

  (void)state;
  known_job (&known, now - 100, now - 40);
  assert_int_equal (oma_vma_job_parse (answer, strlen (answer), &vma), 0);
  assert_true (vma.cancelled);
  assert_true (
      oma_poll_decide (&known, OMA_FETCH_OK, &vma, NULL, now, 300, &u));
  assert_string_equal (u.job.status, "failed");
  assert_int_equal (u.job.cancel_requested_at, now);
  assert_string_equal (oma_job_status_shown (&u.job), "cancelled");
  oma_job_reset (&u.job);
  known.cancel_requested_at = now - 7;
  assert_true (
      oma_poll_decide (&known, OMA_FETCH_OK, &vma, NULL, now, 300, &u));
  assert_int_equal (u.job.cancel_requested_at, now - 7);
  oma_job_reset (&u.job);
  /* Failed without a cancel: failed. */
  u.job.cancel_requested_at = 0;
  assert_string_equal (oma_job_status_shown (&u.job), "failed");
  cbt_doc_job_reset (&vma);
}

/* The downsampling rule: a ten-hour history at one sample per 30 s fits
 * in OMA_HISTORY_MAX, keeps its first sample and the whole last hour, and
 * keeps the same samples when applied again.
 */
static void
test_history_thin (void **state)
{
  enum { N = 1200 };
  static int64_t t[N], t2[N];
  static bool keep[N], keep2[N];
  const int64_t t0 = 1700000000, now = t0 + 30 * (N - 1);
  size_t i, kept, n2 = 0;

  (void)state;
  for (i = 0; i < N; i++)
    t[i] = t0 + 30 * (int64_t)i;
  assert_int_equal (oma_history_thin (t, 100, now, 720, keep), 100);
  for (i = 0; i < 100; i++)
    assert_true (keep[i]);
  kept = oma_history_thin (t, N, now, 720, keep);
  assert_true (kept <= 720);
  assert_true (keep[0]);
  for (i = 0; i < N; i++)
    if (t[i] >= now - OMA_HISTORY_FULL_SECONDS)
      assert_true (keep[i]);
  /* Older samples are thinned, not cut: some of every hour remain. */
  for (i = 0; i + 120 < N; i += 120) {
    size_t k, in_hour = 0;

    for (k = i; k < i + 120; k++)
      in_hour += keep[k];
    assert_true (in_hour >= 1 && in_hour < 120);
  }
  for (i = 0; i < N; i++)
    if (keep[i])
      t2[n2++] = t[i];
  assert_int_equal (n2, kept);
  assert_int_equal (oma_history_thin (t2, n2, now, 720, keep2), n2);

  /* A fast poller: the last hour alone overflows; the newest 3/4 stay. */
  for (i = 0; i < N; i++)
    t[i] = t0 + (int64_t)i;
  kept = oma_history_thin (t, N, t0 + N - 1, 720, keep);
  assert_true (kept <= 720);
  assert_true (keep[0] && keep[N - 1] && keep[N - 540]);
}

static void
view_job (struct oma_job *job, const char *status)
{
  memset (job, 0, sizeof *job);
  oma_copy_text (job->id, sizeof job->id, "j");
  oma_copy_text (job->status, sizeof job->status, status);
  job->total_bytes = 1000;
  job->bytes_transferred = 400;
  job->transfer_speed_bps = 50;
  job->eta_seconds = 12;
  job->created_at = 1000;
  job->started_at = 1000;
  job->updated_at = 1100;
}

/* Speed and ETA only while they mean something. */
static void
test_job_view (void **state)
{
  struct oma_job job;
  struct oma_job_view v;

  (void)state;
  view_job (&job, "replicating");
  oma_job_view (&job, 1102, 6, &v);
  assert_true (v.has_rate && v.rate_bps == 50);
  assert_true (v.has_eta && v.eta_seconds == 12);
  assert_false (v.stalled);
  assert_true (v.has_duration && v.duration_seconds == 102);
  assert_false (v.has_average);

  /* The poller stopped refreshing the row: stale, stalled since then. */
  oma_job_view (&job, 1107, 6, &v);
  assert_false (v.has_rate);
  assert_false (v.has_eta);
  assert_true (v.stalled && v.stalled_since == 1100);

  /* The copier says it is stalled. */
  job.stalled_since = 1090;
  oma_job_view (&job, 1101, 6, &v);
  assert_false (v.has_rate || v.has_eta);
  assert_true (v.stalled && v.stalled_since == 1090);

  view_job (&job, "completed");
  job.bytes_transferred = 1000;
  job.completed_at = 1200;
  oma_job_view (&job, 5000, 6, &v);
  assert_false (v.has_rate || v.stalled);
  assert_true (v.has_eta && v.eta_seconds == 0);
  assert_true (v.has_duration && v.duration_seconds == 200);
  assert_true (v.has_average && v.average_rate_bps == 5);

  view_job (&job, "failed");
  job.completed_at = 1150;
  oma_job_view (&job, 1101, 6, &v);
  assert_false (v.has_rate || v.has_eta || v.stalled || v.has_average);
  assert_true (v.duration_seconds == 150);

  view_job (&job, "pending");
  job.started_at = 0;
  oma_job_view (&job, 9999, 6, &v);
  assert_false (v.has_rate || v.has_eta || v.stalled || v.has_duration);
}

/* The API renders what the view says: nulls, not stale numbers. */
static void
test_render_truth (void **state)
{
  struct oma_job job;
  struct oma_disk d;
  json_t *obj, *disk;

  (void)state;
  view_job (&job, "replicating");
  memset (&d, 0, sizeof d);
  oma_copy_text (d.disk_id, sizeof d.disk_id, "d1");
  oma_copy_text (d.sync_status, sizeof d.sync_status, "syncing");
  d.throughput_bps = 50;
  d.eta_seconds = 12;
  assert_int_equal (oma_disk_vector_append (&job.disks, d), 0);
  obj = oma_render_job (&job, false, 1101, 6);
  disk = json_array_get (json_object_get (obj, "disks"), 0);
  assert_int_equal (
      json_integer_value (json_object_get (obj, "transfer_speed_bps")), 50);
  assert_int_equal (json_integer_value (json_object_get (disk, "eta_seconds")),
                    12);
  assert_true (json_is_false (json_object_get (obj, "stalled")));
  json_decref (obj);
  obj = oma_render_job (&job, false, 1200, 6);
  disk = json_array_get (json_object_get (obj, "disks"), 0);
  assert_true (json_is_null (json_object_get (obj, "transfer_speed_bps")));
  assert_true (json_is_null (json_object_get (obj, "eta_seconds")));
  assert_true (json_is_null (json_object_get (disk, "throughput_bps")));
  assert_true (json_is_null (json_object_get (disk, "eta_seconds")));
  assert_true (json_is_true (json_object_get (obj, "stalled")));
  assert_string_equal (
      json_string_value (json_object_get (obj, "stalled_since")),
      "1970-01-01T00:18:20Z");
  json_decref (obj);
  oma_job_reset (&job);
}

static void
list_add (oma_job_vector *jobs, const char *id, const char *name,
          const char *status, double pct, int64_t created, int64_t eta)
{
  struct oma_job job;

  view_job (&job, status);
  oma_copy_text (job.id, sizeof job.id, id);
  oma_copy_text (job.source_vm_name, sizeof job.source_vm_name, name);
  job.progress_percent = pct;
  job.created_at = created;
  job.eta_seconds = eta;
  if (strcmp (status, "pending") == 0)
    job.started_at = 0;
  assert_int_equal (oma_job_vector_append (jobs, job), 0);
}

/* Runs the list with these query arguments; returns the ids, space
 * separated, into BUF.
 */
static const char *
list_ids (const oma_job_vector *jobs, const char *status, const char *q,
          const char *sort, const char *limit, const char *after, char *buf,
          size_t len, const char **ret_next)
{
  struct oma_list_query query;
  struct oma_list_page page;
  size_t i, off = 0;

  assert_int_equal (
      oma_list_query_parse (status, q, NULL, sort, limit, after, NULL, &query),
      0);
  assert_int_equal (oma_list_select (jobs, &query, 1101, 6, &page), 0);
  buf[0] = '\0';
  for (i = 0; i < page.n; i++)
    off += (size_t)snprintf (buf + off, len - off, "%s%s", i ? " " : "",
                             jobs->ptr[page.idx[i]].id);
  if (ret_next)
    *ret_next = page.next;
  free (page.idx);
  return buf;
}

/* Filter, search, sort and pages of the list. */
static void
test_list_select (void **state)
{
  oma_job_vector jobs = empty_vector;
  struct oma_list_query query;
  struct oma_list_page page;
  const char *next;
  char buf[256];

  (void)state;
  list_add (&jobs, "a", "web01", "replicating", 40, 10, 100);
  list_add (&jobs, "b", "db01", "completed", 100, 20, -1);
  list_add (&jobs, "c", "WEB02", "failed", 70, 30, -1);
  list_add (&jobs, "d", "mail", "pending", 0, 40, -1);
  list_add (&jobs, "e", "web03", "replicating", 90, 50, 5);
  jobs.ptr[4].stalled_since = 1050;

  assert_string_equal (
      list_ids (&jobs, NULL, NULL, NULL, NULL, NULL, buf, sizeof buf, NULL),
      "e d c b a");
  assert_string_equal (list_ids (&jobs, "replicating", NULL, NULL, NULL, NULL,
                                 buf, sizeof buf, NULL),
                       "e a");
  assert_string_equal (list_ids (&jobs, "stalled", NULL, NULL, NULL, NULL, buf,
                                 sizeof buf, NULL),
                       "e");
  assert_string_equal (list_ids (&jobs, "failed,pending", NULL, NULL, NULL,
                                 NULL, buf, sizeof buf, NULL),
                       "d c");
  assert_string_equal (
      list_ids (&jobs, NULL, "web", "name", NULL, NULL, buf, sizeof buf, NULL),
      "c a e");
  assert_string_equal (list_ids (&jobs, NULL, "B", "created", NULL, NULL, buf,
                                 sizeof buf, NULL),
                       "a b c e");
  assert_string_equal (list_ids (&jobs, NULL, NULL, "-progress", NULL, NULL,
                                 buf, sizeof buf, NULL),
                       "b e c a d");
  /* ETA: completed (0) first, then the live ones; unknown last (the
   * stalled e has none).
   */
  assert_string_equal (
      list_ids (&jobs, NULL, NULL, "eta", NULL, NULL, buf, sizeof buf, NULL),
      "b a c d e");
  assert_string_equal (list_ids (&jobs, NULL, NULL, "started", NULL, NULL, buf,
                                 sizeof buf, NULL),
                       "a b c e d");
  assert_string_equal (
      list_ids (&jobs, NULL, NULL, NULL, "2", NULL, buf, sizeof buf, &next),
      "e d");
  assert_string_equal (next, "d");
  assert_string_equal (
      list_ids (&jobs, NULL, NULL, NULL, "2", "d", buf, sizeof buf, &next),
      "c b");
  assert_string_equal (
      list_ids (&jobs, NULL, NULL, NULL, "2", "b", buf, sizeof buf, &next),
      "a");
  assert_null (next);

  assert_int_equal (
      oma_list_query_parse (NULL, NULL, NULL, NULL, NULL, NULL, NULL, &query),
      0);
  assert_int_equal (oma_list_select (&jobs, &query, 1101, 6, &page), 0);
  assert_int_equal (page.total, 5);
  assert_int_equal (page.by_status[1], 2);
  assert_int_equal (page.by_status[4], 1);
  assert_int_equal (page.rate_bps, 50);
  free (page.idx);

  /* A failed job whose cancel was asked for is "cancelled", not "failed",
   * in the filter and in the counts.
   */
  jobs.ptr[2].cancel_requested_at = 1060;
  assert_string_equal (list_ids (&jobs, "failed", NULL, NULL, NULL, NULL, buf,
                                 sizeof buf, NULL),
                       "");
  assert_string_equal (list_ids (&jobs, "cancelled", NULL, NULL, NULL, NULL,
                                 buf, sizeof buf, NULL),
                       "c");
  assert_int_equal (oma_list_select (&jobs, &query, 1101, 6, &page), 0);
  assert_int_equal (page.by_status[3], 0);
  assert_int_equal (page.by_status[5], 1);
  free (page.idx);
  jobs.ptr[2].cancel_requested_at = 0;

  /* An after= that is not listed is an error, not a silent restart. */
  assert_int_equal (oma_list_query_parse ("failed", NULL, NULL, NULL, NULL,
                                          "a", NULL, &query),
                    0);
  assert_int_equal (oma_list_select (&jobs, &query, 1101, 6, &page), -1);

  assert_int_equal (oma_list_query_parse ("running", NULL, NULL, NULL, NULL,
                                          NULL, NULL, &query),
                    -1);
  assert_int_equal (oma_list_query_parse (NULL, NULL, NULL, "size", NULL, NULL,
                                          NULL, &query),
                    -1);
  assert_int_equal (
      oma_list_query_parse (NULL, NULL, NULL, NULL, "0", NULL, NULL, &query),
      -1);
  assert_int_equal (oma_list_query_parse (NULL, NULL, NULL, NULL, "1001", NULL,
                                          NULL, &query),
                    -1);
  assert_int_equal (
      oma_list_query_parse (NULL, NULL, NULL, NULL, "-1", NULL, NULL, &query),
      -1);
  assert_int_equal (
      oma_list_query_parse (NULL, NULL, NULL, NULL, NULL, "a b", NULL, &query),
      -1);
  assert_int_equal (
      oma_list_query_parse (NULL, NULL, NULL, NULL, NULL, NULL, "xml", &query),
      -1);
  assert_int_equal (
      oma_list_query_parse (NULL, NULL, NULL, NULL, NULL, NULL, "csv", &query),
      0);
  assert_true (query.csv);
  oma_job_vector_free (&jobs);
}

/* CSV cells stay text in a spreadsheet: formulas neutralised, quotes
 * doubled, every cell quoted.
 */
static void
test_csv (void **state)
{
  oma_job_vector jobs = empty_vector;
  size_t idx[2] = { 0, 1 }, len = 0;
  char *text, *out = NULL;
  size_t size = 0;
  FILE *fp;

  (void)state;
  fp = open_memstream (&out, &size);
  assert_non_null (fp);
  assert_int_equal (oma_csv_cell (fp, "=HYPERLINK(\"http://x\")"), 0);
  assert_int_equal (oma_csv_cell (fp, "+1"), 0);
  assert_int_equal (oma_csv_cell (fp, "-1"), 0);
  assert_int_equal (oma_csv_cell (fp, "@SUM(A1)"), 0);
  assert_int_equal (oma_csv_cell (fp, "\tx"), 0);
  assert_int_equal (oma_csv_cell (fp, "a,b\r\nc"), 0);
  assert_int_equal (oma_csv_cell (fp, ""), 0);
  assert_int_equal (fclose (fp), 0);
  assert_string_equal (out, "\"'=HYPERLINK(\"\"http://x\"\")\"\"'+1\"\"'-1\""
                            "\"'@SUM(A1)\"\"'\tx\"\"a,b\r\nc\"\"\"");
  free (out);

  list_add (&jobs, "a", "=cmd|' /C calc'!A0", "completed", 100, 10, -1);
  jobs.ptr[0].completed_at = 1200;
  list_add (&jobs, "b", "<img src=x onerror=alert(1)>", "replicating", 40, 20,
            12);
  text = oma_render_csv (&jobs, idx, 2, 1101, 6, &len);
  assert_non_null (text);
  assert_int_equal (strlen (text), len);
  assert_non_null (strstr (text, "\"a\",\"'=cmd|' /C calc'!A0\",\"\","
                                 "\"completed\",\"100\""));
  assert_non_null (strstr (text, "\"<img src=x onerror=alert(1)>\""));
  /* The completed job: no rate, ETA 0, duration, average. */
  assert_non_null (strstr (text, "\"\",\"0\",\"\",\"1970-01-01T00:16:40Z\","
                                 "\"1970-01-01T00:20:00Z\",\"200\""));
  assert_int_equal (strncmp (text, "id,source_vm_name,", 18), 0);
  free (text);
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
    cmocka_unit_test (test_resumed_run),
    cmocka_unit_test (test_render),
    cmocka_unit_test (test_render_vm_disks),
    cmocka_unit_test (test_decide_cancelled),
    cmocka_unit_test (test_history_thin),
    cmocka_unit_test (test_job_view),
    cmocka_unit_test (test_render_truth),
    cmocka_unit_test (test_list_select),
    cmocka_unit_test (test_csv),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
