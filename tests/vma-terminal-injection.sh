#!/usr/bin/env bash
# Control characters in peer texts (ESC, CR, BEL in an error_message or
# a VM name) never reach a terminal: the VMA and the OMA strip them at
# input, and cbtrack status prints none.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq

start_vma
evil='\u001b[2J\u001b[31mowned\r\u0007\u009b31m'
post_update job-1 "{\"disk_id\":\"d1\",\"status\":\"failed\",
                    \"error_message\":\"$evil\"}"
"$CBTRACK" status --vma "$vma_url" >"$tmp/out" 2>&1 || :
"$CBTRACK" status --vma "$vma_url" job-1 >>"$tmp/out" 2>&1 || :
grep -q owned "$tmp/out" || fail "the message is not shown: $(cat "$tmp/out")"
if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]\|\xc2[\x80-\x9f]' "$tmp/out"
then
    fail "cbtrack status printed control characters: $(od -c "$tmp/out" | head)"
fi
curl -sf "$vma_url/api/v1/progress/job-1" >"$tmp/job.json"
jq -e '[.error_message, .disks[0].error_message] |
       all(test("[\u0000-\u001f\u007f-\u009f]") | not)' "$tmp/job.json" \
    >/dev/null || fail "the VMA kept control characters: $(cat "$tmp/job.json")"

# The OMA: a registered name.
. "$SRCDIR/tests/oma-functions.sh"
start_service oma_pid port "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/oma.db" --vma "$vma_url" --poll-interval 1h
expect 201 POST /api/v1/replications \
    -d "{\"id\":\"job-2\",\"source_vm_name\":\"vm$evil\"}"
expect 200 GET /api/v1/replications/job-2
jq -e '.source_vm_name | test("owned") and
       (test("[\u0000-\u001f\u007f-\u009f]") | not)' "$tmp/body" >/dev/null ||
    fail "the OMA kept control characters: $(cat "$tmp/body")"
stop_service "$oma_pid" "$tmp/oma.log"
stop_vma
