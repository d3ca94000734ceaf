#!/usr/bin/env bash
# cbtrack oma on SQLite: the JSON API and its error conventions, and the
# row the operator's sqlite3 sees.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq
requires command -v sqlite3

api_tests "sqlite:$tmp/api.db"
[ "$(sqlite3 "$tmp/api.db" "SELECT setup_progress_percent FROM
      replication_jobs WHERE id='job-1'")" = 42.5 ] || fail "sqlite row"
