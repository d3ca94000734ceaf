#!/usr/bin/env bash
# A 2-disk manifest job killed with SIGKILL at ten random moments, each
# time run again with the same command: each disk resumes where it
# stopped, a disk that completed stays completed (it is not copied
# again), both targets end equal to their sources, and the bytes read
# over all runs stay close to the plans' totals.
. "$(dirname "$0")/functions.sh" || exit 1
. "$(dirname "$0")/resume-functions.sh" || exit 1
requires nbdkit --version
requires python3 --version
requires jq --version
make_tmpdir

a1=(sparse-random size=48M seed=21 percent=25 runlength=65536)
a2=(sparse-random size=96M seed=22 percent=60)
# -t 1: nbdkit 1.32 can abort when a client dies with replies in flight.
start_nbdkit s1 -t 1 --filter=log --filter=rate "${a1[@]}" rate=40M \
    logfile="$tmp/s1.log"
start_nbdkit s2 -t 1 --filter=log --filter=rate "${a2[@]}" rate=40M \
    logfile="$tmp/s2.log"
start_nbdkit r1 "${a1[@]}"
start_nbdkit r2 "${a2[@]}"
p1=$(plan_value "$r1_uri" transfer_bytes)
p2=$(plan_value "$r2_uri" transfer_bytes)
cat > "$tmp/job.json" <<JSON
{ "job_id": "job-k", "disks": [
  { "disk_id": "disk-1", "source": "$s1_uri", "target": "$tmp/t1.img" },
  { "disk_id": "disk-2", "source": "$s2_uri", "target": "$tmp/t2.img" } ] }
JSON

resume_kill_loop 10 "$CBTRACK" copy -q --report-interval 0.2 \
    --progress-json=3 --manifest "$tmp/job.json"
echo "disk-1:"
check_overhead "$(read_bytes "$tmp/s1.log")" "$p1" "$resume_runs"
echo "disk-2:"
check_overhead "$(read_bytes "$tmp/s2.log")" "$p2" "$resume_runs"
check_same "$r1_uri" "$tmp/t1.img"
check_same "$r2_uri" "$tmp/t2.img"
[ -z "$(ls -A "$XDG_STATE_HOME/cbtrack")" ] || fail "a checkpoint was left"

# Disk 1 is small: it completed in an early run, and every later run
# showed it completed from its first line, moving nothing.
first=0
for (( i=1; i <= resume_runs; i++ )); do
    if jq -e -s 'map(select(.disk_id == "disk-1")) | .[0]
            | .stage == "Resume" and .total_bytes > 0
              and .resumed_bytes == .total_bytes' "$tmp/run-$i.json" \
            >/dev/null 2>&1; then
        first=$i
        break
    fi
done
[ "$first" -gt 0 ] || fail "disk-1 never resumed completed"
for (( i=first; i <= resume_runs; i++ )); do
    jq -e -s 'map(select(.disk_id == "disk-1"))
        | all(.resumed_bytes == .total_bytes and .bytes_written == 0)' \
        "$tmp/run-$i.json" >/dev/null || fail "run $i copied disk-1 again"
done
echo "disk-1 completed before run $first and stayed completed"
