"""Adversarial validation: can trees tell a survey's light curves from real ones of the same class?

A simulator is good where its light curves cannot be told from real ones (issue 14). For each class, balanced
gradient-boosted trees learn "simulated or real" from the light-curve features (sampling and shape, first
``max_len`` points; never the context, whose galaxy catalogues differ by construction) under stratified
k-fold cross-validation. The out-of-fold ROC AUC is 0.5 where the two are alike and 1 where every curve
gives itself away; the permutation importance of each feature, on the held-out folds, names what does.
The real light curves are first resampled to the survey (:func:`lcrnn.data.resample.resample_survey`),
so that a real curve is compared with what the survey would have seen of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits  # scikit-learn's own dependency
from tqdm.auto import tqdm

from lcrnn.data.features import SAMPLING_FEATURES, SHAPE_FEATURES, light_curve_features
from lcrnn.data.resample import ResampleConfig, resample_survey
from lcrnn.data.tables import Survey
from lcrnn.evaluate.audit import balanced_trees

__all__ = ["LIGHT_CURVE_FEATURES", "REAL_RESAMPLE", "AdversarialScore", "adversarial_validation",
           "separability"]

#: What the adversary reads: the light curves alone.
LIGHT_CURVE_FEATURES: tuple[str, ...] = SAMPLING_FEATURES + SHAPE_FEATURES
MIN_OBJECTS = 10  # fewer simulated or real curves of a class than this: no adversary for it
MAX_SIMULATED = 2000  # simulated curves per class the adversary sees (all when fewer)
TOP_FEATURES = 5
#: How real light curves are made survey-like by default: GOTO-like, curves of 2+ points (as the simulator's).
REAL_RESAMPLE = ResampleConfig(min_points=2)


@dataclass(frozen=True)
class AdversarialScore:
    """How well trees tell one class's simulated curves from real ones, and by which features."""

    auc: float  # out-of-fold ROC AUC of "real"; 0.5: indistinguishable
    n_sim: int
    n_real: int
    top_features: tuple[tuple[str, float], ...]  # (feature, mean AUC lost when it is shuffled), largest first

    def to_dict(self) -> dict[str, Any]:
        return {"auc": self.auc, "n_sim": self.n_sim, "n_real": self.n_real,
                "top_features": dict(self.top_features)}


def _one_class(x: np.ndarray, y: np.ndarray, columns: list[str], folds: int,
               seed: int) -> tuple[float, np.ndarray]:
    """Out-of-fold AUC and held-out permutation importance (mean over folds) for one class."""
    score = np.zeros(y.size)
    importance = np.zeros(len(columns))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (train, test) in enumerate(splitter.split(x, y)):
        model = balanced_trees(seed + k, y[train]).fit(x[train], y[train])
        score[test] = model.predict_proba(x[test])[:, 1]
        found = permutation_importance(model, x[test], y[test], scoring="roc_auc", n_repeats=3,
                                       random_state=seed + k)
        importance += found.importances_mean / folds
    return float(roc_auc_score(y, score)), importance


def separability(sim_features: pd.DataFrame, real_features: pd.DataFrame, sim_labels: pd.Series,
                 real_labels: pd.Series, classes: tuple[str, ...] | None = None, folds: int = 5,
                 seed: int = 0, progress: bool = False) -> tuple[dict[str, AdversarialScore], list[str]]:
    """Per class, adversarial validation of simulated against real feature rows (same columns).

    Returns the scores of the classes with at least ``MIN_OBJECTS`` curves on both sides, and notes naming
    the classes skipped and any subsample of the simulated curves (at most ``MAX_SIMULATED`` per class).
    """
    columns = [c for c in sim_features.columns if c in real_features.columns]
    sim_labels = sim_labels.reindex(sim_features.index).astype(str)
    real_labels = real_labels.reindex(real_features.index).astype(str)
    classes = classes or tuple(sorted(set(sim_labels) & set(real_labels)))
    rng = np.random.default_rng(seed)
    out: dict[str, AdversarialScore] = {}
    notes: list[str] = []
    for cls in tqdm(classes, desc="sim vs real", disable=not progress):
        sim_cls = sim_features.loc[sim_labels == cls, columns]
        real_cls = real_features.loc[real_labels == cls, columns]
        if min(len(sim_cls), len(real_cls)) < max(MIN_OBJECTS, folds):
            notes.append(f"{cls}: {len(sim_cls)} simulated and {len(real_cls)} real light curves; "
                         f"too few for an adversary (each side needs {max(MIN_OBJECTS, folds)}).")
            continue
        if len(sim_cls) > MAX_SIMULATED:
            notes.append(f"{cls}: {MAX_SIMULATED} of {len(sim_cls):,} simulated light curves drawn at "
                         "random.")
            sim_cls = sim_cls.iloc[np.sort(rng.permutation(len(sim_cls))[:MAX_SIMULATED])]
        x = pd.concat([sim_cls, real_cls]).to_numpy(np.float64)
        y = np.r_[np.zeros(len(sim_cls), dtype=int), np.ones(len(real_cls), dtype=int)]
        with threadpool_limits(1):  # as in the audit: one thread per fit
            auc, importance = _one_class(x, y, columns, folds, seed)
        top = np.argsort(importance)[::-1][:TOP_FEATURES]
        out[cls] = AdversarialScore(auc, len(sim_cls), len(real_cls),
                                    tuple((columns[i], float(importance[i])) for i in top))
    return out, notes


def adversarial_validation(sim_features: pd.DataFrame, sim_labels: pd.Series, real: Survey, *, folds: int = 5,
                           seed: int = 0, max_len: int = 30, resample: ResampleConfig | None = REAL_RESAMPLE,
                           progress: bool = False) -> tuple[dict[str, AdversarialScore], list[str]]:
    """Adversarial validation of a survey's light curves against the real labelled survey ``real``.

    ``sim_features`` are as :func:`lcrnn.data.features.feature_table` gives them and ``sim_labels`` are
    indexed by object id; ``real`` is resampled to the survey first unless ``resample`` is None. Returns
    :func:`separability`'s scores and notes, after a note on the resampling.
    """
    if not real.has_labels:
        raise ValueError("the real light curves need labels (a 'label' column) for a per-class comparison.")
    notes: list[str] = []
    if resample is not None:
        n_before = real.n_objects
        real = resample_survey(real, resample, seed=seed)
        notes.append(f"real light curves resampled to the survey (lcrnn.data.resample, seed {seed}): "
                     f"{real.n_objects:,} of {n_before:,} kept {resample.min_points} or more points.")
    real_features = light_curve_features(real.photometry, max_len)
    real_labels = real.objects.assign(object_id=real.objects["object_id"].astype(str)).set_index("object_id")
    scores, more = separability(sim_features[list(LIGHT_CURVE_FEATURES)], real_features, sim_labels,
                                real_labels["label"], folds=folds, seed=seed, progress=progress)
    return scores, notes + more
