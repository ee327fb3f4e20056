"""The three survey tables: their schema, column aliases, dtype coercion and validation.

Everything that enters lcrnn passes through here, so that the rest of the package can trust its input:
photometry (one row per observation), objects (one row per source, optionally labelled) and a galaxy
catalogue (for the host-galaxy context). Bad rows either stop the run with an error that names them
(``on_invalid="raise"``, the default) or are dropped and counted in a :class:`DropReport`
(``on_invalid="drop"``), never silently.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lcrnn.errors import InvalidLightCurveError, InvalidTableError, LcrnnWarning

__all__ = [
    "COLUMN_ALIASES",
    "DEFAULT_BAND",
    "SCHEMAS",
    "DropReport",
    "OnInvalid",
    "Survey",
    "TableKind",
    "resolve_columns",
    "standardize_table",
    "validate_galaxies",
    "validate_objects",
    "validate_photometry",
    "validate_survey",
]

TableKind = Literal["photometry", "objects", "galaxies"]
OnInvalid = Literal["raise", "drop"]

DEFAULT_BAND = "L"  # GOTO observes in one wide L band (paper section 2)

# Required and optional columns of each table, with the dtype each is coerced to.
SCHEMAS: dict[str, dict[str, str]] = {
    "photometry": {
        "object_id": "str",
        "mjd": "float64",
        "mag": "float32",
        "mag_err": "float32",
        "band": "str",
    },
    "objects": {"object_id": "str", "ra": "float64", "dec": "float64", "label": "str"},
    "galaxies": {"ra": "float64", "dec": "float64"},
}
_OPTIONAL = {"photometry": ("band",), "objects": ("label",), "galaxies": ()}
# Only the galaxy catalogue keeps columns outside its schema (a name, a distance...).
_KEEPS_EXTRA = {"photometry": False, "objects": False, "galaxies": True}

# Other names the same column goes by in common catalogues; matched case-insensitively.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "object_id": ("id", "name", "objectid", "object", "obj_id", "source_id"),
    "mjd": ("time", "mjd_obs", "date_mjd"),
    "mag": ("magnitude",),
    "mag_err": ("magerr", "sigma_mag", "e_mag", "mag_error", "err_mag", "dmag"),
    "band": ("filter", "passband"),
    "ra": ("ra_deg", "raj2000", "ra_icrs", "radeg"),
    "dec": ("dec_deg", "dej2000", "decj2000", "dec_icrs", "decdeg"),
    "label": ("class", "labels", "classification"),
}

_N_NAMED = 5  # how many offending ids an error message names

# Reason keys of DropReport.counts ("<table>.<reason>") and the phrase each stands for in messages.
_REASONS: dict[str, str] = {
    "missing_object_id": "with no object_id",
    "nonfinite_mjd": "with mjd missing, infinite or not a number",
    "nonfinite_mag": "with mag missing, infinite or not a number",
    "nonfinite_mag_err": "with mag_err missing, infinite or not a number",
    "nonpositive_mag_err": "with mag_err <= 0",
    "missing_band": "with no band",
    "duplicate_observation": "repeating an (object_id, mjd) pair already seen",
    "unknown_object": "of objects missing from the objects table",
    "dropped_object": "of objects dropped from the objects table",
    "nonfinite_ra": "with ra missing, infinite or not a number",
    "nonfinite_dec": "with dec missing, infinite or not a number",
    "ra_out_of_range": "with ra outside [0, 360) degrees",
    "dec_out_of_range": "with dec outside [-90, 90] degrees",
    "unknown_label": "with a label outside the allowed classes",
    "duplicate_object_id": "repeating an object_id already seen",
    "no_photometry": "with no photometry",
}
_UNITS = {
    "photometry": ("photometry row", "photometry rows"),
    "objects": ("object", "objects"),
    "galaxies": ("galaxy", "galaxies"),
}


@dataclass(frozen=True)
class DropReport:
    """What lenient validation (``on_invalid="drop"``) removed, counted per reason.

    Parameters
    ----------
    counts : dict of str to int
        Keys are ``"<table>.<reason>"`` (e.g. ``"photometry.nonpositive_mag_err"``); each dropped row is
        counted once, under the first check it failed. Reasons with nothing dropped are absent.
    """

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Number of rows dropped over all tables (photometry rows, objects and galaxies together)."""
        return int(sum(self.counts.values()))

    def by_table(self) -> dict[str, int]:
        """Rows dropped per table, e.g. ``{"photometry": 12, "objects": 2}``."""
        out: dict[str, int] = {}
        for key, n in self.counts.items():
            table = key.split(".", 1)[0]
            out[table] = out.get(table, 0) + n
        return out

    def merged(self, other: DropReport) -> DropReport:
        """A new report holding the counts of both."""
        counts = dict(self.counts)
        for key, n in other.counts.items():
            counts[key] = counts.get(key, 0) + n
        return DropReport(counts)

    def summary(self) -> str:
        """One human-readable sentence, e.g. ``"dropped 3 photometry rows (2 with mag_err <= 0, ...)"``."""
        if not self.counts:
            return "nothing dropped"
        parts = []
        for table, n_table in self.by_table().items():
            unit = _UNITS.get(table, ("row", "rows"))[n_table != 1]
            reasons = ", ".join(
                f"{n} {_REASONS.get(key.split('.', 1)[1], key.split('.', 1)[1])}"
                for key, n in self.counts.items()
                if key.split(".", 1)[0] == table
            )
            parts.append(f"{n_table} {unit} ({reasons})")
        return "dropped " + "; ".join(parts)


