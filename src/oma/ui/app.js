/* cbtrack OMA web UI.
 *
 * Reads GET /api/v1/replications (one page of it: status filter, search,
 * sort, page size) every 2 s and draws one row per job: a bar of the
 * bytes that must move, the figures that mean something for its state,
 * one small bar per disk, and a place for the job's actions.  The charted
 * job's stored history (GET /api/v1/replications/ID) is drawn on a canvas
 * with time and rate axes and tooltips; a second chart shows the fleet
 * (total throughput, jobs by status) since the page opened.  #/vm/NAME
 * shows the history of one VM's syncs.
 *
 * Truth rules (the API applies the progress model; the page only shows):
 *   - throughput and ETA only when the API gives them (null for failed,
 *     completed, stalled and stale jobs); a stalled job says since when;
 *   - completed jobs: duration, average rate, start and end in the
 *     browser's local time;
 *   - between polls a live job's bar moves on at its rate, but never past
 *     what the next poll could confirm (see interpolatedBytes).
 *
 * Every piece of data reaches the page through textContent, a DOM
 * attribute or a CSSOM property, never as HTML, so names such as
 * "<img src=x onerror=...>" stay text.
 */
"use strict";

(function () {
  const REFRESH_MS = 2000;
  const TICK_MS = 250;
  const FLEET_POINTS = 720;
  const UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

  const state = {
    selected: null, /* job id charted by a click, or null: the busiest */
    charted: null, /* the job id charted now */
    pages: [], /* the after= cursors of the pages before this one */
    after: "", /* this page's cursor */
    next: null, /* the next page's cursor */
    pollInterval: 30, /* the OMA's --poll-interval (from the API) */
    clockOffset: 0, /* server clock - browser clock, ms */
    live: new Map(), /* job/disk key -> {bar, done, total, rate, at} */
    fleet: [], /* {t, rate, replicating, stalled, pending, completed,
                   failed} per refresh */
    chartData: null,
    fleetData: null,
    stats: { renderMs: 0, refreshMs: 0, jobs: 0, disks: 0, refreshes: 0 },
    timer: null,
  };
  window.cbtrackStats = state.stats; /* read by the browser tests */

  /* ---- Formatting ---- */

  /* Same format as cbtrack's cbt_human_size: "12.0 GiB", "512 B". */
  function humanSize(bytes) {
    if (!(bytes >= 1024)) return String(Math.max(0, bytes | 0)) + " B";
    let v = bytes / 1024;
    let i = 0;
    while (v >= 1023.95 && i + 1 < UNITS.length) {
      v /= 1024;
      i++;
    }
    return v.toFixed(1) + " " + UNITS[i];
  }

  function humanRate(bps) {
    return humanSize(bps) + "/s";
  }

  /* Same format as cbt_human_duration: "0:29", "1:02:03". */
  function humanDuration(seconds) {
    if (seconds === null || seconds === undefined || !(seconds >= 0))
      return "--:--";
    const s = Math.round(seconds);
    const pad = (n) => (n < 10 ? "0" : "") + n;
    if (s >= 3600)
      return Math.floor(s / 3600) + ":" + pad(Math.floor(s / 60) % 60) + ":" +
             pad(s % 60);
    return Math.floor(s / 60) + ":" + pad(s % 60);
  }

  /* An ISO time of the API in the browser's local time, as
   * Date.toLocaleString() writes it (one formatter: a page of a thousand
   * jobs formats thousands of times).
   */
  const LOCAL_TIME = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "numeric", day: "numeric", hour: "numeric",
    minute: "numeric", second: "numeric",
  });
  function localTime(iso) {
    const t = Date.parse(iso);
    return isNaN(t) ? "-" : LOCAL_TIME.format(t);
  }

  /* The whole percent shown in text: 100 only once completed. */
  function shownPercent(pct, status) {
    if (status === "completed") return 100;
    return Math.min(99, Math.round(pct || 0));
  }

  function clampPercent(pct, status) {
    if (status === "completed") return 100;
    return Math.max(0, Math.min(status === "completed" ? 100 : 99.99,
                                pct || 0));
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function progressText(done, total, pct, status) {
    return humanSize(done) + " of " + humanSize(total) + " (" +
           shownPercent(pct, status) + " %)";
  }

  function bar(pct, status, small) {
    const track = el("div", small ? "track small-track" : "track");
    const value = clampPercent(pct, status);
    track.setAttribute("role", "progressbar");
    track.setAttribute("aria-valuemin", "0");
    track.setAttribute("aria-valuemax", "100");
    track.setAttribute("aria-valuenow", value.toFixed(2));
    const fill = el("div", "bar bar-" + status);
    fill.style.width = value.toFixed(2) + "%";
    fill.dataset.percent = value.toFixed(2);
    track.appendChild(fill);
    return track;
  }

  function figure(label, value, cls) {
    const span = el("span", "figure " + (cls || ""));
    span.appendChild(el("span", "label", label + " "));
    span.appendChild(el("span", "value", value));
    return span;
  }

  /* ---- Interpolation between polls ----
   *
   * A live job's row was written by the OMA's poll at updated_at with
   * bytes_transferred and its rate.  The next poll comes poll_interval
   * seconds later and, if the rate holds, shows at most
   * bytes + rate × poll_interval.  So the bar moves on from the row at the
   * row's rate for at most one poll interval after updated_at (server
   * clock), and never to 100 % (only completion shows 100 %).  The text
   * keeps the confirmed figures.
   */
  function interpolatedBytes(entry, nowMs) {
    const age = (nowMs + state.clockOffset - entry.at) / 1000;
    const span = Math.max(0, Math.min(age, state.pollInterval));
    return Math.min(entry.total, entry.done + entry.rate * span);
  }

  /* Only the bars on screen are moved: a fleet page holds thousands. */
  const onScreen = new Set();
  const observer = "IntersectionObserver" in window
      ? new IntersectionObserver((changes) => {
          for (const c of changes)
            if (c.isIntersecting) onScreen.add(c.target);
            else onScreen.delete(c.target);
        })
      : null;

  function tick() {
    const now = Date.now();
    for (const entry of state.live.values()) {
      if (!entry.bar.isConnected ||
          (observer && !onScreen.has(entry.bar.parentNode)))
        continue;
      const done = interpolatedBytes(entry, now);
      const pct = entry.total > 0
          ? Math.min(99.99, Math.floor(10000 * done / entry.total) / 100)
          : 0;
      if (pct > entry.shown) {
        entry.shown = pct;
        entry.bar.style.width = pct.toFixed(2) + "%";
      }
    }
  }

  function trackLive(key, fill, done, total, rate, updatedAt, pct) {
    const at = Date.parse(updatedAt);
    if (!(rate > 0) || isNaN(at)) return;
    state.live.set(key, { bar: fill, done: done, total: total, rate: rate,
                          at: at, shown: pct });
    if (observer) observer.observe(fill.parentNode);
  }

  /* ---- The job rows ---- */

  /* The per-job actions (buttons such as cancel or resume): each returned
   * element is appended to the row's .job-actions.  A button's click
   * handler must call event.stopPropagation() so that it does not also
   * select the row for the chart.
   */
  function jobActions(job) {
    if (job.status !== "pending" && job.status !== "replicating") return [];
    const cancel = el("button", "cancel", "Cancel");  /* see actions.js */
    cancel.type = "button";
    cancel.dataset.cancelJob = job.id;
    return [cancel];
  }

  function vmLink(name) {
    const a = el("a", "job-name", name);
    a.href = "#/vm/" + encodeURIComponent(name);
    a.title = "history of the syncs of " + name;
    a.addEventListener("click", (e) => e.stopPropagation());
    return a;
  }

  /* The state word shown: "stalled" for a replicating job not moving. */
  function shownStatus(job) {
    return job.status === "replicating" && job.stalled ? "stalled"
                                                        : job.status;
  }

  function stalledText(job) {
    if (!job.stalled_since) return "stalled";
    const t = Date.parse(job.stalled_since);
    const ago = (Date.now() + state.clockOffset - t) / 1000;
    return "stalled since " + localTime(job.stalled_since) + " (" +
           humanDuration(ago) + " ago)";
  }

  function jobFigures(job) {
    const figures = el("div", "figures");
    const add = (label, value, cls) =>
        figures.appendChild(figure(label, value, cls));
    if (job.status === "replicating" && job.stalled) {
      figures.appendChild(el("span", "figure stalled-note", stalledText(job)));
    } else if (job.status === "replicating") {
      if (job.transfer_speed_bps !== null)
        add("throughput", humanRate(job.transfer_speed_bps), "throughput");
      add("ETA", humanDuration(job.eta_seconds), "eta");
    }
    if (job.status === "completed") {
      add("duration", humanDuration(job.duration_seconds), "duration");
      if (job.average_rate_bps !== null)
        add("average", humanRate(job.average_rate_bps), "average");
    } else if (job.duration_seconds !== null && job.status !== "pending") {
      add(job.status === "failed" || job.status === "cancelled"
              ? "ran" : "running for",
          humanDuration(job.duration_seconds), "duration");
    }
    if (job.started_at) add("started", localTime(job.started_at), "started");
    if (job.status === "completed" && job.completed_at)
      add("completed", localTime(job.completed_at), "completed");
    if ((job.status === "failed" || job.status === "cancelled") &&
        job.completed_at)
      add(job.status, localTime(job.completed_at), "completed");
    if (job.status === "pending" || job.status === "replicating")
      add("updated", localTime(job.updated_at), "updated");
    return figures;
  }

  function renderDisks(job) {
    const list = el("div", "disks");
    for (const d of job.disks || []) {
      const row = el("div", "disk");
      row.dataset.diskId = d.disk_id;
      row.appendChild(el("span", "disk-id", d.disk_id));
      const barCell = el("span", "disk-bar");
      const track = bar(d.sync_progress_percent, d.sync_status, true);
      barCell.appendChild(track);
      row.appendChild(barCell);
      row.appendChild(el("span", "disk-text",
                         progressText(d.bytes_synced, d.total_bytes,
                                      d.sync_progress_percent,
                                      d.sync_status)));
      let rate = "";
      if (d.throughput_bps !== null && d.throughput_bps !== undefined &&
          d.sync_status === "syncing") {
        rate = humanRate(d.throughput_bps);
        if (d.eta_seconds !== null && d.eta_seconds !== undefined)
          rate += " · ETA " + humanDuration(d.eta_seconds);
        trackLive(job.id + "/" + d.disk_id, track.firstChild, d.bytes_synced,
                  d.total_bytes, d.throughput_bps, job.updated_at,
                  clampPercent(d.sync_progress_percent, d.sync_status));
      }
      row.appendChild(el("span", "disk-rate", rate));
      const st = el("span", "disk-status");
      st.appendChild(el("span", "status status-" + d.sync_status,
                        d.sync_status));
      row.appendChild(st);
      list.appendChild(row);
    }
    return list;
  }

  function renderJob(job) {
    const status = shownStatus(job);
    const li = el("li", "job status-card-" + status);
    li.dataset.jobId = job.id;
    li.dataset.status = status;
    li.tabIndex = 0;
    if (job.id === state.charted) li.classList.add("charted");
    if (job.id === state.selected) li.classList.add("selected");
    const select = () => {
      state.selected = job.id;
      for (const other of document.querySelectorAll(".job.selected"))
        other.classList.remove("selected");
      li.classList.add("selected");
      refreshChart(job.id);
    };
    li.addEventListener("click", select);
    li.addEventListener("keydown", (e) => {
      if (e.key === "Enter") select();
    });

    const head = el("div", "job-head");
    head.appendChild(vmLink(job.source_vm_name));
    head.appendChild(el("span", "job-id", job.id));
    head.appendChild(el("span", "status status-" + status, status));
    head.appendChild(el("span", "muted", job.replication_type));
    if (job.current_operation && job.status !== "completed")
      head.appendChild(el("span", "muted operation", job.current_operation));
    const actions = el("span", "job-actions");
    for (const a of jobActions(job)) actions.appendChild(a);
    head.appendChild(actions);
    if (job.polled_by)
      head.appendChild(el("span", "muted polled-by", "polled by " + job.polled_by));
    li.appendChild(head);

    if (job.status === "pending" && job.setup_progress_percent > 0) {
      li.appendChild(bar(job.setup_progress_percent, "setup", false));
      li.appendChild(el("div", "job-text",
                        "setup " + Math.round(job.setup_progress_percent) +
                        " %"));
    } else {
      const track = bar(job.progress_percent, status, false);
      li.appendChild(track);
      li.appendChild(el("div", "job-text",
                        progressText(job.bytes_transferred, job.total_bytes,
                                     job.progress_percent, job.status)));
      if (job.status === "replicating" && job.transfer_speed_bps > 0)
        trackLive(job.id, track.firstChild, job.bytes_transferred,
                  job.total_bytes, job.transfer_speed_bps, job.updated_at,
                  clampPercent(job.progress_percent, job.status));
    }
    li.appendChild(jobFigures(job));
    if (job.error_message)
      li.appendChild(el("div", "job-error", job.error_message));
    if (job.disks && job.disks.length) li.appendChild(renderDisks(job));
    return li;
  }

  function renderSummary(data) {
    const f = data.fleet || {};
    document.getElementById("summary").textContent =
        (f.jobs || 0) + " jobs · " + (f.replicating || 0) + " replicating (" +
        (f.stalled || 0) + " stalled) · " + (f.pending || 0) + " pending · " +
        (f.completed || 0) + " completed · " + (f.failed || 0) +
        " failed · " + (f.cancelled || 0) + " cancelled · " +
        humanRate(f.throughput_bps || 0) + " in all";
  }

  /* The job to chart: the one clicked, else the busiest live one, else
   * the newest replicating one, else none.
   */
  function chartTarget(jobs) {
    if (state.selected !== null) return state.selected;
    let best = null;
    for (const j of jobs)
      if (j.status === "replicating" && !j.stalled &&
          j.transfer_speed_bps !== null &&
          (best === null || j.transfer_speed_bps > best.transfer_speed_bps))
        best = j;
    if (best === null) best = jobs.find((j) => j.status === "replicating");
    return best ? best.id : null;
  }

  /* Rows of finished jobs, by id: a finished job's row only changes with
   * its data, so it is reused while its JSON stays the same.
   */
  let finishedRows = new Map();

  function reuseOrRender(job) {
    if (job.status !== "completed" && job.status !== "failed" &&
        job.status !== "cancelled")
      return renderJob(job);
    const key = JSON.stringify(job);
    const old = finishedRows.get(job.id);
    const li = old && old.key === key ? old.li : renderJob(job);
    li.classList.toggle("charted", job.id === state.charted);
    li.classList.toggle("selected", job.id === state.selected);
    return { li: li, key: key, id: job.id };
  }

  function render(data) {
    const t0 = performance.now();
    const jobs = data.replications || [];
    state.charted = chartTarget(jobs);
    state.live.clear();
    if (observer) {
      observer.disconnect();
      onScreen.clear();
    }
    const rows = new Map();
    const items = jobs.map((job) => {
      const r = reuseOrRender(job);
      if (r instanceof Element) return r;
      rows.set(r.id, r);
      return r.li;
    });
    finishedRows = rows;
    const list = document.getElementById("jobs");
    list.classList.toggle("many", items.length > 100);
    list.replaceChildren(...items);
    document.getElementById("empty").hidden = jobs.length > 0;
    renderSummary(data);
    state.next = data.next || null;
    document.getElementById("next").disabled = state.next === null;
    document.getElementById("prev").disabled = state.pages.length === 0;
    const first = state.pages.length * pageSize();
    document.getElementById("page-info").textContent =
        jobs.length ? (first + 1) + "–" + (first + jobs.length) + " of " +
                          data.total
                    : "0 of " + (data.total || 0);
    state.stats.renderMs = performance.now() - t0;
    state.stats.jobs = jobs.length;
    state.stats.disks = jobs.reduce((n, j) => n + (j.disks || []).length, 0);
  }

  /* ---- Charts: a small canvas plotter with axes and tooltips ---- */

  const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
                      3600, 7200, 10800, 21600, 43200, 86400];

  /* Round numbers for an axis of MAX in COUNT steps. */
  function niceStep(max, count) {
    const raw = max / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10])
      if (m * mag >= raw) return m * mag;
    return 10 * mag;
  }

  function byteStep(max, count) {
    /* Steps of 1, 2, 5 × a power of 1024 read well in KiB/MiB/GiB. */
    const raw = max / count;
    let unit = 1;
    while (unit * 1024 <= raw) unit *= 1024;
    for (const m of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1024])
      if (m * unit >= raw) return m * unit;
    return 1024 * unit;
  }

  function timeLabel(ms, span) {
    const d = new Date(ms);
    const opts = span > 2 * 86400000
                     ? { month: "short", day: "numeric", hour: "2-digit" }
                     : span > 600000 ? { hour: "2-digit", minute: "2-digit" }
                     : { hour: "2-digit", minute: "2-digit",
                         second: "2-digit" };
    return d.toLocaleTimeString([], opts);
  }

  /* Draws DATA ({times: [ms], series: [{name, color, values, axis
   * ("left" or "right"), fill, format}]}) on CANVAS with a time axis, a
   * left axis (rates) and, when a series uses it, a right axis (counts).
   * Returns the geometry the tooltip needs.
   */
  function plot(canvas, data) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 600;
    const height = canvas.clientHeight || 180;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const times = data.times;
    if (times.length < 2) return null;
    const hasRight = data.series.some((s) => s.axis === "right");
    const left = 74, right = hasRight ? 34 : 12, top = 8, bottom = 24;
    const t0 = times[0], t1 = times[times.length - 1];
    const span = Math.max(1, t1 - t0);
    const maxOf = (axis) => Math.max(0, ...data.series
        .filter((s) => s.axis === axis)
        .map((s) => Math.max(0, ...s.values.filter((v) => v !== null))));
    const lstep = byteStep(Math.max(1024, maxOf("left")), 4);
    const lmax = lstep * Math.max(1, Math.ceil(maxOf("left") / lstep));
    const rstep = Math.max(1, Math.ceil(niceStep(Math.max(1, maxOf("right")),
                                                 4)));
    const rmax = rstep * Math.max(1, Math.ceil(maxOf("right") / rstep));
    const x = (t) => left + ((t - t0) / span) * (width - left - right);
    const y = (v, axis) => top + (1 - v / (axis === "right" ? rmax : lmax)) *
                                     (height - top - bottom);

    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    ctx.strokeStyle = "#dde1e6";
    ctx.fillStyle = "#6a7380";
    ctx.textBaseline = "middle";
    for (let v = 0; v <= lmax + 1e-9; v += lstep) {
      ctx.beginPath();
      ctx.moveTo(left, Math.round(y(v)) + 0.5);
      ctx.lineTo(width - right, Math.round(y(v)) + 0.5);
      ctx.stroke();
      const label = humanRate(v);
      ctx.fillText(label, left - 6 - ctx.measureText(label).width, y(v));
    }
    if (hasRight)
      for (let v = 0; v <= rmax; v += rstep)
        ctx.fillText(String(v), width - right + 6, y(v, "right"));
    /* Time ticks: the smallest step giving at most about 6 labels. */
    const avail = Math.max(2, Math.floor((width - left - right) / 90));
    const step = (TIME_STEPS.find((s) => s * 1000 * avail >= span) ||
                  86400 * Math.ceil(span / 86400000 / avail)) * 1000;
    const tz = new Date(t0).getTimezoneOffset() * 60000;
    ctx.textBaseline = "alphabetic";
    for (let t = Math.ceil((t0 - tz) / step) * step + tz; t <= t1;
         t += step) {
      const px = Math.round(x(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, height - bottom + 4);
      ctx.stroke();
      const label = timeLabel(t, span);
      const w = ctx.measureText(label).width;
      ctx.fillText(label, Math.min(width - w - 2, Math.max(0, px - w / 2)),
                   height - 6);
    }
    ctx.strokeStyle = "#9aa3ae";
    ctx.beginPath();
    ctx.moveTo(left + 0.5, top);
    ctx.lineTo(left + 0.5, height - bottom + 0.5);
    ctx.lineTo(width - right, height - bottom + 0.5);
    ctx.stroke();

    for (const s of data.series) {
      const pts = [];
      s.values.forEach((v, i) => {
        if (v !== null) pts.push([x(times[i]), y(v, s.axis)]);
      });
      if (pts.length === 0) continue;
      if (s.fill) {
        ctx.beginPath();
        ctx.moveTo(pts[0][0], y(0, s.axis));
        for (const p of pts) ctx.lineTo(p[0], p[1]);
        ctx.lineTo(pts[pts.length - 1][0], y(0, s.axis));
        ctx.closePath();
        ctx.fillStyle = s.fill;
        ctx.fill();
      }
      ctx.beginPath();
      pts.forEach((p, i) => (i ? ctx.lineTo(p[0], p[1])
                               : ctx.moveTo(p[0], p[1])));
      ctx.strokeStyle = s.color;
      ctx.lineWidth = s.axis === "right" ? 1.5 : 2;
      ctx.stroke();
    }
    return { x: x, left: left, right: right, width: width };
  }

  /* Shows, in TIP, the values of DATA at the sample nearest to the mouse
   * on CANVAS.
   */
  function attachTooltip(canvas, tip, getData) {
    canvas.addEventListener("mousemove", (e) => {
      const data = getData();
      if (!data || !data.geometry || data.times.length < 2) {
        tip.hidden = true;
        return;
      }
      const rect = canvas.getBoundingClientRect();
      const mx = e.clientX - rect.left;
      let best = 0, bestD = Infinity;
      data.times.forEach((t, i) => {
        const d = Math.abs(data.geometry.x(t) - mx);
        if (d < bestD) {
          bestD = d;
          best = i;
        }
      });
      tip.replaceChildren(el("div", "tip-time",
                             new Date(data.times[best]).toLocaleString()));
      for (const s of data.series) {
        const v = s.values[best];
        const row = el("div", "tip-row");
        const swatch = el("span", "swatch");
        swatch.style.background = s.color;
        row.appendChild(swatch);
        row.appendChild(el("span", null, s.name + ": " +
                           (v === null ? "-" : s.format(v))));
        tip.appendChild(row);
      }
      if (data.extra) for (const line of data.extra(best))
        tip.appendChild(el("div", "tip-row", line));
      tip.hidden = false;
      const px = data.geometry.x(data.times[best]);
      tip.style.left = Math.max(0, Math.min(px + 10,
                                            rect.width - tip.offsetWidth)) +
                       "px";
      tip.dataset.index = String(best);
    });
    canvas.addEventListener("mouseleave", () => {
      tip.hidden = true;
    });
  }

  function drawJobChart(job) {
    const canvas = document.getElementById("chart");
    const note = document.getElementById("chart-note");
    const title = document.getElementById("chart-title");
    title.textContent = job ? "— " + job.source_vm_name + " (" + job.id + ")"
                            : "";
    canvas.dataset.jobId = job ? job.id : "";
    const history = ((job && job.history) || [])
        .map((p) => ({ t: Date.parse(p.t), v: p.transfer_speed_bps,
                       pct: p.progress_percent,
                       bytes: p.bytes_transferred }))
        .filter((p) => !isNaN(p.t));
    const data = {
      times: history.map((p) => p.t),
      series: [{ name: "throughput", color: "#2f6fdb",
                 fill: "rgba(47, 111, 219, 0.15)", axis: "left",
                 values: history.map((p) => p.v), format: humanRate }],
      extra: (i) => [humanSize(history[i].bytes) + " moved (" +
                     Math.floor(history[i].pct) + " %)"],
    };
    data.geometry = plot(canvas, data);
    state.chartData = data;
    if (!job) {
      note.textContent = "no job to chart: click one";
    } else if (history.length < 2) {
      note.textContent = "not enough samples yet (" + history.length + ")";
    } else {
      const peak = Math.max(...history.map((p) => p.v));
      note.textContent = history.length + " samples over " +
                         humanDuration((data.times[data.times.length - 1] -
                                        data.times[0]) / 1000) +
                         ", peak " + humanRate(peak) +
                         (state.selected ? "" : " · the busiest job");
    }
  }

  async function refreshChart(id) {
    if (id === undefined) id = state.charted;
    if (id !== state.charted) state.charted = id;
    for (const li of document.querySelectorAll(".job"))
      li.classList.toggle("charted", li.dataset.jobId === id);
    if (id === null) {
      drawJobChart(null);
      return;
    }
    try {
      const r = await fetch("/api/v1/replications/" + encodeURIComponent(id),
                            { cache: "no-store" });
      if (r.ok && id === state.charted) drawJobChart(await r.json());
    } catch (e) {
      /* The list's refresh reports connection problems. */
    }
  }

  const FLEET_SERIES = [
    ["replicating", "#2f6fdb"], ["stalled", "#c77c02"],
    ["pending", "#8a94a3"], ["completed", "#1f9d55"], ["failed", "#d0342c"],
    ["cancelled", "#8a5a00"],
  ];

  function drawFleet() {
    const f = state.fleet;
    const data = {
      times: f.map((p) => p.t),
      series: [{ name: "throughput", color: "#5b3fd0",
                 fill: "rgba(91, 63, 208, 0.12)", axis: "left",
                 values: f.map((p) => p.rate), format: humanRate }]
          .concat(FLEET_SERIES.map(([name, color]) => ({
            name: name, color: color, axis: "right",
            values: f.map((p) => p[name]), format: (v) => v + " jobs",
          }))),
    };
    data.geometry = plot(document.getElementById("fleet-chart"), data);
    state.fleetData = data;
    const legend = document.getElementById("fleet-note");
    legend.replaceChildren();
    for (const s of data.series) {
      const item = el("span", "legend-item");
      const sw = el("span", "swatch");
      sw.style.background = s.color;
      item.appendChild(sw);
      item.appendChild(el("span", null, s.name));
      legend.appendChild(item);
    }
  }

  function recordFleet(fleet) {
    state.fleet.push({
      t: Date.now(), rate: fleet.throughput_bps || 0,
      replicating: (fleet.replicating || 0) - (fleet.stalled || 0),
      stalled: fleet.stalled || 0, pending: fleet.pending || 0,
      completed: fleet.completed || 0, failed: fleet.failed || 0,
      cancelled: fleet.cancelled || 0,
    });
    if (state.fleet.length > FLEET_POINTS) state.fleet.shift();
    drawFleet();
  }

  /* ---- The list's controls ---- */

  function pageSize() {
    return Number(document.getElementById("page-size").value) || 50;
  }

  function listQuery(extra) {
    const p = new URLSearchParams();
    const status = document.getElementById("filter-status").value;
    const q = document.getElementById("search").value.trim();
    if (status) p.set("status", status);
    if (q) p.set("q", q);
    p.set("sort", document.getElementById("sort").value);
    for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
    return p;
  }

  function updateCsvLink() {
    document.getElementById("csv").href =
        "/api/v1/replications?" + listQuery({ format: "csv" }).toString();
  }

  function firstPage() {
    state.pages = [];
    state.after = "";
    updateCsvLink();
    refreshSoon();
  }

  function serverClock(r) {
    const d = Date.parse(r.headers.get("Date") || "");
    if (!isNaN(d)) state.clockOffset = d - Date.now();
  }

  async function refreshList() {
    const t0 = performance.now();
    const params = listQuery({ limit: String(pageSize()) });
    if (state.after) params.set("after", state.after);
    const r = await fetch("/api/v1/replications?" + params.toString(),
                          { cache: "no-store" });
    const data = await r.json();
    if (r.status === 400 && state.after) {
      /* The page's first job left the listing: back to the first page. */
      state.pages = [];
      state.after = "";
      return refreshList();
    }
    if (!r.ok) throw new Error(data.error || "HTTP " + r.status);
    serverClock(r);
    if (data.poll_interval_seconds > 0)
      state.pollInterval = data.poll_interval_seconds;
    render(data);
    recordFleet(data.fleet || {});
    state.stats.refreshMs = performance.now() - t0;
    state.stats.refreshes++;
    await refreshChart(state.charted);
  }

  /* ---- The VM page ---- */

  function renderVm(name, syncs, chain) {
    document.getElementById("vm-name").textContent = name;
    const body = document.querySelector("#vm-syncs tbody");
    const rows = [];
    for (const j of syncs) {
      const tr = el("tr", "sync");
      tr.dataset.jobId = j.id;
      const cells = [
        j.id, j.replication_type, shownStatus(j),
        j.started_at ? localTime(j.started_at) : "-",
        j.completed_at ? localTime(j.completed_at) : "-",
        j.duration_seconds !== null ? humanDuration(j.duration_seconds) : "-",
        humanSize(j.bytes_transferred), humanSize(j.total_bytes),
        j.average_rate_bps !== null ? humanRate(j.average_rate_bps) : "-",
      ];
      cells.forEach((c, i) => {
        const td = el("td", null, c);
        td.dataset.label = ["job", "type", "status", "started", "completed",
                            "duration", "moved", "of", "average"][i];
        tr.appendChild(td);
      });
      const disks = el("td", "sync-disks");
      disks.dataset.label = "disks";
      for (const d of j.disks || [])
        disks.appendChild(el("div", "change-id",
                             d.disk_id + ": " + humanSize(d.total_bytes) +
                             (d.change_id ? " → " + d.change_id : "")));
      tr.appendChild(disks);
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    const list = document.getElementById("vm-chain");
    list.replaceChildren(...(chain.disks || []).map(
        (d) => el("li", null, d.disk_id + ": " + d.change_id + " (job " +
                  d.job_id + ")")));
    if (!(chain.disks || []).length)
      list.replaceChildren(el("li", "muted",
                              "no completed sync with a changeId yet"));
  }

  async function refreshVm(name) {
    const q = new URLSearchParams({ vm: name, sort: "created",
                                    limit: "1000" });
    const [r1, r2] = await Promise.all([
      fetch("/api/v1/replications?" + q.toString(), { cache: "no-store" }),
      fetch("/api/v1/vms/" + encodeURIComponent(name) + "/disks",
            { cache: "no-store" }),
    ]);
    const syncs = await r1.json();
    if (!r1.ok) throw new Error(syncs.error || "HTTP " + r1.status);
    serverClock(r1);
    const chain = r2.ok ? await r2.json() : { disks: [] };
    renderVm(name, syncs.replications || [], chain);
    renderSummary(syncs);
    recordFleet(syncs.fleet || {});
  }

  /* ---- Routing and refresh ---- */

  function route() {
    const m = /^#\/vm\/(.+)$/.exec(location.hash);
    return m ? { vm: decodeURIComponent(m[1]) } : { vm: null };
  }

  async function refresh() {
    clearTimeout(state.timer);
    const error = document.getElementById("error");
    const where = route();
    document.getElementById("vm-page").hidden = where.vm === null;
    document.getElementById("list-page").hidden = where.vm !== null;
    document.getElementById("charts").hidden = where.vm !== null;
    try {
      if (where.vm !== null) await refreshVm(where.vm);
      else await refreshList();
      error.hidden = true;
      document.getElementById("refreshed").textContent =
          "updated " + new Date().toLocaleTimeString();
    } catch (e) {
      error.textContent = "Cannot read the replications: " + e.message;
      error.hidden = false;
    }
    state.timer = setTimeout(refresh, REFRESH_MS);
  }

  function refreshSoon() {
    clearTimeout(state.timer);
    state.timer = setTimeout(refresh, 0);
  }

  function setup() {
    let typing = null;
    document.getElementById("toolbar")
        .addEventListener("submit", (e) => e.preventDefault());
    for (const id of ["filter-status", "sort", "page-size"])
      document.getElementById(id).addEventListener("change", firstPage);
    document.getElementById("search").addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(firstPage, 200);
    });
    document.getElementById("next").addEventListener("click", () => {
      if (state.next === null) return;
      state.pages.push(state.after);
      state.after = state.next;
      refreshSoon();
    });
    document.getElementById("prev").addEventListener("click", () => {
      if (!state.pages.length) return;
      state.after = state.pages.pop();
      refreshSoon();
    });
    window.addEventListener("hashchange", refreshSoon);
    window.addEventListener("resize", () => {
      if (state.chartData) drawJobChartAgain();
      if (state.fleetData) drawFleet();
    });
    attachTooltip(document.getElementById("chart"),
                  document.getElementById("chart-tip"),
                  () => state.chartData);
    attachTooltip(document.getElementById("fleet-chart"),
                  document.getElementById("fleet-tip"),
                  () => state.fleetData);
    updateCsvLink();
    setInterval(tick, TICK_MS);
    refresh();
  }

  /* The browser tests and bench/oma-ui call a refresh and time it. */
  window.cbtrackRefresh = refresh;

  function drawJobChartAgain() {
    const d = state.chartData;
    d.geometry = plot(document.getElementById("chart"), d);
  }

  setup();
})();
