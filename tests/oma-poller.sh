#!/usr/bin/env bash
# cbtrack oma's poller against real VMAs and a real MariaDB server:
# discovery, completion (polling then stops), dead jobs (stale updates,
# VMA gone, unknown to the VMA) each with its reason, the database
# stopped mid-run and started again, and an SQLite file held locked.
. "$SRCDIR/tests/functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq
requires command -v sqlite3

# post PORT JOB BODY: one update to the VMA on PORT.
post ()
{
    curl -sf -o /dev/null -X POST -d "$3" \
        "http://127.0.0.1:$1/api/v1/progress/$2/update" ||
        fail "update of $2 refused: $3"
}

# update PORT JOB DISK STATUS DONE TOTAL
update ()
{
    post "$1" "$2" "{\"disk_id\":\"$3\",\"stage\":\"Transfer\",
        \"status\":\"$4\",\"sync_type\":\"full\",\"bytes_transferred\":$5,
        \"total_bytes\":$6,\"throughput_bps\":1000,\"capacity_bytes\":$(($6 * 2))}"
}

# row JOB: "status|progress_percent|bytes_transferred|total_bytes" from
# MariaDB, through the mariadb command-line client.
row ()
{
    mariadb_query "$db" "SELECT CONCAT_WS('|', status, progress_percent,
        bytes_transferred, total_bytes) FROM replication_jobs
        WHERE id = '$1'"
}

row_is () { [ "$(row "$1")" = "$2" ]; }

error_of ()
{
    mariadb_query "$db" "SELECT error_message FROM replication_jobs
        WHERE id = '$1'"
}

start_mariadb db
start_service vma1_pid vma1 "$tmp/vma1.log" "$CBTRACK" vma
start_service vma2_pid vma2 "$tmp/vma2.log" "$CBTRACK" vma
start_service oma_pid oma "$tmp/oma.log" "$CBTRACK" oma --db "$db_url" \
    --vma "http://127.0.0.1:$vma1" --vma "http://127.0.0.1:$vma2" \
    --poll-interval 0.3 --dead-timeout 4 -v

# Discovery, then progress, then completion.
update "$vma1" disc-1 d1 in_progress 25 100
wait_for 20 row_is disc-1 "replicating|25|25|100" ||
    fail "disc-1 not discovered: $(row disc-1)"
[ "$(mariadb_query "$db" "SELECT vma_url FROM replication_jobs
      WHERE id = 'disc-1'")" = "http://127.0.0.1:$vma1" ] || fail "vma_url"
update "$vma1" disc-1 d1 completed 100 100
wait_for 20 row_is disc-1 "completed|100|100|100" ||
    fail "disc-1 not completed: $(row disc-1)"
[ "$(mariadb_query "$db" "SELECT CONCAT_WS('|', disk_id, sync_status,
      bytes_synced, sync_progress_percent, capacity_bytes) FROM vm_disks
      WHERE job_id = 'disc-1'")" = "d1|completed|100|100|200" ] ||
    fail "disk row of disc-1"
[ "$(mariadb_query "$db" "SELECT completed_at IS NOT NULL FROM
      replication_jobs WHERE id = 'disc-1'")" = 1 ] || fail "completed_at"
# Polling stopped: later news from the VMA does not reopen the row.
update "$vma1" disc-1 d1 in_progress 1 100
sleep 1.5
row_is disc-1 "completed|100|100|100" || fail "final row changed"

# A job the copier stops reporting: the VMA still answers, but its
# seconds_since_update grows past the dead timeout.
update "$vma1" stale-1 d1 in_progress 10 100
wait_for 20 row_is stale-1 "replicating|10|10|100" || fail "stale-1"
wait_for 30 row_is stale-1 "failed|10|10|100" ||
    fail "stale-1 not failed: $(row stale-1)"
error_of stale-1 | grep -q "no progress update reached the VMA" ||
    fail "stale-1 reason: $(error_of stale-1)"

