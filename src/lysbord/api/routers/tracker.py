"""The tracker board: every open referral counted, overdue ones named."""

from __future__ import annotations

from fastapi import APIRouter

from lysbord.http.context import ContextDep
from lysbord.services.pathway import tracker
from lysbord.services.pathway.tracker import Board

router = APIRouter(tags=["tracker"])


@router.get("/tracker")
def get_tracker(ctx: ContextDep) -> Board:
    """Counts per queue and site, and the overdue list."""
    return tracker.board(ctx)
