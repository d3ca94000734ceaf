#!/usr/bin/env python3
"""Drive the OMA's login form and Cancel button in headless Chromium
over the DevTools protocol (a minimal client on the standard library).

  cdp_actions.py OMA_URL USER PASSWORD JOB_ID SCREENSHOT.png

Opens OMA_URL/, expects to be sent to /login, logs in through the form,
waits for the job's Cancel button, accepts the confirmation, clicks it,
and waits until the page says the job is cancelling and then shows it
cancelled; saves a screenshot.  Exits 0 on success, 1 with a message.
Every wait has a deadline.
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request


def fail(msg):
    print("cdp_actions: " + msg, file=sys.stderr)
    sys.exit(1)


class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: text frames,
    masked from the client, continuation frames on the way in."""

    def __init__(self, url, timeout):
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            "GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n" % (path, hostport, key)
        ).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                fail("the DevTools socket closed during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            fail("no WebSocket upgrade: %r" % head[:80])

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                fail("the DevTools socket closed")
            data += chunk
        return data

    def send(self, text):
        payload = text.encode()
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            data = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 0x8:
                fail("the DevTools socket was closed by Chromium")
            if opcode in (0x9, 0xA):
                continue
            message += data
            if b0 & 0x80:
                return message.decode()


class Page:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method,
                                 "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    fail("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})

    def eval(self, expression):
        r = self.call("Runtime.evaluate", expression=expression,
                      awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            fail("script failed: %s: %s" % (expression, r["exceptionDetails"]))
        return r.get("result", {}).get("value")

    def try_eval(self, expression):
        """Like eval, but None when the script throws (the page may be
        between two documents)."""
        r = self.call("Runtime.evaluate", expression=expression,
                      awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            return None
        return r.get("result", {}).get("value")

    def wait(self, expression, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.try_eval(expression):
                return
            time.sleep(0.2)
        fail("timed out waiting for " + what + "; page: " +
             str(self.try_eval("document.body.innerText")))


def main():
    if len(sys.argv) != 6:
        fail("usage: cdp_actions.py OMA_URL USER PASSWORD JOB_ID PNG")
    oma, user, password, job, png = sys.argv[1:]
    profile = tempfile.mkdtemp(prefix="cbtrack-cdp-")
    chrome = subprocess.Popen(
        ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--user-data-dir=" + profile,
         "--window-size=1200,900", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file):
            if time.monotonic() > deadline or chrome.poll() is not None:
                fail("Chromium did not open its DevTools port")
            time.sleep(0.1)
        time.sleep(0.2)
        port = open(port_file).read().split()[0]
        targets = json.load(urllib.request.urlopen(
            "http://127.0.0.1:%s/json/list" % port, timeout=10))
        ws_url = [t for t in targets if t["type"] == "page"][0][
            "webSocketDebuggerUrl"]
        page = Page(WebSocket(ws_url, 30))
        page.call("Page.enable")
        page.call("Runtime.enable")

        page.call("Page.navigate", url=oma + "/")
        page.wait("location.pathname === '/login' && "
                  "document.getElementById('login').dataset.ready === '1'",
                  "the redirect to the login form")
        # A wrong password first: the form says so and stays.
        page.eval("document.getElementById('login-user').value = %s;"
                  "document.getElementById('login-password').value = 'x';"
                  "document.getElementById('login-submit').click(); true"
                  % json.dumps(user))
        page.wait("!document.getElementById('login-error').hidden",
                  "the login error")
        page.eval("document.getElementById('login-password').value = %s;"
                  "document.getElementById('login-submit').click(); true"
                  % json.dumps(password))
        page.wait("location.pathname === '/'", "the page after the login")
        button = "document.querySelector('button[data-cancel-job=%s]')" % \
            json.dumps(job)
        page.wait("!!" + button, "the Cancel button of " + job)
        page.wait("!!document.getElementById('logout')", "the Log out button")
        page.eval("window.confirm = () => true; %s.click(); true" % button)
        page.wait("(document.getElementById('action-note') || {})"
                  ".textContent === 'Job ' + %s + ': cancelling'"
                  % json.dumps(job), "the page to say cancelling")
        page.wait("[...document.querySelectorAll('.job')].some(li => "
                  "li.dataset.jobId === %s && "
                  "li.querySelector('.status-cancelled'))" % json.dumps(job),
                  "the job to show cancelled", timeout=60)
        shot = page.call("Page.captureScreenshot", format="png")
        with open(png, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    finally:
        chrome.terminate()
        try:
            chrome.wait(10)
        except subprocess.TimeoutExpired:
            chrome.kill()
            chrome.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
