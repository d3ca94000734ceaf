#!/usr/bin/env python3
"""Holds many half-sent requests open against one server.

Usage: slowloris.py HOST PORT COUNT READYFILE STOPFILE

Opens up to COUNT connections from 127.0.0.2 (another loopback address
than the test's own clients), sends each the start of a request, writes
how many connections it holds to READYFILE, then sends one more byte on
each every second until STOPFILE exists (at most 120 s).
"""
import os
import resource
import socket
import sys
import time

host, port, count, ready, stop = (sys.argv[1], int(sys.argv[2]),
                                  int(sys.argv[3]), sys.argv[4], sys.argv[5])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 64), hard))
socks = []
for _ in range(count):
    try:
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.settimeout(2)
        s.connect((host, port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    except OSError:
        break
with open(ready + ".tmp", "w") as f:
    f.write(str(len(socks)))
os.rename(ready + ".tmp", ready)
deadline = time.time() + 120
while not os.path.exists(stop) and time.time() < deadline:
    time.sleep(1)
    for s in socks:
        try:
            s.send(b"X")
        except OSError:
            pass
