#!/usr/bin/env bash
# cbtrack vma: the bodies of the original migratekit progress client are
# accepted unchanged (capitalised words, "initial", zero values left out,
# percent as a float, no disk_id, unknown fields).
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

start_vma
job=migration-vol-c290646c-41ba-4d50-a31f-f497320ca0bd

post_update $job '{"stage":"Transfer","status":"Queued","bytes_transferred":0,
                   "total_bytes":42949672960,"throughput_bps":0,
                   "disk_id":"disk-2000"}'
snapshot $job | jq -e '.status == "queued" and .total_bytes == 42949672960 and
                       .sync_type == "full" and .eta_seconds == null' \
    >/dev/null || fail "queued: $(snapshot $job)"

post_update $job '{"stage":"Transfer","status":"in_progress",
                   "sync_type":"initial","bytes_transferred":933232640,
                   "total_bytes":42949672960,"throughput_bps":104857600,
                   "percent":2.1728515625,"disk_id":"disk-2000",
                   "vm_name":"pgtest1","timestamp":"2025-09-05T15:26:15Z"}'
snapshot $job | jq -e '.status == "in_progress" and .sync_type == "full" and
                       .percent == 2.17 and .throughput_bps == 104857600 and
                       .bytes_transferred == 933232640 and
                       .eta_seconds == 401' >/dev/null ||
    fail "in progress: $(snapshot $job)"

# Zero values left out entirely; no status: the stored one stays.
post_update $job '{"stage":"Transfer","bytes_transferred":21474836480,
                   "total_bytes":42949672960,"throughput_bps":104857600,
                   "percent":50,"disk_id":"disk-2000"}'
snapshot $job | jq -e '.status == "in_progress" and .percent == 50' \
    >/dev/null || fail "omitted status: $(snapshot $job)"

post_update $job '{"stage":"Transfer","status":"completed",
                   "bytes_transferred":42949672960,"total_bytes":42949672960,
                   "percent":100,"disk_id":"disk-2000"}'
snapshot $job | jq -e '.status == "completed" and .percent == 100 and
                       .eta_seconds == 0 and .throughput_bps == 0' \
    >/dev/null || fail "completed: $(snapshot $job)"

# Job-level only (older clients sent no disk_id), incremental, failure.
post_update job-20250925-134230.513-8034ee \
    '{"stage":"Transfer","status":"in_progress","sync_type":"incremental",
      "bytes_transferred":65536,"total_bytes":43253760,"percent":0.15}'
post_update job-20250925-134230.513-8034ee \
    '{"stage":"Transfer","status":"failed","sync_type":"incremental",
      "bytes_transferred":65536,"total_bytes":43253760,
      "error_message":"nbd: connection reset by peer"}'
snapshot job-20250925-134230.513-8034ee |
    jq -e '.status == "failed" and .sync_type == "incremental" and
           .percent == 0.15 and .disks == [] and
           .error_message == "nbd: connection reset by peer"' >/dev/null ||
    fail "job-level: $(snapshot job-20250925-134230.513-8034ee)"

stop_vma
