#!/usr/bin/env bash
# cbtrack vma: bounded memory: at most 256 disks per job and --max-jobs
# jobs, with clear refusals that change nothing.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

start_vma --max-jobs 3

# 256 disks on one keep-alive connection.
for (( d = 0; d < 256; d++ )); do
    (( d > 0 )) && echo next
    printf 'url = "%s"\ndata = "{\\"disk_id\\":\\"d%d\\",\\"total_bytes\\":1}"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
        "$vma_url/api/v1/progress/big/update" "$d"
done > "$tmp/disks.cfg"
curl -s -K "$tmp/disks.cfg" > "$tmp/codes"
[ "$(grep -c '^200$' "$tmp/codes")" = 256 ] || fail "256 disks not accepted"
before=$(snapshot big)
expect_http 400 POST /api/v1/progress/big/update \
    -d '{"disk_id":"one-too-many","total_bytes":1}'
grep -q 'disks (the limit per job)' "$tmp/body" || fail "$(cat "$tmp/body")"
[ "$(snapshot big)" = "$before" ] || fail "257th disk changed the job"
# Existing disks still take updates.
post_update big '{"disk_id":"d255","bytes_transferred":1}'

post_update job-2 '{}'
post_update job-3 '{}'
expect_http 503 POST /api/v1/progress/job-4/update -d '{}'
grep -qi '^Retry-After:' "$tmp/headers" || fail "503 without Retry-After"
expect_http 404 GET /api/v1/progress/job-4
# Room again after a DELETE.
expect_http 200 DELETE /api/v1/progress/job-2
post_update job-4 '{}'

stop_vma
