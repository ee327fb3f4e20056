"""The Open Supernova Catalog, events of 2010-2014 (Guillochon et al. 2017, ApJ 835, 64): real SN light curves.

The folder (``../shared/data/osc_sne_2010_2014``) holds ``objects.parquet`` (name, ra_deg, dec_deg,
claimedtype, redshift, ...) and ``photometry.parquet`` (name, mjd, mag, mag_err, band, upperlimit, ...),
magnitudes in optical bands only.

Choices made here (all arguments of :func:`read_osc`):

- **Upper limits are dropped.** They are non-detections, not measurements; the RNN input holds detections
  only, as GOTO's difference-imaging light curves do.
- **Bands: the group near GOTO L** (:data:`L_LIKE_BANDS`). L spans 400-700 nm, centred near V (~550 nm).
  Kept: R-like bands (``r``, ``r'``, ``R``, ``Rc``, ``R_c``), ``V``, and the broad or unfiltered ones
  that, like L, cover most of the optical (``C`` Catalina unfiltered, ``clear``/``Clear``, ``w`` PS1 broad,
  ``G`` Gaia). Left out: ``g``/``g'`` at L's blue edge: supernovae redden quickly after peak (g - r reaches
  ~1 mag within a month), so mixing g into a one-band light curve would add colour jumps GOTO would not
  see. Pass ``bands=None`` to keep every band.
- **Errors.** 44 % of detections carry no error (archival compilations), some an error of 0; they get
  ``missing_error`` (0.1 mag) unless it is None, which drops them.
- **Repeated times.** The same epoch reported by two sources keeps the point with the smallest error.
- **Labels.** ``claimedtype`` is read as a supernova type first (OSC's ``"I"`` is a Type I supernova, not
  GCVS's irregular variable), then through the label map as is; ``Candidate`` and a missing type are left
  out as untyped, non-SN types (``LGRB``, ``LBV to IIn``) as unknown.
- **Positions.** 22 events (4 of them typed: Ia 1, II P 3) have no coordinates and are left out, with a
  warning: lcrnn needs a position for every object.
- **min_detections** (3): events with fewer kept detections are left out. Detections are counted as
  reported, before repeated epochs are merged, which is how SOURCE.md counts types (Ia 1476, II 93, ...
  for all bands).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lcrnn.data.label_map import LabelMap, TypeMatch
from lcrnn.data.real._common import data_file, finish_survey, fold_types
from lcrnn.data.tables import OnInvalid, Survey
from lcrnn.errors import InvalidTableError, LcrnnWarning

__all__ = ["L_LIKE_BANDS", "osc_catalog", "read_osc"]

L_LIKE_BANDS: tuple[str, ...] = ("r", "r'", "R", "Rc", "R_c", "V", "C", "clear", "Clear", "w", "G")
_EXAMPLE = "../shared/data/osc_sne_2010_2014"


def osc_catalog(directory: str | Path) -> pd.DataFrame:
    """OSC events as a catalogue of known sources: ``object_id, ra, dec, type`` (degrees; type = claimedtype).

    Parameters
    ----------
    directory : str or Path
        The OSC folder.

    Returns
    -------
    DataFrame
        Every event with finite coordinates; ``type`` is missing where OSC gives none.
    """
    objects = pd.read_parquet(data_file(directory, "objects.parquet", "OSC", _EXAMPLE))
    out = pd.DataFrame({
        "object_id": objects["name"].astype("str"),
        "ra": objects["ra_deg"].astype("float64"),
        "dec": objects["dec_deg"].astype("float64"),
        "type": objects["claimedtype"].astype("str"),
    })
    return out[np.isfinite(out["ra"]) & np.isfinite(out["dec"])].reset_index(drop=True)


def _as_supernova_type(mapping: LabelMap, raw: Any) -> TypeMatch:
    """Read an OSC type as a supernova type first ('Ia' -> 'SN Ia'), then as it stands."""
    if pd.isna(raw) or str(raw).strip() == "":
        return mapping.classify(raw)
    text = str(raw).strip()
    direct = mapping.classify(text)
    if direct.reason == "untyped" or text.upper().startswith("SN"):
        return direct
    prefixed = mapping.classify(f"SN {text}")
    return prefixed if prefixed.label is not None else direct


def read_osc(
    directory: str | Path,
    bands: Sequence[str] | None = L_LIKE_BANDS,
    min_detections: int = 3,
    missing_error: float | None = 0.1,
    include_uncertain: bool = True,
    mapping: LabelMap | None = None,
    galaxies: pd.DataFrame | None = None,
    on_invalid: OnInvalid = "drop",
) -> Survey:
    """Read the Open Supernova Catalog folder as lcrnn tables (see the module docstring for the choices).

    Parameters
    ----------
    directory : str or Path
        Folder with ``objects.parquet`` and ``photometry.parquet``.
    bands : sequence of str or None
        Bands kept (:data:`L_LIKE_BANDS` by default); None keeps all.
    min_detections : int
        Fewest kept detections an event needs.
    missing_error : float or None
        Error given to detections with a missing or non-positive error; None drops them.
    include_uncertain : bool
        Keep uncertain types (``"IIn?"``) as SN.
    mapping : LabelMap, optional
        Type folding (default: the packaged map).
    galaxies : DataFrame, optional
        A galaxy catalogue to carry along.
    on_invalid : {"drop", "raise"}
        What validation does with bad rows.

    Returns
    -------
    Survey
        Detections only, each row keeping its original band name; objects labelled (nearly all ``SN``).
    """
    if min_detections < 1:
        raise InvalidTableError(f"min_detections must be at least 1, not {min_detections}.")
    if missing_error is not None and not missing_error > 0:
        raise InvalidTableError(f"missing_error must be positive or None, not {missing_error!r}.")
    catalog = osc_catalog(directory)
    phot = pd.read_parquet(data_file(directory, "photometry.parquet", "OSC", _EXAMPLE))
    phot = phot[~phot["upperlimit"].astype(bool)]
    if bands is not None:
        phot = phot[phot["band"].isin(list(bands))]
    err = phot["mag_err"].astype("float64")
    bad_err = ~(err > 0)  # NaN or <= 0
    if missing_error is None:
        phot, err = phot[~bad_err], err[~bad_err]
    else:
        err = err.where(~bad_err, missing_error)
    photometry = pd.DataFrame({
        "object_id": phot["name"].astype("str"),
        "mjd": phot["mjd"].astype("float64"),
        "mag": phot["mag"].astype("float32"),
        "mag_err": err.astype("float32"),
        "band": phot["band"].astype("str"),
    })
    photometry = photometry[np.isfinite(photometry["mjd"]) & np.isfinite(photometry["mag"])]
    # Detections are counted as reported (as SOURCE.md counts them), before repeated epochs are merged.
    n_points = photometry.groupby("object_id").size()
    enough = n_points.index[n_points >= min_detections]
    photometry = (
        photometry.sort_values(["object_id", "mjd", "mag_err"], kind="stable")
        .drop_duplicates(["object_id", "mjd"], keep="first")
    )

    no_position = int(np.sum(~n_points.index.isin(catalog["object_id"]) & (n_points.to_numpy() >= min_detections)))
    if no_position:
        warnings.warn(
            f"left out {no_position} OSC events with enough detections but no position (PS1 and PTF events "
            "whose JSON gives none): lcrnn needs ra/dec for every object.",
            LcrnnWarning,
            stacklevel=2,
        )
    catalog = catalog[catalog["object_id"].isin(enough)].reset_index(drop=True)
    catalog["label"] = fold_types(catalog["type"], mapping, include_uncertain, "OSC", _as_supernova_type)
    objects = catalog.loc[catalog["label"].notna(), ["object_id", "ra", "dec", "label"]].reset_index(drop=True)
    photometry = photometry[photometry["object_id"].isin(objects["object_id"])].reset_index(drop=True)
    return finish_survey(photometry, objects, galaxies, on_invalid, mapping)
