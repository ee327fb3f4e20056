"""The audit: what a classifier can lean on in a labelled survey, besides the shape of its light curves.

A model's test AUC says how well it separates the classes, not what it separates them by. If the galaxy
distance or the number of points already gives the label away, a network can score well without reading a
light curve at all (issue 14). :func:`audit_survey` measures that with class-balanced gradient-boosted trees
(scikit-learn's ``HistGradientBoostingClassifier``, ``class_weight="balanced"``) under stratified k-fold
cross-validation, on five feature sets:

- ``context``: galactic l, b and the nearest-galaxy distance (the RNN's context input, paper section 2.3);
- ``sampling``: number of points, duration, median gap, median error (:data:`SAMPLING_FEATURES`);
- ``shape``: ``light-curve`` features of the magnitudes (:data:`SHAPE_FEATURES`);
- ``context_sampling``: the first two, what a classifier has without the light curves' shapes;
- ``all``: everything.

Each set's score is the Hand & Till AUC, its mean and spread over the folds, every fold on the same objects.
With real light curves, :func:`lcrnn.evaluate.adversarial.adversarial_validation` adds how well trees tell
the survey's curves of each class from real ones. The page (JSON, bar chart, HTML) is drawn by
:mod:`lcrnn.evaluate.audit_page`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits  # scikit-learn's own dependency
from tqdm.auto import tqdm

from lcrnn.data.context import CONTEXT_COLUMNS, ContextConfig
from lcrnn.data.features import SAMPLING_FEATURES, SHAPE_FEATURES, feature_table
from lcrnn.data.tables import Survey
from lcrnn.errors import InvalidTableError
from lcrnn.evaluate.metrics import stratified_subsample
from lcrnn.model.config import NetworkConfig
from lcrnn.train.scores import hand_till_auc

if TYPE_CHECKING:
    from lcrnn.data.resample import ResampleConfig
    from lcrnn.evaluate.adversarial import AdversarialScore

__all__ = ["FEATURE_SETS", "AuditResult", "SetScore", "audit_features", "audit_survey", "balanced_trees"]

#: The feature sets the audit scores, in the order the page shows them.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "context": CONTEXT_COLUMNS,
    "sampling": SAMPLING_FEATURES,
    "shape": SHAPE_FEATURES,
    "context_sampling": CONTEXT_COLUMNS + SAMPLING_FEATURES,
    "all": CONTEXT_COLUMNS + SAMPLING_FEATURES + SHAPE_FEATURES,
}


SMALL_SAMPLE = 1000  # fewer training objects than this: no early stopping, small leaves (balanced_trees)
SMALL_CLASS = 100  # ... or fewer objects of one class than this


@dataclass(frozen=True)
class SetScore:
    """Hand & Till AUC of the trees on one feature set: mean and standard deviation over the folds."""

    auc: float
    auc_std: float
    folds: tuple[float, ...]
    features: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"auc": self.auc, "auc_std": self.auc_std, "folds": list(self.folds),
                "features": list(self.features)}


@dataclass(frozen=True)
class AuditResult:
    """What :func:`audit_survey` found; :meth:`to_dict` is ``audit.json``.

    ``scores`` maps each name of :data:`FEATURE_SETS` to its :class:`SetScore`; ``adversarial`` maps each
    class to its :class:`~lcrnn.evaluate.adversarial.AdversarialScore` when real light curves were given.
    """

    scores: Mapping[str, SetScore]
    n_objects: int  # objects scored (after any subsample)
    n_objects_total: int  # labelled objects in the survey
    class_counts: Mapping[str, int]  # objects scored per class
    folds: int
    seed: int
    max_len: int  # points of each light curve the features read (the RNN's max_len)
    notes: tuple[str, ...] = ()
    adversarial: Mapping[str, AdversarialScore] | None = None
    adversarial_notes: tuple[str, ...] = field(default=())

    @property
    def shape_gain(self) -> float:
        """What the light curves' shapes add to the trees: AUC of ``all`` minus ``context_sampling``."""
        return self.scores["all"].auc - self.scores["context_sampling"].auc

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: score.to_dict() for name, score in self.scores.items()}
        out.update({"n_objects": self.n_objects, "n_objects_total": self.n_objects_total,
                    "class_counts": dict(self.class_counts), "folds": self.folds, "seed": self.seed,
                    "max_len": self.max_len,
                    "model": "HistGradientBoostingClassifier(class_weight='balanced')",
                    "notes": list(self.notes)})
        if self.adversarial is not None:
            out["adversarial"] = {cls: score.to_dict() for cls, score in self.adversarial.items()}
            out["adversarial_notes"] = list(self.adversarial_notes)
        return out


