"""Retraction: take back a detection (or a whole object), rebuild the classification, keep the record.

A detection found wrong after the fact (a bad subtraction, a time in JD) is retracted, never edited in
place: inside one write transaction its row moves to the ``retracted`` table (with when, and whether one
detection or the whole object was taken back), and the object's recurrent state, probabilities and history
are rebuilt from the detections that remain -- the same rebuild an out-of-order detection triggers, so the
object then has exactly the probabilities ``Classifier.predict_proba`` gives the remaining light curve. A
retracted alert id stays retracted: the same alert sent again is counted as a repeat and ignored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lcrnn.errors import LcrnnError
from lcrnn.serve.incremental import IncrementalClassifier, Photometry
from lcrnn.serve.store.observe import (
    lock_objects,
    prob_dict,
    state_of,
    stored_photometry,
    write_history,
    write_probabilities,
    write_states,
)
from lcrnn.serve.store.schema import StoreTables

__all__ = ["Retraction", "UnknownObservationError", "retract_object", "retract_observation"]

_EMPTY = Photometry.of([], [], [])
_KEPT = ("object_id", "mjd", "mag", "mag_err", "band", "alert_id", "received_at")


class UnknownObservationError(LcrnnError, KeyError):
    """No stored detection of the object at the time given."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Retraction:
    """What a retraction did: ``retracted`` detections taken back; the object's ``n_obs`` and
    ``probabilities`` (class -> probability, empty when no detection remains) after the rebuild."""

    object_id: str
    retracted: int
    n_obs: int = 0
    probabilities: dict[str, float] = field(default_factory=dict)


def _move_to_retracted(conn: Connection, tables: StoreTables, where: sa.ColumnElement, scope: str) -> int:
    """Move the detections matching ``where`` to the ``retracted`` table; return how many."""
    ob = tables.observations.c
    rows = [dict(r._mapping) for r in conn.execute(sa.select(*(ob[c] for c in _KEPT)).where(where))]
    if rows:
        now = time.time()
        conn.execute(sa.insert(tables.retracted), [{**r, "retracted_at": now, "scope": scope} for r in rows])
        conn.execute(sa.delete(tables.observations).where(where))
    return len(rows)


def retract_observation(
    conn: Connection, tables: StoreTables, object_id: str, mjd: float, model: IncrementalClassifier
) -> Retraction:
    """Retract the detection of ``object_id`` at ``mjd`` and rebuild the object from what remains.

    Raises
    ------
    UnknownObjectError
        If the object is not registered.
    UnknownObservationError
        If it has no detection at ``mjd`` (the stored times are in ``GET /objects/{object_id}``).
    """
    row = lock_objects(conn, tables, [object_id])[object_id]
    ob = tables.observations.c
    n = _move_to_retracted(conn, tables, (ob.object_id == object_id) & (ob.mjd == float(mjd)), "observation")
    if n == 0:
        raise UnknownObservationError(
            f"Object {object_id!r} has no detection at MJD {mjd!r}; GET /objects/{object_id} lists its "
            "detections with their exact times."
        )
    remaining = stored_photometry(conn, tables, [object_id]).get(object_id)
    if remaining is None:
        _reset(conn, tables, object_id)
        return Retraction(object_id, n)
    [update] = model.update_many([state_of(row, model)], [_EMPTY], [remaining])
    probs = prob_dict(model.classes, update.state.probabilities)
    write_states(conn, tables, [object_id], [update], [probs], time.time())
    write_probabilities(conn, tables, [object_id], [probs])
    write_history(conn, tables, [object_id], [update])  # a rebuild: the old history rows are replaced
    return Retraction(object_id, n, update.state.n_obs, probs)


def _reset(conn: Connection, tables: StoreTables, object_id: str) -> None:
    """An object whose last detection was retracted: registered, never classified."""
    for table in (tables.probabilities, tables.history):
        conn.execute(sa.delete(table).where(table.c.object_id == object_id))
    cleared = ("first_mjd", "last_mjd", "state", "probabilities", "leading_class", "leading_prob")
    values = dict.fromkeys(cleared)
    conn.execute(
        sa.update(tables.objects)
        .where(tables.objects.c.object_id == object_id)
        .values(n_obs=0, updated_at=time.time(), **values)
    )


def retract_object(conn: Connection, tables: StoreTables, object_id: str) -> Retraction:
    """Retract an object: its detections go to the ``retracted`` table, everything else about it is removed.

    Raises
    ------
    UnknownObjectError
        If the object is not registered.
    """
    lock_objects(conn, tables, [object_id])
    n = _move_to_retracted(conn, tables, tables.observations.c.object_id == object_id, "object")
    for table in (tables.probabilities, tables.history, tables.upper_limits, tables.objects):
        conn.execute(sa.delete(table).where(table.c.object_id == object_id))
    return Retraction(object_id, n)
