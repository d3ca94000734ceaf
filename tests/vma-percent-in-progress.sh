#!/usr/bin/env bash
# cbtrack vma: a disk with every byte moved but not completed is at 99.99 %,
# in its own entry and in the job's, until it completes (DESIGN §1).
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

start_vma

post_update j1 '{"disk_id":"d1","status":"in_progress","stage":"Transfer",
    "bytes_transferred":100,"total_bytes":100}'
expect_http 200 GET /api/v1/progress/j1
jq -e '.status == "in_progress" and .percent == 99.99 and
       .disks[0].status == "in_progress" and .disks[0].percent == 99.99' \
    "$tmp/body" >/dev/null || fail "in progress at 100 %: $(cat "$tmp/body")"

post_update j1 '{"disk_id":"d1","status":"completed"}'
expect_http 200 GET /api/v1/progress/j1
jq -e '.status == "completed" and .percent == 100 and
       .disks[0].percent == 100' "$tmp/body" >/dev/null ||
    fail "completed is not 100 %: $(cat "$tmp/body")"

stop_vma
