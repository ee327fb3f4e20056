"""The vetting list (``GET /objects``) on a large store: milliseconds per page of each kind of query.

Fills a store with ``--objects`` objects straight through SQL (random positions uniform on the sphere, 0-59
detections, Dirichlet probabilities over VS/SN/AGN; objects without detection have no probabilities or dates,
as in a real store), then times each query of :func:`lcrnn.serve.store.search.search_objects` -- one page of
50 and the total -- best of three. A filled store is reused on a second run with the same URL and prefix.

    python benchmarks/vetting_list.py                                            # SQLite, 100,000 objects
    python benchmarks/vetting_list.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test

On PostgreSQL run ``VACUUM ANALYZE`` on the two tables after the first fill (autovacuum would, later): the
counts are index-only scans only once the visibility map is set.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from lcrnn.serve.store import StateStore
from lcrnn.serve.store.database import read_connection
from lcrnn.serve.store.search import Cone, ObjectQuery, search_objects

CLASSES = ("VS", "SN", "AGN")
CASES = {
    "newest first (default)": ObjectQuery(),
    "last detection, newest first": ObjectQuery(sort="last_mjd"),
    "last detection, oldest first, page 1801": ObjectQuery(sort="last_mjd", descending=False, offset=90_000),
    "most detections": ObjectQuery(sort="n_obs"),
    "leading probability": ObjectQuery(sort="prob"),
    "p(SN), highest first": ObjectQuery(sort="prob", prob_cls="SN"),
    "p(SN) >= 0.8, newest detection first": ObjectQuery(sort="last_mjd", prob_cls="SN", min_prob=0.8),
    "leading SN >= 0.7, >= 10 detections": ObjectQuery(sort="prob", cls="SN", min_prob=0.7, min_n_obs=10),
    "id prefix ZTF0009": ObjectQuery(id_prefix="ZTF0009"),
    "exact id": ObjectQuery(object_id="ZTF00001234"),
    "cone 60\" at RA 0.05, Dec 10": ObjectQuery(cone=Cone(0.05, 10.0, 60.0)),
    "cone 1 deg at Dec 89.9": ObjectQuery(cone=Cone(10.0, 89.9, 3600.0)),
    "cone 5 deg, nearest first": ObjectQuery(cone=Cone(200.0, -30.0, 18000.0), sort="distance", descending=False),
}


def fill(store: StateStore, n: int, seed: int) -> None:
    """``n`` objects and their per-class probabilities, inserted directly (no model)."""
    rng = np.random.default_rng(seed)
    objects, probabilities, now = [], [], time.time()
    for i in range(n):
        p = rng.dirichlet([1, 1, 1])
        n_obs = int(rng.integers(0, 60))
        first = 58000 + rng.uniform(0, 1000) if n_obs else None
        oid = f"ZTF{i:08d}"
        objects.append({
            "object_id": oid, "ra": float(rng.uniform(0, 360)), "dec": float(np.degrees(np.arcsin(rng.uniform(-1, 1)))),
            "gal_l": 0.0, "gal_b": 0.0, "galaxy_dist_arcsec": 10.0, "n_obs": n_obs, "first_mjd": first,
            "last_mjd": first + rng.uniform(0, 300) if n_obs else None, "state": bytes(600),
            "probabilities": dict(zip(CLASSES, map(float, p))) if n_obs else None,
            "leading_class": CLASSES[int(p.argmax())] if n_obs else None,
            "leading_prob": float(p.max()) if n_obs else None, "created_at": now, "updated_at": now + i,
        })
        if n_obs:
            probabilities += [{"object_id": oid, "cls": c, "prob": float(q)} for c, q in zip(CLASSES, p)]
    with store.engine.begin() as conn:
        for start in range(0, n, 5000):
            conn.execute(sa.insert(store.objects), objects[start:start + 5000])
        for start in range(0, len(probabilities), 15000):
            conn.execute(sa.insert(store.probabilities), probabilities[start:start + 15000])
        conn.exec_driver_sql("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=None, help="store URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--prefix", default="vetbench_")
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = StateStore(args.db or f"sqlite:///{Path(tmp) / 'vetting.db'}", prefix=args.prefix)
        with store.engine.connect() as conn:
            have = conn.execute(sa.select(sa.func.count()).select_from(store.objects)).scalar_one()
        if have < args.objects:
            t0 = time.perf_counter()
            fill(store, args.objects, args.seed)
            print(f"filled {args.objects:,} objects in {time.perf_counter() - t0:.0f} s")
        print(f"{'query (one page of 50 and the total)':42s} {'ms':>7s} {'total':>8s}")
        for name, query in CASES.items():
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                with read_connection(store.engine) as conn:
                    _rows, total = search_objects(conn, store.tables, query)
                best = min(best, time.perf_counter() - t0)
            print(f"{name:42s} {best * 1e3:7.1f} {total:8d}")
        store.close()


if __name__ == "__main__":
    main()
