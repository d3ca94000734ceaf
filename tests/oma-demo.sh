#!/usr/bin/env bash
# make demo, shortened (CBTRACK_DEMO_FAST=1): it runs to the end, its
# printed rows show both disks of both jobs 100 % completed, and it leaves
# nothing running.
. "$SRCDIR/tests/functions.sh"
requires nbdkit --version
requires command -v sqlite3
requires command -v jq
"$CBTRACK" copy --help 2>&1 | grep -q -- '--manifest' || {
    echo "$0: test skipped: cbtrack copy has no --manifest yet" >&2
    exit 77
}
make_tmpdir

CBTRACK_DEMO_FAST=1 CBTRACK_DEMO_PORT=0 TMPDIR="$tmp" \
    timeout 150 "$SRCDIR/scripts/demo" >"$tmp/out" 2>&1 || {
    cat "$tmp/out" >&2
    fail "the demo failed"
}
cat "$tmp/out"

for job in demo-full demo-incr; do
    grep -Eq "^$job +demo-web01 +(full|incremental) +completed +100\.0 " \
        "$tmp/out" || fail "job row of $job"
    for disk in disk-1 disk-2; do
        grep -Eq "^$job +$disk +completed +100\.0 " "$tmp/out" ||
            fail "disk row of $job/$disk"
    done
done
grep -q "both targets equal their sources again" "$tmp/out" ||
    fail "the incremental copy was not verified"
grep -Eq "Web UI: http://127\.0\.0\.1:[0-9]+/" "$tmp/out" || fail "no UI URL"
# Everything the demo started is gone, and so is its directory.
ls "$tmp" | grep -q cbtrack-demo && fail "the demo left its directory"
pgrep -f "$tmp/cbtrack-demo" >/dev/null && fail "the demo left processes"
exit 0