@dataclass(frozen=True)
class Survey:
    """The three validated tables of a survey; build it with :func:`validate_survey` or ``read_survey``.

    Parameters
    ----------
    photometry : DataFrame
        ``object_id, mjd, mag, mag_err, band``; every row belongs to an object in ``objects``.
    objects : DataFrame
        ``object_id, ra, dec`` and optionally ``label`` (missing label = unlabelled); ids are unique and
        every object has photometry.
    galaxies : DataFrame or None
        ``ra, dec`` and any extra columns of the catalogue; None when no catalogue is used.
    """

    photometry: pd.DataFrame
    objects: pd.DataFrame
    galaxies: pd.DataFrame | None = None

    @property
    def n_objects(self) -> int:
        """Number of objects (light curves)."""
        return len(self.objects)

    @property
    def has_labels(self) -> bool:
        """Whether the objects table carries a ``label`` column with at least one label."""
        return "label" in self.objects.columns and bool(self.objects["label"].notna().any())

    def class_counts(self) -> pd.Series:
        """Number of labelled objects per class, indexed by label (sorted by name); unlabelled ones left out.

        Raises
        ------
        InvalidTableError
            If the objects carry no labels at all.
        """
        if not self.has_labels:
            raise InvalidTableError(
                "the objects table has no labels; add a 'label' column to count classes or to train."
            )
        counts = self.objects["label"].value_counts(dropna=True).sort_index()
        counts.name = "count"
        counts.index.name = "label"
        return counts


# ----------------------------------------------------------------------------------------------------------
# Columns and dtypes


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
    lowered: dict[str, list[str]] = {}
    for name in found:
        lowered.setdefault(name.lower(), []).append(name)
    mapping: dict[str, str] = {}
    for target in SCHEMAS[kind]:
        if target in found:
            mapping[target] = target
            continue
        for candidate in (target, *COLUMN_ALIASES.get(target, ())):
            if candidate in lowered:
                mapping[lowered[candidate][0]] = target
                break
        else:
            if target not in _OPTIONAL[kind]:
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


# ----------------------------------------------------------------------------------------------------------
# Row checks


