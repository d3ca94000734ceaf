#!/usr/bin/env bash
# cbtrack oma holds at most 10,000 active jobs: the 10,000th registers,
# the next gets 503 with Retry-After and changes nothing, and a job its
# VMA lists is not discovered while the OMA is full — but is, once a job
# has finished (it is not forgotten as "known").
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
requires command -v curl
requires command -v jq
requires command -v sqlite3
make_tmpdir

db="$tmp/cap.db"
# The OMA reads while sqlite3 writes: wait for its lock, as it does.
q () { sqlite3 -cmd ".timeout 10000" "$db" "$@"; }
# The schema, made by the OMA itself.
start_service oma_pid port "$tmp/oma0.log" "$CBTRACK" oma --db "sqlite:$db"
stop_service "$oma_pid" "$tmp/oma0.log"
# 9,999 active jobs, written as the operator's sqlite3 would.
q "
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
                          WHERE i < 9999)
  INSERT INTO replication_jobs (id, status, created_at, updated_at)
  SELECT 'fill-' || i, 'replicating', datetime('now'), datetime('now')
  FROM n;"
[ "$(q "SELECT COUNT(*) FROM replication_jobs")" = 9999 ] ||
    fail "the fill"

start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma
vma_url="http://127.0.0.1:$vma"
post_update ()
{
    curl -sf -o /dev/null -d "$2" "$vma_url/api/v1/progress/$1/update" ||
        fail "update $1"
}
post_update disc-1 '{"disk_id":"d1","status":"in_progress",
                     "bytes_transferred":1,"total_bytes":10}'
start_service oma_pid port "$tmp/oma.log" "$CBTRACK" oma --db "sqlite:$db" \
    --vma "$vma_url" --poll-interval 0.3 --dead-timeout 1h

# Discovery takes the last place: the OMA is then full.
discovered () { q "SELECT id FROM replication_jobs
                               WHERE id = 'disc-1'" | grep -q disc-1; }
wait_for 30 discovered || fail "disc-1 was not discovered"

expect 503 POST /api/v1/replications -d '{"id":"over-1"}'
grep -qi '^Retry-After: ' "$tmp/headers" || fail "no Retry-After"
jq -e '.error | test("10000")' "$tmp/body" >/dev/null ||
    fail "the refusal does not name the limit: $(cat "$tmp/body")"
[ "$(q "SELECT COUNT(*) FROM replication_jobs")" = 10000 ] ||
    fail "a refused job changed the table"

# A job the VMA lists while the OMA is full waits, said once in the log.
post_update disc-2 '{"disk_id":"d1","status":"in_progress",
                     "bytes_transferred":1,"total_bytes":10}'
cp $tmp/oma.log /tmp/cap-oma.log; wait_for 30 grep -q "jobs not registered: the OMA already has 10000" \
    "$tmp/oma.log" || fail "the full discovery was not logged"
sleep 1
discovered2 () { q "SELECT id FROM replication_jobs
                                WHERE id = 'disc-2'" | grep -q disc-2; }
discovered2 && fail "disc-2 registered over the limit"
[ "$(grep -c "jobs not registered" "$tmp/oma.log")" = 1 ] ||
    fail "the full discovery was logged more than once"

# One job finishes: disc-2 is registered at the next discovery.
q "UPDATE replication_jobs SET status = 'completed'
               WHERE id = 'fill-1'"
wait_for 30 discovered2 || fail "disc-2 was forgotten after the limit"
expect 503 POST /api/v1/replications -d '{"id":"over-2"}'
stop_service "$oma_pid" "$tmp/oma.log"
