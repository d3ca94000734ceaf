#!/usr/bin/env bash
# Progress outputs of a rate-limited copy: the JSON stream and nbdcopy's
# "N/100" lines are monotone, start from a total fixed before the first
# byte moves, and end at exactly 100 when (and only when) done.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --filter=rate null --version
requires jq --version
make_tmpdir

# About 32 MiB of data at 10 MB/s: a few seconds, several updates.  The
# rate filter's bucket is kept small: by default it lets 2 s of data
# through at once, most of this copy.
start_nbdkit src --filter=rate sparse-random size=64M seed=11 percent=12 \
    runlength=32 rate=80M burstiness=0.2
start_nbdkit ref sparse-random size=64M seed=11 percent=12 runlength=32
total=$(plan_value "$ref_uri" transfer_bytes)

"$CBTRACK" copy -q --report-interval 0.2 "$src_uri" "$tmp/out.img" \
    --progress=3 --progress-json=4 3>"$tmp/pct" 4>"$tmp/p.json"
check_same "$ref_uri" "$tmp/out.img"
check_progress_json "$tmp/p.json" "$total"

# The total is known from the first Transfer update on.
jq -e -s --argjson t "$total" \
    'map(select(.stage != "Analysis")) | all(.total_bytes == $t)' \
    "$tmp/p.json" >/dev/null || fail "total changed during the copy"
# Several updates in between, with a throughput once data flowed.
[ "$(jq -s 'map(select(.status == "in_progress" and .stage == "Transfer"))
           | length' "$tmp/p.json")" -ge 3 ] || fail "too few updates"
jq -e -s 'map(select(.stage == "Transfer" and .bytes_transferred > 0))
          | any(.throughput_bps > 0 and .eta_seconds != null)' \
    "$tmp/p.json" >/dev/null || fail "no throughput or ETA reported"
jq -e -s 'all(.sync_type == "full")' "$tmp/p.json" >/dev/null ||
    fail "sync_type"

# nbdcopy-style lines: N/100, increasing, ending at 100/100.
grep -Eqv '^[0-9]+/100$' "$tmp/pct" && fail "bad line in --progress output"
sort -n -c -t/ -k1 "$tmp/pct" 2>/dev/null || sort -c -n "$tmp/pct" ||
    fail "--progress lines not monotone"
[ "$(tail -n1 "$tmp/pct")" = "100/100" ] || fail "last line is not 100/100"
[ "$(grep -c '^100/100$' "$tmp/pct")" = 1 ] || fail "100/100 more than once"
[ "$(wc -l < "$tmp/pct")" -ge 3 ] || fail "too few --progress lines"
