"""Classification metrics of the paper (section 4.1, Tables 2-3, Fig. 8), all computed by scikit-learn.

Every function returns plain Python numbers, lists and dicts so the results go straight into
``metrics.json``. A value that is undefined (a class absent from the true labels) is ``None`` in the
output, never a silent zero, and the reason is written in the ``notes`` list next to it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.manifold import TSNE
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)
from tqdm.auto import tqdm

from lcrnn.errors import InvalidTableError, LcrnnWarning
from lcrnn.train.calibrate import held_priors
from lcrnn.train.scores import hand_till_auc

__all__ = [
    "auc_vs_n_obs",
    "classification_metrics",
    "expected_calibration_error",
    "reliability_bins",
    "stratified_subsample",
    "threshold_rates",
    "tsne_embedding",
]

#: Most points kept per ROC curve in the JSON output; the figure is indistinguishable beyond this.
ROC_MAX_POINTS = 200


class _Sequences(Protocol):
    """The part of :class:`lcrnn.data.sequences.SequenceSet` these metrics use."""

    labels: np.ndarray | None
    lengths: np.ndarray
    classes: tuple[str, ...] | None

    def truncate(self, first_n: int) -> _Sequences: ...


class _Predictor(Protocol):
    classes_: tuple[str, ...]

    def predict_proba_sequences(self, seqs: Any) -> np.ndarray: ...


def _json_float(value: float) -> float | None:
    """A float for JSON: NaN and infinities become ``None`` (JSON has no NaN)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _json_floats(values: Iterable[float]) -> list[float | None]:
    return [_json_float(v) for v in values]


def _check_inputs(y_true: Any, proba: Any, classes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    p = np.asarray(proba, dtype=np.float64)
    k = len(classes)
    if p.ndim != 2 or p.shape[1] != k:
        raise ValueError(
            f"proba must have shape (n_objects, {k}) for the {k} classes {list(classes)}, got {p.shape}; "
            "pass the output of predict_proba with one column per class, in the order of `classes`."
        )
    if y.ndim != 1 or y.shape[0] != p.shape[0]:
        raise ValueError(
            f"y_true has shape {y.shape} but proba has {p.shape[0]} rows; give one integer label per row."
        )
    if y.shape[0] == 0:
        raise ValueError("no objects to evaluate: y_true and proba are empty.")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"y_true must hold integer class indices 0..{k - 1}, got dtype {y.dtype}; "
            "map label strings with `classes.index(label)` first."
        )
    if y.min() < 0 or y.max() >= k:
        raise ValueError(f"y_true holds indices outside 0..{k - 1} (min {y.min()}, max {y.max()}).")
    if not np.all(np.isfinite(p)):
        raise ValueError("proba holds NaN or infinite values; check the model's output.")
    return y.astype(np.int64), p