def balanced_trees(seed: int, y_train: np.ndarray | None = None) -> HistGradientBoostingClassifier:
    """The audit's classifier: gradient-boosted trees that weight every class alike (NaN taken as is).

    Early stopping (10 % of the training part held out, stratified; stop after 10 rounds without gain) keeps
    the many fits of an audit short (AUC 0.991 with, 0.990 without, on 3,000 simulated objects). With fewer
    than ``SMALL_SAMPLE`` training objects, or fewer than ``SMALL_CLASS`` of a class (real data sets, small
    surveys, tests), a 10 % hold-out is too noisy and leaves of 20 objects could not isolate the rare class,
    so there the trees run all their rounds with leaves of 5.
    """
    small = False
    if y_train is not None:
        counts = np.unique(y_train, return_counts=True)[1]
        small = len(y_train) < SMALL_SAMPLE or counts.min() < SMALL_CLASS
    return HistGradientBoostingClassifier(class_weight="balanced", early_stopping=not small,
                                          min_samples_leaf=5 if small else 20, random_state=seed)


def _labelled(survey: Survey, classes: tuple[str, ...] | None) -> pd.DataFrame:
    """The survey's objects with a label (of ``classes`` when given)."""
    if not survey.has_labels:
        raise InvalidTableError("the audit needs labels: the objects table has no 'label' column with "
                                "values.")
    objects = survey.objects[survey.objects["label"].notna()]
    if classes is not None:
        objects = objects[objects["label"].astype(str).isin(classes)]
    return objects.assign(object_id=objects["object_id"].astype(str), label=objects["label"].astype(str))


def _subsample(objects: pd.DataFrame, max_objects: int | None, seed: int) -> tuple[pd.DataFrame, list[str]]:
    """At most ``max_objects`` objects, rare classes kept whole; a note saying what was left out."""
    if max_objects is None or len(objects) <= max_objects:
        return objects, []
    keep = stratified_subsample(objects["label"].to_numpy(), max_objects, seed=seed)
    kept = objects.iloc[keep]
    before, after = objects["label"].value_counts(), kept["label"].value_counts()
    capped = [f"{c} {after.get(c, 0):,} of {n:,}" for c, n in before.items() if after.get(c, 0) < n]
    whole = [c for c, n in before.items() if after.get(c, 0) == n]
    note = (f"subsampled to {len(kept):,} of {len(objects):,} objects (max_objects={max_objects:,}): "
            f"{', '.join(capped)}; {', '.join(whole) or 'no class'} kept whole. The Hand & Till AUC does not "
            "depend on the class proportions, so this changes its spread, not its expectation.")
    return kept, [note]


def _check_folds(labels: np.ndarray, folds: int) -> None:
    if isinstance(folds, bool) or int(folds) != folds or folds < 2:
        raise ValueError(f"folds must be a whole number >= 2, got {folds!r}.")
    values, counts = np.unique(labels, return_counts=True)
    if values.size < 2:
        raise InvalidTableError(f"the audit needs two or more classes; found only {list(values)}.")
    small = [f"{v} ({n})" for v, n in zip(values, counts, strict=True) if n < folds]
    if small:
        raise InvalidTableError(
            f"class(es) {', '.join(small)} have fewer objects than the {folds} folds; lower the number of "
            "folds, or drop those classes from the objects table."
        )


