"""The classification message published for each processed alert (``--output-topic``), as JSON.

One message per alert, keyed by ``object_id`` (so one object's messages stay in order on one partition)::

    {
      "schema": "lcrnn.classification/1",
      "object_id": "ZTF17aaacxxf",          # the alert's objectId
      "alert_id": "739260766315010006",     # its candid
      "mjd": 58493.2597,                    # the triggering detection (candidate.jd - 2400000.5)
      "band": "r",                          # its band (candidate.fid 1/2/3 -> g/r/i)
      "n_obs": 23,                          # detections classified up to and including it
      "probabilities": {"VS": 0.91, "SN": 0.05, "AGN": 0.04},
      "leading_class": "VS",
      "leading_prob": 0.91,
      "model": {"name": "gru-focal", "weights_sha256": "..."},
      "source": {"topic": "ztf_20260130_programid1", "partition": 3, "offset": 1207}
    }

``probabilities`` are those after the object's detections up to the alert's time, which equal the batch
model's (``Classifier.predict_proba``) on the same first ``n_obs`` detections: they are read from the
store's history after its transaction committed. An alert sent again stores nothing and its message is
published again, the same apart from ``source``: consumers deduplicate by ``alert_id``. An alert whose
own detection the store did not classify (none of the object's detections up to its time was taken) has
``n_obs`` 0 and empty ``probabilities``.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lcrnn.serve.store.database import chunks, read_connection

__all__ = ["SCHEMA", "AlertRef", "classification_messages"]

SCHEMA = "lcrnn.classification/1"
_TOL = 1e-9  # days: an alert's time read back from the store's double column


@dataclass(frozen=True)
class AlertRef:
    """What an output message names of its alert and of the message it came in."""

    object_id: str
    alert_id: str
    mjd: float
    band: str
    source: dict[str, Any]


def classification_messages(service: Any, alerts: Sequence[AlertRef], model: dict[str, str]) -> list[dict[str, Any]]:
    """One message per alert, from the store's history of its object (see the module notes)."""
    store = service.store
    classes = list(service.model.classes)
    if not alerts:
        return []
    # The rows at the alerts' own times first (a poll's alerts span little time; an object's history may span
    # years); the whole history only of objects with an alert whose detection the store did not take.
    history = _history(store, sorted({a.object_id for a in alerts}),
                       (min(a.mjd for a in alerts) - _TOL, max(a.mjd for a in alerts) + _TOL))
    missing = sorted({a.object_id for a in alerts if not _has(history.get(a.object_id), a.mjd)})
    if missing:
        history.update(_history(store, missing))
    out = []
    for alert in alerts:
        steps, times, probs = history.get(alert.object_id, ([], [], []))
        k = bisect.bisect_right(times, alert.mjd + _TOL)  # rows up to and including the alert's time
        p = dict(zip(classes, probs[k - 1])) if k else {}
        lead = max(p, key=p.__getitem__) if p else None
        out.append({
            "schema": SCHEMA, "object_id": alert.object_id, "alert_id": alert.alert_id, "mjd": alert.mjd,
            "band": alert.band, "n_obs": steps[k - 1] if k else 0, "probabilities": p,
            "leading_class": lead, "leading_prob": p[lead] if lead else None, "model": model,
            "source": alert.source,
        })
    return out


def _has(rows: tuple[list[int], list[float], list[list[float]]] | None, mjd: float) -> bool:
    """Whether ``rows`` hold the history row of a detection at ``mjd``."""
    if rows is None:
        return False
    k = bisect.bisect_right(rows[1], mjd + _TOL)
    return k > 0 and rows[1][k - 1] >= mjd - _TOL


def _history(
    store: Any, object_ids: list[str], window: tuple[float, float] | None = None
) -> dict[str, tuple[list[int], list[float], list[list[float]]]]:
    """Each object's history rows (within ``window`` of times when given) in step order: steps, times and
    probabilities (the model's class order)."""
    h = store.history.c
    rows: dict[str, list[tuple[int, float, list[float]]]] = defaultdict(list)
    with read_connection(store.engine) as conn:
        for chunk in chunks(object_ids):
            q = sa.select(h.object_id, h.step, h.mjd, h.probabilities).where(h.object_id.in_(chunk))
            if window is not None:
                q = q.where(h.mjd.between(*window))
            for oid, step, mjd, probs in conn.execute(q):
                rows[oid].append((step, mjd, probs))
    out = {}
    for oid, items in rows.items():
        items.sort()
        out[oid] = ([s for s, _, _ in items], [m for _, m, _ in items], [p for _, _, p in items])
    return out
