#!/usr/bin/env bash
# cbtrack oma's poller against a real VMA and a real MariaDB server: a
# job the OMA was not told of is discovered, its progress and completion
# land in the rows, and polling then stops.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq

start_mariadb db
start_service vma1_pid vma1 "$tmp/vma1.log" "$CBTRACK" vma
start_service vma2_pid vma2 "$tmp/vma2.log" "$CBTRACK" vma
start_service oma_pid oma "$tmp/oma.log" "$CBTRACK" oma --db "$db_url" \
    --vma "http://127.0.0.1:$vma1" --vma "http://127.0.0.1:$vma2" \
    --poll-interval 0.3 --dead-timeout 4 -v

# Discovery, then progress, then completion.
vma_update "$vma1" disc-1 d1 in_progress 25 100
wait_for 20 row_is disc-1 "replicating|25|25|100" ||
    fail "disc-1 not discovered: $(row disc-1)"
[ "$(mariadb_query "$db" "SELECT vma_url FROM replication_jobs
      WHERE id = 'disc-1'")" = "http://127.0.0.1:$vma1" ] || fail "vma_url"
vma_update "$vma1" disc-1 d1 completed 100 100
wait_for 20 row_is disc-1 "completed|100|100|100" ||
    fail "disc-1 not completed: $(row disc-1)"
[ "$(mariadb_query "$db" "SELECT CONCAT_WS('|', disk_id, sync_status,
      bytes_synced, sync_progress_percent, capacity_bytes) FROM vm_disks
      WHERE job_id = 'disc-1'")" = "d1|completed|100|100|200" ] ||
    fail "disk row of disc-1"
[ "$(mariadb_query "$db" "SELECT completed_at IS NOT NULL FROM
      replication_jobs WHERE id = 'disc-1'")" = 1 ] || fail "completed_at"
# Polling stopped: later news from the VMA (a new run of the disk) does
# not reopen the row.
vma_post "$vma1" disc-1 '{"disk_id":"d1","status":"in_progress",
    "new_run":true,"bytes_transferred":1,"total_bytes":100}'
sleep 1.5
row_is disc-1 "completed|100|100|100" || fail "final row changed"

stop_service "$oma_pid" "$tmp/oma.log"
