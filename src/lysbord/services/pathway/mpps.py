"""What the scanner reports it did: Modality Performed Procedure Steps (PS3.4 F.7, IHE SWF).

N-CREATE ("IN PROGRESS") starts the step and moves its procedures to in-progress
(a patient still ``booked`` has evidently arrived: booked → arrived → in-progress,
two events). N-SET "COMPLETED" or "DISCONTINUED" finishes the step; each procedure
follows once none of its steps is still in progress: completed if any step
completed, else discontinued with the scanner's reason.

One step may perform several requested procedures (IHE RAD TF-1 SWF "group case":
CT thorax and CT abdomen in one acquisition): its Scheduled Step Attributes
Sequence then has one item per scheduled step, and every procedure an item names
follows the step, each move its own event. The rules, all or none:

* an item naming no procedure we know (off-worklist work, a typing error) never
  refuses the step: the scanner cannot correct it and the exam must not vanish.
  The step is kept, linked to the procedures that did resolve, with an
  ``unmatched_reason`` naming the other items; it is listed by
  ``mpps_queue.unmatched_steps`` and recorded as an ``mpps.unmatched`` event, as a
  step naming nothing known is;
* a procedure that cannot make the move (cancelled, not booked, already ended)
  refuses the whole message (IllegalTransition naming its accession), and so do
  items naming procedures of different patients: no procedure moves, no row is kept.

The one study of a group case counts for all its procedures (``services/archive/grouped.py``):
when the step links a procedure whose study already came, the others get it too.

Each use case is one transaction: a refused message writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lysbord.domain.errors import (
    Conflict,
    DuplicateIdentifier,
    IllegalTransition,
    InvalidValue,
    Msg,
    NotFound,
)
from lysbord.domain.workflow import ProcedureState
from lysbord.services.archive import grouped
from lysbord.services.core.context import Context
from lysbord.services.core.events import move
from lysbord.services.pathway import mpps_links as links
from lysbord.services.pathway.mpps_links import ScheduledRef as ScheduledRef
from lysbord.services.pathway.referrals import close_if_finished
from lysbord.store.archive_models import PerformedStep
from lysbord.store.models import Procedure, Referral

IN_PROGRESS, COMPLETED, DISCONTINUED = "IN PROGRESS", "COMPLETED", "DISCONTINUED"
FINAL = frozenset({COMPLETED, DISCONTINUED})
DEFAULT_REASON = "discontinued at the modality"
STATUS = "PerformedProcedureStepStatus"


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
    """A step; ``procedure_*`` and ``accession`` are its first procedure's, ``accessions`` all."""

    mpps_uid: str
    status: str
    calling_ae: str
    procedure_id: int | None
    accession: str | None
    procedure_state: str | None
    series_uids: list[str]
    created_at: datetime
    updated_at: datetime
    accessions: list[str] = field(default_factory=list)
    unmatched_reason: str | None = None


