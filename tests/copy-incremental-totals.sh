#!/usr/bin/env bash
# The size of an incremental copy is dirty ∩ data: the total in the JSON
# progress stream and `cbtrack plan --bitmap --json` transfer_bytes equal
# the intersection computed here from nbdinfo's two maps, and plan's dirty
# total agrees with `nbdinfo --map=qemu:dirty-bitmap:NAME --totals`.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/incremental-functions.sh"
inc_requires
make_tmpdir

size=$(( 96 * 1024 * 1024 ))
src="$tmp/source.qcow2"
dst="$tmp/target.img"
inc_make_base "$src" "$size"
qemu-img convert -f qcow2 -O raw "$src" "$dst"

qemu-img bitmap --add "$src" cbt
mapfile -t cmds < <(inc_scattered_writes "$size" 7 80)
# Dirty but zero now (not counted), dirty data that is partly zero, and a
# write straddling a cluster boundary.
inc_write "$src" "${cmds[@]}" \
    "write -z 20971520 1048576" \
    "write -P 0 41943040 131072" \
    "write -P 0x42 $(( 8 * 1048576 - 100 )) 200"
inc_serve srv "$src" --bitmap=cbt

want=$(inc_dirty_data_bytes "$srv_uri" cbt)
dirty=$(inc_dirty_total "$srv_uri" cbt)
[ "$want" -gt 0 ] && [ "$want" -lt "$dirty" ] ||
    fail "test set-up: expected 0 < dirty∩data ($want) < dirty ($dirty)"

"$CBTRACK" plan --bitmap cbt --json "$srv_uri" >"$tmp/plan.json" ||
    fail "plan --bitmap --json"
jq -e --argjson want "$want" --argjson dirty "$dirty" --argjson size "$size" '
    .transfer_bytes == $want and .dirty_bytes == $dirty
    and .capacity_bytes == $size and .sync_type == "incremental"
    and (.extents | type == "array")' "$tmp/plan.json" >/dev/null || {
    cat "$tmp/plan.json" >&2
    fail "plan: want transfer_bytes $want, dirty_bytes $dirty"
}
"$CBTRACK" plan --bitmap cbt "$srv_uri" >"$tmp/plan.txt" || fail "plan --bitmap"
[ -s "$tmp/plan.txt" ] || fail "plan --bitmap printed nothing"

"$CBTRACK" copy --bitmap cbt --progress-json=3 "$srv_uri" "$dst" \
    3>"$tmp/progress.json" 2>"$tmp/stderr" || {
    cat "$tmp/stderr" >&2
    fail "copy --bitmap"
}
inc_check_progress_json "$tmp/progress.json" "$want"
inc_stop srv
inc_expect_equal "$dst" "$src" "incremental copy"
