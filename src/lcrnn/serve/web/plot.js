/* lcrnn web page: the object page's plots, inline SVG drawn here (no plotting library).
   Both plots share one MJD axis, so a change of probability lines up with the detection that caused it;
   moving the pointer over a plot shows the values of the nearest epoch. */
"use strict";
lcrnn.plot = (() => {
  const { el, fmt, colour, PALETTE, state } = lcrnn;
  const SVG = "http://www.w3.org/2000/svg";
  const svgEl = (tag, attrs = {}, text) => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };

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
      g.appendChild(svgEl("text", { x, y: f.h + 16, "text-anchor": "middle", class: "x-tick" }, String(t)));
    }
    for (const t of ys) {
      const y = yScale(t);
      g.appendChild(svgEl("line", { x1: -4, x2: 0, y1: y, y2: y, stroke: "#98a2b3" }));
      g.appendChild(svgEl("line", { x1: 0, x2: f.w, y1: y, y2: y, stroke: "#f0f2f5" }));
      g.appendChild(svgEl("text", { x: -7, y: y + 4, "text-anchor": "end" }, String(t)));
    }
    g.appendChild(svgEl("text", { x: f.w / 2, y: f.h + 32, "text-anchor": "middle", class: "x-label" }, xLabel));
    g.appendChild(svgEl("text", { x: -f.h / 2, y: -38, transform: "rotate(-90)", "text-anchor": "middle" }, yLabel));
    svg.appendChild(g);
    return g;
  }

  /* The MJD range both plots show: every detection, upper limit and classification, padded. */
  function mjdRange(o) {
    const all = o.observations.map((d) => d.mjd).concat(o.upper_limits.map((u) => u.mjd), o.history.map((h) => h.mjd));
    if (!all.length) return null;
    let [x0, x1] = [Math.min(...all), Math.max(...all)];
    if (x1 - x0 < 1) { x0 -= 0.5; x1 += 0.5; }
    const pad = 0.04 * (x1 - x0);
    return [x0 - pad, x1 + pad];
  }

  /* A readout that follows the pointer: a vertical line at the nearest epoch and its values. */
  function hover(svg, g, f, X, epochs, describe) {
    const cursor = svgEl("line", { y1: 0, y2: f.h, stroke: "#98a2b3", "stroke-dasharray": "3 3", visibility: "hidden" });
    const label = svgEl("text", { class: "readout", y: 12, visibility: "hidden" });
    g.append(cursor, label);
    svg.addEventListener("mousemove", (ev) => {
      const box = svg.getBoundingClientRect();
      const x = ((ev.clientX - box.left) / box.width) * f.width - f.m.left;
      let best = null;
      for (const e of epochs) if (!best || Math.abs(X(e.mjd) - x) < Math.abs(X(best.mjd) - x)) best = e;
      if (!best) return;
      const bx = X(best.mjd);
      for (const node of [cursor, label]) node.setAttribute("visibility", "visible");
      cursor.setAttribute("x1", bx); cursor.setAttribute("x2", bx);
      label.textContent = describe(best);
      label.setAttribute("x", bx > f.w / 2 ? bx - 6 : bx + 6);
      label.setAttribute("text-anchor", bx > f.w / 2 ? "end" : "start");
    });
    svg.addEventListener("mouseleave", () => {
      for (const node of [cursor, label]) node.setAttribute("visibility", "hidden");
    });
  }

  function lightCurve(box, o) {
    const f = frame(560, 300, { left: 50, right: 14, top: 10, bottom: 40 });
    const svg = svgEl("svg", { viewBox: `0 0 ${f.width} ${f.height}`, id: "lc-svg", role: "img" });
    const det = o.observations, uls = o.upper_limits;
    const range = mjdRange(o);
    if (!det.length && !uls.length) {
      box.replaceChildren(el("p", { class: "muted" }, "No photometry yet."));
      return;
    }
    const [x0, x1] = range;
    const mags = det.flatMap((d) => [d.mag - d.mag_err, d.mag + d.mag_err]).concat(uls.map((u) => u.limit_mag));
    let [y0, y1] = [Math.min(...mags), Math.max(...mags)];
    if (y1 - y0 < 0.2) { y0 -= 0.1; y1 += 0.1; }
    const padY = 0.08 * (y1 - y0);
    y0 -= padY; y1 += padY;
    const X = (t) => ((t - x0) / (x1 - x0)) * f.w;
    const Y = (m) => ((m - y0) / (y1 - y0)) * f.h; // brighter (smaller mag) at the top
    const g = axes(svg, f, ticks(x0, x1), ticks(y0, y1), "MJD", "magnitude", X, Y);
    const bands = [...new Set(det.map((d) => d.band).concat(uls.map((u) => u.band)))];
    const bandColour = (b) => PALETTE[bands.indexOf(b) % PALETTE.length];
    for (const u of uls) {
      const x = X(u.mjd), y = Y(u.limit_mag);
      const mark = svgEl("path", { d: `M${x - 4},${y - 3} L${x + 4},${y - 3} L${x},${y + 4} Z`, fill: "none",
                                   stroke: bandColour(u.band), class: "upper-limit", "data-mjd": u.mjd });
      mark.appendChild(svgEl("title", {}, `MJD ${fmt(u.mjd, 4)}: fainter than ${fmt(u.limit_mag, 2)} (${u.band})`));
      g.appendChild(mark);
    }
    for (const d of det) {
      const x = X(d.mjd);
      g.appendChild(svgEl("line", { x1: x, x2: x, y1: Y(d.mag - d.mag_err), y2: Y(d.mag + d.mag_err),
                                    stroke: bandColour(d.band) }));
      const dot = svgEl("circle", { cx: x, cy: Y(d.mag), r: 3.2, fill: bandColour(d.band), class: "detection",
                                    "data-mjd": d.mjd });
      dot.appendChild(svgEl("title", {}, `MJD ${fmt(d.mjd, 4)}: ${fmt(d.mag, 3)} ± ${fmt(d.mag_err, 3)} (${d.band})`));
      g.appendChild(dot);
    }
    if (bands.length > 1) {
      const lg = svgEl("g", { class: "legend", transform: `translate(${f.w - 60},12)` });
      bands.forEach((b, i) => {
        lg.appendChild(svgEl("circle", { cx: 0, cy: i * 16, r: 4, fill: bandColour(b) }));
        lg.appendChild(svgEl("text", { x: 8, y: i * 16 + 4 }, b));
      });
      g.appendChild(lg);
    }
    const epochs = det.map((d) => ({ ...d, kind: "detection" })).concat(uls.map((u) => ({ ...u, kind: "limit" })));
    hover(svg, g, f, X, epochs, (e) => (e.kind === "detection"
      ? `MJD ${fmt(e.mjd, 3)}  ${fmt(e.mag, 2)} ± ${fmt(e.mag_err, 2)} ${e.band}`
      : `MJD ${fmt(e.mjd, 3)}  > ${fmt(e.limit_mag, 2)} ${e.band} (limit)`));
    box.replaceChildren(svg);
  }

  function probabilities(box, o) {
    const f = frame(560, 300, { left: 50, right: 80, top: 10, bottom: 40 });
    const svg = svgEl("svg", { viewBox: `0 0 ${f.width} ${f.height}`, id: "prob-svg", role: "img" });
    const hist = o.history;
    if (!hist.length) {
      box.replaceChildren(el("p", { class: "muted" }, "No classification yet."));
      return;
    }
    const [x0, x1] = mjdRange(o);
    const X = (t) => ((t - x0) / (x1 - x0)) * f.w;
    const Y = (p) => (1 - p) * f.h;
    const g = axes(svg, f, ticks(x0, x1), [0, 0.25, 0.5, 0.75, 1], "MJD", "probability", X, Y);
    const values = (h) => state.classes.map((c) => `${c} ${fmt(h.probabilities[c])}`).join("  ");
    state.classes.forEach((c, i) => {
      const pts = hist.map((h) => `${X(h.mjd).toFixed(1)},${Y(h.probabilities[c] ?? 0).toFixed(1)}`);
      g.appendChild(svgEl("polyline", { points: pts.join(" "), fill: "none", stroke: colour(c), "stroke-width": 2,
                                        class: `prob-line cls-${c}` }));
      for (const h of hist) {
        const dot = svgEl("circle", { cx: X(h.mjd), cy: Y(h.probabilities[c] ?? 0), r: 2.6, fill: colour(c),
                                      class: `prob-point cls-${c}`, "data-mjd": h.mjd });
        dot.appendChild(svgEl("title", {}, `MJD ${fmt(h.mjd, 4)} (detection ${h.step}): ${values(h)}`));
        g.appendChild(dot);
      }
      const lg = svgEl("g", { class: "legend", transform: `translate(${f.w + 14},${14 + 18 * i})` });
      lg.appendChild(svgEl("line", { x1: 0, x2: 14, y1: 0, y2: 0, stroke: colour(c), "stroke-width": 3 }));
      lg.appendChild(svgEl("text", { x: 18, y: 4 }, c));
      g.appendChild(lg);
    });
    hover(svg, g, f, X, hist, (h) => `MJD ${fmt(h.mjd, 3)}  ${values(h)}`);
    box.replaceChildren(svg);
  }

  return { lightCurve, probabilities };
})();
