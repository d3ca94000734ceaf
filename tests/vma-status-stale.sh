#!/usr/bin/env bash
# cbtrack status shows no throughput and no ETA for a job that stopped
# reporting (stale) or that the copier reports stalled: "stalled for T"
# instead; and none for a failed job.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
requires jq --version
make_tmpdir

expect_exit 2 "$CBTRACK" status --stale-after nonsense
"$CBTRACK" status --help | grep -q -- '--stale-after S' || fail "--help"

start_vma
G=$(( 1 << 30 ))
M=$(( 1 << 20 ))
post_update job-1 "{\"disk_id\":\"sda\",\"stage\":\"Transfer\",
    \"status\":\"in_progress\",\"bytes_transferred\":$(( 2 * G )),
    \"total_bytes\":$(( 8 * G )),\"throughput_bps\":$(( 50 * M ))}"
post_update job-2 "{\"disk_id\":\"sda\",\"stage\":\"Transfer\",
    \"status\":\"in_progress\",\"bytes_transferred\":$(( 2 * G )),
    \"total_bytes\":$(( 8 * G )),\"throughput_bps\":$(( 50 * M )),
    \"stalled\":true,\"stalled_seconds\":40}"
post_update job-3 "{\"disk_id\":\"sda\",\"stage\":\"Transfer\",
    \"status\":\"failed\",\"bytes_transferred\":$(( 2 * G )),
    \"total_bytes\":$(( 8 * G )),\"throughput_bps\":$(( 50 * M )),
    \"error_message\":\"write error\"}"

# Fresh: job-1 shows its rate and ETA.
"$CBTRACK" status --vma "$vma_url" --stale-after 1h job-1 >"$tmp/fresh"
cat "$tmp/fresh"
grep -q '50\.0 MiB/s  ETA 2:03$' "$tmp/fresh" || fail "fresh job-1"

# The copier says stalled: no rate, for how long instead.
"$CBTRACK" status --vma "$vma_url" --stale-after 1h job-2 >"$tmp/stalled"
cat "$tmp/stalled"
grep -q 'MiB/s\|ETA' "$tmp/stalled" && fail "a stalled job shows a rate"
grep -q '^  \[.*stalled for 0:40$' "$tmp/stalled" || fail "stalled for"

# Failed: neither.
"$CBTRACK" status --vma "$vma_url" job-3 >"$tmp/failed"
cat "$tmp/failed"
grep -q 'MiB/s\|ETA\|stalled' "$tmp/failed" && fail "a failed job shows a rate"

# job-1 stops reporting: once its last update is older than
# --stale-after, its last rate is no longer shown.
aged ()
{
    curl -sf "$vma_url/api/v1/progress/job-1" |
        jq -e '.seconds_since_update >= 2' >/dev/null
}
wait_for 30 aged || fail "job-1 did not age"
"$CBTRACK" status --vma "$vma_url" --stale-after 1 job-1 >"$tmp/stale"
cat "$tmp/stale"
grep -q 'MiB/s\|ETA' "$tmp/stale" && fail "a stale job shows a rate"
grep -q '^  \[.*stalled for 0:0[2-9]$' "$tmp/stale" || fail "stale: stalled for"
grep -q '^    sda .*(25 %)$' "$tmp/stale" || fail "stale disk line"
stop_vma
