#!/usr/bin/env bash
# Nothing changed since the bitmap was added (or an empty changed-area
# list): the copy completes at once at 100 % with total 0, sync_type
# incremental, and the target is left as it was.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/incremental-functions.sh"
inc_requires
make_tmpdir

size=$(( 64 * 1024 * 1024 ))
src="$tmp/source.qcow2"
dst="$tmp/target.img"
inc_make_base "$src" "$size"
qemu-img convert -f qcow2 -O raw "$src" "$dst"
qemu-img bitmap --add "$src" cbt
inc_serve srv "$src" --bitmap=cbt
[ "$(inc_dirty_total "$srv_uri" cbt)" = 0 ] || fail "test set-up: bitmap not empty"
before=$(file_sha256 "$dst")

"$CBTRACK" plan --bitmap cbt --json "$srv_uri" >"$tmp/plan.json" || fail "plan"
jq -e '.dirty_bytes == 0 and .transfer_bytes == 0
       and .sync_type == "incremental"' "$tmp/plan.json" >/dev/null || {
    cat "$tmp/plan.json" >&2
    fail "plan of an empty bitmap"
}

"$CBTRACK" copy --bitmap cbt --progress-json=3 --progress=4 "$srv_uri" "$dst" \
    3>"$tmp/progress.json" 4>"$tmp/progress.txt" 2>"$tmp/stderr" || {
    cat "$tmp/stderr" >&2
    fail "copy --bitmap with nothing changed"
}
inc_check_progress_json "$tmp/progress.json" 0
[ "$(tail -n1 "$tmp/progress.txt")" = 100/100 ] || {
    cat "$tmp/progress.txt" >&2
    fail "--progress did not end at 100/100"
}
[ "$(file_sha256 "$dst")" = "$before" ] || fail "target changed"

# The same with an empty VMware change list.
printf '{"startOffset":0,"length":%s,"changedArea":[]}' "$size" >"$tmp/empty.json"
"$CBTRACK" copy --changed-areas "$tmp/empty.json" --progress-json=3 \
    "$srv_uri" "$dst" 3>"$tmp/progress2.json" 2>"$tmp/stderr" || {
    cat "$tmp/stderr" >&2
    fail "copy --changed-areas with an empty list"
}
inc_check_progress_json "$tmp/progress2.json" 0
[ "$(file_sha256 "$dst")" = "$before" ] || fail "target changed"
inc_expect_equal "$dst" "$src" "nothing changed"
