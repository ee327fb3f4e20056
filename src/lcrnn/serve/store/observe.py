"""The write path of new photometry: one transaction stores detections and advances the classifications.

:func:`add_observations` runs inside a write transaction, in named steps: lock the objects' rows, store the
upper limits, drop repeats, group the new detections by object in time order, advance the recurrent states
(rebuilt from the stored photometry when a detection arrives out of time order), then write detections,
states, probabilities and history together, so that a crash leaves all of them or none.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lcrnn.serve.incremental import IncrementalClassifier, ModelMismatchError, ObjectState, Photometry, Update
from lcrnn.serve.store.database import chunks, insert_rows, update_rows
from lcrnn.serve.store.errors import UnknownObjectError
from lcrnn.serve.store.schema import StoreTables

__all__ = ["IngestResult", "add_observations", "prob_dict"]

Columns = dict[str, np.ndarray]  # what lcrnn.serve.store.validation returns


@dataclass(frozen=True)
class IngestResult:
    """What one batch of observations did.

    ``accepted`` new detections were stored and classified; ``duplicates`` were already known (same object and
    time, or same alert id) and ignored; ``rebuilt`` objects had their state recomputed because a detection
    arrived out of time order; ``upper_limits`` non-detections were stored. ``objects`` maps each updated
    object id to its ``n_obs`` and ``probabilities`` (class -> probability).
    """

    accepted: int = 0
    duplicates: int = 0
    rebuilt: int = 0
    upper_limits: int = 0
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)


def add_observations(
    conn: Connection, tables: StoreTables, obs: Columns, uls: Columns, model: IncrementalClassifier
) -> IngestResult:
    """Store checked detections ``obs`` and upper limits ``uls`` and advance their objects' classifications.

    Raises
    ------
    UnknownObjectError
        If any object was never registered (the caller's transaction then writes nothing).
    """
    rows = lock_objects(conn, tables, sorted(set(obs["object_id"].tolist()) | set(uls["object_id"].tolist())))
    n_ul = insert_upper_limits(conn, tables, uls) if len(uls["mjd"]) else 0
    keep = unseen(conn, tables, obs)
    n_dup = int(len(keep) - keep.sum())
    if not keep.any():
        return IngestResult(duplicates=n_dup, upper_limits=n_ul)
    new = {k: v[keep] for k, v in obs.items()}
    ids, fresh = by_object(new)
    current = [state_of(rows[i], model) for i in ids]
    updates = model.update_many(current, fresh, full_photometry(conn, tables, model, ids, current, fresh))
    # Rounded once, written thrice (objects, probabilities, the response).
    probs = [prob_dict(model.classes, u.state.probabilities) for u in updates]
    now = time.time()
    insert_detections(conn, tables, new, now)
    write_states(conn, tables, ids, updates, probs, now)
    write_probabilities(conn, tables, ids, probs)
    rebuilt = write_history(conn, tables, ids, updates)
    return IngestResult(
        accepted=int(keep.sum()),
        duplicates=n_dup,
        rebuilt=rebuilt,
        upper_limits=n_ul,
        objects={oid: {"n_obs": u.state.n_obs, "probabilities": p} for oid, u, p in zip(ids, updates, probs)},
    )


# --- reading what the update needs --------------------------------------------------------------------------


def lock_objects(conn: Connection, tables: StoreTables, ids: list[str]) -> dict[str, Any]:
    """The ``objects`` rows of ``ids``, locked for this transaction; every id must be registered."""
    o = tables.objects.c
    rows: dict[str, Any] = {}
    for chunk in chunks(ids):
        # Row locks in id order (PostgreSQL); on SQLite BEGIN IMMEDIATE already holds the write lock.
        q = sa.select(tables.objects).where(o.object_id.in_(chunk)).order_by(o.object_id).with_for_update()
        rows.update({r.object_id: r for r in conn.execute(q)})
    unknown = [i for i in ids if i not in rows]
    if unknown:
        raise UnknownObjectError(unknown)
    return rows


def unseen(conn: Connection, tables: StoreTables, obs: Columns) -> np.ndarray:
    """Which detections are new: neither stored (nor retracted) nor earlier in this batch, by time or alert id."""
    ob = tables.observations.c
    seen_mjd: set[tuple[str, float]] = set()
    for chunk in chunks(sorted(set(obs["object_id"].tolist()))):
        q = sa.select(ob.object_id, ob.mjd).where(ob.object_id.in_(chunk))
        seen_mjd.update((oid, float(m)) for oid, m in conn.execute(q))
    seen_alert: set[str] = set()
    retracted = tables.retracted.c.alert_id  # a re-sent retracted alert stays retracted
    for chunk in chunks(sorted({a for a in obs["alert_id"] if a is not None})):
        seen_alert.update(conn.execute(sa.select(ob.alert_id).where(ob.alert_id.in_(chunk))).scalars())
        seen_alert.update(conn.execute(sa.select(retracted).where(retracted.in_(chunk))).scalars())
    keep = np.zeros(len(obs["mjd"]), dtype=bool)
    for i, (oid, mjd, alert) in enumerate(zip(obs["object_id"], obs["mjd"].tolist(), obs["alert_id"])):
        if (oid, mjd) in seen_mjd or (alert is not None and alert in seen_alert):
            continue
        keep[i] = True
        seen_mjd.add((oid, mjd))
        if alert is not None:
            seen_alert.add(alert)
    return keep


def by_object(new: Columns) -> tuple[list[str], list[Photometry]]:
    """The new detections grouped by object (ids in sorted order), each group in time order.

    Plain arrays: a pandas groupby costs more than the whole update for the usual small batch.
    """
    oid, mjd, mag, err = new["object_id"], new["mjd"], new["mag"], new["mag_err"]
    order = np.lexsort((mjd, oid.astype(str)))
    oid, mjd, mag, err = oid[order], mjd[order], mag[order], err[order]
    bounds = np.flatnonzero(np.r_[True, oid[1:] != oid[:-1], True])
    ids = [str(oid[b]) for b in bounds[:-1]]
    return ids, [Photometry(mjd[b:e], mag[b:e], err[b:e]) for b, e in itertools.pairwise(bounds)]


def state_of(row: Any, model: IncrementalClassifier) -> ObjectState:
    """The classifier's state of an object, from its ``objects`` row."""
    context = np.array([row.gal_l, row.gal_b, row.galaxy_dist_arcsec], dtype=np.float32)
    if row.n_obs == 0 or row.state is None:
        return ObjectState(context=context)
    probs = row.probabilities or {}
    try:
        p = np.array([probs[c] for c in model.classes], dtype=np.float32)
    except KeyError as exc:
        raise ModelMismatchError(
            f"Object {row.object_id} was classified with classes {sorted(probs)}, the model has {model.classes}; "
            "use the same model or a fresh database."
        ) from exc
    return ObjectState(
        context=context,
        n_obs=int(row.n_obs),
        first_mjd=row.first_mjd,
        last_mjd=row.last_mjd,
        state=np.frombuffer(row.state, dtype=np.float32).copy(),
        probabilities=p,
    )


def full_photometry(
    conn: Connection,
    tables: StoreTables,
    model: IncrementalClassifier,
    ids: Sequence[str],
    current: Sequence[ObjectState],
    fresh: Sequence[Photometry],
) -> list[Photometry | None]:
    """Stored plus new photometry for objects whose update needs it (a detection out of time order, or a
    features model that still reads; see ``IncrementalClassifier.needs_photometry``); else None."""
    late = [i for i, state, new in zip(ids, current, fresh) if model.needs_photometry(state, new)]
    stored = stored_photometry(conn, tables, late)
    full: list[Photometry | None] = []
    for oid, new in zip(ids, fresh):
        old = stored.get(oid)
        if old is None:
            full.append(None)
        else:
            full.append(
                Photometry.of(
                    np.r_[old.mjd, new.mjd], np.r_[old.mag, new.mag], np.r_[old.mag_err, new.mag_err]
                )
            )
    return full


def stored_photometry(
    conn: Connection, tables: StoreTables, object_ids: Sequence[str]
) -> dict[str, Photometry]:
    """The stored detections of each object, in time order."""
    ob = tables.observations.c
    parts: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for chunk in chunks(list(object_ids)):
        q = sa.select(ob.object_id, ob.mjd, ob.mag, ob.mag_err).where(ob.object_id.in_(chunk))
        for oid, mjd, mag, err in conn.execute(q):
            parts[oid].append((mjd, mag, err))
    return {oid: Photometry.of(*zip(*rows)) for oid, rows in parts.items()}


# --- writing ------------------------------------------------------------------------------------------------


def insert_upper_limits(conn: Connection, tables: StoreTables, uls: Columns) -> int:
    """Store the upper limits not stored yet (same object, time and band); return how many."""
    ul = tables.upper_limits.c
    have: set[tuple[str, float, str]] = set()
    for chunk in chunks(sorted(set(uls["object_id"].tolist()))):
        q = sa.select(ul.object_id, ul.mjd, ul.band).where(ul.object_id.in_(chunk))
        have.update((a, float(b), c) for a, b, c in conn.execute(q))
    new = []
    columns = (uls["object_id"], uls["mjd"].tolist(), uls["limit_mag"].tolist(), uls["band"])
    for oid, mjd, limit, band in zip(*columns):
        if (oid, mjd, band) not in have:
            have.add((oid, mjd, band))
            new.append((oid, mjd, limit, band))
    insert_rows(conn, tables.upper_limits, ("object_id", "mjd", "limit_mag", "band"), new)
    return len(new)


def insert_detections(conn: Connection, tables: StoreTables, new: Columns, now: float) -> None:
    """Store the new detections, in arrival order."""
    names = ("object_id", "mjd", "mag", "mag_err", "band", "alert_id")
    columns = [new[c].tolist() for c in names]
    insert_rows(conn, tables.observations, (*names, "received_at"), list(zip(*columns, [now] * len(columns[0]))))


def write_states(
    conn: Connection,
    tables: StoreTables,
    ids: Sequence[str],
    updates: Sequence[Update],
    probs: Sequence[dict[str, float]],
    now: float,
) -> None:
    """Write each object's new recurrent state, detection count, times and probabilities."""
    columns = ("n_obs", "first_mjd", "last_mjd", "state", "probabilities", "leading_class", "leading_prob",
               "updated_at")
    rows = []
    for oid, u, p in zip(ids, updates, probs):
        leading = max(p, key=p.__getitem__)
        rows.append((u.state.n_obs, u.state.first_mjd, u.state.last_mjd,
                     np.asarray(u.state.state, np.float32).tobytes(), json.dumps(p), leading, p[leading], now, oid))
    update_rows(conn, tables.objects, columns, "object_id", rows)


def write_probabilities(
    conn: Connection, tables: StoreTables, ids: Sequence[str], probs: Sequence[dict[str, float]]
) -> None:
    """Replace the per-class probability rows (what candidate queries search) of the updated objects."""
    for chunk in chunks(list(ids)):
        conn.execute(sa.delete(tables.probabilities).where(tables.probabilities.c.object_id.in_(chunk)))
    # The same rounded numbers as the JSON column.
    insert_rows(conn, tables.probabilities, ("object_id", "cls", "prob"),
                [(oid, c, v) for oid, p in zip(ids, probs) for c, v in p.items()])


def write_history(
    conn: Connection, tables: StoreTables, ids: Sequence[str], updates: Sequence[Update]
) -> int:
    """Append each object's new history rows (all of them after a rebuild); return how many were rebuilt."""
    rebuilt = [oid for oid, u in zip(ids, updates) if u.rebuilt]
    for chunk in chunks(rebuilt):
        conn.execute(sa.delete(tables.history).where(tables.history.c.object_id.in_(chunk)))
    insert_rows(conn, tables.history, ("object_id", "step", "mjd", "probabilities"), [
        (oid, u.history_start + j + 1, mjd, json.dumps(p))
        for oid, u in zip(ids, updates)
        for j, (mjd, p) in enumerate(zip(u.history_mjd.tolist(), np.round(u.history.astype(np.float64), 7).tolist()))
    ])
    return len(rebuilt)


def prob_dict(classes: Sequence[str], probs: np.ndarray) -> dict[str, float]:
    """Class -> probability, rounded once to the 7 digits every table and response holds."""
    return dict(zip(classes, np.round(np.asarray(probs, np.float64), 7).tolist()))
