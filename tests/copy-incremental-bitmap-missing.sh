#!/usr/bin/env bash
# Asking for a bitmap the server does not export fails with one clear line
# that names the meta contexts the server does offer, and leaves the
# target untouched.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/incremental-functions.sh"
inc_requires
make_tmpdir

size=$(( 64 * 1024 * 1024 ))
src="$tmp/source.qcow2"
dst="$tmp/target.img"
inc_make_base "$src" "$size"
qemu-img convert -f qcow2 -O raw "$src" "$dst"
qemu-img bitmap --add "$src" present
inc_write "$src" "write -s $tmp/rand.bin 1048576 65536"
before=$(file_sha256 "$dst")

# one_line_error: stderr is exactly one line, naming what was asked and
# what is offered.
one_line_error ()
{
    [ "$(wc -l <"$tmp/stderr")" = 1 ] || {
        cat "$tmp/stderr" >&2
        fail "expected exactly one line on stderr"
    }
    expect_stderr "^cbtrack (copy|plan): .*absent"
    local want
    for want in "$@"; do
        grep -qF -- "$want" "$tmp/stderr" || {
            cat "$tmp/stderr" >&2
            fail "the error does not name '$want'"
        }
    done
}

# A server exporting another bitmap.
inc_serve srv "$src" --bitmap=present
expect_exit 1 "$CBTRACK" copy --bitmap absent "$srv_uri" "$dst"
one_line_error base:allocation qemu:dirty-bitmap:present
[ "$(file_sha256 "$dst")" = "$before" ] || fail "target changed"
expect_exit 1 "$CBTRACK" plan --bitmap absent "$srv_uri"
one_line_error base:allocation qemu:dirty-bitmap:present
inc_stop srv

# A server exporting no bitmap at all.
inc_serve srv "$src"
expect_exit 1 "$CBTRACK" copy --bitmap absent --progress-json=3 "$srv_uri" "$dst" \
    3>"$tmp/progress.json"
one_line_error base:allocation
[ "$(file_sha256 "$dst")" = "$before" ] || fail "target changed"

# The control: the bitmap that is exported works.
inc_stop srv
inc_serve srv "$src" --bitmap=present
"$CBTRACK" copy --bitmap present "$srv_uri" "$dst" 2>"$tmp/stderr" || {
    cat "$tmp/stderr" >&2
    fail "copy --bitmap present"
}
inc_expect_equal "$dst" "$src" "copy --bitmap present"
