#!/usr/bin/env bash
# tests/functions.sh itself: a daemon that ignores SIGTERM fails the test
# from the exit cleanup, even when the test body passed (or skipped); one
# that stops on SIGTERM does not.
. "$SRCDIR/tests/functions.sh"
make_tmpdir

# run_body BODY: run a test whose body is BODY; prints its exit status.
run_body ()
{
    local status=0
    printf '. "$SRCDIR/tests/functions.sh"\n%s\n' "$1" >"$tmp/t.sh"
    bash "$tmp/t.sh" 2>"$tmp/t.err" || status=$?
    echo "$status"
}

# A signal ignored before exec stays ignored in the new program.  The body
# waits until the daemon ignores SIGTERM, so that the cleanup's SIGTERM
# cannot come first.
export ready="$tmp/ready"
stubborn='rm -f "$ready"
start_daemon pid bash -c '\''trap "" TERM; touch "$ready"; exec sleep 60'\''
wait_for 10 test -e "$ready" || exit 9'
polite='start_daemon pid sleep 60'

[ "$(run_body "$stubborn")" = 1 ] || fail "SIGKILL needed, yet the test passed"
grep -q 'ignored SIGTERM' "$tmp/t.err" || fail "no message: $(cat "$tmp/t.err")"
[ "$(run_body "$stubborn; exit 77")" = 1 ] ||
    fail "SIGKILL needed, yet the test skipped"
[ "$(run_body "$stubborn; exit 3")" = 3 ] || fail "the first failure was lost"
[ "$(run_body "$polite")" = 0 ] || fail "a polite daemon failed the test"
[ "$(run_body "$polite; exit 77")" = 77 ] || fail "a skip became a failure"
