"""The columns of lcrnn's tables: which each needs, the dtype of each, and the names they go by elsewhere.

:data:`COLUMN_ALIASES` is the one table of other names a column goes by in common catalogues and files;
:func:`find_column` is the one lookup through it, used by :func:`resolve_columns` for the three survey tables
and by the catalogue reader of :mod:`lcrnn.data.crossmatch`. :func:`standardize_table` renames, fills in and
coerces a table; it drops no rows (that is :mod:`lcrnn.data.tables`' job).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from lcrnn.errors import InvalidLightCurveError, InvalidTableError

__all__ = [
    "COLUMN_ALIASES",
    "DEFAULT_BAND",
    "SCHEMAS",
    "CONTEXT_COLUMNS",
    "TableKind",
    "find_column",
    "resolve_columns",
    "standardize_table",
]

TableKind = Literal["photometry", "objects", "galaxies"]

DEFAULT_BAND = "L"  # GOTO observes in one wide L band (paper section 2)

# The context of an object (paper section 2.2): galactic l and b, and the distance to the nearest catalogued
# galaxy (a dummy value beyond the limit); computed by lcrnn.data.context, or carried by the objects table.
CONTEXT_COLUMNS: tuple[str, ...] = ("gal_l", "gal_b", "galaxy_dist_arcsec")

# Required and optional columns of each table, with the dtype each is coerced to.
SCHEMAS: dict[str, dict[str, str]] = {
    "photometry": {
        "object_id": "str",
        "mjd": "float64",
        "mag": "float32",
        "mag_err": "float32",
        "band": "str",
    },
    # The context columns are optional: objects may carry their context, computed beforehand (all three or none).
    "objects": {"object_id": "str", "ra": "float64", "dec": "float64", "label": "str",
                **dict.fromkeys(CONTEXT_COLUMNS, "float32")},
    "galaxies": {"ra": "float64", "dec": "float64"},
}
_OPTIONAL = {"photometry": ("band",), "objects": ("label", *CONTEXT_COLUMNS), "galaxies": ()}
# Only the galaxy catalogue keeps columns outside its schema (a name, a distance...).
_KEEPS_EXTRA = {"photometry": False, "objects": False, "galaxies": True}

# Other names the same column goes by in common catalogues and files (CRTS, MANTRA, VizieR, SIMBAD, ALeRCE,
# the OSC); matched case-insensitively, tried in this order after the column's own name.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "object_id": ("id", "name", "objectid", "object", "obj_id", "source_id",
                  "#crts id", "crts_id", "main_id", "oid", "designation", "transientid"),
    "mjd": ("time", "mjd_obs", "date_mjd"),
    "mag": ("magnitude",),
    "mag_err": ("magerr", "sigma_mag", "e_mag", "mag_error", "err_mag", "dmag"),
    "band": ("filter", "passband"),
    "ra": ("ra_deg", "raj2000", "ra_icrs", "radeg", "_raj2000", "ra (j2000)", "ra_j2000", "alpha"),
    "dec": ("dec_deg", "dej2000", "decj2000", "dec_icrs", "decdeg", "_dej2000", "dec (j2000)", "dec_j2000",
            "delta", "de"),
    "label": ("class", "labels", "classification"),
    # The object type a catalogue of known sources gives (folded into a label by lcrnn.data.label_map).
    "type": ("vartype", "var_type", "claimedtype", "obj_type", "objtype", "otype", "classification", "class",
             "mantra_label", "sp", "cl", "label"),
}


def find_column(columns: Iterable[Any], target: str) -> str | None:
    """The column holding ``target``: that exact name, else the first of its :data:`COLUMN_ALIASES` found.

    Aliases match in any case and with surrounding spaces ignored; of two columns that match the same
    alias the first wins. None when nothing matches.
    """
    found = [str(c) for c in columns]
    if target in found:
        return target
    lowered: dict[str, str] = {}
    for name in found:
        lowered.setdefault(name.lower().strip(), name)
    for candidate in (target, *COLUMN_ALIASES.get(target, ())):
        if candidate in lowered:
            return lowered[candidate]
    return None


def _as_frame(table: Any, kind: str) -> pd.DataFrame:
    """Accept a DataFrame, a mapping of columns or anything with ``to_pandas`` (an astropy Table)."""
    if isinstance(table, pd.DataFrame):
        return table
    if isinstance(table, Mapping):
        return pd.DataFrame(dict(table))
    if hasattr(table, "to_pandas"):
        return table.to_pandas()
    raise InvalidTableError(
        f"the {kind} table must be a pandas DataFrame, a dict of columns or an astropy Table, "
        f"not {type(table).__name__}."
    )


def _check_kind(kind: str) -> None:
    if kind not in SCHEMAS:
        raise ValueError(f"unknown table kind {kind!r}; use one of {', '.join(SCHEMAS)}.")


def resolve_columns(columns: Any, kind: TableKind) -> dict[str, str]:
    """Map the columns of a table onto our schema, accepting the known aliases in any case.

    Parameters
    ----------
    columns : iterable
        Column names as found in the file or frame.
    kind : {"photometry", "objects", "galaxies"}
        Which table they belong to.

    Returns
    -------
    dict of str to str
        ``{found_name: schema_name}`` for every schema column found. An exact (case-sensitive) schema
        name wins over an alias; among aliases the order of :data:`COLUMN_ALIASES` decides.

    Raises
    ------
    InvalidTableError
        If a required column is missing (InvalidLightCurveError for photometry); the message lists the
        aliases accepted for it.
    """
    _check_kind(kind)
    found = [str(c) for c in columns]
    mapping: dict[str, str] = {}
    for target in SCHEMAS[kind]:
        name = find_column(found, target)
        if name is not None:
            mapping[name] = target
        elif target not in _OPTIONAL[kind]:
            aliases = ", ".join(COLUMN_ALIASES.get(target, ())) or "none"
            error = InvalidLightCurveError if kind == "photometry" else InvalidTableError
            raise error(
                f"the {kind} table has no {target!r} column (aliases accepted, in any case: {aliases}); "
                f"columns found: {', '.join(found) or 'none'}. Rename a column to {target!r}."
            )
    return mapping


def _to_str(values: pd.Series) -> pd.Series:
    """Strings with missing values kept missing; integral floats (ids read next to NaN) lose their '.0'."""
    if pd.api.types.is_float_dtype(values.dtype):
        finite = values.dropna()
        if len(finite) and np.all(np.isfinite(finite)) and np.all(np.mod(finite, 1) == 0):
            values = values.astype("Int64")
    return values.astype("str")


def _to_float(values: pd.Series, dtype: str) -> pd.Series:
    """Numbers in the given dtype; anything unparseable becomes NaN, which validation then reports."""
    numeric = pd.to_numeric(values, errors="coerce")
    with np.errstate(over="ignore"):  # a float64 beyond float32 becomes inf and is reported as such
        return numeric.astype(dtype)


def standardize_table(table: Any, kind: TableKind) -> pd.DataFrame:
    """Rename aliased columns to the schema, add defaults and coerce dtypes; drops no rows.

    Parameters
    ----------
    table : DataFrame, dict of columns or astropy Table
        The table as the user has it; it is not modified.
    kind : {"photometry", "objects", "galaxies"}
        Which table it is.

    Returns
    -------
    DataFrame
        A new frame with the schema columns first in schema order (``band`` filled with ``"L"`` when
        absent), ``object_id``/``band``/``label`` as ``str`` (missing values stay missing), numbers as in
        :data:`SCHEMAS` (unparseable ones become NaN). Galaxies keep their extra columns after ``ra, dec``;
        photometry and objects keep only their schema columns. The index is a fresh RangeIndex.
    """
    frame = _as_frame(table, kind)
    mapping = resolve_columns(frame.columns, kind)
    source = {target: name for name, target in mapping.items()}
    out: dict[str, pd.Series] = {}
    for target, dtype in SCHEMAS[kind].items():
        if target not in source:
            if target == "band":
                out["band"] = pd.Series(DEFAULT_BAND, index=frame.index, dtype="str")
            continue
        column = frame[source[target]]
        out[target] = _to_str(column) if dtype == "str" else _to_float(column, dtype)
    result = pd.DataFrame(out, index=frame.index)
    if _KEEPS_EXTRA[kind]:
        used = set(mapping)
        extra = [c for c in frame.columns if str(c) not in used and str(c) not in result.columns]
        result = pd.concat([result, frame[extra]], axis=1)
    return result.reset_index(drop=True)
