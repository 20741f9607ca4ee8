"""The unit of work: one transaction per use case, committed only by the service."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Executable, Row
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


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

    def write_one(self, statement: Callable[[Connection], T]) -> T:
        """One statement that is a transaction by itself, committed when this returns.

        PostgreSQL runs it in autocommit: one round trip where BEGIN, the statement and
        COMMIT took three (the server commits, and waits for its log, before it answers).
        SQLite runs it in a write transaction of its own, queued and flushed as any other.
        """
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                return statement(conn)
        with self.engine.begin() as conn:
            return statement(conn)

    def dispose(self) -> None:
        self.engine.dispose()


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
