#!/usr/bin/env bash
# Transient write and zeroing errors on an NBD target (1 % of them fail)
# are sent again: the copy completes, identical, and counts no byte
# twice.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --filter=error null --version
requires nbdcopy --version
requires jq --version
make_tmpdir

start_nbdkit src random size=32M seed=12
start_nbdkit dst --filter=error memory size=32M \
    error-pwrite=EIO error-pwrite-rate=1% \
    error-zero=EIO error-zero-rate=1%
total=$("$CBTRACK" plan --json "$src_uri" | jq -e .transfer_bytes)
expect_exit 0 timeout 120 "$CBTRACK" copy -q --request-size 64K \
    --progress-json=3 "$src_uri" "$dst_uri" 3>"$tmp/p.json"
check_progress_json "$tmp/p.json" "$total"
check_same "$src_uri" "$dst_uri"
