"""Patient administration from the hospital's ADT feed, in the caller's transaction.

A registration or update names the patient by number: unknown, it is registered;
known (under any number it ever had), its name is brought up to date with an event
saying what changed. An identifier change (A47) adds the correct number to the same
record; the wrong one keeps finding it too, because nothing is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lysbord.domain.cpr import parse_person_number
from lysbord.domain.errors import InvalidValue, Msg, UnknownPatient
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.services.people.registration import NewPatient, add_number, register
from lysbord.store.models import Patient, PatientIdentifier
from lysbord.store.queries import patient_by_identifier


@dataclass(frozen=True, slots=True)
class PatientFacts:
    cpr: str
    family_name: str
    given_name: str = ""


def upsert_patient(
    ctx: Context, s: Session, facts: PatientFacts, actor: str, now: datetime
) -> Patient:
    """Register the patient, or update the name of the record the number finds."""
    number = parse_person_number(facts.cpr)
    family, given = facts.family_name.strip(), facts.given_name.strip()
    if not family:
        raise InvalidValue(Msg("must not be empty"), field="family_name")
    try:
        patient = patient_by_identifier(s, number.value)
    except UnknownPatient:
        cmd = NewPatient(number.value, family, given)
        return register(s, number, cmd, ctx.settings.region_issuer, actor, now)
    before = (patient.family_name, patient.given_name)
    if before != (family, given):
        patient.family_name, patient.given_name = family, given
        record(
            s,
            "patient.updated",
            actor=actor,
            at=now,
            patient_id=patient.id,
            before={"family_name": before[0], "given_name": before[1]},
            after={"family_name": family, "given_name": given},
        )
    return patient


def change_identifier(
    ctx: Context, s: Session, wrong: str, right: str, reason: str, actor: str, now: datetime
) -> Patient:
    """A47: the record known by ``wrong`` gets ``right`` too (again is a no-op)."""
    patient = patient_by_identifier(s, wrong.strip().replace("-", ""), field="prior_cpr")
    number = parse_person_number(right)
    stmt = select(PatientIdentifier.patient_id).where(PatientIdentifier.value == number.value)
    owner = s.scalars(stmt).first()
    if owner == patient.id:
        return patient
    add_number(s, patient, number, ctx.settings.region_issuer, reason, actor, now)
    return patient
