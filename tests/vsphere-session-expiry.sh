#!/usr/bin/env bash
# The session expires in the middle of paging (the peer refuses every
# third QueryChangedDiskAreas with NotAuthenticated and forgets the
# session): cbtrack logs in again and goes on, and the copy is whole.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/incremental-functions.sh"
. "$SRCDIR/tests/vsphere-functions.sh"
vs_requires
make_tmpdir

size=$(( 64 * 1024 * 1024 ))
inc_make_base "$tmp/disk.qcow2" "$size"
inc_serve srv "$tmp/disk.qcow2"
vs_areas_allocated "$srv_uri" 2000
[ "$(jq length "$tmp/areas/2000-all.json")" -ge 4 ] ||
    fail "test set-up: too few areas"
vs_start_peer -disks "$size" -page-areas 1 -expire-after 3

"$CBTRACK" copy "${vs_conn[@]}" --vm "$VS_VM" --disk-key 2000 \
    --progress-json=3 "$srv_uri" "$tmp/target.img" \
    3>"$tmp/progress.json" >/dev/null 2>"$tmp/stderr" ||
    { cat "$tmp/stderr" >&2; fail "copy"; }
check_same "$srv_uri" "$tmp/target.img"
check_progress_json "$tmp/progress.json" "$(vs_data_bytes "$srv_uri")"
grep -q 'session expired' "$vs_log" || fail "the session never expired"
