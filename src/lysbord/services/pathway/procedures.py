"""A procedure's life after booking: arrival, no-show, the examination, its end."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from lysbord.domain.errors import IllegalTransition, Msg
from lysbord.domain.workflow import ProcedureState
from lysbord.services.archive import priors
from lysbord.services.core.context import Context
from lysbord.services.core.events import move, record
from lysbord.services.pathway.booking import end_appointment
from lysbord.services.pathway.referrals import close_if_finished
from lysbord.services.pathway.views import (
    ProcedureDetail,
    event_views,
    procedure_views,
    referral_views,
)
from lysbord.store.models import Procedure, Referral
from lysbord.store.queries import active_appointment, procedure_by_accession


class Action(StrEnum):
    """What a person (or a scanner, or an interface) can do to a procedure."""

    ARRIVE = "arrive"
    NO_SHOW = "no-show"
    START = "start"
    COMPLETE = "complete"
    DISCONTINUE = "discontinue"
    CANCEL = "cancel"
    HOLD = "hold"
    RELEASE = "release"
    REPORT = "report"


TARGETS = {
    Action.ARRIVE: ProcedureState.ARRIVED,
    Action.NO_SHOW: ProcedureState.NO_SHOW,
    Action.START: ProcedureState.IN_PROGRESS,
    Action.COMPLETE: ProcedureState.COMPLETED,
    Action.DISCONTINUE: ProcedureState.DISCONTINUED,
    Action.CANCEL: ProcedureState.CANCELLED,
    Action.HOLD: ProcedureState.ON_HOLD,
    Action.RELEASE: ProcedureState.REQUESTED,
    Action.REPORT: ProcedureState.REPORTED,
}

# Leaving these states gives the slot back; the appointment stays on record.
FREES_SLOT = {ProcedureState.NO_SHOW, ProcedureState.CANCELLED, ProcedureState.ON_HOLD}


def act(
    ctx: Context, accession: str, action: Action, actor: str, reason: str | None = None
) -> ProcedureDetail:
    """Apply one action and answer with the procedure as it now stands."""
    apply(ctx, accession, action, actor, reason)
    return get_procedure(ctx, accession)


def apply(
    ctx: Context, accession: str, action: Action, actor: str, reason: str | None = None
) -> None:
    """Apply one action in one transaction; the referral closes when its last procedure ends.

    For callers that do not show the result (the demo, the desk's buttons): the full view
    with its priors costs more than the change itself.
    """
    with ctx.uow() as uow:
        s = uow.session
        procedure, referral = procedure_by_accession(s, accession, for_update=True)
        perform(s, procedure, referral, action, actor, ctx.now(), reason)
        uow.commit()


def perform(
    s: Session,
    procedure: Procedure,
    referral: Referral,
    action: Action,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> None:
    """One action in the caller's transaction, on a procedure it has locked."""
    target = TARGETS[action]
    if action == Action.RELEASE and procedure.state != ProcedureState.ON_HOLD:
        raise IllegalTransition(
            Msg(
                "cannot go from {state} to {target} by release"
                " (only a procedure {on_hold} can be released)",
                state=ProcedureState(procedure.state),
                target=target,
                on_hold=ProcedureState.ON_HOLD,
            ),
            field="state",
            value=str(target),
        )
    move(s, procedure, referral, target, actor=actor, at=now, reason=reason)
    appointment = active_appointment(s, procedure.id)
    if appointment is not None and target in FREES_SLOT:
        end_appointment(appointment, actor, now, reason or target.value)
    close_if_finished(s, referral, actor=actor, at=now)


def mark_images_received(ctx: Context, accession: str, actor: str) -> ProcedureDetail:
    """The archive found this procedure's study: it can now go to the radiologist."""
    note_images_received(ctx, accession, actor)
    return get_procedure(ctx, accession)


def note_images_received(ctx: Context, accession: str, actor: str) -> None:
    """Record the images' arrival once, in its own transaction."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        procedure, referral = procedure_by_accession(s, accession, for_update=True)
        if procedure.images_received_at is None:
            procedure.images_received_at = now
            record(
                s,
                "procedure.images-received",
                actor=actor,
                at=now,
                patient_id=referral.patient_id,
                referral_id=referral.id,
                procedure_id=procedure.id,
                study_uid=procedure.study_uid,
            )
            uow.commit()


def get_procedure(ctx: Context, accession: str) -> ProcedureDetail:
    link, earlier = priors.of_procedure(ctx, accession)
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        procedure, referral = procedure_by_accession(s, accession)
        view = next(
            p for p in procedure_views(s, [referral.id])[referral.id] if p.id == procedure.id
        )
        return ProcedureDetail(
            procedure=view,
            referral=referral_views(s, [s.get_one(Referral, referral.id)], ctx.now())[0],
            events=event_views(s, procedure.id),
            viewer_url=link,
            priors=earlier,
        )
