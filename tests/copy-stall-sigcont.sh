#!/usr/bin/env bash
# The source stops answering mid-copy (nbdkit SIGSTOPped) long enough for
# the copy to say it is stalled, and comes back before the I/O timeout:
# the copy is no longer stalled, completes, and is identical.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --filter=rate null --version
requires nbdcopy --version
requires jq --version
make_tmpdir

start_nbdkit src --filter=rate sparse-random size=64M seed=6 percent=50 \
    rate=64M
src_pid=$(cat "$src.pid")
cleanup_fn kill -CONT "$src_pid"
total=$("$CBTRACK" plan --json "$src_uri" | jq -e .transfer_bytes)

"$CBTRACK" copy -q --report-interval 0.2 --io-timeout 60 --progress-json=3 \
    "$src_uri" "$tmp/out.img" 3>"$tmp/p.json" 2>"$tmp/stderr" &
copy=$!
cleanup_fn kill_daemon "$copy"
wait_for 30 jq -e -s 'map(.bytes_transferred) | max > 0' "$tmp/p.json" ||
    fail "the copy did not start"
kill -STOP "$src_pid"
wait_for 30 jq -e -s 'any(.stalled and .stalled_seconds >= 0)' \
    "$tmp/p.json" || fail "the copy never said it was stalled"
kill -CONT "$src_pid"

status=0
wait "$copy" || status=$?
[ "$status" = 0 ] || { cat "$tmp/stderr" >&2; fail "copy exited $status"; }
jq -e -s '.[-1].stalled == false' "$tmp/p.json" >/dev/null ||
    fail "still stalled at the end"
check_progress_json "$tmp/p.json" "$total"
check_same "$src_uri" "$tmp/out.img"
