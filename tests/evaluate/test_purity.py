"""Issue 16's report: purity, operating points and calibration, checked against scikit-learn and by hand."""

from __future__ import annotations

import json
import re
import zlib

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    classification_report,
    confusion_matrix,
    precision_score,
    recall_score,
)
from threadpoolctl import threadpool_limits

from lcrnn.data.sequences import build_sequences
from lcrnn.data.splits import make_split
from lcrnn.evaluate.figures import plot_history
from lcrnn.evaluate.metrics import expected_calibration_error, reliability_bins
from lcrnn.evaluate.metrics import classification_metrics
from lcrnn.evaluate.purity import objects_left, operating_points, purity_metrics
from lcrnn.evaluate.purity_page import auc_f1_sentence
from lcrnn.evaluate.report import build_report
from lcrnn.version import __version__

CLASSES = ("VS", "SN", "AGN")


def _imbalanced(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels 95/2/3 % and probabilities that lean towards the truth, with many rare-class false calls."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=[0.95, 0.02, 0.03])
    logits = rng.normal(0, 1.0, (n, 3))
    logits[np.arange(n), y] += 1.5
    logits[:, 1:] += 0.8  # the weighted loss's tilt towards the rare classes
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba


def test_tables_match_scikit_learn_on_the_same_predictions():
    y, proba = _imbalanced()
    m = purity_metrics(y, proba, CLASSES)
    predicted = proba.argmax(axis=1)

    expected = classification_report(y, predicted, target_names=list(CLASSES), output_dict=True)
    for key in [*CLASSES, "macro avg", "weighted avg"]:
        for field in ("precision", "recall", "f1-score", "support"):
            assert m["classification_report"][key][field] == pytest.approx(expected[key][field])
    assert m["classification_report"]["accuracy"] == pytest.approx(expected["accuracy"])
    # The tilt is there: the rare classes' calls are mostly VS.
    assert m["classification_report"]["SN"]["precision"] < 0.3 < m["classification_report"]["SN"]["recall"]

    purity = confusion_matrix(y, predicted, normalize="pred")
    np.testing.assert_allclose(np.array(m["confusion_by_predicted"], dtype=float), purity)
    np.testing.assert_allclose(np.array(m["confusion_by_predicted"], dtype=float).sum(axis=0), 1.0)

    for c, name in enumerate(CLASSES):
        curve = m["precision_recall"][name]
        assert curve["average_precision"] == pytest.approx(average_precision_score(y == c, proba[:, c]))
        assert curve["base_rate"] == pytest.approx(np.mean(y == c))
        assert curve["recall"][0] == 1.0 and curve["recall"][-1] == 0.0 and curve["precision"][-1] == 1.0
        assert len(curve["recall"]) <= 200

    # Every operating point is where scikit-learn's own precision and recall say it is, and the lowest such.
    for row in m["operating_points"]:
        c = CLASSES.index(row["class"])
        assert row["threshold"] is not None  # each class reaches every purity at its highest scores here
        called = proba[:, c] >= row["threshold"]
        assert precision_score(y == c, called) == pytest.approx(row["purity"])
        assert row["purity"] >= row["target"]
        assert recall_score(y == c, called) == pytest.approx(row["completeness"])
        assert row["n_selected"] == called.sum() and row["n_true"] == (called & (y == c)).sum()
        lower = np.unique(proba[:, c][proba[:, c] < row["threshold"]])
        assert all(precision_score(y == c, proba[:, c] >= t) < row["target"] for t in lower[-50:])

    table = reliability_bins(y == 1, proba[:, 1])
    prob_true, prob_pred = calibration_curve(y == 1, proba[:, 1], n_bins=10)
    np.testing.assert_allclose(table["prob_true"], prob_true)
    np.testing.assert_allclose(table["prob_pred"], prob_pred)
    assert sum(table["count"]) == y.size


def test_operating_points_of_a_constructed_score():
    # Ten SN with known scores among VS; purity at threshold t is (SN >= t) / (all >= t).
    sn = [0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.45, 0.35]
    vs = [0.72, 0.4, 0.3, 0.2, 0.1] + [0.05] * 10
    score = np.array(sn + vs)
    y = np.array([1] * len(sn) + [0] * len(vs))
    proba = np.column_stack([1 - score, score])
    rows = {r["target"]: r for r in operating_points(y, proba, ("VS", "SN")) if r["class"] == "SN"}
    # 50 %: 10 of 15 at 0.1; 80 %: 10 of 12 at 0.35; 90 %: 9 of 10 at 0.45 (0.55 gives only 8 of 9);
    # 95 %: 4 of 4 at 0.75 (the VS at 0.72 spoils every threshold between).
    expected = {0.5: (0.1, 10 / 15, 1.0), 0.8: (0.35, 10 / 12, 1.0), 0.9: (0.45, 0.9, 0.9),
                0.95: (0.75, 1.0, 0.4)}  # fmt: skip
    for target, (threshold, purity, completeness) in expected.items():
        assert rows[target]["threshold"] == pytest.approx(threshold)
        assert rows[target]["purity"] == pytest.approx(purity)
        assert rows[target]["completeness"] == pytest.approx(completeness)

    # The top SN score is a VS: purity 2 of 3 at best.
    score = np.array([[0.1, 0.9], [0.5, 0.5], [0.6, 0.4]])
    never = operating_points(np.array([0, 1, 1]), score, ("VS", "SN"), targets=(0.5, 0.95))
    sn_rows = [r for r in never if r["class"] == "SN"]
    assert sn_rows[0]["threshold"] == pytest.approx(0.4) and sn_rows[0]["completeness"] == 1.0  # 2 of 3
    assert sn_rows[1]["threshold"] is None and sn_rows[1]["completeness"] is None  # the top score is a VS


def test_expected_calibration_error():
    # By hand: bin (0.8, 0.9] holds two at 0.9 with one right (gap 0.4), (0.5, 0.6] one right at 0.6 (0.4),
    # (0.6, 0.7] one right at 0.7 (0.3): (2 * 0.4 + 0.4 + 0.3) / 4.
    proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    assert expected_calibration_error(proba, np.array([0, 1, 0, 1])) == pytest.approx(0.375)

    rng = np.random.default_rng(1)
    u = rng.uniform(0, 1, 100_000)
    calibrated = np.column_stack([1 - u, u])
    y = (rng.uniform(0, 1, u.size) < u).astype(int)  # class 1 exactly as often as its probability says
    assert expected_calibration_error(calibrated, y) < 0.01

    # Overconfident: 0.9 on the top class, right 60 % of the time: the gap is 0.3.
    overconfident = np.tile([0.9, 0.05, 0.05], (1000, 1))
    y = np.where(np.arange(1000) < 600, 0, 1)
    assert expected_calibration_error(overconfident, y) == pytest.approx(0.3)
    # The same gap spread over confidences 0.55-1: accuracy = confidence - 0.2 in every bin.
    conf = rng.uniform(0.55, 1.0, 100_000)
    right = rng.uniform(0, 1, conf.size) < conf - 0.2
    proba = np.column_stack([conf, 1 - conf])
    assert expected_calibration_error(proba, np.where(right, 0, 1)) == pytest.approx(0.2, abs=0.01)


def test_auc_f1_sentence_names_what_holds_the_f1_down():
    y, proba = _imbalanced()
    m = {**classification_metrics(y, proba, CLASSES), **purity_metrics(y, proba, CLASSES)}
    counts, sn = np.array(m["confusion"]["counts"]), m["classification_report"]["SN"]
    tilted = auc_f1_sentence(m)  # tilted towards the rare classes: many VS called SN
    assert f"{counts[0, 1]:,} VS are called SN beside the {counts[1, 1]:,} true SN" in tilted
    assert f"precision {sn['precision']:.2f}" in tilted and f"AUC ({m['auc_hand_till']:.3f})" in tilted
    assert f"with VS {100 * np.mean(y == 0):.1f} %" in tilted

    shy = proba * np.array([50.0, 0.01, 0.01])  # now the rare classes are almost never the most probable
    shy /= shy.sum(axis=1, keepdims=True)
    m = {**classification_metrics(y, shy, CLASSES), **purity_metrics(y, shy, CLASSES)}
    rare = min(("SN", "AGN"), key=lambda c: m["classification_report"][c]["f1-score"])
    sentence = auc_f1_sentence(m)
    assert f"{rare} is seldom the most probable class" in sentence and "recall, not the ranking" in sentence
    assert f"one-vs-rest AUC is {m['roc'][rare]['auc']:.3f}" in sentence


def test_objects_left_counts_light_curves_at_least_n_long():
    assert objects_left([1, 2, 2, 5], [1, 2, 3, 6]) == [
        {"n_obs": 1, "n_objects": 4}, {"n_obs": 2, "n_objects": 3}, {"n_obs": 3, "n_objects": 1},
        {"n_obs": 6, "n_objects": 0},
    ]  # fmt: skip


def test_history_marks_the_kept_epoch():
    history = pd.DataFrame({"epoch": [1, 2, 3, 4], "train_loss": [4, 3, 2, 1], "val_loss": [4, 2, 3, 3],
                            "val_auc": [0.6, 0.8, 0.7, 0.7],
                            "kept": [False, True, False, False]})  # fmt: skip
    ax = plot_history(history).axes[0]
    vertical = [line for line in ax.lines if len(set(line.get_xdata())) == 1]
    assert [line.get_xdata()[0] for line in vertical] == [2]
    assert "Kept epoch (2)" in [t.get_text() for t in ax.get_legend().get_texts()]


class ScoredModel:
    """A run-like model: scores by mean magnitude with a tilt towards SN and AGN, a config and a history."""

    classes_ = CLASSES
    name = "tilted"

    def __init__(self, split):
        self.split_ = split
        self.history_ = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1.0, 0.8, 0.7],
                                      "val_loss": [1.0, 0.9, 0.95], "val_auc": [0.8, 0.9, 0.85],
                                      "kept": [False, True, False]})  # fmt: skip

    def config_dict(self):
        return {"lcrnn_version": "0.0-test", "name": self.name, "classes": list(CLASSES),
                "network": {"rnn": "gru", "hidden": 8, "use_context": False},
                "train": {"seed": 7, "epochs": 3},
                "context": {"max_sep_arcsec": 60.0}, "scaler": {"mean": [0.0]}, "class_counts": {"VS": 1},
                "best_epoch": 2, "best_val_auc": 0.9}  # fmt: skip

    def prepare(self, photometry, objects, galaxies=None, first_n=None):
        labels = objects.set_index("object_id")["label"]
        return build_sequences(photometry, labels=labels, classes=CLASSES, first_n=first_n)

    def predict_proba_sequences(self, seqs):
        mag = np.where(seqs.mask, seqs.values[:, :, 1], 0.0).sum(axis=1) / seqs.lengths
        # A fixed per-object noise (from its id) blurs the classes, so VS leak into the tilted SN and AGN.
        noise = np.array([np.random.default_rng(zlib.crc32(str(i).encode())).normal(0, 1.5, 3)
                          for i in seqs.object_ids])  # fmt: skip
        logits = -((mag[:, None] - np.array([15.0, 20.5, 19.0])) ** 2) / 6 + np.array([0.0, 1.0, 1.0]) + noise
        proba = np.exp(logits - logits.max(axis=1, keepdims=True))
        return proba / proba.sum(axis=1, keepdims=True)

    def embed_sequences(self, seqs):
        return {"rnn": np.column_stack([seqs.lengths, seqs.values[:, 0, 1]])}


