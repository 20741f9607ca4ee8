"""The tracker board: every open referral counted, overdue ones named."""

from __future__ import annotations

from fastapi import APIRouter

from lysbord.api.deps import ContextDep
from lysbord.services import tracker
from lysbord.services.tracker import Board

router = APIRouter(tags=["tracker"])


@router.get("/tracker")
def get_tracker(ctx: ContextDep) -> Board:
    """Counts per queue and site, and the overdue list."""
    return tracker.board(ctx)
