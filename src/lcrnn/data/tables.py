"""The three survey tables: validation of every row, and the :class:`Survey` that holds them.

Everything that enters lcrnn passes through here, so that the rest of the package can trust its input:
photometry (one row per observation), objects (one row per source, optionally labelled) and a galaxy
catalogue (for the host-galaxy context). Bad rows either stop the run with an error that names them
(``on_invalid="raise"``, the default) or are dropped and counted in a :class:`DropReport`
(``on_invalid="drop"``), never silently.

The columns each table needs, their aliases and dtypes live in :mod:`lcrnn.data.schema`, the machinery that
names and counts bad rows in :mod:`lcrnn.data.checks`; their public names are importable from here too.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from lcrnn.data.checks import (
    MAX_ABS_MAG,
    MAX_MAG_ERR,
    DropReport,
    MjdRange,
    RowChecker,
    has_control,
    is_in,
    missing_str,
    not_finite,
)
from lcrnn.data.schema import (
    CONTEXT_COLUMNS,
    COLUMN_ALIASES,
    DEFAULT_BAND,
    SCHEMAS,
    TableKind,
    resolve_columns,
    standardize_table,
)
from lcrnn.errors import InvalidLightCurveError, InvalidTableError, LcrnnWarning

__all__ = [
    "COLUMN_ALIASES",
    "DEFAULT_BAND",
    "SCHEMAS",
    "DropReport",
    "MjdRange",
    "OnInvalid",
    "Survey",
    "TableKind",
    "resolve_columns",
    "standardize_table",
    "validate_galaxies",
    "validate_objects",
    "validate_observations",
    "validate_photometry",
    "validate_survey",
]

OnInvalid = Literal["raise", "drop"]


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
# Row checks


def _check_on_invalid(on_invalid: str) -> None:
    if on_invalid not in ("raise", "drop"):
        raise ValueError(f"on_invalid must be 'raise' or 'drop', not {on_invalid!r}.")


def _check_sky(checker: RowChecker) -> None:
    ra, dec = checker.frame["ra"].to_numpy(), checker.frame["dec"].to_numpy()
    checker.check("nonfinite_ra", ~np.isfinite(ra))
    checker.check("nonfinite_dec", ~np.isfinite(dec))
    with np.errstate(invalid="ignore"):
        checker.check("ra_out_of_range", (ra < 0) | (ra >= 360))
        checker.check("dec_out_of_range", (dec < -90) | (dec > 90))


def _warn(report: DropReport, stacklevel: int) -> None:
    if report.total:
        warnings.warn(report.summary(), LcrnnWarning, stacklevel=stacklevel + 1)


# The column each row check is about, so that a caller can point at the offending field (the service's 422).
_REASON_COLUMN: dict[str, str] = {
    "missing_object_id": "object_id", "duplicate_object_id": "object_id", "nonfinite_mjd": "mjd",
    "duplicate_observation": "mjd", "nonfinite_mag": "mag", "nonfinite_mag_err": "mag_err",
    "nonpositive_mag_err": "mag_err", "large_mag_err": "mag_err",
    "mag_out_of_range": "mag", "missing_band": "band", "mjd_out_of_range": "mjd",
    "control_object_id": "object_id", "control_band": "band", "control_label": "label",
    "nonfinite_ra": "ra", "ra_out_of_range": "ra",
    "nonfinite_dec": "dec", "dec_out_of_range": "dec", "unknown_label": "label",
    "nonfinite_context": "galaxy_dist_arcsec", "context_out_of_range": "gal_l",
}


def _finish(
    checker: RowChecker, on_invalid: str, error: type[InvalidTableError], extra: str = ""
) -> pd.DataFrame:
    """``checker.finish``, whose error also carries ``invalid_rows``: {column: positions of its bad rows}."""
    try:
        return checker.finish(on_invalid, error, extra)
    except InvalidTableError as exc:
        rows: dict[str, list[int]] = {}
        for reason, mask in checker.found:
            rows.setdefault(_REASON_COLUMN.get(reason, reason), []).extend(np.flatnonzero(mask).tolist())
        exc.invalid_rows = {column: sorted(positions) for column, positions in rows.items()}
        raise


def _photometry_rows(photometry: Any, mjd_range: MjdRange | None) -> RowChecker:
    """Standardize photometry and check each row on its own (every rule but the one against repeats)."""
    frame = standardize_table(photometry, "photometry")
    checker = RowChecker("photometry", frame)
    checker.check("missing_object_id", missing_str(frame["object_id"]))
    checker.check("control_object_id", has_control(frame["object_id"]))
    for column in ("mjd", "mag", "mag_err"):
        checker.check(f"nonfinite_{column}", not_finite(frame[column]))
    mjd_range = mjd_range or MjdRange()
    mjd = frame["mjd"].to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        outside = (mjd < mjd_range.low) | (mjd > mjd_range.high)
    checker.details["mjd_out_of_range"] = mjd_range.describe(mjd[outside & ~checker.bad])
    checker.check("mjd_out_of_range", outside)
    with np.errstate(invalid="ignore"):
        checker.check("nonpositive_mag_err", frame["mag_err"].to_numpy() <= 0)
        checker.check("large_mag_err", frame["mag_err"].to_numpy() >= MAX_MAG_ERR)
        checker.check("mag_out_of_range", np.abs(frame["mag"].to_numpy()) >= MAX_ABS_MAG)
    checker.check("missing_band", missing_str(frame["band"]))
    checker.check("control_band", has_control(frame["band"]))
    return checker


def _photometry(
    photometry: Any, on_invalid: str, mjd_range: MjdRange | None = None
) -> tuple[pd.DataFrame, DropReport]:
    checker = _photometry_rows(photometry, mjd_range)
    frame = checker.frame
    # Only rows that passed so far compete for (object_id, band, mjd): the first good copy is the one kept.
    # Observations in different bands at the same time are both kept (choosing a band is the caller's step).
    good = ~checker.bad
    duplicated = np.zeros(len(frame), dtype=bool)
    duplicated[good] = frame.loc[good].duplicated(["object_id", "band", "mjd"], keep="first").to_numpy()
    checker.check("duplicate_observation", duplicated)
    return _finish(checker, on_invalid, InvalidLightCurveError), checker.report()


def _objects(
    objects: Any, on_invalid: str, classes: tuple[str, ...] | None
) -> tuple[pd.DataFrame, DropReport]:
    frame = standardize_table(objects, "objects")
    checker = RowChecker("objects", frame)
    checker.check("missing_object_id", missing_str(frame["object_id"]))
    checker.check("control_object_id", has_control(frame["object_id"]))
    _check_sky(checker)
    _check_carried_context(checker)
    extra = ""
    if "label" in frame.columns:
        labels = frame["label"]
        present = labels.notna().to_numpy()  # a missing label means unlabelled, which is allowed
        if classes is None:
            unknown = present & (labels.str.strip() == "").to_numpy(dtype=bool, na_value=False)
            extra = " (an empty string; leave the label missing for an unlabelled object)"
        else:
            unknown = present & ~is_in(labels, pd.Series(classes, dtype="str"))
            extra = f" ({', '.join(classes)})"
        checker.check("control_label", has_control(labels))
        checker.check("unknown_label", unknown)
    good = ~checker.bad
    duplicated = np.zeros(len(frame), dtype=bool)
    duplicated[good] = frame.loc[good, "object_id"].duplicated(keep="first").to_numpy()
    checker.check("duplicate_object_id", duplicated)
    return _finish(checker, on_invalid, InvalidTableError, extra), checker.report()


def _check_carried_context(checker: RowChecker) -> None:
    """Context carried by the objects table (computed beforehand): all three columns, each value finite."""
    carried = [c for c in CONTEXT_COLUMNS if c in checker.frame.columns]
    if not carried:
        return
    if len(carried) < len(CONTEXT_COLUMNS):
        missing = [c for c in CONTEXT_COLUMNS if c not in carried]
        raise InvalidTableError(
            f"the objects table carries {', '.join(carried)} but not {', '.join(missing)}: carry all of "
            f"{', '.join(CONTEXT_COLUMNS)} (lcrnn.data.context.compute_context), or none to compute the context "
            f"from a galaxy catalogue.")
    values = checker.frame[list(CONTEXT_COLUMNS)].to_numpy(dtype=np.float64)
    checker.check("nonfinite_context", ~np.isfinite(values).all(axis=1))
    gal_l, gal_b, distance = values.T
    with np.errstate(invalid="ignore"):  # compute_context's conventions: l in [0, 360), b in [-90, 90], d >= 0
        checker.check("context_out_of_range", (gal_l < 0) | (gal_l >= 360) | (np.abs(gal_b) > 90) | (distance < 0))


def _galaxies(galaxies: Any, on_invalid: str) -> tuple[pd.DataFrame, DropReport]:
    frame = standardize_table(galaxies, "galaxies")
    checker = RowChecker("galaxies", frame)
    _check_sky(checker)
    return _finish(checker, on_invalid, InvalidTableError), checker.report()


def _classes(classes: Any) -> tuple[str, ...] | None:
    if classes is None:
        return None
    if isinstance(classes, str):
        raise TypeError(f"classes must be a sequence of labels such as ('VS', 'SN', 'AGN'), not {classes!r}.")
    out = tuple(str(c) for c in classes)
    if not out:
        raise ValueError("classes must name at least one label, or be None to allow any non-empty label.")
    return out


def validate_photometry(
    photometry: Any, on_invalid: OnInvalid = "raise", mjd_range: MjdRange | None = None
) -> tuple[pd.DataFrame, DropReport]:
    """Standardize the photometry table and check every row.

    Rows fail when the ``object_id`` or ``band`` is missing or holds a NUL or control character,
    ``mjd``/``mag``/``mag_err`` is missing or not finite, ``mjd`` is outside ``mjd_range`` (the message
    hints at a Julian Date or a relative time), ``|mag| >= 50``, ``mag_err <= 0`` or ``>= 10``, or the
    ``(object_id, band, mjd)`` triple repeats an earlier row.

    Parameters
    ----------
    photometry : DataFrame, dict of columns or astropy Table
        Columns ``object_id, mjd, mag, mag_err`` and optionally ``band`` (aliases accepted, see
        :data:`COLUMN_ALIASES`).
    on_invalid : {"raise", "drop"}
        ``"raise"``: raise on any bad row. ``"drop"``: drop bad rows (the first of repeated pairs is kept),
        count them in the report and warn with :class:`~lcrnn.errors.LcrnnWarning`.
    mjd_range : MjdRange, optional
        Plausible times; default MJD 15,000-100,000 (see :class:`MjdRange`).

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
    frame, report = _photometry(photometry, on_invalid, mjd_range)
    _warn(report, stacklevel=2)
    return frame, report


