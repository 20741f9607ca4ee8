"""Reads that services share; none of them commits."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, aliased

from lysbord.domain.errors import (
    Msg,
    UnknownPatient,
    UnknownProcedure,
    UnknownProcedureCode,
    UnknownSite,
    UnknownSlot,
)
from lysbord.store.models import (
    Appointment,
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
        raise UnknownPatient(Msg("no patient has this identifier"), field=field, value=value)
    return survivor(session, patient) if follow_merges else patient


def numbers_of_person(value: str) -> Select[tuple[str]]:
    """Every number of the person ``value`` finds: those of its surviving record and of each
    record merged into it, directly or not (one statement, for use as a subquery).

    A merge keeps the old record and its numbers and points it at the survivor, so the
    records of one person are a tree; walking ``merged_into_id`` both ways from the record
    ``patient_by_identifier`` would pick reaches all of it. An undone merge clears the
    pointer, which splits them again. An unknown ``value`` gives no rows.
    """
    first = (
        select(PatientIdentifier.patient_id)
        .where(PatientIdentifier.value == value)
        .order_by(PatientIdentifier.id)
        .limit(1)
    )
    records = (
        select(Patient.id, Patient.merged_into_id)
        .where(Patient.id == first.scalar_subquery())
        .cte("person_records", recursive=True)
    )
    near = aliased(Patient)
    records = records.union(
        select(near.id, near.merged_into_id).join(
            records, or_(near.merged_into_id == records.c.id, near.id == records.c.merged_into_id)
        )
    )
    return select(PatientIdentifier.value).where(
        PatientIdentifier.patient_id.in_(select(records.c.id))
    )


def procedure_by_accession(
    session: Session, accession: str, *, for_update: bool = False
) -> tuple[Procedure, Referral]:
    stmt = select(Procedure).where(Procedure.accession == accession)
    if for_update:
        stmt = stmt.with_for_update()
    procedure = session.scalars(stmt).first()
    if procedure is None:
        raise UnknownProcedure(
            Msg("no procedure has this accession number"), field="accession", value=accession
        )
    return procedure, session.get_one(Referral, procedure.referral_id)


def procedure_code(session: Session, code: str, *, field: str = "procedures") -> ProcedureCode:
    found = session.get(ProcedureCode, code)
    if found is None:
        raise UnknownProcedureCode(Msg("not in the procedure catalogue"), field=field, value=code)
    return found


def site_by_code(session: Session, code: str, *, field: str = "site") -> Site:
    site = session.scalars(select(Site).where(Site.code == code)).first()
    if site is None:
        raise UnknownSite(Msg("no such site"), field=field, value=code)
    return site


def slot_with_room(session: Session, slot_id: int) -> tuple[Slot, Room]:
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise UnknownSlot(Msg("no such slot"), field="slot_id", value=slot_id)
    return slot, session.get_one(Room, slot.room_id)


def active_appointment(session: Session, procedure_id: int) -> Appointment | None:
    stmt = select(Appointment).where(
        Appointment.procedure_id == procedure_id, Appointment.active.is_(True)
    )
    return session.scalars(stmt).first()


def typed_number(text: str) -> str:
    """A person number as a clerk or a message typed it, as stored: no dashes, upper case."""
    return text.strip().replace("-", "").upper()


def lock_patients(s: Session, *patient_ids: int) -> None:
    """Lock patient rows in id order (no deadlock between two mergers), then re-read them."""
    stmt = select(Patient).where(Patient.id.in_(patient_ids)).order_by(Patient.id)
    s.scalars(stmt.with_for_update().execution_options(populate_existing=True)).all()
