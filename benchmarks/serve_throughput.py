"""Real-time classification throughput: incremental updates vs re-running the batch model at each update.

Simulates a survey stream: ``--objects`` objects and ``--observations`` detections in total, arriving in time
order (with ``--late`` of them delayed, which forces state rebuilds), and feeds it

* **direct**: into the state store (``StateStore.add_observations``, SQLite by default) in batches of
  ``--batch`` observations, then ``--single`` more one at a time;
* **http**: the same through ``POST /observations`` of a real uvicorn server on localhost;
* **model only**: through the network alone, incremental (one recurrent step per update) against re-running
  the batch model on each updated object's whole light curve (the naive real-time classifier).

Prints updates per second and p50/p99 latency per call (a batch call acknowledges all its observations at
once), then the stored counts, which must equal what was sent (nothing lost).

    python benchmarks/serve_throughput.py                        # 100,000 observations of 10,000 objects
    python benchmarks/serve_throughput.py --objects 1000 --observations 10000 --single 200
    python benchmarks/serve_throughput.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lcrnn.data.context import compute_context
from lcrnn.model.config import NetworkConfig
from lcrnn.model.network import MixedInputRNN
from lcrnn.serve.incremental import IncrementalClassifier, ObjectState, Photometry
from lcrnn.serve.store import StateStore

CLASSES = ("VS", "SN", "AGN")
# Plausible feature statistics (days since first point, mag, mag_err; l, b, galaxy distance).
SCALER = {
    "mean": [60.0, 18.0, 0.08],
    "std": [80.0, 1.5, 0.05],
    "context_mean": [150.0, 10.0, 90.0],
    "context_std": [100.0, 40.0, 40.0],
}


def simulate_stream(n_objects: int, n_obs: int, late: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Objects on the sky and their detections, in arrival order (time order, a fraction delayed)."""
    rng = np.random.default_rng(seed)
    objects = pd.DataFrame(
        {
            "object_id": [f"obj{i:06d}" for i in range(n_objects)],
            "ra": rng.uniform(0, 360, n_objects),
            "dec": np.degrees(np.arcsin(rng.uniform(-0.3, 1.0, n_objects))),
        }
    )
    counts = rng.multinomial(n_obs - n_objects, np.full(n_objects, 1 / n_objects)) + 1  # >= 1 each
    owner = np.repeat(np.arange(n_objects), counts)
    start = rng.uniform(0, 400, n_objects)
    gaps = rng.exponential(11.0, n_obs) + 0.02  # paper: median ~11 days between points
    first = np.r_[0, np.cumsum(counts)[:-1]]
    t = np.cumsum(gaps)
    t = t - np.repeat(t[first], counts) + np.repeat(start, counts)  # per-object cumulative times
    obs = pd.DataFrame(
        {
            "object_id": objects.object_id.to_numpy()[owner],
            "mjd": 59000.0 + t,
            "mag": rng.normal(18.5, 1.2, n_obs),
            "mag_err": rng.uniform(0.01, 0.2, n_obs),
            "band": "L",
        }
    )
    arrival = obs.mjd.to_numpy().copy()
    delayed = rng.random(n_obs) < late
    arrival[delayed] += rng.uniform(5, 60, delayed.sum())  # reported days late
    return objects, obs.iloc[np.argsort(arrival, kind="stable")].reset_index(drop=True)


def pct(latencies: list[float]) -> tuple[float, float]:
    a = np.asarray(latencies) * 1e3
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def row(name: str, n_updates: int, seconds: float, latencies: list[float], calls: str) -> None:
    p50, p99 = pct(latencies)
    print(f"{name:<44} {calls:>10} {n_updates:>9,d} {n_updates / seconds:>11,.0f} {p50:>9.2f} {p99:>9.2f}")


def feed_direct(
    store: StateStore, model: IncrementalClassifier, batches: list[pd.DataFrame], singles: pd.DataFrame
) -> None:
    lat, t0 = [], time.perf_counter()
    rebuilt = 0
    for b in batches:
        s = time.perf_counter()
        rebuilt += store.add_observations(b, model).rebuilt
        lat.append(time.perf_counter() - s)
    n = sum(len(b) for b in batches)
    row(
        f"direct store, batches ({rebuilt} rebuilds)",
        n,
        time.perf_counter() - t0,
        lat,
        f"{len(batches)} x {len(batches[0])}",
    )
    lat, t0 = [], time.perf_counter()
    for r in singles.to_dict("records"):
        s = time.perf_counter()
        store.add_observations([r], model)
        lat.append(time.perf_counter() - s)
    row(
        "direct store, one observation per call",
        len(singles),
        time.perf_counter() - t0,
        lat,
        f"{len(singles)} x 1",
    )


