"""Small models and light curves for the real-time tests, made here so the tests need no trained run."""

from __future__ import annotations

import os
import uuid

import numpy as np
import pandas as pd
import pytest
import torch

from lcrnn.data.context import compute_context
from lcrnn.data.scaling import FeatureScaler
from lcrnn.data.sequences import build_sequences
from lcrnn.model.config import NetworkConfig
from lcrnn.model.network import MixedInputRNN
from lcrnn.serve.incremental import IncrementalClassifier

CLASSES = ("VS", "SN", "AGN")


def make_survey(n_objects: int = 6, n_obs: int = 36, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Photometry (irregular times, varied magnitudes) and objects spread over the sky."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_objects):
        mjd = 59000.0 + np.cumsum(rng.exponential(8.0, n_obs) + 0.01)
        mag = 18.0 + rng.normal(0, 1.0, n_obs)
        err = rng.uniform(0.01, 0.25, n_obs)
        rows.append(pd.DataFrame({"object_id": f"obj{i:03d}", "mjd": mjd, "mag": mag, "mag_err": err}))
    photometry = pd.concat(rows, ignore_index=True)
    objects = pd.DataFrame(
        {
            "object_id": [f"obj{i:03d}" for i in range(n_objects)],
            "ra": rng.uniform(0, 360, n_objects),
            "dec": rng.uniform(-20, 80, n_objects),
        }
    )
    return photometry, objects


def make_network(rnn: str, seed: int = 0, use_context: bool = True) -> MixedInputRNN:
    """A small untrained network with non-trivial batch-norm statistics (so BN is really exercised)."""
    torch.manual_seed(seed)
    net = MixedInputRNN(NetworkConfig(rnn=rnn, hidden=16, dense=12, use_context=use_context), n_classes=3)
    with torch.no_grad():
        for bn in (net.bn1, net.bn2, net.bn3):
            bn.running_mean.uniform_(-0.3, 0.3)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    return net.eval()


def make_incremental(rnn: str = "gru", max_len: int = 30, use_context: bool = True, seed: int = 0):
    """An IncrementalClassifier, plus the scaler and the survey used to fit it."""
    photometry, objects = make_survey(seed=seed)
    context = compute_context(objects)
    scaler = FeatureScaler().fit(build_sequences(photometry, context, max_len=max_len))
    net = make_network(rnn, seed=seed, use_context=use_context)
    return IncrementalClassifier(net, scaler.to_dict(), CLASSES, max_len=max_len), scaler, photometry, objects


def batch_proba(
    inc: IncrementalClassifier,
    scaler: FeatureScaler,
    photometry: pd.DataFrame,
    objects: pd.DataFrame,
    first_n: int,
) -> np.ndarray:
    """The batch model's probabilities on each object's first ``first_n`` observations (rows: objects order)."""
    context = compute_context(objects)
    seqs = build_sequences(photometry, context, max_len=inc.max_len, first_n=min(first_n, inc.max_len))
    scaled = scaler.transform(seqs)
    ctx = torch.from_numpy(scaled.context) if inc.uses_context else None
    with torch.no_grad():
        logits = inc.network(torch.from_numpy(scaled.values), torch.from_numpy(scaled.lengths), ctx)
    return torch.softmax(logits, dim=1).numpy()


@pytest.fixture(scope="session")
def batch_reference():
    """``batch_proba(inc, scaler, photometry, objects, first_n) -> (n_objects, n_classes)`` from the batch model."""
    return batch_proba


@pytest.fixture(scope="session")
def incremental_factory():
    """``make_incremental(rnn, max_len, use_context, seed) -> (IncrementalClassifier, scaler, photometry, objects)``."""
    return make_incremental


@pytest.fixture(scope="session")
def survey_factory():
    """``make_survey(n_objects, n_obs, seed) -> (photometry, objects)``."""
    return make_survey


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Single-observation steps are tiny: more threads only spin against each other on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


POSTGRES_URL = os.environ.get("LCRNN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request, tmp_path):
    """``(url, prefix)`` of an empty store on SQLite, then on PostgreSQL (skipped when unreachable)."""
    import sqlalchemy as sa

    from lcrnn.serve.store import StateStore

    prefix = f"t{uuid.uuid4().hex[:10]}_"
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}", prefix
        return
    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
    except (sa.exc.SQLAlchemyError, OSError, ImportError) as exc:  # no server (or driver) here
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} ({type(exc).__name__}); set LCRNN_TEST_POSTGRES_URL")
    yield POSTGRES_URL, prefix
    StateStore(POSTGRES_URL, prefix=prefix).drop_all()


@pytest.fixture(scope="session")
def saved_run(tmp_path_factory, toy_survey):
    """A real ``Classifier`` run directory (tiny network, one epoch): what ``lcrnn serve/ingest --model`` load."""
    from lcrnn.classifier import Classifier

    photometry, objects, galaxies = toy_survey
    keep = objects.groupby("label").head(12)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        clf = Classifier(hidden=8, dense=8, epochs=1, batch_size=16, device="cpu", progress=False).fit(
            photometry[photometry.object_id.isin(keep.object_id)], keep, galaxies
        )
    finally:
        torch.set_num_threads(before)
    return clf.save(tmp_path_factory.mktemp("run") / "tiny-gru")
