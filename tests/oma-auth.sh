#!/usr/bin/env bash
# Authentication on the OMA: with a users file and a token file, every
# API call and the page need a login (401 / a redirect to /login); a
# login gives an HttpOnly, SameSite=Strict session cookie; a write with
# the cookie needs the CSRF token; the token and the write token work as
# bearer tokens; logging out ends the session.  Without authentication
# the OMA refuses to serve a non-loopback address.
. "$(dirname "$0")/functions.sh" || exit 1
. "$(dirname "$0")/oma-functions.sh" || exit 1
requires curl --version
requires jq --version
requires openssl version
make_tmpdir
set -o pipefail

expect_exit 2 "$CBTRACK" oma --db "sqlite:$tmp/x.db" --listen 0.0.0.0:0
expect_stderr 'refusing to serve 0.0.0.0:0 without authentication'
# The systemd credential auth-token turns authentication on.
mkdir "$tmp/creds"
echo cred-token >"$tmp/creds/auth-token"
CREDENTIALS_DIRECTORY="$tmp/creds" start_service cred_pid port \
    "$tmp/oma-cred.log" "$CBTRACK" oma --db "sqlite:$tmp/cred.db"
expect 401 GET /api/v1/replications
expect 200 GET /api/v1/replications -H "Authorization: Bearer cred-token"
stop_service "$cred_pid" "$tmp/oma-cred.log"

printf '# operators\nalice:%s\n' "$(openssl passwd -6 'correct horse')" \
    >"$tmp/users"
echo the-auth-token >"$tmp/auth-token"
echo the-write-token >"$tmp/write-token"
start_service oma_pid port "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --users-file "$tmp/users" \
    --auth-token-file "$tmp/auth-token" --token-file "$tmp/write-token" \
    --vma http://127.0.0.1:9 --poll-interval 1h
grep -q 'authentication required' "$tmp/oma.log" || fail "start line"

# Public: liveness, the login page and the static files.
expect 200 GET /healthz
expect 200 GET /login
expect 200 GET /ui/login.js
# Everything else needs a login.
expect 401 GET /api/v1/replications
expect 401 GET /metrics
expect 401 GET /api/v1/replications -H "Authorization: Bearer wrong"
[ "$(http GET /)" = 303 ] || fail "the page without a login: not redirected"
grep -qi '^location: /login' "$tmp/headers" || fail "redirect: $(cat "$tmp/headers")"

# Bearer tokens: the auth token reads and writes, the write token too.
expect 200 GET /api/v1/replications -H "Authorization: Bearer the-auth-token"
expect 200 GET /metrics -H "Authorization: Bearer the-auth-token"
expect 201 POST /api/v1/replications -d '{"id":"a-1"}' \
    -H "Authorization: Bearer the-write-token"

# Logging in: wrong password, not JSON, then right.
login='{"user":"alice","password":"correct horse"}'
expect 401 POST /api/v1/login -H 'Content-Type: application/json' \
    -d '{"user":"alice","password":"wrong"}'
expect 401 POST /api/v1/login -H 'Content-Type: application/json' \
    -d '{"user":"bob","password":"correct horse"}'
expect 415 POST /api/v1/login -d "$login"
expect 200 POST /api/v1/login -H 'Content-Type: application/json' -d "$login"
cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(cbtrack_session=[0-9a-f]*\);.*/\1/p' \
    "$tmp/headers" | tr -d '\r')
[ -n "$cookie" ] || fail "no session cookie: $(cat "$tmp/headers")"
grep -i '^set-cookie:' "$tmp/headers" | grep -q 'HttpOnly; SameSite=Strict' ||
    fail "cookie attributes: $(cat "$tmp/headers")"
grep -i '^set-cookie:' "$tmp/headers" | grep -q 'Secure' &&
    fail "a Secure cookie without TLS"
csrf=$(jq -r .csrf_token "$tmp/body")
jq -e '.user == "alice"' "$tmp/body" >/dev/null || fail "login answer"
grep -q 'alice logged in' "$tmp/oma.log" || fail "the login is not logged"

# The cookie reads; a write with it needs the CSRF token.
expect 200 GET /api/v1/replications -H "Cookie: $cookie"
expect 200 GET / -H "Cookie: $cookie"
expect 200 GET /api/v1/session -H "Cookie: $cookie"
jq -e --arg c "$csrf" '.auth and .user == "alice" and .csrf_token == $c' \
    "$tmp/body" >/dev/null || fail "session: $(cat "$tmp/body")"
expect 403 POST /api/v1/replications -d '{"id":"a-2"}' -H "Cookie: $cookie"
expect 403 POST /api/v1/replications -d '{"id":"a-2"}' -H "Cookie: $cookie" \
    -H "X-CSRF-Token: 0000"
expect 201 POST /api/v1/replications -d '{"id":"a-2"}' -H "Cookie: $cookie" \
    -H "X-CSRF-Token: $csrf"
expect 404 POST /api/v1/replications/nope/cancel -H "Cookie: $cookie" \
    -H "X-CSRF-Token: $csrf"

# The auth token logs in too; logging out ends a session.
expect 200 POST /api/v1/login -H 'Content-Type: application/json' \
    -d '{"token":"the-auth-token"}'
expect 200 POST /api/v1/logout -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf"
expect 401 GET /api/v1/replications -H "Cookie: $cookie"

# SIGHUP re-reads the token file: the new token in force, the old one
# not; a file that cannot be read keeps the new one.
echo the-new-token >"$tmp/auth-token"
kill -HUP "$oma_pid"
reloaded () { grep -q 're-read the authentication files' "$tmp/oma.log"; }
wait_for 10 reloaded || fail "SIGHUP did not reload: $(cat "$tmp/oma.log")"
expect 401 GET /api/v1/replications -H "Authorization: Bearer the-auth-token"
expect 200 GET /api/v1/replications -H "Authorization: Bearer the-new-token"
rm "$tmp/users"
kill -HUP "$oma_pid"
kept () { grep -q 'previous ones stay in force' "$tmp/oma.log"; }
wait_for 10 kept || fail "an unreadable users file was not reported"
expect 200 POST /api/v1/login -H 'Content-Type: application/json' -d "$login"
stop_service "$oma_pid" "$tmp/oma.log"
