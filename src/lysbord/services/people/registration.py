"""Registering patients and their numbers: a new record, a further number (a replacement CPR, an
eCPR), and the issuer each number belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lysbord.domain.cpr import IdKind, PersonNumber, parse_person_number
from lysbord.domain.errors import (
    DuplicateIdentifier,
    InvalidCpr,
    InvalidValue,
    Msg,
)
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.services.people.views import (
    PatientView,
    patient_view,
)
from lysbord.store.models import Patient, PatientIdentifier
from lysbord.store.queries import (
    lock_patients,
    patient_by_identifier,
    site_by_code,
    typed_number,
)

NATIONAL_ISSUER = "CPR"


@dataclass(frozen=True, slots=True)
class NewPatient:
    cpr: str
    family_name: str
    given_name: str = ""
    preferred_site: str | None = None


def issuer_for(number: PersonNumber, region_issuer: str) -> str:
    """D-eCPR numbers are unique only within the region that issued them (DOMAIN.md §2)."""
    return region_issuer if number.kind is IdKind.D_ECPR else NATIONAL_ISSUER


def register_patient(ctx: Context, cmd: NewPatient, actor: str) -> PatientView:
    number = parse_person_number(cmd.cpr)
    if not cmd.family_name.strip():
        raise InvalidValue(Msg("must not be empty"), field="family_name")
    with ctx.uow() as uow:
        s = uow.session
        patient = register(s, number, cmd, ctx.settings.region_issuer, actor, ctx.now())
        view = patient_view(s, patient)
        uow.commit()
    return view


def register(
    s: Session, number: PersonNumber, cmd: NewPatient, region: str, actor: str, now: datetime
) -> Patient:
    """Register in the caller's transaction (the HL7 inbox commits it with its message)."""
    site_id = (
        site_by_code(s, cmd.preferred_site, field="preferred_site").id
        if cmd.preferred_site
        else None
    )
    patient = Patient(
        family_name=cmd.family_name.strip(),
        given_name=cmd.given_name.strip(),
        birth_date=number.birth_date,
        sex=number.sex,
        preferred_site_id=site_id,
        created_at=now,
    )
    s.add(patient)
    s.flush()
    _add_identifier(s, patient, number, region)
    record(
        s,
        "patient.registered",
        actor=actor,
        at=now,
        patient_id=patient.id,
        cpr=number.value,
        kind_of_number=number.kind.value,
    )
    return patient


def _add_identifier(s: Session, patient: Patient, number: PersonNumber, region: str) -> None:
    ident = PatientIdentifier(
        patient_id=patient.id,
        kind=number.kind.value,
        value=number.value,
        issuer=issuer_for(number, region),
    )
    try:
        with s.begin_nested():
            s.add(ident)
    except IntegrityError:
        raise DuplicateIdentifier(
            Msg("a patient with this number is already registered"),
            field="cpr",
            value=number.formatted,
        ) from None


def add_identifier(ctx: Context, cpr: str, number: str, reason: str, actor: str) -> PatientView:
    """A further number for the same person (a new CPR, the real CPR after an e-CPR).

    DOMAIN.md §2: a person who gets a new number is never a new patient; every number
    they ever had keeps finding the one record.
    """
    try:
        parsed = parse_person_number(number)
    except InvalidCpr as exc:
        raise InvalidCpr(exc.msg, field="number", value=number) from None
    if not reason.strip():
        raise InvalidValue(Msg("a new number needs a reason"), field="reason")
    with ctx.uow() as uow:
        s = uow.session
        patient = patient_by_identifier(s, typed_number(cpr))
        add_number(s, patient, parsed, ctx.settings.region_issuer, reason, actor, ctx.now())
        view = patient_view(s, patient)
        uow.commit()
    return view


def add_number(
    s: Session,
    patient: Patient,
    number: PersonNumber,
    region: str,
    reason: str,
    actor: str,
    now: datetime,
) -> None:
    """Add a number in the caller's transaction, with its event."""
    lock_patients(s, patient.id)
    try:
        _add_identifier(s, patient, number, region)
    except DuplicateIdentifier as exc:
        raise DuplicateIdentifier(exc.msg, field="number", value=number.formatted) from None
    record(
        s,
        "patient.identifier-added",
        actor=actor,
        at=now,
        patient_id=patient.id,
        reason=reason,
        number=number.value,
        kind_of_number=number.kind.value,
    )


def get_patient(ctx: Context, cpr: str) -> PatientView:
    """Find by any identifier the patient ever had, merged records included."""
    with ctx.uow(readonly=True) as uow:
        return patient_view(uow.session, patient_by_identifier(uow.session, typed_number(cpr)))
