"""Served == batch: what the service answers for an object is what ``Classifier.predict_proba`` gives it.

Tiny Classifiers (GRU and LSTM, with and without the context input) are trained and saved; the service is
started on the saved run directory through the one run loader, objects and observations are posted over HTTP,
and every object's probabilities -- at the end, and after each number of observations, whatever order the
observations came in -- must equal the Classifier's on the same tables within 1e-5. ``lcrnn ingest`` is held
to the same standard.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from fastapi.testclient import TestClient

from lcrnn.classifier import Classifier
from lcrnn.data.context import ContextConfig
from lcrnn.data.features import SHAPE_FEATURES
from lcrnn.model.calibration import Calibration
from lcrnn.serve.app import ClassificationService, ServeConfig, create_app
from lcrnn.serve.ingest import ingest_files

TOKEN = "served-equals-batch"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ATOL = 1e-5  # float32 networks stepping one observation at a time vs reading padded sequences
MAX_LEN = 8  # below the toy survey's 12 observations at most, so the cut at max_len is exercised too


@dataclass(frozen=True)
class Run:
    """A saved tiny Classifier and the tables it is compared on."""

    path: Path
    classifier: Classifier  # Classifier.load(path): the batch route
    photometry: pd.DataFrame
    objects: pd.DataFrame
    galaxies: pd.DataFrame | None  # None: served without a catalogue (the model reads no context)
    galaxies_path: Path | None

    @property
    def classes(self) -> tuple[str, ...]:
        return self.classifier.classes_

    def predict(self, first_n: int | None = None) -> pd.DataFrame:
        """The batch route's probabilities, one row per object, indexed by object id."""
        k = None if first_n is None else min(first_n, MAX_LEN)
        proba = self.classifier.predict_proba(self.photometry, self.objects, self.galaxies, first_n=k)
        return proba.set_index("object_id")


@pytest.fixture(
    scope="module",
    params=[("gru", True, False), ("gru", False, False), ("lstm", True, False), ("lstm", False, False),
            ("gru", True, True), ("lstm", False, True)],
    ids=["gru-context", "gru-no-context", "lstm-context", "lstm-no-context", "gru-context-features",
         "lstm-no-context-features"],
)
def run(request, tmp_path_factory, toy_survey) -> Run:
    rnn, use_context, features = request.param  # features: the features branch (lcrnn.serve.prefixes)
    photometry, objects, galaxies = toy_survey
    objects = objects.groupby("label").head(12).reset_index(drop=True)
    photometry = photometry[photometry.object_id.isin(objects.object_id)].reset_index(drop=True)
    torch.manual_seed(0)
    clf = Classifier(
        rnn=rnn, use_context=use_context, max_len=MAX_LEN, hidden=8, dense=8, epochs=1, batch_size=16,
        device="cpu", progress=False, summary=SHAPE_FEATURES if features else (),
    ).fit(photometry, objects, galaxies)
    # One epoch teaches a tiny network little, so its fitted calibration flattens every probability towards the
    # class frequencies; a fixed one that moves each probability keeps the comparison telling, calibration in.
    clf.model_.calibration = Calibration(temperature=0.6, offsets=(0.4, -0.1, -0.3), priors=(0.5, 0.3, 0.2))
    folder = tmp_path_factory.mktemp(f"{rnn}-{use_context}-{features}")
    galaxies_path = None
    if use_context:
        galaxies_path = folder / "galaxies.parquet"
        galaxies.to_parquet(galaxies_path)
    path = clf.save(folder / "run")
    return Run(
        path, Classifier.load(path, device="cpu"), photometry, objects, galaxies if use_context else None,
        galaxies_path,
    )


@pytest.fixture
def client(run, tmp_path, monkeypatch):
    """The service on the saved run, started as ``lcrnn serve`` starts it, with every object registered."""
    monkeypatch.setenv("LCRNN_API_TOKEN", TOKEN)
    config = ServeConfig(
        model_dir=run.path, db_url=f"sqlite:///{tmp_path / 'served.db'}", galaxies_path=run.galaxies_path
    )
    with TestClient(create_app(config)) as client:
        for r in run.objects.itertuples():
            body = {"object_id": r.object_id, "ra": r.ra, "dec": r.dec}
            resp = client.post("/objects", json=body, headers=AUTH)
            assert resp.status_code == 201, resp.text
        yield client


