"""The console's browser test (run by tests/oma-console.sh).

    oma-console.py OMA_URL TMPDIR BUILDDIR HOSTILE_NAME

Drives the page over the DevTools protocol with real mouse clicks and
typing, and checks what each job shows.  Exits 1 with a message on the
first failure.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser, CdpError  # noqa: E402

url, tmp, builddir, hostile = sys.argv[1:5]


def fail(msg):
    print("oma-console.py: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def row(job):
    return ".job[data-job-id='%s']" % job


def row_info(b, job):
    """What the row of JOB shows, as a dict."""
    return b.eval("""(() => {
        const li = document.querySelector(%s);
        if (!li) return null;
        const t = (sel) => {
            const e = li.querySelector(sel);
            return e ? e.textContent : null;
        };
        return {
            status: t(".job-head .status"),
            name: t(".job-name"),
            throughput: t(".throughput .value"),
            eta: t(".eta .value"),
            stalled: t(".stalled-note"),
            duration: t(".duration .value"),
            average: t(".average .value"),
            started: t(".started .value"),
            completed: t(".completed .value"),
            error: t(".job-error"),
            text: t(".job-text"),
            diskRates: [...li.querySelectorAll(".disk-rate")]
                .map((e) => e.textContent).filter((s) => s !== ""),
            actions: !!li.querySelector(".job-actions"),
        };
    })()""" % json.dumps(row(job)))


def api(b, path):
    return b.eval("fetch(%s).then((r) => r.json())" % json.dumps(path))


# The ids of the jobs on the page, in page order (a JS expression).
JOB_IDS = "[...document.querySelectorAll('.job')].map((e) => e.dataset.jobId)"


def visible_jobs(b):
    return b.eval(JOB_IDS)


def shows_jobs(ids):
    """A JS condition: the page shows exactly the jobs IDS, in any order."""
    return "JSON.stringify(%s.sort()) === %s" % (
        JOB_IDS, json.dumps(json.dumps(sorted(ids), separators=(",", ":"))))


def shot(b, name, full=False):
    path = os.path.join(builddir, "oma-console-%s.png" % name)
    b.screenshot(path, full)
    with open(path, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            fail("%s is not a PNG" % path)


ALL = ["job-dead", "job-run", "job-stall", "job-fail", "job-full",
       "job-incr", "job-evil"]

log = open(os.path.join(tmp, "chromium.log"), "w")
try:
    with Browser("/usr/bin/chromium", os.path.join(tmp, "profile"),
                 width=1280, height=1000, log=log) as b:
        b.open(url + "/")
        b.wait("document.querySelectorAll('.job').length === 7",
               what="7 job rows")
        # The browser's time zone is not UTC: times must be local.
        if b.eval("new Date().getTimezoneOffset()") != -345:
            fail("the browser is not in Asia/Kathmandu")

        # Running: live rate and ETA, disks with theirs.
        b.wait("document.querySelector(\"%s .throughput\")" % row("job-run"))
        r = row_info(b, "job-run")
        if r["status"] != "replicating" or not r["throughput"].endswith(
                "MiB/s") or r["eta"] in (None, "--:--") or r["stalled"]:
            fail("job-run shows %r" % r)
        if len(r["diskRates"]) != 2 or "ETA" not in r["diskRates"][0]:
            fail("job-run's disks show %r" % r["diskRates"])
        if not r["actions"]:
            fail("no place for the job's actions")

        # Completed: duration, average, local start and end; no rate/ETA.
        r = row_info(b, "job-full")
        job = api(b, "/api/v1/replications/job-full")
        local = b.eval("[%s, %s].map((t) => new Date(t).toLocaleString())"
                       % (json.dumps(job["started_at"]),
                          json.dumps(job["completed_at"])))
        if (r["status"] != "completed" or r["throughput"] or r["eta"] or
                r["stalled"] or r["diskRates"] or not r["duration"] or
                not r["average"] or not r["average"].endswith("/s")):
            fail("job-full shows %r" % r)
        if r["started"] != local[0] or r["completed"] != local[1]:
            fail("job-full's times %r are not local %r" % (r, local))
        if "Z" in r["completed"] or "T" in r["completed"]:
            fail("job-full shows a raw UTC time: %r" % r["completed"])

        # Failed on the VMA, and dead (failed by the OMA): no rate, no ETA,
        # the reason.
        for j, why in (("job-fail", "No space left on device"),
                       ("job-dead", "dead:")):
            r = row_info(b, j)
            if (r["status"] != "failed" or r["throughput"] or r["eta"] or
                    r["stalled"] or r["diskRates"] or
                    why not in (r["error"] or "")):
                fail("%s shows %r" % (j, r))

        # Stalled: "stalled since <local time>", no rate, no ETA.
        r = row_info(b, "job-stall")
        if (r["status"] != "stalled" or r["throughput"] or r["eta"] or
                r["diskRates"] or
                not (r["stalled"] or "").startswith("stalled since ")):
            fail("job-stall shows %r" % r)

        # The hostile name stays text.
        r = row_info(b, "job-evil")
        if r["name"] != hostile:
            fail("the hostile name reads %r" % r["name"])
        if b.eval("document.querySelectorAll('img').length") != 0:
            fail("the hostile name became markup")

        # The chart follows the busiest running job, then a click.
        b.wait("document.getElementById('chart').dataset.jobId === 'job-run'",
               what="the chart to show the busiest job")
        b.click(row("job-full") + " .job-text")
        b.wait("document.getElementById('chart').dataset.jobId === "
               "'job-full'", what="the chart to follow a click")
        if "web01" not in b.eval(
                "document.getElementById('chart-title').textContent"):
            fail("chart title")
        b.click(row("job-run") + " .job-text")
        b.wait("document.getElementById('chart').dataset.jobId === 'job-run'"
               " && document.querySelector(\"%s\").classList.contains("
               "'selected')" % row("job-run"),
               what="the chart to follow the second click")
        # A tooltip under the mouse.
        b.wait("(window.cbtrackStats && document.getElementById("
               "'chart-note').textContent.includes('samples over'))",
               what="chart samples")
        b.hover("#chart", dx=40)
        b.wait("!document.getElementById('chart-tip').hidden",
               what="the tooltip")
        tip = b.eval("document.getElementById('chart-tip').textContent")
        if "throughput:" not in tip or "/s" not in tip:
            fail("tooltip reads %r" % tip)
        b.wait("window.cbtrackStats.refreshes >= 3",
               what="three points of the fleet chart")
        b.hover("#fleet-chart", dx=20)
        b.wait("!document.getElementById('fleet-tip').hidden",
               what="the fleet tooltip")
        shot(b, "chart")
        b.mouse("mouseMoved", 5, 5)
        shot(b, "list", full=True)

        # Filter by status.
        b.choose("#filter-status", "failed")
        b.wait(shows_jobs(["job-dead", "job-fail"]), what="the failed filter")
        b.choose("#filter-status", "stalled")
        b.wait("document.querySelectorAll('.job').length === 1 && "
               "document.querySelector(%s)" % json.dumps(row("job-stall")),
               what="the stalled filter")
        b.choose("#filter-status", "")
        b.wait("document.querySelectorAll('.job').length === 7")

        # Search by VM name, then by job id, by typing.
        b.type("#search", "WEB01")
        b.wait(shows_jobs(["job-full", "job-incr"]), what="the search by name")
        b.type("#search", "job-sta")
        b.wait(shows_jobs(["job-stall"]), what="the search by id")
        b.type("#search", "")
        b.wait("document.querySelectorAll('.job').length === 7")

        # Sort by VM name.
        b.choose("#sort", "name")
        b.wait("(() => { const n = [...document.querySelectorAll("
               "'.job-name')].map((e) => e.textContent); return n.length === "
               "7 && n.every((x, i) => i === 0 || n[i - 1] <= x); })()",
               what="the sort by name")

        # Pages of 2 (through the API's limit and after).
        b.eval("""(() => {
            const s = document.getElementById('page-size');
            const o = document.createElement('option');
            o.value = '2'; o.textContent = '2'; s.appendChild(o);
        })()""")
        b.choose("#page-size", "2")
        b.wait("document.querySelectorAll('.job').length === 2")
        first = visible_jobs(b)
        b.click("#next")
        b.wait("document.getElementById('page-info').textContent"
               ".startsWith('3')", what="page 2")
        second = visible_jobs(b)
        if set(first) & set(second) or len(second) != 2:
            fail("pages %r then %r" % (first, second))
        b.click("#prev")
        b.wait("document.getElementById('page-info').textContent"
               ".startsWith('1')", what="back to page 1")
        b.choose("#page-size", "50")
        b.wait("document.querySelectorAll('.job').length === 7")

        # The CSV link follows the filter and keeps hostile names text.
        b.type("#search", "job-evil")
        b.wait("document.getElementById('csv').href.includes('q=job-evil')",
               what="the CSV link to follow the search")
        csv = b.eval("fetch(document.getElementById('csv').href)"
                     ".then((r) => r.text())")
        if ("\"'" + hostile + "\"") not in csv or ',"=' in csv:
            fail("the CSV does not neutralise the name: %r" % csv)
        b.type("#search", "")
        b.wait("document.querySelectorAll('.job').length === 7")

        # The VM page: both syncs of web01, sizes, durations, changeIds.
        b.click(row("job-full") + " .job-name")
        b.wait("!document.getElementById('vm-page').hidden && "
               "document.querySelectorAll('#vm-syncs tbody tr').length === 2",
               what="the VM page")
        vm = b.eval("""[...document.querySelectorAll('#vm-syncs tbody tr')]
            .map((tr) => tr.textContent)""")
        if ("job-full" not in vm[0] or "full" not in vm[0] or
                "incremental" not in vm[1] or
                "52 3f 1a 9c-1/0" not in vm[0] or
                "52 3f 1a 9d-2/1" not in vm[1] or "10.0 GiB" not in vm[0]):
            fail("the VM page shows %r" % vm)
        chain = b.eval("document.getElementById('vm-chain').textContent")
        if "52 3f 1a 9c-2/0" not in chain:
            fail("the VM's changeId chain reads %r" % chain)
        shot(b, "vm", full=True)

        # The hostile VM's page keeps its name text.
        b.eval("location.hash = '#/vm/' + encodeURIComponent(%s)"
               % json.dumps(hostile))
        b.wait("document.querySelectorAll('#vm-syncs tbody tr').length === 1",
               what="the hostile VM's page")
        if b.eval("document.getElementById('vm-name').textContent") != hostile:
            fail("the hostile VM's heading")
        if b.eval("document.querySelectorAll('img').length") != 0:
            fail("the hostile name became markup on its VM page")

        # A phone: 420 px wide, nothing overflows.
        b.resize(420, 900)
        for page in ("#/", "#/vm/web01"):
            b.eval("location.hash = %s" % json.dumps(page))
            b.wait("document.querySelectorAll('.job, #vm-syncs tbody tr')"
                   ".length > 0 && performance.now() > 0")
            b.eval("new Promise((r) => setTimeout(r, 300))")
            width = b.eval("document.documentElement.scrollWidth")
            if width > 420:
                wide = b.eval("""[...document.querySelectorAll('body *')]
                    .filter((e) => e.getBoundingClientRect().right > 421)
                    .slice(0, 5).map((e) => e.tagName + '.' + e.className)""")
                fail("%s overflows at 420 px (%d px): %r" % (page, width,
                                                             wide))
        b.eval("location.hash = '#/'")
        b.wait("document.querySelectorAll('.job').length === 7")
        shot(b, "phone", full=True)
except CdpError as e:
    fail(str(e))
print("oma-console.py: OK")
