"""What to simulate: :class:`SimulationConfig`, and :func:`class_counts` to turn class fractions into counts.

Each default says where it comes from: the paper (Burhanudin et al. 2021, sections 2.1-2.2), the survey facts
collected in ``../shared/SURVEY_FACTS.md``, or, marked *tuned*, a value chosen so that the simulated survey
reproduces the paper's sampling (median 6 points a light curve, a median ~11 days between points).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from lcrnn.data.catalog_depth import GLADE_LIKE, GalaxyCatalogModel, catalog_model
from lcrnn.data.simulate.mixes import AGN_MIX, CLASSES, PAPER_CLASS_COUNTS, PAPER_TOTAL, VS_MIX
from lcrnn.data.simulate.registry import population_names

__all__ = ["SimulationConfig", "class_counts"]


def _checked_shares(
    name: str, shares: Mapping[str, float], known: Sequence[str], kind: str
) -> dict[str, float]:
    """``shares`` as a dict once every key is known and the values are non-negative with a positive sum."""
    shares = dict(shares)
    unknown = sorted(set(shares) - set(known))
    if unknown:
        raise ValueError(f"{name} has unknown {kind} {unknown}; the simulator knows {sorted(known)}.")
    values = np.array(list(shares.values()), dtype=np.float64)
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0) or values.sum() <= 0:
        raise ValueError(f"{name} must be non-negative numbers with a positive sum, got {shares!r}.")
    return shares


def _checked_mix(name: str, mix: Mapping[str, float], label: str) -> Mapping[str, float]:
    """The mix normalised to sum 1, or a ValueError naming what is wrong (known: the registered subtypes)."""
    mix = _checked_shares(name, mix, population_names(label), "subtype(s)")
    total = float(sum(mix.values()))
    return MappingProxyType({k: float(v) / total for k, v in mix.items()})


def _checked_catalogs(given: object) -> GalaxyCatalogModel | tuple[GalaxyCatalogModel, ...]:
    """One catalogue model, or a tuple of several: from models, preset names, or names joined by commas."""
    if isinstance(given, str):
        names = [name.strip() for name in given.split(",")]
        if "" in names:
            raise ValueError(f"galaxy_catalog {given!r} has an empty name; give e.g. 'glade' or 'glade,gwgc'.")
        given = tuple(catalog_model(name) for name in names)
    if isinstance(given, (tuple, list)):
        models = tuple(catalog_model(g) if isinstance(g, str) else g for g in given)
        if models and all(isinstance(m, GalaxyCatalogModel) for m in models):
            if len(set(models)) < len(models):
                raise ValueError(f"galaxy_catalog names a catalogue twice ({[m.name for m in models]}); give "
                                 "each once (several share the sky equally).")
            return models[0] if len(models) == 1 else models
    if isinstance(given, GalaxyCatalogModel):
        return given
    raise TypeError(f"galaxy_catalog must be a GalaxyCatalogModel, 'glade'/'gwgc', or several of them (e.g. "
                    f"'glade,gwgc'), got {given!r}.")


def _paper_fractions() -> Mapping[str, float]:
    return MappingProxyType({k: v / PAPER_TOTAL for k, v in PAPER_CLASS_COUNTS.items()})


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
        (``"glade"``, ``"gwgc"``) is accepted too. Several (``"glade,gwgc"`` or a tuple): each object's sky
        patch is covered by one of them at random, so a model trained on the survey meets both depths.
    vs_mix, agn_mix
        Subtype shares among the candidates, before the detection cut (normalised). The defaults are a
        VSX-like and a Veron-like mix; a transient survey's labels lean to what brightens (see
        :data:`TRANSIENT_SELECTED_VS_MIX` and :data:`TRANSIENT_SELECTED_AGN_MIX`). Known subtypes: those
        registered (:func:`lcrnn.data.simulate.registry.population_names`), the keys of ``VS_MIX`` and
        ``AGN_MIX``.
    """

    n_objects: int = PAPER_TOTAL  # paper section 2.2
    class_fractions: Mapping[str, float] = field(default_factory=_paper_fractions)  # paper section 2.2
    seed: int = 0
    start_mjd: float = 58562.0  # 2019-03-20, first night of the paper's data (section 2.2)
    end_mjd: float = 59157.0  # 2020-11-04, last night (section 2.2)
    depth_mag: float = 20.5  # 5-sigma limit of a 60 s L-band exposure in dark time (paper section 2.1)
    # Limit lost at full Moon, scaled by the illuminated fraction squared (assumed: a sky-limited exposure
    # loses half the sky's brightening, ~3-4 mag in a wide band at full Moon).
    moon_depth_loss_mag: float = 2.0
    depth_scatter_mag: float = (
        0.3  # seeing and transparency (assumed): a visit loses |N(0, this)| mag of depth
    )
    error_floor_mag: float = 0.015  # calibration floor in quadrature (SURVEY_FACTS: 0.01-0.02 mag)
    saturation_mag: float = 12.0  # brighter measurements saturate (assumed for 40 cm telescopes, 60 s)
    # The all-sky survey's field rotation: nights between visits of a field that is up, in clear weather, on a
    # night of average length with the usual number of fields up (tuned: the paper's median of ~6 points and
    # ~11 d between points cannot both be met, see docs/simulator.md; this is the compromise).
    visit_interval_days: float = 8.0
    visit_interval_spread: float = 0.3  # log-normal sigma of a field's priority (overlaps; assumed)
    # GW follow-up during LIGO-Virgo's O3 run (paper section 2.1): share of O3 nights a field spends in an
    # intensive campaign, the nights between visits then, and a campaign's mean length (assumed).
    campaign_fraction: float = 0.1
    campaign_interval_days: float = 2.6
    campaign_length_days: float = 14.0
    clear_fraction: float = 0.75  # usable nights on La Palma (bad weather comes in runs)
    detection_efficiency: float = 0.8  # real-bogus losses, chip gaps, masked pixels (assumed)
    min_detections: int = 2  # an object enters the catalogue after this many detections (assumed)
    min_dec_deg: float = -20.0  # southern limit of the sky seen from La Palma (SURVEY_FACTS)
    min_abs_b_deg: float = 0.0  # footprint: fields nearer the Galactic plane are not observed (CRTS: ~15)
    # Which hosts are catalogued (paper section 2.2: GLADE). Several: each object's sky patch is covered by one
    # of them, drawn with equal shares, as a catalogue's depth varies over the sky (and a model meant for any
    # user's catalogue should not learn one).
    galaxy_catalog: GalaxyCatalogModel | tuple[GalaxyCatalogModel, ...] = GLADE_LIKE
    galaxy_patch_arcsec: float = 180.0  # field galaxies are drawn within this radius: 3x the 60" match radius
    # SN get a label (a TNS spectrum) mostly when peaking brighter than this: ZTF's Bright Transient Survey,
    # the main source of TNS classifications in 2019-2020, is complete to 18.5 mag (Fremling et al. 2020).
    sn_classification_mag: float = 18.5
    vs_mix: Mapping[str, float] = field(default_factory=lambda: VS_MIX)  # share of each variable-star subtype
    agn_mix: Mapping[str, float] = field(default_factory=lambda: AGN_MIX)  # share of each AGN subtype

    @property
    def galaxy_catalogs(self) -> tuple[GalaxyCatalogModel, ...]:
        """The catalogue models, as a tuple even when there is one."""
        return self.galaxy_catalog if isinstance(self.galaxy_catalog, tuple) else (self.galaxy_catalog,)

    def __post_init__(self) -> None:
        if int(self.n_objects) != self.n_objects or self.n_objects < 1:
            raise ValueError(f"n_objects must be a positive whole number, got {self.n_objects!r}.")
        fractions = _checked_shares("class_fractions", self.class_fractions, CLASSES, "class(es)")
        object.__setattr__(self, "class_fractions", MappingProxyType(fractions))
        object.__setattr__(self, "galaxy_catalog", _checked_catalogs(self.galaxy_catalog))
        object.__setattr__(self, "vs_mix", _checked_mix("vs_mix", self.vs_mix, "VS"))
        object.__setattr__(self, "agn_mix", _checked_mix("agn_mix", self.agn_mix, "AGN"))
        if not self.end_mjd - self.start_mjd >= 1:
            raise ValueError(
                f"end_mjd ({self.end_mjd}) must be at least one day after start_mjd ({self.start_mjd})."
            )
        if int(self.min_detections) != self.min_detections or self.min_detections < 1:
            raise ValueError(f"min_detections must be a whole number >= 1, got {self.min_detections!r}.")
        self._check_ranges()

    def _check_ranges(self) -> None:
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
