#!/usr/bin/env bash
# The changeId chain: a full copy, then three incremental copies with
# writes between them, each from a new snapshot and since the changeId the
# copy before it printed.  vSphere's changed areas come from a qcow2 dirty
# bitmap started at each snapshot, so they and the bytes agree; each
# total is changed ∩ data and each target equals the source.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/incremental-functions.sh"
. "$SRCDIR/tests/vsphere-functions.sh"
vs_requires
make_tmpdir

size=$(( 64 * 1024 * 1024 ))
img="$tmp/disk.qcow2"
inc_make_base "$img" "$size"
vs_start_peer -disks "$size"

# The full copy, at the snapshot whose changeId has sequence 2.
snap=$(vs_snapshot_create) || fail "snapshot create"
qemu-img bitmap --add "$img" b2
inc_serve srv "$img"
vs_areas_allocated "$srv_uri" 2000
"$CBTRACK" copy "${vs_conn[@]}" --vm "$VS_VM" --disk-key 2000 \
    --snapshot "$snap" "$srv_uri" "$tmp/target.img" \
    >"$tmp/change-id" 2>"$tmp/stderr" ||
    { cat "$tmp/stderr" >&2; fail "full copy"; }
check_same "$srv_uri" "$tmp/target.img"
inc_stop srv
vs_vsphere snapshot remove --snapshot "$snap" || fail "snapshot remove"

for seq in 3 4 5; do
    prev=$(( seq - 1 ))
    mapfile -t cmds < <(inc_scattered_writes "$size" "$seq" 30)
    inc_write "$img" "${cmds[@]}"
    snap=$(vs_snapshot_create) || fail "snapshot create $seq"
    qemu-img bitmap --add "$img" "b$seq"
    inc_serve srv "$img" --bitmap="b$prev"
    vs_areas_dirty "$srv_uri" "b$prev" 2000 "$prev"
    want=$(inc_dirty_data_bytes "$srv_uri" "b$prev")
    since=$(cat "$tmp/change-id")
    case "$since" in */"$prev") ;; *) fail "changeId '$since' is not /$prev" ;; esac
    "$CBTRACK" copy "${vs_conn[@]}" --vm "$VS_VM" --disk-key 2000 \
        --snapshot "$snap" --since "$since" --progress-json=3 \
        "$srv_uri" "$tmp/target.img" \
        3>"$tmp/progress-$seq.json" >"$tmp/change-id" 2>"$tmp/stderr" ||
        { cat "$tmp/stderr" >&2; fail "incremental copy $seq"; }
    inc_check_progress_json "$tmp/progress-$seq.json" "$want"
    check_same "$srv_uri" "$tmp/target.img"
    inc_stop srv
    vs_vsphere snapshot remove --snapshot "$snap" || fail "snapshot remove"
done
