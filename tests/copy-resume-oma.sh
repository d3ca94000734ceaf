#!/usr/bin/env bash
# A resumed copy continues the same job in the VMA and the OMA: after a
# SIGTERM (a final "interrupted" update) and after a kill -9 (the OMA
# judges the job dead), the same command run again moves the OMA's row
# back to replicating from the bytes already done, never from 0, and the
# job ends completed with the target equal to the source.
. "$SRCDIR/tests/functions.sh"
requires nbdkit --filter=rate null --version
requires command -v curl
requires command -v jq
make_tmpdir

start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma --sender-lease 1
start_service oma_pid oma "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --vma "http://127.0.0.1:$vma" \
    --poll-interval 0.3 --dead-timeout 3

args=(sparse-random size=48M seed=21 percent=50 runlength=64)
echo 2M >"$tmp/rate"
# -t 1: nbdkit 1.32 can crash when a client goes away mid-request with
# several threads (connections.c: raw_send_socket assertion).
start_nbdkit src -t 1 --filter=rate "${args[@]}" rate=2M rate-file="$tmp/rate"
start_nbdkit ref "${args[@]}"
copy=("$CBTRACK" copy -q --report-interval 0.3
      --vma-url "http://127.0.0.1:$vma" --job rj --disk d1
      "$src_uri" "$tmp/target.img")

oma_job () { get_json "http://127.0.0.1:$oma/api/v1/replications/rj"; }
vma_job () { get_json "http://127.0.0.1:$vma/api/v1/progress/rj"; }
oma_is () { oma_job | jq -e --arg s "$1" '.status == $s' >/dev/null; }
moving_past ()
{
    oma_job | jq -e --argjson b "$1" \
        '.status == "replicating" and .bytes_transferred > $b' >/dev/null
}
oma_bytes () { oma_job | jq -e .bytes_transferred; }

# 1. SIGTERM: the copier says it was interrupted; the job fails.
"${copy[@]}" 2>"$tmp/run1.err" &
pid=$!
cleanup_fn kill_daemon "$pid"
wait_for 30 moving_past 0 || fail "run 1 never reached the OMA"
kill -TERM "$pid"
expect_exit 1 wait "$pid"
wait_for 20 oma_is failed || fail "the OMA did not see the interruption"
before=$(oma_bytes)

# The rerun continues the job: replicating again, from where it stopped.
"${copy[@]}" 2>"$tmp/run2.err" &
pid=$!
cleanup_fn kill_daemon "$pid"
wait_for 30 moving_past "$before" ||
    { oma_job; fail "the OMA did not follow the resumed run"; }
vma_job | jq -e '.run == 2 and .resumed_bytes > 0' >/dev/null ||
    { vma_job; fail "the VMA does not show run 2 with resumed bytes"; }
grep -q "job rj continues: run 2" "$tmp/oma.log" ||
    fail "the OMA did not log the continuation"

# 2. kill -9: no last word; the OMA judges the job dead.
kill -9 "$pid"
wait "$pid" 2>/dev/null || :
wait_for 30 oma_is failed || fail "the killed run was not judged dead"
oma_job | jq -e '.error_message | test("dead")' >/dev/null ||
    fail "the dead job's reason"
before=$(oma_bytes)
[ "$before" -gt 0 ] || fail "no bytes before the kill"

# The last run, at full speed, completes the same job.
echo 1G >"$tmp/rate"
"${copy[@]}" 2>"$tmp/run3.err" || { cat "$tmp/run3.err"; fail "run 3"; }
check_same "$ref_uri" "$tmp/target.img"
wait_for 30 oma_is completed || { oma_job; fail "the job did not complete"; }
oma_job | jq -e '.bytes_transferred == .total_bytes and
    .total_bytes > 0 and .error_message == null' >/dev/null ||
    { oma_job; fail "the completed row"; }
vma_job | jq -e '.run == 3 and .status == "completed"' >/dev/null ||
    { vma_job; fail "the VMA's final run"; }
stop_service "$oma_pid" "$tmp/oma.log"
stop_service "$vma_pid" "$tmp/vma.log"
