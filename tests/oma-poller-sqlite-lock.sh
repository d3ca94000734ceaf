#!/usr/bin/env bash
# cbtrack oma on SQLite held locked by another process for longer than the
# busy timeout: writes wait and retry, the lock is noticed in the log, and
# the row ends right.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq
requires command -v sqlite3

start_service vma1_pid vma1 "$tmp/vma1.log" "$CBTRACK" vma
start_service oma_pid oma "$tmp/oma-sqlite.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/lock.db" --vma "http://127.0.0.1:$vma1" \
    --poll-interval 0.3 --dead-timeout 20
vma_update "$vma1" lock-1 d1 in_progress 5 100
srow () { [ "$(sqlite3 "$tmp/lock.db" "SELECT status || '|' ||
    progress_percent FROM replication_jobs WHERE id = 'lock-1'")" = "$1" ]; }
wait_for 20 srow "replicating|5.0" || fail "lock-1 on sqlite"
printf 'BEGIN EXCLUSIVE;\n.shell sleep 4\nCOMMIT;\n' |
    sqlite3 "$tmp/lock.db" &
locker=$!
# Held: another writer is refused at once (sqlite3 does not wait by default).
locked () { ! sqlite3 "$tmp/lock.db" 'BEGIN IMMEDIATE; ROLLBACK;'; }
wait_for 10 locked || fail "the locker did not take the lock"
vma_update "$vma1" lock-1 d1 completed 100 100
wait "$locker"
wait_for 20 srow "completed|100.0" || fail "lock-1 after the lock"
grep -q "database unavailable" "$tmp/oma-sqlite.log" ||
    fail "the lock was not noticed"
stop_service "$oma_pid" "$tmp/oma-sqlite.log"
