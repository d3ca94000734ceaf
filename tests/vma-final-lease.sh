#!/usr/bin/env bash
# cbtrack vma: once its sender has been silent for --sender-lease, a disk
# may be taken over by another sender.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq

start_vma --sender-lease 1s
post_update job-1 '{"disk_id":"d1","status":"in_progress","sender_id":"a",
                    "bytes_transferred":10,"total_bytes":100}'
expect_http 409 POST /api/v1/progress/job-1/update --data-binary \
    '{"disk_id":"d1","sender_id":"b","bytes_transferred":20}'
take_over ()
{
    http POST /api/v1/progress/job-1/update --data-binary \
        '{"disk_id":"d1","sender_id":"b","bytes_transferred":20}'
    [ "$code" = 200 ]
}
wait_for 10 take_over || fail "sender b never took over"
jq -e '.disks[0].bytes_transferred == 20' <(get_json \
    "$vma_url/api/v1/progress/job-1") >/dev/null || fail "takeover lost"
stop_vma
