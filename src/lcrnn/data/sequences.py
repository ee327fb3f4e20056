"""Padded time-series arrays for the network: the batch route of a light curve into its input matrix.

Each light curve becomes the paper's input matrix ``X_T`` (section 2.3): per observation the time since the
first observation in days, the magnitude and its error. Light curves are cut to the first ``max_len`` (30)
observations and zero-padded after their end; ``lengths`` says where each one ends, so the network can pack
the sequences and padded steps cost nothing and change nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lcrnn.data.context import CONTEXT_COLUMNS
from lcrnn.errors import InvalidLightCurveError, InvalidTableError

__all__ = ["FEATURES", "SequenceSet", "band_list", "build_sequences", "select_band", "step_features"]

FEATURES: tuple[str, ...] = ("t", "mag", "mag_err")  # t = mjd - mjd of the first observation [days]


def step_features(t_rel: np.ndarray, mag: np.ndarray, mag_err: np.ndarray) -> np.ndarray:
    """The network's raw per-step input ``(t - t_first [days], mag, mag_err)``, float32, shape (..., 3).

    The one definition of a step: :func:`build_sequences` (batch) and the incremental classifier (served) both
    call it, so a light curve becomes the same numbers whichever route it takes. ``t_rel`` is computed in
    float64 by the caller (MJDs lose days' fractions in float32).
    """
    return np.stack([np.asarray(t_rel, np.float64), np.asarray(mag, np.float64),
                     np.asarray(mag_err, np.float64)], axis=-1).astype(np.float32)


def _preview(ids: Sequence[Any] | np.ndarray, k: int = 5) -> str:
    ids = [str(i) for i in list(ids)[:k]]
    return ", ".join(ids) + (", ..." if len(ids) == k else "")


@dataclass(frozen=True, eq=False)
class SequenceSet:
    """A batch of padded light curves with their context and labels, aligned by row.

    Attributes
    ----------
    object_ids : numpy.ndarray of str, shape (n,)
    values : numpy.ndarray of float32, shape (n, max_len, 3)
        Features ``(t - t_first [days], mag, mag_err)``; exactly zero after each light curve's end.
    lengths : numpy.ndarray of int64, shape (n,)
        Number of real observations of each light curve (at least 1).
    context : numpy.ndarray of float32, shape (n, 3), or None
        ``(gal_l, gal_b, galaxy_dist_arcsec)`` per object.
    labels : numpy.ndarray of int64, shape (n,), or None
        Index into ``classes``.
    classes : tuple of str, or None
        Class names, in the order of the label indices.
    summary : numpy.ndarray of float, shape (n, k), or None
        Summary features of each light curve's steps (:func:`lcrnn.data.features.with_summary`; NaN where a
        curve is too short for one), for a network with a features branch. :meth:`truncate` drops them,
        since they described the whole curve; compute them again on the truncated set.
    """

    object_ids: np.ndarray
    values: np.ndarray
    lengths: np.ndarray
    context: np.ndarray | None = None
    labels: np.ndarray | None = None
    classes: tuple[str, ...] | None = None
    summary: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.object_ids)
        if self.values.ndim != 3 or self.values.shape[0] != n or self.values.shape[2] != len(FEATURES):
            raise ValueError(
                f"values must have shape ({n}, max_len, {len(FEATURES)}), got {self.values.shape}."
            )
        if self.lengths.shape != (n,):
            raise ValueError(f"lengths must have shape ({n},), got {self.lengths.shape}.")
        if n and (self.lengths.min() < 1 or self.lengths.max() > self.values.shape[1]):
            raise ValueError(f"lengths must lie in [1, {self.values.shape[1]}] (max_len).")
        if self.context is not None and self.context.shape != (n, len(CONTEXT_COLUMNS)):
            raise ValueError(
                f"context must have shape ({n}, {len(CONTEXT_COLUMNS)}), got {self.context.shape}."
            )
        if self.summary is not None and (self.summary.ndim != 2 or self.summary.shape[0] != n):
            raise ValueError(f"summary must have shape ({n}, n_features), got {self.summary.shape}.")
        if self.labels is not None:
            if self.labels.shape != (n,):
                raise ValueError(f"labels must have shape ({n},), got {self.labels.shape}.")
            if (
                self.classes is not None
                and n
                and (self.labels.min() < 0 or self.labels.max() >= len(self.classes))
            ):
                raise ValueError(f"labels must index into the {len(self.classes)} classes {self.classes}.")

    def __len__(self) -> int:
        return len(self.object_ids)

    @property
    def max_len(self) -> int:
        """Number of time steps of the padded array."""
        return int(self.values.shape[1])

    @property
    def mask(self) -> np.ndarray:
        """Boolean (n, max_len): True on real observations, False on padding."""
        return np.arange(self.max_len)[None, :] < self.lengths[:, None]

    def subset(self, index: np.ndarray | Sequence[int] | slice) -> SequenceSet:
        """The rows picked by ``index`` (integer positions, a boolean mask or a slice), as a new set.

        Parameters
        ----------
        index
            Anything numpy accepts to pick rows of a 1-d array.

        Returns
        -------
        SequenceSet
            Copies of the chosen rows; the classes are kept.
        """
        if not isinstance(index, slice):
            index = np.asarray(index)
            if index.dtype == bool and index.shape != (len(self),):
                raise IndexError(f"A boolean index must have shape ({len(self)},), got {index.shape}.")

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else np.array(a[index], copy=True)

        return SequenceSet(
            object_ids=pick(self.object_ids),
            values=pick(self.values),
            lengths=pick(self.lengths),
            context=pick(self.context),
            labels=pick(self.labels),
            classes=self.classes,
            summary=pick(self.summary),
        )

    def truncate(self, first_n: int) -> SequenceSet:
        """Keep only the first ``first_n`` observations of each light curve (paper section 5.3).

        The array keeps its width so that models see the same shapes for every ``first_n``; the steps past
        each new length are zeroed. Times stay relative to the first observation, which is unchanged.

        Parameters
        ----------
        first_n
            Number of observations to keep, at least 1.

        Returns
        -------
        SequenceSet
            A new set with ``lengths = min(lengths, first_n)``.
        """
        first_n = _check_first_n(first_n)
        lengths = np.minimum(self.lengths, first_n)
        keep = np.arange(self.max_len)[None, :] < lengths[:, None]
        values = np.where(keep[..., None], self.values, np.float32(0)).astype(np.float32)
        return SequenceSet(
            object_ids=self.object_ids.copy(),
            values=values,
            lengths=lengths.astype(np.int64),
            context=None if self.context is None else self.context.copy(),
            labels=None if self.labels is None else self.labels.copy(),
            classes=self.classes,
        )


def _check_first_n(first_n: Any) -> int:
    if isinstance(first_n, bool) or not isinstance(first_n, (int, np.integer)) or first_n < 1:
        raise ValueError(f"first_n must be a whole number of observations >= 1, got {first_n!r}.")
    return int(first_n)


def _object_codes(photometry: pd.DataFrame, context: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Output object ids (the context table's row order, else sorted photometry ids) and, per photometry
    row, the position of its object in them (-1 for objects not in the context table)."""
    # Factorising once and mapping the (few) unique ids is much faster than hashing every row's string twice.
    row_codes, uniques = pd.factorize(photometry["object_id"], sort=context is None)
    uniques = np.asarray(uniques, dtype=str)
    if (row_codes < 0).any():
        raise InvalidTableError(
            f"{int((row_codes < 0).sum())} photometry row(s) have no object_id; drop or fill them."
        )
    if context is None:
        return uniques, row_codes.astype(np.int64)
    ids = np.asarray(context["object_id"], dtype=str)
    index = pd.Index(ids)
    if index.has_duplicates:
        dup = index.duplicated()
        raise InvalidTableError(
            f"The context table lists {int(dup.sum())} object id(s) more than once "
            f"({_preview(np.unique(ids[dup]))}); each object needs exactly one row."
        )
    position = index.get_indexer(uniques)  # (n_unique,): where each photometry id sits in the output
    codes = np.where(row_codes >= 0, position[row_codes], -1)
    return ids, codes.astype(np.int64)


