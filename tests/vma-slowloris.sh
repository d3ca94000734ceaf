#!/usr/bin/env bash
# cbtrack vma against a slowloris client (1100 connections from one
# address, each sending a byte a second): other clients are still
# served, because one address may hold only a few connections.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v python3
requires python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.2", 0))'
requires_unsanitized

start_vma
port=${vma_url##*:}
python3 "$SRCDIR/tests/helpers/slowloris.py" 127.0.0.1 "$port" 1100 \
    "$tmp/ready" "$tmp/stop" &
attacker=$!
cleanup_fn kill_daemon "$attacker"
cleanup_fn touch "$tmp/stop"
wait_for 60 test -s "$tmp/ready" || fail "the slow client did not start"
for _ in 1 2 3; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 \
        "$vma_url/healthz" || :)
    [ "$code" = 200 ] || fail "a new client was locked out ($code)"
done
touch "$tmp/stop"
stop_vma
