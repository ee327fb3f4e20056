"""Active galactic nuclei (AGN): Seyfert nuclei, quasars and blazars, each a damped random walk.

Optical AGN variability is well described by a damped random walk (Kelly et al. 2009; MacLeod et al. 2010):
a rest-frame timescale tau and an asymptotic structure function SF_inf. Each subtype is a registered
population (:mod:`.registry`) with its redshift range and the log-normal spread of tau and SF_inf; the
timescales are stretched by (1 + z) into the observer's frame. All sit on their host's nucleus
(:mod:`.galaxies`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lcrnn.data.simulate.photometry import POGSON, reference_mag
from lcrnn.data.simulate.processes import damped_random_walk, log_uniform
from lcrnn.data.simulate.registry import get_population, population

if TYPE_CHECKING:
    from lcrnn.data.simulate.config import SimulationConfig

__all__ = ["BLAZAR", "QUASAR", "SEYFERT", "DampedRandomWalk", "agn", "blazar_flares"]

# Mean magnitudes of catalogued AGN: number counts rising as 10 ** (0.5 m) (quasar counts steepen from ~0.3
# to ~0.6 per mag brightward of g ~ 19, Richards et al. 2006; nearby Seyferts are Euclidean, 0.6), between
# these bounds; the detection cut then leaves mostly 17-20 mag (SURVEY_FACTS).
_AGN_MEAN_MAG = (16.0, 21.0)
_AGN_COUNT_SLOPE = 0.5
# Blazar flares on top of the walk: a Poisson number per object at this rate (per observer-frame day), each a
# flux spike rising and decaying exponentially, peaking at this brightening (mag, log-uniform) (assumed;
# MANTRA's CRTS blazars span a median 1.9 mag between their 5th and 95th percentiles, a check).
_FLARE_RATE_PER_DAY = 1.0 / 150.0
_FLARE_PEAK_MAG = (0.3, 2.0)
_FLARE_RISE_DAYS = (2.0, 10.0)
_FLARE_DECAY_DAYS = (5.0, 30.0)
_MAX_FLARES = 12  # flares drawn per blazar, enough for the survey and the months before it
# Bounds that keep the log-normal draws physical (assumed).
_TAU_RANGE_DAYS = (5.0, 2000.0)
_SF_INF_RANGE_MAG = (0.05, 2.5)


@dataclass(frozen=True)
class DampedRandomWalk:
    """A nucleus's redshift range and variability, drawn per object."""

    redshift: tuple[float, float]  # log-uniform (low, high)
    tau_rest_days: tuple[float, float]  # (median, log-normal sigma) of the rest-frame timescale
    sf_inf_mag: tuple[float, float]  # (median, log-normal sigma) of the asymptotic structure function


# Seyferts and quasars after MacLeod et al. (2010): tau ~200 d, SF_inf ~0.2 mag (SURVEY_FACTS); Seyfert nuclei
# are nearby (most of the paper's AGN have a GLADE galaxy within 60", its Fig. 3), quasars at z ~0.3-2.5.
SEYFERT = DampedRandomWalk(redshift=(0.005, 0.1), tau_rest_days=(200.0, 0.5), sf_inf_mag=(0.20, 0.35))
QUASAR = DampedRandomWalk(redshift=(0.3, 2.5), tau_rest_days=(200.0, 0.5), sf_inf_mag=(0.20, 0.35))
# Blazars vary faster and far more (SF_inf ~1 mag; e.g. Ruan et al. 2012).
BLAZAR = DampedRandomWalk(redshift=(0.05, 1.5), tau_rest_days=(60.0, 0.6), sf_inf_mag=(0.90, 0.35))


