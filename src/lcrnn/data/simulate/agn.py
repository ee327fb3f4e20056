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

from lcrnn.data.simulate.photometry import reference_mag
from lcrnn.data.simulate.processes import damped_random_walk, log_uniform
from lcrnn.data.simulate.registry import get_population, population

if TYPE_CHECKING:
    from lcrnn.data.simulate.config import SimulationConfig

__all__ = ["BLAZAR", "QUASAR", "SEYFERT", "DampedRandomWalk", "agn"]

# Veron-catalogue AGN bright enough to be seen varying: uniform (low, high) mean magnitude (SURVEY_FACTS:
# survey-detected AGN are mostly 17-20 mag; the survey limit is 20.5).
_AGN_MEAN_MAG = (17.5, 20.5)
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


def agn(
    rng: np.random.Generator, n: int, obj: np.ndarray, t: np.ndarray, config: SimulationConfig
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Damped random walks of ``n`` candidates drawn from ``config.agn_mix`` about a 17.5-20.5 mag mean.

    Returns the true magnitude at each flat visit ``(obj, t)``, the reference-image magnitude per object and
    the truth columns ``subtype``, ``base_mag`` and ``redshift``.
    """
    mix = config.agn_mix
    names = list(mix)
    subtype = rng.choice(np.array(names), size=n, p=np.array(list(mix.values())))
    m0 = rng.uniform(*_AGN_MEAN_MAG, n)
    z, tau, sf_inf = np.empty(n), np.empty(n), np.empty(n)
    for name in names:  # the mix's order fixes the order of the draws
        source = get_population("AGN", name)
        pick = subtype == name
        z[pick], tau[pick], sf_inf[pick] = source.generate(rng, int(pick.sum()), source.params)
    tau_observed = tau * (1.0 + z)
    # The walk's long-term rms is SF_inf / sqrt(2).
    dm = damped_random_walk(rng, obj, t, tau_observed[obj], sf_inf[obj] / np.sqrt(2.0))
    mag = m0[obj] + dm
    truth = {"subtype": subtype, "base_mag": m0, "redshift": z}
    return mag, reference_mag(rng, obj, mag, n), truth
