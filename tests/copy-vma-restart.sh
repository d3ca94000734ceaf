#!/usr/bin/env bash
# The VMA restarted mid-copy (it keeps nothing): the job reappears with
# its full state on the next update and ends completed.
. "$(dirname "$0")/functions.sh" || exit 1
. "$(dirname "$0")/vma-functions.sh" || exit 1
requires nbdkit --version
requires curl --version
requires jq --version
make_tmpdir

start_vma

port=${vma_url##*:}
start_nbdkit slow --filter=rate sparse-random size=64M seed=6 percent=25 \
    rate=16M
total_s=$(plan_value "$slow_uri" transfer_bytes)
"$CBTRACK" copy -q --report-interval 0.5 --vma-url "$vma_url" --job job-r \
    --disk d0 "$slow_uri" "$tmp/r.img" &
copy_pid=$!
job_r () { get_json "$vma_url/api/v1/progress/job-r"; }
moving () { job_r | jq -e '.bytes_transferred > 0'; }
wait_for 30 moving || fail "copy did not start reporting"
stop_vma
sleep 1
# The new VMA takes the port of the old one (this is why the test runs
# alone: nothing else may take that port meanwhile).
start_daemon vma_pid "$CBTRACK" vma --listen "127.0.0.1:$port" \
    2>"$tmp/vma-again.log"
wait_for 30 curl -sf "$vma_url/healthz" || fail "VMA did not restart"
# Before the copy ends, the job is back with its total.
has_total () { job_r | jq -e --argjson t "$total_s" '.total_bytes == $t'; }
wait_for 30 has_total ||
    fail "job did not reappear after the VMA restart"
wait "$copy_pid" || fail "copy failed across a VMA restart"
check_same "$slow_uri" "$tmp/r.img"
get_json "$vma_url/api/v1/progress/job-r" | jq -e --argjson t "$total_s" \
    '.status == "completed" and .bytes_transferred == $t' >/dev/null ||
    fail "job not completed after the VMA restart"
