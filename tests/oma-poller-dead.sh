#!/usr/bin/env bash
# cbtrack oma's poller: a job without fresh news for --dead-timeout fails,
# with a reason saying which: the copier stopped reporting (stale
# seconds_since_update), the VMA never heard of it (404), the VMA is gone.
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

# A job the copier stops reporting: the VMA still answers, but its
# seconds_since_update grows past the dead timeout.
vma_update "$vma1" stale-1 d1 in_progress 10 100
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
vma_update "$vma2" gone-1 d1 in_progress 40 100
wait_for 20 row_is gone-1 "replicating|40|40|100" || fail "gone-1"
kill_daemon "$vma2_pid"
wait_for 30 row_is gone-1 "failed|40|40|100" ||
    fail "gone-1 not failed: $(row gone-1)"
error_of gone-1 | grep -q "is unreachable" || fail "gone-1: $(error_of gone-1)"
[ "$(mariadb_query "$db" "SELECT sync_status FROM vm_disks
      WHERE job_id = 'gone-1'")" = failed ] || fail "gone-1 disk"

stop_service "$oma_pid" "$tmp/oma.log"
