#!/usr/bin/env bash
# The manual pages render without warnings, and every long option that a
# command's --help prints is in that command's page.
. "$(dirname "$0")/functions.sh" || exit 1
requires groff --version
make_tmpdir

mandir="$BUILDDIR/docs/man"
[ -f "$mandir/cbtrack.1" ] || {
    echo "$0: skipped: pages not built (pod2man missing)" >&2
    exit 77
}

for page in cbtrack.1 cbtrack-copy.1 cbtrack-plan.1 cbtrack-status.1 cbtrack-vsphere.1 \
            cbtrack-vma.8 cbtrack-oma.8; do
    [ -s "$mandir/$page" ] || fail "$page missing"
    # -ww: every warning; -z: no output, warnings only.
    LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$mandir/$page" \
        >"$tmp/warn" 2>&1 || fail "groff failed on $page"
    [ ! -s "$tmp/warn" ] || { cat "$tmp/warn"; fail "$page: warnings"; }
    if command -v man >/dev/null; then
        LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l \
            "$mandir/$page" >"$tmp/out" 2>"$tmp/warn" ||
            fail "man -l failed on $page"
        [ ! -s "$tmp/warn" ] || { cat "$tmp/warn"; fail "$page: warnings"; }
        grep -q NAME "$tmp/out" || fail "$page renders empty"
    fi
done

# Every --LONG in each --help appears in the rendered page (as plain ASCII
# text: roff's \- becomes '-').
check_options ()                # check_options PAGE HELP-COMMAND...
{
    local page=$1 opt
    shift
    "$@" --help >"$tmp/help" || fail "$* --help"
    LC_ALL=C groff -man -Tascii -P-cbou "$mandir/$page" >"$tmp/page" \
        2>/dev/null
    for opt in $(grep -oE -- '--[a-z][a-z0-9-]*' "$tmp/help" | sort -u); do
        grep -qF -- "$opt" "$tmp/page" ||
            fail "$page does not document $opt (in $* --help)"
    done
}
check_options cbtrack.1 "$CBTRACK"
check_options cbtrack-copy.1 "$CBTRACK" copy
check_options cbtrack-plan.1 "$CBTRACK" plan
check_options cbtrack-status.1 "$CBTRACK" status
check_options cbtrack-vsphere.1 "$CBTRACK" vsphere
check_options cbtrack-vma.8 "$CBTRACK" vma
check_options cbtrack-oma.8 "$CBTRACK" oma

# And every subcommand answers --version and -V.
for cmd in copy plan status vsphere vma oma; do
    "$CBTRACK" $cmd --version | grep -Eq '^cbtrack [0-9.]+$' ||
        fail "$cmd --version"
    "$CBTRACK" $cmd -V | grep -Eq '^cbtrack [0-9.]+$' || fail "$cmd -V"
done
