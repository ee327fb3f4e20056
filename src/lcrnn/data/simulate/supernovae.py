"""Supernovae (SN): Ia, II-P, II-L, IIn and Ib/c light curves, by their rates and luminosity functions.

Each type is a registered population (:mod:`.registry`) whose parameters are a :class:`SupernovaType`: a peak
absolute magnitude (its luminosity function) and the ranges of its light-curve shape parameters; its
generator is the shape, the log of the flux against rest-frame days since the reference time. Ia, Ib/c, II-L
and IIn share a Bazin-like shape with a two-part decline, II-P has a plateau. Numbers from SURVEY_FACTS
("Supernovae") and Richardson et al. (2014, AJ 147, 118) unless marked assumed.

Types are drawn by their volumetric rates (:data:`~lcrnn.data.simulate.mixes.SN_MIX`) and kept with the
chance that their peak is seen, the volume out to where it reaches the survey relative to that of the
brightest SN (a magnitude-limited survey's selection); each kept SN then lies uniformly in its own volume.

Only SNe with a spectrum get a label, so a candidate is kept with a chance that falls past
``config.sn_classification_mag``; they leave nothing in the reference image.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from lcrnn.data.simulate.mixes import SN_MIX
from lcrnn.data.simulate.photometry import POGSON
from lcrnn.data.simulate.registry import Population, get_population, population

if TYPE_CHECKING:
    from lcrnn.data.simulate.config import SimulationConfig

__all__ = ["TYPE_IA", "TYPE_IBC", "TYPE_IIL", "TYPE_IIN", "TYPE_IIP", "SupernovaType", "supernovae"]

# Shape parameters are drawn one parameter at a time, each for every type that has it (in SN_MIX order): the
# order in which this simulator has always drawn them, so every seed gives the survey it always gave.
_SHAPE_DRAW_ORDER = (
    "rise_days",
    "fast_decline_days",
    "slow_decline_days",
    "slow_share",
    "plateau_slope_mag_per_day",
    "plateau_days",
    "drop_mag",
)
# Redshift: uniform in (Euclidean) volume from _Z_MIN out to where the peak is too faint for a spectrum,
# which reaches _SPECTRUM_REACH_MAG past config.sn_classification_mag but not past the survey depth plus
# _BEYOND_DEPTH_MAG. Distance moduli are interpolated on a grid (Planck 2018 cosmology).
_Z_MIN = 0.003
_Z_GRID = (1e-3, 1.0, 400)  # geomspace(start, stop, num)
_SPECTRUM_REACH_MAG = 1.0
_BEYOND_DEPTH_MAG = 0.3
_CLASSIFICATION_SOFTNESS_MAG = 0.3  # width of the logistic fall of the chance of a spectrum
# Explosions are spread from this long before the survey to a little after it, so that some SNe are caught
# already fading when the survey starts.
_EXPLODED_BEFORE_DAYS = 120.0
_EXPLODED_AFTER_DAYS = 10.0
# Rest-frame grid (days from the reference time) on which each light curve's peak is found.
_PEAK_GRID_DAYS = (-30.0, 250.0, 0.5)  # arange(start, stop, step)
_PEAK_BLOCK = 2000  # objects per (objects, grid) block, to bound memory
_PLATEAU_END_DAYS = 4.0  # how sharply a II-P plateau ends (assumed)
_CO56_EFOLD_DAYS = 111.0  # the radioactive tail: 56Co's mean life, 0.0098 mag/day
_BRIGHTEST_PEAK_MAG = -20.0  # a peak this bright is seen throughout its volume; fainter ones less (see above)


@dataclass(frozen=True)
class PeakMagnitude:
    """Normal peak absolute magnitude, optionally clipped to ``clip``."""

    mean: float
    sd: float
    clip: tuple[float, float] | None = None


@dataclass(frozen=True)
class TwoPartDecline:
    """Bazin-like rise times an exponential decline that slows: all ranges uniform, in rest-frame days."""

    rise_days: tuple[float, float]
    fast_decline_days: tuple[float, float]
    slow_decline_days: tuple[float, float]
    slow_share: tuple[float, float]  # share of the peak flux in the slow component


@dataclass(frozen=True)
class Plateau:
    """A rise onto a slowly fading plateau that ends in a drop onto the radioactive tail."""

    rise_days: tuple[float, float] = (1.5, 3.0)  # Bazin tau_rise ~1-5 d
    plateau_slope_mag_per_day: tuple[float, float] = (0.003, 0.012)  # assumed
    plateau_days: tuple[float, float] = (80.0, 120.0)  # a ~100-day plateau
    drop_mag: tuple[float, float] = (1.5, 2.5)  # fall at the end of the plateau (assumed)


@dataclass(frozen=True)
class SupernovaType:
    peak_abs_mag: PeakMagnitude
    shape: TwoPartDecline | Plateau


def _rise(x: np.ndarray, rise_days: np.ndarray) -> np.ndarray:
    """Log of the Bazin rise, 1 / (1 + exp(-x / rise_days))."""
    return -np.logaddexp(0.0, -x / rise_days)


#: SN Ia: peak -19.3 with a raw scatter of ~0.3-0.4 mag (clipped at 3 sigma); rise ~18 d (Bazin tau_rise
#: ~1-5 d); ~1.1 mag of decline in the first 15 days after peak, then 0.02-0.03 mag/day: a slow component
#: of 40-55 d (SURVEY_FACTS).
TYPE_IA = SupernovaType(
    PeakMagnitude(-19.3, 0.35, clip=(-20.35, -18.25)),
    TwoPartDecline(
        rise_days=(2.5, 4.5),
        fast_decline_days=(12.0, 18.0),
        slow_decline_days=(40.0, 55.0),
        slow_share=(0.15, 0.3),
    ),
)
#: SN Ib/c (with IIb, whose light curves are alike): peak ~ -17.5 and a faster evolution than Ia
#: (SURVEY_FACTS); Richardson et al. (2014) find a ~1 mag spread with extinction, 0.9 here; shapes assumed.
TYPE_IBC = SupernovaType(
    PeakMagnitude(-17.5, 0.9, clip=(-19.3, -15.7)),
    TwoPartDecline(
        rise_days=(1.5, 3.0),
        fast_decline_days=(8.0, 14.0),
        slow_decline_days=(30.0, 50.0),
        slow_share=(0.2, 0.4),
    ),
)
#: SN II-P: peak -16 to -18 (SURVEY_FACTS; Richardson et al. 2014: -16.8 with ~1 mag spread), a ~100-day
#: plateau, then a drop.
TYPE_IIP = SupernovaType(PeakMagnitude(-16.8, 1.0, clip=(-18.8, -14.8)), Plateau())
#: SN II-L: brighter than II-P (Richardson et al. 2014: ~ -17.9, spread ~0.9) and declining linearly at
#: ~0.03-0.05 mag/day without a plateau (flux e-folding in 20-35 d); shape ranges assumed.
TYPE_IIL = SupernovaType(
    PeakMagnitude(-17.9, 0.6, clip=(-19.1, -16.7)),
    TwoPartDecline(
        rise_days=(1.5, 3.5),
        fast_decline_days=(20.0, 35.0),
        slow_decline_days=(80.0, 120.0),
        slow_share=(0.05, 0.15),
    ),
)
#: SN IIn: bright and slow (Richardson et al. 2014: ~ -18.5 with a spread of ~1.4 mag, from a sample that
#: favours bright events; -18.0 +- 1.0 here, which gives IIn ~7 % of a magnitude-limited sample, as ZTF's
#: Bright Transient Survey finds, Perley et al. 2020); rises over weeks and fades over months, so some are
#: seen for longer than 100 days; shape ranges assumed.
TYPE_IIN = SupernovaType(
    PeakMagnitude(-18.0, 1.0, clip=(-20.0, -16.0)),
    TwoPartDecline(
        rise_days=(4.0, 10.0),
        fast_decline_days=(40.0, 70.0),
        slow_decline_days=(100.0, 150.0),
        slow_share=(0.2, 0.4),
    ),
)


@population("SN", "Ia", TYPE_IA)
@population("SN", "Ibc", TYPE_IBC)
@population("SN", "II-L", TYPE_IIL)
@population("SN", "IIn", TYPE_IIN)
def two_part_decline(
    x: np.ndarray,
    rise_days: np.ndarray,
    fast_decline_days: np.ndarray,
    slow_decline_days: np.ndarray,
    slow_share: np.ndarray,
) -> np.ndarray:
    """Log flux at rest-frame days ``x``: the rise times a fast plus a slow exponential decline."""
    decline = np.logaddexp(
        np.log1p(-slow_share) - x / fast_decline_days, np.log(slow_share) - x / slow_decline_days
    )
    return _rise(x, rise_days) + decline


@population("SN", "II-P", TYPE_IIP)
def plateau(
    x: np.ndarray,
    rise_days: np.ndarray,
    plateau_slope_mag_per_day: np.ndarray,
    plateau_days: np.ndarray,
    drop_mag: np.ndarray,
) -> np.ndarray:
    """Log flux at rest-frame days ``x``: the rise times a plateau, a drop and the 56Co tail."""
    xp = np.maximum(x, 0.0)
    level = (
        -xp * plateau_slope_mag_per_day / POGSON
        + np.logaddexp(-drop_mag / POGSON, 0.0 - np.logaddexp(0.0, (x - plateau_days) / _PLATEAU_END_DAYS))
        - np.maximum(x - plateau_days, 0.0) / _CO56_EFOLD_DAYS
    )
    return _rise(x, rise_days) + level


def _peak_abs_mag(rng: np.random.Generator, subtype: np.ndarray) -> np.ndarray:
    n = len(subtype)
    peak_abs = np.empty(n)
    for name in SN_MIX:
        peak = get_population("SN", name).params.peak_abs_mag
        draw = rng.normal(peak.mean, peak.sd, n)
        if peak.clip is not None:
            draw = np.clip(draw, *peak.clip)
        pick = subtype == name
        peak_abs[pick] = draw[pick]
    return peak_abs


def _redshift(
    rng: np.random.Generator, peak_abs: np.ndarray, config: SimulationConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Redshift and distance modulus of each SN, uniform in volume out to where it could get a spectrum."""
    from astropy.cosmology import Planck18

    z_grid = np.geomspace(*_Z_GRID)
    mu_grid = Planck18.distmod(z_grid).value
    faintest = min(config.sn_classification_mag + _SPECTRUM_REACH_MAG, config.depth_mag + _BEYOND_DEPTH_MAG)
    z_max = np.interp(faintest - peak_abs, mu_grid, z_grid)
    z = (_Z_MIN**3 + rng.random(len(peak_abs)) * (np.maximum(z_max, _Z_MIN) ** 3 - _Z_MIN**3)) ** (1.0 / 3.0)
    return z, np.interp(z, z_grid, mu_grid)


