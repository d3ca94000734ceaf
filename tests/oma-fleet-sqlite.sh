#!/usr/bin/env bash
# SQLite serves one OMA: a second one on the same file is refused with one
# clear line and changes nothing; bad --node-id and --lease values too.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq

start_service a_pid a_port "$tmp/a.log" "$CBTRACK" oma --db "sqlite:$tmp/oma.db" \
    --poll-interval 0.3 --node-id a --lease 5
expect_exit 1 "$CBTRACK" oma --db "sqlite:$tmp/oma.db" --listen 127.0.0.1:0 \
    --node-id b
expect_one_line
expect_stderr '^cbtrack oma: another OMA is running on this sqlite database .*several OMAs need MariaDB$'
curl -sf "http://127.0.0.1:$a_port/api/v1/nodes" >"$tmp/nodes.json"
jq -e '.count == 1 and .nodes[0].node_id == "a" and .nodes[0].alive' \
    "$tmp/nodes.json" >/dev/null || fail "nodes: $(cat "$tmp/nodes.json")"

expect_exit 2 "$CBTRACK" oma --node-id 'a b'
expect_one_line
expect_stderr "^cbtrack oma: --node-id 'a b': expected"
expect_exit 2 "$CBTRACK" oma --lease 0.5
expect_stderr '^cbtrack oma: --lease 0.5: expected 1 s to 1 day'

# Stopped cleanly, a leaves: the next OMA starts at once.
stop_service "$a_pid" "$tmp/a.log"
start_service b_pid b_port "$tmp/b.log" "$CBTRACK" oma --db "sqlite:$tmp/oma.db" \
    --node-id b
stop_service "$b_pid" "$tmp/b.log"
