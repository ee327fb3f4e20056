"""When each field is visited, and how deep each visit goes: fields, nights, the Sun, weather and the Moon.

The sky north of ``min_dec_deg`` is cut into ~40 deg^2 fields (a GOTO pointing, paper section 2.1). One
schedule serves every object, whatever it is: on clear nights (weather comes in runs) the all-sky survey
rotates through the fields that are up at night (the Sun sets which, season by season), each night's share
set by the night's length and the number of fields up; during LIGO-Virgo's O3 run some fields are also
covered intensively (GW follow-up, paper section 2.1). Each visit's 5-sigma limit is the dark-sky depth less
what the Moon and the seeing take. Whether a source is *detected* at a visit is decided later, from its
brightness against that limit (:mod:`.photometry`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lcrnn.data.simulate.config import SimulationConfig

__all__ = ["Schedule", "expand_visits", "field_index", "make_schedule"]

_LA_PALMA_LONGITUDE_DEG = -17.88  # Roque de los Muchachos (paper section 2.1)
_LA_PALMA_LATITUDE_DEG = 28.76  # SURVEY_FACTS
_OBLIQUITY_DEG = 23.44
# LIGO-Virgo O3a (2019-04-01 to 2019-10-01) and O3b (2019-11-01 to 2020-03-27), MJD (Abbott et al. 2021).
_O3_RUNS_MJD = ((58574.0, 58757.0), (58788.0, 58935.0))
_TWILIGHT_SUN_ALT_DEG = -15.0  # observing starts and ends with the Sun this far down (assumed)
_MARCH_EQUINOX_2019_MJD = 58562.92  # 2019-03-20 21:58 UT: the Sun at RA 0
_NEW_MOON_MJD = 58578.37  # 2019-04-05 08:50 UT
_SYNODIC_MONTH_DAYS = 29.530589
_TROPICAL_YEAR_DAYS = 365.2422
_FIELD_SIZE_DEG = 6.3  # a GOTO pointing covers about 40 deg^2 (paper section 2.1)
# How far (deg of hour angle at local midnight) from the anti-Sun a field may be and still be observed, by
# declination: fields near dec -20 are up for ~6 months, equatorial ones ~8, and those above dec 61
# (90 - 28.76, La Palma's latitude; SURVEY_FACTS) are circumpolar and up all year.
_WINDOW_DEC_DEG = (-20.0, 30.0, 61.0)
_WINDOW_HOUR_ANGLE_DEG = (95.0, 110.0, 180.0)
_CLEAR_RUN_NIGHTS = 1 / (1 - 0.85)  # clear spells last ~7 nights: bad weather comes in runs (assumed)
_RANKING_NOISE = 1.0  # log-normal sigma of a field's nightly share of the rotation (assumed)
_MAX_TRANSIT_OFFSET_DAYS = 0.3  # fields are observed near the meridian, within ~7 h of midnight
_TIME_JITTER_DAYS = 0.02  # +-30 min of scheduling noise on each visit


@dataclass(frozen=True)
class Schedule:
    """Visits of every field, grouped by field and sorted in time (CSR layout)."""

    band_offset: np.ndarray  # (n_bands,) first field id of each declination band
    band_n_ra: np.ndarray  # (n_bands,) fields per band
    ptr: np.ndarray  # (n_fields + 1,) visits of field f are times[ptr[f]:ptr[f + 1]]
    times: np.ndarray  # (n_visits,) MJD
    limits: np.ndarray  # (n_visits,) 5-sigma limiting magnitude of each visit


def _field_grid(min_dec: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Declination bands of ~6.3 deg, each cut in RA into fields of about the same width."""
    n_bands = int(np.ceil((90.0 - min_dec) / _FIELD_SIZE_DEG))
    centres = min_dec + (np.arange(n_bands) + 0.5) * _FIELD_SIZE_DEG
    n_ra = np.maximum(1, np.floor(360.0 * np.cos(np.radians(np.minimum(centres, 89.0))) / _FIELD_SIZE_DEG))
    n_ra = n_ra.astype(np.int64)
    offset = np.concatenate([[0], np.cumsum(n_ra)[:-1]])
    return centres, n_ra, offset, np.repeat(np.arange(n_bands), n_ra)


