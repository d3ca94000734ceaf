#!/usr/bin/env bash
# Full copies of nbdkit sparse-random disks, with several connection and
# request settings, into files and into NBD memory.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit sparse-random --version
make_tmpdir

start_nbdkit src sparse-random size=96M seed=4242 percent=20 runlength=64
start_nbdkit dst memory size=96M

for args in "" "-C 1 -R 1 --request-size 4K" "-C 4 -R 64 --request-size 256K" \
            "-C 2 -R 8 --request-size 4M"; do
    rm -f "$tmp/out.img"
    # shellcheck disable=SC2086
    "$CBTRACK" copy -q $args "$src_uri" "$tmp/out.img"
    check_same "$src_uri" "$tmp/out.img"
done

"$CBTRACK" copy -q "$src_uri" "$dst_uri"
check_same "$src_uri" "$dst_uri"
