# cbtrack - shared helpers for the benchmarks under bench/.
#
# Source this first:   . "$(dirname "$0")/lib.sh"
#
# The benchmarks are never part of `make check`: they take minutes, need
# gigabytes of scratch space and report wall-clock times.  Every script
# takes its knobs from the environment so it can be run small for a quick
# check, e.g.  SIZE=512M DATA=128M RUNS=1 bench/copy-speed
#
# Common knobs:
#   CBTRACK     the binary under test (default build/src/cbtrack)
#   BENCH_DIR   where the scratch directory goes (default /var/tmp)
#   TARGET_DIR  where copy targets go (default: the scratch directory;
#               /dev/shm takes the target disk out of the measurement)
#   KEEP=1      keep the scratch directory for inspection

set -euo pipefail

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${CBTRACK:=$BENCH_ROOT/build/src/cbtrack}"
: "${BENCH_DIR:=/var/tmp}"
: "${KEEP:=0}"
export LC_ALL=C

_bench_pids=()
_bench_cleanup_dirs=()

# bench_die MESSAGE: print and exit 1.
bench_die ()
{
    echo "$(basename "$0"): $*" >&2
    exit 1
}

# bench_log MESSAGE: a progress note on stderr (tables go to stdout).
bench_log ()
{
    echo "# $*" >&2
}

_bench_cleanup ()
{
    local status=$? pid dir
    set +e
    for pid in "${_bench_pids[@]}"; do
        bench_stop "$pid"
    done
    for dir in "${_bench_cleanup_dirs[@]}"; do
        if [ "$KEEP" = 1 ]; then
            bench_log "kept $dir"
        else
            rm -rf "$dir"
        fi
    done
    exit $status
}
trap _bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# bench_requires CMD...: stop (exit 1) unless every command exists.
bench_requires ()
{
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || bench_die "required program missing: $c"
    done
}

# bench_make_workdir: create $work under $BENCH_DIR (and $target_dir under
# $TARGET_DIR when that is set); both are removed at exit.
bench_make_workdir ()
{
    work="$(mktemp -d "$BENCH_DIR/cbtrack-bench.XXXXXX")"
    _bench_cleanup_dirs+=("$work")
    # cbtrack copy keeps its checkpoints here, not in the user's state.
    export XDG_STATE_HOME="$work/state"
    if [ -n "${TARGET_DIR:-}" ]; then
        target_dir="$(mktemp -d "$TARGET_DIR/cbtrack-bench.XXXXXX")"
        _bench_cleanup_dirs+=("$target_dir")
    else
        target_dir="$work"
    fi
}

# bench_bytes SIZE: "8G", "512M", "64K" or plain bytes -> bytes.
bench_bytes ()
{
    numfmt --from=iec "$1"
}

# bench_human BYTES: bytes -> "2.0 GiB".
bench_human ()
{
    awk -v b="$1" 'BEGIN {
        split("B KiB MiB GiB TiB", u, " "); i = 1;
        while (b >= 1024 && i < 5) { b /= 1024; i++ }
        printf (i == 1 ? "%d %s" : "%.1f %s"), b, u[i] }'
}

# bench_random_stream SEED: endless non-compressible bytes on stdout,
# reproducible for a given SEED (AES-CTR keystream).
bench_random_stream ()
{
    # The reader closes the pipe when it has enough; that is not an error.
    openssl enc -aes-128-ctr -pass "pass:cbtrack-$1" -nosalt -pbkdf2 \
        </dev/zero 2>/dev/null || :
}

