"""The feature scaler: standardisation fitted on the training set, applied alike to whole sequences and to
single steps, so the batch and served routes scale with the same arithmetic."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from lcrnn.data.context import CONTEXT_COLUMNS
from lcrnn.data.sequences import FEATURES, SequenceSet
from lcrnn.errors import InvalidConfigError, NotFittedError

__all__ = ["FeatureScaler"]


class FeatureScaler:
    """Standardise time-series features and context with statistics of the training set.

    Means and standard deviations of the three time-series features are taken over real observations only,
    so that padding (which would pull means towards zero) cannot bias them; padded steps stay exactly zero
    after :meth:`transform`. The context columns are standardised per object. A (near-)constant feature has
    its standard deviation replaced by 1, as scikit-learn's ``StandardScaler`` does: a tiny floor instead
    would blow any later non-constant value up to huge numbers.

    Parameters
    ----------
    min_std
        Standard deviations at or below this are treated as zero (replaced by 1).
    """

    def __init__(self, min_std: float = 1e-6) -> None:
        self.min_std = min_std

    def _safe_std(self, std: np.ndarray) -> np.ndarray:
        return np.where(std <= self.min_std, 1.0, std)

    def fit(self, seqs: SequenceSet) -> FeatureScaler:
        """Learn means and standard deviations from ``seqs`` (the training set only).

        Parameters
        ----------
        seqs
            Training sequences, with or without context.

        Returns
        -------
        FeatureScaler
            ``self``, fitted.
        """
        if len(seqs) == 0:
            raise ValueError("Cannot fit a FeatureScaler on an empty SequenceSet.")
        real = seqs.values[seqs.mask].astype(np.float64)  # (n_observations, 3)
        self.mean_ = real.mean(axis=0)
        self.std_ = self._safe_std(real.std(axis=0))
        if seqs.context is None:
            self.context_mean_ = self.context_std_ = None
        else:
            ctx = seqs.context.astype(np.float64)
            self.context_mean_ = ctx.mean(axis=0)
            self.context_std_ = self._safe_std(ctx.std(axis=0))
        self.summary_center_, self.summary_scale_ = _robust_stats(seqs.summary, self.min_std)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "mean_"):
            raise NotFittedError(
                "This FeatureScaler is not fitted; call fit(train_sequences) or from_dict()."
            )

    def transform(self, seqs: SequenceSet) -> SequenceSet:
        """Standardised copy of ``seqs``; padded steps stay exactly zero.

        Parameters
        ----------
        seqs
            Sequences in raw units, with context if and only if the scaler was fitted with context.

        Returns
        -------
        SequenceSet
            Same ids, lengths and labels; scaled values and context (float32).
        """
        self._check_fitted()
        if (seqs.context is None) != (self.context_mean_ is None):
            fitted = "with" if self.context_mean_ is not None else "without"
            given = "with" if seqs.context is not None else "without"
            raise ValueError(
                f"This scaler was fitted on sequences {fitted} context but got sequences {given} context; "
                "build both with (or both without) a context table."
            )
        values = np.where(seqs.mask[..., None], self.scale_steps(seqs.values), np.float32(0.0))
        context = None if seqs.context is None else self.scale_context(seqs.context)
        return SequenceSet(
            object_ids=seqs.object_ids.copy(),
            values=values,
            lengths=seqs.lengths.copy(),
            context=context,
            labels=None if seqs.labels is None else seqs.labels.copy(),
            classes=seqs.classes,
            summary=self._scale_summary(seqs.summary),
        )

    def _scale_summary(self, summary: np.ndarray | None) -> np.ndarray | None:
        """Summary features as ``asinh((x - median) / robust std)``, NaN (too short a curve) as 0, the median.

        Shape features have long tails (a maximum slope of thousands of mag/day for two close points); the
        robust statistics ignore them and the inverse hyperbolic sine keeps their order without letting them
        saturate the first dense layer.
        """
        fitted = getattr(self, "summary_center_", None) is not None
        if (summary is None) != (not fitted):
            have, got = ("with", "without") if fitted else ("without", "with")
            raise ValueError(
                f"This scaler was fitted {have} summary features but got sequences {got} them; a model with a "
                "features branch needs lcrnn.data.features.with_summary on every set it reads.")
        if summary is None:
            return None
        if summary.shape[1] != self.summary_center_.size:
            raise ValueError(f"expected {self.summary_center_.size} summary features, got {summary.shape[1]}.")
        z = np.arcsinh((np.asarray(summary, np.float64) - self.summary_center_) / self.summary_scale_)
        return np.nan_to_num(z, nan=0.0).astype(np.float32)

    def scale_steps(self, raw: np.ndarray) -> np.ndarray:
        """Standardise raw steps from :func:`~lcrnn.data.sequences.step_features`, shape (..., 3) -> float32.

        Float64 statistics on float32 inputs, cast once at the end: the served route calls this on one step
        and the batch route on whole sequences, and both get the same float32 numbers.
        """
        self._check_fitted()
        return ((np.asarray(raw, np.float32) - self.mean_) / self.std_).astype(np.float32)

    def scale_context(self, context: np.ndarray) -> np.ndarray:
        """Standardise raw context rows ``(gal_l, gal_b, galaxy_dist_arcsec)``, shape (..., 3) -> float32."""
        self._check_fitted()
        if self.context_mean_ is None:
            raise ValueError("This scaler was fitted without context; the model reads no context.")
        return ((np.asarray(context, np.float32) - self.context_mean_) / self.context_std_).astype(np.float32)

    def fit_transform(self, seqs: SequenceSet) -> SequenceSet:
        """Fit on ``seqs`` and return it scaled."""
        return self.fit(seqs).transform(seqs)

    def to_dict(self) -> dict[str, Any]:
        """Fitted statistics as plain JSON numbers (lists of floats, or None without context)."""
        self._check_fitted()

        def plain(a: np.ndarray | None) -> list[float] | None:
            return None if a is None else [float(x) for x in a]

        out = {
            "min_std": float(self.min_std),
            "mean": plain(self.mean_),
            "std": plain(self.std_),
            "context_mean": plain(self.context_mean_),
            "context_std": plain(self.context_std_),
        }
        if getattr(self, "summary_center_", None) is not None:  # only a features model's scaler has them
            out["summary_center"] = plain(self.summary_center_)
            out["summary_scale"] = plain(self.summary_scale_)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureScaler:
        """Rebuild a fitted scaler written by :meth:`to_dict`."""
        required = {"mean", "std", "context_mean", "context_std"}
        missing = sorted(required - set(d))
        if missing:
            raise ValueError(
                f"FeatureScaler dictionary is missing key(s) {missing}; write it with to_dict()."
            )
        optional = {"min_std", "summary_center", "summary_scale"}  # runs without a features branch lack these
        unknown = sorted(set(d) - required - optional)
        if unknown:
            raise InvalidConfigError(
                f"Unknown FeatureScaler setting(s) {unknown}; the known ones are {sorted(required | optional)}.")
        scaler = cls(min_std=float(d.get("min_std", 1e-6)))

        def array(key: str, size: int, optional: bool) -> np.ndarray | None:
            if d[key] is None and optional:
                return None
            a = np.asarray(d[key], dtype=np.float64)
            if a.shape != (size,) or not np.isfinite(a).all():
                raise ValueError(f"FeatureScaler '{key}' must be {size} finite numbers, got {d[key]!r}.")
            return a

        scaler.mean_ = array("mean", len(FEATURES), False)
        scaler.std_ = array("std", len(FEATURES), False)
        scaler.context_mean_ = array("context_mean", len(CONTEXT_COLUMNS), True)
        scaler.context_std_ = array("context_std", len(CONTEXT_COLUMNS), True)
        if (scaler.context_mean_ is None) != (scaler.context_std_ is None):
            raise ValueError(
                "FeatureScaler 'context_mean' and 'context_std' must both be given or both be None."
            )
        if (scaler.std_ <= 0).any() or (scaler.context_std_ is not None and (scaler.context_std_ <= 0).any()):
            raise ValueError("FeatureScaler standard deviations must be positive.")
        center, scale = d.get("summary_center"), d.get("summary_scale")
        if (center is None) != (scale is None) or (center is not None and len(center) != len(scale)):
            raise ValueError("FeatureScaler 'summary_center' and 'summary_scale' must be lists of one length, or None.")
        scaler.summary_center_ = None if center is None else array("summary_center", len(center), False)
        scaler.summary_scale_ = None if scale is None else array("summary_scale", len(scale), False)
        if scaler.summary_scale_ is not None and (scaler.summary_scale_ <= 0).any():
            raise ValueError("FeatureScaler 'summary_scale' must be positive.")
        return scaler


def _robust_stats(summary: np.ndarray | None, min_std: float) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Median and robust standard deviation (IQR / 1.349) of each summary feature, NaN ignored.

    A feature no training curve is long enough for (all NaN) gets centre 0 and scale 1; a constant one scale 1.
    """
    if summary is None:
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": handled below
        q25, q50, q75 = np.nanpercentile(np.asarray(summary, np.float64), [25, 50, 75], axis=0)
    scale = (q75 - q25) / 1.349
    scale = np.where(np.isfinite(scale) & (scale > min_std), scale, 1.0)
    return np.where(np.isfinite(q50), q50, 0.0), scale
