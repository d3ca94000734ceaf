/* cbtrack OMA web UI.
 *
 * Reads GET /api/v1/replications every 2 s and draws one card per job:
 * a bar of the bytes that must move, throughput, ETA, status, one small
 * bar per disk.  The selected job's stored history (GET
 * /api/v1/replications/ID) is drawn as a throughput chart.
 *
 * Every piece of data reaches the page through textContent or a CSSOM
 * property, never as HTML, so names such as "<img src=x onerror=...>"
 * stay text.
 */
"use strict";

(function () {
  const REFRESH_MS = 2000;
  const UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let selected = null; /* job id charted, or null: pick one */
  let userSelected = false;

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

  /* The whole percent shown in text: 100 only once completed. */
  function shownPercent(pct, status) {
    if (status === "completed") return 100;
    return Math.min(99, Math.round(pct || 0));
  }

  function clampPercent(pct, status) {
    if (status === "completed") return 100;
    return Math.max(0, Math.min(100, pct || 0));
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
    const span = el("span", cls);
    span.appendChild(el("span", "label", label + " "));
    span.appendChild(el("span", "value", value));
    return span;
  }

  function renderDisks(job) {
    const table = el("table", "disks");
    const body = el("tbody");
    for (const d of job.disks || []) {
      const tr = el("tr", "disk");
      tr.dataset.diskId = d.disk_id;
      tr.appendChild(el("td", "disk-id", d.disk_id));
      const barCell = el("td", "disk-bar");
      barCell.appendChild(bar(d.sync_progress_percent, d.sync_status, true));
      tr.appendChild(barCell);
      tr.appendChild(el("td", "disk-text",
                        progressText(d.bytes_synced, d.total_bytes,
                                     d.sync_progress_percent, d.sync_status)));
      const st = el("td");
      st.appendChild(el("span", "status status-" + d.sync_status,
                        d.sync_status));
      tr.appendChild(st);
      body.appendChild(tr);
    }
    table.appendChild(body);
    return table;
  }

  function renderJob(job) {
    const li = el("li", "job status-card-" + job.status);
    li.dataset.jobId = job.id;
    if (job.id === selected) li.classList.add("selected");
    li.addEventListener("click", () => {
      selected = job.id;
      userSelected = true;
      for (const other of document.querySelectorAll(".job.selected"))
        other.classList.remove("selected");
      li.classList.add("selected");
      refreshChart();
    });

    const head = el("div", "job-head");
    head.appendChild(el("span", "job-name", job.source_vm_name));
    head.appendChild(el("span", "job-id", job.id));
    head.appendChild(el("span", "status status-" + job.status, job.status));
    head.appendChild(el("span", "muted", job.replication_type));
    if (job.current_operation)
      head.appendChild(el("span", "muted operation", job.current_operation));
    if (job.polled_by)
      head.appendChild(el("span", "muted polled-by", "polled by " + job.polled_by));
    li.appendChild(head);

    if (job.status === "pending" && job.setup_progress_percent > 0) {
      li.appendChild(bar(job.setup_progress_percent, "setup", false));
      li.appendChild(el("div", "job-text",
                        "setup " + Math.round(job.setup_progress_percent) +
                        " %"));
    } else {
      li.appendChild(bar(job.progress_percent, job.status, false));
      li.appendChild(el("div", "job-text",
                        progressText(job.bytes_transferred, job.total_bytes,
                                     job.progress_percent, job.status)));
    }

    const figures = el("div", "figures");
    figures.appendChild(figure("throughput",
                               humanSize(job.transfer_speed_bps) + "/s",
                               "throughput"));
    figures.appendChild(figure("ETA",
                               job.status === "completed"
                                   ? "done"
                                   : humanDuration(job.eta_seconds),
                               "eta"));
    figures.appendChild(figure("updated", job.updated_at || "-", "updated"));
    li.appendChild(figures);
    if (job.error_message)
      li.appendChild(el("div", "job-error", job.error_message));
    if (job.disks && job.disks.length) li.appendChild(renderDisks(job));
    return li;
  }

  function renderSummary(jobs) {
    const count = { pending: 0, replicating: 0, completed: 0, failed: 0 };
    let speed = 0;
    for (const j of jobs) {
      count[j.status] = (count[j.status] || 0) + 1;
      if (j.status === "replicating") speed += j.transfer_speed_bps || 0;
    }
    document.getElementById("summary").textContent =
        jobs.length + " jobs · " + count.replicating + " replicating · " +
        count.pending + " pending · " + count.completed + " completed · " +
        count.failed + " failed · " + humanSize(speed) + "/s in all";
  }

  function render(jobs) {
    const list = document.getElementById("jobs");
    if (!userSelected || !jobs.some((j) => j.id === selected)) {
      const active = jobs.find((j) => j.status === "replicating");
      selected = active ? active.id : (jobs.length ? jobs[0].id : null);
    }
    const items = jobs.map(renderJob);
    list.replaceChildren(...items);
    document.getElementById("empty").hidden = jobs.length > 0;
    renderSummary(jobs);
  }

  function drawChart(job) {
    const canvas = document.getElementById("chart");
    const note = document.getElementById("chart-note");
    const title = document.getElementById("chart-title");
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 960;
    const height = canvas.clientHeight || 180;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    title.textContent = job ? "— " + job.source_vm_name + " (" + job.id + ")"
                            : "";
    const points = ((job && job.history) || [])
        .map((p) => ({ t: Date.parse(p.t), v: p.transfer_speed_bps }))
        .filter((p) => !isNaN(p.t));
    if (points.length < 2) {
      note.textContent = job ? "not enough samples yet (" + points.length +
                               ")" : "no job selected";
      return;
    }
    const left = 70, right = 10, top = 10, bottom = 22;
    const t0 = points[0].t, t1 = points[points.length - 1].t;
    const vmax = Math.max(1, ...points.map((p) => p.v)) * 1.1;
    const x = (t) => left + (t1 > t0 ? (t - t0) / (t1 - t0) : 0) *
                                (width - left - right);
    const y = (v) => top + (1 - v / vmax) * (height - top - bottom);

    ctx.strokeStyle = "#dde1e6";
    ctx.fillStyle = "#6a7380";
    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const v = (vmax / 4) * i;
      ctx.beginPath();
      ctx.moveTo(left, y(v));
      ctx.lineTo(width - right, y(v));
      ctx.stroke();
      ctx.fillText(humanSize(v) + "/s", 2, y(v) + 4);
    }
    ctx.fillText(new Date(t0).toISOString().substring(11, 19), left,
                 height - 6);
    const end = new Date(t1).toISOString().substring(11, 19);
    ctx.fillText(end, width - right - ctx.measureText(end).width, height - 6);

    ctx.beginPath();
    ctx.moveTo(x(points[0].t), y(0));
    for (const p of points) ctx.lineTo(x(p.t), y(p.v));
    ctx.lineTo(x(t1), y(0));
    ctx.closePath();
    ctx.fillStyle = "rgba(47, 111, 219, 0.15)";
    ctx.fill();
    ctx.beginPath();
    points.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.v))
                                : ctx.moveTo(x(p.t), y(p.v))));
    ctx.strokeStyle = "#2f6fdb";
    ctx.lineWidth = 2;
    ctx.stroke();
    const peak = Math.max(...points.map((p) => p.v));
    note.textContent = points.length + " samples, peak " + humanSize(peak) +
                       "/s";
  }

  async function refreshChart() {
    if (selected === null) {
      drawChart(null);
      return;
    }
    try {
      const r = await fetch("/api/v1/replications/" +
                            encodeURIComponent(selected),
                            { cache: "no-store" });
      if (r.ok) drawChart(await r.json());
    } catch (e) {
      /* The list's refresh reports connection problems. */
    }
  }

  async function refresh() {
    const error = document.getElementById("error");
    try {
      const r = await fetch("/api/v1/replications", { cache: "no-store" });
      const data = await r.json();
      if (!r.ok) throw new Error(data.error || "HTTP " + r.status);
      render(data.replications || []);
      error.hidden = true;
      document.getElementById("refreshed").textContent =
          "updated " + new Date().toLocaleTimeString();
      await refreshChart();
    } catch (e) {
      error.textContent = "Cannot read the replications: " + e.message;
      error.hidden = false;
    }
    setTimeout(refresh, REFRESH_MS);
  }

  refresh();
})();
