#!/usr/bin/env bash
# The schema migration that brought per-disk rates (vm_disks.throughput_bps
# and eta_seconds, replication_jobs.stalled_since) reaches a database made
# before it, on SQLite and on MariaDB: the OMA adds the columns at start,
# the rows it had keep their values, and it serves them with no rate
# (null).  The database is taken back to the version before that one
# (version 3), later versions undone too.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
requires command -v curl
requires command -v jq
requires command -v sqlite3
make_tmpdir

start_mariadb db

for engine in sqlite mariadb; do
    old_schema_db $engine "$(schema_back_to 3)"
    cols=$(disk_columns $engine)
    case "$cols" in *throughput_bps*) fail "$engine: test set-up: still v3" ;; esac

    start_service pid port "$tmp/oma-$engine.log" "$CBTRACK" oma --db "$url" \
        --poll-interval 1h --allow-vma "127.0.0.1:*"
    curl -sf "http://127.0.0.1:$port/api/v1/replications/old-1" >"$tmp/job.json" ||
        fail "$engine: the old job is not served"
    jq -e '.disks[0].disk_id == "disk-2000" and .disks[0].throughput_bps == null
           and .disks[0].eta_seconds == null and .stalled == false
           and .transfer_speed_bps == null' \
        "$tmp/job.json" >/dev/null || { cat "$tmp/job.json" >&2; fail "$engine: old rows"; }
    stop_service "$pid" "$tmp/oma-$engine.log"
    v=$(db_query $engine "SELECT MAX(version) FROM cbtrack_schema")
    if [ $engine = sqlite ]; then
        c=$(db_query sqlite "SELECT throughput_bps || '/' || COALESCE(eta_seconds, 'null') FROM vm_disks")
    else
        c=$(db_query mariadb "SELECT CONCAT(throughput_bps, '/', COALESCE(eta_seconds, 'null')) FROM vm_disks")
    fi
    [ "$v" = "$newest" ] || fail "$engine: schema version $v after the migration"
    [ "$c" = "0/null" ] || fail "$engine: the old disk row: $c"
done
