"""MANTRA: real CRTS light curves of labelled transients (Neira et al. 2020, ApJS 250, 11).

CRTS observes unfiltered (a V-like band, depth ~19-20 mag), the closest public survey to GOTO's wide L band.
The folder (``../shared/data/mantra_crts_subset``) holds ``objects.csv`` (ID, mantra_label, ra, dec, ...) and
``lightcurves.parquet`` (ID, Classification, MJD, Mag, Magerr) for 395 transients, plus the positions and
labels of all 5,539 MANTRA transients (``transient_info_all5539.tsv``, ``transient_labels_all5539.csv``),
which serve as a catalogue of known sources for cross-match labelling.

Label folding (through the label map, ``lcrnn/data/label_maps/default.json``):

- SN: ``SN`` (and ``SN?`` when uncertain labels are included);
- AGN: ``AGN``, ``Blazar``, ``AGN/Blazar`` (and ``AGN?``, ``Blazar?``);
- VS: ``CV``, ``Var``, ``LPV``, ``Mira``, ``RRL``, ``YSO``, ``Flare``, ``Carbon``, ``Carb``, ``OH-IR``
  (and ``CV?``, ``YSO?``);
- left out: ``HPM`` (high proper motion: not a variable), ``Unknown``, and labels that name two classes
  (``AGN/CV``) or none we know (``Very``, ``O/Ne``); each read warns with what it left out.

Note that the SN light curves span the whole ~3000-day CRTS baseline (quiescent host, then the outburst);
:mod:`lcrnn.data.resample` cuts them around the event.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lcrnn.data.label_map import LabelMap
from lcrnn.data.real._common import data_file, finish_survey, fold_types
from lcrnn.data.tables import OnInvalid, Survey

__all__ = ["CRTS_BAND", "mantra_catalog", "read_mantra"]

CRTS_BAND = "C"  # Catalina unfiltered, the name the Open Supernova Catalog uses for the same band
_EXAMPLE = "../shared/data/mantra_crts_subset"


def mantra_catalog(directory: str | Path, all_transients: bool = False) -> pd.DataFrame:
    """MANTRA positions and labels as a catalogue of known sources: ``object_id, ra, dec, type``.

    Parameters
    ----------
    directory : str or Path
        The MANTRA folder.
    all_transients : bool
        False: the objects with light curves (``objects.csv``). True: all 5,539 MANTRA transients, joining
        ``transient_info_all5539.tsv`` (positions) to ``transient_labels_all5539.csv`` (labels) on the id.

    Returns
    -------
    DataFrame
        ``object_id`` (str), ``ra``, ``dec`` (degrees J2000), ``type`` (MANTRA's label, e.g. ``"SN?"``).
    """
    if not all_transients:
        objects = pd.read_csv(data_file(directory, "objects.csv", "MANTRA", _EXAMPLE))
        return pd.DataFrame({
            "object_id": objects["ID"].astype("str"),
            "ra": objects["ra"].astype("float64"),
            "dec": objects["dec"].astype("float64"),
            "type": objects["mantra_label"].astype("str"),
        })
    info = pd.read_csv(data_file(directory, "transient_info_all5539.tsv", "MANTRA", _EXAMPLE), sep="\t")
    labels = pd.read_csv(data_file(directory, "transient_labels_all5539.csv", "MANTRA", _EXAMPLE))
    # "CSS images" in the info table is the TransientID of the labels table (SOURCE.md).
    merged = info.merge(labels, left_on="CSS images", right_on="TransientID", suffixes=("_text", ""))
    return pd.DataFrame({
        "object_id": merged["TransientID"].astype("str"),
        "ra": merged["RA (J2000)"].astype("float64"),
        "dec": merged["Dec (J2000)"].astype("float64"),
        "type": merged["Classification"].astype("str"),
    })


def read_mantra(
    directory: str | Path,
    include_uncertain: bool = True,
    mapping: LabelMap | None = None,
    galaxies: pd.DataFrame | None = None,
    on_invalid: OnInvalid = "drop",
) -> Survey:
    """Read the MANTRA CRTS light curves as lcrnn tables, labelled VS / SN / AGN.

    Parameters
    ----------
    directory : str or Path
        Folder with ``objects.csv`` and ``lightcurves.parquet``.
    include_uncertain : bool
        Keep labels MANTRA marks uncertain (``SN?``, ``Blazar?``, ``CV?``) with their class; False leaves
        those objects out.
    mapping : LabelMap, optional
        Type folding (default: the packaged map, see the module docstring).
    galaxies : DataFrame, optional
        A galaxy catalogue to carry along (e.g. :func:`lcrnn.data.real.read_gwgc`).
    on_invalid : {"drop", "raise"}
        What validation does with bad rows (see :func:`lcrnn.data.tables.validate_survey`).

    Returns
    -------
    Survey
        Photometry in band ``"C"`` (CRTS unfiltered; every exposure kept, ~4 per night), objects with
        ``label``; objects whose type folds into no class are left out, with a warning naming them.
    """
    catalog = mantra_catalog(directory)
    catalog["label"] = fold_types(catalog["type"], mapping, include_uncertain, "MANTRA")
    objects = catalog.loc[catalog["label"].notna(), ["object_id", "ra", "dec", "label"]]
    curves = pd.read_parquet(data_file(directory, "lightcurves.parquet", "MANTRA", _EXAMPLE))
    photometry = pd.DataFrame({
        "object_id": curves["ID"].astype("str"),
        "mjd": curves["MJD"].astype("float64"),
        "mag": curves["Mag"].astype("float32"),
        "mag_err": curves["Magerr"].astype("float32"),
        "band": CRTS_BAND,
    })
    photometry = photometry[photometry["object_id"].isin(objects["object_id"])]
    photometry = photometry.sort_values(["object_id", "mjd"], kind="stable").reset_index(drop=True)
    return finish_survey(photometry, objects.reset_index(drop=True), galaxies, on_invalid, mapping)
