"""SQLite writers wait in the kernel's queue, not in SQLite's busy handler.

SQLite admits one writer at a time. A connection that finds the write lock taken
sleeps and tries again (1, 2, 5, 10, 15 ms...), so with four DICOM workers storing
at once each instance spent about as long asleep as it did in fsync, and the lock
often stood free while its next owner slept. Here each write transaction first
takes an exclusive ``flock`` on ``<database>-writers``: the kernel wakes the next
waiter the moment the holder commits or rolls back. SQLite's own lock still guards
the file against any writer that does not take part (the sqlite3 shell, say).

Each DBAPI connection has its own handle on the lock file, so threads and processes
queue alike, and a connection that is closed (or a process that is killed) leaves no
lock behind. A thread that already writes on another connection does not queue behind
itself: it meets SQLite's busy timeout, and its error, as before.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

_thread = threading.local()  # .writes: this thread holds the writer lock on some connection


class WriterConnection(sqlite3.Connection):
    """sqlite3's connection with its own handle on the database's writer lock file."""

    writer_lock: int | None = None  # a file descriptor, closed with the connection
    writing = False
    _closer: Callable[[], object] | None = None

    def close(self) -> None:
        super().close()
        if self._closer is not None:
            self._closer()  # closes the descriptor, and with it the flock


def open_lock(dbapi_connection: Any, database: str) -> None:
    """Give a new connection its handle on the lock file (the engine's "connect" event)."""
    if isinstance(dbapi_connection, WriterConnection):
        fd = os.open(f"{database}-writers", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o640)
        dbapi_connection.writer_lock = fd
        dbapi_connection._closer = weakref.finalize(dbapi_connection, os.close, fd)


def release_on_end(engine: Engine) -> None:
    """Let the next writer in as soon as a transaction of ``engine`` commits or rolls back."""
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(connection: Any) -> None:
        try:
            commit(connection)
        finally:
            leave(connection)

    def do_rollback(connection: Any) -> None:
        try:
            rollback(connection)
        finally:
            leave(connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign,assignment]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign,assignment]


def enter(connection: Any) -> None:
    """Wait for this connection's turn to write (a DBAPI connection or the pool's proxy)."""
    dbapi_connection = getattr(connection, "dbapi_connection", connection)
    if not isinstance(dbapi_connection, WriterConnection) or dbapi_connection.writer_lock is None:
        return
    if dbapi_connection.writing or getattr(_thread, "writes", False):
        return  # already its turn; or this thread writes elsewhere: SQLite decides
    fcntl.flock(dbapi_connection.writer_lock, fcntl.LOCK_EX)
    dbapi_connection.writing = _thread.writes = True


def leave(connection: Any) -> None:
    """After COMMIT or ROLLBACK, or a BEGIN that failed; nothing if it was not queued."""
    dbapi_connection = getattr(connection, "dbapi_connection", connection)
    if not isinstance(dbapi_connection, WriterConnection) or not dbapi_connection.writing:
        return
    dbapi_connection.writing = _thread.writes = False
    assert dbapi_connection.writer_lock is not None
    fcntl.flock(dbapi_connection.writer_lock, fcntl.LOCK_UN)
