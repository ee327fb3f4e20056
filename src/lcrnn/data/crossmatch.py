"""Labels by cross-match: objects matched to catalogues of known sources (paper section 2.2).

The paper labelled GOTO objects by matching their positions to catalogues of known sources and folding the
catalogue types into super-classes. :func:`read_catalog` reads any table with a position and a type (its
columns found through :data:`lcrnn.data.schema.COLUMN_ALIASES`); :func:`cross_match_labels` matches objects
to any number of catalogues with astropy, folds the types with a :class:`~lcrnn.data.label_map.LabelMap`
and reports objects whose catalogues disagree instead of guessing their class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lcrnn.data.io import READABLE_FORMATS, read_table
from lcrnn.data.label_map import LabelMap, load_label_map
from lcrnn.data.schema import COLUMN_ALIASES, find_column
from lcrnn.errors import InvalidTableError

__all__ = [
    "CATALOG_ALIASES",
    "Catalog",
    "CrossMatchResult",
    "cross_match_labels",
    "read_catalog",
    "read_table_file",
]

# The schema column each catalogue role is found as (its ``name`` is a source name, like an object id).
_ROLES = {"ra": "ra", "dec": "dec", "type": "type", "name": "object_id"}
#: Column names tried for each catalogue role, in order and in any case: :data:`COLUMN_ALIASES` seen by role.
CATALOG_ALIASES: dict[str, tuple[str, ...]] = {
    role: (target, *COLUMN_ALIASES[target]) for role, target in _ROLES.items()
}
# (catalog, source, type, class, separation in arcsec) of one accepted match
_Match = tuple[str, str, str, str, float]


def read_table_file(path: str | Path) -> pd.DataFrame:
    """Read a catalogue file: Parquet, CSV, TSV or, through astropy, FITS, VOTable or ECSV.

    Parameters
    ----------
    path : str or Path
        The format is told by the suffix (:func:`lcrnn.data.formats.file_format`).

    Returns
    -------
    DataFrame

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    InvalidTableError
        For a suffix of none of these formats, or a file that cannot be read.
    """
    return read_table(path, formats=READABLE_FORMATS)


def _find_column(columns: Sequence[str], role: str, given: str | None, source: str) -> str:
    if given is not None:
        if given not in columns:
            raise InvalidTableError(
                f"{source} has no column {given!r}; columns found: {', '.join(columns)}."
            )
        return given
    found = find_column(columns, _ROLES[role])
    if found is not None:
        return found
    raise InvalidTableError(
        f"{source} has no {role} column (looked for, in any case: {', '.join(CATALOG_ALIASES[role])}); "
        f"columns found: {', '.join(columns)}. Name it with the {role}_column argument (--{role}-column)."
    )


def _degrees(ra: pd.Series, dec: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in degrees; sexagesimal strings ('16:16:34.06', '-00:35:27.4') are parsed by astropy."""
    ra_num = pd.to_numeric(ra, errors="coerce")
    dec_num = pd.to_numeric(dec, errors="coerce")
    if ra_num.notna().sum() >= ra.notna().sum() and dec_num.notna().sum() >= dec.notna().sum():
        return ra_num.to_numpy(np.float64), dec_num.to_numpy(np.float64)
    import astropy.units as u
    from astropy.coordinates import Angle

    def parse(values: pd.Series, unit: Any) -> np.ndarray:
        out = np.full(len(values), np.nan)
        for i, v in enumerate(values):
            try:
                out[i] = Angle(v, unit=unit).deg
            except (ValueError, TypeError):
                pass
        return out

    return parse(ra, u.hourangle), parse(dec, u.deg)


@dataclass(frozen=True)
class Catalog:
    """A catalogue of known sources: ``name, ra, dec, type`` (degrees), plus a short name for reports.

    Parameters
    ----------
    name : str
        How reports name the catalogue (the file stem by default).
    table : DataFrame
        Columns ``source, ra, dec, type`` with finite coordinates.
    """

    name: str
    table: pd.DataFrame


