#!/usr/bin/env bash
# cbtrack vma: every endpoint and status code, and the answers' fields.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

start_vma

# POST creates the job and the disks; the reply names the job.
expect_http 200 POST /api/v1/progress/job-1/update -d \
    '{"disk_id":"disk-2000","stage":"Transfer","status":"in_progress",
      "sync_type":"full","bytes_transferred":1234,"total_bytes":5678,
      "throughput_bps":99,"percent":21.7,"eta_seconds":40,
      "bytes_written":1000,"bytes_zero_skipped":234,
      "capacity_bytes":8589934592,"error_message":""}'
jq -e '. == {"status":"success","job_id":"job-1"}' "$tmp/body" >/dev/null ||
    fail "POST reply: $(cat "$tmp/body")"
grep -qi '^Content-Type: application/json' "$tmp/headers" ||
    fail "replies are not application/json"
post_update job-1 '{"disk_id":"disk-2001","stage":"Transfer",
    "status":"in_progress","bytes_transferred":766,"total_bytes":4322,
    "throughput_bps":1}'

# GET: exactly the documented top-level fields, then disks[].
expect_http 200 GET /api/v1/progress/job-1
jq -e '(keys_unsorted == ["job_id","stage","status","sync_type",
        "bytes_transferred","total_bytes","percent","throughput_bps",
        "eta_seconds","started_at","updated_at","seconds_since_update",
        "error_message","disks"])' "$tmp/body" >/dev/null ||
    fail "GET top-level fields: $(jq -c 'keys_unsorted' "$tmp/body")"
jq -e '.job_id == "job-1" and .bytes_transferred == 2000 and
       .total_bytes == 10000 and .percent == 20 and .throughput_bps == 100 and
       .eta_seconds == 80 and .status == "in_progress" and
       .stage == "Transfer" and .sync_type == "full" and
       .error_message == "" and .seconds_since_update >= 0 and
       (.started_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")) and
       (.disks | length == 2) and .disks[0].disk_id == "disk-2000" and
       .disks[0].bytes_written == 1000 and
       .disks[0].bytes_zero_skipped == 234 and
       .disks[0].capacity_bytes == 8589934592 and
       .disks[0].eta_seconds == 40 and .disks[0].percent == 21.73 and
       .disks[1].disk_id == "disk-2001"' "$tmp/body" >/dev/null ||
    fail "GET job-1: $(cat "$tmp/body")"

# HEAD is GET without the body.
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$vma_url/healthz")
[ "$code" = 200 ] || fail "HEAD /healthz: $code"

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

# Health and metrics.
expect_http 200 GET /healthz
jq -e '.status == "ok" and .jobs == 2' "$tmp/body" >/dev/null ||
    fail "healthz: $(cat "$tmp/body")"
expect_http 200 GET /metrics
grep -qi '^Content-Type: text/plain; version=0.0.4' "$tmp/headers" ||
    fail "metrics content type"
for line in \
    'cbtrack_vma_job_bytes_transferred{job="job-1"} 2000' \
    'cbtrack_vma_job_total_bytes{job="job-1"} 10000' \
    'cbtrack_vma_job_throughput_bps{job="job-1"} 100' \
    'cbtrack_vma_job_status{job="job-1",status="in_progress"} 1' \
    'cbtrack_vma_disk_bytes_transferred{job="job-1",disk="disk-2000"} 1234' \
    'cbtrack_vma_disk_total_bytes{job="job-1",disk="disk-2001"} 4322' \
    'cbtrack_vma_disk_status{job="job-1",disk="disk-2001",status="in_progress"} 1' \
    'cbtrack_vma_jobs{status="queued"} 1' \
    'cbtrack_vma_total_bytes 10000' \
    'cbtrack_vma_jobs_deleted_total 1' \
    'cbtrack_vma_http_requests_total{code="404"} 3' \
    '# TYPE cbtrack_vma_http_requests_total counter'; do
    grep -qxF "$line" "$tmp/body" || fail "metrics lack: $line"
done
# Every sample line is "name{labels} number" (Prometheus text format).
grep -v '^#' "$tmp/body" |
    grep -Evq '^[a-z_]+(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? [0-9.]+$' &&
    fail "malformed metrics line"

# 404: unknown paths.
expect_http 404 GET /nope
expect_http 404 GET /api/v1/progress/job-1/other
expect_http 404 POST /api/v1/progressx -d '{}'

# 405, with Allow.
expect_http 405 GET /api/v1/progress/job-1/update
grep -qi '^Allow: POST' "$tmp/headers" || fail "405 without Allow: POST"
expect_http 405 PUT /api/v1/progress/job-1 -d '{}'
grep -qi '^Allow: GET, HEAD, DELETE' "$tmp/headers" ||
    fail "405 Allow for a job: $(grep -i '^Allow' "$tmp/headers")"
expect_http 405 POST /healthz -d '{}'
expect_http 405 DELETE /api/v1/progress

# Job-level updates and completion.
post_update job-4 '{"stage":"Transfer","status":"in_progress",
                    "bytes_transferred":5,"total_bytes":10}'
post_update job-4 '{"status":"completed","bytes_transferred":10}'
snapshot job-4 | jq -e '.status == "completed" and .percent == 100 and
                        .eta_seconds == 0 and .disks == []' >/dev/null ||
    fail "job-level completion: $(snapshot job-4)"

stop_vma
