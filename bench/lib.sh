# shellcheck shell=bash
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
#   SOURCE_CACHE=warm|cold, PRESSURE_SIZE: see bench_reset_cache
#   TMPFS_DIR (/dev/shm), QEMU_NBD_OPTS: see "Copy targets" below

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

# bench_make_raw_image PATH SIZE DATA [REGIONS [ZERO_EVERY [SEED]]]: a
# sparse raw image of SIZE bytes holding about DATA bytes of random data in
# REGIONS (default 8) equal regions spread over the disk.  Inside every
# region each ZERO_EVERY-th MiB (default 16) is written as zeroes:
# allocated, but all zero, so a copier must detect it.  Sizes are rounded
# to MiB.  Images made with different SEEDs (default none) differ.
bench_make_raw_image ()
{
    local path=$1 size mib data regions=${4:-8} zero_every=${5:-16} seed=${6:-}
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
        bench_random_stream "$seed$i" |
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

# _bench_alive PID: true while PID runs (a zombie waiting for its parent,
# e.g. a daemonized server waiting for init to reap it, has exited).
_bench_alive ()
{
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "$state" != Z ]
}

# bench_stop PID: stop a server started above, politely, then not.
bench_stop ()
{
    local pid=$1 i
    kill "$pid" 2>/dev/null || return 0
    for (( i = 0; i < 100; i++ )); do
        _bench_alive "$pid" || return 0
        sleep 0.05
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

# bench_cmp_sparse A B: like `cmp -s A B` (true when the files are the
# same size and hold the same bytes), but reads only where either file has
# data: where both have a hole (lseek SEEK_DATA/SEEK_HOLE, which never
# calls data a hole) both read as zeroes.  On an 8 GiB image with 2 GiB of
# data this reads 4 GiB instead of 16.
bench_cmp_sparse ()
{
    python3 - "$1" "$2" <<'PY'
import errno, os, sys

def extents(fd, end):
    """The data extents of fd as (start, end) pairs."""
    out, off = [], 0
    while off < end:
        try:
            d = os.lseek(fd, off, os.SEEK_DATA)
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            break
        h = min(os.lseek(fd, d, os.SEEK_HOLE), end)
        out.append((d, h))
        off = h
    return out

fa, fb = (os.open(p, os.O_RDONLY) for p in sys.argv[1:3])
size = os.fstat(fa).st_size
if os.fstat(fb).st_size != size:
    sys.exit(1)
ranges = sorted(extents(fa, size) + extents(fb, size))
merged = []
for s, e in ranges:
    if merged and s <= merged[-1][1]:
        merged[-1][1] = max(merged[-1][1], e)
    else:
        merged.append([s, e])
chunk = 8 << 20
for s, e in merged:
    while s < e:
        n = min(chunk, e - s)
        a, b = os.pread(fa, n, s), os.pread(fb, n, s)
        if len(a) != n or a != b:
            sys.exit(1)
        s += n
sys.exit(0)
PY
}

# bench_verify_raw SOURCE TARGET: byte comparison (bench_cmp_sparse); exit
# 1 on a wrong copy.
bench_verify_raw ()
{
    bench_cmp_sparse "$1" "$2" || bench_die "WRONG COPY: $2 differs from $1"
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

# bench_stop_server PID: bench_stop, and forget PID (so that the exit
# handler never signals a process that later got the same id).
bench_stop_server ()
{
    local pid=$1 p keep=()
    bench_stop "$pid"
    for p in "${_bench_pids[@]}"; do
        [ "$p" = "$pid" ] || keep+=("$p")
    done
    _bench_pids=("${keep[@]}")
}

# bench_min FILE COLUMN / bench_max FILE COLUMN: the smallest / largest
# number in a column.
bench_min ()
{
    awk -v c="$2" 'NR == 1 || $c + 0 < m { m = $c + 0 } END { print (NR ? m : "nan") }' "$1"
}
bench_max ()
{
    awk -v c="$2" 'NR == 1 || $c + 0 > m { m = $c + 0 } END { print (NR ? m : "nan") }' "$1"
}

# bench_fstype DIR: the file system type of DIR ("tmpfs", "ext2/ext3", ...).
bench_fstype ()
{
    stat -f -c %T "$1"
}

# Page cache and source cache.
#
# SOURCE_CACHE=warm (default): before every timed run the source image's
# data is read once, so every tool reads it from memory; cold: it is left
# out of the page cache, so every tool reads it from the disk.
: "${SOURCE_CACHE:=warm}"
case "$SOURCE_CACHE" in
warm|cold) ;;
*) bench_die "SOURCE_CACHE must be warm or cold, not '$SOURCE_CACHE'" ;;
esac
_bench_cache_method=

