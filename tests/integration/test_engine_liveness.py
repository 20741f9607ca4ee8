"""PostgreSQL's pooled connections are checked without a round trip (store/db.py), and
still survive the server dropping them (a restart, pg_terminate_backend): the next use
gets fresh ones instead of failing."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from lysbord.services.core.context import Context

PID = "SELECT pg_backend_pid()"


def test_connections_the_server_dropped_are_replaced(bare_ctx: Context) -> None:
    engine = bare_ctx.db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to go away")
    with engine.connect() as a, engine.connect() as b:  # two idle connections in the pool
        pids = [a.exec_driver_sql(PID).scalar(), b.exec_driver_sql(PID).scalar()]
        a.rollback(), b.rollback()
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT", poolclass=None)
    with admin.connect() as conn:
        conn.execute(
            text("SELECT pg_terminate_backend(pid, 5000) FROM unnest(:p) pid"), {"p": pids}
        )
    admin.dispose()
    for _ in pids:
        with engine.connect() as conn:
            assert conn.exec_driver_sql(PID).scalar() not in pids
