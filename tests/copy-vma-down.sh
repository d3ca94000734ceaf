#!/usr/bin/env bash
# The VMA down for the whole copy: the copy succeeds all the same.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
make_tmpdir

# Port 9 (discard): privileged, never handed out by the kernel, so no
# other test's daemon can be listening there.
start_nbdkit d sparse-random size=64M seed=5 percent=20
"$CBTRACK" copy -q --vma-url "http://127.0.0.1:9" --job job-d \
    --disk d0 "$d_uri" "$tmp/d.img" || fail "copy failed with the VMA down"
check_same "$d_uri" "$tmp/d.img"
