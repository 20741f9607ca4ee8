"""Linking a study to a procedure and undoing it, with the checks a link must pass and the
effective identity (patient key, name, accession) it takes from the order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lysbord.domain.errors import Msg
from lysbord.domain.workflow import ProcedureState
from lysbord.services.archive import grouped
from lysbord.services.core.events import record
from lysbord.services.people.views import dicom_name, primary_identifiers
from lysbord.store.archive_models import Study
from lysbord.store.models import (
    Appointment,
    Patient,
    Procedure,
    Referral,
    Room,
    Slot,
)


def link_study(
    s: Session, study: Study, procedure: Procedure, *, actor: str, at: datetime, how: str
) -> None:
    """Bind study and procedure; the procedure now has its images, the study its patient."""
    referral = s.get_one(Referral, procedure.referral_id)
    before = identity(study)
    study.procedure_id, study.unmatched_reason, study.unmatched_message = procedure.id, None, None
    identify(s, study, s.get_one(Patient, referral.patient_id), procedure.accession or "")
    if study.site_id is None:
        study.site_id = _appointment_site_id(s, procedure.id)
    if procedure.images_received_at is None:
        procedure.images_received_at = at
    record(
        s,
        "procedure.images-received",
        actor=actor,
        at=at,
        patient_id=referral.patient_id,
        referral_id=referral.id,
        procedure_id=procedure.id,
        study_uid=study.study_uid,
        matched_by=how,
        **changes(before, study),
    )
    grouped.share_images(s, procedure, study.study_uid, actor=actor, at=at)


def unlink_study(s: Session, study: Study, *, actor: str, at: datetime, reason: str) -> None:
    """Take a study off its procedure; without other images (its own or its group's) the
    procedure, and each of its group left with none, waits for them again."""
    if study.procedure_id is None:
        return
    procedure = s.get_one(Procedure, study.procedure_id, with_for_update=True)
    referral = s.get_one(Referral, procedure.referral_id)
    study.procedure_id = None
    s.flush()
    if not grouped.studies_of(s, [procedure.id]):
        procedure.images_received_at = None
    record(
        s,
        "procedure.images-unlinked",
        actor=actor,
        at=at,
        patient_id=referral.patient_id,
        referral_id=referral.id,
        procedure_id=procedure.id,
        reason=reason,
        study_uid=study.study_uid,
    )
    grouped.unshare_images(s, procedure, study.study_uid, actor=actor, at=at, reason=reason)


def refusal(s: Session, study: Study, procedure: Procedure) -> Msg | None:
    """Why this study cannot be this procedure's images, or None; locks the procedure."""
    s.execute(select(Procedure.id).where(Procedure.id == procedure.id).with_for_update())
    if procedure.state == ProcedureState.CANCELLED:
        return Msg("procedure {accession} is cancelled", accession=procedure.accession)
    other = other_study_uid(s, study, procedure)
    if other is not None:
        return Msg(
            "procedure {accession} already has study {other}",
            accession=procedure.accession,
            other=other,
        )
    return None


def other_study_uid(s: Session, study: Study, procedure: Procedure) -> str | None:
    """The UID of another study linked to this procedure, if there is one."""
    stmt = select(Study.study_uid).where(
        Study.procedure_id == procedure.id, Study.study_uid != study.study_uid
    )
    return s.scalars(stmt.limit(1)).first()


def changes(before: dict[str, str], study: Study) -> dict[str, Any]:
    """``from``/``to`` of an event that corrected a study's effective values."""
    return {"from": before, "to": identity(study)}


def identity(study: Study) -> dict[str, str]:
    """The effective values a correction changes, for the from/to of its event."""
    return {
        "patient_key": study.patient_key,
        "patient_name": study.patient_name,
        "accession": study.accession,
    }


def identify(s: Session, study: Study, patient: Patient, accession: str | None = None) -> None:
    """Give the study this patient: its primary number and name (and an accession, if given)."""
    study.patient_id = patient.id
    study.patient_key = primary_identifiers(s, [patient.id]).get(patient.id, study.patient_key)
    study.patient_name = dicom_name(patient)[:200]
    if accession is not None:
        study.accession = accession[:16]


def _appointment_site_id(s: Session, procedure_id: int) -> int | None:
    stmt = (
        select(Room.site_id)
        .join(Slot, Slot.room_id == Room.id)
        .join(Appointment, Appointment.slot_id == Slot.id)
        .where(Appointment.procedure_id == procedure_id, Appointment.active.is_(True))
    )
    return s.scalars(stmt).first()
