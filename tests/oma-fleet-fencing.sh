#!/usr/bin/env bash
# Fencing: an OMA stopped (SIGSTOP) between fetching a job and writing it,
# and resumed after its lease expired and another OMA took the job over,
# writes nothing: the row keeps what its successor wrote.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq
requires command -v python3

start_mariadb db
start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma
# A VMA that accepts and never answers, counting its connections: a's
# fetches of its job last a's whole HTTP timeout (its 3 s interval), so
# a can be stopped while it holds the other job's answer unwritten.
start_silent_server silent "$tmp/silent.accepts"

opts=(--db "$db_url" --allow-vma "127.0.0.1:*" --lease 5 --dead-timeout 120)
start_service a_pid a_port "$tmp/a.log" "$CBTRACK" oma "${opts[@]}" \
    --node-id a --poll-interval 3
vma_update "$vma" f1 d1 in_progress 30 100
for job in "f1 $vma" "s1 $silent"; do
    set -- $job
    curl -sf -o /dev/null -X POST -d "{\"id\":\"$1\",\"vma_url\":\"http://127.0.0.1:$2\"}" \
        "http://127.0.0.1:$a_port/api/v1/replications" || fail "register $1"
done
a_has_f1 () { row_is f1 "replicating|30|30|100" && all_polled_by "$a_port" a 2; }
wait_for 30 a_has_f1 || fail "a does not poll f1: $(row f1)"
start_service b_pid b_port "$tmp/b.log" "$CBTRACK" oma "${opts[@]}" \
    --node-id b --poll-interval 0.3

# a fetches f1 at 40 in its next cycle, and is stopped while it waits
# for s1.
vma_update "$vma" f1 d1 in_progress 40 100
n=$(wc -l <"$tmp/silent.accepts")
new_accept () { [ "$(wc -l <"$tmp/silent.accepts")" -gt "$n" ]; }
wait_for 30 new_accept || fail "a does not poll s1"
sleep 0.5
kill -STOP "$a_pid"
cleanup_fn kill -CONT "$a_pid"
vma_update "$vma" f1 d1 in_progress 70 100
b_has_f1 () { row_is f1 "replicating|70|70|100" && all_polled_by "$b_port" b 2; }
wait_for 30 b_has_f1 || fail "b did not take f1 over: $(row f1)"

# a wakes up holding f1 at 40: its write changes nothing.
kill -CONT "$a_pid"
wait_for 30 grep -q "lease of node a.* is lost" "$tmp/a.log" ||
    { cat "$tmp/a.log" >&2; fail "a did not notice its lost lease"; }
row_is f1 "replicating|70|70|100" || fail "a overwrote f1: $(row f1)"
[ "$(mariadb_query "$db" "SELECT COUNT(*) FROM replication_progress_history
     WHERE job_id = 'f1' AND bytes_transferred = 40")" = 0 ] ||
    fail "a wrote a sample of f1 at 40"
vma_update "$vma" f1 d1 completed 100 100
wait_for 30 row_is f1 "completed|100|100|100" || fail "f1: $(row f1)"
stop_service "$a_pid" "$tmp/a.log"
stop_service "$b_pid" "$tmp/b.log"
