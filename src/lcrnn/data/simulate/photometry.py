"""Photometry: the noise model, the reference image, and which visits detect an object in difference imaging.

Noise is sky plus source photon noise, scaled so that a source at the night's limit has SNR = 5, and turned
into magnitudes with ``sigma_m = 1.0857 / SNR`` (SURVEY_FACTS: ~0.2 mag at the 5-sigma limit); a calibration
floor is added in quadrature. Detections come from difference imaging (paper section 2.1): an epoch counts
only when the object differs from its reference image by 5 sigma *and* is brighter than the night's limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from lcrnn.data.simulate.config import SimulationConfig

__all__ = ["POGSON", "magnitude_error", "observe", "reference_mag"]

POGSON = 2.5 / np.log(10.0)  # 1.0857: sigma_m = POGSON / SNR, and d(mag) = -POGSON * d(ln flux)
# Source counts at the 5-sigma limit: sets how fast errors fall for bright sources (0.22 mag at the limit,
# 0.03 mag three magnitudes brighter; SURVEY_FACTS).
_COUNTS_AT_LIMIT = 400.0
_DETECTION_SIGMA = 5.0  # the limit is a 5-sigma limit, and a detection is a 5-sigma difference
_REFERENCE_EPOCHS = 12  # first visits stacked into each object's reference image (assumed)
# Near bright stars the subtraction leaves residuals that the real-bogus step and the masks reject: the share
# of detections kept is _BRIGHT_KEPT_MIN + (1 - _BRIGHT_KEPT_MIN) / (1 + exp(-(mag - 15.5) / 0.6)), about 0.4
# at 14 mag, 0.7 at 15.5 and 1 fainter than 17 (assumed).
_BRIGHT_RESIDUAL_MAG = 15.5
_BRIGHT_RESIDUAL_WIDTH_MAG = 0.6
_BRIGHT_KEPT_MIN = 0.35
_BRIGHT_KEPT_RISE = 0.65  # 1 - _BRIGHT_KEPT_MIN


def magnitude_error(mag: Any, limit_mag: float = 20.5, floor_mag: float = 0.015) -> np.ndarray:
    """Photometric error of a measurement at ``mag`` on a night whose 5-sigma limit is ``limit_mag``.

    The noise is sky plus source photon noise, scaled so that a source at the limit has SNR = 5, turned into
    magnitudes with ``sigma_m = 1.0857 / SNR`` and added in quadrature to a calibration floor: about 0.22 mag
    at the limit, 0.03 mag three magnitudes brighter and the floor for bright stars.

    Parameters
    ----------
    mag
        Magnitude(s) of the source.
    limit_mag
        5-sigma limiting magnitude of the exposure.
    floor_mag
        Systematic floor added in quadrature.

    Returns
    -------
    numpy.ndarray
        Errors in magnitudes, same shape as ``mag``; grows monotonically with ``mag``.
    """
    counts = _counts(np.asarray(mag, dtype=np.float64), limit_mag)
    snr = counts / _noise(counts)
    return np.hypot(POGSON / snr, floor_mag)


def _counts(mag: np.ndarray, limit_mag: Any) -> np.ndarray:
    return _COUNTS_AT_LIMIT * 10.0 ** (-0.4 * (mag - limit_mag))


def _noise(counts: np.ndarray) -> np.ndarray:
    # Sky counts chosen so that _COUNTS_AT_LIMIT counts are a 5-sigma detection.
    sky = _COUNTS_AT_LIMIT**2 / _DETECTION_SIGMA**2 - _COUNTS_AT_LIMIT
    return np.sqrt(np.maximum(counts, 0.0) + sky)


def reference_mag(obj: np.ndarray, mag: np.ndarray, n_objects: int) -> np.ndarray:
    """Magnitude in the reference image: a median stack (in flux) of the field's first visits.

    A survey builds its reference images early and subtracts them from everything after (assumed for GOTO's
    prototype), so slow wanderers such as AGN drift away from their reference and are seen more often as
    the survey goes on. The median (as a clipped stack) keeps a flare or an outburst caught at one of those
    epochs out of the reference. NaN for objects that were never visited.
    """
    counts = np.bincount(obj, minlength=n_objects)
    start = np.cumsum(counts) - counts
    first = np.minimum(np.arange(_REFERENCE_EPOCHS)[None, :], np.maximum(counts - 1, 0)[:, None])
    picks = start[:, None] + first
    has = counts > 0
    out = np.full(n_objects, np.nan)
    flux = 10.0 ** (-0.4 * mag[picks[has]])  # (objects, epochs)
    out[has] = -2.5 * np.log10(np.median(flux, axis=1))
    return out


def _bright_star_efficiency(mag: np.ndarray) -> np.ndarray:
    """Share of detections that survive near bright stars (see ``_BRIGHT_RESIDUAL_MAG``)."""
    return _BRIGHT_KEPT_MIN + _BRIGHT_KEPT_RISE / (
        1.0 + np.exp(-(mag - _BRIGHT_RESIDUAL_MAG) / _BRIGHT_RESIDUAL_WIDTH_MAG)
    )


def observe(
    rng: np.random.Generator,
    config: SimulationConfig,
    mag: np.ndarray,
    limit: np.ndarray,
    reference: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which visits detect the object, and the magnitude and error measured there.

    A detection needs the difference from the reference image to be 5 sigma *and* the source itself to be
    above the limit, not saturated, and not lost to the real-bogus step or a chip gap.

    Parameters
    ----------
    mag, limit, reference
        True magnitude, the visit's 5-sigma limit and the object's reference magnitude (NaN: nothing in the
        reference image, as for a supernova), one per flat visit.

    Returns
    -------
    detected, mag_obs, mag_err : numpy.ndarray
        One per flat visit; ``mag_obs`` and ``mag_err`` mean something only where ``detected``.
    """
    counts = _counts(mag, limit)
    sigma = _noise(counts)
    measured = counts + sigma * rng.standard_normal(len(mag))
    # An empty reference holds no counts; 99 mag only keeps the NaN out of the arithmetic.
    ref_counts = np.where(np.isnan(reference), 0.0, _counts(np.nan_to_num(reference, nan=99.0), limit))
    detected = (
        (np.abs(measured - ref_counts) > _DETECTION_SIGMA * sigma)
        & (measured > _DETECTION_SIGMA * sigma)
        & (mag > config.saturation_mag)
        & (rng.random(len(mag)) < config.detection_efficiency * _bright_star_efficiency(mag))
    )
    safe = np.where(detected, measured, _COUNTS_AT_LIMIT)
    mag_obs = (
        limit - POGSON * np.log(safe / _COUNTS_AT_LIMIT) + rng.normal(0.0, config.error_floor_mag, len(mag))
    )
    mag_err = np.hypot(POGSON * sigma / safe, config.error_floor_mag)
    return detected, mag_obs, mag_err
