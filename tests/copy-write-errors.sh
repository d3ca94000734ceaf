#!/usr/bin/env bash
# Write errors on an NBD target: exit 1, a message naming the offset and
# the error.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
make_tmpdir

start_nbdkit src pattern size=8M
start_nbdkit wbad --filter=error memory size=8M error-pwrite=ENOSPC \
    error-pwrite-rate=1
expect_exit 1 "$CBTRACK" copy "$src_uri" "$wbad_uri"
expect_stderr 'write at offset [0-9]+ .* failed: No space left on device'
