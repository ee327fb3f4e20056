"""Alerts per second through ``lcrnn stream``: Kafka (a local tansu broker) into a durable PostgreSQL store.

Simulates a GOTO-like survey (``--objects`` objects, every detection one ZTF-style Avro alert carrying 30 days
of history, keyed by object on a ``--partitions``-partition topic), trains a model of the paper's size
(GRU, hidden 150, dense 200; one epoch: its speed, not its skill, is measured) on r-band copies of the light
curves, publishes every alert to the broker first, and then times 1 and 2 ``lcrnn stream`` worker processes
of one consumer group catching up with that backlog into a fresh PostgreSQL store (one transaction per poll
of up to ``--batch-size`` alerts, offsets committed after it). The rate is alerts stored per second, from the
first to the last stored (the store's row count polled every 0.2 s), so start-up and group joining are left
out. Then 2 workers again, one killed with ``kill -9`` at ~40% of the stream: alerts lost must be 0 (every
alert's detection stored exactly once, by alert id).

    python benchmarks/stream_throughput.py                                  # 2,000 objects, ~24,000 alerts
    python benchmarks/stream_throughput.py --objects 500 --db postgresql+psycopg://user@host/db
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import fastavro
import sqlalchemy as sa

from lcrnn.classifier import Classifier
from lcrnn.data.simulate import SimulationConfig, simulate_survey
from lcrnn.serve.store import StateStore
from lcrnn.serve.stream.local_broker import LocalBroker
from lcrnn.serve.stream.packets import AlertSchema
from lcrnn.serve.stream.replay import alert_packets, encode_alert

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_results  # noqa: E402 - the benchmarks' own helper, beside this script

ROOT = Path(__file__).resolve().parents[1]
ZTF_ALERT = ROOT / "tests" / "data" / "ztf" / "472263571115115000.avro"  # its header holds ZTF's schema 3.3
RUBIN_PER_S = 10_000 / 39  # ~10,000 alerts per 39-s visit
FINK_PER_CORE = 50  # a Fink science module, alerts/s per core


def prepare(n_objects: int, folder: Path) -> tuple[Path, Path, list[tuple[bytes, bytes]], list[str]]:
    """A simulated survey in r, a model of the paper's size trained on it, and every alert as a message."""
    survey = simulate_survey(SimulationConfig(n_objects=n_objects, seed=1,
                                              class_fractions={"VS": 0.6, "SN": 0.2, "AGN": 0.2}))
    photometry = survey.photometry.assign(band="r")
    clf = Classifier(rnn="gru", epochs=1, device="cpu", progress=False).fit(photometry, survey.objects,
                                                                            survey.galaxies)
    run = clf.save(folder / "gru-r")
    galaxies = folder / "galaxies.parquet"
    survey.galaxies.to_parquet(galaxies)
    with ZTF_ALERT.open("rb") as handle:
        schema = AlertSchema(fastavro.reader(handle).writer_schema)
    packets = list(alert_packets(photometry, survey.objects, schema))
    messages = [(p["objectId"].encode(), encode_alert(p, schema)) for p in packets]
    return run, galaxies, messages, [str(p["candid"]) for p in packets]


def publish(broker: LocalBroker, topic: str, partitions: int, messages: list[tuple[bytes, bytes]]) -> None:
    from confluent_kafka import Producer

    broker.create_topic(topic, partitions)
    broker.create_topic(f"{topic}.out", partitions)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 20})
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(60) == 0


