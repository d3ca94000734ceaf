#!/usr/bin/env bash
# A full copy from vSphere: changeId "*" lists the allocated areas, the
# plan is those areas intersected with the source's base:allocation, the
# total is exactly the data bytes, the target equals the source, and the
# disk's new changeId (the snapshot's) is printed.
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
vs_start_peer -disks "$size"
vs_areas_allocated "$srv_uri" 2000

snap=$(vs_snapshot_create) || fail "snapshot create"
want=$(vs_data_bytes "$srv_uri")
"$CBTRACK" copy "${vs_conn[@]}" --vm "$VS_VM" --disk-key 2000 \
    --snapshot "$snap" --progress-json=3 --vma-url "$vma_url" --job j \
    --disk disk-2000 "$srv_uri" "$tmp/target.img" \
    3>"$tmp/progress.json" >"$tmp/stdout" 2>"$tmp/stderr" ||
    { cat "$tmp/stderr" >&2; fail "copy"; }
check_same "$srv_uri" "$tmp/target.img"
check_progress_json "$tmp/progress.json" "$want"
jq -e -s 'last.sync_type == "full"' "$tmp/progress.json" >/dev/null ||
    fail "not a full copy"
change_id=$(vs_change_id 2000)
[ "$(cat "$tmp/stdout")" = "$change_id" ] ||
    fail "printed changeId '$(cat "$tmp/stdout")', want '$change_id'"
grep -q 'changeId=\* ' "$vs_log" || fail "changeId * was not asked"
# The changeId is in the completed progress lines (only) and in the VMA's
# disk.
jq -e -s --arg c "$change_id" 'last.change_id == $c
    and all(.[]; .status == "completed" or (has("change_id") | not))' \
    "$tmp/progress.json" \
    >/dev/null || { tail -3 "$tmp/progress.json" >&2; fail "progress JSON: change_id"; }
curl -sf "$vma_url/api/v1/progress/j" >"$tmp/job.json"
jq -e --arg c "$change_id" --argjson t "$want" '.status == "completed"
    and .total_bytes == $t and .disks[0].change_id == $c' "$tmp/job.json" \
    >/dev/null || { cat "$tmp/job.json" >&2; fail "VMA: change_id"; }
