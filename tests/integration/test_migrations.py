"""Alembic migrations (store/migrations): the tables they build are the models, and 0006 keeps
the performed steps written before it (their procedure becomes a link, no procedure a reason)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.command import downgrade
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from lysbord.services.archive.commitment import unreported
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, mpps
from lysbord.services.pathway.mpps import ScheduledRef, StepReport
from lysbord.store.archive_models import PerformedStep, PerformedStepProcedure
from lysbord.store.db import make_engine
from lysbord.store.migrate import alembic_config, upgrade
from lysbord.store.schema import metadata
from tests.helpers import new_referral


@pytest.fixture
def engine(ctx: Context, database_url: str) -> Iterator[Engine]:
    """An engine of its own on the test's database, left at the newest revision."""
    engine = make_engine(database_url)
    yield engine
    upgrade(engine)
    engine.dispose()


def uid() -> str:
    return f"2.25.{random.getrandbits(120)}"


def start(ctx: Context, accession: str) -> str:
    step_uid = uid()
    ref = ScheduledRef(accession=accession)
    mpps.start_step(ctx, StepReport(step_uid, "AAACT1", "IN PROGRESS", refs=[ref]))
    return step_uid


def test_the_migrated_schema_is_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_0006_links_earlier_steps_and_gives_unmatched_ones_a_reason(
    ctx: Context, engine: Engine
) -> None:
    accession = new_referral(ctx).procedures[0].accession
    offer = booking.find_slots(ctx, booking.SlotSearch(accession, limit=1))[0]
    booking.book(ctx, accession, offer.slot_id, "tester")
    matched, unmatched = start(ctx, accession), start(ctx, "NOSUCH3")
    ctx.db.dispose()  # nothing holds the tables while they change

    downgrade(alembic_config(engine), "0005")
    assert "performed_step_procedures" not in inspect(engine).get_table_names()
    upgrade(engine)

    with ctx.uow(readonly=True) as uow:
        s = uow.session
        rows = {r.mpps_uid: r for r in s.scalars(select(PerformedStep))}
        linked = s.execute(select(PerformedStepProcedure)).scalars().all()
        assert [(x.performed_step_id, x.procedure_id) for x in linked] == [
            (rows[matched].id, rows[matched].procedure_id)
        ]
        assert rows[matched].unmatched_reason is None
        assert rows[unmatched].unmatched_reason == "no procedure for the scheduled steps it names"
    indexes = {i["name"] for i in inspect(engine).get_indexes("commitment_requests")}
    assert "ix_commitment_requests_unreported" in indexes


def test_the_commitment_retry_scan_can_read_the_partial_index(engine: Engine) -> None:
    """SQLite picks it; PostgreSQL, with a table too small to cost, must at least be able to."""
    stmt = unreported(1000).compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET enable_seqscan = off"))
            plan = conn.execute(text(f"EXPLAIN {stmt}")).scalars().all()
        else:
            plan = [r[-1] for r in conn.execute(text(f"EXPLAIN QUERY PLAN {stmt}"))]
    assert any("ix_commitment_requests_unreported" in line for line in plan), plan
