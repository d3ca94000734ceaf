#!/usr/bin/env bash
# SIGTERM mid-copy: the copy drains, sends a final update saying it was
# interrupted and can resume, and exits 1 with one line.
. "$(dirname "$0")/functions.sh" || exit 1
. "$(dirname "$0")/vma-functions.sh" || exit 1
requires nbdkit --filter=rate null --version
requires curl --version
requires jq --version
make_tmpdir

start_vma
start_nbdkit src --filter=rate sparse-random size=64M seed=8 percent=50 \
    rate=16M
"$CBTRACK" copy -q --report-interval 0.2 --vma-url "$vma_url" \
    --job term-1 --disk d1 "$src_uri" "$tmp/out.img" 2>"$tmp/stderr" &
copy=$!
cleanup_fn kill_daemon "$copy"

job () { get_json "$vma_url/api/v1/progress/term-1"; }
moving () { job | jq -e '.bytes_transferred > 0' >/dev/null; }
wait_for 30 moving || fail "the copy did not start"
kill -TERM "$copy"
status=0
wait "$copy" || status=$?
[ "$status" = 1 ] || { cat "$tmp/stderr" >&2; fail "copy exited $status"; }
expect_stderr '^cbtrack copy: interrupted by SIGTERM; run the same command to resume$'
expect_one_line
msg='interrupted by SIGTERM; run the same command to resume'
job | jq -e --arg m "$msg" '.status == "failed" and .percent < 100
    and .disks[0].error_message == $m' >/dev/null ||
    fail "the VMA's state: $(job)"
