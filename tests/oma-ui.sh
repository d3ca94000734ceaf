#!/usr/bin/env bash
# cbtrack oma's web UI in headless Chromium against a live OMA fed by a
# real VMA: every job's bar and text, per-disk bars, the chart's samples,
# and a hostile job name that must stay text.  Saves a screenshot as
# $BUILDDIR/oma-ui.png.
. "$SRCDIR/tests/functions.sh"
requires_unsanitized
requires test -x /usr/bin/chromium
requires command -v curl
requires command -v jq
make_tmpdir

GiB=$((1024 * 1024 * 1024))
start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma
start_service oma_pid oma "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/ui.db" --vma "http://127.0.0.1:$vma" --poll-interval 0.3

register ()
{
    curl -sf -o /dev/null -X POST -d "$1" \
        "http://127.0.0.1:$oma/api/v1/replications" || fail "register $1"
}
update ()
{
    curl -sf -o /dev/null -X POST -d "$2" \
        "http://127.0.0.1:$vma/api/v1/progress/$1/update" ||
        fail "update $1: $2"
}

register '{"id":"job-1","source_vm_name":"web01"}'
register '{"id":"job-evil","source_vm_name":"<img src=x onerror=alert(1)>"}'
update job-1 "{\"disk_id\":\"disk-a\",\"status\":\"completed\",
    \"stage\":\"Transfer\",\"bytes_transferred\":$((8 * GiB)),
    \"total_bytes\":$((8 * GiB))}"
update job-1 "{\"disk_id\":\"disk-b\",\"status\":\"in_progress\",
    \"stage\":\"Transfer\",\"bytes_transferred\":$((4 * GiB)),
    \"total_bytes\":$((10 * GiB)),\"throughput_bps\":220200960}"
update job-evil "{\"disk_id\":\"disk-x\",\"status\":\"in_progress\",
    \"stage\":\"Transfer\",\"bytes_transferred\":$((1 * GiB)),
    \"total_bytes\":$((4 * GiB))}"

history_ready ()
{
    get_json "http://127.0.0.1:$oma/api/v1/replications/job-1" |
        jq -e '.history | length >= 3' >/dev/null &&
    get_json "http://127.0.0.1:$oma/api/v1/replications/job-evil" |
        jq -e '.status == "replicating"' >/dev/null
}
wait_for 30 history_ready || fail "the poller did not fill the rows"

chrome ()
{
    mkdir -p "$tmp/profile-$1"
    timeout 120 /usr/bin/chromium --headless --no-sandbox --disable-gpu \
        --disable-quic --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync \
        --user-data-dir="$tmp/profile-$1" --window-size=1200,900 \
        --virtual-time-budget=8000 "${@:2}" "http://127.0.0.1:$oma/" \
        2>>"$tmp/chromium.log"
}

chrome dom --dump-dom >"$tmp/dom.html" || {
    tail -20 "$tmp/chromium.log" >&2
    fail "chromium failed"
}
# One line per job card.
tr -d '\n' <"$tmp/dom.html" | sed 's/<li /\n<li /g' >"$tmp/cards"
card ()
{
    grep -F "data-job-id=\"$1\"" "$tmp/cards" ||
        { cat "$tmp/dom.html" >&2; fail "no card for $1"; }
}
card job-1 | grep -qF '12.0 GiB of 18.0 GiB (67 %)' || fail "job-1 text"
card job-1 | grep -qF 'data-percent="66.66"' || fail "job-1 bar"
# The bar may run ahead of the confirmed 66.66 % at the job's rate, but
# never past what the next poll (0.3 s later) could confirm: 210 MiB/s ×
# 0.3 s of 18 GiB is 0.34 %.
card job-1 | grep -qE 'width: (66\.(6[6-9]|[7-9][0-9])|67(\.00)?)%' ||
    fail "job-1 bar width"
card job-1 | grep -qF '>web01<' || fail "job-1 name"
card job-1 | grep -qF '8.0 GiB of 8.0 GiB (100 %)' || fail "disk-a text"
card job-1 | grep -qF '4.0 GiB of 10.0 GiB (40 %)' || fail "disk-b text"
card job-1 | grep -qF '210.0 MiB/s' || fail "job-1 throughput"
card job-1 | grep -qF 'status-replicating' || fail "job-1 status colour"
card job-evil | grep -qF '1.0 GiB of 4.0 GiB (25 %)' || fail "job-evil text"
card job-evil | grep -qF 'data-percent="25.00"' || fail "job-evil bar"
card job-evil | grep -qF '&lt;img src=x onerror=alert(1)&gt;' ||
    fail "the hostile name is not shown as text"
grep -qi '<img' "$tmp/dom.html" && fail "the hostile name became markup"
grep -qF 'samples over' "$tmp/dom.html" || fail "the chart has no samples"
grep -qF '2 jobs' "$tmp/dom.html" || fail "summary"

rm -f "$BUILDDIR/oma-ui.png"
chrome shot --screenshot="$BUILDDIR/oma-ui.png" >/dev/null ||
    fail "screenshot failed"
[ -s "$BUILDDIR/oma-ui.png" ] || fail "no screenshot"
head -c 8 "$BUILDDIR/oma-ui.png" | od -An -c | grep -q 'P   N   G' ||
    fail "the screenshot is not a PNG"
stop_service "$oma_pid" "$tmp/oma.log"
