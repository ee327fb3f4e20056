"""What the store accepts: observations and objects checked by the data layer's rules, as column arrays.

Observations and objects pass through :mod:`lcrnn.data.tables` -- the column aliases, dtypes, rules and
messages of every other route -- so the store accepts exactly the light curves the batch ``Classifier``
accepts, keeps the numbers the batch route reads (``mag`` and ``mag_err`` as float32 values) and refuses the
rest with the same error. Upper limits (non-detections) are no table of the data layer, since the network
never reads them; they are checked here, in the same words.

Plain arrays come out, since the write path indexes and slices them per object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from lcrnn.data.checks import has_control
from lcrnn.data.context import CONTEXT_COLUMNS
from lcrnn.data.tables import DEFAULT_BAND, MjdRange, validate_objects, validate_observations
from lcrnn.errors import InvalidLightCurveError, InvalidTableError

__all__ = ["Rows", "as_frame", "check_bands", "object_records", "observation_arrays", "upper_limit_arrays"]

Rows = pd.DataFrame | Iterable[Mapping[str, Any]]

_TEXT = ("object_id", "band", "alert_id")
_NUMBERS = ("mjd", "mag", "mag_err")
_N_NAMED = 5  # rows named in an error, as the data layer does


def as_frame(rows: Rows) -> pd.DataFrame:
    """A DataFrame as it is, or records as one (``object`` columns: ids such as ZTF candids stay exact)."""
    return rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), dtype=object)


def _texts(values: pd.Series | None, n: int, default: str | None) -> np.ndarray:
    """Text values as ``str`` objects; missing ones (None, NaN) become ``default``."""
    if values is None:
        return np.full(n, default, dtype=object)
    return np.array([default if pd.isna(v) else str(v) for v in values.tolist()], dtype=object)


def check_bands(band: np.ndarray, bands: tuple[str, ...] | None, what: str = "observations") -> None:
    """A light curve is read in one band: rows in another band than the service reads are refused.

    ``bands`` is what the service reads (the model's training band, or ``--band``); None reads every band.

    Raises
    ------
    InvalidLightCurveError
        Naming the bands found, their rows, the bands read and the option that chooses another.
    """
    if bands is None or len(band) == 0:
        return
    outside = ~np.isin(band.astype(str), list(bands))
    if not outside.any():
        return
    rows_bad = np.flatnonzero(outside)
    found = sorted({str(b) for b in band[outside]})
    exc = InvalidLightCurveError(
        f"the {what} are invalid: {len(rows_bad)} row(s) in band(s) {', '.join(map(repr, found))} "
        f"(rows {', '.join(map(str, rows_bad[:_N_NAMED]))}), but this service reads band "
        f"{'+'.join(bands)!r}: a light curve is read in one band. Send only {'+'.join(bands)!r} observations, "
        f"or start the service with --band {found[0]} to classify that band instead."
    )
    exc.problems, exc.invalid_rows = str(exc), {"band": rows_bad.tolist()}
    raise exc


def observation_arrays(
    rows: Rows, mjd_range: MjdRange | None = None, bands: tuple[str, ...] | None = None
) -> dict[str, np.ndarray]:
    """Detections as the store writes them, checked by :func:`lcrnn.data.tables.validate_observations`.

    Parameters
    ----------
    rows
        ``object_id, mjd, mag, mag_err`` and optional ``band`` and ``alert_id`` (column aliases accepted).
        An ``(object_id, mjd)`` pair may repeat: the store recognises repeats and ignores them.
    mjd_range
        Plausible times (default :class:`lcrnn.data.tables.MjdRange`).
    bands
        The bands read (see :func:`check_bands`); None reads every band.

    Returns
    -------
    dict of str to ndarray
        ``object_id``, ``band`` and ``alert_id`` (``str`` objects; ``alert_id`` None where absent), ``mjd``,
        ``mag`` and ``mag_err`` (float64 holding the data layer's values), in input order.

    Raises
    ------
    InvalidLightCurveError
        Naming the bad rows' objects; ``invalid_rows`` maps each offending column to the rows' positions.
    """
    frame = as_frame(rows)
    if len(frame) == 0:
        return {**{c: np.zeros(0, dtype=object) for c in _TEXT}, **{c: np.zeros(0) for c in _NUMBERS}}
    checked, _ = validate_observations(frame, mjd_range=mjd_range)  # raise mode: every row kept, in order
    out = {c: checked[c].to_numpy(dtype=np.float64) for c in _NUMBERS}
    out["object_id"] = checked["object_id"].to_numpy(dtype=object)
    out["band"] = checked["band"].to_numpy(dtype=object)
    out["alert_id"] = _texts(frame.get("alert_id"), len(frame), None)
    bad = np.flatnonzero(has_control(pd.Series(out["alert_id"], dtype=object)))
    if len(bad):
        exc = InvalidLightCurveError(
            f"the observations are invalid: {len(bad)} row(s) with a NUL or control character in alert_id "
            f"(rows {', '.join(map(str, bad[:_N_NAMED]))}). Send the alert id as printable text."
        )
        exc.problems, exc.invalid_rows = str(exc), {"alert_id": bad.tolist()}
        raise exc
    check_bands(out["band"], bands)
    return out


def upper_limit_arrays(
    rows: Rows | None, mjd_range: MjdRange | None = None, bands: tuple[str, ...] | None = None
) -> dict[str, np.ndarray]:
    """Non-detections as the store writes them: ``object_id``, ``mjd``, ``limit_mag``, ``band`` arrays.

    Raises
    ------
    InvalidTableError
        If a column is missing.
    InvalidLightCurveError
        Naming the rows without an object id, with a non-finite ``mjd`` or ``limit_mag``, or with ``mjd``
        outside ``mjd_range`` (default :class:`lcrnn.data.tables.MjdRange`), or in a band not in ``bands``.
    """
    frame = as_frame(rows if rows is not None else [])
    n = len(frame)
    if n == 0:
        return {"object_id": np.zeros(0, dtype=object), "mjd": np.zeros(0), "limit_mag": np.zeros(0),
                "band": np.zeros(0, dtype=object)}
    missing = [c for c in ("object_id", "mjd", "limit_mag") if c not in frame.columns]
    if missing:
        raise InvalidTableError(
            f"the upper_limits table has no {', '.join(map(repr, missing))} column; "
            f"columns found: {', '.join(map(str, frame.columns))}."
        )
    numbers = {c: pd.to_numeric(frame[c], errors="coerce") for c in ("mjd", "limit_mag")}
    out = {c: values.to_numpy(dtype=np.float64) for c, values in numbers.items()}
    out["object_id"] = _texts(frame["object_id"], n, None)
    out["band"] = _texts(frame.get("band"), n, DEFAULT_BAND)
    mjd_range = mjd_range or MjdRange()
    with np.errstate(invalid="ignore"):
        outside = (out["mjd"] < mjd_range.low) | (out["mjd"] > mjd_range.high)
    bad = np.equal(out["object_id"], None) | ~np.isfinite(out["mjd"]) | ~np.isfinite(out["limit_mag"])
    bad |= outside
    if bad.any():
        rows_bad = np.flatnonzero(bad)
        more = f" and {len(rows_bad) - _N_NAMED} more" if len(rows_bad) > _N_NAMED else ""
        raise InvalidLightCurveError(
            f"the upper_limits table is invalid: {len(rows_bad)} row(s) with no object_id, with mjd or "
            f"limit_mag missing, infinite or not a number, or with mjd outside"
            f"{mjd_range.describe(out['mjd'][outside])} (rows {', '.join(map(str, rows_bad[:_N_NAMED]))}"
            f"{more}). Fix these rows or leave them out."
        )
    check_bands(out["band"], bands, "upper limits")
    return out


def object_records(objects: Rows) -> list[dict[str, Any]]:
    """Objects with their context as rows to insert; id and position checked by the data layer.

    Parameters
    ----------
    objects
        ``object_id, ra, dec`` (checked by :func:`lcrnn.data.tables.validate_objects`) and the context
        columns ``gal_l, gal_b, galaxy_dist_arcsec`` of :func:`lcrnn.data.context.compute_context`.

    Raises
    ------
    InvalidTableError
        For a bad id or position (``invalid_rows`` names the column), a repeated id, or missing context.
    """
    frame = as_frame(objects)
    if len(frame) == 0:
        return []
    checked, _ = validate_objects(frame)  # raise mode: every row kept, in input order
    missing = [c for c in CONTEXT_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidTableError(
            f"Objects are missing column(s) {missing}; compute the context with "
            "lcrnn.data.context.compute_context first."
        )
    context = frame[list(CONTEXT_COLUMNS)].to_numpy(dtype=np.float64)
    return [
        {"object_id": oid, "ra": ra, "dec": dec, **dict(zip(CONTEXT_COLUMNS, ctx.tolist()))}
        for oid, ra, dec, ctx in zip(
            checked["object_id"].tolist(), checked["ra"].tolist(), checked["dec"].tolist(), context
        )
    ]
