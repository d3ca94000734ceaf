#!/usr/bin/env bash
# The whole chain with a real copy whose copier is killed mid-copy: the
# VMA keeps the job but hears nothing more; after the dead timeout the
# job fails, saying so, in the OMA on MariaDB and on SQLite.
. "$SRCDIR/tests/functions.sh"
requires nbdkit --filter=rate null --version
requires command -v curl
requires command -v jq
requires command -v sqlite3
"$CBTRACK" copy --help 2>&1 | grep -q -- '--vma-url' || {
    echo "$0: test skipped: cbtrack copy cannot report to a VMA yet" >&2
    exit 77
}
make_tmpdir

start_mariadb db
start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma
start_service omam_pid oma_m "$tmp/oma-mariadb.log" "$CBTRACK" oma \
    --db "$db_url" --vma "http://127.0.0.1:$vma" --poll-interval 0.3 \
    --dead-timeout 4
start_service omas_pid oma_s "$tmp/oma-sqlite.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --vma "http://127.0.0.1:$vma" \
    --poll-interval 0.3 --dead-timeout 4

echo 2M >"$tmp/rate2"
start_nbdkit slow --filter=rate sparse-random size=48M seed=8 percent=25 \
    runlength=64 rate=2M rate-file="$tmp/rate2"
"$CBTRACK" copy -q --report-interval 0.3 --vma-url "http://127.0.0.1:$vma" \
    --job e2e-2 --disk disk-1 "$slow_uri" "$tmp/target2.img" &
copy2_pid=$!
cleanup_fn kill_daemon "$copy2_pid"
status_of ()
{
    mariadb_query "$db" "SELECT status FROM replication_jobs WHERE id='$1'"
}
replicating () { [ "$(status_of e2e-2)" = replicating ]; }
wait_for 60 replicating || fail "e2e-2 never replicating"
kill -9 "$copy2_pid"
wait "$copy2_pid" 2>/dev/null || true
failed () { [ "$(status_of e2e-2)" = failed ]; }
wait_for 30 failed || fail "e2e-2 not failed after the copier died"
mariadb_query "$db" "SELECT error_message FROM replication_jobs
    WHERE id='e2e-2'" | grep -q "no progress update reached the VMA" ||
    fail "e2e-2 reason"
sfailed ()
{
    [ "$(sqlite3 "$tmp/oma.db" "SELECT status FROM replication_jobs
          WHERE id='e2e-2'")" = failed ]
}
wait_for 30 sfailed || fail "e2e-2 not failed on sqlite"
sqlite3 "$tmp/oma.db" "SELECT error_message FROM replication_jobs
    WHERE id='e2e-2'" | grep -q "no progress update reached the VMA" ||
    fail "e2e-2 reason on sqlite"
stop_service "$omam_pid" "$tmp/oma-mariadb.log"
stop_service "$omas_pid" "$tmp/oma-sqlite.log"