def read_catalog(
    source: str | Path | pd.DataFrame,
    name: str | None = None,
    ra_column: str | None = None,
    dec_column: str | None = None,
    type_column: str | None = None,
    name_column: str | None = None,
) -> Catalog:
    """Read a catalogue of known sources: any table with RA, Dec (degrees or sexagesimal) and a type.

    Parameters
    ----------
    source : str, Path or DataFrame
        A table file (see :func:`read_table_file`) or a frame.
    name : str, optional
        Name used in reports; defaults to the file stem (``"catalog"`` for a frame).
    ra_column, dec_column, type_column, name_column : str, optional
        Column names; found automatically from :data:`CATALOG_ALIASES` when omitted (numeric columns
        such as ``ra_deg`` win over sexagesimal ``ra`` strings). Without a name column the row number is used.

    Returns
    -------
    Catalog

    Raises
    ------
    InvalidTableError
        If a column cannot be found, or no row has usable coordinates.
    """
    if isinstance(source, pd.DataFrame):
        frame, label = source, name or "catalog"
    else:
        frame, label = read_table_file(source), name or Path(source).name.split(".")[0]
    where = f"catalogue {label!r}"
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    if ra_column is None and dec_column is None:
        # Prefer a numeric pair in degrees when the catalogue carries both forms (OSC: ra and ra_deg).
        numeric = [c for c in columns if pd.api.types.is_numeric_dtype(frame[c])]
        try:
            ra_column = _find_column(numeric, "ra", None, where)
            dec_column = _find_column(numeric, "dec", None, where)
        except InvalidTableError:
            ra_column = dec_column = None
    ra_col = _find_column(columns, "ra", ra_column, where)
    dec_col = _find_column(columns, "dec", dec_column, where)
    type_col = _find_column(columns, "type", type_column, where)
    try:
        name_col: str | None = _find_column(columns, "name", name_column, where)
    except InvalidTableError:
        if name_column is not None:
            raise
        name_col = None
    ra, dec = _degrees(frame[ra_col], frame[dec_col])
    table = pd.DataFrame({
        "source": frame[name_col].astype("str") if name_col else pd.Series(np.arange(len(frame))).astype("str"),
        "ra": ra,
        "dec": dec,
        "type": frame[type_col].astype("str"),
    })
    table = table[np.isfinite(table["ra"]) & np.isfinite(table["dec"])].reset_index(drop=True)
    if table.empty:
        raise InvalidTableError(
            f"{where} has no row with finite coordinates in columns {ra_col!r}, {dec_col!r}; "
            "name the right ones with ra_column/dec_column."
        )
    return Catalog(label, table)


# ----------------------------------------------------------------------------------------------------------
# Cross-match


@dataclass(frozen=True)
class CrossMatchResult:
    """Labels found by cross-match, and the objects left unlabelled because their catalogues disagree.

    Parameters
    ----------
    labels : DataFrame
        One row per input object, in input order: ``object_id``, ``label`` (missing when unmatched,
        unmapped or conflicting), ``n_matches`` (catalogues whose nearest source lies within the radius),
        ``matched`` (``"catalog:type@sep"`` entries joined by ``"; "``), ``separation_arcsec`` (to the
        nearest match whose type folded into a class, NaN when none).
    conflicts : DataFrame
        One row per (object, catalogue) match of each conflicting object: ``object_id, catalog, source,
        type, class, separation_arcsec``.
    """

    labels: pd.DataFrame
    conflicts: pd.DataFrame

    @property
    def n_conflicts(self) -> int:
        """Number of objects left unlabelled because two catalogues name different classes."""
        return int(self.conflicts["object_id"].nunique()) if len(self.conflicts) else 0

    def class_counts(self) -> dict[str, int]:
        """Labelled objects per class."""
        return {str(k): int(v) for k, v in self.labels["label"].value_counts().sort_index().items()}


