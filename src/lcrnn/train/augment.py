"""Robust training: fresh random changes to every training light curve each epoch, never to validation or test.

A classifier trained on whole, well-measured light curves of one survey meets, in real time and on other
surveys, light curves cut short, sampled more sparsely, at other distances and with differently calibrated
errors. Each option here draws one such change per light curve and epoch:

- **prefix** truncation: the light curve is cut to its first ``k`` observations (``k`` uniform in
  ``1..length``, or weighted towards small ``k`` as ``1/k``), so the network learns early classification on
  purpose rather than only from the paper's first-``n`` evaluation;
- **time jitter**: every observation time moves by a Gaussian number of days (the cadence is never exact),
  which also moves the time origin, the first observation, against the others;
- **magnitude offset**: the source seen at another distance, one offset ``delta`` per light curve; its errors
  follow the flux as a background-limited measurement (``sigma ~ 1/flux``) above a floor
  (:data:`ERROR_FLOOR_MAG`), or are left unchanged (``offset_errors="keep"``). With ``offset_errors="noisy"``
  a source made fainter also scatters as much more as its larger errors say (Gaussian noise of
  ``sqrt(sigma'^2 - sigma^2)`` on each magnitude): otherwise a faint copy is smoother than its errors, a light
  curve no telescope returns, and the network may learn that large errors come with little scatter;
- **noisier photometry**: the same source seen by a survey with worse photometry (a smaller telescope, a
  brighter site, shorter exposures): all errors of a light curve multiplied by one factor ``f`` drawn
  log-uniform in ``[1, noise_scale]``, and each magnitude scattered by ``sqrt(f^2 - 1) sigma`` to match
  (CRTS reports errors 3-4 times GOTO's at the same magnitude, docs/real-data.md section 3). Near the
  detection limit this makes points a noisier survey would not report (4 times 0.2 mag is SNR ~1.3): it widens
  what the network meets, it does not model one survey;
- **error scale**: all errors of a light curve multiplied by one log-normal factor (another pipeline's error
  calibration: the reported errors change, the scatter does not);
- **point dropout**: each observation dropped with a probability, at least one always kept (a sparser cadence).

The changes are made to the *raw* padded steps ``(t - t_first, mag, mag_err)`` and the result is rebuilt by
:func:`lcrnn.data.sequences.step_features`, with the time since the first observation derived again after
truncation, dropout and jitter; the scaler then standardises it as it does every other input. So an augmented
light curve becomes network input through the one preprocessing path. Everything is array arithmetic on the
whole training set (no loop over objects): an epoch's draws cost milliseconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from lcrnn.data.sequences import SequenceSet, step_features
from lcrnn.errors import InvalidConfigError
from lcrnn.settings import config_from_dict

__all__ = ["ERROR_FLOOR_MAG", "ROBUST", "AugmentConfig", "augment_sequences", "augmentation_rng"]

# Systematic error floor of a bright source (SURVEY_FACTS: 0.01-0.02 mag): a source moved closer does not
# get errors below it from the flux law alone.
ERROR_FLOOR_MAG = 0.01


@dataclass(frozen=True)
class AugmentConfig:
    """Training-time augmentations, each off at its default; recorded in the run under ``augment``."""

    prefix: float = 0.0                                # probability a light curve is cut to a random prefix
    prefix_weights: Literal["uniform", "early"] = "uniform"  # k uniform in 1..length, or P(k) ~ 1/k
    time_jitter_days: float = 0.0                      # Gaussian sigma of each observation's time shift [d]
    mag_offset: float = 0.0                            # offsets drawn uniform in [-mag_offset, +mag_offset]
    offset_errors: Literal["flux", "noisy", "keep"] = "flux"  # errors follow the flux; "noisy": + the scatter
    noise_scale: float = 1.0                           # largest factor of noisier photometry (1: off)
    error_scale: float = 0.0                           # sigma of the log of the per-curve error factor
    point_dropout: float = 0.0                         # probability each observation is dropped

    def __post_init__(self) -> None:
        if not _number(self.prefix) or not 0.0 <= self.prefix <= 1.0:
            raise InvalidConfigError(f"prefix must be a probability in [0, 1], not {self.prefix!r}")
        if not _number(self.point_dropout) or not 0.0 <= self.point_dropout < 1.0:
            raise InvalidConfigError(f"point_dropout must be a probability in [0, 1), not {self.point_dropout!r}")
        for name in ("time_jitter_days", "mag_offset", "error_scale"):
            value = getattr(self, name)
            if not _number(value) or not 0.0 <= value < float("inf"):
                raise InvalidConfigError(f"{name} must be a finite number >= 0, not {value!r}")
        if not _number(self.noise_scale) or not 1.0 <= self.noise_scale < float("inf"):
            raise InvalidConfigError(f"noise_scale must be a finite factor >= 1 (1: off), not {self.noise_scale!r}")
        if self.prefix_weights not in ("uniform", "early"):
            raise InvalidConfigError(f"prefix_weights must be 'uniform' or 'early', not {self.prefix_weights!r}")
        if self.offset_errors not in ("flux", "noisy", "keep"):
            raise InvalidConfigError(f"offset_errors must be 'flux', 'noisy' or 'keep', not {self.offset_errors!r}")

    @property
    def active(self) -> bool:
        """True when any augmentation is on."""
        return self.noise_scale > 1 or any(getattr(self, name) > 0 for name in
                                           ("prefix", "time_jitter_days", "mag_offset", "error_scale", "point_dropout"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AugmentConfig:
        """Rebuild from :meth:`to_dict` output; missing keys take their defaults, unknown ones are an error."""
        return config_from_dict(cls, data)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


# A recipe that makes physical sense for GOTO-like data (11-day median cadence, 0.01-0.2 mag errors): half the
# light curves cut short each epoch with early cuts favoured, a day of timing jitter, sources up to ~1.6x
# nearer or farther (1 mag; a fainter one as noisy as its errors), errors off by ~20 %, one point in ten missed.
ROBUST = AugmentConfig(prefix=0.5, prefix_weights="early", time_jitter_days=1.0, mag_offset=1.0,
                       offset_errors="noisy", error_scale=0.2, point_dropout=0.1)


def augmentation_rng(seed: int, epoch: int) -> np.random.Generator:
    """The generator of one epoch's draws: fixed by the run's seed and the epoch, so a resumed run repeats it."""
    return np.random.default_rng([int(seed), int(epoch), 0xA06])


def augment_sequences(seqs: SequenceSet, config: AugmentConfig, rng: np.random.Generator) -> SequenceSet:
    """A new set of raw (unscaled) sequences with one random draw of every augmentation in ``config``.

    Parameters
    ----------
    seqs : SequenceSet
        Raw sequences from :func:`~lcrnn.data.sequences.build_sequences` (before the scaler).
    config : AugmentConfig
    rng : numpy.random.Generator

    Returns
    -------
    SequenceSet
        Same objects, context and labels; every light curve keeps at least one observation, starts at
        ``t = 0`` and is exactly zero after its (possibly shorter) end.
    """
    if not config.active or len(seqs) == 0:
        return seqs
    n, steps = len(seqs), seqs.max_len
    real = seqs.mask                                   # (n, steps)
    t = seqs.values[..., 0].astype(np.float64)         # (n, steps) days since the first observation
    mag = seqs.values[..., 1].astype(np.float64)
    err = seqs.values[..., 2].astype(np.float64)
    lengths = seqs.lengths.copy()

    if config.time_jitter_days > 0:
        t = t + rng.normal(0.0, config.time_jitter_days, (n, steps))
        order = np.argsort(np.where(real, t, np.inf), axis=1, kind="stable")  # jitter may swap close points
        t, mag, err = (np.take_along_axis(a, order, axis=1) for a in (t, mag, err))
    if config.point_dropout > 0:
        keep = real & (rng.random((n, steps)) >= config.point_dropout)
        empty = np.flatnonzero(~keep.any(axis=1))
        keep[empty, (rng.random(len(empty)) * lengths[empty]).astype(np.int64)] = True  # one point always stays
        order = np.argsort(~keep, axis=1, kind="stable")  # kept points first, in time order
        t, mag, err = (np.take_along_axis(a, order, axis=1) for a in (t, mag, err))
        lengths = keep.sum(axis=1)
    if config.prefix > 0:
        cut = rng.random(n) < config.prefix
        lengths = np.where(cut, _prefix_lengths(lengths, config.prefix_weights, rng), lengths)
    if config.mag_offset > 0:
        delta = rng.uniform(-config.mag_offset, config.mag_offset, (n, 1))
        mag = mag + delta
        if config.offset_errors in ("flux", "noisy"):
            moved = _errors_at_offset(err, delta)
            if config.offset_errors == "noisy":  # the extra scatter of a fainter source; none taken from a brighter
                mag = _scattered_to(mag, err, moved, rng)
            err = moved
    if config.noise_scale > 1:  # a survey with worse photometry: larger errors, and the scatter they imply
        worse = err * np.exp(rng.uniform(0.0, np.log(config.noise_scale), (n, 1)))
        mag, err = _scattered_to(mag, err, worse, rng), worse
    if config.error_scale > 0:
        err = err * np.exp(rng.normal(0.0, config.error_scale, (n, 1)))

    t_rel = t - t[:, :1]                               # the time origin is the (new) first observation
    keep = np.arange(steps)[None, :] < lengths[:, None]
    values = np.where(keep[..., None], step_features(t_rel, mag, err), np.float32(0))
    return SequenceSet(object_ids=seqs.object_ids, values=values, lengths=lengths.astype(np.int64),
                       context=seqs.context, labels=seqs.labels, classes=seqs.classes)


def _prefix_lengths(lengths: np.ndarray, weights: str, rng: np.random.Generator) -> np.ndarray:
    """A random k in 1..length per light curve: uniform, or with P(k) proportional to 1/k ("early")."""
    u = rng.random(len(lengths))
    if weights == "uniform":
        return 1 + (u * lengths).astype(np.int64)
    harmonic = np.cumsum(1.0 / np.arange(1, int(lengths.max()) + 1))  # H(k), k = 1..max length
    k = np.searchsorted(harmonic, u * harmonic[lengths - 1], side="left") + 1
    return np.minimum(k, lengths)


def _scattered_to(mag: np.ndarray, err: np.ndarray, new_err: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Magnitudes with the Gaussian scatter that takes errors ``err`` to ``new_err`` (none where they shrink)."""
    return mag + rng.normal(0.0, 1.0, mag.shape) * np.sqrt(np.maximum(new_err ** 2 - err ** 2, 0.0))


def _errors_at_offset(err: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Errors of the source made ``delta`` mag fainter: the part above the floor scales as 1/flux."""
    floor = np.minimum(err, ERROR_FLOOR_MAG)
    statistical = np.sqrt(np.maximum(err ** 2 - floor ** 2, 0.0)) * 10.0 ** (0.4 * delta)
    return np.sqrt(statistical ** 2 + floor ** 2)
