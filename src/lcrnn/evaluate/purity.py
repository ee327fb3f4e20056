"""What an observer choosing follow-up targets needs to know: how pure each class's calls are (issue 16).

The weighted losses buy recall of the rare classes by tilting the probabilities towards them, so a report
that shows only recall (confusion normalised by true class, ROC curves) hides that most SN and AGN calls can
be variable stars. :func:`purity_metrics` adds, all from scikit-learn:

- the per-class precision, recall and F1 (``classification_report``);
- the confusion matrix normalised by predicted class (``confusion_matrix(normalize="pred")``: purity);
- one-vs-rest precision-recall curves with average precision and the class's base rate;
- reliability diagrams (per class and top-label, ``calibration_curve``) and the top-label expected
  calibration error;
- the operating points: the lowest probability threshold at which each class's purity reaches 50, 80,
  90 and 95 %, and the completeness there (from ``precision_recall_curve``).

Every value is plain JSON, ``None`` where undefined.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    classification_report,
    confusion_matrix,
    precision_recall_curve,
)

from lcrnn.evaluate.metrics import (
    _check_inputs,
    _json_float,
    _json_floats,
    _thin_indices,
    expected_calibration_error,
    reliability_bins,
)

__all__ = [
    "CALIBRATION_BINS",
    "PURITY_TARGETS",
    "objects_left",
    "operating_points",
    "precision_recall_curves",
    "purity_metrics",
]

#: Purities (precisions) the operating-point table looks for.
PURITY_TARGETS = (0.5, 0.8, 0.9, 0.95)
#: Completeness (recall) at which the purity of each class's calls is quoted.
RECALL_TARGET = 0.5
#: Equal-width probability bins of the reliability diagrams and the expected calibration error.
CALIBRATION_BINS = 10
#: Most points kept per precision-recall curve in the JSON output.
PR_MAX_POINTS = 200


def _json_nested(value: Any) -> Any:
    """scikit-learn's report dict with NaN as ``None`` and numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): _json_nested(v) for k, v in value.items()}
    if isinstance(value, (float, np.floating)):
        return _json_float(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return value


def per_class_report(y: np.ndarray, predicted: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """scikit-learn's ``classification_report`` as a dict; a precision of a class never predicted is null."""
    report = classification_report(
        y, predicted, labels=list(range(len(names))), target_names=list(names), output_dict=True,
        zero_division=np.nan,
    )  # fmt: skip
    return _json_nested(report)


def confusion_by_predicted(y: np.ndarray, predicted: np.ndarray, k: int) -> list[list[float | None]]:
    """Column fractions (purity): of the objects called class j, the fraction of each true class.

    A column of a class never predicted is null, where scikit-learn writes zeros.
    """
    fractions = confusion_matrix(y, predicted, labels=list(range(k)), normalize="pred").tolist()
    called = np.bincount(predicted, minlength=k)
    for j in range(k):
        if called[j] == 0:
            for row in fractions:
                row[j] = None
    return fractions


def _pr_points(recall: np.ndarray, max_points: int) -> np.ndarray:
    """Indices that keep the PR curve's shape: its ends and the highest threshold at every recall level."""
    n = recall.size
    _, first_in_reversed = np.unique(recall[::-1], return_index=True)
    keep = np.unique(np.concatenate([[0, n - 1], n - 1 - first_in_reversed]))
    return keep[_thin_indices(keep.size, max_points)]


def precision_recall_curves(
    y: np.ndarray, p: np.ndarray, names: Sequence[str], max_points: int = PR_MAX_POINTS
) -> dict[str, dict[str, Any]]:
    """One-vs-rest precision-recall curve per class, with its average precision and base rate.

    The base rate (the class's fraction of the objects) is the precision of a classifier that guesses.
    A class absent from ``y`` (or that is every object) has no curve and null values.
    """
    curves: dict[str, dict[str, Any]] = {}
    for c, name in enumerate(names):
        truth = y == c
        base_rate = float(truth.mean())
        if not 0 < truth.sum() < truth.size:
            curves[name] = {"precision": [], "recall": [], "threshold": [], "average_precision": None,
                            "base_rate": base_rate}  # fmt: skip
            continue
        precision, recall, thresholds = precision_recall_curve(truth, p[:, c])
        keep = _pr_points(recall, max_points)
        curves[name] = {
            "precision": _json_floats(precision[keep]),
            "recall": _json_floats(recall[keep]),
            # The last point (recall 0, precision 1) has no threshold in scikit-learn's output.
            "threshold": [_json_float(thresholds[i]) if i < thresholds.size else None for i in keep],
            "average_precision": float(average_precision_score(truth, p[:, c])),
            "base_rate": base_rate,
        }
    return curves


def operating_points(
    y: np.ndarray, p: np.ndarray, names: Sequence[str], targets: Iterable[float] = PURITY_TARGETS
) -> list[dict[str, Any]]:
    """Per class and target purity: the lowest probability threshold whose purity reaches it.

    From ``precision_recall_curve`` (thresholds ascending): the first threshold with precision >= target,
    which keeps the most objects, so the completeness there is the highest at that purity. ``threshold``,
    ``purity``, ``completeness``, ``n_selected`` and ``n_true`` are ``None`` when it is never reached.
    """
    rows = []
    for c, name in enumerate(names):
        truth = y == c
        curve = precision_recall_curve(truth, p[:, c]) if 0 < truth.sum() < truth.size else None
        for target in targets:
            row: dict[str, Any] = {"class": str(name), "target": float(target), "threshold": None,
                                   "purity": None, "completeness": None, "n_selected": None, "n_true": None}
            if curve is not None:
                precision, recall, thresholds = curve
                reached = np.flatnonzero(precision[:-1] >= target)
                if reached.size:
                    i = int(reached[0])
                    selected = p[:, c] >= thresholds[i]
                    row.update(threshold=float(thresholds[i]), purity=float(precision[i]),
                               completeness=float(recall[i]), n_selected=int(selected.sum()),
                               n_true=int((selected & truth).sum()))  # fmt: skip
            rows.append(row)
    return rows


def purity_at_recall(
    y: np.ndarray, p: np.ndarray, names: Sequence[str], recall_target: float = RECALL_TARGET
) -> dict[str, float | None]:
    """Per class, the best purity among thresholds whose completeness is at least ``recall_target``."""
    out: dict[str, float | None] = {}
    for c, name in enumerate(names):
        truth = y == c
        if not 0 < truth.sum() < truth.size:
            out[name] = None
            continue
        precision, recall, _ = precision_recall_curve(truth, p[:, c])
        out[name] = float(precision[recall >= recall_target].max())
    return out


def reliability(y: np.ndarray, p: np.ndarray, names: Sequence[str], bins: int) -> dict[str, Any]:
    """Reliability diagrams: one-vs-rest per class (``p[:, c]`` against ``y == c``) and top-label."""
    predicted = p.argmax(axis=1)
    return {
        "per_class": {name: reliability_bins(y == c, p[:, c], bins) for c, name in enumerate(names)},
        "top_label": reliability_bins(predicted == y, p.max(axis=1), bins),
    }


def purity_metrics(
    y_true: Any,
    proba: Any,
    classes: Sequence[str],
    *,
    targets: Iterable[float] = PURITY_TARGETS,
    bins: int = CALIBRATION_BINS,
    pr_max_points: int = PR_MAX_POINTS,
) -> dict[str, Any]:
    """The purity and calibration numbers of one model on one data set (the predicted class is the argmax).

    Returns
    -------
    dict
        ``classification_report`` (scikit-learn's dict), ``confusion_by_predicted`` (column fractions),
        ``precision_recall`` {class: {precision, recall, threshold, average_precision, base_rate}},
        ``reliability`` {per_class, top_label}: each {prob_pred, prob_true, count},
        ``calibration`` {ece_top_label, bins, mean_confidence, accuracy}, ``operating_points`` (list of
        rows) and ``purity_at_recall`` {recall, purity {class: value}}.
    """
    names = [str(c) for c in classes]
    y, p = _check_inputs(y_true, proba, names)
    predicted = p.argmax(axis=1)
    return {
        "classification_report": per_class_report(y, predicted, names),
        "confusion_by_predicted": confusion_by_predicted(y, predicted, len(names)),
        "precision_recall": precision_recall_curves(y, p, names, pr_max_points),
        "reliability": reliability(y, p, names, bins),
        "calibration": {
            "ece_top_label": expected_calibration_error(p, y, bins),
            "bins": int(bins),
            "mean_confidence": float(p.max(axis=1).mean()),
            "accuracy": float((predicted == y).mean()),
        },
        "operating_points": operating_points(y, p, names, targets),
        "purity_at_recall": {"recall": RECALL_TARGET, "purity": purity_at_recall(y, p, names)},
    }


def objects_left(lengths: Any, n_values: Iterable[int]) -> list[dict[str, int]]:
    """How many objects have at least ``n`` observations, for each ``n`` of the AUC-against-n plot.

    Beyond a light curve's length the model sees nothing new, so the curve at large ``n`` is set by these few.
    """
    lengths = np.asarray(lengths)
    return [{"n_obs": int(n), "n_objects": int(np.count_nonzero(lengths >= n))} for n in n_values]
