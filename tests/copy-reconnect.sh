#!/usr/bin/env bash
# The source's NBD server is killed (SIGKILL) mid-copy and started again
# on the same socket: the copy reconnects, sends again what was in flight, completes
# and is identical, and its progress never goes back nor counts twice.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires nbdkit --filter=rate null --version
requires nbdcopy --version
requires jq --version
make_tmpdir

sock="$tmp/src.sock"
serve ()
{
    nbdkit --exit-with-parent -U "$sock" -P "$tmp/src.pid" --filter=rate \
        random size=64M seed=11 rate=128M 2>>"$tmp/nbdkit.log" &
    cleanup_fn kill_daemon $!
    wait_for 10 test -S "$sock" || fail "nbdkit did not start"
}
serve
uri="nbd+unix:///?socket=$sock"
total=$("$CBTRACK" plan --json "$uri" | jq -e .transfer_bytes)

"$CBTRACK" copy -q --report-interval 0.2 --progress-json=3 "$uri" \
    "$tmp/out.img" 3>"$tmp/p.json" 2>"$tmp/stderr" &
copy=$!
cleanup_fn kill_daemon $copy
wait_for 30 jq -e -s 'map(.bytes_transferred) | max > 0' "$tmp/p.json" ||
    fail "the copy did not start"
pid=$(cat "$tmp/src.pid")
kill -9 "$pid"
at_kill=$(jq -s 'map(.bytes_transferred) | max' "$tmp/p.json")
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
rm -f "$sock" "$tmp/src.pid"
sleep 1
serve
status=0
wait $copy || status=$?
[ "$status" = 0 ] || { cat "$tmp/stderr" >&2; fail "copy exited $status"; }
[ "$at_kill" -lt "$total" ] || fail "the server was not killed mid-copy"
check_progress_json "$tmp/p.json" "$total"
check_same "$uri" "$tmp/out.img"
