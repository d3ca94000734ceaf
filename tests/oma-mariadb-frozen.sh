#!/usr/bin/env bash
# cbtrack oma on a MariaDB server (over its Unix socket) that stops
# answering (SIGSTOP): the UI, /healthz and /metrics-free pages still
# answer, API calls that need the database answer 503 instead of hanging,
# and all works again once the server goes on (SIGCONT).
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq

start_mariadb db
start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma
start_service oma_pid port "$tmp/oma.log" "$CBTRACK" oma --db "$db_url" \
    --vma "http://127.0.0.1:$vma" --poll-interval 0.2
expect 201 POST /api/v1/replications -d '{"id":"job-1"}'
vma_update "$vma" job-1 d1 in_progress 5 100
wait_for 20 row_is job-1 "replicating|5|5|100" || fail "job-1 not polled"

dbpid=$(cat "$db/pid")
thaw () { kill -CONT "$dbpid" 2>/dev/null || :; }
cleanup_fn thaw
kill -STOP "$dbpid"
# Whatever the server does now, each request gets an answer: the bound
# below is only there so that a hang fails the test instead of blocking
# it.
bounded () { http "$@" --max-time 60; }
for _ in 1 2 3; do
    [ "$(bounded GET /)" = 200 ] || fail "GET / did not answer"
    code=$(bounded POST /api/v1/replications -d '{"id":"job-2"}')
    [ "$code" = 503 ] || fail "POST during the freeze answered $code"
    code=$(bounded GET /api/v1/replications)
    [ "$code" = 503 ] || fail "GET list during the freeze answered $code"
done
[ "$(bounded GET /healthz)" = 503 ] || fail "healthz did not say failing"
[ "$(bounded GET /)" = 200 ] || fail "GET / did not answer"

thaw
works () { [ "$(bounded POST /api/v1/replications -d '{"id":"job-3"}')" = 201 ]; }
wait_for 120 works || fail "the OMA did not recover: $(cat "$tmp/oma.log")"
healthy () { [ "$(bounded GET /healthz)" = 200 ]; }
wait_for 60 healthy || fail "healthz did not recover"
stop_service "$oma_pid" "$tmp/oma.log"
