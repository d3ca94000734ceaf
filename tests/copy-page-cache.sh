#!/usr/bin/env bash
# A copy to a file on disk leaves little of the target in the page cache:
# each range is dropped once its write-back is done, so copying a large
# disk does not push the host's useful pages out.  The target holds 96 MiB
# of data; at most the write-back window (64 requests) may stay cached.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires fincore --version
make_tmpdir
# tmpfs keeps every page by nature: the point needs a disk.
requires test "$(stat -f -c %T "$tmp")" != tmpfs

start_nbdkit src pattern size=96M
"$CBTRACK" copy -q "$src_uri" "$tmp/out.img" || fail "copy failed"
# Measured before the comparison, which reads the target into the cache.
cached=$(fincore -b -n -o RES "$tmp/out.img" | tr -d ' ')
check_same "$src_uri" "$tmp/out.img"
[ "$cached" -le $(( 32 << 20 )) ] ||
    fail "$cached bytes of the 96 MiB target still cached"
