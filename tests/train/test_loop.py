"""The training loop: repeatable, resumable, keeps the best-validation-AUC weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lcrnn.classifier import Classifier
from lcrnn.data.context import ContextConfig, compute_context
from lcrnn.data.scaling import FeatureScaler
from lcrnn.data.sequences import build_sequences
from lcrnn.data.splits import make_split
from lcrnn.model.config import NetworkConfig
from lcrnn.model.network import MixedInputRNN
from lcrnn.train.config import TrainConfig
from lcrnn.train.loop import _epoch_order, train


@pytest.fixture(scope="module")
def scaled_parts(toy_survey):
    photometry, objects, galaxies = toy_survey
    context = compute_context(objects, galaxies, ContextConfig())
    seqs = build_sequences(photometry, context=context, labels=objects["label"].to_numpy(),
                           classes=("VS", "SN", "AGN"))
    split = make_split(seqs.object_ids, seqs.labels, seed=0)
    part = split.part_of(seqs.object_ids)
    train_set = seqs.subset(np.flatnonzero(part == "train"))
    val_set = seqs.subset(np.flatnonzero(part == "val"))
    scaler = FeatureScaler().fit(train_set)
    return scaler.transform(train_set), scaler.transform(val_set)


def _fresh_network(seed: int = 0) -> MixedInputRNN:
    torch.manual_seed(seed)
    return MixedInputRNN(NetworkConfig(hidden=16, dense=16), n_classes=3)


def test_training_learns_the_toy_survey(scaled_parts):
    train_set, val_set = scaled_parts
    result = train(_fresh_network(), train_set, val_set, TrainConfig(epochs=15, lr=1e-2, batch_size=32),
                   progress=False)
    assert result.best_val_auc > 0.9
    assert list(result.history.columns[:4]) == ["epoch", "train_loss", "val_loss", "val_auc"]
    assert result.history["train_loss"].iloc[-1] < result.history["train_loss"].iloc[0]
    assert result.best_epoch == int(result.history.loc[result.history["val_auc"].idxmax(), "epoch"])


def test_the_epoch_of_lowest_validation_loss_can_be_kept_instead(scaled_parts):
    train_set, val_set = scaled_parts
    config = TrainConfig(epochs=8, lr=3e-2, batch_size=32, select_by="val_loss")
    result = train(_fresh_network(), train_set, val_set, config, progress=False)
    history = result.history
    assert result.best_epoch == int(history.loc[history["val_loss"].idxmin(), "epoch"])
    # The AUC reported is the kept epoch's, whatever chose it.
    assert result.best_val_auc == pytest.approx(float(history.loc[result.best_epoch - 1, "val_auc"]))
    # On this run the two rules disagree, so the test tells them apart.
    assert history["val_loss"].idxmin() != history["val_auc"].idxmax()
    with pytest.raises(ValueError, match="select_by"):
        TrainConfig(select_by="val_f1")


def test_same_seed_same_run(scaled_parts):
    train_set, val_set = scaled_parts
    config = TrainConfig(epochs=3, lr=1e-3, batch_size=32, seed=5)
    a = train(_fresh_network(), train_set, val_set, config, progress=False)
    b = train(_fresh_network(), train_set, val_set, config, progress=False)
    np.testing.assert_array_equal(a.history["train_loss"], b.history["train_loss"])
    for key in a.best_state:
        torch.testing.assert_close(a.best_state[key], b.best_state[key], rtol=0, atol=0)


def test_an_interrupted_run_resumes_exactly(scaled_parts, tmp_path):
    train_set, val_set = scaled_parts
    config = TrainConfig(epochs=4, lr=1e-3, batch_size=32, seed=1)
    whole = train(_fresh_network(), train_set, val_set, config, progress=False)

    first_half = TrainConfig(epochs=2, lr=1e-3, batch_size=32, seed=1)
    train(_fresh_network(), train_set, val_set, first_half, checkpoint_dir=tmp_path, progress=False)
    resumed = train(_fresh_network(seed=99), train_set, val_set, config, checkpoint_dir=tmp_path, progress=False)

    assert list(resumed.history["epoch"]) == [1, 2, 3, 4]
    np.testing.assert_allclose(resumed.history["train_loss"], whole.history["train_loss"], rtol=1e-6)
    for key in whole.best_state:
        torch.testing.assert_close(resumed.best_state[key], whole.best_state[key])


def test_stratified_order_spreads_every_class_over_the_epoch():
    labels = torch.tensor([0] * 900 + [1] * 60 + [2] * 40)
    order = _epoch_order(labels, torch.Generator().manual_seed(0), stratified=True)
    assert sorted(order.tolist()) == list(range(1000))
    for batch in order.split(100):
        counts = torch.bincount(labels[batch], minlength=3)
        assert 85 <= counts[0] <= 95 and 4 <= counts[1] <= 8 and 2 <= counts[2] <= 6


def test_training_without_labels_is_refused(scaled_parts):
    from dataclasses import replace

    from lcrnn.errors import InvalidTableError

    train_set, val_set = scaled_parts
    with pytest.raises(InvalidTableError, match="labels"):
        train(_fresh_network(), replace(train_set, labels=None), val_set, TrainConfig(epochs=1), progress=False)


def test_classifier_round_trip_gives_identical_probabilities(toy_survey, tmp_path):
    photometry, objects, galaxies = toy_survey
    clf = Classifier(hidden=16, dense=16, epochs=3, lr=1e-2, batch_size=32, progress=False)
    clf.fit(photometry, objects, galaxies)
    before = clf.predict_proba(photometry, objects, galaxies)
    clf.save(tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.json", "history.csv",
                                                                    "model.safetensors"]
    after = Classifier.load(tmp_path / "run").predict_proba(photometry, objects, galaxies)
    assert list(after.columns) == ["object_id", "p_VS", "p_SN", "p_AGN"]
    np.testing.assert_array_equal(before.to_numpy(), after.to_numpy())
    np.testing.assert_allclose(after[["p_VS", "p_SN", "p_AGN"]].sum(axis=1), 1.0, rtol=1e-5)
