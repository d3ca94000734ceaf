#!/usr/bin/env bash
# Disks whose size is not a multiple of 4096 (nor of the request size).
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
make_tmpdir

size=$(( 10 * 1048576 + 1234 ))
start_nbdkit src data size=$size data="@0 1 2 3 @1048575 ( 7 ) * 5000
    @$(( size - 700 )) ( 9 ) * 700"
"$CBTRACK" copy -q --request-size 64K "$src_uri" "$tmp/out.img"
check_same "$src_uri" "$tmp/out.img"
[ "$(stat -c %s "$tmp/out.img")" = "$size" ] || fail "target size"

# Odd-sized file → NBD memory of the same odd size.
start_nbdkit dst memory size=$size
"$CBTRACK" copy -q "$tmp/out.img" "$dst_uri"
check_same "$tmp/out.img" "$dst_uri"

# A tiny disk smaller than one block.
start_nbdkit tiny data size=1000 data='( "abc" ) * 333'
"$CBTRACK" copy -q "$tiny_uri" "$tmp/tiny.img"
check_same "$tiny_uri" "$tmp/tiny.img"