# bench_make_raw_image PATH SIZE DATA [REGIONS [ZERO_EVERY]]: a sparse raw
# image of SIZE bytes holding about DATA bytes of random data in REGIONS
# (default 8) equal regions spread over the disk.  Inside every region each
# ZERO_EVERY-th MiB (default 16) is written as zeroes: allocated, but all
# zero, so a copier must detect it.  Sizes are rounded to MiB.
bench_make_raw_image ()
{
    local path=$1 size mib data regions=${4:-8} zero_every=${5:-16}
    size=$(bench_bytes "$2")
    data=$(bench_bytes "$3")
    mib=$((1024 * 1024))
    local stride=$((size / regions / mib))        # MiB
    local region=$((data / regions / mib))        # MiB
    [ "$region" -ge 1 ] && [ "$region" -le "$stride" ] ||
        bench_die "cannot fit $regions regions of $region MiB in $(bench_human "$size")"
    rm -f "$path"
    truncate -s "$size" "$path"
    local i start m
    for (( i = 0; i < regions; i++ )); do
        # Regions sit at varying places inside their stride so that no
        # boundary is special.
        start=$(( i * stride + (stride - region) * (i % 4) / 4 ))
        bench_random_stream "$i" |
            dd of="$path" bs=1M seek="$start" count="$region" conv=notrunc \
               iflag=fullblock status=none
        for (( m = zero_every / 2; m < region; m += zero_every )); do
            dd if=/dev/zero of="$path" bs=1M seek=$((start + m)) count=1 \
               conv=notrunc status=none
        done
    done
}

# bench_write_nbdkit_pid_wait PIDFILE: wait (10 s) until a server wrote it.
_bench_wait_pidfile ()
{
    local i
    for (( i = 0; i < 100; i++ )); do
        [ -s "$1" ] && return 0
        sleep 0.1
    done
    bench_die "server did not start (no $1)"
}

# bench_nbdkit VAR [NBDKIT ARGS...]: start nbdkit on a new Unix socket in
# $work; stores the URI in VAR and the pid in VAR_pid.  Stopped at exit.
bench_nbdkit ()
{
    local var=$1 sock
    shift
    sock="$work/nbdkit-$RANDOM$RANDOM.sock"
    nbdkit -U "$sock" -P "$sock.pid" "$@"
    _bench_wait_pidfile "$sock.pid"
    _bench_pids+=("$(cat "$sock.pid")")
    printf -v "$var" '%s' "nbd+unix:///?socket=$sock"
    printf -v "${var}_pid" '%s' "$(cat "$sock.pid")"
}

# bench_qemu_nbd VAR [QEMU-NBD ARGS...]: the same for qemu-nbd (persistent,
# any number of clients).
bench_qemu_nbd ()
{
    local var=$1 sock
    shift
    sock="$work/qemu-nbd-$RANDOM$RANDOM.sock"
    qemu-nbd --fork --persistent --shared=0 --pid-file="$sock.pid" \
        -k "$sock" "$@"
    _bench_wait_pidfile "$sock.pid"
    _bench_pids+=("$(cat "$sock.pid")")
    printf -v "$var" '%s' "nbd+unix:///?socket=$sock"
    printf -v "${var}_pid" '%s' "$(cat "$sock.pid")"
}

# bench_stop PID: stop a server started above, politely, then not.
bench_stop ()
{
    local pid=$1 i
    kill "$pid" 2>/dev/null || return 0
    for (( i = 0; i < 50; i++ )); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || :
}

# bench_cbtrack_works: true when $CBTRACK copies a small file correctly
# (false while `cbtrack copy` is not implemented yet).
bench_cbtrack_works ()
{
    local d
    d="$(mktemp -d "$BENCH_DIR/cbtrack-probe.XXXXXX")"
    head -c 1M /dev/urandom >"$d/src"
    truncate -s 4M "$d/src"
    truncate -s 4M "$d/dst"
    if [ -x "$CBTRACK" ] &&
       "$CBTRACK" copy "$d/src" "$d/dst" >/dev/null 2>&1 &&
       cmp -s "$d/src" "$d/dst"; then
        rm -rf "$d"
        return 0
    fi
    rm -rf "$d"
    return 1
}