def audit_features(features: pd.DataFrame, labels: pd.Series, folds: int = 5, seed: int = 0,
                   sets: Mapping[str, tuple[str, ...]] = FEATURE_SETS, progress: bool = False
                   ) -> dict[str, SetScore]:
    """Cross-validated Hand & Till AUC of :func:`balanced_trees` on each feature set of ``features``.

    ``features`` is indexed like ``labels`` (one row per object) and holds every column the sets name. All
    sets are scored on the same stratified folds.
    """
    y_names = labels.reindex(features.index).astype(str).to_numpy()
    _check_folds(y_names, folds)
    classes, y = np.unique(y_names, return_inverse=True)
    splitter = StratifiedKFold(n_splits=int(folds), shuffle=True, random_state=seed)
    splits = list(splitter.split(np.zeros(y.size), y))
    scores: dict[str, SetScore] = {}
    # Many small fits: one thread each is faster than OpenMP's threads fighting over a busy small machine.
    with threadpool_limits(1), tqdm(total=len(sets) * len(splits), desc="audit", disable=not progress) as bar:
        for name, columns in sets.items():
            x = features[list(columns)].to_numpy(np.float64)
            fold_auc = []
            for k, (train, test) in enumerate(splits):
                bar.set_postfix_str(name)
                model = balanced_trees(seed + k, y[train]).fit(x[train], y[train])
                proba = np.zeros((test.size, classes.size))
                proba[:, model.classes_] = model.predict_proba(x[test])
                fold_auc.append(hand_till_auc(y[test], proba))
                bar.update()
            scores[name] = SetScore(float(np.mean(fold_auc)), float(np.std(fold_auc)),
                                    tuple(float(a) for a in fold_auc), tuple(columns))
    return scores


def audit_survey(survey: Survey, *, real: Survey | None = None, folds: int = 5, seed: int = 0,
                 max_objects: int | None = None, classes: tuple[str, ...] | None = None,
                 context: ContextConfig | None = None, max_len: int | None = None,
                 resample: ResampleConfig | None | str = "default", progress: bool = False) -> AuditResult:
    """Audit a labelled survey: how well trees classify it from context, sampling, shape and all of them.

    Parameters
    ----------
    survey : Survey
        Labelled tables (e.g. ``lcrnn.data.io.read_survey(dir)`` or ``simulate_survey(config)``); one band.
        Its ``galaxies`` (None: every object gets the dummy distance) give the context.
    real : Survey, optional
        Real labelled light curves of the same classes: adds the per-class adversarial validation of the
        survey's light curves against them (:func:`lcrnn.evaluate.adversarial.adversarial_validation`).
    folds, seed : int
        Stratified k-fold cross-validation and the seed of folds, subsample and trees.
    max_objects : int, optional
        Score at most this many objects: rare classes whole, the common ones capped (said in ``notes``).
    classes : tuple of str, optional
        Labels to audit; default every label found.
    context : ContextConfig, optional
        The nearest-galaxy distance's limit and dummy value; default ``ContextConfig()``.
    max_len : int, optional
        Points of each light curve the features read; default the RNN's ``NetworkConfig.max_len``.
    resample : ResampleConfig, None or "default"
        How ``real`` is made survey-like first (:func:`lcrnn.data.resample.resample_survey`); "default" is
        :data:`lcrnn.evaluate.adversarial.REAL_RESAMPLE` (GOTO-like, 2+ points); None when ``real`` already is
        survey-like (e.g. written by ``lcrnn import --resample``).
    progress : bool
        Show progress bars.
    """
    max_len = NetworkConfig().max_len if max_len is None else max_len
    objects = _labelled(survey, classes)
    n_total = len(objects)
    objects, notes = _subsample(objects, max_objects, seed)
    photometry = survey.photometry[survey.photometry["object_id"].astype(str).isin(objects["object_id"])]
    features = feature_table(photometry, objects, survey.galaxies, context, max_len=max_len)
    labels = objects.set_index("object_id")["label"]
    scores = audit_features(features, labels, folds=folds, seed=seed, progress=progress)
    counts = labels.reindex(features.index).value_counts().sort_index()
    adversarial, adversarial_notes = None, ()
    if real is not None:
        from lcrnn.evaluate.adversarial import adversarial_validation  # it imports this module's trees

        from lcrnn.evaluate.adversarial import REAL_RESAMPLE

        adversarial, adversarial_notes = adversarial_validation(
            features, labels, real, folds=folds, seed=seed, max_len=max_len,
            resample=REAL_RESAMPLE if resample == "default" else resample, progress=progress)
    return AuditResult(scores=scores, n_objects=len(features), n_objects_total=n_total,
                       class_counts={str(k): int(v) for k, v in counts.items()}, folds=int(folds), seed=seed,
                       max_len=max_len, notes=tuple(notes), adversarial=adversarial,
                       adversarial_notes=tuple(adversarial_notes))
