"""The state store: same answers as the batch model, nothing lost under concurrency or kill -9, no repeats.

Every test runs against SQLite and against a real PostgreSQL server (LCRNN_TEST_POSTGRES_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/test); the PostgreSQL runs are skipped when it is unreachable.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from lcrnn.data.context import compute_context
from lcrnn.errors import InvalidLightCurveError
from lcrnn.serve.incremental import ModelMismatchError
from lcrnn.serve.store import ObjectConflictError, StateStore, UnknownObjectError

@pytest.fixture
def store_url(backend_url):
    """(url, prefix) of an empty store, on SQLite and on PostgreSQL (see conftest's ``backend_url``)."""
    return backend_url


@pytest.fixture
def setup(store_url, incremental_factory):
    """A store with the six test objects registered, and the model and data behind it."""
    url, prefix = store_url
    inc, scaler, photometry, objects = incremental_factory("gru")
    store = StateStore(url, prefix=prefix)
    store.bind_model(inc.describe())
    store.register_objects(objects.merge(compute_context(objects)))
    yield store, inc, scaler, photometry, objects
    store.close()


def test_shuffled_batches_with_repeats_end_equal_to_batch_model(setup, batch_reference):
    store, inc, scaler, photometry, objects = setup
    rng = np.random.default_rng(1)
    order = rng.permutation(len(photometry))
    sent, n_accepted, n_rebuilt = 0, 0, 0
    while sent < len(order):
        size = int(rng.integers(1, 40))
        batch = photometry.iloc[order[sent : sent + size]]
        again = photometry.iloc[order[max(0, sent - 3) : sent]]  # re-send a few: must be ignored
        result = store.add_observations(pd.concat([batch, again]), inc)
        assert result.duplicates == len(again)
        n_accepted += result.accepted
        n_rebuilt += result.rebuilt
        sent += size
    assert n_accepted == len(photometry) and n_rebuilt > 0
    want = batch_reference(inc, scaler, photometry, objects, 30)
    for i, oid in enumerate(objects.object_id):
        obj = store.get_object(oid)
        assert obj["n_obs"] == 36 and len(obj["observations"]) == 36
        np.testing.assert_allclose(list(obj["probabilities"].values()), want[i], atol=1e-5)
        assert [h["step"] for h in obj["history"]] == list(range(1, 37))
    # The history is the batch model's view after k observations, even though the data came shuffled.
    obj = store.get_object("obj002")
    for k in (1, 2, 10, 30, 36):
        got = list(obj["history"][k - 1]["probabilities"].values())
        np.testing.assert_allclose(got, batch_reference(inc, scaler, photometry, objects, k)[2], atol=1e-5)


def test_repeat_by_time_or_alert_id_is_ignored_and_unknown_objects_write_nothing(setup):
    store, inc, *_ = setup
    first = {"object_id": "obj000", "mjd": 59001.0, "mag": 18.0, "mag_err": 0.1, "alert_id": "A1"}
    assert store.add_observations([first], inc).accepted == 1
    same_time = {**first, "mag": 17.0, "alert_id": "A2"}
    same_alert = {**first, "mjd": 59002.0}
    result = store.add_observations([same_time, same_alert], inc)
    assert (result.accepted, result.duplicates) == (0, 2)
    with pytest.raises(UnknownObjectError, match="nope"):
        store.add_observations(
            [{**first, "mjd": 59003.0, "alert_id": None}, {**first, "object_id": "nope"}], inc
        )
    obj = store.get_object("obj000")
    assert obj["n_obs"] == 1 and [o["mag"] for o in obj["observations"]] == [18.0]
    assert store.counts()["observations"] == 1


def test_observations_are_read_by_the_data_layers_rules_and_aliases(setup):
    store, inc, *_ = setup
    aliased = [{"objectid": "obj004", "time": 59001.0, "magnitude": 18.25, "magerr": 0.1, "filter": "r"}]
    assert store.add_observations(aliased, inc).accepted == 1
    [obs] = store.get_object("obj004")["observations"]
    # The batch route's numbers: magnitudes as the data layer's float32 values, the band as given.
    got = (obs["mjd"], obs["mag"], obs["mag_err"], obs["band"])
    assert got == (59001.0, 18.25, float(np.float32(0.1)), "r")
    bad = [{"object_id": "obj004", "mjd": 59002.0, "mag": 18.0, "mag_err": 0.1},
           {"object_id": "obj005", "mjd": 59002.0, "mag": float("nan"), "mag_err": 0.1}]
    with pytest.raises(InvalidLightCurveError, match=r"with mag missing, infinite .* \(objects 'obj005'\)"):
        store.add_observations(bad, inc)
    assert store.counts()["observations"] == 1  # nothing of the refused batch


def test_upper_limits_are_stored_apart_and_do_not_change_probabilities(setup):
    store, inc, *_ = setup
    det = {"object_id": "obj001", "mjd": 59001.0, "mag": 18.0, "mag_err": 0.1}
    store.add_observations([det], inc)
    before = store.get_object("obj001")["probabilities"]
    ul = [{"object_id": "obj001", "mjd": 59000.0, "limit_mag": 20.1, "band": "r"}]
    result = store.add_observations([], inc, upper_limits=ul + ul)
    assert result.upper_limits == 1 and result.accepted == 0
    obj = store.get_object("obj001")
    assert obj["probabilities"] == before and obj["n_obs"] == 1
    assert obj["upper_limits"] == [{"mjd": 59000.0, "limit_mag": 20.1, "band": "r"}]


def test_concurrent_writers_of_one_object_lose_nothing(setup, batch_reference):
    store, inc, scaler, photometry, objects = setup
    curve = photometry[photometry.object_id == "obj003"]
    rows = curve.to_dict("records")
    rng = np.random.default_rng(7)
    rng.shuffle(rows)
    n_threads = 4

    def writer(part):
        for i in range(0, len(part), 2):
            store.add_observations(part[i : i + 2], inc)
        store.add_observations(part[:2], inc)  # a repeat racing the others

    with ThreadPoolExecutor(n_threads) as pool:
        futures = [pool.submit(writer, rows[t::n_threads]) for t in range(n_threads)]
        for f in futures:
            f.result()  # re-raises a writer's error here
    obj = store.get_object("obj003")
    assert obj["n_obs"] == len(curve) == len(obj["observations"]) == len(obj["history"])
    want = batch_reference(inc, scaler, curve, objects.iloc[[3]], 30)[0]
    np.testing.assert_allclose(list(obj["probabilities"].values()), want, atol=1e-5)


def test_register_is_idempotent_but_refuses_a_moved_object_and_another_model(setup, incremental_factory):
    store, _, _, _, objects = setup
    again = objects.merge(compute_context(objects))
    assert store.register_objects(again) == {"created": 0, "existing": 6}
    moved = again.iloc[:1].assign(dec=again.dec.iloc[0] + 0.01)
    with pytest.raises(ObjectConflictError, match="obj000"):
        store.register_objects(moved)
    other = incremental_factory("lstm")[0]
    with pytest.raises(ModelMismatchError, match="fresh database"):
        store.bind_model(other.describe())


def test_candidates_newest_first_and_threshold(setup):
    store, inc, *_ = setup
    obs = [{"object_id": f"obj00{i}", "mjd": 59000.0 + 10 * i, "mag": 18.0, "mag_err": 0.1} for i in range(4)]
    store.add_observations(obs, inc)
    probs = {f"obj00{i}": store.get_object(f"obj00{i}")["probabilities"]["AGN"] for i in range(4)}
    cut = sorted(probs.values())[1]
    got = store.candidates("AGN", min_prob=cut)
    assert [c["object_id"] for c in got] == [
        o for o in ("obj003", "obj002", "obj001", "obj000") if probs[o] >= cut
    ]
    assert len(got) == 3 and all(c["prob"] >= cut for c in got)
    assert store.candidates("SN", min_prob=1.01) == []


KILL9_WRITER = textwrap.dedent(
    """
    import sys, torch
    from lcrnn.model.config import NetworkConfig
    from lcrnn.model.network import MixedInputRNN
    from lcrnn.serve.incremental import IncrementalClassifier
    from lcrnn.serve.store import StateStore

    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = MixedInputRNN(NetworkConfig(hidden=8, dense=8), n_classes=3).eval()
    scaler = {"mean": [50, 18, 0.1], "std": [50, 1, 0.05], "context_mean": [180, 0, 100], "context_std": [100, 30, 30]}
    model = IncrementalClassifier(net, scaler, ("VS", "SN", "AGN"))
    store = StateStore(sys.argv[1], prefix=sys.argv[2])
    store.bind_model(model.describe())
    store.register_objects([{"object_id": "k9", "ra": 10.0, "dec": 20.0, "gal_l": 1.0, "gal_b": 2.0,
                             "galaxy_dist_arcsec": 120.0}])
    for i in range(100000):
        # Every fifth observation arrives late, forcing a rebuild inside the transaction.
        mjd = 59000.0 + i - (0.5 if i % 5 == 4 else 0.0)
        store.add_observations([{"object_id": "k9", "mjd": mjd, "mag": 18.0 + (i % 7) / 10, "mag_err": 0.1}], model)
        print("ACK", repr(mjd), flush=True)  # only after the commit returned
    """
)


def test_acknowledged_observations_survive_kill_9(store_url, tmp_path):
    url, prefix = store_url
    script = tmp_path / "writer.py"
    script.write_text(KILL9_WRITER)
    proc = subprocess.Popen([sys.executable, str(script), url, prefix], stdout=subprocess.PIPE, text=True)
    acked: list[float] = []
    deadline = time.monotonic() + 60
    try:
        while len(acked) < 40 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked.append(float(line.split()[1]))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL and len(acked) >= 40
    store = StateStore(url, prefix=prefix)
    obj = store.get_object("k9")
    stored = {o["mjd"] for o in obj["observations"]}
    assert set(acked) <= stored  # every acknowledged observation is there
    assert len(stored) - len(acked) <= 1  # at most the one committed while its ACK was being written
    assert obj["n_obs"] == len(stored) == len(obj["history"])  # state and photometry moved together
    store.close()
