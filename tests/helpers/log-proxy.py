#!/usr/bin/env python3
"""An HTTP proxy in front of a VMA that logs who asked for what.

Usage: log-proxy.py PORTFILE UPSTREAM LOG

Listens on 127.0.0.1 on a port the kernel picks (written to PORTFILE),
forwards every GET to UPSTREAM (http://127.0.0.1:PORT) and answers with
the upstream's status and body.  Each request appends one line to LOG:
the User-Agent, a tab, the path.  The OMAs name their node in their
User-Agent, so the log says which OMA polled which job.
"""
import os
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        agent = self.headers.get("User-Agent", "")
        with LOCK:
            with open(LOG, "a") as f:
                f.write("%s\t%s\n" % (agent, self.path))
        req = urllib.request.Request(UPSTREAM + self.path)
        auth = self.headers.get("Authorization")
        if auth:
            req.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


PORTFILE, UPSTREAM, LOG = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
