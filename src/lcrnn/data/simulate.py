"""A GOTO-like survey simulator: labelled light curves, sky positions and a galaxy catalogue.

The paper's data (Burhanudin et al. 2021, section 2) are not public, so we make data that behave like them:
one wide L band with a 5-sigma depth of about 20.5 mag, detections from difference imaging (an epoch counts
only when the object differs from the reference image by 5 sigma *and* is brighter than that night's limit, so
quiet states of variables go unseen), fields visited every month or so while the Sun allows and the weather is
clear, with now and then a campaign of visits a few nights apart (follow-up of gravitational-wave and GRB
localisations), a brighter limit around full Moon, and magnitude errors from a sky + source noise model with a
calibration floor. With the defaults the light curves have a median of 6 points, a median of ~12 days between
successive points (paper: 6 and ~11) and durations from a day to the whole 595-day survey. Each class has physically shaped light curves:

* variable stars (VS): RR Lyrae, Cepheids, delta Scuti, contact and detached eclipsing binaries, Miras,
  semi-regulars, dwarf novae, flare stars and irregular red-noise variables, crowding the galactic plane;
* supernovae (SN): Ia, II-P and Ib/c with Bazin-like flux shapes, peak absolute magnitudes and redshifts drawn
  from the volume they can be seen in, offset 1-10 arcsec from their host;
* AGN: Seyfert nuclei, quasars and blazars, each a damped random walk (rest-frame tau ~200 d and SF_inf
  ~0.2 mag for the first two, ~60 d and ~1 mag for blazars) on their host's nucleus, at redshifts of their kind.

Objects are kept only when detected at least ``min_detections`` times, as a survey catalogue would be. The
galaxy catalogue holds the hosts a GLADE-like catalogue would hold at their distance (or GWGC-like, see
:mod:`lcrnn.data.catalog_depth`) plus field galaxies at its density, drawn only in a patch around each object (all a nearest-galaxy match within 60 arcsec can see), so the catalogue stays small.
Context columns are *not* written: :func:`lcrnn.data.context.compute_context` derives them from the tables.

Everything is vectorised per class over flat (object, visit) arrays; only loops over classes, batches, VS
subtypes and visit positions (for the damped random walks) remain in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from astropy import units as u
from astropy.coordinates import SkyCoord
from tqdm.auto import tqdm

from lcrnn.data.catalog_depth import GLADE_LIKE, GalaxyCatalogModel, catalog_model
from lcrnn.data.tables import Survey
from lcrnn.errors import LcrnnError

__all__ = [
    "AGN_MIX",
    "CLASSES",
    "PAPER_CLASS_COUNTS",
    "SOURCE_POPULATIONS",
    "TRANSIENT_SELECTED_AGN_MIX",
    "TRANSIENT_SELECTED_VS_MIX",
    "VS_MIX",
    "SimulationConfig",
    "class_counts",
    "magnitude_error",
    "simulate_survey",
    "simulate_survey_with_truth",
]

#: The paper's three super-classes.
CLASSES: tuple[str, ...] = ("VS", "SN", "AGN")
#: Labelled objects per class in the paper's data set (section 2.2).
PAPER_CLASS_COUNTS: Mapping[str, int] = MappingProxyType({"VS": 98_457, "SN": 201, "AGN": 543})
_PAPER_TOTAL = sum(PAPER_CLASS_COUNTS.values())  # 99,201

_LA_PALMA_LONGITUDE_DEG = -17.88
_MARCH_EQUINOX_2019_MJD = 58562.92  # 2019-03-20 21:58 UT: the Sun at RA 0
_NEW_MOON_MJD = 58578.37  # 2019-04-05 08:50 UT
_SYNODIC_MONTH_DAYS = 29.530589
_TROPICAL_YEAR_DAYS = 365.2422
_FIELD_SIZE_DEG = 6.3  # a GOTO pointing covers about 40 deg^2
_COUNTS_AT_LIMIT = 400.0  # source counts at the 5-sigma limit; sets how fast errors fall for bright sources
_POGSON = 2.5 / np.log(10.0)  # 1.0857: sigma_m = _POGSON / SNR
_BATCH = 20_000  # candidates simulated at once (bounds memory)
_REFERENCE_EPOCHS = 12  # visits stacked into each object's reference image

# Catalogued variables: normal (mean, sd) of their mean magnitude, most of them near the survey limit.
_VS_MEAN_MAG = (18.3, 1.6)
# Amplitudes below are the usual V-band ones; the wide L band sees about 0.7 of them.
_VS_AMPLITUDE_SCALE = 0.7
_BRIGHT_RESIDUAL_MAG = 15.5  # detections of stars brighter than this are increasingly rejected
# Veron-catalogue AGN bright enough to be seen varying: uniform (low, high) mean magnitude.
_AGN_MEAN_MAG = (17.5, 20.5)
# Mix of VS subtypes among catalogued variables (AAVSO VSX-like): name -> fraction.
VS_MIX: Mapping[str, float] = MappingProxyType(
    {
        "EW": 0.28,  # W UMa contact binaries
        "EA": 0.12,  # detached (Algol-type) binaries
        "RRab": 0.10,
        "RRc": 0.05,
        "DSCT": 0.05,  # delta Scuti
        "CEP": 0.03,  # classical Cepheids
        "M": 0.06,  # Miras
        "SR": 0.14,  # semi-regular variables
        "UG": 0.04,  # dwarf novae
        "UV": 0.02,  # flare stars (UV Ceti-type M dwarfs)
        "IRR": 0.11,  # irregular / young-star red noise
    }
)
# AGN subtypes among Veron-catalogue candidates (13th ed.: ~20 % active galaxies, ~80 % quasars, ~1 % BL Lac),
# before the detection cut. Bright, nearby Seyfert nuclei dominate what a 20.5-mag survey sees varying, which
# is why most of the paper's AGN have a GLADE galaxy within 60" (its Fig. 3).
AGN_MIX: Mapping[str, float] = MappingProxyType({"Seyfert": 0.80, "QSO": 0.19, "blazar": 0.01})
# Per AGN subtype: redshift range (log-uniform), rest-frame DRW timescale (median, log-normal sigma) in days,
# and SF_inf (median, log-normal sigma) in mag. Seyferts and quasars after MacLeod et al. (2010): tau ~200 d,
# SF_inf ~0.2 mag; blazars vary faster and far more (SF_inf ~1 mag; e.g. Ruan et al. 2012).
_AGN_KINDS: Mapping[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = MappingProxyType(
    {
        "Seyfert": ((0.005, 0.1), (200.0, 0.5), (0.20, 0.35)),
        "QSO": ((0.3, 2.5), (200.0, 0.5), (0.20, 0.35)),
        "blazar": ((0.05, 1.5), (60.0, 0.6), (0.90, 0.35)),
    }
)
# SN types among the candidates; each is drawn out to the distance at which it could just be seen, so the
# detected mix stays close to this (that of magnitude-limited samples).
_SN_MIX: Mapping[str, float] = MappingProxyType({"Ia": 0.68, "II-P": 0.22, "Ibc": 0.10})


#: A VS mix for surveys whose labelled variables are found by brightening (as CRTS's transients in MANTRA,
#: Drake et al. 2009: CV 130, flare 59, other variables 19 of 208): dwarf novae and flare stars first.
TRANSIENT_SELECTED_VS_MIX: Mapping[str, float] = MappingProxyType(
    {"UG": 0.60, "UV": 0.28, "M": 0.03, "SR": 0.03, "IRR": 0.03, "RRab": 0.02, "EA": 0.01}
)

#: An AGN mix for the same kind of survey: MANTRA's AGN are half blazars (59 of 116) and all flaring; blazars
#: are ~7 times likelier than other AGN to pass the detection cut, so 13 % of the candidates give about half.
TRANSIENT_SELECTED_AGN_MIX: Mapping[str, float] = MappingProxyType({"Seyfert": 0.20, "QSO": 0.67, "blazar": 0.13})

#: Named subtype mixes: ``survey`` (the defaults, a VSX/Veron-like catalogue) and ``transient`` (labels found by
#: brightening). Pass one as ``SimulationConfig(**SOURCE_POPULATIONS[name])``.
SOURCE_POPULATIONS: Mapping[str, Mapping[str, Mapping[str, float]]] = MappingProxyType(
    {
        "survey": MappingProxyType({"vs_mix": VS_MIX, "agn_mix": AGN_MIX}),
        "transient": MappingProxyType(
            {"vs_mix": TRANSIENT_SELECTED_VS_MIX, "agn_mix": TRANSIENT_SELECTED_AGN_MIX}
        ),
    }
)


def _checked_shares(name: str, shares: Mapping[str, float], known: Sequence[str], kind: str) -> dict[str, float]:
    """``shares`` as a dict once every key is known and the values are non-negative with a positive sum."""
    shares = dict(shares)
    unknown = sorted(set(shares) - set(known))
    if unknown:
        raise ValueError(f"{name} has unknown {kind} {unknown}; the simulator knows {sorted(known)}.")
    values = np.array(list(shares.values()), dtype=np.float64)
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0) or values.sum() <= 0:
        raise ValueError(f"{name} must be non-negative numbers with a positive sum, got {shares!r}.")
    return shares


def _checked_mix(name: str, mix: Mapping[str, float], known: Mapping[str, float]) -> Mapping[str, float]:
    """The mix normalised to sum 1, or a ValueError naming what is wrong."""
    mix = _checked_shares(name, mix, list(known), "subtype(s)")
    total = float(sum(mix.values()))
    return MappingProxyType({k: float(v) / total for k, v in mix.items()})


def _paper_fractions() -> Mapping[str, float]:
    return MappingProxyType({k: v / _PAPER_TOTAL for k, v in PAPER_CLASS_COUNTS.items()})


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate; the defaults reproduce the size and make-up of the paper's data set.

    Parameters
    ----------
    n_objects
        Labelled objects to return (paper: 99,201).
    class_fractions
        Fraction per class (keys from ``CLASSES``); normalised, and turned into whole counts by
        :func:`class_counts` (paper: 98,457 VS, 201 SN, 543 AGN). Raise the minority fractions for small test
        surveys.
    seed
        Seed of the one random generator used throughout: the same config gives the same survey.
    galaxy_catalog
        The catalogue the context is computed against (:mod:`lcrnn.data.catalog_depth`): ``GLADE_LIKE``, the
        paper's, or ``GWGC_LIKE`` to train for the shallow catalogue in ``../shared/data``. A name
        (``"glade"``, ``"gwgc"``) is accepted too.
    vs_mix, agn_mix
        Subtype shares among the candidates, before the detection cut (normalised). The defaults are a
        VSX-like and a Veron-like mix; a transient survey's labels lean to what brightens (see
        :data:`TRANSIENT_SELECTED_VS_MIX` and :data:`TRANSIENT_SELECTED_AGN_MIX`). Known subtypes: ``VS_MIX`` and ``AGN_MIX`` keys.
    """

    n_objects: int = _PAPER_TOTAL  # paper section 2.2
    class_fractions: Mapping[str, float] = field(default_factory=_paper_fractions)
    seed: int = 0
    start_mjd: float = 58562.0  # 2019-03-20, first night of the paper's data
    end_mjd: float = 59157.0  # 2020-11-04, last night
    depth_mag: float = 20.5  # 5-sigma limit of a 60 s L-band exposure in dark time (paper section 2.1)
    moon_depth_loss_mag: float = 2.0  # limit lost at full Moon (scales with illuminated fraction squared)
    depth_scatter_mag: float = 0.3  # seeing and transparency: each visit loses |N(0, this)| mag of depth
    error_floor_mag: float = 0.015  # calibration floor added in quadrature to the photon noise
    saturation_mag: float = 12.0  # brighter measurements are saturated and not kept
    visit_interval_days: float = 40.0  # median nights between survey visits of a field that is up and clear
    visit_interval_spread: float = 0.5  # log-normal sigma of that interval over fields (survey priorities)
    campaign_fraction: float = 0.15  # share of nights a field spends in an intensive campaign
    campaign_interval_days: float = 2.6  # nights between visits during a campaign
    campaign_length_days: float = 14.0  # mean length of a campaign
    clear_fraction: float = 0.75  # share of usable nights on La Palma (bad weather comes in runs)
    detection_efficiency: float = 0.8  # real-bogus losses, chip gaps, masked pixels
    min_detections: int = 2  # an object enters the catalogue after this many detections
    min_dec_deg: float = -20.0  # southern limit of the sky seen from La Palma
    min_abs_b_deg: float = 0.0  # footprint: fields nearer the Galactic plane are not observed (CRTS: ~15)
    galaxy_catalog: GalaxyCatalogModel = GLADE_LIKE  # which hosts are catalogued, and how crowded it is
    galaxy_patch_arcsec: float = 180.0  # field galaxies are drawn within this radius of each object
    sn_classification_mag: float = 18.0  # SN get a label (a TNS spectrum) mostly when peaking brighter
    vs_mix: Mapping[str, float] = field(default_factory=lambda: VS_MIX)  # share of each variable-star subtype among candidates
    agn_mix: Mapping[str, float] = field(default_factory=lambda: AGN_MIX)  # share of each AGN subtype among candidates

    def __post_init__(self) -> None:
        if int(self.n_objects) != self.n_objects or self.n_objects < 1:
            raise ValueError(f"n_objects must be a positive whole number, got {self.n_objects!r}.")
        fractions = _checked_shares("class_fractions", self.class_fractions, CLASSES, "class(es)")
        object.__setattr__(self, "class_fractions", MappingProxyType(fractions))
        if isinstance(self.galaxy_catalog, str):
            object.__setattr__(self, "galaxy_catalog", catalog_model(self.galaxy_catalog))
        if not isinstance(self.galaxy_catalog, GalaxyCatalogModel):
            raise TypeError(
                f"galaxy_catalog must be a GalaxyCatalogModel or 'glade'/'gwgc', got {self.galaxy_catalog!r}."
            )
        object.__setattr__(self, "vs_mix", _checked_mix("vs_mix", self.vs_mix, VS_MIX))
        object.__setattr__(self, "agn_mix", _checked_mix("agn_mix", self.agn_mix, AGN_MIX))
        if not self.end_mjd - self.start_mjd >= 1:
            raise ValueError(
                f"end_mjd ({self.end_mjd}) must be at least one day after start_mjd ({self.start_mjd})."
            )
        if int(self.min_detections) != self.min_detections or self.min_detections < 1:
            raise ValueError(f"min_detections must be a whole number >= 1, got {self.min_detections!r}.")
        for name in ("visit_interval_days", "campaign_interval_days", "campaign_length_days"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be >= 1 night, got {getattr(self, name)!r}.")
        for name in ("clear_fraction", "detection_efficiency", "campaign_fraction"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must lie in [0, 1], got {value!r}.")
        if self.clear_fraction == 0 or self.detection_efficiency == 0:
            raise ValueError(
                "clear_fraction and detection_efficiency must be above 0, or nothing is ever seen."
            )
        if not -90 <= self.min_dec_deg < 90:
            raise ValueError(f"min_dec_deg must lie in [-90, 90), got {self.min_dec_deg!r}.")
        if not 0 <= self.min_abs_b_deg <= 60:
            raise ValueError(f"min_abs_b_deg must lie in [0, 60], got {self.min_abs_b_deg!r}.")
        if self.saturation_mag >= self.depth_mag:
            raise ValueError(
                f"saturation_mag ({self.saturation_mag}) must be brighter (smaller) than depth_mag "
                f"({self.depth_mag})."
            )
        for name in ("galaxy_patch_arcsec", "error_floor_mag"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}.")


def class_counts(n_objects: int, class_fractions: Mapping[str, float] | None = None) -> dict[str, int]:
    """Whole numbers of objects per class that add up to ``n_objects``.

    Largest-remainder rounding of ``n_objects * fraction``, so the paper's fractions at the paper's size give
    exactly 98,457 / 201 / 543; every class with a positive fraction gets at least one object when
    ``n_objects`` allows (taken from the largest class).

    Parameters
    ----------
    n_objects
        Total number of objects.
    class_fractions
        Fraction per class; normalised here. Defaults to the paper's.

    Returns
    -------
    dict of str to int
        Counts in the order of :data:`CLASSES` (classes absent from ``class_fractions`` are left out).
    """
    fractions = dict(_paper_fractions() if class_fractions is None else class_fractions)
    names = [c for c in CLASSES if c in fractions]
    weights = np.array([fractions[c] for c in names], dtype=np.float64)
    exact = n_objects * weights / weights.sum()
    counts = np.floor(exact + 1e-9).astype(np.int64)
    # Hand what is left to the largest remainders (ties go to the earlier class).
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n_objects - counts.sum()]] += 1
    positive = weights > 0
    while np.any(positive & (counts == 0)) and counts.max() > 1:
        counts[np.argmax(counts)] -= 1
        counts[np.flatnonzero(positive & (counts == 0))[0]] += 1
    return {name: int(n) for name, n in zip(names, counts, strict=True)}


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
    return np.hypot(_POGSON / snr, floor_mag)


