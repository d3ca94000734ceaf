#!/usr/bin/env bash
# A takeover does not wait for the survivor's next poll cycle: with a poll
# interval of an hour, the jobs of an OMA killed (kill -9) are claimed and
# polled by the other once the dead one's lease expired, because the
# survivor's heartbeat finds them and starts a cycle at once.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq

start_mariadb db
start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma
jobs=4
for i in $(seq $jobs); do vma_update "$vma" "early-$i" d1 in_progress 10 100; done

opts=(--db "$db_url" --vma "http://127.0.0.1:$vma" --dead-timeout 600 -v)
start_service a_pid a_port "$tmp/a.log" "$CBTRACK" oma "${opts[@]}" \
    --node-id a --poll-interval 0.3 --lease 2
wait_for 30 all_polled_by "$a_port" a $jobs || fail "a does not poll the jobs"

# b starts while a's lease still holds (b judges it by its own lease of
# 5 s): its first cycle finds nothing to claim, and its next one is an
# hour away.
kill -9 "$a_pid"
start_service b_pid b_port "$tmp/b.log" "$CBTRACK" oma "${opts[@]}" \
    --node-id b --poll-interval 3600 --lease 5
first_cycle () { grep -q "poll cycle:" "$tmp/b.log"; }
wait_for 30 first_cycle || fail "b does not cycle: $(cat "$tmp/b.log")"
grep -m1 "poll cycle:" "$tmp/b.log" | grep -q " 0 active," ||
    fail "b claimed a's jobs before a's lease expired: $(grep -m1 'poll cycle:' "$tmp/b.log")"

for i in $(seq $jobs); do vma_update "$vma" "early-$i" d1 in_progress 60 100; done
taken ()
{
    all_polled_by "$b_port" b $jobs &&
        [ "$(mariadb_query "$db" "SELECT COUNT(*) FROM replication_jobs
             WHERE bytes_transferred = 60 AND status = 'replicating'")" = $jobs ]
}
wait_for 40 taken || { owners "$b_port" >&2; fail "b did not take a's jobs over before its next cycle"; }
grep -q "jobs of an expired lease: claiming them now" "$tmp/b.log" ||
    fail "b's log does not say why it cycled early"
grep -q "declared dead" "$tmp/b.log" && fail "a job died with its poller"
stop_service "$b_pid" "$tmp/b.log"
