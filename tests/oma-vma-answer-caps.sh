#!/usr/bin/env bash
# cbtrack oma holds a VMA's answer to the caps registration has: a job
# document with 20,000 disks is refused as a bad answer, not stored.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq
requires command -v python3

python3 "$SRCDIR/tests/helpers/slow-vma.py" "$tmp/vma.port" 0 20000 &
cleanup_fn kill_daemon $!
wait_for 20 test -s "$tmp/vma.port" || fail "the VMA did not start"
vma="http://127.0.0.1:$(cat "$tmp/vma.port")"
start_service oma_pid port "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --vma "$vma" --poll-interval 0.2 -v
expect 201 POST /api/v1/replications -d '{"id":"big-1"}'
cycles () { grep -c 'poll cycle:' "$tmp/oma.log" || :; }
c0=$(cycles)
polled () { [ "$(cycles)" -ge $((c0 + 3)) ]; }
wait_for 60 polled || fail "no poll cycles"
expect 200 GET /api/v1/replications/big-1
jq -e '(.disks | length) == 0 and .status == "pending"' "$tmp/body" \
    >/dev/null || fail "an oversized answer was stored: $(jq -c \
    '{status, n: (.disks | length)}' "$tmp/body")"
stop_service "$oma_pid" "$tmp/oma.log"