@dataclass
class _Checker:
    """Runs checks in order; each row is blamed on the first check it fails, in both modes."""

    table: str
    frame: pd.DataFrame
    bad: np.ndarray = field(init=False)
    found: list[tuple[str, np.ndarray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bad = np.zeros(len(self.frame), dtype=bool)

    def check(self, reason: str, mask: Any) -> None:
        new = np.asarray(mask, dtype=bool) & ~self.bad
        if new.any():
            self.found.append((reason, new))
            self.bad |= new

    def where(self, mask: np.ndarray) -> str:
        """Name the first few offending rows, by object id where the table has one."""
        if "object_id" in self.frame.columns:
            ids = self.frame["object_id"].to_numpy()[mask]
            ids = pd.unique(ids[pd.notna(ids)])
            if len(ids):
                names = ", ".join(repr(str(i)) for i in ids[:_N_NAMED])
                more = f" and {len(ids) - _N_NAMED} more" if len(ids) > _N_NAMED else ""
                return f"objects {names}{more}"
        rows = np.flatnonzero(mask)
        names = ", ".join(str(r) for r in rows[:_N_NAMED])
        more = f" and {len(rows) - _N_NAMED} more" if len(rows) > _N_NAMED else ""
        return f"rows {names}{more}"

    def report(self) -> DropReport:
        return DropReport({f"{self.table}.{reason}": int(mask.sum()) for reason, mask in self.found})

    def message(self, extra: str = "") -> str:
        units = _UNITS[self.table]
        parts = []
        for reason, mask in self.found:
            n = int(mask.sum())
            detail = extra if reason == "unknown_label" else ""
            parts.append(f"{n} {units[n != 1]} {_REASONS[reason]}{detail} ({self.where(mask)})")
        problems = "; ".join(parts)
        return (
            f'the {self.table} table is invalid: {problems}. Fix these rows, or pass on_invalid="drop" '
            "to drop them (each is counted in the returned DropReport and a warning)."
        )

    def finish(self, on_invalid: str, error: type[InvalidTableError], extra: str = "") -> pd.DataFrame:
        if self.found and on_invalid == "raise":
            raise error(self.message(extra))
        if not self.found:
            return self.frame
        return self.frame.loc[~self.bad].reset_index(drop=True)


def _check_on_invalid(on_invalid: str) -> None:
    if on_invalid not in ("raise", "drop"):
        raise ValueError(f"on_invalid must be 'raise' or 'drop', not {on_invalid!r}.")


def _missing_str(values: pd.Series) -> np.ndarray:
    return (values.isna() | (values.str.strip() == "")).to_numpy(dtype=bool, na_value=True)


def _not_finite(values: pd.Series) -> np.ndarray:
    return ~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))


def _isin(values: pd.Series, reference: pd.Series) -> np.ndarray:
    """``values.isin(reference)`` through Arrow: pandas' own is a Python loop over ``str`` columns."""
    found = pc.is_in(
        pa.array(values, from_pandas=True, type=pa.large_string()),
        value_set=pa.array(reference, from_pandas=True, type=pa.large_string()),
        skip_nulls=True,
    )
    return found.fill_null(False).to_numpy(zero_copy_only=False)


def _check_sky(checker: _Checker) -> None:
    ra, dec = checker.frame["ra"].to_numpy(), checker.frame["dec"].to_numpy()
    checker.check("nonfinite_ra", ~np.isfinite(ra))
    checker.check("nonfinite_dec", ~np.isfinite(dec))
    with np.errstate(invalid="ignore"):
        checker.check("ra_out_of_range", (ra < 0) | (ra >= 360))
        checker.check("dec_out_of_range", (dec < -90) | (dec > 90))


def _warn(report: DropReport, stacklevel: int) -> None:
    if report.total:
        warnings.warn(report.summary(), LcrnnWarning, stacklevel=stacklevel + 1)


def _photometry(photometry: Any, on_invalid: str) -> tuple[pd.DataFrame, DropReport]:
    frame = standardize_table(photometry, "photometry")
    checker = _Checker("photometry", frame)
    checker.check("missing_object_id", _missing_str(frame["object_id"]))
    for column in ("mjd", "mag", "mag_err"):
        checker.check(f"nonfinite_{column}", _not_finite(frame[column]))
    with np.errstate(invalid="ignore"):
        checker.check("nonpositive_mag_err", frame["mag_err"].to_numpy() <= 0)
    checker.check("missing_band", _missing_str(frame["band"]))
    # Only rows that passed so far compete for (object_id, mjd): the first good copy is the one kept.
    good = ~checker.bad
    duplicated = np.zeros(len(frame), dtype=bool)
    duplicated[good] = frame.loc[good].duplicated(["object_id", "mjd"], keep="first").to_numpy()
    checker.check("duplicate_observation", duplicated)
    return checker.finish(on_invalid, InvalidLightCurveError), checker.report()


