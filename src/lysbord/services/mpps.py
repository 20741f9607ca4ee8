"""What the scanner reports it did: Modality Performed Procedure Steps (PS3.4 F.7, IHE SWF).

N-CREATE ("IN PROGRESS") starts the step and moves its procedure to in-progress
(a patient still ``booked`` has evidently arrived: booked → arrived → in-progress,
two events). N-SET "COMPLETED" or "DISCONTINUED" finishes the step; the procedure
follows once none of its steps is still in progress: completed if any step
completed, else discontinued with the scanner's reason.

A step naming no procedure we know (a scanner used off-worklist) is kept with no
procedure, visible in ``unmatched_steps`` and as an ``mpps.unmatched`` event, never
dropped. Each use case is one transaction: a refused message writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lysbord.domain.errors import Conflict, DuplicateIdentifier, InvalidValue, NotFound
from lysbord.domain.workflow import ProcedureState
from lysbord.services.context import Context
from lysbord.services.events import move, record
from lysbord.services.referrals import close_if_finished
from lysbord.store.archive_models import PerformedStep
from lysbord.store.models import Procedure, Referral

IN_PROGRESS, COMPLETED, DISCONTINUED = "IN PROGRESS", "COMPLETED", "DISCONTINUED"
FINAL = frozenset({COMPLETED, DISCONTINUED})
DEFAULT_REASON = "discontinued at the modality"
STATUS = "PerformedProcedureStepStatus"


@dataclass(frozen=True, slots=True)
class ScheduledRef:
    """One item of the Scheduled Step Attributes Sequence: which booked step was done."""

    accession: str = ""
    study_uid: str = ""
    step_id: str = ""


@dataclass(frozen=True, slots=True)
class StepReport:
    """An N-CREATE or N-SET as plain values; ``attributes`` is the DICOM JSON of the message."""

    mpps_uid: str
    calling_ae: str
    status: str
    attributes: dict[str, Any] = field(default_factory=dict)
    refs: Sequence[ScheduledRef] = ()
    series_uids: Sequence[str] | None = None  # None: the message did not say
    reason: str | None = None  # why it was discontinued


@dataclass(frozen=True, slots=True)
class StepView:
    mpps_uid: str
    status: str
    calling_ae: str
    procedure_id: int | None
    accession: str | None
    procedure_state: str | None
    series_uids: list[str]
    created_at: datetime
    updated_at: datetime


def start_step(ctx: Context, report: StepReport) -> StepView:
    """N-CREATE: record the step and start its procedure, or keep it unmatched."""
    if report.status != IN_PROGRESS:
        raise InvalidValue(f"must be {IN_PROGRESS}", field=STATUS, value=report.status)
    if not report.mpps_uid:
        raise InvalidValue("must not be empty", field="AffectedSOPInstanceUID")
    now, actor = ctx.now(), _actor(report.calling_ae)
    with ctx.uow() as uow:
        s = uow.session
        if _step(s, report.mpps_uid) is not None:
            raise _duplicate(report.mpps_uid)
        procedure = _scheduled_procedure(s, report.refs)
        step = PerformedStep(
            mpps_uid=report.mpps_uid,
            procedure_id=procedure.id if procedure else None,
            status=IN_PROGRESS,
            calling_ae=report.calling_ae[:16],
            series_uids=list(report.series_uids or []),
            attributes=report.attributes,
            created_at=now,
            updated_at=now,
        )
        if procedure is None:
            _record_unmatched(s, report, actor, now)
        else:
            _start_procedure(s, procedure, actor, now, report.mpps_uid)
        _insert(s, step)
        view = _view(s, step)
        _commit(uow.session, report.mpps_uid)
    return view


def update_step(ctx: Context, report: StepReport) -> StepView:
    """N-SET: merge the attributes; a final status finishes the step and maybe the procedure."""
    now, actor = ctx.now(), _actor(report.calling_ae)
    with ctx.uow() as uow:
        s = uow.session
        step = _step(s, report.mpps_uid, for_update=True)
        if step is None:
            raise NotFound("no such MPPS", field="RequestedSOPInstanceUID", value=report.mpps_uid)
        if step.status in FINAL:
            raise Conflict(f"already {step.status.lower()}: the step may no longer be updated")
        status = report.status or step.status
        if status not in (IN_PROGRESS, *FINAL):
            raise InvalidValue(
                "must be IN PROGRESS, COMPLETED or DISCONTINUED", field=STATUS, value=status
            )
        step.attributes = {**step.attributes, **report.attributes}
        if report.series_uids is not None:
            step.series_uids = list(report.series_uids)
        step.status, step.updated_at = status, now
        if status in FINAL and step.procedure_id is not None:
            _finish_procedure(s, step, report.reason or DEFAULT_REASON, actor, now)
        view = _view(s, step)
        uow.commit()
    return view


def get_step(ctx: Context, mpps_uid: str) -> StepView:
    with ctx.uow(readonly=True) as uow:
        step = _step(uow.session, mpps_uid)
        if step is None:
            raise NotFound("no such MPPS", field="mpps_uid", value=mpps_uid)
        return _view(uow.session, step)


def unmatched_steps(ctx: Context, limit: int = 500) -> list[StepView]:
    """Steps no procedure claims (off-worklist work): a person must assign or explain them."""
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        stmt = (
            select(PerformedStep)
            .where(PerformedStep.procedure_id.is_(None))
            .order_by(PerformedStep.created_at, PerformedStep.id)
            .limit(limit)
        )
        return [_view(s, step) for step in s.scalars(stmt)]


def _actor(calling_ae: str) -> str:
    return f"dicom:{calling_ae.strip()}"


def _step(s: Session, mpps_uid: str, *, for_update: bool = False) -> PerformedStep | None:
    stmt = select(PerformedStep).where(PerformedStep.mpps_uid == mpps_uid)
    return s.scalars(stmt.with_for_update() if for_update else stmt).first()


def _duplicate(mpps_uid: str) -> DuplicateIdentifier:
    return DuplicateIdentifier(
        "an MPPS with this UID already exists", field="AffectedSOPInstanceUID", value=mpps_uid
    )


def _scheduled_procedure(s: Session, refs: Sequence[ScheduledRef]) -> Procedure | None:
    """The procedure the first resolvable reference names: accession (= step id), then UID."""
    for ref in refs:
        for column, value in (
            (Procedure.accession, ref.accession),
            (Procedure.accession, ref.step_id),
            (Procedure.study_uid, ref.study_uid),
        ):
            if value:
                stmt = select(Procedure).where(column == value).with_for_update()
                found = s.scalars(stmt).first()
                if found is not None:
                    return found
    return None


def _start_procedure(
    s: Session, procedure: Procedure, actor: str, at: datetime, mpps_uid: str
) -> None:
    """booked → arrived → in-progress; already in progress (a second step) stays as it is."""
    referral = s.get_one(Referral, procedure.referral_id)
    if procedure.state == ProcedureState.IN_PROGRESS:
        return
    if procedure.state == ProcedureState.BOOKED:
        move(s, procedure, referral, ProcedureState.ARRIVED, actor=actor, at=at, mpps_uid=mpps_uid)
    move(s, procedure, referral, ProcedureState.IN_PROGRESS, actor=actor, at=at, mpps_uid=mpps_uid)


def _finish_procedure(
    s: Session, step: PerformedStep, reason: str, actor: str, at: datetime
) -> None:
    """Once no step of the procedure runs: completed if any step completed, else discontinued."""
    procedure = s.get_one(Procedure, step.procedure_id, with_for_update=True)
    others = s.scalars(
        select(PerformedStep.status).where(
            PerformedStep.procedure_id == procedure.id, PerformedStep.id != step.id
        )
    ).all()
    if IN_PROGRESS in others:
        return
    done = COMPLETED in (*others, step.status)
    target = ProcedureState.COMPLETED if done else ProcedureState.DISCONTINUED
    if procedure.state == target:
        return
    referral = s.get_one(Referral, procedure.referral_id)
    why = None if done else reason
    move(s, procedure, referral, target, actor=actor, at=at, reason=why, mpps_uid=step.mpps_uid)
    close_if_finished(s, referral, actor=actor, at=at)


def _record_unmatched(s: Session, report: StepReport, actor: str, at: datetime) -> None:
    named = ", ".join(
        f"{r.accession or '-'}/{r.step_id or '-'}/{r.study_uid or '-'}" for r in report.refs
    )
    record(
        s,
        "mpps.unmatched",
        actor=actor,
        at=at,
        reason=f"no procedure for accession/step/study {named or '(none given)'}",
        mpps_uid=report.mpps_uid,
    )


def _insert(s: Session, step: PerformedStep) -> None:
    """Two scanners racing with one UID: the unique index decides, and says so."""
    try:
        with s.begin_nested():
            s.add(step)
    except IntegrityError:
        raise _duplicate(step.mpps_uid) from None


def _commit(s: Session, mpps_uid: str) -> None:
    try:
        s.commit()
    except IntegrityError:
        raise _duplicate(mpps_uid) from None


def _view(s: Session, step: PerformedStep) -> StepView:
    procedure = s.get(Procedure, step.procedure_id) if step.procedure_id else None
    return StepView(
        mpps_uid=step.mpps_uid,
        status=step.status,
        calling_ae=step.calling_ae,
        procedure_id=step.procedure_id,
        accession=procedure.accession if procedure else None,
        procedure_state=procedure.state if procedure else None,
        series_uids=list(step.series_uids),
        created_at=step.created_at,
        updated_at=step.updated_at,
    )