def field_index(schedule: Schedule, ra: np.ndarray, dec: np.ndarray, min_dec: float) -> np.ndarray:
    """The field each (ra, dec) falls in."""
    band = np.clip(((dec - min_dec) // _FIELD_SIZE_DEG).astype(np.int64), 0, len(schedule.band_n_ra) - 1)
    n_ra = schedule.band_n_ra[band]
    return schedule.band_offset[band] + (np.floor(ra / 360.0 * n_ra).astype(np.int64) % n_ra)


def _runs(rng: np.random.Generator, n_nights: int, share: float, mean_run: float) -> np.ndarray:
    """Nights in runs: a two-state Markov chain, True a ``share`` of the nights in runs of ``mean_run``."""
    stay = 1.0 - 1.0 / max(mean_run, 1.0)
    start = min(1.0, share * (1 - stay) / max(1e-9, 1 - share))
    draws = rng.random(n_nights)
    out = np.empty(n_nights, dtype=bool)
    state = bool(draws[0] < share)
    for i, d in enumerate(draws):  # one step per night, not per object
        state = bool(d < (stay if state else start)) if i else state
        out[i] = state
    return out


def _dark_hours(midnight: np.ndarray) -> np.ndarray:
    """Hours between evening and morning twilight (the Sun 15 deg down) at La Palma."""
    sun_dec = np.arcsin(
        np.sin(np.radians(_OBLIQUITY_DEG))
        * np.sin(2 * np.pi * (midnight - _MARCH_EQUINOX_2019_MJD) / _TROPICAL_YEAR_DAYS)
    )
    lat = np.radians(_LA_PALMA_LATITUDE_DEG)
    cos_h = (np.sin(np.radians(_TWILIGHT_SUN_ALT_DEG)) - np.sin(lat) * np.sin(sun_dec)) / (
        np.cos(lat) * np.cos(sun_dec)
    )
    # The Sun's hour angle at the twilight altitude is half the day's length; the rest is night.
    return 24.0 - 2.0 * np.degrees(np.arccos(np.clip(cos_h, -1.0, 1.0))) / 15.0


def _rotation_visits(
    rng: np.random.Generator, config: SimulationConfig, observable: np.ndarray, hours: np.ndarray
) -> np.ndarray:
    """Survey visits of a field rotation: (fields, nights) True where the rotation comes back to a field.

    Each observable night, every field that is up earns credit at a rate set by how many fields share the
    night's hours (fewer fields up, or a longer night, bring each one round sooner); a field is visited each
    time its credit passes a whole number. The scheduler thus revisits the fields that waited longest, as a
    rotation does, and a cloudy night only delays the rotation. Fields differ in priority (overlaps, survey
    priorities): a log-normal factor per field.
    """
    n_fields, _ = observable.shape
    n_up = np.maximum(observable.sum(axis=0), 1)
    typical_up = np.median(n_up[observable.any(axis=0)]) if observable.any() else 1.0
    rate = (typical_up / n_up) * (hours / np.mean(hours)) / config.visit_interval_days  # (nights,)
    priority = np.exp(rng.normal(0.0, config.visit_interval_spread, n_fields))
    # Night-to-night ranking noise (airmass, the Moon's distance, competing targets): the rotation is only
    # roughly regular.
    jitter = np.exp(rng.normal(-0.5 * _RANKING_NOISE**2, _RANKING_NOISE, observable.shape))  # mean 1
    credit = np.cumsum(observable * rate[None, :] * jitter, axis=1) * priority[:, None]
    credit += rng.random(n_fields)[:, None]
    whole = np.floor(credit)
    visited = np.zeros_like(observable)
    visited[:, 1:] = whole[:, 1:] > whole[:, :-1]
    visited[:, 0] = whole[:, 0] >= 1.0
    return visited & observable


def _campaign_visits(
    rng: np.random.Generator, config: SimulationConfig, nights: np.ndarray, n_fields: int
) -> np.ndarray:
    """Extra visits while a field is covered intensively: follow-up of GW localisations during LIGO-Virgo's
    third observing run (O3a and O3b), when GOTO followed up the alerts (paper section 2.1)."""
    shape = (n_fields, len(nights))
    n_nights = len(nights)
    in_run = np.zeros(n_nights, dtype=bool)
    for first, last in _O3_RUNS_MJD:
        in_run |= (nights >= first) & (nights <= last)
    p_end = 1.0 / config.campaign_length_days
    p_start = min(1.0, config.campaign_fraction * p_end / max(1e-9, 1.0 - config.campaign_fraction))
    campaign = np.empty(shape, dtype=bool)
    state = rng.random(n_fields) < config.campaign_fraction
    switch = rng.random(shape)
    for i in range(n_nights):  # one step per night, vectorised over fields
        if i:
            state = np.where(state, switch[:, i] >= p_end, switch[:, i] < p_start)
        campaign[:, i] = state & in_run[i]
    return campaign & (rng.random(shape) < 1.0 / config.campaign_interval_days)


def make_schedule(rng: np.random.Generator, config: SimulationConfig) -> Schedule:
    """When each field is visited, and how deep each visit goes."""
    centres, n_ra, offset, band_of_field = _field_grid(config.min_dec_deg)
    within = np.arange(len(band_of_field)) - offset[band_of_field]
    field_ra = (within + 0.5) * 360.0 / n_ra[band_of_field]
    field_dec = centres[band_of_field]

    nights = np.arange(np.floor(config.start_mjd), np.ceil(config.end_mjd))
    midnight = nights + 1.0 - _LA_PALMA_LONGITUDE_DEG / 360.0  # local midnight, MJD (UT)
    sun_ra = 360.0 * (midnight - _MARCH_EQUINOX_2019_MJD) / _TROPICAL_YEAR_DAYS
    # Hour angle (deg) of each field at local midnight; a field is up for part of the night within the window.
    offset_deg = (field_ra[:, None] - (sun_ra[None, :] + 180.0) + 180.0) % 360.0 - 180.0  # (fields, nights)
    window = np.interp(field_dec, _WINDOW_DEC_DEG, _WINDOW_HOUR_ANGLE_DEG)
    up = np.abs(offset_deg) < window[:, None]

    clear = _runs(rng, len(nights), config.clear_fraction, _CLEAR_RUN_NIGHTS)
    observable = up & clear[None, :]
    visited = _rotation_visits(rng, config, observable, _dark_hours(midnight))
    visited |= observable & _campaign_visits(rng, config, nights, up.shape[0])

    f_idx, n_idx = np.nonzero(visited)  # row-major: grouped by field, nights ascending
    transit = np.clip(offset_deg[f_idx, n_idx] / 360.0, -_MAX_TRANSIT_OFFSET_DAYS, _MAX_TRANSIT_OFFSET_DAYS)
    times = midnight[n_idx] + transit + rng.uniform(-_TIME_JITTER_DAYS, _TIME_JITTER_DAYS, len(f_idx))
    # Illuminated fraction of the Moon; the limit loses moon_depth_loss_mag times its square.
    moon = 0.5 * (1.0 - np.cos(2 * np.pi * (midnight[n_idx] - _NEW_MOON_MJD) / _SYNODIC_MONTH_DAYS))
    limits = (
        config.depth_mag
        - config.moon_depth_loss_mag * moon**2
        - np.abs(rng.normal(0.0, config.depth_scatter_mag, len(f_idx)))
    )
    ptr = np.concatenate([[0], np.cumsum(visited.sum(axis=1))]).astype(np.int64)
    return Schedule(offset, n_ra, ptr, times, limits)


def expand_visits(schedule: Schedule, fields: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat (object, time, limit) arrays of every visit to each object's field, grouped by object."""
    counts = schedule.ptr[fields + 1] - schedule.ptr[fields]
    obj = np.repeat(np.arange(len(fields)), counts)
    first = np.cumsum(counts) - counts
    idx = np.repeat(schedule.ptr[fields] - first, counts) + np.arange(counts.sum())
    return obj, schedule.times[idx], schedule.limits[idx]
