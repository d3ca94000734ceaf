#!/usr/bin/env bash
# Two OMAs on one MariaDB split the jobs with leases: each job is polled
# by one OMA only (counted at the VMA, which sees each OMA's node in its
# User-Agent), one discovers the VMA, and when one OMA is killed (kill -9) the other takes its
# jobs over: none is lost, none fails, all complete.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq
requires command -v python3

start_mariadb db
start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma
start_log_proxy proxy "$vma" "$tmp/requests"
jobs=8
for i in $(seq $jobs); do vma_update "$vma" "fleet-$i" d1 in_progress 10 100; done

opts=(--db "$db_url" --vma "http://127.0.0.1:$proxy" --poll-interval 0.3
      --lease 2 --dead-timeout 60 -v)
start_service a_pid a_port "$tmp/a.log" "$CBTRACK" oma "${opts[@]}" --node-id a
start_service b_pid b_port "$tmp/b.log" "$CBTRACK" oma "${opts[@]}" --node-id b

# Both poll, half each (the first to join gives back what exceeds its
# share), and every OMA's API shows the whole fleet.
split () { all_polled_by "$a_port" a $((jobs / 2)) && all_polled_by "$a_port" b $((jobs / 2)); }
wait_for 30 split || { owners "$a_port" >&2; fail "the jobs are not split"; }
[ "$(owners "$a_port")" = "$(owners "$b_port")" ] || fail "the OMAs disagree"
curl -sf "http://127.0.0.1:$b_port/api/v1/nodes" >"$tmp/nodes.json"
jq -e '[.nodes[] | select(.alive) | .node_id] == ["a", "b"]
       and ([.nodes[].jobs] | add) == '$jobs "$tmp/nodes.json" >/dev/null ||
    fail "nodes: $(cat "$tmp/nodes.json")"

# Each job is asked for by the OMA that holds it, never by the other,
# over many cycles of both.
owners "$a_port" >"$tmp/owners-before"
: >"$tmp/requests"
polled () { [ "$(grep -c '/progress/fleet-' "$tmp/requests")" -ge $((jobs * 10)) ]; }
wait_for 30 polled || fail "the OMAs do not poll"
owners "$a_port" >"$tmp/owners-after"
cmp -s "$tmp/owners-before" "$tmp/owners-after" || fail "the jobs moved"
grep '/progress/fleet-' "$tmp/requests" |
    sed 's/.*(\([^)]*\))\t\/api\/v1\/progress\//\1 /' | sort -u >"$tmp/pollers"
while read -r job node; do
    [ "$(awk -v j="$job" '$2 == j' "$tmp/pollers" | wc -l)" = 1 ] ||
        fail "$job is polled by $(awk -v j="$job" '$2 == j {print $1}' "$tmp/pollers" | xargs)"
    grep -qx "$node $job" "$tmp/pollers" || fail "$job is not polled by its owner $node"
done <"$tmp/owners-after"
# One OMA at a time discovers the VMA (a lease per VMA).
# It asks for what changed since its last listing, not for everything.
grep -P '\t/api/v1/progress(\?|$)' "$tmp/requests" | cut -f1 | sort -u >"$tmp/discoverers"
[ "$(wc -l <"$tmp/discoverers")" = 1 ] ||
    fail "the VMA is discovered by: $(cat "$tmp/discoverers")"
grep -qP '\t/api/v1/progress\?since=[1-9][0-9]*&limit=' "$tmp/requests" ||
    fail "discovery does not ask for what changed: $(grep -P '\t/api/v1/progress' "$tmp/requests" | head -3)"

# kill -9 of a: b takes every job over, and they all move on.
kill -9 "$a_pid"
for i in $(seq $jobs); do vma_update "$vma" "fleet-$i" d1 in_progress 50 100; done
all_moved ()
{
    all_polled_by "$b_port" b $jobs &&
        [ "$(mariadb_query "$db" "SELECT COUNT(*) FROM replication_jobs
             WHERE bytes_transferred = 50 AND status = 'replicating'")" = $jobs ]
}
wait_for 30 all_moved || { owners "$b_port" >&2; fail "b did not take a's jobs over"; }
grep -q "declared dead" "$tmp/b.log" && fail "a job died with its poller"
for i in $(seq $jobs); do vma_update "$vma" "fleet-$i" d1 completed 100 100; done
completed ()
{
    [ "$(mariadb_query "$db" "SELECT COUNT(*) FROM replication_jobs
         WHERE status = 'completed' AND bytes_transferred = 100")" = $jobs ]
}
wait_for 30 completed ||
    fail "not all jobs completed: $(mariadb_query "$db" "SELECT id, status FROM replication_jobs")"
stop_service "$b_pid" "$tmp/b.log"
