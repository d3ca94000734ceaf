#!/usr/bin/env bash
# cbtrack oma restarted mid-job: the new one, without --vma (no
# discovery), polls the active jobs it finds in the database.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq

start_mariadb db
start_service vma1_pid vma1 "$tmp/vma1.log" "$CBTRACK" vma
start_service oma_pid oma "$tmp/oma.log" "$CBTRACK" oma --db "$db_url" \
    --vma "http://127.0.0.1:$vma1" --poll-interval 0.3 --dead-timeout 4 -v

vma_update "$vma1" restart-1 d1 in_progress 30 100
wait_for 20 row_is restart-1 "replicating|30|30|100" || fail "restart-1"
stop_service "$oma_pid" "$tmp/oma.log"
vma_update "$vma1" restart-1 d1 completed 100 100
start_service oma_pid oma "$tmp/oma2.log" "$CBTRACK" oma --db "$db_url" \
    --poll-interval 0.3 --dead-timeout 4
wait_for 20 row_is restart-1 "completed|100|100|100" ||
    fail "restart-1 after the OMA restarted: $(row restart-1)"
stop_service "$oma_pid" "$tmp/oma2.log"