def records(photometry: pd.DataFrame) -> list[dict]:
    columns = photometry[["object_id", "mjd", "mag", "mag_err", "band"]]
    return columns.astype({"mag": float, "mag_err": float}).to_dict("records")


def assert_probabilities(got: dict[str, float], want: pd.Series, classes, what: str) -> None:
    assert list(got) == list(classes), what
    expected = want[[f"p_{c}" for c in classes]].to_numpy(dtype=np.float64)
    np.testing.assert_allclose([got[c] for c in classes], expected, atol=ATOL, rtol=0, err_msg=what)


def test_after_each_observation_the_service_answers_predict_proba_first_n(run, client):
    # Round k posts every object's k-th observation (objects shuffled within the request); the response
    # carries each updated object's probabilities, which must be the batch model's on its first k.
    rows = run.photometry.sort_values(["object_id", "mjd"]).assign(
        k=lambda f: f.groupby("object_id").cumcount() + 1
    )
    rng = np.random.default_rng(0)
    for k in range(1, int(rows.k.max()) + 1):
        batch = rows[rows.k == k].sample(frac=1.0, random_state=int(rng.integers(1 << 30)))
        resp = client.post("/observations", json=records(batch), headers=AUTH)
        assert resp.status_code == 200, resp.text
        assert resp.json()["accepted"] == len(batch)
        want = run.predict(first_n=k)
        for oid, served in resp.json()["objects"].items():
            assert served["n_obs"] == k
            assert_probabilities(served["probabilities"], want.loc[oid], run.classes, f"{oid} after {k}")


def test_shuffled_batches_with_repeats_end_equal_to_predict_proba_and_over_time(run, client):
    rng = np.random.default_rng(1)
    rows = records(run.photometry.sample(frac=1.0, random_state=1))  # shuffled: many rebuilds
    sent = 0
    while sent < len(rows):
        size = int(rng.integers(1, 25))
        again = rows[max(0, sent - 3) : sent]  # re-sent: must be recognised and ignored
        resp = client.post("/observations", json=rows[sent : sent + size] + again, headers=AUTH)
        assert resp.status_code == 200, resp.text
        assert resp.json()["duplicates"] == len(again)
        sent += size

    final = run.predict()
    over_time = run.classifier.predict_proba_over_time(run.photometry, run.objects, run.galaxies)
    n_obs = run.photometry.groupby("object_id").size()
    # Not trivially equal: the probabilities differ between objects and change along each light curve.
    assert np.ptp(final.iloc[:, 0]) > 1e-3 and over_time.groupby("object_id").p_SN.agg(np.ptp).max() > 1e-3
    for oid in run.objects.object_id:
        obj = client.get(f"/objects/{oid}").json()
        assert obj["n_obs"] == n_obs[oid] == len(obj["history"]) == len(obj["observations"])
        assert_probabilities(obj["probabilities"], final.loc[oid], run.classes, oid)
        steps = over_time[over_time.object_id == oid].set_index("n_obs")
        for entry in obj["history"]:  # step k: the batch model on the first k (past max_len: unchanged)
            k = min(entry["step"], MAX_LEN)
            what = f"{oid} step {entry['step']}"
            assert_probabilities(entry["probabilities"], steps.loc[k], run.classes, what)
        if run.galaxies is None:  # no catalogue: the dummy distance, as the batch route without one
            assert obj["context"]["galaxy_dist_arcsec"] == ContextConfig().dummy_distance_arcsec

    resp = client.post("/observations", json=rows[:5], headers=AUTH)
    assert (resp.json()["accepted"], resp.json()["duplicates"]) == (0, 5)


def test_lcrnn_ingest_of_a_photometry_table_equals_predict_proba(run, tmp_path):
    table = tmp_path / "photometry.csv"
    run.photometry.merge(run.objects[["object_id", "ra", "dec"]]).sample(frac=1.0, random_state=2).to_csv(
        table, index=False
    )
    service = ClassificationService.from_run(run.path, f"sqlite:///{tmp_path / 'ingest.db'}", run.galaxies)
    try:
        summary = ingest_files([table], service, batch_size=17)
        assert (summary.registered, summary.accepted) == (len(run.objects), len(run.photometry))
        final = run.predict()
        for oid in run.objects.object_id:
            got = service.store.get_object(oid, with_photometry=False)["probabilities"]
            assert_probabilities(got, final.loc[oid], run.classes, oid)
    finally:
        service.store.close()
