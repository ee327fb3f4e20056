"""Summary features of each light curve: how it was sampled, and what shape it has.

A tree or a forest cannot read a sequence, so it is given numbers that summarise one. They answer two
different questions, kept apart on purpose (issue 14):

- **sampling** (:data:`SAMPLING_FEATURES`): how many points, over how many days, how far apart, how precise.
  These describe the survey's schedule and depth, not the source; a classifier that leans on them has learnt
  how a class was observed, which a realistic survey should not give away.
- **shape** (:data:`SHAPE_FEATURES`): amplitude, spread, skew, trend, variability index... from the
  ``light-curve`` package (Malanchev et al. 2021), which computes them in compiled code for many curves at
  once.

Both are computed on each object's first ``max_len`` points in time order: what the RNN reads (paper section
3.1: the first 30). A curve too short for a feature gets NaN there (a skew needs three points, a linear fit
three); trees such as scikit-learn's ``HistGradientBoostingClassifier`` take NaN as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

import light_curve as lc
from lcrnn.data.context import CONTEXT_COLUMNS, ContextConfig, objects_context
from lcrnn.data.sequences import SequenceSet
from lcrnn.errors import InvalidConfigError, InvalidTableError

__all__ = [
    "SAMPLING_FEATURES",
    "SHAPE_FEATURES",
    "feature_table",
    "first_points",
    "light_curve_features",
    "sampling_features",
    "shape_features",
    "summary_features",
    "with_summary",
]

#: How a light curve was observed: number of points, days from first to last, median gap, median error.
SAMPLING_FEATURES: tuple[str, ...] = ("n_points", "duration_days", "median_gap_days", "median_err_mag")


def _shape_extractor() -> lc.Extractor:
    """The ``light-curve`` features that describe a curve's shape and level (not its sampling)."""
    return lc.Extractor(
        lc.Amplitude(), lc.StandardDeviation(), lc.LinearFit(), lc.BeyondNStd(1.0), lc.Skew(), lc.Kurtosis(),
        lc.ReducedChi2(), lc.MaximumSlope(), lc.MedianAbsoluteDeviation(), lc.InterPercentileRange(0.25),
        lc.WeightedMean(), lc.Eta(), lc.MeanVariance(),
    )


#: The shape features, named as ``light-curve`` names them (``amplitude``, ``skew``, ``eta``, ...).
SHAPE_FEATURES: tuple[str, ...] = tuple(_shape_extractor().names)


def first_points(photometry: pd.DataFrame, max_len: int = 30) -> pd.DataFrame:
    """Each object's first ``max_len`` observations in time order, sorted by object id and time.

    ``max_len`` is the RNN's (``NetworkConfig.max_len``; the paper reads the first 30).
    """
    missing = [c for c in ("object_id", "mjd", "mag", "mag_err") if c not in photometry.columns]
    if missing:
        raise InvalidTableError(
            f"the photometry table is missing column(s) {missing}; it has {list(photometry.columns)}. "
            "Read it with lcrnn.data.io or rename the columns."
        )
    if isinstance(max_len, bool) or int(max_len) != max_len or max_len < 1:
        raise ValueError(f"max_len must be a whole number of observations >= 1, got {max_len!r}.")
    ordered = photometry[["object_id", "mjd", "mag", "mag_err"]].assign(
        object_id=photometry["object_id"].astype(str))
    ordered = ordered.sort_values(["object_id", "mjd"], kind="stable")
    return ordered[ordered.groupby("object_id", sort=False).cumcount() < max_len].reset_index(drop=True)


