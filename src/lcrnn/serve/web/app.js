/* lcrnn web page: plain JavaScript, no build step, no network beyond this server (works offline).
   Polls the JSON API and redraws; plots are inline SVG. */
"use strict";
const lcrnn = (() => {
  const PALETTE = ["#2457a6", "#d1495b", "#2a9d8f", "#e9a23b", "#7b4fa0", "#6b7280"];
  const POLL_MS = 2000;
  const SVG = "http://www.w3.org/2000/svg";
  let classes = [];

  const colour = (cls) => PALETTE[Math.max(0, classes.indexOf(cls)) % PALETTE.length];
  const fmt = (x, d = 3) => (x === null || x === undefined ? "–" : Number(x).toFixed(d));
  const el = (tag, attrs = {}, text) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const svgEl = (tag, attrs = {}, text) => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };

  async function getJSON(url) {
    const resp = await fetch(url, { headers: { Accept: "application/json" } });
    if (!resp.ok) {
      const err = new Error(`${resp.status} ${url}`);
      err.status = resp.status;
      throw err;
    }
    return resp.json();
  }

  function setStatus(text, isError = false) {
    const s = document.getElementById("status");
    s.textContent = text;
    s.classList.toggle("error", isError);
  }

  function poll(fn) {
    const tick = async () => {
      try {
        await fn();
        setStatus(`updated ${new Date().toLocaleTimeString()}`);
      } catch (e) {
        setStatus(`cannot reach the server (${e.message})`, true);
      }
      setTimeout(tick, POLL_MS);
    };
    tick();
  }

  function probabilityBars(probs) {
    const bars = el("div", { class: "bars", title: Object.entries(probs).map(([c, p]) => `${c} ${fmt(p)}`).join(", ") });
    for (const c of classes) {
      const span = el("span");
      span.style.width = `${100 * (probs[c] || 0)}%`;
      span.style.background = colour(c);
      bars.appendChild(span);
    }
    return bars;
  }

  // --- index page: recent objects -------------------------------------------------------------------------
  async function indexPage() {
    classes = await getJSON("../classes").catch(() => []);
    const filter = document.getElementById("cls-filter");
    const params = new URLSearchParams(location.search);
    for (const c of classes) filter.appendChild(el("option", { value: c }, c));
    filter.value = params.get("cls") || "";
    const limit = document.getElementById("limit");
    const refresh = async () => {
      const q = new URLSearchParams({ limit: limit.value });
      if (filter.value) q.set("cls", filter.value);
      const rows = await getJSON(`../objects?${q}`);
      drawTable(rows);
    };
    filter.addEventListener("change", () => {
      const q = new URLSearchParams(location.search);
      if (filter.value) q.set("cls", filter.value); else q.delete("cls");
      history.replaceState(null, "", `?${q}`);
      refresh().catch(() => {});
    });
    limit.addEventListener("change", () => refresh().catch(() => {}));
    poll(refresh);
  }

  function drawTable(rows) {
    const body = document.querySelector("#objects tbody");
    body.replaceChildren();
    for (const o of rows) {
      const tr = el("tr", { "data-object": o.object_id });
      const link = el("a", { href: `object.html?id=${encodeURIComponent(o.object_id)}` }, o.object_id);
      const td = el("td");
      td.appendChild(link);
      tr.appendChild(td);
      const clsCell = el("td");
      if (o.leading_class) {
        const b = el("span", { class: "badge" }, o.leading_class);
        b.style.background = colour(o.leading_class);
        clsCell.appendChild(b);
      } else clsCell.textContent = "–";
      tr.appendChild(clsCell);
      tr.appendChild(el("td", { class: "num" }, fmt(o.leading_prob)));
      tr.appendChild(el("td", { class: "num" }, String(o.n_obs)));
      tr.appendChild(el("td", { class: "num" }, fmt(o.last_mjd, 2)));
      const bars = el("td");
      bars.appendChild(probabilityBars(o.probabilities));
      tr.appendChild(bars);
      body.appendChild(tr);
    }
    document.getElementById("empty").hidden = rows.length > 0;
    document.getElementById("count").textContent = `${rows.length} object${rows.length === 1 ? "" : "s"}`;
  }

  // --- object page: light curve and probabilities over time -----------------------------------------------
  async function objectPage() {
    const id = new URLSearchParams(location.search).get("id");
    classes = await getJSON("../classes").catch(() => []);
    document.getElementById("title").textContent = id || "no object given";
    document.title = `lcrnn · ${id}`;
    if (!id) return;
    let lastKey = "";
    poll(async () => {
      let o;
      try {
        o = await getJSON(`../objects/${encodeURIComponent(id)}`);
      } catch (e) {
        if (e.status === 404) {
          const m = document.getElementById("missing");
          m.hidden = false;
          m.textContent = `Object ${id} is not registered.`;
          return;
        }
        throw e;
      }
      const key = `${o.n_obs}/${o.updated_at}/${o.upper_limits.length}`;
      if (key === lastKey) return; // nothing new: keep the drawing
      lastKey = key;
      drawSummary(o);
      drawLightCurve(document.getElementById("lightcurve"), o);
      drawProbabilities(document.getElementById("probabilities"), o);
    });
  }

  function drawSummary(o) {
    const s = document.getElementById("summary");
    s.replaceChildren();
    const item = (label, value) => {
      const d = el("div");
      d.appendChild(el("b", {}, label));
      d.appendChild(typeof value === "string" ? document.createTextNode(value) : value);
      s.appendChild(d);
    };
    const badge = el("span", { class: "badge", id: "leading" }, o.leading_class || "–");
    badge.style.background = o.leading_class ? colour(o.leading_class) : "#999";
    item("leading class", badge);
    item("probability", fmt(o.leading_prob));
    item("detections", String(o.n_obs));
    item("RA, Dec", `${fmt(o.ra, 5)}, ${fmt(o.dec, 5)}`);
    item("l, b", `${fmt(o.context.gal_l, 2)}, ${fmt(o.context.gal_b, 2)}`);
    item("nearest galaxy", `${fmt(o.context.galaxy_dist_arcsec, 1)}″`);
    for (const c of classes) item(`p(${c})`, fmt(o.probabilities[c]));
  }

  function frame(width, height, m) {
    return { width, height, m, w: width - m.left - m.right, h: height - m.top - m.bottom };
  }

  function ticks(lo, hi, n = 5) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / n;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw);
    const out = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) out.push(+t.toFixed(10));
    return out;
  }

  function axes(svg, f, xs, ys, xLabel, yLabel, xScale, yScale) {
    const g = svgEl("g", { transform: `translate(${f.m.left},${f.m.top})` });
    g.appendChild(svgEl("rect", { x: 0, y: 0, width: f.w, height: f.h, fill: "none", stroke: "#d0d5dd" }));
    for (const t of xs) {
      const x = xScale(t);
      g.appendChild(svgEl("line", { x1: x, x2: x, y1: f.h, y2: f.h + 4, stroke: "#98a2b3" }));
      g.appendChild(svgEl("text", { x, y: f.h + 16, "text-anchor": "middle" }, String(t)));
    }
    for (const t of ys) {
      const y = yScale(t);
      g.appendChild(svgEl("line", { x1: -4, x2: 0, y1: y, y2: y, stroke: "#98a2b3" }));
      g.appendChild(svgEl("line", { x1: 0, x2: f.w, y1: y, y2: y, stroke: "#f0f2f5" }));
      g.appendChild(svgEl("text", { x: -7, y: y + 4, "text-anchor": "end" }, String(t)));
    }
    g.appendChild(svgEl("text", { x: f.w / 2, y: f.h + 32, "text-anchor": "middle" }, xLabel));
    g.appendChild(svgEl("text", { x: -f.h / 2, y: -38, transform: "rotate(-90)", "text-anchor": "middle" }, yLabel));
    svg.appendChild(g);
    return g;
  }

  function drawLightCurve(box, o) {
    const f = frame(560, 300, { left: 50, right: 14, top: 10, bottom: 40 });
    const svg = svgEl("svg", { viewBox: `0 0 ${f.width} ${f.height}`, id: "lc-svg", role: "img" });
    const det = o.observations, uls = o.upper_limits;
    const t0 = o.first_mjd ?? (det[0] || uls[0] || { mjd: 0 }).mjd;
    const all = det.map((d) => d.mjd).concat(uls.map((u) => u.mjd)).map((m) => m - t0);
    const mags = det.flatMap((d) => [d.mag - d.mag_err, d.mag + d.mag_err]).concat(uls.map((u) => u.limit_mag));
    if (!all.length) {
      box.replaceChildren(el("p", { class: "muted" }, "No photometry yet."));
      return;
    }
    let [x0, x1] = [Math.min(...all), Math.max(...all)];
    if (x1 - x0 < 1) { x0 -= 0.5; x1 += 0.5; }
    let [y0, y1] = [Math.min(...mags), Math.max(...mags)];
    if (y1 - y0 < 0.2) { y0 -= 0.1; y1 += 0.1; }
    const pad = 0.05 * (x1 - x0), padY = 0.08 * (y1 - y0);
    x0 -= pad; x1 += pad; y0 -= padY; y1 += padY;
    const X = (t) => ((t - x0) / (x1 - x0)) * f.w;
    const Y = (m) => ((m - y0) / (y1 - y0)) * f.h; // brighter (smaller mag) at the top
    const g = axes(svg, f, ticks(x0, x1), ticks(y0, y1), `days since first detection (MJD ${fmt(t0, 2)})`, "magnitude", X, Y);
    const bands = [...new Set(det.map((d) => d.band))];
    const bandColour = (b) => PALETTE[bands.indexOf(b) % PALETTE.length];
    for (const u of uls) {
      const x = X(u.mjd - t0), y = Y(u.limit_mag);
      g.appendChild(svgEl("path", { d: `M${x - 4},${y - 3} L${x + 4},${y - 3} L${x},${y + 4} Z`, fill: "none",
                                    stroke: "#98a2b3", class: "upper-limit" }));
    }
    for (const d of det) {
      const x = X(d.mjd - t0);
      g.appendChild(svgEl("line", { x1: x, x2: x, y1: Y(d.mag - d.mag_err), y2: Y(d.mag + d.mag_err),
                                    stroke: bandColour(d.band) }));
      g.appendChild(svgEl("circle", { cx: x, cy: Y(d.mag), r: 3.2, fill: bandColour(d.band), class: "detection" },
                          undefined));
    }
    if (bands.length > 1) {
      const lg = svgEl("g", { class: "legend", transform: `translate(${f.w - 60},12)` });
      bands.forEach((b, i) => {
        lg.appendChild(svgEl("circle", { cx: 0, cy: i * 16, r: 4, fill: bandColour(b) }));
        lg.appendChild(svgEl("text", { x: 8, y: i * 16 + 4 }, b));
      });
      g.appendChild(lg);
    }
    box.replaceChildren(svg);
  }

  function drawProbabilities(box, o) {
    const f = frame(560, 300, { left: 50, right: 80, top: 10, bottom: 40 });
    const svg = svgEl("svg", { viewBox: `0 0 ${f.width} ${f.height}`, id: "prob-svg", role: "img" });
    const hist = o.history;
    if (!hist.length) {
      box.replaceChildren(el("p", { class: "muted" }, "No classification yet."));
      return;
    }
    const n = hist.length;
    const X = (k) => (n === 1 ? f.w / 2 : ((k - 1) / (n - 1)) * f.w);
    const Y = (p) => (1 - p) * f.h;
    const xt = ticks(1, Math.max(n, 2), Math.min(n, 8)).filter((t) => Number.isInteger(t));
    const g = axes(svg, f, xt, [0, 0.25, 0.5, 0.75, 1], "number of detections", "probability", X, Y);
    classes.forEach((c, i) => {
      const pts = hist.map((h) => `${X(h.step).toFixed(1)},${Y(h.probabilities[c] ?? 0).toFixed(1)}`);
      g.appendChild(svgEl("polyline", { points: pts.join(" "), fill: "none", stroke: colour(c), "stroke-width": 2,
                                        class: `prob-line cls-${c}` }));
      for (const h of hist) {
        g.appendChild(svgEl("circle", { cx: X(h.step), cy: Y(h.probabilities[c] ?? 0), r: 2.2, fill: colour(c) }));
      }
      const lg = svgEl("g", { class: "legend", transform: `translate(${f.w + 14},${14 + 18 * i})` });
      lg.appendChild(svgEl("line", { x1: 0, x2: 14, y1: 0, y2: 0, stroke: colour(c), "stroke-width": 3 }));
      lg.appendChild(svgEl("text", { x: 18, y: 4 }, c));
      g.appendChild(lg);
    });
    box.replaceChildren(svg);
  }

  return { indexPage, objectPage };
})();