def _objects(
    objects: Any, on_invalid: str, classes: tuple[str, ...] | None
) -> tuple[pd.DataFrame, DropReport]:
    frame = standardize_table(objects, "objects")
    checker = _Checker("objects", frame)
    checker.check("missing_object_id", _missing_str(frame["object_id"]))
    _check_sky(checker)
    extra = ""
    if "label" in frame.columns:
        labels = frame["label"]
        present = labels.notna().to_numpy()  # a missing label means unlabelled, which is allowed
        if classes is None:
            unknown = present & (labels.str.strip() == "").to_numpy(dtype=bool, na_value=False)
            extra = " (an empty string; leave the label missing for an unlabelled object)"
        else:
            unknown = present & ~_isin(labels, pd.Series(classes, dtype="str"))
            extra = f" ({', '.join(classes)})"
        checker.check("unknown_label", unknown)
    good = ~checker.bad
    duplicated = np.zeros(len(frame), dtype=bool)
    duplicated[good] = frame.loc[good, "object_id"].duplicated(keep="first").to_numpy()
    checker.check("duplicate_object_id", duplicated)
    return checker.finish(on_invalid, InvalidTableError, extra), checker.report()


def _galaxies(galaxies: Any, on_invalid: str) -> tuple[pd.DataFrame, DropReport]:
    frame = standardize_table(galaxies, "galaxies")
    checker = _Checker("galaxies", frame)
    _check_sky(checker)
    return checker.finish(on_invalid, InvalidTableError), checker.report()


def _classes(classes: Any) -> tuple[str, ...] | None:
    if classes is None:
        return None
    if isinstance(classes, str):
        raise TypeError(f"classes must be a sequence of labels such as ('VS', 'SN', 'AGN'), not {classes!r}.")
    out = tuple(str(c) for c in classes)
    if not out:
        raise ValueError("classes must name at least one label, or be None to allow any non-empty label.")
    return out


def validate_photometry(photometry: Any, on_invalid: OnInvalid = "raise") -> tuple[pd.DataFrame, DropReport]:
    """Standardize the photometry table and check every row.

    Rows fail when the ``object_id`` or ``band`` is missing, ``mjd``/``mag``/``mag_err`` is missing or not
    finite, ``mag_err <= 0``, or the ``(object_id, mjd)`` pair repeats an earlier row.

    Parameters
    ----------
    photometry : DataFrame, dict of columns or astropy Table
        Columns ``object_id, mjd, mag, mag_err`` and optionally ``band`` (aliases accepted, see
        :data:`COLUMN_ALIASES`).
    on_invalid : {"raise", "drop"}
        ``"raise"``: raise on any bad row. ``"drop"``: drop bad rows (the first of repeated pairs is kept),
        count them in the report and warn with :class:`~lcrnn.errors.LcrnnWarning`.

    Returns
    -------
    photometry : DataFrame
        The standardized, valid rows in their input order, with a fresh RangeIndex.
    report : DropReport
        What was dropped (empty in raise mode).

    Raises
    ------
    InvalidLightCurveError
        In raise mode, naming the count and the first few object ids per problem.
        Also on a missing column, in either mode.
    """
    _check_on_invalid(on_invalid)
    frame, report = _photometry(photometry, on_invalid)
    _warn(report, stacklevel=2)
    return frame, report


def validate_objects(
    objects: Any, on_invalid: OnInvalid = "raise", classes: Any = None
) -> tuple[pd.DataFrame, DropReport]:
    """Standardize the objects table and check every row.

    Rows fail when the ``object_id`` is missing, ``ra``/``dec`` are not finite or outside
    ``[0, 360)`` / ``[-90, 90]`` degrees, the label is not allowed, or the id repeats an earlier row.

    Parameters
    ----------
    objects : DataFrame, dict of columns or astropy Table
        Columns ``object_id, ra, dec`` (degrees, ICRS) and optionally ``label``.
    on_invalid : {"raise", "drop"}
        As in :func:`validate_photometry`; of repeated ids the first row is kept.
    classes : sequence of str, optional
        Allowed labels, e.g. ``("VS", "SN", "AGN")``. None allows any non-empty string. A missing label
        always means "unlabelled" and is kept.

    Returns
    -------
    objects : DataFrame
        The standardized, valid rows.
    report : DropReport
        What was dropped.

    Raises
    ------
    InvalidTableError
        In raise mode on any bad row, or in either mode on a missing column.
    """
    _check_on_invalid(on_invalid)
    frame, report = _objects(objects, on_invalid, _classes(classes))
    _warn(report, stacklevel=2)
    return frame, report


