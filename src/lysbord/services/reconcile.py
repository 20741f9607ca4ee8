"""Which procedure does a study belong to? The classic place where studies get lost.

PS: IHE SWF binds a study to its order by the Accession Number and the Study
Instance UID the RIS put in the worklist. We try, in order: the accession number,
the Study Instance UID, then the patient with a booked procedure of that modality
on that study date (exactly one). No match is not a void: the study stays in the
unmatched queue with the reason until a person assigns it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lysbord.domain.calendar import local_date
from lysbord.domain.errors import UnknownPatient
from lysbord.domain.workflow import TERMINAL
from lysbord.services.context import Context
from lysbord.services.events import record
from lysbord.store.archive_models import Series, Study
from lysbord.store.models import Appointment, Procedure, ProcedureCode, Referral, Room, Slot
from lysbord.store.queries import patient_by_identifier

MODALITY_FAMILY = {"CR": "DX", "DX": "DX"}
OPEN_STATES = {"booked", "arrived", "in-progress", "completed"}


def reconcile_study(ctx: Context, s: Session, study: Study, *, actor: str, at: datetime) -> None:
    """Link the study to its patient and procedure, or say in the study why not."""
    patient_id = _patient_id(s, study.patient_key)
    study.patient_id = patient_id
    procedure, reason = _match(s, study, patient_id)
    if procedure is None:
        study.unmatched_reason = reason
        record(
            s,
            "study.unmatched",
            actor=actor,
            at=at,
            patient_id=patient_id,
            reason=reason,
            study_uid=study.study_uid,
            accession=study.accession,
        )
        return
    link_study(s, study, procedure, actor=actor, at=at, how=reason)


def link_study(
    s: Session, study: Study, procedure: Procedure, *, actor: str, at: datetime, how: str
) -> None:
    """Bind study and procedure; the procedure now has its images."""
    referral = s.get_one(Referral, procedure.referral_id)
    study.procedure_id, study.unmatched_reason = procedure.id, None
    study.patient_id = referral.patient_id
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
    )


def _patient_id(s: Session, patient_key: str) -> int | None:
    key = patient_key.strip().replace("-", "").upper()
    if not key:
        return None
    try:
        return patient_by_identifier(s, key).id
    except UnknownPatient:
        return None


def _match(s: Session, study: Study, patient_id: int | None) -> tuple[Procedure | None, str]:
    if study.accession:
        found = s.scalars(select(Procedure).where(Procedure.accession == study.accession)).first()
        if found is not None:
            return found, "accession number"
    found = s.scalars(select(Procedure).where(Procedure.study_uid == study.study_uid)).first()
    if found is not None:
        return found, "study instance uid"
    if patient_id is None:
        return None, f"unknown patient '{study.patient_key}' and no matching accession number"
    return _match_by_day(s, study, patient_id)


def _match_by_day(s: Session, study: Study, patient_id: int) -> tuple[Procedure | None, str]:
    modalities = {
        MODALITY_FAMILY.get(m, m)
        for m in s.scalars(select(Series.modality).where(Series.study_id == study.id))
    }
    rows = (
        s.execute(
            select(Procedure, ProcedureCode.modality, Slot.start_at)
            .join(Referral, Referral.id == Procedure.referral_id)
            .join(ProcedureCode, ProcedureCode.code == Procedure.code)
            .join(Appointment, Appointment.procedure_id == Procedure.id)
            .join(Slot, Slot.id == Appointment.slot_id)
            .join(Room, Room.id == Slot.room_id)
            .where(
                Referral.patient_id == patient_id,
                Appointment.active.is_(True),
                Procedure.state.not_in([t.value for t in TERMINAL]),
                Procedure.state.in_(OPEN_STATES),
            )
        )
        .tuples()
        .all()
    )
    day = study.study_date
    hits = [
        p
        for p, modality, start in rows
        if local_date(start).strftime("%Y%m%d") == day
        and MODALITY_FAMILY.get(modality, modality) in modalities
    ]
    if len(hits) == 1:
        return hits[0], "patient, date and modality"
    what = "no" if not hits else f"{len(hits)}"
    return None, f"{what} booked procedure for this patient, modality and date {day or '?'}"
