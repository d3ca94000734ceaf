#!/usr/bin/env bash
# nbdcopy's --destination-is-zero is --target-is-zero, and --flush is
# accepted (cbtrack always flushes).
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
make_tmpdir

start_nbdkit src data size=4M data='@0 1 2 3 @3000000 ( 5 ) * 4096'
# A target full of 0xff: with --destination-is-zero its zero ranges are
# left alone (as with --target-is-zero), so they stay 0xff.
start_nbdkit dst memory size=4M
nbdkit -U - data size=4M data='( 255 ) * 4194304' \
    --run "nbdcopy \"\$uri\" '$dst_uri'"
"$CBTRACK" copy -q --flush --destination-is-zero "$src_uri" "$dst_uri"
[ "$(nbdcopy "$dst_uri" - | od -An -tu1 -j 2000000 -N1 | tr -d ' ')" = 255 ] ||
    fail "--destination-is-zero did not skip zeroing"

# Without the alias the target becomes the source.
"$CBTRACK" copy -q --flush "$src_uri" "$dst_uri"
check_same "$src_uri" "$dst_uri"