def validate_galaxies(galaxies: Any, on_invalid: OnInvalid = "raise") -> tuple[pd.DataFrame, DropReport]:
    """Standardize a galaxy catalogue and check its coordinates; extra columns are kept as they are.

    Parameters
    ----------
    galaxies : DataFrame, dict of columns or astropy Table
        Columns ``ra, dec`` (degrees, ICRS) plus anything else (a name, a distance...).
    on_invalid : {"raise", "drop"}
        As in :func:`validate_photometry`.

    Returns
    -------
    galaxies : DataFrame
        The galaxies with finite, in-range coordinates.
    report : DropReport
        What was dropped.

    Raises
    ------
    InvalidTableError
        In raise mode on any bad row (named by row position), or on a missing column.
    """
    _check_on_invalid(on_invalid)
    frame, report = _galaxies(galaxies, on_invalid)
    _warn(report, stacklevel=2)
    return frame, report


def validate_survey(
    photometry: Any,
    objects: Any,
    galaxies: Any = None,
    on_invalid: OnInvalid = "raise",
    classes: Any = None,
) -> tuple[Survey, DropReport]:
    """Validate the three tables and their consistency: every observation has an object and vice versa.

    Parameters
    ----------
    photometry, objects, galaxies : DataFrame, dict of columns or astropy Table
        As in :func:`validate_photometry`, :func:`validate_objects`, :func:`validate_galaxies`;
        ``galaxies`` may be None.
    on_invalid : {"raise", "drop"}
        ``"raise"``: raise on the first table with a problem. ``"drop"``: also drop the photometry of
        dropped or unknown objects and the objects left without photometry, then warn once with the
        summary of everything dropped.
    classes : sequence of str, optional
        Allowed labels (see :func:`validate_objects`).

    Returns
    -------
    survey : Survey
        The validated tables.
    report : DropReport
        Counts per ``"<table>.<reason>"`` of everything dropped.

    Raises
    ------
    InvalidLightCurveError
        Bad photometry rows, in raise mode.
    InvalidTableError
        Bad objects or galaxies, photometry of objects missing from the objects table, objects without
        photometry (raise mode), a missing column, or no object left at all (either mode).
    """
    _check_on_invalid(on_invalid)
    allowed = _classes(classes)
    phot, report = _photometry(photometry, on_invalid)
    objs_in = standardize_table(objects, "objects")
    objs, objects_report = _objects(objs_in, on_invalid, allowed)
    report = report.merged(objects_report)
    gals = None
    if galaxies is not None:
        gals, galaxies_report = _galaxies(galaxies, on_invalid)
        report = report.merged(galaxies_report)

    # Photometry must belong to a kept object; tell apart ids never listed from ids of dropped objects.
    phot_checker = _Checker("photometry", phot)
    kept = _isin(phot["object_id"], objs["object_id"])
    listed = _isin(phot["object_id"], objs_in["object_id"])
    phot_checker.check("dropped_object", ~kept & listed)
    phot_checker.check("unknown_object", ~listed)
    if phot_checker.found and on_invalid == "raise":
        raise InvalidTableError(
            phot_checker.message().replace(
                "Fix these rows,", "Add these objects to the objects table or remove their photometry,"
            )
        )
    phot = phot_checker.finish(on_invalid, InvalidTableError)
    report = report.merged(phot_checker.report())

    obj_checker = _Checker("objects", objs)
    obj_checker.check("no_photometry", ~_isin(objs["object_id"], phot["object_id"]))
    if obj_checker.found and on_invalid == "raise":
        raise InvalidTableError(
            obj_checker.message().replace("Fix these rows,", "Add their photometry or remove these objects,")
        )
    objs = obj_checker.finish(on_invalid, InvalidTableError)
    report = report.merged(obj_checker.report())

    if len(objs) == 0:
        raise InvalidTableError(
            f"no object is left to work with ({report.summary()}); check that the photometry and objects "
            "tables use the same object ids."
        )
    _warn(report, stacklevel=2)
    return Survey(phot, objs, gals), report
