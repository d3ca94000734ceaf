#!/usr/bin/env bash
# `make deb` builds a Debian package (tests skipped: DEB_BUILD_OPTIONS=
# nocheck) from a copy of the source, and the package holds the binary,
# the manual pages, both systemd units, the sysusers file, the docs and
# the contrib examples, and makes the cbtrack user.  Slow: skipped unless
# dpkg-buildpackage and debhelper are installed.
. "$(dirname "$0")/functions.sh" || exit 1
# The package is built from the source with its own flags, the same in
# both builds of the tests: once, in the normal build, is enough.
requires_unsanitized
requires command -v dpkg-buildpackage
requires command -v dh
requires dpkg-checkbuilddeps -d 'debhelper-compat (= 13)' /dev/null
make_tmpdir

mkdir "$tmp/src"
tar -C "$SRCDIR" --exclude=./build --exclude='./build-*' \
    --exclude=./deb-out --exclude=./.git --exclude='./obj-*' -cf - . |
    tar -C "$tmp/src" -xf -
( cd "$tmp/src" && unset DEB_BUILD_OPTIONS &&
  make deb DEB_OUT="$tmp/out" ) >"$tmp/build.log" 2>&1 ||
    { tail -n 40 "$tmp/build.log" >&2; fail "make deb failed"; }
deb=$(ls "$tmp"/out/cbtrack_*.deb)
[ -f "$deb" ] || fail "no .deb in $tmp/out"
ls "$tmp/src/.." | grep -q '\.deb$' && fail "a .deb was written next to the source"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$tmp/files"
for f in /usr/bin/cbtrack \
         /usr/share/man/man1/cbtrack.1.gz \
         /usr/share/man/man1/cbtrack-copy.1.gz \
         /usr/share/man/man1/cbtrack-plan.1.gz \
         /usr/share/man/man1/cbtrack-status.1.gz \
         /usr/share/man/man8/cbtrack-vma.8.gz \
         /usr/share/man/man8/cbtrack-oma.8.gz \
         /lib/systemd/system/cbtrack-vma.service \
         /lib/systemd/system/cbtrack-oma.service \
         /usr/lib/sysusers.d/cbtrack.conf \
         /usr/share/doc/cbtrack/copyright \
         /usr/share/doc/cbtrack/oma.md.gz \
         /usr/share/doc/cbtrack/examples/README.md \
         /usr/share/doc/cbtrack/examples/alerts.yml \
         /usr/share/doc/cbtrack/examples/cbtrack.json; do
    grep -qxF "$f" "$tmp/files" || { cat "$tmp/files" >&2; fail "no $f"; }
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./postinst | grep -q 'adduser --system' ||
    fail "postinst does not make the cbtrack user"
dpkg-deb -f "$deb" Depends | grep -q adduser || fail "Depends lacks adduser"
# The unit starts the packaged binary.
dpkg-deb --fsys-tarfile "$deb" |
    tar -xOf - ./lib/systemd/system/cbtrack-oma.service |
    grep -q '^ExecStart=/usr/bin/cbtrack oma ' || fail "ExecStart path"

if command -v lintian >/dev/null; then
    lintian --tag-display-limit 0 "$deb" >"$tmp/lintian" 2>&1 || true
    echo "lintian findings:" >&2
    cat "$tmp/lintian" >&2
fi
