#!/usr/bin/env bash
# The whole chain with a real copy: cbtrack copy (rate-limited nbdkit
# source) → cbtrack vma → cbtrack oma on MariaDB and on SQLite.  The
# operator's query, run with the mariadb and sqlite3 command-line clients,
# gives the right numbers during and after the copy; the copy is exact.
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

# The operator's query, verbatim, through each command-line client.
query="SELECT progress_percent, total_bytes FROM replication_jobs WHERE id='e2e-1'"
q_mariadb () { mariadb_query "$db" "$query" | tr '\t' '|'; }
q_sqlite () { sqlite3 "$tmp/oma.db" "$query"; }

# About 12 MiB of data.  The source starts slow (rate-file, bits/s) so
# the copy can be watched mid-way, then is let go.
echo 4M >"$tmp/rate"
start_nbdkit src --filter=rate sparse-random size=48M seed=7 percent=25 \
    runlength=64 rate=4M rate-file="$tmp/rate"
total=$(plan_value "$src_uri" transfer_bytes)
[ "$total" -gt 0 ] || fail "nothing to copy"

"$CBTRACK" copy -q --report-interval 0.3 --vma-url "http://127.0.0.1:$vma" \
    --job e2e-1 --disk disk-1 "$src_uri" "$tmp/target.img" &
copy_pid=$!
cleanup_fn kill_daemon "$copy_pid"

# During: replicating, 0 < percent < 100, the real total (not capacity).
during ()
{
    local m s p
    m=$(q_mariadb) s=$(q_sqlite)
    p=${m%|*}
    [ "${m#*|}" = "$total" ] && [ "${s#*|}" = "$total" ] &&
    awk -v p="$p" 'BEGIN { exit !(p > 0 && p < 100) }'
}
wait_for 60 during || fail "mid-copy rows: mariadb '$(q_mariadb)' sqlite \
'$(q_sqlite)', plan total $total"
# Percent and bytes from one query: the poller may write between two.
row=$(mariadb_query "$db" "SELECT progress_percent, bytes_transferred FROM
    replication_jobs WHERE id='e2e-1'")
p=${row%%$'\t'*} transferred=${row##*$'\t'}
awk -v p="$p" -v t="$transferred" -v n="$total" \
    'BEGIN { e = int(10000 * t / n) / 100; exit !(p == e) }' ||
    fail "progress_percent $p is not $transferred / $total"
[ "$(mariadb_query "$db" "SELECT status FROM replication_jobs
      WHERE id='e2e-1'")" = replicating ] || fail "status mid-copy"

echo 10G >"$tmp/rate"
wait "$copy_pid" || fail "the copy failed"
check_same "$src_uri" "$tmp/target.img"

# After: 100, the same total, completed, on both engines.
after () { [ "$(q_mariadb)" = "100|$total" ] && [ "$(q_sqlite)" = "100.0|$total" ]; }
wait_for 30 after || fail "final rows: mariadb '$(q_mariadb)' sqlite \
'$(q_sqlite)', expected 100 and $total"
[ "$(mariadb_query "$db" "SELECT CONCAT_WS('|', status, bytes_transferred,
      completed_at IS NOT NULL) FROM replication_jobs WHERE id='e2e-1'")" \
  = "completed|$total|1" ] || fail "final job row"
[ "$(sqlite3 "$tmp/oma.db" "SELECT disk_id, sync_status, bytes_synced,
      sync_progress_percent FROM vm_disks WHERE job_id='e2e-1'")" \
  = "disk-1|completed|$total|100.0" ] || fail "final disk row"
stop_service "$omam_pid" "$tmp/oma-mariadb.log"
stop_service "$omas_pid" "$tmp/oma-sqlite.log"
