#!/usr/bin/env bash
# --target-is-zero on a fresh NBD volume: nothing is zeroed, and the copy
# is still exact; without it, the holes of a non-fresh target are zeroed.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires nbdcopy --version
requires jq --version
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
