#!/usr/bin/env bash
# cbtrack vma: the job list, newest first, with disks; DELETE forgets a
# job, and what is gone or never was answers 404.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

start_vma

post_update job-1 '{"disk_id":"disk-2000","status":"in_progress",
    "bytes_transferred":1234,"total_bytes":5678}'
post_update job-1 '{"disk_id":"disk-2001","status":"in_progress",
    "bytes_transferred":766,"total_bytes":4322}'

# The list, newest first.
post_update job-2 '{"status":"queued"}'
post_update job-3 '{"status":"queued"}'
expect_http 200 GET /api/v1/progress
jq -e '.count == 3 and ([.jobs[].job_id] == ["job-3","job-2","job-1"]) and
       (.jobs[2].disks | length == 2)' "$tmp/body" >/dev/null ||
    fail "GET list: $(cat "$tmp/body")"

# DELETE, then the job is gone.
expect_http 200 DELETE /api/v1/progress/job-2
jq -e '.status == "success" and .job_id == "job-2"' "$tmp/body" >/dev/null ||
    fail "DELETE reply: $(cat "$tmp/body")"
expect_http 404 GET /api/v1/progress/job-2
expect_http 404 DELETE /api/v1/progress/job-2
expect_http 404 GET /api/v1/progress/never-seen

stop_vma
