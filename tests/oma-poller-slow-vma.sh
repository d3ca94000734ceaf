#!/usr/bin/env bash
# cbtrack oma's poller: a VMA that answers every job, only slowly, keeps
# every job alive.  150 jobs answered in 0.3 s each, polled every second
# with a 2 s timeout: fetches waiting their turn are not timed out, and a
# poll that did not run is no evidence of death.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq
requires command -v python3
requires command -v sqlite3
requires_unsanitized

python3 "$SRCDIR/tests/helpers/slow-vma.py" "$tmp/vma.port" 0.3 &
cleanup_fn kill_daemon $!
wait_for 20 test -s "$tmp/vma.port" || fail "slow VMA did not start"
vma="http://127.0.0.1:$(cat "$tmp/vma.port")"

start_service oma_pid port "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --poll-interval 1 --dead-timeout 3 -v \
    --allow-vma "$vma"
for i in $(seq 150); do
    expect 201 POST /api/v1/replications \
        -d "{\"id\":\"job-$i\",\"vma_url\":\"$vma\"}"
done

# Six cycles after the last registration, together far longer than the
# dead timeout: a job starved every cycle would have been failed.
cycles () { grep -c 'poll cycle:' "$tmp/oma.log" || :; }
c0=$(cycles)
enough_cycles () { [ "$(cycles)" -ge $((c0 + 6)) ]; }
wait_for 120 enough_cycles ||
    fail "fewer than 6 poll cycles: $(cat "$tmp/oma.log")"
expect 200 GET /api/v1/replications
jq -e '.count == 150' "$tmp/body" >/dev/null || fail "not 150 jobs"
failed=$(jq '[.replications[] | select(.status == "failed")] | length' \
    "$tmp/body")
[ "$failed" = 0 ] || {
    jq -r '.replications[] | select(.status == "failed") | .error_message' \
        "$tmp/body" | sort | uniq -c >&2
    fail "$failed healthy jobs were marked failed"
}
replicating=$(jq '[.replications[] | select(.status == "replicating")]
    | length' "$tmp/body")
[ "$replicating" = 150 ] || fail "only $replicating jobs replicating"
stop_service "$oma_pid" "$tmp/oma.log"
