"""When each field is visited, and how deep each visit goes: fields, nights, the Sun, weather and the Moon.

The sky north of ``min_dec_deg`` is cut into ~40 deg^2 fields (a GOTO pointing, paper section 2.1). A field
is visited on clear nights while it is up at night, at a low rate set by survey priorities, and now and then
intensively during a campaign (gravitational-wave or GRB follow-up, paper section 2.1). Each visit's 5-sigma
limit is the dark-sky depth less what the Moon and the seeing take.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lcrnn.data.simulate.config import SimulationConfig

__all__ = ["Schedule", "expand_visits", "field_index", "make_schedule"]

_LA_PALMA_LONGITUDE_DEG = -17.88  # Roque de los Muchachos (paper section 2.1)
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
_STAY_CLEAR = 0.85  # chance that a clear night follows a clear night: bad weather comes in runs (assumed)
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


def _clear_nights(rng: np.random.Generator, n_nights: int, clear_fraction: float) -> np.ndarray:
    """Weather comes in runs: a two-state Markov chain with the requested share of clear nights."""
    clear_after_bad = min(1.0, clear_fraction * (1 - _STAY_CLEAR) / max(1e-9, 1 - clear_fraction))
    draws = rng.random(n_nights)
    clear = np.empty(n_nights, dtype=bool)
    state = bool(draws[0] < clear_fraction)
    for i, d in enumerate(draws):  # one step per night, not per object
        state = bool(d < (_STAY_CLEAR if state else clear_after_bad)) if i else state
        clear[i] = state
    return clear


def _visit_probability(
    rng: np.random.Generator, config: SimulationConfig, shape: tuple[int, int]
) -> np.ndarray:
    """Chance that each field is visited on each night it is up and clear: (fields, nights)."""
    n_fields, n_nights = shape
    # Some fields get more attention than others (survey priorities, overlaps) ...
    interval = config.visit_interval_days * np.exp(rng.normal(0.0, config.visit_interval_spread, n_fields))
    p_survey = np.clip(1.0 / np.maximum(interval, 1.0), 0.0, 1.0)
    # ... and now and then a field is covered intensively for a couple of weeks (follow-up of a
    # gravitational-wave or GRB localisation, a campaign): visits then cluster a few nights apart.
    p_end = 1.0 / config.campaign_length_days
    p_start = min(1.0, config.campaign_fraction * p_end / max(1e-9, 1.0 - config.campaign_fraction))
    campaign = np.empty(shape, dtype=bool)
    state = rng.random(n_fields) < config.campaign_fraction
    switch = rng.random(shape)
    for i in range(n_nights):  # one step per night, vectorised over fields
        if i:
            state = np.where(state, switch[:, i] >= p_end, switch[:, i] < p_start)
        campaign[:, i] = state
    return np.where(campaign, 1.0 / config.campaign_interval_days, p_survey[:, None])


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

    clear = _clear_nights(rng, len(nights), config.clear_fraction)
    p_visit = _visit_probability(rng, config, up.shape)
    visited = up & clear[None, :] & (rng.random(up.shape) < p_visit)

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
