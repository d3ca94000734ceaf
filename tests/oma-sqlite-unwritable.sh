#!/usr/bin/env bash
# cbtrack oma on SQLite whose files became unwritable mid-run (every file
# there and the directory made immutable): writes get 503, reads go on, no
# signal kills the daemon, and the outage is logged once, not per cycle.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/oma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq
requires command -v chattr
requires test "$(id -u)" = 0
mkdir "$tmp/db"
requires chattr +i "$tmp/db"
chattr -i "$tmp/db"

unfreeze () { chattr -i "$tmp/db" "$tmp/db"/* 2>/dev/null || :; }
cleanup_fn unfreeze
start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma
start_service oma_pid port "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/db/oma.db" --vma "http://127.0.0.1:$vma" \
    --poll-interval 0.2 -v
expect 201 POST /api/v1/replications -d '{"id":"job-1"}'
n=1
cycles () { grep -c 'poll cycle:' "$tmp/oma.log" || :; }
progress ()
{
    n=$((n + 1))
    vma_update "$vma" job-1 d1 in_progress "$n" 1000
}
progress

# Every file there now and the directory itself become immutable.
chattr +i "$tmp/db"/* "$tmp/db"
for i in 2 3 4; do
    code=$(http POST /api/v1/replications -d "{\"id\":\"job-$i\"}")
    case "$code" in
        201|503) ;;
        *) fail "POST job-$i answered $code" ;;
    esac
    kill -0 "$oma_pid" 2>/dev/null || fail "the OMA died: $(cat "$tmp/oma.log")"
done
[ "$code" = 503 ] || fail "writes still succeed in an immutable directory"
expect 200 GET /api/v1/replications/job-1
expect 200 GET /
# Polls that read and fail to write: one line for the whole outage.
c0=$(cycles)
more_cycles () { progress; [ "$(cycles)" -ge $((c0 + 8)) ]; }
wait_for 30 more_cycles || fail "the poller stopped"
kill -0 "$oma_pid" 2>/dev/null || fail "the OMA died: $(cat "$tmp/oma.log")"
[ "$(grep -c 'database unavailable' "$tmp/oma.log")" = 1 ] ||
    fail "outage not logged once: $(grep database "$tmp/oma.log")"
grep -q 'database is back' "$tmp/oma.log" && fail "back while still down"

unfreeze
expect 201 POST /api/v1/replications -d '{"id":"job-5"}'
back () { progress; grep -q 'database is back' "$tmp/oma.log"; }
wait_for 30 back || fail "the end of the outage was not logged"
[ "$(grep -c 'database unavailable' "$tmp/oma.log")" = 1 ] ||
    fail "outage logged more than once"
stop_service "$oma_pid" "$tmp/oma.log"