def validate_observations(
    observations: Any, on_invalid: OnInvalid = "raise", mjd_range: MjdRange | None = None
) -> tuple[pd.DataFrame, DropReport]:
    """Standardize a batch of observations as it arrives in a stream and check every row.

    The rules of :func:`validate_photometry`, except that an ``(object_id, mjd)`` pair may repeat: in a stream
    a repeat is a re-sent alert, which the real-time state store (:mod:`lcrnn.serve.store`) recognises and
    ignores. The HTTP service, ``lcrnn ingest`` and the store check observations with this function.

    Parameters
    ----------
    observations : DataFrame, dict of columns or astropy Table
        As for :func:`validate_photometry`; columns outside the schema (an alert id) are not returned.
    on_invalid : {"raise", "drop"}
        As in :func:`validate_photometry`.
    mjd_range : MjdRange, optional
        As in :func:`validate_photometry`.

    Returns
    -------
    observations : DataFrame
        The standardized rows in their input order (in raise mode: every row, so the input's other columns
        still line up with it by position).
    report : DropReport
        What was dropped (empty in raise mode).

    Raises
    ------
    InvalidLightCurveError
        In raise mode, naming the count and the first few object ids per problem; its ``invalid_rows``
        maps each offending column to the positions of its bad rows. Also on a missing column.
    """
    _check_on_invalid(on_invalid)
    checker = _photometry_rows(observations, mjd_range)
    frame = _finish(checker, on_invalid, InvalidLightCurveError)
    report = checker.report()
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