# bench_run OUT CMD [ARGS...]: run CMD under GNU time; append to OUT the
# line "WALL_SECONDS PEAK_RSS_KIB".  CMD's stderr goes to OUT.stderr.
# Fails (exit 1) when CMD fails.
bench_run ()
{
    local out=$1 t0 t1 rc=0
    shift
    t0=$EPOCHREALTIME
    /usr/bin/time -f %M -o "$out.rss" "$@" >"$out.stdout" 2>"$out.stderr" ||
        rc=$?
    t1=$EPOCHREALTIME
    if [ "$rc" != 0 ]; then
        cat "$out.stderr" >&2
        bench_die "failed (exit $rc): $*"
    fi
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') $(tail -n1 "$out.rss")" >>"$out"
}

# bench_median FILE COLUMN: the median of a column of numbers.
bench_median ()
{
    awk -v c="$2" '{ print $c }' "$1" | sort -g |
        awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "nan"; exit }
            if (NR % 2) print v[(NR + 1) / 2];
            else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_ratio A B: A / B with two decimals ("-" when B is missing).
bench_ratio ()
{
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (b + 0 == 0 || a == "-" || b == "-") print "-";
        else printf "%.2f", a / b }'
}

# bench_mib KIB: KiB -> MiB with one decimal.
bench_mib ()
{
    awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

# bench_fresh_target PATH SIZE: remove PATH and recreate it as a sparse,
# all-zero file of SIZE bytes.  (Removing a file drops its dirty pages, so
# no write-back from the previous run lands in the next one.)
bench_fresh_target ()
{
    rm -f "$1"
    truncate -s "$2" "$1"
}

# bench_verify_raw SOURCE TARGET: byte comparison; exit 1 on a wrong copy.
bench_verify_raw ()
{
    cmp -s "$1" "$2" || bench_die "WRONG COPY: $2 differs from $1"
}

# bench_verify_qcow2 TARGET_RAW SOURCE_QCOW2: qemu-img compare; exit 1 on a
# wrong copy.
bench_verify_qcow2 ()
{
    qemu-img compare -q -U -f raw -F qcow2 "$1" "$2" ||
        bench_die "WRONG COPY: $1 differs from $2"
}

# bench_machine: one line describing this machine, for the tables.
bench_machine ()
{
    local cpu
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    echo "$(nproc) x ${cpu:-unknown CPU}, $(awk '/^MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
}

# bench_versions: the versions of the tools compared.
bench_versions ()
{
    local v
    v="$("$CBTRACK" --version 2>/dev/null || echo 'cbtrack ?')"
    echo "$v, $(nbdcopy --version | head -n1), $(qemu-img --version | head -n1 | cut -d' ' -f1-3), $(nbdkit --version)"
}

# bench_scatter_writes IMAGE SIZE PERCENT SEED: change about PERCENT % of
# the qcow2 IMAGE with qemu-io, in scattered areas of 64 KiB to 4 MiB at
# 64 KiB-aligned offsets: mostly random data, some zero writes.  Prints
# the number of bytes written.
bench_scatter_writes ()
{
    local image=$1 size pct=$3 seed=$4
    size=$(bench_bytes "$2")
    bench_random_stream "w$seed" | head -c 4M >"$work/scatter.bin"
    local -a cmds=()
    local line total=0
    while read -r line; do
        set -- $line
        total=$((total + $3))
        if [ "$1" = z ]; then
            cmds+=(-c "write -z $2 $3")
        else
            cmds+=(-c "write -s $work/scatter.bin $2 $3")
        fi
    done < <(python3 - "$size" "$pct" "$seed" <<'PY'
import random, sys
size, pct, seed = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
unit = 64 * 1024
want = size * pct / 100
done = 0
while done < want:
    length = rng.randint(1, 64) * unit
    off = rng.randrange(0, (size - length) // unit + 1) * unit
    kind = "z" if rng.random() < 0.1 else "d"
    print(kind, off, length)
    done += length
PY
)
    qemu-io -f qcow2 "${cmds[@]}" "$image" >/dev/null
    echo "$total"
}

# bench_stamp OUT: read progress output on stdin (lines ending in \n or
# \r, as qemu-img -p writes them) and write each non-empty line to OUT
# prefixed with the wall-clock time it arrived (seconds since the epoch,
# the clock of bash's $EPOCHREALTIME).
bench_stamp ()
{
    python3 -u -c '
import os, re, sys, time
out = open(sys.argv[1], "w", buffering=1)
buf = b""
while True:
    chunk = os.read(0, 65536)
    now = time.time()
    if not chunk:
        break
    buf += chunk
    parts = re.split(rb"[\r\n]", buf)
    buf = parts.pop()
    for p in parts:
        p = p.strip()
        if p:
            out.write("%.6f %s\n" % (now, p.decode(errors="replace")))
if buf.strip():
    out.write("%.6f %s\n" % (time.time(), buf.strip().decode(errors="replace")))
' "$1"
}

# bench_progress_stats KIND T0 T1 STAMPED: judge one recorded progress
# stream of a copy that ran from T0 to T1.  KIND is json (cbtrack
# --progress-json), fraction ("N/100" lines) or qemu ("(N/100%)").
# Prints: lines, largest |percent - share of wall time elapsed| in points,
# the elapsed share where it happened, and the median and largest ETA
# error in seconds over the reports made from 10 % of the wall time on
# (the tool's own eta_seconds for json, else the ETA implied by linear
# extrapolation of its percent).  For json it also checks the stream's
# invariants (monotone, total fixed, final == total, completed) and prints
# ok or what is wrong.
bench_progress_stats ()
{
    python3 - "$@" <<'PY'
import json, re, statistics, sys
kind, t0, t1, path = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
wall = t1 - t0
pts, objs = [], []
for line in open(path):
    ts, _, text = line.rstrip("\n").partition(" ")
    t = float(ts) - t0
    eta = None
    if kind == "json":
        o = json.loads(text)
        objs.append(o)
        p = float(o["percent"])
        eta = o.get("eta_seconds")
    else:
        m = re.search(r"(\d+(?:\.\d+)?)/100", text)
        if not m:
            continue
        p = float(m.group(1))
        if 0 < p < 100 and t > 0:
            eta = t * (100 - p) / p
        elif p >= 100:
            eta = 0.0
    pts.append((t, p, eta))
if not pts:
    print("0 - - - - none")
    sys.exit(0)
gap, at = max((abs(p - 100 * t / wall), t / wall) for t, p, _ in pts)
errs = [abs(eta - (wall - t)) for t, p, eta in pts
        if eta is not None and t >= 0.1 * wall]
check = "-"
if kind == "json":
    problems = []
    last = -1
    # Lines before the plan is known (Analysis, nothing moved) may carry
    # total 0; from the first line with the final total on it is fixed.
    k = [o["total_bytes"] for o in objs].index(objs[-1]["total_bytes"])
    if any(o["stage"] != "Analysis" or o["bytes_transferred"] for o in objs[:k]):
        problems.append("total-unknown-while-moving")
    totals = {o["total_bytes"] for o in objs[k:]}
    for o in objs:
        if o["bytes_transferred"] < last:
            problems.append("not-monotone")
        last = o["bytes_transferred"]
        if o["bytes_transferred"] > o["total_bytes"]:
            problems.append("over-total")
        if o["percent"] >= 100 and o is not objs[-1] and o["status"] != "completed":
            problems.append("100-before-end")
    f = objs[-1]
    if len(totals) != 1:
        problems.append("total-changed")
    if f["bytes_transferred"] != f["total_bytes"] or f["status"] != "completed":
        problems.append("final-not-complete")
    check = ",".join(sorted(set(problems))) or "ok"
print(len(pts), "%.1f" % gap, "%.0f%%" % (100 * at),
      "%.1f" % statistics.median(errs) if errs else "-",
      "%.1f" % max(errs) if errs else "-", check)
PY
}
