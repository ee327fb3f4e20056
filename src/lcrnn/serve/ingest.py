"""Bulk ingestion into the state store: photometry tables and ZTF Avro alert packets.

Everything goes through :class:`lcrnn.serve.service.ClassificationService`, the code the HTTP service runs, so
a database filled by ``lcrnn ingest`` and one filled through ``POST /observations`` are the same: objects and
observations checked by the data layer's rules (:mod:`lcrnn.data.tables`), file formats told by
:mod:`lcrnn.data.formats`.

ZTF alerts (Patterson et al. 2019) carry the triggering detection (``candidate``) and up to 30 days of history
(``prv_candidates``). History entries with a null ``magpsf`` are non-detections: they are stored as upper limits
(``diffmaglim``) apart from the detections and never reach the network, which was trained on detections only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from tqdm.auto import tqdm

from lcrnn.data.formats import TABLE_FORMATS, FileFormat, file_format
from lcrnn.errors import InvalidTableError

if TYPE_CHECKING:  # pragma: no cover
    from lcrnn.serve.service import ClassificationService

__all__ = [
    "AlertBatch",
    "IngestSummary",
    "expand_paths",
    "ingest_files",
    "read_photometry_file",
    "read_ztf_alerts",
]

JD_TO_MJD = 2400000.5
ZTF_BANDS = {1: "g", 2: "r", 3: "i"}  # ZTF filter ids (fid)
_INGESTED: tuple[FileFormat, ...] = ("avro", *TABLE_FORMATS)  # alerts, and the tables read_table reads


@dataclass(frozen=True)
class AlertBatch:
    """Alerts flattened into the three tables the store takes.

    ``objects``: ``object_id, ra, dec`` (one row per ZTF object, from its latest alert); ``detections``:
    ``object_id, mjd, mag, mag_err, band, alert_id`` (``alert_id`` is the ZTF ``candid``); ``upper_limits``:
    ``object_id, mjd, limit_mag, band``.
    """

    objects: pd.DataFrame
    detections: pd.DataFrame
    upper_limits: pd.DataFrame


@dataclass
class IngestSummary:
    """Totals of one ingestion run (what ``lcrnn ingest`` prints)."""

    files: int = 0
    registered: int = 0
    accepted: int = 0
    duplicates: int = 0
    rebuilt: int = 0
    upper_limits: int = 0
    dropped: dict[str, int] = field(default_factory=dict)


def read_ztf_alerts(paths: Iterable[str | Path]) -> AlertBatch:
    """Read ZTF Avro alert packets into objects, detections and upper limits.

    Parameters
    ----------
    paths
        ``.avro`` files, each holding one or more alerts.

    Returns
    -------
    AlertBatch
        Repeated history entries across alerts are kept; the store drops repeats on the way in.
    """
    import fastavro

    objects: dict[str, tuple[float, float, float]] = {}
    det: list[dict[str, Any]] = []
    ul: list[dict[str, Any]] = []
    for path in paths:
        path = Path(path)
        try:
            with path.open("rb") as handle:
                alerts = list(fastavro.reader(handle))
        except (OSError, ValueError, StopIteration) as exc:
            raise InvalidTableError(f"Cannot read {path} as an Avro alert file: {exc}") from exc
        for alert in alerts:
            if "candidate" not in alert or "objectId" not in alert:
                raise InvalidTableError(f"{path} is Avro but not a ZTF alert (no objectId/candidate).")
            oid = str(alert["objectId"])
            cand = alert["candidate"]
            jd = float(cand["jd"])
            if oid not in objects or jd > objects[oid][2]:
                objects[oid] = (float(cand["ra"]), float(cand["dec"]), jd)
            entries = [(cand, alert.get("candid", cand.get("candid")))]
            entries += [(p, p.get("candid")) for p in alert.get("prv_candidates") or []]
            for entry, candid in entries:
                mjd = float(entry["jd"]) - JD_TO_MJD
                band = ZTF_BANDS.get(entry.get("fid"), str(entry.get("fid")))
                if entry.get("magpsf") is None:
                    if entry.get("diffmaglim") is not None:
                        ul.append(
                            {
                                "object_id": oid,
                                "mjd": mjd,
                                "limit_mag": float(entry["diffmaglim"]),
                                "band": band,
                            }
                        )
                    continue
                det.append(
                    {
                        "object_id": oid,
                        "mjd": mjd,
                        "mag": float(entry["magpsf"]),
                        "mag_err": float(entry["sigmapsf"]),
                        "band": band,
                        "alert_id": None if candid is None else str(candid),
                    }
                )
    obj = pd.DataFrame([(k, v[0], v[1]) for k, v in objects.items()], columns=["object_id", "ra", "dec"])
    detections = pd.DataFrame(det, columns=["object_id", "mjd", "mag", "mag_err", "band", "alert_id"])
    limits = pd.DataFrame(ul, columns=["object_id", "mjd", "limit_mag", "band"])
    return AlertBatch(obj, detections, limits)


def read_photometry_file(
    path: str | Path, on_invalid: str = "raise"
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

    Returns
    -------
    photometry : DataFrame
    objects : DataFrame or None
        ``object_id, ra, dec`` (first row per object) when the file has positions.
    dropped : dict
        Rows dropped per reason.
    """
    from lcrnn.data.io import read_table
    from lcrnn.data.tables import standardize_table, validate_photometry

    raw = read_table(path)
    photometry, report = validate_photometry(raw, on_invalid=on_invalid)
    objects = None
    try:
        positions = standardize_table(raw, "objects")
    except InvalidTableError:  # no ra/dec columns: the objects must be registered already or given apart
        positions = None
    if positions is not None:
        objects = positions.drop_duplicates("object_id")[["object_id", "ra", "dec"]].reset_index(drop=True)
    return photometry, objects, dict(getattr(report, "counts", {}) or {})


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
        For photometry tables: ``"raise"`` on bad rows, or ``"drop"`` them (counted in the summary).
    progress
        Show a progress bar.

    Returns
    -------
    IngestSummary
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    files = expand_paths(paths)
    summary = IngestSummary(files=len(files))
    alerts = [f for f in files if _kind(f) == "avro"]
    tables = [f for f in files if _kind(f) == "table"]
    work: list[tuple[pd.DataFrame | None, pd.DataFrame, pd.DataFrame | None]] = []
    if alerts:
        batch = read_ztf_alerts(alerts)
        work.append((batch.objects, batch.detections, batch.upper_limits))
    for table in tables:
        photometry, positions, dropped = read_photometry_file(table, on_invalid=on_invalid)
        for reason, n in dropped.items():
            summary.dropped[reason] = summary.dropped.get(reason, 0) + int(n)
        work.append((positions, photometry, None))
    if objects is not None:
        work.insert(0, (objects, pd.DataFrame(columns=["object_id", "mjd", "mag", "mag_err"]), None))

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