def _thin_indices(n: int, max_points: int) -> np.ndarray:
    """Evenly spaced indices that always keep the first and last point of a curve."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def threshold_rates(
    y_true: Any, proba: Any, classes: Sequence[str], thresholds: Iterable[float] = (0.7,)
) -> list[dict[str, Any]]:
    """One-vs-rest TPR and FPR at fixed probability cuts (the paper's Table 3).

    An object counts as positive for class ``c`` when ``proba[:, c] >= threshold``; the negative class is
    the union of all other classes (paper section 5.2).

    Parameters
    ----------
    y_true : array of int, shape (n,)
        True class indices into ``classes``.
    proba : array, shape (n, k)
        Predicted class probabilities.
    classes : sequence of str
        Class names, one per column of ``proba``.
    thresholds : iterable of float
        Probability cuts in [0, 1].

    Returns
    -------
    list of dict
        One row per (class, threshold): ``class, threshold, tpr, fpr, tp, p, fp, n`` where ``tp`` of ``p``
        true members are kept and ``fp`` of ``n`` non-members leak in. ``tpr``/``fpr`` are ``None`` when
        ``p``/``n`` is zero.
    """
    y, p = _check_inputs(y_true, proba, classes)
    rows = []
    for t in thresholds:
        t = float(t)
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"threshold {t} is not a probability; use values in [0, 1].")
        for c, name in enumerate(classes):
            truth = y == c
            tn, fp, fn, tp = confusion_matrix(truth, p[:, c] >= t, labels=[False, True]).ravel()
            n_pos, n_neg = int(tp + fn), int(fp + tn)
            rows.append(
                {
                    "class": str(name),
                    "threshold": t,
                    "tpr": float(tp / n_pos) if n_pos else None,
                    "fpr": float(fp / n_neg) if n_neg else None,
                    "tp": int(tp),
                    "p": n_pos,
                    "fp": int(fp),
                    "n": n_neg,
                }
            )
    return rows


def reliability_bins(truth: Any, prob: Any, bins: int = 10) -> dict[str, list[float]]:
    """Reliability diagram of one binary question: per non-empty equal-width bin of ``prob``, the mean
    probability, the observed frequency (both from scikit-learn's ``calibration_curve``) and the count.

    Bins are ``(lo, hi]`` (0 falls in the first), as ``calibration_curve`` makes them, so the counts line up.
    """
    truth = np.asarray(truth).astype(np.int64)
    prob = np.clip(np.asarray(prob, dtype=np.float64), 0.0, 1.0)
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}.")
    if prob.size == 0:
        return {"prob_pred": [], "prob_true": [], "count": []}
    prob_true, prob_pred = calibration_curve(truth, prob, n_bins=bins, strategy="uniform", pos_label=1)
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], prob), minlength=bins)
    return {
        "prob_pred": _json_floats(prob_pred),
        "prob_true": _json_floats(prob_true),
        "count": [int(c) for c in counts[counts > 0]],
    }


def expected_calibration_error(proba: Any, y: Any, bins: int = 10) -> float:
    """Top-label expected calibration error (Guo et al. 2017): sum over ``bins`` equal-width bins of the
    highest probability of the fraction of objects in the bin times |accuracy - mean highest probability|.

    scikit-learn has no top-label ECE; the per-bin accuracy and confidence come from its ``calibration_curve``
    (:func:`reliability_bins`). ``proba`` is (n, k), ``y`` the true class indices.
    """
    p = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y)
    if p.ndim != 2 or y.ndim != 1 or p.shape[0] != y.shape[0] or y.size == 0:
        raise ValueError(
            f"need proba of shape (n, k) and one class index per row, got {p.shape} and {y.shape}."
        )
    table = reliability_bins(p.argmax(axis=1) == y, p.max(axis=1), bins)
    weight = np.asarray(table["count"], dtype=np.float64) / y.size
    gap = np.abs(np.asarray(table["prob_true"]) - np.asarray(table["prob_pred"]))
    return float(np.sum(weight * gap))


def _notes(names: list[str], support: np.ndarray, predicted: np.ndarray) -> list[str]:
    """Why some values are null: classes absent from the truth, a single class, classes never predicted."""
    notes: list[str] = []
    absent = [name for name, n in zip(names, support) if n == 0]
    if absent:
        notes.append(
            f"class(es) {absent} have no objects in y_true: their recall, ROC AUC and TPR are undefined "
            "(null); the Hand & Till AUC averages only the pairs of classes present."
        )
    if np.count_nonzero(support) < 2:
        notes.append("only one class is present in y_true, so no AUC can be computed.")
    never_predicted = [name for c, name in enumerate(names) if not np.any(predicted == c)]
    if never_predicted:
        notes.append(f"class(es) {never_predicted} are never predicted: their precision is undefined (null).")
    return notes


def _confusion(y: np.ndarray, predicted: np.ndarray, support: np.ndarray) -> dict[str, list[Any]]:
    """Confusion counts, and row fractions with a class absent from ``y`` left null (not zero)."""
    labels = list(range(support.size))
    counts = confusion_matrix(y, predicted, labels=labels)
    fractions = confusion_matrix(y, predicted, labels=labels, normalize="true").tolist()
    for c in labels:
        if support[c] == 0:  # scikit-learn writes zeros here; an empty row has no fractions
            fractions[c] = [None] * support.size
    return {"counts": counts.tolist(), "fractions": fractions}


def _roc_curves(
    y: np.ndarray, p: np.ndarray, names: list[str], max_points: int
) -> dict[str, dict[str, Any]]:
    """One-vs-rest ROC curves and AUCs, thinned to ``max_points``; empty for a class that is all or none."""
    roc: dict[str, dict[str, Any]] = {}
    for c, name in enumerate(names):
        truth = y == c
        if 0 < truth.sum() < truth.size:
            fpr, tpr, _ = roc_curve(truth, p[:, c])
            keep = _thin_indices(fpr.size, max_points)
            roc[name] = {
                "fpr": _json_floats(fpr[keep]),
                "tpr": _json_floats(tpr[keep]),
                "auc": float(roc_auc_score(truth, p[:, c])),
            }
        else:
            roc[name] = {"fpr": [], "tpr": [], "auc": None}
    return roc


def classification_metrics(
    y_true: Any,
    proba: Any,
    classes: Sequence[str],
    thresholds: Iterable[float] = (0.7,),
    *,
    roc_max_points: int = ROC_MAX_POINTS,
) -> dict[str, Any]:
    """Every number the paper reports for one model on one data set.

    Hand & Till AUC (the imbalance-insensitive score the paper selects models by), macro F1 and accuracy
    (Table 2), per-class precision and recall, the confusion matrix (Fig. 6), one-vs-rest ROC curves
    (Fig. 7) and TPR/FPR at probability cuts (Table 3). The predicted class is the most probable one.

    Parameters
    ----------
    y_true : array of int, shape (n,)
        True class indices into ``classes``.
    proba : array, shape (n, k)
        Predicted class probabilities, rows summing to one.
    classes : sequence of str
        Class names, one per column of ``proba``.
    thresholds : iterable of float
        Probability cuts for the ``thresholds`` table.
    roc_max_points : int
        Most points kept per ROC curve, to keep the JSON small.

    Returns
    -------
    dict
        JSON-safe: ``n_objects, classes, support, auc_hand_till, f1_macro, accuracy, precision, recall,
        confusion {counts, fractions}, roc {class: {fpr, tpr, auc}}, thresholds, notes``. Per-class values
        of a class absent from ``y_true`` are ``None``, explained in ``notes``; ``auc_hand_till`` then
        averages the pairs of classes that are present (scikit-learn's behaviour), as ``notes`` says.
    """
    y, p = _check_inputs(y_true, proba, classes)
    k = len(classes)
    labels = list(range(k))
    names = [str(c) for c in classes]
    predicted = p.argmax(axis=1)
    support = np.bincount(y, minlength=k)
    absent = [names[c] for c in labels if support[c] == 0]
    if absent:
        warnings.warn(
            f"evaluating on data without any object of class(es) {absent}; their metrics are null.",
            LcrnnWarning,
            stacklevel=2,
        )
    auc_ht = hand_till_auc(y, p) if np.count_nonzero(support) >= 2 else float("nan")
    precision, recall, _, _ = precision_recall_fscore_support(
        y, predicted, labels=labels, zero_division=np.nan
    )
    return {
        "n_objects": int(y.size),
        "classes": names,
        "support": [int(s) for s in support],
        "auc_hand_till": _json_float(auc_ht),
        "f1_macro": float(f1_score(y, predicted, labels=labels, average="macro", zero_division=0.0)),
        "accuracy": float(accuracy_score(y, predicted)),
        "precision": dict(zip(names, _json_floats(precision))),
        "recall": dict(zip(names, _json_floats(recall))),
        "confusion": _confusion(y, predicted, support),
        "roc": _roc_curves(y, p, names, roc_max_points),
        "thresholds": threshold_rates(y, p, names, thresholds),
        "notes": _notes(names, support, predicted),
    }


def auc_vs_n_obs(
    model: _Predictor,
    seqs: _Sequences,
    n_values: Iterable[int] = range(1, 31),
    *,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Scores when the model sees only the first ``n`` observations of each light curve (paper Fig. 8).

    The inputs themselves are cut with ``seqs.truncate(n)`` (later observations become padding), so this
    measures what a real-time classifier knows after ``n`` detections. A light curve shorter than ``n``
    keeps all its observations, as in the paper.

    Parameters
    ----------
    model : object
        Has ``classes_`` and ``predict_proba_sequences(seqs) -> (n, k)``.
    seqs : SequenceSet
        Labelled, unscaled sequences (the model scales them itself).
    n_values : iterable of int
        Maximum numbers of observations to try, each >= 1.
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of dict
        Per ``n``: ``n_obs, n_truncated`` (objects that lost observations), ``auc_hand_till, f1_macro,
        accuracy, recall, confusion``.
    """
    if seqs.labels is None:
        raise InvalidTableError(
            "these sequences carry no labels; build them from an objects table with a 'label' column."
        )
    classes = tuple(model.classes_)
    if seqs.classes is not None and tuple(seqs.classes) != classes:
        raise InvalidTableError(
            f"the sequences' classes {list(seqs.classes)} differ from the model's {list(classes)}; "
            "prepare them with the same model you evaluate."
        )
    n_values = [int(n) for n in n_values]
    if any(n < 1 for n in n_values):
        raise ValueError(f"n_values must all be >= 1 (a light curve needs one observation), got {n_values}.")
    lengths = np.asarray(seqs.lengths)
    rows = []
    with warnings.catch_warnings(), held_priors(model, seqs):  # priors="auto": one estimate for every n
        # An absent class is reported once by the caller's full evaluation, not once per n.
        warnings.simplefilter("ignore", LcrnnWarning)
        for n in tqdm(n_values, desc="AUC vs observations", disable=not progress, leave=False):
            cut = seqs.truncate(n)
            proba = model.predict_proba_sequences(cut)
            m = classification_metrics(cut.labels, proba, classes, thresholds=())
            rows.append(
                {
                    "n_obs": n,
                    "n_truncated": int(np.count_nonzero(lengths > n)),
                    "auc_hand_till": m["auc_hand_till"],
                    "f1_macro": m["f1_macro"],
                    "accuracy": m["accuracy"],
                    "recall": m["recall"],
                    "confusion": m["confusion"],
                }
            )
    return rows


def tsne_embedding(features: Any, perplexity: float = 20.0, seed: int = 0) -> np.ndarray:
    """Two-dimensional t-SNE map of network activations (paper Fig. 12), via scikit-learn.

    Parameters
    ----------
    features : array, shape (n, d)
        One row per object, e.g. the ``"rnn"`` or ``"dense"`` output of ``embed_sequences``.
    perplexity : float
        t-SNE perplexity (the paper does not say; 20 suits a few thousand points). It is lowered to
        ``(n - 1) / 3`` for small ``n``, since t-SNE needs more than three neighbours per perplexity unit.
    seed : int
        Random seed, for a reproducible map.

    Returns
    -------
    numpy.ndarray, shape (n, 2)
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 4:
        raise ValueError(
            f"t-SNE needs a 2-D array of at least 4 objects, got shape {x.shape}; evaluate more objects."
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("features hold NaN or infinite values; check the model's embeddings.")
    perplexity = float(min(perplexity, (x.shape[0] - 1) / 3.0))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return tsne.fit_transform(x)


def stratified_subsample(labels: Any, n_max: int, seed: int = 0) -> np.ndarray:
    """Indices of at most ``n_max`` objects that keep every small class whole.

    The budget is filled from the rarest class up: each class gets an equal share of what is left, and a
    class smaller than its share is kept entirely, so SN and AGN survive a subsample dominated by VS.

    Parameters
    ----------
    labels : array, shape (n,)
        Class of each object (any hashable values).
    n_max : int
        Largest subsample size, >= 1.
    seed : int
        Random seed of the draw within classes.

    Returns
    -------
    numpy.ndarray of int
        Sorted indices into ``labels``.
    """
    y = np.asarray(labels)
    if n_max < 1:
        raise ValueError(f"n_max must be at least 1, got {n_max}.")
    if y.size <= n_max:
        return np.arange(y.size)
    rng = np.random.default_rng(seed)
    values, counts = np.unique(y, return_counts=True)
    order = np.argsort(counts, kind="stable")
    budget = n_max
    chosen = []
    for i, cls in enumerate(order):
        share = budget // (len(order) - i)
        take = int(min(counts[cls], share))
        members = np.flatnonzero(y == values[cls])
        chosen.append(rng.choice(members, size=take, replace=False))
        budget -= take
    return np.sort(np.concatenate(chosen))
