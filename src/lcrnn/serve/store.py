"""Where the real-time classifier keeps what it knows: objects, photometry, recurrent states, probabilities.

One SQL database (SQLAlchemy Core) holds everything, so that the service and the ``lcrnn ingest`` command can
share it and a crash loses nothing that was acknowledged:

* SQLite is the embedded default (a file, in WAL mode with a busy timeout, each write transaction opened with
  ``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing half-way);
* PostgreSQL is used by URL (``postgresql+psycopg://user@host/db``); the rows of the objects being updated are
  locked with ``SELECT ... FOR UPDATE``, so concurrent updates of one object are applied one after the other.

A write returns only after its transaction has committed, so an acknowledged observation survives ``kill -9``.
Repeated observations (same object and time, or same alert id) are recognised and ignored; unique
constraints back that up against any race the checks could miss.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from lcrnn.errors import InvalidLightCurveError, InvalidTableError, LcrnnError
from lcrnn.serve.incremental import IncrementalClassifier, ModelMismatchError, ObjectState, Photometry

__all__ = [
    "IngestResult",
    "ObjectConflictError",
    "StateStore",
    "StoreError",
    "UnknownObjectError",
    "observations_columns",
]

_CHUNK = 500  # ids per IN (...) clause: well under every backend's parameter limit
_RETRIES = 8


class StoreError(LcrnnError, RuntimeError):
    """The database could not complete a write (busy for too long, or unreachable)."""


class UnknownObjectError(LcrnnError, KeyError):
    """Observations arrived for objects that were never registered."""

    def __init__(self, object_ids: Sequence[str]) -> None:
        self.object_ids = list(object_ids)
        shown = ", ".join(self.object_ids[:5]) + (", ..." if len(self.object_ids) > 5 else "")
        super().__init__(
            f"{len(self.object_ids)} unknown object(s) ({shown}); register them first "
            "(POST /objects with object_id, ra, dec, or an objects table for lcrnn ingest)."
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ObjectConflictError(LcrnnError, ValueError):
    """An object id was registered again at a different position."""


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


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def observations_columns(
    rows: pd.DataFrame | Iterable[Mapping[str, Any]], *, upper_limits: bool = False
) -> dict[str, np.ndarray]:
    """Check and normalise observations (or upper limits) into the column arrays the store writes.

    Plain arrays rather than a DataFrame: a service call often carries one observation, and building a
    small DataFrame would cost more than the database round trip.

    Parameters
    ----------
    rows
        A DataFrame or records with ``object_id``, ``mjd``, ``mag``, ``mag_err`` and optional ``band``,
        ``alert_id``; for upper limits ``object_id``, ``mjd``, ``limit_mag`` and optional ``band``.
    upper_limits
        Validate as non-detections instead of detections.

    Returns
    -------
    dict of str to ndarray
        ``object_id`` (str objects), ``mjd`` and the magnitudes (float64), ``band`` (str, default ``"L"``),
        ``alert_id`` (str or None).

    Raises
    ------
    InvalidTableError
        If a required column is missing.
    InvalidLightCurveError
        Naming the rows with non-finite values or a ``mag_err`` that is not positive.
    """
    value_cols = ["limit_mag"] if upper_limits else ["mag", "mag_err"]
    needed = ["object_id", "mjd", *value_cols]
    if isinstance(rows, pd.DataFrame):
        missing = [c for c in needed if c not in rows.columns] if len(rows) else []
        raw = {c: rows[c].to_numpy(dtype=object) for c in [*needed, "band", "alert_id"] if c in rows.columns}
        n = len(rows)
    else:
        records = list(rows)
        keys = set().union(*(r.keys() for r in records)) if records else set()
        missing = [c for c in needed if c not in keys] if records else []
        raw = {
            c: np.array([r.get(c) for r in records], dtype=object)
            for c in [*needed, "band", "alert_id"]
            if c in keys
        }
        n = len(records)
    if missing:
        raise InvalidTableError(f"Observations are missing column(s) {missing}; they have {sorted(raw)}.")
    out: dict[str, np.ndarray] = {
        "object_id": np.array([str(x) for x in raw.get("object_id", [])], dtype=object)
    }
    for c in ["mjd", *value_cols]:
        out[c] = _as_float(raw.get(c, np.zeros(0, dtype=object)))
    bad = ~np.isfinite(np.stack([out[c] for c in ["mjd", *value_cols]], axis=1)).all(axis=1)
    if not upper_limits:
        bad |= ~(out["mag_err"] > 0)
    if bad.any():
        rows_bad = np.flatnonzero(bad)[:5].tolist()
        what = "limit_mag" if upper_limits else "mag, or a mag_err that is not > 0"
        raise InvalidLightCurveError(
            f"{int(bad.sum())} observation(s) have a non-finite mjd or {what} (rows {rows_bad}); fix or drop them."
        )
    band = raw.get("band", np.full(n, None, dtype=object))
    out["band"] = np.array(["L" if _missing(b) else str(b) for b in band], dtype=object)
    alert = raw.get("alert_id", np.full(n, None, dtype=object))
    out["alert_id"] = np.array([None if _missing(a) else str(a) for a in alert], dtype=object)
    return out


def _as_float(values: np.ndarray) -> np.ndarray:
    """Float64 copy; text that is not a number becomes NaN (and is then reported as invalid)."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(np.float64)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


