#!/usr/bin/env bash
# cbtrack vma: a body over 64 KiB gets 413 and changes nothing, whether
# its length is announced or it comes chunked; just under the limit is
# fine.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

start_vma
bad_input_job
list_before=$(job_list)

# A 1 MiB body: refused before it is read (Content-Length) and when sent
# chunked (no length known in advance).
head -c 1048576 /dev/zero | tr '\0' ' ' > "$tmp/big"
printf '{"disk_id":"d1","bytes_transferred":0}' >> "$tmp/big"
expect_http 413 POST /api/v1/progress/job-1/update --data-binary @"$tmp/big"
expect_http 413 POST /api/v1/progress/job-1/update \
    -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/big"
[ "$(snapshot job-1)" = "$before" ] || fail "job-1 changed after 1 MiB"
# ... and just under the limit is fine (it is whitespace, then an update).
head -c 65000 /dev/zero | tr '\0' ' ' > "$tmp/ok"
printf '{"disk_id":"d2","total_bytes":50}' >> "$tmp/ok"
expect_http 200 POST /api/v1/progress/job-1/update --data-binary @"$tmp/ok"

list_after=$(job_list)
[ "$(jq '.count' <<<"$list_after")" = 1 ] ||
    fail "bad requests created jobs: $list_after"
# The one accepted update (d2, same values) changed nothing but the time.
[ "$(jq -S 'del(.version, .jobs[].updated_at, .jobs[].disks[].updated_at)' \
        <<<"$list_after")" = \
  "$(jq -S 'del(.version, .jobs[].updated_at, .jobs[].disks[].updated_at)' \
        <<<"$list_before")" ] || fail "list changed"
expect_http 200 GET /healthz

stop_vma
