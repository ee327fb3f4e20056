"""The galaxy catalogue: catalogued hosts of SN and AGN, plus field galaxies at the catalogue's density.

A host is catalogued with the chance the catalogue model (:mod:`lcrnn.data.catalog_depth`) gives at its
luminosity distance. Field galaxies are drawn only in a patch around each object (all a nearest-galaxy match
within 60 arcsec can see, paper section 2.2), so the catalogue stays small.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from astropy import units as u

from lcrnn.data.simulate.config import SimulationConfig
from lcrnn.data.simulate.processes import log_uniform
from lcrnn.data.simulate.sky import galactic_b, offset_positions

__all__ = ["galaxy_catalogue"]

# SN hosts: effective (half-light) radius log-normal about 6 kpc with 0.3 dex scatter, so that SN Ia offsets
# match the Open Supernova Catalog's (../shared/data, events of 2010-2014 at z < 0.06 with a host offset:
# median 4.5 kpc, quartiles 2.1-10.9 kpc, 169 SN Ia). SNe follow an exponential disc, whose projected radius
# in 2D is Gamma(2) in scale lengths with a median of one effective radius; SN Ia median offset ~1 r_e,
# core-collapse ~0.7 r_e (SURVEY_FACTS; Kelly & Kirshner 2012). Discs are seen at random inclination (the
# projected median is then 0.72 r_e).
_HOST_RE_KPC = 6.0
_HOST_RE_SCATTER_DEX = 0.3
_GAMMA2_MEDIAN = 1.6783  # median of Gamma(2, 1): an exponential disc's effective radius in scale lengths
_MEDIAN_OFFSET_RE = {"Ia": 1.0, "II-P": 0.7, "II-L": 0.7, "IIn": 0.7, "Ibc": 0.7}
# Astrometry (SURVEY_FACTS: catalogue and transient positions differ by ~0.1-1"): a Gaussian error per axis,
# the survey's centroid (undersampled 1.25" pixels over a wide field: ~0.3", assumed) in quadrature with the
# catalogue's, log-uniform in this range for an extended galaxy's centroid (2MASS XSC, HyperLEDA; assumed) or
# ~0.1" for a quasar that SDSS measured as a point source.
_SURVEY_SIGMA_ARCSEC = 0.3
_GALAXY_SIGMA_ARCSEC = (0.2, 1.0)
_POINT_SOURCE_SIGMA_ARCSEC = 0.1
# Quasars and blazars are in GLADE themselves when SDSS-DR12Q holds them (GLADE merges it): its ~9,400 deg^2
# cover ~34 % of the sky north of dec -20, at ~90 % completeness for quasars this bright (assumed).
_QUASAR_IN_CATALOGUE = 0.30
# Behind the dust of the Galactic plane the catalogue thins to 1 - 0.9 exp(-(b / 10 deg)^2) of its density
# (SURVEY_FACTS: GLADE is thinner near the plane; the shape is assumed).
_PLANE_DEFICIT = 0.9
_PLANE_SCALE_DEG = 10.0
def _disc_offsets_arcsec(rng: np.random.Generator, subtype: np.ndarray, redshift: np.ndarray) -> np.ndarray:
    """Projected SN-host offsets: radius in an inclined exponential disc, in arcsec at ``redshift``."""
    from astropy.cosmology import Planck18

    n = len(subtype)
    r_e = _HOST_RE_KPC * 10.0 ** rng.normal(0.0, _HOST_RE_SCATTER_DEX, n)
    median = np.array([_MEDIAN_OFFSET_RE.get(str(t), 1.0) for t in subtype])
    radius_kpc = rng.gamma(2.0, 1.0, n) / _GAMMA2_MEDIAN * median * r_e
    azimuth = rng.uniform(0.0, 2 * np.pi, n)
    cos_i = rng.random(n)
    projected = radius_kpc * np.sqrt(np.cos(azimuth) ** 2 + (np.sin(azimuth) * cos_i) ** 2)
    return projected * Planck18.arcsec_per_kpc_proper(redshift).value


def _astrometric_error(rng: np.random.Generator, point_source: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (arcsec, east and north) between the survey's position and the catalogue's of one source."""
    n = len(point_source)
    catalogue = np.where(point_source, _POINT_SOURCE_SIGMA_ARCSEC, log_uniform(rng, *_GALAXY_SIGMA_ARCSEC, n))
    sigma = np.hypot(_SURVEY_SIGMA_ARCSEC, catalogue)
    return sigma * rng.standard_normal(n), sigma * rng.standard_normal(n)


