"""The web page in headless Chromium, against a real `lcrnn serve` process on a free localhost port."""

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
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"lcrnn serve exited early:\n{proc.stdout.read()}")
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
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server}/")
            rows = page.locator("#objects tbody tr")
            expect(rows).to_have_count(3)
            expect(page.locator("#objects tbody tr[data-object='SN-like'] td").nth(3)).to_have_text("6")
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
