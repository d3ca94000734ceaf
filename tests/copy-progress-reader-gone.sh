#!/usr/bin/env bash
# A reader of --progress=FD that goes away (`3>&1 | head -2`) does not
# kill the copy: it says so once, goes on, completes, identical.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --filter=rate null --version
requires nbdcopy --version
make_tmpdir

start_nbdkit src --filter=rate random size=16M seed=4 \
    rate=32M
set +o pipefail
"$CBTRACK" copy -q --progress=3 "$src_uri" "$tmp/out.img" \
    3>&1 2>"$tmp/stderr" | head -2 >"$tmp/lines"
status=${PIPESTATUS[0]}
[ "$status" = 0 ] || { cat "$tmp/stderr" >&2; fail "copy exited $status"; }
[ "$(wc -l < "$tmp/lines")" = 2 ] || fail "expected 2 progress lines"
grep -q 'warning: --progress (file descriptor 3): Broken pipe' \
    "$tmp/stderr" || { cat "$tmp/stderr" >&2; fail "no warning"; }
[ "$(grep -c warning "$tmp/stderr")" = 1 ] || fail "warned more than once"
check_same "$src_uri" "$tmp/out.img"
