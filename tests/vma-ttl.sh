#!/usr/bin/env bash
# cbtrack vma --job-ttl: finished jobs are forgotten after the TTL,
# running ones are kept.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

expect_exit 2 "$CBTRACK" vma --job-ttl 0
expect_exit 2 "$CBTRACK" vma --job-ttl forever

start_vma --job-ttl 1s

post_update done-job '{"disk_id":"a","status":"completed","total_bytes":5,
                       "bytes_transferred":5}'
post_update failed-job '{"status":"failed","error_message":"boom"}'
post_update running-job '{"disk_id":"a","status":"in_progress",
                          "total_bytes":5,"bytes_transferred":1}'
post_update half-done '{"disk_id":"a","status":"completed"}'
post_update half-done '{"disk_id":"b","status":"in_progress",
                        "total_bytes":5}'

gone () { [ "$(curl -s -o /dev/null -w '%{http_code}' \
                 "$vma_url/api/v1/progress/$1")" = 404 ]; }
wait_for 20 gone done-job || fail "completed job did not expire"
wait_for 20 gone failed-job || fail "failed job did not expire"
sleep 1.5
expect_http 200 GET /api/v1/progress/running-job
expect_http 200 GET /api/v1/progress/half-done
curl -sf "$vma_url/metrics" | grep -qx 'cbtrack_vma_jobs_expired_total 2' ||
    fail "expired jobs not counted"

# A finished job that is updated again lives on until the TTL after it.
post_update running-job '{"disk_id":"a","status":"completed",
                          "bytes_transferred":5}'
wait_for 20 gone running-job || fail "job completed later did not expire"
expect_http 200 GET /api/v1/progress/half-done

stop_vma
