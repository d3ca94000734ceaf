#!/usr/bin/env bash
# The operator's console in headless Chromium, driven over the DevTools
# protocol (tests/cdp.py): a running, a completed, a failed, a dead and a
# stalled job each show the right figures and none of the stale ones; the
# chart follows a click and has tooltips; filter, search and sort work;
# the VM page lists the syncs with their changeIds; a hostile VM name stays
# text everywhere, CSV included; nothing overflows at 420 px.  Saves
# screenshots as $BUILDDIR/oma-console-*.png.
. "$SRCDIR/tests/functions.sh"
requires_unsanitized
requires test -x /usr/bin/chromium
requires command -v python3
requires command -v curl
requires command -v jq
make_tmpdir

. "$SRCDIR/tests/oma-ui-fixture.sh"

# The API: no rate for what does not move, CSV neutralised.
api="http://127.0.0.1:$oma/api/v1/replications"
for j in job-dead job-fail job-full job-stall; do
    curl -sf "$api/$j" | jq -e '.transfer_speed_bps == null and
        all(.disks[]; .throughput_bps == null)' >/dev/null ||
        fail "$j: a rate in the API"
done
curl -sf "$api/job-full" | jq -e '.eta_seconds == 0 and
    .duration_seconds >= 1 and .average_rate_bps > 0 and
    (.completed_at | test("Z$"))' >/dev/null || fail "job-full figures"
curl -sf "$api/job-run" | jq -e '.transfer_speed_bps == 52428800 and
    .eta_seconds >= 0 and .disks[0].throughput_bps == 26214400' \
    >/dev/null || fail "job-run figures"
curl -sf "$api?format=csv&q=job-evil" >"$tmp/evil.csv"
grep -qF "\"'=cmd|' /C calc'!A0<img src=x onerror=alert(1)>\"" \
    "$tmp/evil.csv" || { cat "$tmp/evil.csv" >&2; fail "CSV cell"; }
grep -q ',"=' "$tmp/evil.csv" && fail "a CSV cell starts with ="

TZ=Asia/Kathmandu timeout 300 python3 "$SRCDIR/tests/oma-console.py" \
    "http://127.0.0.1:$oma" "$tmp" "$BUILDDIR" "$HOSTILE" ||
    fail "the console test failed"
kill "$runner_pid" 2>/dev/null || :
wait "$runner_pid" 2>/dev/null || :
stop_service "$oma_pid" "$tmp/oma-2.log"
