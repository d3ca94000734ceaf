#!/usr/bin/env bash
# Schema version 2 (vm_disks.change_id) and the later ones reach a
# database made by version 1, on SQLite and on MariaDB: the OMA adds the
# columns and tables of every later version at start, the rows it had
# keep their values (change_id ''), and it serves them.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
requires command -v curl
requires command -v jq
requires command -v sqlite3
make_tmpdir

start_mariadb db

# A database of today's schema taken back to version 1, holding a job
# with a disk.
for engine in sqlite mariadb; do
    # Back to version 1: later versions' columns and tables go too.
    old_schema_db $engine "$(schema_back_to 1)"
    cols=$(disk_columns $engine)
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
    v=$(db_query $engine "SELECT MAX(version) FROM cbtrack_schema")
    if [ $engine = sqlite ]; then
        c=$(db_query sqlite "SELECT '[' || change_id || ']' FROM vm_disks")
    else
        c=$(db_query mariadb "SELECT CONCAT('[', change_id, ']') FROM vm_disks")
    fi
    [ "$v" = "$newest" ] ||
        fail "$engine: schema version $v after the migration, not $newest"
    [ "$c" = "[]" ] || fail "$engine: change_id of the old row: $c"
done
