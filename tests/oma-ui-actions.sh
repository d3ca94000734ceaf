#!/usr/bin/env bash
# The web UI acting, in headless Chromium over the DevTools protocol: the
# page sends a browser without a session to the login form, which refuses
# a wrong password and logs in with the right one; the Cancel button of a
# real running copy stops it (the copier exits 1, the page shows the job
# cancelled), and the same command again completes it: target == source.
# Saves a screenshot as $BUILDDIR/oma-ui-cancel.png.
. "$SRCDIR/tests/functions.sh"
requires_unsanitized
requires test -x /usr/bin/chromium
requires python3 --version
requires nbdkit --filter=rate null --version
requires curl --version
requires jq --version
requires openssl version
make_tmpdir
set -o pipefail

echo vma-secret >"$tmp/vma-token"
printf 'op:%s\n' "$(openssl passwd -6 'op password')" >"$tmp/users"
start_service vma_pid vma "$tmp/vma.log" "$CBTRACK" vma \
    --token-file "$tmp/vma-token"
vma_url="http://127.0.0.1:$vma"
start_service oma_pid oma "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --vma "$vma_url" --vma-token-file \
    "$tmp/vma-token" --users-file "$tmp/users" --poll-interval 0.3 \
    --dead-timeout 60

args=(sparse-random size=64M seed=3 percent=50)
# -t 1: nbdkit 1.32 can abort when a client leaves with replies in flight.
start_nbdkit src -t 1 --filter=rate "${args[@]}" rate=8M
start_nbdkit ref "${args[@]}"
copy_cmd=("$CBTRACK" copy -q --report-interval 0.2 --vma-url "$vma_url"
          --vma-token-file "$tmp/vma-token" --job ui-1 --disk d1
          "$src_uri" "$tmp/out.img")
"${copy_cmd[@]}" 2>"$tmp/stderr" &
copy=$!
cleanup_fn kill_daemon "$copy"
# The OMA's view, through a session of its own.
curl -sf -c "$tmp/jar" -H 'Content-Type: application/json' \
    -d '{"user":"op","password":"op password"}' \
    "http://127.0.0.1:$oma/api/v1/login" >/dev/null || fail "login"
api () { curl -sf -b "$tmp/jar" "http://127.0.0.1:$oma/api/v1/replications/ui-1"; }
replicating () { api | jq -e '.status == "replicating"' >/dev/null; }
wait_for 30 replicating || fail "the OMA did not see the copy"

timeout 150 python3 "$SRCDIR/tests/helpers/cdp_actions.py" \
    "http://127.0.0.1:$oma" op 'op password' ui-1 \
    "$BUILDDIR/oma-ui-cancel.png" || fail "the browser scenario failed"

status=0
timeout 30 tail --pid="$copy" -f /dev/null || fail "the copy did not stop"
wait "$copy" || status=$?
[ "$status" = 1 ] || { cat "$tmp/stderr" >&2; fail "copy exited $status"; }
expect_stderr 'cancelled through the VMA; run the same command to resume$'
grep -q 'job ui-1: cancel requested by op' "$tmp/oma.log" ||
    fail "the OMA did not log who cancelled"
[ -s "$BUILDDIR/oma-ui-cancel.png" ] || fail "no screenshot"

"${copy_cmd[@]}" 2>"$tmp/stderr2" || { cat "$tmp/stderr2" >&2; fail "resume"; }
check_same "$ref_uri" "$tmp/out.img"
stop_service "$oma_pid" "$tmp/oma.log"
stop_service "$vma_pid" "$tmp/vma.log"
