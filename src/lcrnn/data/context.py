"""Contextual features of each object: where it lies in the Galaxy and how close the nearest galaxy is.

The paper (section 2.3) feeds the network ``X_C = (l, b, d_G)``: galactic longitude and latitude in degrees and
the angular distance in arcseconds to the nearest catalogued galaxy, with a dummy value when that galaxy is
more than 60 arcsec away. Variable stars crowd the galactic plane and rarely sit next to a galaxy; supernovae
and AGN do the opposite, which is why these three numbers help so much (paper section 5.4).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from astropy import units as u
from astropy.coordinates import SkyCoord, match_coordinates_sky

from lcrnn.data.schema import CONTEXT_COLUMNS
from lcrnn.errors import InvalidConfigError, InvalidTableError, LcrnnWarning
from lcrnn.settings import config_from_dict

__all__ = [
    "CARRIED",
    "CONTEXT_COLUMNS",
    "NOT_RECORDED",
    "CatalogueCheck",
    "ContextConfig",
    "MissingCatalogueError",
    "catalogue_fingerprint",
    "check_catalogue",
    "carried_context",
    "carries_context",
    "compute_context",
    "describe_catalogue",
    "galaxy_catalogue",
    "objects_context",
    "same_catalogue",
]



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


# --- which catalogue: a model and a store remember the one they were made with --------------------------------

NOT_RECORDED = "not recorded"  # a run saved before runs recorded their catalogue
# A run trained on context computed beforehand (objects carrying CONTEXT_COLUMNS): for instance surveys
# simulated against different catalogues, pooled. Like NOT_RECORDED it asks for a catalogue at prediction.
CARRIED = "carried by the objects table"


def carries_context(objects: pd.DataFrame) -> bool:
    """Whether the objects table carries its context (every one of :data:`CONTEXT_COLUMNS`)."""
    return all(c in objects.columns for c in CONTEXT_COLUMNS)


def carried_context(objects: pd.DataFrame) -> pd.DataFrame | None:
    """The context the validated ``objects`` carry (``object_id`` and :data:`CONTEXT_COLUMNS`, checked finite by
    :func:`lcrnn.data.tables.validate_survey`), or None when they carry none: then it is computed from a
    catalogue. Carried context lets surveys whose context came from different catalogues be pooled."""
    if not carries_context(objects):
        return None
    return objects[["object_id", *CONTEXT_COLUMNS]].reset_index(drop=True)


def objects_context(objects: pd.DataFrame, galaxies: pd.DataFrame | SkyCoord | None = None,
                    config: ContextConfig | None = None) -> pd.DataFrame:
    """The context the objects carry (:func:`carried_context`), else :func:`compute_context` against
    ``galaxies``: the one rule every batch route and every description of a survey follows. A catalogue given
    beside carried context is not used, and a :class:`~lcrnn.errors.LcrnnWarning` says so."""
    carried = carried_context(objects)
    if carried is None:
        return compute_context(objects, galaxies, config)
    if galaxies is not None and len(galaxies) > 0:
        warnings.warn("the objects carry their context (gal_l, gal_b, galaxy_dist_arcsec), so the galaxy catalogue "
                      "given is not used; drop those columns to compute the context from it", LcrnnWarning,
                      stacklevel=2)
    return carried


class MissingCatalogueError(InvalidConfigError):
    """A model that reads the nearest-galaxy distance was given no galaxy catalogue, and no opt-out."""


def catalogue_fingerprint(galaxies: pd.DataFrame | None, source: Any = None) -> dict[str, Any] | None:
    """What identifies a galaxy catalogue: its path as given, its row count and a hash of its positions.

    Parameters
    ----------
    galaxies
        Table with ``ra``, ``dec`` (degrees), or None. ``None`` or an empty table is no catalogue (every
        distance is the dummy value, see :func:`compute_context`) and gives None.
    source
        The file the table was read from; defaults to ``galaxies.attrs["source"]``, which
        :func:`lcrnn.data.io.read_table` sets.

    Returns
    -------
    dict or None
        ``{"source": str | None, "rows": int, "sha256": str}``; the hash is of the (ra, dec) pairs as float64
        in sorted order, so the same positions read from Parquet or CSV, in any row order, give the same hash.
    """
    if galaxies is None or len(galaxies) == 0:
        return None
    _require_columns(galaxies, ("ra", "dec"), "galaxies")
    ra, dec = _finite_radec(galaxies, "galaxies")
    order = np.lexsort((dec, ra))
    pairs = np.ascontiguousarray(np.stack([ra[order], dec[order]], axis=1), dtype="<f8")
    source = source if source is not None else galaxies.attrs.get("source")
    return {
        "source": None if source is None else str(source),
        "rows": int(len(galaxies)),
        "sha256": hashlib.sha256(pairs.tobytes()).hexdigest(),
    }


def describe_catalogue(fingerprint: Mapping[str, Any] | str | None) -> str:
    """A fingerprint in words, for messages: ``'data/sim/galaxies.parquet' (1234 rows, sha256 0a1b2c3d4e5f)``."""
    if fingerprint is None:
        return "no galaxy catalogue"
    if fingerprint == CARRIED:
        return "context computed beforehand and carried by the objects table (no catalogue recorded)"
    if isinstance(fingerprint, str):
        return "a galaxy catalogue it does not record (a run saved before runs recorded theirs, or a bare model)"
    where = repr(fingerprint["source"]) if fingerprint.get("source") else "a galaxy table given in memory"
    return f"{where} ({fingerprint['rows']} rows, sha256 {str(fingerprint['sha256'])[:12]})"


def same_catalogue(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Whether two fingerprints are of the same positions (the path may differ)."""
    if a is None or b is None:
        return a is None and b is None
    return (a["rows"], a["sha256"]) == (b["rows"], b["sha256"])


