#!/usr/bin/env bash
# cbtrack oma whose SQLite file is deleted while it runs: health fails
# (503), writes are refused instead of going into the unlinked file, and
# the log says why.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq

start_service oma_pid port "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --vma http://127.0.0.1:9 --poll-interval 0.2
expect 201 POST /api/v1/replications -d '{"id":"job-1"}'
expect 200 GET /healthz
rm "$tmp/oma.db"
expect 503 GET /healthz
jq -e '.status == "failing" and (.error | test("oma.db"))' "$tmp/body" \
    >/dev/null || fail "healthz: $(cat "$tmp/body")"
expect 503 POST /api/v1/replications -d '{"id":"job-2"}'
logged () { grep -q "database unavailable.*oma.db.*gone" "$tmp/oma.log"; }
wait_for 20 logged || fail "not logged: $(cat "$tmp/oma.log")"
# The UI does not need the database.
expect 200 GET /
stop_service "$oma_pid" "$tmp/oma.log"
