#!/usr/bin/env bash
# SIGTERM while the target file's filesystem is frozen (fsfreeze): the
# file's writer is stuck in the kernel with writes queued behind it.  The
# copy drains for its 2 s, gives up the stuck requests, and exits 1 once
# the filesystem thaws, having dropped the queued writes before their
# buffers were freed (the sanitized build reports a use after free
# otherwise).  The same command then completes the copy, exact.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --filter=rate null --version
requires mkfs.ext4 -V
requires losetup --version
requires command -v fsfreeze
requires jq --version
requires test "$(id -u)" = 0
make_tmpdir

mount_loop_ext4 "$tmp/mnt" 300M
# Whatever happens, the filesystem is not left frozen.
cleanup_fn fsfreeze -u "$tmp/mnt"
start_nbdkit src --filter=rate sparse-random size=64M seed=17 percent=60 \
    rate=32M
start_nbdkit ref sparse-random size=64M seed=17 percent=60
copy=("$CBTRACK" copy -q --job frozen --disk d1 "$src_uri" "$tmp/mnt/t.img")

"${copy[@]}" --progress-json=3 3>"$tmp/p.json" 2>"$tmp/stderr" &
pid=$!
cleanup_fn kill_daemon "$pid"
wait_for 30 jq -e -s 'map(.bytes_transferred) | max > 2000000' \
    "$tmp/p.json" >/dev/null || fail "the copy did not move"
fsfreeze -f "$tmp/mnt"
sleep 1
kill -TERM "$pid"
# Past the drain: the copy has given up the writes it waits for, and is
# held only by the one the kernel holds.
sleep 4
kill -0 "$pid" 2>/dev/null || fail "the copy ended on a frozen filesystem"
fsfreeze -u "$tmp/mnt"
wait_for 30 sh -c "! kill -0 $pid 2>/dev/null" ||
    fail "the copy did not end after the thaw"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 1 ] || { cat "$tmp/stderr" >&2; fail "exit $rc, not 1"; }
grep -q 'interrupted by SIGTERM' "$tmp/stderr" ||
    { cat "$tmp/stderr" >&2; fail "no interruption message"; }

"${copy[@]}" 2>"$tmp/stderr2" || { cat "$tmp/stderr2" >&2; fail "the rerun failed"; }
check_same "$ref_uri" "$tmp/mnt/t.img"
