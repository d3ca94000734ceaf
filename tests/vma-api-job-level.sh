#!/usr/bin/env bash
# cbtrack vma: updates without disk_id are job-level; a job completed that
# way is 100 %, ETA 0, with no disks.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

start_vma

post_update job-4 '{"stage":"Transfer","status":"in_progress",
                    "bytes_transferred":5,"total_bytes":10}'
post_update job-4 '{"status":"completed","bytes_transferred":10}'
snapshot job-4 | jq -e '.status == "completed" and .percent == 100 and
                        .eta_seconds == 0 and .disks == []' >/dev/null ||
    fail "job-level completion: $(snapshot job-4)"

stop_vma
