"""The C-STORE hot path: an instance of a known series is one self-committing INSERT.

It runs on a pooled driver connection, outside SQLAlchemy's Connection (on PostgreSQL
in autocommit, on SQLite as a transaction of its own in the writers' queue); these
tests hold it to the same promises as a unit of work: committed when it returns, a
repeat recognised, a refusal a SQLAlchemy error, and the pooled connection never handed
on in autocommit or holding the writers' queue. A batch (STOW-RS's group commit) sends
its instances' INSERTs together, in its unit of work, held to the same promises.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydicom.uid import generate_uid
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lysbord.services.archive.storing import InstanceIds, Received, StoreOutcome, index_instances
from lysbord.services.core.context import Context
from lysbord.store.archive_models import Instance
from lysbord.store.blobs import Stored
from lysbord.store.db import CompiledOnce, make_engine
from lysbord.store.models import Event
from lysbord.store.uow import Database
from tests.dicomdata import CT, base_dataset
from tests.integration.test_reconcile import store as door_store

COLUMNS = ["sop_instance_uid", "series_id", "sop_class_uid", "instance_number",
           "transfer_syntax", "blob_key", "size", "received_at"]  # fmt: skip
STUDY = generate_uid()
ONE_CONNECTION = {"pool_size": 1, "max_overflow": 0}
PLAIN_INSERT = CompiledOnce(
    lambda dialect: Instance.__table__.insert().returning(Instance.__table__.c.id), COLUMNS
)


def store(ctx: Context, ids: InstanceIds, series_uid: str, sop_uid: str) -> StoreOutcome:
    ds = base_dataset(CT, patient_id="0101011234", patient_name="Test^Ib", accession="",
                      study_uid=STUDY, series_uid=series_uid, modality="CT", number=1,
                      size=8)  # fmt: skip
    ds.SOPInstanceUID = sop_uid
    return door_store(ctx, ds, "MODALITY", ids)


def count(ctx: Context) -> int:
    with ctx.uow(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Instance)) or 0


def test_known_series_instances_commit_and_repeat(ctx: Context) -> None:
    ids, series = InstanceIds(), generate_uid()
    first = store(ctx, ids, series, generate_uid())  # a new series: a unit of work
    assert series in ids.series
    uid = generate_uid()
    second = store(ctx, ids, series, uid)  # the hot path
    again = store(ctx, ids, series, uid)  # a repeat: recognised, stored once
    assert first.status == second.status == again.status == "stored"
    assert again.instance_id == second.instance_id
    assert count(ctx) == 2


def instance_row(series_id: int) -> dict[str, object]:
    return {"sop_instance_uid": generate_uid(), "series_id": series_id, "sop_class_uid": CT,
            "instance_number": "1", "transfer_syntax": "1.2.840.10008.1.2.1",
            "blob_key": "0" * 64, "size": 1, "received_at": datetime.now(UTC)}  # fmt: skip


def events(db: Database) -> int:
    with db.uow(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Event)) or 0


def uncommitted_event(db: Database) -> None:
    """An event written and rolled back: on a connection left in autocommit it would stay."""
    with db.uow() as uow:
        uow.session.add(Event(at=datetime.now(UTC), actor="test", kind="test.rolled_back"))
        uow.session.flush()


def test_one_pooled_connection_goes_back_as_it_came(ctx: Context) -> None:
    db = Database(make_engine(ctx.settings.database_url, **ONE_CONNECTION))
    try:
        ids, series = InstanceIds(), generate_uid()
        store(ctx, ids, series, generate_uid())
        before = events(db)
        assert db.insert_one(PLAIN_INSERT, instance_row(ids.series[series])) is not None
        with pytest.raises(IntegrityError):  # no such series
            db.insert_one(PLAIN_INSERT, instance_row(987654))
        uncommitted_event(db)
        assert db.insert_one(PLAIN_INSERT, instance_row(ids.series[series])) is not None
        uncommitted_event(db)
        assert events(db) == before
        assert count(ctx) == 3
    finally:
        db.dispose()


def received(series_uid: str, sop_uid: str) -> Received:
    header = {"StudyInstanceUID": STUDY, "SeriesInstanceUID": series_uid, "PatientID": "0101011234",
              "Modality": "CT", "InstanceNumber": "1"}  # fmt: skip
    return Received(CT, sop_uid, "1.2.840.10008.1.2.1", header)


def test_a_batch_is_indexed_with_its_repeats_and_conflicts(ctx: Context) -> None:
    """One INSERT per instance, sent together: a UID twice in the batch is a repeat (same
    bytes) or a conflict (other bytes), as against an instance indexed before."""
    ids, series, first, second = InstanceIds(), generate_uid(), generate_uid(), generate_uid()
    batch = [
        (received(series, first), Stored("a" * 64, 10, True)),
        (received(series, second), Stored("b" * 64, 10, True)),
        (received(series, first), Stored("a" * 64, 10, False)),
        (received(series, second), Stored("c" * 64, 10, True)),
    ]
    outcomes = index_instances(ctx, batch, ids)
    assert [o.status for o in outcomes] == ["stored", "stored", "stored", "conflict"]
    assert outcomes[0].new_study and not outcomes[1].new_study
    assert outcomes[2].instance_id == outcomes[0].instance_id
    assert count(ctx) == 2
    again = index_instances(ctx, [(received(series, second), Stored("b" * 64, 10, False))], ids)
    assert again[0].instance_id == outcomes[1].instance_id


def test_a_refused_run_fails_the_batch_as_a_sqlalchemy_error(ctx: Context) -> None:
    ids, series = InstanceIds(), generate_uid()
    store(ctx, ids, series, generate_uid())
    good, bad = instance_row(ids.series[series]), instance_row(987654)  # no such series
    with pytest.raises(IntegrityError), ctx.uow() as uow:
        PLAIN_INSERT.first_of_each(uow.session.connection(), [good, bad])
        uow.commit()
    assert count(ctx) == 1
    with ctx.uow() as uow:
        assert PLAIN_INSERT.first_of_each(uow.session.connection(), []) == []
