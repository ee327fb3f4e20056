"""Reads of the store, as JSON-ready values: one object, recent objects, follow-up candidates, counts."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lcrnn.serve.store.schema import StoreTables

__all__ = ["bound_classes", "bound_model", "candidates", "counts", "get_object", "summary"]


def bound_model(conn: Connection, tables: StoreTables) -> str | None:
    """The JSON description of the model that writes this store's states, or None before the first."""
    meta = tables.meta.c
    return conn.execute(sa.select(meta.value).where(meta.key == "model")).scalar_one_or_none()


def bound_classes(conn: Connection, tables: StoreTables) -> tuple[str, ...]:
    """Class names of the bound model (empty before one is bound)."""
    text = bound_model(conn, tables)
    return tuple(json.loads(text)["classes"]) if text else ()


def summary(row: Any) -> dict[str, Any]:
    """One ``objects`` row as the service shows it."""
    return {
        "object_id": row.object_id,
        "ra": row.ra,
        "dec": row.dec,
        "context": {"gal_l": row.gal_l, "gal_b": row.gal_b, "galaxy_dist_arcsec": row.galaxy_dist_arcsec},
        "n_obs": row.n_obs,
        "first_mjd": row.first_mjd,
        "last_mjd": row.last_mjd,
        "probabilities": dict(row.probabilities or {}),
        "leading_class": row.leading_class,
        "leading_prob": row.leading_prob,
        "updated_at": row.updated_at,
    }


def get_object(
    conn: Connection, tables: StoreTables, object_id: str, with_photometry: bool = True
) -> dict[str, Any] | None:
    """Everything known about one object, or None if it is not registered (see ``StateStore.get_object``)."""
    row = conn.execute(sa.select(tables.objects).where(tables.objects.c.object_id == object_id)).first()
    if row is None:
        return None
    out = summary(row)
    classes = list((row.probabilities or {}).keys())
    h = tables.history.c
    out["history"] = [
        {"step": s, "mjd": m, "probabilities": dict(zip(classes, p))}
        for s, m, p in conn.execute(
            sa.select(h.step, h.mjd, h.probabilities).where(h.object_id == object_id).order_by(h.step)
        )
    ]
    if with_photometry:
        ob, ul = tables.observations.c, tables.upper_limits.c
        detections = sa.select(ob.mjd, ob.mag, ob.mag_err, ob.band, ob.alert_id)
        detections = detections.where(ob.object_id == object_id)
        limits = sa.select(ul.mjd, ul.limit_mag, ul.band).where(ul.object_id == object_id)
        out["observations"] = [dict(r._mapping) for r in conn.execute(detections.order_by(ob.mjd))]
        out["upper_limits"] = [dict(r._mapping) for r in conn.execute(limits.order_by(ul.mjd))]
        r = tables.retracted.c
        taken_back = sa.select(r.mjd, r.mag, r.mag_err, r.band, r.alert_id, r.retracted_at)
        taken_back = taken_back.where(r.object_id == object_id, r.scope == "observation")
        out["retracted"] = [dict(x._mapping) for x in conn.execute(taken_back.order_by(r.retracted_at, r.id))]
    return out


def candidates(
    conn: Connection, tables: StoreTables, cls: str, min_prob: float, limit: int
) -> list[dict[str, Any]]:
    """Objects whose probability of ``cls`` is at least ``min_prob``, newest detection first."""
    o, p = tables.objects.c, tables.probabilities.c
    q = (
        sa.select(tables.objects, p.prob)
        .join(tables.probabilities, p.object_id == o.object_id)
        .where(p.cls == cls, p.prob >= float(min_prob))
        .order_by(o.last_mjd.desc(), o.updated_at.desc(), o.object_id)
        .limit(limit)
    )
    return [{**summary(r), "prob": r.prob} for r in conn.execute(q)]


def counts(conn: Connection, tables: StoreTables) -> dict[str, int]:
    """Rows of objects, detections, upper limits, history and retracted detections."""
    return {
        name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        for name, table in (
            ("objects", tables.objects),
            ("observations", tables.observations),
            ("upper_limits", tables.upper_limits),
            ("history", tables.history),
            ("retracted", tables.retracted),
        )
    }
