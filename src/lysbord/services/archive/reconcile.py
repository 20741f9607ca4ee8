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
from lysbord.domain.errors import Msg, UnknownPatient
from lysbord.services.archive.linking import link_study, refusal
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.store.archive_models import Series, Study
from lysbord.store.models import (
    Appointment,
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
        study.unmatched_reason, study.unmatched_message = how.text(), how.as_json()
        record(
            s,
            "study.unmatched",
            actor=actor,
            at=at,
            patient_id=patient_id,
            reason=study.unmatched_reason,
            reason_message=study.unmatched_message,
            study_uid=study.study_uid,
            accession=study.accession,
            patient_key=study.patient_key,
            calling_ae=study.calling_ae,
        )
        return
    link_study(s, study, procedure, actor=actor, at=at, how=how.text())


def _placed(study: Study) -> bool:
    """Reconciliation always leaves a procedure or a reason; a person leaves a patient."""
    return (
        study.procedure_id is not None
        or study.unmatched_reason is not None
        or study.patient_id is not None
    )


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


def _patient_id(s: Session, patient_key: str) -> int | None:
    """The living record for this number; an old number of a merged record finds the survivor."""
    key = patient_key.strip().replace("-", "").upper()
    if not key:
        return None
    try:
        return patient_by_identifier(s, key).id
    except UnknownPatient:
        return None


def _match(s: Session, study: Study, patient_id: int | None) -> tuple[Procedure | None, Msg]:
    """The procedure and how it matched, or None and why not (said in each door's language)."""
    by_key = _by_key(s, study)
    if by_key is not None:
        return _vetted(s, study, patient_id, *by_key)
    if patient_id is None:
        return None, _unknown_patient(study)
    procedure, how = _match_by_day(s, study, patient_id)
    if procedure is None:
        return None, how
    return _vetted(s, study, patient_id, procedure, how)


def _by_key(s: Session, study: Study) -> tuple[Procedure, Msg] | None:
    if study.accession:
        stmt = select(Procedure).where(Procedure.accession == study.accession)
        found = s.scalars(stmt).first()
        if found is not None:
            return found, Msg("accession number")
    found = s.scalars(select(Procedure).where(Procedure.study_uid == study.study_uid)).first()
    return (found, Msg("study instance uid")) if found is not None else None


def _vetted(
    s: Session, study: Study, patient_id: int | None, procedure: Procedure, how: Msg
) -> tuple[Procedure | None, Msg]:
    """A match that contradicts what else is known goes to a person, with both sides named."""
    owner = s.scalars(select(Referral.patient_id).where(Referral.id == procedure.referral_id))
    problem = refusal(s, study, procedure)
    if problem is None and patient_id is not None and owner.one() != patient_id:
        problem = Msg("it is another patient's than PatientID '{key}'", key=study.patient_key)
    if problem is None:
        return procedure, how
    return None, Msg(
        "{how} matches procedure {accession}, but {problem}",
        how=how,
        accession=procedure.accession,
        problem=problem,
    )


def _unknown_patient(study: Study) -> Msg:
    key, accession = study.patient_key, study.accession
    who = Msg("unknown patient '{key}'", key=key) if key else Msg("no PatientID")
    if accession:
        return Msg(
            "{who} and no procedure has accession number '{accession}'",
            who=who,
            accession=accession,
        )
    return Msg("{who} and no accession number", who=who)


def _match_by_day(s: Session, study: Study, patient_id: int) -> tuple[Procedure | None, Msg]:
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
        return hits[0], Msg("patient, date and modality")
    day = day or "?"
    why = (
        Msg(
            "{count} booked procedure for this patient, modality and date {day}",
            count=len(hits),
            day=day,
        )
        if hits
        else Msg("no booked procedure for this patient, modality and date {day}", day=day)
    )
    if study.accession:
        why = Msg(
            "{why}, and no procedure has accession number '{accession}'",
            why=why,
            accession=study.accession,
        )
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
