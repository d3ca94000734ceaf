#!/usr/bin/env bash
# The OMA's storage tests (tests/unit/test-oma-store.c) against a real
# MariaDB server started here, and the same schema on both engines.
. "$SRCDIR/tests/functions.sh"
make_tmpdir
requires command -v sqlite3
test_store="$BUILDDIR/tests/unit/test-oma-store"
requires test -x "$test_store"

start_mariadb db
CBTRACK_TEST_DB="$db_url" "$test_store" || fail "storage tests on MariaDB"

# The same tables and columns, in the same order, on both engines.
CBTRACK_TEST_DB="sqlite:$tmp/s.db" "$test_store" >/dev/null 2>&1 ||
    fail "storage tests on SQLite"
for table in replication_jobs vm_disks replication_progress_history \
             cbtrack_schema oma_nodes oma_discovery; do
    sqlite3 "$tmp/s.db" "SELECT name FROM pragma_table_info('$table')" \
        >"$tmp/cols.sqlite"
    mariadb_query "$db" "SELECT column_name FROM information_schema.columns
        WHERE table_schema = 'cbtrack' AND table_name = '$table'
        ORDER BY ordinal_position" >"$tmp/cols.mariadb"
    [ -s "$tmp/cols.sqlite" ] || fail "no table $table in SQLite"
    diff -u "$tmp/cols.sqlite" "$tmp/cols.mariadb" ||
        fail "table $table differs between SQLite and MariaDB"
done
grep -qx progress_percent "$tmp/cols.sqlite" && fail "wrong table checked"
sqlite3 "$tmp/s.db" "SELECT name FROM pragma_table_info('replication_jobs')" |
    tr '\n' ' ' | grep -q '^id source_vm_name replication_type status current_operation progress_percent setup_progress_percent bytes_transferred total_bytes transfer_speed_bps eta_seconds vma_url error_message created_at updated_at started_at completed_at last_progress_at ' ||
    fail "replication_jobs columns are not those of DESIGN §4"
version=$(sed -n 's/^#define OMA_SCHEMA_VERSION \([0-9]*\)$/\1/p' \
    "$SRCDIR/src/oma/store.h")
[ "$(sqlite3 "$tmp/s.db" 'SELECT MAX(version) FROM cbtrack_schema')" = "$version" ] ||
    fail "SQLite schema version"
[ "$(mariadb_query "$db" 'SELECT MAX(version) FROM cbtrack_schema')" = "$version" ] ||
    fail "MariaDB schema version"
