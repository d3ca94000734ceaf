#!/usr/bin/env bash
# A target that cannot take the copy (smaller than the source, file or
# NBD; read-only): exit 1 with a line saying why.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
make_tmpdir

start_nbdkit src pattern size=8M

# Target smaller than the source.
truncate -s 4M "$tmp/small.img"
expect_exit 1 "$CBTRACK" copy "$src_uri" "$tmp/small.img"
expect_stderr 'target is smaller'
start_nbdkit small memory size=4M
expect_exit 1 "$CBTRACK" copy "$src_uri" "$small_uri"
expect_stderr 'target is smaller'

# A read-only target.
start_nbdkit ro --readonly memory size=8M
expect_exit 1 "$CBTRACK" copy "$src_uri" "$ro_uri"
expect_stderr 'read-only'
