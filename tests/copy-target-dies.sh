#!/usr/bin/env bash
# The target's NBD server is killed (SIGKILL) mid-copy.  Writes it had
# acknowledged but not flushed may be lost with it, so the copy does not
# reconnect: it fails at once (exit 1, one line naming the target, a final
# failed progress line), never "done".  Its checkpoint holds flushed data
# only, so the same command, run again once the server is back on the
# same file, resumes and ends with a target equal to the source.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires nbdkit --filter=rate null --version
requires jq --version
make_tmpdir

start_nbdkit src --filter=rate random size=64M seed=12 rate=256M
start_nbdkit ref random size=64M seed=12
truncate -s 64M "$tmp/target.img"
sock="$tmp/dst.sock"
serve_target ()
{
    rm -f "$sock"
    nbdkit --exit-with-parent -U "$sock" -P "$tmp/dst.pid" file \
        "$tmp/target.img" 2>>"$tmp/nbdkit.log" &
    cleanup_fn kill_daemon $!
    wait_for 10 test -S "$sock" || fail "nbdkit did not start"
}
serve_target
dst_uri="nbd+unix:///?socket=$sock"
copy=("$CBTRACK" copy -q --report-interval 0.2 "$src_uri" "$dst_uri")

status=0
"${copy[@]}" --progress-json=3 3>"$tmp/p.json" 2>"$tmp/stderr" &
pid=$!
cleanup_fn kill_daemon "$pid"
wait_for 30 jq -e -s 'map(.bytes_transferred) | max > 0' "$tmp/p.json" ||
    fail "the copy did not start"
kill -9 "$(cat "$tmp/dst.pid")"
wait_for 30 sh -c "! kill -0 $pid 2>/dev/null" ||
    fail "the copy did not end after its target died"
wait "$pid" || status=$?
[ "$status" = 1 ] || { cat "$tmp/stderr" >&2; fail "copy exited $status"; }
expect_one_line
grep -q "^cbtrack copy: .*socket=$sock" "$tmp/stderr" ||
    { cat "$tmp/stderr" >&2; fail "the error does not name the target"; }
jq -e -s '.[-1].status == "failed" and .[-1].percent < 100' "$tmp/p.json" \
    >/dev/null || fail "no final failed progress line"

serve_target
"${copy[@]}" 2>"$tmp/stderr2" || { cat "$tmp/stderr2" >&2; fail "the rerun failed"; }
check_same "$ref_uri" "$tmp/target.img"
