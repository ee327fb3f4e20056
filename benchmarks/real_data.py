"""The real-data benchmark: lcrnn on light curves nobody here made (issue 8, item 4).

Real data (``--data``, default ``/work/shared/data``): MANTRA's CRTS transients (VS / SN / AGN through the
reader's label map) plus the Open Supernova Catalog's supernovae of 2010-2014, every light curve resampled to
what GOTO would have seen (:mod:`lcrnn.data.resample`: one band, a window around a transient's peak, ~11-day
gaps, GOTO's errors and depth), GWGC as the galaxy catalogue for the context. Supernovae found in both
catalogues are kept once (from MANTRA). Three comparisons, all on the same stratified folds:

1. the RNN (GRU + weighted focal loss), with and without context, trained and tested by k-fold
   cross-validation (each fold: test = the fold, validation = a stratified 20 % of the rest for model
   selection); optional augmented copies of the rare classes stay in their parent's fold (training only);
2. a feature-based baseline: ``light-curve`` package features of the same resampled light curves (plus the
   same context) into a balanced random forest (``imbalanced-learn``), trained on train + validation;
3. sim-to-real: the same RNN trained only on a simulated survey (:mod:`lcrnn.data.simulate`), scored on each
   fold's test objects; plus how the simulated and real light curves differ, per class, and how well
   gradient-boosted trees tell them apart (lcrnn audit's adversarial validation). ``--sim-variants`` names
   the simulated surveys as CATALOG:POPULATION: the galaxy catalogue the simulated context is computed
   against (``glade``, the paper's, ``gwgc``, the one the real context uses, or ``glade,gwgc``, sky patches of
   either) and the source population
   (``survey``: the simulator's VSX/Veron-like default; ``crts``: the mix a transient survey labels, in
   CRTS's footprint away from the Galactic plane, as MANTRA's transients).

``--finetune-from goto-sim`` (or any run directory) fine-tunes an already trained model on every fold, with the
``--finetune-*`` settings.

    python benchmarks/real_data.py --folds 5 --epochs 50 --augment 2 --sim-objects 20000 --sim-epochs 15 \\
        --sim-variants glade:survey gwgc:survey gwgc:crts --out benchmarks/results/real_data.json

``--difference-sigma 5`` also applies a difference-imaging cut to the real light curves
(:class:`lcrnn.data.resample.ResampleConfig`): quiet points of a VS or AGN go, as in GOTO's catalogue.
``--reported-error survey`` writes GOTO's error for each resampled point instead of the larger of GOTO's and
the source's (the simulated survey's errors are GOTO's).

Prints tables; writes a JSON of every number and a CSV of the per-object test predictions beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from astropy import units as u
from astropy.coordinates import SkyCoord
from imblearn.ensemble import BalancedRandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from tqdm.auto import tqdm

from lcrnn.classifier import Classifier
from lcrnn.data.context import CONTEXT_COLUMNS, ContextConfig, compute_context
from lcrnn.data.features import SAMPLING_FEATURES, SHAPE_FEATURES, feature_table, first_points
from lcrnn.data.real import read_gwgc, read_mantra, read_osc
from lcrnn.data.resample import ResampleConfig, augment_rare_classes, resample_photometry
from lcrnn.data.simulate import SOURCE_POPULATIONS, SimulationConfig, simulate_survey
from lcrnn.data.splits import Split, make_split
from lcrnn.evaluate.adversarial import separability
from lcrnn.evaluate.crossval import add_copies, fold_splits, summarize_folds
from lcrnn.evaluate.metrics import auc_vs_n_obs, classification_metrics
from lcrnn.train.augment import ROBUST, AugmentConfig

CLASSES = ("VS", "SN", "AGN")
DUPLICATE_RADIUS_ARCSEC = 5.0  # an OSC event this close to a MANTRA supernova is the same supernova
MAX_LEN = 30  # observations the RNN reads (paper: the first 30); the features use the same ones
EARLY_N = (1, 2, 3, 5)  # observations seen, for the early-classification AUCs (RNNs and the context forest)
# Source populations for the simulated survey: subtype mixes passed to SimulationConfig.
SIM_POPULATIONS: dict[str, dict[str, Any]] = {
    "survey": dict(SOURCE_POPULATIONS["survey"]),
    # CRTS's transients: what brightens, in a footprint that avoids the Galactic plane (|b| < ~15 deg).
    "crts": {**SOURCE_POPULATIONS["transient"], "min_abs_b_deg": 15.0},
}


# --- data ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RealData:
    """The resampled real survey, and the well-sampled source light curves augmentation draws from."""

    photometry: pd.DataFrame  # GOTO-like, band L
    objects: pd.DataFrame  # object_id, ra, dec, label, source
    galaxies: pd.DataFrame  # GWGC
    source_photometry: pd.DataFrame  # before resampling
    notes: tuple[str, ...]


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        sys.exit(
            f"error: {what} not found at {path}. Pass --data DIR, a folder holding mantra_crts_subset/, "
            "osc_sne_2010_2014/ and gwgc_galaxies/ (the shared real data, /work/shared/data on the team "
            "machine; each folder's SOURCE.md says where it comes from)."
        )
    return path


def _osc_duplicates(mantra: pd.DataFrame, osc: pd.DataFrame) -> np.ndarray:
    """OSC ids of events close to a MANTRA object: one supernova must not sit in two folds."""
    if len(mantra) == 0 or len(osc) == 0:
        return np.empty(0, dtype=str)
    m = SkyCoord(mantra["ra"].to_numpy() * u.deg, mantra["dec"].to_numpy() * u.deg)
    o = SkyCoord(osc["ra"].to_numpy() * u.deg, osc["dec"].to_numpy() * u.deg)
    _, sep, _ = o.match_to_catalog_sky(m)
    return osc["object_id"].to_numpy(dtype=str)[sep.arcsec < DUPLICATE_RADIUS_ARCSEC]


def load_real(data: Path, resample: ResampleConfig, seed: int, max_osc: int | None) -> RealData:
    """Read MANTRA + OSC + GWGC and resample every light curve to GOTO-like."""
    mantra_dir = _require(data / "mantra_crts_subset", "MANTRA (mantra_crts_subset)")
    osc_dir = _require(data / "osc_sne_2010_2014", "the Open Supernova Catalog (osc_sne_2010_2014)")
    gwgc_dir = _require(data / "gwgc_galaxies", "GWGC (gwgc_galaxies)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        galaxies = read_gwgc(gwgc_dir)
        mantra = read_mantra(mantra_dir)
        osc = read_osc(osc_dir)
    notes = [str(w.message) for w in caught]

    duplicates = _osc_duplicates(mantra.objects, osc.objects)
    osc_objects = osc.objects[~osc.objects["object_id"].isin(duplicates)]
    notes.append(f"{len(duplicates)} OSC events lie within {DUPLICATE_RADIUS_ARCSEC}\" of a MANTRA object "
                 "and were left out (the same supernova, kept once from MANTRA).")
    if max_osc is not None and len(osc_objects) > max_osc:
        osc_objects = osc_objects.sample(n=max_osc, random_state=seed)
        notes.append(f"OSC supernovae subsampled to {max_osc} (--max-osc).")
    objects = pd.concat([mantra.objects.assign(source="MANTRA"), osc_objects.assign(source="OSC")],
                        ignore_index=True)
    if objects["object_id"].duplicated().any():
        raise SystemExit("error: MANTRA and OSC ids collide; the benchmark needs unique object ids.")
    source = pd.concat([mantra.photometry, osc.photometry], ignore_index=True)
    source = source[source["object_id"].isin(objects["object_id"])].reset_index(drop=True)
    photometry = resample_photometry(source, objects, resample, seed=seed)
    kept = objects["object_id"].isin(photometry["object_id"])
    notes.append(f"{int((~kept).sum())} objects kept fewer than {resample.min_points} GOTO-like points after "
                 "resampling and were left out.")
    objects = objects[kept].reset_index(drop=True)
    return RealData(photometry, objects[["object_id", "ra", "dec", "label", "source"]], galaxies,
                    source, tuple(notes))


def _labels_of(objects: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    return objects.set_index("object_id").loc[ids, "label"].to_numpy(dtype=str)


# --- light-curve features for the baseline and the sim/real comparison --------------------------------------


# The light-curve features (sampling and shape, first MAX_LEN points) are lcrnn.data.features' own, as in
# lcrnn audit: feature_table adds the context to them.


def _forest(seed: int) -> Any:
    # Balanced random forest: each tree sees a bootstrap with every class undersampled to the rarest one.
    return make_pipeline(
        SimpleImputer(strategy="median"),
        BalancedRandomForestClassifier(n_estimators=500, sampling_strategy="all", replacement=True,
                                       bootstrap=False, random_state=seed, n_jobs=2),
    )


# --- models on folds ----------------------------------------------------------------------------------------


def _short(metrics: dict[str, Any]) -> dict[str, Any]:
    """A fold's metrics without the ROC curves (they would dominate the JSON)."""
    return {k: v for k, v in metrics.items() if k != "roc"}


