#!/usr/bin/env python3
"""A VMA stand-in that answers every job, but slowly.

Usage: slow-vma.py PORTFILE DELAY [DISKS]

Listens on 127.0.0.1 on a port the kernel picks (written to PORTFILE),
and answers GET /api/v1/progress/ID with an in-progress job document
after DELAY seconds, one thread per connection, so many requests are
answered at once, each as slowly as the last.  Every other request is
answered 404.  With DISKS, each job has that many disks.
"""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/api/v1/progress/"
START = time.time()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if not self.path.startswith(PREFIX) or "/" in self.path[len(PREFIX):]:
            body = b'{"error":"not found"}'
            status = 404
        else:
            time.sleep(DELAY)
            job = self.path[len(PREFIX):]
            body = json.dumps({
                "job_id": job, "stage": "Transfer", "status": "in_progress",
                # Bytes that keep moving: a job whose bytes stand still
                # dies of "no progress", and these jobs are healthy.
                "sync_type": "full",
                "bytes_transferred": int((time.time() - START) * 1000),
                "total_bytes": 10 ** 12, "throughput_bps": 1000,
                "seconds_since_update": 0,
                "disks": [{"disk_id": "d%d" % i, "status": "in_progress",
                           "bytes_transferred": 0, "total_bytes": 1}
                          for i in range(DISKS)]}).encode()
            status = 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the listen backlog: no SYN is dropped

    def handle_error(self, request, client_address):
        pass  # a client that gave up (timeout) is no error here


DELAY = float(sys.argv[2])
DISKS = int(sys.argv[3]) if len(sys.argv) > 3 else 0
server = Server(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
