#!/usr/bin/env bash
# cbtrack vma's options: --help lists them; bad options, listen addresses
# and a port already taken get a clear error and an exit, not a hang.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
requires curl --version
make_tmpdir

"$CBTRACK" vma --help > "$tmp/help"
for opt in --listen --token-file --job-ttl --max-jobs; do
    grep -q -- "$opt" "$tmp/help" || fail "--help lacks $opt"
done
expect_exit 2 "$CBTRACK" vma --frobnicate
expect_exit 2 "$CBTRACK" vma extra-argument
expect_exit 2 "$CBTRACK" vma --max-jobs 0
expect_exit 1 timeout 10 "$CBTRACK" vma --listen nonsense
expect_stderr 'invalid listen address'
expect_exit 1 timeout 10 "$CBTRACK" vma --listen 127.0.0.1:99999
expect_stderr 'invalid listen address'

start_vma
# The port is taken: a clear error, not a hang.
port=${vma_url##*:}
expect_exit 1 timeout 10 "$CBTRACK" vma --listen "127.0.0.1:$port"
expect_stderr 'cannot listen on .*Address already in use'
stop_vma