@population("AGN", "Seyfert", SEYFERT)
@population("AGN", "QSO", QUASAR)
@population("AGN", "blazar", BLAZAR)
def drw_nucleus(
    rng: np.random.Generator, k: int, p: DampedRandomWalk
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Redshift, rest-frame timescale (days) and SF_inf (mag) of ``k`` nuclei."""
    tau_median, tau_sigma = p.tau_rest_days
    sf_median, sf_sigma = p.sf_inf_mag
    z = log_uniform(rng, *p.redshift, k)
    tau = np.clip(tau_median * np.exp(tau_sigma * rng.standard_normal(k)), *_TAU_RANGE_DAYS)
    sf_inf = np.clip(sf_median * np.exp(sf_sigma * rng.standard_normal(k)), *_SF_INF_RANGE_MAG)
    return z, tau, sf_inf


def _mean_magnitudes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mean magnitudes from counts rising as 10 ** (slope * m) between the bounds (inverse CDF)."""
    lo, hi = (10.0 ** (_AGN_COUNT_SLOPE * m) for m in _AGN_MEAN_MAG)
    return np.log10(lo + rng.random(n) * (hi - lo)) / _AGN_COUNT_SLOPE


def blazar_flares(
    rng: np.random.Generator, flaring: np.ndarray, obj: np.ndarray, t: np.ndarray, span: tuple[float, float]
) -> np.ndarray:
    """Extra flux (in units of the mean) at each flat visit from flares of the ``flaring`` objects.

    Flare times are uniform over ``span`` (MJD), widened by the longest decay so that a survey may open on a
    fading flare; objects not flaring get zero.
    """
    n = len(flaring)
    start, end = span[0] - 3 * _FLARE_DECAY_DAYS[1], span[1]
    count = np.minimum(rng.poisson(_FLARE_RATE_PER_DAY * (end - start), n), _MAX_FLARES) * flaring
    t_peak = rng.uniform(start, end, (n, _MAX_FLARES))
    peak = 10.0 ** (0.4 * log_uniform(rng, *_FLARE_PEAK_MAG, n * _MAX_FLARES).reshape(n, _MAX_FLARES)) - 1.0
    rise = rng.uniform(*_FLARE_RISE_DAYS, (n, _MAX_FLARES))
    decay = rng.uniform(*_FLARE_DECAY_DAYS, (n, _MAX_FLARES))
    active = np.arange(_MAX_FLARES)[None, :] < count[:, None]  # (n, flares)
    dt = t[:, None] - t_peak[obj]  # (visits, flares)
    shape = np.exp(np.where(dt < 0, dt / rise[obj], -dt / decay[obj]))
    return (np.where(active[obj], peak[obj], 0.0) * shape).sum(axis=1)


def agn(
    rng: np.random.Generator, n: int, obj: np.ndarray, t: np.ndarray, config: SimulationConfig
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Damped random walks of ``n`` candidates drawn from ``config.agn_mix``, blazars with flares on top.

    Returns the true magnitude at each flat visit ``(obj, t)``, the reference-image magnitude per object and
    the truth columns ``subtype``, ``base_mag`` and ``redshift``.
    """
    mix = config.agn_mix
    names = list(mix)
    subtype = rng.choice(np.array(names), size=n, p=np.array(list(mix.values())))
    m0 = _mean_magnitudes(rng, n)
    z, tau, sf_inf = np.empty(n), np.empty(n), np.empty(n)
    for name in names:  # the mix's order fixes the order of the draws
        source = get_population("AGN", name)
        pick = subtype == name
        z[pick], tau[pick], sf_inf[pick] = source.generate(rng, int(pick.sum()), source.params)
    tau_observed = tau * (1.0 + z)
    # The walk's long-term rms is SF_inf / sqrt(2).
    dm = damped_random_walk(rng, obj, t, tau_observed[obj], sf_inf[obj] / np.sqrt(2.0))
    flares = blazar_flares(rng, subtype == "blazar", obj, t, (config.start_mjd, config.end_mjd))
    mag = m0[obj] + dm - POGSON * np.log1p(flares)
    truth = {"subtype": subtype, "base_mag": m0, "redshift": z}
    return mag, reference_mag(obj, mag, n), truth