def _prediction_rows(model: str, fold: int, ids: np.ndarray, y: np.ndarray, proba: np.ndarray,
                     objects: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(proba, columns=[f"p_{c}" for c in CLASSES])
    frame.insert(0, "object_id", ids)
    frame.insert(1, "model", model)
    frame.insert(2, "fold", fold)
    frame.insert(3, "label", np.asarray(CLASSES)[y])
    frame["predicted"] = np.asarray(CLASSES)[proba.argmax(axis=1)]
    frame["source"] = objects.set_index("object_id").loc[ids, "source"].to_numpy()
    return frame


class MeanOfModels:
    """An ensemble of fitted classifiers of one recipe and other seeds: the mean of their probabilities."""

    def __init__(self, members: list[Classifier]) -> None:
        self.members = members
        self.classes_ = members[0].classes_

    def prepare(self, *args: Any, **kwargs: Any) -> Any:
        return self.members[0].prepare(*args, **kwargs)

    def predict_proba_sequences(self, seqs: Any) -> np.ndarray:
        return np.mean([m.predict_proba_sequences(seqs) for m in self.members], axis=0)


def _score_classifier(clf: Classifier | MeanOfModels, real: RealData, test_ids: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    """Probabilities of a fitted RNN on the test objects, columns in CLASSES order."""
    if tuple(clf.classes_) != CLASSES:
        raise SystemExit(f"error: the model's classes {clf.classes_} are not {CLASSES}.")
    objects = real.objects[real.objects["object_id"].isin(test_ids)][["object_id", "ra", "dec", "label"]]
    photometry = real.photometry[real.photometry["object_id"].isin(test_ids)]
    seqs = clf.prepare(photometry, objects, real.galaxies)
    return seqs.object_ids.astype(str), seqs.labels, clf.predict_proba_sequences(seqs)


def _early_aucs(clf: Classifier | MeanOfModels, real: RealData, test_ids: tuple[str, ...]) -> dict[str, float]:
    """Hand & Till AUC of the test objects after their first n observations (a shorter curve keeps all)."""
    objects = real.objects[real.objects["object_id"].isin(test_ids)][["object_id", "ra", "dec", "label"]]
    photometry = real.photometry[real.photometry["object_id"].isin(test_ids)]
    seqs = clf.prepare(photometry, objects, real.galaxies)
    return {str(row["n_obs"]): row["auc_hand_till"] for row in auc_vs_n_obs(clf, seqs, EARLY_N)}


def early_table(results: dict[str, Any]) -> pd.DataFrame:
    """Mean ± std over folds of the AUC after 1, 2, 3, 5 observations, for the models that recorded it."""
    rows = []
    for name, result in results["models"].items():
        folds = [f["auc_first_n"] for f in result.get("folds", []) if "auc_first_n" in f]
        if folds:
            rows.append({"model": name, **{f"AUC after {n}": f"{np.mean([f[str(n)] for f in folds]):.3f} ± "
                                           f"{np.std([f[str(n)] for f in folds], ddof=1):.3f}" for n in EARLY_N}})
    return pd.DataFrame(rows)


def run_rnn(real: RealData, splits: list[Split], use_context: bool, augment: int, args: argparse.Namespace,
            resample: ResampleConfig, robust: AugmentConfig | None = None, features: bool = False
            ) -> tuple[list[dict], pd.DataFrame, list[float]]:
    """Train and test the RNN on each fold: per-fold metrics, test predictions, seconds per fold.

    ``robust`` augments every training light curve afresh each epoch (:mod:`lcrnn.train.augment`);
    ``features`` adds the features branch (``NetworkConfig.summary``: light-curve shape features).
    """
    name = (f"rnn_{'context' if use_context else 'no_context'}{f'_aug{augment}' if augment else ''}"
            f"{'_features' if features else ''}{'_robust' if robust is not None else ''}"
            f"{f'_noise{robust.noise_scale:g}' if robust is not None and robust.noise_scale > 1 else ''}"
            f"{f'_x{args.ensemble}' if args.ensemble > 1 else ''}{f'_bag{args.bagging}' if args.bagging > 1 else ''}")
    copies_phot = copies_obj = None
    if augment:
        labelled = real.objects[["object_id", "ra", "dec", "label"]]
        copies_phot, copies_obj = augment_rare_classes(real.source_photometry, labelled, factor=augment,
                                                       seed=args.seed, config=resample)
    metrics, predictions, seconds = [], [], []
    for k, split in enumerate(tqdm(splits, desc=name)):
        start = time.perf_counter()
        photometry, objects = real.photometry, real.objects[["object_id", "ra", "dec", "label"]]
        if augment:
            split = add_copies(split, copies_obj["object_id"], copies_obj["parent_id"])
            used = copies_obj[copies_obj["object_id"].isin(split.train)]
            extra = copies_phot[copies_phot["object_id"].isin(used["object_id"])]
            photometry = pd.concat([photometry, extra], ignore_index=True)
            objects = pd.concat([objects, used[objects.columns]], ignore_index=True)
        members = []
        inner = cross_bagging_splits(split, real.objects, args.bagging, args.seed + k) if args.bagging > 1 else []
        for j in range(max(args.ensemble, args.bagging)):  # seeds of fold k: args.seed + k, then + 1000, ...
            clf = Classifier(rnn="gru", loss="focal", gamma=args.gamma, use_context=use_context,
                             epochs=args.epochs, hidden=args.hidden, dense=args.dense,
                             batch_size=args.batch_size, lr=args.lr, seed=args.seed + k + 1000 * j, max_len=MAX_LEN,
                             select_by=args.select_by, early_stopping=args.early_stopping, progress=False,
                             augment=robust, summary=SHAPE_FEATURES if features else ())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                members.append(clf.fit(photometry, objects, real.galaxies, split=inner[j] if inner else split))
        clf = members[0] if len(members) == 1 else MeanOfModels(members)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ids, y, proba = _score_classifier(clf, real, split.test)
        metrics.append(_short(classification_metrics(y, proba, CLASSES)))
        best = [m.best_epoch_ for m in members]
        last = [int(m.history_["epoch"].max()) for m in members]
        metrics[-1]["best_epoch"], metrics[-1]["last_epoch"] = (best, last) if len(members) > 1 else (best[0], last[0])
        metrics[-1]["auc_first_n"] = _early_aucs(clf, real, split.test)
        predictions.append(_prediction_rows(name, k, ids, y, proba, real.objects))
        seconds.append(time.perf_counter() - start)
    return metrics, pd.concat(predictions, ignore_index=True), seconds


def cross_bagging_splits(split: Split, objects: pd.DataFrame, k: int, seed: int) -> list[Split]:
    """K splits of one fold's non-test objects: each validates on one stratified K-th and trains on the rest,
    so every non-test object trains K - 1 members and selects the epoch of one; the test part stays."""
    inner_ids = np.array(split.train + split.val)
    inner = fold_splits(inner_ids, _labels_of(objects, inner_ids), n_folds=k, seed=seed)
    return [Split(train=part.train + part.val, val=part.test, test=split.test) for part in inner]


def run_forest(real: RealData, features: pd.DataFrame, splits: list[Split], name: str, columns: list[str],
               seed: int, early: dict[int, pd.DataFrame] | None = None) -> tuple[list[dict], pd.DataFrame, list[float]]:
    """The balanced-random-forest baseline on the same folds (trained on train + validation).

    ``early`` (n -> features of each light curve's first n points) scores the fold's forest, trained on whole
    light curves as the RNNs are, on its test objects' first n points: the forest's early classification.
    """
    label_index = {c: i for i, c in enumerate(CLASSES)}
    metrics, predictions, seconds = [], [], []
    for k, split in enumerate(tqdm(splits, desc=name)):
        start = time.perf_counter()
        train_ids = np.asarray(split.train + split.val)
        test_ids = np.asarray(split.test)
        y_train = np.array([label_index[c] for c in _labels_of(real.objects, train_ids)])
        y_test = np.array([label_index[c] for c in _labels_of(real.objects, test_ids)])
        proba = np.zeros((test_ids.size, len(CLASSES)))
        with warnings.catch_warnings():
            # imbalanced-learn's parallel trees trip a harmless scikit-learn warning about joblib config
            warnings.filterwarnings("ignore", message=".*sklearn.utils.parallel.delayed.*")
            model = _forest(seed + k).fit(features.loc[train_ids, columns].to_numpy(), y_train)
            proba[:, model.classes_] = model.predict_proba(features.loc[test_ids, columns].to_numpy())
            first_n = {str(n): model.predict_proba(table.loc[test_ids, columns].to_numpy())
                       for n, table in (early or {}).items()}
        metrics.append(_short(classification_metrics(y_test, proba, CLASSES)))
        if first_n:
            metrics[-1]["auc_first_n"] = {
                n: classification_metrics(y_test, _full_proba(p, model.classes_), CLASSES)["auc_hand_till"]
                for n, p in first_n.items()}
        predictions.append(_prediction_rows(name, k, test_ids, y_test, proba, real.objects))
        seconds.append(time.perf_counter() - start)
    return metrics, pd.concat(predictions, ignore_index=True), seconds


def robust_recipe(args: argparse.Namespace) -> AugmentConfig:
    """lcrnn's robust recipe, with noisier photometry up to ``--noise-scale`` when asked."""
    return replace(ROBUST, noise_scale=args.noise_scale)


def _full_proba(proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """A forest's probabilities with a column for every class (a class absent from training gets 0)."""
    full = np.zeros((proba.shape[0], len(CLASSES)))
    full[:, classes] = proba
    return full


def sim_config(variant: str, args: argparse.Namespace) -> SimulationConfig:
    """The simulated survey of a CATALOG:POPULATION variant (see the module docstring)."""
    catalog, _, population = variant.partition(":")
    if population not in SIM_POPULATIONS:
        raise SystemExit(f"error: sim variant {variant!r}: population must be one of {sorted(SIM_POPULATIONS)}")
    return SimulationConfig(n_objects=args.sim_objects, seed=args.seed, galaxy_catalog=catalog,
                            class_fractions=dict(zip(CLASSES, args.sim_fractions, strict=True)),
                            **SIM_POPULATIONS[population])


def run_sim_to_real(sim, real: RealData, splits: list[Split], use_context: bool, args: argparse.Namespace,
                    variant: str) -> tuple[list[dict], pd.DataFrame, dict[str, Any]]:
    """Train on the simulated survey only; score on each real fold's test part (as the others)."""
    name = (f"sim_{variant.replace(':', '_')}_{'context' if use_context else 'no_context'}"
            f"{'_features' if args.sim_features else ''}{'_robust' if args.sim_robust else ''}")
    labels = sim.objects["label"].astype(str).to_numpy()
    split = make_split(sim.objects["object_id"].astype(str).to_numpy(), labels, seed=args.seed)
    clf = Classifier(rnn="gru", loss="focal", gamma=args.gamma, use_context=use_context,
                     epochs=args.sim_epochs, hidden=args.hidden, dense=args.dense, batch_size=128,
                     lr=args.lr, seed=args.seed, max_len=MAX_LEN, progress=False,
                     early_stopping=args.early_stopping, augment=robust_recipe(args) if args.sim_robust else None,
                     summary=SHAPE_FEATURES if args.sim_features else ())
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(sim.photometry, sim.objects, sim.galaxies, split=split)
    train_seconds = time.perf_counter() - start
    seqs = clf.prepare(sim.photometry, sim.objects, sim.galaxies)
    test = seqs.subset(np.flatnonzero(split.part_of(seqs.object_ids) == "test"))
    in_sim = _short(classification_metrics(test.labels, clf.predict_proba_sequences(test), CLASSES))
    metrics, predictions = [], []
    for k, fold in enumerate(splits):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ids, y, proba = _score_classifier(clf, real, fold.test)
            early = _early_aucs(clf, real, fold.test)
        metrics.append({**_short(classification_metrics(y, proba, CLASSES)), "auc_first_n": early})
        predictions.append(_prediction_rows(name, k, ids, y, proba, real.objects))
    info = {"train_seconds": train_seconds, "best_epoch": clf.best_epoch_,
            "last_epoch": int(clf.history_["epoch"].max()), "in_sim_test": in_sim}
    return metrics, pd.concat(predictions, ignore_index=True), info, clf


def run_finetune(start: Classifier, real: RealData, splits: list[Split], args: argparse.Namespace,
                 name: str) -> tuple[list[dict], pd.DataFrame, list[float]]:
    """Fine-tune a sim-trained RNN on each real fold's training part (lcrnn.train.finetune); test as the others."""
    metrics, predictions, seconds = [], [], []
    objects = real.objects[["object_id", "ra", "dec", "label"]]
    for k, split in enumerate(tqdm(splits, desc=name)):
        tic = time.perf_counter()
        clf = Classifier(loss="focal", gamma=args.gamma, epochs=args.finetune_epochs, batch_size=args.batch_size,
                         lr=args.finetune_lr, seed=args.seed + k, select_by=args.select_by,
                         early_stopping=args.early_stopping,
                         freeze_rnn_epochs=args.freeze_rnn_epochs, progress=False,
                         augment=robust_recipe(args) if args.robust else None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(real.photometry, objects, real.galaxies, split=split, init=start.model_,
                    scaler=args.finetune_scaler)
            ids, y, proba = _score_classifier(clf, real, split.test)
        metrics.append(_short(classification_metrics(y, proba, CLASSES)))
        metrics[-1]["best_epoch"] = clf.best_epoch_
        metrics[-1]["last_epoch"] = int(clf.history_["epoch"].max())
        metrics[-1]["auc_first_n"] = _early_aucs(clf, real, split.test)
        predictions.append(_prediction_rows(name, k, ids, y, proba, real.objects))
        seconds.append(time.perf_counter() - tic)
    return metrics, pd.concat(predictions, ignore_index=True), seconds


# --- sim versus real ----------------------------------------------------------------------------------------


def describe_light_curves(photometry: pd.DataFrame, objects: pd.DataFrame, galaxies: pd.DataFrame | None,
                          context: ContextConfig) -> pd.DataFrame:
    """Per object (first MAX_LEN points, what the model reads): what its light curve is like."""
    first = first_points(photometry, MAX_LEN)
    grouped = first.groupby("object_id")
    gaps = first.assign(gap=grouped["mjd"].diff()).groupby("object_id")["gap"].median()
    frame = pd.DataFrame({
        "n_points": grouped.size(),
        "duration_days": grouped["mjd"].max() - grouped["mjd"].min(),
        "median_gap_days": gaps,
        "median_mag": grouped["mag"].median(),
        "amplitude_mag": grouped["mag"].max() - grouped["mag"].min(),
        "median_err_mag": grouped["mag_err"].median(),
    })
    ctx = compute_context(objects, galaxies, context).set_index("object_id")
    frame["galaxy_within_60"] = (ctx["galaxy_dist_arcsec"] < context.max_distance_arcsec).astype(float)
    frame["abs_gal_b"] = ctx["gal_b"].abs()
    frame["label"] = objects.set_index("object_id")["label"].astype(str)
    return frame


def compare_distributions(sim_desc: pd.DataFrame, real_desc: pd.DataFrame) -> pd.DataFrame:
    """Median (and quartiles) of each description per class, simulated beside real."""
    rows = []
    for cls in CLASSES:
        for column in [c for c in sim_desc.columns if c != "label"]:
            row: dict[str, Any] = {"class": cls, "quantity": column}
            for tag, desc in (("sim", sim_desc), ("real", real_desc)):
                values = desc.loc[desc["label"] == cls, column].dropna()
                if column == "galaxy_within_60":
                    row[f"{tag}"] = f"{values.mean():.0%}"
                    row[f"{tag}_median"] = float(values.mean())
                else:
                    q = values.quantile([0.25, 0.5, 0.75]).to_numpy()
                    row[f"{tag}"] = f"{q[1]:.3g} [{q[0]:.3g}, {q[2]:.3g}]"
                    row[f"{tag}_median"] = float(q[1])
            rows.append(row)
    return pd.DataFrame(rows)


def domain_separability(sim_features: pd.DataFrame, real_features: pd.DataFrame, sim_labels: pd.Series,
                        real_labels: pd.Series, seed: int) -> dict[str, Any]:
    """Per class, how well trees tell simulated from real light curves (lcrnn audit's adversarial validation,
    5-fold CV ROC AUC; 0.5: indistinguishable), with the features whose shuffling costs the most AUC."""
    scores, _ = separability(sim_features, real_features, sim_labels, real_labels, classes=CLASSES, seed=seed)
    return {cls: score.to_dict() for cls, score in scores.items()}


# --- tables -------------------------------------------------------------------------------------------------


def _pm(spread: dict[str, Any]) -> str:
    if spread["mean"] is None:
        return "n/a"
    return f"{spread['mean']:.3f} ± {spread['std']:.3f}"


def model_table(summaries: dict[str, dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for name, s in summaries.items():
        row = {"model": name, "AUC (H&T)": _pm(s["auc_hand_till"]), "F1 macro": _pm(s["f1_macro"]),
               "accuracy": _pm(s["accuracy"])}
        row.update({f"recall {c}": _pm(s["recall"][c]) for c in CLASSES})
        rows.append(row)
    return pd.DataFrame(rows)


def paired_vs_forest(results: dict[str, Any], reference: str = "forest_context") -> dict[str, dict[str, Any]]:
    """Each model's per-fold Hand & Till AUC minus the reference forest's on the same fold: mean, spread, wins."""
    if reference not in results["models"]:
        return {}
    ref = [f["auc_hand_till"] for f in results["models"][reference]["folds"]]
    out = {}
    for name, result in results["models"].items():
        folds = result.get("folds", [])
        if name == reference or len(folds) != len(ref):
            continue
        diff = np.array([f["auc_hand_till"] for f in folds]) - np.array(ref)
        out[name] = {"mean": float(diff.mean()), "std": float(diff.std(ddof=1)) if diff.size > 1 else None,
                     "folds_won": int((diff > 0).sum()), "folds": diff.round(4).tolist()}
    return out


def recall_by_source(predictions: pd.DataFrame) -> pd.DataFrame:
    """Recall of each class split by where the light curves come from, pooled over folds."""
    hit = predictions.assign(hit=predictions["label"] == predictions["predicted"])
    table = hit.groupby(["model", "label", "source"])["hit"].agg(["mean", "size"]).reset_index()
    table["recall"] = [f"{m:.2f} (n={n})" for m, n in zip(table["mean"], table["size"], strict=True)]
    return table.pivot_table(index="model", columns=["label", "source"], values="recall", aggfunc="first",
                             sort=False)


def _print(title: str, frame: pd.DataFrame, index: bool = False) -> None:
    print(f"\n## {title}\n")
    print(frame.to_string(index=index))


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPU cores, torch "
            f"{torch.__version__} ({'CUDA' if torch.cuda.is_available() else 'CPU'}), "
            f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f} at start")


# --- main ---------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"),
                        help="folder with mantra_crts_subset/, osc_sne_2010_2014/, gwgc_galaxies/")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/real_data.json"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=50, help="RNN epochs per fold (real data)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=100, help="GRU size (paper Table 1: 100 or 150)")
    parser.add_argument("--dense", type=int, default=100, help="dense layer size (paper Table 1: 100 or 200)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads; 1 is fastest on a busy small machine (more threads thrash)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--gamma", type=float, default=2.0, help="focal-loss gamma")
    parser.add_argument("--select-by", choices=("val_auc", "val_loss"), default="val_auc",
                        help="epoch each real-data RNN fold keeps (the simulated models keep the best val AUC)")
    parser.add_argument("--early-stopping", type=int, default=None,
                        help="stop an RNN after this many epochs without a better validation score "
                             "(default: run every epoch)")
    parser.add_argument("--augment", type=int, default=0,
                        help="also run the context RNN with this many resampled copies per rare light curve")
    parser.add_argument("--max-osc", type=int, default=None, help="cap on OSC supernovae (default: all)")
    parser.add_argument("--min-points", type=int, default=2,
                        help="fewest GOTO-like points a resampled curve keeps (the simulator's catalogue: 2)")
    parser.add_argument("--sim-objects", type=int, default=20_000,
                        help="simulated survey size; 0 skips sim-to-real")
    parser.add_argument("--sim-fractions", type=float, nargs=3, default=(0.6, 0.2, 0.2),
                        metavar=("VS", "SN", "AGN"))
    parser.add_argument("--sim-epochs", type=int, default=15)
    parser.add_argument("--sim-variants", nargs="+", default=["glade:survey", "gwgc:survey", "gwgc:crts"],
                        metavar="CATALOG:POPULATION",
                        help="simulated surveys to train on: catalogue glade|gwgc, population survey|crts")
    parser.add_argument("--difference-sigma", type=float, default=None,
                        help="keep only real points this many sigma off the quiescent level (GOTO: 5)")
    parser.add_argument("--reported-error", choices=("larger", "survey"), default="larger",
                        help="error column of resampled real points: the larger of GOTO's and the source's "
                             "(default), or GOTO's own at that magnitude")
    parser.add_argument("--robust", action="store_true",
                        help="also run the context RNN with the robust augmentations (lcrnn.train.augment.ROBUST), "
                             "and fine-tune with them")
    parser.add_argument("--noise-scale", type=float, default=1.0,
                        help="robust recipe: noisier photometry, errors times up to this factor with their scatter "
                             "(AugmentConfig.noise_scale; 1: off)")
    parser.add_argument("--finetune-epochs", type=int, default=0,
                        help="also fine-tune each sim-trained context RNN on every real fold for this many epochs")
    parser.add_argument("--finetune-lr", type=float, default=1e-4, help="learning rate of the fine-tuning")
    parser.add_argument("--finetune-from", nargs="*", default=[], metavar="RUN",
                        help="also fine-tune these trained runs (a run directory or a shipped model's name, "
                             "e.g. goto-sim) on every real fold, with the --finetune-* settings")
    parser.add_argument("--freeze-rnn-epochs", type=int, default=0,
                        help="fine-tuning: epochs the recurrent layers stay fixed")
    parser.add_argument("--finetune-scaler", choices=("keep", "refit"), default="keep",
                        help="fine-tuning: keep the simulated survey's scaler, or refit it on each real fold")
    parser.add_argument("--rnn-variants", nargs="*", default=["context", "no_context"],
                        choices=("context", "no_context", "context_robust", "context_features",
                                 "context_features_robust"),
                        help="the real-data RNNs to run (none: skip); --robust and --features add theirs")
    parser.add_argument("--features", action="store_true",
                        help="also run the context RNN with the features branch (light-curve shape features beside "
                             "the RNN summary), plain and, with --robust, robust")
    parser.add_argument("--bagging", type=int, default=1,
                        help="RNNs from scratch: the mean of K members per fold, each validated on another "
                             "stratified K-th of the fold's non-test objects and trained on the rest")
    parser.add_argument("--ensemble", type=int, default=1,
                        help="real-data RNNs: average the probabilities of this many seeds per fold")
    parser.add_argument("--sim-features", action="store_true",
                        help="train the sim-to-real RNNs with the features branch")
    parser.add_argument("--sim-robust", action="store_true",
                        help="train the sim-to-real RNNs with the robust augmentations too")
    parser.add_argument("--no-forests", action="store_true", help="skip the forests (they take a while)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.bagging > 1 and (args.ensemble > 1 or args.augment):
        raise SystemExit("error: --bagging replaces --ensemble and does not take --augment copies")
    if args.ensemble < 1 or args.bagging < 1:
        raise SystemExit(f"error: --ensemble and --bagging must be 1 or more, not {args.ensemble}, {args.bagging}")
    if args.noise_scale != 1.0 and not (args.robust or args.sim_robust or any("robust" in v for v in args.rnn_variants)):
        raise SystemExit("error: --noise-scale changes the robust recipe: add --robust or --sim-robust")
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    timing: dict[str, float] = {}
    machine = _machine()
    context = ContextConfig()
    resample = ResampleConfig(min_points=args.min_points, difference_sigma=args.difference_sigma,
                              reported_error=args.reported_error)

    tic = time.perf_counter()
    real = load_real(args.data, resample, args.seed, args.max_osc)
    timing["load_and_resample"] = time.perf_counter() - tic
    counts = real.objects.groupby(["label", "source"]).size().unstack(fill_value=0).reindex(list(CLASSES))
    counts["total"] = counts.sum(axis=1)
    _print("Real data after GOTO-like resampling (objects per class and source)", counts, index=True)
    for note in real.notes:
        print(f"  note: {note[:300]}")

    splits = fold_splits(real.objects["object_id"], real.objects["label"], n_folds=args.folds, seed=args.seed)
    results: dict[str, Any] = {"models": {}}
    predictions: list[pd.DataFrame] = []

    tic = time.perf_counter()
    features = feature_table(real.photometry, real.objects, real.galaxies, context, max_len=MAX_LEN)
    timing["features"] = time.perf_counter() - tic
    # The third forest sees only how many points, over how long and how far apart: what sampling alone gives.
    forests = {
        "forest_context": list(features.columns),
        "forest_no_context": [c for c in features.columns if c not in CONTEXT_COLUMNS],
        "forest_sampling_only": list(SAMPLING_FEATURES),
    }
    early = ({} if args.no_forests else
             {n: feature_table(real.photometry, real.objects, real.galaxies, context, max_len=n) for n in EARLY_N})
    for name, columns in ({} if args.no_forests else forests).items():
        tic = time.perf_counter()
        metrics, preds, seconds = run_forest(real, features, splits, name, columns, args.seed,
                                             early if name == "forest_context" else None)
        results["models"][name] = {"folds": metrics, "summary": summarize_folds(metrics), "seconds": seconds}
        predictions.append(preds)
        timing[name] = time.perf_counter() - tic

    named = {"context": (True, 0, None, False), "no_context": (False, 0, None, False),
             "context_robust": (True, 0, robust_recipe(args), False), "context_features": (True, 0, None, True),
             "context_features_robust": (True, 0, robust_recipe(args), True)}
    variants = ([named[v] for v in args.rnn_variants]
                + ([(True, args.augment, None, False)] if args.augment else [])
                + ([(True, 0, robust_recipe(args), False)] if args.robust else [])
                + ([(True, 0, None, True)] + ([(True, 0, robust_recipe(args), True)] if args.robust else []) if args.features
                   else []))
    for use_context, augment, robust, with_features in variants:
        tic = time.perf_counter()
        metrics, preds, seconds = run_rnn(real, splits, use_context, augment, args, resample, robust, with_features)
        name = preds["model"].iloc[0]
        results["models"][name] = {"folds": metrics, "summary": summarize_folds(metrics), "seconds": seconds}
        predictions.append(preds)
        timing[name] = time.perf_counter() - tic

    for run in args.finetune_from:
        tic = time.perf_counter()
        tuned = f"finetune_{Path(run).name.replace('-', '_')}"
        if tuned in results["models"]:
            raise SystemExit(f"error: --finetune-from names two runs {Path(run).name!r}; rename one")
        metrics, preds, seconds = run_finetune(Classifier.load(run, device="cpu"), real, splits, args, tuned)
        results["models"][tuned] = {"folds": metrics, "summary": summarize_folds(metrics), "seconds": seconds}
        predictions.append(preds)
        timing[tuned] = time.perf_counter() - tic

    if args.sim_objects:
        results["sim"] = {}
        for variant in args.sim_variants:
            tic = time.perf_counter()
            config = sim_config(variant, args)
            sim = simulate_survey(config)
            timing[f"simulate {variant}"] = time.perf_counter() - tic
            results["sim"][variant] = {"n_objects": args.sim_objects,
                                       "fractions": dict(zip(CLASSES, args.sim_fractions, strict=True)),
                                       "galaxy_catalog": [asdict(m) for m in config.galaxy_catalogs],
                                       "vs_mix": dict(config.vs_mix), "agn_mix": dict(config.agn_mix),
                                       "counts": sim.objects["label"].value_counts().to_dict()}
            for use_context in (True, False):
                tic = time.perf_counter()
                metrics, preds, info, sim_clf = run_sim_to_real(sim, real, splits, use_context, args, variant)
                name = preds["model"].iloc[0]
                results["models"][name] = {"folds": metrics, "summary": summarize_folds(metrics), **info}
                predictions.append(preds)
                timing[name] = time.perf_counter() - tic
                if use_context and args.finetune_epochs:
                    tic = time.perf_counter()
                    tuned = f"finetune_{name}"
                    metrics, preds, seconds = run_finetune(sim_clf, real, splits, args, tuned)
                    results["models"][tuned] = {"folds": metrics, "summary": summarize_folds(metrics),
                                                "seconds": seconds}
                    predictions.append(preds)
                    timing[tuned] = time.perf_counter() - tic

            tic = time.perf_counter()
            sim_desc = describe_light_curves(sim.photometry, sim.objects, sim.galaxies, context)
            real_desc = describe_light_curves(real.photometry, real.objects, real.galaxies, context)
            distributions = compare_distributions(sim_desc, real_desc)
            sim_features = feature_table(sim.photometry, sim.objects, sim.galaxies, context, max_len=MAX_LEN)
            separability = domain_separability(
                sim_features, features, sim.objects.set_index("object_id")["label"].astype(str),
                real.objects.set_index("object_id")["label"].astype(str), args.seed)
            results["sim"][variant]["distributions"] = distributions.drop(columns=["sim", "real"]).to_dict(
                orient="records")
            results["sim"][variant]["separability"] = separability
            results["sim"][variant]["distributions_text"] = distributions[["class", "quantity", "sim", "real"]
                                                                          ].to_dict(orient="records")
            timing[f"sim_vs_real {variant}"] = time.perf_counter() - tic

    summaries = {name: r["summary"] for name, r in results["models"].items()}
    _print(f"Stratified {args.folds}-fold cross-validation: mean ± std over folds", model_table(summaries))
    _print("Early classification: Hand & Till AUC after the first n observations, mean ± std over folds",
           early_table(results))
    results["paired_vs_forest"] = paired_vs_forest(results)
    _print("Paired per-fold difference of Hand & Till AUC from forest_context (mean ± std, folds won)",
           pd.DataFrame([{"model": n, "AUC − forest": f"{d['mean']:+.3f} ± {d['std']:.3f}",
                          "folds won": f"{d['folds_won']}/{len(d['folds'])}"}
                         for n, d in results["paired_vs_forest"].items() if d["std"] is not None]))
    for name, s in summaries.items():
        matrix = pd.DataFrame(s["confusion"], index=[f"true {c}" for c in CLASSES], columns=list(CLASSES))
        _print(f"Confusion matrix, all folds summed: {name}", matrix, index=True)
    all_predictions = pd.concat(predictions, ignore_index=True)
    by_source = recall_by_source(all_predictions)
    _print("Recall by class and source (pooled over folds)", by_source, index=True)
    if args.sim_objects:
        sim_auc = {n: r["in_sim_test"]["auc_hand_till"] for n, r in results["models"].items()
                   if "in_sim_test" in r}
        print("\nsim-trained models on their own simulated test part, Hand & Till AUC: "
              + ", ".join(f"{n} {a:.3f}" for n, a in sim_auc.items()))
        for variant, sim_result in results["sim"].items():
            _print(f"Simulated ({variant}) vs real GOTO-like light curves: median [quartiles] per class "
                   "(first 30 points)", pd.DataFrame(sim_result["distributions_text"]))
            rows = [{"class": c, "AUC sim-vs-real": f"{v['auc']:.3f}",
                     "n sim / real": f"{v['n_sim']} / {v['n_real']}",
                     "most telling features": ", ".join(list(v["top_features"])[:4])}
                    for c, v in sim_result["separability"].items()]
            _print(f"How well trees tell simulated ({variant}) from real light curves (5-fold CV)",
                   pd.DataFrame(rows))

    timing["total"] = time.perf_counter() - started
    print("\nseconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timing.items()))
    results.update({
        "command": "python benchmarks/real_data.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "resample": asdict(resample),
        "counts": {c: {s: int(n) for s, n in row.items()}
                   for c, row in counts.to_dict(orient="index").items()},
        "data_notes": list(real.notes),
        "recall_by_source": {model: {f"{label}/{source}": value for (label, source), value in row.items()}
                             for model, row in by_source.to_dict(orient="index").items()},
        "timing_seconds": timing,
        "splits": [s.to_dict() for s in splits],
    })
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, default=str))
    all_predictions.to_csv(args.out.with_suffix(".predictions.csv"), index=False)
    print(f"wrote {args.out} and {args.out.with_suffix('.predictions.csv')}")
    return results


if __name__ == "__main__":
    main()
