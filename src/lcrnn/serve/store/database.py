"""The connection to the database and its transactions: durable, retried, safe under concurrent writers.

* SQLite (the embedded default) runs in WAL mode with a busy timeout and full fsync, and every write
  transaction opens with ``BEGIN IMMEDIATE``, so concurrent writers queue instead of failing half-way;
* PostgreSQL is reached by URL; the write path locks the rows it updates (``SELECT ... FOR UPDATE``).

A write returns only after its transaction has committed, so an acknowledged write survives ``kill -9``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from lcrnn.serve.store.errors import StoreError

__all__ = ["chunks", "insert_rows", "open_engine", "read_connection", "update_rows", "write_transaction"]

T = TypeVar("T")

CHUNK = 500  # ids per IN (...) clause: well under every backend's parameter limit
_RETRIES = 8


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most ``size`` (for ``IN (...)`` clauses)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_rows(conn: Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) in one driver-level ``executemany``.

    SQLAlchemy's own executemany runs each row's dictionary through its bind processors, ~20 us a row on the
    write path; the driver takes positional tuples for a few. The values must be what the driver takes as
    they are: str, float, int, bytes, None, and JSON already as text.
    """
    if rows:
        conn.exec_driver_sql(_statement(conn, "INSERT INTO {table} ({columns}) VALUES ({marks})", table, columns),
                             list(rows))


def update_rows(conn: Connection, table: sa.Table, columns: Sequence[str], key: str, rows: Sequence[tuple]) -> None:
    """``UPDATE table SET columns WHERE key = ?`` for each row (the values in ``columns`` order, then the key),
    in one driver-level ``executemany`` (see :func:`insert_rows`)."""
    if rows:
        conn.exec_driver_sql(_statement(conn, "UPDATE {table} SET {assignments} WHERE {key} = {mark}",
                                        table, columns, key), list(rows))


def _statement(conn: Connection, template: str, table: sa.Table, columns: Sequence[str], key: str = "") -> str:
    """``template`` filled with quoted names and the driver's positional placeholder."""
    quote = conn.dialect.identifier_preparer
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = [quote.quote(c) for c in columns]
    return template.format(table=quote.format_table(table), columns=", ".join(names),
                           marks=", ".join([mark] * len(names)), mark=mark,
                           assignments=", ".join(f"{n} = {mark}" for n in names),
                           key=quote.quote(key) if key else "")


def open_engine(url: sa.engine.URL, busy_timeout_s: float) -> Engine:
    """An engine for ``url``; a SQLite one made durable (see the module docstring)."""
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    if url.database in (None, "", ":memory:"):
        raise StoreError(
            "An in-memory SQLite database cannot be shared between connections; give a file, "
            "e.g. sqlite:///lcrnn.db."
        )
    engine = sa.create_engine(url, connect_args={"timeout": busy_timeout_s})
    _make_sqlite_durable(engine, busy_timeout_s)
    return engine


def read_connection(engine: Engine) -> Connection:
    """A connection for reads: on SQLite a plain ``BEGIN``, a snapshot that never blocks writers."""
    return engine.connect().execution_options(lcrnn_read=True)


def write_transaction(engine: Engine, work: Callable[..., T], *args: Any) -> T:
    """Run ``work(conn, *args)`` in one write transaction, retrying on deadlocks and races.

    Raises
    ------
    StoreError
        If the database stays busy (or fails) through every retry.
    """
    for attempt in range(_RETRIES):
        try:
            with engine.begin() as conn:
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
