"""ZTF Avro alert packets read into the store's tables, each bad alert named by file, alert and field.

ZTF alerts (Patterson et al. 2019) carry the triggering detection (``candidate``) and up to 30 days of
history (``prv_candidates``). History entries with a null ``magpsf`` are non-detections: they are stored as
upper limits (``diffmaglim``) apart from the detections and never reach the network, which was trained on
detections only.

An alert is bad when a field read here (``objectId``, ``candid``, ``candidate.jd/ra/dec/fid/magpsf/sigmapsf``,
the same in a history entry) is missing, null, not a number or not finite, or when its values break the
data layer's rules (:func:`lcrnn.data.tables.validate_observations` and ``validate_objects``); a file is bad
when it cannot be read as Avro (truncated, garbage) or holds no ZTF alerts. ``on_invalid="raise"`` refuses
the batch naming each bad alert (file, ``candid``, field); ``"drop"`` skips them, logs one line each and
counts them.

Positions follow one rule, the store's: the first position of an object is kept (the stored one, else that
of its first alert in reading order: files in the order given, alerts in file order), and an alert within the
store's ``position_tolerance_arcsec`` of it is the same object. An alert farther away is refused
(:class:`~lcrnn.serve.store.ObjectConflictError`) or skipped and counted -- whether the object was registered
in an earlier run or earlier in the same batch.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lcrnn.data.tables import validate_objects, validate_observations
from lcrnn.errors import InvalidTableError
from lcrnn.serve.store.errors import ObjectConflictError
from lcrnn.serve.store.state import DEFAULT_POSITION_TOLERANCE_ARCSEC, separation_arcsec

__all__ = [
    "AlertBatch",
    "AlertProblem",
    "FirstPositions",
    "InvalidAlertError",
    "read_ztf_alerts",
    "read_ztf_packets",
    "report_problems",
]

log = logging.getLogger(__name__)

JD_TO_MJD = 2400000.5
ZTF_BANDS = {1: "g", 2: "r", 3: "i"}  # ZTF filter ids (fid)
N_NAMED = 5  # bad alerts named in one error
N_LOGGED = 20  # bad alerts logged one line each; past this, one summary line
_ZTF_FIELDS = {"mjd": "jd", "mag": "magpsf", "mag_err": "sigmapsf", "object_id": "objectId", "band": "fid"}
_DET_COLUMNS = ["object_id", "mjd", "mag", "mag_err", "band", "alert_id"]
_UL_COLUMNS = ["object_id", "mjd", "limit_mag", "band"]


@dataclass(frozen=True)
class AlertProblem:
    """One bad alert (or a bad file, ``alert`` None): where, which field, what is wrong; ``reason`` counts."""

    file: Path | str
    alert: str | None
    field: str | None
    problem: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}" + (f", alert {self.alert}" if self.alert else "")
        return f"{where}: {self.field + ' ' if self.field else ''}{self.problem}"


class InvalidAlertError(InvalidTableError):
    """Alert packets or files that cannot be ingested; ``alerts`` lists each with file, alert, field."""

    def __init__(self, problems: Sequence[AlertProblem]) -> None:
        self.alerts = list(problems)
        super().__init__(_summary(self.alerts, "bad ZTF alert(s) or alert file(s)"))


@dataclass(frozen=True)
class AlertBatch:
    """Alerts flattened into the three tables the store takes, and what was skipped.

    ``objects``: ``object_id, ra, dec`` (objects not yet in the store, at their first alert's position);
    ``detections``: ``object_id, mjd, mag, mag_err, band, alert_id`` (``alert_id`` is the ZTF ``candid``);
    ``upper_limits``: ``object_id, mjd, limit_mag, band``; ``skipped``: the bad alerts and files dropped
    (``on_invalid="drop"`` only).
    """

    objects: pd.DataFrame
    detections: pd.DataFrame
    upper_limits: pd.DataFrame
    skipped: tuple[AlertProblem, ...] = ()


@dataclass
class _Alert:
    object_id: str
    alert_id: str
    ra: float
    dec: float
    detections: list[dict[str, Any]] = field(default_factory=list)
    upper_limits: list[dict[str, Any]] = field(default_factory=list)


class FirstPositions:
    """The one rule for a moving position: an object keeps its first position; within a tolerance is the same.

    Parameters
    ----------
    tolerance_arcsec
        The store's ``position_tolerance_arcsec``.
    lookup
        The positions already in the store, ``{object_id: (ra, dec)}`` for some ids
        (:meth:`StateStore.positions`): these come first. None: a store without objects.
    """

    def __init__(
        self,
        tolerance_arcsec: float = DEFAULT_POSITION_TOLERANCE_ARCSEC,
        lookup: Callable[[list[str]], Mapping[str, tuple[float, float]]] | None = None,
    ) -> None:
        self.first: dict[str, tuple[float, float]] = {}
        self.tolerance_arcsec = tolerance_arcsec
        self.lookup = lookup

    def preload(self, object_ids: Iterable[str]) -> None:
        """Ask the store once for the positions of those of ``object_ids`` not met yet."""
        new = [i for i in dict.fromkeys(object_ids) if i not in self.first]
        if new and self.lookup is not None:
            self.first.update(self.lookup(new))

    def moved(self, object_id: str, ra: float, dec: float) -> float | None:
        """None when ``(ra, dec)`` is the object's position (or its first), else the distance in arcsec."""
        first = self.first.setdefault(object_id, (ra, dec))
        sep = separation_arcsec(*first, ra, dec)
        return sep if sep > self.tolerance_arcsec else None

    def conflict(self, where: str, object_id: str, sep: float) -> str:
        """The words for a position ``sep`` arcsec from the first one of ``object_id``."""
        ra, dec = self.first[object_id]
        return (
            f"{where} is {sep:.2f} arcsec from the first position of {object_id} ({ra:.7f}, {dec:.7f}), "
            f"beyond the tolerance of {self.tolerance_arcsec:g} arcsec: a different source needs another id"
        )


class _BadField(Exception):
    def __init__(self, name: str, problem: str, reason: str = "invalid_field") -> None:
        super().__init__(name, problem)
        self.name, self.problem, self.reason = name, problem, reason


def read_ztf_alerts(
    paths: Iterable[str | Path],
    on_invalid: str = "raise",
    positions: FirstPositions | None = None,
) -> AlertBatch:
    """Read ZTF Avro alert packets into objects, detections and upper limits.

    Parameters
    ----------
    paths
        ``.avro`` files, each holding one or more alerts; read in this order.
    on_invalid
        ``"raise"``: any bad alert or file is an error naming each (file, ``candid``, field); ``"drop"``: bad
        alerts and files are skipped, logged and listed in ``skipped``.
    positions
        The objects' first positions (the store's, and earlier files' of this run) and the tolerance; it
        learns the first position of each new object. None: no object known, the default tolerance.

    Returns
    -------
    AlertBatch
        Repeated history entries across alerts are kept; the store drops repeats on the way in.

    Raises
    ------
    InvalidAlertError
        In raise mode, for bad alerts or unreadable files.
    ObjectConflictError
        In raise mode, when the only problems are alerts farther than the tolerance from the position
        their object already has.
    """
    if on_invalid not in ("raise", "drop"):
        raise ValueError(f"on_invalid must be 'raise' or 'drop', got {on_invalid!r}.")
    problems: list[AlertProblem] = []
    files: list[tuple[Path, list[Any]]] = []
    for path in map(Path, paths):
        try:
            files.append((path, _packets(path)))
        except _BadField as exc:
            problems.append(AlertProblem(path, None, None, exc.problem, exc.reason))
    return read_ztf_packets(files, on_invalid, positions, problems)


def read_ztf_packets(
    sources: Iterable[tuple[Path | str, Sequence[Any]]],
    on_invalid: str = "raise",
    positions: FirstPositions | None = None,
    problems: Sequence[AlertProblem] = (),
) -> AlertBatch:
    """Alert packets already decoded (Kafka messages, :mod:`lcrnn.serve.stream`), read as files' are.

    ``sources`` are ``(name, packets)`` pairs, in reading order; the name (a file, or ``topic[partition]@offset``)
    is what problems are named by. ``problems`` found before (unreadable files) join the ones found here.
    Parameters and errors as :func:`read_ztf_alerts`.
    """
    if on_invalid not in ("raise", "drop"):
        raise ValueError(f"on_invalid must be 'raise' or 'drop', got {on_invalid!r}.")
    good, bad = _flatten_all(sources)
    problems = [*problems, *bad]
    positions = positions if positions is not None else FirstPositions()
    positions.preload(a.object_id for _, a in good)
    kept: list[_Alert] = []
    for path, alert in good:  # in reading order: the first position of an object is its position
        sep = positions.moved(alert.object_id, alert.ra, alert.dec)
        if sep is None:
            kept.append(alert)
        else:
            problem = positions.conflict("candidate.ra/dec", alert.object_id, sep)
            problems.append(AlertProblem(path, f"{alert.alert_id} ({alert.object_id})", None, problem,
                                         "moved_position"))
    objects = {a.object_id: positions.first[a.object_id] for a in kept}
    if problems and on_invalid == "raise":
        if all(p.reason == "moved_position" for p in problems):
            raise ObjectConflictError(_summary(problems, "alert(s) of known objects at another position"))
        raise InvalidAlertError(problems)
    report_problems(problems)
    return AlertBatch(
        pd.DataFrame([(k, *v) for k, v in objects.items()], columns=["object_id", "ra", "dec"]),
        pd.DataFrame([d for a in kept for d in a.detections], columns=_DET_COLUMNS),
        pd.DataFrame([u for a in kept for u in a.upper_limits], columns=_UL_COLUMNS),
        tuple(problems),
    )


def report_problems(problems: Sequence[AlertProblem]) -> None:
    """Log skipped alerts and files: a line each for the first :data:`N_LOGGED`, then one for the rest."""
    for p in problems[:N_LOGGED]:
        log.warning("skipped %s", p)
    if len(problems) > N_LOGGED:
        log.warning("skipped %d more bad alert(s) or file(s) (the first %d are listed above)",
                    len(problems) - N_LOGGED, N_LOGGED)


def _summary(problems: Sequence[AlertProblem], what: str) -> str:
    shown = "; ".join(map(str, problems[:N_NAMED]))
    more = f"; and {len(problems) - N_NAMED} more" if len(problems) > N_NAMED else ""
    return (
        f"{len(problems)} {what}: {shown}{more}. Fix or remove them, or pass on_invalid=\"drop\" to skip "
        "and count them."
    )


def _packets(path: Path) -> list[Any]:
    import fastavro

    try:
        with path.open("rb") as handle:
            return list(fastavro.reader(handle))
    except Exception as exc:  # noqa: BLE001 -- damaged Avro raises anything from EOFError to zlib.error
        raise _BadField("", f"cannot be read as Avro alerts ({type(exc).__name__}: {exc})", "unreadable_file")


def _flatten_all(
    sources: Iterable[tuple[Path | str, Sequence[Any]]],
) -> tuple[list[tuple[Path | str, _Alert]], list[AlertProblem]]:
    """The alerts whose fields are all there and pass the data layer's rules, and the others, in reading order.

    The rules run once over every source's alerts: a Kafka poll brings many one-alert messages, and checking
    each on its own would cost more than storing it.
    """
    names: list[tuple[Path | str, str]] = []  # (source, alert) of each alert, numbered in reading order
    alerts: dict[int, _Alert] = {}
    bad: dict[int, AlertProblem] = {}
    empty: list[AlertProblem] = []
    for path, packets in sources:
        if not packets:
            empty.append(AlertProblem(path, None, None, "holds no alerts", "unreadable_file"))
        for i, packet in enumerate(packets):
            k = len(names)
            names.append((path, _name(packet, i)))
            try:
                alerts[k] = _flatten(packet)
            except _BadField as exc:
                bad[k] = AlertProblem(path, names[k][1], exc.name, exc.problem, exc.reason)
    for k, (name, column, value, rule) in _rule_breaks(alerts).items():
        bad[k] = AlertProblem(*names[k], name, f"= {value!r} breaks the data layer's rule for {column} ({rule})",
                              "invalid_value")
    good = [(names[k][0], a) for k, a in alerts.items() if k not in bad]
    return good, empty + [bad[k] for k in sorted(bad)]


def _rule_breaks(alerts: Mapping[int, _Alert]) -> dict[int, tuple[str, str, Any, str]]:
    """Alerts whose positions or detections the data layer refuses.

    Returns ``{alert: (ZTF field, column, value, the rule's words)}``, the first break of each alert.
    """
    keys = list(alerts)
    out: dict[int, tuple[str, str, Any, str]] = {}
    objects = pd.DataFrame(
        {"object_id": [str(i) for i in keys], "ra": [alerts[i].ra for i in keys],
         "dec": [alerts[i].dec for i in keys]}
    )
    rows = [(i, d["_where"]) for i in keys for d in alerts[i].detections]
    detections = pd.DataFrame([d for i in keys for d in alerts[i].detections], columns=_DET_COLUMNS)
    for frame, owners, check in ((objects, [(i, "candidate") for i in keys], validate_objects),
                                 (detections, rows, validate_observations)):
        if not len(frame):
            continue
        try:
            check(frame)
        except InvalidTableError as exc:
            for column, positions in getattr(exc, "invalid_rows", {}).items():
                rule = _rule(str(exc), column)
                for pos in positions:
                    value = frame[column].iloc[pos]
                    i, where = owners[pos]
                    field_name = f"{where}.{_ZTF_FIELDS.get(column, column)}"
                    out.setdefault(i, (field_name, column, getattr(value, "item", lambda v=value: v)(), rule))
            if not getattr(exc, "invalid_rows", None):
                raise
    return out


def _rule(message: str, column: str) -> str:
    """The data layer's words for ``column``'s rule ("mag_err >= 10 mag ..."), else a pointer to them."""
    for reason in re.findall(r"(?:rows?|objects?) with (.+?) \(objects", message):
        if reason.startswith(f"{column} "):
            return reason
    return "see lcrnn.data.tables"


def _name(packet: Any, i: int) -> str:
    """How an alert is named in messages: its ``candid`` and ``objectId``, or its position in the file."""
    if not isinstance(packet, dict):
        return f"#{i}"
    cand = packet.get("candidate") if isinstance(packet.get("candidate"), dict) else {}
    candid = packet.get("candid", cand.get("candid"))
    oid = packet.get("objectId")
    return f"{candid if candid is not None else f'#{i}'}" + (f" ({oid})" if oid is not None else "")


def _flatten(packet: Any) -> _Alert:
    if not isinstance(packet, dict) or not isinstance(packet.get("candidate"), dict):
        raise _BadField("candidate", "is missing: this is not a ZTF alert packet", "wrong_schema")
    oid = packet.get("objectId")
    if not isinstance(oid, str) or not oid.strip():
        raise _BadField("objectId", f"is missing or empty (got {oid!r})")
    cand = packet["candidate"]
    candid = packet.get("candid", cand.get("candid"))
    if candid is None:
        raise _BadField("candid", "is missing or null")
    alert = _Alert(oid, str(candid), _number(cand, "ra", "candidate"), _number(cand, "dec", "candidate"))
    entries = [("candidate", cand, candid)]
    history = packet.get("prv_candidates") or []
    if not isinstance(history, list):
        raise _BadField("prv_candidates", f"is not a list (got {type(history).__name__})")
    entries += [(f"prv_candidates[{k}]", p, _get(p, "candid")) for k, p in enumerate(history)]
    for where, entry, entry_id in entries:
        if not isinstance(entry, dict):
            raise _BadField(where, f"is not a record (got {type(entry).__name__})")
        mjd = _number(entry, "jd", where) - JD_TO_MJD
        fid = int(_number(entry, "fid", where))
        band = ZTF_BANDS.get(fid, str(fid))
        if entry.get("magpsf") is None and where != "candidate":  # a non-detection (never the candidate)
            if entry.get("diffmaglim") is not None:
                limit = _number(entry, "diffmaglim", where)
                alert.upper_limits.append({"object_id": oid, "mjd": mjd, "limit_mag": limit, "band": band})
            continue
        alert.detections.append({
            "object_id": oid, "mjd": mjd, "mag": _number(entry, "magpsf", where),
            "mag_err": _number(entry, "sigmapsf", where), "band": band,
            "alert_id": None if entry_id is None else str(entry_id), "_where": where,
        })
    return alert


def _get(record: Any, key: str) -> Any:
    return record.get(key) if isinstance(record, dict) else None


def _number(record: Mapping[str, Any], key: str, where: str) -> float:
    """``record[key]`` as a finite float, or a :class:`_BadField` naming ``where.key`` and what is wrong."""
    name = f"{where}.{key}"
    if key not in record:
        raise _BadField(name, "is missing")
    value = record[key]
    if value is None:
        raise _BadField(name, "is null")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _BadField(name, f"is not a number (got {value!r})")
    if not math.isfinite(value):
        raise _BadField(name, f"is not finite (got {value!r})")
    return float(value)
