#!/usr/bin/env bash
# cbtrack vma: completed and failed are final unless a new run starts
# ("new_run": true), and a second sender of a disk is refused (409) while
# the first is live; senders without a sender_id work as before.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq

start_vma --sender-lease 1h

post_update job-1 '{"disk_id":"d1","status":"completed","stage":"Finalize",
                    "bytes_transferred":100,"total_bytes":100}'
before=$(snapshot job-1)
# Back to in_progress, or rewritten bytes: refused, nothing changes.
expect_http 409 POST /api/v1/progress/job-1/update --data-binary \
    '{"disk_id":"d1","status":"in_progress","bytes_transferred":10,
      "total_bytes":100}'
expect_http 409 POST /api/v1/progress/job-1/update --data-binary \
    '{"disk_id":"d1","bytes_transferred":10,"total_bytes":100}'
expect_http 409 POST /api/v1/progress/job-1/update --data-binary \
    '{"disk_id":"d1","status":"failed","error_message":"late"}'
# The final update repeated (a retry) is accepted and changes nothing.
post_update job-1 '{"disk_id":"d1","status":"completed","stage":"Finalize",
                    "bytes_transferred":100,"total_bytes":100}'
[ "$(snapshot job-1)" = "$before" ] || fail "a final disk changed"

# A new run starts the disk afresh.
post_update job-1 '{"disk_id":"d1","status":"in_progress","stage":"Analysis",
                    "new_run":true,"bytes_transferred":0,"total_bytes":200}'
jq -e '.status == "in_progress" and .disks[0].total_bytes == 200
       and .disks[0].bytes_transferred == 0' <(get_json \
    "$vma_url/api/v1/progress/job-1") >/dev/null || fail "new run not taken"

# Two senders of one disk: the second is refused while the first is live.
post_update job-2 '{"disk_id":"d1","status":"in_progress","sender_id":"a",
                    "bytes_transferred":10,"total_bytes":100}'
expect_http 409 POST /api/v1/progress/job-2/update --data-binary \
    '{"disk_id":"d1","status":"in_progress","sender_id":"b","new_run":true,
      "bytes_transferred":90,"total_bytes":100}'
post_update job-2 '{"disk_id":"d1","status":"in_progress","sender_id":"a",
                    "bytes_transferred":20,"total_bytes":100}'
# Another disk of the same job is free for anyone.
post_update job-2 '{"disk_id":"d2","status":"in_progress","sender_id":"b",
                    "bytes_transferred":1,"total_bytes":100}'
# A sender without an id is not refused.
post_update job-2 '{"disk_id":"d1","status":"in_progress",
                    "bytes_transferred":30,"total_bytes":100}'
expect_http 400 POST /api/v1/progress/job-2/update --data-binary \
    '{"disk_id":"d1","sender_id":"a b"}'
expect_http 400 POST /api/v1/progress/job-2/update --data-binary \
    '{"disk_id":"d1","sender_id":"a","new_run":"yes"}'
jq -e '.disks[0].bytes_transferred == 30' <(get_json \
    "$vma_url/api/v1/progress/job-2") >/dev/null || fail "job-2 disk d1"
stop_vma
