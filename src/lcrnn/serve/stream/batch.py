"""One poll's messages through the service's code path: decode, check, store in one transaction, classify.

Alerts are read by :mod:`lcrnn.serve.ztf_alerts` (the code ``lcrnn ingest`` reads files with), registered
and stored through :class:`~lcrnn.serve.service.ClassificationService` (the code ``lcrnn serve`` runs), so
a detection is validated, sequenced and scaled exactly as on the other routes. Everything is idempotent: an
object registered again at its position and a detection stored again are no-ops, so a batch re-read after a
crash (its offsets not yet committed) changes nothing it had already stored.

A message is dead-lettered when it does not decode (:mod:`~lcrnn.serve.stream.packets`), or when any of its
alerts is refused (a missing field, a value the data layer's rules refuse, a position far from its object's);
the good alerts of such a message (ZTF sends one alert per message) are stored, and published only when the
message is replayed from the dead-letter topic once fixed. When the store refuses a whole batch for a reason the checks
before it did not see, the messages are retried one by one and only those the store refuses are dead-lettered.
A database that fails is not the messages' fault: that error stops the worker, offsets uncommitted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


from lcrnn.serve.store import ObjectConflictError, UnknownObjectError
from lcrnn.serve.stream.classifications import AlertRef
from lcrnn.serve.stream.packets import AlertSchema, MalformedMessageError, decode_packets
from lcrnn.serve.stream.publish import Incoming
from lcrnn.serve.ingest import IngestSummary, in_service_bands
from lcrnn.serve.ztf_alerts import JD_TO_MJD, ZTF_BANDS, FirstPositions, read_ztf_packets

__all__ = ["BatchOutcome", "DeadLetter", "store_messages"]

log = logging.getLogger(__name__)

# What the store refuses in the messages themselves (anything else is the database's failure).
_REFUSED = (ValueError, UnknownObjectError, ObjectConflictError)


@dataclass(frozen=True)
class DeadLetter:
    """A message that goes to the dead-letter topic, and why (``reason`` is the count's name)."""

    message: Incoming
    reason: str
    problem: str


@dataclass
class BatchOutcome:
    """What one batch did: alerts stored and to publish, dead letters, the store's counts."""

    alerts: list[AlertRef] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    registered: int = 0
    accepted: int = 0
    duplicates: int = 0
    upper_limits: int = 0
    other_band: int = 0

    def add(self, other: BatchOutcome) -> None:
        """Fold in the outcome of a part of the batch."""
        self.alerts += other.alerts
        self.dead += other.dead
        self.registered += other.registered
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.upper_limits += other.upper_limits
        self.other_band += other.other_band


def store_messages(service: Any, messages: Sequence[Incoming], schema: AlertSchema | None = None) -> BatchOutcome:
    """Decode, check and store the alerts of ``messages``; see the module notes for what is dead-lettered."""
    outcome = BatchOutcome()
    decoded: list[tuple[Incoming, list[Any]]] = []
    for message in messages:
        try:
            decoded.append((message, decode_packets(message.value, schema)))
        except MalformedMessageError as exc:
            log.warning("dead-lettered %s: %s", message.name, exc)
            outcome.dead.append(DeadLetter(message, exc.reason, f"{message.name} {exc}"))
    try:
        outcome.add(_store(service, decoded))
    except _REFUSED as exc:
        if len(decoded) == 1:
            log.warning("dead-lettered %s: the store refused it: %s", decoded[0][0].name, exc)
            outcome.dead.append(DeadLetter(decoded[0][0], "refused", str(exc)))
        else:  # find the culprits: the others are stored as if they had come alone
            log.warning("the store refused a batch of %d messages (%s); retrying them one by one", len(decoded), exc)
            for message, _ in decoded:
                outcome.add(store_messages(service, [message], schema))
    return outcome


def _store(service: Any, decoded: list[tuple[Incoming, list[Any]]]) -> BatchOutcome:
    """The alerts of decoded messages, checked by :mod:`lcrnn.serve.ztf_alerts` and stored (two transactions)."""
    outcome = BatchOutcome()
    if not decoded:
        return outcome
    store = service.store
    positions = FirstPositions(store.position_tolerance_arcsec, store.positions)
    batch = read_ztf_packets([(m.name, packets) for m, packets in decoded], on_invalid="drop", positions=positions)
    refused: dict[str, str] = {}
    for problem in batch.skipped:
        refused.setdefault(str(problem.file), problem.reason)
    for message, _ in decoded:
        if message.name in refused:
            problems = [str(p) for p in batch.skipped if str(p.file) == message.name]
            outcome.dead.append(DeadLetter(message, refused[message.name], "; ".join(problems)))
    if len(batch.objects):
        outcome.registered = service.register(batch.objects)["created"]
    # One light curve per band, as lcrnn ingest reads it: other bands' detections skipped and counted.
    skipped = IngestSummary()
    [(_, detections, limits)] = in_service_bands([(None, batch.detections, batch.upper_limits)], service, "drop",
                                                 skipped)
    outcome.other_band = skipped.dropped.get("detections.other_band", 0)
    # A detection rides in every later alert of its object for 30 days: once per poll is enough (the store
    # would find the others repeats, at a cost that grows with the rows).
    detections = detections.drop_duplicates(["object_id", "band", "mjd"]).sort_values("mjd", kind="stable")
    limits = limits if limits is not None and len(limits) else None
    result = service.observe(detections, upper_limits=limits)
    outcome.accepted, outcome.duplicates, outcome.upper_limits = result.accepted, result.duplicates, result.upper_limits
    outcome.alerts = [ref for m, packets in decoded if m.name not in refused for ref in _refs(m, packets)]
    return outcome


def _refs(message: Incoming, packets: list[Any]) -> list[AlertRef]:
    """What the output names of each alert of a message whose alerts were all taken."""
    source = {"topic": message.topic, "partition": message.partition, "offset": message.offset}
    refs = []
    for packet in packets:
        cand = packet["candidate"]
        candid = packet.get("candid", cand.get("candid"))
        band = ZTF_BANDS.get(int(cand["fid"]), str(int(cand["fid"])))
        refs.append(AlertRef(str(packet["objectId"]), str(candid), float(cand["jd"]) - JD_TO_MJD, band, source))
    return refs



