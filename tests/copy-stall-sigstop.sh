#!/usr/bin/env bash
# The source stops answering mid-copy (nbdkit SIGSTOPped).  The copy does
# not look alive: the VMA shows it stalled, the OMA fails the job with "no
# progress" after its dead timeout, and the copy itself gives up after
# the I/O timeout and the reconnect timeout, with one line.
. "$SRCDIR/tests/functions.sh"
requires nbdkit --filter=rate null --version
requires command -v curl
requires command -v jq
requires command -v sqlite3
make_tmpdir
# Its three deadlines must come in order: the VMA shows the job stalled,
# the OMA's dead timeout fires, then the copy's I/O and reconnect
# timeouts end it.  The sanitizers slow everything down: more room then.
io=2 reconnect=4
if [ "$CBTRACK_SANITIZED" = 1 ]; then io=5 reconnect=10; fi

start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma
start_service oma_pid oma "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --vma "http://127.0.0.1:$vma" \
    --poll-interval 0.3 --dead-timeout 3
start_nbdkit src --filter=rate sparse-random size=64M seed=5 percent=50 \
    rate=8M
src_pid=$(cat "$src.pid")
# Whatever happens, the source is not left stopped.
cleanup_fn kill -CONT "$src_pid"

"$CBTRACK" copy -q --report-interval 0.3 --io-timeout "$io" \
    --reconnect-timeout "$reconnect" \
    --vma-url "http://127.0.0.1:$vma" --job stall-1 --disk d1 \
    "$src_uri" "$tmp/out.img" 2>"$tmp/stderr" &
copy=$!
cleanup_fn kill_daemon "$copy"

job () { get_json "http://127.0.0.1:$vma/api/v1/progress/stall-1"; }
moving () { job | jq -e '.bytes_transferred > 0' >/dev/null; }
wait_for 30 moving || fail "the copy did not start"
kill -STOP "$src_pid"

# The VMA says stalled while the copy still waits for its source.
stalled () { job | jq -e '.status == "in_progress" and .stalled == true
                        and .stalled_seconds >= 0' >/dev/null; }
wait_for 30 stalled || fail "the VMA never showed the job stalled: $(job)"
kill -0 "$copy" 2>/dev/null || fail "the copy ended before it was stalled"

# The OMA: dead for want of progress, though updates kept coming.
row () { sqlite3 "$tmp/oma.db" "SELECT status || '|' || error_message
                               FROM replication_jobs WHERE id = 'stall-1'"; }
dead () { row | grep -q '^failed|dead: no progress for'; }
wait_for 30 dead || fail "the OMA did not fail the job: $(row)"

# The copy gives up: one line, exit 1.
status=0
wait "$copy" || status=$?
[ "$status" = 1 ] || { cat "$tmp/stderr" >&2; fail "copy exited $status"; }
expect_stderr "^cbtrack copy: .*no answer within $io s \(--io-timeout\); no new connection within $reconnect s \(--reconnect-timeout\)"
expect_one_line
job | jq -e '.status == "failed" and .stalled == false' >/dev/null ||
    fail "the VMA's final state: $(job)"
kill -CONT "$src_pid"
