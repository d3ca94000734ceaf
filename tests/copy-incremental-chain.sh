#!/usr/bin/env bash
# Full copy, then a chain of three incremental copies from qcow2 dirty
# bitmaps (qemu-nbd --bitmap), each after many kinds of writes: data,
# zero writes (with and without unmap), discards, writes touching the last
# sector and straddling cluster boundaries.  The target equals the source
# after every copy, and areas the bitmap calls clean are never touched.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/incremental-functions.sh"
inc_requires
make_tmpdir

size=$(( 128 * 1024 * 1024 ))
src="$tmp/source.qcow2"
dst="$tmp/target.img"
inc_make_base "$src" "$size"

# The full copy.
truncate -s "$size" "$dst"
inc_serve srv "$src"
"$CBTRACK" copy "$srv_uri" "$dst" 2>"$tmp/stderr" || {
    cat "$tmp/stderr" >&2
    fail "full copy"
}
inc_stop srv
inc_expect_equal "$dst" "$src" "full copy"

# Incremental 1: every awkward kind of change.
qemu-img bitmap --add "$src" b1
inc_write "$src" \
    "write -s $tmp/rand.bin 1048576 65536" \
    "write -P 0x5a 65024 1024" \
    "write -P 0x5b $(( 6 * 1048576 - 512 )) 1024" \
    "write -s $tmp/rand.bin 5000003 777" \
    "write -z 2097152 262144" \
    "write -z -u 3145728 131072" \
    "discard 4194304 65536" \
    "write -P 0 12582912 65536" \
    "write -s $tmp/rand.bin 30000000 300000" \
    "write -s $tmp/rand.bin $(( size - 512 )) 512" \
    "write -z $(( size - 2 * 1048576 )) 65536" \
    "discard 21495808 1048576"
inc_serve srv "$src" --bitmap=b1
"$CBTRACK" copy --bitmap b1 "$srv_uri" "$dst" 2>"$tmp/stderr" || {
    cat "$tmp/stderr" >&2
    fail "incremental 1"
}
inc_stop srv
inc_expect_equal "$dst" "$src" "incremental 1"

# Incremental 2: a new bitmap, scattered writes of every kind.
qemu-img bitmap --add "$src" b2
mapfile -t cmds < <(inc_scattered_writes "$size" 2 60)
inc_write "$src" "${cmds[@]}" "write -P 0x77 $(( size - 4096 )) 4096"
inc_serve srv "$src" --bitmap=b2
"$CBTRACK" copy --bitmap b2 "$srv_uri" "$dst" 2>"$tmp/stderr" || {
    cat "$tmp/stderr" >&2
    fail "incremental 2"
}
inc_stop srv
inc_expect_equal "$dst" "$src" "incremental 2"

# Incremental 3, run twice: into the target, and into a copy of it that
# carries a marker in an area that is clean in b3 -- the marker must
# survive, because an incremental copy never touches clean areas.
qemu-img bitmap --add "$src" b3
mapfile -t cmds < <(inc_scattered_writes "$size" 3 60)
inc_write "$src" "${cmds[@]}"
inc_serve srv "$src" --bitmap=b3
clean=$(nbdinfo --map=qemu:dirty-bitmap:b3 --json "$srv_uri" |
            jq '[.[] | select(.type == 0 and .length >= 65536)][0].offset')
[ "$clean" != null ] || fail "no clean area in b3"
cp --sparse=always "$dst" "$tmp/marked.img"
printf 'CLEAN AREA MARKER' |
    dd of="$tmp/marked.img" bs=1 seek="$clean" conv=notrunc status=none
"$CBTRACK" copy --bitmap b3 "$srv_uri" "$dst" 2>"$tmp/stderr" || {
    cat "$tmp/stderr" >&2
    fail "incremental 3"
}
"$CBTRACK" copy --bitmap b3 "$srv_uri" "$tmp/marked.img" 2>"$tmp/stderr" || {
    cat "$tmp/stderr" >&2
    fail "incremental 3 (marked target)"
}
inc_stop srv
inc_expect_equal "$dst" "$src" "incremental 3"
[ "$(dd if="$tmp/marked.img" bs=1 skip="$clean" count=17 status=none)" = \
  'CLEAN AREA MARKER' ] || fail "incremental copy wrote to a clean area"
