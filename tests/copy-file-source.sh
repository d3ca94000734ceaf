#!/usr/bin/env bash
# A sparse raw file with allocated all-zero MiBs inside its data, copied
# file → file, file → NBD, and NBD (nbdkit file plugin) → file.  Zero
# blocks are detected exactly and the copies are exact.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit file --version
requires jq --version
make_tmpdir

img=$tmp/src.img
truncate -s 48M "$img"
head -c 3M /dev/urandom | dd of="$img" bs=1M seek=2 conv=notrunc status=none
# 2 MiB of written (allocated) zeroes inside the data region.
dd if=/dev/zero of="$img" bs=1M seek=5 count=2 conv=notrunc status=none
head -c 1M /dev/urandom | dd of="$img" bs=1M seek=7 conv=notrunc status=none
# A single non-zero byte in an otherwise zero 4 KiB block.
printf '\001' | dd of="$img" bs=1 seek=$(( 6 * 1048576 + 4095 )) \
    conv=notrunc status=none
# The very last byte.
printf 'Z' | dd of="$img" bs=1 seek=$(( 48 * 1048576 - 1 )) conv=notrunc \
    status=none

# file → file
"$CBTRACK" copy "$img" "$tmp/out1.img" --progress-json=3 3>"$tmp/p1.json"
cmp "$img" "$tmp/out1.img" || fail "file → file copy differs"
total=$(plan_value "$img" transfer_bytes)
check_progress_json "$tmp/p1.json" "$total"
jq -e -s '.[-1].bytes_zero_skipped >= 2093056' "$tmp/p1.json" >/dev/null ||
    fail "allocated zero MiBs inside data were not detected"

# NBD → file, through nbdkit's file plugin.
start_nbdkit src file "$img"
"$CBTRACK" copy -q "$src_uri" "$tmp/out2.img"
cmp "$img" "$tmp/out2.img" || fail "NBD → file copy differs"

# file → NBD memory.
start_nbdkit dst memory size=48M
"$CBTRACK" copy -q "$img" "$dst_uri"
check_same "$img" "$dst_uri"

# file → block-device-like existing file bigger than the source: only the
# source's size is written, the rest is left alone.
head -c 64M /dev/zero | tr '\0' 'x' > "$tmp/big.img"
"$CBTRACK" copy -q "$img" "$tmp/big.img"
cmp -n $(( 48 << 20 )) "$img" "$tmp/big.img" || fail "copy into bigger target"
[ "$(tail -c 1 "$tmp/big.img")" = x ] || fail "bytes past the source changed"
