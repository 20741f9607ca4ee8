"""Storing an instance: bytes durable first, then indexed and reconciled, then "stored".

The same instance twice is stored once; the same SOP Instance UID with other bytes
is kept as a conflict for a person to look at, never overwriting what was stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement

from lysbord.services.archive.reconcile import reconcile_study
from lysbord.services.core.context import Context
from lysbord.store.archive_models import Instance, InstanceConflict, Series, Study
from lysbord.store.blobs import BlobStore, Stored
from lysbord.store.db import CompiledOnce


@dataclass(frozen=True, slots=True)
class Received:
    """One instance as it came in, with the attributes read from its header."""

    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    header: dict[str, str]
    calling_ae: str = ""


@dataclass(frozen=True, slots=True)
class StoreOutcome:
    """``stored`` (new or a repeat of the same bytes) or ``conflict``; never silent."""

    status: str
    instance_id: int | None = None
    conflict_id: int | None = None
    study_uid: str = ""
    new_study: bool = False


class InstanceIds:
    """Study and series row ids never change once made, so each process may remember them."""

    def __init__(self) -> None:
        self.studies: dict[str, int] = {}
        self.series: dict[str, int] = {}


def store_instance(
    ctx: Context,
    blobs: BlobStore,
    item: Received,
    parts: list[bytes],
    ids: InstanceIds | None = None,
) -> StoreOutcome:
    """Write the bytes durably, then index them in one transaction; return what happened.

    The common case (a new instance of a series this process has seen) is one INSERT
    that commits itself; anything else (a new study or series, a repeat) takes
    ``index_instances``.
    """
    blob = blobs.put(parts)
    ids = ids or InstanceIds()
    series_id = ids.series.get(item.header["SeriesInstanceUID"])
    if series_id is not None:
        values = _instance_values(item, series_id, blob.key, blob.size, ctx.now())
        instance_id = ctx.db.insert_one(_INSERT_INSTANCE, values)
        if instance_id is not None:
            study_uid = item.header["StudyInstanceUID"]
            return StoreOutcome("stored", instance_id, study_uid=study_uid)
    return index_instances(ctx, [(item, blob)], ids)[0]


def index_instances(
    ctx: Context, items: Sequence[tuple[Received, Stored]], ids: InstanceIds | None = None
) -> list[StoreOutcome]:
    """Index instances whose blobs are already durable, all in one transaction.

    One COMMIT for many (a group commit): STOW-RS indexes the parts that became durable
    while the previous commit ran. If anything fails, nothing of the batch is indexed.
    """
    now = ctx.now()
    ids = ids or InstanceIds()
    made = InstanceIds()  # rows of this transaction: remembered only once committed
    with ctx.uow() as uow:
        s = uow.session
        placed = [_series_of(s, item, now, ids, made) for item, _ in items]
        rows = [
            _instance_values(item, series_id, blob.key, blob.size, now)
            for (item, blob), (series_id, _) in zip(items, placed, strict=True)
        ]
        instance_ids = _INSERT_INSTANCE.first_of_each(s.connection(), rows)
        outcomes = [
            _outcome(ctx, s, item, blob, now, instance_id, new_study)
            for (item, blob), (_, new_study), instance_id in zip(
                items, placed, instance_ids, strict=True
            )
        ]
        uow.commit()
    ids.studies.update(made.studies)
    ids.series.update(made.series)
    return outcomes


def _series_of(
    s: Session, item: Received, now: datetime, ids: InstanceIds, made: InstanceIds
) -> tuple[int, int | None]:
    """The instance's series row id, and its study's id if that row is new; ``made``: the
    ids found or made in the open transaction."""
    h = item.header
    study_uid, series_uid = h["StudyInstanceUID"], h["SeriesInstanceUID"]
    study_id = ids.studies.get(study_uid) or made.studies.get(study_uid)
    new_study = False
    if study_id is None:
        study_id, new_study = _ensure_study(s, item, now)
    series_id = (
        ids.series.get(series_uid) or made.series.get(series_uid) or _ensure_series(s, h, study_id)
    )
    made.studies[study_uid], made.series[series_uid] = study_id, series_id
    return series_id, study_id if new_study else None


def _outcome(
    ctx: Context,
    s: Session,
    item: Received,
    blob: Stored,
    now: datetime,
    instance_id: int | None,
    new_study: int | None,
) -> StoreOutcome:
    """After the instances' INSERT: a new study is reconciled; a UID indexed already
    (before, or earlier in this batch) is a repeat or a conflict."""
    if instance_id is None:
        return _repeat(s, item, blob.key, blob.size, now)
    if new_study is not None:
        reconcile_study(ctx, s, s.get_one(Study, new_study), actor="system", at=now)
    study_uid = item.header["StudyInstanceUID"]
    return StoreOutcome("stored", instance_id, study_uid=study_uid, new_study=new_study is not None)


def _instance_values(
    item: Received, series_id: int, key: str, size: int, now: datetime
) -> dict[str, Any]:
    """The instance's row for ``_INSERT_INSTANCE``, which returns the new row's id, or
    None when this SOP Instance UID is already indexed."""
    return {
        "sop_instance_uid": item.sop_instance_uid,
        "series_id": series_id,
        "sop_class_uid": item.sop_class_uid,
        "instance_number": item.header.get("InstanceNumber", "")[:12],
        "transfer_syntax": item.transfer_syntax,
        "blob_key": key,
        "size": size,
        "received_at": now,
    }


def _repeat(s: Session, item: Received, key: str, size: int, now: datetime) -> StoreOutcome:
    """The same bytes again are fine; other bytes under the same UID are kept aside."""
    study_uid = item.header["StudyInstanceUID"]
    instance_id, old_key = s.execute(
        select(Instance.id, Instance.blob_key).where(
            Instance.sop_instance_uid == item.sop_instance_uid
        )
    ).one()
    if old_key == key:
        return StoreOutcome("stored", instance_id=instance_id, study_uid=study_uid)
    conflict = InstanceConflict(
        sop_instance_uid=item.sop_instance_uid,
        blob_key=key,
        size=size,
        calling_ae=item.calling_ae,
        received_at=now,
    )
    s.add(conflict)
    s.flush()
    return StoreOutcome("conflict", conflict_id=conflict.id, study_uid=study_uid)


def _ignoring_duplicates(table: Any, key: str) -> Callable[[str], ClauseElement]:
    """INSERT ... ON CONFLICT (key) DO NOTHING RETURNING id, in the dialect named."""

    def build(dialect: str) -> ClauseElement:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(table).on_conflict_do_nothing(index_elements=[key])
        return stmt.returning(table.c.id)

    return build


# Compiled once per dialect: this runs for every instance received (see CompiledOnce).
_INSERT_INSTANCE = CompiledOnce(
    _ignoring_duplicates(Instance.__table__, "sop_instance_uid"),
    ["sop_instance_uid", "series_id", "sop_class_uid", "instance_number", "transfer_syntax",
     "blob_key", "size", "received_at"],
)  # fmt: skip
_STUDY_COLUMNS = [
    "study_uid", "patient_key", "issuer", "patient_name", "birth_date", "sex", "accession",
    "study_date", "study_time", "study_id", "description", "referring_physician",
    "calling_ae", "received_at", "received_patient_key", "received_patient_name",
    "received_accession",
]  # fmt: skip
_INSERT_STUDY = CompiledOnce(_ignoring_duplicates(Study.__table__, "study_uid"), _STUDY_COLUMNS)
_INSERT_SERIES = CompiledOnce(
    _ignoring_duplicates(Series.__table__, "series_uid"),
    ["series_uid", "study_id", "modality", "series_number", "description", "body_part"],
)


def _ensure_study(s: Session, item: Received, now: datetime) -> tuple[int, bool]:
    h = item.header
    values = {
        "study_uid": h["StudyInstanceUID"],
        "patient_key": h.get("PatientID", "")[:64],
        "issuer": h.get("IssuerOfPatientID", "")[:64],
        "patient_name": h.get("PatientName", "")[:200],
        "birth_date": h.get("PatientBirthDate", "")[:8],
        "sex": h.get("PatientSex", "")[:16],
        "accession": h.get("AccessionNumber", "")[:16],
        "study_date": h.get("StudyDate", "")[:8],
        "study_time": h.get("StudyTime", "")[:16],
        "study_id": h.get("StudyID", "")[:16],
        "description": h.get("StudyDescription", "")[:200],
        "referring_physician": h.get("ReferringPhysicianName", "")[:200],
        "calling_ae": item.calling_ae[:16],
        "received_at": now,
    }
    values.update(
        received_patient_key=values["patient_key"],
        received_patient_name=values["patient_name"],
        received_accession=values["accession"],
    )
    made = _INSERT_STUDY.execute(s.connection(), values).scalar()
    if made is not None:
        return made, True
    return s.scalars(select(Study.id).where(Study.study_uid == values["study_uid"])).one(), False


def _ensure_series(s: Session, h: dict[str, str], study_id: int) -> int:
    values = {
        "series_uid": h["SeriesInstanceUID"],
        "study_id": study_id,
        "modality": h.get("Modality", "")[:16],
        "series_number": h.get("SeriesNumber", "")[:12],
        "description": h.get("SeriesDescription", "")[:200],
        "body_part": h.get("BodyPartExamined", "")[:64],
    }
    made = _INSERT_SERIES.execute(s.connection(), values).scalar()
    if made is not None:
        return int(made)
    return s.scalars(select(Series.id).where(Series.series_uid == values["series_uid"])).one()
