"""Reads that services share; none of them commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select, union_all
from sqlalchemy.orm import Session

from lysbord.domain.errors import (
    UnknownPatient,
    UnknownProcedure,
    UnknownProcedureCode,
    UnknownSite,
    UnknownSlot,
)
from lysbord.store.models import (
    Appointment,
    Block,
    Patient,
    PatientIdentifier,
    Procedure,
    ProcedureCode,
    Referral,
    Room,
    Site,
    Slot,
)


def survivor(session: Session, patient: Patient) -> Patient:
    """Follow merges to the record that lives on, so old identifiers still find it."""
    seen = {patient.id}
    while patient.merged_into_id is not None:
        patient = session.get_one(Patient, patient.merged_into_id)
        if patient.id in seen:  # a cycle would be a broken invariant, not a loop forever
            raise RuntimeError(f"merge cycle through patient {patient.id}")
        seen.add(patient.id)
    return patient


def patient_by_identifier(
    session: Session, value: str, *, field: str = "cpr", follow_merges: bool = True
) -> Patient:
    stmt = (
        select(Patient)
        .join(PatientIdentifier, PatientIdentifier.patient_id == Patient.id)
        .where(PatientIdentifier.value == value)
        .order_by(PatientIdentifier.id)
        .limit(1)
    )
    patient = session.scalars(stmt).first()
    if patient is None:
        raise UnknownPatient("no patient has this identifier", field=field, value=value)
    return survivor(session, patient) if follow_merges else patient


def procedure_by_accession(
    session: Session, accession: str, *, for_update: bool = False
) -> tuple[Procedure, Referral]:
    stmt = select(Procedure).where(Procedure.accession == accession)
    if for_update:
        stmt = stmt.with_for_update()
    procedure = session.scalars(stmt).first()
    if procedure is None:
        raise UnknownProcedure(
            "no procedure has this accession number", field="accession", value=accession
        )
    return procedure, session.get_one(Referral, procedure.referral_id)


def procedure_code(session: Session, code: str, *, field: str = "procedures") -> ProcedureCode:
    found = session.get(ProcedureCode, code)
    if found is None:
        raise UnknownProcedureCode("not in the procedure catalogue", field=field, value=code)
    return found


def site_by_code(session: Session, code: str, *, field: str = "site") -> Site:
    site = session.scalars(select(Site).where(Site.code == code)).first()
    if site is None:
        raise UnknownSite("no such site", field=field, value=code)
    return site


def slot_with_room(session: Session, slot_id: int) -> tuple[Slot, Room]:
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise UnknownSlot("no such slot", field="slot_id", value=slot_id)
    return slot, session.get_one(Room, slot.room_id)


def active_appointment(session: Session, procedure_id: int) -> Appointment | None:
    stmt = select(Appointment).where(
        Appointment.procedure_id == procedure_id, Appointment.active.is_(True)
    )
    return session.scalars(stmt).first()


def slot_is_taken(session: Session, slot_id: int) -> bool:
    stmt = select(exists().where(Appointment.slot_id == slot_id, Appointment.active.is_(True)))
    return bool(session.scalar(stmt))


def block_covering(session: Session, room: Room, start: datetime, end: datetime) -> Block | None:
    stmt = select(Block).where(_blocks_overlap(room.id, room.site_id, start, end)).limit(1)
    return session.scalars(stmt).first()


def _blocks_overlap(room_id: Any, site_id: Any, start: Any, end: Any) -> ColumnElement[bool]:
    return and_(
        Block.lifted_at.is_(None),
        or_(Block.room_id == room_id, Block.site_id == site_id),
        Block.start_at < end,
        Block.end_at > start,
    )


@dataclass(frozen=True, slots=True)
class FreeSlot:
    slot: Slot
    room: Room
    site: Site


RoomsBySite = dict[int, tuple[Room, Site]]


def fitting_rooms(
    session: Session, modalities: Sequence[str], site_ids: Sequence[int] | None
) -> RoomsBySite:
    """Open rooms of these modalities (at these sites), by room id: a slot search's scope."""
    stmt = (
        select(Room, Site)
        .join(Site, Site.id == Room.site_id)
        .where(Room.modality.in_(modalities), Room.active.is_(True))
    )
    if site_ids is not None:
        stmt = stmt.where(Room.site_id.in_(site_ids))
    return {room.id: (room, site) for room, site in session.execute(stmt)}


def free_slots(
    session: Session,
    rooms: RoomsBySite,
    *,
    min_minutes: int,
    start_from: datetime,
    start_before: datetime,
    limit: int,
) -> list[FreeSlot]:
    """Earliest bookable slots in ``rooms``: long enough, not taken, not blocked.

    One index-ordered scan per room (its (room_id, start_at) index, stopping after
    ``limit`` free slots), merged in one statement: the cost follows the rooms that fit,
    never the slots of rooms of another modality or site, and a fully booked stretch of one
    room does not slow the others down.
    """
    if not rooms:
        return []
    taken = exists().where(Appointment.slot_id == Slot.id, Appointment.active.is_(True))
    per_room = [
        select(Slot.id)
        .where(
            Slot.room_id == room.id,
            Slot.start_at >= start_from,
            Slot.start_at < start_before,
            Slot.minutes >= min_minutes,
            ~taken,
            ~exists().where(_blocks_overlap(room.id, room.site_id, Slot.start_at, Slot.end_at)),
        )
        .order_by(Slot.start_at)
        .limit(limit)
        .subquery()
        for room, _ in rooms.values()
    ]
    ids = union_all(*(select(sub.c.id) for sub in per_room))
    stmt = select(Slot).where(Slot.id.in_(ids)).order_by(Slot.start_at, Slot.room_id).limit(limit)
    return [FreeSlot(slot, *rooms[slot.room_id]) for slot in session.scalars(stmt)]
