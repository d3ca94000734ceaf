#!/usr/bin/env bash
# The VMware path: a QueryChangedDiskAreas result (DiskChangeInfo JSON) made
# from a qcow2 bitmap's dirty map drives `cbtrack copy --changed-areas` to
# the same result as the bitmap itself -- as one object, as an array of
# pages, and with touching areas that must be merged; to a local file and
# to an NBD target.  plan --changed-areas counts what plan --bitmap counts.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/incremental-functions.sh"
inc_requires
make_tmpdir

size=$(( 64 * 1024 * 1024 ))
src="$tmp/source.qcow2"
base="$tmp/base.img"
inc_make_base "$src" "$size"
qemu-img convert -f qcow2 -O raw "$src" "$base"     # the earlier full copy

qemu-img bitmap --add "$src" cbt
mapfile -t cmds < <(inc_scattered_writes "$size" 11 50)
inc_write "$src" "${cmds[@]}" \
    "write -s $tmp/rand.bin 16777000 1000" \
    "write -s $tmp/rand.bin $(( size - 512 )) 512"
inc_serve srv "$src" --bitmap=cbt

for form in object pages split; do
    inc_changed_areas "$srv_uri" cbt "$form" >"$tmp/$form.json"
done
jq -e 'type == "array" and length == 4' "$tmp/pages.json" >/dev/null ||
    fail "test set-up: pages form"

want=$(inc_dirty_data_bytes "$srv_uri" cbt)
"$CBTRACK" plan --bitmap cbt --json "$srv_uri" >"$tmp/plan-bitmap.json" ||
    fail "plan --bitmap"
for form in object pages split; do
    "$CBTRACK" plan --changed-areas "$tmp/$form.json" --json "$srv_uri" \
        >"$tmp/plan-$form.json" || fail "plan --changed-areas ($form)"
    jq -e --argjson want "$want" --slurpfile b "$tmp/plan-bitmap.json" '
        .transfer_bytes == $want and .dirty_bytes == $b[0].dirty_bytes
        and .sync_type == "incremental"' "$tmp/plan-$form.json" >/dev/null || {
        cat "$tmp/plan-bitmap.json" "$tmp/plan-$form.json" >&2
        fail "plan --changed-areas ($form) differs from plan --bitmap"
    }
done

# To local files.
for form in object pages split; do
    cp --sparse=always "$base" "$tmp/target-$form.img"
    "$CBTRACK" copy --changed-areas "$tmp/$form.json" --progress-json=3 \
        "$srv_uri" "$tmp/target-$form.img" \
        3>"$tmp/progress-$form.json" 2>"$tmp/stderr" || {
        cat "$tmp/stderr" >&2
        fail "copy --changed-areas ($form)"
    }
    inc_check_progress_json "$tmp/progress-$form.json" "$want"
    inc_expect_equal "$tmp/target-$form.img" "$src" "changed areas ($form)"
done

# The bitmap itself gives the byte-identical target.
cp --sparse=always "$base" "$tmp/target-bitmap.img"
"$CBTRACK" copy --bitmap cbt "$srv_uri" "$tmp/target-bitmap.img" \
    2>"$tmp/stderr" || { cat "$tmp/stderr" >&2; fail "copy --bitmap"; }
cmp "$tmp/target-bitmap.img" "$tmp/target-object.img" ||
    fail "--bitmap and --changed-areas targets differ"

# To an NBD target (qemu-nbd serving a raw copy of the base, writable).
cp --sparse=always "$base" "$tmp/target-nbd.img"
start_qemu_nbd dst -f raw --shared=0 "$tmp/target-nbd.img"
"$CBTRACK" copy --changed-areas "$tmp/pages.json" "$srv_uri" "$dst_uri" \
    2>"$tmp/stderr" || { cat "$tmp/stderr" >&2; fail "copy to NBD target"; }
[ "$(nbd_sha256 "$dst_uri")" = "$(nbd_sha256 "$srv_uri")" ] ||
    fail "NBD target differs from source"
