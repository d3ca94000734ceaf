#!/usr/bin/env bash
# qemu-nbd exporting a qcow2 with data, unallocated clusters and zero
# clusters: the plan agrees with nbdinfo, and the copy is exact.
. "$(dirname "$0")/functions.sh" || exit 1
requires qemu-img --version
requires qemu-io --version
requires qemu-nbd --version
requires nbdinfo --version
make_tmpdir

q=$tmp/disk.qcow2
qemu-img create -q -f qcow2 "$q" 96M
qemu-io -f qcow2 \
    -c 'write -P 0x11 0 1M' \
    -c 'write -P 0x22 3M 65536' \
    -c 'write -z 4M 2M' \
    -c 'write -P 0x33 10M 4M' \
    -c 'write -z 11M 1M' \
    -c 'write -P 0x44 50M 12345' \
    -c 'write -P 0x55 95M 1M' \
    "$q" >/dev/null

start_qemu_nbd src -r -f qcow2 "$q"
uri=$src_uri

[ "$(plan_value "$uri" data_bytes)" = "$(nbdinfo_total "$uri" 0)" ] ||
    fail "plan data bytes differ from nbdinfo"
zeroes=$(( $(nbdinfo_total "$uri" 2) + $(nbdinfo_total "$uri" 3) ))
[ "$(( $(plan_value "$uri" zero_bytes) + $(plan_value "$uri" hole_bytes) ))" \
    = "$zeroes" ] || fail "plan zero+hole bytes differ from nbdinfo"

"$CBTRACK" copy -q "$uri" "$tmp/out.img"
qemu-img compare -q -f qcow2 -F raw "$q" "$tmp/out.img" ||
    fail "copy differs from the qcow2"

# qcow2 → qcow2 over NBD (qemu-nbd as the target too).
qemu-img create -q -f qcow2 "$tmp/dst.qcow2" 96M
start_qemu_nbd dst -f qcow2 "$tmp/dst.qcow2"
"$CBTRACK" copy -q "$uri" "$dst_uri"
check_same "$uri" "$dst_uri"
