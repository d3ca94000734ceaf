# Sourced by the console's browser tests: a VMA and an OMA (SQLite) that
# hold one job in each state the console must tell apart.
#   job-dead   db07    failed by the OMA: its copier stopped reporting
#   job-run    web02   replicating, live: a loop posts 50 MiB/s
#   job-stall  app03   replicating, but the copier says it is stalled
#   job-fail   db08    failed on the VMA (write error)
#   job-full   web01   completed full sync, disks with changeIds
#   job-incr   web01   completed incremental sync
#   job-evil   HOSTILE replicating (live), a name made to break HTML
#                      and CSV
# Sets $oma (port), $oma_pid, $runner_pid, $HOSTILE.  Needs functions.sh.
G=$((1024 * 1024 * 1024))
M=$((1024 * 1024))
HOSTILE="=cmd|' /C calc'!A0<img src=x onerror=alert(1)>"

start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma
VMA="http://127.0.0.1:$vma"

register ()
{
    curl -sf -o /dev/null -X POST --data-binary "$1" \
        "http://127.0.0.1:$oma/api/v1/replications" || fail "register $1"
}
update ()
{
    curl -sf -o /dev/null -X POST --data-binary "$2" \
        "$VMA/api/v1/progress/$1/update" || fail "update $1: $2"
}
disk_update ()  # JOB DISK STATUS DONE TOTAL [EXTRA-JSON]
{
    update "$1" "{\"disk_id\":\"$2\",\"stage\":\"Transfer\",
        \"status\":\"$3\",\"bytes_transferred\":$4,\"total_bytes\":$5,
        \"throughput_bps\":$((50 * M))${6:+,$6}}"
}
job_is ()  # JOB STATUS
{
    curl -sf "http://127.0.0.1:$oma/api/v1/replications/$1" |
        jq -e --arg s "$2" '.status == $s' >/dev/null
}

# Phase 1: a short dead timeout kills job-dead.
start_service oma_pid oma "$tmp/oma-1.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/ui.db" --vma "$VMA" --poll-interval 0.3 \
    --dead-timeout 2
register '{"id":"job-dead","source_vm_name":"db07","disks":["disk-0"]}'
disk_update job-dead disk-0 in_progress $((1 * G)) $((4 * G))
wait_for 60 job_is job-dead failed || fail "job-dead did not die"
stop_service "$oma_pid" "$tmp/oma-1.log"

# Phase 2: nothing else dies during the test.
start_service oma_pid oma "$tmp/oma-2.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/ui.db" --vma "$VMA" --poll-interval 0.3 \
    --dead-timeout 1h
register '{"id":"job-run","source_vm_name":"web02","disks":["disk-0","disk-1"]}'
register '{"id":"job-stall","source_vm_name":"app03","disks":["disk-0"]}'
register '{"id":"job-fail","source_vm_name":"db08","disks":["disk-0"]}'
register '{"id":"job-full","source_vm_name":"web01","disks":["disk-0","disk-1"]}'
sleep 1.1 # the incremental is created after the full copy (seconds)
register '{"id":"job-incr","source_vm_name":"web01","replication_type":"incremental","disks":["disk-0","disk-1"]}'
register "$(jq -cn --arg n "$HOSTILE" '{id:"job-evil",source_vm_name:$n,disks:["disk-0"]}')"

# The two syncs of web01 run, then complete with changeIds.
type_of () { [ "$1" = job-incr ] && echo incremental || echo full; }
for j in job-full job-incr; do
    t="\"sync_type\":\"$(type_of $j)\""
    disk_update $j disk-0 in_progress $((1 * G)) $((8 * G)) "$t"
    disk_update $j disk-1 in_progress $((1 * G)) $((2 * G)) "$t"
done
wait_for 30 job_is job-full replicating || fail "job-full did not start"
wait_for 30 job_is job-incr replicating || fail "job-incr did not start"
sleep 1.5 # a duration the average can be computed over
n=0
for j in job-full job-incr; do
    n=$((n + 1))
    t="\"sync_type\":\"$(type_of $j)\""
    disk_update $j disk-0 completed $((8 * G)) $((8 * G)) \
        "\"change_id\":\"52 3f 1a 9c-$n/0\",$t"
    disk_update $j disk-1 completed $((2 * G)) $((2 * G)) \
        "\"change_id\":\"52 3f 1a 9d-$n/1\",$t"
done

disk_update job-fail disk-0 in_progress $((3 * G)) $((6 * G))
wait_for 30 job_is job-fail replicating || fail "job-fail did not start"
update job-fail '{"disk_id":"disk-0","stage":"Transfer","status":"failed",
    "bytes_transferred":3221225472,"total_bytes":6442450944,
    "error_message":"write error at 3221225472: No space left on device"}'
disk_update job-stall disk-0 in_progress $((5 * G)) $((10 * G)) \
    '"stalled":true,"stalled_seconds":30'
disk_update job-evil disk-0 in_progress $((G / 2)) $((400 * G))

# job-run moves for the whole test (25 MiB every half second), and
# job-evil with it.
(
    b=$((2 * G))
    while :; do
        b=$((b + 25 * M))
        for d in disk-0 disk-1; do
            curl -sf -o /dev/null -X POST --data-binary \
                "{\"disk_id\":\"$d\",\"stage\":\"Transfer\",
                  \"status\":\"in_progress\",\"bytes_transferred\":$b,
                  \"total_bytes\":$((100 * G)),\"throughput_bps\":$((25 * M)),
                  \"eta_seconds\":3600}" \
                "$VMA/api/v1/progress/job-run/update" || exit 0
        done
        curl -sf -o /dev/null -X POST --data-binary \
            "{\"disk_id\":\"disk-0\",\"stage\":\"Transfer\",
              \"status\":\"in_progress\",\"bytes_transferred\":$((b / 4)),
              \"total_bytes\":$((400 * G)),\"throughput_bps\":$((6 * M))}" \
            "$VMA/api/v1/progress/job-evil/update" || exit 0
        sleep 0.5
    done
) &
runner_pid=$!
cleanup_fn kill "$runner_pid"

ready ()
{
    job_is job-full completed && job_is job-incr completed &&
    job_is job-fail failed && job_is job-run replicating &&
    job_is job-evil replicating &&
    curl -sf "http://127.0.0.1:$oma/api/v1/replications/job-stall" |
        jq -e '.stalled == true' >/dev/null &&
    curl -sf "http://127.0.0.1:$oma/api/v1/replications/job-run" |
        jq -e '.history | length >= 3' >/dev/null
}
wait_for 60 ready || {
    curl -s "http://127.0.0.1:$oma/api/v1/replications" >&2
    fail "the fixture's jobs did not reach their states"
}