class StateStore:
    """Objects, photometry, recurrent states and probabilities in one SQL database.

    Parameters
    ----------
    url
        SQLAlchemy URL: ``sqlite:///path/to/lcrnn.db`` (default backend) or
        ``postgresql+psycopg://user@host:5432/db``. A bare file path is taken as SQLite.
    prefix
        Prepended to every table name, so several stores (or test runs) can share one database.
    busy_timeout_s
        How long a SQLite writer waits for another to finish before giving up.

    Examples
    --------
    >>> store = StateStore("sqlite:///lcrnn.db")  # doctest: +SKIP
    >>> store.register_objects([{"object_id": "a", "ra": 10.0, "dec": 20.0, "gal_l": 1, "gal_b": 2,
    ...                          "galaxy_dist_arcsec": 120}])  # doctest: +SKIP
    >>> store.add_observations([{"object_id": "a", "mjd": 59000.1, "mag": 18.2, "mag_err": 0.05}], model)
    """

    def __init__(self, url: str, *, prefix: str = "lcrnn_", busy_timeout_s: float = 30.0) -> None:
        if "://" not in url:
            url = f"sqlite:///{url}"
        self.url = sa.engine.make_url(url)
        self.prefix = prefix
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if self.url.database in (None, "", ":memory:"):
                raise StoreError(
                    "An in-memory SQLite database cannot be shared between connections; give a file, "
                    "e.g. sqlite:///lcrnn.db."
                )
            self.engine = sa.create_engine(self.url, connect_args={"timeout": busy_timeout_s})
            _make_sqlite_durable(self.engine, busy_timeout_s)
        else:
            self.engine = sa.create_engine(self.url, pool_pre_ping=True)
        self._define_tables()
        try:
            self.metadata.create_all(self.engine)
        except OperationalError as exc:
            raise StoreError(
                f"Cannot open the database {self.url.render_as_string(hide_password=True)}: {exc.orig}"
            ) from exc

    # --- schema -------------------------------------------------------------------------------------------

    def _define_tables(self) -> None:
        p = self.prefix
        md = self.metadata = sa.MetaData()
        big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER only
        self.meta = sa.Table(
            f"{p}meta", md, sa.Column("key", sa.String(64), primary_key=True), sa.Column("value", sa.Text)
        )
        self.objects = sa.Table(
            f"{p}objects",
            md,
            sa.Column("object_id", sa.String(128), primary_key=True),
            sa.Column("ra", sa.Double, nullable=False),
            sa.Column("dec", sa.Double, nullable=False),
            sa.Column("gal_l", sa.Double),
            sa.Column("gal_b", sa.Double),
            sa.Column("galaxy_dist_arcsec", sa.Double),
            sa.Column("n_obs", sa.Integer, nullable=False, default=0),
            sa.Column("first_mjd", sa.Double),
            sa.Column("last_mjd", sa.Double),
            sa.Column("state", sa.LargeBinary),  # float32 recurrent state, IncrementalClassifier layout
            sa.Column("probabilities", sa.JSON),  # {class: probability}
            sa.Column("leading_class", sa.String(64)),
            sa.Column("leading_prob", sa.Double),
            sa.Column("created_at", sa.Double, nullable=False),
            sa.Column("updated_at", sa.Double, nullable=False),
            sa.Index(f"{p}ix_objects_updated", "updated_at"),
        )
        fk = sa.ForeignKey(f"{p}objects.object_id")
        self.observations = sa.Table(
            f"{p}observations",
            md,
            sa.Column("id", big_id, primary_key=True, autoincrement=True),
            sa.Column("object_id", sa.String(128), fk, nullable=False),
            sa.Column("mjd", sa.Double, nullable=False),
            sa.Column("mag", sa.Double, nullable=False),
            sa.Column("mag_err", sa.Double, nullable=False),
            sa.Column("band", sa.String(16), nullable=False),
            sa.Column("alert_id", sa.String(64)),
            sa.Column("received_at", sa.Double, nullable=False),
            sa.UniqueConstraint("object_id", "mjd", name=f"{p}uq_obs_object_mjd"),
            sa.UniqueConstraint("alert_id", name=f"{p}uq_obs_alert"),  # NULLs never collide
        )
        self.upper_limits = sa.Table(
            f"{p}upper_limits",
            md,
            sa.Column("id", big_id, primary_key=True, autoincrement=True),
            sa.Column("object_id", sa.String(128), sa.ForeignKey(f"{p}objects.object_id"), nullable=False),
            sa.Column("mjd", sa.Double, nullable=False),
            sa.Column("limit_mag", sa.Double, nullable=False),
            sa.Column("band", sa.String(16), nullable=False),
            sa.UniqueConstraint("object_id", "mjd", "band", name=f"{p}uq_ul_object_mjd_band"),
        )
        self.probabilities = sa.Table(  # one row per object and class: candidate queries use the index
            f"{p}probabilities",
            md,
            sa.Column("object_id", sa.String(128), sa.ForeignKey(f"{p}objects.object_id"), primary_key=True),
            sa.Column("cls", sa.String(64), primary_key=True),
            sa.Column("prob", sa.Double, nullable=False),
            sa.Index(f"{p}ix_prob_cls_prob", "cls", "prob"),
        )
        self.history = sa.Table(
            f"{p}history",
            md,
            sa.Column("object_id", sa.String(128), sa.ForeignKey(f"{p}objects.object_id"), primary_key=True),
            sa.Column("step", sa.Integer, primary_key=True),  # 1-based detection number, in time order
            sa.Column("mjd", sa.Double, nullable=False),
            sa.Column("probabilities", sa.JSON, nullable=False),  # list, in the model's class order
        )

    def drop_all(self) -> None:
        """Remove this store's tables (tests use it to clean up a shared PostgreSQL database)."""
        self.metadata.drop_all(self.engine)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    # --- transactions -------------------------------------------------------------------------------------

    def _write(self, work, *args: Any) -> Any:
        """Run ``work(conn, *args)`` in one write transaction, retrying on deadlocks and races."""
        for attempt in range(_RETRIES):
            try:
                with self.engine.begin() as conn:
                    return work(conn, *args)
            except IntegrityError:
                # Another writer inserted the same alert id / object first: the retry sees it as a duplicate.
                if attempt == _RETRIES - 1:
                    raise
            except OperationalError as exc:
                if not _is_transient(exc) or attempt == _RETRIES - 1:
                    raise StoreError(
                        f"The database stayed busy or failed: {exc.orig}. Retry later, or raise the busy timeout."
                    ) from exc
            time.sleep(0.01 * 2**attempt)
        raise StoreError("unreachable")  # pragma: no cover

    def _read(self) -> Connection:
        return self.engine.connect().execution_options(lcrnn_read=True)

    # --- the model the states belong to ------------------------------------------------------------------

    def bind_model(self, description: Mapping[str, Any]) -> None:
        """Record which model writes the states, or refuse a model other than the one that wrote them.

        Parameters
        ----------
        description
            :meth:`IncrementalClassifier.describe` output (classes, state size, max_len).

        Raises
        ------
        ModelMismatchError
            If the database holds states of a model with other classes, state size or ``max_len``.
        """
        text = json.dumps(dict(description), sort_keys=True)

        def work(conn: Connection) -> None:
            row = conn.execute(
                sa.select(self.meta.c.value).where(self.meta.c.key == "model")
            ).scalar_one_or_none()
            if row is None:
                conn.execute(sa.insert(self.meta).values(key="model", value=text))
            elif json.loads(row) != json.loads(text):
                raise ModelMismatchError(
                    f"This database holds states of another model ({row}), not {text}; "
                    "serve it with that model or start a fresh database (--db)."
                )

        self._write(work)

    def classes(self) -> tuple[str, ...]:
        """Class names of the model bound with :meth:`bind_model` (empty before)."""
        with self._read() as conn:
            row = conn.execute(
                sa.select(self.meta.c.value).where(self.meta.c.key == "model")
            ).scalar_one_or_none()
        return tuple(json.loads(row)["classes"]) if row else ()

    # --- objects ------------------------------------------------------------------------------------------

    def register_objects(self, objects: pd.DataFrame | Iterable[Mapping[str, Any]]) -> dict[str, int]:
        """Register objects with their position and context; registering the same object again is a no-op.

        Parameters
        ----------
        objects
            ``object_id``, ``ra``, ``dec`` (degrees) and the context ``gal_l``, ``gal_b``,
            ``galaxy_dist_arcsec`` (see :func:`lcrnn.data.context.compute_context`).

        Returns
        -------
        dict
            ``{"created": n, "existing": m}``.

        Raises
        ------
        ObjectConflictError
            If an id is already registered at a position more than 1 arcsec away.
        """
        df = objects if isinstance(objects, pd.DataFrame) else pd.DataFrame(list(objects))
        needed = ["object_id", "ra", "dec", "gal_l", "gal_b", "galaxy_dist_arcsec"]
        missing = [c for c in needed if c not in df.columns]
        if missing:
            raise InvalidTableError(
                f"Objects are missing column(s) {missing}; compute the context with "
                "lcrnn.data.context.compute_context first."
            )
        df = df.drop_duplicates("object_id", keep="last")
        now = time.time()
        records = [
            {
                "object_id": str(r.object_id),
                **{c: float(getattr(r, c)) for c in needed[1:]},
                "n_obs": 0,
                "created_at": now,
                "updated_at": now,
            }
            for r in df.itertuples(index=False)
        ]

        def work(conn: Connection) -> dict[str, int]:
            known: dict[str, tuple[float, float]] = {}
            for chunk in _chunks([r["object_id"] for r in records]):
                q = sa.select(self.objects.c.object_id, self.objects.c.ra, self.objects.c.dec).where(
                    self.objects.c.object_id.in_(chunk)
                )
                known.update({oid: (ra, dec) for oid, ra, dec in conn.execute(q)})
            moved = [
                r["object_id"]
                for r in records
                if r["object_id"] in known and _sep_arcsec(known[r["object_id"]], r) > 1.0
            ]
            if moved:
                raise ObjectConflictError(
                    f"{len(moved)} object(s) are already registered at another position ({', '.join(moved[:5])}); "
                    "use a new object_id for a new source."
                )
            new = [r for r in records if r["object_id"] not in known]
            if new:
                conn.execute(sa.insert(self.objects), new)
            return {"created": len(new), "existing": len(records) - len(new)}

        return self._write(work)

    # --- observations -------------------------------------------------------------------------------------

    def add_observations(
        self,
        observations: pd.DataFrame | Iterable[Mapping[str, Any]],
        model: IncrementalClassifier,
        upper_limits: pd.DataFrame | Iterable[Mapping[str, Any]] | None = None,
    ) -> IngestResult:
        """Store new detections (and non-detections) and advance the classification of their objects.

        Everything happens in one transaction that returns only after commit: the objects' rows are locked,
        duplicates are dropped, the recurrent states advance by one batched step per round (or are rebuilt
        from stored photometry when a detection arrives out of time order), and the new states,
        probabilities and history rows are written together with the observations.

        Parameters
        ----------
        observations
            ``object_id``, ``mjd``, ``mag``, ``mag_err`` and optional ``band``, ``alert_id``.
        model
            The incremental classifier whose states this store holds.
        upper_limits
            Optional non-detections (``object_id``, ``mjd``, ``limit_mag``, ``band``): stored apart, never fed
            to the network.

        Returns
        -------
        IngestResult

        Raises
        ------
        UnknownObjectError
            If any object was never registered (nothing is written).
        """
        obs = observations_columns(observations)
        uls = observations_columns(upper_limits if upper_limits is not None else [], upper_limits=True)
        if len(obs["mjd"]) == 0 and len(uls["mjd"]) == 0:
            return IngestResult()
        return self._write(self._add_observations, obs, uls, model)

    def _add_observations(
        self,
        conn: Connection,
        obs: dict[str, np.ndarray],
        uls: dict[str, np.ndarray],
        model: IncrementalClassifier,
    ) -> IngestResult:
        o = self.objects.c
        ids = sorted(set(obs["object_id"].tolist()) | set(uls["object_id"].tolist()))
        rows: dict[str, Any] = {}
        for chunk in _chunks(ids):
            # Row locks in id order (PostgreSQL); on SQLite BEGIN IMMEDIATE already holds the write lock.
            q = sa.select(self.objects).where(o.object_id.in_(chunk)).order_by(o.object_id).with_for_update()
            rows.update({r.object_id: r for r in conn.execute(q)})
        unknown = [i for i in ids if i not in rows]
        if unknown:
            raise UnknownObjectError(unknown)
        n_ul = self._insert_upper_limits(conn, uls) if len(uls["mjd"]) else 0

        # Drop repeats: already stored, or repeated within this batch.
        obs_ids = sorted(set(obs["object_id"].tolist()))
        seen_mjd: set[tuple[str, float]] = set()
        for chunk in _chunks(obs_ids):
            q = sa.select(self.observations.c.object_id, self.observations.c.mjd).where(
                self.observations.c.object_id.in_(chunk)
            )
            seen_mjd.update((oid, float(m)) for oid, m in conn.execute(q))
        alerts = sorted({a for a in obs["alert_id"] if a is not None})
        seen_alert: set[str] = set()
        for chunk in _chunks(alerts):
            q = sa.select(self.observations.c.alert_id).where(self.observations.c.alert_id.in_(chunk))
            seen_alert.update(conn.execute(q).scalars())
        oid_a, mjd_a, alert_a = obs["object_id"], obs["mjd"], obs["alert_id"]
        keep = np.zeros(len(mjd_a), dtype=bool)
        for i, (oid, mjd, alert) in enumerate(zip(oid_a, mjd_a.tolist(), alert_a)):
            key = (oid, mjd)
            if key in seen_mjd or (alert is not None and alert in seen_alert):
                continue
            keep[i] = True
            seen_mjd.add(key)
            if alert is not None:
                seen_alert.add(alert)
        n_dup = int(len(mjd_a) - keep.sum())
        if not keep.any():
            return IngestResult(duplicates=n_dup, upper_limits=n_ul)
        new = {k: v[keep] for k, v in obs.items()}

        # Group the new detections by object, in time order (plain arrays: pandas groupby costs more here).
        oid_n, mjd_n = oid_a[keep], mjd_a[keep]
        mag_n, err_n = new["mag"], new["mag_err"]
        order = np.lexsort((mjd_n, oid_n.astype(str)))
        oid_n, mjd_n, mag_n, err_n = oid_n[order], mjd_n[order], mag_n[order], err_n[order]
        bounds = np.flatnonzero(np.r_[True, oid_n[1:] != oid_n[:-1], True])
        upd_ids = [str(oid_n[b]) for b in bounds[:-1]]
        fresh = [Photometry(mjd_n[b:e], mag_n[b:e], err_n[b:e]) for b, e in itertools.pairwise(bounds)]
        current = [self._state_of(rows[i], model) for i in upd_ids]
        # States before, new photometry, and (for late arrivals) everything stored.
        late = [i for i, st, f in zip(upd_ids, current, fresh) if model.needs_rebuild(st, f)]
        stored = self._photometry_of(conn, late)
        full: list[Photometry | None] = []
        for oid, f in zip(upd_ids, fresh):
            if oid in stored:
                old = stored[oid]
                full.append(
                    Photometry.of(np.r_[old.mjd, f.mjd], np.r_[old.mag, f.mag], np.r_[old.mag_err, f.mag_err])
                )
            else:
                full.append(None)
        updates = model.update_many(current, fresh, full)

        now = time.time()
        conn.execute(
            sa.insert(self.observations),
            [
                {
                    "object_id": o,
                    "mjd": m,
                    "mag": g,
                    "mag_err": e,
                    "band": b,
                    "alert_id": a,
                    "received_at": now,
                }
                for o, m, g, e, b, a in zip(
                    new["object_id"].tolist(),
                    new["mjd"].tolist(),
                    new["mag"].tolist(),
                    new["mag_err"].tolist(),
                    new["band"].tolist(),
                    new["alert_id"].tolist(),
                )
            ],
        )
        classes = model.classes
        probs = [_prob_dict(classes, u.state.probabilities) for u in updates]  # rounded once, written thrice
        conn.execute(
            sa.update(self.objects)
            .where(o.object_id == sa.bindparam("b_object_id"))
            .values(
                n_obs=sa.bindparam("b_n_obs"),
                first_mjd=sa.bindparam("b_first_mjd"),
                last_mjd=sa.bindparam("b_last_mjd"),
                state=sa.bindparam("b_state"),
                probabilities=sa.bindparam("b_probabilities", type_=sa.JSON),
                leading_class=sa.bindparam("b_leading_class"),
                leading_prob=sa.bindparam("b_leading_prob"),
                updated_at=sa.bindparam("b_updated_at"),
            ),
            [
                {
                    "b_object_id": oid,
                    "b_n_obs": u.state.n_obs,
                    "b_first_mjd": u.state.first_mjd,
                    "b_last_mjd": u.state.last_mjd,
                    "b_state": np.asarray(u.state.state, np.float32).tobytes(),
                    "b_probabilities": p,
                    "b_leading_class": max(p, key=p.__getitem__),
                    "b_leading_prob": max(p.values()),
                    "b_updated_at": now,
                }
                for oid, u, p in zip(upd_ids, updates, probs)
            ],
        )
        for chunk in _chunks(upd_ids):
            conn.execute(sa.delete(self.probabilities).where(self.probabilities.c.object_id.in_(chunk)))
        conn.execute(
            sa.insert(self.probabilities),
            [
                {"object_id": oid, "cls": c, "prob": v}  # the same rounded numbers as the JSON column
                for oid, p in zip(upd_ids, probs)
                for c, v in p.items()
            ],
        )
        rebuilt = [oid for oid, u in zip(upd_ids, updates) if u.rebuilt]
        for chunk in _chunks(rebuilt):
            conn.execute(sa.delete(self.history).where(self.history.c.object_id.in_(chunk)))
        conn.execute(
            sa.insert(self.history),
            [
                {
                    "object_id": oid,
                    "step": u.history_start + j + 1,
                    "mjd": float(u.history_mjd[j]),
                    "probabilities": probs,
                }
                for oid, u in zip(upd_ids, updates)
                for j, probs in enumerate(np.round(u.history.astype(np.float64), 7).tolist())
            ],
        )
        return IngestResult(
            accepted=int(keep.sum()),
            duplicates=n_dup,
            rebuilt=len(rebuilt),
            upper_limits=n_ul,
            objects={
                oid: {"n_obs": u.state.n_obs, "probabilities": p}
                for oid, u, p in zip(upd_ids, updates, probs)
            },
        )

    def _insert_upper_limits(self, conn: Connection, uls: dict[str, np.ndarray]) -> int:
        ul = self.upper_limits.c
        have: set[tuple[str, float, str]] = set()
        for chunk in _chunks(sorted(set(uls["object_id"].tolist()))):
            q = sa.select(ul.object_id, ul.mjd, ul.band).where(ul.object_id.in_(chunk))
            have.update((a, float(b), c) for a, b, c in conn.execute(q))
        new = []
        for oid, mjd, limit, band in zip(
            uls["object_id"], uls["mjd"].tolist(), uls["limit_mag"].tolist(), uls["band"]
        ):
            if (oid, mjd, band) not in have:
                have.add((oid, mjd, band))
                new.append({"object_id": oid, "mjd": mjd, "limit_mag": limit, "band": band})
        if new:
            conn.execute(sa.insert(self.upper_limits), new)
        return len(new)

    def _state_of(self, row: Any, model: IncrementalClassifier) -> ObjectState:
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

    def _photometry_of(self, conn: Connection, object_ids: Sequence[str]) -> dict[str, Photometry]:
        ob = self.observations.c
        parts: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        for chunk in _chunks(list(object_ids)):
            q = sa.select(ob.object_id, ob.mjd, ob.mag, ob.mag_err).where(ob.object_id.in_(chunk))
            for oid, mjd, mag, err in conn.execute(q):
                parts[oid].append((mjd, mag, err))
        return {oid: Photometry.of(*zip(*rows)) for oid, rows in parts.items()}

    # --- reading ------------------------------------------------------------------------------------------

    def get_object(self, object_id: str, *, with_photometry: bool = True) -> dict[str, Any] | None:
        """Everything known about one object as JSON-ready values, or None if it is not registered.

        Keys: ``object_id, ra, dec, context, n_obs, first_mjd, last_mjd, probabilities`` (class ->
        probability, empty before the first detection), ``leading_class, leading_prob, updated_at``,
        ``history`` (one entry per detection in time order: ``step, mjd, probabilities``) and, with
        ``with_photometry``, ``observations`` and ``upper_limits``.
        """
        with self._read() as conn:
            row = conn.execute(sa.select(self.objects).where(self.objects.c.object_id == object_id)).first()
            if row is None:
                return None
            out = self._summary(row)
            classes = list((row.probabilities or {}).keys())
            h = self.history.c
            out["history"] = [
                {"step": s, "mjd": m, "probabilities": dict(zip(classes, p))}
                for s, m, p in conn.execute(
                    sa.select(h.step, h.mjd, h.probabilities).where(h.object_id == object_id).order_by(h.step)
                )
            ]
            if with_photometry:
                ob, ul = self.observations.c, self.upper_limits.c
                out["observations"] = [
                    dict(r._mapping)
                    for r in conn.execute(
                        sa.select(ob.mjd, ob.mag, ob.mag_err, ob.band, ob.alert_id)
                        .where(ob.object_id == object_id)
                        .order_by(ob.mjd)
                    )
                ]
                out["upper_limits"] = [
                    dict(r._mapping)
                    for r in conn.execute(
                        sa.select(ul.mjd, ul.limit_mag, ul.band)
                        .where(ul.object_id == object_id)
                        .order_by(ul.mjd)
                    )
                ]
        return out

    @staticmethod
    def _summary(row: Any) -> dict[str, Any]:
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

    def list_objects(self, cls: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The most recently updated objects (newest first), optionally only those whose leading class is ``cls``."""
        o = self.objects.c
        q = sa.select(self.objects).order_by(o.updated_at.desc(), o.object_id).limit(limit)
        if cls is not None:
            q = q.where(o.leading_class == cls)
        with self._read() as conn:
            return [self._summary(r) for r in conn.execute(q)]

    def candidates(self, cls: str, min_prob: float = 0.0, limit: int = 100) -> list[dict[str, Any]]:
        """Objects whose probability of ``cls`` is at least ``min_prob``, newest detection first.

        This is the follow-up list of the paper's section 6.1: for example ``cls="SN", min_prob=0.7``.
        """
        o, p = self.objects.c, self.probabilities.c
        q = (
            sa.select(self.objects, p.prob)
            .join(self.probabilities, p.object_id == o.object_id)
            .where(p.cls == cls, p.prob >= float(min_prob))
            .order_by(o.last_mjd.desc(), o.updated_at.desc(), o.object_id)
            .limit(limit)
        )
        with self._read() as conn:
            return [{**self._summary(r), "prob": r.prob} for r in conn.execute(q)]

    def counts(self) -> dict[str, int]:
        """Numbers of objects, detections, upper limits and history rows (for health checks and benchmarks)."""
        with self._read() as conn:
            return {
                name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
                for name, table in (
                    ("objects", self.objects),
                    ("observations", self.observations),
                    ("upper_limits", self.upper_limits),
                    ("history", self.history),
                )
            }


def _prob_dict(classes: Sequence[str], probs: np.ndarray) -> dict[str, float]:
    return dict(zip(classes, np.round(np.asarray(probs, np.float64), 7).tolist()))


def _sep_arcsec(old: tuple[float, float], new: Mapping[str, Any]) -> float:
    """Small-angle separation, enough to tell "same position" from "another source"."""
    dra = (new["ra"] - old[0] + 180.0) % 360.0 - 180.0
    ddec = new["dec"] - old[1]
    return math.hypot(dra * math.cos(math.radians(old[1])), ddec) * 3600.0


def _is_transient(exc: DBAPIError) -> bool:
    """Deadlocks, serialization failures and a busy SQLite are worth retrying; anything else is not."""
    text = str(exc.orig).lower()
    code = getattr(exc.orig, "sqlstate", None)
    return code in {"40P01", "40001"} or "deadlock" in text or "database is locked" in text


def _make_sqlite_durable(engine: Engine, busy_timeout_s: float) -> None:
    """WAL, a busy timeout, full fsync, foreign keys, and BEGIN IMMEDIATE for every write transaction."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Readers take a snapshot without blocking writers; writers take the lock up front, so two writers
        # never both read a state and then fail to upgrade (which a deferred BEGIN would allow).
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("lcrnn_read") else "BEGIN IMMEDIATE")
