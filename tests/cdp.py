"""A small driver of headless Chromium over the DevTools protocol.

Chromium is started with --remote-debugging-pipe: it reads commands from
file descriptor 3 and writes answers and events to descriptor 4, one JSON
message per NUL-terminated record.  No network port, no extra package:
the Python standard library only.

    with Browser("/usr/bin/chromium", profile_dir) as b:
        b.open("http://127.0.0.1:8080/")
        b.wait("document.querySelectorAll('.job').length > 0")
        b.click(".job[data-job-id='job-1']")
        b.screenshot("page.png")

Every wait has a timeout; a failure raises CdpError with what it waited
for.
"""

import base64
import json
import os
import select
import subprocess
import time


class CdpError(Exception):
    pass


class Browser:
    def __init__(self, chromium, profile, width=1280, height=900,
                 env=None, log=None, timeout=30):
        self.timeout = timeout
        self.next_id = 0
        self.buf = b""
        self.session = None
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--hide-scrollbars",
                "--user-data-dir=" + profile,
                "--window-size=%d,%d" % (width, height),
                "--remote-debugging-pipe", "about:blank"]
        # Chromium's ends of the pipes must be descriptors 3 and 4: bash
        # moves them there and execs it.
        # (through 100 and 101, so that a pipe that is already 3 or 4
        # is not closed on the way).
        shell = ["bash", "-c",
                 'exec 100<&%d 101>&%d %d<&- %d>&- && '
                 'exec "$0" "$@" 3<&100 4>&101 100<&- 101>&-'
                 % (to_chrome_r, from_chrome_w, to_chrome_r, from_chrome_w)]
        self.proc = subprocess.Popen(
            shell + args, pass_fds=(to_chrome_r, from_chrome_w),
            stdin=subprocess.DEVNULL, stdout=log or subprocess.DEVNULL,
            stderr=log or subprocess.DEVNULL, env=env)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.wfd = to_chrome_w
        self.rfd = from_chrome_r
        targets = self.send("Target.getTargets", session=False)
        pages = [t for t in targets["targetInfos"] if t["type"] == "page"]
        if pages:
            target = pages[0]["targetId"]
        else:
            target = self.send("Target.createTarget", {"url": "about:blank"},
                               session=False)["targetId"]
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.resize(width, height)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.proc is None:
            return
        try:
            self.send("Browser.close", session=False, timeout=5)
        except (CdpError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.wfd)
        os.close(self.rfd)
        self.proc = None

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError("timed out waiting for chromium")
            ready, _, _ = select.select([self.rfd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.rfd, 1 << 20)
            if not chunk:
                raise CdpError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=True, timeout=None):
        """Sends one command and returns its result (events are dropped)."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.wfd, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise CdpError("%s: %s" % (method, answer["error"]))
                return answer.get("result", {})

    def eval(self, expr):
        """The value of the JavaScript expression EXPR (awaited)."""
        r = self.send("Runtime.evaluate", {
            "expression": expr, "awaitPromise": True, "returnByValue": True,
            "userGesture": True})
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CdpError("%s: %s" % (expr, d.get("exception", {}).get(
                "description", d.get("text"))))
        return r["result"].get("value")

    def wait(self, expr, timeout=None, what=None):
        """Waits until EXPR is truthy in JavaScript."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            v = self.eval("!!(%s)" % expr)
            if v:
                return v
            if time.monotonic() > deadline:
                raise CdpError("timed out waiting for " + (what or expr))
            time.sleep(0.1)

    def open(self, url):
        self.send("Page.navigate", {"url": url})
        self.wait("document.readyState === 'complete'")

    def resize(self, width, height):
        self.send("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1,
            "mobile": width < 600})

    def center(self, selector):
        """The viewport coordinates of the middle of SELECTOR's element."""
        r = self.eval("""(() => {
            const e = document.querySelector(%s);
            if (!e) return null;
            e.scrollIntoView({block: "center"});
            const r = e.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + Math.min(r.height / 2, 12)];
        })()""" % json.dumps(selector))
        if r is None:
            raise CdpError("no element " + selector)
        return r

    def mouse(self, kind, x, y, button="none", clicks=0):
        self.send("Input.dispatchMouseEvent", {
            "type": kind, "x": x, "y": y, "button": button,
            "clickCount": clicks})

    def click(self, selector):
        """A real mouse click (moved, pressed, released) on SELECTOR."""
        x, y = self.center(selector)
        self.mouse("mouseMoved", x, y)
        self.mouse("mousePressed", x, y, "left", 1)
        self.mouse("mouseReleased", x, y, "left", 1)

    def hover(self, selector, dx=0):
        x, y = self.center(selector)
        self.mouse("mouseMoved", x + dx, y)

    def type(self, selector, text):
        """Focuses SELECTOR, clears it and types TEXT."""
        self.eval("""(() => {
            const e = document.querySelector(%s);
            e.focus(); e.select && e.select();
        })()""" % json.dumps(selector))
        self.send("Input.dispatchKeyEvent", {"type": "keyDown",
                                              "key": "Backspace",
                                              "code": "Backspace",
                                              "windowsVirtualKeyCode": 8})
        self.send("Input.dispatchKeyEvent", {"type": "keyUp",
                                              "key": "Backspace",
                                              "code": "Backspace",
                                              "windowsVirtualKeyCode": 8})
        if text:
            self.send("Input.insertText", {"text": text})

    def choose(self, selector, value):
        """Picks VALUE in the <select> SELECTOR as a user would (focus,
        keyboard selection, change event)."""
        self.eval("""(() => {
            const e = document.querySelector(%s);
            e.focus();
            e.value = %s;
            e.dispatchEvent(new Event("input", {bubbles: true}));
            e.dispatchEvent(new Event("change", {bubbles: true}));
        })()""" % (json.dumps(selector), json.dumps(value)))

    def screenshot(self, path, full_page=False):
        params = {"format": "png"}
        if full_page:
            m = self.send("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m["contentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"],
                              "height": size["height"], "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", params)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