def feed_http(
    url: str, prefix: str, model: IncrementalClassifier, batches: list[pd.DataFrame], singles: pd.DataFrame
) -> dict:
    import httpx
    import uvicorn

    from lcrnn.serve.app import ServeConfig, create_app

    os.environ["LCRNN_API_TOKEN"] = token = uuid.uuid4().hex
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(
        ServeConfig(db_url=url, db_prefix=prefix, max_body_bytes=50_000_000, max_batch=100_000,
                    allow_missing_catalogue=True),  # throughput only: the dummy distance is as fast
        model=model,
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    headers = {"Authorization": f"Bearer {token}"}
    cols = ["object_id", "mjd", "mag", "mag_err", "band"]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=300) as client:
        lat, t0 = [], time.perf_counter()
        for b in batches:
            body = b[cols].to_dict("records")
            s = time.perf_counter()
            client.post("/observations", json=body).raise_for_status()
            lat.append(time.perf_counter() - s)
        n = sum(len(b) for b in batches)
        row(
            "HTTP POST /observations, batches",
            n,
            time.perf_counter() - t0,
            lat,
            f"{len(batches)} x {len(batches[0])}",
        )
        lat, t0 = [], time.perf_counter()
        for r in singles[cols].to_dict("records"):
            s = time.perf_counter()
            client.post("/observations", json=[r]).raise_for_status()
            lat.append(time.perf_counter() - s)
        row(
            "HTTP POST /observations, one per request",
            len(singles),
            time.perf_counter() - t0,
            lat,
            f"{len(singles)} x 1",
        )
        health = client.get("/healthz").json()
    server.should_exit = True
    thread.join(timeout=30)
    return health