def test_report_writes_the_purity_sections(toy_survey, tmp_path):
    photometry, objects, galaxies = toy_survey
    split = make_split(objects["object_id"].to_numpy(), objects["label"].to_numpy(), seed=0)
    model = ScoredModel(split)
    describe = tmp_path / "describe"
    describe.mkdir()
    (describe / "fig1_magnitudes.png").write_bytes(b"\x89PNG")
    out = tmp_path / "report"
    with threadpool_limits(1):
        build_report([model], photometry, objects, galaxies, out, tsne_samples=12, n_obs_values=range(1, 4),
                     progress=False, data="surveys/toy", describe=describe)  # fmt: skip

    m = json.loads((out / "metrics.json").read_text())["tilted"]
    seqs = model.prepare(photometry, objects)
    test = seqs.subset(np.flatnonzero(split.part_of(seqs.object_ids) == "test"))
    proba = model.predict_proba_sequences(test)
    predicted = proba.argmax(axis=1)
    expected = classification_report(test.labels, predicted, target_names=list(CLASSES), output_dict=True)
    for name in CLASSES:
        assert m["classification_report"][name]["precision"] == pytest.approx(expected[name]["precision"])
        assert m["classification_report"][name]["recall"] == pytest.approx(expected[name]["recall"])
    purity = confusion_matrix(test.labels, predicted, normalize="pred")
    np.testing.assert_allclose(m["confusion_by_predicted"], purity)
    assert m["calibration"]["ece_top_label"] == pytest.approx(expected_calibration_error(proba, test.labels))
    assert len(m["operating_points"]) == 3 * 4
    assert m["objects_by_n_obs"] == objects_left(test.lengths, range(1, 4))

    run = m["run"]
    assert run["data"] == "surveys/toy" and run["seed"] == 7 and run["best_epoch"] == 2
    assert run["survey_objects"] == objects["label"].value_counts().to_dict()
    assert run["evaluated_objects"] == dict(zip(CLASSES, np.bincount(test.labels, minlength=3).tolist()))
    assert run["trained_with_lcrnn"] == "0.0-test" and run["lcrnn_version"] == __version__
    assert set(run["configuration"]) == {"network", "train", "context"}

    page = (out / "report.html").read_text(encoding="utf-8")
    for heading in ("Run information", "Purity and completeness per class", "Operating points",
                    "Top-label expected calibration error"):
        assert heading in page
    assert 'href="../describe/fig1_magnitudes.png"' in page
    sentence = re.search(r"<p>The AUC \(([\d.]+)\).*?macro F1 \(([\d.]+)\).*?</p>", page)
    assert sentence and float(sentence.group(1)) == pytest.approx(m["auc_hand_till"], abs=5e-4)
    assert float(sentence.group(2)) == pytest.approx(m["f1_macro"], abs=5e-4)
    for key in ("confusion_views", "precision_recall", "reliability"):
        assert f'<img src="{m["figures"][key]}"' in page and (out / m["figures"][key]).stat().st_size > 8000