# bench_reset_cache: write back everything (sync), then empty the page
# cache: `echo 1 > /proc/sys/vm/drop_caches` where that is allowed, else
# write and delete a file of PRESSURE_SIZE (default a quarter of RAM) on
# tmpfs, which pushes clean pages out and makes the host hand memory back.
bench_reset_cache ()
{
    sync
    if [ "$_bench_cache_method" != pressure ] &&
       { echo 1 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
        _bench_cache_method=drop_caches
        return 0
    fi
    _bench_cache_method=pressure
    local size f
    size=$(bench_bytes "${PRESSURE_SIZE:-$(awk '/^MemTotal/ { print int($2 / 4) "K" }' /proc/meminfo)}")
    f="$(mktemp "${TMPFS_DIR:-/dev/shm}/cbtrack-pressure.XXXXXX")"
    head -c "$size" /dev/zero >"$f" || :
    rm -f "$f"
}

# bench_cache_note: how the page cache is reset (after the first reset).
bench_cache_note ()
{
    case "$_bench_cache_method" in
    drop_caches) echo "page cache dropped before every run (sync; echo 1 > /proc/sys/vm/drop_caches), source $SOURCE_CACHE" ;;
    pressure)    echo "page cache pushed out before every run (sync; $(bench_human "$(bench_bytes "${PRESSURE_SIZE:-$(awk '/^MemTotal/ { print int($2 / 4) "K" }' /proc/meminfo)}")") written and deleted on tmpfs; drop_caches not allowed), source $SOURCE_CACHE" ;;
    *)           echo "page cache not reset yet, source $SOURCE_CACHE" ;;
    esac
}

# bench_warm FILE...: read the data extents of each FILE (holes are
# skipped), so that they are in the page cache.
bench_warm ()
{
    python3 - "$@" <<'PY'
import errno, os, sys
for path in sys.argv[1:]:
    fd = os.open(path, os.O_RDONLY)
    end, off = os.fstat(fd).st_size, 0
    while off < end:
        try:
            d = os.lseek(fd, off, os.SEEK_DATA)
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            break
        h = os.lseek(fd, d, os.SEEK_HOLE)
        while d < h:
            n = len(os.pread(fd, min(8 << 20, h - d), d))
            if n == 0:
                break
            d += n
        off = h
    os.close(fd)
PY
}

# bench_prepare_run SOURCE...: the common part before every timed run,
# after the previous targets are removed: reset the page cache, then warm
# the SOURCE files again when SOURCE_CACHE=warm.
bench_prepare_run ()
{
    bench_reset_cache
    [ "$SOURCE_CACHE" != warm ] || bench_warm "$@"
}

# Copy targets.
#
# A target kind is one of
#   file        a file on disk, in TARGET_DIR or else the scratch directory
#               (under BENCH_DIR, default /var/tmp);
#   tmpfs       a file on tmpfs, in TMPFS_DIR (default /dev/shm);
#   nbd-memory  `nbdkit memory size=SIZE` over a Unix socket, a new server
#               for every run, so it starts all zero;
#   qemu-nbd    `qemu-nbd -f raw $QEMU_NBD_OPTS` (default --cache=writeback)
#               over a Unix socket, serving a new sparse raw file in the
#               scratch directory for every run.
# A target is named by a slot (any word), so one script can hold several.
# bench_target_fresh sets $tref to what the tools are given (a path or an
# NBD URI).
: "${QEMU_NBD_OPTS:=--cache=writeback}"
declare -A _bench_tref _bench_tpid _bench_tfile
_bench_tmpfs_dir=

# bench_targets_init KIND...: stop unless every KIND is known and its
# programs are installed; make the directories they need (call it after
# bench_make_workdir).
bench_targets_init ()
{
    local k
    for k in "$@"; do
        case "$k" in
        file|qemu-nbd) ;;
        tmpfs|nbd-memory)
            if [ -z "$_bench_tmpfs_dir" ]; then
                _bench_tmpfs_dir="$(mktemp -d "${TMPFS_DIR:-/dev/shm}/cbtrack-bench.XXXXXX")"
                _bench_cleanup_dirs+=("$_bench_tmpfs_dir")
            fi ;;
        *) bench_die "unknown target kind '$k' (file, tmpfs, nbd-memory, qemu-nbd)" ;;
        esac
        case "$k" in
        nbd-memory) bench_requires nbdkit nbdcopy ;;
        qemu-nbd)   bench_requires qemu-nbd ;;
        esac
    done
}

# bench_target_dir KIND: the directory where KIND's target files (or, for
# the NBD kinds, the files standing for them in a local copy) go:
# file and qemu-nbd: the disk; tmpfs and nbd-memory: tmpfs.
bench_target_dir ()
{
    case "$1" in
    file|qemu-nbd)    echo "$target_dir" ;;
    tmpfs|nbd-memory) echo "$_bench_tmpfs_dir" ;;
    esac
}