def _counts(mag: np.ndarray, limit_mag: Any) -> np.ndarray:
    return _COUNTS_AT_LIMIT * 10.0 ** (-0.4 * (mag - limit_mag))


def _noise(counts: np.ndarray) -> np.ndarray:
    # Sky counts chosen so that _COUNTS_AT_LIMIT counts are a 5-sigma detection.
    sky = _COUNTS_AT_LIMIT**2 / 25.0 - _COUNTS_AT_LIMIT
    return np.sqrt(np.maximum(counts, 0.0) + sky)


# ----------------------------------------------------------------------------------------------------------
# Survey schedule: fields, nights, weather, Moon


@dataclass(frozen=True)
class _Schedule:
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


def _field_index(schedule: _Schedule, ra: np.ndarray, dec: np.ndarray, min_dec: float) -> np.ndarray:
    band = np.clip(((dec - min_dec) // _FIELD_SIZE_DEG).astype(np.int64), 0, len(schedule.band_n_ra) - 1)
    n_ra = schedule.band_n_ra[band]
    return schedule.band_offset[band] + (np.floor(ra / 360.0 * n_ra).astype(np.int64) % n_ra)


def _make_schedule(rng: np.random.Generator, config: SimulationConfig) -> _Schedule:
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
    # Fields near dec -20 are up for ~6 months, equatorial ones ~8, circumpolar ones (dec > 61) all year.
    window = np.interp(field_dec, [-20.0, 30.0, 61.0], [95.0, 110.0, 180.0])
    up = np.abs(offset_deg) < window[:, None]

    # Weather comes in runs: a two-state Markov chain with the requested share of clear nights.
    stay_clear = 0.85
    clear_after_bad = min(
        1.0, config.clear_fraction * (1 - stay_clear) / max(1e-9, 1 - config.clear_fraction)
    )
    draws = rng.random(len(nights))
    clear = np.empty(len(nights), dtype=bool)
    state = bool(draws[0] < config.clear_fraction)
    for i, d in enumerate(draws):  # one step per night, not per object
        state = bool(d < (stay_clear if state else clear_after_bad)) if i else state
        clear[i] = state

    # Some fields get more attention than others (survey priorities, overlaps) ...
    n_fields = len(field_ra)
    interval = config.visit_interval_days * np.exp(rng.normal(0.0, config.visit_interval_spread, n_fields))
    p_survey = np.clip(1.0 / np.maximum(interval, 1.0), 0.0, 1.0)
    # ... and now and then a field is covered intensively for a couple of weeks (follow-up of a
    # gravitational-wave or GRB localisation, a campaign): visits then cluster a few nights apart.
    p_end = 1.0 / config.campaign_length_days
    p_start = min(1.0, config.campaign_fraction * p_end / max(1e-9, 1.0 - config.campaign_fraction))
    campaign = np.empty(up.shape, dtype=bool)
    state = rng.random(n_fields) < config.campaign_fraction
    switch = rng.random(up.shape)
    for i in range(len(nights)):  # one step per night, vectorised over fields
        if i:
            state = np.where(state, switch[:, i] >= p_end, switch[:, i] < p_start)
        campaign[:, i] = state
    p_visit = np.where(campaign, 1.0 / config.campaign_interval_days, p_survey[:, None])
    visited = up & clear[None, :] & (rng.random(up.shape) < p_visit)

    f_idx, n_idx = np.nonzero(visited)  # row-major: grouped by field, nights ascending
    transit = np.clip(offset_deg[f_idx, n_idx] / 360.0, -0.3, 0.3)  # observe near the meridian
    times = midnight[n_idx] + transit + rng.uniform(-0.02, 0.02, len(f_idx))
    moon = 0.5 * (1.0 - np.cos(2 * np.pi * (midnight[n_idx] - _NEW_MOON_MJD) / _SYNODIC_MONTH_DAYS))
    limits = (
        config.depth_mag
        - config.moon_depth_loss_mag * moon**2
        - np.abs(rng.normal(0.0, config.depth_scatter_mag, len(f_idx)))
    )
    ptr = np.concatenate([[0], np.cumsum(visited.sum(axis=1))]).astype(np.int64)
    return _Schedule(offset, n_ra, ptr, times, limits)


def _expand_visits(
    schedule: _Schedule, fields: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flat (object, time, limit) arrays of every visit to each object's field, grouped by object."""
    counts = schedule.ptr[fields + 1] - schedule.ptr[fields]
    obj = np.repeat(np.arange(len(fields)), counts)
    first = np.cumsum(counts) - counts
    idx = np.repeat(schedule.ptr[fields] - first, counts) + np.arange(counts.sum())
    return obj, schedule.times[idx], schedule.limits[idx], counts


# ----------------------------------------------------------------------------------------------------------
# Sky positions


def _galactic_to_icrs(l_deg: np.ndarray, b_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    icrs = SkyCoord(l=l_deg * u.deg, b=b_deg * u.deg, frame="galactic").icrs
    return icrs.ra.wrap_at(360 * u.deg).deg % 360.0, icrs.dec.deg


def _galactic_b(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    return SkyCoord(ra=ra * u.deg, dec=dec * u.deg, frame="icrs").galactic.b.deg


def _draw_positions(
    n: int, propose: Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` accepted (ra, dec): ``propose(m)`` draws m candidates and says which to keep, until enough are kept."""
    ras, decs, have = [], [], 0
    while have < n:
        ra, dec, keep = propose(2 * (n - have) + 16)
        ras.append(ra[keep])
        decs.append(dec[keep])
        have += int(keep.sum())
    return np.concatenate(ras)[:n], np.concatenate(decs)[:n]


def _sky_variable_stars(
    rng: np.random.Generator, n: int, min_dec: float, min_abs_b: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """A thin disc (|b| of a few degrees, denser toward the Galactic centre) plus an isotropic halo share."""

    def propose(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        disc = rng.random(m) < 0.8
        b = np.where(
            disc,
            np.clip(rng.laplace(0.0, 5.0, m), -89.0, 89.0),
            np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, m))),
        )
        l_deg = np.where(rng.random(m) < 0.6, np.degrees(rng.vonmises(0.0, 1.5, m)), rng.uniform(0, 360, m))
        ra, dec = _galactic_to_icrs(l_deg % 360.0, b)
        return ra, dec, (dec >= min_dec) & (np.abs(b) >= min_abs_b)

    return _draw_positions(n, propose)


def _sky_extragalactic(
    rng: np.random.Generator, n: int, min_dec: float, min_abs_b: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic north of ``min_dec``, thinned near the plane where dust hides galaxies."""

    def propose(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ra = rng.uniform(0.0, 360.0, m)
        dec = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(min_dec)), 1.0, m)))
        b = _galactic_b(ra, dec)
        keep = (rng.random(m) < 1.0 - 0.95 * np.exp(-((b / 8.0) ** 2))) & (np.abs(b) >= min_abs_b)
        return ra, dec, keep

    return _draw_positions(n, propose)


# ----------------------------------------------------------------------------------------------------------
# Light-curve models. Each returns the true magnitude at every flat visit, the reference magnitude per
# object (what the template image holds; NaN = nothing, as for a supernova) and per-object truth columns.


def _first_of_object(obj: np.ndarray) -> np.ndarray:
    first = np.ones(len(obj), dtype=bool)
    first[1:] = obj[1:] != obj[:-1]
    return first


def _damped_random_walk(
    rng: np.random.Generator, obj: np.ndarray, t: np.ndarray, tau: np.ndarray, sigma: np.ndarray
) -> np.ndarray:
    """Ornstein-Uhlenbeck process sampled exactly at each object's times (flat arrays, grouped by object).

    ``tau`` and ``sigma`` are given per flat entry. Steps run over the position within a light curve, each
    step vectorised over all objects that are that long.
    """
    n = len(t)
    first = _first_of_object(obj)
    dt = np.diff(t, prepend=t[:1] if n else t)
    a = np.where(first, 0.0, np.exp(-np.maximum(dt, 0.0) / tau))
    step = sigma * np.sqrt(1.0 - a**2) * rng.standard_normal(n)
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    position = np.arange(n) - start
    order = np.argsort(position, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(position, minlength=1))])
    x = np.zeros(n)
    for k in range(len(bounds) - 1):
        idx = order[bounds[k] : bounds[k + 1]]
        x[idx] = step[idx] if k == 0 else a[idx] * x[idx - 1] + step[idx]
    return x


def _reference_mag(rng: np.random.Generator, obj: np.ndarray, mag: np.ndarray, n_objects: int) -> np.ndarray:
    """Magnitude in the reference image: a median stack of a few of the object's own visits (in flux).

    A reference made at some epochs, rather than the long-term median, is what lets slow wanderers such as
    AGN drift away from it and be detected. The median (as a clipped stack) keeps a flare or an outburst
    caught at one of those epochs out of the reference. NaN for objects that were never visited.
    """
    counts = np.bincount(obj, minlength=n_objects)
    start = np.cumsum(counts) - counts
    picks = start[:, None] + np.floor(rng.random((n_objects, _REFERENCE_EPOCHS)) * counts[:, None]).astype(
        np.int64
    )
    has = counts > 0
    out = np.full(n_objects, np.nan)
    flux = 10.0 ** (-0.4 * mag[picks[has]])  # (objects, epochs)
    out[has] = -2.5 * np.log10(np.median(flux, axis=1))
    return out


def _log_uniform(rng: np.random.Generator, low: float, high: float, n: int) -> np.ndarray:
    return np.exp(rng.uniform(np.log(low), np.log(high), n))


def _sawtooth(phase: np.ndarray, rise: np.ndarray) -> np.ndarray:
    """Brightness in [0, 1]: a fast linear rise over ``rise`` of the cycle, then a slow decline."""
    return np.where(phase < rise, phase / rise, 1.0 - (phase - rise) / (1.0 - rise))


def _variable_stars(
    rng: np.random.Generator, n: int, obj: np.ndarray, t: np.ndarray, mix: Mapping[str, float]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Magnitudes of a mix of variable-star types; positive ``dm`` is fainter."""
    names = list(mix)
    subtype = rng.choice(np.array(names), size=n, p=np.array(list(mix.values())))
    # Catalogued variables span ~12-21 mag; the detection cut then keeps those that vary visibly.
    m0 = np.clip(rng.normal(*_VS_MEAN_MAG, n), 12.0, 21.5)
    phase0 = rng.random(n)
    dm = np.zeros(len(t))
    for name in names:
        flat = subtype[obj] == name
        if not flat.any():
            continue
        o, tt = obj[flat], t[flat]
        if name in ("RRab", "RRc", "DSCT", "CEP", "EW", "EA", "M"):
            period_range = {
                "RRab": (0.45, 0.9),
                "RRc": (0.25, 0.45),
                "DSCT": (0.03, 0.25),
                "CEP": (1.0, 100.0),
                "EW": (0.2, 1.0),
                "EA": (0.5, 10.0),
                "M": (100.0, 500.0),
            }[name]
            period = _log_uniform(rng, *period_range, n)
            phase = (tt / period[o] + phase0[o]) % 1.0
        if name == "RRab":
            amp = rng.uniform(0.5, 1.3, n)[o]
            dm[flat] = amp * (0.5 - _sawtooth(phase, np.full(len(o), 0.15)))
        elif name == "CEP":
            amp = rng.uniform(0.1, 1.5, n)[o]
            dm[flat] = amp * (0.5 - _sawtooth(phase, np.full(len(o), 0.3)))
        elif name == "RRc":
            amp = rng.uniform(0.3, 0.6, n)[o]
            dm[flat] = 0.5 * amp * (np.cos(2 * np.pi * phase) + 0.15 * np.cos(4 * np.pi * phase))
        elif name == "DSCT":
            amp = _log_uniform(rng, 0.02, 0.3, n)[o]
            dm[flat] = 0.5 * amp * np.cos(2 * np.pi * phase)
        elif name == "EW":
            # Continuous variation with two minima a half-period apart, the secondary a bit shallower.
            depth = rng.uniform(0.1, 0.8, n)[o]
            dm[flat] = (
                depth * 0.5 * (1 + np.cos(4 * np.pi * phase)) * (0.85 + 0.15 * np.cos(2 * np.pi * phase))
            )
        elif name == "EA":
            # Flat outside narrow eclipses; 5-15 % of the cycle is spent in eclipse.
            depth1 = rng.uniform(0.1, 1.5, n)[o]
            depth2 = depth1 * rng.uniform(0.0, 0.6, n)[o]
            width = rng.uniform(0.05, 0.15, n)[o] / 2.0 / 3.0  # Gaussian sigma of each eclipse, in phase
            d1 = np.minimum(phase, 1.0 - phase)
            d2 = np.abs(phase - 0.5)
            dm[flat] = depth1 * np.exp(-0.5 * (d1 / width) ** 2) + depth2 * np.exp(-0.5 * (d2 / width) ** 2)
        elif name == "M":
            # Large, slightly skewed pulsation (rise faster than decline); smaller in L than in V.
            amp = rng.uniform(2.0, 6.0, n)[o]
            skewed = phase + 0.08 * np.sin(2 * np.pi * phase)
            dm[flat] = 0.5 * amp * np.cos(2 * np.pi * skewed)
        elif name == "SR":
            # Two beating modes: a period plus a nearby one of lower amplitude.
            p1 = _log_uniform(rng, 20.0, 500.0, n)
            p2 = p1 * rng.uniform(0.8, 1.25, n)
            a1 = rng.uniform(0.1, 1.5, n)
            a2 = a1 * rng.uniform(0.2, 0.7, n)
            ph2 = rng.random(n)
            dm[flat] = 0.5 * (
                a1[o] * np.cos(2 * np.pi * (tt / p1[o] + phase0[o]))
                + a2[o] * np.cos(2 * np.pi * (tt / p2[o] + ph2[o]))
            )
        elif name == "UG":
            # Dwarf-nova outbursts of 2-6 mag lasting days, recurring every 10-1000 d, each a bit different.
            recur = _log_uniform(rng, 10.0, 1000.0, n)[o]
            length = rng.uniform(3.0, 15.0, n)[o]
            amp = rng.uniform(2.0, 6.0, n)[o]
            cycles = tt / recur + phase0[o]
            since = (cycles % 1.0) * recur
            amp = amp * (0.75 + 0.25 * np.sin(2.39996 * np.floor(cycles) + 7.0 * phase0[o]))
            rise = 0.7
            out = np.where(since < rise, -amp * since / rise, 0.0)
            out = np.where(
                (since >= rise) & (since < length), -amp * (1 - 0.4 * (since - rise) / (length - rise)), out
            )
            fade = (since >= length) & (since < length + 2.0)
            out = np.where(fade, -0.6 * amp * (1 - (since - length) / 2.0), out)
            dm[flat] = out
        elif name == "UV":
            # M-dwarf flares: minutes-to-hours events, so a visit either misses them or lands somewhere on
            # the fast decay. A few per cent of the time is spent in a detectable flare.
            duty = _log_uniform(rng, 0.01, 0.08, n)[o]
            peak = rng.uniform(0.5, 4.0, n)[o]  # mag above quiescence at the flare's peak, in L
            in_flare = rng.random(len(o)) < duty
            decay = np.exp(-rng.exponential(1.0, len(o)))  # flux still left when the visit comes
            boost = (10.0 ** (0.4 * peak) - 1.0) * decay
            dm[flat] = np.where(in_flare, -2.5 * np.log10(1.0 + boost), 0.0)
        elif name == "IRR":
            tau = _log_uniform(rng, 5.0, 100.0, n)[o]
            sigma = rng.uniform(0.05, 0.5, n)[o]
            dm[flat] = _damped_random_walk(rng, o, tt, tau, sigma)
    # Dwarf novae and flare stars sit faint in quiescence; m0 is their quiescent level, ~1.5 mag fainter.
    m0 = np.where(np.isin(subtype, ["UG", "UV"]), m0 + 1.5, m0)
    mag = m0[obj] + _VS_AMPLITUDE_SCALE * dm
    reference = _reference_mag(rng, obj, mag, n)
    return mag, reference, {"subtype": subtype, "base_mag": m0}


def _supernovae(
    rng: np.random.Generator, n: int, obj: np.ndarray, t: np.ndarray, config: SimulationConfig
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Ia, II-P and Ib/c light curves at redshifts out to where each could just be seen."""
    from astropy.cosmology import Planck18

    names = np.array(list(_SN_MIX))
    subtype = rng.choice(names, size=n, p=np.array(list(_SN_MIX.values())))
    is_ia, is_iip = subtype == "Ia", subtype == "II-P"
    peak_abs = np.where(
        is_ia,
        rng.normal(-19.3, 0.35, n),
        np.where(is_iip, np.clip(rng.normal(-16.9, 0.6, n), -18.3, -15.5), rng.normal(-17.5, 0.5, n)),
    )
    # Redshift uniform in (Euclidean) volume out to where the peak is too faint to get a classification.
    z_grid = np.geomspace(1e-3, 1.0, 400)
    mu_grid = Planck18.distmod(z_grid).value
    faintest = min(config.sn_classification_mag + 1.0, config.depth_mag + 0.3)
    z_max = np.interp(faintest - peak_abs, mu_grid, z_grid)
    z_min = 0.003
    z = (z_min**3 + rng.random(n) * (np.maximum(z_max, z_min) ** 3 - z_min**3)) ** (1.0 / 3.0)
    mu = np.interp(z, z_grid, mu_grid)

    # Log-flux shape parameters (rest-frame days).
    tau_rise = np.where(
        is_ia, rng.uniform(2.5, 4.5, n), np.where(is_iip, rng.uniform(1.5, 3.0, n), rng.uniform(1.5, 3.0, n))
    )
    tau_fast = np.where(is_ia, rng.uniform(12.0, 18.0, n), rng.uniform(8.0, 14.0, n))
    tau_slow = np.where(is_ia, rng.uniform(40.0, 55.0, n), rng.uniform(30.0, 50.0, n))
    slow_share = np.where(is_ia, rng.uniform(0.15, 0.3, n), rng.uniform(0.2, 0.4, n))
    plateau_slope = rng.uniform(0.003, 0.012, n)  # mag/day during the II-P plateau
    plateau_length = rng.uniform(80.0, 120.0, n)
    drop = rng.uniform(1.5, 2.5, n)  # mag fall at the end of the plateau

    def log_flux(x: np.ndarray, i: np.ndarray) -> np.ndarray:
        rise = -np.logaddexp(0.0, -x / tau_rise[i])
        decline = np.logaddexp(
            np.log1p(-slow_share[i]) - x / tau_fast[i], np.log(slow_share[i]) - x / tau_slow[i]
        )
        xp = np.maximum(x, 0.0)
        plateau = (
            -xp * plateau_slope[i] / _POGSON
            + np.logaddexp(-drop[i] / _POGSON, 0.0 - np.logaddexp(0.0, (x - plateau_length[i]) / 4.0))
            - np.maximum(x - plateau_length[i], 0.0) / 111.0  # 56Co tail, 0.0098 mag/day
        )
        return rise + np.where(is_iip[i], plateau, decline)

    grid = np.arange(-30.0, 250.0, 0.5)
    peak_log = np.empty(n)
    for lo in range(0, n, 2000):  # bound the (objects, grid) block
        i = np.arange(lo, min(n, lo + 2000))
        peak_log[i] = log_flux(grid[None, :], i[:, None]).max(axis=1)
    # Reference time: explosions spread so that some SNe are caught already fading when the survey starts.
    t0 = rng.uniform(config.start_mjd - 120.0, config.end_mjd + 10.0, n)
    x = (t - t0[obj]) / (1.0 + z[obj])
    mag = peak_abs[obj] + mu[obj] - _POGSON * (log_flux(x, obj) - peak_log[obj])
    # Only SNe with a spectrum get a label; spectroscopy reaches ~19 mag (soft limit).
    peak_mag = peak_abs + mu
    classified = rng.random(n) < 1.0 / (1.0 + np.exp((peak_mag - config.sn_classification_mag) / 0.3))
    truth = {"subtype": subtype, "redshift": z, "peak_mag": peak_mag, "eligible": classified}
    return mag, np.full(n, np.nan), truth


def _agn(
    rng: np.random.Generator, n: int, obj: np.ndarray, t: np.ndarray, mix: Mapping[str, float]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Damped random walks (Kelly et al. 2009; MacLeod et al. 2010) about a 17.5-20.5 mag mean.

    Each subtype of ``mix`` has its redshift range, rest-frame timescale and amplitude (``_AGN_KINDS``);
    timescales are stretched by (1 + z) into the observer's frame.
    """
    names = list(mix)
    subtype = rng.choice(np.array(names), size=n, p=np.array(list(mix.values())))
    m0 = rng.uniform(*_AGN_MEAN_MAG, n)
    z, tau, sf_inf = np.empty(n), np.empty(n), np.empty(n)
    for name in names:
        pick = subtype == name
        k = int(pick.sum())
        (z_low, z_high), (tau_median, tau_sigma), (sf_median, sf_sigma) = _AGN_KINDS[name]
        z[pick] = _log_uniform(rng, z_low, z_high, k)
        tau[pick] = np.clip(tau_median * np.exp(tau_sigma * rng.standard_normal(k)), 5.0, 2000.0)
        sf_inf[pick] = np.clip(sf_median * np.exp(sf_sigma * rng.standard_normal(k)), 0.05, 2.5)
    tau_observed = tau * (1.0 + z)
    dm = _damped_random_walk(rng, obj, t, tau_observed[obj], sf_inf[obj] / np.sqrt(2.0))
    mag = m0[obj] + dm
    truth = {"subtype": subtype, "base_mag": m0, "redshift": z}
    return mag, _reference_mag(rng, obj, mag, n), truth


# ----------------------------------------------------------------------------------------------------------
# Observation: difference-imaging detection and measured magnitudes


def _bright_star_efficiency(mag: np.ndarray) -> np.ndarray:
    """Share of detections that survive near bright stars, whose subtraction residuals the real-bogus step
    and the masks reject: ~0.4 at 14 mag, 0.7 at 15.5, ~1 fainter than 17."""
    return 0.35 + 0.65 / (1.0 + np.exp(-(mag - _BRIGHT_RESIDUAL_MAG) / 0.6))


def _observe(
    rng: np.random.Generator,
    config: SimulationConfig,
    mag: np.ndarray,
    limit: np.ndarray,
    reference: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which visits detect the object, and the magnitude and error measured there.

    A detection needs the difference from the reference image to be 5 sigma *and* the source itself to be
    above the limit, not saturated, and not lost to the real-bogus step or a chip gap.
    """
    counts = _counts(mag, limit)
    sigma = _noise(counts)
    measured = counts + sigma * rng.standard_normal(len(mag))
    ref_counts = np.where(np.isnan(reference), 0.0, _counts(np.nan_to_num(reference, nan=99.0), limit))
    detected = (
        (np.abs(measured - ref_counts) > 5.0 * sigma)
        & (measured > 5.0 * sigma)
        & (mag > config.saturation_mag)
        & (rng.random(len(mag)) < config.detection_efficiency * _bright_star_efficiency(mag))
    )
    safe = np.where(detected, measured, _COUNTS_AT_LIMIT)
    mag_obs = (
        limit - _POGSON * np.log(safe / _COUNTS_AT_LIMIT) + rng.normal(0.0, config.error_floor_mag, len(mag))
    )
    mag_err = np.hypot(_POGSON * sigma / safe, config.error_floor_mag)
    return detected, mag_obs, mag_err


# ----------------------------------------------------------------------------------------------------------
# The survey


@dataclass
class _ClassDraw:
    """Accepted objects of one class (positions, truth) and their detections (object index within class)."""

    ra: list[np.ndarray] = field(default_factory=list)
    dec: list[np.ndarray] = field(default_factory=list)
    truth: list[dict[str, np.ndarray]] = field(default_factory=list)
    obj: list[np.ndarray] = field(default_factory=list)
    mjd: list[np.ndarray] = field(default_factory=list)
    mag: list[np.ndarray] = field(default_factory=list)
    mag_err: list[np.ndarray] = field(default_factory=list)
    n: int = 0


def _simulate_class(
    rng: np.random.Generator,
    label: str,
    n_wanted: int,
    config: SimulationConfig,
    schedule: _Schedule,
    bar: Any,
) -> _ClassDraw:
    """Draw candidates in batches until ``n_wanted`` pass the detection cut; keeps them in draw order."""
    draw = _ClassDraw()
    acceptance = {"VS": 0.5, "SN": 0.2, "AGN": 0.3}[label]
    tries_without_progress = 0
    while draw.n < n_wanted:
        remaining = n_wanted - draw.n
        size = int(min(_BATCH, max(64, np.ceil(1.2 * remaining / acceptance))))
        if label == "VS":
            ra, dec = _sky_variable_stars(rng, size, config.min_dec_deg, config.min_abs_b_deg)
        else:
            ra, dec = _sky_extragalactic(rng, size, config.min_dec_deg, config.min_abs_b_deg)
        obj, t, limit, _ = _expand_visits(schedule, _field_index(schedule, ra, dec, config.min_dec_deg))
        if label == "VS":
            mag, ref, truth = _variable_stars(rng, size, obj, t, config.vs_mix)
        elif label == "SN":
            mag, ref, truth = _supernovae(rng, size, obj, t, config)
        else:
            mag, ref, truth = _agn(rng, size, obj, t, config.agn_mix)
        detected, mag_obs, mag_err = _observe(rng, config, mag, limit, ref[obj])
        n_det = np.bincount(obj[detected], minlength=size)
        eligible = truth.pop("eligible", np.ones(size, dtype=bool))
        passed = np.flatnonzero((n_det >= config.min_detections) & eligible)
        acceptance = max(0.02, 0.5 * acceptance + 0.5 * len(passed) / size)
        tries_without_progress = 0 if len(passed) else tries_without_progress + 1
        if tries_without_progress >= 20:
            raise LcrnnError(
                f"no simulated {label} reached {config.min_detections} detections in 20 batches of {size}; "
                "lower min_detections, deepen depth_mag or shorten visit_interval_days."
            )
        passed = passed[:remaining]
        new_index = np.full(size, -1, dtype=np.int64)
        new_index[passed] = draw.n + np.arange(len(passed))
        keep = detected & (new_index[obj] >= 0)
        draw.ra.append(ra[passed])
        draw.dec.append(dec[passed])
        draw.truth.append({k: np.asarray(v)[passed] for k, v in truth.items()})
        draw.obj.append(new_index[obj[keep]])
        draw.mjd.append(t[keep])
        draw.mag.append(mag_obs[keep])
        draw.mag_err.append(mag_err[keep])
        draw.n += len(passed)
        bar.update(len(passed))
    return draw


def _offset(ra: np.ndarray, dec: np.ndarray, sep_arcsec: np.ndarray, rng: np.random.Generator):
    """Positions ``sep_arcsec`` away in a random direction (exact on the sphere)."""
    if len(ra) == 0:
        return np.empty(0), np.empty(0)
    coord = SkyCoord(ra=ra * u.deg, dec=dec * u.deg, frame="icrs")
    moved = coord.directional_offset_by(rng.uniform(0, 360, len(ra)) * u.deg, sep_arcsec * u.arcsec)
    return moved.ra.wrap_at(360 * u.deg).deg % 360.0, moved.dec.deg


def _galaxies(
    rng: np.random.Generator,
    config: SimulationConfig,
    ra: np.ndarray,
    dec: np.ndarray,
    labels: np.ndarray,
    redshift: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Catalogued hosts of SN and AGN plus field galaxies around every object.

    A host is catalogued with the chance ``config.galaxy_catalog`` gives at its luminosity distance.

    Returns the catalogue, whether each object's host is catalogued, and the host offset (NaN for none).
    """
    n = len(ra)
    host_offset = np.full(n, np.nan)
    is_sn, is_agn = labels == "SN", labels == "AGN"
    host_offset[is_sn] = _log_uniform(rng, 1.0, 10.0, int(is_sn.sum()))  # about one half-light radius
    host_offset[is_agn] = np.minimum(rng.rayleigh(0.25, int(is_agn.sum())), 0.95)  # nuclear
    from astropy.cosmology import Planck18

    hosted = is_sn | is_agn
    distance = np.full(n, np.inf)
    if hosted.any():  # astropy refuses an empty array here
        distance[hosted] = Planck18.luminosity_distance(redshift[hosted]).to_value(u.Mpc)
    catalogued = np.zeros(n, dtype=bool)
    catalogued[hosted] = rng.random(int(hosted.sum())) < config.galaxy_catalog.completeness(distance[hosted])
    host_ra, host_dec = _offset(ra[catalogued], dec[catalogued], host_offset[catalogued], rng)

    # Field galaxies: Poisson numbers within the patch, fewer behind the dust of the Galactic plane.
    b = _galactic_b(ra, dec)
    area = np.pi * (config.galaxy_patch_arcsec / 3600.0) ** 2
    expected = config.galaxy_catalog.density_per_sq_deg * area * (1.0 - 0.9 * np.exp(-((b / 10.0) ** 2)))
    n_field = rng.poisson(expected)
    around = np.repeat(np.arange(n), n_field)
    radius = config.galaxy_patch_arcsec * np.sqrt(rng.random(len(around)))
    field_ra, field_dec = _offset(ra[around], dec[around], radius, rng)

    gal_ra = np.concatenate([host_ra, field_ra])
    gal_dec = np.concatenate([host_dec, field_dec])
    order = rng.permutation(len(gal_ra))  # hosts must not be recognisable by their place in the table
    galaxies = pd.DataFrame({"ra": gal_ra[order], "dec": gal_dec[order]})
    galaxies.insert(0, "name", pd.array([f"SIMGAL{i:07d}" for i in range(len(galaxies))], dtype="str"))
    return galaxies[["ra", "dec", "name"]], catalogued, host_offset


def _truth_column(draw: _ClassDraw, key: str) -> np.ndarray:
    """One truth column of a class in draw order (NaN where the class has no such quantity)."""
    values = [t.get(key) for t in draw.truth]
    if values and all(v is not None for v in values):
        return np.concatenate(values).astype(object if key == "subtype" else np.float64)
    return np.full(draw.n, np.nan)


def simulate_survey_with_truth(
    config: SimulationConfig | None = None, progress: bool = False
) -> tuple[Survey, pd.DataFrame]:
    """Simulate a survey and also return what the tables do not show (subtype, redshift, host).

    Parameters
    ----------
    config
        What to simulate; defaults to ``SimulationConfig()`` (the paper's 99,201 objects).
    progress
        Show a tqdm progress bar over the objects accepted.

    Returns
    -------
    survey : lcrnn.data.tables.Survey
        Validated photometry, objects (with ``label``) and galaxies tables.
    truth : pandas.DataFrame
        One row per object: ``object_id, label, subtype, base_mag, redshift, peak_mag, host_catalogued,
        host_offset_arcsec`` (NaN where a column does not apply).
    """
    config = SimulationConfig() if config is None else config
    rng = np.random.default_rng(config.seed)
    counts = class_counts(config.n_objects, config.class_fractions)
    schedule = _make_schedule(rng, config)

    draws: dict[str, _ClassDraw] = {}
    with tqdm(total=sum(counts.values()), desc="simulating", unit="obj", disable=not progress) as bar:
        for label, n_wanted in counts.items():
            if n_wanted:
                draws[label] = _simulate_class(rng, label, n_wanted, config, schedule, bar)

    labels = np.concatenate([np.full(d.n, label) for label, d in draws.items()])
    ra = np.concatenate([np.concatenate(d.ra) for d in draws.values()])
    dec = np.concatenate([np.concatenate(d.dec) for d in draws.values()])
    n = len(labels)
    # Shuffle the classes together so that ids say nothing about the class.
    rank = np.empty(n, dtype=np.int64)
    rank[rng.permutation(n)] = np.arange(n)
    width = max(6, len(str(n)))
    ids = np.array([f"SIM{i:0{width}d}" for i in range(n)])

    obj_parts, mjd_parts, mag_parts, err_parts = [], [], [], []
    first = 0
    for d in draws.values():
        obj_parts.append(rank[first + np.concatenate(d.obj)])
        mjd_parts += d.mjd
        mag_parts += d.mag
        err_parts += d.mag_err
        first += d.n
    obj_rank = np.concatenate(obj_parts)
    mjd = np.concatenate(mjd_parts)
    order = np.lexsort((mjd, obj_rank))
    photometry = pd.DataFrame(
        {
            "object_id": pd.array(ids[obj_rank[order]], dtype="str"),
            "mjd": mjd[order],
            "mag": np.concatenate(mag_parts)[order].astype(np.float32),
            "mag_err": np.concatenate(err_parts)[order].astype(np.float32),
            "band": pd.array(np.full(len(order), "L"), dtype="str"),
        }
    )

    redshift = np.concatenate([_truth_column(d, "redshift") for d in draws.values()])
    galaxies, catalogued, host_offset = _galaxies(rng, config, ra, dec, labels, redshift)
    by_rank = np.argsort(rank)
    objects = pd.DataFrame(
        {
            "object_id": pd.array(ids, dtype="str"),
            "ra": ra[by_rank],
            "dec": dec[by_rank],
            "label": pd.array(labels[by_rank], dtype="str"),
        }
    )

    truth_columns: dict[str, Any] = {"object_id": objects["object_id"], "label": objects["label"]}
    for key in ("subtype", "base_mag", "redshift", "peak_mag"):
        column = np.concatenate([_truth_column(d, key) for d in draws.values()])[by_rank]
        truth_columns[key] = pd.array(column.astype(str), dtype="str") if key == "subtype" else column
    truth_columns["host_catalogued"] = catalogued[by_rank]
    truth_columns["host_offset_arcsec"] = host_offset[by_rank]
    truth = pd.DataFrame(truth_columns)

    # Built in the schema already; validate_survey would only re-check it (slowly, at 10^6 rows).
    return Survey(photometry, objects, galaxies), truth


def simulate_survey(config: SimulationConfig | None = None, progress: bool = False) -> Survey:
    """Simulate a labelled GOTO-like survey (paper section 2).

    Parameters
    ----------
    config
        What to simulate; defaults to ``SimulationConfig()`` (the paper's 99,201 objects: 98,457 VS,
        201 SN, 543 AGN).
    progress
        Show a tqdm progress bar.

    Returns
    -------
    lcrnn.data.tables.Survey
        ``photometry`` (object_id, mjd, mag, mag_err, band="L"; sorted by object and time), ``objects``
        (object_id, ra, dec, label) and ``galaxies`` (ra, dec, name). Write it with
        :func:`lcrnn.data.io.write_survey`.

    Examples
    --------
    >>> survey = simulate_survey(SimulationConfig(n_objects=2_000, seed=1))  # doctest: +SKIP
    >>> survey.class_counts()  # doctest: +SKIP
    """
    return simulate_survey_with_truth(config, progress)[0]
