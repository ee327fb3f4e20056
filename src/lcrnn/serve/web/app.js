/* lcrnn web page: plain JavaScript, no build step, no network beyond this server (works offline).
   This file: what both pages share (fetching, polling, formatting, positions) and the object list.
   plot.js draws the SVG plots, object.js the object page. */
"use strict";
const lcrnn = (() => {
  const PALETTE = ["#2457a6", "#d1495b", "#2a9d8f", "#e9a23b", "#7b4fa0", "#6b7280"];
  const POLL_MS = 2000;
  const state = { classes: [] };

  const colour = (cls) => PALETTE[Math.max(0, state.classes.indexOf(cls)) % PALETTE.length];
  const fmt = (x, d = 3) => (x === null || x === undefined ? "–" : Number(x).toFixed(d));
  const el = (tag, attrs = {}, text) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };

  async function fetchJSON(url) {
    const resp = await fetch(url, { headers: { Accept: "application/json" } });
    if (!resp.ok) {
      const err = new Error(`${resp.status} ${url}`);
      err.status = resp.status;
      err.body = await resp.json().catch(() => null);
      throw err;
    }
    return { body: await resp.json(), headers: resp.headers };
  }
  const getJSON = async (url) => (await fetchJSON(url)).body;

  function setStatus(text, isError = false) {
    const s = document.getElementById("status");
    s.textContent = text;
    s.classList.toggle("error", isError);
  }

  /* Call fn now and every POLL_MS; fn() again right away through the returned function (after a change). */
  function poll(fn) {
    let timer = null;
    const tick = async () => {
      clearTimeout(timer);
      try {
        await fn();
        setStatus(`updated ${new Date().toLocaleTimeString()}`);
      } catch (e) {
        setStatus(e.status === 422 ? `refused: ${problem(e.body)}` : `cannot reach the server (${e.message})`, true);
      }
      timer = setTimeout(tick, POLL_MS);
    };
    tick();
    return tick;
  }

  const problem = (body) => (body && Array.isArray(body.detail) ? body.detail.map((d) => d.msg).join("; ")
                                                                 : JSON.stringify(body && body.detail));

  // --- positions: degrees <-> sexagesimal ------------------------------------------------------------------
  /* RA as hh:mm:ss.ss (hours) or Dec as +dd:mm:ss.s, rounded once so that 59.999 s never shows as 60. */
  function sexagesimal(deg, hours) {
    const decimals = hours ? 2 : 1;
    const scale = 10 ** decimals;
    const value = hours ? (((deg % 360) + 360) % 360) / 15 : Math.abs(deg);
    let units = Math.round(value * 3600 * scale);
    if (hours) units %= 24 * 3600 * scale;
    const sec = units % (60 * scale);
    const minutes = (units - sec) / (60 * scale);
    const m = minutes % 60, d = (minutes - m) / 60;
    const two = (n) => String(n).padStart(2, "0");
    const s = (sec / scale).toFixed(decimals).padStart(3 + decimals, "0");
    return `${hours ? "" : deg < 0 ? "-" : "+"}${two(d)}:${two(m)}:${s}`;
  }

  /* Degrees from "150.25" or sexagesimal "10:01:00.0" / "10 01 00" (RA in hours when hours), or NaN. */
  function parseAngle(text, hours) {
    const t = String(text).trim();
    if (!t) return NaN;
    const parts = t.split(/[\s:hdms°'"]+/).filter(Boolean);
    if (parts.length === 1) return Number(parts[0]);
    if (parts.length > 3 || parts.some((p) => !/^[+-]?\d+(\.\d*)?$/.test(p))) return NaN;
    const negative = t.startsWith("-");
    const [a, b = 0, c = 0] = parts.map((p) => Math.abs(Number(p)));
    const value = a + b / 60 + c / 3600;
    return (negative ? -value : value) * (hours ? 15 : 1);
  }

  function positionCell(deg, hours, decimals = 5) {
    return el("td", { class: "num", title: sexagesimal(deg, hours) }, fmt(deg, decimals));
  }

  function probabilityBars(probs) {
    const bars = el("div", { class: "bars", title: Object.entries(probs).map(([c, p]) => `${c} ${fmt(p)}`).join(", ") });
    for (const c of state.classes) {
      const span = el("span");
      span.style.width = `${100 * (probs[c] || 0)}%`;
      span.style.background = colour(c);
      bars.appendChild(span);
    }
    return bars;
  }

  function badge(cls, attrs = {}) {
    const b = el("span", { class: "badge", ...attrs }, cls || "–");
    b.style.background = cls ? colour(cls) : "#999";
    return b;
  }

  // --- the object list -------------------------------------------------------------------------------------
  // Every setting lives in the address (shareable, survives a reload); these are the API's parameter names.
  const LIST_KEYS = ["sort", "order", "cls", "prob_cls", "min_prob", "min_n_obs", "object_id", "id_prefix",
                     "ra", "dec", "radius", "limit", "offset"];

  async function indexPage() {
    state.classes = await getJSON("../classes").catch(() => []);
    for (const id of ["cls-filter", "prob-cls"]) {
      const select = document.getElementById(id);
      for (const c of state.classes) select.appendChild(el("option", { value: c }, c));
    }
    const params = new URLSearchParams(location.search);
    const settings = Object.fromEntries(LIST_KEYS.filter((k) => params.get(k)).map((k) => [k, params.get(k)]));
    const refresh = poll(() => loadList(settings));
    const change = (updates, keepPage = false) => {
      for (const [k, v] of Object.entries(updates)) {
        if (v === "" || v === null || v === undefined) delete settings[k]; else settings[k] = String(v);
      }
      if (!keepPage) delete settings.offset;
      history.replaceState(null, "", `?${new URLSearchParams(settings)}`);
      refresh();
    };
    bindControls(settings, change);
  }

  function bindControls(settings, change) {
    const $ = (id) => document.getElementById(id);
    const fields = { "cls-filter": "cls", "prob-cls": "prob_cls", "min-prob": "min_prob", "min-nobs": "min_n_obs",
                     limit: "limit" };
    for (const [id, key] of Object.entries(fields)) {
      const value = settings[key] || (id === "limit" ? "50" : "");
      if (id === "limit" && ![...$(id).options].some((opt) => opt.value === value)) $(id).appendChild(el("option", {}, value));
      $(id).value = value;
      $(id).addEventListener("change", () => change({ [key]: $(id).value }));
    }
    $("id-search").value = settings.object_id || settings.id_prefix || "";
    $("id-mode").value = settings.object_id ? "exact" : "prefix";
    $("id-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = $("id-search").value.trim();
      const exact = $("id-mode").value === "exact";
      change({ object_id: exact ? text : "", id_prefix: exact ? "" : text });
    });
    if (settings.ra !== undefined) {
      $("cone-ra").value = settings.ra; $("cone-dec").value = settings.dec; $("cone-radius").value = settings.radius;
    }
    $("cone-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const ra = parseAngle($("cone-ra").value, true), dec = parseAngle($("cone-dec").value, false);
      const radius = Number($("cone-radius").value);
      if (!(ra >= 0 && ra < 360 && dec >= -90 && dec <= 90 && radius > 0)) {
        setStatus("cone: give RA (deg or hh:mm:ss), Dec (deg or ±dd:mm:ss) and a radius in arcsec", true);
        return;
      }
      change({ ra, dec, radius, sort: "distance", order: "asc" });
    });
    $("cone-clear").addEventListener("click", () => {
      for (const id of ["cone-ra", "cone-dec"]) $(id).value = "";
      change({ ra: "", dec: "", radius: "", sort: settings.sort === "distance" ? "" : settings.sort });
    });
    for (const th of document.querySelectorAll("#objects th[data-sort]")) {
      th.addEventListener("click", () => {
        const key = th.dataset.sort;
        const current = settings.sort || "updated";
        const descending = key === "distance" || key === "object_id" ? "asc" : "desc";
        change({ sort: key, order: current === key ? ((settings.order || "desc") === "desc" ? "asc" : "desc") : descending });
      });
    }
    $("prev").addEventListener("click", () => {
      const limit = Number(settings.limit || 50);
      change({ offset: Math.max(0, Number(settings.offset || 0) - limit) }, true);
    });
    $("next").addEventListener("click", () => {
      change({ offset: Number(settings.offset || 0) + Number(settings.limit || 50) }, true);
    });
  }

  let listRequest = 0;
  async function loadList(settings) {
    const mine = ++listRequest;
    const route = settings.ra !== undefined ? "conesearch" : "objects"; // a cone is its own route
    const { body: rows, headers } = await fetchJSON(`../${route}?${new URLSearchParams(settings)}`);
    if (mine !== listRequest) return; // a newer request was sent meanwhile
    drawTable(rows, settings, Number(headers.get("X-Total-Count") || rows.length));
  }

  function drawTable(rows, settings, total) {
    const cone = settings.ra !== undefined;
    const sort = settings.sort || "updated", order = settings.order || "desc";
    for (const th of document.querySelectorAll("#objects th[data-sort]")) {
      const active = th.dataset.sort === sort;
      th.classList.toggle("sorted", active);
      th.setAttribute("aria-sort", active ? (order === "asc" ? "ascending" : "descending") : "none");
      th.dataset.arrow = active ? (order === "asc" ? "▲" : "▼") : "";
    }
    document.getElementById("prob-head").textContent = settings.prob_cls ? `p(${settings.prob_cls})` : "probability";
    document.getElementById("objects").classList.toggle("with-cone", cone);
    const body = document.querySelector("#objects tbody");
    body.replaceChildren();
    for (const o of rows) {
      const tr = el("tr", { "data-object": o.object_id });
      const name = el("td");
      name.appendChild(el("a", { href: `object.html?id=${encodeURIComponent(o.object_id)}` }, o.object_id));
      const cls = el("td");
      cls.appendChild(badge(o.leading_class));
      const bars = el("td");
      bars.appendChild(probabilityBars(o.probabilities));
      tr.append(name, positionCell(o.ra, true), positionCell(o.dec, false), cls,
                el("td", { class: "num prob" }, fmt(o.prob)), el("td", { class: "num nobs" }, String(o.n_obs)),
                el("td", { class: "num" }, fmt(o.first_mjd, 3)), el("td", { class: "num" }, fmt(o.last_mjd, 3)), bars,
                el("td", { class: "num dist" }, cone ? fmt(o.separation_arcsec, 2) : ""));
      body.appendChild(tr);
    }
    const offset = Number(settings.offset || 0);
    document.getElementById("empty").hidden = rows.length > 0;
    document.getElementById("count").textContent = rows.length
      ? `${offset + 1}–${offset + rows.length} of ${total.toLocaleString("en")} object${total === 1 ? "" : "s"}`
      : `0 of ${total.toLocaleString("en")} objects`;
    document.getElementById("prev").disabled = offset <= 0;
    document.getElementById("next").disabled = offset + rows.length >= total;
  }

  return { state, PALETTE, POLL_MS, colour, fmt, el, getJSON, setStatus, poll, sexagesimal, parseAngle, badge,
           indexPage };
})();
