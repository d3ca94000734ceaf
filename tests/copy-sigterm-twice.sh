#!/usr/bin/env bash
# A second signal while the copy drains after the first one ends it at
# once, with one line and status 1.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --filter=rate null --version
requires jq --version
make_tmpdir

start_nbdkit src --filter=rate sparse-random size=64M seed=8 percent=50 \
    rate=16M
src_pid=$(cat "$src.pid")
cleanup_fn kill -CONT "$src_pid"
"$CBTRACK" copy -q --report-interval 0.2 --progress-json=3 "$src_uri" \
    "$tmp/out.img" 3>"$tmp/p.json" 2>"$tmp/stderr" &
copy=$!
cleanup_fn kill_daemon "$copy"
wait_for 30 jq -e -s 'map(.bytes_transferred) | max > 0' "$tmp/p.json" ||
    fail "the copy did not start"
# The source answers nothing more: the drain after SIGINT waits.
kill -STOP "$src_pid"
kill -INT "$copy"
sleep 0.3
kill -INT "$copy"
status=0
wait "$copy" || status=$?
[ "$status" = 1 ] || { cat "$tmp/stderr" >&2; fail "copy exited $status"; }
expect_stderr '^cbtrack copy: SIGINT again: exiting at once'
expect_one_line
kill -CONT "$src_pid"
