"""A GOTO-like survey simulator: labelled light curves, sky positions and a galaxy catalogue.

The paper's data (Burhanudin et al. 2021, section 2) are not public, so we make data that behave like them.
Every part is calibrated to a named source; ``docs/simulator.md`` lists each with its source and the test
that checks it. In short:

* **one observing schedule for every class** (:mod:`.cadence`): the all-sky survey's field rotation on clear
  nights (weather in runs), sized by the night's length and the fields the Sun leaves up, GW follow-up
  campaigns during LIGO-Virgo's O3, a limit that the Moon and the seeing make shallower;
* **detection from difference imaging** (:mod:`.photometry`): a visit counts only when the object differs
  from its reference image by 5 sigma and is above the night's limit, so quiet states of variables go
  unseen; errors from sky + source noise and a calibration floor, a function of magnitude and conditions
  only (0.22 mag at the limit);
* **physics**: variable stars by subtype with their period and amplitude distributions, crowding the
  galactic plane (:mod:`.variables`, :mod:`.flares`); supernovae (Ia, II-P, II-L, IIn, Ib/c) by their
  volumetric rates and luminosity functions, at distances out to where each is seen (:mod:`.supernovae`);
  AGN as damped random walks with MacLeod et al.'s time scales and amplitudes, blazars flaring on top
  (:mod:`.agn`);
* **hosts** (:mod:`.galaxies`): SN offsets from an inclined exponential disc in kpc, turned into arcsec by
  the host's distance; nuclear AGN; survey and catalogue astrometry in quadrature; hosts catalogued by the
  catalogue's depth (:mod:`lcrnn.data.catalog_depth`), quasars through SDSS-DR12Q; field galaxies at the
  catalogue's density, so stars find chance neighbours at ~1 - exp(-density pi r^2).

Every subtype is one registered population (:mod:`.registry`): a generator function and a frozen dataclass of
its parameters, each number with its source. The modules:

* :mod:`.config`: :class:`SimulationConfig` and :func:`class_counts`;
* :mod:`.mixes`: the classes and the subtype mixes (:data:`SOURCE_POPULATIONS`);
* :mod:`.variables`, :mod:`.flares`, :mod:`.supernovae`, :mod:`.agn`: the populations of each class;
* :mod:`.cadence` (fields, nights, rotation, weather, Moon), :mod:`.sky` (positions), :mod:`.photometry`
  (noise, reference image, detection), :mod:`.galaxies` (hosts and field galaxies), :mod:`.processes`
  (shared draws);
* :mod:`.survey`: :func:`simulate_survey`, which puts them together.

Objects are kept only when detected at least ``min_detections`` times, as a survey catalogue would be. The
galaxy catalogue holds the hosts a GLADE-like catalogue would hold at their distance (or GWGC-like, see
:mod:`lcrnn.data.catalog_depth`) plus field galaxies at its density, drawn only in a patch around each object
(all a nearest-galaxy match within 60 arcsec can see), so the catalogue stays small. Context columns are *not*
written: :func:`lcrnn.data.context.compute_context` derives them from the tables.

Everything is vectorised per class over flat (object, visit) arrays; only loops over classes, batches,
subtypes and visit positions (for the damped random walks) remain in Python. One random generator, seeded by
``SimulationConfig.seed``, is drawn from in a fixed order, so the same config gives the same survey.
"""

from __future__ import annotations

# The population modules register their subtypes on import; config checks mixes against the registry.
from lcrnn.data.simulate import agn, flares, supernovae, variables  # noqa: F401
from lcrnn.data.simulate.config import SimulationConfig, class_counts
from lcrnn.data.simulate.mixes import (
    AGN_MIX,
    CLASSES,
    PAPER_CLASS_COUNTS,
    SOURCE_POPULATIONS,
    TRANSIENT_SELECTED_AGN_MIX,
    TRANSIENT_SELECTED_VS_MIX,
    VS_MIX,
)
from lcrnn.data.simulate.photometry import magnitude_error
from lcrnn.data.simulate.registry import Population, get_population, population, population_names
from lcrnn.data.simulate.survey import simulate_survey, simulate_survey_with_truth

__all__ = [
    "AGN_MIX",
    "CLASSES",
    "PAPER_CLASS_COUNTS",
    "SOURCE_POPULATIONS",
    "TRANSIENT_SELECTED_AGN_MIX",
    "TRANSIENT_SELECTED_VS_MIX",
    "VS_MIX",
    "Population",
    "SimulationConfig",
    "class_counts",
    "get_population",
    "magnitude_error",
    "population",
    "population_names",
    "simulate_survey",
    "simulate_survey_with_truth",
]
