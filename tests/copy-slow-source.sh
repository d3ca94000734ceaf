#!/usr/bin/env bash
# A source that takes seconds per read (nbdkit's delay filter): the copy
# completes, identical, and its ETA is never negative.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --filter=delay null --version
requires nbdcopy --version
requires jq --version
make_tmpdir

start_nbdkit src --filter=delay random size=1M seed=2 \
    delay-read=2
total=$("$CBTRACK" plan --json "$src_uri" | jq -e .transfer_bytes)
expect_exit 0 timeout 120 "$CBTRACK" copy -q --report-interval 0.5 \
    --progress-json=3 "$src_uri" "$tmp/out.img" 3>"$tmp/p.json"
check_same "$src_uri" "$tmp/out.img"
check_progress_json "$tmp/p.json" "$total"
jq -e -s 'all(.eta_seconds == null or .eta_seconds >= 0)' "$tmp/p.json" \
    >/dev/null || { cat "$tmp/p.json" >&2; fail "an ETA below 0"; }
