#!/usr/bin/env bash
# Schema version 2 (vm_disks.change_id) and the later ones reach a
# database made by version 1, on SQLite and on MariaDB: the OMA adds the
# column (and the lease tables of version 3) at start,
# the rows it had keep their values (change_id ''), and it serves them.
. "$SRCDIR/tests/functions.sh"
requires command -v curl
requires command -v jq
requires command -v sqlite3
make_tmpdir

start_mariadb db

# v1 DB: a database of today's schema taken back to version 1, holding a
# job with a disk.
for engine in sqlite mariadb; do
    if [ $engine = sqlite ]; then url="sqlite:$tmp/oma.db"; else url=$db_url; fi
    start_service pid port "$tmp/oma-$engine.log" "$CBTRACK" oma --db "$url" \
        --poll-interval 1h --allow-vma "127.0.0.1:*"
    curl -sf -X POST -d '{"id":"old-1","source_vm_name":"web",
        "vma_url":"http://127.0.0.1:9","disks":["disk-2000"]}' \
        "http://127.0.0.1:$port/api/v1/replications" >/dev/null ||
        fail "$engine: register"
    stop_service "$pid" "$tmp/oma-$engine.log"
    # Back to version 1: later versions' columns and tables go too.
    sql="ALTER TABLE vm_disks DROP COLUMN change_id;
         ALTER TABLE replication_jobs DROP COLUMN cancel_requested_at;
         ALTER TABLE vm_disks DROP COLUMN throughput_bps;
         ALTER TABLE vm_disks DROP COLUMN eta_seconds;
         ALTER TABLE replication_jobs DROP COLUMN stalled_since;
         DROP TABLE oma_nodes; DROP TABLE oma_discovery;
         DROP INDEX replication_jobs_owner;
         ALTER TABLE replication_jobs DROP COLUMN owner_node;
         ALTER TABLE replication_jobs DROP COLUMN owner_generation;
         DELETE FROM cbtrack_schema WHERE version >= 2;"
    if [ $engine = sqlite ]; then
        current=$(sqlite3 "$tmp/oma.db" "SELECT MAX(version) FROM cbtrack_schema")
        sqlite3 "$tmp/oma.db" "$sql"
        cols=$(sqlite3 "$tmp/oma.db" "SELECT name FROM pragma_table_info('vm_disks')")
    else
        current=$(mariadb_query "$db" "SELECT MAX(version) FROM cbtrack_schema")
        mariadb_query "$db" "${sql/replication_jobs_owner/replication_jobs_owner ON replication_jobs}"
        cols=$(mariadb_query "$db" "SELECT column_name FROM information_schema.columns
            WHERE table_schema = 'cbtrack' AND table_name = 'vm_disks'")
    fi
    case "$cols" in *change_id*) fail "$engine: test set-up: still v2" ;; esac

    start_service pid port "$tmp/oma-$engine.log" "$CBTRACK" oma --db "$url" \
        --poll-interval 1h --allow-vma "127.0.0.1:*"
    curl -sf "http://127.0.0.1:$port/api/v1/replications/old-1" >"$tmp/job.json" ||
        fail "$engine: the old job is not served"
    jq -e '.disks[0].disk_id == "disk-2000" and (.disks[0] | has("change_id") | not)' \
        "$tmp/job.json" >/dev/null || { cat "$tmp/job.json" >&2; fail "$engine: old disk row"; }
    curl -sf "http://127.0.0.1:$port/api/v1/vms/web/disks" >"$tmp/vm.json" ||
        fail "$engine: GET /api/v1/vms/web/disks"
    jq -e '.vm == "web" and .disks == []' "$tmp/vm.json" >/dev/null ||
        { cat "$tmp/vm.json" >&2; fail "$engine: vm disks"; }
    stop_service "$pid" "$tmp/oma-$engine.log"
    if [ $engine = sqlite ]; then
        v=$(sqlite3 "$tmp/oma.db" "SELECT MAX(version) FROM cbtrack_schema")
        c=$(sqlite3 "$tmp/oma.db" "SELECT '[' || change_id || ']' FROM vm_disks")
    else
        v=$(mariadb_query "$db" "SELECT MAX(version) FROM cbtrack_schema")
        c=$(mariadb_query "$db" "SELECT CONCAT('[', change_id, ']') FROM vm_disks")
    fi
    [ "$v" = "$current" ] ||
        fail "$engine: schema version $v after the migration, not $current"
    [ "$c" = "[]" ] || fail "$engine: change_id of the old row: $c"
done
