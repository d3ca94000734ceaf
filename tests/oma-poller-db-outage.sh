#!/usr/bin/env bash
# cbtrack oma's poller with its MariaDB server stopped mid-run: the OMA
# lives on, says so in its log, and once the database is back the rows
# end right (the copy went on and ended meanwhile); the UI's history holds
# samples of the job.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq

start_mariadb db
start_service vma1_pid vma1 "$tmp/vma1.log" "$CBTRACK" vma
start_service oma_pid oma "$tmp/oma.log" "$CBTRACK" oma --db "$db_url" \
    --vma "http://127.0.0.1:$vma1" --poll-interval 0.3 --dead-timeout 4 -v

vma_update "$vma1" db-1 d1 in_progress 10 1000
vma_update "$vma1" db-1 d2 in_progress 0 1000
wait_for 20 row_is db-1 "replicating|0.5|10|2000" ||
    fail "db-1: $(row db-1)"
stop_mariadb "$db"
vma_update "$vma1" db-1 d1 in_progress 500 1000
sleep 1
vma_update "$vma1" db-1 d1 completed 1000 1000
vma_update "$vma1" db-1 d2 completed 1000 1000
sleep 1
kill -0 "$oma_pid" || fail "oma died with the database"
restart_mariadb "$db"
wait_for 30 row_is db-1 "completed|100|2000|2000" ||
    fail "db-1 after the database came back: $(row db-1)"
[ "$(mariadb_query "$db" "SELECT GROUP_CONCAT(sync_status ORDER BY disk_id)
      FROM vm_disks WHERE job_id = 'db-1'")" = "completed,completed" ] ||
    fail "db-1 disks"
grep -q "database unavailable" "$tmp/oma.log" || fail "outage not logged"
grep -q "database is back" "$tmp/oma.log" || fail "recovery not logged"

# The UI's history holds samples of the jobs that moved.
get_json "http://127.0.0.1:$oma/api/v1/replications/db-1" |
    jq -e '.history | length >= 2' >/dev/null || fail "no history"

stop_service "$oma_pid" "$tmp/oma.log"