def _cross_check(phot: pd.DataFrame, objs: pd.DataFrame, objs_in: pd.DataFrame,
                 on_invalid: str) -> tuple[pd.DataFrame, pd.DataFrame, DropReport]:
    """Every observation has a kept object and every kept object has observations (or they are dropped)."""
    # Tell apart ids never listed from ids of objects dropped by their own rules.
    phot_checker = RowChecker("photometry", phot)
    kept = is_in(phot["object_id"], objs["object_id"])
    listed = is_in(phot["object_id"], objs_in["object_id"])
    phot_checker.check("dropped_object", ~kept & listed)
    phot_checker.check("unknown_object", ~listed)
    if phot_checker.found and on_invalid == "raise":
        raise InvalidTableError(f"{phot_checker.message()} Add these objects to the objects table or remove "
                                "their photometry, or drop them (on_invalid=\"drop\").")
    phot = phot_checker.finish(on_invalid, InvalidTableError)

    obj_checker = RowChecker("objects", objs)
    obj_checker.check("no_photometry", ~is_in(objs["object_id"], phot["object_id"]))
    if obj_checker.found and on_invalid == "raise":
        raise InvalidTableError(f"{obj_checker.message()} Add their photometry or remove these objects, or "
                                "drop them (on_invalid=\"drop\").")
    objs = obj_checker.finish(on_invalid, InvalidTableError)
    return phot, objs, phot_checker.report().merged(obj_checker.report())


def validate_survey(
    photometry: Any,
    objects: Any,
    galaxies: Any = None,
    on_invalid: OnInvalid = "raise",
    classes: Any = None,
    mjd_range: MjdRange | None = None,
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
    mjd_range : MjdRange, optional
        Plausible times (see :func:`validate_photometry`).

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
    phot, report = _photometry(photometry, on_invalid, mjd_range)
    objs_in = standardize_table(objects, "objects")
    objs, objects_report = _objects(objs_in, on_invalid, allowed)
    report = report.merged(objects_report)
    gals = None
    if galaxies is not None:
        gals, galaxies_report = _galaxies(galaxies, on_invalid)
        report = report.merged(galaxies_report)

    phot, objs, cross_report = _cross_check(phot, objs, objs_in, on_invalid)
    report = report.merged(cross_report)
    if len(objs) == 0:
        raise InvalidTableError(
            f"no object is left to work with ({report.summary()}); check that the photometry and objects "
            "tables use the same object ids."
        )
    _warn(report, stacklevel=2)
    return Survey(phot, objs, gals), report