def _encode_labels(
    labels: Any, object_ids: np.ndarray, classes: Sequence[str] | None
) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Labels as int64 indices into ``classes``, aligned with ``object_ids``."""
    n = len(object_ids)
    if isinstance(labels, Mapping):
        labels = pd.Series(labels)
    if isinstance(labels, pd.Series) and pd.Index(object_ids).isin(labels.index.astype(str)).all() and n:
        series = labels.copy()
        series.index = series.index.astype(str)
        if series.index.duplicated().any():
            raise InvalidTableError(
                "The labels are indexed by object id, but some ids appear more than once."
            )
        raw = series.reindex(object_ids).to_numpy()
    else:
        raw = np.asarray(labels.to_numpy() if isinstance(labels, pd.Series) else labels)
        if raw.shape != (n,):
            raise InvalidTableError(
                f"Got {raw.shape[0] if raw.ndim else 0} labels for {n} objects. Give one label per object, "
                "either as a Series indexed by object_id or in the order of the context table's rows."
            )
    missing = pd.isna(raw)
    if missing.any():
        raise InvalidTableError(
            f"{int(missing.sum())} object(s) have no label ({_preview(object_ids[missing])}); "
            "label them or leave them out."
        )

    if raw.dtype.kind in "iu":
        codes = raw.astype(np.int64)
        if classes is not None:
            classes = tuple(str(c) for c in classes)
            bad = (codes < 0) | (codes >= len(classes))
            if bad.any():
                raise InvalidTableError(
                    f"Integer labels must lie in [0, {len(classes)}) to index the classes {classes}; "
                    f"got {np.unique(codes[bad]).tolist()}."
                )
        return codes, classes

    names = raw.astype(str)
    if classes is None:
        classes = tuple(np.unique(names).tolist())
    classes = tuple(str(c) for c in classes)
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes must be distinct, got {classes}.")
    codes = pd.Index(classes).get_indexer(names)
    unknown = codes < 0
    if unknown.any():
        raise InvalidTableError(
            f"Label(s) {sorted(set(names[unknown].tolist()))} are not among the classes {classes}; "
            "fix the labels or pass classes that include them."
        )
    return codes.astype(np.int64), classes


def _band_counts(photometry: pd.DataFrame) -> str:
    counts = photometry["band"].astype(str).value_counts().sort_index()
    return ", ".join(f"{band!r} ({n} observations)" for band, n in counts.items())


def band_list(band: str | Sequence[str]) -> tuple[str, ...]:
    """The band names in ``"r"``, ``"r,R,V"``, ``["r", "R"]`` or a recorded joint name ``"r+R+V"``.

    Raises
    ------
    ValueError
        If no band is named.
    """
    parts = band.replace("+", ",").split(",") if isinstance(band, str) else [str(b) for b in band]
    chosen = tuple(dict.fromkeys(b.strip() for b in parts if b.strip()))
    if not chosen:
        raise ValueError("name a band, e.g. 'g', or several read as one, e.g. 'r,R,V'.")
    return chosen


def select_band(photometry: pd.DataFrame, band: str | Sequence[str]) -> pd.DataFrame:
    """The observations in ``band``: the one band a light curve of lcrnn is read in.

    Parameters
    ----------
    photometry : DataFrame
        Validated photometry with a ``band`` column.
    band : str or sequence of str
        One band (``"g"``), or several to be read as one (``"r,R,V"`` or ``["r", "R", "V"]``, e.g. the
        L-like group of the Open Supernova Catalog); their rows then carry the joint name ``"r+R+V"``.

    Returns
    -------
    DataFrame
        The rows in the chosen band(s), in their input order, on a fresh index.

    Raises
    ------
    InvalidLightCurveError
        If no observation is in a chosen band; the message lists the bands there are.
    """
    chosen = band_list(band)
    present = set(photometry["band"].astype(str))
    absent = [b for b in chosen if b not in present]
    if absent:
        raise InvalidLightCurveError(
            f"no observation in band(s) {absent}; the photometry has {_band_counts(photometry)}. "
            "Choose one of these bands.")
    frame = photometry[photometry["band"].astype(str).isin(chosen)].reset_index(drop=True)
    if len(chosen) > 1:
        frame["band"] = "+".join(chosen)
    return frame


def _check_one_band(photometry: pd.DataFrame) -> None:
    """A light curve is one band: magnitudes in different filters are not one sequence (colour jumps)."""
    if "band" not in photometry.columns or photometry["band"].nunique(dropna=True) <= 1:
        return
    bands = sorted(photometry["band"].dropna().astype(str).unique())
    raise InvalidLightCurveError(
        f"the photometry holds {len(bands)} bands: {_band_counts(photometry)}; a light curve is read in one "
        f"band. Choose one with --band {bands[0]} (lcrnn.data.sequences.select_band(photometry, "
        f"{bands[0]!r})), or name several to read as one band, e.g. --band {','.join(bands[:2])}.")


def _check_inputs(photometry: pd.DataFrame, context: pd.DataFrame | None, max_len: Any, first_n: Any) -> int:
    """Refuse unusable arguments and tables; return how many observations per object to keep."""
    if isinstance(max_len, bool) or not isinstance(max_len, (int, np.integer)) or max_len < 1:
        raise ValueError(f"max_len must be a whole number of observations >= 1, got {max_len!r}.")
    limit = int(max_len)
    if first_n is not None:
        first_n = _check_first_n(first_n)
        if first_n > limit:
            raise ValueError(f"first_n ({first_n}) cannot exceed max_len ({limit}); raise max_len too.")
        limit = first_n
    missing_cols = [c for c in ("object_id", "mjd", "mag", "mag_err") if c not in photometry.columns]
    if missing_cols:
        raise InvalidTableError(
            f"The photometry table is missing column(s) {missing_cols}; it has {list(photometry.columns)}."
        )
    _check_one_band(photometry)
    if context is not None:
        missing_ctx = [c for c in ("object_id", *CONTEXT_COLUMNS) if c not in context.columns]
        if missing_ctx:
            raise InvalidTableError(
                f"The context table is missing column(s) {missing_ctx}; build it with "
                "lcrnn.data.context.compute_context."
            )
    return limit


def _padded_steps(photometry: pd.DataFrame, object_ids: np.ndarray, codes: np.ndarray, limit: int,
                  max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Each object's first ``limit`` steps in time order, zero-padded to ``max_len``; and its observation count."""
    n = len(object_ids)
    mjd = photometry["mjd"].to_numpy(dtype=np.float64)
    known = codes >= 0
    codes, mjd = codes[known], mjd[known]
    mag = photometry["mag"].to_numpy(dtype=np.float64)[known]
    err = photometry["mag_err"].to_numpy(dtype=np.float64)[known]

    counts = np.bincount(codes, minlength=n)
    if (counts == 0).any():
        raise InvalidTableError(
            f"{int((counts == 0).sum())} object(s) have no photometry ({_preview(object_ids[counts == 0])}); "
            "drop them from the objects/context table or add their observations."
        )

    # Sort by (object, time); the stable sort keeps the input order of observations at the same mjd.
    order = np.lexsort((mjd, codes))
    codes, mjd, mag, err = codes[order], mjd[order], mag[order], err[order]
    starts = np.cumsum(counts) - counts  # first row of each object in the sorted arrays
    step = np.arange(len(codes)) - starts[codes]  # position of each observation within its light curve
    keep = step < limit
    codes, step = codes[keep], step[keep]
    t = mjd[keep] - mjd[starts][codes]
    feats = step_features(t, mag[keep], err[keep])  # (n_kept, 3) float32
    bad = ~np.isfinite(feats).all(axis=1)
    if bad.any():
        raise InvalidLightCurveError(
            f"{int(bad.sum())} observation(s) have a non-finite mjd, mag or mag_err "
            f"(objects {_preview(np.unique(object_ids[codes[bad]]))}); validate the photometry with "
            "lcrnn.data.tables.validate_photometry first."
        )

    values = np.zeros((n, max_len, len(FEATURES)), dtype=np.float32)  # (objects, steps, features)
    values[codes, step] = feats
    return values, counts


