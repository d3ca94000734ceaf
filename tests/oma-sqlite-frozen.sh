#!/usr/bin/env bash
# cbtrack oma with its SQLite file on a frozen filesystem (fsfreeze): a
# POST that writes is stuck in the kernel until the thaw, but it holds no
# other connection.  Keep-alive connections opened before the freeze
# still get /healthz at once, a new one gets the UI, and a list that needs
# the database answers 503 within the store's bound; after the thaw the
# stuck POST completes.
. "$SRCDIR/tests/functions.sh"
requires mkfs.ext4 -V
requires losetup --version
requires command -v fsfreeze
requires command -v python3
requires test "$(id -u)" = 0
make_tmpdir

mount_loop_ext4 "$tmp/mnt" 300M
# Whatever happens, the filesystem is not left frozen.
cleanup_fn fsfreeze -u "$tmp/mnt"
start_service oma_pid port "$tmp/oma.log" "$CBTRACK" oma \
    --db "sqlite:$tmp/mnt/oma.db" --vma http://127.0.0.1:9 --poll-interval 1h \
    --threads 2

python3 - "$port" "$tmp/mnt" <<'PY' || fail "the frozen database held other connections"
import http.client, subprocess, sys, threading, time

port, mnt = int(sys.argv[1]), sys.argv[2]

def get(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    r.read()
    return r.status

# Keep-alive connections, spread over whatever serves them, before the
# freeze.
idle = [http.client.HTTPConnection("127.0.0.1", port, timeout=4)
        for _ in range(8)]
for c in idle:
    assert get(c, "/healthz") == 200

subprocess.run(["fsfreeze", "-f", mnt], check=True)
stuck = {}
def post():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/api/v1/replications", body='{"id":"frozen-1"}')
    stuck["status"] = c.getresponse().status
try:
    t = threading.Thread(target=post)
    t.start()
    time.sleep(1.5)
    if "status" in stuck:
        sys.exit("the POST did not wait for the frozen filesystem: %s" % stuck)
    for i, c in enumerate(idle):
        start = time.monotonic()
        try:
            status = get(c, "/healthz")
        except OSError as e:
            sys.exit("keep-alive connection %d: /healthz: %s" % (i, e))
        print("keep-alive %d: /healthz %d in %.2f s"
              % (i, status, time.monotonic() - start))
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=4)
    if get(c, "/") != 200:
        sys.exit("the UI did not answer")
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=12)
    start = time.monotonic()
    status = get(c, "/api/v1/replications")
    print("list: %d in %.2f s" % (status, time.monotonic() - start))
    if status != 503:
        sys.exit("the list answered %d while the database was stuck" % status)
finally:
    subprocess.run(["fsfreeze", "-u", mnt], check=True)
t.join(30)
if stuck.get("status") != 201:
    sys.exit("after the thaw the POST answered %s" % stuck.get("status"))
PY
curl -sf "http://127.0.0.1:$port/api/v1/replications/frozen-1" >/dev/null ||
    fail "the job posted during the freeze is not there after the thaw"
stop_service "$oma_pid" "$tmp/oma.log"
