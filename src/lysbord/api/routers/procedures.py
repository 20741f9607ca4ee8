"""Procedures: state with full history, and the actions that move them on."""

from __future__ import annotations

from fastapi import APIRouter, Request

from lysbord.api.schemas import Completion, OptionalReason, Repeat
from lysbord.domain.access import Role
from lysbord.http.context import ContextDep
from lysbord.http.deps import Reader, check_role
from lysbord.services.pathway import examination, procedures
from lysbord.services.pathway.procedures import Action
from lysbord.services.pathway.views import ProcedureDetail

router = APIRouter(prefix="/procedures", tags=["procedures"])

CLERKS = (Role.booking_clerk, Role.screening_coordinator)
#: Who may take each action: the room's staff run the examination, the radiologist
#: reports, and booking staff cancel, hold and release.
ACTION_ROLES: dict[Action, tuple[Role, ...]] = {
    Action.ARRIVE: (Role.radiographer,),
    Action.NO_SHOW: (Role.radiographer,),
    Action.START: (Role.radiographer,),
    Action.COMPLETE: (Role.radiographer,),
    Action.DISCONTINUE: (Role.radiographer,),
    Action.CANCEL: CLERKS,
    Action.HOLD: CLERKS,
    Action.RELEASE: CLERKS,
    Action.REPORT: (Role.radiologist,),
}


@router.get("/{accession}")
def get_procedure(accession: str, ctx: ContextDep) -> ProcedureDetail:
    """A procedure by accession number: its state, referral and every event."""
    return procedures.get_procedure(ctx, accession)


@router.post("/{accession}/start")
def start(
    accession: str,
    request: Request,
    ctx: ContextDep,
    user: Reader,
    body: OptionalReason | None = None,
) -> ProcedureDetail:
    """Started by hand; by someone off the day's roster for the room only with a ``reason``
    (409 naming ``reason`` without one)."""
    actor = check_role(ctx, request, user, ACTION_ROLES[Action.START])
    examination.start(ctx, accession, actor, body.reason if body else None)
    return procedures.get_procedure(ctx, accession)


@router.post("/{accession}/complete")
def complete(
    accession: str, request: Request, ctx: ContextDep, user: Reader, body: Completion | None = None
) -> ProcedureDetail:
    """Completed by hand, as MPPS would: with ``images_expected``, or none (they follow)."""
    actor = check_role(ctx, request, user, ACTION_ROLES[Action.COMPLETE])
    examination.complete(ctx, accession, actor, body.images_expected if body else None)
    return procedures.get_procedure(ctx, accession)


@router.post("/{accession}/repeat")
def repeat(
    accession: str, body: Repeat, request: Request, ctx: ContextDep, user: Reader
) -> ProcedureDetail:
    """A technical repeat of an examination in progress (409 otherwise), with its reason."""
    actor = check_role(ctx, request, user, (Role.radiographer,))
    examination.repeat(ctx, accession, body.reason, actor)
    return procedures.get_procedure(ctx, accession)


@router.post("/{accession}/{action}")
def act_on_procedure(
    accession: str,
    action: Action,
    request: Request,
    ctx: ContextDep,
    user: Reader,
    body: OptionalReason | None = None,
) -> ProcedureDetail:
    """Arrive, no-show, start, complete, discontinue, cancel, hold, release or report."""
    actor = check_role(ctx, request, user, ACTION_ROLES[action])
    reason = body.reason if body else None
    return procedures.act(ctx, accession, action, actor, reason)
