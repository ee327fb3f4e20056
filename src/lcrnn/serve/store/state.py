"""The :class:`StateStore`: objects, photometry, recurrent states and probabilities in one SQL database."""

from __future__ import annotations

import json
import math
import time
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from lcrnn.data.context import describe_catalogue, same_catalogue
from lcrnn.data.tables import MjdRange
from lcrnn.errors import InvalidConfigError
from lcrnn.serve.incremental import IncrementalClassifier, ModelMismatchError
from lcrnn.serve.store import queries
from lcrnn.serve.store.database import chunks, open_engine, read_connection, write_transaction
from lcrnn.serve.store.errors import ObjectConflictError, StoreError
from lcrnn.serve.store.observe import IngestResult, add_observations
from lcrnn.serve.store.retract import Retraction, retract_object, retract_observation
from lcrnn.serve.store.schema import define_tables
from lcrnn.serve.store.search import ObjectQuery, search_objects
from lcrnn.serve.store.validation import Rows, object_records, observation_arrays, upper_limit_arrays

__all__ = ["DEFAULT_POSITION_TOLERANCE_ARCSEC", "StateStore", "separation_arcsec"]

DEFAULT_POSITION_TOLERANCE_ARCSEC = 1.0  # see StateStore: ~10x ZTF's astrometric scatter, < a seeing disc
_UNSET = object()  # bind_model: no catalogue to check


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
    position_tolerance_arcsec
        How far a new position of a registered object may lie from the stored one and still be the same
        object (the stored, first position is kept); farther is an :class:`ObjectConflictError` (409 in the
        HTTP service). 1 arcsec by default: ZTF's astrometric scatter between detections of one source is
        about 0.1 arcsec, while a different source is rarely closer than a seeing disc (~2 arcsec).

    Examples
    --------
    >>> store = StateStore("sqlite:///lcrnn.db")  # doctest: +SKIP
    >>> store.register_objects([{"object_id": "a", "ra": 10.0, "dec": 20.0, "gal_l": 1, "gal_b": 2,
    ...                          "galaxy_dist_arcsec": 120}])  # doctest: +SKIP
    >>> store.add_observations([{"object_id": "a", "mjd": 59000.1, "mag": 18.2, "mag_err": 0.05}], model)
    """

    mjd_range: MjdRange = MjdRange()  # plausible detection times; the service sets its configured range
    bands: tuple[str, ...] | None = None  # the bands read (one light curve each); None: every band

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "lcrnn_",
        busy_timeout_s: float = 30.0,
        position_tolerance_arcsec: float = DEFAULT_POSITION_TOLERANCE_ARCSEC,
    ) -> None:
        if not (math.isfinite(position_tolerance_arcsec) and position_tolerance_arcsec > 0):
            raise InvalidConfigError(
                "position_tolerance_arcsec must be a positive number of arcsec, "
                f"got {position_tolerance_arcsec}."
            )
        self.position_tolerance_arcsec = float(position_tolerance_arcsec)
        self.url = sa.engine.make_url(url if "://" in url else f"sqlite:///{url}")
        self.prefix = prefix
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine = open_engine(self.url, busy_timeout_s)
        self.tables = define_tables(prefix)
        # Each table by name too: benchmarks and ad-hoc SQL read store.objects, store.observations, ...
        t = self.tables
        self.metadata, self.meta, self.objects = t.metadata, t.meta, t.objects
        self.observations, self.upper_limits = t.observations, t.upper_limits
        self.probabilities, self.history = t.probabilities, t.history
        try:
            with self.engine.begin() as conn:
                if not self.is_sqlite:  # workers started together on a new database: one creates, the others wait
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(prefix.encode())})
                self.metadata.create_all(conn)
        except OperationalError as exc:
            raise StoreError(
                f"Cannot open the database {self.url.render_as_string(hide_password=True)}: {exc.orig}"
            ) from exc

    def drop_all(self) -> None:
        """Remove this store's tables (tests use it to clean up a shared PostgreSQL database)."""
        self.metadata.drop_all(self.engine)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def _read(self) -> Connection:
        return read_connection(self.engine)

    # --- the model the states belong to ------------------------------------------------------------------

    def bind_model(
        self,
        description: Mapping[str, Any],
        *,
        run: Mapping[str, Any] | None = None,
        catalogue: Mapping[str, Any] | None | object = _UNSET,
    ) -> None:
        """Record which model and galaxy catalogue fill the store, or refuse others than those that filled it.

        A store written before these records existed records them on its first bind.

        Parameters
        ----------
        description
            :meth:`IncrementalClassifier.describe` output (classes, state size, max_len).
        run
            The run's identity, ``{"name": ..., "weights_sha256": ...}``; the weights hash decides.
        catalogue
            :func:`lcrnn.data.context.catalogue_fingerprint` of the catalogue the context is computed with
            (None: no catalogue); not checked when not given.

        Raises
        ------
        ModelMismatchError
            If the database holds states of a model with other classes, state size, ``max_len`` or weights, or
            contexts computed with another catalogue.
        """
        text = json.dumps(dict(description), sort_keys=True)

        def work(conn: Connection) -> None:
            bound = _meta_value(conn, self.tables, "model", text)
            if json.loads(bound) != json.loads(text):
                raise ModelMismatchError(
                    f"This database holds states of another model ({bound}), not {text}; "
                    "serve it with that model or start a fresh database (--db)."
                )
            if run is not None:
                _check_run(json.loads(_meta_value(conn, self.tables, "run", json.dumps(dict(run)))), run)
            if catalogue is not _UNSET:
                _check_store_catalogue(json.loads(_meta_value(conn, self.tables, "catalogue", json.dumps(catalogue))),
                                       catalogue)  # type: ignore[arg-type]

        write_transaction(self.engine, work)

    def bound(self) -> dict[str, Any]:
        """What the store records about the model and catalogue that fill it (JSON values; absent keys: not yet)."""
        with self._read() as conn:
            rows = conn.execute(sa.select(self.meta.c.key, self.meta.c.value)).all()
        return {key: json.loads(value) for key, value in rows if key in ("model", "run", "catalogue")}

    def classes(self) -> tuple[str, ...]:
        """Class names of the model bound with :meth:`bind_model` (empty before)."""
        with self._read() as conn:
            return queries.bound_classes(conn, self.tables)

    # --- writing ------------------------------------------------------------------------------------------

    def register_objects(self, objects: Rows) -> dict[str, int]:
        """Register objects with their position and context; registering the same object again is a no-op.

        Parameters
        ----------
        objects
            ``object_id``, ``ra``, ``dec`` (degrees; checked by :func:`lcrnn.data.tables.validate_objects`)
            and the context ``gal_l``, ``gal_b``, ``galaxy_dist_arcsec`` (see
            :func:`lcrnn.data.context.compute_context`).

        Returns
        -------
        dict
            ``{"created": n, "existing": m}``.

        Raises
        ------
        InvalidTableError
            For an invalid id or position, an id given twice, or missing context.
        ObjectConflictError
            If an id is already registered more than ``position_tolerance_arcsec`` away (within it, the
            stored position is kept).
        """
        now = time.time()
        records = [{**r, "n_obs": 0, "created_at": now, "updated_at": now} for r in object_records(objects)]

        def work(conn: Connection) -> dict[str, int]:
            known = self._positions(conn, [r["object_id"] for r in records])
            tolerance = self.position_tolerance_arcsec
            moved = [
                f"{r['object_id']} {sep:.2f} arcsec away"
                for r in records
                if r["object_id"] in known
                and (sep := separation_arcsec(*known[r["object_id"]], r["ra"], r["dec"])) > tolerance
            ]
            if moved:
                raise ObjectConflictError(
                    f"{len(moved)} object(s) are already registered at another position ({', '.join(moved[:5])}; "
                    f"tolerance {tolerance:g} arcsec); use a new object_id for a new source."
                )
            new = [r for r in records if r["object_id"] not in known]
            if new:
                conn.execute(sa.insert(self.objects), new)
            return {"created": len(new), "existing": len(records) - len(new)}

        return write_transaction(self.engine, work)

    def positions(self, object_ids: Iterable[str]) -> dict[str, tuple[float, float]]:
        """The stored ``(ra, dec)`` of those of ``object_ids`` that are registered."""
        with self._read() as conn:
            return self._positions(conn, object_ids)

    def _positions(self, conn: Connection, object_ids: Iterable[str]) -> dict[str, tuple[float, float]]:
        o = self.objects.c
        out: dict[str, tuple[float, float]] = {}
        for chunk in chunks(list(dict.fromkeys(object_ids))):
            q = sa.select(o.object_id, o.ra, o.dec).where(o.object_id.in_(chunk))
            out.update({oid: (ra, dec) for oid, ra, dec in conn.execute(q)})
        return out

    def add_observations(
        self, observations: Rows, model: IncrementalClassifier, upper_limits: Rows | None = None
    ) -> IngestResult:
        """Store new detections (and non-detections) and advance the classification of their objects.

        Everything happens in one transaction that returns only after commit: the objects' rows are locked,
        duplicates are dropped, the recurrent states advance by one batched step per round (or are rebuilt
        from stored photometry when a detection arrives out of time order), and the new states,
        probabilities and history rows are written together with the observations.

        Parameters
        ----------
        observations
            ``object_id``, ``mjd``, ``mag``, ``mag_err`` and optional ``band``, ``alert_id``, checked by
            :func:`lcrnn.data.tables.validate_observations` (the batch route's rules; repeats are ignored).
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
        InvalidLightCurveError
            If an observation breaks a rule of the data layer (nothing is written).
        UnknownObjectError
            If any object was never registered (nothing is written).
        """
        obs = observation_arrays(observations, self.mjd_range, self.bands)
        uls = upper_limit_arrays(upper_limits, self.mjd_range, self.bands)
        if len(obs["mjd"]) == 0 and len(uls["mjd"]) == 0:
            return IngestResult()
        return write_transaction(self.engine, add_observations, self.tables, obs, uls, model)

    def retract_observation(self, object_id: str, mjd: float, model: IncrementalClassifier) -> Retraction:
        """Take back one detection and rebuild the object from the rest (see :mod:`~lcrnn.serve.store.retract`).

        Raises
        ------
        UnknownObjectError, UnknownObservationError
            If the object is not registered, or has no detection at ``mjd``.
        """
        return write_transaction(self.engine, retract_observation, self.tables, object_id, mjd, model)

    def retract_object(self, object_id: str) -> Retraction:
        """Take back an object: its detections are kept in the record of retractions, the rest removed.

        Raises
        ------
        UnknownObjectError
            If the object is not registered.
        """
        return write_transaction(self.engine, retract_object, self.tables, object_id)

    # --- reading ------------------------------------------------------------------------------------------

    def get_object(self, object_id: str, *, with_photometry: bool = True) -> dict[str, Any] | None:
        """Everything known about one object as JSON-ready values, or None if it is not registered.

        Keys: ``object_id, ra, dec, context, n_obs, first_mjd, last_mjd, probabilities`` (class ->
        probability, empty before the first detection), ``leading_class, leading_prob, updated_at``,
        ``history`` (one entry per detection in time order: ``step, mjd, probabilities``) and, with
        ``with_photometry``, ``observations`` and ``upper_limits``.
        """
        with self._read() as conn:
            return queries.get_object(conn, self.tables, object_id, with_photometry)

    def candidates(self, cls: str, min_prob: float = 0.0, limit: int = 100) -> list[dict[str, Any]]:
        """Objects whose probability of ``cls`` is at least ``min_prob``, newest detection first.

        This is the follow-up list of the paper's section 6.1: for example ``cls="SN", min_prob=0.7``.
        """
        with self._read() as conn:
            return queries.candidates(conn, self.tables, cls, min_prob, limit)

    def search_objects(self, query: ObjectQuery) -> tuple[list[dict[str, Any]], int]:
        """One page of the object list ``query`` asks for, and how many objects it selects (see :mod:`.search`)."""
        with self._read() as conn:
            return search_objects(conn, self.tables, query)

    def counts(self) -> dict[str, int]:
        """Numbers of objects, detections, upper limits and history rows (for health checks and benchmarks)."""
        with self._read() as conn:
            return queries.counts(conn, self.tables)


