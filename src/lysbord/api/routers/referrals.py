"""Referrals: intake with priority and deadline, and the filtered lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lysbord.api.schemas import Page, ReferralCreate
from lysbord.domain.priorities import Priority
from lysbord.domain.tracking import Queue
from lysbord.http.context import ContextDep
from lysbord.http.deps import ClerkActor
from lysbord.http.paging import Offset
from lysbord.services.pathway import referral_queries, referrals
from lysbord.services.pathway.views import ReferralView

router = APIRouter(prefix="/referrals", tags=["referrals"])

STATES = ("open", "closed", *(q.value for q in Queue))
STATE_HELP = "open, closed, or the queue an open referral is in: " + ", ".join(STATES[2:])


@router.post("", status_code=201)
def create_referral(body: ReferralCreate, ctx: ContextDep, actor: ClerkActor) -> ReferralView:
    """Receive a referral; its deadline follows from priority and time received."""
    cmd = referrals.NewReferral(**body.model_dump())
    return referrals.create_referral(ctx, cmd, actor)


@router.get("")
def list_referrals(
    ctx: ContextDep,
    cpr: str | None = None,
    state: Annotated[str | None, Query(description=STATE_HELP)] = None,
    priority: Priority | None = None,
    site: str | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Page[ReferralView]:
    """Referrals, most urgent deadline first, one page at a time with the total."""
    flt = referral_queries.ReferralFilter(cpr, state, priority, site, overdue, limit, offset)
    items, total = referral_queries.list_referrals(ctx, flt)
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/{referral_id}")
def get_referral(referral_id: int, ctx: ContextDep) -> ReferralView:
    """One referral with its procedures, queue and flags."""
    return referral_queries.get_referral(ctx, referral_id)
