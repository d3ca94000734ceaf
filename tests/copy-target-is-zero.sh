#!/usr/bin/env bash
# --target-is-zero on a fresh NBD volume: nothing is zeroed, and the copy
# is still exact.  Without it, a volume whose own map says it reads as
# zero is found so and not zeroed either; the holes of a target with any
# data are zeroed, even a single block of it.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires nbdcopy --version
requires jq --version
requires nbdinfo --version
make_tmpdir

# --target-is-zero on a fresh NBD volume: nothing is zeroed, still exact.
start_nbdkit fast sparse-random size=64M seed=11 percent=12 runlength=32
start_nbdkit dst memory size=64M
"$CBTRACK" copy -q --target-is-zero "$fast_uri" "$dst_uri" \
    --progress-json=3 3>"$tmp/z.json"
check_same "$fast_uri" "$dst_uri"
jq -e -s '.[-1].bytes_zeroed == 0' "$tmp/z.json" >/dev/null ||
    fail "--target-is-zero still zeroed"
# Without it, the holes of a non-fresh target are zeroed.
start_nbdkit dst2 memory size=64M
head -c 64M /dev/urandom > "$tmp/garbage"
nbdcopy -- "$tmp/garbage" "$dst2_uri"
"$CBTRACK" copy -q "$fast_uri" "$dst2_uri" --progress-json=3 3>"$tmp/z2.json"
check_same "$fast_uri" "$dst2_uri"
jq -e -s '.[-1].bytes_zeroed > 0' "$tmp/z2.json" >/dev/null ||
    fail "holes were not zeroed"

# Without the option, a fresh volume's map says it is all zero: nothing
# is zeroed, still exact.
start_nbdkit dst3 memory size=64M
"$CBTRACK" copy -q "$fast_uri" "$dst3_uri" --progress-json=3 3>"$tmp/z3.json"
check_same "$fast_uri" "$dst3_uri"
jq -e -s '.[-1].bytes_zeroed == 0' "$tmp/z3.json" >/dev/null ||
    fail "a target reading as zero was zeroed"
# One 64 KiB block of garbage in the middle of an otherwise zero volume:
# the map shows it, so the copy zeroes (and the block ends up as the source).
start_nbdkit dst4 memory size=64M
truncate -s 64M "$tmp/block"
dd if=/dev/urandom of="$tmp/block" bs=64K seek=640 count=1 conv=notrunc \
    status=none
nbdcopy -- "$tmp/block" "$dst4_uri"
nbdinfo --map "$dst4_uri" | grep -q "data" ||
    fail "the garbage block is not in the target's map"
"$CBTRACK" copy -q "$fast_uri" "$dst4_uri" --progress-json=3 3>"$tmp/z4.json"
check_same "$fast_uri" "$dst4_uri"
jq -e -s '.[-1].bytes_zeroed > 0' "$tmp/z4.json" >/dev/null ||
    fail "a target with data was taken as zero"
# A target whose block status fails (a server answering EIO) is not known
# zero: the copy zeroes, and is exact.
touch "$tmp/extents-fail"
start_nbdkit dst5 --filter=error memory size=64M error-extents=EIO \
    error-extents-rate=1 error-extents-file="$tmp/extents-fail"
"$CBTRACK" copy -q "$fast_uri" "$dst5_uri" --progress-json=3 3>"$tmp/z5.json"
rm "$tmp/extents-fail" # the comparison reads the map too
check_same "$fast_uri" "$dst5_uri"
jq -e -s '.[-1].bytes_zeroed > 0' "$tmp/z5.json" >/dev/null ||
    fail "a target whose map failed was taken as zero"