def build_sequences(
    photometry: pd.DataFrame,
    context: pd.DataFrame | None = None,
    labels: pd.Series | Mapping[str, Any] | Sequence[Any] | np.ndarray | None = None,
    classes: Sequence[str] | None = None,
    max_len: int = 30,
    first_n: int | None = None,
) -> SequenceSet:
    """Turn a photometry table into padded sequences, one row per object.

    Observations are sorted by time within each object, the first ``max_len`` (or ``first_n``) are kept and
    the rest of the row is zero. Everything is done with array operations, so 100k objects take well under
    a second.

    Parameters
    ----------
    photometry
        Validated photometry: ``object_id``, ``mjd``, ``mag``, ``mag_err``. Rows of objects not in
        ``context`` are ignored.
    context
        Output of :func:`lcrnn.data.context.compute_context` (``object_id`` plus
        :data:`~lcrnn.data.context.CONTEXT_COLUMNS`). Its row order is the output order; without it the
        objects are the photometry's, in sorted id order, and there is no context.
    labels
        One label per object: a Series (or mapping) indexed by object_id, or a sequence in output order.
        Strings are mapped to indices into ``classes``; integers are taken as indices already.
    classes
        Class names in label-index order. Defaults to the sorted unique string labels.
    max_len
        Width of the padded array (paper: 30 observations).
    first_n
        Keep only the first ``first_n`` observations (paper section 5.3); at most ``max_len``. The array
        keeps width ``max_len``.

    Returns
    -------
    SequenceSet

    Raises
    ------
    InvalidTableError
        If an object of ``context`` has no photometry, ids repeat, labels are missing or unknown.
    InvalidLightCurveError
        If a kept observation has a non-finite time, magnitude or error, or the photometry holds several
        bands (choose one with :func:`select_band`).
    """
    limit = _check_inputs(photometry, context, max_len, first_n)
    object_ids, codes = _object_codes(photometry, context)
    values, counts = _padded_steps(photometry, object_ids, codes, limit, int(max_len))

    ctx = None
    if context is not None:
        ctx = context.loc[:, list(CONTEXT_COLUMNS)].to_numpy(dtype=np.float32)
        if not np.isfinite(ctx).all():
            rows = ~np.isfinite(ctx).all(axis=1)
            raise InvalidTableError(
                f"The context of {int(rows.sum())} object(s) is not finite ({_preview(object_ids[rows])}); "
                "recompute it with compute_context."
            )

    label_codes, label_classes = (None, None)
    if labels is not None:
        label_codes, label_classes = _encode_labels(labels, object_ids, classes)
    elif classes is not None:
        label_classes = tuple(str(c) for c in classes)

    return SequenceSet(
        object_ids=object_ids,
        values=values,
        lengths=np.minimum(counts, limit).astype(np.int64),
        context=ctx,
        labels=label_codes,
        classes=label_classes,
    )
