"""How validation finds and reports bad rows: each row blamed on its first failed check, counted per reason.

:class:`RowChecker` runs the checks of one table in order and either raises an error that names the first
few offending objects or drops the rows; :class:`DropReport` counts what was dropped. The checks themselves
(which rows are bad) are the rules of :mod:`lcrnn.data.tables`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lcrnn.errors import InvalidTableError

__all__ = ["DropReport", "MjdRange", "RowChecker", "has_control", "is_in", "missing_str", "not_finite"]

_N_NAMED = 5  # how many offending ids an error message names

# Reason keys of DropReport.counts ("<table>.<reason>") and the phrase each stands for in messages.
# Plausible photometry: no survey magnitude is 50 or more from zero, and an error of 10 mag measures nothing.
MAX_ABS_MAG = 50.0
MAX_MAG_ERR = 10.0
# Plausible times: MJD 15,000 (1899-12-31) to 100,000 (2132-08-31) covers every digitised plate archive and
# every survey to come, while a Julian Date (~2,460,000), a time relative to the first observation (~0-1,000)
# or an overflowed value is refused. lcrnn.data.tables.MjdRange makes it configurable.
MJD_MIN = 15_000.0
MJD_MAX = 100_000.0
JD_OFFSET = 2_400_000.5  # JD - MJD

_REASONS: dict[str, str] = {
    "missing_object_id": "with no object_id",
    "nonfinite_mjd": "with mjd missing, infinite or not a number",
    "nonfinite_mag": "with mag missing, infinite or not a number",
    "nonfinite_mag_err": "with mag_err missing, infinite or not a number",
    "nonpositive_mag_err": "with mag_err <= 0",
    "mag_out_of_range": f"with mag outside ({-MAX_ABS_MAG:g}, {MAX_ABS_MAG:g})",
    "large_mag_err": f"with mag_err >= {MAX_MAG_ERR:g} mag (not a measurement)",
    "missing_band": "with no band",
    "mjd_out_of_range": "with mjd outside the plausible range",
    "control_object_id": "with a NUL or control character in object_id",
    "control_band": "with a NUL or control character in band",
    "control_label": "with a NUL or control character in label",
    "duplicate_observation": "repeating an (object_id, band, mjd) triple already seen",
    "unknown_object": "of objects missing from the objects table",
    "dropped_object": "of objects dropped from the objects table",
    "nonfinite_ra": "with ra missing, infinite or not a number",
    "nonfinite_dec": "with dec missing, infinite or not a number",
    "ra_out_of_range": "with ra outside [0, 360) degrees",
    "dec_out_of_range": "with dec outside [-90, 90] degrees",
    "unknown_label": "with a label outside the allowed classes",
    "duplicate_object_id": "repeating an object_id already seen",
    "nonfinite_context": "with gal_l, gal_b or galaxy_dist_arcsec missing, infinite or not a number",
    "context_out_of_range": "with gal_l outside [0, 360), gal_b outside [-90, 90] or galaxy_dist_arcsec < 0",
    "no_photometry": "with no photometry",
}
@dataclass(frozen=True)
class MjdRange:
    """The plausible times of an observation, in MJD: ``low <= mjd <= high``.

    The default, MJD 15,000-100,000 (1899-2132), covers the plate archives and every ground-based survey;
    what falls outside is a Julian Date, a time relative to the first observation, or a corrupt value, each
    of which would silently change a light curve's classification. Widen it for simulations on another clock.
    """

    low: float = MJD_MIN
    high: float = MJD_MAX

    def __post_init__(self) -> None:
        if not (np.isfinite(self.low) and np.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"MjdRange needs finite low < high, got low={self.low}, high={self.high}.")

    def describe(self, bad: np.ndarray) -> str:
        """The range, and a hint of what the values ``bad`` (those outside it) probably are."""
        hints = []
        if np.any(bad > JD_OFFSET - 100_000):
            hints.append(f"values above 2,300,000 look like Julian Dates: subtract {JD_OFFSET:.1f}")
        if np.any((bad >= 0) & (bad < min(self.low, 10_000.0))):
            hints.append("values near 0 look like days since the first observation: add its MJD")
        return f" [{self.low:g}, {self.high:g}]" + (f" -- {'; '.join(hints)} --" if hints else "")


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


@dataclass
class RowChecker:
    """Runs checks in order; each row is blamed on the first check it fails, in both modes."""

    table: str
    frame: pd.DataFrame
    bad: np.ndarray = field(init=False)
    found: list[tuple[str, np.ndarray]] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)  # reason -> text after its phrase (a range, a hint)

    def __post_init__(self) -> None:
        self.bad = np.zeros(len(self.frame), dtype=bool)

    def check(self, reason: str, mask: Any) -> None:
        """Blame the rows of ``mask`` not already bad on ``reason`` (a key of the reasons table)."""
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
        """The rows found bad, counted per reason."""
        return DropReport({f"{self.table}.{reason}": int(mask.sum()) for reason, mask in self.found})

    def message(self, extra: str = "") -> str:
        """The error that names every problem found; ``extra`` follows the unknown-label phrase."""
        units = _UNITS[self.table]
        parts = []
        for reason, mask in self.found:
            n = int(mask.sum())
            detail = extra if reason == "unknown_label" else self.details.get(reason, "")
            parts.append(f"{n} {units[n != 1]} {_REASONS[reason]}{detail} ({self.where(mask)})")
        return f"the {self.table} table is invalid: {'; '.join(parts)}."

    def advice(self) -> str:
        """What a caller of the validation functions can do about it (a service client cannot drop rows)."""
        return ('Fix these rows, or pass on_invalid="drop" to drop them (each is counted in the returned '
                "DropReport and a warning).")

    def finish(self, on_invalid: str, error: type[InvalidTableError], extra: str = "") -> pd.DataFrame:
        """Raise ``error`` in raise mode if any row is bad; otherwise the good rows, on a fresh index."""
        if self.found and on_invalid == "raise":
            problems = self.message(extra)
            exc = error(f"{problems} {self.advice()}")
            exc.problems = problems  # the message without the advice, for the service's 422
            raise exc
        if not self.found:
            return self.frame
        return self.frame.loc[~self.bad].reset_index(drop=True)


def missing_str(values: pd.Series) -> np.ndarray:
    """True where a text value is missing or blank."""
    return (values.isna() | (values.str.strip() == "")).to_numpy(dtype=bool, na_value=True)


def has_control(values: pd.Series) -> np.ndarray:
    """True where a text value holds a NUL or another control character (no database or URL keeps them)."""
    if values.dtype != object and not pd.api.types.is_string_dtype(values):
        return np.zeros(len(values), dtype=bool)
    found = values.astype("string").str.contains(r"[\x00-\x1f\x7f]", regex=True)
    return found.to_numpy(dtype=bool, na_value=False)


def not_finite(values: pd.Series) -> np.ndarray:
    """True where a number is missing, infinite or NaN."""
    return ~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))


def is_in(values: pd.Series, reference: pd.Series) -> np.ndarray:
    """``values.isin(reference)`` through Arrow: pandas' own is a Python loop over ``str`` columns."""
    found = pc.is_in(
        pa.array(values, from_pandas=True, type=pa.large_string()),
        value_set=pa.array(reference, from_pandas=True, type=pa.large_string()),
        skip_nulls=True,
    )
    return found.fill_null(False).to_numpy(zero_copy_only=False)
