# cbtrack - shared helpers for the shell integration tests.
#
# Source this first:   . "$SRCDIR/tests/functions.sh"
# Meson sets CBTRACK (the binary under test), SRCDIR, BUILDDIR,
# CBTRACK_SANITIZED and CBTRACK_MARIADB (0: built without MariaDB); the
# defaults below let a test run by hand too.

set -e
set -u

: "${SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${BUILDDIR:=$SRCDIR/build}"
: "${CBTRACK:=$BUILDDIR/src/cbtrack}"
: "${CBTRACK_SANITIZED:=0}"
export CBTRACK SRCDIR BUILDDIR

# Under the sanitizers, any report is a failure.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

_cleanup_fns=()
# Set by a cleanup that found a bug (kill_daemon needing SIGKILL): the test
# then fails even if everything before the cleanups passed.
_cleanup_failed=0

# cleanup_fn CMD [ARGS...]: run CMD when the test exits, however it exits.
# Cleanups run last-registered first.
cleanup_fn ()
{
    _cleanup_fns+=("$(printf '%q ' "$@")")
}

_run_cleanups ()
{
    local status=$? i
    set +e
    for (( i=${#_cleanup_fns[@]}-1; i >= 0; i-- )); do
        eval "${_cleanup_fns[$i]}"
    done
    # A skipped or passed test whose cleanup found a bug has failed.
    if [ "$_cleanup_failed" = 1 ] && { [ "$status" = 0 ] ||
                                       [ "$status" = 77 ]; }; then
        status=1
    fi
    exit $status
}
trap _run_cleanups EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# requires CMD [ARGS...]: skip the test (exit 77) unless CMD succeeds.
requires ()
{
    if ! "$@" >/dev/null 2>&1; then
        echo "$0: test skipped because prerequisite is missing: $*" >&2
        exit 77
    fi
}

# requires_unsanitized: skip under the ASan+UBSan build (for tests of
# external programs, timings or browsers that gain nothing from it).
requires_unsanitized ()
{
    if [ "$CBTRACK_SANITIZED" = 1 ]; then
        echo "$0: test skipped under the sanitizer build" >&2
        exit 77
    fi
}

# fail MESSAGE: print and exit 1.
fail ()
{
    echo "$0: FAIL: $*" >&2
    exit 1
}

# make_tmpdir: create $tmp, removed at exit.
make_tmpdir ()
{
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/cbtrack-test.XXXXXX")"
    cleanup_fn rm -rf "$tmp"
    # cbtrack copy keeps its checkpoints here, not in the user's home.
    export XDG_STATE_HOME="$tmp/state"
}

# pick_port: print a TCP port on 127.0.0.1 that is free right now.  Tests
# run in parallel, so another may take it before it is used: daemons of
# ours listen on 127.0.0.1:0 instead (start_service, start_vma), and a
# port where nothing may answer is 9 (discard, privileged, never picked).
pick_port ()
{
    local port
    for _ in $(seq 100); do
        port=$(( 20000 + RANDOM % 30000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    fail "no free port found"
}

# mount_loop_ext4 DIR SIZE [MKFS-OPTIONS...]: mount a fresh ext4 of SIZE on
# DIR, through a loop device whose backing file lives on a tmpfs of its own
# at DIR.backing (so that the test can fill it); unmounted at exit.  Exits
# 77 (skipped) where the machine cannot make loop devices.
mount_loop_ext4 ()
{
    local dir=$1 size=$2 loop
    shift 2
    mkdir -p "$dir" "$dir.backing"
    mount -t tmpfs -o "size=$size" tmpfs "$dir.backing" 2>/dev/null ||
        { echo "$0: test skipped: cannot mount tmpfs" >&2; exit 77; }
    cleanup_fn umount -l "$dir.backing"
    truncate -s 256M "$dir.backing/fs.img"
    mkfs.ext4 -q -F "$@" "$dir.backing/fs.img"
    loop=$(losetup --find --show "$dir.backing/fs.img" 2>/dev/null) ||
        { echo "$0: test skipped: cannot make loop devices" >&2; exit 77; }
    cleanup_fn losetup -d "$loop"
    mount -o errors=continue "$loop" "$dir" ||
        { echo "$0: test skipped: cannot mount $loop" >&2; exit 77; }
    cleanup_fn umount -l "$dir"
}

# get_json URL [CURL-ARGS...]: GET URL and print its JSON body, or "null"
# when the request fails.  Use it before "| jq -e": jq 1.6 exits 0 with -e
# when its input is empty, so a failed "curl -sf" would pass any filter.
get_json ()
{
    curl -sf "$@" || echo null
}

# wait_for TIMEOUT CMD [ARGS...]: poll CMD every 0.1 s until it succeeds.
wait_for ()
{
    local timeout=$1 i
    shift
    for (( i=0; i < timeout * 10; i++ )); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    return 1
}

# start_daemon PIDVAR CMD [ARGS...]: start CMD in the background, store its
# pid in PIDVAR, and stop it at exit with kill_daemon.
start_daemon ()
{
    local var=$1
    shift
    "$@" &
    local pid=$!
    printf -v "$var" '%s' "$pid"
    cleanup_fn kill_daemon "$pid"
}

# kill_daemon PID: stop PID with SIGTERM.  A daemon still running 5 s
# later ignores SIGTERM, which is a bug: it is killed with SIGKILL and the
# test fails (status 1 here; at exit, through _cleanup_failed, even though
# this runs as a cleanup).
kill_daemon ()
{
    local pid=$1
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || :; return 0; }
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || :
    echo "$0: FAIL: process $pid ignored SIGTERM and needed SIGKILL" >&2
    _cleanup_failed=1
    return 1
}

# start_nbdkit SOCKVAR [NBDKIT ARGS...]: serve an export over a new Unix
# socket in $tmp; stores the socket path in SOCKVAR and the matching URI in
# SOCKVAR_uri.  The server dies at exit.
start_nbdkit ()
{
    local var=$1 sock pidfile pid
    shift
    sock="$tmp/nbdkit-$RANDOM$RANDOM.sock"
    pidfile="$sock.pid"
    # --exit-with-parent keeps nbdkit in the foreground: background it.
    nbdkit --exit-with-parent -U "$sock" -P "$pidfile" "$@" &
    pid=$!
    cleanup_fn kill_daemon "$pid"
    wait_for 10 test -s "$pidfile" || fail "nbdkit did not start: $*"
    printf -v "$var" '%s' "$sock"
    printf -v "${var}_uri" '%s' "nbd+unix:///?socket=$sock"
}

# start_qemu_nbd SOCKVAR [QEMU-NBD ARGS...]: like start_nbdkit, for
# qemu-nbd (persistent, so several connections can come and go).
start_qemu_nbd ()
{
    local var=$1 sock pidfile
    shift
    sock="$tmp/qemu-nbd-$RANDOM$RANDOM.sock"
    pidfile="$sock.pid"
    qemu-nbd --fork --persistent --pid-file="$pidfile" -k "$sock" "$@"
    wait_for 10 test -s "$pidfile" || fail "qemu-nbd did not start: $*"
    cleanup_fn kill_daemon "$(cat "$pidfile")"
    printf -v "$var" '%s' "$sock"
    printf -v "${var}_uri" '%s' "nbd+unix:///?socket=$sock"
}

# nbd_sha256 URI: sha256 of the whole export (via nbdcopy to stdout).
nbd_sha256 ()
{
    nbdcopy -- "$1" - | sha256sum | cut -d' ' -f1
}

# file_sha256 FILE
file_sha256 ()
{
    sha256sum "$1" | cut -d' ' -f1
}

# expect_exit CODE CMD [ARGS...]: run CMD, stderr to $tmp/stderr, and
# fail unless it exits with CODE.
expect_exit ()
{
    local want=$1 got=0
    shift
    "$@" 2>"$tmp/stderr" || got=$?
    if [ "$got" != "$want" ]; then
        cat "$tmp/stderr" >&2
        fail "expected exit $want, got $got: $*"
    fi
}

# expect_stderr PATTERN: the last expect_exit's stderr matches PATTERN
# (grep -E), on a single line.
expect_stderr ()
{
    grep -Eq -- "$1" "$tmp/stderr" || {
        cat "$tmp/stderr" >&2
        fail "stderr does not match /$1/"
    }
}

# export_sha256 SOURCE: sha256 of an NBD export or a file's contents.
export_sha256 ()
{
    case "$1" in
        nbd*://*) nbd_sha256 "$1" ;;
        *) file_sha256 "$1" ;;
    esac
}

# check_same SOURCE TARGET: fail unless both hold the same bytes (sizes
# included).
check_same ()
{
    local a b
    a=$(export_sha256 "$1")
    b=$(export_sha256 "$2")
    [ "$a" = "$b" ] || fail "target differs from source: $1 ($a) vs $2 ($b)"
}

# plan_value SOURCE KEY [PLAN ARGS...]: one number from `cbtrack plan --json`.
plan_value ()
{
    local src=$1 key=$2
    shift 2
    "$CBTRACK" plan --json "$@" "$src" | jq -e ".$key"
}

# nbdinfo_total URI TYPE [CONTEXT]: bytes of map type TYPE (0 data,
# 2 zero, 3 hole,zero; 1 dirty for bitmaps) per `nbdinfo --map --totals`.
nbdinfo_total ()
{
    local uri=$1 type=$2 ctx=${3:-base:allocation}
    nbdinfo --map="$ctx" --totals --json "$uri" |
        jq -e "[.[] | select(.type == $type) | .size] | add // 0"
}

# check_progress_json FILE TOTAL: the JSON progress stream in FILE is
# monotone, never above its total, and ends completed with
# bytes_transferred == total_bytes == TOTAL and percent 100.
check_progress_json ()
{
    local file=$1 total=$2
    jq -e -s --argjson total "$total" '
        . as $u
        | ($u | length) >= 2
        and ([range(1; $u | length)] | all(. as $i |
              $u[$i].bytes_transferred >= $u[$i-1].bytes_transferred
              and $u[$i].percent >= $u[$i-1].percent))
        and ($u | all(.bytes_transferred <= .total_bytes))
        and ($u | all(.status != "completed" or .percent == 100))
        and ($u | map(select(.status != "completed")) | all(.percent < 100))
        and ($u[-1].status == "completed")
        and ($u[-1].bytes_transferred == $total)
        and ($u[-1].total_bytes == $total)
        and ($u[-1].percent == 100)' "$file" >/dev/null ||
        { cat "$file" >&2; fail "progress stream in $file is wrong"; }
}

# start_mariadb DIRVAR: start a private MariaDB server (its own data
# directory and Unix socket under $tmp, no TCP) and store its directory in
# DIRVAR.  It sets DIRVAR_sock (the socket) and DIRVAR_url (a --db URL
# for the database "cbtrack", which cbtrack creates).  The server is
# stopped at exit; stop_mariadb / restart_mariadb DIR stop and start it
# again on the same data.
start_mariadb ()
{
    local var=$1 dir
    if [ "${CBTRACK_MARIADB:-1}" != 1 ]; then
        echo "$0: test skipped: cbtrack built without MariaDB" >&2
        exit 77
    fi
    requires command -v mariadbd
    requires command -v mariadb-install-db
    requires command -v mariadb
    dir="$tmp/mariadb-$RANDOM"
    # Its own tmpdir too: servers sharing /tmp (other tests, other
    # users) clash on the names of their temporary tables.
    mkdir -p "$dir/tmp"
    mariadb-install-db --no-defaults --user="$(id -un)" \
        --datadir="$dir/data" --auth-root-authentication-method=normal \
        --skip-test-db --tmpdir="$dir/tmp" >"$dir/install.log" 2>&1 || {
        cat "$dir/install.log" >&2
        fail "mariadb-install-db failed"
    }
    restart_mariadb "$dir"
    cleanup_fn stop_mariadb "$dir"
    printf -v "$var" '%s' "$dir"
    printf -v "${var}_sock" '%s' "$dir/sock"
    printf -v "${var}_url" '%s' \
        "mysql://root@localhost/cbtrack?socket=$dir/sock"
}

# restart_mariadb DIR: start the server of DIR (after stop_mariadb).
restart_mariadb ()
{
    local dir=$1
    mariadbd --no-defaults --user="$(id -un)" --datadir="$dir/data" \
        --socket="$dir/sock" --skip-networking --pid-file="$dir/pid" \
        --tmpdir="$dir/tmp" \
        --log-error="$dir/error.log" --innodb-buffer-pool-size=32M \
        --innodb-log-file-size=16M --innodb-flush-log-at-trx-commit=2 \
        --skip-name-resolve </dev/null >/dev/null 2>&1 &
    wait_for 60 mariadb --no-defaults -S "$dir/sock" -u root -e 'SELECT 1' ||
        { cat "$dir/error.log" >&2; fail "mariadbd did not start"; }
}

# stop_mariadb DIR: stop the server of DIR and wait until it is gone.
stop_mariadb ()
{
    local dir=$1 pid
    [ -s "$dir/pid" ] || return 0
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$dir/pid"; return 0; }
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    rm -f "$dir/pid"
    return 0
}

# mariadb_query DIR SQL: run SQL on database "cbtrack" of the server of
# DIR; prints tab-separated rows without headers.
mariadb_query ()
{
    mariadb --no-defaults -S "$1/sock" -u root -N -B cbtrack -e "$2"
}

# start_service PIDVAR PORTVAR LOG CMD [ARGS...]: start a cbtrack daemon
# (vma, oma) on a port the kernel picks (--listen 127.0.0.1:0 is added),
# its stderr written to LOG (truncated first); stores its pid in PIDVAR and its port, read
# from its "listening on ... (port N)" line, in PORTVAR.  Stopped at exit.
# No port can be taken by someone else between choosing and binding it.
start_service ()
{
    local _svc_pidvar=$1 _svc_portvar=$2 _svc_log=$3 _svc_pid _svc_port=
    shift 3
    : >"$_svc_log"
    "$@" --listen 127.0.0.1:0 2>"$_svc_log" &
    _svc_pid=$!
    cleanup_fn kill_daemon "$_svc_pid"
    for _ in $(seq 300); do
        _svc_port=$(sed -n 's/.*listening on .*(port \([0-9]*\)).*/\1/p' \
                        "$_svc_log" | head -n1)
        [ -n "$_svc_port" ] && break
        kill -0 "$_svc_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$_svc_port" ] || { cat "$_svc_log" >&2; fail "did not start: $*"; }
    printf -v "$_svc_pidvar" '%s' "$_svc_pid"
    printf -v "$_svc_portvar" '%s' "$_svc_port"
}

# stop_service PID LOG: SIGTERM the daemon PID (started by start_service)
# and fail, showing LOG, unless it exits by itself with status 0 — under
# the sanitizers that also proves it freed everything.
stop_service ()
{
    local _svc_status=0
    kill -TERM "$1" 2>/dev/null || fail "daemon $1 is not running"
    wait "$1" || _svc_status=$?
    [ "$_svc_status" = 0 ] || {
        cat "$2" >&2
        fail "daemon $1 exited with status $_svc_status after SIGTERM"
    }
}

# start_silent_server PORTVAR [ACCEPTS]: a TCP server on 127.0.0.1 (port
# picked by the kernel, stored in PORTVAR) that accepts every connection
# and never answers: a peer that hangs, for the timeouts.  With ACCEPTS,
# it appends a line "accept" to that file for each connection.  Stopped at
# exit.
start_silent_server ()
{
    local _ss_var=$1 _ss_log=${2:-} _ss_file="$tmp/silent-$RANDOM.port" _ss_port=
    [ -z "$_ss_log" ] || : >"$_ss_log"
    python3 - "$_ss_file" "$_ss_log" <<'PY' &
import os, socket, sys
s = socket.socket ()
s.bind (("127.0.0.1", 0))
s.listen (16)
with open (sys.argv[1] + ".tmp", "w") as f:
    f.write (str (s.getsockname ()[1]))
os.rename (sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    c, _ = s.accept ()
    held.append (c)
    if sys.argv[2]:
        with open (sys.argv[2], "a") as f:
            f.write ("accept\n")
PY
    cleanup_fn kill_daemon $!
    wait_for 10 test -s "$_ss_file" || fail "the silent server did not start"
    _ss_port=$(cat "$_ss_file")
    printf -v "$_ss_var" '%s' "$_ss_port"
}

# expect_one_line: the last expect_exit's stderr is exactly one line.
expect_one_line ()
{
    [ "$(wc -l < "$tmp/stderr")" = 1 ] || {
        cat "$tmp/stderr" >&2
        fail "expected one line on stderr"
    }
}
