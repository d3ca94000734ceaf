#!/usr/bin/env bash
# A manifest naming the VM and vSphere once: one snapshot for both disks,
# both analysed from their changed areas, copied, reported to a VMA with
# their new changeIds, and the snapshot removed at the end.  A second run
# with each disk's "since" is incremental.  A run that fails (a target too
# small) still removes its snapshot.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/incremental-functions.sh"
. "$SRCDIR/tests/vsphere-functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
vs_requires
requires curl --version
make_tmpdir
start_vma

s0=$(( 64 * 1024 * 1024 ))
s1=$(( 80 * 1024 * 1024 ))
inc_make_base "$tmp/d0.qcow2" "$s0"
inc_make_base "$tmp/d1.qcow2" "$s1"
vs_start_peer -disks "$s0,$s1"

# manifest FILE JOB SINCE0 SINCE1: write a manifest for both disks.
manifest ()
{
    jq -n --arg job "$2" --arg url "$vs_url" --arg tp "$vs_thumbprint" \
        --arg vm "$VS_VM" --arg vma "$vma_url" \
        --arg u0 "$d0_uri" --arg u1 "$d1_uri" --arg t0 "$tmp/t0.img" \
        --arg t1 "${T1:-$tmp/t1.img}" --arg c0 "$3" --arg c1 "$4" '
        {job_id: $job, vma_url: $vma,
         vsphere: {url: $url, user: "user", thumbprint: $tp, vm: $vm},
         disks: [
           {disk_id: "disk-2000", disk_key: 2000, since: $c0,
            source: $u0, target: $t0},
           {disk_id: "disk-2001", disk_key: 2001, since: $c1,
            source: $u1, target: $t1}]}' >"$1"
}

# The full copies (snapshot sequence 2); bitmaps start with the snapshot.
qemu-img bitmap --add "$tmp/d0.qcow2" b2
qemu-img bitmap --add "$tmp/d1.qcow2" b2
inc_serve d0 "$tmp/d0.qcow2"
inc_serve d1 "$tmp/d1.qcow2"
vs_areas_allocated "$d0_uri" 2000
vs_areas_allocated "$d1_uri" 2001
manifest "$tmp/full.json" job-full "" ""
"$CBTRACK" copy -q --manifest "$tmp/full.json" >"$tmp/ids" 2>"$tmp/stderr" ||
    { cat "$tmp/stderr" >&2; fail "full manifest copy"; }
check_same "$d0_uri" "$tmp/t0.img"
check_same "$d1_uri" "$tmp/t1.img"
grep -q '^disk-2000 52 .*/2$' "$tmp/ids" && grep -q '^disk-2001 52 .*/2$' "$tmp/ids" ||
    { cat "$tmp/ids" >&2; fail "the new changeIds were not printed"; }
[ "$(grep -c '^CreateSnapshot' "$vs_log")" = 1 ] ||
    fail "not one snapshot for the job"
[ "$(grep -c '^RemoveSnapshot' "$vs_log")" = 1 ] ||
    fail "the snapshot was not removed after success"
vs_vsphere disks --vm "$VS_VM" >"$tmp/disks"
grep -q '^snapshot' "$tmp/disks" && fail "a snapshot is left"
curl -sf "$vma_url/api/v1/progress/job-full" >"$tmp/job.json"
c0=$(sed -n 's/^disk-2000 //p' "$tmp/ids")
c1=$(sed -n 's/^disk-2001 //p' "$tmp/ids")
jq -e --arg c0 "$c0" --arg c1 "$c1" '.status == "completed"
    and ([.disks[] | {(.disk_id): .change_id}] | add)
        == {"disk-2000": $c0, "disk-2001": $c1}' "$tmp/job.json" >/dev/null ||
    { cat "$tmp/job.json" >&2; fail "VMA: the changeIds"; }

# Writes, then the incremental copies since those changeIds (sequence 3).
inc_stop d0
inc_stop d1
mapfile -t cmds < <(inc_scattered_writes "$s0" 7 20)
inc_write "$tmp/d0.qcow2" "${cmds[@]}"
mapfile -t cmds < <(inc_scattered_writes "$s1" 8 20)
inc_write "$tmp/d1.qcow2" "${cmds[@]}"
inc_serve d0 "$tmp/d0.qcow2" --bitmap=b2
inc_serve d1 "$tmp/d1.qcow2" --bitmap=b2
vs_areas_dirty "$d0_uri" b2 2000 2
vs_areas_dirty "$d1_uri" b2 2001 2
want=$(( $(inc_dirty_data_bytes "$d0_uri" b2) + $(inc_dirty_data_bytes "$d1_uri" b2) ))
manifest "$tmp/inc.json" job-inc "$c0" "$c1"
"$CBTRACK" copy -q --manifest "$tmp/inc.json" >"$tmp/ids" 2>"$tmp/stderr" ||
    { cat "$tmp/stderr" >&2; fail "incremental manifest copy"; }
check_same "$d0_uri" "$tmp/t0.img"
check_same "$d1_uri" "$tmp/t1.img"
curl -sf "$vma_url/api/v1/progress/job-inc" >"$tmp/job.json"
jq -e --argjson t "$want" '.status == "completed" and .total_bytes == $t
    and .sync_type == "incremental"' "$tmp/job.json" >/dev/null ||
    { cat "$tmp/job.json" >&2; fail "incremental job: total $want"; }
[ "$(grep -c '^RemoveSnapshot' "$vs_log")" = 2 ] ||
    fail "the second snapshot was not removed"

# A failing job (disk-2001's target is a file too small to hold it) still
# removes its snapshot.
truncate -s 1M "$tmp/small.img"
T1="$tmp/small.img" manifest "$tmp/bad.json" job-bad "" ""
expect_exit 1 "$CBTRACK" copy -q --manifest "$tmp/bad.json"
[ "$(grep -c '^CreateSnapshot' "$vs_log")" = 3 ] || fail "no third snapshot"
[ "$(grep -c '^RemoveSnapshot' "$vs_log")" = 3 ] ||
    fail "the snapshot was not removed after a failure"
vs_vsphere disks --vm "$VS_VM" >"$tmp/disks"
grep -q '^snapshot' "$tmp/disks" && fail "a snapshot is left after a failure"
exit 0
