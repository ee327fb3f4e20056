"""Metrics must equal scikit-learn's on the same predictions, and Table 3 counts must match a hand count."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

from lcrnn.errors import InvalidTableError, LcrnnWarning
from lcrnn.evaluate.metrics import (
    auc_vs_n_obs,
    classification_metrics,
    stratified_subsample,
    threshold_rates,
    tsne_embedding,
)

CLASSES = ("VS", "SN", "AGN")


@pytest.fixture
def predictions():
    rng = np.random.default_rng(1)
    y = rng.choice(3, size=400, p=[0.8, 0.08, 0.12])
    # Informative but imperfect probabilities: the true class gets a boost.
    logits = rng.normal(size=(400, 3))
    logits[np.arange(400), y] += 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba


def test_scores_equal_scikit_learn(predictions):
    y, proba = predictions
    m = classification_metrics(y, proba, CLASSES)
    pred = proba.argmax(axis=1)
    assert m["auc_hand_till"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovo", average="macro"))
    assert m["f1_macro"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert list(m["recall"].values()) == pytest.approx(list(recall_score(y, pred, average=None)))
    assert list(m["precision"].values()) == pytest.approx(list(precision_score(y, pred, average=None)))
    assert m["confusion"]["counts"] == confusion_matrix(y, pred).tolist()
    np.testing.assert_allclose(m["confusion"]["fractions"], confusion_matrix(y, pred, normalize="true"))
    for c, name in enumerate(CLASSES):
        assert m["roc"][name]["auc"] == pytest.approx(roc_auc_score(y == c, proba[:, c]))
    assert m["support"] == np.bincount(y, minlength=3).tolist()
    # Informative probabilities must score well above chance, or the fixture proves nothing.
    assert 0.75 < m["auc_hand_till"] < 1.0
    assert m["notes"] == []


def test_result_is_strict_json_and_roc_is_thinned(predictions):
    y, proba = predictions
    m = classification_metrics(y, proba, CLASSES, roc_max_points=50)
    json.dumps(m, allow_nan=False)  # raises on NaN or numpy types
    for curve in m["roc"].values():
        assert 2 <= len(curve["fpr"]) <= 50
        assert len(curve["fpr"]) == len(curve["tpr"])
        assert (curve["fpr"][0], curve["tpr"][0]) == (0.0, 0.0)
        assert (curve["fpr"][-1], curve["tpr"][-1]) == (1.0, 1.0)
        assert np.all(np.diff(curve["fpr"]) >= 0)


def test_threshold_counts_match_a_hand_count():
    y = np.array([0, 0, 0, 1, 1, 2])
    proba = np.array(
        [
            [0.90, 0.05, 0.05],  # VS kept at 0.7
            [0.70, 0.20, 0.10],  # VS exactly at the cut: kept (>=)
            [0.50, 0.40, 0.10],  # VS lost
            [0.75, 0.20, 0.05],  # SN, but a false VS positive
            [0.10, 0.80, 0.10],  # SN kept
            [0.05, 0.05, 0.90],  # AGN kept
        ]
    )
    rows = {r["class"]: r for r in threshold_rates(y, proba, CLASSES, thresholds=(0.7,))}
    assert rows["VS"] | {} == {
        "class": "VS", "threshold": 0.7, "tp": 2, "p": 3, "fp": 1, "n": 3,
        "tpr": pytest.approx(2 / 3), "fpr": pytest.approx(1 / 3),
    }  # fmt: skip
    assert (rows["SN"]["tp"], rows["SN"]["p"], rows["SN"]["fp"], rows["SN"]["n"]) == (1, 2, 0, 4)
    assert (rows["AGN"]["tp"], rows["AGN"]["p"], rows["AGN"]["fp"], rows["AGN"]["n"]) == (1, 1, 0, 5)
    assert rows["SN"]["tpr"] == 0.5 and rows["SN"]["fpr"] == 0.0

    two = threshold_rates(y, proba, CLASSES, thresholds=(0.5, 0.95))
    assert len(two) == 6
    vs_low = next(r for r in two if r["class"] == "VS" and r["threshold"] == 0.5)
    assert (vs_low["tp"], vs_low["fp"]) == (3, 1)
    assert all(r["tp"] == 0 and r["fp"] == 0 for r in two if r["threshold"] == 0.95)


def test_absent_class_is_null_with_an_explanation(predictions):
    y, proba = predictions
    keep = y != 1  # no SN at all
    with pytest.warns(LcrnnWarning, match="SN"):
        m = classification_metrics(y[keep], proba[keep], CLASSES)
    json.dumps(m, allow_nan=False)
    assert m["recall"]["SN"] is None
    assert m["roc"]["SN"]["auc"] is None
    assert m["confusion"]["fractions"][1] == [None, None, None]
    assert any("SN" in note for note in m["notes"])
    sn_row = next(r for r in m["thresholds"] if r["class"] == "SN")
    assert sn_row["p"] == 0 and sn_row["tpr"] is None
    # Hand & Till over the classes present, as scikit-learn computes it with the full label list.
    expected = roc_auc_score(y[keep], proba[keep], multi_class="ovo", average="macro", labels=[0, 1, 2])
    assert m["auc_hand_till"] == pytest.approx(expected)


def test_bad_inputs_are_refused_with_a_reason(predictions):
    y, proba = predictions
    with pytest.raises(ValueError, match="shape"):
        classification_metrics(y, proba[:, :2], CLASSES)
    with pytest.raises(ValueError, match="integer"):
        classification_metrics(np.array(CLASSES)[y], proba, CLASSES)
    with pytest.raises(ValueError, match="rows"):
        classification_metrics(y[:-1], proba, CLASSES)
    with pytest.raises(ValueError, match="probability"):
        threshold_rates(y, proba, CLASSES, thresholds=(1.5,))


# --- AUC against the number of observations -------------------------------------------------------------


@dataclass(frozen=True)
class FakeSequences:
    """Just enough of lcrnn.data.sequences.SequenceSet for the metrics."""

    object_ids: np.ndarray
    values: np.ndarray
    lengths: np.ndarray
    context: np.ndarray | None
    labels: np.ndarray | None
    classes: tuple[str, ...] | None

    def __len__(self) -> int:
        return len(self.object_ids)

    def subset(self, index):
        index = np.asarray(index)
        ctx = None if self.context is None else self.context[index]
        lab = None if self.labels is None else self.labels[index]
        return replace(
            self, object_ids=self.object_ids[index], values=self.values[index], lengths=self.lengths[index],
            context=ctx, labels=lab,
        )  # fmt: skip

    def truncate(self, first_n):
        values = self.values.copy()
        values[:, first_n:, :] = 0.0
        return replace(self, values=values, lengths=np.minimum(self.lengths, first_n))


class MeanMagModel:
    """Classifies by the mean magnitude of the steps it sees: more observations, less noise."""

    classes_ = CLASSES
    centres = np.array([0.0, 1.0, 2.0])

    def __init__(self):
        self.seen_lengths = []

    def predict_proba_sequences(self, seqs):
        self.seen_lengths.append(np.asarray(seqs.lengths).copy())
        steps = np.arange(seqs.values.shape[1])[None, :] < seqs.lengths[:, None]
        # Sum over every step, padding included: only real truncation of the values changes the answer.
        mean = seqs.values[:, :, 1].sum(axis=1) / seqs.lengths
        assert np.all(seqs.values[~steps] == 0.0)
        logits = -((mean[:, None] - self.centres[None, :]) ** 2) * seqs.lengths[:, None]
        proba = np.exp(logits - logits.max(axis=1, keepdims=True))
        return proba / proba.sum(axis=1, keepdims=True)


def make_sequences(n=300, max_len=30, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n, p=[0.6, 0.2, 0.2])
    lengths = rng.integers(1, max_len + 1, size=n)
    values = np.zeros((n, max_len, 3), dtype=np.float32)
    for i in range(n):
        k = lengths[i]
        values[i, :k, 0] = np.sort(rng.uniform(0, 100, k)) - 0.0
        values[i, :k, 1] = MeanMagModel.centres[labels[i]] + rng.normal(0, 1.5, k)
        values[i, :k, 2] = 0.1
    ids = np.array([f"obj{i}" for i in range(n)])
    return FakeSequences(ids, values, lengths.astype(np.int64), None, labels.astype(np.int64), CLASSES)


def test_auc_rises_as_the_inputs_are_really_truncated():
    seqs = make_sequences()
    model = MeanMagModel()
    rows = auc_vs_n_obs(model, seqs, n_values=[1, 3, 10, 30])
    assert [r["n_obs"] for r in rows] == [1, 3, 10, 30]
    # The model saw truncated inputs, not the full light curves.
    for n, seen in zip([1, 3, 10, 30], model.seen_lengths):
        assert seen.max() <= n
        np.testing.assert_array_equal(seen, np.minimum(seqs.lengths, n))
    aucs = [r["auc_hand_till"] for r in rows]
    assert aucs[0] < aucs[2] - 0.05
    assert aucs[-1] == pytest.approx(
        classification_metrics(seqs.labels, model.predict_proba_sequences(seqs), CLASSES)["auc_hand_till"]
    )
    assert rows[0]["n_truncated"] == int(np.count_nonzero(seqs.lengths > 1))
    assert rows[-1]["n_truncated"] == 0
    assert np.sum(rows[0]["confusion"]["counts"]) == len(seqs)


def test_auc_vs_n_obs_needs_labels_and_matching_classes():
    seqs = make_sequences(n=20)
    with pytest.raises(InvalidTableError, match="label"):
        auc_vs_n_obs(MeanMagModel(), replace(seqs, labels=None))
    with pytest.raises(InvalidTableError, match="classes"):
        auc_vs_n_obs(MeanMagModel(), replace(seqs, classes=("A", "B", "C")))
    with pytest.raises(ValueError, match=">= 1"):
        auc_vs_n_obs(MeanMagModel(), seqs, n_values=[0, 1])


# --- t-SNE and subsampling ----------------------------------------------------------------------------


@pytest.fixture
def one_thread():
    # Barnes-Hut t-SNE spins OpenMP threads; on a busy 2-core machine that is 30x slower than one thread.
    with threadpool_limits(1):
        yield


def test_tsne_keeps_separated_groups_apart(one_thread):
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 30)
    features = rng.normal(size=(90, 16)) + 8.0 * np.eye(16)[labels * 5]
    xy = tsne_embedding(features, perplexity=20, seed=0)
    assert xy.shape == (90, 2)
    knn = KNeighborsClassifier(n_neighbors=5).fit(xy, labels)
    assert knn.score(xy, labels) > 0.95
    np.testing.assert_allclose(xy, tsne_embedding(features, perplexity=20, seed=0))  # reproducible


def test_tsne_works_on_few_points_and_refuses_too_few(one_thread):
    xy = tsne_embedding(np.random.default_rng(0).normal(size=(10, 4)), perplexity=20)
    assert xy.shape == (10, 2)
    with pytest.raises(ValueError, match="at least 4"):
        tsne_embedding(np.zeros((3, 4)))


def test_stratified_subsample_keeps_rare_classes_whole():
    labels = np.array(["VS"] * 1000 + ["SN"] * 30 + ["AGN"] * 50)
    index = stratified_subsample(labels, 200, seed=0)
    assert index.size == 200 and np.unique(index).size == 200
    picked = labels[index]
    assert (picked == "SN").sum() == 30 and (picked == "AGN").sum() == 50 and (picked == "VS").sum() == 120
    np.testing.assert_array_equal(stratified_subsample(labels, 5000), np.arange(labels.size))
    # When rare classes cannot all fit, the budget is shared equally.
    small = labels[stratified_subsample(labels, 60, seed=1)]
    assert {c: int((small == c).sum()) for c in ("VS", "SN", "AGN")} == {"VS": 20, "SN": 20, "AGN": 20}


def test_hand_till_auc_with_two_classes_is_the_plain_roc_auc():
    from sklearn.metrics import roc_auc_score

    from lcrnn.evaluate.metrics import hand_till_auc

    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 200)
    p1 = np.clip(0.3 * y + rng.uniform(0, 0.7, 200), 0, 1)
    proba = np.column_stack([1 - p1, p1])
    assert hand_till_auc(y, proba) == pytest.approx(roc_auc_score(y, p1))
    assert np.isnan(hand_till_auc(np.zeros(5, dtype=int), proba[:5]))
