"""Which procedure does a study belong to? The classic place where studies get lost.

IHE SWF binds a study to its order by the Accession Number and the Study Instance
UID the RIS put in the worklist. At a study's first instance we try, in order: the
accession number, the Study Instance UID, then the patient with a booked procedure
of that modality on that study date (exactly one). A key that matches is still
refused when it contradicts what else is known (the images name another known
patient, the procedure is cancelled or already has another study): a wrong link
would show one patient's images as another's, so a person decides.

No match is not a void: the study stays in the unmatched queue with the reason
(``studies.unmatched_reason``) and a ``study.unmatched`` event until a person
assigns it (services/archive/studies.py). A study whose first instance arrives before its
patient or order exists lands there too; it is not matched again later (a re-sent
or later series joins the study row as it is, assignment and corrections kept).

A link corrects the study's *effective* patient key, name and accession to the
order's (IHE SWF: the archive takes the RIS's demographics); ``received_*`` keep
what the modality sent, and retrieval applies the effective values. In an MPPS group
case the linked study also counts for the other procedures of the step
(``services/archive/grouped.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lysbord.config import Settings
from lysbord.domain.calendar import local_date
from lysbord.domain.errors import UnknownPatient
from lysbord.domain.workflow import ProcedureState
from lysbord.services.archive import grouped
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.services.people.views import dicom_name, primary_identifiers
from lysbord.store.archive_models import Series, Study
from lysbord.store.models import (
    Appointment,
    Patient,
    Procedure,
    ProcedureCode,
    Referral,
    Room,
    Site,
    Slot,
)
from lysbord.store.queries import patient_by_identifier

MODALITY_FAMILY = {"CR": "DX", "DX": "DX"}
OPEN_STATES = ("booked", "arrived", "in-progress", "completed")


def reconcile_study(ctx: Context, s: Session, study: Study, *, actor: str, at: datetime) -> None:
    """Link a new study to its patient and procedure, or say in the study why not.

    Only once per study: the row is locked and a study already placed (linked, queued,
    or assigned by a person) is left as it is, whoever calls again.
    """
    s.refresh(study, with_for_update=True)
    if _placed(study):
        return
    patient_id = _patient_id(s, study.patient_key)
    study.patient_id = patient_id
    if study.site_id is None:
        study.site_id = acquiring_site_id(ctx.settings, s, study.calling_ae)
    procedure, how = _match(s, study, patient_id)
    if procedure is None:
        study.unmatched_reason = how
        record(
            s,
            "study.unmatched",
            actor=actor,
            at=at,
            patient_id=patient_id,
            reason=how,
            study_uid=study.study_uid,
            accession=study.accession,
            patient_key=study.patient_key,
            calling_ae=study.calling_ae,
        )
        return
    link_study(s, study, procedure, actor=actor, at=at, how=how)


def _placed(study: Study) -> bool:
    """Reconciliation always leaves a procedure or a reason; a person leaves a patient."""
    return (
        study.procedure_id is not None
        or study.unmatched_reason is not None
        or study.patient_id is not None
    )


def link_study(
    s: Session, study: Study, procedure: Procedure, *, actor: str, at: datetime, how: str
) -> None:
    """Bind study and procedure; the procedure now has its images, the study its patient."""
    referral = s.get_one(Referral, procedure.referral_id)
    before = identity(study)
    study.procedure_id, study.unmatched_reason = procedure.id, None
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


def refusal(s: Session, study: Study, procedure: Procedure) -> str | None:
    """Why this study cannot be this procedure's images, or None; locks the procedure."""
    s.execute(select(Procedure.id).where(Procedure.id == procedure.id).with_for_update())
    if procedure.state == ProcedureState.CANCELLED:
        return f"procedure {procedure.accession} is cancelled"
    other = other_study_uid(s, study, procedure)
    if other is not None:
        return f"procedure {procedure.accession} already has study {other}"
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


def peer_site(settings: Settings, calling_ae: str) -> str | None:
    """The site code a configured DICOM peer belongs to, if it says."""
    ae = calling_ae.strip()
    return next((p.site for p in settings.dicom_peers if p.ae_title == ae), None)


