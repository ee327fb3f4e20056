"""The object list an observer vets: filtered, sorted, searched by id or cone, one page at a time.

Everything -- filters, the cone, the order and the page -- is one SQL query (and one count), so a page of a
store of 100,000 objects costs an index scan, not a read of every object. A cone is searched in two steps: a
declination band and a right-ascension window (wrapped through RA 0/360, and the whole circle when the cone
reaches a pole) that indexes can serve, then the exact angular separation (haversine) of what is left. On
SQLite the separation is a Python function registered on the connection (SQLite's own maths functions are a
compile-time option), on PostgreSQL its trigonometric functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lcrnn.serve.store.queries import summary
from lcrnn.serve.store.schema import StoreTables

__all__ = ["SORT_KEYS", "Cone", "ObjectQuery", "angular_separation_arcsec", "search_objects"]

SortKey = Literal["updated", "last_mjd", "first_mjd", "n_obs", "prob", "distance", "object_id"]
SORT_KEYS: tuple[str, ...] = SortKey.__args__  # type: ignore[attr-defined]
_SEPARATION_FN = "lcrnn_separation_arcsec"  # the SQLite function's name
_MARGIN_DEG = 1e-6  # the prefilter is widened by this much, so rounding never loses an object at the edge


@dataclass(frozen=True)
class Cone:
    """A circle on the sky: centre (ICRS degrees) and radius in arcsec."""

    ra: float
    dec: float
    radius_arcsec: float


@dataclass(frozen=True)
class ObjectQuery:
    """What to list: filters, search, order and page (all optional; by default the newest first)."""

    sort: SortKey = "updated"  # "prob": probability of ``prob_cls`` (leading probability without it)
    descending: bool = True
    cls: str | None = None  # leading class
    prob_cls: str | None = None  # class whose probability ``min_prob`` and ``sort="prob"`` read
    min_prob: float | None = None
    min_n_obs: int = 0
    object_id: str | None = None  # exact id
    id_prefix: str | None = None
    cone: Cone | None = None
    limit: int = 50
    offset: int = 0


def angular_separation_arcsec(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance between two positions in degrees, in arcsec (haversine: exact at every scale)."""
    d1, d2 = math.radians(dec1), math.radians(dec2)
    half_dra = math.radians(ra2 - ra1) / 2
    hav = math.sin((d2 - d1) / 2) ** 2 + math.cos(d1) * math.cos(d2) * math.sin(half_dra) ** 2
    return math.degrees(2 * math.asin(math.sqrt(min(1.0, max(0.0, hav))))) * 3600.0


def search_objects(
    conn: Connection, tables: StoreTables, query: ObjectQuery
) -> tuple[list[dict[str, Any]], int]:
    """One page of the objects ``query`` selects, in its order, and how many it selects in all.

    Each row is :func:`~lcrnn.serve.store.queries.summary` plus ``prob`` (the probability ``min_prob`` and
    ``sort="prob"`` read; None before the first detection) and ``separation_arcsec`` (None without a cone).
    Objects without a value of the sort key (no detection yet) come last in either direction, ordered by id.
    """
    o = tables.objects.c
    source: sa.FromClause = tables.objects
    prob: sa.ColumnElement[Any] = o.leading_prob
    if query.prob_cls is not None:
        pc = tables.probabilities.alias("pc")
        source = source.outerjoin(pc, sa.and_(pc.c.object_id == o.object_id, pc.c.cls == query.prob_cls))
        prob = pc.c.prob
    separation = _separation(conn, o, query.cone) if query.cone is not None else sa.null()
    where = _conditions(conn, o, prob, query)
    if query.cone is not None:
        where.append(separation <= query.cone.radius_arcsec)
    key = {"updated": o.updated_at, "last_mjd": o.last_mjd, "first_mjd": o.first_mjd, "n_obs": o.n_obs,
           "prob": prob, "distance": separation, "object_id": o.object_id}[query.sort]
    # The outer join neither adds nor removes objects: count without it unless a filter reads it.
    counted = source if query.min_prob is not None and query.prob_cls is not None else tables.objects
    total = _count(conn, counted, *where)

    def ids(*extra: sa.ColumnElement[bool], order: list[Any], limit: int, offset: int) -> list[str]:
        q = sa.select(o.object_id).select_from(source).where(*where, *extra)
        q = q.order_by(*(c.desc() if query.descending else c.asc() for c in order))
        return list(conn.execute(q.limit(limit).offset(offset)).scalars())

    # Objects without a value of the key come after the others: two plain queries rather than NULLS LAST,
    # which neither backend's indexes serve in both directions. Ids first, then their rows (a deep page skips
    # index entries, not rows).
    ordered = [key, o.object_id] if query.sort != "object_id" else [key]
    page = ids(key.is_not(None), order=ordered, limit=query.limit, offset=query.offset)
    if len(page) < query.limit and query.sort in ("last_mjd", "first_mjd", "prob"):
        valued = query.offset + len(page) if page else _count(conn, source, *where, key.is_not(None))
        page += ids(key.is_(None), order=[o.object_id], limit=query.limit - len(page),
                    offset=max(0, query.offset - valued))
    rows = conn.execute(
        sa.select(tables.objects, prob.label("prob_of"), separation.label("separation"))
        .select_from(source).where(o.object_id.in_(page))
    ).all()
    by_id = {r.object_id: r for r in rows}
    out = [
        {**summary(r), "prob": r.prob_of,
         "separation_arcsec": None if query.cone is None else float(r.separation)}
        for r in (by_id[i] for i in page)
    ]
    return out, total