# A registered job its VMA never heard of: 404 for too long.
curl -sf -o /dev/null -X POST "http://127.0.0.1:$oma/api/v1/replications" \
    -d "{\"id\":\"ghost-1\",\"vma_url\":\"http://127.0.0.1:$vma1\"}" ||
    fail "register ghost-1"
wait_for 30 row_is ghost-1 "failed|0|0|0" ||
    fail "ghost-1 not failed: $(row ghost-1)"
error_of ghost-1 | grep -q "HTTP 404" || fail "ghost-1: $(error_of ghost-1)"

# The VMA dies under a live job.
update "$vma2" gone-1 d1 in_progress 40 100
wait_for 20 row_is gone-1 "replicating|40|40|100" || fail "gone-1"
kill_daemon "$vma2_pid"
wait_for 30 row_is gone-1 "failed|40|40|100" ||
    fail "gone-1 not failed: $(row gone-1)"
error_of gone-1 | grep -q "is unreachable" || fail "gone-1: $(error_of gone-1)"
[ "$(mariadb_query "$db" "SELECT sync_status FROM vm_disks
      WHERE job_id = 'gone-1'")" = failed ] || fail "gone-1 disk"

# The database stops mid-run; the copy goes on and ends meanwhile; once
# the database is back the rows end right.
update "$vma1" db-1 d1 in_progress 10 1000
update "$vma1" db-1 d2 in_progress 0 1000
wait_for 20 row_is db-1 "replicating|0.5|10|2000" ||
    fail "db-1: $(row db-1)"
stop_mariadb "$db"
update "$vma1" db-1 d1 in_progress 500 1000
sleep 1
update "$vma1" db-1 d1 completed 1000 1000
update "$vma1" db-1 d2 completed 1000 1000
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
curl -sf "http://127.0.0.1:$oma/api/v1/replications/db-1" |
    jq -e '.history | length >= 2' >/dev/null || fail "no history"

# The OMA restarts mid-job: the new one, without --vma (no discovery),
# polls the active jobs it finds in the database.
update "$vma1" restart-1 d1 in_progress 30 100
wait_for 20 row_is restart-1 "replicating|30|30|100" || fail "restart-1"
stop_service "$oma_pid" "$tmp/oma.log"
update "$vma1" restart-1 d1 completed 100 100
start_service oma_pid oma "$tmp/oma2.log" "$CBTRACK" oma --db "$db_url" \
    --poll-interval 0.3 --dead-timeout 4
wait_for 20 row_is restart-1 "completed|100|100|100" ||
    fail "restart-1 after the OMA restarted: $(row restart-1)"
stop_service "$oma_pid" "$tmp/oma2.log"

# SQLite held locked by another process for longer than the busy
# timeout: writes wait and retry, and the row ends right.
start_service oma_pid oma "$tmp/oma-sqlite.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/lock.db" --vma "http://127.0.0.1:$vma1" \
    --poll-interval 0.3 --dead-timeout 20
update "$vma1" lock-1 d1 in_progress 5 100
srow () { [ "$(sqlite3 "$tmp/lock.db" "SELECT status || '|' ||
    progress_percent FROM replication_jobs WHERE id = 'lock-1'")" = "$1" ]; }
wait_for 20 srow "replicating|5.0" || fail "lock-1 on sqlite"
printf 'BEGIN EXCLUSIVE;\n.shell sleep 4\nCOMMIT;\n' |
    sqlite3 "$tmp/lock.db" &
locker=$!
sleep 0.5
update "$vma1" lock-1 d1 completed 100 100
wait "$locker"
wait_for 20 srow "completed|100.0" || fail "lock-1 after the lock"
grep -q "database unavailable" "$tmp/oma-sqlite.log" ||
    fail "the lock was not noticed"
stop_service "$oma_pid" "$tmp/oma-sqlite.log"