def cross_match_labels(
    objects: pd.DataFrame,
    catalogs: Sequence[Catalog | pd.DataFrame],
    radius_arcsec: float = 2.0,
    mapping: LabelMap | None = None,
    include_uncertain: bool = True,
) -> CrossMatchResult:
    """Label objects by their nearest counterpart in catalogues of known sources (paper section 2.2).

    For each catalogue, each object is matched to its nearest source (astropy ``match_coordinates_sky``);
    a match counts when it lies within ``radius_arcsec`` and its type folds into a class. An object whose
    matches all agree takes that class; one whose catalogues name different classes is left unlabelled and
    listed in ``conflicts``, never guessed.

    Parameters
    ----------
    objects : DataFrame
        ``object_id, ra, dec`` in degrees (ICRS).
    catalogs : sequence of Catalog or DataFrame
        Catalogues from :func:`read_catalog` (frames are passed through it with column auto-detection).
    radius_arcsec : float
        Largest separation of a match.
    mapping : LabelMap, optional
        Type folding; the packaged default when omitted.
    include_uncertain : bool
        Whether uncertain types (``"SN?"``, ``"EA:"``) count.

    Returns
    -------
    CrossMatchResult

    Raises
    ------
    InvalidTableError
        If the objects lack ``object_id``, ``ra`` or ``dec``, or the radius is not positive.
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    missing = [c for c in ("object_id", "ra", "dec") if c not in objects.columns]
    if missing:
        raise InvalidTableError(
            f"the objects table has no {', '.join(missing)} column(s); columns found: "
            f"{', '.join(map(str, objects.columns))}. It needs object_id, ra, dec (degrees)."
        )
    if not radius_arcsec > 0:
        raise InvalidTableError(f"the match radius must be positive, not {radius_arcsec!r} arcsec.")
    mapping = mapping or load_label_map()
    cats = [c if isinstance(c, Catalog) else read_catalog(c, name=f"catalog{i}") for i, c in enumerate(catalogs)]
    n = len(objects)
    coords = SkyCoord(objects["ra"].to_numpy(np.float64) * u.deg, objects["dec"].to_numpy(np.float64) * u.deg)
    matches: list[list[_Match]] = [[] for _ in range(n)]
    described: list[list[str]] = [[] for _ in range(n)]
    for cat in cats:
        if n == 0 or cat.table.empty:
            continue
        classes = mapping.map_types(cat.table["type"], include_uncertain=include_uncertain).to_numpy(object)
        _match_catalog(coords, cat, radius_arcsec, classes, matches, described)
    return _decide(objects["object_id"].astype("str").to_numpy(), matches, described)


def _match_catalog(
    coords: Any,
    cat: Catalog,
    radius_arcsec: float,
    classes: np.ndarray,
    matches: list[list[_Match]],
    described: list[list[str]],
) -> None:
    """Match every object to its nearest source of ``cat`` and append what lies within the radius.

    ``classes`` holds the folded class of each catalogue row (None or NA where its type folds into none);
    ``described`` gets every match within the radius, ``matches`` only those whose type has a class.
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord, match_coordinates_sky

    table = cat.table
    cat_coords = SkyCoord(table["ra"].to_numpy() * u.deg, table["dec"].to_numpy() * u.deg)
    index, sep, _ = match_coordinates_sky(coords, cat_coords, nthneighbor=1)
    sep_arcsec = sep.to_value(u.arcsec)
    for i in np.flatnonzero(sep_arcsec <= radius_arcsec):
        j = int(index[i])
        described[i].append(f"{cat.name}:{table['type'].iat[j]}@{sep_arcsec[i]:.2f}\"")
        cls = classes[j]
        if cls is not None and not pd.isna(cls):
            matches[i].append((cat.name, table["source"].iat[j], table["type"].iat[j], str(cls),
                               float(sep_arcsec[i])))


def _decide(ids: np.ndarray, matches: list[list[_Match]], described: list[list[str]]) -> CrossMatchResult:
    """One label per object where its matches agree; the matches of objects whose catalogues disagree."""
    labels: list[str | None] = []
    conflict_rows = []
    for i in range(len(ids)):
        found = {m[3] for m in matches[i]}
        if len(found) == 1:
            labels.append(found.pop())
        else:
            labels.append(None)
            if len(found) > 1:
                conflict_rows += [(ids[i], *m) for m in matches[i]]
    result = pd.DataFrame({
        "object_id": pd.Series(ids, dtype="str"),
        "label": pd.Series(labels, dtype="str"),
        "n_matches": np.array([len(d) for d in described], dtype=np.int64),
        "matched": pd.Series(["; ".join(d) for d in described], dtype="str"),
        "separation_arcsec": np.array([min((m[4] for m in ms), default=np.nan) for ms in matches]),
    })
    conflicts = pd.DataFrame(
        conflict_rows, columns=["object_id", "catalog", "source", "type", "class", "separation_arcsec"]
    )
    return CrossMatchResult(result, conflicts)
