"""Bulk ingestion into the state store: photometry tables and ZTF Avro alert packets.

Everything goes through :class:`lcrnn.serve.service.ClassificationService`, the code the HTTP service runs, so
a database filled by ``lcrnn ingest`` and one filled through ``POST /observations`` are the same: objects and
observations checked by the data layer's rules (:mod:`lcrnn.data.tables`), file formats told by
:mod:`lcrnn.data.formats`.

ZTF alerts are read by :mod:`lcrnn.serve.ztf_alerts`: each bad alert is named there by file, ``candid`` and
field. With ``on_invalid="drop"`` bad alerts, bad table rows and unreadable files (truncated Avro, a corrupt
table, a file of another format) are skipped, logged and counted in :attr:`IngestSummary.dropped`; the other
files are ingested.

Positions: the first position of an object is kept -- the stored one, else the first in reading order (files
in the order given, rows and alerts in file order) -- and a later position within the store's
``position_tolerance_arcsec`` (1 arcsec by default) is the same object. A position farther away is refused
(:class:`~lcrnn.serve.store.ObjectConflictError`, 409 in the HTTP service), or skipped and counted with
``on_invalid="drop"``: the same decision for an object registered in an earlier run or earlier in this one.

Bands: a light curve is read in one band, the service's (the model's training band, or ``--band``). Alerts of
a survey that observes in several bands (ZTF: g, r, i) carry detections in others: with a band chosen
(``--band``) or ``on_invalid="drop"`` they are skipped and counted (``detections.other_band``,
``upper_limits.other_band``); otherwise they are an error naming the bands and counts, before anything is
written.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from tqdm.auto import tqdm

from lcrnn.data.formats import TABLE_FORMATS, FileFormat, file_format
from lcrnn.errors import InvalidLightCurveError, InvalidTableError
from lcrnn.serve.store.errors import ObjectConflictError
from lcrnn.serve.ztf_alerts import AlertBatch, FirstPositions, InvalidAlertError, read_ztf_alerts

if TYPE_CHECKING:  # pragma: no cover
    from lcrnn.serve.service import ClassificationService

__all__ = [
    "AlertBatch",
    "IngestSummary",
    "InvalidAlertError",
    "expand_paths",
    "in_service_bands",
    "ingest_files",
    "read_photometry_file",
    "read_ztf_alerts",
]

log = logging.getLogger(__name__)

_INGESTED: tuple[FileFormat, ...] = ("avro", *TABLE_FORMATS)  # alerts, and the tables read_table reads


@dataclass
class IngestSummary:
    """Totals of one ingestion run (what ``lcrnn ingest`` prints).

    ``dropped`` counts what was skipped per reason: bad table rows (``photometry.<reason>``), bad alerts
    (``alerts.<reason>``: ``invalid_field``, ``invalid_value``, ``wrong_schema``, ``moved_position``) and
    unreadable files (``files.unreadable``).
    """

    files: int = 0
    registered: int = 0
    accepted: int = 0
    duplicates: int = 0
    rebuilt: int = 0
    upper_limits: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str, n: int = 1) -> None:
        """Count ``n`` skipped items under ``reason``."""
        self.dropped[reason] = self.dropped.get(reason, 0) + int(n)


def read_photometry_file(
    path: str | Path, on_invalid: str = "raise", positions: FirstPositions | None = None
) -> tuple[pd.DataFrame, pd.DataFrame | None, dict]:
    """Read a CSV/Parquet photometry table, and the object positions if it carries ``ra``/``dec``.

    Parameters
    ----------
    path
        Table with ``object_id, mjd, mag, mag_err`` and optional ``band`` (column aliases accepted, see
        :data:`lcrnn.data.tables.COLUMN_ALIASES`); with ``ra``, ``dec`` the objects can be registered too.
    on_invalid
        ``"raise"`` or ``"drop"`` (drop and count bad rows), as in
        :func:`lcrnn.data.tables.validate_photometry`.
    positions
        The objects' first positions (see :class:`~lcrnn.serve.ztf_alerts.FirstPositions`): a row farther
        than the tolerance from its object's first position is refused (:class:`ObjectConflictError`) or,
        with ``"drop"``, dropped and counted as ``photometry.moved_position``.

    Returns
    -------
    photometry : DataFrame
    objects : DataFrame or None
        ``object_id, ra, dec`` (each object's first position) when the file has positions.
    dropped : dict
        Rows dropped per reason.
    """
    from lcrnn.data.io import read_table
    from lcrnn.data.tables import standardize_table, validate_photometry

    raw = read_table(path)
    try:
        rows = standardize_table(raw, "objects")
    except InvalidTableError:  # no ra/dec columns: the objects must be registered already or given apart
        rows = None
    moved: dict[int, str] = {}
    if rows is not None:
        positions = positions if positions is not None else FirstPositions()
        positions.preload(str(v) for v in rows["object_id"].dropna())
        for k, (oid, ra, dec) in enumerate(rows[["object_id", "ra", "dec"]].itertuples(index=False)):
            known = pd.notna(oid) and pd.notna(ra) and pd.notna(dec)  # else validation names the row
            sep = positions.moved(str(oid), ra, dec) if known else None
            if sep is not None:
                moved[k] = positions.conflict(f"{path}: row {k} ({oid})", str(oid), sep)
    if moved and on_invalid == "raise":
        raise ObjectConflictError(_conflicts(moved))
    for text in moved.values():
        log.warning("skipped %s", text)
    keep = [k not in moved for k in range(len(raw))]
    photometry, report = validate_photometry(raw[keep].reset_index(drop=True), on_invalid=on_invalid)
    dropped = dict(getattr(report, "counts", {}) or {})
    if moved:
        dropped["photometry.moved_position"] = len(moved)
    objects = None
    if rows is not None:
        objects = rows[keep].drop_duplicates("object_id")[["object_id", "ra", "dec"]].reset_index(drop=True)
    return photometry, objects, dropped


def expand_paths(paths: Sequence[str | Path]) -> list[Path]:
    """Files to ingest: given files, plus every Avro alert file (sorted) inside given directories."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and _is_alert_file(f))
            if not found:
                raise FileNotFoundError(
                    f"{p} holds no .avro files; pass alert files, a photometry table, or a folder of alerts."
                )
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p} does not exist; check the path.")
    return out


