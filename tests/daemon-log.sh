#!/usr/bin/env bash
# The daemons' log: every line has a level; --log-level drops the less
# severe; under systemd (JOURNAL_STREAM) lines carry the journal's "<N>"
# priority; --log-file is reopened on SIGHUP (log rotation); and each
# change of a job's state is logged once, by the VMA that saw it.
. "$(dirname "$0")/functions.sh" || exit 1
requires curl --version
make_tmpdir

post ()                         # post PORT JOB BODY
{
    curl -sf -o /dev/null -d "$3" \
        "http://127.0.0.1:$1/api/v1/progress/$2/update" || fail "POST $2"
}

start_service pid port "$tmp/vma.log" "$CBTRACK" vma
post "$port" j1 '{"disk_id":"d1","status":"in_progress","total_bytes":1000,
                  "bytes_transferred":10}'
post "$port" j1 '{"disk_id":"d1","status":"in_progress","total_bytes":1000,
                  "bytes_transferred":500}'
post "$port" j1 '{"disk_id":"d1","status":"completed","total_bytes":1000,
                  "bytes_transferred":1000}'
post "$port" j1 '{"disk_id":"d1","status":"completed","total_bytes":1000,
                  "bytes_transferred":1000}'
post "$port" j2 '{"disk_id":"d9","status":"in_progress","total_bytes":10}'
post "$port" j2 '{"disk_id":"d9","status":"failed","total_bytes":10,
                  "error_message":"read error at 4096"}'
stop_service "$pid" "$tmp/vma.log"

grep -vqE '^cbtrack vma: (error|warning|info|debug): ' "$tmp/vma.log" && {
    cat "$tmp/vma.log" >&2; fail "a line without a level"; }
once ()                         # once LOG PATTERN
{
    [ "$(grep -cE -- "$2" "$1")" = 1 ] || {
        cat "$1" >&2; fail "not logged exactly once: $2"; }
}
once "$tmp/vma.log" 'info: job j1 created by its first update'
once "$tmp/vma.log" 'info: job j1 started: 1000 B to transfer'
once "$tmp/vma.log" 'info: job j1 completed: 1000 bytes .* in .*, average .*/s'
once "$tmp/vma.log" 'warning: job j2 failed on disk d9: read error at 4096'

# --log-level warning: only warnings and errors.  (The "listening" line is
# info, so the daemon's readiness is seen from its HTTP threads.)
printf 'tok\n' >"$tmp/token"
"$CBTRACK" vma --listen 127.0.0.1:0 --log-level warning \
    --token-file "$tmp/token" 2>"$tmp/warn.log" &
pid=$!
cleanup_fn kill_daemon "$pid"
wait_for 10 sh -c "[ \$(ls /proc/$pid/task | wc -l) -gt 1 ]" ||
    fail "vma --log-level warning did not start"
rm "$tmp/token"
kill -HUP "$pid"
wait_for 10 grep -q 'warning: SIGHUP: cannot reload the token' \
    "$tmp/warn.log" || { cat "$tmp/warn.log" >&2; fail "no warning"; }
stop_service "$pid" "$tmp/warn.log"
if grep -q 'info:' "$tmp/warn.log"; then
    cat "$tmp/warn.log" >&2; fail "info lines at --log-level warning"
fi
expect_exit 2 "$CBTRACK" vma --log-level chatty
expect_stderr "not one of error, warning, info, debug"

# Under systemd: the journal's priority prefixes.
JOURNAL_STREAM=8:12345 start_service pid port "$tmp/journal.log" \
    "$CBTRACK" vma
post "$port" j3 '{"disk_id":"d1","status":"failed","total_bytes":10,
                  "error_message":"boom"}'
stop_service "$pid" "$tmp/journal.log"
grep -q '^<6>cbtrack vma: info: listening on' "$tmp/journal.log" ||
    { cat "$tmp/journal.log" >&2; fail "no <6> prefix"; }
grep -q '^<4>cbtrack vma: warning: job j3 failed' "$tmp/journal.log" ||
    { cat "$tmp/journal.log" >&2; fail "no <4> prefix"; }
grep -vq '^<[0-7]>' "$tmp/journal.log" && fail "a line without a prefix"

# --log-file, reopened on SIGHUP after rotation.
start_service pid port "$tmp/file.log" "$CBTRACK" vma \
    --log-file "$tmp/file.log"
mv "$tmp/file.log" "$tmp/file.log.1"
kill -HUP "$pid"
wait_for 10 grep -q 'info: SIGHUP: reopened the log file' "$tmp/file.log" ||
    fail "the log file was not reopened"
post "$port" j4 '{"disk_id":"d1","status":"in_progress","total_bytes":10}'
stop_service "$pid" "$tmp/file.log"
grep -q 'job j4 started' "$tmp/file.log" || fail "new lines not in new file"
grep -q 'listening on' "$tmp/file.log.1" || fail "old lines lost"
grep -q 'job j4' "$tmp/file.log.1" && fail "new lines in the rotated file"
exit 0
