#!/usr/bin/env bash
# cbtrack copy reporting to a real cbtrack vma: single disks, a 3-disk
# manifest, a VMA that is down for the whole copy, and one restarted in
# the middle of a copy.
. "$(dirname "$0")/functions.sh" || exit 1
. "$(dirname "$0")/vma-functions.sh" || exit 1
requires nbdkit --version
requires curl --version
requires jq --version
make_tmpdir

job_json () { curl -sf "$vma_url/api/v1/progress/$1"; }

start_vma

# One disk: the VMA's total is the plan's, and the end is 100 % completed.
start_nbdkit a sparse-random size=128M seed=21 percent=15
total_a=$(plan_value "$a_uri" transfer_bytes)
"$CBTRACK" copy -q --vma-url "$vma_url" --job job-a --disk disk-2000 \
    "$a_uri" "$tmp/a.img"
check_same "$a_uri" "$tmp/a.img"
job_json job-a > "$tmp/a.json"
jq -e --argjson t "$total_a" '
    .status == "completed" and .percent == 100
    and .total_bytes == $t and .bytes_transferred == $t
    and .sync_type == "full"
    and (.disks | length) == 1
    and .disks[0].disk_id == "disk-2000"
    and .disks[0].total_bytes == $t
    and .disks[0].status == "completed"' "$tmp/a.json" >/dev/null ||
    { cat "$tmp/a.json"; fail "single-disk job state"; }

# A failing copy ends with a failed update carrying the error.
start_nbdkit bad --filter=error pattern size=8M error-pread=EIO \
    error-pread-rate=1
expect_exit 1 "$CBTRACK" copy -q --vma-url "$vma_url" --job job-bad \
    --disk d0 "$bad_uri" "$tmp/bad.img"
job_json job-bad | jq -e '.status == "failed"
    and (.disks[0].error_message | test("Input/output error"))' >/dev/null ||
    fail "failed copy not reported as failed"

# A 3-disk manifest: the job's sums are the disks' plans.
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
job_json job-m > "$tmp/m.json"
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

# The VMA down for the whole copy: the copy succeeds all the same.
start_nbdkit d sparse-random size=64M seed=5 percent=20
"$CBTRACK" copy -q --vma-url "http://127.0.0.1:$(pick_port)" --job job-d \
    --disk d0 "$d_uri" "$tmp/d.img" || fail "copy failed with the VMA down"
check_same "$d_uri" "$tmp/d.img"

# The VMA restarted mid-copy (it keeps nothing): the job reappears with
# its full state on the next update and ends completed.
port=${vma_url##*:}
start_nbdkit slow --filter=rate sparse-random size=64M seed=6 percent=25 \
    rate=16M
total_s=$(plan_value "$slow_uri" transfer_bytes)
"$CBTRACK" copy -q --report-interval 0.5 --vma-url "$vma_url" --job job-r \
    --disk d0 "$slow_uri" "$tmp/r.img" &
copy_pid=$!
wait_for 30 sh -c "curl -sf '$vma_url/api/v1/progress/job-r' |
    jq -e '.bytes_transferred > 0'" || fail "copy did not start reporting"
stop_vma
sleep 1
start_daemon vma_pid "$CBTRACK" vma --listen "127.0.0.1:$port" \
    2>"$tmp/vma-again.log"
wait_for 30 curl -sf "$vma_url/healthz" || fail "VMA did not restart"
# Before the copy ends, the job is back with its total.
wait_for 30 sh -c "curl -sf '$vma_url/api/v1/progress/job-r' |
    jq -e --argjson t $total_s '.total_bytes == \$t'" ||
    fail "job did not reappear after the VMA restart"
wait "$copy_pid" || fail "copy failed across a VMA restart"
check_same "$slow_uri" "$tmp/r.img"
job_json job-r | jq -e --argjson t "$total_s" \
    '.status == "completed" and .bytes_transferred == $t' >/dev/null ||
    fail "job not completed after the VMA restart"
