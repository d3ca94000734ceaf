#!/usr/bin/env bash
# cbtrack oma: SIGHUP re-reads --token-file.  The old token is refused and
# the new one accepted at once, the OMA keeps running, and a file that
# became unreadable leaves the token in force.
. "$SRCDIR/tests/functions.sh"
requires curl --version
make_tmpdir

printf 'old-token\n' >"$tmp/token"
start_service pid port "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --token-file "$tmp/token" --poll-interval 1h \
    --allow-vma "127.0.0.1:*"

# patch TOKEN: the status of an authenticated change of job-1.
patch ()
{
    curl -s -o /dev/null -w '%{http_code}' -X PATCH \
        -H "Authorization: Bearer $1" -d '{"current_operation":"Setup"}' \
        "http://127.0.0.1:$port/api/v1/replications/job-1"
}

[ "$(curl -s -o /dev/null -w '%{http_code}' \
        -H 'Authorization: Bearer old-token' \
        -d '{"id":"job-1","vma_url":"http://127.0.0.1:9"}' \
        "http://127.0.0.1:$port/api/v1/replications")" = 201 ] ||
    fail "cannot register a job with the first token"
[ "$(patch old-token)" = 200 ] || fail "the first token is refused"
[ "$(patch new-token)" = 401 ] || fail "a token not yet in force is accepted"

printf 'new-token\n' >"$tmp/token.new"
mv "$tmp/token.new" "$tmp/token"
kill -HUP "$pid"
wait_for 10 grep -q 'SIGHUP: reloaded the token' "$tmp/oma.log" ||
    { cat "$tmp/oma.log" >&2; fail "no reload logged"; }
kill -0 "$pid" || fail "SIGHUP killed the OMA"
[ "$(patch new-token)" = 200 ] || fail "the new token is refused"
[ "$(patch old-token)" = 401 ] || fail "the old token is still accepted"

# A missing token file: the token in force stays, and the log says why.
rm "$tmp/token"
kill -HUP "$pid"
wait_for 10 grep -q 'SIGHUP: cannot reload the token' "$tmp/oma.log" ||
    { cat "$tmp/oma.log" >&2; fail "no failed reload logged"; }
[ "$(patch new-token)" = 200 ] || fail "a failed reload dropped the token"

stop_service "$pid" "$tmp/oma.log"
