"""GET /objects and /conesearch as the vetting page uses them: sorts, filters, id and cone search, pages, 422s.

On SQLite and PostgreSQL.

Expected orders and sets are computed here, in Python, from the rows the service returns unsorted; cone
searches are checked against astropy's angular separation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from astropy import units as u
from astropy.coordinates import SkyCoord
from fastapi.testclient import TestClient

from lcrnn.serve.app import ServeConfig, create_app
from lcrnn.serve.store import StateStore

TOKEN = "vetting-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Positions that test the sphere: both sides of RA 0/360, near the north pole, and ordinary ones.
POSITIONS = {
    "near359": (359.9, 0.0), "near0": (0.02, 0.0), "pole": (10.0, 89.9), "pole_far": (190.0, 89.0),
    "mid": (150.0, 2.0), "south": (30.0, -45.0), "Case_1": (80.0, 10.0), "case_1": (80.5, 10.0),
    "C%se": (81.0, 10.0), "quiet": (200.0, 20.0),  # quiet: never detected (no probabilities, no dates)
}


@pytest.fixture
def listed(backend_url, tmp_path, monkeypatch, incremental_factory):
    """A served store holding POSITIONS with 1-6 detections each (``quiet`` none), and every row (unsorted)."""
    url, prefix = backend_url
    monkeypatch.setenv("LCRNN_API_TOKEN", TOKEN)
    inc, *_ = incremental_factory("gru")
    config = ServeConfig(db_url=url, db_prefix=prefix, allow_missing_catalogue=True)
    with TestClient(create_app(config, model=inc)) as client:
        for i, (oid, (ra, dec)) in enumerate(POSITIONS.items()):
            assert client.post("/objects", json={"object_id": oid, "ra": ra, "dec": dec}, headers=AUTH).status_code == 201
            n = 0 if oid == "quiet" else 1 + (i * 7) % 6
            obs = [{"object_id": oid, "mjd": 59000.0 + 3 * i + 2.5 * k, "mag": 17.0 + 0.3 * ((i + k) % 4),
                    "mag_err": 0.05} for k in range(n)]
            if obs:
                client.post("/observations", json=obs, headers=AUTH).raise_for_status()
        rows = client.get("/objects", params={"limit": 1000}).json()
        assert len(rows) == len(POSITIONS)
        yield client, {r["object_id"]: r for r in rows}


def ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [r["object_id"] for r in resp.json()]


def expected_order(rows: dict, value, descending: bool) -> list[str]:
    """Objects with a value sorted by (value, id), in the direction asked; those without after, by id."""
    valued = sorted((r for r in rows.values() if value(r) is not None), key=lambda r: (value(r), r["object_id"]),
                    reverse=descending)
    rest = sorted((r for r in rows.values() if value(r) is None), key=lambda r: r["object_id"], reverse=descending)
    return [r["object_id"] for r in valued + rest]


SORTS = [
    ({"sort": "last_mjd"}, lambda r: r["last_mjd"]),
    ({"sort": "first_mjd"}, lambda r: r["first_mjd"]),
    ({"sort": "n_obs"}, lambda r: r["n_obs"]),
    ({"sort": "prob"}, lambda r: r["leading_prob"]),
    ({"sort": "prob", "prob_cls": "SN"}, lambda r: r["probabilities"].get("SN")),
]


def test_sorted_by_each_key_in_both_orders_never_detected_last(listed):
    client, rows = listed
    for params, value in SORTS:
        for order in ("asc", "desc"):
            got = client.get("/objects", params={**params, "order": order, "limit": 1000})
            assert ids(got) == expected_order(rows, value, order == "desc"), (params, order)
            if params["sort"] != "n_obs":
                assert got.json()[-1]["object_id"] == "quiet"
            if params.get("prob_cls"):
                assert all(r["prob"] == r["probabilities"].get("SN") for r in got.json())


def test_filters_by_leading_class_probability_and_detections_with_the_total(listed):
    client, rows = listed
    sn = sorted(r["probabilities"]["SN"] for r in rows.values() if r["probabilities"])
    threshold = sn[len(sn) // 2]  # about half the detected objects
    got = client.get("/objects", params={"prob_cls": "SN", "min_prob": threshold, "min_n_obs": 3, "limit": 1000})
    want = {o for o, r in rows.items() if r["probabilities"].get("SN", -1) >= threshold and r["n_obs"] >= 3}
    assert set(ids(got)) == want and 0 < len(want) < len(rows)
    assert got.headers["X-Total-Count"] == str(len(want))
    leading = rows["mid"]["leading_class"]
    got = client.get("/objects", params={"cls": leading, "min_prob": 0.0, "limit": 1000})
    assert set(ids(got)) == {o for o, r in rows.items() if r["leading_class"] == leading}


def test_id_search_is_exact_or_a_case_sensitive_literal_prefix(listed):
    client, _rows = listed
    assert ids(client.get("/objects", params={"object_id": "case_1"})) == ["case_1"]
    assert ids(client.get("/objects", params={"object_id": "case"})) == []
    assert ids(client.get("/objects", params={"id_prefix": "Ca", "sort": "object_id", "order": "asc"})) == ["Case_1"]
    # '%' and '_' are characters, not wildcards
    assert ids(client.get("/objects", params={"id_prefix": "C%"})) == ["C%se"]
    assert ids(client.get("/objects", params={"id_prefix": "C_"})) == []
    assert sorted(ids(client.get("/objects", params={"id_prefix": "near"}))) == ["near0", "near359"]


CONES = [  # (ra, dec, radius, found)
    (0.05, 0.0, 600.0, {"near359", "near0"}),  # across RA 0/360: 540" and 108" away
    (0.05, 0.0, 500.0, {"near0"}),
    (359.95, 0.0, 300.0, {"near359", "near0"}),  # from the other side: 180" and 252"
    (190.0, 89.95, 600.0, {"pole"}),  # over the pole: 0.15 deg = 540"
    (190.0, 89.95, 500.0, set()),
    (100.0, 90.0, 3700.0, {"pole", "pole_far"}),  # centred on the pole: 360" and 3600"
    (80.25, 10.0, 900.0, {"Case_1", "case_1"}),  # 886.3" each at dec 10, where 1 deg of RA is 0.985 deg
    (80.25, 10.0, 880.0, set()),
]


def test_cone_search_on_the_sphere(listed):
    client, rows = listed
    for ra, dec, radius, found in CONES:
        check_cone(client, rows, ra, dec, radius, found)
    # the list's filters and orders apply within a cone too
    within = {"ra": 0.05, "dec": 0.0, "radius": 600.0}
    assert ids(client.get("/conesearch", params={**within, "sort": "object_id"})) == ["near0", "near359"]
    n_obs = {o: rows[o]["n_obs"] for o in ("near0", "near359")}
    most = max(n_obs, key=n_obs.get)
    got = client.get("/conesearch", params={**within, "min_n_obs": n_obs[most]})
    assert ids(got) == [o for o in ("near0", "near359") if n_obs[o] >= n_obs[most]]
    assert got.headers["X-Total-Count"] == str(len(ids(got)))


def test_cones_of_subnormal_size_are_answered_not_500(listed):
    """schemathesis found PostgreSQL raising 'value out of range: underflow' (500) for a radius of 5e-324 arcsec
    at (0, 0): squares of sines below 1e-162 underflow there. Such cones are answered, empty or not."""
    client, _ = listed
    tiny = {"object_id": "tiny", "ra": 1e-200, "dec": 1e-200}  # a schema-valid position near (0, 0)
    assert client.post("/objects", json=tiny, headers=AUTH).status_code == 201
    denormal = {"object_id": "denormal", "ra": 5e-324, "dec": -5e-324}
    assert client.post("/objects", json=denormal, headers=AUTH).status_code == 201
    for ra, dec, radius in ((0.0, 0.0, 5e-324), (0.0, 1e-170, 1e-300), (359.999999, -1e-200, 1e-12),
                            (5e-324, 5e-324, 5e-324)):
        got = client.get("/conesearch", params={"ra": ra, "dec": dec, "radius": radius})
        assert got.status_code == 200, got.text  # found or not: separations below ~1e-95" are float noise
    near = client.get("/conesearch", params={"ra": 0.0, "dec": 0.0, "radius": 1.0, "sort": "object_id"})
    assert ids(near) == ["denormal", "tiny"]


def check_cone(client, rows, ra, dec, radius, found):
    got = client.get("/conesearch", params={"ra": ra, "dec": dec, "radius": radius})  # nearest first by default
    assert set(ids(got)) == found, (ra, dec, radius)
    centre = SkyCoord(ra * u.deg, dec * u.deg)
    seps = []
    for r in got.json():
        exact = centre.separation(SkyCoord(r["ra"] * u.deg, r["dec"] * u.deg)).arcsec
        assert r["separation_arcsec"] == pytest.approx(exact, abs=1e-6)
        seps.append(r["separation_arcsec"])
    assert seps == sorted(seps)
    # astropy agrees on what lies outside the cone too
    outside = [o for o in rows if o not in found]
    assert all(centre.separation(SkyCoord(rows[o]["ra"] * u.deg, rows[o]["dec"] * u.deg)).arcsec > radius
               for o in outside)


def test_random_cones_match_astropy(backend_url, tmp_path, monkeypatch, incremental_factory):
    """Many objects near RA 0 and the poles; every cone's answer is the brute-force one."""
    url, prefix = backend_url
    monkeypatch.setenv("LCRNN_API_TOKEN", TOKEN)
    rng = np.random.default_rng(3)
    ra = np.concatenate([rng.uniform(359.0, 360.0, 60) % 360, rng.uniform(0, 1.0, 60), rng.uniform(0, 360, 80)])
    dec = np.concatenate([rng.uniform(-2, 2, 120), 90 - rng.uniform(0, 1.5, 40), -90 + rng.uniform(0, 1.5, 40)])
    objects = pd.DataFrame({"object_id": [f"r{i:03d}" for i in range(len(ra))], "ra": ra, "dec": dec})
    inc, *_ = incremental_factory("gru")
    with TestClient(create_app(ServeConfig(db_url=url, db_prefix=prefix, allow_missing_catalogue=True),
                               model=inc)) as client:
        client.app.state.service.register(objects)
        stars = SkyCoord(ra * u.deg, dec * u.deg)
        centres = [(0.0, 0.0, 3600.0), (359.7, 1.0, 1800.0), (0.3, -1.5, 2400.0), (45.0, 89.5, 3000.0),
                   (300.0, -89.2, 5400.0), (180.0, -90.0, 2000.0), (359.99, 89.99, 2500.0)]
        for cra, cdec, radius in centres:
            want = set(objects.object_id[stars.separation(SkyCoord(cra * u.deg, cdec * u.deg)).arcsec <= radius])
            got = client.get("/conesearch", params={"ra": cra, "dec": cdec, "radius": radius, "limit": 1000})
            assert set(ids(got)) == want and want, (cra, cdec, radius)


