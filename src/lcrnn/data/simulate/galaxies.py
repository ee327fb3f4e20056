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

# SN sit 1-10" from their host's centre, about one half-light radius at these redshifts (SURVEY_FACTS).
_SN_HOST_OFFSET_ARCSEC = (1.0, 10.0)  # log-uniform
# AGN are nuclear; the catalogue position differs by centroiding and astrometric scatter, ~0.1-1"
# (SURVEY_FACTS): Rayleigh with this scale, capped below 1".
_AGN_HOST_SCATTER_ARCSEC = 0.25
_AGN_HOST_MAX_ARCSEC = 0.95
# Behind the dust of the Galactic plane the catalogue thins to 1 - 0.9 exp(-(b / 10 deg)^2) of its density
# (SURVEY_FACTS: GLADE is thinner near the plane; the shape is assumed).
_PLANE_DEFICIT = 0.9
_PLANE_SCALE_DEG = 10.0


def galaxy_catalogue(
    rng: np.random.Generator,
    config: SimulationConfig,
    ra: np.ndarray,
    dec: np.ndarray,
    labels: np.ndarray,
    redshift: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Catalogued hosts of SN and AGN plus field galaxies around every object.

    Returns the catalogue, whether each object's host is catalogued, and the host offset (NaN for none).
    """
    n = len(ra)
    host_offset = np.full(n, np.nan)
    is_sn, is_agn = labels == "SN", labels == "AGN"
    host_offset[is_sn] = log_uniform(rng, *_SN_HOST_OFFSET_ARCSEC, int(is_sn.sum()))
    host_offset[is_agn] = np.minimum(
        rng.rayleigh(_AGN_HOST_SCATTER_ARCSEC, int(is_agn.sum())), _AGN_HOST_MAX_ARCSEC
    )
    from astropy.cosmology import Planck18

    hosted = is_sn | is_agn
    distance = np.full(n, np.inf)
    if hosted.any():  # astropy refuses an empty array here
        distance[hosted] = Planck18.luminosity_distance(redshift[hosted]).to_value(u.Mpc)
    catalogued = np.zeros(n, dtype=bool)
    catalogued[hosted] = rng.random(int(hosted.sum())) < config.galaxy_catalog.completeness(distance[hosted])
    host_ra, host_dec = offset_positions(ra[catalogued], dec[catalogued], host_offset[catalogued], rng)

    # Field galaxies: Poisson numbers within the patch, fewer behind the dust of the Galactic plane.
    b = galactic_b(ra, dec)
    area = np.pi * (config.galaxy_patch_arcsec / 3600.0) ** 2
    plane = 1.0 - _PLANE_DEFICIT * np.exp(-((b / _PLANE_SCALE_DEG) ** 2))
    n_field = rng.poisson(config.galaxy_catalog.density_per_sq_deg * area * plane)
    around = np.repeat(np.arange(n), n_field)
    radius = config.galaxy_patch_arcsec * np.sqrt(rng.random(len(around)))
    field_ra, field_dec = offset_positions(ra[around], dec[around], radius, rng)

    gal_ra = np.concatenate([host_ra, field_ra])
    gal_dec = np.concatenate([host_dec, field_dec])
    order = rng.permutation(len(gal_ra))  # hosts must not be recognisable by their place in the table
    galaxies = pd.DataFrame({"ra": gal_ra[order], "dec": gal_dec[order]})
    galaxies.insert(0, "name", pd.array([f"SIMGAL{i:07d}" for i in range(len(galaxies))], dtype="str"))
    return galaxies[["ra", "dec", "name"]], catalogued, host_offset
