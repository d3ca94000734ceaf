#!/usr/bin/env bash
# A 3-disk manifest reporting to a real cbtrack vma: the job's sums are
# the disks' plans, and every disk's JSON stream ends completed.
. "$(dirname "$0")/functions.sh" || exit 1
. "$(dirname "$0")/vma-functions.sh" || exit 1
requires nbdkit --version
requires curl --version
requires jq --version
make_tmpdir

start_vma

start_nbdkit m1 sparse-random size=64M seed=1 percent=10
start_nbdkit m2 sparse-random size=32M seed=2 percent=30
start_nbdkit m3 data size=1M data='( "x" ) * 5000'
cat > "$tmp/job.json" <<JSON
{ "job_id": "job-m", "disks": [
  { "disk_id": "disk-1", "source": "$m1_uri", "target": "$tmp/m1.img" },
  { "disk_id": "disk-2", "source": "$m2_uri", "target": "$tmp/m2.img" },
  { "disk_id": "disk-3", "source": "$m3_uri", "target": "$tmp/m3.img" } ] }
JSON
"$CBTRACK" copy -q --manifest "$tmp/job.json" --vma-url "$vma_url" \
    --progress-json=3 3>"$tmp/m.progress"
for i in 1 2 3; do
    v=m${i}_uri
    check_same "${!v}" "$tmp/m$i.img"
done
sum=$(( $(plan_value "$m1_uri" transfer_bytes) +
        $(plan_value "$m2_uri" transfer_bytes) +
        $(plan_value "$m3_uri" transfer_bytes) ))
curl -sf "$vma_url/api/v1/progress/job-m" > "$tmp/m.json"
jq -e --argjson t "$sum" '
    .status == "completed" and .percent == 100
    and .total_bytes == $t and .bytes_transferred == $t
    and (.disks | length) == 3
    and ([.disks[].total_bytes] | add) == $t
    and (.disks | all(.status == "completed"))' "$tmp/m.json" >/dev/null ||
    { cat "$tmp/m.json"; fail "manifest job sums"; }
# Every disk's JSON stream names its disk and ends completed.
for i in 1 2 3; do
    jq -e -s --arg d "disk-$i" 'map(select(.disk_id == $d))
        | length >= 2 and .[-1].status == "completed"' "$tmp/m.progress" \
        >/dev/null || fail "progress stream of disk-$i"
done