def fresh_schema(db: str) -> str:
    """A PostgreSQL schema of its own for one run; the URL that uses it."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {name}")
    engine.dispose()
    return f"{db}?options=-csearch_path%3D{name}"


def drop_schema(url: str) -> None:
    engine = sa.create_engine(url.split("?")[0])
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {url.rsplit('%3D', 1)[1]} CASCADE")
    engine.dispose()


def run_workers(args: argparse.Namespace, broker: LocalBroker, topic: str, run: Path, galaxies: Path,
                candids: list[str], workers: int, kill_at: float | None, logs: Path) -> dict:
    """``workers`` stream processes of a new group on ``topic``; the stored rate, and what was lost."""
    url = fresh_schema(args.db)
    group = f"bench-{uuid.uuid4().hex[:6]}"
    command = [sys.executable, "-m", "lcrnn.cli", "stream", "--bootstrap-servers", broker.bootstrap_servers,
               "--topic", topic, "--group", group, "--model", str(run), "--db", url, "--galaxies", str(galaxies),
               "--output-topic", f"{topic}.out", "--batch-size", str(args.batch_size), "--stop-when-idle", "20",
               "--log-every", "2", "--kafka", "session.timeout.ms=6000", "--kafka", "heartbeat.interval.ms=1000"]
    # --stop-when-idle well past the 6-s session timeout: after a kill -9 the survivor waits that long, idle,
    # before the group gives it the dead worker's partitions, and must not stop in the meantime.
    StateStore(url).close()  # the tables, before the workers race to create them
    procs = [subprocess.Popen(command, stdout=(logs / f"w{workers}-{k}-{kill_at}.log").open("w"),
                              stderr=subprocess.STDOUT) for k in range(workers)]
    store = StateStore(url)
    total, first, samples, killed = len(candids), None, [], None
    cpu = {p.pid: 0.0 for p in procs}  # each worker's CPU seconds, last seen (a killed one keeps its last)
    cpu_first = db_first = 0.0  # at the first stored batch: start-up (imports, model, joining) left out
    deadline = time.monotonic() + args.timeout
    try:
        while time.monotonic() < deadline:
            cpu.update(worker_cpu(procs))
            n = store.counts()["observations"]
            now = time.monotonic()
            if n and first is None:
                first = (now, n)
                cpu_first, db_first = sum(cpu.values()), postgres_cpu()
            samples.append((now, n))
            if kill_at is not None and killed is None and n >= kill_at * total:
                os.kill(procs[0].pid, signal.SIGKILL)
                killed = n
            if n >= total:
                break
            time.sleep(0.2)
        (t0, n0), (t1, n1) = first, samples[-1]
        db_cpu = postgres_cpu() - db_first
        cpu.update(worker_cpu(procs))
        work_cpu = sum(cpu.values()) - cpu_first
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)
        with store.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(sa.select(store.observations.c.alert_id))]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        store.close()
        drop_schema(url)
    return {"workers": workers, "alerts": total, "stored": len(ids), "distinct": len(set(ids)),
            "lost": len(set(candids) - set(ids)), "seconds": round(t1 - t0, 2),
            "alerts_per_s": round((n1 - n0) / (t1 - t0), 1) if t1 > t0 else None,
            "killed_at": killed, "exit_codes": [p.returncode for p in procs],
            "worker_cpu_s": round(work_cpu, 2), "postgres_cpu_s": round(db_cpu, 2),
            "alerts_per_cpu_s": round((n1 - n0) / (work_cpu + db_cpu), 1)}


def worker_cpu(procs: list[subprocess.Popen]) -> dict[int, float]:
    """CPU seconds (user + system) of the live workers so far."""
    import psutil

    out = {}
    for proc in procs:
        try:
            t = psutil.Process(proc.pid).cpu_times()
            out[proc.pid] = t.user + t.system
        except psutil.Error:  # gone (killed): its last sample stands
            pass
    return out


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this machine (others' queries count too: a ceiling)."""
    import psutil

    total = 0.0
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] and proc.info["name"].startswith("postgres"):
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--db", default=os.environ.get("LCRNN_TEST_POSTGRES_URL",
                                                      "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "stream_throughput.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LocalBroker() as broker:
        folder = Path(tmp)
        start = time.perf_counter()
        run, galaxies, messages, candids = prepare(args.objects, folder)
        print(f"{len(messages)} alerts of {args.objects} objects prepared in {time.perf_counter() - start:.0f} s "
              f"({sum(len(v) for _, v in messages) / len(messages) / 1e3:.1f} kB each)")
        rows = []
        for workers, kill_at in ((1, None), (2, None), (2, 0.4)):
            topic = f"alerts-{uuid.uuid4().hex[:6]}"  # a fresh backlog for each run
            publish(broker, topic, args.partitions, messages)
            row = run_workers(args, broker, topic, run, galaxies, candids, workers, kill_at, folder)
            rows.append(row)
            print(json.dumps(row))
        print("\n| workers | kill -9 | alerts | stored (distinct) | lost | alerts/s (wall) | vs Rubin ~256/s | "
              "CPU s: workers + PostgreSQL | alerts per CPU-second |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            rate = r["alerts_per_s"] or 0
            print(f"| {r['workers']} | {'at ' + str(r['killed_at']) if r['killed_at'] else 'no'} | {r['alerts']} | "
                  f"{r['stored']} ({r['distinct']}) | {r['lost']} | {rate:.0f} | {rate / RUBIN_PER_S:.1f}x | "
                  f"{r['worker_cpu_s']:.1f} + {r['postgres_cpu_s']:.1f} | {r['alerts_per_cpu_s']:.0f} |")
        print(f"Fink science module: ~{FINK_PER_CORE} alerts/s per core. Load average: {os.getloadavg()}")
    write_results(args.out, args, rows)


if __name__ == "__main__":
    main()
