"""SQLite write transactions queue on ``<database>-writers`` (``store.writers``)."""

from __future__ import annotations

import fcntl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from lysbord.store.db import make_engine


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    return engine


def lock_is_free(tmp_path: Path) -> bool:
    with (tmp_path / "w.db-writers").open("ab") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        return True


def test_a_second_writer_waits_until_the_first_commits(engine: Engine, tmp_path: Path) -> None:
    done = threading.Event()

    def second() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
        done.set()

    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert not lock_is_free(tmp_path)
        waiter = threading.Thread(target=second)
        waiter.start()
        assert not done.wait(0.3), "the second writer did not wait"
    assert done.wait(5), "the second writer was not let in after the commit"
    waiter.join()
    assert lock_is_free(tmp_path)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2


def test_rollback_and_readers_leave_the_lock_free(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("rolled back")
    assert lock_is_free(tmp_path)
    with engine.connect().execution_options(lysbord_readonly=True) as conn:
        conn.execute(text("SELECT count(*) FROM t"))
        assert lock_is_free(tmp_path), "a read-only transaction took the writers' lock"


def test_a_nested_write_in_the_same_thread_fails_instead_of_hanging(engine: Engine) -> None:
    with engine.begin() as outer:
        outer.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as inner:
            inner.connection.dbapi_connection.execute("PRAGMA busy_timeout=100")  # type: ignore[union-attr]
            started = time.monotonic()
            with pytest.raises(OperationalError, match="locked"):
                inner.execute(text("INSERT INTO t VALUES (2)"))
            assert time.monotonic() - started < 5


FLUSH_SCRIPT = """
import sys
from sqlalchemy import text
from lysbord.store.db import make_engine
engine = make_engine(f"sqlite:///{sys.argv[1]}")
with engine.begin() as conn:
    conn.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
with engine.begin() as conn:
    assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL: flushed by us
    conn.execute(text("INSERT INTO t VALUES (1)"))
print("committed", flush=True)
with engine.begin() as conn:
    conn.execute(text("SELECT count(*) FROM t"))
print("read", flush=True)
"""


def test_a_commit_flushes_the_log_after_letting_the_next_writer_in(tmp_path: Path) -> None:
    """The order the kernel saw: frames written, lock let go, log flushed, then returned."""
    trace = tmp_path / "trace"
    subprocess.run(
        ["strace", "-f", "-y", "-o", str(trace), "-e", "trace=pwrite64,write,flock,fsync,fdatasync",
         sys.executable, "-c", FLUSH_SCRIPT, str(tmp_path / "w.db")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    kinds = [_kind(call) for call in trace.read_text().splitlines()]
    committed, read = kinds.index("committed"), kinds.index("read")
    write_began = max(i for i in range(committed) if kinds[i] == "lock")
    assert [k for k in kinds[write_began:committed] if k in _ORDER][-3:] == [
        "wal write",
        "unlock",
        "wal fsync",
    ]
    assert "wal fsync" not in kinds[committed:read], "a commit that wrote nothing flushed"


_ORDER = {"wal write", "unlock", "wal fsync"}


def _kind(call: str) -> str:
    if "-wal>" in call and ("pwrite64" in call or "write(" in call):
        return "wal write"
    if "LOCK_UN" in call:
        return "unlock"
    if "LOCK_EX" in call:
        return "lock"
    if "-wal>" in call and "sync(" in call:
        return "wal fsync"
    for marker in ("committed", "read"):
        if f'"{marker}"' in call:
            return marker
    return call
