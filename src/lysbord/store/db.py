"""Engines that keep their promises: SQLite in WAL, flushed at each commit; PostgreSQL as is."""

from __future__ import annotations

import os
import select
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Dialect, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.sql.compiler import Compiled, SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from lysbord.store import writers


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine; an SQLite file's folder is created on the way."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkout", _check_alive)
    return engine


def _check_alive(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pre-ping without the round trip (pool_pre_ping's costs one per transaction).

    A pooled PostgreSQL connection is idle, so the server has nothing to say on it
    unless it is going away: a restart or pg_terminate_backend sends its FATAL notice
    and closes the socket. Anything to read (or a connection psycopg knows is broken)
    retires the whole pool, as pool_pre_ping does, and the checkout takes a fresh one.
    """
    if dbapi_connection.broken or _readable(dbapi_connection.fileno()):
        raise exc.InvalidatePoolError("the server closed the connection")


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def _sqlite_engine(url: str, database: str | None, **kwargs: Any) -> Engine:
    on_disk = bool(database and database != ":memory:")
    connect_args: dict[str, Any] = {"timeout": 30}
    if on_disk:
        path = Path(cast(str, database))
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Created for the service user only; SQLite gives its -wal and -shm the same mode.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        connect_args["factory"] = writers.WriterConnection
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    writers.release_on_end(engine)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Python's sqlite3 opens transactions lazily; BEGIN IMMEDIATE below
        # takes the write lock up front so concurrent writers queue instead of
        # failing with "database is locked" halfway through a transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        wal = cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
        # In WAL mode the commit's flush is writers.flush, outside the write lock.
        cursor.execute(f"PRAGMA synchronous={'NORMAL' if wal else 'FULL'}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        if on_disk:
            writers.open_lock(dbapi_connection, cast(str, database), flush_wal=wal)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if conn.get_execution_options().get("lysbord_readonly", False):
            conn.exec_driver_sql("BEGIN")
            return
        writers.enter(conn.connection)  # the kernel's queue, not SQLite's busy sleeps
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writers.leave(conn.connection)
            raise

    return engine


def first_column(row: Sequence[Any] | None) -> Any:
    """What a driver's INSERT ... RETURNING gave back: its first column, or None."""
    return None if row is None else row[0]


def _first_of_each_set(cursor: Any) -> list[Any]:
    """psycopg after ``executemany(..., returning=True)``: one result set per run."""
    found = [first_column(cursor.fetchone())]
    while cursor.nextset():
        found.append(first_column(cursor.fetchone()))
    return found


class CompiledOnce:
    """A statement compiled once per dialect and reused: for statements on hot paths that
    SQLAlchemy cannot cache (``INSERT ... ON CONFLICT`` has no cache key, so it would be
    compiled again on every execution, which costs more than running it)."""

    def __init__(self, build: Callable[[str], ClauseElement], keys: Sequence[str]) -> None:
        self._build, self._keys = build, list(keys)
        self._compiled: weakref.WeakKeyDictionary[Dialect, Compiled] = weakref.WeakKeyDictionary()
        self._bind_processors: weakref.WeakKeyDictionary[
            Dialect, dict[str, Callable[[Any], Any]]
        ] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> CursorResult[Any]:
        """Run the statement with ``values`` (exactly the keys given at construction)."""
        return conn.execute(cast(Any, self._compiled_for(conn.dialect)), dict(values))

    def first_of_each(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Run the statement once per row in ``conn``'s transaction, by the driver; the first
        column each run returned, or None. PostgreSQL gets every run in one round trip
        (psycopg's executemany, pipelined); SQLAlchemy's work per statement, which costs
        more than an INSERT, is skipped on both."""
        if not rows:
            return []
        dialect = conn.dialect
        prepared = [self.for_driver(dialect, row) for row in rows]
        sql, params = prepared[0][0], [p for _, p in prepared]
        driver_error = dialect.loaded_dbapi.Error
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if dialect.name == "postgresql":
                cursor.executemany(sql, params, returning=True)
                return _first_of_each_set(cursor)
            return [first_column(cursor.execute(sql, p).fetchone()) for p in params]
        except driver_error as error:
            raise exc.DBAPIError.instance(sql, params, error, driver_error) from error
        finally:
            cursor.close()

    def for_driver(self, dialect: Dialect, values: Mapping[str, Any]) -> tuple[str, Any]:
        """The SQL and parameters as the driver takes them (a dict for named parameters,
        a tuple for positional ones; values through their column types' bind processors),
        for running it without SQLAlchemy.

        Column defaults are SQLAlchemy's to apply: every parameter must have its value.
        """
        compiled = cast(SQLCompiler, self._compiled_for(dialect))
        params = dict(compiled.construct_params(dict(values)))
        if missing := params.keys() - values.keys():
            raise ValueError(f"no values for {sorted(missing)} (defaults are not applied here)")
        for name, process in self._processors(dialect, compiled).items():
            params[name] = process(params[name])
        if compiled.positional:
            return compiled.string, tuple(params[name] for name in compiled.positiontup or ())
        return compiled.string, params

    def _compiled_for(self, dialect: Dialect) -> Compiled:
        compiled = self._compiled.get(dialect)
        if compiled is None:
            with self._lock:
                built = self._build(dialect.name)
                compiled = built.compile(dialect=dialect, column_keys=self._keys)
                self._compiled[dialect] = compiled
        return compiled

    def _processors(
        self, dialect: Dialect, compiled: SQLCompiler
    ) -> dict[str, Callable[[Any], Any]]:
        found = self._bind_processors.get(dialect)
        if found is None:
            processors = ((b.key, b.type.bind_processor(dialect)) for b in compiled.binds.values())
            found = self._bind_processors[dialect] = {k: p for k, p in processors if p}
        return found
