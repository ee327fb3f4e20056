"""Variable stars (VS): pulsators, eclipsing binaries, long-period and irregular variables.

Each subtype is a registered population (:mod:`.registry`) whose generator returns the change in magnitude
``dm`` (positive is fainter) at each of its visits; :func:`variable_stars` draws the subtype and base
magnitude of every candidate and calls the generators in the order of the mix. Periods, amplitudes and
shapes follow SURVEY_FACTS ("Variable stars"); amplitudes are the usual V-band ones, which the wide L band
sees at about 0.7 of their size. Dwarf novae and flare stars, seen by brightening, are in :mod:`.flares`.

Every generator is called as ``generate(visits, params)``, with the subtype's :class:`Visits` and its
parameters, and returns ``dm`` at each visit.
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

__all__ = ["CEPHEID", "RRAB", "LogNormal", "Visits", "bailey_amplitude", "variable_stars"]

# Catalogued variables: normal (mean, sd) of their mean magnitude, most of them near the survey limit; they
# span ~12-21 mag (paper Fig. 1: a broad range of mean magnitude), and the detection cut then keeps those that
# vary visibly.
_VS_MEAN_MAG = (18.3, 1.6)
_VS_MAG_RANGE = (12.0, 21.5)
# Amplitudes below are the usual V-band ones; the wide L band (400-700 nm) sees about 0.7 of them.
_VS_AMPLITUDE_SCALE = 0.7


@dataclass(frozen=True)
class LogNormal:
    """A log-normal distribution (median and sigma in dex), clipped to ``bounds``: periods that cluster."""

    median: float
    sigma_dex: float
    bounds: tuple[float, float]


@dataclass(frozen=True)
class Visits:
    """The visits of one subtype's candidates in a batch, and per-candidate draws picked out at them.

    Per-candidate values are drawn for all ``n`` candidates of the batch, of every subtype, and picked with
    ``obj``, as the simulator always has: that keeps the random stream, and so every seed's survey, unchanged.
    """

    rng: np.random.Generator
    n: int  # candidates in the batch
    obj: np.ndarray  # candidate of each visit
    t: np.ndarray  # MJD of each visit
    phase0: np.ndarray  # (n,) a random phase per candidate

    def uniform(self, bounds: tuple[float, float]) -> np.ndarray:
        """A value per candidate, uniform in ``bounds``, at each visit."""
        return self.rng.uniform(*bounds, self.n)[self.obj]

    def log_uniform(self, bounds: tuple[float, float]) -> np.ndarray:
        """A value per candidate, log-uniform in ``bounds``, at each visit."""
        return log_uniform(self.rng, *bounds, self.n)[self.obj]

    def random(self) -> np.ndarray:
        """A value per candidate, uniform in [0, 1), at each visit."""
        return self.rng.random(self.n)[self.obj]

    def period(self, period_days: tuple[float, float] | LogNormal) -> np.ndarray:
        """A period per candidate at each visit: log-uniform in bounds, or from a :class:`LogNormal`."""
        if isinstance(period_days, LogNormal):
            draw = period_days.median * 10.0 ** (period_days.sigma_dex * self.rng.standard_normal(self.n))
            return np.clip(draw, *period_days.bounds)[self.obj]
        return self.log_uniform(period_days)

    def phase(self, period_days: tuple[float, float] | LogNormal | np.ndarray) -> np.ndarray:
        """Phase in [0, 1) at each visit, for a period per candidate (:meth:`period`) or given per visit."""
        period = period_days if isinstance(period_days, np.ndarray) else self.period(period_days)
        return (self.t / period + self.phase0[self.obj]) % 1.0


def _sawtooth(phase: np.ndarray, rise: np.ndarray) -> np.ndarray:
    """Brightness in [0, 1]: a fast linear rise over ``rise`` of the cycle, then a slow decline."""
    return np.where(phase < rise, phase / rise, 1.0 - (phase - rise) / (1.0 - rise))


@dataclass(frozen=True)
class Sawtooth:
    period_days: tuple[float, float] | LogNormal  # bounds of a log-uniform, or a log-normal
    amplitude_mag: tuple[float, float]  # peak to peak: uniform, or the bounds of the Bailey relation's
    rise_share: float  # share of the cycle spent brightening
    bailey_scatter_mag: float | None = None  # amplitude from the period (Bailey relation) with this scatter


def bailey_amplitude(period_days: np.ndarray) -> np.ndarray:
    """V amplitude of an Oosterhoff I RRab star at its period (Cacciari et al. 2005, M3's Bailey relation).

    ``A_V = -2.627 - 22.046 log P - 30.876 (log P)^2``: ~1.0 mag at 0.55 d, ~0.4 mag at 0.65 d.
    """
    log_p = np.log10(period_days)
    return -2.627 - 22.046 * log_p - 30.876 * log_p**2


#: RRab: period 0.45-0.9 d, clustered at ~0.57 d (field RRab, Oosterhoff I; sigma ~0.05 dex, assumed),
#: amplitude 0.3-1.3 mag from the Bailey relation, sawtooth (SURVEY_FACTS); the rise takes ~15 % of the cycle
#: (typical shape, assumed).
RRAB = Sawtooth(
    period_days=LogNormal(0.57, 0.05, (0.45, 0.9)), amplitude_mag=(0.3, 1.3), rise_share=0.15,
    bailey_scatter_mag=0.15,
)
#: Classical Cepheids: period 1-100 d, most near 5 d (log P ~0.7 +- 0.3; assumed from Galactic catalogues),
#: amplitude 0.1-1.5 mag (SURVEY_FACTS); a slower rise (assumed).
CEPHEID = Sawtooth(period_days=LogNormal(5.0, 0.3, (1.0, 100.0)), amplitude_mag=(0.1, 1.5), rise_share=0.3)


@population("VS", "RRab", RRAB)
@population("VS", "CEP", CEPHEID)
def sawtooth_pulsator(v: Visits, p: Sawtooth) -> np.ndarray:
    """Fundamental-mode pulsation: a fast rise and a slow decline about the mean."""
    period = v.period(p.period_days)
    phase = v.phase(period)
    amp = v.uniform(p.amplitude_mag)
    if p.bailey_scatter_mag is not None:
        scatter = p.bailey_scatter_mag * v.rng.standard_normal(v.n)[v.obj]
        amp = np.clip(bailey_amplitude(period) + scatter, *p.amplitude_mag)
    return amp * (0.5 - _sawtooth(phase, np.full(len(v.obj), p.rise_share)))


@dataclass(frozen=True)
class Overtone:
    # RRc: 0.25-0.45 d (SURVEY_FACTS), clustered at ~0.32 d (assumed)
    period_days: LogNormal = LogNormal(0.32, 0.05, (0.25, 0.45))
    amplitude_mag: tuple[float, float] = (0.3, 0.6)  # the lower end of RR Lyrae's 0.3-1.3 mag (SURVEY_FACTS)
    harmonic: float = 0.15  # relative size of the first harmonic: near-sinusoidal (SURVEY_FACTS)


@population("VS", "RRc", Overtone())
def overtone_pulsator(v: Visits, p: Overtone) -> np.ndarray:
    """First-overtone RR Lyrae: a near-sinusoid."""
    phase = v.phase(p.period_days)
    amp = v.uniform(p.amplitude_mag)
    return 0.5 * amp * (np.cos(2 * np.pi * phase) + p.harmonic * np.cos(4 * np.pi * phase))


@dataclass(frozen=True)
class DeltaScuti:
    period_days: tuple[float, float] = (0.03, 0.25)  # below 0.3 d (SURVEY_FACTS)
    amplitude_mag: tuple[float, float] = (0.02, 0.3)  # log-uniform, below 0.3 mag (SURVEY_FACTS)


@population("VS", "DSCT", DeltaScuti())
def delta_scuti(v: Visits, p: DeltaScuti) -> np.ndarray:
    """Small, fast sinusoidal pulsation (at any cadence of days, sampled at random phase)."""
    phase = v.phase(p.period_days)
    amp = v.log_uniform(p.amplitude_mag)
    return 0.5 * amp * np.cos(2 * np.pi * phase)


@dataclass(frozen=True)
class ContactBinary:
    # W UMa systems: 0.2-1 d (SURVEY_FACTS), peaking at ~0.37 d (Rucinski 2007; width assumed)
    period_days: LogNormal = LogNormal(0.37, 0.12, (0.2, 1.0))
    depth_mag: tuple[float, float] = (0.1, 0.8)  # the shallow part of eclipsing binaries' 0.1-1.5 mag
    # The depth is modulated by primary_weight + secondary_swing * cos(2 pi phase): the minimum half a period
    # after the primary is 0.7 as deep (assumed).
    primary_weight: float = 0.85
    secondary_swing: float = 0.15


@population("VS", "EW", ContactBinary())
def contact_binary(v: Visits, p: ContactBinary) -> np.ndarray:
    """Continuous variation with two minima a half-period apart, the secondary a bit shallower."""
    phase = v.phase(p.period_days)
    depth = v.uniform(p.depth_mag)
    return (
        depth
        * 0.5
        * (1 + np.cos(4 * np.pi * phase))
        * (p.primary_weight + p.secondary_swing * np.cos(2 * np.pi * phase))
    )


@dataclass(frozen=True)
class DetachedBinary:
    period_days: tuple[float, float] = (0.5, 10.0)  # eclipsing binaries 0.2-10 d (SURVEY_FACTS)
    primary_depth_mag: tuple[float, float] = (0.1, 1.5)  # SURVEY_FACTS
    secondary_ratio: tuple[float, float] = (0.0, 0.6)  # secondary depth over primary (assumed)
    eclipse_share: tuple[float, float] = (0.05, 0.15)  # of the cycle spent in eclipse (SURVEY_FACTS)
    eclipses_per_cycle: float = 2.0
    sigmas_per_eclipse: float = 3.0  # an eclipse's visible width spans ~3 sigma of its Gaussian profile


@population("VS", "EA", DetachedBinary())
def detached_binary(v: Visits, p: DetachedBinary) -> np.ndarray:
    """Flat outside two narrow Gaussian eclipses, the primary at phase 0 and the secondary at 0.5."""
    phase = v.phase(p.period_days)
    depth1 = v.uniform(p.primary_depth_mag)
    depth2 = depth1 * v.uniform(p.secondary_ratio)
    # Gaussian sigma of each eclipse, in phase.
    width = v.uniform(p.eclipse_share) / p.eclipses_per_cycle / p.sigmas_per_eclipse
    d1 = np.minimum(phase, 1.0 - phase)
    d2 = np.abs(phase - 0.5)
    return depth1 * np.exp(-0.5 * (d1 / width) ** 2) + depth2 * np.exp(-0.5 * (d2 / width) ** 2)


@dataclass(frozen=True)
class Mira:
    # Miras: 100-500 d (SURVEY_FACTS), most near 300 d (assumed from the GCVS's Miras)
    period_days: LogNormal = LogNormal(300.0, 0.12, (100.0, 500.0))
    # Peak to peak; SURVEY_FACTS gives 2.5-8 mag in the visual, and a red-sensitive wide band sees less.
    amplitude_mag: tuple[float, float] = (2.0, 6.0)
    skew: float = 0.08  # phase distortion that makes the rise faster than the decline (assumed)


@population("VS", "M", Mira())
def mira(v: Visits, p: Mira) -> np.ndarray:
    """Large, slightly skewed pulsation (rise faster than decline)."""
    phase = v.phase(p.period_days)
    amp = v.uniform(p.amplitude_mag)
    skewed = phase + p.skew * np.sin(2 * np.pi * phase)
    return 0.5 * amp * np.cos(2 * np.pi * skewed)


@dataclass(frozen=True)
class SemiRegular:
    # SURVEY_FACTS: 20-2000 d; longer than ~500 d would look like a trend over the 595-day survey.
    period_days: tuple[float, float] = (20.0, 500.0)
    second_period_ratio: tuple[float, float] = (0.8, 1.25)  # a nearby second mode (assumed)
    amplitude_mag: tuple[float, float] = (0.1, 1.5)  # below 2.5 mag (SURVEY_FACTS)
    second_amplitude_ratio: tuple[float, float] = (0.2, 0.7)  # the second mode is weaker (assumed)


@population("VS", "SR", SemiRegular())
def semi_regular(v: Visits, p: SemiRegular) -> np.ndarray:
    """Two beating modes: a period plus a nearby one of lower amplitude."""
    p1 = v.log_uniform(p.period_days)
    p2 = p1 * v.uniform(p.second_period_ratio)
    a1 = v.uniform(p.amplitude_mag)
    a2 = a1 * v.uniform(p.second_amplitude_ratio)
    ph2 = v.random()
    return 0.5 * (
        a1 * np.cos(2 * np.pi * (v.t / p1 + v.phase0[v.obj])) + a2 * np.cos(2 * np.pi * (v.t / p2 + ph2))
    )


@dataclass(frozen=True)
class RedNoise:
    tau_days: tuple[float, float] = (5.0, 100.0)  # damped-random-walk timescale, log-uniform (assumed)
    # Long-term rms; red-noise wandering of 0.1-1 mag peak to peak (SURVEY_FACTS).
    sigma_mag: tuple[float, float] = (0.05, 0.5)


@population("VS", "IRR", RedNoise())
def irregular(v: Visits, p: RedNoise) -> np.ndarray:
    """Irregular and young-star variables: a damped random walk."""
    tau = v.log_uniform(p.tau_days)
    sigma = v.uniform(p.sigma_mag)
    return damped_random_walk(v.rng, v.obj, v.t, tau, sigma)


def variable_stars(
    rng: np.random.Generator, n: int, obj: np.ndarray, t: np.ndarray, config: SimulationConfig
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Magnitudes of ``n`` candidates drawn from ``config.vs_mix``, at the flat visits ``(obj, t)``.

    Returns the true magnitude at each visit, the reference-image magnitude per object and the truth
    columns ``subtype`` and ``base_mag`` (the quiescent level for variables seen by brightening).
    """
    mix = config.vs_mix
    names = list(mix)
    subtype = rng.choice(np.array(names), size=n, p=np.array(list(mix.values())))
    m0 = np.clip(rng.normal(*_VS_MEAN_MAG, n), *_VS_MAG_RANGE)
    phase0 = rng.random(n)
    dm = np.zeros(len(t))
    quiescent_offset = np.zeros(n)
    for name in names:  # the mix's order fixes the order of the draws
        source = get_population("VS", name)
        quiescent_offset[subtype == name] = source.quiescent_offset_mag
        flat = subtype[obj] == name
        if flat.any():
            dm[flat] = source.generate(Visits(rng, n, obj[flat], t[flat], phase0), source.params)
    m0 = m0 + quiescent_offset
    mag = m0[obj] + _VS_AMPLITUDE_SCALE * dm
    reference = reference_mag(obj, mag, n)
    return mag, reference, {"subtype": subtype, "base_mag": m0}