def model_only(
    model: IncrementalClassifier,
    context: dict[str, np.ndarray],
    batches: list[pd.DataFrame],
    singles: pd.DataFrame,
) -> None:
    """Network cost alone: one step per update vs the batch model over each light curve so far."""
    net = model.network
    # Incremental, batched: states kept in memory (late arrivals rebuild from the in-memory history).
    states: dict[str, ObjectState] = {}
    seen: dict[str, list[tuple[float, float, float]]] = {}
    lat = []
    for b in batches:
        # Bookkeeping a store would do (grouping, fetching states and stored photometry) is not timed here.
        ids, cur, new, full = [], [], [], []
        for oid, g in b.groupby("object_id", sort=False):
            st = states.get(oid) or ObjectState(context=context[oid])
            ph = Photometry.of(g.mjd, g.mag, g.mag_err)
            hist = seen.setdefault(oid, [])
            hist.extend(zip(g.mjd, g.mag, g.mag_err))
            ids.append(oid)
            cur.append(st)
            new.append(ph)
            full.append(Photometry.of(*zip(*hist)) if model.needs_rebuild(st, ph) else None)
        s = time.perf_counter()
        updates = model.update_many(cur, new, full)
        lat.append(time.perf_counter() - s)
        for oid, u in zip(ids, updates):
            states[oid] = u.state
    n = sum(len(b) for b in batches)
    row(
        "model only: incremental step, batches",
        n,
        sum(lat),
        lat,
        f"{len(batches)} x {len(batches[0])}",
    )

    def rerun(oids: list[str]) -> None:
        """The naive way: the batch model on each object's first max_len observations, from scratch."""
        curves = [sorted(seen[o])[: model.max_len] for o in oids]
        lengths = torch.tensor([len(c) for c in curves])
        values = np.zeros((len(oids), int(lengths.max()), 3), np.float32)
        for i, c in enumerate(curves):
            a = np.asarray(c)
            values[i, : len(c)] = np.c_[a[:, 0] - a[0, 0], a[:, 1], a[:, 2]]
        x = ((values - np.asarray(SCALER["mean"])) / np.asarray(SCALER["std"])).astype(np.float32)
        ctx = np.stack([context[o] for o in oids])
        ctx = ((ctx - np.asarray(SCALER["context_mean"])) / np.asarray(SCALER["context_std"])).astype(
            np.float32
        )
        with torch.inference_mode():
            torch.softmax(net(torch.from_numpy(x), lengths, torch.from_numpy(ctx)), dim=1)

    seen.clear()
    lat = []
    mean_len = []
    for b in batches:
        for oid, m, mag, err in zip(b.object_id, b.mjd, b.mag, b.mag_err):
            seen.setdefault(oid, []).append((m, mag, err))
        oids = list(dict.fromkeys(b.object_id))
        mean_len.append(np.mean([min(len(seen[o]), model.max_len) for o in oids]))
        s = time.perf_counter()
        rerun(oids)
        lat.append(time.perf_counter() - s)
    row(
        f"model only: batch re-run (mean length {np.mean(mean_len):.1f})",
        n,
        sum(lat),
        lat,
        f"{len(batches)} x {len(batches[0])}",
    )

    lat_inc, lat_re = [], []
    for r in singles.itertuples(index=False):
        st = states.get(r.object_id) or ObjectState(context=context[r.object_id])
        ph = Photometry.of([r.mjd], [r.mag], [r.mag_err])
        seen.setdefault(r.object_id, []).append((r.mjd, r.mag, r.mag_err))
        full = Photometry.of(*zip(*seen[r.object_id])) if model.needs_rebuild(st, ph) else None
        s = time.perf_counter()
        [u] = model.update_many([st], [ph], [full])
        lat_inc.append(time.perf_counter() - s)
        states[r.object_id] = u.state
        s = time.perf_counter()
        rerun([r.object_id])
        lat_re.append(time.perf_counter() - s)
    row(
        "model only: incremental step, one per call",
        len(singles),
        sum(lat_inc),
        lat_inc,
        f"{len(singles)} x 1",
    )
    row(
        "model only: batch model re-run, one per call",
        len(singles),
        sum(lat_re),
        lat_re,
        f"{len(singles)} x 1",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000, help="observations per batched call")
    parser.add_argument("--single", type=int, default=2000, help="of them, sent one per call at the end")
    parser.add_argument("--late", type=float, default=0.01, help="fraction of detections that arrive late")
    parser.add_argument("--db", default=None, help="store URL (default: SQLite files in a temporary folder)")
    parser.add_argument("--rnn", default="gru", choices=["gru", "lstm"])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    torch.manual_seed(args.seed)
    net = MixedInputRNN(NetworkConfig(rnn=args.rnn), n_classes=3).eval()  # the paper's size: 150 / 200
    model = IncrementalClassifier(net, SCALER, CLASSES)
    objects, stream = simulate_stream(args.objects, args.observations, args.late, args.seed)
    registered = objects.merge(compute_context(objects))
    context = {
        r.object_id: np.array([r.gal_l, r.gal_b, r.galaxy_dist_arcsec], np.float32)
        for r in registered.itertuples()
    }
    n_batched = len(stream) - args.single
    batches = [stream.iloc[i : min(i + args.batch, n_batched)] for i in range(0, n_batched, args.batch)]
    singles = stream.iloc[n_batched:]

    print(
        f"{args.observations:,} observations of {args.objects:,} objects ({args.rnn.upper()} 150/200, "
        f"{args.late:.0%} late, torch threads {args.threads}); latency per call"
    )
    header = f"{'path':<44} {'calls':>10} {'updates':>9} {'updates/s':>11} {'p50 ms':>9} {'p99 ms':>9}"
    print(header)
    print("-" * len(header))
    tmp = tempfile.TemporaryDirectory()
    totals = {}
    for kind in ["direct"] + ([] if args.no_http else ["http"]):
        url = args.db or f"sqlite:///{Path(tmp.name) / f'{kind}.db'}"
        prefix = f"bench{uuid.uuid4().hex[:6]}_"
        store = StateStore(url, prefix=prefix)
        store.bind_model(model.describe())
        store.register_objects(registered)
        if kind == "direct":
            feed_direct(store, model, batches, singles)
        else:
            feed_http(url, prefix, model, batches, singles)
        counts = store.counts()
        with store.engine.connect() as conn:
            import sqlalchemy as sa

            n_obs_sum = conn.execute(sa.select(sa.func.sum(store.objects.c.n_obs))).scalar_one()
        totals[kind] = (counts["observations"], int(n_obs_sum), counts["history"])
        if args.db:
            store.drop_all()
        store.close()
    model_only(model, context, batches, singles)
    print()
    for kind, (stored, n_obs, hist) in totals.items():
        lost = len(stream) - stored
        print(
            f"{kind}: sent {len(stream):,}, stored {stored:,}, objects' n_obs sum {n_obs:,}, history rows {hist:,}: "
            f"lost {lost}"
        )
    tmp.cleanup()


if __name__ == "__main__":
    main()
