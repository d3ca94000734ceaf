#!/usr/bin/env bash
# `make install` (meson install) puts in place the binary, the six manual
# pages, both systemd units (their ExecStart naming the installed binary)
# and the sysusers file; the installed page opens with man.
. "$(dirname "$0")/functions.sh" || exit 1
requires jq --version
make_tmpdir

meson install -C "$BUILDDIR" --no-rebuild --quiet --destdir "$tmp/root" \
    >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "install"; }
prefix=$(meson introspect "$BUILDDIR" --buildoptions |
    jq -r '.[] | select(.name == "prefix") | .value')
mandir=$(meson introspect "$BUILDDIR" --buildoptions |
    jq -r '.[] | select(.name == "mandir") | .value')
root=$tmp/root$prefix
[ -x "$root/bin/cbtrack" ] || fail "no bin/cbtrack"
for page in man1/cbtrack.1 man1/cbtrack-copy.1 man1/cbtrack-plan.1 \
            man1/cbtrack-status.1 man8/cbtrack-vma.8 man8/cbtrack-oma.8; do
    [ -s "$root/$mandir/$page" ] || fail "no $mandir/$page"
done
for u in vma oma; do
    f=$(find "$tmp/root" -name "cbtrack-$u.service")
    [ -n "$f" ] || fail "no cbtrack-$u.service"
    grep -q "^ExecStart=$prefix/bin/cbtrack $u" "$f" ||
        fail "cbtrack-$u.service does not start $prefix/bin/cbtrack"
done
[ -n "$(find "$tmp/root" -path '*/sysusers.d/cbtrack.conf')" ] ||
    fail "no sysusers.d/cbtrack.conf"
if command -v man >/dev/null; then
    MANWIDTH=80 man -l "$root/$mandir/man8/cbtrack-oma.8" 2>/dev/null |
        grep -q -- '--db-password-file' || fail "man cbtrack-oma"
fi
