#!/usr/bin/env bash
# A changeId vSphere does not know (FileFault: CBT reset) makes a full copy
# of the allocated areas, never an incremental one that misses data: with a
# warning before and in the summary, in every progress line and in the
# VMA's disk, sync_type full, the whole target equal to the source.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/incremental-functions.sh"
. "$SRCDIR/tests/vsphere-functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
vs_requires
requires curl --version
make_tmpdir
start_vma

size=$(( 64 * 1024 * 1024 ))
inc_make_base "$tmp/disk.qcow2" "$size"
inc_serve srv "$tmp/disk.qcow2"
vs_areas_allocated "$srv_uri" 2000
vs_start_peer -disks "$size"
# An earlier copy that is now stale: the target is not all zero.
qemu-img create -q -f raw "$tmp/target.img" "$size"
qemu-io -f raw -c "write -P 0x55 0 64M" "$tmp/target.img" >/dev/null

"$CBTRACK" copy "${vs_conn[@]}" --vm "$VS_VM" --disk-key 2000 \
    --since "52 63 62 74 00 00 07 d0-00 00 00 00 00 00 00 00/7" \
    --progress-json=3 --vma-url "$vma_url" --job j --disk disk-2000 \
    "$srv_uri" "$tmp/target.img" \
    3>"$tmp/progress.json" >/dev/null 2>"$tmp/stderr" ||
    { cat "$tmp/stderr" >&2; fail "copy"; }
check_same "$srv_uri" "$tmp/target.img"
check_progress_json "$tmp/progress.json" "$(vs_data_bytes "$srv_uri")"
jq -e -s 'all(.[]; .sync_type == "full"
    and (.warning | test("does not know changeId")))' "$tmp/progress.json" \
    >/dev/null || fail "the fallback is not reported as a full copy"
curl -sf "$vma_url/api/v1/progress/j" >"$tmp/job.json"
jq -e '.sync_type == "full" and .status == "completed"
    and (.disks[0].warning | test("does not know changeId"))' \
    "$tmp/job.json" >/dev/null || { cat "$tmp/job.json" >&2; fail "VMA: warning"; }
[ "$(grep -c 'WARNING: .*does not know changeId' "$tmp/stderr")" = 2 ] ||
    { cat "$tmp/stderr" >&2; fail "the warning is missing"; }
grep -q 'FileFault' "$vs_log" || fail "the peer was not asked the changeId"

# A changeId of another change-tracking epoch (CBT was reset: its UUID
# part differs) is not even asked: a full copy again, with the warning.
rm -f "$tmp/target.img"
: >"$vs_log"
"$CBTRACK" copy "${vs_conn[@]}" --vm "$VS_VM" --disk-key 2000 \
    --since "52 00 00 00 00 00 00 00-00 00 00 00 00 00 00 00/7" \
    "$srv_uri" "$tmp/target.img" >/dev/null 2>"$tmp/stderr" ||
    { cat "$tmp/stderr" >&2; fail "copy (reset epoch)"; }
check_same "$srv_uri" "$tmp/target.img"
grep -q 'WARNING: changed block tracking of disk 2000 was reset' \
    "$tmp/stderr" || { cat "$tmp/stderr" >&2; fail "no reset warning"; }
grep -q 'FileFault' "$vs_log" && fail "the stale changeId was sent"
grep -q 'changeId=\* ' "$vs_log" || fail "changeId * was not asked"
