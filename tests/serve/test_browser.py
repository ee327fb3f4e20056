"""The web page in headless Chromium, against a real `lcrnn serve` process on a free localhost port.

The first test follows objects as observations arrive; the second vets: sorts the list, filters it by class
and probability, pages through it, finds an object by a cone search and opens its page (archive links,
probabilities against MJD, upper limits).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

CHROMIUM = "/usr/bin/chromium"
TOKEN = "browser-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium)",
    ),
]


SERVERS: dict[str, str] = {}  # base URL -> database URL


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(saved_run, tmp_path):
    port = _free_port()
    env = {**os.environ, "LCRNN_API_TOKEN": TOKEN}
    cmd = [
        sys.executable,
        "-m",
        "lcrnn.cli",
        "serve",
        "--model",
        str(saved_run),
        "--db",
        f"sqlite:///{tmp_path / 'web.db'}",
        "--port",
        str(port),
        "--no-galaxies",  # the page is the subject here, not the context
    ]
    SERVERS[f"http://127.0.0.1:{port}"] = f"sqlite:///{tmp_path / 'web.db'}"
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"lcrnn serve exited early:\n{(tmp_path / 'serve.log').read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("lcrnn serve did not answer /healthz within 90 s")
    yield base
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def _observations(oid: str, start: float, n: int, mag0: float) -> list[dict]:
    return [
        {
            "object_id": oid,
            "mjd": start + 3.5 * i,
            "mag": mag0 + 0.08 * i,
            "mag_err": 0.05 + 0.01 * (i % 3),
            "band": "L",
        }
        for i in range(n)
    ]


def launch(p):
    return p.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run"],
    )


def test_table_filter_and_object_page_redraw_as_observations_arrive(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with httpx.Client(base_url=server, headers=AUTH) as api:
        for oid, ra, dec in [("SN-like", 150.1, 45.2), ("VS-like", 280.3, 2.1), ("AGN-like", 30.5, 60.0)]:
            assert api.post("/objects", json={"object_id": oid, "ra": ra, "dec": dec}).status_code == 201
        api.post("/observations", json=_observations("SN-like", 59000.0, 6, 17.5)).raise_for_status()
        api.post("/observations", json=_observations("VS-like", 59001.0, 4, 14.0)).raise_for_status()
        api.post("/observations", json=_observations("AGN-like", 59002.0, 3, 19.2)).raise_for_status()
        leading = {o["object_id"]: o["leading_class"] for o in api.get("/objects").json()}

        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server}/")
            rows = page.locator("#objects tbody tr")
            expect(rows).to_have_count(3)
            expect(page.locator("#objects tbody tr[data-object='SN-like'] td.nobs")).to_have_text("6")
            page.screenshot(path=str(tmp_path / "index.png"), full_page=True)

            cls = leading["VS-like"]
            page.select_option("#cls-filter", cls)
            expect(rows).to_have_count(sum(v == cls for v in leading.values()))
            for badge in page.locator("#objects tbody .badge").all_inner_texts():
                assert badge == cls

            absent = [c for c in ("VS", "SN", "AGN") if c not in leading.values()]
            if absent:  # a class no object leads with empties the table
                page.select_option("#cls-filter", absent[0])
                expect(rows).to_have_count(0)
                expect(page.locator("#empty")).to_be_visible()
            page.select_option("#cls-filter", "")
            expect(rows).to_have_count(3)
            page.click("text=SN-like")
            expect(page.locator("#lc-svg circle.detection")).to_have_count(6)
            expect(page.locator("#prob-svg polyline.prob-line")).to_have_count(3)

            # New observations (and an upper limit through ingest-like posting) appear without reloading.
            api.post("/observations", json=_observations("SN-like", 59030.0, 2, 18.1)).raise_for_status()
            expect(page.locator("#lc-svg circle.detection")).to_have_count(8, timeout=15000)
            points = page.locator("#prob-svg polyline.prob-line").first.get_attribute("points")
            assert len(points.split()) == 8
            expect(page.locator("#summary")).to_contain_text("8")
            page.screenshot(path=str(tmp_path / "object.png"), full_page=True)
            browser.close()
    assert not errors, errors
    keep = os.environ.get("LCRNN_SCREENSHOT_DIR")
    if keep:  # let a human look at the pages
        for name in ("index.png", "object.png"):
            shutil.copy(tmp_path / name, Path(keep) / name)


VETTED = {  # id: (ra, dec, detection times) -- uneven times, so a plot against MJD differs from one against step
    "ZTF24aaa": (150.1, 45.2, [59000.0, 59001.0, 59003.0, 59010.0, 59030.0, 59031.0]),
    "ZTF24aab": (280.3, 2.1, [59002.0, 59006.0, 59007.0, 59020.0]),
    "ZTF24aac": (30.5, 60.0, [59004.0, 59005.0, 59040.0]),
    "edge": (359.9, 12.0, [59000.5, 59001.5, 59012.0, 59040.0, 59041.0]),
    "ZTF24aad": (0.1, -30.0, [59008.0, 59009.0]),
}


def _column(page, css):
    return page.locator(f"#objects tbody {css}").all_inner_texts()


def test_vetting_sorts_filters_pages_cone_search_and_object_page(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from lcrnn.serve.store import StateStore

    assert f"web page: {server}/ui/" in (tmp_path / "serve.log").read_text()  # the start-up log says where

    with httpx.Client(base_url=server, headers=AUTH) as api:
        for oid, (ra, dec, times) in VETTED.items():
            assert api.post("/objects", json={"object_id": oid, "ra": ra, "dec": dec}).status_code == 201
            obs = [{"object_id": oid, "mjd": t, "mag": 18.0 + 0.2 * (k % 3), "mag_err": 0.05, "band": "L"}
                   for k, t in enumerate(times)]
            api.post("/observations", json=obs).raise_for_status()
        rows = {r["object_id"]: r for r in api.get("/objects", params={"limit": 100}).json()}
    store = StateStore(SERVERS[server])
    with store.engine.begin() as conn:  # non-detections, as alert ingestion stores them
        conn.execute(sa.insert(store.upper_limits),
                     [{"object_id": "edge", "mjd": m, "limit_mag": 19.5, "band": "L"} for m in (58995.0, 59020.0)])
    store.close()

    by = lambda key, reverse: [o for o, _ in sorted(((o, (r[key], o)) for o, r in rows.items()),  # noqa: E731
                                                    key=lambda x: x[1], reverse=reverse)]
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server}/ui/")
        ids = page.locator("#objects tbody tr td:first-child")
        expect(ids).to_have_count(5)

        page.click("th[data-sort=n_obs]")  # most detections first, then fewest
        expect(ids).to_have_text(by("n_obs", True))
        page.click("th[data-sort=n_obs]")
        expect(ids).to_have_text(by("n_obs", False))
        page.click("th[data-sort=last_mjd]")
        expect(ids).to_have_text(by("last_mjd", True))
        page.click("th[data-sort=prob]")
        expect(ids).to_have_text(by("leading_prob", True))

        p_sn = sorted(r["probabilities"]["SN"] for r in rows.values())
        threshold = round(p_sn[2], 3)  # three objects at or above it (rounding down keeps the third)
        page.select_option("#prob-cls", "SN")
        page.fill("#min-prob", str(threshold))
        page.press("#min-prob", "Enter")
        want = [o for o, r in rows.items() if r["probabilities"]["SN"] >= threshold]
        expect(ids).to_have_count(len(want))
        assert sorted(_column(page, "td:first-child")) == sorted(want)
        assert all(float(v) >= threshold for v in _column(page, "td.prob"))
        expect(page.locator("#prob-head")).to_have_text("p(SN)")
        leading = rows["ZTF24aab"]["leading_class"]
        page.select_option("#cls-filter", leading)
        both = [o for o in want if rows[o]["leading_class"] == leading]
        expect(ids).to_have_count(len(both))
        assert all(b == leading for b in _column(page, ".badge"))

        page.goto(f"{server}/ui/?limit=2&sort=object_id&order=asc")  # pages of two
        expect(ids).to_have_text(sorted(rows)[:2])
        expect(page.locator("#count")).to_have_text("1–2 of 5 objects")
        expect(page.locator("#prev")).to_be_disabled()
        page.click("#next")
        page.click("#next")
        expect(ids).to_have_text(sorted(rows)[4:])
        expect(page.locator("#next")).to_be_disabled()

        page.fill("#cone-ra", "00:00:12")  # RA 0.05 deg, across RA 0 from the object at 359.9
        page.fill("#cone-dec", "+12:00:00")
        page.fill("#cone-radius", "600")  # it lies 528.2 arcsec away
        page.click("#cone-go")
        expect(ids).to_have_text(["edge"])
        expect(page.locator("#objects tbody td.dist")).to_have_text("528.20")  # astropy: 528.1997
        expect(page.locator("#objects tbody td").nth(1)).to_have_attribute("title", "23:59:36.00")
        shots = os.environ.get("LCRNN_SCREENSHOT_DIR")
        if shots:
            page.screenshot(path=str(Path(shots) / "vetting-list.png"), full_page=True)

        page.click("text=edge")
        links = {k: page.locator(f"#links a[data-link={k}]") for k in ("tns", "simbad", "ned", "legacy")}
        expect(links["tns"]).to_have_attribute(
            "href", "https://www.wis-tns.org/search?ra=359.900000&decl=12.000000&radius=5&coords_unit=arcsec")
        expect(links["simbad"]).to_have_attribute(
            "href", "https://simbad.cds.unistra.fr/simbad/sim-coo?Coord=359.900000+%2B12.000000&Radius=5&Radius.unit=arcsec")
        assert links["ned"].get_attribute("href").startswith("https://ned.ipac.caltech.edu/conesearch?")
        assert "ra=359.900000d&dec=%2B12.000000d&radius=0.0833" in links["ned"].get_attribute("href")
        assert links["legacy"].get_attribute("href").startswith(
            "https://www.legacysurvey.org/viewer?ra=359.900000&dec=12.000000&layer=ls-dr10&zoom=16")

        expect(page.locator("#lc-svg path.upper-limit")).to_have_count(2)
        points = page.locator("#prob-svg circle.prob-point.cls-SN")
        expect(points).to_have_count(5)
        xy = [(float(c.get_attribute("data-mjd")), float(c.get_attribute("cx"))) for c in points.all()]
        (m0, x0), (m1, x1) = xy[0], xy[-1]
        for m, x in xy:  # x is linear in MJD (not in detection number)
            assert x == pytest.approx(x0 + (m - m0) * (x1 - x0) / (m1 - m0), abs=0.05)
        expect(page.locator("#prob-svg .x-label")).to_have_text("MJD")
        box = page.locator("#prob-svg").bounding_box()
        page.mouse.move(box["x"] + box["width"] * (50 + x1) / 560, box["y"] + box["height"] / 2)
        expect(page.locator("#prob-svg text.readout")).to_contain_text("MJD 59041.000")
        if shots:
            page.screenshot(path=str(Path(shots) / "vetting-object.png"), full_page=True)
        browser.close()
    assert not errors, errors