def _shape_parameters(rng: np.random.Generator, subtype: np.ndarray) -> dict[str, np.ndarray]:
    """Per-object shape parameters (NaN where an object's type has no such parameter)."""
    n = len(subtype)
    values: dict[str, np.ndarray] = {}
    shapes = {name: get_population("SN", name).params.shape for name in SN_MIX}
    for name, shape in shapes.items():
        unknown = {f.name for f in fields(shape)} - set(_SHAPE_DRAW_ORDER)
        if unknown:
            raise ValueError(f"SN {name}: add {sorted(unknown)} to _SHAPE_DRAW_ORDER to draw them.")
    for parameter in _SHAPE_DRAW_ORDER:
        for name, shape in shapes.items():
            if hasattr(shape, parameter):
                draw = rng.uniform(*getattr(shape, parameter), n)
                pick = subtype == name
                values.setdefault(parameter, np.full(n, np.nan))[pick] = draw[pick]
    return values


def _log_flux(
    source: Population, values: dict[str, np.ndarray], x: np.ndarray, idx: np.ndarray
) -> np.ndarray:
    """Log flux through ``source``'s shape of objects ``idx`` at rest-frame days ``x`` (broadcast)."""
    return source.generate(x, **{f.name: values[f.name][idx] for f in fields(source.params.shape)})


