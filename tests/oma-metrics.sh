#!/usr/bin/env bash
# cbtrack oma: GET /metrics has the poll cycles (a histogram), poll errors
# and reachability by VMA, jobs by status, finished and dead jobs, the
# database write time and the active jobs' progress, with Prometheus'
# naming, and passes promtool check metrics.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl

start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma
start_service oma_pid port "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --vma "http://127.0.0.1:$vma" \
    --vma http://127.0.0.1:9 --poll-interval 0.2 --dead-timeout 2

metrics () { curl -sf "http://127.0.0.1:$port/metrics" >"$tmp/m"; }
has () { metrics && grep -qxF -- "$1" "$tmp/m"; }

vma_update "$vma" run-1 d1 in_progress 250 1000
vma_update "$vma" done-1 d1 in_progress 10 100
vma_update "$vma" stale-1 d1 in_progress 1 100
wait_for 20 has 'cbtrack_oma_job_transferred_bytes_total{job_id="run-1"} 250' ||
    { cat "$tmp/m" >&2; fail "run-1 progress"; }
has 'cbtrack_oma_job_total_bytes{job_id="run-1"} 1000' || fail "run-1 total"
has 'cbtrack_oma_job_progress_ratio{job_id="run-1"} 0.250000' ||
    fail "run-1 ratio"
vma_update "$vma" done-1 d1 completed 100 100
wait_for 20 has 'cbtrack_oma_jobs_finished_total{status="completed"} 1' ||
    fail "done-1 not counted"
grep -q 'job_id="done-1"' "$tmp/m" && fail "a finished job keeps series"
# Keep run-1 alive (its bytes moving: a job whose bytes stand still dies
# of "no progress") while stale-1 goes silent and dies.
for i in $(seq 100); do
    vma_update "$vma" run-1 d1 in_progress $(( 250 + i )) 1000
    has 'cbtrack_oma_dead_jobs_total 1' && break
    sleep 0.2
done
has 'cbtrack_oma_dead_jobs_total 1' || { cat "$tmp/m" >&2; fail "no dead"; }
has 'cbtrack_oma_jobs_finished_total{status="failed"} 1' || fail "failed"
has 'cbtrack_oma_jobs{status="replicating"} 1' || fail "jobs by status"
has "cbtrack_oma_vma_up{vma=\"http://127.0.0.1:$vma\"} 1" || fail "vma up"
has 'cbtrack_oma_vma_up{vma="http://127.0.0.1:9"} 0' || fail "vma down"
grep -qE '^cbtrack_oma_poll_errors_total\{vma="http://127.0.0.1:9"\} [1-9]' \
    "$tmp/m" || fail "no poll errors for the unreachable VMA"
grep -qE '^cbtrack_oma_poll_cycle_duration_seconds_count [1-9]' "$tmp/m" ||
    fail "no cycle histogram"
grep -qE '^cbtrack_oma_poll_cycle_duration_seconds_bucket\{le="\+Inf"\} ' \
    "$tmp/m" || fail "no +Inf bucket"
grep -qE '^cbtrack_oma_db_write_duration_seconds_count [1-9]' "$tmp/m" ||
    fail "no write histogram"
grep -qx 'cbtrack_oma_poll_interval_seconds 0.2' "$tmp/m" || fail "interval"
grep -qx 'cbtrack_build_info{version="0.1.0",component="oma"} 1' "$tmp/m" ||
    fail "build info"
grep -q '^process_resident_memory_bytes ' "$tmp/m" || fail "process metrics"
if command -v promtool >/dev/null; then
    promtool check metrics <"$tmp/m" || fail "promtool check metrics"
fi
stop_service "$oma_pid" "$tmp/oma.log"