def _count(conn: Connection, source: sa.FromClause, *where: sa.ColumnElement[bool]) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(source).where(*where)).scalar_one())


def _conditions(
    conn: Connection, o: Any, prob: sa.ColumnElement[Any], query: ObjectQuery
) -> list[sa.ColumnElement[bool]]:
    """The WHERE terms of the filters, the id search and the cone's prefilter."""
    where: list[sa.ColumnElement[bool]] = []
    if query.cls is not None:
        where.append(o.leading_class == query.cls)
    if query.min_prob is not None:
        where.append(prob >= float(query.min_prob))
    if query.min_n_obs > 0:
        where.append(o.n_obs >= int(query.min_n_obs))
    if query.object_id is not None:
        where.append(o.object_id == query.object_id)
    if query.id_prefix:
        prefix = query.id_prefix
        # substr is exact and case-sensitive on both backends (SQLite's LIKE folds case); the range lets
        # SQLite's primary-key index serve it, and holds because SQLite compares text by code point.
        where.append(sa.func.substr(o.object_id, 1, len(prefix)) == prefix)
        if conn.dialect.name == "sqlite":
            where.append(o.object_id >= prefix)
    if query.cone is not None:
        where.extend(_cone_prefilter(o, query.cone))
    return where


def _cone_prefilter(o: Any, cone: Cone) -> list[sa.ColumnElement[bool]]:
    """A declination band and an RA window that contain the cone (what the (dec, ra) index serves)."""
    r = cone.radius_arcsec / 3600.0
    where = [o.dec >= cone.dec - r - _MARGIN_DEG, o.dec <= cone.dec + r + _MARGIN_DEG]
    if abs(cone.dec) + r >= 90.0 - _MARGIN_DEG or r >= 90.0:
        return where  # the cone holds a pole: every RA
    # The widest RA offset of a small circle of radius r centred at declination dec: asin(sin r / cos dec).
    ratio = math.sin(math.radians(r)) / math.cos(math.radians(cone.dec))
    half = math.degrees(math.asin(min(1.0, ratio))) + _MARGIN_DEG
    if half >= 180.0:
        return where
    lo, hi = cone.ra - half, cone.ra + half
    if lo < 0.0:
        where.append(sa.or_(o.ra >= lo + 360.0, o.ra <= hi))
    elif hi >= 360.0:
        where.append(sa.or_(o.ra >= lo, o.ra <= hi - 360.0))
    else:
        where.append(o.ra.between(lo, hi))
    return where


_TINY = 1e-100


def _separation(conn: Connection, o: Any, cone: Cone) -> sa.ColumnElement[float]:
    """The angular separation of each object from the cone's centre [arcsec], as a SQL expression."""
    if conn.dialect.name == "sqlite":
        conn.connection.driver_connection.create_function(  # type: ignore[union-attr]
            _SEPARATION_FN, 4, angular_separation_arcsec, deterministic=True
        )
        return getattr(sa.func, _SEPARATION_FN)(o.ra, o.dec, cone.ra, cone.dec, type_=sa.Double)
    f = sa.func
    # PostgreSQL raises on float underflow, so coordinates below 1e-100 deg count as 0 and a sine below 1e-100
    # (far below any astrometry) as 1e-100: every product then stays representable.
    ra0, dec0 = (0.0 if abs(v) < _TINY else v for v in (cone.ra, cone.dec))
    ra, dec = (sa.case((f.abs(c) < _TINY, 0.0), else_=c) for c in (o.ra, o.dec))
    d0 = math.radians(dec0)
    half_ddec = f.greatest(f.abs(f.sin((f.radians(dec) - d0) / 2.0)), _TINY)
    half_dra = f.greatest(f.abs(f.sin(f.radians(ra - ra0) / 2.0)), _TINY)
    hav = half_ddec * half_ddec + max(math.cos(d0), _TINY) * f.greatest(f.cos(f.radians(dec)), _TINY) * (
        half_dra * half_dra)
    clipped = f.least(1.0, f.greatest(0.0, hav))
    return f.degrees(2 * f.asin(f.sqrt(clipped))) * 3600.0
