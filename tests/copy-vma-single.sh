#!/usr/bin/env bash
# cbtrack copy reporting one disk to a real cbtrack vma: the VMA's total
# is the plan's, and the end is 100 % completed.
. "$(dirname "$0")/functions.sh" || exit 1
. "$(dirname "$0")/vma-functions.sh" || exit 1
requires nbdkit --version
requires curl --version
requires jq --version
make_tmpdir

start_vma

start_nbdkit a sparse-random size=128M seed=21 percent=15
total_a=$(plan_value "$a_uri" transfer_bytes)
"$CBTRACK" copy -q --vma-url "$vma_url" --job job-a --disk disk-2000 \
    "$a_uri" "$tmp/a.img"
check_same "$a_uri" "$tmp/a.img"
curl -sf "$vma_url/api/v1/progress/job-a" > "$tmp/a.json"
jq -e --argjson t "$total_a" '
    .status == "completed" and .percent == 100
    and .total_bytes == $t and .bytes_transferred == $t
    and .sync_type == "full"
    and (.disks | length) == 1
    and .disks[0].disk_id == "disk-2000"
    and .disks[0].total_bytes == $t
    and .disks[0].status == "completed"' "$tmp/a.json" >/dev/null ||
    { cat "$tmp/a.json"; fail "single-disk job state"; }
