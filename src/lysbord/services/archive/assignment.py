"""A person's assignment of a study: to a procedure or to a patient only, and a deliberate
reassignment (``reassign``) of one already placed, recorded as ``study.assigned``.

Assignment corrects the study's effective patient key (the patient's primary number),
patient name (DICOM PN ``Family^Given``) and accession; ``received_*`` keep what the
modality sent. A study already linked or assigned moves again only when the request
says ``reassign`` (a second look at a person's decision must be deliberate); its old
procedure then waits for images again, unless it is already reported on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from lysbord.domain.errors import Conflict, InvalidValue, Msg
from lysbord.domain.workflow import ProcedureState
from lysbord.services.archive.linking import (
    changes,
    identify,
    identity,
    link_study,
    refusal,
    unlink_study,
)
from lysbord.services.archive.studies import (
    LINKED,
    UNMATCHED,
    UNRECONCILED,
    StudyView,
    situation,
    study_row,
    study_views,
)
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.store.archive_models import Study
from lysbord.store.models import Patient, Procedure
from lysbord.store.queries import patient_by_identifier, procedure_by_accession


@dataclass(frozen=True, slots=True)
class Assignment:
    """Exactly one of ``accession`` (link to that procedure) or ``cpr`` (patient only)."""

    reason: str
    accession: str | None = None
    cpr: str | None = None
    reassign: bool = False


def assign_study(ctx: Context, study_uid: str, cmd: Assignment, actor: str) -> StudyView:
    """A person says whose images these are: a procedure (by accession) or a patient only."""
    _check_assignment(cmd)
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        study = study_row(s, study_uid, for_update=True)
        old = situation(study)
        target = _target(s, study, cmd)
        _check_reassign(s, study, cmd, old)
        before = identity(study)
        if isinstance(target, Procedure):
            if study.procedure_id not in (None, target.id):
                unlink_study(s, study, actor=actor, at=now, reason=cmd.reason)
            link_study(s, study, target, actor=actor, at=now, how="assigned by a person")
        else:
            unlink_study(s, study, actor=actor, at=now, reason=cmd.reason)
            _assign_to_patient(s, study, target)
        _record_assignment(s, study, target, old, before, cmd, actor, now)
        view = study_views(ctx, s, [study])[0]
        uow.commit()
    return view


def _check_assignment(cmd: Assignment) -> None:
    if not cmd.reason.strip():
        raise InvalidValue(Msg("an assignment needs a reason"), field="reason")
    given = [f for f in ("accession", "cpr") if (getattr(cmd, f) or "").strip()]
    if not given:
        raise InvalidValue(
            Msg("give the accession number or the cpr to assign to"), field="accession"
        )
    if len(given) == 2:
        raise InvalidValue(
            Msg("give either accession or cpr, not both"), field="cpr", value=cmd.cpr
        )


def _target(s: Session, study: Study, cmd: Assignment) -> Procedure | Patient:
    """The procedure or patient named, refused if it cannot take this study."""
    if cmd.accession and cmd.accession.strip():
        procedure, _ = procedure_by_accession(s, cmd.accession.strip())
        problem = refusal(s, study, procedure)
        if problem is not None:
            raise Conflict(problem, field="accession", value=cmd.accession)
        return procedure
    key = (cmd.cpr or "").strip().replace("-", "").upper()
    return patient_by_identifier(s, key, field="cpr")


def _check_reassign(s: Session, study: Study, cmd: Assignment, old: str) -> None:
    """Moving a study a person or the matcher already placed must be asked for explicitly."""
    if old in (UNMATCHED, UNRECONCILED):
        return
    where = Msg("linked to a procedure") if old == LINKED else Msg("assigned to a patient")
    if not cmd.reassign:
        raise Conflict(
            Msg("the study is already {where}; send reassign: true to move it", where=where),
            field="reassign",
            value=study.study_uid,
        )
    if old == LINKED:
        procedure = s.get_one(Procedure, study.procedure_id)
        if procedure.state == ProcedureState.REPORTED and cmd.accession != procedure.accession:
            raise Conflict(
                Msg(
                    "procedure {accession} is reported on these images;"
                    " they cannot be moved away from it",
                    accession=procedure.accession,
                ),
                field="reassign",
                value=study.study_uid,
            )


def _assign_to_patient(s: Session, study: Study, patient: Patient) -> None:
    """Patient only: no procedure, out of the queue; an accession of ours would mislead."""
    ours = s.scalar(select(exists().where(Procedure.accession == study.accession)))
    accession = "" if study.accession and ours else study.accession
    study.unmatched_reason, study.unmatched_message = None, None
    identify(s, study, patient, accession)


def _record_assignment(
    s: Session,
    study: Study,
    target: Procedure | Patient,
    old: str,
    before: dict[str, str],
    cmd: Assignment,
    actor: str,
    at: datetime,
) -> None:
    procedure = target if isinstance(target, Procedure) else None
    record(
        s,
        "study.assigned",
        actor=actor,
        at=at,
        patient_id=study.patient_id,
        referral_id=procedure.referral_id if procedure else None,
        procedure_id=procedure.id if procedure else None,
        reason=cmd.reason,
        study_uid=study.study_uid,
        was=old,
        to_accession=procedure.accession if procedure else None,
        **changes(before, study),
    )
