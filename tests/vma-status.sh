#!/usr/bin/env bash
# cbtrack status: the terminal view of a progress service.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

expect_exit 2 "$CBTRACK" status --frobnicate
expect_exit 2 "$CBTRACK" status 'bad id'
expect_exit 2 "$CBTRACK" status a b
"$CBTRACK" status --help | grep -q '^Usage: cbtrack status' || fail "--help"

start_vma
expect_exit 0 "$CBTRACK" status --vma "$vma_url"
"$CBTRACK" status --vma "$vma_url" | grep -q '^no jobs' || fail "no jobs"

G=$(( 1 << 30 ))
M=$(( 1 << 20 ))
post_update job-1 "{\"disk_id\":\"disk-2000\",\"stage\":\"Transfer\",
    \"status\":\"in_progress\",\"bytes_transferred\":$(( 6 * G )),
    \"total_bytes\":$(( 9 * G )),\"throughput_bps\":$(( 105 * M ))}"
post_update job-1 "{\"disk_id\":\"disk-2001\",\"stage\":\"Transfer\",
    \"status\":\"in_progress\",\"bytes_transferred\":$(( 6 * G )),
    \"total_bytes\":$(( 9 * G )),\"throughput_bps\":$(( 105 * M ))}"
post_update job-2 '{"disk_id":"sda","status":"failed","total_bytes":100,
    "bytes_transferred":50,"error_message":"read error at 4096"}'

"$CBTRACK" status --vma "$vma_url/" job-1 > "$tmp/out"
cat "$tmp/out"
grep -Eq '^job-1  in_progress  Transfer  full' "$tmp/out" || fail "job line"
grep -Eq '^  \[#{19}-{11}\]  12\.0 GiB of 18\.0 GiB \(67 %\)  210\.0 MiB/s  ETA 0:29$' \
    "$tmp/out" || fail "job bar"
grep -Eq '^    disk-2000  in_progress +\[#{13}-{7}\]  6\.0 GiB of 9\.0 GiB \(67 %\)  105\.0 MiB/s  ETA 0:29$' \
    "$tmp/out" || fail "disk bar"
[ "$(grep -c 'disk-200[01]' "$tmp/out")" = 2 ] || fail "both disks"

"$CBTRACK" status --vma "$vma_url" > "$tmp/all"
cat "$tmp/all"
# Newest first, with the failed job's reason.
[ "$(grep -Eo '^job-[0-9]' "$tmp/all" | tr '\n' ' ')" = "job-2 job-1 " ] ||
    fail "order"
grep -q 'error: disk sda: read error at 4096' "$tmp/all" || fail "error"

"$CBTRACK" status --vma "$vma_url" --json job-1 |
    jq -e '.job_id == "job-1" and .bytes_transferred == 12884901888' \
    >/dev/null || fail "--json"

expect_exit 1 "$CBTRACK" status --vma "$vma_url" nope
expect_stderr "no job 'nope'"

stop_vma
expect_exit 1 "$CBTRACK" status --vma "$vma_url"
expect_stderr 'cannot reach'