def test_pages_partition_the_order_across_the_detected_undetected_boundary(listed):
    client, rows = listed
    for params in ({"sort": "last_mjd", "order": "desc"}, {"sort": "prob", "prob_cls": "AGN", "order": "asc"},
                   {"sort": "n_obs", "order": "asc"}):
        full = ids(client.get("/objects", params={**params, "limit": 1000}))
        for size in (1, 3, 4, len(rows)):
            pages = [client.get("/objects", params={**params, "limit": size, "offset": off})
                     for off in range(0, len(rows) + size, size)]
            assert sum((ids(p) for p in pages), []) == full
            assert all(p.headers["X-Total-Count"] == str(len(rows)) for p in pages)
        assert ids(client.get("/objects", params={**params, "offset": len(rows)})) == []
        assert ids(client.get("/objects", params={**params, "limit": 2, "offset": len(rows) - 1})) == full[-1:]


BAD = [  # (route, parameters, the one named in the 422)
    ("/objects", {"sort": "brightness"}, "sort"), ("/objects", {"order": "up"}, "order"),
    ("/objects", {"min_prob": 1.5}, "min_prob"), ("/objects", {"min_prob": "nan"}, "min_prob"),
    ("/objects", {"limit": 0}, "limit"), ("/objects", {"limit": 1001}, "limit"), ("/objects", {"offset": -1}, "offset"),
    ("/objects", {"min_n_obs": -2}, "min_n_obs"), ("/objects", {"cls": "XX"}, "cls"),
    ("/objects", {"prob_cls": "XX"}, "prob_cls"), ("/objects", {"sort": "distance"}, "sort"),  # no cone, no distance
    ("/objects", {"object_id": "a b"}, "object_id"), ("/objects", {"id_prefix": "x" * 129}, "id_prefix"),
    ("/conesearch", {"ra": 360.0, "dec": 0, "radius": 5}, "ra"), ("/conesearch", {"ra": 10.0, "dec": 91, "radius": 5}, "dec"),
    ("/conesearch", {"ra": 10.0, "dec": 0, "radius": 0}, "radius"), ("/conesearch", {"ra": 10.0, "dec": 0}, "radius"),
    ("/conesearch", {"dec": 0.0, "radius": 5}, "ra"), ("/conesearch", {"ra": 1.0, "dec": 0, "radius": 5, "cls": "XX"}, "cls"),
]


def test_bad_parameters_get_422_naming_them(listed):
    client, _rows = listed
    for route, params, field in BAD:
        resp = client.get(route, params=params)
        assert resp.status_code == 422, (route, params, resp.text)
        assert any(err["loc"] == ["query", field] for err in resp.json()["detail"]), resp.json()


def test_a_store_made_before_the_indexes_gains_them_when_opened(backend_url):
    url, prefix = backend_url
    store = StateStore(url, prefix=prefix)
    new = {ix.name for ix in store.objects.indexes} - {f"{prefix}ix_objects_updated"}
    with store.engine.begin() as conn:
        for name in new:
            conn.execute(sa.text(f"DROP INDEX {name}"))
    assert not new & {ix["name"] for ix in sa.inspect(store.engine).get_indexes(store.objects.name)}
    store.close()
    reopened = StateStore(url, prefix=prefix)
    assert new <= {ix["name"] for ix in sa.inspect(reopened.engine).get_indexes(reopened.objects.name)}
    reopened.close()
