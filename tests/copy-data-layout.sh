#!/usr/bin/env bash
# Full copy of an nbdkit data-plugin disk with a known layout: data runs,
# zero runs inside data, holes.  The plan agrees with nbdinfo; the copy is
# exact into a new file, into a file full of garbage, and into NBD memory.
. "$(dirname "$0")/functions.sh" || exit 1
requires nbdkit --version
requires nbdinfo --version
requires jq --version
make_tmpdir

# 64 MiB: 1 MiB of pattern at 1 MiB, 256 KiB of zeroes (allocated) inside
# data at 8 MiB, data straddling 16 MiB, a run at the very end.
start_nbdkit src data size=64M data='
    @1048576 ( 0x55 0xaa 1 2 3 4 5 6 7 ) * 116508
    @8388608 ( "data" ) * 4096 0 * 262144 ( "more" ) * 4096
    @16773120 ( 0xff ) * 12288
    @67104768 ( "tail" ) * 1024'
uri=$src_uri

# The plan agrees with nbdinfo --map --totals.
[ "$(plan_value "$uri" data_bytes)" = "$(nbdinfo_total "$uri" 0)" ] ||
    fail "plan data bytes differ from nbdinfo"
[ "$(plan_value "$uri" hole_bytes)" = "$(( $(nbdinfo_total "$uri" 3) ))" ] ||
    fail "plan hole bytes differ from nbdinfo"
[ "$(plan_value "$uri" zero_bytes)" = "$(nbdinfo_total "$uri" 2)" ] ||
    fail "plan zero bytes differ from nbdinfo"
transfer=$(plan_value "$uri" transfer_bytes)
[ "$transfer" = "$(plan_value "$uri" data_bytes)" ] ||
    fail "a full copy transfers the data bytes"
[ "$transfer" -gt 0 ] && [ "$transfer" -lt $(( 8 << 20 )) ] ||
    fail "unexpected transfer size $transfer"

# Into a new file.
"$CBTRACK" copy "$uri" "$tmp/new.img" --progress-json=3 3>"$tmp/p.json"
check_same "$uri" "$tmp/new.img"
check_progress_json "$tmp/p.json" "$transfer"
# Zero blocks inside the data extents were found, not written.
jq -e -s '.[-1].bytes_zero_skipped > 0 and
          .[-1].bytes_written + .[-1].bytes_zero_skipped
            == .[-1].bytes_transferred' "$tmp/p.json" >/dev/null ||
    fail "zero blocks inside data were not accounted"
# The new file stays sparse.
[ "$(du -k "$tmp/new.img" | cut -f1)" -lt 16384 ] || fail "target not sparse"

# Into an existing file full of non-zero bytes: holes must be zeroed.
head -c $(( 64 << 20 )) /dev/zero | tr '\0' '\377' > "$tmp/dirty.img"
"$CBTRACK" copy -q "$uri" "$tmp/dirty.img"
check_same "$uri" "$tmp/dirty.img"

# Into NBD memory pre-filled with garbage.
start_nbdkit dst memory size=64M
head -c $(( 64 << 20 )) /dev/urandom > "$tmp/garbage"
nbdcopy -- "$tmp/garbage" "$dst_uri"
"$CBTRACK" copy -q -C 2 "$uri" "$dst_uri"
check_same "$uri" "$dst_uri"
