#!/usr/bin/env bash
# More than 2000 changed areas: the peer answers at most 2000 per call and
# (second run) windows of 4 MiB, some of them empty; the copy pages to the
# disk's end and misses nothing.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/incremental-functions.sh"
. "$SRCDIR/tests/vsphere-functions.sh"
vs_requires
make_tmpdir

size=$(( 32 * 1024 * 1024 ))
img="$tmp/disk.qcow2"
qemu-img create -q -f qcow2 -o cluster_size=4096 "$img" "$size"
# 2500 separate 4 KiB writes (clusters), one every 8 KiB, with nothing
# from 4 MiB to 12 MiB (a whole empty window in the middle) and nothing
# above 28 MiB.
python3 -c '
for i in range(2500):
    off = i * 8192
    if off >= 4 << 20:
        off += 8 << 20
    print("write -P %d %d 4096" % (i % 255 + 1, off))' >"$tmp/cmds"
mapfile -t cmds <"$tmp/cmds"
inc_write "$img" "${cmds[@]}"
inc_serve srv "$img"
vs_areas_allocated "$srv_uri" 2000
[ "$(jq length "$tmp/areas/2000-all.json")" -gt 2000 ] ||
    fail "test set-up: not more than 2000 areas"
want=$(vs_data_bytes "$srv_uri")

run=0
for peer_args in "" "-page-bytes 4194304"; do
    run=$(( run + 1 ))
    # shellcheck disable=SC2086
    vs_start_peer -disks "$size" $peer_args
    rm -f "$tmp/target-$run.img"
    "$CBTRACK" copy "${vs_conn[@]}" --vm "$VS_VM" --disk-key 2000 \
        --progress-json=3 "$srv_uri" "$tmp/target-$run.img" \
        3>"$tmp/progress-$run.json" >/dev/null 2>"$tmp/stderr" ||
        { cat "$tmp/stderr" >&2; fail "copy (run $run)"; }
    check_same "$srv_uri" "$tmp/target-$run.img"
    check_progress_json "$tmp/progress-$run.json" "$want"
    calls=$(grep -c '^QueryChangedDiskAreas key=2000 changeId=\*' "$vs_log")
    [ "$calls" -ge 2 ] || fail "run $run: $calls calls, expected paging"
    if [ $run = 2 ]; then
        grep -q 'start=4194304 areas=0 ' "$vs_log" ||
            fail "no empty page was answered in the middle"
    fi
done
