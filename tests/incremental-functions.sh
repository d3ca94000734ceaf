# cbtrack - helpers for the incremental-copy tests (qcow2 dirty bitmaps and
# VMware changed-area lists).  Source after functions.sh:
#     . "$SRCDIR/tests/functions.sh"
#     . "$SRCDIR/tests/incremental-functions.sh"

# inc_requires: skip (77) unless every tool these tests drive is present.
inc_requires ()
{
    requires qemu-img --version
    requires qemu-io --version
    requires qemu-nbd --version
    requires nbdinfo --version
    requires nbdcopy --version
    requires jq --version
    requires python3 --version
}

# inc_make_base IMAGE SIZE: a qcow2 (default 64 KiB clusters) holding random
# data in several places, an allocated all-zero cluster, a zero cluster
# and unallocated space, with data in the last cluster too.  Leaves
# $tmp/rand.bin (4 MiB of random bytes) for later writes.
inc_make_base ()
{
    local image=$1 size=$2
    [ -s "$tmp/rand.bin" ] || head -c 4M /dev/urandom >"$tmp/rand.bin"
    qemu-img create -q -f qcow2 "$image" "$size"
    qemu-io -f qcow2 \
        -c "write -s $tmp/rand.bin 0 4M" \
        -c "write -s $tmp/rand.bin 6M 3M" \
        -c "write -P 0x11 12M 1M" \
        -c "write -P 0 13M 64k" \
        -c "write -z 14M 128k" \
        -c "write -s $tmp/rand.bin 20M 4M" \
        -c "write -s $tmp/rand.bin 24M 4M" \
        -c "write -s $tmp/rand.bin 40M 2M" \
        -c "write -s $tmp/rand.bin $(( size - 3 * 1024 * 1024 )) 3M" \
        "$image" >/dev/null
}

# inc_write IMAGE CMD...: apply qemu-io commands (one argument each) to the
# qcow2 IMAGE, which must not be served at the time.  Enabled persistent
# bitmaps record the writes.
inc_write ()
{
    local image=$1 c
    shift
    local -a args=()
    for c in "$@"; do
        args+=(-c "$c")
    done
    qemu-io -f qcow2 "${args[@]}" "$image" >/dev/null
}

