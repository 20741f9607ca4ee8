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

The log is flushed after the lock is let go. With ``synchronous=FULL`` SQLite fsyncs
its WAL inside the commit, holding the write lock, so four writers took turns at the
disk. In WAL mode with ``synchronous=NORMAL`` a commit only writes its frames; here
the committing connection then flushes the WAL file itself (fdatasync, as SQLite
does), outside the lock, before its commit returns. Writers flush side by side, and
one flush covers every frame written before it, theirs too. A commit is durable when
it returns, as with FULL: a frame a checkpoint has already moved into the database
was synced there (NORMAL syncs the WAL and the database at every checkpoint).
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
    wal: str | None = None  # the log to flush after a commit that changed something
    writing = False
    changes_at_begin = 0
    _closer: Callable[[], object] | None = None

    def close(self) -> None:
        super().close()
        if self._closer is not None:
            self._closer()  # closes the descriptor, and with it the flock


def open_lock(dbapi_connection: Any, database: str, *, flush_wal: bool) -> None:
    """Give a new connection its handle on the lock file (the engine's "connect" event);
    ``flush_wal``: the connection commits with ``synchronous=NORMAL``, so flush its log."""
    if isinstance(dbapi_connection, WriterConnection):
        fd = os.open(f"{database}-writers", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        dbapi_connection.writer_lock = fd
        dbapi_connection.wal = f"{database}-wal" if flush_wal else None
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
        flush(connection)

    def do_rollback(connection: Any) -> None:
        try:
            rollback(connection)
        finally:
            leave(connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign,assignment]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign,assignment]


def _writer(connection: Any) -> WriterConnection | None:
    """The connection that takes part in the queue (a DBAPI connection or the pool's
    proxy of one), or None for one that does not (in memory)."""
    dbapi_connection = getattr(connection, "dbapi_connection", connection)
    if isinstance(dbapi_connection, WriterConnection) and dbapi_connection.writer_lock is not None:
        return dbapi_connection
    return None


def enter(connection: Any) -> None:
    """Wait for this connection's turn to write."""
    dbapi_connection = _writer(connection)
    if dbapi_connection is None:
        return
    dbapi_connection.changes_at_begin = dbapi_connection.total_changes
    if dbapi_connection.writing or getattr(_thread, "writes", False):
        return  # already its turn; or this thread writes elsewhere: SQLite decides
    assert dbapi_connection.writer_lock is not None
    fcntl.flock(dbapi_connection.writer_lock, fcntl.LOCK_EX)
    dbapi_connection.writing = _thread.writes = True


def leave(connection: Any) -> None:
    """After COMMIT or ROLLBACK, or a BEGIN that failed; nothing if it was not queued."""
    dbapi_connection = _writer(connection)
    if dbapi_connection is None or not dbapi_connection.writing:
        return
    dbapi_connection.writing = _thread.writes = False
    assert dbapi_connection.writer_lock is not None
    fcntl.flock(dbapi_connection.writer_lock, fcntl.LOCK_UN)


def flush(connection: Any) -> None:
    """Make a commit that changed rows durable: flush the WAL it was written to.

    fdatasync, as SQLite itself syncs its WAL: the log's size is flushed when it grew;
    its timestamps need no write of their own for every commit."""
    dbapi_connection = _writer(connection)
    if dbapi_connection is None or dbapi_connection.wal is None:
        return
    if dbapi_connection.total_changes == dbapi_connection.changes_at_begin:
        return  # nothing written: nothing to flush
    try:
        fd = os.open(dbapi_connection.wal, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return  # checkpointed and removed: the frames are in the database, synced
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)
