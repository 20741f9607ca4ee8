"""The unit of work: one transaction per use case, committed only by the service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, Executable, Row, exc
from sqlalchemy.orm import Session, sessionmaker

from lysbord.store import writers
from lysbord.store.db import CompiledOnce, first_column


class Database:
    """The engine and its session factories; hands out a fresh unit of work per use."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = sessionmaker(engine, expire_on_commit=False)
        self._reader = sessionmaker(
            engine.execution_options(lysbord_readonly=True), expire_on_commit=False
        )
        self._searcher = (
            sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))
            if engine.dialect.name == "postgresql"
            else self._reader
        )
        self._alone = _autocommitted if engine.dialect.name == "postgresql" else _queued

    def uow(self, *, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self._reader if readonly else self._writer)

    def search(self) -> UnitOfWork:
        """A read-only unit of work whose statements need not share one snapshot (a search
        whose answers are checked again when acted on): PostgreSQL runs each in autocommit,
        without the BEGIN and ROLLBACK round trips."""
        return UnitOfWork(self._searcher)

    def read(self, stmt: Executable) -> Sequence[Row[Any]]:
        """The rows of one SELECT, without a unit of work: for the doors' hot queries.

        One statement sees one snapshot by itself, so PostgreSQL runs it in autocommit:
        no BEGIN and ROLLBACK round trips around it (half the trips of a C-FIND).
        """
        autocommit = self.engine.dialect.name == "postgresql"
        options: dict[str, Any] = (
            {"isolation_level": "AUTOCOMMIT"} if autocommit else {"lysbord_readonly": True}
        )
        with self.engine.connect().execution_options(**options) as conn:
            return conn.execute(stmt).all()

    def insert_one(self, statement: CompiledOnce, values: Mapping[str, Any]) -> Any:
        """One INSERT that is a transaction by itself, committed when this returns; the
        first column of the row it returns, or None.

        For the hot paths of the doors (an instance stored): on a pooled driver connection,
        without SQLAlchemy's Connection and Result, which cost more CPU than the INSERT
        itself. PostgreSQL runs it in autocommit, as a prepared statement: one round trip
        where BEGIN, the statement and COMMIT took three. SQLite runs it as a transaction
        of its own, queued and flushed as any other write.
        """
        sql, params = statement.for_driver(self.engine.dialect, values)
        driver_error = self.engine.dialect.loaded_dbapi.Error
        pooled = self.engine.raw_connection()  # checked as any checkout (db._check_alive)
        try:
            row = self._alone(pooled.driver_connection, sql, params)
        except driver_error as error:
            pooled.invalidate(error)  # half done or broken: never handed out again
            raise exc.DBAPIError.instance(sql, params, error, driver_error) from error
        finally:
            pooled.close()
        return first_column(row)

    def dispose(self) -> None:
        self.engine.dispose()


def _autocommitted(driver: Any, sql: str, params: Any) -> Any:
    """PostgreSQL: the statement in autocommit; the connection goes back without it."""
    driver.autocommit = True
    row = driver.execute(sql, params, prepare=True).fetchone()
    driver.autocommit = False
    return row


def _queued(driver: Any, sql: str, params: Any) -> Any:
    """SQLite: the statement as its own transaction, committed once it has run to its end,
    in the writers' queue and flushed after leaving it, as ``db`` does for every commit."""
    writers.enter(driver)
    try:
        rows = driver.execute(sql, params).fetchall()
    finally:
        writers.leave(driver)
    writers.flush(driver)
    return rows[0] if rows else None


class UnitOfWork:
    """``with uow: ...; uow.commit()`` — anything not committed is rolled back."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use 'with uow:'")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        session.rollback()
        session.close()

    def commit(self) -> None:
        self.session.commit()
