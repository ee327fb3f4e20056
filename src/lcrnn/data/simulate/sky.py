"""Where objects lie on the sky: variable stars crowd the Galactic plane, galaxies avoid its dust.

Paper Fig. 3 and SURVEY_FACTS: VS crowd the galactic plane, SN and AGN mostly lie more than ~10 deg from it.
Every position is north of ``min_dec`` (what La Palma sees) and at least ``min_abs_b`` from the plane (a
survey footprint such as CRTS's).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord

__all__ = ["galactic_b", "offset_positions", "sky_extragalactic", "sky_variable_stars"]

# Variable stars: a thin disc plus an isotropic halo (assumed shapes, tuned so that the median |b| of the VS
# is a few degrees, as in paper Fig. 3).
_DISC_SHARE = 0.8  # share of variables in the disc
_DISC_SCALE_DEG = 5.0  # Laplace scale of the disc's latitude distribution
_MAX_ABS_B_DEG = 89.0  # keeps disc latitudes off the poles
_BULGE_SHARE = 0.6  # share of variables whose longitude crowds toward the Galactic centre ...
_BULGE_KAPPA = 1.5  # ... with a von Mises concentration this strong
# Galaxies are hidden near the plane by dust: kept with chance 1 - 0.95 exp(-(b / 8 deg)^2) (assumed).
_DUST_HIDDEN = 0.95
_DUST_SCALE_DEG = 8.0


def _galactic_to_icrs(l_deg: np.ndarray, b_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    icrs = SkyCoord(l=l_deg * u.deg, b=b_deg * u.deg, frame="galactic").icrs
    return icrs.ra.wrap_at(360 * u.deg).deg % 360.0, icrs.dec.deg


def galactic_b(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    return SkyCoord(ra=ra * u.deg, dec=dec * u.deg, frame="icrs").galactic.b.deg


def _draw_positions(
    n: int, propose: Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` accepted (ra, dec), from ``propose(m)`` calls that draw m candidates and say which to keep."""
    ras, decs, have = [], [], 0
    while have < n:
        ra, dec, keep = propose(2 * (n - have) + 16)
        ras.append(ra[keep])
        decs.append(dec[keep])
        have += int(keep.sum())
    return np.concatenate(ras)[:n], np.concatenate(decs)[:n]


def sky_variable_stars(
    rng: np.random.Generator, n: int, min_dec: float, min_abs_b: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """A thin disc (|b| of a few degrees, denser toward the Galactic centre) plus an isotropic halo share."""

    def propose(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        disc = rng.random(m) < _DISC_SHARE
        b = np.where(
            disc,
            np.clip(rng.laplace(0.0, _DISC_SCALE_DEG, m), -_MAX_ABS_B_DEG, _MAX_ABS_B_DEG),
            np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, m))),
        )
        l_deg = np.where(
            rng.random(m) < _BULGE_SHARE,
            np.degrees(rng.vonmises(0.0, _BULGE_KAPPA, m)),
            rng.uniform(0, 360, m),
        )
        ra, dec = _galactic_to_icrs(l_deg % 360.0, b)
        return ra, dec, (dec >= min_dec) & (np.abs(b) >= min_abs_b)

    return _draw_positions(n, propose)


def sky_extragalactic(
    rng: np.random.Generator, n: int, min_dec: float, min_abs_b: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic north of ``min_dec``, thinned near the plane where dust hides galaxies."""

    def propose(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ra = rng.uniform(0.0, 360.0, m)
        dec = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(min_dec)), 1.0, m)))
        b = galactic_b(ra, dec)
        seen = 1.0 - _DUST_HIDDEN * np.exp(-((b / _DUST_SCALE_DEG) ** 2))
        keep = (rng.random(m) < seen) & (np.abs(b) >= min_abs_b)
        return ra, dec, keep

    return _draw_positions(n, propose)


def offset_positions(
    ra: np.ndarray, dec: np.ndarray, sep_arcsec: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``sep_arcsec`` away in a random direction (exact on the sphere)."""
    if len(ra) == 0:
        return np.empty(0), np.empty(0)
    coord = SkyCoord(ra=ra * u.deg, dec=dec * u.deg, frame="icrs")
    moved = coord.directional_offset_by(rng.uniform(0, 360, len(ra)) * u.deg, sep_arcsec * u.arcsec)
    return moved.ra.wrap_at(360 * u.deg).deg % 360.0, moved.dec.deg
