// The Twist status page: live updates from server-sent events (events),
// or polling status.json when the stream is refused; charts drawn on
// canvas. No library, no build step.
"use strict";

(function () {
  const token = new URLSearchParams(location.search).get("token");
  const query = token ? "?token=" + encodeURIComponent(token) : "";
  const $ = (id) => document.getElementById(id);
  const maxPoints = 120;

  // Formatting.
  const num = (v) => v == null ? "–" : v >= 100 ? Math.round(v).toLocaleString("en") :
    v.toLocaleString("en", { maximumFractionDigits: v >= 10 ? 1 : 2 });
  const bytes = (v) => {
    if (v == null) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : Math.round(v)) + " " + units[i];
  };
  const secs = (v) => {
    if (v == null) return "–";
    if (v < 1e-3) return (v * 1e6).toFixed(0) + " µs";
    if (v < 1) return (v * 1e3).toFixed(v < 0.01 ? 2 : 1) + " ms";
    return v.toFixed(2) + " s";
  };
  const duration = (s) => {
    s = Math.floor(s || 0);
    const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (s % 60) + "s";
  };
  const pct = (v) => v == null ? "–" : (v * 100).toFixed(1) + " %";
  const sum = (xs, f) => (xs || []).reduce((a, x) => a + (f(x) || 0), 0);

  // Charts: one series per chart, the last maxPoints samples.
  const charts = [
    { name: "events/s, all loops", fmt: num, value: (s) => sum(Object.values(s.rates.loops || {}), (r) => r.events) },
    { name: "loop lag p99, worst loop", fmt: secs, value: (s) => Math.max(0, ...Object.values(s.rates.loops || {}).map((r) => r.lag_p99_seconds || 0)) },
    { name: "RPC calls/s", fmt: num, value: (s) => sum(Object.values(s.rates.rpc || {}), (r) => r.calls) },
    { name: "open connections", fmt: num, value: (s) => sum(s.listeners, (l) => l.connections_open) },
    { name: "heap", fmt: bytes, value: (s) => (s.memory || {}).heap_bytes },
    { name: "goroutines", fmt: num, value: (s) => s.goroutines },
  ];
  for (const c of charts) {
    c.points = [];
    const box = document.createElement("div");
    box.className = "chart";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = c.name;
    c.label = document.createElement("span");
    c.label.className = "value";
    c.canvas = document.createElement("canvas");
    box.append(name, c.label, c.canvas);
    $("charts").append(box);
  }

  function draw(c) {
    const cv = c.canvas, ratio = window.devicePixelRatio || 1;
    const w = cv.clientWidth, h = cv.clientHeight;
    if (cv.width !== Math.round(w * ratio) || cv.height !== Math.round(h * ratio)) {
      cv.width = Math.round(w * ratio);
      cv.height = Math.round(h * ratio);
    }
    const g = cv.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    const pts = c.points;
    if (pts.length === 0) return;
    const max = Math.max(...pts.map((p) => p.v)) || 1;
    const t1 = pts[pts.length - 1].t, t0 = Math.min(pts[0].t, t1 - 1);
    const x = (t) => (t - t0) / (t1 - t0) * (w - 2) + 1;
    const y = (v) => h - 2 - v / max * (h - 14);
    g.strokeStyle = "#e3e3e0";
    g.beginPath();
    g.moveTo(0, y(max) + 0.5); g.lineTo(w, y(max) + 0.5);
    g.moveTo(0, y(0) + 0.5); g.lineTo(w, y(0) + 0.5);
    g.stroke();
    g.fillStyle = "#6b7280";
    g.font = "10px system-ui, sans-serif";
    g.fillText("max " + c.fmt(max), 2, 10);
    g.beginPath();
    pts.forEach((p, i) => i ? g.lineTo(x(p.t), y(p.v)) : g.moveTo(x(p.t), y(p.v)));
    g.strokeStyle = "#2f6fb0";
    g.lineWidth = 1.5;
    g.stroke();
    g.lineTo(x(t1), y(0)); g.lineTo(x(pts[0].t), y(0)); g.closePath();
    g.fillStyle = "rgba(47, 111, 176, 0.12)";
    g.fill();
  }

  function addPoint(s) {
    const t = Date.parse(s.time) / 1000;
    for (const c of charts) {
      const v = c.value(s);
      if (!Number.isFinite(v)) continue;
      const last = c.points[c.points.length - 1];
      if (last && last.t >= t) continue;
      c.points.push({ t, v });
      if (c.points.length > maxPoints) c.points.shift();
    }
  }

  // Tables.
  function fill(id, rows, cells, empty) {
    const body = $(id).tBodies[0];
    body.replaceChildren();
    if (rows.length === 0) {
      const td = document.createElement("td");
      td.colSpan = $(id).tHead.rows[0].cells.length;
      td.className = "empty";
      td.textContent = empty;
      body.insertRow().append(td);
      return;
    }
    for (const r of rows) {
      const tr = body.insertRow();
      for (const v of cells(r)) tr.insertCell().textContent = v;
    }
  }

  let rendered = 0;
  function render(s) {
    document.body.dataset.samples = ++rendered;
    document.title = s.title + " status";
    $("title").textContent = s.title;
    $("uptime").textContent = duration(s.uptime_seconds);
    $("goroutines").textContent = num(s.goroutines);
    $("heap").textContent = bytes((s.memory || {}).heap_bytes);
    $("rss").textContent = bytes((s.memory || {}).rss_bytes);
    $("unhandled").textContent = num(s.unhandled_deferred_failures);
    $("errcount").textContent = num(s.errors_total);
    const rates = s.rates || {};
    const lr = rates.loops || {}, nr = rates.listeners || {}, rr = rates.rpc || {};
    fill("loops", s.loops || [], (l) => {
      const r = lr[l.name] || {};
      return [l.name + (l.responding === false ? " (not responding)" : ""), num(r.iterations), num(r.events),
        num(l.timers_pending), num(r.posted_calls), secs(r.lag_p50_seconds), secs(r.lag_p99_seconds),
        secs((l.lag || {}).max_seconds), pct(r.busy_fraction)];
    }, "no loops");
    fill("listeners", s.listeners || [], (l) => {
      const r = nr[l.name] || {};
      return [l.name, l.addr || "", num(l.connections_open), num(l.connections_accepted), num(r.connections_accepted),
        num(l.connections_refused), bytes(r.bytes_in) + "/s", bytes(r.bytes_out) + "/s"];
    }, "no listeners");
    const ur = rates.udp_ports || {}, cr = rates.clients || {};
    fill("udp", s.udp_ports || [], (p) => {
      const r = ur[p.name] || {};
      return [p.name, p.addr || "", num(r.datagrams_in), num(r.datagrams_out), bytes(r.bytes_in) + "/s",
        bytes(r.bytes_out) + "/s", num(p.dropped), num(p.send_errors)];
    }, "no UDP ports");
    const c = s.clients || {};
    fill("clients", [c], (c) => [num(c.connections_open), num(c.connected), num(cr.connect_attempts),
      num(c.connect_refused), num(c.connect_timed_out), num(c.connect_failed),
      bytes(cr.bytes_in) + "/s", bytes(cr.bytes_out) + "/s"], "");
    renderSections(s.sections || [], rates.sections || {});
    const key = (f) => f.server + "/" + f.name;
    const fns = (s.rpc || []).slice().sort((a, b) =>
      ((rr[key(b)] || {}).calls || 0) - ((rr[key(a)] || {}).calls || 0) || b.calls - a.calls).slice(0, 10);
    fill("rpc", fns, (f) => {
      const r = rr[key(f)] || {};
      return [f.name, num(r.calls), num(f.calls), num(r.errors), num(sum(Object.values(f.errors || {}), (n) => n)), num(f.in_flight),
        secs(r.latency_p50_seconds), secs(r.latency_p99_seconds)];
    }, "no RPC server");
    fill("threads", s.threads || [], (t) => [t.name, num(t.size), num(t.workers), num(t.busy), num(t.queued)],
      "no thread pool");
    for (const c of charts) {
      const last = c.points[c.points.length - 1];
      c.label.textContent = last ? c.fmt(last.v) : "–";
      draw(c);
    }
  }

  // The program's own sections: a table each, made when first seen.
  function renderSections(sections, sr) {
    for (const sec of sections) {
      const id = "section-" + sec.name;
      if (!$(id)) {
        const box = document.createElement("section");
        const h = document.createElement("h2");
        h.textContent = sec.name;
        const t = document.createElement("table");
        t.id = id;
        const head = t.createTHead().insertRow();
        for (const name of ["figure", "value", "per second"]) {
          const th = document.createElement("th");
          th.textContent = name;
          head.append(th);
        }
        t.createTBody();
        box.append(h, t);
        $("sections").append(box);
      }
      const rates = sr[sec.name] || {};
      fill(id, sec.figures || [], (f) => {
        const k = f.label ? f.name + "/" + f.label_value : f.name;
        const name = (f.label ? f.name + " " + f.label + "=" + f.label_value : f.name) +
          (sec.responding === false ? " (not responding)" : "");
        return [name, f.name.endsWith("_bytes") ? bytes(f.value) : num(f.value),
          f.counter ? num(rates[k]) : ""];
      }, "none");
    }
  }

  function renderErrors(errs) {
    fill("errors", (errs || []).slice().reverse(), (e) => [new Date(e.time).toLocaleTimeString(), e.level,
      e.message, e.attrs || ""], "none");
  }

  function state(text, cls) {
    $("live").textContent = text;
    $("live").className = "state " + cls;
  }

  // Live updates: server-sent events, or polling when the stream is
  // refused (too many clients) or unavailable.
  let polling = false;
  async function poll() {
    try {
      const r = await fetch("status.json" + query, { cache: "no-store" });
      if (!r.ok) throw new Error(r.status + " " + r.statusText);
      const doc = await r.json();
      addPoint(doc);
      render(doc);
      renderErrors(doc.errors);
      state("polling", "live");
    } catch (e) {
      state("down: " + e.message, "down");
    }
    setTimeout(poll, 2000);
  }

  function connect() {
    const es = new EventSource("events" + query);
    es.addEventListener("history", (ev) => {
      const hist = JSON.parse(ev.data) || [];
      for (const s of hist) addPoint(s);
      if (hist.length) render(hist[hist.length - 1]);
      state("live", "live");
    });
    es.addEventListener("sample", (ev) => {
      const s = JSON.parse(ev.data);
      addPoint(s);
      render(s);
      state("live", "live");
    });
    es.addEventListener("errors", (ev) => renderErrors(JSON.parse(ev.data)));
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED && !polling) {
        polling = true;
        poll();
      } else if (!polling) {
        state("reconnecting", "down");
      }
    };
  }

  $("jsonlink").href = "status.json" + query;
  $("metricslink").href = "metrics" + query;
  window.addEventListener("resize", () => charts.forEach(draw));
  connect();
})();