# bench_target_describe KIND: one phrase for the tables.
bench_target_describe ()
{
    case "$1" in
    file)       echo "local file in $target_dir ($(bench_fstype "$target_dir"))" ;;
    tmpfs)      echo "local file in $_bench_tmpfs_dir ($(bench_fstype "$_bench_tmpfs_dir"))" ;;
    nbd-memory) echo "nbdkit memory plugin over a Unix socket (new, all-zero server each run)" ;;
    qemu-nbd)   echo "qemu-nbd -f raw $QEMU_NBD_OPTS over a Unix socket, on a new sparse file in $target_dir ($(bench_fstype "$target_dir")) each run" ;;
    esac
}

# bench_target_remove KIND SLOT: remove SLOT's previous target (stop its
# server, delete its file).  Call it before bench_prepare_run.
bench_target_remove ()
{
    local kind=$1 slot=$2
    if [ -n "${_bench_tpid[$slot]:-}" ]; then
        bench_stop_server "${_bench_tpid[$slot]}"
        _bench_tpid[$slot]=
    fi
    if [ -n "${_bench_tfile[$slot]:-}" ]; then
        rm -f "${_bench_tfile[$slot]}" "${_bench_tfile[$slot]}.sock" \
            "${_bench_tfile[$slot]}.sock.pid"
        _bench_tfile[$slot]=
    fi
    _bench_tref[$slot]=
}

# bench_target_fresh KIND SLOT SIZE: a new all-zero target of SIZE bytes in
# SLOT (the previous one is removed first); sets $tref.
bench_target_fresh ()
{
    local kind=$1 slot=$2 size=$3 dir f
    bench_target_remove "$kind" "$slot"
    dir="$(bench_target_dir "$kind")"
    case "$kind" in
    file|tmpfs)
        f="$dir/target-$slot.img"
        bench_fresh_target "$f" "$size"
        _bench_tfile[$slot]=$f
        _bench_tref[$slot]=$f ;;
    nbd-memory)
        f="$work/target-$slot"
        _bench_tfile[$slot]=$f
        nbdkit -U "$f.sock" -P "$f.sock.pid" memory size="$size"
        _bench_wait_pidfile "$f.sock.pid"
        _bench_tpid[$slot]=$(cat "$f.sock.pid")
        _bench_pids+=("${_bench_tpid[$slot]}")
        _bench_tref[$slot]="nbd+unix:///?socket=$f.sock" ;;
    qemu-nbd)
        f="$dir/target-$slot.img"
        bench_fresh_target "$f" "$size"
        _bench_tfile[$slot]=$f
        # shellcheck disable=SC2086 # QEMU_NBD_OPTS is a list of options
        qemu-nbd --fork --persistent --shared=0 --pid-file="$f.sock.pid" \
            -f raw $QEMU_NBD_OPTS -k "$f.sock" "$f"
        _bench_wait_pidfile "$f.sock.pid"
        _bench_tpid[$slot]=$(cat "$f.sock.pid")
        _bench_pids+=("${_bench_tpid[$slot]}")
        _bench_tref[$slot]="nbd+unix:///?socket=$f.sock" ;;
    esac
    # shellcheck disable=SC2034 # the result, for the caller
    tref=${_bench_tref[$slot]}
}

# bench_target_verify KIND SLOT IMAGE: exit 1 unless SLOT's target holds
# exactly IMAGE (bench_cmp_sparse; an NBD memory target is read back into a
# file with nbdcopy first, a qemu-nbd target is compared through its file
# once its server stopped).
bench_target_verify ()
{
    local kind=$1 slot=$2 image=$3
    case "$kind" in
    file|tmpfs)
        bench_verify_raw "$image" "${_bench_tfile[$slot]}" ;;
    nbd-memory)
        # Read back into a file on tmpfs (nbdcopy leaves the target's holes
        # and zero blocks out), then compare that.
        local back="$_bench_tmpfs_dir/readback-$slot.img"
        rm -f "$back"
        nbdcopy "${_bench_tref[$slot]}" "$back" ||
            bench_die "cannot read back ${_bench_tref[$slot]}"
        bench_cmp_sparse "$image" "$back" ||
            bench_die "WRONG COPY: ${_bench_tref[$slot]} differs from $image"
        rm -f "$back" ;;
    qemu-nbd)
        bench_stop_server "${_bench_tpid[$slot]}"
        _bench_tpid[$slot]=
        bench_verify_raw "$image" "${_bench_tfile[$slot]}" ;;
    esac
}