def _is_quasar(labels: np.ndarray, subtype: np.ndarray) -> np.ndarray:
    return (labels == "AGN") & np.isin(subtype.astype(str), ["QSO", "blazar"])


def _host_offsets(
    rng: np.random.Generator, labels: np.ndarray, subtype: np.ndarray, redshift: np.ndarray
) -> np.ndarray:
    """Separation (arcsec) between each SN or AGN and its host's catalogue position; NaN for the rest.

    Quasars and blazars are taken to be catalogued as point sources (their own SDSS entry); Seyfert nuclei and
    SN hosts by their galaxy's centroid.
    """
    n = len(labels)
    offset = np.full(n, np.nan)
    is_sn, hosted = labels == "SN", (labels == "SN") | (labels == "AGN")
    true_east, true_north = np.zeros(n), np.zeros(n)
    if is_sn.any():  # astropy refuses an empty array
        sep = _disc_offsets_arcsec(rng, subtype[is_sn], redshift[is_sn])
        angle = rng.uniform(0.0, 2 * np.pi, int(is_sn.sum()))
        true_east[is_sn], true_north[is_sn] = sep * np.cos(angle), sep * np.sin(angle)
    east, north = _astrometric_error(rng, _is_quasar(labels, subtype))
    offset[hosted] = np.hypot(true_east + east, true_north + north)[hosted]
    return offset


def _catalogue_at_each_object(
    rng: np.random.Generator, config: SimulationConfig, distance: np.ndarray, quasar: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per object: the chance its host is catalogued, and the catalogue's density (per deg^2) around it.

    With several catalogue models each object's patch of sky gets one of them (drawn only then, so a survey
    of one catalogue repeats as before).
    """
    models = config.galaxy_catalogs
    which = rng.integers(len(models), size=len(distance)) if len(models) > 1 else np.zeros(len(distance), int)
    share, density = np.zeros(len(distance)), np.zeros(len(distance))
    for k, model in enumerate(models):
        on = which == k
        share[on] = model.completeness(distance[on])
        if model.name == "GLADE":  # GLADE holds SDSS-DR12Q quasars as entries of their own
            share[on] = np.where(quasar[on], np.maximum(share[on], _QUASAR_IN_CATALOGUE), share[on])
        density[on] = model.density_per_sq_deg
    return share, density


def galaxy_catalogue(
    rng: np.random.Generator,
    config: SimulationConfig,
    ra: np.ndarray,
    dec: np.ndarray,
    labels: np.ndarray,
    redshift: np.ndarray,
    subtype: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Catalogued hosts of SN and AGN plus field galaxies around every object.

    Returns the catalogue, whether each object's host is catalogued, and the host offset (NaN for none).
    """
    n = len(ra)
    host_offset = _host_offsets(rng, labels, subtype, redshift)
    from astropy.cosmology import Planck18

    hosted = (labels == "SN") | (labels == "AGN")
    distance = np.full(n, np.inf)
    if hosted.any():  # astropy refuses an empty array here
        distance[hosted] = Planck18.luminosity_distance(redshift[hosted]).to_value(u.Mpc)
    share, density = _catalogue_at_each_object(rng, config, distance, _is_quasar(labels, subtype))
    catalogued = hosted & (rng.random(n) < share)
    host_ra, host_dec = offset_positions(ra[catalogued], dec[catalogued], host_offset[catalogued], rng)

    # Field galaxies: Poisson numbers within the patch, fewer behind the dust of the Galactic plane.
    b = galactic_b(ra, dec)
    area = np.pi * (config.galaxy_patch_arcsec / 3600.0) ** 2
    plane = 1.0 - _PLANE_DEFICIT * np.exp(-((b / _PLANE_SCALE_DEG) ** 2))
    n_field = rng.poisson(density * area * plane)
    around = np.repeat(np.arange(n), n_field)
    radius = config.galaxy_patch_arcsec * np.sqrt(rng.random(len(around)))
    field_ra, field_dec = offset_positions(ra[around], dec[around], radius, rng)

    gal_ra = np.concatenate([host_ra, field_ra])
    gal_dec = np.concatenate([host_dec, field_dec])
    order = rng.permutation(len(gal_ra))  # hosts must not be recognisable by their place in the table
    galaxies = pd.DataFrame({"ra": gal_ra[order], "dec": gal_dec[order]})
    galaxies.insert(0, "name", pd.array([f"SIMGAL{i:07d}" for i in range(len(galaxies))], dtype="str"))
    return galaxies[["ra", "dec", "name"]], catalogued, host_offset
