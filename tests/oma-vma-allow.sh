#!/usr/bin/env bash
# cbtrack oma is no port scanner: a job may only name a VMA from the
# allow-list (--vma, --allow-vma), and what a job's row says about an
# unreachable VMA tells no closed port from a filtered one (the log has
# the details).
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq

start_service oma_pid port "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --vma http://127.0.0.1:9 \
    --allow-vma '127.0.0.2:*' --poll-interval 0.2 --dead-timeout 1
for url in http://127.0.0.1:22 http://127.0.0.1:8080 http://10.1.1.1:9 \
           http://127.0.0.1:90; do
    expect 403 POST /api/v1/replications \
        -d "{\"id\":\"probe\",\"vma_url\":\"$url\"}"
done
expect 404 GET /api/v1/replications/probe
expect 201 POST /api/v1/replications \
    -d '{"id":"ok-1","vma_url":"http://127.0.0.1:9"}'
expect 201 POST /api/v1/replications \
    -d '{"id":"ok-2","vma_url":"http://127.0.0.2:1"}'
failed () { expect 200 GET /api/v1/replications/ok-2 &&
            jq -e '.status == "failed"' "$tmp/body" >/dev/null; }
wait_for 30 failed || fail "ok-2 never failed"
jq -e '.error_message | test("unreachable") and
       (test("refused|Connection|connect") | not)' "$tmp/body" >/dev/null ||
    fail "the row leaks how the probe failed: $(cat "$tmp/body")"
grep -q "declared dead.*ok-2\|job ok-2 declared dead.*last fetch: .*onnect" \
    "$tmp/oma.log" || fail "the log lacks the evidence: $(cat "$tmp/oma.log")"
stop_service "$oma_pid" "$tmp/oma.log"
