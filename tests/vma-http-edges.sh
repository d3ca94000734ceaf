#!/usr/bin/env bash
# cbtrack vma and HTTP edge cases: %00 in a path, two different
# Content-Length headers, an 8 KiB query and a chunked body far over the
# limit each get an answer (400, 414, 413), never a truncated path or a
# silently closed connection, and change nothing.
. "$SRCDIR/tests/functions.sh"
. "$SRCDIR/tests/vma-functions.sh"
make_tmpdir
requires command -v curl
requires command -v jq
requires command -v python3

start_vma
post_update nul1 '{"status":"in_progress"}'
expect_http 400 DELETE '/api/v1/progress/nul1%00zzz'
expect_http 200 GET /api/v1/progress/nul1
expect_http 400 GET '/api/v1/progress/nul1%0A'

# Raw requests (curl would not send these).
raw ()
{
    python3 - "$vma_url" "$1" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
s = socket.create_connection((u.hostname, u.port), timeout=30)
s.sendall(sys.argv[2].encode().replace(b"\\r\\n", b"\r\n"))
data = b""
while True:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    if not chunk:
        break
    data += chunk
    if b"\r\n\r\n" in data:
        break
print(data.split(b"\r\n", 1)[0].decode() if data else "NO ANSWER")
PY
}
body='{"status":"completed"}'
got=$(raw "POST /api/v1/progress/cl/update HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: ${#body}\\r\\nContent-Length: 2\\r\\n\\r\\n$body")
case "$got" in *" 400 "*) ;; *) fail "two Content-Length: $got" ;; esac
expect_http 404 GET /api/v1/progress/cl

q=$(head -c 8000 /dev/zero | tr '\0' 'q')
got=$(raw "GET /healthz?a=$q HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
case "$got" in *" 414 "*|*" 431 "*|*" 400 "*) ;; *) fail "8 KB query: $got" ;; esac

# A chunked body of 64 MiB: the service stops reading it soon after
# 64 KiB (it answers 413 or resets the connection), instead of reading it
# whole first.
got=$(python3 - "$vma_url" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
s = socket.create_connection((u.hostname, u.port), timeout=30)
s.sendall(b"POST /api/v1/progress/big/update HTTP/1.1\r\nHost: x\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n")
chunk = b"%x\r\n" % 65536 + b"x" * 65536 + b"\r\n"
sent = 0
try:
    for _ in range(1024):
        s.sendall(chunk)
        sent += 1
except OSError:
    pass
try:
    answer = s.recv(200).split(b"\r\n", 1)[0].decode()
except OSError:
    answer = "reset"
print(sent, answer)
PY
)
set -- $got
[ "$1" -lt 1024 ] || fail "the whole chunked body was read: $got"
case "$got" in *" 413 "*|*reset*|*" ") ;; *) fail "chunked: $got" ;; esac
expect_http 404 GET /api/v1/progress/big
stop_vma