def _peak_log_flux(subtype: np.ndarray, values: dict[str, np.ndarray]) -> np.ndarray:
    """Largest log flux of each light curve, found on a rest-frame grid."""
    grid = np.arange(*_PEAK_GRID_DAYS)
    peak_log = np.empty(len(subtype))
    for name in SN_MIX:
        source = get_population("SN", name)
        rows = np.flatnonzero(subtype == name)
        for lo in range(0, len(rows), _PEAK_BLOCK):  # bound the (objects, grid) block
            i = rows[lo : lo + _PEAK_BLOCK]
            peak_log[i] = _log_flux(source, values, grid[None, :], i[:, None]).max(axis=1)
    return peak_log


def _visit_log_flux(
    subtype: np.ndarray, values: dict[str, np.ndarray], x: np.ndarray, obj: np.ndarray
) -> np.ndarray:
    """Log flux at each flat visit (rest-frame days ``x`` of object ``obj``)."""
    log_flux = np.empty(len(x))
    for name in SN_MIX:
        flat = subtype[obj] == name
        log_flux[flat] = _log_flux(get_population("SN", name), values, x[flat], obj[flat])
    return log_flux


def _types_and_peaks(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (type, peak absolute magnitude) pairs as a magnitude-limited survey finds them.

    Types are drawn by rate and peaks from each type's luminosity function; a pair is kept with the chance
    ``10 ** (0.6 * (_BRIGHTEST_PEAK_MAG - M))``, its visible (Euclidean) volume relative to the brightest
    SN's, so each type's share and luminosity function are those of a flux-limited sample.
    """
    names = np.array(list(SN_MIX))
    rates = np.array(list(SN_MIX.values()))
    kept_types, kept_peaks, have = [], [], 0
    while have < n:
        m = 4 * (n - have) + 64
        subtype = rng.choice(names, size=m, p=rates / rates.sum())
        peak_abs = _peak_abs_mag(rng, subtype)
        keep = rng.random(m) < 10.0 ** (0.6 * np.minimum(_BRIGHTEST_PEAK_MAG - peak_abs, 0.0))
        kept_types.append(subtype[keep])
        kept_peaks.append(peak_abs[keep])
        have += int(keep.sum())
    return np.concatenate(kept_types)[:n], np.concatenate(kept_peaks)[:n]


def supernovae(
    rng: np.random.Generator, n: int, obj: np.ndarray, t: np.ndarray, config: SimulationConfig
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Magnitudes of ``n`` SN candidates at the flat visits ``(obj, t)``.

    Returns the true magnitude at each visit, the reference magnitude (NaN: nothing before the explosion)
    and the truth columns ``subtype``, ``redshift``, ``peak_mag`` and ``eligible`` (got a spectrum).
    """
    subtype, peak_abs = _types_and_peaks(rng, n)
    z, mu = _redshift(rng, peak_abs, config)
    values = _shape_parameters(rng, subtype)
    peak_log = _peak_log_flux(subtype, values)
    t0 = rng.uniform(config.start_mjd - _EXPLODED_BEFORE_DAYS, config.end_mjd + _EXPLODED_AFTER_DAYS, n)
    x = (t - t0[obj]) / (1.0 + z[obj])
    mag = peak_abs[obj] + mu[obj] - POGSON * (_visit_log_flux(subtype, values, x, obj) - peak_log[obj])
    # Only SNe with a spectrum get a label; spectroscopy reaches ~19 mag (soft limit).
    peak_mag = peak_abs + mu
    softness = _CLASSIFICATION_SOFTNESS_MAG
    classified = rng.random(n) < 1.0 / (1.0 + np.exp((peak_mag - config.sn_classification_mag) / softness))
    truth = {"subtype": subtype, "redshift": z, "peak_mag": peak_mag, "eligible": classified}
    return mag, np.full(n, np.nan), truth
