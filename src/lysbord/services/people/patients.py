"""Registering patients and merging their records (IHE Patient Information Reconciliation).

A merge never deletes: the old record stays, points at the survivor, and keeps its
identifiers, so every old number still finds the patient. It can be undone exactly,
because it records which referrals and studies it moved. Images follow the patient:
a moved study gets the survivor's primary number and name as its effective values
(what retrieval puts in the headers); its ``received_*`` values never change.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from lysbord.domain.errors import (
    InvalidValue,
    MergeRefused,
    Msg,
    NotFound,
)
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.services.people.views import (
    PatientView,
    dicom_name,
    patient_view,
    primary_identifiers,
)
from lysbord.store.archive_models import Study
from lysbord.store.models import Patient, PatientIdentifier, PatientMerge, Procedure, Referral
from lysbord.store.queries import (
    lock_patients,
    patient_by_identifier,
    survivor,
    typed_number,
)


def merge_patients(
    ctx: Context, source_cpr: str, target_cpr: str, reason: str, actor: str
) -> PatientView:
    """Merge source into target: referrals (and so procedures) and studies follow."""
    if not reason.strip():
        raise InvalidValue(Msg("a merge needs a reason"), field="reason")
    with ctx.uow() as uow:
        s = uow.session
        target = merge_records(s, source_cpr, target_cpr, reason, actor, ctx.now())
        view = patient_view(s, target)
        uow.commit()
    return view


def merge_records(
    s: Session, source_cpr: str, target_cpr: str, reason: str, actor: str, now: datetime
) -> Patient:
    """Merge in the caller's transaction; returns the survivor."""
    source, target = _merge_parties(s, source_cpr, target_cpr)
    moved = list(s.scalars(select(Referral.id).where(Referral.patient_id == source.id)))
    s.execute(update(Referral).where(Referral.id.in_(moved)).values(patient_id=target.id))
    studies = list(s.scalars(select(Study.id).where(Study.patient_id == source.id)))
    _give_studies(s, studies, target)
    source.merged_into_id = target.id
    merge = PatientMerge(
        source_id=source.id,
        target_id=target.id,
        moved_referral_ids=moved,
        moved_study_ids=studies,
        reason=reason,
        merged_at=now,
        merged_by=actor,
    )
    s.add(merge)
    s.flush()
    for pid in (source.id, target.id):
        record(
            s,
            "patient.merged",
            actor=actor,
            at=now,
            patient_id=pid,
            reason=reason,
            merge_id=merge.id,
            source_id=source.id,
            target_id=target.id,
            moved_referral_ids=moved,
            moved_study_ids=studies,
        )
    return target


def undo_merge(ctx: Context, merge_id: int, reason: str, actor: str) -> PatientView:
    """Split a wrong merge: the referrals and studies it moved go back, the old record lives."""
    if not reason.strip():
        raise InvalidValue(Msg("undoing a merge needs a reason"), field="reason")
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        merge = s.get(PatientMerge, merge_id, with_for_update=True)
        if merge is None:
            raise NotFound(Msg("no such merge"), field="merge_id", value=merge_id)
        lock_patients(s, merge.source_id, merge.target_id)
        source = s.get_one(Patient, merge.source_id)
        _check_undoable(s, merge, source)
        s.execute(
            update(Referral)
            .where(
                Referral.id.in_(merge.moved_referral_ids), Referral.patient_id == merge.target_id
            )
            .values(patient_id=source.id)
        )
        studies = _studies_to_return(s, merge)
        _give_studies(s, studies, source)
        source.merged_into_id = None
        merge.undone_at, merge.undone_by = now, actor
        for pid in (merge.source_id, merge.target_id):
            record(
                s,
                "patient.merge-undone",
                actor=actor,
                at=now,
                patient_id=pid,
                reason=reason,
                merge_id=merge.id,
                moved_study_ids=studies,
            )
        view = patient_view(s, source)
        uow.commit()
    return view


def _merge_parties(s: Session, source_cpr: str, target_cpr: str) -> tuple[Patient, Patient]:
    """Both records, locked and read again, so that two merges at once cannot cross.

    Without the locks, A into B and B into A at the same moment both commit (a merge
    cycle), or A's referrals land on a B that was merged away meanwhile. A target
    merged away while we waited is followed to its survivor.
    """
    source = patient_by_identifier(s, typed_number(source_cpr), field="cpr", follow_merges=False)
    target = patient_by_identifier(s, typed_number(target_cpr), field="target_cpr")
    lock_patients(s, source.id, target.id)
    while target.merged_into_id is not None and target.id != source.id:
        target = survivor(s, target)  # merged meanwhile: its survivor is who was meant
        lock_patients(s, source.id, target.id)
    if source.merged_into_id is not None:
        raise MergeRefused(
            Msg("this record was already merged into another"), field="cpr", value=source_cpr
        )
    if source.id == target.id:
        raise MergeRefused(
            Msg("a patient cannot be merged into itself"), field="target_cpr", value=target_cpr
        )
    return source, target


def _give_studies(s: Session, study_ids: list[int], patient: Patient) -> None:
    """The studies become this patient's, with its primary number and name as effective values."""
    if not study_ids:
        return
    key = primary_identifiers(s, [patient.id]).get(patient.id, "")
    s.execute(
        update(Study)
        .where(Study.id.in_(study_ids))
        .values(patient_id=patient.id, patient_key=key, patient_name=dicom_name(patient)[:200])
    )


def _studies_to_return(s: Session, merge: PatientMerge) -> list[int]:
    """What the merge moved, and what has reached the survivor since but is the source's.

    Exactly the studies the merge moved go back, plus any study that arrived after it for
    a procedure going back (a study and its procedure name one patient) or, unlinked,
    under one of the source's own numbers. A study reassigned since stays where it is.
    """
    returning_procedures = select(Procedure.id).where(
        Procedure.referral_id.in_(merge.moved_referral_ids)
    )
    source_numbers = select(PatientIdentifier.value).where(
        PatientIdentifier.patient_id == merge.source_id
    )
    stmt = select(Study.id).where(
        Study.patient_id == merge.target_id,
        or_(
            Study.id.in_(merge.moved_study_ids or []),
            Study.procedure_id.in_(returning_procedures),
            and_(
                Study.procedure_id.is_(None),
                Study.received_at >= merge.merged_at,
                Study.received_patient_key.in_(source_numbers),
            ),
        ),
    )
    return list(s.scalars(stmt.order_by(Study.id)))


def _check_undoable(s: Session, merge: PatientMerge, source: Patient) -> None:
    if merge.undone_at is not None:
        raise MergeRefused(Msg("this merge was already undone"), field="merge_id", value=merge.id)
    if source.merged_into_id != merge.target_id:
        raise MergeRefused(
            Msg("the record was changed by a later merge"), field="merge_id", value=merge.id
        )
    target = s.get_one(Patient, merge.target_id)
    if survivor(s, target).id != target.id:
        raise MergeRefused(
            Msg("the surviving record was merged again since: undo that merge first"),
            field="merge_id",
            value=merge.id,
        )