def _is_alert_file(path: Path) -> bool:
    try:
        return file_format(path, ("avro",)) == "avro"
    except InvalidTableError:
        return False


def _kind(path: Path) -> str:
    """``"avro"`` for alert files, ``"table"`` for photometry tables; anything else is refused."""
    return "avro" if file_format(path, _INGESTED) == "avro" else "table"


def ingest_files(
    paths: Sequence[str | Path],
    service: ClassificationService,
    objects: pd.DataFrame | None = None,
    batch_size: int = 2000,
    on_invalid: str = "raise",
    progress: bool = False,
) -> IngestSummary:
    """Register objects and feed observations from files into the store, in time order and in batches.

    Parameters
    ----------
    paths
        Photometry tables (CSV/Parquet), Avro alert files, or directories of Avro files.
    service
        Model, galaxy catalogue and store (the same object the HTTP service uses).
    objects
        Positions (``object_id, ra, dec``) for photometry tables without them; objects already in the store
        need none.
    batch_size
        Observations per transaction.
    on_invalid
        ``"raise"``: a bad row, alert or file is an error naming it (nothing of the alerts is written);
        ``"drop"``: bad rows and alerts are skipped and unreadable files passed over, each logged and counted
        in ``dropped``.
    progress
        Show a progress bar.

    Returns
    -------
    IngestSummary
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if on_invalid not in ("raise", "drop"):
        raise ValueError(f"on_invalid must be 'raise' or 'drop', got {on_invalid!r}.")
    files = expand_paths(paths)
    summary = IngestSummary(files=len(files))
    work = _read_all(files, service, objects, on_invalid, summary)
    work = in_service_bands(work, service, on_invalid, summary)
    total = sum(len(d) for _, d, _ in work)
    with tqdm(total=total, disable=not progress, unit="obs", desc="ingest") as bar:
        for positions, detections, limits in work:
            if positions is not None and len(positions):
                summary.registered += service.register(positions)["created"]
            detections = detections.sort_values("mjd", kind="stable")  # in time order: rebuilds stay rare
            starts = range(0, max(len(detections), 1), batch_size)
            for i, start in enumerate(starts):
                chunk = detections.iloc[start : start + batch_size]
                uls = limits if (i == 0 and limits is not None and len(limits)) else None
                result = service.observe(chunk, upper_limits=uls)
                summary.accepted += result.accepted
                summary.duplicates += result.duplicates
                summary.rebuilt += result.rebuilt
                summary.upper_limits += result.upper_limits
                bar.update(len(chunk))
    return summary


_Work = list[tuple[pd.DataFrame | None, pd.DataFrame, pd.DataFrame | None]]


def _read_all(
    files: list[Path], service: ClassificationService, objects: pd.DataFrame | None, on_invalid: str,
    summary: IngestSummary,
) -> _Work:
    """Every file read and checked before anything is written: (positions, detections, upper limits) each."""
    kinds: dict[Path, str] = {}
    for f in files:
        try:
            kinds[f] = _kind(f)
        except InvalidTableError as exc:
            _skip_file(f, exc, on_invalid, summary)
    alerts = [f for f in files if kinds.get(f) == "avro"]
    tables = [f for f in files if kinds.get(f) == "table"]
    positions = FirstPositions(service.store.position_tolerance_arcsec, service.store.positions)
    work: _Work = []
    if objects is not None:
        objects = _given_objects(objects, positions, on_invalid, summary)
        work.append((objects, pd.DataFrame(columns=["object_id", "mjd", "mag", "mag_err"]), None))
    if alerts:
        batch = read_ztf_alerts(alerts, on_invalid=on_invalid, positions=positions)
        for problem in batch.skipped:
            summary.drop("files.unreadable" if problem.alert is None else f"alerts.{problem.reason}")
        work.append((batch.objects, batch.detections, batch.upper_limits))
    for table in tables:
        try:
            photometry, found, dropped = read_photometry_file(table, on_invalid, positions)
        except (InvalidTableError, OSError, ValueError) as exc:
            if isinstance(exc, ObjectConflictError) or on_invalid == "raise":
                raise
            _skip_file(table, exc, on_invalid, summary)
            continue
        for reason, n in dropped.items():
            summary.drop(reason, n)
        work.append((found, photometry, None))
    return work


def in_service_bands(work: _Work, service: ClassificationService, on_invalid: str,
                     summary: IngestSummary) -> _Work:
    """Detections and upper limits in the service's band(s); the others skipped and counted, or refused."""
    bands = service.store.bands
    if bands is None:
        return work
    skip = on_invalid == "drop" or service.band_status.get("asked", False)
    outside: dict[str, int] = {}
    kept: _Work = []
    for positions, detections, limits in work:
        parts = []
        for frame, what in ((detections, "detections"), (limits, "upper_limits")):
            if frame is None or len(frame) == 0 or "band" not in frame.columns:
                parts.append(frame)
                continue
            inside = frame["band"].astype(str).isin(bands)
            for band, n in frame.loc[~inside, "band"].astype(str).value_counts().items():
                outside[f"{what} in band {band!r}"] = outside.get(f"{what} in band {band!r}", 0) + int(n)
                if skip:
                    summary.drop(f"{what}.other_band", int(n))
            parts.append(frame[inside.to_numpy()] if skip else frame)
        kept.append((positions, parts[0], parts[1]))
    if outside and not skip:
        counts = ", ".join(f"{n} {what}" for what, n in outside.items())
        raise InvalidLightCurveError(
            f"the files hold {counts}, but the service reads band {'+'.join(bands)!r}: a light curve is read in "
            f"one band. Choose the band to classify with --band: --band {','.join(bands)} keeps the model's band "
            "and skips the others, counting them (as --on-invalid drop does); another band is classified by a "
            "model trained in it, or by this one if you judge the bands alike.")
    for what, n in outside.items():
        log.info("skipped %d %s (the service reads band %s)", n, what, "+".join(bands))
    return kept