# inc_scattered_writes SIZE SEED COUNT: print COUNT qemu-io commands of
# mixed kinds (data, zero writes, unmapping zero writes, discards) at
# pseudo-random, mostly unaligned places inside a disk of SIZE bytes.
inc_scattered_writes ()
{
    python3 - "$@" "$tmp/rand.bin" <<'PY'
import random, sys
size, seed, count, rand = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = random.Random(seed)
for i in range(count):
    kind = rng.choice(["data", "data", "data", "pattern", "zero", "zero-unmap", "discard"])
    length = rng.choice([512, 4096, 65536, 65536 + 512, 200000, 1 << 20])
    if kind in ("zero", "zero-unmap", "discard"):
        # qemu-io asks these on 512-byte boundaries.
        off = rng.randrange(0, (size - length) // 512) * 512
    else:
        off = rng.randrange(0, size - length)
    if kind == "data":
        print("write -s %s %d %d" % (rand, off, length))
    elif kind == "pattern":
        print("write -P 0x%02x %d %d" % (rng.randrange(1, 256), off, length))
    elif kind == "zero":
        print("write -z %d %d" % (off, length))
    elif kind == "zero-unmap":
        print("write -z -u %d %d" % (off, length))
    else:
        print("discard %d %d" % (off, length))
PY
}

# inc_serve VAR IMAGE [QEMU-NBD ARGS...]: export the qcow2 IMAGE read-only
# with qemu-nbd (any number of clients); sets VAR (socket), VAR_uri and
# VAR_pid.  Stopped at exit, or earlier with inc_stop VAR.
inc_serve ()
{
    local var=$1 image=$2 sock
    shift 2
    start_qemu_nbd "$var" -r -f qcow2 --shared=0 "$@" "$image"
    sock=${!var}
    printf -v "${var}_pid" '%s' "$(cat "$sock.pid")"
}

# inc_stop VAR: stop the server started by inc_serve VAR (so that the
# image can be written again).
inc_stop ()
{
    local pidvar="${1}_pid"
    # (kill_daemon's `wait` fails for a daemon that is not our child;
    # calling it in a list keeps set -e from ending the test there.)
    kill_daemon "${!pidvar}" || :
}

# inc_expect_equal TARGET_RAW SOURCE_QCOW2 WHAT: fail unless the raw file
# holds exactly the guest-visible contents of the qcow2.
inc_expect_equal ()
{
    local out
    if ! out=$(qemu-img compare -U -f raw -F qcow2 "$1" "$2" 2>&1); then
        fail "$3: target differs from source: $out"
    fi
}

# inc_dirty_data_bytes URI BITMAP: the bytes an incremental copy must
# transfer, computed independently of cbtrack from nbdinfo's maps: the
# intersection of dirty extents (qemu:dirty-bitmap:BITMAP, bit 0) and data
# extents (base:allocation, neither hole nor zero).
inc_dirty_data_bytes ()
{
    nbdinfo --map="qemu:dirty-bitmap:$2" --json "$1" >"$tmp/map-dirty.json"
    nbdinfo --map --json "$1" >"$tmp/map-alloc.json"
    python3 - "$tmp/map-dirty.json" "$tmp/map-alloc.json" <<'PY'
import json, sys
dirty = [(e["offset"], e["offset"] + e["length"])
         for e in json.load(open(sys.argv[1])) if e["type"] & 1]
data = [(e["offset"], e["offset"] + e["length"])
        for e in json.load(open(sys.argv[2])) if e["type"] & 3 == 0]
total, i, j = 0, 0, 0
while i < len(dirty) and j < len(data):
    lo = max(dirty[i][0], data[j][0])
    hi = min(dirty[i][1], data[j][1])
    if lo < hi:
        total += hi - lo
    if dirty[i][1] < data[j][1]:
        i += 1
    else:
        j += 1
print(total)
PY
}

# inc_dirty_total URI BITMAP: the dirty bytes as `nbdinfo --totals` counts
# them.
inc_dirty_total ()
{
    nbdinfo --map="qemu:dirty-bitmap:$2" --totals "$1" |
        awk '$NF == "dirty" { n = $1 } END { print n + 0 }'
}

# inc_changed_areas URI BITMAP FORM > FILE: the bitmap's dirty extents as
# a VMware QueryChangedDiskAreas result (DiskChangeInfo).  FORM is
#   object   one {"startOffset":0,"length":SIZE,"changedArea":[...]}
#   pages    an array of such objects, one per 16 MiB page (areas that
#            cross a page boundary are cut there; empty pages included)
#   split    one object whose areas are cut into touching 64 KiB pieces
inc_changed_areas ()
{
    nbdinfo --map="qemu:dirty-bitmap:$2" --json "$1" >"$tmp/map-ca.json"
    python3 - "$tmp/map-ca.json" "$3" <<'PY'
import json, sys
extents = json.load(open(sys.argv[1]))
form = sys.argv[2]
size = extents[-1]["offset"] + extents[-1]["length"]
areas = [(e["offset"], e["length"]) for e in extents if e["type"] & 1]
def obj(start, length, areas):
    return {"startOffset": start, "length": length,
            "changedArea": [{"start": s, "length": l} for s, l in areas]}
if form == "object":
    out = obj(0, size, areas)
elif form == "split":
    pieces = []
    for s, l in areas:
        while l > 0:
            n = min(l, 65536 - s % 65536)
            pieces.append((s, n))
            s, l = s + n, l - n
    out = obj(0, size, pieces)
elif form == "pages":
    page, out = 16 << 20, []
    for p in range(0, size, page):
        end = min(p + page, size)
        clipped = [(max(s, p), min(s + l, end) - max(s, p)) for s, l in areas
                   if s < end and s + l > p]
        out.append(obj(p, end - p, clipped))
else:
    sys.exit("unknown form " + form)
json.dump(out, sys.stdout)
print()
PY
}

# inc_check_progress_json FILE TOTAL: the --progress-json stream of an
# incremental copy is well formed: every line has sync_type incremental;
# lines before the plan is known are Analysis lines that moved nothing,
# and from the first line carrying total_bytes TOTAL on, every line
# carries it (the total is fixed before the first byte moves);
# bytes_transferred never decreases nor exceeds the total; and the last
# line is completed at 100 % with everything moved.
inc_check_progress_json ()
{
    local file=$1 total=$2
    [ -s "$file" ] || fail "no --progress-json output"
    jq -e -s --argjson t "$total" '
        length > 0
        and all(.[]; .sync_type == "incremental"
                     and .bytes_transferred <= .total_bytes)
        and (([.[].total_bytes] | index($t)) as $k
             | $k != null
             and all(.[:$k][]; .stage == "Analysis" and .bytes_transferred == 0)
             and all(.[$k:][]; .total_bytes == $t))
        and ([.[].bytes_transferred] as $b
             | [range(1; $b | length) | select($b[.] < $b[. - 1])] | length == 0)
        and (last | .status == "completed" and .percent == 100
                  and .bytes_transferred == $t)' "$file" >/dev/null || {
        cat "$file" >&2
        fail "progress JSON stream is wrong (expected total $total)"
    }
}
