#!/usr/bin/env bash
# cbtrack oma logs each change of a job's state once, with a level:
# discovered, started, completed (bytes, time, average rate), failed (the
# reason) and dead (the sign of death).
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl

start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma
start_service oma_pid oma "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --vma "http://127.0.0.1:$vma" \
    --poll-interval 0.3 --dead-timeout 3

vma_update "$vma" ok-1 d1 in_progress 10 100
wait_for 20 grep -q 'job ok-1 started' "$tmp/oma.log" || fail "ok-1 started"
vma_update "$vma" ok-1 d1 completed 100 100
vma_update "$vma" bad-1 d1 in_progress 10 100
vma_post "$vma" bad-1 '{"disk_id":"d1","status":"failed",
    "error_message":"write error at 8192"}'
vma_update "$vma" stale-1 d1 in_progress 10 100
wait_for 30 grep -q 'job stale-1 is dead' "$tmp/oma.log" ||
    { cat "$tmp/oma.log" >&2; fail "stale-1 not dead"; }
wait_for 20 grep -q 'job bad-1 failed' "$tmp/oma.log" ||
    { cat "$tmp/oma.log" >&2; fail "bad-1 not failed"; }
sleep 1   # a few more cycles: nothing is logged twice
stop_service "$oma_pid" "$tmp/oma.log"

once ()                         # once PATTERN
{
    [ "$(grep -cE -- "$1" "$tmp/oma.log")" = 1 ] || {
        cat "$tmp/oma.log" >&2; fail "not logged exactly once: $1"; }
}
once "^cbtrack oma: info: job ok-1 discovered on http://127.0.0.1:$vma"
once '^cbtrack oma: info: job ok-1 started: full copy of 100 B'
once '^cbtrack oma: info: job ok-1 completed: 100 bytes \(100 B\) in .*, average .*/s'
once '^cbtrack oma: warning: job bad-1 failed: .*write error at 8192'
once '^cbtrack oma: warning: job stale-1 is dead: no progress update reached the VMA'
once 'job stale-1 discovered'
grep -vqE '^cbtrack oma: (error|warning|info|debug): ' "$tmp/oma.log" && {
    cat "$tmp/oma.log" >&2; fail "a line without a level"; }
exit 0
