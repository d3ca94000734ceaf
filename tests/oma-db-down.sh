#!/usr/bin/env bash
# cbtrack oma with MariaDB down: the API answers 503 and the OMA lives on;
# once the database is back, 200 again.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq

start_mariadb mdb
start_service oma_pid port "$tmp/oma.log" "$CBTRACK" oma --db "$mdb_url" \
    --poll-interval 1h --allow-vma http://x
expect 201 POST /api/v1/replications -d '{"id":"job-1","vma_url":"http://x"}'
stop_mariadb "$mdb"
expect 503 GET /api/v1/replications
expect 503 POST /api/v1/replications -d '{"id":"job-9","vma_url":"http://x"}'
restart_mariadb "$mdb"
expect 200 GET /api/v1/replications/job-1
expect 201 POST /api/v1/replications -d '{"id":"job-9","vma_url":"http://x"}'

# MariaDB restarted between two requests: the store reconnects and
# retries, so the first request after the restart already succeeds.
stop_mariadb "$mdb"
restart_mariadb "$mdb"
expect 200 GET /api/v1/replications/job-9
stop_service "$oma_pid" "$tmp/oma.log"
