#!/usr/bin/env bash
# A source that cannot be opened (no server, no such export, no such
# file): exit 1, one clear line, and no target created.
. "$(dirname "$0")/functions.sh" || exit 1
requires qemu-nbd --version
make_tmpdir

# Server unreachable.
expect_exit 1 "$CBTRACK" copy "nbd+unix:///?socket=$tmp/nothing.sock" \
    "$tmp/out.img"
expect_stderr 'cbtrack copy: .*cannot connect'
[ ! -e "$tmp/out.img" ] || fail "target created although the source failed"
expect_exit 1 "$CBTRACK" plan "nbd+unix:///?socket=$tmp/nothing.sock"
expect_stderr 'cbtrack plan: .*cannot connect'

# Export missing.
truncate -s 1M "$tmp/disk.raw"
start_qemu_nbd q -r -f raw -x disk0 "$tmp/disk.raw"
expect_exit 1 "$CBTRACK" copy "nbd+unix:///nosuchexport?socket=$q" \
    "$tmp/out.img"
expect_stderr 'cannot connect'

# Source file missing.
expect_exit 1 "$CBTRACK" copy "$tmp/missing.img" "$tmp/out.img"
expect_stderr 'missing.img: No such file'
