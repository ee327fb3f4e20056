"""Stratified k-fold cross-validation over recorded splits, for data sets too small for one held-out part.

Each fold is an ordinary :class:`lcrnn.data.splits.Split`: the fold itself is the test part, and a
stratified share of the other folds is set aside for validation (model selection), so
:meth:`lcrnn.Classifier.fit` takes a fold like any other split. Augmented copies of a light curve
(:func:`lcrnn.data.resample.augment_rare_classes`) must follow their parent: :func:`add_copies` puts a copy
in its parent's part, so no copy of a test light curve is ever trained on. :func:`summarize_folds` turns
per-fold metrics into the mean and spread a table reports.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from lcrnn.data.splits import PARTS, Split
from lcrnn.errors import InvalidTableError

__all__ = ["add_copies", "fold_splits", "summarize_folds"]


def fold_splits(
    object_ids: Sequence[str] | np.ndarray,
    labels: Sequence[str] | np.ndarray,
    n_folds: int = 5,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> list[Split]:
    """One stratified split per fold: the fold is the test part, the rest is divided into train and val.

    Parameters
    ----------
    object_ids : sequence of str
        Unique object ids.
    labels : sequence of str
        Class of each object (same length).
    n_folds : int
        Number of folds (>= 2); every object is tested in exactly one fold.
    val_fraction : float
        Share of the non-test objects kept for validation (0 < f < 1), stratified by class.
    seed : int
        Seed of the fold assignment and of the validation draws.

    Returns
    -------
    list of Split
        ``n_folds`` splits whose test parts partition ``object_ids``.

    Raises
    ------
    InvalidTableError
        If ids repeat, lengths differ, or a class has fewer objects than ``n_folds`` (then some fold would
        have none of it to test): merge or drop that class, or use fewer folds.
    """
    ids = np.asarray(object_ids, dtype=str)
    y = np.asarray(labels, dtype=str)
    if ids.shape != y.shape or ids.ndim != 1:
        raise InvalidTableError(
            f"object_ids and labels must be 1-d and of one length, got {ids.shape} and {y.shape}."
        )
    if len(np.unique(ids)) != ids.size:
        raise InvalidTableError("object_ids repeat; give each object once (copies go in with add_copies).")
    if int(n_folds) != n_folds or n_folds < 2:
        raise InvalidTableError(f"n_folds must be a whole number >= 2, not {n_folds!r}.")
    if not 0.0 < val_fraction < 1.0:
        raise InvalidTableError(f"val_fraction must lie strictly between 0 and 1, not {val_fraction!r}.")
    classes, counts = np.unique(y, return_counts=True)
    small = {str(c): int(n) for c, n in zip(classes, counts, strict=True) if n < n_folds}
    if small:
        raise InvalidTableError(
            f"classes {small} have fewer objects than the {n_folds} folds, so some fold could not test them; "
            "use fewer folds or leave those classes out."
        )
    folds = StratifiedKFold(n_splits=int(n_folds), shuffle=True, random_state=seed)
    splits = []
    for k, (rest, test) in enumerate(folds.split(ids, y)):
        train, val = train_test_split(rest, test_size=val_fraction, stratify=y[rest], random_state=seed + k)
        splits.append(
            Split(train=tuple(sorted(ids[train])), val=tuple(sorted(ids[val])), test=tuple(sorted(ids[test])))
        )
    return splits


def add_copies(
    split: Split,
    copy_ids: Sequence[str] | np.ndarray,
    parent_ids: Sequence[str] | np.ndarray,
    parts: Iterable[str] = ("train",),
) -> Split:
    """The split with each augmented copy added to its parent's part, when that part is one of ``parts``.

    Copies whose parent is in another part (by default: validation or test) are left out, so the test part
    only ever holds original light curves and no copy of a test object is trained on.

    Parameters
    ----------
    split : Split
        Split of the original objects.
    copy_ids, parent_ids : sequence of str
        Each copy's id and the id of the object it was made from (``augment_rare_classes``'s ``parent_id``).
    parts : iterable of str
        Parts that take copies (``"train"``, ``"val"``, ``"test"``).

    Returns
    -------
    Split
        A new split; the original parts are unchanged apart from the copies added.
    """
    parts = tuple(parts)
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise InvalidTableError(f"unknown part(s) {unknown}; choose from {list(PARTS)}.")
    copies = np.asarray(copy_ids, dtype=str)
    parents = np.asarray(parent_ids, dtype=str)
    if copies.shape != parents.shape:
        raise InvalidTableError(
            f"copy_ids and parent_ids differ in length ({copies.size} vs {parents.size})."
        )
    where = split.part_of(parents)
    grown = {part: list(getattr(split, part)) for part in PARTS}
    for part in parts:
        grown[part].extend(copies[where == part].tolist())
    return Split(**{part: tuple(sorted(ids)) for part, ids in grown.items()})


def _spread(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean, sample standard deviation, min and max of the defined values (None and NaN are skipped)."""
    kept = np.array([v for v in values if v is not None and math.isfinite(float(v))], dtype=np.float64)
    if kept.size == 0:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {
        "mean": float(kept.mean()),
        "std": float(kept.std(ddof=1)) if kept.size > 1 else 0.0,
        "min": float(kept.min()),
        "max": float(kept.max()),
        "n": int(kept.size),
    }


def summarize_folds(fold_metrics: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean and spread over folds of what :func:`lcrnn.evaluate.metrics.classification_metrics` returns.

    Parameters
    ----------
    fold_metrics : sequence of dict
        One ``classification_metrics`` result per fold, all with the same ``classes``.

    Returns
    -------
    dict
        ``classes, n_folds``; ``auc_hand_till``, ``f1_macro``, ``accuracy``: ``{mean, std, min, max, n}``
        (sample standard deviation over folds; undefined fold values are skipped and ``n`` counts the rest);
        ``recall`` and ``precision``: that summary per class; ``confusion``: the fold confusion matrices
        summed (rows true class, columns predicted), which is the matrix of the whole data set since every
        object is tested once.
    """
    if not fold_metrics:
        raise InvalidTableError("no fold metrics to summarize.")
    classes = list(fold_metrics[0]["classes"])
    if any(list(m["classes"]) != classes for m in fold_metrics):
        raise InvalidTableError(
            "the folds were scored with different classes; score every fold with the same ones."
        )
    summary: dict[str, Any] = {"classes": classes, "n_folds": len(fold_metrics)}
    for key in ("auc_hand_till", "f1_macro", "accuracy"):
        summary[key] = _spread([m[key] for m in fold_metrics])
    for key in ("recall", "precision"):
        summary[key] = {c: _spread([m[key][c] for m in fold_metrics]) for c in classes}
    counts = np.sum([np.asarray(m["confusion"]["counts"], dtype=np.int64) for m in fold_metrics], axis=0)
    summary["confusion"] = counts.tolist()
    return summary
