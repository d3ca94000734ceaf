#!/usr/bin/env bash
# A slow vSphere: every QueryChangedDiskAreas answer takes 1.5 s.  Within
# --vsphere-timeout the copy waits and is whole; with a bound shorter than
# one answer it stops with one line naming the timeout, and writes nothing.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/incremental-functions.sh"
. "$SRCDIR/tests/vsphere-functions.sh"
vs_requires
make_tmpdir

size=$(( 64 * 1024 * 1024 ))
inc_make_base "$tmp/disk.qcow2" "$size"
inc_serve srv "$tmp/disk.qcow2"
vs_areas_allocated "$srv_uri" 2000
vs_start_peer -disks "$size" -slow 1.5s

expect_exit 1 "$CBTRACK" copy "${vs_conn[@]}" --vsphere-timeout 0.5 \
    --vm "$VS_VM" --disk-key 2000 "$srv_uri" "$tmp/target.img"
[ "$(wc -l <"$tmp/stderr")" = 1 ] || { cat "$tmp/stderr" >&2; fail "not one line"; }
expect_stderr "^cbtrack copy: .*QueryChangedDiskAreas|^cbtrack copy: .*[Tt]imeout|timed out"
[ ! -e "$tmp/target.img" ] || fail "a target was created"

"$CBTRACK" copy "${vs_conn[@]}" --vsphere-timeout 10 --vm "$VS_VM" \
    --disk-key 2000 "$srv_uri" "$tmp/target.img" >/dev/null 2>"$tmp/stderr" ||
    { cat "$tmp/stderr" >&2; fail "copy with a slow server"; }
check_same "$srv_uri" "$tmp/target.img"
