#!/usr/bin/env bash
# A reader of --progress-json=FD that stays but never reads (its pipe
# full) does not stall the copy: lines are dropped, that is said once,
# and the copy completes, identical, within its own time.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --filter=rate null --version
requires python3 --version
make_tmpdir

start_nbdkit src --filter=rate random size=16M seed=6 rate=32M
# The pipe holds 4 KiB and is never read: it is full after a few lines.
status=0
timeout 60 python3 - "$CBTRACK" "$src_uri" "$tmp/out.img" \
    2>"$tmp/stderr" <<'PY' || status=$?
import fcntl, os, subprocess, sys
r, w = os.pipe()
fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ
os.set_inheritable(w, True)
p = subprocess.run([sys.argv[1], "copy", "-q", "--report-interval", "0.05",
                    "--progress-json=%d" % w, sys.argv[2], sys.argv[3]],
                   pass_fds=(w,))
sys.exit(p.returncode)
PY
[ "$status" = 0 ] || { cat "$tmp/stderr" >&2; fail "copy exited $status"; }
grep -q 'warning: --progress-json (file descriptor [0-9]*): its reader has not read' \
    "$tmp/stderr" || { cat "$tmp/stderr" >&2; fail "no warning"; }
[ "$(grep -c warning "$tmp/stderr")" = 1 ] || fail "warned more than once"
check_same "$src_uri" "$tmp/out.img"
