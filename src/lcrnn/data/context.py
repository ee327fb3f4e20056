"""Contextual features of each object: where it lies in the Galaxy and how close the nearest galaxy is.

The paper (section 2.3) feeds the network ``X_C = (l, b, d_G)``: galactic longitude and latitude in degrees and
the angular distance in arcseconds to the nearest catalogued galaxy, with a dummy value when that galaxy is
more than 60 arcsec away. Variable stars crowd the galactic plane and rarely sit next to a galaxy; supernovae
and AGN do the opposite, which is why these three numbers help so much (paper section 5.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from astropy import units as u
from astropy.coordinates import SkyCoord, match_coordinates_sky

from lcrnn.errors import InvalidTableError
from lcrnn.settings import config_from_dict

__all__ = ["CONTEXT_COLUMNS", "ContextConfig", "compute_context", "galaxy_catalogue"]

CONTEXT_COLUMNS: tuple[str, ...] = ("gal_l", "gal_b", "galaxy_dist_arcsec")


@dataclass(frozen=True)
class ContextConfig:
    """How the nearest-galaxy distance is computed and capped.

    Parameters
    ----------
    max_distance_arcsec
        Galaxies farther than this do not count as "nearby" (paper section 2.3: 60 arcsec).
    dummy_distance_arcsec
        The distance reported when no galaxy lies within ``max_distance_arcsec`` (or there is no
        catalogue). The paper does not give its value; we use 120 arcsec, twice the limit. It must be
        larger than the limit so that "no galaxy within 60 arcsec" sits on the far side of every real
        distance: the feature then stays monotone in "how far the nearest galaxy is", which a value like
        -1 would break (it would read as closer than any real galaxy). It should also stay in the range
        of real distances, so that standardising the feature is not dominated by it, which a value like
        999 would break (the dummy would set the scale and squeeze every real distance together).
    """

    max_distance_arcsec: float = 60.0  # paper section 2.3
    dummy_distance_arcsec: float = 120.0  # not in the paper; see the docstring for why 120

    def __post_init__(self) -> None:
        if not np.isfinite(self.max_distance_arcsec) or self.max_distance_arcsec <= 0:
            raise ValueError(
                f"max_distance_arcsec must be a positive number of arcsec, got {self.max_distance_arcsec!r}."
            )
        if (
            not np.isfinite(self.dummy_distance_arcsec)
            or self.dummy_distance_arcsec <= self.max_distance_arcsec
        ):
            raise ValueError(
                f"dummy_distance_arcsec ({self.dummy_distance_arcsec!r}) must be finite and larger than "
                f"max_distance_arcsec ({self.max_distance_arcsec!r}), so that 'no galaxy nearby' reads as "
                "farther than any real match."
            )

    def to_dict(self) -> dict[str, float]:
        """Plain JSON-safe dictionary, for storing with the model configuration."""
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ContextConfig:
        """Rebuild a config written by :meth:`to_dict`; unknown keys are an error, missing keys take defaults."""
        return config_from_dict(cls, {k: float(v) for k, v in d.items()})


def _require_columns(df: pd.DataFrame, columns: tuple[str, ...], table: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidTableError(
            f"The {table} table is missing column(s) {missing}; it has {list(df.columns)}. "
            "Read it with lcrnn.data.io or rename the columns."
        )


def _finite_radec(df: pd.DataFrame, table: str) -> tuple[np.ndarray, np.ndarray]:
    ra = pd.to_numeric(df["ra"], errors="coerce").to_numpy(dtype=np.float64)
    dec = pd.to_numeric(df["dec"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(ra) & np.isfinite(dec)) | (np.abs(dec) > 90.0)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise InvalidTableError(
            f"{int(bad.sum())} row(s) of the {table} table have missing or out-of-range ra/dec "
            f"(rows {rows}, ...); ra and dec must be finite degrees with |dec| <= 90."
        )
    return ra, dec


def galaxy_catalogue(galaxies: pd.DataFrame | SkyCoord) -> SkyCoord:
    """Turn a galaxies table into the sky coordinates that :func:`compute_context` matches against.

    Build it once and pass it to :func:`compute_context` as often as needed: astropy caches the KD-tree
    on the coordinate object, so repeated matches against a large catalogue skip the tree build.

    Parameters
    ----------
    galaxies
        Table with ``ra``, ``dec`` columns in degrees (ICRS), or an existing SkyCoord (returned as is).

    Returns
    -------
    SkyCoord
        One-dimensional ICRS coordinates, one per galaxy.
    """
    if isinstance(galaxies, SkyCoord):
        return galaxies if galaxies.ndim == 1 else galaxies.reshape(-1)
    _require_columns(galaxies, ("ra", "dec"), "galaxies")
    ra, dec = _finite_radec(galaxies, "galaxies")
    return SkyCoord(ra=ra * u.deg, dec=dec * u.deg, frame="icrs")


def compute_context(
    objects: pd.DataFrame,
    galaxies: pd.DataFrame | SkyCoord | None = None,
    config: ContextConfig | None = None,
) -> pd.DataFrame:
    """Galactic coordinates and nearest-galaxy distance for each object (the paper's ``X_C``).

    Parameters
    ----------
    objects
        Table with ``object_id``, ``ra``, ``dec`` (degrees, ICRS).
    galaxies
        Galaxy catalogue: a table with ``ra``, ``dec`` in degrees, or a SkyCoord from
        :func:`galaxy_catalogue` (reuse it to skip rebuilding the KD-tree). ``None`` or an empty table means
        no catalogue: every distance is the dummy value.
    config
        Distance limit and dummy value; defaults to ``ContextConfig()``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``objects``, columns ``object_id`` and :data:`CONTEXT_COLUMNS` (float32):
        ``gal_l`` in [0, 360) deg, ``gal_b`` in [-90, 90] deg, ``galaxy_dist_arcsec`` the separation to the
        nearest galaxy, or ``config.dummy_distance_arcsec`` when it exceeds ``config.max_distance_arcsec``.
    """
    config = ContextConfig() if config is None else config
    _require_columns(objects, ("object_id", "ra", "dec"), "objects")
    ra, dec = _finite_radec(objects, "objects")

    distance = np.full(len(objects), config.dummy_distance_arcsec, dtype=np.float64)
    if len(objects) == 0:
        gal_l = gal_b = np.empty(0, dtype=np.float64)
    else:
        coords = SkyCoord(ra=ra * u.deg, dec=dec * u.deg, frame="icrs")
        galactic = coords.galactic
        gal_l = galactic.l.wrap_at(360 * u.deg).deg
        gal_b = galactic.b.deg
        catalogue = None if galaxies is None else galaxy_catalogue(galaxies)
        if catalogue is not None and len(catalogue) > 0:
            # match_coordinates_sky builds a KD-tree once per catalogue object and caches it there.
            _, sep, _ = match_coordinates_sky(coords, catalogue, nthneighbor=1, storekdtree="_lcrnn_kdtree")
            sep_arcsec = sep.to_value(u.arcsec)
            distance = np.where(
                sep_arcsec > config.max_distance_arcsec, config.dummy_distance_arcsec, sep_arcsec
            )

    gal_l32 = np.asarray(gal_l, dtype=np.float32)
    gal_l32[gal_l32 >= 360.0] = 0.0  # float32 rounding can carry 359.99999... up to 360
    return pd.DataFrame(
        {
            "object_id": objects["object_id"].astype(str),
            "gal_l": gal_l32,
            "gal_b": np.asarray(gal_b, dtype=np.float32),
            "galaxy_dist_arcsec": distance.astype(np.float32),
        },
        index=objects.index,
    )