def separation_arcsec(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Angular distance between two positions in degrees, in arcsec (small-angle; exact enough below 1 deg)."""
    dra = (ra2 - ra1 + 180.0) % 360.0 - 180.0
    return math.hypot(dra * math.cos(math.radians(dec1)), dec2 - dec1) * 3600.0


def _meta_value(conn: Connection, tables: Any, key: str, value: str) -> str:
    """The value the store records under ``key``; ``value`` is recorded (and returned) when there is none yet."""
    meta = tables.meta.c
    stored = conn.execute(sa.select(meta.value).where(meta.key == key)).scalar_one_or_none()
    if stored is None:
        conn.execute(sa.insert(tables.meta).values(key=key, value=value))
        return value
    return stored


def _check_run(bound: Mapping[str, Any], run: Mapping[str, Any]) -> None:
    if "output" in bound and "output" in run and bound["output"] != run["output"]:
        raise ModelMismatchError(
            f"This database holds {bound['output']} probabilities, not {run['output']} ones; serve it as it was "
            "filled (--raw / --priors as then) or start a fresh database (--db)."
        )
    if bound.get("weights_sha256") != run.get("weights_sha256"):
        raise ModelMismatchError(
            f"This database was filled by the model {bound.get('name')!r} (weights sha256 "
            f"{str(bound.get('weights_sha256'))[:12]}), not by {run.get('name')!r} (weights sha256 "
            f"{str(run.get('weights_sha256'))[:12]}); its states and probabilities are that model's. Use the "
            "original model or start a fresh database (--db)."
        )


def _check_store_catalogue(bound: Mapping[str, Any] | None, catalogue: Mapping[str, Any] | None) -> None:
    if not same_catalogue(bound, catalogue):
        raise ModelMismatchError(
            f"This database holds contexts computed with {describe_catalogue(bound)}, not with "
            f"{describe_catalogue(catalogue)}; its objects' nearest-galaxy distances are that catalogue's. Use the "
            "original galaxy catalogue (--galaxies) or start a fresh database (--db)."
        )
