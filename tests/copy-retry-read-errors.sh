#!/usr/bin/env bash
# Transient read errors: 1 % of the reads fail once in a while and are
# sent again, so the copy completes and is identical; reads that always
# fail end the copy after --retries, with one line.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires nbdkit --filter=error null --version
requires nbdcopy --version
make_tmpdir

start_nbdkit good random size=32M seed=7
start_nbdkit flaky --filter=error random size=32M seed=7 \
    error-pread=EIO error-pread-rate=1%
expect_exit 0 timeout 120 "$CBTRACK" copy -q --request-size 64K \
    "$flaky_uri" "$tmp/out.img"
check_same "$good_uri" "$tmp/out.img"

start_nbdkit bad --filter=error random size=32M seed=7 \
    error-pread=EIO error-pread-rate=100%
expect_exit 1 timeout 120 "$CBTRACK" copy -q --retries 3 "$bad_uri" \
    "$tmp/bad.img"
expect_stderr '^cbtrack copy: .*: read at offset [0-9]+ \([0-9]+ bytes\) failed: Input/output error \(gave up after 3 retries\)$'
expect_one_line
