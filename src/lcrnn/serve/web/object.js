/* lcrnn web page: one object -- its summary, links to the archives at its position, and its plots. */
"use strict";
lcrnn.objectPage = (() => {
  const { el, fmt, getJSON, poll, sexagesimal, badge, state } = lcrnn;
  const RADIUS_ARCSEC = 5; // the archives' cone around the object's position

  /* Where TNS, SIMBAD, NED and the Legacy Survey viewer show this position (degrees, ICRS). */
  function archiveLinks(ra, dec) {
    const r = ra.toFixed(6), d = (dec >= 0 ? "+" : "") + dec.toFixed(6);
    const url = (base, params) => `${base}?${new URLSearchParams(params)}`;
    return [
      ["tns", "TNS", url("https://www.wis-tns.org/search",
                         { ra: r, decl: dec.toFixed(6), radius: RADIUS_ARCSEC, coords_unit: "arcsec" })],
      ["simbad", "SIMBAD", url("https://simbad.cds.unistra.fr/simbad/sim-coo",
                               { Coord: `${r} ${d}`, Radius: RADIUS_ARCSEC, "Radius.unit": "arcsec" })],
      ["ned", "NED", url("https://ned.ipac.caltech.edu/conesearch",  // NED's radius is in arcmin
                         { search_type: "Near Position Search", in_csys: "Equatorial", in_equinox: "J2000",
                           ra: `${r}d`, dec: `${d}d`, radius: (RADIUS_ARCSEC / 60).toFixed(4),
                           Z_CONSTRAINT: "Unconstrained" })],
      ["legacy", "Legacy Survey", url("https://www.legacysurvey.org/viewer",
                                      { ra: r, dec: dec.toFixed(6), layer: "ls-dr10", zoom: 16, mark: `${r},${dec.toFixed(6)}` })],
    ];
  }

  function drawLinks(o) {
    const box = document.getElementById("links");
    box.replaceChildren(el("b", {}, `within ${RADIUS_ARCSEC}″`));
    for (const [key, name, href] of archiveLinks(o.ra, o.dec)) {
      box.appendChild(el("a", { href, "data-link": key, target: "_blank", rel: "noopener noreferrer" }, name));
    }
  }

  function drawSummary(o) {
    const s = document.getElementById("summary");
    s.replaceChildren();
    const item = (label, value, attrs = {}) => {
      const d = el("div", attrs);
      d.appendChild(el("b", {}, label));
      d.appendChild(typeof value === "string" ? document.createTextNode(value) : value);
      s.appendChild(d);
    };
    item("leading class", badge(o.leading_class, { id: "leading" }));
    item("probability", fmt(o.leading_prob));
    item("detections", String(o.n_obs), { id: "n-obs" });
    item("RA, Dec [deg]", `${fmt(o.ra, 6)}, ${fmt(o.dec, 6)}`, { id: "position" });
    item("RA, Dec", `${sexagesimal(o.ra, true)} ${sexagesimal(o.dec, false)}`, { id: "position-hms" });
    item("first, last detection [MJD]", `${fmt(o.first_mjd, 4)}, ${fmt(o.last_mjd, 4)}`, { id: "dates" });
    item("upper limits", String(o.upper_limits.length));
    item("l, b", `${fmt(o.context.gal_l, 2)}, ${fmt(o.context.gal_b, 2)}`);
    item("nearest galaxy", `${fmt(o.context.galaxy_dist_arcsec, 1)}″`);
    for (const c of state.classes) item(`p(${c})`, fmt(o.probabilities[c]));
  }

  return async function objectPage() {
    const id = new URLSearchParams(location.search).get("id");
    state.classes = await getJSON("../classes").catch(() => []);
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
      if (key === lastKey) return; // nothing new: keep the drawing (and the pointer's readout)
      lastKey = key;
      drawSummary(o);
      drawLinks(o);
      lcrnn.plot.lightCurve(document.getElementById("lightcurve"), o);
      lcrnn.plot.probabilities(document.getElementById("probabilities"), o);
    });
  };
})();
