"""``Database.read``: one SELECT outside a unit of work, for the DICOM door's hot queries."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from sqlalchemy import literal, select

from lysbord.services.core.context import Context

IDLE_IN_TRANSACTION = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND state = 'idle in transaction'"
)


def test_read_answers_and_leaves_no_transaction_open(bare_ctx: Context) -> None:
    rows = bare_ctx.db.read(select(literal(7).label("seven")))
    assert [row.seven for row in rows] == [7]
    url = bare_ctx.db.engine.url
    if url.get_backend_name() == "sqlite":  # a reader left open would keep the WAL busy
        with closing(sqlite3.connect(str(url.database), isolation_level=None)) as raw:
            busy = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        assert busy == 0
    else:  # autocommit: nothing waits for a COMMIT or ROLLBACK
        with bare_ctx.db.engine.connect() as conn:
            assert conn.exec_driver_sql(IDLE_IN_TRANSACTION).scalar_one() == 0
