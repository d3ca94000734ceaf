#!/usr/bin/env bash
# cbtrack oma on MariaDB: a refused login is fatal at start; the JSON API
# and its error conventions, and the row the operator's mariadb client
# sees.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq

start_mariadb mdb
# A refused login is fatal at start (a server that is down is not).
expect_exit 1 "$CBTRACK" oma --listen 127.0.0.1:0 \
    --db "mysql://nobody:wrong@localhost/cbtrack?socket=$mdb_sock"
expect_stderr "Access denied"
api_tests "$mdb_url"
[ "$(mariadb_query "$mdb" "SELECT setup_progress_percent FROM
      replication_jobs WHERE id='job-1'")" = 42.5 ] || fail "mariadb row"
