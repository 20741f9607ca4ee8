"""Storing an instance: bytes durable first, then indexed and reconciled, then "stored".

The same instance twice is stored once; the same SOP Instance UID with other bytes
is kept as a conflict for a person to look at, never overwriting what was stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lysbord.services.context import Context
from lysbord.services.reconcile import reconcile_study
from lysbord.store.archive_models import Instance, InstanceConflict, Series, Study
from lysbord.store.blobs import BlobStore


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
    """Write the bytes durably, then index them in one transaction; return what happened."""
    blob = blobs.put(parts)
    now = ctx.now()
    ids = ids or InstanceIds()
    with ctx.uow() as uow:
        s = uow.session
        existing = s.execute(
            select(Instance.id, Instance.blob_key).where(
                Instance.sop_instance_uid == item.sop_instance_uid
            )
        ).first()
        if existing is not None:
            outcome = _repeat(s, item, existing.id, existing.blob_key, blob.key, blob.size, now)
            uow.commit()
            return outcome
        outcome, study_id, series_id = _index(ctx, s, item, blob.key, blob.size, now, ids)
        uow.commit()
    ids.studies[outcome.study_uid] = study_id  # remembered only once committed
    ids.series[item.header["SeriesInstanceUID"]] = series_id
    return outcome


def _repeat(
    s: Session, item: Received, instance_id: int, old_key: str, key: str, size: int, now: datetime
) -> StoreOutcome:
    study_uid = item.header.get("StudyInstanceUID", "")
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


def _index(
    ctx: Context, s: Session, item: Received, key: str, size: int, now: datetime, ids: InstanceIds
) -> tuple[StoreOutcome, int, int]:
    h = item.header
    study_uid = h["StudyInstanceUID"]
    study_id = ids.studies.get(study_uid)
    new_study = False
    if study_id is None:
        study_id, new_study = _ensure_study(s, item, now)
    series_id = ids.series.get(h["SeriesInstanceUID"]) or _ensure_series(s, h, study_id)
    instance = Instance(
        sop_instance_uid=item.sop_instance_uid,
        series_id=series_id,
        sop_class_uid=item.sop_class_uid,
        instance_number=h.get("InstanceNumber", "")[:12],
        transfer_syntax=item.transfer_syntax,
        blob_key=key,
        size=size,
        received_at=now,
    )
    s.add(instance)
    s.flush()
    if new_study:
        reconcile_study(ctx, s, s.get_one(Study, study_id), actor="system", at=now)
    outcome = StoreOutcome(
        "stored", instance_id=instance.id, study_uid=study_uid, new_study=new_study
    )
    return outcome, study_id, series_id


def _upsert(s: Session, table: Any, values: dict[str, Any], key: str) -> bool:
    """Insert unless a row with this unique key exists; True if this call made it."""
    dialect = s.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=[key])
    return bool(s.execute(stmt).rowcount)  # type: ignore[attr-defined]


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
    new = _upsert(s, Study, values, "study_uid")
    study_id = s.scalars(select(Study.id).where(Study.study_uid == values["study_uid"])).one()
    return study_id, new


def _ensure_series(s: Session, h: dict[str, str], study_id: int) -> int:
    values = {
        "series_uid": h["SeriesInstanceUID"],
        "study_id": study_id,
        "modality": h.get("Modality", "")[:16],
        "series_number": h.get("SeriesNumber", "")[:12],
        "description": h.get("SeriesDescription", "")[:200],
        "body_part": h.get("BodyPartExamined", "")[:64],
    }
    _upsert(s, Series, values, "series_uid")
    return s.scalars(select(Series.id).where(Series.series_uid == values["series_uid"])).one()
