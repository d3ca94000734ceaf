#!/usr/bin/env bash
# Cancel through the OMA's API: refused without authentication; with it,
# the OMA asks the VMA, the copier stops cleanly at its next update (exit
# 1, one line), the job reads "cancelled" in the API (status failed in
# the database, with cancel_requested_at), and the same command again
# resumes the copy: the target equals the source.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --filter=rate null --version
requires curl --version
requires jq --version
requires sqlite3 --version
make_tmpdir
# A failed curl must fail the check (jq -e is true on empty input).
set -o pipefail

echo vma-secret >"$tmp/vma-token"
echo operator-secret >"$tmp/auth-token"
start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma \
    --token-file "$tmp/vma-token"
vma_url="http://127.0.0.1:$vma"
start_service oma_pid oma "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --vma "$vma_url" --vma-token-file \
    "$tmp/vma-token" --auth-token-file "$tmp/auth-token" \
    --poll-interval 0.3 --dead-timeout 30
oma_url="http://127.0.0.1:$oma"
auth=(-H "Authorization: Bearer operator-secret")
api () { curl -sf "${auth[@]}" "$oma_url/api/v1/replications/$1"; }
cancel () { curl -s -o "$tmp/answer" -w '%{http_code}' -X POST "$@" \
                "$oma_url/api/v1/replications/oc-1/cancel"; }

args=(sparse-random size=64M seed=5 percent=50)
# -t 1: nbdkit 1.32 can abort when a client leaves with replies in flight.
start_nbdkit src -t 1 --filter=rate "${args[@]}" rate=16M
start_nbdkit ref "${args[@]}"
copy_cmd=("$CBTRACK" copy -q --report-interval 0.2 --vma-url "$vma_url"
          --vma-token-file "$tmp/vma-token" --job oc-1 --disk d1
          "$src_uri" "$tmp/out.img")
"${copy_cmd[@]}" 2>"$tmp/stderr" &
copy=$!
cleanup_fn kill_daemon "$copy"

replicating () { api oc-1 | jq -e '.status == "replicating"
                                   and .bytes_transferred > 0' >/dev/null; }
wait_for 30 replicating || fail "the OMA never saw the copy: $(api oc-1)"

code=$(cancel)
[ "$code" = 401 ] || fail "a cancel without authentication got $code"
code=$(cancel -H "Authorization: Bearer wrong")
[ "$code" = 401 ] || fail "a cancel with a wrong token got $code"
kill -0 "$copy" || fail "the copy stopped after refused cancels"

code=$(cancel "${auth[@]}")
[ "$code" = 202 ] || fail "cancel: $code $(cat "$tmp/answer")"
jq -e '.status == "cancelling"' "$tmp/answer" >/dev/null ||
    fail "cancel answer: $(cat "$tmp/answer")"
timeout 30 tail --pid="$copy" -f /dev/null || fail "the copy did not stop"
status=0
wait "$copy" || status=$?
[ "$status" = 1 ] || { cat "$tmp/stderr" >&2; fail "copy exited $status"; }
expect_stderr '^cbtrack copy: cancelled through the VMA; run the same command to resume$'
expect_one_line

cancelled () { api oc-1 | jq -e '.status == "cancelled"
    and .cancel_requested_at != null and .progress_percent < 100' >/dev/null; }
wait_for 30 cancelled || fail "the OMA's job: $(api oc-1)"
[ "$(sqlite3 "$tmp/oma.db" "SELECT status, cancel_requested_at IS NOT NULL
      FROM replication_jobs WHERE id = 'oc-1'")" = "failed|1" ] ||
    fail "the row is not failed with its cancel marker"
curl -sf "${auth[@]}" "$oma_url/api/v1/replications" |
    jq -e '.replications[0].status == "cancelled"' >/dev/null ||
    fail "the list does not say cancelled"
code=$(cancel "${auth[@]}")
[ "$code" = 409 ] || fail "cancelling a cancelled job got $code"
grep -q 'job oc-1: cancel requested by bearer token' "$tmp/oma.log" ||
    fail "the OMA did not log the cancel"

# The same command resumes and completes.
"${copy_cmd[@]}" 2>"$tmp/stderr2" || { cat "$tmp/stderr2" >&2; fail "resume"; }
check_same "$ref_uri" "$tmp/out.img"
stop_service "$oma_pid" "$tmp/oma.log"
stop_service "$vma_pid" "$tmp/vma.log"
