#!/usr/bin/env bash
# cbtrack vma: SIGHUP re-reads --token-file.  The old token is refused and
# the new one accepted at once, the service keeps running, and a file that
# became unreadable leaves the token in force.
. "$SRCDIR/tests/functions.sh"
requires curl --version
make_tmpdir

printf 'old-token\n' >"$tmp/token"
start_service pid port "$tmp/vma.log" "$CBTRACK" vma --token-file "$tmp/token"

# post TOKEN: the status of an authenticated update.
post ()
{
    curl -s -o /dev/null -w '%{http_code}' \
        -H "Authorization: Bearer $1" -d '{"disk_id":"d"}' \
        "http://127.0.0.1:$port/api/v1/progress/j/update"
}

[ "$(post old-token)" = 200 ] || fail "the first token is refused"
[ "$(post new-token)" = 401 ] || fail "a token not yet in force is accepted"

printf 'new-token\n' >"$tmp/token.new"
mv "$tmp/token.new" "$tmp/token"
kill -HUP "$pid"
wait_for 10 grep -q 'SIGHUP: reloaded the token' "$tmp/vma.log" ||
    { cat "$tmp/vma.log" >&2; fail "no reload logged"; }
kill -0 "$pid" || fail "SIGHUP killed the service"
[ "$(post new-token)" = 200 ] || fail "the new token is refused"
[ "$(post old-token)" = 401 ] || fail "the old token is still accepted"
[ "$(curl -s -o /dev/null -w '%{http_code}' \
        "http://127.0.0.1:$port/api/v1/progress/j")" = 200 ] ||
    fail "reads need a token after the reload"

# A broken token file: the token in force stays, and the log says why.
: >"$tmp/token"
kill -HUP "$pid"
wait_for 10 grep -q 'SIGHUP: cannot reload the token.*empty' "$tmp/vma.log" ||
    { cat "$tmp/vma.log" >&2; fail "no failed reload logged"; }
[ "$(post new-token)" = 200 ] || fail "a failed reload dropped the token"

stop_service "$pid" "$tmp/vma.log"

# Without --token-file, SIGHUP changes nothing and kills nothing.
start_service pid port "$tmp/vma2.log" "$CBTRACK" vma
kill -HUP "$pid"
wait_for 10 grep -q 'SIGHUP: no --token-file' "$tmp/vma2.log" ||
    { cat "$tmp/vma2.log" >&2; fail "SIGHUP without a token file"; }
[ "$(curl -s -o /dev/null -w '%{http_code}' -d '{}' \
        "http://127.0.0.1:$port/api/v1/progress/j/update")" = 200 ] ||
    fail "the service without a token refuses an update"
stop_service "$pid" "$tmp/vma2.log"
