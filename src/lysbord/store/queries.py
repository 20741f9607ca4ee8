"""Reads that services share; none of them commits."""

from __future__ import annotations

from sqlalchemy import select
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
