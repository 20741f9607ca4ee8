"""Procedures: state with full history, and the actions that move them on."""

from __future__ import annotations

from fastapi import APIRouter

from lysbord.api.deps import ActorDep, ContextDep
from lysbord.api.schemas import OptionalReason
from lysbord.services import procedures
from lysbord.services.procedures import Action
from lysbord.services.views import ProcedureDetail

router = APIRouter(prefix="/procedures", tags=["procedures"])


@router.get("/{accession}")
def get_procedure(accession: str, ctx: ContextDep) -> ProcedureDetail:
    """A procedure by accession number: its state, referral and every event."""
    return procedures.get_procedure(ctx, accession)


@router.post("/{accession}/{action}")
def act_on_procedure(
    accession: str,
    action: Action,
    ctx: ContextDep,
    actor: ActorDep,
    body: OptionalReason | None = None,
) -> ProcedureDetail:
    """Arrive, no-show, start, complete, discontinue, cancel, hold, release or report."""
    reason = body.reason if body else None
    return procedures.act(ctx, accession, action, actor, reason)