def _skip_file(path: Path, exc: Exception, on_invalid: str, summary: IngestSummary) -> None:
    """In raise mode re-raise ``exc``; in drop mode log that ``path`` is skipped, and count it."""
    if on_invalid == "raise":
        raise exc
    log.warning("skipped %s: %s", path, exc)
    summary.drop("files.unreadable")


def _given_objects(
    objects: pd.DataFrame, positions: FirstPositions, on_invalid: str, summary: IngestSummary
) -> pd.DataFrame:
    """The ``objects`` table given apart, its positions checked by the one rule (they come first in a run)."""
    ids = [str(v) for v in objects["object_id"]] if "object_id" in objects.columns else []
    if not ids or not {"ra", "dec"} <= set(objects.columns):
        return objects  # service.register names what is missing
    positions.preload(ids)
    moved = {}
    for k, (oid, ra, dec) in enumerate(zip(ids, objects["ra"], objects["dec"])):
        sep = positions.moved(oid, ra, dec) if pd.notna(ra) and pd.notna(dec) else None
        if sep is not None:
            moved[k] = positions.conflict(f"objects row {k} ({oid})", oid, sep)
    if moved and on_invalid == "raise":
        raise ObjectConflictError(_conflicts(moved))
    for k, text in moved.items():
        log.warning("skipped %s", text)
    if moved:
        summary.drop("objects.moved_position", len(moved))
    return objects[[k not in moved for k in range(len(objects))]]


def _conflicts(moved: dict[int, str]) -> str:
    """One message for rows at another position than their object's first one."""
    shown = "; ".join(list(moved.values())[:5]) + (f"; and {len(moved) - 5} more" if len(moved) > 5 else "")
    return (f"{len(moved)} row(s) at another position than their object's: {shown}. "
            'Fix them, or pass on_invalid="drop" to skip and count them.')
