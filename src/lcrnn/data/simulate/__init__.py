"""A GOTO-like survey simulator: labelled light curves, sky positions and a galaxy catalogue.

The paper's data (Burhanudin et al. 2021, section 2) are not public, so we make data that behave like them:
one wide L band with a 5-sigma depth of about 20.5 mag, detections from difference imaging (an epoch counts
only when the object differs from the reference image by 5 sigma *and* is brighter than that night's limit, so
quiet states of variables go unseen), fields visited every month or so while the Sun allows and the weather is
clear, with now and then a campaign of visits a few nights apart (follow-up of gravitational-wave and GRB
localisations), a brighter limit around full Moon, and magnitude errors from a sky + source noise model with a
calibration floor. With the defaults the light curves have a median of 6 points, a median of ~12 days between
successive points (paper: 6 and ~11) and durations from a day to the whole 595-day survey. Each class has
physically shaped light curves:

* variable stars (VS): RR Lyrae, Cepheids, delta Scuti, contact and detached eclipsing binaries, Miras,
  semi-regulars, dwarf novae, flare stars and irregular red-noise variables, crowding the galactic plane;
* supernovae (SN): Ia, II-P and Ib/c with Bazin-like flux shapes, peak absolute magnitudes and redshifts drawn
  from the volume they can be seen in, offset 1-10 arcsec from their host;
* AGN: Seyfert nuclei, quasars and blazars, each a damped random walk (rest-frame tau ~200 d and SF_inf
  ~0.2 mag for the first two, ~60 d and ~1 mag for blazars) on their host's nucleus, at redshifts of their
  kind.

Every subtype is one registered population (:mod:`.registry`): a generator function and a frozen dataclass of
its parameters, each number with its source. The modules:

* :mod:`.config`: :class:`SimulationConfig` and :func:`class_counts`;
* :mod:`.mixes`: the classes and the subtype mixes (:data:`SOURCE_POPULATIONS`);
* :mod:`.variables`, :mod:`.flares`, :mod:`.supernovae`, :mod:`.agn`: the populations of each class;
* :mod:`.cadence` (fields, nights, weather, Moon), :mod:`.sky` (positions), :mod:`.photometry` (noise,
  reference image, detection), :mod:`.galaxies` (hosts and field galaxies), :mod:`.processes` (shared draws);
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
