#!/usr/bin/env bash
# A job cancelled at the VMA: the copier's next update is answered with
# "cancel": true, it drains, keeps its checkpoint, sends its final update
# and exits 1 with one line; the job shows "cancelled" in the VMA's
# document and in `cbtrack status`; the same command again resumes and
# the target equals the source, having moved only what was left.
. "$(dirname "$0")/functions.sh" || exit 1
. "$(dirname "$0")/vma-functions.sh" || exit 1
requires nbdkit --filter=rate null --version
requires curl --version
requires jq --version
make_tmpdir
# A failed curl must fail the check (jq -e is true on empty input).
set -o pipefail

echo secret >"$tmp/token"
start_vma --token-file "$tmp/token"
args=(sparse-random size=64M seed=11 percent=50)
# -t 1: nbdkit 1.32 can abort when a client leaves with replies in flight.
start_nbdkit src -t 1 --filter=rate "${args[@]}" rate=16M
start_nbdkit ref "${args[@]}"
copy_cmd=("$CBTRACK" copy -q --report-interval 0.2 --vma-url "$vma_url"
          --vma-token-file "$tmp/token" --job cancel-1 --disk d1
          "$src_uri" "$tmp/out.img")
"${copy_cmd[@]}" 2>"$tmp/stderr" &
copy=$!
cleanup_fn kill_daemon "$copy"

job () { curl -sf "$vma_url/api/v1/progress/cancel-1"; }
moving () { job | jq -e '.bytes_transferred > 0' >/dev/null; }
wait_for 30 moving || fail "the copy did not start"

# Without the token the cancel is refused and changes nothing.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    "$vma_url/api/v1/progress/cancel-1/cancel")
[ "$code" = 401 ] || fail "a cancel without the token got $code"
job | jq -e '.cancel_requested == null' >/dev/null || fail "$(job)"

curl -sf -X POST -H "Authorization: Bearer secret" \
    "$vma_url/api/v1/progress/cancel-1/cancel" >/dev/null ||
    fail "the cancel was refused"
status=0
timeout 30 tail --pid="$copy" -f /dev/null || fail "the copy did not stop"
wait "$copy" || status=$?
[ "$status" = 1 ] || { cat "$tmp/stderr" >&2; fail "copy exited $status"; }
msg='cancelled through the VMA; run the same command to resume'
expect_stderr "^cbtrack copy: $msg\$"
expect_one_line
job | jq -e --arg m "$msg" '.status == "failed" and .cancelled == true
    and .percent < 100 and .disks[0].error_message == $m' >/dev/null ||
    fail "the VMA's state: $(job)"
"$CBTRACK" status --vma "$vma_url" cancel-1 >"$tmp/status" ||
    fail "cbtrack status failed"
grep -q '^cancel-1  cancelled  ' "$tmp/status" ||
    fail "status does not say cancelled: $(cat "$tmp/status")"
# A finished job cannot be cancelled again.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    -H "Authorization: Bearer secret" \
    "$vma_url/api/v1/progress/cancel-1/cancel")
[ "$code" = 409 ] || fail "cancelling a finished job got $code"

# The same command resumes from the checkpoint and completes.
"${copy_cmd[@]}" 2>"$tmp/stderr2" || { cat "$tmp/stderr2" >&2; fail "resume"; }
job | jq -e '.status == "completed" and .cancelled == null
    and .cancel_requested == null
    and .disks[0].bytes_written < .total_bytes' \
    >/dev/null || fail "after the resume: $(job)"
check_same "$ref_uri" "$tmp/out.img"
stop_vma