def _bounds(first: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Object ids and the row where each object's points start, for rows sorted by object id."""
    ids = first["object_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if ids.size else np.empty(0, dtype=int)
    return ids[starts], starts


def sampling_features(first: pd.DataFrame) -> pd.DataFrame:
    """:data:`SAMPLING_FEATURES` of rows from :func:`first_points`; a one-point curve has NaN median gap."""
    ids, starts = _bounds(first)
    t = first["mjd"].to_numpy(np.float64)
    group = np.repeat(np.arange(ids.size), np.diff(np.r_[starts, t.size]))
    same_object = np.r_[False, group[1:] == group[:-1]]
    gaps = np.where(same_object, np.diff(t, prepend=np.nan), np.nan)  # the first point of a curve has none
    by = pd.DataFrame({"g": group, "t": t, "gap": gaps,
                       "err": first["mag_err"].to_numpy(np.float64)}).groupby("g", sort=True)
    frame = pd.DataFrame({
        "n_points": by.size().to_numpy(np.float64),
        "duration_days": (by["t"].max() - by["t"].min()).to_numpy(),
        "median_gap_days": by["gap"].median().to_numpy(),  # NaN for one point: no gap to measure
        "median_err_mag": by["err"].median().to_numpy(),
    }, index=pd.Index(ids, name="object_id"))
    return frame


def shape_features(first: pd.DataFrame, n_jobs: int = 1) -> pd.DataFrame:
    """:data:`SHAPE_FEATURES` of rows from :func:`first_points`, NaN where a curve is too short for one."""
    ids, starts = _bounds(first)
    t = first["mjd"].to_numpy(np.float64)
    m = first["mag"].to_numpy(np.float64)
    e = first["mag_err"].to_numpy(np.float64)
    cuts = starts[1:]
    # Own copies: light-curve converts a view of a larger array ~15x more slowly than an array of its own.
    series = [(ti.copy(), mi.copy(), ei.copy())
              for ti, mi, ei in zip(np.split(t, cuts), np.split(m, cuts), np.split(e, cuts), strict=True)]
    if not ids.size:
        return pd.DataFrame(columns=list(SHAPE_FEATURES), index=pd.Index(ids, name="object_id"), dtype=float)
    values = _extract(series, n_jobs)
    return pd.DataFrame(values, columns=list(SHAPE_FEATURES), index=pd.Index(ids, name="object_id"))


def light_curve_features(photometry: pd.DataFrame, max_len: int = 30, n_jobs: int = 1) -> pd.DataFrame:
    """Sampling and shape features of every light curve's first ``max_len`` points, one row per object.

    Parameters
    ----------
    photometry : DataFrame
        ``object_id, mjd, mag, mag_err`` (one band: select it first, e.g. with
        :func:`lcrnn.data.sequences.select_band`).
    max_len : int
        Points read per curve, the RNN's ``NetworkConfig.max_len`` (paper: 30).
    n_jobs : int
        Threads of the ``light-curve`` extraction (-1: all cores).

    Returns
    -------
    DataFrame
        Indexed by ``object_id`` (str, sorted), columns :data:`SAMPLING_FEATURES` then
        :data:`SHAPE_FEATURES`, float64, NaN where a curve is too short for a feature.
    """
    first = first_points(photometry, max_len)
    return sampling_features(first).join(shape_features(first, n_jobs=n_jobs))


def feature_table(photometry: pd.DataFrame, objects: pd.DataFrame, galaxies: pd.DataFrame | None = None,
                  context: ContextConfig | None = None, max_len: int = 30) -> pd.DataFrame:
    """:func:`light_curve_features` joined to the context (``gal_l, gal_b, galaxy_dist_arcsec``).

    One row per object that has photometry and a row in ``objects``, indexed by ``object_id``.
    """
    features = light_curve_features(photometry, max_len)
    ctx = objects_context(objects, galaxies, context)
    ctx = ctx.assign(object_id=ctx["object_id"].astype(str)).set_index("object_id")[list(CONTEXT_COLUMNS)]
    return features.join(ctx.astype(np.float64), how="inner")


def _extract(series: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_jobs: int) -> np.ndarray:
    """:data:`SHAPE_FEATURES` of curves ``(t, mag, err)``, each time-sorted and finite; NaN where too short.

    check=False and sorted=True: the callers sort and validate, so light-curve need not check again.
    """
    return _shape_extractor().many(series, fill_value=np.nan, sorted=True, check=False, n_jobs=n_jobs)


_MIN_DT_DAYS = 1e-4  # ~9 s: what equal observation times are told apart by


def summary_features(seqs: SequenceSet, names: Sequence[str] = SHAPE_FEATURES) -> np.ndarray:
    """Shape features ``names`` of each sequence's real steps, shape (n, len(names)), NaN where too short.

    The features branch of the network (``NetworkConfig.summary``) reads these: computed from the very steps
    the recurrent layers read (``t - t_first``, mag, mag_err in raw units, before scaling), so a light curve cut
    to its first k observations gets the features of those k. Only shape features are offered: how a survey
    sampled a class is not physics of the source, and a model that learns it does not carry to another survey.
    """
    unknown = [n for n in names if n not in SHAPE_FEATURES]
    if unknown:
        raise InvalidConfigError(f"unknown summary feature(s) {unknown}; the known ones are {list(SHAPE_FEATURES)}.")
    out = np.full((len(seqs), len(names)), np.nan)
    if not len(seqs) or not len(names):
        return out
    raw = seqs.values.astype(np.float64)
    # Time order within each curve (augmented, time-jittered steps may be out of it; light-curve needs it).
    t = np.where(seqs.mask, raw[..., 0], np.inf)
    raw = np.take_along_axis(raw, np.argsort(t, axis=1, kind="stable")[..., None], axis=1)
    # Strictly increasing times (light-curve divides by time differences): equal times ~9 s apart.
    step = _MIN_DT_DAYS * np.arange(raw.shape[1])
    raw[..., 0] = np.maximum.accumulate(raw[..., 0] - step, axis=1) + step
    series = [(raw[i, :k, 0].copy(), raw[i, :k, 1].copy(), raw[i, :k, 2].copy())
              for i, k in enumerate(seqs.lengths.tolist())]
    values = _extract(series, 1)
    columns = [SHAPE_FEATURES.index(n) for n in names]
    out[:] = np.asarray(values, np.float64)[:, columns]
    out[~np.isfinite(out)] = np.nan
    return out


def with_summary(seqs: SequenceSet, names: Sequence[str] = SHAPE_FEATURES) -> SequenceSet:
    """``seqs`` with :func:`summary_features` of its (unscaled) steps attached as ``summary``."""
    return dataclasses.replace(seqs, summary=summary_features(seqs, names))