def acquiring_site_id(settings: Settings, s: Session, calling_ae: str) -> int | None:
    """Where the images come from: the room whose scanner has this AE title, else its peer's."""
    ae = calling_ae.strip()
    if not ae:
        return None
    room_site = s.scalars(select(Room.site_id).where(Room.ae_title == ae)).first()
    if room_site is not None:
        return room_site
    code = peer_site(settings, ae)
    return s.scalars(select(Site.id).where(Site.code == code)).first() if code else None


def _appointment_site_id(s: Session, procedure_id: int) -> int | None:
    stmt = (
        select(Room.site_id)
        .join(Slot, Slot.room_id == Room.id)
        .join(Appointment, Appointment.slot_id == Slot.id)
        .where(Appointment.procedure_id == procedure_id, Appointment.active.is_(True))
    )
    return s.scalars(stmt).first()


def _patient_id(s: Session, patient_key: str) -> int | None:
    """The living record for this number; an old number of a merged record finds the survivor."""
    key = patient_key.strip().replace("-", "").upper()
    if not key:
        return None
    try:
        return patient_by_identifier(s, key).id
    except UnknownPatient:
        return None


def _match(s: Session, study: Study, patient_id: int | None) -> tuple[Procedure | None, str]:
    by_key = _by_key(s, study)
    if by_key is not None:
        return _vetted(s, study, patient_id, *by_key)
    if patient_id is None:
        return None, _unknown_patient(study)
    procedure, how = _match_by_day(s, study, patient_id)
    if procedure is None:
        return None, how
    return _vetted(s, study, patient_id, procedure, how)


def _by_key(s: Session, study: Study) -> tuple[Procedure, str] | None:
    if study.accession:
        stmt = select(Procedure).where(Procedure.accession == study.accession)
        found = s.scalars(stmt).first()
        if found is not None:
            return found, "accession number"
    found = s.scalars(select(Procedure).where(Procedure.study_uid == study.study_uid)).first()
    return (found, "study instance uid") if found is not None else None


def _vetted(
    s: Session, study: Study, patient_id: int | None, procedure: Procedure, how: str
) -> tuple[Procedure | None, str]:
    """A match that contradicts what else is known goes to a person, with both sides named."""
    owner = s.scalars(select(Referral.patient_id).where(Referral.id == procedure.referral_id))
    problem = refusal(s, study, procedure)
    if problem is None and patient_id is not None and owner.one() != patient_id:
        problem = f"it is another patient's than PatientID '{study.patient_key}'"
    if problem is None:
        return procedure, how
    return None, f"{how} matches procedure {procedure.accession}, but {problem}"


def _unknown_patient(study: Study) -> str:
    who = f"unknown patient '{study.patient_key}'" if study.patient_key else "no PatientID"
    if study.accession:
        return f"{who} and no procedure has accession number '{study.accession}'"
    return f"{who} and no accession number"


def _match_by_day(s: Session, study: Study, patient_id: int) -> tuple[Procedure | None, str]:
    modalities = {
        MODALITY_FAMILY.get(m, m)
        for m in s.scalars(select(Series.modality).where(Series.study_id == study.id))
    }
    day = study.study_date
    hits = [
        p
        for p, modality, start in _booked(s, patient_id)
        if local_date(start).strftime("%Y%m%d") == day
        and MODALITY_FAMILY.get(modality, modality) in modalities
    ]
    if len(hits) == 1:
        return hits[0], "patient, date and modality"
    what = "no" if not hits else f"{len(hits)}"
    why = f"{what} booked procedure for this patient, modality and date {day or '?'}"
    if study.accession:
        why += f", and no procedure has accession number '{study.accession}'"
    return None, why


def _booked(s: Session, patient_id: int) -> list[Any]:
    """The patient's procedures with an active appointment, not yet finished."""
    stmt = (
        select(Procedure, ProcedureCode.modality, Slot.start_at)
        .join(Referral, Referral.id == Procedure.referral_id)
        .join(ProcedureCode, ProcedureCode.code == Procedure.code)
        .join(Appointment, Appointment.procedure_id == Procedure.id)
        .join(Slot, Slot.id == Appointment.slot_id)
        .where(
            Referral.patient_id == patient_id,
            Appointment.active.is_(True),
            Procedure.state.in_(OPEN_STATES),
        )
    )
    return list(s.execute(stmt).tuples().all())
