#!/usr/bin/env bash
# A server that accepts the connection and never answers: cbtrack copy
# and cbtrack plan give up after --connect-timeout with one line, and the
# target is not created; the same for a server run as a child.
. "$(dirname "$0")/functions.sh" || exit 1
requires python3 --version
make_tmpdir

start_silent_server port
uri="nbd://127.0.0.1:$port"

expect_exit 1 timeout 30 "$CBTRACK" copy --connect-timeout 1 "$uri" \
    "$tmp/out.img"
expect_stderr '^cbtrack copy: .*did not complete the NBD handshake within 1 s \(--connect-timeout\)$'
expect_one_line
[ ! -e "$tmp/out.img" ] || fail "the target was created"

expect_exit 1 timeout 30 "$CBTRACK" plan --connect-timeout 1 "$uri"
expect_stderr '^cbtrack plan: .*did not complete the NBD handshake within 1 s'
expect_one_line

# The same for a server run as a child ([ CMD ]) that never answers; the
# child does not outlive the copy.
expect_exit 1 timeout 30 "$CBTRACK" copy --connect-timeout 1 \
    [ sh -c 'echo $$ >"$0"; exec sleep 60' "$tmp/child.pid" ] "$tmp/out.img"
expect_stderr '^cbtrack copy: \[ sh .*did not complete the NBD handshake within 1 s \(--connect-timeout\)$'
expect_one_line
[ -s "$tmp/child.pid" ] || fail "the child server did not run"
wait_for 10 sh -c "! kill -0 $(cat "$tmp/child.pid") 2>/dev/null" ||
    fail "the child server outlived the copy"
