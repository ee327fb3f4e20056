"""Variables seen by brightening: dwarf novae (UG) and flare stars (UV Ceti-type M dwarfs).

They are VS subtypes, called like those of :mod:`.variables` (with their
:class:`~lcrnn.data.simulate.variables.Visits`). Both sit faint in quiescence (the catalogue's mean
magnitude is then about 1.5 mag brighter than their quiescent level) and are detected mostly in outburst or
flare, which is why they lead the labels of a survey that finds its variables by brightening (MANTRA,
Drake et al. 2009; see :data:`lcrnn.data.simulate.mixes.TRANSIENT_SELECTED_VS_MIX`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lcrnn.data.simulate.registry import population
from lcrnn.data.simulate.variables import Visits

__all__ = ["dwarf_nova", "flare_star"]

# m0 of these subtypes is their quiescent level, this much fainter than a catalogued variable's mean
# (assumed).
_QUIESCENT_OFFSET_MAG = 1.5
# Outburst amplitudes change from cycle to cycle as sin(golden angle * cycle number): a sequence that never
# repeats, so each outburst differs without a further random draw; 7 rad per unit of phase0 offsets objects.
_GOLDEN_ANGLE_RAD = 2.39996
_CYCLE_PHASE_SCRAMBLE_RAD = 7.0


@dataclass(frozen=True)
class DwarfNova:
    recurrence_days: tuple[float, float] = (10.0, 1000.0)  # log-uniform; every 10-1000 d (SURVEY_FACTS)
    outburst_days: tuple[float, float] = (3.0, 15.0)  # lasting days (SURVEY_FACTS)
    amplitude_mag: tuple[float, float] = (2.0, 6.0)  # 2-6 mag (SURVEY_FACTS)
    # Each cycle's amplitude is scaled by mean_scale + scale_swing * sin(...): between 0.5 and 1 (assumed).
    mean_scale: float = 0.75
    scale_swing: float = 0.25
    rise_days: float = 0.7  # the rise to maximum takes under a day (assumed)
    plateau_fade: float = 0.4  # share of the amplitude lost during the outburst (assumed)
    final_fade_from: float = 0.6  # share of the amplitude left when the final decline starts (assumed)
    final_fade_days: float = 2.0  # length of that decline (assumed)


@population("VS", "UG", DwarfNova(), quiescent_offset_mag=_QUIESCENT_OFFSET_MAG)
def dwarf_nova(v: Visits, p: DwarfNova) -> np.ndarray:
    """Outbursts that recur about every ``recurrence_days``, each a bit different; 0 in quiescence."""
    recur = v.log_uniform(p.recurrence_days)
    length = v.uniform(p.outburst_days)
    amp = v.uniform(p.amplitude_mag)
    phase0 = v.phase0[v.obj]
    cycles = v.t / recur + phase0
    since = (cycles % 1.0) * recur
    amp = amp * (
        p.mean_scale
        + p.scale_swing * np.sin(_GOLDEN_ANGLE_RAD * np.floor(cycles) + _CYCLE_PHASE_SCRAMBLE_RAD * phase0)
    )
    rise = p.rise_days
    out = np.where(since < rise, -amp * since / rise, 0.0)
    out = np.where(
        (since >= rise) & (since < length),
        -amp * (1 - p.plateau_fade * (since - rise) / (length - rise)),
        out,
    )
    fade = (since >= length) & (since < length + p.final_fade_days)
    return np.where(fade, -p.final_fade_from * amp * (1 - (since - length) / p.final_fade_days), out)


@dataclass(frozen=True)
class FlareStar:
    # Share of the time spent in a detectable flare, log-uniform: a few per cent (assumed).
    duty_cycle: tuple[float, float] = (0.01, 0.08)
    peak_mag: tuple[float, float] = (0.5, 4.0)  # above quiescence at the flare's peak, in L (assumed)
    decay_efolds: float = 1.0  # mean e-folds of flux decay already past when a visit lands in a flare


@population("VS", "UV", FlareStar(), quiescent_offset_mag=_QUIESCENT_OFFSET_MAG)
def flare_star(v: Visits, p: FlareStar) -> np.ndarray:
    """M-dwarf flares: minutes-to-hours events, so a visit either misses them or lands on the fast decay."""
    duty = v.log_uniform(p.duty_cycle)
    peak = v.uniform(p.peak_mag)
    in_flare = v.rng.random(len(v.obj)) < duty  # a visit lands in a flare with the duty cycle's chance
    decay = np.exp(-v.rng.exponential(p.decay_efolds, len(v.obj)))  # flux still left when the visit comes
    boost = (10.0 ** (0.4 * peak) - 1.0) * decay
    return np.where(in_flare, -2.5 * np.log10(1.0 + boost), 0.0)
