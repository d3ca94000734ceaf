#!/usr/bin/env bash
# Type=notify: under a NOTIFY_SOCKET the daemons send READY=1 once they
# listen (so a request right after it is answered), WATCHDOG=1 while
# WATCHDOG_USEC asks for it, and STOPPING=1 at SIGTERM.  The socket is
# read by a small python3 datagram server, as systemd would.
. "$(dirname "$0")/functions.sh" || exit 1
requires python3 --version
requires curl --version
make_tmpdir

# listen_notify NAME: a datagram socket $tmp/NAME.sock whose messages go,
# one line each, to $tmp/NAME.msgs, until STOPPING=1.
listen_notify ()
{
    python3 - "$tmp/$1.sock" "$tmp/$1.msgs" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        m = s.recv(4096).decode()
        f.write(m.replace("\n", " ") + "\n")
        if "STOPPING=1" in m:
            break
PY
    cleanup_fn kill_daemon $!
    wait_for 10 test -S "$tmp/$1.sock" || fail "no notify socket"
}

check_daemon ()                 # check_daemon NAME HEALTH-PATH CMD...
{
    local name=$1 path=$2 pid port
    shift 2
    listen_notify "$name"
    NOTIFY_SOCKET=$tmp/$name.sock WATCHDOG_USEC=300000 \
        start_service pid port "$tmp/$name.log" "$@"
    wait_for 10 grep -qx 'READY=1' "$tmp/$name.msgs" ||
        fail "$name: no READY=1"
    curl -sf -o /dev/null "http://127.0.0.1:$port$path" ||
        fail "$name: READY=1 but not answering"
    wait_for 10 sh -c "[ \$(grep -c '^WATCHDOG=1\$' '$tmp/$name.msgs') -ge 2 ]" ||
        fail "$name: no WATCHDOG=1 keep-alives"
    grep -q STOPPING "$tmp/$name.msgs" && fail "$name: STOPPING=1 early"
    stop_service "$pid" "$tmp/$name.log"
    wait_for 10 grep -qx 'STOPPING=1' "$tmp/$name.msgs" ||
        fail "$name: no STOPPING=1 at SIGTERM"
    [ "$(grep -c '^READY=1$' "$tmp/$name.msgs")" = 1 ] ||
        fail "$name: READY=1 more than once"
}

check_daemon vma /healthz "$CBTRACK" vma
check_daemon oma /healthz "$CBTRACK" oma --db "sqlite:$tmp/oma.db"

# Without NOTIFY_SOCKET nothing is sent and nothing fails.
start_service pid port "$tmp/plain.log" "$CBTRACK" vma
stop_service "$pid" "$tmp/plain.log"
