#!/usr/bin/env bash
# cbtrack vma: POST creates the job and its disks; GET answers with
# exactly the documented fields, aggregated; HEAD is GET without a body.
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
        "bytes_transferred","resumed_bytes","total_bytes","percent",
        "throughput_bps","eta_seconds","stalled","started_at","updated_at",
        "seconds_since_update","run","seconds_since_run_start",
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

stop_vma
