#!/usr/bin/env bash
# Malformed changed-area lists are refused before a byte is written:
# unsorted, overlapping, beyond the end, wrong types, negative numbers,
# not JSON, an empty or missing file.  Exit status 1 or 2, a clear
# message, the target's checksum unchanged.  Then the valid list works.
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
inc_write "$src" "write -s $tmp/rand.bin 1048576 65536" \
                 "write -s $tmp/rand.bin 8388608 131072"
inc_serve srv "$src" --bitmap=cbt
before=$(file_sha256 "$dst")

m=1048576
area () { printf '{"start":%s,"length":%s}' "$1" "$2"; }
dci () { printf '{"startOffset":0,"length":%s,"changedArea":[%s]}' "$size" "$1"; }

bad=0
bad_file ()
{
    local name=$1
    bad=$((bad + 1))
    printf '%s' "$2" >"$tmp/bad-$name.json"
}
bad_file unsorted "$(dci "$(area $((8 * m)) $m),$(area $m $m)")"
bad_file overlapping "$(dci "$(area $m $((2 * m))),$(area $((2 * m)) $m)")"
bad_file beyond-end "$(dci "$(area $((size - m)) $((2 * m)))")"
bad_file start-beyond-end "$(dci "$(area $((size + m)) $m)")"
bad_file disk-length-too-big "$(printf '{"startOffset":0,"length":%s,"changedArea":[%s]}' $((2 * size)) "$(area $((size + m)) $m)")"
bad_file string-start "$(dci '{"start":"1048576","length":65536}')"
bad_file float-length "$(dci '{"start":1048576,"length":65536.5}')"
bad_file negative-start "$(dci "$(area -65536 65536)")"
bad_file negative-length "$(dci "$(area $m -65536)")"
bad_file areas-not-array "$(printf '{"startOffset":0,"length":%s,"changedArea":{"start":0,"length":1}}' "$size")"
bad_file area-missing-length "$(dci '{"start":1048576}')"
bad_file not-an-object '"changedArea"'
bad_file page-unsorted "[$(printf '{"startOffset":%s,"length":%s,"changedArea":[%s]}' $((32 * m)) $((32 * m)) "$(area $((40 * m)) $m)"),$(printf '{"startOffset":0,"length":%s,"changedArea":[%s]}' $((32 * m)) "$(area $m $m)")]"
bad_file area-outside-page "[$(printf '{"startOffset":0,"length":%s,"changedArea":[%s]}' $((32 * m)) "$(area $((40 * m)) $m)")]"
bad_file not-json '{"startOffset":0,"length":'
bad_file garbage 'this is not json'
bad_file empty ''

for f in "$tmp"/bad-*.json "$tmp/does-not-exist.json"; do
    for cmd in copy plan; do
        if [ "$cmd" = copy ]; then
            args=("$srv_uri" "$dst")
        else
            args=("$srv_uri")
        fi
        rc=0
        "$CBTRACK" "$cmd" --changed-areas "$f" "${args[@]}" \
            >/dev/null 2>"$tmp/stderr" || rc=$?
        case "$rc" in
        1|2) ;;
        *) cat "$tmp/stderr" >&2
           fail "$cmd accepted $(basename "$f") (exit $rc)" ;;
        esac
        grep -q "^cbtrack $cmd: " "$tmp/stderr" || {
            cat "$tmp/stderr" >&2
            fail "$cmd: no 'cbtrack $cmd:' message for $(basename "$f")"
        }
        [ "$(file_sha256 "$dst")" = "$before" ] ||
            fail "target changed by a refused $(basename "$f")"
    done
done

# --bitmap and --changed-areas together is a usage error.
inc_changed_areas "$srv_uri" cbt object >"$tmp/good.json"
expect_exit 2 "$CBTRACK" copy --bitmap cbt --changed-areas "$tmp/good.json" \
    "$srv_uri" "$dst"
[ "$(file_sha256 "$dst")" = "$before" ] || fail "target changed by a usage error"

# The valid list, on the same target: accepted, and the copy is right.
"$CBTRACK" copy --changed-areas "$tmp/good.json" "$srv_uri" "$dst" \
    2>"$tmp/stderr" || { cat "$tmp/stderr" >&2; fail "valid list refused"; }
inc_expect_equal "$dst" "$src" "valid changed areas"
