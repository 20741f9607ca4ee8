"""SQLite write transactions queue on ``<database>-writers`` (``store.writers``)."""

from __future__ import annotations

import fcntl
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