def start_step(ctx: Context, report: StepReport) -> StepView:
    """N-CREATE: record the step and start its procedures; keep what names none visible."""
    if report.status != IN_PROGRESS:
        raise InvalidValue(
            Msg("must be {in_progress}", in_progress=IN_PROGRESS), field=STATUS, value=report.status
        )
    if not report.mpps_uid:
        raise InvalidValue(Msg("must not be empty"), field="AffectedSOPInstanceUID")
    now, actor = ctx.now(), _actor(report.calling_ae)
    with ctx.uow() as uow:
        s = uow.session
        if _step(s, report.mpps_uid) is not None:
            raise _duplicate(report.mpps_uid)
        found = links.resolve(s, report.refs)
        why = found.unmatched
        step = PerformedStep(
            mpps_uid=report.mpps_uid,
            procedure_id=found.procedures[0].id if found.procedures else None,
            unmatched_reason=None if why is None else why.text(),
            unmatched_message=None if why is None else why.as_json(),
            status=IN_PROGRESS,
            calling_ae=report.calling_ae[:16],
            series_uids=list(report.series_uids or []),
            attributes=report.attributes,
            created_at=now,
            updated_at=now,
        )
        for procedure in found.procedures:
            _start_procedure(s, procedure, actor, now, report.mpps_uid)
        _insert(s, step)
        links.link(s, step, found, actor=actor)
        grouped.share_linked(s, found.procedures, actor=actor, at=now)
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
            raise NotFound(
                Msg("no such MPPS"), field="RequestedSOPInstanceUID", value=report.mpps_uid
            )
        if step.status in FINAL:
            raise Conflict(
                Msg(
                    "already {status}: the step may no longer be updated",
                    status=step.status.lower(),
                )
            )
        status = report.status or step.status
        if status not in (IN_PROGRESS, *FINAL):
            raise InvalidValue(
                Msg("must be {a}, {b} or {c}", a=IN_PROGRESS, b=COMPLETED, c=DISCONTINUED),
                field=STATUS,
                value=status,
            )
        step.attributes = {**step.attributes, **report.attributes}
        if report.series_uids is not None:
            step.series_uids = list(report.series_uids)
        step.status, step.updated_at = status, now
        if status in FINAL:
            for procedure in links.linked(s, step):
                _finish_procedure(s, step, procedure, report.reason or DEFAULT_REASON, actor, now)
        view = _view(s, step)
        uow.commit()
    return view


def get_step(ctx: Context, mpps_uid: str) -> StepView:
    with ctx.uow(readonly=True) as uow:
        step = _step(uow.session, mpps_uid)
        if step is None:
            raise NotFound(Msg("no such MPPS"), field="mpps_uid", value=mpps_uid)
        return _view(uow.session, step)


def _actor(calling_ae: str) -> str:
    return f"dicom:{calling_ae.strip()}"


def _step(s: Session, mpps_uid: str, *, for_update: bool = False) -> PerformedStep | None:
    stmt = select(PerformedStep).where(PerformedStep.mpps_uid == mpps_uid)
    return s.scalars(stmt.with_for_update() if for_update else stmt).first()


def _duplicate(mpps_uid: str) -> DuplicateIdentifier:
    return DuplicateIdentifier(
        Msg("an MPPS with this UID already exists"), field="AffectedSOPInstanceUID", value=mpps_uid
    )


@contextmanager
def _naming(procedure: Procedure) -> Iterator[None]:
    """A refused move names its procedure: in a group case the scanner must know which."""
    try:
        yield
    except IllegalTransition as exc:
        raise IllegalTransition(
            Msg("{accession}: {reason}", accession=procedure.accession, reason=exc.msg),
            current=exc.current,
            target=exc.target,
        ) from exc


def _start_procedure(
    s: Session, procedure: Procedure, actor: str, at: datetime, mpps_uid: str
) -> None:
    """booked → arrived → in-progress; already in progress (a second step) stays as it is."""
    referral = s.get_one(Referral, procedure.referral_id)
    if procedure.state == ProcedureState.IN_PROGRESS:
        return
    targets = [ProcedureState.IN_PROGRESS]
    if procedure.state == ProcedureState.BOOKED:
        targets.insert(0, ProcedureState.ARRIVED)
    with _naming(procedure):
        for target in targets:
            move(s, procedure, referral, target, actor=actor, at=at, mpps_uid=mpps_uid)


def _finish_procedure(
    s: Session, step: PerformedStep, procedure: Procedure, reason: str, actor: str, at: datetime
) -> None:
    """Once no step of the procedure runs: completed if any step completed, else discontinued."""
    others = links.other_statuses(s, step, procedure)
    if IN_PROGRESS in others:
        return
    done = COMPLETED in (*others, step.status)
    target = ProcedureState.COMPLETED if done else ProcedureState.DISCONTINUED
    if procedure.state == target:
        return
    referral = s.get_one(Referral, procedure.referral_id)
    why = None if done else reason
    with _naming(procedure):
        move(s, procedure, referral, target, actor=actor, at=at, reason=why, mpps_uid=step.mpps_uid)
    close_if_finished(s, referral, actor=actor, at=at)


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
        accessions=links.accessions(s, [step.id])[step.id],
        unmatched_reason=step.unmatched_reason,
    )