class CatalogueCheck(NamedTuple):
    """What :func:`check_catalogue` found: ``status`` and, unless all is as trained, a ``message`` to show.

    ``status`` is ``"same"``, ``"not-needed"`` (the model reads no context), ``"not-recorded"`` (a catalogue
    was given to a run that does not record its own), ``"carried"`` (one was given to a run trained on context the
    objects carried), ``"different"`` or ``"missing-allowed"`` (the opt-out).
    """

    status: str
    message: str | None = None


def check_catalogue(
    trained: Mapping[str, Any] | str | None,
    given: Mapping[str, Any] | None,
    *,
    uses_context: bool,
    allow_missing: bool = False,
    give_hint: str = "pass it with --galaxies FILE",
    opt_out_hint: str = "--no-galaxies",
) -> CatalogueCheck:
    """The one rule for the catalogue a model is used with, on the batch and the served route.

    Parameters
    ----------
    trained
        The fingerprint the run recorded (:func:`catalogue_fingerprint`), None for a run trained without a
        catalogue, :data:`NOT_RECORDED` for a run saved before runs recorded it, or :data:`CARRIED` for a run
        trained on context its objects carried.
    given
        The fingerprint of the catalogue given now, or None.
    uses_context
        Whether the network reads the context at all.
    allow_missing
        The user's explicit opt-out: no catalogue, every object gets the dummy distance.
    give_hint, opt_out_hint
        How this entry point passes a catalogue and how it opts out, for the messages.

    Raises
    ------
    MissingCatalogueError
        No catalogue given for a model trained with one (or with one it does not record), without the opt-out.
    """
    if not uses_context:
        return CatalogueCheck("not-needed")
    if given is None and trained is not None:
        if not allow_missing:
            raise MissingCatalogueError(
                f"this model reads the nearest-galaxy distance and was trained with {describe_catalogue(trained)}, "
                f"but no galaxy catalogue was given: every object would get the dummy distance and other "
                f"probabilities than the model's. Give the catalogue ({give_hint}), or accept the dummy distance "
                f"explicitly with {opt_out_hint}.")
        return CatalogueCheck("missing-allowed", (
            f"no galaxy catalogue ({opt_out_hint}): every object gets the dummy galaxy distance, although the "
            f"model was trained with {describe_catalogue(trained)}."))
    if trained == CARRIED:
        return CatalogueCheck("carried")
    if isinstance(trained, str):
        return CatalogueCheck("not-recorded")
    if same_catalogue(trained, given):
        return CatalogueCheck("same")
    return CatalogueCheck("different", (
        f"the galaxy catalogue given, {describe_catalogue(given)}, is not the one the model was trained with, "
        f"{describe_catalogue(trained)}; the nearest-galaxy distances follow the catalogue given."))
