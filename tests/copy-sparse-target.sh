#!/usr/bin/env bash
# An existing target that is all holes (a sparse file with no data) reads
# as zero: the copy does not zero its holes again, and the copy is exact.
# A target that holds data is zeroed where the source has holes.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires strace -V
make_tmpdir

# 8 MiB of data at 1 MiB and 40 MiB in a 64 MiB disk; the rest holes.
start_nbdkit src data size=64M data='@1048576 ( 1 2 3 4 ) * 1048576
                                       @41943040 ( 5 6 7 8 ) * 1048576'

count_fallocate ()
{
    # LeakSanitizer cannot run under ptrace.
    ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
        strace -f -c -e trace=fallocate -o "$tmp/strace" "$@" ||
        fail "copy failed: $*"
    awk '$NF == "fallocate" { n = $4 } END { print n + 0 }' "$tmp/strace"
}

truncate -s 64M "$tmp/sparse.img"
n=$(count_fallocate "$CBTRACK" copy -q "$src_uri" "$tmp/sparse.img")
check_same "$src_uri" "$tmp/sparse.img"
[ "$n" = 0 ] || fail "$n fallocate calls on an all-holes target"

# The same copy onto a target full of other data must zero the holes.
head -c 64M /dev/urandom >"$tmp/full.img"
n=$(count_fallocate "$CBTRACK" copy -q "$src_uri" "$tmp/full.img")
check_same "$src_uri" "$tmp/full.img"
[ "$n" -gt 0 ] || fail "the holes of a target with data were not zeroed"
