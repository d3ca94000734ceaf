#!/usr/bin/env bash
# A source given as [ CMD ARGS ] is an NBD server run as a child with
# systemd socket activation (as nbdcopy does), options inside the brackets
# are the server's, and the child is gone once the copy has ended.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
make_tmpdir

data='@0 1 2 3 @1048576 ( 7 9 ) * 5000 @6000000 ( "xyz" ) * 1000'
"$CBTRACK" copy -q [ nbdkit -r -P "$tmp/child.pid" data size=8M \
    data="$data" ] "$tmp/out.img"
start_nbdkit ref data size=8M data="$data"
check_same "$ref_uri" "$tmp/out.img"
[ -s "$tmp/child.pid" ] || fail "the server did not run as a child"
wait_for 10 sh -c "! kill -0 $(cat "$tmp/child.pid") 2>/dev/null" ||
    fail "the child server outlived the copy"

# A server that cannot start is a clear failure, not a hang.
expect_exit 1 "$CBTRACK" copy -q [ false ] "$tmp/none.img"
expect_stderr "^cbtrack copy: \[ false \]: cannot run the server"
[ ! -e "$tmp/none.img" ] || fail "the target was created"

expect_exit 2 "$CBTRACK" copy [ nbdkit memory 1M "$tmp/x.img"
expect_stderr "'\[' must be followed by a command and '\]'"
expect_exit 2 "$CBTRACK" copy "$tmp/out.img" [ nbdkit memory 1M ]
expect_stderr "can only be the source"
